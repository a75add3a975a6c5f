#!/usr/bin/env bash
# Scalable mode from the command line: `trace gen svm` (and --nested) is
# deterministic per seed and replays with every DMA checked and none
# disagreeing; `run --json` on it has the scalable-mode keys with values
# that check (pasid_cache hits + misses = lookups; walks by PGTT as the
# mode says; reads by stage sum to ptw_reads); the nested walk of
# data/sm/nested1.itt has exactly the reads its tables give (4 first-level,
# 5 second-level walks of 3 = 15; its comment says why); a legacy run's JSON
# has none of the keys.
# Usage: cli_svm.sh IOMMUSIM SCRATCH_DIR DATA_DIR
set -eu
bin=$1 d=$2 data=$3
mkdir -p "$d"
fail() { echo "FAIL: $*"; exit 1; }
# A JSON number: json FILE OBJECT KEY (KEY inside the first "OBJECT": {...}).
json() { grep -o "\"$2\": {[^}]*}" "$1" | head -1 | grep -o "\"$3\": [0-9.]*" | sed 's/.*: //'; }
for mode in flat nested; do
    opt=; [ $mode = nested ] && opt=--nested
    "$bin" trace gen svm --count 6000 --seed 7 --processes 3 $opt "$d/$mode.itr.zst" >/dev/null
    "$bin" trace gen svm --count 6000 --seed 7 --processes 3 $opt "$d/$mode-again.itr.zst" >/dev/null
    cmp -s "$d/$mode.itr.zst" "$d/$mode-again.itr.zst" || fail "$mode: the same seed gave different files"
    out=$("$bin" trace validate "$d/$mode.itr.zst") || fail "$mode: validate: $out"
    [[ $out == *"valid: "*", 6000 dma (6000 requests, 6000 checked), 0 problems"* ]] || fail "$mode: validate: $out"
    "$bin" run --quiet --trace "$d/$mode.itr.zst" --json "$d/$mode.json" >/dev/null || fail "$mode: run exited $?"
    j=$d/$mode.json
    [ "$(grep -o '"mismatches": [0-9]*' "$j" | head -1)" = '"mismatches": 0' ] || fail "$mode: mismatches"
    l=$(json "$j" pasid_cache lookups) h=$(json "$j" pasid_cache hits) m=$(json "$j" pasid_cache misses)
    [ -n "$l" ] && [ "$l" -gt 0 ] || fail "$mode: no pasid_cache lookups"
    [ $((h + m)) = "$l" ] || fail "$mode: pasid_cache hits $h + misses $m != lookups $l"
    fl=$(json "$j" scalable first_level_reads) nsl=$(json "$j" scalable nested_second_level_reads)
    sl=$(json "$j" scalable second_level_reads) wf=$(json "$j" scalable walks_first_level)
    wn=$(json "$j" scalable walks_nested) pr=$(grep -o '"ptw_reads": [0-9]*' "$j" | sed 's/.*: //')
    [ "$fl" -gt 0 ] || fail "$mode: no first-level reads"
    [ $((fl + nsl + sl)) = "$pr" ] || fail "$mode: reads by stage $fl + $nsl + $sl != ptw_reads $pr"
    if [ $mode = nested ]; then
        [ "$wf" = 0 ] && [ "$wn" -gt 0 ] && [ "$nsl" -gt 0 ] || fail "nested: walks fl $wf, nested $wn, nested reads $nsl"
    else
        [ "$wn" = 0 ] && [ "$wf" -gt 0 ] && [ "$nsl" = 0 ] || fail "flat: walks fl $wf, nested $wn, nested reads $nsl"
    fi
    [ "$(json "$j" scalable inv_piotlb)" -gt 0 ] || fail "$mode: no PASID-based IOTLB invalidations (munmap)"
    # They are timed, as legacy invalidations are: each one is in the timing
    # model's invalidation count (the trace has no legacy ones).
    [ "$(json "$j" invalidations iotlb)" = "$(json "$j" scalable inv_piotlb)" ] ||
        fail "$mode: $(json "$j" invalidations iotlb) timed IOTLB invalidations, $(json "$j" scalable inv_piotlb) PASID-based commands"
done
# Exact reads of one nested walk.
"$bin" run --quiet --trace "$data/nested1.itt" --json "$d/n1.json" >/dev/null || fail "nested1: run exited $?"
for kv in first_level_reads=4 nested_second_level_reads=15 second_level_reads=0 pasid_dir_reads=1 \
          pasid_entry_reads=1 walks_nested=1 ad_writes=1; do
    v=$(json "$d/n1.json" scalable "${kv%=*}")
    [ "$v" = "${kv#*=}" ] || fail "nested1: ${kv%=*} is $v, expected ${kv#*=}"
done
[ "$(grep -o '"ptw_reads": [0-9]*' "$d/n1.json")" = '"ptw_reads": 19' ] || fail "nested1: ptw_reads"
# Legacy: none of the keys.
"$bin" trace gen nic --count 500 "$d/nic.itr" >/dev/null
"$bin" run --quiet --trace "$d/nic.itr" --json "$d/nic.json" >/dev/null
! grep -q '"pasid_cache"\|"scalable"' "$d/nic.json" || fail "legacy run has scalable-mode keys"
echo ok
