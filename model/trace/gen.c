/* Synthetic trace generators (see gen.h for the contract and docs/tools.md
 * for the options). Each generator plays a driver and its device: it maps
 * buffers before the device touches them, lets the device DMA into them with
 * the output address the mapping implies, and unmaps them with the
 * invalidations a Linux-like driver issues.
 *
 * Deferred unmap: Linux's lazy mode clears the page-table entries at unmap
 * time but frees the page-table pages and the IOVAs only after the batched
 * flush. Our table builder frees emptied tables at unmap time, so a cleared
 * but unflushed parent entry could leave a stale paging-structure-cache entry
 * pointing at a reused table frame. The generator therefore writes a batch's
 * UNMAP records together, immediately before its domain-selective flush: no
 * DMA touches those pages in between, so translations are the same, and the
 * IOVAs return to the allocator only after the flush, as in Linux.
 */
#include "iommusim/gen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/iommu.h"
#include "iommusim/mem.h"
#include "iommusim/trace.h"
#include "errf.h"
#include "gen_calib.h"
#include "ia.h"
#include "gen_impl.h"

#define G_PAGE     UINT64_C(4096)
#define G_2M       (UINT64_C(1) << 21)
#define G_DATA_PA  UINT64_C(0x100000000)  /* 4 GiB: data pages come from [4 GiB, 20 GiB) */
#define G_DATA_PGS (UINT64_C(4) << 20)   /* 16 GiB of 4 KiB frames */
#define G_BIG_PA   UINT64_C(0x4000000000) /* 256 GiB: gpu 2 MiB frames and the random footprint */

static const char *const gen_names[IMS_GEN_KIND_COUNT] = {"nic", "nvme", "gpu", "random", "multi", "calib", "svm"};

/* The --iova-alloc names (model/trace/ia.h), and "lifo, top-down or ring" for messages. */
#define IMS_IA_NAME_(U, f, n) [IMS_IA_##U] = n,
static const char *const ia_names[IMS_IA_COUNT] = {IMS_IA_LIST(IMS_IA_NAME_)};
#undef IMS_IA_NAME_
static const char ia_known[] = "lifo, top-down, ring or pool";

const char *ims_gen_kind_name(unsigned kind)
{
    return kind < IMS_GEN_KIND_COUNT ? gen_names[kind] : NULL;
}

int ims_gen_kind_from_name(const char *name)
{
    for (unsigned k = 0; k < IMS_GEN_KIND_COUNT; k++)
        if (!strcmp(name, gen_names[k]))
            return (int)k;
    return -1;
}

void ims_gen_cfg_default(struct ims_gen_cfg *c, unsigned kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->count = 0;
    c->seed = 1;
    c->warmup = 0.1;
    c->levels = 4;
    c->gap = 100;
    c->strict = true;
    c->flush_batch = 256;
    c->recycle = true;
    c->ring_size = 256;
    c->buf_size = 2048;
    c->queue_depth = 64;
    c->block_size = 4096;
    c->io_size = 16384;
    c->footprint = kind == IMS_GEN_RANDOM ? (UINT64_C(256) << 20) : (UINT64_C(1) << 30);
    c->chunk = 65536;
    c->streams = 4;
    c->devices = 8;
    c->domains = 4;
    c->gap = kind == IMS_GEN_CALIB ? 0 : c->gap; /* calib: 0 = the recording's mean gap */
    c->processes = 4;
    c->nested = false;
    c->pri_service = 10000; /* an assumption, not a measurement: docs/tools.md, "--pri-service" */
}

/* ---- Options ---- */

#define K_NIC    (1u << IMS_GEN_NIC)
#define K_NVME   (1u << IMS_GEN_NVME)
#define K_GPU    (1u << IMS_GEN_GPU)
#define K_RANDOM (1u << IMS_GEN_RANDOM)
#define K_MULTI  (1u << IMS_GEN_MULTI)
#define K_CALIB  (1u << IMS_GEN_CALIB)
#define K_SVM    (1u << IMS_GEN_SVM)
#define K_ALL    (K_NIC | K_NVME | K_GPU | K_RANDOM | K_MULTI | K_CALIB | K_SVM)
#define K_DRV    (K_NIC | K_NVME | K_MULTI)

enum opt_type { OPT_U64, OPT_U32, OPT_UNS, OPT_FRAC, OPT_UNMAP, OPT_ONOFF, OPT_IOVA, OPT_STR };

struct gen_opt {
    const char *name;
    unsigned kinds;
    enum opt_type type;
    size_t off;
    uint64_t min, max;
    const char *help;
};

#define OFF(f) offsetof(struct ims_gen_cfg, f)
static const struct gen_opt opts[] = {
    {"count", K_ALL, OPT_U64, OFF(count), 1, UINT64_C(1) << 40,
     "DMA records to generate (required; calib: default the recording's page accesses)"},
    {"seed", K_ALL, OPT_U64, OFF(seed), 0, UINT64_MAX, "PRNG seed (default 1)"},
    {"warmup", K_ALL, OPT_FRAC, OFF(warmup), 0, 0, "fraction of --count before 'mark warmup-end', 0..<1 (default 0.1)"},
    {"levels", K_ALL, OPT_UNS, OFF(levels), 3, 5, "page-table levels of every domain (default 4)"},
    {"gap", K_ALL, OPT_U64, OFF(gap), 1, UINT64_C(1) << 32,
     "mean ns between DMA records (default 100; calib: the recording's)"},
    {"unmap", K_DRV, OPT_UNMAP, OFF(strict), 0, 0,
     "strict (page-selective invalidation per unmap, default) or deferred (batched domain flush)"},
    {"flush-batch", K_DRV, OPT_U32, OFF(flush_batch), 1, 65536, "deferred: unmaps per domain flush (default 256)"},
    {"recycle", K_DRV, OPT_ONOFF, OFF(recycle), 0, 0, "on: reuse freed IOVAs first, LIFO (default); off: fresh IOVAs"},
    {"iova-alloc", K_DRV, OPT_IOVA, OFF(iova_alloc), 0, 0,
     "IOVA allocation: lifo (= --recycle on), top-down (= --recycle off) or ring (a slot's buffer always at one IOVA; strict only)"},
    {"ring-size", K_NIC, OPT_U32, OFF(ring_size), 8, 4096, "nic: descriptors per rx/tx ring (default 256)"},
    {"buf-size", K_NIC, OPT_U32, OFF(buf_size), 64, 65536, "nic: bytes per packet buffer (default 2048)"},
    {"pool", K_NIC, OPT_U64, OFF(pool), 0, UINT64_C(4) << 30,
     "nic: bytes of a buffer pool mapped once (page_pool-like: no per-packet map/unmap), 0 = off (default 0)"},
    {"hugepages", K_NIC, OPT_ONOFF, OFF(hugepages), 0, 0,
     "nic: the --pool mapped with 2 MiB pages, not 4 KiB (default off)"},
    {"queue-depth", K_NVME, OPT_U32, OFF(queue_depth), 1, 1024, "nvme: commands in flight (default 64)"},
    {"block-size", K_NVME, OPT_U32, OFF(block_size), 512, 4096,
     "nvme: bytes per data DMA record: 512, 1024, 2048 or 4096 (default 4096)"},
    {"io-size", K_NVME, OPT_U32, OFF(io_size), 4096, 1u << 20,
     "nvme: bytes per command, multiple of 4096; > 8 KiB uses a PRP list (default 16k)"},
    {"footprint", K_GPU | K_RANDOM, OPT_U64, OFF(footprint), 4096, UINT64_C(64) << 30,
     "gpu: bytes mapped, multiple of 2 MiB (default 1g); random: multiple of 4 KiB, <= 16g (default 256m)"},
    {"chunk", K_GPU, OPT_U32, OFF(chunk), 64, 1u << 21, "gpu: bytes per DMA record, <= 2 MiB (default 64k)"},
    {"streams", K_GPU, OPT_U32, OFF(streams), 1, 64, "gpu: concurrent sequential streams (default 4)"},
    {"devices", K_MULTI, OPT_U32, OFF(devices), 1, 64, "multi: devices (default 8)"},
    {"domains", K_MULTI, OPT_U32, OFF(domains), 1, 64, "multi: domains, <= devices (default 4)"},
    {"from", K_CALIB, OPT_STR, OFF(from), 0, 0,
     "calib: the recording whose footprint, reuse distances and unmap shape to reproduce (required)"},
    {"processes", K_SVM, OPT_U32, OFF(processes), 1, 64, "svm: processes, one PASID each (default 4)"},
    {"nested", K_SVM, OPT_ONOFF, OFF(nested), 0, 0, "svm: on: the processes live in a VM, bound nested (default off)"},
    {"pri", K_SVM, OPT_ONOFF, OFF(pri), 0, 0,
     "svm: on: heap pages not pre-faulted; each first touch is a page request the OS answers (pmap, pgresp) (default off)"},
    {"pri-service", K_SVM, OPT_U64, OFF(pri_service), 0, UINT64_C(1000000000),
     "svm --pri on: ns from a first touch to the OS's pmap and pgresp (default 10000, an assumption)"},
};
#undef OFF
#define N_OPTS (sizeof opts / sizeof opts[0])

/* Decimal or 0x hex with an optional k/m/g (x1024) suffix. */
static bool parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    unsigned long long v = strtoull(s, &end, 0);
    if (end == s)
        return false;
    unsigned shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (shift)
        end++;
    if (*end)
        return false;
    if (shift && v > (UINT64_MAX >> shift))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

int ims_gen_set(struct ims_gen_cfg *c, const char *key, const char *val, char *err, size_t errlen)
{
    const struct gen_opt *o = NULL;
    for (size_t i = 0; i < N_OPTS; i++)
        if (!strcmp(opts[i].name, key))
            o = &opts[i];
    if (!o)
        return ims_errf(err, errlen, "unknown option '--%s' (see 'iommusim trace gen --help')", key);
    if (!(o->kinds & (1u << c->kind)))
        return ims_errf(err, errlen, "option '--%s' does not apply to generator '%s'", key, gen_names[c->kind]);
    char *p = (char *)c + o->off;
    uint64_t v;
    switch (o->type) {
    case OPT_U64:
    case OPT_U32:
    case OPT_UNS:
        if (!parse_size(val, &v) || v < o->min || v > o->max)
            return ims_errf(err, errlen, "--%s: expected a number %llu..%llu (k/m/g suffixes allowed), got '%s'", key,
                         (unsigned long long)o->min, (unsigned long long)o->max, val);
        if (o->type == OPT_U64)
            *(uint64_t *)(void *)p = v;
        else if (o->type == OPT_U32)
            *(uint32_t *)(void *)p = (uint32_t)v;
        else
            *(unsigned *)(void *)p = (unsigned)v;
        if (o->off == offsetof(struct ims_gen_cfg, pri_service))
            c->pri_service_set = true;
        return 0;
    case OPT_FRAC: {
        char *end;
        double d = strtod(val, &end);
        if (end == val || *end || !(d >= 0.0 && d < 1.0))
            return ims_errf(err, errlen, "--%s: expected a fraction 0 <= x < 1, got '%s'", key, val);
        *(double *)(void *)p = d;
        return 0;
    }
    case OPT_UNMAP:
        if (!strcmp(val, "strict"))
            *(bool *)(void *)p = true;
        else if (!strcmp(val, "deferred"))
            *(bool *)(void *)p = false;
        else
            return ims_errf(err, errlen, "--%s: expected strict or deferred, got '%s'", key, val);
        return 0;
    case OPT_ONOFF:
        if (!strcmp(val, "on"))
            *(bool *)(void *)p = true;
        else if (!strcmp(val, "off"))
            *(bool *)(void *)p = false;
        else
            return ims_errf(err, errlen, "--%s: expected on or off, got '%s'", key, val);
        return 0;
    case OPT_IOVA:
        for (unsigned i = 0; i < IMS_IA_COUNT; i++)
            if (!strcmp(val, ia_names[i])) {
                *(unsigned *)(void *)p = i + 1;
                return 0;
            }
        return ims_errf(err, errlen, "--%s: expected %s, got '%s'", key, ia_known, val);
    case OPT_STR:
        if (!*val)
            return ims_errf(err, errlen, "--%s: expected a file name, got an empty one", key);
        *(const char **)(void *)p = val;
        return 0;
    }
    return 0;
}

int ims_gen_check(const struct ims_gen_cfg *c, char *err, size_t errlen)
{
    if (c->kind >= IMS_GEN_KIND_COUNT)
        return ims_errf(err, errlen, "unknown generator %u", c->kind);
    if (c->iova_alloc > IMS_IA_COUNT)
        return ims_errf(err, errlen, "--iova-alloc: unknown strategy %u", c->iova_alloc);
    if (c->iova_alloc == 1 + IMS_IA_RING && !c->strict)
        return ims_errf(err, errlen, "--iova-alloc ring needs --unmap strict: a deferred unmap frees the slot's IOVA "
                                     "only at the flush, after the slot has been reused");
    if (c->count == 0 && c->kind != IMS_GEN_CALIB)
        return ims_errf(err, errlen, "--count is required (number of DMA records, >= 1)");
    if (!(c->warmup >= 0.0 && c->warmup < 1.0))
        return ims_errf(err, errlen, "--warmup: expected a fraction 0 <= x < 1");
    if (c->levels < 3 || c->levels > 5)
        return ims_errf(err, errlen, "--levels: expected 3, 4 or 5");
    switch (c->kind) {
    case IMS_GEN_NIC:
        if (c->ring_size < 8 || c->ring_size > 4096 || c->buf_size < 64 || c->buf_size > 65536)
            return ims_errf(err, errlen, "--ring-size 8..4096 and --buf-size 64..65536");
        if (c->pool % (c->hugepages ? G_2M : G_PAGE) ||
            (c->pool && c->pool / ((c->buf_size + G_PAGE - 1) & ~(G_PAGE - 1)) < 2 * (uint64_t)c->ring_size))
            return ims_errf(err, errlen,
                            "--pool: expected 0 or a multiple of %s holding at least 2 x --ring-size buffers",
                            c->hugepages ? "2 MiB (--hugepages on)" : "4 KiB");
        if (c->hugepages && !c->pool)
            return ims_errf(err, errlen, "--hugepages on needs a --pool");
        break;
    case IMS_GEN_NVME:
        if (c->block_size != 512 && c->block_size != 1024 && c->block_size != 2048 && c->block_size != 4096)
            return ims_errf(err, errlen, "--block-size: expected 512, 1024, 2048 or 4096, got %u", c->block_size);
        if (c->io_size == 0 || c->io_size % 4096 || c->io_size > (1u << 20))
            return ims_errf(err, errlen, "--io-size: expected a multiple of 4096 up to 1m, got %u", c->io_size);
        if (c->queue_depth < 1 || c->queue_depth > 1024)
            return ims_errf(err, errlen, "--queue-depth: expected 1..1024");
        break;
    case IMS_GEN_GPU:
        if (c->footprint == 0 || c->footprint % G_2M || c->footprint > (UINT64_C(64) << 30))
            return ims_errf(err, errlen, "--footprint: gpu expects a multiple of 2 MiB up to 64g");
        if (c->chunk < 64 || c->chunk > G_2M)
            return ims_errf(err, errlen, "--chunk: expected 64..2m");
        if (c->streams < 1 || c->streams > 64 || c->footprint / c->streams < c->chunk)
            return ims_errf(err, errlen, "--streams: expected 1..64 with footprint/streams >= chunk");
        break;
    case IMS_GEN_RANDOM:
        if (c->footprint == 0 || c->footprint % G_PAGE || c->footprint > (UINT64_C(16) << 30))
            return ims_errf(err, errlen, "--footprint: random expects a multiple of 4 KiB up to 16g");
        break;
    case IMS_GEN_MULTI:
        if (c->devices < 1 || c->devices > 64 || c->domains < 1 || c->domains > c->devices)
            return ims_errf(err, errlen, "--devices 1..64 and --domains 1..devices");
        break;
    case IMS_GEN_CALIB:
        if (!c->from)
            return ims_errf(err, errlen, "calib: --from RECORDING is required");
        break;
    case IMS_GEN_SVM:
        if (c->levels < 4)
            return ims_errf(err, errlen, "--levels: svm processes have 4 or 5 levels");
        if (c->processes < 1 || c->processes > 64)
            return ims_errf(err, errlen, "--processes: expected 1..64");
        if (c->pri_service_set && !c->pri)
            return ims_errf(err, errlen, "--pri-service: the OS service time of a page request needs --pri on");
        if (c->pri_service > UINT64_C(1000000000))
            return ims_errf(err, errlen, "--pri-service: expected 0..1000000000 ns");
        break;
    }
    return 0;
}

void ims_gen_help(void *file)
{
    FILE *f = file;
    for (size_t i = 0; i < N_OPTS; i++) {
        char kinds[64] = "";
        if (opts[i].kinds == K_ALL) {
            strcpy(kinds, "all");
        } else {
            for (unsigned k = 0; k < IMS_GEN_KIND_COUNT; k++)
                if (opts[i].kinds & (1u << k)) {
                    if (kinds[0])
                        strcat(kinds, ",");
                    strcat(kinds, gen_names[k]);
                }
        }
        fprintf(f, "  --%-12s [%s] %s\n", opts[i].name, kinds, opts[i].help);
    }
}

/* The options as a command line (for the header's source field). */
static void cfg_describe(const struct ims_gen_cfg *c, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "iommusim trace gen %s", gen_names[c->kind]);
    for (size_t i = 0; i < N_OPTS && n < len; i++) {
        const struct gen_opt *o = &opts[i];
        if (!(o->kinds & (1u << c->kind)))
            continue;
        if (!c->pool && (!strcmp(o->name, "pool") || !strcmp(o->name, "hugepages")))
            continue; /* off: the source field stays what it was before these options */
        if (!c->pri && !strcmp(o->name, "pri-service"))
            continue; /* as above: a --pri off trace keeps its source field */
        const char *p = (const char *)c + o->off;
        char v[IMS_TRACE_TEXT_MAX];
        switch (o->type) {
        case OPT_U64: snprintf(v, sizeof v, "%llu", (unsigned long long)*(const uint64_t *)(const void *)p); break;
        case OPT_U32: snprintf(v, sizeof v, "%u", *(const uint32_t *)(const void *)p); break;
        case OPT_UNS: snprintf(v, sizeof v, "%u", *(const unsigned *)(const void *)p); break;
        case OPT_FRAC: snprintf(v, sizeof v, "%g", *(const double *)(const void *)p); break;
        case OPT_UNMAP: snprintf(v, sizeof v, "%s", *(const bool *)(const void *)p ? "strict" : "deferred"); break;
        case OPT_ONOFF: snprintf(v, sizeof v, "%s", *(const bool *)(const void *)p ? "on" : "off"); break;
        case OPT_IOVA: /* only when given: traces generated without it keep their header */
            if (!*(const unsigned *)(const void *)p)
                continue;
            snprintf(v, sizeof v, "%s", ia_names[*(const unsigned *)(const void *)p - 1]);
            break;
        case OPT_STR: {
            const char *s = *(const char *const *)(const void *)p;
            snprintf(v, sizeof v, "%s", s ? s : "-");
            break;
        }
        }
        n += (size_t)snprintf(buf + n, len - n, " --%s %s", o->name, v);
    }
}

/* ---- Generator state ---- */

struct gen {
    const struct ims_gen_cfg *cfg;
    struct ims_trace_writer *w;
    struct ims_gen_stats st;
    uint64_t rng;
    uint64_t ts;
    uint64_t warm_at;  /* DMA count after which the mark goes out; 0 = none */
    bool failed;
    char err[512];
};

static uint64_t rng_next(struct gen *g)
{
    return ims_gen_splitmix64(&g->rng); /* gen_impl.h */
}

/* Uniform in [0, n), n < 2^32 (multiply-shift: no division, negligible bias). */
static uint64_t rng_below(struct gen *g, uint64_t n)
{
    return ((rng_next(g) >> 32) * n) >> 32;
}

static bool done(const struct gen *g)
{
    return g->failed || g->st.dma >= g->cfg->count;
}

static void emit(struct gen *g, struct ims_rec *r)
{
    if (g->failed)
        return;
    r->ts = g->ts;
    if (ims_trace_write(g->w, r) < 0) {
        snprintf(g->err, sizeof g->err, "%s", ims_trace_writer_error(g->w));
        g->failed = true;
        return;
    }
    g->st.records++;
    switch (r->kind) {
    case IMS_REC_DMA:
        g->st.dma++;
        g->st.dma_bytes += r->size;
        break;
    case IMS_REC_MAP: g->st.maps++; break;
    case IMS_REC_UNMAP: g->st.unmaps++; break;
    case IMS_REC_INV_IOTLB:
    case IMS_REC_INV_CTX: g->st.invalidations++; break;
    case IMS_REC_ATTACH: g->st.attaches++; break;
    default: break;
    }
}

/* One device access with its expected output address; stops at --count. */
static void dma(struct gen *g, uint16_t rid, uint64_t iova, uint64_t size, bool write, uint64_t pa)
{
    if (done(g))
        return;
    g->ts += 1 + rng_below(g, 2 * g->cfg->gap);
    struct ims_rec r = {.kind = IMS_REC_DMA, .rid = rid, .iova = iova, .size = size, .pa = pa};
    r.flags = IMS_RECF_EXPECT_PA | (write ? IMS_RECF_WRITE : 0);
    emit(g, &r);
    if (g->warm_at && g->st.dma == g->warm_at) {
        struct ims_rec m = {.kind = IMS_REC_MARK, .label = "warmup-end"};
        emit(g, &m);
    }
}

static void attach(struct gen *g, uint16_t rid, uint16_t did)
{
    struct ims_rec r = {.kind = IMS_REC_ATTACH, .rid = rid, .did = did, .levels = (uint8_t)g->cfg->levels,
                        .tt = IMS_TT_UNTRANSLATED};
    emit(g, &r);
}

static void map(struct gen *g, uint16_t did, uint64_t iova, uint64_t pa, uint64_t size, unsigned perm)
{
    struct ims_rec r = {.kind = IMS_REC_MAP, .did = did, .iova = iova, .pa = pa, .size = size, .perm = (uint8_t)perm};
    emit(g, &r);
}

static uint64_t round_page(uint64_t v)
{
    return (v + G_PAGE - 1) & ~(G_PAGE - 1);
}

/* A random run of `pages` 4 KiB frames in the data region. */
static uint64_t data_pa(struct gen *g, uint64_t pages)
{
    return G_DATA_PA + (rng_below(g, G_DATA_PGS - pages) << 12);
}

/* ---- IOVA allocator: fixed-size units in [base, base + n*unit), handed
 * out by the --iova-alloc strategy (model/trace/ia.h, one file each): lifo
 * (--recycle on, the default), top-down (--recycle off) or ring. */
struct galloc {
    struct ims_ia_state ia;
};

static int ga_init(struct gen *g, struct galloc *a, uint64_t base, uint64_t span, uint64_t unit)
{
    memset(a, 0, sizeof *a);
    const unsigned ia = g->cfg->iova_alloc;
    a->ia.strategy = ia ? ia - 1 : g->cfg->recycle ? IMS_IA_LIFO : IMS_IA_TOPDOWN;
    a->ia.base = base;
    a->ia.unit = unit;
    a->ia.n = span / unit;
    a->ia.cursor = a->ia.n - 1;
    a->ia.used = calloc((size_t)(a->ia.n + 7) / 8, 1);
    if (!a->ia.used) {
        snprintf(g->err, sizeof g->err, "out of memory");
        g->failed = true;
        return -1;
    }
    return 0;
}

static void ga_free_all(struct galloc *a)
{
    free(a->ia.used);
    free(a->ia.stack);
}

/* The IOVA of a buffer for ring slot `slot` (the ring strategy's key). */
static uint64_t ga_alloc(struct gen *g, struct galloc *a, uint64_t slot)
{
    bool ok = true;
    uint64_t iova = ims_ia_alloc(&a->ia, slot, &ok);
    if (!ok && !g->failed) {
        snprintf(g->err, sizeof g->err, "IOVA space exhausted (%llu units of %llu bytes)", (unsigned long long)a->ia.n,
                 (unsigned long long)a->ia.unit);
        g->failed = true;
    }
    return iova;
}

static void ga_free(struct gen *g, struct galloc *a, uint64_t iova)
{
    (void)g;
    ims_ia_free(&a->ia, iova);
}

/* A domain and its pending (deferred) unmaps. */
struct gdom {
    uint16_t did;
    struct pend {
        struct galloc *a;
        uint64_t iova, size;
    } *pend;
    uint32_t npend;
};

static int dom_init(struct gen *g, struct gdom *d, uint16_t did)
{
    d->did = did;
    d->npend = 0;
    d->pend = calloc(g->cfg->flush_batch, sizeof *d->pend);
    if (!d->pend) {
        snprintf(g->err, sizeof g->err, "out of memory");
        g->failed = true;
        return -1;
    }
    return 0;
}

static void dom_flush(struct gen *g, struct gdom *d)
{
    if (!d->npend)
        return;
    for (uint32_t i = 0; i < d->npend; i++) {
        struct ims_rec r = {.kind = IMS_REC_UNMAP, .did = d->did, .iova = d->pend[i].iova, .size = d->pend[i].size};
        emit(g, &r);
    }
    struct ims_rec inv = {.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_DOMAIN, .did = d->did};
    emit(g, &inv);
    for (uint32_t i = 0; i < d->npend; i++)
        ga_free(g, d->pend[i].a, d->pend[i].iova);
    d->npend = 0;
}

/* Driver unmap: strict = UNMAP + page-selective invalidation now (ih = 0:
 * emptied tables are freed, so paging-structure caches must go too). */
static void unmap(struct gen *g, struct gdom *d, struct galloc *a, uint64_t iova, uint64_t size)
{
    if (!g->cfg->strict) {
        d->pend[d->npend++] = (struct pend){a, iova, size};
        if (d->npend == g->cfg->flush_batch)
            dom_flush(g, d);
        return;
    }
    struct ims_rec r = {.kind = IMS_REC_UNMAP, .did = d->did, .iova = iova, .size = size};
    emit(g, &r);
    uint64_t first = iova >> 12, last = (iova + size - 1) >> 12;
    unsigned am = 0;
    while ((first >> am) != (last >> am))
        am++;
    struct ims_rec inv = {.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_PAGE, .did = d->did,
                          .iova = (first >> am) << (12 + am), .am = (uint8_t)am};
    emit(g, &inv);
    ga_free(g, a, iova);
}

static void dom_free(struct gdom *d)
{
    free(d->pend);
}

/* ---- nic: rx and tx descriptor rings (coherent, mapped once) and packet
 * buffers mapped per packet (streaming DMA). */
static void gen_nic(struct gen *g)
{
    const struct ims_gen_cfg *c = g->cfg;
    const uint16_t rid = IMS_BDF(3, 0, 0);
    const uint32_t n = c->ring_size;
    const uint64_t ring_bytes = round_page((uint64_t)n * 16);
    const uint64_t buf_map = round_page(c->buf_size);
    struct gdom d;
    struct galloc a;
    uint64_t *rx_iova = calloc(n, 8), *rx_pa = calloc(n, 8), *tx_iova = calloc(n, 8), *tx_pa = calloc(n, 8);
    uint32_t *tx_map = calloc(n, 4);
    if (!rx_iova || !rx_pa || !tx_iova || !tx_pa || !tx_map) {
        snprintf(g->err, sizeof g->err, "out of memory");
        g->failed = true;
        goto out;
    }
    if (dom_init(g, &d, 1) < 0)
        goto out;
    if (ga_init(g, &a, 0x100000, UINT64_C(0xffc00000) - 0x100000, buf_map) < 0) {
        dom_free(&d);
        goto out;
    }
    attach(g, rid, d.did);
    const uint64_t rx_ring = UINT64_C(0xffe00000), tx_ring = rx_ring + ring_bytes;
    const uint64_t rx_ring_pa = data_pa(g, ring_bytes / G_PAGE), tx_ring_pa = data_pa(g, ring_bytes / G_PAGE);
    map(g, d.did, rx_ring, rx_ring_pa, ring_bytes, IMS_PERM_RW);
    map(g, d.did, tx_ring, tx_ring_pa, ring_bytes, IMS_PERM_RW);
    /* --pool: one long-lived mapping at 4 GiB (above the rings), PA 2 MiB
     * aligned with --hugepages (superpage leaves), else 4 KiB aligned only
     * (4 KiB leaves); slots take its buffers in turn, never unmapped. */
    const uint64_t pool_iova = UINT64_C(0x100000000), pool_bufs = c->pool / buf_map;
    const uint64_t pool_pa = c->hugepages ? G_BIG_PA : G_BIG_PA + G_PAGE;
    uint64_t pool_next = 0;
    if (c->pool) {
        map(g, d.did, pool_iova, pool_pa, c->pool, IMS_PERM_RW);
        for (uint32_t i = 0; i < n; i++, pool_next++) {
            rx_iova[i] = pool_iova + pool_next * buf_map;
            rx_pa[i] = pool_pa + pool_next * buf_map;
        }
    }
    for (uint32_t i = 0; i < n && !c->pool; i++) {
        rx_iova[i] = ga_alloc(g, &a, i);
        rx_pa[i] = data_pa(g, buf_map / G_PAGE);
        map(g, d.did, rx_iova[i], rx_pa[i], buf_map, IMS_PERM_W);
    }
    uint64_t rx_head = 0, tx_head = 0;
    while (!done(g)) {
        if (rng_below(g, 2) == 0) {
            /* Receive: descriptor fetch, packet write, descriptor write-back;
             * the driver then unmaps the buffer and posts a fresh one. */
            uint32_t s = (uint32_t)(rx_head++ % n);
            uint64_t len = 64 + rng_below(g, c->buf_size - 63);
            dma(g, rid, rx_ring + s * 16, 16, false, rx_ring_pa + s * 16);
            dma(g, rid, rx_iova[s], len, true, rx_pa[s]);
            dma(g, rid, rx_ring + s * 16, 16, true, rx_ring_pa + s * 16);
            if (c->pool) {
                uint64_t b = pool_next++ % pool_bufs;
                rx_iova[s] = pool_iova + b * buf_map;
                rx_pa[s] = pool_pa + b * buf_map;
                continue;
            }
            unmap(g, &d, &a, rx_iova[s], buf_map);
            rx_iova[s] = ga_alloc(g, &a, s);
            rx_pa[s] = data_pa(g, buf_map / G_PAGE);
            map(g, d.did, rx_iova[s], rx_pa[s], buf_map, IMS_PERM_W);
        } else {
            /* Transmit: the slot's previous buffer is cleaned up first (as a
             * driver's tx completion does), then the packet is mapped read-only
             * and the device fetches descriptor and payload. */
            uint32_t t = (uint32_t)(tx_head++ % n);
            if (c->pool) {
                uint64_t b = pool_next++ % pool_bufs, len = 64 + rng_below(g, c->buf_size - 63);
                dma(g, rid, tx_ring + t * 16, 16, false, tx_ring_pa + t * 16);
                dma(g, rid, pool_iova + b * buf_map, len, false, pool_pa + b * buf_map);
                dma(g, rid, tx_ring + t * 16, 16, true, tx_ring_pa + t * 16);
                continue;
            }
            if (tx_map[t])
                unmap(g, &d, &a, tx_iova[t], buf_map);
            uint64_t len = 64 + rng_below(g, c->buf_size - 63);
            tx_iova[t] = ga_alloc(g, &a, (uint64_t)n + t);
            tx_pa[t] = data_pa(g, buf_map / G_PAGE);
            tx_map[t] = 1;
            map(g, d.did, tx_iova[t], tx_pa[t], buf_map, IMS_PERM_R);
            dma(g, rid, tx_ring + t * 16, 16, false, tx_ring_pa + t * 16);
            dma(g, rid, tx_iova[t], len, false, tx_pa[t]);
            dma(g, rid, tx_ring + t * 16, 16, true, tx_ring_pa + t * 16);
        }
    }
    dom_flush(g, &d);
    ga_free_all(&a);
    dom_free(&d);
out:
    free(rx_iova);
    free(rx_pa);
    free(tx_iova);
    free(tx_pa);
    free(tx_map);
}

/* ---- nvme: one I/O queue pair (coherent, at the top of the 32-bit IOVA
 * space as Linux places them), data pages mapped per command as a
 * scatter-gather list (one MAP per page), a PRP list page when a command
 * spans more than two pages. */
static void gen_nvme(struct gen *g)
{
    const struct ims_gen_cfg *c = g->cfg;
    const uint16_t rid = IMS_BDF(4, 0, 0);
    const uint32_t qd = c->queue_depth;
    const uint32_t npg = c->io_size / 4096;
    const bool prp = npg > 2;
    struct gdom d;
    struct galloc data, lists;
    uint8_t *busy = calloc(qd, 1), *rd = calloc(qd, 1);
    uint64_t *iova = calloc(qd, 8), *list_iova = calloc(qd, 8), *list_pa = calloc(qd, 8);
    uint64_t *pa = calloc((size_t)qd * npg, 8);
    if (!busy || !rd || !iova || !list_iova || !list_pa || !pa) {
        snprintf(g->err, sizeof g->err, "out of memory");
        g->failed = true;
        goto out;
    }
    if (dom_init(g, &d, 2) < 0)
        goto out;
    if (ga_init(g, &data, 0x100000, UINT64_C(0xf0000000) - 0x100000, c->io_size) < 0 ||
        ga_init(g, &lists, UINT64_C(0xf0000000), UINT64_C(0x0fe00000), G_PAGE) < 0) {
        dom_free(&d);
        goto out;
    }
    attach(g, rid, d.did);
    const uint64_t sq_bytes = round_page((uint64_t)qd * 64), cq_bytes = round_page((uint64_t)qd * 16);
    const uint64_t cq = UINT64_C(0x100000000) - cq_bytes, sq = cq - sq_bytes;
    const uint64_t sq_pa = data_pa(g, sq_bytes / G_PAGE), cq_pa = data_pa(g, cq_bytes / G_PAGE);
    map(g, d.did, sq, sq_pa, sq_bytes, IMS_PERM_RW);
    map(g, d.did, cq, cq_pa, cq_bytes, IMS_PERM_RW);
    uint64_t sqt = 0, cqh = 0;
    for (uint64_t step = 0; !done(g); step++) {
        uint32_t s = (uint32_t)(step % qd);
        uint64_t *spa = pa + (size_t)s * npg;
        if (busy[s]) {
            /* Completion: data transfer (a read command writes memory), CQ
             * entry, then the driver unmaps data and PRP list. */
            for (uint32_t p = 0; p < npg; p++)
                for (uint32_t b = 0; b < 4096; b += c->block_size)
                    dma(g, rid, iova[s] + p * G_PAGE + b, c->block_size, rd[s], spa[p] + b);
            uint32_t ci = (uint32_t)(cqh++ % qd);
            dma(g, rid, cq + ci * 16, 16, true, cq_pa + ci * 16);
            unmap(g, &d, &data, iova[s], c->io_size);
            if (prp)
                unmap(g, &d, &lists, list_iova[s], G_PAGE);
            busy[s] = 0;
        }
        if (done(g))
            break;
        /* Submission: map, then the device fetches the command and its list. */
        rd[s] = rng_below(g, 10) < 7;
        iova[s] = ga_alloc(g, &data, s);
        for (uint32_t p = 0; p < npg; p++) {
            spa[p] = data_pa(g, 1);
            map(g, d.did, iova[s] + p * G_PAGE, spa[p], G_PAGE, rd[s] ? IMS_PERM_W : IMS_PERM_R);
        }
        if (prp) {
            list_iova[s] = ga_alloc(g, &lists, s);
            list_pa[s] = data_pa(g, 1);
            map(g, d.did, list_iova[s], list_pa[s], G_PAGE, IMS_PERM_R);
        }
        busy[s] = 1;
        uint32_t si = (uint32_t)(sqt++ % qd);
        dma(g, rid, sq + si * 64, 64, false, sq_pa + si * 64);
        if (prp)
            dma(g, rid, list_iova[s], 8 * (uint64_t)(npg - 1), false, list_pa[s]);
    }
    dom_flush(g, &d);
    ga_free_all(&data);
    ga_free_all(&lists);
    dom_free(&d);
out:
    free(busy);
    free(rd);
    free(iova);
    free(list_iova);
    free(list_pa);
    free(pa);
}

/* ---- gpu: the whole footprint mapped up front in 2 MiB pages (IOVA and PA
 * 2 MiB aligned, so the table builder uses superpages), then several
 * sequential read and write streams sweep it. A DMA record never crosses a
 * 2 MiB page: its output addresses are contiguous. */
static void gen_gpu(struct gen *g)
{
    const struct ims_gen_cfg *c = g->cfg;
    const uint16_t rid = IMS_BDF(5, 0, 0);
    const uint16_t did = 3;
    const uint64_t base = UINT64_C(0x100000000);
    const uint64_t n2m = c->footprint / G_2M;
    uint64_t *pa = calloc(n2m, 8), *pos = calloc(c->streams, 8);
    if (!pa || !pos) {
        snprintf(g->err, sizeof g->err, "out of memory");
        g->failed = true;
        goto out;
    }
    attach(g, rid, did);
    for (uint64_t i = 0; i < n2m; i++) {
        pa[i] = G_BIG_PA + (rng_below(g, UINT64_C(65536)) << 21);
        map(g, did, base + i * G_2M, pa[i], G_2M, IMS_PERM_RW);
    }
    const uint64_t part = c->footprint / c->streams;
    for (uint32_t k = 0; k < c->streams; k++)
        pos[k] = (k * part) & ~(uint64_t)63;
    while (!done(g)) {
        uint32_t k = (uint32_t)rng_below(g, c->streams);
        uint64_t off = pos[k];
        uint64_t size = c->chunk;
        if (size > G_2M - (off & (G_2M - 1)))
            size = G_2M - (off & (G_2M - 1));
        if (size > c->footprint - off)
            size = c->footprint - off;
        dma(g, rid, base + off, size, k & 1, pa[off >> 21] + (off & (G_2M - 1)));
        pos[k] = off + size >= c->footprint ? 0 : off + size;
    }
out:
    free(pa);
    free(pos);
}

/* ---- random: one mapping of the footprint whose PA is 4 KiB but not 2 MiB
 * aligned (so every leaf is a 4 KiB page), accessed uniformly at random:
 * the IOTLB's worst case. */
static void gen_random(struct gen *g)
{
    const struct ims_gen_cfg *c = g->cfg;
    const uint16_t rid = IMS_BDF(6, 0, 0);
    const uint16_t did = 4;
    const uint64_t base = UINT64_C(0x100000000);
    const uint64_t pa = G_BIG_PA + G_PAGE;
    const uint64_t pages = c->footprint / G_PAGE;
    attach(g, rid, did);
    map(g, did, base, pa, c->footprint, IMS_PERM_RW);
    while (!done(g)) {
        uint64_t page = rng_below(g, pages);
        uint64_t off = rng_below(g, 64) * 64;
        uint64_t size = 64 * (1 + rng_below(g, (4096 - off) / 64));
        bool write = rng_below(g, 2);
        dma(g, rid, base + page * G_PAGE + off, size, write, pa + page * G_PAGE + off);
    }
}

/* ---- multi: devices spread over domains; the last two sit behind a
 * PCIe-to-PCI bridge, so they share one requester id (alias) and hence one
 * domain. Each device keeps a few buffers, mapping, using and unmapping them
 * at random. */
#define MULTI_SLOTS 32
#define MULTI_UNIT  UINT64_C(16384)

static void gen_multi(struct gen *g)
{
    const struct ims_gen_cfg *c = g->cfg;
    const uint32_t nd = c->devices, nm = c->domains;
    struct gdom *doms = calloc(nm, sizeof *doms);
    struct galloc *al = calloc(nm, sizeof *al);
    uint32_t *dev_dom = calloc(nd, 4);
    uint16_t *dev_rid = calloc(nd, 2);
    uint64_t *s_iova = calloc((size_t)nd * MULTI_SLOTS, 8), *s_pa = calloc((size_t)nd * MULTI_SLOTS, 8);
    uint64_t *s_size = calloc((size_t)nd * MULTI_SLOTS, 8);
    uint32_t inited = 0;
    if (!doms || !al || !dev_dom || !dev_rid || !s_iova || !s_pa || !s_size) {
        snprintf(g->err, sizeof g->err, "out of memory");
        g->failed = true;
        goto out;
    }
    for (; inited < nm; inited++) {
        if (dom_init(g, &doms[inited], (uint16_t)(10 + inited)) < 0)
            goto out;
        if (ga_init(g, &al[inited], 0x100000, UINT64_C(0xfff00000) - 0x100000, MULTI_UNIT) < 0) {
            dom_free(&doms[inited]);
            goto out;
        }
    }
    const bool bridged = nd >= 3;
    for (uint32_t i = 0; i < nd; i++) {
        if (bridged && i >= nd - 2) {
            dev_rid[i] = IMS_BDF(0x40, i - (nd - 2), 0);
            dev_dom[i] = (nd - 2) % nm; /* one alias: one context entry, one domain */
        } else {
            dev_rid[i] = IMS_BDF(0x10 + i, 0, 0);
            dev_dom[i] = i % nm;
        }
    }
    for (uint32_t i = 0; i < nd; i++)
        attach(g, dev_rid[i], doms[dev_dom[i]].did);
    while (!done(g)) {
        uint32_t i = (uint32_t)rng_below(g, nd);
        size_t s = (size_t)i * MULTI_SLOTS + rng_below(g, MULTI_SLOTS);
        struct gdom *d = &doms[dev_dom[i]];
        struct galloc *a = &al[dev_dom[i]];
        if (!s_size[s]) {
            s_size[s] = 512 * (1 + rng_below(g, MULTI_UNIT / 512));
            s_iova[s] = ga_alloc(g, a, s);
            s_pa[s] = data_pa(g, round_page(s_size[s]) / G_PAGE);
            map(g, d->did, s_iova[s], s_pa[s], round_page(s_size[s]), IMS_PERM_RW);
        }
        uint64_t off = rng_below(g, s_size[s] / 64) * 64;
        uint64_t len = 64 * (1 + rng_below(g, 64));
        if (len > s_size[s] - off)
            len = s_size[s] - off;
        dma(g, dev_rid[i], s_iova[s] + off, len, rng_below(g, 2), s_pa[s] + off);
        if (rng_below(g, 8) == 0) {
            unmap(g, d, a, s_iova[s], round_page(s_size[s]));
            s_size[s] = 0;
        }
    }
    for (uint32_t k = 0; k < nm; k++)
        dom_flush(g, &doms[k]);
out:
    for (uint32_t k = 0; k < inited; k++) {
        dom_free(&doms[k]);
        ga_free_all(&al[k]);
    }
    free(doms);
    free(al);
    free(dev_dom);
    free(dev_rid);
    free(s_iova);
    free(s_pa);
    free(s_size);
}

/* The topology each generator's devices live in. */
static int make_topo(const struct ims_gen_cfg *c, struct ims_topo *t)
{
    /* multi: its own devices below; calib: its own header (gen_calib.c). */
    static const char *const dev_name[IMS_GEN_KIND_COUNT] = {
        [IMS_GEN_NIC] = "nic0", [IMS_GEN_NVME] = "nvme0", [IMS_GEN_GPU] = "gpu0", [IMS_GEN_RANDOM] = "dev0",
        [IMS_GEN_MULTI] = "-",  [IMS_GEN_CALIB] = "-",     [IMS_GEN_SVM] = "acc0"};
    static const uint16_t dev_bdf[IMS_GEN_KIND_COUNT] = {
        [IMS_GEN_NIC] = IMS_BDF(3, 0, 0), [IMS_GEN_NVME] = IMS_BDF(4, 0, 0), [IMS_GEN_GPU] = IMS_BDF(5, 0, 0),
        [IMS_GEN_RANDOM] = IMS_BDF(6, 0, 0), [IMS_GEN_SVM] = IMS_BDF(3, 0, 0)};
    memset(t, 0, sizeof *t);
    if (c->kind != IMS_GEN_MULTI) {
        t->devices = calloc(1, sizeof *t->devices);
        if (!t->devices)
            return -1;
        t->n_devices = 1;
        strcpy(t->devices[0].name, dev_name[c->kind]);
        t->devices[0].bdf = dev_bdf[c->kind];
        t->devices[0].bridge = IMS_TOPO_NONE;
        return 0;
    }
    const uint32_t nd = c->devices;
    const bool bridged = nd >= 3;
    t->devices = calloc(nd, sizeof *t->devices);
    if (!t->devices)
        return -1;
    t->n_devices = (int)nd;
    if (bridged) {
        t->bridges = calloc(1, sizeof *t->bridges);
        if (!t->bridges)
            return -1;
        t->n_bridges = 1;
        strcpy(t->bridges[0].name, "bridge0");
        t->bridges[0].bdf = IMS_BDF(0, 0x1e, 0);
        t->bridges[0].secondary_bus = 0x40;
        t->bridges[0].kind = IMS_BRIDGE_PCIE_TO_PCI;
        t->bridges[0].parent = IMS_TOPO_NONE;
    }
    for (uint32_t i = 0; i < nd; i++) {
        snprintf(t->devices[i].name, sizeof t->devices[i].name, "dev%u", i);
        if (bridged && i >= nd - 2) {
            t->devices[i].bdf = IMS_BDF(0x40, i - (nd - 2), 0);
            t->devices[i].bridge = 0;
        } else {
            t->devices[i].bdf = IMS_BDF(0x10 + i, 0, 0);
            t->devices[i].bridge = IMS_TOPO_NONE;
        }
    }
    return 0;
}

int ims_gen_write(const struct ims_gen_cfg *cfg, const char *path, struct ims_gen_stats *stats, char *err,
                  size_t errlen)
{
    if (ims_gen_check(cfg, err, errlen) < 0)
        return -1;
    struct ims_trace_hdr hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.version = IMS_TRACE_VERSION;
    snprintf(hdr.creator, sizeof hdr.creator, "iommusim trace gen");
    cfg_describe(cfg, hdr.source, sizeof hdr.source);
    if (cfg->kind == IMS_GEN_CALIB)
        return ims_gen_calib_write(cfg, hdr.source, path, stats, err, errlen);
    hdr.scalable = cfg->kind == IMS_GEN_SVM;
    if (make_topo(cfg, &hdr.topo) < 0) {
        ims_trace_hdr_free(&hdr);
        return ims_errf(err, errlen, "out of memory");
    }
    struct gen g;
    memset(&g, 0, sizeof g);
    g.cfg = cfg;
    g.rng = cfg->seed;
    g.w = ims_trace_create(path, &hdr, err, errlen);
    ims_trace_hdr_free(&hdr);
    if (!g.w)
        return -1;
    g.warm_at = (uint64_t)(cfg->warmup * (double)cfg->count);
    switch (cfg->kind) {
    case IMS_GEN_NIC: gen_nic(&g); break;
    case IMS_GEN_NVME: gen_nvme(&g); break;
    case IMS_GEN_GPU: gen_gpu(&g); break;
    case IMS_GEN_RANDOM: gen_random(&g); break;
    case IMS_GEN_MULTI: gen_multi(&g); break;
    case IMS_GEN_SVM: g.failed = ims_gen_svm(cfg, g.w, &g.st, g.err, sizeof g.err) < 0; break;
    }
    return ims_gen_finish(g.w, g.failed, g.err, path, &g.st, stats, err, errlen);
}

int ims_gen_finish(struct ims_trace_writer *w, bool failed, const char *gerr, const char *path,
                   const struct ims_gen_stats *st, struct ims_gen_stats *stats, char *err, size_t errlen)
{
    if (failed) {
        ims_trace_abort(w);
        /* A writer error already names the file. */
        if (!strncmp(gerr, path, strlen(path)) && gerr[strlen(path)] == ':')
            return ims_errf(err, errlen, "%s", gerr);
        return ims_errf(err, errlen, "%s: %s", path, gerr);
    }
    if (ims_trace_commit(w, err, errlen) < 0)
        return -1;
    if (stats)
        *stats = *st;
    return 0;
}
