#!/usr/bin/env bash
# Traces from standard input ("-") and from FIFOs (docs/trace-format.md,
# "Reading from a pipe"): every form read through a pipe gives what the
# file gives; `run --trace -` the file's JSON but for the trace's name and
# its digest and size (null: a stream is read once); errors name
# "(standard input)" and exit 2; sweep refuses "-".
# Run by tests/cli/CMakeLists.txt through expect.sh (which provides `ims`).
# Usage: stdin.sh CASE SCRATCH SHIPPED_TRACES_DIR; prints "ok" when the case holds.
set -euo pipefail
case=$1 tmp=$2 shipped=$3
. "$(dirname "$0")/case_lib.sh" "$case" "$tmp"
# The output of a command with the exit status appended, so that a pipe's
# failure is seen (set -e does not look inside $(...) pipelines' status here).
st() {
    set +e
    "$@" 2>&1
    echo "exit $?"
    set -e
}

case $case in
forms)
    # Text, binary version 2 and 3, zstd, and a text trace shorter than the
    # 512 bytes kept for the form's detection: `trace info` and `trace
    # validate` through a pipe print what they print for the file (but its
    # name).
    ims trace gen nic --count 3000 --seed 2 t.itr.zst >/dev/null
    ims trace convert t.itr.zst t.itt >/dev/null
    ims trace convert --format-version 2 t.itr.zst t2.itr >/dev/null
    ims trace convert t.itr.zst t3.itr >/dev/null
    { sed -n '1,6p' t.itt | grep -v '^source '; grep -m 1 '^dma ' t.itt; } >tiny.itt
    [ "$(stat -c %s tiny.itt)" -lt 512 ] || fail "tiny.itt: $(stat -c %s tiny.itt) bytes, not under 512"
    for f in t.itr.zst t.itt t2.itr t3.itr tiny.itt; do
        st ims trace info "$f" | sed "s|^file: $f\$|file: (standard input)|" >"$f.file"
        cat "$f" | st ims trace info - >"$f.pipe"
        grep -q '^exit 0$' "$f.pipe" || fail "$f: trace info -: $(tail -n 3 "$f.pipe")"
        cmp -s "$f.file" "$f.pipe" || fail "$f: trace info differs: $(diff "$f.file" "$f.pipe" | head -n 6)"
        st ims trace validate "$f" | sed "s|^$f: |(standard input): |" >"$f.vfile"
        cat "$f" | st ims trace validate - >"$f.vpipe"
        grep -q '^exit 0$' "$f.vpipe" || fail "$f: trace validate -: $(tail -n 3 "$f.vpipe")"
        cmp -s "$f.vfile" "$f.vpipe" || fail "$f: trace validate differs: $(diff "$f.vfile" "$f.vpipe" | head -n 6)"
    done
    # The first bytes arriving in pieces (a slow writer): the kept prefix
    # fills over several reads.
    for f in t.itr.zst t.itt; do
        { head -c 3 "$f"; sleep 0.2; head -c 600 "$f" | tail -c +4; sleep 0.2; tail -c +601 "$f"; } |
            st ims trace info - >"$f.slow"
        cmp -s "$f.file" "$f.slow" || fail "$f in pieces: trace info differs: $(diff "$f.file" "$f.slow" | head -n 6)"
    done
    # A FIFO named as the file.
    mkfifo ff
    timeout 60 cat t.itr.zst >ff &
    ims trace info ff | sed 1d >fifo.out
    wait
    sed 1d t.itr.zst.file | sed '$d' >file.out
    cmp -s file.out fifo.out || fail "FIFO: trace info differs: $(diff file.out fifo.out | head -n 6)"
    ;;
convert)
    # IN "-": the same records as from the file, in every direction, and
    # stdin to stdout; a QEMU log through a pipe converts to the records of
    # the decompressed log (the header's source names the input).
    ims trace gen nic --count 3000 --seed 2 t.itr.zst >/dev/null
    ims trace convert t.itr.zst t.itt >/dev/null
    cat t.itr.zst | ims trace convert - p.itt >/dev/null
    cmp -s t.itt p.itt || fail "convert - p.itt: records differ"
    cat t.itt | ims trace convert - - 2>/dev/null >pp.itt
    cmp -s t.itt pp.itt || fail "convert - -: records differ"
    cat t.itt | ims trace convert - back.itr.zst >/dev/null
    ims trace convert back.itr.zst back.itt >/dev/null
    cmp -s t.itt back.itt || fail "text through a pipe to zstd: records differ"
    zstd -qdc "$shipped/raw/nvme-strict.log.zst" >nvme.log
    ims trace convert --from qemu-vtd nvme.log q-file.itt >/dev/null
    zstd -qdc "$shipped/raw/nvme-strict.log.zst" | ims trace convert --from qemu-vtd - q-pipe.itt >q.out
    grep -q '^converted (standard input) -> q-pipe.itt$' q.out || fail "qemu-vtd from -: $(head -n 2 q.out)"
    diff <(grep -v '^source ' q-file.itt) <(grep -v '^source ' q-pipe.itt) >/dev/null ||
        fail "qemu-vtd from -: records differ"
    grep -q '^source QEMU VT-d trace-event log (standard input)$' q-pipe.itt ||
        fail "qemu-vtd from -: source line: $(grep '^source ' q-pipe.itt)"
    ;;
run)
    # run --trace - : the JSON of the file but for "trace", the provenance
    # (the command) and trace_info's digest and size, both null; with
    # --json - the JSON alone on stdout. A file named "-" is neither read
    # nor digested.
    ims trace gen nic --count 20000 --seed 2 t.itr.zst >/dev/null
    ims run --quiet --trace t.itr.zst --json file.json
    printf 'not a trace\n' >-
    cat t.itr.zst | ims run --quiet --trace - --json pipe.json
    grep -q '^  "trace": "-",$' pipe.json || fail "trace: $(grep '^  "trace"' pipe.json)"
    grep -q '"trace_info": {"digest": null, "file_bytes": null, "form": "zstd"' pipe.json ||
        fail "trace_info: $(grep -o '"trace_info": {[^}]*' pipe.json)"
    grep -q '"trace_info": {"digest": "sha256:[0-9a-f]\{64\}", "file_bytes": [1-9]' file.json ||
        fail "the file's trace_info: $(grep -o '"trace_info": {[^}]*' file.json)"
    strip() { sed -e '/^  "trace": /d' -e '/^  "provenance": /d' \
        -e 's/"trace_info": {"digest": [^,]*, "file_bytes": [^,]*,/"trace_info": {/' "$1"; }
    diff <(strip file.json) <(strip pipe.json) >/dev/null || fail "the JSON differs: $(diff <(strip file.json) <(strip pipe.json) | head -n 6)"
    grep -q '"mismatches": 0,' pipe.json || fail "mismatches"
    cat t.itr.zst | ims run --trace - --json - >stdout.json 2>stdout.err
    diff <(strip file.json) <(strip stdout.json) >/dev/null || fail "--json -: the JSON differs"
    # A FIFO: no digest either.
    mkfifo ff
    timeout 120 cat t.itr.zst >ff &
    ims run --quiet --trace ff --json fifo.json
    wait
    diff <(strip file.json) <(strip fifo.json) >/dev/null || fail "FIFO: the JSON differs"
    grep -q '"digest": null, "file_bytes": null' fifo.json || fail "FIFO: a digest"
    ;;
errors)
    # Bad input through a pipe: exit 2, the message names standard input
    # (as it names the file), no JSON.
    ims trace gen nic --count 60000 --seed 3 t.itr.zst >/dev/null
    head -c "$(($(stat -c %s t.itr.zst) / 2))" t.itr.zst >cut.itr.zst
    st ims run --quiet --trace cut.itr.zst --json a.json >cut.file
    cat cut.itr.zst | st ims run --quiet --trace - --json b.json >cut.pipe
    [ ! -e b.json ] || fail "cut: a JSON was written"
    grep -q '^exit 2$' cut.pipe || fail "cut: $(cat cut.pipe)"
    sed 's|cut.itr.zst|(standard input)|' cut.file | cmp -s - cut.pipe ||
        fail "cut: messages differ: $(cat cut.file) / $(cat cut.pipe)"
    out=$(st ims trace info - </dev/null)
    [ "$out" = "iommusim trace info: (standard input): empty file (not a trace)
exit 2" ] || fail "empty stdin: $out"
    out=$(printf 'garbage\n' | st ims run --quiet --trace -)
    echo "$out" | grep -q "^iommusim run: (standard input):1: expected 'version 1' as the first line" ||
        fail "text garbage: $out"
    echo "$out" | grep -q '^exit 2$' || fail "text garbage: $out"
    out=$(printf 'IMSTRACE\001' | st ims trace validate -)
    echo "$out" | grep -q '^iommusim trace validate: (standard input): ' || fail "binary stub: $out"
    echo "$out" | grep -q '^exit 2$' || fail "binary stub: $out"
    # A terminal as standard input is refused, not waited on. script(1)
    # hands its command to $SHELL, which may be dash: dash drops the
    # exported function `ims` from the environment, so the command line is
    # spelled out (the wrapper is a command line to split, as in expect.sh).
    # shellcheck disable=SC2086
    cmd=$(printf '%q ' ${IMS_TEST_WRAPPER:-} "$IMS_BIN" trace info -)
    out=$(SHELL=/bin/sh script -qec "$cmd" /dev/null </dev/null | tr -d '\r' || true)
    echo "$out" | grep -q '^iommusim trace info: (standard input): is a terminal (pipe or redirect a trace into it)$' ||
        fail "terminal: $out"
    out=$(st ims sweep --trace - --vary iotlb.entries=16,32 --out sw)
    echo "$out" | grep -q '^iommusim sweep: --trace -: standard input cannot be swept' || fail "sweep: $out"
    echo "$out" | grep -q '^exit 2$' || fail "sweep: $out"
    [ ! -e sw ] || fail "sweep: made its directory"
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo ok
