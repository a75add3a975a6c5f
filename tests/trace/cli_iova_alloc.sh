#!/usr/bin/env bash
# trace gen --iova-alloc (docs/tools.md): the IOVA sequence of each
# strategy on the nic generator, and that nothing else changes. lifo is
# today's default and top-down today's --recycle off, record for record (the
# header's source names the option only when given); lifo maps each new rx
# buffer at the IOVA just unmapped, top-down never right away; ring puts rx
# slot s at 0xffc00000 - (s+1) * 4 KiB and tx slot t 256 slots lower, every
# time round, and its trace replays with no mismatch. Bad names and ring with
# deferred unmaps are usage errors.
# Usage: cli_iova_alloc.sh IOMMUSIM SCRATCH_DIR
set -eu
bin=$1 d=$2
rm -rf "$d"
mkdir -p "$d"
cd "$d"
fail() { echo "FAIL: $*"; exit 1; }
gen() { "$bin" trace gen nic --count 4000 --seed 3 "$@" >/dev/null; }
gen def.itt
gen --iova-alloc lifo lifo.itt
gen --recycle off off.itt
gen --iova-alloc top-down td.itt
gen --iova-alloc ring ring.itt
grep -q '^source .*--iova-alloc' def.itt && fail "default header names --iova-alloc"
grep -q '^source .*--iova-alloc ring ' ring.itt || fail "ring header lacks the option"
cmp -s <(grep -v '^source ' def.itt) <(grep -v '^source ' lifo.itt) || fail "lifo differs from the default"
cmp -s <(grep -v '^source ' off.itt) <(grep -v '^source ' td.itt) || fail "top-down differs from --recycle off"
cmp -s <(grep -v '^source ' def.itt) <(grep -v '^source ' td.itt) && fail "top-down equals lifo"
# The IOVA of the first map after each unmap (the driver's next buffer).
iova_of() { sed -E 's/.* iova=(0x[0-9a-f]+).*/\1/'; }
after_unmap() { grep -E '^(un)?map ' "$1" | sed -E 's/^(unmap|map) .* iova=(0x[0-9a-f]+).*/\1 \2/' |
    awk '$1 == "unmap" {u = $2; next} u {print u, $2; u = ""}'; }
n=$(after_unmap lifo.itt | wc -l)
[ "$n" -gt 100 ] || fail "only $n remaps"
[ "$(after_unmap lifo.itt | awk '$1 != $2' | wc -l)" = 0 ] || fail "lifo did not reuse the IOVA just freed"
[ "$(after_unmap td.itt | awk '$1 == $2' | wc -l)" = 0 ] || fail "top-down reused an IOVA at once"
# ring: rx buffers (perm=w) at slot IOVAs 0xffbff000 down, tx (perm=r) 256 slots lower.
grep '^map .*perm=w$' ring.itt | iova_of | sort -u >rx
grep '^map .*perm=r$' ring.itt | iova_of | sort -u >tx
[ "$(wc -l <rx)" = 256 ] || fail "ring: $(wc -l <rx) distinct rx IOVAs, not 256"
for s in 0 1 255; do
    grep -qx "$(printf '0x%x' $((0xffc00000 - (s + 1) * 4096)))" rx || fail "ring: rx slot $s IOVA missing"
done
[ "$(wc -l <tx)" -le 256 ] || fail "ring: $(wc -l <tx) tx IOVAs"
while read -r v; do
    (( v >= 0xffc00000 - 512 * 4096 && v < 0xffc00000 - 256 * 4096 )) || fail "ring: tx IOVA $v outside its slots"
done <tx
"$bin" trace validate ring.itt >v.out || fail "ring trace does not validate: $(tail -1 v.out)"
"$bin" run --quiet --trace ring.itt --json ring.json
grep -qx '  "mismatches": 0,' ring.json || fail "ring replay mismatches"
set +e
"$bin" trace gen nic --count 10 --iova-alloc fifo x.itt 2>err
rc1=$?
"$bin" trace gen nic --count 10 --iova-alloc ring --unmap deferred x.itt 2>err2
rc2=$?
"$bin" trace gen gpu --count 10 --iova-alloc ring x.itt 2>err3
rc3=$?
set -e
[ $rc1 = 2 ] && grep -qF -- "--iova-alloc: expected lifo, top-down, ring or pool, got 'fifo'" err || fail "bad name: $rc1 $(cat err)"
[ $rc2 = 2 ] && grep -qF -- "--iova-alloc ring needs --unmap strict" err2 || fail "ring deferred: $rc2 $(cat err2)"
[ $rc3 = 2 ] && grep -qF -- "does not apply to generator 'gpu'" err3 || fail "gpu: $rc3 $(cat err3)"
echo ok
