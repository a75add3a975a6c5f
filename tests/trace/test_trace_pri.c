/* Page requests (PCIe PRI) in the functional replay (docs/vtd.md, "Page
 * requests"; the contract in replay.h): a device attached `sm dte pre`
 * sends each part of a DMA with a PASID as an ATS translation request; a
 * part without the access is held and sent as a page request (one group per
 * record, LPIG on the last); the OS's pmap and pgresp make the device retry
 * it. The queue's descriptors are decoded from memory, overflow is answered
 * by the IOMMU, and impossible sequences give their messages. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include "ims_check.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/mem.h"
#include "iommusim/prq.h"
#include "iommusim/replay.h"
#include "iommusim/trace.h"
#include "util.h"

static char err[1024];

#define MAXD 1024
struct result {
    unsigned n; /* parts seen (final results), in order */
    uint64_t iova[MAXD];
    uint64_t pa[MAXD];
    uint8_t fault[MAXD];
    int seen_at[MAXD]; /* the record index being applied when the part was seen */
    int cur;           /* the record index being applied */
    char ctl_err[512]; /* the first control-record error */
    int ctl_err_line;  /* its record index, -1 if none */
    char dma_err[512]; /* ims_replay_error() after a DMA record */
    int dma_err_line;
    char fin_err[512]; /* ims_replay_finish() */
    int fin_rc;
    struct ims_replay_stats st;
    struct ims_stats core;
    uint32_t prs; /* PRS at the end */
    uint64_t pqh, pqt;
    uint64_t desc[8][4]; /* the queue's first descriptors, as in memory */
};

static void seen(void *ctx, const struct ims_rec *rec, const struct ims_req *req, const struct ims_xlate *x, bool ok)
{
    struct result *r = ctx;
    (void)rec;
    (void)ok;
    if (r->n >= MAXD)
        return;
    r->iova[r->n] = req->iova;
    r->pa[r->n] = x->pa;
    r->fault[r->n] = (uint8_t)x->fault;
    r->seen_at[r->n] = r->cur;
    r->n++;
}

/* Replays text through the functional core, with pri.queue_entries
 * `entries`, stopping at the first error. */
static void replay_text(const char *text, uint32_t entries, struct result *res)
{
    const char *p = tu_path("t.itt");
    ck_assert_int_eq(tu_write_file(p, text, strlen(text)), 0);
    struct ims_trace_reader *r = ims_trace_open(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    struct ims_replay_cfg cfg;
    ims_replay_cfg_default(&cfg);
    cfg.prq_entries = entries;
    struct ims_replay *rp = ims_replay_create(ims_trace_header(r), &cfg, NULL, NULL, err, sizeof err);
    ck_assert_msg(rp != NULL, "%s", err);
    memset(res, 0, sizeof *res);
    res->ctl_err_line = res->dma_err_line = -1;
    struct ims_rec rec;
    int rc, i = 0;
    bool stop = false;
    while (!stop && (rc = ims_trace_next(r, &rec)) == 1) {
        res->cur = i;
        if (rec.kind == IMS_REC_DMA) {
            ims_replay_dma_seen(rp, &rec, seen, res);
            if (ims_replay_error(rp)) {
                snprintf(res->dma_err, sizeof res->dma_err, "%s", ims_replay_error(rp));
                res->dma_err_line = i;
                stop = true;
            }
        } else if (ims_replay_control(rp, &rec, res->ctl_err, sizeof res->ctl_err) < 0) {
            res->ctl_err_line = i;
            stop = true;
        }
        i++;
    }
    if (!stop) {
        ck_assert_msg(rc >= 0, "%s", ims_trace_error(r));
        res->fin_rc = ims_replay_finish(rp, res->fin_err, sizeof res->fin_err);
    }
    res->st = *ims_replay_stats(rp);
    res->core = *ims_iommu_stats(ims_replay_iommu(rp));
    struct ims_prq *q = ims_replay_prq(rp);
    ck_assert_ptr_nonnull(q);
    res->prs = ims_prq_status(q);
    res->pqh = ims_prq_head(q);
    res->pqt = ims_prq_tail(q);
    for (unsigned d = 0; d < 8; d++)
        for (unsigned w = 0; w < 4; w++)
            res->desc[d][w] = ims_mem_read64(ims_replay_mem(rp), IMS_REPLAY_PRQ_BASE + d * 32u + w * 8u);
    ims_replay_destroy(rp);
    ims_trace_close(r);
}

/* A growing text buffer. */
struct sb {
    char *s;
    size_t len, cap;
};
static __attribute__((format(printf, 2, 3))) void sb_add(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char line[256];
    const int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ck_assert(n > 0 && (size_t)n < sizeof line);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        ck_assert_ptr_nonnull(b->s);
    }
    memcpy(b->s + b->len, line, (size_t)n + 1);
    b->len += (size_t)n;
}

/* A device with PRI, a process bound at PASID 1, page 0x10000 mapped. */
#define PRI_HDR                                                                                                        \
    "version 1\nmode scalable\n"                                                                                       \
    "attach rid=03:00.0 did=1 levels=4 tt=0 sm dte pre\n"                                                              \
    "proc pid=1 levels=4\n"                                                                                            \
    "pmap pid=1 va=0x10000 pa=0x900000 size=0x1000 prot=rw\n"                                                          \
    "bind rid=03:00.0 pasid=1 pid=1 did=10\n"

/* The hold and the retry: the record's mapped part translates at once;
 * its unmapped part is held (not seen, not counted) until the pgresp after
 * the OS's pmap, then retried to the recorded address: 0 mismatches. */
START_TEST(pri_hold_and_retry)
{
    struct result r;
    replay_text(PRI_HDR "dma t=10 rid=03:00.0 iova=0x10ff0 size=0x20 w pasid=1 expect=0x900ff0\n" /* record 4 */
                        "pmap pid=1 va=0x11000 pa=0x901000 size=0x1000 prot=rw\n"
                        "pgresp t=20 rid=03:00.0 pasid=1 prg=0 resp=success\n", /* record 6 */
                2048, &r);
    ck_assert_msg(r.ctl_err_line < 0, "%s", r.ctl_err);
    ck_assert_msg(r.fin_rc == 0, "%s", r.fin_err);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_uint_eq(r.iova[0], 0x10ff0);
    ck_assert_int_eq(r.seen_at[0], 4);
    ck_assert_uint_eq(r.iova[1], 0x11000); /* held until the pgresp */
    ck_assert_int_eq(r.seen_at[1], 6);
    ck_assert_uint_eq(r.fault[1], 0);
    ck_assert_uint_eq(r.pa[1], 0x901000);
    ck_assert_uint_eq(r.st.mismatches, 0);
    ck_assert_uint_eq(r.st.checked, 2);
    ck_assert_uint_eq(r.st.requests, 2);
    ck_assert_uint_eq(r.st.dma, 1);
    ck_assert_uint_eq(r.st.unexpected_faults, 0);
    ck_assert_uint_eq(r.core.faults, 0); /* the translation request recorded none */
    ck_assert_uint_ge(r.core.ats_no_access, 1);
    ck_assert_uint_eq(r.st.pri.page_requests, 1);
    ck_assert_uint_eq(r.st.pri.groups, 1);
    ck_assert_uint_eq(r.st.pri.queued, 1);
    ck_assert_uint_eq(r.st.pri.resp_success, 1);
    ck_assert_uint_eq(r.st.pri.retries, 1);
    ck_assert_uint_eq(r.st.pri.retry_no_access, 0);
    ck_assert_uint_eq(r.st.pri.queue_entries, 2048);
    ck_assert_uint_eq(r.pqt, 32); /* one descriptor written ... */
    ck_assert_uint_eq(r.pqh, 32); /* ... and read by the OS */
}
END_TEST

/* A record with two faulting parts forms one group: two descriptors in the
 * queue, the same group index, LPIG on the last; the next record's group is
 * index 1. Decoded from the replay's memory. */
START_TEST(pri_group_two_parts_lpig)
{
    struct result r;
    replay_text(PRI_HDR "dma t=10 rid=03:00.0 iova=0x10000 size=0x3000 w pasid=1 expect=0x900000\n"
                        "dma t=11 rid=03:00.0 iova=0x20000 size=8 r pasid=1 expect=0x950000\n"
                        "pmap pid=1 va=0x11000 pa=0x901000 size=0x2000 prot=rw\n"
                        "pmap pid=1 va=0x20000 pa=0x950000 size=0x1000 prot=rw\n"
                        "pgresp t=20 rid=03:00.0 pasid=1 prg=1 resp=success\n"
                        "pgresp t=21 rid=03:00.0 pasid=1 prg=0 resp=success\n",
                2048, &r);
    ck_assert_msg(r.ctl_err_line < 0, "%s", r.ctl_err);
    ck_assert_msg(r.fin_rc == 0, "%s", r.fin_err);
    ck_assert_uint_eq(r.st.pri.page_requests, 3);
    ck_assert_uint_eq(r.st.pri.groups, 2);
    ck_assert_uint_eq(r.st.mismatches, 0);
    ck_assert_uint_eq(r.st.checked, 4);
    struct ims_page_req pr[3];
    for (unsigned d = 0; d < 3; d++)
        ck_assert_int_eq(ims_prq_decode(r.desc[d], &pr[d]), 0);
    ck_assert_uint_eq(pr[0].rid, 0x0300);
    ck_assert_uint_eq(pr[0].pasid, 1);
    ck_assert_uint_eq(pr[0].addr, 0x11000);
    ck_assert(pr[0].write && !pr[0].read);
    ck_assert_uint_eq(pr[0].prg, 0);
    ck_assert(!pr[0].lpig);
    ck_assert_uint_eq(pr[1].addr, 0x12000);
    ck_assert_uint_eq(pr[1].prg, 0);
    ck_assert(pr[1].lpig);
    ck_assert_uint_eq(pr[2].addr, 0x20000);
    ck_assert(pr[2].read && !pr[2].write);
    ck_assert_uint_eq(pr[2].prg, 1);
    ck_assert(pr[2].lpig);
    ck_assert_uint_eq(r.desc[3][0], 0); /* nothing more written */
    /* The retries come in group order: prg 1's part at its pgresp (record 8),
     * then prg 0's two (record 9), whose answer also moved PQH past all three. */
    ck_assert_uint_eq(r.n, 4);
    ck_assert_uint_eq(r.iova[1], 0x20000);
    ck_assert_int_eq(r.seen_at[1], 8);
    ck_assert_uint_eq(r.iova[2], 0x11000);
    ck_assert_uint_eq(r.iova[3], 0x12000);
    ck_assert_int_eq(r.seen_at[3], 9);
    ck_assert_uint_eq(r.pqh, 96);
    ck_assert_uint_eq(r.pqt, 96);
}
END_TEST

/* resp invalid or failure: the held parts go untranslated and fault (the
 * page is still not mapped: first-level not present); the recording said
 * they translated, so each is a mismatch. */
START_TEST(pri_resp_invalid_failure_fault)
{
    static const char *const codes[] = {"invalid", "failure"};
    char text[1024];
    snprintf(text, sizeof text,
             PRI_HDR "dma t=10 rid=03:00.0 iova=0x11000 size=8 r pasid=1 expect=0x901000\n"
                     "pgresp t=20 rid=03:00.0 pasid=1 prg=0 resp=%s\n",
             codes[_i]);
    struct result r;
    replay_text(text, 2048, &r);
    ck_assert_msg(r.ctl_err_line < 0, "%s", r.ctl_err);
    ck_assert_msg(r.fin_rc == 0, "%s", r.fin_err);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_uint_eq(r.fault[0], IMS_FR_SM_FL_P);
    ck_assert_uint_eq(r.st.mismatches, 1);
    ck_assert_uint_eq(r.st.pri.retries, 0);
    ck_assert_uint_eq(r.st.pri.untranslated, 1);
    ck_assert_uint_eq(_i == 0 ? r.st.pri.resp_invalid : r.st.pri.resp_failure, 1);
    ck_assert_uint_eq(r.core.faults, 1);
}
END_TEST

/* A success whose page the OS did not map: the retry gets no access again
 * and goes untranslated (fault), no second page request. */
START_TEST(pri_retry_no_access)
{
    struct result r;
    replay_text(PRI_HDR "dma t=10 rid=03:00.0 iova=0x11000 size=8 r pasid=1\n"
                        "pgresp t=20 rid=03:00.0 pasid=1 prg=0 resp=success\n",
                2048, &r);
    ck_assert_msg(r.ctl_err_line < 0, "%s", r.ctl_err);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_uint_eq(r.fault[0], IMS_FR_SM_FL_P);
    ck_assert_uint_eq(r.st.pri.retries, 1);
    ck_assert_uint_eq(r.st.pri.retry_no_access, 1);
    ck_assert_uint_eq(r.st.pri.page_requests, 1);
}
END_TEST

/* A pgresp for no outstanding group, a pgresp with another PASID, and the
 * end of the trace with a group outstanding: errors naming what is wrong. */
START_TEST(pri_bad_sequences)
{
    struct result r;
    replay_text(PRI_HDR "pgresp t=20 rid=03:00.0 pasid=1 prg=7 resp=success\n", 2048, &r);
    ck_assert_int_eq(r.ctl_err_line, 4);
    ck_assert_str_eq(r.ctl_err, "pgresp: no page request group 7 outstanding for 03:00.0");

    replay_text(PRI_HDR "dma t=10 rid=03:00.0 iova=0x11000 size=8 r pasid=1\n"
                        "pgresp t=20 rid=03:00.0 pasid=2 prg=0 resp=success\n",
                2048, &r);
    ck_assert_int_eq(r.ctl_err_line, 5);
    ck_assert_str_eq(r.ctl_err, "pgresp: page request group 0 of 03:00.0 is of pasid 1, the response names 2");

    replay_text(PRI_HDR "dma t=10 rid=03:00.0 iova=0x10000 size=8 r pasid=1\n"
                        "dma t=11 rid=03:00.0 iova=0x11000 size=8 r pasid=1\n" /* record 5 */
                        "dma t=12 rid=03:00.0 iova=0x12000 size=8 r pasid=1\n",
                2048, &r);
    ck_assert_int_lt(r.ctl_err_line, 0);
    ck_assert_int_eq(r.fin_rc, -1);
    ck_assert_str_eq(r.fin_err, "record 5 (dma): page request group 0 of 03:00.0 pasid 1 has no pgresp before the "
                                "end of the trace");
    ck_assert_uint_eq(r.n, 1); /* the held parts were never seen */
}
END_TEST

/* 512 groups outstanding: the 513th record's group index comes round to
 * one still outstanding (a queue of 1024 holds them all). */
START_TEST(pri_too_many_groups)
{
    struct sb b = {0};
    sb_add(&b, "%s", PRI_HDR);
    for (unsigned i = 0; i < 513; i++)
        sb_add(&b, "dma t=%u rid=03:00.0 iova=0x%x size=8 r pasid=1\n", 10 + i, 0x100000 + i * 0x1000);
    struct result r;
    replay_text(b.s, 1024, &r);
    free(b.s);
    ck_assert_int_eq(r.dma_err_line, 4 + 512);
    ck_assert_str_eq(r.dma_err, "more than 512 page request groups outstanding for 03:00.0 (group 0, of record 4, "
                                "has no pgresp yet)");
    ck_assert_uint_eq(r.st.pri.groups, 512);
}
END_TEST

/* Queue overflow (pri.queue_entries 128: 127 descriptors fit, one slot stays
 * free): 200 records each with one unmapped page. The 128th request finds
 * the queue full (PRO set, an overflow), the 72 after it are dropped; the
 * IOMMU answers those 73 groups itself (Success): each part is retried once
 * at once, still unmapped, goes untranslated and faults (a mismatch: the
 * recording says it translated). Then the OS maps every page and answers
 * every group: the 127 queued ones retry and translate, the other 73
 * answers are stale. The last queued group's answer drains the queue and
 * clears PRO, so a later request is queued again. */
START_TEST(pri_queue_overflow)
{
    struct sb b = {0};
    sb_add(&b, "%s", PRI_HDR);
    const unsigned n = 200;
    for (unsigned i = 0; i < n; i++)
        sb_add(&b, "dma t=%u rid=03:00.0 iova=0x%x size=8 w pasid=1 expect=0x%x\n", 10 + i, 0x100000 + i * 0x1000,
               0x2000000 + i * 0x1000);
    sb_add(&b, "pmap pid=1 va=0x100000 pa=0x2000000 size=0x%x prot=rw\n", n * 0x1000);
    for (unsigned i = 0; i < n; i++)
        sb_add(&b, "pgresp t=%u rid=03:00.0 pasid=1 prg=%u resp=success\n", 1000 + i, i);
    sb_add(&b, "dma t=3000 rid=03:00.0 iova=0x400000 size=8 r pasid=1\n");
    struct result r;
    replay_text(b.s, 128, &r);
    free(b.s);
    ck_assert_msg(r.ctl_err_line < 0, "%s", r.ctl_err);
    ck_assert_int_lt(r.dma_err_line, 0);
    ck_assert_uint_eq(r.st.pri.page_requests, n + 1);
    ck_assert_uint_eq(r.st.pri.queued, 127 + 1);
    ck_assert_uint_eq(r.st.pri.overflows, 1);
    ck_assert_uint_eq(r.st.pri.dropped, 72);
    ck_assert_uint_eq(r.st.pri.auto_responses, 73);
    ck_assert_uint_eq(r.st.pri.resp_success, 127);
    ck_assert_uint_eq(r.st.pri.stale_responses, 73);
    ck_assert_uint_eq(r.st.pri.retries, 200);
    ck_assert_uint_eq(r.st.pri.retry_no_access, 73);
    ck_assert_uint_eq(r.st.mismatches, 73);
    ck_assert_uint_eq(r.st.checked, n);
    ck_assert_uint_eq(r.core.faults, 73);
    /* PRO cleared when the OS drained the queue: the last record's request
     * was queued (descriptor 127, at the wrap), not dropped. */
    ck_assert_uint_eq(r.prs & IMS_PRS_PRO, 0);
    ck_assert_uint_eq(r.pqh, 127 * 32);
    ck_assert_uint_eq(r.pqt, 0);
    /* ... and it has no pgresp: the end of the trace names it. */
    ck_assert_int_eq(r.fin_rc, -1);
    ck_assert_msg(strstr(r.fin_err, "page request group 200 of 03:00.0") != NULL, "%s", r.fin_err);
}
END_TEST

/* The core (VT-d 4.2.3): a scalable-mode translation request that finds the
 * first-level page not present completes with no access and records no
 * fault; one whose PASID entry is not present faults as before. */
START_TEST(pri_core_translation_request)
{
    const char *p = tu_path("t.itt");
    const char *text = PRI_HDR;
    ck_assert_int_eq(tu_write_file(p, text, strlen(text)), 0);
    struct ims_trace_reader *tr = ims_trace_open(p, err, sizeof err);
    ck_assert_msg(tr != NULL, "%s", err);
    struct ims_replay_cfg cfg;
    ims_replay_cfg_default(&cfg);
    struct ims_replay *rp = ims_replay_create(ims_trace_header(tr), &cfg, NULL, NULL, err, sizeof err);
    ck_assert_msg(rp != NULL, "%s", err);
    struct ims_rec rec;
    while (ims_trace_next(tr, &rec) == 1)
        ck_assert_int_eq(ims_replay_control(rp, &rec, err, sizeof err), 0);
    struct ims_iommu *mmu = ims_replay_iommu(rp);
    struct ims_req q = {
        .rid = 0x0300, .pasid = 1, .iova = 0x11000, .size = 8, .access = IMS_PERM_W, .at = IMS_AT_TRANSLATION};
    struct ims_xlate x;
    ck_assert_int_eq(ims_translate(mmu, &q, &x), 0);
    ck_assert_uint_eq(x.fault, 0);
    ck_assert_uint_eq(x.perm, 0);
    ck_assert_uint_eq(ims_iommu_stats(mmu)->faults, 0);
    ck_assert_uint_eq(ims_iommu_stats(mmu)->ats_no_access, 1);
    q.iova = 0x10000; /* mapped: the completion grants read and write */
    ck_assert_int_eq(ims_translate(mmu, &q, &x), 0);
    ck_assert_uint_eq(x.pa, 0x900000);
    ck_assert_uint_eq(x.perm, IMS_PERM_RW);
    q.pasid = 2; /* no PASID entry: a fault */
    ck_assert_int_eq(ims_translate(mmu, &q, &x), IMS_FR_SM_PTE_P);
    ck_assert_uint_eq(ims_iommu_stats(mmu)->faults, 1);
    ims_replay_destroy(rp);
    ims_trace_close(tr);
}
END_TEST

/* pri.queue_entries out of range or not a power of two: refused. */
START_TEST(pri_bad_queue_entries)
{
    static const uint32_t bad[] = {0, 64, 100, 3000, 32768};
    struct ims_trace_hdr h;
    memset(&h, 0, sizeof h);
    h.scalable = true;
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ims_replay_cfg cfg;
        ims_replay_cfg_default(&cfg);
        cfg.prq_entries = bad[i];
        ck_assert_ptr_null(ims_replay_create(&h, &cfg, NULL, NULL, err, sizeof err));
        ck_assert_msg(strstr(err, "prq_entries") && strstr(err, "power of two in [128, 16384]"), "%s", err);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("trace_pri");
    TCase *tc = tcase_create("pri");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, pri_hold_and_retry);
    tcase_add_test(tc, pri_group_two_parts_lpig);
    tcase_add_loop_test(tc, pri_resp_invalid_failure_fault, 0, 2);
    tcase_add_test(tc, pri_retry_no_access);
    tcase_add_test(tc, pri_bad_sequences);
    tcase_add_test(tc, pri_too_many_groups);
    tcase_add_test(tc, pri_queue_overflow);
    tcase_add_test(tc, pri_core_translation_request);
    tcase_add_test(tc, pri_bad_queue_entries);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ims_check_run(suite());
}
