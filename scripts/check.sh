#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh KIND...: run every selftest in a VM of each kernel KIND, then the
# static checks, and close with "N passed, N failed". Each VM run adds one
# check of its own: the guest finished and its console is free of kernel
# reports. Exit status is non-zero on any failure.
set -uo pipefail

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

for kind in "$@"; do
	"$top/scripts/vm-run.sh" "$kind" check 2400
	record "$kind/vm: finished with a clean console" $?
	python3 "$top/scripts/summarize.py" "$kind" \
		"$build/logs/$kind-check.results" "$counts"
done

"$top/scripts/lint.sh" "$counts"

read -r passed failed skipped < <(awk '{ p += $1; f += $2; s += $3 }
	END { print p + 0, f + 0, s + 0 }' "$counts")
echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
