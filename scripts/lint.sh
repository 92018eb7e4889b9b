#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lint.sh [COUNTS_FILE]: the static checks on our files, one verdict each:
# checkpatch --strict, sparse (C=2), W=1 and kernel-doc, all expected to
# print nothing. Appends "passed failed skipped" per check to COUNTS_FILE.
set -uo pipefail

top=$(realpath "$(dirname "$0")/..")
build="$top/build"
src=$("$top/scripts/prepare-tree.sh" "$build")
obj="$build/obj-base"
counts=${1:-/dev/null}
logs="$build/logs"
mkdir -p "$logs"
status=0

cd "$top"
mapfile -t cfiles < <(git ls-files -co --exclude-standard \
	'drivers/iommu/iommufd/*.[ch]' 'include/uapi/linux/iommufd.h' \
	'tools/testing/selftests/iommu/*.[ch]' 'tools/iommufd/*.[ch]')

verdict() {	# verdict NAME LOGFILE: the check passes if LOGFILE is empty
	if [ -s "$2" ]; then
		printf '  FAIL  %-44s see %s\n' "lint/$1" "$2"
		sed 's/^/        /' "$2" | head -20
		echo "0 1 0" >> "$counts"
		status=1
	else
		printf '  PASS  %s\n' "lint/$1"
		echo "1 0 0" >> "$counts"
	fi
}

# checkpatch: keep only the per-file problem lines, not the totals
(cd "$src" && for f in "${cfiles[@]}"; do
	scripts/checkpatch.pl --strict --terse --show-types \
		--ignore SPDX_LICENSE_TAG -f "$top/$f" |
		grep -vE '^total: 0 errors, 0 warnings, 0 checks' |
		grep -vE 'has no obvious style problems' ||
	true
done) > "$logs/checkpatch.log" 2>&1
sed -i "s|$top/||" "$logs/checkpatch.log"
verdict "checkpatch --strict (${#cfiles[@]} files)" "$logs/checkpatch.log"

# sparse and W=1 on the subsystem, in the base build directory
make -s -C "$src" O="$obj" ARCH=x86_64 -j"$(nproc)" C=2 W=1 \
	drivers/iommu/iommufd/ > "$logs/sparse-w1.raw" 2>&1
grep -E 'drivers/iommu/iommufd/.*(warning|error)' "$logs/sparse-w1.raw" \
	> "$logs/sparse-w1.log"
verdict "sparse C=2 + W=1 (drivers/iommu/iommufd)" "$logs/sparse-w1.log"

# kernel-doc on every C file and the uAPI header
(cd "$src" && scripts/kernel-doc -none -Wall "${cfiles[@]/#/$top/}") \
	> "$logs/kernel-doc.log" 2>&1
verdict "kernel-doc -Wall" "$logs/kernel-doc.log"

exit $status
