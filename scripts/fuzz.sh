#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fuzz.sh KIND SECONDS "SEED..." [COUNTS_FILE]
#
# Runs tools/iommufd/fuzz in a VM of kernel KIND ("wbmode=fuzz"), its
# SECONDS shared by the seeds, and prints a line per seed with its ops per
# minute, the total, any violation with its reproducing command, and the
# PASS/FAIL lines of the run (the VM's console must stay free of kernel
# reports). With COUNTS_FILE, as check.sh passes it, the counts go there;
# without, the exit status says whether everything passed.
#
# Environment: WB_TAG (default "fuzz") keeps the run's files apart, in
# build/logs/KIND-fuzz-TAG.*; FUZZ_ARGS passes more options to fuzz, e.g.
# "-S 12 -v" to replay session 12 of the seed with every call printed.
set -uo pipefail

kind=$1 seconds=$2 seeds=$3 counts=${4:-}
top=$(realpath "$(dirname "$0")/..")
tag=${WB_TAG:-fuzz}
results="$top/build/logs/$kind-fuzz-$tag.results"

if [ -z "$counts" ]; then
	counts=$(mktemp)
	trap 'rm -f "$counts"' EXIT
	own_counts=1
fi

# The guest reads them as comma-separated environment variables
cmdline="fuzztime=$seconds fuzzseeds=$(echo $seeds | tr ' ' ,)"
[ -n "${FUZZ_ARGS:-}" ] && cmdline+=" fuzzargs=$(echo $FUZZ_ARGS | tr ' ' ,)"

WB_TAG=$tag WB_CMDLINE="$cmdline" "$top/scripts/vm-run.sh" "$kind" fuzz \
	$((seconds + 600))
vm=$?
grep -E '^(ok|not ok) |^# (total|VIOLATION|  )' "$results" 2>/dev/null |
	sed 's/^/        /'
if [ $vm -eq 0 ]; then
	printf '  PASS  %s\n' "$kind/vm (fuzz): finished with a clean console"
	echo "1 0 0" >> "$counts"
else
	printf '  FAIL  %s\n' "$kind/vm (fuzz): finished with a clean console"
	echo "0 1 0" >> "$counts"
fi
python3 "$top/scripts/summarize.py" "$kind" "$results" "$counts"

[ -n "${own_counts:-}" ] || exit 0
awk '{ f += $2 } END { exit f > 0 }' "$counts"
