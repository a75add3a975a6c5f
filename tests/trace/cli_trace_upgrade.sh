#!/usr/bin/env bash
# `trace convert` upgrades: a version 1 and a version 2 file become version 3
# (`trace info` says so) with the same records (their text forms are equal),
# and --format-version 2 turns it back into the version 2 bytes exactly.
# Usage: cli_trace_upgrade.sh IOMMUSIM SCRATCH_DIR V1_FILE V2_FILE
set -eu
bin=$1 d=$2 v1=$3 v2=$4
mkdir -p "$d"
fail() { echo "FAIL: $*"; exit 1; }
for src in "$v1" "$v2"; do
    n=$(basename "$src" .itr)
    "$bin" trace convert "$src" "$d/$n.v3.itr" >/dev/null
    "$bin" trace convert "$src" "$d/$n.v3.itr.zst" >/dev/null
    for f in "$d/$n.v3.itr" "$d/$n.v3.itr.zst"; do
        "$bin" trace info "$f" | grep -q "^form: .*, version 3$" || fail "$f: trace info does not say version 3"
        "$bin" trace convert "$f" "$d/out.itt" >/dev/null
        "$bin" trace convert "$src" "$d/in.itt" >/dev/null
        cmp -s "$d/in.itt" "$d/out.itt" || fail "$f: records differ from $src"
    done
done
"$bin" trace convert --format-version 2 "$d/$(basename "$v2" .itr).v3.itr" "$d/back.itr" >/dev/null
cmp -s "$v2" "$d/back.itr" || fail "version 3 -> --format-version 2 is not the version 2 file again"
echo ok
