#!/bin/bash
# Writes a text trace whose header lists N devices (N <= 65535; bdfs 00:00.1
# upward), each attached to a domain of its own with one 4 KiB map and one
# DMA. For measuring header parsing and table-builder memory against the
# device count (docs/trace-format.md, "Header size"):
#   tests/trace/gen_devices.sh 65535 > big.itt
#   /usr/bin/time -v build/iommusim trace validate big.itt
# Usage: gen_devices.sh N
set -eu
n=${1:?usage: gen_devices.sh N}
if (( n < 1 || n > 65535 )); then
    echo "gen_devices.sh: N must be 1..65535, got $n" >&2
    exit 2
fi
{
    echo "version 1"
    echo "creator tests/trace/gen_devices.sh"
    echo "source gen_devices.sh $n"
    for (( i = 1; i <= n; i++ )); do
        printf 'device d%d bdf=%02x:%02x.%x bridge=-\n' "$i" $(( i >> 8 )) $(( (i >> 3) & 31 )) $(( i & 7 ))
    done
    for (( i = 1; i <= n; i++ )); do
        printf 'attach rid=%02x:%02x.%x did=%d levels=4 tt=0\n' $(( i >> 8 )) $(( (i >> 3) & 31 )) $(( i & 7 )) "$i"
        printf 'map did=%d iova=0x1000 pa=0x%x size=0x1000 perm=rw\n' "$i" $(( (i + 16) << 12 ))
        printf 'dma t=%d rid=%02x:%02x.%x iova=0x1000 size=64 r expect=0x%x\n' "$i" $(( i >> 8 )) \
            $(( (i >> 3) & 31 )) $(( i & 7 )) $(( (i + 16) << 12 ))
    done
}
