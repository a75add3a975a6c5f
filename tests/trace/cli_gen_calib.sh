#!/usr/bin/env bash
# trace gen calib --from RECORDING (docs/tools.md, "Calibrated generation"):
# for each recording given, the generated trace (same length in page
# accesses, the default) must have
# - exactly the recording's distinct pages (`trace info`),
# - reuse-distance p50, p90 and p99 each within TOL of the recording's, where
#   TOL = max(3 pages, 15 % of the recording's value),
# - the recording's unmap shape: strict (page-selective invalidations, as many
#   as unmaps) or deferred (domain flushes only), and unmapped pages within
#   15 % of the recording's (+- 3);
# and replay with zero mismatches, every DMA checked. The same seed gives the
# same bytes; another seed other bytes. A missing --from and an unreadable
# recording exit 2 naming the problem.
# Usage: cli_gen_calib.sh IOMMUSIM SCRATCH_DIR RECORDING...
set -eu
bin=$1 d=$2
shift 2
mkdir -p "$d"
fail() { echo "FAIL: $*"; exit 1; }
# info FILE: "pages p50 p90 p99" from `trace info`.
info() {
    "$bin" trace info "$1" | sed -n -e 's/^distinct 4 KiB pages touched: \([0-9]*\) .*/P \1/p' \
        -e 's/^reuse distance: p50 \([0-9]*\), p90 \([0-9]*\), p99 \([0-9]*\),.*/R \1 \2 \3/p' | tr '\n' ' '
}
# counts FILE: "unmap-pages page-invs domain-invs" from the text form.
counts() {
    "$bin" trace convert "$1" "$d/c.itt" >/dev/null
    awk 'function num(s,  i, v, c) { if (s !~ /^0x/) return s + 0; v = 0
                                     for (i = 3; i <= length(s); i++) { c = index("0123456789abcdef", tolower(substr(s, i, 1))) - 1; v = v * 16 + c }
                                     return v }
         $1 == "unmap" { for (i = 2; i <= NF; i++) if ($i ~ /^size=/) p += int((num(substr($i, 6)) + 4095) / 4096) }
         $1 == "inv-iotlb" { if ($0 ~ / page /) pg++; else dm++ }
         END { printf "%d %d %d\n", p, pg, dm }' "$d/c.itt"
}
within() { # within NAME SRC GEN
    local tol=$(($2 * 15 / 100))
    [ "$tol" -lt 3 ] && tol=3
    local diff=$(($3 - $2))
    [ "${diff#-}" -le "$tol" ] || fail "$rec: $1: generated $3, recording $2 (tolerance $tol)"
}
n=0
for rec in "$@"; do
    b=$d/$(basename "$rec" .itr.zst)
    "$bin" trace gen calib --from "$rec" --seed 7 "$b.itr" >/dev/null
    read -r _ sp _ s50 s90 s99 <<<"$(info "$rec")"
    read -r _ gp _ g50 g90 g99 <<<"$(info "$b.itr")"
    [ -n "$sp" ] && [ -n "$s99" ] || fail "$rec: no footprint or reuse line in trace info"
    [ "$gp" = "$sp" ] || fail "$rec: generated $gp distinct pages, recording $sp"
    within p50 "$s50" "$g50"
    within p90 "$s90" "$g90"
    within p99 "$s99" "$g99"
    read -r su spg sdm <<<"$(counts "$rec")"
    read -r gu gpg gdm <<<"$(counts "$b.itr")"
    within "unmapped pages" "$su" "$gu"
    if [ "$spg" -ge "$sdm" ]; then
        [ "$gdm" = 0 ] && [ "$gpg" = "$gu" ] || fail "$rec: strict source, generated $gpg page / $gdm domain invalidations for $gu unmaps"
    else
        [ "$gpg" = 0 ] && [ "$gdm" -ge 1 ] || fail "$rec: deferred source, generated $gpg page / $gdm domain invalidations"
    fi
    "$bin" run --quiet --trace "$b.itr" --json "$b.json" >/dev/null || fail "$rec: run of the generated trace failed"
    grep -q '"mismatches": 0,' "$b.json" || fail "$rec: generated trace replays with mismatches"
    ! grep -q '"checked": 0,' "$b.json" || fail "$rec: no DMA checked"
    echo "$(basename "$rec"): pages $sp/$gp p50 $s50/$g50 p90 $s90/$g90 p99 $s99/$g99 unmapped $su/$gu invalidations page $spg/$gpg domain $sdm/$gdm"
    n=$((n + 1))
done
rec=$1
"$bin" trace gen calib --from "$rec" --seed 7 --count 3000 "$d/a.itr" >/dev/null
"$bin" trace gen calib --from "$rec" --seed 7 --count 3000 "$d/b.itr" >/dev/null
"$bin" trace gen calib --from "$rec" --seed 8 --count 3000 "$d/c.itr" >/dev/null
cmp -s "$d/a.itr" "$d/b.itr" || fail "seed 7 twice: different files"
! cmp -s "$d/a.itr" "$d/c.itr" || fail "seeds 7 and 8: the same file"
set +e
out=$("$bin" trace gen calib --count 10 "$d/x.itr" 2>&1); rc=$?
[ $rc = 2 ] && [[ $out == *"--from RECORDING is required"* ]] || fail "no --from: exit $rc, '$out'"
out=$("$bin" trace gen calib --from "$d/missing.itr" "$d/x.itr" 2>&1); rc=$?
[ $rc = 2 ] && [[ $out == *"missing.itr"* ]] || fail "missing recording: exit $rc, '$out'"
[ ! -e "$d/x.itr" ] || fail "a failed generation left its output"
echo "ok $n recordings"
