/* Unit tests for combat (mud/mud_fight.c), driven through the world's apply
 * path with encoded entries and zone ticks at chosen log times and seeds,
 * as a node would. The world is a small YAML world with skills and
 * fightable NPCs. What matters most: the arithmetic of a blow and of a
 * skill; a round runs once per fighter and due time, catching up one per
 * tick after a gap; the same seeds and commands give the same bytes; every
 * refusal has its accepted twin; a snapshot round-trips exactly and a bad
 * one is refused.
 *
 * Stats, maxima and armour come from the progression area and weapons from
 * the items area: the expectations are computed through the same calls
 * (wr__mud_stat, wr__mud_armour, wr__mud_weapon), so they hold whatever
 * those return. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "mud/mud.h"
#include "mud/mud_internal.h"
#include "mud/worldfile.h"
#include "mud_node/mud_text.h"
#include "world/world.h"

#define T_NOW0 1000000
#include "mud_harness.h"

/* ---- the test world ------------------------------------------------------ */

static const char world_yaml[] =
    "name: Fightland\n"
    "start: arena.hall\n"
    "rules: {round: 2s}\n"
    "races:\n"
    "  - {id: human, name: Human}\n"
    "classes:\n"
    "  - {id: fighter, name: Fighter, attack: slashing}\n"
    "skills:\n"
    "  - id: missile\n"
    "    name: magic missile\n"
    "    cost: 5\n"
    "    cooldown: 4s\n"
    "    effects: [{kind: damage, type: arcane, amount: 6, roll: 4}]\n"
    "    msg: {actor: 'You hurl a missile at {target}.', target: '{actor} hurls a missile at "
    "you.',\n"
    "          room: '{actor} hurls a missile at {target}.'}\n"
    "  - id: dart\n"
    "    name: poison dart\n"
    "    cost: 2\n"
    "    effects: [{kind: dot, type: poison, amount: 3, duration: 6s}]\n"
    "  - id: heal\n"
    "    name: heal\n"
    "    target: self\n"
    "    cost: 4\n"
    "    effects: [{kind: recover, pool: health, amount: 10}]\n"
    "  - id: storm\n"
    "    name: storm\n"
    "    level: 5\n"
    "    effects: [{kind: damage, type: lightning, amount: 50}]\n"
    "  - id: bite\n"
    "    name: bite\n"
    "    effects: [{kind: damage, type: piercing, amount: 2}]\n";

static const char arena_head[] =
    "zone: {id: arena, name: Arena, desc: Sand., graveyard: temple}\n"
    "rooms:\n"
    "  - {id: hall, name: Hall, desc: A hall., x: 0, y: 0,\n"
    "     exits: {n: pit, s: temple, e: den, w: {to: closet, door: door, closed: true}}}\n"
    "  - {id: pit, name: Pit, desc: A pit., x: 0, y: -1, exits: {s: hall}}\n"
    "  - {id: temple, name: Temple, desc: A temple., x: 0, y: 1, exits: {n: hall}}\n"
    "  - {id: den, name: Den, desc: A den., x: 1, y: 0, exits: {w: hall}}\n"
    "  - {id: closet, name: Closet, desc: A closet., x: -1, y: 0,\n"
    "     exits: {e: {to: hall, door: door, closed: true}}}\n";

static const char arena_npcs[] = "npcs:\n"
                                 "  - id: dummy\n"
                                 "    name: a training dummy\n"
                                 "    keywords: dummy training\n"
                                 "    desc: A dummy.\n"
                                 "    ground: A training dummy stands here.\n"
                                 "    level: 1\n"
                                 "    health: 1000\n"
                                 "    armour: {slashing: 1}\n"
                                 "    behaviour:\n"
                                 "      combat: [{emote: wobbles.}]\n"
                                 "      targeted: [{say: Hit me if you can.}]\n"
                                 "  - id: rat\n"
                                 "    name: a giant rat\n"
                                 "    keywords: rat giant\n"
                                 "    desc: A rat.\n"
                                 "    ground: A giant rat is here.\n"
                                 "    level: 2\n"
                                 "    health: 5\n"
                                 "    attack: {type: piercing, min: 1, max: 2}\n"
                                 "  - id: brute\n"
                                 "    name: a hulking brute\n"
                                 "    keywords: brute hulking\n"
                                 "    desc: A brute.\n"
                                 "    ground: A brute glowers.\n"
                                 "    level: 9\n"
                                 "    health: 500\n"
                                 "    attack: {type: bludgeoning, min: 20, max: 20}\n"
                                 "    aggressive: true\n"
                                 "    behaviour:\n"
                                 "      combat: [{attack: true, weight: 3}, {skill: bite}]\n"
                                 "  - id: sage\n"
                                 "    name: an old sage\n"
                                 "    keywords: sage old\n"
                                 "    desc: A sage.\n"
                                 "    ground: An old sage meditates here.\n";

static const char arena_spawners[] = "npc_spawners:\n"
                                     "  - {npc: dummy, room: hall, interval: 30s}\n"
                                     "  - {npc: rat, room: pit, interval: 20s}\n"
                                     "  - {npc: brute, room: den, interval: 60s}\n"
                                     "  - {npc: sage, room: hall, interval: 30s}\n";

/* Variant 1: the world above; variant 2 (a reload) has no dart skill and
 * no dummy. */
static void test_bundle(struct wr_writer *w, int variant)
{
    char wy[4096], zone[4096];
    snprintf(wy, sizeof wy, "%s", world_yaml);
    if (variant == 2) {
        char *d = strstr(wy, "  - id: dart\n"), *h = strstr(wy, "  - id: heal\n");
        memmove(d, h, strlen(h) + 1);
    }
    const char *npcs = arena_npcs;
    const char *spawners = arena_spawners;
    if (variant == 2) {
        npcs = strstr(arena_npcs, "  - id: rat\n");
        spawners = strstr(arena_spawners, "  - {npc: rat");
    }
    snprintf(zone, sizeof zone, "%s%s%s%s%s", arena_head, variant == 2 ? "npcs:\n" : "", npcs,
             variant == 2 ? "npc_spawners:\n" : "", spawners);
    bundle_init(w, 2);
    put_file(w, "world.yaml", wy);
    put_file(w, "zones/arena.yaml", zone);
}

/* ---- commands ------------------------------------------------------------ */

/* A tick of the arena from its current owner and epoch. */
static void tick(struct t *t)
{
    const struct wr_mud_zone_state *zs = wr_mud_zone_state(mud(t), 0);
    assert_int_equal(zone_tick(t, "arena", zs->owner, zs->epoch), WR_APPLIED);
}

static uint32_t room_of(struct t *t, const char *key)
{
    long r = wr_mud_model_room(mud(t)->model, key);
    assert_true(r >= 0);
    return (uint32_t)r;
}

static struct wr_mud_char *ch(struct t *t, const char *name)
{
    struct wr_mud_char *c = wr__mud_char_by_name(mud(t), name);
    assert_non_null(c);
    return c;
}

/* The NPC instance of model NPC @key (the first), or NULL. */
static struct wr_mud_npc_inst *npc(struct t *t, const char *key)
{
    struct wr_mud *m = mud(t);
    long k = wr_mud_model_npc(m->model, key);
    assert_true(k >= 0);
    for (size_t i = 0; i < m->n_npcs; i++)
        if (m->npcs[i].npc == (uint32_t)k)
            return &m->npcs[i];
    return NULL;
}

/* Give @c these pools: the tests do not depend on the progression area's
 * starting pools. */
static void pools(struct wr_mud_char *c, int32_t hp, int32_t sp, int32_t ep)
{
    c->f.pool[WR_POOL_HP] = hp;
    c->f.pool[WR_POOL_SP] = sp;
    c->f.pool[WR_POOL_EP] = ep;
}

/* CREATE @name on session @s (node 1), with token byte @s. */
static void create(struct t *t, uint64_t s, const char *name)
{
    P(p);
    wr_mud_encode_create(&p, name, "$argon2id$fake", tok((uint8_t)s), 7);
    assert_int_equal(cmd(t, WR_MUD_CREATE, 1, s, &p), WR_APPLIED);
    wr_writer_free(&p);
}

/* A world with the test model loaded, the arena placed on node 1, and
 * character @name (session 1) in the hall with 100 hp, 50 sp, 50 ep. */
static void t_ready(struct t *t, int variant)
{
    t_init(t);
    load_world(t, variant);
    assert_int_equal(zone_place(t, "arena", 1, 0), WR_APPLIED);
    create(t, 1, "Alice");
    pools(ch(t, "Alice"), 100, 50, 50);
}

static void add_bob(struct t *t)
{
    create(t, 2, "Bob");
    pools(ch(t, "Bob"), 100, 50, 50);
}

/* The text of the session's refusal (WR_MUD_EV_FAIL) of the last command, or "". */
static const char *failed(struct t *t)
{
    const struct ev *e = find_code(t, WR_MUD_EV_FAIL, NULL, 0);
    return e ? e->text : "";
}

/* ---- what a blow should do -------------------------------------------------- */

struct blow {
    bool hit;
    int32_t dmg;
};

/* A plain attack of (@ak, @aid) on (@vk, @vid) at @at with dice @rng, by
 * the rules of docs/mud.md. */
static struct blow predict(struct t *t, uint8_t ak, uint32_t aid, uint8_t vk, uint32_t vid,
                           uint64_t at, uint64_t rng)
{
    struct wr_mud *m = mud(t);
    int64_t chance = 75 + 2 * ((int64_t)wr__mud_stat(m, ak, aid, WR_STAT_AGI, at) -
                               wr__mud_stat(m, vk, vid, WR_STAT_AGI, at));
    chance = chance < 5 ? 5 : chance > 95 ? 95 : chance;
    struct blow b = {.hit = (int64_t)(wr_mix64(&rng) % 100) < chance};
    if (!b.hit)
        return b;
    uint32_t lo = 1, hi = 3;
    uint8_t dtype;
    if (ak == WR_MUD_ACTOR_NPC) {
        const struct wr_mud_npc *d = &m->model->npcs[wr__mud_npc_by_id(m, aid)->npc];
        lo = d->dmg_min;
        hi = d->dmg_max;
        dtype = d->dtype;
    } else {
        const struct wr_mud_char *c = wr__mud_char_by_id(m, aid);
        uint32_t w = wr__mud_weapon(m, c);
        if (w != NONE) {
            lo = m->model->items[w].dmg_min;
            hi = m->model->items[w].dmg_max;
            dtype = m->model->items[w].dtype;
        } else {
            dtype = m->model->classes[c->cls].attack_dtype;
        }
    }
    int64_t d = lo + (int64_t)(wr_mix64(&rng) % (hi - lo + 1));
    d += (wr__mud_stat(m, ak, aid, WR_STAT_STR, at) - 10) / 2;
    d -= wr__mud_armour(m, vk, vid, (enum wr_mud_dtype)dtype, at);
    b.dmg = (int32_t)(d < 1 ? 1 : d);
    return b;
}

/* ---- tests -------------------------------------------------------------- */

static void test_plain_attack_arithmetic(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t, 1);
    struct wr_mud_char *a = ch(&t, "Alice");
    uint32_t dummy = npc(&t, "dummy")->id;
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "dummy", NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "");
    assert_non_null(find_code(&t, WR_MUD_EV_ACT, "attack", 0));
    /* The dummy's `targeted` rule speaks once. */
    assert_int_equal(count_code(&t, WR_MUD_EV_SAY, NULL), 1);
    assert_true(a->f.next_round_at == t.now);
    assert_int_equal(npc(&t, "dummy")->f.target_id, a->id);

    int hits = 0, misses = 0;
    int32_t hp = npc(&t, "dummy")->f.pool[WR_POOL_HP];
    for (uint32_t round = 1; round <= 40; round++) {
        uint64_t at = a->f.next_round_at;
        t.now = at;
        struct blow b =
            predict(&t, WR_MUD_ACTOR_CHAR, a->id, WR_MUD_ACTOR_NPC, dummy, at, a->f.rng);
        tick(&t);
        const struct ev *e = find_code(&t, WR_MUD_EV_ACT, b.hit ? "hit" : "miss", 0);
        assert_non_null(e);
        assert_int_equal(e->actor_id, a->id);
        if (b.hit) {
            char want[96];
            snprintf(want, sizeof want, "You hit a training dummy for %d damage.", b.dmg);
            assert_string_equal(e->to_actor, want);
            hp -= b.dmg;
            hits++;
        } else {
            assert_string_equal(e->to_actor, "You miss a training dummy.");
            misses++;
        }
        assert_int_equal(npc(&t, "dummy")->f.pool[WR_POOL_HP], hp);
        /* the round line, with the exact pools */
        const struct ev *r = find_code(&t, WR_MUD_EV_ACT, "round", 0);
        assert_non_null(r);
        char want[128];
        snprintf(want, sizeof want, "[Round %u] You 100/%d \xc2\xb7 a training dummy %d/%d", round,
                 wr__mud_max(mud(&t), WR_MUD_ACTOR_CHAR, a->id, WR_POOL_HP, at), hp,
                 wr__mud_max(mud(&t), WR_MUD_ACTOR_NPC, dummy, WR_POOL_HP, at));
        assert_string_equal(r->to_actor, want);
        assert_int_equal(r->session, 1);
        /* the dummy's own round: it only wobbles */
        assert_non_null(find_code(&t, WR_MUD_EV_EMOTE, NULL, 0));
        assert_int_equal(a->f.round, round);
        assert_true(a->f.next_round_at == at + 2000);
    }
    assert_true(hits > 0 && misses > 0);
    t_free(&t);
}

static void test_refusals_and_controls(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t, 1);
    add_bob(&t);
    /* players */
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "bob", NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "You cannot attack other players.");
    assert_int_equal(strs(&t, WR_MUD_TARGET, 1, "bob", NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "You cannot attack other players.");
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "alice", NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "You cannot attack yourself.");
    /* peaceful */
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "sage", NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "An old sage is peaceful; you cannot attack it.");
    /* not here (the rat is in the pit), nothing named */
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "rat", NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "You don't see rat here.");
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "", NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "Kill whom?");
    assert_false(ch(&t, "Alice")->f.next_round_at != NEVER);
    /* not fighting: flee refused */
    assert_int_equal(cmd(&t, WR_MUD_FLEE, 1, 1, NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "You are not fighting anyone.");
    /* the accepted twin: target the dummy, then kill without a name */
    assert_int_equal(strs(&t, WR_MUD_TARGET, 1, "dum", NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "");
    assert_int_equal(count_code(&t, WR_MUD_EV_SAY, NULL), 1);
    assert_int_equal(strs(&t, WR_MUD_TARGET, 1, "dummy", NULL), WR_APPLIED);
    assert_int_equal(count_code(&t, WR_MUD_EV_SAY, NULL), 0); /* not a new target */
    assert_true(ch(&t, "Alice")->f.next_round_at == NEVER);   /* targeting is not fighting */
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "", NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "");
    assert_true(ch(&t, "Alice")->f.next_round_at == t.now);
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "dummy", NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "You are already fighting a training dummy!");
    /* fighting: no walking, no recall, no clearing the target */
    struct wr_writer p;
    wr_writer_init(&p, 4);
    wr_mud_encode_dir(&p, WR_DIR_N);
    assert_int_equal(cmd(&t, WR_MUD_MOVE, 1, 1, &p), WR_APPLIED);
    assert_string_equal(failed(&t), "You are fighting! Flee first.");
    assert_int_equal(ch(&t, "Alice")->room, room_of(&t, "arena.hall"));
    assert_int_equal(cmd(&t, WR_MUD_RECALL, 1, 1, NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "You are fighting! Flee first.");
    assert_int_equal(strs(&t, WR_MUD_TARGET, 1, "", NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "You are fighting! Flee first.");
    /* Bob is not fighting: he walks (the accepted twin of the move) */
    assert_int_equal(cmd(&t, WR_MUD_MOVE, 1, 2, &p), WR_APPLIED);
    assert_string_equal(failed(&t), "");
    assert_int_equal(ch(&t, "Bob")->room, room_of(&t, "arena.pit"));
    wr_writer_free(&p);
    t_free(&t);
}

static void test_skill_cost_cooldown_level(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t, 1);
    struct wr_mud_char *a = ch(&t, "Alice");
    uint32_t dummy = npc(&t, "dummy")->id;
    /* unknown and not yet known (storm needs level 5) */
    assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "nosuch", "dummy"), WR_APPLIED);
    assert_string_equal(failed(&t), "You don't know that skill.");
    assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "storm", "dummy"), WR_APPLIED);
    assert_string_equal(failed(&t), "You don't know that skill.");
    /* not enough skill points: 4 < 5 */
    a->f.pool[WR_POOL_SP] = 4;
    assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "missile", "dummy"), WR_APPLIED);
    assert_string_equal(failed(&t),
                        "You don't have enough skill for magic missile (5 needed, 4 left).");
    assert_true(a->f.next_round_at == NEVER);
    /* no target */
    a->f.pool[WR_POOL_SP] = 20;
    assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "missile", ""), WR_APPLIED);
    assert_string_equal(failed(&t), "Magic missile whom?");
    /* accepted: cost taken, the fight starts, damage 6 + 0..4 - armour */
    assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "missile", "dummy"), WR_APPLIED);
    assert_string_equal(failed(&t), "");
    assert_int_equal(a->f.pool[WR_POOL_SP], 15);
    assert_true(a->f.next_round_at == t.now);
    const struct ev *e = find_code(&t, WR_MUD_EV_ACT, "skill", 0);
    assert_non_null(e);
    assert_string_equal(e->to_actor, "You hurl a missile at a training dummy.");
    assert_string_equal(e->to_room, "Alice hurls a missile at a training dummy.");
    /* the roll came from Alice's fresh dice: undo splitmix's one step */
    uint64_t before = a->f.rng - 0x9E3779B97F4A7C15ull;
    int32_t want = 6 + (int32_t)(wr_mix64(&before) % 5) -
                   wr__mud_armour(mud(&t), WR_MUD_ACTOR_NPC, dummy, WR_DT_ARCANE, t.now);
    if (want < 1)
        want = 1;
    e = find_code(&t, WR_MUD_EV_ACT, "skill", 1);
    assert_non_null(e);
    char line[96];
    snprintf(line, sizeof line, "A training dummy takes %d arcane damage.", want);
    assert_string_equal(e->to_actor, line);
    assert_int_equal(npc(&t, "dummy")->f.pool[WR_POOL_HP], 1000 - want);
    /* cooldown 4 s: refused within it, accepted at its end */
    t.now += 1000;
    assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "missile", ""), WR_APPLIED);
    assert_string_equal(failed(&t), "Magic missile is not ready yet (3 s).");
    assert_int_equal(a->f.pool[WR_POOL_SP], 15);
    t.now += 2999;
    assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "missile", ""), WR_APPLIED);
    assert_string_equal(failed(&t), "Magic missile is not ready yet (1 s).");
    t.now += 1;
    uint64_t r0 = a->f.rng;
    assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "missile", ""), WR_APPLIED); /* the target */
    assert_string_equal(failed(&t), "");
    assert_int_equal(a->f.pool[WR_POOL_SP], 10);
    int32_t want2 = 6 + (int32_t)(wr_mix64(&r0) % 5) -
                    wr__mud_armour(mud(&t), WR_MUD_ACTOR_NPC, dummy, WR_DT_ARCANE, t.now);
    assert_int_equal(npc(&t, "dummy")->f.pool[WR_POOL_HP], 1000 - want - (want2 < 1 ? 1 : want2));
    /* a self skill: heal, capped at the maximum */
    int32_t max = wr__mud_max(mud(&t), WR_MUD_ACTOR_CHAR, a->id, WR_POOL_HP, t.now);
    a->f.pool[WR_POOL_HP] = max - 3;
    assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "heal", ""), WR_APPLIED);
    assert_string_equal(failed(&t), "");
    assert_int_equal(a->f.pool[WR_POOL_HP], max);
    assert_int_equal(a->f.pool[WR_POOL_SP], 6);
    e = find_code(&t, WR_MUD_EV_ACT, "skill", 1);
    assert_non_null(e);
    assert_string_equal(e->to_actor, "You recover 3 health.");
    t_free(&t);
}

static void test_dot_ticks_per_round(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t, 1);
    struct wr_mud_char *a = ch(&t, "Alice");
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "dummy", NULL), WR_APPLIED);
    tick(&t); /* the first rounds */
    /* the dart lands 500 ms after the fight started: 3 poison for 6 s */
    t.now += 500;
    assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "dart", ""), WR_APPLIED);
    assert_string_equal(failed(&t), "");
    struct wr_mud_npc_inst *d = npc(&t, "dummy");
    assert_int_equal(d->f.n_fx, 1);
    assert_int_equal(d->f.fx[0].kind, WR_EFF_DOT);
    assert_true(d->f.fx[0].until == t.now + 6000);
    uint64_t until = d->f.fx[0].until;
    int32_t armour = wr__mud_armour(mud(&t), WR_MUD_ACTOR_NPC, d->id, WR_DT_POISON, t.now);
    int32_t per = 3 - armour < 1 ? 1 : 3 - armour;
    /* rounds of the dummy at start+2 s, +4 s, +6 s run with the dot on; the
     * one at +8 s (after until) does not, and the dot wears off */
    int ticks = 0;
    for (int i = 0; i < 6; i++) {
        t.now = npc(&t, "dummy")->f.next_round_at;
        int32_t hp = npc(&t, "dummy")->f.pool[WR_POOL_HP];
        bool running = t.now < until;
        tick(&t);
        const struct ev *e = find_code(&t, WR_MUD_EV_ACT, "dot", 0);
        if (running) {
            assert_non_null(e);
            char want[128];
            snprintf(want, sizeof want,
                     "A training dummy suffers %d poison damage from poison dart.", per);
            assert_string_equal(e->to_room, want);
            ticks++;
        } else {
            assert_null(e);
        }
        /* Alice's blow (if it hit) and the dot are all that hurt it */
        const struct ev *hit = find_code(&t, WR_MUD_EV_ACT, "hit", 0);
        int32_t blow = 0;
        if (hit != NULL)
            sscanf(hit->to_actor, "You hit a training dummy for %d damage.", &blow);
        assert_int_equal(npc(&t, "dummy")->f.pool[WR_POOL_HP], hp - blow - (running ? per : 0));
    }
    assert_int_equal(ticks, 3);
    assert_int_equal(npc(&t, "dummy")->f.n_fx, 0);
    (void)a;
    t_free(&t);
}

static void test_repeat_tick_and_catch_up(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t, 1);
    struct wr_mud_char *a = ch(&t, "Alice");
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "dummy", NULL), WR_APPLIED);
    uint64_t start = t.now;
    tick(&t);
    assert_int_equal(count_code(&t, WR_MUD_EV_ACT, "round"), 1);
    assert_int_equal(a->f.round, 1);
    /* the same tick again, at the same log time: no round runs twice */
    struct wr_writer s1, s2;
    snap(&t, &s1);
    tick(&t);
    assert_int_equal(count_code(&t, WR_MUD_EV_ACT, "round"), 0);
    assert_int_equal(t.n_ev, 0);
    snap(&t, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.base, s2.base, s1.len);
    wr_writer_free(&s1);
    wr_writer_free(&s2);
    /* a gap of 10 s (a failover): each tick runs one round, from where the
     * schedule is, consecutively, until it has caught up */
    t.now = start + 10000;
    for (uint32_t r = 2; r <= 6; r++) {
        tick(&t);
        const struct ev *e = find_code(&t, WR_MUD_EV_ACT, "round", 0);
        assert_non_null(e);
        char want[32];
        snprintf(want, sizeof want, "[Round %u] ", r);
        assert_int_equal(strncmp(e->to_actor, want, strlen(want)), 0);
        assert_int_equal(count_code(&t, WR_MUD_EV_ACT, "round"), 1);
        assert_true(a->f.next_round_at == start + 2000 * r);
    }
    tick(&t);
    assert_int_equal(count_code(&t, WR_MUD_EV_ACT, "round"), 0);
    assert_true(wr_mud_zone_next_due(mud(&t), 0) > t.now);
    t_free(&t);
}

/* One scripted fight: kill, skills, flee attempts, ticks; the same on two
 * worlds with the same seeds must give the same bytes. */
static void script(struct t *t)
{
    assert_int_equal(strs(t, WR_MUD_KILL, 1, "dummy", NULL), WR_APPLIED);
    for (int i = 0; i < 30; i++) {
        t->now += 700;
        if (i % 5 == 1)
            strs(t, WR_MUD_SKILL, 1, "dart", "");
        if (i % 7 == 3)
            strs(t, WR_MUD_SKILL, 1, "missile", "");
        tick(t);
    }
}

static void test_same_seeds_same_rounds(void **state)
{
    (void)state;
    struct t a, b;
    t_ready(&a, 1);
    t_ready(&b, 1);
    script(&a);
    script(&b);
    assert_true(a.digest == b.digest);
    assert_same_state(&a, &b);
    /* another seed for the entry that started the fight: other rounds */
    struct t c;
    t_ready(&c, 1);
    c.seed += 1000;
    script(&c);
    assert_false(a.digest == c.digest);
    t_free(&a);
    t_free(&b);
    t_free(&c);
}

static void test_npc_death(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t, 1);
    struct wr_mud *m = mud(&t);
    struct wr_mud_char *a = ch(&t, "Alice");
    struct wr_writer p;
    wr_writer_init(&p, 4);
    wr_mud_encode_dir(&p, WR_DIR_N);
    assert_int_equal(cmd(&t, WR_MUD_MOVE, 1, 1, &p), WR_APPLIED);
    wr_writer_free(&p);
    uint32_t rat = npc(&t, "rat")->id;
    long sp = -1;
    for (size_t s = 0; s < m->model->n_npc_spawners; s++)
        if (m->npc_sp[s].inst == rat)
            sp = (long)s;
    assert_true(sp >= 0);
    /* missiles until it dies (5 hp) */
    a->f.pool[WR_POOL_SP] = 50;
    uint64_t died = 0;
    for (int i = 0; i < 10 && died == 0; i++) {
        assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "missile", "rat"), WR_APPLIED);
        if (find_code(&t, WR_MUD_EV_ACT, "death", 0) != NULL)
            died = t.now;
        t.now += 4000;
    }
    assert_true(died != 0);
    assert_null(npc(&t, "rat"));
    assert_int_equal(a->kills, 1); /* counted by award_xp (progression) */
    assert_true(a->f.next_round_at == NEVER); /* its fight ended with it */
    assert_int_equal(a->f.target_kind, WR_MUD_NOBODY);
    assert_int_equal(m->npc_sp[sp].inst, 0);
    assert_true(m->npc_sp[sp].due == died + 20000);
    /* a new rat after the spawner's interval */
    t.now = died + 20000;
    tick(&t);
    assert_non_null(npc(&t, "rat"));
    assert_true(npc(&t, "rat")->id != rat);
    assert_int_equal(npc(&t, "rat")->f.pool[WR_POOL_HP], 5);
    t_free(&t);
}

static void test_aggressive_and_char_death(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t, 1);
    struct wr_mud *m = mud(&t);
    struct wr_mud_char *a = ch(&t, "Alice");
    a->f.pool[WR_POOL_HP] = 15;
    struct wr_writer p;
    wr_writer_init(&p, 4);
    wr_mud_encode_dir(&p, WR_DIR_E);
    assert_int_equal(cmd(&t, WR_MUD_MOVE, 1, 1, &p), WR_APPLIED);
    wr_writer_free(&p);
    /* the brute attacks on sight: both fight from now on */
    const struct ev *e = find_code(&t, WR_MUD_EV_ACT, "attack", 0);
    assert_non_null(e);
    assert_string_equal(e->to_target, "A hulking brute attacks you!");
    struct wr_mud_npc_inst *brute = npc(&t, "brute");
    assert_true(brute->f.next_round_at == t.now);
    assert_int_equal(brute->f.target_id, a->id);
    assert_true(a->f.next_round_at == t.now);
    bool died = false;
    for (int i = 0; i < 40 && !died; i++) {
        tick(&t);
        died = find_code(&t, WR_MUD_EV_ACT, "death", 0) != NULL;
        if (!died)
            t.now += 2000;
    }
    assert_true(died);
    /* dead: at the zone's graveyard, half health, the others full, not
     * fighting; the brute stopped */
    assert_int_equal(a->room, room_of(&t, "arena.temple"));
    int32_t max = wr__mud_max(m, WR_MUD_ACTOR_CHAR, a->id, WR_POOL_HP, t.now);
    assert_int_equal(a->f.pool[WR_POOL_HP], max / 2 > 0 ? max / 2 : 1);
    assert_true(a->f.next_round_at == NEVER);
    assert_true(npc(&t, "brute")->f.next_round_at == NEVER);
    e = find_code(&t, WR_MUD_EV_ACT, "death", 0);
    assert_string_equal(e->to_actor, "You are dead!");
    assert_non_null(find_code(&t, WR_MUD_EV_MOVED, NULL, 0));
    t_free(&t);
}

static void test_flee_and_recall(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t, 1);
    struct wr_mud_char *a = ch(&t, "Alice");
    uint32_t hall = room_of(&t, "arena.hall");
    /* no brute in the den: a flee that way would start another fight */
    wr__mud_npc_remove(mud(&t), &(struct wr_apply_ctx){.world = t.w, .now_ms = t.now},
                       npc(&t, "brute")->id);
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "dummy", NULL), WR_APPLIED);
    /* the chance: 50% + 2% per agility point over the dummy's, 20..90 */
    struct wr_mud *m = mud(&t);
    int64_t chance =
        50 + 2 * ((int64_t)wr__mud_stat(m, WR_MUD_ACTOR_CHAR, a->id, WR_STAT_AGI, t.now) -
                  wr__mud_stat(m, WR_MUD_ACTOR_NPC, npc(&t, "dummy")->id, WR_STAT_AGI, t.now));
    chance = chance < 20 ? 20 : chance > 90 ? 90 : chance;
    /* dice that fail, then dice that succeed */
    uint64_t fail_at = 0, ok_at = 0;
    for (uint64_t x = 1; fail_at == 0 || ok_at == 0; x++) {
        uint64_t r = x;
        if ((int64_t)(wr_mix64(&r) % 100) >= chance)
            fail_at = fail_at ? fail_at : x;
        else
            ok_at = ok_at ? ok_at : x;
    }
    a->f.rng = fail_at;
    assert_int_equal(cmd(&t, WR_MUD_FLEE, 1, 1, NULL), WR_APPLIED);
    assert_int_equal(a->room, hall);
    assert_string_equal(find_code(&t, WR_MUD_EV_ACT, "flee", 0)->to_actor, "You fail to flee!");
    assert_true(a->f.next_round_at != NEVER);
    a->f.rng = ok_at;
    assert_int_equal(cmd(&t, WR_MUD_FLEE, 1, 1, NULL), WR_APPLIED);
    assert_true(a->room != hall);
    assert_string_equal(find_code(&t, WR_MUD_EV_ACT, "flee", 0)->to_actor,
                        "You flee head over heels!");
    /* never through the closed door */
    assert_true(a->room != room_of(&t, "arena.closet"));
    assert_true(a->f.next_round_at == NEVER);
    assert_non_null(find_code(&t, WR_MUD_EV_MOVED, NULL, 0));
    /* the dummy finds its foe gone at its next round */
    t.now = npc(&t, "dummy")->f.next_round_at;
    tick(&t);
    assert_true(npc(&t, "dummy")->f.next_round_at == NEVER);
    /* recall: to the graveyard (temple), not twice */
    if (a->room != room_of(&t, "arena.temple")) {
        assert_int_equal(cmd(&t, WR_MUD_RECALL, 1, 1, NULL), WR_APPLIED);
        assert_string_equal(failed(&t), "");
        assert_int_equal(a->room, room_of(&t, "arena.temple"));
    }
    assert_int_equal(cmd(&t, WR_MUD_RECALL, 1, 1, NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "You are already there.");
    t_free(&t);
}

static void test_npc_arrives_aggressive(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t, 1);
    add_bob(&t);
    struct wr_mud *m = mud(&t);
    /* Alice and Bob wait in the den; the brute is killed off-screen and
     * respawns there: it attacks the character with the lowest id */
    struct wr_writer p;
    wr_writer_init(&p, 4);
    wr_mud_encode_dir(&p, WR_DIR_E);
    uint32_t brute = npc(&t, "brute")->id;
    wr__mud_npc_remove(m, &(struct wr_apply_ctx){.world = t.w, .now_ms = t.now}, brute);
    assert_int_equal(cmd(&t, WR_MUD_MOVE, 1, 2, &p), WR_APPLIED); /* Bob first */
    assert_int_equal(cmd(&t, WR_MUD_MOVE, 1, 1, &p), WR_APPLIED);
    wr_writer_free(&p);
    t.now += 60000;
    tick(&t);
    struct wr_mud_npc_inst *nb = npc(&t, "brute");
    assert_non_null(nb);
    assert_int_equal(nb->f.target_kind, WR_MUD_ACTOR_CHAR);
    assert_int_equal(nb->f.target_id, ch(&t, "Alice")->id);
    assert_true(ch(&t, "Alice")->f.next_round_at == t.now);
    assert_true(ch(&t, "Bob")->f.next_round_at == NEVER);
    t_free(&t);
}

static void test_malformed(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t, 1);
    assert_int_equal(cmd(&t, WR_MUD_TARGET, 1, 1, NULL), WR_MALFORMED);
    assert_int_equal(cmd(&t, WR_MUD_KILL, 1, 1, NULL), WR_MALFORMED);
    assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "missile", NULL), WR_MALFORMED);
    assert_int_equal(cmd(&t, WR_MUD_FIGHT_FIRST + 9, 1, 1, NULL), WR_MALFORMED);
    struct wr_writer p;
    wr_writer_init(&p, 4);
    wr_put_u8(&p, 200); /* a string longer than its payload */
    assert_int_equal(cmd(&t, WR_MUD_KILL, 1, 1, &p), WR_MALFORMED);
    wr_writer_free(&p);
    /* no session: never a fight command */
    assert_int_equal(strs(&t, WR_MUD_KILL, 0, "dummy", NULL), WR_MALFORMED);
    /* the accepted twin */
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "dummy", NULL), WR_APPLIED);
    assert_string_equal(failed(&t), "");
    t_free(&t);
}

static void test_snapshot_roundtrip(void **state)
{
    (void)state;
    struct t a, b;
    t_ready(&a, 1);
    script(&a); /* fighting, with effects and cooldowns running */
    assert_true(npc(&a, "dummy")->f.n_fx > 0 || ch(&a, "Alice")->f.n_cd > 0);
    struct wr_writer s1, s2;
    snap(&a, &s1);
    t_init(&b);
    assert_int_equal(wr_world_restore(b.w, s1.base, s1.len), 0);
    snap(&b, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.base, s2.base, s1.len);
    wr_writer_free(&s2);
    /* the same future on both */
    b.now = a.now;
    b.seed = a.seed;
    memcpy(b.seq, a.seq, sizeof a.seq);
    a.digest = b.digest = 0;
    script(&a);
    script(&b);
    assert_true(a.digest == b.digest);
    assert_same_state(&a, &b);
    wr_writer_free(&s1);
    t_free(&a);
    t_free(&b);
}

/* A corrupt snapshot never crashes; bad fighter fields are refused. */
static void test_restore_refuses_bad_fighters(void **state)
{
    (void)state;
    struct t a, b;
    t_ready(&a, 1);
    script(&a);
    struct wr_writer s;
    snap(&a, &s);
    t_init(&b);
    /* Every single byte flipped, one at a time, inside the whole snapshot:
     * a restore either fails or gives a state that snapshots to itself. */
    wr_log_set_level((enum wr_log_level)(WR_LOG_ERROR + 1)); /* quiet */
    for (size_t at = 0; at < s.len; at++) {
        uint8_t *copy = malloc(s.len);
        memcpy(copy, s.base, s.len);
        copy[at] ^= 0x80;
        if (wr_world_restore(b.w, copy, s.len) == 0) {
            struct wr_writer s2, s3;
            snap(&b, &s2);
            struct t c;
            t_init(&c);
            assert_int_equal(wr_world_restore(c.w, s2.base, s2.len), 0);
            snap(&c, &s3);
            assert_int_equal(s2.len, s3.len);
            assert_memory_equal(s2.base, s3.base, s2.len);
            wr_writer_free(&s2);
            wr_writer_free(&s3);
            t_free(&c);
        }
        free(copy);
    }
    wr_writer_free(&s);
    /* Targeted corruptions of the fight section are refused: a fighter
     * pointing at itself, too many effects, an unknown skill. */
    struct wr_mud *m = mud(&a);
    struct wr_mud_char *al = ch(&a, "Alice");
    struct wr_mud_fighter keep = al->f;
    al->f.target_kind = WR_MUD_ACTOR_CHAR;
    al->f.target_id = al->id;
    snap(&a, &s);
    assert_int_equal(wr_world_restore(b.w, s.base, s.len), -1);
    wr_writer_free(&s);
    al->f = keep;
    al->f.n_cd = 1;
    al->f.cd[0].skill = (uint32_t)m->model->n_skills;
    snap(&a, &s);
    assert_int_equal(wr_world_restore(b.w, s.base, s.len), -1);
    wr_writer_free(&s);
    al->f = keep;
    al->f.target_kind = 3;
    snap(&a, &s);
    assert_int_equal(wr_world_restore(b.w, s.base, s.len), -1);
    wr_writer_free(&s);
    al->f = keep;
    al->f.target_kind = WR_MUD_NOBODY;
    al->f.target_id = 0;
    al->f.next_round_at = 5; /* fighting nobody */
    snap(&a, &s);
    assert_int_equal(wr_world_restore(b.w, s.base, s.len), -1);
    wr_writer_free(&s);
    /* the accepted twin */
    al->f = keep;
    snap(&a, &s);
    assert_int_equal(wr_world_restore(b.w, s.base, s.len), 0);
    wr_writer_free(&s);
    t_free(&a);
    t_free(&b);
}

static void test_reload_remaps(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t, 1);
    struct wr_mud_char *a = ch(&t, "Alice");
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "dummy", NULL), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "missile", ""), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_SKILL, 1, "dart", ""), WR_APPLIED);
    /* Alice poisons herself too, in a way: put the dart on her to see it go */
    struct wr_mud_fx fx = npc(&t, "dummy")->f.fx[0];
    a->f.fx[a->f.n_fx++] = fx;
    assert_int_equal(a->f.n_cd, 1);
    long missile_old = wr_mud_model_skill(mud(&t)->model, "missile");
    /* variant 2 has no dart and no dummy: the dart's effect goes, the
     * missile's cooldown follows its new index, the fight with the gone
     * dummy ends */
    load_world(&t, 2);
    long missile_new = wr_mud_model_skill(mud(&t)->model, "missile");
    assert_true(missile_old >= 0 && missile_new >= 0);
    assert_int_equal(a->f.n_fx, 0);
    assert_int_equal(a->f.n_cd, 1);
    assert_int_equal(a->f.cd[0].skill, (uint32_t)missile_new);
    assert_true(a->f.next_round_at == NEVER);
    assert_int_equal(a->f.target_kind, WR_MUD_NOBODY);
    t_free(&t);
}

/* A creature's combat rule draws attacks and skills; a skill it cannot
 * afford becomes a plain blow. */
static void test_npc_combat_skills(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t, 1);
    struct wr_mud *m = mud(&t);
    struct wr_mud_char *a = ch(&t, "Alice");
    a->f.pool[WR_POOL_HP] = 1000000;
    struct wr_writer p;
    wr_writer_init(&p, 4);
    wr_mud_encode_dir(&p, WR_DIR_E);
    assert_int_equal(cmd(&t, WR_MUD_MOVE, 1, 1, &p), WR_APPLIED);
    wr_writer_free(&p);
    size_t bites = 0, blows = 0;
    for (int i = 0; i < 40; i++) {
        tick(&t);
        for (size_t k = 0; k < t.n_ev; k++) {
            const struct ev *e = &t.ev[k];
            if (e->type != WR_MUD_EV_ACT || e->actor_kind != WR_MUD_ACTOR_NPC)
                continue;
            if (strcmp(e->code, "skill") == 0 &&
                strcmp(e->to_target, "A hulking brute uses bite on you.") == 0)
                bites++;
            if (strcmp(e->code, "hit") == 0 || strcmp(e->code, "miss") == 0)
                blows++;
        }
        t.now += 2000;
    }
    assert_true(bites > 0 && blows > 0);
    /* the same fight, where bite costs more than the brute has: blows only */
    long bite = wr_mud_model_skill(m->model, "bite");
    m->model->skills[bite].cost = 1000000;
    bites = blows = 0;
    for (int i = 0; i < 40; i++) {
        tick(&t);
        for (size_t k = 0; k < t.n_ev; k++) {
            const struct ev *e = &t.ev[k];
            if (e->type != WR_MUD_EV_ACT || e->actor_kind != WR_MUD_ACTOR_NPC)
                continue;
            bites += strcmp(e->code, "skill") == 0;
            blows += strcmp(e->code, "hit") == 0 || strcmp(e->code, "miss") == 0;
        }
        t.now += 2000;
    }
    assert_int_equal(bites, 0);
    assert_int_equal(blows, 40);
    t_free(&t);
}

/* The node's command table: names, aliases and prefixes of the fight
 * commands reach them, and the core's commands keep theirs. */
static void test_fight_commands_parse(void **state)
{
    (void)state;
    struct wr_mud_parsed p;
    const struct {
        const char *line, *name;
    } cases[] = {
        {"kill rat", "kill"},
        {"k rat", "kill"},
        {"attack rat", "kill"},
        {"ki", "kill"},
        {"t rat", "target"},
        {"target none", "target"},
        {"tar", "target"},
        {"flee", "flee"},
        {"fl", "flee"},
        {"skills", "skills"},
        {"sk", "skills"},
        {"con rat", "consider"},
        {"consider rat", "consider"},
        {"recall", "recall"},
        {"rec", "recall"},
        {"tell bob hi", "tell"},
        {"take lamp", "get"},
        {"re hi", "reply"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wr_mud_cmd_parse(cases[i].line, strlen(cases[i].line), NULL, 0, &p);
        assert_non_null(p.def);
        if (strcmp(p.def->name, cases[i].name) != 0)
            fail_msg("'%s' parsed as %s, not %s", cases[i].line, p.def->name, cases[i].name);
    }
    /* help knows them, in their group */
    struct wr_tbuf b;
    wr_tbuf_init(&b);
    wr_mud_help(&b, NULL, 0, WR_ROLE_PLAYER);
    assert_non_null(strstr(wr_tbuf_str(&b), "Combat"));
    wr_tbuf_free(&b);
    wr_tbuf_init(&b);
    wr_mud_help(&b, "flee", 4, WR_ROLE_PLAYER);
    assert_non_null(strstr(wr_tbuf_str(&b), "random open exit"));
    wr_tbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_attack_arithmetic),
        cmocka_unit_test(test_refusals_and_controls),
        cmocka_unit_test(test_skill_cost_cooldown_level),
        cmocka_unit_test(test_dot_ticks_per_round),
        cmocka_unit_test(test_repeat_tick_and_catch_up),
        cmocka_unit_test(test_same_seeds_same_rounds),
        cmocka_unit_test(test_npc_death),
        cmocka_unit_test(test_aggressive_and_char_death),
        cmocka_unit_test(test_flee_and_recall),
        cmocka_unit_test(test_npc_arrives_aggressive),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_snapshot_roundtrip),
        cmocka_unit_test(test_restore_refuses_bad_fighters),
        cmocka_unit_test(test_reload_remaps),
        cmocka_unit_test(test_fight_commands_parse),
        cmocka_unit_test(test_npc_combat_skills),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
