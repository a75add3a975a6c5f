/* Plots with gnuplot (cmd_plot.c): `iommusim plot`, and `iommusim run
 * --plot DIR`. Each plot NAME leaves NAME.dat (the data), NAME.gp (the
 * gnuplot script, which reads NAME.dat) and NAME.png / NAME.svg in the output
 * directory, each written whole (temp file + rename). docs/tools.md, "plot",
 * names every plot.
 *
 * Contract: functions return 0, or 2 with a message naming the file (and
 * line) or directory in err. A plot the data cannot give (one IOTLB size
 * only) is skipped with a one-line note on stderr, not an error. `log`, if
 * not NULL, receives the path of every image written, one a line. */
#ifndef IMS_TOOLS_PLOT_H
#define IMS_TOOLS_PLOT_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { IMS_PLOT_PNG = 1, IMS_PLOT_SVG = 2 };

/* "png", "svg" or "both" as IMS_PLOT_* bits; -1 for anything else. */
int ims_plot_format(const char *s);
/* 0 if gnuplot is on PATH; else 2 and a message naming gnuplot-nox. */
int ims_plot_have_gnuplot(char *err, size_t errlen);
/* Creates dir (and its parents) if missing; 2 if it is not a writable directory. */
int ims_plot_prepare_dir(const char *dir, char *err, size_t errlen);
/* A sweep directory (the sweep output contract): hit_rate_vs_iotlb,
 * walks_vs_walkers, latency_cdf into dir (made if missing); for `sweep --plot`. */
int ims_plot_sweep(const char *sweep_dir, const char *dir, int formats, FILE *log, char *err, size_t errlen);
/* One run's JSON (iommusim run --json): latency_hist and latency_cdf. */
int ims_plot_run_json(const char *json, const char *dir, int formats, FILE *log, char *err, size_t errlen);
/* An interval CSV (iommusim run --interval-csv): interval. */
int ims_plot_interval_csv(const char *csv, const char *dir, int formats, FILE *log, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* IMS_TOOLS_PLOT_H */
