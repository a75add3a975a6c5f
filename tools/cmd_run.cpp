// placeholder: being written
#include <cstdio>
#include "cmd.h"
int ims_cmd_run(int, char **)
{
    std::fprintf(stderr, "iommusim run: not built yet\n");
    return 2;
}
