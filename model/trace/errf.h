/* Internal to model/trace: formats a message into a caller's error buffer. */
#ifndef IMS_TRACE_ERRF_H
#define IMS_TRACE_ERRF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Writes the message into err (if err and errlen are non-zero); returns -1,
 * so error paths can `return ims_errf(err, errlen, ...)`. Defined here, so
 * that every part of the trace library (formats, replay, generators,
 * converter) has it without a file of its own. */
static inline int ims_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline int ims_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

#endif /* IMS_TRACE_ERRF_H */
