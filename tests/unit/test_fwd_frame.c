/* Unit tests for cluster/fwd_frame: the forward channel's frames, as the
 * leader's proposer reads them from another node. Every refusal has its
 * positive control: the same frame with the one bad field fixed is taken.
 * fuzz/fuzz_forward.c checks the same parser against random input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "cluster/fwd_frame.h"
#include "common/bytes.h"
#include "world/world.h"

struct seen {
    int frames;
    uint32_t counts[8];
    size_t lens[8];
    int stop_at; /* 1-based frame to stop on; 0 = never */
};

static int on_frame(void *arg, const uint8_t *cmds, size_t len, uint32_t count)
{
    struct seen *s = arg;
    (void)cmds;
    if (s->stop_at != 0 && s->frames + 1 == s->stop_at)
        return -1;
    s->counts[s->frames] = count;
    s->lens[s->frames] = len;
    s->frames++;
    return 0;
}

/* Append a frame of @count commands; command @odd_one (1-based, 0 = none)
 * claims node @odd_node instead of @node. */
static void put_frame(struct wr_writer *w, uint32_t node, uint32_t count, uint32_t odd_one,
                      uint32_t odd_node)
{
    struct wr_writer cmds;
    wr_writer_init(&cmds, 256);
    for (uint32_t i = 1; i <= count; i++) {
        struct wr_cmd c = {.module = WR_MODULE_MUD,
                           .version = 1,
                           .type = 1,
                           .node = i == odd_one ? odd_node : node,
                           .session = 100 + i,
                           .seq = i,
                           .len = 4,
                           .payload = (const uint8_t *)"look"};
        wr_cmd_encode(&cmds, &c);
    }
    uint8_t head[WR_FWD_HEADER_BYTES];
    wr__fwd_frame_header(head, cmds.len, count);
    wr_put_bytes(w, head, sizeof head);
    wr_put_bytes(w, cmds.base, cmds.len);
    wr_writer_free(&cmds);
}

static int parse(const struct wr_writer *w, size_t len, struct seen *s, size_t *used, char *err)
{
    return wr__fwd_frames(w->base, len, 2, on_frame, s, used, err, 128);
}

static void test_two_frames_and_a_partial_one(void **state)
{
    (void)state;
    struct wr_writer w;
    wr_writer_init(&w, 512);
    put_frame(&w, 2, 2, 0, 0);
    size_t first = w.len;
    put_frame(&w, 2, 0, 0, 0); /* an empty frame is valid */
    size_t second = w.len;
    put_frame(&w, 2, 3, 0, 0);
    struct seen s = {0};
    size_t used;
    char err[128];
    assert_int_equal(parse(&w, w.len, &s, &used, err), 0);
    assert_int_equal(s.frames, 3);
    assert_int_equal(s.counts[0], 2);
    assert_int_equal(s.lens[0], first - WR_FWD_HEADER_BYTES);
    assert_int_equal(s.counts[1], 0);
    assert_int_equal(s.counts[2], 3);
    assert_int_equal(used, w.len);
    assert_string_equal(err, "");

    /* One byte short: the third frame waits for it. */
    memset(&s, 0, sizeof s);
    assert_int_equal(parse(&w, w.len - 1, &s, &used, err), 0);
    assert_int_equal(s.frames, 2);
    assert_int_equal(used, second);
    /* Three bytes: not even a length yet. */
    memset(&s, 0, sizeof s);
    assert_int_equal(parse(&w, 3, &s, &used, err), 0);
    assert_int_equal(s.frames, 0);
    assert_int_equal(used, 0);
    wr_writer_free(&w);
}

static void test_command_from_another_node_refuses_the_whole_frame(void **state)
{
    (void)state;
    struct wr_writer w;
    wr_writer_init(&w, 512);
    put_frame(&w, 2, 1, 0, 0);
    size_t first = w.len;
    put_frame(&w, 2, 3, 3, 7); /* its last command claims node 7 */
    struct seen s = {0};
    size_t used;
    char err[128];
    assert_int_equal(parse(&w, w.len, &s, &used, err), -1);
    assert_int_equal(s.frames, 1); /* the good frame before it only */
    assert_int_equal(used, first);
    assert_non_null(strstr(err, "command 3 of 3 is from node 7"));

    /* Control: the same frame from node 2 throughout is taken. */
    w.len = first;
    put_frame(&w, 2, 3, 3, 2);
    memset(&s, 0, sizeof s);
    assert_int_equal(parse(&w, w.len, &s, &used, err), 0);
    assert_int_equal(s.frames, 2);
    assert_int_equal(used, w.len);
    wr_writer_free(&w);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_lengths_out_of_range(void **state)
{
    (void)state;
    uint8_t buf[8] = {0};
    struct wr_writer w = {.base = buf, .len = sizeof buf, .cap = sizeof buf};
    struct seen s = {0};
    size_t used;
    char err[128];
    put_u32(buf, 3);
    assert_int_equal(parse(&w, sizeof buf, &s, &used, err), -1);
    assert_non_null(strstr(err, "frame length 3 out of range"));
    put_u32(buf, WR_FWD_MAX_BODY + 1);
    assert_int_equal(parse(&w, sizeof buf, &s, &used, err), -1);
    assert_non_null(strstr(err, "out of range"));
    /* Controls: the largest length allowed waits for its body; the
     * smallest is an empty frame. */
    put_u32(buf, WR_FWD_MAX_BODY);
    assert_int_equal(parse(&w, sizeof buf, &s, &used, err), 0);
    assert_int_equal(used, 0);
    put_u32(buf, 4);
    assert_int_equal(parse(&w, sizeof buf, &s, &used, err), 0);
    assert_int_equal(used, 8);
    assert_int_equal(s.frames, 1);
}

static void test_stray_bytes_and_short_commands(void **state)
{
    (void)state;
    struct wr_writer w;
    wr_writer_init(&w, 512);
    put_frame(&w, 2, 1, 0, 0);
    struct seen s = {0};
    size_t used;
    char err[128];
    /* One byte more in the body than its command. */
    wr_put_u8(&w, 0);
    put_u32(w.base, (uint32_t)(w.len - 4));
    assert_int_equal(parse(&w, w.len, &s, &used, err), -1);
    assert_non_null(strstr(err, "1 stray bytes after 1 commands"));
    assert_int_equal(s.frames, 0);
    /* A count of 2 with one command's bytes. */
    w.len--;
    put_u32(w.base, (uint32_t)(w.len - 4));
    put_u32(w.base + 4, 2);
    assert_int_equal(parse(&w, w.len, &s, &used, err), -1);
    assert_int_equal(s.frames, 0);
    /* Control: count 1 again. */
    put_u32(w.base + 4, 1);
    assert_int_equal(parse(&w, w.len, &s, &used, err), 0);
    assert_int_equal(s.frames, 1);
    wr_writer_free(&w);
}

static void test_callback_stops(void **state)
{
    (void)state;
    struct wr_writer w;
    wr_writer_init(&w, 512);
    put_frame(&w, 2, 1, 0, 0);
    size_t first = w.len;
    put_frame(&w, 2, 1, 0, 0);
    struct seen s = {.stop_at = 2};
    size_t used;
    char err[128];
    assert_int_equal(parse(&w, w.len, &s, &used, err), -1);
    assert_int_equal(s.frames, 1);
    assert_int_equal(used, first);
    assert_string_equal(err, ""); /* not a malformed frame */
    wr_writer_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_frames_and_a_partial_one),
        cmocka_unit_test(test_command_from_another_node_refuses_the_whole_frame),
        cmocka_unit_test(test_lengths_out_of_range),
        cmocka_unit_test(test_stray_bytes_and_short_commands),
        cmocka_unit_test(test_callback_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
