#!/usr/bin/env bash
# Reproducible results: the inputs a run's JSON records, latencies in ns and
# `--explain`. Run by tests/cli/CMakeLists.txt
# through expect.sh (which provides `ims`, the binary under test).
# Usage: repro.sh CASE SCRATCH SOURCE_DIR; prints "ok" when the case holds.
set -euo pipefail
case=$1 tmp=$2 src=$3
rm -rf "${tmp:?}/$case"
mkdir -p "$tmp/$case"
cd "$tmp/$case"
ln -s "$src/traces" shipped
fail() { echo "FAIL: $*"; exit 1; }
# The JSON less its provenance line (what scripts/results.sh compares).
strip() { sed '/^  "provenance": /d' "$1"; }
# A number from the JSON: jnum FILE OBJECT KEY (KEY inside the one-line OBJECT).
jnum() { grep "^  \"$2\": " "$1" | grep -o "\"$3\": [-0-9.e+]*" | head -n 1 | sed 's/.*: //'; }

case $case in
digest)
    # The digest is the SHA-256 of the trace file's bytes.
    ims trace gen nic --count 300 --seed 1 t.itr >/dev/null
    ims run --quiet --trace t.itr --json a.json
    grep -Eq '"digest": "sha256:[0-9a-f]{64}"' a.json || fail "no SHA-256 digest"
    [ "$(jnum a.json trace_info file_bytes)" = "$(stat -c %s t.itr)" ] || fail "file_bytes is not the file's size"
    want=$(sha256sum t.itr | cut -d' ' -f1)
    grep -q "\"digest\": \"sha256:$want\"" a.json || fail "digest is not the SHA-256 of the file's bytes"
    ;;
header)
    # The text report names the configuration and every override.
    ims run --trace shipped/net.itr.zst --config small --set ' iotlb.ways = 2' --set seed=3 >out.txt
    grep -q '^iommusim run: shipped/net.itr.zst  (config small, 1000 MHz)$' out.txt || fail "header"
    grep -q '^overrides (--set): iotlb.ways=2, seed=3$' out.txt || fail "overrides not in the header"
    ims run --trace shipped/net.itr.zst >out.txt
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
explain)
    # Every JSON key documented in docs/stats.md has an --explain line, and
    # the other way round.
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
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo ok
