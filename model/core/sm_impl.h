/* Internal: what scalable mode's blocks share (sm.c: context, PASID
 * structures, PASID cache, translate, invalidation; flwalk.c: the walks).
 * Legacy mode never reaches this code: ims_translate hands a request to
 * ims_sm_translate only when cfg.sm.enabled.
 *
 * Cache tagging in scalable mode (VT-d 6.2.1, 6.2.4): IOTLB and
 * paging-structure-cache entries carry dom = DID | PASID << 16 | PGTT << 36
 * | 1 << 40, so entries of different PASIDs and of different translation
 * kinds (first-level, second-level, nested) never match each other, and an
 * invalidation can select by any of the three. Legacy entries (dom = DID)
 * never meet these: a change of mode empties the caches (ims_iommu_set_scalable). */
#ifndef IMS_SM_IMPL_H
#define IMS_SM_IMPL_H

#include "iotlb.h"
#include "psc.h"

/* The PASID-table entry fields a translation uses (from memory or the PASID cache). */
struct ims_sm_pe {
    uint64_t w0, w2; /* words 0 and 2 of the entry (vtd.h) */
    uint16_t did;
    uint32_t pasid;
    bool fpd;        /* FPD of the context, PASID-directory or PASID-table entry */
};

#define IMS_SM_DOM_MARK (UINT64_C(1) << 40)
static inline uint64_t ims_sm_dom(uint16_t did, uint32_t pasid, unsigned pgtt)
{
    return (uint64_t)did | (uint64_t)(pasid & 0xfffffu) << 16 | (uint64_t)(pgtt & 7u) << 36 | IMS_SM_DOM_MARK;
}
static inline uint16_t ims_sm_dom_did(uint64_t dom) { return (uint16_t)dom; }
static inline uint32_t ims_sm_dom_pasid(uint64_t dom) { return (uint32_t)(dom >> 16) & 0xfffffu; }
static inline unsigned ims_sm_dom_pgtt(uint64_t dom) { return (unsigned)(dom >> 36) & 7u; }

/* First-level rights accumulated over a walk and kept in IOTLB and PSC
 * entries' aux (second-level-only entries keep IMS_PERM_R/W only). */
#define IMS_FLR_R 1u   /* always (a present first-level entry allows reads) */
#define IMS_FLR_W 2u   /* R/W set at every level */
#define IMS_FLR_U 4u   /* U/S set at every level */
#define IMS_FLR_X 8u   /* XD clear at every level */
#define IMS_FLR_D 16u   /* IOTLB: the leaf's D is set (a write needs no walk) */
#define IMS_FLR_SLW 32u /* second level allows writes: IOTLB, to the page; PSC, to the next table (A/D updates) */
#define IMS_FLR_SLR 64u /* IOTLB: second level allows reads of the page */
#define IMS_FLR_ALL (IMS_FLR_R | IMS_FLR_W | IMS_FLR_U | IMS_FLR_X)

/* One table read in scalable mode: ims_read_entry plus the read's stage. */
static inline uint64_t ims_sm_read(struct ims_iommu *mmu, struct ims_xlate *out, uint64_t pa, enum ims_mem_kind kind,
                                   unsigned level, bool cont, enum ims_read_stage stage, bool *error)
{
    const uint8_t n = out->n_reads;
    uint64_t v = ims_read_entry(mmu, out, pa, kind, level, cont, error);
    if (out->n_reads != n)
        out->reads[n].stage = (uint8_t)stage;
    return v;
}

/* IOTLB in scalable mode: the legacy probe order (4 KiB, 2 MiB, 1 GiB, only
 * sizes held), one counted lookup. */
static inline struct ims_cache_entry *ims_sm_iotlb_lookup(struct ims_iommu *mmu, uint64_t iova, uint64_t dom,
                                                          unsigned *shift_out)
{
    struct ims_cache *tlb = mmu->iotlb;
    struct ims_cache_entry *e = NULL;
    unsigned shift = IMS_PAGE_SHIFT;
    for (unsigned i = 0; i < IMS_IOTLB_NSIZES && !e; i++) {
        if (!mmu->iotlb_size_count[i])
            continue;
        shift = ims_iotlb_shift(i);
        const uint64_t tag = iova >> shift;
        e = ims_cache_find_touch_inl(tlb, ims_iotlb_set(tlb, tag, dom), tag, dom, (uint8_t)shift);
    }
    if (tlb->ways)
        ims_cache_count_inl(tlb, e != NULL);
    *shift_out = shift;
    return e;
}

/* flwalk.c: an IOTLB miss in scalable mode, PGTT first-level, second-level
 * or nested: the walk (paging-structure caches first), the A/D updates, the
 * permission checks of the request, the IOTLB fill and *out finished.
 * Returns 0 or a fault reason (the caller reports it). */
unsigned ims_sm_walk(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out,
                     const struct ims_sm_pe *pe, unsigned priv, unsigned exec, unsigned access);
/* flwalk.c: the permission check of a first-level (or nested) translation
 * with rights r (IMS_FLR_*) for the request: 0 or the fault (VT-d 3.6.1,
 * SDM 4.6 with WPE as CR0.WP and SMEP as CR4.SMEP). */
unsigned ims_sm_fl_check(unsigned r, unsigned priv, unsigned exec, unsigned access, uint64_t w2);
/* flwalk.c: removes the IOTLB entry e (a write hit on an entry without D). */
void ims_sm_iotlb_drop(struct ims_iommu *mmu, struct ims_cache_entry *e, uint64_t dom);

/* sm.c */
int ims_sm_translate(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out);
size_t ims_sm_inv_context(struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t sid, uint8_t fm);
size_t ims_sm_inv_iotlb(struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t did, uint64_t addr, uint8_t am,
                        bool ih);
size_t ims_sm_inv_piotlb(struct ims_iommu *mmu, enum ims_pinv_gran gran, uint16_t did, uint32_t pasid, uint64_t addr,
                         uint8_t am, bool ih);
size_t ims_sm_inv_pasid_cache(struct ims_iommu *mmu, enum ims_pinv_gran gran, uint16_t did, uint32_t pasid);

#endif /* IMS_SM_IMPL_H */
