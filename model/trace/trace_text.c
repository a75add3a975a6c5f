/* Text trace codec: one line per record or header directive. Parsing (file:line
 * errors that say what was expected and what was found) and formatting
 * (exactly the form the parser reads, so text -> binary -> text is
 * byte-identical). docs/trace-format.md is the reference for every keyword.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "iommusim/iommu.h"
#include "iommusim/tb.h"
#include "iommusim/vtd.h"
#include "trace_impl.h"

/* ---- Text formatting ---- */

/* Appends to a buffer, tracking the length snprintf would need. */
struct sbuf {
    char *p;
    size_t cap;
    size_t n;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->n < b->cap ? b->cap - b->n : 0;
    int k = vsnprintf(room ? b->p + b->n : NULL, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        b->n += (size_t)k;
}

int ims_rec_format(const struct ims_rec *r, char *buf, size_t len)
{
    struct sbuf b = {buf, len, 0};
    char bdf[IMS_BDF_TEXT_MAX];
    if (len)
        buf[0] = 0;
    const char *k = ims_rec_kind_name(r->kind);
    if (!k)
        return snprintf(buf, len, "# unknown record kind %u", r->kind);
    sb_printf(&b, "%s", k);
    if (r->kind == IMS_REC_DMA || r->ts != 0)
        sb_printf(&b, " t=%llu", (unsigned long long)r->ts);
    switch (r->kind) {
    case IMS_REC_DMA:
        ims_bdf_format(bdf, sizeof bdf, r->rid);
        sb_printf(&b, " rid=%s iova=0x%llx size=%llu %s", bdf, (unsigned long long)r->iova,
                  (unsigned long long)r->size, (r->flags & IMS_RECF_WRITE) ? "w" : "r");
        if (r->flags & IMS_RECF_PASID)
            sb_printf(&b, " pasid=%u", r->pasid);
        if (r->flags & IMS_RECF_EXPECT_PA)
            sb_printf(&b, " expect=0x%llx", (unsigned long long)r->pa);
        if (r->flags & IMS_RECF_EXPECT_FAULT)
            sb_printf(&b, " fault=0x%x", r->reason);
        if (r->flags & IMS_RECF_PRIV)
            sb_printf(&b, " priv");
        if (r->flags & IMS_RECF_EXEC)
            sb_printf(&b, " exec");
        if (r->flags & IMS_RECF_AT_TRANSLATED)
            sb_printf(&b, " translated");
        break;
    case IMS_REC_MAP: {
        const char *perm = ims_tr_perm_name(r->perm);
        sb_printf(&b, " did=%u iova=0x%llx pa=0x%llx size=0x%llx perm=%s", r->did, (unsigned long long)r->iova,
                  (unsigned long long)r->pa, (unsigned long long)r->size, perm ? perm : "?");
        break;
    }
    case IMS_REC_UNMAP:
        sb_printf(&b, " did=%u iova=0x%llx size=0x%llx", r->did, (unsigned long long)r->iova,
                  (unsigned long long)r->size);
        break;
    case IMS_REC_INV_IOTLB:
        sb_printf(&b, " %s", ims_tr_gran_name(r->gran) ? ims_tr_gran_name(r->gran) : "?");
        if (r->gran == IMS_INV_DOMAIN)
            sb_printf(&b, " did=%u", r->did);
        else if (r->gran == IMS_INV_PAGE)
            sb_printf(&b, " did=%u addr=0x%llx am=%u", r->did, (unsigned long long)r->iova, r->am);
        if (r->flags & IMS_RECF_IH)
            sb_printf(&b, " ih");
        break;
    case IMS_REC_INV_CTX:
        sb_printf(&b, " %s", ims_tr_gran_name(r->gran) ? ims_tr_gran_name(r->gran) : "?");
        if (r->gran == IMS_INV_DOMAIN) {
            sb_printf(&b, " did=%u", r->did);
        } else if (r->gran == IMS_INV_DEVICE) {
            ims_bdf_format(bdf, sizeof bdf, r->rid);
            sb_printf(&b, " did=%u sid=%s fm=%u", r->did, bdf, r->fm);
        }
        break;
    case IMS_REC_ATTACH:
        ims_bdf_format(bdf, sizeof bdf, r->rid);
        sb_printf(&b, " rid=%s did=%u levels=%u tt=%u", bdf, r->did, r->levels, r->tt);
        if (r->pa)
            sb_printf(&b, " root=0x%llx", (unsigned long long)r->pa);
        if (r->flags & IMS_RECF_SM)
            sb_printf(&b, " sm pasid=%u", r->pasid);
        if (r->flags & IMS_RECF_DTE)
            sb_printf(&b, " dte");
        if (r->flags & IMS_RECF_PRE)
            sb_printf(&b, " pre");
        break;
    case IMS_REC_VM:
        sb_printf(&b, " vm=%u levels=%u ram=0x%llx size=0x%llx", r->vm, r->levels, (unsigned long long)r->pa,
                  (unsigned long long)r->size);
        break;
    case IMS_REC_PROC:
        sb_printf(&b, " pid=%u levels=%u", r->pid, r->levels);
        if (r->vm != IMS_REC_VM_NONE)
            sb_printf(&b, " vm=%u", r->vm);
        break;
    case IMS_REC_PMAP:
        sb_printf(&b, " pid=%u va=0x%llx pa=0x%llx size=0x%llx prot=r%s%s%s", r->pid, (unsigned long long)r->iova,
                  (unsigned long long)r->pa, (unsigned long long)r->size, (r->perm & IMS_TB_SM_W) ? "w" : "",
                  (r->perm & IMS_TB_SM_X) ? "x" : "", (r->perm & IMS_TB_SM_KERNEL) ? "k" : "");
        break;
    case IMS_REC_PUNMAP:
        sb_printf(&b, " pid=%u va=0x%llx size=0x%llx", r->pid, (unsigned long long)r->iova,
                  (unsigned long long)r->size);
        break;
    case IMS_REC_BIND:
        ims_bdf_format(bdf, sizeof bdf, r->rid);
        sb_printf(&b, " rid=%s pasid=%u", bdf, r->pasid);
        if (r->flags & IMS_RECF_UNBIND)
            sb_printf(&b, " unbind");
        else if (r->flags & (IMS_RECF_SL | IMS_RECF_PT))
            sb_printf(&b, " did=%u %s", r->did, (r->flags & IMS_RECF_SL) ? "sl" : "pt");
        else
            sb_printf(&b, " pid=%u did=%u%s", r->pid, r->did, (r->flags & IMS_RECF_SRE) ? " sre" : "");
        break;
    case IMS_REC_INV_PASID: {
        const char *tn = ims_tr_pinv_target_name(r->target);
        sb_printf(&b, " %s", tn ? tn : "?");
        if (r->target == IMS_PINV_T_PASID_CACHE || r->target == IMS_PINV_T_PIOTLB) {
            const char *gn = ims_tr_pinv_gran_name(r->gran);
            sb_printf(&b, " %s", gn ? gn : "?");
            if (r->gran != IMS_PINV_GLOBAL)
                sb_printf(&b, " did=%u", r->did);
            if (r->gran == IMS_PINV_PASID || r->gran == IMS_PINV_PAGE)
                sb_printf(&b, " pasid=%u", r->pasid);
            if (r->gran == IMS_PINV_PAGE)
                sb_printf(&b, " addr=0x%llx am=%u", (unsigned long long)r->iova, r->am);
            if ((r->flags & IMS_RECF_IH) != 0)
                sb_printf(&b, " ih");
        } else {
            ims_bdf_format(bdf, sizeof bdf, r->rid);
            sb_printf(&b, " sid=%s", bdf);
            if (r->target == IMS_PINV_T_PASID_DEVTLB)
                sb_printf(&b, " pasid=%u", r->pasid);
            sb_printf(&b, " addr=0x%llx size=0x%llx", (unsigned long long)r->iova, (unsigned long long)r->size);
        }
        break;
    }
    case IMS_REC_PGRESP: {
        const char *rn = ims_tr_pgresp_name(r->resp);
        ims_bdf_format(bdf, sizeof bdf, r->rid);
        sb_printf(&b, " rid=%s", bdf);
        if (r->flags & IMS_RECF_PASID)
            sb_printf(&b, " pasid=%u", r->pasid);
        sb_printf(&b, " prg=%u resp=%s", r->prg, rn ? rn : "?");
        break;
    }
    case IMS_REC_DETACH:
        ims_bdf_format(bdf, sizeof bdf, r->rid);
        sb_printf(&b, " rid=%s", bdf);
        break;
    case IMS_REC_MARK:
        sb_printf(&b, " %.*s", IMS_REC_LABEL_MAX - 1, r->label);
        break;
    }
    return (int)b.n;
}

/* ---- Text parsing ---- */

static bool is_blank_or_comment(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    return *s == 0 || *s == '#';
}

/* Reads the next line (without the newline) into r->line; 1, 0 at EOF, -1. */
static int lerr(struct ims_trace_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int text_line(struct ims_trace_reader *r)
{
    ssize_t n = getline(&r->line, &r->line_cap, r->f);
    if (n < 0) {
        if (ferror(r->f))
            return ims_tr_rerr(r, "read error: %s", strerror(errno));
        return 0;
    }
    r->lineno++;
    while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r'))
        r->line[--n] = 0;
    const char *nul = memchr(r->line, 0, (size_t)n);
    if (nul)
        return lerr(r, "NUL byte at column %zu (a text trace holds none: binary data, or a damaged file?)",
                    (size_t)(nul - r->line) + 1);
    return 1;
}

#define TR_MAX_TOK 16

/* Splits a line into whitespace-separated tokens, stopping at '#'. */
static int tokenize(char *s, char **tok, int max)
{
    int n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == 0 || *s == '#')
            return n;
        if (n == max)
            return max + 1;
        tok[n++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (*s)
            *s++ = 0;
    }
}

static int lerr(struct ims_trace_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(r->err, sizeof r->err, "%s:%llu: ", r->path, (unsigned long long)r->lineno);
    if (n < 0 || (size_t)n >= sizeof r->err)
        n = 0;
    vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
    va_end(ap);
    r->failed = true;
    return -1;
}

/* Unsigned number: 0x-prefixed hex or decimal, whole token, <= max. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        if (v > (UINT64_MAX - d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + d;
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* bus:dev.fn in hex, e.g. 03:00.0 (an optional 0000: segment is accepted). */
static bool parse_bdf(const char *s, uint16_t *out)
{
    unsigned bus, dev, fn;
    char tail;
    if (!strncmp(s, "0000:", 5) && strlen(s) > 8)
        s += 5;
    size_t n = strlen(s);
    if (n < 6 || n > 7 || strspn(s, "0123456789abcdefABCDEF:.") != n)
        return false;
    if (sscanf(s, "%x:%x.%x%c", &bus, &dev, &fn, &tail) != 3)
        return false;
    if (bus > 0xff || dev > 0x1f || fn > 7)
        return false;
    *out = IMS_BDF(bus, dev, fn);
    return true;
}

/* One key=value argument of a text record. */
struct targ {
    const char *key;
    const char *val; /* NULL until seen */
};

static struct targ *targ_find(struct targ *a, int n, const char *key, size_t klen)
{
    for (int i = 0; i < n; i++)
        if (strlen(a[i].key) == klen && !strncmp(a[i].key, key, klen))
            return &a[i];
    return NULL;
}

static int get_num(struct ims_trace_reader *r, struct targ *a, uint64_t max, uint64_t *out)
{
    if (!parse_u64(a->val, max, out))
        return lerr(r, "%s=: expected a number 0..%llu (decimal or 0x hex), got '%s'", a->key,
                    (unsigned long long)max, a->val);
    return 0;
}

/* t=: nanoseconds, 0..TR_TS_MAX. A value that does not fit (2^64 - 1, which
 * a saturated or wrapped clock gives, and anything larger, including digits
 * that overflow 64 bits) is an error, not a silent wrap or saturation. */
static int get_ts(struct ims_trace_reader *r, struct targ *a, uint64_t *out)
{
    const char *s = a->val;
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    size_t nd = strspn(s + (hex ? 2 : 0), hex ? "0123456789abcdefABCDEF" : "0123456789");
    if (nd == 0 || s[(hex ? 2 : 0) + nd] != 0)
        return lerr(r, "t=: expected a timestamp in ns, 0..%llu (decimal or 0x hex), got '%s'",
                    (unsigned long long)TR_TS_MAX, s);
    if (!parse_u64(s, TR_TS_MAX, out))
        return lerr(r, "t=: timestamp %s does not fit: at most %llu ns (2^64 - 2)", s, (unsigned long long)TR_TS_MAX);
    return 0;
}

static int get_bdf(struct ims_trace_reader *r, struct targ *a, uint16_t *out)
{
    if (!parse_bdf(a->val, out))
        return lerr(r, "%s=: expected bus:dev.fn in hex (e.g. 03:00.0), got '%s'", a->key, a->val);
    return 0;
}

/* A bare word that sets a flag of a record kind (0 if none). */
static unsigned word_flag(unsigned kind, const char *w)
{
    static const struct {
        unsigned kind;
        const char *word;
        unsigned flag;
    } words[] = {
        {IMS_REC_DMA, "priv", IMS_RECF_PRIV},      {IMS_REC_DMA, "exec", IMS_RECF_EXEC},
        {IMS_REC_DMA, "translated", IMS_RECF_AT_TRANSLATED},
        {IMS_REC_ATTACH, "sm", IMS_RECF_SM},       {IMS_REC_ATTACH, "dte", IMS_RECF_DTE},
        {IMS_REC_ATTACH, "pre", IMS_RECF_PRE},     {IMS_REC_BIND, "sre", IMS_RECF_SRE},
        {IMS_REC_BIND, "sl", IMS_RECF_SL},         {IMS_REC_BIND, "pt", IMS_RECF_PT},
        {IMS_REC_BIND, "unbind", IMS_RECF_UNBIND}, {IMS_REC_INV_PASID, "ih", IMS_RECF_IH},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (words[i].kind == kind && !strcmp(words[i].word, w))
            return words[i].flag;
    return 0;
}

/* The record parsers' argument checks (text_record_sm, text_record). Each
 * expects the parser's locals: r (the reader), a and na (its key=value
 * arguments), kn (the kind's name) and t (set to the argument looked up).
 * TR_NEED: the key must be given; TR_HAVE: whether it was (t is it);
 * TR_FORBID: the key must not be given, why says when. #undef after
 * text_record. */
#define TR_NEED(key)                                                 \
    do {                                                             \
        t = targ_find(a, na, (key), strlen(key));                    \
        if (!t->val)                                                 \
            return lerr(r, "%s: expected %s=, got none", kn, (key)); \
    } while (0)
#define TR_HAVE(key) ((t = targ_find(a, na, (key), strlen(key)))->val != NULL)
#define TR_FORBID(key, why)                                               \
    do {                                                                  \
        if (TR_HAVE(key))                                                 \
            return lerr(r, "%s: '%s=' not allowed %s", kn, (key), (why)); \
    } while (0)

/* Parses a scalable-mode record line (kinds vm..pgresp; docs/trace-format.md,
 * "Scalable mode"): key=value arguments, flag words, and for inv-pasid the
 * target and granularity words. */
static int text_record_sm(struct ims_trace_reader *r, char **tok, int ntok, struct ims_rec *rec)
{
    const unsigned kind = rec->kind;
    const char *kn = ims_rec_kind_name(kind);
    static const char *const keys[IMS_REC_KIND_MAX + 1][9] = {
        [IMS_REC_VM] = {"t", "vm", "levels", "ram", "size", NULL},
        [IMS_REC_PROC] = {"t", "pid", "levels", "vm", NULL},
        [IMS_REC_PMAP] = {"t", "pid", "va", "pa", "size", "prot", NULL},
        [IMS_REC_PUNMAP] = {"t", "pid", "va", "size", NULL},
        [IMS_REC_BIND] = {"t", "rid", "pasid", "pid", "did", NULL},
        [IMS_REC_INV_PASID] = {"t", "did", "pasid", "addr", "am", "sid", "size", NULL},
        [IMS_REC_PGRESP] = {"t", "rid", "pasid", "prg", "resp", NULL},
    };
    struct targ a[9];
    int na = 0;
    for (; keys[kind][na]; na++) {
        a[na].key = keys[kind][na];
        a[na].val = NULL;
    }
    const char *words[2] = {NULL, NULL}; /* inv-pasid: target, granularity */
    int nw = 0;
    for (int i = 1; i < ntok; i++) {
        char *eq = strchr(tok[i], '=');
        if (eq) {
            struct targ *t = targ_find(a, na, tok[i], (size_t)(eq - tok[i]));
            if (!t) {
                *eq = 0;
                return lerr(r, "%s: unknown key '%s='", kn, tok[i]);
            }
            if (t->val)
                return lerr(r, "%s: '%s=' given twice", kn, t->key);
            t->val = eq + 1;
            continue;
        }
        const unsigned fw = word_flag(kind, tok[i]);
        if (fw) {
            if (rec->flags & fw)
                return lerr(r, "%s: '%s' given twice", kn, tok[i]);
            rec->flags |= (uint8_t)fw;
            continue;
        }
        if (kind != IMS_REC_INV_PASID || nw == 2)
            return lerr(r, "%s: expected key=value, got '%s'", kn, tok[i]);
        words[nw++] = tok[i];
    }
    uint64_t v;
    struct targ *t;
#define TR_NUM(key, max, dst)                      \
    do {                                           \
        TR_NEED(key);                              \
        if (get_num(r, t, (max), &v) < 0)          \
            return -1;                             \
        (dst) = v;                                 \
    } while (0)
    if (TR_HAVE("t") && get_ts(r, t, &rec->ts) < 0)
        return -1;
    switch (kind) {
    case IMS_REC_VM:
        TR_NUM("vm", IMS_TB_SM_VMS - 1, rec->vm);
        TR_NEED("levels");
        if (!parse_u64(t->val, UINT64_MAX, &v) || v < 3 || v > 5)
            return lerr(r, "levels=: expected 3, 4 or 5, got '%s'", t->val);
        rec->levels = (uint8_t)v;
        TR_NUM("ram", UINT64_MAX, rec->pa);
        TR_NUM("size", UINT64_MAX, rec->size);
        break;
    case IMS_REC_PROC:
        TR_NUM("pid", IMS_TB_SM_PIDS - 1, rec->pid);
        TR_NEED("levels");
        if (!parse_u64(t->val, 5, &v) || v < 4)
            return lerr(r, "levels=: expected 4 or 5, got '%s'", t->val);
        rec->levels = (uint8_t)v;
        rec->vm = IMS_REC_VM_NONE;
        if (TR_HAVE("vm"))
            TR_NUM("vm", IMS_TB_SM_VMS - 1, rec->vm);
        break;
    case IMS_REC_PMAP:
    case IMS_REC_PUNMAP:
        TR_NUM("pid", IMS_TB_SM_PIDS - 1, rec->pid);
        TR_NUM("va", UINT64_MAX, rec->iova);
        TR_NUM("size", UINT64_MAX, rec->size);
        if (kind == IMS_REC_PMAP) {
            TR_NUM("pa", UINT64_MAX, rec->pa);
            TR_NEED("prot");
            /* r, then any of w, x, k in that order */
            const char *s = t->val;
            unsigned prot = 0;
            bool ok = *s++ == 'r';
            if (ok && *s == 'w')
                prot |= IMS_TB_SM_W, s++;
            if (ok && *s == 'x')
                prot |= IMS_TB_SM_X, s++;
            if (ok && *s == 'k')
                prot |= IMS_TB_SM_KERNEL, s++;
            if (!ok || *s)
                return lerr(r, "prot=: expected r, then any of w, x, k in that order (e.g. rw, rx, rwk), got '%s'",
                            t->val);
            rec->perm = (uint8_t)prot;
        }
        break;
    case IMS_REC_BIND:
        TR_NEED("rid");
        if (get_bdf(r, t, &rec->rid) < 0)
            return -1;
        TR_NUM("pasid", TR_PASID_MAX, rec->pasid);
        if (rec->flags & IMS_RECF_UNBIND) {
            TR_FORBID("pid", "with unbind");
            TR_FORBID("did", "with unbind");
        } else {
            TR_NUM("did", UINT16_MAX, rec->did);
            if (rec->flags & (IMS_RECF_SL | IMS_RECF_PT))
                TR_FORBID("pid", "with sl or pt (the entry has no first-level table)");
            else
                TR_NUM("pid", IMS_TB_SM_PIDS - 1, rec->pid);
        }
        break;
    case IMS_REC_INV_PASID: {
        if (!words[0])
            return lerr(r, "inv-pasid: expected a target (pasid-cache, piotlb, devtlb or pasid-devtlb), got none");
        for (unsigned k = IMS_PINV_T_PASID_CACHE; k <= IMS_PINV_T_PASID_DEVTLB; k++)
            if (!strcmp(words[0], ims_tr_pinv_target_name(k)))
                rec->target = (uint8_t)k;
        if (!rec->target)
            return lerr(r, "inv-pasid: expected a target (pasid-cache, piotlb, devtlb or pasid-devtlb), got '%s'",
                        words[0]);
        const bool pc = rec->target == IMS_PINV_T_PASID_CACHE;
        if (pc || rec->target == IMS_PINV_T_PIOTLB) {
            const char *want = pc ? "global, domain or pasid" : "pasid or page";
            if (!words[1])
                return lerr(r, "inv-pasid %s: expected granularity (%s), got none", words[0], want);
            if (pc && !strcmp(words[1], "global"))
                rec->gran = IMS_PINV_GLOBAL;
            else if (pc && !strcmp(words[1], "domain"))
                rec->gran = IMS_PINV_DOMAIN;
            else if (!strcmp(words[1], "pasid"))
                rec->gran = IMS_PINV_PASID;
            else if (!pc && !strcmp(words[1], "page"))
                rec->gran = IMS_PINV_PAGE;
            else
                return lerr(r, "inv-pasid %s: expected granularity (%s), got '%s'", words[0], want, words[1]);
            if (rec->gran == IMS_PINV_GLOBAL)
                TR_FORBID("did", "with global");
            else
                TR_NUM("did", UINT16_MAX, rec->did);
            if (rec->gran == IMS_PINV_PASID || rec->gran == IMS_PINV_PAGE)
                TR_NUM("pasid", TR_PASID_MAX, rec->pasid);
            else
                TR_FORBID("pasid", "without pasid or page granularity");
            if (rec->gran == IMS_PINV_PAGE) {
                TR_NUM("addr", UINT64_MAX, rec->iova);
                TR_NUM("am", TR_AM_MAX, rec->am);
            } else {
                TR_FORBID("addr", "without page granularity");
                TR_FORBID("am", "without page granularity");
            }
            TR_FORBID("sid", "with the pasid-cache or piotlb target");
            TR_FORBID("size", "with the pasid-cache or piotlb target (am= gives the range)");
        } else {
            if (words[1])
                return lerr(r, "inv-pasid %s: expected key=value, got '%s' (device-TLB targets have no granularity)",
                            words[0], words[1]);
            TR_NEED("sid");
            if (get_bdf(r, t, &rec->rid) < 0)
                return -1;
            if (rec->target == IMS_PINV_T_PASID_DEVTLB)
                TR_NUM("pasid", TR_PASID_MAX, rec->pasid);
            else
                TR_FORBID("pasid", "with devtlb (pasid-devtlb carries one)");
            TR_NUM("addr", UINT64_MAX, rec->iova);
            TR_NUM("size", UINT64_MAX, rec->size);
            TR_FORBID("did", "with a device-TLB target");
            TR_FORBID("am", "with a device-TLB target (size= gives the range)");
        }
        break;
    }
    case IMS_REC_PGRESP:
        TR_NEED("rid");
        if (get_bdf(r, t, &rec->rid) < 0)
            return -1;
        if (TR_HAVE("pasid")) {
            TR_NUM("pasid", TR_PASID_MAX, rec->pasid);
            rec->flags |= IMS_RECF_PASID;
        }
        TR_NUM("prg", IMS_REC_PRG_MAX, rec->prg);
        TR_NEED("resp");
        if (!strcmp(t->val, "success"))
            rec->resp = IMS_PGRESP_SUCCESS;
        else if (!strcmp(t->val, "invalid"))
            rec->resp = IMS_PGRESP_INVALID;
        else if (!strcmp(t->val, "failure"))
            rec->resp = IMS_PGRESP_FAILURE;
        else
            return lerr(r, "resp=: expected success, invalid or failure, got '%s'", t->val);
        break;
    }
#undef TR_NUM
    char e[256];
    if (ims_rec_check(rec, e, sizeof e) < 0)
        return lerr(r, "%s", e);
    return 0;
}

/* Parses one record line already split into tokens. */
static int text_record(struct ims_trace_reader *r, char **tok, int ntok, struct ims_rec *rec)
{
    memset(rec, 0, sizeof *rec);
    unsigned kind = 0;
    for (unsigned k = 1; k <= IMS_REC_KIND_MAX; k++)
        if (!strcmp(tok[0], ims_rec_kind_name(k)))
            kind = k;
    if (!kind)
        return lerr(r,
                    "expected a record kind (dma, map, unmap, inv-iotlb, inv-ctx, attach, detach, mark, vm, proc, pmap, "
                    "punmap, bind, inv-pasid, pgresp), got '%s'",
                    tok[0]);
    rec->kind = (uint8_t)kind;
    if (kind > IMS_REC_MARK)
        return text_record_sm(r, tok, ntok, rec);
    const char *kn = ims_rec_kind_name(kind);

    /* Keys each kind accepts; which are required is checked below. */
    static const char *const keys[IMS_REC_KIND_MAX + 1][8] = {
        [IMS_REC_DMA] = {"t", "rid", "iova", "size", "pasid", "expect", "fault", NULL},
        [IMS_REC_MAP] = {"t", "did", "iova", "pa", "size", "perm", NULL},
        [IMS_REC_UNMAP] = {"t", "did", "iova", "size", NULL},
        [IMS_REC_INV_IOTLB] = {"t", "did", "addr", "am", NULL},
        [IMS_REC_INV_CTX] = {"t", "did", "sid", "fm", NULL},
        [IMS_REC_ATTACH] = {"t", "rid", "did", "levels", "tt", "root", "pasid", NULL},
        [IMS_REC_DETACH] = {"t", "rid", NULL},
        [IMS_REC_MARK] = {"t", NULL},
    };
    struct targ a[8];
    int na = 0;
    for (; keys[kind][na]; na++) {
        a[na].key = keys[kind][na];
        a[na].val = NULL;
    }
    const char *word = NULL; /* the one bare word: r/w, granularity, label */
    bool ih = false;
    for (int i = 1; i < ntok; i++) {
        char *eq = strchr(tok[i], '=');
        if (eq && kind != IMS_REC_MARK) {
            struct targ *t = targ_find(a, na, tok[i], (size_t)(eq - tok[i]));
            if (!t) {
                *eq = 0;
                return lerr(r, "%s: unknown key '%s='", kn, tok[i]);
            }
            if (t->val)
                return lerr(r, "%s: '%s=' given twice", kn, t->key);
            t->val = eq + 1;
            continue;
        }
        if (eq && kind == IMS_REC_MARK && !strncmp(tok[i], "t=", 2)) {
            if (a[0].val)
                return lerr(r, "%s: 't=' given twice", kn);
            a[0].val = tok[i] + 2;
            continue;
        }
        if (kind == IMS_REC_INV_IOTLB && !strcmp(tok[i], "ih")) {
            if (ih)
                return lerr(r, "%s: 'ih' given twice", kn);
            ih = true;
            continue;
        }
        const unsigned fw = word_flag(kind, tok[i]);
        if (fw) {
            if (rec->flags & fw)
                return lerr(r, "%s: '%s' given twice", kn, tok[i]);
            rec->flags |= (uint8_t)fw;
            continue;
        }
        if (word || kind == IMS_REC_MAP || kind == IMS_REC_UNMAP || kind == IMS_REC_ATTACH ||
            kind == IMS_REC_DETACH)
            return lerr(r, "%s: expected key=value, got '%s'", kn, tok[i]);
        word = tok[i];
    }

    uint64_t v;
    struct targ *t;

    if (TR_HAVE("t")) {
        if (get_ts(r, t, &rec->ts) < 0)
            return -1;
    } else if (kind == IMS_REC_DMA) {
        return lerr(r, "dma: expected t=, got none");
    }

    switch (kind) {
    case IMS_REC_DMA:
        TR_NEED("rid");
        if (get_bdf(r, t, &rec->rid) < 0)
            return -1;
        TR_NEED("iova");
        if (get_num(r, t, UINT64_MAX, &rec->iova) < 0)
            return -1;
        TR_NEED("size");
        if (get_num(r, t, UINT32_MAX, &rec->size) < 0)
            return -1;
        if (!word)
            return lerr(r, "dma: expected direction r or w, got none");
        if (!strcmp(word, "w"))
            rec->flags |= IMS_RECF_WRITE;
        else if (strcmp(word, "r"))
            return lerr(r, "dma: expected direction r or w, got '%s'", word);
        if (TR_HAVE("pasid")) {
            if (get_num(r, t, TR_PASID_MAX, &v) < 0)
                return -1;
            rec->pasid = (uint32_t)v;
            rec->flags |= IMS_RECF_PASID;
        }
        if (TR_HAVE("expect")) {
            if (get_num(r, t, UINT64_MAX, &rec->pa) < 0)
                return -1;
            rec->flags |= IMS_RECF_EXPECT_PA;
        }
        if (TR_HAVE("fault")) {
            if (rec->flags & IMS_RECF_EXPECT_PA)
                return lerr(r, "dma: expected either expect= or fault=, got both");
            if (!parse_u64(t->val, IMS_REC_REASON_MAX, &v) || v == 0)
                return lerr(r, "fault=: expected a VT-d fault reason 1..%u, got '%s'", IMS_REC_REASON_MAX, t->val);
            rec->reason = (uint8_t)v;
            rec->flags |= IMS_RECF_EXPECT_FAULT;
        }
        break;
    case IMS_REC_MAP:
    case IMS_REC_UNMAP:
        TR_NEED("did");
        if (get_num(r, t, UINT16_MAX, &v) < 0)
            return -1;
        rec->did = (uint16_t)v;
        TR_NEED("iova");
        if (get_num(r, t, UINT64_MAX, &rec->iova) < 0)
            return -1;
        TR_NEED("size");
        if (get_num(r, t, UINT64_MAX, &rec->size) < 0)
            return -1;
        if (kind == IMS_REC_MAP) {
            TR_NEED("pa");
            if (get_num(r, t, UINT64_MAX, &rec->pa) < 0)
                return -1;
            TR_NEED("perm");
            if (!strcmp(t->val, "r"))
                rec->perm = IMS_PERM_R;
            else if (!strcmp(t->val, "w"))
                rec->perm = IMS_PERM_W;
            else if (!strcmp(t->val, "rw"))
                rec->perm = IMS_PERM_RW;
            else
                return lerr(r, "perm=: expected r, w or rw, got '%s'", t->val);
        }
        break;
    case IMS_REC_INV_IOTLB:
    case IMS_REC_INV_CTX: {
        const bool io = kind == IMS_REC_INV_IOTLB;
        if (!word)
            return lerr(r, "%s: expected granularity (%s), got none", kn,
                        io ? "global, domain or page" : "global, domain or device");
        if (!strcmp(word, "global"))
            rec->gran = IMS_INV_GLOBAL;
        else if (!strcmp(word, "domain"))
            rec->gran = IMS_INV_DOMAIN;
        else if (io && !strcmp(word, "page"))
            rec->gran = IMS_INV_PAGE;
        else if (!io && !strcmp(word, "device"))
            rec->gran = IMS_INV_DEVICE;
        else
            return lerr(r, "%s: expected granularity (%s), got '%s'", kn,
                        io ? "global, domain or page" : "global, domain or device", word);
        if (rec->gran == IMS_INV_GLOBAL) {
            TR_FORBID("did", "with global");
        } else {
            TR_NEED("did");
            if (get_num(r, t, UINT16_MAX, &v) < 0)
                return -1;
            rec->did = (uint16_t)v;
        }
        if (io) {
            if (rec->gran == IMS_INV_PAGE) {
                TR_NEED("addr");
                if (get_num(r, t, UINT64_MAX, &rec->iova) < 0)
                    return -1;
                TR_NEED("am");
                if (get_num(r, t, TR_AM_MAX, &v) < 0)
                    return -1;
                rec->am = (uint8_t)v;
            } else {
                TR_FORBID("addr", "without page granularity");
                TR_FORBID("am", "without page granularity");
            }
            if (ih)
                rec->flags |= IMS_RECF_IH;
        } else if (rec->gran == IMS_INV_DEVICE) {
            TR_NEED("sid");
            if (get_bdf(r, t, &rec->rid) < 0)
                return -1;
            TR_NEED("fm");
            if (get_num(r, t, 3, &v) < 0)
                return -1;
            rec->fm = (uint8_t)v;
        } else {
            TR_FORBID("sid", "without device granularity");
            TR_FORBID("fm", "without device granularity");
        }
        break;
    }
    case IMS_REC_ATTACH:
        TR_NEED("rid");
        if (get_bdf(r, t, &rec->rid) < 0)
            return -1;
        TR_NEED("did");
        if (get_num(r, t, UINT16_MAX, &v) < 0)
            return -1;
        rec->did = (uint16_t)v;
        TR_NEED("levels");
        if (!parse_u64(t->val, 5, &v) || v < 3)
            return lerr(r, "levels=: expected 3, 4 or 5, got '%s'", t->val);
        rec->levels = (uint8_t)v;
        TR_NEED("tt");
        if (get_num(r, t, 3, &v) < 0)
            return -1;
        rec->tt = (uint8_t)v;
        if (TR_HAVE("root") && get_num(r, t, UINT64_MAX, &rec->pa) < 0)
            return -1;
        if (rec->flags & IMS_RECF_SM) {
            uint64_t rid_pasid = 0; /* RID_PASID: 0 unless given */
            if (TR_HAVE("pasid") && get_num(r, t, TR_PASID_MAX, &rid_pasid) < 0)
                return -1;
            rec->pasid = (uint32_t)rid_pasid;
        } else {
            TR_FORBID("pasid", "without sm (a legacy-mode context entry has no RID_PASID)");
        }
        break;
    case IMS_REC_DETACH:
        TR_NEED("rid");
        if (get_bdf(r, t, &rec->rid) < 0)
            return -1;
        break;
    case IMS_REC_MARK:
        if (!word)
            return lerr(r, "mark: expected a label, got none");
        if (strlen(word) >= IMS_REC_LABEL_MAX)
            return lerr(r, "mark: label '%s' longer than %d characters", word, IMS_REC_LABEL_MAX - 1);
        strcpy(rec->label, word);
        break;
    }
#undef TR_NEED
#undef TR_HAVE
#undef TR_FORBID
    char e[256];
    if (ims_rec_check(rec, e, sizeof e) < 0)
        return lerr(r, "%s", e);
    return 0;
}

/* Parses `key=value` arguments of a header directive into a small table. */
static int hdr_kv(struct ims_trace_reader *r, char **tok, int ntok, const char *what, struct targ *a, int na)
{
    for (int i = 2; i < ntok; i++) {
        char *eq = strchr(tok[i], '=');
        if (!eq)
            return lerr(r, "%s: expected key=value, got '%s'", what, tok[i]);
        struct targ *t = targ_find(a, na, tok[i], (size_t)(eq - tok[i]));
        if (!t) {
            *eq = 0;
            return lerr(r, "%s: unknown key '%s='", what, tok[i]);
        }
        if (t->val)
            return lerr(r, "%s: '%s=' given twice", what, t->key);
        t->val = eq + 1;
    }
    for (int i = 0; i < na; i++)
        if (!a[i].val)
            return lerr(r, "%s: expected %s=, got none", what, a[i].key);
    return 0;
}

/* Rest of a directive line after the keyword, trimmed. */
static const char *rest_of(const char *line, const char *kw)
{
    const char *s = line;
    while (*s == ' ' || *s == '\t')
        s++;
    s += strlen(kw);
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* A QEMU trace-event line ("TID@SECONDS.MICROS:event ..." or a vtd_ event)
 * given as a text trace: worth saying so. */
static bool looks_qemu(const char *s)
{
    if (strstr(s, "vtd_"))
        return true;
    size_t a = strspn(s, "0123456789");
    if (!a || s[a] != '@')
        return false;
    s += a + 1;
    size_t b = strspn(s, "0123456789");
    return b && s[b] == '.' && strspn(s + b + 1, "0123456789") && strchr(s, ':');
}

int ims_tr_text_read_header(struct ims_trace_reader *r)
{
    bool have_version = false;
    bool have_mode = false;
    char e[256];
    struct ims_topo *topo = &r->hdr.topo;
    int cap_b = 0, cap_d = 0;
    for (;;) {
        int rc = text_line(r);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            if (!have_version)
                return lerr(r, "expected 'version %d' before the end of the file, got nothing", IMS_TRACE_TEXT_VERSION);
            return 0;
        }
        if (is_blank_or_comment(r->line))
            continue;
        char *copy = strdup(r->line);
        if (!copy)
            return ims_tr_rerr(r, "out of memory");
        char *tok[TR_MAX_TOK];
        int ntok = tokenize(copy, tok, TR_MAX_TOK);
        if (ntok > TR_MAX_TOK && strcmp(tok[0], "creator") && strcmp(tok[0], "source")) {
            free(copy);
            return lerr(r, "too many fields (at most %d)", TR_MAX_TOK);
        }
        int ret = 0;
        if (!have_version) {
            uint64_t v;
            if (strcmp(tok[0], "version") || ntok != 2 || !parse_u64(tok[1], UINT32_MAX, &v))
                ret = lerr(r, "expected 'version %d' as the first line of a text trace, got '%.200s'%s",
                           IMS_TRACE_TEXT_VERSION, r->line,
                           looks_qemu(r->line) ? " (a QEMU trace-event log? convert it: iommusim trace convert "
                                                 "--from qemu-vtd LOG OUT.itr)"
                                               : "");
            else if (v != IMS_TRACE_TEXT_VERSION)
                ret = lerr(r, "unknown trace version %llu (this reader knows version %d)", (unsigned long long)v,
                           IMS_TRACE_TEXT_VERSION);
            else
                r->hdr.version = (uint32_t)v;
            have_version = true;
        } else if (!strcmp(tok[0], "version")) {
            ret = lerr(r, "'version' given twice");
        } else if (!strcmp(tok[0], "mode")) {
            if (have_mode)
                ret = lerr(r, "'mode' given twice");
            else if (ntok == 2 && !strcmp(tok[1], "scalable"))
                r->hdr.scalable = true;
            else if (!(ntok == 2 && !strcmp(tok[1], "legacy")))
                ret = lerr(r, "mode: expected 'mode scalable' or 'mode legacy', got '%.200s'", r->line);
            have_mode = true;
        } else if (!strcmp(tok[0], "creator") || !strcmp(tok[0], "source")) {
            const char *val = rest_of(r->line, tok[0]);
            char *dst = tok[0][0] == 'c' ? r->hdr.creator : r->hdr.source;
            if (strlen(val) >= IMS_TRACE_TEXT_MAX)
                ret = lerr(r, "%s: longer than %d characters", tok[0], IMS_TRACE_TEXT_MAX - 1);
            else if (ims_tr_hdr_check_text(tok[0], val, e, sizeof e) < 0)
                ret = lerr(r, "%s", e);
            else
                strcpy(dst, val);
        } else if (!strcmp(tok[0], "bridge") || !strcmp(tok[0], "device")) {
            const bool br = tok[0][0] == 'b';
            if (ntok < 2 || strchr(tok[1], '=')) {
                ret = lerr(r, "%s: expected a name, got '%s'", tok[0], ntok < 2 ? "" : tok[1]);
            } else if (strlen(tok[1]) >= IMS_TOPO_NAME_MAX) {
                ret = lerr(r, "%s: name '%s' longer than %d characters", tok[0], tok[1], IMS_TOPO_NAME_MAX - 1);
            } else if (br) {
                struct targ a[4] = {{"bdf", NULL}, {"secondary", NULL}, {"kind", NULL}, {"parent", NULL}};
                struct ims_bridge b;
                memset(&b, 0, sizeof b);
                strcpy(b.name, tok[1]);
                uint64_t v;
                if ((ret = hdr_kv(r, tok, ntok, "bridge", a, 4)) == 0) {
                    if (!parse_bdf(a[0].val, &b.bdf))
                        ret = lerr(r, "bridge: bdf=: expected bus:dev.fn in hex, got '%s'", a[0].val);
                    else if (!parse_u64(a[1].val, 255, &v))
                        ret = lerr(r, "bridge: secondary=: expected a bus number 0..255, got '%s'", a[1].val);
                    else if ((b.secondary_bus = (uint8_t)v, 0)) {
                    } else if (!strcmp(a[2].val, "pcie-to-pci"))
                        b.kind = IMS_BRIDGE_PCIE_TO_PCI;
                    else if (!strcmp(a[2].val, "pci-to-pci"))
                        b.kind = IMS_BRIDGE_PCI_TO_PCI;
                    else
                        ret = lerr(r, "bridge: kind=: expected pcie-to-pci or pci-to-pci, got '%s'", a[2].val);
                }
                if (!ret) {
                    b.parent = IMS_TOPO_NONE;
                    if (strcmp(a[3].val, "-")) {
                        b.parent = ims_tr_names_find(&r->bnames, topo->bridges, sizeof *topo->bridges, a[3].val);
                        if (b.parent < 0)
                            ret = lerr(r, "bridge: parent=: expected an earlier bridge's name or -, got '%s'",
                                       a[3].val);
                    }
                }
                if (!ret && topo->n_bridges == TR_TOPO_MAX)
                    ret = lerr(r, "bridge: more than %d bridges", TR_TOPO_MAX);
                if (!ret) {
                    if (topo->n_bridges == cap_b) {
                        cap_b = cap_b ? 2 * cap_b : 8;
                        void *nb = realloc(topo->bridges, sizeof *topo->bridges * (size_t)cap_b);
                        if (!nb) {
                            free(copy);
                            return ims_tr_rerr(r, "out of memory");
                        }
                        topo->bridges = nb;
                    }
                    topo->bridges[topo->n_bridges++] = b;
                    if (ims_tr_hdr_check_bridge(topo, topo->n_bridges - 1, &r->bnames, e, sizeof e) < 0)
                        ret = lerr(r, "%s", e);
                }
            } else {
                struct targ a[2] = {{"bdf", NULL}, {"bridge", NULL}};
                struct ims_device d;
                memset(&d, 0, sizeof d);
                strcpy(d.name, tok[1]);
                if ((ret = hdr_kv(r, tok, ntok, "device", a, 2)) == 0) {
                    if (!parse_bdf(a[0].val, &d.bdf))
                        ret = lerr(r, "device: bdf=: expected bus:dev.fn in hex, got '%s'", a[0].val);
                }
                if (!ret) {
                    d.bridge = IMS_TOPO_NONE;
                    if (strcmp(a[1].val, "-")) {
                        d.bridge = ims_tr_names_find(&r->bnames, topo->bridges, sizeof *topo->bridges, a[1].val);
                        if (d.bridge < 0)
                            ret = lerr(r, "device: bridge=: expected a bridge's name or -, got '%s'", a[1].val);
                    }
                }
                if (!ret && topo->n_devices == TR_TOPO_MAX)
                    ret = lerr(r, "device: more than %d devices", TR_TOPO_MAX);
                if (!ret) {
                    if (topo->n_devices == cap_d) {
                        cap_d = cap_d ? 2 * cap_d : 8;
                        void *nd = realloc(topo->devices, sizeof *topo->devices * (size_t)cap_d);
                        if (!nd) {
                            free(copy);
                            return ims_tr_rerr(r, "out of memory");
                        }
                        topo->devices = nd;
                    }
                    topo->devices[topo->n_devices++] = d;
                    if (ims_tr_hdr_check_device(topo, topo->n_devices - 1, &r->dnames, e, sizeof e) < 0)
                        ret = lerr(r, "%s", e);
                }
            }
        } else {
            /* First record: the header is complete; keep the line for next(). */
            free(copy);
            r->peek_line = strdup(r->line);
            if (!r->peek_line)
                return ims_tr_rerr(r, "out of memory");
            return 0;
        }
        free(copy);
        if (ret < 0)
            return -1;
    }
}

static int text_next(struct ims_trace_reader *r, struct ims_rec *rec)
{
    for (;;) {
        if (r->peek_line) {
            size_t n = strlen(r->peek_line);
            if (n + 1 > r->line_cap) {
                char *nl = realloc(r->line, n + 1);
                if (!nl)
                    return ims_tr_rerr(r, "out of memory");
                r->line = nl;
                r->line_cap = n + 1;
            }
            memcpy(r->line, r->peek_line, n + 1);
            free(r->peek_line);
            r->peek_line = NULL;
        } else {
            int rc = text_line(r);
            if (rc <= 0)
                return rc;
        }
        if (is_blank_or_comment(r->line))
            continue;
        char *tok[TR_MAX_TOK];
        int ntok = tokenize(r->line, tok, TR_MAX_TOK);
        if (ntok > TR_MAX_TOK)
            return lerr(r, "too many fields (at most %d)", TR_MAX_TOK);
        if (!strcmp(tok[0], "version") || !strcmp(tok[0], "creator") || !strcmp(tok[0], "source") ||
            !strcmp(tok[0], "bridge") || !strcmp(tok[0], "device") || !strcmp(tok[0], "mode"))
            return lerr(r, "header directive '%s' after the first record (the header comes first)", tok[0]);
        if (text_record(r, tok, ntok, rec) < 0)
            return -1;
        r->index++;
        return 1;
    }
}

long ims_tr_text_read(struct ims_trace_reader *r, struct ims_rec *recs, size_t max)
{
    size_t n = 0;
    for (; n < max; n++) {
        int rc = text_next(r, &recs[n]);
        if (rc < 0) {
            if (n == 0)
                return -1;
            r->pending = true;
            return (long)n;
        }
        if (rc == 0)
            break;
    }
    return (long)n;
}

/* ---- Text writing ---- */

int ims_tr_text_write_header(struct ims_trace_writer *w, const struct ims_trace_hdr *h)
{
    const struct ims_topo *t = &h->topo;
    char bdf[IMS_BDF_TEXT_MAX];
    fprintf(w->f, "version %d\n", IMS_TRACE_TEXT_VERSION);
    if (h->scalable)
        fprintf(w->f, "mode scalable\n");
    if (h->creator[0])
        fprintf(w->f, "creator %s\n", h->creator);
    if (h->source[0])
        fprintf(w->f, "source %s\n", h->source);
    for (int i = 0; i < t->n_bridges; i++) {
        const struct ims_bridge *b = &t->bridges[i];
        ims_bdf_format(bdf, sizeof bdf, b->bdf);
        fprintf(w->f, "bridge %s bdf=%s secondary=%u kind=%s parent=%s\n", b->name, bdf, b->secondary_bus,
                ims_tr_bridge_kind_name(b->kind), b->parent == IMS_TOPO_NONE ? "-" : t->bridges[b->parent].name);
    }
    for (int i = 0; i < t->n_devices; i++) {
        const struct ims_device *d = &t->devices[i];
        ims_bdf_format(bdf, sizeof bdf, d->bdf);
        fprintf(w->f, "device %s bdf=%s bridge=%s\n", d->name, bdf,
                d->bridge == IMS_TOPO_NONE ? "-" : t->bridges[d->bridge].name);
    }
    if (ferror(w->f))
        return ims_tr_werr(w, "write error: %s", strerror(errno));
    return 0;
}

int ims_tr_text_write_rec(struct ims_trace_writer *w, const struct ims_rec *rec)
{
    char line[256];
    int n = ims_rec_format(rec, line, sizeof line);
    if (n < 0 || (size_t)n >= sizeof line)
        return ims_tr_werr(w, "record %llu: text form too long", (unsigned long long)w->index);
    line[n] = '\n';
    if (fwrite(line, 1, (size_t)n + 1, w->f) != (size_t)n + 1)
        return ims_tr_werr(w, "write error: %s", strerror(errno));
    return 0;
}
