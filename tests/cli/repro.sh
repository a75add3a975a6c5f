#!/usr/bin/env bash
# Reproducible results: `run --config-from`, the inputs a run's JSON records,
# `compare`, latencies in ns and `--explain`. Run by tests/cli/CMakeLists.txt
# through expect.sh (which provides `ims`, the binary under test).
# Usage: repro.sh CASE SCRATCH SOURCE_DIR; prints "ok" when the case holds.
set -euo pipefail
case=$1 tmp=$2 src=$3
. "$(dirname "$0")/case_lib.sh" "$case" "$tmp"
ln -s "$src/traces" shipped
# The JSON less its provenance line (what scripts/results.sh compares).
strip() { sed '/^  "provenance": /d' "$1"; }

case $case in
rerun)
    # A point with overrides and seeded randomness (a probability that %g
    # would round): rerun from its JSON, the results are byte-identical.
    sets=(--set iotlb.repl=random --set iotlb.sets=4 --set mem.ptw_cache_hit=0.123456789 --set seed=7)
    ims run --quiet --config small --trace shipped/mixed.itr.zst "${sets[@]}" --json a.json
    ims run --quiet --config-from a.json --json b.json
    cmp <(strip a.json) <(strip b.json) || fail "rerun differs from its original"
    grep -q '"config_from": "a.json"' b.json || fail "provenance does not name the --config-from file"
    grep -q '^  "config": "small",$' b.json || fail "rerun lost the config name"
    grep -q '"mem.ptw_cache_hit": "0.123456789"' b.json || fail "effective_config rounded a probability"
    grep -qF '"overrides": ["iotlb.repl=random", "iotlb.sets=4", "mem.ptw_cache_hit=0.123456789", "seed=7"],' a.json ||
        fail "overrides not recorded in order"
    # The seed matters, so the equality above is not a constant output.
    ims run --quiet --config-from a.json --set seed=8 --json c.json
    if cmp -s <(strip a.json) <(strip c.json); then fail "seed=8 gave the same JSON"; fi
    grep -qF '"seed=7", "seed=8"],' c.json || fail "--set on top of --config-from not recorded"
    grep -q '^  "seed": 8,$' c.json || fail "seed not recorded"
    # A result of an older version, which lacked a key: the default, with a warning.
    grep -v '^    "walker.step": ' a.json >old.json
    ims run --quiet --config-from old.json --json d.json 2>err
    grep -qx 'iommusim run: warning: old.json: effective_config lacks 1 key(s), which keep their defaults: walker.step=1' err ||
        fail "missing key: $(cat err)"
    cmp <(strip a.json) <(strip d.json) || fail "a missing key at its default changed the result"
    # compare agrees: equal; then the seed (3 values: seed, overrides[4], effective_config.seed).
    ims compare a.json b.json >cmp.out || fail "compare a b: exit $?"
    grep -q '^metrics: equal' cmp.out || fail "compare a b: not equal"
    rc=0
    ims compare a.json c.json >cmp.out || rc=$?
    [ $rc = 1 ] || fail "compare a c: exit $rc"
    grep -Eq '^configuration: 3 of [0-9]+ values differ$' cmp.out || fail "compare a c: $(cat cmp.out)"
    grep -Eq '^  effective_config\.seed +7 +8$' cmp.out || fail "compare a c: no seed row"
    ;;
digest)
    # The recorded trace changes under the same path: refused, or run with a
    # warning when asked to.
    ims trace gen nic --count 300 --seed 1 t.itr >/dev/null
    ims run --quiet --trace t.itr --json a.json
    grep -Eq '"digest": "sha256:[0-9a-f]{64}"' a.json || fail "no SHA-256 digest"
    [ "$(jnum a.json trace_info file_bytes)" = "$(stat -c %s t.itr)" ] || fail "file_bytes is not the file's size"
    want=$(sha256sum t.itr | cut -d' ' -f1)
    grep -q "\"digest\": \"sha256:$want\"" a.json || fail "digest is not the SHA-256 of the file's bytes"
    ims trace gen nic --count 300 --seed 2 t.itr >/dev/null
    rc=0
    ims run --quiet --config-from a.json --json b.json 2>err || rc=$?
    [ $rc = 2 ] || fail "changed trace: exit $rc, expected 2"
    grep -q "^iommusim run: t.itr: its digest (sha256:[0-9a-f]*) differs from the one a.json records" err ||
        fail "changed trace: $(cat err)"
    [ ! -e b.json ] || fail "changed trace: b.json written"
    ims run --quiet --config-from a.json --allow-trace-change --json b.json 2>err
    grep -q "^iommusim run: warning: t.itr: its digest" err || fail "--allow-trace-change: no warning"
    # --trace: the same bytes under another path are the same trace.
    ims trace gen nic --count 300 --seed 1 moved.itr >/dev/null
    ims run --quiet --config-from a.json --trace moved.itr --json c.json
    grep -q '^  "trace": "moved.itr",$' c.json || fail "--trace not used"
    ;;
header)
    # The text report names the configuration and every override.
    ims run --trace shipped/net.itr.zst --config small --set ' iotlb.ways = 2' --set seed=3 >out.txt
    grep -q '^iommusim run: shipped/net.itr.zst  (config small, 1000 MHz)$' out.txt || fail "header"
    grep -q '^overrides (--set): iotlb.ways=2, seed=3$' out.txt || fail "overrides not in the header"
    grep -q '^(every term, as its JSON key, in one line each: iommusim run --explain)$' out.txt || fail "no pointer to --explain"
    ims run --quiet --trace shipped/net.itr.zst --json a.json
    ims run --config-from a.json >out.txt
    grep -q '^configuration from a.json$' out.txt || fail "--config-from not in the header"
    if grep -q '^overrides' out.txt; then fail "overrides line without overrides"; fi
    ;;
ns)
    # Latencies in ns follow from cycles and clock.mhz (400 MHz: 2.5 ns a cycle).
    ims run --quiet --trace shipped/mixed.itr.zst --set clock.mhz=400 --json a.json
    for k in min p50 p99 max; do
        c=$(jnum a.json latency_cycles $k) n=$(jnum a.json latency_ns $k)
        [ -n "$c" ] && [ -n "$n" ] || fail "latency $k missing"
        awk -v c="$c" -v n="$n" 'BEGIN { exit !(c * 2.5 == n) }' || fail "latency $k: $c cycles but $n ns"
    done
    c=$(jnum a.json walker queue_delay_max) n=$(jnum a.json walker queue_delay_max_ns)
    awk -v c="$c" -v n="$n" 'BEGIN { exit !(c * 2.5 == n) }' || fail "queue_delay_max: $c cycles but $n ns"
    c=$(jnum a.json invalidations mean_latency_cycles) n=$(jnum a.json invalidations mean_latency_ns)
    awk -v c="$c" -v n="$n" 'BEGIN { d = c * 2.5 - n; exit !(d < 0.01 && d > -0.01) }' ||
        fail "invalidation latency: $c cycles but $n ns"
    ims run --trace shipped/mixed.itr.zst --set clock.mhz=400 >out.txt
    grep -Eq '^translation latency \(ns\): +min [0-9.]+  mean' out.txt || fail "no ns latency line"
    ;;
compare)
    ims run --quiet --trace shipped/mixed.itr.zst --json a.json
    ims run --quiet --trace shipped/mixed.itr.zst --json a2.json
    ims run --quiet --trace shipped/mixed.itr.zst --set iotlb.ways=1 --json b.json
    # Equal: exit 0, though the provenance lines differ.
    ims compare a.json a2.json >out || fail "equal files: exit $?"
    grep -Eq '^configuration: equal \([0-9]+ values\)$' out && grep -Eq '^metrics: equal \([0-9]+ values\)$' out ||
        fail "equal files: $(cat out)"
    # A configuration difference and the metrics it moves: exit 1.
    rc=0
    ims compare a.json b.json >out || rc=$?
    [ $rc = 1 ] || fail "different files: exit $rc"
    grep -Eq '^  effective_config\.iotlb\.ways +[0-9]+ +1$' out || fail "no iotlb.ways row: $(cat out)"
    grep -Eq '^  overrides\[0\] +\(absent\) +iotlb\.ways=1$' out || fail "no overrides row"
    h1=$(grep -o '"iotlb": {"lookups": [0-9]*, "hits": [0-9]*' a.json | grep -o '[0-9]*$')
    h2=$(grep -o '"iotlb": {"lookups": [0-9]*, "hits": [0-9]*' b.json | grep -o '[0-9]*$')
    [ "$h1" != "$h2" ] || fail "iotlb.ways=1 left the IOTLB hits unchanged: no metric difference to see"
    d=$((h2 - h1))
    pct=$(awk -v a="$h1" -v b="$h2" 'BEGIN { printf "%+.2f%%", 100 * (b - a) / a }')
    grep -Eq "^  iotlb\.hits +$h1 +$h2 +\\+?$d +${pct//+/\\+}\$" out || fail "no iotlb.hits row ($h1 $h2 $d $pct): $(cat out)"
    # A metric difference alone (the same configuration, an edited result).
    sed 's/^  "translations": \([0-9]*\),/  "translations": 1\1,/' a.json >m.json
    rc=0
    ims compare a.json m.json >out || rc=$?
    [ $rc = 1 ] || fail "metric difference: exit $rc"
    grep -Eq '^configuration: equal' out || fail "metric difference: configuration not equal"
    grep -Eq '^metrics: 1 of [0-9]+ values differ$' out || fail "metric difference: $(cat out)"
    grep -Eq '^  translations +[0-9]+ +1[0-9]+ +\+[0-9]+ +\+[0-9.]+%$' out || fail "no translations row"
    # --tolerance: a 1% change passes at 2%, not at 0.5%.
    t=$(grep -o '"translations": [0-9]*,' a.json | head -n 1 | grep -o '[0-9]*')
    sed "0,/\"translations\": $t,/s//\"translations\": $((t + t / 100)),/" a.json >t.json
    ims compare --tolerance 2 a.json t.json >out || fail "within tolerance: exit $?"
    rc=0
    ims compare --tolerance 0.5 a.json t.json >out || rc=$?
    [ $rc = 1 ] || fail "beyond tolerance: exit $rc"
    # A key of the configuration that the results echo (walker.count) is
    # compared once, as configuration, not again as a metric.
    ims run --quiet --trace shipped/mixed.itr.zst --set walker.count=2 --json w.json
    rc=0
    ims compare a.json w.json >out || rc=$?
    [ $rc = 1 ] || fail "walker.count: exit $rc"
    grep -Eq '^  effective_config\.walker\.count +4 +2$' out || fail "no walker.count configuration row: $(cat out)"
    ! grep -Eq '^  walker\.count ' out || fail "walker.count listed as a metric: $(cat out)"
    # --all lists equal values too.
    [ "$(ims compare --all a.json a2.json | grep -c '^  ')" -gt 100 ] || fail "--all lists few values"
    ;;
utf8)
    # A trace name that is not UTF-8 (0xff; an overlong '/'; a surrogate) next to
    # one that is: the JSON stays UTF-8, so that compare and --config-from read it.
    name=$(printf 'x\xc3\xa9\xe2\x82\xac\xff\xc0\xaf\xed\xa0\x80.itr.zst')
    cp shipped/net.itr.zst "$name"
    ims run --quiet --trace "$name" --json a.json
    grep -qF '"trace": "x'$(printf '\xc3\xa9\xe2\x82\xac')'\u00ff\u00c0\u00af\u00ed\u00a0\u0080.itr.zst",' a.json ||
        fail "trace name: $(grep -m1 '"trace"' a.json)"
    ims compare a.json a.json >out || fail "compare of a non-UTF-8 name: exit $?: $(cat out)"
    ;;
explain)
    # Every JSON key documented in docs/stats.md has an --explain line, and
    # the other way round; every leaf of a real run's JSON is explained.
    ims run --explain >explain.txt
    cut -d' ' -f1 explain.txt | sort >explained
    [ "$(sort -u explained | wc -l)" = "$(wc -l <explained)" ] || fail "a term is explained twice"
    # The keys column of docs/stats.md's JSON table: `a.{b, c}` and `x[].{y}`
    # expand (bash brace expansion of each backquoted word, spaces removed).
    sed -n '/^## JSON keys/,/^## /p' "$src/docs/stats.md" | grep '^| `' | cut -d'|' -f2 |
        grep -o '`[^`]*`' | tr -d '` ' >doc_words
    : >documented
    while read -r w; do
        [[ $w =~ ^[][a-z0-9_.{},\<\>]+$ ]] || fail "docs/stats.md: odd key '$w'"
        eval "printf '%s\n' $(sed 's/[<>]/\\&/g' <<<"$w")" >>documented
    done <doc_words
    sort -o documented documented
    diff explained documented >d.out || fail "--explain and docs/stats.md differ (< explain, > docs): $(cat d.out)"
    ims run --quiet --trace shipped/mixed-lazy-fault.itr.zst --set iotlb.ways=2 --json a.json
    # Leaves, as compare --all lists them (provenance is not compared: added by hand).
    ims compare --all a.json a.json | sed -n '/^  key /d; s/^  \([^ ]*\).*/\1/p' |
        sed 's/\[[0-9]*\]/[]/g; s/^effective_config\..*/effective_config.<key>/; s/^fault_reasons\..*/fault_reasons.<reason>/' |
        sort -u >leaves
    grep -q '^fault_reasons.<reason>$' leaves || fail "the run has no fault reasons: pick another trace"
    # (An empty array is one leaf, X: explained as X[]...)
    comm -23 leaves explained | while read -r l; do grep -qF "$l[]" explained || echo "$l"; done >unexplained
    [ ! -s unexplained ] || fail "JSON keys without an explanation: $(cat unexplained)"
    for k in $(grep '^provenance\.' explained | sed 's/\[\]$//; s/^provenance\.//'); do
        grep -q "\"$k\": " a.json || fail "explained provenance.$k is not in the JSON"
    done
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo ok
