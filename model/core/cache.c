/* One set-associative cache for every translation cache. Not architectural:
 * geometry and replacement policy are parameters (see cache.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_impl.h"

static const char *const repl_names[IMS_REPL_COUNT] = {"lru", "plru", "fifo", "random"};

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
    if (cfg->repl == IMS_REPL_PLRU && !is_pow2(cfg->ways)) {
        snprintf(err, errlen, "%s: ways (%u) must be a power of two for plru", w, cfg->ways);
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
    c->rng = cfg->seed ? cfg->seed : UINT64_C(0x9e3779b97f4a7c15);
    if (cfg->sets == 0 || cfg->ways == 0)
        return c; /* disabled: ways = 0, every lookup misses */
    c->ways = cfg->ways;
    c->set_mask = cfg->sets - 1;
    size_t n = (size_t)cfg->sets * cfg->ways;
    c->e = calloc(n, sizeof *c->e);
    c->stamp = calloc(n, sizeof *c->stamp);
    c->plru = calloc(cfg->sets, sizeof *c->plru);
    c->fp_stride = (cfg->ways + 7u) & ~7u;
    c->fp = calloc((size_t)cfg->sets * c->fp_stride, 1); /* all ways invalid */
    if (!c->e || !c->stamp || !c->plru || !c->fp) {
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
    free(c->stamp);
    free(c->plru);
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
