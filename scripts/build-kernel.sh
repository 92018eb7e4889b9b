#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh base|debug|upstream|upstream72
#
# Prepares the source tree (once), configures build/obj-KIND from the
# fragments (again only when they change) and builds bzImage incrementally.
# The base kernel also installs the sanitized uAPI headers the userspace
# programs compile against. The upstream kernel is pristine 6.12 (its own
# iommufd, not ours) with the base fragment: the reference our public-ABI
# selftests must also pass on. upstream72 is pristine 7.2 (Debian sid) with
# the same fragment, the reference for the ioctls adopted from after 6.12;
# no routine run needs it (make check-upstream72).
set -euo pipefail

kind=$1
top=$(realpath "$(dirname "$0")/..")
build="$top/build"
obj="$build/obj-$kind"

flavour=overlay
case "$kind" in
base)	fragments=("$top/configs/base.config") ;;
debug)	fragments=("$top/configs/base.config" "$top/configs/debug.config") ;;
upstream | upstream72)
	fragments=("$top/configs/base.config")
	flavour=$kind
	;;
*)	echo "unknown kernel kind: $kind" >&2; exit 2 ;;
esac
src=$("$top/scripts/prepare-tree.sh" "$build" "$flavour")

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
	# headers_install rewrites every header. Staged, then copied only
	# where the content differs, an unchanged header keeps its time and
	# does not make scripts/user.mk rebuild every user binary.
	make -s -C "$src" O="$obj" ARCH=x86_64 \
		INSTALL_HDR_PATH="$build/headers.stage" headers_install
	rsync -rlc --delete "$build/headers.stage/" "$build/headers/"
fi
