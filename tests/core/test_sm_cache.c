/* Scalable-mode caches and invalidation precision (VT-d 6.2, 6.5.2.1,
 * 6.5.2.3-6.5.2.5): for each command, exactly the entries it must remove
 * go, and nothing else. Every probe is a translation whose flags and read
 * log show which caches held it. */
#include <check.h>
#include "ims_check.h"

#include "sm_fx.h"

#define RID UINT16_C(0x0108)
#define RID2 UINT16_C(0x0110)
#define VA UINT64_C(0x00007f1234400000)
#define VB (VA + UINT64_C(0x200000)) /* next 2 MiB region, same 1 GiB */
#define SLVA UINT64_C(0x12340000)

/* The probes: (rid, PASID, address); what each is. */
enum { P5A, P5B, P6A, P7A, P8A, P9A, P2A, NPROBES };
static const struct {
    uint16_t rid;
    uint32_t pasid;
    uint64_t va;
} probe[NPROBES] = {
    [P5A] = {RID, 5, VA},    /* DID 42 first level */
    [P5B] = {RID, 5, VB},    /* DID 42 first level, another 2 MiB region */
    [P6A] = {RID, 6, VA},    /* DID 42 first level, another PASID (own tables) */
    [P7A] = {RID, 7, SLVA},  /* DID 42 second level only */
    [P8A] = {RID, 8, VA},    /* DID 42 nested */
    [P9A] = {RID, 9, VA},    /* DID 43 first level */
    [P2A] = {RID2, 5, VA},   /* another device: DID 44, PASID 5 */
};

static void fl(struct sx *x, uint16_t rid, uint32_t pasid, uint16_t did, uint64_t page)
{
    const uint64_t root = sx_frame(x);
    sx_fl_map(x, root, 4, VA, page, 1, IMS_FLPTE_RW | IMS_FLPTE_US, false);
    sx_fl_map(x, root, 4, VB, page + 0x1000, 1, IMS_FLPTE_RW | IMS_FLPTE_US, false);
    sx_pasid(x, rid, pasid, ims_pasid_w0(IMS_PGTT_FL, 0, 0), did, ims_pasid_w2(0, root, 0));
}

static void setup(struct sx *x)
{
    struct ims_iommu_cfg cfg;
    sx_cfg(&cfg);
    sx_open(x, &cfg);
    sx_ctx(x, RID, IMS_SMCE_PASIDE, 0, 5);
    sx_ctx(x, RID2, IMS_SMCE_PASIDE, 0, 5);
    fl(x, RID, 5, 42, SX_DATA + 0x10000);
    fl(x, RID, 6, 42, SX_DATA + 0x20000);
    fl(x, RID, 9, 43, SX_DATA + 0x30000);
    fl(x, RID2, 5, 44, SX_DATA + 0x40000);
    const uint64_t sl = sx_frame(x);
    sx_sl_map(x, sl, 4, SLVA, SX_DATA + 0x50000, 1, IMS_PERM_RW);
    sx_pasid(x, RID, 7, ims_pasid_w0(IMS_PGTT_SL, IMS_AW_48, sl), 42, 0);
    /* Nested PASID 8: second level over guest frames, first level inside. */
    x->slroot = sx_frame(x);
    x->sllevels = 4;
    const uint64_t flroot = sx_gframe(x);
    sx_fl_map(x, flroot + SX_GOFF, 4, VA, 0x7000000, 1, IMS_FLPTE_RW | IMS_FLPTE_US, true);
    sx_sl_map(x, x->slroot, 4, 0x7000000, SX_DATA + 0x60000, 1, IMS_PERM_RW);
    sx_pasid(x, RID, 8, ims_pasid_w0(IMS_PGTT_NESTED, IMS_AW_48, x->slroot), 42, ims_pasid_w2(0, flroot, 0));
}

static void xl(struct sx *x, unsigned p, struct ims_xlate *o)
{
    struct ims_req r = sx_req(probe[p].rid, probe[p].pasid, probe[p].va, IMS_PERM_R);
    ck_assert_msg(ims_translate(x->mmu, &r, o) == 0, "probe %u faults", p);
}

static void warm(struct sx *x)
{
    ims_inv_iotlb(x->mmu, IMS_INV_GLOBAL, 0, 0, 0, false);
    ims_inv_pasid_cache(x->mmu, IMS_PINV_GLOBAL, 0, 0);
    ims_inv_context(x->mmu, IMS_INV_GLOBAL, 0, 0, 0);
    struct ims_xlate o;
    for (unsigned p = 0; p < NPROBES; p++)
        xl(x, p, &o);
    for (unsigned p = 0; p < NPROBES; p++) { /* all cached now */
        xl(x, p, &o);
        ck_assert_msg(o.flags & IMS_XLATE_IOTLB_HIT, "warm probe %u", p);
    }
}

/* Probes every key; bit p of the result: the IOTLB still held probe p. */
static unsigned iotlb_held(struct sx *x)
{
    unsigned held = 0;
    struct ims_xlate o;
    for (unsigned p = 0; p < NPROBES; p++) {
        xl(x, p, &o);
        if (o.flags & IMS_XLATE_IOTLB_HIT)
            held |= 1u << p;
    }
    return held;
}
/* Bit p: the PASID cache still held probe p's PASID entry (no PASID-entry
 * read). P5B is skipped: it shares P5A's entry, which P5A's probe refills. */
static unsigned pasidc_held(struct sx *x)
{
    unsigned held = 0;
    struct ims_xlate o;
    for (unsigned p = 0; p < NPROBES; p++) {
        if (p == P5B)
            continue;
        xl(x, p, &o);
        if (sx_nreads(&o, IMS_MEM_CONTEXT, IMS_RS_PASID) == 0)
            held |= 1u << p;
    }
    return held;
}
#define ALL ((1u << NPROBES) - 1)
#define B(p) (1u << (p))
#define PC_ALL (ALL & ~B(P5B))

START_TEST(piotlb_pasid_selective)
{
    struct sx x;
    setup(&x);
    warm(&x);
    const size_t n = ims_inv_piotlb(x.mmu, IMS_PINV_PASID, 42, 5, 0, 0, false);
    ck_assert_uint_eq(iotlb_held(&x), ALL & ~(B(P5A) | B(P5B)));
    ck_assert_uint_ge(n, 2); /* 2 IOTLB entries + their PSC entries */
    ck_assert_uint_eq(ims_iommu_stats(x.mmu)->sm.inv_piotlb, 1);
    /* Their PSC entries went too: a full walk again. */
    warm(&x);
    ims_inv_piotlb(x.mmu, IMS_PINV_PASID, 42, 5, 0, 0, false);
    struct ims_xlate o;
    xl(&x, P5A, &o);
    ck_assert_uint_eq(o.psc_level, 0);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_PTE, IMS_RS_FL), 4);
    /* The wrong domain id removes nothing. */
    warm(&x);
    ck_assert_uint_eq(ims_inv_piotlb(x.mmu, IMS_PINV_PASID, 43, 5, 0, 0, false), 0);
    ck_assert_uint_eq(iotlb_held(&x), ALL);
    sx_close(&x);
}
END_TEST

START_TEST(piotlb_page_selective)
{
    struct sx x;
    setup(&x);
    warm(&x);
    ims_inv_piotlb(x.mmu, IMS_PINV_PAGE, 42, 5, VA, 0, false);
    ck_assert_uint_eq(iotlb_held(&x), ALL & ~B(P5A));
    /* Without IH the PSC entries covering VA went: P5A walks from the top. */
    warm(&x);
    ims_inv_piotlb(x.mmu, IMS_PINV_PAGE, 42, 5, VA, 0, false);
    struct ims_xlate o;
    xl(&x, P5A, &o);
    ck_assert_uint_eq(o.psc_level, 0);
    /* With IH they stay: one first-level read. */
    warm(&x);
    ims_inv_piotlb(x.mmu, IMS_PINV_PAGE, 42, 5, VA, 0, true);
    xl(&x, P5A, &o);
    ck_assert(!(o.flags & IMS_XLATE_IOTLB_HIT));
    ck_assert_uint_eq(o.psc_level, 2);
    ck_assert_uint_eq(sx_nreads(&o, IMS_MEM_PTE, IMS_RS_FL), 1);
    /* AM 9 (2 MiB from VA): VB is outside; AM 10 covers both. */
    warm(&x);
    ims_inv_piotlb(x.mmu, IMS_PINV_PAGE, 42, 5, VA, 9, true);
    ck_assert_uint_eq(iotlb_held(&x), ALL & ~B(P5A));
    warm(&x);
    ims_inv_piotlb(x.mmu, IMS_PINV_PAGE, 42, 5, VA, 10, true);
    ck_assert_uint_eq(iotlb_held(&x), ALL & ~(B(P5A) | B(P5B)));
    /* The nested PASID's page: only its entry. */
    warm(&x);
    ims_inv_piotlb(x.mmu, IMS_PINV_PAGE, 42, 8, VA, 0, false);
    ck_assert_uint_eq(iotlb_held(&x), ALL & ~B(P8A));
    /* A second-level-only PASID is not PASID-based-IOTLB business. */
    warm(&x);
    ck_assert_uint_eq(ims_inv_piotlb(x.mmu, IMS_PINV_PASID, 42, 7, 0, 0, false), 0);
    ck_assert_uint_eq(iotlb_held(&x), ALL);
    sx_close(&x);
}
END_TEST

START_TEST(iotlb_scalable)
{
    struct sx x;
    setup(&x);
    /* Page-selective: the second-level entry in range, every nested entry of the domain. */
    warm(&x);
    ims_inv_iotlb(x.mmu, IMS_INV_PAGE, 42, SLVA, 0, false);
    ck_assert_uint_eq(iotlb_held(&x), ALL & ~(B(P7A) | B(P8A)));
    warm(&x);
    ims_inv_iotlb(x.mmu, IMS_INV_PAGE, 42, SLVA + 0x1000, 0, false); /* not the second-level page */
    ck_assert_uint_eq(iotlb_held(&x), ALL & ~B(P8A));
    /* Domain-selective: every entry of 42, any PASID and kind. */
    warm(&x);
    ims_inv_iotlb(x.mmu, IMS_INV_DOMAIN, 42, 0, 0, false);
    ck_assert_uint_eq(iotlb_held(&x), B(P9A) | B(P2A));
    warm(&x);
    ims_inv_iotlb(x.mmu, IMS_INV_GLOBAL, 0, 0, 0, false);
    ck_assert_uint_eq(iotlb_held(&x), 0);
    sx_close(&x);
}
END_TEST

START_TEST(pasid_cache)
{
    struct sx x;
    setup(&x);
    warm(&x);
    ck_assert_uint_eq(pasidc_held(&x), PC_ALL);
    const struct ims_stats *st = ims_iommu_stats(x.mmu);
    ck_assert_uint_gt(st->sm.pasid_cache.hits, 0);
    /* PASID-selective (42, 5): both devices' PASID 5 entries with DID 42, i.e. RID's only. */
    ck_assert_uint_eq(ims_inv_pasid_cache(x.mmu, IMS_PINV_PASID, 42, 5), 1);
    ck_assert_uint_eq(pasidc_held(&x), PC_ALL & ~B(P5A));
    /* The IOTLB is untouched by it. */
    warm(&x);
    ims_inv_pasid_cache(x.mmu, IMS_PINV_PASID, 42, 5);
    ck_assert_uint_eq(iotlb_held(&x), ALL);
    /* Domain-selective 42: PASIDs 5, 6, 7, 8 of RID. */
    warm(&x);
    ck_assert_uint_eq(ims_inv_pasid_cache(x.mmu, IMS_PINV_DOMAIN, 42, 0), 4);
    ck_assert_uint_eq(pasidc_held(&x), B(P9A) | B(P2A));
    warm(&x);
    ims_inv_pasid_cache(x.mmu, IMS_PINV_DOMAIN, 44, 0);
    ck_assert_uint_eq(pasidc_held(&x), PC_ALL & ~B(P2A));
    warm(&x);
    ck_assert_uint_eq(ims_inv_pasid_cache(x.mmu, IMS_PINV_GLOBAL, 0, 0), 6);
    ck_assert_uint_eq(pasidc_held(&x), 0);
    /* A changed PASID entry stays in use until invalidated. */
    warm(&x);
    const uint64_t ppa = sx_pasid_pa(&x, RID, 9);
    sx_wr(&x, ppa, sx_rd(&x, ppa) & ~IMS_PASID_P);
    struct ims_xlate o;
    xl(&x, P9A, &o);
    ims_inv_pasid_cache(x.mmu, IMS_PINV_PASID, 43, 9);
    struct ims_req r = sx_req(RID, 9, VA, IMS_PERM_R);
    ck_assert_int_eq(ims_translate(x.mmu, &r, &o), IMS_FR_SM_PTE_P);
    sx_close(&x);
}
END_TEST

START_TEST(context_device)
{
    struct sx x;
    setup(&x);
    warm(&x);
    ims_inv_context(x.mmu, IMS_INV_DEVICE, 0, RID2, 0);
    struct ims_xlate o;
    xl(&x, P2A, &o);
    ck_assert(!(o.flags & IMS_XLATE_CTX_HIT));
    xl(&x, P5A, &o);
    ck_assert(o.flags & IMS_XLATE_CTX_HIT);
    /* Function mask 3 (bits 2:0 ignored): 0x0110 covers 0x0110..0x0117, not 0x0108. */
    warm(&x);
    ims_inv_context(x.mmu, IMS_INV_DEVICE, 0, 0x0113, 3);
    xl(&x, P2A, &o);
    ck_assert(!(o.flags & IMS_XLATE_CTX_HIT));
    xl(&x, P5A, &o);
    ck_assert(o.flags & IMS_XLATE_CTX_HIT);
    sx_close(&x);
}
END_TEST

/* Tags: two PASIDs of one domain with different tables never share an
 * IOTLB or PSC entry; the translation kinds neither. */
START_TEST(tags_separate)
{
    struct sx x;
    setup(&x);
    warm(&x);
    struct ims_xlate o;
    xl(&x, P5A, &o);
    ck_assert_uint_eq(o.pa, SX_DATA + 0x10000);
    xl(&x, P6A, &o);
    ck_assert_uint_eq(o.pa, SX_DATA + 0x20000);
    xl(&x, P8A, &o);
    ck_assert_uint_eq(o.pa, SX_DATA + 0x60000);
    xl(&x, P2A, &o);
    ck_assert_uint_eq(o.pa, SX_DATA + 0x40000);
    sx_close(&x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sm_cache");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, piotlb_pasid_selective);
    tcase_add_test(tc, piotlb_page_selective);
    tcase_add_test(tc, iotlb_scalable);
    tcase_add_test(tc, pasid_cache);
    tcase_add_test(tc, context_device);
    tcase_add_test(tc, tags_separate);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
