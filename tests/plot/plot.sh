#!/usr/bin/env bash
# `iommusim plot` and `iommusim run --plot`: every plot is produced and is a
# valid image (PNG: signature and IHDR with a non-zero size; SVG: parses as
# XML, root <svg>, draws paths); the command lists exactly the images it
# wrote, so a plot that goes missing fails here; the .dat and .gp files are
# kept and the .gp reruns; a plot the data cannot give is skipped with a
# note, not an error; no gnuplot is a clear error.
# Usage: plot.sh CASE BIN FIXTURE SRC SCRATCH
#   CASE: sweep | novary | runs | run | nognuplot | gnuplotfails
set -euo pipefail
export LC_ALL=C
case_=$1 bin=$2 fixture=$3 src=$4 tmp=$5
rm -rf "$tmp" && mkdir -p "$tmp" && cd "$tmp"
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

valid_png() {
    [ -s "$1" ] || fail "$1: missing or empty"
    local h
    h=$(head -c 24 "$1" | od -An -tx1 -v | tr -d ' \n')
    [ "${h:0:32}" = 89504e470d0a1a0a0000000d49484452 ] || fail "$1: not a PNG (signature and IHDR: $h)"
    [ "${h:32:8}" != 00000000 ] && [ "${h:40:8}" != 00000000 ] || fail "$1: PNG of zero width or height"
}
valid_svg() {
    [ -s "$1" ] || fail "$1: missing or empty"
    xmllint --noout "$1" 2>err.txt || fail "$1: does not parse as XML: $(head -3 err.txt)"
    [ "$(xmllint --xpath 'local-name(/*)' "$1")" = svg ] || fail "$1: root element is not svg"
    local n
    n=$(xmllint --xpath 'count(//*[local-name()="path"])' "$1")
    [ "$n" -gt 0 ] || fail "$1: draws nothing (no path element)"
}
# expect_plots DIR LISTING NAME...: the command listed DIR/NAME.png and
# DIR/NAME.svg for each NAME and nothing else; each image is valid, and its
# .dat and .gp are there.
expect_plots() {
    local dir=$1 listing=$2
    shift 2
    local want=() n
    for n in "$@"; do
        want+=("$dir/$n.png" "$dir/$n.svg")
        valid_png "$dir/$n.png"
        valid_svg "$dir/$n.svg"
        [ -s "$dir/$n.dat" ] || fail "$dir/$n.dat missing or empty"
        [ -s "$dir/$n.gp" ] || fail "$dir/$n.gp missing or empty"
    done
    diff <(printf '%s\n' "${want[@]}" | sort) <(sort "$listing") >d.txt ||
        fail "the images listed differ from the expected ones (< expected, > listed): $(cat d.txt)"
    for f in "$dir"/*.png "$dir"/*.svg; do
        # (grep -q on a pipe under pipefail: printf may die of SIGPIPE once grep has its match)
        grep -xF "$f" <(printf '%s\n' "${want[@]}") >/dev/null || fail "an image nobody expected: $f"

    done
    ! ls -a "$dir" | grep -q '\.tmp\.' || fail "a temporary file was left in $dir"
    echo "ok: $* (PNG and SVG valid)"
}

# A sweep directory by the contract: points/NNNN.json from iommusim run.
make_sweep() { # DIR TRACES SETS WALKERS [--failed ID]
    local d=$1 n=0
    mkdir -p "$d/points"
    for t in $2; do
        for s in $3; do
            for w in $4; do
                "$bin" run --quiet --trace "$t" --set iotlb.sets="$s" --set iotlb.ways=4 --set walker.count="$w" --set player.mode=closed \
                    --json "$(printf '%s/points/%04d.json' "$d" $n)"
                n=$((n + 1))
            done
        done
    done
    shift 4
    "$fixture" "$d" $((n + ${#@} / 2)) "$@" iotlb.sets walker.count
}

"$bin" trace gen nic --count 1500 --seed 2 nic.itr.zst >/dev/null
"$bin" trace gen random --count 1500 --seed 2 random.itr.zst >/dev/null

case $case_ in
sweep)
    make_sweep sw "nic.itr.zst random.itr.zst" "2 8 32" "1 4" --failed 12
    "$bin" plot sw >out.txt 2>err.txt || fail "plot: exit $?: $(cat err.txt)"
    ! grep -q skipped err.txt || fail "a plot was skipped: $(cat err.txt)"
    expect_plots sw/plots out.txt hit_rate_vs_iotlb walks_vs_walkers latency_cdf
    # A line per trace and walker count; the failed point is left out.
    [ "$(grep -c '^# ' sw/plots/hit_rate_vs_iotlb.dat)" = 5 ] || fail "hit_rate_vs_iotlb.dat: not 4 lines (+ header)"
    [ "$(grep -c '^# ' sw/plots/latency_cdf.dat)" = 13 ] || fail "latency_cdf.dat: not 12 curves (+ header)"
    grep -q '^# random walker.count=4$' sw/plots/hit_rate_vs_iotlb.dat || fail "hit_rate_vs_iotlb.dat: no line for random, 4 walkers"
    # The kept script redraws its plot.
    (cd sw/plots && rm hit_rate_vs_iotlb.png && gnuplot hit_rate_vs_iotlb.gp) || fail "hit_rate_vs_iotlb.gp does not rerun"
    valid_png sw/plots/hit_rate_vs_iotlb.png
    # --format svg: SVG only, into --out.
    "$bin" plot sw --out svg --format svg >out2.txt 2>err2.txt || fail "plot --format svg: $(cat err2.txt)"
    [ "$(ls svg/*.png 2>/dev/null | wc -l)" = 0 ] && [ "$(wc -l <out2.txt)" = 3 ] || fail "--format svg: $(cat out2.txt)"
    # --series trace: a line per trace only.
    "$bin" plot sw --out ser --series trace >/dev/null 2>err3.txt || fail "plot --series trace: $(cat err3.txt)"
    [ "$(grep '^# [a-z]*$' ser/hit_rate_vs_iotlb.dat | tr '\n' ' ')" = "# nic # random " ] ||
        fail "--series trace: lines $(grep '^# ' ser/hit_rate_vs_iotlb.dat)"
    # A short key stays at the right; more than 8 lines (or long labels) go
    # below the plot, in columns, and the image grows for them.
    grep -qx 'set key outside right top' sw/plots/hit_rate_vs_iotlb.gp || fail "4 short lines: the key is not at the right"
    ! grep -q 'key outside below' sw/plots/hit_rate_vs_iotlb.gp || fail "4 short lines: the key is below"
    "$bin" plot sw --out many --series trace,walker.count,iotlb.sets >/dev/null 2>err5.txt || fail "plot: $(cat err5.txt)"
    [ "$(grep -c '^# ' many/hit_rate_vs_iotlb.dat)" = 13 ] || fail "many: not 12 lines (+ header)"
    grep -Eqx 'set key outside below maxcols [1-9][0-9]*' many/hit_rate_vs_iotlb.gp || fail "12 lines: the key is not below"
    grep -q 'pngcairo size 900,6[0-9][0-9] ' many/hit_rate_vs_iotlb.gp || fail "12 lines: the image did not grow: $(grep pngcairo many/hit_rate_vs_iotlb.gp)"
    valid_png many/hit_rate_vs_iotlb.png
    if "$bin" plot sw --out ser --series nosuch >/dev/null 2>err4.txt; then fail "--series nosuch passed"; fi
    grep -q "^iommusim plot: --series: .*results.csv has no column 'nosuch'$" err4.txt || fail "--series nosuch: $(cat err4.txt)"
    ;;
novary)
    # One IOTLB size: no hit-rate curve to draw; the rest still comes.
    make_sweep nv "nic.itr.zst" "8" "1 2"
    "$bin" plot nv >out.txt 2>err.txt || fail "plot: exit $?: $(cat err.txt)"
    grep -qx 'iommusim plot: note: hit_rate_vs_iotlb skipped: .*' err.txt || fail "no note for the skipped plot: $(cat err.txt)"
    [ "$(grep -c skipped err.txt)" = 1 ] || fail "more than one plot skipped: $(cat err.txt)"
    expect_plots nv/plots out.txt walks_vs_walkers latency_cdf
    ;;
runs)
    make_sweep rs "nic.itr.zst random.itr.zst" "2 32" "2"
    "$bin" plot --runs --out rp rs/points/*.json >out.txt 2>err.txt || fail "plot --runs: $(cat err.txt)"
    grep -q 'walks_vs_walkers skipped' err.txt || fail "--runs: one walker count, yet no note: $(cat err.txt)"
    expect_plots rp out.txt hit_rate_vs_iotlb latency_cdf
    [ "$(grep -c '^# ' rp/hit_rate_vs_iotlb.dat)" = 3 ] || fail "--runs: not a line per trace: $(grep '^# ' rp/hit_rate_vs_iotlb.dat)"
    # Two lines, but labels past 40 characters: the key goes below.
    for s in 2 32; do
        for v in 20 21; do
            "$bin" run --quiet --trace nic.itr.zst --set iotlb.sets=$s --set mem.ptw_cache_latency=$v \
                --set player.window=$((v - 12)) --json long-$s-$v.json
        done
    done
    "$bin" plot --runs --out lp long-*.json >/dev/null 2>err.txt || fail "plot --runs, long labels: $(cat err.txt)"
    grep -q '^# nic mem.ptw_cache_latency=20 player.window=8$' lp/hit_rate_vs_iotlb.dat ||
        fail "long labels: $(grep '^# ' lp/hit_rate_vs_iotlb.dat)"
    grep -Eqx 'set key outside below maxcols [1-9][0-9]*' lp/hit_rate_vs_iotlb.gp || fail "long labels: the key is not below"
    valid_png lp/hit_rate_vs_iotlb.png
    ;;
run)
    "$bin" run --quiet --trace nic.itr.zst --interval 200 --interval-csv iv.csv --plot one >out.txt 2>err.txt ||
        fail "run --plot: $(cat err.txt)"
    ls one/*.png one/*.svg >listing.txt
    expect_plots one listing.txt latency_hist latency_cdf interval
    [ -s one/run.json ] || fail "run --plot: no one/run.json"
    # plot --run / --interval give the same plots from the files.
    "$bin" plot --run one/run.json --interval iv.csv --out again >out.txt 2>err.txt || fail "plot --run: $(cat err.txt)"
    expect_plots again out.txt latency_hist latency_cdf interval
    cmp -s one/interval.dat again/interval.dat || fail "interval.dat differs between run --plot and plot --interval"
    ;;
nognuplot)
    mkdir -p empty sw
    if PATH=$tmp/empty "$bin" run --quiet --trace nic.itr.zst --plot p >out.txt 2>&1; then fail "run --plot without gnuplot passed"; else rc=$?; fi
    [ $rc = 2 ] && grep -q 'gnuplot not found on PATH.*gnuplot-nox' out.txt || fail "run --plot, no gnuplot: exit $rc: $(cat out.txt)"
    [ ! -e p ] || fail "run --plot without gnuplot made its directory (the check must come first)"
    make_sweep sw "nic.itr.zst" "2 8" "1"
    if PATH=$tmp/empty "$bin" plot sw >out.txt 2>&1; then fail "plot without gnuplot passed"; else rc=$?; fi
    [ $rc = 2 ] && grep -q 'gnuplot not found on PATH.*gnuplot-nox' out.txt || fail "plot, no gnuplot: exit $rc: $(cat out.txt)"
    echo "ok: no gnuplot: exit 2 naming gnuplot-nox"
    ;;
gnuplotfails)
    # A gnuplot that warns and fails: plot exits 2, names the script and
    # passes on what gnuplot said; no image and no log are left behind.
    mkdir -p fake
    printf '#!/bin/sh\necho "line 3: planted failure" >&2\nexit 1\n' >fake/gnuplot
    chmod +x fake/gnuplot
    if PATH=$tmp/fake:$PATH "$bin" run --quiet --trace nic.itr.zst --plot p >out.txt 2>&1; then fail "run --plot with a failing gnuplot passed"; else rc=$?; fi
    [ $rc = 2 ] && grep -q 'gnuplot failed on p/latency_hist.gp' out.txt && grep -q 'planted failure' out.txt ||
        fail "failing gnuplot: exit $rc: $(cat out.txt)"
    [ -z "$(find p -name '*.png' -o -name '*.svg' -o -name '.*log*' -o -name '.*tmp*')" ] || fail "left behind: $(ls -a p)"
    # A real gnuplot's warnings on success stay out of the user's terminal:
    # a one-interval series makes gnuplot warn about an empty x range.
    "$bin" run --quiet --trace nic.itr.zst --interval 100000000 --interval-csv iv.csv --plot q >out.txt 2>&1 ||
        fail "one-interval plot failed: $(cat out.txt)"
    ! grep -qi 'warning' out.txt || fail "gnuplot warnings reached the terminal: $(cat out.txt)"
    [ -z "$(find q -name '.*log*')" ] || fail "logs left behind: $(ls -a q)"
    echo "ok: a failing gnuplot's words in the error, a working one's warnings kept quiet"
    ;;

*) fail "unknown case $case_" ;;
esac
