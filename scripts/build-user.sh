#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-user.sh: static binaries of the selftests and tools/iommufd programs,
# compiled against the overlay's sanitized uAPI headers (installed by the
# base kernel build). A binary is rebuilt when its source, a header next to
# it or the uAPI header is newer.
set -euo pipefail

top=$(realpath "$(dirname "$0")/..")
build="$top/build"
src=$("$top/scripts/prepare-tree.sh" "$build")
hdr="$build/headers/include"
out="$build/user"
mkdir -p "$out/tests" "$out/bin"

if [ ! -e "$hdr/linux/iommufd.h" ]; then
	echo "no installed uAPI headers: build the base kernel first" >&2
	exit 1
fi

cflags=(-static -O2 -g -Wall -Wextra -Werror -Wno-sign-compare -Wno-unused-parameter
	-Wno-missing-field-initializers -D_GNU_SOURCE
	-isystem "$hdr" -I "$src/tools/testing/selftests")

compile() {
	local c=$1 bin=$2 dep
	local deps=("$c" "$hdr/linux/iommufd.h" "$(dirname "$c")"/*.h
		"$top/drivers/iommu/iommufd/iommufd_test.h"
		"$top/tools/iommufd/edu.h")
	if [ -e "$bin" ]; then
		for dep in "${deps[@]}"; do
			[ -e "$dep" ] && [ "$dep" -nt "$bin" ] && break
			dep=
		done
		[ -z "$dep" ] && return 0
	fi
	echo "  CC      ${c#"$top"/}"
	gcc "${cflags[@]}" -o "$bin" "$c" -lpthread
}

for c in "$top"/tools/testing/selftests/iommu/*.c; do
	[ -e "$c" ] || continue
	compile "$c" "$out/tests/$(basename "$c" .c)"
done
for c in "$top"/tools/iommufd/*.c; do
	[ -e "$c" ] || continue
	compile "$c" "$out/bin/$(basename "$c" .c)"
done
