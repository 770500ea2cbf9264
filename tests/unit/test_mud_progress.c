/* Unit tests for progression (src/mud/mud_progress.c and the CREATE
 * payload in mud_chars.c), driven through the world's apply path as a
 * node would: creation with a race and a class, stats with effects, the
 * experience scale and level ups, the death penalty, regeneration and its
 * stop in combat, HONE and TRAIN (every refusal next to the same input
 * accepted), and the snapshot section.
 *
 * The world is YAML (the loader's gameplay keys) entering through
 * WORLD_CHUNK, like a real one; a second version of it reorders races and
 * skills and drops one, for a reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mud/mud.h"
#include "mud/mud_internal.h"
#include "world/world.h"

/* Test world 1 goes in as one chunk: the seeds its tests start from. */
#define T_SEED0 7
#define T_CHUNK 65000
#include "mud_harness.h"

/* ---- the test world --------------------------------------------------------- */

/* Variant 1; variant 2 (a reload) puts the elves first, swaps the two
 * remaining skills and drops heal. */
static const char world_head[] =
    "name: Progland\n"
    "start: town.square\n"
    "rules: {round: 2s, regen: 5s, corpse: 60s, max_level: 5, xp_base: 100, death_xp: 10,\n"
    "        start_gold: 20, hone_cost: 10}\n"
    "classes:\n"
    "  - {id: warrior, name: Warrior, stats: {strength: 2, vitality: 2}}\n"
    "  - {id: mage, name: Mage, stats: {intelligence: 3, willpower: 2}}\n";
static const char human[] = "  - {id: human, name: Human, desc: Plain.}\n";
static const char elf[] =
    "  - {id: elf, name: Elf, desc: Tall., stats: {strength: 8, agility: 12, intelligence: 12,\n"
    "     awareness: 11, vitality: 9}}\n";
static const char bash[] = "  - {id: bash, name: bash, classes: [warrior],\n"
                           "     effects: [{kind: damage, type: bludgeoning, amount: 1}]}\n";
static const char fireball[] =
    "  - {id: fireball, name: fireball, classes: [mage], trained: true, train_cost: 15,\n"
    "     effects: [{kind: damage, type: fire, amount: 3}]}\n";
static const char heal[] = "  - {id: heal, name: heal, level: 3, trained: true, train_cost: 5,\n"
                           "     effects: [{kind: recover, pool: health, amount: 5}]}\n";

static const char town_yaml[] =
    "zone: {id: town, name: Town, desc: A town., graveyard: square}\n"
    "rooms:\n"
    "  - {id: square, name: Square, desc: A square., x: 0, y: 0, exits: {n: hall}}\n"
    "  - {id: hall, name: Hall, desc: A hall., x: 0, y: -1, exits: {s: square}}\n"
    "npcs:\n"
    "  - {id: master, name: the old master, keywords: master, desc: Old., ground: A master.,\n"
    "     teaches: [fireball, heal]}\n"
    "  - id: rat\n"
    "    name: a rat\n"
    "    keywords: rat\n"
    "    desc: A rat.\n"
    "    ground: A rat.\n"
    "    level: 2\n"
    "    stats: {strength: 9, agility: 14, intelligence: 3, awareness: 12, vitality: 8,\n"
    "            willpower: 5}\n"
    "    health: 40\n"
    "    skill: 5\n"
    "    endurance: 20\n"
    "    armour: {slashing: 3, fire: -2}\n"
    "npc_spawners:\n"
    "  - {npc: master, room: hall, interval: 30s}\n"
    "  - {npc: rat, room: square, interval: 30s}\n";
static const char town_yaml_v2[] =
    "zone: {id: town, name: Town, desc: A town., graveyard: square}\n"
    "rooms:\n"
    "  - {id: square, name: Square, desc: A square., x: 0, y: 0, exits: {n: hall}}\n"
    "  - {id: hall, name: Hall, desc: A hall., x: 0, y: -1, exits: {s: square}}\n"
    "npcs:\n"
    "  - {id: master, name: the old master, keywords: master, desc: Old., ground: A master.,\n"
    "     teaches: [fireball]}\n"
    "npc_spawners:\n"
    "  - {npc: master, room: hall, interval: 30s}\n";

enum { R_HUMAN, R_ELF };
enum { C_WARRIOR, C_MAGE };
enum { SK_BASH, SK_FIREBALL, SK_HEAL };

/* The bundle of test world @variant (worldfile.h has the framing). */
static void test_bundle(struct wr_writer *w, int variant)
{
    char world[4096];
    if (variant == 1)
        snprintf(world, sizeof world, "%sraces:\n%s%sskills:\n%s%s%s", world_head, human, elf, bash,
                 fireball, heal);
    else
        snprintf(world, sizeof world, "%sraces:\n%s%sskills:\n%s%s", world_head, elf, human,
                 fireball, bash);
    bundle_init(w, 2);
    put_file(w, "world.yaml", world);
    put_file(w, "zones/town.yaml", variant == 1 ? town_yaml : town_yaml_v2);
}

/* ---- commands ------------------------------------------------------------------ */

/* A world with test world 1 loaded. */
static void t_ready(struct t *t)
{
    t_init(t);
    load_world(t, 1);
}

/* The first WR_MUD_EV_ACT with @code, or NULL. */
static const struct ev *find_act(struct t *t, const char *code)
{
    for (size_t i = 0; i < t->n_ev; i++)
        if (t->ev[i].type == WR_MUD_EV_ACT && strcmp(t->ev[i].code, code) == 0)
            return &t->ev[i];
    return NULL;
}

/* Was @text told to a character (any ACT's to_actor)? */
static bool told(struct t *t, const char *text)
{
    for (size_t i = 0; i < t->n_ev; i++)
        if (t->ev[i].type == WR_MUD_EV_ACT && strcmp(t->ev[i].to_actor, text) == 0)
            return true;
    return false;
}

static const char *fail_text(struct t *t)
{
    const struct ev *e = find_ev(t, WR_MUD_EV_FAIL, 0);
    return e ? e->text : "(no failure)";
}

/* CREATE @name on session @s with race/class keys (NULL: the old payload
 * without them). */
static enum wr_verdict create(struct t *t, uint64_t s, const char *name, const char *race,
                              const char *cls)
{
    P(p);
    wr_mud_encode_create(&p, name, "$argon2id$fake", tok((uint8_t)s), 7);
    if (race != NULL) {
        wr_mud_encode_str(&p, race);
        wr_mud_encode_str(&p, cls);
    }
    enum wr_verdict v = cmd(t, WR_MUD_CREATE, 1, s, &p);
    wr_writer_free(&p);
    return v;
}

static struct wr_mud_char *ch(struct t *t, const char *name)
{
    struct wr_mud_char *c = wr__mud_char_by_name(mud(t), name);
    assert_non_null(c);
    return c;
}

static enum wr_verdict hone(struct t *t, uint64_t s, uint8_t stat)
{
    P(p);
    wr_put_u8(&p, stat);
    enum wr_verdict v = cmd(t, WR_MUD_HONE, 1, s, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict train(struct t *t, uint64_t s, const char *key)
{
    P(p);
    wr_mud_encode_str(&p, key);
    enum wr_verdict v = cmd(t, WR_MUD_TRAIN, 1, s, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict move(struct t *t, uint64_t s, enum wr_mud_dir d)
{
    P(p);
    wr_mud_encode_dir(&p, d);
    enum wr_verdict v = cmd(t, WR_MUD_MOVE, 1, s, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict zone_cmd(struct t *t, uint8_t type, uint64_t epoch)
{
    P(p);
    if (type == WR_MUD_ZONE_PLACE)
        wr_mud_encode_zone_place(&p, "town", 1, epoch);
    else
        wr_mud_encode_zone_tick(&p, "town", epoch);
    enum wr_verdict v = cmd(t, type, 1, 0, &p);
    wr_writer_free(&p);
    return v;
}

static const struct wr_mud_npc_inst *npc_of(struct t *t, const char *key)
{
    for (size_t i = 0; i < mud(t)->n_npcs; i++)
        if (strcmp(model(t)->npcs[mud(t)->npcs[i].npc].key, key) == 0)
            return &mud(t)->npcs[i];
    return NULL;
}

static int32_t stat_of(struct t *t, const struct wr_mud_char *c, enum wr_mud_stat s)
{
    return wr_mud_char_stat(mud(t), c, s, t->now);
}

static int32_t max_of(struct t *t, const struct wr_mud_char *c, enum wr_mud_pool p)
{
    return wr_mud_char_max(mud(t), c, p, t->now);
}

static void add_fx(struct wr_mud_fighter *f, uint8_t kind, uint8_t which, int32_t amount,
                   uint64_t until, uint32_t skill)
{
    assert_true(f->n_fx < WR_MUD_MAX_FX);
    f->fx[f->n_fx++] = (struct wr_mud_fx){.kind = kind,
                                          .stat = kind == WR_EFF_STAT ? which : 0,
                                          .dtype = kind == WR_EFF_ARMOUR ? which : 0,
                                          .amount = amount,
                                          .until = until,
                                          .skill = skill,
                                          .item = UINT32_MAX};
}

/* ---- creation ------------------------------------------------------------------ */

static void test_create_race_class(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, "Elna", "elf", "mage"), WR_APPLIED);
    assert_non_null(find_ev(&t, WR_MUD_EV_ENTERED_GAME, 0));
    struct wr_mud_char *c = ch(&t, "Elna");
    assert_int_equal(c->race, R_ELF);
    assert_int_equal(c->cls, C_MAGE);
    assert_int_equal(c->level, 1);
    assert_int_equal(c->xp, 0);
    assert_int_equal(c->gold, 20);
    assert_int_equal(c->skills_known, 0);
    /* elf 8 12 12 11 9 10 + mage 0 0 3 0 0 2 */
    int32_t want[WR_MUD_NSTATS] = {8, 12, 15, 11, 9, 12};
    for (int s = 0; s < WR_MUD_NSTATS; s++) {
        assert_int_equal(c->base[s], want[s]);
        assert_int_equal(stat_of(&t, c, (enum wr_mud_stat)s), want[s]);
    }
    /* health 10*1 + 2*9, skill 5 + 15 + 12, endurance 5 + 8 + 12 */
    assert_int_equal(max_of(&t, c, WR_POOL_HP), 28);
    assert_int_equal(max_of(&t, c, WR_POOL_SP), 32);
    assert_int_equal(max_of(&t, c, WR_POOL_EP), 25);
    assert_int_equal(c->f.pool[WR_POOL_HP], 28);
    assert_int_equal(c->f.pool[WR_POOL_SP], 32);
    assert_int_equal(c->f.pool[WR_POOL_EP], 25);
    assert_int_equal(c->f.next_round_at, NEVER);
    assert_int_equal(c->next_regen_at, NEVER);

    /* A payload from before races (no keys) and "" keys: the first of each. */
    assert_int_equal(create(&t, 2, "Olda", NULL, NULL), WR_APPLIED);
    assert_non_null(find_ev(&t, WR_MUD_EV_ENTERED_GAME, 0));
    assert_int_equal(ch(&t, "Olda")->race, R_HUMAN);
    assert_int_equal(ch(&t, "Olda")->cls, C_WARRIOR);
    assert_int_equal(ch(&t, "Olda")->base[WR_STAT_STR], 12);
    assert_int_equal(create(&t, 3, "Empty", "", ""), WR_APPLIED);
    assert_int_equal(ch(&t, "Empty")->race, R_HUMAN);
    t_free(&t);
}

static void test_create_refusals(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    /* An unknown race is refused and creates nothing... */
    assert_int_equal(create(&t, 1, "Bram", "orc", "warrior"), WR_APPLIED);
    const struct ev *e = find_ev(&t, WR_MUD_EV_REFUSED, 0);
    assert_non_null(e);
    assert_string_equal(e->code, "bad_race");
    assert_null(wr__mud_char_by_name(mud(&t), "Bram"));
    /* ...an unknown class too... */
    assert_int_equal(create(&t, 2, "Bram", "human", "bard"), WR_APPLIED);
    e = find_ev(&t, WR_MUD_EV_REFUSED, 0);
    assert_non_null(e);
    assert_string_equal(e->code, "bad_class");
    assert_null(wr__mud_char_by_name(mud(&t), "Bram"));
    /* ...keys are exact (lower case)... */
    assert_int_equal(create(&t, 3, "Bram", "Human", "warrior"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_REFUSED, 0)->code, "bad_race");
    /* ...and the same name with known keys is accepted. */
    assert_int_equal(create(&t, 4, "Bram", "human", "warrior"), WR_APPLIED);
    assert_null(find_ev(&t, WR_MUD_EV_REFUSED, 0));
    assert_int_equal(ch(&t, "Bram")->race, R_HUMAN);

    /* A race without a class is malformed (nothing changes); both apply. */
    P(p);
    wr_mud_encode_create(&p, "Cato", "$argon2id$fake", tok(5), 7);
    wr_mud_encode_str(&p, "elf");
    assert_int_equal(cmd(&t, WR_MUD_CREATE, 1, 5, &p), WR_MALFORMED);
    assert_null(wr__mud_char_by_name(mud(&t), "Cato"));
    wr_mud_encode_str(&p, "warrior");
    assert_int_equal(cmd(&t, WR_MUD_CREATE, 1, 6, &p), WR_APPLIED);
    assert_int_equal(ch(&t, "Cato")->race, R_ELF);
    wr_writer_free(&p);
    t_free(&t);
}

/* ---- stats ------------------------------------------------------------------------ */

static void test_stats_effects(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, "Hugo", "human", "warrior"), WR_APPLIED);
    struct wr_mud_char *c = ch(&t, "Hugo");
    assert_int_equal(stat_of(&t, c, WR_STAT_VIT), 12);
    assert_int_equal(max_of(&t, c, WR_POOL_HP), 34);
    /* A running vitality effect counts, and raises the health maximum. */
    add_fx(&c->f, WR_EFF_STAT, WR_STAT_VIT, 5, t.now + 1000, SK_HEAL);
    add_fx(&c->f, WR_EFF_STAT, WR_STAT_STR, -3, t.now + 1000, SK_HEAL);
    add_fx(&c->f, WR_EFF_ARMOUR, WR_DT_FIRE, 4, t.now + 2000, SK_HEAL);
    assert_int_equal(stat_of(&t, c, WR_STAT_VIT), 17);
    assert_int_equal(stat_of(&t, c, WR_STAT_STR), 9);
    assert_int_equal(c->base[WR_STAT_VIT], 12); /* the base is untouched */
    assert_int_equal(max_of(&t, c, WR_POOL_HP), 44);
    assert_int_equal(wr_mud_char_armour(mud(&t), c, WR_DT_FIRE, t.now), 4);
    assert_int_equal(wr_mud_char_armour(mud(&t), c, WR_DT_COLD, t.now), 0);
    /* Over at their end time, even before anything removes them. */
    assert_int_equal(wr_mud_char_stat(mud(&t), c, WR_STAT_VIT, t.now + 1000), 12);
    assert_int_equal(wr_mud_char_max(mud(&t), c, WR_POOL_HP, t.now + 1000), 34);
    assert_int_equal(wr_mud_char_armour(mud(&t), c, WR_DT_FIRE, t.now + 1999), 4);
    assert_int_equal(wr_mud_char_armour(mud(&t), c, WR_DT_FIRE, t.now + 2000), 0);

    /* An NPC: its model's stats, maxima and armour, plus its effects. */
    const struct wr_mud_npc_inst *rat = npc_of(&t, "rat");
    assert_non_null(rat);
    struct wr_mud *m = mud(&t);
    assert_int_equal(wr__mud_stat(m, WR_MUD_ACTOR_NPC, rat->id, WR_STAT_AGI, t.now), 14);
    assert_int_equal(wr__mud_max(m, WR_MUD_ACTOR_NPC, rat->id, WR_POOL_HP, t.now), 40);
    assert_int_equal(wr__mud_armour(m, WR_MUD_ACTOR_NPC, rat->id, WR_DT_SLASH, t.now), 3);
    assert_int_equal(wr__mud_armour(m, WR_MUD_ACTOR_NPC, rat->id, WR_DT_FIRE, t.now), -2);
    struct wr_mud_fighter *rf = wr__mud_fighter(m, WR_MUD_ACTOR_NPC, rat->id);
    add_fx(rf, WR_EFF_STAT, WR_STAT_AGI, -4, t.now + 500, SK_BASH);
    add_fx(rf, WR_EFF_ARMOUR, WR_DT_FIRE, 10, t.now + 500, SK_BASH);
    assert_int_equal(wr__mud_stat(m, WR_MUD_ACTOR_NPC, rat->id, WR_STAT_AGI, t.now), 10);
    assert_int_equal(wr__mud_armour(m, WR_MUD_ACTOR_NPC, rat->id, WR_DT_FIRE, t.now), 8);
    /* Unknown fighters are harmless. */
    assert_int_equal(wr__mud_stat(m, WR_MUD_ACTOR_NPC, 9999, WR_STAT_AGI, t.now), 0);
    assert_int_equal(wr__mud_max(m, WR_MUD_ACTOR_CHAR, 9999, WR_POOL_HP, t.now), 1);
    t_free(&t);
}

/* ---- experience ---------------------------------------------------------------- */

static void test_xp_scaling(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    mud(&t)->model->rules.max_level = 50;
    mud(&t)->model->rules.xp_base = 1000000; /* no level up in this test */
    assert_int_equal(create(&t, 1, "Hugo", "human", "warrior"), WR_APPLIED);
    struct wr_mud_char *c = ch(&t, "Hugo");
    struct wr_apply_ctx ctx = ctx_of(&t);
    c->level = 5;
    struct {
        uint32_t victim;
        uint64_t xp;
    } cases[] = {
        {5, 50},   /* same level: 10 * 5 */
        {6, 72},   /* one above: 60 * 120% */
        {7, 98},   /* two above: 70 * 140% */
        {10, 200}, /* five above: 100 * 200% (the cap) */
        {20, 400}, /* far above: still 200% */
        {4, 32},   /* one below: 40 * 80% */
        {1, 2},    /* four below: 10 * 20% */
        {0, 0},    /* level 0 (not a fighter): nothing */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t before = c->xp;
        t.n_ev = 0;
        wr__mud_award_xp(mud(&t), &ctx, c, cases[i].victim);
        assert_int_equal(c->xp - before, cases[i].xp);
        if (cases[i].xp > 0) {
            char want[64];
            snprintf(want, sizeof want, "You gain %llu experience.",
                     (unsigned long long)cases[i].xp);
            assert_true(told(&t, want));
        }
    }
    assert_int_equal(c->kills, sizeof cases / sizeof cases[0]); /* every kill counts */
    /* Ten levels below: 10% of 10 is 1, the least a kill gives. */
    c->level = 40;
    uint64_t before = c->xp;
    wr__mud_award_xp(mud(&t), &ctx, c, 1);
    assert_int_equal(c->xp - before, 1);
    t_free(&t);
}

static void test_level_up(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, "Hugo", "human", "warrior"), WR_APPLIED);
    assert_int_equal(create(&t, 2, "Bob", "human", "mage"), WR_APPLIED);
    struct wr_mud_char *c = ch(&t, "Hugo");
    struct wr_apply_ctx ctx = ctx_of(&t);
    c->f.pool[WR_POOL_HP] = 3;
    assert_int_equal(wr_mud_xp_to_next(model(&t), 1), 100);
    assert_int_equal(wr_mud_xp_to_next(model(&t), 2), 200);

    /* 99: not yet. */
    wr__mud_grant_xp(mud(&t), &ctx, c, 99);
    assert_int_equal(c->level, 1);
    assert_int_equal(c->xp, 99);
    assert_int_equal(c->f.pool[WR_POOL_HP], 3);
    assert_null(find_act(&t, "level"));
    /* +151 = 250: level 2 (100 spent), 150 towards level 3; pools full. */
    t.n_ev = 0;
    wr__mud_grant_xp(mud(&t), &ctx, c, 151);
    assert_int_equal(c->level, 2);
    assert_int_equal(c->xp, 150);
    assert_int_equal(c->f.pool[WR_POOL_HP], max_of(&t, c, WR_POOL_HP));
    assert_int_equal(max_of(&t, c, WR_POOL_HP), 20 + 24);
    const struct ev *e = find_act(&t, "level");
    assert_non_null(e);
    assert_string_equal(e->to_actor, "You are now level 2!");
    assert_string_equal(e->to_room, "Hugo has reached level 2.");
    assert_int_equal(e->audience, WR_AUD_ROOM); /* Bob in the square sees it */
    /* Level 3 opens heal (trained: at a trainer). */
    t.n_ev = 0;
    wr__mud_grant_xp(mud(&t), &ctx, c, 50);
    assert_int_equal(c->level, 3);
    assert_int_equal(c->xp, 0);
    assert_true(told(&t, "You may now learn heal from a trainer (train)."));
    /* Past the highest level (5): stops there, one point short. */
    wr__mud_grant_xp(mud(&t), &ctx, c, 100000);
    assert_int_equal(c->level, 5);
    assert_int_equal(c->xp, wr_mud_xp_to_next(model(&t), 5) - 1);
    wr__mud_grant_xp(mud(&t), &ctx, c, 100000);
    assert_int_equal(c->level, 5);
    t_free(&t);
}

static void test_death_penalty(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, "Hugo", "human", "warrior"), WR_APPLIED);
    struct wr_mud_char *c = ch(&t, "Hugo");
    struct wr_apply_ctx ctx = ctx_of(&t);
    c->level = 2;
    c->xp = 50;
    /* 10% of the 200 the level needs. */
    t.n_ev = 0;
    wr__mud_death_penalty(mud(&t), &ctx, c);
    assert_int_equal(c->xp, 30);
    assert_true(told(&t, "You lose 20 experience."));
    /* Never below 0, never a level down. */
    c->xp = 5;
    wr__mud_death_penalty(mud(&t), &ctx, c);
    assert_int_equal(c->xp, 0);
    assert_int_equal(c->level, 2);
    t.n_ev = 0;
    wr__mud_death_penalty(mud(&t), &ctx, c);
    assert_int_equal(c->xp, 0);
    assert_null(find_act(&t, "xp")); /* nothing lost, nothing said */
    assert_int_equal(c->deaths, 3); /* every death counts, penalty or not */
    t_free(&t);
}

/* ---- regeneration ---------------------------------------------------------------- */

static void test_regen_schedule(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(zone_cmd(&t, WR_MUD_ZONE_PLACE, 0), WR_APPLIED);
    assert_int_equal(create(&t, 1, "Hugo", "human", "warrior"), WR_APPLIED);
    struct wr_mud_char *c = ch(&t, "Hugo");
    struct wr_apply_ctx ctx = ctx_of(&t);
    int32_t max = max_of(&t, c, WR_POOL_HP); /* 10 + 24 = 34 */
    assert_int_equal(max, 34);

    /* At full: nothing to schedule. */
    wr__mud_regen_start(mud(&t), &ctx, WR_MUD_ACTOR_CHAR, c->id);
    assert_int_equal(c->next_regen_at, NEVER);
    /* Hurt but fighting: nothing either (the fight's end starts it). */
    c->f.pool[WR_POOL_HP] = 4;
    c->f.next_round_at = t.now + 2000;
    wr__mud_regen_start(mud(&t), &ctx, WR_MUD_ACTOR_CHAR, c->id);
    assert_int_equal(c->next_regen_at, NEVER);
    /* The fight is over: one tick regen_ms later; starting again keeps it. */
    c->f.next_round_at = NEVER;
    wr__mud_regen_start(mud(&t), &ctx, WR_MUD_ACTOR_CHAR, c->id);
    assert_int_equal(c->next_regen_at, t.now + 5000);
    struct wr_apply_ctx later = ctx;
    later.now_ms += 100;
    wr__mud_regen_start(mud(&t), &later, WR_MUD_ACTOR_CHAR, c->id);
    assert_int_equal(c->next_regen_at, t.now + 5000);
    assert_int_equal(wr_mud_zone_next_due(mud(&t), 0), t.now + 5000);

    /* A tick before it is due does nothing. */
    uint64_t due = c->next_regen_at;
    t.now = due - 1;
    assert_int_equal(zone_cmd(&t, WR_MUD_ZONE_TICK, 1), WR_APPLIED);
    assert_int_equal(c->f.pool[WR_POOL_HP], 4);
    /* Due: +34/10 + (12-10)/2 = 4 health; again and again until full. */
    t.now = due;
    assert_int_equal(zone_cmd(&t, WR_MUD_ZONE_TICK, 1), WR_APPLIED);
    assert_int_equal(c->f.pool[WR_POOL_HP], 8);
    assert_int_equal(c->next_regen_at, due + 5000);
    assert_non_null(find_act(&t, "vitals"));                   /* the node's cue for Char.Vitals */
    assert_string_equal(find_act(&t, "vitals")->to_actor, ""); /* and nothing printed */
    int ticks = 1;
    while (c->next_regen_at != NEVER && ticks < 20) {
        t.now = c->next_regen_at;
        assert_int_equal(zone_cmd(&t, WR_MUD_ZONE_TICK, 1), WR_APPLIED);
        ticks++;
    }
    assert_int_equal(c->f.pool[WR_POOL_HP], max);
    assert_int_equal(ticks, 8); /* 4 + 8*4 >= 34 */
    assert_int_equal(c->next_regen_at, NEVER);

    /* A fight started while a tick was due: the tick stops, no regen. */
    c->f.pool[WR_POOL_HP] = 10;
    ctx = ctx_of(&t);
    wr__mud_regen_start(mud(&t), &ctx, WR_MUD_ACTOR_CHAR, c->id);
    c->f.next_round_at = t.now + 6000;
    ctx.now_ms = c->next_regen_at;
    wr__mud_regen(mud(&t), &ctx, WR_MUD_ACTOR_CHAR, c->id);
    assert_int_equal(c->f.pool[WR_POOL_HP], 10);
    assert_int_equal(c->next_regen_at, NEVER);
    t.now = ctx.now_ms;

    /* A low stat still regenerates at least 1 a tick. */
    c->f.next_round_at = NEVER;
    c->base[WR_STAT_WIL] = -40;
    c->f.pool[WR_POOL_SP] = 0;
    ctx = ctx_of(&t);
    wr__mud_regen_start(mud(&t), &ctx, WR_MUD_ACTOR_CHAR, c->id);
    t.now = c->next_regen_at;
    assert_int_equal(zone_cmd(&t, WR_MUD_ZONE_TICK, 1), WR_APPLIED);
    assert_int_equal(c->f.pool[WR_POOL_SP], 1);
    t_free(&t);
}

static void test_regen_npc_and_effects(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(zone_cmd(&t, WR_MUD_ZONE_PLACE, 0), WR_APPLIED);
    assert_int_equal(create(&t, 1, "Hugo", "human", "warrior"), WR_APPLIED);
    struct wr_mud_char *c = ch(&t, "Hugo");
    struct wr_apply_ctx ctx = ctx_of(&t);

    /* A stat effect alone (pools full) keeps the ticks going until it ends,
     * then it wears off with a message and the ticks stop. */
    add_fx(&c->f, WR_EFF_STAT, WR_STAT_STR, 2, t.now + 7000, SK_BASH);
    add_fx(&c->f, WR_EFF_DOT, WR_DT_FIRE, 2, t.now + 1000, SK_BASH); /* the fight's */
    wr__mud_regen_start(mud(&t), &ctx, WR_MUD_ACTOR_CHAR, c->id);
    assert_int_equal(c->next_regen_at, t.now + 5000);
    t.now += 5000;
    assert_int_equal(zone_cmd(&t, WR_MUD_ZONE_TICK, 1), WR_APPLIED);
    assert_int_equal(c->f.n_fx, 2);
    assert_int_equal(c->next_regen_at, t.now + 5000);
    t.now += 5000;
    assert_int_equal(zone_cmd(&t, WR_MUD_ZONE_TICK, 1), WR_APPLIED);
    assert_true(told(&t, "The effect of bash wears off."));
    assert_int_equal(c->f.n_fx, 1);
    assert_int_equal(c->f.fx[0].kind, WR_EFF_DOT);
    assert_int_equal(c->next_regen_at, NEVER);

    /* An NPC regenerates by its model's maxima and stats. */
    struct wr_mud_npc_inst *rat = (struct wr_mud_npc_inst *)npc_of(&t, "rat");
    rat->f.pool[WR_POOL_HP] = 10;
    rat->f.pool[WR_POOL_SP] = 5;
    rat->f.pool[WR_POOL_EP] = 20;
    ctx = ctx_of(&t);
    wr__mud_regen_start(mud(&t), &ctx, WR_MUD_ACTOR_NPC, rat->id);
    assert_int_equal(rat->next_regen_at, t.now + 5000);
    t.now += 5000;
    assert_int_equal(zone_cmd(&t, WR_MUD_ZONE_TICK, 1), WR_APPLIED);
    /* 40/10 + (8 - 10)/2 = 3 */
    assert_int_equal(rat->f.pool[WR_POOL_HP], 13);
    assert_int_equal(rat->next_regen_at, t.now + 5000);
    t_free(&t);
}

/* ---- hone and train ------------------------------------------------------------- */

static void test_hone(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, "Hugo", "human", "warrior"), WR_APPLIED);
    struct wr_mud_char *c = ch(&t, "Hugo");
    /* Strength 12 costs 10 * 12 = 120; 20 gold is not enough. */
    assert_int_equal(hone(&t, 1, WR_STAT_STR), WR_APPLIED);
    assert_string_equal(fail_text(&t), "Honing your strength from 12 costs 120 gold; you have 20.");
    assert_int_equal(c->base[WR_STAT_STR], 12);
    assert_int_equal(c->gold, 20);
    /* With the gold it is done. */
    c->gold = 150;
    assert_int_equal(hone(&t, 1, WR_STAT_STR), WR_APPLIED);
    assert_null(find_ev(&t, WR_MUD_EV_FAIL, 0));
    assert_true(told(&t, "You hone your strength to 13 for 120 gold."));
    assert_int_equal(c->base[WR_STAT_STR], 13);
    assert_int_equal(c->gold, 30);
    assert_int_equal(stat_of(&t, c, WR_STAT_STR), 13);
    /* Vitality raises the health maximum: regeneration fills the gap. */
    c->gold = 1000;
    assert_int_equal(hone(&t, 1, WR_STAT_VIT), WR_APPLIED);
    assert_int_equal(max_of(&t, c, WR_POOL_HP), 36);
    assert_int_equal(c->f.pool[WR_POOL_HP], 34);
    assert_int_equal(c->next_regen_at, t.now + 5000);
    /* A stat that is not one is malformed. */
    assert_int_equal(hone(&t, 1, WR_MUD_NSTATS), WR_MALFORMED);
    assert_int_equal(cmd(&t, WR_MUD_HONE, 1, 1, NULL), WR_MALFORMED);
    /* There is a ceiling. */
    c->base[WR_STAT_AGI] = 1000;
    c->gold = UINT32_MAX;
    assert_int_equal(hone(&t, 1, WR_STAT_AGI), WR_APPLIED);
    assert_string_equal(fail_text(&t), "Your agility cannot be honed any further.");
    c->base[WR_STAT_AGI] = 999;
    assert_int_equal(hone(&t, 1, WR_STAT_AGI), WR_APPLIED);
    assert_null(find_ev(&t, WR_MUD_EV_FAIL, 0));
    assert_int_equal(c->base[WR_STAT_AGI], 1000);
    t_free(&t);
}

static void test_train(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, "Mira", "elf", "mage"), WR_APPLIED);
    assert_int_equal(create(&t, 2, "Hugo", "human", "warrior"), WR_APPLIED);
    struct wr_mud_char *mira = ch(&t, "Mira"), *hugo = ch(&t, "Hugo");
    struct wr_mud *m = mud(&t);
    assert_false(wr_mud_knows_skill(m, mira, SK_FIREBALL));
    assert_true(wr_mud_knows_skill(m, hugo, SK_BASH));  /* not trained: by level */
    assert_false(wr_mud_knows_skill(m, mira, SK_BASH)); /* not a mage's */

    /* No trainer in the square; in the hall there is one. */
    assert_int_equal(train(&t, 1, "fireball"), WR_APPLIED);
    assert_string_equal(fail_text(&t), "Nobody here teaches fireball.");
    assert_int_equal(move(&t, 1, WR_DIR_N), WR_APPLIED);
    assert_int_equal(move(&t, 2, WR_DIR_N), WR_APPLIED);
    /* Not enough gold (20 of 15... then 10 of 15). */
    mira->gold = 10;
    assert_int_equal(train(&t, 1, "fireball"), WR_APPLIED);
    assert_string_equal(fail_text(&t), "Learning fireball costs 15 gold; you have 10.");
    assert_false(wr_mud_knows_skill(m, mira, SK_FIREBALL));
    mira->gold = 20;
    assert_int_equal(train(&t, 1, "fireball"), WR_APPLIED);
    assert_null(find_ev(&t, WR_MUD_EV_FAIL, 0));
    const struct ev *e = find_act(&t, "train");
    assert_non_null(e);
    assert_string_equal(e->to_actor, "The old master teaches you fireball for 15 gold.");
    assert_string_equal(e->to_room, "The old master teaches Mira fireball.");
    assert_int_equal(mira->gold, 5);
    assert_true(wr_mud_knows_skill(m, mira, SK_FIREBALL));
    assert_int_equal(mira->skills_known, 1ull << SK_FIREBALL);
    /* Once is enough. */
    assert_int_equal(train(&t, 1, "fireball"), WR_APPLIED);
    assert_string_equal(fail_text(&t), "You already know fireball.");
    assert_int_equal(mira->gold, 5);
    /* A warrior cannot learn it, gold or not. */
    hugo->gold = 100;
    assert_int_equal(train(&t, 2, "fireball"), WR_APPLIED);
    assert_string_equal(fail_text(&t), "fireball is not a skill a Warrior can learn.");
    assert_int_equal(hugo->gold, 100);
    /* Heal needs level 3, for every class. */
    assert_int_equal(train(&t, 2, "heal"), WR_APPLIED);
    assert_string_equal(fail_text(&t), "You need level 3 to learn heal (you are 1).");
    hugo->level = 3;
    assert_false(wr_mud_knows_skill(m, hugo, SK_HEAL)); /* level alone is not enough */
    assert_int_equal(train(&t, 2, "heal"), WR_APPLIED);
    assert_null(find_ev(&t, WR_MUD_EV_FAIL, 0));
    assert_true(wr_mud_knows_skill(m, hugo, SK_HEAL));
    assert_int_equal(hugo->gold, 95);
    /* A skill that comes with the level, an unknown one, and "". */
    assert_int_equal(train(&t, 2, "bash"), WR_APPLIED);
    assert_string_equal(fail_text(&t), "Nobody teaches bash: it comes by itself at level 1.");
    assert_int_equal(train(&t, 2, "juggle"), WR_APPLIED);
    assert_string_equal(fail_text(&t), "There is no skill called juggle.");
    assert_int_equal(train(&t, 2, ""), WR_APPLIED);
    assert_non_null(find_ev(&t, WR_MUD_EV_FAIL, 0));
    assert_int_equal(cmd(&t, WR_MUD_TRAIN, 1, 2, NULL), WR_MALFORMED);
    /* A command type of the range that does not exist. */
    assert_int_equal(cmd(&t, WR_MUD_PROGRESS_LAST, 1, 2, NULL), WR_MALFORMED);
    t_free(&t);
}

/* `classes: []` is a skill no class learns (the NPCs' own, such as a
 * rat's bite); the loader fills a skill without `classes` with all of
 * them. Next to it, the same check with the class listed. */
static void test_skill_classes(void **state)
{
    (void)state;
    uint32_t mages[1] = {C_MAGE};
    struct wr_mud_skill none = {.n_classes = 0}, mage_only = {.classes = mages, .n_classes = 1};
    assert_false(wr_mud_skill_for_class(&none, C_MAGE));
    assert_false(wr_mud_skill_for_class(&none, C_WARRIOR));
    assert_true(wr_mud_skill_for_class(&mage_only, C_MAGE));
    assert_false(wr_mud_skill_for_class(&mage_only, C_WARRIOR));
    /* heal names no classes in the file: every class may learn it */
    struct t t;
    t_ready(&t);
    const struct wr_mud_skill *heal_sk = &model(&t)->skills[SK_HEAL];
    assert_int_equal(heal_sk->n_classes, model(&t)->n_classes);
    assert_true(wr_mud_skill_for_class(heal_sk, C_WARRIOR));
    assert_true(wr_mud_skill_for_class(heal_sk, C_MAGE));
    t_free(&t);
}

/* ---- snapshot ---------------------------------------------------------------------- */

static void test_snapshot_section(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, "Mira", "elf", "mage"), WR_APPLIED);
    assert_int_equal(create(&t, 2, "Hugo", "human", "warrior"), WR_APPLIED);
    struct wr_mud *m = mud(&t);
    struct wr_mud_char *mira = ch(&t, "Mira");
    mira->level = 4;
    mira->xp = 123;
    mira->base[WR_STAT_INT] = 17;
    mira->skills_known = (1ull << SK_FIREBALL) | (1ull << SK_HEAL);
    mira->next_regen_at = 99999;
    mira->gold = 4242;
    mira->kills = 7;
    mira->deaths = 2;
    m->npcs[0].next_regen_at = 5555;

    struct wr_writer w;
    wr_writer_init(&w, 256);
    wr__mud_snap_progress(m, &w);
    struct wr_mud_char saved[2] = {m->chars[0], m->chars[1]};
    uint64_t npc_regen[2] = {m->npcs[0].next_regen_at, m->npcs[1].next_regen_at};
    for (size_t i = 0; i < 2; i++) {
        memset(m->chars[i].base, 0, sizeof m->chars[i].base);
        m->chars[i].level = m->chars[i].gold = m->chars[i].kills = 1;
        m->npcs[i].next_regen_at = 0;
    }
    struct wr_reader r;
    wr_reader_init(&r, w.base, w.len);
    assert_int_equal(wr__mud_restore_progress(m, &r), 0);
    assert_int_equal(r.left, 0);
    for (size_t i = 0; i < 2; i++) {
        const struct wr_mud_char *a = &saved[i], *b = &m->chars[i];
        assert_int_equal(a->race, b->race);
        assert_int_equal(a->cls, b->cls);
        assert_int_equal(a->level, b->level);
        assert_int_equal(a->xp, b->xp);
        assert_memory_equal(a->base, b->base, sizeof a->base);
        assert_int_equal(a->skills_known, b->skills_known);
        assert_int_equal(a->next_regen_at, b->next_regen_at);
        assert_int_equal(b->gold, 1); /* gold is in the items section, not here */
        assert_int_equal(a->kills, b->kills);
        assert_int_equal(a->deaths, b->deaths);
        assert_int_equal(m->npcs[i].next_regen_at, npc_regen[i]);
    }
    /* Written again, the same bytes. */
    struct wr_writer w2;
    wr_writer_init(&w2, 256);
    wr__mud_snap_progress(m, &w2);
    assert_int_equal(w.len, w2.len);
    assert_memory_equal(w.base, w2.base, w.len);
    wr_writer_free(&w2);

    /* Bad values are refused: each byte patch below breaks one rule. The
     * first character's fields start at 0: race(0) cls(4) level(8) xp(12)
     * base(20..43) skills(44). */
    struct {
        size_t off;
        uint32_t v;
    } bad[] = {
        {0, 2},        /* race 2 of 2 */
        {4, 9},        /* class 9 */
        {8, 0},        /* level 0 */
        {8, 6},        /* level above max_level 5 */
        {20, 2000000}, /* a base stat far out of range */
        {44, 1u << 3}, /* skill bit 3 of 3 skills */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *copy = malloc(w.len);
        memcpy(copy, w.base, w.len);
        for (int k = 0; k < 4; k++)
            copy[bad[i].off + (size_t)k] = (uint8_t)(bad[i].v >> (8 * k));
        wr_reader_init(&r, copy, w.len);
        assert_int_equal(wr__mud_restore_progress(m, &r), -1);
        free(copy);
    }
    /* Truncated: refused. */
    wr_reader_init(&r, w.base, w.len - 1);
    assert_int_equal(wr__mud_restore_progress(m, &r), -1);
    /* The original again: accepted (the positive control). */
    wr_reader_init(&r, w.base, w.len);
    assert_int_equal(wr__mud_restore_progress(m, &r), 0);
    assert_int_equal(mira->level, 4);

    /* A version 1 snapshot (no section): a new character's defaults. */
    assert_int_equal(wr__mud_restore_progress(m, NULL), 0);
    assert_int_equal(mira->race, 0);
    assert_int_equal(mira->level, 1);
    assert_int_equal(mira->base[WR_STAT_STR], 12);
    assert_int_equal(mira->gold, 20);
    assert_int_equal(mira->f.pool[WR_POOL_HP], max_of(&t, mira, WR_POOL_HP));
    assert_int_equal(m->npcs[0].next_regen_at, NEVER);
    wr_writer_free(&w);
    t_free(&t);
}

static void test_remap(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, "Mira", "elf", "mage"), WR_APPLIED);
    struct wr_mud *m = mud(&t);
    struct wr_mud_char *mira = ch(&t, "Mira");
    mira->skills_known = (1ull << SK_FIREBALL) | (1ull << SK_HEAL);
    mira->level = 5;
    /* A new world: elf is gone, the classes swap places, fireball becomes
     * skill 0, heal is gone, and the highest level is 3. */
    uint32_t race_map[2] = {0, NONE}, cls_map[2] = {1, 0}, skill_map[3] = {2, 0, NONE};
    struct wr_mud_model nm = *m->model;
    nm.rules.max_level = 3;
    struct remap rm = {
        .om = m->model, .nm = &nm, .race = race_map, .cls = cls_map, .skill = skill_map};
    struct wr_apply_ctx ctx = ctx_of(&t);
    wr__mud_remap_progress(m, &ctx, &rm);
    assert_int_equal(mira->race, 0);
    assert_int_equal(mira->cls, 0);
    assert_int_equal(mira->skills_known, 1ull << 0);
    assert_int_equal(mira->level, 3);
    t_free(&t);
}

/* The whole module's snapshot (the core's section, then every area's)
 * restores into another world with every progression field as it was, and
 * writes the same bytes again. */
static void test_world_snapshot_roundtrip(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(zone_cmd(&t, WR_MUD_ZONE_PLACE, 0), WR_APPLIED);
    assert_int_equal(create(&t, 1, "Mira", "elf", "mage"), WR_APPLIED);
    assert_int_equal(create(&t, 2, "Hugo", "human", "warrior"), WR_APPLIED);
    struct wr_mud_char *mira = ch(&t, "Mira");
    mira->gold = 500;
    assert_int_equal(hone(&t, 1, WR_STAT_VIT), WR_APPLIED);
    assert_int_equal(move(&t, 1, WR_DIR_N), WR_APPLIED);
    assert_int_equal(train(&t, 1, "fireball"), WR_APPLIED);
    struct wr_apply_ctx ctx = ctx_of(&t);
    wr__mud_grant_xp(mud(&t), &ctx, mira, 150);
    mira->f.pool[WR_POOL_HP] = 5;
    wr__mud_regen_start(mud(&t), &ctx, WR_MUD_ACTOR_CHAR, mira->id);
    assert_true(mira->next_regen_at != NEVER);

    struct wr_writer a;
    wr_writer_init(&a, 4096);
    wr_world_snapshot(t.w, &a);
    struct t u;
    t_init(&u);
    u.now = 0;
    u.seed = 0;
    assert_int_equal(wr_world_restore(u.w, a.base, a.len), 0);
    struct wr_writer b;
    wr_writer_init(&b, 4096);
    wr_world_snapshot(u.w, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.base, b.base, a.len);
    const struct wr_mud_char *r = wr__mud_char_by_name(mud(&u), "Mira");
    assert_non_null(r);
    assert_int_equal(r->race, R_ELF);
    assert_int_equal(r->cls, C_MAGE);
    assert_int_equal(r->level, 2);
    assert_int_equal(r->xp, 50);
    assert_memory_equal(r->base, mira->base, sizeof r->base);
    assert_int_equal(r->skills_known, 1ull << SK_FIREBALL);
    assert_int_equal(r->gold, mira->gold);
    assert_int_equal(r->next_regen_at, mira->next_regen_at);
    assert_true(wr_mud_knows_skill(mud(&u), r, SK_FIREBALL));
    /* The restored world regenerates on the same tick (the pools are the
     * fight area's section: not compared here). */
    u.now = t.now = mira->next_regen_at;
    u.seed = t.seed;
    assert_int_equal(zone_cmd(&t, WR_MUD_ZONE_TICK, 1), WR_APPLIED);
    assert_non_null(find_act(&t, "vitals"));
    assert_int_equal(zone_cmd(&u, WR_MUD_ZONE_TICK, 1), WR_APPLIED);
    assert_non_null(find_act(&u, "vitals"));
    assert_true(mira->f.pool[WR_POOL_HP] > 5);
    wr_writer_free(&a);
    wr_writer_free(&b);
    t_free(&u);
    t_free(&t);
}

/* A new world version through WORLD_CHUNK: races and skills are kept by
 * key although their indexes move; a skill that is gone is forgotten. */
static void test_reload_keeps_by_key(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, "Mira", "elf", "mage"), WR_APPLIED);
    assert_int_equal(create(&t, 2, "Hugo", "human", "warrior"), WR_APPLIED);
    struct wr_mud_char *mira = ch(&t, "Mira"), *hugo = ch(&t, "Hugo");
    mira->skills_known = (1ull << SK_FIREBALL) | (1ull << SK_HEAL);
    load_world(&t, 2);
    const struct wr_mud_model *mo = model(&t);
    assert_string_equal(mo->races[mira->race].key, "elf");
    assert_string_equal(mo->races[hugo->race].key, "human");
    assert_int_equal(mira->race, 0);
    assert_string_equal(mo->classes[mira->cls].key, "mage");
    long fb = wr_mud_model_skill(mo, "fireball");
    assert_int_equal(fb, 0);
    assert_int_equal(mira->skills_known, 1ull << fb);
    assert_true(wr_mud_knows_skill(mud(&t), mira, (uint32_t)fb));
    t_free(&t);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_race_class),
        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_stats_effects),
        cmocka_unit_test(test_xp_scaling),
        cmocka_unit_test(test_level_up),
        cmocka_unit_test(test_death_penalty),
        cmocka_unit_test(test_regen_schedule),
        cmocka_unit_test(test_regen_npc_and_effects),
        cmocka_unit_test(test_hone),
        cmocka_unit_test(test_train),
        cmocka_unit_test(test_skill_classes),
        cmocka_unit_test(test_snapshot_section),
        cmocka_unit_test(test_remap),
        cmocka_unit_test(test_world_snapshot_roundtrip),
        cmocka_unit_test(test_reload_keeps_by_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
