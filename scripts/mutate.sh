#!/usr/bin/env bash
# Mutation testing: applies each mutant of a list alone to a scratch copy of
# the tree, builds it incrementally and runs the test suite; a mutant is
# killed when a test fails (or times out), survived when every test passes.
# Usage: scripts/mutate.sh [--list FILE] [--match REGEX] [--jobs N] [--timeout SECONDS]
#                          [--exclude REGEX] [--all-tests] [--scratch DIR] [--report FILE]
#        scripts/mutate.sh --check [--list FILE]   check the list against this tree only
#        scripts/mutate.sh --selftest              check the literal replacement itself
#   --list FILE       mutants (default tests/mutants.txt; format in its header)
#   --match REGEX     only mutants whose "ID FILE" matches (extended regex)
#   --jobs N          ctest -j and build jobs (default 2)
#   --timeout S       per-test timeout in seconds (default 60); a timeout kills
#   --exclude REGEX   tests not run (ctest -E; default '^(install_|mutate_)': packaging, and
#                     the list's own checks, which a mutated tree fails by design)
#   --all-tests       run every test for each mutant (default: stop at the first failure)
#   --scratch DIR     use (and keep) DIR for the copy and its build, to reuse it later
#   --report FILE     also write the per-mutant report to FILE
#   --min-score PCT   exit 1 if fewer than PCT % of the scored mutants were killed
# Exit status: 0 done, 1 a mutant survived and --min-score was not met, 2 bad
# list, a stale mutant (original text not exactly once in its file) or a
# baseline that does not build or pass. Never touches this tree: the copy is
# made from `git ls-files` (tracked and untracked, not ignored files).
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")/.." && pwd)
list=$here/tests/mutants.txt
match= jobs=2 timeout=60 exclude='^(install_|mutate_)' all_tests=0 scratch= report= mode=run min_score=

usage() {
    sed -n '5,/^set -uo/{/^set/d;p}' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
die() { echo "mutate.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
    --list) list=${2:?}; shift ;;
    --match) match=${2-}; shift ;;
    --jobs) jobs=${2:?}; shift ;;
    --timeout) timeout=${2:?}; shift ;;
    --exclude) exclude=${2-}; shift ;;
    --all-tests) all_tests=1 ;;
    --scratch) scratch=${2:?}; shift ;;
    --report) report=${2:?}; shift ;;
    --min-score) min_score=${2:?}; shift ;;
    --check) mode=check ;;
    --selftest) mode=selftest ;;
    -h | --help) usage ;;
    *) echo "mutate.sh: unknown option '$1'" >&2; usage ;;
    esac
    shift
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs: expected a positive number, got '$jobs'"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout: expected seconds, got '$timeout'"
[ -z "$min_score" ] || [[ $min_score =~ ^[0-9]+$ ]] || die "--min-score: expected a percentage, got '$min_score'"

# ---- Literal replacement. Bash pattern operators treat quoted text as
# literal, so "$orig" below never acts as a glob, and the new text is built by
# slicing (byte offsets under LC_ALL=C), so no character of REPL is special.
# replace_once FILE ORIG REPL: 0 replaced, 3 ORIG not found, 4 ORIG occurs
# more than once (overlapping occurrences count), 5 FILE unreadable.
replace_once() {
    local f=$1 orig=$2 repl=$3 content prefix after
    [ -f "$f" ] && [ -r "$f" ] || return 5
    # read -d '' keeps every byte, trailing newlines included (no NUL in sources).
    IFS= read -r -d '' content <"$f" || true
    [[ $content == *"$orig"* ]] || return 3
    prefix=${content%%"$orig"*}
    after=${content:${#prefix}+1}
    [[ $after == *"$orig"* ]] && return 4
    printf '%s' "${prefix}${repl}${content:${#prefix}+${#orig}}" >"$f"
}

# count_in FILE ORIG: prints how often ORIG starts in FILE (overlaps counted).
count_in() {
    local content prefix n=0
    IFS= read -r -d '' content <"$1" || true
    while [[ $content == *"$2"* ]]; do
        n=$((n + 1))
        prefix=${content%%"$2"*}
        content=${content:${#prefix}+1}
    done
    echo $n
}

selftest() {
    local d f rc
    d=$(mktemp -d "${TMPDIR:-/tmp}/ims-mutate-selftest.XXXXXX")
    f=$d/f
    fail() { echo "mutate.sh selftest: $*" >&2; diff "$d/expect" "$f" >&2; rm -rf "$d"; exit 1; }
    # Glob, escape, sed and shell characters in both texts; blank lines at the end kept.
    cat >"$f" <<'T'
a*b?[c] \n & / $x ${y} `z`
if (x <= 4) { y &= ~0x3; }


T
    cat >"$d/expect" <<'T'
*?[^] \\ & $(false) "q" 'r'
if (x <= 4) { y &= ~0x3; }


T
    replace_once "$f" 'a*b?[c] \n & / $x ${y} `z`' '*?[^] \\ & $(false) "q" '"'"'r'"'" || fail "replace: $?"
    cmp -s "$f" "$d/expect" || fail "glob and escape characters not replaced literally"
    # An empty replacement; then a multi-line original and replacement.
    replace_once "$f" ' y &= ~0x3;' '' || fail "empty: $?"
    replace_once "$f" $'}\n\n' $'}\n/* x */\n' || fail "multi-line: $?"
    cat >"$d/expect" <<'T'
*?[^] \\ & $(false) "q" 'r'
if (x <= 4) { }
/* x */

T
    cmp -s "$f" "$d/expect" || fail "empty or multi-line replacement"
    # Refused: not found (the literal \n is gone), twice, overlapping; the file is untouched.
    replace_once "$f" '\n' 'x'; rc=$?
    [ $rc -eq 3 ] || fail "a missing original gave $rc, not 3"
    replace_once "$f" '*' 'x'; rc=$?
    [ $rc -eq 4 ] || fail "'*' twice gave $rc, not 4"
    cmp -s "$f" "$d/expect" || fail "a refused mutant changed the file"
    printf 'xaaay\n' >"$f"
    printf 'xaaay\n' >"$d/expect"
    replace_once "$f" 'aa' 'b'; rc=$?
    [ $rc -eq 4 ] || fail "overlapping 'aa' in 'aaa' gave $rc, not 4"
    cmp -s "$f" "$d/expect" || fail "a refused mutant changed the file"
    [ "$(count_in "$f" aa)" = 2 ] && [ "$(count_in "$f" a)" = 3 ] && [ "$(count_in "$f" q)" = 0 ] &&
        [ "$(count_in "$f" 'a*')" = 0 ] || fail "count_in"
    rm -rf "$d"
    echo "mutate.sh selftest: ok"
}

if [ $mode = selftest ]; then
    selftest
    exit $?
fi

# ---- The list. Each mutant is a block of "key: value" lines:
#   id: NAME        unique, [A-Za-z0-9._-]+
#   file: PATH      relative to the repository root
#   orig: TEXT      must occur exactly once in PATH
#   repl: TEXT      what replaces it (may be empty)
#   why: TEXT       the plausible bug it models
# The value is everything after "key: " (one space), byte for byte. "orig+: "
# and "repl+: " continue the value on a new line. Lines starting with # and
# blank lines separate blocks and are ignored.
[ -f "$list" ] || die "$list: no such file"
ids=() files=() origs=() repls=() whys=() lines=()
bad=0
n=-1
lno=0
complete() { # the block just read has every field
    [ "$n" -ge 0 ] || return 0
    local k
    for k in file orig why; do
        local v
        case $k in file) v=${files[n]} ;; orig) v=${origs[n]} ;; why) v=${whys[n]} ;; esac
        if [ -z "$v" ]; then
            echo "$list:${lines[n]}: mutant '${ids[n]}': no $k" >&2
            bad=1
        fi
    done
    if [ "${repls[n]}" = $'\001unset' ]; then
        echo "$list:${lines[n]}: mutant '${ids[n]}': no repl (use 'repl:' for an empty one)" >&2
        bad=1
    elif [ "${origs[n]}" = "${repls[n]}" ]; then
        echo "$list:${lines[n]}: mutant '${ids[n]}': repl equals orig" >&2
        bad=1
    fi
}
while IFS= read -r line || [ -n "$line" ]; do
    lno=$((lno + 1))
    case $line in
    '' | '#'*) continue ;;
    'id: '*)
        complete
        n=$((n + 1))
        ids[n]=${line#id: } files[n]= origs[n]= repls[n]=$'\001unset' whys[n]= lines[n]=$lno
        if ! [[ ${ids[n]} =~ ^[A-Za-z0-9._-]+$ ]]; then
            echo "$list:$lno: id '${ids[n]}': expected letters, digits, '.', '_' or '-'" >&2
            bad=1
        fi
        for ((j = 0; j < n; j++)); do
            if [ "${ids[j]}" = "${ids[n]}" ]; then
                echo "$list:$lno: id '${ids[n]}' repeats line ${lines[j]}" >&2
                bad=1
            fi
        done
        continue
        ;;
    esac
    if [ $n -lt 0 ]; then
        echo "$list:$lno: expected 'id: NAME' first, got '$line'" >&2
        bad=1
        continue
    fi
    case $line in
    'file: '*) files[n]=${line#file: } ;;
    'orig: '*) origs[n]=${line#orig: } ;;
    'orig+: '*) origs[n]+=$'\n'${line#orig+: } ;;
    'repl: '* | 'repl:') repls[n]=${line#repl:}; repls[n]=${repls[n]# } ;;
    'repl+: '*) repls[n]+=$'\n'${line#repl+: } ;;
    'why: '*) whys[n]=${line#why: } ;;
    *)
        echo "$list:$lno: expected id:, file:, orig:, orig+:, repl:, repl+: or why:, got '$line'" >&2
        bad=1
        ;;
    esac
done <"$list"
complete
[ $bad -eq 0 ] || die "$list: fix the list first"
[ $n -ge 0 ] || die "$list: no mutants"

sel=()
for ((i = 0; i <= n; i++)); do
    if [ -z "$match" ] || [[ "${ids[i]} ${files[i]}" =~ $match ]]; then sel+=("$i"); fi
done
[ ${#sel[@]} -gt 0 ] || die "--match '$match': no mutant matches"

# Stale: the original text does not occur exactly once (the code moved on).
stale=()
check_stale() { # ROOT
    local i c
    for i in "${sel[@]}"; do
        if [ ! -f "$1/${files[i]}" ]; then
            echo "STALE     ${ids[i]}: ${files[i]}: no such file ($list:${lines[i]})"
            stale+=("$i")
            continue
        fi
        c=$(count_in "$1/${files[i]}" "${origs[i]}")
        if [ "$c" != 1 ]; then
            echo "STALE     ${ids[i]}: ${files[i]}: the original occurs $c times, not once ($list:${lines[i]})"
            stale+=("$i")
        fi
    done
}

if [ $mode = check ]; then
    check_stale "$here"
    if [ ${#stale[@]} -gt 0 ]; then
        echo "mutate.sh: ${#stale[@]} of ${#sel[@]} mutants are stale: update their orig text in $list" >&2
        exit 2
    fi
    echo "mutate.sh: $list: ${#sel[@]} mutants, every original occurs exactly once"
    exit 0
fi

# ---- The scratch copy.
keep=1
if [ -z "$scratch" ]; then
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/ims-mutate.XXXXXX")
    keep=0
fi
mkdir -p "$scratch" || die "cannot create $scratch"
scratch=$(cd "$scratch" && pwd)
case $scratch/ in "$here"/*) die "--scratch must be outside the tree ($here)" ;; esac
src=$scratch/src bld=$scratch/build log=$scratch/log
mkdir -p "$src" "$log"
cur=-1 cur_orig=
cleanup() {
    # Put back a file left mutated by an interruption (matters with --scratch).
    if [ "$cur" -ge 0 ]; then printf '%s' "$cur_orig" >"$src/${files[cur]}"; fi
    if [ $keep -eq 0 ]; then rm -rf "$scratch"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stage=$scratch/stage
rm -rf "$stage" && mkdir -p "$stage" || die "cannot create $stage"
if git -C "$here" rev-parse --git-dir >/dev/null 2>&1; then
    # Tracked and untracked (not ignored) files as they are now, uncommitted edits included.
    (cd "$here" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$stage" ||
        die "copying the tree to $stage failed"
else
    tar -C "$here" --exclude='./build*' -cf - . | tar -xf - -C "$stage" || die "copying the tree to $stage failed"
fi
# Into the copy: only files that differ are replaced, each with a new mtime,
# so that a kept copy (--scratch) rebuilds exactly what changed (tar's
# original mtimes could be older than an object built from a mutant). Files
# gone from the tree stay; the build lists its sources explicitly.
(cd "$stage" && find . -type f -print0) | while IFS= read -r -d '' p; do
    if ! cmp -s "$stage/$p" "$src/$p"; then
        mkdir -p "$src/$(dirname "$p")" && cp "$stage/$p" "$src/$p" && touch "$src/$p" || exit 1
    fi
done || die "updating $src failed"
rm -rf "$stage"

check_stale "$src"

out() { echo "$*"; if [ -n "$report" ]; then echo "$*" >>"$report"; fi; }
if [ -n "$report" ]; then : >"$report" || die "$report: cannot write"; fi

echo "mutate: configuring and building the unmutated copy in $bld"
if [ ! -f "$bld/build.ninja" ]; then
    cmake -S "$src" -B "$bld" -G Ninja -DCMAKE_BUILD_TYPE=Release -DIMS_WERROR=ON >"$log/configure.log" 2>&1 ||
        { tail -20 "$log/configure.log" >&2; die "configure failed ($log/configure.log)"; }
fi
cmake --build "$bld" -j "$jobs" >"$log/baseline-build.log" 2>&1 ||
    { tail -30 "$log/baseline-build.log" >&2; die "the unmutated tree does not build"; }

run_tests() { # LOGFILE: runs the suite, prints the failing tests (empty: all passed)
    local args=(--test-dir "$bld" -j "$jobs" --timeout "$timeout" --no-tests=error)
    [ -n "$exclude" ] && args+=(-E "$exclude")
    [ $all_tests -eq 0 ] && args+=(--stop-on-failure)
    ctest "${args[@]}" >"$1" 2>&1
    local rc=$?
    # "  12 - test_iommu (Failed)" / "(Timeout)" after "The following tests FAILED:".
    sed -n '/^The following tests FAILED:/,$p' "$1" |
        sed -n 's/^[[:space:]]*[0-9][0-9]* - \([^ ]*\) (\([^)]*\)).*/\1(\2)/p' | tr '\n' ' '
    if [ $rc -ne 0 ] && ! grep -q '^The following tests FAILED:' "$1"; then echo "ctest-error(exit-$rc)"; fi
}

echo "mutate: running the unmutated suite"
base_fail=$(run_tests "$log/baseline-test.log")
[ -z "$base_fail" ] || die "the unmutated suite fails: $base_fail ($log/baseline-test.log)"
ntests=$(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' "$log/baseline-test.log")
echo "mutate: baseline green ($ntests tests${exclude:+, excluding /$exclude/}); ${#sel[@]} mutants"

killed=0 survived=0 invalid=0 k=0
survivors=() invalids=()
t_start=$SECONDS
for i in "${sel[@]}"; do
    k=$((k + 1))
    tag=$(printf '[%3d/%d]' "$k" "${#sel[@]}")
    is_stale=0
    for s in "${stale[@]}"; do [ "$s" = "$i" ] && is_stale=1; done
    if [ $is_stale -eq 1 ]; then
        out "$tag STALE     ${ids[i]}  ${files[i]}: original not exactly once (an error in the list)"
        continue
    fi
    f=$src/${files[i]}
    IFS= read -r -d '' cur_orig <"$f" || true
    cur=$i
    replace_once "$f" "${origs[i]}" "${repls[i]}" || die "${ids[i]}: replacement failed ($?)"
    t0=$SECONDS
    if ! cmake --build "$bld" -j "$jobs" >"$log/${ids[i]}.build.log" 2>&1; then
        invalid=$((invalid + 1))
        invalids+=("${ids[i]}")
        res="INVALID   ${ids[i]}  ${files[i]}: does not compile (not scored; $log/${ids[i]}.build.log)"
    else
        failed=$(run_tests "$log/${ids[i]}.test.log")
        if [ -n "$failed" ]; then
            killed=$((killed + 1))
            res="KILLED    ${ids[i]}  ${files[i]}  by ${failed% }"
        else
            survived=$((survived + 1))
            survivors+=("$i")
            res="SURVIVED  ${ids[i]}  ${files[i]}: ${whys[i]}"
        fi
    fi
    printf '%s' "$cur_orig" >"$f"
    cur=-1
    out "$tag $res ($((SECONDS - t0)) s)"
done

# The copy is unmutated again; a kept one is left built as it is, for the next run.
if [ $keep -eq 1 ]; then cmake --build "$bld" -j "$jobs" >"$log/final-build.log" 2>&1 || true; fi

scored=$((killed + survived))
if [ $scored -gt 0 ]; then
    score=$(awk -v k=$killed -v s=$scored 'BEGIN { printf "%.1f", 100 * k / s }')
else
    score=n/a
fi
out ""
out "mutants: ${#sel[@]} run, $killed killed, $survived survived, $invalid invalid (not compiled), ${#stale[@]} stale"
out "score: $killed / $scored killed = $score %  ($((SECONDS - t_start)) s)"
for i in "${survivors[@]}"; do
    out "survivor: ${ids[i]}  ${files[i]}"
    out "    orig: ${origs[i]}"
    out "    repl: ${repls[i]}"
    out "    why:  ${whys[i]}"
done
if [ $keep -eq 1 ]; then echo "mutate: logs in $log"; fi
[ ${#stale[@]} -eq 0 ] || exit 2
if [ -n "$min_score" ] && [ $scored -gt 0 ] && [ $((killed * 100)) -lt $((min_score * scored)) ]; then
    exit 1
fi
exit 0
