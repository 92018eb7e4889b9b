#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# qemu10-guest.sh RUN...: in the test VM (wbmode=qemu10), QEMU 10 as a
# real VMM: it gets the edu device through VFIO and passes it to a nested
# 128 MiB TCG guest (no vIOMMU) that boots the base bzImage with
# tools/iommufd/nested_edu as its init, which makes the device DMA
# RAM -> edu -> RAM and prints PASS or FAIL. Prints TAP.
#
# RUN is the VFIO backend QEMU uses, optionally with "-kill":
#   iommufd   -object iommufd + vfio-pci,iommufd=: the VFIO cdev bound to
#             /dev/iommu; QEMU's pinned RAM shows in its VmPin
#   legacy    vfio-pci alone: the VFIO group and the /dev/vfio/vfio
#             container, VFIO's type1 or iommufd's compat container,
#             whichever this kernel has; pinned RAM shows in VmLck with
#             type1, in VmPin with iommufd's container (as in 6.12, which
#             adds VmLck there only for a VMM without CAP_IPC_LOCK)
#   X-kill    the same, but QEMU is SIGKILLed as soon as it has pinned all
#             of the guest's RAM for the device: it holds the device, its
#             IOAS or container, the mappings and the pins, and the
#             nested firmware is running. (Waiting for the nested guest's
#             report first would cost a nested boot, a minute or more.)
# Each run reuses the device the run before released; after the last, the
# demo takes the device once more through /dev/iommu and DMAs.
#
# Per run: the nested guest reached its init, its DMA was verified, the
# pinned RAM showed in QEMU's status while the guest was up (sampled when
# the guest reported, before it is told to finish), and QEMU exited by
# itself when the guest reset (or died of the SIGKILL). Lines starting
# "# RUN:" say what QEMU and the nested guest printed and the wall times.
#
# The nested kernel boots with acpi=off: ACPI's share of its boot is
# large under TCG inside TCG, and nothing needs it (nested_edu resets the
# machine instead of powering it off, and "-no-reboot" ends QEMU then).
#
# Environment (from the kernel command line): q10timeout, seconds per run
# (default 480: a nested boot took up to 250 s on the loaded machine).
set -u

q10=/opt/qemu10
ram_mb=128
ram_kb=$((ram_mb * 1024))
limit=${q10timeout:-480}
n=0
failed=0

uptime_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

secs() {	# secs MS: milliseconds as seconds with one decimal
	awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'
}

tap() {		# tap OK(0|1) DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}

alive() {	# a zombie is not alive
	[ -e "/proc/$1/status" ] && ! grep -q '^State:.*Z' "/proc/$1/status"
}

status_kb() {	# status_kb PID FIELD: e.g. VmPin in kB, 0 if absent
	awk -v f="$2:" '$1 == f { print $2; found = 1 }
		END { if (!found) print 0 }' "/proc/$1/status" 2>/dev/null
}

find_edu() {
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = 0x1234 ] &&
		   [ "$(cat "$d/device")" = 0x11e8 ]; then
			echo "${d##*/}"
			return 0
		fi
	done
	return 1
}

bind_vfio_pci() {	# bind_vfio_pci BDF
	dev=/sys/bus/pci/devices/$1
	drv=$(readlink "$dev/driver" 2>/dev/null)
	[ "${drv##*/}" = vfio-pci ] && return 0
	echo vfio-pci > "$dev/driver_override"
	[ -n "$drv" ] && echo "$1" > "$dev/driver/unbind"
	echo "$1" > /sys/bus/pci/drivers_probe
	drv=$(readlink "$dev/driver" 2>/dev/null)
	[ "${drv##*/}" = vfio-pci ]
}

# Which container /dev/vfio/vfio is: type1 is built in with the VFIO
# container, and its module parameters show in /sys/module
container() {
	if [ -d /sys/module/vfio_iommu_type1 ]; then
		echo "VFIO type1"
	else
		echo "iommufd compat"
	fi
}

run_qemu() {	# run_qemu RUN
	run=$1
	backend=${run%-kill}
	kill=0
	[ "$run" != "$backend" ] && kill=1
	pipe=/tmp/q10-$run
	log=$pipe.console
	err=$pipe.err

	case "$backend" in
	iommufd)
		devargs="-object iommufd,id=iommufd0"
		devargs="$devargs -device vfio-pci,host=$bdf,iommufd=iommufd0"
		;;
	legacy)
		devargs="-device vfio-pci,host=$bdf"
		;;
	*)
		tap 1 "$run: unknown run"
		return
		;;
	esac

	rm -f "$pipe.in" "$pipe.out" "$log" "$err"
	mkfifo "$pipe.in" "$pipe.out"
	# Held open read-write here, so writing never blocks on a dead QEMU
	exec 3<>"$pipe.in"
	cat "$pipe.out" > "$log" &
	reader=$!

	echo "# $run: qemu-system-x86_64 -m ${ram_mb}M ... $devargs"
	t0=$(uptime_ms)
	# shellcheck disable=SC2086
	"$q10/bin/qemu-system-x86_64" -L "$q10/share" \
		-M q35 -accel tcg,tb-size=64 -cpu max -smp 1 -m "${ram_mb}M" \
		-nodefaults -display none -monitor none -no-reboot \
		-chardev "pipe,id=con,path=$pipe" -serial chardev:con \
		-kernel "$q10/nested/bzImage" -initrd "$q10/nested/initramfs.cpio" \
		-append "console=ttyS0 panic=-1 quiet acpi=off -- -w $limit" \
		$devargs 2> "$err" &
	pid=$!
	(sleep "$limit"; kill -9 "$pid" 2>/dev/null) &
	watchdog=$!

	# A run to be killed waits only until QEMU has pinned the guest's
	# RAM: QEMU then holds the device, and every page is mapped for it
	t_init='' t_result='' t_pinned='' pin=0 lck=0
	while alive "$pid"; do
		if [ $kill -eq 1 ] && [ -z "$t_pinned" ]; then
			pin=$(status_kb "$pid" VmPin)
			lck=$(status_kb "$pid" VmLck)
			if [ "$pin" -ge $ram_kb ] || [ "$lck" -ge $ram_kb ]; then
				t_pinned=$(uptime_ms)
				sleep 1
				pin=$(status_kb "$pid" VmPin)
				lck=$(status_kb "$pid" VmLck)
				kill -9 "$pid"
				break
			fi
		fi
		[ -z "$t_init" ] && grep -q 'nested_edu: init reached' "$log" &&
			t_init=$(uptime_ms)
		if grep -qE 'nested_edu: (PASS|FAIL)' "$log"; then
			t_result=$(uptime_ms)
			pin=$(status_kb "$pid" VmPin)
			lck=$(status_kb "$pid" VmLck)
			echo go >&3
			break
		fi
		sleep 0.2
	done
	wait "$pid" 2>/dev/null
	rc=$?
	t_exit=$(uptime_ms)
	kill "$watchdog" 2>/dev/null
	wait "$reader" 2>/dev/null
	exec 3>&-
	rm -f "$pipe.in" "$pipe.out"

	# What QEMU printed, each distinct line once with its count
	awk '{ if (!n[$0]++) line[++k] = $0 }
		END { for (i = 1; i <= k; i++)
			print line[i] (n[line[i]] > 1 ? " (" n[line[i]] " times)" : "") }' \
		"$err" | sed "s/^/# $run: qemu: /"
	grep -E 'nested_edu: (init|PASS|FAIL|powering)' "$log" | tr -d '\r' |
		sed "s/^/# $run: nested: /"
	echo "# $run: QEMU's VmPin $pin kB, VmLck $lck kB while it held the device"
	if [ $kill -eq 1 ]; then
		echo "# $run: wall time from QEMU's start: RAM pinned" \
			"$(secs $((${t_pinned:-$t_exit} - t0))) s, QEMU gone" \
			"$(secs $((t_exit - t0))) s"
	else
		echo "# $run: wall time from QEMU's start: init" \
			"$(secs $((${t_init:-$t_exit} - t0))) s, result" \
			"$(secs $((${t_result:-$t_exit} - t0))) s, QEMU gone" \
			"$(secs $((t_exit - t0))) s"
		grep -q 'nested_edu: init reached' "$log"
		tap $? "$run: QEMU 10 booted the nested guest to its init" \
			"($(grep -o 'reached [0-9.]* s' "$log" | head -1) after its kernel started)"
		grep -q 'nested_edu: PASS' "$log"
		tap $? "$run: the nested guest's DMA RAM -> edu -> RAM was verified"
	fi

	if [ "$backend" = iommufd ]; then
		[ "$pin" -ge $ram_kb ]
		tap $? "$run: QEMU's guest RAM pinned through /dev/iommu shows in VmPin ($pin kB, VmLck $lck kB)"
	elif [ "$(container)" = "iommufd compat" ]; then
		# As in 6.12: VmPin always; VmLck only for a VMM without
		# CAP_IPC_LOCK, and this QEMU runs as root
		[ "$pin" -ge $ram_kb ]
		tap $? "$run: QEMU's guest RAM pinned through the iommufd compat container shows in VmPin ($pin kB, VmLck $lck kB)"
	else
		[ "$lck" -ge $ram_kb ]
		tap $? "$run: QEMU's guest RAM pinned through the $(container) container shows in VmLck ($lck kB, VmPin $pin kB)"
	fi

	if [ $kill -eq 1 ]; then
		[ -n "$t_pinned" ] && [ $rc -eq 137 ]
		tap $? "$run: QEMU died of a SIGKILL while holding the device (status $rc)"
	else
		[ $rc -eq 0 ]
		tap $? "$run: QEMU exited by itself with status $rc when the nested guest finished"
	fi
}

bdf=$(find_edu)
if [ -z "$bdf" ] || ! bind_vfio_pci "$bdf"; then
	tap 1 "edu is on vfio-pci"
	exit 1
fi
group=$(readlink "/sys/bus/pci/devices/$bdf/iommu_group")
echo "# $("$q10/bin/qemu-system-x86_64" --version | head -1)"
echo "# edu $bdf on vfio-pci, IOMMU group ${group##*/}," \
	"/dev/vfio/vfio is the $(container) container"

for run in "$@"; do
	run_qemu "$run"
done

# The last run's release: the device is still usable through /dev/iommu
t0=$(uptime_ms)
demo > /tmp/q10-demo.log 2>&1
rc=$?
if [ $rc -eq 0 ]; then
	grep 'DMA:' /tmp/q10-demo.log | head -1
else
	tail -n 3 /tmp/q10-demo.log
fi | sed 's/^/# after: demo: /'
tap $rc "after the last run the demo binds edu to /dev/iommu and its DMA is verified ($(secs $(($(uptime_ms) - t0))) s)"
exit $failed
