/* OOM policy: process-internal state is allocated with these wrappers, which
 * abort with a log line when memory runs out (as Redis and h2o do); a game
 * server that cannot allocate cannot keep its promises anyway. Buffers handed
 * to libraft use raft_malloc and propagate RAFT_NOMEM, as its contract asks
 * (that code lives in src/cluster/). */
#ifndef WR_ALLOC_H
#define WR_ALLOC_H

#include <stddef.h>

void *wr_malloc(size_t n);
void *wr_calloc(size_t n, size_t size);
void *wr_realloc(void *p, size_t n);
char *wr_strdup(const char *s);

#define WR_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#endif
