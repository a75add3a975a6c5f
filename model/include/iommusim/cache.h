/* One set-associative cache implementation for every translation cache
 * (context cache, IOTLB, paging-structure caches). Not architectural: these
 * model micro-architectural structures; sizes and policies are parameters.
 *
 * Contract: the owner computes the set index (its own hash of the tag), and
 * interprets the payload. A cache with sets == 0 or ways == 0 is disabled:
 * lookups miss and inserts do nothing (return NULL). Invalid ways are filled
 * before any valid way is evicted, whatever the policy.
 */
#ifndef IMS_CACHE_H
#define IMS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommusim/repl_list.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One value per IMS_REPL_LIST entry (iommusim/repl_list.h), in its order. */
enum ims_repl {
#define IMS_REPL_ENUM_(U, l) IMS_REPL_##U,
    IMS_REPL_LIST(IMS_REPL_ENUM_)
#undef IMS_REPL_ENUM_
    IMS_REPL_COUNT
};
/* The policy named `name` ("lru", ...), or -1 for an unknown name. */
int ims_repl_from_name(const char *name);
/* The policy's name, or "unknown". */
const char *ims_repl_name(enum ims_repl repl);
/* Every policy's name in enum order: "lru, plru, fifo, random" (for messages). */
const char *ims_repl_known(void);

/* Geometry bounds: ways per set (a fully associative cache is one set of
 * up to this many ways), and entries in all (sets x ways: 2^20 sets of 64
 * ways, the largest geometry of the original bounds). */
#define IMS_CACHE_MAX_WAYS 65536u
#define IMS_CACHE_MAX_ENTRIES (1u << 26)

struct ims_cache_cfg {
    uint32_t sets;  /* power of two, or 0 to disable */
    uint32_t ways;  /* 1..IMS_CACHE_MAX_WAYS, or 0 to disable; sets x ways <= IMS_CACHE_MAX_ENTRIES */
    uint8_t repl;   /* enum ims_repl */
    uint64_t seed;  /* for IMS_REPL_RANDOM */
    bool classify;  /* classify every miss (enum ims_miss_class; costs memory and time: docs/performance.md) */
};
/* 0 if valid; else -1 with a message naming the field, prefixed with `what`. */
int ims_cache_cfg_check(const struct ims_cache_cfg *cfg, const char *what, char *err, size_t errlen);

/* One way. tag/dom/shift identify the entry; data/aux are the owner's payload.
 * Wide enough for what scalable mode tags a translation with: tag holds a
 * page number (or requester id and PASID), dom a domain id with a PASID and
 * translation-kind bits above it, shift the page size. */
struct ims_cache_entry {
    uint64_t tag;   /* owner-defined, e.g. IOVA >> shift */
    uint64_t data;  /* owner payload, e.g. output page address */
    uint64_t dom;   /* owner-defined, e.g. domain id | PASID << 16 */
    uint32_t aux;   /* owner payload, e.g. permissions */
    uint8_t shift;  /* owner-defined, e.g. page shift; part of the match */
    uint8_t valid;
    uint16_t spare; /* not part of the match: 0, but for the IOTLB, where 1 marks a prefetched entry not hit yet (iotlb.h) */
};

/* Miss classes (with cfg.classify; docs/stats.md, "Miss classes"): Hill's
 * 3C model over the opaque key (tag, dom, shift), plus misses caused by an
 * invalidation. Every miss is exactly one, tested in this order:
 *   COMPULSORY    the key was never in the cache;
 *   INVALIDATION  the key's last copy left the cache by an invalidation
 *                 (not by replacement), and it has not been filled since;
 *   CAPACITY      a fully associative LRU cache of the same total entries,
 *                 fed the same lookups, fills and invalidations, misses too;
 *   CONFLICT      that shadow cache hits. */
enum ims_miss_class {
    IMS_MISS_COMPULSORY = 0,
    IMS_MISS_INVALIDATION = 1,
    IMS_MISS_CAPACITY = 2,
    IMS_MISS_CONFLICT = 3,
    IMS_MISS_CLASSES = 4
};
/* "compulsory", "invalidation", "capacity", "conflict" (the JSON's keys), or "unknown". */
const char *ims_miss_class_name(unsigned cls);

struct ims_cache_stats {
    uint64_t lookups;
    uint64_t hits;
    uint64_t misses;
    uint64_t fills;
    uint64_t evictions;   /* valid entries replaced by a fill */
    uint64_t invalidated; /* entries removed by invalidations */
    uint64_t
        miss_class[IMS_MISS_CLASSES]; /* misses by enum ims_miss_class (cfg.classify; else 0): they sum to misses */
};

struct ims_cache;

struct ims_cache *ims_cache_create(const struct ims_cache_cfg *cfg);
void ims_cache_destroy(struct ims_cache *c);
bool ims_cache_enabled(const struct ims_cache *c);
uint32_t ims_cache_sets(const struct ims_cache *c);

/* Finds (tag, dom, shift) in `set` (set < sets). On a hit updates the
 * replacement state and returns the entry; NULL on a miss. Counts a lookup. */
struct ims_cache_entry *ims_cache_lookup(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom,
                                         uint8_t shift);
/* Same match, but no statistics and no replacement update (for checks). */
struct ims_cache_entry *ims_cache_probe(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom,
                                        uint8_t shift);
/* Inserts (tag, dom, shift), replacing a matching entry if present, else an
 * invalid way, else the policy's victim. Returns the entry for the owner to
 * fill data/aux (NULL if disabled). If a valid entry was evicted and `victim`
 * is not NULL, *victim receives a copy of it. */
struct ims_cache_entry *ims_cache_insert(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom,
                                         uint8_t shift, struct ims_cache_entry *victim);

/* Removes every valid entry for which pred returns true; returns the count.
 * With cfg.classify, pred is also asked about keys the cache no longer
 * holds but the classifier's shadow does (to feed it the same
 * invalidation): those come as copies with valid == 0 (the payload they had
 * when evicted); pred must decide by key and payload alone, and keep any
 * side effect of its own to entries with valid != 0. */
typedef bool (*ims_cache_pred)(const struct ims_cache_entry *e, void *arg);
size_t ims_cache_invalidate_if(struct ims_cache *c, ims_cache_pred pred, void *arg);
/* Same, within one set only: for owners that know which sets the entries
 * they remove can live in (page-selective invalidation). */
size_t ims_cache_invalidate_set_if(struct ims_cache *c, uint32_t set, ims_cache_pred pred, void *arg);
/* Removes everything; returns the count. */
size_t ims_cache_invalidate_all(struct ims_cache *c);
/* Number of valid entries (walks the whole cache; for tests and reports). */
size_t ims_cache_count(const struct ims_cache *c);

const struct ims_cache_stats *ims_cache_stats(const struct ims_cache *c);
void ims_cache_stats_reset(struct ims_cache *c);

/* Visits every valid entry of one set in way order (for tests). */
typedef void (*ims_cache_visit)(const struct ims_cache_entry *e, unsigned way, void *arg);
void ims_cache_visit_set(const struct ims_cache *c, uint32_t set, ims_cache_visit fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* IMS_CACHE_H */
