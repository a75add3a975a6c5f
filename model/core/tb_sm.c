/* Scalable-mode table builder: the OS and driver side of VT-d scalable mode
 * (tb.h, "Scalable-mode builder"). Writes scalable-mode root and context
 * entries (VT-d 9.2, 9.4), PASID directories and tables (9.5, 9.6), and
 * x86-64 process page tables (SDM vol. 3 4.5) straight into memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/iommu.h"
#include "iommusim/tb.h"

struct sm_proc {
    uint64_t root; /* host address, or guest-physical in a VM */
    uint8_t levels;
    int8_t vm;     /* -1: host */
    bool used;
};

struct sm_vm {
    uint64_t slroot;
    uint8_t levels;
    uint64_t ram_hpa, ram_size;
    uint64_t top;          /* guest frames for tables come from the top of RAM down */
    uint64_t *free;        /* freed guest frames */
    size_t n_free, cap_free;
    bool used;
};

struct ims_tb_sm {
    struct ims_mem *mem;
    struct ims_tb_cfg cfg;
    uint64_t root, next;
    uint64_t *free;
    size_t n_free, cap_free;
    uint64_t *dir; /* per requester id: its PASID directory, 0 = not attached */
    struct sm_proc proc[IMS_TB_SM_PIDS];
    struct sm_vm vm[IMS_TB_SM_VMS];
};

#define ADDR_MASK UINT64_C(0x000ffffffffff000)
#define PDTS 2u /* 2^(2 + 7) = 512 directory entries: one frame, PASIDs below 2^15 */
#define NONLEAF (IMS_FLPTE_P | IMS_FLPTE_RW | IMS_FLPTE_US | IMS_FLPTE_A)

static bool push(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        uint64_t *p = realloc(*v, c * sizeof *p);
        if (!p)
            return false;
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = x;
    return true;
}

static uint64_t host_frame(struct ims_tb_sm *tb)
{
    if (tb->n_free)
        return tb->free[--tb->n_free];
    if (tb->next - tb->cfg.tbl_base + IMS_PAGE_SIZE > tb->cfg.tbl_size)
        return 0;
    const uint64_t pa = tb->next;
    tb->next += IMS_PAGE_SIZE;
    return pa;
}

struct ims_tb_sm *ims_tb_sm_create(struct ims_mem *mem, const struct ims_tb_cfg *cfg, char *err, size_t errlen)
{
    if (ims_caps_check(&cfg->caps, err, errlen))
        return NULL;
    if ((cfg->tbl_base & (IMS_PAGE_SIZE - 1)) || cfg->tbl_size < 2 * IMS_PAGE_SIZE ||
        ((cfg->tbl_base + cfg->tbl_size - 1) >> cfg->caps.haw)) {
        snprintf(err, errlen, "tb_sm: tbl_base/tbl_size (0x%llx, 0x%llx): need a 4 KiB-aligned base, two frames, "
                 "below 2^haw", (unsigned long long)cfg->tbl_base, (unsigned long long)cfg->tbl_size);
        return NULL;
    }
    struct ims_tb_sm *tb = calloc(1, sizeof *tb);
    uint64_t *dir = calloc(65536, sizeof *dir);
    if (!tb || !dir) {
        free(tb);
        free(dir);
        snprintf(err, errlen, "tb_sm: out of memory");
        return NULL;
    }
    tb->mem = mem;
    tb->cfg = *cfg;
    tb->dir = dir;
    tb->next = cfg->tbl_base;
    tb->root = host_frame(tb);
    return tb;
}

void ims_tb_sm_destroy(struct ims_tb_sm *tb)
{
    if (!tb)
        return;
    for (unsigned v = 0; v < IMS_TB_SM_VMS; v++)
        free(tb->vm[v].free);
    free(tb->free);
    free(tb->dir);
    free(tb);
}

uint64_t ims_tb_sm_root(const struct ims_tb_sm *tb) { return tb->root; }

int ims_tb_sm_attach(struct ims_tb_sm *tb, uint16_t rid, uint32_t rid_pasid, bool dte, bool pre)
{
    if (rid_pasid >> 15)
        return IMS_TB_EINVAL;
    if (dte && !tb->cfg.caps.dt)
        return IMS_TB_ECAPS;
    const uint64_t rpa = tb->root + (uint64_t)(rid >> 8) * 16u + ((rid & 0x80u) ? 8u : 0u);
    uint64_t r = ims_mem_read64(tb->mem, rpa);
    if (!(r & 1)) {
        const uint64_t ct = host_frame(tb);
        if (!ct)
            return IMS_TB_ENOMEM;
        r = ct | 1;
        ims_mem_write64(tb->mem, rpa, r);
    }
    if (!tb->dir[rid] && !(tb->dir[rid] = host_frame(tb)))
        return IMS_TB_ENOMEM;
    const uint64_t cpa = ims_sm_ptr(r) + ims_sm_ctx_offset(rid & 0xffu);
    ims_mem_write64(tb->mem, cpa + 8, rid_pasid);
    ims_mem_write64(tb->mem, cpa + 16, 0);
    ims_mem_write64(tb->mem, cpa + 24, 0);
    ims_mem_write64(tb->mem, cpa, tb->dir[rid] | (uint64_t)PDTS << 9 | IMS_SMCE_PASIDE | (dte ? IMS_SMCE_DTE : 0) |
                                      (pre ? IMS_SMCE_PRE : 0) | IMS_SMCE_P); /* present last, as a driver does */
    return IMS_TB_OK;
}

/* ---- Frames of a process's tables ---- */

static uint64_t proc_frame(struct ims_tb_sm *tb, const struct sm_proc *p)
{
    if (p->vm < 0)
        return host_frame(tb);
    struct sm_vm *v = &tb->vm[p->vm];
    if (v->n_free)
        return v->free[--v->n_free];
    if (v->top <= IMS_PAGE_SIZE) /* guest frame 0 stays unused */
        return 0;
    v->top -= IMS_PAGE_SIZE;
    return v->top;
}

static void proc_frame_free(struct ims_tb_sm *tb, const struct sm_proc *p, uint64_t a, uint64_t hpa)
{
    ims_mem_zero_page(tb->mem, hpa);
    bool ok = p->vm < 0 ? push(&tb->free, &tb->n_free, &tb->cap_free, a)
                        : push(&tb->vm[p->vm].free, &tb->vm[p->vm].n_free, &tb->vm[p->vm].cap_free, a);
    if (!ok)
        abort();
}

/* Host address of a table address as the process's entries hold it. */
static uint64_t hpa_of(const struct ims_tb_sm *tb, const struct sm_proc *p, uint64_t a)
{
    return p->vm < 0 ? a : tb->vm[p->vm].ram_hpa + a;
}

static unsigned shift_of(unsigned level) { return 12 + 9 * (level - 1); }
static uint64_t idx(uint64_t va, unsigned level) { return (va >> shift_of(level)) & 511u; }

static uint64_t leaf_entry(uint64_t pa, unsigned level, unsigned prot)
{
    return pa | IMS_FLPTE_P | ((prot & IMS_TB_SM_W) ? IMS_FLPTE_RW : 0) |
           ((prot & IMS_TB_SM_KERNEL) ? 0 : IMS_FLPTE_US) | ((prot & IMS_TB_SM_X) ? 0 : IMS_FLPTE_XD) |
           (level > 1 ? IMS_FLPTE_PS : 0);
}

static bool is_leaf(uint64_t e, unsigned level) { return level == 1 || (level <= 3 && (e & IMS_FLPTE_PS)); }

static struct sm_proc *get_proc(struct ims_tb_sm *tb, unsigned pid)
{
    return pid < IMS_TB_SM_PIDS && tb->proc[pid].used ? &tb->proc[pid] : NULL;
}

int ims_tb_sm_vm_create(struct ims_tb_sm *tb, unsigned vm, unsigned levels, uint64_t ram_hpa, uint64_t ram_size)
{
    const uint64_t m2 = (UINT64_C(1) << 21) - 1;
    if (vm >= IMS_TB_SM_VMS || levels < 3 || levels > 5 || (ram_hpa & m2) || (ram_size & m2) || ram_size == 0)
        return IMS_TB_EINVAL;
    if (tb->vm[vm].used)
        return IMS_TB_EEXIST;
    if (!(tb->cfg.caps.sagaw & (1u << ims_levels_aw(levels))) || (ram_size >> ims_aw_bits(ims_levels_aw(levels))) ||
        ((ram_hpa + ram_size - 1) >> tb->cfg.caps.haw))
        return IMS_TB_ECAPS;
    struct sm_vm *v = &tb->vm[vm];
    if (!(v->slroot = host_frame(tb)))
        return IMS_TB_ENOMEM;
    v->levels = (uint8_t)levels;
    v->ram_hpa = ram_hpa;
    v->ram_size = ram_size;
    v->top = ram_size;
    v->used = true;
    /* Second level (9.8): R/W at every level, 2 MiB leaves when SLLPS has them. */
    const bool big = tb->cfg.caps.sllps & IMS_SLLPS_2M;
    const uint64_t step = big ? UINT64_C(1) << 21 : IMS_PAGE_SIZE;
    const unsigned leaf_level = big ? 2 : 1;
    for (uint64_t g = 0; g < ram_size; g += step) {
        uint64_t t = v->slroot;
        for (unsigned l = levels; l > leaf_level; l--) {
            const uint64_t epa = t + idx(g, l) * 8u;
            uint64_t e = ims_mem_read64(tb->mem, epa);
            if (!e) {
                const uint64_t f = host_frame(tb);
                if (!f)
                    return IMS_TB_ENOMEM;
                e = f | IMS_SLPTE_R | IMS_SLPTE_W;
                ims_mem_write64(tb->mem, epa, e);
            }
            t = ims_slpte_addr(e);
        }
        ims_mem_write64(tb->mem, t + idx(g, leaf_level) * 8u,
                        (ram_hpa + g) | IMS_SLPTE_R | IMS_SLPTE_W | (big ? IMS_SLPTE_PS : 0));
    }
    return IMS_TB_OK;
}

int ims_tb_sm_process_create(struct ims_tb_sm *tb, unsigned pid, unsigned levels, int vm)
{
    if (pid >= IMS_TB_SM_PIDS || (levels != 4 && levels != 5) || vm >= IMS_TB_SM_VMS)
        return IMS_TB_EINVAL;
    if (tb->proc[pid].used)
        return IMS_TB_EEXIST;
    if (vm >= 0 && !tb->vm[vm].used)
        return IMS_TB_ENODOM;
    struct sm_proc *p = &tb->proc[pid];
    p->vm = (int8_t)(vm < 0 ? -1 : vm);
    p->levels = (uint8_t)levels;
    if (!(p->root = proc_frame(tb, p)))
        return IMS_TB_ENOMEM;
    p->used = true;
    return IMS_TB_OK;
}

uint64_t ims_tb_sm_process_root(const struct ims_tb_sm *tb, unsigned pid)
{
    return pid < IMS_TB_SM_PIDS && tb->proc[pid].used ? tb->proc[pid].root : 0;
}

/* The leaf for va: its level and host entry address, or 0 if none. */
static unsigned find_leaf(const struct ims_tb_sm *tb, const struct sm_proc *p, uint64_t va, uint64_t *epa_out,
                          uint64_t *e_out)
{
    uint64_t t = p->root;
    for (unsigned l = p->levels; l >= 1; l--) {
        const uint64_t epa = hpa_of(tb, p, t) + idx(va, l) * 8u;
        const uint64_t e = ims_mem_read64(tb->mem, epa);
        if (!(e & IMS_FLPTE_P))
            return 0;
        if (is_leaf(e, l)) {
            *epa_out = epa;
            *e_out = e;
            return l;
        }
        t = e & ADDR_MASK;
    }
    return 0;
}

int ims_tb_sm_lookup(const struct ims_tb_sm *tb, unsigned pid, uint64_t va, uint64_t *pa, unsigned *prot)
{
    const struct sm_proc *p = pid < IMS_TB_SM_PIDS && tb->proc[pid].used ? &tb->proc[pid] : NULL;
    if (!p)
        return IMS_TB_ENODOM;
    uint64_t epa, e;
    const unsigned l = find_leaf(tb, p, va, &epa, &e);
    if (!l)
        return IMS_TB_ENOENT;
    const uint64_t size = UINT64_C(1) << shift_of(l);
    *pa = (e & ADDR_MASK & ~(size - 1)) | (va & (size - 1));
    *prot = ((e & IMS_FLPTE_RW) ? IMS_TB_SM_W : 0) | ((e & IMS_FLPTE_XD) ? 0 : IMS_TB_SM_X) |
            ((e & IMS_FLPTE_US) ? 0 : IMS_TB_SM_KERNEL);
    return IMS_TB_OK;
}

int ims_tb_sm_entry_pa(const struct ims_tb_sm *tb, unsigned pid, uint64_t va, unsigned level, uint64_t *pa)
{
    const struct sm_proc *p = pid < IMS_TB_SM_PIDS && tb->proc[pid].used ? &tb->proc[pid] : NULL;
    if (!p || level < 1 || level > p->levels)
        return IMS_TB_EINVAL;
    uint64_t t = p->root;
    for (unsigned l = p->levels; l > level; l--) {
        const uint64_t e = ims_mem_read64(tb->mem, hpa_of(tb, p, t) + idx(va, l) * 8u);
        if (!(e & IMS_FLPTE_P) || is_leaf(e, l))
            return IMS_TB_ENOENT;
        t = e & ADDR_MASK;
    }
    *pa = hpa_of(tb, p, t) + idx(va, level) * 8u;
    return IMS_TB_OK;
}

/* Whether a leaf of `level` may map va -> pa here (size, alignment, caps, free slot). */
static bool large_ok(const struct ims_tb_sm *tb, const struct sm_proc *p, uint64_t va, uint64_t pa, uint64_t left,
                     unsigned level)
{
    const uint64_t size = UINT64_C(1) << shift_of(level);
    if (!tb->cfg.superpages || left < size || ((va | pa) & (size - 1)))
        return false;
    if (level == 3 && !(tb->cfg.caps.sllps & IMS_SLLPS_1G)) /* the builder's stand-in for CAP.FL1GP */
        return false;
    uint64_t t = p->root;
    for (unsigned l = p->levels; l > level; l--) {
        const uint64_t e = ims_mem_read64(tb->mem, hpa_of(tb, p, t) + idx(va, l) * 8u);
        if (!(e & IMS_FLPTE_P))
            return true;
        if (is_leaf(e, l))
            return false;
        t = e & ADDR_MASK;
    }
    return ims_mem_read64(tb->mem, hpa_of(tb, p, t) + idx(va, level) * 8u) == 0;
}

static int map_one(struct ims_tb_sm *tb, struct sm_proc *p, uint64_t va, uint64_t pa, unsigned level, unsigned prot)
{
    uint64_t t = p->root;
    for (unsigned l = p->levels; l > level; l--) {
        const uint64_t epa = hpa_of(tb, p, t) + idx(va, l) * 8u;
        uint64_t e = ims_mem_read64(tb->mem, epa);
        if (!(e & IMS_FLPTE_P)) {
            const uint64_t f = proc_frame(tb, p);
            if (!f)
                return IMS_TB_ENOMEM;
            e = f | NONLEAF;
            ims_mem_write64(tb->mem, epa, e);
        } else if (is_leaf(e, l)) {
            return IMS_TB_EEXIST;
        }
        t = e & ADDR_MASK;
    }
    const uint64_t epa = hpa_of(tb, p, t) + idx(va, level) * 8u;
    if (ims_mem_read64(tb->mem, epa) & IMS_FLPTE_P)
        return IMS_TB_EEXIST;
    ims_mem_write64(tb->mem, epa, leaf_entry(pa, level, prot));
    return IMS_TB_OK;
}

int ims_tb_sm_map(struct ims_tb_sm *tb, unsigned pid, uint64_t va, uint64_t pa, uint64_t size, unsigned prot)
{
    struct sm_proc *p = get_proc(tb, pid);
    if (!p)
        return IMS_TB_ENODOM;
    const uint64_t bits = p->levels == 5 ? 57 : 48;
    if (size == 0 || ((va | pa | size) & (IMS_PAGE_SIZE - 1)) || (prot & ~7u) || ((va + size - 1) >> (bits - 1)) ||
        va + size < va) /* the lower (user) half only */
        return IMS_TB_EINVAL;
    if (p->vm >= 0 ? pa + size > tb->vm[p->vm].ram_size : ((pa + size - 1) >> tb->cfg.caps.haw) != 0)
        return IMS_TB_ECAPS;
    for (uint64_t off = 0; off < size;) {
        unsigned level = 1;
        for (unsigned l = 3; l >= 2; l--)
            if (large_ok(tb, p, va + off, pa + off, size - off, l)) {
                level = l;
                break;
            }
        const int r = map_one(tb, p, va + off, pa + off, level, prot);
        if (r)
            return r;
        off += UINT64_C(1) << shift_of(level);
    }
    return IMS_TB_OK;
}

/* A large leaf at `level` becomes a table of 512 leaves one level down (an
 * OS splitting a huge page for a partial unmap). */
static int split(struct ims_tb_sm *tb, struct sm_proc *p, uint64_t epa, uint64_t e, unsigned level)
{
    const uint64_t f = proc_frame(tb, p);
    if (!f)
        return IMS_TB_ENOMEM;
    const uint64_t sub = UINT64_C(1) << shift_of(level - 1);
    const uint64_t base = e & ADDR_MASK & ~((UINT64_C(1) << shift_of(level)) - 1);
    const uint64_t flags = e & (IMS_FLPTE_RW | IMS_FLPTE_US | IMS_FLPTE_XD);
    for (unsigned i = 0; i < 512; i++)
        ims_mem_write64(tb->mem, hpa_of(tb, p, f) + i * 8u,
                        (base + i * sub) | IMS_FLPTE_P | flags | (level - 1 > 1 ? IMS_FLPTE_PS : 0));
    ims_mem_write64(tb->mem, epa, f | NONLEAF);
    return IMS_TB_OK;
}

static bool table_empty(const struct ims_tb_sm *tb, uint64_t hpa)
{
    for (unsigned i = 0; i < 512; i++)
        if (ims_mem_read64(tb->mem, hpa + i * 8u))
            return false;
    return true;
}

int ims_tb_sm_unmap(struct ims_tb_sm *tb, unsigned pid, uint64_t va, uint64_t size)
{
    struct sm_proc *p = get_proc(tb, pid);
    if (!p)
        return IMS_TB_ENODOM;
    if (size == 0 || ((va | size) & (IMS_PAGE_SIZE - 1)) || va + size < va)
        return IMS_TB_EINVAL;
    bool any = false;
    for (uint64_t cur = va; cur < va + size;) {
        uint64_t tab[IMS_MAX_LEVELS + 1], epa_at[IMS_MAX_LEVELS + 1]; /* per level: table (entry form), entry host address */
        uint64_t t = p->root;
        unsigned l = p->levels;
        uint64_t e = 0;
        for (;; l--) {
            tab[l] = t;
            epa_at[l] = hpa_of(tb, p, t) + idx(cur, l) * 8u;
            e = ims_mem_read64(tb->mem, epa_at[l]);
            if (!(e & IMS_FLPTE_P) || is_leaf(e, l))
                break;
            t = e & ADDR_MASK;
        }
        const uint64_t psize = UINT64_C(1) << shift_of(l);
        if (!(e & IMS_FLPTE_P)) { /* nothing here: skip to the next entry of this level */
            cur = (cur & ~(psize - 1)) + psize;
            continue;
        }
        if ((cur & (psize - 1)) || cur + psize > va + size) {
            const int r = split(tb, p, epa_at[l], e, l);
            if (r)
                return r;
            continue;
        }
        any = true;
        ims_mem_write64(tb->mem, epa_at[l], 0);
        /* Free the tables this left empty, bottom up (never the root). */
        for (unsigned k = l; k < p->levels; k++) {
            const uint64_t h = hpa_of(tb, p, tab[k]);
            if (!table_empty(tb, h))
                break;
            ims_mem_write64(tb->mem, epa_at[k + 1], 0);
            proc_frame_free(tb, p, tab[k], h);
        }
        cur += psize;
    }
    return any ? IMS_TB_OK : IMS_TB_ENOENT;
}

static uint64_t pasid_entry_pa(struct ims_tb_sm *tb, uint16_t rid, uint32_t pasid, bool create)
{
    if (!tb->dir[rid] || (pasid >> 15))
        return 0;
    const uint64_t dpa = tb->dir[rid] + (uint64_t)(pasid >> 6) * 8u;
    uint64_t d = ims_mem_read64(tb->mem, dpa);
    if (!(d & IMS_PDE_P)) {
        if (!create)
            return 0;
        const uint64_t f = host_frame(tb);
        if (!f)
            return 0;
        d = f | IMS_PDE_P;
        ims_mem_write64(tb->mem, dpa, d);
    }
    return ims_sm_ptr(d) + (uint64_t)(pasid & 63u) * IMS_PASID_ENTRY_SIZE;
}

/* Writes (rid, pasid)'s PASID entry: words 0 and 2 as given, domain did in
 * word 1, words 3..7 zero; word 0 (with P) last. ENOENT: rid not attached;
 * EINVAL: pasid beyond the directory (PDTS 2: below 2^15). */
static int pasid_entry_write(struct ims_tb_sm *tb, uint16_t rid, uint32_t pasid, uint64_t w0, uint16_t did,
                             uint64_t w2)
{
    if (!tb->dir[rid])
        return IMS_TB_ENOENT;
    if (pasid >> 15)
        return IMS_TB_EINVAL;
    const uint64_t pa = pasid_entry_pa(tb, rid, pasid, true);
    if (!pa)
        return IMS_TB_ENOMEM;
    for (unsigned i = 3; i < 8; i++)
        ims_mem_write64(tb->mem, pa + 8u * i, 0);
    ims_mem_write64(tb->mem, pa + 8, did);
    ims_mem_write64(tb->mem, pa + 16, w2);
    ims_mem_write64(tb->mem, pa, w0); /* present last */
    return IMS_TB_OK;
}

int ims_tb_sm_bind(struct ims_tb_sm *tb, uint16_t rid, uint32_t pasid, unsigned pid, uint16_t did, bool sre)
{
    struct sm_proc *p = get_proc(tb, pid);
    if (!p)
        return IMS_TB_ENODOM;
    uint64_t w0;
    if (p->vm < 0) {
        w0 = ims_pasid_w0(IMS_PGTT_FL, 0, 0);
    } else {
        const struct sm_vm *v = &tb->vm[p->vm];
        w0 = ims_pasid_w0(IMS_PGTT_NESTED, ims_levels_aw(v->levels), v->slroot);
    }
    const uint64_t w2 = ims_pasid_w2(p->levels == 5, p->root,
                                     IMS_PASID_ERE | IMS_PASID_WPE | IMS_PASID_NXE | (sre ? IMS_PASID_SRE : 0));
    return pasid_entry_write(tb, rid, pasid, w0, did, w2);
}

int ims_tb_sm_unbind(struct ims_tb_sm *tb, uint16_t rid, uint32_t pasid)
{
    const uint64_t pa = pasid_entry_pa(tb, rid, pasid, false);
    if (!pa || !(ims_mem_read64(tb->mem, pa) & IMS_PASID_P))
        return IMS_TB_ENOENT;
    ims_mem_write64(tb->mem, pa, 0);
    return IMS_TB_OK;
}

/* ---- Entries over a domain's second level (as Linux 6.1 writes the
 * RID_PASID entry of a DMA-API domain in scalable mode) ---- */

int ims_tb_sm_bind_sl(struct ims_tb_sm *tb, uint16_t rid, uint32_t pasid, uint16_t did, uint64_t slroot,
                      unsigned levels)
{
    if (levels < 3 || levels > 5 || (slroot & (IMS_PAGE_SIZE - 1)) || !slroot)
        return IMS_TB_EINVAL;
    if (!(tb->cfg.caps.sagaw & (1u << ims_levels_aw(levels))))
        return IMS_TB_ECAPS;
    /* PGTT SL: second-level pointer slroot with the AW of `levels`; word 2 zero. */
    return pasid_entry_write(tb, rid, pasid, ims_pasid_w0(IMS_PGTT_SL, ims_levels_aw(levels), slroot), did, 0);
}

int ims_tb_sm_bind_pt(struct ims_tb_sm *tb, uint16_t rid, uint32_t pasid, uint16_t did)
{
    if (!tb->cfg.caps.pt)
        return IMS_TB_ECAPS;
    return pasid_entry_write(tb, rid, pasid, ims_pasid_w0(IMS_PGTT_PT, 0, 0), did, 0);
}

bool ims_tb_sm_attached(const struct ims_tb_sm *tb, uint16_t rid)
{
    return tb->dir[rid] != 0;
}

bool ims_tb_sm_process_exists(const struct ims_tb_sm *tb, unsigned pid)
{
    return pid < IMS_TB_SM_PIDS && tb->proc[pid].used;
}

bool ims_tb_sm_vm_exists(const struct ims_tb_sm *tb, unsigned vm)
{
    return vm < IMS_TB_SM_VMS && tb->vm[vm].used;
}

int ims_tb_sm_detach(struct ims_tb_sm *tb, uint16_t rid)
{
    if (!tb->dir[rid])
        return IMS_TB_ENOENT;
    const uint64_t r = ims_mem_read64(tb->mem, tb->root + (uint64_t)(rid >> 8) * 16u + ((rid & 0x80u) ? 8u : 0u));
    /* Not present; the PASID directory stays for a later attach (its
     * entries are unreachable until then). Software then invalidates the
     * context cache. */
    ims_mem_write64(tb->mem, ims_sm_ptr(r) + ims_sm_ctx_offset(rid & 0xffu), 0);
    return IMS_TB_OK;
}
