/* A reference-counted, immutable byte buffer. An event is encoded once into
 * an sbuf (for WebSocket: the complete frame) and the same bytes are queued on
 * every receiving connection; the last release frees it. Loop thread only. */
#ifndef WR_SBUF_H
#define WR_SBUF_H

#include <stddef.h>
#include <stdint.h>

struct wr_sbuf {
    unsigned refs;
    size_t len;
    uint8_t data[];
};

/* A new buffer of @len bytes with one reference; fill data before sharing. */
struct wr_sbuf *wr_sbuf_new(size_t len);
static inline struct wr_sbuf *wr_sbuf_ref(struct wr_sbuf *b)
{
    b->refs++;
    return b;
}
void wr_sbuf_unref(struct wr_sbuf *b);

#endif
