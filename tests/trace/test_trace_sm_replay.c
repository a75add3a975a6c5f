/* Scalable-mode replay from traces (docs/vtd.md, "Scalable mode"): the
 * header's mode creates the core in scalable mode; ATTACH sm over a domain's
 * second level (RID_PASID) and pass-through; BIND first level, nested, second
 * level over a domain, pass-through and unbind; PMAP/PUNMAP; INV_PASID; DMA
 * with PASID, priv and exec. Each PGTT mode is checked by the address the
 * request comes out at, and impossible records give their messages. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include "ims_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/replay.h"
#include "iommusim/trace.h"
#include "util.h"

static char err[1024];

#define MAXD 64
struct result {
    unsigned n;               /* DMA records */
    uint64_t pa[MAXD];        /* first part's output address */
    uint8_t fault[MAXD];      /* first part's fault reason (0: none) */
    char ctl_err[512];        /* the first control-record error */
    int ctl_err_line;         /* its record index, -1 if none */
    struct ims_replay_stats st;
    struct ims_stats core;
};

static void seen(void *ctx, const struct ims_rec *rec, const struct ims_req *req, const struct ims_xlate *x, bool ok)
{
    struct result *r = ctx;
    (void)ok;
    if (req->iova != rec->iova || r->n >= MAXD)
        return;
    r->pa[r->n] = x->pa;
    r->fault[r->n] = (uint8_t)x->fault;
    r->n++;
}

/* Replays text (a whole trace), stopping at the first control error. */
static void replay_text(const char *text, struct result *res)
{
    const char *p = tu_path("t.itt");
    ck_assert_int_eq(tu_write_file(p, text, strlen(text)), 0);
    struct ims_trace_reader *r = ims_trace_open(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    struct ims_replay_cfg cfg;
    ims_replay_cfg_default(&cfg);
    struct ims_replay *rp = ims_replay_create(ims_trace_header(r), &cfg, NULL, NULL, err, sizeof err);
    ck_assert_msg(rp != NULL, "%s", err);
    ck_assert_int_eq(ims_replay_scalable(rp), ims_trace_header(r)->scalable);
    memset(res, 0, sizeof *res);
    res->ctl_err_line = -1;
    struct ims_rec rec;
    int rc, i = 0;
    while ((rc = ims_trace_next(r, &rec)) == 1) {
        if (rec.kind == IMS_REC_DMA) {
            ims_replay_dma_seen(rp, &rec, seen, res);
        } else if (ims_replay_control(rp, &rec, res->ctl_err, sizeof res->ctl_err) < 0) {
            res->ctl_err_line = i;
            break;
        }
        i++;
    }
    ck_assert_msg(rc >= 0, "%s", ims_trace_error(r));
    res->st = *ims_replay_stats(rp);
    res->core = *ims_iommu_stats(ims_replay_iommu(rp));
    ims_replay_destroy(rp);
    ims_trace_close(r);
}

#define HDR "version 1\nmode scalable\n"

/* ATTACH sm: the RID_PASID entry is second level over the domain the
 * records map in (Linux 6.1's DMA-API domain); requests without PASID use
 * it, and so does PASID 0 given explicitly; tt=2 is pass-through. */
START_TEST(sm_attach_second_level_and_pt)
{
    struct result r;
    replay_text(HDR "attach rid=03:00.0 did=1 levels=4 tt=0 sm\n"
                    "map did=1 iova=0x1000 pa=0x234000 size=0x2000 perm=rw\n"
                    "attach rid=04:00.0 did=2 levels=4 tt=2 sm pasid=5\n"
                    "dma t=1 rid=03:00.0 iova=0x1010 size=8 r expect=0x234010\n"
                    "dma t=2 rid=03:00.0 iova=0x2000 size=8 w pasid=0\n"
                    "dma t=3 rid=04:00.0 iova=0x777000 size=8 r\n"
                    "dma t=4 rid=03:00.0 iova=0x5000 size=8 r\n",
                &r);
    ck_assert_msg(r.ctl_err_line < 0, "%s", r.ctl_err);
    ck_assert_uint_eq(r.n, 4);
    ck_assert_uint_eq(r.fault[0], 0);
    ck_assert_uint_eq(r.pa[0], 0x234010);
    ck_assert_uint_eq(r.fault[1], 0);
    ck_assert_uint_eq(r.pa[1], 0x235000);
    ck_assert_uint_eq(r.fault[2], 0);
    ck_assert_uint_eq(r.pa[2], 0x777000); /* pass-through */
    ck_assert_uint_ne(r.fault[3], 0);     /* not mapped in domain 1 */
    ck_assert_uint_eq(r.st.mismatches, 0);
    ck_assert_uint_eq(r.st.checked, 1);
    /* scalable mode: the PASID-table entries were read */
    ck_assert_uint_ge(r.core.sm.pasid_entry_reads, 2);
}
END_TEST

/* BIND first level, nested, second level over a domain, pass-through:
 * each PASID's request comes out where its entry says. */
START_TEST(sm_bind_each_pgtt)
{
    struct result r;
    replay_text(HDR "attach rid=03:00.0 did=1 levels=4 tt=0 sm\n"
                    "map did=1 iova=0x7f0000001000 pa=0x456000 size=0x1000 perm=rw\n"
                    "proc pid=1 levels=4\n"
                    "pmap pid=1 va=0x7f0000001000 pa=0x123000 size=0x1000 prot=rw\n"
                    "bind rid=03:00.0 pasid=1 pid=1 did=10\n"
                    "vm vm=0 levels=4 ram=0x40000000 size=0x40000000\n"
                    "proc pid=2 levels=4 vm=0\n"
                    "pmap pid=2 va=0x7f0000001000 pa=0x5000 size=0x1000 prot=rw\n"
                    "bind rid=03:00.0 pasid=2 pid=2 did=11\n"
                    "bind rid=03:00.0 pasid=3 did=1 sl\n"
                    "bind rid=03:00.0 pasid=4 did=12 pt\n"
                    "dma t=1 rid=03:00.0 iova=0x7f0000001008 size=8 r pasid=1\n"
                    "dma t=2 rid=03:00.0 iova=0x7f0000001008 size=8 r pasid=2\n"
                    "dma t=3 rid=03:00.0 iova=0x7f0000001008 size=8 r pasid=3\n"
                    "dma t=4 rid=03:00.0 iova=0x888008 size=8 r pasid=4\n",
                &r);
    ck_assert_msg(r.ctl_err_line < 0, "%s", r.ctl_err);
    ck_assert_uint_eq(r.n, 4);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_msg(r.fault[i] == 0, "pasid %u faulted 0x%x", i + 1, r.fault[i]);
    ck_assert_uint_eq(r.pa[0], 0x123008);             /* first level */
    ck_assert_uint_eq(r.pa[1], 0x40000000 + 0x5008);  /* nested: guest pa 0x5000 in RAM at 1 GiB */
    ck_assert_uint_eq(r.pa[2], 0x456008);             /* second level over domain 1 */
    ck_assert_uint_eq(r.pa[3], 0x888008);             /* pass-through */
    ck_assert_uint_gt(r.core.sm.nested_sl_reads, 0);  /* the nested walk translated its table reads */
}
END_TEST

/* priv and exec reach the core: a supervisor page faults for a user
 * request and translates for a supervisor one with SRE; an XD page faults
 * for an execute request. */
START_TEST(sm_priv_exec)
{
    struct result r;
    replay_text(HDR "attach rid=03:00.0 did=1 levels=4 tt=0 sm\n"
                    "proc pid=1 levels=4\n"
                    "pmap pid=1 va=0x400000 pa=0x900000 size=0x1000 prot=rk\n"
                    "pmap pid=1 va=0x401000 pa=0x901000 size=0x1000 prot=rw\n"
                    "bind rid=03:00.0 pasid=1 pid=1 did=10 sre\n"
                    "dma t=1 rid=03:00.0 iova=0x400000 size=8 r pasid=1\n"
                    "dma t=2 rid=03:00.0 iova=0x400000 size=8 r pasid=1 priv\n"
                    "dma t=3 rid=03:00.0 iova=0x401000 size=8 r pasid=1 exec\n"
                    "dma t=4 rid=03:00.0 iova=0x401000 size=8 r pasid=1\n",
                &r);
    ck_assert_msg(r.ctl_err_line < 0, "%s", r.ctl_err);
    ck_assert_uint_eq(r.n, 4);
    ck_assert_uint_ne(r.fault[0], 0); /* user request, supervisor page */
    ck_assert_uint_eq(r.fault[1], 0);
    ck_assert_uint_eq(r.pa[1], 0x900000);
    ck_assert_uint_ne(r.fault[2], 0); /* execute, XD page */
    ck_assert_uint_eq(r.fault[3], 0);
    ck_assert_uint_eq(r.pa[3], 0x901000);
}
END_TEST

/* INV_PASID reaches the caches: after punmap a cached translation stays
 * until the PASID-based IOTLB invalidation; after unbind the PASID entry
 * stays cached until the PASID-cache invalidation (then the request faults). */
START_TEST(sm_inv_pasid)
{
    struct result r;
    replay_text(HDR "attach rid=03:00.0 did=1 levels=4 tt=0 sm\n"
                    "proc pid=1 levels=4\n"
                    "pmap pid=1 va=0x10000 pa=0x900000 size=0x2000 prot=rw\n"
                    "bind rid=03:00.0 pasid=1 pid=1 did=10\n"
                    "dma t=1 rid=03:00.0 iova=0x10000 size=8 r pasid=1\n"
                    "punmap pid=1 va=0x10000 size=0x1000\n"
                    "dma t=2 rid=03:00.0 iova=0x10000 size=8 r pasid=1\n"
                    "inv-pasid piotlb page did=10 pasid=1 addr=0x10000 am=0\n"
                    "dma t=3 rid=03:00.0 iova=0x10000 size=8 r pasid=1\n"
                    "dma t=4 rid=03:00.0 iova=0x11000 size=8 r pasid=1\n"
                    "bind rid=03:00.0 pasid=1 unbind\n"
                    "dma t=5 rid=03:00.0 iova=0x11000 size=8 r pasid=1\n"
                    "inv-pasid piotlb pasid did=10 pasid=1\n"
                    "inv-pasid pasid-cache pasid did=10 pasid=1\n"
                    "dma t=6 rid=03:00.0 iova=0x11000 size=8 r pasid=1\n"
                    "inv-pasid devtlb sid=03:00.0 addr=0 size=0x1000\n",
                &r);
    ck_assert_msg(r.ctl_err_line < 0, "%s", r.ctl_err);
    ck_assert_uint_eq(r.n, 6);
    ck_assert_uint_eq(r.fault[0], 0);
    ck_assert_uint_eq(r.fault[1], 0); /* stale IOTLB entry: no invalidation yet */
    ck_assert_uint_eq(r.pa[1], 0x900000);
    ck_assert_uint_ne(r.fault[2], 0); /* invalidated: the walk finds nothing */
    ck_assert_uint_eq(r.fault[3], 0);
    ck_assert_uint_eq(r.fault[4], 0); /* unbound, but the IOTLB and PASID cache still hold it */
    ck_assert_uint_ne(r.fault[5], 0); /* both invalidated: PASID entry not present */
    ck_assert_uint_eq(r.core.sm.inv_piotlb, 2);
    ck_assert_uint_eq(r.core.sm.inv_pasid_cache, 1);
    ck_assert_uint_eq(r.st.devtlb_noop, 1); /* (pgresp: test_trace_pri.c) */
}
END_TEST

/* tests/trace/data/sm/nested1.itt through the functional core: one nested
 * walk reads 4 first-level entries and 15 second-level ones (5 walks of
 * the VM's 2 MiB-leaf table, 3 reads each). cli_svm.sh checks that
 * `iommusim run` reports exactly these counts in its JSON. */
START_TEST(sm_nested_read_counts)
{
    size_t len;
    char *text = tu_read_file(IMS_SM_DATA "/nested1.itt", &len);
    ck_assert_ptr_nonnull(text);
    struct result r;
    replay_text(text, &r);
    free(text);
    ck_assert_msg(r.ctl_err_line < 0, "%s", r.ctl_err);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_uint_eq(r.fault[0], 0);
    ck_assert_uint_eq(r.st.mismatches, 0);
    ck_assert_uint_eq(r.core.sm.fl_reads, 4);
    ck_assert_uint_eq(r.core.sm.nested_sl_reads, 15);
    ck_assert_uint_eq(r.core.sm.sl_reads, 0);
    ck_assert_uint_eq(r.core.sm.walks_nested, 1);
    ck_assert_uint_eq(r.core.sm.pasid_dir_reads, 1);
    ck_assert_uint_eq(r.core.sm.pasid_entry_reads, 1);
}
END_TEST

/* A detach clears the device's PASID entries: after a new attach an old
 * PASID faults until it is bound again (which is then no rebinding). */
START_TEST(sm_detach_clears_bindings)
{
    struct result r;
    replay_text(HDR "attach rid=03:00.0 did=1 levels=4 tt=0 sm\n"
                    "proc pid=1 levels=4\n"
                    "pmap pid=1 va=0x10000 pa=0x900000 size=0x1000 prot=rw\n"
                    "bind rid=03:00.0 pasid=1 pid=1 did=10\n"
                    "dma t=1 rid=03:00.0 iova=0x10000 size=8 r pasid=1\n"
                    "detach rid=03:00.0\n"
                    "inv-ctx global\n"
                    "inv-pasid pasid-cache global\n"
                    "inv-iotlb global\n"
                    "attach rid=03:00.0 did=1 levels=4 tt=0 sm\n"
                    "dma t=2 rid=03:00.0 iova=0x10000 size=8 r pasid=1\n"
                    "bind rid=03:00.0 pasid=1 pid=1 did=10\n"
                    "inv-pasid pasid-cache pasid did=10 pasid=1\n"
                    "dma t=3 rid=03:00.0 iova=0x10000 size=8 r pasid=1\n",
                &r);
    ck_assert_msg(r.ctl_err_line < 0, "%s", r.ctl_err);
    ck_assert_uint_eq(r.n, 3);
    ck_assert_uint_eq(r.fault[0], 0);
    ck_assert_uint_ne(r.fault[1], 0);
    ck_assert_uint_eq(r.fault[2], 0);
    ck_assert_uint_eq(r.pa[2], 0x900000);
}
END_TEST

/* Impossible records: the replay names what is wrong. */
static const struct {
    const char *text; /* after the header */
    bool legacy;      /* no `mode scalable` */
    int line;         /* failing record index */
    const char *msg;
} impossible[] = {
    {"bind rid=03:00.0 pasid=1 pid=1 did=1\n", false, 0,
     "bind rid=03:00.0 pasid=1 pid=1 did=1: the device is not attached (no attach sm before it)"},
    {"attach rid=03:00.0 did=1 levels=4 tt=0 sm\nbind rid=03:00.0 pasid=1 pid=7 did=1\n", false, 1,
     "bind rid=03:00.0 pasid=1 pid=7 did=1: process 7 does not exist (no proc record created it)"},
    {"proc pid=1 levels=4\npmap pid=1 va=0x1000 pa=0x2000 size=0x1000 prot=r\n"
     "pmap pid=1 va=0x1000 pa=0x3000 size=0x1000 prot=r\n",
     false, 2, "pmap pid=1 va=0x1000 pa=0x3000 size=0x1000 prot=r: already mapped (mapping over a mapping)"},
    {"pmap pid=3 va=0x1000 pa=0x2000 size=0x1000 prot=r\n", false, 0, "process 3 does not exist"},
    {"proc pid=1 levels=4\npunmap pid=1 va=0x1000 size=0x1000\n", false, 1, "nothing mapped there"},
    {"proc pid=1 levels=4\npmap pid=1 va=0x1800 pa=0x2000 size=0x1000 prot=r\n", false, 1,
     "va, pa and size must be 4 KiB aligned"},
    {"proc pid=1 levels=4 vm=2\n", false, 0, "vm 2 does not exist (no vm record created it)"},
    {"proc pid=1 levels=4\nproc pid=1 levels=5\n", false, 1, "process 1 exists already"},
    {"vm vm=0 levels=4 ram=0x40001000 size=0x200000\n", false, 0, "must be 2 MiB aligned"},
    {"attach rid=03:00.0 did=1 levels=4 tt=0 sm\nbind rid=03:00.0 pasid=9 unbind\n", false, 1,
     "pasid 9 is not bound"},
    {"attach rid=03:00.0 did=1 levels=4 tt=0 sm\nbind rid=03:00.0 pasid=0 did=1 sl\n", false, 1,
     "bind: pasid 0 of 03:00.0 is bound already (unbind first)"},
    {"attach rid=03:00.0 did=1 levels=4 tt=0 sm\nbind rid=03:00.0 pasid=2 did=9 sl\n", false, 1,
     "bind pasid 2 sl over domain 9: no such domain (no attach created it)"},
    {"attach rid=03:00.0 did=1 levels=4 tt=0 sm\nbind rid=03:00.0 pasid=0x8000 did=1 sl\n", false, 1,
     "the builder's PASID tables hold PASIDs below 2^15"},
    {"attach rid=03:00.0 did=1 levels=4 tt=0\n", false, 0, "a legacy-mode attach in a scalable-mode trace"},
    {"attach rid=03:00.0 did=1 levels=4 tt=1 sm\n", false, 0, "sm: tt 1 (scalable mode: tt 0"},
    {"proc pid=1 levels=4\n", true, 0,
     "proc: a scalable-mode record in a legacy-mode trace (the header has no 'mode scalable')"},
    {"attach rid=03:00.0 did=1 levels=4 tt=0 sm\n", true, 0, "attach: a scalable-mode record in a legacy-mode trace"},
    {"inv-pasid pasid-cache global\n", true, 0, "inv-pasid: a scalable-mode record in a legacy-mode trace"},
};

START_TEST(sm_impossible_records)
{
    char text[1024];
    snprintf(text, sizeof text, "%s%s", impossible[_i].legacy ? "version 1\n" : HDR, impossible[_i].text);
    struct result r;
    replay_text(text, &r);
    ck_assert_msg(r.ctl_err_line == impossible[_i].line, "case %d: error at record %d: '%s'", _i, r.ctl_err_line,
                  r.ctl_err);
    ck_assert_msg(strstr(r.ctl_err, impossible[_i].msg), "case %d: expected '%s', got '%s'", _i, impossible[_i].msg,
                  r.ctl_err);
}
END_TEST

/* The legacy replay is unchanged by the mode: a legacy trace in which a DMA
 * carries priv/exec flags translates exactly as without them. */
START_TEST(legacy_ignores_priv_exec)
{
    struct result a, b;
    replay_text("version 1\nattach rid=03:00.0 did=1 levels=4 tt=0\n"
                "map did=1 iova=0x1000 pa=0x234000 size=0x1000 perm=r\n"
                "dma t=1 rid=03:00.0 iova=0x1010 size=8 r\n",
                &a);
    replay_text("version 1\nattach rid=03:00.0 did=1 levels=4 tt=0\n"
                "map did=1 iova=0x1000 pa=0x234000 size=0x1000 perm=r\n"
                "dma t=1 rid=03:00.0 iova=0x1010 size=8 r priv exec\n",
                &b);
    ck_assert_uint_eq(a.n, 1);
    ck_assert_uint_eq(b.n, 1);
    ck_assert_uint_eq(a.pa[0], 0x234010);
    ck_assert_uint_eq(b.pa[0], a.pa[0]);
    ck_assert_uint_eq(b.fault[0], 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("trace_sm_replay");
    TCase *tc = tcase_create("sm_replay");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, sm_attach_second_level_and_pt);
    tcase_add_test(tc, sm_bind_each_pgtt);
    tcase_add_test(tc, sm_priv_exec);
    tcase_add_test(tc, sm_inv_pasid);
    tcase_add_test(tc, sm_nested_read_counts);
    tcase_add_test(tc, sm_detach_clears_bindings);
    tcase_add_loop_test(tc, sm_impossible_records, 0, (int)(sizeof impossible / sizeof impossible[0]));
    tcase_add_test(tc, legacy_ignores_priv_exec);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ims_check_run(suite());
}
