#!/bin/bash
# expect.sh can fail: it rejects a wrong exit status, a missing or a
# forbidden line, a crash or sanitizer report, and it runs the binary
# through $IMS_TEST_WRAPPER. The "binary" is a small script standing in.
# usage: selftest.sh DIR
set -u
dir=$1
E=$(dirname "$0")/expect.sh
mkdir -p "$dir"
fake=$dir/fake
cat >"$fake" <<'FAKE'
#!/bin/bash
# Prints its arguments' words as lines, then exits with the first one.
code=$1
shift
for w in "$@"; do echo "$w"; done
[ -n "${IMS_SELFTEST_WRAPPED:-}" ] && echo wrapped
exit "$code"
FAKE
chmod +x "$fake"
fails=0
must() { # must pass|fail DESCRIPTION expect.sh-args...
    local want=$1 what=$2
    shift 2
    bash "$E" "$@" >"$dir/last" 2>&1
    local rc=$?
    if { [ "$want" = pass ] && [ $rc -ne 0 ]; } || { [ "$want" = fail ] && [ $rc -ne 1 ]; }; then
        echo "FAILED: expect.sh should $want: $what (it exited $rc)"
        cat "$dir/last"
        fails=$((fails + 1))
    fi
}
must pass "exit and line as expected" -m '^hello$' "$fake" 3 3 hello
must fail "wrong exit status" -m '^hello$' "$fake" 2 3 hello
must fail "exit 0 expected, 1 given" "$fake" 0 1
must fail "no line matches" -m '^bye$' "$fake" 0 0 hello
must fail "one of two matches missing" -m hello -m bye "$fake" 0 0 hello
must fail "a forbidden line" -n hello "$fake" 0 0 hello
must pass "in order across lines" -M 'a[[:space:]]b' "$fake" 0 0 a b
must fail "out of order across lines" -M 'b[[:space:]]a' "$fake" 0 0 a b
must fail "a sanitizer report with the expected status" "$fake" 1 1 "==1==ERROR: AddressSanitizer: heap-use-after-free"
must fail "a UBSan report" "$fake" 0 0 "x.c:3:5: runtime error: signed integer overflow"
must fail "killed by a signal" -s 'kill -SEGV $$' "$fake" 0
must pass "a script's own exit status" -s 'ims 0 x; exit 4' -m '^x$' "$fake" 4
IMS_TEST_WRAPPER="env IMS_SELFTEST_WRAPPED=1" must pass "the wrapper runs the binary" \
    -m "^wrapped$" "$fake" 0 0
IMS_TEST_WRAPPER="false" must fail "a failing wrapper is not ignored" "$fake" 0 0
[ $fails -eq 0 ] || exit 1
echo "ok: expect.sh passed and failed what it should"
