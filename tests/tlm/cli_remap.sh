# The points are the runs above: their IOTLB hit rates (column 10) differ.
r0=$(grep '^0000,nvme-strict,default,none,ok,' "$d/sweep/results.csv" | cut -d, -f10)
r1=$(grep '^0001,nvme-strict,default,lifo,ok,' "$d/sweep/results.csv" | cut -d, -f10)
[ -n "$r0" ] && [ -n "$r1" ] && [ "$r0" != "$r1" ] || fail "sweep: rows $(cat "$d/sweep/results.csv")"#!/usr/bin/env bash
# player.iova_remap (docs/config.md, "IOVA remap"):
# - on data/remap.itt each strategy sends its own IOVA to the IOMMU (the
#   deliberately wrong last DMA's "first mismatch" names it) and the other
#   DMAs agree with the recording;
# - shipped legacy recordings replay under every strategy with every DMA
#   checked and 0 mismatches, and the IOTLB sees other IOVAs (lifo changes
#   nvme-strict's IOTLB counts);
# - none gives the JSON of a run without the key, byte for byte (less the
#   provenance and overrides lines, which hold the command line);
# - sweep varies it like any key (a column of results.csv).
# Usage: cli_remap.sh IOMMUSIM DATA_DIR TRACES_DIR SCRATCH_DIR
set -u
bin=$1 data=$2 traces=$3 d=$4
rm -rf "$d"
mkdir -p "$d"
fail() { echo "FAIL: $*"; exit 1; }

want_iova() {  # strategy, the IOVA the last DMA of remap.itt must reach the IOMMU with
    out=$("$bin" run --trace "$data/remap.itt" --set player.iova_remap="$1" 2>&1)
    rc=$?
    [ $rc = 1 ] || fail "$1: exit $rc (want 1: one deliberate mismatch): $out"
    grep -q '^checked against the recording 5, mismatches 1$' <<<"$out" || fail "$1: $out"
    grep -q "^  first mismatch: record 12: iova $2 -> 0x80002040, recorded 0x90000040$" <<<"$out" ||
        fail "$1: want iova $2: $(grep 'first mismatch' <<<"$out")"
}
want_iova none 0x12040
want_iova top-down 0x4ffffd040
want_iova lifo 0x4ffffe040
want_iova pool 0x4fffff040
want_iova ring 0x400012040
# One unmap for two one-page maps: ring keeps them side by side, so it
# replays (the other strategies refuse it: bad-inputs/run_remap_split_unmap).
split="$data/../../bad-inputs/files/run_remap_split_unmap.itt"
"$bin" run --quiet --trace "$split" --set player.iova_remap=ring --json "$d/split.json" || fail "split unmap, ring: exit $?"
grep -q '^  "mismatches": 0,' "$d/split.json" || fail "split unmap, ring: mismatches"

num() { grep -o "\"$2\": [0-9]*" "$1" | head -1 | grep -o '[0-9]*$'; }
for t in nvme-strict nvme-strict-cm nvme-lazy mixed mixed-lazy-fault; do
    "$bin" run --quiet --trace "$traces/$t.itr.zst" --json "$d/$t.plain.json" || fail "$t: plain run"
    "$bin" run --quiet --trace "$traces/$t.itr.zst" --set player.iova_remap=none --json "$d/$t.none.json" ||
        fail "$t: none"
    sed -i '/^  "provenance": /d; /^  "overrides": /d' "$d/$t.plain.json" "$d/$t.none.json"
    cmp -s "$d/$t.plain.json" "$d/$t.none.json" || fail "$t: player.iova_remap=none changed the JSON"
    checked=$(num "$d/$t.plain.json" checked)
    [ "$checked" -gt 0 ] || fail "$t: nothing checked"
    for s in lifo top-down ring pool; do
        j="$d/$t.$s.json"
        "$bin" run --quiet --trace "$traces/$t.itr.zst" --set player.iova_remap=$s --json "$j" || fail "$t $s: exit $?"
        [ "$(num "$j" mismatches)" = 0 ] || fail "$t $s: $(num "$j" mismatches) mismatches"
        [ "$(num "$j" checked)" = "$checked" ] || fail "$t $s: checked $(num "$j" checked), want $checked"
        grep -q '"player.iova_remap": "'$s'",' "$j" || fail "$t $s: effective_config"
    done
done
a=$(grep '^  "iotlb": ' "$d/nvme-strict.plain.json") b=$(grep '^  "iotlb": ' "$d/nvme-strict.lifo.json")
[ -n "$a" ] && [ "$a" != "$b" ] || fail "nvme-strict: lifo left the IOTLB counts as recorded: $b"

"$bin" sweep --quiet --trace "$traces/nvme-strict.itr.zst" --vary player.iova_remap=none,lifo --jobs 1 --out "$d/sweep" ||
    fail "sweep: exit $?"
head -1 "$d/sweep/results.csv" | grep -q '^point,trace,config,player.iova_remap,status,' || fail "sweep: header $(head -1 "$d/sweep/results.csv")"
# The two points are the runs above: their IOTLB hit rates (column 10) differ.
r0=$(grep '^0000,nvme-strict,default,none,ok,' "$d/sweep/results.csv" | cut -d, -f10)
r1=$(grep '^0001,nvme-strict,default,lifo,ok,' "$d/sweep/results.csv" | cut -d, -f10)
[ -n "$r0" ] && [ -n "$r1" ] && [ "$r0" != "$r1" ] || fail "sweep: rows $(cut -d, -f1-10 "$d/sweep/results.csv")"
echo ok
