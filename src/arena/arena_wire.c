/* The arena's compact update encoding; see arena_wire.h. Hand-written
 * because it is a handful of fixed-width fields: a serialisation library
 * (protobuf, msgpack) would add a dependency and a schema compiler for the
 * browser to decode 12-byte records. */
#include "arena/arena_wire.h"

#include <string.h>

void wr_awire_enc_init(struct wr_awire_enc *e)
{
    wr_writer_init(&e->left, 64);
    wr_writer_init(&e->full, 256);
    wr_writer_init(&e->moved, 1024);
    e->n_left = e->n_full = e->n_moved = 0;
}

void wr_awire_enc_free(struct wr_awire_enc *e)
{
    wr_writer_free(&e->left);
    wr_writer_free(&e->full);
    wr_writer_free(&e->moved);
}

void wr_awire_put_left(struct wr_awire_enc *e, uint32_t id)
{
    wr_put_u32(&e->left, id);
    e->n_left++;
}

void wr_awire_put_full(struct wr_awire_enc *e, const struct wr_arena_player *p)
{
    size_t nl = strnlen(p->name, WR_ARENA_NAME_MAX);
    wr_put_u32(&e->full, p->id);
    wr_put_u16(&e->full, p->x);
    wr_put_u16(&e->full, p->y);
    wr_put_u32(&e->full, p->seq);
    wr_put_u32(&e->full, p->node);
    wr_put_u8(&e->full, p->connected ? 1 : 0);
    wr_put_u8(&e->full, (uint8_t)nl);
    wr_put_bytes(&e->full, p->name, nl);
    e->n_full++;
}

static void put_moved(uint8_t *o, const struct wr_arena_player *p)
{
    uint32_t f[3] = {p->id, (uint32_t)p->x | (uint32_t)p->y << 16, p->seq};
    for (int k = 0; k < 3; k++)
        for (int b = 0; b < 4; b++)
            o[4 * k + b] = (uint8_t)(f[k] >> (8 * b));
}

void wr_awire_put_moved(struct wr_awire_enc *e, const struct wr_arena_player *p)
{
    put_moved(wr_writer_reserve(&e->moved, WR_AWIRE_MOVED_BYTES), p);
    e->moved.len += WR_AWIRE_MOVED_BYTES;
    e->n_moved++;
}

static void put_head(struct wr_writer *out, uint8_t flags, uint32_t nl, uint32_t nf, uint32_t nm)
{
    wr_put_u8(out, WR_AWIRE_UPDATE);
    wr_put_u8(out, flags);
    wr_put_u16(out, 0);
    wr_put_u32(out, nl);
    wr_put_u32(out, nf);
    wr_put_u32(out, nm);
}

void wr_awire_finish(const struct wr_awire_enc *e, uint8_t flags, struct wr_writer *out)
{
    put_head(out, flags, e->n_left, e->n_full, e->n_moved);
    wr_put_bytes(out, e->left.base, e->left.len);
    wr_put_bytes(out, e->full.base, e->full.len);
    wr_put_bytes(out, e->moved.base, e->moved.len);
}

void wr_awire_ack(uint8_t out[WR_AWIRE_ACK_BYTES], const struct wr_arena_player *p)
{
    memset(out, 0, WR_AWIRE_HEAD);
    out[0] = WR_AWIRE_UPDATE;
    out[12] = 1; /* n_moved = 1 */
    put_moved(out + WR_AWIRE_HEAD, p);
}

int wr_awire_parse(const void *buf, size_t len, struct wr_awire_view *v)
{
    struct wr_reader r;
    wr_reader_init(&r, buf, len);
    uint8_t kind = wr_get_u8(&r);
    v->flags = wr_get_u8(&r);
    (void)wr_get_u16(&r);
    v->n_left = wr_get_u32(&r);
    v->n_full = wr_get_u32(&r);
    v->n_moved = wr_get_u32(&r);
    if (r.err || kind != WR_AWIRE_UPDATE)
        return -1;
    v->left = wr_get_bytes(&r, 4 * (size_t)v->n_left);
    v->full = r.p;
    for (uint32_t i = 0; i < v->n_full && !r.err; i++) {
        (void)wr_get_bytes(&r, WR_AWIRE_FULL_MIN - 1);
        uint8_t nl = wr_get_u8(&r);
        if (nl < 1 || nl > WR_ARENA_NAME_MAX)
            return -1;
        (void)wr_get_bytes(&r, nl);
    }
    v->moved = wr_get_bytes(&r, (size_t)v->n_moved * WR_AWIRE_MOVED_BYTES);
    if (r.err || r.left != 0)
        return -1;
    return 0;
}

void wr_awire_moved_at(const struct wr_awire_view *v, uint32_t i, struct wr_awire_player *p)
{
    const uint8_t *o = v->moved + (size_t)i * WR_AWIRE_MOVED_BYTES;
    p->id = wr_awire_u32(o);
    p->x = (uint16_t)(o[4] | o[5] << 8);
    p->y = (uint16_t)(o[6] | o[7] << 8);
    p->seq = wr_awire_u32(o + 8);
}

void wr_awire_next_full(const uint8_t **cursor, struct wr_awire_player *p)
{
    const uint8_t *o = *cursor;
    p->id = wr_awire_u32(o);
    p->x = (uint16_t)(o[4] | o[5] << 8);
    p->y = (uint16_t)(o[6] | o[7] << 8);
    p->seq = wr_awire_u32(o + 8);
    p->node = wr_awire_u32(o + 12);
    p->connected = o[16] != 0;
    uint8_t nl = o[17];
    memcpy(p->name, o + WR_AWIRE_FULL_MIN, nl);
    p->name[nl] = '\0';
    *cursor = o + WR_AWIRE_FULL_MIN + nl;
}
