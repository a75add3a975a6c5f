#!/usr/bin/env bash
# `iommusim sweep` on local cores: the grid and its order, results.csv and
# results.json against the points' JSON, resuming, a changed plan, --gather,
# --jobs, --points files, SIGINT, progress output, --plot. Run by
# tests/sweep/CMakeLists.txt through tests/cli/expect.sh (which provides
# `ims`, the binary under test). Usage: sweep.sh CASE SCRATCH SOURCE_DIR BIN;
# prints "ok" when the case holds.
set -euo pipefail
case=$1 tmp=$2 src=$3 bin=$4
rm -rf "${tmp:?}/$case"
mkdir -p "$tmp/$case"
cd "$tmp/$case"
ln -s "$src/traces" shipped
fail() {
    echo "FAIL: $*"
    exit 1
}
# The JSON less its provenance line (what scripts/results.sh compares).
strip() { sed '/^  "provenance": /d' "$1"; }
# The CSV less its last column (wall_seconds, the one that differs run to run).
nowall() { sed 's/,[^,]*$//' "$1"; }
# Column NAME of row N (1 = the first point) of a CSV without quoted commas.
col() {
    awk -F, -v name="$2" -v row="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
        NR == row + 1 { print $c }' "$1"
}
grid=(--trace shipped/net.itr.zst shipped/nvme-strict.itr.zst --config default small
      --vary iotlb.ways=1,2 --vary walker.count=1..4:x2)

case $case in
order)
    # 2 traces x 2 configs x 2 x 3 values: 24 points, trace slowest, then the
    # config, then the --vary values in --vary order (the last fastest).
    ims sweep "${grid[@]}" --dry-run >plan.txt
    [ "$(wc -l <plan.txt)" -eq 25 ] || fail "expected 24 points and a summary: $(cat plan.txt)"
    sed -n 1p plan.txt | grep -qx '0000  shipped/net.itr.zst default iotlb.ways=1 walker.count=1' || fail "first: $(sed -n 1p plan.txt)"
    sed -n 2p plan.txt | grep -qx '0001  shipped/net.itr.zst default iotlb.ways=1 walker.count=2' || fail "second"
    sed -n 3p plan.txt | grep -qx '0002  shipped/net.itr.zst default iotlb.ways=1 walker.count=4' || fail "third"
    sed -n 4p plan.txt | grep -qx '0003  shipped/net.itr.zst default iotlb.ways=2 walker.count=1' || fail "fourth"
    sed -n 7p plan.txt | grep -qx '0006  shipped/net.itr.zst small iotlb.ways=1 walker.count=1' || fail "seventh"
    sed -n 13p plan.txt | grep -qx '0012  shipped/nvme-strict.itr.zst default iotlb.ways=1 walker.count=1' || fail "13th"
    sed -n 24p plan.txt | grep -qx '0023  shipped/nvme-strict.itr.zst small iotlb.ways=2 walker.count=4' || fail "last"
    grep -qx '24 points: 2 traces x 2 configurations x 6 combinations of the varied values' plan.txt || fail "summary"
    # Ranges: geometric, arithmetic with a step, step 1, mixed with plain values.
    ims sweep --trace shipped/net.itr.zst --vary iotlb.sets=16..4096:x4 --dry-run | cut -d' ' -f5 | head -n -1 | tr '\n' ' ' |
        grep -qx 'iotlb.sets=16 iotlb.sets=64 iotlb.sets=256 iotlb.sets=1024 iotlb.sets=4096 ' || fail "x4 range"
    ims sweep --trace shipped/net.itr.zst --vary walker.count=1..16:+5 --dry-run | cut -d' ' -f5 | head -n -1 | tr '\n' ' ' |
        grep -qx 'walker.count=1 walker.count=6 walker.count=11 walker.count=16 ' || fail "+5 range"
    ims sweep --trace shipped/net.itr.zst --vary walker.count=3,1..3,9 --dry-run | cut -d' ' -f5 | head -n -1 | tr '\n' ' ' |
        grep -qx 'walker.count=3 walker.count=1 walker.count=2 walker.count=3 walker.count=9 ' && fail "a repeated value was accepted"
    ims sweep --trace shipped/net.itr.zst --vary walker.count=7,1..3,9 --dry-run | cut -d' ' -f5 | head -n -1 | tr '\n' ' ' |
        grep -qx 'walker.count=7 walker.count=1 walker.count=2 walker.count=3 walker.count=9 ' || fail "mixed list"
    ;;
results)
    # Every row is its point's JSON: the CSV cells are the JSON's own text.
    ims sweep "${grid[@]}" --quiet --out out
    [ "$(wc -l <out/results.csv)" -eq 25 ] || fail "rows"
    head -n 1 out/results.csv | grep -qx 'point,trace,config,iotlb.ways,walker.count,status,translations,cycles,iotlb_entries,walkers,iotlb_hit_rate,ctx_cache_hit_rate,psc_l2_hit_rate,psc_l3_hit_rate,psc_l4_hit_rate,walks,walks_per_1k,ptw_reads_per_walk,latency_mean,latency_p50,latency_p90,latency_p99,latency_max,latency_mean_ns,latency_p99_ns,walker_occupancy,translations_per_us,faults,mismatches,json,wall_seconds' ||
        fail "header: $(head -n 1 out/results.csv)"
    for row in 1 6 17 24; do
        id=$(printf %04d $((row - 1)))
        j=out/points/$id.json
        [ "$(col out/results.csv point $row)" = "$id" ] || fail "row $row is not point $id"
        [ "$(col out/results.csv json $row)" = "points/$id.json" ] || fail "json column"
        [ "$(col out/results.csv status $row)" = ok ] || fail "status"
        # The point ran what its row says.
        w=$(col out/results.csv iotlb.ways $row) n=$(col out/results.csv walker.count $row)
        grep -q "^    \"iotlb.ways\": \"$w\",$" "$j" || fail "row $row: iotlb.ways $w is not in its JSON"
        grep -q "^    \"walker.count\": \"$n\",$" "$j" || fail "row $row: walker.count"
        [ "$(col out/results.csv walkers $row)" = "$n" ] || fail "walkers column"
        sets=$(grep -o '^    "iotlb.sets": "[0-9]*"' "$j" | grep -o '[0-9]*"$' | tr -d '"')
        [ "$(col out/results.csv iotlb_entries $row)" = $((sets * w)) ] || fail "iotlb_entries"
        for pair in translations:translations cycles:cycles walks:walks faults:faults mismatches:mismatches \
            ptw_reads_per_walk:ptw_reads_per_walk; do
            c=${pair%%:*} k=${pair#*:}
            v=$(grep -o "^  \"$k\": [-0-9.]*" "$j" | sed 's/.*: //')
            [ "$(col out/results.csv "$c" $row)" = "$v" ] || fail "row $row: $c '$(col out/results.csv "$c" $row)' is not the JSON's '$v'"
        done
        obj() { grep "^  \"$1\": " "$j" | grep -o "\"$2\": [-0-9.]*" | head -n 1 | sed 's/.*: //'; }
        [ "$(col out/results.csv iotlb_hit_rate $row)" = "$(obj iotlb hit_rate)" ] || fail "iotlb_hit_rate"
        [ "$(col out/results.csv ctx_cache_hit_rate $row)" = "$(obj context_cache hit_rate)" ] || fail "ctx hit rate"
        [ "$(col out/results.csv latency_mean $row)" = "$(obj latency_cycles mean)" ] || fail "latency_mean"
        [ "$(col out/results.csv latency_p99 $row)" = "$(obj latency_cycles p99)" ] || fail "latency_p99"
        [ "$(col out/results.csv latency_p99_ns $row)" = "$(obj latency_ns p99)" ] || fail "latency_p99_ns"
        [ "$(col out/results.csv walker_occupancy $row)" = "$(obj walker occupancy)" ] || fail "walker_occupancy"
        [ "$(col out/results.csv translations_per_us $row)" = "$(obj throughput translations_per_us)" ] || fail "tput"
        [ "$(col out/results.csv wall_seconds $row)" = "$(obj provenance wall_seconds)" ] || fail "wall_seconds"
        [ "$(col out/results.csv psc_l2_hit_rate $row)" = "$(grep -o '"l2": {[^}]*' "$j" | grep -o '"hit_rate": [0-9.]*' | sed 's/.*: //')" ] ||
            fail "psc_l2_hit_rate"
        t=$(col out/results.csv translations $row) wk=$(col out/results.csv walks $row)
        [ "$(col out/results.csv walks_per_1k $row)" = "$(awk -v w="$wk" -v t="$t" 'BEGIN { printf "%.3f", w * 1000 / t }')" ] ||
            fail "walks_per_1k"
    done
    [ "$(col out/results.csv trace 1)" = net ] && [ "$(col out/results.csv trace 13)" = nvme-strict ] || fail "trace names"
    [ "$(col out/results.csv config 1)" = default ] && [ "$(col out/results.csv config 7)" = small ] || fail "config names"
    # A point's JSON is what `iommusim run` writes for that point.
    ims run --quiet --trace shipped/nvme-strict.itr.zst --config small --set iotlb.ways=2 --set walker.count=4 --json one.json
    cmp <(strip one.json) <(strip out/points/0023.json) || fail "point 0023 is not the run of its point"
    # results.json: the same rows, numbers as numbers.
    grep -q '"schema": "iommusim-sweep-results/1"' out/results.json || fail "results.json schema"
    [ "$(grep -c '^    {"point": ' out/results.json)" -eq 24 ] || fail "results.json rows"
    tr1=$(col out/results.csv translations 1) hr=$(col out/results.csv iotlb_hit_rate 1)
    grep -q "^    {\"point\": \"0000\", \"trace\": \"net\", \"config\": \"default\", \"iotlb.ways\": 1, \"walker.count\": 1, \"status\": \"ok\", \"translations\": $tr1, .*\"iotlb_hit_rate\": $hr, .*\"json\": \"points/0000.json\", \"wall_seconds\": [0-9.]*}" out/results.json ||
        fail "results.json row 0: $(grep -m1 '"point": "0000"' out/results.json)"
    # A fully associative IOTLB (iotlb.ways=full: one set of iotlb.entries
    # ways) has its entries in the column too, and plot reads the file.
    ims sweep --trace shipped/net.itr.zst --vary iotlb.ways=full --vary iotlb.entries=32,64 --quiet --out full
    [ "$(col full/results.csv iotlb_entries 1)" = 32 ] && [ "$(col full/results.csv iotlb_entries 2)" = 64 ] ||
        fail "iotlb.ways=full: iotlb_entries '$(col full/results.csv iotlb_entries 1)', '$(col full/results.csv iotlb_entries 2)'"
    grep -q '"schema": "iommusim-sweep/1"' out/sweep.json || fail "plan schema"
    grep -qF '{"id": "0023", "trace": "shipped/nvme-strict.itr.zst", "config": "small", "overrides": ["iotlb.ways=2", "walker.count=4"]}' out/sweep.json ||
        fail "plan point 23"
    ;;
resume)
    ims sweep "${grid[@]}" --quiet --out out
    cp out/results.csv first.csv
    touch -d '2000-01-01' out/points/*.json
    ims sweep "${grid[@]}" --out out 2>log
    grep -q '^iommusim sweep: 24 points, 24 done before, 0 to run' log || fail "not skipped: $(cat log)"
    [ -z "$(find out/points -name '*.json' -newer first.csv)" ] || fail "a done point was rewritten"
    cmp first.csv out/results.csv || fail "results changed"
    # A result that is not the point's (another configuration, another
    # trace digest, not a run result, unreadable) is run again; the rest not.
    sed -i 's/^    "walker.count": "[0-9]*",$/    "walker.count": "99",/' out/points/0003.json
    sed -i 's/"digest": "sha256:[0-9a-f]*"/"digest": "sha256:00"/' out/points/0010.json
    echo '{"schema": "other"}' >out/points/0015.json
    head -c 100 out/points/0020.json >cut && mv cut out/points/0020.json
    rm out/points/0021.json
    ims sweep "${grid[@]}" --out out 2>log
    grep -q '^iommusim sweep: 24 points, 19 done before, 5 to run' log || fail "not 5 rerun: $(cat log)"
    for id in 0003 0010 0015 0020 0021; do grep -q "^iommusim sweep: point $id ok" log || fail "$id not rerun"; done
    [ "$(grep -c '^iommusim sweep: point ' log)" -eq 5 ] || fail "others rerun"
    cmp <(nowall first.csv) <(nowall out/results.csv) || fail "resumed results differ"
    # A different plan in the same directory: refused, nothing touched.
    set +e
    ims sweep --trace shipped/net.itr.zst --vary iotlb.ways=1,4 --out out 2>log
    rc=$?
    set -e
    [ $rc -eq 2 ] || fail "changed plan: exit $rc"
    grep -q 'out/sweep.json holds another plan .*--force replaces it' log || fail "message: $(cat log)"
    cmp <(nowall first.csv) <(nowall out/results.csv) || fail "refused plan touched results"
    # --force: the new plan; point files beyond it are removed.
    ims sweep --trace shipped/net.itr.zst --vary iotlb.ways=1,4 --out out --force --quiet
    [ "$(ls out/points | wc -l)" -eq 2 ] || fail "--force left $(ls out/points)"
    [ "$(wc -l <out/results.csv)" -eq 3 ] || fail "--force results"
    [ "$(col out/results.csv iotlb.ways 2)" = 4 ] || fail "--force did not run the new plan"
    grep -q '"iotlb.ways": "4"' out/points/0001.json || fail "point 1 of the new plan"
    ;;
gather)
    # --gather rebuilds the same bytes from the points alone.
    ims sweep "${grid[@]}" --quiet --out out
    mv out/results.csv a.csv
    mv out/results.json a.json
    (cd / && ims sweep --gather "$OLDPWD/out")
    cmp a.csv out/results.csv || fail "gathered CSV differs"
    cmp a.json out/results.json || fail "gathered JSON differs"
    # A point without its result is a failed row with empty metrics; exit 1.
    rm out/points/0005.json
    set +e
    ims sweep --gather out 2>log
    rc=$?
    set -e
    [ $rc -eq 1 ] || fail "gather with a missing point: exit $rc"
    grep -q '^iommusim sweep: 1 of 24 points failed' log || fail "$(cat log)"
    grep -qx '0005,net,default,2,4,failed,,,,,,,,,,,,,,,,,,,,,,,,,' out/results.csv || fail "failed row: $(grep ^0005 out/results.csv)"
    grep -q '{"point": "0005", .*"status": "failed", "translations": null, ' out/results.json || fail "failed JSON row"
    ;;
jobs)
    # One job or two: the same results (wall time aside).
    ims sweep "${grid[@]}" --quiet --jobs 1 --out one
    ims sweep "${grid[@]}" --quiet --jobs 2 --out two
    cmp <(nowall one/results.csv) <(nowall two/results.csv) || fail "--jobs 1 and 2 differ"
    for j in one/points/*.json; do cmp <(strip "$j") <(strip "two/points/${j#one/points/}") || fail "$j differs"; done
    # Two points at a time keep the CPUs busy: each decompresses on its
    # reader's thread (run --read-ahead off); one at a time, run decides.
    for j in two/points/*.json; do
        grep -q '"command": \[[^]]*"--read-ahead", "off"' "$j" || fail "$j: not --read-ahead off"
    done
    for j in one/points/*.json; do
        grep -q '"command": \[[^]]*"--read-ahead", "auto"' "$j" || fail "$j: not --read-ahead auto"
    done
    ;;
points)
    cat >list.txt <<'EOF'
# a hand-picked list: one point per line
iotlb.ways=2 walker.count=4   # a comment after a point

walker.count=1
iotlb.sets=16 iotlb.ways=1
EOF
    ims sweep --trace shipped/net.itr.zst --points list.txt --dry-run >plan.txt
    grep -qx '0000  shipped/net.itr.zst default iotlb.ways=2 walker.count=4' plan.txt || fail "line 2: $(cat plan.txt)"
    grep -qx '0001  shipped/net.itr.zst default walker.count=1' plan.txt || fail "line 4"
    grep -qx '0002  shipped/net.itr.zst default iotlb.sets=16 iotlb.ways=1' plan.txt || fail "line 5"
    grep -qx '3 points: 1 traces x 1 configurations x 3 lines of the points file' plan.txt || fail "summary"
    ims sweep --trace shipped/net.itr.zst --points list.txt --quiet --out out
    # Columns: the keys in order of first use; a key a point does not set
    # shows its effective value (from the configuration).
    head -n 1 out/results.csv | grep -q '^point,trace,config,iotlb.ways,walker.count,iotlb.sets,status,' || fail "columns"
    grep -q '^0001,net,default,8,1,64,ok,' out/results.csv || fail "row 1: $(grep ^0001 out/results.csv)"
    grep -q '^0002,net,default,1,4,16,ok,' out/results.csv || fail "row 2: $(grep ^0002 out/results.csv)"
    ;;
interrupt)
    # SIGINT: running points are stopped, no partial result or temporary
    # file is left, the exit status is 130, and the same command resumes.
    ims trace gen nic --count 2000000 --seed 2 big.itr.zst >/dev/null
    set +e
    # One job: once point 0000 is done and 0001 runs (its .err exists), the
    # signal comes well before 0001 can finish (a point takes most of a second).
    "$bin" sweep --trace big.itr.zst --vary iotlb.ways=1..6 --jobs 1 --out out 2>log &
    pid=$!
    # Waits as long as the machine needs (a loaded machine under ASan takes
    # minutes for point 0000); ctest's timeout bounds it.
    until [ -e out/points/0000.json ] && [ -e out/points/0001.err ]; do
        kill -0 $pid 2>/dev/null || fail "the sweep ended before point 0001 started: $(cat log)"
        sleep 0.05
    done
    sleep 0.1
    kill -INT $pid
    wait $pid
    rc=$?
    set -e
    [ $rc -eq 130 ] || fail "exit $rc after SIGINT: $(cat log)"
    grep -q 'interrupted (Interrupt): the points that finished are kept; the same command resumes' log || fail "$(cat log)"
    ! ls out/points | grep -v '^[0-9]*\.json$' | grep -q . || fail "left behind: $(ls out/points)"
    [ -e out/points/0000.json ] || fail "point 0000 did not finish before the signal"
    [ ! -e out/points/0001.json ] || fail "point 0001, running at the signal, was not stopped"
    ! pgrep -f -- "sweep --trace big.itr.zst --vary iotlb.ways=1..6 --jobs 1" >/dev/null || fail "a point still runs"
    done_before=$(ls out/points | wc -l)
    ims sweep --trace big.itr.zst --vary iotlb.ways=1..6 --out out 2>log
    grep -q "^iommusim sweep: 6 points, $done_before done before" log || fail "resume: $(cat log)"
    [ "$(grep -c ',ok,' out/results.csv)" -eq 6 ] || fail "not all ok after resuming"
    ;;
progress)
    # Not a terminal: one line per point; --quiet: nothing.
    ims sweep --trace shipped/net.itr.zst --vary iotlb.ways=1,2,4 --out out 2>log
    [ "$(grep -c '^iommusim sweep: point 000[0-2] ok ([0-9.]* s): shipped/net.itr.zst default iotlb.ways=[124]$' log)" -eq 3 ] ||
        fail "log: $(cat log)"
    rm -r out
    ims sweep --trace shipped/net.itr.zst --vary iotlb.ways=1,2,4 --out out --quiet 2>log
    [ ! -s log ] || fail "--quiet printed: $(cat log)"
    # A terminal: a progress bar with the ETA (script(1), from util-linux,
    # essential on Debian, gives a pty).
    rm -r out
    script -qec "$(printf '%q ' "$bin" sweep --trace shipped/net.itr.zst --vary iotlb.ways=1,2,4 --out out)" /dev/null >tty.txt
    tr '\r' '\n' <tty.txt | grep -q '^.*\[#*\.*\] 3/3 points  elapsed 0:0[0-9]  ETA 0:00' || fail "no bar: $(cat -v tty.txt)"
    grep -q 'point 0001 ok' tty.txt && fail "per-point lines on a terminal"
    ;;
fails)
    # A point that fails at run time: reported with its stderr tail, kept in
    # points/ID.err; the other points finish; exit 1; a rerun retries it only.
    cp "$src/tests/bad-inputs/files/run_backward_ts.itt" bad.itt
    set +e
    ims sweep --trace bad.itt shipped/net.itr.zst --vary iotlb.ways=1,2 --jobs 1 --out out 2>log
    rc=$?
    set -e
    [ $rc -eq 1 ] || fail "exit $rc"
    grep -q "^iommusim sweep: point 0000 FAILED (exit 2): bad.itt default iotlb.ways=1; stderr (out/points/0000.err):$" log || fail "$(cat log)"
    grep -q "^  | iommusim run: bad.itt: record 4 (dma): timestamp 40 before the previous dma" log || fail "no stderr tail: $(cat log)"
    grep -q "^iommusim sweep: 2 of 4 points failed" log || fail "count"
    grep -q "timestamp 40 before" out/points/0001.err || fail "0001.err"
    [ "$(col out/results.csv status 3)" = ok ] && [ "$(col out/results.csv status 4)" = ok ] || fail "the points after the failed ones"
    [ "$(grep -c ",ok," out/results.csv)" -eq 2 ] && [ "$(grep -c ",failed," out/results.csv)" -eq 2 ] || fail "rows"
    cp shipped/net.itr.zst bad.itt # repaired: the failed points run, the others are kept
    set +e
    ims sweep --trace bad.itt shipped/net.itr.zst --vary iotlb.ways=1,2 --out out 2>log
    rc=$?
    set -e
    [ $rc -eq 0 ] || fail "after the repair: exit $rc: $(cat log)"
    grep -q "^iommusim sweep: 4 points, 2 done before, 2 to run" log || fail "$(cat log)"
    [ ! -e out/points/0000.err ] || fail "a stale .err"
    ;;
plot)
    # --plot: after gathering, DIR/plots holds the sweep's plots (only the
    # format asked for); --gather --plot redraws them; without gnuplot the
    # sweep stops before any point runs.
    png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$1: not a PNG"; }
    ims sweep --trace shipped/net.itr.zst --vary iotlb.entries=64,256,1024 --vary walker.count=1,4 --quiet \
        --plot-format png --out out >list 2>log || fail "sweep --plot: $(cat log)"
    for p in hit_rate_vs_iotlb walks_vs_walkers latency_cdf; do
        png "out/plots/$p.png"
        grep -qx "out/plots/$p.png" list || fail "$p.png not listed: $(cat list)"
        [ ! -e "out/plots/$p.svg" ] || fail "$p.svg drawn with --plot-format png"
    done
    rm -r out/plots
    ims sweep --gather out --plot >list 2>log || fail "gather --plot: $(cat log)"
    png out/plots/hit_rate_vs_iotlb.png
    [ -s out/plots/latency_cdf.svg ] || fail "--plot draws SVG too by default"
    mkdir nognuplot
    set +e
    PATH=$PWD/nognuplot ims sweep --trace shipped/net.itr.zst --vary walker.count=1,2 --plot --out out2 2>log
    rc=$?
    set -e
    [ $rc -eq 2 ] && grep -q "gnuplot-nox" log || fail "no gnuplot: exit $rc: $(cat log)"
    [ ! -e out2/points ] || [ -z "$(ls out2/points)" ] || fail "points ran without gnuplot: $(ls out2/points)"
    ;;
*)

    fail "unknown case $case"
    ;;
esac
echo ok
