/* Internal to model/trace: the calibrated generator (gen_calib.c), called by
 * ims_gen_write() for IMS_GEN_CALIB.
 *
 * Contract: measures cfg->from, then writes the trace into `path` whole or
 * not at all, with `source` as its header's source field; 0, or -1 with a
 * message naming the recording or the output file. */
#ifndef IMS_TRACE_GEN_CALIB_H
#define IMS_TRACE_GEN_CALIB_H

#include <stddef.h>

#include "iommusim/gen.h"

int ims_gen_calib_write(const struct ims_gen_cfg *cfg, const char *source, const char *path,
                        struct ims_gen_stats *stats, char *err, size_t errlen);

#endif /* IMS_TRACE_GEN_CALIB_H */
