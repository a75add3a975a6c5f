/* The replacement policies of the translation caches, one line each:
 * X(ENUM, name) gives IMS_REPL_<ENUM> (its value is its place in this list;
 * configurations store it) and the name configurations use. The enum, the
 * names, name lookup, the geometry checks, the policy state and the
 * dispatch the cache inlines are all generated from this list; the policy
 * itself is model/core/repl_<name>.h. Not architectural. */
#ifndef IMS_REPL_LIST_H
#define IMS_REPL_LIST_H

#define IMS_REPL_LIST(X)                                                                                               \
    X(LRU, lru)       /* least recently used (hits and fills update) */                                                \
    X(PLRU, plru)     /* tree pseudo-LRU; ways must be a power of two */                                               \
    X(FIFO, fifo)     /* oldest fill first; hits do not update */                                                      \
    X(RANDOM, random) /* seeded xorshift; deterministic per seed */

#endif /* IMS_REPL_LIST_H */
