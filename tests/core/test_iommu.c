/* The functional IOMMU: walks for every level count and page size, each
 * reachable fault reason, FPD, aliasing, caching and invalidation semantics,
 * caching mode, the fault queue. Tables come from the table builder. */
#include "core_fx.h"
#include "ims_check.h"

#include <string.h>

#include "iommusim/topo.h"

#define RID_A IMS_BDF(0, 3, 0)
#define RID_B IMS_BDF(0, 4, 0)
#define GIB (1ull << 30)
#define MIB2 (1ull << 21)

static void setup_dom(struct fx *f, uint16_t did, unsigned levels, uint16_t rid)
{
    ck_assert_int_eq(ims_tb_domain_create(f->tb, did, levels), 0);
    ck_assert_int_eq(ims_tb_attach(f->tb, rid, did, IMS_TT_UNTRANSLATED, false), 0);
}

/* Loop index: levels 3..5 x page shift 12/21/30. A mapping of one page of
 * that size translates to the right PA with 1 root + 2 context + (levels -
 * leaf level + 1) table reads, all inside the builder's table region; the
 * second access hits the IOTLB with no reads. */
START_TEST(levels_x_sizes)
{
    unsigned levels = 3 + (unsigned)_i / 3, shift = 12 + 9 * ((unsigned)_i % 3), leaf = 1 + (unsigned)_i % 3;
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.psc[2].sets = cfg.psc[3].sets = cfg.psc[4].sets = cfg.psc[5].sets = 0;
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 5, levels, RID_A);
    uint64_t size = 1ull << shift, iova = 3 * GIB + 2 * size, pa = 7 * GIB + size;
    ck_assert_int_eq(ims_tb_map(f.tb, 5, iova, pa, size, IMS_PERM_RW), 0);
    struct ims_xlate x;
    uint64_t off = size - 8;
    ck_assert_int_eq(fx_xlate(&f, RID_A, iova + off, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.pa, pa + off);
    ck_assert_uint_eq(x.page_shift, shift);
    ck_assert_uint_eq(x.len, 4);
    ck_assert_uint_eq(x.did, 5);
    ck_assert_uint_eq(x.n_reads, 4 + levels - leaf + 1);
    ck_assert(x.flags & IMS_XLATE_WALKED);
    for (unsigned i = 0; i < x.n_reads; i++) {
        ck_assert_uint_ge(x.reads[i].pa, f.tcfg.tbl_base);
        ck_assert_uint_lt(x.reads[i].pa, f.tcfg.tbl_base + f.tcfg.tbl_size);
        ck_assert_uint_eq(x.reads[i].kind, i < 2 ? IMS_MEM_ROOT : i < 4 ? IMS_MEM_CONTEXT : IMS_MEM_PTE);
        if (i >= 4)
            ck_assert_uint_eq(x.reads[i].level, levels - (i - 4));
        /* Only the root and context entries' high words continue an access. */
        ck_assert_uint_eq(x.reads[i].cont, i == 1 || i == 3);
        /* Reads above the leaf name the paging-structure entry they yield. */
        struct ims_key k;
        bool psc = ims_xlate_read_key(&(struct ims_req){.rid = RID_A, .iova = iova + off}, &x, i, &k);
        ck_assert(psc == (i >= 4 && x.reads[i].level >= 2));
        if (psc) {
            ck_assert_uint_eq(k.kind, IMS_KEY_PSC + x.reads[i].level);
            ck_assert_uint_eq(k.shift, ims_level_shift(x.reads[i].level));
            ck_assert_uint_eq(k.tag, (iova + off) >> k.shift);
            ck_assert_uint_eq(k.dom, 5);
        }
    }
    struct ims_key lk;
    ims_xlate_leaf_key(&(struct ims_req){.rid = RID_A, .iova = iova + off}, &x, &lk);
    ck_assert_uint_eq(lk.kind, IMS_KEY_IOTLB);
    ck_assert_uint_eq(lk.shift, shift);
    ck_assert_uint_eq(lk.tag, (iova + off) >> shift);
    ck_assert_int_eq(fx_xlate(&f, RID_A, iova, IMS_PERM_W, &x), 0);
    ck_assert_uint_eq(x.n_reads, 0);
    ck_assert_uint_eq(x.flags & (IMS_XLATE_IOTLB_HIT | IMS_XLATE_CTX_HIT), IMS_XLATE_IOTLB_HIT | IMS_XLATE_CTX_HIT);
    ck_assert_uint_eq(x.pa, pa);
    fx_close(&f);
}
END_TEST

/* With every cache disabled, each translation re-reads everything. */
START_TEST(no_caches_every_time)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 1, 4, RID_A);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x10000, 0x50000, 0x1000, IMS_PERM_R), 0);
    struct ims_xlate x;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10010, IMS_PERM_R, &x), 0);
        ck_assert_uint_eq(x.n_reads, 8);
        ck_assert_uint_eq(x.pa, 0x50010);
    }
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->walks, 3);
    ck_assert_uint_eq(st->ptw_reads, 12);
    ck_assert_uint_eq(st->ctx_reads, 12);
    ck_assert_uint_eq(st->reads_per_xlate[8], 3);
    fx_close(&f);
}
END_TEST

/* A PSC hit on the level-2 entry leaves one leaf read; psc_level says 2. */
START_TEST(psc_hit)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 1, 4, RID_A);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x200000, 0x800000, 0x4000, IMS_PERM_RW), 0);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x200000, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.psc_level, 0);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x203000, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.psc_level, 2);
    ck_assert_uint_eq(x.n_reads, 1);
    ck_assert_uint_eq(x.reads[0].level, 1);
    ck_assert_uint_eq(x.pa, 0x803000);
    fx_close(&f);
}
END_TEST

/* The IOTLB counts one lookup per translation, however many page sizes it
 * probes: with a 2 MiB and a 4 KiB entry cached, a 2 MiB hit (probing 4 KiB
 * first), a 4 KiB hit and a miss count 3 lookups, 2 hits, 1 miss. An empty
 * IOTLB (nothing to probe) still counts its lookup as a miss. */
START_TEST(iotlb_counts_per_translation)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 1, 4, RID_A);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x200000, 0x40000000, 0x200000, IMS_PERM_RW), 0); /* 2 MiB leaf */
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x1000, 0x7000, 0x1000, IMS_PERM_RW), 0);         /* 4 KiB leaf */
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x1000, IMS_PERM_R, &x), 0); /* empty IOTLB: miss */
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->iotlb.lookups, 1);
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->iotlb.misses, 1);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x200000, IMS_PERM_R, &x), 0); /* miss, fills the 2 MiB entry */
    ims_iommu_stats_reset(f.mmu);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x3ff000, IMS_PERM_R, &x), 0); /* 2 MiB hit */
    ck_assert(x.flags & IMS_XLATE_IOTLB_HIT);
    ck_assert_uint_eq(x.page_shift, 21);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x1000, IMS_PERM_R, &x), 0);   /* 4 KiB hit */
    ck_assert(x.flags & IMS_XLATE_IOTLB_HIT);
    ck_assert_int_ne(fx_xlate(&f, RID_A, 0x9000, IMS_PERM_R, &x), 0);   /* unmapped: miss, walk, fault */
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->iotlb.lookups, 3);
    ck_assert_uint_eq(st->iotlb.hits, 2);
    ck_assert_uint_eq(st->iotlb.misses, 1);
    fx_close(&f);
}
END_TEST

/* A request crossing its page is translated up to the page end only. */
START_TEST(len_stops_at_page_end)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 1, 4, RID_A);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x10000, 0x50000, 0x2000, IMS_PERM_RW), 0);
    struct ims_req r = {.rid = RID_A, .pasid = IMS_NO_PASID, .iova = 0x10f00, .size = 0x400, .access = IMS_PERM_W};
    struct ims_xlate x;
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
    ck_assert_uint_eq(x.len, 0x100);
    ck_assert_uint_eq(x.pa, 0x50f00);
    fx_close(&f);
}
END_TEST

/* Drains the single expected record and checks its fields. */
static void expect_record(struct fx *f, uint16_t sid, uint64_t addr, unsigned reason, bool is_read)
{
    struct ims_fault_record rec[4];
    ck_assert_uint_eq(ims_fq_drain(f->mmu, f->mem, rec, 4), 1);
    ck_assert_uint_eq(rec[0].sid, sid);
    ck_assert_uint_eq(rec[0].addr, addr & ~0xfffull);
    ck_assert_uint_eq(rec[0].reason, reason);
    ck_assert_int_eq(rec[0].is_read, is_read);
}

/* Each reachable fault reason, with its code, its record, and its counter.
 * Entries are corrupted only through addresses the builder reports. */
START_TEST(fault_codes)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    cfg.caps.sllps = IMS_SLLPS_2M; /* 1 GiB pages not supported */
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 1, 4, RID_A);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x10000, 0x50000, 0x1000, IMS_PERM_R), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x20000, 0x60000, 0x1000, IMS_PERM_W), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x400000, 0x800000, MIB2, IMS_PERM_RW), 0);
    struct ims_xlate x;
    uint64_t pa;

    /* 0x1: nothing on bus 9. */
    ck_assert_int_eq(fx_xlate(&f, IMS_BDF(9, 0, 0), 0x10000, IMS_PERM_R, &x), 0x1);
    expect_record(&f, IMS_BDF(9, 0, 0), 0x10000, 0x1, true);
    /* 0x2: bus 0 has a context table, devfn 00.7 is not present. */
    ck_assert_int_eq(fx_xlate(&f, IMS_BDF(0, 0, 7), 0x10000, IMS_PERM_W, &x), 0x2);
    expect_record(&f, IMS_BDF(0, 0, 7), 0x10000, 0x2, false);
    /* 0x4: above 2^48 in a 4-level domain (MGAW 57). */
    ck_assert_int_eq(fx_xlate(&f, RID_A, 1ull << 48, IMS_PERM_R, &x), 0x4);
    expect_record(&f, RID_A, 1ull << 48, 0x4, true);
    /* 0x5: write to a read-only page; 0x6: read of a write-only page. */
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_W, &x), 0x5);
    expect_record(&f, RID_A, 0x10000, 0x5, false);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x20000, IMS_PERM_R, &x), 0x6);
    expect_record(&f, RID_A, 0x20000, 0x6, true);
    /* Not present leaf: a read faults 0x6, a write 0x5. */
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x30000, IMS_PERM_R, &x), 0x6);
    expect_record(&f, RID_A, 0x30000, 0x6, true);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x30000, IMS_PERM_W, &x), 0x5);
    expect_record(&f, RID_A, 0x30000, 0x5, false);
    /* 0xd: ATS translation request while TT = untranslated only. */
    struct ims_req r = {.rid = RID_A, .pasid = IMS_NO_PASID, .iova = 0x10000, .size = 8, .access = IMS_PERM_R,
                        .at = IMS_AT_TRANSLATION};
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0xd);
    expect_record(&f, RID_A, 0x10000, 0xd, true);
    r.at = IMS_AT_TRANSLATED;
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0xd);
    expect_record(&f, RID_A, 0x10000, 0xd, true);

    /* 0xc: reserved bits in paging entries, each kind, restored after. */
    ck_assert_int_eq(ims_tb_entry_pa(f.tb, 1, 0x10000, 1, &pa), 0);
    uint64_t e = ims_mem_read64(f.mem, pa);
    ims_mem_write64(f.mem, pa, e | (1ull << 47)); /* address bit above HAW 46 */
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0xc);
    expect_record(&f, RID_A, 0x10000, 0xc, true);
    ims_mem_write64(f.mem, pa, e | (1ull << 11)); /* SNP without ECAP.SC */
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0xc);
    expect_record(&f, RID_A, 0x10000, 0xc, true);
    ims_mem_write64(f.mem, pa, e | (0xfull << 3)); /* bits 6:3 of a leaf: EMT/IPAT, ignored */
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0);
    ims_mem_write64(f.mem, pa, e);
    ck_assert_int_eq(ims_tb_entry_pa(f.tb, 1, 0x10000, 4, &pa), 0);
    e = ims_mem_read64(f.mem, pa);
    ims_mem_write64(f.mem, pa, e | IMS_SLPTE_PS); /* PS in a PML4E */
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0xc);
    expect_record(&f, RID_A, 0x10000, 0xc, true);
    ims_mem_write64(f.mem, pa, e | (0xfull << 3)); /* bits 6:3 of a non-leaf: ignored */
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0);
    ims_mem_write64(f.mem, pa, e);
    ck_assert_int_eq(ims_tb_entry_pa(f.tb, 1, 0x400000, 2, &pa), 0);
    e = ims_mem_read64(f.mem, pa);
    ck_assert(e & IMS_SLPTE_PS);
    ims_mem_write64(f.mem, pa, e | 0x1000); /* low address bit of a 2 MiB leaf */
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x400000, IMS_PERM_R, &x), 0xc);
    expect_record(&f, RID_A, 0x400000, 0xc, true);
    ims_mem_write64(f.mem, pa, e);
    ck_assert_int_eq(ims_tb_entry_pa(f.tb, 1, 0x400000, 3, &pa), 0);
    e = ims_mem_read64(f.mem, pa);
    ims_mem_write64(f.mem, pa, e | IMS_SLPTE_PS); /* 1 GiB leaf while SLLPS lacks 1 GiB */
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x400000, IMS_PERM_R, &x), 0xc);
    expect_record(&f, RID_A, 0x400000, 0xc, true);
    ims_mem_write64(f.mem, pa, e);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x400000, IMS_PERM_R, &x), 0);

    /* 0xb and 0x3: context entry reserved bit / TT = 3 / AW not in SAGAW. */
    ck_assert_int_eq(ims_tb_ctx_entry_pa(f.tb, RID_A, &pa), 0);
    uint64_t lo = ims_mem_read64(f.mem, pa), hi = ims_mem_read64(f.mem, pa + 8);
    ims_mem_write64(f.mem, pa + 8, hi | 0x80);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0xb);
    expect_record(&f, RID_A, 0x10000, 0xb, true);
    ims_mem_write64(f.mem, pa + 8, hi);
    ims_mem_write64(f.mem, pa, lo | (3u << 2));
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0x3);
    expect_record(&f, RID_A, 0x10000, 0x3, true);
    ims_mem_write64(f.mem, pa, lo);
    ims_mem_write64(f.mem, pa + 8, (hi & ~7ull) | 4); /* AW 4: undefined */
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0x3);
    expect_record(&f, RID_A, 0x10000, 0x3, true);
    ims_mem_write64(f.mem, pa + 8, hi);

    /* 0xa: reserved bit in the root entry. */
    uint64_t rpa = ims_tb_root(f.tb) + 0 * 16;
    uint64_t re = ims_mem_read64(f.mem, rpa);
    ims_mem_write64(f.mem, rpa, re | 2);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0xa);
    expect_record(&f, RID_A, 0x10000, 0xa, true);
    ims_mem_write64(f.mem, rpa, re);

    /* 0x8: translation with no root table. */
    ims_iommu_set_root(f.mmu, 0);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0x8);
    expect_record(&f, RID_A, 0x10000, 0x8, true);
    ims_iommu_set_root(f.mmu, ims_tb_root(f.tb));
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0);

    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->fault_reason[0x1], 1);
    ck_assert_uint_eq(st->fault_reason[0x2], 1);
    ck_assert_uint_eq(st->fault_reason[0x3], 2);
    ck_assert_uint_eq(st->fault_reason[0x4], 1);
    ck_assert_uint_eq(st->fault_reason[0x5], 2);
    ck_assert_uint_eq(st->fault_reason[0x6], 2);
    ck_assert_uint_eq(st->fault_reason[0x8], 1);
    ck_assert_uint_eq(st->fault_reason[0xa], 1);
    ck_assert_uint_eq(st->fault_reason[0xb], 1);
    ck_assert_uint_eq(st->fault_reason[0xc], 5);
    ck_assert_uint_eq(st->fault_reason[0xd], 2);
    ck_assert_uint_eq(st->fault_records, st->faults);
    fx_close(&f);
}
END_TEST

/* TT=1 without ECAP.DT and TT=2 without ECAP.PT are invalid (0x3). */
START_TEST(tt_needs_caps)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 1, 4, RID_A);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_B, 1, IMS_TT_PASSTHROUGH, false), 0);
    struct ims_iommu_cfg c2 = cfg;
    c2.caps.pt = false;
    char err[128];
    struct ims_iommu *m2 = ims_iommu_create(&c2, &ims_mem_direct_ops, f.mem, err, sizeof err);
    ims_iommu_set_root(m2, ims_tb_root(f.tb));
    struct ims_req r = {.rid = RID_B, .pasid = IMS_NO_PASID, .iova = 0x1234, .size = 4, .access = IMS_PERM_R};
    struct ims_xlate x;
    ck_assert_int_eq(ims_translate(m2, &r, &x), 0x3);
    /* With PT supported: identity, no walk. */
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
    ck_assert_uint_eq(x.pa, 0x1234);
    ck_assert(x.flags & IMS_XLATE_PASSTHRU);
    ck_assert(!(x.flags & IMS_XLATE_WALKED));
    ims_iommu_destroy(m2);
    fx_close(&f);
}
END_TEST

/* ATS: with TT=1 a translation request is translated; a translated request
 * passes untranslated; an untranslated request is walked as usual. */
START_TEST(ats_devtlb)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 2, 4), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_A, 2, IMS_TT_DEVTLB, false), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 2, 0x10000, 0x90000, 0x1000, IMS_PERM_RW), 0);
    struct ims_req r = {.rid = RID_A, .pasid = IMS_NO_PASID, .iova = 0x10008, .size = 8, .access = IMS_PERM_R,
                        .at = IMS_AT_TRANSLATION};
    struct ims_xlate x;
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
    ck_assert_uint_eq(x.pa, 0x90008);
    r.at = IMS_AT_TRANSLATED;
    r.iova = 0x90008;
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
    ck_assert_uint_eq(x.pa, 0x90008);
    fx_close(&f);
}
END_TEST

/* FPD suppresses qualified faults (here 0x6) but not 0xb. */
START_TEST(fpd)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 4), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_A, 1, IMS_TT_UNTRANSLATED, true), 0);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x5000, IMS_PERM_R, &x), 0x6);
    ck_assert(x.flags & IMS_XLATE_FAULT_SUPPRESSED);
    struct ims_fault_record rec[2];
    ck_assert_uint_eq(ims_fq_drain(f.mmu, f.mem, rec, 2), 0);
    uint64_t pa;
    ck_assert_int_eq(ims_tb_ctx_entry_pa(f.tb, RID_A, &pa), 0);
    ims_mem_write64(f.mem, pa + 8, ims_mem_read64(f.mem, pa + 8) | (1ull << 40));
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x5000, IMS_PERM_R, &x), 0xb);
    ck_assert(x.flags & IMS_XLATE_FAULT_RECORDED);
    expect_record(&f, RID_A, 0x5000, 0xb, true);
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->fault_suppressed, 1);
    fx_close(&f);
}
END_TEST

/* Two devices behind one PCIe-to-PCI bridge reach the IOMMU with one alias:
 * one context entry, one context-cache entry, one domain. Behind a
 * PCI-to-PCI bridge the bridge's own BDF is the context entry used. */
START_TEST(bridge_alias)
{
    struct ims_bridge br[2] = {{"pcie2pci", IMS_BDF(0, 0x1e, 0), 5, IMS_BRIDGE_PCIE_TO_PCI, IMS_TOPO_NONE},
                               {"pci2pci", IMS_BDF(0, 0x1c, 0), 6, IMS_BRIDGE_PCI_TO_PCI, IMS_TOPO_NONE}};
    struct ims_device dev[3] = {{"nic", IMS_BDF(5, 1, 0), 0}, {"sata", IMS_BDF(5, 2, 0), 0}, {"old", IMS_BDF(6, 3, 0), 1}};
    struct ims_topo t = {br, 2, dev, 3};
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    uint16_t a0 = ims_topo_requester_id(&t, 0), a1 = ims_topo_requester_id(&t, 1), a2 = ims_topo_requester_id(&t, 2);
    ck_assert_uint_eq(a0, a1);
    setup_dom(&f, 7, 4, a0);
    setup_dom(&f, 8, 4, a2);
    ck_assert_uint_eq(a2, IMS_BDF(0, 0x1c, 0));
    ck_assert_int_eq(ims_tb_map(f.tb, 7, 0x1000, 0x71000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 8, 0x1000, 0x81000, 0x1000, IMS_PERM_RW), 0);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, a0, 0x1000, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.did, 7);
    ck_assert_int_eq(fx_xlate(&f, a1, 0x1000, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.did, 7);
    ck_assert(x.flags & IMS_XLATE_CTX_HIT); /* the second device reuses the first's entry */
    ck_assert_uint_eq(x.pa, 0x71000);
    ck_assert_int_eq(fx_xlate(&f, a2, 0x1000, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.pa, 0x81000);
    /* The device's own BDF (bus 6) was never given tables: root entry not present. */
    ck_assert_int_eq(fx_xlate(&f, dev[2].bdf, 0x1000, IMS_PERM_R, &x), 0x1);
    fx_close(&f);
}
END_TEST

/* Hardware semantics: after unmap without invalidation the IOTLB still
 * translates; a page-selective invalidation makes the change visible. */
START_TEST(stale_until_invalidated)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 1, 4, RID_A);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x10000, 0x50000, 0x1000, IMS_PERM_RW), 0);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0);
    ck_assert_int_eq(ims_tb_unmap(f.tb, 1, 0x10000, 0x1000), 0);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0);
    ck_assert(x.flags & IMS_XLATE_IOTLB_HIT);
    ck_assert_uint_eq(x.pa, 0x50000);
    ck_assert_uint_ge(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, 1, 0x10000, 0, false), 1);
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x10000, IMS_PERM_R, &x), 0x6);
    fx_close(&f);
}
END_TEST

/* Fills the IOTLB with 16 consecutive 4 KiB pages of domain 1 and 2 of
 * domain 2 (IOTLB large enough to hold all). */
static void fill16(struct fx *f)
{
    struct ims_xlate x;
    for (uint64_t p = 0; p < 16; p++)
        ck_assert_int_eq(fx_xlate(f, RID_A, 0x100000 + p * 0x1000, IMS_PERM_R, &x), 0);
    ck_assert_int_eq(fx_xlate(f, RID_B, 0x100000, IMS_PERM_R, &x), 0);
    ck_assert_int_eq(fx_xlate(f, RID_B, 0x101000, IMS_PERM_R, &x), 0);
}

static bool hits(struct fx *f, uint16_t rid, uint64_t iova)
{
    struct ims_xlate x;
    fx_xlate(f, rid, iova, IMS_PERM_R, &x);
    return (x.flags & IMS_XLATE_IOTLB_HIT) != 0;
}

/* Page-selective with am = 2 at 0x105000 removes exactly pages 0x104000..
 * 0x107000 of domain 1: 4 IOTLB entries; every other entry still hits.
 * Domain invalidation removes domain 1 only; global removes all. */
START_TEST(inv_precision)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.iotlb = (struct ims_cache_cfg){.sets = 16, .ways = 8, .repl = IMS_REPL_LRU};
    for (unsigned l = 2; l <= 5; l++)
        cfg.psc[l].sets = 0;
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 1, 4, RID_A);
    setup_dom(&f, 2, 4, RID_B);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x100000, 0x500000, 0x10000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 2, 0x100000, 0x600000, 0x10000, IMS_PERM_RW), 0);
    fill16(&f);
    ck_assert_uint_eq(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, 1, 0x105000, 2, true), 4);
    for (uint64_t p = 0; p < 16; p++)
        ck_assert_int_eq(hits(&f, RID_A, 0x100000 + p * 0x1000), p < 4 || p > 7);
    ck_assert(hits(&f, RID_B, 0x100000) && hits(&f, RID_B, 0x101000));
    fill16(&f);
    ck_assert_uint_eq(ims_inv_iotlb(f.mmu, IMS_INV_DOMAIN, 1, 0, 0, false), 16);
    ck_assert(!hits(&f, RID_A, 0x100000));
    ck_assert(hits(&f, RID_B, 0x100000));
    fill16(&f);
    ck_assert_uint_eq(ims_inv_iotlb(f.mmu, IMS_INV_GLOBAL, 0, 0, 0, false), 18);
    ck_assert(!hits(&f, RID_B, 0x101000));
    fx_close(&f);
}
END_TEST

/* One-page invalidations find the entry in any way of a full set: with
 * 1, 3, 8 ways the removal compares the ways, with 16 and 64 it scans
 * their fingerprints, with 100 (a wide set) it asks the tag index. Each
 * page is invalidated once (1 entry), then again (0: it is gone), and the
 * pages not yet invalidated still hit. */
static const uint32_t inv_page_ways[] = {1, 3, 8, 16, 64, 100};
START_TEST(inv_page_every_way)
{
    const uint32_t ways = inv_page_ways[_i];
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.iotlb = (struct ims_cache_cfg){.sets = 1, .ways = ways, .repl = IMS_REPL_LRU};
    for (unsigned l = 2; l <= 5; l++)
        cfg.psc[l].sets = 0;
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 1, 4, RID_A);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x100000, 0x500000, (uint64_t)ways * 0x1000, IMS_PERM_RW), 0);
    for (uint32_t p = 0; p < ways; p++)
        ck_assert(!hits(&f, RID_A, 0x100000 + p * 0x1000)); /* fills way p */
    for (uint32_t p = ways; p-- > 0;) { /* last filled first */
        ck_assert_uint_eq(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, 1, 0x100000 + p * 0x1000, 0, true), 1);
        ck_assert_uint_eq(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, 1, 0x100000 + p * 0x1000, 0, true), 0);
        for (uint32_t r = 0; r < p; r++)
            ck_assert_msg(hits(&f, RID_A, 0x100000 + r * 0x1000), "ways %u: page %u lost with page %u", ways, r, p);
    }
    fx_close(&f);
}
END_TEST

/* The context cache compares the entry of its last hit first: in a
 * 1 x 1 cache that entry is replaced by every other device's fill and
 * removed by a device invalidation, and each time the next lookup must miss
 * (and translate with its own domain), never reuse it. A run of one
 * device hits, counted per lookup. */
START_TEST(ctx_last_hit_rechecked)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.ctx_cache = (struct ims_cache_cfg){.sets = 1, .ways = 1, .repl = IMS_REPL_LRU};
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 1, 4, RID_A);
    setup_dom(&f, 2, 4, RID_B);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x100000, 0x500000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 2, 0x100000, 0x600000, 0x1000, IMS_PERM_RW), 0);
    struct ims_xlate x;
    const uint16_t rid[] = {RID_A, RID_A, RID_A, RID_B, RID_A, RID_B, RID_B};
    const bool hit[] = {false, true, true, false, false, false, true};
    for (unsigned i = 0; i < 7; i++) {
        ck_assert_int_eq(fx_xlate(&f, rid[i], 0x100010, IMS_PERM_R, &x), 0);
        ck_assert_msg(!!(x.flags & IMS_XLATE_CTX_HIT) == hit[i], "lookup %u", i);
        ck_assert_uint_eq(x.pa, (rid[i] == RID_A ? 0x500010u : 0x600010u));
        ck_assert_uint_eq(x.did, rid[i] == RID_A ? 1 : 2);
    }
    ck_assert_uint_eq(ims_inv_context(f.mmu, IMS_INV_DEVICE, 2, RID_B, 0), 1);
    ck_assert_int_eq(fx_xlate(&f, RID_B, 0x100010, IMS_PERM_R, &x), 0);
    ck_assert(!(x.flags & IMS_XLATE_CTX_HIT));
    ck_assert_int_eq(fx_xlate(&f, RID_B, 0x100010, IMS_PERM_R, &x), 0);
    ck_assert(x.flags & IMS_XLATE_CTX_HIT);
    const struct ims_cache_stats *cs = &ims_iommu_stats(f.mmu)->ctx_cache;
    ck_assert_uint_eq(cs->lookups, 9);
    ck_assert_uint_eq(cs->hits, 4);
    ck_assert_uint_eq(cs->misses, 5);
    fx_close(&f);
}
END_TEST

/* A page-selective invalidation of one 4 KiB page inside a cached 2 MiB
 * page removes the 2 MiB entry; one outside it leaves it. PSC entries
 * covering the page go too unless ih is set. */
START_TEST(inv_superpage_and_psc)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 1, 4, RID_A);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x40000000, 0x80000000, MIB2, IMS_PERM_RW), 0);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x40000000, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.page_shift, 21);
    ck_assert_uint_eq(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, 1, 0x40200000, 0, true), 0); /* next 2 MiB */
    ck_assert(hits(&f, RID_A, 0x40100000));
    ck_assert_uint_eq(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, 1, 0x401ff000, 0, true), 1);
    ck_assert(!hits(&f, RID_A, 0x40100000)); /* refilled by this walk */
    /* PSCs now hold the level-4 and level-3 entries: ih keeps them, !ih drops them. */
    ck_assert_uint_eq(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, 1, 0x40000000, 0, false), 3);
    fx_close(&f);
}
END_TEST

/* Context-cache invalidation: device with function mask, domain, global. */
START_TEST(inv_context)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.ctx_cache = (struct ims_cache_cfg){.sets = 1, .ways = 16, .repl = IMS_REPL_LRU};
    struct fx f;
    fx_open(&f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 4), 0);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 2, 4), 0);
    struct ims_xlate x;
    for (unsigned fn = 0; fn < 8; fn++) {
        ck_assert_int_eq(ims_tb_attach(f.tb, IMS_BDF(1, 2, fn), 1, 0, false), 0);
        fx_xlate(&f, IMS_BDF(1, 2, fn), 0, IMS_PERM_R, &x);
    }
    ck_assert_int_eq(ims_tb_attach(f.tb, IMS_BDF(1, 3, 0), 2, 0, false), 0);
    fx_xlate(&f, IMS_BDF(1, 3, 0), 0, IMS_PERM_R, &x);
    ck_assert_uint_eq(ims_inv_context(f.mmu, IMS_INV_DEVICE, 1, IMS_BDF(1, 2, 1), 0), 1);
    ck_assert_uint_eq(ims_inv_context(f.mmu, IMS_INV_DEVICE, 1, IMS_BDF(1, 2, 2), 1), 2); /* fn 2, 6 */
    ck_assert_uint_eq(ims_inv_context(f.mmu, IMS_INV_DEVICE, 2, IMS_BDF(1, 2, 0), 3), 0); /* wrong domain */
    ck_assert_uint_eq(ims_inv_context(f.mmu, IMS_INV_DEVICE, 1, IMS_BDF(1, 2, 0), 2), 2); /* fn 0, 4 (2, 6 already gone) */
    ck_assert_uint_eq(ims_inv_context(f.mmu, IMS_INV_DOMAIN, 1, 0, 0), 3);                /* fn 3, 5, 7 */
    ck_assert_uint_eq(ims_inv_context(f.mmu, IMS_INV_GLOBAL, 0, 0, 0), 1);
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->inv_ctx, 6);
    fx_close(&f);
}
END_TEST

/* Caching mode: a not-present context entry is cached (domain 0), so a later
 * attach is invisible until software invalidates; without CM it is seen at once. */
START_TEST(caching_mode)
{
    for (int cm = 0; cm <= 1; cm++) {
        struct ims_iommu_cfg cfg;
        fx_cfg(&cfg);
        cfg.caps.cm = cm;
        struct fx f;
        fx_open(&f, &cfg);
        setup_dom(&f, 1, 4, RID_B); /* bus 0 has a context table */
        ck_assert_int_eq(ims_tb_domain_create(f.tb, 3, 4), 0);
        ck_assert_int_eq(ims_tb_map(f.tb, 3, 0x1000, 0x9000, 0x1000, IMS_PERM_RW), 0);
        struct ims_xlate x;
        ck_assert_int_eq(fx_xlate(&f, RID_A, 0x1000, IMS_PERM_R, &x), 0x2);
        ck_assert_int_eq(ims_tb_attach(f.tb, RID_A, 3, 0, false), 0);
        ck_assert_int_eq(fx_xlate(&f, RID_A, 0x1000, IMS_PERM_R, &x), cm ? 0x2 : 0);
        if (cm) {
            ck_assert(x.flags & IMS_XLATE_CTX_HIT);
            ck_assert_uint_eq(ims_inv_context(f.mmu, IMS_INV_DEVICE, 0, RID_A, 0), 1);
            ck_assert_int_eq(fx_xlate(&f, RID_A, 0x1000, IMS_PERM_R, &x), 0);
            ck_assert_int_eq(ims_tb_domain_create(f.tb, 0, 4), IMS_TB_ECAPS); /* DID 0 reserved */
        }
        ck_assert_uint_eq(x.pa, 0x9000);
        fx_close(&f);
    }
}
END_TEST

/* Queue of 4 records holds 3: the 4th and 5th faults are dropped and flag
 * overflow; draining two frees room; records land in memory in order. */
START_TEST(fault_queue)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.fq_records = 4;
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 1, 4, RID_A);
    struct ims_xlate x;
    for (uint64_t i = 0; i < 5; i++)
        fx_xlate(&f, RID_A, 0x100000 + i * 0x1000, IMS_PERM_W, &x);
    ck_assert(x.flags & IMS_XLATE_FAULT_DROPPED);
    struct ims_fq_state st;
    ims_fq_get(f.mmu, &st);
    ck_assert(st.overflow);
    ck_assert_uint_eq(st.dropped, 2);
    ck_assert_uint_eq(st.tail, 3);
    /* Record 1 in memory: FI, SID, FR = 5 (write), T = 0, F = 1. */
    uint64_t w0 = ims_mem_read64(f.mem, cfg.fq_base + 16), w1 = ims_mem_read64(f.mem, cfg.fq_base + 24);
    ck_assert_uint_eq(w0, 0x101000);
    ck_assert_uint_eq(w1, (1ull << 63) | (5ull << 32) | RID_A);
    struct ims_fault_record rec[8];
    ck_assert_uint_eq(ims_fq_drain(f.mmu, f.mem, rec, 2), 2);
    ck_assert_uint_eq(rec[0].addr, 0x100000);
    ck_assert_uint_eq(rec[1].addr, 0x101000);
    ck_assert_uint_eq(ims_mem_read64(f.mem, cfg.fq_base + 8) >> 63, 0); /* F cleared */
    ims_fq_clear_overflow(f.mmu);
    fx_xlate(&f, RID_A, 0x200000, IMS_PERM_R, &x);
    ck_assert(x.flags & IMS_XLATE_FAULT_RECORDED);
    fx_xlate(&f, RID_A, 0x201000, IMS_PERM_R, &x);
    ck_assert(x.flags & IMS_XLATE_FAULT_RECORDED); /* wraps to slot 0 */
    ims_fq_get(f.mmu, &st);
    ck_assert(!st.overflow);
    ck_assert_uint_eq(st.tail, 1);
    ck_assert_uint_eq(ims_fq_drain(f.mmu, f.mem, rec, 8), 3);
    ck_assert_uint_eq(rec[0].addr, 0x102000);
    ck_assert_uint_eq(rec[1].addr, 0x200000);
    ck_assert_uint_eq(rec[2].addr, 0x201000);
    ck_assert(rec[2].is_read);
    fx_close(&f);
}
END_TEST

/* Stats subtract field by field. */
START_TEST(stats_sub)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    setup_dom(&f, 1, 4, RID_A);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0, 0x100000, 0x2000, IMS_PERM_RW), 0);
    struct ims_xlate x;
    fx_xlate(&f, RID_A, 0, IMS_PERM_R, &x);
    struct ims_stats a = *ims_iommu_stats(f.mmu), d;
    fx_xlate(&f, RID_A, 0, IMS_PERM_R, &x);
    fx_xlate(&f, RID_A, 0x1000, IMS_PERM_R, &x);
    ims_stats_sub(&d, ims_iommu_stats(f.mmu), &a);
    ck_assert_uint_eq(d.translations, 2);
    ck_assert_uint_eq(d.iotlb.hits, 1);
    ck_assert_uint_eq(d.walks, 1);
    ck_assert_uint_eq(d.ctx_cache.hits, 2);
    ims_iommu_stats_reset(f.mmu);
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->iotlb.lookups, 0);
    fx_close(&f);
}
END_TEST

/* Creation errors name the parameter. */
/* Invalidation scopes name what each command covers, and a narrow scope's
 * keys are counted per class of entry size. */
START_TEST(inv_scopes)
{
    struct ims_inv_scope s;
    /* One page, no hint: the IOTLB and every paging-structure level, in its domain. */
    ims_inv_iotlb_scope(IMS_INV_PAGE, 7, 0x12345678, 0, false, &s);
    ck_assert(!s.any_dom);
    ck_assert_uint_eq(s.dom, 7);
    ck_assert_uint_eq(s.lo, 0x12345000);
    ck_assert_uint_eq(s.hi, 0x12345fff);
    ck_assert_uint_eq(s.kinds, (1u << IMS_KEY_IOTLB) | (0xfu << (IMS_KEY_PSC + 2)));
    ck_assert_uint_eq(ims_inv_scope_nkeys(&s, 600), 7); /* one key per class */
    /* The hint leaves the paging-structure caches out. */
    ims_inv_iotlb_scope(IMS_INV_PAGE, 7, 0x12345678, 0, true, &s);
    ck_assert_uint_eq(s.kinds, 1u << IMS_KEY_IOTLB);
    ck_assert_uint_eq(ims_inv_scope_nkeys(&s, 600), 3);
    /* 2^9 pages: 512 4 KiB tags + one 2 MiB + one 1 GiB; too many for 100. */
    ims_inv_iotlb_scope(IMS_INV_PAGE, 7, 0x40000000, 9, true, &s);
    ck_assert_uint_eq(s.hi - s.lo + 1, 512u * 4096u);
    ck_assert_uint_eq(ims_inv_scope_nkeys(&s, 600), 514);
    ck_assert_uint_eq(ims_inv_scope_nkeys(&s, 100), 0);
    /* Domain and global: not narrow. */
    ims_inv_iotlb_scope(IMS_INV_DOMAIN, 7, 0, 0, false, &s);
    ck_assert(!s.any_dom && s.lo == 0 && s.hi == UINT64_MAX);
    ck_assert_uint_eq(ims_inv_scope_nkeys(&s, 600), 0);
    ims_inv_iotlb_scope(IMS_INV_GLOBAL, 7, 0, 0, true, &s);
    ck_assert(s.any_dom);
    ck_assert_uint_eq(s.kinds & (1u << (IMS_KEY_PSC + 2)), 1u << (IMS_KEY_PSC + 2)); /* IH only for pages */
    /* Context: keys are (dom = requester id, tag = domain id). */
    ims_inv_context_scope(IMS_INV_DOMAIN, 9, 0, 0, &s);
    ck_assert(s.any_dom && s.lo == 9 && s.hi == 9 && s.kinds == 1u << IMS_KEY_CTX);
    ims_inv_context_scope(IMS_INV_DEVICE, 9, 0x0310, 0, &s);
    ck_assert(!s.any_dom && s.dom == 0x0310 && s.lo == 0 && s.hi == UINT64_MAX);
    ims_inv_context_scope(IMS_INV_DEVICE, 9, 0x0310, 1, &s); /* function mask: all (conservative) */
    ck_assert(s.any_dom && s.lo == 0 && s.hi == UINT64_MAX);
    ck_assert_uint_eq(ims_inv_scope_nkeys(&s, 600), 0);
}
END_TEST

START_TEST(create_errors)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    char err[200];
    cfg.iotlb.sets = 3;
    ck_assert_ptr_null(ims_iommu_create(&cfg, &ims_mem_direct_ops, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "iotlb"));
    fx_cfg(&cfg);
    cfg.fq_records = 1;
    ck_assert_ptr_null(ims_iommu_create(&cfg, &ims_mem_direct_ops, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "fq_records"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iommu");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, levels_x_sizes, 0, 9);
    tcase_add_test(tc, no_caches_every_time);
    tcase_add_test(tc, psc_hit);
    tcase_add_test(tc, iotlb_counts_per_translation);
    tcase_add_test(tc, len_stops_at_page_end);
    tcase_add_test(tc, fault_codes);
    tcase_add_test(tc, tt_needs_caps);
    tcase_add_test(tc, ats_devtlb);
    tcase_add_test(tc, fpd);
    tcase_add_test(tc, bridge_alias);
    tcase_add_test(tc, stale_until_invalidated);
    tcase_add_test(tc, inv_precision);
    tcase_add_loop_test(tc, inv_page_every_way, 0, (int)(sizeof inv_page_ways / sizeof inv_page_ways[0]));
    tcase_add_test(tc, ctx_last_hit_rechecked);
    tcase_add_test(tc, inv_superpage_and_psc);
    tcase_add_test(tc, inv_context);
    tcase_add_test(tc, caching_mode);
    tcase_add_test(tc, fault_queue);
    tcase_add_test(tc, stats_sub);
    tcase_add_test(tc, create_errors);
    tcase_add_test(tc, inv_scopes);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
