#!/usr/bin/env bash
# Co-simulation speed (docs/performance.md, "RTL walker"): for the shipped
# recordings and the 5 M-access `trace gen nic` trace, under walker.impl tlm,
# rtl and lockstep (configs/default otherwise): translations per second of
# wall time (warm-up included), RTL walks per second, and RTL clock cycles
# evaluated per second, both of the whole run's wall time and of the time
# spent inside the RTL (the JSON's cosim.rtl_cycles_per_second). Best of
# RUNS runs (default 3; the 5 M trace: 1, it is long).
# Prints `cosim <walker> <trace> ...` lines.
# Usage: bench/bench_cosim.sh [BUILD_DIR] [NIC_COUNT] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
nic=${2:-5000000}
runs=${3:-3}
bin=$build/iommusim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
field() { { grep -o "\"$1\": [0-9.]*" "$2" || true; } | head -1 | awk '{print $2}'; }

measure() {  # walker label trace runs
    local t0 t1 best="" t
    for _ in $(seq "$4"); do
        t0=$(now)
        "$bin" run --quiet --walker "$1" --trace "$3" --json "$tmp/out.json"
        t1=$(now)
        t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
        if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then
            best=$t
            cp "$tmp/out.json" "$tmp/best.json"
        fi
    done
    local req walks cyc inside
    req=$(field requests_simulated "$tmp/best.json")
    walks=$({ grep -o '"cosim": {"impl": "[a-z]*", "walks": [0-9]*' "$tmp/best.json" || true; } | awk '{print $NF}')
    [ -n "$walks" ] || walks=$(field walks "$tmp/best.json")

    cyc=$(field rtl_cycles "$tmp/best.json")
    inside=$(field rtl_cycles_per_second "$tmp/best.json")
    awk -v w="$1" -v l="$2" -v r="$req" -v k="${walks:-0}" -v c="${cyc:-0}" -v i="${inside:-0}" -v s="$best" -v n="$4" \
        'BEGIN { printf "cosim %-8s %-20s %9.0f translations/s %9.0f walks/s", w, l, r / s, k / s
                 if (c > 0) printf " %9.0f RTL cycles/s (%.0f inside the RTL)", c / s, i
                 printf "  (%d translations, %d walks, best %.3f s of %d)\n", r, k, s, n }'
}

for t in "$here"/traces/*.itr.zst; do
    for w in tlm rtl lockstep; do
        measure "$w" "$(basename "$t" .itr.zst)" "$t" "$runs"
    done
done
"$bin" trace gen nic --count "$nic" --seed 1 "$tmp/nic.itr.zst" >/dev/null
for w in tlm rtl lockstep; do
    measure "$w" "gen-nic-${nic}" "$tmp/nic.itr.zst" 1
done
