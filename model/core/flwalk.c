/* Scalable-mode walks (VT-d rev. 3.x/4.x, 3.6 first-level translation in
 * the x86-64 format of Intel SDM vol. 3 4.5; 3.7 second-level; 3.8 nested):
 * first-level only, second-level only, and nested, where every
 * first-level table address (FLPTPTR and each entry's next-table address)
 * and the final output address are guest-physical and are translated
 * through the second level before use. Every read goes through the memory
 * ops and is logged with its stage (enum ims_read_stage); accessed/dirty
 * updates are writes through the ops (kind IMS_MEM_PTE), counted.
 *
 * Caching: first-level and second-level-only walks use the
 * paging-structure caches and fill the IOTLB under the scalable-mode dom
 * (sm_impl.h). A first-level PSC entry holds the next table's host address,
 * so in nested mode a PSC hit skips the second-level walks above it too.
 * The second-level walks a nested walk makes for its addresses are not
 * cached (no GPA-to-HPA caching is modelled): a cold 4-level-over-4-level
 * walk is exactly 4 + 5 x 4 = 24 paging-entry reads, and so is any walk
 * that misses every PSC. */
#include "sm_impl.h"

/* ---- Scalable-mode PSC and IOTLB fills (keys: sm_impl.h) ---- */

static unsigned psc_lookup(struct ims_iommu *mmu, uint64_t iova, uint64_t dom, unsigned levels, uint64_t *table,
                           unsigned *aux)
{
    for (unsigned l = 2; l <= levels; l++) {
        struct ims_cache *pc = mmu->psc[l];
        if (!pc->ways)
            continue;
        const uint64_t tag = iova >> ims_level_shift(l);
        struct ims_cache_entry *e = ims_cache_lookup_inl(pc, ims_psc_set(pc, tag, dom), tag, dom, (uint8_t)l);
        if (e) {
            *table = e->data;
            *aux = e->aux;
            return l;
        }
    }
    return 0;
}

/* Contract as ims_psc_fill: the lookup missed at this level. */
static void psc_fill(struct ims_iommu *mmu, unsigned level, uint64_t iova, uint64_t dom, uint64_t next, unsigned aux)
{
    struct ims_cache *pc = mmu->psc[level];
    if (!pc->ways)
        return;
    const uint64_t tag = iova >> ims_level_shift(level);
    struct ims_cache_entry *e = ims_cache_fill_missed_inl(pc, ims_psc_set(pc, tag, dom), tag, dom, (uint8_t)level, NULL);
    e->data = next;
    e->aux = aux;
}

/* Contract as ims_iotlb_fill: the lookup missed for every size held. */
static void iotlb_fill(struct ims_iommu *mmu, uint64_t iova, uint64_t dom, unsigned shift, uint64_t base, unsigned aux)
{
    struct ims_cache *c = mmu->iotlb;
    if (!c->ways)
        return;
    const uint64_t tag = iova >> shift;
    struct ims_cache_entry victim;
    victim.valid = 0;
    struct ims_cache_entry *e = ims_cache_fill_missed_inl(c, ims_iotlb_set(c, tag, dom), tag, dom, (uint8_t)shift, &victim);
    e->data = base;
    e->aux = aux;
    mmu->iotlb_size_count[ims_iotlb_size_index(shift)]++;
    if (victim.valid)
        mmu->iotlb_size_count[ims_iotlb_size_index(victim.shift)]--;
}

void ims_sm_iotlb_drop(struct ims_iommu *mmu, struct ims_cache_entry *e, uint64_t dom)
{
    struct ims_cache *c = mmu->iotlb;
    const uint64_t tag = e->tag;
    const unsigned shift = e->shift;
    if (ims_cache_remove_inl(c, ims_iotlb_set(c, tag, dom), tag, dom, (uint8_t)shift))
        mmu->iotlb_size_count[ims_iotlb_size_index(shift)]--;
}

/* ---- Permissions (3.6.1 "Access rights"; SDM 4.6): a user request needs
 * U/S at every level, a user write R/W too; a supervisor write needs R/W
 * only with WPE (CR0.WP); an execute request needs XD clear at every
 * level, and a supervisor one with SMEP a page that is not a user page. In
 * nested mode the second level must also allow the access to the page. */
unsigned ims_sm_fl_check(unsigned r, unsigned priv, unsigned exec, unsigned access, uint64_t w2)
{
    const bool write = access & IMS_PERM_W;
    if (!priv) {
        if (!(r & IMS_FLR_U))
            return IMS_FR_SM_US;
        if (write && !(r & IMS_FLR_W))
            return IMS_FR_SM_WRITE;
        if (exec && !(r & IMS_FLR_X))
            return IMS_FR_SM_XD;
    } else {
        if (write && !(r & IMS_FLR_W) && (w2 & IMS_PASID_WPE))
            return IMS_FR_SM_WRITE;
        if (exec && (!(r & IMS_FLR_X) || ((w2 & IMS_PASID_SMEP) && (r & IMS_FLR_U))))
            return IMS_FR_SM_XD;
    }
    if (write && !(r & IMS_FLR_SLW))
        return IMS_FR_SM_WRITE;
    if (!write && !(r & IMS_FLR_SLR))
        return IMS_FR_SM_READ;
    return 0;
}

/* ---- Second level ---- */

/* What a second-level walk translates. */
enum sl_what {
    SL_REQ,      /* the request's address (second-level only): cached, faults SGN.4/6/7 */
    SL_FINAL,    /* nested: the first level's output address: faults SGN.4/6/7 */
    SL_FL_ROOT,  /* nested: the table FLPTPTR points to: SFL.5, SFL.6 */
    SL_FL_TABLE, /* nested: another first-level table: SFL.5, SFL.7 */
};

/* One second-level walk of addr from the PASID entry's SLPTPTR and AW, with
 * the reserved-bit rules of walk.c (9.8). Returns 0 with the output address
 * of addr in *pa, its page shift and the permissions, or a fault. */
static unsigned sl_walk(struct ims_iommu *mmu, struct ims_xlate *out, const struct ims_sm_pe *pe, uint64_t addr,
                        unsigned access, enum sl_what what, uint64_t dom, uint64_t *pa, unsigned *shift_out,
                        unsigned *perm_out)
{
    const struct ims_caps *caps = &mmu->cfg.caps;
    const unsigned aw = ims_pasid_aw(pe->w0);
    const unsigned levels = ims_aw_levels(aw);
    const unsigned width = ims_aw_bits(aw) < mmu->mgaw ? ims_aw_bits(aw) : mmu->mgaw;
    const bool final = what == SL_REQ || what == SL_FINAL;
    if (addr >> width)
        return final ? IMS_FR_SM_ADDR : IMS_FR_SM_FL_GPA;
    const bool cached = what == SL_REQ;
    uint64_t table = ims_sm_ptr(pe->w0);
    unsigned perm = IMS_PERM_RW, level = levels;
    if (cached) {
        unsigned aux = 0;
        const unsigned hit = psc_lookup(mmu, addr, dom, levels, &table, &aux);
        if (hit) {
            level = hit - 1;
            perm = aux;
            out->psc_level = (uint8_t)hit;
        }
        /* Where the walk starts, for another walker (ims_xlate.walk): only
         * for the walk of the request's own address (the nested walks of
         * first-level tables, and first-level walks, leave walk.levels 0).
         * The entries are walk.c's format with walk.c's reserved-bit rules
         * (9.8), checked in walk.c's order. Not when the cached permissions
         * already deny the access: this walk still reads the next entry and
         * checks it first, where walk.c (and the RTL) fault with no read. */
        if (perm & access) {
            out->walk.table = table;
            out->walk.levels = (uint8_t)levels;
            out->walk.level = (uint8_t)level;
            out->walk.perm = (uint8_t)perm;
            out->walk.access = (uint8_t)access;
        }
    }
    const enum ims_read_stage stage = cached ? IMS_RS_SL : IMS_RS_NESTED_SL;
    for (;;) {
        bool error = false;
        const uint64_t epa = table + ((addr >> ims_level_shift(level)) & 511u) * 8u;
        const uint64_t e = ims_sm_read(mmu, out, epa, IMS_MEM_PTE, level, false, stage, &error);
        if (cached)
            mmu->st.sm.sl_reads++;
        else
            mmu->st.sm.nested_sl_reads++;
        if (error)
            return IMS_FR_SM_SL_ERR;
        if (!ims_slpte_present(e))
            return IMS_FR_SM_SL_P;
        uint64_t rsvd = mmu->pte_rsvd;
        bool leaf = level == 1;
        if (level >= 4) {
            rsvd |= IMS_SLPTE_PS | IMS_SLPTE_TM;
        } else if (level >= 2) {
            if (ims_slpte_ps(e)) {
                if (!(level == 2 ? (caps->sllps & IMS_SLLPS_2M) : (caps->sllps & IMS_SLLPS_1G)))
                    rsvd |= IMS_SLPTE_PS;
                rsvd |= ((UINT64_C(1) << ims_level_shift(level)) - 1) & ~(IMS_PAGE_SIZE - 1);
                leaf = true;
            } else {
                rsvd |= IMS_SLPTE_TM;
            }
        }
        if (e & rsvd)
            return IMS_FR_SM_SL_RSVD;
        perm &= ims_slpte_perm(e);
        const uint64_t next = ims_slpte_addr(e);
        if (!leaf && cached)
            psc_fill(mmu, level, addr, dom, next, perm);
        if (!(perm & access)) {
            if (final)
                return access & IMS_PERM_W ? IMS_FR_SM_WRITE : IMS_FR_SM_READ;
            return what == SL_FL_ROOT ? IMS_FR_SM_FL_ROOT_SLR : IMS_FR_SM_FL_SLR;
        }
        if (leaf) {
            const unsigned shift = ims_level_shift(level);
            *pa = next | (addr & ((UINT64_C(1) << shift) - 1));
            *shift_out = shift;
            *perm_out = perm;
            return 0;
        }
        table = next;
        level--;
    }
}

/* ---- First level ---- */

/* An accessed/dirty update: a write of the whole entry through the ops (a
 * locked read-modify-write on hardware; the read is the walk's). In nested
 * mode the table's second-level mapping must allow writes (SFL.8). */
static unsigned ad_write(struct ims_iommu *mmu, struct ims_xlate *out, uint64_t epa, uint64_t val, bool nested,
                         bool table_w)
{
    if (nested && !table_w)
        return IMS_FR_SM_FL_SLW;
    mmu->write64(mmu->mem_ctx, epa, val, IMS_MEM_PTE);
    if (out->ad_writes < UINT8_MAX)
        out->ad_writes++;
    mmu->st.sm.ad_writes++;
    return 0;
}

static unsigned fl_walk(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out,
                        const struct ims_sm_pe *pe, uint64_t dom, unsigned priv, unsigned exec, unsigned access,
                        bool nested)
{
    const uint64_t iova = req->iova;
    const unsigned levels = ims_pasid_flpm(pe->w2) ? 5 : 4;
    const bool nxe = (pe->w2 & IMS_PASID_NXE) != 0;
    /* Reserved in every present entry: 51:HAW, and XD without NXE. */
    const uint64_t rsvd_base = (((UINT64_C(1) << 52) - 1) & ~((UINT64_C(1) << mmu->cfg.caps.haw) - 1)) |
                               (nxe ? 0 : IMS_FLPTE_XD);
    uint64_t table = ims_sm_ptr(pe->w2);
    unsigned aux = 0;
    const unsigned hit = psc_lookup(mmu, iova, dom, levels, &table, &aux);
    unsigned level = hit ? hit - 1 : levels;
    unsigned rights = hit ? (aux & IMS_FLR_ALL) : IMS_FLR_ALL;
    bool table_w = hit ? (aux & IMS_FLR_SLW) != 0 : true;
    bool table_hpa = hit || !nested; /* table is a host address (else guest-physical) */
    out->psc_level = (uint8_t)hit;
    unsigned pend_level = 0, pend_rights = 0; /* nested: the PSC fill waiting for its next table's host address */
    for (;;) {
        if (!table_hpa) {
            uint64_t hpa;
            unsigned ss, sp;
            const unsigned r = sl_walk(mmu, out, pe, table, IMS_PERM_R, level == levels ? SL_FL_ROOT : SL_FL_TABLE,
                                       0, &hpa, &ss, &sp);
            if (r)
                return r;
            table = hpa & ~(IMS_PAGE_SIZE - 1);
            table_w = (sp & IMS_PERM_W) != 0;
            if (pend_level)
                psc_fill(mmu, pend_level, iova, dom, table, pend_rights | (table_w ? IMS_FLR_SLW : 0));
            pend_level = 0;
        }
        table_hpa = !nested;
        bool error = false;
        const uint64_t epa = table + ((iova >> ims_level_shift(level)) & 511u) * 8u;
        const uint64_t e = ims_sm_read(mmu, out, epa, IMS_MEM_PTE, level, false, IMS_RS_FL, &error);
        mmu->st.sm.fl_reads++;
        if (error)
            return level == levels ? IMS_FR_SM_FL_ROOT_ERR : IMS_FR_SM_FL_ERR;
        if (!(e & IMS_FLPTE_P))
            return IMS_FR_SM_FL_P;
        /* Reserved (SDM 4.5, tables 4-15..4-20, MAXPHYADDR = HAW): PS at
         * levels 4 and 5; a 1 GiB page without CAP.FL1GP; the address bits
         * below the page in a 2 MiB / 1 GiB leaf (bit 12 is PAT). */
        uint64_t rsvd = rsvd_base;
        bool leaf = level == 1;
        if (level >= 4) {
            rsvd |= IMS_FLPTE_PS;
        } else if (level >= 2 && (e & IMS_FLPTE_PS)) {
            if (level == 3 && !mmu->cfg.sm.fl1gp)
                rsvd |= IMS_FLPTE_PS;
            rsvd |= ((UINT64_C(1) << ims_level_shift(level)) - 1) & ~UINT64_C(0x1fff);
            leaf = true;
        }
        if (e & rsvd)
            return IMS_FR_SM_FL_RSVD;
        rights &= IMS_FLR_R | ((e & IMS_FLPTE_RW) ? IMS_FLR_W : 0) | ((e & IMS_FLPTE_US) ? IMS_FLR_U : 0) |
                  ((e & IMS_FLPTE_XD) ? 0 : IMS_FLR_X);
        const unsigned shift = ims_level_shift(level);
        const uint64_t addr = e & UINT64_C(0x000ffffffffff000);
        if (!leaf) {
            /* A set in every entry the walk uses (SDM 4.8). */
            if (!(e & IMS_FLPTE_A)) {
                const unsigned r = ad_write(mmu, out, epa, e | IMS_FLPTE_A, nested, table_w);
                if (r)
                    return r;
            }
            if (nested) {
                pend_level = level;
                pend_rights = rights;
            } else {
                psc_fill(mmu, level, iova, dom, addr, rights | IMS_FLR_SLW);
            }
            table = addr;
            level--;
            continue;
        }
        /* The leaf: the access is checked (first-level rights; the second
         * level's come with the output address below), then A, and D for a
         * write, set. */
        unsigned full = rights | IMS_FLR_SLR | IMS_FLR_SLW;
        unsigned r = ims_sm_fl_check(full, priv, exec, access, pe->w2);
        if (r)
            return r;
        const uint64_t ne = e | IMS_FLPTE_A | ((access & IMS_PERM_W) ? IMS_FLPTE_D : 0);
        if (ne != e) {
            r = ad_write(mmu, out, epa, ne, nested, table_w);
            if (r)
                return r;
        }
        if (ne & IMS_FLPTE_D)
            rights |= IMS_FLR_D;
        const uint64_t next = addr & ~((UINT64_C(1) << shift) - 1); /* the page (a large one's PAT bit dropped) */
        unsigned out_shift = shift;
        uint64_t base = next;
        if (nested) {
            uint64_t hpa;
            unsigned ss, sp;
            r = sl_walk(mmu, out, pe, next | (iova & ((UINT64_C(1) << shift) - 1)), access, SL_FINAL, 0, &hpa, &ss,
                        &sp);
            if (r)
                return r;
            if (ss < out_shift)
                out_shift = ss;
            base = hpa & ~((UINT64_C(1) << out_shift) - 1);
            rights |= ((sp & IMS_PERM_R) ? IMS_FLR_SLR : 0) | ((sp & IMS_PERM_W) ? IMS_FLR_SLW : 0);
        } else {
            rights |= IMS_FLR_SLR | IMS_FLR_SLW;
        }
        iotlb_fill(mmu, iova, dom, out_shift, base, rights);
        const unsigned w = ims_sm_fl_check(rights, priv, exec, IMS_PERM_W, pe->w2) ? 0 : IMS_PERM_W;
        ims_xlate_finish(mmu, req, out, base, out_shift, IMS_PERM_R | w);
        return 0;
    }
}

unsigned ims_sm_walk(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out,
                     const struct ims_sm_pe *pe, unsigned priv, unsigned exec, unsigned access)
{
    const unsigned pgtt = ims_pasid_pgtt(pe->w0);
    const uint64_t dom = ims_sm_dom(pe->did, pe->pasid, pgtt);
    mmu->st.walks++;
    out->flags |= IMS_XLATE_WALKED;
    if (pgtt == IMS_PGTT_SL) {
        mmu->st.sm.walks_sl++;
        uint64_t pa;
        unsigned shift, perm;
        const unsigned r = sl_walk(mmu, out, pe, req->iova, access, SL_REQ, dom, &pa, &shift, &perm);
        if (r)
            return r;
        const uint64_t base = pa & ~((UINT64_C(1) << shift) - 1);
        iotlb_fill(mmu, req->iova, dom, shift, base, perm);
        ims_xlate_finish(mmu, req, out, base, shift, perm);
        return 0;
    }
    if (pgtt == IMS_PGTT_NESTED)
        mmu->st.sm.walks_nested++;
    else
        mmu->st.sm.walks_fl++;
    return fl_walk(mmu, req, out, pe, dom, priv, exec, access, pgtt == IMS_PGTT_NESTED);
}
