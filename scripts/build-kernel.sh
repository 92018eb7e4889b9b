#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh base|debug
#
# Prepares the source tree (once), configures build/obj-KIND from the
# fragments (again only when they change) and builds bzImage incrementally.
# The base kernel also installs the sanitized uAPI headers the userspace
# programs compile against.
set -euo pipefail

kind=$1
top=$(realpath "$(dirname "$0")/..")
build="$top/build"
src=$("$top/scripts/prepare-tree.sh" "$build")
obj="$build/obj-$kind"

case "$kind" in
base)	fragments=("$top/configs/base.config") ;;
debug)	fragments=("$top/configs/base.config" "$top/configs/debug.config") ;;
*)	echo "unknown kernel kind: $kind" >&2; exit 2 ;;
esac

"$top/scripts/configure-kernel.sh" "$src" "$obj" "${fragments[@]}"

start=$(date +%s)
echo "  KERNEL  $kind ($obj)"
if ! make -s -C "$src" O="$obj" ARCH=x86_64 -j"$(nproc)" bzImage \
	> "$obj/build.log" 2>&1; then
	grep -E 'error|Error' "$obj/build.log" | head -40 >&2
	echo "kernel build failed, see $obj/build.log" >&2
	exit 1
fi
echo "  KERNEL  $kind built in $(( $(date +%s) - start )) s"

if [ "$kind" = base ]; then
	make -s -C "$src" O="$obj" ARCH=x86_64 \
		INSTALL_HDR_PATH="$build/headers" headers_install
fi
