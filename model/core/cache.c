/* One set-associative cache for every translation cache. Not architectural:
 * geometry and replacement policy are parameters (see cache.h; the policies
 * are listed in iommusim/repl_list.h and written in repl_<name>.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_impl.h"

#define IMS_REPL_NAME_(U, l) [IMS_REPL_##U] = #l,
static const char *const repl_names[IMS_REPL_COUNT] = {IMS_REPL_LIST(IMS_REPL_NAME_)};
#undef IMS_REPL_NAME_

/* ", lru, plru, ..." : ims_repl_known() skips the first separator. */
#define IMS_REPL_KNOWN_(U, l) ", " #l
static const char repl_known[] = IMS_REPL_LIST(IMS_REPL_KNOWN_);
#undef IMS_REPL_KNOWN_

/* State words per way and per set, as each policy declares them. */
#define IMS_REPL_WORDS_(U, l) [IMS_REPL_##U] = {IMS_REPL_##U##_WAY_WORDS, IMS_REPL_##U##_SET_WORDS},
static const struct {
    uint8_t way, set;
} repl_words[IMS_REPL_COUNT] = {IMS_REPL_LIST(IMS_REPL_WORDS_)};
#undef IMS_REPL_WORDS_

int ims_repl_from_name(const char *name)
{
    for (int i = 0; i < IMS_REPL_COUNT; i++)
        if (name && strcmp(name, repl_names[i]) == 0)
            return i;
    return -1;
}

const char *ims_repl_name(enum ims_repl repl)
{
    return (unsigned)repl < IMS_REPL_COUNT ? repl_names[repl] : "unknown";
}

const char *ims_repl_known(void) { return repl_known + 2; }

static bool is_pow2(uint32_t v) { return v && !(v & (v - 1)); }

int ims_cache_cfg_check(const struct ims_cache_cfg *cfg, const char *what, char *err, size_t errlen)
{
    const char *w = what ? what : "cache";
    if (cfg->sets == 0 || cfg->ways == 0)
        return 0; /* disabled */
    if (!is_pow2(cfg->sets)) {
        snprintf(err, errlen, "%s: sets (%u) must be a power of two or 0", w, cfg->sets);
        return -1;
    }
    if (cfg->ways > 64) {
        snprintf(err, errlen, "%s: ways (%u) must be 1..64 or 0", w, cfg->ways);
        return -1;
    }
    if (cfg->repl >= IMS_REPL_COUNT) {
        snprintf(err, errlen, "%s: repl (%u) is not a known policy", w, cfg->repl);
        return -1;
    }
    const char *why = ims_repl_check_(cfg->repl, cfg->ways);
    if (why) {
        snprintf(err, errlen, "%s: ways (%u) %s", w, cfg->ways, why);
        return -1;
    }
    return 0;
}

struct ims_cache *ims_cache_create(const struct ims_cache_cfg *cfg)
{
    char err[128];
    if (ims_cache_cfg_check(cfg, "cache", err, sizeof err) != 0)
        return NULL;
    struct ims_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = *cfg;
    ims_repl_init_(cfg->repl, &c->repl, cfg->seed);
    if (cfg->sets == 0 || cfg->ways == 0)
        return c; /* disabled: ways = 0, every lookup misses */
    c->ways = cfg->ways;
    c->set_mask = cfg->sets - 1;
    size_t n = (size_t)cfg->sets * cfg->ways;
    c->e = calloc(n, sizeof *c->e);
    const size_t way_words = n * repl_words[cfg->repl].way, set_words = (size_t)cfg->sets * repl_words[cfg->repl].set;
    c->repl.way = way_words ? calloc(way_words, sizeof *c->repl.way) : NULL;
    c->repl.set = set_words ? calloc(set_words, sizeof *c->repl.set) : NULL;
    c->fp_stride = (cfg->ways + 7u) & ~7u;
    c->fp = calloc((size_t)cfg->sets * c->fp_stride, 1); /* all ways invalid */
    if (!c->e || !c->fp || (way_words && !c->repl.way) || (set_words && !c->repl.set)) {
        ims_cache_destroy(c);
        return NULL;
    }
    return c;
}

void ims_cache_destroy(struct ims_cache *c)
{
    if (!c)
        return;
    free(c->e);
    free(c->repl.way);
    free(c->repl.set);
    free(c->fp);
    free(c);
}

bool ims_cache_enabled(const struct ims_cache *c) { return c->ways != 0; }
uint32_t ims_cache_sets(const struct ims_cache *c) { return c->ways ? c->set_mask + 1 : 0; }

struct ims_cache_entry *ims_cache_lookup(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom,
                                         uint8_t shift)
{
    return ims_cache_lookup_inl(c, set, tag, dom, shift);
}

struct ims_cache_entry *ims_cache_probe(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom,
                                        uint8_t shift)
{
    uint32_t way;
    return ims_cache_find_(c, set, tag, dom, shift, &way);
}

struct ims_cache_entry *ims_cache_insert(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom,
                                         uint8_t shift, struct ims_cache_entry *victim)
{
    return ims_cache_insert_inl(c, set, tag, dom, shift, victim);
}

size_t ims_cache_invalidate_if(struct ims_cache *c, ims_cache_pred pred, void *arg)
{
    size_t n = 0, total = (size_t)(c->n_valid ? c->set_mask + 1 : 0) * c->ways;
    for (size_t i = 0; i < total; i++) {
        if (c->e[i].valid && pred(&c->e[i], arg)) {
            c->e[i].valid = 0;
            c->fp[i / c->ways * c->fp_stride + i % c->ways] = 0;
            n++;
        }
    }
    c->n_valid -= (uint32_t)n;
    c->st.invalidated += n;
    return n;
}

size_t ims_cache_invalidate_set_if(struct ims_cache *c, uint32_t set, ims_cache_pred pred, void *arg)
{
    return ims_cache_invalidate_set_inl(c, set, pred, arg);
}

static bool pred_all(const struct ims_cache_entry *e, void *arg)
{
    (void)e;
    (void)arg;
    return true;
}

size_t ims_cache_invalidate_all(struct ims_cache *c) { return ims_cache_invalidate_if(c, pred_all, NULL); }

size_t ims_cache_count(const struct ims_cache *c)
{
    size_t n = 0, total = (size_t)(c->ways ? c->set_mask + 1 : 0) * c->ways;
    for (size_t i = 0; i < total; i++)
        n += c->e[i].valid;
    return n;
}

const struct ims_cache_stats *ims_cache_stats(const struct ims_cache *c) { return &c->st; }
void ims_cache_stats_reset(struct ims_cache *c) { memset(&c->st, 0, sizeof c->st); }

void ims_cache_visit_set(const struct ims_cache *c, uint32_t set, ims_cache_visit fn, void *arg)
{
    if (c->ways == 0 || set > c->set_mask)
        return;
    const struct ims_cache_entry *row = c->e + (size_t)set * c->ways;
    for (uint32_t w = 0; w < c->ways; w++)
        if (row[w].valid)
            fn(&row[w], w, arg);
}
