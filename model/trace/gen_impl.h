/* Internal to the generators (model/trace/gen*.c): the generators that live
 * in their own file, called by ims_gen_write() with its open writer. */
#ifndef IMS_GEN_IMPL_H
#define IMS_GEN_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommusim/gen.h"
#include "iommusim/trace.h"

/* gen_svm.c: writes the svm trace's records into w (a scalable-mode
 * header), counting them in st. 0, or -1 with a message in err. */
int ims_gen_svm(const struct ims_gen_cfg *cfg, struct ims_trace_writer *w, struct ims_gen_stats *st, char *err,
                size_t errlen);

/* The end of every generator's ims_gen_write: on failure, aborts w and
 * returns -1 with gerr (prefixed with path unless a writer error already
 * names it); else commits w and copies *st to *stats (may be NULL). */
int ims_gen_finish(struct ims_trace_writer *w, bool failed, const char *gerr, const char *path,
                   const struct ims_gen_stats *st, struct ims_gen_stats *stats, char *err, size_t errlen);

/* The generators' one PRNG: splitmix64 (Steele, Lea, Flood 2014), tiny,
 * fast, and every seed is good. Advances *state; every generator draws
 * from it, so a trace is a function of its seed. */
static inline uint64_t ims_gen_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

#endif /* IMS_GEN_IMPL_H */
