#!/usr/bin/env bash
# IOTLB prefetch (iotlb.prefetch) end to end: bad names and degrees are
# usage errors naming the key; with none the JSON's iotlb_prefetch is all
# zero; every policy replays a generated NIC trace with no mismatch (a
# prefetched entry is the tables' translation), the counters' identities
# hold, and a prefetching policy changes the IOTLB misses. Run by
# tests/cli/CMakeLists.txt through expect.sh (which provides `ims`).
# Usage: prefetch.sh CASE SCRATCH; prints "ok" when the case holds.
set -euo pipefail
case=$1 tmp=$2
. "$(dirname "$0")/case_lib.sh" "$case" "$tmp"

case $case in
badname)
    ims trace gen nic --count 200 --seed 1 t.itr >/dev/null
    set +e
    ims run --quiet --trace t.itr --set iotlb.prefetch=next_page >out 2>err
    rc=$?
    set -e
    [ "$rc" = 2 ] || fail "exit $rc for an unknown policy"
    grep -qF "iotlb.prefetch: unknown prefetch policy 'next_page' (known: none, next-page, stride, ring, markov, distance, recency)" err ||
        fail "message: $(cat err)"
    for d in 0 17 x; do
        set +e
        ims run --quiet --trace t.itr --set iotlb.prefetch=stride --set iotlb.prefetch_degree=$d >out 2>err
        rc=$?
        set -e
        [ "$rc" = 2 ] || fail "exit $rc for degree $d"
        grep -q "iotlb.prefetch_degree" err || fail "degree $d: $(cat err)"
    done
    ;;
none)
    ims trace gen nic --count 2000 --seed 1 t.itr >/dev/null
    ims run --quiet --trace t.itr --json a.json
    grep -qx '  "iotlb_prefetch": {"candidates": 0, "cached": 0, "issued": 0, "filled": 0, "unmapped": 0, "useful": 0, "useless": 0, "reads": 0},' a.json ||
        fail "none: $(grep iotlb_prefetch a.json)"
    grep -q '"iotlb.prefetch": "none",' a.json || fail "effective_config lacks iotlb.prefetch"
    ims run --quiet --trace t.itr --set iotlb.prefetch=none --json b.json
    cmp <(sed '/^  "provenance": /d; /^  "overrides": /d' a.json) <(sed '/^  "provenance": /d; /^  "overrides": /d' b.json) ||
        fail "iotlb.prefetch=none differs from the default"
    ;;
policies)
    ims trace gen nic --count 20000 --seed 1 t.itr >/dev/null
    ims run --quiet --trace t.itr --json none.json
    base=$(jnum none.json iotlb misses)
    changed=0
    for p in next-page stride ring markov distance recency; do
        ims run --quiet --trace t.itr --set iotlb.prefetch=$p --set iotlb.prefetch_degree=4 --json $p.json
        grep -qx '  "mismatches": 0,' $p.json || fail "$p: mismatches"
        c=$(jnum $p.json iotlb_prefetch candidates) k=$(jnum $p.json iotlb_prefetch cached)
        i=$(jnum $p.json iotlb_prefetch issued) f=$(jnum $p.json iotlb_prefetch filled)
        u=$(jnum $p.json iotlb_prefetch unmapped) r=$(jnum $p.json iotlb_prefetch reads)
        [ $((k + i)) = "$c" ] || fail "$p: cached $k + issued $i != candidates $c"
        [ $((f + u)) = "$i" ] || fail "$p: filled $f + unmapped $u != issued $i"
        [ "$r" -ge "$i" ] || fail "$p: $r reads for $i walks"
        m=$(jnum $p.json iotlb misses)
        [ "$m" != "$base" ] && changed=$((changed + 1))
        # The text report names the policy and its counts.
        ims run --trace t.itr --set iotlb.prefetch=$p --set iotlb.prefetch_degree=4 >text
        grep -q "^IOTLB prefetch $p: $c candidates ($k already cached), $i walks, $f filled" text ||
            fail "$p text: $(grep 'IOTLB prefetch' text)"
    done
    # next-page on a NIC's multi-page buffers must cut misses.
    [ "$(jnum next-page.json iotlb misses)" -lt "$base" ] || fail "next-page did not cut misses ($base)"
    [ "$changed" -ge 4 ] || fail "only $changed policies changed the misses"
    ;;
buffer)
    # iotlb.prefetch_buffer: bad sizes are usage errors naming the key; 0
    # and a buffer without a policy are the default's results, with no
    # iotlb_prefetch_buffer object; on the fresh-IOVA NIC at 64 entries,
    # where next-page's prefetches are evicted unused from the IOTLB, a
    # buffer of 256 turns them into hits, without a mismatch.
    ims trace gen nic --count 20000 --seed 1 --recycle off t.itr >/dev/null
    for b in 4097 x -1; do
        set +e
        ims run --quiet --trace t.itr --set iotlb.prefetch=next-page --set iotlb.prefetch_buffer=$b >out 2>err
        rc=$?
        set -e
        [ "$rc" = 2 ] || fail "exit $rc for buffer $b"
        grep -q "iotlb.prefetch_buffer" err || fail "buffer $b: $(cat err)"
    done
    grep -q "iotlb.prefetch_buffer: 4097 is out of range \[0, 4096\]" <(ims run --quiet --trace t.itr \
        --set iotlb.prefetch_buffer=4097 2>&1) || fail "range message"
    strip() { sed '/^  "provenance": /d; /^  "overrides": /d' "$1"; }
    ims run --quiet --trace t.itr --set iotlb.entries=64 --set iotlb.prefetch=next-page --set iotlb.prefetch_degree=4 --json p.json
    ims run --quiet --trace t.itr --set iotlb.entries=64 --set iotlb.prefetch=next-page --set iotlb.prefetch_degree=4 \
        --set iotlb.prefetch_buffer=0 --json p0.json
    cmp <(strip p.json) <(strip p0.json) || fail "iotlb.prefetch_buffer=0 differs from the default"
    ims run --quiet --trace t.itr --set iotlb.entries=64 --json n.json
    ims run --quiet --trace t.itr --set iotlb.entries=64 --set iotlb.prefetch_buffer=256 --json n256.json
    cmp <(strip n.json | grep -v '"iotlb.prefetch_buffer": ') <(strip n256.json | grep -v '"iotlb.prefetch_buffer": ') ||
        fail "a buffer without a policy changed the results"
    ! grep -q '"iotlb_prefetch_buffer"' p.json n256.json || fail "an iotlb_prefetch_buffer object without a buffer"
    ims run --quiet --trace t.itr --set iotlb.entries=64 --set iotlb.prefetch=next-page --set iotlb.prefetch_degree=4 \
        --set iotlb.prefetch_buffer=256 --json b.json
    grep -qx '  "mismatches": 0,' b.json || fail "buffer: mismatches"
    h=$(jnum b.json iotlb_prefetch_buffer hits)
    [ "$(jnum b.json iotlb_prefetch_buffer entries)" = 256 ] || fail "entries: $(grep iotlb_prefetch_buffer b.json)"
    [ "$h" = "$(jnum b.json iotlb_prefetch useful)" ] || fail "buffer hits $h != useful"
    [ "$h" -gt 0 ] || fail "no buffer hits"
    [ "$(jnum b.json iotlb misses)" -lt "$(jnum p.json iotlb misses)" ] || fail "the buffer did not cut misses"
    ims run --trace t.itr --set iotlb.entries=64 --set iotlb.prefetch=next-page --set iotlb.prefetch_degree=4 \
        --set iotlb.prefetch_buffer=256 >text
    grep -q "^IOTLB prefetch buffer of 256 entries: $h hits" text || fail "text: $(grep 'prefetch buffer' text)"
    ;;
onmap)
    # iotlb.prefetch_on_map: off is the default's results (no
    # iotlb_prefetch_on_map object); on, every replayed map is a hint, the
    # NIC's DMAs hit what the hints inserted (fewer misses, no mismatch),
    # with a buffer too; a bad value is a usage error naming the key.
    ims trace gen nic --count 20000 --seed 1 t.itr >/dev/null
    set +e
    ims run --quiet --trace t.itr --set iotlb.prefetch_on_map=maybe >out 2>err
    rc=$?
    set -e
    [ "$rc" = 2 ] || fail "exit $rc for a bad value"
    grep -q "iotlb.prefetch_on_map" err || fail "message: $(cat err)"
    strip() { sed '/^  "provenance": /d; /^  "overrides": /d' "$1"; }
    ims run --quiet --trace t.itr --json off.json
    ims run --quiet --trace t.itr --set iotlb.prefetch_on_map=off --json off2.json
    cmp <(strip off.json) <(strip off2.json) || fail "iotlb.prefetch_on_map=off differs from the default"
    ! grep -q '"iotlb_prefetch_on_map"' off.json || fail "an iotlb_prefetch_on_map object when off"
    for b in 0 64; do
        ims run --quiet --trace t.itr --set iotlb.prefetch_on_map=on --set iotlb.prefetch_buffer=$b --json on$b.json
        grep -qx '  "mismatches": 0,' on$b.json || fail "on, buffer $b: mismatches"
        h=$(jnum on$b.json iotlb_prefetch_on_map hints) d=$(jnum on$b.json iotlb_prefetch_on_map dropped)
        i=$(jnum on$b.json iotlb_prefetch_on_map issued)
        [ "$h" -gt 0 ] && [ "$d" -lt "$h" ] && [ "$i" -gt 0 ] || fail "on, buffer $b: hints $h dropped $d issued $i"
        [ "$i" -le "$(jnum on$b.json iotlb_prefetch issued)" ] || fail "map walks not in issued"
        [ "$(jnum on$b.json iotlb misses)" -lt "$(jnum off.json iotlb misses)" ] || fail "on, buffer $b: no fewer misses"
        # The hints' walks are timed (docs/timing.md, "IOTLB prefetch"): their
        # reads go through the memory model, and a tx DMA right after its
        # buffer's map waits for the hint's leaf read (merged into that fill).
        a=$(jnum on$b.json memory accesses) r=$(jnum on$b.json iotlb_prefetch reads)
        [ "$a" -ge "$r" ] || fail "on, buffer $b: memory.accesses $a < hint reads $r"
        [ "$(jnum on$b.json iotlb merged)" -gt 0 ] || fail "on, buffer $b: no DMA waited for a hint's walk"
    done
    [ "$(jnum on64.json iotlb_prefetch_buffer hits)" -gt 0 ] || fail "no buffer hits with a buffer"
    ims run --trace t.itr --set iotlb.prefetch_on_map=on >text
    grep -q "^IOTLB prefetch at map time: $(jnum on0.json iotlb_prefetch_on_map hints) map hints" text ||
        fail "text: $(grep 'map time' text)"
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo ok
