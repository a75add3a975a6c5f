#!/bin/sh
# Every public C header that declares a function or an extern variable
# declares it with C linkage (#ifdef __cplusplus extern "C" { ... }), so that
# C++ can call it. The install consumers call one function from each header
# from C++; this catches a header added later that they do not include yet.
# Headers of macros only (e.g. X-macro lists) need no guard.
# Usage: headers_extern_c.sh DIR     Exit 1 naming each header without one.
rc=0
for h in "$1"/*.h; do
    if grep -v '^static' "$h" | grep -Eq '^(extern [^"]|[a-z_][a-z0-9_ ]*[ *]ims_[a-z0-9_]+\()' &&
        ! grep -q '^extern "C" {' "$h"; then
        echo "$h: declares functions but has no extern \"C\" guard"
        rc=1
    fi
done
exit $rc
