/* Internal to model/trace: formats a message into a caller's error buffer. */
#ifndef IMS_TRACE_ERRF_H
#define IMS_TRACE_ERRF_H

#include <stddef.h>

/* Writes the message into err (if err and errlen are non-zero); returns -1,
 * so error paths can `return ims_errf(err, errlen, ...)`. */
int ims_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* IMS_TRACE_ERRF_H */
