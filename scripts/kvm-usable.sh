#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kvm-usable.sh BZIMAGE: exit 0 only if KVM really works here: /dev/kvm
# exists, the CPU advertises vmx or svm, and a probe boot under KVM reaches
# the kernel's panic (no root) and reboots within a few seconds. The answer
# is cached per boot of the host.
set -u
cache=/tmp/iommufd-wb-kvm-usable
if [ -e "$cache" ]; then
	exit "$(cat "$cache")"
fi
answer=1
if [ -c /dev/kvm ] && grep -qE '\b(vmx|svm)\b' /proc/cpuinfo; then
	if timeout 30 qemu-system-x86_64 -M q35 -accel kvm -m 256M \
		-kernel "$1" -append "panic=-1 console=ttyS0" \
		-display none -monitor none -serial null -no-reboot \
		</dev/null >/dev/null 2>&1; then
		answer=0
	fi
fi
echo $answer > "$cache"
exit $answer
