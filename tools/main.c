/* iommusim: the command-line front end. Dispatches to subcommands. */
#define _XOPEN_SOURCE 700 /* readlink, realpath */

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "iommusim/version.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: iommusim <command> [options]\n"
            "\n"
            "commands:\n"
            "  run      replay a trace through the cycle-approximate SystemC model and report\n"
            "  compare  differences of configuration and metrics between two run results (JSON)\n"
            "  plot     PNG and SVG plots (gnuplot) of a sweep, run results or an interval time series\n"
            "  sweep    run a grid of design points (traces x configs x varied keys), locally or on Slurm\n"
            "  trace    trace tools: info, convert, validate, gen (see 'iommusim trace --help')\n"
            "  version  print the version\n"
            "\n"
            "'iommusim <command> --help' describes each command.\n");
}

/* An installed tool's data: IMS_DATA_REL (the share directory, relative to
 * the bin directory) from the directory of the running executable, if it
 * holds configs/. Written into buf (canonical, no "..") on success. */
static bool installed_data_dir(char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = '\0';
    char share[PATH_MAX], real[PATH_MAX], configs[PATH_MAX + 16];
    int w = snprintf(share, sizeof share, "%s/%s", exe, IMS_DATA_REL);
    if (w < 0 || (size_t)w >= sizeof share || !realpath(share, real))
        return false;
    snprintf(configs, sizeof configs, "%s/configs", real);
    struct stat st;
    if (stat(configs, &st) != 0 || !S_ISDIR(st.st_mode) || strlen(real) >= len)
        return false;
    strcpy(buf, real);
    return true;
}

const char *ims_data_dir(void)
{
    const char *d = getenv("IMS_DATA_DIR");
    if (d && *d)
        return d;
    /* Looked up once: the executable does not move while it runs. */
    static char installed[PATH_MAX];
    static bool looked;
    if (!looked) {
        looked = true;
        if (!installed_data_dir(installed, sizeof installed))
            installed[0] = '\0';
    }
    /* Not installed (build/iommusim): the source tree it was built from. */
    return installed[0] ? installed : IMS_SOURCE_DIR;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("iommusim %s (git %s)\n", IMS_VERSION_STRING, IMS_GIT_DESCRIBE);
        return 0;
    }
    if (!strcmp(cmd, "trace"))
        return ims_cmd_trace(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare"))
        return ims_cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "plot"))
        return ims_cmd_plot(argc - 1, argv + 1);
    if (!strcmp(cmd, "sweep")) {
#ifdef IMS_HAVE_TLM
        return ims_cmd_sweep(argc - 1, argv + 1);
#else
        fprintf(stderr, "iommusim: 'sweep' runs the SystemC model; this build has IMS_CORE_ONLY set\n");
        return 2;
#endif
    }
    if (!strcmp(cmd, "run")) {
#ifdef IMS_HAVE_TLM
        return ims_cmd_run(argc - 1, argv + 1);
#else
        fprintf(stderr, "iommusim: 'run' needs the SystemC model; this build has IMS_CORE_ONLY set\n");
        return 2;
#endif
    }
    fprintf(stderr, "iommusim: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
