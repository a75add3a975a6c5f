/* `iommusim sweep`: the plan. --vary values and ranges, --points files, the
 * grid in its documented order, the checks every point passes before any
 * runs, DIR/sweep.json (written and read back), and whether a point's JSON
 * is already its result (resuming). */
#define _GNU_SOURCE

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "iommusim/trace.h"
#include "sweep.h"

/* ---- small helpers ---- */

static void oom(void)
{
    fputs("iommusim sweep: out of memory\n", stderr);
    abort();
}

void *sw_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *sw_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *sw_xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        oom();
    return d;
}

void sw_buf_put(struct sw_buf *b, const char *s)
{
    const size_t l = strlen(s);
    if (b->n + l + 1 > b->cap) {
        b->cap = (b->n + l + 1) * 2;
        b->s = sw_xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, l + 1);
    b->n += l;
}

void sw_buf_printf(struct sw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    const int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        oom();
    sw_buf_put(b, s);
    free(s);
}

void sw_buf_json_str(struct sw_buf *b, const char *s)
{
    sw_buf_put(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            sw_buf_printf(b, "\\%c", *c);
        else if (*c < 0x20)
            sw_buf_printf(b, "\\u%04x", *c);
        else {
            const char one[2] = {(char)*c, 0};
            sw_buf_put(b, one);
        }
    }
    sw_buf_put(b, "\"");
}

void sw_buf_free(struct sw_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->n = b->cap = 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r' || s[l - 1] == '\n'))
        s[--l] = '\0';
    return s;
}

static void push_str(char ***v, size_t *n, const char *s)
{
    *v = sw_xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = sw_xstrdup(s);
}

/* ---- --vary KEY=LIST ---- */

/* A decimal number of at most 19 digits (no sign, no suffix). */
static bool num(const char *s, size_t len, uint64_t *v)
{
    if (len == 0 || len > 19)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *v = x;
    return true;
}

/* One item of a list: a value, or a range A..B (step 1), A..B:+K
 * (arithmetic) or A..B:xK (geometric), appended to v->vals. */
static int vary_item(const char *arg, const char *item, struct sw_vary *v)
{
    const char *dots = strstr(item, "..");
    if (!dots) {
        push_str(&v->vals, &v->n, item);
        return 0;
    }
    const char *colon = strchr(dots + 2, ':');
    const size_t blen = colon ? (size_t)(colon - dots - 2) : strlen(dots + 2);
    uint64_t a, b, k = 1;
    bool geo = false;
    if (!num(item, (size_t)(dots - item), &a) || !num(dots + 2, blen, &b)) {
        fprintf(stderr,
                "iommusim sweep: --vary %s: range '%s': expected FIRST..LAST[:+STEP|:xFACTOR] with decimal numbers\n",
                arg, item);
        return -1;
    }
    if (colon) {
        const char *st = colon + 1;
        geo = *st == 'x';
        if ((*st != 'x' && *st != '+') || !num(st + 1, strlen(st + 1), &k)) {
            fprintf(stderr, "iommusim sweep: --vary %s: range '%s': the step after ':' must be +N or xN (decimal N)\n",
                    arg, item);
            return -1;
        }
    }
    if (a > b) {
        fprintf(stderr, "iommusim sweep: --vary %s: range '%s': FIRST %" PRIu64 " is above LAST %" PRIu64 "\n", arg,
                item, a, b);
        return -1;
    }
    if (geo && (k < 2 || a == 0)) {
        fprintf(stderr, "iommusim sweep: --vary %s: range '%s': a geometric range needs FIRST >= 1 and a factor >= 2\n",
                arg, item);
        return -1;
    }
    if (!geo && k == 0) {
        fprintf(stderr, "iommusim sweep: --vary %s: range '%s': the step must be at least 1\n", arg, item);
        return -1;
    }
    for (uint64_t x = a;;) {
        if (v->n >= IMS_SWEEP_MAX_VALUES) {
            fprintf(stderr, "iommusim sweep: --vary %s: more than %u values\n", arg, IMS_SWEEP_MAX_VALUES);
            return -1;
        }
        char t[24];
        snprintf(t, sizeof t, "%" PRIu64, x);
        push_str(&v->vals, &v->n, t);
        if (geo ? x > b / k : b - x < k) /* the next value would pass LAST (or overflow) */
            break;
        x = geo ? x * k : x + k;
    }
    return 0;
}

/* Checks key=value alone against the key table (known key, parsable value). */
static int check_kv(const char *key, const char *val, char *err, size_t len)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    return ims_sim_cfg_set(&c, key, val, err, len);
}

int sw_vary_parse(const char *arg, struct sw_vary *v)
{
    memset(v, 0, sizeof *v);
    v->arg = sw_xstrdup(arg);
    char *copy = sw_xstrdup(arg);
    char *eq = strchr(copy, '=');
    int rc = -1;
    if (!eq) {
        fprintf(stderr, "iommusim sweep: --vary %s: expected key=v1,v2,... or key=FIRST..LAST[:+STEP|:xFACTOR]\n", arg);
        goto out;
    }
    *eq = '\0';
    const char *key = trim(copy);
    if (!*key) {
        fprintf(stderr, "iommusim sweep: --vary %s: no key before '='\n", arg);
        goto out;
    }
    v->key = sw_xstrdup(key);
    char *list = trim(eq + 1);
    if (!*list) {
        fprintf(stderr, "iommusim sweep: --vary %s: no values after '='\n", arg);
        goto out;
    }
    for (char *item = list, *next;; item = next + 1) {
        next = strchr(item, ',');
        if (next)
            *next = '\0';
        item = trim(item);
        if (!*item) {
            fprintf(stderr, "iommusim sweep: --vary %s: an empty value in the list\n", arg);
            goto out;
        }
        if (vary_item(arg, item, v))
            goto out;
        if (!next)
            break;
    }
    for (size_t i = 0; i < v->n; i++) {
        char err[512];
        if (check_kv(v->key, v->vals[i], err, sizeof err)) {
            fprintf(stderr, "iommusim sweep: --vary %s: %s\n", arg, err);
            goto out;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(v->vals[i], v->vals[j])) {
                fprintf(stderr, "iommusim sweep: --vary %s: value %s given twice\n", arg, v->vals[i]);
                goto out;
            }
    }
    rc = 0;
out:
    free(copy);
    return rc;
}

/* ---- --points FILE ---- */

static struct sw_vary *vary_of(struct sw_plan *p, const char *key)
{
    for (size_t i = 0; i < p->nvary; i++)
        if (!strcmp(p->vary[i].key, key))
            return &p->vary[i];
    return NULL;
}

int sw_points_file(const char *path, struct sw_plan *p)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "iommusim sweep: --points %s: is a directory\n", path);
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "iommusim sweep: --points %s: cannot open: %s\n", path, strerror(errno));
        return -1;
    }
    p->points_file = sw_xstrdup(path);
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        struct sw_point t = {.line = lineno};
        for (char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save); tok && rc == 0;
             tok = strtok_r(NULL, " \t\r\n", &save)) {
            char *eq = strchr(tok, '=');
            char err[512];
            if (!eq || eq == tok) {
                fprintf(stderr, "iommusim sweep: %s:%u: '%s': expected key=value\n", path, lineno, tok);
                rc = -1;
                break;
            }
            *eq = '\0';
            if (check_kv(tok, eq + 1, err, sizeof err)) {
                fprintf(stderr, "iommusim sweep: %s:%u: %s\n", path, lineno, err);
                rc = -1;
                break;
            }
            for (size_t k = 0; k < t.nkv; k++)
                if (!strncmp(t.kv[k], tok, strlen(tok)) && t.kv[k][strlen(tok)] == '=') {
                    fprintf(stderr, "iommusim sweep: %s:%u: key %s given twice\n", path, lineno, tok);
                    rc = -1;
                }
            if (rc)
                break;
            struct sw_vary *v = vary_of(p, tok);
            if (!v) {
                p->vary = sw_xrealloc(p->vary, (p->nvary + 1) * sizeof *p->vary);
                v = &p->vary[p->nvary++];
                memset(v, 0, sizeof *v);
                v->key = sw_xstrdup(tok);
                v->arg = sw_xstrdup(tok);
            }
            bool seen = false;
            for (size_t k = 0; k < v->n; k++)
                seen = seen || !strcmp(v->vals[k], eq + 1);
            if (!seen)
                push_str(&v->vals, &v->n, eq + 1);
            *eq = '=';
            push_str(&t.kv, &t.nkv, tok);
        }
        if (rc == 0 && t.nkv) {
            if (p->ntmpl >= IMS_SWEEP_MAX_POINTS) {
                fprintf(stderr, "iommusim sweep: %s:%u: more than %u points\n", path, lineno, IMS_SWEEP_MAX_POINTS);
                rc = -1;
            }
            p->tmpl = sw_xrealloc(p->tmpl, (p->ntmpl + 1) * sizeof *p->tmpl);
            p->tmpl[p->ntmpl++] = t;
        } else {
            for (size_t k = 0; k < t.nkv; k++)
                free(t.kv[k]);
            free(t.kv);
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "iommusim sweep: --points %s: read error\n", path);
        rc = -1;
    }
    free(line);
    fclose(f);
    if (rc == 0 && p->ntmpl == 0) {
        fprintf(stderr, "iommusim sweep: --points %s: no points (one per line: key=value key=value ...)\n", path);
        rc = -1;
    }
    return rc;
}

/* ---- the grid ---- */

int sw_plan_grid(struct sw_plan *p)
{
    if (!p->points_file) {
        /* The cartesian product of the --vary lists, the first --vary
         * varying slowest (nested loops in --vary order). */
        size_t n = 1;
        for (size_t k = 0; k < p->nvary; k++) {
            if (n > IMS_SWEEP_MAX_POINTS / p->vary[k].n) {
                fprintf(stderr, "iommusim sweep: the --vary lists make more than %u points\n", IMS_SWEEP_MAX_POINTS);
                return -1;
            }
            n *= p->vary[k].n;
        }
        p->tmpl = sw_xmalloc(n * sizeof *p->tmpl);
        p->ntmpl = n;
        for (size_t i = 0; i < n; i++) {
            struct sw_point *t = &p->tmpl[i];
            memset(t, 0, sizeof *t);
            t->kv = sw_xmalloc((p->nvary ? p->nvary : 1) * sizeof *t->kv);
            t->nkv = p->nvary;
            size_t idx = i;
            for (size_t k = p->nvary; k-- > 0;) {
                const struct sw_vary *v = &p->vary[k];
                char *kv = NULL;
                if (asprintf(&kv, "%s=%s", v->key, v->vals[idx % v->n]) < 0)
                    oom();
                t->kv[k] = kv;
                idx /= v->n;
            }
        }
    }
    const size_t tc = p->ntraces * p->nconfigs;
    if (p->ntmpl > IMS_SWEEP_MAX_POINTS / tc) {
        fprintf(stderr, "iommusim sweep: %zu traces x %zu configurations x %zu points: more than %u points\n",
                p->ntraces, p->nconfigs, p->ntmpl, IMS_SWEEP_MAX_POINTS);
        return -1;
    }
    p->npts = tc * p->ntmpl;
    p->pts = sw_xmalloc(p->npts * sizeof *p->pts);
    size_t i = 0;
    for (size_t t = 0; t < p->ntraces; t++)
        for (size_t c = 0; c < p->nconfigs; c++)
            for (size_t m = 0; m < p->ntmpl; m++, i++) {
                struct sw_point *pt = &p->pts[i];
                *pt = p->tmpl[m];
                pt->trace = t;
                pt->config = c;
                pt->kv = sw_xmalloc((pt->nkv ? pt->nkv : 1) * sizeof *pt->kv);
                for (size_t k = 0; k < pt->nkv; k++)
                    pt->kv[k] = sw_xstrdup(p->tmpl[m].kv[k]);
            }
    p->idw = 4;
    for (size_t x = p->npts ? p->npts - 1 : 0; x >= 10000; x /= 10)
        p->idw++;
    return 0;
}

void sw_point_id(const struct sw_plan *p, size_t i, char *buf, size_t len)
{
    snprintf(buf, len, "%0*zu", p->idw, i);
}

void sw_point_json_rel(const struct sw_plan *p, size_t i, char *buf, size_t len)
{
    char id[32];
    sw_point_id(p, i, id, sizeof id);
    snprintf(buf, len, "points/%s.json", id);
}

void sw_point_desc(const struct sw_plan *p, size_t i, struct sw_buf *b)
{
    const struct sw_point *pt = &p->pts[i];
    sw_buf_printf(b, "%s %s", p->traces[pt->trace], p->configs[pt->config]);
    for (size_t k = 0; k < pt->nkv; k++)
        sw_buf_printf(b, " %s", pt->kv[k]);
}

/* ---- checks before any point runs ---- */

/* Which --vary (or --points line) to blame for a point the cross-key
 * checks refuse: a key whose value alone, over the configuration, is
 * refused; else the combination. */
static void blame(const struct sw_plan *p, size_t i, const struct ims_sim_cfg *base, const char *cfg_path,
                  const char *err)
{
    const struct sw_point *pt = &p->pts[i];
    char id[32], e2[512];
    sw_point_id(p, i, id, sizeof id);
    for (size_t k = 0; k < pt->nkv; k++) {
        struct ims_sim_cfg c = *base;
        if (ims_sim_cfg_set_kv(&c, pt->kv[k], "--vary", e2, sizeof e2) == 0 && ims_sim_cfg_check(&c, e2, sizeof e2)) {
            if (p->points_file)
                fprintf(stderr, "iommusim sweep: %s:%u: %s (over %s)\n", p->points_file, pt->line, e2, cfg_path);
            else
                for (size_t v = 0; v < p->nvary; v++)
                    if (!strncmp(pt->kv[k], p->vary[v].key, strlen(p->vary[v].key)) &&
                        pt->kv[k][strlen(p->vary[v].key)] == '=')
                        fprintf(stderr, "iommusim sweep: --vary %s: %s: %s (over %s)\n", p->vary[v].arg, pt->kv[k], e2,
                                cfg_path);
            return;
        }
    }
    struct sw_buf d = {0};
    sw_point_desc(p, i, &d);
    if (p->points_file)
        fprintf(stderr, "iommusim sweep: %s:%u: point %s (%s): %s (over %s)\n", p->points_file, pt->line, id, d.s, err,
                cfg_path);
    else
        fprintf(stderr, "iommusim sweep: point %s (%s): %s (over %s)\n", id, d.s, err, cfg_path);
    sw_buf_free(&d);
}

int sw_plan_prepare(struct sw_plan *p, bool check_traces)
{
    char err[1024];
    struct ims_sim_cfg *base = sw_xmalloc(p->nconfigs * sizeof *base);
    p->cfg_paths = sw_xmalloc(p->nconfigs * sizeof *p->cfg_paths);
    p->digests = sw_xmalloc(p->ntraces * sizeof *p->digests);
    memset(p->cfg_paths, 0, p->nconfigs * sizeof *p->cfg_paths);
    memset(p->digests, 0, p->ntraces * sizeof *p->digests);
    int rc = -1;
    for (size_t c = 0; c < p->nconfigs; c++) {
        if (!(p->cfg_paths[c] = ims_config_path(p->configs[c], err, sizeof err))) {
            fprintf(stderr, "iommusim sweep: %s\n", err);
            goto out;
        }
        ims_sim_cfg_default(&base[c]);
        if (ims_sim_cfg_load(&base[c], p->cfg_paths[c], err, sizeof err)) {
            fprintf(stderr, "iommusim sweep: %s\n", err);
            goto out;
        }
        if (ims_sim_cfg_check(&base[c], err, sizeof err)) {
            fprintf(stderr, "iommusim sweep: %s: %s\n", p->cfg_paths[c], err);
            goto out;
        }
    }
    for (size_t t = 0; t < p->ntraces; t++) {
        struct stat st;
        if (!strcmp(p->traces[t], "-")) {
            fprintf(stderr, "iommusim sweep: --trace -: standard input cannot be swept (every point reads the trace "
                            "again): give a file\n");
            goto out;
        }
        if (stat(p->traces[t], &st) != 0) {
            fprintf(stderr, "iommusim sweep: --trace %s: %s\n", p->traces[t], strerror(errno));
            goto out;
        }
        if (!S_ISREG(st.st_mode)) {
            fprintf(stderr, "iommusim sweep: --trace %s: not a regular file (every point reads it again)\n",
                    p->traces[t]);
            goto out;
        }
        if (check_traces) { /* the header, so that a wrong file fails now, not in every point */
            struct ims_trace_reader *r = ims_trace_open(p->traces[t], err, sizeof err);
            if (!r) {
                fprintf(stderr, "iommusim sweep: --trace %s\n", err);
                goto out;
            }
            ims_trace_close(r);
        }
        char digest[IMS_DIGEST_LEN];
        const int drc = ims_file_digest(p->traces[t], digest, NULL, err, sizeof err);
        if (drc) {
            if (drc > 0) /* replaced since the check above */
                snprintf(err, sizeof err, "%s: not a regular file", p->traces[t]);
            fprintf(stderr, "iommusim sweep: --trace %s\n", err);
            goto out;
        }
        p->digests[t] = sw_xstrdup(digest);
    }
    p->expect = sw_xmalloc((p->npts ? p->npts : 1) * sizeof *p->expect);
    for (size_t i = 0; i < p->npts; i++) {
        const struct sw_point *pt = &p->pts[i];
        struct ims_sim_cfg *c = &p->expect[i];
        *c = base[pt->config];
        for (size_t k = 0; k < pt->nkv; k++)
            if (ims_sim_cfg_set_kv(c, pt->kv[k], "--vary", err, sizeof err)) {
                fprintf(stderr, "iommusim sweep: %s\n", err); /* checked before: not reached */
                goto out;
            }
        if (ims_sim_cfg_check(c, err, sizeof err)) {
            blame(p, i, &base[pt->config], p->cfg_paths[pt->config], err);
            goto out;
        }
    }
    rc = 0;
out:
    free(base);
    return rc;
}

/* ---- DIR/sweep.json ---- */

static void json_list(struct sw_buf *b, char **v, size_t n)
{
    sw_buf_put(b, "[");
    for (size_t i = 0; i < n; i++) {
        sw_buf_put(b, i ? ", " : "");
        sw_buf_json_str(b, v[i]);
    }
    sw_buf_put(b, "]");
}

void sw_plan_json(const struct sw_plan *p, struct sw_buf *b)
{
    sw_buf_put(b, "{\n  \"schema\": \"" IMS_SWEEP_SCHEMA "\",\n  \"directory\": ");
    sw_buf_json_str(b, p->dir);
    sw_buf_put(b, ",\n  \"traces\": ");
    json_list(b, p->traces, p->ntraces);
    sw_buf_put(b, ",\n  \"configs\": ");
    json_list(b, p->configs, p->nconfigs);
    sw_buf_put(b, ",\n  \"points_file\": ");
    if (p->points_file)
        sw_buf_json_str(b, p->points_file);
    else
        sw_buf_put(b, "null");
    sw_buf_put(b, ",\n  \"vary\": [");
    for (size_t k = 0; k < p->nvary; k++) {
        sw_buf_put(b, k ? ",\n    {\"key\": " : "\n    {\"key\": ");
        sw_buf_json_str(b, p->vary[k].key);
        sw_buf_put(b, ", \"values\": ");
        json_list(b, p->vary[k].vals, p->vary[k].n);
        sw_buf_put(b, "}");
    }
    sw_buf_put(b, p->nvary ? "\n  ],\n  \"points\": [" : "],\n  \"points\": [");
    for (size_t i = 0; i < p->npts; i++) {
        const struct sw_point *pt = &p->pts[i];
        char id[32];
        sw_point_id(p, i, id, sizeof id);
        sw_buf_printf(b, "%s\n    {\"id\": \"%s\", \"trace\": ", i ? "," : "", id);
        sw_buf_json_str(b, p->traces[pt->trace]);
        sw_buf_put(b, ", \"config\": ");
        sw_buf_json_str(b, p->configs[pt->config]);
        sw_buf_put(b, ", \"overrides\": ");
        json_list(b, pt->kv, pt->nkv);
        sw_buf_put(b, "}");
    }
    sw_buf_put(b, p->npts ? "\n  ]\n}\n" : "]\n}\n");
}

static int strings(json_t *a, char ***v, size_t *n)
{
    if (!json_is_array(a))
        return -1;
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x)
    {
        if (!json_is_string(x))
            return -1;
        push_str(v, n, json_string_value(x));
    }
    return 0;
}

static size_t index_of(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return i;
    return n;
}

int sw_plan_read(const char *dir, struct sw_plan *p)
{
    char *path = NULL;
    if (asprintf(&path, "%s/sweep.json", dir) < 0)
        oom();
    memset(p, 0, sizeof *p);
    json_error_t e;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    int rc = -1;
    if (!root) {
        if (access(path, F_OK) != 0)
            fprintf(stderr, "iommusim sweep: %s: no plan here (%s): not a sweep's output directory\n", dir,
                    strerror(errno));
        else
            fprintf(stderr, "iommusim sweep: %s: not JSON: line %d column %d: %s\n", path, e.line, e.column, e.text);
        free(path);
        return -1;
    }
    json_t *schema = json_object_get(root, "schema"), *d = json_object_get(root, "directory");
    json_t *pts = json_object_get(root, "points"), *vary = json_object_get(root, "vary");
    json_t *pf = json_object_get(root, "points_file");
    if (!json_is_string(schema) || strcmp(json_string_value(schema), IMS_SWEEP_SCHEMA)) {
        fprintf(stderr, "iommusim sweep: %s: not a sweep plan of schema %s\n", path, IMS_SWEEP_SCHEMA);
        goto out;
    }
    if (!json_is_string(d) || strings(json_object_get(root, "traces"), &p->traces, &p->ntraces) ||
        strings(json_object_get(root, "configs"), &p->configs, &p->nconfigs) || !json_is_array(pts) ||
        !json_is_array(vary) || !(json_is_null(pf) || json_is_string(pf)) || !p->ntraces || !p->nconfigs) {
        fprintf(stderr, "iommusim sweep: %s: an incomplete plan (directory, traces, configs, vary, points)\n", path);
        goto out;
    }
    p->dir = sw_xstrdup(json_string_value(d));
    if (json_is_string(pf))
        p->points_file = sw_xstrdup(json_string_value(pf));
    size_t i;
    json_t *x;
    json_array_foreach(vary, i, x)
    {
        p->vary = sw_xrealloc(p->vary, (p->nvary + 1) * sizeof *p->vary);
        struct sw_vary *v = &p->vary[p->nvary++];
        memset(v, 0, sizeof *v);
        json_t *k = json_object_get(x, "key");
        if (!json_is_string(k) || strings(json_object_get(x, "values"), &v->vals, &v->n)) {
            fprintf(stderr, "iommusim sweep: %s: vary[%zu]: needs a key and its values\n", path, i);
            goto out;
        }
        v->key = sw_xstrdup(json_string_value(k));
        v->arg = sw_xstrdup(v->key);
    }
    p->npts = json_array_size(pts);
    if (p->npts > IMS_SWEEP_MAX_POINTS) {
        fprintf(stderr, "iommusim sweep: %s: more than %u points\n", path, IMS_SWEEP_MAX_POINTS);
        p->npts = 0;
        goto out;
    }
    p->pts = sw_xmalloc((p->npts ? p->npts : 1) * sizeof *p->pts);
    memset(p->pts, 0, (p->npts ? p->npts : 1) * sizeof *p->pts);
    p->idw = 4;
    for (size_t n = p->npts ? p->npts - 1 : 0; n >= 10000; n /= 10)
        p->idw++;
    json_array_foreach(pts, i, x)
    {
        struct sw_point *pt = &p->pts[i];
        json_t *id = json_object_get(x, "id"), *t = json_object_get(x, "trace"), *c = json_object_get(x, "config");
        char want[32];
        sw_point_id(p, i, want, sizeof want);
        if (!json_is_string(id) || strcmp(json_string_value(id), want) || !json_is_string(t) || !json_is_string(c) ||
            strings(json_object_get(x, "overrides"), &pt->kv, &pt->nkv) ||
            (pt->trace = index_of(p->traces, p->ntraces, json_string_value(t))) == p->ntraces ||
            (pt->config = index_of(p->configs, p->nconfigs, json_string_value(c))) == p->nconfigs) {
            fprintf(stderr,
                    "iommusim sweep: %s: point %zu: needs id \"%s\", a trace and a config of the plan's lists "
                    "and its overrides\n",
                    path, i, want);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    free(path);
    return rc;
}

void sw_plan_free(struct sw_plan *p)
{
    free(p->dir);
    for (size_t i = 0; i < p->ntraces; i++) {
        free(p->traces[i]);
        free(p->digests ? p->digests[i] : NULL);
    }
    free(p->traces);
    free(p->digests);
    for (size_t i = 0; i < p->nconfigs; i++) {
        free(p->configs[i]);
        free(p->cfg_paths ? p->cfg_paths[i] : NULL);
    }
    free(p->configs);
    free(p->cfg_paths);
    for (size_t k = 0; k < p->nvary; k++) {
        for (size_t j = 0; j < p->vary[k].n; j++)
            free(p->vary[k].vals[j]);
        free(p->vary[k].vals);
        free(p->vary[k].key);
        free(p->vary[k].arg);
    }
    free(p->vary);
    for (size_t i = 0; i < p->ntmpl; i++) {
        for (size_t k = 0; k < p->tmpl[i].nkv; k++)
            free(p->tmpl[i].kv[k]);
        free(p->tmpl[i].kv);
    }
    free(p->tmpl);
    for (size_t i = 0; i < p->npts; i++) {
        for (size_t k = 0; k < p->pts[i].nkv; k++)
            free(p->pts[i].kv[k]);
        free(p->pts[i].kv);
    }
    free(p->pts);
    free(p->points_file);
    free(p->expect);
    memset(p, 0, sizeof *p);
}

/* ---- resuming ---- */

bool sw_point_done(const struct sw_plan *p, const char *dir, size_t i)
{
    char rel[64], *path = NULL;
    sw_point_json_rel(p, i, rel, sizeof rel);
    if (asprintf(&path, "%s/%s", dir, rel) < 0)
        oom();
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    free(path);
    if (!root)
        return false;
    const struct sw_point *pt = &p->pts[i];
    json_t *schema = json_object_get(root, "schema"), *trace = json_object_get(root, "trace");
    json_t *ti = json_object_get(root, "trace_info"), *ec = json_object_get(root, "effective_config");
    json_t *digest = json_object_get(ti, "digest");
    bool ok = json_is_string(schema) && !strcmp(json_string_value(schema), "iommusim-run/1") && json_is_string(trace) &&
              !strcmp(json_string_value(trace), p->traces[pt->trace]) && json_is_string(digest) &&
              !strcmp(json_string_value(digest), p->digests[pt->trace]) && json_is_object(ec) &&
              json_object_size(ec) == ims_sim_cfg_keys();
    for (size_t k = 0; ok && k < ims_sim_cfg_keys(); k++) {
        char want[128];
        const char *key = ims_sim_cfg_key(k);
        json_t *v = json_object_get(ec, key);
        ims_sim_cfg_get(&p->expect[i], key, want, sizeof want);
        ok = json_is_string(v) && !strcmp(json_string_value(v), want);
    }
    json_decref(root);
    return ok;
}
