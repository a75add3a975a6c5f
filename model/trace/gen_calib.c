/* Calibrated generator (`trace gen calib --from RECORDING`, docs/tools.md
 * "Calibrated generation"): measures a recording, then writes a synthetic
 * trace with its footprint, reuse-distance distribution and map/unmap/
 * invalidation shape.
 *
 * Measured from the recording (two passes over it):
 * - the page-access stream exactly as `trace info` defines it: each 4 KiB
 *   (requester id, IOVA page) a DMA record covers, in record order; its
 *   distinct pages F, its exact LRU stack (reuse) distances in stream order
 *   (kept per 1/64 of the stream: a recording's distances depend on how
 *   many pages it has touched so far, which grows),
 *   and the growth of the distinct-page count over the stream (the share of
 *   F first touched by each 1/1024 of the accesses);
 * - the share of writes, the mean bytes per page access, the mean ns between
 *   DMA records (the time span over the DMA count);
 * - the unmap shape: 4 KiB pages unmapped per page access; strict when the
 *   recording's page-selective IOTLB invalidations are at least as many as
 *   its domain and global ones, else deferred with (pages unmapped / domain
 *   or global invalidations) pages per flush.
 *
 * Generated: one device (07:00.0, domain 5); one DMA record per page access,
 * each within one page, so --count (default: the recording's page accesses)
 * is the generated stream's length. Access i is a first touch when the
 * recording's growth curve, scaled to --count, says the distinct-page count
 * should have grown; otherwise a distance d is drawn from the recording's
 * distances in the same 1/64 of the stream (at
 * most 8 draws for one below the pages touched so far, else the deepest) and
 * the page at LRU depth d is used: the reuse distances `trace info` measures
 * on the output follow the recording's. A page is mapped (4 KiB, a fresh
 * frame) before its first use after being unmapped. Unmaps keep the
 * recording's rate: after access i the page just used is unmapped whenever
 * fewer than (pages unmapped per access) x i pages are. Strict: UNMAP +
 * page-selective invalidation at once. Deferred: held until the batch's
 * UNMAPs and one domain-selective invalidation go out together (as gen.c
 * does, for the reason its header gives); a held page used again before the
 * flush has its unmap withdrawn (it stays mapped, and the rate unmaps another
 * page later), since flushing early would multiply the flushes.
 *
 * Memory: the recording's page accesses x 8 bytes (the Fenwick tree of the
 * second pass), its reuses x 4 bytes, and about 40 bytes per distinct page;
 * not the output length.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/gen.h"
#include "iommusim/iommu.h"
#include "iommusim/topo.h"
#include "iommusim/trace.h"
#include "errf.h"
#include "gen_calib.h"
#include "gen_impl.h"

#define CAL_PAGE UINT64_C(4096)
#define CAL_IOVA UINT64_C(0x100000)       /* page k of the footprint at CAL_IOVA + k * 4 KiB */
#define CAL_DATA_PA UINT64_C(0x100000000) /* frames from [4 GiB, 20 GiB), as gen.c's data pages */
#define CAL_DATA_PGS (UINT64_C(4) << 20)
#define CAL_CURVE 1024 /* growth-curve points */
#define CAL_SEGS 64    /* segments of the stream, each drawing from its own reuse distances */
#define CAL_RID IMS_BDF(7, 0, 0)
#define CAL_DID 5
#define CAL_BATCH 8192 /* records read at once */

/* ---- The profile of a recording ---- */

struct cal_prof {
    uint64_t dma, accesses, writes, bytes, ts_min, ts_max;
    uint64_t unmap_pages, inv_page, inv_dom;
    uint64_t footprint;          /* distinct (rid, page) pairs */
    uint64_t reuses;             /* accesses that were not first touches */
    uint32_t *dist;              /* every reuse's distance, in stream order (reuses entries) */
    uint64_t seg[CAL_SEGS + 1];  /* seg[k]: reuses before segment k of the accesses */
    double curve[CAL_CURVE + 1]; /* share of the footprint touched after k/CAL_CURVE of the accesses */
};

/* Open-addressing set of (rid, page) with each pair's last access time. */
struct cal_set {
    uint64_t *key; /* page + 1; 0 = empty */
    uint64_t *val; /* rid | last time << 16 */
    size_t cap, n;
};

static uint64_t cal_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t *cal_slot(struct cal_set *s, uint16_t rid, uint64_t page, int *fresh)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 1024;
        uint64_t *nk = calloc(nc, 8), *nv = calloc(nc, 8);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return NULL;
        }
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->key[i])
                continue;
            size_t h = cal_mix(s->key[i] ^ ((s->val[i] & 0xffff) << 52)) & (nc - 1);
            while (nk[h])
                h = (h + 1) & (nc - 1);
            nk[h] = s->key[i];
            nv[h] = s->val[i];
        }
        free(s->key);
        free(s->val);
        s->key = nk;
        s->val = nv;
        s->cap = nc;
    }
    uint64_t k = page + 1;
    size_t h = cal_mix(k ^ ((uint64_t)rid << 52)) & (s->cap - 1);
    while (s->key[h]) {
        if (s->key[h] == k && (s->val[h] & 0xffff) == rid) {
            *fresh = 0;
            return &s->val[h];
        }
        h = (h + 1) & (s->cap - 1);
    }
    s->key[h] = k;
    s->val[h] = rid;
    s->n++;
    *fresh = 1;
    return &s->val[h];
}

/* Reads every record of `path`, calling `fn` on each; 0 or -1 with err. */
static int cal_scan(const char *path, int (*fn)(void *, const struct ims_rec *), void *arg, char *err, size_t errlen)
{
    struct ims_trace_reader *r = ims_trace_open(path, err, errlen);
    if (!r)
        return -1;
    struct ims_rec *recs = malloc(CAL_BATCH * sizeof *recs);
    if (!recs) {
        ims_trace_close(r);
        return ims_errf(err, errlen, "%s: out of memory", path);
    }
    long n;
    int rc = 0;
    while ((n = ims_trace_read(r, recs, CAL_BATCH)) > 0)
        for (long i = 0; i < n && !rc; i++)
            if (fn(arg, &recs[i]) < 0)
                rc = ims_errf(err, errlen, "%s: out of memory measuring the recording", path);
    if (n < 0 && !rc)
        rc = ims_errf(err, errlen, "%s", ims_trace_error(r));
    free(recs);
    ims_trace_close(r);
    return rc;
}

static int pass1(void *arg, const struct ims_rec *x)
{
    struct cal_prof *p = arg;
    switch (x->kind) {
    case IMS_REC_DMA:
        p->dma++;
        p->accesses += ((x->iova + (x->size ? x->size : 1) - 1) >> 12) - (x->iova >> 12) + 1;
        p->writes += (x->flags & IMS_RECF_WRITE) != 0;
        p->bytes += x->size;
        if (x->ts < p->ts_min)
            p->ts_min = x->ts;
        if (x->ts > p->ts_max)
            p->ts_max = x->ts;
        break;
    case IMS_REC_UNMAP:
        p->unmap_pages += (x->size + CAL_PAGE - 1) / CAL_PAGE;
        break;
    case IMS_REC_INV_IOTLB:
        if (x->gran == IMS_INV_PAGE)
            p->inv_page++;
        else
            p->inv_dom++;
        break;
    default:
        break;
    }
    return 0;
}

/* Second pass: exact stack distances with a Fenwick tree over access times
 * (a 1 at each pair's last use; the distance is the count of ones after the
 * previous use), as `trace info` counts them. */
struct pass2 {
    struct cal_prof *p;
    struct cal_set set;
    uint64_t *bit, cap, now; /* now: the next time, 1-based */
    uint64_t dcap;           /* entries allocated in p->dist */
    uint64_t next_pt;        /* next growth-curve point to record */
    uint64_t next_seg;       /* next segment start to record */
};

static uint64_t bsum(const struct pass2 *s, uint64_t i)
{
    uint64_t v = 0;
    for (; i; i &= i - 1)
        v += s->bit[i - 1];
    return v;
}

static void badd(struct pass2 *s, uint64_t i, int64_t v)
{
    for (; i <= s->cap; i += i & (~i + 1))
        s->bit[i - 1] += (uint64_t)v;
}

static int touch(struct pass2 *s, uint16_t rid, uint64_t page)
{
    int fresh;
    uint64_t *v = cal_slot(&s->set, rid, page, &fresh);
    /* Segment k of the stream starts at access k * accesses / CAL_SEGS (0-based). */
    while (s->next_seg < CAL_SEGS && s->next_seg * s->p->accesses <= (s->now - 1) * CAL_SEGS)
        s->p->seg[s->next_seg++] = s->p->reuses;
    if (!v)
        return -1;
    if (!fresh) {
        uint64_t last = *v >> 16;
        uint64_t d = bsum(s, s->now - 1) - bsum(s, last);
        badd(s, last, -1);
        if (s->p->reuses == s->dcap) {
            uint64_t nc = s->dcap ? 2 * s->dcap : 4096;
            uint32_t *nd = realloc(s->p->dist, nc * sizeof *nd);
            if (!nd)
                return -1;
            s->p->dist = nd;
            s->dcap = nc;
        }
        s->p->dist[s->p->reuses] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
        s->p->reuses++;
    }
    badd(s, s->now, 1);
    *v = (*v & 0xffff) | (s->now << 16);
    /* Growth curve: after access `now` (1-based), the points k with
     * k * accesses / CAL_CURVE <= now take the distinct count so far. */
    while (s->next_pt <= CAL_CURVE && s->next_pt * s->p->accesses <= s->now * CAL_CURVE)
        s->p->curve[s->next_pt++] = (double)s->set.n;
    s->now++;
    return 0;
}

static int pass2(void *arg, const struct ims_rec *x)
{
    struct pass2 *s = arg;
    if (x->kind != IMS_REC_DMA)
        return 0;
    uint64_t first = x->iova >> 12, last = (x->iova + (x->size ? x->size : 1) - 1) >> 12;
    for (uint64_t pg = first; pg <= last; pg++)
        if (touch(s, x->rid, pg) < 0)
            return -1;
    return 0;
}

static void prof_free(struct cal_prof *p)
{
    free(p->dist);
}

static int measure(const char *path, struct cal_prof *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->ts_min = UINT64_MAX;
    if (cal_scan(path, pass1, p, err, errlen) < 0)
        return -1;
    if (!p->dma)
        return ims_errf(err, errlen, "%s: no dma records to calibrate from", path);
    struct pass2 s = {.p = p, .now = 1, .cap = p->accesses};
    s.bit = calloc(s.cap, 8);
    if (!s.bit)
        return ims_errf(err, errlen, "%s: out of memory measuring the recording", path);
    int rc = cal_scan(path, pass2, &s, err, errlen);
    if (!rc && s.now - 1 != p->accesses)
        rc = ims_errf(err, errlen, "%s: changed while it was read", path);
    if (!rc) {
        p->footprint = s.set.n;
        for (uint64_t k = 0; k <= CAL_CURVE; k++)
            p->curve[k] /= (double)p->footprint;
        p->curve[CAL_CURVE] = 1.0;
        for (; s.next_seg <= CAL_SEGS; s.next_seg++)
            p->seg[s.next_seg] = p->reuses;
    }
    free(s.bit);
    free(s.set.key);
    free(s.set.val);
    return rc;
}

/* ---- Generation ---- */

struct cal_gen {
    const struct ims_gen_cfg *cfg;
    struct ims_trace_writer *w;
    struct ims_gen_stats st;
    uint64_t rng, ts;
    int failed;
    char err[512];
};

static uint64_t cal_rng(struct cal_gen *g)
{
    return ims_gen_splitmix64(&g->rng); /* gen_impl.h */
}

/* Uniform in [0, n), n >= 1 (53-bit fraction: no bias worth the name below 2^40). */
static uint64_t cal_below(struct cal_gen *g, uint64_t n)
{
    uint64_t v = (uint64_t)((double)(cal_rng(g) >> 11) * (1.0 / 9007199254740992.0) * (double)n);
    return v < n ? v : n - 1;
}

static void cal_emit(struct cal_gen *g, struct ims_rec *r)
{
    if (g->failed)
        return;
    r->ts = g->ts;
    if (ims_trace_write(g->w, r) < 0) {
        snprintf(g->err, sizeof g->err, "%s", ims_trace_writer_error(g->w));
        g->failed = 1;
        return;
    }
    g->st.records++;
    switch (r->kind) {
    case IMS_REC_DMA:
        g->st.dma++;
        g->st.dma_bytes += r->size;
        break;
    case IMS_REC_MAP:
        g->st.maps++;
        break;
    case IMS_REC_UNMAP:
        g->st.unmaps++;
        break;
    case IMS_REC_INV_IOTLB:
        g->st.invalidations++;
        break;
    case IMS_REC_ATTACH:
        g->st.attaches++;
        break;
    default:
        break;
    }
}

enum { PG_UNMAPPED = 0, PG_MAPPED = 1, PG_HELD = 2 };

struct cal_state {
    uint8_t *st;    /* per footprint page: PG_* */
    uint64_t *pa;   /* its current frame */
    uint32_t *held; /* deferred: pages awaiting the flush */
    uint64_t nheld, batch;
};

static void flush(struct cal_gen *g, struct cal_state *s)
{
    if (!s->nheld)
        return;
    for (uint64_t i = 0; i < s->nheld; i++) {
        struct ims_rec r = {
            .kind = IMS_REC_UNMAP, .did = CAL_DID, .iova = CAL_IOVA + s->held[i] * CAL_PAGE, .size = CAL_PAGE};
        cal_emit(g, &r);
        s->st[s->held[i]] = PG_UNMAPPED;
    }
    struct ims_rec inv = {.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_DOMAIN, .did = CAL_DID};
    cal_emit(g, &inv);
    s->nheld = 0;
}

static double curve_at(const struct cal_prof *p, double x)
{
    double k = x * CAL_CURVE;
    uint64_t i = (uint64_t)k;
    if (i >= CAL_CURVE)
        return p->curve[CAL_CURVE];
    return p->curve[i] + (p->curve[i + 1] - p->curve[i]) * (k - (double)i);
}

/* A reuse distance below `depth` drawn from the recording's reuses in the
 * segment that corresponds to position x (0..1) of the output, or from all of
 * them when that segment has none. */
static uint64_t draw_distance(struct cal_gen *g, const struct cal_prof *p, double x, uint64_t depth)
{
    if (!p->reuses)
        return 0;
    uint64_t k = (uint64_t)(x * CAL_SEGS);
    if (k >= CAL_SEGS)
        k = CAL_SEGS - 1;
    uint64_t lo = p->seg[k], n = p->seg[k + 1] - p->seg[k];
    if (!n) {
        lo = 0;
        n = p->reuses;
    }
    for (int t = 0; t < 8; t++) {
        uint64_t d = p->dist[lo + cal_below(g, n)];
        if (d < depth)
            return d;
    }
    return depth - 1;
}

static void generate(struct cal_gen *g, const struct cal_prof *p)
{
    const struct ims_gen_cfg *c = g->cfg;
    const uint64_t n = c->count ? c->count : p->accesses;
    const uint64_t fp = p->footprint < n ? p->footprint : n;
    const double p_unmap = p->unmap_pages >= p->accesses ? 1.0 : (double)p->unmap_pages / (double)p->accesses;
    const int strict = p->inv_page >= p->inv_dom;
    const double p_write = (double)p->writes / (double)p->dma;
    uint64_t size = (p->bytes + p->accesses / 2) / p->accesses;
    size = size < 1 ? 1 : size > CAL_PAGE ? CAL_PAGE : size;
    const uint64_t gap = c->gap ? c->gap : ((p->ts_max - p->ts_min) / p->dma ? (p->ts_max - p->ts_min) / p->dma : 1);
    const uint64_t warm_at = (uint64_t)(c->warmup * (double)n);
    struct cal_state s = {0};
    s.batch = p->inv_dom ? (p->unmap_pages + p->inv_dom / 2) / p->inv_dom : 1;
    if (s.batch < 1)
        s.batch = 1;
    uint32_t *stk = malloc(fp * sizeof *stk);
    s.st = calloc(fp, 1);
    s.pa = calloc(fp, 8);
    s.held = malloc((s.batch < fp ? s.batch : fp) * sizeof *s.held);
    if (!stk || !s.st || !s.pa || !s.held) {
        snprintf(g->err, sizeof g->err, "out of memory");
        g->failed = 1;
        goto out;
    }
    struct ims_rec at = {.kind = IMS_REC_ATTACH,
                         .rid = CAL_RID,
                         .did = CAL_DID,
                         .levels = (uint8_t)c->levels,
                         .tt = IMS_TT_UNTRANSLATED};
    cal_emit(g, &at);
    uint64_t touched = 0;  /* pages on the LRU stack: stk[touched - 1] is the most recent */
    uint64_t unmapped = 0; /* pages unmapped, or held for a flush */
    for (uint64_t i = 0; i < n && !g->failed; i++) {
        uint64_t target = (uint64_t)((double)fp * curve_at(p, (double)(i + 1) / (double)n) + 0.5);
        if (i + 1 == n || target > fp)
            target = fp;
        uint32_t pg;
        if (touched < target || touched == 0) {
            pg = (uint32_t)touched;
            stk[touched++] = pg;
        } else {
            uint64_t d = draw_distance(g, p, (double)i / (double)n, touched);
            uint64_t at_i = touched - 1 - d;
            pg = stk[at_i];
            memmove(stk + at_i, stk + at_i + 1, d * sizeof *stk);
            stk[touched - 1] = pg;
        }
        if (s.st[pg] == PG_HELD) {
            /* Used again before its flush: the unmap is withdrawn (the page
             * stays mapped; the rate below unmaps another one instead). */
            uint64_t h = 0;
            while (s.held[h] != pg)
                h++;
            memmove(s.held + h, s.held + h + 1, (s.nheld - h - 1) * sizeof *s.held);
            s.nheld--;
            s.st[pg] = PG_MAPPED;
            unmapped--;
        }
        if (s.st[pg] == PG_UNMAPPED) {
            s.pa[pg] = CAL_DATA_PA + (cal_below(g, CAL_DATA_PGS) << 12);
            struct ims_rec m = {.kind = IMS_REC_MAP,
                                .did = CAL_DID,
                                .iova = CAL_IOVA + pg * CAL_PAGE,
                                .pa = s.pa[pg],
                                .size = CAL_PAGE,
                                .perm = IMS_PERM_RW};
            cal_emit(g, &m);
            s.st[pg] = PG_MAPPED;
        }
        g->ts += 1 + cal_below(g, 2 * gap);
        uint64_t off = size < CAL_PAGE ? cal_below(g, (CAL_PAGE - size) / 64 + 1) * 64 : 0;
        struct ims_rec r = {.kind = IMS_REC_DMA,
                            .rid = CAL_RID,
                            .iova = CAL_IOVA + pg * CAL_PAGE + off,
                            .size = size,
                            .pa = s.pa[pg] + off};
        r.flags =
            IMS_RECF_EXPECT_PA | ((double)cal_below(g, 1u << 30) < p_write * (double)(1u << 30) ? IMS_RECF_WRITE : 0);
        cal_emit(g, &r);
        if (warm_at && g->st.dma == warm_at) {
            struct ims_rec mk = {.kind = IMS_REC_MARK, .label = "warmup-end"};
            cal_emit(g, &mk);
        }
        /* Unmaps follow the recording's rate: the page just used is unmapped
         * whenever fewer pages than that rate x the accesses so far are. */
        if ((double)unmapped < p_unmap * (double)(i + 1)) {
            unmapped++;
            if (strict) {
                struct ims_rec u = {
                    .kind = IMS_REC_UNMAP, .did = CAL_DID, .iova = CAL_IOVA + pg * CAL_PAGE, .size = CAL_PAGE};
                cal_emit(g, &u);
                struct ims_rec inv = {
                    .kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_PAGE, .did = CAL_DID, .iova = CAL_IOVA + pg * CAL_PAGE};
                cal_emit(g, &inv);
                s.st[pg] = PG_UNMAPPED;
            } else {
                s.held[s.nheld++] = pg;
                s.st[pg] = PG_HELD;
                if (s.nheld == s.batch || s.nheld == fp)
                    flush(g, &s);
            }
        }
    }
    flush(g, &s);
out:
    free(stk);
    free(s.st);
    free(s.pa);
    free(s.held);
}

int ims_gen_calib_write(const struct ims_gen_cfg *cfg, const char *source, const char *path,
                        struct ims_gen_stats *stats, char *err, size_t errlen)
{
    if (!cfg->from || !*cfg->from)
        return ims_errf(err, errlen, "calib: --from RECORDING is required");
    struct cal_prof p;
    if (measure(cfg->from, &p, err, errlen) < 0) {
        prof_free(&p);
        return -1;
    }
    if (p.footprint > UINT32_MAX) {
        prof_free(&p);
        return ims_errf(err, errlen, "%s: %" PRIu64 " distinct pages: more than calib handles (2^32 - 1)", cfg->from,
                        p.footprint);
    }
    struct ims_trace_hdr hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.version = IMS_TRACE_VERSION;
    snprintf(hdr.creator, sizeof hdr.creator, "iommusim trace gen");
    snprintf(hdr.source, sizeof hdr.source, "%s", source);
    hdr.topo.devices = calloc(1, sizeof *hdr.topo.devices);
    if (!hdr.topo.devices) {
        prof_free(&p);
        return ims_errf(err, errlen, "out of memory");
    }
    hdr.topo.n_devices = 1;
    strcpy(hdr.topo.devices[0].name, "calib0");
    hdr.topo.devices[0].bdf = CAL_RID;
    hdr.topo.devices[0].bridge = IMS_TOPO_NONE;
    struct cal_gen g;
    memset(&g, 0, sizeof g);
    g.cfg = cfg;
    g.rng = cfg->seed;
    g.w = ims_trace_create(path, &hdr, err, errlen);
    ims_trace_hdr_free(&hdr);
    if (!g.w) {
        prof_free(&p);
        return -1;
    }
    generate(&g, &p);
    prof_free(&p);
    return ims_gen_finish(g.w, g.failed, g.err, path, &g.st, stats, err, errlen);
}
