/* VT-d architectural helpers: capability defaults, checks and register
 * encodings; fault reason names and classes; fault-record encoding.
 * Field positions follow the VT-d specification (rev. 3.x): CAP_REG 11.4.2,
 * ECAP_REG 11.4.3, fault recording registers 11.4.14 (cross-checked against
 * QEMU hw/i386/intel_iommu_internal.h: VTD_CAP_*, VTD_ECAP_*, VTD_FRCD_*). */
#include <stdio.h>

#include "iommusim/vtd.h"

/* CAP.MAMV
: largest address mask for page-selective invalidation (2^18 pages). */
#define IMS_CAP_MAMV 18u

void ims_caps_default(struct ims_caps *caps)
{
    caps->sagaw = IMS_SAGAW_39 | IMS_SAGAW_48;
    caps->mgaw = 48;
    caps->haw = 46;
    caps->sllps = IMS_SLLPS_2M | IMS_SLLPS_1G;
    caps->nd = 6;
    caps->nfr = 256;
    caps->cm = false;
    caps->pt = true;
    caps->dt = true;
}

int ims_caps_check(const struct ims_caps *caps, char *err, size_t errlen)
{
    if (caps->sagaw == 0 || (caps->sagaw & ~(IMS_SAGAW_39 | IMS_SAGAW_48 | IMS_SAGAW_57))) {
        snprintf(err, errlen, "caps.sagaw (0x%x): needs at least one of 0x2 (39-bit), 0x4 (48-bit), 0x8 (57-bit), "
                 "and no other bits", caps->sagaw);
        return -1;
    }
    if (caps->mgaw < 30 || caps->mgaw > 57) {
        snprintf(err, errlen, "caps.mgaw (%u): must be 30..57 bits", caps->mgaw);
        return -1;
    }
    if (caps->haw < 32 || caps->haw > 52) {
        snprintf(err, errlen, "caps.haw (%u): must be 32..52 bits", caps->haw);
        return -1;
    }
    if (caps->sllps & ~(IMS_SLLPS_2M | IMS_SLLPS_1G)) {
        snprintf(err, errlen, "caps.sllps (0x%x): only 0x1 (2 MiB) and 0x2 (1 GiB) are defined", caps->sllps);
        return -1;
    }
    if (caps->nd > 6) {
        snprintf(err, errlen, "caps.nd (%u): must be 0..6", caps->nd);
        return -1;
    }
    if (caps->nfr < 1 || caps->nfr > 256) {
        snprintf(err, errlen, "caps.nfr (%u): must be 1..256", caps->nfr);
        return -1;
    }
    return 0;
}

uint64_t ims_caps_cap_reg(const struct ims_caps *caps)
{
    uint64_t r = 0;
    r |= (uint64_t)(caps->nd & 7u);                              /* ND    [2:0]   */
    r |= (uint64_t)(caps->cm ? 1 : 0) << 7;                       /* CM    [7]     */
    r |= (uint64_t)(caps->sagaw & 0x1fu) << 8;                    /* SAGAW [12:8]  */
    r |= (uint64_t)((caps->mgaw - 1u) & 0x3fu) << 16;             /* MGAW  [21:16] */
    r |= (uint64_t)((IMS_VTD_FRO_OFFSET >> 4) & 0x3ffu) << 24;    /* FRO   [33:24]: the fault-recording registers (vtd_regs) */
    r |= (uint64_t)(caps->sllps & 0xfu) << 34;                    /* SLLPS [37:34] */
    r |= UINT64_C(1) << 39;                                       /* PSI   [39]    */
    r |= (uint64_t)((caps->nfr - 1u) & 0xffu) << 40;              /* NFR   [47:40] */
    r |= (uint64_t)(IMS_CAP_MAMV & 0x3fu) << 48;                  /* MAMV  [53:48] */
    return r;
}

uint64_t ims_caps_ecap_reg(const struct ims_caps *caps)
{
    uint64_t r = 0;
    r |= (uint64_t)(caps->dt ? 1 : 0) << 2; /* DT [2] device-TLB */
    r |= (uint64_t)(caps->pt ? 1 : 0) << 6; /* PT [6] pass-through */
    return r;
}

uint32_t ims_caps_domains(const struct ims_caps *caps) { return UINT32_C(1) << (4 + 2 * (caps->nd > 6 ? 6 : caps->nd)); }

static const char *const fault_names[] = {
    [IMS_FR_NONE] = "none",
    [IMS_FR_ROOT_ENTRY_P] = "root-entry-not-present",
    [IMS_FR_CTX_ENTRY_P] = "context-entry-not-present",
    [IMS_FR_CTX_ENTRY_INV] = "context-entry-invalid",
    [IMS_FR_ADDR_BEYOND_MGAW] = "address-beyond-mgaw",
    [IMS_FR_WRITE] = "write-not-permitted",
    [IMS_FR_READ] = "read-not-permitted",
    [IMS_FR_PAGING_ENTRY_INV] = "paging-entry-access-error",
    [IMS_FR_ROOT_TABLE_INV] = "root-table-access-error",
    [IMS_FR_CTX_TABLE_INV] = "context-table-access-error",
    [IMS_FR_ROOT_ENTRY_RSVD] = "root-entry-reserved",
    [IMS_FR_CTX_ENTRY_RSVD] = "context-entry-reserved",
    [IMS_FR_PAGING_ENTRY_RSVD] = "paging-entry-reserved",
    [IMS_FR_CTX_ENTRY_TT] = "context-entry-tt-blocked",
    /* Scalable mode (7.1.3): "sm-" and the condition. */
    [IMS_FR_SM_RTA_INV] = "sm-root-table-address-invalid",
    [IMS_FR_SM_ROOT_ERR] = "sm-root-entry-access-error",
    [IMS_FR_SM_ROOT_P] = "sm-root-entry-not-present",
    [IMS_FR_SM_ROOT_RSVD] = "sm-root-entry-reserved",
    [IMS_FR_SM_CTX_ERR] = "sm-context-entry-access-error",
    [IMS_FR_SM_CTX_P] = "sm-context-entry-not-present",
    [IMS_FR_SM_CTX_RSVD] = "sm-context-entry-reserved",
    [IMS_FR_SM_CTX_INV] = "sm-context-entry-invalid",
    [IMS_FR_SM_CTX_DTE] = "sm-context-dte-clear",
    [IMS_FR_SM_CTX_PASIDE] = "sm-context-paside-clear",
    [IMS_FR_SM_CTX_PDTS] = "sm-pasid-beyond-directory",
    [IMS_FR_SM_PDE_ERR] = "sm-pasid-directory-access-error",
    [IMS_FR_SM_PDE_P] = "sm-pasid-directory-not-present",
    [IMS_FR_SM_PDE_RSVD] = "sm-pasid-directory-reserved",
    [IMS_FR_SM_PTE_ERR] = "sm-pasid-entry-access-error",
    [IMS_FR_SM_PTE_P] = "sm-pasid-entry-not-present",
    [IMS_FR_SM_PTE_RSVD] = "sm-pasid-entry-reserved",
    [IMS_FR_SM_PTE_INV] = "sm-pasid-entry-invalid",
    [IMS_FR_SM_PTE_ERE] = "sm-pasid-entry-ere-clear",
    [IMS_FR_SM_PTE_SRE] = "sm-pasid-entry-sre-clear",
    [IMS_FR_SM_FL_ERR] = "sm-first-level-access-error",
    [IMS_FR_SM_FL_P] = "sm-first-level-not-present",
    [IMS_FR_SM_FL_RSVD] = "sm-first-level-reserved",
    [IMS_FR_SM_FL_ROOT_ERR] = "sm-first-level-root-access-error",
    [IMS_FR_SM_FL_GPA] = "sm-first-level-table-beyond-second-level",
    [IMS_FR_SM_FL_ROOT_SLR] = "sm-first-level-root-read-denied",
    [IMS_FR_SM_FL_SLR] = "sm-first-level-table-read-denied",
    [IMS_FR_SM_FL_SLW] = "sm-first-level-ad-write-denied",
    [IMS_FR_SM_SL_ERR] = "sm-second-level-access-error",
    [IMS_FR_SM_SL_P] = "sm-second-level-not-present",
    [IMS_FR_SM_SL_RSVD] = "sm-second-level-reserved",
    [IMS_FR_SM_NONCANON] = "sm-non-canonical",
    [IMS_FR_SM_US] = "sm-user-to-supervisor-page",
    [IMS_FR_SM_XD] = "sm-execute-not-permitted",
    [IMS_FR_SM_ADDR] = "sm-address-beyond-width",
    [IMS_FR_SM_WRITE] = "sm-write-not-permitted",
    [IMS_FR_SM_READ] = "sm-read-not-permitted",
};

const char *ims_fault_reason_name(unsigned reason)
{
    return reason < sizeof fault_names / sizeof fault_names[0] ? fault_names[reason] : NULL;
}

/* Qualified faults (VT-d 7.1.2, table "Non-recoverable fault conditions",
 * column "Qualified") are the ones FPD suppresses. Same set as QEMU's
 * vtd_qualified_faults[]: 0x2-0x7, 0xc, 0xd. Root-entry/root-table faults
 * (0x1, 0x8, 0xa) happen before any context entry (hence FPD) is known;
 * 0x9 and 0xb concern the context entry that would hold FPD itself. */
bool ims_fault_reason_qualified(unsigned reason)
{
    switch (reason) {
    case IMS_FR_CTX_ENTRY_P:
    case IMS_FR_CTX_ENTRY_INV:
    case IMS_FR_ADDR_BEYOND_MGAW:
    case IMS_FR_WRITE:
    case IMS_FR_READ:
    case IMS_FR_PAGING_ENTRY_INV:
    case IMS_FR_PAGING_ENTRY_RSVD:
    case IMS_FR_CTX_ENTRY_TT:
        return true;
    /* Scalable mode, by the same rule: every fault after the context entry
     * is known is qualified; root-table and root-entry faults, and the
     * context entry's own access error and reserved fields, are not. */
    case IMS_FR_SM_RTA_INV:
    case IMS_FR_SM_ROOT_ERR:
    case IMS_FR_SM_ROOT_P:
    case IMS_FR_SM_ROOT_RSVD:
    case IMS_FR_SM_CTX_ERR:
    case IMS_FR_SM_CTX_RSVD:
        return false;
    default:
        return reason >= IMS_FR_SM_CTX_P && ims_fault_reason_name(reason) != NULL;
    }
}

/* Fault record: 128 bits, little-endian words. words[0] = bits 63:0,
 * words[1] = bits 127:64 (layout in vtd.h). */
void ims_fault_record_encode(const struct ims_fault_record *rec, uint64_t words[2])
{
    words[0] = rec->addr & ~UINT64_C(0xfff);
    uint64_t hi = rec->sid;                                 /* 79:64  -> hi 15:0  */
    hi |= (uint64_t)(rec->pasid_present ? 1 : 0) << 31;     /* 95     -> hi 31    */
    hi |= (uint64_t)rec->reason << 32;                      /* 103:96 -> hi 39:32 */
    if (rec->pasid_present)
        hi |= (uint64_t)(rec->pasid & 0xfffffu) << 40;      /* 123:104 -> hi 59:40 */
    hi |= (uint64_t)(rec->at & 3u) << 60;                   /* 125:124 AT -> hi 61:60 */
    hi |= (uint64_t)(rec->is_read ? 1 : 0) << 62;           /* 126 T  -> hi 62    */
    hi |= UINT64_C(1) << 63;                                /* 127 F  -> hi 63    */
    words[1] = hi;
}

bool ims_fault_record_decode(const uint64_t words[2], struct ims_fault_record *rec)
{
    uint64_t hi = words[1];
    if (!(hi >> 63))
        return false;
    rec->addr = words[0] & ~UINT64_C(0xfff);
    rec->sid = (uint16_t)(hi & 0xffff);
    rec->pasid_present = (hi >> 31) & 1;
    rec->reason = (uint8_t)((hi >> 32) & 0xff);
    rec->pasid = rec->pasid_present ? (uint32_t)((hi >> 40) & 0xfffff) : 0;
    rec->is_read = (hi >> 62) & 1;
    rec->at = (uint8_t)((hi >> 60) & 3);
    return true;
}
