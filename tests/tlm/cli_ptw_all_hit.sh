#!/usr/bin/env bash
# With mem.ptw_cache_hit=1 every table read hits the cache on the way: the
# JSON's memory.cache_hits equals memory.accesses (and both are non-zero).
# Usage: cli_ptw_all_hit.sh IOMMUSIM TRACE SCRATCH_DIR
set -eu
bin=$1 trace=$2 d=$3
mkdir -p "$d"
"$bin" run --quiet --trace "$trace" --set mem.ptw_cache_hit=1 --json "$d/ptw-all-hit.json"
line=$(grep '"memory":' "$d/ptw-all-hit.json")
acc=$(sed -n 's/.*"accesses": \([0-9]*\).*/\1/p' <<<"$line")
hits=$(sed -n 's/.*"cache_hits": \([0-9]*\).*/\1/p' <<<"$line")
if [ -z "$acc" ] || [ "$acc" -eq 0 ] || [ "$acc" != "$hits" ]; then
    echo "memory: accesses '$acc', cache_hits '$hits': expected equal and non-zero ($line)"
    exit 1
fi
echo "ok: $acc accesses, $hits hits"
