/* Unit tests for cluster/failover: when a follower may take its leader's
 * process for gone (connection closed by the peer AND reconnect refused),
 * and the rank that staggers the followers' campaigns. Each refusal to
 * conclude has its positive control: the same inputs with the one missing
 * signal added do conclude. The libraft side (raft_early.c) is driven by
 * tests/cluster/early-election.test.mjs with real processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <uv.h>

#include "cluster/failover.h"

/* The whole path: EOF from leader 3, then a refused redial. */
static void test_eof_then_refused_is_gone(void **state)
{
    (void)state;
    struct wr_failover f;
    wr_failover_init(&f);
    assert_false(wr_failover_gone(&f, 3));
    assert_true(wr_failover_on_conn_lost(&f, 3, 3, UV_EOF));
    assert_int_equal(f.state, WR_FAILOVER_PROBING);
    assert_false(wr_failover_gone(&f, 3));
    assert_int_equal(wr_failover_on_dial(&f, 3, 3, UV_ECONNREFUSED, 1000), WR_FAILOVER_GONE_NOW);
    assert_true(wr_failover_gone(&f, 3));
    assert_int_equal(f.since, 1000);
    /* Once per leader: a second refusal is nothing new. */
    assert_int_equal(wr_failover_on_dial(&f, 3, 3, UV_ECONNREFUSED, 1100), WR_FAILOVER_NOTHING);
    assert_int_equal(f.since, 1000);
    /* ...and a second EOF does not restart the probe. */
    assert_false(wr_failover_on_conn_lost(&f, 3, 3, UV_EOF));
    assert_true(wr_failover_gone(&f, 3));
}

static void test_reset_counts_like_eof(void **state)
{
    (void)state;
    struct wr_failover f;
    wr_failover_init(&f);
    assert_true(wr_failover_on_conn_lost(&f, 2, 2, UV_ECONNRESET));
    assert_int_equal(wr_failover_on_dial(&f, 2, 2, UV_ECONNREFUSED, 5), WR_FAILOVER_GONE_NOW);
}

/* A refusal alone (no lost connection first) proves nothing: a leader we
 * never reached. Control: with the EOF first it is GONE. */
static void test_refused_without_lost_connection_is_not_gone(void **state)
{
    (void)state;
    struct wr_failover f;
    wr_failover_init(&f);
    assert_int_equal(wr_failover_on_dial(&f, 3, 3, UV_ECONNREFUSED, 1), WR_FAILOVER_NOTHING);
    assert_false(wr_failover_gone(&f, 3));
    assert_true(wr_failover_on_conn_lost(&f, 3, 3, UV_EOF));
    assert_int_equal(wr_failover_on_dial(&f, 3, 3, UV_ECONNREFUSED, 2), WR_FAILOVER_GONE_NOW);
}

/* An EOF alone with an answering redial: the leader is alive (it dropped
 * the connection, or restarted). Control: the same EOF and a refusal. */
static void test_eof_then_answer_is_alive(void **state)
{
    (void)state;
    struct wr_failover f;
    wr_failover_init(&f);
    assert_true(wr_failover_on_conn_lost(&f, 3, 3, UV_EOF));
    assert_int_equal(wr_failover_on_dial(&f, 3, 3, 0, 1), WR_FAILOVER_NOTHING);
    assert_int_equal(f.state, WR_FAILOVER_IDLE);
    /* the next refusal, without a new EOF, is not enough */
    assert_int_equal(wr_failover_on_dial(&f, 3, 3, UV_ECONNREFUSED, 2), WR_FAILOVER_NOTHING);
    assert_false(wr_failover_gone(&f, 3));
    assert_true(wr_failover_on_conn_lost(&f, 3, 3, UV_EOF));
    assert_int_equal(wr_failover_on_dial(&f, 3, 3, UV_ECONNREFUSED, 3), WR_FAILOVER_GONE_NOW);
}

/* Errors that are ours or the network's, not the peer's kernel closing
 * (a timeout, a cancelled or aborted connection), start no probe. */
static void test_other_errors_start_no_probe(void **state)
{
    (void)state;
    struct wr_failover f;
    wr_failover_init(&f);
    assert_false(wr_failover_on_conn_lost(&f, 3, 3, UV_ETIMEDOUT));
    assert_false(wr_failover_on_conn_lost(&f, 3, 3, UV_ECANCELED));
    assert_false(wr_failover_on_conn_lost(&f, 3, 3, UV_ECONNABORTED));
    assert_int_equal(f.state, WR_FAILOVER_IDLE);
    assert_int_equal(wr_failover_on_dial(&f, 3, 3, UV_ECONNREFUSED, 1), WR_FAILOVER_NOTHING);
    assert_false(wr_failover_gone(&f, 3));
}

/* A connection to a node that is not (or no longer) the leader starts no
 * probe; neither does a refusal once another leader is known. */
static void test_only_the_current_leader(void **state)
{
    (void)state;
    struct wr_failover f;
    wr_failover_init(&f);
    assert_false(wr_failover_on_conn_lost(&f, 2, 3, UV_EOF));
    assert_false(wr_failover_on_conn_lost(&f, 2, 0, UV_EOF));
    assert_false(wr_failover_on_conn_lost(&f, 0, 0, UV_EOF));
    assert_true(wr_failover_on_conn_lost(&f, 3, 3, UV_EOF));
    /* leader 2 elected meanwhile: the old suspicion is dropped */
    wr_failover_on_leader(&f, 2);
    assert_int_equal(f.state, WR_FAILOVER_IDLE);
    assert_int_equal(wr_failover_on_dial(&f, 3, 2, UV_ECONNREFUSED, 1), WR_FAILOVER_NOTHING);
    assert_false(wr_failover_gone(&f, 3));
    /* leader 0 (our own campaign cleared it) keeps a GONE verdict */
    assert_true(wr_failover_on_conn_lost(&f, 2, 2, UV_EOF));
    assert_int_equal(wr_failover_on_dial(&f, 2, 2, UV_ECONNREFUSED, 2), WR_FAILOVER_GONE_NOW);
    wr_failover_on_leader(&f, 0);
    assert_true(wr_failover_gone(&f, 2));
    wr_failover_on_leader(&f, 2);
    assert_true(wr_failover_gone(&f, 2));
    /* and gone is about that leader only */
    assert_false(wr_failover_gone(&f, 1));
    assert_false(wr_failover_gone(&f, 0));
}

/* A reset while probing (the dying listener's last instant) asks for
 * another probe, a bounded number of times; then a refusal still counts. */
static void test_inconclusive_probe_reprobes_bounded(void **state)
{
    (void)state;
    struct wr_failover f;
    wr_failover_init(&f);
    assert_true(wr_failover_on_conn_lost(&f, 3, 3, UV_EOF));
    for (int i = 0; i < WR_FAILOVER_REPROBES; i++)
        assert_int_equal(wr_failover_on_dial(&f, 3, 3, UV_ECONNRESET, 1), WR_FAILOVER_REPROBE);
    assert_int_equal(wr_failover_on_dial(&f, 3, 3, UV_ECONNRESET, 1), WR_FAILOVER_NOTHING);
    assert_int_equal(f.state, WR_FAILOVER_PROBING);
    assert_int_equal(wr_failover_on_dial(&f, 3, 3, UV_ECONNREFUSED, 9), WR_FAILOVER_GONE_NOW);
    /* a new lost connection gives a new budget */
    wr_failover_init(&f);
    assert_true(wr_failover_on_conn_lost(&f, 3, 3, UV_EOF));
    assert_int_equal(wr_failover_on_dial(&f, 3, 3, UV_ETIMEDOUT, 1), WR_FAILOVER_REPROBE);
    /* not probing: no reprobe either */
    wr_failover_init(&f);
    assert_int_equal(wr_failover_on_dial(&f, 3, 3, UV_ECONNRESET, 1), WR_FAILOVER_NOTHING);
}

static void test_rank_skips_the_gone_leader(void **state)
{
    (void)state;
    uint64_t voters[] = {3, 1, 2};
    /* leader 1 gone: 2 campaigns first, 3 second */
    assert_int_equal(wr_failover_rank(2, 1, voters, 3), 0);
    assert_int_equal(wr_failover_rank(3, 1, voters, 3), 1);
    /* leader 3 gone: 1 first, 2 second */
    assert_int_equal(wr_failover_rank(1, 3, voters, 3), 0);
    assert_int_equal(wr_failover_rank(2, 3, voters, 3), 1);
    /* five voters, 4 gone: 1,2,3,5 rank 0..3; no two share a rank */
    uint64_t five[] = {1, 2, 3, 4, 5};
    unsigned seen = 0;
    for (uint64_t id = 1; id <= 5; id++) {
        if (id == 4)
            continue;
        unsigned r = wr_failover_rank(id, 4, five, 5);
        assert_true(r < 4);
        assert_false(seen & (1u << r));
        seen |= 1u << r;
    }
    assert_int_equal(seen, 0xf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eof_then_refused_is_gone),
        cmocka_unit_test(test_reset_counts_like_eof),
        cmocka_unit_test(test_refused_without_lost_connection_is_not_gone),
        cmocka_unit_test(test_eof_then_answer_is_alive),
        cmocka_unit_test(test_other_errors_start_no_probe),
        cmocka_unit_test(test_only_the_current_leader),
        cmocka_unit_test(test_inconclusive_probe_reprobes_bounded),
        cmocka_unit_test(test_rank_skips_the_gone_leader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
