/* mud_harness.h: the harness the MUD's unit tests share (test_mud*.c): a
 * world with the MUD module, commands applied through it as a node's log
 * entries would be, the events they raise captured, and a YAML test world
 * loaded through WORLD_CHUNK like a real one. Each test file keeps its own
 * world and its area's helpers; what is the same everywhere lives here, so
 * a change to how entries are built or events captured is made once.
 *
 * Include it after <cmocka.h> and "world/world.h", and define
 * test_bundle() (the file's world) in the file. A file may define
 * T_NOW0 / T_SEED0 before including it to start its worlds at another log
 * time or seed, and T_CHUNK to send bundles in other chunks. Every function is static inline: a
 * file uses what it needs without unused-function warnings. */
#ifndef WARREN_TESTS_MUD_HARNESS_H
#define WARREN_TESTS_MUD_HARNESS_H

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mud/mud.h"
#include "mud/worldfile.h"
#include "world/world.h"

#ifndef T_NOW0
#define T_NOW0 1000 /* log time of a fresh test world's first entry */
#endif
#ifndef T_SEED0
#define T_SEED0 42
#endif
#ifndef T_CHUNK
#define T_CHUNK 900 /* bytes of a bundle per WORLD_CHUNK */
#endif

/* ---- a test world's files ------------------------------------------------ */

/* One file of a bundle (worldfile.h has the framing). */
static inline void put_file(struct wr_writer *w, const char *name, const char *text)
{
    wr_put_u32(w, (uint32_t)strlen(name));
    wr_put_bytes(w, name, strlen(name));
    wr_put_u32(w, (uint32_t)strlen(text));
    wr_put_bytes(w, text, strlen(text));
}

/* Start bundle @w of @n_files files (put_file each after). */
static inline void bundle_init(struct wr_writer *w, uint32_t n_files)
{
    wr_writer_init(w, 4096);
    wr_put_bytes(w, WR_MUD_BUNDLE_MAGIC, 8);
    wr_put_u32(w, n_files);
}

/* ---- capture ------------------------------------------------------------- */

/* Events kept per command (the first ones; total_ev counts them all). */
#define MAX_EV 1024

/* One captured event: every field any test looks at, strings copied. */
struct ev {
    uint8_t type, audience;
    uint32_t node;
    uint64_t session, target;
    uint8_t actor_kind, target_kind;
    uint32_t actor_id, target_id, room;
    int dir;
    char actor[48], target_name[48], item[64], code[32];
    char text[WR_MUD_TEXT_MAX + 64], to_actor[WR_MUD_TEXT_MAX + 64],
        to_target[WR_MUD_TEXT_MAX + 64], to_room[WR_MUD_TEXT_MAX + 64];
};

/* A test world. ev is allocated by t_init and freed by t_free (too big for
 * the stack when a test holds three worlds). */
struct t {
    struct wr_world *w;
    uint64_t now, seed;
    uint32_t seq[64];  /* per session key (< 64): the last seq sent */
    uint32_t node[64]; /* per session key: the node that opened it, if set */
    size_t n_ev;       /* events kept for the last command (<= MAX_EV) */
    size_t total_ev;   /* every event since t_init (or a reset) */
    struct ev *ev;
    enum wr_verdict verdict;
    uint64_t digest; /* over every event, to compare two runs */
};

static inline uint64_t h_mix(uint64_t h, uint64_t v)
{
    uint64_t s = h ^ v;
    return wr_mix64(&s);
}

static inline uint64_t h_mix_str(uint64_t h, const char *s)
{
    h = h_mix(h, s ? 1 : 0);
    for (; s && *s; s++)
        h = h_mix(h, (uint8_t)*s);
    return h;
}

static inline void h_copy(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
}

static inline void on_event(void *data, const struct wr_event *e)
{
    struct t *t = data;
    if (e->module != WR_MODULE_MUD)
        return;
    const struct wr_mud_event *d = e->data;
    assert_non_null(d);
    uint64_t h = t->digest;
    h = h_mix(h, ((uint64_t)e->type << 8) | e->audience);
    h = h_mix(h, e->node);
    h = h_mix(h, e->session);
    h = h_mix(h, e->target);
    h = h_mix(h, ((uint64_t)d->actor_kind << 32) | d->actor_id);
    h = h_mix(h, ((uint64_t)d->target_kind << 32) | d->target_id);
    h = h_mix(h, ((uint64_t)(uint32_t)d->dir << 32) | d->room);
    h = h_mix_str(h, d->actor_name);
    h = h_mix_str(h, d->target_name);
    h = h_mix_str(h, d->item);
    h = h_mix_str(h, d->code);
    h = h_mix_str(h, d->text);
    h = h_mix_str(h, d->to_actor);
    h = h_mix_str(h, d->to_target);
    h = h_mix_str(h, d->to_room);
    t->digest = h;
    t->total_ev++;
    if (t->n_ev >= MAX_EV)
        return;
    struct ev *c = &t->ev[t->n_ev++];
    memset(c, 0, sizeof *c);
    c->type = e->type;
    c->audience = e->audience;
    c->node = e->node;
    c->session = e->session;
    c->target = e->target;
    c->actor_kind = d->actor_kind;
    c->target_kind = d->target_kind;
    c->actor_id = d->actor_id;
    c->target_id = d->target_id;
    c->room = d->room;
    c->dir = d->dir;
    h_copy(c->actor, sizeof c->actor, d->actor_name);
    h_copy(c->target_name, sizeof c->target_name, d->target_name);
    h_copy(c->item, sizeof c->item, d->item);
    h_copy(c->code, sizeof c->code, d->code);
    h_copy(c->text, sizeof c->text, d->text);
    h_copy(c->to_actor, sizeof c->to_actor, d->to_actor);
    h_copy(c->to_target, sizeof c->to_target, d->to_target);
    h_copy(c->to_room, sizeof c->to_room, d->to_room);
}

static inline void on_verdict(void *data, const struct wr_cmd *cmd, enum wr_verdict v)
{
    (void)cmd;
    ((struct t *)data)->verdict = v;
}

/* A fresh world (no model yet) at log time T_NOW0 and seed T_SEED0. */
static inline void t_init(struct t *t)
{
    memset(t, 0, sizeof *t);
    t->ev = calloc(MAX_EV, sizeof *t->ev);
    assert_non_null(t->ev);
    struct wr_world_hooks h = {.data = t, .on_event = on_event, .on_verdict = on_verdict};
    t->w = wr_world_create(&h);
    t->now = T_NOW0;
    t->seed = T_SEED0;
}

static inline void t_free(struct t *t)
{
    wr_world_destroy(t->w);
    free(t->ev);
}

static inline struct wr_mud *mud(struct t *t)
{
    return wr_world_module(t->w, WR_MODULE_MUD);
}

static inline const struct wr_mud_model *model(struct t *t)
{
    return wr_mud_model(mud(t));
}

/* ---- commands ------------------------------------------------------------ */

/* Apply one command as its own entry at t->now; returns its verdict. The
 * seed changes with every entry, as a leader's would. A session's command
 * comes from t->node[session] when that is set, else from @node. */
static inline enum wr_verdict cmd(struct t *t, uint8_t type, uint32_t node, uint64_t session,
                                  const struct wr_writer *p)
{
    assert_true(session < 64);
    struct wr_cmd c = {
        .module = WR_MODULE_MUD,
        .type = type,
        .node = session && t->node[session] ? t->node[session] : node,
        .session = session,
        .seq = session ? ++t->seq[session] : 0,
        .len = p ? (uint16_t)p->len : 0,
        .payload = p ? p->base : NULL,
    };
    struct wr_writer e;
    wr_writer_init(&e, 64);
    wr_entry_header(&e, t->now, t->seed++, 1);
    wr_cmd_encode(&e, &c);
    t->n_ev = 0;
    t->verdict = (enum wr_verdict) - 1;
    assert_int_equal(wr_world_apply(t->w, e.base, e.len), 0);
    wr_writer_free(&e);
    return t->verdict;
}

/* A payload writer @name (free it with wr_writer_free). */
#define P(name)                                                                                    \
    struct wr_writer name;                                                                         \
    wr_writer_init(&name, 64)

/* A command of session @s on node 1 with string arguments @a and @b (NULL:
 * left out). */
static inline enum wr_verdict strs(struct t *t, uint8_t type, uint64_t s, const char *a,
                                   const char *b)
{
    P(p);
    if (a != NULL)
        wr_mud_encode_str(&p, a);
    if (b != NULL)
        wr_mud_encode_str(&p, b);
    enum wr_verdict v = cmd(t, type, 1, s, &p);
    wr_writer_free(&p);
    return v;
}

static inline enum wr_verdict zone_place(struct t *t, const char *zone, uint32_t node,
                                         uint64_t prev)
{
    P(p);
    wr_mud_encode_zone_place(&p, zone, node, prev);
    enum wr_verdict v = cmd(t, WR_MUD_ZONE_PLACE, node, 0, &p);
    wr_writer_free(&p);
    return v;
}

static inline enum wr_verdict zone_tick(struct t *t, const char *zone, uint32_t node,
                                        uint64_t epoch)
{
    P(p);
    wr_mud_encode_zone_tick(&p, zone, epoch);
    enum wr_verdict v = cmd(t, WR_MUD_ZONE_TICK, node, 0, &p);
    wr_writer_free(&p);
    return v;
}

/* The 16-byte session token made of byte @n. */
static inline const uint8_t *tok(uint8_t n)
{
    static uint8_t tk[256][16];
    memset(tk[n], n, 16);
    return tk[n];
}

/* A context for calling an area's functions directly at t->now. */
static inline struct wr_apply_ctx ctx_of(struct t *t)
{
    return (struct wr_apply_ctx){.world = t->w, .now_ms = t->now, .seed = t->seed};
}

/* ---- loading a world ----------------------------------------------------- */

/* Send bundle @bundle as WORLD_CHUNKs of T_CHUNK bytes (900: well under a
 * command's payload limit) announcing hash @hash. */
static inline void load_bundle_hash(struct t *t, const void *bundle, size_t len,
                                    const uint8_t hash[16])
{
    const uint8_t *b = bundle;
    for (size_t off = 0; off < len; off += T_CHUNK) {
        size_t n = len - off < T_CHUNK ? len - off : T_CHUNK;
        P(p);
        wr_mud_encode_chunk(&p, hash, (uint32_t)len, (uint32_t)off, b + off, (uint16_t)n);
        assert_int_equal(cmd(t, WR_MUD_WORLD_CHUNK, 1, 0, &p), WR_APPLIED);
        wr_writer_free(&p);
    }
}

static inline void load_bundle(struct t *t, const void *bundle, size_t len)
{
    uint8_t hash[16];
    crypto_generichash(hash, 16, bundle, len, NULL, 0);
    load_bundle_hash(t, bundle, len, hash);
}

/* The bundle of the file's test world @variant (1, or 2 for a reload),
 * written into @w (initialised here): each test file defines it. */
static void test_bundle(struct wr_writer *w, int variant);

/* Load test world @variant and check that the world took it: a world
 * event with code "loaded" and no other. */
static inline void load_world(struct t *t, int variant)
{
    struct wr_writer b;
    test_bundle(&b, variant);
    load_bundle(t, b.base, b.len);
    wr_writer_free(&b);
    bool loaded = false;
    for (size_t i = 0; i < t->n_ev; i++) {
        if (t->ev[i].type != WR_MUD_EV_WORLD)
            continue;
        if (strcmp(t->ev[i].code, "loaded") != 0)
            fail_msg("world %d refused: %s", variant, t->ev[i].text);
        loaded = true;
    }
    assert_true(loaded);
}

/* ---- looking at the events of the last command --------------------------- */

/* The @nth event of @type (with @code, unless NULL), or NULL. */
static inline const struct ev *find_code(struct t *t, uint8_t type, const char *code, size_t nth)
{
    for (size_t i = 0; i < t->n_ev; i++)
        if (t->ev[i].type == type && (code == NULL || strcmp(t->ev[i].code, code) == 0) &&
            nth-- == 0)
            return &t->ev[i];
    return NULL;
}

static inline const struct ev *find_ev(struct t *t, uint8_t type, size_t nth)
{
    return find_code(t, type, NULL, nth);
}

static inline size_t count_code(struct t *t, uint8_t type, const char *code)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_ev; i++)
        n += t->ev[i].type == type && (code == NULL || strcmp(t->ev[i].code, code) == 0);
    return n;
}

static inline size_t count_ev(struct t *t, uint8_t type)
{
    return count_code(t, type, NULL);
}

/* ---- snapshots ----------------------------------------------------------- */

static inline void snap(struct t *t, struct wr_writer *out)
{
    wr_writer_init(out, 4096);
    wr_world_snapshot(t->w, out);
}

/* @a and @b snapshot to the same bytes. */
static inline void assert_same_state(struct t *a, struct t *b)
{
    struct wr_writer sa, sb;
    snap(a, &sa);
    snap(b, &sb);
    assert_int_equal(sa.len, sb.len);
    assert_memory_equal(sa.base, sb.base, sa.len);
    wr_writer_free(&sa);
    wr_writer_free(&sb);
}

#endif
