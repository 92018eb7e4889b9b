#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# prepare-tree.sh BUILD_DIR [overlay|upstream|upstream72]
#
# Unpacks the newest linux-source-6.12 tarball under BUILD_DIR once (the
# unpacked tree is keyed by the Debian package version) and prints the path
# of the prepared source tree on stdout.
#
# overlay (the default): removes upstream's iommufd implementation and
# links this repository's overlay in its place. Linking rather than copying
# keeps kernel rebuilds incremental: an edit in the repository is an edit
# in the tree, with its real modification time.
#
# upstream: the same tarball, untouched, in a directory of its own
# (linux-upstream-VERSION). It is the arbiter of behaviour: the public-ABI
# selftests also run on a kernel built from it.
#
# upstream72: Debian sid's linux-source-7.2, untouched (fetched by
# sid-source.sh into linux-upstream72), the reference for the ioctls this
# project adopts from after 6.12.
#
# Each tree is fetched, unpacked and linked under a lock of its own
# (BUILD_DIR/TREE.lock), so that parallel make jobs asking for the same
# tree wait for one unpack instead of racing: under "make -j check" the
# base and debug kernels, the selftests and lint all ask for the overlay
# tree. A tree is marked complete (.unpacked) only once unpacked and
# trimmed, so a killed unpack is redone by the next caller.
set -euo pipefail

build=$(realpath -m "$1")
flavour=${2:-overlay}
top=$(realpath "$(dirname "$0")/..")
tarball=/usr/src/linux-source-6.12.tar.xz
inner=linux-source-6.12
version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
# Make-safe directory name: no "~" or ":" from the Debian version
version=$(echo "$version" | tr "~:" "__")

case "$flavour" in
overlay)	src="$build/linux-$version" ;;
upstream)	src="$build/linux-upstream-$version" ;;
upstream72)
	tarball=	# fetched under the lock, when it is needed
	inner=linux-source-7.2
	version=7.2
	src="$build/linux-upstream72"
	;;
*)		echo "unknown tree flavour: $flavour" >&2; exit 2 ;;
esac

mkdir -p "$build"
exec 9>"$src.lock"
flock 9

if [ ! -e "$src/.unpacked" ]; then
	[ "$flavour" = upstream72 ] &&
		tarball=$("$top/scripts/sid-source.sh" "$build")
	echo "  UNPACK  $inner $version ($flavour)" >&2
	tmp="$src.unpack.tmp"
	rm -rf "$src" "$tmp"
	mkdir -p "$tmp"
	tar -xf "$tarball" -C "$tmp"
	mv "$tmp/$inner" "$src"
	rmdir "$tmp"
	if [ "$flavour" = overlay ]; then
		# Upstream's implementation goes; the contracts
		# (include/linux/iommufd.h, include/linux/iova_bitmap.h) stay.
		rm -rf "$src/drivers/iommu/iommufd" \
		       "$src/include/uapi/linux/iommufd.h" \
		       "$src/tools/testing/selftests/iommu" \
		       "$src/Documentation/userspace-api/iommufd.rst"
	fi
	touch "$src/.unpacked"
fi

if [ "$flavour" = overlay ]; then
	# The overlay: every path DESIGN.md lists as ours. A link that is
	# right is left alone: "ln -sfn" removes it before it makes it again,
	# and a kernel build of another job may be reading through it.
	for path in drivers/iommu/iommufd \
		    include/uapi/linux/iommufd.h \
		    tools/testing/selftests/iommu \
		    Documentation/userspace-api/iommufd.rst; do
		[ -e "$top/$path" ] || continue
		[ "$(readlink "$src/$path")" = "$top/$path" ] ||
			ln -sfn "$top/$path" "$src/$path"
	done
fi
echo "$src"
