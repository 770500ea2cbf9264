/* Deterministic tests of the raft glue (cluster/raft_glue.c) under
 * libraft's own raft_fixture: three in-memory servers on a simulated network,
 * disk and clock, each running the glue's real FSM (framing, apply,
 * snapshot, restore) around a real world (world/world.c), its status poll
 * and its propose/barrier with their callback contract. The glue is wrapped
 * around the fixture's servers (wr__raft_wrap); nothing else is replaced.
 *
 * Each test was run once with the behaviour it guards broken on purpose
 * (then reverted); the one-line sabotage and the failure it gave:
 *   propose_contract: raft_glue.c apply_cb, the user callback called
 *     twice: "propose callback ran 2 times, expected 1".
 *   malformed_entry_skipped_alike: world.c wr_world_apply, the `return -1;`
 *     after "skipping malformed entry" deleted: "node 1: verdicts differ
 *     from the expected at 1" (the version-0 entry was read, the world
 *     halted, and nothing after it applied).
 *   duplicate_after_snapshot: raft_glue.c fsm_restore, the state machine's
 *     restore replaced by `rv = 0;` (the snapshot never reaches the world):
 *     "0 != 0x1" on node 3's restore count. And world.c wr_world_snapshot,
 *     a session's last_seq written as 0: "0 != 0x2" on node 3's last_seq
 *     after the restore (seq 2 would have applied a second time there).
 *   status_polled: raft_glue.c poll_status, the "did role, leader or
 *     term change" test replaced by `if (1)`: "0x33 != 0x32" (a poll with
 *     nothing changed called on_change).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <raft.h>
#include <raft/fixture.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/arena.h"
#include "cluster/raft_glue.h"
#include "common/log.h"
#include "world/world.h"

#define N 3
#define MAX_STEPS 100000

struct verdict {
    uint64_t session;
    uint32_t seq;
    enum wr_verdict v;
};

struct node {
    unsigned i;
    struct wr_world *world;
    struct wr_raft *glue;
    struct verdict log[64];
    size_t n_log;
    unsigned snapshots, restores, changes;
    struct wr_raft_status last; /* as on_change last said */
};

struct glue_sim {
    struct raft_fixture f;
    struct node nodes[N];
};

static void on_verdict(void *data, const struct wr_cmd *cmd, enum wr_verdict v)
{
    struct node *n = data;
    if (cmd->session != 0 && n->n_log < 64)
        n->log[n->n_log++] = (struct verdict){cmd->session, cmd->seq, v};
}

static void fsm_apply(void *data, uint64_t index, const void *entry, size_t len)
{
    struct node *n = data;
    (void)index;
    wr_world_apply(n->world, entry, len);
}

static void fsm_snapshot(void *data, struct wr_writer *out)
{
    struct node *n = data;
    n->snapshots++;
    wr_world_snapshot(n->world, out);
}

static int fsm_restore(void *data, const void *buf, size_t len)
{
    struct node *n = data;
    n->restores++;
    return wr_world_restore(n->world, buf, len);
}

static void on_change(void *data, const struct wr_raft_status *st)
{
    struct node *n = data;
    n->changes++;
    n->last = *st;
}

static void step(struct glue_sim *s)
{
    raft_fixture_step(&s->f);
    for (unsigned i = 0; i < N; i++)
        wr__raft_poll(s->nodes[i].glue);
}

static bool run_until(struct glue_sim *s, bool (*done)(struct glue_sim *s, void *arg), void *arg,
                      unsigned max_ms)
{
    uint64_t end = raft_fixture_time(&s->f) + max_ms;
    for (unsigned k = 0; k < MAX_STEPS && !done(s, arg); k++) {
        if (raft_fixture_time(&s->f) >= end)
            break;
        step(s);
    }
    return done(s, arg);
}

static bool has_leader(struct glue_sim *s, void *arg)
{
    (void)arg;
    return s->nodes[0].last.role == WR_ROLE_LEADER && s->nodes[1].last.leader_id == 1 &&
           s->nodes[2].last.leader_id == 1;
}

/* Every node in @arg (a bitmask) applied all its leader has. */
static bool caught_up(struct glue_sim *s, void *arg)
{
    unsigned mask = *(unsigned *)arg;
    struct wr_raft_status lead;
    wr_raft_get_status(s->nodes[0].glue, &lead);
    for (unsigned i = 0; i < N; i++) {
        struct wr_raft_status st;
        wr_raft_get_status(s->nodes[i].glue, &st);
        if ((mask & (1u << i)) && st.applied_index < lead.last_index)
            return false;
    }
    return true;
}

static struct glue_sim *sim_create(unsigned snapshot_threshold, unsigned snapshot_trailing)
{
    struct glue_sim *s = calloc(1, sizeof *s);
    assert_non_null(s);
    assert_int_equal(raft_fixture_initialize(&s->f), 0);
    struct wr_raft_config rc = {.snapshot_threshold = snapshot_threshold,
                                .snapshot_trailing = snapshot_trailing};
    for (unsigned i = 0; i < N; i++) {
        struct node *n = &s->nodes[i];
        n->i = i;
        struct wr_world_hooks wh = {.data = n, .on_verdict = on_verdict};
        n->world = wr_world_create(&wh);
        struct wr_raft_fsm fsm = {
            .data = n, .apply = fsm_apply, .snapshot = fsm_snapshot, .restore = fsm_restore};
        struct wr_raft_hooks rh = {.data = n, .on_change = on_change};
        struct raft_fsm *rf;
        n->glue = wr__raft_wrap(&fsm, &rh, &rf);
        assert_int_equal(raft_fixture_grow(&s->f, rf), 0);
        wr__raft_attach(n->glue, raft_fixture_get(&s->f, i), &rc);
    }
    struct raft_configuration conf;
    assert_int_equal(raft_fixture_configuration(&s->f, N, &conf), 0);
    assert_int_equal(raft_fixture_bootstrap(&s->f, &conf), 0);
    raft_configuration_close(&conf);
    assert_int_equal(raft_fixture_start(&s->f), 0);
    /* Index 0 has the fixture's shortest election timeout. */
    assert_true(run_until(s, has_leader, NULL, 5000));
    return s;
}

static void sim_destroy(struct glue_sim *s)
{
    raft_fixture_close(&s->f);
    for (unsigned i = 0; i < N; i++) {
        wr__raft_unwrap(s->nodes[i].glue);
        wr_world_destroy(s->nodes[i].world);
    }
    free(s);
}

/* ---- entries ------------------------------------------------------------ */

static void put_cmd(struct wr_writer *w, uint8_t type, uint64_t session, uint32_t seq)
{
    struct wr_writer pl;
    wr_writer_init(&pl, 32);
    if (type == WR_ARENA_CONFIG)
        wr_arena_encode_config(&pl, 64, 48);
    else if (type == WR_ARENA_JOIN) {
        char name[24];
        snprintf(name, sizeof name, "p%llu", (unsigned long long)session);
        wr_arena_encode_join(&pl, name);
    } else
        wr_arena_encode_move(&pl, WR_DIR_RIGHT, seq);
    struct wr_cmd c = {.module = WR_MODULE_ARENA,
                       .type = type,
                       .node = 1,
                       .session = session,
                       .seq = seq,
                       .len = (uint16_t)pl.len,
                       .payload = pl.base};
    wr_cmd_encode(w, &c);
    wr_writer_free(&pl);
}

struct cb_count {
    unsigned calls;
    int status;
};

static void done_cb(void *arg, int status)
{
    struct cb_count *c = arg;
    c->calls++;
    c->status = status;
}

static void propose(struct glue_sim *s, const struct wr_writer *w, struct cb_count *c)
{
    assert_int_equal(wr_raft_propose(s->nodes[0].glue, w->base, w->len, done_cb, c), 0);
}

static void propose_one(struct glue_sim *s, uint8_t type, uint64_t session, uint32_t seq,
                        struct cb_count *c)
{
    struct wr_writer w;
    wr_writer_init(&w, 64);
    wr_entry_header(&w, 1000, 42 + seq, 1);
    put_cmd(&w, type, session, seq);
    propose(s, &w, c);
    wr_writer_free(&w);
}

static void expect_verdicts(const struct node *n, const struct verdict *want, size_t n_want)
{
    for (size_t k = 0; k < n_want || k < n->n_log; k++) {
        if (k >= n_want || k >= n->n_log || n->log[k].session != want[k].session ||
            n->log[k].seq != want[k].seq || n->log[k].v != want[k].v)
            fail_msg("node %u: verdicts differ from the expected at %zu", n->i + 1, k);
    }
}

static void expect_same_state(struct glue_sim *s)
{
    char h0[17], h[17];
    wr_world_hash(s->nodes[0].world, h0);
    for (unsigned i = 1; i < N; i++) {
        wr_world_hash(s->nodes[i].world, h);
        assert_string_equal(h, h0);
    }
}

/* ---- tests --------------------------------------------------------------- */

/* Status reaches the hooks through the poll: one leader, known to all. */
static void test_status_polled(void **state)
{
    (void)state;
    struct glue_sim *s = sim_create(1u << 20, 1u << 10);
    assert_int_equal(s->nodes[0].last.role, WR_ROLE_LEADER);
    for (unsigned i = 0; i < N; i++) {
        assert_true(s->nodes[i].changes >= 1);
        assert_int_equal(s->nodes[i].last.leader_id, 1);
        assert_int_equal(s->nodes[i].last.term, s->nodes[0].last.term);
        struct wr_raft_status st;
        wr_raft_get_status(s->nodes[i].glue, &st);
        assert_int_equal(st.role, s->nodes[i].last.role);
        assert_string_equal(st.leader_address, "1");
    }
    /* Polling again with nothing changed calls nobody. */
    unsigned before = s->nodes[1].changes;
    wr__raft_poll(s->nodes[1].glue);
    assert_int_equal(s->nodes[1].changes, before);
    sim_destroy(s);
}

/* Proposals keep the callback contract: on a follower the call fails and
 * the callback never runs; on the leader it runs exactly once, with 0, once
 * the entry is applied here; so does a barrier's. */
static void test_propose_contract(void **state)
{
    (void)state;
    struct glue_sim *s = sim_create(1u << 20, 1u << 10);
    struct cb_count on_follower = {0}, on_leader = {0}, barrier = {0};
    struct wr_writer w;
    wr_writer_init(&w, 64);
    wr_entry_header(&w, 1000, 1, 1);
    put_cmd(&w, WR_ARENA_CONFIG, 0, 0);
    assert_int_equal(wr_raft_propose(s->nodes[1].glue, w.base, w.len, done_cb, &on_follower),
                     WR_ENOTLEADER);
    assert_int_equal(wr_raft_barrier(s->nodes[2].glue, done_cb, &barrier), WR_ENOTLEADER);
    propose(s, &w, &on_leader);
    wr_writer_free(&w);
    assert_int_equal(wr_raft_barrier(s->nodes[0].glue, done_cb, &barrier), 0);
    unsigned all = 7;
    assert_true(run_until(s, caught_up, &all, 2000));
    if (on_leader.calls != 1)
        fail_msg("propose callback ran %u times, expected 1", on_leader.calls);
    assert_int_equal(on_leader.status, 0);
    assert_int_equal(barrier.calls, 1);
    assert_int_equal(barrier.status, 0);
    assert_int_equal(on_follower.calls, 0);
    expect_same_state(s);
    sim_destroy(s);
}

/* Entries whose header is malformed are skipped, and a malformed command
 * ends its entry there, the same way on every node: every node applies the
 * same commands, later entries still apply, and the states are equal. */
static void test_malformed_entry_skipped_alike(void **state)
{
    (void)state;
    struct glue_sim *s = sim_create(1u << 20, 1u << 10);
    struct cb_count cb[6] = {{0}};
    struct wr_writer w;

    /* A: configure, and session 5 joins. */
    wr_writer_init(&w, 128);
    wr_entry_header(&w, 1000, 7, 2);
    put_cmd(&w, WR_ARENA_CONFIG, 0, 0);
    put_cmd(&w, WR_ARENA_JOIN, 5, 1);
    propose(s, &w, &cb[0]);
    /* M1: version 0, otherwise a good entry (session 6 joining). */
    w.len = 0;
    wr_entry_header(&w, 1000, 8, 1);
    put_cmd(&w, WR_ARENA_JOIN, 6, 1);
    w.base[0] = 0;
    propose(s, &w, &cb[1]);
    /* M2: a version from the future. */
    w.base[0] = 99;
    propose(s, &w, &cb[2]);
    /* A good one between them. */
    propose_one(s, WR_ARENA_MOVE, 5, 2, &cb[3]);
    /* M3: shorter than a header. */
    w.len = 0;
    wr_put_u8(&w, WR_ENTRY_VERSION);
    wr_put_u32(&w, 12345);
    assert_int_equal(wr_raft_propose(s->nodes[0].glue, w.base, w.len, done_cb, &cb[4]), 0);
    /* M4: two commands announced, the second cut short: the first applies. */
    w.len = 0;
    wr_entry_header(&w, 1000, 9, 2);
    put_cmd(&w, WR_ARENA_MOVE, 5, 3);
    size_t keep = w.len + 10;
    put_cmd(&w, WR_ARENA_MOVE, 5, 4);
    w.len = keep;
    propose(s, &w, &cb[5]);
    wr_writer_free(&w);
    struct cb_count last = {0};
    propose_one(s, WR_ARENA_MOVE, 5, 4, &last);

    unsigned all = 7;
    assert_true(run_until(s, caught_up, &all, 3000));
    for (int k = 0; k < 6; k++) {
        assert_int_equal(cb[k].calls, 1);
        assert_int_equal(cb[k].status, 0);
    }
    assert_int_equal(last.calls, 1);
    const struct verdict want[] = {
        {5, 1, WR_APPLIED}, {5, 2, WR_APPLIED}, {5, 3, WR_APPLIED}, {5, 4, WR_APPLIED}};
    struct wr_session_info si;
    for (unsigned i = 0; i < N; i++) {
        expect_verdicts(&s->nodes[i], want, 4);
        assert_false(wr_world_session(s->nodes[i].world, 6, &si));
        assert_null(wr_world_halted(s->nodes[i].world));
    }
    expect_same_state(s);
    sim_destroy(s);
}

/* Node 3 misses a session's first commands and catches up from a snapshot
 * (InstallSnapshot: the glue's snapshot framing and restore). The same
 * (session, seq) proposed again is then a DUPLICATE there as everywhere,
 * and the next seq applies. */
static void test_duplicate_after_snapshot(void **state)
{
    (void)state;
    struct glue_sim *s = sim_create(8, 2);
    for (unsigned j = 0; j < 2; j++) {
        raft_fixture_disconnect(&s->f, 2, j); /* one-way in libraft 0.15 */
        raft_fixture_disconnect(&s->f, j, 2);
    }
    struct cb_count cb = {0};
    propose_one(s, WR_ARENA_CONFIG, 0, 0, &cb);
    propose_one(s, WR_ARENA_JOIN, 7, 1, &cb);
    propose_one(s, WR_ARENA_MOVE, 7, 2, &cb);
    for (int k = 0; k < 12; k++) { /* empty entries, past the threshold */
        struct wr_writer w;
        wr_writer_init(&w, 32);
        wr_entry_header(&w, 1000, 100 + (uint64_t)k, 0);
        propose(s, &w, &cb);
        wr_writer_free(&w);
    }
    unsigned two = 3;
    assert_true(run_until(s, caught_up, &two, 3000));
    assert_true(s->nodes[0].snapshots >= 1);
    assert_int_equal(s->nodes[2].n_log, 0);

    for (unsigned j = 0; j < 2; j++) {
        raft_fixture_reconnect(&s->f, 2, j);
        raft_fixture_reconnect(&s->f, j, 2);
    }
    unsigned all = 7;
    assert_true(run_until(s, caught_up, &all, 5000));
    struct node *late = &s->nodes[2];
    assert_int_equal(late->restores, 1);
    assert_int_equal(late->n_log, 0); /* it got session 7 from the snapshot */
    struct wr_session_info si;
    if (!wr_world_session(late->world, 7, &si))
        fail_msg("node 3: restored %u snapshot(s) but session 7 is unknown", late->restores);
    assert_int_equal(si.last_seq, 2);

    propose_one(s, WR_ARENA_MOVE, 7, 2, &cb);
    propose_one(s, WR_ARENA_MOVE, 7, 3, &cb);
    assert_true(run_until(s, caught_up, &all, 3000));
    const struct verdict tail[] = {{7, 2, WR_DUPLICATE}, {7, 3, WR_APPLIED}};
    for (unsigned i = 0; i < N; i++) {
        struct node *n = &s->nodes[i];
        assert_int_equal(n->n_log, n == late ? 2 : 4);
        for (int k = 0; k < 2; k++) {
            const struct verdict *v = &n->log[n->n_log - 2 + (size_t)k];
            if (v->session != 7 || v->seq != tail[k].seq || v->v != tail[k].v)
                fail_msg("node %u: seq %u of session 7 got verdict %d, expected %d", i + 1,
                         v->seq, v->v, tail[k].v);
        }
    }
    expect_same_state(s);
    sim_destroy(s);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    if (getenv("WARREN_TEST_LOG") == NULL)
        wr_log_set_level((enum wr_log_level)(WR_LOG_ERROR + 1)); /* quiet */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_polled),
        cmocka_unit_test(test_propose_contract),
        cmocka_unit_test(test_malformed_entry_skipped_alike),
        cmocka_unit_test(test_duplicate_after_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
