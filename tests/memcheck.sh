#!/usr/bin/env bash
# The command-line tests with every iommusim run under valgrind memcheck
# (make test-valgrind; docs/fuzzing.md).
#   tests/memcheck.sh BUILD_DIR [JOBS [CTEST_ARGS...]]
# A memcheck error or a definite leak makes iommusim exit 99, which fails
# the test (the tests check exit codes exactly). Valgrind's own reports go
# to BUILD_DIR/memcheck/PID.log; those that found something are listed.
#
# Which tests, and how iommusim is wrapped: the tests labelled "cli" run with
# IMS_TEST_WRAPPER set to the valgrind command (tests/cli/expect.sh, the
# command-line test runner, prefixes iommusim with it).
set -euo pipefail
build=${1:?usage: tests/memcheck.sh BUILD_DIR [JOBS [CTEST_ARGS...]]}
jobs=${2:-2}
shift $(($# < 2 ? $# : 2))
extra=("$@") # e.g. -R cli_run_csv: a subset
build=$(cd "$build" && pwd)
logs=$build/memcheck
rm -rf "$logs"
mkdir -p "$logs"
vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --num-callers=30 --log-file="$logs/%p.log")
# Check's fork mode is irrelevant here (iommusim is no Check suite), but a
# test that runs one keeps it simple under valgrind.
export CK_FORK=no

cd "$build"
if [ "$(ctest -N -L '^cli$' | sed -n 's/^Total Tests: //p')" -eq 0 ]; then
    echo "memcheck.sh: no test in $build carries the label cli" >&2
    exit 2
fi
export IMS_TEST_WRAPPER="${vg[*]}"
sel=(-L '^cli$')
echo "memcheck.sh: tests labelled cli, iommusim prefixed with IMS_TEST_WRAPPER"
start=$(date +%s)
rc=0
ctest --output-on-failure -j "$jobs" "${sel[@]}" "${extra[@]}" || rc=$?
end=$(date +%s)
runs=$(find "$logs" -name '*.log' | wc -l)
bad=$(grep -L 'ERROR SUMMARY: 0 errors' "$logs"/*.log 2>/dev/null || true)
echo "memcheck.sh: $runs iommusim runs under valgrind in $((end - start)) s"
if [ -n "$bad" ]; then
    echo "memcheck.sh: runs with memcheck errors or definite leaks:" >&2
    for f in $bad; do
        echo "== $f" >&2
        grep -m1 -E '^==[0-9]+== Command:' "$f" >&2 || true
        grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|[0-9,]+ bytes in .* definitely)' "$f" | head -5 >&2 || true
    done
    rc=1
fi
exit $rc
