/* vfio-nvme: a minimal user-space NVMe driver over VFIO, for the guest of
 * traces/record/record.sh (--workload nvme-vfio; docs/recording.md).
 *
 * It maps its queues and one buffer pool into the device's IOMMU domain once
 * (VFIO_IOMMU_MAP_DMA, as SPDK and DPDK do) and never unmaps them, then keeps
 * QD 4 KiB reads and writes in flight on one I/O queue pair, each to a pool
 * page drawn at random (xorshift64, fixed seed): long-lived mappings whose
 * reuse only an IOTLB as large as the pool can catch. No interrupts: the
 * completion queue is polled.
 *
 * NVMe 1.4 (NVM Express Base Specification, revision 1.4): controller
 * registers (section 3.1: CAP, CC, CSTS, AQA, ASQ, ACQ, doorbells at 0x1000
 * with stride 4 << CAP.DSTRD), initialization (section 7.6.1), Create I/O
 * Completion/Submission Queue (admin opcodes 05h/01h, sections 5.3 and 5.4),
 * NVM Read/Write (opcodes 02h/01h, NVM command set 1.0 section 3.2).
 *
 * usage: vfio-nvme BDF POOL_PAGES IOS QD
 * Build (on the host, static, for the guest): gcc -static -O2 -o vfio-nvme vfio-nvme.c
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define QSIZE 64 /* entries per queue (admin and I/O) */
#define RING_IOVA 0x100000ull
#define POOL_IOVA 0x1000000ull

static volatile uint8_t *bar;
static uint32_t dstrd;

static void die(const char *what)
{
    fprintf(stderr, "vfio-nvme: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(1);
}

static uint32_t rd32(uint32_t off) { return *(volatile uint32_t *)(bar + off); }
static void wr32(uint32_t off, uint32_t v) { *(volatile uint32_t *)(bar + off) = v; }
static uint64_t rd64(uint32_t off) { return rd32(off) | (uint64_t)rd32(off + 4) << 32; }
static void wr64(uint32_t off, uint64_t v)
{
    wr32(off, (uint32_t)v);
    wr32(off + 4, (uint32_t)(v >> 32));
}

struct queue {
    uint32_t *sq; /* QSIZE x 64 bytes */
    volatile uint32_t *cq; /* QSIZE x 16 bytes */
    unsigned qid, tail, head, phase;
};

static void submit(struct queue *q, const uint32_t cmd[16])
{
    memcpy(q->sq + 16 * q->tail, cmd, 64);
    __sync_synchronize();
    q->tail = (q->tail + 1) % QSIZE;
    wr32(0x1000 + (2 * q->qid) * (4u << dstrd), q->tail);
}

/* Waits for the next completion; returns its status field (0 = success). */
static unsigned reap(struct queue *q)
{
    time_t t0 = time(NULL);
    for (;;) {
        uint32_t dw3 = q->cq[4 * q->head + 3];
        if (((dw3 >> 16) & 1) == q->phase) {
            q->head = (q->head + 1) % QSIZE;
            if (q->head == 0)
                q->phase ^= 1;
            wr32(0x1000 + (2 * q->qid + 1) * (4u << dstrd), q->head);
            return (dw3 >> 17) & 0x7fff;
        }
        if (time(NULL) - t0 > 60) {
            errno = ETIMEDOUT;
            die("no completion");
        }
    }
}

static void *dma_alloc(int container, size_t len, uint64_t iova)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    memset(p, 0, len);
    struct vfio_iommu_type1_dma_map m = {.argsz = sizeof m,
                                         .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                         .vaddr = (uintptr_t)p,
                                         .iova = iova,
                                         .size = len};
    if (ioctl(container, VFIO_IOMMU_MAP_DMA, &m))
        die("VFIO_IOMMU_MAP_DMA");
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: vfio-nvme BDF POOL_PAGES IOS QD\n");
        return 2;
    }
    const char *bdf = argv[1];
    uint64_t pool = strtoull(argv[2], NULL, 0), ios = strtoull(argv[3], NULL, 0);
    unsigned qd = (unsigned)strtoul(argv[4], NULL, 0);
    if (!pool || !ios || !qd || qd >= QSIZE) {
        fprintf(stderr, "vfio-nvme: POOL_PAGES and IOS must be > 0, QD 1..%d\n", QSIZE - 1);
        return 2;
    }
    char path[320], link[256];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/iommu_group", bdf);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n < 0)
        die(path);
    link[n] = 0;
    const char *grp = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;

    int container = open("/dev/vfio/vfio", O_RDWR);
    if (container < 0)
        die("/dev/vfio/vfio");
    if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
        !ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU))
        die("VFIO type1 not supported");
    snprintf(path, sizeof path, "/dev/vfio/%s", grp);
    int group = open(path, O_RDWR);
    if (group < 0)
        die(path);
    struct vfio_group_status gs = {.argsz = sizeof gs};
    if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs) || !(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
        die("group not viable");
    if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) || ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU))
        die("VFIO container");
    int dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
    if (dev < 0)
        die("VFIO_GROUP_GET_DEVICE_FD");

    /* Bus mastering and memory space on (PCI command register, offset 4). */
    struct vfio_region_info cfg = {.argsz = sizeof cfg, .index = VFIO_PCI_CONFIG_REGION_INDEX};
    if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &cfg))
        die("config region");
    uint16_t cmdreg;
    if (pread(dev, &cmdreg, 2, (off_t)cfg.offset + 4) != 2)
        die("config read");
    cmdreg |= 0x6;
    if (pwrite(dev, &cmdreg, 2, (off_t)cfg.offset + 4) != 2)
        die("config write");
    struct vfio_region_info b0 = {.argsz = sizeof b0, .index = VFIO_PCI_BAR0_REGION_INDEX};
    if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &b0))
        die("BAR0 region");
    bar = mmap(NULL, b0.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev, (off_t)b0.offset);
    if (bar == MAP_FAILED)
        die("mmap BAR0");

    /* Queues: admin SQ, admin CQ, I/O SQ, I/O CQ, one page each. */
    uint8_t *rings = dma_alloc(container, 4 * 4096, RING_IOVA);
    dma_alloc(container, pool * 4096, POOL_IOVA);
    struct queue aq = {(uint32_t *)rings, (volatile uint32_t *)(rings + 4096), 0, 0, 0, 1};
    struct queue iq = {(uint32_t *)(rings + 8192), (volatile uint32_t *)(rings + 12288), 1, 0, 0, 1};

    uint64_t cap = rd64(0x0);
    dstrd = (uint32_t)(cap >> 32) & 0xf;
    wr32(0x14, 0); /* CC.EN = 0 */
    while (rd32(0x1c) & 1)
        ;
    wr32(0x24, (QSIZE - 1) << 16 | (QSIZE - 1));
    wr64(0x28, RING_IOVA);
    wr64(0x30, RING_IOVA + 4096);
    wr32(0x14, 4u << 20 | 6u << 16 | 1); /* IOCQES 16 B, IOSQES 64 B, EN */
    while (!(rd32(0x1c) & 1))
        if (rd32(0x1c) & 2)
            die("controller fatal status");

    uint32_t c[16] = {0};
    c[0] = 0x05 | 1u << 16; /* Create I/O CQ, cid 1 */
    c[6] = (uint32_t)(RING_IOVA + 12288);
    c[10] = (QSIZE - 1) << 16 | 1;
    c[11] = 1; /* physically contiguous, no interrupts */
    submit(&aq, c);
    if (reap(&aq))
        die("create I/O CQ");
    memset(c, 0, sizeof c);
    c[0] = 0x01 | 2u << 16; /* Create I/O SQ, cid 2 */
    c[6] = (uint32_t)(RING_IOVA + 8192);
    c[10] = (QSIZE - 1) << 16 | 1;
    c[11] = 1u << 16 | 1; /* CQ 1, physically contiguous */
    submit(&aq, c);
    if (reap(&aq))
        die("create I/O SQ");

    uint64_t x = 0x9e3779b97f4a7c15ull, done = 0, sent = 0, errs = 0;
    while (done < ios) {
        while (sent < ios && sent - done < qd) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            uint64_t page = x % pool;
            memset(c, 0, sizeof c);
            c[0] = ((x >> 32) % 4 ? 0x02u : 0x01u) | (uint32_t)(sent % 65536) << 16; /* 3 reads : 1 write */
            c[1] = 1; /* namespace 1 */
            c[6] = (uint32_t)(POOL_IOVA + page * 4096);
            c[7] = (uint32_t)((POOL_IOVA + page * 4096) >> 32);
            c[10] = (uint32_t)(page % 4096 * 8); /* SLBA: 512-byte blocks, first 16 MiB */
            c[12] = 7; /* 8 blocks = 4 KiB */
            submit(&iq, c);
            sent++;
        }
        errs += reap(&iq) != 0;
        done++;
    }
    printf("vfio-nvme: %llu I/Os over %llu pool pages, queue depth %u, %llu errors\n", (unsigned long long)done,
           (unsigned long long)pool, qd, (unsigned long long)errs);
    wr32(0x14, 0);
    return errs ? 1 : 0;
}
