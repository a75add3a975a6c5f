/* rIOMMU rings (cfg.riommu; model/core/riommu.c): on two small hand-made
 * rings, which requests the rIOTLB serves and which read the flat table
 * (and where), the read-ahead of the next slot (also round the end of the
 * ring, and for a ring laid out downwards), slot faults, software's map and
 * unmap (the rIOTLB never serves a dropped slot), elided invalidations,
 * configuration errors, and that requests outside the rings and an
 * instance without rings behave as before. */
#include <check.h>
#include "ims_check.h"
#include <string.h>

#include "core_fx.h"

#define RID 0x0010u
#define DID 1u
#define UP_FIRST UINT64_C(0x100000) /* ring 0: 4 slots of 8 KiB upwards */
#define UP_SLOT UINT64_C(0x2000)
#define DN_FIRST UINT64_C(0x200000) /* ring 1: 4 slots of 4 KiB downwards */
#define SLOTS 4u
#define PA(n) (UINT64_C(0x40000000) + ((uint64_t)(n) << 16))
#define T0 IMS_RIOMMU_TABLE_BASE             /* ring 0's flat table */
#define T1 (IMS_RIOMMU_TABLE_BASE + 0x1000u) /* ring 1's: the next 4 KiB */

static char err[256];

static void ring_cfg(struct ims_iommu_cfg *cfg)
{
    fx_cfg(cfg);
    cfg->riommu.n_rings = 2;
    cfg->riommu.ring[0] =
        (struct ims_riommu_ring_cfg){.first = UP_FIRST, .slots = SLOTS, .slot_size = UP_SLOT, .did = DID};
    cfg->riommu.ring[1] =
        (struct ims_riommu_ring_cfg){.first = DN_FIRST, .slots = SLOTS, .slot_size = 0x1000, .did = DID, .down = true};
}

static void open_rings(struct fx *f)
{
    struct ims_iommu_cfg cfg;
    ring_cfg(&cfg);
    fx_open(f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f->tb, DID, 4), 0);
    ck_assert_int_eq(ims_tb_attach(f->tb, RID, DID, IMS_TT_UNTRANSLATED, false), 0);
}

static uint64_t up_iova(unsigned s)
{
    return UP_FIRST + s * UP_SLOT;
}
static uint64_t dn_iova(unsigned s)
{
    return DN_FIRST - (uint64_t)s * 0x1000;
}

static void map_up(struct fx *f, unsigned s, unsigned perm)
{
    ck_assert_int_eq(ims_riommu_map(f->mmu, f->mem, DID, up_iova(s), UP_SLOT, PA(s), perm, err, sizeof err), 1);
}

static const struct ims_riommu_stats *rs(struct fx *f)
{
    return &ims_iommu_stats(f->mmu)->riommu;
}

/* Translates iova (read); checks the output address against pa. Returns the flags. */
static unsigned xl(struct fx *f, uint64_t iova, uint64_t pa)
{
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(f, RID, iova, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.pa, pa);
    ck_assert_uint_eq(x.page_shift, 12);
    return x.flags;
}

/* Expected: slot 0 misses (one flat read of entry 0, on the request's path,
 * then slot 1 read ahead); slot 0 again, in its second page, hits; slot 1
 * hits the read-ahead entry (slot 2 read ahead); slot 3 skips slot 2, so it
 * misses (entry 3 read, slot 0 read ahead round the end); slot 0 hits. Five
 * requests: 3 hits, 2 misses, 6 flat reads (4 ahead), no walk, no IOTLB. */
START_TEST(hits_misses_and_reads)
{
    struct fx f;
    open_rings(&f);
    for (unsigned s = 0; s < SLOTS; s++)
        map_up(&f, s, IMS_PERM_RW);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID, up_iova(0) + 0x10, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.pa, PA(0) + 0x10);
    ck_assert(x.flags & IMS_XLATE_WALKED);
    ck_assert(!(x.flags & IMS_XLATE_IOTLB_HIT));
    ck_assert_uint_eq(x.reads[x.n_reads - 1].pa, T0); /* after the context reads, slot 0's flat entry */
    ck_assert_uint_eq(x.reads[x.n_reads - 1].kind, IMS_MEM_PTE);
    const struct ims_pf_log *log = ims_iommu_pf_log(f.mmu);
    ck_assert_ptr_nonnull(log);
    ck_assert_uint_eq(log->n, 1); /* the read-ahead of slot 1, for the timing layer */
    ck_assert_uint_eq(log->w[0].pa[0], T0 + 8);
    ck_assert_uint_eq(log->w[0].iova, up_iova(1));
    ck_assert_uint_eq(log->w[0].filled, 1);
    ck_assert(xl(&f, up_iova(0) + 0x1010, PA(0) + 0x1010) & IMS_XLATE_IOTLB_HIT);
    ck_assert(xl(&f, up_iova(1) + 0x20, PA(1) + 0x20) & IMS_XLATE_IOTLB_HIT);
    ck_assert(xl(&f, up_iova(3), PA(3)) & IMS_XLATE_WALKED);
    ck_assert(xl(&f, up_iova(0) + 8, PA(0) + 8) & IMS_XLATE_IOTLB_HIT);
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->riommu.hits, 3);
    ck_assert_uint_eq(st->riommu.misses, 2);
    ck_assert_uint_eq(st->riommu.table_reads, 6);
    ck_assert_uint_eq(st->riommu.prefetches, 4);
    ck_assert_uint_eq(st->riommu.faults, 0);
    ck_assert_uint_eq(st->riommu.slot_writes, SLOTS);
    ck_assert_uint_eq(st->ptw_reads, 0);
    ck_assert_uint_eq(st->walks, 0);
    ck_assert_uint_eq(st->iotlb.lookups, 0);
    ck_assert_uint_eq(st->translations, 5);
    fx_close(&f);
}
END_TEST

/* Expected: a downward ring's slot s + 1 sits 4 KiB below slot s: slot 0
 * misses, slot 1 hits its read-ahead entry (at the flat table's entry 1 of
 * ring 1). */
START_TEST(down_ring_reads_ahead_downwards)
{
    struct fx f;
    open_rings(&f);
    for (unsigned s = 0; s < SLOTS; s++)
        ck_assert_int_eq(ims_riommu_map(f.mmu, f.mem, DID, dn_iova(s), 0x1000, PA(8 + s), IMS_PERM_W, err, sizeof err),
                         1);
    ck_assert_uint_eq(ims_mem_read64(f.mem, T1 + 8), PA(9) | IMS_PERM_W); /* the flat entry's layout */
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID, dn_iova(0) + 4, IMS_PERM_W, &x), 0);
    ck_assert_uint_eq(x.pa, PA(8) + 4);
    ck_assert_uint_eq(x.reads[x.n_reads - 1].pa, T1);
    ck_assert_int_eq(fx_xlate(&f, RID, dn_iova(1) + 4, IMS_PERM_W, &x), 0);
    ck_assert_uint_eq(x.pa, PA(9) + 4);
    ck_assert(x.flags & IMS_XLATE_IOTLB_HIT);
    ck_assert_uint_eq(rs(&f)->hits, 1);
    ck_assert_uint_eq(rs(&f)->misses, 1);
    fx_close(&f);
}
END_TEST

/* Expected: a request to an unmapped slot faults (read: reason 6) and is
 * recorded; a write to a read-only slot faults with reason 5, also when the
 * slot is the rIOTLB's current one; nothing of a fault is cached: once
 * mapped, the slot translates. A read-ahead entry that was not mapped is
 * read again on use. */
START_TEST(slot_faults)
{
    struct fx f;
    open_rings(&f);
    map_up(&f, 0, IMS_PERM_R);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID, up_iova(1), IMS_PERM_R, &x), IMS_FR_READ);
    ck_assert(x.flags & IMS_XLATE_FAULT_RECORDED);
    ck_assert_int_eq(fx_xlate(&f, RID, up_iova(0), IMS_PERM_W, &x), IMS_FR_WRITE); /* miss, read-only */
    ck_assert_int_eq(fx_xlate(&f, RID, up_iova(0), IMS_PERM_R, &x), 0); /* miss: slot 1 read ahead, unmapped */
    ck_assert_int_eq(fx_xlate(&f, RID, up_iova(0), IMS_PERM_W, &x), IMS_FR_WRITE); /* hit, read-only */
    ck_assert(x.flags & IMS_XLATE_IOTLB_HIT);
    ims_mem_write64(f.mem, T0 + 8, PA(1) | IMS_PERM_R);      /* a write the rIOTLB is not told of */
    ck_assert(xl(&f, up_iova(1), PA(1)) & IMS_XLATE_WALKED); /* the unmapped read-ahead is read again */
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->riommu.faults, 3);
    ck_assert_uint_eq(st->faults, 3);
    ck_assert_uint_eq(st->fault_reason[IMS_FR_READ], 1);
    ck_assert_uint_eq(st->fault_reason[IMS_FR_WRITE], 2);
    ck_assert_uint_eq(st->riommu.misses, 4);
    ck_assert_uint_eq(st->riommu.hits, 1);
    fx_close(&f);
}
END_TEST

/* Expected: unmapping the rIOTLB's current slot (and its read-ahead one)
 * drops them: the next request faults instead of using the old
 * translation; remapped elsewhere, the slot translates to the new address. */
START_TEST(unmap_drops_the_riotlb_copy)
{
    struct fx f;
    open_rings(&f);
    map_up(&f, 0, IMS_PERM_RW);
    map_up(&f, 1, IMS_PERM_RW);
    xl(&f, up_iova(0), PA(0)); /* current 0, slot 1 read ahead */
    ck_assert_int_eq(ims_riommu_unmap(f.mmu, f.mem, DID, up_iova(0), UP_SLOT, err, sizeof err), 1);
    ck_assert_int_eq(ims_riommu_unmap(f.mmu, f.mem, DID, up_iova(1), UP_SLOT, err, sizeof err), 1);
    ck_assert_uint_eq(ims_mem_read64(f.mem, T0), 0);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID, up_iova(0), IMS_PERM_R, &x), IMS_FR_READ);
    ck_assert_int_eq(fx_xlate(&f, RID, up_iova(1), IMS_PERM_R, &x), IMS_FR_READ);
    ck_assert_int_eq(ims_riommu_map(f.mmu, f.mem, DID, up_iova(1), UP_SLOT, PA(7), IMS_PERM_R, err, sizeof err), 1);
    xl(&f, up_iova(1) + 0x1000, PA(7) + 0x1000);
    fx_close(&f);
}
END_TEST

/* Expected: software's errors name the problem and write nothing: partly in
 * a ring, not whole slots, mapping over a mapping, unmapping nothing, no
 * permission; a range outside every ring (or in another domain) is not
 * theirs (0). Two slots mapped at once get consecutive addresses. */
START_TEST(software_errors)
{
    struct fx f;
    open_rings(&f);
    ck_assert_int_eq(ims_riommu_map(f.mmu, f.mem, DID, UP_FIRST - 0x1000, 0x3000, PA(0), 1, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "partly in rIOMMU ring 0"), "%s", err);
    ck_assert_int_eq(ims_riommu_map(f.mmu, f.mem, DID, up_iova(0), 0x1000, PA(0), 1, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "not whole slots"), "%s", err);
    ck_assert_int_eq(ims_riommu_map(f.mmu, f.mem, DID, up_iova(0), UP_SLOT, PA(0), 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "R or W"), "%s", err);
    ck_assert_int_eq(ims_riommu_unmap(f.mmu, f.mem, DID, up_iova(0), UP_SLOT, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "nothing mapped there"), "%s", err);
    ck_assert_int_eq(ims_riommu_map(f.mmu, f.mem, DID, up_iova(1), 2 * UP_SLOT, PA(1), 1, err, sizeof err), 1);
    ck_assert_uint_eq(ims_mem_read64(f.mem, T0 + 16), (PA(1) + UP_SLOT) | 1);
    ck_assert_int_eq(ims_riommu_map(f.mmu, f.mem, DID, up_iova(0), 2 * UP_SLOT, PA(0), 1, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "already mapped"), "%s", err);
    ck_assert_uint_eq(ims_mem_read64(f.mem, T0), 0); /* slot 0 was free, but the map as a whole failed */
    ck_assert_int_eq(ims_riommu_map(f.mmu, f.mem, DID, 0x10000, 0x1000, PA(0), 1, err, sizeof err), 0);
    ck_assert_int_eq(ims_riommu_map(f.mmu, f.mem, DID + 1, up_iova(0), UP_SLOT, PA(0), 1, err, sizeof err), 0);
    ck_assert_uint_eq(rs(&f)->slot_writes, 2);
    fx_close(&f);
}
END_TEST

/* Expected: a page-selective invalidation inside one ring is elided
 * (returns 0, counted in riommu.inv_elided, not in inv_iotlb); one that
 * reaches past the ring, a domain-selective one, or one of another domain
 * is applied as before. */
START_TEST(invalidations_elided)
{
    struct fx f;
    open_rings(&f);
    ck_assert(ims_riommu_covers(f.mmu, IMS_INV_PAGE, DID, up_iova(3) + 0x1000, 0));
    ck_assert(ims_riommu_covers(f.mmu, IMS_INV_PAGE, DID, up_iova(0), 3)); /* 32 KiB: the whole ring */
    ck_assert(!ims_riommu_covers(f.mmu, IMS_INV_PAGE, DID, up_iova(0), 4));
    ck_assert(!ims_riommu_covers(f.mmu, IMS_INV_DOMAIN, DID, 0, 0));
    ck_assert(!ims_riommu_covers(f.mmu, IMS_INV_PAGE, DID + 1, up_iova(0), 0));
    ck_assert_uint_eq(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, up_iova(1), 0, false), 0);
    ck_assert_uint_eq(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, dn_iova(3), 0, false), 0);
    ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, up_iova(0), 4, false);
    ims_inv_iotlb(f.mmu, IMS_INV_DOMAIN, DID, 0, 0, false);
    ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID + 1, up_iova(1), 0, false);
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->riommu.inv_elided, 2);
    ck_assert_uint_eq(st->inv_iotlb, 3);
    fx_close(&f);
}
END_TEST

/* Runs a fixed sequence over radix mappings (outside the rings) and returns
 * the statistics; the results are checked against the tables. */
static struct ims_stats radix_run(const struct ims_iommu_cfg *cfg)
{
    struct fx f;
    fx_open(&f, cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, DID, 4), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID, DID, IMS_TT_UNTRANSLATED, false), 0);
    for (unsigned p = 0; p < 8; p++)
        ck_assert_int_eq(ims_tb_map(f.tb, DID, 0x10000 + p * 0x1000, PA(p), 0x1000, IMS_PERM_RW), 0);
    for (unsigned i = 0; i < 40; i++)
        xl(&f, 0x10000 + (i * 5 % 8) * 0x1000 + i, PA(i * 5 % 8) + i);
    ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, 0x12000, 0, false);
    xl(&f, 0x12000, PA(2));
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID, 0x30000, IMS_PERM_R, &x), IMS_FR_READ);
    struct ims_stats st = *ims_iommu_stats(f.mmu);
    ck_assert_int_eq(ims_riommu_on(f.mmu), cfg->riommu.n_rings != 0);
    fx_close(&f);
    return st;
}

/* Expected: requests and invalidations outside the rings count exactly as
 * in an instance without rings; without rings nothing of rIOMMU is there
 * (no log, software's maps are not its business, nothing elided). */
START_TEST(outside_the_rings_nothing_changes)
{
    struct ims_iommu_cfg on, off;
    ring_cfg(&on);
    fx_cfg(&off);
    struct ims_stats a = radix_run(&on), b = radix_run(&off);
    ck_assert_int_eq(memcmp(&a, &b, sizeof a), 0);
    struct ims_riommu_stats zero = {0};
    ck_assert_int_eq(memcmp(&a.riommu, &zero, sizeof zero), 0);
    struct fx f;
    fx_open(&f, &off);
    ck_assert_ptr_null(ims_iommu_pf_log(f.mmu));
    ck_assert_int_eq(ims_riommu_map(f.mmu, f.mem, DID, UP_FIRST, UP_SLOT, PA(0), 1, err, sizeof err), 0);
    ck_assert_int_eq(ims_riommu_unmap(f.mmu, f.mem, DID, UP_FIRST, UP_SLOT, err, sizeof err), 0);
    ck_assert(!ims_riommu_covers(f.mmu, IMS_INV_PAGE, DID, UP_FIRST, 0));
    fx_close(&f);
}
END_TEST

/* Expected: each bad layout is refused by ims_iommu_create with a message
 * naming riommu.rings and what is wrong. */
START_TEST(configuration_errors)
{
    static const struct {
        unsigned ring;
        struct ims_riommu_ring_cfg r;
        const char *msg;
    } bad[] = {
        {1, {.first = UP_FIRST + 0x4000, .slots = 4, .slot_size = 0x1000, .did = DID}, "overlap"},
        {0, {.first = UP_FIRST, .slots = 0, .slot_size = 0x1000, .did = DID}, "0 slots"},
        {0, {.first = UP_FIRST, .slots = IMS_RIOMMU_MAX_SLOTS + 1, .slot_size = 0x1000, .did = DID}, "slots"},
        {0, {.first = UP_FIRST, .slots = 4, .slot_size = 0x1800, .did = DID}, "multiple of 4 KiB"},
        {0, {.first = UP_FIRST + 8, .slots = 4, .slot_size = 0x1000, .did = DID}, "not 4 KiB aligned"},
        {0, {.first = 0x2000, .slots = 4, .slot_size = 0x1000, .did = DID, .down = true}, "leave the address space"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ims_iommu_cfg cfg;
        ring_cfg(&cfg);
        cfg.riommu.ring[bad[i].ring] = bad[i].r;
        ck_assert_ptr_null(ims_iommu_create(&cfg, &ims_mem_direct_ops, NULL, err, sizeof err));
        ck_assert_msg(strstr(err, "riommu.rings") && strstr(err, bad[i].msg), "case %zu: %s", i, err);
    }
    struct ims_iommu_cfg cfg;
    ring_cfg(&cfg);
    cfg.sm.enabled = true;
    ck_assert_ptr_null(ims_iommu_create(&cfg, &ims_mem_direct_ops, NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "legacy mode only"), "%s", err);
    ring_cfg(&cfg);
    cfg.riommu.n_rings = IMS_RIOMMU_MAX_RINGS + 1;
    ck_assert_int_eq(ims_riommu_cfg_check(&cfg, err, sizeof err), -1);
    ring_cfg(&cfg);
    cfg.riommu.table_base = 0x123;
    ck_assert_int_eq(ims_riommu_cfg_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "flat tables"), "%s", err);
}
END_TEST

/* Expected: ims_stats_sub subtracts every rIOMMU counter. */
START_TEST(stats_subtract)
{
    struct ims_stats *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b), *d = calloc(1, sizeof *d);
    a->riommu = (struct ims_riommu_stats){10, 20, 30, 40, 50, 60, 70};
    b->riommu = (struct ims_riommu_stats){1, 2, 3, 4, 5, 6, 7};
    ims_stats_sub(d, a, b);
    const struct ims_riommu_stats want = {9, 18, 27, 36, 45, 54, 63};
    ck_assert_int_eq(memcmp(&d->riommu, &want, sizeof want), 0);
    free(a);
    free(b);
    free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("riommu");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, hits_misses_and_reads);
    tcase_add_test(tc, down_ring_reads_ahead_downwards);
    tcase_add_test(tc, slot_faults);
    tcase_add_test(tc, unmap_drops_the_riotlb_copy);
    tcase_add_test(tc, software_errors);
    tcase_add_test(tc, invalidations_elided);
    tcase_add_test(tc, outside_the_rings_nothing_changes);
    tcase_add_test(tc, configuration_errors);
    tcase_add_test(tc, stats_subtract);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
