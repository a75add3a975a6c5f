/* Shared fixture for the core suites: memory + table builder + IOMMU, with
 * the builder's tables as the only page tables (tests that must corrupt an
 * entry find it with ims_tb_entry_pa / ims_tb_ctx_entry_pa). */
#ifndef IMS_TESTS_CORE_FX_H
#define IMS_TESTS_CORE_FX_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "iommusim/iommu.h"
#include "iommusim/mem.h"
#include "iommusim/tb.h"
#include "iommusim/topo.h"

struct fx {
    struct ims_mem *mem;
    struct ims_tb *tb;
    struct ims_iommu *mmu;
    struct ims_iommu_cfg cfg;
    struct ims_tb_cfg tcfg;
};

/* Caps with all three widths, so every level count can be built. */
static inline void fx_cfg(struct ims_iommu_cfg *cfg)
{
    ims_iommu_cfg_default(cfg);
    cfg->caps.sagaw = IMS_SAGAW_39 | IMS_SAGAW_48 | IMS_SAGAW_57;
    cfg->caps.mgaw = 57;
    cfg->fq_base = UINT64_C(0xfee00000);
}

static inline void fx_no_caches(struct ims_iommu_cfg *cfg)
{
    cfg->ctx_cache.sets = 0;
    cfg->iotlb.sets = 0;
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        cfg->psc[l].sets = 0;
}

static inline void fx_open(struct fx *f, const struct ims_iommu_cfg *cfg)
{
    char err[256] = "";
    f->cfg = *cfg;
    f->mem = ims_mem_create();
    ck_assert_ptr_nonnull(f->mem);
    ims_tb_cfg_default(&f->tcfg);
    f->tcfg.caps = cfg->caps;
    f->tb = ims_tb_create(f->mem, &f->tcfg, err, sizeof err);
    ck_assert_msg(f->tb != NULL, "tb: %s", err);
    f->mmu = ims_iommu_create(cfg, &ims_mem_direct_ops, f->mem, err, sizeof err);
    ck_assert_msg(f->mmu != NULL, "iommu: %s", err);
    ims_iommu_set_root(f->mmu, ims_tb_root(f->tb));
}

static inline void fx_close(struct fx *f)
{
    ims_iommu_destroy(f->mmu);
    ims_tb_destroy(f->tb);
    ims_mem_destroy(f->mem);
}

static inline int fx_xlate(struct fx *f, uint16_t rid, uint64_t iova, unsigned access, struct ims_xlate *x)
{
    struct ims_req r = {.rid = rid, .pasid = IMS_NO_PASID, .iova = iova, .size = 4, .access = (uint8_t)access,
                        .at = IMS_AT_UNTRANSLATED};
    return ims_translate(f->mmu, &r, x);
}

#endif /* IMS_TESTS_CORE_FX_H */
