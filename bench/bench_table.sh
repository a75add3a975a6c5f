#!/usr/bin/env bash
# The shipped recordings (traces/*.itr.zst) under the shipped configurations
# (configs/*.cfg): one run each, a markdown table of the results and plots of
# them (iommusim plot --runs: IOTLB hit rate against IOTLB size, a line per
# recording; walks per 1,000 translations against walkers; every run's
# latency CDF). Under a few seconds for the shipped set.
# Writes BUILD_DIR/bench/results.md, BUILD_DIR/bench/runs/TRACE.CONFIG.json
# and BUILD_DIR/bench/plots/ (not committed: translations/s is wall time on
# this machine). Prints the table.
# Usage: bench/bench_table.sh [BUILD_DIR]
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
bin=$build/iommusim
out=$build/bench
mkdir -p "$out/runs"
export IMS_DATA_DIR=$here

# A number from the run's JSON: a top-level key, or a field of a one-line object.
jtop() { sed -n "s/^  \"$2\": \([0-9.]*\),\$/\1/p" "$1"; }
jobj() { grep -E "^ *\"$2\": \{" "$1" | head -1 | sed -n "s/.*\"$3\": \([0-9.]*\).*/\1/p"; }

table=$out/results.md.tmp.$$
trap 'rm -f "$table"' EXIT
{
    echo "# iommusim: shipped recordings under the shipped configurations"
    echo
    echo "Made by \`make bench\` (bench/bench_table.sh) with $("$bin" version). translations/s is"
    echo "simulated translations (warm-up included) per second of wall time on the machine that ran it;"
    echo "the rest is deterministic. Latencies in cycles. Plots: plots/ (docs/tools.md, \"plot\")."
    echo
    echo "| trace | config | translations | translations/s | IOTLB hit rate | context-cache hit rate | PSC L2 hit rate | walks / 1k | latency p50 | latency p99 |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$table"
jsons=()
for t in "$here"/traces/*.itr.zst; do
    tn=$(basename "$t" .itr.zst)
    for c in "$here"/configs/*.cfg; do
        cn=$(basename "$c" .cfg)
        j=$out/runs/$tn.$cn.json
        # (warnings, e.g. open-loop overload, are the run's own business here)
        "$bin" run --quiet --trace "$t" --config "$c" --json "$j" 2>/dev/null || [ $? = 1 ]
        jsons+=("$j")
        sim=$(jtop "$j" requests_simulated)
        tr=$(jtop "$j" translations)
        wall=$(grep -o '"wall_seconds": [0-9.]*' "$j" | tail -1 | grep -o '[0-9.]*$')
        walks=$(jtop "$j" walks)
        awk -v t="$tn" -v c="$cn" -v tr="$tr" -v sim="$sim" -v w="$wall" -v walks="$walks" \
            -v ih="$(jobj "$j" iotlb hit_rate)" -v ch="$(jobj "$j" context_cache hit_rate)" \
            -v ph="$(jobj "$j" l2 hit_rate)" -v p50="$(jobj "$j" latency_cycles p50)" \
            -v p99="$(jobj "$j" latency_cycles p99)" 'BEGIN {
            printf "| %s | %s | %d | %s | %.4f | %.4f | %.4f | %.1f | %d | %d |\n", t, c, tr,
                   (w > 0 ? sprintf("%.0f", sim / w) : "-"), ih, ch, ph, (tr ? walks * 1000 / tr : 0), p50, p99 }' >>"$table"
    done
done
mv "$table" "$out/results.md"
cat "$out/results.md"
echo
"$bin" plot --runs --series trace --out "$out/plots" "${jsons[@]}" >/dev/null
echo "bench_table: $out/results.md, plots in $out/plots/"
