/* iommusim: the command-line front end. Dispatches to subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#define IMS_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: iommusim <command> [options]\n"
            "\n"
            "commands:\n"
            "  run      replay a trace through the cycle-approximate SystemC model and report\n"
            "  trace    trace tools: info, convert, validate, gen (see 'iommusim trace --help')\n"
            "  version  print the version\n"
            "\n"
            "'iommusim <command> --help' describes each command.\n");
}

const char *ims_data_dir(void)
{
    const char *d = getenv("IMS_DATA_DIR");
    return (d && *d) ? d : IMS_SOURCE_DIR;
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
        printf("iommusim %s\n", IMS_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "trace"))
        return ims_cmd_trace(argc - 1, argv + 1);
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
