#!/usr/bin/env bash
# RTL walker soak (docs/rtl-verification.md): the constrained-random
# co-simulation (tests/cosim/test_cosim_random) for WALKS walks (default
# 1,000,000), every walk checked against the C core and against the
# rollback-free reference; the skip_idle-off rerun in every 8th round only.
# Prints the test's summary line (walks, mismatches, RTL cycles, walks/s);
# exit 1 on any mismatch or failure. About 5 min of CPU per million walks.
# Usage: bench/soak_rtl.sh [BUILD_DIR] [WALKS] [SEED]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
walks=${2:-1000000}
seed=${3:-1}
exec "$build/tests/cosim/test_cosim_random" --walks "$walks" --seed "$seed" --idle-check-every 8 --quiet
