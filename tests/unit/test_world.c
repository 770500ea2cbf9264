/* Unit tests for the replicated state machine (world/world.c) and its arena
 * module (arena/arena.c). Entries are built with the public encoders and
 * applied with wr_world_apply; events and verdicts are captured through the
 * hooks. The properties that matter most for a cluster: the same entries give
 * the same state (bytes and hash) everywhere, a restored snapshot behaves
 * exactly like the state it was taken from, and no input crashes a node. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/arena.h"
#include "common/log.h"
#include "world/world.h"

/* ---- capture ---------------------------------------------------------- */

#define MAX_EV 128

struct ev_copy {
    uint8_t module, type;
    uint32_t node;
    uint64_t session;
    struct wr_arena_player p; /* JOINED, MOVED, LEFT */
    char code[32];            /* REFUSED */
};

struct rec {
    size_t n_ev; /* since the last rec_reset */
    struct ev_copy ev[MAX_EV];
    size_t n_v;
    enum wr_verdict v[MAX_EV];
    uint64_t digest; /* over every event and verdict since rec_reset_digest */
    size_t total_ev;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    uint64_t z = h ^ (v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2));
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void on_event(void *data, const struct wr_event *ev)
{
    struct rec *r = data;
    struct ev_copy c;
    memset(&c, 0, sizeof c);
    c.module = ev->module;
    c.type = ev->type;
    c.node = ev->node;
    c.session = ev->session;
    r->digest = mix(r->digest, ((uint64_t)ev->module << 8) | ev->type);
    r->digest = mix(r->digest, ev->node);
    r->digest = mix(r->digest, ev->session);
    if (ev->module == WR_MODULE_ARENA && ev->type == WR_ARENA_EV_REFUSED) {
        const struct wr_arena_refusal *ref = ev->data;
        assert_non_null(ref);
        assert_non_null(ref->code);
        assert_non_null(ref->msg);
        snprintf(c.code, sizeof c.code, "%s", ref->code);
        for (const char *s = ref->code; *s; s++)
            r->digest = mix(r->digest, (uint8_t)*s);
    } else if (ev->module == WR_MODULE_ARENA) {
        const struct wr_arena_player *p = ev->data;
        assert_non_null(p);
        c.p = *p;
        r->digest = mix(r->digest, p->id);
        r->digest = mix(r->digest, ((uint64_t)p->x << 16) | p->y);
        r->digest = mix(r->digest, p->seq);
        r->digest = mix(r->digest, p->session);
    }
    if (r->n_ev < MAX_EV)
        r->ev[r->n_ev] = c;
    r->n_ev++;
    r->total_ev++;
}

static void on_verdict(void *data, const struct wr_cmd *cmd, enum wr_verdict v)
{
    struct rec *r = data;
    assert_non_null(cmd);
    r->digest = mix(r->digest, ((uint64_t)v << 32) | cmd->seq);
    if (r->n_v < MAX_EV)
        r->v[r->n_v] = v;
    r->n_v++;
}

static void rec_reset(struct rec *r)
{
    r->n_ev = 0;
    r->n_v = 0;
}

static struct wr_world *new_world(struct rec *r)
{
    memset(r, 0, sizeof *r);
    struct wr_world_hooks h = {.data = r, .on_event = on_event, .on_verdict = on_verdict};
    return wr_world_create(&h);
}

static const struct wr_arena *arena_of(struct wr_world *w)
{
    return wr_world_module(w, WR_MODULE_ARENA);
}

/* ---- entry building ---------------------------------------------------- */

struct batch {
    struct wr_writer cmds;
    uint32_t count;
};

static void batch_init(struct batch *b)
{
    wr_writer_init(&b->cmds, 256);
    b->count = 0;
}

static void batch_free(struct batch *b)
{
    wr_writer_free(&b->cmds);
    b->count = 0;
}

static void batch_add(struct batch *b, uint8_t module, uint8_t type, uint32_t node,
                      uint64_t session, uint32_t seq, const struct wr_writer *payload)
{
    struct wr_cmd c = {
        .module = module,
        .type = type,
        .node = node,
        .session = session,
        .seq = seq,
        .len = payload ? (uint16_t)payload->len : 0,
        .payload = payload ? payload->base : NULL,
    };
    wr_cmd_encode(&b->cmds, &c);
    b->count++;
}

/* Header + commands into @out (initialised here). */
static void batch_entry(const struct batch *b, uint64_t time_ms, uint64_t seed,
                        struct wr_writer *out)
{
    wr_writer_init(out, 64 + b->cmds.len);
    wr_entry_header(out, time_ms, seed, b->count);
    wr_put_bytes(out, b->cmds.base, b->cmds.len);
}

/* Apply the batch as one entry and empty it. */
static void batch_apply(struct wr_world *w, struct rec *r, struct batch *b, uint64_t time_ms,
                        uint64_t seed)
{
    struct wr_writer e;
    batch_entry(b, time_ms, seed, &e);
    rec_reset(r);
    assert_int_equal(wr_world_apply(w, e.base, e.len), 0);
    assert_int_equal(r->n_v, b->count);
    wr_writer_free(&e);
    batch_free(b);
    batch_init(b);
}

static enum wr_verdict apply_one(struct wr_world *w, struct rec *r, uint64_t t, uint64_t seed,
                                 uint8_t module, uint8_t type, uint32_t node, uint64_t session,
                                 uint32_t seq, const struct wr_writer *payload)
{
    struct batch b;
    batch_init(&b);
    batch_add(&b, module, type, node, session, seq, payload);
    batch_apply(w, r, &b, t, seed);
    batch_free(&b);
    assert_int_equal(r->n_v, 1);
    return r->v[0];
}

static enum wr_verdict do_config(struct wr_world *w, struct rec *r, uint64_t t, uint16_t width,
                                 uint16_t height)
{
    struct wr_writer p;
    wr_writer_init(&p, 16);
    wr_arena_encode_config(&p, width, height);
    enum wr_verdict v = apply_one(w, r, t, 0, WR_MODULE_ARENA, WR_ARENA_CONFIG, 0, 0, 0, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict do_join(struct wr_world *w, struct rec *r, uint64_t t, uint64_t seed,
                               uint32_t node, uint64_t session, uint32_t seq, const char *name)
{
    struct wr_writer p;
    wr_writer_init(&p, 32);
    wr_arena_encode_join(&p, name);
    enum wr_verdict v =
        apply_one(w, r, t, seed, WR_MODULE_ARENA, WR_ARENA_JOIN, node, session, seq, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict do_move(struct wr_world *w, struct rec *r, uint64_t t, uint32_t node,
                               uint64_t session, uint32_t seq, enum wr_arena_dir dir, uint32_t cseq)
{
    struct wr_writer p;
    wr_writer_init(&p, 16);
    wr_arena_encode_move(&p, dir, cseq);
    enum wr_verdict v =
        apply_one(w, r, t, 0, WR_MODULE_ARENA, WR_ARENA_MOVE, node, session, seq, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict do_leave(struct wr_world *w, struct rec *r, uint64_t t, uint32_t node,
                                uint64_t session, uint32_t seq)
{
    return apply_one(w, r, t, 0, WR_MODULE_ARENA, WR_ARENA_LEAVE, node, session, seq, NULL);
}

static enum wr_verdict do_node_info(struct wr_world *w, struct rec *r, uint64_t t, uint32_t node,
                                    const char *http)
{
    struct wr_writer p;
    wr_writer_init(&p, 64);
    wr_put_str(&p, http);
    enum wr_verdict v = apply_one(w, r, t, 0, WR_MODULE_CORE, WR_CORE_NODE_INFO, node, 0, 0, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict do_place(struct wr_world *w, struct rec *r, uint64_t t, uint32_t node,
                                const char *name, uint64_t epoch)
{
    struct wr_writer p;
    wr_writer_init(&p, 64);
    wr_put_str(&p, name);
    wr_put_u64(&p, epoch);
    enum wr_verdict v = apply_one(w, r, t, 0, WR_MODULE_CORE, WR_CORE_PLACE, node, 0, 0, &p);
    wr_writer_free(&p);
    return v;
}

/* An entry with no commands: advances log time (and pruning). */
static void do_tick(struct wr_world *w, struct rec *r, uint64_t t)
{
    struct batch b;
    batch_init(&b);
    batch_apply(w, r, &b, t, 0);
    batch_free(&b);
}

/* ---- state checks ------------------------------------------------------ */

static void snap(struct wr_world *w, struct wr_writer *out)
{
    wr_writer_init(out, 1024);
    wr_world_snapshot(w, out);
}

static void assert_same_state(struct wr_world *a, struct wr_world *b)
{
    struct wr_writer sa, sb;
    snap(a, &sa);
    snap(b, &sb);
    assert_int_equal(sa.len, sb.len);
    assert_memory_equal(sa.base, sb.base, sa.len);
    wr_writer_free(&sa);
    wr_writer_free(&sb);
    char ha[17], hb[17];
    wr_world_hash(a, ha);
    wr_world_hash(b, hb);
    assert_string_equal(ha, hb);
}

static void assert_world_empty(struct wr_world *w)
{
    struct rec r;
    struct wr_world *fresh = new_world(&r);
    assert_same_state(w, fresh);
    wr_world_destroy(fresh);
    assert_int_equal(wr_world_now(w), 0);
    assert_int_equal(wr_world_registry_count(w), 0);
    assert_int_equal(wr_arena_count(arena_of(w)), 0);
    assert_int_equal(wr_arena_width(arena_of(w)), 0);
    assert_int_equal(wr_arena_height(arena_of(w)), 0);
}

/* The world is usable: configure, join, move, leave all work. */
static void assert_usable(struct wr_world *w, struct rec *r)
{
    uint64_t t = wr_world_now(w) + 1;
    uint64_t key = 0xC0FFEE0000000001ull;
    struct wr_session_info si;
    while (wr_world_session(w, key, &si))
        key++;
    do_config(w, r, t, 16, 16);
    assert_true(wr_arena_width(arena_of(w)) >= 1);
    char name[32];
    snprintf(name, sizeof name, "probe%u", (unsigned)(key & 0xffff));
    assert_int_equal(do_join(w, r, t, 99, 1, key, 1, name), WR_APPLIED);
    assert_int_equal(r->n_ev, 1);
    if (r->ev[0].type == WR_ARENA_EV_JOINED) {
        assert_non_null(wr_arena_by_session(arena_of(w), key));
        assert_int_equal(do_move(w, r, t, 1, key, 2, WR_DIR_UP, 1), WR_APPLIED);
        assert_int_equal(r->n_ev, 1);
        assert_int_equal(r->ev[0].type, WR_ARENA_EV_MOVED);
        assert_int_equal(do_leave(w, r, t, 1, key, 3), WR_APPLIED);
        assert_int_equal(r->ev[0].type, WR_ARENA_EV_LEFT);
    } else {
        /* Refused (a full arena, say): the session is closed. */
        assert_int_equal(r->ev[0].type, WR_ARENA_EV_REFUSED);
        assert_int_equal(do_leave(w, r, t, 1, key, 2), WR_STALE);
    }
    assert_null(wr_arena_by_session(arena_of(w), key));
}

/* Arena invariants from the public API; with @sessions, also that every
 * player's session is open in the world and owned by the player's node. */
static void check_arena(struct wr_world *w, bool sessions)
{
    const struct wr_arena *a = arena_of(w);
    size_t n = wr_arena_count(a);
    const struct wr_arena_player *ps = wr_arena_players(a);
    uint16_t width = wr_arena_width(a), height = wr_arena_height(a);
    if (n > 0)
        assert_true((size_t)width * height >= n);
    for (size_t i = 0; i < n; i++) {
        const struct wr_arena_player *p = &ps[i];
        assert_true(p->x < width && p->y < height);
        assert_int_not_equal(p->id, 0);
        assert_int_not_equal(p->session, 0);
        assert_ptr_equal(wr_arena_by_session(a, p->session), p);
        assert_ptr_equal(wr_arena_by_id(a, p->id), p);
        if (sessions) /* a restored (possibly corrupt) state may repeat names */
            assert_ptr_equal(wr_arena_by_name(a, p->name), p);
        for (size_t j = 0; j < i; j++) {
            assert_false(ps[j].x == p->x && ps[j].y == p->y);
            assert_int_not_equal(ps[j].id, p->id);
            assert_false(ps[j].session == p->session);
        }
        if (sessions) {
            assert_true(wr_arena_name_ok(p->name, strlen(p->name)));
            struct wr_session_info si;
            assert_true(wr_world_session(w, p->session, &si));
            assert_true(si.open);
            assert_int_equal(si.node, p->node);
            assert_true(si.last_seq >= 1);
        }
    }
}

static const struct wr_arena_player *player(struct wr_world *w, uint64_t session)
{
    return wr_arena_by_session(arena_of(w), session);
}

/* Field by field: struct copies need not preserve padding bytes. */
static void assert_same_player(const struct wr_arena_player *p, const struct wr_arena_player *q)
{
    assert_non_null(p);
    assert_int_equal(p->id, q->id);
    assert_int_equal(p->node, q->node);
    assert_int_equal(p->session, q->session);
    assert_int_equal(p->seq, q->seq);
    assert_int_equal(p->x, q->x);
    assert_int_equal(p->y, q->y);
    assert_string_equal(p->name, q->name);
}

static bool session_open(struct wr_world *w, uint64_t key)
{
    struct wr_session_info si;
    return wr_world_session(w, key, &si) && si.open;
}

static uint64_t rng_next(uint64_t *s)
{
    return wr_mix64(s);
}

/* ---- random play ------------------------------------------------------- */

#define NSLOTS 48

enum { SLOT_FRESH = 0, SLOT_JOINED = 1 };

struct slot {
    uint64_t key;
    uint32_t node;
    uint32_t seq; /* last seq sent */
    uint32_t cseq;
    int state;
};

struct play {
    uint64_t rng;
    uint64_t t;
    struct slot slots[NSLOTS];
    size_t commands;
};

static void slot_renew(struct play *pl, struct slot *s)
{
    do
        s->key = rng_next(&pl->rng);
    while (s->key == 0);
    s->node = 1 + (uint32_t)(rng_next(&pl->rng) % 3);
    s->seq = 0;
    s->cseq = 0;
    s->state = SLOT_FRESH;
}

static void play_init(struct play *pl, uint64_t seed)
{
    memset(pl, 0, sizeof *pl);
    pl->rng = seed;
    pl->t = 1000;
    for (size_t i = 0; i < NSLOTS; i++)
        slot_renew(pl, &pl->slots[i]);
}

/* Append one random command to @b; slots track what was sent. */
static void play_cmd(struct play *pl, struct batch *b)
{
    uint64_t r = rng_next(&pl->rng);
    unsigned k = (unsigned)(r % 100);
    struct slot *s = &pl->slots[(r >> 8) % NSLOTS];
    struct wr_writer p;
    wr_writer_init(&p, 64);
    pl->commands++;
    if (k < 3) {
        char http[64];
        uint32_t node = 1 + (uint32_t)((r >> 20) % 5);
        snprintf(http, sizeof http, "10.0.0.%u:%u", node, 8000 + (unsigned)((r >> 30) % 100));
        wr_put_str(&p, http);
        batch_add(b, WR_MODULE_CORE, WR_CORE_NODE_INFO, node, 0, 0, &p);
    } else if (k < 6) {
        char name[32];
        snprintf(name, sizeof name, "room/%u", (unsigned)((r >> 20) % 4));
        wr_put_str(&p, name);
        wr_put_u64(&p, (r >> 30) % 20);
        batch_add(b, WR_MODULE_CORE, WR_CORE_PLACE, 1 + (uint32_t)((r >> 40) % 3), 0, 0, &p);
    } else if (k < 8) {
        wr_arena_encode_config(&p, (uint16_t)(2 + (r >> 20) % 30), (uint16_t)(2 + (r >> 30) % 30));
        batch_add(b, WR_MODULE_ARENA, WR_ARENA_CONFIG, 1, 0, 0, &p);
    } else if (k < 30 && s->state == SLOT_FRESH) {
        char name[32];
        unsigned nk = (unsigned)((r >> 40) % 20);
        if (nk == 0)
            snprintf(name, sizeof name, "bad name");
        else if (nk < 4) /* likely taken */
            snprintf(name, sizeof name, "p%u", (unsigned)((r >> 50) % 8));
        else
            snprintf(name, sizeof name, "p%016llx", (unsigned long long)(s->key >> 8));
        name[16] = '\0';
        wr_arena_encode_join(&p, name);
        s->seq = 1;
        s->state = SLOT_JOINED;
        batch_add(b, WR_MODULE_ARENA, WR_ARENA_JOIN, s->node, s->key, 1, &p);
    } else if (k < 36) {
        /* Anomalies: duplicate, gap, wrong node, unknown session. */
        unsigned a = (unsigned)((r >> 40) % 4);
        wr_arena_encode_move(&p, (enum wr_arena_dir)((r >> 50) % 4), s->cseq);
        uint32_t node = s->node, seq = s->seq;
        uint64_t key = s->key;
        if (a == 1)
            seq = s->seq + 2;
        else if (a == 2)
            node = s->node + 7;
        else if (a == 3)
            key = rng_next(&pl->rng) | 1;
        batch_add(b, WR_MODULE_ARENA, WR_ARENA_MOVE, node, key, seq, &p);
    } else if (s->state == SLOT_JOINED && k < 44) {
        s->seq++;
        batch_add(b, WR_MODULE_ARENA, WR_ARENA_LEAVE, s->node, s->key, s->seq, NULL);
        slot_renew(pl, s);
    } else if (s->state == SLOT_JOINED) {
        s->seq++;
        s->cseq += 1 + (uint32_t)((r >> 40) % 3);
        wr_arena_encode_move(&p, (enum wr_arena_dir)((r >> 50) % 4), s->cseq);
        batch_add(b, WR_MODULE_ARENA, WR_ARENA_MOVE, s->node, s->key, s->seq, &p);
    } else {
        pl->commands--; /* nothing sent */
    }
    wr_writer_free(&p);
}

/* After @w applied an entry: slots whose session was refused are renewed. */
static void play_sync(struct play *pl, struct wr_world *w)
{
    for (size_t i = 0; i < NSLOTS; i++) {
        struct slot *s = &pl->slots[i];
        if (s->state != SLOT_JOINED)
            continue;
        struct wr_session_info si;
        if (!wr_world_session(w, s->key, &si) || !si.open)
            slot_renew(pl, s);
        else
            s->seq = si.last_seq;
    }
}

/* Build the next random entry into @e (initialised here). */
static void play_entry(struct play *pl, struct wr_writer *e)
{
    struct batch b;
    batch_init(&b);
    unsigned n = 1 + (unsigned)(rng_next(&pl->rng) % 6);
    for (unsigned i = 0; i < n; i++)
        play_cmd(pl, &b);
    pl->t += rng_next(&pl->rng) % 4000;
    batch_entry(&b, pl->t, rng_next(&pl->rng), e);
    batch_free(&b);
}

/* Apply @n random entries to @w (state-driving world) and to @others. */
static void play_run(struct play *pl, struct wr_world *w, struct rec *r, struct wr_world **others,
                     struct rec **orecs, size_t n_others, int n)
{
    for (int i = 0; i < n; i++) {
        struct wr_writer e;
        play_entry(pl, &e);
        rec_reset(r);
        assert_int_equal(wr_world_apply(w, e.base, e.len), 0);
        for (size_t o = 0; o < n_others; o++) {
            rec_reset(orecs[o]);
            assert_int_equal(wr_world_apply(others[o], e.base, e.len), 0);
            assert_int_equal(orecs[o]->digest, r->digest);
            assert_int_equal(orecs[o]->n_ev, r->n_ev);
            assert_int_equal(orecs[o]->n_v, r->n_v);
        }
        wr_writer_free(&e);
        play_sync(pl, w);
        if (i % 16 == 0)
            check_arena(w, true);
    }
    check_arena(w, true);
}

/* A world with a rich state: registry, open and closed sessions, players. */
static struct wr_world *played_world(struct rec *r, uint64_t seed, int entries)
{
    struct wr_world *w = new_world(r);
    do_config(w, r, 500, 12, 10);
    struct play pl;
    play_init(&pl, seed);
    play_run(&pl, w, r, NULL, NULL, 0, entries);
    return w;
}

/* ---- tests ------------------------------------------------------------ */

static void test_config_applies_once(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    const struct wr_arena *a = arena_of(w);
    assert_int_equal(wr_arena_width(a), 0);

    /* Out-of-range sizes are ignored and do not count as the configuration. */
    assert_int_equal(do_config(w, &r, 10, 1, 5), WR_APPLIED);
    assert_int_equal(wr_arena_width(a), 0);
    assert_int_equal(do_config(w, &r, 10, 5, WR_ARENA_MAX_SIDE + 1), WR_APPLIED);
    assert_int_equal(wr_arena_width(a), 0);
    /* Config carries no session; with one it is an unknown session. */
    struct wr_writer p;
    wr_writer_init(&p, 8);
    wr_arena_encode_config(&p, 9, 9);
    assert_int_equal(apply_one(w, &r, 10, 0, WR_MODULE_ARENA, WR_ARENA_CONFIG, 1, 77, 1, &p),
                     WR_STALE);
    wr_writer_free(&p);
    assert_int_equal(wr_arena_width(a), 0);

    assert_int_equal(do_config(w, &r, 10, 8, 6), WR_APPLIED);
    assert_int_equal(r.n_ev, 0);
    assert_int_equal(wr_arena_width(a), 8);
    assert_int_equal(wr_arena_height(a), 6);
    assert_int_equal(do_join(w, &r, 11, 1, 1, 100, 1, "alice"), WR_APPLIED);

    char h1[17], h2[17];
    wr_world_hash(w, h1);
    assert_int_equal(do_config(w, &r, 11, 30, 30), WR_APPLIED);
    assert_int_equal(wr_arena_width(a), 8);
    assert_int_equal(wr_arena_height(a), 6);
    assert_int_equal(wr_arena_count(a), 1); /* the player was not wiped */
    wr_world_hash(w, h2);
    assert_string_equal(h1, h2);
    assert_int_equal(do_config(w, &r, 11, 8, 6), WR_APPLIED); /* same size again: no-op */
    wr_world_hash(w, h2);
    assert_string_equal(h1, h2);
    wr_world_destroy(w);
}

static void test_join_in_bounds(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    do_config(w, &r, 10, 8, 6);
    for (uint32_t i = 1; i <= 40; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%u", i);
        uint64_t key = 1000 + i;
        uint32_t node = 1 + i % 3;
        assert_int_equal(do_join(w, &r, 10 + i, i * 7919, node, key, 1, name), WR_APPLIED);
        assert_int_equal(r.n_ev, 1);
        const struct ev_copy *e = &r.ev[0];
        assert_int_equal(e->module, WR_MODULE_ARENA);
        assert_int_equal(e->type, WR_ARENA_EV_JOINED);
        assert_int_equal(e->session, key);
        assert_int_equal(e->node, node);
        assert_true(e->p.x < 8 && e->p.y < 6);
        assert_string_equal(e->p.name, name);
        assert_int_equal(e->p.seq, 0);
        assert_int_equal(e->p.session, key);
        assert_int_equal(e->p.node, node);
        assert_int_equal(e->p.id, i); /* ids count up from 1 */
        const struct wr_arena_player *p = player(w, key);
        assert_non_null(p);
        assert_int_equal(p->x, e->p.x);
        assert_int_equal(p->y, e->p.y);
        struct wr_session_info si;
        assert_true(wr_world_session(w, key, &si));
        assert_true(si.open);
        assert_int_equal(si.node, node);
        assert_int_equal(si.last_seq, 1);
        assert_int_equal(si.key, key);
        check_arena(w, true);
    }
    assert_int_equal(wr_arena_count(arena_of(w)), 40);
    wr_world_destroy(w);
}

/* The same entries give the same placement and state; other seeds give
 * other placements; commands of one entry get distinct seeds. */
static void test_join_deterministic(void **state)
{
    (void)state;
    struct rec ra, rb, rc;
    struct wr_world *a = new_world(&ra), *b = new_world(&rb), *c = new_world(&rc);
    struct wr_world *ws[3] = {a, b, c};
    struct rec *rs[3] = {&ra, &rb, &rc};
    for (int k = 0; k < 3; k++) {
        struct batch bt;
        batch_init(&bt);
        struct wr_writer p;
        wr_writer_init(&p, 8);
        wr_arena_encode_config(&p, 64, 48);
        batch_add(&bt, WR_MODULE_ARENA, WR_ARENA_CONFIG, 1, 0, 0, &p);
        wr_writer_free(&p);
        for (uint32_t i = 1; i <= 30; i++) {
            char name[16];
            snprintf(name, sizeof name, "u%u", i);
            wr_writer_init(&p, 32);
            wr_arena_encode_join(&p, name);
            batch_add(&bt, WR_MODULE_ARENA, WR_ARENA_JOIN, 1, 500 + i, 1, &p);
            wr_writer_free(&p);
        }
        /* World c gets the same commands with another entry seed. */
        batch_apply(ws[k], rs[k], &bt, 1000, k == 2 ? 0xBADC0FFEEull : 0x12345678ull);
        batch_free(&bt);
        assert_int_equal(rs[k]->n_ev, 30);
    }
    assert_same_state(a, b);
    assert_int_equal(ra.digest, rb.digest);
    assert_int_not_equal(ra.digest, rc.digest);

    size_t differ = 0, rows = 0;
    bool row_seen[48] = {false};
    for (uint32_t i = 1; i <= 30; i++) {
        const struct wr_arena_player *pa = player(a, 500 + i), *pb = player(b, 500 + i),
                                     *pc = player(c, 500 + i);
        assert_non_null(pa);
        assert_non_null(pb);
        assert_non_null(pc);
        assert_int_equal(pa->x, pb->x);
        assert_int_equal(pa->y, pb->y);
        assert_int_equal(pa->id, pb->id);
        differ += pa->x != pc->x || pa->y != pc->y;
        if (!row_seen[pa->y]) {
            row_seen[pa->y] = true;
            rows++;
        }
    }
    assert_true(differ >= 25); /* 30 random cells of 3072: collisions are rare */
    assert_true(rows >= 10);   /* not all packed next to one start cell */

    /* Further identical moves keep them identical. */
    for (uint32_t s = 2; s < 40; s++)
        for (uint32_t i = 1; i <= 30; i++) {
            enum wr_arena_dir d = (enum wr_arena_dir)((i * 7 + s * 3) % 4);
            assert_int_equal(do_move(a, &ra, 2000 + s, 1, 500 + i, s, d, s), WR_APPLIED);
            assert_int_equal(do_move(b, &rb, 2000 + s, 1, 500 + i, s, d, s), WR_APPLIED);
        }
    assert_same_state(a, b);
    check_arena(a, true);
    for (int k = 0; k < 3; k++)
        wr_world_destroy(ws[k]);
}

static void expect_refusal(struct rec *r, uint32_t node, uint64_t session, const char *code)
{
    assert_int_equal(r->n_ev, 1);
    assert_int_equal(r->ev[0].module, WR_MODULE_ARENA);
    assert_int_equal(r->ev[0].type, WR_ARENA_EV_REFUSED);
    assert_int_equal(r->ev[0].session, session);
    assert_int_equal(r->ev[0].node, node);
    assert_string_equal(r->ev[0].code, code);
}

static void test_join_bad_name(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);

    /* Before CONFIG: unavailable, session closed. */
    assert_int_equal(do_join(w, &r, 10, 1, 1, 5, 1, "early"), WR_APPLIED);
    expect_refusal(&r, 1, 5, "unavailable");
    assert_false(session_open(w, 5));

    do_config(w, &r, 10, 8, 6);
    const char *bad[] = {"", "a b", "12345678901234567", "caf\xc3\xa9", "a.b", "x/y", "<b>"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t key = 10 + i;
        assert_int_equal(do_join(w, &r, 11, i, 2, key, 1, bad[i]), WR_APPLIED);
        expect_refusal(&r, 2, key, "bad_name");
        struct wr_session_info si;
        assert_true(wr_world_session(w, key, &si));
        assert_false(si.open);
        assert_int_equal(si.last_seq, 1);
        /* The closed session accepts nothing more. */
        assert_int_equal(do_move(w, &r, 11, 2, key, 2, WR_DIR_UP, 1), WR_STALE);
        assert_int_equal(do_join(w, &r, 11, i, 2, key, 1, "fine"), WR_STALE);
    }
    /* A name with a NUL inside is refused too. */
    struct wr_writer p;
    wr_writer_init(&p, 8);
    wr_put_u8(&p, 3);
    wr_put_bytes(&p, "a\0b", 3);
    assert_int_equal(apply_one(w, &r, 11, 0, WR_MODULE_ARENA, WR_ARENA_JOIN, 2, 30, 1, &p),
                     WR_APPLIED);
    wr_writer_free(&p);
    expect_refusal(&r, 2, 30, "bad_name");
    /* An empty payload too. */
    assert_int_equal(apply_one(w, &r, 11, 0, WR_MODULE_ARENA, WR_ARENA_JOIN, 2, 31, 1, NULL),
                     WR_APPLIED);
    expect_refusal(&r, 2, 31, "bad_name");
    assert_int_equal(wr_arena_count(arena_of(w)), 0);

    /* The edges of the alphabet and length are fine. */
    const char *good[] = {"a", "Z", "0", "_", "-", "abcdefghijklmnop", "A-b_9"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_true(wr_arena_name_ok(good[i], strlen(good[i])));
        assert_int_equal(do_join(w, &r, 12, i, 1, 40 + i, 1, good[i]), WR_APPLIED);
        assert_int_equal(r.ev[0].type, WR_ARENA_EV_JOINED);
    }
    assert_false(wr_arena_name_ok("abc", 0));
    assert_false(wr_arena_name_ok("abcdefghijklmnopq", 17));
    check_arena(w, true);
    wr_world_destroy(w);
}

static void test_join_name_taken(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    do_config(w, &r, 10, 8, 6);
    assert_int_equal(do_join(w, &r, 10, 1, 1, 100, 1, "alice"), WR_APPLIED);
    assert_int_equal(r.ev[0].type, WR_ARENA_EV_JOINED);
    const struct wr_arena_player before = *player(w, 100);

    assert_int_equal(do_join(w, &r, 11, 2, 2, 200, 1, "alice"), WR_APPLIED);
    expect_refusal(&r, 2, 200, "name_taken");
    assert_false(session_open(w, 200));
    assert_null(player(w, 200));
    assert_int_equal(do_move(w, &r, 11, 2, 200, 2, WR_DIR_UP, 1), WR_STALE);
    assert_int_equal(do_leave(w, &r, 11, 2, 200, 2), WR_STALE);
    /* Names are case-sensitive. */
    assert_int_equal(do_join(w, &r, 11, 3, 2, 201, 1, "Alice"), WR_APPLIED);
    assert_int_equal(r.ev[0].type, WR_ARENA_EV_JOINED);

    /* alice is untouched. */
    const struct wr_arena_player *p = player(w, 100);
    assert_non_null(p);
    assert_same_player(p, &before);
    assert_true(session_open(w, 100));
    /* Once alice leaves, the name is free again. */
    assert_int_equal(do_leave(w, &r, 12, 1, 100, 2), WR_APPLIED);
    assert_int_equal(r.ev[0].type, WR_ARENA_EV_LEFT);
    assert_int_equal(do_join(w, &r, 13, 4, 3, 300, 1, "alice"), WR_APPLIED);
    assert_int_equal(r.ev[0].type, WR_ARENA_EV_JOINED);
    assert_true(r.ev[0].p.id > before.id); /* ids are never reused */
    check_arena(w, true);
    wr_world_destroy(w);
}

static void test_arena_full(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    do_config(w, &r, 10, 2, 2);
    bool cell[4] = {false};
    for (uint32_t i = 1; i <= 4; i++) {
        char name[8];
        snprintf(name, sizeof name, "f%u", i);
        /* The same seed for all: placement must probe past taken cells. */
        assert_int_equal(do_join(w, &r, 10, 42, 1, i, 1, name), WR_APPLIED);
        assert_int_equal(r.ev[0].type, WR_ARENA_EV_JOINED);
        unsigned c = r.ev[0].p.y * 2u + r.ev[0].p.x;
        assert_true(c < 4);
        assert_false(cell[c]);
        cell[c] = true;
    }
    assert_int_equal(do_join(w, &r, 10, 42, 1, 5, 1, "f5"), WR_APPLIED);
    expect_refusal(&r, 1, 5, "arena_full");
    assert_false(session_open(w, 5));
    assert_int_equal(wr_arena_count(arena_of(w)), 4);
    check_arena(w, true);

    /* A leave frees a cell for the next join, which must land there. */
    const struct wr_arena_player gone = *player(w, 3);
    assert_int_equal(do_leave(w, &r, 11, 1, 3, 2), WR_APPLIED);
    assert_int_equal(do_join(w, &r, 11, 7, 1, 6, 1, "f6"), WR_APPLIED);
    assert_int_equal(r.ev[0].type, WR_ARENA_EV_JOINED);
    assert_int_equal(r.ev[0].p.x, gone.x);
    assert_int_equal(r.ev[0].p.y, gone.y);
    check_arena(w, true);
    wr_world_destroy(w);
}

static void expect_moved(struct rec *r, uint64_t session, int x, int y, uint32_t cseq)
{
    assert_int_equal(r->n_ev, 1);
    assert_int_equal(r->ev[0].type, WR_ARENA_EV_MOVED);
    assert_int_equal(r->ev[0].session, session);
    assert_int_equal(r->ev[0].p.x, x);
    assert_int_equal(r->ev[0].p.y, y);
    assert_int_equal(r->ev[0].p.seq, cseq);
}

static void test_moves_each_direction_and_edges(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    do_config(w, &r, 10, 8, 6);
    const uint64_t k = 77;
    assert_int_equal(do_join(w, &r, 10, 3, 1, k, 1, "mover"), WR_APPLIED);
    uint32_t seq = 1, cseq = 0;
    int x = player(w, k)->x, y = player(w, k)->y;

    /* Walk to (0,0). */
    while (x > 0) {
        assert_int_equal(do_move(w, &r, 11, 1, k, ++seq, WR_DIR_LEFT, cseq += 10), WR_APPLIED);
        expect_moved(&r, k, --x, y, cseq);
    }
    while (y > 0) {
        assert_int_equal(do_move(w, &r, 11, 1, k, ++seq, WR_DIR_UP, cseq += 10), WR_APPLIED);
        expect_moved(&r, k, x, --y, cseq);
    }
    /* Blocked by the top and left edges: applied, seq updated, same cell. */
    assert_int_equal(do_move(w, &r, 12, 1, k, ++seq, WR_DIR_UP, cseq += 10), WR_APPLIED);
    expect_moved(&r, k, 0, 0, cseq);
    assert_int_equal(player(w, k)->seq, cseq);
    assert_int_equal(do_move(w, &r, 12, 1, k, ++seq, WR_DIR_LEFT, cseq += 10), WR_APPLIED);
    expect_moved(&r, k, 0, 0, cseq);
    struct wr_session_info si;
    assert_true(wr_world_session(w, k, &si));
    assert_int_equal(si.last_seq, seq);

    /* One step in each direction. */
    static const struct {
        enum wr_arena_dir d;
        int x, y;
    } steps[] = {{WR_DIR_RIGHT, 1, 0}, {WR_DIR_DOWN, 1, 1}, {WR_DIR_LEFT, 0, 1}, {WR_DIR_UP, 0, 0}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(do_move(w, &r, 13, 1, k, ++seq, steps[i].d, cseq += 10), WR_APPLIED);
        expect_moved(&r, k, steps[i].x, steps[i].y, cseq);
        assert_int_equal(player(w, k)->x, steps[i].x);
        assert_int_equal(player(w, k)->y, steps[i].y);
    }
    /* Walk to (7,5), then the right and bottom edges block. */
    for (x = 0; x < 7;) {
        assert_int_equal(do_move(w, &r, 14, 1, k, ++seq, WR_DIR_RIGHT, cseq += 10), WR_APPLIED);
        expect_moved(&r, k, ++x, 0, cseq);
    }
    for (y = 0; y < 5;) {
        assert_int_equal(do_move(w, &r, 14, 1, k, ++seq, WR_DIR_DOWN, cseq += 10), WR_APPLIED);
        expect_moved(&r, k, 7, ++y, cseq);
    }
    char h1[17], h2[17];
    wr_world_hash(w, h1);
    assert_int_equal(do_move(w, &r, 14, 1, k, ++seq, WR_DIR_RIGHT, cseq += 10), WR_APPLIED);
    expect_moved(&r, k, 7, 5, cseq);
    assert_int_equal(do_move(w, &r, 14, 1, k, ++seq, WR_DIR_DOWN, cseq += 10), WR_APPLIED);
    expect_moved(&r, k, 7, 5, cseq);
    wr_world_hash(w, h2);
    assert_string_not_equal(h1, h2); /* a blocked move still changes seq */

    /* A bad direction or a short payload is applied as a no-op. */
    struct wr_writer p;
    wr_writer_init(&p, 8);
    wr_put_u8(&p, 4);
    wr_put_u32(&p, 999);
    assert_int_equal(apply_one(w, &r, 15, 0, WR_MODULE_ARENA, WR_ARENA_MOVE, 1, k, ++seq, &p),
                     WR_APPLIED);
    wr_writer_free(&p);
    assert_int_equal(r.n_ev, 0);
    assert_int_equal(apply_one(w, &r, 15, 0, WR_MODULE_ARENA, WR_ARENA_MOVE, 1, k, ++seq, NULL),
                     WR_APPLIED);
    assert_int_equal(r.n_ev, 0);
    assert_int_equal(player(w, k)->x, 7);
    assert_int_equal(player(w, k)->y, 5);
    assert_int_equal(player(w, k)->seq, cseq);
    check_arena(w, true);
    wr_world_destroy(w);
}

static const struct wr_arena_player *player_at(struct wr_world *w, int x, int y)
{
    const struct wr_arena *a = arena_of(w);
    for (size_t i = 0; i < wr_arena_count(a); i++)
        if (wr_arena_players(a)[i].x == x && wr_arena_players(a)[i].y == y)
            return &wr_arena_players(a)[i];
    return NULL;
}

static void test_moves_blocked_by_players(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    do_config(w, &r, 10, 2, 2);
    for (uint32_t i = 1; i <= 4; i++) {
        char name[8];
        snprintf(name, sizeof name, "b%u", i);
        assert_int_equal(do_join(w, &r, 10, i, 1, i, 1, name), WR_APPLIED);
    }
    uint64_t tl = player_at(w, 0, 0)->session, tr = player_at(w, 1, 0)->session;
    uint64_t bl = player_at(w, 0, 1)->session, br = player_at(w, 1, 1)->session;
    uint32_t seq[5] = {0, 1, 1, 1, 1};

    assert_int_equal(do_move(w, &r, 11, 1, tl, ++seq[tl], WR_DIR_RIGHT, 5), WR_APPLIED);
    expect_moved(&r, tl, 0, 0, 5);
    assert_int_equal(do_move(w, &r, 11, 1, tl, ++seq[tl], WR_DIR_DOWN, 6), WR_APPLIED);
    expect_moved(&r, tl, 0, 0, 6);
    assert_int_equal(do_move(w, &r, 11, 1, br, ++seq[br], WR_DIR_LEFT, 1), WR_APPLIED);
    expect_moved(&r, br, 1, 1, 1);
    assert_int_equal(do_move(w, &r, 11, 1, br, ++seq[br], WR_DIR_UP, 2), WR_APPLIED);
    expect_moved(&r, br, 1, 1, 2);
    assert_int_equal(player(w, tl)->seq, 6);
    assert_int_equal(player(w, br)->seq, 2);
    check_arena(w, true);

    /* tr leaves: tl can now move right, and bl up into tl's old cell. */
    assert_int_equal(do_leave(w, &r, 12, 1, tr, ++seq[tr]), WR_APPLIED);
    assert_int_equal(r.ev[0].type, WR_ARENA_EV_LEFT);
    assert_int_equal(r.ev[0].p.session, tr);
    assert_int_equal(do_move(w, &r, 12, 1, tl, ++seq[tl], WR_DIR_RIGHT, 7), WR_APPLIED);
    expect_moved(&r, tl, 1, 0, 7);
    assert_int_equal(do_move(w, &r, 12, 1, bl, ++seq[bl], WR_DIR_UP, 1), WR_APPLIED);
    expect_moved(&r, bl, 0, 0, 1);
    check_arena(w, true);
    wr_world_destroy(w);
}

static void test_session_duplicate(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    do_config(w, &r, 10, 8, 6);
    assert_int_equal(do_join(w, &r, 10, 1, 1, 9, 1, "dup"), WR_APPLIED);
    assert_int_equal(do_move(w, &r, 10, 1, 9, 2, WR_DIR_RIGHT, 1), WR_APPLIED);
    assert_int_equal(do_move(w, &r, 10, 1, 9, 3, WR_DIR_DOWN, 2), WR_APPLIED);
    struct wr_writer s1, s2;
    snap(w, &s1);
    const struct wr_arena_player before = *player(w, 9);

    /* The very same command again, and an older one. */
    assert_int_equal(do_move(w, &r, 10, 1, 9, 3, WR_DIR_DOWN, 2), WR_DUPLICATE);
    assert_int_equal(r.n_ev, 0);
    assert_int_equal(do_move(w, &r, 10, 1, 9, 2, WR_DIR_LEFT, 1), WR_DUPLICATE);
    assert_int_equal(r.n_ev, 0);
    /* The join retried after it applied: duplicate, not a second player. */
    assert_int_equal(do_join(w, &r, 10, 1, 1, 9, 1, "dup"), WR_DUPLICATE);
    assert_int_equal(r.n_ev, 0);
    assert_int_equal(do_join(w, &r, 10, 5, 1, 9, 1, "other"), WR_DUPLICATE);
    assert_int_equal(r.n_ev, 0);
    assert_int_equal(wr_arena_count(arena_of(w)), 1);
    assert_same_player(player(w, 9), &before);
    snap(w, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.base, s2.base, s1.len);
    wr_writer_free(&s1);
    wr_writer_free(&s2);

    /* Duplicates inside one entry: only the first applies. */
    struct batch b;
    batch_init(&b);
    struct wr_writer p;
    wr_writer_init(&p, 8);
    wr_arena_encode_move(&p, WR_DIR_UP, 3);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_MOVE, 1, 9, 4, &p);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_MOVE, 1, 9, 4, &p);
    wr_writer_free(&p);
    batch_apply(w, &r, &b, 10, 0);
    batch_free(&b);
    assert_int_equal(r.v[0], WR_APPLIED);
    assert_int_equal(r.v[1], WR_DUPLICATE);
    assert_int_equal(r.n_ev, 1);
    wr_world_destroy(w);
}

static void test_session_gap(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    do_config(w, &r, 10, 8, 6);
    const uint64_t k = 0xABCDEF0123456789ull;
    assert_int_equal(do_join(w, &r, 10, 1, 2, k, 1, "gap"), WR_APPLIED);
    /* Put the player at (0,0) so the moves below are predictable. */
    uint32_t seq = 1;
    while (player(w, k)->x > 0)
        do_move(w, &r, 10, 2, k, ++seq, WR_DIR_LEFT, 0);
    while (player(w, k)->y > 0)
        do_move(w, &r, 10, 2, k, ++seq, WR_DIR_UP, 0);
    struct wr_writer s1, s2;
    snap(w, &s1);

    /* seq+2 arrives first: a gap, no effect. */
    assert_int_equal(do_move(w, &r, 10, 2, k, seq + 2, WR_DIR_DOWN, 102), WR_GAP);
    assert_int_equal(r.n_ev, 0);
    assert_int_equal(do_move(w, &r, 10, 2, k, seq + 5, WR_DIR_DOWN, 105), WR_GAP);
    snap(w, &s2);
    assert_memory_equal(s1.base, s2.base, s1.len);
    struct wr_session_info si;
    assert_true(wr_world_session(w, k, &si));
    assert_int_equal(si.last_seq, seq);

    /* The missing one, then the retried later one, apply in order. */
    assert_int_equal(do_move(w, &r, 10, 2, k, seq + 1, WR_DIR_RIGHT, 101), WR_APPLIED);
    expect_moved(&r, k, 1, 0, 101);
    assert_int_equal(do_move(w, &r, 10, 2, k, seq + 2, WR_DIR_DOWN, 102), WR_APPLIED);
    expect_moved(&r, k, 1, 1, 102);
    assert_true(wr_world_session(w, k, &si));
    assert_int_equal(si.last_seq, seq + 2);

    /* The same in one entry: gap, fill, retry. */
    struct batch b;
    batch_init(&b);
    struct wr_writer p;
    wr_writer_init(&p, 8);
    wr_arena_encode_move(&p, WR_DIR_DOWN, 104);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_MOVE, 2, k, seq + 4, &p);
    p.len = 0;
    wr_arena_encode_move(&p, WR_DIR_RIGHT, 103);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_MOVE, 2, k, seq + 3, &p);
    p.len = 0;
    wr_arena_encode_move(&p, WR_DIR_DOWN, 104);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_MOVE, 2, k, seq + 4, &p);
    wr_writer_free(&p);
    batch_apply(w, &r, &b, 11, 0);
    batch_free(&b);
    assert_int_equal(r.v[0], WR_GAP);
    assert_int_equal(r.v[1], WR_APPLIED);
    assert_int_equal(r.v[2], WR_APPLIED);
    assert_int_equal(r.n_ev, 2);
    assert_int_equal(r.ev[1].p.x, 2);
    assert_int_equal(r.ev[1].p.y, 2);
    assert_int_equal(player(w, k)->seq, 104);
    wr_writer_free(&s1);
    wr_writer_free(&s2);
    wr_world_destroy(w);
}

static void test_session_stale(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    do_config(w, &r, 10, 8, 6);
    assert_int_equal(do_join(w, &r, 10, 1, 1, 50, 1, "owner"), WR_APPLIED);
    const struct wr_arena_player before = *player(w, 50);

    /* Another node claims the session: stale, whatever the seq. */
    assert_int_equal(do_move(w, &r, 10, 2, 50, 2, WR_DIR_UP, 1), WR_STALE);
    assert_int_equal(do_move(w, &r, 10, 2, 50, 1, WR_DIR_UP, 1), WR_STALE);
    assert_int_equal(do_leave(w, &r, 10, 2, 50, 2), WR_STALE);
    assert_int_equal(do_join(w, &r, 10, 1, 2, 50, 1, "owner"), WR_STALE);
    assert_int_equal(r.n_ev, 0);
    assert_same_player(player(w, 50), &before);
    struct wr_session_info si;
    assert_true(wr_world_session(w, 50, &si));
    assert_int_equal(si.node, 1);
    assert_int_equal(si.last_seq, 1);

    /* Unknown sessions: only an opening command with seq 1 opens one. */
    assert_int_equal(do_move(w, &r, 10, 1, 51, 1, WR_DIR_UP, 1), WR_STALE);
    assert_int_equal(do_move(w, &r, 10, 1, 51, 2, WR_DIR_UP, 1), WR_STALE);
    assert_int_equal(do_leave(w, &r, 10, 1, 51, 1), WR_STALE);
    assert_int_equal(do_join(w, &r, 10, 1, 1, 51, 2, "late"), WR_STALE);
    assert_int_equal(do_join(w, &r, 10, 1, 1, 51, 0, "zero"), WR_STALE);
    assert_false(wr_world_session(w, 51, &si));
    assert_int_equal(r.n_ev, 0);

    /* After LEAVE everything is stale, including a new join with seq 1. */
    assert_int_equal(do_move(w, &r, 10, 1, 50, 2, WR_DIR_UP, 1), WR_APPLIED);
    assert_int_equal(do_leave(w, &r, 10, 1, 50, 3), WR_APPLIED);
    assert_int_equal(r.n_ev, 1);
    assert_int_equal(r.ev[0].type, WR_ARENA_EV_LEFT);
    assert_int_equal(r.ev[0].p.id, before.id);
    assert_null(player(w, 50));
    assert_true(wr_world_session(w, 50, &si));
    assert_false(si.open);
    assert_int_equal(si.last_seq, 3);
    assert_int_equal(do_move(w, &r, 10, 1, 50, 4, WR_DIR_UP, 2), WR_STALE);
    assert_int_equal(do_leave(w, &r, 10, 1, 50, 4), WR_STALE);
    assert_int_equal(do_leave(w, &r, 10, 1, 50, 3), WR_STALE); /* even the dup */
    assert_int_equal(do_join(w, &r, 10, 1, 1, 50, 1, "owner"), WR_STALE);
    assert_int_equal(r.n_ev, 0);
    assert_int_equal(wr_arena_count(arena_of(w)), 0);
    wr_world_destroy(w);
}

/* A JOIN on a session that already has a player (a node bug, or a crafted
 * entry) must neither create a second player for the session nor orphan
 * the first one. */
static void test_join_on_open_session(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    do_config(w, &r, 10, 8, 6);
    assert_int_equal(do_join(w, &r, 10, 1, 1, 60, 1, "first"), WR_APPLIED);
    assert_int_equal(do_join(w, &r, 10, 2, 1, 60, 2, "second"), WR_APPLIED);
    assert_int_equal(wr_arena_count(arena_of(w)), 1);
    assert_string_equal(player(w, 60)->name, "first");
    assert_true(session_open(w, 60));
    check_arena(w, true);
    /* Same name again: must not close the session under the player. */
    assert_int_equal(do_join(w, &r, 10, 3, 1, 60, 3, "first"), WR_APPLIED);
    assert_int_equal(wr_arena_count(arena_of(w)), 1);
    assert_true(session_open(w, 60));
    check_arena(w, true);
    assert_int_equal(do_leave(w, &r, 10, 1, 60, 4), WR_APPLIED);
    assert_int_equal(wr_arena_count(arena_of(w)), 0);
    wr_world_destroy(w);
}

static void test_session_prune(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    do_config(w, &r, 1000, 8, 6);
    assert_int_equal(do_join(w, &r, 1000, 1, 1, 1, 1, "stay"), WR_APPLIED);
    assert_int_equal(do_join(w, &r, 1000, 2, 1, 2, 1, "go"), WR_APPLIED);
    assert_int_equal(do_join(w, &r, 1500, 3, 1, 3, 1, "bad name"), WR_APPLIED); /* refused */
    assert_int_equal(do_leave(w, &r, 2000, 1, 2, 2), WR_APPLIED);
    struct wr_session_info si;
    assert_true(wr_world_session(w, 2, &si));
    assert_false(si.open);

    /* Not before 60 s of log time. */
    for (uint64_t t = 2000; t < 62000; t += 250) {
        do_tick(w, &r, t);
        assert_true(wr_world_session(w, 2, &si));
        assert_false(si.open);
        if (t < 61500) /* session 3 closed at 1500 */
            assert_true(wr_world_session(w, 3, &si));
        /* still stale, not a fresh session */
        assert_int_equal(do_join(w, &r, t, 9, 1, 2, 1, "again"), WR_STALE);
    }
    do_tick(w, &r, 61999);
    assert_true(wr_world_session(w, 2, &si));
    /* ...but soon after (pruning runs every 10 s of log time). */
    for (uint64_t t = 62000; t <= 72000 && wr_world_session(w, 2, &si); t += 250)
        do_tick(w, &r, t);
    assert_false(wr_world_session(w, 2, &si));
    assert_false(wr_world_session(w, 3, &si));
    /* An open session is never pruned. */
    do_tick(w, &r, 10 * 60 * 1000);
    do_tick(w, &r, 100 * 60 * 1000);
    assert_true(wr_world_session(w, 1, &si));
    assert_true(si.open);
    assert_non_null(player(w, 1));

    /* Exactly 60 s after the close, in one jump, it is gone. */
    struct rec r2;
    struct wr_world *w2 = new_world(&r2);
    do_config(w2, &r2, 1000, 8, 6);
    assert_int_equal(do_join(w2, &r2, 1000, 1, 1, 2, 1, "go"), WR_APPLIED);
    assert_int_equal(do_leave(w2, &r2, 2000, 1, 2, 2), WR_APPLIED);
    do_tick(w2, &r2, 61999);
    assert_true(wr_world_session(w2, 2, &si));
    struct rec r3;
    struct wr_world *w3 = new_world(&r3);
    do_config(w3, &r3, 1000, 8, 6);
    assert_int_equal(do_join(w3, &r3, 1000, 1, 1, 2, 1, "go"), WR_APPLIED);
    assert_int_equal(do_leave(w3, &r3, 2000, 1, 2, 2), WR_APPLIED);
    do_tick(w3, &r3, 62000);
    assert_false(wr_world_session(w3, 2, &si));
    /* Log time is the max of the stamps: an older stamp does not rewind. */
    do_tick(w3, &r3, 5000);
    assert_int_equal(wr_world_now(w3), 62000);
    wr_world_destroy(w3);
    wr_world_destroy(w2);
    wr_world_destroy(w);
}

/* Connection state: DISCONNECT, NODE_DOWN and a new incarnation mark a
 * player disconnected (CHANGED); PRESENT and a move mark it connected again;
 * EXPIRE removes it only if it is still disconnected since the given time;
 * RESUME moves it to a new session and node and closes the old session. */
static void test_connection_lifecycle(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    const uint64_t S = 0x5E55, S2 = 0x5E56;
    assert_int_equal(do_config(w, &r, 1000, 8, 8), WR_APPLIED);
    uint8_t hash[WR_TOKEN_HASH_BYTES];
    memset(hash, 0xAB, sizeof hash);
    struct wr_writer p;
    wr_writer_init(&p, 64);
    wr_arena_encode_join_token(&p, "carol", hash, 77);
    assert_int_equal(apply_one(w, &r, 1000, 5, WR_MODULE_ARENA, WR_ARENA_JOIN, 1, S, 1, &p),
                     WR_APPLIED);
    const struct wr_arena_player *pl = player(w, S);
    assert_non_null(pl);
    assert_true(pl->connected);
    uint32_t id = pl->id;

    assert_int_equal(apply_one(w, &r, 2000, 0, WR_MODULE_ARENA, WR_ARENA_DISCONNECT, 1, S, 2, NULL),
                     WR_APPLIED);
    assert_int_equal(r.n_ev, 1);
    assert_int_equal(r.ev[0].type, WR_ARENA_EV_CHANGED);
    assert_false(player(w, S)->connected);
    assert_int_equal(player(w, S)->disconnected_at, 2000);

    assert_int_equal(apply_one(w, &r, 2500, 0, WR_MODULE_ARENA, WR_ARENA_PRESENT, 1, S, 3, NULL),
                     WR_APPLIED);
    assert_true(player(w, S)->connected);
    assert_int_equal(r.ev[0].type, WR_ARENA_EV_CHANGED);
    /* PRESENT while connected changes nothing and emits nothing. */
    assert_int_equal(apply_one(w, &r, 2600, 0, WR_MODULE_ARENA, WR_ARENA_PRESENT, 1, S, 4, NULL),
                     WR_APPLIED);
    assert_int_equal(r.n_ev, 0);

    p.len = 0;
    wr_arena_encode_node_down(&p, 1);
    assert_int_equal(apply_one(w, &r, 3000, 0, WR_MODULE_ARENA, WR_ARENA_NODE_DOWN, 2, 0, 0, &p),
                     WR_APPLIED);
    assert_false(player(w, S)->connected);
    assert_int_equal(do_move(w, &r, 3100, 1, S, 5, WR_DIR_UP, 1), WR_APPLIED);
    assert_true(player(w, S)->connected);
    assert_int_equal(r.ev[0].type, WR_ARENA_EV_CHANGED);

    /* A new incarnation of node 1 disconnects the old one's players. */
    assert_int_equal(do_node_info(w, &r, 3200, 1, "127.0.0.1:4001"), WR_APPLIED);
    p.len = 0;
    wr_put_str(&p, "127.0.0.1:4001");
    wr_put_u64(&p, 99);
    assert_int_equal(apply_one(w, &r, 3300, 0, WR_MODULE_CORE, WR_CORE_NODE_INFO, 1, 0, 0, &p),
                     WR_APPLIED);
    assert_false(player(w, S)->connected);
    uint64_t since = player(w, S)->disconnected_at;
    assert_int_equal(since, 3300);

    /* EXPIRE for another disconnect time is a no-op. */
    p.len = 0;
    wr_arena_encode_expire(&p, id, since - 1);
    assert_int_equal(apply_one(w, &r, 9000, 0, WR_MODULE_ARENA, WR_ARENA_EXPIRE, 2, 0, 0, &p),
                     WR_APPLIED);
    assert_non_null(player(w, S));

    /* RESUME from node 2 with the token's hash: same player, new session. */
    p.len = 0;
    wr_arena_encode_resume(&p, hash, 5);
    assert_int_equal(apply_one(w, &r, 9100, 0, WR_MODULE_ARENA, WR_ARENA_RESUME, 2, S2, 1, &p),
                     WR_APPLIED);
    assert_int_equal(r.ev[0].type, WR_ARENA_EV_RESUMED);
    pl = player(w, S2);
    assert_non_null(pl);
    assert_int_equal(pl->id, id);
    assert_int_equal(pl->node, 2);
    assert_true(pl->connected);
    assert_null(player(w, S));
    assert_false(session_open(w, S));
    assert_int_equal(do_move(w, &r, 9200, 1, S, 6, WR_DIR_DOWN, 2), WR_STALE);

    /* A resume with an unknown token is refused. */
    uint8_t other[WR_TOKEN_HASH_BYTES];
    memset(other, 0xCD, sizeof other);
    p.len = 0;
    wr_arena_encode_resume(&p, other, 5);
    assert_int_equal(apply_one(w, &r, 9300, 0, WR_MODULE_ARENA, WR_ARENA_RESUME, 2, 0x777, 1, &p),
                     WR_APPLIED);
    expect_refusal(&r, 2, 0x777, "bad_token");

    /* Disconnected, then expired at exactly that time: removed. */
    assert_int_equal(apply_one(w, &r, 9400, 0, WR_MODULE_ARENA, WR_ARENA_DISCONNECT, 2, S2, 2, NULL),
                     WR_APPLIED);
    p.len = 0;
    wr_arena_encode_expire(&p, id, 9400);
    assert_int_equal(apply_one(w, &r, 40000, 0, WR_MODULE_ARENA, WR_ARENA_EXPIRE, 2, 0, 0, &p),
                     WR_APPLIED);
    assert_int_equal(r.ev[0].type, WR_ARENA_EV_LEFT);
    assert_null(player(w, S2));
    assert_false(session_open(w, S2));
    check_arena(w, true);
    wr_writer_free(&p);
    wr_world_destroy(w);
}

static void test_registry(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    assert_int_equal(do_node_info(w, &r, 10, 3, "127.0.0.1:8003"), WR_APPLIED);
    assert_int_equal(do_node_info(w, &r, 10, 1, "127.0.0.1:8001"), WR_APPLIED);
    assert_int_equal(wr_world_registry_count(w), 2);
    const struct wr_reg_entry *e = wr_world_registry_find(w, "node/3");
    assert_non_null(e);
    assert_int_equal(e->kind, WR_REG_NODE);
    assert_int_equal(e->node, 3);
    assert_string_equal(e->http, "127.0.0.1:8003");
    /* Sorted by name. */
    assert_string_equal(wr_world_registry_at(w, 0)->name, "node/1");
    assert_string_equal(wr_world_registry_at(w, 1)->name, "node/3");
    assert_null(wr_world_registry_at(w, 2));
    /* Re-registration updates in place. */
    assert_int_equal(do_node_info(w, &r, 10, 3, "10.1.1.1:9000"), WR_APPLIED);
    assert_int_equal(wr_world_registry_count(w), 2);
    assert_string_equal(wr_world_registry_find(w, "node/3")->http, "10.1.1.1:9000");

    /* Singletons with fencing epochs. */
    assert_int_equal(do_place(w, &r, 10, 2, "lobby", 5), WR_APPLIED);
    e = wr_world_registry_find(w, "lobby");
    assert_non_null(e);
    assert_int_equal(e->kind, WR_REG_SINGLETON);
    assert_int_equal(e->node, 2);
    assert_int_equal(e->epoch, 5);
    char h1[17], h2[17];
    wr_world_hash(w, h1);
    assert_int_equal(do_place(w, &r, 10, 3, "lobby", 4), WR_STALE);
    e = wr_world_registry_find(w, "lobby");
    assert_int_equal(e->node, 2);
    assert_int_equal(e->epoch, 5);
    assert_int_equal(do_place(w, &r, 10, 3, "lobby", 0), WR_STALE);
    wr_world_hash(w, h2);
    assert_string_equal(h1, h2);
    assert_int_equal(do_place(w, &r, 10, 3, "lobby", 6), WR_APPLIED);
    e = wr_world_registry_find(w, "lobby");
    assert_int_equal(e->node, 3);
    assert_int_equal(e->epoch, 6);
    assert_int_equal(do_place(w, &r, 10, 1, "lobby", 5), WR_STALE);
    assert_int_equal(wr_world_registry_find(w, "lobby")->node, 3);
    assert_int_equal(do_place(w, &r, 10, 1, "arena", 1), WR_APPLIED);
    assert_int_equal(wr_world_registry_count(w), 4);
    /* arena < lobby < node/1 < node/3 */
    assert_string_equal(wr_world_registry_at(w, 0)->name, "arena");
    assert_string_equal(wr_world_registry_at(w, 1)->name, "lobby");
    assert_string_equal(wr_world_registry_at(w, 2)->name, "node/1");
    assert_null(wr_world_registry_find(w, "node/2"));
    assert_null(wr_world_registry_find(w, "lobb"));

    /* Malformed core commands change nothing. */
    wr_world_hash(w, h1);
    struct wr_writer p;
    wr_writer_init(&p, 16);
    wr_put_str(&p, "half"); /* no epoch */
    assert_int_equal(apply_one(w, &r, 10, 0, WR_MODULE_CORE, WR_CORE_PLACE, 1, 0, 0, &p),
                     WR_MALFORMED);
    assert_int_equal(apply_one(w, &r, 10, 0, WR_MODULE_CORE, WR_CORE_NODE_INFO, 1, 0, 0, NULL),
                     WR_MALFORMED);
    assert_int_equal(apply_one(w, &r, 10, 0, WR_MODULE_CORE, 99, 1, 0, 0, &p), WR_MALFORMED);
    wr_writer_free(&p);
    wr_writer_init(&p, 128);
    char longname[100];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    wr_put_str(&p, longname);
    wr_put_u64(&p, 1);
    assert_int_equal(apply_one(w, &r, 10, 0, WR_MODULE_CORE, WR_CORE_PLACE, 1, 0, 0, &p),
                     WR_MALFORMED);
    wr_writer_free(&p);
    wr_world_hash(w, h2);
    assert_string_equal(h1, h2);
    assert_null(wr_world_registry_find(w, "half"));

    /* The registry survives a snapshot round trip. */
    struct rec r2;
    struct wr_world *w2 = new_world(&r2);
    struct wr_writer s;
    snap(w, &s);
    assert_int_equal(wr_world_restore(w2, s.base, s.len), 0);
    wr_writer_free(&s);
    assert_same_state(w, w2);
    assert_int_equal(wr_world_registry_count(w2), 4);
    assert_int_equal(wr_world_registry_find(w2, "lobby")->epoch, 6);
    assert_string_equal(wr_world_registry_find(w2, "node/3")->http, "10.1.1.1:9000");
    assert_int_equal(do_place(w2, &r2, 10, 1, "lobby", 5), WR_STALE);
    wr_world_destroy(w2);
    wr_world_destroy(w);
}

static void test_hash_tracks_state(void **state)
{
    (void)state;
    struct rec r, r2;
    struct wr_world *w = new_world(&r), *w2 = new_world(&r2);
    char h0[17], h[17], prev[17];
    wr_world_hash(w, h0);
    assert_int_equal(strlen(h0), 16);
    assert_int_equal(strspn(h0, "0123456789abcdef"), 16);
    wr_world_hash(w2, h);
    assert_string_equal(h0, h);
    wr_world_hash(w, h);
    assert_string_equal(h0, h); /* hashing does not change anything */

    do_config(w, &r, 1000, 8, 6);
    wr_world_hash(w, h);
    assert_string_not_equal(h0, h);
    memcpy(prev, h, sizeof h);
    assert_int_equal(do_join(w, &r, 1000, 1, 1, 5, 1, "hash"), WR_APPLIED);
    wr_world_hash(w, h);
    assert_string_not_equal(prev, h);
    memcpy(prev, h, sizeof h);

    /* Nothing changes: duplicate, stale, gap, empty entry at the same time,
     * an entry with an older stamp, a malformed entry. */
    assert_int_equal(do_join(w, &r, 1000, 1, 1, 5, 1, "hash"), WR_DUPLICATE);
    wr_world_hash(w, h);
    assert_string_equal(prev, h);
    assert_int_equal(do_move(w, &r, 1000, 2, 5, 2, WR_DIR_UP, 1), WR_STALE);
    assert_int_equal(do_move(w, &r, 1000, 1, 5, 3, WR_DIR_UP, 1), WR_GAP);
    assert_int_equal(do_move(w, &r, 1000, 1, 6, 2, WR_DIR_UP, 1), WR_STALE);
    do_tick(w, &r, 1000);
    do_tick(w, &r, 999);
    uint8_t bad[WR_ENTRY_HEADER_BYTES] = {WR_ENTRY_VERSION + 1};
    assert_int_equal(wr_world_apply(w, bad, sizeof bad), -1);
    wr_world_hash(w, h);
    assert_string_equal(prev, h);

    /* A move changes it (even a blocked one: the seq is state). */
    assert_int_equal(do_move(w, &r, 1000, 1, 5, 2, WR_DIR_UP, 1), WR_APPLIED);
    wr_world_hash(w, h);
    assert_string_not_equal(prev, h);
    memcpy(prev, h, sizeof h);
    /* Log time is state too (it drives pruning). */
    do_tick(w, &r, 1001);
    wr_world_hash(w, h);
    assert_string_not_equal(prev, h);
    memcpy(prev, h, sizeof h);
    assert_int_equal(do_leave(w, &r, 1001, 1, 5, 3), WR_APPLIED);
    wr_world_hash(w, h);
    assert_string_not_equal(prev, h);
    wr_world_destroy(w2);
    wr_world_destroy(w);
}

/* Random play, snapshot, restore into a fresh world and into a used one:
 * identical bytes and hash, and identical behaviour from then on. */
static void test_snapshot_roundtrip_random_play(void **state)
{
    (void)state;
    struct rec ra, rb, rc;
    struct wr_world *a = new_world(&ra);
    do_config(a, &ra, 500, 12, 10);
    struct play pl;
    play_init(&pl, 0xFEEDFACEull);
    play_run(&pl, a, &ra, NULL, NULL, 0, 220);
    assert_true(pl.commands >= 500);
    assert_true(ra.total_ev > 300);
    assert_true(wr_arena_count(arena_of(a)) > 5);
    assert_true(wr_world_registry_count(a) > 3);

    struct wr_writer s;
    snap(a, &s);
    struct wr_world *b = new_world(&rb);
    struct wr_world *c = played_world(&rc, 0x1111ull, 80); /* unrelated state */
    rec_reset(&rb);
    rec_reset(&rc);
    size_t ev_c = rc.total_ev;
    assert_int_equal(wr_world_restore(b, s.base, s.len), 0);
    assert_int_equal(wr_world_restore(c, s.base, s.len), 0);
    assert_int_equal(rb.total_ev, 0); /* restore emits no events */
    assert_int_equal(rc.total_ev, ev_c);
    assert_same_state(a, b);
    assert_same_state(a, c);
    assert_int_equal(wr_world_now(b), wr_world_now(a));
    check_arena(b, true);
    check_arena(c, true);
    /* Restoring the same bytes twice is idempotent. */
    assert_int_equal(wr_world_restore(c, s.base, s.len), 0);
    assert_same_state(a, c);
    wr_writer_free(&s);

    /* Same further entries: same events, verdicts and state, step by step. */
    ra.digest = rb.digest = rc.digest = 0;
    struct wr_world *others[2] = {b, c};
    struct rec *orecs[2] = {&rb, &rc};
    for (int round = 0; round < 10; round++) {
        play_run(&pl, a, &ra, others, orecs, 2, 15);
        assert_same_state(a, b);
        assert_same_state(a, c);
    }
    assert_int_equal(ra.digest, rb.digest);
    assert_int_equal(ra.digest, rc.digest);

    /* A snapshot of the restored world restores again (chained installs). */
    struct rec rd;
    struct wr_world *d = new_world(&rd);
    snap(b, &s);
    assert_int_equal(wr_world_restore(d, s.base, s.len), 0);
    wr_writer_free(&s);
    assert_same_state(a, d);
    wr_world_destroy(d);
    wr_world_destroy(c);
    wr_world_destroy(b);
    wr_world_destroy(a);
}

static void test_restore_garbage(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    uint64_t rng = 0xDEC0DEull;
    uint8_t buf[600];
    for (int i = 0; i < 3000; i++) {
        size_t len = rng_next(&rng) % sizeof buf;
        for (size_t j = 0; j < len; j++)
            buf[j] = (uint8_t)rng_next(&rng);
        if (i % 2 == 0 && len > 0)
            buf[0] = WR_SNAPSHOT_VERSION; /* get past the first check */
        if (i % 4 == 0 && len > 21) {
            /* Small counts, to get into the sections. */
            memset(buf + 17, 0, 4);
            buf[17] = (uint8_t)(rng_next(&rng) % 3);
        }
        if (i % 8 == 0)
            do_config(w, &r, 5, 4, 4); /* a non-empty state to be wiped */
        rec_reset(&r);
        assert_int_equal(wr_world_restore(w, buf, len), -1);
        assert_int_equal(r.n_ev, 0);
        if (i % 50 == 0) {
            assert_world_empty(w);
            assert_usable(w, &r);
        }
    }
    assert_int_equal(wr_world_restore(w, NULL, 0), -1);
    assert_world_empty(w);
    assert_usable(w, &r);
    wr_world_destroy(w);
}

static void test_restore_truncated_and_mutated(void **state)
{
    (void)state;
    struct rec ra, r;
    struct wr_world *a = played_world(&ra, 0xABCDull, 150);
    struct wr_writer s;
    snap(a, &s);
    struct wr_world *w = new_world(&r);

    /* Every truncation is refused and leaves the world empty. */
    struct rec re;
    struct wr_world *empty = new_world(&re);
    struct wr_writer es;
    snap(empty, &es);
    for (size_t len = 0; len < s.len; len++) {
        assert_int_equal(wr_world_restore(w, s.base, len), -1);
        if (len % 64 == 0 || len + 64 > s.len) {
            struct wr_writer got;
            snap(w, &got);
            assert_int_equal(got.len, es.len);
            assert_memory_equal(got.base, es.base, es.len);
            wr_writer_free(&got);
        }
    }
    assert_world_empty(w);
    assert_usable(w, &r);
    /* Trailing bytes are refused too. */
    uint8_t *longer = malloc(s.len + 1);
    assert_non_null(longer);
    memcpy(longer, s.base, s.len);
    longer[s.len] = 0;
    assert_int_equal(wr_world_restore(w, longer, s.len + 1), -1);
    assert_world_empty(w);
    free(longer);
    /* The whole thing is fine. */
    assert_int_equal(wr_world_restore(w, s.base, s.len), 0);
    assert_same_state(a, w);

    /* Byte mutations: either refused (and empty) or accepted; in both cases
     * nothing crashes and the world keeps working. */
    uint8_t *m = malloc(s.len);
    assert_non_null(m);
    uint64_t rng = 77;
    for (size_t i = 0; i < s.len; i++) {
        memcpy(m, s.base, s.len);
        m[i] ^= (uint8_t)(1u << (rng_next(&rng) % 8));
        if (rng_next(&rng) % 4 == 0)
            m[(i + rng_next(&rng) % s.len) % s.len] = (uint8_t)rng_next(&rng);
        int rc = wr_world_restore(w, m, s.len);
        assert_true(rc == 0 || rc == -1);
        if (rc == -1) {
            if (i % 16 == 0)
                assert_world_empty(w);
        } else {
            check_arena(w, false);
        }
        if (i % 16 == 0)
            assert_usable(w, &r);
    }
    free(m);
    wr_writer_free(&es);
    wr_writer_free(&s);
    wr_world_destroy(empty);
    wr_world_destroy(w);
    wr_world_destroy(a);
}

/* Offsets in the snapshot of a world with no sessions and no registry:
 * u8 version | u64 now | u64 next_prune | cluster_id[16] | u32 0 | u32 0 |
 * u8 nsections | str "arena" | u8 version | u32 len | arena: u16 w | u16 h
 * | u32 next_id | u32 count | players. The arena is the first section. */
#define SNAP_ARENA_AT (1 + 8 + 8 + 16 + 4 + 4 + 1 + 1 + 5 + 1 + 4)

/* Crafted snapshots that pass the format checks but would break arena
 * invariants if accepted. */
static void test_restore_crafted(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    do_config(w, &r, 10, 4, 4);
    struct wr_writer s;
    snap(w, &s);
    assert_true(s.len >= SNAP_ARENA_AT + 12); /* the MUD's section follows */
    assert_int_equal(s.base[SNAP_ARENA_AT + 4], 1); /* next_id 1 */

    /* next_id 0 would hand out player id 0 (the "empty" key and cell). */
    struct rec r2;
    struct wr_world *w2 = new_world(&r2);
    memset(s.base + SNAP_ARENA_AT + 4, 0, 4);
    int rc = wr_world_restore(w2, s.base, s.len);
    assert_true(rc == 0 || rc == -1);
    assert_int_equal(do_join(w2, &r2, 20, 1, 1, 5, 1, "zero"), WR_APPLIED);
    check_arena(w2, rc == -1);

    /* The last ids: handed out up to UINT32_MAX-1, then refused, never
     * wrapping to 0; the state still snapshots and restores. */
    s.base[SNAP_ARENA_AT + 4] = 0xfe;
    memset(s.base + SNAP_ARENA_AT + 5, 0xff, 3);
    assert_int_equal(wr_world_restore(w2, s.base, s.len), 0);
    assert_int_equal(do_join(w2, &r2, 20, 1, 1, 5, 1, "last"), WR_APPLIED);
    assert_int_equal(r2.ev[0].type, WR_ARENA_EV_JOINED);
    assert_int_equal(r2.ev[0].p.id, UINT32_MAX - 1);
    assert_int_equal(do_join(w2, &r2, 20, 2, 1, 6, 1, "over"), WR_APPLIED);
    expect_refusal(&r2, 1, 6, "arena_full");
    check_arena(w2, true);
    wr_writer_free(&s);
    snap(w2, &s);
    struct rec r3;
    struct wr_world *w3 = new_world(&r3);
    assert_int_equal(wr_world_restore(w3, s.base, s.len), 0);
    assert_same_state(w2, w3);
    wr_world_destroy(w3);
    wr_writer_free(&s);

    /* A player whose session is not the world's: then that session joins. */
    assert_int_equal(do_join(w, &r, 10, 1, 1, 5, 1, "orphan"), WR_APPLIED);
    snap(w, &s);
    /* The one session record follows the header (and the cluster id): u64
     * key at offset 37. */
    assert_int_equal(s.base[33], 1);
    assert_int_equal(s.base[37], 5);
    s.base[37] = 6;
    rc = wr_world_restore(w2, s.base, s.len);
    assert_true(rc == 0 || rc == -1);
    assert_int_equal(do_join(w2, &r2, 20, 2, 1, 5, 1, "again"), WR_APPLIED);
    assert_int_equal(do_move(w2, &r2, 20, 1, 5, 2, WR_DIR_UP, 1), WR_APPLIED);
    assert_int_equal(do_leave(w2, &r2, 20, 1, 5, 3), WR_APPLIED);
    check_arena(w2, false);
    wr_writer_free(&s);
    wr_world_destroy(w2);
    wr_world_destroy(w);
}

static void test_malformed_entries(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    struct wr_writer empty_snap;
    snap(w, &empty_snap);

    /* A valid entry of three commands, and where each command ends. */
    struct batch b;
    batch_init(&b);
    struct wr_writer p;
    size_t ends[3];
    wr_writer_init(&p, 32);
    wr_put_str(&p, "127.0.0.1:8001");
    batch_add(&b, WR_MODULE_CORE, WR_CORE_NODE_INFO, 1, 0, 0, &p);
    ends[0] = WR_ENTRY_HEADER_BYTES + b.cmds.len;
    p.len = 0;
    wr_arena_encode_config(&p, 8, 8);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_CONFIG, 1, 0, 0, &p);
    ends[1] = WR_ENTRY_HEADER_BYTES + b.cmds.len;
    p.len = 0;
    wr_arena_encode_join(&p, "alice");
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_JOIN, 1, 9, 1, &p);
    ends[2] = WR_ENTRY_HEADER_BYTES + b.cmds.len;
    wr_writer_free(&p);
    assert_int_equal(ends[0], WR_ENTRY_HEADER_BYTES + WR_CMD_HEADER_BYTES + 15);
    struct wr_writer e;
    batch_entry(&b, 1234, 55, &e);
    batch_free(&b);
    assert_int_equal(e.len, ends[2]);

    /* Every truncation: header cut -> -1 and nothing; otherwise the
     * complete commands apply and the rest is skipped. */
    for (size_t len = 0; len <= e.len; len++) {
        struct rec rr;
        struct wr_world *t = new_world(&rr);
        uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
        assert_non_null(copy);
        memcpy(copy, e.base, len);
        int rc = wr_world_apply(t, copy, len);
        free(copy);
        size_t complete = 0;
        for (int i = 0; i < 3; i++)
            complete += ends[i] <= len;
        if (len < WR_ENTRY_HEADER_BYTES) {
            assert_int_equal(rc, -1);
            assert_int_equal(rr.n_v, 0);
            assert_world_empty(t);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(rr.n_v, complete);
            for (size_t i = 0; i < complete; i++)
                assert_int_equal(rr.v[i], WR_APPLIED);
            assert_int_equal(wr_world_registry_count(t), complete >= 1);
            assert_int_equal(wr_arena_width(arena_of(t)), complete >= 2 ? 8 : 0);
            assert_int_equal(wr_arena_count(arena_of(t)), complete >= 3);
            assert_int_equal(wr_world_now(t), 1234);
        }
        wr_world_destroy(t);
    }

    /* Wrong versions: rejected whole, nothing applied (not even the time).
     * Version 1, the format before commands carried their module's
     * version, is still read: test_entry_v1_and_incompatible covers it. */
    for (unsigned v = 0; v < 256; v += 1) {
        if (v == WR_ENTRY_VERSION || v == 1)
            continue;
        e.base[0] = (uint8_t)v;
        rec_reset(&r);
        assert_int_equal(wr_world_apply(w, e.base, e.len), -1);
        assert_int_equal(r.n_v, 0);
        assert_int_equal(r.n_ev, 0);
    }
    e.base[0] = WR_ENTRY_VERSION;
    assert_world_empty(w);

    /* A count larger than the contents: the commands present apply. */
    e.base[17] = 200;
    rec_reset(&r);
    assert_int_equal(wr_world_apply(w, e.base, e.len), 0);
    assert_int_equal(r.n_v, 3);
    assert_int_equal(wr_arena_count(arena_of(w)), 1);
    e.base[17] = 0xff;
    e.base[18] = e.base[19] = e.base[20] = 0xff;
    rec_reset(&r);
    assert_int_equal(wr_world_apply(w, e.base, e.len), 0);
    assert_int_equal(r.n_v, 3);
    assert_int_equal(r.v[0], WR_APPLIED); /* NODE_INFO again: an upsert */
    assert_int_equal(r.v[2], WR_DUPLICATE);
    /* A count smaller than the contents: the rest is ignored. */
    memset(e.base + 17, 0, 4);
    e.base[17] = 1;
    rec_reset(&r);
    assert_int_equal(wr_world_apply(w, e.base, e.len), 0);
    assert_int_equal(r.n_v, 1);
    wr_writer_free(&e);

    /* Oversized payload lengths. */
    struct wr_world *t = new_world(&r);
    batch_init(&b);
    wr_writer_init(&p, 2048);
    wr_put_str(&p, "x:1");
    batch_add(&b, WR_MODULE_CORE, WR_CORE_NODE_INFO, 1, 0, 0, &p);
    while (p.len < WR_CMD_MAX_PAYLOAD + 1)
        wr_put_u8(&p, 0);
    batch_add(&b, WR_MODULE_CORE, WR_CORE_NODE_INFO, 2, 0, 0, &p); /* 1025: too long */
    batch_add(&b, WR_MODULE_CORE, WR_CORE_NODE_INFO, 3, 0, 0, NULL);
    batch_entry(&b, 10, 0, &e);
    batch_free(&b);
    rec_reset(&r);
    assert_int_equal(wr_world_apply(t, e.base, e.len), 0);
    assert_int_equal(r.n_v, 1);
    assert_int_equal(wr_world_registry_count(t), 1);
    wr_writer_free(&e);
    /* Exactly the maximum is fine. */
    batch_init(&b);
    p.len = WR_CMD_MAX_PAYLOAD;
    batch_add(&b, WR_MODULE_CORE, WR_CORE_NODE_INFO, 2, 0, 0, &p);
    batch_entry(&b, 10, 0, &e);
    batch_free(&b);
    rec_reset(&r);
    assert_int_equal(wr_world_apply(t, e.base, e.len), 0);
    assert_int_equal(r.n_v, 1);
    assert_int_equal(r.v[0], WR_APPLIED);
    assert_int_equal(wr_world_registry_count(t), 2);
    wr_writer_free(&e);
    wr_writer_free(&p);
    /* A declared length of 65535 with a few bytes behind it. */
    {
        struct wr_writer x;
        wr_writer_init(&x, 64);
        wr_entry_header(&x, 10, 0, 1);
        wr_put_u8(&x, WR_MODULE_CORE);
        wr_put_u8(&x, WR_CORE_NODE_INFO);
        wr_put_u32(&x, 4);
        wr_put_u64(&x, 0);
        wr_put_u32(&x, 0);
        wr_put_u16(&x, 0xffff);
        wr_put_str(&x, "y:1");
        uint8_t *copy = malloc(x.len);
        assert_non_null(copy);
        memcpy(copy, x.base, x.len);
        rec_reset(&r);
        assert_int_equal(wr_world_apply(t, copy, x.len), 0);
        assert_int_equal(r.n_v, 0);
        free(copy);
        wr_writer_free(&x);
    }
    assert_int_equal(wr_world_registry_count(t), 2);

    /* Bad addresses inside a good entry: verdict MALFORMED, entry goes on. */
    batch_init(&b);
    wr_writer_init(&p, 16);
    wr_arena_encode_join(&p, "nosession");
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_JOIN, 1, 0, 1, &p); /* join w/o session */
    wr_writer_free(&p);
    wr_writer_init(&p, 16);
    wr_arena_encode_config(&p, 5, 5);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_CONFIG, 1, 0, 0, &p);
    wr_writer_free(&p);
    batch_apply(t, &r, &b, 11, 0);
    batch_free(&b);
    assert_int_equal(r.v[0], WR_MALFORMED);
    assert_int_equal(r.v[1], WR_APPLIED);
    assert_int_equal(wr_arena_width(arena_of(t)), 5);
    assert_int_equal(wr_arena_count(arena_of(t)), 0);
    wr_world_destroy(t);

    assert_usable(w, &r);
    wr_writer_free(&empty_snap);
    wr_world_destroy(w);
}

/* Random and mutated entries: never a crash, and the arena invariants
 * (including: every player's session is open and owned by its node) hold
 * after every entry. */
static void test_fuzz_entries(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    uint64_t rng = 0xF0F0F0ull;
    do_config(w, &r, 1, 6, 5);
    struct wr_writer e;
    size_t joined = 0, moved = 0, left = 0, refused = 0, max_players = 0;
    for (int i = 0; i < 4000; i++) {
        wr_writer_init(&e, 256);
        uint32_t count = (uint32_t)(rng_next(&rng) % 6);
        wr_entry_header(&e, 1000 + (uint64_t)i * 500, rng_next(&rng), count);
        for (uint32_t c = 0; c < count; c++) {
            /* Mostly plausible commands (the session's next seq, its node,
             * a real type, a decodable payload), so that they get past the
             * session checks into the arena; the rest random. */
            const struct wr_arena *ar = arena_of(w);
            uint64_t session = rng_next(&rng) % 200;
            if (wr_arena_count(ar) > 0 && rng_next(&rng) % 2 == 0)
                session = wr_arena_players(ar)[rng_next(&rng) % wr_arena_count(ar)].session;
            struct wr_session_info si;
            bool known = session != 0 && wr_world_session(w, session, &si);
            uint32_t seq = known ? si.last_seq + 1 : 1;
            if (rng_next(&rng) % 4 == 0)
                seq = (uint32_t)(rng_next(&rng) % 5);
            uint32_t node =
                known && rng_next(&rng) % 5 != 0 ? si.node : 1 + (uint32_t)(rng_next(&rng) % 2);
            unsigned mk = (unsigned)(rng_next(&rng) % 8);
            uint8_t module = mk == 0  ? WR_MODULE_CORE
                             : mk < 7 ? WR_MODULE_ARENA
                                      : (uint8_t)rng_next(&rng);
            unsigned tk = (unsigned)(rng_next(&rng) % 10);
            uint8_t type = tk < 1   ? WR_ARENA_CONFIG
                           : tk < 4 ? WR_ARENA_JOIN
                           : tk < 9 ? WR_ARENA_MOVE
                                    : WR_ARENA_LEAVE;
            if (module == WR_MODULE_CORE)
                type = (uint8_t)(1 + tk % 2);
            if (rng_next(&rng) % 10 == 0)
                type = (uint8_t)rng_next(&rng);
            uint8_t pay[40];
            size_t plen = rng_next(&rng) % sizeof pay;
            for (size_t j = 0; j < plen; j++)
                pay[j] = (uint8_t)rng_next(&rng);
            if (rng_next(&rng) % 4 != 0) {
                if (module == WR_MODULE_ARENA && type == WR_ARENA_JOIN) {
                    plen = 1 + rng_next(&rng) % 4; /* names of 0..3 of "abcd" */
                    pay[0] = (uint8_t)(plen - 1);
                    for (size_t j = 1; j < plen; j++)
                        pay[j] = (uint8_t)('a' + pay[j] % 4);
                } else if (module == WR_MODULE_ARENA && type == WR_ARENA_MOVE) {
                    plen = 5;
                    pay[0] = (uint8_t)(pay[0] % 5);
                }
            }
            struct wr_cmd cmd = {
                .module = module,
                .type = type,
                .node = node,
                .session = session,
                .seq = seq,
                .len = (uint16_t)plen,
                .payload = pay,
            };
            wr_cmd_encode(&e, &cmd);
        }
        /* Sometimes corrupt or cut the entry. */
        unsigned how = (unsigned)(rng_next(&rng) % 8);
        if (how == 0 && e.len > 0)
            e.base[rng_next(&rng) % e.len] ^= (uint8_t)(1 + rng_next(&rng) % 255);
        else if (how == 1 && e.len > 0)
            e.len = rng_next(&rng) % e.len;
        uint8_t *copy = malloc(e.len ? e.len : 1);
        assert_non_null(copy);
        if (e.len)
            memcpy(copy, e.base, e.len);
        rec_reset(&r);
        int rc = wr_world_apply(w, copy, e.len);
        assert_true(rc == 0 || rc == -1 || rc == WR_APPLY_INCOMPATIBLE);
        if (rc == WR_APPLY_INCOMPATIBLE) {
            /* A corrupted module id or version: the world halted before
             * applying anything. Carry on from the same state. */
            assert_non_null(wr_world_halted(w));
            struct wr_writer sn;
            wr_writer_init(&sn, 1024);
            wr_world_snapshot(w, &sn);
            assert_int_equal(wr_world_restore(w, sn.base, sn.len), 0);
            assert_null(wr_world_halted(w));
            wr_writer_free(&sn);
        }
        free(copy);
        wr_writer_free(&e);
        check_arena(w, true);
        for (size_t j = 0; j < r.n_ev && j < MAX_EV; j++) {
            joined += r.ev[j].type == WR_ARENA_EV_JOINED;
            moved += r.ev[j].type == WR_ARENA_EV_MOVED;
            left += r.ev[j].type == WR_ARENA_EV_LEFT;
            refused += r.ev[j].type == WR_ARENA_EV_REFUSED;
        }
        if (wr_arena_count(arena_of(w)) > max_players)
            max_players = wr_arena_count(arena_of(w));
    }
    /* The fuzz reached the interesting paths. */
    assert_true(joined > 100 && moved > 300 && left > 50 && refused > 100);
    assert_true(max_players >= 8);
    /* And a snapshot of whatever came out restores to the same state. */
    struct rec r2;
    struct wr_world *w2 = new_world(&r2);
    struct wr_writer s;
    snap(w, &s);
    assert_int_equal(wr_world_restore(w2, s.base, s.len), 0);
    wr_writer_free(&s);
    assert_same_state(w, w2);
    wr_world_destroy(w2);
    wr_world_destroy(w);
}

static void test_codec(void **state)
{
    (void)state;
    struct wr_writer o;
    wr_writer_init(&o, 8);
    const uint8_t pay[3] = {1, 2, 3};
    struct wr_cmd in = {.module = 1,
                        .type = 3,
                        .node = 0xA1B2C3D4u,
                        .session = 0x0102030405060708ull,
                        .seq = 0xFFFFFFFFu,
                        .len = 3,
                        .payload = pay};
    wr_cmd_encode(&o, &in);
    assert_int_equal(o.len, WR_CMD_HEADER_BYTES + 3);
    assert_int_equal(o.base[1], 1);    /* the arena's version, filled in */
    assert_int_equal(o.base[3], 0xD4); /* little endian */
    assert_int_equal(o.base[7], 0x08);
    struct wr_reader rd;
    wr_reader_init(&rd, o.base, o.len);
    struct wr_cmd out;
    assert_int_equal(wr_cmd_decode(&rd, &out, WR_ENTRY_VERSION), 0);
    assert_int_equal(rd.left, 0);
    assert_int_equal(out.module, 1);
    assert_int_equal(out.type, 3);
    assert_int_equal(out.node, in.node);
    assert_int_equal(out.session, in.session);
    assert_int_equal(out.seq, in.seq);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.payload, pay, 3);
    for (size_t len = 0; len < o.len; len++) {
        wr_reader_init(&rd, o.base, len);
        assert_int_equal(wr_cmd_decode(&rd, &out, WR_ENTRY_VERSION), -1);
    }
    wr_writer_free(&o);

    wr_writer_init(&o, 8);
    wr_entry_header(&o, 1, 2, 3);
    assert_int_equal(o.len, WR_ENTRY_HEADER_BYTES);
    assert_int_equal(o.base[0], WR_ENTRY_VERSION);
    wr_writer_free(&o);

    /* Strings: u8 length, at most cap-1 bytes. */
    wr_writer_init(&o, 8);
    wr_put_str(&o, "abc");
    char dst[4];
    wr_reader_init(&rd, o.base, o.len);
    assert_int_equal(wr_get_str(&rd, dst, sizeof dst), 0);
    assert_string_equal(dst, "abc");
    wr_reader_init(&rd, o.base, o.len);
    assert_int_equal(wr_get_str(&rd, dst, 3), -1);
    wr_reader_init(&rd, o.base, o.len - 1);
    assert_int_equal(wr_get_str(&rd, dst, sizeof dst), -1);
    wr_writer_free(&o);

    /* wr_mix64 is a fixed function: nodes must agree on it forever. */
    uint64_t st = 0;
    assert_true(wr_mix64(&st) == 0xE220A8397B1DCDAFull); /* splitmix64(0) */
}


/* Compatibility: an entry of format 1 (no module version per command) still
 * applies; a command of a module this binary lacks, or of a newer version,
 * halts the world instead of being skipped (skipping would diverge from
 * nodes that apply it), and a positive control shows the same command with
 * a known module and version applies. */
static void test_entry_v1_and_incompatible(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    struct wr_writer p, e;
    wr_writer_init(&p, 16);
    wr_arena_encode_config(&p, 6, 6);
    wr_writer_init(&e, 64);
    wr_put_u8(&e, 1); /* format 1 */
    wr_put_u64(&e, 100);
    wr_put_u64(&e, 7);
    wr_put_u32(&e, 1);
    wr_put_u8(&e, WR_MODULE_ARENA);
    wr_put_u8(&e, WR_ARENA_CONFIG);
    wr_put_u32(&e, 1);
    wr_put_u64(&e, 0);
    wr_put_u32(&e, 0);
    wr_put_u16(&e, (uint16_t)p.len);
    wr_put_bytes(&e, p.base, p.len);
    rec_reset(&r);
    assert_int_equal(wr_world_apply(w, e.base, e.len), 0);
    assert_int_equal(r.n_v, 1);
    assert_int_equal(r.v[0], WR_APPLIED);
    assert_int_equal(wr_arena_width(arena_of(w)), 6);
    wr_writer_free(&e);

    /* Positive control: the current format, known module and version. */
    struct batch b;
    batch_init(&b);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_CONFIG, 1, 0, 0, &p);
    batch_apply(w, &r, &b, 200, 1);
    batch_free(&b);
    assert_null(wr_world_halted(w));

    /* A newer arena version than this binary's. */
    struct wr_cmd c = {.module = WR_MODULE_ARENA, .version = 99, .type = WR_ARENA_CONFIG,
                       .node = 1, .len = (uint16_t)p.len, .payload = p.base};
    wr_writer_init(&e, 64);
    wr_entry_header(&e, 300, 1, 1);
    wr_cmd_encode(&e, &c);
    char before[17], after[17];
    wr_world_hash(w, before);
    rec_reset(&r);
    assert_int_equal(wr_world_apply(w, e.base, e.len), WR_APPLY_INCOMPATIBLE);
    assert_int_equal(r.n_v, 0);
    assert_non_null(wr_world_halted(w));
    assert_non_null(strstr(wr_world_halted(w), "version 99"));
    wr_world_hash(w, after);
    assert_string_equal(before, after);
    /* Halted: even a good entry is refused now. */
    batch_init(&b);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_CONFIG, 1, 0, 0, &p);
    struct wr_writer good;
    wr_writer_init(&good, 64);
    wr_entry_header(&good, 400, 1, b.count);
    wr_put_bytes(&good, b.cmds.base, b.cmds.len);
    assert_int_equal(wr_world_apply(w, good.base, good.len), WR_APPLY_INCOMPATIBLE);
    batch_free(&b);
    wr_writer_free(&good);
    wr_writer_free(&e);
    wr_world_destroy(w);

    /* A module id nobody has. */
    w = new_world(&r);
    c = (struct wr_cmd){.module = 9, .version = 1, .type = 1, .node = 1};
    wr_writer_init(&e, 64);
    wr_entry_header(&e, 300, 1, 1);
    wr_cmd_encode(&e, &c);
    assert_int_equal(wr_world_apply(w, e.base, e.len), WR_APPLY_INCOMPATIBLE);
    assert_non_null(strstr(wr_world_halted(w), "no such module"));
    wr_writer_free(&e);
    wr_writer_free(&p);
    wr_world_destroy(w);
}

/* One core command in an entry of its own; returns wr_world_apply's. */
static int apply_core_cmd(struct wr_world *w, uint8_t type, uint32_t node, uint8_t version,
                          const struct wr_writer *p, struct wr_writer *entry)
{
    struct wr_cmd c = {.module = WR_MODULE_CORE, .version = version, .type = type, .node = node,
                       .len = (uint16_t)p->len, .payload = p->base};
    entry->len = 0;
    wr_entry_header(entry, 500, 1, 1);
    wr_cmd_encode(entry, &c);
    return wr_world_apply(w, entry->base, entry->len);
}

/* Drain marks and telnet addresses (core version 3): applied, listed,
 * kept by a snapshot; the snapshot stays format 3 (what the previous
 * release reads) while no node has a mark, and each core command is
 * written with the version that introduced its type. Data newer than this
 * binary is refused with a message saying so. */
static void test_drain_marks(void **state)
{
    (void)state;
    struct wr_world *w = wr_world_create(NULL);
    struct wr_writer p, e, snap;
    wr_writer_init(&p, 64);
    wr_writer_init(&e, 128);
    wr_writer_init(&snap, 1024);

    wr_world_snapshot(w, &snap);
    assert_int_equal(snap.base[0], 3); /* no mark: the old format */

    /* versions on the wire: NODE_INFO 1, CLUSTER_ID 2, DRAIN 3 */
    wr_put_str(&p, "127.0.0.1:4001");
    assert_int_equal(apply_core_cmd(w, WR_CORE_NODE_INFO, 1, 0, &p, &e), 0);
    assert_int_equal(e.base[WR_ENTRY_HEADER_BYTES + 1], 1);
    p.len = 0;
    wr_put_u32(&p, 2);
    wr_put_u8(&p, 1);
    assert_int_equal(apply_core_cmd(w, WR_CORE_DRAIN, 1, 0, &p, &e), 0);
    assert_int_equal(e.base[WR_ENTRY_HEADER_BYTES + 1], 3);
    assert_true(wr_world_node_draining(w, 2));
    assert_false(wr_world_node_draining(w, 1));
    uint32_t ids[4];
    assert_int_equal(wr_world_draining(w, ids, 4), 1);
    assert_int_equal(ids[0], 2);
    p.len = 0;
    wr_put_str(&p, "127.0.0.1:5003");
    assert_int_equal(apply_core_cmd(w, WR_CORE_NODE_TELNET, 3, 0, &p, &e), 0);
    assert_string_equal(wr_world_node_telnet(w, 3), "127.0.0.1:5003");
    assert_string_equal(wr_world_node_telnet(w, 2), "");

    /* the snapshot keeps them (format 4) and restores to the same state */
    snap.len = 0;
    wr_world_snapshot(w, &snap);
    assert_int_equal(snap.base[0], 4);
    struct wr_world *w2 = wr_world_create(NULL);
    assert_int_equal(wr_world_restore(w2, snap.base, snap.len), 0);
    assert_true(wr_world_node_draining(w2, 2));
    assert_string_equal(wr_world_node_telnet(w2, 3), "127.0.0.1:5003");
    char h1[17], h2[17];
    wr_world_hash(w, h1);
    wr_world_hash(w2, h2);
    assert_string_equal(h1, h2);

    /* undrain, and a telnet address cleared: no mark left, format 3 again */
    p.len = 0;
    wr_put_u32(&p, 2);
    wr_put_u8(&p, 0);
    assert_int_equal(apply_core_cmd(w, WR_CORE_DRAIN, 1, 0, &p, &e), 0);
    assert_false(wr_world_node_draining(w, 2));
    p.len = 0;
    wr_put_str(&p, "");
    assert_int_equal(apply_core_cmd(w, WR_CORE_NODE_TELNET, 3, 0, &p, &e), 0);
    snap.len = 0;
    wr_world_snapshot(w, &snap);
    assert_int_equal(snap.base[0], 3);

    /* refusals: a mark for node 0, a bad flag */
    p.len = 0;
    wr_put_u32(&p, 0);
    wr_put_u8(&p, 1);
    assert_int_equal(apply_core_cmd(w, WR_CORE_DRAIN, 1, 0, &p, &e), 0);
    assert_int_equal(wr_world_draining(w, NULL, 0), 0);

    /* An entry of a core version newer than this binary's: nothing
     * applied, the world halts, saying what to do (the previous release
     * meets DRAIN, core version 3, the same way). */
    p.len = 0;
    wr_put_u32(&p, 2);
    wr_put_u8(&p, 1);
    wr_world_hash(w, h1);
    assert_int_equal(apply_core_cmd(w, WR_CORE_DRAIN, 1, WR_CORE_VERSION + 1, &p, &e),
                     WR_APPLY_INCOMPATIBLE);
    assert_non_null(strstr(wr_world_halted(w), "needs module 0 version 4"));
    assert_non_null(strstr(wr_world_halted(w), "run the newer binary"));
    assert_false(wr_world_node_draining(w, 2));
    wr_world_hash(w, h2);
    assert_string_equal(h1, h2);

    /* A snapshot format newer than this binary's: refused, state empty. */
    snap.base[0] = WR_SNAPSHOT_VERSION + 1;
    assert_int_equal(wr_world_restore(w2, snap.base, snap.len), -1);
    assert_false(wr_world_node_draining(w2, 2));

    wr_writer_free(&p);
    wr_writer_free(&e);
    wr_writer_free(&snap);
    wr_world_destroy(w);
    wr_world_destroy(w2);
}

/* The cluster id: the first CLUSTER_ID applied counts, later ones are
 * no-ops, a short payload is malformed; it survives a snapshot round trip
 * and is part of the state hash. */
static void test_cluster_id(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    static const uint8_t zero[WR_CLUSTER_ID_LEN];
    assert_memory_equal(wr_world_cluster_id(w), zero, WR_CLUSTER_ID_LEN);
    char h0[17], h1[17];
    wr_world_hash(w, h0);

    struct wr_writer p;
    wr_writer_init(&p, 32);
    wr_put_bytes(&p, "0123456789abcde", 15);
    assert_int_equal(apply_one(w, &r, 10, 0, WR_MODULE_CORE, WR_CORE_CLUSTER_ID, 1, 0, 0, &p),
                     WR_MALFORMED);
    assert_memory_equal(wr_world_cluster_id(w), zero, WR_CLUSTER_ID_LEN);
    p.len = 0;
    wr_put_bytes(&p, "0123456789abcdef", 16);
    assert_int_equal(apply_one(w, &r, 11, 0, WR_MODULE_CORE, WR_CORE_CLUSTER_ID, 1, 0, 0, &p),
                     WR_APPLIED);
    assert_memory_equal(wr_world_cluster_id(w), "0123456789abcdef", WR_CLUSTER_ID_LEN);
    wr_world_hash(w, h1);
    assert_string_not_equal(h0, h1);
    p.len = 0;
    wr_put_bytes(&p, "ffffffffffffffff", 16);
    assert_int_equal(apply_one(w, &r, 12, 0, WR_MODULE_CORE, WR_CORE_CLUSTER_ID, 2, 0, 0, &p),
                     WR_APPLIED);
    assert_memory_equal(wr_world_cluster_id(w), "0123456789abcdef", WR_CLUSTER_ID_LEN);
    wr_world_hash(w, h1);

    struct wr_writer s;
    snap(w, &s);
    struct rec r2;
    struct wr_world *t = new_world(&r2);
    assert_int_equal(wr_world_restore(t, s.base, s.len), 0);
    assert_memory_equal(wr_world_cluster_id(t), "0123456789abcdef", WR_CLUSTER_ID_LEN);
    char h2[17];
    wr_world_hash(t, h2);
    assert_string_equal(h1, h2);
    wr_writer_free(&s);
    wr_writer_free(&p);
    wr_world_destroy(t);
    wr_world_destroy(w);
}

/* Snapshot sections carry their module's name and version: a snapshot
 * without a module's section (written before the module existed) restores
 * with that module empty; a section this binary cannot read is refused. */
static void test_snapshot_sections(void **state)
{
    (void)state;
    struct rec r;
    struct wr_world *w = new_world(&r);
    struct wr_writer p;
    wr_writer_init(&p, 16);
    wr_arena_encode_config(&p, 9, 9);
    struct batch b;
    batch_init(&b);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_CONFIG, 1, 0, 0, &p);
    batch_apply(w, &r, &b, 100, 1);
    batch_free(&b);
    wr_writer_free(&p);

    struct wr_writer snap;
    wr_writer_init(&snap, 256);
    wr_world_snapshot(w, &snap);
    /* Find the section count: it follows the fixed core part, which for
     * this state is version, now, next_prune, cluster id, 0 sessions, 0
     * registry. */
    size_t at = 1 + 8 + 8 + 16 + 4 + 4;
    assert_true(snap.base[at] >= 1);

    /* 1. No sections at all: the arena starts empty, the rest restores. */
    struct wr_world *t = new_world(&r);
    uint8_t *copy = malloc(at + 1);
    memcpy(copy, snap.base, at);
    copy[at] = 0;
    assert_int_equal(wr_world_restore(t, copy, at + 1), 0);
    assert_int_equal(wr_arena_width(arena_of(t)), 0);
    assert_int_equal(wr_world_now(t), 100);
    free(copy);

    /* Positive control: the whole snapshot restores the arena. */
    assert_int_equal(wr_world_restore(t, snap.base, snap.len), 0);
    assert_int_equal(wr_arena_width(arena_of(t)), 9);

    /* 2. A section of a module this binary lacks is refused. */
    struct wr_writer bad;
    wr_writer_init(&bad, 256);
    wr_put_bytes(&bad, snap.base, at);
    wr_put_u8(&bad, 1);
    wr_put_str(&bad, "chess");
    wr_put_u8(&bad, 1);
    wr_put_u32(&bad, 0);
    assert_int_equal(wr_world_restore(t, bad.base, bad.len), -1);
    wr_writer_free(&bad);

    /* 3. A newer version of a module we have is refused. */
    wr_writer_init(&bad, 256);
    wr_put_bytes(&bad, snap.base, snap.len);
    /* the arena section's version byte follows its name */
    bad.base[at + 1 + 1 + strlen("arena")] = 200;
    assert_int_equal(wr_world_restore(t, bad.base, bad.len), -1);
    wr_writer_free(&bad);

    wr_writer_free(&snap);
    wr_world_destroy(t);
    wr_world_destroy(w);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    if (getenv("WARREN_TEST_LOG") == NULL)
        wr_log_set_level((enum wr_log_level)(WR_LOG_ERROR + 1)); /* quiet */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec),
        cmocka_unit_test(test_entry_v1_and_incompatible),
        cmocka_unit_test(test_snapshot_sections),
        cmocka_unit_test(test_config_applies_once),
        cmocka_unit_test(test_join_in_bounds),
        cmocka_unit_test(test_join_deterministic),
        cmocka_unit_test(test_join_bad_name),
        cmocka_unit_test(test_join_name_taken),
        cmocka_unit_test(test_arena_full),
        cmocka_unit_test(test_moves_each_direction_and_edges),
        cmocka_unit_test(test_moves_blocked_by_players),
        cmocka_unit_test(test_session_duplicate),
        cmocka_unit_test(test_session_gap),
        cmocka_unit_test(test_session_stale),
        cmocka_unit_test(test_join_on_open_session),
        cmocka_unit_test(test_session_prune),
        cmocka_unit_test(test_connection_lifecycle),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_hash_tracks_state),
        cmocka_unit_test(test_snapshot_roundtrip_random_play),
        cmocka_unit_test(test_restore_garbage),
        cmocka_unit_test(test_restore_truncated_and_mutated),
        cmocka_unit_test(test_restore_crafted),
        cmocka_unit_test(test_cluster_id),
        cmocka_unit_test(test_drain_marks),
        cmocka_unit_test(test_malformed_entries),
        cmocka_unit_test(test_fuzz_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
