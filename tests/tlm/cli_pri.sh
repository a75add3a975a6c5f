#!/usr/bin/env bash
# Page requests (PCIe PRI) in `iommusim run` (docs/vtd.md "Page requests",
# docs/timing.md, docs/stats.md "pri"), on data/pri-retry.itt and traces made
# from it here:
# - hold and retry: 0 mismatches open loop, closed loop, with an ATC;
# - the latency: pgresp at t=0, so the retry issues at Q + pri.response_latency:
#   raising it by 100000 raises every retried part's latency by exactly that;
# - resp invalid / failure: the held parts fault (mismatches, exit 1);
# - a pgresp for no outstanding group, and a group without its pgresp at the
#   end of the trace: errors naming the record, exit 2;
# - queue overflow (pri.queue_entries 128, 200 groups outstanding);
# - without `pre` no "pri" object (the JSON of other traces is unchanged).
# Usage: cli_pri.sh IOMMUSIM TRACE SCRATCH_DIR
set -eu
bin=$1 trace=$2 d=$3
mkdir -p "$d"
fail() { echo "FAIL: $*"; exit 1; }
# key VALUE of JSON file $1's "pri" object: e.g. pri "$f" retries
pri() { grep '^  "pri": ' "$1" | grep -o "\"$2\": [0-9.]*" | head -1 | sed 's/.*: //'; }
run() { # expected-exit json args...
    local want=$1 json=$2 rc=0
    shift 2
    "$bin" run --quiet --trace "$@" --json "$json" >"$json.out" 2>&1 || rc=$?
    [ "$rc" = "$want" ] || fail "exit $rc, wanted $want: $* ($(cat "$json.out"))"
}

for mode in "player.mode=open" "player.mode=closed" "atc.entries=16" "player.mode=closed --set atc.entries=16"; do
    # shellcheck disable=SC2086
    run 0 "$d/ok.json" "$trace" --set $mode
    grep -q '^  "mismatches": 0,' "$d/ok.json" || fail "$mode: mismatches"
    [ "$(pri "$d/ok.json" page_requests)" = 3 ] || fail "$mode: page_requests"
    [ "$(pri "$d/ok.json" groups)" = 2 ] || fail "$mode: groups"
    [ "$(pri "$d/ok.json" queued)" = 3 ] || fail "$mode: queued"
    [ "$(pri "$d/ok.json" success)" = 2 ] || fail "$mode: success"
    [ "$(pri "$d/ok.json" retries)" = 3 ] || fail "$mode: retries"
    [ "$(pri "$d/ok.json" count)" = 3 ] || fail "$mode: latency count"
    grep -q '^  "translations": 5,' "$d/ok.json" || fail "$mode: translations"
done

# With atc.entries = 0 the device's ATC holds nothing, and the report says so:
# 5 parts and 3 retries looked up, every one a miss, nothing filled.
run 0 "$d/noatc.json" "$trace"
grep -q '^  "atc": {"devices": 1, "lookups": 8, "hits": 0, "misses": 8, "hit_rate": 0.000000, "translation_requests": 8,.* "fills": 0,' \
    "$d/noatc.json" || fail "atc.entries=0: $(grep '"atc"' "$d/noatc.json")"

# The latency rule R = max(now, Q + pri.response_latency, ts): with the
# pgresps at t=0 (and closed loop), R = Q + pri.response_latency exactly.
sed 's/^pgresp t=[0-9]*/pgresp t=0/' "$trace" >"$d/t0.itt"
for mode in open closed; do
    run 0 "$d/l0.json" "$d/t0.itt" --set player.mode=$mode
    run 0 "$d/l1.json" "$d/t0.itt" --set player.mode=$mode --set pri.response_latency=100000
    for k in max p50; do
        a=$(pri "$d/l0.json" $k) b=$(pri "$d/l1.json" $k)
        [ $((b - a)) = 100000 ] || fail "$mode: latency $k $a -> $b"
    done
done
# The player's time moves to R: the last dma (t=4000 ns) comes before a retry
# held 100000 cycles, so the open loop issues it late, at R (reordered).
grep -q '^  "reordered": 0,' "$d/l0.json" || fail "open loop: reordered without a long answer"
run 0 "$d/l1.json" "$d/t0.itt" --set player.mode=open --set pri.response_latency=100000
grep -q '^  "reordered": 1,' "$d/l1.json" || fail "open loop: time did not move to the retry ($(grep reordered "$d/l1.json"))"
# ... and in the open loop the pgresp's own time: later than Q, it decides.
run 0 "$d/ts.json" "$trace"
[ "$(pri "$d/ts.json" max)" -gt 3000 ] || fail "open loop: the pgresp at 3000 ns did not hold the retry"

for resp in invalid failure; do
    # (the OS does not map the pages: the untranslated accesses fault)
    sed -e "s/prg=0 resp=success/prg=0 resp=$resp/" -e '/^pmap pid=1 va=0x7f0000002000/d' -e '/^dma t=4000/d' "$trace" >"$d/$resp.itt"
    run 1 "$d/$resp.json" "$d/$resp.itt"
    grep -q '^  "mismatches": 2,' "$d/$resp.json" || fail "$resp: mismatches"
    [ "$(pri "$d/$resp.json" untranslated)" = 2 ] || fail "$resp: untranslated"
    [ "$(pri "$d/$resp.json" "$resp")" = 1 ] || fail "$resp: count"
    grep -q '"fault_reasons": {"0x71": 2}' "$d/$resp.json" || fail "$resp: faults"
done

# A pgresp for a group not outstanding (record 11), and the end of the trace
# with the group of record 5 (dma) outstanding.
{ cat "$trace"; echo "pgresp t=5000 rid=03:00.0 pasid=1 prg=9 resp=success"; } >"$d/nogroup.itt"
run 2 "$d/nogroup.json" "$d/nogroup.itt"
grep -q "nogroup.itt: record 11 (pgresp): pgresp: no page request group 9 outstanding for 03:00.0" \
    "$d/nogroup.json.out" || fail "nogroup: $(cat "$d/nogroup.json.out")"
grep -v '^pgresp t=3100' "$trace" >"$d/open.itt"
for mode in open closed; do
    run 2 "$d/open.json" "$d/open.itt" --set player.mode=$mode
    grep -q "open.itt: record 5 (dma): page request group 1 of 03:00.0 pasid 1 has no pgresp before the end of the trace" \
        "$d/open.json.out" || fail "end $mode: $(cat "$d/open.json.out")"
done

# Overflow: 200 records each with one unmapped page, pri.queue_entries 128
# (127 fit): the 128th overflows, 72 are dropped; the IOMMU answers those 73
# groups (Success), their parts retry once, still unmapped, and fault; the
# OS's 73 later answers are stale. After the OS drained the queue PRO is
# clear: the last record's page request is queued again.
{
    grep -v '^\(dma\|pmap\|pgresp\)' "$trace"
    for i in $(seq 0 199); do
        printf 'dma t=%d rid=03:00.0 iova=0x%x size=8 w pasid=1 expect=0x%x\n' $((10 + i)) $((0x100000 + i * 4096)) \
            $((0x2000000 + i * 4096))
    done
    echo "pmap pid=1 va=0x100000 pa=0x2000000 size=0xc8000 prot=rw"
    for i in $(seq 0 199); do echo "pgresp t=$((1000 + i)) rid=03:00.0 pasid=1 prg=$i resp=success"; done
    echo "dma t=5000 rid=03:00.0 iova=0x1000000 size=8 r pasid=1"
    echo "pmap pid=1 va=0x1000000 pa=0x3000000 size=0x1000 prot=rw"
    echo "pgresp t=6000 rid=03:00.0 pasid=1 prg=200 resp=success"
} >"$d/overflow.itt"
for mode in open closed; do
    run 1 "$d/ov.json" "$d/overflow.itt" --set pri.queue_entries=128 --set player.mode=$mode
    for kv in page_requests=201 queued=128 overflows=1 dropped=72 auto_responses=73 success=128 stale_responses=73 \
        retries=201 retry_no_access=73 queue_entries=128; do
        [ "$(pri "$d/ov.json" "${kv%=*}")" = "${kv#*=}" ] || fail "overflow $mode: ${kv%=*} $(pri "$d/ov.json" "${kv%=*}")"
    done
    grep -q '^  "mismatches": 73,' "$d/ov.json" || fail "overflow $mode: mismatches"
done

# Without pre: no page requests, no "pri" object.
sed -e 's/ dte pre$/ dte/' -e '/^pgresp/d' "$trace" >"$d/nopre.itt"
run 1 "$d/nopre.json" "$d/nopre.itt"
if grep -q '"pri"' "$d/nopre.json"; then fail "pri object without pre"; fi
echo ok
