/* Internal to the generators (model/trace/gen*.c): the generators that live
 * in their own file, called by ims_gen_write() with its open writer. */
#ifndef IMS_GEN_IMPL_H
#define IMS_GEN_IMPL_H

#include <stddef.h>

#include "iommusim/gen.h"
#include "iommusim/trace.h"

/* gen_svm.c: writes the svm trace's records into w (a scalable-mode
 * header), counting them in st. 0, or -1 with a message in err. */
int ims_gen_svm(const struct ims_gen_cfg *cfg, struct ims_trace_writer *w, struct ims_gen_stats *st, char *err,
                size_t errlen);

#endif /* IMS_GEN_IMPL_H */
