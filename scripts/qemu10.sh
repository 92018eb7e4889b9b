#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu10.sh: fetch QEMU 10 (qemu-system-x86 of Debian's bookworm-backports)
# into build/qemu10/root, once. The qemu10 VM mode (vm-run.sh) runs it
# inside the test guest as a real VMM client of /dev/iommu and of the VFIO
# container; the host's own QEMU 7.2, which runs the test VM, is left
# alone.
#
# apt works on private state only: a sources list naming just
# bookworm-backports on the mirror the system already uses, and its own
# lists and cache directories under build/qemu10/apt. The system's sources
# and its installed packages do not change, except that a shared library
# the binary needs and the host lacks is installed from the system's own
# (bookworm) sources, as deps.sh does for everything else.
#
# Idempotent: does nothing when build/qemu10/root holds a QEMU 10 binary.
# QEMU10_MIRROR overrides the mirror.
set -euo pipefail

top=$(realpath "$(dirname "$0")/..")
dir="$top/build/qemu10"
root="$dir/root"
bin="$root/usr/bin/qemu-system-x86_64"
# The binary, its firmware (the ROMs it loads for a q35 -kernel boot) and
# the BIOS: qemu-system-x86 10 depends on a newer seabios than bookworm's
packages=(qemu-system-x86 qemu-system-data seabios)

if [ -x "$bin" ] && [ -s "$dir/version" ]; then
	exit 0
fi

mirror=${QEMU10_MIRROR:-$(apt-get indextargets \
	--format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
	awk '$2 == "bookworm" { print $1; exit }')}
mirror=${mirror:-http://deb.debian.org/debian/}

echo "  QEMU10  fetching ${packages[*]} from $mirror bookworm-backports"
rm -rf "$dir"
apt="$dir/apt"
mkdir -p "$apt/sources.list.d" "$apt/preferences.d" "$apt/state/lists/partial" \
	"$apt/cache/archives/partial" "$dir/debs" "$root"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
	"$mirror bookworm-backports main" > "$apt/sources.list"
opts=(-o Dir::Etc::SourceList="$apt/sources.list"
	-o Dir::Etc::SourceParts="$apt/sources.list.d"
	-o Dir::Etc::Preferences="$apt/preferences"
	-o Dir::Etc::PreferencesParts="$apt/preferences.d"
	-o Dir::State="$apt/state"
	-o Dir::State::status=/var/lib/dpkg/status
	-o Dir::Cache="$apt/cache"
	-o APT::Sandbox::User=root)

apt-get "${opts[@]}" -qq update
(cd "$dir/debs" && apt-get "${opts[@]}" -qq download \
	"${packages[@]/%//bookworm-backports}")
for deb in "$dir"/debs/*.deb; do
	dpkg-deb -x "$deb" "$root"
done

# The host's bookworm libraries are what it runs on, in the guest too
missing=$(ldd "$bin" | awk '/not found/ { print $1 }')
if [ -n "$missing" ]; then
	libs=$(dpkg-deb -f "$dir"/debs/qemu-system-x86_*.deb Depends |
		tr ',' '\n' | awk '$1 ~ /^(lib|zlib)/ { print $1 }')
	echo "  QEMU10  installing its libraries:" $libs
	sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		--no-install-recommends $libs >/dev/null
fi

version=$("$bin" --version | head -1)
case "$version" in
"QEMU emulator version 10."*) ;;
*)	echo "qemu10: unexpected $version" >&2; exit 1 ;;
esac
echo "$version" > "$dir/version"
echo "  QEMU10  $version in ${root#"$top"/}"
