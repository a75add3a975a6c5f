#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include "iommusim/iommu.h"
#include "iommusim/qemu_vtd.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tu_dir[64];
static char tu_buf[4][256];
static int tu_next;

void tu_setup(void)
{
    strcpy(tu_dir, "/tmp/ims_trace_testXXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tu_dir));
}

void tu_teardown(void)
{
    DIR *d = opendir(tu_dir);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", tu_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(tu_dir);
}

const char *tu_path(const char *name)
{
    char *b = tu_buf[tu_next++ & 3];
    snprintf(b, sizeof tu_buf[0], "%s/%s", tu_dir, name);
    return b;
}

/* The fields a record's kind uses (docs/trace-format.md, "Records"), every
 * other field zero: written out here, not through ims_rec_canon(), whose
 * encode/decode is the code under test. */
static void tu_canon(const struct ims_rec *in, struct ims_rec *o)
{
    memset(o, 0, sizeof *o);
    o->kind = in->kind;
    o->ts = in->ts;
    switch (in->kind) {
    case IMS_REC_DMA:
        o->rid = in->rid, o->iova = in->iova, o->size = in->size, o->flags = in->flags;
        if (in->flags & IMS_RECF_PASID)
            o->pasid = in->pasid;
        if (in->flags & IMS_RECF_EXPECT_PA)
            o->pa = in->pa;
        if (in->flags & IMS_RECF_EXPECT_FAULT)
            o->reason = in->reason;
        break;
    case IMS_REC_MAP:
        o->did = in->did, o->iova = in->iova, o->pa = in->pa, o->size = in->size, o->perm = in->perm;
        break;
    case IMS_REC_UNMAP:
        o->did = in->did, o->iova = in->iova, o->size = in->size;
        break;
    case IMS_REC_INV_IOTLB:
        o->gran = in->gran, o->flags = in->flags & IMS_RECF_IH;
        if (in->gran != IMS_INV_GLOBAL)
            o->did = in->did;
        if (in->gran == IMS_INV_PAGE)
            o->iova = in->iova, o->am = in->am;
        break;
    case IMS_REC_INV_CTX:
        o->gran = in->gran;
        if (in->gran != IMS_INV_GLOBAL)
            o->did = in->did;
        if (in->gran == IMS_INV_DEVICE)
            o->rid = in->rid, o->fm = in->fm;
        break;
    case IMS_REC_ATTACH:
        o->rid = in->rid, o->did = in->did, o->levels = in->levels, o->tt = in->tt, o->pa = in->pa;
        o->flags = in->flags & (IMS_RECF_SM | IMS_RECF_DTE | IMS_RECF_PRE);
        if (in->flags & IMS_RECF_SM)
            o->pasid = in->pasid;
        break;
    case IMS_REC_VM:
        o->vm = in->vm, o->levels = in->levels, o->pa = in->pa, o->size = in->size;
        break;
    case IMS_REC_PROC:
        o->pid = in->pid, o->levels = in->levels, o->vm = in->vm;
        break;
    case IMS_REC_PMAP:
        o->perm = in->perm, o->pa = in->pa;
        /* fall through */
    case IMS_REC_PUNMAP:
        o->pid = in->pid, o->iova = in->iova, o->size = in->size;
        break;
    case IMS_REC_BIND:
        o->rid = in->rid, o->pasid = in->pasid, o->flags = in->flags;
        if (!(in->flags & IMS_RECF_UNBIND))
            o->did = in->did;
        if (!(in->flags & (IMS_RECF_UNBIND | IMS_RECF_SL | IMS_RECF_PT)))
            o->pid = in->pid;
        break;
    case IMS_REC_INV_PASID:
        o->target = in->target, o->flags = in->flags & IMS_RECF_IH;
        if (in->target == IMS_PINV_T_PASID_CACHE || in->target == IMS_PINV_T_PIOTLB) {
            o->gran = in->gran;
            if (in->gran != IMS_PINV_GLOBAL)
                o->did = in->did;
            if (in->gran == IMS_PINV_PASID || in->gran == IMS_PINV_PAGE)
                o->pasid = in->pasid;
            if (in->gran == IMS_PINV_PAGE)
                o->iova = in->iova, o->am = in->am;
        } else {
            o->rid = in->rid, o->iova = in->iova, o->size = in->size;
            if (in->target == IMS_PINV_T_PASID_DEVTLB)
                o->pasid = in->pasid;
        }
        break;
    case IMS_REC_PGRESP:
        o->rid = in->rid, o->flags = in->flags, o->prg = in->prg, o->resp = in->resp;
        if (in->flags & IMS_RECF_PASID)
            o->pasid = in->pasid;
        break;
    case IMS_REC_DETACH:
        o->rid = in->rid;
        break;
    case IMS_REC_MARK:
        memcpy(o->label, in->label, strnlen(in->label, IMS_REC_LABEL_MAX - 1));
        break;
    }
}

bool tu_rec_equal(const struct ims_rec *x, const struct ims_rec *y)
{
    struct ims_rec a, b;
    tu_canon(x, &a);
    tu_canon(y, &b);
    return a.ts == b.ts && a.iova == b.iova && a.pa == b.pa && a.size == b.size && a.pasid == b.pasid &&
           a.rid == b.rid && a.did == b.did && a.kind == b.kind && a.flags == b.flags && a.perm == b.perm &&
           a.gran == b.gran && a.am == b.am && a.fm == b.fm && a.levels == b.levels && a.tt == b.tt &&
           a.reason == b.reason && a.prg == b.prg && a.pid == b.pid && a.vm == b.vm && a.target == b.target &&
           a.resp == b.resp && !memcmp(a.label, b.label, sizeof a.label);
}

int tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    fclose(f);
    return n == len ? 0 : -1;
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) {
        p[n] = 0;
        if (len)
            *len = (size_t)n;
    }
    return p;
}

bool tu_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

void tu_varied_rec(uint64_t i, struct ims_rec *r)
{
    memset(r, 0, sizeof *r);
    if (i % 5 == 4) {
        r->kind = IMS_REC_MAP;
        r->did = (uint16_t)i;
        r->iova = i << 12;
        r->pa = (i * 7) << 12;
        r->size = 4096;
        r->perm = IMS_PERM_RW;
    } else {
        r->kind = IMS_REC_DMA;
        r->ts = i * 3;
        r->rid = (uint16_t)(i * 13);
        r->iova = i * 0x1234567;
        r->size = 1 + (i & 0xfff);
        r->flags = (uint8_t)(i & 1 ? IMS_RECF_WRITE | IMS_RECF_EXPECT_PA : IMS_RECF_PASID);
        r->pa = i & 1 ? i << 20 : 0;
        r->pasid = i & 1 ? 0 : (uint32_t)(i & 0xfffff);
    }
}

void tu_sample_hdr(struct ims_trace_hdr *h)
{
    memset(h, 0, sizeof *h);
    h->version = IMS_TRACE_VERSION;
    strcpy(h->creator, "iommusim tests");
    strcpy(h->source, "hand-made: every field");
    h->topo.n_bridges = 2;
    h->topo.bridges = calloc(2, sizeof *h->topo.bridges);
    strcpy(h->topo.bridges[0].name, "pcie-bridge");
    h->topo.bridges[0].bdf = IMS_BDF(0, 0x1e, 0);
    h->topo.bridges[0].secondary_bus = 5;
    h->topo.bridges[0].kind = IMS_BRIDGE_PCIE_TO_PCI;
    h->topo.bridges[0].parent = IMS_TOPO_NONE;
    strcpy(h->topo.bridges[1].name, "pci-bridge");
    h->topo.bridges[1].bdf = IMS_BDF(5, 1, 0);
    h->topo.bridges[1].secondary_bus = 6;
    h->topo.bridges[1].kind = IMS_BRIDGE_PCI_TO_PCI;
    h->topo.bridges[1].parent = 0;
    h->topo.n_devices = 3;
    h->topo.devices = calloc(3, sizeof *h->topo.devices);
    strcpy(h->topo.devices[0].name, "nic0");
    h->topo.devices[0].bdf = IMS_BDF(3, 0, 0);
    h->topo.devices[0].bridge = IMS_TOPO_NONE;
    strcpy(h->topo.devices[1].name, "legacy0");
    h->topo.devices[1].bdf = IMS_BDF(5, 2, 1);
    h->topo.devices[1].bridge = 0;
    strcpy(h->topo.devices[2].name, "legacy1");
    h->topo.devices[2].bdf = IMS_BDF(6, 3, 0);
    h->topo.devices[2].bridge = 1;
}

void tu_recs_free(struct tu_recs *r)
{
    free(r->v);
    ims_trace_hdr_free(&r->hdr);
    memset(r, 0, sizeof *r);
}

void tu_read_all(const char *path, struct tu_recs *out)
{
    char err[512];
    struct ims_trace_reader *rd = ims_trace_open(path, err, sizeof err);
    ck_assert_msg(rd, "open %s: %s", path, err);
    memset(out, 0, sizeof *out);
    ck_assert_int_eq(ims_trace_hdr_copy(&out->hdr, ims_trace_header(rd)), 0);
    size_t cap = 0;
    struct ims_rec r;
    int got;
    while ((got = ims_trace_next(rd, &r)) == 1) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 256;
            out->v = realloc(out->v, cap * sizeof *out->v);
            ck_assert_ptr_nonnull(out->v);
        }
        out->v[out->n++] = r;
    }
    ck_assert_msg(got == 0, "read %s: %s", path, ims_trace_error(rd));
    ims_trace_close(rd);
}

char *tu_copy_chain(const char *const *chain, size_t n)
{
    char err[512];
    for (size_t k = 0; k + 1 < n; k++) {
        struct ims_trace_reader *r = ims_trace_open(tu_path(chain[k]), err, sizeof err);
        ck_assert_msg(r != NULL, "%s", err);
        struct ims_trace_writer *w = ims_trace_create(tu_path(chain[k + 1]), ims_trace_header(r), err, sizeof err);
        ck_assert_msg(w != NULL, "%s", err);
        struct ims_rec rec;
        int rc;
        while ((rc = ims_trace_next(r, &rec)) == 1)
            ck_assert_int_eq(ims_trace_write(w, &rec), 0);
        ck_assert_int_eq(rc, 0);
        ck_assert_int_eq(ims_trace_commit(w, err, sizeof err), 0);
        ims_trace_close(r);
    }
    size_t la, lb;
    char *a = tu_read_file(tu_path(chain[0]), &la);
    char *b = tu_read_file(tu_path(chain[n - 1]), &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert_int_eq(memcmp(a, b, la), 0);
    free(b);
    return a;
}

int tu_qemu_convert(const char *log, const char *out, struct ims_qemu_vtd_stats *st, char *err, size_t errlen)
{
    ck_assert_int_eq(tu_write_file(tu_path("in.log"), log, strlen(log)), 0);
    struct ims_qemu_vtd_opts o;
    ims_qemu_vtd_opts_default(&o);
    return ims_qemu_vtd_convert(tu_path("in.log"), tu_path(out), &o, st, err, errlen);
}

void tu_qemu_convert_ok(const char *log, struct ims_qemu_vtd_stats *st, struct tu_recs *out)
{
    char err[512] = "";
    ck_assert_msg(tu_qemu_convert(log, "out.itr", st, err, sizeof err) == 0, "convert: %s", err);
    tu_read_all(tu_path("out.itr"), out);
}

uint64_t tu_expect_read_error(const char *path, const char *want)
{
    char err[1024];
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    struct ims_rec rec;
    int rc;
    while ((rc = ims_trace_next(r, &rec)) == 1)
        ;
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(ims_trace_error(r), want) != NULL, "expected '%s', got '%s'", want, ims_trace_error(r));
    ck_assert_msg(strstr(ims_trace_error(r), path) != NULL, "no file name: '%s'", ims_trace_error(r));
    uint64_t idx = ims_trace_index(r);
    ims_trace_close(r);
    return idx;
}

void tu_expect_rec(struct ims_trace_reader *r, size_t i, const struct ims_rec *want, struct ims_rec *got)
{
    ck_assert_msg(ims_trace_next(r, got) == 1, "record %zu: %s", i, ims_trace_error(r));
    char a[256], b[256];
    ims_rec_format(want, a, sizeof a);
    ims_rec_format(got, b, sizeof b);
    ck_assert_msg(tu_rec_equal(got, want), "record %zu: wrote '%s', read '%s'", i, a, b);
}
