#!/bin/bash
# Runs one tests/bad-inputs case (the format is in README.md): makes a fresh
# scratch directory, runs the case's setup there, then iommusim with the
# case's arguments, and hands the exit status and output to tests/cli/expect.sh.
# usage: run_case.sh CASE BIN SCRATCH_ROOT
set -u
case_file=$1 bin=$2 root=$3
name=$(basename "$case_file" .case)
here=$(cd "$(dirname "$0")" && pwd)
in=$here/files
tmp=$root/$name

bad() {
    echo "FAILED: $case_file: $*"
    exit 1
}
args= code= match= nomatch= setup= nargs=0 ncode=0 nmatch=0
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    case $line in
    '#'* | '') ;;
    'args:'*) args=${line#args:} nargs=$((nargs + 1)) ;;
    'exit:'*) code=${line#exit:} ncode=$((ncode + 1)) ;;
    'match:'*) match=${line#match:} nmatch=$((nmatch + 1)) ;;
    'nomatch:'*) nomatch=${line#nomatch:} ;;
    'setup:'*) setup=${line#setup:} ;;
    *) bad "line $lineno: expected '# comment', args:, exit:, match:, nomatch: or setup:, got '$line'" ;;
    esac
done <"$case_file"
trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; printf '%s' "${s%"${s##*[![:space:]]}"}"; }
args=$(trim "$args") code=$(trim "$code") match=$(trim "$match") nomatch=$(trim "$nomatch") setup=$(trim "$setup")
[ "$nargs" -eq 1 ] && [ -n "$args" ] || bad "needs exactly one non-empty args: line"
[ "$ncode" -eq 1 ] && [[ $code =~ ^[0-9]+$ ]] || bad "needs exactly one exit: line with a number"
[ "$nmatch" -eq 1 ] && [ -n "$match" ] || bad "needs exactly one non-empty match: line"
grep -q '^#' "$case_file" || bad "needs a '#' line saying what is wrong and why"

rm -rf "$tmp" && mkdir -p "$tmp" || bad "cannot make $tmp"
q_in=$(printf '%q' "$in") q_tmp=$(printf '%q' "$tmp")
subst() { local s=${1//@IN@/$q_in}; printf '%s' "${s//@TMP@/$q_tmp}"; }
if [ -n "$setup" ]; then
    (cd "$tmp" && eval "$(subst "$setup")") || bad "setup failed: $setup"
fi
eval "set -- $(subst "$args")"
opts=(-m "$match")
[ -n "$nomatch" ] && opts+=(-n "$nomatch")
exec bash "$here/../cli/expect.sh" -C "$tmp" "${opts[@]}" "$bin" "$code" "$@"
