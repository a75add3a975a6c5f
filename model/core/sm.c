/* Scalable mode (VT-d rev. 3.x/4.x, 3.4.3 "Scalable-mode address
 * translation"): the root, context, PASID-directory and PASID-table
 * entries of a request, each with the checks the spec makes on it (fault
 * reasons 7.1.3), the PASID cache, the translation's order of blocks, and
 * the scalable-mode invalidations (6.5.2.1, 6.5.2.3-6.5.2.5). The walks
 * are in flwalk.c. Legacy mode never calls anything here. */
#include <stdlib.h>

#include "ctx_cache.h"
#include "sm_impl.h"

static uint64_t above_haw(const struct ims_iommu *mmu) { return ~((UINT64_C(1) << mmu->cfg.caps.haw) - 1); }

/* Context-cache miss: the root entry (9.2) and the 256-bit context entry
 * (9.4) of `rid`. The root entry's lower half serves devfn 0..127, the
 * upper 128..255; only the half used is checked. The context entry is read
 * whole (one access, four words): words 2 and 3 are reserved. Fills the
 * context cache with words 0 and 1 (the cache's payload: data = w0, aux =
 * w1[31:0], which holds every field of w1 that is not reserved). */
static unsigned sm_context_fetch(struct ims_iommu *mmu, uint16_t rid, uint32_t cset, uint64_t *c0, uint64_t *c1,
                                 bool *fpd, struct ims_xlate *out)
{
    const uint64_t haw = above_haw(mmu);
    bool error = false;
    if (mmu->rtaddr == 0 || (mmu->rtaddr & haw))
        return IMS_FR_SM_RTA_INV;
    const uint64_t rpa = mmu->rtaddr + ims_root_offset(rid >> 8);
    uint64_t r0 = ims_sm_read(mmu, out, rpa, IMS_MEM_ROOT, 0, false, IMS_RS_CTX, &error);
    uint64_t r1 = ims_sm_read(mmu, out, rpa + 8, IMS_MEM_ROOT, 0, true, IMS_RS_CTX, &error);
    if (error)
        return IMS_FR_SM_ROOT_ERR;
    const uint64_t half = (rid & 0x80u) ? r1 : r0;
    if (!(half & 1))
        return IMS_FR_SM_ROOT_P;
    if (half & (IMS_SM_ROOT_RSVD | haw))
        return IMS_FR_SM_ROOT_RSVD;
    const uint64_t cpa = ims_sm_ptr(half) + ims_sm_ctx_offset(rid & 0xffu);
    uint64_t w[4];
    for (unsigned i = 0; i < 4; i++)
        w[i] = ims_sm_read(mmu, out, cpa + 8u * i, IMS_MEM_CONTEXT, 0, i != 0, IMS_RS_CTX, &error);
    if (error)
        return IMS_FR_SM_CTX_ERR;
    *fpd = (w[0] & IMS_SMCE_FPD) != 0;
    if (!(w[0] & IMS_SMCE_P))
        return IMS_FR_SM_CTX_P;
    if ((w[0] & (IMS_SMCE_W0_RSVD | haw)) || (w[1] & IMS_SMCE_W1_RSVD) || w[2] || w[3])
        return IMS_FR_SM_CTX_RSVD;
    if ((w[0] & IMS_SMCE_DTE) && !mmu->cfg.caps.dt) /* DTE needs ECAP.DT (SCT.4) */
        return IMS_FR_SM_CTX_INV;
    const struct ims_ctx_entry ce = {w[0], w[1]};
    ims_ctxc_fill(mmu, rid, cset, &ce);
    *c0 = w[0];
    *c1 = w[1];
    return 0;
}

/* ---- PASID cache (6.2.2): tag rid | PASID << 16 (a PASID table belongs
 * to a device's context), dom 0 (the domain id is known only from the
 * entry), data = the PASID entry's word 0, aux = DID | FPD << 16 (FPD of
 * the directory or table entry), word 2 beside the cache by entry index.
 * Not-present and faulting entries are never cached. ---- */
static uint64_t pc_tag(uint16_t rid, uint32_t pasid) { return (uint64_t)pasid << 16 | rid; }
static uint32_t pc_set(const struct ims_cache *c, uint16_t rid, uint32_t pasid)
{
    return (uint32_t)(rid ^ (rid >> 8) ^ pasid ^ (pasid >> 7)) & c->set_mask;
}

static bool pc_lookup(struct ims_iommu *mmu, uint16_t rid, uint32_t pasid, struct ims_sm_pe *pe)
{
    struct ims_cache *c = mmu->pasidc;
    if (!c->ways)
        return false;
    const struct ims_cache_entry *e = ims_cache_lookup_inl(c, pc_set(c, rid, pasid), pc_tag(rid, pasid), 0, 0);
    if (!e)
        return false;
    pe->w0 = e->data;
    pe->w2 = mmu->pasidc_w2[e - c->e];
    pe->did = (uint16_t)e->aux;
    pe->fpd = (e->aux >> 16) & 1;
    pe->pasid = pasid;
    return true;
}

static void pc_fill(struct ims_iommu *mmu, uint16_t rid, const struct ims_sm_pe *pe)
{
    struct ims_cache *c = mmu->pasidc;
    if (!c->ways)
        return;
    struct ims_cache_entry *e =
        ims_cache_fill_missed_inl(c, pc_set(c, rid, pe->pasid), pc_tag(rid, pe->pasid), 0, 0, NULL);
    e->data = pe->w0;
    e->aux = pe->did | (uint32_t)pe->fpd << 16;
    mmu->pasidc_w2[e - c->e] = pe->w2;
}

/* PASID-cache miss: the PASID-directory entry (9.5, directory indexed by
 * PASID[19:6]) and the 512-bit PASID-table entry (9.6, PASID[5:0]), read
 * whole (one access, eight words; words 3..7 are not modelled). The
 * PASID-directory and -table pointers are host physical addresses in every
 * PGTT (nested included). */
static unsigned sm_pasid_fetch(struct ims_iommu *mmu, uint16_t rid, uint64_t c0, uint32_t pasid,
                               struct ims_sm_pe *pe, bool *fpd, struct ims_xlate *out)
{
    const struct ims_caps *caps = &mmu->cfg.caps;
    const uint64_t haw = above_haw(mmu);
    bool error = false;
    const uint64_t dpa = ims_sm_ptr(c0) + (uint64_t)(pasid >> 6) * 8u;
    const uint64_t d = ims_sm_read(mmu, out, dpa, IMS_MEM_CONTEXT, 0, false, IMS_RS_PASID_DIR, &error);
    mmu->st.sm.pasid_dir_reads++;
    if (error)
        return IMS_FR_SM_PDE_ERR;
    bool pfpd = (d & IMS_PDE_FPD) != 0; /* the directory's and the entry's FPD: cached with the entry */
    *fpd |= pfpd;
    if (!(d & IMS_PDE_P))
        return IMS_FR_SM_PDE_P;
    if (d & (IMS_PDE_RSVD | haw))
        return IMS_FR_SM_PDE_RSVD;
    const uint64_t tpa = ims_sm_ptr(d) + (uint64_t)(pasid & 63u) * IMS_PASID_ENTRY_SIZE;
    uint64_t w[8];
    for (unsigned i = 0; i < 8; i++)
        w[i] = ims_sm_read(mmu, out, tpa + 8u * i, IMS_MEM_CONTEXT, 0, i != 0, IMS_RS_PASID, &error);
    mmu->st.sm.pasid_entry_reads++;
    if (error)
        return IMS_FR_SM_PTE_ERR;
    pfpd |= (w[0] & IMS_PASID_FPD) != 0;
    *fpd |= pfpd;
    if (!(w[0] & IMS_PASID_P))
        return IMS_FR_SM_PTE_P;
    const unsigned pgtt = ims_pasid_pgtt(w[0]);
    const bool fl = pgtt == IMS_PGTT_FL || pgtt == IMS_PGTT_NESTED;
    const bool sl = pgtt == IMS_PGTT_SL || pgtt == IMS_PGTT_NESTED;
    /* Reserved: the fixed fields, and a table pointer the PGTT uses above HAW. */
    if ((w[0] & IMS_PTE_W0_RSVD) || (w[1] & IMS_PTE_W1_RSVD) || (w[2] & IMS_PTE_W2_RSVD) ||
        (sl && (ims_sm_ptr(w[0]) & haw)) || (fl && (ims_sm_ptr(w[2]) & haw)))
        return IMS_FR_SM_PTE_RSVD;
    /* Invalid programming (SPT.4): a reserved or unsupported PGTT, an AW
     * SAGAW lacks (second level), a reserved or unsupported FLPM. */
    if (pgtt < IMS_PGTT_FL || pgtt > IMS_PGTT_PT || (pgtt == IMS_PGTT_PT && !caps->pt))
        return IMS_FR_SM_PTE_INV;
    const unsigned aw = ims_pasid_aw(w[0]);
    if (sl && (aw < IMS_AW_39 || aw > IMS_AW_57 || !(caps->sagaw & (1u << aw))))
        return IMS_FR_SM_PTE_INV;
    const unsigned flpm = ims_pasid_flpm(w[2]);
    if (fl && (flpm > 1 || (flpm == 1 && !mmu->cfg.sm.fl5lp)))
        return IMS_FR_SM_PTE_INV;
    pe->w0 = w[0];
    pe->w2 = w[2];
    pe->did = ims_pasid_did(w[1]);
    pe->pasid = pasid;
    pe->fpd = pfpd;
    pc_fill(mmu, rid, pe);
    return 0;
}

/* An ATS translation request that finds no translation completes
 * successfully with R = W = 0 for the access and records no fault (VT-d
 * 4.2.3, as the legacy path does): an entry not present at either level,
 * the permission missing (read, write, user, execute), or an address the
 * tables cannot translate (beyond the width, not canonical). The device may
 * then send a page request (PCIe PRI). Every other check (root, context,
 * PASID entry, reserved bits, SRE, ERE) stays a fault. */
static bool sm_no_translation(unsigned reason)
{
    switch (reason) {
    case IMS_FR_SM_FL_P:
    case IMS_FR_SM_SL_P:
    case IMS_FR_SM_US:
    case IMS_FR_SM_XD:
    case IMS_FR_SM_WRITE:
    case IMS_FR_SM_READ:
    case IMS_FR_SM_ADDR:
    case IMS_FR_SM_NONCANON:
        return true;
    default:
        return false;
    }
}

/* Steps of a scalable-mode translation (3.4.3): context (cache or
 * fetch), request type against DTE, the PASID (the request's, else the
 * context entry's RID_PASID), the PASID entry (PASID cache or fetch), SRE
 * and ERE, then by PGTT: pass-through, or the address check, the IOTLB, and
 * the walk. An ATS translation request (DTE set) is translated as a read
 * and completes with the R/W the mapping grants; translated requests pass
 * as host addresses. */
int ims_sm_translate(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out)
{
    const uint16_t rid = req->rid;
    const uint64_t iova = req->iova;
    unsigned reason;
    bool fpd = false;
    out->flags = 0;
    out->n_reads = 0;
    out->psc_level = 0;
    out->fault = 0;
    out->did = 0;
    out->ad_writes = 0;
    out->walk.levels = 0;
    mmu->st.translations++;

    /* 1. Context entry. */
    uint64_t c0, c1;
    const uint32_t cset = ims_ctxc_set(mmu->ctx, rid);
    const struct ims_cache_entry *cc = ims_ctxc_lookup(mmu, rid, cset);
    if (cc) {
        out->flags = IMS_XLATE_CTX_HIT;
        c0 = cc->data;
        c1 = cc->aux;
    } else {
        reason = sm_context_fetch(mmu, rid, cset, &c0, &c1, &fpd, out);
        if (reason)
            goto fault;
    }
    fpd = (c0 & IMS_SMCE_FPD) != 0;

    /* 2. Device-TLB requests need DTE (SCT.5). */
    unsigned access = req->access;
    if (req->at != IMS_AT_UNTRANSLATED) {
        if (!(c0 & IMS_SMCE_DTE) || req->at > IMS_AT_TRANSLATED) {
            reason = IMS_FR_SM_CTX_DTE;
            goto fault;
        }
        if (req->at == IMS_AT_TRANSLATED) {
            out->flags |= IMS_XLATE_PASSTHRU;
            ims_xlate_finish(mmu, req, out, iova & ~(IMS_PAGE_SIZE - 1), IMS_PAGE_SHIFT, IMS_PERM_RW);
            return 0;
        }
        access = IMS_PERM_R;
    }

    /* 3. The PASID: requests without one use RID_PASID and RID_PRIV (9.4). */
    uint32_t pasid;
    unsigned priv, exec;
    if (req->pasid == IMS_NO_PASID) {
        pasid = ims_smce_rid_pasid(c1);
        priv = (c1 & IMS_SMCE_RID_PRIV) != 0;
        exec = 0;
    } else {
        if (!(c0 & IMS_SMCE_PASIDE)) {
            reason = IMS_FR_SM_CTX_PASIDE;
            goto fault;
        }
        pasid = req->pasid;
        priv = req->priv != 0;
        exec = req->exec != 0;
    }
    if (pasid > 0xfffffu || (pasid >> 6) >= (UINT32_C(1) << (ims_smce_pdts(c0) + 7))) {
        reason = IMS_FR_SM_CTX_PDTS;
        goto fault;
    }

    /* 4. The PASID entry. */
    struct ims_sm_pe pe;
    if (!pc_lookup(mmu, rid, pasid, &pe)) {
        reason = sm_pasid_fetch(mmu, rid, c0, pasid, &pe, &fpd, out);
        if (reason)
            goto fault;
    }
    fpd |= pe.fpd;
    out->did = pe.did;

    /* 5. Request privilege and execute against SRE and ERE (SPT.6, SPT.5). */
    if (priv && !(pe.w2 & IMS_PASID_SRE)) {
        reason = IMS_FR_SM_PTE_SRE;
        goto fault;
    }
    if (exec && !(pe.w2 & IMS_PASID_ERE)) {
        reason = IMS_FR_SM_PTE_ERE;
        goto fault;
    }

    /* 6. By PGTT. Pass-through: the address is the output, up to HAW. */
    const unsigned pgtt = ims_pasid_pgtt(pe.w0);
    if (pgtt == IMS_PGTT_PT) {
        if (iova >> mmu->cfg.caps.haw) {
            reason = IMS_FR_SM_ADDR;
            goto fault;
        }
        mmu->st.sm.passthru++;
        out->flags |= IMS_XLATE_PASSTHRU;
        ims_xlate_finish(mmu, req, out, iova & ~(IMS_PAGE_SIZE - 1), IMS_PAGE_SHIFT, IMS_PERM_RW);
        return 0;
    }
    if (pgtt == IMS_PGTT_SL) {
        /* Second level: min(MGAW, AGAW of the PASID entry's AW). */
        const unsigned aw = ims_aw_bits(ims_pasid_aw(pe.w0));
        const unsigned width = aw < mmu->mgaw ? aw : mmu->mgaw;
        if (iova >> width) {
            reason = IMS_FR_SM_ADDR;
            goto fault;
        }
    } else {
        /* First level: canonical in 48 (FLPM 0) or 57 (FLPM 1) bits (SGN.1). */
        const unsigned bits = ims_pasid_flpm(pe.w2) ? 57 : 48;
        if ((uint64_t)((int64_t)(iova << (64 - bits)) >> (64 - bits)) != iova) {
            reason = IMS_FR_SM_NONCANON;
            goto fault;
        }
    }

    /* 7. IOTLB: cached rights decide, as in hardware; a write to a page
     * cached without its D flag walks again to set it (SDM 4.8). */
    const uint64_t dom = ims_sm_dom(pe.did, pasid, pgtt);
    unsigned shift;
    struct ims_cache_entry *e = ims_sm_iotlb_lookup(mmu, iova, dom, &shift);
    if (e) {
        if (pgtt == IMS_PGTT_SL) {
            if (!(e->aux & access)) {
                out->flags |= IMS_XLATE_IOTLB_HIT;
                reason = access == IMS_PERM_W ? IMS_FR_SM_WRITE : IMS_FR_SM_READ;
                goto fault;
            }
            out->flags |= IMS_XLATE_IOTLB_HIT;
            ims_xlate_finish(mmu, req, out, e->data, shift, e->aux & IMS_PERM_RW);
            return 0;
        }
        if (access == IMS_PERM_W && !(e->aux & IMS_FLR_D)) {
            ims_sm_iotlb_drop(mmu, e, dom);
        } else {
            out->flags |= IMS_XLATE_IOTLB_HIT;
            reason = ims_sm_fl_check(e->aux, priv, exec, access, pe.w2);
            if (reason)
                goto fault;
            const unsigned w = ims_sm_fl_check(e->aux, priv, exec, IMS_PERM_W, pe.w2) ? 0 : IMS_PERM_W;
            ims_xlate_finish(mmu, req, out, e->data, shift, IMS_PERM_R | w);
            return 0;
        }
    }

    /* 8. The walk. */
    reason = ims_sm_walk(mmu, req, out, &pe, priv, exec, access);
    if (reason == 0)
        return 0;
fault:
    if (__builtin_expect(req->at == IMS_AT_TRANSLATION, 0) && sm_no_translation(reason))
        return ims_ats_no_access(mmu, req, out);
    return ims_fault_out(mmu, req, out, reason, fpd);
}

/* ---- Invalidation ---- */

struct sm_match {
    struct ims_iommu *mmu;
    unsigned mode;      /* what to match: see the preds */
    bool by_did, by_pasid;
    uint16_t did;
    uint32_t pasid;
    uint16_t sid, mask; /* context: the source id under the function mask */
    uint64_t lo, hi;    /* bytes, inclusive */
    bool psc;           /* the entry is a PSC entry (shift = level) */
};

static bool ctx_pred(const struct ims_cache_entry *e, void *arg)
{
    const struct sm_match *m = arg;
    return ((uint16_t)e->tag & m->mask) == (m->sid & m->mask);
}

size_t ims_sm_inv_context(struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t sid, uint8_t fm)
{
    if (gran == IMS_INV_GLOBAL || gran == IMS_INV_DOMAIN) /* no domain id in the entry: all of them */
        return ims_cache_invalidate_all(mmu->ctx);
    if (gran != IMS_INV_DEVICE)
        return 0;
    static const uint16_t fm_bits[4] = {0, 0x4, 0x6, 0x7};
    struct sm_match m = {.sid = sid, .mask = (uint16_t)~fm_bits[fm & 3u]};
    return ims_cache_invalidate_if(mmu->ctx, ctx_pred, &m);
}

/* Whether entry e (IOTLB or PSC) covers any byte of [lo, hi]. */
static bool overlaps(const struct ims_cache_entry *e, bool psc, uint64_t lo, uint64_t hi)
{
    const unsigned s = psc ? ims_level_shift(e->shift) : e->shift;
    const uint64_t first = e->tag << s, last = first + ((UINT64_C(1) << s) - 1);
    return !(last < lo || first > hi);
}

/* Modes of tlb_pred. */
enum { M_IOTLB_ALL, M_IOTLB_DOMAIN, M_IOTLB_PAGE, M_PIOTLB_PASID, M_PIOTLB_PAGE };

static bool tlb_pred(const struct ims_cache_entry *e, void *arg)
{
    struct sm_match *m = arg;
    const uint64_t dom = e->dom;
    const unsigned pgtt = ims_sm_dom_pgtt(dom);
    bool hit;
    switch (m->mode) {
    case M_IOTLB_ALL:
        hit = true;
        break;
    case M_IOTLB_DOMAIN:
        hit = ims_sm_dom_did(dom) == m->did;
        break;
    case M_IOTLB_PAGE: /* second-level-only entries in the range; nested ones whatever their address */
        hit = ims_sm_dom_did(dom) == m->did &&
              (pgtt == IMS_PGTT_NESTED || (pgtt == IMS_PGTT_SL && overlaps(e, m->psc, m->lo, m->hi)));
        break;
    case M_PIOTLB_PASID:
    case M_PIOTLB_PAGE:
        hit = ims_sm_dom_did(dom) == m->did && ims_sm_dom_pasid(dom) == m->pasid &&
              (pgtt == IMS_PGTT_FL || pgtt == IMS_PGTT_NESTED) &&
              (m->mode == M_PIOTLB_PASID || overlaps(e, m->psc, m->lo, m->hi));
        break;
    default:
        hit = false;
    }
    if (hit && !m->psc && e->valid)
        m->mmu->iotlb_size_count[ims_iotlb_size_index(e->shift)]--;
    return hit;
}

static size_t tlb_inv(struct ims_iommu *mmu, struct sm_match *m, bool with_psc)
{
    m->mmu = mmu;
    m->psc = false;
    size_t n = mmu->iotlb->ways ? ims_cache_invalidate_if(mmu->iotlb, tlb_pred, m) : 0;
    if (!with_psc)
        return n;
    m->psc = true;
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        if (mmu->psc[l]->ways)
            n += ims_cache_invalidate_if(mmu->psc[l], tlb_pred, m);
    return n;
}

static void page_range(uint64_t addr, uint8_t am, uint64_t *lo, uint64_t *hi)
{
    const unsigned bits = IMS_PAGE_SHIFT + am;
    if (bits >= 64) {
        *lo = 0;
        *hi = UINT64_MAX;
        return;
    }
    *lo = addr & ~((UINT64_C(1) << bits) - 1);
    *hi = *lo + ((UINT64_C(1) << bits) - 1);
}

size_t ims_sm_inv_iotlb(struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t did, uint64_t addr, uint8_t am,
                        bool ih)
{
    struct sm_match m = {.did = did};
    if (gran == IMS_INV_GLOBAL)
        m.mode = M_IOTLB_ALL;
    else if (gran == IMS_INV_DOMAIN)
        m.mode = M_IOTLB_DOMAIN;
    else if (gran == IMS_INV_PAGE)
        m.mode = M_IOTLB_PAGE;
    else
        return 0;
    page_range(addr, am, &m.lo, &m.hi);
    return tlb_inv(mmu, &m, !(gran == IMS_INV_PAGE && ih));
}

size_t ims_sm_inv_piotlb(struct ims_iommu *mmu, enum ims_pinv_gran gran, uint16_t did, uint32_t pasid, uint64_t addr,
                         uint8_t am, bool ih)
{
    struct sm_match m = {.did = did, .pasid = pasid & 0xfffffu};
    if (gran == IMS_PINV_PASID)
        m.mode = M_PIOTLB_PASID;
    else if (gran == IMS_PINV_PAGE)
        m.mode = M_PIOTLB_PAGE;
    else
        return 0;
    page_range(addr, am, &m.lo, &m.hi);
    return tlb_inv(mmu, &m, !(gran == IMS_PINV_PAGE && ih));
}

static bool pc_pred(const struct ims_cache_entry *e, void *arg)
{
    const struct sm_match *m = arg;
    if (m->by_did && (uint16_t)e->aux != m->did)
        return false;
    return !m->by_pasid || (uint32_t)(e->tag >> 16) == m->pasid;
}

size_t ims_sm_inv_pasid_cache(struct ims_iommu *mmu, enum ims_pinv_gran gran, uint16_t did, uint32_t pasid)
{
    if (!mmu->pasidc->ways)
        return 0;
    if (gran == IMS_PINV_GLOBAL)
        return ims_cache_invalidate_all(mmu->pasidc);
    if (gran != IMS_PINV_DOMAIN && gran != IMS_PINV_PASID)
        return 0;
    struct sm_match m = {.by_did = true, .did = did, .by_pasid = gran == IMS_PINV_PASID, .pasid = pasid};
    return ims_cache_invalidate_if(mmu->pasidc, pc_pred, &m);
}
