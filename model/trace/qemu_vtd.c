/* Converter from a QEMU 7.2 VT-d trace-event log to an iommusim trace.
 *
 * Three passes: parse every line we use into a small event (errors name the
 * file and line), sort the events by timestamp (stable: lines of one thread
 * keep their order), then replay them against a derived view of the guest's
 * mappings and write records. docs/recording.md describes each event and
 * what it becomes; the comments here say why.
 *
 * The log has no map events: a mapping is derived from the leaf entry QEMU
 * prints with each translation, emitted as MAP just before its first use and
 * as UNMAP at the IOTLB invalidation that covers it. A later translation of
 * that page therefore re-maps it, possibly to another address.
 */
#include "iommusim/qemu_vtd.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/iommu.h"
#include "iommusim/trace.h"
#include "iommusim/vtd.h"
#include "errf.h"
#include "trace_impl.h" /* ims_tr_open_input */

#define QV_PAGE_4K   4096u
#define QV_PAGE_2M   (UINT64_C(1) << 21)
#define QV_DEFAULT_SIZE 4096u

/* Entry layouts (context entries as QEMU prints them, high word first;
 * second-level leaf entries) come from iommusim/vtd.h. */

enum qv_type {
    QV_HIT,        /* vtd_iotlb_page_hit */
    QV_UPDATE,     /* vtd_iotlb_page_update */
    QV_CC_UPDATE,  /* vtd_iotlb_cc_update */
    QV_INV_PAGES,  /* vtd_inv_desc_iotlb_pages */
    QV_INV_DOMAIN, /* vtd_inv_desc_iotlb_domain */
    QV_INV_GLOBAL, /* vtd_inv_desc_iotlb_global */
    QV_CC_GLOBAL,  /* vtd_inv_desc_cc_global */
    QV_CC_DOMAIN,  /* vtd_inv_desc_cc_domain */
    QV_CC_DEVICES, /* vtd_inv_desc_cc_devices */
    QV_FAULT,      /* vtd_dmar_fault */
    QV_NVME_MAP,   /* pci_nvme_map_addr */
    QV_BLK_IO,     /* dma_blk_io */
    QV_E1000E_RX,  /* e1000e_rx_desc_buff_write */
    QV_DMAR_ROOT,  /* vtd_reg_dmar_root: the root table's address and mode */
    QV_INV_DESC,   /* vtd_inv_desc: every descriptor the queue fetches */
    QV_PASID_INV,  /* vtd_inv_desc_iotlb_pasid / _pasid_pages: refused */
};

struct qv_event {
    uint64_t ts;   /* ns since the epoch QEMU printed (0 without timestamps) */
    uint64_t a;    /* iova, address or context high word */
    uint64_t b;    /* slpte, length or context low word */
    uint32_t line; /* 1-based line in the log */
    uint32_t x;    /* sid, domain, bus:devfn, ... */
    uint32_t y;    /* domain, mask, fault reason, direction, ... */
    uint8_t type;  /* enum qv_type */
};

/* A mapping derived from a translation's leaf entry. */
struct qv_map {
    uint64_t iova, pa, size;
    uint32_t line; /* where it was derived (for conflict messages) */
    int next;      /* hash chain, or free list */
    uint16_t did;
    uint8_t perm;
    bool live;
};

/* Size and direction announced by a device model just before it translates:
 * matched to the next translation inside [addr, end). */
enum { QV_DIR_UNKNOWN = 0, QV_DIR_READ = 1, QV_DIR_WRITE = 2 };
enum { QV_SRC_NVME = 1, QV_SRC_E1000E = 2 };
struct qv_hint {
    uint64_t addr, end;
    uint64_t born; /* translation count when announced */
    uint8_t dir, src;
};
#define QV_HINTS     64
#define QV_HINT_LIFE 1024 /* translations after which an unmatched hint is dropped */

struct qv_ctx {
    uint64_t root;   /* legacy: SLPTPTR; scalable: PASIDDIRPTR */
    uint32_t rid_pasid;
    uint32_t did_line; /* scalable: the translation the domain id was taken from (0: none yet) */
    uint16_t did;
    uint8_t levels, tt; /* tt: legacy TT; scalable: PDTS */
    uint8_t smflags;    /* scalable: the entry's DTE, PASIDE and PRE bits (w0[4:2]) */
    bool valid;
};

/* Second-level table depth of a scalable-mode recording. QEMU 7.2 logs
 * neither the PASID entry's AW nor its SLPTPTR; with its default aw-bits=39
 * the capability register offers 3-level tables only (SAGAW bit 1), so the
 * guest's PASID entries say AW=1. Translations of IOVAs at or above 2^39
 * are refused (they would need a wider setup). */
#define QV_SM_LEVELS 3
#define QV_SM_IOVA_LIMIT (UINT64_C(1) << 39)

#define QV_BUCKETS (1u << 16)

struct qv_conv {
    const char *path;
    char *err;
    size_t errlen;
    struct ims_trace_writer *w;
    struct ims_qemu_vtd_stats *st;
    uint32_t default_size;
    uint64_t ts0;

    struct qv_map *maps;
    int nmaps, capmaps, free_head;
    int *bucket;
    struct qv_ctx *ctx; /* per source id */
    struct qv_hint hints[QV_HINTS];
    int nhints;
    uint64_t translations;
    bool sm;                 /* a scalable-mode log (vtd_reg_dmar_root scalable 1) */
    const struct qv_event *evs; /* all events in order, for the scalable-mode look-ahead */
    size_t nevs;
};

void ims_qemu_vtd_opts_default(struct ims_qemu_vtd_opts *opts)
{
    opts->default_size = QV_DEFAULT_SIZE;
    opts->source = NULL;
}

/* ---- pass 1: parsing ------------------------------------------------------ */

struct qv_events {
    struct qv_event *v;
    size_t n, cap;
};

static int qv_push(struct qv_events *e, const struct qv_event *ev)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4096;
        struct qv_event *v = realloc(e->v, cap * sizeof *v);
        if (!v)
            return -1;
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = *ev;
    return 0;
}

/* Reads one line of any length into *buf; returns its length, -1 at EOF. */
static long qv_getline(FILE *f, char **buf, size_t *cap)
{
    size_t len = 0;
    if (!*buf) {
        *cap = 512;
        *buf = malloc(*cap);
        if (!*buf)
            return -2;
    }
    for (;;) {
        if (!fgets(*buf + len, (int)(*cap - len), f))
            return len ? (long)len : -1;
        len += strlen(*buf + len);
        if (len && (*buf)[len - 1] == '\n')
            break;
        if (len + 1 < *cap)
            continue; /* EOF without newline: next fgets returns NULL */
        char *nb = realloc(*buf, *cap * 2);
        if (!nb)
            return -2;
        *buf = nb;
        *cap *= 2;
    }
    while (len && ((*buf)[len - 1] == '\n' || (*buf)[len - 1] == '\r'))
        (*buf)[--len] = '\0';
    return (long)len;
}

static bool qv_digit(char c) { return c >= '0' && c <= '9'; }

/* Timestamp prefix "TID@SECONDS.FRACTION:" or "SECONDS.FRACTION:" (QEMU's
 * -msg timestamp=on). Returns 1 with *ts in ns and *rest after the colon,
 * 0 if the line has no such prefix, -1 if it starts like one but is broken,
 * -2 if its seconds do not fit in 64-bit nanoseconds (about 584 years). */
static int qv_prefix(const char *s, uint64_t *ts, const char **rest)
{
    const char *p = s;
    if (!qv_digit(*p))
        return 0;
    while (qv_digit(*p))
        p++;
    if (*p == '@') {
        p++;
        if (!qv_digit(*p))
            return -1;
    } else if (*p == '.') {
        p = s;
    } else {
        return 0;
    }
    uint64_t sec = 0, frac = 0;
    int fd = 0;
    for (; qv_digit(*p); p++) {
        sec = sec * 10 + (uint64_t)(*p - '0');
        if (sec > (UINT64_MAX - 999999999u) / 1000000000u)
            return -2; /* sec * 10^9 + fraction would pass 2^64 - 1 (checked per digit, so sec never wraps) */
    }
    if (*p++ != '.')
        return -1;
    for (; qv_digit(*p); p++, fd++) {
        if (fd < 9)
            frac = frac * 10 + (uint64_t)(*p - '0');
    }
    if (fd == 0 || *p != ':')
        return -1;
    for (int i = fd; i < 9; i++)
        frac *= 10;
    *ts = sec * 1000000000u + frac;
    *rest = p + 1;
    return 1;
}

/* sscanf with the whole argument text consumed (trailing blanks allowed).
 * The format must end with "%n". */
static bool qv_scan_end(const char *args, int n)
{
    if (n <= 0)
        return false;
    for (const char *p = args + n; *p; p++)
        if (*p != ' ' && *p != '\t')
            return false;
    return true;
}

struct qv_evdef {
    const char *name;
    int type;
    const char *expect; /* the QEMU format, for error messages */
};

static const struct qv_evdef qv_evdefs[] = {
    {"vtd_iotlb_page_hit", QV_HIT, "IOTLB page hit sid 0x%x iova 0x%lx slpte 0x%lx domain 0x%x"},
    {"vtd_iotlb_page_update", QV_UPDATE, "IOTLB page update sid 0x%x iova 0x%lx slpte 0x%lx domain 0x%x"},
    {"vtd_iotlb_cc_update", QV_CC_UPDATE,
     "IOTLB context update bus 0x%x devfn 0x%x high 0x%lx low 0x%lx gen %u -> gen %u"},
    {"vtd_inv_desc_iotlb_pages", QV_INV_PAGES, "iotlb invalidate domain 0x%x addr 0x%lx mask 0x%x"},
    {"vtd_inv_desc_iotlb_domain", QV_INV_DOMAIN, "iotlb invalidate whole domain 0x%x"},
    {"vtd_inv_desc_iotlb_global", QV_INV_GLOBAL, "iotlb invalidate global"},
    {"vtd_inv_desc_cc_global", QV_CC_GLOBAL, "context invalidate globally"},
    {"vtd_inv_desc_cc_domain", QV_CC_DOMAIN, "context invalidate domain 0x%x"},
    {"vtd_inv_desc_cc_devices", QV_CC_DEVICES, "context invalidate devices sid 0x%x fmask 0x%x"},
    {"vtd_dmar_fault", QV_FAULT, "sid 0x%x fault %d addr 0x%lx write %d"},
    {"pci_nvme_map_addr", QV_NVME_MAP, "addr 0x%lx len %lu"},
    {"dma_blk_io", QV_BLK_IO, "dbs=%p bs=%p offset=%ld to_dev=%d"},
    {"e1000e_rx_desc_buff_write", QV_E1000E_RX,
     "buffer #%u, addr: 0x%lx, offset: %u, from: %p, length: %u"},
    {"vtd_reg_dmar_root", QV_DMAR_ROOT, "addr 0x%lx scalable %d"},
    {"vtd_inv_desc", QV_INV_DESC, "invalidate desc type %s high 0x%lx low 0x%lx"},
    {"vtd_inv_desc_iotlb_pasid", QV_PASID_INV, "iotlb invalidate domain 0x%x pasid 0x%x"},
    {"vtd_inv_desc_iotlb_pasid_pages", QV_PASID_INV, "iotlb invalidate domain 0x%x addr 0x%lx mask 0x%x pasid 0x%x"},
};

/* Parses the arguments of a known event into ev; false if they do not match. */
static bool qv_parse_args(int type, const char *s, struct qv_event *ev)
{
    int n = -1;
    /* Every number is scanned as 64 bits and then range-checked: a 32-bit
     * conversion would truncate a larger value silently (0x100000010 as
     * sid 0x10). qv_parse refuses numbers past 64 bits before this. */
    uint64_t x = 0, y = 0, z = 0, u = 0;
    uint64_t a = 0, b = 0;
    int64_t off = 0;
    int64_t d = 0, e = 0;
    switch (type) {
    case QV_HIT:
    case QV_UPDATE:
        if (sscanf(s, type == QV_HIT ? "IOTLB page hit sid 0x%" SCNx64 " iova 0x%" SCNx64 " slpte 0x%" SCNx64
                                       " domain 0x%" SCNx64 "%n"
                                     : "IOTLB page update sid 0x%" SCNx64 " iova 0x%" SCNx64 " slpte 0x%" SCNx64
                                       " domain 0x%" SCNx64 "%n",
                   &x, &a, &b, &y, &n) != 4 ||
            !qv_scan_end(s, n) || x > 0xffff || y > 0xffff)
            return false;
        ev->x = x, ev->a = a, ev->b = b, ev->y = y;
        return true;
    case QV_CC_UPDATE:
        if (sscanf(s,
                   "IOTLB context update bus 0x%" SCNx64 " devfn 0x%" SCNx64 " high 0x%" SCNx64 " low 0x%" SCNx64
                   " gen %" SCNu64 " -> gen %" SCNu64 "%n",
                   &x, &y, &a, &b, &z, &u, &n) != 6 ||
            !qv_scan_end(s, n) || x > 0xff || y > 0xff)
            return false;
        ev->x = (x << 8) | y, ev->a = a, ev->b = b;
        return true;
    case QV_INV_PAGES:
        if (sscanf(s, "iotlb invalidate domain 0x%" SCNx64 " addr 0x%" SCNx64 " mask 0x%" SCNx64 "%n", &x, &a, &y,
                   &n) != 3 ||
            !qv_scan_end(s, n) || x > 0xffff || y > 63)
            return false;
        ev->x = x, ev->a = a, ev->y = y;
        return true;
    case QV_INV_DOMAIN:
        if (sscanf(s, "iotlb invalidate whole domain 0x%" SCNx64 "%n", &x, &n) != 1 || !qv_scan_end(s, n) ||
            x > 0xffff)
            return false;
        ev->x = x;
        return true;
    case QV_INV_GLOBAL:
        return !strncmp(s, "iotlb invalidate global", 23) && qv_scan_end(s, 23);
    case QV_CC_GLOBAL:
        return !strncmp(s, "context invalidate globally", 27) && qv_scan_end(s, 27);
    case QV_CC_DOMAIN:
        if (sscanf(s, "context invalidate domain 0x%" SCNx64 "%n", &x, &n) != 1 || !qv_scan_end(s, n) ||
            x > 0xffff)
            return false;
        ev->x = x;
        return true;
    case QV_CC_DEVICES:
        if (sscanf(s, "context invalidate devices sid 0x%" SCNx64 " fmask 0x%" SCNx64 "%n", &x, &y, &n) != 2 ||
            !qv_scan_end(s, n) || x > 0xffff || y > 3)
            return false;
        ev->x = x, ev->y = y;
        return true;
    case QV_FAULT:
        if (sscanf(s, "sid 0x%" SCNx64 " fault %" SCNd64 " addr 0x%" SCNx64 " write %" SCNd64 "%n", &x, &d, &a, &e,
                   &n) != 4 ||
            !qv_scan_end(s, n) || x > 0xffff || d < 0 || d > UINT32_MAX || (e != 0 && e != 1))
            return false;
        ev->x = x, ev->y = (uint32_t)d, ev->a = a, ev->b = (uint64_t)e;
        return true;
    case QV_NVME_MAP:
        if (sscanf(s, "addr 0x%" SCNx64 " len %" SCNu64 "%n", &a, &b, &n) != 2 || !qv_scan_end(s, n))
            return false;
        ev->a = a, ev->b = b;
        return true;
    case QV_BLK_IO:
        if (sscanf(s, "dbs=%*s bs=%*s offset=%" SCNd64 " to_dev=%" SCNd64 "%n", &off, &d, &n) != 2 ||
            !qv_scan_end(s, n) ||
            (d != 0 && d != 1))
            return false;
        ev->y = (uint32_t)d;
        return true;
    case QV_E1000E_RX:
        if (sscanf(s,
                   "buffer #%" SCNu64 ", addr: 0x%" SCNx64 ", offset: %" SCNu64 ", from: %*[^,], length: %" SCNu64
                   "%n",
                   &x, &a, &y, &z, &n) != 4 ||
            !qv_scan_end(s, n) || y > UINT32_MAX || z > UINT32_MAX || a + y < a)
            return false;
        ev->a = a + y, ev->b = z;
        return true;
    case QV_DMAR_ROOT:
        if (sscanf(s, "addr 0x%" SCNx64 " scalable %" SCNd64 "%n", &a, &d, &n) != 2 || !qv_scan_end(s, n) ||
            (d != 0 && d != 1))
            return false;
        ev->a = a, ev->y = (uint32_t)d;
        return true;
    case QV_INV_DESC:
        /* The type name is QEMU's; the type itself is read from the low
         * word (VT-d 6.5.2: type[3:0] = bits 3:0, type[6:4] = bits 11:9). */
        if (sscanf(s, "invalidate desc type %*s high 0x%" SCNx64 " low 0x%" SCNx64 "%n", &a, &b, &n) != 2 ||
            !qv_scan_end(s, n))
            return false;
        ev->a = a, ev->b = b, ev->y = (uint32_t)((b & 0xf) | ((b >> 9) & 7) << 4);
        return true;
    case QV_PASID_INV:
        return true; /* refused in pass 3, whatever it says */
    }
    return false;
}

/* The first number in s (hex after "0x", or decimal) that does not fit in
 * 64 bits, or NULL; *len is its length. sscanf saturates such a number to
 * 2^64 - 1 without a word. */
static const char *qv_number_too_big(const char *s, int *len)
{
    for (const char *p = s; *p;) {
        bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
        const char *d = hex ? p + 2 : p;
        size_t n = strspn(d, hex ? "0123456789abcdefABCDEF" : "0123456789");
        if (n == 0 || (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))) {
            p++;
            continue;
        }
        size_t z = 0;
        while (z + 1 < n && d[z] == '0')
            z++;
        size_t sig = n - z;
        if (hex ? sig > 16 : (sig > 20 || (sig == 20 && strncmp(d + z, "18446744073709551615", 20) > 0))) {
            *len = (int)(d + n - p);
            return p;
        }
        p = d + n;
    }
    return NULL;
}

/* Pass 1. Fills ev (in line order) and the stats' line/event counts. */
static int qv_parse(const char *open_path, const char *path, struct qv_events *evs, struct ims_qemu_vtd_stats *st,
                    char *err, size_t errlen)
{
    char why[128];
    FILE *f = ims_tr_open_input(open_path, why, sizeof why);
    if (!f)
        return ims_errf(err, errlen, "%s: %s", path, why);
    /* A log is text: a NUL among its first bytes means binary data (a
     * trace, a compressed log), which would otherwise read as "no events". */
    unsigned char head[TR_REREAD]; /* (a pipe is read again only this far: ims_tr_open_input) */
    size_t nh = fread(head, 1, sizeof head, f);
    const unsigned char *nul = memchr(head, 0, nh);
    if (ferror(f) || nul || fseek(f, 0, SEEK_SET) != 0) {
        int e = errno;
        fclose(f);
        if (nul)
            return ims_errf(err, errlen,
                            "%s: not a QEMU trace-event log: NUL byte at byte offset %zu (binary data%s)", path,
                            (size_t)(nul - head),
                            nh >= 8 && !memcmp(head, "IMSTRACE", 8) ? "; this is an iommusim trace: convert it without "
                                                                      "--from qemu-vtd"
                                                                    : "");
        return ims_errf(err, errlen, "%s: read error: %s", path, strerror(e));
    }
    char *buf = NULL;
    size_t cap = 0;
    long len;
    uint32_t line = 0;
    int ts_mode = -1; /* unknown until the first event */
    int rc = 0;
    while ((len = qv_getline(f, &buf, &cap)) >= 0) {
        line++;
        const char *s = buf, *rest = buf;
        uint64_t ts = 0;
        int p = qv_prefix(s, &ts, &rest);
        if (p == -2) {
            rc = ims_errf(err, errlen, "%s:%u: timestamp prefix: the seconds do not fit in 64-bit nanoseconds", path,
                          line);
            break;
        }
        if (p < 0) {
            rc = ims_errf(err, errlen, "%s:%u: malformed timestamp prefix (expected TID@SECONDS.MICROS:)", path, line);
            break;
        }
        /* Event name: the first word. Anything else is not ours and is skipped. */
        size_t nl = strcspn(rest, " ");
        const struct qv_evdef *def = NULL;
        for (size_t i = 0; i < sizeof qv_evdefs / sizeof qv_evdefs[0]; i++)
            if (strlen(qv_evdefs[i].name) == nl && !strncmp(rest, qv_evdefs[i].name, nl)) {
                def = &qv_evdefs[i];
                break;
            }
        if (!def)
            continue;
        if (ts_mode < 0)
            ts_mode = p;
        else if (ts_mode != p) {
            rc = ims_errf(err, errlen, "%s:%u: %s without a timestamp prefix while earlier events had one%s", path,
                         line, def->name, p ? " (the reverse, in fact)" : "");
            break;
        }
        struct qv_event ev = {.ts = ts, .line = line, .type = (uint8_t)def->type};
        const char *args = rest + nl;
        while (*args == ' ')
            args++;
        int blen = 0;
        const char *big = qv_number_too_big(args, &blen);
        if (big) {
            rc = ims_errf(err, errlen, "%s:%u: %s event: the number '%.*s' does not fit in 64 bits", path, line,
                          def->name, blen > 40 ? 40 : blen, big);
            break;
        }
        if (!qv_parse_args(def->type, args, &ev)) {
            rc = ims_errf(err, errlen, "%s:%u: malformed %s event: expected \"%s\"", path, line, def->name,
                         def->expect);
            break;
        }
        if (qv_push(evs, &ev) < 0) {
            rc = ims_errf(err, errlen, "%s:%u: out of memory", path, line);
            break;
        }
        st->events++;
    }
    if (len == -2 && rc == 0)
        rc = ims_errf(err, errlen, "%s:%u: out of memory", path, line + 1);
    if (rc == 0 && ferror(f))
        rc = ims_errf(err, errlen, "%s:%u: read error: %s", path, line + 1, strerror(errno));
    st->lines = line;
    st->timestamps = ts_mode > 0;
    free(buf);
    fclose(f);
    return rc;
}

/* ---- pass 2: order ---------------------------------------------------------- */

/* By timestamp, then by line: a stable sort, so lines of one thread (which
 * QEMU writes in order) keep their order when timestamps tie. */
static int qv_cmp(const void *pa, const void *pb)
{
    const struct qv_event *a = pa, *b = pb;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

/* ---- pass 3: records ---------------------------------------------------------- */

static int qv_err(struct qv_conv *c, const struct qv_event *ev, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        int n = snprintf(c->err, c->errlen, "%s:%u: ", c->path, ev->line);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static uint64_t qv_ts(const struct qv_conv *c, const struct qv_event *ev)
{
    return c->st->timestamps ? ev->ts - c->ts0 : 0;
}

static int qv_write(struct qv_conv *c, const struct qv_event *ev, struct ims_rec *r)
{
    r->ts = qv_ts(c, ev);
    if (ims_trace_write(c->w, r) < 0)
        return qv_err(c, ev, "writing the trace: %s", ims_trace_writer_error(c->w));
    return 0;
}

static unsigned qv_hash(uint16_t did, uint64_t iova, uint64_t size)
{
    uint64_t k = (iova >> 12) * UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)did << 40) ^ size;
    k ^= k >> 29;
    return (unsigned)(k * UINT64_C(0xbf58476d1ce4e5b9) >> 48) & (QV_BUCKETS - 1);
}

static int qv_map_find(const struct qv_conv *c, uint16_t did, uint64_t iova, uint64_t size)
{
    for (int i = c->bucket[qv_hash(did, iova, size)]; i >= 0; i = c->maps[i].next)
        if (c->maps[i].did == did && c->maps[i].iova == iova && c->maps[i].size == size)
            return i;
    return -1;
}

static int qv_map_add(struct qv_conv *c, const struct qv_event *ev, uint16_t did, uint64_t iova, uint64_t pa,
                      uint64_t size, uint8_t perm)
{
    int i = c->free_head;
    if (i >= 0) {
        c->free_head = c->maps[i].next;
    } else {
        if (c->nmaps == c->capmaps) {
            int cap = c->capmaps ? c->capmaps * 2 : 1024;
            struct qv_map *m = realloc(c->maps, (size_t)cap * sizeof *m);
            if (!m)
                return qv_err(c, ev, "out of memory");
            c->maps = m;
            c->capmaps = cap;
        }
        i = c->nmaps++;
    }
    unsigned h = qv_hash(did, iova, size);
    c->maps[i] = (struct qv_map){.iova = iova, .pa = pa, .size = size, .line = ev->line, .next = c->bucket[h],
                                 .did = did, .perm = perm, .live = true};
    c->bucket[h] = i;
    struct ims_rec r = {.kind = IMS_REC_MAP, .did = did, .iova = iova, .pa = pa, .size = size, .perm = perm};
    c->st->maps++;
    return qv_write(c, ev, &r);
}

static void qv_map_unlink(struct qv_conv *c, int i)
{
    struct qv_map *m = &c->maps[i];
    int *pp = &c->bucket[qv_hash(m->did, m->iova, m->size)];
    while (*pp != i)
        pp = &c->maps[*pp].next;
    *pp = m->next;
    m->live = false;
    m->next = c->free_head;
    c->free_head = i;
}

struct qv_victim {
    uint64_t iova;
    uint16_t did;
    int idx;
};

static int qv_victim_cmp(const void *pa, const void *pb)
{
    const struct qv_victim *a = pa, *b = pb;
    if (a->did != b->did)
        return a->did < b->did ? -1 : 1;
    return a->iova < b->iova ? -1 : a->iova > b->iova;
}

enum { QV_SCOPE_ALL, QV_SCOPE_DOMAIN, QV_SCOPE_RANGE };

/* Emits UNMAP for every derived mapping the invalidation covers (in domain,
 * then address order) and forgets them: what the guest unmapped before
 * invalidating. A superpage mapping touched by a page range goes whole. */
static int qv_unmap_scope(struct qv_conv *c, const struct qv_event *ev, int scope, uint16_t did, uint64_t lo,
                          uint64_t hi)
{
    size_t n = 0, cap = 0;
    struct qv_victim *v = NULL;
    for (int i = 0; i < c->nmaps; i++) {
        const struct qv_map *m = &c->maps[i];
        if (!m->live)
            continue;
        if (scope != QV_SCOPE_ALL && m->did != did)
            continue;
        if (scope == QV_SCOPE_RANGE && (m->iova + m->size <= lo || m->iova > hi))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct qv_victim *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                return qv_err(c, ev, "out of memory");
            }
            v = nv;
        }
        v[n++] = (struct qv_victim){.iova = m->iova, .did = m->did, .idx = i};
    }
    if (n > 1)
        qsort(v, n, sizeof *v, qv_victim_cmp);
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++) {
        const struct qv_map *m = &c->maps[v[k].idx];
        struct ims_rec r = {.kind = IMS_REC_UNMAP, .did = m->did, .iova = m->iova, .size = m->size};
        qv_map_unlink(c, v[k].idx);
        c->st->unmaps++;
        rc = qv_write(c, ev, &r);
    }
    free(v);
    return rc;
}

static void qv_hint_drop(struct qv_conv *c, int i)
{
    memmove(&c->hints[i], &c->hints[i + 1], (size_t)(c->nhints - i - 1) * sizeof c->hints[0]);
    c->nhints--;
}

static void qv_hint_add(struct qv_conv *c, uint64_t addr, uint64_t len, uint8_t dir, uint8_t src)
{
    if (len == 0 || addr + len < addr)
        return;
    if (c->nhints == QV_HINTS)
        qv_hint_drop(c, 0); /* the oldest */
    c->hints[c->nhints++] =
        (struct qv_hint){.addr = addr, .end = addr + len, .born = c->translations, .dir = dir, .src = src};
}

/* The oldest live hint covering iova, or -1. Drops hints that outlived
 * QV_HINT_LIFE translations (announced for a transfer that never came, e.g.
 * firmware DMA before the IOMMU was enabled). */
static int qv_hint_match(struct qv_conv *c, uint64_t iova)
{
    for (int i = 0; i < c->nhints;) {
        if (c->translations - c->hints[i].born > QV_HINT_LIFE) {
            qv_hint_drop(c, i);
            continue;
        }
        if (iova >= c->hints[i].addr && iova < c->hints[i].end)
            return i;
        i++;
    }
    return -1;
}

static char *qv_perm_str(uint8_t perm, char *buf)
{
    buf[0] = (perm & IMS_PERM_R) ? 'r' : '-';
    buf[1] = (perm & IMS_PERM_W) ? 'w' : '-';
    buf[2] = '\0';
    return buf;
}

/* vtd_iotlb_page_hit / _update: derive or check the mapping, then one DMA
 * record with the recorded output address. */
static int qv_translation(struct qv_conv *c, const struct qv_event *ev)
{
    uint16_t sid = (uint16_t)ev->x, did = (uint16_t)ev->y;
    uint64_t iova = ev->a, slpte = ev->b;
    const struct qv_ctx *ctx = &c->ctx[sid];
    if (!ctx->valid)
        return qv_err(c, ev, "translation for sid 0x%x before any vtd_iotlb_cc_update for it (the log must start "
                             "before the device's first DMA)",
                      sid);
    if (c->sm && ctx->did != did)
        return qv_err(c, ev,
                      "translation for sid 0x%x in domain 0x%x, but line %u (the first translation after its "
                      "context entry) had domain 0x%x: the PASID entry's domain changed with no context-cache "
                      "invalidation in the log",
                      sid, did, ctx->did_line, ctx->did);
    if (ctx->did != did)
        return qv_err(c, ev, "translation for sid 0x%x in domain 0x%x, but its context entry says domain 0x%x", sid,
                      did, ctx->did);
    if (c->sm && iova >= QV_SM_IOVA_LIMIT)
        return qv_err(c, ev,
                      "scalable-mode translation for sid 0x%x at iova 0x%" PRIx64 ": at or above 2^39, which the "
                      "converter's %d-level second level (QEMU's default aw-bits=39) cannot map",
                      sid, iova, QV_SM_LEVELS);
    uint8_t perm = (uint8_t)ims_slpte_perm(slpte); /* IMS_PERM_R/W are the entry's R/W bits */
    if (!perm)
        return qv_err(c, ev, "leaf entry 0x%" PRIx64 " grants neither read nor write", slpte);
    /* The event does not say the leaf's level. PS marks a superpage leaf;
     * QEMU's VT-d offers 2 MiB and 1 GiB ones and a 1 GiB leaf with a 1 GiB-
     * aligned output cannot be told from a 2 MiB one: such leaves are taken
     * as 2 MiB (Linux's DMA API does not build 1 GiB IOVA pages). */
    uint64_t size = ims_slpte_ps(slpte) ? QV_PAGE_2M : QV_PAGE_4K;
    uint64_t out = ims_slpte_addr(slpte);
    if (out & (size - 1))
        return qv_err(c, ev, "superpage leaf entry 0x%" PRIx64 " has an output address not 2 MiB aligned", slpte);
    uint64_t page = iova & ~(size - 1);
    uint64_t pa = out + (iova - page);
    char p1[3], p2[3];

    int i = qv_map_find(c, did, page, size);
    if (i >= 0) {
        const struct qv_map *m = &c->maps[i];
        if (m->pa != out || m->perm != perm)
            return qv_err(c, ev,
                          "sid 0x%x iova 0x%" PRIx64 " maps to 0x%" PRIx64 " (%s) but line %u mapped the page to 0x%" PRIx64
                          " (%s) and no invalidation came in between",
                          sid, iova, out, qv_perm_str(perm, p1), m->line, m->pa, qv_perm_str(m->perm, p2));
    } else {
        /* An overlapping mapping of the other size would be the same kind of
         * unannounced change. */
        if (size == QV_PAGE_4K) {
            int j = qv_map_find(c, did, iova & ~(QV_PAGE_2M - 1), QV_PAGE_2M);
            if (j >= 0)
                return qv_err(c, ev, "sid 0x%x iova 0x%" PRIx64 " is a 4 KiB page inside the 2 MiB page line %u mapped, "
                                     "with no invalidation in between",
                              sid, iova, c->maps[j].line);
        } else {
            for (uint64_t a = page; a < page + QV_PAGE_2M; a += QV_PAGE_4K) {
                int j = qv_map_find(c, did, a, QV_PAGE_4K);
                if (j >= 0)
                    return qv_err(c, ev, "sid 0x%x iova 0x%" PRIx64 " is a 2 MiB page over the 4 KiB page line %u "
                                         "mapped, with no invalidation in between",
                                  sid, iova, c->maps[j].line);
            }
        }
        if (qv_map_add(c, ev, did, page, out, size, perm) < 0)
            return -1;
    }

    /* Size and direction: a device event's, else the default, never past
     * the end of the leaf page (the next page may be unmapped or elsewhere). */
    uint64_t room = page + size - iova;
    uint64_t len = c->default_size < room ? c->default_size : room;
    uint8_t dir = QV_DIR_UNKNOWN;
    c->translations++;
    int h = qv_hint_match(c, iova);
    if (h >= 0) {
        struct qv_hint *hi = &c->hints[h];
        len = hi->end - iova < room ? hi->end - iova : room;
        dir = hi->dir;
        hi->addr = iova + len;
        if (hi->addr >= hi->end)
            qv_hint_drop(c, h);
        c->st->sized++;
    }
    /* The leaf's permissions settle the direction when they allow only one
     * (QEMU would have refused the other); RW pages take the device's word,
     * else read. */
    bool write = perm == IMS_PERM_W || (perm == IMS_PERM_RW && dir == QV_DIR_WRITE);
    struct ims_rec r = {.kind = IMS_REC_DMA, .rid = sid, .iova = iova, .size = len, .pa = pa,
                        .flags = (uint8_t)(IMS_RECF_EXPECT_PA | (write ? IMS_RECF_WRITE : 0))};
    c->st->dma++;
    return qv_write(c, ev, &r);
}

/* ATTACH with IMS_RECF_SM: the scalable-mode context entry of sid, whose
 * RID_PASID entry is a second-level one (PGTT 010b) over domain did with
 * QV_SM_LEVELS levels (docs/trace-format.md, "Scalable mode"); pa is the
 * recorded PASIDDIRPTR (informative). did is 0 when no translation of the
 * device follows the entry (faults only: they do not depend on it). */
static int qv_sm_attach(struct qv_conv *c, const struct qv_event *ev, uint16_t sid, const struct qv_ctx *ctx)
{
    uint8_t flags = IMS_RECF_SM;
    if (ctx->smflags & IMS_SMCE_DTE)
        flags |= IMS_RECF_DTE;
    if (ctx->smflags & IMS_SMCE_PRE)
        flags |= IMS_RECF_PRE;
    struct ims_rec r = {.kind = IMS_REC_ATTACH, .rid = sid, .did = ctx->did, .levels = ctx->levels,
                        .tt = IMS_TT_UNTRANSLATED, .pa = ctx->root, .pasid = ctx->rid_pasid, .flags = flags};
    return qv_write(c, ev, &r);
}

/* The first translation for sid after events[from], before the next
 * context update for sid; NULL if none. */
static const struct qv_event *qv_next_translation(const struct qv_conv *c, const struct qv_event *from, uint16_t sid)
{
    for (const struct qv_event *e = from + 1; e < c->evs + c->nevs; e++) {
        if (e->x != sid)
            continue;
        if (e->type == QV_CC_UPDATE)
            return NULL;
        if (e->type == QV_HIT || e->type == QV_UPDATE)
            return e;
    }
    return NULL;
}

/* Scalable-mode context entry (VT-d 9.4; QEMU prints its first two words:
 * high = w1, low = w0). It points at the PASID directory; requests without
 * PASID use the PASID entry of RID_PASID, whose DID and second-level table
 * QEMU does not log. The DID is in every translation event (QEMU's
 * vtd_get_domain_id reads it from that PASID entry), so it is taken from
 * the first translation for the device after the context entry. */
static int qv_sm_context(struct qv_conv *c, const struct qv_event *ev)
{
    uint16_t sid = (uint16_t)ev->x;
    uint64_t w0 = ev->b, w1 = ev->a;
    if (!(w0 & IMS_SMCE_P))
        return qv_err(c, ev, "scalable-mode context entry for sid 0x%x is not present (low 0x%" PRIx64 ")", sid, w0);
    if ((w0 & IMS_SMCE_W0_RSVD) || (w1 & IMS_SMCE_W1_RSVD))
        return qv_err(c, ev,
                      "scalable-mode context entry for sid 0x%x has reserved bits set (high 0x%" PRIx64
                      " low 0x%" PRIx64 "; VT-d 9.4: low bits 8:5 and high bits 63:21 are reserved)",
                      sid, w1, w0);
    const struct qv_event *t = qv_next_translation(c, ev, sid);
    struct qv_ctx nc = {.root = ims_sm_ptr(w0), .rid_pasid = ims_smce_rid_pasid(w1),
                        .did_line = t ? t->line : 0, .did = t ? (uint16_t)t->y : 0, .levels = QV_SM_LEVELS,
                        .smflags = (uint8_t)(w0 & (IMS_SMCE_DTE | IMS_SMCE_PASIDE | IMS_SMCE_PRE)),
                        .tt = (uint8_t)ims_smce_pdts(w0), .valid = true};
    struct qv_ctx *cur = &c->ctx[sid];
    if (cur->valid && cur->root == nc.root && cur->rid_pasid == nc.rid_pasid && cur->smflags == nc.smflags &&
        cur->tt == nc.tt && (!t || cur->did == nc.did)) {
        cur->did_line = t ? t->line : cur->did_line;
        return 0; /* reloaded after a context-cache invalidation, unchanged */
    }
    if (cur->valid) {
        struct ims_rec d = {.kind = IMS_REC_DETACH, .rid = sid};
        if (qv_write(c, ev, &d) < 0)
            return -1;
    }
    *cur = nc;
    c->st->attaches++;
    return qv_sm_attach(c, ev, sid, cur);
}

static int qv_context(struct qv_conv *c, const struct qv_event *ev)
{
    if (c->sm)
        return qv_sm_context(c, ev);
    uint16_t sid = (uint16_t)ev->x;
    const struct ims_ctx_entry ce = {.lo = ev->b, .hi = ev->a};
    if (!ims_ctx_present(&ce))
        return qv_err(c, ev, "context entry for sid 0x%x is not present (low 0x%" PRIx64 ")", sid, ce.lo);
    unsigned aw = ims_ctx_aw(&ce);
    if (aw < 1 || aw > 3)
        return qv_err(c, ev,
                      "context entry for sid 0x%x has address width code %u (expected 1..3; a scalable-mode "
                      "context entry? the log needs the vtd_reg_dmar_root event, see docs/recording.md)",
                      sid, aw);
    struct qv_ctx nc = {.root = ims_ctx_slptptr(&ce), .did = ims_ctx_did(&ce), .levels = (uint8_t)(aw + 2),
                        .tt = (uint8_t)ims_ctx_tt(&ce), .valid = true};
    struct qv_ctx *cur = &c->ctx[sid];
    if (cur->valid && cur->root == nc.root && cur->did == nc.did && cur->levels == nc.levels && cur->tt == nc.tt)
        return 0; /* reloaded after a context-cache invalidation, unchanged */
    if (cur->valid) {
        struct ims_rec d = {.kind = IMS_REC_DETACH, .rid = sid};
        if (qv_write(c, ev, &d) < 0)
            return -1;
    }
    *cur = nc;
    struct ims_rec r = {.kind = IMS_REC_ATTACH, .rid = sid, .did = nc.did, .levels = nc.levels, .tt = nc.tt,
                        .pa = nc.root};
    c->st->attaches++;
    return qv_write(c, ev, &r);
}

static int qv_fault(struct qv_conv *c, const struct qv_event *ev)
{
    /* Scalable-mode reasons (0x30 and up) are kept: the trace holds the whole
     * 8-bit field, whether or not the model produces the code. */
    if (ev->y < 1 || ev->y > IMS_REC_REASON_MAX)
        return qv_err(c, ev, "fault reason %u is not a VT-d fault reason (1..%u)", ev->y, IMS_REC_REASON_MAX);
    uint64_t room = QV_PAGE_4K - (ev->a & (QV_PAGE_4K - 1));
    struct ims_rec r = {.kind = IMS_REC_DMA, .rid = (uint16_t)ev->x, .iova = ev->a,
                        .size = c->default_size < room ? c->default_size : room, .reason = (uint8_t)ev->y,
                        .flags = (uint8_t)(IMS_RECF_EXPECT_FAULT | (ev->b ? IMS_RECF_WRITE : 0))};
    c->st->dma++;
    c->st->faults++;
    return qv_write(c, ev, &r);
}

/* vtd_inv_desc in a scalable-mode log. Context-cache, IOTLB, interrupt-
 * entry-cache and wait descriptors have their own events (above) or no
 * effect on translation; those without a record here are refused rather
 * than dropped: a PASID-cache invalidation (the guest changed a PASID entry)
 * or a device-TLB one (ATS) would make the replay differ silently. */
static int qv_sm_desc(struct qv_conv *c, const struct qv_event *ev)
{
    switch (ev->y) {
    case 1: /* context-cache */
    case 2: /* IOTLB */
    case 4: /* interrupt entry cache */
    case 5: /* invalidation wait */
        return 0;
    case 3:
    case 8:
        return qv_err(c, ev, "device-TLB invalidation descriptor (type %u, low 0x%" PRIx64 "): not converted (no ATS in "
                             "QEMU 7.2's VT-d recordings)",
                      ev->y, ev->b);
    case 6:
        return qv_err(c, ev, "PASID-based IOTLB invalidation descriptor (low 0x%" PRIx64 "): not converted", ev->b);
    case 7:
        return qv_err(c, ev,
                      "PASID-cache invalidation descriptor (low 0x%" PRIx64 "): not converted (the guest changed a "
                      "PASID entry, which QEMU 7.2 does not log)",
                      ev->b);
    default:
        return qv_err(c, ev, "invalidation descriptor of unknown type %u (low 0x%" PRIx64 ")", ev->y, ev->b);
    }
}

static int qv_event(struct qv_conv *c, const struct qv_event *ev)
{
    struct ims_rec r = {0};
    switch (ev->type) {
    case QV_HIT:
    case QV_UPDATE:
        return qv_translation(c, ev);
    case QV_CC_UPDATE:
        return qv_context(c, ev);
    case QV_INV_PAGES: {
        uint64_t span = UINT64_C(1) << (12 + ev->y);
        uint64_t lo = ev->a & ~(span - 1);
        if (qv_unmap_scope(c, ev, QV_SCOPE_RANGE, (uint16_t)ev->x, lo, lo + span - 1) < 0)
            return -1;
        r = (struct ims_rec){.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_PAGE, .did = (uint16_t)ev->x, .iova = lo,
                             .am = (uint8_t)ev->y};
        break;
    }
    case QV_INV_DOMAIN:
        if (qv_unmap_scope(c, ev, QV_SCOPE_DOMAIN, (uint16_t)ev->x, 0, 0) < 0)
            return -1;
        r = (struct ims_rec){.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_DOMAIN, .did = (uint16_t)ev->x};
        break;
    case QV_INV_GLOBAL:
        if (qv_unmap_scope(c, ev, QV_SCOPE_ALL, 0, 0, 0) < 0)
            return -1;
        r = (struct ims_rec){.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_GLOBAL};
        break;
    case QV_CC_GLOBAL:
        r = (struct ims_rec){.kind = IMS_REC_INV_CTX, .gran = IMS_INV_GLOBAL};
        break;
    case QV_CC_DOMAIN:
        r = (struct ims_rec){.kind = IMS_REC_INV_CTX, .gran = IMS_INV_DOMAIN, .did = (uint16_t)ev->x};
        break;
    case QV_CC_DEVICES:
        r = (struct ims_rec){.kind = IMS_REC_INV_CTX, .gran = IMS_INV_DEVICE, .rid = (uint16_t)ev->x,
                             .fm = (uint8_t)ev->y};
        break;
    case QV_FAULT:
        return qv_fault(c, ev);
    case QV_NVME_MAP:
        qv_hint_add(c, ev->a, ev->b, QV_DIR_UNKNOWN, QV_SRC_NVME);
        return 0;
    case QV_BLK_IO:
        /* The command's data pointers were announced just before; to_dev=1
         * means the device reads memory. */
        for (int i = 0; i < c->nhints; i++)
            if (c->hints[i].src == QV_SRC_NVME && c->hints[i].dir == QV_DIR_UNKNOWN)
                c->hints[i].dir = ev->y ? QV_DIR_READ : QV_DIR_WRITE;
        return 0;
    case QV_E1000E_RX:
        qv_hint_add(c, ev->a, ev->b, QV_DIR_WRITE, QV_SRC_E1000E);
        return 0;
    case QV_DMAR_ROOT:
        return 0; /* the mode: read before pass 3 */
    case QV_INV_DESC:
        return c->sm ? qv_sm_desc(c, ev) : 0;
    case QV_PASID_INV:
        return qv_err(c, ev,
                      "PASID-based IOTLB invalidation: not converted (the converter reads second-level "
                      "scalable-mode recordings, whose guest invalidates with domain IOTLB descriptors)");
    default:
        return 0;
    }
    c->st->invalidations++;
    return qv_write(c, ev, &r);
}

static void qv_basename(const char *path, char *out, size_t len)
{
    const char *b = strrchr(path, '/');
    snprintf(out, len, "%s", b ? b + 1 : path);
}

/* Header text fields take printable ASCII only. */
static void qv_text(char *dst, size_t len, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < len; i++)
        dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
    dst[i] = '\0';
}

int ims_qemu_vtd_convert(const char *log_path, const char *out_path, const struct ims_qemu_vtd_opts *opts,
                         struct ims_qemu_vtd_stats *stats, char *err, size_t errlen)
{
    const char *const open_path = log_path; /* "-": standard input, named as such below */
    log_path = ims_trace_input_name(log_path);
    struct ims_qemu_vtd_opts dflt;
    if (!opts) {
        ims_qemu_vtd_opts_default(&dflt);
        opts = &dflt;
    }
    struct ims_qemu_vtd_stats local;
    struct ims_qemu_vtd_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);

    struct qv_events evs = {0};
    if (qv_parse(open_path, log_path, &evs, st, err, errlen) < 0) {
        free(evs.v);
        return -1;
    }
    bool any = false;
    for (size_t i = 0; i < evs.n && !any; i++)
        any = evs.v[i].type == QV_HIT || evs.v[i].type == QV_UPDATE || evs.v[i].type == QV_FAULT;
    if (!any) {
        free(evs.v);
        return ims_errf(err, errlen,
                       "%s: no vtd_iotlb_page_hit/_update or vtd_dmar_fault events in %" PRIu64
                       " lines (was QEMU run with -trace events=... listing them?)",
                       log_path, st->lines);
    }
    if (st->timestamps)
        qsort(evs.v, evs.n, sizeof evs.v[0], qv_cmp);
    /* Mode: the root table's (vtd_reg_dmar_root ... scalable 1: RTADDR.TTM
     * = 01b, VT-d 10.4.6); a log without the event is legacy. A trace is
     * one mode as a whole: a log whose guest switches is refused. */
    bool sm = false;
    const struct qv_event *mode_ev = NULL;
    for (size_t i = 0; i < evs.n; i++) {
        const struct qv_event *ev = &evs.v[i];
        if (ev->type != QV_DMAR_ROOT)
            continue;
        if (mode_ev && (ev->y != 0) != sm) {
            ims_errf(err, errlen,
                     "%s:%u: the root table switches to %s mode (line %u set %s mode): a trace is one mode as a "
                     "whole",
                     log_path, ev->line, ev->y ? "scalable" : "legacy", mode_ev->line, sm ? "scalable" : "legacy");
            free(evs.v);
            return -1;
        }
        mode_ev = ev;
        sm = ev->y != 0;
    }

    /* Topology: one device per source id seen; bridges are not in the log. */
    struct ims_trace_hdr hdr = {.version = IMS_TRACE_VERSION};
    hdr.scalable = sm;
    uint8_t *seen = calloc(65536, 1);
    struct qv_conv c = {.path = log_path, .err = err, .errlen = errlen, .st = st, .free_head = -1, .sm = sm,
                        .evs = evs.v, .nevs = evs.n};
    c.default_size = opts->default_size ? opts->default_size : QV_DEFAULT_SIZE;
    c.bucket = malloc(QV_BUCKETS * sizeof *c.bucket);
    c.ctx = calloc(65536, sizeof *c.ctx);
    int rc = -1;
    if (!seen || !c.bucket || !c.ctx) {
        ims_errf(err, errlen, "%s: out of memory", log_path);
        goto out;
    }
    for (unsigned i = 0; i < QV_BUCKETS; i++)
        c.bucket[i] = -1;
    int ndev = 0;
    for (size_t i = 0; i < evs.n; i++) {
        const struct qv_event *ev = &evs.v[i];
        if (ev->type == QV_HIT || ev->type == QV_UPDATE || ev->type == QV_FAULT || ev->type == QV_CC_UPDATE)
            if (!seen[ev->x]++)
                ndev++;
    }
    hdr.topo.devices = calloc((size_t)ndev, sizeof *hdr.topo.devices);
    if (!hdr.topo.devices) {
        ims_errf(err, errlen, "%s: out of memory", log_path);
        goto out;
    }
    for (unsigned sid = 0; sid < 65536; sid++) {
        if (!seen[sid])
            continue;
        struct ims_device *d = &hdr.topo.devices[hdr.topo.n_devices++];
        char bdf[IMS_BDF_TEXT_MAX];
        ims_bdf_format(bdf, sizeof bdf, (uint16_t)sid);
        snprintf(d->name, sizeof d->name, "sid-%s", bdf);
        d->bdf = (uint16_t)sid;
        d->bridge = IMS_TOPO_NONE;
    }
    qv_text(hdr.creator, sizeof hdr.creator, "iommusim trace convert --from qemu-vtd");
    if (opts->source) {
        qv_text(hdr.source, sizeof hdr.source, opts->source);
    } else {
        char base[128], src[IMS_TRACE_TEXT_MAX];
        qv_basename(log_path, base, sizeof base);
        snprintf(src, sizeof src, "QEMU VT-d trace-event log %s", base);
        qv_text(hdr.source, sizeof hdr.source, src);
    }

    c.w = ims_trace_create(out_path, &hdr, err, errlen);
    if (!c.w)
        goto out;
    /* Time zero: the first IOMMU event (device events before it may be
     * firmware DMA with the IOMMU still off). */
    for (size_t i = 0; i < evs.n; i++)
        if (evs.v[i].type != QV_NVME_MAP && evs.v[i].type != QV_BLK_IO && evs.v[i].type != QV_E1000E_RX &&
            evs.v[i].type != QV_DMAR_ROOT && evs.v[i].type != QV_INV_DESC) {
            c.ts0 = evs.v[i].ts;
            break;
        }
    for (size_t i = 0; i < evs.n; i++)
        if (qv_event(&c, &evs.v[i]) < 0) {
            ims_trace_abort(c.w);
            goto out;
        }
    rc = ims_trace_commit(c.w, err, errlen);
out:
    ims_trace_hdr_free(&hdr);
    free(seen);
    free(c.bucket);
    free(c.ctx);
    free(c.maps);
    free(evs.v);
    return rc;
}
