# SPDX-License-Identifier: GPL-2.0
#
# The iommufd workbench. The repository is an overlay on the Linux 6.12
# tree: these targets unpack that tree under build/, put our files in
# place, build kernels, boot them in QEMU and test them.
#
#   make run          build, boot, run the demo a VMM would run
#   make check        build, run every test on the base and debug kernels
#                     and the public-ABI ones on pristine 6.12, then the
#                     static checks; ends with "N passed, N failed"
#   make check-base   the same with the base kernel only (faster)
#   make check-upstream  the public-ABI selftests on pristine 6.12 (its own
#                     iommufd): the arbiter of behaviour, DESIGN.md 6.0
#   make check-upstream72  the same on pristine 7.2 (Debian sid), the
#                     reference for the ioctls adopted from after 6.12
#   make lint         the static checks alone
#   make bench        tools/iommufd/bench on our kernel and on pristine
#                     6.12, two interleaved rounds, one table with the
#                     ratios and the goals (about 15 minutes under TCG);
#                     BENCH_ARGS=-q for a quick look (64 MiB, 1k and 10k
#                     mappings), BENCH_ARGS="-s 256 -t tput" and the like
#                     for a part, BENCH_ROUNDS=1 for one round; under
#                     TCG times count instructions, BENCH_CLOCK=wall
#                     for host time
#   make fuzz         the random-ioctl fuzzer on the debug kernel:
#                     SEEDS="1 2 3" share TIME seconds (FUZZ_ARGS for more)
#   make qemu10       QEMU 10 in the base VM as a real VMM: edu passed
#                     through VFIO (iommufd and legacy backends) to a
#                     nested guest that DMAs (Q10_RUNS picks the runs)
#   make deps | kernel | kernel-debug | kernel-upstream | kernel-upstream72
#   make selftests | clean

SCRIPTS := $(CURDIR)/scripts

.PHONY: all deps kernel kernel-debug kernel-upstream kernel-upstream72 \
	selftests run check check-base check-debug check-upstream \
	check-upstream72 lint bench fuzz qemu10 clean

all: kernel selftests

deps:
	@$(SCRIPTS)/deps.sh

kernel: deps
	@$(SCRIPTS)/build-kernel.sh base

kernel-debug: deps
	@$(SCRIPTS)/build-kernel.sh debug

# Pristine 6.12 with the base fragment: upstream's iommufd, not ours.
kernel-upstream: deps
	@$(SCRIPTS)/build-kernel.sh upstream

# Pristine 7.2 from Debian sid, fetched on first use (scripts/sid-source.sh)
kernel-upstream72: deps
	@$(SCRIPTS)/build-kernel.sh upstream72

# The uAPI headers they compile against come from the base kernel build.
# "+": build-user.sh runs make on scripts/user.mk, which shares our job slots
selftests: kernel
	+@$(SCRIPTS)/build-user.sh

run: kernel selftests
	@$(SCRIPTS)/vm-run.sh base run 600; rc=$$?; \
		cat build/logs/base-run.results | grep -v '^WB-DONE'; exit $$rc

# Pristine 6.12 runs the public-ABI tests too: it is the arbiter
check: kernel kernel-debug kernel-upstream selftests
	@$(SCRIPTS)/check.sh base debug upstream

check-base: kernel selftests
	@$(SCRIPTS)/check.sh base

check-debug: kernel-debug selftests
	@$(SCRIPTS)/check.sh debug

check-upstream: kernel-upstream selftests
	@$(SCRIPTS)/check.sh --no-lint upstream

check-upstream72: kernel-upstream72 selftests
	@$(SCRIPTS)/check.sh --no-lint upstream72

BENCH_ARGS ?=
BENCH_ROUNDS ?= 2
BENCH_CLOCK ?= icount

# Fails only if a run fails; the goals it prints are results
bench: kernel kernel-upstream selftests
	@BENCH_ROUNDS=$(BENCH_ROUNDS) BENCH_CLOCK=$(BENCH_CLOCK) \
		$(SCRIPTS)/bench.sh $(BENCH_ARGS)

SEEDS ?= 1 2 3 4 5
TIME ?= 300

fuzz: kernel-debug selftests
	@$(SCRIPTS)/fuzz.sh debug $(TIME) "$(SEEDS)"

Q10_RUNS ?= iommufd-kill,iommufd,legacy-kill,legacy

qemu10: kernel selftests
	@WB_CMDLINE="q10runs=$(Q10_RUNS)" $(SCRIPTS)/vm-run.sh base qemu10 1500; \
		rc=$$?; grep -v "^WB-DONE" \
		build/logs/base-qemu10$${WB_TAG:+-$$WB_TAG}.results; exit $$rc

lint: kernel
	@$(SCRIPTS)/lint.sh

clean:
	rm -rf build
