/* An open-addressing hash map from non-zero uint64 keys to uint32 values,
 * with linear probing and backward-shift deletion (no tombstones). Used for
 * session and player look-ups on the apply path, where a lookup must not
 * allocate. Key 0 is reserved as "empty". */
#ifndef WR_U64MAP_H
#define WR_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wr_u64map {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap; /* power of two */
    size_t len;
};

void wr_u64map_init(struct wr_u64map *m);
void wr_u64map_free(struct wr_u64map *m);
void wr_u64map_clear(struct wr_u64map *m);
/* Returns true and sets *val when @key is present. */
bool wr_u64map_get(const struct wr_u64map *m, uint64_t key, uint32_t *val);
/* Insert or overwrite. @key must not be 0. */
void wr_u64map_put(struct wr_u64map *m, uint64_t key, uint32_t val);
/* Returns true if @key was present. */
bool wr_u64map_del(struct wr_u64map *m, uint64_t key);

#endif
