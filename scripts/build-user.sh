#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-user.sh: static binaries of the selftests and tools/iommufd programs,
# compiled against the overlay's sanitized uAPI headers (installed by the
# base kernel build). The binaries are make targets (scripts/user.mk) whose
# prerequisites are their source and every header the compiler read, so
# make rebuilds exactly what a change touches. Run from the workbench's
# Makefile it shares that make's job slots; run alone it uses every CPU.
set -euo pipefail

top=$(realpath "$(dirname "$0")/..")
build="$top/build"
src=$("$top/scripts/prepare-tree.sh" "$build")
hdr="$build/headers/include"

if [ ! -e "$hdr/linux/iommufd.h" ]; then
	echo "no installed uAPI headers: build the base kernel first" >&2
	exit 1
fi

jobs=()
[ -z "${MAKEFLAGS:-}" ] && jobs=(-j"$(nproc)")
exec make -s --no-print-directory "${jobs[@]}" -f "$top/scripts/user.mk" \
	TOP="$top" SRC="$src" HDR="$hdr" OUT="$build/user"
