/* placeholder: being written */
#include <stdio.h>
#include "cmd.h"
int ims_cmd_trace(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "iommusim trace: not built yet\n");
    return 2;
}
