#!/usr/bin/env bash
# The RTL walker clocked two ways (docs/rtl.md, "Clocking measurements"):
# runs bench_rtl_clock (--cc, ticked from C++) and bench_rtl_clock_sc (--sc,
# sc_clock + SC_METHOD testbench) on the same stimulus, RUNS times each,
# alternating, and prints every line (cycles/s, walks/s).
# Needs a build configured with -DIMS_BENCH_RTL_SC=ON.
# Usage: bench/bench_rtl_clock.sh [BUILD_DIR] [CYCLES] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
cycles=${2:-1000000}
runs=${3:-3}
for b in bench_rtl_clock bench_rtl_clock_sc; do
    if [ ! -x "$build/bench/$b" ]; then
        echo "bench_rtl_clock.sh: $build/bench/$b not built (configure with -DIMS_BENCH_RTL_SC=ON)" >&2
        exit 2
    fi
done
for _ in $(seq "$runs"); do
    "$build/bench/bench_rtl_clock" "$cycles"
    # Only the result line (SystemC's banner goes to stderr).
    "$build/bench/bench_rtl_clock_sc" "$cycles" | grep -- '^--sc'
done
