/* Unit tests for the membership channel's codec (cluster/membership.h):
 * requests and answers round-trip; every truncation, a bad version, an
 * unknown op or status, and trailing bytes are refused (each next to the
 * same frame intact); cluster ids print and parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cluster/membership.h"

static void sample_request(struct wr_member_request *q)
{
    memset(q, 0, sizeof *q);
    q->op = WR_MOP_JOIN;
    q->id = 4;
    strcpy(q->address, "127.0.0.1:7004");
    strcpy(q->http, "127.0.0.1:4004");
    for (int i = 0; i < WR_CLUSTER_ID_BYTES; i++)
        q->cluster_id[i] = (uint8_t)(i * 17);
}

static void test_request_round_trip(void **state)
{
    (void)state;
    struct wr_member_request q, d;
    sample_request(&q);
    struct wr_writer w;
    wr_writer_init(&w, 64);
    wr_member_encode_request(&w, &q);
    uint32_t n = (uint32_t)w.base[0] | (uint32_t)w.base[1] << 8;
    assert_int_equal(n, w.len - 4);
    assert_int_equal(wr_member_decode_request(w.base + 4, n, &d), 0);
    assert_int_equal(d.op, WR_MOP_JOIN);
    assert_int_equal(d.id, 4);
    assert_string_equal(d.address, q.address);
    assert_string_equal(d.http, q.http);
    assert_memory_equal(d.cluster_id, q.cluster_id, WR_CLUSTER_ID_BYTES);
    /* every truncation is refused */
    for (uint32_t k = 0; k < n; k++)
        assert_int_equal(wr_member_decode_request(w.base + 4, k, &d), -1);
    /* trailing bytes, another version, an unknown op */
    uint8_t *buf = malloc(n + 1);
    memcpy(buf, w.base + 4, n);
    buf[n] = 0;
    assert_int_equal(wr_member_decode_request(buf, n + 1, &d), -1);
    buf[0] = 2;
    assert_int_equal(wr_member_decode_request(buf, n, &d), -1);
    buf[0] = 1;
    buf[1] = 9;
    assert_int_equal(wr_member_decode_request(buf, n, &d), -1);
    buf[1] = WR_MOP_REMOVED;
    assert_int_equal(wr_member_decode_request(buf, n, &d), 0);
    free(buf);
    wr_writer_free(&w);
}

static void test_answer_round_trip(void **state)
{
    (void)state;
    struct wr_member_answer a, d;
    memset(&a, 0, sizeof a);
    a.status = WR_MST_NOT_LEADER;
    a.membership = WR_MSHIP_OTHER_ADDRESS;
    a.from_leader = false;
    a.voter = true;
    a.answer_id = 2;
    a.leader_id = 3;
    strcpy(a.leader_address, "127.0.0.1:7003");
    strcpy(a.message, "ask the leader");
    memset(a.cluster_id, 0xab, WR_CLUSTER_ID_BYTES);
    struct wr_writer w;
    wr_writer_init(&w, 64);
    wr_member_encode_answer(&w, &a);
    size_t n = w.len - 4;
    assert_int_equal(wr_member_decode_answer(w.base + 4, n, &d), 0);
    assert_int_equal(d.status, WR_MST_NOT_LEADER);
    assert_int_equal(d.membership, WR_MSHIP_OTHER_ADDRESS);
    assert_false(d.from_leader);
    assert_true(d.voter);
    assert_int_equal(d.answer_id, 2);
    assert_int_equal(d.leader_id, 3);
    assert_string_equal(d.leader_address, "127.0.0.1:7003");
    assert_string_equal(d.message, "ask the leader");
    assert_memory_equal(d.cluster_id, a.cluster_id, WR_CLUSTER_ID_BYTES);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(wr_member_decode_answer(w.base + 4, k, &d), -1);
    w.base[5] = 7; /* status */
    assert_int_equal(wr_member_decode_answer(w.base + 4, n, &d), -1);
    w.base[5] = WR_MST_BUSY;
    assert_int_equal(wr_member_decode_answer(w.base + 4, n, &d), 0);
    wr_writer_free(&w);
}

static void test_cluster_id_text(void **state)
{
    (void)state;
    uint8_t id[WR_CLUSTER_ID_BYTES], back[WR_CLUSTER_ID_BYTES];
    for (int i = 0; i < WR_CLUSTER_ID_BYTES; i++)
        id[i] = (uint8_t)(0xf0 - i);
    char hex[33];
    wr_cluster_id_hex(id, hex);
    assert_int_equal(strlen(hex), 32);
    assert_int_equal(wr_cluster_id_parse(hex, back), 0);
    assert_memory_equal(id, back, WR_CLUSTER_ID_BYTES);
    char line[40];
    snprintf(line, sizeof line, "%s\n", hex);
    assert_int_equal(wr_cluster_id_parse(line, back), 0);
    assert_int_equal(wr_cluster_id_parse("0123", back), -1);
    line[5] = 'g';
    assert_int_equal(wr_cluster_id_parse(line, back), -1);
    snprintf(line, sizeof line, "%sx", hex);
    assert_int_equal(wr_cluster_id_parse(line, back), -1);
    assert_false(wr_cluster_id_is_zero(id));
    memset(id, 0, sizeof id);
    assert_true(wr_cluster_id_is_zero(id));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_answer_round_trip),
        cmocka_unit_test(test_cluster_id_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
