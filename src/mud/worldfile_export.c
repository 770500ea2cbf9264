/* The canonical export of a world model (worldfile.h). SCAFFOLD. */
#include "mud/worldfile.h"

#include <stdio.h>

int wr_mud_model_export(const struct wr_mud_model *m, struct wr_writer *out, char *err,
                        size_t errlen)
{
    (void)m; (void)out;
    snprintf(err, errlen, "export: not yet");
    return -1;
}
