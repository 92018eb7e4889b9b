#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-run.sh KIND MODE [TIMEOUT_SECONDS]
#
# Boots build/obj-KIND's bzImage in QEMU (q35 + intel-iommu + edu) with an
# initramfs of busybox, the selftests and the tools, and runs MODE in the
# guest: "run" (the demo), "check" (every selftest), "bench", "fuzz" or
# "qemu10" (QEMU 10 inside the guest as a VFIO/iommufd client, see
# qemu10-guest.sh). Two serial ports keep the streams apart: ttyS0 is the
# kernel console, ttyS1 carries only what the guest's programs print.
#
# KIND is base, debug or upstream (pristine 6.12, see build-kernel.sh); the
# guest learns it from "wbkernel=KIND" on the command line, so that the
# tests can skip what upstream cannot run, saying why.
#
# Environment: WB_TESTS, names of the selftests to include (default: all);
# WB_TAG, a suffix that keeps this run's initramfs and logs apart from
# others running at the same time; WB_CMDLINE, more "key=value" boot
# parameters for the guest (e.g. "fuzztime=60 fuzzseeds=1,2"); WB_ICOUNT=1,
# under TCG, a guest clock that counts instructions (QEMU's -icount), for
# timings that other load on the host does not move.
#
# Writes build/logs/KIND-MODE[-TAG].{console,results}. Exits non-zero if the guest
# did not finish in time or the console shows a kernel report (WARNING, BUG,
# Oops, KASAN, UBSAN, lockdep, kmemleak, panic).
set -euo pipefail

kind=$1 mode=$2 limit=${3:-1200}
top=$(realpath "$(dirname "$0")/..")
build="$top/build"
kernel="$build/obj-$kind/arch/x86/boot/bzImage"
logs="$build/logs"
tag=${WB_TAG:+-$WB_TAG}
console="$logs/$kind-$mode$tag.console"
results="$logs/$kind-$mode$tag.results"
mkdir -p "$logs"

# QEMU 10 and what it needs in the guest, for wbmode=qemu10 only: the
# binary, the host's (bookworm) shared libraries it links, at the same
# paths, the three ROMs a q35 -kernel boot loads, and the nested guest:
# the base bzImage (the nested kernel is not what is tested, and the base
# one boots fastest) with an initramfs holding only nested_edu as /init.
qemu10_payload() {	# qemu10_payload DIR
	local dir=$1 q10="$build/qemu10/root" lib nested
	"$top/scripts/qemu10.sh"
	mkdir -p "$dir/bin" "$dir/share" "$dir/nested/root"
	cp "$q10/usr/bin/qemu-system-x86_64" "$dir/bin/"
	cp "$q10/usr/share/seabios/bios-256k.bin" \
		"$q10/usr/share/qemu/kvmvapic.bin" \
		"$q10/usr/share/qemu/linuxboot_dma.bin" "$dir/share/"
	for lib in $(ldd "$q10/usr/bin/qemu-system-x86_64" |
		     awk '$2 == "=>" && $3 ~ /^\// { print $3 }
			  $1 ~ /^\/.*ld-linux/ { print $1 }'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	nested="$build/obj-base/arch/x86/boot/bzImage"
	[ -e "$nested" ] || nested=$kernel
	cp "$nested" "$dir/nested/bzImage"
	cp "$build/user/bin/nested_edu" "$dir/nested/root/init"
	(cd "$dir/nested/root" && echo init | cpio -o -H newc --quiet) \
		> "$dir/nested/initramfs.cpio"
	rm -r "$dir/nested/root"
	cp "$top/scripts/qemu10-guest.sh" "$root/bin/qemu10-run"
}

# The initramfs is rebuilt every run: it is small and cheap to pack.
root="$build/initramfs-$kind$tag"
cpio="$root.cpio"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,tests,mnt}
cp /bin/busybox "$root/bin/busybox"
if [ "$mode" = qemu10 ]; then
	qemu10_payload "$root/opt/qemu10"
elif [ "$mode" = bench ]; then
	:	# no tests: the initramfs lives in the RAM bench measures
elif [ -n "${WB_TESTS:-}" ]; then
	for t in $WB_TESTS; do
		cp "$build/user/tests/$t" "$root/tests/"
	done
else
	cp "$build"/user/tests/* "$root/tests/" 2>/dev/null || true
fi
cp "$build"/user/bin/* "$root/bin/" 2>/dev/null || true
cp "$top/scripts/guest-init.sh" "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) > "$cpio"

# bench maps buffers of 1 GiB, one of them reserved as huge pages while
# the previous one may still be on its way back to the page allocator
mem=2G
[ "$mode" = bench ] && mem=4G

machine=q35
accel=tcg
icount=()
if "$top/scripts/kvm-usable.sh" "$kernel"; then
	accel=kvm
	# Interrupt remapping needs the IOAPIC emulated in QEMU under KVM
	machine=q35,kernel-irqchip=split
elif [ -n "${WB_ICOUNT:-}" ]; then
	# The guest's clock counts executed instructions, 1 ns each: its
	# timings no longer depend on what else the host runs
	icount=(-icount shift=0,sleep=off)
fi

append="console=ttyS0 intel_iommu=on iommu.strict=1 panic=-1 wbmode=$mode"
append+=" wbkernel=$kind"
append+=" loglevel=7 ${WB_CMDLINE:-}"
[ "$kind" = debug ] && append+=" panic_on_warn=1 kmemleak=on"

rm -f "$console" "$results"
start=$(date +%s)
set +e
timeout --foreground -k 10 "$limit" qemu-system-x86_64 \
	-M "$machine" -accel "$accel" -cpu max -smp 2 -m "$mem" "${icount[@]}" \
	-device intel-iommu,intremap=on -device edu \
	-kernel "$kernel" -initrd "$cpio" \
	-append "$append" \
	-nodefaults -display none -monitor none -no-reboot \
	-serial file:"$console" -serial file:"$results" \
	</dev/null 2>"$logs/$kind-$mode$tag.qemu"
rc=$?
set -e
elapsed=$(( $(date +%s) - start ))

status=0
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "vm: $kind/$mode timed out after ${limit}s" >&2
	status=1
elif [ $rc -ne 0 ]; then
	echo "vm: qemu exited with $rc:" >&2
	tail -n 5 "$logs/$kind-$mode$tag.qemu" >&2
	status=1
fi
if ! grep -q '^WB-DONE' "$results" 2>/dev/null; then
	echo "vm: $kind/$mode did not finish, console tail:" >&2
	tail -n 30 "$console" >&2 || true
	status=1
fi
reports=$(grep -E 'WARNING:|BUG:|Oops|Kernel panic|KASAN:|UBSAN:|possible recursive locking|possible circular locking|lock held when returning|inconsistent lock state|suspicious RCU usage|kmemleak: [0-9]+ new suspected' "$console" || true)
if [ -n "$reports" ]; then
	echo "vm: kernel reports on the console of $kind/$mode:" >&2
	echo "$reports" | head -20 >&2
	status=1
fi
echo "  VM      $kind/$mode$tag ($accel${icount:+, icount}) ${elapsed}s, console: $console"
exit $status
