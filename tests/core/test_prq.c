/* The page request queue (iommusim/prq.h): the descriptor's bytes in memory
 * against VT-d 7.4.1.1's layout (written out here bit by bit, not with the
 * model's encoder), the tail's wrap, overflow (PRS.PRO, counted, later
 * requests dropped until software clears it), PRE, and the IOMMU's own
 * responses to the last request of a group it did not queue. */
#include <check.h>

#include "ims_check.h"
#include "iommusim/prq.h"
#include "sm_fx.h"

#define PQ_BASE UINT64_C(0x7000000)
#define RID 0x0310u

static void open_pre(struct sx *x, bool pre)
{
    struct ims_iommu_cfg cfg;
    sx_cfg(&cfg);
    sx_open(x, &cfg);
    sx_ctx(x, RID, IMS_SMCE_PASIDE | IMS_SMCE_DTE | (pre ? IMS_SMCE_PRE : 0), 0, 0);
}

static struct ims_page_req req_at(uint64_t addr, uint16_t prg, bool lpig)
{
    return (struct ims_page_req){.rid = RID, .pasid = 5, .addr = addr, .read = true, .prg = prg, .lpig = lpig};
}

START_TEST(descriptor_bytes)
{
    struct sx x;
    open_pre(&x, true);
    struct ims_prq *q = ims_prq_create(x.mmu);
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(ims_prq_set_pqa(q, PQ_BASE | 0), 0);  /* PQS 0: 2^7 = 128 descriptors */
    ck_assert_uint_eq(ims_prq_entries(q), 128);
    const struct ims_page_req pr = {.rid = RID, .pasid = 0x12345, .addr = UINT64_C(0x7fff12345abc), .read = true,
                                    .write = true, .exec = true, .priv = true, .prg = 0x1a5, .lpig = true};
    struct ims_prq_outcome o;
    const uint64_t w0 = x.writes[IMS_MEM_FAULT];
    ck_assert_int_eq(ims_prq_request(q, &pr, &o), IMS_PRQ_QUEUED);
    ck_assert_uint_eq(o.desc_pa, PQ_BASE);
    ck_assert(!o.responded);
    ck_assert_uint_eq(x.writes[IMS_MEM_FAULT] - w0, 4);  /* four 64-bit words through the IOMMU's ops */
    /* qw0: type 1 [7:0], PP [8], RID [31:16], PASID [51:32], ER [52], PM [53]. */
    const uint64_t qw0 = 1u | UINT64_C(1) << 8 | (uint64_t)RID << 16 | UINT64_C(0x12345) << 32 | UINT64_C(1) << 52 |
                         UINT64_C(1) << 53;
    /* qw1: RR [0], WR [1], LPIG [2], PRG index [11:3], address [63:12]. */
    const uint64_t qw1 = 1u | 2u | 4u | (uint64_t)0x1a5 << 3 | UINT64_C(0x7fff12345000);
    ck_assert_uint_eq(sx_rd(&x, PQ_BASE), qw0);
    ck_assert_uint_eq(sx_rd(&x, PQ_BASE + 8), qw1);
    ck_assert_uint_eq(sx_rd(&x, PQ_BASE + 16), 0);
    ck_assert_uint_eq(sx_rd(&x, PQ_BASE + 24), 0);
    ck_assert_uint_eq(ims_prq_tail(q), 32);
    ck_assert_uint_eq(ims_prq_status(q), IMS_PRS_PPR);
    /* Software's decode gives the request back. */
    uint64_t qw[4] = {qw0, qw1, 0, 0};
    struct ims_page_req back;
    ck_assert_int_eq(ims_prq_decode(qw, &back), 0);
    ck_assert_uint_eq(back.rid, RID);
    ck_assert_uint_eq(back.pasid, 0x12345);
    ck_assert_uint_eq(back.addr, UINT64_C(0x7fff12345000));
    ck_assert(back.read && back.write && back.exec && back.priv && back.lpig);
    ck_assert_uint_eq(back.prg, 0x1a5);
    /* Without a PASID: PP clear, PASID field 0. */
    const struct ims_page_req np = {.rid = RID, .pasid = IMS_NO_PASID, .addr = 0x5000, .write = true};
    ck_assert_int_eq(ims_prq_request(q, &np, &o), IMS_PRQ_QUEUED);
    ck_assert_uint_eq(sx_rd(&x, PQ_BASE + 32), 1u | (uint64_t)RID << 16);
    ck_assert_uint_eq(sx_rd(&x, PQ_BASE + 40), 2u | 0x5000);
    qw[0] = 2;  /* not type 1 */
    ck_assert_int_eq(ims_prq_decode(qw, &back), -1);
    ims_prq_destroy(q);
    sx_close(&x);
}
END_TEST

/* 128 slots, one kept free: 127 requests fit; software consumes and the
 * tail wraps to offset 0, then on. */
START_TEST(queue_wrap)
{
    struct sx x;
    open_pre(&x, true);
    struct ims_prq *q = ims_prq_create(x.mmu);
    ck_assert_int_eq(ims_prq_set_pqa(q, PQ_BASE), 0);
    struct ims_prq_outcome o;
    for (unsigned i = 0; i < 127; i++) {
        const struct ims_page_req pr = req_at(UINT64_C(0x100000) + i * 4096u, (uint16_t)i, false);
        ck_assert_int_eq(ims_prq_request(q, &pr, &o), IMS_PRQ_QUEUED);
        ck_assert_uint_eq(o.desc_pa, PQ_BASE + 32u * i);
    }
    ck_assert_uint_eq(ims_prq_tail(q), 127u * 32u);
    ck_assert_int_eq(ims_prq_set_head(q, 100u * 32u), 0);  /* software read 100 */
    struct ims_page_req pr = req_at(0x900000, 1, false);
    ck_assert_int_eq(ims_prq_request(q, &pr, &o), IMS_PRQ_QUEUED);
    ck_assert_uint_eq(o.desc_pa, PQ_BASE + 127u * 32u);  /* the last slot */
    ck_assert_uint_eq(ims_prq_tail(q), 0);                /* wrapped */
    pr = req_at(0xa00000, 2, false);
    ck_assert_int_eq(ims_prq_request(q, &pr, &o), IMS_PRQ_QUEUED);
    ck_assert_uint_eq(o.desc_pa, PQ_BASE);  /* over the first, consumed, descriptor */
    ck_assert_uint_eq(sx_rd(&x, PQ_BASE + 8) & ~UINT64_C(0xfff), 0xa00000);
    ck_assert_uint_eq(ims_prq_tail(q), 32);
    ck_assert_int_eq(ims_prq_set_head(q, 33), -1);    /* not a descriptor boundary */
    ck_assert_int_eq(ims_prq_set_head(q, 4096), -1);  /* beyond the queue */
    ck_assert_uint_eq(ims_prq_stats(q)->queued, 129);
    ck_assert_uint_eq(ims_prq_stats(q)->overflows, 0);
    ims_prq_destroy(q);
    sx_close(&x);
}
END_TEST

/* The full queue: PRO set and counted, nothing written; later requests are
 * dropped while PRO stays set; the last request of a group is answered by
 * the IOMMU itself; software clears PRO (RW1C) and requests queue again. */
START_TEST(overflow_counted)
{
    struct sx x;
    open_pre(&x, true);
    struct ims_prq *q = ims_prq_create(x.mmu);
    ck_assert_int_eq(ims_prq_set_pqa(q, PQ_BASE | 1), 0);  /* PQS 1: 256 descriptors */
    ck_assert_uint_eq(ims_prq_entries(q), 256);
    struct ims_prq_outcome o;
    for (unsigned i = 0; i < 255; i++) {
        const struct ims_page_req pr = req_at(UINT64_C(0x100000) + i * 4096u, 0, false);
        ck_assert_int_eq(ims_prq_request(q, &pr, &o), IMS_PRQ_QUEUED);
    }
    const uint64_t w = x.writes[IMS_MEM_FAULT];
    struct ims_page_req pr = req_at(0x800000, 7, true);
    ck_assert_int_eq(ims_prq_request(q, &pr, &o), IMS_PRQ_OVERFLOW);
    ck_assert_uint_eq(x.writes[IMS_MEM_FAULT], w);  /* nothing written */
    ck_assert_uint_eq(ims_prq_status(q), IMS_PRS_PPR | IMS_PRS_PRO);
    ck_assert(o.responded);
    ck_assert_uint_eq(o.resp, IMS_PRG_SUCCESS);
    ck_assert_uint_eq(ims_prq_stats(q)->overflows, 1);
    /* Software drains everything, but PRO is still set: dropped, not counted as overflow. */
    ck_assert_int_eq(ims_prq_set_head(q, ims_prq_tail(q)), 0);
    pr = req_at(0x801000, 8, false);
    ck_assert_int_eq(ims_prq_request(q, &pr, &o), IMS_PRQ_DROPPED);
    ck_assert(!o.responded);  /* not the last of its group: no response owed */
    ck_assert_uint_eq(ims_prq_stats(q)->dropped, 1);
    ck_assert_uint_eq(ims_prq_stats(q)->overflows, 1);
    ims_prq_clear_status(q, IMS_PRS_PRO);
    ck_assert_uint_eq(ims_prq_status(q), IMS_PRS_PPR);
    ck_assert_int_eq(ims_prq_request(q, &pr, &o), IMS_PRQ_QUEUED);
    ck_assert_uint_eq(ims_prq_stats(q)->requests, 258);
    ck_assert_uint_eq(ims_prq_stats(q)->auto_responses, 1);
    ims_prq_destroy(q);
    sx_close(&x);
}
END_TEST

/* PRE clear in the context entry, no queue, or legacy mode: refused. */
START_TEST(pre_required)
{
    struct sx x;
    open_pre(&x, false);
    struct ims_prq *q = ims_prq_create(x.mmu);
    ck_assert_int_eq(ims_prq_set_pqa(q, PQ_BASE), 0);
    struct ims_prq_outcome o;
    struct ims_page_req pr = req_at(0x100000, 3, true);
    ck_assert_int_eq(ims_prq_request(q, &pr, &o), IMS_PRQ_REFUSED);
    ck_assert(o.responded);
    ck_assert_uint_eq(o.resp, IMS_PRG_INVALID_REQUEST);
    ck_assert_uint_eq(ims_prq_tail(q), 0);
    /* The same device with PRE set queues. */
    sx_ctx(&x, RID, IMS_SMCE_PASIDE | IMS_SMCE_DTE | IMS_SMCE_PRE, 0, 0);
    ck_assert_int_eq(ims_prq_request(q, &pr, &o), IMS_PRQ_QUEUED);
    /* Another device, no context entry: refused. */
    pr.rid = 0x0420;
    ck_assert_int_eq(ims_prq_request(q, &pr, &o), IMS_PRQ_REFUSED);
    /* No queue: refused. */
    ck_assert_int_eq(ims_prq_set_pqa(q, 0), 0);
    pr.rid = RID;
    ck_assert_int_eq(ims_prq_request(q, &pr, &o), IMS_PRQ_REFUSED);
    ck_assert_int_eq(ims_prq_set_pqa(q, PQ_BASE | 0x10), -1);  /* bits 11:3 reserved */
    ck_assert_uint_eq(ims_prq_stats(q)->refused, 3);
    ims_prq_destroy(q);
    sx_close(&x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prq");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, descriptor_bytes);
    tcase_add_test(tc, queue_wrap);
    tcase_add_test(tc, overflow_counted);
    tcase_add_test(tc, pre_required);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
