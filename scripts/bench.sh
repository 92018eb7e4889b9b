#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [BENCH_OPTIONS...]: tools/iommufd/bench on our kernel (base) and
# on pristine 6.12 (upstream), in BENCH_ROUNDS (default 2) interleaved
# rounds: base, upstream, base, upstream. Interleaving spreads whatever
# else loads the host over both kernels; the rounds' spread says how much
# that moved the figures. The options go to bench in the guest (a quoted
# boot parameter, see guest-init.sh), e.g. "-q" for a quick run.
#
# Under TCG the guest's clock counts instructions (WB_ICOUNT, vm-run.sh):
# the other engineers' builds on the host moved wall-clock figures by 2-4x
# within a run, instruction counts do not move. BENCH_CLOCK=wall measures
# host time instead (then more repetitions, -r, help).
#
# Prints one table of both kernels (scripts/bench-table.py) with the goals
# as PASS/FAIL lines. Exits non-zero only if a run failed: a VM that did
# not finish or reported a kernel problem, or a bench that failed a row. A
# missed goal is a result, not a failure.
set -uo pipefail

top=$(realpath "$(dirname "$0")/..")
logs="$top/build/logs"
rounds=${BENCH_ROUNDS:-2}
status=0
files=()

clock=${BENCH_CLOCK:-icount}
[ "$clock" = icount ] && export WB_ICOUNT=1
cmdline=${WB_CMDLINE:-}
[ $# -gt 0 ] && cmdline+=" benchargs=\"$*\""
for round in $(seq 1 "$rounds"); do
	for kind in base upstream; do
		tag="${WB_TAG:+$WB_TAG-}r$round"
		WB_TAG=$tag WB_CMDLINE=$cmdline \
			"$top/scripts/vm-run.sh" "$kind" bench 1500 || status=1
		files+=("$kind:$logs/$kind-bench-$tag.results")
	done
done
python3 "$top/scripts/bench-table.py" "$clock" "${files[@]}" || status=1
exit $status
