/* The replayer's IOVA remap (iova_remap.h; docs/config.md, player.iova_remap).
 *
 * Every recorded MAP of 2^k pages (size rounded up to a power of two, k <=
 * IMS_RM_ORDERS - 1) gets a unit of the order-k allocator, one ia.h
 * allocator per order in its own 16 GiB range ((k + 1) << 34), so every
 * unit is naturally aligned (a 2 MiB MAP stays 2 MiB aligned and a superpage
 * mapping stays possible) and the whole space fits a 3-level (39-bit)
 * domain. A table keyed by (domain, recorded page) gives each mapped page's
 * new page. An UNMAP's unit is freed only when an invalidation covering it
 * comes (page-selective of its range, domain or global), as the recorded
 * allocator's own IOVAs are, so no IOTLB entry of an old mapping can serve a
 * new one: translations keep the recorded output addresses. */
#include "iova_remap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ia.h"
#include "iommusim/iommu.h"

#define IMS_RM_ORDERS 19        /* 4 KiB .. 1 GiB units */
#define IMS_RM_SPAN_SHIFT 34    /* each order's range: 16 GiB */
#define IMS_RM_MAX_UNITS (UINT64_C(1) << 20)
#define IMS_RM_INV_SCAN 4096u   /* a page-selective range wider than this many pages widens to the domain */

struct rm_ent {
    uint64_t key;  /* (did << 40 | recorded page) + 1; 0 = empty */
    uint64_t page; /* new page address */
    uint64_t unit; /* the mapping's unit (new IOVA) */
    uint8_t order;
    bool live, head; /* mapped now; the mapping's first page */
    bool pend;       /* unmapped, its unit not yet freed (no invalidation covered it yet) */
};

struct rm_pend {
    uint64_t unit;
    uint64_t rec_first, pages; /* the recorded pages it held */
    uint16_t did;
    uint8_t order;
};

struct ims_remap {
    int strategy;
    struct ims_ia_state ia[IMS_RM_ORDERS];
    struct rm_ent *tab;
    size_t tcap, tn;
    struct rm_pend *pend;
    size_t npend, pcap;
    uint16_t rid_did[65536];
    uint8_t rid_ok[65536];
    uint64_t index;
    struct ims_remap_stats st;
};

static const char *const rm_names[IMS_IA_COUNT] = {
#define RM_NAME_(U, f, n) n,
    IMS_IA_LIST(RM_NAME_)
#undef RM_NAME_
};

int ims_remap_strategy(const char *name)
{
    for (int i = 0; i < IMS_IA_COUNT; i++)
        if (name && !strcmp(name, rm_names[i]))
            return i;
    return -1;
}

const char *ims_remap_known(void) { return "none, lifo, top-down, ring or pool"; }

const char *ims_remap_name(int s) { return s >= 0 && s < IMS_IA_COUNT ? rm_names[s] : NULL; }

struct ims_remap *ims_remap_new(int strategy, char *err, size_t errlen)
{
    if (strategy < 0 || strategy >= IMS_IA_COUNT) {
        snprintf(err, errlen, "iova remap: unknown strategy %d", strategy);
        return NULL;
    }
    struct ims_remap *m = calloc(1, sizeof *m);
    if (!m)
        goto oom;
    m->strategy = strategy;
    for (unsigned k = 0; k < IMS_RM_ORDERS; k++) {
        struct ims_ia_state *a = &m->ia[k];
        a->strategy = (unsigned)strategy;
        a->unit = UINT64_C(1) << (12 + k);
        a->base = (uint64_t)(k + 1) << IMS_RM_SPAN_SHIFT;
        a->n = (UINT64_C(1) << IMS_RM_SPAN_SHIFT) >> (12 + k);
        if (a->n > IMS_RM_MAX_UNITS)
            a->n = IMS_RM_MAX_UNITS;
        a->cursor = a->n - 1;
        a->used = calloc((size_t)(a->n + 7) / 8, 1);
        if (!a->used)
            goto oom;
    }
    m->tcap = 1024;
    m->tab = calloc(m->tcap, sizeof *m->tab);
    if (!m->tab)
        goto oom;
    return m;
oom:
    ims_remap_free(m);
    snprintf(err, errlen, "iova remap: out of memory");
    return NULL;
}

void ims_remap_free(struct ims_remap *m)
{
    if (!m)
        return;
    for (unsigned k = 0; k < IMS_RM_ORDERS; k++) {
        free(m->ia[k].used);
        free(m->ia[k].stack);
    }
    free(m->tab);
    free(m->pend);
    free(m);
}

const struct ims_remap_stats *ims_remap_stats(const struct ims_remap *m) { return &m->st; }

static uint64_t rm_key(uint16_t did, uint64_t iova) { return (((uint64_t)did << 40) | ((iova >> 12) & ((UINT64_C(1) << 40) - 1))) + 1; }

static size_t rm_slot(const struct ims_remap *m, uint64_t key)
{
    uint64_t h = key * UINT64_C(0x9e3779b97f4a7c15);
    size_t i = (size_t)(h >> 20) & (m->tcap - 1);
    while (m->tab[i].key && m->tab[i].key != key)
        i = (i + 1) & (m->tcap - 1);
    return i;
}

static struct rm_ent *rm_find(struct ims_remap *m, uint16_t did, uint64_t iova)
{
    size_t i = rm_slot(m, rm_key(did, iova));
    return m->tab[i].key ? &m->tab[i] : NULL;
}

static struct rm_ent *rm_put(struct ims_remap *m, uint16_t did, uint64_t iova)
{
    if (2 * (m->tn + 1) > m->tcap) {
        struct rm_ent *old = m->tab;
        size_t oc = m->tcap;
        struct rm_ent *nt = calloc(2 * oc, sizeof *nt);
        if (!nt)
            return NULL;
        m->tab = nt;
        m->tcap = 2 * oc;
        for (size_t i = 0; i < oc; i++)
            if (old[i].key)
                m->tab[rm_slot(m, old[i].key)] = old[i];
        free(old);
    }
    uint64_t key = rm_key(did, iova);
    size_t i = rm_slot(m, key);
    if (!m->tab[i].key) {
        m->tab[i].key = key;
        m->tn++;
    }
    return &m->tab[i];
}

static unsigned rm_order(uint64_t size)
{
    uint64_t pages = (size + 4095) >> 12;
    unsigned k = 0;
    while (k < 63 && (UINT64_C(1) << k) < pages)
        k++;
    return k;
}

/* The unit is free again; its pages are no longer pending. */
static void rm_release(struct ims_remap *m, const struct rm_pend *p)
{
    ims_ia_free(&m->ia[p->order], p->unit);
    for (uint64_t i = 0; i < p->pages; i++) {
        struct rm_ent *e = rm_find(m, p->did, p->rec_first + (i << 12));
        if (e && e->pend && e->unit == p->unit)
            e->pend = false;
    }
}

/* Frees the pending units of domain did (any domain if all) lying in [lo, hi). */
static void rm_flush(struct ims_remap *m, bool all, uint16_t did, uint64_t lo, uint64_t hi)
{
    size_t w = 0;
    for (size_t i = 0; i < m->npend; i++) {
        struct rm_pend *p = &m->pend[i];
        uint64_t end = p->unit + (UINT64_C(1) << (12 + p->order));
        if ((all || p->did == did) && p->unit >= lo && end <= hi)
            rm_release(m, p);
        else
            m->pend[w++] = *p;
    }
    m->npend = w;
}

static int rm_map(struct ims_remap *m, struct ims_rec *r, char *err, size_t errlen)
{
    unsigned k = rm_order(r->size);
    if (k >= IMS_RM_ORDERS || !r->size)
        return 0; /* wider than 1 GiB: kept where it was recorded */
    struct ims_ia_state *a = &m->ia[k];
    bool ok = true;
    /* ring: the recorded IOVA's unit index i gives the slot, so one
     * recorded buffer keeps one new place, unit i mod n (slot n - 1 - that:
     * ia_ring.h counts from the top), and recorded neighbours stay
     * neighbours in order; a taken slot falls back to the scan. */
    uint64_t slot = a->n - 1 - (r->iova >> (12 + k)) % a->n;
    uint64_t unit = ims_ia_alloc(a, slot, &ok);
    if (!ok && m->strategy == IMS_IA_RING) {
        ok = true;
        unit = ims_ia_scan_down_(a, &ok);
    }
    if (!ok) {
        snprintf(err, errlen, "record %llu (map): iova remap space exhausted (%llu units of %llu bytes in use)",
                 (unsigned long long)m->index, (unsigned long long)a->n, (unsigned long long)a->unit);
        return -1;
    }
    m->st.maps++;
    uint64_t first = r->iova & ~UINT64_C(4095), pages = (r->iova + r->size - first + 4095) >> 12;
    for (uint64_t p = 0; p < pages; p++) {
        struct rm_ent *e = rm_put(m, r->did, first + (p << 12));
        if (!e) {
            snprintf(err, errlen, "record %llu (map): iova remap: out of memory", (unsigned long long)m->index);
            return -1;
        }
        e->page = unit + (p << 12);
        e->unit = unit;
        e->order = (uint8_t)k;
        e->live = true;
        e->head = p == 0;
        e->pend = false;
    }
    r->iova = unit + (r->iova & 4095);
    return 0;
}

static int rm_unmap(struct ims_remap *m, struct ims_rec *r, char *err, size_t errlen)
{
    uint64_t first = r->iova & ~UINT64_C(4095), pages = (r->iova + r->size - first + 4095) >> 12;
    struct rm_ent *e0 = rm_find(m, r->did, first);
    if (!e0)
        return 0; /* never mapped by a MAP: kept as recorded */
    uint64_t newiova = e0->page + (r->iova & 4095);
    /* One record unmaps one new range: every page of the recorded range
     * must have moved to the same place in it (one MAP, or MAPs the
     * strategy placed side by side in order). Pages of several MAPs placed
     * apart (one unmap for per-page maps, as `trace gen nvme` writes) would
     * need one record each: refused rather than unmapping other mappings. */
    for (uint64_t p = 0; p < pages; p++) {
        const struct rm_ent *e = rm_find(m, r->did, first + (p << 12));
        if (e && e->live && e->page == e0->page + (p << 12))
            continue;
        snprintf(err, errlen,
                 "record %llu (unmap): iova remap: the unmap of 0x%llx (0x%llx bytes) covers mappings the remap placed "
                 "apart (page 0x%llx %s); one record cannot unmap them (each unmap must cover one map, or maps "
                 "the remap placed side by side: player.iova_remap=ring keeps recorded neighbours together)",
                 (unsigned long long)m->index, (unsigned long long)r->iova, (unsigned long long)r->size,
                 (unsigned long long)(first + (p << 12)), !e || !e->live ? "is not mapped" : "moved elsewhere");
        return -1;
    }
    for (uint64_t p = 0; p < pages; p++) {
        struct rm_ent *e = rm_find(m, r->did, first + (p << 12));
        e->live = false;
        e->pend = true;
        if (e->head) {
            if (m->npend == m->pcap) {
                size_t nc = m->pcap ? 2 * m->pcap : 64;
                struct rm_pend *np = realloc(m->pend, nc * sizeof *np);
                if (!np) {
                    snprintf(err, errlen, "record %llu (unmap): iova remap: out of memory",
                             (unsigned long long)m->index);
                    return -1;
                }
                m->pend = np;
                m->pcap = nc;
            }
            m->pend[m->npend++] =
                (struct rm_pend){e->unit, first + (p << 12), UINT64_C(1) << e->order, r->did, e->order};
        }
    }
    r->iova = newiova;
    return 0;
}

static void rm_inv(struct ims_remap *m, struct ims_rec *r)
{
    if (r->gran == IMS_INV_GLOBAL) {
        rm_flush(m, true, 0, 0, UINT64_MAX);
        return;
    }
    if (r->gran == IMS_INV_DOMAIN) {
        rm_flush(m, false, r->did, 0, UINT64_MAX);
        return;
    }
    if (r->gran != IMS_INV_PAGE)
        return;
    uint64_t pages = r->am < 52 ? UINT64_C(1) << r->am : UINT64_MAX;
    if (pages > IMS_RM_INV_SCAN) {
        r->gran = IMS_INV_DOMAIN; /* widened: too wide to look up page by page */
        m->st.invs_widened++;
        rm_flush(m, false, r->did, 0, UINT64_MAX);
        return;
    }
    /* The new pages of the range's unmapped pages still pending (the
     * invalidation is for them: under the new allocator the driver
     * invalidates its own unit, not the recorded block's live neighbours,
     * which now lie elsewhere); with none, those of every mapped page in
     * range (e.g. caching mode's invalidation after a map). */
    uint64_t first = r->iova & ~((pages << 12) - 1), lo = UINT64_MAX, hi = 0;
    for (int pass = 0; pass < 2 && lo > hi; pass++)
        for (uint64_t p = 0; p < pages; p++) {
            const struct rm_ent *e = rm_find(m, r->did, first + (p << 12));
            if (!e || (pass == 0 && !e->pend))
                continue;
            if (e->page < lo)
                lo = e->page;
            if (e->page > hi)
                hi = e->page;
        }
    if (lo > hi)
        return; /* no mapped page in range: kept as recorded */
    /* The smallest aligned 2^am-page block holding [lo, hi]. */
    unsigned am = 0;
    while ((lo >> (12 + am)) != (hi >> (12 + am)))
        am++;
    if (am > r->am)
        m->st.invs_widened++;
    m->st.invs_moved++;
    r->am = (uint8_t)am;
    r->iova = lo & ~((UINT64_C(1) << (12 + am)) - 1);
    rm_flush(m, false, r->did, r->iova, r->iova + (UINT64_C(1) << (12 + am)));
}

/* A DMA moves by its first byte; its further pages (the replay splits it at
 * 4 KiB) must have moved along, or they would translate through another
 * mapping: refused, naming the record. */
static int rm_dma(struct ims_remap *m, struct ims_rec *r, char *err, size_t errlen)
{
    if (r->flags & (IMS_RECF_PASID | IMS_RECF_AT_TRANSLATED) || !m->rid_ok[r->rid])
        return 0;
    const uint16_t did = m->rid_did[r->rid];
    const struct rm_ent *e = rm_find(m, did, r->iova);
    if (!e || !e->live) {
        m->st.dmas_unmapped++; /* no live MAP covers it: kept as recorded */
        return 0;
    }
    const uint64_t first = r->iova & ~UINT64_C(4095);
    const uint64_t pages = r->size ? (r->iova + r->size - 1 - first) / 4096 + 1 : 1;
    for (uint64_t p = 1; p < pages; p++) {
        const struct rm_ent *f = rm_find(m, did, first + (p << 12));
        if (f && f->live && f->page == e->page + (p << 12))
            continue;
        snprintf(err, errlen,
                 "record %llu (dma): iova remap: the dma of 0x%llx (%llu bytes) runs on into page 0x%llx, which %s; "
                 "its parts cannot follow one new address",
                 (unsigned long long)m->index, (unsigned long long)r->iova, (unsigned long long)r->size,
                 (unsigned long long)(first + (p << 12)),
                 !f || !f->live ? "is not mapped" : "the remap placed apart from the first");
        return -1;
    }
    r->iova = e->page + (r->iova & 4095);
    m->st.dmas_moved++;
    return 0;
}

int ims_remap_apply(struct ims_remap *m, struct ims_rec *recs, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++, m->index++) {
        struct ims_rec *r = &recs[i];
        switch (r->kind) {
        case IMS_REC_ATTACH:
            m->rid_did[r->rid] = r->did;
            m->rid_ok[r->rid] = 1;
            break;
        case IMS_REC_DETACH:
            m->rid_ok[r->rid] = 0;
            break;
        case IMS_REC_MAP:
            if (rm_map(m, r, err, errlen))
                return -1;
            break;
        case IMS_REC_UNMAP:
            if (rm_unmap(m, r, err, errlen))
                return -1;
            break;
        case IMS_REC_INV_IOTLB:
            rm_inv(m, r);
            break;
        case IMS_REC_DMA:
            if (rm_dma(m, r, err, errlen))
                return -1;
            break;
        default:
            break;
        }
    }
    return 0;
}
