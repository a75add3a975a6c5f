#!/bin/sh
# The install, as a user gets it (tests/install/CMakeLists.txt runs each step
# as a CTest test):
#   tree       cmake --install into a fresh prefix; every file in its place;
#              the installed tool reports the version and finds its data in
#              the installed share directory
#   cmake      the consumer project (consumer/) configured with
#              find_package(iommusim) against that prefix, built, run
#   pkgconfig  the same sources compiled by plain compiler commands with
#              `pkg-config --static --cflags --libs`, run
#   vp         the virtual-platform example (examples/vp/, its own project)
#              configured with CMAKE_PREFIX_PATH=that prefix, built, run: it
#              must pass, and with --skip-unmap-flush (a driver that forgets
#              the IOTLB invalidation) it must fail on the stale translation
# Settings come from the environment (set by CTest): IMS_BUILD (the build
# tree), IMS_SRC (the source tree), IMS_PREFIX, IMS_WORK (scratch), IMS_LIBDIR
# (CMAKE_INSTALL_LIBDIR), IMS_VERSION, IMS_TLM (1: the SystemC model is
# built), IMS_CMAKE, IMS_CC, IMS_CXX, IMS_BUILD_TYPE.
# Exit status 0 only if every check passes; each failure says what it was.
set -u

fail() {
    echo "install_test: $*" >&2
    exit 1
}
# run LOG cmd...: runs cmd with its output in LOG, shown only if it fails.
run() {
    log=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        fail "failed: $*"
    fi
}

P=$IMS_PREFIX
W=$IMS_WORK
LIB=$P/$IMS_LIBDIR
export SC_COPYRIGHT_MESSAGE=DISABLE

step_tree() {
    rm -rf "$P"
    mkdir -p "$W" || fail "cannot create $W"
    run "$W/install.log" "$IMS_CMAKE" --install "$IMS_BUILD" --prefix "$P"

    # Everything shipped, one by one from the source tree, so that a header,
    # config or trace added later is checked too.
    test -x "$P/bin/iommusim" || fail "no $P/bin/iommusim"
    for f in "$LIB/libims_core.a" "$LIB/libims_trace.a" "$LIB/pkgconfig/iommusim.pc" \
             "$LIB/cmake/iommusim/iommusim-config.cmake" "$LIB/cmake/iommusim/iommusim-config-version.cmake" \
             "$LIB/cmake/iommusim/iommusim-core-targets.cmake" "$P/include/iommusim/version.h" \
             "$P/share/doc/iommusim/README.md" "$P/share/iommusim/traces/README.md"; do
        test -f "$f" || fail "not installed: $f"
    done
    tlm_files="$LIB/libims_tlm.a $LIB/pkgconfig/iommusim-tlm.pc $LIB/cmake/iommusim/iommusim-tlm-targets.cmake"
    for h in "$IMS_SRC"/model/include/iommusim/*; do
        case $h in
        */cosim.hpp) test ! -e "$P/include/iommusim/cosim.hpp" || fail "installed, but its library is not: cosim.hpp" ;;
        *.hpp | */simcfg.h) tlm_files="$tlm_files $P/include/iommusim/${h##*/}" ;;

        *) test -f "$P/include/iommusim/${h##*/}" || fail "header not installed: ${h##*/}" ;;
        esac
    done
    for f in $tlm_files; do
        if [ "$IMS_TLM" = 1 ]; then
            test -f "$f" || fail "not installed: $f"
        else
            test ! -e "$f" || fail "installed without the SystemC model (IMS_CORE_ONLY): $f"
        fi
    done
    for f in "$IMS_SRC"/configs/*.cfg; do
        cmp -s "$f" "$P/share/iommusim/configs/${f##*/}" || fail "config not installed: ${f##*/}"
    done
    for f in "$IMS_SRC"/traces/*.itr.zst; do
        cmp -s "$f" "$P/share/iommusim/traces/${f##*/}" || fail "trace not installed: ${f##*/}"
    done
    for f in "$IMS_SRC"/docs/*.md; do
        test -f "$P/share/doc/iommusim/docs/${f##*/}" || fail "doc not installed: ${f##*/}"
    done

    v=$("$P/bin/iommusim" --version) || fail "installed iommusim --version failed"
    case $v in
    "iommusim $IMS_VERSION (git "*")") ;;
    *) fail "installed iommusim --version: '$v', expected 'iommusim $IMS_VERSION (git ...)'" ;;
    esac

    if [ "$IMS_TLM" != 1 ]; then
        echo "install_test: IMS_CORE_ONLY: no 'iommusim run', so the data-dir lookup is not exercised here"
    else
        # A config that exists only in the installed share directory, run
        # from elsewhere: found, and so is the default trace beside it.
        cp "$P/share/iommusim/configs/small.cfg" "$P/share/iommusim/configs/install-probe.cfg"
        (cd / && env -u IMS_DATA_DIR "$P/bin/iommusim" run --quiet --config install-probe --json "$W/probe.json") \
            >"$W/probe.log" 2>&1 || { cat "$W/probe.log" >&2; fail "installed iommusim does not find its share directory"; }
        rm -f "$P/share/iommusim/configs/install-probe.cfg"
        share=$(cd "$P/share/iommusim" && pwd -P)
        grep -qF "\"trace\": \"$share/traces/nvme-strict.itr.zst\"" "$W/probe.json" ||
            fail "default trace not taken from $share/traces: $(grep '"trace"' "$W/probe.json")"
        # $IMS_DATA_DIR still comes first.
        mkdir -p "$W/nodata"
        out=$(IMS_DATA_DIR="$W/nodata" "$P/bin/iommusim" run --quiet --config small 2>&1)
        rc=$?
        [ $rc -eq 2 ] && case $out in *"no configs/small.cfg in $W/nodata"*) true ;; *) false ;; esac ||
            fail "IMS_DATA_DIR=$W/nodata: expected exit 2 naming it, got $rc: $out"
    fi
    echo "install_test: tree ok: $(find "$P" -type f | wc -l) files in $P"
}

step_cmake() {
    B=$W/consumer-cmake
    rm -rf "$B"
    tlm=OFF
    [ "$IMS_TLM" = 1 ] && tlm=ON
    run "$W/consumer-configure.log" "$IMS_CMAKE" -S "$IMS_SRC/tests/install/consumer" -B "$B" -G Ninja \
        -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_COMPILER="$IMS_CC" -DCMAKE_CXX_COMPILER="$IMS_CXX" \
        -DCMAKE_BUILD_TYPE="$IMS_BUILD_TYPE" -DIOMMUSIM_VERSION="$IMS_VERSION" -DIOMMUSIM_TLM=$tlm
    # The package in the test prefix, not some other installed copy.
    grep -qx "iommusim_DIR:PATH=$LIB/cmake/iommusim" "$B/CMakeCache.txt" ||
        fail "find_package found $(grep '^iommusim_DIR' "$B/CMakeCache.txt"), not $LIB/cmake/iommusim"
    run "$W/consumer-build.log" "$IMS_CMAKE" --build "$B"
    "$B/translate" "$W/cmake.itr.zst" || fail "C consumer (find_package, iommusim::core) failed"
    if [ "$IMS_TLM" = 1 ]; then
        "$B/tlm_iommu" || fail "SystemC consumer (find_package, iommusim::tlm) failed"
    fi
    echo "install_test: cmake consumer ok"
}

step_pkgconfig() {
    B=$W/consumer-pc
    S=$IMS_SRC/tests/install/consumer
    rm -rf "$B"
    mkdir -p "$B"
    PKG_CONFIG_PATH=$LIB/pkgconfig
    export PKG_CONFIG_PATH
    v=$(pkg-config --modversion iommusim) || fail "pkg-config does not find iommusim in $PKG_CONFIG_PATH"
    [ "$v" = "$IMS_VERSION" ] || fail "pkg-config iommusim version $v, expected $IMS_VERSION"
    d=$(pkg-config --variable=datadir iommusim)
    [ "$d" = "$P/share/iommusim" ] || fail "pkg-config datadir $d, expected $P/share/iommusim"
    # shellcheck disable=SC2046 # pkg-config's output is meant to be split
    run "$B/translate.log" "$IMS_CC" -std=c11 -Wall -Wextra -Werror -DEXPECT_VERSION="\"$v\"" "$S/translate.c" \
        $(pkg-config --static --cflags --libs iommusim) -o "$B/translate"
    "$B/translate" "$W/pc.itr.zst" || fail "C consumer (pkg-config iommusim) failed"
    if [ "$IMS_TLM" = 1 ]; then
        # shellcheck disable=SC2046
        run "$B/tlm_iommu.log" "$IMS_CXX" -std=c++17 -Wall -Wextra -Werror "$S/tlm_iommu.cpp" \
            $(pkg-config --static --cflags --libs iommusim-tlm) -o "$B/tlm_iommu"
        "$B/tlm_iommu" || fail "SystemC consumer (pkg-config iommusim-tlm) failed"
    fi
    echo "install_test: pkg-config consumer ok"
}

step_vp() {
    [ "$IMS_TLM" = 1 ] || fail "vp: the example needs the SystemC model (this build has IMS_CORE_ONLY)"
    B=$W/vp
    rm -rf "$B"
    mkdir -p "$W" || fail "cannot create $W"
    run "$W/vp-configure.log" "$IMS_CMAKE" -S "$IMS_SRC/examples/vp" -B "$B" -G Ninja -DCMAKE_PREFIX_PATH="$P" \
        -DCMAKE_C_COMPILER="$IMS_CC" -DCMAKE_CXX_COMPILER="$IMS_CXX" -DCMAKE_BUILD_TYPE="$IMS_BUILD_TYPE"
    grep -qx "iommusim_DIR:PATH=$LIB/cmake/iommusim" "$B/CMakeCache.txt" ||
        fail "vp: find_package found $(grep '^iommusim_DIR' "$B/CMakeCache.txt"), not $LIB/cmake/iommusim"
    run "$W/vp-build.log" "$IMS_CMAKE" --build "$B"
    if ! "$B/vp" >"$W/vp.log" 2>&1; then
        cat "$W/vp.log" >&2
        fail "vp: the example failed (log above)"
    fi
    tail -n 1 "$W/vp.log" | grep -qx "vp: ok" || { cat "$W/vp.log" >&2; fail "vp: exit 0 but no 'vp: ok' last"; }
    cat "$W/vp.log"
    # Its checks can fail: a driver that skips the IOTLB invalidation after
    # unmapping lets the DMA through on the stale translation.
    "$B/vp" --skip-unmap-flush >"$W/vp-stale.log" 2>&1
    rc=$?
    if [ $rc -ne 1 ] || ! grep -q "FAIL: the unmapped destination was written" "$W/vp-stale.log"; then
        cat "$W/vp-stale.log" >&2
        fail "vp --skip-unmap-flush: expected exit 1 and the stale write reported, got exit $rc"
    fi
    echo "install_test: vp example ok (and --skip-unmap-flush fails as it must)"
}

case ${1:-} in
tree) step_tree ;;
cmake) step_cmake ;;
pkgconfig) step_pkgconfig ;;
vp) step_vp ;;
*) fail "usage: install_test.sh tree|cmake|pkgconfig|vp" ;;
esac
