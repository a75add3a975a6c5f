/* `iommusim sweep`: shared between its files (cmd_sweep.c options and the
 * Slurm route, sweep_plan.c the plan, sweep_exec.c the local executor,
 * sweep_results.c results.csv / results.json). Internal to tools/.
 *
 * A sweep is a plan (DIR/sweep.json: traces x configs x points) whose every
 * point is one `iommusim run --quiet --json DIR/points/<id>.json` of this
 * binary. docs/tools.md ("iommusim sweep") and docs/experiments.md describe
 * it; the output layout is fixed by the contract in docs/tools.md. */
#ifndef IMS_TOOLS_SWEEP_H
#define IMS_TOOLS_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommusim/simcfg.h"

#define IMS_SWEEP_SCHEMA "iommusim-sweep/1"
#define IMS_SWEEP_MAX_POINTS 100000u /* points of one plan */
#define IMS_SWEEP_MAX_VALUES 10000u  /* values of one --vary */

/* A growable text buffer (never fails: out of memory aborts). */
struct sw_buf {
    char *s;
    size_t n, cap;
};
void sw_buf_put(struct sw_buf *b, const char *s);
void sw_buf_printf(struct sw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sw_buf_json_str(struct sw_buf *b, const char *s); /* a JSON string literal */
void sw_buf_free(struct sw_buf *b);

void *sw_xmalloc(size_t n);
void *sw_xrealloc(void *p, size_t n);
char *sw_xstrdup(const char *s);

/* One varied key: its --vary argument as given and its values (text). */
struct sw_vary {
    char *key, *arg;
    char **vals;
    size_t n;
};

/* One point: a trace, a configuration and key=value overrides. */
struct sw_point {
    size_t trace, config;
    char **kv; /* "key=value", trimmed */
    size_t nkv;
    unsigned line; /* --points: the line of FILE it came from (templates) */
};

struct sw_plan {
    char *dir; /* absolute working directory: traces and configs are relative to it */
    char **traces;
    size_t ntraces;
    char **configs; /* as given to --config ("default" when none) */
    size_t nconfigs;
    struct sw_vary *vary; /* --vary in order; with --points, the keys in order of first use */
    size_t nvary;
    char *points_file;     /* --points FILE, or NULL */
    struct sw_point *tmpl; /* the override sets crossed with traces x configs */
    size_t ntmpl;
    struct sw_point *pts;
    size_t npts;
    int idw; /* digits of a point id (at least 4) */

    /* Derived when the plan is checked (sw_plan_prepare), not stored. */
    char **cfg_paths;           /* each configuration's resolved file */
    char **digests;             /* each trace's "sha256:..." */
    struct ims_sim_cfg *expect; /* each point's effective configuration */
};

/* Plan building (sweep_plan.c). Each returns 0, or -1 after printing
 * "iommusim sweep: ..." naming the argument, file and line. */
int sw_vary_parse(const char *arg, struct sw_vary *v);
int sw_points_file(const char *path, struct sw_plan *p);
int sw_plan_grid(struct sw_plan *p); /* fills pts from vary */
int sw_plan_prepare(struct sw_plan *p, bool check_traces);
void sw_plan_json(const struct sw_plan *p, struct sw_buf *out);
int sw_plan_read(const char *dir, struct sw_plan *p);
void sw_plan_free(struct sw_plan *p);
void sw_point_id(const struct sw_plan *p, size_t i, char *buf, size_t len);
/* "points/<id>.json" (relative to DIR) */
void sw_point_json_rel(const struct sw_plan *p, size_t i, char *buf, size_t len);
/* A point's short description for messages: "net default iotlb.ways=2". */
void sw_point_desc(const struct sw_plan *p, size_t i, struct sw_buf *b);
/* True if DIR/points/<id>.json is this point's result: an iommusim run
 * result of this trace (path and digest) with exactly the effective
 * configuration the point asks for. */
bool sw_point_done(const struct sw_plan *p, const char *dir, size_t i);

/* Local execution (sweep_exec.c). */
enum sw_log { SW_LOG_QUIET, SW_LOG_LINES, SW_LOG_BAR };
struct sw_exec_result {
    size_t ran, failed, mismatched;
    int signal; /* the signal that stopped the sweep, or 0 */
};
void sw_exec(const struct sw_plan *p, const char *dir, const size_t *todo, size_t ntodo, unsigned jobs, enum sw_log log,
             struct sw_exec_result *r);
const char *sw_self_exe(void);

/* results.csv and results.json (sweep_results.c); 0 or -1 (printed). failed
 * gets the points without a result, mismatched those whose run disagreed
 * with the recording. */
int sw_gather(const struct sw_plan *p, const char *dir, size_t *failed, size_t *mismatched);

#endif /* IMS_TOOLS_SWEEP_H */
