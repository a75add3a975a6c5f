#!/usr/bin/env bash
# Records real device DMA through QEMU's emulated Intel VT-d and converts the
# QEMU trace-event log into an iommusim trace. See docs/recording.md.
#
# Runs on Debian bookworm as root (it installs packages when they are missing).
# Nothing is installed into the host's boot path: the guest kernel is a
# Debian package unpacked into the work directory.
set -euo pipefail

MODE=strict
CACHING=off
SCALABLE=off
WORKLOAD=mixed
OUT=
KEEP_LOG=0
FAULT=0
CONVERT=1
TIMEOUT=240
CPUS=
JOBS=8
BS=1M
COUNT=64
ROUNDS=1
NET_MB=64
POOL_PAGES=8192
IOS=100000
QD=16
WORK=${IMS_RECORD_WORK:-/var/tmp/iommusim-record}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${IMS_BUILD_DIR:-$REPO/build}

usage() {
    cat <<EOF
usage: record.sh [options]

Boots a Debian kernel under QEMU (TCG) with an emulated Intel VT-d, runs a
small DMA workload, and converts QEMU's VT-d trace events into an iommusim
trace with 'iommusim trace convert --from qemu-vtd'.

options:
  --mode strict|lazy        guest unmap policy: iommu.strict=1 or 0 (default: $MODE)
  --caching-mode on|off     VT-d caching mode (invalidation on every map) (default: $CACHING)
  --scalable-mode on|off    VT-d scalable mode: QEMU x-scalable-mode=on and guest
                            intel_iommu=on,sm_on (scalable-format context entries,
                            second-level translation, the domain id from the PASID
                            entry); the trace is a scalable-mode trace (default: $SCALABLE)
  --workload W              nvme | net | virtio | mixed: small runs (default: $WORKLOAD)
                            nvme-mq: NVMe with one I/O queue pair per vCPU and --jobs
                              parallel direct-I/O dd readers (each pinned to a vCPU,
                              --count blocks of --bs from its own region, --rounds times)
                              and one writer per vCPU
                            net-bulk: two e1000e NICs on one QEMU hub (no host side),
                              the second in its own network namespace; --net-mb MiB
                              sent over TCP with busybox nc from one to the other
                            nvme-vfio: the NVMe controller handed to vfio-pci and driven
                              from user space (traces/record/vfio-nvme.c, built here
                              with gcc -static): queues and a --pool-pages buffer pool
                              mapped once, --ios random 4 KiB I/Os at depth --qd
  --cpus N                  guest vCPUs (default: 4 for nvme-mq, else 1); with N > 1
                            TCG runs them round-robin on one host thread
  --jobs N                  nvme-mq: parallel readers (default: $JOBS)
  --bs SIZE                 nvme-mq: dd block size (default: $BS)
  --count N                 nvme-mq: blocks per reader and round (default: $COUNT)
  --rounds N                nvme-mq: passes over each reader's region (default: $ROUNDS)
  --net-mb N                net-bulk: MiB sent (default: $NET_MB)
  --pool-pages N            nvme-vfio: pages in the buffer pool (default: $POOL_PAGES)
  --ios N                   nvme-vfio: 4 KiB I/Os (default: $IOS)
  --qd N                    nvme-vfio: I/Os in flight, 1..63 (default: $QD)
  --fault                   also provoke DMA remapping faults: at the end the NVMe
                            driver is unbound and the controller is pointed at an
                            unmapped admin queue (needs nvme in the workload)
  --out FILE                output trace (.itr, .itr.zst, .txt)
                            (default: traces/<workload>-<mode>[-cm].itr.zst)
  --keep-log                keep the raw QEMU log next to the output (FILE.log.zst)
  --no-convert              only record: keep the raw log, do not convert
  --work-dir DIR            downloads, kernel, initramfs, images, logs (default: $WORK)
  --build-dir DIR           iommusim build directory, configured with CMake if
                            the tool is missing (default: $BUILD)
  --timeout SECONDS         hard limit on the QEMU run (default: $TIMEOUT)
  --help                    this text

Environment: IMS_RECORD_WORK, IMS_BUILD_DIR set the two directory defaults.
EOF
}

die() { echo "record.sh: $*" >&2; exit 1; }
log() { echo "record.sh: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
    --mode) MODE=${2:?--mode needs a value}; shift 2 ;;
    --caching-mode) CACHING=${2:?--caching-mode needs a value}; shift 2 ;;
    --scalable-mode) SCALABLE=${2:?--scalable-mode needs a value}; shift 2 ;;
    --workload) WORKLOAD=${2:?--workload needs a value}; shift 2 ;;
    --out) OUT=${2:?--out needs a value}; shift 2 ;;
    --keep-log) KEEP_LOG=1; shift ;;
    --fault) FAULT=1; shift ;;
    --no-convert) CONVERT=0; KEEP_LOG=1; shift ;;
    --work-dir) WORK=${2:?--work-dir needs a value}; shift 2 ;;
    --build-dir) BUILD=${2:?--build-dir needs a value}; shift 2 ;;
    --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
    --cpus) CPUS=${2:?--cpus needs a value}; shift 2 ;;
    --jobs) JOBS=${2:?--jobs needs a value}; shift 2 ;;
    --bs) BS=${2:?--bs needs a value}; shift 2 ;;
    --count) COUNT=${2:?--count needs a value}; shift 2 ;;
    --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
    --net-mb) NET_MB=${2:?--net-mb needs a value}; shift 2 ;;
    --pool-pages) POOL_PAGES=${2:?--pool-pages needs a value}; shift 2 ;;
    --ios) IOS=${2:?--ios needs a value}; shift 2 ;;
    --qd) QD=${2:?--qd needs a value}; shift 2 ;;
    --help|-h) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
    esac
done

case "$MODE" in strict) STRICT=1 ;; lazy) STRICT=0 ;; *) die "--mode must be strict or lazy, not '$MODE'" ;; esac
case "$CACHING" in on|off) ;; *) die "--caching-mode must be on or off, not '$CACHING'" ;; esac
case "$SCALABLE" in on|off) ;; *) die "--scalable-mode must be on or off, not '$SCALABLE'" ;; esac
case "$WORKLOAD" in nvme|net|virtio|mixed|nvme-mq|net-bulk|nvme-vfio) ;;
    *) die "--workload must be nvme, net, virtio, mixed, nvme-mq, net-bulk or nvme-vfio, not '$WORKLOAD'" ;; esac
[ -n "$CPUS" ] || { [ "$WORKLOAD" = nvme-mq ] && CPUS=4 || CPUS=1; }
for v in CPUS JOBS COUNT ROUNDS NET_MB POOL_PAGES IOS QD; do
    case "${!v}" in ''|*[!0-9]*|0) die "--$(echo $v | tr A-Z_ a-z-) must be a positive number, not '${!v}'" ;; esac
done
case "${BS%[kKM]}" in ''|*[!0-9]*|0*) die "--bs must be a byte count (suffix k or M allowed), not '$BS'" ;; esac
BS_BYTES=$(echo "$BS" | sed 's/[kK]$/*1024/; s/M$/*1048576/')
BS_BYTES=$((BS_BYTES))
[ $((BS_BYTES % 4096)) = 0 ] || die "--bs must be a multiple of 4096 (direct I/O), not '$BS'"
[ "$QD" -lt 64 ] || die "--qd must be 1..63, not '$QD'"
case "$TIMEOUT" in ''|*[!0-9]*) die "--timeout must be a number of seconds" ;; esac
if [ "$FAULT" = 1 ] && [ "$WORKLOAD" != nvme ] && [ "$WORKLOAD" != mixed ]; then
    die "--fault needs the NVMe device (--workload nvme or mixed)"
fi
NAME="$WORKLOAD-$MODE"
[ "$CACHING" = on ] && NAME="$NAME-cm"
[ "$SCALABLE" = on ] && NAME="$NAME-sm"
[ "$FAULT" = 1 ] && NAME="$NAME-fault"
[ -n "$OUT" ] || OUT="$REPO/traces/$NAME.itr.zst"
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac

# --- 1. host packages ---------------------------------------------------------
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
# The applet list is read whole (grep -x, not grep -q): under pipefail grep -q
# quitting early makes busybox die of SIGPIPE and the check fail every run.
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -x devmem >/dev/null || need_pkgs+=(busybox-static)
command -v cpio >/dev/null || need_pkgs+=(cpio)
command -v depmod >/dev/null || need_pkgs+=(kmod)
command -v zstd >/dev/null || need_pkgs+=(zstd)
command -v xz >/dev/null || need_pkgs+=(xz-utils)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing ${need_pkgs[*]}: run as root to install them"
    log "installing ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
grep -q "/lib64/ld-linux-x86-64.so.2" /bin/busybox && die "/bin/busybox is not static (install busybox-static)"

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# --- 2. guest kernel (downloaded and unpacked, never installed) ---------------
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -n1)
if [ -z "$KPKG" ]; then
    KPKG=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | cut -d' ' -f1 | sort -V | tail -n1)
fi
[ -n "$KPKG" ] || die "no linux-image-6.1.0-*-amd64 package known to apt (run apt-get update)"
KDIR="$WORK/kernel/$KPKG"
if [ ! -f "$KDIR/.unpacked" ]; then
    log "downloading $KPKG"
    rm -rf "$KDIR"; mkdir -p "$KDIR/root"
    (cd "$KDIR" && apt-get download "$KPKG" >/dev/null)
    dpkg-deb -x "$KDIR"/"$KPKG"_*.deb "$KDIR/root"
    touch "$KDIR/.unpacked"
fi
KDEB=$(ls "$KDIR"/"$KPKG"_*.deb)
KPKGVER=$(dpkg-deb -f "$KDEB" Version)
MODROOT="$KDIR/root"
[ -d "$MODROOT/lib/modules" ] || { [ -d "$MODROOT/usr/lib/modules" ] && MODROOT_LIB=usr/lib; }
MODLIB=${MODROOT_LIB:-lib}/modules
KVER=$(ls "$MODROOT/$MODLIB" | head -n1)
VMLINUZ="$MODROOT/boot/vmlinuz-$KVER"
[ -f "$VMLINUZ" ] || die "no kernel image at $VMLINUZ"
[ -f "$MODROOT/$MODLIB/$KVER/modules.dep" ] || depmod -b "$MODROOT" "$KVER"

# --- 3. initramfs: static busybox, the modules, an /init running the workload --
MODS=(crc64 crc64_rocksoft_generic crc64_rocksoft crct10dif_common crct10dif_generic crc_t10dif t10_pi
      nvme_core nvme e1000e virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk)
[ "$WORKLOAD" = nvme-vfio ] && MODS+=(vfio vfio_iommu_type1 vfio_pci_core vfio_pci)
IRD="$WORK/initramfs-$KVER"
rm -rf "$IRD"; mkdir -p "$IRD"/{bin,dev,proc,sys,mod}
cp /bin/busybox "$IRD/bin/busybox"
if [ "$WORKLOAD" = nvme-vfio ]; then
    command -v gcc >/dev/null || die "--workload nvme-vfio needs gcc (apt-get install gcc libc6-dev)"
    gcc -static -O2 -o "$IRD/bin/vfio-nvme" "$REPO/traces/record/vfio-nvme.c" || die "cannot build vfio-nvme.c"
fi
: > "$IRD/mod/order"
declare -A seen=()
for m in "${MODS[@]}"; do
    deps=$(modprobe -d "$MODROOT" -S "$KVER" --show-depends --ignore-install "$m" 2>/dev/null) || {
        log "module $m not found in $KPKG (skipped)"; continue; }
    while read -r kind path _; do
        [ "$kind" = insmod ] || continue
        base=$(basename "$path")
        [ -n "${seen[$base]:-}" ] && continue
        # CPU-specific accelerations (PCLMULQDQ) are absent under TCG: skip them.
        case "$base" in *-pclmul.ko*) continue ;; esac
        seen[$base]=1
        case "$base" in
        *.ko.xz) xz -dc "$path" > "$IRD/mod/${base%.xz}"; base=${base%.xz} ;;
        *.ko.zst) zstd -qdc "$path" > "$IRD/mod/${base%.zst}"; base=${base%.zst} ;;
        *) cp "$path" "$IRD/mod/$base" ;;
        esac
        echo "$base" >> "$IRD/mod/order"
    done <<< "$deps"
done

case "$WORKLOAD" in nvme) W_NVME=1 W_NET=0 W_VIRTIO=0 ;; net) W_NVME=0 W_NET=1 W_VIRTIO=0 ;;
    virtio) W_NVME=0 W_NET=0 W_VIRTIO=1 ;; mixed) W_NVME=1 W_NET=1 W_VIRTIO=1 ;;
    nvme-mq|net-bulk|nvme-vfio) W_NVME=0 W_NET=0 W_VIRTIO=0 ;; esac
W_MQ=0 W_BULK=0 W_VFIO=0
[ "$WORKLOAD" = nvme-vfio ] && W_VFIO=1
[ "$WORKLOAD" = nvme-mq ] && W_MQ=1
[ "$WORKLOAD" = net-bulk ] && W_BULK=1
# nvme-mq: reader j reads blocks [j*COUNT, (j+1)*COUNT) of the namespace;
# the writers write the first COUNT/4 blocks of the readers' regions.
MQ_DISK_MB=$(( (JOBS * COUNT * BS_BYTES + 1048575) / 1048576 + 16 ))

cat > "$IRD/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo 1 > /proc/sys/kernel/printk
for m in \$(cat /mod/order); do insmod /mod/\$m || echo "ims: insmod \$m failed"; done
waitdev() { i=0; while [ ! -e "\$1" ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done; [ -e "\$1" ]; }
blkload() {
    d=\$1
    waitdev \$d || { echo "ims: \$d missing"; return; }
    echo "ims: workload on \$d"
    dd if=\$d of=/dev/null bs=4k count=256 iflag=direct 2>/dev/null
    dd if=\$d of=/dev/null bs=64k count=32 skip=16 iflag=direct 2>/dev/null
    dd if=/dev/zero of=\$d bs=4k count=64 seek=1024 oflag=direct 2>/dev/null
    dd if=/dev/zero of=\$d bs=32k count=16 seek=256 oflag=direct 2>/dev/null
    dd if=\$d of=/dev/null bs=4k count=64 skip=1024 iflag=direct 2>/dev/null
}
if [ $W_NVME = 1 ]; then blkload /dev/nvme0n1; fi
if [ $W_VIRTIO = 1 ]; then blkload /dev/vda; fi
if [ $W_NET = 1 ]; then
    waitdev /sys/class/net/eth0 || echo "ims: eth0 missing"
    ip link set lo up
    ip link set eth0 up
    ip addr add 10.0.2.15/24 dev eth0
    sleep 1
    echo "ims: workload on eth0"
    ping -c 20 -i 0.2 10.0.2.2
    ping -c 10 -i 0.2 -s 1400 10.0.2.2
fi
if [ $W_MQ = 1 ]; then
    d=/dev/nvme0n1
    waitdev \$d || echo "ims: \$d missing"
    echo "ims: workload nvme-mq on \$d: $JOBS readers x $ROUNDS x $COUNT x $BS, $CPUS vCPUs, \$(ls /sys/block/nvme0n1/mq | wc -l) hw queues"
    r=0
    while [ \$r -lt $ROUNDS ]; do
        j=0
        while [ \$j -lt $JOBS ]; do
            taskset -c \$((j % $CPUS)) dd if=\$d of=/dev/null bs=$BS count=$COUNT skip=\$((j * $COUNT)) iflag=direct 2>/dev/null &
            j=\$((j + 1))
        done
        c=0
        while [ \$c -lt $CPUS ]; do
            taskset -c \$c dd if=/dev/zero of=\$d bs=$BS count=\$(( ($COUNT + 3) / 4 )) seek=\$((c * $COUNT)) oflag=direct 2>/dev/null &
            c=\$((c + 1))
        done
        wait
        r=\$((r + 1))
    done
fi
if [ $W_BULK = 1 ]; then
    waitdev /sys/class/net/eth1 || echo "ims: eth1 missing"
    ip link set lo up
    unshare -n sleep 100000 &
    ns=\$!
    sleep 0.5
    ip link set eth1 netns \$ns
    ip link set eth0 up
    ip addr add 10.9.0.1/24 dev eth0
    nsenter -t \$ns -n sh -c 'ip link set lo up; ip link set eth1 up; ip addr add 10.9.0.2/24 dev eth1'
    sleep 2
    # The listener's stdin must stay open (busybox nc quits on EOF of either side).
    nsenter -t \$ns -n sh -c 'sleep 100000 | nc -l -p 5001 | wc -c > /net-got' &
    sleep 1
    echo "ims: workload net-bulk: $NET_MB MiB eth0 -> eth1 (own namespace)"
    ping -c 3 -i 0.2 10.9.0.2
    dd if=/dev/zero bs=1M count=$NET_MB 2>/dev/null | nc 10.9.0.2 5001
    i=0; while [ ! -s /net-got ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
    got=\$(cat /net-got 2>/dev/null)
    [ "\$got" = $((NET_MB * 1048576)) ] && echo "ims: net-bulk received \$got bytes" || echo "ims: net-bulk failed: received '\$got' bytes"
    kill \$ns
fi
if [ $W_VFIO = 1 ]; then
    # Hand the controller from the kernel's nvme driver to vfio-pci: the
    # kernel's mappings go, the user-space driver's come (a new domain).
    waitdev /dev/nvme0n1 || echo "ims: /dev/nvme0n1 missing"
    dev=\$(basename \$(readlink /sys/class/nvme/nvme0/device))
    echo \$dev > /sys/bus/pci/drivers/nvme/unbind
    echo vfio-pci > /sys/bus/pci/devices/\$dev/driver_override
    echo \$dev > /sys/bus/pci/drivers_probe
    waitdev /dev/vfio/\$(basename \$(readlink /sys/bus/pci/devices/\$dev/iommu_group)) || echo "ims: vfio group missing"
    echo "ims: workload nvme-vfio on \$dev: $IOS I/Os over $POOL_PAGES pages at depth $QD"
    /bin/vfio-nvme \$dev $POOL_PAGES $IOS $QD || echo "ims: vfio-nvme failed"
fi
if [ $FAULT = 1 ]; then
    # Unbind the driver (its buffers are unmapped), re-enable bus mastering by
    # hand and point the admin queues at IOVAs nothing maps: the controller's
    # first fetch faults in the IOMMU.
    dev=\$(basename \$(readlink /sys/class/nvme/nvme0/device))
    echo \$dev > /sys/bus/pci/drivers/nvme/unbind
    echo "ims: fault on \$dev"
    echo 1 > /sys/bus/pci/devices/\$dev/enable
    printf '\\006\\001' | dd of=/sys/bus/pci/devices/\$dev/config bs=1 seek=4 count=2 conv=notrunc 2>/dev/null
    bar=\$(head -n1 /sys/bus/pci/devices/\$dev/resource | cut -d' ' -f1)
    b=\$((bar))
    devmem \$((b + 0x14)) 32 0
    sleep 0.2
    devmem \$((b + 0x24)) 32 0x000f000f
    devmem \$((b + 0x28)) 32 0x7ead0000
    devmem \$((b + 0x2c)) 32 0
    devmem \$((b + 0x30)) 32 0x7eef0000
    devmem \$((b + 0x34)) 32 0
    devmem \$((b + 0x14)) 32 0x00460001
    sleep 0.2
    devmem \$((b + 0x1000)) 32 1
    sleep 0.2
    devmem \$((b + 0x1000)) 32 2
    sleep 0.2
fi
echo "ims: workload done"
poweroff -f
EOF
chmod +x "$IRD/init"
(cd "$IRD" && find . | sort | cpio -o -H newc --quiet) | zstd -q -f -o "$WORK/initramfs-$KVER.cpio.zst"
# The kernel may lack zstd initramfs support: ship it uncompressed instead.
(cd "$IRD" && find . | sort | cpio -o -H newc --quiet) > "$WORK/initramfs-$KVER.cpio"

# --- 4. boot under QEMU with the trace events on -------------------------------
RUN="$WORK/run-$NAME"
rm -rf "$RUN"; mkdir -p "$RUN"
cat > "$RUN/events" <<'EOF'
vtd_iotlb_page_hit
vtd_iotlb_page_update
vtd_iotlb_cc_update
vtd_inv_desc_iotlb_pages
vtd_inv_desc_iotlb_domain
vtd_inv_desc_iotlb_global
vtd_inv_desc_cc_domain
vtd_inv_desc_cc_global
vtd_inv_desc_cc_device
vtd_inv_desc_cc_devices
vtd_inv_desc_wait_sw
vtd_dmar_fault
vtd_fault_disabled
vtd_reg_dmar_root
pci_nvme_map_addr
dma_blk_io
e1000e_rx_desc_buff_write
EOF
# Scalable mode: also the PASID-based IOTLB invalidations, every descriptor
# the queue fetches (PASID-cache invalidations have no event of their own) and
# the not-present root/context entries.
[ "$SCALABLE" = on ] && printf '%s\n' vtd_inv_desc vtd_inv_desc_iotlb_pasid_pages vtd_inv_desc_iotlb_pasid \
    vtd_ce_not_present vtd_re_not_present >> "$RUN/events"
IOMMU="intel-iommu,intremap=on"
[ "$CACHING" = on ] && IOMMU="$IOMMU,caching-mode=on"
[ "$SCALABLE" = on ] && IOMMU="$IOMMU,x-scalable-mode=on"
DEVS=()
if [ "$W_NVME" = 1 ]; then
    truncate -s 16M "$RUN/nvme.img"
    DEVS+=(-drive "file=$RUN/nvme.img,if=none,id=nv0,format=raw" -device "nvme,drive=nv0,serial=ims0")
fi
if [ "$W_VIRTIO" = 1 ]; then
    truncate -s 16M "$RUN/vda.img"
    DEVS+=(-drive "file=$RUN/vda.img,if=none,id=vd0,format=raw"
           -device "virtio-blk-pci,drive=vd0,disable-legacy=on,iommu_platform=on")
fi
if [ "$W_NET" = 1 ]; then
    DEVS+=(-netdev "user,id=n0,restrict=on" -device "e1000e,netdev=n0")
fi
if [ "$W_VFIO" = 1 ]; then
    truncate -s 32M "$RUN/nvme.img"
    DEVS+=(-drive "file=$RUN/nvme.img,if=none,id=nv0,format=raw" -device "nvme,drive=nv0,serial=ims0")
fi
if [ "$W_MQ" = 1 ]; then
    truncate -s ${MQ_DISK_MB}M "$RUN/nvme.img"
    DEVS+=(-drive "file=$RUN/nvme.img,if=none,id=nv0,format=raw,cache=none,aio=threads"
           -device "nvme,drive=nv0,serial=ims0,max_ioqpairs=$CPUS")
fi
if [ "$W_BULK" = 1 ]; then
    # Two NICs on one hub: nothing leaves QEMU (no host-side netdev at all).
    DEVS+=(-netdev "hubport,id=p0,hubid=0" -device "e1000e,netdev=p0"
           -netdev "hubport,id=p1,hubid=0" -device "e1000e,netdev=p1")
fi
QEMU_VERSION=$(qemu-system-x86_64 --version | head -n1 | sed 's/^QEMU emulator version //')
# no_timer_check: under TCG on a loaded host the boot-time IO-APIC timer check
# can miss its window and panic ("timer doesn't work through Interrupt-remapped IO-APIC").
APPEND="console=ttyS0 rdinit=/init panic=-1 no_timer_check intel_iommu=on iommu.strict=$STRICT"
[ "$SCALABLE" = on ] && APPEND="${APPEND/intel_iommu=on/intel_iommu=on,sm_on}"
QEMU_CMD=(qemu-system-x86_64 -accel "tcg,thread=single" -machine q35,kernel-irqchip=split -device "$IOMMU"
    -m 512M -smp "$CPUS" -nodefaults -nographic -serial stdio -no-reboot
    -kernel "$VMLINUZ" -initrd "$WORK/initramfs-$KVER.cpio" -append "$APPEND"
    "${DEVS[@]}" -msg timestamp=on -trace "events=$RUN/events,file=$RUN/qemu.log")
log "booting ($NAME): QEMU $QEMU_VERSION, kernel $KPKG $KPKGVER"
t0=$(date +%s)
rc=0
timeout -k 10 "$TIMEOUT" "${QEMU_CMD[@]}" < /dev/null > "$RUN/console.log" 2>&1 || rc=$?
t1=$(date +%s)
[ "$rc" = 124 ] && die "QEMU exceeded --timeout $TIMEOUT s (console: $RUN/console.log)"
[ "$rc" = 0 ] || die "QEMU exited with status $rc (console: $RUN/console.log)"
grep -q 'ims: workload done' "$RUN/console.log" || die "the workload did not finish (console: $RUN/console.log)"
grep 'ims: ' "$RUN/console.log" | grep -E 'failed|missing' >&2 || true
lines=$(wc -l < "$RUN/qemu.log")
bytes=$(stat -c %s "$RUN/qemu.log")
log "QEMU ran $((t1 - t0)) s; log $RUN/qemu.log: $lines lines, $bytes bytes"

SOURCE="traces/record/record.sh --mode $MODE --caching-mode $CACHING --workload $WORKLOAD"
[ "$SCALABLE" = on ] && SOURCE="$SOURCE --scalable-mode on"
[ "$CPUS" = 1 ] || SOURCE="$SOURCE --cpus $CPUS"
[ "$W_MQ" = 1 ] && SOURCE="$SOURCE --jobs $JOBS --bs $BS --count $COUNT --rounds $ROUNDS"
[ "$W_BULK" = 1 ] && SOURCE="$SOURCE --net-mb $NET_MB"
[ "$W_VFIO" = 1 ] && SOURCE="$SOURCE --pool-pages $POOL_PAGES --ios $IOS --qd $QD"
[ "$FAULT" = 1 ] && SOURCE="$SOURCE --fault"
SOURCE="$SOURCE; QEMU $QEMU_VERSION; $KPKG $KPKGVER"

mkdir -p "$(dirname "$OUT")"
if [ "$KEEP_LOG" = 1 ]; then
    # -19 takes minutes on logs of tens of MB on a loaded machine: -12 --long
    # there (seconds, a little larger).
    zl=(-19); [ "$bytes" -gt 16777216 ] && zl=(-12 --long=27)
    zstd -q "${zl[@]}" -f "$RUN/qemu.log" -o "$OUT.log.zst"
    log "raw log kept: $OUT.log.zst"
fi
[ "$CONVERT" = 1 ] || exit 0

# --- 5. convert ---------------------------------------------------------------
if [ ! -x "$BUILD/iommusim" ]; then
    log "building iommusim in $BUILD"
    cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DIMS_CORE_ONLY=ON >/dev/null
    cmake --build "$BUILD" -j 2 --target iommusim >/dev/null
fi
# The recording command goes into the trace header (opts.source) when the
# tool takes --source; otherwise the converter derives one from the log name.
SRC_ARGS=()
if "$BUILD/iommusim" trace convert --help 2>&1 | grep -q -- '--source'; then
    SRC_ARGS=(--source "$SOURCE")
else
    log "this iommusim has no 'trace convert --source': the header will not name the recording command"
fi
"$BUILD/iommusim" trace convert --from qemu-vtd "${SRC_ARGS[@]}" "$RUN/qemu.log" "$OUT"
log "wrote $OUT"
"$BUILD/iommusim" trace info "$OUT" || true
