/* Scalable mode (VT-d 3.4.3; 9.2-9.6; first level per SDM 4.5): each PGTT,
 * RID_PASID, first-level permissions and page sizes, A/D updates, exact
 * nested read counts, and one test per scalable-mode fault reason the
 * model produces. Structures are written by sm_fx.h, not by the model. */
#include <check.h>
#include "ims_check.h"

#include "sm_fx.h"

#define RID UINT16_C(0x0108) /* bus 1, devfn 8: the lower context table */
#define RID_PASID 5u
#define DID_FL 42u
#define VA UINT64_C(0x00007f1234567000)

/* rid's context: PASIDE and DTE set, PDTS 0 (128 directory entries), RID_PASID 5. */
static void base_ctx(struct sx *x, uint16_t rid) { sx_ctx(x, rid, IMS_SMCE_PASIDE | IMS_SMCE_DTE, 0, RID_PASID); }

/* PASID `pasid` of rid: first level only, `levels`-level tables, VA -> page. */
static uint64_t setup_fl(struct sx *x, uint16_t rid, uint32_t pasid, unsigned levels, uint64_t va, uint64_t page,
                         uint64_t flags, uint64_t w2_flags)
{
    const uint64_t root = sx_frame(x);
    sx_fl_map(x, root, levels, va, page, 1, flags, false);
    sx_pasid(x, rid, pasid, ims_pasid_w0(IMS_PGTT_FL, 0, 0), DID_FL, ims_pasid_w2(levels == 5, root, w2_flags));
    return root;
}

/* Nested: second level `sl_levels` (x->slroot), first level `fl_levels` in guest frames. */
static uint64_t setup_nested(struct sx *x, uint16_t rid, uint32_t pasid, unsigned fl_levels, unsigned sl_levels,
                             uint64_t va, uint64_t gpa_page, uint64_t hpa_page, uint64_t w2_flags)
{
    x->slroot = sx_frame(x);
    x->sllevels = sl_levels;
    const uint64_t flroot = sx_gframe(x); /* a GPA */
    sx_fl_map(x, flroot + SX_GOFF, fl_levels, va, gpa_page, 1, IMS_FLPTE_RW | IMS_FLPTE_US, true);
    sx_sl_map(x, x->slroot, sl_levels, gpa_page, hpa_page, 1, IMS_PERM_RW);
    sx_pasid(x, rid, pasid, ims_pasid_w0(IMS_PGTT_NESTED, ims_levels_aw(sl_levels), x->slroot), 7,
             ims_pasid_w2(fl_levels == 5, flroot, w2_flags));
    return flroot;
}

/* ---- Each PGTT, with and without PASID ---- */

START_TEST(pgtt_each)
{
    struct ims_iommu_cfg cfg;
    sx_cfg(&cfg);
    struct sx x;
    sx_open(&x, &cfg);
    base_ctx(&x, RID);
    /* RID_PASID 5: first level. */
    setup_fl(&x, RID, RID_PASID, 4, VA, SX_DATA + 0x5000, IMS_FLPTE_RW | IMS_FLPTE_US, 0);
    /* PASID 6: second level only, 4 levels, DID 9. */
    const uint64_t sl = sx_frame(&x);
    sx_sl_map(&x, sl, 4, 0x1234000, SX_DATA + 0x6000, 1, IMS_PERM_RW);
    sx_pasid(&x, RID, 6, ims_pasid_w0(IMS_PGTT_SL, IMS_AW_48, sl), 9, 0);
    /* PASID 8: pass-through, DID 3. */
    sx_pasid(&x, RID, 8, ims_pasid_w0(IMS_PGTT_PT, 0, 0), 3, 0);

    struct ims_xlate o;
    struct ims_req r = sx_req(RID, IMS_NO_PASID, VA + 0x123, IMS_PERM_R);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.pa, SX_DATA + 0x5123);
    ck_assert_uint_eq(o.did, DID_FL);
    ck_assert_uint_eq(o.page_shift, 12);
    /* root 2 words, context 4, PASID directory 1, PASID entry 8, first level 4. */
    ck_assert_uint_eq(o.n_reads, 19);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_ROOT, IMS_RS_CTX), 2);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_CONTEXT, IMS_RS_CTX), 4);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_CONTEXT, IMS_RS_PASID_DIR), 1);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_CONTEXT, IMS_RS_PASID), 8);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_PTE, IMS_RS_FL), 4);
    /* The same PASID named explicitly: IOTLB hit under the same tag. */
    r.pasid = RID_PASID;
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert(o.flags & IMS_XLATE_IOTLB_HIT);
    ck_assert_uint_eq(o.pa, SX_DATA + 0x5123);

    r = sx_req(RID, 6, 0x1234010, IMS_PERM_W);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.pa, SX_DATA + 0x6010);
    ck_assert_uint_eq(o.did, 9);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_PTE, IMS_RS_SL), 4);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_PTE, IMS_RS_FL), 0);
    /* PASID 6 translates by its own (second-level) tables: VA is not mapped there. */
    r = sx_req(RID, 6, VA, IMS_PERM_R);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), IMS_FR_SM_SL_P);

    /* devfn 0x88: the root entry's upper half and its own context table
     * (RID_PASID 12: IOTLB entries are tagged by DID and PASID, not by
     * requester id, so this device must not reuse (42, 5) with other tables). */
    sx_ctx(&x, 0x0188, IMS_SMCE_PASIDE, 0, 12);
    setup_fl(&x, 0x0188, 12, 4, VA, SX_DATA + 0x7000, IMS_FLPTE_US, 0);
    r = sx_req(0x0188, IMS_NO_PASID, VA, IMS_PERM_R);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.pa, SX_DATA + 0x7000);

    r = sx_req(RID, 8, 0x3456789, IMS_PERM_W);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.pa, 0x3456789);
    ck_assert_uint_eq(o.did, 3);
    ck_assert(o.flags & IMS_XLATE_PASSTHRU);
    ck_assert_uint_eq(ims_iommu_stats(x.mmu)->sm.passthru, 1);
    sx_close(&x);
}
END_TEST

/* ---- Nested: exact read counts and order ---- */

static void nested_counts(unsigned fl, unsigned sl, bool caches)
{
    struct ims_iommu_cfg cfg;
    sx_cfg(&cfg);
    if (!caches)
        sx_no_caches(&cfg);
    struct sx x;
    sx_open(&x, &cfg);
    base_ctx(&x, RID);
    const uint64_t gpa = UINT64_C(0x7000000), hpa = SX_DATA + 0x9000;
    const uint64_t flroot = setup_nested(&x, RID, 9, fl, sl, VA, gpa, hpa, 0);
    /* A second page, so a warm walk misses the IOTLB. */
    sx_fl_map(&x, flroot + SX_GOFF, fl, VA + 0x1000, gpa + 0x1000, 1,
              IMS_FLPTE_RW | IMS_FLPTE_US, true);
    sx_sl_map(&x, x.slroot, sl, gpa + 0x1000, hpa + 0x1000, 1, IMS_PERM_RW);
    struct ims_xlate o;
    struct ims_req r = sx_req(RID, 9, VA + 8, IMS_PERM_R);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.pa, hpa + 8);
    const unsigned walk = fl + (fl + 1) * sl; /* 4 over 4: 24 */
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_PTE, -1), walk);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_PTE, IMS_RS_FL), fl);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_PTE, IMS_RS_NESTED_SL), (fl + 1) * sl);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_CONTEXT, IMS_RS_PASID_DIR), 1);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_CONTEXT, IMS_RS_PASID), 8);
    ck_assert_uint_eq(o.n_reads, 2 + 4 + 1 + 8 + walk);
    ck_assert(!(o.flags & IMS_XLATE_READS_LOST));
    /* Order: sl levels for FLPTPTR, then per first-level level its entry
     * and the second-level walk of the next address, levels descending. */
    unsigned i = 15;
    for (unsigned f = fl + 1; f >= 1; f--) {
        if (f <= fl) {
            ck_assert_uint_eq(o.reads[i].stage, IMS_RS_FL);
            ck_assert_uint_eq(o.reads[i].level, f);
            i++;
        }
        for (unsigned s = sl; s >= 1; s--, i++) {
            ck_assert_uint_eq(o.reads[i].stage, IMS_RS_NESTED_SL);
            ck_assert_uint_eq(o.reads[i].level, s);
        }
    }
    ck_assert_uint_eq(i, o.n_reads);
    const struct ims_stats *st = ims_iommu_stats(x.mmu);
    ck_assert_uint_eq(st->sm.fl_reads, fl);
    ck_assert_uint_eq(st->sm.nested_sl_reads, (fl + 1) * sl);
    ck_assert_uint_eq(st->sm.walks_nested, 1);
    /* The other page: with caches, context and PASID entry come from the
     * caches and the first-level PSC holds the last table's host address
     * (a 1-read + 1-walk miss); without, the whole walk again. */
    r.iova = VA + 0x1000;
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.pa, hpa + 0x1000);
    if (caches) {
        ck_assert_uint_eq(o.n_reads, 1 + sl);
        ck_assert_uint_eq(o.psc_level, 2);
    } else {
        ck_assert_uint_eq(o.n_reads, 2 + 4 + 1 + 8 + walk);
    }
    sx_close(&x);
}

START_TEST(nested_4_over_4) { nested_counts(4, 4, false); }
END_TEST
START_TEST(nested_other_depths)
{
    nested_counts(5, 5, false); /* 35 */
    nested_counts(4, 5, false);
    nested_counts(5, 4, false);
    nested_counts(4, 3, false);
}
END_TEST
START_TEST(nested_warm) { nested_counts(4, 4, true); }
END_TEST

/* ---- First-level permissions (3.6.1; SDM 4.6) ---- */

struct perm_case {
    uint64_t leaf;    /* leaf flags besides P */
    uint64_t w2;      /* PASID entry flags (SRE, ERE, WPE, NXE, SMEP) */
    unsigned priv, exec, access;
    unsigned want;
};

START_TEST(fl_permissions)
{
    const uint64_t RW = IMS_FLPTE_RW, US = IMS_FLPTE_US, XD = IMS_FLPTE_XD;
    const uint64_t SRE = IMS_PASID_SRE, ERE = IMS_PASID_ERE, WPE = IMS_PASID_WPE, NXE = IMS_PASID_NXE,
                   SMEP = IMS_PASID_SMEP;
    static struct perm_case c[32];
    unsigned n = 0;
    /* user */
    c[n++] = (struct perm_case){RW | US, 0, 0, 0, IMS_PERM_R, 0};
    c[n++] = (struct perm_case){RW | US, 0, 0, 0, IMS_PERM_W, 0};
    c[n++] = (struct perm_case){US, 0, 0, 0, IMS_PERM_R, 0};
    c[n++] = (struct perm_case){US, 0, 0, 0, IMS_PERM_W, IMS_FR_SM_WRITE};
    c[n++] = (struct perm_case){RW, 0, 0, 0, IMS_PERM_R, IMS_FR_SM_US};
    c[n++] = (struct perm_case){RW, 0, 0, 0, IMS_PERM_W, IMS_FR_SM_US};
    c[n++] = (struct perm_case){US, ERE | NXE, 0, 1, IMS_PERM_R, 0};
    c[n++] = (struct perm_case){US | XD, ERE | NXE, 0, 1, IMS_PERM_R, IMS_FR_SM_XD};
    c[n++] = (struct perm_case){US | XD, ERE | NXE, 0, 0, IMS_PERM_R, 0};  /* XD: data reads fine */
    c[n++] = (struct perm_case){US, 0, 0, 1, IMS_PERM_R, IMS_FR_SM_PTE_ERE};
    c[n++] = (struct perm_case){US | XD, 0, 0, 0, IMS_PERM_R, IMS_FR_SM_FL_RSVD}; /* XD reserved without NXE */
    /* supervisor */
    c[n++] = (struct perm_case){RW | US, 0, 1, 0, IMS_PERM_R, IMS_FR_SM_PTE_SRE};
    c[n++] = (struct perm_case){0, SRE, 1, 0, IMS_PERM_R, 0};
    c[n++] = (struct perm_case){0, SRE, 1, 0, IMS_PERM_W, 0};          /* WPE clear: writes to read-only pages */
    c[n++] = (struct perm_case){0, SRE | WPE, 1, 0, IMS_PERM_W, IMS_FR_SM_WRITE};
    c[n++] = (struct perm_case){RW, SRE | WPE, 1, 0, IMS_PERM_W, 0};
    c[n++] = (struct perm_case){US, SRE, 1, 0, IMS_PERM_R, 0};         /* user pages readable */
    c[n++] = (struct perm_case){US, SRE | ERE | NXE, 1, 1, IMS_PERM_R, 0};
    c[n++] = (struct perm_case){US, SRE | ERE | NXE | SMEP, 1, 1, IMS_PERM_R, IMS_FR_SM_XD};
    c[n++] = (struct perm_case){0, SRE | ERE | NXE | SMEP, 1, 1, IMS_PERM_R, 0};
    c[n++] = (struct perm_case){XD, SRE | ERE | NXE, 1, 1, IMS_PERM_R, IMS_FR_SM_XD};
    for (unsigned k = 0; k < n; k++) {
        for (unsigned hit = 0; hit < 2; hit++) { /* from the walk, then from the IOTLB */
            struct ims_iommu_cfg cfg;
            sx_cfg(&cfg);
            struct sx x;
            sx_open(&x, &cfg);
            base_ctx(&x, RID);
            setup_fl(&x, RID, RID_PASID, 4, VA, SX_DATA, c[k].leaf, c[k].w2);
            struct ims_xlate o;
            if (hit) { /* fill the IOTLB with a supervisor read (all of a page's rights are cached) */
                sx_pasid(&x, RID, RID_PASID, ims_pasid_w0(IMS_PGTT_FL, 0, 0), DID_FL,
                         ims_pasid_w2(0, sx_rd(&x, sx_pasid_pa(&x, RID, RID_PASID) + 16), c[k].w2 | SRE | WPE));
                struct ims_req f = sx_req(RID, RID_PASID, VA, IMS_PERM_R);
                f.priv = 1;
                unsigned fr = ims_translate(x.mmu, &f, &o);
                if (fr != 0) { /* a reserved leaf: no fill possible */
                    sx_close(&x);
                    continue;
                }
                ims_inv_pasid_cache(x.mmu, IMS_PINV_GLOBAL, 0, 0);
                sx_pasid(&x, RID, RID_PASID, ims_pasid_w0(IMS_PGTT_FL, 0, 0), DID_FL,
                         ims_pasid_w2(0, sx_rd(&x, sx_pasid_pa(&x, RID, RID_PASID) + 16), c[k].w2));
            }
            struct ims_req r = sx_req(RID, RID_PASID, VA + 4, c[k].access);
            r.priv = (uint8_t)c[k].priv;
            r.exec = (uint8_t)c[k].exec;
            const int got = ims_translate(x.mmu, &r, &o);
            ck_assert_msg(got == (int)c[k].want, "case %u (%s): got 0x%x want 0x%x", k, hit ? "hit" : "walk",
                          (unsigned)got, c[k].want);
            if (!got)
                ck_assert_uint_eq(o.pa, SX_DATA + 4);
            if (hit && !got && c[k].access == IMS_PERM_R)
                ck_assert(o.flags & IMS_XLATE_IOTLB_HIT);
            sx_close(&x);
        }
    }
}
END_TEST

/* ---- Page sizes and 5 levels ---- */

START_TEST(fl_page_sizes)
{
    struct ims_iommu_cfg cfg;
    sx_cfg(&cfg);
    struct sx x;
    sx_open(&x, &cfg);
    base_ctx(&x, RID);
    const uint64_t root = sx_frame(&x);
    const uint64_t va2m = UINT64_C(0x7f0000200000), va1g = UINT64_C(0x7e0040000000);
    sx_fl_map(&x, root, 4, va2m, UINT64_C(0x40200000), 2, IMS_FLPTE_RW | IMS_FLPTE_US, false);
    sx_fl_map(&x, root, 4, va1g, UINT64_C(0x80000000), 3, IMS_FLPTE_RW | IMS_FLPTE_US | (UINT64_C(1) << 12), false);
    sx_pasid(&x, RID, RID_PASID, ims_pasid_w0(IMS_PGTT_FL, 0, 0), DID_FL, ims_pasid_w2(0, root, 0));
    struct ims_xlate o;
    struct ims_req r = sx_req(RID, IMS_NO_PASID, va2m + 0x12345, IMS_PERM_R);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.pa, UINT64_C(0x40212345));
    ck_assert_uint_eq(o.page_shift, 21);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_PTE, IMS_RS_FL), 3);
    r.iova = va1g + 0x3456789;
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.pa, UINT64_C(0x83456789)); /* the PAT bit (12) is not address */
    ck_assert_uint_eq(o.page_shift, 30);
    /* Reserved bits below a 2 MiB page (bit 13). */
    const uint64_t pde = sx_entry_pa(&x, root, 4, va2m, 2, false);
    sx_wr(&x, pde, sx_rd(&x, pde) | (UINT64_C(1) << 13));
    ims_inv_piotlb(x.mmu, IMS_PINV_PASID, DID_FL, RID_PASID, 0, 0, false);
    r.iova = va2m;
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), IMS_FR_SM_FL_RSVD);
    sx_close(&x);

    /* Without CAP.FL1GP a 1 GiB leaf is reserved. */
    cfg.sm.fl1gp = false;
    sx_open(&x, &cfg);
    base_ctx(&x, RID);
    const uint64_t root2 = sx_frame(&x);
    sx_fl_map(&x, root2, 4, va1g, UINT64_C(0x80000000), 3, IMS_FLPTE_US, false);
    sx_pasid(&x, RID, RID_PASID, ims_pasid_w0(IMS_PGTT_FL, 0, 0), DID_FL, ims_pasid_w2(0, root2, 0));
    r.iova = va1g;
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), IMS_FR_SM_FL_RSVD);
    sx_close(&x);
}
END_TEST

START_TEST(fl_five_levels)
{
    struct ims_iommu_cfg cfg;
    sx_cfg(&cfg);
    struct sx x;
    sx_open(&x, &cfg);
    base_ctx(&x, RID);
    const uint64_t va = UINT64_C(0x00ff123456789000); /* canonical in 57 bits only */
    setup_fl(&x, RID, RID_PASID, 5, va, SX_DATA, IMS_FLPTE_US, 0);
    struct ims_xlate o;
    struct ims_req r = sx_req(RID, IMS_NO_PASID, va, IMS_PERM_R);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.pa, SX_DATA);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_PTE, IMS_RS_FL), 5);
    /* Sign-extended high half: canonical, translated by index 511 upward. */
    r.iova = UINT64_C(0xff00000000000000);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), IMS_FR_SM_FL_P);
    r.iova = UINT64_C(0x0100000000000000);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), IMS_FR_SM_NONCANON);
    sx_close(&x);
    /* FLPM 1 without CAP.FL5LP: invalid PASID entry. */
    cfg.sm.fl5lp = false;
    sx_open(&x, &cfg);
    base_ctx(&x, RID);
    setup_fl(&x, RID, RID_PASID, 5, va, SX_DATA, IMS_FLPTE_US, 0);
    r.iova = va;
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), IMS_FR_SM_PTE_INV);
    sx_close(&x);
}
END_TEST

/* ---- Accessed / dirty (SDM 4.8) ---- */

START_TEST(fl_accessed_dirty)
{
    struct ims_iommu_cfg cfg;
    sx_cfg(&cfg);
    struct sx x;
    sx_open(&x, &cfg);
    base_ctx(&x, RID);
    const uint64_t root = setup_fl(&x, RID, RID_PASID, 4, VA, SX_DATA, IMS_FLPTE_RW | IMS_FLPTE_US, 0);
    struct ims_xlate o;
    struct ims_req r = sx_req(RID, IMS_NO_PASID, VA, IMS_PERM_R);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.ad_writes, 4); /* A in each of the 4 entries */
    ck_assert_uint_eq(x.writes[IMS_MEM_PTE], 4);
    for (unsigned l = 1; l <= 4; l++) {
        const uint64_t e = sx_rd(&x, sx_entry_pa(&x, root, 4, VA, l, false));
        ck_assert_msg(e & IMS_FLPTE_A, "level %u: A", l);
        ck_assert_msg(!(e & IMS_FLPTE_D), "level %u: D after a read", l);
    }
    /* A write hits the IOTLB entry a read filled: D is not known set, so it walks and sets D only. */
    r.access = IMS_PERM_W;
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert(!(o.flags & IMS_XLATE_IOTLB_HIT));
    ck_assert_uint_eq(o.ad_writes, 1);
    ck_assert(sx_rd(&x, sx_entry_pa(&x, root, 4, VA, 1, false)) & IMS_FLPTE_D);
    /* Now cached dirty: no walk, no write. */
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert(o.flags & IMS_XLATE_IOTLB_HIT);
    ck_assert_uint_eq(o.ad_writes, 0);
    ck_assert_uint_eq(x.writes[IMS_MEM_PTE], 5);
    ck_assert_uint_eq(ims_iommu_stats(x.mmu)->sm.ad_writes, 5);
    /* Everything set already: a cold walk writes nothing. */
    ims_inv_piotlb(x.mmu, IMS_PINV_PASID, DID_FL, RID_PASID, 0, 0, false);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.ad_writes, 0);
    sx_close(&x);
}
END_TEST

/* Nested A/D: the first-level entries' updates go to their host frames. */
START_TEST(nested_accessed_dirty)
{
    struct ims_iommu_cfg cfg;
    sx_cfg(&cfg);
    struct sx x;
    sx_open(&x, &cfg);
    base_ctx(&x, RID);
    const uint64_t flroot = setup_nested(&x, RID, 9, 4, 4, VA, 0x7000000, SX_DATA, 0);
    struct ims_xlate o;
    struct ims_req r = sx_req(RID, 9, VA, IMS_PERM_W);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.ad_writes, 4);
    const uint64_t leaf = sx_rd(&x, sx_entry_pa(&x, flroot + SX_GOFF, 4, VA, 1, true));
    ck_assert((leaf & (IMS_FLPTE_A | IMS_FLPTE_D)) == (IMS_FLPTE_A | IMS_FLPTE_D));
    sx_close(&x);
}
END_TEST

/* Nested page size: a 2 MiB first-level page over 4 KiB second-level
 * pages translates (and is cached) at 4 KiB. */
START_TEST(nested_page_size)
{
    struct ims_iommu_cfg cfg;
    sx_cfg(&cfg);
    struct sx x;
    sx_open(&x, &cfg);
    base_ctx(&x, RID);
    const uint64_t va = UINT64_C(0x7f0000200000), gpa = UINT64_C(0x20000000);
    const uint64_t flroot = setup_nested(&x, RID, 9, 4, 4, VA, 0x7000000, SX_DATA, 0);
    sx_fl_map(&x, flroot + SX_GOFF, 4, va, gpa, 2, IMS_FLPTE_RW | IMS_FLPTE_US, true);
    sx_sl_map(&x, x.slroot, 4, gpa + 0x3000, SX_DATA + 0x11000, 1, IMS_PERM_RW);
    sx_sl_map(&x, x.slroot, 4, gpa + 0x4000, SX_DATA + 0x22000, 1, IMS_PERM_R);
    struct ims_xlate o;
    struct ims_req r = sx_req(RID, 9, va + 0x3010, IMS_PERM_W);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.pa, SX_DATA + 0x11010);
    ck_assert_uint_eq(o.page_shift, 12);
    r.iova = va + 0x4010;
    r.access = IMS_PERM_R;
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert(!(o.flags & IMS_XLATE_IOTLB_HIT));
    ck_assert_uint_eq(o.pa, SX_DATA + 0x22010);
    ck_assert_uint_eq(o.perm, IMS_PERM_R); /* the second level's read-only wins */
    r.access = IMS_PERM_W;
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), IMS_FR_SM_WRITE);
    sx_close(&x);
}
END_TEST

/* ---- Fault reasons: one case each ---- */

enum fcase_kind { K_FL, K_SL, K_NESTED };
struct fcase {
    unsigned want;
    enum fcase_kind kind;
};
static const struct fcase fcases[] = {
    {IMS_FR_SM_RTA_INV, K_FL},    {IMS_FR_SM_ROOT_ERR, K_FL},   {IMS_FR_SM_ROOT_P, K_FL},
    {IMS_FR_SM_ROOT_RSVD, K_FL},  {IMS_FR_SM_CTX_ERR, K_FL},    {IMS_FR_SM_CTX_P, K_FL},
    {IMS_FR_SM_CTX_RSVD, K_FL},   {IMS_FR_SM_CTX_INV, K_FL},    {IMS_FR_SM_CTX_DTE, K_FL},
    {IMS_FR_SM_CTX_PASIDE, K_FL}, {IMS_FR_SM_CTX_PDTS, K_FL},   {IMS_FR_SM_PDE_ERR, K_FL},
    {IMS_FR_SM_PDE_P, K_FL},      {IMS_FR_SM_PDE_RSVD, K_FL},   {IMS_FR_SM_PTE_ERR, K_FL},
    {IMS_FR_SM_PTE_P, K_FL},      {IMS_FR_SM_PTE_RSVD, K_FL},   {IMS_FR_SM_PTE_INV, K_FL},
    {IMS_FR_SM_PTE_ERE, K_FL},    {IMS_FR_SM_PTE_SRE, K_FL},    {IMS_FR_SM_FL_ERR, K_FL},
    {IMS_FR_SM_FL_P, K_FL},       {IMS_FR_SM_FL_RSVD, K_FL},    {IMS_FR_SM_FL_ROOT_ERR, K_FL},
    {IMS_FR_SM_FL_GPA, K_NESTED}, {IMS_FR_SM_FL_ROOT_SLR, K_NESTED}, {IMS_FR_SM_FL_SLR, K_NESTED},
    {IMS_FR_SM_FL_SLW, K_NESTED}, {IMS_FR_SM_SL_ERR, K_NESTED}, {IMS_FR_SM_SL_P, K_SL},
    {IMS_FR_SM_SL_RSVD, K_SL},    {IMS_FR_SM_NONCANON, K_FL},   {IMS_FR_SM_US, K_FL},
    {IMS_FR_SM_XD, K_FL},         {IMS_FR_SM_ADDR, K_SL},       {IMS_FR_SM_WRITE, K_FL},
    {IMS_FR_SM_READ, K_SL},
};
#define N_FCASES (sizeof fcases / sizeof fcases[0])

START_TEST(fault_reason_each)
{
    const struct fcase *c = &fcases[_i];
    struct ims_iommu_cfg cfg;
    sx_cfg(&cfg);
    if (c->want == IMS_FR_SM_CTX_INV)
        cfg.caps.dt = false; /* DTE without ECAP.DT */
    struct sx x;
    sx_open(&x, &cfg);
    base_ctx(&x, RID);
    const uint32_t pasid = 11;
    const uint64_t gpa = 0x7000000;
    uint64_t flroot = 0, sl = 0;
    if (c->kind == K_FL) {
        flroot = setup_fl(&x, RID, pasid, 4, VA, SX_DATA, IMS_FLPTE_RW | IMS_FLPTE_US, IMS_PASID_ERE);
    } else if (c->kind == K_SL) {
        sl = sx_frame(&x);
        sx_sl_map(&x, sl, 4, VA, SX_DATA, 1, IMS_PERM_RW);
        sx_pasid(&x, RID, pasid, ims_pasid_w0(IMS_PGTT_SL, IMS_AW_48, sl), 4, 0);
    } else {
        flroot = setup_nested(&x, RID, pasid, 4, 3, VA, gpa, SX_DATA, 0); /* 39-bit second level */
    }
    struct ims_req r = sx_req(RID, pasid, VA, IMS_PERM_R);
    struct ims_xlate o;
    if (c->want != IMS_FR_SM_CTX_INV) { /* the setup translates before it is broken */
        ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
        ims_inv_context(x.mmu, IMS_INV_GLOBAL, 0, 0, 0);
        ims_inv_pasid_cache(x.mmu, IMS_PINV_GLOBAL, 0, 0);
        ims_inv_iotlb(x.mmu, IMS_INV_GLOBAL, 0, 0, 0, false);
    }
    const uint64_t rpa = SX_ROOT + 16, cpa = sx_ctx_pa(&x, RID), ppa = sx_pasid_pa(&x, RID, pasid);
    const uint64_t dpa = x.dir[RID];
    const uint64_t fl_root_gpa = flroot;
    switch (c->want) {
    case IMS_FR_SM_RTA_INV: ims_iommu_set_root(x.mmu, 0); break;
    case IMS_FR_SM_ROOT_ERR: ims_mem_set_error_range(x.mem, rpa, rpa + 15); break;
    case IMS_FR_SM_ROOT_P: sx_wr(&x, rpa, 0); break;
    case IMS_FR_SM_ROOT_RSVD: sx_wr(&x, rpa, sx_rd(&x, rpa) | 2); break;
    case IMS_FR_SM_CTX_ERR: ims_mem_set_error_range(x.mem, cpa + 16, cpa + 23); break;
    case IMS_FR_SM_CTX_P: sx_wr(&x, cpa, sx_rd(&x, cpa) & ~IMS_SMCE_P); break;
    case IMS_FR_SM_CTX_RSVD: sx_wr(&x, cpa + 24, 1); break;
    case IMS_FR_SM_CTX_INV: break;
    case IMS_FR_SM_CTX_DTE:
        sx_wr(&x, cpa, sx_rd(&x, cpa) & ~IMS_SMCE_DTE);
        r.at = IMS_AT_TRANSLATION;
        break;
    case IMS_FR_SM_CTX_PASIDE: sx_wr(&x, cpa, sx_rd(&x, cpa) & ~IMS_SMCE_PASIDE); break;
    case IMS_FR_SM_CTX_PDTS: r.pasid = 128u << 6; break; /* PDTS 0: 128 directory entries */
    case IMS_FR_SM_PDE_ERR: ims_mem_set_error_range(x.mem, dpa, dpa + 7); break;
    case IMS_FR_SM_PDE_P: sx_wr(&x, dpa, 0); break;
    case IMS_FR_SM_PDE_RSVD: sx_wr(&x, dpa, sx_rd(&x, dpa) | 4); break;
    case IMS_FR_SM_PTE_ERR: ims_mem_set_error_range(x.mem, ppa + 56, ppa + 63); break;
    case IMS_FR_SM_PTE_P: sx_wr(&x, ppa, sx_rd(&x, ppa) & ~IMS_PASID_P); break;
    case IMS_FR_SM_PTE_RSVD: sx_wr(&x, ppa + 8, sx_rd(&x, ppa + 8) | (UINT64_C(1) << 16)); break;
    case IMS_FR_SM_PTE_INV: sx_wr(&x, ppa, sx_rd(&x, ppa) | (UINT64_C(7) << 6)); break; /* PGTT 7 */
    case IMS_FR_SM_PTE_ERE: sx_wr(&x, ppa + 16, sx_rd(&x, ppa + 16) & ~IMS_PASID_ERE); r.exec = 1; break;
    case IMS_FR_SM_PTE_SRE: r.priv = 1; break;
    case IMS_FR_SM_FL_ERR: {
        const uint64_t e = sx_entry_pa(&x, flroot, 4, VA, 2, false);
        ims_mem_set_error_range(x.mem, e, e + 7);
        break;
    }
    case IMS_FR_SM_FL_P: sx_wr(&x, sx_entry_pa(&x, flroot, 4, VA, 1, false), 0); break;
    case IMS_FR_SM_FL_RSVD: {
        const uint64_t e = sx_entry_pa(&x, flroot, 4, VA, 4, false);
        sx_wr(&x, e, sx_rd(&x, e) | IMS_FLPTE_PS);
        break;
    }
    case IMS_FR_SM_FL_ROOT_ERR: {
        const uint64_t e = sx_entry_pa(&x, flroot, 4, VA, 4, false);
        ims_mem_set_error_range(x.mem, e, e + 7);
        break;
    }
    case IMS_FR_SM_FL_GPA: { /* the PML4 entry's next table at GPA 2^40: beyond the 39-bit second level */
        const uint64_t e = sx_entry_pa(&x, flroot + SX_GOFF, 4, VA, 4, true);
        sx_wr(&x, e, (UINT64_C(1) << 40) | SX_FL_NONLEAF | IMS_FLPTE_A);
        break;
    }
    case IMS_FR_SM_FL_ROOT_SLR: /* the FL root's guest frame mapped write-only */
        sx_sl_map(&x, x.slroot, 3, fl_root_gpa, fl_root_gpa + SX_GOFF, 1, IMS_PERM_W);
        break;
    case IMS_FR_SM_FL_SLR: { /* the level-3 table's frame write-only */
        const uint64_t t3 = sx_rd(&x, sx_entry_pa(&x, flroot + SX_GOFF, 4, VA, 4, true)) & ~UINT64_C(0xfff);
        sx_sl_map(&x, x.slroot, 3, t3, t3 + SX_GOFF, 1, IMS_PERM_W);
        break;
    }
    case IMS_FR_SM_FL_SLW: { /* the root frame read-only and its entry's A clear: the update is denied */
        const uint64_t e = sx_entry_pa(&x, flroot + SX_GOFF, 4, VA, 4, true);
        sx_wr(&x, e, sx_rd(&x, e) & ~IMS_FLPTE_A);
        sx_sl_map(&x, x.slroot, 3, fl_root_gpa, fl_root_gpa + SX_GOFF, 1, IMS_PERM_R);
        break;
    }
    case IMS_FR_SM_SL_ERR: {
        const uint64_t e = sx_entry_pa(&x, x.slroot, 3, fl_root_gpa, 1, false);
        ims_mem_set_error_range(x.mem, e, e + 7);
        break;
    }
    case IMS_FR_SM_SL_P: sx_wr(&x, sx_entry_pa(&x, sl, 4, VA, 1, false), 0); break;
    case IMS_FR_SM_SL_RSVD: {
        const uint64_t e = sx_entry_pa(&x, sl, 4, VA, 3, false);
        sx_wr(&x, e, sx_rd(&x, e) | IMS_SLPTE_SNP);
        break;
    }
    case IMS_FR_SM_NONCANON: r.iova = UINT64_C(0x0000800000000000); break;
    case IMS_FR_SM_US: {
        const uint64_t e = sx_entry_pa(&x, flroot, 4, VA, 1, false);
        sx_wr(&x, e, sx_rd(&x, e) & ~IMS_FLPTE_US);
        break;
    }
    case IMS_FR_SM_XD: {
        const uint64_t e = sx_entry_pa(&x, flroot, 4, VA, 1, false);
        sx_wr(&x, e, sx_rd(&x, e) | IMS_FLPTE_XD);
        sx_wr(&x, ppa + 16, sx_rd(&x, ppa + 16) | IMS_PASID_NXE);
        r.exec = 1;
        break;
    }
    case IMS_FR_SM_ADDR: r.iova = UINT64_C(1) << 48; break;
    case IMS_FR_SM_WRITE: {
        const uint64_t e = sx_entry_pa(&x, flroot, 4, VA, 1, false);
        sx_wr(&x, e, sx_rd(&x, e) & ~IMS_FLPTE_RW);
        r.access = IMS_PERM_W;
        break;
    }
    case IMS_FR_SM_READ: sx_sl_map(&x, sl, 4, VA, SX_DATA, 1, IMS_PERM_W); break;
    default: ck_abort_msg("no case for 0x%x", c->want);
    }
    const int got = ims_translate(x.mmu, &r, &o);
    ck_assert_msg(got == (int)c->want, "want 0x%x (%s), got 0x%x (%s)", c->want, ims_fault_reason_name(c->want),
                  (unsigned)got, ims_fault_reason_name((unsigned)got) ? ims_fault_reason_name((unsigned)got) : "?");
    ck_assert_uint_eq(o.fault, c->want);
    ck_assert_ptr_nonnull(ims_fault_reason_name(c->want));
    /* Recorded with the request's PASID (PP, PV). */
    struct ims_fault_record rec[4];
    const size_t n = ims_fq_drain(x.mmu, x.mem, rec, 4);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(rec[0].reason, c->want);
    ck_assert(rec[0].pasid_present);
    ck_assert_uint_eq(rec[0].pasid, r.pasid);
    ck_assert_uint_eq(rec[0].sid, RID);
    sx_close(&x);
}
END_TEST

/* FPD in the PASID entry suppresses qualified faults; a request without
 * PASID records none (PP clear). */
START_TEST(fault_fpd_and_pp)
{
    struct ims_iommu_cfg cfg;
    sx_cfg(&cfg);
    struct sx x;
    sx_open(&x, &cfg);
    base_ctx(&x, RID);
    setup_fl(&x, RID, RID_PASID, 4, VA, SX_DATA, IMS_FLPTE_US, 0);
    struct ims_xlate o;
    struct ims_req r = sx_req(RID, IMS_NO_PASID, VA + 0x1000, IMS_PERM_R); /* not mapped */
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), IMS_FR_SM_FL_P);
    struct ims_fault_record rec[2];
    ck_assert_uint_eq(ims_fq_drain(x.mmu, x.mem, rec, 2), 1);
    ck_assert(!rec[0].pasid_present);
    const uint64_t ppa = sx_pasid_pa(&x, RID, RID_PASID);
    sx_wr(&x, ppa, sx_rd(&x, ppa) | IMS_PASID_FPD);
    ims_inv_pasid_cache(x.mmu, IMS_PINV_PASID, DID_FL, RID_PASID);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), IMS_FR_SM_FL_P);
    ck_assert(o.flags & IMS_XLATE_FAULT_SUPPRESSED);
    ck_assert_uint_eq(ims_fq_drain(x.mmu, x.mem, rec, 2), 0);
    sx_close(&x);
}
END_TEST

/* ATS translation requests that find no translation (VT-d 4.2.3): a
 * not-present first-level page completes with fault 0 and the access missing from perm, and
 * record no fault; a read-only page completes with R only (a write then
 * has no access). Faults of the entries above the tables stay faults: a
 * PASID with no PASID-table entry. */
START_TEST(translation_request_no_translation)
{
    struct ims_iommu_cfg cfg;
    sx_cfg(&cfg);
    struct sx x;
    sx_open(&x, &cfg);
    base_ctx(&x, RID);
    setup_fl(&x, RID, RID_PASID, 4, VA, SX_DATA, IMS_FLPTE_US, 0); /* user, read-only */
    struct ims_xlate o;
    struct ims_req r = sx_req(RID, RID_PASID, VA + 0x1000, IMS_PERM_W); /* not mapped */
    r.at = IMS_AT_TRANSLATION;
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.fault, 0);
    ck_assert_uint_eq(o.perm, 0);
    r.iova = VA; /* read-only: a translation (a read) granting R */
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), 0);
    ck_assert_uint_eq(o.perm, IMS_PERM_R);
    ck_assert_uint_eq(o.pa, SX_DATA);
    const struct ims_stats *st = ims_iommu_stats(x.mmu);
    ck_assert_uint_eq(st->faults, 0);
    ck_assert_uint_eq(st->ats_no_access, 1);
    r.pasid = RID_PASID + 1; /* no PASID-table entry: a fault, recorded */
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), IMS_FR_SM_PTE_P);
    ck_assert_uint_eq(st->faults, 1);
    struct ims_fault_record rec[2];
    ck_assert_uint_eq(ims_fq_drain(x.mmu, x.mem, rec, 2), 1);
    sx_close(&x);
}
END_TEST

/* Legacy mode ignores the new calls and fields. */
START_TEST(legacy_untouched)
{
    struct ims_iommu_cfg cfg;
    sx_cfg(&cfg);
    cfg.sm.enabled = false;
    struct sx x;
    sx_open(&x, &cfg);
    ck_assert_uint_eq(ims_inv_pasid_cache(x.mmu, IMS_PINV_GLOBAL, 0, 0), 0);
    ck_assert_uint_eq(ims_inv_piotlb(x.mmu, IMS_PINV_PASID, 1, 1, 0, 0, false), 0);
    ck_assert_uint_eq(ims_iommu_stats(x.mmu)->sm.inv_piotlb, 0);
    sx_close(&x);
    /* Scalable mode refuses miss classes (legacy-only), naming the field. */
    sx_cfg(&cfg);
    cfg.miss_classes = true;
    char err[200] = "";
    struct ims_mem *m = ims_mem_create();
    ck_assert_ptr_null(ims_iommu_create(&cfg, &ims_mem_direct_ops, m, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "miss_classes"));
    sx_cfg(&cfg);
    cfg.sm.pasid_cache.sets = 3;
    ck_assert_ptr_null(ims_iommu_create(&cfg, &ims_mem_direct_ops, m, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "sm.pasid_cache"));
    ims_mem_destroy(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, pgtt_each);
    tcase_add_test(tc, nested_4_over_4);
    tcase_add_test(tc, nested_other_depths);
    tcase_add_test(tc, nested_warm);
    tcase_add_test(tc, fl_permissions);
    tcase_add_test(tc, fl_page_sizes);
    tcase_add_test(tc, fl_five_levels);
    tcase_add_test(tc, fl_accessed_dirty);
    tcase_add_test(tc, nested_accessed_dirty);
    tcase_add_test(tc, nested_page_size);
    tcase_add_loop_test(tc, fault_reason_each, 0, (int)N_FCASES);
    tcase_add_test(tc, fault_fpd_and_pp);
    tcase_add_test(tc, translation_request_no_translation);
    tcase_add_test(tc, legacy_untouched);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
