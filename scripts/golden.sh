#!/usr/bin/env bash
# Golden files (tests/golden/): the exact output iommusim produces for fixed
# inputs, checked in and compared byte for byte by CTest.
# Usage: scripts/golden.sh list [--core-only]  every golden file's ID (its path under tests/golden/)
#        scripts/golden.sh check BIN ID         make ID afresh with BIN, compare with the checked-in file
#        scripts/golden.sh update BIN           rewrite every golden file in place (make golden)
# Exit status: 0 equal / done, 1 a golden file differs or is missing, 2 usage or tool error.
# `update` is for an intended change of behaviour only (docs/testing.md); tests never run it.
#
# IDs and how each is made (in a scratch directory, from relative paths only,
# so that the bytes do not depend on where the checkout is):
#   json/T.C.json   iommusim run --quiet --config C --trace shipped/T.itr.zst --json,
#                   for every traces/T.itr.zst and configs/C.cfg (as scripts/results.sh),
#                   less its "provenance" line
#                   (not the large recordings in traces/large/: four replays each of
#                   millions of records are too slow for the ASan suite; they are
#                   replayed once by cli_trace_large_recordings and their JSON is in
#                   scripts/results.sh; traces/README.md, "Large recordings")
#   json/gen-K.C.json  the same for the checked-in golden gen/K.itr (as gen-K.itr):
#                   generated traces have a warm-up mark, recordings do not
#   trace/N.itr     trace convert of the hand-written text tests/trace/data/N.itt
#   trace/N.itt     trace convert of the checked-in golden trace/N.itr back to text
#   gen/K.itr       trace gen K --count 100 --seed 3, uncompressed, per generator kind
#   gen/K.itt       the checked-in golden gen/K.itr back to text
#   trace3/N.itr, gen3/K.itr, trace3/N.itt, gen3/K.itt  the same in binary version 3 (trace/ and gen/
#                   pin version 2: converted with --format-version 2)
#   qemu/N.itt      trace convert --from qemu-vtd of tests/trace/data/qemu/N.log
set -euo pipefail
export LC_ALL=C

usage() {
    sed -n '4,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
[ $# -ge 1 ] || usage
here=$(cd "$(dirname "$0")/.." && pwd)
gold=$here/tests/golden
mode=$1
core_only=0
if [ "$mode" = list ]; then
    case "$#:${2:-}" in
    1:) ;;
    2:--core-only) core_only=1 ;;
    *) usage ;;
    esac
else
    [ $# -ge 2 ] || usage
    bin=$2
    [ -f "$bin" ] && [ -x "$bin" ] || { echo "golden.sh: $bin: not an executable" >&2; exit 2; }
    bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
    # A build without the timing model (IMS_CORE_ONLY) has no `run`.
    "$bin" run --help >/dev/null 2>&1 || core_only=1
fi
# Configs named by --config come from this checkout, never from an install.
export IMS_DATA_DIR=$here

# Hand-written texts that are broken on purpose (their error is tested in
# tests/trace/CMakeLists.txt): they have no golden binary.
skip_text=" syntax "
# Generator kinds as scripts/results.sh runs them: NAME=ARGS.
gen_kinds=("nic=nic" "nic-deferred=nic --unmap deferred" "nvme=nvme" "gpu=gpu" "random=random" "multi=multi")
gen_count=100

list() {
    local t c n k
    if [ $core_only = 0 ]; then
        for t in "$here"/traces/*.itr.zst; do
            for c in "$here"/configs/*.cfg; do
                echo "json/$(basename "$t" .itr.zst).$(basename "$c" .cfg).json"
            done
        done
        for k in "${gen_kinds[@]}"; do
            for c in "$here"/configs/*.cfg; do
                echo "json/gen-${k%%=*}.$(basename "$c" .cfg).json"
            done
        done
    fi
    for t in "$here"/tests/trace/data/*.itt; do
        n=$(basename "$t" .itt)
        [[ $skip_text == *" $n "* ]] && continue
        echo "trace/$n.itr"
        echo "trace/$n.itt"
        echo "trace3/$n.itr"
        echo "trace3/$n.itt"
    done
    for k in "${gen_kinds[@]}"; do
        echo "gen/${k%%=*}.itr"
        echo "gen/${k%%=*}.itt"
        echo "gen3/${k%%=*}.itr"
        echo "gen3/${k%%=*}.itt"
    done
    for t in "$here"/tests/trace/data/qemu/*.log; do
        echo "qemu/$(basename "$t" .log).itt"
    done
}

# make_one ID OUT SRC: writes ID's fresh content to OUT. The current directory
# is a scratch directory; SRC is the directory the reverse conversions read.
# Every step is checked by hand: errexit does not apply inside `... || ...`.
make_one() {
    local id=$1 out=$2 src=$3 name base k args trace cfg rc=0
    name=${id#*/}
    case $id in
    json/*.json)
        base=${name%.json}
        trace=${base%.*} cfg=${base##*.}
        [ -f "$here/configs/$cfg.cfg" ] || { echo "golden.sh: $id: no configs/$cfg.cfg" >&2; return 2; }
        local path
        if [ -f "$here/traces/$trace.itr.zst" ]; then
            ln -sfn "$here/traces" shipped || return 2
            path=shipped/$trace.itr.zst
        elif [[ $trace == gen-* ]] && [ -f "$src/gen/${trace#gen-}.itr" ]; then
            cp "$src/gen/${trace#gen-}.itr" "$trace.itr" || return 2
            path=$trace.itr
        else
            echo "golden.sh: $id: no traces/$trace.itr.zst or golden gen/${trace#gen-}.itr" >&2
            return 2
        fi
        # A run that fails (1: a check failed) but writes its JSON is compared
        # too, so that the diff shows what went wrong.
        "$bin" run --quiet --config "$cfg" --trace "$path" --json out.json || rc=$?
        # Less its one provenance line (version, commit, command line, wall
        # time), which differs between builds by design (as scripts/results.sh).
        if [ -f out.json ]; then
            sed '/^  "provenance": /d' out.json >"$out" || return 2
        fi
        return $rc
        ;;
    trace/*.itr | trace3/*.itr)
        # trace/: binary version 2 (as written before version 3); trace3/: version 3.
        ln -sfn "$here/tests/trace/data" data || return 2
        local ver=3
        [[ $id == trace/* ]] && ver=2
        "$bin" trace convert --format-version $ver "data/${name%.itr}.itt" out.itr >/dev/null || return 2
        mv out.itr "$out" || return 2
        ;;
    trace/*.itt | gen/*.itt | trace3/*.itt | gen3/*.itt)
        # The reverse direction reads the checked-in golden binary, so that the
        # text writer is fed bytes that no writer of this build produced.
        [ -f "$src/${id%.itt}.itr" ] || { echo "golden.sh: $id: no golden ${id%.itt}.itr" >&2; return 2; }
        cp "$src/${id%.itt}.itr" in.itr || return 2
        "$bin" trace convert in.itr out.itt >/dev/null || return 2
        mv out.itt "$out" || return 2
        ;;
    gen/*.itr | gen3/*.itr)
        args=
        for k in "${gen_kinds[@]}"; do
            if [ "${k%%=*}" = "${name%.itr}" ]; then args=${k#*=}; fi
        done
        [ -n "$args" ] || { echo "golden.sh: $id: unknown generator kind" >&2; return 2; }
        # shellcheck disable=SC2086
        "$bin" trace gen $args --count "$gen_count" --seed 3 gen.itr >/dev/null || return 2
        # gen/: binary version 2 (as written before version 3); gen3/: version 3.
        if [[ $id == gen/* ]]; then
            "$bin" trace convert --format-version 2 gen.itr out.itr >/dev/null || return 2
        else
            mv gen.itr out.itr || return 2
        fi
        mv out.itr "$out" || return 2
        ;;
    qemu/*.itt)
        ln -sfn "$here/tests/trace/data/qemu" qemu || return 2
        "$bin" trace convert --from qemu-vtd "qemu/${name%.itt}.log" out.itt >/dev/null || return 2
        mv out.itt "$out" || return 2
        ;;
    *)
        echo "golden.sh: unknown golden ID '$id' (see: golden.sh BIN list)" >&2
        return 2
        ;;
    esac
}

# show_diff OLD NEW ID: what differs, readably (a hex dump diff for binaries).
show_diff() {
    local old=$1 new=$2 id=$3
    case $id in
    *.itr)
        cmp "$old" "$new" || true
        diff -u --label "golden/$id" --label "fresh/$id" \
            <(od -A x -t x1z -v "$old") <(od -A x -t x1z -v "$new") | head -n 80 || true
        ;;
    *)
        diff -u --label "golden/$id" --label "fresh/$id" "$old" "$new" | head -n 200 || true
        ;;
    esac
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ims-golden.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

case $mode in
list)
    list
    ;;
check)
    [ $# -eq 3 ] || usage
    id=$3
    mkdir "$scratch/w"
    rc=0
    (cd "$scratch/w" && make_one "$id" "$scratch/fresh" "$gold") || rc=$?
    [ -f "$scratch/fresh" ] || { echo "golden $id: could not be made (exit $rc)"; exit 2; }
    if [ ! -f "$gold/$id" ]; then
        echo "golden $id: tests/golden/$id does not exist (new input? after an intended change: make golden)"
        exit 1
    fi
    if cmp -s "$gold/$id" "$scratch/fresh"; then
        if [ $rc -ne 0 ]; then
            echo "golden $id: identical output, but the tool exited $rc"
            exit 1
        fi
        echo "golden $id: identical"
        exit 0
    fi
    echo "golden $id: DIFFERS from tests/golden/$id"
    if [ $rc -ne 0 ]; then echo "(and the tool exited $rc)"; fi
    show_diff "$gold/$id" "$scratch/fresh" "$id"
    exit 1
    ;;
update)
    [ $# -eq 2 ] || usage
    # Everything is made into a new tree first; tests/golden is only touched
    # once every file was made, so a failing tool leaves the old set whole.
    new=$scratch/new
    mkdir -p "$new"
    ids=$(list)
    # Binaries first: the reverse conversions read the new golden binaries.
    for pass in first second; do
        for id in $ids; do
            # Second: what reads a golden binary (the reverse conversions, the
            # generated traces' JSON); first: everything else.
            case $id in
            *.itt | json/gen-*) [ $pass = second ] || continue ;;
            *) [ $pass = first ] || continue ;;
            esac
            mkdir -p "$new/$(dirname "$id")" "$scratch/w"
            (cd "$scratch/w" && make_one "$id" "$new/$id" "$new") || {
                echo "golden.sh: making $id failed; tests/golden left unchanged" >&2
                exit 2
            }
            rm -rf "$scratch/w"
        done
    done
    changed=0
    for id in $ids; do
        if [ ! -f "$gold/$id" ]; then
            echo "new:     $id"
            changed=$((changed + 1))
        elif ! cmp -s "$gold/$id" "$new/$id"; then
            echo "changed: $id"
            if [[ $id == *.itr ]]; then show_diff "$gold/$id" "$new/$id" "$id"; fi
            changed=$((changed + 1))
        fi
        mkdir -p "$gold/$(dirname "$id")"
        cp "$new/$id" "$gold/$id"
    done
    # Golden files whose input is gone (a removed trace, config or text).
    for dir in json trace gen qemu; do
        [ -d "$gold/$dir" ] || continue
        for f in "$gold/$dir"/*; do
            [ -f "$f" ] || continue
            id=$dir/$(basename "$f")
            if ! grep -qxF "$id" <<<"$ids"; then
                echo "removed: $id (its input no longer exists)"
                rm -f "$f"
                changed=$((changed + 1))
            fi
        done
    done
    echo "golden: $(wc -l <<<"$ids") files, $changed changed"
    ;;
*)
    usage
    ;;
esac
