/* Intel VT-d (legacy mode) architectural definitions: capabilities, fault
 * reasons and the in-memory entry formats the walker reads.
 *
 * Entries are stored as raw little-endian 64-bit words; accessors are named
 * object-then-field. Bit layouts follow the VT-d specification (rev. 3.x,
 * sections 9.1 root entry, 9.3 context entry, 9.8 second-level paging entries,
 * 10.4.14 fault recording registers). The walker in model/core/walk.c is the only
 * code that interprets them for translation.
 */
#ifndef IMS_VTD_H
#define IMS_VTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Layout checks that also compile as C++ (these headers serve both). */
#ifdef __cplusplus
#define IMS_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define IMS_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Capabilities (what CAP_REG reports; builder and walker honour them) ---- */

/* SAGAW bits: supported adjusted guest address widths. */
#define IMS_SAGAW_39 (1u << 1) /* 3-level table */
#define IMS_SAGAW_48 (1u << 2) /* 4-level table */
#define IMS_SAGAW_57 (1u << 3) /* 5-level table */
/* SLLPS bits: second-level large-page support. */
#define IMS_SLLPS_2M (1u << 0)
#define IMS_SLLPS_1G (1u << 1)

struct ims_caps {
    uint8_t sagaw;  /* IMS_SAGAW_* mask; at least one */
    uint8_t mgaw;   /* maximum guest address width in bits (<= 57) */
    uint8_t haw;    /* host (physical) address width in bits, 32..52 */
    uint8_t sllps;  /* IMS_SLLPS_* mask */
    uint8_t nd;     /* number of domains supported: 2^(4 + 2*nd), nd 0..6 */
    uint16_t nfr;   /* number of fault records, 1..256 (CAP_REG.NFR = nfr - 1) */
    bool cm;        /* caching mode: not-present entries may be cached */
    bool pt;        /* ECAP.PT: pass-through translation type supported */
    bool dt;        /* ECAP.DT: device-TLB (ATS) translation type supported */
};

/* Defaults: 48-bit 4-level + 39-bit 3-level, HAW 46, 2M and 1G pages,
 * 16-bit domain ids, 256 fault records, no caching mode, PT and DT. */
void ims_caps_default(struct ims_caps *caps);
/* 0 if consistent; else -1 with a message naming the field in err. */
int ims_caps_check(const struct ims_caps *caps, char *err, size_t errlen);
/* CAP_REG and ECAP_REG as VT-d encodes them (fields we model; others 0). */
uint64_t ims_caps_cap_reg(const struct ims_caps *caps);
uint64_t ims_caps_ecap_reg(const struct ims_caps *caps);
/* Largest domain id + 1. */
uint32_t ims_caps_domains(const struct ims_caps *caps);

/* Address width (context entry AW field) <-> levels <-> bits. */
#define IMS_AW_39 1u
#define IMS_AW_48 2u
#define IMS_AW_57 3u
static inline unsigned ims_aw_levels(unsigned aw) { return aw + 2; }
static inline unsigned ims_aw_bits(unsigned aw) { return 30 + 9 * aw; }
static inline unsigned ims_levels_aw(unsigned levels) { return levels - 2; }

/* Level numbering used everywhere: 1 = 4 KiB leaf table (PTE), 2 = PDE
 * (maps 2 MiB), 3 = PDPE (1 GiB), 4 = PML4E, 5 = PML5E. */
#define IMS_MAX_LEVELS 5
static inline unsigned ims_level_shift(unsigned level) { return 12 + 9 * (level - 1); }

/* ---- Fault reasons (VT-d non-recoverable fault reason codes) ---- */
enum ims_fault_reason {
    IMS_FR_NONE = 0x0,
    IMS_FR_ROOT_ENTRY_P = 0x1,      /* root entry present field clear */
    IMS_FR_CTX_ENTRY_P = 0x2,       /* context entry present field clear */
    IMS_FR_CTX_ENTRY_INV = 0x3,     /* invalid programming of a context entry (AW, TT) */
    IMS_FR_ADDR_BEYOND_MGAW = 0x4,  /* input address above 2^min(MGAW, AGAW) - 1 */
    IMS_FR_WRITE = 0x5,             /* write to a page without W */
    IMS_FR_READ = 0x6,              /* read from a page without R */
    IMS_FR_PAGING_ENTRY_INV = 0x7,  /* a paging-entry read answered with an error (mem.h read64_err) */
    IMS_FR_ROOT_TABLE_INV = 0x8,    /* RTADDR 0 or beyond HAW, or a root-entry read answered with an error */
    IMS_FR_CTX_TABLE_INV = 0x9,     /* a context-entry read answered with an error (mem.h read64_err) */
    IMS_FR_ROOT_ENTRY_RSVD = 0xa,   /* non-zero reserved field in a present root entry */
    IMS_FR_CTX_ENTRY_RSVD = 0xb,    /* non-zero reserved field in a present context entry */
    IMS_FR_PAGING_ENTRY_RSVD = 0xc, /* non-zero reserved field in a paging entry with R or W */
    IMS_FR_CTX_ENTRY_TT = 0xd,      /* request type blocked by the context entry's TT */
    /* Scalable mode (VT-d rev. 3.x 7.1.3, table "Scalable-mode fault
     * conditions"; the condition names RTA.n, SRT.n, ... are the spec's).
     * docs/vtd.md, "Scalable mode", lists which ones the model produces. */
    IMS_FR_SM_RTA_INV = 0x30,       /* RTA.1: root-table address 0 or beyond HAW */
    IMS_FR_SM_ROOT_ERR = 0x38,      /* SRT.1: a root-entry read answered with an error */
    IMS_FR_SM_ROOT_P = 0x39,        /* SRT.2: the root entry's LP (devfn 0..127) or UP (128..255) clear */
    IMS_FR_SM_ROOT_RSVD = 0x3a,     /* SRT.3: non-zero reserved field in the root entry */
    IMS_FR_SM_CTX_ERR = 0x40,       /* SCT.1: a context-entry read answered with an error */
    IMS_FR_SM_CTX_P = 0x41,         /* SCT.2: scalable-mode context entry P clear */
    IMS_FR_SM_CTX_RSVD = 0x42,      /* SCT.3: non-zero reserved field in a present context entry */
    IMS_FR_SM_CTX_INV = 0x43,       /* SCT.4: invalid programming (DTE set without ECAP.DT) */
    IMS_FR_SM_CTX_DTE = 0x44,       /* SCT.5: translation or translated request with DTE clear */
    IMS_FR_SM_CTX_PASIDE = 0x45,    /* SCT.6: request with PASID, PASIDE clear */
    IMS_FR_SM_CTX_PDTS = 0x46,      /* SCT.7: PASID beyond the directory size (PDTS) */
    IMS_FR_SM_PDE_ERR = 0x50,       /* SPD.1: a PASID-directory read answered with an error */
    IMS_FR_SM_PDE_P = 0x51,         /* SPD.2: PASID-directory entry P clear */
    IMS_FR_SM_PDE_RSVD = 0x52,      /* SPD.3: non-zero reserved field in a PASID-directory entry */
    IMS_FR_SM_PTE_ERR = 0x58,       /* SPT.1: a PASID-table read answered with an error */
    IMS_FR_SM_PTE_P = 0x59,         /* SPT.2: PASID-table entry P clear */
    IMS_FR_SM_PTE_RSVD = 0x5a,      /* SPT.3: non-zero reserved field in a PASID-table entry */
    IMS_FR_SM_PTE_INV = 0x5b,       /* SPT.4: invalid programming (PGTT, AW, FLPM) */
    IMS_FR_SM_PTE_ERE = 0x5c,       /* SPT.5: execute request, ERE clear */
    IMS_FR_SM_PTE_SRE = 0x5d,       /* SPT.6: supervisor request, SRE clear */
    IMS_FR_SM_FL_ERR = 0x70,        /* SFL.1: a first-level entry read answered with an error */
    IMS_FR_SM_FL_P = 0x71,          /* SFL.2: first-level entry P clear */
    IMS_FR_SM_FL_RSVD = 0x72,       /* SFL.3: non-zero reserved field in a present first-level entry */
    IMS_FR_SM_FL_ROOT_ERR = 0x73,   /* SFL.4: a read of the entry FLPTPTR points to answered with an error */
    IMS_FR_SM_FL_GPA = 0x74,        /* SFL.5: nested: a first-level table's address beyond the second level's width */
    IMS_FR_SM_FL_ROOT_SLR = 0x75,   /* SFL.6: nested: second level denies reading the table FLPTPTR points to */
    IMS_FR_SM_FL_SLR = 0x76,        /* SFL.7: nested: second level denies reading a first-level table */
    IMS_FR_SM_FL_SLW = 0x77,        /* SFL.8: nested: second level denies the write of an A/D update */
    IMS_FR_SM_SL_ERR = 0x78,        /* SSL.1: a second-level entry read answered with an error */
    IMS_FR_SM_SL_P = 0x79,          /* SSL.2: second-level entry with R = W = 0 */
    IMS_FR_SM_SL_RSVD = 0x7a,       /* SSL.3: non-zero reserved field in a second-level entry */
    IMS_FR_SM_NONCANON = 0x80,      /* SGN.1: first-level input address not canonical */
    IMS_FR_SM_US = 0x81,            /* SGN.2: user request to a supervisor page (U/S 0) */
    IMS_FR_SM_XD = 0x82,            /* SGN.3: execute request to a page without execute (XD, SMEP) */
    IMS_FR_SM_ADDR = 0x83,          /* SGN.4: input address beyond the second level's (or HAW's) width */
    IMS_FR_SM_WRITE = 0x85,         /* SGN.6: write to a page without write permission */
    IMS_FR_SM_READ = 0x86,          /* SGN.7: read from a page without read permission */
};
/* Short stable name ("root-entry-not-present", ...), or NULL if unknown. */
const char *ims_fault_reason_name(unsigned reason);
/* Qualified faults are the ones fault-processing-disable (FPD) suppresses. */
bool ims_fault_reason_qualified(unsigned reason);

/* ---- Root entry (128 bits, 256 per 4 KiB root table, indexed by bus) ----
 *  lo[0]      P    present
 *  lo[11:1]   reserved
 *  lo[63:12]  CTP  context-table pointer (bits above HAW reserved)
 *  hi[63:0]   reserved (legacy mode; UCTP in scalable mode): fault 0xa if non-zero
 * Entries are kept as their two little-endian words, low first, as they lie
 * in memory; the accessors below are the only code that knows the layout.
 */
#define IMS_ROOT_ENTRY_SIZE 16
struct ims_root_entry {
    uint64_t lo, hi;
};
IMS_STATIC_ASSERT(sizeof(struct ims_root_entry) == IMS_ROOT_ENTRY_SIZE, "root entry is 16 bytes");
IMS_STATIC_ASSERT(offsetof(struct ims_root_entry, hi) == 8, "root entry: low word first");
#define IMS_ROOT_LO_RSVD UINT64_C(0x0000000000000ffe) /* lo[11:1] */
#define IMS_ROOT_HI_RSVD UINT64_C(0xffffffffffffffff) /* hi[63:0] (legacy mode) */
static inline bool ims_root_present(const struct ims_root_entry *e) { return e->lo & 1; }
static inline uint64_t ims_root_ctp(const struct ims_root_entry *e) { return e->lo & ~UINT64_C(0xfff); }
static inline void ims_root_set_present(struct ims_root_entry *e, bool p) { e->lo = (e->lo & ~UINT64_C(1)) | p; }
/* ctp: 4 KiB-aligned PA of the context table (low bits are dropped). */
static inline void ims_root_set_ctp(struct ims_root_entry *e, uint64_t ctp)
{
    e->lo = (e->lo & UINT64_C(0xfff)) | (ctp & ~UINT64_C(0xfff));
}
/* Byte offset of bus `bus`'s entry in the root table. */
static inline uint64_t ims_root_offset(unsigned bus) { return (uint64_t)(bus & 0xffu) * IMS_ROOT_ENTRY_SIZE; }

/* ---- Context entry (128 bits, 256 per context table, indexed by devfn) ----
 *  lo[0]      P        present
 *  lo[1]      FPD      fault processing disable
 *  lo[3:2]    TT       0: untranslated only, 1: + device-TLB (ATS), 2: pass-through, 3: reserved
 *  lo[11:4]   reserved
 *  lo[63:12]  SLPTPTR  second-level page-table pointer
 *  hi[2:0]    AW       1: 39-bit 3-level, 2: 48-bit 4-level, 3: 57-bit 5-level
 *  hi[6:3]    AVAIL    ignored
 *  hi[7]      reserved
 *  hi[23:8]   DID      domain id
 *  hi[63:24]  reserved
 */
#define IMS_CTX_ENTRY_SIZE 16
struct ims_ctx_entry {
    uint64_t lo, hi;
};
IMS_STATIC_ASSERT(sizeof(struct ims_ctx_entry) == IMS_CTX_ENTRY_SIZE, "context entry is 16 bytes");
IMS_STATIC_ASSERT(offsetof(struct ims_ctx_entry, hi) == 8, "context entry: low word first");
enum ims_tt {
    IMS_TT_UNTRANSLATED = 0,
    IMS_TT_DEVTLB = 1,
    IMS_TT_PASSTHROUGH = 2,
    IMS_TT_RESERVED = 3,
};
#define IMS_CTX_LO_RSVD UINT64_C(0x0000000000000ff0)
#define IMS_CTX_HI_RSVD UINT64_C(0xffffffffff000080)
static inline bool ims_ctx_present(const struct ims_ctx_entry *e) { return e->lo & 1; }
static inline bool ims_ctx_fpd(const struct ims_ctx_entry *e) { return (e->lo >> 1) & 1; }
static inline unsigned ims_ctx_tt(const struct ims_ctx_entry *e) { return (e->lo >> 2) & 3; }
static inline uint64_t ims_ctx_slptptr(const struct ims_ctx_entry *e) { return e->lo & ~UINT64_C(0xfff); }
static inline unsigned ims_ctx_aw(const struct ims_ctx_entry *e) { return e->hi & 7; }
static inline uint16_t ims_ctx_did(const struct ims_ctx_entry *e) { return (uint16_t)(e->hi >> 8); }
static inline void ims_ctx_set_present(struct ims_ctx_entry *e, bool p) { e->lo = (e->lo & ~UINT64_C(1)) | p; }
static inline void ims_ctx_set_fpd(struct ims_ctx_entry *e, bool fpd)
{
    e->lo = (e->lo & ~UINT64_C(2)) | ((uint64_t)fpd << 1);
}
static inline void ims_ctx_set_tt(struct ims_ctx_entry *e, unsigned tt)
{
    e->lo = (e->lo & ~UINT64_C(0xc)) | ((uint64_t)(tt & 3u) << 2);
}
/* slptptr: 4 KiB-aligned PA of the second-level table (low bits are dropped). */
static inline void ims_ctx_set_slptptr(struct ims_ctx_entry *e, uint64_t slptptr)
{
    e->lo = (e->lo & UINT64_C(0xfff)) | (slptptr & ~UINT64_C(0xfff));
}
static inline void ims_ctx_set_aw(struct ims_ctx_entry *e, unsigned aw) { e->hi = (e->hi & ~UINT64_C(7)) | (aw & 7u); }
static inline void ims_ctx_set_did(struct ims_ctx_entry *e, uint16_t did)
{
    e->hi = (e->hi & ~UINT64_C(0xffff00)) | ((uint64_t)did << 8);
}
/* Byte offset of devfn `devfn`'s entry in a context table. */
static inline uint64_t ims_ctx_offset(unsigned devfn) { return (uint64_t)(devfn & 0xffu) * IMS_CTX_ENTRY_SIZE; }

/* ---- Second-level paging entry (64 bits, 512 per table) ----
 *  [0]      R     read
 *  [1]      W     write
 *  [2]      X     execute (not modelled; ignored)
 *  [5:3]    EMT   leaf only (ignored); ignored in non-leaf entries
 *  [6]      IPAT  leaf only (ignored); ignored in non-leaf entries
 *  [7]      PS    page size: 1 = leaf at level 2 (2 MiB) or 3 (1 GiB); reserved at 4, 5
 *  [8]      A     accessed (ignored)
 *  [9]      D     dirty (ignored)
 *  [10]     ignored
 *  [11]     SNP   reserved-zero at every level (the model reports ECAP.SC = 0)
 *  [HAW-1:12] ADDR  next table or page frame; for a 2 MiB / 1 GiB leaf the
 *                 low 9 / 18 address bits are reserved-zero
 *  [51:HAW] reserved
 *  [61:52]  ignored
 *  [62]     non-leaf: reserved; leaf: TM (transient mapping, rev. 3.0/3.1), ignored
 *           with ECAP.DT = 1, reserved with ECAP.DT = 0
 *  [63]     ignored
 * The exact reserved masks live in model/core/walk.c, with the spec section cited.
 */
#define IMS_SLPTE_R  (UINT64_C(1) << 0)
#define IMS_SLPTE_W  (UINT64_C(1) << 1)
#define IMS_SLPTE_PS (UINT64_C(1) << 7)
#define IMS_SLPTE_SNP (UINT64_C(1) << 11)
#define IMS_SLPTE_TM (UINT64_C(1) << 62)
static inline bool ims_slpte_present(uint64_t e) { return (e & (IMS_SLPTE_R | IMS_SLPTE_W)) != 0; }
static inline bool ims_slpte_ps(uint64_t e) { return (e & IMS_SLPTE_PS) != 0; }
static inline uint64_t ims_slpte_addr(uint64_t e) { return e & UINT64_C(0x000ffffffffff000); }
static inline unsigned ims_slpte_perm(uint64_t e) { return (unsigned)(e & 3); }

/* ---- Scalable mode (VT-d rev. 3.x/4.x: 3.4.3 scalable-mode address
 * translation; 9.2 root entry, 9.4 context entry, 9.5 PASID directory
 * entry, 9.6 PASID table entry; first-level entries 9.7 in the x86-64
 * format of Intel SDM vol. 3, 4.5). Entries are kept as their little-endian
 * 64-bit words, lowest first, as they lie in memory. ----
 *
 * Scalable-mode root entry (128 bits, one per bus):
 *  w0[0] LP  lower present (devfn 0..127)   w0[11:1] reserved  w0[63:12] LCTP
 *  w1[0] UP  upper present (devfn 128..255) w1[11:1] reserved  w1[63:12] UCTP
 * Each context table (4 KiB) holds 128 entries of 256 bits. */
#define IMS_SM_ROOT_RSVD UINT64_C(0x0000000000000ffe)
#define IMS_SM_CTX_ENTRY_SIZE 32
static inline uint64_t ims_sm_ctx_offset(unsigned devfn) { return (uint64_t)(devfn & 0x7fu) * IMS_SM_CTX_ENTRY_SIZE; }

/* Scalable-mode context entry (256 bits):
 *  w0[0] P  w0[1] FPD  w0[2] DTE (device-TLB enable)  w0[3] PASIDE
 *  w0[4] PRE (page requests: not modelled)  w0[8:5] reserved
 *  w0[11:9] PDTS: the PASID directory has 2^(PDTS + 7) entries
 *  w0[63:12] PASIDDIRPTR (bits above HAW reserved)
 *  w1[19:0] RID_PASID (the PASID of requests without one)  w1[20] RID_PRIV
 *  (their privilege: 1 = supervisor)  w1[63:21] reserved;  w2, w3 reserved */
#define IMS_SMCE_P      (UINT64_C(1) << 0)
#define IMS_SMCE_FPD    (UINT64_C(1) << 1)
#define IMS_SMCE_DTE    (UINT64_C(1) << 2)
#define IMS_SMCE_PASIDE (UINT64_C(1) << 3)
#define IMS_SMCE_PRE    (UINT64_C(1) << 4)
#define IMS_SMCE_W0_RSVD UINT64_C(0x00000000000001e0)
#define IMS_SMCE_W1_RSVD UINT64_C(0xffffffffffe00000)
#define IMS_SMCE_RID_PRIV (UINT64_C(1) << 20)
static inline unsigned ims_smce_pdts(uint64_t w0) { return (unsigned)(w0 >> 9) & 7u; }
static inline uint32_t ims_smce_rid_pasid(uint64_t w1) { return (uint32_t)(w1 & 0xfffffu); }

/* PASID directory entry (64 bits; directory indexed by PASID[19:6]):
 *  [0] P  [1] FPD  [11:2] reserved  [63:12] SMPTBLPTR (the PASID table; above HAW reserved) */
#define IMS_PDE_P    (UINT64_C(1) << 0)
#define IMS_PDE_FPD  (UINT64_C(1) << 1)
#define IMS_PDE_RSVD UINT64_C(0x0000000000000ffc)

/* PASID table entry (512 bits; 64 entries per 4 KiB table, indexed by PASID[5:0]):
 *  w0[0] P  w0[1] FPD  w0[4:2] AW (second-level width, as the legacy context entry's)
 *  w0[5] SLEE (not modelled)  w0[8:6] PGTT  w0[9] SLADE (not modelled)
 *  w0[11:10] reserved  w0[63:12] SLPTPTR
 *  w1[15:0] DID  w1[22:16] reserved  w1[31:23] PWSNP, PGSNP, CD, EMTE, EMT, PWT, PCD
 *  and w1[63:32] PAT (memory types: not modelled)
 *  w2[0] SRE (supervisor requests)  w2[1] ERE (execute requests)
 *  w2[3:2] FLPM (0: 4-level, 1: 5-level first level)  w2[4] WPE
 *  w2[5] NXE  w2[6] SMEP  w2[7] EAFE (not modelled)  w2[11:8] reserved
 *  w2[63:12] FLPTPTR;  w3..w7: not modelled (read, ignored) */
#define IMS_PASID_ENTRY_SIZE 64
#define IMS_PTE_W0_RSVD UINT64_C(0x0000000000000c00)
#define IMS_PTE_W1_RSVD UINT64_C(0x00000000007f0000)
#define IMS_PTE_W2_RSVD UINT64_C(0x0000000000000f00)
enum ims_pgtt {
    IMS_PGTT_FL = 1,     /* first-level only */
    IMS_PGTT_SL = 2,     /* second-level only */
    IMS_PGTT_NESTED = 3, /* first level over second level */
    IMS_PGTT_PT = 4,     /* pass-through */
};
#define IMS_PASID_P    (UINT64_C(1) << 0)
#define IMS_PASID_FPD  (UINT64_C(1) << 1)
#define IMS_PASID_SRE  (UINT64_C(1) << 0) /* w2 */
#define IMS_PASID_ERE  (UINT64_C(1) << 1) /* w2 */
#define IMS_PASID_WPE  (UINT64_C(1) << 4) /* w2 */
#define IMS_PASID_NXE  (UINT64_C(1) << 5) /* w2 */
#define IMS_PASID_SMEP (UINT64_C(1) << 6) /* w2 */
static inline unsigned ims_pasid_aw(uint64_t w0) { return (unsigned)(w0 >> 2) & 7u; }
static inline unsigned ims_pasid_pgtt(uint64_t w0) { return (unsigned)(w0 >> 6) & 7u; }
static inline uint16_t ims_pasid_did(uint64_t w1) { return (uint16_t)w1; }
static inline unsigned ims_pasid_flpm(uint64_t w2) { return (unsigned)(w2 >> 2) & 3u; }
static inline uint64_t ims_sm_ptr(uint64_t w) { return w & ~UINT64_C(0xfff); }
/* Builders (tests, the table builder): a PASID-table entry's words 0..2. */
static inline uint64_t ims_pasid_w0(unsigned pgtt, unsigned aw, uint64_t slptptr)
{
    return IMS_PASID_P | (uint64_t)(aw & 7u) << 2 | (uint64_t)(pgtt & 7u) << 6 | ims_sm_ptr(slptptr);
}
static inline uint64_t ims_pasid_w2(unsigned flpm, uint64_t flptptr, uint64_t flags)
{
    return (uint64_t)(flpm & 3u) << 2 | ims_sm_ptr(flptptr) | flags;
}

/* First-level paging entry (x86-64, SDM vol. 3 4.5; VT-d 9.7):
 *  [0] P  [1] R/W  [2] U/S  [3] PWT  [4] PCD  [5] A  [6] D (leaf; ignored above)
 *  [7] PS at levels 2, 3 (reserved at 4, 5; PAT in a 4 KiB PTE, ignored)
 *  [8] G (ignored)  [10] EA (ignored: EAFE not modelled)  [12] PAT of a large leaf
 *  [HAW-1:12] address (a 2 MiB / 1 GiB leaf: [20:13] / [29:13] reserved)
 *  [51:HAW] reserved  [62:52] ignored  [63] XD (reserved when the PASID entry's NXE is 0) */
#define IMS_FLPTE_P  (UINT64_C(1) << 0)
#define IMS_FLPTE_RW (UINT64_C(1) << 1)
#define IMS_FLPTE_US (UINT64_C(1) << 2)
#define IMS_FLPTE_A  (UINT64_C(1) << 5)
#define IMS_FLPTE_D  (UINT64_C(1) << 6)
#define IMS_FLPTE_PS (UINT64_C(1) << 7)
#define IMS_FLPTE_XD (UINT64_C(1) << 63)

/* ---- Fault record (128 bits; VT-d fault recording register layout) ----
 *  bits 63:12   FI   faulting page address
 *  bits 79:64   SID  source (requester) id
 *  bits 103:96  FR   fault reason
 *  bits 123:104 PV   PASID value (when PP)
 *  bit  95      PP   PASID present
 *  bits 125:124 AT   the request's address type (enum ims_at)
 *  bit  126     T    type: 0 = write, 1 = read
 *  bit  127     F    fault (valid)
 */
struct ims_fault_record {
    uint64_t addr;    /* faulting address, page-aligned (FI) */
    uint16_t sid;     /* requester id as seen by the IOMMU (after aliasing) */
    uint8_t reason;   /* enum ims_fault_reason */
    bool is_read;     /* T: true for a read request */
    uint8_t at;       /* AT: the request's PCIe address type (enum ims_at in iommu.h), 0..3 */
    bool pasid_present;
    uint32_t pasid;
};
void ims_fault_record_encode(const struct ims_fault_record *rec, uint64_t words[2]);
/* Returns false if the F bit is clear (no record). */
bool ims_fault_record_decode(const uint64_t words[2], struct ims_fault_record *rec);

/* ---- Remapping-hardware registers (VT-d rev. 3.x chapter 11, "Register
 * Descriptions"; the register file itself is model/tlm/vtd_regs.cpp) ----
 * Byte offsets in the register window (11.4, table "Address Mapping for
 * Remapping Hardware Registers"); the IOTLB and IVA registers sit at
 * ECAP.IRO * 16 and the fault-recording registers at CAP.FRO * 16. */
#define IMS_VTD_VER 0x000u      /* 32 RO: version, major [7:4] minor [3:0] */
#define IMS_VTD_CAP 0x008u      /* 64 RO: capabilities (ims_caps_cap_reg) */
#define IMS_VTD_ECAP 0x010u     /* 64 RO: extended capabilities */
#define IMS_VTD_GCMD 0x018u     /* 32 WO: global command */
#define IMS_VTD_GSTS 0x01cu     /* 32 RO: global status */
#define IMS_VTD_RTADDR 0x020u   /* 64 RW: root-table address */
#define IMS_VTD_CCMD 0x028u     /* 64 RW: context command */
#define IMS_VTD_FSTS 0x034u     /* 32 RW1C/RO: fault status */
#define IMS_VTD_FECTL 0x038u    /* 32: fault event control */
#define IMS_VTD_FEDATA 0x03cu   /* 32: fault event interrupt data */
#define IMS_VTD_FEADDR 0x040u   /* 32: fault event interrupt address */
#define IMS_VTD_FEUADDR 0x044u  /* 32: fault event upper address */
#define IMS_VTD_IQH 0x080u      /* 64 RO: invalidation queue head */
#define IMS_VTD_IQT 0x088u      /* 64 RW: invalidation queue tail */
#define IMS_VTD_IQA 0x090u      /* 64 RW: invalidation queue address */
#define IMS_VTD_ICS 0x09cu      /* 32 RW1C: invalidation completion status */
#define IMS_VTD_IECTL 0x0a0u    /* 32: invalidation event control */
#define IMS_VTD_IEDATA 0x0a4u   /* 32: invalidation event data */
#define IMS_VTD_IEADDR 0x0a8u   /* 32: invalidation event address */
#define IMS_VTD_IEUADDR 0x0acu  /* 32: invalidation event upper address */
#define IMS_VTD_IRO_OFFSET 0x0f0u  /* IVA here, IOTLB at + 8 (ECAP.IRO = 0xf) */
#define IMS_VTD_FRO_OFFSET 0x220u  /* fault-recording register 0 (CAP.FRO = 0x22), 16 bytes each */
#define IMS_VTD_VERSION 0x10u      /* VER_REG: architecture version 1.0 */

/* GCMD_REG (11.4.4) commands and GSTS_REG (11.4.5) status bits: same positions. */
#define IMS_VTD_GCMD_TE (UINT32_C(1) << 31)   /* translation enable / TES */
#define IMS_VTD_GCMD_SRTP (UINT32_C(1) << 30) /* set root-table pointer / RTPS */
#define IMS_VTD_GCMD_QIE (UINT32_C(1) << 26)  /* queued invalidation enable / QIES */
/* CCMD_REG (11.4.7) */
#define IMS_VTD_CCMD_ICC (UINT64_C(1) << 63)
#define IMS_VTD_CCMD_CIRG_SHIFT 61 /* [62:61] requested granularity: 1 global, 2 domain, 3 device */
#define IMS_VTD_CCMD_CAIG_SHIFT 59 /* [60:59] actual granularity (RO) */
/* IOTLB_REG (11.4.8.1) and IVA_REG (11.4.8.2) */
#define IMS_VTD_IOTLB_IVT (UINT64_C(1) << 63)
#define IMS_VTD_IOTLB_IIRG_SHIFT 60 /* [61:60] requested: 1 global, 2 domain, 3 page */
#define IMS_VTD_IOTLB_IAIG_SHIFT 57 /* [58:57] actual granularity (RO) */
#define IMS_VTD_IVA_IH (UINT64_C(1) << 6)
/* FSTS_REG (11.4.9) */
#define IMS_VTD_FSTS_PFO (UINT32_C(1) << 0) /* primary fault overflow, RW1C */
#define IMS_VTD_FSTS_PPF (UINT32_C(1) << 1) /* primary pending fault, RO: any F bit set */
#define IMS_VTD_FSTS_IQE (UINT32_C(1) << 4) /* invalidation queue error, RW1C */
#define IMS_VTD_FSTS_FRI_SHIFT 8            /* [15:8] fault record index, RO */
/* FECTL_REG / IECTL_REG (11.4.10, 11.4.17) */
#define IMS_VTD_ECTL_IM (UINT32_C(1) << 31) /* interrupt mask */
#define IMS_VTD_ECTL_IP (UINT32_C(1) << 30) /* interrupt pending, RO */
/* ICS_REG (11.4.16) */
#define IMS_VTD_ICS_IWC (UINT32_C(1) << 0)
/* IQA_REG (11.4.15): [63:12] base, [2:0] QS: 2^QS 4 KiB pages of 16-byte descriptors */
#define IMS_VTD_IQA_QS_MASK UINT64_C(0x7)
#define IMS_VTD_IQ_QH_MASK UINT64_C(0x7fff0) /* IQH/IQT [18:4]: descriptor index * 16 */

/* ---- Invalidation descriptors (128 bits, VT-d 6.5.2; lo = bits 63:0) ----
 *  all      lo[3:0] type
 *  context  lo[5:4] G (1 global, 2 domain, 3 device), lo[31:16] DID,
 *           lo[47:32] SID, lo[49:48] FM; lo[15:6], lo[63:50], hi reserved
 *  IOTLB    lo[5:4] G (1 global, 2 domain, 3 page), lo[6] DW, lo[7] DR,
 *           lo[31:16] DID; hi[5:0] AM, hi[6] IH, hi[63:12] ADDR;
 *           lo[15:8], lo[63:32], hi[11:7] reserved
 *  wait     lo[4] IF, lo[5] SW, lo[6] FN, lo[63:32] status data;
 *           hi[63:2] status address; lo[31:7], hi[1:0] reserved
 *  device-TLB (3) and interrupt-entry-cache (4): accepted, no effect here. */
enum ims_vtd_desc_type {
    IMS_VTD_DESC_CC = 1,
    IMS_VTD_DESC_IOTLB = 2,
    IMS_VTD_DESC_DEVTLB = 3,
    IMS_VTD_DESC_IEC = 4,
    IMS_VTD_DESC_WAIT = 5,
};
#define IMS_VTD_DESC_CC_RSVD_LO UINT64_C(0xfffc00000000ffc0)
#define IMS_VTD_DESC_IOTLB_RSVD_LO UINT64_C(0xffffffff0000ff00)
#define IMS_VTD_DESC_IOTLB_RSVD_HI UINT64_C(0x0000000000000f80)
#define IMS_VTD_DESC_WAIT_RSVD_LO UINT64_C(0x00000000ffffff80)
#define IMS_VTD_DESC_WAIT_RSVD_HI UINT64_C(0x3)
#define IMS_VTD_DESC_WAIT_IF (UINT64_C(1) << 4)
#define IMS_VTD_DESC_WAIT_SW (UINT64_C(1) << 5)

#ifdef __cplusplus
}
#endif

#endif /* IMS_VTD_H */
