#!/bin/bash
# usage: cli_reuse_cyclic.sh DIR (run by tests/cli/expect.sh: `ims` runs the binary)
# Writes a trace that sweeps 3000 pages of one device 3 times in the same
# order, so every reuse is at distance 2999, and prints its `trace info`.
set -eu
f=$1/cyclic.itt
{
    printf 'version 1\nattach rid=03:00.0 did=1 levels=3 tt=0\n'
    printf 'map did=1 iova=0x0 pa=0x0 size=0x%x perm=rw\n' $((3000 * 4096))
    for _ in 1 2 3; do
        for ((i = 0; i < 3000; i++)); do
            printf 'dma t=1 rid=03:00.0 iova=0x%x size=8 r\n' $((i * 4096))
        done
    done
} > "$f"
ims trace info "$f"
