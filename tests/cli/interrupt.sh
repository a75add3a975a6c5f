#!/bin/bash
# An interrupted long write leaves no temporary file, and the exit status
# says the process died of the signal (128 + its number).
# usage: interrupt.sh BIN DIR SIGNAL gen|run
#   gen: `trace gen` of a trace far too long to finish, interrupted once its
#        temporary file exists;
#   run: `run --json` over a long generated trace, interrupted during the run
#        (the JSON's temporary file is created before the run starts).
# $IMS_TEST_WRAPPER prefixes the binary, as in expect.sh.
set -u
bin=$1 dir=$2 sig=$3 what=$4
fail() {
    echo "FAILED: $*"
    [ -f "$dir/out" ] && { echo "---- output ----"; cat "$dir/out"; }
    exit 1
}
num=$(kill -l "$sig") || fail "unknown signal $sig"
rm -rf "$dir" && mkdir -p "$dir" || fail "cannot make $dir"
# Job control: a background job of a script would otherwise ignore SIGINT.
set -m
case $what in
gen)
    out=$dir/big.itr.zst
    # shellcheck disable=SC2086
    ${IMS_TEST_WRAPPER:-} "$bin" trace gen random --count 1000000000000 --seed 1 "$out" >"$dir/out" 2>&1 &
    ;;
run)
    "$bin" trace gen nic --count 2000000 --seed 1 "$dir/long.itr.zst" >/dev/null || fail "gen"
    out=$dir/r.json
    # shellcheck disable=SC2086
    ${IMS_TEST_WRAPPER:-} "$bin" run --quiet --trace "$dir/long.itr.zst" --json "$out" >"$dir/out" 2>&1 &
    ;;
*) fail "unknown case $what" ;;
esac
pid=$!
base=${out##*/}
found=
for _ in $(seq 300); do
    if compgen -G "$out.tmp.*" >/dev/null; then found=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
[ -n "$found" ] || { kill -KILL "$pid" 2>/dev/null; fail "no $base.tmp.* appeared while it ran"; }
sleep 0.1 # inside the long write
kill "-$sig" "$pid" || fail "kill -$sig"
for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    fail "still running 10 s after SIG$sig"
fi
wait "$pid"
rc=$?
[ "$rc" -eq $((128 + num)) ] || fail "exit status $rc, expected $((128 + num)) (killed by SIG$sig)"
left=$(compgen -G "$out.tmp.*")
[ -z "$left" ] || fail "left behind: $left"
[ ! -e "$out" ] || fail "$out exists: an interrupted write must leave nothing"
echo "ok: SIG$sig: exit $rc, no $base.tmp.* and no $base left"
