/* Functional replay: one IOMMU, its memory and a table builder driven by trace
 * records (see replay.h). Control records go to the table builder and the
 * invalidation calls; DMA records are split at 4 KiB boundaries and each part
 * is translated and compared with the recording.
 */
#include "iommusim/replay.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/mem.h"
#include "iommusim/topo.h"
#include "errf.h"

#define RP_RIDS 65536

/* Who is attached where, per requester id as the IOMMU sees it (aliased):
 * devices sharing an alias share the context entry, so it is cleared only
 * when the last of them detaches. */
struct rp_ctx {
    uint16_t did;
    uint16_t refs;
};

struct ims_replay {
    struct ims_mem *mem;
    struct ims_iommu *mmu;
    struct ims_tb *tb;
    struct ims_replay_stats st;
    uint16_t *alias;          /* own requester id -> the one the IOMMU sees */
    struct rp_ctx *ctx;       /* per aliased requester id */
    uint8_t *dom_levels;      /* per domain id: levels it was created with, 0 = none */
    struct ims_caps caps;     /* the IOMMU's, for messages */
    struct ims_fault_record fr[64];
    uint32_t drain_every;     /* cfg.fault_drain_every */
    uint32_t fault_pending;   /* faults recorded since the last drain */
    struct ims_xlate x;       /* the functional path's result buffer */
};

void ims_replay_cfg_default(struct ims_replay_cfg *cfg)
{
    ims_iommu_cfg_default(&cfg->iommu);
    ims_tb_cfg_default(&cfg->tb);
    cfg->tb.caps = cfg->iommu.caps;
    cfg->fault_drain_every = 1;
}

struct ims_replay *ims_replay_create(const struct ims_trace_hdr *hdr, const struct ims_replay_cfg *cfg,
                                     const struct ims_mem_ops *ops, void *mem_ctx, char *err, size_t errlen)
{
    char e[256];
    if (ims_topo_check(&hdr->topo, e, sizeof e) < 0) {
        ims_errf(err, errlen, "trace topology: %s", e);
        return NULL;
    }
    if (cfg->fault_drain_every == 0) {
        ims_errf(err, errlen, "fault_drain_every must be at least 1 (drain after that many fault records)");
        return NULL;
    }
    struct ims_replay *rp = calloc(1, sizeof *rp);
    if (!rp) {
        ims_errf(err, errlen, "out of memory");
        return NULL;
    }
    rp->alias = malloc(RP_RIDS * sizeof *rp->alias);
    rp->ctx = calloc(RP_RIDS, sizeof *rp->ctx);
    rp->dom_levels = calloc(RP_RIDS, 1);
    rp->mem = ims_mem_create();
    rp->drain_every = cfg->fault_drain_every;
    rp->caps = cfg->iommu.caps;
    if (!rp->alias || !rp->ctx || !rp->dom_levels || !rp->mem) {
        ims_errf(err, errlen, "out of memory");
        ims_replay_destroy(rp);
        return NULL;
    }
    for (uint32_t i = 0; i < RP_RIDS; i++)
        rp->alias[i] = (uint16_t)i;
    if (hdr->topo.n_devices > 0) {
        /* All at once: linear, where one ims_topo_requester_id() per device
         * costs the bridge depth each. */
        uint16_t *rid = malloc((size_t)hdr->topo.n_devices * sizeof *rid);
        if (!rid || ims_topo_requester_ids(&hdr->topo, rid) < 0) {
            free(rid);
            ims_errf(err, errlen, "out of memory");
            ims_replay_destroy(rp);
            return NULL;
        }
        for (int i = 0; i < hdr->topo.n_devices; i++)
            rp->alias[hdr->topo.devices[i].bdf] = rid[i];
        free(rid);
    }

    rp->mmu = ims_iommu_create(&cfg->iommu, ops ? ops : &ims_mem_direct_ops, ops ? mem_ctx : rp->mem, err, errlen);
    if (!rp->mmu) {
        ims_replay_destroy(rp);
        return NULL;
    }
    struct ims_tb_cfg tbc = cfg->tb;
    tbc.caps = cfg->iommu.caps;
    rp->tb = ims_tb_create(rp->mem, &tbc, err, errlen);
    if (!rp->tb) {
        ims_replay_destroy(rp);
        return NULL;
    }
    ims_iommu_set_root(rp->mmu, ims_tb_root(rp->tb));
    return rp;
}

void ims_replay_destroy(struct ims_replay *rp)
{
    if (!rp)
        return;
    if (rp->tb)
        ims_tb_destroy(rp->tb);
    if (rp->mmu)
        ims_iommu_destroy(rp->mmu);
    if (rp->mem)
        ims_mem_destroy(rp->mem);
    free(rp->alias);
    free(rp->ctx);
    free(rp->dom_levels);
    free(rp);
}

struct ims_iommu *ims_replay_iommu(struct ims_replay *rp)
{
    return rp->mmu;
}

struct ims_mem *ims_replay_mem(struct ims_replay *rp)
{
    return rp->mem;
}

struct ims_tb *ims_replay_tb(struct ims_replay *rp)
{
    return rp->tb;
}

const struct ims_replay_stats *ims_replay_stats(const struct ims_replay *rp)
{
    return &rp->st;
}

uint16_t ims_replay_alias(const struct ims_replay *rp, uint16_t rid)
{
    return rp->alias[rid];
}

/* "03:00.0" or "40:01.0 (seen as 40:00.0)". */
static void fmt_rid(const struct ims_replay *rp, char *buf, size_t len, uint16_t rid)
{
    char a[16], b[16];
    ims_bdf_format(a, sizeof a, rid);
    if (rp->alias[rid] == rid) {
        snprintf(buf, len, "%s", a);
    } else {
        ims_bdf_format(b, sizeof b, rp->alias[rid]);
        snprintf(buf, len, "%s (seen as %s)", a, b);
    }
}

/* Why the table builder refused an attach record (creating its domain, or
 * the context entry) with IMS_TB_ECAPS or IMS_TB_EINVAL, in words. */
static const char *attach_why(const struct ims_replay *rp, const struct ims_rec *rec, int rc, char *why, size_t len)
{
    const struct ims_caps *c = &rp->caps;
    why[0] = 0;
    if (rc == IMS_TB_ECAPS && !(c->sagaw & (1u << ims_levels_aw(rec->levels))))
        snprintf(why, len, "%u levels (%u-bit) not in SAGAW 0x%x", rec->levels,
                 ims_aw_bits(ims_levels_aw(rec->levels)), c->sagaw);
    else if (rc == IMS_TB_ECAPS && rec->did >= ims_caps_domains(c))
        snprintf(why, len, "domain id %u beyond the %u ids ND allows", rec->did, ims_caps_domains(c));
    else if (rc == IMS_TB_ECAPS && c->cm && rec->did == 0)
        snprintf(why, len, "domain id 0 is reserved with caching mode (VT-d 6.1)");
    else if (rc == IMS_TB_ECAPS && rec->tt == IMS_TT_DEVTLB && !c->dt)
        snprintf(why, len, "tt 1 (device TLB) needs ECAP.DT");
    else if (rc == IMS_TB_ECAPS && rec->tt == IMS_TT_PASSTHROUGH && !c->pt)
        snprintf(why, len, "tt 2 (pass-through) needs ECAP.PT");
    else if (rc == IMS_TB_EINVAL && rec->tt > IMS_TT_PASSTHROUGH)
        snprintf(why, len, "tt %u is reserved (0 untranslated, 1 device TLB, 2 pass-through)", rec->tt);
    return why[0] ? why : ims_tb_strerror(rc);
}

/* Attach and detach are rare and need a name buffer; kept out of line so
 * that ims_replay_control, which runs for every map, unmap and
 * invalidation, saves no registers and no stack for them. */
static __attribute__((noinline)) int replay_attach(struct ims_replay *rp, const struct ims_rec *rec, char *err,
                                                   size_t errlen)
{
    char who[48], why[128];
    int rc;
    uint16_t sid = rp->alias[rec->rid];
    struct rp_ctx *c = &rp->ctx[sid];
    fmt_rid(rp, who, sizeof who, rec->rid);
    if (!rp->dom_levels[rec->did]) {
        rc = ims_tb_domain_create(rp->tb, rec->did, rec->levels);
        if (rc != IMS_TB_OK)
            return ims_errf(err, errlen, "attach %s: cannot create domain %u with %u levels: %s", who, rec->did,
                         rec->levels, attach_why(rp, rec, rc, why, sizeof why));
        rp->dom_levels[rec->did] = rec->levels;
    } else if (rp->dom_levels[rec->did] != rec->levels) {
        return ims_errf(err, errlen, "attach %s: domain %u has %u levels, the record says %u", who, rec->did,
                     rp->dom_levels[rec->did], rec->levels);
    }
    if (c->refs && c->did != rec->did)
        return ims_errf(err, errlen, "attach %s: already attached to domain %u (detach first)", who, c->did);
    rc = ims_tb_attach(rp->tb, sid, rec->did, rec->tt, false);
    if (rc != IMS_TB_OK)
        return ims_errf(err, errlen, "attach %s to domain %u: %s", who, rec->did,
                        attach_why(rp, rec, rc, why, sizeof why));
    c->did = rec->did;
    c->refs++;
    return 0;
}

static __attribute__((noinline)) int replay_detach(struct ims_replay *rp, const struct ims_rec *rec, char *err,
                                                   size_t errlen)
{
    char who[48];
    uint16_t sid = rp->alias[rec->rid];
    struct rp_ctx *c = &rp->ctx[sid];
    fmt_rid(rp, who, sizeof who, rec->rid);
    if (!c->refs)
        return ims_errf(err, errlen, "detach %s: not attached", who);
    if (--c->refs == 0) {
        int rc = ims_tb_detach(rp->tb, sid);
        if (rc != IMS_TB_OK)
            return ims_errf(err, errlen, "detach %s: %s", who, ims_tb_strerror(rc));
    }
    return 0;
}

/* Why the table builder refused a map or unmap with IMS_TB_EINVAL or
 * IMS_TB_ECAPS, in words: what is unaligned and to what, or which width the
 * range exceeds. Writes "" if neither applies. */
static void map_why(const struct ims_replay *rp, const struct ims_rec *rec, int rc, char *why, size_t len)
{
    const uint64_t pg = IMS_PAGE_SIZE - 1;
    const bool map = rec->kind == IMS_REC_MAP;
    why[0] = 0;
    if (rc == IMS_TB_EINVAL) {
        if (rec->iova & pg)
            snprintf(why, len, "iova 0x%llx is not aligned to 4 KiB (0x1000)", (unsigned long long)rec->iova);
        else if (map && (rec->pa & pg))
            snprintf(why, len, "pa 0x%llx is not aligned to 4 KiB (0x1000)", (unsigned long long)rec->pa);
        else if (rec->size & pg)
            snprintf(why, len, "size 0x%llx is not a multiple of 4 KiB (0x1000)", (unsigned long long)rec->size);
        return;
    }
    if (rc != IMS_TB_ECAPS)
        return;
    unsigned levels = rp->dom_levels[rec->did], w = ims_aw_bits(ims_levels_aw(levels));
    if (rp->caps.mgaw < w)
        w = rp->caps.mgaw;
    if (w < 64 && (rec->iova >> w || rec->size > (UINT64_C(1) << w) - rec->iova)) {
        snprintf(why, len, "iova 0x%llx + size 0x%llx goes past the domain's address width, 2^%u (%u levels, MGAW %u)",
                 (unsigned long long)rec->iova, (unsigned long long)rec->size, w, levels, rp->caps.mgaw);
        return;
    }
    const unsigned haw = rp->caps.haw;
    if (map && (rec->pa >> haw || rec->size > (UINT64_C(1) << haw) - rec->pa))
        snprintf(why, len, "pa 0x%llx + size 0x%llx goes past the host address width, 2^%u (HAW)",
                 (unsigned long long)rec->pa, (unsigned long long)rec->size, haw);
}

/* The message for a map or unmap record that failed with table-builder
 * code rc (IMS_TB_OK: its domain does not exist). */
static __attribute__((noinline, cold)) int map_error(const struct ims_replay *rp, const struct ims_rec *rec, int rc,
                                                     char *err, size_t errlen)
{
    char why[160];
    map_why(rp, rec, rc, why, sizeof why);
    if (rec->kind == IMS_REC_MAP) {
        if (rc == IMS_TB_OK)
            return ims_errf(err, errlen, "map in domain %u: no such domain (no attach created it)", rec->did);
        return ims_errf(err, errlen, "map did %u iova 0x%llx size 0x%llx -> pa 0x%llx: %s", rec->did,
                     (unsigned long long)rec->iova, (unsigned long long)rec->size, (unsigned long long)rec->pa,
                     rc == IMS_TB_EEXIST ? "already mapped (mapping over a mapping)"
                     : why[0]            ? why
                                         : ims_tb_strerror(rc));
    }
    if (rc == IMS_TB_OK)
        return ims_errf(err, errlen, "unmap in domain %u: no such domain", rec->did);
    return ims_errf(err, errlen, "unmap did %u iova 0x%llx size 0x%llx: %s", rec->did,
                 (unsigned long long)rec->iova, (unsigned long long)rec->size,
                 rc == IMS_TB_ENOENT ? "nothing mapped there" : why[0] ? why : ims_tb_strerror(rc));
}

int ims_replay_control(struct ims_replay *rp, const struct ims_rec *rec, char *err, size_t errlen)
{
    int rc;
    switch (rec->kind) {
    case IMS_REC_ATTACH:
        rc = replay_attach(rp, rec, err, errlen);
        if (rc)
            return rc;
        break;
    case IMS_REC_DETACH:
        rc = replay_detach(rp, rec, err, errlen);
        if (rc)
            return rc;
        break;
    case IMS_REC_MAP:
        if (!rp->dom_levels[rec->did])
            return map_error(rp, rec, IMS_TB_OK, err, errlen);
        rc = ims_tb_map(rp->tb, rec->did, rec->iova, rec->pa, rec->size, rec->perm);
        if (rc != IMS_TB_OK)
            return map_error(rp, rec, rc, err, errlen);
        break;
    case IMS_REC_UNMAP:
        if (!rp->dom_levels[rec->did])
            return map_error(rp, rec, IMS_TB_OK, err, errlen);
        rc = ims_tb_unmap(rp->tb, rec->did, rec->iova, rec->size);
        if (rc != IMS_TB_OK)
            return map_error(rp, rec, rc, err, errlen);
        break;
    case IMS_REC_INV_IOTLB:
        ims_inv_iotlb(rp->mmu, (enum ims_inv_gran)rec->gran, rec->did, rec->iova, rec->am,
                      (rec->flags & IMS_RECF_IH) != 0);
        break;
    case IMS_REC_INV_CTX:
        ims_inv_context(rp->mmu, (enum ims_inv_gran)rec->gran, rec->did, rec->rid, rec->fm);
        break;
    case IMS_REC_MARK:
        break;
    case IMS_REC_DMA:
        return ims_errf(err, errlen, "dma record given to ims_replay_control (use ims_replay_dma)");
    default:
        return ims_errf(err, errlen, "unknown record kind %u", rec->kind);
    }
    rp->st.records++;
    return 0;
}

unsigned ims_replay_dma_parts(const struct ims_rec *rec)
{
    if (rec->size == 0)
        return 0;
    uint64_t first = rec->iova >> IMS_PAGE_SHIFT;
    uint64_t last = (rec->iova + (rec->size - 1)) >> IMS_PAGE_SHIFT;
    return (unsigned)(last - first + 1);
}

void ims_replay_dma_req(const struct ims_replay *rp, const struct ims_rec *rec, unsigned i, struct ims_req *req)
{
    uint64_t start = i == 0 ? rec->iova : ((rec->iova >> IMS_PAGE_SHIFT) + i) << IMS_PAGE_SHIFT;
    uint64_t next = (start | (IMS_PAGE_SIZE - 1)) + 1; /* start of the following page (0 on wrap) */
    uint64_t end = rec->iova + (rec->size - 1);       /* last byte */
    uint64_t last = (next != 0 && next - 1 < end) ? next - 1 : end;
    req->rid = rp->alias[rec->rid];
    req->pasid = (rec->flags & IMS_RECF_PASID) ? rec->pasid : IMS_NO_PASID;
    req->iova = start;
    req->size = (uint32_t)(last - start + 1);
    req->access = (rec->flags & IMS_RECF_WRITE) ? IMS_PERM_W : IMS_PERM_R;
    req->at = IMS_AT_UNTRANSLATED;
}

bool ims_replay_check(struct ims_replay *rp, const struct ims_rec *rec, const struct ims_req *req,
                      const struct ims_xlate *x)
{
    /* The first part stands for the record: count it once. */
    if (req->iova == rec->iova) {
        rp->st.records++;
        rp->st.dma++;
        rp->st.bytes += rec->size;
    }
    rp->st.requests++;
    bool ok = true;
    if (rec->flags & IMS_RECF_EXPECT_PA) {
        rp->st.checked++;
        ok = x->fault == 0 && x->pa == rec->pa + (req->iova - rec->iova);
    } else if (rec->flags & IMS_RECF_EXPECT_FAULT) {
        rp->st.checked++;
        ok = x->fault == rec->reason;
    }
    if (x->fault && !(rec->flags & IMS_RECF_EXPECT_FAULT))
        rp->st.unexpected_faults++;
    if (!ok)
        rp->st.mismatches++;
    return ok;
}

void ims_replay_fault_recorded(struct ims_replay *rp)
{
    if (++rp->fault_pending >= rp->drain_every) {
        ims_replay_drain_faults(rp);
        rp->fault_pending = 0;
    }
}

/* The functional path: the core translates into the replayer's buffer; the
 * caller's seen() gets its own context. */
struct core_ctx {
    struct ims_replay *rp;
    ims_replay_seen_fn seen;
    void *ctx;
};

static const struct ims_xlate *core_xlate(void *vctx, const struct ims_req *req, unsigned part)
{
    struct ims_replay *rp = ((struct core_ctx *)vctx)->rp;
    (void)part;
    ims_translate(rp->mmu, req, &rp->x);
    return &rp->x;
}

static void core_seen(void *vctx, const struct ims_rec *rec, const struct ims_req *req, const struct ims_xlate *x,
                      bool ok)
{
    const struct core_ctx *c = vctx;
    c->seen(c->ctx, rec, req, x, ok);
}

unsigned ims_replay_dma_seen(struct ims_replay *rp, const struct ims_rec *rec, ims_replay_seen_fn seen, void *ctx)
{
    struct core_ctx c = {rp, seen, ctx};
    return ims_replay_dma_loop(rp, rec, core_xlate, seen ? core_seen : NULL, &c);
}

unsigned ims_replay_dma(struct ims_replay *rp, const struct ims_rec *rec)
{
    return ims_replay_dma_seen(rp, rec, NULL, NULL);
}

size_t ims_replay_drain_faults(struct ims_replay *rp)
{
    size_t total = 0, n;
    while ((n = ims_fq_drain(rp->mmu, rp->mem, rp->fr, sizeof rp->fr / sizeof rp->fr[0])) > 0)
        total += n;
    ims_fq_clear_overflow(rp->mmu);
    return total;
}
