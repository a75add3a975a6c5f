/* Functional-core throughput: translations per second for
 *  (a) IOTLB hits: 4 devices, 4 domains, 64 pages each (fits a 64x8 IOTLB);
 *  (b) 4-level walks with every cache disabled (root + context + 4 PTE reads);
 *  (c) 4-level walks with paging-structure caches on (IOTLB and context cache
 *      on too, but the IOVA stream never repeats a page within IOTLB reach).
 * Prints `name value` lines; run a Release build (-O2). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "iommusim/iommu.h"
#include "iommusim/tb.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct rig {
    struct ims_mem *mem;
    struct ims_tb *tb;
    struct ims_iommu *mmu;
};

static void rig_open(struct rig *r, const struct ims_iommu_cfg *cfg, unsigned ndev, uint64_t pages)
{
    char err[256];
    struct ims_tb_cfg tcfg;
    ims_tb_cfg_default(&tcfg);
    tcfg.caps = cfg->caps;
    tcfg.superpages = false;
    r->mem = ims_mem_create();
    r->tb = ims_tb_create(r->mem, &tcfg, err, sizeof err);
    r->mmu = ims_iommu_create(cfg, &ims_mem_direct_ops, r->mem, err, sizeof err);
    if (!r->tb || !r->mmu) {
        fprintf(stderr, "bench_core: %s\n", err);
        exit(1);
    }
    ims_iommu_set_root(r->mmu, ims_tb_root(r->tb));
    for (unsigned d = 0; d < ndev; d++) {
        uint16_t did = (uint16_t)(d + 1), rid = (uint16_t)(0x100 + d * 8);
        if (ims_tb_domain_create(r->tb, did, 4) || ims_tb_attach(r->tb, rid, did, IMS_TT_UNTRANSLATED, false) ||
            ims_tb_map(r->tb, did, 0x40000000, 0x100000000ull * (d + 1), pages << 12, IMS_PERM_RW)) {
            fprintf(stderr, "bench_core: building tables failed\n");
            exit(1);
        }
    }
}

static void rig_close(struct rig *r)
{
    ims_iommu_destroy(r->mmu);
    ims_tb_destroy(r->tb);
    ims_mem_destroy(r->mem);
}

/* Runs n translations over ndev devices and `pages` pages with a stride (in
 * pages); returns translations per second. Exits if any translation fails. */
static double run(struct rig *r, unsigned ndev, uint64_t pages, uint64_t stride, uint64_t n, unsigned expect_flag)
{
    struct ims_xlate x;
    struct ims_req q = {.pasid = IMS_NO_PASID, .size = 64, .access = IMS_PERM_R, .at = IMS_AT_UNTRANSLATED};
    uint64_t bad = 0, flagged = 0, sum = 0, page = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(i % ndev);
        q.rid = (uint16_t)(0x100 + d * 8);
        q.iova = 0x40000000 + (page << 12) + (i & 0xfc0);
        if (d == ndev - 1)
            page = (page + stride) % pages;
        bad += ims_translate(r->mmu, &q, &x) != 0;
        flagged += (x.flags & expect_flag) != 0;
        sum += x.pa;
    }
    double dt = now_s() - t0;
    if (bad || flagged != n) {
        fprintf(stderr, "bench_core: %" PRIu64 " faults, %" PRIu64 "/%" PRIu64 " with the expected flag\n", bad,
                flagged, n);
        exit(1);
    }
    if (sum == 42)
        puts(""); /* keeps the results live */
    return (double)n / dt;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 20000000ull;
    struct ims_iommu_cfg cfg;
    struct rig r;

    /* (a) IOTLB hits: 4 devices x 64 pages = 256 entries in a 512-entry IOTLB. */
    ims_iommu_cfg_default(&cfg);
    rig_open(&r, &cfg, 4, 64);
    run(&r, 4, 64, 1, 4 * 64, IMS_XLATE_WALKED); /* warm-up: fill */
    printf("iotlb_hit_xlate_per_s %.0f\n", run(&r, 4, 64, 1, n, IMS_XLATE_IOTLB_HIT));
    rig_close(&r);

    /* (b) every cache off: each translation reads root, context (2 words) and 4 PTEs. */
    ims_iommu_cfg_default(&cfg);
    cfg.ctx_cache.sets = 0;
    cfg.iotlb.sets = 0;
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        cfg.psc[l].sets = 0;
    rig_open(&r, &cfg, 4, 4096);
    printf("walk4_nocache_xlate_per_s %.0f\n", run(&r, 4, 4096, 1, n / 4, IMS_XLATE_WALKED));
    rig_close(&r);

    /* (c) PSCs on: 16 MiB per device walked with a 17-page stride, so the
     * IOTLB (512 entries) never hits, the level-2 PSC mostly does. */
    ims_iommu_cfg_default(&cfg);
    rig_open(&r, &cfg, 4, 4096);
    run(&r, 4, 4096, 17, 4 * 4096, IMS_XLATE_WALKED);
    ims_iommu_stats_reset(r.mmu);
    printf("walk4_psc_xlate_per_s %.0f\n", run(&r, 4, 4096, 17, n / 2, IMS_XLATE_WALKED));
    const struct ims_stats *st = ims_iommu_stats(r.mmu);
    printf("walk4_psc_reads_per_walk %.3f\n", (double)st->ptw_reads / (double)st->walks);
    rig_close(&r);
    return 0;
}
