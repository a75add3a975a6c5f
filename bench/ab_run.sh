#!/usr/bin/env bash
# Compares the wall time of two iommusim binaries on one trace, running them
# alternately so that both see the same machine load (single runs vary by
# 30 % or more on a shared machine). Prints each binary's run times in
# milliseconds, sorted, then best and median.
# Usage: bench/ab_run.sh BIN_A BIN_B [RUNS] [TRACE]
#   RUNS  runs per binary (default 6)
#   TRACE default: a 5 M-access `trace gen nic --seed 1` trace, generated
#         with BIN_B into a temporary directory
set -euo pipefail
if [ $# -lt 2 ] || [ "${1:-}" = "--help" ]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
a=$1 b=$2 runs=${3:-6} trace=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$trace" ]; then
    trace=$tmp/nic.itr.zst
    "$b" trace gen nic --count 5000000 --seed 1 "$trace" >/dev/null
fi
ms() { echo $(($(date +%s%N) / 1000000)); }
ta=() tb=()
for _ in $(seq "$runs"); do
    for w in a b; do
        bin=$a
        [ "$w" = b ] && bin=$b
        s=$(ms)
        "$bin" run --quiet --trace "$trace" --json "$tmp/out.json"
        e=$(ms)
        if [ "$w" = a ]; then ta+=($((e - s))); else tb+=($((e - s))); fi
    done
done
report() {  # label times...
    local label=$1
    shift
    printf '%s\n' "$@" | sort -n | awk -v l="$label" '{ t[NR] = $1; s = s " " $1 }
        END { m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2;
              printf "%s:%s  (best %d ms, median %g ms)\n", l, s, t[1], m }'
}
report A "${ta[@]}"
report B "${tb[@]}"
