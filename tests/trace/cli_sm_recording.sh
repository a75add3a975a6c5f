#!/usr/bin/env bash
# The shipped scalable-mode recording (traces/nvme-strict-sm.itr.zst, recorded
# with record.sh --scalable-mode on): its raw QEMU log (traces/raw/) converts
# to the shipped trace record for record, header included; the trace is a
# scalable-mode one; `trace validate` finds 0 problems with every DMA record
# checked; and, with the timing model, `run` replays it in scalable mode (PASID
# directory and entry reads, second-level walks) with 0 mismatches and
# every DMA record checked (in a core-only build validate is that check).
# Usage: cli_sm_recording.sh IOMMUSIM TRACES_DIR SCRATCH_DIR
set -eu
bin=$1 traces=$2 d=$3
name=nvme-strict-sm
shipped=$traces/$name.itr.zst raw=$traces/raw/$name.log.zst
mkdir -p "$d"
[ -f "$shipped" ] || { echo "missing $shipped"; exit 1; }
[ -f "$raw" ] || { echo "missing $raw"; exit 1; }
zstd -q -dc "$raw" >"$d/$name.log"
# The shipped trace names its recording command; convert with the same source.
src=$("$bin" trace info "$shipped" | sed -n 's/^source: //p')
case "$src" in *"--scalable-mode on"*) ;; *) echo "source does not name --scalable-mode on: '$src'"; exit 1 ;; esac
"$bin" trace convert --from qemu-vtd --source "$src" "$d/$name.log" "$d/$name.itr.zst" >/dev/null
"$bin" trace convert "$shipped" "$d/shipped.itt" >/dev/null
"$bin" trace convert "$d/$name.itr.zst" "$d/converted.itt" >/dev/null
grep -q '^mode scalable$' "$d/converted.itt" || { echo "not a scalable-mode trace"; exit 1; }
cmp -s "$d/shipped.itt" "$d/converted.itt" || {
    echo "conversion differs from the shipped trace:"
    diff "$d/shipped.itt" "$d/converted.itt" | head -20
    exit 1
}
dma=$(grep -c '^dma ' "$d/converted.itt" || true)
[ "$dma" -gt 1000 ] || { echo "only $dma dma records"; exit 1; }
"$bin" trace validate --quiet "$shipped" | grep -q ': valid: .* 0 problems' || {
    echo "validate:"; "$bin" trace validate --quiet "$shipped" | tail -5; exit 1; }
if "$bin" run --help >/dev/null 2>&1; then
    "$bin" run --quiet --trace "$shipped" --json "$d/$name.json"
    grep -q '^  "mismatches": 0,$' "$d/$name.json" || { echo "mismatches:"; grep mismatch "$d/$name.json"; exit 1; }
    grep -q "^  \"dma_records\": $dma,\$" "$d/$name.json" || { echo "dma_records is not $dma"; exit 1; }
    grep -q "^  \"checked\": $dma,\$" "$d/$name.json" || { echo "not every dma checked"; exit 1; }
    # Replayed in scalable mode: the RID_PASID entry is read through the PASID
    # directory, and the walks are second-level ones.
    grep -Eq '^  "scalable": \{"pasid_dir_reads": [1-9][0-9]*, "pasid_entry_reads": [1-9]' "$d/$name.json" &&
        grep -Eq '"walks_second_level": [1-9]' "$d/$name.json" || {
        echo "not replayed in scalable mode:"; grep '"scalable"' "$d/$name.json"; exit 1; }
fi
echo "ok $dma dma records"
