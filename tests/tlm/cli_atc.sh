#!/usr/bin/env bash
# The device-side ATC (atc.entries > 0; docs/stats.md "atc"): on
# data/atc.itt every ATC counter is what the trace's comments say and every
# translation agrees with the recording; without atc.entries the JSON has no
# "atc" object.
# Usage: cli_atc.sh IOMMUSIM TRACE SCRATCH_DIR
set -eu
bin=$1 trace=$2 d=$3
mkdir -p "$d"
fail() { echo "FAIL: $*"; exit 1; }
"$bin" run --quiet --trace "$trace" --set atc.entries=16 --set atc.ways=4 --json "$d/atc.json"
line=$(grep '^  "atc": ' "$d/atc.json") || fail "no atc object"
want='"atc": {"devices": 1, "lookups": 8, "hits": 4, "misses": 4, "hit_rate": 0.500000, "translation_requests": 4, "no_access": 1, "translation_faults": 0, "translated_requests": 7, "fills": 3, "evictions": 0, "invalidations": 1, "invalidated": 1},'
[ "$line" = "  $want" ] || fail "got: $line
want:   $want"
grep -q '^  "mismatches": 0,' "$d/atc.json" || fail "mismatches"
grep -q '^  "faults": 1,' "$d/atc.json" || fail "faults"
grep -q '^  "expected_faults": 1,' "$d/atc.json" || fail "expected_faults"
# The same trace without an ATC: no atc object, the same translations.
"$bin" run --quiet --trace "$trace" --json "$d/none.json"
if grep -q '"atc"' "$d/none.json"; then fail "atc object without atc.entries"; fi
grep -q '^  "mismatches": 0,' "$d/none.json" || fail "mismatches without ATC"
# A one-entry ATC: 0x10000 and 0x11000 evict each other (hits: the second
# record, the first part of the third, the last).
"$bin" run --quiet --trace "$trace" --set atc.entries=1 --set atc.ways=1 --json "$d/one.json"
grep -q '"atc": {"devices": 1, "lookups": 8, "hits": 3, "misses": 5,' "$d/one.json" || fail "one entry: $(grep '"atc"' "$d/one.json")"
grep -q '"evictions": 3,' "$d/one.json" || fail "one entry evictions: $(grep '"atc"' "$d/one.json")"
# Scalable mode (data/atc-sm.itt next to TRACE): DTE gives the ATC; the
# trace's inv-pasid devtlb invalidates it, its inv-iotlb does not; a recorded
# translated request is no lookup.
sm=$(dirname "$trace")/atc-sm.itt
"$bin" run --quiet --trace "$sm" --set atc.entries=16 --json "$d/sm.json"
line=$(grep '^  "atc": ' "$d/sm.json") || fail "sm: no atc object"
want='"atc": {"devices": 1, "lookups": 5, "hits": 2, "misses": 3, "hit_rate": 0.400000, "translation_requests": 3, "no_access": 0, "translation_faults": 0, "translated_requests": 5, "fills": 3, "evictions": 0, "invalidations": 1, "invalidated": 1},'
[ "$line" = "  $want" ] || fail "sm: got: $line
want:   $want"
grep -q '^  "mismatches": 0,' "$d/sm.json" || fail "sm: mismatches"
echo ok
