/* The arena's compact update encoding: binary WebSocket messages carrying
 * packed player records (docs/protocol.md, "Binary updates"). Pure bytes:
 * the node encodes with it, the C load generator and the unit test decode
 * with it; the browser client has its own decoder in web/app.js.
 *
 * Layout, all integers little-endian:
 *   0  u8   kind: WR_AWIRE_UPDATE
 *   1  u8   flags: WR_AWIRE_FULL = this lists every player (replace the list)
 *   2  u16  reserved, 0
 *   4  u32  n_left, 8 u32 n_full, 12 u32 n_moved
 *   16 n_left  x { u32 id }
 *      n_full  x { u32 id | u16 x | u16 y | u32 seq | u32 node | u8 connected
 *                  | u8 name_len (1..16) | name }
 *      n_moved x { u32 id | u16 x | u16 y | u32 seq }          (12 bytes)
 * A receiver applies the sections in that order: players that left, then
 * full records (appeared or changed node/connection), then moves. */
#ifndef WR_ARENA_WIRE_H
#define WR_ARENA_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena/arena.h"
#include "common/bytes.h"

#define WR_AWIRE_UPDATE 1
#define WR_AWIRE_FULL 0x01
#define WR_AWIRE_HEAD 16
#define WR_AWIRE_MOVED_BYTES 12
#define WR_AWIRE_FULL_MIN 18 /* a full record without its name */
/* A frame with one moved record: a client's own acknowledgement. */
#define WR_AWIRE_ACK_BYTES (WR_AWIRE_HEAD + WR_AWIRE_MOVED_BYTES)

/* An update being built: the three sections grow separately and are
 * joined by wr_awire_finish. */
struct wr_awire_enc {
    struct wr_writer left, full, moved;
    uint32_t n_left, n_full, n_moved;
};

void wr_awire_enc_init(struct wr_awire_enc *e);
void wr_awire_enc_free(struct wr_awire_enc *e);
void wr_awire_put_left(struct wr_awire_enc *e, uint32_t id);
void wr_awire_put_full(struct wr_awire_enc *e, const struct wr_arena_player *p);
void wr_awire_put_moved(struct wr_awire_enc *e, const struct wr_arena_player *p);
/* Write the whole message (header and sections) to @out, appending. */
void wr_awire_finish(const struct wr_awire_enc *e, uint8_t flags, struct wr_writer *out);
/* One player's moved record as a complete message (its own ack). */
void wr_awire_ack(uint8_t out[WR_AWIRE_ACK_BYTES], const struct wr_arena_player *p);

/* A decoded message: section pointers into the caller's buffer. */
struct wr_awire_view {
    uint8_t flags;
    uint32_t n_left, n_full, n_moved;
    const uint8_t *left, *full, *moved;
};

/* A decoded record (moved records leave node, connected and name unset). */
struct wr_awire_player {
    uint32_t id, seq, node;
    uint16_t x, y;
    bool connected;
    char name[WR_ARENA_NAME_MAX + 1];
};

/* Check a whole message and locate its sections. Returns 0, or -1 if it is
 * not an update, a count or name length does not fit, or bytes are left
 * over. Bounded by @len: every full record is walked once. */
int wr_awire_parse(const void *buf, size_t len, struct wr_awire_view *v);

static inline uint32_t wr_awire_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint32_t wr_awire_left_id(const struct wr_awire_view *v, uint32_t i)
{
    return wr_awire_u32(v->left + 4 * (size_t)i);
}
/* Moved record @i (< n_moved) of a parsed view. */
void wr_awire_moved_at(const struct wr_awire_view *v, uint32_t i, struct wr_awire_player *p);
/* Full records in order: start with *@cursor = v->full; each call decodes
 * one and advances the cursor. Only for a view wr_awire_parse accepted. */
void wr_awire_next_full(const uint8_t **cursor, struct wr_awire_player *p);

#endif
