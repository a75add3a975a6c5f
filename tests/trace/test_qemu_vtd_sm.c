/* Converter from QEMU VT-d trace-event logs, scalable mode
 * (model/trace/qemu_vtd.c; docs/recording.md, "Scalable mode"). Hand-written
 * logs in QEMU 7.2's formats, each pinning one rule; the lines are modelled
 * on traces/raw/nvme-strict-sm.log.zst. */
#include <check.h>
#include "ims_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/iommu.h"
#include "iommusim/qemu_vtd.h"
#include "iommusim/trace.h"
#include "trace/util.h"

/* The root table in scalable mode, then the scalable-format context entry
 * of 00:01.0 (PASIDDIRPTR 0x28ba000, PDTS 2, P; RID_PASID 0), as recorded. */
#define ROOT_SM "2606@1796156724.938074:vtd_reg_dmar_root addr 0x28b6000 scalable 1\n"
#define ROOT_LEGACY "2606@1796156724.938074:vtd_reg_dmar_root addr 0x28b6000 scalable 0\n"
#define CC_SM(high, low)                                                                                             \
    "2604@1796156726.818976:vtd_iotlb_cc_update IOTLB context update bus 0x0 devfn 0x8 high " high " low " low      \
    " gen 0 -> gen 1\n"
#define UPD(ts, iova, slpte, dom)                                                                                    \
    "2604@1796156726." ts ":vtd_iotlb_page_update IOTLB page update sid 0x8 iova " iova " slpte " slpte             \
    " domain " dom "\n"

/* ---- records ------------------------------------------------------------- */

/* Expected: a scalable-mode trace (header flag); one ATTACH with the SM flag
 * for 00:01.0: RID_PASID 0 from high[19:0], the domain 3 of the first
 * translation after it, 3 levels, tt 0 (second level), pa = PASIDDIRPTR
 * 0x28ba000, at time 0 (the root event does not move time zero); then the
 * derived MAP/DMA/UNMAP/INV_IOTLB records exactly as in legacy mode. */
START_TEST(scalable_attach)
{
    const char *log = ROOT_SM CC_SM("0x0", "0x28ba401") UPD("818990", "0xffffe000", "0x1c77d003", "0x3")
        "2606@1796156726.819000:vtd_inv_desc invalidate desc type iotlb high 0xffffe000 low 0x300f2\n"
        "2606@1796156726.819001:vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x3 addr 0xffffe000 mask 0x0\n"
        UPD("819010", "0xffffe010", "0x1c780003", "0x3");
    struct tu_recs r;
    tu_qemu_convert_ok(log, NULL, &r);
    ck_assert(r.hdr.scalable);
    ck_assert_uint_eq(r.n, 7);
    const struct ims_rec *a = &r.v[0];
    ck_assert_uint_eq(a->kind, IMS_REC_ATTACH);
    ck_assert_uint_eq(a->flags, IMS_RECF_SM);
    ck_assert_uint_eq(a->rid, 0x8);
    ck_assert_uint_eq(a->pasid, 0);
    ck_assert_uint_eq(a->did, 3);
    ck_assert_uint_eq(a->levels, 3);
    ck_assert_uint_eq(a->tt, 0);
    ck_assert_uint_eq(a->pa, 0x28ba000);
    ck_assert_uint_eq(a->ts, 0);
    static const unsigned kinds[] = {IMS_REC_ATTACH, IMS_REC_MAP, IMS_REC_DMA, IMS_REC_UNMAP,
                                     IMS_REC_INV_IOTLB, IMS_REC_MAP, IMS_REC_DMA};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        ck_assert_msg(r.v[i].kind == kinds[i], "record %zu: kind %u, expected %u", i, r.v[i].kind, kinds[i]);
    ck_assert_uint_eq(r.v[1].did, 3);
    ck_assert_uint_eq(r.v[1].iova, 0xffffe000);
    ck_assert_uint_eq(r.v[1].pa, 0x1c77d000);
    ck_assert_uint_eq(r.v[2].pa, 0x1c77d000);
    ck_assert_uint_eq(r.v[2].flags & IMS_RECF_PASID, 0); /* a request without PASID: RID_PASID */
    ck_assert_uint_eq(r.v[6].pa, 0x1c780010);
    tu_recs_free(&r);
}
END_TEST

/* Expected: RID_PASID 5 and the DTE and PRE bits (low 0x28ba41d: P, DTE,
 * PASIDE, PRE) reach the ATTACH record; FPD and PASIDE do not (no field). */
START_TEST(scalable_rid_pasid_flags)
{
    const char *log = ROOT_SM CC_SM("0x5", "0x28ba41f") UPD("818990", "0xffffe000", "0x1c77d003", "0x7");
    struct tu_recs r;
    tu_qemu_convert_ok(log, NULL, &r);
    ck_assert_uint_eq(r.v[0].kind, IMS_REC_ATTACH);
    ck_assert_uint_eq(r.v[0].flags, IMS_RECF_SM | IMS_RECF_DTE | IMS_RECF_PRE);
    ck_assert_uint_eq(r.v[0].pasid, 5);
    ck_assert_uint_eq(r.v[0].did, 7);
    tu_recs_free(&r);
}
END_TEST

/* Expected: a reload of the same entry after a context-cache invalidation
 * with the same domain writes nothing; a reload after which the device
 * translates in another domain (its PASID entry was rewritten) is a DETACH
 * and a new ATTACH with that domain; an entry no translation follows gets
 * domain 0. */
START_TEST(scalable_reload)
{
#define CC_AT(ts, low)                                                                                               \
    "2604@1796156727." ts ":vtd_iotlb_cc_update IOTLB context update bus 0x0 devfn 0x8 high 0x0 low " low           \
    " gen 1 -> gen 2\n"
#define UPD2(ts, iova, dom)                                                                                          \
    "2604@1796156727." ts ":vtd_iotlb_page_update IOTLB page update sid 0x8 iova " iova " slpte 0x1c77d003 domain " \
    dom "\n"
    const char *log = ROOT_SM CC_SM("0x0", "0x28ba401") UPD("818990", "0xffffe000", "0x1c77d003", "0x3")
        "2606@1796156727.000000:vtd_inv_desc_cc_global context invalidate globally\n"
        "2606@1796156727.000001:vtd_inv_desc_iotlb_global iotlb invalidate global\n"
        CC_AT("000010", "0x28ba401") UPD2("000020", "0xffffe000", "0x3")
        "2606@1796156727.000030:vtd_inv_desc_cc_global context invalidate globally\n"
        "2606@1796156727.000031:vtd_inv_desc_iotlb_global iotlb invalidate global\n"
        CC_AT("000040", "0x28ba401") UPD2("000050", "0xffffe000", "0x4")
        "2606@1796156727.000060:vtd_inv_desc_cc_global context invalidate globally\n"
        CC_AT("000070", "0x3000401");
    struct tu_recs r;
    tu_qemu_convert_ok(log, NULL, &r);
    size_t att = 0, det = 0;
    uint16_t dids[4];
    for (size_t i = 0; i < r.n; i++) {
        if (r.v[i].kind == IMS_REC_ATTACH) {
            ck_assert_uint_lt(att, 4);
            ck_assert_uint_eq(r.v[i].flags, IMS_RECF_SM);
            dids[att++] = r.v[i].did;
        }
        det += r.v[i].kind == IMS_REC_DETACH;
    }
    ck_assert_uint_eq(att, 3);
    ck_assert_uint_eq(det, 2);
    ck_assert_uint_eq(dids[0], 3);
    ck_assert_uint_eq(dids[1], 4);
    ck_assert_uint_eq(dids[2], 0);
    tu_recs_free(&r);
#undef CC_AT
#undef UPD2
}
END_TEST

/* ---- errors ---------------------------------------------------------------- */

static const struct {
    const char *log, *want;
} bad_logs[] = {
    /* the guest switches modes: a trace is one mode */
    {ROOT_SM CC_SM("0x0", "0x28ba401") UPD("818990", "0xffffe000", "0x1c77d003", "0x3")
         "2606@1796156727.000000:vtd_reg_dmar_root addr 0x28b6000 scalable 0\n",
     "in.log:4: the root table switches to legacy mode (line 1 set scalable mode)"},
    {"2606@1796156724.938074:vtd_reg_dmar_root addr 0x28b6000 scalable 2\n", "in.log:1: malformed vtd_reg_dmar_root"},
    /* not present, reserved bits (low 8:5, high 63:21) */
    {ROOT_SM CC_SM("0x0", "0x28ba400") UPD("818990", "0xffffe000", "0x1c77d003", "0x3"),
     "in.log:2: scalable-mode context entry for sid 0x8 is not present (low 0x28ba400)"},
    {ROOT_SM CC_SM("0x0", "0x28ba421") UPD("818990", "0xffffe000", "0x1c77d003", "0x3"),
     "in.log:2: scalable-mode context entry for sid 0x8 has reserved bits set (high 0x0 low 0x28ba421"},
    {ROOT_SM CC_SM("0x200000", "0x28ba401") UPD("818990", "0xffffe000", "0x1c77d003", "0x3"),
     "in.log:2: scalable-mode context entry for sid 0x8 has reserved bits set (high 0x200000"},
    /* the domain changes with no context-cache invalidation: the PASID entry
     * was rewritten behind the log's back */
    {ROOT_SM CC_SM("0x0", "0x28ba401") UPD("818990", "0xffffe000", "0x1c77d003", "0x3")
         UPD("819000", "0xffffd000", "0x2731003", "0x4"),
     "in.log:4: translation for sid 0x8 in domain 0x4, but line 3 (the first translation after its context entry) "
     "had domain 0x3"},
    /* beyond the 3-level second level */
    {ROOT_SM CC_SM("0x0", "0x28ba401") UPD("818990", "0x8000000000", "0x1c77d003", "0x3"),
     "in.log:3: scalable-mode translation for sid 0x8 at iova 0x8000000000: at or above 2^39"},
    /* descriptors with no record: PASID cache (type 7), PASID-based IOTLB
     * (type 6), device TLB (type 3) */
    {ROOT_SM CC_SM("0x0", "0x28ba401") UPD("818990", "0xffffe000", "0x1c77d003", "0x3")
         "2606@1796156727.000000:vtd_inv_desc invalidate desc type pasid-cache high 0x0 low 0x30017\n",
     "in.log:4: PASID-cache invalidation descriptor (low 0x30017): not converted"},
    {ROOT_SM CC_SM("0x0", "0x28ba401") UPD("818990", "0xffffe000", "0x1c77d003", "0x3")
         "2606@1796156727.000000:vtd_inv_desc invalidate desc type p-iotlb high 0x0 low 0x30016\n",
     "in.log:4: PASID-based IOTLB invalidation descriptor (low 0x30016): not converted"},
    {ROOT_SM CC_SM("0x0", "0x28ba401") UPD("818990", "0xffffe000", "0x1c77d003", "0x3")
         "2606@1796156727.000000:vtd_inv_desc invalidate desc type device-tlb high 0x0 low 0x3\n",
     "in.log:4: device-TLB invalidation descriptor (type 3, low 0x3): not converted"},
    {ROOT_SM CC_SM("0x0", "0x28ba401") UPD("818990", "0xffffe000", "0x1c77d003", "0x3")
         "2606@1796156727.000000:vtd_inv_desc_iotlb_pasid iotlb invalidate domain 0x3 pasid 0x0\n",
     "in.log:4: PASID-based IOTLB invalidation: not converted"},
    {ROOT_SM "2606@1796156727.000000:vtd_inv_desc invalidate desc type iotlb high 0x0\n",
     "in.log:2: malformed vtd_inv_desc event"},
    /* a scalable-format entry in a log without the root event reads as a
     * legacy one and fails, saying why */
    {CC_SM("0x0", "0x28ba401") UPD("818990", "0xffffe000", "0x1c77d003", "0x3"),
     "in.log:1: context entry for sid 0x8 has address width code 0 (expected 1..3; a scalable-mode context entry? "
     "the log needs the vtd_reg_dmar_root event"},
};

START_TEST(bad_input)
{
    char err[512] = "";
    ck_assert_int_eq(tu_qemu_convert(bad_logs[_i].log, "out.itr", NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, bad_logs[_i].want), "case %d: message \"%s\" lacks \"%s\"", _i, err, bad_logs[_i].want);
    ck_assert_msg(strstr(err, tu_path("in.log")), "case %d: message \"%s\" does not name the file", _i, err);
    ck_assert(!tu_exists(tu_path("out.itr")));
}
END_TEST

/* Expected: a legacy log converts to the same bytes with or without the
 * vtd_reg_dmar_root event (scalable 0) and the descriptor events, which make
 * no records and do not move time zero. */
START_TEST(legacy_root_event_changes_nothing)
{
#define CC_LEG "2604@1796156726.818976:vtd_iotlb_cc_update IOTLB context update bus 0x0 devfn 0x8 high 0x301 low 0x2751001 gen 0 -> gen 1\n"
    const char *plain = CC_LEG UPD("818990", "0xffffe000", "0x1c77d003", "0x3")
        "2606@1796156726.819100:vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x3 addr 0xffffe000 mask 0x0\n";
    const char *with = ROOT_LEGACY CC_LEG UPD("818990", "0xffffe000", "0x1c77d003", "0x3")
        "2606@1796156726.819099:vtd_inv_desc invalidate desc type iotlb high 0xffffe000 low 0x300f2\n"
        "2606@1796156726.819100:vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x3 addr 0xffffe000 mask 0x0\n"
        "2606@1796156726.819110:vtd_inv_desc invalidate desc type pasid-cache high 0x0 low 0x30017\n";
    char err[512] = "";
    ck_assert_msg(tu_qemu_convert(plain, "a.itr", NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(tu_qemu_convert(with, "b.itr", NULL, err, sizeof err) == 0, "%s", err);
    size_t na, nb;
    char *a = tu_read_file(tu_path("a.itr"), &na), *b = tu_read_file(tu_path("b.itr"), &nb);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(na, nb);
    ck_assert_int_eq(memcmp(a, b, na), 0);
    free(a);
    free(b);
#undef CC_LEG
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("qemu_vtd_sm");
    TCase *tr = tcase_create("records");
    tcase_add_checked_fixture(tr, tu_setup, tu_teardown);
    tcase_add_test(tr, scalable_attach);
    tcase_add_test(tr, scalable_rid_pasid_flags);
    tcase_add_test(tr, scalable_reload);
    suite_add_tcase(s, tr);
    TCase *tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_loop_test(tc, bad_input, 0, (int)(sizeof bad_logs / sizeof bad_logs[0]));
    tcase_add_test(tc, legacy_root_event_changes_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ims_check_run(suite());
}
