#!/usr/bin/env bash
# run --read-ahead (zstd on a thread of its own; docs/performance.md, "zstd
# read-ahead") end to end: on and off give the same JSON (but the
# provenance, which records the command and wall time), and on a damaged
# .itr.zst the same exit status and message, and no JSON.
# Run by tests/cli/CMakeLists.txt through expect.sh (which provides `ims`).
# Usage: read_ahead.sh CASE SCRATCH SHIPPED_TRACES_DIR; prints "ok" when the case holds.
set -euo pipefail
case=$1 tmp=$2 shipped=$3
. "$(dirname "$0")/case_lib.sh" "$case" "$tmp"

case $case in
same)
    # A shipped recording (4 MB decompressed: the thread fills several
    # chunks) and a generated trace, with the core ahead of the timing and
    # on the simulation thread.
    ims trace gen nic --count 60000 --seed 3 nic.itr.zst >/dev/null
    n=0
    for args in "$shipped/large/net-bulk-strict.itr.zst" "nic.itr.zst" "nic.itr.zst --set player.pipeline=0"; do
        n=$((n + 1))
        for m in off on; do
            # shellcheck disable=SC2086 # args holds the trace and options
            ims run --quiet --read-ahead $m --trace $args --json "$m$n.json" 2>/dev/null ||
                fail "$args: --read-ahead $m: exit $?"
            sed '/^  "provenance": /d' "$m$n.json" >"$m$n.cmp"
        done
        cmp -s "off$n.cmp" "on$n.cmp" || fail "$args: the JSON differs: $(diff "off$n.cmp" "on$n.cmp" | head -n 6)"
        grep -q '"translations": [1-9]' "on$n.json" || fail "$args: no translations"
        grep -q '"read_ahead": true}' "on$n.json" || fail "$args: --read-ahead on: no thread ran"
        grep -q '"read_ahead": false}' "off$n.json" || fail "$args: --read-ahead off: a thread ran"
    done
    # A plain .itr has nothing to decompress: no thread, whatever is asked.
    ims trace convert nic.itr.zst nic.itr >/dev/null
    ims run --quiet --read-ahead on --trace nic.itr --json plain.json 2>/dev/null || fail "nic.itr: exit $?"
    grep -q '"read_ahead": false}' plain.json || fail "nic.itr: a thread ran"
    ;;
damaged)
    # Cut short and bit-flipped at 60 % of the compressed bytes: each gives
    # exit 2, the same message both ways, and no JSON.
    ims trace gen nic --count 60000 --seed 3 nic.itr.zst >/dev/null
    size=$(stat -c %s nic.itr.zst)
    at=$((size * 6 / 10))
    head -c "$at" nic.itr.zst >cut.itr.zst
    cp nic.itr.zst flip.itr.zst
    byte=$(od -An -tu1 -j "$at" -N1 nic.itr.zst | tr -d ' ')
    printf "$(printf '\\%03o' $((byte ^ 16)))" | dd of=flip.itr.zst bs=1 seek="$at" conv=notrunc status=none
    cmp -s nic.itr.zst flip.itr.zst && fail "flip.itr.zst: no byte changed"
    for t in cut flip; do
        for m in off on; do
            set +e
            ims run --quiet --read-ahead $m --trace $t.itr.zst --json "$t-$m.json" >/dev/null 2>"$t-$m.err"
            rc=$?
            set -e
            [ "$rc" = 2 ] || fail "$t, --read-ahead $m: exit $rc: $(head -n 3 "$t-$m.err")"
            [ ! -e "$t-$m.json" ] || fail "$t, --read-ahead $m: a JSON was written"
        done
        grep -q "$t.itr.zst" "$t-on.err" || fail "$t: the message names no file: $(cat "$t-on.err")"
        cmp -s "$t-off.err" "$t-on.err" || fail "$t: messages differ: $(cat "$t-off.err") / $(cat "$t-on.err")"
    done
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo ok
