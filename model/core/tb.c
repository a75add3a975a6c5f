/* Table builder: the driver side (see tb.h). Writes root, context and
 * second-level tables straight into memory, as an OS IOMMU driver does. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "iommusim/iommu.h"
#include "iommusim/tb.h"
#include "iommusim/topo.h"
#include "mem_impl.h"

struct tb_domain {
    uint64_t root;     /* second-level table root; 0 = no such domain */
    uint8_t levels;
    uint32_t attached; /* requester ids attached */
    uint64_t limit;    /* IOVAs below this fit the domain: 2^min(AGAW, MGAW) (dom_width) */
};

struct ims_tb {
    struct ims_mem *mem;
    struct ims_tb_cfg cfg;
    uint64_t root;       /* root table */
    uint64_t next;       /* bump pointer in the table region */
    uint64_t *free;      /* freed frames, reused first */
    size_t n_free, cap_free;
    size_t in_use;       /* frames in use */
    struct tb_domain *dom; /* indexed by domain id; grown on demand up to the highest id created */
    uint32_t n_dom;        /* domain ids ND allows */
    uint32_t cap_dom;      /* entries dom[] holds */
    int32_t *rid_did;    /* per requester id: attached domain, or -1 */
    uint16_t *live;      /* per frame of the region: non-zero entries (paging tables) */
    size_t cap_live;     /* frames live[] covers */
    bool leaf_ok[IMS_MAX_LEVELS + 1]; /* per level: may hold a leaf (level_allowed), from cfg at creation */
};

const char *ims_tb_strerror(int err)
{
    switch (err) {
    case IMS_TB_OK: return "ok";
    case IMS_TB_EINVAL: return "invalid argument";
    case IMS_TB_ECAPS: return "not allowed by the capabilities";
    case IMS_TB_ENODOM: return "no such domain";
    case IMS_TB_EEXIST: return "already exists or in use";
    case IMS_TB_ENOENT: return "not mapped or not attached";
    case IMS_TB_ENOMEM: return "table region exhausted";
    default: return "unknown error";
    }
}

void ims_tb_cfg_default(struct ims_tb_cfg *cfg)
{
    ims_caps_default(&cfg->caps);
    cfg->tbl_base = UINT64_C(0x0000100000000000);
    cfg->tbl_size = UINT64_C(1) << 40;
    cfg->superpages = true;
}

static uint64_t frame_alloc(struct ims_tb *tb)
{
    uint64_t pa;
    if (tb->n_free) {
        pa = tb->free[--tb->n_free];
    } else {
        if (tb->next - tb->cfg.tbl_base + IMS_PAGE_SIZE > tb->cfg.tbl_size)
            return 0;
        pa = tb->next;
        tb->next += IMS_PAGE_SIZE;
        size_t need = (size_t)((tb->next - tb->cfg.tbl_base) >> IMS_PAGE_SHIFT);
        if (need > tb->cap_live) {
            size_t cap = tb->cap_live ? tb->cap_live * 2 : 1024;
            while (cap < need)
                cap *= 2;
            uint16_t *l = realloc(tb->live, cap * sizeof *l);
            if (!l)
                abort();
            memset(l + tb->cap_live, 0, (cap - tb->cap_live) * sizeof *l);
            tb->live = l;
            tb->cap_live = cap;
        }
    }
    tb->in_use++;
    return pa; /* freed frames were zeroed, fresh ones were never written */
}

static void frame_free(struct ims_tb *tb, uint64_t pa)
{
    ims_mem_zero_page(tb->mem, pa);
    tb->live[(pa - tb->cfg.tbl_base) >> IMS_PAGE_SHIFT] = 0;
    if (tb->n_free == tb->cap_free) {
        size_t cap = tb->cap_free ? tb->cap_free * 2 : 64;
        uint64_t *f = realloc(tb->free, cap * sizeof *f);
        if (!f)
            abort();
        tb->free = f;
        tb->cap_free = cap;
    }
    tb->free[tb->n_free++] = pa;
    tb->in_use--;
}

static bool level_allowed_cfg(const struct ims_tb_cfg *cfg, unsigned level);

struct ims_tb *ims_tb_create(struct ims_mem *mem, const struct ims_tb_cfg *cfg, char *err, size_t errlen)
{
    if (ims_caps_check(&cfg->caps, err, errlen) != 0)
        return NULL;
    uint64_t top = UINT64_C(1) << cfg->caps.haw;
    if ((cfg->tbl_base & (IMS_PAGE_SIZE - 1)) || cfg->tbl_base == 0 || cfg->tbl_base >= top ||
        cfg->tbl_size < IMS_PAGE_SIZE || cfg->tbl_size > top - cfg->tbl_base) {
        snprintf(err, errlen, "tb: tbl_base/tbl_size (0x%llx, 0x%llx) must be a non-zero 4 KiB aligned region of at "
                 "least one page below 2^haw", (unsigned long long)cfg->tbl_base, (unsigned long long)cfg->tbl_size);
        return NULL;
    }
    struct ims_tb *tb = calloc(1, sizeof *tb);
    if (!tb) {
        snprintf(err, errlen, "tb: out of memory");
        return NULL;
    }
    tb->mem = mem;
    tb->cfg = *cfg;
    tb->cfg.tbl_size &= ~(IMS_PAGE_SIZE - 1);
    for (unsigned l = 0; l <= IMS_MAX_LEVELS; l++)
        tb->leaf_ok[l] = l >= 1 && level_allowed_cfg(&tb->cfg, l);
    tb->next = cfg->tbl_base;
    tb->n_dom = ims_caps_domains(&cfg->caps);
    tb->rid_did = malloc(65536 * sizeof *tb->rid_did);
    if (!tb->rid_did) {
        ims_tb_destroy(tb);
        snprintf(err, errlen, "tb: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < 65536; i++)
        tb->rid_did[i] = -1;
    tb->root = frame_alloc(tb);
    return tb;
}

void ims_tb_destroy(struct ims_tb *tb)
{
    if (!tb)
        return;
    free(tb->free);
    free(tb->dom);
    free(tb->live);
    free(tb->rid_did);
    free(tb);
}

uint64_t ims_tb_root(const struct ims_tb *tb) { return tb->root; }
size_t ims_tb_tables(const struct ims_tb *tb) { return tb->in_use; }

/* The IOVA limit of a domain of `levels` levels: 2^min(AGAW, MGAW). */
static uint64_t dom_width(const struct ims_tb *tb, unsigned levels)
{
    unsigned w = ims_aw_bits(ims_levels_aw(levels));
    if (tb->cfg.caps.mgaw < w)
        w = tb->cfg.caps.mgaw;
    return UINT64_C(1) << w;
}

static struct tb_domain *get_dom(const struct ims_tb *tb, uint16_t did)
{
    if (did >= tb->cap_dom || tb->dom[did].root == 0)
        return NULL;
    return &tb->dom[did];
}

bool ims_tb_domain_exists(const struct ims_tb *tb, uint16_t did) { return get_dom(tb, did) != NULL; }

uint64_t ims_tb_domain_root(const struct ims_tb *tb, uint16_t did)
{
    const struct tb_domain *d = get_dom(tb, did);
    return d ? d->root : 0;
}

int ims_tb_domain_create(struct ims_tb *tb, uint16_t did, unsigned levels)
{
    if (levels < 3 || levels > 5)
        return IMS_TB_EINVAL;
    if (!(tb->cfg.caps.sagaw & (1u << ims_levels_aw(levels))))
        return IMS_TB_ECAPS;
    /* Domain ids must fit ND; with caching mode, id 0 is reserved (VT-d 6.1). */
    if (did >= tb->n_dom || (tb->cfg.caps.cm && did == 0))
        return IMS_TB_ECAPS;
    if (did >= tb->cap_dom) {
        /* Entries for the ids in use, not for every id ND allows (65,536). */
        uint32_t cap = tb->cap_dom ? tb->cap_dom : 64;
        while (cap <= did)
            cap *= 2;
        if (cap > tb->n_dom)
            cap = tb->n_dom;
        struct tb_domain *nd = realloc(tb->dom, cap * sizeof *nd);
        if (!nd)
            abort(); /* out of host memory, as in frame_alloc */
        memset(nd + tb->cap_dom, 0, (cap - tb->cap_dom) * sizeof *nd);
        tb->dom = nd;
        tb->cap_dom = cap;
    }
    if (tb->dom[did].root)
        return IMS_TB_EEXIST;
    uint64_t root = frame_alloc(tb);
    if (!root)
        return IMS_TB_ENOMEM;
    tb->dom[did] = (struct tb_domain){root, (uint8_t)levels, 0, 0};
    tb->dom[did].limit = dom_width(tb, levels);
    return IMS_TB_OK;
}

static uint64_t entry_pa(uint64_t table, unsigned level, uint64_t iova)
{
    return table + ((iova >> ims_level_shift(level)) & 511u) * 8u;
}

static bool is_leaf(uint64_t e, unsigned level) { return level == 1 || ims_slpte_ps(e); }

static void free_tree(struct ims_tb *tb, uint64_t table, unsigned level)
{
    if (level > 1) {
        for (unsigned i = 0; i < 512; i++) {
            uint64_t e = ims_mem_read64_inl(tb->mem, table + i * 8u);
            if (ims_slpte_present(e) && !is_leaf(e, level))
                free_tree(tb, ims_slpte_addr(e), level - 1);
        }
    }
    frame_free(tb, table);
}

int ims_tb_domain_destroy(struct ims_tb *tb, uint16_t did)
{
    struct tb_domain *d = get_dom(tb, did);
    if (!d)
        return IMS_TB_ENODOM;
    if (d->attached)
        return IMS_TB_EEXIST;
    free_tree(tb, d->root, d->levels);
    memset(d, 0, sizeof *d);
    return IMS_TB_OK;
}

int ims_tb_attach(struct ims_tb *tb, uint16_t rid, uint16_t did, unsigned tt, bool fpd)
{
    struct tb_domain *d = get_dom(tb, did);
    if (!d)
        return IMS_TB_ENODOM;
    if (tt > IMS_TT_PASSTHROUGH)
        return IMS_TB_EINVAL;
    if ((tt == IMS_TT_DEVTLB && !tb->cfg.caps.dt) || (tt == IMS_TT_PASSTHROUGH && !tb->cfg.caps.pt))
        return IMS_TB_ECAPS;
    uint64_t rpa = tb->root + ims_root_offset(rid >> 8);
    struct ims_root_entry re = {ims_mem_read64_inl(tb->mem, rpa), 0};
    if (!ims_root_present(&re)) {
        uint64_t ctp = frame_alloc(tb);
        if (!ctp)
            return IMS_TB_ENOMEM;
        ims_root_set_ctp(&re, ctp);
        ims_root_set_present(&re, true);
        ims_mem_write64_inl(tb->mem, rpa, re.lo);
    }
    uint64_t cpa = ims_root_ctp(&re) + ims_ctx_offset(rid & 0xffu);
    struct ims_ctx_entry ce = {0, 0};
    ims_ctx_set_slptptr(&ce, d->root);
    ims_ctx_set_tt(&ce, tt);
    ims_ctx_set_fpd(&ce, fpd);
    ims_ctx_set_aw(&ce, ims_levels_aw(d->levels));
    ims_ctx_set_did(&ce, did);
    ims_ctx_set_present(&ce, true);
    /* High word first, so the entry never looks present with a stale DID. */
    ims_mem_write64_inl(tb->mem, cpa, 0);
    ims_mem_write64_inl(tb->mem, cpa + 8, ce.hi);
    ims_mem_write64_inl(tb->mem, cpa, ce.lo);
    if (tb->rid_did[rid] >= 0)
        tb->dom[tb->rid_did[rid]].attached--;
    tb->rid_did[rid] = did;
    d->attached++;
    return IMS_TB_OK;
}

int ims_tb_detach(struct ims_tb *tb, uint16_t rid)
{
    if (tb->rid_did[rid] < 0)
        return IMS_TB_ENOENT;
    uint64_t cpa;
    if (ims_tb_ctx_entry_pa(tb, rid, &cpa) != IMS_TB_OK) /* attached: its root entry is present */
        return IMS_TB_ENOENT;
    ims_mem_write64_inl(tb->mem, cpa, 0);
    ims_mem_write64_inl(tb->mem, cpa + 8, 0);
    tb->dom[tb->rid_did[rid]].attached--;
    tb->rid_did[rid] = -1;
    return IMS_TB_OK;
}

/* Leaf covering iova: returns its level (and entry), or 0 if unmapped, with
 * *skip_to set to the end of the unmapped region found. */
static unsigned find_leaf(const struct ims_tb *tb, const struct tb_domain *d, uint64_t iova, uint64_t *entry,
                          uint64_t *entry_addr, uint64_t *skip_to)
{
    uint64_t table = d->root;
    for (unsigned level = d->levels;; level--) {
        uint64_t epa = entry_pa(table, level, iova);
        uint64_t e = ims_mem_read64_inl(tb->mem, epa);
        if (!ims_slpte_present(e)) {
            uint64_t span = UINT64_C(1) << ims_level_shift(level);
            *skip_to = (iova & ~(span - 1)) + span;
            return 0;
        }
        if (is_leaf(e, level)) {
            *entry = e;
            if (entry_addr)
                *entry_addr = epa;
            return level;
        }
        table = ims_slpte_addr(e);
    }
}

static uint64_t dom_limit(const struct ims_tb *tb, const struct tb_domain *d)
{
    (void)tb;
    return d->limit;
}

int ims_tb_lookup(const struct ims_tb *tb, uint16_t did, uint64_t iova, uint64_t *pa, unsigned *perm,
                  unsigned *page_shift)
{
    const struct tb_domain *d = get_dom(tb, did);
    if (!d)
        return IMS_TB_ENODOM;
    if (iova >= dom_limit(tb, d))
        return IMS_TB_ENOENT;
    uint64_t e = 0, skip = 0;
    unsigned level = find_leaf(tb, d, iova, &e, NULL, &skip);
    if (!level)
        return IMS_TB_ENOENT;
    unsigned shift = ims_level_shift(level);
    if (pa)
        *pa = ims_slpte_addr(e) + (iova & ((UINT64_C(1) << shift) - 1));
    if (perm)
        *perm = ims_slpte_perm(e);
    if (page_shift)
        *page_shift = shift;
    return IMS_TB_OK;
}

int ims_tb_entry_pa(const struct ims_tb *tb, uint16_t did, uint64_t iova, unsigned level, uint64_t *pa)
{
    const struct tb_domain *d = get_dom(tb, did);
    if (!d)
        return IMS_TB_ENODOM;
    if (level < 1 || level > d->levels || iova >= dom_limit(tb, d))
        return IMS_TB_EINVAL;
    uint64_t table = d->root;
    for (unsigned l = d->levels;; l--) {
        uint64_t epa = entry_pa(table, l, iova);
        if (l == level) {
            *pa = epa;
            return IMS_TB_OK;
        }
        uint64_t e = ims_mem_read64_inl(tb->mem, epa);
        if (!ims_slpte_present(e) || is_leaf(e, l))
            return IMS_TB_ENOENT;
        table = ims_slpte_addr(e);
    }
}

int ims_tb_ctx_entry_pa(const struct ims_tb *tb, uint16_t rid, uint64_t *pa)
{
    const struct ims_root_entry re = {ims_mem_read64_inl(tb->mem, tb->root + ims_root_offset(rid >> 8)), 0};
    if (!ims_root_present(&re))
        return IMS_TB_ENOENT;
    *pa = ims_root_ctp(&re) + ims_ctx_offset(rid & 0xffu);
    return IMS_TB_OK;
}

/* May `level` hold a leaf? Computed once per level at creation (leaf_ok). */
static bool level_allowed_cfg(const struct ims_tb_cfg *cfg, unsigned level)
{
    if (level == 1)
        return true;
    if (!cfg->superpages)
        return false;
    if (level == 2)
        return cfg->caps.sllps & IMS_SLLPS_2M;
    if (level == 3)
        return cfg->caps.sllps & IMS_SLLPS_1G;
    return false;
}

static bool level_allowed(const struct ims_tb *tb, unsigned level)
{
    return level <= IMS_MAX_LEVELS && tb->leaf_ok[level];
}

/* Non-leaf entries grant R and W; the leaf decides. */
#define TB_TABLE_PERM (IMS_SLPTE_R | IMS_SLPTE_W)

/* Writes a paging entry, keeping its table's count of non-zero entries. */
static void pte_write(struct ims_tb *tb, uint64_t epa, uint64_t val)
{
    uint64_t old = ims_mem_read64_inl(tb->mem, epa);
    ims_mem_write64_inl(tb->mem, epa, val);
    tb->live[(epa - tb->cfg.tbl_base) >> IMS_PAGE_SHIFT] += (uint16_t)((val != 0) - (old != 0));
}

/* pte_write when the caller has just read the entry (`old`) and nothing was
 * written to memory since: same effect, one read fewer. */
static void pte_write_known(struct ims_tb *tb, uint64_t epa, uint64_t old, uint64_t val)
{
    ims_mem_write64_inl(tb->mem, epa, val);
    tb->live[(epa - tb->cfg.tbl_base) >> IMS_PAGE_SHIFT] += (uint16_t)((val != 0) - (old != 0));
}

/* Walks from the root to the table holding iova's entry at `level`,
 * creating missing tables on the way; *table_out receives it. If `up` is not
 * NULL, up[l] receives the table walked through at each level l > `level`.
 * Returns IMS_TB_OK or IMS_TB_ENOMEM. */
static int table_path(struct ims_tb *tb, const struct tb_domain *d, uint64_t iova, unsigned level,
                      uint64_t *table_out, uint64_t *up)
{
    uint64_t table = d->root;
    for (unsigned l = d->levels; l > level; l--) {
        if (up)
            up[l] = table;
        uint64_t epa = entry_pa(table, l, iova);
        uint64_t e = ims_mem_read64_inl(tb->mem, epa);
        if (!ims_slpte_present(e)) {
            uint64_t t = frame_alloc(tb);
            if (!t)
                return IMS_TB_ENOMEM;
            pte_write_known(tb, epa, e, t | TB_TABLE_PERM); /* frame_alloc writes no memory */
            e = t | TB_TABLE_PERM;
        }
        table = ims_slpte_addr(e);
    }
    *table_out = table;
    return IMS_TB_OK;
}

/* Sets one leaf at `level`, creating tables on the way. The caller checked
 * that nothing is mapped there. */
static int set_leaf(struct ims_tb *tb, struct tb_domain *d, uint64_t iova, uint64_t pa, unsigned perm,
                    unsigned level)
{
    uint64_t table;
    if (table_path(tb, d, iova, level, &table, NULL) != IMS_TB_OK)
        return IMS_TB_ENOMEM;
    pte_write(tb, entry_pa(table, level, iova), pa | perm | (level > 1 ? IMS_SLPTE_PS : 0));
    return IMS_TB_OK;
}

/* Is the entry at `level` on iova's path free (not present, or its parent
 * missing)? A superpage may only go where no table hangs. */
static bool slot_free(const struct ims_tb *tb, const struct tb_domain *d, uint64_t iova, unsigned level)
{
    uint64_t table = d->root;
    for (unsigned l = d->levels;; l--) {
        uint64_t e = ims_mem_read64_inl(tb->mem, entry_pa(table, l, iova));
        if (!ims_slpte_present(e))
            return true;
        if (l == level || is_leaf(e, l))
            return false;
        table = ims_slpte_addr(e);
    }
}

/* ---- Maps with 4 KiB leaves only: fast paths ----
 * The general loop in ims_tb_map checks the whole range with find_leaf, then
 * for each page tries the superpage sizes and calls set_leaf, which walks
 * from the root again. When no superpage can be chosen every leaf is 4 KiB,
 * and the functions below make the same memory writes, frame allocations
 * and frees and live[] updates, in the same order, with fewer walks. Reads
 * change nothing (memory is only changed by writes, zero_page and frees),
 * so dropping repeated ones leaves the results as they were. */

/* Could the general loop pick a 2 MiB or 1 GiB leaf anywhere in the range?
 * Size s needs level_allowed, left >= s (so size >= s), and va and out both
 * s-aligned; va - out stays iova - pa, so that needs iova == pa modulo s.
 * "false" is exact; "true" may be pessimistic (the general loop then runs). */
static bool superpage_possible(const struct ims_tb *tb, uint64_t iova, uint64_t pa, uint64_t size)
{
    for (unsigned l = 2; l <= 3; l++) {
        uint64_t s = UINT64_C(1) << ims_level_shift(l);
        if (level_allowed(tb, l) && size >= s && !((iova ^ pa) & (s - 1)))
            return true;
    }
    return false;
}

/* Maps one 4 KiB page in one walk. find_leaf (the check) and set_leaf (the
 * build) read the same entries down to the first non-present one, with no
 * write in between, so one walk serves both. Above that entry the walk only
 * reads, so an EEXIST (a leaf on the path) is found before anything is
 * allocated or written. From that entry on, the loop is set_leaf's own: the
 * tables below are the ones it creates, and find_leaf, having stopped at
 * that entry with "unmapped", never looks at them, so no EEXIST can follow
 * an allocation. */
static int map_page(struct ims_tb *tb, struct tb_domain *d, uint16_t did, uint64_t iova, uint64_t pa, unsigned perm)
{
    uint64_t table = d->root, epa, e;
    unsigned l = d->levels;
    for (;; l--) {
        epa = entry_pa(table, l, iova);
        e = ims_mem_read64_inl(tb->mem, epa);
        if (!ims_slpte_present(e))
            break;
        if (is_leaf(e, l))
            return IMS_TB_EEXIST;
        table = ims_slpte_addr(e);
    }
    for (; l > 1; l--) {
        if (!ims_slpte_present(e)) {
            uint64_t t = frame_alloc(tb);
            if (!t) {
                ims_tb_unmap(tb, did, iova, IMS_PAGE_SIZE); /* undo, as the general loop does */
                return IMS_TB_ENOMEM;
            }
            pte_write_known(tb, epa, e, t | TB_TABLE_PERM); /* frame_alloc writes no memory */
            e = t | TB_TABLE_PERM;
        }
        epa = entry_pa(ims_slpte_addr(e), l - 1, iova);
        e = ims_mem_read64_inl(tb->mem, epa);
    }
    pte_write_known(tb, epa, e, pa | perm);
    return IMS_TB_OK;
}

/* Maps [iova, iova + size), more than one page, with 4 KiB leaves.
 * Check: for each page under one level-1 table, find_leaf walks the same
 * upper entries and then reads that page's entry; one walk per table and a
 * scan of its entries give the same verdict (the check writes nothing).
 * Build: the general loop calls set_leaf for each page in order. For the
 * pages after the first under one level-1 table, set_leaf reads the same
 * upper entries (same indices), which the first page's walk left present,
 * and the only writes since are leaves in that level-1 table; if that table
 * is none of the tables above it, those entries are unchanged and set_leaf
 * reaches the same table and writes the leaf. So one walk per table and a
 * run of leaf writes is the same. The builder's tables always form a tree;
 * should a corrupted entry point back up the path, each page takes
 * set_leaf's own walk instead. */
static int map_pages(struct ims_tb *tb, struct tb_domain *d, uint16_t did, uint64_t iova, uint64_t pa, uint64_t size,
                     unsigned perm)
{
    const uint64_t l1_span = UINT64_C(1) << ims_level_shift(2); /* IOVA range of one level-1 table */
    uint64_t end = iova + size;
    for (uint64_t a = iova; a < end;) {
        uint64_t table = d->root;
        unsigned l = d->levels;
        for (; l > 1; l--) {
            uint64_t e = ims_mem_read64_inl(tb->mem, entry_pa(table, l, a));
            if (!ims_slpte_present(e))
                break;
            if (ims_slpte_ps(e))
                return IMS_TB_EEXIST;
            table = ims_slpte_addr(e);
        }
        uint64_t span = UINT64_C(1) << ims_level_shift(l > 1 ? l : 2);
        uint64_t stop = (a & ~(span - 1)) + span; /* find_leaf's skip_to, or the table's end */
        if (l == 1) {
            const uint64_t *f = ims_mem_frame(tb->mem, table); /* NULL: never written, reads as zero */
            for (uint64_t p = a; f && p < stop && p < end; p += IMS_PAGE_SIZE)
                if (ims_slpte_present(f[(p >> IMS_PAGE_SHIFT) & 511u]))
                    return IMS_TB_EEXIST;
        }
        a = stop;
    }
    for (uint64_t a = iova; a < end;) {
        uint64_t up[IMS_MAX_LEVELS + 1], table;
        if (table_path(tb, d, a, 1, &table, up) != IMS_TB_OK) /* set_leaf's walk */
            goto nomem;
        bool tree = true;
        for (unsigned l = 2; l <= d->levels; l++)
            tree = tree && up[l] != table;
        uint64_t stop = (a & ~(l1_span - 1)) + l1_span;
        if (stop > end)
            stop = end;
        pte_write(tb, entry_pa(table, 1, a), (pa + (a - iova)) | perm);
        for (a += IMS_PAGE_SIZE; a < stop; a += IMS_PAGE_SIZE) {
            if (tree)
                pte_write(tb, entry_pa(table, 1, a), (pa + (a - iova)) | perm);
            else if (set_leaf(tb, d, a, pa + (a - iova), perm, 1) != IMS_TB_OK)
                goto nomem;
        }
    }
    return IMS_TB_OK;
nomem:
    ims_tb_unmap(tb, did, iova, size); /* undo, as the general loop does */
    return IMS_TB_ENOMEM;
}

int ims_tb_map(struct ims_tb *tb, uint16_t did, uint64_t iova, uint64_t pa, uint64_t size, unsigned perm)
{
    struct tb_domain *d = get_dom(tb, did);
    if (!d)
        return IMS_TB_ENODOM;
    if (size == 0 || ((iova | pa | size) & (IMS_PAGE_SIZE - 1)) || perm == 0 || perm > IMS_PERM_RW)
        return IMS_TB_EINVAL;
    uint64_t limit = dom_limit(tb, d), top = UINT64_C(1) << tb->cfg.caps.haw;
    if (iova >= limit || size > limit - iova || pa >= top || size > top - pa)
        return IMS_TB_ECAPS;
    if (!superpage_possible(tb, iova, pa, size)) /* same result as the loops below, fewer walks */
        return size == IMS_PAGE_SIZE ? map_page(tb, d, did, iova, pa, perm)
                                     : map_pages(tb, d, did, iova, pa, size, perm);
    /* All or nothing: refuse if any page in the range is mapped. */
    for (uint64_t a = iova; a < iova + size;) {
        uint64_t e = 0, skip = 0;
        if (find_leaf(tb, d, a, &e, NULL, &skip))
            return IMS_TB_EEXIST;
        a = skip;
    }
    uint64_t done = 0;
    while (done < size) {
        uint64_t va = iova + done, out = pa + done, left = size - done;
        unsigned level = 1;
        for (unsigned l = 3; l >= 2; l--) {
            uint64_t s = UINT64_C(1) << ims_level_shift(l);
            if (level_allowed(tb, l) && !((va | out) & (s - 1)) && left >= s && slot_free(tb, d, va, l)) {
                level = l;
                break;
            }
        }
        int rc = set_leaf(tb, d, va, out, perm, level);
        if (rc != IMS_TB_OK) {
            ims_tb_unmap(tb, did, iova, size); /* undo: all or nothing, empty tables too */
            return rc;
        }
        done += UINT64_C(1) << ims_level_shift(level);
    }
    return IMS_TB_OK;
}

/* Replaces the superpage leaf at `epa` (level `level`) with a table of
 * next-smaller pages mapping the same range; recursion handles a size SLLPS
 * does not allow. */
static int split(struct ims_tb *tb, uint64_t epa, uint64_t e, unsigned level)
{
    uint64_t t = frame_alloc(tb);
    if (!t)
        return IMS_TB_ENOMEM;
    unsigned sub = level - 1;
    uint64_t base = ims_slpte_addr(e), step = UINT64_C(1) << ims_level_shift(sub);
    unsigned perm = ims_slpte_perm(e);
    bool sub_leaf = sub == 1 || level_allowed(tb, sub);
    for (unsigned i = 0; i < 512; i++) {
        uint64_t se = (base + i * step) | perm | (sub > 1 ? IMS_SLPTE_PS : 0);
        pte_write(tb, t + i * 8u, se);
        if (!sub_leaf) {
            int rc = split(tb, t + i * 8u, se, sub);
            if (rc)
                return rc;
        }
    }
    pte_write(tb, epa, t | TB_TABLE_PERM);
    return IMS_TB_OK;
}

static bool table_empty(const struct ims_tb *tb, uint64_t table)
{
    /* The count answers "not empty" at once; a zero is confirmed by a scan,
     * since tests may write entries behind the builder's back. */
    if (tb->live[(table - tb->cfg.tbl_base) >> IMS_PAGE_SHIFT])
        return false;
    const uint64_t *e = ims_mem_frame(tb->mem, table);
    if (!e)
        return true;
    for (unsigned i = 0; i < 512; i++)
        if (e[i])
            return false;
    return true;
}

/* Unmaps [start, end) inside `table` (level `level`, covering from `base`).
 * Returns leaves cleared or a negative error; frees emptied sub-tables. */
static long unmap_level(struct ims_tb *tb, uint64_t table, unsigned level, uint64_t base, uint64_t start,
                        uint64_t end)
{
    uint64_t span = UINT64_C(1) << ims_level_shift(level);
    long n = 0;
    unsigned first = (unsigned)((start - base) >> ims_level_shift(level));
    for (unsigned i = first; i < 512; i++) {
        uint64_t lo = base + i * span, hi = lo + span;
        if (lo >= end)
            break;
        uint64_t epa = table + i * 8u;
        uint64_t e = ims_mem_read64_inl(tb->mem, epa);
        if (!ims_slpte_present(e))
            continue;
        bool whole = start <= lo && hi <= end;
        if (is_leaf(e, level)) {
            if (whole) {
                pte_write(tb, epa, 0);
                n++;
                continue;
            }
            int rc = split(tb, epa, e, level); /* partly inside: split first */
            if (rc)
                return rc;
            e = ims_mem_read64_inl(tb->mem, epa);
        }
        uint64_t sub = ims_slpte_addr(e);
        long r = unmap_level(tb, sub, level - 1, lo, start > lo ? start : lo, end < hi ? end : hi);
        if (r < 0)
            return r;
        n += r;
        if (table_empty(tb, sub)) {
            pte_write(tb, epa, 0);
            frame_free(tb, sub);
        }
    }
    return n;
}

/* Unmaps one 4 KiB page in one walk. For a 4 KiB range unmap_level visits
 * exactly one entry per level (the next entry starts at or past the range's
 * end): going down it stops at the first non-present entry or clears the
 * level-1 leaf; coming back up, at every level it frees the sub-table if
 * table_empty says it is empty, deepest first. This loop pair makes the
 * same table_empty calls, writes and frame_free calls in the same order. A
 * superpage on the path needs split(); nothing is written before it is
 * found, so the general path can take over. Returns leaves cleared (0 or 1),
 * or -1 for "use the general path". */
static int unmap_page(struct ims_tb *tb, const struct tb_domain *d, uint64_t iova)
{
    uint64_t table[IMS_MAX_LEVELS + 1], epa[IMS_MAX_LEVELS + 1];
    unsigned l = d->levels;
    int n = 0;
    table[l] = d->root;
    for (;; l--) {
        epa[l] = entry_pa(table[l], l, iova);
        uint64_t e = ims_mem_read64_inl(tb->mem, epa[l]);
        if (!ims_slpte_present(e))
            break;
        if (l == 1) {
            pte_write_known(tb, epa[1], e, 0);
            n = 1;
            break;
        }
        if (ims_slpte_ps(e))
            return -1;
        table[l - 1] = ims_slpte_addr(e);
    }
    for (l++; l <= d->levels; l++) {
        if (table_empty(tb, table[l - 1])) {
            pte_write(tb, epa[l], 0);
            frame_free(tb, table[l - 1]);
        }
    }
    return n;
}

int ims_tb_unmap(struct ims_tb *tb, uint16_t did, uint64_t iova, uint64_t size)
{
    struct tb_domain *d = get_dom(tb, did);
    if (!d)
        return IMS_TB_ENODOM;
    if (size == 0 || ((iova | size) & (IMS_PAGE_SIZE - 1)))
        return IMS_TB_EINVAL;
    uint64_t limit = dom_limit(tb, d);
    if (iova >= limit || size > limit - iova)
        return IMS_TB_ECAPS;
    if (size == IMS_PAGE_SIZE) {
        int one = unmap_page(tb, d, iova); /* same result as unmap_level, one walk */
        if (one >= 0)
            return one ? IMS_TB_OK : IMS_TB_ENOENT;
    }
    long n = unmap_level(tb, d->root, d->levels, 0, iova, iova + size);
    if (n < 0)
        return (int)n;
    return n ? IMS_TB_OK : IMS_TB_ENOENT;
}
