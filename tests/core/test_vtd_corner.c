/* VT-d legacy-mode corner cases: the root entry's high word, reserved-bit
 * masks at their exact boundary bits for every level and page size, bit 62
 * (non-leaf reserved; TM in leaves), permissions of non-leaf entries, MGAW
 * below a domain's AGAW, pass-through address width and AW checks,
 * translated requests, ATS translation requests that complete with R = W = 0,
 * the AT field of fault records, table reads answered with an error, the
 * invalidation hint on multi-page invalidations and the dropped-fault
 * counter. Fault records are checked in raw memory words, not only through
 * the record codec. */
#include "core_fx.h"
#include "ims_check.h"

#include <string.h>

#include "iommusim/topo.h"

#define RID_A IMS_BDF(0, 3, 0)
#define RID_B IMS_BDF(1, 4, 0)
#define MIB2 (1ull << 21)
#define GIB (1ull << 30)

static struct ims_req req_of(uint16_t rid, uint64_t iova, unsigned access, unsigned at)
{
    return (struct ims_req){
        .rid = rid, .pasid = IMS_NO_PASID, .iova = iova, .size = 4, .access = (uint8_t)access, .at = (uint8_t)at};
}

/* The fault queue's records, read as raw words (no codec). */
static unsigned raw_records(struct fx *f, uint64_t w[][2], unsigned max)
{
    struct ims_fq_state st;
    ims_fq_get(f->mmu, &st);
    unsigned n = 0;
    for (uint32_t i = st.head; i != st.tail && n < max; i = (i + 1) % st.records, n++) {
        w[n][0] = ims_mem_read64(f->mem, st.base + i * 16ull);
        w[n][1] = ims_mem_read64(f->mem, st.base + i * 16ull + 8);
    }
    return n;
}

/* Exactly one new record: its raw fields; then the queue is drained. */
static void expect_raw(struct fx *f, uint16_t sid, uint64_t addr, unsigned reason, bool is_read, unsigned at)
{
    uint64_t w[4][2];
    ck_assert_uint_eq(raw_records(f, w, 4), 1);
    ck_assert_uint_eq(w[0][0], addr & ~0xfffull);
    ck_assert_uint_eq(w[0][1] & 0xffff, sid);
    ck_assert_uint_eq((w[0][1] >> 32) & 0xff, reason);
    ck_assert_uint_eq((w[0][1] >> 60) & 3, at);
    ck_assert_uint_eq((w[0][1] >> 62) & 1, is_read);
    ck_assert_uint_eq(w[0][1] >> 63, 1);
    struct ims_fault_record rec[2];
    ck_assert_uint_eq(ims_fq_drain(f->mmu, f->mem, rec, 2), 1);
}

static void expect_no_record(struct fx *f)
{
    uint64_t w[1][2];
    ck_assert_uint_eq(raw_records(f, w, 1), 0);
}

static void open_dom(struct fx *f, struct ims_iommu_cfg *cfg, unsigned levels, unsigned tt)
{
    fx_open(f, cfg);
    ck_assert_int_eq(ims_tb_domain_create(f->tb, 1, levels), 0);
    ck_assert_int_eq(ims_tb_attach(f->tb, RID_A, 1, tt, false), 0);
}

/* ---- Root entry ---- */

/* Legacy mode: every bit of the root entry's high word is reserved (9.1;
 * QEMU's vtd_root_entry_rsvd_bits_check tests re->hi): fault 0xa, recorded,
 * for each of the 64 bits; a not-present root entry is 0x1 whatever its
 * high word holds. */
START_TEST(root_hi_reserved)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    struct fx f;
    open_dom(&f, &cfg, 4, IMS_TT_UNTRANSLATED);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x10000, 0x50000, 0x1000, IMS_PERM_RW), 0);
    const uint64_t rpa = ims_tb_root(f.tb) + (RID_A >> 8) * 16u;
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0);
    /* Both words are read, as one access. */
    ck_assert_uint_eq(x.reads[0].pa, rpa);
    ck_assert_uint_eq(x.reads[1].pa, rpa + 8);
    ck_assert_uint_eq(x.reads[1].kind, IMS_MEM_ROOT);
    ck_assert_uint_eq(x.reads[1].cont, 1);
    for (unsigned b = 0; b < 64; b++) {
        ims_mem_write64(f.mem, rpa + 8, 1ull << b);
        ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), IMS_FR_ROOT_ENTRY_RSVD);
        expect_raw(&f, RID_A, 0x10000, IMS_FR_ROOT_ENTRY_RSVD, true, IMS_AT_UNTRANSLATED);
    }
    const uint64_t lo = ims_mem_read64(f.mem, rpa);
    ims_mem_write64(f.mem, rpa, lo & ~1ull);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), IMS_FR_ROOT_ENTRY_P);
    expect_raw(&f, RID_A, 0x10000, IMS_FR_ROOT_ENTRY_P, true, IMS_AT_UNTRANSLATED);
    ims_mem_write64(f.mem, rpa, lo);
    ims_mem_write64(f.mem, rpa + 8, 0);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->fault_reason[IMS_FR_ROOT_ENTRY_RSVD], 64);
    fx_close(&f);
}
END_TEST

/* ---- Reserved-bit masks at their boundary bits ---- */

/* Toggles `bit` in the entry at epa, translates, restores. A reserved bit
 * must be clear before. When the toggle changes a non-leaf entry's address,
 * the entry is first pointed at a copy of its next table in an unused frame
 * (SPARE, clear in every bit toggled), and a second copy is put where the
 * toggled address points, so only the reserved-bit check can fault. */
#define SPARE (1ull << 43)
static void flip(struct fx *f, uint64_t epa, unsigned bit, bool nonleaf, uint64_t iova, bool want_rsvd)
{
    static uint8_t tbl[4096];
    const uint64_t e = ims_mem_read64(f->mem, epa);
    if (want_rsvd)
        ck_assert_msg(!(e & (1ull << bit)), "reserved bit %u already set in the entry", bit);
    uint64_t base = e;
    const bool moved = nonleaf && ims_slpte_addr(e ^ (1ull << bit)) != ims_slpte_addr(e);
    if (moved) {
        ims_mem_read(f->mem, ims_slpte_addr(e), tbl, sizeof tbl);
        base = (e & ~ims_slpte_addr(e)) | SPARE;
        ims_mem_write(f->mem, SPARE, tbl, sizeof tbl);
        ims_mem_write(f->mem, ims_slpte_addr(base ^ (1ull << bit)), tbl, sizeof tbl);
    }
    ims_mem_write64(f->mem, epa, base ^ (1ull << bit));
    struct ims_xlate x;
    int r = fx_xlate(f, RID_A, iova, IMS_PERM_R, &x);
    ims_mem_write64(f->mem, epa, e);
    if (moved) {
        ims_mem_zero_page(f->mem, SPARE);
        ims_mem_zero_page(f->mem, ims_slpte_addr(base ^ (1ull << bit)));
    }
    ck_assert_msg(r == (want_rsvd ? IMS_FR_PAGING_ENTRY_RSVD : 0), "bit %u of the %s entry: fault 0x%x, want 0x%x", bit,
                  nonleaf ? "non-leaf" : "leaf", (unsigned)r, want_rsvd ? IMS_FR_PAGING_ENTRY_RSVD : 0);
    if (r)
        expect_raw(f, RID_A, iova, (unsigned)r, true, IMS_AT_UNTRANSLATED);
}

/* Loop index: levels 3..5 x page size 4 KiB / 2 MiB / 1 GiB x HAW 46 / 48 x
 * ECAP.DT on / off. For every entry of the walk, the lowest and highest bit
 * of each reserved field faults 0xc and the bits beside it (toggled) do not:
 *   51:HAW (beside: HAW-1, 52), SNP 11 (beside: 10, and 12 where it is an
 *   address bit), bit 62 (beside: 61, 63; in a leaf reserved only without
 *   DT), PS at levels 4/5 (beside: 6, 8), a 2 MiB leaf's 20:12 (beside: 21)
 *   and a 1 GiB leaf's 29:12 (beside: 30), PS at level 1 ignored. */
START_TEST(rsvd_boundaries)
{
    const unsigned levels = 3 + (unsigned)_i % 3, leaf_level = 1 + ((unsigned)_i / 3) % 3;
    const unsigned haw = ((unsigned)_i / 9) % 2 ? 48 : 46;
    const bool dt = ((unsigned)_i / 18) % 2 == 0;
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    cfg.caps.haw = (uint8_t)haw;
    cfg.caps.dt = dt;
    struct fx f;
    open_dom(&f, &cfg, levels, IMS_TT_UNTRANSLATED);
    const uint64_t size = 1ull << ims_level_shift(leaf_level), iova = 5 * GIB + 3 * size, pa = 9 * GIB + 2 * size;
    ck_assert_int_eq(ims_tb_map(f.tb, 1, iova, pa, size, IMS_PERM_RW), 0);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID_A, iova, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.page_shift, ims_level_shift(leaf_level));
    for (unsigned l = levels; l >= leaf_level; l--) {
        uint64_t epa;
        ck_assert_int_eq(ims_tb_entry_pa(f.tb, 1, iova, l, &epa), 0);
        const bool nonleaf = l > leaf_level;
        flip(&f, epa, haw, nonleaf, iova, true);
        flip(&f, epa, 51, nonleaf, iova, true);
        flip(&f, epa, haw - 1, nonleaf, iova, false);
        flip(&f, epa, 52, nonleaf, iova, false);
        flip(&f, epa, 11, nonleaf, iova, true);
        flip(&f, epa, 10, nonleaf, iova, false);
        flip(&f, epa, 62, nonleaf, iova, nonleaf || !dt);
        flip(&f, epa, 61, nonleaf, iova, false);
        flip(&f, epa, 63, nonleaf, iova, false);
        if (l >= 4) {
            flip(&f, epa, 7, nonleaf, iova, true);
            flip(&f, epa, 6, nonleaf, iova, false);
            flip(&f, epa, 8, nonleaf, iova, false);
        }
        if (!nonleaf && l == 1)
            flip(&f, epa, 7, false, iova, false); /* PS of a 4 KiB leaf: ignored */
        if (!nonleaf && l >= 2) {
            const unsigned top = ims_level_shift(l) - 1; /* 20 or 29 */
            flip(&f, epa, 12, false, iova, true);
            flip(&f, epa, top, false, iova, true);
            flip(&f, epa, top + 1, false, iova, false);
        } else {
            flip(&f, epa, 12, nonleaf, iova, false);
        }
    }
    ck_assert_int_eq(fx_xlate(&f, RID_A, iova, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.pa, pa);
    fx_close(&f);
}
END_TEST

/* PS (bit 7) in a level-4 or level-5 entry is reserved whatever SLLPS
 * offers (9.8: no 512 GiB or 256 TiB pages). The entry here points at a
 * copy of its next table placed at an address aligned to the size such a
 * page would have (2^40 for level 4, 0 for level 5), so no address bit
 * below that size is set: only the PS check itself can fault, even with
 * SLLPS offering 2 MiB and 1 GiB. Without PS the moved table translates. */
START_TEST(ps_top_levels_aligned)
{
    const unsigned level = 4 + (unsigned)_i; /* 4, 5 */
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    cfg.caps.sllps = IMS_SLLPS_2M | IMS_SLLPS_1G;
    struct fx f;
    open_dom(&f, &cfg, 5, IMS_TT_UNTRANSLATED);
    const uint64_t iova = 0x12345000, pa = 0x50000;
    ck_assert_int_eq(ims_tb_map(f.tb, 1, iova, pa, 0x1000, IMS_PERM_RW), 0);
    uint64_t epa;
    ck_assert_int_eq(ims_tb_entry_pa(f.tb, 1, iova, level, &epa), 0);
    const uint64_t e = ims_mem_read64(f.mem, epa);
    const uint64_t to = level == 4 ? 1ull << 40 : 0; /* aligned to 2^39 / 2^48 */
    static uint8_t tbl[4096];
    ims_mem_read(f.mem, ims_slpte_addr(e), tbl, sizeof tbl);
    ims_mem_write(f.mem, to, tbl, sizeof tbl);
    const uint64_t moved = (e & ~ims_slpte_addr(e)) | to;
    ims_mem_write64(f.mem, epa, moved);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID_A, iova + 8, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.pa, pa + 8);
    ims_mem_write64(f.mem, epa, moved | IMS_SLPTE_PS);
    ck_assert_int_eq(fx_xlate(&f, RID_A, iova + 8, IMS_PERM_R, &x), IMS_FR_PAGING_ENTRY_RSVD);
    expect_raw(&f, RID_A, iova, IMS_FR_PAGING_ENTRY_RSVD, true, IMS_AT_UNTRANSLATED);
    ims_mem_write64(f.mem, epa, e);
    fx_close(&f);
}
END_TEST

/* ---- Permissions of non-leaf entries ---- */

/* Loop index: level 2..4 of a 4-level walk to a 4 KiB page. R or W cleared
 * in a non-leaf entry denies that access below it (the walk ANDs R/W over
 * the levels, 3.6.1); the other access still passes. With the
 * paging-structure caches on, a hit at that level carries the reduced
 * permission too: the deepest hit (level 2) holds the AND of the levels
 * above it. */
START_TEST(nonleaf_perm)
{
    const unsigned level = 2 + (unsigned)_i % 3;
    const bool cached = _i >= 3;
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    if (cached)
        for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
            cfg.psc[l] = (struct ims_cache_cfg){.sets = 1, .ways = 4, .repl = IMS_REPL_LRU, .seed = 1};
    struct fx f;
    open_dom(&f, &cfg, 4, IMS_TT_UNTRANSLATED);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x10000, 0x50000, 0x2000, IMS_PERM_RW), 0);
    uint64_t epa;
    ck_assert_int_eq(ims_tb_entry_pa(f.tb, 1, 0x10000, level, &epa), 0);
    const uint64_t e = ims_mem_read64(f.mem, epa);
    struct ims_xlate x;
    for (unsigned clear = IMS_PERM_R; clear <= IMS_PERM_W; clear <<= 1) {
        ims_mem_write64(f.mem, epa, e & ~(uint64_t)clear);
        ims_inv_iotlb(f.mmu, IMS_INV_GLOBAL, 0, 0, 0, false);
        const unsigned denied = clear, allowed = IMS_PERM_RW & ~clear;
        const int want = denied == IMS_PERM_R ? IMS_FR_READ : IMS_FR_WRITE;
        ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, denied, &x), want);
        expect_raw(&f, RID_A, 0x10000, (unsigned)want, denied == IMS_PERM_R, IMS_AT_UNTRANSLATED);
        ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, allowed, &x), 0);
        ck_assert_uint_eq(x.perm, allowed);
        if (cached) { /* the second page starts below a PSC hit: same verdicts */
            ck_assert_int_eq(fx_xlate(&f, RID_A, 0x11000, denied, &x), want);
            ck_assert_uint_eq(x.psc_level, 2); /* the deepest hit holds the AND of the levels above */
            ck_assert_uint_eq(x.n_reads, 4);   /* denied at the hit: the leaf is not read */
            expect_raw(&f, RID_A, 0x11000, (unsigned)want, denied == IMS_PERM_R, IMS_AT_UNTRANSLATED);
            ck_assert_int_eq(fx_xlate(&f, RID_A, 0x11000, allowed, &x), 0);
            ck_assert_uint_eq(x.psc_level, 2);
            ck_assert_uint_eq(x.n_reads, 5); /* root 2, context 2 (no context cache), leaf */
        }
    }
    ims_mem_write64(f.mem, epa, e);
    fx_close(&f);
}
END_TEST

/* ---- Address widths ---- */

/* MGAW 39 below a 48-bit (4-level) domain: the input width is
 * min(MGAW, AGAW) (CAP.MGAW, 3.6): addresses in [2^39, 2^48) fault 0x4 even
 * where the tables map them; 2^39 - 4 KiB translates. The tables are built
 * by a builder that allows 48 bits; the IOMMU under test reports MGAW 39. */
START_TEST(mgaw_below_agaw)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct fx f;
    open_dom(&f, &cfg, 4, IMS_TT_UNTRANSLATED);
    const uint64_t lim = 1ull << 39;
    ck_assert_int_eq(ims_tb_map(f.tb, 1, lim - 0x1000, 0x50000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, lim, 0x60000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, (1ull << 47), 0x70000, 0x1000, IMS_PERM_RW), 0);
    struct ims_iommu_cfg c2 = cfg;
    c2.caps.mgaw = 39;
    char err[128];
    struct ims_iommu *m = ims_iommu_create(&c2, &ims_mem_direct_ops, f.mem, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    ims_iommu_set_root(m, ims_tb_root(f.tb));
    struct ims_xlate x;
    struct ims_req r = req_of(RID_A, lim - 8, IMS_PERM_R, IMS_AT_UNTRANSLATED);
    ck_assert_int_eq(ims_translate(m, &r, &x), 0);
    ck_assert_uint_eq(x.pa, 0x50ff8);
    const uint64_t beyond[] = {lim, lim + 0x800, 1ull << 47, (1ull << 48) - 8};
    for (unsigned i = 0; i < 4; i++) {
        r.iova = beyond[i];
        ck_assert_int_eq(ims_translate(m, &r, &x), IMS_FR_ADDR_BEYOND_MGAW);
        ck_assert_uint_eq(x.n_reads, 0); /* the context is cached: no table is read */
    }
    ck_assert_uint_eq(ims_iommu_stats(m)->fault_reason[IMS_FR_ADDR_BEYOND_MGAW], 4);
    /* The same tables under MGAW 48 translate both. */
    r.iova = lim;
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
    ck_assert_uint_eq(x.pa, 0x60000);
    r.iova = 1ull << 47;
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
    ims_iommu_destroy(m);
    fx_close(&f);
}
END_TEST

/* Pass-through (TT = 2): the AW field gives the width (9.3): untranslated
 * requests at or above 2^AGAW fault 0x4 and are recorded; below it the
 * identity holds. AW must name an AGAW in SAGAW (0x3 otherwise), as for
 * translated contexts. */
START_TEST(passthrough_width)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    cfg.caps.sagaw = IMS_SAGAW_39 | IMS_SAGAW_48;
    cfg.caps.mgaw = 48;
    struct fx f;
    open_dom(&f, &cfg, 3, IMS_TT_PASSTHROUGH); /* AW 1: 39 bits */
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID_A, (1ull << 39) - 8, IMS_PERM_W, &x), 0);
    ck_assert_uint_eq(x.pa, (1ull << 39) - 8);
    ck_assert(x.flags & IMS_XLATE_PASSTHRU);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 1ull << 39, IMS_PERM_W, &x), IMS_FR_ADDR_BEYOND_MGAW);
    expect_raw(&f, RID_A, 1ull << 39, IMS_FR_ADDR_BEYOND_MGAW, false, IMS_AT_UNTRANSLATED);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 1ull << 47, IMS_PERM_R, &x), IMS_FR_ADDR_BEYOND_MGAW);
    expect_raw(&f, RID_A, 1ull << 47, IMS_FR_ADDR_BEYOND_MGAW, true, IMS_AT_UNTRANSLATED);
    /* AW 2 (48 bits): 2^47 passes. */
    uint64_t cpa;
    ck_assert_int_eq(ims_tb_ctx_entry_pa(f.tb, RID_A, &cpa), 0);
    const uint64_t hi = ims_mem_read64(f.mem, cpa + 8);
    ims_mem_write64(f.mem, cpa + 8, (hi & ~7ull) | IMS_AW_48);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 1ull << 47, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.pa, 1ull << 47);
    /* AW 3 (57 bits) is not in SAGAW; AW 0 and 4..7 are undefined: 0x3. */
    const unsigned bad[] = {0, IMS_AW_57, 4, 7};
    for (unsigned i = 0; i < 4; i++) {
        ims_mem_write64(f.mem, cpa + 8, (hi & ~7ull) | bad[i]);
        ck_assert_int_eq(fx_xlate(&f, RID_A, 0x1000, IMS_PERM_R, &x), IMS_FR_CTX_ENTRY_INV);
        expect_raw(&f, RID_A, 0x1000, IMS_FR_CTX_ENTRY_INV, true, IMS_AT_UNTRANSLATED);
    }
    fx_close(&f);
}
END_TEST

/* Translated requests (AT = 2) carry host physical addresses: with TT = 1
 * they pass at their own address, above MGAW and above the domain's AGAW
 * alike, without a walk; with TT = 0 or 2 they are blocked (0xd), and the
 * record's AT field says 2. */
START_TEST(translated_requests)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    cfg.caps.sagaw = IMS_SAGAW_39;
    cfg.caps.mgaw = 39;
    struct fx f;
    open_dom(&f, &cfg, 3, IMS_TT_DEVTLB);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_B, 1, IMS_TT_UNTRANSLATED, false), 0);
    struct ims_xlate x;
    struct ims_req r = req_of(RID_A, (1ull << 42) + 0x123, IMS_PERM_W, IMS_AT_TRANSLATED);
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
    ck_assert_uint_eq(x.pa, (1ull << 42) + 0x123);
    ck_assert(!(x.flags & IMS_XLATE_WALKED));
    expect_no_record(&f);
    r.rid = RID_B;
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), IMS_FR_CTX_ENTRY_TT);
    expect_raw(&f, RID_B, r.iova, IMS_FR_CTX_ENTRY_TT, false, IMS_AT_TRANSLATED);
    /* The reserved AT value 3 is blocked even with TT = 1. */
    r.rid = RID_A;
    r.at = 3;
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), IMS_FR_CTX_ENTRY_TT);
    expect_raw(&f, RID_A, r.iova, IMS_FR_CTX_ENTRY_TT, false, 3);
    fx_close(&f);
}
END_TEST

/* ---- ATS translation requests ---- */

/* An ATS translation request (AT = 1, TT = 1) returns the permissions the
 * mapping grants, whatever access the request names; one that finds no
 * translation (not present, no permission at a non-leaf level, beyond
 * the width) completes with R = W = 0 and records nothing (4.2.3); one that
 * meets reserved bits (0xc) or a blocked TT (0xd) is a recorded fault with
 * AT = 1 in its record. Untranslated requests to the same addresses fault
 * as usual. */
START_TEST(ats_no_access)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.caps.mgaw = 48;
    struct fx f;
    open_dom(&f, &cfg, 4, IMS_TT_DEVTLB);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_B, 1, IMS_TT_UNTRANSLATED, false), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x10000, 0x50000, 0x1000, IMS_PERM_R), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x20000, 0x60000, 0x1000, IMS_PERM_W), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x40000000, 0x70000, 0x1000, IMS_PERM_RW), 0);
    struct ims_xlate x;
    /* Read-only page, request naming W: granted R. Write-only page: W. */
    struct ims_req r = req_of(RID_A, 0x10008, IMS_PERM_W, IMS_AT_TRANSLATION);
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
    ck_assert_uint_eq(x.fault, 0);
    ck_assert_uint_eq(x.perm, IMS_PERM_R);
    ck_assert_uint_eq(x.pa, 0x50008);
    r.iova = 0x20000;
    r.access = IMS_PERM_R;
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
    ck_assert_uint_eq(x.perm, IMS_PERM_W);
    /* Again through the IOTLB: same answer. */
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
    ck_assert(x.flags & IMS_XLATE_IOTLB_HIT);
    ck_assert_uint_eq(x.perm, IMS_PERM_W);
    /* Not present, beyond MGAW (also where the bits below MGAW name a mapped
     * page): R = W = 0, no record, not a fault. */
    const uint64_t none[] = {0x30000, 1ull << 48, (1ull << 48) + 0x10000, 0x80000000};
    for (unsigned i = 0; i < 4; i++) {
        r.iova = none[i];
        ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
        ck_assert_uint_eq(x.fault, 0);
        ck_assert_uint_eq(x.perm, 0);
        ck_assert_uint_eq(x.flags & (IMS_XLATE_FAULT_RECORDED | IMS_XLATE_FAULT_DROPPED), 0);
    }
    /* A non-leaf entry with R and W cleared above a mapped page. */
    uint64_t epa;
    ck_assert_int_eq(ims_tb_entry_pa(f.tb, 1, 0x40000000, 2, &epa), 0);
    const uint64_t e2 = ims_mem_read64(f.mem, epa);
    ims_mem_write64(f.mem, epa, e2 & ~3ull);
    r.iova = 0x40000000;
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
    ck_assert_uint_eq(x.perm, 0);
    ims_mem_write64(f.mem, epa, e2);
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->ats_no_access, 5);
    ck_assert_uint_eq(st->faults, 0);
    expect_no_record(&f);
    /* Reserved bit in the leaf: a recorded fault, AT = 1. */
    ck_assert_int_eq(ims_tb_entry_pa(f.tb, 1, 0x40000000, 1, &epa), 0);
    const uint64_t e1 = ims_mem_read64(f.mem, epa);
    ims_mem_write64(f.mem, epa, e1 | IMS_SLPTE_SNP);
    ims_inv_iotlb(f.mmu, IMS_INV_GLOBAL, 0, 0, 0, false);
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), IMS_FR_PAGING_ENTRY_RSVD);
    expect_raw(&f, RID_A, 0x40000000, IMS_FR_PAGING_ENTRY_RSVD, true, IMS_AT_TRANSLATION);
    ims_mem_write64(f.mem, epa, e1);
    /* TT = 0 blocks translation requests: 0xd, AT = 1. */
    r.rid = RID_B;
    r.iova = 0x10000;
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), IMS_FR_CTX_ENTRY_TT);
    expect_raw(&f, RID_B, 0x10000, IMS_FR_CTX_ENTRY_TT, true, IMS_AT_TRANSLATION);
    /* Untranslated requests to the same places fault, AT = 0. */
    r = req_of(RID_A, 0x30000, IMS_PERM_W, IMS_AT_UNTRANSLATED);
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), IMS_FR_WRITE);
    expect_raw(&f, RID_A, 0x30000, IMS_FR_WRITE, false, IMS_AT_UNTRANSLATED);
    r.iova = 0x10000;
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), IMS_FR_WRITE);
    expect_raw(&f, RID_A, 0x10000, IMS_FR_WRITE, false, IMS_AT_UNTRANSLATED);
    fx_close(&f);
}
END_TEST

/* The record codec carries AT in bits 125:124 (hi word 61:60), next to T. */
START_TEST(record_at_field)
{
    for (unsigned at = 0; at < 4; at++) {
        struct ims_fault_record r = {
            .addr = 0xabc000, .sid = 0x1234, .reason = 0x5, .is_read = at & 1, .at = (uint8_t)at};
        uint64_t w[2];
        ims_fault_record_encode(&r, w);
        ck_assert_uint_eq((w[1] >> 60) & 3, at);
        ck_assert_uint_eq((w[1] >> 62) & 1, at & 1);
        ck_assert_uint_eq(w[1] & ~(0x7ull << 60), (1ull << 63) | (0x5ull << 32) | 0x1234);
        struct ims_fault_record d;
        ck_assert(ims_fault_record_decode(w, &d));
        ck_assert_uint_eq(d.at, at);
    }
}
END_TEST

/* ---- Table reads answered with an error ---- */

/* A read the memory answers with an error (ims_mem_set_error_range, through
 * ims_mem_direct_ops' read64_err) reports the access-error fault of what was
 * read (7.1.3): root table 0x8, context table 0x9, paging entry 0x7, each
 * recorded, the failing read logged. 0x7 is qualified (FPD suppresses it),
 * 0x9 is not. Outside the range, and once the range is cleared, the same
 * translations succeed. An ATS translation request meeting 0x7 records it
 * (a completer abort, not R = W = 0). */
START_TEST(table_read_errors)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    struct fx f;
    open_dom(&f, &cfg, 4, IMS_TT_DEVTLB);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x10000, 0x50000, 0x1000, IMS_PERM_RW), 0);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0);
    const uint64_t cpa = x.reads[2].pa;
    /* The error range covers one word of each entry in turn: read i of the
     * walk above. Both words of an entry are read before it is checked. */
    const struct {
        unsigned idx, reason, reads; /* reads made up to the check */
    } cases[] = {
        {0, IMS_FR_ROOT_TABLE_INV, 2},   {1, IMS_FR_ROOT_TABLE_INV, 2},   {2, IMS_FR_CTX_TABLE_INV, 4},
        {3, IMS_FR_CTX_TABLE_INV, 4},    {4, IMS_FR_PAGING_ENTRY_INV, 5}, {5, IMS_FR_PAGING_ENTRY_INV, 6},
        {6, IMS_FR_PAGING_ENTRY_INV, 7}, {7, IMS_FR_PAGING_ENTRY_INV, 8},
    };
    uint64_t pas[8];
    for (unsigned i = 0; i < 8; i++)
        pas[i] = x.reads[i].pa;
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint64_t pa = pas[cases[i].idx];
        ims_mem_set_error_range(f.mem, pa, pa + 7);
        ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), (int)cases[i].reason);
        ck_assert_uint_eq(x.n_reads, cases[i].reads);
        ck_assert_uint_eq(x.reads[cases[i].idx].pa, pa);
        ck_assert_uint_eq(x.reads[cases[i].idx].val, 0);
        expect_raw(&f, RID_A, 0x10000, cases[i].reason, true, IMS_AT_UNTRANSLATED);
        /* A neighbouring word outside the range reads fine. */
        ims_mem_set_error_range(f.mem, pa + 16, pa + 23);
        ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0);
    }
    /* ATS: 0x7 is recorded with AT = 1. */
    ims_mem_set_error_range(f.mem, pas[7], pas[7]);
    struct ims_req r = req_of(RID_A, 0x10000, IMS_PERM_R, IMS_AT_TRANSLATION);
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), IMS_FR_PAGING_ENTRY_INV);
    expect_raw(&f, RID_A, 0x10000, IMS_FR_PAGING_ENTRY_INV, true, IMS_AT_TRANSLATION);
    /* FPD: 0x7 suppressed, 0x9 still recorded. */
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_A, 1, IMS_TT_DEVTLB, true), 0);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), IMS_FR_PAGING_ENTRY_INV);
    ck_assert(x.flags & IMS_XLATE_FAULT_SUPPRESSED);
    expect_no_record(&f);
    ims_mem_set_error_range(f.mem, cpa, cpa);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), IMS_FR_CTX_TABLE_INV);
    expect_raw(&f, RID_A, 0x10000, IMS_FR_CTX_TABLE_INV, true, IMS_AT_UNTRANSLATED);
    /* lo > hi: no range. Software reads are never affected. */
    ims_mem_set_error_range(f.mem, 1, 0);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0);
    ims_mem_set_error_range(f.mem, 0, UINT64_MAX);
    ck_assert_uint_eq(ims_mem_read64(f.mem, cpa + 8) & 0xffff00, 1u << 8);
    bool err = false;
    ck_assert_uint_eq(ims_mem_direct_ops.read64_err(f.mem, cpa + 8, IMS_MEM_CONTEXT, &err), 0);
    ck_assert(err);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), IMS_FR_ROOT_TABLE_INV);
    fx_close(&f);
}
END_TEST

/* Ops without read64_err never fail a read: the same range has no effect. */
static uint64_t plain_read(void *ctx, uint64_t pa, enum ims_mem_kind kind)
{
    (void)kind;
    return ims_mem_read64(ctx, pa);
}
static void plain_write(void *ctx, uint64_t pa, uint64_t v, enum ims_mem_kind kind)
{
    (void)kind;
    ims_mem_write64(ctx, pa, v);
}
START_TEST(ops_without_read_errors)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct fx f;
    open_dom(&f, &cfg, 4, IMS_TT_UNTRANSLATED);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x10000, 0x50000, 0x1000, IMS_PERM_RW), 0);
    const struct ims_mem_ops ops = {plain_read, plain_write, NULL};
    char err[128];
    struct ims_iommu *m = ims_iommu_create(&cfg, &ops, f.mem, err, sizeof err);
    ck_assert_ptr_nonnull(m);
    ims_iommu_set_root(m, ims_tb_root(f.tb));
    ims_mem_set_error_range(f.mem, 0, UINT64_MAX);
    struct ims_req r = req_of(RID_A, 0x10000, IMS_PERM_R, IMS_AT_UNTRANSLATED);
    struct ims_xlate x;
    ck_assert_int_eq(ims_translate(m, &r, &x), 0);
    ck_assert_uint_eq(x.pa, 0x50000);
    ims_iommu_destroy(m);
    fx_close(&f);
}
END_TEST

/* ---- Invalidation hint on multi-page invalidations ---- */

/* Loop index: am 1, 9, 10, 18. A page-selective invalidation of 2^am pages
 * removes every IOTLB entry in the range either way; with IH the
 * paging-structure-cache entries covering it stay (the next walk starts
 * below a level-2 hit), without IH they go (a full walk). Entries outside
 * the range stay. */
START_TEST(ih_multi_page)
{
    static const unsigned ams[] = {1, 9, 10, 18};
    const unsigned am = ams[_i];
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct fx f;
    open_dom(&f, &cfg, 4, IMS_TT_UNTRANSLATED);
    const uint64_t span = 1ull << (12 + am), base = 8 * GIB; /* aligned to every span */
    const uint64_t in = base + span - 0x1000, out = base + 2 * GIB + 0x1000;
    const bool same_2m = (in >> 21) == (base >> 21);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, base, 0x100000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, in, 0x200000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, out, 0x300000, 0x1000, IMS_PERM_RW), 0);
    struct ims_xlate x;
    for (int ih = 0; ih <= 1; ih++) {
        ims_inv_iotlb(f.mmu, IMS_INV_GLOBAL, 0, 0, 0, false);
        ck_assert_int_eq(fx_xlate(&f, RID_A, base, IMS_PERM_R, &x), 0);
        ck_assert_int_eq(fx_xlate(&f, RID_A, in, IMS_PERM_R, &x), 0);
        ck_assert_int_eq(fx_xlate(&f, RID_A, out, IMS_PERM_R, &x), 0);
        /* The address is aligned down to the span: `in` names [base, base + span). */
        size_t n = ims_inv_iotlb(f.mmu, IMS_INV_PAGE, 1, in, (uint8_t)am, ih);
        /* IH: the two IOTLB entries only. Without: also the PSC entries
         * covering the range: level 4 and 3 (one each) and level 2 (one per
         * 2 MiB region touched); `out`'s level-3 and level-2 entries stay. */
        ck_assert_uint_eq(n, ih ? 2 : 2 + 1 + 1 + (same_2m ? 1 : 2));
        /* IOTLB: the page outside the range hits, both inside miss. */
        ck_assert_int_eq(fx_xlate(&f, RID_A, out, IMS_PERM_R, &x), 0);
        ck_assert(x.flags & IMS_XLATE_IOTLB_HIT);
        ck_assert_int_eq(fx_xlate(&f, RID_A, base, IMS_PERM_R, &x), 0);
        ck_assert(!(x.flags & IMS_XLATE_IOTLB_HIT));
        ck_assert_uint_eq(x.pa, 0x100000);
        ck_assert_uint_eq(x.psc_level, ih ? 2 : 0);
        ck_assert_uint_eq(x.n_reads, ih ? 1 : 4);
        ck_assert_int_eq(fx_xlate(&f, RID_A, in, IMS_PERM_R, &x), 0);
        ck_assert(!(x.flags & IMS_XLATE_IOTLB_HIT));
        ck_assert_uint_eq(x.pa, 0x200000);
        /* Without IH its level-2 entry went too, unless the walk of `base`
         * refilled it (same 2 MiB region); the level-3 one was refilled. */
        ck_assert_uint_eq(x.psc_level, ih || same_2m ? 2 : 3);
    }
    fx_close(&f);
}
END_TEST

/* ---- Dropped faults ---- */

/* A queue of 4 records holds 3. Ten faults: 3 recorded, exactly 7 dropped
 * (stats.fault_dropped, fq.dropped, IMS_XLATE_FAULT_DROPPED on each), the 3
 * records in memory untouched by the dropped ones. FPD-suppressed faults and
 * ATS no-access completions are not drops. After a drain of one record,
 * exactly one more fits. */
START_TEST(fault_dropped_exact)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.fq_records = 4;
    struct fx f;
    open_dom(&f, &cfg, 4, IMS_TT_DEVTLB);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 2, 4), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_B, 2, IMS_TT_UNTRANSLATED, true), 0); /* FPD */
    struct ims_xlate x;
    unsigned dropped_flags = 0;
    for (uint64_t i = 0; i < 10; i++) {
        ck_assert_int_eq(fx_xlate(&f, RID_A, 0x100000 + i * 0x1000, IMS_PERM_W, &x), IMS_FR_WRITE);
        dropped_flags += (x.flags & IMS_XLATE_FAULT_DROPPED) != 0;
        ck_assert_int_eq((x.flags & IMS_XLATE_FAULT_RECORDED) != 0, i < 3);
        ck_assert_int_eq((x.flags & IMS_XLATE_FAULT_DROPPED) != 0, i >= 3);
        /* Suppressed and no-access outcomes in between change nothing. */
        ck_assert_int_eq(fx_xlate(&f, RID_B, 0x5000, IMS_PERM_R, &x), IMS_FR_READ);
        ck_assert(x.flags & IMS_XLATE_FAULT_SUPPRESSED);
        struct ims_req r = req_of(RID_A, 0x900000, IMS_PERM_R, IMS_AT_TRANSLATION);
        ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
    }
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(dropped_flags, 7);
    ck_assert_uint_eq(st->fault_dropped, 7);
    ck_assert_uint_eq(st->fault_records, 3);
    ck_assert_uint_eq(st->fault_suppressed, 10);
    ck_assert_uint_eq(st->faults, 20);
    struct ims_fq_state fq;
    ims_fq_get(f.mmu, &fq);
    ck_assert_uint_eq(fq.dropped, 7);
    ck_assert(fq.overflow);
    uint64_t w[4][2];
    ck_assert_uint_eq(raw_records(&f, w, 4), 3);
    for (unsigned i = 0; i < 3; i++) {
        ck_assert_uint_eq(w[i][0], 0x100000 + i * 0x1000ull);
        ck_assert_uint_eq(w[i][1], (1ull << 63) | ((uint64_t)IMS_FR_WRITE << 32) | RID_A);
    }
    /* The fourth slot was never written. */
    ck_assert_uint_eq(ims_mem_read64(f.mem, cfg.fq_base + 3 * 16 + 8), 0);
    const struct ims_stats s0 = *st;
    struct ims_fault_record rec[1];
    ck_assert_uint_eq(ims_fq_drain(f.mmu, f.mem, rec, 1), 1);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x200000, IMS_PERM_W, &x), IMS_FR_WRITE);
    ck_assert(x.flags & IMS_XLATE_FAULT_RECORDED);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x201000, IMS_PERM_W, &x), IMS_FR_WRITE);
    ck_assert(x.flags & IMS_XLATE_FAULT_DROPPED);
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->fault_dropped, 8);
    /* The warm-up subtraction keeps both counts exact. */
    struct ims_stats d;
    ims_stats_sub(&d, ims_iommu_stats(f.mmu), &s0);
    ck_assert_uint_eq(d.fault_dropped, 1);
    ck_assert_uint_eq(d.fault_records, 1);
    ck_assert_uint_eq(d.faults, 2);
    fx_close(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vtd_corner");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, root_hi_reserved);
    tcase_add_loop_test(tc, rsvd_boundaries, 0, 36);
    tcase_add_loop_test(tc, ps_top_levels_aligned, 0, 2);
    tcase_add_loop_test(tc, nonleaf_perm, 0, 6);
    tcase_add_test(tc, mgaw_below_agaw);
    tcase_add_test(tc, passthrough_width);
    tcase_add_test(tc, translated_requests);
    tcase_add_test(tc, ats_no_access);
    tcase_add_test(tc, record_at_field);
    tcase_add_test(tc, table_read_errors);
    tcase_add_test(tc, ops_without_read_errors);
    tcase_add_loop_test(tc, ih_multi_page, 0, 4);
    tcase_add_test(tc, fault_dropped_exact);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
