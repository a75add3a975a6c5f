/* Scalable-mode trace records (docs/trace-format.md, "Scalable mode"): every
 * new kind and flag through text, binary version 3 and zstd, the header's
 * mode, canonical copies, and the refusals: version 2 holds none of it, and
 * out-of-range fields and malformed text lines are named. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include "ims_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "iommusim/iommu.h"
#include "iommusim/tb.h"
#include "iommusim/trace.h"
#include "util.h"

static char err[1024];

/* Every new kind, and per kind the variants that use different fields;
 * DMA and ATTACH with their scalable-mode flags. */
static const struct ims_rec sm_sample[] = {
    {.kind = IMS_REC_VM, .vm = 0, .levels = 4, .pa = 0x40000000, .size = 0x40000000},
    {.kind = IMS_REC_VM, .ts = 3, .vm = 7, .levels = 5, .pa = 0x123400000000, .size = UINT64_MAX},
    {.kind = IMS_REC_VM, .vm = 2, .levels = 3, .pa = 0, .size = 0x200000},
    {.kind = IMS_REC_PROC, .pid = 0, .levels = 4, .vm = IMS_REC_VM_NONE},
    {.kind = IMS_REC_PROC, .ts = 9, .pid = 63, .levels = 5, .vm = 7},
    {.kind = IMS_REC_PMAP, .pid = 1, .iova = 0x7f0000001000, .pa = 0x5000, .size = 0x1000, .perm = 0},
    {.kind = IMS_REC_PMAP, .pid = 63, .iova = 0, .pa = UINT64_MAX, .size = UINT64_MAX, .perm = 7},
    {.kind = IMS_REC_PMAP, .pid = 2, .iova = 0x400000, .pa = 0x200000, .size = 0x200000,
     .perm = IMS_TB_SM_W | IMS_TB_SM_KERNEL},
    {.kind = IMS_REC_PMAP, .pid = 2, .iova = 0x600000, .pa = 0x200000, .size = 0x1000, .perm = IMS_TB_SM_X},
    {.kind = IMS_REC_PUNMAP, .pid = 1, .iova = 0x7f0000001000, .size = 0x1000},
    {.kind = IMS_REC_PUNMAP, .ts = 100, .pid = 63, .iova = 0xfffff000, .size = 0x1000},
    {.kind = IMS_REC_BIND, .rid = IMS_BDF(3, 0, 0), .pasid = 1, .pid = 1, .did = 9},
    {.kind = IMS_REC_BIND, .rid = IMS_BDF(3, 0, 1), .pasid = 0xfffff, .pid = 63, .did = 0xffff,
     .flags = IMS_RECF_SRE},
    {.kind = IMS_REC_BIND, .rid = IMS_BDF(4, 0, 0), .pasid = 0, .did = 5, .flags = IMS_RECF_SL},
    {.kind = IMS_REC_BIND, .rid = IMS_BDF(4, 0, 0), .pasid = 7, .did = 6, .flags = IMS_RECF_PT},
    {.kind = IMS_REC_BIND, .ts = 1, .rid = IMS_BDF(3, 0, 0), .pasid = 1, .flags = IMS_RECF_UNBIND},
    {.kind = IMS_REC_INV_PASID, .target = IMS_PINV_T_PASID_CACHE, .gran = IMS_PINV_GLOBAL},
    {.kind = IMS_REC_INV_PASID, .target = IMS_PINV_T_PASID_CACHE, .gran = IMS_PINV_DOMAIN, .did = 9},
    {.kind = IMS_REC_INV_PASID, .target = IMS_PINV_T_PASID_CACHE, .gran = IMS_PINV_PASID, .did = 9, .pasid = 1},
    {.kind = IMS_REC_INV_PASID, .target = IMS_PINV_T_PIOTLB, .gran = IMS_PINV_PASID, .did = 9, .pasid = 0xfffff},
    {.kind = IMS_REC_INV_PASID, .ts = 5, .target = IMS_PINV_T_PIOTLB, .gran = IMS_PINV_PAGE, .did = 9, .pasid = 1,
     .iova = 0x7f0000001000, .am = 9, .flags = IMS_RECF_IH},
    {.kind = IMS_REC_INV_PASID, .target = IMS_PINV_T_PIOTLB, .gran = IMS_PINV_PAGE, .did = 9, .pasid = 1,
     .iova = 0x1000, .am = 0},
    {.kind = IMS_REC_INV_PASID, .target = IMS_PINV_T_DEVTLB, .rid = IMS_BDF(3, 0, 0), .iova = 0x10000,
     .size = 0x10000},
    {.kind = IMS_REC_INV_PASID, .target = IMS_PINV_T_PASID_DEVTLB, .rid = IMS_BDF(3, 0, 0), .pasid = 2,
     .iova = 0, .size = UINT64_C(1) << 63},
    {.kind = IMS_REC_PGRESP, .rid = IMS_BDF(3, 0, 0), .prg = 0, .resp = IMS_PGRESP_SUCCESS},
    {.kind = IMS_REC_PGRESP, .ts = 77, .rid = IMS_BDF(3, 0, 0), .flags = IMS_RECF_PASID, .pasid = 0xfffff,
     .prg = IMS_REC_PRG_MAX, .resp = IMS_PGRESP_FAILURE},
    {.kind = IMS_REC_PGRESP, .rid = IMS_BDF(3, 0, 0), .flags = IMS_RECF_PASID, .pasid = 0, .prg = 3,
     .resp = IMS_PGRESP_INVALID},
    {.kind = IMS_REC_ATTACH, .rid = IMS_BDF(3, 0, 0), .did = 9, .levels = 4, .tt = 0, .flags = IMS_RECF_SM},
    {.kind = IMS_REC_ATTACH, .rid = IMS_BDF(3, 0, 1), .did = 1, .levels = 5, .tt = 2, .pa = 0x1000,
     .flags = IMS_RECF_SM | IMS_RECF_DTE | IMS_RECF_PRE, .pasid = 0xfffff},
    {.kind = IMS_REC_DMA, .ts = 10, .rid = IMS_BDF(3, 0, 0), .iova = 0x7f0000001000, .size = 64,
     .flags = IMS_RECF_PASID | IMS_RECF_PRIV, .pasid = 1},
    {.kind = IMS_REC_DMA, .ts = 11, .rid = IMS_BDF(3, 0, 0), .iova = 0x7f0000001000, .size = 64,
     .flags = IMS_RECF_PASID | IMS_RECF_EXEC | IMS_RECF_PRIV | IMS_RECF_EXPECT_PA, .pasid = 1, .pa = 0x5000},
    {.kind = IMS_REC_DMA, .ts = 12, .rid = IMS_BDF(3, 0, 0), .iova = 0x5000, .size = 8,
     .flags = IMS_RECF_WRITE | IMS_RECF_AT_TRANSLATED},
    {.kind = IMS_REC_DMA, .ts = 13, .rid = IMS_BDF(3, 0, 0), .iova = 0x6000, .size = 8,
     .flags = IMS_RECF_PASID | IMS_RECF_EXPECT_FAULT, .pasid = 3, .reason = 0x30},
    /* legacy kinds in a scalable-mode trace */
    {.kind = IMS_REC_MAP, .did = 5, .iova = 0x1000, .pa = 0x2000, .size = 0x1000, .perm = IMS_PERM_RW},
    {.kind = IMS_REC_MARK, .label = "warmup-end"},
};
#define NSM (sizeof sm_sample / sizeof sm_sample[0])

static const char *form_name[] = {"s.itr", "s.itr.zst", "s.itt", "s.txt"};

static void write_sm(const char *path)
{
    struct ims_trace_hdr h;
    tu_sample_hdr(&h);
    h.scalable = true;
    struct ims_trace_writer *w = ims_trace_create(path, &h, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    for (size_t i = 0; i < NSM; i++)
        ck_assert_msg(ims_trace_write(w, &sm_sample[i]) == 0, "record %zu: %s", i, ims_trace_writer_error(w));
    ck_assert_msg(ims_trace_commit(w, err, sizeof err) == 0, "%s", err);
    ims_trace_hdr_free(&h);
}

/* Each form reads back every field of every record, and the scalable mode. */
START_TEST(sm_round_trip_each_form)
{
    const char *p = tu_path(form_name[_i]);
    write_sm(p);
    struct ims_trace_reader *r = ims_trace_open(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert(ims_trace_header(r)->scalable);
    struct ims_rec rec;
    for (size_t i = 0; i < NSM; i++) {
        tu_expect_rec(r, i, &sm_sample[i], &rec);
        /* The readers return canonical records. */
        struct ims_rec c;
        char b[256];
        ims_rec_canon(&rec, &c);
        ims_rec_format(&rec, b, sizeof b);
        ck_assert_msg(!memcmp(&c, &rec, sizeof c), "record %zu ('%s') is not canonical as read", i, b);
    }
    ck_assert_int_eq(ims_trace_next(r, &rec), 0);
    ims_trace_close(r);
}
END_TEST

/* text -> v3 -> zstd -> text is byte-identical, `mode scalable` included. */
START_TEST(sm_round_trip_chain)
{
    const char *chain[] = {"a.itt", "b.itr", "c.itr.zst", "d.itt"};
    write_sm(tu_path(chain[0]));
    char *a = tu_copy_chain(chain, 4);
    ck_assert_ptr_nonnull(strstr(a, "\nmode scalable\n"));
    free(a);
}
END_TEST

/* ims_rec_canon() keeps the fields each kind uses and zeroes the rest, as
 * the written-out rule of tests/trace/util.c says, for records whose
 * unused fields hold junk. */
START_TEST(sm_canon_zeroes_unused)
{
    for (size_t i = 0; i < NSM; i++) {
        struct ims_rec junk = sm_sample[i], c;
        if (!junk.iova && junk.kind != IMS_REC_PMAP && junk.kind != IMS_REC_PUNMAP && junk.kind != IMS_REC_DMA &&
            junk.target != IMS_PINV_T_DEVTLB && junk.target != IMS_PINV_T_PASID_DEVTLB)
            junk.iova = 0x1234; /* unused by the kinds that left it 0 above */
        junk.fm = 3;
        junk.tt = junk.kind == IMS_REC_ATTACH ? junk.tt : 1;
        junk.am = (junk.kind == IMS_REC_INV_PASID && junk.gran == IMS_PINV_PAGE) ? junk.am : 5;
        junk.reason = (junk.flags & IMS_RECF_EXPECT_FAULT) && junk.kind == IMS_REC_DMA ? junk.reason : 9;
        if (junk.kind != IMS_REC_PGRESP)
            junk.prg = 17, junk.resp = 15;
        if (junk.kind != IMS_REC_INV_PASID)
            junk.target = 2;
        if (junk.kind != IMS_REC_MARK)
            strcpy(junk.label, "junk");
        ims_rec_canon(&junk, &c);
        ck_assert_msg(tu_rec_equal(&c, &sm_sample[i]), "record %zu", i);
        ck_assert_uint_eq(c.fm, 0);
        ck_assert_uint_eq(c.label[0], sm_sample[i].kind == IMS_REC_MARK ? 'w' : 0);
        if (sm_sample[i].kind != IMS_REC_PGRESP)
            ck_assert_uint_eq(c.prg, 0);
    }
}
END_TEST

/* Version 2 holds no scalable-mode trace, kind or flag: the writer says so
 * naming the record; the text form has one version and takes them. */
START_TEST(sm_v2_refused)
{
    struct ims_trace_hdr h = {.version = 1, .scalable = true};
    ck_assert_ptr_null(ims_trace_create_version(tu_path("v2.itr"), &h, 2, err, sizeof err));
    ck_assert_msg(strstr(err, "v2.itr: cannot write a scalable-mode trace as binary version 2"), "%s", err);
    ck_assert_ptr_null(ims_trace_create_version(tu_path("v2.itr.zst"), &h, 2, err, sizeof err));
    struct ims_trace_writer *w = ims_trace_create_version(tu_path("v2.itt"), &h, 2, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    ims_trace_abort(w);
    h.scalable = false;
    int refused = 0;
    for (size_t i = 0; i < NSM; i++) {
        w = ims_trace_create_version(tu_path("v2.itr"), &h, 2, err, sizeof err);
        ck_assert_msg(w != NULL, "%s", err);
        const bool v3 = sm_sample[i].kind > IMS_REC_MARK || (sm_sample[i].kind == IMS_REC_DMA &&
                                                             (sm_sample[i].flags & 0xe0)) ||
                        (sm_sample[i].kind == IMS_REC_ATTACH && sm_sample[i].flags);
        int rc = ims_trace_write(w, &sm_sample[i]);
        ck_assert_int_eq(rc, v3 ? -1 : 0);
        if (v3) {
            refused++;
            ck_assert_msg(strstr(ims_trace_writer_error(w), "record 0: ") &&
                              strstr(ims_trace_writer_error(w), "cannot be written as binary version 2"),
                          "%s", ims_trace_writer_error(w));
        }
        ims_trace_abort(w);
    }
    ck_assert_int_eq(refused, (int)NSM - 3); /* all but the plain fault DMA, MAP and MARK */
}
END_TEST

/* Out-of-range fields of the new kinds, named by kind and field. */
static const struct {
    struct ims_rec rec;
    const char *msg;
} bad_recs[] = {
    {{.kind = IMS_REC_VM, .vm = 8, .levels = 4, .size = 1}, "vm: vm 8 out of range (0..7)"},
    {{.kind = IMS_REC_VM, .vm = 0, .levels = 2, .size = 1}, "vm: levels 2 out of range (3..5)"},
    {{.kind = IMS_REC_VM, .vm = 0, .levels = 4, .size = 0}, "vm: size 0"},
    {{.kind = IMS_REC_PROC, .pid = 64, .levels = 4, .vm = 0xff}, "proc: pid 64 out of range (0..63)"},
    {{.kind = IMS_REC_PROC, .pid = 1, .levels = 3, .vm = 0xff}, "proc: levels 3 out of range (4 or 5)"},
    {{.kind = IMS_REC_PROC, .pid = 1, .levels = 4, .vm = 8}, "proc: vm 8 out of range (0..7, or none)"},
    {{.kind = IMS_REC_PMAP, .pid = 64, .size = 1}, "pmap: pid 64 out of range"},
    {{.kind = IMS_REC_PMAP, .pid = 1, .size = 1, .perm = 8}, "pmap: prot 8 out of range (0..7: w=1, x=2, k=4)"},
    {{.kind = IMS_REC_PMAP, .pid = 1, .size = 0}, "pmap: size 0"},
    {{.kind = IMS_REC_PMAP, .pid = 1, .size = 2, .iova = UINT64_MAX}, "pmap: va 0xffffffffffffffff + size wraps"},
    {{.kind = IMS_REC_PUNMAP, .pid = 99, .size = 1}, "punmap: pid 99 out of range"},
    {{.kind = IMS_REC_BIND, .flags = 0x10}, "bind: flags 0x10 has unknown bits"},
    {{.kind = IMS_REC_BIND, .flags = IMS_RECF_SL | IMS_RECF_UNBIND}, "bind: more than one of sl, pt and unbind"},
    {{.kind = IMS_REC_BIND, .flags = IMS_RECF_SL | IMS_RECF_SRE}, "bind: sre is for a first-level binding"},
    {{.kind = IMS_REC_BIND, .pasid = 1u << 20}, "bind: pasid 1048576 out of range (0..1048575)"},
    {{.kind = IMS_REC_BIND, .pid = 64}, "bind: pid 64 out of range (0..63)"},
    {{.kind = IMS_REC_INV_PASID, .target = 0}, "inv-pasid: target 0 out of range"},
    {{.kind = IMS_REC_INV_PASID, .target = 5}, "inv-pasid: target 5 out of range"},
    {{.kind = IMS_REC_INV_PASID, .target = 1, .gran = IMS_PINV_PAGE},
     "inv-pasid pasid-cache: granularity 3 out of range (domain=1, pasid=2, global=4)"},
    {{.kind = IMS_REC_INV_PASID, .target = 2, .gran = IMS_PINV_GLOBAL},
     "inv-pasid piotlb: granularity 4 out of range (pasid=2, page=3)"},
    {{.kind = IMS_REC_INV_PASID, .target = 2, .gran = IMS_PINV_PAGE, .am = 53}, "inv-pasid piotlb: am 53 out of range"},
    {{.kind = IMS_REC_INV_PASID, .target = 2, .gran = IMS_PINV_PASID, .pasid = 1u << 20},
     "inv-pasid piotlb: pasid 1048576 out of range"},
    {{.kind = IMS_REC_INV_PASID, .target = 2, .gran = IMS_PINV_PASID, .flags = IMS_RECF_IH},
     "inv-pasid: ih is for piotlb page invalidations only"},
    {{.kind = IMS_REC_INV_PASID, .target = 3, .size = 0x3000}, "inv-pasid devtlb: size 0x3000 is not a power of two"},
    {{.kind = IMS_REC_INV_PASID, .target = 3, .size = 0x800}, "inv-pasid devtlb: size 0x800 is not a power of two"},
    {{.kind = IMS_REC_INV_PASID, .target = 4, .size = 0x2000, .iova = 0x1000},
     "inv-pasid pasid-devtlb: addr 0x1000 is not aligned to its size 0x2000"},
    {{.kind = IMS_REC_PGRESP, .prg = 512}, "pgresp: prg 512 out of range (0..511)"},
    {{.kind = IMS_REC_PGRESP, .resp = 2}, "pgresp: response code 2 out of range (success=0, invalid=1, failure=15)"},
    {{.kind = IMS_REC_PGRESP, .flags = IMS_RECF_WRITE}, "pgresp: flags 0x1 has unknown bits"},
    {{.kind = IMS_REC_ATTACH, .levels = 4, .flags = IMS_RECF_DTE}, "attach: dte and pre are for a scalable-mode attach"},
    {{.kind = IMS_REC_ATTACH, .levels = 4, .flags = 0x8}, "attach: flags 0x8 has unknown bits"},
    {{.kind = IMS_REC_ATTACH, .levels = 4, .flags = IMS_RECF_SM, .pasid = 1u << 20},
     "attach: pasid 1048576 out of range"},
    {{.kind = IMS_REC_DMA, .size = 1, .flags = IMS_RECF_WRITE | IMS_RECF_EXEC},
     "dma: exec with a write (an execute request is a read)"},
};

START_TEST(sm_rejects_out_of_range)
{
    ck_assert_int_eq(ims_rec_check(&bad_recs[_i].rec, err, sizeof err), -1);
    ck_assert_msg(strstr(err, bad_recs[_i].msg), "case %d: got '%s'", _i, err);
    /* and the writer refuses it naming the record */
    struct ims_trace_hdr h = {.version = 1, .scalable = true};
    struct ims_trace_writer *w = ims_trace_create(tu_path("bad.itr"), &h, err, sizeof err);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(ims_trace_write(w, &bad_recs[_i].rec), -1);
    ck_assert_msg(!strncmp(strstr(ims_trace_writer_error(w), "record 0: "), "record 0: ", 10), "%s",
                  ims_trace_writer_error(w));
    ims_trace_abort(w);
}
END_TEST

/* Text lines of the new kinds: each error gives file:line and what was
 * expected. Line 1 "version 1", line 2 "mode scalable", line 3 the bad one. */
static const struct {
    const char *line;
    const char *msg;
} text_bad[] = {
    {"vm vm=8 levels=4 ram=0 size=0x200000", ":3: vm=: expected a number 0..7 (decimal or 0x hex), got '8'"},
    {"vm vm=1 levels=6 ram=0 size=0x200000", ":3: levels=: expected 3, 4 or 5, got '6'"},
    {"vm vm=1 levels=4 size=0x200000", ":3: vm: expected ram=, got none"},
    {"proc pid=64 levels=4", ":3: pid=: expected a number 0..63 (decimal or 0x hex), got '64'"},
    {"proc pid=1 levels=3", ":3: levels=: expected 4 or 5, got '3'"},
    {"proc pid=1 levels=4 vm=9", ":3: vm=: expected a number 0..7 (decimal or 0x hex), got '9'"},
    {"pmap pid=1 va=0x1000 pa=0x2000 size=0x1000 prot=w", ":3: prot=: expected r, then any of w, x, k in that order"},
    {"pmap pid=1 va=0x1000 pa=0x2000 size=0x1000 prot=rxw", ":3: prot=: expected r, then any of w, x, k"},
    {"pmap pid=1 va=0x1000 pa=0x2000 size=0x1000", ":3: pmap: expected prot=, got none"},
    {"pmap pid=1 va=0x1000 pa=0x2000 size=0 prot=r", ":3: pmap: size 0"},
    {"punmap pid=1 size=0x1000", ":3: punmap: expected va=, got none"},
    {"punmap pid=1 va=0x1000 size=0x1000 did=3", ":3: punmap: unknown key 'did='"},
    {"bind rid=03:00.0 pasid=1 did=2", ":3: bind: expected pid=, got none"},
    {"bind rid=03:00.0 pasid=1 pid=1 did=2 sl", ":3: bind: 'pid=' not allowed with sl or pt"},
    {"bind rid=03:00.0 pasid=1 did=2 unbind", ":3: bind: 'did=' not allowed with unbind"},
    {"bind rid=03:00.0 pasid=1 did=2 sl pt", ":3: bind: more than one of sl, pt and unbind"},
    {"bind rid=03:00.0 pasid=1 did=2 sl sl", ":3: bind: 'sl' given twice"},
    {"bind rid=03:00.0 pasid=0x100000 pid=1 did=2", ":3: pasid=: expected a number 0..1048575"},
    {"bind rid=03:00.0 pasid=1 pid=1 did=2 nested", ":3: bind: expected key=value, got 'nested'"},
    {"inv-pasid", ":3: inv-pasid: expected a target (pasid-cache, piotlb, devtlb or pasid-devtlb), got none"},
    {"inv-pasid iotlb pasid did=1 pasid=2", ":3: inv-pasid: expected a target (pasid-cache, piotlb, devtlb or "
                                           "pasid-devtlb), got 'iotlb'"},
    {"inv-pasid pasid-cache page did=1 pasid=1", ":3: inv-pasid pasid-cache: expected granularity (global, domain or "
                                                "pasid), got 'page'"},
    {"inv-pasid piotlb global", ":3: inv-pasid piotlb: expected granularity (pasid or page), got 'global'"},
    {"inv-pasid piotlb page did=1 pasid=1 addr=0x1000", ":3: inv-pasid: expected am=, got none"},
    {"inv-pasid pasid-cache global did=1", ":3: inv-pasid: 'did=' not allowed with global"},
    {"inv-pasid pasid-cache domain did=1 pasid=3", ":3: inv-pasid: 'pasid=' not allowed without pasid or page"},
    {"inv-pasid piotlb pasid did=1 pasid=1 ih", ":3: inv-pasid: ih is for piotlb page invalidations only"},
    {"inv-pasid devtlb sid=03:00.0 addr=0 size=0x1000 pasid=1", ":3: inv-pasid: 'pasid=' not allowed with devtlb"},
    {"inv-pasid devtlb page sid=03:00.0 addr=0 size=0x1000", ":3: inv-pasid devtlb: expected key=value, got 'page'"},
    {"inv-pasid pasid-devtlb sid=03:00.0 pasid=1 addr=0x1000 size=0x2000",
     ":3: inv-pasid pasid-devtlb: addr 0x1000 is not aligned to its size 0x2000"},
    {"pgresp rid=03:00.0 prg=512 resp=success", ":3: prg=: expected a number 0..511 (decimal or 0x hex), got '512'"},
    {"pgresp rid=03:00.0 prg=1 resp=ok", ":3: resp=: expected success, invalid or failure, got 'ok'"},
    {"pgresp prg=1 resp=success", ":3: pgresp: expected rid=, got none"},
    {"attach rid=03:00.0 did=1 levels=4 tt=0 pasid=3", ":3: attach: 'pasid=' not allowed without sm"},
    {"attach rid=03:00.0 did=1 levels=4 tt=0 dte", ":3: attach: dte and pre are for a scalable-mode attach (sm)"},
    {"attach rid=03:00.0 did=1 levels=4 tt=0 sm sm", ":3: attach: 'sm' given twice"},
    {"dma t=1 rid=03:00.0 iova=0 size=1 w exec", ":3: dma: exec with a write"},
    {"dma t=1 rid=03:00.0 iova=0 size=1 r priv priv", ":3: dma: 'priv' given twice"},
    {"mode legacy", ":3: header directive 'mode' after the first record"},
};

START_TEST(sm_text_syntax_error)
{
    char body[512];
    const bool late = !strncmp(text_bad[_i].line, "mode", 4);
    snprintf(body, sizeof body, "version 1\nmode scalable\n%s%s\n", late ? "mark m\n" : "", text_bad[_i].line);
    const char *p = tu_path("bad.itt");
    tu_write_file(p, body, strlen(body));
    char want[300];
    snprintf(want, sizeof want, "%s%s", p, text_bad[_i].msg);
    if (late)
        want[strlen(p) + 1] = '4';
    ck_assert_uint_eq(tu_expect_read_error(p, want), late ? 1 : 0);
}
END_TEST

/* The header's mode: text directive errors, and the binary header flag
 * (version 2 has no scalable mode; version 3 knows bits 0x1 and 0x2). */
START_TEST(sm_header_mode)
{
    static const struct {
        const char *text, *msg;
    } hb[] = {
        {"version 1\nmode scalable\nmode scalable\n", ":3: 'mode' given twice"},
        {"version 1\nmode nested\n", ":2: mode: expected 'mode scalable' or 'mode legacy', got 'mode nested'"},
        {"version 1\nmode\n", ":2: mode: expected 'mode scalable' or 'mode legacy'"},
    };
    for (size_t i = 0; i < sizeof hb / sizeof hb[0]; i++) {
        const char *p = tu_path("h.itt");
        tu_write_file(p, hb[i].text, strlen(hb[i].text));
        ck_assert_ptr_null(ims_trace_open(p, err, sizeof err));
        char want[300];
        snprintf(want, sizeof want, "%s%s", p, hb[i].msg);
        ck_assert_msg(strstr(err, want), "case %zu: expected '%s', got '%s'", i, want, err);
    }
    /* `mode legacy` reads as legacy */
    const char *p = tu_path("l.itt");
    tu_write_file(p, "version 1\nmode legacy\n", 22);
    struct ims_trace_reader *r = ims_trace_open(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert(!ims_trace_header(r)->scalable);
    ims_trace_close(r);

    /* Binary: a legacy v2 file with the scalable bit patched in (header CRC resealed). */
    struct ims_trace_hdr h = {.version = 1};
    p = tu_path("v2.itr");
    struct ims_trace_writer *w = ims_trace_create_version(p, &h, 2, err, sizeof err);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(ims_trace_commit(w, err, sizeof err), 0);
    size_t len;
    unsigned char *b = (unsigned char *)tu_read_file(p, &len);
    for (int v = 2; v <= 3; v++) {
        const uint32_t flags = v == 2 ? 0x3u : 0x5u;
        b[8] = (unsigned char)v; /* version (a v3 header has record size 0: patched below) */
        if (v == 3)
            memset(b + 16, 0, 4);
        memcpy(b + 20, &flags, 4); /* little-endian hosts only, as the rest of these tests */
        uint32_t hlen;
        memcpy(&hlen, b + 12, 4);
        uint32_t c = (uint32_t)crc32(0L, b, hlen - 4);
        memcpy(b + hlen - 4, &c, 4);
        tu_write_file(p, b, len);
        ck_assert_ptr_null(ims_trace_open(p, err, sizeof err));
        ck_assert_msg(strstr(err, v == 2 ? "flag 0x2 (scalable mode) needs version 3, this file is version 2"
                                         : "header flags 0x5 at byte offset 20 have unknown bits (this reader knows 0x3)"),
                      "v%d: %s", v, err);
    }
    free(b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("trace_sm");
    TCase *tc = tcase_create("sm");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, sm_round_trip_each_form, 0, 4);
    tcase_add_test(tc, sm_round_trip_chain);
    tcase_add_test(tc, sm_canon_zeroes_unused);
    tcase_add_test(tc, sm_v2_refused);
    tcase_add_loop_test(tc, sm_rejects_out_of_range, 0, (int)(sizeof bad_recs / sizeof bad_recs[0]));
    tcase_add_loop_test(tc, sm_text_syntax_error, 0, (int)(sizeof text_bad / sizeof text_bad[0]));
    tcase_add_test(tc, sm_header_mode);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ims_check_run(suite());
}
