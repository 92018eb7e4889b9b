#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarize a results channel written by scripts/guest-init.sh.

Usage: summarize.py LABEL RESULTS_FILE COUNTS_FILE

Each "SUITE name" ... "END name rc=N ms=N" block holds a program's TAP
output. Its top-level "ok"/"not ok" lines are counted (a "# SKIP" directive
counts as skipped). A program that exits non-zero without reporting a
failure, or that never reaches its END line, counts as one failure.
Prints one line per suite and appends "passed failed skipped" for the run
to COUNTS_FILE.
"""
import re
import sys

label, path, counts_path = sys.argv[1:4]
suites = []
current = None
try:
    lines = open(path, errors="replace").read().splitlines()
except FileNotFoundError:
    lines = []
for raw in lines:
    line = raw.rstrip("\r")
    m = re.match(r"^SUITE (\S+)$", line)
    if m:
        current = {"name": m.group(1), "p": 0, "f": 0, "s": 0,
                   "rc": None, "ms": 0, "failed": []}
        suites.append(current)
        continue
    if current is None:
        continue
    m = re.match(r"^END (\S+) rc=(\d+) ms=(\d+)$", line)
    if m:
        current["rc"] = int(m.group(2))
        current["ms"] = int(m.group(3))
        current = None
        continue
    m = re.match(r"^(not ok|ok) \d+ (.*)$", line)
    if m:
        if m.group(1) == "not ok":
            current["f"] += 1
            current["failed"].append(m.group(2))
        elif re.search(r"#\s*SKIP", m.group(2), re.I):
            current["s"] += 1
        else:
            current["p"] += 1

total = [0, 0, 0]
for s in suites:
    if s["rc"] is None:
        s["f"] += 1
        s["failed"].append("did not finish")
    elif s["rc"] != 0 and s["f"] == 0:
        s["f"] += 1
        s["failed"].append(f"exited with status {s['rc']}")
    verdict = "FAIL" if s["f"] else "PASS"
    print(f"  {verdict}  {label + '/' + s['name']:<40} "
          f"{s['p']:4d} passed, {s['f']} failed, {s['s']} skipped "
          f"({s['ms'] / 1000:.1f} s)")
    for name in s["failed"][:20]:
        print(f"        not ok: {name}")
    total[0] += s["p"]
    total[1] += s["f"]
    total[2] += s["s"]
if not suites:
    print(f"  FAIL  {label}: no suite ran")
    total[1] += 1
with open(counts_path, "a") as f:
    f.write(f"{total[0]} {total[1]} {total[2]}\n")
