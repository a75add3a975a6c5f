#!/usr/bin/env bash
# trace gen nic --pool / --hugepages (docs/tools.md): packet buffers from one
# pool mapped once, with 4 KiB or 2 MiB pages. On the same trace shape (seed,
# count, 64 MiB pool, 16,384 buffers cycled in turn):
# - the pool is one MAP record, never unmapped, with no invalidation after the
#   start (per-packet mapping is off);
# - --hugepages on: the pool's IOVA and PA are 2 MiB aligned and the IOTLB's
#   compulsory misses are at most 32 pool pages + 2 ring pages (so its entries
#   are 2 MiB pages: 4 KiB ones would need one per buffer page touched);
#   --hugepages off: the PA is not 2 MiB aligned and there are thousands;
# - 2 MiB pages give fewer IOTLB misses and fewer walks than 4 KiB pages;
# - both replay with zero mismatches;
# and bad combinations exit 2 naming the option.
# Usage: cli_gen_nic_pool.sh IOMMUSIM SCRATCH_DIR
set -eu
bin=$1 d=$2
mkdir -p "$d"
fail() { echo "FAIL: $*"; exit 1; }
json() { grep -o "\"$1\": *[0-9.e+-]*" "$2" | head -1 | sed 's/.*: *//'; }
for hp in off on; do
    "$bin" trace gen nic --count 20000 --seed 4 --warmup 0 --pool 64m --hugepages $hp "$d/$hp.itt" >/dev/null
    maps=$(grep -c '^map ' "$d/$hp.itt")
    [ "$maps" = 3 ] || fail "hugepages $hp: $maps map records, expected 3 (two rings and the pool)"
    ! grep -q '^unmap \|^inv-iotlb ' "$d/$hp.itt" || fail "hugepages $hp: unmaps or invalidations with a pool"
    pool=$(grep '^map .*iova=0x100000000 ' "$d/$hp.itt") || fail "hugepages $hp: no pool map at 4 GiB"
    [[ $pool == *size=0x4000000* ]] || fail "hugepages $hp: pool map '$pool' is not 64 MiB"
    pa=$(sed 's/.* pa=\(0x[0-9a-f]*\) .*/\1/' <<<"$pool")
    "$bin" run --quiet --trace "$d/$hp.itt" --set stats.miss_classes=1 --json "$d/$hp.json" >/dev/null ||
        fail "hugepages $hp: run failed"
    grep -q '"mismatches": 0,' "$d/$hp.json" || fail "hugepages $hp: mismatches"
    eval "pa_$hp=$pa"
done
(( pa_on % 0x200000 == 0 )) || fail "hugepages on: pool PA $pa_on is not 2 MiB aligned"
(( pa_off % 0x200000 != 0 )) || fail "hugepages off: pool PA $pa_off is 2 MiB aligned (would become 2 MiB pages)"
c_on=$(grep -o '"iotlb": *{ *"compulsory": *[0-9]*' "$d/on.json" | grep -o '[0-9]*$')
c_off=$(grep -o '"iotlb": *{ *"compulsory": *[0-9]*' "$d/off.json" | grep -o '[0-9]*$')
[ -n "$c_on" ] && [ -n "$c_off" ] || fail "no miss_classes.iotlb.compulsory in the JSON"
[ "$c_on" -le 34 ] || fail "hugepages on: $c_on compulsory IOTLB misses, expected <= 34 (2 MiB entries)"
[ "$c_off" -ge 1000 ] || fail "hugepages off: $c_off compulsory IOTLB misses, expected thousands (4 KiB entries)"
iotlb() { grep '^  "iotlb": {"lookups"' "$2" | grep -o "\"$1\": [0-9]*" | grep -o '[0-9]*$'; }
m_on=$(iotlb misses "$d/on.json") m_off=$(iotlb misses "$d/off.json")
w_on=$(json walks "$d/on.json") w_off=$(json walks "$d/off.json")
[ "$m_on" -lt "$m_off" ] || fail "misses: 2 MiB $m_on, 4 KiB $m_off"
[ "$w_on" -lt "$w_off" ] || fail "walks: 2 MiB $w_on, 4 KiB $w_off"
expect2() { # expect2 TEXT ARGS...: exit 2 and TEXT in the message
    local t=$1 out rc
    shift
    set +e
    out=$("$bin" trace gen "$@" 2>&1); rc=$?
    set -e
    [ $rc = 2 ] && [[ $out == *"$t"* ]] || fail "$*: exit $rc, '$out' (expected 2 and '$t')"
}
expect2 "--hugepages on needs a --pool" nic --count 10 --hugepages on "$d/x.itt"
expect2 "--pool: expected 0 or a multiple of 2 MiB" nic --count 10 --pool 3m --hugepages on "$d/x.itt"
expect2 "--pool: expected 0 or a multiple of 4 KiB" nic --count 10 --pool 1000000 "$d/x.itt"
expect2 "holding at least 2 x --ring-size buffers" nic --count 10 --pool 64k "$d/x.itt"
expect2 "does not apply to generator 'nvme'" nvme --count 10 --pool 64m "$d/x.itt"
echo "ok compulsory $c_off/$c_on misses $m_off/$m_on walks $w_off/$w_on"
