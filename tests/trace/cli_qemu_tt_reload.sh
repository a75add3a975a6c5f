#!/usr/bin/env bash
# A context-cache load that changes only the translation type (TT) of a
# device is a new context entry: the converter writes a detach and a new
# attach with the new TT. One that changes nothing (a reload after an
# invalidation) writes nothing. (t= is the offset from the first event, in ns.)
# Usage: cli_qemu_tt_reload.sh IOMMUSIM SCRATCH_DIR
set -eu
bin=$1 d=$2
mkdir -p "$d"
log=$d/tt-reload.log out=$d/tt-reload.itt
cat >"$log" <<'L'
6691@1795308864.613657:vtd_iotlb_cc_update IOTLB context update bus 0x0 devfn 0x8 high 0x301 low 0x2751001 gen 0 -> gen 1
6691@1795308864.613683:vtd_iotlb_page_update IOTLB page update sid 0x8 iova 0xffffe000 slpte 0x1377a003 domain 0x3
6691@1795308864.613690:vtd_iotlb_cc_update IOTLB context update bus 0x0 devfn 0x8 high 0x301 low 0x2751001 gen 1 -> gen 2
6691@1795308864.613700:vtd_iotlb_cc_update IOTLB context update bus 0x0 devfn 0x8 high 0x301 low 0x2751005 gen 2 -> gen 3
L
"$bin" trace convert --from qemu-vtd "$log" "$out" >/dev/null
got=$(grep -E '^(attach|detach)' "$out")
want='attach rid=00:01.0 did=3 levels=3 tt=0 root=0x2751000
detach t=43000 rid=00:01.0
attach t=43000 rid=00:01.0 did=3 levels=3 tt=1 root=0x2751000'
if [ "$got" != "$want" ]; then
    echo "attach/detach records:"; echo "$got"; echo "expected:"; echo "$want"
    exit 1
fi
echo ok
