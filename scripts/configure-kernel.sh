#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# configure-kernel.sh SRC OBJ FRAGMENT...
#
# Builds OBJ/.config as x86_64 tinyconfig plus the given fragments, then
# checks that every option a fragment asks for really has that value:
# merge_config.sh only warns when Kconfig overrides a request (a missing
# dependency, a typo), and such a silent miss must fail the build instead.
# The config is regenerated only when a fragment changed.
set -euo pipefail

src=$1 obj=$2
shift 2
mkdir -p "$obj"
stamp="$obj/.fragments.sum"
sum=$(cat "$@" | sha256sum | cut -d' ' -f1)
if [ -e "$obj/.config" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
	exit 0
fi

echo "  CONFIG  $obj ($*)" >&2
make -s -C "$src" O="$obj" ARCH=x86_64 tinyconfig >/dev/null
KCONFIG_CONFIG="$obj/.config" "$src/scripts/kconfig/merge_config.sh" \
	-m -O "$obj" "$obj/.config" "$@" >/dev/null
make -s -C "$src" O="$obj" ARCH=x86_64 olddefconfig >/dev/null

# A later fragment may override an earlier one (debug.config turns off
# base.config's VFIO container): check only the last request per option.
last_requests() {
	cat "$@" | awk -F= '/^CONFIG_[A-Za-z0-9_]+=/ { last[$1] = $0; order[$1] = NR }
		END { for (o in last) print order[o], last[o] }' | sort -n | cut -d' ' -f2-
}

bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n)	opt=${line%%=*}; want=unset ;;
	CONFIG_*=*)	opt=${line%%=*}; want=${line#*=} ;;
	*)		continue ;;
	esac
	have=$(grep -E "^$opt=" "$obj/.config" | cut -d= -f2- || true)
	if [ "$want" = unset ]; then
		[ -z "$have" ] && continue
	elif [ "$have" = "$want" ]; then
		continue
	fi
	echo "config: $opt wanted '$want' but got '${have:-unset}'" >&2
	bad=1
done < <(last_requests "$@")
if [ $bad -ne 0 ]; then
	rm -f "$obj/.config"
	exit 1
fi
echo "$sum" > "$stamp"
