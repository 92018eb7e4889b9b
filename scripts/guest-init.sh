#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the test VM. The kernel passes unknown "key=value" boot
# parameters to init as environment variables: wbmode selects the job,
# wbkernel names the kernel. On pristine upstream 6.12 the selftests get
# IOMMUFD_UPSTREAM=1 and skip, saying why, what needs our mock driver; on
# pristine 7.2 also IOMMUFD_UPSTREAM_VERSION=7.2, for the later ioctls.
# Program output goes to ttyS1 (the results channel); the kernel console
# stays on ttyS0 for the host to scan for reports.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/hugepages
mount -t hugetlbfs hugetlbfs /dev/hugepages
export PATH=/bin:/sbin:/tests
case "$wbkernel" in
upstream)	export IOMMUFD_UPSTREAM=1 ;;
upstream72)	export IOMMUFD_UPSTREAM=1 IOMMUFD_UPSTREAM_VERSION=7.2 ;;
esac

exec >/dev/ttyS1 2>&1

uptime_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

run_suite() {
	name=$1
	shift
	echo "SUITE $name"
	t0=$(uptime_ms)
	timeout "${suite_timeout:-900}" "$@"
	rc=$?
	echo "END $name rc=$rc ms=$(( $(uptime_ms) - t0 ))"
}

kmemleak_suite() {
	[ -e /sys/kernel/debug/kmemleak ] || return 0
	# Two scans: an object is reported only once it looked
	# unreferenced in two consecutive scans.
	echo scan > /sys/kernel/debug/kmemleak
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	echo "SUITE kmemleak"
	if [ -s /sys/kernel/debug/kmemleak ]; then
		cat /sys/kernel/debug/kmemleak
		echo "not ok 1 kmemleak found unreferenced objects"
	else
		echo "ok 1 kmemleak found no leak"
	fi
	echo "END kmemleak rc=0 ms=0"
}

case "$wbmode" in
run)
	demo
	;;
bench)
	# benchargs: bench's options, a quoted boot parameter (the kernel
	# drops the quotes) set by scripts/bench.sh from BENCH_ARGS
	suite_timeout=1500
	run_suite bench bench ${benchargs:-}
	;;
check)
	# KASAN and lockdep make the fault-injection sweeps several times
	# slower: give each suite of the debug kernel twice the time
	[ "$wbkernel" = debug ] && suite_timeout=1800
	for t in /tests/*; do
		[ -x "$t" ] || continue
		run_suite "${t##*/}" "$t"
	done
	kmemleak_suite
	;;
fuzz)
	# fuzztime (seconds, all seeds), fuzzseeds and fuzzargs (more options,
	# both comma-separated) come from the command line. hugetlbfs memory
	# needs reserved huge pages; each session start goes to /dev/kmsg,
	# unthrottled, so that a kernel report names its session.
	echo 64 > /proc/sys/vm/nr_hugepages
	echo on > /proc/sys/kernel/printk_devkmsg
	suite_timeout=$(( ${fuzztime:-60} + 300 ))
	run_suite fuzz fuzz $(echo "${fuzzargs:-}" | tr , ' ') \
		-t "${fuzztime:-60}" $(echo "${fuzzseeds:-1}" | tr , ' ')
	kmemleak_suite
	;;
qemu10)
	# QEMU 10 as a VMM inside this guest; q10runs (comma-separated)
	# picks the runs, q10timeout the seconds each may take
	set -- $(echo "${q10runs:-iommufd-kill,iommufd,legacy}" | tr , ' ')
	suite_timeout=$(( ($# + 1) * ${q10timeout:-480} ))
	run_suite qemu10 qemu10-run "$@"
	kmemleak_suite
	;;
*)
	echo "unknown wbmode '$wbmode'"
	;;
esac
echo WB-DONE
sync
reboot -f
