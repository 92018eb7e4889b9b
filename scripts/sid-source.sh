#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# sid-source.sh BUILD_DIR: fetch Debian sid's linux-source-7.2, the newest
# upstream, whose iommufd is the reference for the ioctls this project
# adopts from after 6.12 (IOMMU_IOAS_MAP_FILE, IOMMU_IOAS_CHANGE_PROCESS).
#
# Uses a private sources list and apt state under BUILD_DIR/sid, through
# the Debian archive the system's apt already uses; the system's sources
# stay untouched. Idempotent: prints the path of the source tarball, and
# downloads only if it is missing.
set -euo pipefail

build=$(realpath -m "$1")
dir="$build/sid"
tarball="$dir/usr/src/linux-source-7.2.tar.xz"
if [ -e "$tarball" ]; then
	echo "$tarball"
	exit 0
fi

mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' \
	/etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$dir"/{state/lists/partial,cache/archives/partial,etc}
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main" \
	> "$dir/etc/sources.list"
apt_opts=(-o Dir::Etc::SourceList="$dir/etc/sources.list"
	  -o Dir::Etc::SourceParts=/dev/null
	  -o Dir::State="$dir/state" -o Dir::Cache="$dir/cache"
	  -o Debug::NoLocking=1)
echo "  FETCH   linux-source-7.2 (Debian sid)" >&2
apt-get -qq "${apt_opts[@]}" update >&2
(cd "$dir" && apt-get -qq "${apt_opts[@]}" download linux-source-7.2 >&2)
dpkg-deb --fsys-tarfile "$dir"/linux-source-7.2_*_all.deb |
	tar -x -C "$dir" --wildcards '*linux-source-7.2.tar.xz'
rm -f "$dir"/linux-source-7.2_*_all.deb
echo "$tarball"
