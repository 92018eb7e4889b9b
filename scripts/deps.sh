#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh: install with apt whatever the workbench needs and is missing,
# then fetch QEMU 10 into build/ (qemu10.sh). Quiet and quick when
# everything is already there.
set -euo pipefail

packages=(
	linux-source-6.12 gcc make flex bison bc libelf-dev libssl-dev
	cpio xz-utils kmod perl python3 rsync sparse qemu-system-x86 busybox-static
	libc6-dev
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exec "$(dirname "$0")/qemu10.sh"
fi

echo "  DEPS    installing: ${missing[*]}"
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

exec "$(dirname "$0")/qemu10.sh"
