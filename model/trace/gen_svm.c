/* `trace gen svm`: shared virtual memory (docs/tools.md). Processes hand
 * their heap buffers to an accelerator by pointer: the device reads and
 * writes user virtual addresses with the process's PASID, translated
 * through the process's own x86-64 page table (PGTT first-level), or, with
 * --nested, the processes live in a VM and each PASID is bound nested over
 * the VM's second level.
 *
 * Per process: a heap that grows like malloc's (a bump pointer; buffers of
 * 4..64 KiB, not page aligned, so consecutive buffers share pages), pages
 * mapped as they are first touched (one pmap per page, before the device
 * touches it: the pre-faulted form; with --pri on the device touches first,
 * and the OS resolves the fault through the page request: pmap, then
 * pgresp), and the oldest buffers freed once
 * the heap's mapped window passes 256 KiB: punmap of the pages no live buffer
 * uses, then the PASID-based IOTLB invalidation the kernel issues for a
 * munmap of a bound mm (page-selective, the smallest aligned 2^am block
 * covering the range). Every DMA record stays inside one page and carries
 * its expected output address, so `trace validate` checks every one.
 *
 * --pri on draws the same random numbers as --pri off, so its DMA records
 * are --pri off's, with only their timestamps moved by the service times.
 *
 * Deterministic per seed: its own splitmix64, the same as gen.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/gen.h"
#include "iommusim/iommu.h"
#include "iommusim/tb.h"
#include "iommusim/trace.h"
#include "errf.h"
#include "gen_impl.h"

#define S_PAGE       UINT64_C(4096)
#define S_WINDOW     64u                          /* mapped heap pages per process (256 KiB) before frees start */
#define S_HEAP_BASE  UINT64_C(0x0000555500000000) /* process p's heap at base + p * 2^32 */
#define S_RID        IMS_BDF(3, 0, 0)
#define S_DID_DMA    1u                           /* the device's DMA-API domain (RID_PASID) */
#define S_DID_PROC   16u                          /* process p binds with domain id 16 + p */
#define S_VM_RAM_HPA (UINT64_C(1) << 32)          /* --nested: guest RAM at host 4 GiB ... */
#define S_VM_RAM     (UINT64_C(4) << 30)          /* ... 4 GiB of it */
#define S_DATA_LO    (UINT64_C(16) << 20)         /* data frames from 16 MiB ... */
#define S_DATA_PGS   (UINT64_C(1) << 19)          /* ... 2 GiB of them (below the guest's table frames) */
#define S_BUFS       256u                         /* live buffers per process, at most */
#define S_PRG_MOD    (IMS_REC_PRG_MAX + 1u)        /* page request group indexes are 9 bits (0..511) */

struct sbuf {
    uint64_t va, size;
};

struct sproc {
    uint64_t brk;          /* heap end (next buffer starts here) */
    uint64_t lo, hi;       /* heap pages with a frame: [lo, hi), page aligned */
    uint64_t mapped;       /* [lo, mapped) is in the page table; --pri off: = hi; on: the device's first touches
                              come in address order, so the touched pages are a prefix of [lo, hi) */
    uint64_t pa[S_WINDOW + 32]; /* pa of page i of [lo, hi) at [(va / 4096) % ring] */
    struct sbuf buf[S_BUFS]; /* live buffers, oldest first (a ring) */
    unsigned head, n;
};

struct svm {
    const struct ims_gen_cfg *cfg;
    struct ims_trace_writer *w;
    struct ims_gen_stats *st;
    uint64_t rng, ts, warm_at;
    unsigned prg;          /* --pri on: the device's next page request group index (0..511) */
    bool failed;
    char *err;
    size_t errlen;
    struct sproc *proc;
};

#define S_RING (S_WINDOW + 32)

static uint64_t s_rng(struct svm *s)
{
    return ims_gen_splitmix64(&s->rng);
}

static uint64_t s_below(struct svm *s, uint64_t n)
{
    return ((s_rng(s) >> 32) * n) >> 32;
}

static bool s_done(const struct svm *s)
{
    return s->failed || s->st->dma >= s->cfg->count;
}

static void s_emit(struct svm *s, struct ims_rec *r)
{
    if (s->failed)
        return;
    r->ts = s->ts;
    if (ims_trace_write(s->w, r) < 0) {
        snprintf(s->err, s->errlen, "%s", ims_trace_writer_error(s->w));
        s->failed = true;
        return;
    }
    s->st->records++;
    if (r->kind == IMS_REC_DMA) {
        s->st->dma++;
        s->st->dma_bytes += r->size;
    } else if (r->kind == IMS_REC_PMAP) {
        s->st->maps++;
    } else if (r->kind == IMS_REC_PUNMAP) {
        s->st->unmaps++;
    } else if (r->kind == IMS_REC_INV_PASID) {
        s->st->invalidations++;
    } else if (r->kind == IMS_REC_ATTACH) {
        s->st->attaches++;
    }
}

/* MARK warmup-end once the first warm_at DMA records are out: after the
 * record that reached it and, with --pri on, its page request's answer, so
 * a page request and its pgresp are never split by the mark. */
static void s_mark(struct svm *s)
{
    if (s->warm_at && s->st->dma == s->warm_at) {
        struct ims_rec m = {.kind = IMS_REC_MARK, .label = "warmup-end"};
        s_emit(s, &m);
    }
}

/* The output address of a data frame: guest-physical frames live at
 * S_VM_RAM_HPA + gpa on the host. */
static uint64_t s_out(const struct svm *s, uint64_t pa)
{
    return s->cfg->nested ? S_VM_RAM_HPA + pa : pa;
}

/* The OS maps heap page va of process p to its frame. */
static void s_pmap(struct svm *s, unsigned p, uint64_t va)
{
    struct ims_rec r = {.kind = IMS_REC_PMAP, .pid = (uint8_t)p, .iova = va, .pa = s->proc[p].pa[(va >> 12) % S_RING],
                        .size = S_PAGE, .perm = IMS_TB_SM_W};
    s_emit(s, &r);
}

/* Gives heap pages up to `end` their frames. --pri off: the process
 * touches them first (one pmap per page, now); on: they are mapped at the
 * device's first touch (s_fault). */
static void s_touch(struct svm *s, unsigned p, uint64_t end)
{
    struct sproc *q = &s->proc[p];
    while (q->hi < end && !s->failed) {
        q->pa[(q->hi >> 12) % S_RING] = S_DATA_LO + (s_below(s, S_DATA_PGS) << 12);
        if (!s->cfg->pri) {
            s_pmap(s, p, q->hi);
            q->mapped = q->hi + S_PAGE;
        }
        q->hi += S_PAGE;
    }
}

/* --pri on: the DMA record just written, of process p, touched [va, end).
 * If it reached pages not mapped yet, the device sent one page request
 * group for them; pri_service ns later the OS has mapped each of them (the
 * IOMMU driver's page fault handler; Linux: handle_mm_fault; one pmap per
 * page) and answers the group (pgresp ... resp=success). The device's
 * stream waits for the answer (it retries the held access, then goes on),
 * so the next record comes after it and the trace stays in time order. */
static void s_fault(struct svm *s, unsigned p, uint64_t va, uint64_t end)
{
    struct sproc *q = &s->proc[p];
    const uint64_t last = (end - 1) & ~(S_PAGE - 1);
    if (last < q->mapped)
        return;
    s->ts += s->cfg->pri_service;
    for (uint64_t pg = va & ~(S_PAGE - 1); pg <= last; pg += S_PAGE)
        if (pg >= q->mapped)
            s_pmap(s, p, pg);
    q->mapped = last + S_PAGE;
    struct ims_rec g = {.kind = IMS_REC_PGRESP, .rid = S_RID, .flags = IMS_RECF_PASID, .pasid = p + 1,
                        .prg = (uint16_t)s->prg, .resp = IMS_PGRESP_SUCCESS};
    s_emit(s, &g);
    s->prg = (s->prg + 1) % S_PRG_MOD;
}

/* Frees the oldest buffer; unmaps the pages below the next live buffer and
 * invalidates them in the PASID-based IOTLB. */
static void s_free_oldest(struct svm *s, unsigned p)
{
    struct sproc *q = &s->proc[p];
    if (!q->n)
        return;
    q->head = (q->head + 1) % S_BUFS;
    q->n--;
    const uint64_t keep = q->n ? q->buf[q->head].va & ~(S_PAGE - 1) : q->hi;
    if (keep <= q->lo)
        return;
    struct ims_rec u = {.kind = IMS_REC_PUNMAP, .pid = (uint8_t)p, .iova = q->lo, .size = keep - q->lo};
    s_emit(s, &u);
    /* The smallest 2^am-page block, aligned, holding [lo, keep). */
    const uint64_t first = q->lo >> 12, last = (keep - 1) >> 12;
    unsigned am = 0;
    while ((first >> am) != (last >> am))
        am++;
    struct ims_rec inv = {.kind = IMS_REC_INV_PASID, .target = IMS_PINV_T_PIOTLB, .gran = IMS_PINV_PAGE,
                          .did = (uint16_t)(S_DID_PROC + p), .pasid = p + 1, .iova = (first >> am) << (12 + am),
                          .am = (uint8_t)am};
    s_emit(s, &inv);
    q->lo = keep;
}

/* One buffer: malloc'ed from the heap, touched by the process (pmap of its
 * new pages), handed to the device, which streams over it by pointer. */
static void s_buffer(struct svm *s, unsigned p)
{
    struct sproc *q = &s->proc[p];
    const uint64_t size = 4096 + 64 * s_below(s, 60 * 16); /* 4 KiB .. ~64 KiB, 64-byte granular */
    while (q->n && (q->n == S_BUFS || ((q->brk + size + S_PAGE - 1) >> 12) - (q->lo >> 12) > S_WINDOW))
        s_free_oldest(s, p);
    const uint64_t va = q->brk;
    q->brk += size + 16; /* malloc's header between chunks */
    q->buf[(q->head + q->n) % S_BUFS] = (struct sbuf){va, size};
    q->n++;
    if (q->lo == q->hi) /* nothing mapped: the window restarts here */
        q->lo = q->hi = q->mapped = va & ~(S_PAGE - 1);
    s_touch(s, p, (va + size + S_PAGE - 1) & ~(S_PAGE - 1));
    const bool write = s_below(s, 2) != 0;
    for (uint64_t off = 0; off < size && !s_done(s);) {
        const uint64_t a = va + off;
        uint64_t n = 256u << s_below(s, 5); /* 256 B .. 4 KiB */
        const uint64_t in_page = S_PAGE - (a & (S_PAGE - 1));
        if (n > in_page)
            n = in_page;
        if (n > size - off)
            n = size - off;
        s->ts += 1 + s_below(s, 2 * s->cfg->gap);
        struct ims_rec r = {.kind = IMS_REC_DMA, .rid = S_RID, .iova = a, .size = n,
                            .flags = IMS_RECF_PASID | IMS_RECF_EXPECT_PA | (write ? IMS_RECF_WRITE : 0),
                            .pasid = p + 1, .pa = s_out(s, q->pa[(a >> 12) % S_RING]) + (a & (S_PAGE - 1))};
        s_emit(s, &r);
        if (s->cfg->pri)
            s_fault(s, p, a, a + n);
        s_mark(s);
        off += n;
    }
}

int ims_gen_svm(const struct ims_gen_cfg *cfg, struct ims_trace_writer *w, struct ims_gen_stats *st, char *err,
                size_t errlen)
{
    struct svm s = {.cfg = cfg, .w = w, .st = st, .rng = cfg->seed, .err = err, .errlen = errlen};
    s.warm_at = (uint64_t)(cfg->warmup * (double)cfg->count);
    s.proc = calloc(cfg->processes, sizeof *s.proc);
    if (!s.proc)
        return ims_errf(err, errlen, "out of memory");
    /* The accelerator: a scalable-mode context entry whose RID_PASID entry
     * is second level over its DMA-API domain (unused by SVM traffic). */
    struct ims_rec a = {.kind = IMS_REC_ATTACH, .rid = S_RID, .did = S_DID_DMA, .levels = 4, /* 48-bit: in every SAGAW */
                        .tt = IMS_TT_UNTRANSLATED, .flags = IMS_RECF_SM};
    if (cfg->pri) /* --pri on: ATS (dte) and page requests (pre) */
        a.flags |= IMS_RECF_DTE | IMS_RECF_PRE;
    s_emit(&s, &a);
    if (cfg->nested) {
        struct ims_rec v = {.kind = IMS_REC_VM, .vm = 0, .levels = 4, .pa = S_VM_RAM_HPA, .size = S_VM_RAM};
        s_emit(&s, &v);
    }
    for (unsigned p = 0; p < cfg->processes; p++) {
        struct ims_rec pr = {.kind = IMS_REC_PROC, .pid = (uint8_t)p, .levels = (uint8_t)cfg->levels,
                             .vm = cfg->nested ? 0 : IMS_REC_VM_NONE};
        s_emit(&s, &pr);
        /* intel_svm_bind_mm: the PASID entry, then a PASID-cache invalidation. */
        struct ims_rec b = {.kind = IMS_REC_BIND, .rid = S_RID, .pasid = p + 1, .pid = (uint8_t)p,
                            .did = (uint16_t)(S_DID_PROC + p)};
        s_emit(&s, &b);
        struct ims_rec ic = {.kind = IMS_REC_INV_PASID, .target = IMS_PINV_T_PASID_CACHE, .gran = IMS_PINV_PASID,
                             .did = (uint16_t)(S_DID_PROC + p), .pasid = p + 1};
        s_emit(&s, &ic);
        s.proc[p].brk = S_HEAP_BASE + ((uint64_t)p << 32) + 16;
    }
    while (!s_done(&s))
        s_buffer(&s, (unsigned)s_below(&s, cfg->processes));
    free(s.proc);
    return s.failed ? -1 : 0;
}
