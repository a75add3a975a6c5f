/* Sparse simulated physical memory: 4 KiB frames allocated on first write,
 * found through an open-addressing (linear probing) hash table keyed by frame
 * number, with a small direct-mapped cache of recently used frames. Page walks read it,
 * so lookups are kept short. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mem_impl.h"

#define EMPTY_KEY UINT64_MAX /* frame numbers are < 2^52 */
#define FRAME_CACHE IMS_MEM_FRAME_CACHE

static inline size_t slot_of(const struct ims_mem *m, uint64_t fn) { return (size_t)((fn * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - m->bits)); }

static int table_init(struct ims_mem *m, unsigned bits)
{
    m->bits = bits;
    m->cap = (size_t)1 << bits;
    m->keys = malloc(m->cap * sizeof *m->keys);
    m->pages = calloc(m->cap, sizeof *m->pages);
    if (!m->keys || !m->pages)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        m->keys[i] = EMPTY_KEY;
    return 0;
}

struct ims_mem *ims_mem_create(void)
{
    struct ims_mem *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (table_init(m, 10) != 0) {
        free(m->keys);
        free(m->pages);
        free(m);
        return NULL;
    }
    m->err_lo = UINT64_MAX; /* no error range */
    m->err_hi = 0;
    for (size_t i = 0; i < FRAME_CACHE; i++)
        m->fc_fn[i] = EMPTY_KEY;
    return m;
}

void ims_mem_destroy(struct ims_mem *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->pages[i]);
    free(m->keys);
    free(m->pages);
    free(m);
}

/* The frame's page, or NULL if it was never written. */
static inline uint8_t *find_page(struct ims_mem *m, uint64_t fn)
{
    size_t c = (size_t)fn & (FRAME_CACHE - 1);
    if (__builtin_expect(m->fc_fn[c] == fn, 1))
        return m->fc_page[c];
    size_t mask = m->cap - 1;
    for (size_t i = slot_of(m, fn);; i = (i + 1) & mask) {
        uint64_t k = m->keys[i];
        if (k == fn) {
            m->fc_fn[c] = fn;
            m->fc_page[c] = m->pages[i];
            return m->pages[i];
        }
        if (k == EMPTY_KEY)
            return NULL;
    }
}

static void insert_slot(struct ims_mem *m, uint64_t fn, uint8_t *page)
{
    size_t mask = m->cap - 1;
    size_t i = slot_of(m, fn);
    while (m->keys[i] != EMPTY_KEY)
        i = (i + 1) & mask;
    m->keys[i] = fn;
    m->pages[i] = page;
}

static void grow(struct ims_mem *m)
{
    uint64_t *ok = m->keys;
    uint8_t **op = m->pages;
    size_t ocap = m->cap;
    if (table_init(m, m->bits + 1) != 0)
        abort(); /* out of host memory: nothing sensible to do */
    for (size_t i = 0; i < ocap; i++)
        if (ok[i] != EMPTY_KEY)
            insert_slot(m, ok[i], op[i]);
    free(ok);
    free(op);
}

static uint8_t *touch_page(struct ims_mem *m, uint64_t fn)
{
    uint8_t *p = find_page(m, fn);
    if (p)
        return p;
    if ((m->used + 1) * 2 > m->cap)
        grow(m);
    p = calloc(1, IMS_PAGE_SIZE);
    if (!p)
        abort();
    insert_slot(m, fn, p);
    m->used++;
    m->fc_fn[fn & (FRAME_CACHE - 1)] = fn;
    m->fc_page[fn & (FRAME_CACHE - 1)] = p;
    return p;
}

uint64_t ims_mem_read64(struct ims_mem *m, uint64_t pa)
{
    const uint8_t *p = find_page(m, pa >> IMS_PAGE_SHIFT);
    if (!p)
        return 0;
    uint64_t v;
    memcpy(&v, p + (pa & (IMS_PAGE_SIZE - 8)), 8); /* host is little-endian (x86-64) */
    return v;
}

void ims_mem_write64(struct ims_mem *m, uint64_t pa, uint64_t val)
{
    uint8_t *p = touch_page(m, pa >> IMS_PAGE_SHIFT);
    memcpy(p + (pa & (IMS_PAGE_SIZE - 8)), &val, 8);
}

void ims_mem_read(struct ims_mem *m, uint64_t pa, void *buf, size_t len)
{
    uint8_t *out = buf;
    while (len) {
        size_t off = (size_t)(pa & (IMS_PAGE_SIZE - 1));
        size_t n = IMS_PAGE_SIZE - off < len ? IMS_PAGE_SIZE - off : len;
        const uint8_t *p = find_page(m, pa >> IMS_PAGE_SHIFT);
        if (p)
            memcpy(out, p + off, n);
        else
            memset(out, 0, n);
        out += n;
        pa += n;
        len -= n;
    }
}

void ims_mem_write(struct ims_mem *m, uint64_t pa, const void *buf, size_t len)
{
    const uint8_t *in = buf;
    while (len) {
        size_t off = (size_t)(pa & (IMS_PAGE_SIZE - 1));
        size_t n = IMS_PAGE_SIZE - off < len ? IMS_PAGE_SIZE - off : len;
        memcpy(touch_page(m, pa >> IMS_PAGE_SHIFT) + off, in, n);
        in += n;
        pa += n;
        len -= n;
    }
}

void ims_mem_zero_page(struct ims_mem *m, uint64_t pa)
{
    uint64_t fn = pa >> IMS_PAGE_SHIFT;
    size_t mask = m->cap - 1;
    size_t i = slot_of(m, fn);
    while (m->keys[i] != fn) {
        if (m->keys[i] == EMPTY_KEY)
            return; /* never backed: already zero */
        i = (i + 1) & mask;
    }
    if (m->free_hook)
        m->free_hook(m->free_ctx, fn << IMS_PAGE_SHIFT);
    free(m->pages[i]);
    m->used--;
    if (m->fc_fn[fn & (FRAME_CACHE - 1)] == fn)
        m->fc_fn[fn & (FRAME_CACHE - 1)] = EMPTY_KEY;
    /* Backward-shift deletion keeps every probe chain unbroken. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->keys[j] != EMPTY_KEY; j = (j + 1) & mask) {
        size_t home = slot_of(m, m->keys[j]);
        /* Move j into the hole if its home is not cyclically in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            m->keys[hole] = m->keys[j];
            m->pages[hole] = m->pages[j];
            hole = j;
        }
    }
    m->keys[hole] = EMPTY_KEY;
    m->pages[hole] = NULL;
}

size_t ims_mem_pages(const struct ims_mem *m) { return m->used; }

void ims_mem_set_free_hook(struct ims_mem *m, void (*fn)(void *ctx, uint64_t pa), void *ctx)
{
    m->free_hook = fn;
    m->free_ctx = fn ? ctx : NULL;
}

static uint64_t direct_read64(void *ctx, uint64_t pa, enum ims_mem_kind kind)
{
    (void)kind;
    return ims_mem_read64(ctx, pa);
}

static void direct_write64(void *ctx, uint64_t pa, uint64_t val, enum ims_mem_kind kind)
{
    (void)kind;
    ims_mem_write64(ctx, pa, val);
}

void ims_mem_set_error_range(struct ims_mem *m, uint64_t lo, uint64_t hi)
{
    m->err_lo = lo;
    m->err_hi = hi;
}

static uint64_t direct_read64_err(void *ctx, uint64_t pa, enum ims_mem_kind kind, bool *error)
{
    (void)kind;
    struct ims_mem *m = ctx;
    if (__builtin_expect(pa >= m->err_lo && pa <= m->err_hi, 0)) {
        *error = true;
        return 0;
    }
    return ims_mem_read64_inl(m, pa);
}

const struct ims_mem_ops ims_mem_direct_ops = {direct_read64, direct_write64, direct_read64_err};

const void *ims_mem_frame(struct ims_mem *m, uint64_t pa) { return find_page(m, pa >> IMS_PAGE_SHIFT); }
