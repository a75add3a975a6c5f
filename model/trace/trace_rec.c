/* Trace records and headers: the names of record kinds and codes, the range
 * checks every writer and both readers apply, canonical copies, and header
 * copy/free. The checks are the single source of every "out of range"
 * message; the binary decoder's quick verdict (trace_bin.c) defers to them.
 */
#define _POSIX_C_SOURCE 200809L

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/iommu.h"
#include "iommusim/tb.h"
#include "iommusim/vtd.h"
#include "trace_impl.h"

/* ---- Names ---- */

static const char *const kind_names[IMS_REC_KIND_MAX + 1] = {
    NULL, "dma", "map", "unmap", "inv-iotlb", "inv-ctx", "attach", "detach", "mark",
    "vm", "proc", "pmap", "punmap", "bind", "inv-pasid", "pgresp",
};

const char *ims_rec_kind_name(unsigned kind)
{
    return kind >= 1 && kind <= IMS_REC_KIND_MAX ? kind_names[kind] : NULL;
}

const char *ims_tr_gran_name(unsigned gran)
{
    switch (gran) {
    case IMS_INV_GLOBAL: return "global";
    case IMS_INV_DOMAIN: return "domain";
    case IMS_INV_DEVICE: return "device";
    case IMS_INV_PAGE: return "page";
    default: return NULL;
    }
}

const char *ims_tr_perm_name(unsigned perm)
{
    switch (perm) {
    case IMS_PERM_R: return "r";
    case IMS_PERM_W: return "w";
    case IMS_PERM_RW: return "rw";
    default: return NULL;
    }
}

const char *ims_tr_bridge_kind_name(unsigned kind)
{
    switch (kind) {
    case IMS_BRIDGE_PCIE_TO_PCI: return "pcie-to-pci";
    case IMS_BRIDGE_PCI_TO_PCI: return "pci-to-pci";
    default: return NULL;
    }
}

const char *ims_tr_pinv_target_name(unsigned target)
{
    switch (target) {
    case IMS_PINV_T_PASID_CACHE: return "pasid-cache";
    case IMS_PINV_T_PIOTLB: return "piotlb";
    case IMS_PINV_T_DEVTLB: return "devtlb";
    case IMS_PINV_T_PASID_DEVTLB: return "pasid-devtlb";
    default: return NULL;
    }
}

const char *ims_tr_pinv_gran_name(unsigned gran)
{
    switch (gran) {
    case IMS_PINV_DOMAIN: return "domain";
    case IMS_PINV_PASID: return "pasid";
    case IMS_PINV_PAGE: return "page";
    case IMS_PINV_GLOBAL: return "global";
    default: return NULL;
    }
}

const char *ims_tr_pgresp_name(unsigned code)
{
    switch (code) {
    case IMS_PGRESP_SUCCESS: return "success";
    case IMS_PGRESP_INVALID: return "invalid";
    case IMS_PGRESP_FAILURE: return "failure";
    default: return NULL;
    }
}

const char *ims_tr_rec_v3_only(const struct ims_rec *r)
{
    if (r->kind > IMS_REC_MARK && r->kind <= IMS_REC_KIND_MAX)
        return "a scalable-mode record kind";
    if (r->kind == IMS_REC_DMA && (r->flags & ~TR_DMA_FLAGS_V2 & TR_DMA_FLAGS))
        return "a scalable-mode dma flag (priv, exec, translated)";
    if (r->kind == IMS_REC_ATTACH && (r->flags & TR_ATTACH_FLAGS))
        return "a scalable-mode attach (sm, dte, pre)";
    return NULL;
}

/* ---- Record checks (shared by writers and both readers) ---- */

static bool label_ok(const char *label)
{
    size_t n = strnlen(label, IMS_REC_LABEL_MAX);
    if (n == 0 || n >= IMS_REC_LABEL_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (label[i] <= ' ' || label[i] > '~' || label[i] == '#')
            return false;
    return true;
}

/* The fields a record's kind uses are in range. Unused fields are not looked at. */
int ims_rec_check(const struct ims_rec *r, char *err, size_t errlen)
{
    const char *k = ims_rec_kind_name(r->kind);
    if (!k)
        return ims_errf(err, errlen, "unknown record kind %u (expected 1..%u)", r->kind, IMS_REC_KIND_MAX);
    if (r->ts > TR_TS_MAX)
        return ims_errf(err, errlen,
                        "%s: timestamp %llu out of range (0..%llu ns; 2^64 - 1 is what a saturated clock gives)", k,
                        (unsigned long long)r->ts, (unsigned long long)TR_TS_MAX);
    switch (r->kind) {
    case IMS_REC_DMA:
        if (r->flags & ~TR_DMA_FLAGS)
            return ims_errf(err, errlen, "dma: flags 0x%x has unknown bits", r->flags);
        if ((r->flags & IMS_RECF_EXPECT_PA) && (r->flags & IMS_RECF_EXPECT_FAULT))
            return ims_errf(err, errlen, "dma: both an expected pa and an expected fault");
        if (r->size == 0 || r->size > UINT32_MAX)
            return ims_errf(err, errlen, "dma: size %llu out of range (1..4294967295)", (unsigned long long)r->size);
        if (r->iova + (r->size - 1) < r->iova)
            return ims_errf(err, errlen, "dma: iova 0x%llx + size wraps past 2^64", (unsigned long long)r->iova);
        if ((r->flags & IMS_RECF_PASID) && r->pasid > TR_PASID_MAX)
            return ims_errf(err, errlen, "dma: pasid %u out of range (0..%u)", r->pasid, TR_PASID_MAX);
        /* reason is a byte, so 0 is the only value out of range. */
        if ((r->flags & IMS_RECF_EXPECT_FAULT) && r->reason == 0)
            return ims_errf(err, errlen, "dma: fault reason %u out of range (1..%u)", r->reason, IMS_REC_REASON_MAX);
        if ((r->flags & IMS_RECF_EXEC) && (r->flags & IMS_RECF_WRITE))
            return ims_errf(err, errlen, "dma: exec with a write (an execute request is a read)");
        return 0;
    case IMS_REC_MAP:
        if (!ims_tr_perm_name(r->perm))
            return ims_errf(err, errlen, "map: perm %u out of range (r=1, w=2, rw=3)", r->perm);
        if (r->size == 0)
            return ims_errf(err, errlen, "map: size 0");
        return 0;
    case IMS_REC_UNMAP:
        if (r->size == 0)
            return ims_errf(err, errlen, "unmap: size 0");
        return 0;
    case IMS_REC_INV_IOTLB:
        if (r->gran != IMS_INV_GLOBAL && r->gran != IMS_INV_DOMAIN && r->gran != IMS_INV_PAGE)
            return ims_errf(err, errlen, "inv-iotlb: granularity %u out of range (global=1, domain=2, page=4)", r->gran);
        if (r->flags & ~IMS_RECF_IH)
            return ims_errf(err, errlen, "inv-iotlb: flags 0x%x has unknown bits", r->flags);
        if (r->gran == IMS_INV_PAGE && r->am > TR_AM_MAX)
            return ims_errf(err, errlen, "inv-iotlb: am %u out of range (0..%u)", r->am, TR_AM_MAX);
        return 0;
    case IMS_REC_INV_CTX:
        if (r->gran != IMS_INV_GLOBAL && r->gran != IMS_INV_DOMAIN && r->gran != IMS_INV_DEVICE)
            return ims_errf(err, errlen, "inv-ctx: granularity %u out of range (global=1, domain=2, device=3)", r->gran);
        if (r->gran == IMS_INV_DEVICE && r->fm > 3)
            return ims_errf(err, errlen, "inv-ctx: fm %u out of range (0..3)", r->fm);
        return 0;
    case IMS_REC_ATTACH:
        if (r->levels < 3 || r->levels > 5)
            return ims_errf(err, errlen, "attach: levels %u out of range (3..5)", r->levels);
        if (r->tt > 3)
            return ims_errf(err, errlen, "attach: tt %u out of range (0..3)", r->tt);
        if (r->flags & ~TR_ATTACH_FLAGS)
            return ims_errf(err, errlen, "attach: flags 0x%x has unknown bits", r->flags);
        if ((r->flags & (IMS_RECF_DTE | IMS_RECF_PRE)) && !(r->flags & IMS_RECF_SM))
            return ims_errf(err, errlen, "attach: dte and pre are for a scalable-mode attach (sm)");
        if ((r->flags & IMS_RECF_SM) && r->pasid > TR_PASID_MAX)
            return ims_errf(err, errlen, "attach: pasid %u out of range (0..%u)", r->pasid, TR_PASID_MAX);
        return 0;
    case IMS_REC_DETACH:
        return 0;
    case IMS_REC_MARK:
        if (!label_ok(r->label))
            return ims_errf(err, errlen, "mark: label must be 1..%d printable characters without spaces or '#'",
                            IMS_REC_LABEL_MAX - 1);
        return 0;
    case IMS_REC_VM:
        if (r->vm >= IMS_TB_SM_VMS)
            return ims_errf(err, errlen, "vm: vm %u out of range (0..%u)", r->vm, IMS_TB_SM_VMS - 1);
        if (r->levels < 3 || r->levels > 5)
            return ims_errf(err, errlen, "vm: levels %u out of range (3..5)", r->levels);
        if (r->size == 0)
            return ims_errf(err, errlen, "vm: size 0");
        return 0;
    case IMS_REC_PROC:
        if (r->pid >= IMS_TB_SM_PIDS)
            return ims_errf(err, errlen, "proc: pid %u out of range (0..%u)", r->pid, IMS_TB_SM_PIDS - 1);
        if (r->levels != 4 && r->levels != 5)
            return ims_errf(err, errlen, "proc: levels %u out of range (4 or 5)", r->levels);
        if (r->vm >= IMS_TB_SM_VMS && r->vm != IMS_REC_VM_NONE)
            return ims_errf(err, errlen, "proc: vm %u out of range (0..%u, or none)", r->vm, IMS_TB_SM_VMS - 1);
        return 0;
    case IMS_REC_PMAP:
    case IMS_REC_PUNMAP:
        if (r->pid >= IMS_TB_SM_PIDS)
            return ims_errf(err, errlen, "%s: pid %u out of range (0..%u)", k, r->pid, IMS_TB_SM_PIDS - 1);
        if (r->kind == IMS_REC_PMAP && (r->perm & ~TR_PROT_ALL))
            return ims_errf(err, errlen, "pmap: prot %u out of range (0..%u: w=1, x=2, k=4)", r->perm, TR_PROT_ALL);
        if (r->size == 0)
            return ims_errf(err, errlen, "%s: size 0", k);
        if (r->iova + (r->size - 1) < r->iova)
            return ims_errf(err, errlen, "%s: va 0x%llx + size wraps past 2^64", k, (unsigned long long)r->iova);
        return 0;
    case IMS_REC_BIND: {
        if (r->flags & ~TR_BIND_FLAGS)
            return ims_errf(err, errlen, "bind: flags 0x%x has unknown bits", r->flags);
        const unsigned mode = r->flags & (IMS_RECF_SL | IMS_RECF_PT | IMS_RECF_UNBIND);
        if (mode & (mode - 1))
            return ims_errf(err, errlen, "bind: more than one of sl, pt and unbind");
        if (mode && (r->flags & IMS_RECF_SRE))
            return ims_errf(err, errlen, "bind: sre is for a first-level binding (not with sl, pt or unbind)");
        if (r->pasid > TR_PASID_MAX)
            return ims_errf(err, errlen, "bind: pasid %u out of range (0..%u)", r->pasid, TR_PASID_MAX);
        if (!mode && r->pid >= IMS_TB_SM_PIDS)
            return ims_errf(err, errlen, "bind: pid %u out of range (0..%u)", r->pid, IMS_TB_SM_PIDS - 1);
        return 0;
    }
    case IMS_REC_INV_PASID: {
        const char *tn = ims_tr_pinv_target_name(r->target);
        if (!tn)
            return ims_errf(err, errlen,
                            "inv-pasid: target %u out of range (pasid-cache=1, piotlb=2, devtlb=3, pasid-devtlb=4)",
                            r->target);
        if (r->flags & ~IMS_RECF_IH)
            return ims_errf(err, errlen, "inv-pasid: flags 0x%x has unknown bits", r->flags);
        if ((r->flags & IMS_RECF_IH) && !(r->target == IMS_PINV_T_PIOTLB && r->gran == IMS_PINV_PAGE))
            return ims_errf(err, errlen, "inv-pasid: ih is for piotlb page invalidations only");
        if (r->target != IMS_PINV_T_DEVTLB && r->target != IMS_PINV_T_PASID_CACHE && r->pasid > TR_PASID_MAX)
            return ims_errf(err, errlen, "inv-pasid %s: pasid %u out of range (0..%u)", tn, r->pasid, TR_PASID_MAX);
        switch (r->target) {
        case IMS_PINV_T_PASID_CACHE:
            if (r->gran != IMS_PINV_GLOBAL && r->gran != IMS_PINV_DOMAIN && r->gran != IMS_PINV_PASID)
                return ims_errf(err, errlen,
                                "inv-pasid pasid-cache: granularity %u out of range (domain=1, pasid=2, global=4)",
                                r->gran);
            if (r->gran == IMS_PINV_PASID && r->pasid > TR_PASID_MAX)
                return ims_errf(err, errlen, "inv-pasid pasid-cache: pasid %u out of range (0..%u)", r->pasid,
                                TR_PASID_MAX);
            return 0;
        case IMS_PINV_T_PIOTLB:
            if (r->gran != IMS_PINV_PASID && r->gran != IMS_PINV_PAGE)
                return ims_errf(err, errlen, "inv-pasid piotlb: granularity %u out of range (pasid=2, page=3)",
                                r->gran);
            if (r->gran == IMS_PINV_PAGE && r->am > TR_AM_MAX)
                return ims_errf(err, errlen, "inv-pasid piotlb: am %u out of range (0..%u)", r->am, TR_AM_MAX);
            return 0;
        default: /* devtlb, pasid-devtlb: an ATS invalidation's range */
            if (r->size < 4096 || (r->size & (r->size - 1)))
                return ims_errf(err, errlen, "inv-pasid %s: size 0x%llx is not a power of two of at least 4 KiB", tn,
                                (unsigned long long)r->size);
            if (r->iova & (r->size - 1))
                return ims_errf(err, errlen, "inv-pasid %s: addr 0x%llx is not aligned to its size 0x%llx", tn,
                                (unsigned long long)r->iova, (unsigned long long)r->size);
            return 0;
        }
    }
    case IMS_REC_PGRESP:
        if (r->flags & ~IMS_RECF_PASID)
            return ims_errf(err, errlen, "pgresp: flags 0x%x has unknown bits", r->flags);
        if ((r->flags & IMS_RECF_PASID) && r->pasid > TR_PASID_MAX)
            return ims_errf(err, errlen, "pgresp: pasid %u out of range (0..%u)", r->pasid, TR_PASID_MAX);
        if (r->prg > IMS_REC_PRG_MAX)
            return ims_errf(err, errlen, "pgresp: prg %u out of range (0..%u)", r->prg, IMS_REC_PRG_MAX);
        if (!ims_tr_pgresp_name(r->resp))
            return ims_errf(err, errlen, "pgresp: response code %u out of range (success=0, invalid=1, failure=15)",
                            r->resp);
        return 0;
    }
    return 0;
}

/* ---- Name index (header checks and the text reader's name lookups) ---- */

/* FNV-1a over the NUL-terminated name. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
    return h;
}

#define TR_NAME(base, stride, i) ((const char *)(base) + (size_t)(i) * (stride))

int ims_tr_names_find(const struct ims_tr_names *s, const void *base, size_t stride, const char *name)
{
    if (!s->cap)
        return -1;
    for (size_t j = (size_t)name_hash(name) & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
        int32_t i = s->slot[j];
        if (i < 0)
            return -1;
        if (!strcmp(TR_NAME(base, stride, i), name))
            return i;
    }
}

int ims_tr_names_add(struct ims_tr_names *s, const void *base, size_t stride, int idx)
{
    if (2 * (s->n + 1) > s->cap) {
        /* Load factor at most 1/2, so a probe ends at an empty slot. */
        size_t cap = s->cap ? 2 * s->cap : 64;
        int32_t *slot = malloc(cap * sizeof *slot);
        if (!slot)
            return -1;
        for (size_t j = 0; j < cap; j++)
            slot[j] = -1;
        for (size_t k = 0; k < s->cap; k++) {
            int32_t i = s->slot[k];
            if (i < 0)
                continue;
            size_t j = (size_t)name_hash(TR_NAME(base, stride, i)) & (cap - 1);
            while (slot[j] >= 0)
                j = (j + 1) & (cap - 1);
            slot[j] = i;
        }
        free(s->slot);
        s->slot = slot;
        s->cap = cap;
    }
    size_t j = (size_t)name_hash(TR_NAME(base, stride, idx)) & (s->cap - 1);
    while (s->slot[j] >= 0)
        j = (j + 1) & (s->cap - 1);
    s->slot[j] = idx;
    s->n++;
    return 0;
}

void ims_tr_names_free(struct ims_tr_names *s)
{
    free(s->slot);
    *s = (struct ims_tr_names){0};
}
#undef TR_NAME

/* ---- Header helpers ---- */

void ims_trace_hdr_free(struct ims_trace_hdr *hdr)
{
    if (!hdr)
        return;
    free(hdr->topo.bridges);
    free(hdr->topo.devices);
    hdr->topo.bridges = NULL;
    hdr->topo.devices = NULL;
    hdr->topo.n_bridges = hdr->topo.n_devices = 0;
}

int ims_trace_hdr_copy(struct ims_trace_hdr *dst, const struct ims_trace_hdr *src)
{
    struct ims_trace_hdr t = *src;
    t.topo.bridges = NULL;
    t.topo.devices = NULL;
    if (src->topo.n_bridges > 0) {
        t.topo.bridges = malloc(sizeof *t.topo.bridges * (size_t)src->topo.n_bridges);
        if (!t.topo.bridges)
            return -1;
        memcpy(t.topo.bridges, src->topo.bridges, sizeof *t.topo.bridges * (size_t)src->topo.n_bridges);
    }
    if (src->topo.n_devices > 0) {
        t.topo.devices = malloc(sizeof *t.topo.devices * (size_t)src->topo.n_devices);
        if (!t.topo.devices) {
            free(t.topo.bridges);
            return -1;
        }
        memcpy(t.topo.devices, src->topo.devices, sizeof *t.topo.devices * (size_t)src->topo.n_devices);
    }
    *dst = t;
    return 0;
}

static bool name_ok(const char *name)
{
    size_t n = strnlen(name, IMS_TOPO_NAME_MAX);
    if (n == 0 || n >= IMS_TOPO_NAME_MAX || !strcmp(name, "-"))
        return false;
    for (size_t i = 0; i < n; i++)
        if (name[i] <= ' ' || name[i] > '~' || name[i] == '#' || name[i] == '=')
            return false;
    return true;
}

static bool text_ok(const char *s)
{
    size_t n = strnlen(s, IMS_TRACE_TEXT_MAX);
    if (n >= IMS_TRACE_TEXT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
            return false;
    return true;
}

int ims_tr_hdr_check_text(const char *what, const char *s, char *err, size_t errlen)
{
    if (!text_ok(s))
        return ims_errf(err, errlen, "header: %s has control characters or is not terminated", what);
    return 0;
}

_Static_assert(offsetof(struct ims_bridge, name) == 0 && offsetof(struct ims_device, name) == 0,
               "struct ims_tr_names reads a list entry's name at the entry's start");

int ims_tr_hdr_check_bridge(const struct ims_topo *t, int i, struct ims_tr_names *names, char *err, size_t errlen)
{
    const struct ims_bridge *b = &t->bridges[i];
    if (!name_ok(b->name))
        return ims_errf(err, errlen, "header: bridge %d: bad name (1..%d characters, no spaces, '#' or '=')", i,
                        IMS_TOPO_NAME_MAX - 1);
    if (!ims_tr_bridge_kind_name(b->kind))
        return ims_errf(err, errlen, "header: bridge '%s': kind %u out of range (0..1)", b->name, b->kind);
    if (b->parent != IMS_TOPO_NONE && (b->parent < 0 || b->parent >= i))
        return ims_errf(err, errlen, "header: bridge '%s': parent %d must be an earlier bridge or none", b->name,
                        b->parent);
    if (ims_tr_names_find(names, t->bridges, sizeof *t->bridges, b->name) >= 0)
        return ims_errf(err, errlen, "header: bridge name '%s' used twice", b->name);
    if (ims_tr_names_add(names, t->bridges, sizeof *t->bridges, i) < 0)
        return ims_errf(err, errlen, "header: out of memory");
    return 0;
}

int ims_tr_hdr_check_device(const struct ims_topo *t, int i, struct ims_tr_names *names, char *err, size_t errlen)
{
    const struct ims_device *d = &t->devices[i];
    if (!name_ok(d->name))
        return ims_errf(err, errlen, "header: device %d: bad name (1..%d characters, no spaces, '#' or '=')", i,
                        IMS_TOPO_NAME_MAX - 1);
    if (d->bridge != IMS_TOPO_NONE && (d->bridge < 0 || d->bridge >= t->n_bridges))
        return ims_errf(err, errlen, "header: device '%s': bridge %d out of range", d->name, d->bridge);
    if (ims_tr_names_find(names, t->devices, sizeof *t->devices, d->name) >= 0)
        return ims_errf(err, errlen, "header: device name '%s' used twice", d->name);
    if (ims_tr_names_add(names, t->devices, sizeof *t->devices, i) < 0)
        return ims_errf(err, errlen, "header: out of memory");
    return 0;
}

/* What the trace formats need of a header: names usable in the text form and
 * unique, references pointing backwards (a parent is listed before its
 * children, so the text form can name it). ims_topo_check() checks the rest.
 * Linear in the number of entries (names are found by hash). */
int ims_tr_hdr_check(const struct ims_trace_hdr *h, char *err, size_t errlen)
{
    if (ims_tr_hdr_check_text("creator", h->creator, err, errlen) < 0 ||
        ims_tr_hdr_check_text("source", h->source, err, errlen) < 0)
        return -1;
    const struct ims_topo *t = &h->topo;
    if (t->n_bridges < 0 || t->n_devices < 0 || t->n_bridges > TR_TOPO_MAX || t->n_devices > TR_TOPO_MAX)
        return ims_errf(err, errlen, "header: bad topology counts (%d bridges, %d devices; at most %d each)",
                        t->n_bridges, t->n_devices, TR_TOPO_MAX);
    struct ims_tr_names names = {0};
    int rc = 0;
    for (int i = 0; i < t->n_bridges && rc == 0; i++)
        rc = ims_tr_hdr_check_bridge(t, i, &names, err, errlen);
    ims_tr_names_free(&names);
    for (int i = 0; i < t->n_devices && rc == 0; i++)
        rc = ims_tr_hdr_check_device(t, i, &names, err, errlen);
    ims_tr_names_free(&names);
    return rc;
}

/* Canonical copy: only the fields the kind uses, as the readers return them. */
void ims_rec_canon(const struct ims_rec *in, struct ims_rec *out)
{
    if (ims_tr_rec_v3_only(in)) {
        ims_tr_v3_canon(in, out);
        return;
    }
    unsigned char p[TR_REC_SIZE];
    ims_tr_rec_encode(in, p);
    (void)ims_tr_rec_decode(p, out);
}
_Static_assert(TR_PROT_ALL == (IMS_TB_SM_W | IMS_TB_SM_X | IMS_TB_SM_KERNEL), "PMAP prot bits are the builder's");
