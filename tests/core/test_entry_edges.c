/* Edges of the entry checks that other suites pass over: a capability the
 * IOMMU lacks but the tables use (device-TLB TT, an AGAW outside SAGAW), a
 * root entry's CTP above HAW, a not-present paging entry with reserved bits,
 * the FPD of a cached not-present context entry, the page address of a fault
 * record, RTADDR's low bits, and the builder's level check. Each case names
 * the VT-d section it follows. */
#include "core_fx.h"
#include "ims_check.h"

#define RID_A IMS_BDF(0, 3, 0)
#define RID_B IMS_BDF(0, 4, 0)

/* An IOMMU over f's memory and tables with other capabilities than the
 * builder's (the tables use what the IOMMU does not offer). */
static struct ims_iommu *other_iommu(struct fx *f, const struct ims_caps *caps)
{
    struct ims_iommu_cfg c = f->cfg;
    c.caps = *caps;
    char err[256] = "";
    struct ims_iommu *m = ims_iommu_create(&c, &ims_mem_direct_ops, f->mem, err, sizeof err);
    ck_assert_msg(m != NULL, "iommu: %s", err);
    ims_iommu_set_root(m, ims_tb_root(f->tb));
    return m;
}

static unsigned xlate_on(struct ims_iommu *m, uint16_t rid, uint64_t iova, unsigned access, struct ims_xlate *x)
{
    struct ims_req r = {.rid = rid,
                        .pasid = IMS_NO_PASID,
                        .iova = iova,
                        .size = 4,
                        .access = (uint8_t)access,
                        .at = IMS_AT_UNTRANSLATED};
    return (unsigned)ims_translate(m, &r, x);
}

/* 9.3 TT: device-TLB translation (TT = 1) needs ECAP.DT. The same context
 * entry translates on an IOMMU with DT and is invalid (0x3) on one without. */
START_TEST(devtlb_tt_needs_dt)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 4), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x1000, 0x7000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_A, 1, IMS_TT_DEVTLB, false), 0);
    struct ims_xlate x;
    ck_assert_uint_eq(xlate_on(f.mmu, RID_A, 0x1000, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.pa, 0x7000);
    struct ims_caps no_dt = cfg.caps;
    no_dt.dt = false;
    struct ims_iommu *m = other_iommu(&f, &no_dt);
    ck_assert_uint_eq(xlate_on(m, RID_A, 0x1000, IMS_PERM_R, &x), IMS_FR_CTX_ENTRY_INV);
    ims_iommu_destroy(m);
    fx_close(&f);
}
END_TEST

/* 9.3 AW: the context entry's AW must be an AGAW that SAGAW offers. A
 * 5-level (57-bit) domain faults 0x3 on an IOMMU with SAGAW 39 | 48. */
START_TEST(aw_outside_sagaw)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 5), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x1000, 0x7000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_A, 1, IMS_TT_UNTRANSLATED, false), 0);
    struct ims_xlate x;
    ck_assert_uint_eq(xlate_on(f.mmu, RID_A, 0x1000, IMS_PERM_R, &x), 0);
    struct ims_caps c = cfg.caps;
    c.sagaw = IMS_SAGAW_39 | IMS_SAGAW_48;
    c.mgaw = 48;
    struct ims_iommu *m = other_iommu(&f, &c);
    ck_assert_uint_eq(xlate_on(m, RID_A, 0x1000, IMS_PERM_R, &x), IMS_FR_CTX_ENTRY_INV);
    ims_iommu_destroy(m);
    fx_close(&f);
}
END_TEST

/* 9.1: a present root entry whose context-table pointer has a bit at or
 * above HAW set faults 0xa (reserved), not with a context-table read there. */
START_TEST(root_ctp_above_haw)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 4), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_A, 1, IMS_TT_UNTRANSLATED, false), 0);
    const uint64_t rpa = ims_tb_root(f.tb); /* bus 0's root entry */
    const uint64_t lo = ims_mem_read64(f.mem, rpa);
    ck_assert(lo & 1);
    struct ims_xlate x;
    for (unsigned bit = cfg.caps.haw; bit < 64; bit += 5) {
        ims_mem_write64(f.mem, rpa, lo | (UINT64_C(1) << bit));
        ck_assert_msg(xlate_on(f.mmu, RID_A, 0x1000, IMS_PERM_R, &x) == IMS_FR_ROOT_ENTRY_RSVD, "CTP bit %u", bit);
        ck_assert_uint_eq(x.n_reads, 2); /* the root entry only (its two words) */
        ck_assert_uint_eq(x.reads[0].kind, IMS_MEM_ROOT);
        ck_assert_uint_eq(x.reads[1].kind, IMS_MEM_ROOT);
    }
    ims_mem_write64(f.mem, rpa, lo);
    ck_assert_uint_eq(xlate_on(f.mmu, RID_A, 0x1000, IMS_PERM_R, &x), IMS_FR_READ); /* mapped nothing */
    fx_close(&f);
}
END_TEST

/* 9.8: reserved fields are checked in present entries only. A leaf with
 * neither R nor W but reserved bit 11 (or an address bit above HAW) set is
 * not present: a read faults 0x6, a write 0x5, never 0xc. */
START_TEST(not_present_ignores_reserved)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 4), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x5000, 0x9000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_A, 1, IMS_TT_UNTRANSLATED, false), 0);
    uint64_t epa;
    ck_assert_int_eq(ims_tb_entry_pa(f.tb, 1, 0x5000, 1, &epa), 0);
    const uint64_t leaf = ims_mem_read64(f.mem, epa);
    struct ims_xlate x;
    const uint64_t junk[] = {UINT64_C(1) << 11, UINT64_C(1) << 50, (UINT64_C(1) << 11) | 0x9000};
    for (unsigned i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        ims_mem_write64(f.mem, epa, junk[i]);
        ck_assert_msg(xlate_on(f.mmu, RID_A, 0x5000, IMS_PERM_R, &x) == IMS_FR_READ, "entry 0x%llx",
                      (unsigned long long)junk[i]);
        ck_assert_uint_eq(xlate_on(f.mmu, RID_A, 0x5000, IMS_PERM_W, &x), IMS_FR_WRITE);
    }
    /* The same reserved bit in a present entry is reserved. */
    ims_mem_write64(f.mem, epa, leaf | (UINT64_C(1) << 11));
    ck_assert_uint_eq(xlate_on(f.mmu, RID_A, 0x5000, IMS_PERM_R, &x), IMS_FR_PAGING_ENTRY_RSVD);
    fx_close(&f);
}
END_TEST

/* 6.1 caching mode, 9.3 FPD: a not-present context entry with FPD set is
 * cached with its FPD, so the fault of the cached lookup is suppressed like
 * the first one; nothing is recorded. */
START_TEST(cached_not_present_keeps_fpd)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.caps.cm = true;
    struct fx f;
    fx_open(&f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 4), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_B, 1, IMS_TT_UNTRANSLATED, false), 0); /* bus 0's table */
    uint64_t cpa;
    ck_assert_int_eq(ims_tb_ctx_entry_pa(f.tb, RID_A, &cpa), 0);
    ims_mem_write64(f.mem, cpa, UINT64_C(1) << 1); /* P = 0, FPD = 1 */
    struct ims_xlate x;
    ck_assert_uint_eq(xlate_on(f.mmu, RID_A, 0x1000, IMS_PERM_R, &x), IMS_FR_CTX_ENTRY_P);
    ck_assert(!(x.flags & IMS_XLATE_CTX_HIT));
    ck_assert(x.flags & IMS_XLATE_FAULT_SUPPRESSED);
    ck_assert_uint_eq(xlate_on(f.mmu, RID_A, 0x1000, IMS_PERM_R, &x), IMS_FR_CTX_ENTRY_P);
    ck_assert(x.flags & IMS_XLATE_CTX_HIT);
    ck_assert(x.flags & IMS_XLATE_FAULT_SUPPRESSED);
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->fault_suppressed, 2);
    ck_assert_uint_eq(st->fault_records, 0);
    struct ims_fault_record rec[2];
    ck_assert_uint_eq(ims_fq_drain(f.mmu, f.mem, rec, 2), 0);
    fx_close(&f);
}
END_TEST

/* 7.3 / 11.4.14 FRCD.FI: a fault record holds the page address of the
 * request, the offset within the page cleared. */
START_TEST(fault_record_page_address)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 4), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_A, 1, IMS_TT_UNTRANSLATED, false), 0);
    struct ims_xlate x;
    ck_assert_uint_eq(xlate_on(f.mmu, RID_A, 0x12345, IMS_PERM_W, &x), IMS_FR_WRITE);
    struct ims_fault_record rec[2];
    ck_assert_uint_eq(ims_fq_drain(f.mmu, f.mem, rec, 2), 1);
    ck_assert_uint_eq(rec[0].addr, 0x12000);
    ck_assert_uint_eq(rec[0].sid, RID_A);
    ck_assert(!rec[0].is_read);
    fx_close(&f);
}
END_TEST

/* 11.4.5 RTADDR_REG: the root table is 4 KiB aligned; bits 11:0 are not
 * part of its address. */
START_TEST(rtaddr_low_bits_ignored)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    struct fx f;
    fx_open(&f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 4), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x1000, 0x7000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_A, 1, IMS_TT_UNTRANSLATED, false), 0);
    ims_iommu_set_root(f.mmu, ims_tb_root(f.tb) | 0x3f0);
    struct ims_xlate x;
    ck_assert_uint_eq(xlate_on(f.mmu, RID_A, 0x1000, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.pa, 0x7000);
    fx_close(&f);
}
END_TEST

/* 9.8 / CAP.SLLPS: PS in a level-2 (level-3) entry is reserved unless
 * SLLPS offers 2 MiB (1 GiB) pages. The builder's tables hold one page of
 * each size; an IOMMU offering only the other size faults 0xc on it, one
 * offering both translates both. */
START_TEST(superpage_needs_sllps)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    fx_no_caches(&cfg);
    cfg.caps.sllps = IMS_SLLPS_2M | IMS_SLLPS_1G;
    struct fx f;
    fx_open(&f, &cfg);
    const uint64_t mib2 = UINT64_C(1) << 21, gib = UINT64_C(1) << 30;
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 4), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, mib2, 4 * mib2, mib2, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, gib, 2 * gib, gib, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_A, 1, IMS_TT_UNTRANSLATED, false), 0);
    struct ims_xlate x;
    ck_assert_uint_eq(xlate_on(f.mmu, RID_A, mib2 + 0x10, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.pa, 4 * mib2 + 0x10);
    ck_assert_uint_eq(x.page_shift, 21);
    ck_assert_uint_eq(xlate_on(f.mmu, RID_A, gib + 0x10, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.pa, 2 * gib + 0x10);
    ck_assert_uint_eq(x.page_shift, 30);
    struct ims_caps only2m = cfg.caps, only1g = cfg.caps;
    only2m.sllps = IMS_SLLPS_2M;
    only1g.sllps = IMS_SLLPS_1G;
    struct ims_iommu *m = other_iommu(&f, &only2m);
    ck_assert_uint_eq(xlate_on(m, RID_A, mib2 + 0x10, IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(xlate_on(m, RID_A, gib + 0x10, IMS_PERM_R, &x), IMS_FR_PAGING_ENTRY_RSVD);
    ims_iommu_destroy(m);
    m = other_iommu(&f, &only1g);
    ck_assert_uint_eq(xlate_on(m, RID_A, mib2 + 0x10, IMS_PERM_R, &x), IMS_FR_PAGING_ENTRY_RSVD);
    ck_assert_uint_eq(xlate_on(m, RID_A, gib + 0x10, IMS_PERM_R, &x), 0);
    ims_iommu_destroy(m);
    fx_close(&f);
}
END_TEST

/* The builder: levels outside 3..5 are a bad argument (IMS_TB_EINVAL); a
 * level count whose AGAW SAGAW lacks is a capability error (IMS_TB_ECAPS). */
START_TEST(tb_level_errors)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.caps.sagaw = IMS_SAGAW_39 | IMS_SAGAW_48;
    cfg.caps.mgaw = 48;
    struct fx f;
    fx_open(&f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 2), IMS_TB_EINVAL);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 1), IMS_TB_EINVAL);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 6), IMS_TB_EINVAL);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 5), IMS_TB_ECAPS);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 3), 0);
    fx_close(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("entry_edges");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, devtlb_tt_needs_dt);
    tcase_add_test(tc, aw_outside_sagaw);
    tcase_add_test(tc, root_ctp_above_haw);
    tcase_add_test(tc, not_present_ignores_reserved);
    tcase_add_test(tc, cached_not_present_keeps_fpd);
    tcase_add_test(tc, fault_record_page_address);
    tcase_add_test(tc, rtaddr_low_bits_ignored);
    tcase_add_test(tc, superpage_needs_sllps);
    tcase_add_test(tc, tb_level_errors);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
