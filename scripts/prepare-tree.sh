#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# prepare-tree.sh BUILD_DIR
#
# Unpacks the newest linux-source-6.12 tarball under BUILD_DIR once (the
# unpacked tree is keyed by the Debian package version), removes upstream's
# iommufd implementation and links this repository's overlay in its place.
# Linking rather than copying keeps kernel rebuilds incremental: an edit in
# the repository is an edit in the tree, with its real modification time.
# Prints the path of the prepared source tree on stdout.
set -euo pipefail

build=$(realpath -m "$1")
top=$(realpath "$(dirname "$0")/..")
tarball=/usr/src/linux-source-6.12.tar.xz
version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
# Make-safe directory name: no "~" or ":" from the Debian version
src="$build/linux-$(echo "$version" | tr "~:" "__")"

if [ ! -e "$src/.unpacked" ]; then
	echo "  UNPACK  linux-source-6.12 $version" >&2
	rm -rf "$src" "$build/unpack.tmp"
	mkdir -p "$build/unpack.tmp"
	tar -xf "$tarball" -C "$build/unpack.tmp"
	mv "$build/unpack.tmp"/linux-source-6.12 "$src"
	rmdir "$build/unpack.tmp"
	# Upstream's implementation goes; the contracts
	# (include/linux/iommufd.h, include/linux/iova_bitmap.h) stay.
	rm -rf "$src/drivers/iommu/iommufd" \
	       "$src/include/uapi/linux/iommufd.h" \
	       "$src/tools/testing/selftests/iommu" \
	       "$src/Documentation/userspace-api/iommufd.rst"
	touch "$src/.unpacked"
fi

# The overlay: every path DESIGN.md lists as ours.
for path in drivers/iommu/iommufd \
	    include/uapi/linux/iommufd.h \
	    tools/testing/selftests/iommu \
	    Documentation/userspace-api/iommufd.rst; do
	[ -e "$top/$path" ] || continue
	ln -sfn "$top/$path" "$src/$path"
done
echo "$src"
