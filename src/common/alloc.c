/* Aborting allocators and the growable writer; see alloc.h and bytes.h. */
#include "common/alloc.h"
#include "common/bytes.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    wr_error("out of memory allocating %zu bytes", n);
    abort();
}

void *wr_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *wr_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom(n * size);
    return p;
}

void *wr_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

char *wr_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(wr_malloc(n), s, n);
}

void wr_writer_init(struct wr_writer *w, size_t cap)
{
    w->base = cap ? wr_malloc(cap) : NULL;
    w->len = 0;
    w->cap = cap;
}

void wr_writer_free(struct wr_writer *w)
{
    free(w->base);
    w->base = NULL;
    w->len = w->cap = 0;
}

uint8_t *wr_writer_reserve(struct wr_writer *w, size_t n)
{
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n)
            cap *= 2;
        w->base = wr_realloc(w->base, cap);
        w->cap = cap;
    }
    return w->base + w->len;
}

uint8_t *wr_writer_take(struct wr_writer *w, size_t *len)
{
    uint8_t *p = w->base;
    *len = w->len;
    w->base = NULL;
    w->len = w->cap = 0;
    return p;
}
