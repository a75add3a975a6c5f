        # The provenance line (version, commit, command line, wall time) differs
        # between builds by design: dropped, so that results compare byte for byte.
        if [ -f "$base.$cn.json" ]; then sed -i '/^  "provenance": /d' "$base.$cn.json"; fi
#!/usr/bin/env bash
# Writes every result a refactor must keep byte-identical into OUT_DIR: the
# JSON of every shipped recording and of every generator kind under every
# shipped config, plus the generated traces themselves and `trace validate`'s
# output. Compare two such directories with `diff -r`.
# Usage: scripts/results.sh BIN OUT_DIR [GEN_COUNT]
set -euo pipefail
if [ $# -lt 2 ] || [ "${1:-}" = "--help" ]; then
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$1 out=$2 count=${3:-20000}
mkdir -p "$out"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
# Configs and shipped traces come from this checkout.
export IMS_DATA_DIR=$here
cd "$out"
# Relative paths, so that the JSON (which names its trace) compares equal
# between checkouts.
ln -sfn "$here/traces" shipped
# Every shipped recording, the large ones (traces/large/, traces/README.md) too:
# this is no test, and their JSON is what a model change must keep.
traces=()
for t in shipped/*.itr.zst shipped/large/*.itr.zst; do [ -e "$t" ] && traces+=("$t"); done
for kind in nic "nic --unmap deferred" nvme gpu random multi; do
    name=gen-$(echo "$kind" | tr -d ' -' | sed 's/unmap/-/')
    # shellcheck disable=SC2086
    "$bin" trace gen $kind --count "$count" --seed 3 "$name.itr" >/dev/null
    traces+=("$name.itr")
done
for t in "${traces[@]}"; do
    base=$(basename "$t"); base=${base%%.*}
    "$bin" trace validate "$t" >"$base.validate" 2>&1 || echo "exit $?" >>"$base.validate"
    for c in "$here"/configs/*.cfg; do
        cn=$(basename "$c" .cfg)
        "$bin" run --quiet --config "$cn" --trace "$t" --json "$base.$cn.json" 2>"$base.$cn.err" ||
            echo "exit $?" >>"$base.$cn.err"
        # The one provenance line (version, commit, command line, wall time)
        # differs between builds by design: dropped, so results compare byte
        # for byte between commits (docs/testing.md, "Golden files").
        if [ -f "$base.$cn.json" ]; then sed -i '/^  "provenance": /d' "$base.$cn.json"; fi
    done
done
echo "$(ls | wc -l) files in $out"
