#!/usr/bin/env bash
# `trace gen svm --pri on` (docs/tools.md, "svm --pri on"): the record
# sequence of first touches through page requests, read from the text form:
# the device is attached `sm dte pre`; every DMA record that touches a heap
# page not mapped yet is followed at once by the OS's pmap of exactly those
# pages and one `pgresp ... prg=G resp=success`, both --pri-service ns after
# the DMA, with G = 0, 1, 2, ... modulo 512 (more than 512 groups, so the
# wrap is seen); no pmap without such a DMA before it; nothing else between
# a first touch and its pgresp; every expected address is the frame the
# page's pmap gives (plus the VM's RAM base with --nested); DMA timestamps
# never decrease. Then: the same seed gives the same bytes (text and
# binary); the DMA records are --pri off's but for their timestamps, and
# --pri off has no page requests; `trace validate` finds 0 problems with
# every DMA checked (the first touches after their retry), and refuses the
# trace without its last pgresp, naming its first touch. With `run`:
# `iommusim run` replays it (open and closed loop) with 0 mismatches, and
# its JSON "pri" has one page request, group, queued descriptor, success
# response, retry and latency sample per first touch and nothing else (no
# overflow, drop, refusal, auto response, stale response, retry without
# access, untranslated part); open loop, the retries' median latency is at
# least the service time (5000 ns = 5000 cycles at the default 1000 MHz:
# the retry waits for the pgresp's timestamp).
# Usage: cli_svm_pri.sh IOMMUSIM SCRATCH_DIR [run]
set -eu
bin=$1 d=$2 with_run=${3:-}
mkdir -p "$d"
fail() { echo "FAIL: $*"; exit 1; }
svc=5000
# shape FILE.itt NESTED(0|1) SERVICE FIRST: checks the sequence; prints
# "groups N"; writes the record index of every first touch, one a line,
# to FIRST.
shape() {
    awk -v nested="$2" -v svc="$3" -v list="$4" '
    function hex(s,   v, i, c) {
        s = tolower(s); sub(/^0x/, "", s); v = 0
        for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)); v = v * 16 + c - 1 }
        return v
    }
    function f(name,   i, a) {
        for (i = 2; i <= NF; i++) if (index($i, name "=") == 1) return substr($i, length(name) + 2)
        return ""
    }
    # mawk formats large numbers with %.6g in array subscripts: keys are made exact.
    function K(pid, pg) { return pid ":" sprintf("%.0f", pg) }
    function has(word,   i) { for (i = 2; i <= NF; i++) if ($i == word) return 1; return 0 }
    function bad(msg) { printf "line %d (%s): %s\n", NR, $0, msg; err = 1; exit 1 }
    BEGIN { P = 4096; vmram = nested ? 4294967296 : 0; prg = 0; groups = 0; rec = -1; lastdma = -1 }
    /^(version|mode|creator|source|device) / || /^#/ || NF == 0 { next }
    { rec++; t = f("t"); ts = t == "" ? 0 : t + 0 }
    $1 == "attach" { if (!has("sm") || !has("dte") || !has("pre")) bad("attach without sm dte pre"); attached = 1; next }
    pending && $1 != "pmap" && $1 != "pgresp" { bad("a " $1 " between a first touch and its pgresp") }
    $1 == "dma" {
        if (!attached) bad("dma before attach")
        if (ts < lastdma) bad("dma timestamp goes back")
        lastdma = ts
        pid = f("pasid") - 1; va = hex(f("iova")); n = f("size") + 0; want = hex(f("expect"))
        if (f("expect") == "") bad("dma without expect=")
        first = va - va % P; last = va + n - 1; last -= last % P
        need = 0
        for (pg = first; pg <= last; pg += P) if (!(K(pid, pg) in frame)) { need++; wanted[K(0, pg)] = 1 }
        if (need) {
            pending = 1; gpasid = f("pasid"); gts = ts; gva = va; gwant = want; gpid = pid
            print rec >list; groups++
        } else if (frame[K(pid, first)] + vmram + va - first != want) {
            bad("expect is not the frame of the page'"'"'s pmap")
        }
        next
    }
    $1 == "pmap" {
        if (!pending) bad("pmap without a first touch before it")
        pg = hex(f("va")); pid = f("pid") + 0
        if (pid != gpid || !(K(0, pg) in wanted)) bad("pmap of a page the first touch did not need")
        if (f("size") != "0x1000") bad("pmap not of one 4 KiB page")
        if (ts != gts + svc) bad("pmap not " svc " ns after its dma (" gts ")")
        frame[K(pid, pg)] = hex(f("pa")); delete wanted[K(0, pg)]; need--
        if (pg == gva - gva % P && frame[K(pid, pg)] + vmram + gva - pg != gwant)
            bad("the first touch'"'"'s expect is not this frame")
        next
    }
    $1 == "pgresp" {
        if (!pending) bad("pgresp without a first touch before it")
        if (need) bad("pgresp before every page of the first touch is mapped")
        if (f("rid") != "03:00.0" || f("pasid") != gpasid) bad("pgresp not for the device and PASID " gpasid)
        if (f("prg") + 0 != prg) bad("prg " f("prg") ", expected " prg)
        if (f("resp") != "success") bad("resp not success")
        if (ts != gts + svc) bad("pgresp not " svc " ns after its dma (" gts ")")
        pending = 0; prg = (prg + 1) % 512
        next
    }
    $1 == "punmap" {
        pid = f("pid") + 0; va = hex(f("va")); n = hex(f("size"))
        for (pg = va; pg < va + n; pg += P) {
            if (!(K(pid, pg) in frame)) bad("punmap of a page not mapped")
            delete frame[K(pid, pg)]
        }
        next
    }
    END {
        if (err) exit 1
        if (pending) { print "end of trace with a first touch unanswered"; exit 1 }
        print "groups " groups
    }' "$1"
}

for mode in flat nested; do
    opt=; nest=0
    [ $mode = nested ] && { opt=--nested; nest=1; }
    g=(trace gen svm --count 6000 --seed 7 --processes 3 $opt)
    "$bin" "${g[@]}" --pri on --pri-service $svc "$d/$mode.itt" >/dev/null
    "$bin" "${g[@]}" --pri on --pri-service $svc "$d/$mode-again.itt" >/dev/null
    "$bin" "${g[@]}" --pri on --pri-service $svc "$d/$mode.itr.zst" >/dev/null
    "$bin" "${g[@]}" --pri on --pri-service $svc "$d/$mode-again.itr.zst" >/dev/null
    cmp -s "$d/$mode.itt" "$d/$mode-again.itt" || fail "$mode: the same seed gave different text"
    cmp -s "$d/$mode.itr.zst" "$d/$mode-again.itr.zst" || fail "$mode: the same seed gave different files"
    "$bin" trace convert "$d/$mode.itr.zst" "$d/$mode-conv.itt" >/dev/null
    cmp -s "$d/$mode.itt" "$d/$mode-conv.itt" || fail "$mode: binary and text forms differ"
    out=$(shape "$d/$mode.itt" $nest $svc "$d/$mode.first") || fail "$mode: $out"
    groups=${out#groups }
    [ "$groups" -gt 512 ] || fail "$mode: only $groups page request groups (the prg wrap is not seen)"
    [ "$(grep -c '^pgresp' "$d/$mode.itt")" = "$groups" ] || fail "$mode: pgresp count is not $groups"
    # The DMA records are --pri off's, timestamps aside.
    "$bin" "${g[@]}" "$d/$mode-off.itt" >/dev/null
    ! grep -q '^pgresp\|^attach.* pre' "$d/$mode-off.itt" || fail "$mode: --pri off has page requests"
    diff <(grep '^dma' "$d/$mode.itt" | sed 's/ t=[0-9]*//') \
         <(grep '^dma' "$d/$mode-off.itt" | sed 's/ t=[0-9]*//') >/dev/null ||
        fail "$mode: the DMA records differ from --pri off's"
    # The default service time is in the source field, and moves the times.
    "$bin" "${g[@]}" --pri on "$d/$mode-default.itt" >/dev/null
    grep -q '^source .* --pri on --pri-service 10000$' "$d/$mode-default.itt" || fail "$mode: source field"
    out=$(shape "$d/$mode-default.itt" $nest 10000 /dev/null) || fail "$mode (default service): $out"
    # trace validate: every DMA checked, none disagreeing.
    v=$("$bin" trace validate "$d/$mode.itr.zst") || fail "$mode: validate: $v"
    [[ $v == *"valid: "*", 6000 dma (6000 requests, 6000 checked), 0 problems"* ]] || fail "$mode: validate: $v"
    # Without its last pgresp the trace is refused, naming the last first touch.
    tac "$d/$mode.itt" | sed '0,/^pgresp/{/^pgresp/d}' | tac >"$d/$mode-lost.itt"
    rc=0
    v=$("$bin" trace validate "$d/$mode-lost.itt" 2>&1) || rc=$?
    last=$(tail -1 "$d/$mode.first")
    [ $rc != 0 ] && [[ $v == *"record $last (dma"*"page request group $(((groups - 1) % 512)) of 03:00.0 pasid "*" has no pgresp"* ]] ||
        fail "$mode: a lost pgresp (exit $rc): $v"
    [ -n "$with_run" ] || continue
    for loop in open closed; do
        j=$d/$mode-$loop.json
        "$bin" run --quiet --trace "$d/$mode.itr.zst" --set player.mode=$loop --json "$j" >/dev/null ||
            fail "$mode $loop: run exited $?"
        [ "$(grep -o '"mismatches": [0-9]*' "$j" | head -1)" = '"mismatches": 0' ] || fail "$mode $loop: mismatches"
        pri=$(grep -o '"pri": {"page_requests".*' "$j" | head -1)
        [ -n "$pri" ] || fail "$mode $loop: no \"pri\" in the JSON"
        for kv in page_requests=$groups groups=$groups queued=$groups success=$groups retries=$groups \
                  overflows=0 dropped=0 refused=0 auto_responses=0 stale_responses=0 retry_no_access=0 \
                  untranslated=0 count=$groups; do
            got=$(printf '%s' "$pri" | grep -o "\"${kv%=*}\": [0-9]*" | head -1 | sed 's/.*: //')
            [ "$got" = "${kv#*=}" ] || fail "$mode $loop: pri ${kv%=*} is '$got', expected ${kv#*=}"
        done
        if [ $loop = open ]; then
            p50=$(printf '%s' "$pri" | grep -o '"p50": [0-9]*' | head -1 | sed 's/.*: //')
            [ "$p50" -ge $svc ] || fail "$mode: retry latency p50 $p50 below the service time $svc"
        fi
    done
done
echo ok
