/* Subcommands of the iommusim tool. Each takes argv with argv[0] = the
 * subcommand's name and returns the process exit status. */
#ifndef IMS_TOOLS_CMD_H
#define IMS_TOOLS_CMD_H

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

#ifdef __cplusplus
}
#endif

#endif /* IMS_TOOLS_CMD_H */
