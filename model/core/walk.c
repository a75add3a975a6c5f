/* ims_translate: context lookup, IOTLB, paging-structure caches and the
 * second-level walk of VT-d legacy mode (spec rev. 3.x, 3.4 "Legacy mode
 * address translation", 9.1 root entry, 9.3 context entry, 9.8 second-level
 * paging entries, 6.2 caching). Checks are made in the order hardware meets
 * them; every failing check returns its own fault reason. */
#include "iommu_impl.h"

/* Reads one 64-bit word through the ops and logs it for the timing layer. */
static inline uint64_t rd(struct ims_iommu *mmu, struct ims_xlate *out, uint64_t pa, enum ims_mem_kind kind,
                          unsigned level)
{
    uint64_t v = mmu->read64(mmu->mem_ctx, pa, kind);
    if (kind == IMS_MEM_PTE)
        mmu->st.ptw_reads++;
    else
        mmu->st.ctx_reads++;
    struct ims_mem_read_rec *r = &out->reads[out->n_reads++];
    r->pa = pa;
    r->val = v;
    r->kind = (uint8_t)kind;
    r->level = (uint8_t)level;
    return v;
}

/* Context-cache miss: root entry, then context entry, each checked. On
 * success returns 0 with the packed entry (see IMS_CC_AW_SHIFT) and DID.
 * *fpd is set as soon as the context entry is known. */
static __attribute__((noinline)) unsigned load_context(struct ims_iommu *mmu, uint16_t rid, uint32_t cset,
                                                      uint64_t *lo_out, uint16_t *did_out, bool *fpd,
                                                      struct ims_xlate *out)
{
    const struct ims_caps *caps = &mmu->cfg.caps;
    const uint64_t above_haw = ~((UINT64_C(1) << caps->haw) - 1); /* bits 63:HAW */

    /* Root table: translation disabled (RTADDR 0) or beyond HAW. */
    if (mmu->rtaddr == 0 || (mmu->rtaddr & above_haw))
        return IMS_FR_ROOT_TABLE_INV;
    /* Root entry (9.1): only the low word is used in legacy mode; its high
     * word (UCTP) is reserved there and not read. */
    uint64_t rlo = rd(mmu, out, mmu->rtaddr + (uint64_t)(rid >> 8) * IMS_ROOT_ENTRY_SIZE, IMS_MEM_ROOT, 0);
    if (!ims_root_present(rlo))
        return IMS_FR_ROOT_ENTRY_P;
    /* Reserved: bits 11:1 and CTP bits above HAW (QEMU VTD_ROOT_ENTRY_RSVD). */
    if (rlo & (UINT64_C(0xffe) | above_haw))
        return IMS_FR_ROOT_ENTRY_RSVD;

    uint64_t cpa = ims_root_ctp(rlo) + (uint64_t)(rid & 0xffu) * IMS_CTX_ENTRY_SIZE;
    uint64_t clo = rd(mmu, out, cpa, IMS_MEM_CONTEXT, 0);
    uint64_t chi = rd(mmu, out, cpa + 8, IMS_MEM_CONTEXT, 0);
    *fpd = ims_ctx_fpd(clo);
    if (!ims_ctx_present(clo)) {
        /* Caching mode (6.1): a not-present entry may be cached, tagged with
         * the reserved domain id 0; software invalidates on not-present to
         * present transitions. */
        if (caps->cm && mmu->ctx->ways) {
            struct ims_cache_entry *e = ims_cache_insert(mmu->ctx, cset, rid, 0, 0, NULL);
            e->data = clo & (UINT64_C(1) << 1); /* P = 0, FPD kept */
            e->aux = 0;
        }
        return IMS_FR_CTX_ENTRY_P;
    }
    /* Reserved: lo 11:4 and SLPTPTR above HAW; hi 7 and 63:24 (QEMU
     * VTD_CONTEXT_ENTRY_RSVD_LO/HI). */
    if ((clo & (IMS_CTX_LO_RSVD | above_haw)) || (chi & IMS_CTX_HI_RSVD))
        return IMS_FR_CTX_ENTRY_RSVD;
    unsigned tt = ims_ctx_tt(clo);
    if (tt == IMS_TT_RESERVED || (tt == IMS_TT_DEVTLB && !caps->dt) || (tt == IMS_TT_PASSTHROUGH && !caps->pt))
        return IMS_FR_CTX_ENTRY_INV;
    unsigned aw = ims_ctx_aw(chi);
    /* AW must name a supported AGAW; pass-through ignores the tables. */
    if (tt != IMS_TT_PASSTHROUGH && (aw < IMS_AW_39 || aw > IMS_AW_57 || !(caps->sagaw & (1u << aw))))
        return IMS_FR_CTX_ENTRY_INV;

    uint64_t packed = clo | ((uint64_t)aw << IMS_CC_AW_SHIFT);
    uint16_t did = (uint16_t)ims_ctx_did(chi);
    if (mmu->ctx->ways) {
        struct ims_cache_entry *e = ims_cache_insert(mmu->ctx, cset, rid, 0, 0, NULL);
        e->data = packed;
        e->aux = did;
    }
    *lo_out = packed;
    *did_out = did;
    return 0;
}

static inline void finish(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out, uint64_t base,
                          unsigned shift, unsigned perm)
{
    uint64_t size = UINT64_C(1) << shift;
    uint64_t off = req->iova & (size - 1);
    uint64_t left = size - off;
    out->pa = base | off;
    out->len = req->size < left ? req->size : (uint32_t)left;
    out->page_shift = (uint8_t)shift;
    out->perm = (uint8_t)perm;
    mmu->st.reads_per_xlate[out->n_reads]++;
}

/* The IOTLB holds no entry for this page: ims_translate missed in it for
 * every page size it holds (an absent size has no entry to find), and
 * nothing has changed the IOTLB since (the walk's memory reads do not
 * re-enter the IOMMU). */
static void iotlb_fill(struct ims_iommu *mmu, uint64_t iova, uint16_t did, unsigned shift, uint64_t base,
                       unsigned perm)
{
    struct ims_cache *c = mmu->iotlb;
    if (!c->ways)
        return;
    uint64_t tag = iova >> shift;
    struct ims_cache_entry victim;
    victim.valid = 0;
    struct ims_cache_entry *e =
        ims_cache_fill_missed_inl(c, ims_iotlb_set(c, tag, did), tag, did, (uint8_t)shift, &victim);
    e->data = base;
    e->aux = (uint16_t)perm;
    mmu->iotlb_size_count[(shift - 12) / 9]++;
    if (victim.valid)
        mmu->iotlb_size_count[(victim.shift - 12) / 9]--;
}

/* A failed translation: clears the result, counts, reports. Off the hot path. */
static __attribute__((noinline, cold)) int fault_out(struct ims_iommu *mmu, const struct ims_req *req,
                                                     struct ims_xlate *out, unsigned reason, bool fpd)
{
    out->fault = (uint8_t)reason;
    out->pa = 0;
    out->len = 0;
    out->page_shift = 0;
    out->perm = 0;
    mmu->st.faults++;
    mmu->st.fault_reason[reason & 15u]++;
    mmu->st.reads_per_xlate[out->n_reads]++;
    ims_fault_report(mmu, req, reason, fpd, out);
    return (int)reason;
}

static inline unsigned perm_fault(unsigned access) { return access == IMS_PERM_W ? IMS_FR_WRITE : IMS_FR_READ; }

/* IOTLB miss: paging-structure caches, then the walk from the deepest hit
 * down to the leaf, filling the PSCs and the IOTLB. Returns 0 or a fault
 * reason (the caller reports it). Kept out of line so that the hit path in
 * ims_translate stays small. */
static __attribute__((noinline)) unsigned walk(struct ims_iommu *mmu, const struct ims_req *req,
                                               struct ims_xlate *out, uint64_t lo, uint16_t did,
                                               unsigned levels)
{
    const struct ims_caps *caps = &mmu->cfg.caps;
    const uint64_t iova = req->iova;
    const unsigned access = req->access;

    /* 5. Paging-structure caches: the deepest hit skips the most levels. */
    mmu->st.walks++;
    out->flags |= IMS_XLATE_WALKED;
    uint64_t table = ims_ctx_slptptr(lo);
    unsigned level = levels;
    unsigned perm = IMS_PERM_RW;
    for (unsigned l = 2; l <= levels; l++) {
        struct ims_cache *pc = mmu->psc[l];
        if (!pc->ways)
            continue;
        uint64_t tag = iova >> ims_level_shift(l);
        struct ims_cache_entry *e = ims_cache_lookup_inl(pc, ims_psc_set(pc, tag, did), tag, did, (uint8_t)l);
        if (e) {
            table = e->data;
            perm = e->aux;
            level = l - 1;
            out->psc_level = (uint8_t)l;
            break;
        }
    }
    if (!(perm & access))
        return perm_fault(access);

    /* 6. The walk, from `level` down to the leaf.
     * Reserved bits (9.8; same masks as QEMU's VTD_SPTE_PAGE_L*_RSVD_MASK and
     * VTD_SPTE_LPAGE_L*_RSVD_MASK): address bits 51:HAW at every level; bit 11
     * (SNP: ECAP.SC is 0 here) at every level; PS (bit 7) at levels 4 and 5,
     * and at 2/3 when SLLPS lacks that size; in a 2 MiB / 1 GiB leaf, address
     * bits 20:12 / 29:12. Bits 6:3 of non-leaf entries are ignored, not
     * reserved (neither the spec's non-leaf formats nor QEMU reserve them);
     * bits 63:52 are ignored. */
    const uint64_t rsvd_base = mmu->haw_rsvd | (UINT64_C(1) << 11);
    for (;;) {
        uint64_t epa = table + ((iova >> ims_level_shift(level)) & 511u) * 8u;
        uint64_t e = rd(mmu, out, epa, IMS_MEM_PTE, level);
        /* Not present (neither R nor W): reported as a permission fault for
         * the access (QEMU vtd_iova_to_slpte does the same). */
        if (__builtin_expect(!ims_slpte_present(e), 0))
            return perm_fault(access);
        uint64_t rsvd = rsvd_base;
        bool leaf = level == 1;
        if (level >= 4) {
            rsvd |= IMS_SLPTE_PS;
        } else if (level >= 2 && ims_slpte_ps(e)) {
            unsigned ok = level == 2 ? (caps->sllps & IMS_SLLPS_2M) : (caps->sllps & IMS_SLLPS_1G);
            if (!ok)
                rsvd |= IMS_SLPTE_PS;
            rsvd |= ((UINT64_C(1) << ims_level_shift(level)) - 1) & ~(IMS_PAGE_SIZE - 1);
            leaf = true;
        }
        if (__builtin_expect((e & rsvd) != 0, 0))
            return IMS_FR_PAGING_ENTRY_RSVD;
        perm &= ims_slpte_perm(e);
        uint64_t next = ims_slpte_addr(e);
        if (!leaf) {
            /* Step 5 looked this level up and missed: the walk starts
             * one level below the deepest hit (at the top if none), so
             * every level it fills is one that missed. */
            struct ims_cache *pc = mmu->psc[level];
            if (pc->ways) {
                uint64_t tag = iova >> ims_level_shift(level);
                struct ims_cache_entry *pe =
                    ims_cache_fill_missed_inl(pc, ims_psc_set(pc, tag, did), tag, did, (uint8_t)level, NULL);
                pe->data = next;
                pe->aux = (uint16_t)perm;
            }
        }
        if (__builtin_expect(!(perm & access), 0))
            return perm_fault(access);
        if (leaf) {
            unsigned shift = ims_level_shift(level);
            iotlb_fill(mmu, iova, did, shift, next, perm);
            finish(mmu, req, out, next, shift, perm);
            return 0;
        }
        table = next;
        level--;
    }
}

/* One IOTLB probe for one page size (ims_size_shift order: 12, 21, 30). */
static inline struct ims_cache_entry *iotlb_probe(struct ims_cache *tlb, uint64_t iova, uint16_t did, unsigned shift)
{
    uint64_t tag = iova >> shift;
    return ims_cache_find_touch_inl(tlb, ims_iotlb_set(tlb, tag, did), tag, did, (uint8_t)shift);
}

int ims_translate(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out)
{
    const uint16_t rid = req->rid;
    const uint64_t iova = req->iova;
    unsigned reason;
    uint64_t lo; /* the cached context entry: FPD for every fault after step 1 */
    uint16_t did;

    /* flags, n_reads, psc_level, fault and did start at 0; pa, len,
     * page_shift and perm are set by finish() or fault_out(). */
    out->flags = 0;
    out->n_reads = 0;
    out->psc_level = 0;
    out->fault = 0;
    out->did = 0;
    mmu->st.translations++;

    /* 1. Context: cache (tag = requester id), else root and context tables. */
    struct ims_cache *cc = mmu->ctx;
    uint32_t cset = ims_ctx_set(cc, rid);
    struct ims_cache_entry *ce = ims_cache_lookup_inl(cc, cset, rid, 0, 0);
    if (__builtin_expect(ce != NULL, 1)) {
        out->flags = IMS_XLATE_CTX_HIT;
        lo = ce->data;
        did = ce->aux;
        if (__builtin_expect(!ims_ctx_present(lo), 0)) { /* caching mode: cached not-present entry */
            reason = IMS_FR_CTX_ENTRY_P;
            goto fault;
        }
    } else {
        /* Its own outputs: lo and did, if their addresses were taken, would
         * live in memory on the hit path too. */
        uint64_t clo = 0;
        uint16_t cdid = 0;
        bool cfpd = false;
        reason = load_context(mmu, rid, cset, &clo, &cdid, &cfpd, out);
        if (reason)
            return fault_out(mmu, req, out, reason, cfpd);
        lo = clo;
        did = cdid;
    }
    out->did = did;

    /* 2. Translation type vs request type (9.3 TT; 4.2.3 for ATS). */
    unsigned tt = ims_ctx_tt(lo);
    if (__builtin_expect(req->at != IMS_AT_UNTRANSLATED || tt == IMS_TT_PASSTHROUGH, 0)) {
        if (req->at != IMS_AT_UNTRANSLATED) {
            if (tt != IMS_TT_DEVTLB) {
                reason = IMS_FR_CTX_ENTRY_TT;
                goto fault;
            }
            if (req->at == IMS_AT_TRANSLATED) { /* already translated by the device TLB */
                out->flags |= IMS_XLATE_PASSTHRU;
                finish(mmu, req, out, iova & ~(IMS_PAGE_SIZE - 1), IMS_PAGE_SHIFT, IMS_PERM_RW);
                return 0;
            }
        }
        if (tt == IMS_TT_PASSTHROUGH) {
            out->flags |= IMS_XLATE_PASSTHRU;
            finish(mmu, req, out, iova & ~(IMS_PAGE_SIZE - 1), IMS_PAGE_SHIFT, IMS_PERM_RW);
            return 0;
        }
    }

    /* 3. Input address width: min(MGAW, AGAW of the context entry). */
    unsigned aw = (unsigned)(lo >> IMS_CC_AW_SHIFT) & 7u;
    unsigned width = ims_aw_bits(aw) < mmu->mgaw ? ims_aw_bits(aw) : mmu->mgaw;
    if (__builtin_expect((iova >> width) != 0, 0)) {
        reason = IMS_FR_ADDR_BEYOND_MGAW;
        goto fault;
    }
    const unsigned access = req->access;

    /* 4. IOTLB: one logical lookup (counted once), probing only the page
     *    sizes it currently holds, 4 KiB first. */
    struct ims_cache *tlb = mmu->iotlb;
    struct ims_cache_entry *e = NULL;
    unsigned shift = 12;
    if (__builtin_expect(mmu->iotlb_size_count[0] != 0, 1))
        e = iotlb_probe(tlb, iova, did, 12);
    if (!e && mmu->iotlb_size_count[1]) {
        shift = 21;
        e = iotlb_probe(tlb, iova, did, 21);
    }
    if (!e && mmu->iotlb_size_count[2]) {
        shift = 30;
        e = iotlb_probe(tlb, iova, did, 30);
    }
    if (tlb->ways)
        ims_cache_count_inl(tlb, e != NULL);
    if (__builtin_expect(e != NULL, 1)) {
        out->flags |= IMS_XLATE_IOTLB_HIT;
        if (__builtin_expect(!(e->aux & access), 0)) { /* cached permissions decide, as in hardware */
            reason = perm_fault(access);
            goto fault;
        }
        finish(mmu, req, out, e->data, shift, e->aux);
        return 0;
    }

    reason = walk(mmu, req, out, lo, did, ims_aw_levels(aw));
    if (__builtin_expect(reason == 0, 1))
        return 0;
fault:
    return fault_out(mmu, req, out, reason, ims_ctx_fpd(lo));
}
