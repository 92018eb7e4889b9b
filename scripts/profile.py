#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# profile.py SYSTEM.MAP RESULTS [TOP]: names the "prof" lines "bench -p"
# printed (buckets of kernel text and the timer ticks that hit them, see
# bench.c) after the kernel's functions, and prints, per tput or scale row
# and for MAP and UNMAP apart, the TOP (default 25) functions with their
# share of the ticks. Under the instruction clock (WB_ICOUNT=1) a tick comes every
# so many instructions, so the shares are shares of instructions.
#
#   WB_ICOUNT=1 WB_TAG=prof \
#   WB_CMDLINE='profile=2 benchargs="-p -t tput,scale -s 1024 -r 40"' \
#       scripts/vm-run.sh base bench 1500
#
# The timer interrupt waits while interrupts are off: ticks of such a
# stretch (GUP-fast walks the page tables with them off) all land on the
# instruction that turns them back on, in the function that does.
#   scripts/profile.py build/obj-base/System.map build/logs/base-bench-prof.results
import bisect
import collections
import sys

# What reading and clearing /proc/profile itself costs between two
# operations: ticks that land there are the profiler's, not the kernel's
PROFILER = {'rep_movs_alternative', 'memset_orig', 'read_profile',
            'write_profile'}


def load_symbols(path):
    addrs, names = [], []
    for line in open(path):
        parts = line.split()
        if len(parts) < 3 or parts[1] not in 'tTwW':
            continue
        addrs.append(int(parts[0], 16))
        names.append(parts[2])
    order = sorted(range(len(addrs)), key=addrs.__getitem__)
    addrs = [addrs[i] for i in order]
    names = [names[i] for i in order]
    stext = addrs[names.index('_stext')]
    return stext, addrs, names


def main():
    if len(sys.argv) < 3:
        sys.exit('usage: profile.py SYSTEM.MAP RESULTS [TOP]')
    stext, addrs, names = load_symbols(sys.argv[1])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    step = 0
    rows = collections.OrderedDict()
    for line in open(sys.argv[2], errors='replace'):
        parts = line.split()
        if parts[:1] == ['profstep']:
            step = int(parts[1])
        elif parts[:1] == ['prof'] and len(parts) == 6 and step:
            _, op, backing, mib, index, hits = parts
            addr = stext + int(index) * step
            name = names[max(bisect.bisect_right(addrs, addr) - 1, 0)]
            if name in PROFILER:
                continue
            row = rows.setdefault((backing, mib, op), collections.Counter())
            row[name] += int(hits)
    for (backing, mib, op), row in rows.items():
        total = sum(row.values())
        print(f'== {op} {backing} {mib} MiB: {total} ticks')
        for name, hits in row.most_common(top):
            print(f'  {100.0 * hits / total:5.1f}%  {hits:7d}  {name}')


if __name__ == '__main__':
    main()
