/* Functional replay: one IOMMU, its memory and a table builder driven by trace
 * records (see replay.h). Control records go to the table builder and the
 * invalidation calls; DMA records are split at 4 KiB boundaries and each part
 * is translated and compared with the recording.
 */
#include "iommusim/replay.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/mem.h"
#include "iommusim/topo.h"
#include "errf.h"

#define RP_RIDS 65536
/* ATTACH flags of a scalable-mode attach. */
#define TR_ATTACH_SM_ANY (IMS_RECF_SM | IMS_RECF_DTE | IMS_RECF_PRE)
_Static_assert(IMS_RECF_AT_TRANSLATED == 1u << 7 && IMS_AT_TRANSLATED == 2 && IMS_AT_UNTRANSLATED == 0 &&
                   IMS_RECF_PRIV == 1u << 5 && IMS_RECF_EXEC == 1u << 6,
               "ims_replay_dma_req() takes these bits in place");

/* Who is attached where, per requester id as the IOMMU sees it (aliased):
 * devices sharing an alias share the context entry, so it is cleared only
 * when the last of them detaches. */
struct rp_ctx {
    uint16_t did;
    uint16_t refs;
    uint8_t pri; /* scalable mode, attached `sm dte pre`: ATS and page requests */
};

/* A page request group waiting for its pgresp. */
struct rp_group {
    struct ims_rec rec; /* its DMA record */
    uint64_t record;    /* the record's trace index */
    uint64_t end_seq;   /* descriptors written up to and including its last */
    uint64_t t_ready;   /* the latest t_queued of its parts */
    uint32_t pasid;
    uint16_t prg;
    unsigned n;                   /* held parts */
    struct ims_replay_held *held; /* in the record's order */
};

/* Page request state of one `sm dte pre` device (aliased requester id). */
#define RP_PRGS 512u
struct rp_pri_dev {
    struct rp_group *g[RP_PRGS]; /* outstanding groups by index */
    uint8_t stale[RP_PRGS];      /* answered by the IOMMU: a pgresp may still name it */
    uint16_t next;               /* the next group index */
};

/* A present PASID entry, per aliased requester id and PASID. */
struct rp_bind {
    uint16_t sid;
    uint32_t pasid;
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
    bool rings;               /* ims_riommu_on(): maps and unmaps may be ring slots */
    bool map_hints;           /* cfg.iotlb_prefetch_on_map: each map is hinted to the IOMMU */
    /* Scalable mode (the trace header's mode): the scalable-mode builder
     * writes root, context and PASID structures and processes' tables; the
     * legacy builder above only the domains' second-level tables (same
     * format in both modes, VT-d 9.8), which ATTACH sm and BIND sl point at. */
    bool sm;
    struct ims_tb_sm *tbs;
    struct rp_bind *binds;    /* (sid, pasid) with a present PASID entry */
    size_t n_binds, cap_binds;
    /* Page requests (PCIe PRI; replay.h): the queue, the devices, the
     * device sends (the functional core unless a caller set its own). */
    struct ims_prq *prq;
    uint32_t prq_entries;
    uint64_t prq_written, prq_read; /* descriptors the IOMMU wrote and the OS read (sequence numbers) */
    struct rp_pri_dev **pdev;       /* per aliased requester id, NULL: never attached `sm dte pre` */
    const struct ims_replay_dev_ops *ops;
    void *ops_ctx;
    ims_replay_seen_fn fn_seen; /* the functional sends' seen (ims_replay_dma_seen's) */
    void *fn_seen_ctx;
    uint64_t index; /* ims_replay_set_index() */
    bool index_set;
    bool pri_any; /* an `sm dte pre` device was attached */
    bool failed;
    char error[256];
};

void ims_replay_cfg_default(struct ims_replay_cfg *cfg)
{
    ims_iommu_cfg_default(&cfg->iommu);
    ims_tb_cfg_default(&cfg->tb);
    cfg->tb.caps = cfg->iommu.caps;
    cfg->fault_drain_every = 1;
    cfg->prq_entries = 2048;
}

/* ---- Page requests: the functional device (replay.h) ---- */

static void fmt_rid(const struct ims_replay *rp, char *buf, size_t len, uint16_t rid);

static void group_free(struct rp_group *g)
{
    if (g) {
        free(g->held);
        free(g);
    }
}

/* The functional core as the device: a translation request, then the
 * translated access if the completion grants it (replay.h, enum
 * ims_replay_send). */
static const struct ims_xlate *core_send(void *vctx, const struct ims_req *req, unsigned part, enum ims_replay_send how,
                                         struct ims_replay_held *h)
{
    struct ims_replay *rp = vctx;
    (void)part;
    struct ims_req r = *req;
    if (how != IMS_REPLAY_SEND_UNTRANSLATED) {
        r.at = IMS_AT_TRANSLATION;
        ims_translate(rp->mmu, &r, &rp->x);
        if (rp->x.fault)
            return &rp->x;
        if (rp->x.perm & req->access) {
            r.at = IMS_AT_TRANSLATED;
            r.iova = rp->x.pa;
            ims_translate(rp->mmu, &r, &rp->x);
            return &rp->x;
        }
        if (how == IMS_REPLAY_SEND_ATS)
            return &rp->x;
        h->no_access = true;
        r = *req;
    }
    ims_translate(rp->mmu, &r, &rp->x);
    return &rp->x;
}

static void core_pri_seen(void *vctx, const struct ims_rec *rec, const struct ims_req *req, const struct ims_xlate *x,
                          bool ok)
{
    const struct ims_replay *rp = vctx;
    if (rp->fn_seen)
        rp->fn_seen(rp->fn_seen_ctx, rec, req, x, ok);
}

static const struct ims_replay_dev_ops core_ops = {core_send, NULL, NULL, core_pri_seen};
static int pri_attach(struct ims_replay *rp, uint16_t sid);
static int pri_pgresp(struct ims_replay *rp, const struct ims_rec *rec, char *err, size_t errlen);

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
    if (cfg->prq_entries < IMS_REPLAY_PRQ_MIN || cfg->prq_entries > IMS_REPLAY_PRQ_MAX ||
        (cfg->prq_entries & (cfg->prq_entries - 1))) {
        ims_errf(err, errlen, "prq_entries (%u) must be a power of two in [%u, %u] (page request queue descriptors)",
                 cfg->prq_entries, IMS_REPLAY_PRQ_MIN, IMS_REPLAY_PRQ_MAX);
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

    rp->sm = hdr->scalable;
    struct ims_iommu_cfg icfg = cfg->iommu;
    icfg.sm.enabled = rp->sm; /* the mode comes from the trace (docs/config.md) */
    rp->mmu = ims_iommu_create(&icfg, ops ? ops : &ims_mem_direct_ops, ops ? mem_ctx : rp->mem, err, errlen);
    if (!rp->mmu) {
        ims_replay_destroy(rp);
        return NULL;
    }
    rp->rings = ims_riommu_on(rp->mmu);
    rp->map_hints = ims_iommu_cfg(rp->mmu)->iotlb_prefetch_on_map;
    struct ims_tb_cfg tbc = cfg->tb;
    tbc.caps = cfg->iommu.caps;
    if (rp->sm) /* the table region in halves: domains' second level, then the scalable-mode structures */
        tbc.tbl_size = (cfg->tb.tbl_size / 2) & ~(uint64_t)(IMS_PAGE_SIZE - 1);
    rp->tb = ims_tb_create(rp->mem, &tbc, err, errlen);
    if (!rp->tb) {
        ims_replay_destroy(rp);
        return NULL;
    }
    if (rp->sm) {
        struct ims_tb_cfg sc = tbc;
        sc.tbl_base = tbc.tbl_base + tbc.tbl_size;
        rp->tbs = ims_tb_sm_create(rp->mem, &sc, err, errlen);
        if (!rp->tbs) {
            ims_replay_destroy(rp);
            return NULL;
        }
    }
    ims_iommu_set_root(rp->mmu, rp->sm ? ims_tb_sm_root(rp->tbs) : ims_tb_root(rp->tb));
    rp->ops = &core_ops;
    rp->ops_ctx = rp;
    if (rp->sm) {
        /* The page request queue, enabled as Linux enables it (intel/svm.c
         * intel_svm_enable_prq): PQH = PQT = 0, then PQA with PQS. */
        unsigned pqs = 0;
        while ((IMS_REPLAY_PRQ_MIN << pqs) < cfg->prq_entries)
            pqs++;
        rp->prq = ims_prq_create(rp->mmu);
        rp->pdev = calloc(RP_RIDS, sizeof *rp->pdev);
        if (!rp->prq || !rp->pdev || ims_prq_set_pqa(rp->prq, IMS_REPLAY_PRQ_BASE | pqs) < 0) {
            ims_errf(err, errlen, "out of memory");
            ims_replay_destroy(rp);
            return NULL;
        }
        rp->prq_entries = cfg->prq_entries;
        rp->st.pri.queue_entries = cfg->prq_entries;
    }
    return rp;
}

void ims_replay_destroy(struct ims_replay *rp)
{
    if (!rp)
        return;
    if (rp->tb)
        ims_tb_destroy(rp->tb);
    if (rp->tbs)
        ims_tb_sm_destroy(rp->tbs);
    free(rp->binds);
    if (rp->pdev) {
        for (uint32_t i = 0; i < RP_RIDS; i++)
            if (rp->pdev[i]) {
                for (unsigned g = 0; g < RP_PRGS; g++)
                    group_free(rp->pdev[i]->g[g]);
                free(rp->pdev[i]);
            }
        free(rp->pdev);
    }
    if (rp->prq)
        ims_prq_destroy(rp->prq);
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

struct ims_tb_sm *ims_replay_tb_sm(struct ims_replay *rp)
{
    return rp->tbs;
}

bool ims_replay_scalable(const struct ims_replay *rp)
{
    return rp->sm;
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
        c->pri = 0;
        int rc = rp->sm ? ims_tb_sm_detach(rp->tbs, sid) : ims_tb_detach(rp->tb, sid);
        if (rc != IMS_TB_OK)
            return ims_errf(err, errlen, "detach %s: %s", who, ims_tb_strerror(rc));
        /* Scalable mode: its PASID entries are unreachable now; a later
         * attach starts with none bound. */
        for (size_t i = rp->n_binds; i-- > 0;)
            if (rp->binds[i].sid == sid) {
                (void)ims_tb_sm_unbind(rp->tbs, sid, rp->binds[i].pasid); /* present: cannot fail */
                rp->binds[i] = rp->binds[--rp->n_binds];
            }
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

/* ---- Scalable mode (docs/vtd.md, "Scalable mode"; docs/trace-format.md) ---- */

static struct rp_bind *bind_find(struct ims_replay *rp, uint16_t sid, uint32_t pasid)
{
    for (size_t i = 0; i < rp->n_binds; i++)
        if (rp->binds[i].sid == sid && rp->binds[i].pasid == pasid)
            return &rp->binds[i];
    return NULL;
}

static int bind_add(struct ims_replay *rp, uint16_t sid, uint32_t pasid)
{
    if (bind_find(rp, sid, pasid))
        return 0;
    if (rp->n_binds == rp->cap_binds) {
        size_t cap = rp->cap_binds ? 2 * rp->cap_binds : 64;
        struct rp_bind *b = realloc(rp->binds, cap * sizeof *b);
        if (!b)
            return -1;
        rp->binds = b;
        rp->cap_binds = cap;
    }
    rp->binds[rp->n_binds++] = (struct rp_bind){sid, pasid};
    return 0;
}

static void bind_del(struct ims_replay *rp, uint16_t sid, uint32_t pasid)
{
    struct rp_bind *b = bind_find(rp, sid, pasid);
    if (b)
        *b = rp->binds[--rp->n_binds];
}

/* The scalable-mode builder's refusal rc of record rec, in words. */
static const char *sm_why(const struct ims_replay *rp, const struct ims_rec *rec, int rc, char *why, size_t len)
{
    const struct ims_caps *c = &rp->caps;
    why[0] = 0;
    switch (rec->kind) {
    case IMS_REC_VM:
        if (rc == IMS_TB_EINVAL)
            snprintf(why, len, "ram 0x%llx and size 0x%llx must be 2 MiB aligned", (unsigned long long)rec->pa,
                     (unsigned long long)rec->size);
        else if (rc == IMS_TB_EEXIST)
            snprintf(why, len, "vm %u exists already", rec->vm);
        else if (rc == IMS_TB_ECAPS && !(c->sagaw & (1u << ims_levels_aw(rec->levels))))
            snprintf(why, len, "%u levels not in SAGAW 0x%x", rec->levels, c->sagaw);
        else if (rc == IMS_TB_ECAPS)
            snprintf(why, len, "the RAM does not fit the %u-level address width or the host width 2^%u (HAW)",
                     rec->levels, c->haw);
        break;
    case IMS_REC_PROC:
        if (rc == IMS_TB_EEXIST)
            snprintf(why, len, "process %u exists already", rec->pid);
        else if (rc == IMS_TB_ENODOM)
            snprintf(why, len, "vm %u does not exist (no vm record created it)", rec->vm);
        break;
    case IMS_REC_PMAP:
    case IMS_REC_PUNMAP:
        if (rc == IMS_TB_ENODOM)
            snprintf(why, len, "process %u does not exist (no proc record created it)", rec->pid);
        else if (rc == IMS_TB_EEXIST)
            snprintf(why, len, "already mapped (mapping over a mapping)");
        else if (rc == IMS_TB_ENOENT)
            snprintf(why, len, "nothing mapped there");
        else if (rc == IMS_TB_EINVAL && ((rec->iova | rec->size | (rec->kind == IMS_REC_PMAP ? rec->pa : 0)) &
                                         (IMS_PAGE_SIZE - 1)))
            snprintf(why, len, "va, pa and size must be 4 KiB aligned");
        else if (rc == IMS_TB_EINVAL)
            snprintf(why, len, "va + size goes past the lower (user) half of the process's address space");
        else if (rc == IMS_TB_ECAPS)
            snprintf(why, len, "pa + size goes past the VM's RAM or the host width 2^%u (HAW)", c->haw);
        break;
    case IMS_REC_BIND:
    case IMS_REC_ATTACH:
        if (rc == IMS_TB_ENOENT && rec->kind == IMS_REC_BIND && (rec->flags & IMS_RECF_UNBIND))
            snprintf(why, len, "pasid %u is not bound", rec->pasid);
        else if (rc == IMS_TB_ENOENT)
            snprintf(why, len, "the device is not attached (no attach sm before it)");
        else if (rc == IMS_TB_ENODOM)
            snprintf(why, len, "process %u does not exist (no proc record created it)", rec->pid);
        else if (rc == IMS_TB_EINVAL && rec->pasid >> 15)
            snprintf(why, len, "pasid %u: the builder's PASID tables hold PASIDs below 2^15", rec->pasid);
        else if (rc == IMS_TB_ECAPS && (rec->flags & IMS_RECF_DTE) && !c->dt)
            snprintf(why, len, "dte needs ECAP.DT");
        else if (rc == IMS_TB_ECAPS && (rec->kind == IMS_REC_BIND ? (rec->flags & IMS_RECF_PT) != 0
                                                                  : rec->tt == IMS_TT_PASSTHROUGH) &&
                 !c->pt)
            snprintf(why, len, "pass-through needs ECAP.PT");
        break;
    }
    return why[0] ? why : ims_tb_strerror(rc);
}

static __attribute__((noinline, cold)) int sm_error(const struct ims_replay *rp, const struct ims_rec *rec, int rc,
                                                    char *err, size_t errlen)
{
    char why[160], line[256];
    ims_rec_format(rec, line, sizeof line);
    /* The record's text without its kind and time: what it asked for. */
    const char *what = strchr(line, ' ') ? strchr(line, ' ') + 1 : "";
    if (!strncmp(what, "t=", 2) && strchr(what, ' '))
        what = strchr(what, ' ') + 1;
    return ims_errf(err, errlen, "%s %s: %s", ims_rec_kind_name(rec->kind), what, sm_why(rp, rec, rc, why, sizeof why));
}

/* ATTACH sm: the scalable-mode context entry (RID_PASID, DTE) and its
 * RID_PASID entry over domain did's second level (tt 0) or pass-through
 * (tt 2), as Linux 6.1 attaches a DMA-API domain in scalable mode. */
static int sm_attach(struct ims_replay *rp, const struct ims_rec *rec, char *err, size_t errlen)
{
    char who[48], why[160];
    const uint16_t sid = rp->alias[rec->rid];
    struct rp_ctx *c = &rp->ctx[sid];
    fmt_rid(rp, who, sizeof who, rec->rid);
    if (!(rec->flags & IMS_RECF_SM))
        return ims_errf(err, errlen,
                        "attach %s: a legacy-mode attach in a scalable-mode trace (scalable-mode context entries: "
                        "attach ... sm)",
                        who);
    if (rec->tt != 0 && rec->tt != IMS_TT_PASSTHROUGH)
        return ims_errf(err, errlen,
                        "attach %s sm: tt %u (scalable mode: tt 0, second level over domain %u, or 2, pass-through; "
                        "the device TLB is dte)",
                        who, rec->tt, rec->did);
    if (c->refs && c->did != rec->did)
        return ims_errf(err, errlen, "attach %s: already attached to domain %u (detach first)", who, c->did);
    int rc;
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
    /* PRE only with DTE: page requests follow ATS translation requests. */
    const bool dte = (rec->flags & IMS_RECF_DTE) != 0, pre = dte && (rec->flags & IMS_RECF_PRE);
    rc = ims_tb_sm_attach(rp->tbs, sid, rec->pasid, dte, pre);
    if (rc == IMS_TB_OK)
        rc = rec->tt == IMS_TT_PASSTHROUGH
                 ? ims_tb_sm_bind_pt(rp->tbs, sid, rec->pasid, rec->did)
                 : ims_tb_sm_bind_sl(rp->tbs, sid, rec->pasid, rec->did, ims_tb_domain_root(rp->tb, rec->did),
                                     rec->levels);
    if (rc != IMS_TB_OK)
        return ims_errf(err, errlen, "attach %s sm pasid %u to domain %u: %s", who, rec->pasid, rec->did,
                        sm_why(rp, rec, rc, why, sizeof why));
    if (bind_add(rp, sid, rec->pasid) < 0)
        return ims_errf(err, errlen, "out of memory");
    c->did = rec->did;
    c->refs++;
    c->pri = 0;
    if (pre && pri_attach(rp, sid) < 0)
        return ims_errf(err, errlen, "out of memory");
    return 0;
}

static int sm_bind(struct ims_replay *rp, const struct ims_rec *rec, char *err, size_t errlen)
{
    const uint16_t sid = rp->alias[rec->rid];
    int rc;
    if (rec->flags & IMS_RECF_UNBIND) {
        rc = bind_find(rp, sid, rec->pasid) ? ims_tb_sm_unbind(rp->tbs, sid, rec->pasid) : IMS_TB_ENOENT;
        if (rc == IMS_TB_OK)
            bind_del(rp, sid, rec->pasid);
        return rc == IMS_TB_OK ? 0 : sm_error(rp, rec, rc, err, errlen);
    }
    if (!rp->ctx[sid].refs)
        return sm_error(rp, rec, IMS_TB_ENOENT, err, errlen);
    if (bind_find(rp, sid, rec->pasid)) {
        char who[48];
        fmt_rid(rp, who, sizeof who, rec->rid);
        return ims_errf(err, errlen, "bind: pasid %u of %s is bound already (unbind first)", rec->pasid, who);
    }
    if (rec->flags & IMS_RECF_SL) {
        if (!rp->dom_levels[rec->did])
            return ims_errf(err, errlen, "bind pasid %u sl over domain %u: no such domain (no attach created it)",
                            rec->pasid, rec->did);
        rc = ims_tb_sm_bind_sl(rp->tbs, sid, rec->pasid, rec->did, ims_tb_domain_root(rp->tb, rec->did),
                               rp->dom_levels[rec->did]);
    } else if (rec->flags & IMS_RECF_PT) {
        rc = ims_tb_sm_bind_pt(rp->tbs, sid, rec->pasid, rec->did);
    } else {
        rc = ims_tb_sm_bind(rp->tbs, sid, rec->pasid, rec->pid, rec->did, (rec->flags & IMS_RECF_SRE) != 0);
    }
    if (rc != IMS_TB_OK)
        return sm_error(rp, rec, rc, err, errlen);
    if (bind_add(rp, sid, rec->pasid) < 0)
        return ims_errf(err, errlen, "out of memory");
    return 0;
}

/* The records only a scalable-mode trace holds, and INV_PASID. */
static __attribute__((noinline)) int replay_sm(struct ims_replay *rp, const struct ims_rec *rec, char *err,
                                               size_t errlen)
{
    int rc = IMS_TB_OK;
    if (!rp->sm)
        return ims_errf(err, errlen,
                        "%s: a scalable-mode record in a legacy-mode trace (the header has no 'mode scalable')",
                        ims_rec_kind_name(rec->kind));
    switch (rec->kind) {
    case IMS_REC_VM:
        rc = ims_tb_sm_vm_create(rp->tbs, rec->vm, rec->levels, rec->pa, rec->size);
        break;
    case IMS_REC_PROC:
        rc = ims_tb_sm_process_create(rp->tbs, rec->pid, rec->levels, rec->vm == IMS_REC_VM_NONE ? -1 : rec->vm);
        break;
    case IMS_REC_PMAP:
        rc = ims_tb_sm_process_exists(rp->tbs, rec->pid)
                 ? ims_tb_sm_map(rp->tbs, rec->pid, rec->iova, rec->pa, rec->size, rec->perm)
                 : IMS_TB_ENODOM;
        break;
    case IMS_REC_PUNMAP:
        rc = ims_tb_sm_process_exists(rp->tbs, rec->pid) ? ims_tb_sm_unmap(rp->tbs, rec->pid, rec->iova, rec->size)
                                                         : IMS_TB_ENODOM;
        break;
    case IMS_REC_BIND:
        return sm_bind(rp, rec, err, errlen);
    case IMS_REC_INV_PASID:
        switch (rec->target) {
        case IMS_PINV_T_PASID_CACHE:
            ims_inv_pasid_cache(rp->mmu, (enum ims_pinv_gran)rec->gran, rec->did, rec->pasid);
            break;
        case IMS_PINV_T_PIOTLB:
            ims_inv_piotlb(rp->mmu, (enum ims_pinv_gran)rec->gran, rec->did, rec->pasid, rec->iova, rec->am,
                           (rec->flags & IMS_RECF_IH) != 0);
            break;
        default:
            /* Device-TLB invalidations: the functional replay has no
             * device-side ATC (the timing model's player holds it), so
             * they are counted and change nothing here. */
            rp->st.devtlb_noop++;
            break;
        }
        break;
    case IMS_REC_PGRESP:
        return pri_pgresp(rp, rec, err, errlen);
    }
    return rc == IMS_TB_OK ? 0 : sm_error(rp, rec, rc, err, errlen);
}

int ims_replay_control(struct ims_replay *rp, const struct ims_rec *rec, char *err, size_t errlen)
{
    int rc;
    switch (rec->kind) {
    case IMS_REC_ATTACH:
        rc = rp->sm                          ? sm_attach(rp, rec, err, errlen)
             : (rec->flags & TR_ATTACH_SM_ANY) ? replay_sm(rp, rec, err, errlen)
                                             : replay_attach(rp, rec, err, errlen);
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
        /* rIOMMU rings (cfg.riommu): a ring slot's map writes its flat
         * entry only (the radix tables never translate it). */
        rc = !rp->rings ? 0
                        : ims_riommu_map(rp->mmu, rp->mem, rec->did, rec->iova, rec->size, rec->pa, rec->perm, err, errlen);
        if (rc < 0)
            return -1;
        if (rc > 0)
            break;
        rc = ims_tb_map(rp->tb, rec->did, rec->iova, rec->pa, rec->size, rec->perm);
        if (rc != IMS_TB_OK)
            return map_error(rp, rec, rc, err, errlen);
        /* Map-time prefetch (iotlb.prefetch_on_map; a what-if): the IOMMU
         * is told of the new mapping once its table entries are written. */
        if (__builtin_expect(rp->map_hints, 0))
            ims_iommu_map_hint(rp->mmu, rec->did, rec->iova, rec->size);
        break;
    case IMS_REC_UNMAP:
        if (!rp->dom_levels[rec->did])
            return map_error(rp, rec, IMS_TB_OK, err, errlen);
        rc = !rp->rings ? 0 : ims_riommu_unmap(rp->mmu, rp->mem, rec->did, rec->iova, rec->size, err, errlen);
        if (rc < 0)
            return -1;
        if (rc > 0)
            break;
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
    case IMS_REC_VM:
    case IMS_REC_PROC:
    case IMS_REC_PMAP:
    case IMS_REC_PUNMAP:
    case IMS_REC_BIND:
    case IMS_REC_INV_PASID:
    case IMS_REC_PGRESP:
        rc = replay_sm(rp, rec, err, errlen);
        if (rc)
            return rc;
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
    /* Flag bits 7, 6, 5 (translated, exec, priv) in place, without branches. */
    req->at = (uint8_t)((rec->flags >> 6) & 2u); /* IMS_AT_TRANSLATED or IMS_AT_UNTRANSLATED */
    req->priv = (uint8_t)((rec->flags >> 5) & 1u);
    req->exec = (uint8_t)((rec->flags >> 6) & 1u);
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
    rp->fn_seen = seen; /* (page requests: the functional sends show their parts to it) */
    rp->fn_seen_ctx = ctx;
    unsigned bad;
    if (rp->pri_any && ims_replay_pri_dma(rp, rec, &bad))
        return bad;
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

/* ---- Page requests (PCIe PRI; replay.h, docs/vtd.md "Page requests") ---- */

void ims_replay_set_dev_ops(struct ims_replay *rp, const struct ims_replay_dev_ops *ops, void *ctx)
{
    rp->ops = ops ? ops : &core_ops;
    rp->ops_ctx = ops ? ctx : rp;
}

void ims_replay_set_index(struct ims_replay *rp, uint64_t index)
{
    rp->index = index;
    rp->index_set = true;
}

bool ims_replay_pri_active(const struct ims_replay *rp)
{
    return rp->pri_any;
}

const char *ims_replay_error(const struct ims_replay *rp)
{
    return rp->failed ? rp->error : NULL;
}

struct ims_prq *ims_replay_prq(struct ims_replay *rp)
{
    return rp->prq;
}

/* ATTACH sm dte pre (the builder wrote the context entry with PRE, VT-d 9.4
 * bit 4): the device's page request state. */
static int pri_attach(struct ims_replay *rp, uint16_t sid)
{
    if (!rp->pdev[sid] && !(rp->pdev[sid] = calloc(1, sizeof *rp->pdev[sid])))
        return -1;
    rp->ctx[sid].pri = 1;
    rp->pri_any = true;
    return 0;
}

static __attribute__((format(printf, 2, 3))) void pri_fail(struct ims_replay *rp, const char *fmt, ...)
{
    if (rp->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rp->error, sizeof rp->error, fmt, ap);
    va_end(ap);
    rp->failed = true;
}

/* A part's final result: checked, shown, faults drained (as the loop does). */
static unsigned pri_final(struct ims_replay *rp, const struct ims_rec *rec, const struct ims_req *req,
                          const struct ims_xlate *x)
{
    const bool ok = ims_replay_check(rp, rec, req, x);
    if (req->iova == rec->iova) { /* (the record was counted by ims_replay_pri_dma) */
        rp->st.records--;
        rp->st.dma--;
        rp->st.bytes -= rec->size;
    }
    if (rp->ops->seen)
        rp->ops->seen(rp->ops_ctx, rec, req, x, ok);
    if (x->flags & IMS_XLATE_FAULT_RECORDED)
        ims_replay_fault_recorded(rp);
    return !ok;
}

static void pri_sync_stats(struct ims_replay *rp)
{
    const struct ims_prq_stats *q = ims_prq_stats(rp->prq);
    struct ims_replay_pri_stats *s = &rp->st.pri;
    s->queued = q->queued;
    s->overflows = q->overflows;
    s->dropped = q->dropped;
    s->refused = q->refused;
    s->auto_responses = q->auto_responses;
}

/* Sends a group's held parts again: Success retries each once (a
 * translation request, then the access, untranslated if still not granted),
 * anything else sends them untranslated. Returns the parts that disagreed. */
static unsigned pri_resend(struct ims_replay *rp, const struct ims_rec *rec, const struct ims_rec *resp,
                           struct ims_replay_held *held, unsigned n, uint64_t t_ready, bool success)
{
    if (rp->ops->answer) {
        const struct ims_replay_answer a = {rec, resp, t_ready, n};
        rp->ops->answer(rp->ops_ctx, &a);
    }
    unsigned bad = 0;
    for (unsigned k = 0; k < n; k++) {
        struct ims_replay_held *h = &held[k];
        const enum ims_replay_send how = success ? IMS_REPLAY_SEND_RETRY : IMS_REPLAY_SEND_UNTRANSLATED;
        h->no_access = false;
        const struct ims_xlate *x = rp->ops->send(rp->ops_ctx, &h->req, h->part, how, h);
        if (success) {
            rp->st.pri.retries++;
            rp->st.pri.retry_no_access += h->no_access;
        } else {
            rp->st.pri.untranslated++;
        }
        bad += pri_final(rp, rec, &h->req, x);
    }
    return bad;
}

bool ims_replay_pri_dma(struct ims_replay *rp, const struct ims_rec *rec, unsigned *bad)
{
    const uint16_t sid = rp->alias[rec->rid];
    if (!rp->ctx[sid].pri || !(rec->flags & IMS_RECF_PASID) || (rec->flags & IMS_RECF_AT_TRANSLATED))
        return false;
    const uint64_t index = rp->index_set ? rp->index : rp->st.records;
    rp->index_set = false;
    const unsigned parts = ims_replay_dma_parts(rec);
    *bad = 0;
    if (parts) { /* the record counts once, whether or not its first part is held */
        rp->st.records++;
        rp->st.dma++;
        rp->st.bytes += rec->size;
    }
    struct ims_replay_held *held = NULL;
    unsigned n = 0;
    uint64_t t_done = 0;
    for (unsigned i = 0; i < parts; i++) {
        struct ims_replay_held h = {.part = i, .record = index};
        ims_replay_dma_req(rp, rec, i, &h.req);
        const struct ims_xlate *x = rp->ops->send(rp->ops_ctx, &h.req, i, IMS_REPLAY_SEND_ATS, &h);
        if (x->fault || (x->perm & h.req.access)) {
            *bad += pri_final(rp, rec, &h.req, x);
            continue;
        }
        /* No access: held for a page request (counted when it is resent). */
        if (!held && !(held = malloc((size_t)(parts - i) * sizeof *held))) {
            pri_fail(rp, "out of memory");
            return true;
        }
        held[n++] = h;
        t_done = h.t_done > t_done ? h.t_done : t_done;
    }
    if (!n)
        return true;

    /* One page request group: the device's next index (per requester id as
     * the IOMMU sees it, modulo 512), LPIG on the last request. */
    struct rp_pri_dev *d = rp->pdev[sid];
    const uint16_t prg = d->next;
    if (d->g[prg]) {
        char who[48];
        fmt_rid(rp, who, sizeof who, rec->rid);
        pri_fail(rp,
                 "more than 512 page request groups outstanding for %s (group %u, of record %" PRIu64
                 ", has no pgresp yet)",
                 who, prg, d->g[prg]->record);
        free(held);
        return true;
    }
    d->next = (uint16_t)((prg + 1) % RP_PRGS);
    d->stale[prg] = 0;
    rp->st.pri.groups++;
    struct ims_prq_outcome o = {0};
    bool refused = false;
    uint64_t t_queued = 0;
    for (unsigned k = 0; k < n; k++) {
        const struct ims_req *q = &held[k].req;
        const struct ims_page_req pr = {.rid = sid,
                                        .pasid = q->pasid,
                                        .addr = q->iova & ~(uint64_t)(IMS_PAGE_SIZE - 1),
                                        .read = q->access == IMS_PERM_R,
                                        .write = q->access == IMS_PERM_W,
                                        .exec = q->exec != 0,
                                        .priv = q->priv != 0,
                                        .prg = prg,
                                        .lpig = k + 1 == n};
        ims_prq_request(rp->prq, &pr, &o);
        rp->st.pri.page_requests++;
        if (o.result == IMS_PRQ_QUEUED)
            rp->prq_written++;
        refused |= o.result == IMS_PRQ_REFUSED;
        if (rp->ops->page_request)
            rp->ops->page_request(rp->ops_ctx, &held[k], &o);
        t_queued = held[k].t_queued > t_queued ? held[k].t_queued : t_queued;
    }
    pri_sync_stats(rp);
    if (o.result == IMS_PRQ_QUEUED && !refused) { /* the last request queued: the OS will answer */
        struct rp_group *g = malloc(sizeof *g);
        if (!g) {
            free(held);
            pri_fail(rp, "out of memory");
            return true;
        }
        *g = (struct rp_group){*rec, index, rp->prq_written, t_queued, held[0].req.pasid, prg, n, held};
        d->g[prg] = g;
        return true;
    }
    /* The IOMMU answered the group itself (VT-d 7.5; prq.h): Success after
     * an overflow or a drop (the device retries once), Invalid Request after
     * a refusal (the parts go untranslated). A pgresp may still name it. */
    d->stale[prg] = 1;
    *bad += pri_resend(rp, rec, NULL, held, n, t_done, !refused);
    free(held);
    return true;
}

/* The OS's page group response (docs/vtd.md "Page requests"). */
static int pri_pgresp(struct ims_replay *rp, const struct ims_rec *rec, char *err, size_t errlen)
{
    const uint16_t sid = rp->alias[rec->rid];
    struct rp_pri_dev *d = rp->pdev ? rp->pdev[sid] : NULL;
    struct rp_group *g = d ? d->g[rec->prg] : NULL;
    char who[48];
    if (!g) {
        if (d && d->stale[rec->prg]) { /* the IOMMU had answered it: the OS's answer comes too late */
            d->stale[rec->prg] = 0;
            rp->st.pri.stale_responses++;
            return 0;
        }
        fmt_rid(rp, who, sizeof who, rec->rid);
        return ims_errf(err, errlen, "pgresp: no page request group %u outstanding for %s", rec->prg, who);
    }
    const uint32_t pasid = (rec->flags & IMS_RECF_PASID) ? rec->pasid : IMS_NO_PASID;
    if (pasid != g->pasid) {
        fmt_rid(rp, who, sizeof who, rec->rid);
        return ims_errf(err, errlen, "pgresp: page request group %u of %s is of pasid %u, the response %s%u", rec->prg,
                        who, g->pasid, pasid == IMS_NO_PASID ? "has none" : "names ",
                        pasid == IMS_NO_PASID ? 0u : pasid);
    }
    /* The OS read the queue up to and including the group's descriptors
     * (PQH past them), and clears PRO once it drained the queue (Linux 6.1
     * intel/svm.c prq_event_thread). */
    if (g->end_seq > rp->prq_read) {
        rp->prq_read = g->end_seq;
        (void)ims_prq_set_head(rp->prq, (g->end_seq % rp->prq_entries) * IMS_PRQ_DESC_BYTES); /* in range */
    }
    if (ims_prq_head(rp->prq) == ims_prq_tail(rp->prq) && (ims_prq_status(rp->prq) & IMS_PRS_PRO))
        ims_prq_clear_status(rp->prq, IMS_PRS_PRO);
    d->g[rec->prg] = NULL;
    const bool success = rec->resp == IMS_PGRESP_SUCCESS;
    rp->st.pri.resp_success += success;
    rp->st.pri.resp_invalid += rec->resp == IMS_PGRESP_INVALID;
    rp->st.pri.resp_failure += rec->resp == IMS_PGRESP_FAILURE;
    pri_resend(rp, &g->rec, rec, g->held, g->n, g->t_ready, success);
    group_free(g);
    return 0;
}

int ims_replay_finish(struct ims_replay *rp, char *err, size_t errlen)
{
    const struct rp_group *first = NULL;
    for (uint32_t s = 0; rp->pdev && s < RP_RIDS; s++)
        if (rp->pdev[s])
            for (unsigned i = 0; i < RP_PRGS; i++) {
                const struct rp_group *g = rp->pdev[s]->g[i];
                if (g && (!first || g->record < first->record))
                    first = g;
            }
    if (!first)
        return 0;
    char who[48];
    fmt_rid(rp, who, sizeof who, first->rec.rid);
    return ims_errf(err, errlen,
                    "record %" PRIu64 " (dma): page request group %u of %s pasid %u has no pgresp before the end of "
                    "the trace",
                    first->record, first->prg, who, first->pasid);
}
