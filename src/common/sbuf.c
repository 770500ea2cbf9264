/* Shared buffers; see sbuf.h. */
#include "common/sbuf.h"
#include "common/alloc.h"

#include <stdlib.h>

struct wr_sbuf *wr_sbuf_new(size_t len)
{
    struct wr_sbuf *b = wr_malloc(sizeof *b + len);
    b->refs = 1;
    b->len = len;
    return b;
}

void wr_sbuf_unref(struct wr_sbuf *b)
{
    if (b != NULL && --b->refs == 0)
        free(b);
}
