#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Set the results of tools/iommufd/bench on two kernels side by side.

Usage: bench-table.py CLOCK KIND:RESULTS_FILE...

CLOCK names what the guest's clock measured: "icount" (instructions, 1 ns
each) or "wall" (host time).
KIND is "base" (ours) or "upstream" (pristine 6.12); each kernel has one
file per round (scripts/bench.sh). bench prints one "key=value" line per
measurement ("tput PATH MEMORY MIB ...", "mem MEMORY MIB ...",
"scale SIZE COUNT ...", "file IOCTL MEMFD MIB ..."); a figure here is the
mean over the rounds of a kernel, and "spread" is how far apart its rounds
were (max/min - 1, the larger of the two kernels'). Ratios are ours over
upstream's speed: above 1 we are faster (for per-operation costs:
upstream's time over ours). The file table compares MAP_FILE with MAP on
our kernel alone (pristine 6.12 has no MAP_FILE; its MAP is there for
reference), as a ratio of times: below 1 MAP_FILE is faster.

Prints the throughput, memory, scale and file tables, then the goals of
issues 13 and 10 as PASS/FAIL lines. Exits 1 only if a run failed (no
"END bench rc=0", or a row with error=), never for a missed goal.
"""
import re
import sys

KINDS = ("base", "upstream")
PATH_NAMES = {"ioas": "IOAS_MAP", "type1": "type1", "fill": "fill",
              "copy": "COPY"}


def parse(path):
    """Rows of one results file: {(section, ...key): {metric: value}}."""
    rows, errors, rc = {"kernel": ""}, [], None
    try:
        lines = open(path, errors="replace").read().splitlines()
    except FileNotFoundError:
        return rows, [f"{path}: missing"], None
    for line in lines:
        line = line.rstrip("\r")
        m = re.match(r"^END bench rc=(\d+)", line)
        if m:
            rc = int(m.group(1))
            continue
        if line.startswith("kernel "):
            rows["kernel"] = line[len("kernel "):]
            continue
        if line.startswith("error"):
            errors.append(line)
            continue
        words = line.split()
        if not words or words[0] not in ("tput", "mem", "scale", "file",
                                         "alloc"):
            continue
        key = tuple(w for w in words if "=" not in w)
        vals = dict(w.split("=", 1) for w in words if "=" in w)
        if "error" in vals:
            errors.append(line)
            continue
        rows[key] = {k: float(v) for k, v in vals.items()}
    if rc != 0:
        errors.append(f"bench exited with {rc}" if rc is not None
                      else "bench did not finish")
    return rows, errors, rc


def mean(xs):
    return sum(xs) / len(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x]
    if len(xs) < 2 or min(xs) <= 0:
        return None
    return max(xs) / min(xs) - 1


class Results:
    def __init__(self, args):
        self.rounds = {k: [] for k in KINDS}
        self.failed = False
        for arg in args:
            kind, path = arg.split(":", 1)
            rows, errors, _ = parse(path)
            for e in errors:
                print(f"  FAIL  {kind}: {e}  ({path})")
                self.failed = True
            self.rounds[kind].append(rows)

    def keys(self, section):
        seen = []
        for kind in KINDS:
            for rows in self.rounds[kind]:
                for key in rows:
                    if key != "kernel" and key[0] == section and key not in seen:
                        seen.append(key)
        return seen

    def values(self, kind, key, metric):
        return [r[key][metric] for r in self.rounds[kind]
                if key in r and metric in r[key]]

    def get(self, kind, key, metric):
        return mean(self.values(kind, key, metric))

    def spread(self, key, metrics):
        """The largest spread of the rounds of either kernel."""
        s = [spread(self.values(k, key, m)) for k in KINDS for m in metrics]
        s = [x for x in s if x is not None]
        return max(s) if s else None


def fmt(x, width, prec=0):
    return f"{x:{width}.{prec}f}" if x is not None else f"{'-':>{width}}"


def ratio(ours, upstream):
    if not ours or not upstream:
        return None
    return ours / upstream


def pct(x):
    return f"{x * 100:5.1f}%" if x is not None else f"{'-':>6}"


def tput_table(res):
    print("Throughput, MiB/s through a VT-d domain: ours, upstream 6.12, "
          "ours/upstream (>1: we are faster)")
    print(f"{'path':<9}{'memory':<9}{'MiB':>5} |"
          + "".join(f" {h:^27} |" for h in ("MAP", "UNMAP", "total"))
          + " spread")
    for key in res.keys("tput"):
        _, path, mem, mib = key
        line = f"{PATH_NAMES.get(path, path):<9}{mem:<9}{mib:>5} |"
        for metric in ("map", "unmap", "total"):
            o = res.get("base", key, metric)
            u = res.get("upstream", key, metric)
            line += f" {fmt(o, 9)} {fmt(u, 9)} {fmt(ratio(o, u), 6, 2)}x |"
        print(line + " " + pct(res.spread(key, ("map", "unmap", "total"))))
    print("  MAP of fill = MAP without a domain + attach; its UNMAP = "
          "detach + UNMAP. COPY = IOAS_COPY into the domain's IOAS.")


def mem_table(res):
    print()
    print("Kernel memory added by MAP, MiB per GiB mapped: ours / upstream")
    metrics = ("slab", "vmalloc", "iommu", "sum", "peak")
    print(f"{'memory':<9}{'MiB':>5} {'adj':>6} {'huge':>6} |"
          + "".join(f" {m:^15} |" for m in metrics))
    for key in res.keys("mem"):
        _, mem, mib = key
        line = (f"{mem:<9}{mib:>5} {fmt(res.get('base', key, 'adj'), 6, 3)}"
                f" {fmt(res.get('base', key, 'huge'), 6, 3)} |")
        for metric in metrics:
            o = res.get("base", key, metric)
            u = res.get("upstream", key, metric)
            line += f" {fmt(o, 6, 2)} /{fmt(u, 6, 2)} |"
        print(line)
    print("  slab = SUnreclaim, vmalloc = VmallocUsed, iommu = "
          "nr_iommu_pages; peak: highest sum seen while MAP ran")
    print("  adj: fraction of neighbouring pages physically adjacent; "
          "huge: fraction in huge pages (both on our kernel)")


SCALE_OPS = (("map", "MAP"), ("unmap", "UNMAP"), ("ranges", "IOVA_RANGES"),
             ("unmap_all", "UNMAP all"))


def scale_table(res):
    print()
    print("Scale: microseconds per operation with N mappings in one IOAS: "
          "ours, upstream, upstream/ours (>1: we are faster)")
    print(f"{'size':<6}{'N':>7} |"
          + "".join(f" {h:^22} |" for _, h in SCALE_OPS) + " spread")
    for key in res.keys("scale"):
        _, size, count = key
        line = f"{size:<6}{count:>7} |"
        for metric, _ in SCALE_OPS:
            o = res.get("base", key, metric)
            u = res.get("upstream", key, metric)
            line += f" {fmt(o, 7, 2)} {fmt(u, 7, 2)} {fmt(ratio(u, o), 5, 2)}x |"
        print(line + " "
              + pct(res.spread(key, [m for m, _ in SCALE_OPS])))
    print("  UNMAP one by one; IOVA_RANGES with all N mapped; UNMAP all: "
          "one call (iova 0, length U64_MAX), per mapping;")
    print("  the mappings reuse 64 MiB of shuffled 4 KiB pages")


def file_sizes(res):
    """(memfd, MiB) of the file section, in the order bench printed them."""
    seen = []
    for key in res.keys("file"):
        if key[2:] not in seen:
            seen.append(key[2:])
    return seen


def file_cell(res, kind, key):
    """MAP and UNMAP MiB/s of one row, or why there are none."""
    if res.values(kind, key, "absent"):
        return f"{'absent':>19}"
    return (f"{fmt(res.get(kind, key, 'map'), 9)} "
            f"{fmt(res.get(kind, key, 'unmap'), 9)}")


FILE_OPS = ("map", "unmap", "total")


def file_ratios(res, mem, mib):
    """Our MAP_FILE's time over our MAP's, of one memfd: map, unmap, total
    (speeds in MiB/s, so MAP's speed over MAP_FILE's)."""
    by_addr = ("file", "map", mem, mib)
    by_file = ("file", "map_file", mem, mib)
    return [ratio(res.get("base", by_addr, m), res.get("base", by_file, m))
            for m in FILE_OPS]


def file_table(res):
    print()
    print("MAP_FILE next to MAP of the same memfd, MiB/s (map, unmap) "
          "through a VT-d domain;")
    print("  FILE/MAP: our MAP_FILE's time over our MAP's "
          "(<1: MAP_FILE is faster); upstream 6.12 has no MAP_FILE")
    print(f"{'memfd':<10}{'MiB':>5} {'huge':>6} |"
          + "".join(f" {h:^19} |" for h in ("ours MAP", "ours MAP_FILE"))
          + f" {'FILE/MAP time':^20} | {'upstream MAP':^19} | spread")
    for mem, mib in file_sizes(res):
        by_addr = ("file", "map", mem, mib)
        by_file = ("file", "map_file", mem, mib)
        ratios = file_ratios(res, mem, mib)
        spreads = [x for x in (res.spread(by_addr, ("map", "unmap")),
                               res.spread(by_file, ("map", "unmap")))
                   if x is not None]
        huge = res.get("base", by_addr, "huge")
        print(f"{mem:<10}{mib:>5} {fmt(huge, 6, 3)}"
              f" | {file_cell(res, 'base', by_addr)}"
              f" | {file_cell(res, 'base', by_file)}"
              f" |{''.join(' ' + fmt(r, 6, 2) for r in ratios)}"
              f" | {file_cell(res, 'upstream', by_addr)}"
              f" | {pct(max(spreads) if spreads else None)}")
    print("  MAP: IOAS_MAP of the memfd's mmap'ed range; MAP_FILE: the same "
          "range by file offset; huge: fraction in huge pages (ours);")
    print("  FILE/MAP time of map, unmap and total (map + unmap)")


def file_goal(res):
    """Per memfd: our MAP_FILE + UNMAP take no longer than our MAP + UNMAP
    at every size."""
    for mem in dict.fromkeys(m for m, _ in file_sizes(res)):
        checks = []
        for _, mib in [k for k in file_sizes(res) if k[0] == mem]:
            if res.values("base", ("file", "map_file", mem, mib), "absent"):
                checks.append((float("inf"), False, f"absent at {mib} MiB"))
                continue
            r_map, r_unmap, r_total = file_ratios(res, mem, mib)
            if r_total is not None:
                checks.append((r_total, r_total <= 1.0,
                               f"{mib} MiB: time x{r_total:.2f} (map "
                               f"x{fmt(r_map, 0, 2)}, unmap "
                               f"x{fmt(r_unmap, 0, 2)})"))
        checks.sort(reverse=True)
        verdict(f"MAP_FILE at least as fast as MAP (issue 10): {mem}",
                [(ok, t) for _, ok, t in checks])


def verdict(name, checks):
    """checks: [(ok, text)]; prints the worst case of a goal."""
    if not checks:
        print(f"  ----  {name:<58} (no data)")
        return
    bad = [t for ok, t in checks if not ok]
    shown = bad if bad else [checks[0][1]]
    word = "FAIL" if bad else "PASS"
    print(f"  {word}  {name:<58} {'; '.join(shown[:4])}"
          + (f" (+{len(bad) - 4} more)" if len(bad) > 4 else ""))


def tput_goal(res, paths, mems, least):
    checks = []
    for key in res.keys("tput"):
        _, path, mem, mib = key
        if path not in paths or mem not in mems:
            continue
        r = ratio(res.get("base", key, "total"),
                  res.get("upstream", key, "total"))
        if r is not None:
            checks.append((r, r >= least, f"{r:.2f}x {path} {mem} {mib}"))
    checks.sort()
    return [(ok, t) for _, ok, t in checks]


def goals(res):
    print()
    print("Goals (informative: a missed goal does not fail make bench)")
    verdict("4 KiB (fresh, fragmented) total >= 2.0x (IOAS_MAP, type1)",
            tput_goal(res, ("ioas", "type1"), ("4k", "4k-frag"), 2.0))
    verdict("THP and hugetlbfs total >= 8x (IOAS_MAP, type1)",
            tput_goal(res, ("ioas", "type1"), ("thp", "hugetlb"), 8.0))
    verdict("fill path and COPY total >= 1.5x (every memory)",
            tput_goal(res, ("fill", "copy"),
                      ("4k", "4k-frag", "thp", "hugetlb"), 1.5))

    checks = []
    for key in res.keys("mem"):
        if key[1] != "4k-frag":
            continue
        o = res.get("base", key, "sum")
        u = res.get("upstream", key, "sum")
        if o is not None and u is not None:
            checks.append((o - u, o <= u + 2,
                           f"{o:.2f} vs {u:.2f} MiB/GiB at {key[2]} MiB"))
    checks.sort(reverse=True)
    verdict("fragmented 4 KiB: MiB/GiB after MAP <= upstream's + 2",
            [(ok, t) for _, ok, t in checks])

    counts = sorted({int(k[2]) for k in res.keys("scale")})
    flat, cheap = [], []
    for size in sorted({k[1] for k in res.keys("scale")}):
        lo = ("scale", size, str(counts[0]))
        hi = ("scale", size, str(counts[-1]))
        for metric, name in SCALE_OPS:
            o_lo = res.get("base", lo, metric)
            o_hi = res.get("base", hi, metric)
            u_hi = res.get("upstream", hi, metric)
            if o_lo and o_hi:
                r = o_hi / o_lo
                flat.append((r, r <= 1.5, f"{name} {size} x{r:.2f}"))
            if o_hi and u_hi:
                r = u_hi / o_hi
                cheap.append((-r, r >= 1.0, f"{name} {size} {r:.2f}x"))
    flat.sort(reverse=True)
    cheap.sort(reverse=True)
    if len(counts) > 1:
        verdict(f"per-op cost at {counts[-1]} <= 1.5 x cost at {counts[0]}",
                [(ok, t) for _, ok, t in flat])
    verdict(f"per-op cost at {counts[-1] if counts else '-'} no worse "
            "than upstream's", [(ok, t) for _, ok, t in cheap])
    file_goal(res)


def main():
    clock = sys.argv[1]
    res = Results(sys.argv[2:])
    n = {k: len(res.rounds[k]) for k in KINDS}
    print(f"bench: ours (base) x{n['base']}, upstream 6.12 x{n['upstream']}"
          " rounds; figures are the mean of the rounds")
    print("clock: " + ("instructions executed, 1 ns each (QEMU -icount)"
                       if clock == "icount" else "host wall clock"))
    for kind in KINDS:
        for i, rows in enumerate(res.rounds[kind]):
            print(f"{kind} round {i + 1}: {rows.get('kernel') or '?'}")
    print()
    tput_table(res)
    mem_table(res)
    scale_table(res)
    file_table(res)
    goals(res)
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
