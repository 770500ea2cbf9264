/* Explicit little-endian encoding and bounds-checked decoding of the
 * Raft-log, snapshot and cluster-link formats. A reader never trusts a
 * declared length: every get checks the remaining bytes first and sets
 * `err`, after which all further gets return zeroes. Check `err` once at
 * the end of a decode. */
#ifndef WR_BYTES_H
#define WR_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wr_reader {
    const uint8_t *p;
    size_t left;
    bool err;
};

static inline void wr_reader_init(struct wr_reader *r, const void *base, size_t len)
{
    r->p = base;
    r->left = len;
    r->err = false;
}

static inline bool wr__need(struct wr_reader *r, size_t n)
{
    if (r->err || r->left < n) {
        r->err = true;
        return false;
    }
    return true;
}

static inline uint8_t wr_get_u8(struct wr_reader *r)
{
    if (!wr__need(r, 1))
        return 0;
    uint8_t v = r->p[0];
    r->p += 1;
    r->left -= 1;
    return v;
}

static inline uint64_t wr__get_le(struct wr_reader *r, size_t n)
{
    if (!wr__need(r, n))
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    r->left -= n;
    return v;
}

static inline uint16_t wr_get_u16(struct wr_reader *r)
{
    return (uint16_t)wr__get_le(r, 2);
}
static inline uint32_t wr_get_u32(struct wr_reader *r)
{
    return (uint32_t)wr__get_le(r, 4);
}
static inline uint64_t wr_get_u64(struct wr_reader *r)
{
    return wr__get_le(r, 8);
}

/* Returns a pointer to @n bytes inside the input, or NULL (and err). */
static inline const uint8_t *wr_get_bytes(struct wr_reader *r, size_t n)
{
    if (!wr__need(r, n))
        return NULL;
    const uint8_t *v = r->p;
    r->p += n;
    r->left -= n;
    return v;
}

/* A growable output buffer. Allocation failure aborts (see xmalloc). */
struct wr_writer {
    uint8_t *base;
    size_t len;
    size_t cap;
};

void wr_writer_init(struct wr_writer *w, size_t cap);
void wr_writer_free(struct wr_writer *w);
/* Make room for @n more bytes and return where they go; commit with len+=n. */
uint8_t *wr_writer_reserve(struct wr_writer *w, size_t n);
/* Detach the bytes: the caller owns and frees them; @w is reset to empty. */
uint8_t *wr_writer_take(struct wr_writer *w, size_t *len);

static inline void wr__put_le(struct wr_writer *w, uint64_t v, size_t n)
{
    uint8_t *p = wr_writer_reserve(w, n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    w->len += n;
}
static inline void wr_put_u8(struct wr_writer *w, uint8_t v)
{
    wr__put_le(w, v, 1);
}
static inline void wr_put_u16(struct wr_writer *w, uint16_t v)
{
    wr__put_le(w, v, 2);
}
static inline void wr_put_u32(struct wr_writer *w, uint32_t v)
{
    wr__put_le(w, v, 4);
}
static inline void wr_put_u64(struct wr_writer *w, uint64_t v)
{
    wr__put_le(w, v, 8);
}
static inline void wr_put_bytes(struct wr_writer *w, const void *p, size_t n)
{
    if (n == 0)
        return;
    memcpy(wr_writer_reserve(w, n), p, n);
    w->len += n;
}

#endif
