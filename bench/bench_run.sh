#!/usr/bin/env bash
# Timing-model speed: requests simulated per second of wall time (warm-up
# included), with configs/default, on the shipped recordings and on generated
# traces: the 5 M-access `trace gen nic` trace (strict unmap: two control
# records per DMA) and 2 M-access traces of other shapes. Best of 3 runs each
# (the 5 M nic trace: best of 5, with the median too, since wall time on a
# shared machine varies by a quarter from run to run).
# Prints `run_req_per_s <trace> <N>` lines.
# Usage: bench/bench_run.sh [BUILD_DIR] [NIC_COUNT] [OTHER_COUNT]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
nic=${2:-5000000}
other=${3:-2000000}
bin=$build/iommusim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }

measure() {  # label trace [runs]
    local t0 t1 n times=""
    for _ in $(seq "${3:-3}"); do
        t0=$(now)
        "$bin" run --quiet --trace "$2" --json "$tmp/out.json"
        t1=$(now)
        times="$times $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
    done
    n=$(grep -o '"requests_simulated": [0-9]*' "$tmp/out.json" | awk '{print $2}')
    # shellcheck disable=SC2086
    printf '%s\n' $times | sort -g | awk -v n="$n" -v t="$1" '{ s[NR] = $1 }
        END { m = (NR % 2) ? s[(NR + 1) / 2] : (s[NR / 2] + s[NR / 2 + 1]) / 2
              printf "run_req_per_s %-22s %10.0f  (%d requests, best %.3f s", t, n / s[1], n, s[1]
              if (NR >= 5) printf ", median %.3f s = %.0f/s", m, n / m
              printf ", %d runs)\n", NR }'
}

for t in "$here"/traces/*.itr.zst; do
    [ -e "$t" ] && measure "$(basename "$t" .itr.zst)" "$t"
done
"$bin" trace gen nic --count "$nic" --seed 1 "$tmp/nic.itr.zst" >/dev/null
measure "gen-nic-${nic}" "$tmp/nic.itr.zst" 5
rm -f "$tmp/nic.itr.zst"
for kind in "nic --unmap deferred" nvme gpu random multi; do
    name=gen-$(echo "$kind" | tr -d ' -' | sed 's/unmap/-/')
    # shellcheck disable=SC2086
    "$bin" trace gen $kind --count "$other" --seed 1 "$tmp/g.itr.zst" >/dev/null
    measure "$name" "$tmp/g.itr.zst"
done
