#!/bin/bash
# Runs one command-line test: the command, then its exact exit status and its
# output (stdout and stderr together) against what the test expects.
#
# usage: expect.sh [options] BIN EXIT [ARGS...]
#   BIN   the iommusim binary; run as $IMS_TEST_WRAPPER BIN ARGS... (the
#         wrapper, e.g. "valgrind -q --error-exitcode=99", is split into words)
#   EXIT  the exit status required, exactly (0..255)
# options:
#   -m RE      some line of the output matches RE (grep -E); repeatable
#   -M RE      the whole output matches RE as one text (grep -Ez: '.' also
#              matches a newline), for things that must come in order
#   -n RE      no line matches RE (grep -E); repeatable
#   -s SCRIPT  run the bash SCRIPT instead of BIN ARGS; in it, `ims ...` runs
#              the binary (wrapper included) and "$@" are ARGS
#   -C DIR     run in DIR
# Whatever the options, the output must not show a crash or a sanitizer
# report (a sanitizer's own exit status could equal EXIT).
# Exit 0 if everything holds; else 1, printing what was expected and what came.
set -u
match=() match_all=() nomatch=() script= dir=
while getopts "m:M:n:s:C:" o; do
    case $o in
    m) match+=("$OPTARG") ;;
    M) match_all+=("$OPTARG") ;;
    n) nomatch+=("$OPTARG") ;;
    s) script=$OPTARG ;;
    C) dir=$OPTARG ;;
    *) echo "expect.sh: bad option" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -lt 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
    echo "usage: expect.sh [-m RE] [-M RE] [-n RE] [-s SCRIPT] [-C DIR] BIN EXIT [ARGS...]" >&2
    exit 2
fi
IMS_BIN=$1 want=$2
shift 2
nomatch+=('AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|Segmentation fault|core dumped|Aborted')

ims() {
    # shellcheck disable=SC2086 # the wrapper is a command line to split
    ${IMS_TEST_WRAPPER:-} "$IMS_BIN" "$@"
}
export -f ims
export IMS_BIN

if [ -n "$dir" ]; then
    cd "$dir" || { echo "expect.sh: cannot cd to $dir" >&2; exit 1; }
fi
if [ -n "$script" ]; then
    out=$(bash -c "$script" expect-script "$@" 2>&1)
    got=$?
    what="bash -c '$script' $*"
else
    out=$(ims "$@" 2>&1)
    got=$?
    what="${IMS_TEST_WRAPPER:+$IMS_TEST_WRAPPER }$IMS_BIN $*"
fi

problems=()
[ "$got" -eq "$want" ] || problems+=("exit status $got, expected $want")
for re in "${match[@]+"${match[@]}"}"; do
    grep -Eq -e "$re" <<<"$out" || problems+=("no line matches: $re")
done
for re in "${match_all[@]+"${match_all[@]}"}"; do
    printf '%s' "$out" | grep -Ezq -e "$re" || problems+=("the output does not match (as one text): $re")
done
for re in "${nomatch[@]}"; do
    if grep -Eq -e "$re" <<<"$out"; then
        problems+=("a line matches what must not appear: $re")
    fi
done
if [ ${#problems[@]} -eq 0 ]; then
    echo "ok: exit $got"
    exit 0
fi
echo "FAILED: $what"
for p in "${problems[@]}"; do
    echo "  $p"
done
echo "---- output ($(wc -l <<<"$out") lines; the last 60) ----"
tail -n 60 <<<"$out"
exit 1
