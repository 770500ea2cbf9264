/* Unit tests for the arena's compact update encoding (arena/arena_wire.h):
 * what the encoder writes is what the decoder reads back, byte for byte as
 * docs/protocol.md lays it out, and the decoder refuses every frame that
 * does not add up (short, wrong kind, a name length out of range, a count
 * larger than the bytes, bytes left over) with the well-formed frame as the
 * positive control. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "arena/arena_wire.h"

static struct wr_arena_player player(uint32_t id, const char *name, uint16_t x, uint16_t y,
                                     uint32_t seq)
{
    struct wr_arena_player p;
    memset(&p, 0, sizeof p);
    p.id = id;
    p.x = x;
    p.y = y;
    p.seq = seq;
    p.node = 3;
    p.connected = true;
    snprintf(p.name, sizeof p.name, "%s", name);
    return p;
}

/* left 7; full bob(2); moved alice(1), carol(70000) */
static void build(struct wr_writer *out)
{
    struct wr_awire_enc e;
    wr_awire_enc_init(&e);
    struct wr_arena_player alice = player(1, "alice", 3, 4, 9);
    struct wr_arena_player bob = player(2, "bob", 63, 47, 0);
    struct wr_arena_player carol = player(70000, "carol", 1023, 2, 4000000000u);
    bob.connected = false;
    wr_awire_put_left(&e, 7);
    wr_awire_put_full(&e, &bob);
    wr_awire_put_moved(&e, &alice);
    wr_awire_put_moved(&e, &carol);
    wr_writer_init(out, 16);
    wr_awire_finish(&e, 0, out);
    wr_awire_enc_free(&e);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct wr_writer w;
    build(&w);
    assert_int_equal(w.len, 16 + 4 + (18 + 3) + 2 * 12);
    struct wr_awire_view v;
    assert_int_equal(wr_awire_parse(w.base, w.len, &v), 0);
    assert_int_equal(v.flags, 0);
    assert_int_equal(v.n_left, 1);
    assert_int_equal(v.n_full, 1);
    assert_int_equal(v.n_moved, 2);
    assert_int_equal(wr_awire_left_id(&v, 0), 7);
    const uint8_t *cur = v.full;
    struct wr_awire_player p;
    wr_awire_next_full(&cur, &p);
    assert_int_equal(p.id, 2);
    assert_int_equal(p.x, 63);
    assert_int_equal(p.y, 47);
    assert_int_equal(p.seq, 0);
    assert_int_equal(p.node, 3);
    assert_false(p.connected);
    assert_string_equal(p.name, "bob");
    assert_ptr_equal(cur, v.moved);
    wr_awire_moved_at(&v, 0, &p);
    assert_int_equal(p.id, 1);
    assert_int_equal(p.x, 3);
    assert_int_equal(p.y, 4);
    assert_int_equal(p.seq, 9);
    wr_awire_moved_at(&v, 1, &p);
    assert_int_equal(p.id, 70000);
    assert_int_equal(p.x, 1023);
    assert_int_equal(p.seq, 4000000000u);
    wr_writer_free(&w);
}

/* The layout of docs/protocol.md, checked on the bytes themselves. */
static void test_layout(void **state)
{
    (void)state;
    struct wr_writer w;
    build(&w);
    const uint8_t *b = w.base;
    static const uint8_t head[16] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0};
    assert_memory_equal(b, head, 16);
    static const uint8_t left[4] = {7, 0, 0, 0};
    assert_memory_equal(b + 16, left, 4);
    static const uint8_t bob[21] = {2, 0, 0, 0, 63, 0, 47, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 3,
                                    'b', 'o', 'b'};
    assert_memory_equal(b + 20, bob, sizeof bob);
    /* carol: id 70000 = 0x11170, x 1023 = 0x3ff, y 2, seq 4e9 = 0xee6b2800 */
    static const uint8_t carol[12] = {0x70, 0x11, 0x01, 0, 0xff, 0x03, 2, 0,
                                      0x00, 0x28, 0x6b, 0xee};
    assert_memory_equal(b + 20 + 21 + 12, carol, 12);
    wr_writer_free(&w);
}

static void test_ack_and_full_flag(void **state)
{
    (void)state;
    struct wr_arena_player me = player(5, "me", 10, 11, 12);
    uint8_t ack[WR_AWIRE_ACK_BYTES];
    wr_awire_ack(ack, &me);
    struct wr_awire_view v;
    assert_int_equal(wr_awire_parse(ack, sizeof ack, &v), 0);
    assert_int_equal(v.n_left + v.n_full, 0);
    assert_int_equal(v.n_moved, 1);
    struct wr_awire_player p;
    wr_awire_moved_at(&v, 0, &p);
    assert_int_equal(p.id, 5);
    assert_int_equal(p.seq, 12);

    struct wr_awire_enc e;
    wr_awire_enc_init(&e);
    wr_awire_put_full(&e, &me);
    struct wr_writer w;
    wr_writer_init(&w, 16);
    wr_awire_finish(&e, WR_AWIRE_FULL, &w);
    assert_int_equal(wr_awire_parse(w.base, w.len, &v), 0);
    assert_int_equal(v.flags & WR_AWIRE_FULL, WR_AWIRE_FULL);
    wr_writer_free(&w);
    wr_awire_enc_free(&e);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_refuses_malformed(void **state)
{
    (void)state;
    struct wr_writer w;
    build(&w);
    uint8_t buf[256];
    size_t len = w.len;
    struct wr_awire_view v;
    memcpy(buf, w.base, len);
    assert_int_equal(wr_awire_parse(buf, len, &v), 0); /* the control */

    for (size_t cut = 0; cut < len; cut++) /* every truncation */
        assert_int_equal(wr_awire_parse(buf, cut, &v), -1);
    assert_int_equal(wr_awire_parse(buf, len + 1, &v), -1); /* a byte left over */

    buf[0] = 2; /* another kind */
    assert_int_equal(wr_awire_parse(buf, len, &v), -1);
    buf[0] = 1;

    buf[20 + 17] = 0; /* bob's name_len 0 */
    assert_int_equal(wr_awire_parse(buf, len, &v), -1);
    buf[20 + 17] = 17; /* over 16 */
    assert_int_equal(wr_awire_parse(buf, len, &v), -1);
    buf[20 + 17] = 3;

    put32(buf + 12, 0xffffffffu); /* n_moved far beyond the bytes */
    assert_int_equal(wr_awire_parse(buf, len, &v), -1);
    put32(buf + 12, 2);
    put32(buf + 4, 0x40000000u); /* n_left * 4 would wrap a 32-bit size */
    assert_int_equal(wr_awire_parse(buf, len, &v), -1);
    put32(buf + 4, 1);
    put32(buf + 8, 1000000); /* more full records than bytes */
    assert_int_equal(wr_awire_parse(buf, len, &v), -1);
    put32(buf + 8, 1);
    assert_int_equal(wr_awire_parse(buf, len, &v), 0); /* restored: accepted again */
    wr_writer_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_ack_and_full_flag),
        cmocka_unit_test(test_refuses_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
