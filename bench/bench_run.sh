#!/usr/bin/env bash
# Timing-model speed: translations simulated per second of wall time, on the
# shipped recordings and on a generated NIC trace, with configs/default.
# Prints `run_xlate_per_s <trace> <N>` lines. Usage: bench/bench_run.sh [BUILD_DIR] [COUNT]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
count=${2:-5000000}
bin=$build/iommusim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() {  # trace
    local t0 t1 n
    t0=$(date +%s.%N)
    "$bin" run --quiet --trace "$1" --json "$tmp/out.json"
    t1=$(date +%s.%N)
    n=$(grep -o '"translations": [0-9]*' "$tmp/out.json" | head -1 | awk '{print $2}')
    awk -v n="$n" -v a="$t0" -v b="$t1" -v t="$(basename "$1")" \
        'BEGIN { printf "run_xlate_per_s %s %.0f  (%d translations in %.3f s)\n", t, n / (b - a), n, b - a }'
}

for t in "$here"/traces/*.itr.zst; do
    [ -e "$t" ] && measure "$t"
done
"$bin" trace gen nic --count "$count" --seed 1 "$tmp/nic.itr.zst" >/dev/null
measure "$tmp/nic.itr.zst"
