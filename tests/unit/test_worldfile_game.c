/* Unit tests for the gameplay keys of the world files (mud/worldfile_game.c,
 * docs/world-format.md "## Gameplay"): a world using every kind parses to
 * the expected model; a world without them gets the schema's defaults;
 * every kind of mistake gives its exact "FILE:LINE:COLUMN: message", next
 * to a positive control in which the same file, fixed, loads; the limits
 * hold at their edge; the documented example loads as written; and
 * parsing stays deterministic and clean under mutations. Tests run from the
 * repository root (make unit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/bytes.h"
#include "mud/worldfile.h"

/* ---- helpers --------------------------------------------------------------- */

struct file {
    const char *name;
    const char *text;
};

/* A bundle of @n files, which the caller lists in sorted order. */
static void bundle_of(struct wr_writer *w, const struct file *f, size_t n)
{
    wr_writer_init(w, 1024);
    wr_put_bytes(w, "WRWORLD1", 8);
    wr_put_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        wr_put_u32(w, (uint32_t)strlen(f[i].name));
        wr_put_bytes(w, f[i].name, strlen(f[i].name));
        wr_put_u32(w, (uint32_t)strlen(f[i].text));
        wr_put_bytes(w, f[i].text, strlen(f[i].text));
    }
}

static int parse_files(const struct file *f, size_t n, struct wr_mud_model **m, char *err,
                       size_t errlen)
{
    struct wr_writer w;
    bundle_of(&w, f, n);
    int rv = wr_mud_model_parse(w.base, w.len, m, err, errlen);
    wr_writer_free(&w);
    return rv;
}

/* The text of @base with the first @old replaced by @new (owned by caller). */
static char *replace(const char *base, const char *old, const char *new)
{
    const char *at = strstr(base, old);
    if (at == NULL)
        fail_msg("test bug: \"%s\" is not in the base text", old);
    size_t pre = (size_t)(at - base), ol = strlen(old), nl = strlen(new);
    char *s = wr_malloc(strlen(base) - ol + nl + 1);
    memcpy(s, base, pre);
    memcpy(s + pre, new, nl);
    strcpy(s + pre + nl, at + ol);
    return s;
}

/* ---- a world with every kind of gameplay data --------------------------------- */

/* Line numbers in the comments: the error cases below point into them. */
static const char game_world[] =
    "name: Game\n"                                                                         /* 1 */
    "start: town.square\n"                                                                 /* 2 */
    "rules:\n"                                                                             /* 3 */
    "  round: 3s\n"                                                                        /* 4 */
    "  regen: 4s\n"                                                                        /* 5 */
    "  corpse: 2m\n"                                                                       /* 6 */
    "  max_level: 20\n"                                                                    /* 7 */
    "  xp_base: 200\n"                                                                     /* 8 */
    "  death_xp: 5\n"                                                                      /* 9 */
    "  start_gold: 50\n"                                                                   /* 10 */
    "  hone_cost: 7\n"                                                                     /* 11 */
    "races:\n"                                                                             /* 12 */
    "  - {id: human, name: Human}\n"                                                       /* 13 */
    "  - id: elf\n"                                                                        /* 14 */
    "    name: Elf\n"                                                                      /* 15 */
    "    desc: Tall and quick.\n"                                                          /* 16 */
    "    stats: {agility: 12, vitality: 8}\n"                                              /* 17 */
    "classes:\n"                                                                           /* 18 */
    "  - {id: warrior, name: Warrior, stats: {strength: 2}}\n"                             /* 19 */
    "  - {id: mage, name: Mage, stats: {intelligence: 3, strength: -1}, attack: arcane}\n" /* 20 */
    "skills:\n"                                                                            /* 21 */
    "  - id: missile\n"                                                                    /* 22 */
    "    name: magic missile\n"                                                            /* 23 */
    "    classes: [mage]\n"                                                                /* 24 */
    "    level: 2\n"                                                                       /* 25 */
    "    cost: 5\n"                                                                        /* 26 */
    "    cooldown: 3s\n"                                                                   /* 27 */
    "    effects:\n"                                                                       /* 28 */
    "      - {kind: damage, type: arcane, amount: 4, roll: 6, scale: intelligence}\n"      /* 29 */
    "    msg:\n"                                                                           /* 30 */
    "      actor: You hurl a dart at {target}.\n"                                          /* 31 */
    "      target: \"{actor} hurls a dart at you.\"\n"                                     /* 32 */
    "      room: \"{actor} hurls a dart at {target}.\"\n"                                  /* 33 */
    "  - id: bash\n"                                                                       /* 34 */
    "    name: bash\n"                                                                     /* 35 */
    "    pool: endurance\n"                                                                /* 36 */
    "    cost: 4\n"                                                                        /* 37 */
    "    trained: true\n"                                                                  /* 38 */
    "    train_cost: 30\n"                                                                 /* 39 */
    "    effects:\n"                                                                       /* 40 */
    "      - {kind: dot, type: bludgeoning, amount: 2, duration: 6s}\n"                    /* 41 */
    "      - {kind: stat, stat: agility, amount: -2, duration: 10s}\n"                     /* 42 */
    "      - {kind: armour, type: slashing, amount: -3, duration: 10s, self: true}\n"      /* 43 */
    "  - id: mend\n"                                                                       /* 44 */
    "    name: mend\n"                                                                     /* 45 */
    "    target: self\n"                                                                   /* 46 */
    "    effects: [{kind: recover, pool: health, amount: 10, roll: 5, self: true}]\n"      /* 47 */
    "socials:\n"                                                                           /* 48 */
    "  - id: smile\n"                                                                      /* 49 */
    "    alone: {actor: You smile., room: \"{actor} smiles.\"}\n"                          /* 50 */
    "    other: {actor: \"You smile at {target}.\", target: \"{actor} smiles.\"}\n";       /* 51 */

static const char game_town[] =
    "zone: {id: town, name: Town, desc: A town., graveyard: square}\n"                /* 1 */
    "rooms:\n"                                                                        /* 2 */
    "  - {id: square, name: Square, desc: A square., x: 0, y: 0, exits: {e: shop}}\n" /* 3 */
    "  - {id: shop, name: Shop, desc: A shop., x: 1, y: 0, exits: {w: square}}\n"     /* 4 */
    "items:\n"                                                                        /* 5 */
    "  - id: sword\n"                                                                 /* 6 */
    "    name: a sword\n"                                                             /* 7 */
    "    keywords: sword\n"                                                           /* 8 */
    "    desc: A sword.\n"                                                            /* 9 */
    "    ground: A sword lies here.\n"                                                /* 10 */
    "    slot: wield\n"                                                               /* 11 */
    "    damage: {type: slashing, min: 2, max: 7}\n"                                  /* 12 */
    "    stats: {strength: 1}\n"                                                      /* 13 */
    "    price: 40\n"                                                                 /* 14 */
    "    level: 2\n"                                                                  /* 15 */
    "  - id: cap\n"                                                                   /* 16 */
    "    name: a cap\n"                                                               /* 17 */
    "    keywords: cap\n"                                                             /* 18 */
    "    desc: A cap.\n"                                                              /* 19 */
    "    ground: A cap lies here.\n"                                                  /* 20 */
    "    slot: head\n"                                                                /* 21 */
    "    armour: {slashing: 1, fire: -1}\n"                                           /* 22 */
    "  - id: potion\n"                                                                /* 23 */
    "    name: a potion\n"                                                            /* 24 */
    "    keywords: potion\n"                                                          /* 25 */
    "    desc: A potion.\n"                                                           /* 26 */
    "    ground: A potion stands here.\n"                                             /* 27 */
    "    price: 15\n"                                                                 /* 28 */
    "    uses:\n"                                                                     /* 29 */
    "      - verb: drink\n"                                                           /* 30 */
    "        effects: [{kind: recover, pool: health, amount: 15}]\n"                  /* 31 */
    "        msg: {actor: You drink it.}\n"                                           /* 32 */
    "      - verb: smell\n"                                                           /* 33 */
    "        effects: [{kind: stat, stat: awareness, amount: 1, duration: 1m}]\n"     /* 34 */
    "        consumed: false\n"                                                       /* 35 */
    "  - {id: tail, name: a tail, keywords: tail, desc: A tail., ground: A tail.}\n"  /* 36 */
    "npcs:\n"                                                                         /* 37 */
    "  - id: smith\n"                                                                 /* 38 */
    "    name: the smith\n"                                                           /* 39 */
    "    keywords: smith\n"                                                           /* 40 */
    "    desc: A smith.\n"                                                            /* 41 */
    "    ground: The smith works here.\n"                                             /* 42 */
    "    teaches: [bash]\n"                                                           /* 43 */
    "    talk:\n"                                                                     /* 44 */
    "      - {topic: hello, text: \"Hello, {name}.\"}\n"                              /* 45 */
    "      - {topic: rats, text: Kill rats for me., quest: rats}\n"                   /* 46 */
    "  - id: rat\n"                                                                   /* 47 */
    "    name: a rat\n"                                                               /* 48 */
    "    keywords: rat\n"                                                             /* 49 */
    "    desc: A rat.\n"                                                              /* 50 */
    "    ground: A rat is here.\n"                                                    /* 51 */
    "    level: 3\n"                                                                  /* 52 */
    "    stats: {strength: 8}\n"                                                      /* 53 */
    "    health: 25\n"                                                                /* 54 */
    "    armour: {fire: -2}\n"                                                        /* 55 */
    "    attack: {type: piercing, min: 1, max: 4}\n"                                  /* 56 */
    "    gold: {min: 1, max: 5}\n"                                                    /* 57 */
    "    aggressive: true\n"                                                          /* 58 */
    "    drops: [{item: tail, chance: 50}, {item: cap}]\n"                            /* 59 */
    "    behaviour:\n"                                                                /* 60 */
    "      combat: [{attack: true, weight: 3}, {skill: bash}, {emote: squeaks.}]\n"   /* 61 */
    "      targeted: [{say: Squeak!}]\n"                                              /* 62 */
    "shops:\n"                                                                        /* 63 */
    "  - id: store\n"                                                                 /* 64 */
    "    name: The Store\n"                                                           /* 65 */
    "    room: shop\n"                                                                /* 66 */
    "    keeper: smith\n"                                                             /* 67 */
    "    buy_percent: 40\n"                                                           /* 68 */
    "    stock:\n"                                                                    /* 69 */
    "      - {item: sword, count: 3}\n"                                               /* 70 */
    "      - {item: potion, price: 20}\n"                                             /* 71 */
    "quests:\n"                                                                       /* 72 */
    "  - id: rats\n"                                                                  /* 73 */
    "    name: Rats\n"                                                                /* 74 */
    "    desc: Kill the rats.\n"                                                      /* 75 */
    "    giver: smith\n"                                                              /* 76 */
    "    level: 2\n"                                                                  /* 77 */
    "    steps:\n"                                                                    /* 78 */
    "      - {kill: rat, count: 3, desc: Kill 3 rats}\n"                              /* 79 */
    "      - {collect: tail}\n"                                                       /* 80 */
    "      - {visit: wild.field}\n"                                                   /* 81 */
    "      - {talk: smith}\n"                                                         /* 82 */
    "    reward: {xp: 100, gold: 10, items: [cap]}\n"                                 /* 83 */
    "    done: \"Thanks, {name}.\"\n"                                                 /* 84 */
    "    consume: false\n";                                                           /* 85 */

static const char game_wild[] =
    "zone: {id: wild, name: Wilds, desc: Open country., graveyard: field}\n" /* 1 */
    "rooms:\n"                                                               /* 2 */
    "  - {id: field, name: A Field, desc: Grass., x: 0, y: -2}\n"            /* 3 */
    "npcs:\n"                                                                /* 4 */
    "  - {id: wolf, name: a wolf, keywords: wolf, desc: A wolf., ground: A wolf., "
    "level: 4}\n"; /* 5 */

enum { F_WORLD, F_TOWN, F_WILD };

/* Parse the game world with file @which replaced by @text. */
static int parse_variant(int which, const char *text, struct wr_mud_model **m, char *err,
                         size_t errlen)
{
    struct file f[3] = {
        {"world.yaml", game_world}, {"zones/town.yaml", game_town}, {"zones/wild.yaml", game_wild}};
    f[which].text = text;
    return parse_files(f, 3, m, err, errlen);
}

static const char *base_of(int which)
{
    return which == F_WORLD ? game_world : which == F_TOWN ? game_town : game_wild;
}

static struct wr_mud_model *load_game(void)
{
    struct wr_mud_model *m = NULL;
    char err[512];
    if (parse_variant(F_WORLD, game_world, &m, err, sizeof err) != 0)
        fail_msg("the game world is refused: %s", err);
    return m;
}

/* ---- the rich world, field by field ------------------------------------------ */

static void test_rules_races_classes(void **state)
{
    (void)state;
    struct wr_mud_model *m = load_game();
    const struct wr_mud_rules *r = &m->rules;
    assert_int_equal(r->round_ms, 3000);
    assert_int_equal(r->regen_ms, 4000);
    assert_int_equal(r->corpse_ms, 120000);
    assert_int_equal(r->max_level, 20);
    assert_int_equal(r->xp_base, 200);
    assert_int_equal(r->death_xp_percent, 5);
    assert_int_equal(r->start_gold, 50);
    assert_int_equal(r->hone_cost, 7);

    assert_int_equal(m->n_races, 2);
    assert_int_equal(wr_mud_model_race(m, "elf"), 1);
    const struct wr_mud_race *human = &m->races[0], *elf = &m->races[1];
    assert_string_equal(human->name, "Human");
    assert_null(human->desc);
    for (int s = 0; s < WR_MUD_NSTATS; s++)
        assert_int_equal(human->stats[s], 10);
    assert_string_equal(elf->desc, "Tall and quick.");
    assert_int_equal(elf->stats[WR_STAT_AGI], 12);
    assert_int_equal(elf->stats[WR_STAT_VIT], 8);
    assert_int_equal(elf->stats[WR_STAT_STR], 10);

    assert_int_equal(m->n_classes, 2);
    const struct wr_mud_class *war = &m->classes[0], *mage = &m->classes[1];
    assert_string_equal(war->key, "warrior");
    assert_int_equal(war->stats[WR_STAT_STR], 2);
    assert_int_equal(war->stats[WR_STAT_INT], 0);
    assert_int_equal(war->attack_dtype, WR_DT_BLUDGEON);
    assert_int_equal(mage->stats[WR_STAT_INT], 3);
    assert_int_equal(mage->stats[WR_STAT_STR], -1);
    assert_int_equal(mage->attack_dtype, WR_DT_ARCANE);
    wr_mud_model_free(m);
}

static void test_skills_socials(void **state)
{
    (void)state;
    struct wr_mud_model *m = load_game();
    assert_int_equal(m->n_skills, 3);
    const struct wr_mud_skill *mm = &m->skills[wr_mud_model_skill(m, "missile")];
    assert_string_equal(mm->name, "magic missile");
    assert_int_equal(mm->level, 2);
    assert_int_equal(mm->n_classes, 1);
    assert_int_equal(mm->classes[0], wr_mud_model_class(m, "mage"));
    assert_int_equal(mm->cost, 5);
    assert_int_equal(mm->cost_pool, WR_POOL_SP);
    assert_int_equal(mm->cooldown_ms, 3000);
    assert_int_equal(mm->target, WR_TGT_ENEMY);
    assert_false(mm->trained);
    assert_int_equal(mm->n_effects, 1);
    const struct wr_mud_effect *e = &mm->effects[0];
    assert_int_equal(e->kind, WR_EFF_DAMAGE);
    assert_int_equal(e->dtype, WR_DT_ARCANE);
    assert_int_equal(e->amount, 4);
    assert_int_equal(e->roll, 6);
    assert_int_equal(e->scale_stat, WR_STAT_INT);
    assert_false(e->self);
    assert_string_equal(mm->msg.actor, "You hurl a dart at {target}.");
    assert_string_equal(mm->msg.target, "{actor} hurls a dart at you.");
    assert_string_equal(mm->msg.room, "{actor} hurls a dart at {target}.");

    const struct wr_mud_skill *bash = &m->skills[1];
    assert_string_equal(bash->key, "bash");
    assert_int_equal(bash->cost_pool, WR_POOL_EP);
    assert_true(bash->trained);
    assert_int_equal(bash->train_cost, 30);
    assert_int_equal(bash->n_classes, 2); /* no `classes`: every class */
    assert_int_equal(bash->classes[0], 0);
    assert_int_equal(bash->classes[1], 1);
    assert_null(bash->msg.actor);
    assert_int_equal(bash->n_effects, 3);
    assert_int_equal(bash->effects[0].kind, WR_EFF_DOT);
    assert_int_equal(bash->effects[0].dtype, WR_DT_BLUDGEON);
    assert_int_equal(bash->effects[0].duration_ms, 6000);
    assert_int_equal(bash->effects[0].scale_stat, 255);
    assert_int_equal(bash->effects[1].kind, WR_EFF_STAT);
    assert_int_equal(bash->effects[1].stat, WR_STAT_AGI);
    assert_int_equal(bash->effects[1].amount, -2);
    assert_int_equal(bash->effects[1].duration_ms, 10000);
    assert_int_equal(bash->effects[2].kind, WR_EFF_ARMOUR);
    assert_int_equal(bash->effects[2].dtype, WR_DT_SLASH);
    assert_int_equal(bash->effects[2].amount, -3);
    assert_true(bash->effects[2].self);

    const struct wr_mud_skill *mend = &m->skills[2];
    assert_int_equal(mend->target, WR_TGT_SELF);
    assert_int_equal(mend->level, 1);
    assert_int_equal(mend->effects[0].kind, WR_EFF_RECOVER);
    assert_int_equal(mend->effects[0].pool, WR_POOL_HP);
    assert_int_equal(mend->effects[0].amount, 10);
    assert_int_equal(mend->effects[0].roll, 5);
    assert_true(mend->effects[0].self);

    assert_int_equal(m->n_socials, 1);
    const struct wr_mud_social *so = &m->socials[0];
    assert_string_equal(so->key, "smile");
    assert_string_equal(so->alone.actor, "You smile.");
    assert_null(so->alone.target);
    assert_string_equal(so->alone.room, "{actor} smiles.");
    assert_string_equal(so->other.actor, "You smile at {target}.");
    assert_string_equal(so->other.target, "{actor} smiles.");
    assert_null(so->other.room);
    wr_mud_model_free(m);
}

static void test_items(void **state)
{
    (void)state;
    struct wr_mud_model *m = load_game();
    const struct wr_mud_item *sword = &m->items[wr_mud_model_item(m, "sword")];
    assert_int_equal(sword->slot, WR_SLOT_WIELD);
    assert_int_equal(sword->dtype, WR_DT_SLASH);
    assert_int_equal(sword->dmg_min, 2);
    assert_int_equal(sword->dmg_max, 7);
    assert_int_equal(sword->stats[WR_STAT_STR], 1);
    assert_int_equal(sword->stats[WR_STAT_AGI], 0);
    assert_int_equal(sword->price, 40);
    assert_int_equal(sword->level, 2);
    assert_int_equal(sword->n_uses, 0);

    const struct wr_mud_item *cap = &m->items[wr_mud_model_item(m, "cap")];
    assert_int_equal(cap->slot, WR_SLOT_HEAD);
    assert_int_equal(cap->armour[WR_DT_SLASH], 1);
    assert_int_equal(cap->armour[WR_DT_FIRE], -1);
    assert_int_equal(cap->armour[WR_DT_COLD], 0);
    assert_int_equal(cap->dmg_max, 0);
    assert_int_equal(cap->price, 0);

    const struct wr_mud_item *potion = &m->items[wr_mud_model_item(m, "potion")];
    assert_int_equal(potion->slot, WR_SLOT_NONE);
    assert_int_equal(potion->n_uses, 2);
    assert_string_equal(potion->uses[0].verb, "drink");
    assert_true(potion->uses[0].consumed);
    assert_int_equal(potion->uses[0].n_effects, 1);
    assert_int_equal(potion->uses[0].effects[0].kind, WR_EFF_RECOVER);
    assert_int_equal(potion->uses[0].effects[0].amount, 15);
    assert_string_equal(potion->uses[0].msg.actor, "You drink it.");
    assert_null(potion->uses[0].msg.room);
    assert_string_equal(potion->uses[1].verb, "smell");
    assert_false(potion->uses[1].consumed);
    assert_int_equal(potion->uses[1].effects[0].stat, WR_STAT_AWA);
    assert_int_equal(potion->uses[1].effects[0].duration_ms, 60000);
    wr_mud_model_free(m);
}

static void test_npcs(void **state)
{
    (void)state;
    struct wr_mud_model *m = load_game();
    long bash = wr_mud_model_skill(m, "bash"), rats = wr_mud_model_quest(m, "rats");
    const struct wr_mud_npc *smith = &m->npcs[wr_mud_model_npc(m, "smith")];
    assert_int_equal(smith->level, 0);
    assert_int_equal(smith->n_teaches, 1);
    assert_int_equal(smith->teaches[0], bash);
    assert_int_equal(smith->n_topics, 2);
    assert_string_equal(smith->topics[0].key, "hello");
    assert_string_equal(smith->topics[0].text, "Hello, {name}.");
    assert_int_equal(smith->topics[0].quest, UINT32_MAX);
    assert_string_equal(smith->topics[1].key, "rats");
    assert_int_equal(smith->topics[1].quest, rats);
    assert_int_equal(smith->n_combat, 0);

    const struct wr_mud_npc *rat = &m->npcs[wr_mud_model_npc(m, "rat")];
    assert_int_equal(rat->level, 3);
    assert_int_equal(rat->stats[WR_STAT_STR], 8);
    assert_int_equal(rat->stats[WR_STAT_AGI], 10);
    assert_int_equal(rat->max[WR_POOL_HP], 25);
    assert_int_equal(rat->max[WR_POOL_SP], 30); /* 10 * level */
    assert_int_equal(rat->max[WR_POOL_EP], 30);
    assert_int_equal(rat->armour[WR_DT_FIRE], -2);
    assert_int_equal(rat->dtype, WR_DT_PIERCE);
    assert_int_equal(rat->dmg_min, 1);
    assert_int_equal(rat->dmg_max, 4);
    assert_int_equal(rat->gold_min, 1);
    assert_int_equal(rat->gold_max, 5);
    assert_true(rat->aggressive);
    assert_int_equal(rat->n_drops, 2);
    assert_int_equal(rat->drops[0].item, wr_mud_model_item(m, "tail"));
    assert_int_equal(rat->drops[0].chance, 50);
    assert_int_equal(rat->drops[1].item, wr_mud_model_item(m, "cap"));
    assert_int_equal(rat->drops[1].chance, 100);
    assert_int_equal(rat->n_combat, 3);
    assert_int_equal(rat->combat[0].kind, WR_ACT_ATTACK);
    assert_int_equal(rat->combat[0].weight, 3);
    assert_null(rat->combat[0].text);
    assert_int_equal(rat->combat[1].kind, WR_ACT_SKILL);
    assert_int_equal(rat->combat[1].skill, bash);
    assert_int_equal(rat->combat[1].weight, 1);
    assert_int_equal(rat->combat[2].kind, WR_ACT_EMOTE);
    assert_string_equal(rat->combat[2].text, "squeaks.");
    assert_int_equal(rat->n_targeted, 1);
    assert_int_equal(rat->targeted[0].kind, WR_ACT_SAY);
    assert_string_equal(rat->targeted[0].text, "Squeak!");

    /* a level alone: the pools and the attack from the level */
    const struct wr_mud_npc *wolf = &m->npcs[wr_mud_model_npc(m, "wolf")];
    assert_int_equal(wolf->level, 4);
    assert_int_equal(wolf->max[WR_POOL_HP], 80);
    assert_int_equal(wolf->max[WR_POOL_SP], 40);
    assert_int_equal(wolf->max[WR_POOL_EP], 40);
    assert_int_equal(wolf->dtype, WR_DT_BLUDGEON);
    assert_int_equal(wolf->dmg_min, 1);
    assert_int_equal(wolf->dmg_max, 8);
    assert_int_equal(wolf->gold_max, 0);
    assert_false(wolf->aggressive);
    for (int s = 0; s < WR_MUD_NSTATS; s++)
        assert_int_equal(wolf->stats[s], 10);
    wr_mud_model_free(m);
}

static void test_shops_quests(void **state)
{
    (void)state;
    struct wr_mud_model *m = load_game();
    assert_int_equal(m->n_shops, 1);
    const struct wr_mud_shop *sh = &m->shops[0];
    assert_string_equal(sh->key, "store");
    assert_string_equal(sh->name, "The Store");
    assert_int_equal(sh->room, wr_mud_model_room(m, "town.shop"));
    assert_int_equal(wr_mud_model_shop_in(m, sh->room), 0);
    assert_int_equal(sh->keeper, wr_mud_model_npc(m, "smith"));
    assert_int_equal(sh->buy_percent, 40);
    assert_int_equal(sh->n_stock, 2);
    assert_int_equal(sh->stock[0].item, wr_mud_model_item(m, "sword"));
    assert_int_equal(sh->stock[0].count, 3);
    assert_int_equal(sh->stock[0].price, 0);
    assert_int_equal(sh->stock[1].item, wr_mud_model_item(m, "potion"));
    assert_int_equal(sh->stock[1].count, -1);
    assert_int_equal(sh->stock[1].price, 20);

    assert_int_equal(m->n_quests, 1);
    const struct wr_mud_quest *q = &m->quests[0];
    assert_string_equal(q->key, "rats");
    assert_string_equal(q->name, "Rats");
    assert_string_equal(q->desc, "Kill the rats.");
    assert_int_equal(q->giver, wr_mud_model_npc(m, "smith"));
    assert_int_equal(q->level, 2);
    assert_int_equal(q->n_steps, 4);
    assert_int_equal(q->steps[0].kind, WR_STEP_KILL);
    assert_int_equal(q->steps[0].what, wr_mud_model_npc(m, "rat"));
    assert_int_equal(q->steps[0].count, 3);
    assert_string_equal(q->steps[0].desc, "Kill 3 rats");
    assert_int_equal(q->steps[1].kind, WR_STEP_COLLECT);
    assert_int_equal(q->steps[1].what, wr_mud_model_item(m, "tail"));
    assert_int_equal(q->steps[1].count, 1);
    assert_null(q->steps[1].desc);
    assert_int_equal(q->steps[2].kind, WR_STEP_VISIT);
    assert_int_equal(q->steps[2].what, wr_mud_model_room(m, "wild.field"));
    assert_int_equal(q->steps[3].kind, WR_STEP_TALK);
    assert_int_equal(q->steps[3].what, wr_mud_model_npc(m, "smith"));
    assert_int_equal(q->reward_xp, 100);
    assert_int_equal(q->reward_gold, 10);
    assert_int_equal(q->n_reward_items, 1);
    assert_int_equal(q->reward_items[0], wr_mud_model_item(m, "cap"));
    assert_string_equal(q->done_text, "Thanks, {name}.");
    assert_false(q->consume);
    wr_mud_model_free(m);
}

/* ---- defaults ---------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    /* no gameplay at all: the made-up race and class, the default rules */
    static const char world[] = "name: Plain\nstart: town.square\n";
    static const char town[] =
        "zone: {id: town, name: Town, desc: A town., graveyard: square}\n"
        "rooms: [{id: square, name: Square, desc: A square., x: 0, y: 0}]\n"
        "items: [{id: rock, name: a rock, keywords: rock, desc: A rock., ground: A rock.}]\n"
        "npcs: [{id: cat, name: a cat, keywords: cat, desc: A cat., ground: A cat.}]\n";
    struct file f[2] = {{"world.yaml", world}, {"zones/town.yaml", town}};
    struct wr_mud_model *m = NULL;
    char err[512];
    assert_int_equal(parse_files(f, 2, &m, err, sizeof err), 0);
    assert_int_equal(m->rules.round_ms, 2000);
    assert_int_equal(m->rules.regen_ms, 5000);
    assert_int_equal(m->rules.corpse_ms, 300000);
    assert_int_equal(m->rules.max_level, 50);
    assert_int_equal(m->rules.xp_base, 100);
    assert_int_equal(m->rules.death_xp_percent, 10);
    assert_int_equal(m->rules.start_gold, 20);
    assert_int_equal(m->rules.hone_cost, 10);
    assert_int_equal(m->n_races, 1);
    assert_string_equal(m->races[0].key, "human");
    assert_string_equal(m->races[0].name, "Human");
    assert_int_equal(m->n_classes, 1);
    assert_string_equal(m->classes[0].key, "adventurer");
    assert_string_equal(m->classes[0].name, "Adventurer");
    assert_int_equal(m->classes[0].attack_dtype, WR_DT_BLUDGEON);
    for (int s = 0; s < WR_MUD_NSTATS; s++) {
        assert_int_equal(m->races[0].stats[s], 10);
        assert_int_equal(m->classes[0].stats[s], 0);
    }
    assert_int_equal(m->n_skills + m->n_socials + m->n_shops + m->n_quests, 0);
    const struct wr_mud_item *rock = &m->items[0];
    assert_int_equal(rock->slot, WR_SLOT_NONE);
    assert_int_equal(rock->dmg_min + rock->dmg_max + rock->price + rock->level, 0);
    assert_int_equal(rock->n_uses, 0);
    const struct wr_mud_npc *cat = &m->npcs[0];
    assert_int_equal(cat->level, 0);
    assert_int_equal(cat->max[WR_POOL_HP], 0);
    assert_int_equal(cat->stats[WR_STAT_STR], 10);
    assert_int_equal(cat->n_drops + cat->n_teaches + cat->n_topics + cat->n_combat, 0);
    wr_mud_model_free(m);

    /* the classes made up are those of the world: a skill without
     * `classes` gets the adventurer, and may name it */
    static const char world2[] = "name: Plain\nstart: town.square\n"
                                 "skills:\n"
                                 "  - {id: kick, name: kick, effects: [{kind: damage, type: "
                                 "bludgeoning, amount: 1}]}\n"
                                 "  - {id: jab, name: jab, classes: [adventurer], effects: "
                                 "[{kind: damage, type: piercing, amount: 1}]}\n"
                                 "  - {id: bite, name: bite, classes: [], effects: "
                                 "[{kind: damage, type: piercing, amount: 1}]}\n";
    f[0].text = world2;
    assert_int_equal(parse_files(f, 2, &m, err, sizeof err), 0);
    assert_int_equal(m->skills[0].n_classes, 1);
    assert_int_equal(m->skills[0].classes[0], 0);
    assert_int_equal(m->skills[0].cost, 0);
    assert_int_equal(m->skills[0].cost_pool, WR_POOL_SP);
    assert_int_equal(m->skills[0].level, 1);
    assert_int_equal(m->skills[0].cooldown_ms, 0);
    assert_int_equal(m->skills[0].target, WR_TGT_ENEMY);
    assert_false(m->skills[0].trained);
    assert_int_equal(m->skills[0].effects[0].roll, 0);
    assert_int_equal(m->skills[0].effects[0].scale_stat, 255);
    assert_false(m->skills[0].effects[0].self);
    assert_int_equal(m->skills[1].n_classes, 1);
    assert_int_equal(m->skills[1].classes[0], 0);
    assert_int_equal(m->skills[2].n_classes, 0); /* an NPC-only skill */
    wr_mud_model_free(m);

    /* a shop and a quest with only what they need */
    static const char town2[] =
        "zone: {id: town, name: Town, desc: A town., graveyard: square}\n"
        "rooms: [{id: square, name: Square, desc: A square., x: 0, y: 0}]\n"
        "npcs: [{id: cat, name: a cat, keywords: cat, desc: A cat., ground: A cat.}]\n"
        "shops: [{id: stall, name: A Stall, room: square}]\n"
        "quests: [{id: pet, name: Pet, desc: Pet the cat., giver: cat, steps: [{talk: cat}]}]\n";
    f[0].text = world;
    f[1].text = town2;
    assert_int_equal(parse_files(f, 2, &m, err, sizeof err), 0);
    assert_int_equal(m->shops[0].keeper, UINT32_MAX);
    assert_int_equal(m->shops[0].buy_percent, 50);
    assert_int_equal(m->shops[0].n_stock, 0);
    assert_int_equal(m->quests[0].level, 1);
    assert_true(m->quests[0].consume);
    assert_null(m->quests[0].done_text);
    assert_int_equal(m->quests[0].reward_xp + m->quests[0].reward_gold, 0);
    assert_int_equal(m->quests[0].n_reward_items, 0);
    assert_int_equal(m->quests[0].steps[0].count, 1);
    wr_mud_model_free(m);
}

/* ---- errors, each next to its positive control -------------------------------------- */

struct error_case {
    int file;
    const char *old, *bad; /* the mistake: @old replaced by @bad */
    const char *fix;       /* the control: @old replaced by @fix (NULL: @old) */
    const char *want;
};

/* Returns true if the mistake gives exactly the wanted error and the fixed
 * file loads; prints what went wrong otherwise. */
static bool check_case(const struct error_case *k)
{
    const char *base = base_of(k->file);
    char err[512];
    struct wr_mud_model *m = NULL;
    bool ok = true;
    char *bad = replace(base, k->old, k->bad);
    if (parse_variant(k->file, bad, &m, err, sizeof err) == 0) {
        wr_mud_model_free(m);
        print_error("accepted a world with a mistake; wanted: %s\n", k->want);
        ok = false;
    } else if (m != NULL || strcmp(err, k->want) != 0) {
        print_error("wrong error\n  got:  %s\n  want: %s\n", err, k->want);
        ok = false;
    }
    free(bad);

    char *good = replace(base, k->old, k->fix ? k->fix : k->old);
    if (parse_variant(k->file, good, &m, err, sizeof err) != 0) {
        print_error("control (fixed file) refused: %s\n  (case: %s)\n", err, k->want);
        ok = false;
    } else {
        wr_mud_model_free(m);
    }
    free(good);
    return ok;
}

static const struct error_case cases[] = {
    /* top-level keys */
    {F_TOWN, "shops:\n", "stores:\n", NULL,
     "zones/town.yaml:63:1: unknown key stores in zone file (expected zone, rooms, items, npcs, "
     "item_spawners, npc_spawners, shops, quests)"},
    {F_WORLD,
     "races:\n  - {id: human, name: Human}\n  - id: elf\n    name: Elf\n"
     "    desc: Tall and quick.\n    stats: {agility: 12, vitality: 8}\n",
     "races: {id: human, name: Human}\n", "races: [{id: human, name: Human}]\n",
     "world.yaml:12:8: races must be a list"},
    /* rules */
    {F_WORLD, "  hone_cost: 7\n", "  hone_cost: 7\n  speed: 2\n", NULL,
     "world.yaml:12:3: unknown key speed in rules (expected round, regen, corpse, max_level, "
     "xp_base, death_xp, start_gold, hone_cost)"},
    {F_WORLD, "round: 3s", "round: 100ms", "round: 500ms",
     "world.yaml:4:10: round must be between 500 and 60000 ms (got 100ms)"},
    {F_WORLD, "regen: 4s", "regen: 11m", "regen: 10m",
     "world.yaml:5:10: regen must be between 1000 and 600000 ms (got 11m)"},
    {F_WORLD, "corpse: 2m", "corpse: 9s", "corpse: 10s",
     "world.yaml:6:11: corpse must be between 10000 and 86400000 ms (got 9s)"},
    {F_WORLD, "max_level: 20", "max_level: 1001", "max_level: 1000",
     "world.yaml:7:14: max_level must be between 1 and 1000 (got 1001)"},
    {F_WORLD, "xp_base: 200", "xp_base: 0", "xp_base: 1",
     "world.yaml:8:12: xp_base must be between 1 and 1000000 (got 0)"},
    {F_WORLD, "death_xp: 5", "death_xp: 101", "death_xp: 100",
     "world.yaml:9:13: death_xp must be between 0 and 100 (got 101)"},
    {F_WORLD, "start_gold: 50", "start_gold: -1", "start_gold: 0",
     "world.yaml:10:15: start_gold must be between 0 and 1000000 (got -1)"},
    {F_WORLD,
     "rules:\n  round: 3s\n  regen: 4s\n  corpse: 2m\n  max_level: 20\n  xp_base: 200\n"
     "  death_xp: 5\n  start_gold: 50\n  hone_cost: 7\n",
     "rules: fast\n", "rules: {}\n", "world.yaml:3:8: rules must be a mapping"},
    /* races and classes */
    {F_WORLD, "  - id: elf\n", "  - id: human\n", NULL,
     "world.yaml:14:9: duplicate race id human (first defined at world.yaml:13:10)"},
    {F_WORLD, "    name: Elf\n", "", NULL, "world.yaml:14:5: race elf is missing name"},
    {F_WORLD, "agility: 12", "agility: 1001", "agility: 1000",
     "world.yaml:17:22: agility must be between -100 and 1000 (got 1001)"},
    {F_WORLD, "agility: 12", "agilty: 12", NULL,
     "world.yaml:17:13: unknown key agilty in stats (expected strength, agility, intelligence, "
     "awareness, vitality, willpower)"},
    {F_WORLD, "    desc: Tall and quick.\n", "    desc: Tall and quick.\n    attack: fire\n", NULL,
     "world.yaml:17:5: unknown key attack in race (expected id, name, desc, stats)"},
    {F_WORLD, "attack: arcane", "attack: magic", "attack: holy",
     "world.yaml:20:76: attack must be one of slashing, piercing, bludgeoning, fire, cold, "
     "lightning, poison, arcane or holy (got magic)"},
    {F_WORLD, "{strength: 2}", "{strength: 1001}", "{strength: 1000}",
     "world.yaml:19:52: strength must be between -1000 and 1000 (got 1001)"},
    {F_WORLD, "  - {id: mage,", "  - {id: warrior,", NULL,
     "world.yaml:20:10: duplicate class id warrior (first defined at world.yaml:19:10)"},
    /* skills */
    {F_WORLD, "classes: [mage]", "classes: [wizard]", "classes: [warrior, mage]",
     "world.yaml:24:15: unknown class wizard"},
    {F_WORLD, "name: magic missile", "name: Magic Missile", "name: magic darts",
     "world.yaml:23:11: skill name Magic Missile must be lowercase words (letters a to z, one "
     "space between words): it is the command players type"},
    {F_WORLD, "name: magic missile", "name: magic  missile", NULL,
     "world.yaml:23:11: skill name magic  missile must be lowercase words (letters a to z, one "
     "space between words): it is the command players type"},
    {F_WORLD, "    name: mend\n", "    name: bash\n", "    name: heal\n",
     "world.yaml:45:11: skill name bash is already used by skill bash"},
    {F_WORLD, "    name: mend\n", "    name: a very long name for such a simple little skill\n",
     NULL, "world.yaml:45:11: name is too long (47 bytes, at most 40)"},
    {F_WORLD, "  - id: mend\n", "  - id: bash\n", NULL,
     "world.yaml:44:9: duplicate skill id bash (first defined at world.yaml:34:9)"},
    {F_WORLD, "    level: 2\n", "    level: 21\n", "    level: 20\n",
     "world.yaml:25:12: level must be between 1 and 20 (got 21)"},
    {F_WORLD, "    level: 2\n", "    level: 0\n", "    level: 1\n",
     "world.yaml:25:12: level must be between 1 and 20 (got 0)"},
    {F_WORLD, "pool: endurance", "pool: health", "pool: skill",
     "world.yaml:36:11: pool must be one of skill or endurance (got health)"},
    {F_WORLD, "target: self", "target: ally", "target: enemy",
     "world.yaml:46:13: target must be one of enemy or self (got ally)"},
    {F_WORLD, "    cost: 5\n", "    cost: 100001\n", "    cost: 100000\n",
     "world.yaml:26:11: cost must be between 0 and 100000 (got 100001)"},
    {F_WORLD, "cooldown: 3s", "cooldown: 2h", "cooldown: 1h",
     "world.yaml:27:15: cooldown must be between 0 and 3600000 ms (got 2h)"},
    {F_WORLD, "    trained: true\n", "", NULL, "world.yaml:38:17: train_cost needs trained: true"},
    {F_WORLD, "    effects: [{kind: recover", "    affects: [{kind: recover", NULL,
     "world.yaml:47:5: unknown key affects in skill (expected id, name, desc, level, classes, "
     "cost, pool, cooldown, target, trained, train_cost, effects, msg)"},
    {F_WORLD, "    target: self\n    effects:", "    target: self\n    x:", NULL,
     "world.yaml:47:5: unknown key x in skill (expected id, name, desc, level, classes, cost, "
     "pool, cooldown, target, trained, train_cost, effects, msg)"},
    {F_WORLD, "    effects: [{kind: recover, pool: health, amount: 10, roll: 5, self: true}]\n", "",
     NULL, "world.yaml:44:5: skill mend is missing effects"},
    {F_WORLD, "    effects: [{kind: recover, pool: health, amount: 10, roll: 5, self: true}]\n",
     "    effects: []\n", NULL, "world.yaml:47:14: effects must not be empty"},
    /* effects */
    {F_WORLD, "kind: dot", "kind: poison", "kind: armour",
     "world.yaml:41:16: kind must be one of damage, dot, recover, stat or armour (got poison)"},
    {F_WORLD, "roll: 6, scale", "roll: 6, duration: 2s, scale", NULL,
     "world.yaml:29:68: duration does not apply to a damage effect"},
    {F_WORLD, "amount: 2, duration: 6s}", "amount: 2}", NULL,
     "world.yaml:41:9: dot effect is missing duration"},
    {F_WORLD, "{kind: stat, stat: agility, amount: -2,", "{kind: stat, amount: -2,", NULL,
     "world.yaml:42:9: stat effect is missing stat"},
    {F_WORLD, "pool: health, amount: 10,", "pool: health,", NULL,
     "world.yaml:47:15: recover effect is missing amount"},
    {F_WORLD, "amount: 4, roll: 6", "amount: 100001, roll: 6", "amount: -100000, roll: 6",
     "world.yaml:29:46: amount must be between -100000 and 100000 (got 100001)"},
    {F_WORLD, "scale: intelligence", "scale: wits", NULL,
     "world.yaml:29:65: scale must be one of strength, agility, intelligence, awareness, "
     "vitality or willpower (got wits)"},
    {F_WORLD, "duration: 6s", "duration: 25h", "duration: 24h",
     "world.yaml:41:61: duration must be between 1000 and 86400000 ms (got 25h)"},
    {F_WORLD, "pool: health, amount: 10", "pool: mana, amount: 10", "pool: skill, amount: 10",
     "world.yaml:47:37: pool must be one of health, skill or endurance (got mana)"},
    {F_WORLD, "self: true}\n  - id: mend", "self: maybe}\n  - id: mend", NULL,
     "world.yaml:43:73: self must be true or false"},
    /* messages */
    {F_WORLD, "      room: \"{actor} hurls", "      others: \"{actor} hurls", NULL,
     "world.yaml:33:7: unknown key others in msg (expected actor, target, room)"},
    {F_WORLD,
     "    msg:\n      actor: You hurl a dart at {target}.\n"
     "      target: \"{actor} hurls a dart at you.\"\n"
     "      room: \"{actor} hurls a dart at {target}.\"\n",
     "    msg: hello\n", "    msg: {}\n", "world.yaml:30:10: msg must be a mapping"},
    /* socials */
    {F_WORLD, "    other: {actor", "    others: {actor", NULL,
     "world.yaml:51:5: unknown key others in social (expected id, alone, other)"},
    {F_WORLD, "    alone: {actor: You smile., room: \"{actor} smiles.\"}\n", "", NULL,
     "world.yaml:49:5: social smile is missing alone"},
    {F_WORLD, "  - id: smile\n", "  - id: Smile\n", NULL,
     "world.yaml:49:9: social id Smile is not a valid id (lowercase letters, digits, _ and -, "
     "starting with a letter, at most 32 bytes)"},

    /* items */
    {F_TOWN, "slot: head", "slot: hat", "slot: finger",
     "zones/town.yaml:21:11: slot must be one of head, neck, body, arms, hands, finger, legs, "
     "feet, wield or offhand (got hat)"},
    {F_TOWN, "slot: wield", "slot: offhand", NULL,
     "zones/town.yaml:12:13: damage needs slot: wield (a weapon is wielded)"},
    {F_TOWN, "min: 2, max: 7", "min: 8, max: 7", "min: 7, max: 7",
     "zones/town.yaml:12:13: damage: min must not be greater than max (got 8 and 7)"},
    {F_TOWN, "{type: slashing, min: 2, max: 7}", "{min: 2, max: 7}", NULL,
     "zones/town.yaml:12:13: damage is missing type"},
    {F_TOWN, "min: 2, max: 7", "min: 0, max: 0", "min: 0, max: 1",
     "zones/town.yaml:12:43: max must be between 1 and 100000 (got 0)"},
    {F_TOWN, "    price: 15\n", "    price: 15\n    stats: {strength: 1}\n", NULL,
     "zones/town.yaml:29:12: stats needs a slot (bonuses count while the item is worn)"},
    {F_TOWN, "    price: 15\n", "    price: 15\n    armour: {fire: 1}\n", NULL,
     "zones/town.yaml:29:13: armour needs a slot (it counts while the item is worn)"},
    {F_TOWN, "armour: {slashing: 1,", "armour: {slashing: 1001,", "armour: {slashing: -1000,",
     "zones/town.yaml:22:24: slashing must be between -1000 and 1000 (got 1001)"},
    {F_TOWN, "armour: {slashing: 1,", "armour: {slash: 1,", NULL,
     "zones/town.yaml:22:14: unknown key slash in armour (expected slashing, piercing, "
     "bludgeoning, fire, cold, lightning, poison, arcane, holy)"},
    {F_TOWN, "    price: 40\n", "    price: 100000001\n", "    price: 100000000\n",
     "zones/town.yaml:14:12: price must be between 0 and 100000000 (got 100000001)"},
    {F_TOWN, "    level: 2\n  - id: cap", "    level: 21\n  - id: cap",
     "    level: 20\n  - id: cap",
     "zones/town.yaml:15:12: level must be between 0 and 20 (got 21)"},
    {F_TOWN, "      - verb: smell\n", "      - verb: drink\n", NULL,
     "zones/town.yaml:33:15: item potion has two uses with the verb drink"},
    {F_TOWN, "      - verb: smell\n", "      - verb: Smell it\n", NULL,
     "zones/town.yaml:33:15: verb Smell it is not a valid id (lowercase letters, digits, _ and -, "
     "starting with a letter, at most 32 bytes)"},
    {F_TOWN, "      - verb: smell\n", "      - word: smell\n", NULL,
     "zones/town.yaml:33:9: unknown key word in use (expected verb, effects, msg, consumed)"},
    {F_TOWN, "        consumed: false\n", "        consumed: sometimes\n", NULL,
     "zones/town.yaml:35:19: consumed must be true or false"},
    {F_TOWN,
     "    uses:\n      - verb: drink\n"
     "        effects: [{kind: recover, pool: health, amount: 15}]\n"
     "        msg: {actor: You drink it.}\n      - verb: smell\n"
     "        effects: [{kind: stat, stat: awareness, amount: 1, duration: 1m}]\n"
     "        consumed: false\n",
     "    uses: []\n", NULL, "zones/town.yaml:29:11: uses must not be empty"},

    /* NPCs */
    {F_TOWN, "    teaches: [bash]\n", "    teaches: [bash]\n    aggressive: true\n", NULL,
     "zones/town.yaml:44:17: aggressive needs a level (an npc without one is peaceful)"},
    {F_TOWN, "    teaches: [bash]\n", "    teaches: [bash]\n    gold: 5\n", NULL,
     "zones/town.yaml:44:11: gold needs a level (an npc without one is peaceful)"},
    {F_TOWN, "    level: 3\n", "    level: 0\n", "    level: 20\n",
     "zones/town.yaml:52:12: level must be between 1 and 20 (got 0)"},
    {F_TOWN, "    health: 25\n", "    health: 0\n", "    health: 10000000\n",
     "zones/town.yaml:54:13: health must be between 1 and 10000000 (got 0)"},
    {F_TOWN, "{strength: 8}", "{strength: -101}", "{strength: -100}",
     "zones/town.yaml:53:23: strength must be between -100 and 1000 (got -101)"},
    {F_TOWN, "gold: {min: 1, max: 5}", "gold: {min: 6, max: 5}", "gold: 5",
     "zones/town.yaml:57:11: gold: min must not be greater than max (got 6 and 5)"},
    {F_TOWN, "gold: {min: 1, max: 5}", "gold: lots", "gold: 0",
     "zones/town.yaml:57:11: gold must be a whole number"},
    {F_TOWN, "gold: {min: 1, max: 5}", "gold: {max: 5}", NULL,
     "zones/town.yaml:57:11: gold is missing min"},
    {F_TOWN, "attack: {type: piercing, min: 1, max: 4}", "attack: {min: 7}", "attack: {min: 6}",
     "zones/town.yaml:56:13: attack: min must not be greater than max (got 7 and 6)"},
    {F_TOWN, "{item: tail, chance: 50}", "{item: tale, chance: 50}", NULL,
     "zones/town.yaml:59:20: unknown item tale"},
    {F_TOWN, "{item: tail, chance: 50}", "{item: tail, chance: 101}", "{item: tail, chance: 1}",
     "zones/town.yaml:59:34: chance must be between 1 and 100 (got 101)"},
    {F_TOWN, "    teaches: [bash]\n", "    teaches: [bsah]\n", "    teaches: [bash, mend]\n",
     "zones/town.yaml:43:15: unknown skill bsah"},
    {F_TOWN, "{topic: rats,", "{topic: hello,", NULL,
     "zones/town.yaml:46:17: npc smith has the topic hello twice"},
    {F_TOWN, "quest: rats}", "quest: mice}", NULL, "zones/town.yaml:46:55: unknown quest mice"},
    {F_TOWN, "{topic: hello, text: \"Hello, {name}.\"}", "{topic: hello}", NULL,
     "zones/town.yaml:45:9: topic is missing text"},
    {F_TOWN, "{skill: bash}", "{skill: bash, attack: true}", NULL,
     "zones/town.yaml:61:43: combat action needs exactly one of say, emote, attack or skill"},
    {F_TOWN, "{attack: true, weight: 3}", "{attack: false, weight: 3}", NULL,
     "zones/town.yaml:61:25: attack must be true (leave the action out instead)"},
    {F_TOWN, "{skill: bash}", "{skill: kick}", "{skill: missile}",
     "zones/town.yaml:61:51: unknown skill kick"},
    {F_TOWN, "{attack: true, weight: 3}", "{attack: true, weight: 1001}", NULL,
     "zones/town.yaml:61:39: weight must be between 1 and 1000 (got 1001)"},
    {F_TOWN, "      targeted: [{say: Squeak!}]\n", "      targeted: []\n", NULL,
     "zones/town.yaml:62:17: targeted must not be empty"},
    {F_TOWN, "    teaches: [bash]\n",
     "    teaches: [bash]\n    behaviour: {targeted: [{attack: true}]}\n",
     "    teaches: [bash]\n    behaviour: {targeted: [{say: Hey!}]}\n",
     "zones/town.yaml:44:37: attack needs the npc to have a level (an npc without one is "
     "peaceful)"},
    {F_TOWN, "      combat: [", "      fight: [", NULL,
     "zones/town.yaml:61:7: unknown key fight in behaviour (expected timer, greet, hear, combat, "
     "targeted)"},

    /* shops */
    {F_TOWN, "    room: shop\n", "    room: shed\n", "    room: square\n",
     "zones/town.yaml:66:11: unknown room town.shed"},
    {F_TOWN, "    keeper: smith\n", "    keeper: smyth\n", "    keeper: wolf\n",
     "zones/town.yaml:67:13: unknown npc smyth"},
    {F_TOWN, "buy_percent: 40", "buy_percent: 101", "buy_percent: 0",
     "zones/town.yaml:68:18: buy_percent must be between 0 and 100 (got 101)"},
    {F_TOWN, "{item: sword, count: 3}", "{item: sword, count: -2}", "{item: sword, count: -1}",
     "zones/town.yaml:70:30: count must be between -1 and 1000000 (got -2)"},
    {F_TOWN, "{item: potion, price: 20}", "{price: 20}", NULL,
     "zones/town.yaml:71:9: stock is missing item"},
    {F_TOWN, "    name: The Store\n", "", NULL, "zones/town.yaml:64:5: shop store is missing name"},
    {F_TOWN, "quests:\n", "  - {id: stall, name: A Stall, room: shop}\nquests:\n",
     "  - {id: stall, name: A Stall, room: square}\nquests:\n",
     "zones/town.yaml:72:38: room town.shop already has a shop (store, at zones/town.yaml:64:9)"},
    {F_TOWN, "quests:\n", "  - {id: store, name: A Stall, room: square}\nquests:\n", NULL,
     "zones/town.yaml:72:10: duplicate shop id store (first defined at zones/town.yaml:64:9)"},

    /* quests */
    {F_TOWN, "    giver: smith\n", "", NULL, "zones/town.yaml:73:5: quest rats is missing giver"},
    {F_TOWN, "    giver: smith\n", "    giver: smyth\n", "    giver: wolf\n",
     "zones/town.yaml:76:12: unknown npc smyth"},
    {F_TOWN, "    desc: Kill the rats.\n", "", NULL,
     "zones/town.yaml:73:5: quest rats is missing desc"},
    {F_TOWN, "    level: 2\n    steps", "    level: 0\n    steps", NULL,
     "zones/town.yaml:77:12: level must be between 1 and 20 (got 0)"},
    {F_TOWN, "      - {collect: tail}\n", "      - {collect: tail, kill: rat}\n", NULL,
     "zones/town.yaml:80:9: step needs exactly one of kill, collect, visit or talk"},
    {F_TOWN, "      - {visit: wild.field}\n", "      - {visit: wild.field, count: 2}\n", NULL,
     "zones/town.yaml:81:36: count does not apply to a visit step"},
    {F_TOWN, "{kill: rat, count: 3,", "{kill: rat, count: 0,", "{kill: rat, count: 1000,",
     "zones/town.yaml:79:28: count must be between 1 and 1000 (got 0)"},
    {F_TOWN, "{visit: wild.field}", "{visit: wild.feld}", "{visit: square}",
     "zones/town.yaml:81:17: unknown room wild.feld"},
    {F_TOWN, "{collect: tail}", "{collect: rat}", "{collect: sword}",
     "zones/town.yaml:80:19: unknown item rat"},
    {F_TOWN, "{talk: smith}", "{talk: wolf, desc: \"\"}", "{talk: wolf, desc: Talk to the wolf}",
     "zones/town.yaml:82:28: desc must not be empty"},
    {F_TOWN, "items: [cap]}", "items: [hat]}", NULL, "zones/town.yaml:83:41: unknown item hat"},
    {F_TOWN, "{xp: 100,", "{exp: 100,", NULL,
     "zones/town.yaml:83:14: unknown key exp in reward (expected xp, gold, items)"},
    {F_TOWN,
     "    steps:\n      - {kill: rat, count: 3, desc: Kill 3 rats}\n      - {collect: tail}\n"
     "      - {visit: wild.field}\n      - {talk: smith}\n",
     "    steps: []\n", "    steps: [{talk: smith}]\n",
     "zones/town.yaml:78:12: steps must not be empty"},
    {F_TOWN, "    consume: false\n", "    consume: false\n  - {id: rats}\n", NULL,
     "zones/town.yaml:86:10: duplicate quest id rats (first defined at zones/town.yaml:73:9)"},
};

static void test_errors(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!check_case(&cases[i]))
            bad++;
    if (bad)
        fail_msg("%d of %zu error cases failed", bad, sizeof cases / sizeof cases[0]);
}

/* ---- limits ------------------------------------------------------------------------- */

typedef void gen_fn(char *buf, size_t size, int i);

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* @base, then a top-level @key with @n entries, one a line, from @gen. */
static char *block_list(const char *base, const char *key, gen_fn *gen, int n)
{
    struct wr_writer w;
    char line[256];
    wr_writer_init(&w, 4096);
    wr_put_bytes(&w, base, strlen(base));
    wr_put_bytes(&w, key, strlen(key));
    wr_put_bytes(&w, ":\n", 2);
    for (int i = 0; i < n; i++) {
        wr_put_bytes(&w, "  - ", 4);
        gen(line, sizeof line, i);
        wr_put_bytes(&w, line, strlen(line));
        wr_put_u8(&w, '\n');
    }
    wr_put_u8(&w, 0);
    char *s = wr_strdup((const char *)w.base);
    wr_writer_free(&w);
    return s;
}

/* @base with @old replaced by @prefix and a flow list of @n entries. */
static char *flow_list(const char *base, const char *old, const char *prefix, gen_fn *gen, int n)
{
    struct wr_writer w;
    char item[256];
    wr_writer_init(&w, 4096);
    wr_put_bytes(&w, prefix, strlen(prefix));
    wr_put_u8(&w, '[');
    for (int i = 0; i < n; i++) {
        if (i > 0)
            wr_put_bytes(&w, ", ", 2);
        gen(item, sizeof item, i);
        wr_put_bytes(&w, item, strlen(item));
    }
    wr_put_bytes(&w, "]\n", 3);
    char *s = replace(base, old, (const char *)w.base);
    wr_writer_free(&w);
    return s;
}

/* @ok (file @which) loads and @over fails with exactly @want. Frees both. */
static void expect_limit(int which, char *ok, char *over, const char *want)
{
    struct wr_mud_model *m = NULL;
    char err[512];
    if (parse_variant(which, ok, &m, err, sizeof err) != 0)
        fail_msg("at the limit, refused: %s (want the one past it to give: %s)", err, want);
    wr_mud_model_free(m);
    assert_int_equal(parse_variant(which, over, &m, err, sizeof err), -1);
    assert_string_equal(err, want);
    free(ok);
    free(over);
}

/* The game world's world.yaml without the block from @from up to @to
 * (NULL: the end), so a generated one can be appended. */
static char *world_without(const char *from, const char *to)
{
    const char *a = strstr(game_world, from), *b = to ? strstr(game_world, to) : NULL;
    assert_non_null(a);
    size_t pre = (size_t)(a - game_world), end = b ? (size_t)(b - game_world) : strlen(game_world);
    char *s = wr_malloc(strlen(game_world) + 1);
    memcpy(s, game_world, pre);
    strcpy(s + pre, game_world + end);
    return s;
}

/* Skills need distinct names made of letters; the town's NPCs use bash. */
static void gen_skill(char *b, size_t n, int i)
{
    if (i == 0)
        snprintf(b, n, "{id: bash, name: bash, effects: [{kind: damage, type: fire, amount: 1}]}");
    else
        snprintf(b, n,
                 "{id: s%d, name: sk %c%c, effects: [{kind: dot, type: cold, amount: 1, "
                 "duration: 2s}]}",
                 i, 'a' + i / 26, 'a' + i % 26);
}

static void gen_race(char *b, size_t n, int i)
{
    snprintf(b, n, "{id: r%d, name: Race %d}", i, i);
}

/* The skill missile names the mage. */
static void gen_class(char *b, size_t n, int i)
{
    if (i == 0)
        snprintf(b, n, "{id: mage, name: Mage}");
    else
        snprintf(b, n, "{id: c%d, name: Class}", i);
}

static void gen_social(char *b, size_t n, int i)
{
    snprintf(b, n, "{id: so%d, alone: {}, other: {actor: Hi.}}", i);
}

static void gen_quest(char *b, size_t n, int i)
{
    snprintf(b, n, "{id: q%d, name: Q, desc: D., giver: wolf, steps: [{talk: wolf}]}", i);
}

static void gen_effect(char *b, size_t n, int i)
{
    snprintf(b, n, "{kind: recover, pool: skill, amount: %d}", i);
}

static void gen_use(char *b, size_t n, int i)
{
    snprintf(b, n, "{verb: v%d, effects: [{kind: recover, pool: health, amount: 1}]}", i);
}

static void gen_drop(char *b, size_t n, int i)
{
    snprintf(b, n, "{item: %s, chance: %d}", i % 2 ? "cap" : "tail", 1 + i);
}

static void gen_topic(char *b, size_t n, int i)
{
    snprintf(b, n, "{topic: t%d, text: Hm.}", i);
}

static void gen_action(char *b, size_t n, int i)
{
    snprintf(b, n, "{%s}", i % 2 ? "attack: true" : "skill: bash");
}

static void gen_stock(char *b, size_t n, int i)
{
    snprintf(b, n, "{item: %s, count: %d}", i % 2 ? "cap" : "sword", i);
}

static void gen_step(char *b, size_t n, int i)
{
    snprintf(b, n, "{kill: rat, count: %d}", 1 + i);
}

static void gen_teach(char *b, size_t n, int i)
{
    snprintf(b, n, "%s", i % 2 ? "bash" : "mend");
}

/* At most N of each, counted across the world: N load, N + 1 fail, with
 * the error at the first one too many. */
static void test_limits(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *key;
        gen_fn *gen;
        int max;
    } world[] = {
        {"races:\n", "classes:\n", "races", gen_race, 32},
        {"classes:\n", "skills:\n", "classes", gen_class, 32},
        {"skills:\n", "socials:\n", "skills", gen_skill, 64},
        {"socials:\n", NULL, "socials", gen_social, 200},
    };
    char want[256];
    for (size_t i = 0; i < sizeof world / sizeof world[0]; i++) {
        char *base = world_without(world[i].from, world[i].to);
        /* entry k is on line lines(base) + 2 + k */
        snprintf(want, sizeof want, "world.yaml:%zu:5: too many %s (at most %d)",
                 count_lines(base) + 2 + (size_t)world[i].max, world[i].key, world[i].max);
        expect_limit(F_WORLD, block_list(base, world[i].key, world[i].gen, world[i].max),
                     block_list(base, world[i].key, world[i].gen, world[i].max + 1), want);
        free(base);
    }

    /* quests: 1000 in the world, and the town has one already */
    expect_limit(F_WILD, block_list(game_wild, "quests", gen_quest, 999),
                 block_list(game_wild, "quests", gen_quest, 1000),
                 "zones/wild.yaml:1006:5: too many quests (at most 1000)");

    /* lists inside an object: the error is at the list */
    static const struct {
        int file;
        const char *old, *prefix;
        gen_fn *gen;
        int max;
        const char *want;
    } lists[] = {
        {F_WORLD, "    effects: [{kind: recover, pool: health, amount: 10, roll: 5, self: true}]\n",
         "    effects: ", gen_effect, 8, "world.yaml:47:14: too many effects (at most 8)"},
        {F_TOWN,
         "    uses:\n      - verb: drink\n"
         "        effects: [{kind: recover, pool: health, amount: 15}]\n"
         "        msg: {actor: You drink it.}\n      - verb: smell\n"
         "        effects: [{kind: stat, stat: awareness, amount: 1, duration: 1m}]\n"
         "        consumed: false\n",
         "    uses: ", gen_use, 8, "zones/town.yaml:29:11: too many uses (at most 8)"},
        {F_TOWN, "    drops: [{item: tail, chance: 50}, {item: cap}]\n", "    drops: ", gen_drop,
         16, "zones/town.yaml:59:12: too many drops (at most 16)"},
        {F_TOWN,
         "    talk:\n      - {topic: hello, text: \"Hello, {name}.\"}\n"
         "      - {topic: rats, text: Kill rats for me., quest: rats}\n",
         "    talk: ", gen_topic, 32, "zones/town.yaml:44:11: too many talk (at most 32)"},
        {F_TOWN, "      combat: [{attack: true, weight: 3}, {skill: bash}, {emote: squeaks.}]\n",
         "      combat: ", gen_action, 32, "zones/town.yaml:61:15: too many combat (at most 32)"},
        {F_TOWN, "    stock:\n      - {item: sword, count: 3}\n      - {item: potion, price: 20}\n",
         "    stock: ", gen_stock, 100, "zones/town.yaml:69:12: too many stock (at most 100)"},
        {F_TOWN,
         "    steps:\n      - {kill: rat, count: 3, desc: Kill 3 rats}\n"
         "      - {collect: tail}\n      - {visit: wild.field}\n      - {talk: smith}\n",
         "    steps: ", gen_step, 16, "zones/town.yaml:78:12: too many steps (at most 16)"},
        {F_TOWN, "    teaches: [bash]\n", "    teaches: ", gen_teach, 64,
         "zones/town.yaml:43:14: too many teaches (at most 64)"},
    };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        const char *base = base_of(lists[i].file);
        expect_limit(lists[i].file,
                     flow_list(base, lists[i].old, lists[i].prefix, lists[i].gen, lists[i].max),
                     flow_list(base, lists[i].old, lists[i].prefix, lists[i].gen, lists[i].max + 1),
                     lists[i].want);
    }
}

/* ---- the documented example ----------------------------------------------------------- */

/* The YAML blocks of docs/world-format.md's "### A complete gameplay
 * example", each introduced by a line "`FILE`:". */
static size_t doc_example(char *doc, struct file *f, size_t max)
{
    char *at = strstr(doc, "\n### A complete gameplay example\n");
    size_t n = 0;
    assert_non_null(at);
    char *end = strstr(at + 1, "\n## ");
    if (end != NULL)
        *end = '\0';
    while (n < max && (at = strstr(at, "\n`")) != NULL) {
        char *name = at + 2, *tick = strchr(name, '`');
        assert_non_null(tick);
        if (strncmp(tick, "`:\n\n```yaml\n", 12) != 0) {
            at = tick;
            continue;
        }
        *tick = '\0';
        char *body = tick + 12, *close = strstr(body, "\n```\n");
        assert_non_null(close);
        close[1] = '\0';
        f[n].name = name;
        f[n].text = body;
        n++;
        at = close + 2;
    }
    return n;
}

static void test_doc_example(void **state)
{
    (void)state;
    FILE *fp = fopen("docs/world-format.md", "rb");
    assert_non_null(fp);
    static char doc[256 * 1024];
    size_t len = fread(doc, 1, sizeof doc - 1, fp);
    fclose(fp);
    doc[len] = '\0';
    struct file f[4];
    size_t n = doc_example(doc, f, 4);
    assert_int_equal(n, 2);
    assert_string_equal(f[0].name, "world.yaml");
    assert_string_equal(f[1].name, "zones/vale.yaml");

    struct wr_mud_model *m = NULL;
    char err[512];
    if (parse_files(f, n, &m, err, sizeof err) != 0)
        fail_msg("the documented example is refused: %s", err);
    assert_string_equal(m->name, "Rat Vale");
    assert_int_equal(m->rules.max_level, 20);
    assert_int_equal(m->rules.start_gold, 30);
    assert_int_equal(m->rules.round_ms, 2000);
    assert_int_equal(m->n_races, 2);
    assert_int_equal(m->n_classes, 2);
    assert_int_equal(m->n_skills, 3);
    assert_int_equal(m->n_socials, 1);
    long rat = wr_mud_model_npc(m, "rat");
    assert_true(rat >= 0);
    assert_int_equal(m->npcs[rat].max[WR_POOL_HP], 40);
    assert_int_equal(m->npcs[rat].drops[0].item, wr_mud_model_item(m, "tail"));
    assert_int_equal(m->n_shops, 1);
    assert_int_equal(m->shops[0].room, wr_mud_model_room(m, "vale.smithy"));
    assert_int_equal(m->shops[0].n_stock, 3);
    assert_int_equal(m->n_quests, 1);
    assert_int_equal(m->npcs[wr_mud_model_npc(m, "smith")].topics[1].quest, 0);
    assert_int_equal(m->skills[wr_mud_model_skill(m, "bash")].cost_pool, WR_POOL_EP);
    wr_mud_model_free(m);
}

/* ---- determinism and mutations ------------------------------------------------------------ */

static void put_str(struct wr_writer *w, const char *s)
{
    wr_put_u32(w, s ? (uint32_t)strlen(s) : UINT32_MAX);
    if (s)
        wr_put_bytes(w, s, strlen(s));
}

static void put_msg(struct wr_writer *w, const struct wr_mud_msg *msg)
{
    put_str(w, msg->actor);
    put_str(w, msg->target);
    put_str(w, msg->room);
}

static void put_effects(struct wr_writer *w, const struct wr_mud_effect *e, size_t n)
{
    wr_put_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        wr_put_u8(w, e[i].kind);
        wr_put_u8(w, e[i].dtype);
        wr_put_u8(w, e[i].stat);
        wr_put_u8(w, e[i].pool);
        wr_put_u32(w, (uint32_t)e[i].amount);
        wr_put_u32(w, e[i].roll);
        wr_put_u8(w, e[i].scale_stat);
        wr_put_u32(w, e[i].duration_ms);
        wr_put_u8(w, e[i].self);
    }
}

static void put_ints(struct wr_writer *w, const int32_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wr_put_u32(w, (uint32_t)v[i]);
}

static void put_actions(struct wr_writer *w, const struct wr_mud_action *a, size_t n)
{
    wr_put_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        wr_put_u8(w, (uint8_t)a[i].kind);
        put_str(w, a[i].text);
        wr_put_u32(w, a[i].weight);
        wr_put_u32(w, a[i].skill);
    }
}

/* Every gameplay field of @m, in order. */
static void game_bytes(const struct wr_mud_model *m, struct wr_writer *w)
{
    wr_writer_init(w, 4096);
    wr_put_bytes(w, &m->rules, sizeof m->rules); /* eight u32: no padding */
    for (size_t i = 0; i < m->n_races; i++) {
        put_str(w, m->races[i].key);
        put_str(w, m->races[i].name);
        put_str(w, m->races[i].desc);
        put_ints(w, m->races[i].stats, WR_MUD_NSTATS);
    }
    for (size_t i = 0; i < m->n_classes; i++) {
        put_str(w, m->classes[i].key);
        put_str(w, m->classes[i].name);
        put_str(w, m->classes[i].desc);
        put_ints(w, m->classes[i].stats, WR_MUD_NSTATS);
        wr_put_u8(w, m->classes[i].attack_dtype);
    }
    for (size_t i = 0; i < m->n_skills; i++) {
        const struct wr_mud_skill *s = &m->skills[i];
        put_str(w, s->key);
        put_str(w, s->name);
        put_str(w, s->desc);
        wr_put_u32(w, s->level);
        for (size_t k = 0; k < s->n_classes; k++)
            wr_put_u32(w, s->classes[k]);
        wr_put_u32(w, s->cost);
        wr_put_u8(w, s->cost_pool);
        wr_put_u32(w, s->cooldown_ms);
        wr_put_u8(w, s->target);
        wr_put_u8(w, s->trained);
        wr_put_u32(w, s->train_cost);
        put_effects(w, s->effects, s->n_effects);
        put_msg(w, &s->msg);
    }
    for (size_t i = 0; i < m->n_socials; i++) {
        put_str(w, m->socials[i].key);
        put_msg(w, &m->socials[i].alone);
        put_msg(w, &m->socials[i].other);
    }
    for (size_t i = 0; i < m->n_items; i++) {
        const struct wr_mud_item *it = &m->items[i];
        wr_put_u8(w, it->slot);
        put_ints(w, it->stats, WR_MUD_NSTATS);
        put_ints(w, it->armour, WR_MUD_NDTYPES);
        wr_put_u8(w, it->dtype);
        wr_put_u32(w, it->dmg_min);
        wr_put_u32(w, it->dmg_max);
        wr_put_u32(w, it->price);
        wr_put_u32(w, it->level);
        for (size_t u = 0; u < it->n_uses; u++) {
            put_str(w, it->uses[u].verb);
            put_effects(w, it->uses[u].effects, it->uses[u].n_effects);
            put_msg(w, &it->uses[u].msg);
            wr_put_u8(w, it->uses[u].consumed);
        }
    }
    for (size_t i = 0; i < m->n_npcs; i++) {
        const struct wr_mud_npc *n = &m->npcs[i];
        wr_put_u32(w, n->level);
        put_ints(w, n->stats, WR_MUD_NSTATS);
        for (int p = 0; p < WR_MUD_NPOOLS; p++)
            wr_put_u32(w, n->max[p]);
        put_ints(w, n->armour, WR_MUD_NDTYPES);
        wr_put_u8(w, n->dtype);
        wr_put_u32(w, n->dmg_min);
        wr_put_u32(w, n->dmg_max);
        wr_put_u32(w, n->gold_min);
        wr_put_u32(w, n->gold_max);
        wr_put_u8(w, n->aggressive);
        put_actions(w, n->combat, n->n_combat);
        put_actions(w, n->targeted, n->n_targeted);
        for (size_t d = 0; d < n->n_drops; d++) {
            wr_put_u32(w, n->drops[d].item);
            wr_put_u32(w, n->drops[d].chance);
        }
        for (size_t t = 0; t < n->n_teaches; t++)
            wr_put_u32(w, n->teaches[t]);
        for (size_t t = 0; t < n->n_topics; t++) {
            put_str(w, n->topics[t].key);
            put_str(w, n->topics[t].text);
            wr_put_u32(w, n->topics[t].quest);
        }
    }
    for (size_t i = 0; i < m->n_shops; i++) {
        const struct wr_mud_shop *s = &m->shops[i];
        put_str(w, s->key);
        put_str(w, s->name);
        wr_put_u32(w, s->room);
        wr_put_u32(w, s->keeper);
        wr_put_u32(w, s->buy_percent);
        for (size_t k = 0; k < s->n_stock; k++) {
            wr_put_u32(w, s->stock[k].item);
            wr_put_u32(w, (uint32_t)s->stock[k].count);
            wr_put_u32(w, s->stock[k].price);
        }
    }
    for (size_t i = 0; i < m->n_quests; i++) {
        const struct wr_mud_quest *q = &m->quests[i];
        put_str(w, q->key);
        put_str(w, q->name);
        put_str(w, q->desc);
        wr_put_u32(w, q->giver);
        wr_put_u32(w, q->level);
        for (size_t k = 0; k < q->n_steps; k++) {
            wr_put_u8(w, q->steps[k].kind);
            wr_put_u32(w, q->steps[k].what);
            wr_put_u32(w, q->steps[k].count);
            put_str(w, q->steps[k].desc);
        }
        wr_put_u32(w, q->reward_xp);
        wr_put_u32(w, q->reward_gold);
        for (size_t k = 0; k < q->n_reward_items; k++)
            wr_put_u32(w, q->reward_items[k]);
        put_str(w, q->done_text);
        wr_put_u8(w, q->consume);
    }
}

/* The game bundle parses to the same model twice; every prefix of it and
 * a few hundred single-byte mutations are refused or accepted cleanly (the
 * sanitizer build checks memory), and the same way twice. */
static void test_deterministic_and_mutations(void **state)
{
    (void)state;
    struct file f[3] = {
        {"world.yaml", game_world}, {"zones/town.yaml", game_town}, {"zones/wild.yaml", game_wild}};
    struct wr_writer b, s1, s2;
    struct wr_mud_model *m1, *m2;
    char err[512], err2[512];
    bundle_of(&b, f, 3);
    assert_int_equal(wr_mud_model_parse(b.base, b.len, &m1, err, sizeof err), 0);
    assert_int_equal(wr_mud_model_parse(b.base, b.len, &m2, err, sizeof err), 0);
    game_bytes(m1, &s1);
    game_bytes(m2, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.base, s2.base, s1.len);
    wr_writer_free(&s1);
    wr_writer_free(&s2);
    wr_mud_model_free(m1);
    wr_mud_model_free(m2);

    uint8_t *copy = wr_malloc(b.len);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t round = 0; round < 600; round++) {
        memcpy(copy, b.base, b.len);
        size_t len = b.len;
        if (round < 100) {
            len = b.len - 1 - round * (b.len / 100); /* prefixes */
        } else {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = 60 + (size_t)(x >> 33) % (b.len - 60); /* keep the framing */
            copy[at] = (uint8_t)(x >> 20);
        }
        int r1 = wr_mud_model_parse(copy, len, &m1, err, sizeof err);
        int r2 = wr_mud_model_parse(copy, len, &m2, err2, sizeof err2);
        assert_int_equal(r1, r2);
        if (r1 == 0) {
            game_bytes(m1, &s1);
            game_bytes(m2, &s2);
            assert_int_equal(s1.len, s2.len);
            assert_memory_equal(s1.base, s2.base, s1.len);
            wr_writer_free(&s1);
            wr_writer_free(&s2);
            wr_mud_model_free(m1);
            wr_mud_model_free(m2);
        } else {
            assert_string_equal(err, err2);
        }
    }
    free(copy);
    wr_writer_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_races_classes),
        cmocka_unit_test(test_skills_socials),
        cmocka_unit_test(test_items),
        cmocka_unit_test(test_npcs),
        cmocka_unit_test(test_shops_quests),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_doc_example),
        cmocka_unit_test(test_deterministic_and_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
