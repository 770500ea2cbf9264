/* Integer parsing; see parse.h. */
#include "common/parse.h"

#include <errno.h>
#include <stdlib.h>

int wr_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int wr_parse_int(const char *s, int lo, int hi, int *out)
{
    long v;
    if (wr_parse_long(s, lo, hi, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}
