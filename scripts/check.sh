#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh [--no-lint] KIND...: run every selftest in a VM of each kernel
# KIND, then the static checks (unless --no-lint), and close with
# "N passed, N failed". Each VM run adds one check of its own: the guest
# finished and its console is free of kernel reports. Each kernel also
# boots once more to run QEMU 10 inside as a VMM client of VFIO and
# /dev/iommu (the "qemu10" suite, see qemu10-guest.sh). With the debug
# kernel a 75 s slice of the fuzzer (scripts/fuzz.sh) counts as one more
# suite. Exit status is non-zero on any failure.
#
# KIND "upstream" is pristine 6.12: there the tests that need our mock
# driver skip, so what remains is the public-ABI tests against the
# reference behaviour; its lines read "upstream/<suite>". WB_TAG, if set,
# keeps this run's VM files apart from others (see vm-run.sh).
set -uo pipefail

lint=1
if [ "${1:-}" = --no-lint ]; then
	lint=0
	shift
fi

top=$(realpath "$(dirname "$0")/..")
build="$top/build"
counts=$(mktemp)
trap 'rm -f "$counts"' EXIT

record() {	# record NAME PASSED(0|1)
	if [ "$2" -eq 0 ]; then
		printf '  PASS  %s\n' "$1"
		echo "1 0 0" >> "$counts"
	else
		printf '  FAIL  %s\n' "$1"
		echo "0 1 0" >> "$counts"
	fi
}

# The QEMU 10 runs of each kernel (qemu10-guest.sh). A run that boots the
# nested guest takes one and a half to four minutes under TCG inside TCG
# on 2 shared cores (its firmware and decompressor take most of it), a
# "-kill" run seconds. So a nested boot goes only where it matters most:
# /dev/iommu on base, the /dev/vfio/vfio container on debug (iommufd's
# own there when the debug fragment turns on IOMMUFD_VFIO_CONTAINER);
# upstream gives the reference of the accounting and of the release of a
# killed VMM's device. "make qemu10" runs all four kinds of run on base.
qemu10_runs() {
	case "$1" in
	base)	echo iommufd-kill,iommufd,legacy-kill ;;
	debug)	echo iommufd-kill,legacy ;;
	*)	echo iommufd-kill,legacy-kill ;;
	esac
}

qemu10() {	# qemu10 KIND: one more VM with QEMU 10 inside as a VMM
	local kind=$1 results

	results="$build/logs/$kind-qemu10${WB_TAG:+-$WB_TAG}.results"
	WB_CMDLINE="q10runs=$(qemu10_runs "$kind")" \
		"$top/scripts/vm-run.sh" "$kind" qemu10 1500
	record "$kind/vm (qemu10): finished with a clean console" $?
	grep -E '^# ' "$results" 2>/dev/null | sed 's/^/        /'
	python3 "$top/scripts/summarize.py" "$kind" "$results" "$counts"
}

for kind in "$@"; do
	"$top/scripts/vm-run.sh" "$kind" check 3600
	record "$kind/vm: finished with a clean console" $?
	python3 "$top/scripts/summarize.py" "$kind" \
		"$build/logs/$kind-check${WB_TAG:+-$WB_TAG}.results" "$counts"
	qemu10 "$kind"
done

# A short slice of the fuzzer on the debug kernel; make fuzz runs longer
if [[ " $* " == *" debug "* ]]; then
	WB_TAG=${WB_TAG:-check} "$top/scripts/fuzz.sh" debug 75 "1 2 3" "$counts"
fi

if [ $lint -eq 1 ]; then
	"$top/scripts/lint.sh" "$counts"
fi

read -r passed failed skipped < <(awk '{ p += $1; f += $2; s += $3 }
	END { print p + 0, f + 0, s + 0 }' "$counts")
echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
