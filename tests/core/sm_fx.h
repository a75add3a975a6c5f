/* Scalable-mode fixture: memory, an IOMMU in scalable mode, and the
 * structures written word by word as software lays them out (VT-d 9.2-9.6;
 * x86-64 tables per SDM 4.5), independently of the model's code, so the
 * tests check the model against the layouts and not against itself.
 * Memory ops count writes per kind (A/D updates are IMS_MEM_PTE writes). */
#ifndef IMS_TESTS_SM_FX_H
#define IMS_TESTS_SM_FX_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/iommu.h"
#include "iommusim/mem.h"

#define SX_ROOT UINT64_C(0x100000)
#define SX_TABLES UINT64_C(0x200000)     /* host tables from here */
#define SX_GUEST UINT64_C(0x40000000)    /* nested: guest tables from this GPA ... */
#define SX_GOFF UINT64_C(0x100000000)    /* ... at HPA GPA + SX_GOFF */
#define SX_DATA UINT64_C(0x80000000)     /* data pages */

struct sx {
    struct ims_mem *mem;
    struct ims_iommu *mmu;
    struct ims_iommu_cfg cfg;
    uint64_t next, gnext;
    uint64_t *dir;        /* PASID directory of each requester id (0: none yet) */
    uint64_t slroot;      /* nested: the second-level table guest frames are mapped in */
    unsigned sllevels;
    uint64_t writes[IMS_MEM_KIND_COUNT];
    uint64_t reads;
};

static uint64_t sx_read64(void *ctx, uint64_t pa, enum ims_mem_kind kind)
{
    struct sx *x = ctx;
    x->reads++;
    return ims_mem_direct_ops.read64(x->mem, pa, kind);
}
static void sx_write64(void *ctx, uint64_t pa, uint64_t val, enum ims_mem_kind kind)
{
    struct sx *x = ctx;
    x->writes[kind]++;
    ims_mem_direct_ops.write64(x->mem, pa, val, kind);
}
static uint64_t sx_read64_err(void *ctx, uint64_t pa, enum ims_mem_kind kind, bool *error)
{
    struct sx *x = ctx;
    x->reads++;
    return ims_mem_direct_ops.read64_err(x->mem, pa, kind, error);
}
static const struct ims_mem_ops sx_ops = {sx_read64, sx_write64, sx_read64_err};

static inline void sx_cfg(struct ims_iommu_cfg *cfg)
{
    ims_iommu_cfg_default(cfg);
    cfg->caps.sagaw = IMS_SAGAW_39 | IMS_SAGAW_48 | IMS_SAGAW_57;
    cfg->caps.mgaw = 57;
    cfg->fq_base = UINT64_C(0xfee00000);
    cfg->sm.enabled = true;
}

static inline void sx_no_caches(struct ims_iommu_cfg *cfg)
{
    cfg->ctx_cache.sets = 0;
    cfg->iotlb.sets = 0;
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        cfg->psc[l].sets = 0;
    cfg->sm.pasid_cache.sets = 0;
}

static inline void sx_open(struct sx *x, const struct ims_iommu_cfg *cfg)
{
    char err[256] = "";
    memset(x, 0, sizeof *x);
    x->cfg = *cfg;
    x->mem = ims_mem_create();
    ck_assert_ptr_nonnull(x->mem);
    x->mmu = ims_iommu_create(cfg, &sx_ops, x, err, sizeof err);
    ck_assert_msg(x->mmu != NULL, "iommu: %s", err);
    ims_iommu_set_root(x->mmu, SX_ROOT);
    x->next = SX_TABLES;
    x->gnext = SX_GUEST;
    x->dir = calloc(65536, sizeof *x->dir);
    ck_assert_ptr_nonnull(x->dir);
}

static inline void sx_close(struct sx *x)
{
    ims_iommu_destroy(x->mmu);
    ims_mem_destroy(x->mem);
    free(x->dir);
}

static inline uint64_t sx_frame(struct sx *x)
{
    uint64_t pa = x->next;
    x->next += IMS_PAGE_SIZE;
    return pa;
}

static inline uint64_t sx_rd(struct sx *x, uint64_t pa) { return ims_mem_read64(x->mem, pa); }
static inline void sx_wr(struct sx *x, uint64_t pa, uint64_t v) { ims_mem_write64(x->mem, pa, v); }

/* An entry in a 4-level/5-level table tree (both formats index 9 bits per
 * level from bit 12): the tables on the way are made as needed (entries
 * `nonleaf`, pointing to frames from sx_frame, or to guest frames when
 * guest: their GPA in the entry, written at GPA + SX_GOFF). */
static uint64_t sx_gframe(struct sx *x);
static inline void sx_set(struct sx *x, uint64_t root, unsigned levels, uint64_t va, unsigned leaf_level,
                          uint64_t leaf, uint64_t nonleaf, bool guest)
{
    uint64_t t = root; /* host address of the table */
    for (unsigned l = levels; l > leaf_level; l--) {
        const uint64_t epa = t + ((va >> (12 + 9 * (l - 1))) & 511u) * 8u;
        uint64_t e = sx_rd(x, epa);
        if (e == 0) {
            e = (guest ? sx_gframe(x) : sx_frame(x)) | nonleaf;
            sx_wr(x, epa, e);
        }
        const uint64_t a = e & UINT64_C(0x000ffffffffff000);
        t = guest ? a + SX_GOFF : a;
    }
    sx_wr(x, t + ((va >> (12 + 9 * (leaf_level - 1))) & 511u) * 8u, leaf);
}
/* The host address of the entry for va at `level` (0 if a table on the way is missing). */
static inline uint64_t sx_entry_pa(struct sx *x, uint64_t root, unsigned levels, uint64_t va, unsigned level,
                                   bool guest)
{
    uint64_t t = root;
    for (unsigned l = levels; l > level; l--) {
        const uint64_t e = sx_rd(x, t + ((va >> (12 + 9 * (l - 1))) & 511u) * 8u);
        if (!e)
            return 0;
        const uint64_t a = e & UINT64_C(0x000ffffffffff000);
        t = guest ? a + SX_GOFF : a;
    }
    return t + ((va >> (12 + 9 * (level - 1))) & 511u) * 8u;
}

/* Second-level (9.8) entries: R/W at every level, leaf with PS above level 1. */
static inline void sx_sl_map(struct sx *x, uint64_t root, unsigned levels, uint64_t iova, uint64_t pa,
                             unsigned level, unsigned perm)
{
    sx_set(x, root, levels, iova, level, pa | perm | (level > 1 ? IMS_SLPTE_PS : 0), IMS_PERM_RW, false);
}

/* A nested guest's frame: the next GPA, mapped read-write in x->slroot. */
static uint64_t sx_gframe(struct sx *x)
{
    const uint64_t g = x->gnext;
    x->gnext += IMS_PAGE_SIZE;
    sx_sl_map(x, x->slroot, x->sllevels, g, g + SX_GOFF, 1, IMS_PERM_RW);
    return g;
}

/* First-level (x86-64) entries: non-leaf P | R/W | U/S; the leaf's flags
 * given (P and PS added). guest: the tables are a nested guest's. */
#define SX_FL_NONLEAF (IMS_FLPTE_P | IMS_FLPTE_RW | IMS_FLPTE_US)
static inline void sx_fl_map(struct sx *x, uint64_t root, unsigned levels, uint64_t va, uint64_t pa, unsigned level,
                             uint64_t flags, bool guest)
{
    sx_set(x, root, levels, va, level, pa | flags | IMS_FLPTE_P | (level > 1 ? IMS_FLPTE_PS : 0), SX_FL_NONLEAF,
           guest);
}

/* Root and context entry of rid (256-bit context; table per bus half). */
static inline void sx_ctx(struct sx *x, uint16_t rid, uint64_t w0_flags, unsigned pdts, uint64_t w1)
{
    const uint64_t rpa = SX_ROOT + (uint64_t)(rid >> 8) * 16u + ((rid & 0x80u) ? 8u : 0u);
    uint64_t r = sx_rd(x, rpa);
    if (!(r & 1)) {
        r = sx_frame(x) | 1;
        sx_wr(x, rpa, r);
    }
    if (!x->dir[rid])
        x->dir[rid] = sx_frame(x);
    const uint64_t cpa = (r & ~UINT64_C(0xfff)) + (uint64_t)(rid & 0x7fu) * 32u;
    sx_wr(x, cpa, x->dir[rid] | (uint64_t)(pdts & 7u) << 9 | w0_flags | IMS_SMCE_P);
    sx_wr(x, cpa + 8, w1);
    sx_wr(x, cpa + 16, 0);
    sx_wr(x, cpa + 24, 0);
}
static inline uint64_t sx_ctx_pa(struct sx *x, uint16_t rid)
{
    const uint64_t r = sx_rd(x, SX_ROOT + (uint64_t)(rid >> 8) * 16u + ((rid & 0x80u) ? 8u : 0u));
    return (r & ~UINT64_C(0xfff)) + (uint64_t)(rid & 0x7fu) * 32u;
}

/* The PASID-table entry of (rid, pasid): words 0..2 given, DID in word 1. */
static inline uint64_t sx_pasid_pa(struct sx *x, uint16_t rid, uint32_t pasid)
{
    const uint64_t dpa = x->dir[rid] + (uint64_t)(pasid >> 6) * 8u;
    uint64_t d = sx_rd(x, dpa);
    if (!(d & 1)) {
        d = sx_frame(x) | 1;
        sx_wr(x, dpa, d);
    }
    return (d & ~UINT64_C(0xfff)) + (uint64_t)(pasid & 63u) * 64u;
}
static inline void sx_pasid(struct sx *x, uint16_t rid, uint32_t pasid, uint64_t w0, uint16_t did, uint64_t w2)
{
    const uint64_t pa = sx_pasid_pa(x, rid, pasid);
    sx_wr(x, pa, w0);
    sx_wr(x, pa + 8, did);
    sx_wr(x, pa + 16, w2);
    for (unsigned i = 3; i < 8; i++)
        sx_wr(x, pa + 8u * i, 0);
}

static inline struct ims_req sx_req(uint16_t rid, uint32_t pasid, uint64_t iova, unsigned access)
{
    struct ims_req r;
    memset(&r, 0, sizeof r);
    r.rid = rid;
    r.pasid = pasid;
    r.iova = iova;
    r.size = 4;
    r.access = (uint8_t)access;
    r.at = IMS_AT_UNTRANSLATED;
    return r;
}

/* Reads of the translation by stage and kind. */
static inline unsigned sx_nreads(const struct ims_xlate *o, int kind, int stage)
{
    unsigned n = 0;
    for (unsigned i = 0; i < o->n_reads; i++)
        if ((kind < 0 || o->reads[i].kind == kind) && (stage < 0 || o->reads[i].stage == stage))
            n++;
    return n;
}

#endif /* IMS_TESTS_SM_FX_H */
