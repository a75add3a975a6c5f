#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build (make fuzz; docs/fuzzing.md).
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
# Each target runs SECONDS seconds from its seeds (tests/fuzz/<target>/) plus
# the corpus it grew before (BUILD_DIR/corpus/<target>/), with its
# dictionary if there is one. Inputs that crash, leak, time out (a unit
# slower than 25 s) or run out of memory (2 GB) are kept in
# BUILD_DIR/artifacts/<target>/, the output in BUILD_DIR/logs/<target>.log.
# Prints one line per target (runs, coverage, crashes); exit 1 if any target
# found something, 2 on a usage error.
set -uo pipefail
src=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 2 ] || ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -eq 0 ]; then
    echo "usage: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]" >&2
    exit 2
fi
build=$1 secs=$2
shift 2
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_trace_bin fuzz_trace_zst fuzz_trace_text fuzz_qemu_vtd fuzz_simcfg)

failed=0
printf '%-16s %10s %8s %8s %8s  %s\n' target runs cov ft crashes artifacts
for t in "${targets[@]}"; do
    bin=$build/tests/fuzz/$t
    if [ ! -x "$bin" ]; then
        echo "run.sh: $bin: not built (configure with -DIMS_FUZZ=ON)" >&2
        exit 2
    fi
    corpus=$build/corpus/$t art=$build/artifacts/$t log=$build/logs/$t.log
    mkdir -p "$corpus" "$art" "$build/logs"
    dict=()
    [ -f "$src/$t.dict" ] && dict=(-dict="$src/$t.dict")
    before=$(find "$art" -type f | wc -l)
    "$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$art/" "${dict[@]}" "$corpus" "$src/$t" >"$log" 2>&1
    rc=$?
    after=$(find "$art" -type f | wc -l)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    new=$((after - before))
    printf '%-16s %10s %8s %8s %8s  %s\n' "$t" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$new" "$art"
    if [ "$rc" -ne 0 ] || [ "$new" -ne 0 ]; then
        failed=1
        echo "run.sh: $t: exit $rc; see $log" >&2
        grep -m5 -E 'ERROR|runtime error|contract broken|Test unit written' "$log" >&2
    fi
done
exit $failed
