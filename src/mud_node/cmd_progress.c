/* The progress area's commands (SCAFFOLD: an empty table). */
#include "mud_node/mud_node_internal.h"

const struct wr_mud_cmd_def wr_mud_cmds_progress[] = {
    {NULL, NULL, 0, -1, false, NULL, NULL, NULL, NULL, 0},
};
