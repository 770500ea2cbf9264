/* Hash map; see u64map.h. */
#include "common/u64map.h"
#include "common/alloc.h"

#include <stdlib.h>

static size_t slot(uint64_t key, size_t cap)
{
    /* Fibonacci hashing spreads sequential ids and random keys alike. */
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

void wr_u64map_init(struct wr_u64map *m)
{
    m->keys = NULL;
    m->vals = NULL;
    m->cap = 0;
    m->len = 0;
}

void wr_u64map_free(struct wr_u64map *m)
{
    free(m->keys);
    free(m->vals);
    wr_u64map_init(m);
}

void wr_u64map_clear(struct wr_u64map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        m->keys[i] = 0;
    m->len = 0;
}

bool wr_u64map_get(const struct wr_u64map *m, uint64_t key, uint32_t *val)
{
    if (m->cap == 0 || key == 0)
        return false;
    for (size_t i = slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            if (val)
                *val = m->vals[i];
            return true;
        }
        if (m->keys[i] == 0)
            return false;
    }
}

static void grow(struct wr_u64map *m)
{
    struct wr_u64map old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->keys = wr_calloc(m->cap, sizeof *m->keys);
    m->vals = wr_calloc(m->cap, sizeof *m->vals);
    m->len = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i] != 0)
            wr_u64map_put(m, old.keys[i], old.vals[i]);
    free(old.keys);
    free(old.vals);
}

void wr_u64map_put(struct wr_u64map *m, uint64_t key, uint32_t val)
{
    if ((m->len + 1) * 4 > m->cap * 3)
        grow(m);
    for (size_t i = slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return;
        }
        if (m->keys[i] == 0) {
            m->keys[i] = key;
            m->vals[i] = val;
            m->len++;
            return;
        }
    }
}

bool wr_u64map_del(struct wr_u64map *m, uint64_t key)
{
    if (m->cap == 0 || key == 0)
        return false;
    size_t mask = m->cap - 1;
    size_t i = slot(key, m->cap);
    while (m->keys[i] != key) {
        if (m->keys[i] == 0)
            return false;
        i = (i + 1) & mask;
    }
    /* Backward-shift: move later members of the probe run into the hole
     * when their home slot does not lie cyclically in (hole, j]. */
    size_t hole = i;
    for (size_t j = (hole + 1) & mask; m->keys[j] != 0; j = (j + 1) & mask) {
        size_t home = slot(m->keys[j], m->cap);
        bool stays = (hole <= j) ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = 0;
    m->len--;
    return true;
}
