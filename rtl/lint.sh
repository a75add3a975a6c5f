#!/usr/bin/env bash
# Lints the RTL with `verilator --lint-only -Wall` (with --assert, so the
# assertions and cover points are linted too): the walker at NumWalkers 1, 4, 8
# and 16, as verilated, with the planted bug, and as synthesised (SYNTHESIS
# defined: no assertions), and the co-simulation's top iommusim_walker_sim at
# the same sizes. Any warning fails. Waivers: rtl/iommusim.vlt only.
#   rtl/lint.sh VTD_PKG    VTD_PKG: the generated iommusim_vtd_pkg.sv
# Used by `make lint` and the CTest rtl_lint. Exit 0 clean, 1 on a warning,
# 2 on bad usage.
set -euo pipefail
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
    echo "usage: rtl/lint.sh BUILD/rtl/iommusim_vtd_pkg.sv (a file that exists)" >&2
    exit 2
fi
pkg=$1
dir=$(cd "$(dirname "$0")" && pwd)
rc=0
for n in 1 4 8 16; do
    for def in "" -DIMS_RTL_BUG_DROP_W_L2 -DSYNTHESIS; do
        if verilator --lint-only -Wall --assert $def -GNumWalkers=$n --top-module iommusim_walker \
            "$dir/iommusim.vlt" "$pkg" "$dir/iommusim_pkg.sv" "$dir/iommusim_walker.sv"; then
            echo "lint: NumWalkers=$n ${def:-(plain)}: clean"
        else
            echo "lint: NumWalkers=$n ${def:-(plain)}: warnings (above)" >&2
            rc=1
        fi
    done
    # The co-simulation's top (iommusim_walker_sim.sv: simulation only).
    for def in "" -DIMS_RTL_BUG_DROP_W_L2; do
        if verilator --lint-only -Wall --assert $def -GNumWalkers=$n --top-module iommusim_walker_sim \
            "$dir/iommusim.vlt" "$pkg" "$dir/iommusim_pkg.sv" "$dir/iommusim_walker.sv" "$dir/iommusim_walker_sim.sv"; then
            echo "lint: iommusim_walker_sim NumWalkers=$n ${def:-(plain)}: clean"
        else
            echo "lint: iommusim_walker_sim NumWalkers=$n ${def:-(plain)}: warnings (above)" >&2
            rc=1
        fi
    done
done
exit $rc
