#!/usr/bin/env bash
# Page requests (docs/stats.md "pri"): on data/pri-count.itt the PRI device's
# faulted translation request counts one page request; without `pre` on the
# attach, or without an ATC, the JSON has no "pri" object.
# Usage: cli_pri.sh IOMMUSIM TRACE SCRATCH_DIR
set -eu
bin=$1 trace=$2 d=$3
mkdir -p "$d"
fail() { echo "FAIL: $*"; exit 1; }
"$bin" run --quiet --trace "$trace" --set atc.entries=16 --json "$d/pri.json" || true
grep -q '^  "pri": {"page_requests": 1},' "$d/pri.json" || fail "pri: $(grep '"pri"' "$d/pri.json" || echo none)"
grep -q '"translation_faults": 1,' "$d/pri.json" || fail "translation_faults"
sed 's/ dte pre$/ dte/' "$trace" >"$d/nopre.itt"
"$bin" run --quiet --trace "$d/nopre.itt" --set atc.entries=16 --json "$d/nopre.json" || true
if grep -q '"pri"' "$d/nopre.json"; then fail "pri object without pre"; fi
grep -q '"translation_faults": 1,' "$d/nopre.json" || fail "nopre translation_faults"
"$bin" run --quiet --trace "$trace" --json "$d/none.json" || true
if grep -q '"pri"' "$d/none.json"; then fail "pri object without an ATC"; fi
echo ok
