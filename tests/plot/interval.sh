#!/usr/bin/env bash
# `iommusim run --interval`: the rows of the interval CSV sum to the run's
# totals in its JSON (translations, faults, each cache's lookups and hits,
# walks, invalidations; the largest interval max is the run's max), in both
# units, both player modes, with warm-up by count and by mark; and the JSON
# of a run is the same bytes with and without --interval.
# Usage: interval.sh BIN SRC SCRATCH
set -euo pipefail
export LC_ALL=C
bin=$1 src=$2 tmp=$3
rm -rf "$tmp" && mkdir -p "$tmp" && cd "$tmp"
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
"$bin" trace gen nic --count 6000 --seed 3 nic.itr.zst >/dev/null
"$bin" trace gen nvme --count 4000 --seed 5 --unmap deferred nvme.itr.zst >/dev/null

# JSON values by the line they sit on (the report prints one key per line).
jtop() { sed -n "s/^  \"$2\": \([0-9]*\),\$/\1/p" "$1"; }
jobj() { # FILE LINE-PREFIX FIELD
    grep -E "^ *\"$2\": \{" "$1" | head -1 | sed -n "s/.*\"$3\": \([0-9]*\).*/\1/p"
}
# Sum (or max) of a CSV column by name.
csum() { awk -F, -v c="$2" -v op="${3:-sum}" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
    { if (op == "max") { if ($k + 0 > s) s = $k + 0 } else s += $k } END { if (!k) exit 1; printf "%d\n", s }' "$1"; }

check() { # NAME JSON CSV
    local j=$2 c=$3 rows
    rows=$(($(wc -l <"$c") - 1))
    [ "$rows" -ge 2 ] || fail "$1: only $rows interval rows"
    eq() { [ "$2" = "$3" ] || fail "$1: $4: the intervals sum to '$2', the run's JSON says '$3'"; }
    eq "$1" "$(csum "$c" translations)" "$(jtop "$j" translations)" translations
    eq "$1" "$(csum "$c" faults)" "$(jtop "$j" faults)" faults
    eq "$1" "$(csum "$c" walks)" "$(jtop "$j" walks)" walks
    eq "$1" "$(csum "$c" iotlb_lookups)" "$(jobj "$j" iotlb lookups)" iotlb.lookups
    eq "$1" "$(csum "$c" iotlb_hits)" "$(jobj "$j" iotlb hits)" iotlb.hits
    eq "$1" "$(csum "$c" ctx_lookups)" "$(jobj "$j" context_cache lookups)" context_cache.lookups
    eq "$1" "$(csum "$c" ctx_hits)" "$(jobj "$j" context_cache hits)" context_cache.hits
    for l in 2 3 4 5; do
        eq "$1" "$(csum "$c" psc_l${l}_lookups)" "$(jobj "$j" l$l lookups)" psc.l$l.lookups
        eq "$1" "$(csum "$c" psc_l${l}_hits)" "$(jobj "$j" l$l hits)" psc.l$l.hits
    done
    eq "$1" "$(csum "$c" inv_iotlb)" "$(jobj "$j" invalidations iotlb)" invalidations.iotlb
    eq "$1" "$(csum "$c" inv_context)" "$(jobj "$j" invalidations context)" invalidations.context
    eq "$1" "$(csum "$c" latency_max max)" "$(jobj "$j" latency_cycles max)" "max of latency_max"
    # Rows in order, each [start, end) non-empty, none before the measured start.
    awk -F, -v s0="$(grep -o '"measured_start_cycle": [0-9]*' "$j" | grep -o '[0-9]*$')" '
        NR == 1 { next }
        $2 + 0 >= $3 + 0 || $2 + 0 < prev || $2 + 0 < s0 + 0 || $1 + 0 < pi { print "row " NR - 1 ": " $0; bad = 1 }
        { prev = $3 + 0; pi = $1 + 0 } END { exit bad }' "$c" || fail "$1: rows out of order or before the measured start"
    echo "ok $1: $rows intervals sum to the run's totals"
}

run() { # NAME TRACE INTERVAL [run options...]
    local n=$1 t=$2 iv=$3
    shift 3
    "$bin" run --quiet --trace "$t" --json "$n.json" --interval "$iv" --interval-csv "$n.csv" "$@"
    check "$n" "$n.json" "$n.csv"
}
run nic-count nic.itr.zst 500
run nic-cycles nic.itr.zst 40000c
run nic-count-t nic.itr.zst 777t --set player.mode=closed
run nvme-warmup nvme.itr.zst 20000c --set player.warmup=1000
run nvme-closed nvme.itr.zst 300 --set player.mode=closed --set walker.count=1
run shipped-faults "$src/traces/mixed-lazy-fault.itr.zst" 100000c
# An interval longer than the run: one row, the totals.
"$bin" run --quiet --trace nic.itr.zst --json one.json --interval 1000000 --interval-csv one.csv
[ "$(($(wc -l <one.csv) - 1))" = 1 ] || fail "an interval longer than the run: not one row"
[ "$(csum one.csv translations)" = "$(jtop one.json translations)" ] || fail "one row: not the run's translations"

# Off by default, and no change to the run's results when on.
"$bin" run --quiet --trace nic.itr.zst --json off.json
grep -v '"provenance"' off.json >off.cmp
grep -v '"provenance"' nic-count.json >on.cmp
cmp -s off.cmp on.cmp || fail "--interval changed the run's JSON: $(diff off.cmp on.cmp | head -5)"
echo "ok: --interval leaves the run's JSON unchanged"
