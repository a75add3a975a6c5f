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
/* ATTACH flags of a scalable-mode attach. */
#define TR_ATTACH_SM_ANY (IMS_RECF_SM | IMS_RECF_DTE | IMS_RECF_PRE)

/* Who is attached where, per requester id as the IOMMU sees it (aliased):
 * devices sharing an alias share the context entry, so it is cleared only
 * when the last of them detaches. */
struct rp_ctx {
    uint16_t did;
    uint16_t refs;
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
    /* Scalable mode (the trace header's mode): the scalable-mode builder
     * writes root, context and PASID structures and processes' tables; the
     * legacy builder above only the domains' second-level tables (same
     * format in both modes, VT-d 9.8), which ATTACH sm and BIND sl point at. */
    bool sm;
    struct ims_tb_sm *tbs;
    struct rp_bind *binds;    /* (sid, pasid) with a present PASID entry */
    size_t n_binds, cap_binds;
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

    rp->sm = hdr->scalable;
    struct ims_iommu_cfg icfg = cfg->iommu;
    icfg.sm.enabled = rp->sm; /* the mode comes from the trace (docs/config.md) */
    rp->mmu = ims_iommu_create(&icfg, ops ? ops : &ims_mem_direct_ops, ops ? mem_ctx : rp->mem, err, errlen);
    if (!rp->mmu) {
        ims_replay_destroy(rp);
        return NULL;
    }
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
        int rc = rp->sm ? ims_tb_sm_detach(rp->tbs, sid) : ims_tb_detach(rp->tb, sid);
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
    rc = ims_tb_sm_attach(rp->tbs, sid, rec->pasid, (rec->flags & IMS_RECF_DTE) != 0);
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
        /* The OS's page group response: no page request queue in the
         * functional replay yet (docs/vtd.md), so it is counted only. */
        rp->st.pgresp_noop++;
        break;
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
    req->at = (rec->flags & IMS_RECF_AT_TRANSLATED) ? IMS_AT_TRANSLATED : IMS_AT_UNTRANSLATED;
    req->priv = (rec->flags & IMS_RECF_PRIV) != 0;
    req->exec = (rec->flags & IMS_RECF_EXEC) != 0;
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
