/* Deterministic tests of the proposer (cluster/proposer.c), the code that
 * makes "nothing acknowledged is lost" true: resend on a leader change,
 * dedup by (session, seq), in-order apply, give-up after the queue timeout.
 *
 * Three nodes run in one process, each with the real pieces a node wires
 * together (node/node.c): a world (world/world.c), the raft glue
 * (cluster/raft_glue.c, wrapped around a server of libraft's own
 * raft_fixture: an in-memory network and disk under a simulated clock) and a
 * proposer on that glue and that clock (wr__proposer_create_with). The
 * forward channel is real: a dial gives both proposers the two ends of a
 * loopback TCP connection, and frames go through the proposer's own frame
 * code; only the authenticated handshake (tests/unit/test_transport.c) is
 * skipped. Cutting a node off closes its sockets with shutdown(2), the way a
 * dead peer does. Entry seeds are fixed (see sim_propose), so every run is
 * the same.
 *
 * Each test was run once with the behaviour it guards broken on purpose
 * (then reverted); the one-line sabotage and the failure it gave:
 *   leader_killed_mid_batch: proposer.c wr_proposer_on_change, deleted
 *     `p->send_pos = p->head;` in the became-leader branch (a new leader
 *     batches its own pending commands again): "node 2: session 3001
 *     applied 0 of 8 in 20000 ms" (node 3, the new leader, lost its own).
 *   leader_deposed_in_flight: proposer.c dial_cb, deleted
 *     `p->send_pos = p->head;` (a new forward connection resends all that
 *     is pending): "node 1: session 1001 applied 0 of 10 in 20000 ms" (the
 *     deposed leader's own commands never reached the new one; the same
 *     sabotage fails leader_killed_mid_batch too).
 *   forwarded_reply_lost: proposer.c wr__proposer_tick, the resend
 *     `p->send_pos = p->head;` made an empty statement: "expected a resend
 *     and a DUPLICATE on node 3, got resent=0 duplicates=0". And world.c
 *     apply_cmd, `cmd->seq <= s->last_seq` -> `<` (dedup broken): "got
 *     resent=3 duplicates=0".
 *   give_up_after_queue_timeout: proposer.c wr__proposer_tick,
 *     `expire_session(p, e->session);` -> `break;`: "on_expired calls 0,
 *     expected 1".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <raft.h>
#include <raft/fixture.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena/arena.h"
#include "cluster/proposer.h"
#include "cluster/raft_glue.h"
#include "common/log.h"
#include "world/world.h"

#define N 3
#define TICK_MS 50
#define MAX_STEPS 200000 /* a bound on every run loop, besides sim time */
#define MAX_LINKS 64
#define MAX_DIALS 16

struct verdict {
    uint64_t session;
    uint32_t seq;
    enum wr_verdict v;
};

struct sim;

struct node {
    struct sim *sim;
    unsigned i; /* fixture index; raft id i + 1 */
    bool dead;
    struct wr_world *world;
    struct wr_raft *glue;
    struct wr_proposer *p;
    struct verdict *log;
    size_t n_log, cap_log;
    uint64_t expired[8]; /* sessions on_expired reported */
    size_t n_expired;
    unsigned moved_events[64]; /* MOVED/CHANGED of this node's sessions, by client seq */
    uint64_t watch_session;    /* the session moved_events counts */
};

/* A forward-channel connection the sim made: both fds and their inodes,
 * so that a cut never shuts down an fd number reused since. */
struct link {
    unsigned from, to;
    int fd[2];
    ino_t ino[2];
};

struct dial {
    unsigned from, to;
    struct wr_dial *req;
    wr_dial_cb cb;
};

struct sim {
    struct raft_fixture f;
    uv_loop_t loop;
    struct node nodes[N];
    bool cut[N]; /* forward channel to and from this node refused */
    struct link links[MAX_LINKS];
    size_t n_links;
    struct dial dials[MAX_DIALS];
    size_t n_dials;
    uint64_t next_tick;
    uint64_t entries; /* proposed so far: the seed of the next */
};

/* ---- the pieces' hooks ------------------------------------------------ */

static void on_verdict(void *data, const struct wr_cmd *cmd, enum wr_verdict v)
{
    struct node *n = data;
    if (cmd->session != 0) {
        if (n->n_log == n->cap_log) {
            n->cap_log = n->cap_log ? n->cap_log * 2 : 256;
            n->log = realloc(n->log, n->cap_log * sizeof *n->log);
            assert_non_null(n->log);
        }
        n->log[n->n_log++] = (struct verdict){cmd->session, cmd->seq, v};
    }
    wr_proposer_on_verdict(n->p, cmd, v);
}

/* What a client of this node would be shown: its moves' acknowledgements. */
static void on_event(void *data, const struct wr_event *ev)
{
    struct node *n = data;
    if (ev->module != WR_MODULE_ARENA ||
        (ev->type != WR_ARENA_EV_MOVED && ev->type != WR_ARENA_EV_CHANGED))
        return;
    const struct wr_arena_player *pl = ev->data;
    if (pl->session == n->watch_session && pl->node == n->i + 1 && pl->seq < 64)
        n->moved_events[pl->seq]++;
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
    wr_world_snapshot(n->world, out);
}

static int fsm_restore(void *data, const void *buf, size_t len)
{
    struct node *n = data;
    return wr_world_restore(n->world, buf, len);
}

static void on_change(void *data, const struct wr_raft_status *st)
{
    struct node *n = data;
    wr_proposer_on_change(n->p, st);
}

/* As the node does: the arena must be configured before anyone joins. */
static void on_leader_ready(void *data, uint64_t term)
{
    struct node *n = data;
    struct wr_writer w;
    (void)term;
    wr_writer_init(&w, 8);
    wr_arena_encode_config(&w, 64, 48);
    struct wr_cmd c = {.module = WR_MODULE_ARENA,
                       .type = WR_ARENA_CONFIG,
                       .node = n->i + 1,
                       .len = (uint16_t)w.len,
                       .payload = w.base};
    wr_proposer_submit_setup(n->p, &c);
    wr_writer_free(&w);
}

static void on_expired(void *data, uint64_t session)
{
    struct node *n = data;
    if (n->n_expired < 8)
        n->expired[n->n_expired++] = session;
}

/* ---- the proposer's ops: fixture clock, glue, loopback forward channel -- */

static uint64_t sim_now(void *data)
{
    struct node *n = data;
    return raft_fixture_time(&n->sim->f);
}

static uint64_t sim_wall(void *data)
{
    return 1700000000000ull + sim_now(data);
}

/* The glue's propose, with the entry's seed (bytes 9..16 of the header,
 * world.h) replaced by a count of entries: the proposer draws it from
 * libsodium, and these tests want the same run every time. */
static int sim_propose(void *data, const void *entry, size_t len, wr_raft_done_cb cb, void *arg)
{
    struct node *n = data;
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, entry, len);
    uint64_t seed = ++n->sim->entries;
    for (int b = 0; b < 8 && len >= WR_ENTRY_HEADER_BYTES; b++)
        copy[9 + b] = (uint8_t)(seed >> (8 * b));
    int rv = wr_raft_propose(n->glue, copy, len, cb, arg);
    free(copy);
    return rv;
}

static int sim_barrier(void *data, wr_raft_done_cb cb, void *arg)
{
    struct node *n = data;
    return wr_raft_barrier(n->glue, cb, arg);
}

/* Completed by sim_pump, never inside the call (transport.h's contract). */
static int sim_dial(void *data, struct wr_dial *req, uint64_t id, const char *address,
                    wr_dial_cb cb)
{
    struct node *n = data;
    struct sim *s = n->sim;
    (void)address;
    assert_true(id >= 1 && id <= N);
    assert_true(s->n_dials < MAX_DIALS);
    s->dials[s->n_dials++] = (struct dial){n->i, (unsigned)id - 1, req, cb};
    return 0;
}

static ino_t inode_of(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? st.st_ino : 0;
}

/* A connected loopback TCP pair: fd[0] dialled, fd[1] accepted. */
static void tcp_pair(int fd[2])
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(l >= 0);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
    fd[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd[0] >= 0);
    assert_int_equal(connect(fd[0], (struct sockaddr *)&a, sizeof a), 0);
    fd[1] = accept(l, NULL, NULL);
    assert_true(fd[1] >= 0);
    close(l);
}

static uv_tcp_t *tcp_handle(struct sim *s, int fd)
{
    uv_tcp_t *t = malloc(sizeof *t); /* the proposer frees it (transport.h) */
    assert_non_null(t);
    assert_int_equal(uv_tcp_init(&s->loop, t), 0);
    assert_int_equal(uv_tcp_open(t, fd), 0);
    return t;
}

static void complete_dial(struct sim *s, const struct dial *d)
{
    if (s->cut[d->from] || s->cut[d->to] || s->nodes[d->to].dead) {
        d->cb(d->req, NULL, UV_ECONNREFUSED);
        return;
    }
    assert_true(s->n_links < MAX_LINKS);
    struct link *l = &s->links[s->n_links++];
    tcp_pair(l->fd);
    l->from = d->from;
    l->to = d->to;
    l->ino[0] = inode_of(l->fd[0]);
    l->ino[1] = inode_of(l->fd[1]);
    wr_proposer_accept(s->nodes[d->to].p, d->from + 1, tcp_handle(s, l->fd[1]));
    d->cb(d->req, tcp_handle(s, l->fd[0]), 0);
}

/* Close every forward connection to or from node @i, as a dead peer or a
 * cable pulled would: both proposers read an error and drop it. */
static void cut_links(struct sim *s, unsigned i)
{
    for (size_t k = 0; k < s->n_links; k++) {
        struct link *l = &s->links[k];
        if (l->from != i && l->to != i)
            continue;
        for (int e = 0; e < 2; e++)
            if (l->ino[e] != 0 && inode_of(l->fd[e]) == l->ino[e])
                shutdown(l->fd[e], SHUT_RDWR);
        l->ino[0] = l->ino[1] = 0;
    }
}

/* ---- driving the simulation ------------------------------------------- */

/* Everything a node's loop would do at the current simulated time: status
 * polls, dials, socket reads and the once-per-iteration flush, and every
 * proposer tick that fell due. */
static void sim_pump(struct sim *s)
{
    for (unsigned i = 0; i < N; i++)
        if (!s->nodes[i].dead)
            wr__raft_poll(s->nodes[i].glue);
    for (int round = 0; round < 3; round++) {
        struct dial todo[MAX_DIALS];
        size_t n = s->n_dials;
        memcpy(todo, s->dials, n * sizeof *todo);
        s->n_dials = 0;
        for (size_t k = 0; k < n; k++)
            complete_dial(s, &todo[k]);
        uv_run(&s->loop, UV_RUN_NOWAIT);
    }
    uint64_t now = raft_fixture_time(&s->f);
    while (s->next_tick <= now) {
        for (unsigned i = 0; i < N; i++)
            if (!s->nodes[i].dead)
                wr__proposer_tick(s->nodes[i].p);
        s->next_tick += TICK_MS;
    }
    uv_run(&s->loop, UV_RUN_NOWAIT);
}

static void sim_step(struct sim *s)
{
    raft_fixture_step(&s->f);
    sim_pump(s);
}

/* Step until @done or @max_ms of simulated time; returns done's verdict. */
static bool sim_run_until(struct sim *s, bool (*done)(struct sim *s, void *arg), void *arg,
                          unsigned max_ms)
{
    uint64_t end = raft_fixture_time(&s->f) + max_ms;
    for (unsigned k = 0; k < MAX_STEPS && !done(s, arg); k++) {
        if (raft_fixture_time(&s->f) >= end)
            break;
        sim_step(s);
    }
    return done(s, arg);
}

static void sim_run_for(struct sim *s, unsigned ms)
{
    uint64_t end = raft_fixture_time(&s->f) + ms;
    for (unsigned k = 0; k < MAX_STEPS && raft_fixture_time(&s->f) < end; k++)
        sim_step(s);
}

static bool leader_ready(struct sim *s, void *arg)
{
    unsigned i = *(unsigned *)arg;
    return wr_proposer_leader_ready(s->nodes[i].p) != 0;
}

/* Every live node knows a leader and has applied what it knows committed. */
static bool settled(struct sim *s, void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < N; i++) {
        if (s->nodes[i].dead)
            continue;
        struct wr_raft_status st;
        wr_raft_get_status(s->nodes[i].glue, &st);
        if (st.leader_id == 0 || st.applied_index < st.commit_index)
            return false;
    }
    return true;
}

static struct sim *sim_create(const struct wr_proposer_config *base)
{
    struct sim *s = calloc(1, sizeof *s);
    assert_non_null(s);
    assert_int_equal(uv_loop_init(&s->loop), 0);
    assert_int_equal(raft_fixture_initialize(&s->f), 0);
    struct wr_raft_config rc = {.snapshot_threshold = 1u << 20, .snapshot_trailing = 1u << 10};
    for (unsigned i = 0; i < N; i++) {
        struct node *n = &s->nodes[i];
        n->sim = s;
        n->i = i;
        struct wr_world_hooks wh = {.data = n, .on_event = on_event, .on_verdict = on_verdict};
        n->world = wr_world_create(&wh);
        struct wr_raft_fsm fsm = {
            .data = n, .apply = fsm_apply, .snapshot = fsm_snapshot, .restore = fsm_restore};
        struct wr_raft_hooks rh = {.data = n, .on_change = on_change};
        struct raft_fsm *rf;
        n->glue = wr__raft_wrap(&fsm, &rh, &rf);
        assert_int_equal(raft_fixture_grow(&s->f, rf), 0);
        wr__raft_attach(n->glue, raft_fixture_get(&s->f, i), &rc);
        struct wr_proposer_ops ops = {.data = n,
                                      .now_ms = sim_now,
                                      .wall_ms = sim_wall,
                                      .propose = sim_propose,
                                      .barrier = sim_barrier,
                                      .dial = sim_dial,
                                      .caller_ticks = true};
        struct wr_proposer_config pc = *base;
        pc.node_id = i + 1;
        struct wr_proposer_hooks ph = {
            .data = n, .on_leader_ready = on_leader_ready, .on_expired = on_expired};
        n->p = wr__proposer_create_with(&s->loop, &ops, &pc, &ph);
    }
    struct raft_configuration conf;
    assert_int_equal(raft_fixture_configuration(&s->f, N, &conf), 0);
    assert_int_equal(raft_fixture_bootstrap(&s->f, &conf), 0);
    raft_configuration_close(&conf);
    assert_int_equal(raft_fixture_start(&s->f), 0);
    /* Node 1 (index 0) has the shortest election timeout: it leads first. */
    unsigned first = 0;
    assert_true(sim_run_until(s, leader_ready, &first, 5000));
    assert_true(sim_run_until(s, settled, NULL, 2000));
    return s;
}

static unsigned closed_count;

static void proposer_closed(void *arg)
{
    (void)arg;
    closed_count++;
}

static void sim_destroy(struct sim *s)
{
    for (unsigned i = 0; i < N; i++)
        wr_proposer_quiesce(s->nodes[i].p);
    /* Fails what is in flight (callbacks into the proposers, still here). */
    raft_fixture_close(&s->f);
    for (size_t k = 0; k < s->n_dials; k++)
        s->dials[k].cb(s->dials[k].req, NULL, UV_ECANCELED);
    s->n_dials = 0;
    closed_count = 0;
    for (unsigned i = 0; i < N; i++)
        wr_proposer_destroy(s->nodes[i].p, proposer_closed, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    assert_int_equal(closed_count, N);
    assert_int_equal(uv_loop_close(&s->loop), 0);
    for (unsigned i = 0; i < N; i++) {
        wr__raft_unwrap(s->nodes[i].glue);
        wr_world_destroy(s->nodes[i].world);
        free(s->nodes[i].log);
    }
    free(s);
}

/* ---- commands ---------------------------------------------------------- */

static void submit(struct sim *s, unsigned i, uint64_t session, uint32_t seq)
{
    struct wr_writer w;
    wr_writer_init(&w, 32);
    struct wr_cmd c = {.module = WR_MODULE_ARENA,
                       .node = i + 1,
                       .session = session,
                       .seq = seq};
    if (seq == 1) {
        char name[24];
        snprintf(name, sizeof name, "p%llu", (unsigned long long)session);
        wr_arena_encode_join(&w, name);
        c.type = WR_ARENA_JOIN;
    } else {
        wr_arena_encode_move(&w, (enum wr_arena_dir)(seq % 4), seq);
        c.type = WR_ARENA_MOVE;
    }
    c.len = (uint16_t)w.len;
    c.payload = w.base;
    assert_int_equal(wr_proposer_submit(s->nodes[i].p, &c), 0);
    wr_writer_free(&w);
}

static void submit_range(struct sim *s, unsigned i, uint64_t session, uint32_t from, uint32_t to)
{
    for (uint32_t q = from; q <= to; q++)
        submit(s, i, session, q);
}

/* How many of seq 1..@n of @session node @i applied, in order and once
 * each; -1 if an APPLIED verdict came twice or out of order. */
static int applied_prefix(const struct node *n, uint64_t session, uint32_t max)
{
    uint32_t next = 1;
    for (size_t k = 0; k < n->n_log; k++) {
        const struct verdict *v = &n->log[k];
        if (v->session != session || v->v != WR_APPLIED)
            continue;
        if (v->seq != next || next > max)
            return -1;
        next++;
    }
    return (int)(next - 1);
}

struct want {
    uint64_t sessions[N];
    size_t n_sessions;
    uint32_t n; /* every session's seq 1..n */
};

static bool all_applied(struct sim *s, void *arg)
{
    const struct want *w = arg;
    for (unsigned i = 0; i < N; i++) {
        if (s->nodes[i].dead)
            continue;
        for (size_t k = 0; k < w->n_sessions; k++)
            if (applied_prefix(&s->nodes[i], w->sessions[k], w->n) != (int)w->n)
                return false;
    }
    return true;
}

/* Fail with a line that says which node and session fell short. */
static void expect_all_applied(struct sim *s, const struct want *w, unsigned within_ms)
{
    bool ok = sim_run_until(s, all_applied, (void *)w, within_ms);
    for (unsigned i = 0; i < N && !ok; i++) {
        if (s->nodes[i].dead)
            continue;
        for (size_t k = 0; k < w->n_sessions; k++) {
            int got = applied_prefix(&s->nodes[i], w->sessions[k], w->n);
            if (got < 0)
                fail_msg("node %u: session %llu: a command applied twice or out of order", i + 1,
                         (unsigned long long)w->sessions[k]);
            if (got != (int)w->n)
                fail_msg("node %u: session %llu applied %d of %u in %u ms", i + 1,
                         (unsigned long long)w->sessions[k], got, w->n, within_ms);
        }
    }
    /* Nothing is left waiting, and every live replica is the same. */
    char h0[17] = "", h[17];
    for (unsigned i = 0; i < N; i++) {
        if (s->nodes[i].dead)
            continue;
        assert_int_equal(wr_proposer_stats(s->nodes[i].p)->pending, 0);
        wr_world_hash(s->nodes[i].world, h);
        if (h0[0] == '\0')
            memcpy(h0, h, sizeof h);
        assert_string_equal(h, h0);
    }
}

/* An entry appended on @i and not committed yet. */
static bool in_flight(struct sim *s, unsigned i)
{
    struct wr_raft_status st;
    wr_raft_get_status(s->nodes[i].glue, &st);
    return st.last_index > st.commit_index;
}

static void partition(struct sim *s, unsigned i)
{
    /* Both ways: libraft 0.15's disconnect is one-way. */
    for (unsigned j = 0; j < N; j++)
        if (j != i) {
            raft_fixture_disconnect(&s->f, i, j);
            raft_fixture_disconnect(&s->f, j, i);
        }
    s->cut[i] = true;
    cut_links(s, i);
}

static void heal(struct sim *s, unsigned i)
{
    for (unsigned j = 0; j < N; j++)
        if (j != i) {
            raft_fixture_reconnect(&s->f, i, j);
            raft_fixture_reconnect(&s->f, j, i);
        }
    s->cut[i] = false;
}

static struct wr_proposer_config test_config(void)
{
    struct wr_proposer_config c;
    wr_proposer_config_default(&c);
    /* Long enough that only the behaviour under test can deliver. */
    c.resend_ms = 60000;
    c.queue_timeout_ms = 60000;
    return c;
}

/* ---- tests -------------------------------------------------------------- */

/* The leader dies with a batch of forwarded and local commands appended but
 * not committed; more commands arrive during the election. The new leader
 * gets them all again from their origins: each applied once, in order. */
static void test_leader_killed_mid_batch(void **state)
{
    (void)state;
    struct wr_proposer_config pc = test_config();
    struct sim *s = sim_create(&pc);
    struct want w = {.sessions = {2001, 3001}, .n_sessions = 2, .n = 8};
    submit_range(s, 1, 2001, 1, 5);
    submit_range(s, 2, 3001, 1, 5);
    /* Until the leader (node 1) has the commands in its log, not longer. */
    for (int k = 0; k < 20 && !(in_flight(s, 0) &&
                                wr_proposer_stats(s->nodes[0].p)->forwarded_in >= 10);
         k++)
        sim_pump(s);
    assert_true(in_flight(s, 0));
    assert_int_equal(wr_proposer_stats(s->nodes[0].p)->forwarded_in, 10);

    raft_fixture_kill(&s->f, 0);
    s->nodes[0].dead = true;
    wr_proposer_quiesce(s->nodes[0].p);
    partition(s, 0);
    /* Mid-election: nobody leads yet. */
    sim_run_for(s, 1000);
    submit_range(s, 1, 2001, 6, 8);
    submit_range(s, 2, 3001, 6, 8);
    expect_all_applied(s, &w, 20000);
    /* A survivor leads now, and both origins sent their first five again. */
    struct wr_raft_status st1, st2;
    wr_raft_get_status(s->nodes[1].glue, &st1);
    wr_raft_get_status(s->nodes[2].glue, &st2);
    assert_true(st1.role == WR_ROLE_LEADER || st2.role == WR_ROLE_LEADER);
    assert_true(wr_proposer_stats(s->nodes[1].p)->resent >= 5);
    assert_true(wr_proposer_stats(s->nodes[2].p)->resent >= 5);
    sim_destroy(s);
}

/* The leader is cut off with its own and forwarded commands in flight; it
 * steps down, and later commands of the same sessions arrive meanwhile.
 * When it comes back everything reaches the new leader once, in order:
 * the later commands never overtake the ones still being resent. */
static void test_leader_deposed_in_flight(void **state)
{
    (void)state;
    struct wr_proposer_config pc = test_config();
    struct sim *s = sim_create(&pc);
    struct want w = {.sessions = {1001, 2001, 3001}, .n_sessions = 3, .n = 10};
    for (unsigned i = 0; i < N; i++)
        submit_range(s, i, 1001 + 1000 * i, 1, 5);
    for (int k = 0; k < 20 && !in_flight(s, 0); k++)
        sim_pump(s);
    assert_true(in_flight(s, 0));
    partition(s, 0);
    /* The later commands: node 1's queue behind its uncommitted ones. */
    for (unsigned i = 0; i < N; i++)
        submit_range(s, i, 1001 + 1000 * i, 6, 10);
    /* Node 1 notices it lost its majority and steps down. */
    unsigned first = 0;
    for (int k = 0; k < 4000 && leader_ready(s, &first); k++)
        sim_step(s);
    assert_false(leader_ready(s, &first));
    sim_run_for(s, 500);
    heal(s, 0);
    expect_all_applied(s, &w, 20000);
    /* Node 1's first five were in its own log, and are now gone from it:
     * they applied at their new index, once. */
    struct wr_raft_status st;
    wr_raft_get_status(s->nodes[0].glue, &st);
    assert_int_equal(st.role, WR_ROLE_FOLLOWER);
    assert_true(wr_proposer_stats(s->nodes[0].p)->resent >= 5);
    sim_destroy(s);
}

/* A command forwarded from node 3 is applied by the leader, but node 3
 * does not hear of it (the leader's messages to it are lost) before its
 * resend timer fires. The resend is a DUPLICATE everywhere, the command
 * applies once, and node 3's client sees one acknowledgement. */
static void test_forwarded_reply_lost(void **state)
{
    (void)state;
    struct wr_proposer_config pc = test_config();
    pc.resend_ms = 300;
    struct sim *s = sim_create(&pc);
    struct node *origin = &s->nodes[2];
    origin->watch_session = 3001;
    struct want w = {.sessions = {3001}, .n_sessions = 1, .n = 1};
    submit(s, 2, 3001, 1);
    expect_all_applied(s, &w, 3000);

    raft_fixture_saturate(&s->f, 0, 2); /* leader -> node 3: dropped */
    submit(s, 2, 3001, 2);
    /* Shorter than node 3's election timeout (1200 ms): it stays a
     * follower of node 1, so only the resend timer can send it again. */
    sim_run_for(s, 800);
    assert_int_equal(applied_prefix(&s->nodes[0], 3001, 2), 2);
    assert_int_equal(applied_prefix(origin, 3001, 2), 1);
    raft_fixture_desaturate(&s->f, 0, 2);
    w.n = 2;
    expect_all_applied(s, &w, 5000);

    uint64_t resent = wr_proposer_stats(origin->p)->resent;
    unsigned dups = 0;
    for (size_t k = 0; k < origin->n_log; k++)
        if (origin->log[k].session == 3001 && origin->log[k].seq == 2 &&
            origin->log[k].v == WR_DUPLICATE)
            dups++;
    if (resent == 0 || dups == 0)
        fail_msg("expected a resend and a DUPLICATE on node 3, got resent=%llu duplicates=%u",
                 (unsigned long long)resent, dups);
    for (unsigned i = 0; i < N; i++)
        if (applied_prefix(&s->nodes[i], 3001, 2) != 2)
            fail_msg("node %u: session 3001: seq 2 applied twice", i + 1);
    assert_int_equal(origin->moved_events[2], 1);
    sim_destroy(s);
}

/* Node 2 is cut off from everyone; its commands wait, then are given up
 * after the queue timeout: the session is reported expired once and its
 * commands are dropped, never to reach the log. Meanwhile node 3's commands
 * commit (the same path works), and after healing node 2's new ones do. */
static void test_give_up_after_queue_timeout(void **state)
{
    (void)state;
    struct wr_proposer_config pc = test_config();
    pc.queue_timeout_ms = 2000;
    struct sim *s = sim_create(&pc);
    partition(s, 1);
    submit_range(s, 1, 2001, 1, 4);
    submit_range(s, 2, 3001, 1, 4);
    struct node *cut = &s->nodes[1];
    sim_run_for(s, 1800);
    assert_int_equal(cut->n_expired, 0); /* not before the timeout */
    assert_int_equal(wr_proposer_stats(cut->p)->pending, 4);
    sim_run_for(s, 300);
    if (cut->n_expired != 1)
        fail_msg("on_expired calls %zu, expected 1", cut->n_expired);
    assert_int_equal(cut->expired[0], 2001);
    assert_int_equal(wr_proposer_stats(cut->p)->pending, 0);
    assert_int_equal(wr_proposer_stats(cut->p)->expired, 4);
    /* The positive control, in the same run: node 3's commands applied. */
    assert_int_equal(applied_prefix(&s->nodes[0], 3001, 4), 4);
    assert_int_equal(applied_prefix(&s->nodes[2], 3001, 4), 4);

    heal(s, 1);
    struct want w2 = {.sessions = {2002}, .n_sessions = 1, .n = 3};
    submit_range(s, 1, 2002, 1, 3);
    expect_all_applied(s, &w2, 10000);
    struct wr_session_info si;
    for (unsigned i = 0; i < N; i++)
        assert_false(wr_world_session(s->nodes[i].world, 2001, &si));
    assert_int_equal(cut->n_expired, 1);
    sim_destroy(s);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    if (getenv("WARREN_TEST_LOG") == NULL)
        wr_log_set_level((enum wr_log_level)(WR_LOG_ERROR + 1)); /* quiet */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_killed_mid_batch),
        cmocka_unit_test(test_leader_deposed_in_flight),
        cmocka_unit_test(test_forwarded_reply_lost),
        cmocka_unit_test(test_give_up_after_queue_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
