/* Subcommands of the iommusim tool. Each takes argv with argv[0] = the
 * subcommand's name and returns the process exit status. */
#ifndef IMS_TOOLS_CMD_H
#define IMS_TOOLS_CMD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

int ims_cmd_trace(int argc, char **argv);
int ims_cmd_run(int argc, char **argv);
int ims_cmd_compare(int argc, char **argv);
int ims_cmd_plot(int argc, char **argv);
int ims_cmd_sweep(int argc, char **argv);

/* Where shipped files (configs/, traces/) live: $IMS_DATA_DIR; else the
 * installed share directory beside the executable (bin/../share/iommusim)
 * when it holds configs/; else the source tree the tool was built from. */
const char *ims_data_dir(void);

/* CPUs this process may run on: its affinity mask (taskset, cpusets, a
 * Slurm allocation), else the online CPUs; at least 1 (tools/inputs.c). */
unsigned ims_usable_cpus(void);

/* `--config ARG` (tools/inputs.c): ARG if it names a file; else, for a bare
 * name (no '/'), configs/ARG.cfg (configs/ARG if it ends in .cfg) in the
 * data directory. A malloc'd path, or NULL with a message in why (which
 * lists the shipped configurations when a name is not found). */
char *ims_config_path(const char *arg, char *why, size_t len);

/* A trace file's digest, "sha256:" and 64 hex digits, and its size in
 * bytes (bytes may be NULL). 0; 1 if path names no regular file (a FIFO:
 * reading it would consume it; digest untouched); -1 with a message. */
#define IMS_DIGEST_LEN 72
int ims_file_digest(const char *path, char digest[IMS_DIGEST_LEN], unsigned long long *bytes, char *err, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* IMS_TOOLS_CMD_H */
