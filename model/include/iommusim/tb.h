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

/* ---- Scalable-mode builder (model/core/tb_sm.c; docs/vtd.md, "Scalable
 * mode"): scalable-mode root and context tables, PASID directories and
 * tables, and processes' x86-64 page tables built as an x86-64 OS builds
 * them (SDM 4.5: non-leaf entries P | R/W | U/S | A, leaves P, R/W for
 * writable, U/S for user pages, XD for non-executable ones, 2 MiB and
 * 1 GiB leaves where size and alignment allow), bound to PASIDs
 * (PGTT first-level; WPE and NXE set as an OS runs with CR0.WP and
 * EFER.NXE). A process may live in a VM: its tables are then in guest
 * memory (guest-physical addresses, each VM's RAM one contiguous host
 * range mapped by a second-level table), and its PASID is bound nested.
 * Tables come from cfg.tbl_base/tbl_size, frames of emptied tables are
 * reused. Errors are enum ims_tb_err. ---- */
#define IMS_TB_SM_PIDS 64 /* processes 0..63 */
#define IMS_TB_SM_VMS 8   /* VMs 0..7 */
#define IMS_TB_SM_W 1u     /* writable */
#define IMS_TB_SM_X 2u     /* executable (else XD) */
#define IMS_TB_SM_KERNEL 4u /* supervisor page (U/S clear) */
struct ims_tb_sm;
/* cfg as ims_tb_create's (caps: HAW, SAGAW, large pages via sllps for the
 * VMs' second level). */
struct ims_tb_sm *ims_tb_sm_create(struct ims_mem *mem, const struct ims_tb_cfg *cfg, char *err, size_t errlen);
void ims_tb_sm_destroy(struct ims_tb_sm *tb);
uint64_t ims_tb_sm_root(const struct ims_tb_sm *tb);
/* rid's scalable-mode context entry: PASIDE, DTE and PRE (page requests)
 * as given, PDTS 2 (PASIDs below 2^15), RID_PASID rid_pasid; its PASID
 * directory. */
int ims_tb_sm_attach(struct ims_tb_sm *tb, uint16_t rid, uint32_t rid_pasid, bool dte, bool pre);
/* A VM: guest RAM [0, ram_size) at host ram_hpa (both 2 MiB aligned), mapped
 * read-write by a `levels`-level second-level table (2 MiB leaves). */
int ims_tb_sm_vm_create(struct ims_tb_sm *tb, unsigned vm, unsigned levels, uint64_t ram_hpa, uint64_t ram_size);
/* A process with a `levels`-level (4 or 5) page table; vm < 0: on the host. */
int ims_tb_sm_process_create(struct ims_tb_sm *tb, unsigned pid, unsigned levels, int vm);
/* Maps [va, va + size) to [pa, ...) (guest-physical for a VM's process)
 * with IMS_TB_SM_* prot. Pages must not be mapped already (EEXIST). */
int ims_tb_sm_map(struct ims_tb_sm *tb, unsigned pid, uint64_t va, uint64_t pa, uint64_t size, unsigned prot);
/* Unmaps [va, va + size) (4 KiB aligned; a large page inside it is split
 * first, as an OS does for a partial munmap); frees tables left empty.
 * Software then invalidates: ims_inv_piotlb (ih 0 when tables were freed). */
int ims_tb_sm_unmap(struct ims_tb_sm *tb, unsigned pid, uint64_t va, uint64_t size);
/* The process's mapping of va: output address of va and prot; ENOENT if none. */
int ims_tb_sm_lookup(const struct ims_tb_sm *tb, unsigned pid, uint64_t va, uint64_t *pa, unsigned *prot);
/* Binds (rid, pasid) to process pid with domain id did: first level only,
 * or nested over the process's VM (that VM's second level, AW from its
 * levels). sre: supervisor requests allowed. Software then invalidates the
 * PASID cache. */
int ims_tb_sm_bind(struct ims_tb_sm *tb, uint16_t rid, uint32_t pasid, unsigned pid, uint16_t did, bool sre);
/* Clears (rid, pasid)'s PASID entry. */
int ims_tb_sm_unbind(struct ims_tb_sm *tb, uint16_t rid, uint32_t pasid);
/* The process's root table (host address; a VM process's: guest-physical). */
uint64_t ims_tb_sm_process_root(const struct ims_tb_sm *tb, unsigned pid);
/* (rid, pasid)'s PASID entry over a domain's second-level table, as Linux
 * 6.1 writes the RID_PASID entry of a DMA-API domain in scalable mode:
 * PGTT second-level with SLPTPTR slroot (a host table of `levels` levels,
 * e.g. ims_tb_domain_root() of a legacy builder sharing the memory: the
 * second-level format is the same in both modes, VT-d 9.8), or PGTT
 * pass-through (needs ECAP.PT). Software then invalidates the PASID cache. */
int ims_tb_sm_bind_sl(struct ims_tb_sm *tb, uint16_t rid, uint32_t pasid, uint16_t did, uint64_t slroot,
                      unsigned levels);
int ims_tb_sm_bind_pt(struct ims_tb_sm *tb, uint16_t rid, uint32_t pasid, uint16_t did);
/* Whether rid was ever attached (has a PASID directory); whether process pid and VM vm exist. */
bool ims_tb_sm_attached(const struct ims_tb_sm *tb, uint16_t rid);
/* Clears rid's scalable-mode context entry (ENOENT if never attached). */
int ims_tb_sm_detach(struct ims_tb_sm *tb, uint16_t rid);
bool ims_tb_sm_process_exists(const struct ims_tb_sm *tb, unsigned pid);
bool ims_tb_sm_vm_exists(const struct ims_tb_sm *tb, unsigned vm);
/* Host address of the entry a process uses for va at level (for tests that corrupt one). */
int ims_tb_sm_entry_pa(const struct ims_tb_sm *tb, unsigned pid, uint64_t va, unsigned level, uint64_t *pa);

#ifdef __cplusplus
}
#endif

#endif /* IMS_TB_H */
