#!/usr/bin/env bash
# Functional and line coverage of the RTL walker under the random
# co-simulation (make coverage; docs/rtl-verification.md).
#
#   bash tests/cosim/coverage.sh BUILD_DIR [JOBS] [test_cosim_random args...]
#
# Configures BUILD_DIR with -DIMS_RTL_COVERAGE=ON (Verilator --coverage:
# line and user cover points), builds test_cosim_random, runs it as CTest
# does (or with the arguments given) writing one .dat per simulator, merges
# them with verilator_coverage, and writes into BUILD_DIR/coverage/:
#   coverage.dat     the merged counters
#   annotated/       the RTL sources annotated with their counts
#   summary.txt      every user cover point with its hits, and the tables
#                    levels x start level x outcome, walkers busy at once,
#                    out-of-order responses, stalls
# Exits 1 if the test fails or any user cover point has 0 hits (each named),
# 2 on bad usage.
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: coverage.sh BUILD_DIR [JOBS] [test_cosim_random args...]" >&2
    exit 2
fi
BUILD=$1
JOBS=${2:-2}
shift $(( $# >= 2 ? 2 : 1 ))
SRC=$(cd "$(dirname "$0")/../.." && pwd)
command -v verilator_coverage >/dev/null || { echo "coverage.sh: verilator_coverage not found (Debian package verilator)" >&2; exit 2; }

cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DIMS_RTL_COVERAGE=ON ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target test_cosim_random

OUT=$BUILD/coverage
rm -rf "$OUT"
mkdir -p "$OUT/dat"
echo "== test_cosim_random $* (coverage into $OUT/dat)"
if ! IMS_COSIM_COVERAGE_DIR=$OUT/dat CK_VERBOSITY=normal "$BUILD/tests/cosim/test_cosim_random" "$@"; then
    echo "coverage.sh: test_cosim_random failed" >&2
    exit 1
fi
shopt -s nullglob
dats=("$OUT"/dat/*.dat)
if [ ${#dats[@]} -eq 0 ]; then
    echo "coverage.sh: test_cosim_random wrote no coverage files (built without --coverage?)" >&2
    exit 1
fi
verilator_coverage --write "$OUT/coverage.dat" "${dats[@]}"
verilator_coverage --annotate "$OUT/annotated" --annotate-min 1 "$OUT/coverage.dat" >"$OUT/annotate.txt"

# One line per user cover point: hierarchy name and hits. A .dat line is
#   C '<\001key\002value>...' count
# with keys t (type), page (v_user/... for cover properties), h (hierarchy).
points=$OUT/points.txt
tr '\001\002' '|=' <"$OUT/coverage.dat" |
    sed -n "s/^C '\(.*\)' \([0-9]*\)$/\1 \2/p" |
    awk '{
        n = $NF; $NF = ""; h = ""; user = 0
        k = split($0, f, "|")
        for (i = 1; i <= k; i++) {
            if (f[i] ~ /^page=v_user/) user = 1
            if (f[i] ~ /^h=/) h = substr(f[i], 3)
        }
        gsub(/ +$/, "", h)
        # The simulators drive the bare walker (the pin drivers) or the
        # co-simulation top iommusim_walker_sim, whose instance u_walker
        # (inlined: its points carry the top module name) is the same walker:
        # one point per cover point of the walker, its hits summed over both.
        sub(/[.]iommusim_walker_sim[.](u_walker[.])?/, ".iommusim_walker.", h)
        if (user) hits[h] += n
    }
    END { for (h in hits) print h, hits[h] }' | sort >"$points"
total=$(wc -l <"$points")
zero=$(awk '$2 == 0' "$points" | wc -l)
if [ "$total" -eq 0 ]; then
    echo "coverage.sh: no user cover points in $OUT/coverage.dat" >&2
    exit 1
fi

# Hits of the cover point whose hierarchy name ends in .NAME (empty: none).
hits() { awk -v n=".$1" 'length($1) >= length(n) && substr($1, length($1) - length(n) + 1) == n {print $2; exit}' "$points"; }

line_total=$(grep -Eo 'Total coverage \([0-9]+/[0-9]+\) [0-9.]+%' "$OUT/annotate.txt" | tail -1 || true)
{
    echo "RTL walker coverage: test_cosim_random $*"
    echo "${#dats[@]} simulators merged; annotated sources in $OUT/annotated ($line_total, verilator_coverage --annotate-min 1)"
    echo "user cover points: $total, hit: $((total - zero)), with 0 hits: $zero"
    echo
    echo "levels x start level x outcome (hits; 4K/2M/1G leaves, faults 0x5 0x6 0x7 0xc; - impossible):"
    printf '%-8s %-6s %8s %8s %8s %8s %8s %8s %8s\n' levels start 4K 2M 1G 0x5 0x6 0x7 0xc
    for lv in 3 4 5; do
        for st in $(seq 1 $lv); do
            row=$(printf '%-8s %-6s' "$lv" "$st")
            for col in Leaf4k Leaf2m Leaf1g Fault5 Fault6 Fault7 FaultC; do
                v=$(hits "${col}_L${lv}S${st}_C")
                row+=$(printf ' %8s' "${v:--}")
            done
            echo "$row"
        done
    done
    echo
    echo "walkers busy at once (hits: cycles):"
    for k in $(seq 1 64); do
        v=$(hits "gen_cov_busy${k}.Busy${k}_C")
        if [ -n "$v" ]; then printf "  %2d: %s\n" "$k" "$v"; fi
    done
    echo
    echo "out-of-order memory responses: $(hits OutOfOrder_C)"
    echo "memory request stalled (mem_req_ready_i = 0): $(hits MemReqStall_C)"
    echo
    echo "every user cover point:"
    cat "$points"
} >"$OUT/summary.txt"
cat "$OUT/summary.txt" | sed -n '1,/^every user cover point:/p'
if [ "$zero" -ne 0 ]; then
    echo "coverage.sh: $zero user cover points with 0 hits:" >&2
    awk '$2 == 0 {print "  " $1}' "$points" >&2
    exit 1
fi
echo "coverage.sh: every user cover point hit; report in $OUT/summary.txt"
