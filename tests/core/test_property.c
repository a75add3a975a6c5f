/* Randomized property test: thousands of map / unmap / access steps over
 * several domains, with a driver's strict invalidation after each unmap.
 * Every translation must agree with a trivial reference (per-domain array of
 * 4 KiB pages), and no device may reach a page of another domain. Caches are
 * tiny so that evictions and refills happen all the time. */
#include <string.h>

#include "core_fx.h"
#include "ims_check.h"

#define NDOM 4
#define NPAGES 2048 /* 8 MiB of IOVA per domain */

struct ref {
    uint64_t pa[NDOM][NPAGES]; /* 0 = unmapped */
    uint8_t perm[NDOM][NPAGES];
};

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint16_t rid_of(unsigned d) { return IMS_BDF(2, d + 1, 0); }
static uint64_t pa_base(unsigned d) { return (uint64_t)(d + 1) << 36; } /* disjoint per domain */

/* Smallest am whose aligned 2^am-page block covers [iova, iova + size). */
static uint8_t cover_am(uint64_t iova, uint64_t size)
{
    uint8_t am = 0;
    while ((iova >> (12 + am)) != ((iova + size - 1) >> (12 + am)))
        am++;
    return am;
}

/* Loop index = seed; each seed runs with a different replacement policy. */
START_TEST(random_agrees_with_reference)
{
    static struct ref ref;
    memset(&ref, 0, sizeof ref);
    uint64_t seed = 0x1234567ull + (uint64_t)_i * 7919u;
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    uint8_t repl = (uint8_t)(_i % IMS_REPL_COUNT);
    cfg.ctx_cache = (struct ims_cache_cfg){.sets = 2, .ways = 1, .repl = repl, .seed = seed};
    cfg.iotlb = (struct ims_cache_cfg){.sets = 4, .ways = 2, .repl = repl, .seed = seed};
    for (unsigned l = 2; l <= 5; l++)
        cfg.psc[l] = (struct ims_cache_cfg){.sets = 2, .ways = 2, .repl = repl, .seed = seed};
    struct fx f;
    fx_open(&f, &cfg);
    for (unsigned d = 0; d < NDOM; d++) {
        ck_assert_int_eq(ims_tb_domain_create(f.tb, (uint16_t)(d + 1), 3 + d % 3), 0);
        ck_assert_int_eq(ims_tb_attach(f.tb, rid_of(d), (uint16_t)(d + 1), IMS_TT_UNTRANSLATED, false), 0);
    }
    uint64_t ok = 0, faults = 0, superpages = 0;
    uint64_t hot[NDOM] = {0}; /* first page of each domain's latest mapping */
    for (int step = 0; step < 6000; step++) {
        uint64_t r = rng_next(&seed);
        unsigned d = (unsigned)(r % NDOM);
        unsigned op = (unsigned)((r >> 8) % 10);
        if (op < 3) { /* map: sometimes 2 MiB aligned in IOVA and PA */
            bool big = (r >> 16) % 4 == 0;
            uint64_t first = big ? ((r >> 20) % (NPAGES / 512)) * 512 : (r >> 20) % NPAGES;
            uint64_t n = big ? 512 + (r >> 40) % 600 : 1 + (r >> 40) % 24;
            if (first + n > NPAGES)
                n = NPAGES - first;
            uint64_t pa = pa_base(d) + (big ? ((r >> 30) % 64) << 21 : ((r >> 30) % 65536) << 12);
            unsigned perm = 1 + (unsigned)((r >> 50) % 3);
            bool clash = false;
            for (uint64_t p = first; p < first + n; p++)
                clash |= ref.pa[d][p] != 0;
            int rc = ims_tb_map(f.tb, (uint16_t)(d + 1), first << 12, pa, n << 12, perm);
            ck_assert_int_eq(rc, clash ? IMS_TB_EEXIST : 0);
            if (!clash) {
                hot[d] = first;
                for (uint64_t p = 0; p < n; p++) {
                    ref.pa[d][first + p] = pa + (p << 12);
                    ref.perm[d][first + p] = (uint8_t)perm;
                }
                /* Caching mode is off: no invalidation needed for new mappings. */
            }
        } else if (op < 4) { /* unmap + strict invalidation */
            uint64_t first = (r >> 20) % NPAGES, n = 1 + (r >> 40) % 700;
            if (first + n > NPAGES)
                n = NPAGES - first;
            bool any = false;
            for (uint64_t p = first; p < first + n; p++) {
                any |= ref.pa[d][p] != 0;
                ref.pa[d][p] = 0;
            }
            int rc = ims_tb_unmap(f.tb, (uint16_t)(d + 1), first << 12, n << 12);
            ck_assert_int_eq(rc, any ? 0 : IMS_TB_ENOENT);
            if ((r >> 60) & 3) /* mostly page-selective; sometimes the whole domain */
                ims_inv_iotlb(f.mmu, IMS_INV_PAGE, (uint16_t)(d + 1), first << 12, cover_am(first << 12, n << 12),
                              false);
            else
                ims_inv_iotlb(f.mmu, IMS_INV_DOMAIN, (uint16_t)(d + 1), 0, 0, false);
        } else { /* access from a device of domain d */
            uint64_t page = (r >> 19) & 1 ? (r >> 20) % NPAGES : (hot[d] + (r >> 20) % 32) % NPAGES, off = ((r >> 40) % 512) * 8;
            unsigned access = (r >> 60) & 1 ? IMS_PERM_W : IMS_PERM_R;
            struct ims_xlate x;
            int rc = fx_xlate(&f, rid_of(d), (page << 12) + off, access, &x);
            uint64_t want = ref.pa[d][page];
            if (want && (ref.perm[d][page] & access)) {
                ck_assert_msg(rc == 0, "step %d: dom %u page %llu: fault 0x%x, expected pa 0x%llx", step, d,
                              (unsigned long long)page, rc, (unsigned long long)want);
                ck_assert_uint_eq(x.pa, want + off);
                ok++;
                superpages += x.page_shift > 12;
            } else {
                ck_assert_msg(rc == (access == IMS_PERM_W ? IMS_FR_WRITE : IMS_FR_READ),
                              "step %d: dom %u page %llu: rc 0x%x pa 0x%llx, expected a fault", step, d,
                              (unsigned long long)page, rc, (unsigned long long)x.pa);
                faults++;
            }
            if (rc == 0) /* isolation: never another domain's memory */
                ck_assert(x.pa >= pa_base(d) && x.pa < pa_base(d) + (1ull << 36));
            struct ims_fault_record rec[4];
            ims_fq_drain(f.mmu, f.mem, rec, 4);
        }
    }
    /* The run exercised both outcomes, superpages and evictions. */
    ck_assert_uint_gt(ok, 500);
    ck_assert_uint_gt(faults, 200);
    ck_assert_uint_gt(superpages, 10);
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_gt(st->iotlb.evictions, 50);
    ck_assert_uint_gt(st->iotlb.hits, 20);
    ck_assert_uint_gt(st->psc[2].hits + st->psc[3].hits + st->psc[4].hits, 10);
    fx_close(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("property");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, random_agrees_with_reference, 0, 8);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
