/* rIOMMU rings (cfg.riommu): a DMA ring's slots translated through a flat
 * table per ring and an rIOTLB entry per ring (the current slot, and the
 * next one read ahead), after Malka, Amit, Ben-Yehuda and Tsafrir, "rIOMMU:
 * Efficient IOMMU for I/O Devices that Employ Ring Buffers" (ASPLOS'15).
 * Not architectural for VT-d: no VT-d structure points at these tables; an
 * instance is told where its rings and tables are (docs/config.md, "rIOMMU
 * rings"). Layouts and the rIOTLB are in riommu.h.
 *
 * Model choices (docs/experiments/riommu.md):
 * - A ring is a domain's range of IOVAs cut into equal slots; a request of
 *   that domain to such an IOVA never reaches the IOTLB or the radix tables,
 *   and software's map and unmap of such an IOVA write the flat entry only.
 * - rIOTLB: a request for the current slot hits; one for the next slot hits
 *   if its read-ahead entry is mapped, which makes it current and reads the
 *   slot after it; any other slot (or a read-ahead entry that was not
 *   mapped) reads the slot's flat entry on the request's path, then reads
 *   ahead. Reads go through the memory ops like table reads.
 * - Software's write of a slot's flat entry drops the rIOTLB's copy of that
 *   slot (rIOMMU needs no queued IOTLB invalidation per buffer; the rIOTLB
 *   never serves a translation the table no longer holds). IOTLB
 *   invalidations that cover ring slots only are elided (counted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "riommu.h"

static bool ring_span(const struct ims_riommu_ring_cfg *c, uint64_t *lo, uint64_t *hi)
{
    const uint64_t span = (uint64_t)c->slots * c->slot_size;
    if (c->down) {
        const uint64_t below = span - c->slot_size; /* slots 1.. sit below slot 0 */
        if (c->first < below || c->first > UINT64_MAX - c->slot_size)
            return false;
        *lo = c->first - below;
        *hi = c->first + c->slot_size;
        return true;
    }
    if (c->first > UINT64_MAX - span)
        return false;
    *lo = c->first;
    *hi = c->first + span;
    return true;
}

static uint64_t table_bytes(uint32_t slots)
{
    return ((uint64_t)slots * 8 + IMS_PAGE_SIZE - 1) & ~(IMS_PAGE_SIZE - 1);
}

int ims_riommu_cfg_check(const struct ims_iommu_cfg *cfg, char *err, size_t errlen)
{
    const struct ims_riommu_cfg *rc = &cfg->riommu;
    if (rc->n_rings == 0)
        return 0;
    if (rc->n_rings > IMS_RIOMMU_MAX_RINGS) {
        snprintf(err, errlen, "riommu.rings: %u rings, at most %u", rc->n_rings, IMS_RIOMMU_MAX_RINGS);
        return -1;
    }
    if (cfg->sm.enabled) {
        snprintf(err, errlen, "riommu.rings: legacy mode only (sm.enabled is set)");
        return -1;
    }
    uint64_t lo[IMS_RIOMMU_MAX_RINGS], hi[IMS_RIOMMU_MAX_RINGS], tables = 0;
    for (unsigned i = 0; i < rc->n_rings; i++) {
        const struct ims_riommu_ring_cfg *c = &rc->ring[i];
        if (c->slots == 0 || c->slots > IMS_RIOMMU_MAX_SLOTS) {
            snprintf(err, errlen, "riommu.rings: ring %u: %u slots is out of range [1, %u]", i, c->slots,
                     IMS_RIOMMU_MAX_SLOTS);
            return -1;
        }
        if (c->slot_size == 0 || (c->slot_size & (IMS_PAGE_SIZE - 1)) || c->slot_size > (UINT32_C(1) << 30)) {
            snprintf(err, errlen,
                     "riommu.rings: ring %u: slot size 0x%x is not a multiple of 4 KiB in [0x1000, 0x40000000]", i,
                     c->slot_size);
            return -1;
        }
        if (c->first & (IMS_PAGE_SIZE - 1)) {
            snprintf(err, errlen, "riommu.rings: ring %u: first slot's IOVA 0x%llx is not 4 KiB aligned", i,
                     (unsigned long long)c->first);
            return -1;
        }
        if (!ring_span(c, &lo[i], &hi[i]) || (cfg->caps.mgaw < 64 && hi[i] > (UINT64_C(1) << cfg->caps.mgaw))) {
            snprintf(err, errlen,
                     "riommu.rings: ring %u: its %u slots of 0x%x bytes from 0x%llx%s leave the address "
                     "space (below 0 or above 2^caps.mgaw)",
                     i, c->slots, c->slot_size, (unsigned long long)c->first, c->down ? " down" : "");
            return -1;
        }
        for (unsigned j = 0; j < i; j++)
            if (rc->ring[j].did == c->did && lo[i] < hi[j] && lo[j] < hi[i]) {
                snprintf(err, errlen,
                         "riommu.rings: rings %u and %u of domain %u overlap ([0x%llx, 0x%llx) and "
                         "[0x%llx, 0x%llx))",
                         j, i, c->did, (unsigned long long)lo[j], (unsigned long long)hi[j], (unsigned long long)lo[i],
                         (unsigned long long)hi[i]);
                return -1;
            }
        tables += table_bytes(c->slots);
    }
    if ((rc->table_base & (IMS_PAGE_SIZE - 1)) || rc->table_base == 0 || cfg->caps.haw >= 64 ||
        rc->table_base >= (UINT64_C(1) << cfg->caps.haw) || tables > (UINT64_C(1) << cfg->caps.haw) - rc->table_base) {
        snprintf(err, errlen,
                 "riommu.rings: the flat tables (0x%llx bytes at 0x%llx) must be 4 KiB aligned, non-zero "
                 "and below 2^caps.haw",
                 (unsigned long long)tables, (unsigned long long)rc->table_base);
        return -1;
    }
    return 0;
}

int ims_riommu_create(const struct ims_iommu_cfg *cfg, struct ims_riommu **out, char *err, size_t errlen)
{
    *out = NULL;
    if (ims_riommu_cfg_check(cfg, err, errlen))
        return -1;
    if (cfg->riommu.n_rings == 0)
        return 0;
    struct ims_riommu *rio = calloc(1, sizeof *rio);
    if (!rio) {
        snprintf(err, errlen, "iommu: out of memory for the rIOMMU rings");
        return -1;
    }
    uint64_t table = cfg->riommu.table_base;
    rio->n = cfg->riommu.n_rings;
    for (unsigned i = 0; i < rio->n; i++) {
        const struct ims_riommu_ring_cfg *c = &cfg->riommu.ring[i];
        struct ims_rio_ring *g = &rio->r[i];
        ring_span(c, &g->lo, &g->hi);
        g->size = c->slot_size;
        g->slots = c->slots;
        g->did = c->did;
        g->down = c->down;
        g->table = table;
        table += table_bytes(c->slots);
    }
    *out = rio;
    return 0;
}

void ims_riommu_destroy(struct ims_riommu *rio)
{
    free(rio);
}

bool ims_riommu_on(const struct ims_iommu *mmu)
{
    return mmu->rio != NULL;
}

static uint32_t slot_of(const struct ims_rio_ring *g, uint64_t iova)
{
    return (uint32_t)((g->down ? g->hi - 1 - iova : iova - g->lo) / g->size);
}

static uint64_t slot_iova(const struct ims_rio_ring *g, uint32_t s)
{
    return g->down ? g->hi - (uint64_t)(s + 1) * g->size : g->lo + (uint64_t)s * g->size;
}

/* One flat-entry read through the memory ops, unlogged (a read error reads as not mapped). */
static uint64_t read_flat(struct ims_iommu *mmu, uint64_t pa)
{
    if (!mmu->read64_err)
        return mmu->read64(mmu->mem_ctx, pa, IMS_MEM_PTE);
    bool e = false;
    const uint64_t v = mmu->read64_err(mmu->mem_ctx, pa, IMS_MEM_PTE, &e);
    return e ? 0 : v;
}

/* Reads the entry of the slot after s ahead into the rIOTLB; log (after a
 * demand read): where the timing layer finds it. */
static void read_ahead(struct ims_iommu *mmu, struct ims_rio_ring *g, uint32_t s, struct ims_pf_log *log)
{
    const uint32_t n = s + 1 == g->slots ? 0 : s + 1;
    if (n == s) /* a ring of one slot */
        return;
    const uint64_t pa = g->table + (uint64_t)n * 8;
    const uint64_t v = read_flat(mmu, pa);
    mmu->st.riommu.table_reads++;
    mmu->st.riommu.prefetches++;
    g->next_valid = true;
    g->next_slot = n;
    g->next_val = v;
    if (!log)
        return;
    struct ims_pf_walk *w = &log->w[log->n++];
    w->iova = slot_iova(g, n);
    w->did = g->did;
    w->shift = IMS_PAGE_SHIFT;
    w->filled = (v & IMS_RIO_R_W) != 0;
    w->n_reads = 1;
    w->pa[0] = pa;
}

int ims_riommu_translate(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out, uint16_t did)
{
    struct ims_riommu *rio = mmu->rio;
    struct ims_rio_ring *g = ims_rio_find(rio, did, req->iova);
    if (!g)
        return -1;
    const uint32_t s = slot_of(g, req->iova);
    uint64_t v;
    if (g->cur_valid && g->cur_slot == s && (g->cur_val & IMS_RIO_R_W)) {
        v = g->cur_val;
        mmu->st.riommu.hits++;
        out->flags |= IMS_XLATE_IOTLB_HIT;
    } else if (g->next_valid && g->next_slot == s && (g->next_val & IMS_RIO_R_W)) {
        /* The ring moved on: the read-ahead entry becomes current, the one after it is read. */
        v = g->cur_val = g->next_val;
        g->cur_slot = s;
        g->cur_valid = true;
        g->next_valid = false;
        mmu->st.riommu.hits++;
        out->flags |= IMS_XLATE_IOTLB_HIT;
        read_ahead(mmu, g, s, NULL);
    } else {
        struct ims_pf_log *log = mmu->pf ? ims_pf_log_mut(mmu->pf) : &rio->log;
        log->n = 0;
        bool error = false;
        v = ims_read_entry(mmu, out, g->table + (uint64_t)s * 8, IMS_MEM_PTE, 1, false, &error);
        mmu->st.ptw_reads--; /* counted as a flat-table read instead */
        mmu->st.riommu.table_reads++;
        mmu->st.riommu.misses++;
        out->flags |= IMS_XLATE_WALKED;
        if (error) {
            mmu->st.riommu.faults++;
            return IMS_FR_PAGING_ENTRY_INV;
        }
        if (!(v & req->access)) { /* not mapped, or no permission: nothing is cached */
            mmu->st.riommu.faults++;
            return (int)ims_perm_fault(req->access);
        }
        g->cur_valid = true;
        g->cur_slot = s;
        g->cur_val = v;
        read_ahead(mmu, g, s, log);
    }
    if (!(v & req->access)) { /* cached permissions decide, as for the IOTLB */
        mmu->st.riommu.faults++;
        return (int)ims_perm_fault(req->access);
    }
    const uint64_t base = (v & IMS_RIO_ADDR) + ((req->iova - slot_iova(g, s)) & ~(IMS_PAGE_SIZE - 1));
    ims_xlate_finish(mmu, req, out, base, IMS_PAGE_SHIFT, (unsigned)(v & IMS_RIO_R_W));
    return 0;
}

bool ims_riommu_covers(const struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t did, uint64_t addr, uint8_t am)
{
    if (!mmu->rio || gran != IMS_INV_PAGE || IMS_PAGE_SHIFT + am >= 64)
        return false;
    const uint64_t lo = addr & ~((UINT64_C(1) << (IMS_PAGE_SHIFT + am)) - 1);
    const uint64_t hi = lo + ((UINT64_C(1) << (IMS_PAGE_SHIFT + am)) - 1);
    const struct ims_rio_ring *g = ims_rio_find(mmu->rio, did, lo);
    return g && hi < g->hi;
}

/* The ring of [iova, iova + size) and its first slot: 1, 0 when no byte
 * of it is a ring slot, -1 with a message when it is partly one or not
 * whole slots. */
static int sw_range(struct ims_iommu *mmu, const char *what, uint16_t did, uint64_t iova, uint64_t size,
                    struct ims_rio_ring **ring, char *err, size_t errlen)
{
    *ring = NULL;
    if (!mmu->rio || size == 0)
        return 0;
    const uint64_t last = iova + (size - 1) < iova ? UINT64_MAX : iova + (size - 1);
    for (unsigned i = 0; i < mmu->rio->n; i++) {
        struct ims_rio_ring *g = &mmu->rio->r[i];
        if (g->did != did || last < g->lo || iova >= g->hi)
            continue;
        if (iova < g->lo || last >= g->hi) {
            snprintf(err, errlen,
                     "%s did %u iova 0x%llx size 0x%llx: partly in rIOMMU ring %u [0x%llx, 0x%llx) "
                     "(a ring's slots are mapped and unmapped whole)",
                     what, did, (unsigned long long)iova, (unsigned long long)size, i, (unsigned long long)g->lo,
                     (unsigned long long)g->hi);
            return -1;
        }
        if ((iova - g->lo) % g->size || size % g->size) {
            snprintf(err, errlen,
                     "%s did %u iova 0x%llx size 0x%llx: not whole slots of rIOMMU ring %u (slots of "
                     "0x%llx bytes from 0x%llx)",
                     what, did, (unsigned long long)iova, (unsigned long long)size, i, (unsigned long long)g->size,
                     (unsigned long long)g->lo);
            return -1;
        }
        *ring = g;
        return 1;
    }
    return 0;
}

/* Software wrote slot s's entry: the rIOTLB's copy of it goes. */
static void sw_drop(struct ims_rio_ring *g, uint32_t s)
{
    if (g->cur_valid && g->cur_slot == s)
        g->cur_valid = false;
    if (g->next_valid && g->next_slot == s)
        g->next_valid = false;
}

int ims_riommu_map(struct ims_iommu *mmu, struct ims_mem *mem, uint16_t did, uint64_t iova, uint64_t size, uint64_t pa,
                   unsigned perm, char *err, size_t errlen)
{
    struct ims_rio_ring *g;
    const int in = sw_range(mmu, "map", did, iova, size, &g, err, errlen);
    if (in <= 0)
        return in;
    if ((pa & (IMS_PAGE_SIZE - 1)) || (perm & IMS_PERM_RW) == 0 || (perm & ~IMS_PERM_RW) ||
        pa > (IMS_RIO_ADDR & ((UINT64_C(1) << mmu->cfg.caps.haw) - 1)) ||
        size > (UINT64_C(1) << mmu->cfg.caps.haw) - pa) {
        snprintf(err, errlen,
                 "map did %u iova 0x%llx size 0x%llx -> pa 0x%llx: a ring slot needs a 4 KiB-aligned pa "
                 "below 2^caps.haw and R or W",
                 did, (unsigned long long)iova, (unsigned long long)size, (unsigned long long)pa);
        return -1;
    }
    for (uint64_t off = 0; off < size; off += g->size) /* nothing is written unless every slot is free */
        if (ims_mem_read64(mem, g->table + (uint64_t)slot_of(g, iova + off) * 8) & IMS_RIO_R_W) {
            snprintf(err, errlen,
                     "map did %u iova 0x%llx size 0x%llx -> pa 0x%llx: already mapped (mapping over a "
                     "mapping, rIOMMU slot %u)",
                     did, (unsigned long long)iova, (unsigned long long)size, (unsigned long long)pa,
                     slot_of(g, iova + off));
            return -1;
        }
    for (uint64_t off = 0; off < size; off += g->size) {
        const uint32_t s = slot_of(g, iova + off);
        ims_mem_write64(mem, g->table + (uint64_t)s * 8, (pa + off) | perm);
        sw_drop(g, s);
        mmu->st.riommu.slot_writes++;
    }
    return 1;
}

int ims_riommu_unmap(struct ims_iommu *mmu, struct ims_mem *mem, uint16_t did, uint64_t iova, uint64_t size, char *err,
                     size_t errlen)
{
    struct ims_rio_ring *g;
    const int in = sw_range(mmu, "unmap", did, iova, size, &g, err, errlen);
    if (in <= 0)
        return in;
    for (uint64_t off = 0; off < size; off += g->size)
        if (!(ims_mem_read64(mem, g->table + (uint64_t)slot_of(g, iova + off) * 8) & IMS_RIO_R_W)) {
            snprintf(err, errlen, "unmap did %u iova 0x%llx size 0x%llx: nothing mapped there (rIOMMU slot %u)", did,
                     (unsigned long long)iova, (unsigned long long)size, slot_of(g, iova + off));
            return -1;
        }
    for (uint64_t off = 0; off < size; off += g->size) {
        const uint32_t s = slot_of(g, iova + off);
        ims_mem_write64(mem, g->table + (uint64_t)s * 8, 0);
        sw_drop(g, s);
        mmu->st.riommu.slot_writes++;
    }
    return 1;
}
