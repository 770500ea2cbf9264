/* Unit tests for the node's state hash cache (node/state_hash.c) on a real
 * libuv loop with real worker threads and a real world: what it reports is
 * always wr_world_hash of the state at the index it names; it hashes at the
 * same log indexes on every node (checkpoints come from the replicated log
 * time), catches up once the world is quiet, and reading it does no work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <uv.h>

#include "arena/arena.h"
#include "node/state_hash.h"
#include "world/world.h"

struct node {
    uv_loop_t loop;
    struct wr_world *w;
    struct wr_state_hash h;
    uint64_t applied; /* the "log": what libraft's applied index would be */
};

static uint64_t applied_of(void *data)
{
    return ((struct node *)data)->applied;
}

static void node_init(struct node *n)
{
    memset(n, 0, sizeof *n);
    assert_int_equal(uv_loop_init(&n->loop), 0);
    n->w = wr_world_create(NULL);
    wr_state_hash_init(&n->h, &n->loop, n->w, applied_of, n);
}

static void node_close(struct node *n)
{
    wr_state_hash_close(&n->h);
    uv_run(&n->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&n->loop), 0);
    wr_world_destroy(n->w);
}

/* Entry @index of the log: a join of player @name stamped @time_ms,
 * applied the way node.c's fsm_apply does. */
static void apply_join_named(struct node *n, uint64_t index, uint64_t time_ms, const char *name)
{
    struct wr_writer p, e;
    wr_writer_init(&p, 32);
    wr_writer_init(&e, 128);
    wr_arena_encode_join(&p, name);
    struct wr_cmd c = {.module = WR_MODULE_ARENA,
                       .type = WR_ARENA_JOIN,
                       .node = 1,
                       .session = 1000 + index,
                       .seq = 1,
                       .len = (uint16_t)p.len,
                       .payload = p.base};
    /* every entry also configures the arena (idempotent), so joins land */
    struct wr_writer cp;
    wr_writer_init(&cp, 16);
    wr_arena_encode_config(&cp, 64, 48);
    struct wr_cmd config = {.module = WR_MODULE_ARENA,
                            .type = WR_ARENA_CONFIG,
                            .len = (uint16_t)cp.len,
                            .payload = cp.base};
    wr_entry_header(&e, time_ms, index, 2);
    wr_cmd_encode(&e, &config);
    wr_cmd_encode(&e, &c);
    wr_writer_free(&cp);
    uint64_t before = wr_world_now(n->w);
    assert_int_equal(wr_world_apply(n->w, e.base, e.len), 0);
    n->applied = index;
    wr_state_hash_applied(&n->h, index, before);
    wr_writer_free(&p);
    wr_writer_free(&e);
}

static void apply_join(struct node *n, uint64_t index, uint64_t time_ms)
{
    char name[16];
    snprintf(name, sizeof name, "p%llu", (unsigned long long)index);
    apply_join_named(n, index, time_ms, name);
}

/* Run @n's loop until @done or 3 s (bounded). */
static void run_until(struct node *n, bool (*done)(struct node *))
{
    uint64_t end = uv_hrtime() + 3000000000ull;
    while (!done(n) && uv_hrtime() < end) {
        uv_update_time(&n->loop);
        uv_run(&n->loop, UV_RUN_NOWAIT);
        uv_sleep(1);
    }
    assert_true(done(n));
}

static bool nothing_in_flight(struct node *n)
{
    return n->h.inflight == 0;
}

static bool current(struct node *n)
{
    char hex[17];
    uint64_t index;
    wr_state_hash_get(&n->h, hex, &index);
    return n->h.inflight == 0 && index == n->applied;
}

static void expect(struct node *n, const char *hex_want, uint64_t index_want)
{
    char hex[17];
    uint64_t index;
    wr_state_hash_get(&n->h, hex, &index);
    assert_string_equal(hex, hex_want);
    assert_int_equal(index, index_want);
}

/* Before the log, the empty world's hash; barriers and configuration
 * entries (the applied index moves, the world does not) keep it. */
static void starts_with_the_empty_world(void **state)
{
    (void)state;
    struct node n;
    node_init(&n);
    char empty[17];
    wr_world_hash(n.w, empty);
    expect(&n, empty, 0);
    n.applied = 7;
    expect(&n, empty, 7);
    node_close(&n);
}

/* A change inside a log-time period is not hashed at once: until the
 * world has been quiet, the hash still names the old index; then it is the
 * new state's, at the applied index. */
static void catches_up_when_quiet(void **state)
{
    (void)state;
    struct node n;
    node_init(&n);
    char empty[17], now[17];
    wr_world_hash(n.w, empty);
    apply_join(&n, 1, 100); /* log time 0 -> 100: same period */
    assert_int_equal(n.h.hashes, 0);
    expect(&n, empty, 0);
    run_until(&n, current);
    wr_world_hash(n.w, now);
    assert_string_not_equal(now, empty); /* the join changed the state */
    expect(&n, now, 1);
    assert_int_equal(n.h.hashes, 1);
    n.applied = 3; /* a barrier and a configuration entry later */
    expect(&n, now, 3);
    node_close(&n);
}

/* An entry that takes the log time into a new period is hashed at its own
 * index, whatever comes after; a later change in the same period leaves
 * the checkpoint's (index, hash) reported until the world is quiet. */
static void checkpoints_at_log_time_periods(void **state)
{
    (void)state;
    struct node n;
    node_init(&n);
    char at2[17];
    apply_join(&n, 1, 100);
    apply_join(&n, 2, WR_STATE_HASH_PERIOD_MS + 5); /* period 0 -> 1 */
    assert_int_equal(n.h.hashes, 1);
    wr_world_hash(n.w, at2);
    apply_join(&n, 3, WR_STATE_HASH_PERIOD_MS + 10); /* same period */
    run_until(&n, nothing_in_flight);
    expect(&n, at2, 2);
    run_until(&n, current);
    assert_int_equal(n.h.hashes, 2);
    node_close(&n);
}

/* Two nodes applying the same log at different moments hash the same
 * indexes (the entries that start a log-time period) and agree on every
 * one of them: what lets a monitor compare nodes under load. Control: a
 * node whose entry differs reports another hash at the same index. */
static void nodes_agree_at_checkpoints(void **state)
{
    (void)state;
    struct node a, b;
    node_init(&a);
    node_init(&b);
    size_t compared = 0;
    for (uint64_t i = 1; i <= 12; i++) {
        uint64_t t = i * 400; /* a checkpoint every 2 or 3 entries */
        bool checkpoint = t / WR_STATE_HASH_PERIOD_MS != (t - 400) / WR_STATE_HASH_PERIOD_MS;
        apply_join(&a, i, t);
        run_until(&a, nothing_in_flight);
        apply_join(&b, i, t);
        if (i % 4 == 0) /* b lets a hash wait now and then */
            continue;
        run_until(&b, nothing_in_flight);
        if (!checkpoint)
            continue;
        char ha[17], hb[17];
        uint64_t ia, ib;
        wr_state_hash_get(&a.h, ha, &ia);
        wr_state_hash_get(&b.h, hb, &ib);
        assert_int_equal(ia, i);
        assert_int_equal(ib, i);
        assert_string_equal(ha, hb);
        compared++;
    }
    assert_int_equal(compared, 3); /* entries 3, 5 and 10 (8 was left waiting) */
    apply_join_named(&a, 13, 13 * 400, "alice");
    apply_join_named(&b, 13, 13 * 400, "bob"); /* 5200: a checkpoint */
    run_until(&a, nothing_in_flight);
    run_until(&b, nothing_in_flight);
    char ha[17], hb[17];
    uint64_t ia, ib;
    wr_state_hash_get(&a.h, ha, &ia);
    wr_state_hash_get(&b.h, hb, &ib);
    assert_int_equal(ia, 13);
    assert_int_equal(ib, 13);
    assert_string_not_equal(ha, hb);
    node_close(&a);
    node_close(&b);
}

/* A restored snapshot is hashed once quiet, at the applied index. */
static void restore_is_hashed(void **state)
{
    (void)state;
    struct node src, n;
    node_init(&src);
    node_init(&n);
    apply_join(&src, 1, 100);
    apply_join(&src, 2, 200);
    struct wr_writer snap;
    wr_writer_init(&snap, 256);
    wr_world_snapshot(src.w, &snap);
    char want[17];
    wr_world_hash(src.w, want);
    assert_int_equal(wr_world_restore(n.w, snap.base, snap.len), 0);
    n.applied = 2;
    wr_state_hash_restored(&n.h);
    run_until(&n, current);
    expect(&n, want, 2);
    wr_writer_free(&snap);
    node_close(&src);
    node_close(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(starts_with_the_empty_world),
        cmocka_unit_test(catches_up_when_quiet),
        cmocka_unit_test(checkpoints_at_log_time_periods),
        cmocka_unit_test(nodes_agree_at_checkpoints),
        cmocka_unit_test(restore_is_hashed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
