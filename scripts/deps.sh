#!/usr/bin/env bash
# Installs the Debian packages iommusim needs to build and test, and only those
# that are missing. Idempotent; a no-op (no apt-get at all) when all are present.
#   scripts/deps.sh           the build and `make test` (docs/dependencies.md)
#   scripts/deps.sh fuzz      also clang and its sanitizer/libFuzzer runtimes (`make fuzz`)
#   scripts/deps.sh valgrind  also valgrind (`make test-valgrind`)
#   scripts/deps.sh slurm     also Slurm and munge (the sweep_slurm test installs them through
#                             this group when it runs: tests/sweep/CMakeLists.txt)
# The extra groups are installed only when asked for, so the ordinary build
# build never pulls in clang, valgrind or Slurm.
set -euo pipefail

pkgs=(cmake ninja-build pkg-config g++ libsystemc-dev verilator check libsubunit-dev
      zlib1g-dev libzstd-dev libjansson-dev nettle-dev gnuplot-nox libxml2-utils)
for group in "$@"; do
    case $group in
    fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    valgrind) pkgs+=(valgrind) ;;
    slurm) pkgs+=(slurm-wlm munge) ;;
    *)
        echo "deps.sh: unknown group '$group' (expected fuzz, valgrind or slurm)" >&2
        exit 2
        ;;
    esac
done

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages: ${missing[*]}" >&2
    echo "deps.sh: run as root, or install them with apt-get" >&2
    exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
