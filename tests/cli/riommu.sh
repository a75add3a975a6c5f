#!/usr/bin/env bash
# rIOMMU rings (riommu.rings; docs/config.md "rIOMMU rings") end to end:
# counts on a small hand-made trace (rIOTLB hits and misses, flat-table
# reads, a slot fault, elided invalidations, no radix walk for the ring);
# player.pipeline on and off give the same JSON with rings on; without the
# key (or with none) the JSON is the default's and has no "riommu" object.
# Run by tests/cli/CMakeLists.txt through expect.sh (which provides `ims`).
# Usage: riommu.sh CASE SCRATCH; prints "ok" when the case holds.
set -euo pipefail
case=$1 tmp=$2
. "$(dirname "$0")/case_lib.sh" "$case" "$tmp"
strip() { sed -e '/^  "provenance": /d' -e '/^  "overrides": /d' -e "${2:-/^\$/d}" "$1"; }
rings='riommu.rings=1:0x10000:4:0x1000'

# Ring 0: slots 0..3 at 0x10000..0x13000. Slot 0 and 1 mapped, slot 2 not;
# 0x40000 is an ordinary mapping. Expected, in order: slot 0 miss (+ read
# ahead slot 1), slot 0 hit, slot 1 hit (+ read ahead slot 2, unmapped),
# slot 2 miss and read fault (reason 6), 0x40000 through the IOTLB (a walk),
# slot 1 hit; the unmap of slot 0 and its page invalidation: elided;
# slot 0 again: a miss, and a write fault (unmapped). So 3 hits, 3 misses,
# 5 flat reads (2 ahead, slots 1 and 2: a faulting miss reads nothing
# ahead), 2 faults, 1 invalidation elided, 3 slot writes (2 maps, 1 unmap).
cat >t.itt <<'T'
version 1
device d0 bdf=01:00.0 bridge=-
attach rid=01:00.0 did=1 levels=4 tt=0
map did=1 iova=0x10000 pa=0x100000 size=0x1000 perm=rw
map did=1 iova=0x11000 pa=0x200000 size=0x1000 perm=rw
map did=1 iova=0x40000 pa=0x300000 size=0x1000 perm=rw
dma t=10 rid=01:00.0 iova=0x10010 size=16 r expect=0x100010
dma t=20 rid=01:00.0 iova=0x10020 size=16 w expect=0x100020
dma t=30 rid=01:00.0 iova=0x11000 size=64 r expect=0x200000
dma t=40 rid=01:00.0 iova=0x12000 size=64 r fault=6
dma t=50 rid=01:00.0 iova=0x40008 size=8 r expect=0x300008
dma t=60 rid=01:00.0 iova=0x11040 size=8 w expect=0x200040
unmap t=70 did=1 iova=0x10000 size=0x1000
inv-iotlb t=70 page did=1 addr=0x10000 am=0
inv-iotlb t=70 page did=1 addr=0x40000 am=0
dma t=80 rid=01:00.0 iova=0x10000 size=8 w fault=5
T

case $case in
counts)
    ims trace validate t.itt >/dev/null || fail "the trace does not validate without rings"
    for p in 0 1; do
        ims run --quiet --trace t.itt --set "$rings" --set player.pipeline=$p --json p$p.json
        grep -qxF '  "riommu": {"rings": 1, "hits": 3, "misses": 3, "hit_rate": 0.500000, "table_reads": 5, "prefetches": 2, "faults": 2, "inv_elided": 1, "slot_writes": 3},' p$p.json ||
            fail "pipeline $p: $(grep '"riommu"' p$p.json)"
        grep -qx '  "mismatches": 0,' p$p.json || fail "pipeline $p: mismatches"
        grep -q '"invalidations": {"iotlb": 1,' p$p.json || fail "pipeline $p: $(grep '"invalidations"' p$p.json)"
        grep -qx '  "walks": 1,' p$p.json || fail "pipeline $p: only 0x40000 walks: $(grep '^  "walks"' p$p.json)"
        grep -q '"fault_reasons": {"0x5": 1, "0x6": 1}' p$p.json || fail "pipeline $p: $(grep fault_reasons p$p.json)"
    done
    ;;
pipeline)
    # A generated NIC trace whose rx and tx buffers sit in two rings
    # (--iova-alloc ring, 256 slots each, downwards from 0xffbff000).
    ims trace gen nic --iova-alloc ring --count 9000 --seed 2 nic.itr >/dev/null
    r='riommu.rings=1:0xffbff000:256:0x1000:down,1:0xffaff000:256:0x1000:down'
    n=0
    for extra in "player.warmup=2500" "iotlb.prefetch=distance" "player.time_scale=1000"; do
        n=$((n + 1))
        ims run --quiet --trace nic.itr --set "$r" --set "$extra" --set player.pipeline=0 --json off$n.json 2>/dev/null
        ims run --quiet --trace nic.itr --set "$r" --set "$extra" --set player.pipeline=1 --json on$n.json 2>/dev/null
        cmp -s <(strip off$n.json '/"player.pipeline": /d') <(strip on$n.json '/"player.pipeline": /d') ||
            fail "$extra: the JSON differs: $(diff <(strip off$n.json) <(strip on$n.json) | head -n 6)"
        grep -q '"riommu": {"rings": 2, "hits": [1-9]' on$n.json || fail "$extra: $(grep '"riommu"' on$n.json)"
        grep -qx '  "mismatches": 0,' on$n.json || fail "$extra: mismatches"
    done
    ;;
off)
    ims run --quiet --trace t.itt --json a.json
    ims run --quiet --trace t.itt --set riommu.rings=none --json b.json
    cmp -s <(strip a.json) <(strip b.json) || fail "riommu.rings=none differs from the default"
    ! grep -q '"riommu":' a.json || fail "a \"riommu\" object without rings"
    grep -q '"riommu.rings": "none",' a.json || fail "effective_config lacks riommu.rings"
    grep -q '"invalidations": {"iotlb": 2,' a.json || fail "without rings nothing is elided"
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo ok
