#!/usr/bin/env bash
# player.pipeline (the functional core on the reader's thread, ahead of the
# timing; docs/performance.md) end to end: with it on and off, a run gives
# the same JSON (but the key itself, the overrides and the provenance), the
# same error message for a refused record, and the same mismatch report.
# Run by tests/cli/CMakeLists.txt through expect.sh (which provides `ims`).
# Usage: pipeline.sh CASE SCRATCH SHIPPED_TRACES_DIR; prints "ok" when the case holds.
set -euo pipefail
case=$1 tmp=$2 shipped=$3
. "$(dirname "$0")/case_lib.sh" "$case" "$tmp"

# same TRACE [--set k=v ...]: both runs succeed, their JSON agree, and the
# run did translate something (a trace that replays nothing proves nothing).
same() {
    local t=$1
    shift
    n_done=$((${n_done:-0} + 1))
    local n=$n_done
    ims run --quiet --trace "$t" "$@" --set player.pipeline=0 --json "off$n.json" 2>/dev/null ||
        fail "$t $*: pipeline off: exit $?"
    ims run --quiet --trace "$t" "$@" --set player.pipeline=1 --json "on$n.json" 2>/dev/null ||
        fail "$t $*: pipeline on: exit $?"
    for f in off on; do
        sed -e '/^  "provenance": /d' -e '/^  "overrides": /d' -e '/"player.pipeline": /d' "$f$n.json" >"$f$n.cmp"
    done
    cmp -s "off$n.cmp" "on$n.cmp" || fail "$t $*: the JSON differs: $(diff "off$n.cmp" "on$n.cmp" | head -n 6)"
    grep -q '"translations": [1-9]' "on$n.json" || fail "$t $*: no translations"
    }

case $case in
same)
    # Every shipped recording (faults, lazy and strict unmaps, several
    # devices, a scalable-mode one, which keeps the core on the simulation
    # thread), under two configurations.
    for t in "$shipped"/*.itr.zst; do
        same "$t"
        same "$t" --config server
    done
    # Generated traces across batches (4,096 records each): warm-up by
    # mark and by count, prefetch (its log crosses the threads), a time
    # scale that makes walks overlap, and a random trace.
    ims trace gen nic --count 6000 --seed 2 nic.itr >/dev/null
    ims trace gen multi --count 6000 --seed 2 multi.itr >/dev/null
    ims trace gen random --count 3000 --seed 2 random.itr >/dev/null
    same nic.itr
    same nic.itr --set player.warmup=2500
    same nic.itr --set iotlb.prefetch=distance --set iotlb.prefetch_degree=4
    # Map-time hints: their walks cross the threads with their MAP records.
    same nic.itr --set iotlb.prefetch_on_map=on
    same nic.itr --set iotlb.prefetch_on_map=on --set iotlb.prefetch=next-page --set iotlb.prefetch_degree=2 \
        --set iotlb.prefetch_buffer=64
    same nic.itr --set player.time_scale=1000 --set walker.count=1
    same multi.itr --config small
    # 1 MiB DMA records (256 parts each): a batch's answers fill up and the
    # rest of its records go to the next batch.
    ims trace gen gpu --count 300 --chunk 1m --seed 2 --footprint 1g gpu.itr >/dev/null
    same gpu.itr --set player.warmup=100

    # 1,500 faults after the mappings: the fault queue fills unless the
    # drain the stage makes as software would (fault.drain_every) empties it.
    ims trace gen nic --count 3000 --seed 2 faults.itt >/dev/null
    last=$(grep '^dma ' faults.itt | tail -n 1 | awk '{ print $2 }' | cut -d= -f2)
    for i in $(seq 1 1500); do
        printf 'dma t=%d rid=03:00.0 iova=0x%x size=64 r fault=0x6\n' $((last + i * 1000)) $((0x10000000 + i * 4096))
    done >>faults.itt
    same faults.itt
    grep -q '"fault_queue": {"records": 1500, "dropped": 0' "on$n_done.json" ||
        fail "faults.itt: $(grep '"fault_queue"' "on$n_done.json")"

    same random.itr --set player.warmup=1
    [ "$n_done" -ge 22 ] || fail "only $n_done runs compared"
    ;;
refused)
    # A map over a mapping after a few batches: the same message, exit 2,
    # no JSON, whichever thread replays it.
    ims trace gen nic --count 6000 --seed 2 nic.itt >/dev/null
    awk 'NR == 9000 { print "map did=1 iova=0xffe00000 pa=0x1000 size=0x1000 perm=rw" } { print }' nic.itt >bad.itt
    for p in 0 1; do
        set +e
        ims run --quiet --trace bad.itt --set player.pipeline=$p --json out$p.json >out$p 2>err$p
        rc=$?
        set -e
        [ "$rc" = 2 ] || fail "pipeline $p: exit $rc"
        [ ! -e out$p.json ] || fail "pipeline $p: a JSON was written"
    done
    grep -q "bad.itt: record [0-9]* (map): .*already mapped" err1 || fail "message: $(cat err1)"
    cmp -s err0 err1 || fail "messages differ: $(cat err0) / $(cat err1)"
    ;;
mismatch)
    # A DMA record whose recorded address is wrong, after a few batches:
    # the same mismatch count and first-mismatch report both ways.
    ims trace gen nic --count 6000 --seed 2 nic.itt >/dev/null
    awk '/^dma / && ++d == 3000 { sub(/expect=0x[0-9a-f]*/, "expect=0x7000") } { print }' nic.itt >bad.itt
    grep -q "expect=0x7000" bad.itt || fail "no record changed"
    for p in 0 1; do
        set +e
        ims run --trace bad.itt --set player.pipeline=$p --json out$p.json >out$p 2>err$p
        rc=$?
        set -e
        echo "$rc" >rc$p
        grep -i "mismatch" out$p err$p | sed 's/^[^:]*://' >mm$p || true
    done
    cmp -s rc0 rc1 || fail "exit $(cat rc0) off, $(cat rc1) on"
    grep -q "0x7000" mm1 || fail "no mismatch reported: $(cat out1 err1 | head -n 20)"
    cmp -s mm0 mm1 || fail "reports differ: $(diff mm0 mm1 | head -n 6)"
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo ok
