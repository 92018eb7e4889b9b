# SPDX-License-Identifier: GPL-2.0
#
# The iommufd workbench. The repository is an overlay on the Linux 6.12
# tree: these targets unpack that tree under build/, put our files in
# place, build kernels, boot them in QEMU and test them.
#
#   make run          build, boot, run the demo a VMM would run
#   make check        build, run every test on the base and debug kernels,
#                     then the static checks; ends with "N passed, N failed"
#   make check-base   the same with the base kernel only (faster)
#   make lint         the static checks alone
#   make bench        the benchmark in the VM
#   make deps | kernel | kernel-debug | selftests | clean

SCRIPTS := $(CURDIR)/scripts

.PHONY: all deps kernel kernel-debug selftests run check check-base \
	check-debug lint bench clean

all: kernel selftests

deps:
	@$(SCRIPTS)/deps.sh

kernel: deps
	@$(SCRIPTS)/build-kernel.sh base

kernel-debug: deps
	@$(SCRIPTS)/build-kernel.sh debug

# The uAPI headers they compile against come from the base kernel build.
selftests: kernel
	@$(SCRIPTS)/build-user.sh

run: kernel selftests
	@$(SCRIPTS)/vm-run.sh base run 600; rc=$$?; \
		cat build/logs/base-run.results | grep -v '^WB-DONE'; exit $$rc

check: kernel kernel-debug selftests
	@$(SCRIPTS)/check.sh base debug

check-base: kernel selftests
	@$(SCRIPTS)/check.sh base

check-debug: kernel-debug selftests
	@$(SCRIPTS)/check.sh debug

bench: kernel selftests
	@$(SCRIPTS)/vm-run.sh base bench 1200; rc=$$?; \
		cat build/logs/base-bench.results | grep -v '^WB-DONE'; exit $$rc

lint: kernel
	@$(SCRIPTS)/lint.sh

clean:
	rm -rf build
