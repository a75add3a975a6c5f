#!/bin/bash
# usage: cli_large_recordings.sh TRACES_DIR OUT_DIR (run by tests/cli/expect.sh)
# The large recordings (traces/large/, 100k DMAs and more each; traces/README.md,
# "Large recordings") are left out of the tests that loop over traces/*.itr.zst
# (golden JSON, cosim, miss classes: several replays each, too slow under
# ASan). This test replays each one once: with the timing model, `run` (0
# mismatches, and every DMA record checked against its recorded translation);
# in a core-only build, `trace validate` (the same check, functional model).
set -eu
dir=$1 out=$2
mkdir -p "$out"
n=0
for t in "$dir"/large/*.itr.zst; do
    [ -e "$t" ] || { echo "no traces in $dir/large"; exit 1; }
    name=$(basename "$t" .itr.zst)
    if ims run --help >/dev/null 2>&1; then
        ims run --quiet --trace "$t" --json "$out/$name.json"
        grep -q '^  "mismatches": 0,$' "$out/$name.json" || { echo "$name: mismatches"; exit 1; }
        dma=$(sed -n 's/^  "dma_records": \([0-9]*\),$/\1/p' "$out/$name.json")
        [ "${dma:-0}" -gt 0 ] || { echo "$name: no dma records"; exit 1; }
        grep -q "^  \"checked\": $dma,\$" "$out/$name.json" || { echo "$name: not every dma checked"; exit 1; }
    else
        ims trace validate --quiet "$t" | grep -q ': valid: .* 0 problems' || { echo "$name: validate failed"; exit 1; }
    fi
    echo "replayed $name"
    n=$((n + 1))
done
echo "ok $n large recordings"
