# SPDX-License-Identifier: GPL-2.0
#
# user.mk: the static userspace binaries as make targets: one per C file of
# tools/testing/selftests/iommu (into OUT/tests) and of tools/iommufd (into
# OUT/bin). build-user.sh runs it with TOP (this repository), SRC (the
# prepared kernel tree, for kselftest_harness.h), HDR (the installed uAPI
# headers) and OUT.
#
# gcc -MMD writes the headers each binary was built from into
# OUT/.deps/DIR/BINARY.d (out of the directories the VM copies whole),
# which make reads back on the next run: a binary is rebuilt exactly when
# its source or a header it includes changed. The uAPI header comes in
# through -isystem, which -MMD leaves out, so it is a prerequisite of its
# own. A binary without its .d (built before there were any) is rebuilt
# once to get one.
MAKEFLAGS += -r

TESTS := $(patsubst $(TOP)/tools/testing/selftests/iommu/%.c,$(OUT)/tests/%,\
	   $(wildcard $(TOP)/tools/testing/selftests/iommu/*.c))
TOOLS := $(patsubst $(TOP)/tools/iommufd/%.c,$(OUT)/bin/%,\
	   $(wildcard $(TOP)/tools/iommufd/*.c))

CFLAGS := -static -O2 -g -Wall -Wextra -Werror -Wno-sign-compare \
	  -Wno-unused-parameter -Wno-missing-field-initializers -D_GNU_SOURCE \
	  -isystem $(HDR) -I $(SRC)/tools/testing/selftests

.PHONY: all
all: $(TESTS) $(TOOLS)

DIRS := $(OUT)/tests $(OUT)/bin $(OUT)/.deps/tests $(OUT)/.deps/bin
$(DIRS):
	@mkdir -p $@

define compile
	@echo "  CC      $(patsubst $(TOP)/%,%,$<)"
	@gcc $(CFLAGS) -MMD -MP -MF $(OUT)/.deps/$(patsubst $(OUT)/%,%,$@).d \
		-o $@ $< -lpthread
endef

$(OUT)/tests/%: $(TOP)/tools/testing/selftests/iommu/%.c \
		$(HDR)/linux/iommufd.h $(OUT)/.deps/tests/%.d \
		| $(OUT)/tests $(OUT)/.deps/tests
	$(compile)

$(OUT)/bin/%: $(TOP)/tools/iommufd/%.c $(HDR)/linux/iommufd.h \
	      $(OUT)/.deps/bin/%.d | $(OUT)/bin $(OUT)/.deps/bin
	$(compile)

# A missing .d is made by the compile that needs it. Named one by one:
# make would skip or delete a .d known only through a pattern rule
DEPS := $(patsubst $(OUT)/%,$(OUT)/.deps/%.d,$(TESTS) $(TOOLS))
$(DEPS): ;

-include $(wildcard $(DEPS))
