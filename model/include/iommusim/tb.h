/* Table builder: the driver side. Creates the root and context tables,
 * attaches devices to domains and maps/unmaps IOVA ranges in each domain's
 * second-level tables, as an OS IOMMU driver does. Tests and trace replay both
 * use it, so test tables and replayed tables come from one place.
 *
 * Contract:
 * - Writes memory directly (not through the IOMMU's ops): it is software.
 * - Never invalidates caches; callers issue invalidations (ims_inv_*) as a
 *   driver would. Functions that change live entries say which range changed.
 * - Honours the capabilities: levels must be in SAGAW, superpages are used
 *   only where SLLPS allows, domain ids must fit ND, addresses must fit the
 *   domain's width and HAW.
 * - Page-table frames come from its own region [tbl_base, tbl_base + tbl_size),
 *   reused after they are freed. Output (data) addresses are the caller's.
 */
#ifndef IMS_TB_H
#define IMS_TB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommusim/mem.h"
#include "iommusim/vtd.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ims_tb_err {
    IMS_TB_OK = 0,
    IMS_TB_EINVAL = -1,    /* bad argument: alignment, size 0, perm 0, ... */
    IMS_TB_ECAPS = -2,     /* not allowed by the capabilities (levels, domain id, width) */
    IMS_TB_ENODOM = -3,    /* domain does not exist */
    IMS_TB_EEXIST = -4,    /* domain exists / range already mapped / device already attached elsewhere */
    IMS_TB_ENOENT = -5,    /* range not mapped / device not attached */
    IMS_TB_ENOMEM = -6,    /* table region exhausted */
};
const char *ims_tb_strerror(int err);

struct ims_tb_cfg {
    struct ims_caps caps;
    uint64_t tbl_base;  /* 4 KiB aligned; below 2^haw */
    uint64_t tbl_size;  /* bytes */
    bool superpages;    /* use 2 MiB / 1 GiB leaves where SLLPS and alignment allow */
};
/* caps default; tables at 0x0000100000000000 (16 TiB), 1 TiB of room; superpages on. */
void ims_tb_cfg_default(struct ims_tb_cfg *cfg);

struct ims_tb;

struct ims_tb *ims_tb_create(struct ims_mem *mem, const struct ims_tb_cfg *cfg, char *err, size_t errlen);
void ims_tb_destroy(struct ims_tb *tb);

/* Root table PA (for ims_iommu_set_root). */
uint64_t ims_tb_root(const struct ims_tb *tb);

/* Creates domain `did` with a `levels`-level (3, 4 or 5) second-level table. */
int ims_tb_domain_create(struct ims_tb *tb, uint16_t did, unsigned levels);
/* Destroys a domain with no devices attached, freeing all its tables. */
int ims_tb_domain_destroy(struct ims_tb *tb, uint16_t did);
bool ims_tb_domain_exists(const struct ims_tb *tb, uint16_t did);
/* Second-level table root of a domain, 0 if none. */
uint64_t ims_tb_domain_root(const struct ims_tb *tb, uint16_t did);

/* Writes the context entry for requester id `rid` (already aliased): present,
 * tt, fpd, the domain's AW and table root. Re-attaching to another domain
 * overwrites the entry (the caller invalidates the context cache). */
int ims_tb_attach(struct ims_tb *tb, uint16_t rid, uint16_t did, unsigned tt, bool fpd);
/* Clears the context entry (present = 0). */
int ims_tb_detach(struct ims_tb *tb, uint16_t rid);

/* Maps [iova, iova+size) -> [pa, pa+size) with perm (IMS_PERM_*), all 4 KiB
 * aligned, using the largest page size that alignment and SLLPS allow.
 * Fails with IMS_TB_EEXIST, changing nothing, if any page is already mapped. */
int ims_tb_map(struct ims_tb *tb, uint16_t did, uint64_t iova, uint64_t pa, uint64_t size, unsigned perm);
/* Unmaps [iova, iova+size); a superpage partly inside the range is split
 * first. Tables left empty are freed (their parent entries cleared), so the
 * caller must invalidate paging-structure caches for the range too (ih=0).
 * Pages in the range that are not mapped are skipped; returns IMS_TB_ENOENT
 * only if nothing at all was mapped there. */
int ims_tb_unmap(struct ims_tb *tb, uint16_t did, uint64_t iova, uint64_t size);

/* Software walk of a domain's tables: 0 and the mapping if iova is mapped,
 * else IMS_TB_ENOENT. */
int ims_tb_lookup(const struct ims_tb *tb, uint16_t did, uint64_t iova, uint64_t *pa, unsigned *perm,
                  unsigned *page_shift);

/* Table frames in use (root + context + paging tables). */
size_t ims_tb_tables(const struct ims_tb *tb);

/* Software walk for tests that must corrupt one entry: PA of the level-`level`
 * paging entry on iova's path in domain did (IMS_TB_ENOENT if the path ends
 * above that level), and PA of the context entry of requester id rid. */
int ims_tb_entry_pa(const struct ims_tb *tb, uint16_t did, uint64_t iova, unsigned level, uint64_t *pa);
int ims_tb_ctx_entry_pa(const struct ims_tb *tb, uint16_t rid, uint64_t *pa);

#ifdef __cplusplus
}
#endif

#endif /* IMS_TB_H */
