/* The quest area's commands (SCAFFOLD: an empty table). */
#include "mud_node/mud_node_internal.h"

const struct wr_mud_cmd_def wr_mud_cmds_quest[] = {
    {NULL, NULL, 0, -1, false, NULL, NULL, NULL, NULL, 0},
};

bool wr__mud_try_social(struct client *c, const char *line, size_t len)
{
    (void)c; (void)line; (void)len;
    return false;
}
