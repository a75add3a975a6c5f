#!/usr/bin/env bash
# player.time_scale (docs/timing.md, "The trace player"): open loop, the
# recorded timestamps are divided by the scale. A trace whose DMAs (each a
# first touch: a walk of four table reads) come 2 us apart leaves the IOMMU
# idle at scale 1 (no walk waits for a walker); at scale 1000 they come 2 ns
# apart and queue. Checked: the first DMA's issue cycle and the DMA span
# scale; walks wait only at the large scale; scale 1 given explicitly gives
# the same result as the default; bad values are refused naming the key.
# Usage: cli_time_scale.sh IOMMUSIM SCRATCH_DIR
set -eu
bin=$1 d=$2
mkdir -p "$d"
t=$d/ts.itt
{
    echo "version 1"
    echo "device nic0 bdf=03:00.0 bridge=-"
    echo "attach rid=03:00.0 did=1 levels=4 tt=0"
    for i in $(seq 0 199); do
        printf 'map did=1 iova=0x%x pa=0x%x size=0x1000 perm=rw\n' $((0x100000 + i * 0x200000)) $((0x4000000 + i * 0x1000))
    done
    for i in $(seq 0 199); do
        printf 'dma t=%d rid=03:00.0 iova=0x%x size=64 r\n' $((10000 + i * 2000)) $((0x100000 + i * 0x200000))
    done
} >"$t"
# A JSON number field: json KEY FILE (the first "KEY": N in the file).
json() { grep -o "\"$1\": *[0-9.e+-]*" "$2" | head -1 | sed 's/.*: *//'; }
run() { "$bin" run --quiet --trace "$t" --json "$d/$1.json" "${@:2}" >/dev/null; }
run s0
run s1 --set player.time_scale=1
run s1000 --set player.time_scale=1000
fail() { echo "FAIL: $*"; exit 1; }
# Scale 1: the recorded times, as without the key (the same JSON but for
# provenance and the overrides list).
strip() { sed -e '/"provenance"/d' -e '/"overrides"/,/\]/d' "$1"; }
[ "$(strip "$d/s0.json")" = "$(strip "$d/s1.json")" ] || fail "player.time_scale=1 differs from the default"
f0=$(json first_dma_cycle "$d/s0.json") f3=$(json first_dma_cycle "$d/s1000.json")
[ "$f0" = 10000 ] || fail "scale 1: first DMA issued at cycle $f0, expected 10000 (10 us at 1 GHz)"
[ "$f3" = 10 ] || fail "scale 1000: first DMA issued at cycle $f3, expected 10"
q0=$(json queued "$d/s0.json") q3=$(json queued "$d/s1000.json")
[ "$q0" = 0 ] || fail "scale 1: $q0 walks waited for a walker (expected an idle IOMMU)"
[ "$q3" -gt 100 ] || fail "scale 1000: only $q3 walks waited for a walker (expected queueing)"
# Bad values: exit 2, naming the key.
for v in 0 -2 abc 1e7 nan; do
    if out=$("$bin" run --quiet --trace "$t" --set player.time_scale=$v 2>&1); then fail "player.time_scale=$v accepted"; fi
    rc=0; "$bin" run --quiet --trace "$t" --set player.time_scale=$v >/dev/null 2>&1 || rc=$?
    [ $rc = 2 ] || fail "player.time_scale=$v: exit $rc, expected 2"
    case $out in *player.time_scale*) ;; *) fail "player.time_scale=$v: message does not name the key: $out" ;; esac
done
echo ok
