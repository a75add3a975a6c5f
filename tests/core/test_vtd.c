/* VT-d encodings: CAP/ECAP field positions, caps checks, fault record
 * layout, fault reason names and qualification. */
#include <check.h>
#include "ims_check.h"
#include <string.h>

#include "iommusim/vtd.h"

/* Defaults encode to the documented fields. */
START_TEST(cap_reg_fields)
{
    struct ims_caps c;
    ims_caps_default(&c);
    c.cm = true;
    uint64_t r = ims_caps_cap_reg(&c);
    ck_assert_uint_eq(r & 7, 6);                     /* ND */
    ck_assert_uint_eq((r >> 7) & 1, 1);              /* CM */
    ck_assert_uint_eq((r >> 8) & 0x1f, 0x6);         /* SAGAW 39+48 */
    ck_assert_uint_eq((r >> 16) & 0x3f, 47);         /* MGAW - 1 */
    ck_assert_uint_eq((r >> 24) & 0x3ff, 0x22);      /* FRO */
    ck_assert_uint_eq((r >> 34) & 0xf, 3);           /* SLLPS 2M+1G */
    ck_assert_uint_eq((r >> 39) & 1, 1);             /* PSI */
    ck_assert_uint_eq((r >> 40) & 0xff, 255);        /* NFR - 1 */
    ck_assert_uint_eq((r >> 48) & 0x3f, 18);         /* MAMV */
    uint64_t e = ims_caps_ecap_reg(&c);
    ck_assert_uint_eq(e, (1u << 2) | (1u << 6));     /* DT, PT */
    c.dt = c.pt = false;
    ck_assert_uint_eq(ims_caps_ecap_reg(&c), 0);
    ck_assert_uint_eq(ims_caps_domains(&c), 65536);
}
END_TEST

/* Each bad field is named. */
START_TEST(caps_check)
{
    struct ims_caps c;
    char err[160];
    ims_caps_default(&c);
    ck_assert_int_eq(ims_caps_check(&c, err, sizeof err), 0);
    c.sagaw = 0x10;
    ck_assert_int_eq(ims_caps_check(&c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "sagaw"));
    ims_caps_default(&c);
    c.haw = 60;
    ck_assert_int_eq(ims_caps_check(&c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "haw"));
    ims_caps_default(&c);
    c.nfr = 0;
    ck_assert_int_eq(ims_caps_check(&c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "nfr"));
    ims_caps_default(&c);
    c.nd = 7;
    ck_assert_int_eq(ims_caps_check(&c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "nd"));
}
END_TEST

/* Record bits: FI 63:12, SID 79:64, PP 95, FR 103:96, PV 123:104, T 126, F 127. */
START_TEST(fault_record_layout)
{
    struct ims_fault_record r = {.addr = 0x123456789abcull, .sid = 0x0a10, .reason = 0xc, .is_read = true,
                                 .pasid_present = true, .pasid = 0x54321};
    uint64_t w[2];
    ims_fault_record_encode(&r, w);
    ck_assert_uint_eq(w[0], 0x123456789000ull);
    ck_assert_uint_eq(w[1] & 0xffff, 0x0a10);
    ck_assert_uint_eq((w[1] >> 31) & 1, 1);
    ck_assert_uint_eq((w[1] >> 32) & 0xff, 0xc);
    ck_assert_uint_eq((w[1] >> 40) & 0xfffff, 0x54321);
    ck_assert_uint_eq((w[1] >> 62) & 1, 1);
    ck_assert_uint_eq(w[1] >> 63, 1);
    struct ims_fault_record d;
    ck_assert(ims_fault_record_decode(w, &d));
    ck_assert_uint_eq(d.addr, 0x123456789000ull);
    ck_assert_uint_eq(d.sid, 0x0a10);
    ck_assert_uint_eq(d.reason, 0xc);
    ck_assert(d.is_read && d.pasid_present);
    ck_assert_uint_eq(d.pasid, 0x54321);
    w[1] &= ~(1ull << 63);
    ck_assert(!ims_fault_record_decode(w, &d)); /* F clear: no record */
}
END_TEST

/* Qualified: 2-7, c, d (QEMU's table); not: 1, 8, 9, a, b. Names known for 0..d. */
/* Setters write exactly their field: every field round-trips at its extreme
 * values, the others are left as they were, reserved bits stay clear. */
START_TEST(entry_setters)
{
    struct ims_root_entry re = {0, 0};
    ims_root_set_ctp(&re, UINT64_C(0x000fffffffffffff)); /* low 12 bits dropped */
    ck_assert_uint_eq(ims_root_ctp(&re), UINT64_C(0x000ffffffffff000));
    ck_assert(!ims_root_present(&re));
    ims_root_set_present(&re, true);
    ck_assert(ims_root_present(&re));
    ck_assert_uint_eq(re.lo & IMS_ROOT_LO_RSVD, 0);
    ck_assert_uint_eq(re.lo, UINT64_C(0x000ffffffffff001));
    ck_assert_uint_eq(re.hi, 0);
    ck_assert_uint_eq(ims_root_offset(0xff), 0xff0);

    struct ims_ctx_entry ce = {0, 0};
    ims_ctx_set_slptptr(&ce, UINT64_C(0x123456789abcdfff));
    ims_ctx_set_tt(&ce, IMS_TT_PASSTHROUGH);
    ims_ctx_set_fpd(&ce, true);
    ims_ctx_set_aw(&ce, IMS_AW_57);
    ims_ctx_set_did(&ce, 0xffff);
    ims_ctx_set_present(&ce, true);
    ck_assert_uint_eq(ce.lo, UINT64_C(0x123456789abcd00b)); /* P | FPD | TT=2 | SLPTPTR */
    ck_assert_uint_eq(ce.hi, UINT64_C(0x0000000000ffff03)); /* AW=3 | DID */
    ck_assert_uint_eq(ce.lo & IMS_CTX_LO_RSVD, 0);
    ck_assert_uint_eq(ce.hi & IMS_CTX_HI_RSVD, 0);
    ck_assert(ims_ctx_present(&ce) && ims_ctx_fpd(&ce));
    ck_assert_uint_eq(ims_ctx_tt(&ce), IMS_TT_PASSTHROUGH);
    ck_assert_uint_eq(ims_ctx_aw(&ce), IMS_AW_57);
    ck_assert_uint_eq(ims_ctx_did(&ce), 0xffff);
    /* Clearing one field leaves the others. */
    ims_ctx_set_fpd(&ce, false);
    ims_ctx_set_did(&ce, 0x1234);
    ims_ctx_set_tt(&ce, IMS_TT_UNTRANSLATED);
    ck_assert_uint_eq(ce.lo, UINT64_C(0x123456789abcd001));
    ck_assert_uint_eq(ce.hi, UINT64_C(0x0000000000123403));
    ims_ctx_set_present(&ce, false);
    ck_assert(!ims_ctx_present(&ce));
    ck_assert_uint_eq(ims_ctx_slptptr(&ce), UINT64_C(0x123456789abcd000));
    ck_assert_uint_eq(ims_ctx_offset(0x12), 0x120);
}
END_TEST

START_TEST(fault_reasons)
{
    static const bool q[14] = {0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
    for (unsigned i = 0; i < 14; i++) {
        ck_assert_int_eq(ims_fault_reason_qualified(i), q[i]);
        ck_assert_ptr_nonnull(ims_fault_reason_name(i));
    }
    ck_assert_ptr_null(ims_fault_reason_name(0xe));
    ck_assert_str_eq(ims_fault_reason_name(IMS_FR_ROOT_ENTRY_P), "root-entry-not-present");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vtd");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, cap_reg_fields);
    tcase_add_test(tc, caps_check);
    tcase_add_test(tc, fault_record_layout);
    tcase_add_test(tc, fault_reasons);
    tcase_add_test(tc, entry_setters);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
