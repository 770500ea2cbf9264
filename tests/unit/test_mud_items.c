/* Unit tests for the MUD's items area (mud/mud_items.c and the item parts
 * of mud_act.c): equipment, item uses, gold, shops and corpses, applied
 * through the world as a node's entries would be, on a small YAML world
 * with gameplay keys that enters through WORLD_CHUNK. Every refusal is
 * checked next to the same input accepted (its positive control). */
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
#include "mud/worldfile.h"
#include "world/world.h"

#include "mud_harness.h"

/* ---- the test world --------------------------------------------------------- */

static const char world_yaml[] = "name: Itemland\n"
                                 "start: town.square\n"
                                 "rules: {corpse: 30s}\n";

/* Variant 1, and variant 2 (a reload): the helm is gone, the cap is worn
 * around the neck, the pit is gone, the sword is limited to 5. */
static const char town_rooms_v1[] =
    "zone: {id: town, name: Town, desc: A town., graveyard: temple}\n"
    "rooms:\n"
    "  - {id: square, name: Square, desc: A square., x: 0, y: 0,\n"
    "     exits: {e: armoury, w: store, s: temple, n: yard, d: pit}}\n"
    "  - {id: armoury, name: Armoury, desc: Steel., x: 1, y: 0, exits: {w: square}}\n"
    "  - {id: store, name: Store, desc: Shelves., x: -1, y: 0, exits: {e: square}}\n"
    "  - {id: temple, name: Temple, desc: Quiet., x: 0, y: 1, exits: {n: square}}\n"
    "  - {id: yard, name: Yard, desc: Mud., x: 0, y: -1, exits: {s: square}}\n"
    "  - {id: pit, name: Pit, desc: Dark., x: 0, y: 0, z: -1, exits: {u: square}}\n";
static const char town_rooms_v2[] =
    "zone: {id: town, name: Town, desc: A town., graveyard: temple}\n"
    "rooms:\n"
    "  - {id: square, name: Square, desc: A square., x: 0, y: 0,\n"
    "     exits: {e: armoury, w: store, s: temple, n: yard}}\n"
    "  - {id: armoury, name: Armoury, desc: Steel., x: 1, y: 0, exits: {w: square}}\n"
    "  - {id: store, name: Store, desc: Shelves., x: -1, y: 0, exits: {e: square}}\n"
    "  - {id: temple, name: Temple, desc: Quiet., x: 0, y: 1, exits: {n: square}}\n"
    "  - {id: yard, name: Yard, desc: Mud., x: 0, y: -1, exits: {s: square}}\n";
static const char town_items_v1[] =
    "items:\n"
    "  - {id: cap, name: a leather cap, keywords: cap leather, desc: A cap., ground: A cap.,\n"
    "     slot: head, armour: {slashing: 2}, price: 10}\n"
    "  - {id: helm, name: an iron helm, keywords: helm iron, desc: A helm., ground: A helm.,\n"
    "     slot: head, stats: {strength: 2}, armour: {slashing: 3, fire: -1}, price: 40}\n";
static const char town_items_v2[] =
    "items:\n"
    "  - {id: cap, name: a leather cap, keywords: cap leather, desc: A cap., ground: A cap.,\n"
    "     slot: neck, armour: {slashing: 2}, price: 10}\n";
static const char town_items_common[] =
    "  - {id: crown, name: a golden crown, keywords: crown, desc: A crown., ground: A crown.,\n"
    "     slot: head, level: 5, price: 500}\n"
    "  - {id: sword, name: a short sword, keywords: sword short, desc: A sword.,\n"
    "     ground: A sword., slot: wield, stats: {strength: 1},\n"
    "     damage: {type: slashing, min: 2, max: 5}, price: 30}\n"
    "  - id: potion\n"
    "    name: a red potion\n"
    "    keywords: potion red\n"
    "    desc: A potion.\n"
    "    ground: A potion.\n"
    "    price: 10\n"
    "    uses:\n"
    "      - verb: drink\n"
    "        effects: [{kind: recover, pool: health, amount: 10}]\n"
    "        msg: {actor: 'You drink {target}.', room: '{actor} drinks {target}.'}\n"
    "  - id: elixir\n"
    "    name: a blue elixir\n"
    "    keywords: elixir blue\n"
    "    desc: An elixir.\n"
    "    ground: An elixir.\n"
    "    uses: [{verb: drink, effects: [{kind: stat, stat: strength, amount: 3, duration: 60s}]}]\n"
    "  - id: scroll\n"
    "    name: a scroll\n"
    "    keywords: scroll\n"
    "    desc: A scroll.\n"
    "    ground: A scroll.\n"
    "    uses:\n"
    "      - {verb: read, consumed: false,\n"
    "         effects: [{kind: armour, type: fire, amount: 5, duration: 10s}]}\n"
    "  - id: bomb\n"
    "    name: a bomb\n"
    "    keywords: bomb\n"
    "    desc: A bomb.\n"
    "    ground: A bomb.\n"
    "    uses: [{verb: throw, effects: [{kind: damage, type: fire, amount: 20}]}]\n"
    "  - {id: bread, name: a loaf of bread, keywords: bread loaf, desc: Bread., ground: Bread.,\n"
    "     price: 2, uses: [{verb: eat, effects: [{kind: recover, pool: endurance, amount: 5}]}]}\n"
    "  - {id: rock, name: a rock, keywords: rock, desc: A rock., ground: A rock.}\n"
    "  - {id: ruby, name: a ruby, keywords: ruby gem, desc: A ruby., ground: A ruby., price: 100}\n"
    "  - {id: fountain, name: a fountain, keywords: fountain, desc: Water., ground: A fountain.,\n"
    "     fixed: true}\n";
static const char town_spawners_v1[] = "item_spawners:\n"
                                       "  - {item: cap, room: square, interval: 1h}\n"
                                       "  - {item: helm, room: square, interval: 1h}\n";
static const char town_spawners_v2[] = "item_spawners:\n"
                                       "  - {item: cap, room: square, interval: 1h}\n";
static const char town_spawners_common[] = "  - {item: crown, room: square, interval: 1h}\n"
                                           "  - {item: sword, room: square, interval: 1h}\n"
                                           "  - {item: potion, room: square, interval: 1h}\n"
                                           "  - {item: elixir, room: square, interval: 1h}\n"
                                           "  - {item: scroll, room: square, interval: 1h}\n"
                                           "  - {item: bomb, room: square, interval: 1h}\n"
                                           "  - {item: rock, room: square, interval: 1h}\n"
                                           "  - {item: fountain, room: square, interval: 1h}\n";
static const char town_npcs[] =
    "npcs:\n"
    "  - {id: smith, name: the smith, keywords: smith, desc: A smith., ground: A smith works.}\n"
    "  - {id: vendor, name: the vendor, keywords: vendor, desc: A vendor., ground: A vendor.}\n"
    "  - {id: rat, name: a giant rat, keywords: rat giant, desc: A rat., ground: A rat.,\n"
    "     level: 1, gold: {min: 3, max: 7}, drops: [{item: ruby, chance: 100}]}\n"
    "npc_spawners:\n"
    "  - {npc: smith, room: armoury, interval: 1h}\n"
    "  - {npc: rat, room: yard, interval: 1h}\n";
static const char town_shops_v1[] = "shops:\n"
                                    "  - id: armoury\n"
                                    "    name: The Armoury\n"
                                    "    room: armoury\n"
                                    "    keeper: smith\n"
                                    "    stock:\n"
                                    "      - {item: helm, count: 2}\n"
                                    "      - {item: sword}\n"
                                    "      - {item: potion, count: 3, price: 8}\n";
static const char town_shops_v2[] = "shops:\n"
                                    "  - id: armoury\n"
                                    "    name: The Armoury\n"
                                    "    room: armoury\n"
                                    "    keeper: smith\n"
                                    "    stock:\n"
                                    "      - {item: sword, count: 5}\n"
                                    "      - {item: potion, count: 3, price: 8}\n";
static const char town_shops_common[] =
    "  - {id: store, name: The Store, room: store, buy_percent: 100, stock: [{item: bread}]}\n"
    "  - {id: stall, name: The Stall, room: yard, keeper: vendor, stock: [{item: bread}]}\n";

static void test_bundle(struct wr_writer *w, int variant)
{
    static char town[8192];
    bool v1 = variant == 1;
    snprintf(town, sizeof town, "%s%s%s%s%s%s%s%s", v1 ? town_rooms_v1 : town_rooms_v2,
             v1 ? town_items_v1 : town_items_v2, town_items_common,
             v1 ? town_spawners_v1 : town_spawners_v2, town_spawners_common, town_npcs,
             v1 ? town_shops_v1 : town_shops_v2, town_shops_common);
    bundle_init(w, 2);
    put_file(w, "world.yaml", world_yaml);
    put_file(w, "zones/town.yaml", town);
}

/* ---- capture and commands -------------------------------------------------------- */

static enum wr_verdict buy(struct t *t, uint64_t s, const char *kw, uint32_t count)
{
    struct wr_writer p;
    wr_writer_init(&p, 64);
    wr_mud_encode_str(&p, kw);
    wr_mud_encode_u32(&p, count);
    enum wr_verdict v = cmd(t, WR_MUD_BUY, 1, s, &p);
    wr_writer_free(&p);
    return v;
}

static void go(struct t *t, uint64_t s, enum wr_mud_dir d)
{
    struct wr_writer p;
    wr_writer_init(&p, 4);
    wr_mud_encode_dir(&p, d);
    assert_int_equal(cmd(t, WR_MUD_MOVE, 1, s, &p), WR_APPLIED);
    wr_writer_free(&p);
}

static void create(struct t *t, uint64_t s, const char *name)
{
    struct wr_writer p;
    wr_writer_init(&p, 64);
    wr_mud_encode_create(&p, name, "$argon2id$fake", tok((uint8_t)s), 7);
    assert_int_equal(cmd(t, WR_MUD_CREATE, 1, s, &p), WR_APPLIED);
    wr_writer_free(&p);
}

/* ZONE_PLACE of the town on node 1 (@epoch: the previous one), or its
 * ZONE_TICK at @epoch. */
static void zone_cmd(struct t *t, uint8_t type, uint64_t epoch)
{
    if (type == WR_MUD_ZONE_PLACE)
        assert_int_equal(zone_place(t, "town", 1, epoch), WR_APPLIED);
    else
        assert_int_equal(zone_tick(t, "town", 1, epoch), WR_APPLIED);
}

/* The world loaded and placed, Alice (session 1) and Bob (session 2) in
 * the square with 100 gold each. */
static void t_ready(struct t *t)
{
    t_init(t);
    load_world(t, 1);
    zone_cmd(t, WR_MUD_ZONE_PLACE, 0);
    create(t, 1, "alice");
    create(t, 2, "bob");
    for (size_t i = 0; i < mud(t)->n_chars; i++)
        mud(t)->chars[i].gold = 100;
}

static struct wr_mud_char *ch(struct t *t, const char *name)
{
    return wr__mud_char_by_name(mud(t), name);
}

static uint32_t item_idx(struct t *t, const char *key)
{
    long i = wr_mud_model_item(model(t), key);
    assert_true(i >= 0);
    return (uint32_t)i;
}

/* The first instance of model item @key at (@loc, @where), or NULL. */
static const struct wr_mud_item_inst *inst(struct t *t, const char *key, uint8_t loc,
                                           uint32_t where)
{
    uint32_t item = item_idx(t, key);
    for (size_t i = 0; i < mud(t)->n_items; i++) {
        const struct wr_mud_item_inst *it = &mud(t)->items[i];
        if (it->item == item && it->loc == loc && it->where == where)
            return it;
    }
    return NULL;
}

static size_t count_at(struct t *t, uint8_t loc, uint32_t where)
{
    size_t n = 0;
    for (size_t i = 0; i < mud(t)->n_items; i++)
        n += mud(t)->items[i].loc == loc && mud(t)->items[i].where == where;
    return n;
}

/* The failure told by the last command, or NULL. */
static const struct ev *failed(struct t *t)
{
    for (size_t i = 0; i < t->n_ev; i++)
        if (t->ev[i].type == WR_MUD_EV_FAIL)
            return &t->ev[i];
    return NULL;
}

/* The last command failed with @code, and its text contains @text. */
static void assert_fail(struct t *t, const char *code, const char *text)
{
    const struct ev *e = failed(t);
    if (e == NULL)
        fail_msg("expected a refusal %s, got none", code);
    if (strcmp(e->code, code) != 0 || (text && strstr(e->text, text) == NULL))
        fail_msg("expected refusal %s (%s), got %s: %s", code, text ? text : "", e->code, e->text);
}

/* The last command succeeded: no refusal, and an ACT whose to_actor
 * contains @text (if given). */
static void assert_ok(struct t *t, const char *text)
{
    const struct ev *e = failed(t);
    if (e != NULL)
        fail_msg("unexpected refusal %s: %s", e->code, e->text);
    if (text == NULL)
        return;
    for (size_t i = 0; i < t->n_ev; i++)
        if (t->ev[i].type == WR_MUD_EV_ACT && strstr(t->ev[i].to_actor, text) != NULL)
            return;
    fail_msg("no message containing \"%s\"", text);
}

static uint32_t room(struct t *t, const char *key)
{
    long r = wr_mud_model_room(model(t), key);
    assert_true(r >= 0);
    return (uint32_t)r;
}

/* Snapshot -> restore into a fresh world -> snapshot: the same bytes. */
static void assert_roundtrip(struct t *t)
{
    struct wr_writer s1, s2;
    snap(t, &s1);
    struct t b;
    t_init(&b);
    assert_int_equal(wr_world_restore(b.w, s1.base, s1.len), 0);
    snap(&b, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.base, s2.base, s1.len);
    wr_writer_free(&s1);
    wr_writer_free(&s2);
    t_free(&b);
}

/* A snapshot of @t does not restore (the state is inconsistent). */
static void assert_refused(struct t *t)
{
    struct wr_writer s1;
    snap(t, &s1);
    struct t b;
    t_init(&b);
    assert_int_not_equal(wr_world_restore(b.w, s1.base, s1.len), 0);
    wr_writer_free(&s1);
    t_free(&b);
}

/* ---- equipment ------------------------------------------------------------------ */

static void test_wear_and_remove(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    struct wr_mud_char *a = ch(&t, "alice");
    assert_int_equal(strs(&t, WR_MUD_GET, 1, "all", NULL), WR_APPLIED);
    assert_ok(&t, "You pick up a leather cap.");
    assert_non_null(inst(&t, "cap", WR_MUD_CARRIED, a->id));
    assert_non_null(inst(&t, "fountain", WR_MUD_IN_ROOM, a->room)); /* fixed: left */
    assert_int_equal(strs(&t, WR_MUD_GET, 2, "all", NULL), WR_APPLIED);
    assert_fail(&t, "no_item", "nothing here");

    /* Wear the cap: worn, in the head slot, no longer carried. */
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "cap", NULL), WR_APPLIED);
    assert_ok(&t, "You wear a leather cap on your head.");
    const struct wr_mud_item_inst *cap = inst(&t, "cap", WR_MUD_WORN, a->id);
    assert_non_null(cap);
    assert_int_equal(a->eq[WR_SLOT_HEAD], cap->id);
    assert_int_equal(wr__mud_equip_armour(mud(&t), a, WR_DT_SLASH), 2);
    assert_int_equal(wr__mud_equip_stat(mud(&t), a, WR_STAT_STR), 0);

    /* A taken slot refuses; removing what is there frees it. */
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "helm", NULL), WR_APPLIED);
    assert_fail(&t, "slot_taken", "You already wear a leather cap on your head; remove it first");
    assert_non_null(inst(&t, "helm", WR_MUD_CARRIED, a->id));
    assert_int_equal(strs(&t, WR_MUD_REMOVE, 1, "cap", NULL), WR_APPLIED);
    assert_ok(&t, "You stop using a leather cap.");
    assert_int_equal(a->eq[WR_SLOT_HEAD], 0);
    assert_non_null(inst(&t, "cap", WR_MUD_CARRIED, a->id));
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "helm", NULL), WR_APPLIED);
    assert_ok(&t, "You wear an iron helm");
    assert_int_equal(wr__mud_equip_stat(mud(&t), a, WR_STAT_STR), 2);
    assert_int_equal(wr__mud_equip_armour(mud(&t), a, WR_DT_SLASH), 3);
    assert_int_equal(wr__mud_equip_armour(mud(&t), a, WR_DT_FIRE), -1);

    /* A weapon: wielded, the weapon of the character; bonuses add up. */
    assert_int_equal(wr__mud_weapon(mud(&t), a), NONE);
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "sword", NULL), WR_APPLIED);
    assert_ok(&t, "You wield a short sword.");
    assert_int_equal(wr__mud_weapon(mud(&t), a), item_idx(&t, "sword"));
    assert_int_equal(wr__mud_equip_stat(mud(&t), a, WR_STAT_STR), 3);

    /* The level gate, and what cannot be worn at all. */
    assert_int_equal(strs(&t, WR_MUD_REMOVE, 1, "helm", NULL), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "crown", NULL), WR_APPLIED);
    assert_fail(&t, "level", "level 5");
    a->level = 5;
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "crown", NULL), WR_APPLIED);
    assert_ok(&t, "You wear a golden crown");
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "rock", NULL), WR_APPLIED);
    assert_fail(&t, "not_wearable", "a rock");
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "crown", NULL), WR_APPLIED);
    assert_fail(&t, "worn", "already using a golden crown");
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "nothing", NULL), WR_APPLIED);
    assert_fail(&t, "no_item", NULL);

    /* Worn items can be neither dropped nor given; carried ones can. */
    assert_int_equal(strs(&t, WR_MUD_DROP, 1, "sword", NULL), WR_APPLIED);
    assert_fail(&t, "worn", "You must remove a short sword first.");
    assert_int_equal(strs(&t, WR_MUD_GIVE, 1, "crown", "bob"), WR_APPLIED);
    assert_fail(&t, "worn", "You must remove a golden crown first.");
    assert_int_equal(strs(&t, WR_MUD_GIVE, 1, "helm", "bob"), WR_APPLIED);
    assert_ok(&t, NULL);
    assert_non_null(inst(&t, "helm", WR_MUD_CARRIED, ch(&t, "bob")->id));

    /* Remove by slot name (unwield sends "wield"); nothing there refuses. */
    assert_int_equal(strs(&t, WR_MUD_REMOVE, 1, "wield", NULL), WR_APPLIED);
    assert_ok(&t, "You stop using a short sword.");
    assert_int_equal(wr__mud_weapon(mud(&t), a), NONE);
    assert_int_equal(strs(&t, WR_MUD_REMOVE, 1, "wield", NULL), WR_APPLIED);
    assert_fail(&t, "not_worn", NULL);
    assert_int_equal(strs(&t, WR_MUD_DROP, 1, "sword", NULL), WR_APPLIED);
    assert_ok(&t, NULL);
    assert_non_null(inst(&t, "sword", WR_MUD_IN_ROOM, a->room));
    assert_roundtrip(&t);
    t_free(&t);
}

/* ---- item uses -------------------------------------------------------------------- */

static void test_use(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    struct wr_mud_char *a = ch(&t, "alice");
    assert_int_equal(strs(&t, WR_MUD_GET, 1, "all", NULL), WR_APPLIED);

    /* A verb the item does not have, and an item without uses. */
    assert_int_equal(strs(&t, WR_MUD_USE, 1, "eat", "potion"), WR_APPLIED);
    assert_fail(&t, "no_use", "You can't eat a red potion.");
    assert_int_equal(strs(&t, WR_MUD_USE, 1, "", "rock"), WR_APPLIED);
    assert_fail(&t, "no_use", "You can't use a rock.");
    assert_int_equal(strs(&t, WR_MUD_USE, 1, "drink", "bread"), WR_APPLIED);
    assert_fail(&t, "no_item", NULL); /* no bread carried */

    /* drink potion: health back (capped at the maximum), the potion gone;
     * the message comes from the use's msg with the item as {target}. */
    a->f.pool[WR_POOL_HP] = 1;
    int32_t max = wr__mud_max(mud(&t), WR_MUD_ACTOR_CHAR, a->id, WR_POOL_HP, t.now);
    assert_int_equal(strs(&t, WR_MUD_USE, 1, "drink", "potion"), WR_APPLIED);
    assert_ok(&t, "You drink a red potion.");
    assert_int_equal(a->f.pool[WR_POOL_HP], max < 11 ? max : 11);
    assert_null(inst(&t, "potion", WR_MUD_CARRIED, a->id));
    assert_int_equal(strs(&t, WR_MUD_USE, 1, "drink", "potion"), WR_APPLIED);
    assert_fail(&t, "no_item", NULL);
    a->f.pool[WR_POOL_HP] = max - 1;
    assert_int_equal(strs(&t, WR_MUD_USE, 1, "eat", "bread"), WR_APPLIED); /* none yet */
    assert_fail(&t, "no_item", NULL);

    /* use (the first use) of the elixir: a timed strength effect. */
    assert_int_equal(a->f.n_fx, 0);
    assert_int_equal(strs(&t, WR_MUD_USE, 1, "", "elixir"), WR_APPLIED);
    assert_ok(&t, "You drink a blue elixir.");
    assert_int_equal(a->f.n_fx, 1);
    assert_int_equal(a->f.fx[0].kind, WR_EFF_STAT);
    assert_int_equal(a->f.fx[0].stat, WR_STAT_STR);
    assert_int_equal(a->f.fx[0].amount, 3);
    assert_int_equal(a->f.fx[0].until, t.now + 60000);
    assert_int_equal(a->f.fx[0].item, item_idx(&t, "elixir"));
    assert_null(inst(&t, "elixir", WR_MUD_CARRIED, a->id));

    /* A use that is not consumed stays; using it again refreshes its
     * effect instead of stacking it. */
    assert_int_equal(strs(&t, WR_MUD_USE, 1, "read", "scroll"), WR_APPLIED);
    assert_ok(&t, "You read a scroll.");
    assert_int_equal(a->f.n_fx, 2);
    assert_int_equal(a->f.fx[1].kind, WR_EFF_ARMOUR);
    assert_int_equal(a->f.fx[1].dtype, WR_DT_FIRE);
    t.now += 5000;
    assert_int_equal(strs(&t, WR_MUD_USE, 1, "READ", "scroll"), WR_APPLIED);
    assert_ok(&t, NULL);
    assert_int_equal(a->f.n_fx, 2);
    assert_int_equal(a->f.fx[1].until, t.now + 10000);
    assert_non_null(inst(&t, "scroll", WR_MUD_CARRIED, a->id));

    /* Damage has no target out of combat: nothing happens but the item
     * is used up. */
    assert_int_equal(strs(&t, WR_MUD_USE, 1, "throw", "bomb"), WR_APPLIED);
    assert_ok(&t, "You throw a bomb.");
    assert_int_equal(a->f.pool[WR_POOL_HP], max - 1);
    assert_null(inst(&t, "bomb", WR_MUD_CARRIED, a->id));
    assert_roundtrip(&t);
    t_free(&t);
}

/* In a fight an item's damage strikes the foe: the bomb kills the rat,
 * which leaves a corpse with its gold and its drop. */
static void test_use_in_fight(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    struct wr_mud_char *a = ch(&t, "alice");
    struct wr_mud *m = mud(&t);
    assert_int_equal(strs(&t, WR_MUD_GET, 1, "bomb", NULL), WR_APPLIED);
    go(&t, 1, WR_DIR_N);
    uint32_t yard = a->room;
    assert_int_equal(m->n_npcs, 2);
    uint32_t rat = m->npcs[1].id;
    assert_int_equal(m->npcs[1].room, yard);
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "rat", NULL), WR_APPLIED);
    assert_ok(&t, NULL);
    assert_true(a->f.next_round_at != NEVER);
    assert_int_equal(strs(&t, WR_MUD_USE, 1, "throw", "bomb"), WR_APPLIED);
    assert_ok(&t, "You throw a bomb.");
    assert_null(wr__mud_npc_by_id(m, rat));
    const struct wr_mud_item_inst *corpse = NULL;
    for (size_t i = 0; i < m->n_items; i++)
        if (m->items[i].item == WR_MUD_CORPSE && m->items[i].where == yard)
            corpse = &m->items[i];
    assert_non_null(corpse);
    assert_string_equal(corpse->label, "the corpse of a giant rat");
    assert_true(corpse->gold >= 3 && corpse->gold <= 7);
    assert_non_null(inst(&t, "ruby", WR_MUD_IN_CORPSE, corpse->id));
    assert_null(inst(&t, "bomb", WR_MUD_CARRIED, a->id));
    assert_roundtrip(&t);
    t_free(&t);
}

/* ---- gold ------------------------------------------------------------------------- */

static void test_give_gold(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    struct wr_mud_char *a = ch(&t, "alice"), *b = ch(&t, "bob");
    assert_int_equal(strs(&t, WR_MUD_GIVE, 1, "30 gold", "bob"), WR_APPLIED);
    assert_ok(&t, "You give 30 gold to Bob.");
    assert_int_equal(a->gold, 70);
    assert_int_equal(b->gold, 130);
    bool told = false;
    for (size_t i = 0; i < t.n_ev; i++)
        told |= strstr(t.ev[i].to_target, "Alice gives you 30 gold.") != NULL;
    assert_true(told);

    /* More than one has is refused; exactly what one has is not. */
    assert_int_equal(strs(&t, WR_MUD_GIVE, 1, "71 coins", "bob"), WR_APPLIED);
    assert_fail(&t, "no_gold", "You have only 70 gold.");
    assert_int_equal(strs(&t, WR_MUD_GIVE, 1, "0 gold", "bob"), WR_APPLIED);
    assert_fail(&t, "no_gold", NULL);
    assert_int_equal(strs(&t, WR_MUD_GIVE, 1, "70 coins", "nobody"), WR_APPLIED);
    assert_fail(&t, "no_target", NULL);
    assert_int_equal(strs(&t, WR_MUD_GIVE, 1, "70 coins", "bob"), WR_APPLIED);
    assert_ok(&t, NULL);
    assert_int_equal(a->gold, 0);
    assert_int_equal(b->gold, 200);
    /* The recipient's purse has a ceiling. */
    b->gold = UINT32_MAX;
    a->gold = 1;
    assert_int_equal(strs(&t, WR_MUD_GIVE, 1, "1 gold", "bob"), WR_APPLIED);
    assert_fail(&t, "too_much", NULL);
    assert_int_equal(a->gold, 1);
    /* "4294967296 gold" is no number of gold: an item keyword. */
    assert_int_equal(strs(&t, WR_MUD_GIVE, 1, "4294967296 gold", "bob"), WR_APPLIED);
    assert_fail(&t, "no_item", NULL);
    t_free(&t);
}

/* ---- shops ------------------------------------------------------------------------- */

static void test_shop_buy(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    struct wr_mud_char *a = ch(&t, "alice");
    assert_int_equal(buy(&t, 1, "helm", 1), WR_APPLIED);
    assert_fail(&t, "no_shop", "There is no shop here.");
    go(&t, 1, WR_DIR_E); /* the armoury, its smith at work */
    long s = wr_mud_model_shop_in(model(&t), a->room);
    assert_true(s >= 0);
    assert_int_equal(wr_mud_shop_stock(mud(&t), (uint32_t)s, 0), 2);
    assert_int_equal(wr_mud_shop_stock(mud(&t), (uint32_t)s, 1), -1);

    assert_int_equal(buy(&t, 1, "helm", 1), WR_APPLIED);
    assert_ok(&t, "You buy an iron helm for 40 gold.");
    assert_int_equal(a->gold, 60);
    assert_int_equal(wr_mud_shop_stock(mud(&t), (uint32_t)s, 0), 1);
    assert_non_null(inst(&t, "helm", WR_MUD_CARRIED, a->id));
    /* Asking for more than is left buys what is left... */
    a->gold = 1000;
    assert_int_equal(buy(&t, 1, "helm", 5), WR_APPLIED);
    assert_ok(&t, "Only 1 left: you buy 1 x an iron helm for 40 gold.");
    assert_int_equal(a->gold, 960);
    assert_int_equal(wr_mud_shop_stock(mud(&t), (uint32_t)s, 0), 0);
    /* ... and then it is sold out. */
    assert_int_equal(buy(&t, 1, "helm", 1), WR_APPLIED);
    assert_fail(&t, "sold_out", "An iron helm is sold out.");
    assert_int_equal(a->gold, 960);

    /* A line's own price; several at once. */
    assert_int_equal(buy(&t, 1, "potion", 2), WR_APPLIED);
    assert_ok(&t, "You buy 2 x a red potion for 16 gold.");
    assert_int_equal(a->gold, 944);
    assert_int_equal(wr_mud_shop_stock(mud(&t), (uint32_t)s, 2), 1);

    /* Not enough gold; exactly enough. */
    a->gold = 29;
    assert_int_equal(buy(&t, 1, "sword", 1), WR_APPLIED);
    assert_fail(&t, "no_gold", "A short sword costs 30 gold; you have 29.");
    a->gold = 30;
    assert_int_equal(buy(&t, 1, "sword", 1), WR_APPLIED);
    assert_ok(&t, "You buy a short sword for 30 gold.");
    assert_int_equal(a->gold, 0);
    assert_int_equal(wr_mud_shop_stock(mud(&t), (uint32_t)s, 1), -1); /* unlimited */

    /* What it does not sell; counts out of 1..20. */
    a->gold = 1000;
    assert_int_equal(buy(&t, 1, "bread", 1), WR_APPLIED);
    assert_fail(&t, "not_sold", "The Armoury does not sell that");
    assert_int_equal(buy(&t, 1, "sword", 0), WR_APPLIED);
    assert_fail(&t, "count", NULL);
    assert_int_equal(buy(&t, 1, "sword", 21), WR_APPLIED);
    assert_fail(&t, "count", NULL);
    assert_int_equal(buy(&t, 1, "sword", 20), WR_APPLIED);
    assert_ok(&t, "You buy 20 x a short sword for 600 gold.");
    assert_int_equal(a->gold, 400);
    size_t swords = 0;
    for (size_t i = 0; i < mud(&t)->n_items; i++)
        swords += mud(&t)->items[i].item == item_idx(&t, "sword") &&
                  mud(&t)->items[i].loc == WR_MUD_CARRIED;
    assert_int_equal(swords, 21);

    /* A shop whose keeper is not there is closed; one without a keeper
     * is always open. */
    go(&t, 1, WR_DIR_W);
    go(&t, 1, WR_DIR_N); /* the yard: the vendor never comes */
    assert_int_equal(buy(&t, 1, "bread", 1), WR_APPLIED);
    assert_fail(&t, "closed", "The shop is closed.");
    go(&t, 1, WR_DIR_S);
    go(&t, 1, WR_DIR_W); /* the store */
    assert_int_equal(buy(&t, 1, "bread", 1), WR_APPLIED);
    assert_ok(&t, "You buy a loaf of bread for 2 gold.");
    assert_roundtrip(&t);
    t_free(&t);
}

static void test_shop_sell(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    struct wr_mud_char *a = ch(&t, "alice");
    assert_int_equal(strs(&t, WR_MUD_GET, 1, "all", NULL), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_SELL, 1, "helm", NULL), WR_APPLIED);
    assert_fail(&t, "no_shop", NULL);
    go(&t, 1, WR_DIR_E);
    long s = wr_mud_model_shop_in(model(&t), a->room);
    a->gold = 1000;
    assert_int_equal(buy(&t, 1, "helm", 2), WR_APPLIED);
    assert_int_equal(wr_mud_shop_stock(mud(&t), (uint32_t)s, 0), 0);
    a->gold = 0;

    /* Half the price; the helm goes back on the shelf. */
    assert_int_equal(strs(&t, WR_MUD_SELL, 1, "helm", NULL), WR_APPLIED);
    assert_ok(&t, "You sell an iron helm for 20 gold.");
    assert_int_equal(a->gold, 20);
    assert_int_equal(wr_mud_shop_stock(mud(&t), (uint32_t)s, 0), 1);
    /* An unlimited line stays unlimited; an item it does not list is just
     * bought. */
    assert_int_equal(strs(&t, WR_MUD_SELL, 1, "sword", NULL), WR_APPLIED);
    assert_ok(&t, "for 15 gold");
    assert_int_equal(wr_mud_shop_stock(mud(&t), (uint32_t)s, 1), -1);
    assert_int_equal(strs(&t, WR_MUD_SELL, 1, "crown", NULL), WR_APPLIED);
    assert_ok(&t, "You sell a golden crown for 250 gold.");
    assert_int_equal(a->gold, 285);
    assert_null(inst(&t, "crown", WR_MUD_CARRIED, a->id));

    /* Worthless, worn, missing; the positive control is the cap once off. */
    assert_int_equal(strs(&t, WR_MUD_SELL, 1, "rock", NULL), WR_APPLIED);
    assert_fail(&t, "worthless", "will not pay anything for a rock");
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "cap", NULL), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_SELL, 1, "cap", NULL), WR_APPLIED);
    assert_fail(&t, "worn", "You must remove a leather cap first.");
    assert_int_equal(strs(&t, WR_MUD_REMOVE, 1, "cap", NULL), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_SELL, 1, "cap", NULL), WR_APPLIED);
    assert_ok(&t, "for 5 gold");
    assert_int_equal(strs(&t, WR_MUD_SELL, 1, "cap", NULL), WR_APPLIED);
    assert_fail(&t, "no_item", NULL);
    assert_int_equal(a->gold, 290);
    assert_roundtrip(&t);
    t_free(&t);
}

/* Two buyers race for the last units: the log orders them; exactly the
 * stock is sold, and each pays for what it got. */
static void test_shop_race(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    struct wr_mud_char *a = ch(&t, "alice"), *b = ch(&t, "bob");
    go(&t, 1, WR_DIR_E);
    go(&t, 2, WR_DIR_E);
    long s = wr_mud_model_shop_in(model(&t), a->room);
    /* Positive control: enough for both. */
    assert_int_equal(buy(&t, 1, "potion", 1), WR_APPLIED);
    assert_ok(&t, NULL);
    assert_int_equal(buy(&t, 2, "potion", 1), WR_APPLIED);
    assert_ok(&t, NULL);
    assert_int_equal(wr_mud_shop_stock(mud(&t), (uint32_t)s, 2), 1);
    /* One left, both want it: the first gets it, the second is told. */
    assert_int_equal(buy(&t, 2, "potion", 1), WR_APPLIED);
    assert_ok(&t, NULL);
    assert_int_equal(buy(&t, 1, "potion", 1), WR_APPLIED);
    assert_fail(&t, "sold_out", NULL);
    uint32_t pa = (uint32_t)count_at(&t, WR_MUD_CARRIED, a->id);
    uint32_t pb = (uint32_t)count_at(&t, WR_MUD_CARRIED, b->id);
    assert_int_equal(pa + pb, 3);
    assert_int_equal(a->gold, 100 - 8 * pa);
    assert_int_equal(b->gold, 100 - 8 * pb);
    assert_int_equal(wr_mud_shop_stock(mud(&t), (uint32_t)s, 2), 0);
    t_free(&t);
}

/* ---- corpses ------------------------------------------------------------------------- */

static void test_corpses(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    struct wr_mud_char *a = ch(&t, "alice"), *b = ch(&t, "bob");
    struct wr_mud *m = mud(&t);
    uint32_t square = room(&t, "town.square");

    /* An NPC's corpse: its gold rolled in gold_min..gold_max, its drops. */
    assert_int_equal(m->n_npcs, 2);
    const struct wr_mud_npc_inst *rat = &m->npcs[1];
    assert_int_equal(rat->npc, (uint32_t)wr_mud_model_npc(model(&t), "rat"));
    struct wr_apply_ctx ctx = ctx_of(&t);
    uint64_t rng = 5;
    uint32_t cid = wr__mud_make_corpse(m, &ctx, WR_MUD_ACTOR_NPC, rat->id, square, &rng);
    assert_true(cid != 0);
    long ci = wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, cid);
    assert_true(ci >= 0);
    assert_int_equal(m->items[ci].item, WR_MUD_CORPSE);
    assert_int_equal(m->items[ci].loc, WR_MUD_IN_ROOM);
    assert_string_equal(m->items[ci].label, "the corpse of a giant rat");
    assert_int_equal(m->items[ci].decay_at, t.now + 30000);
    uint32_t rat_gold = m->items[ci].gold;
    assert_true(rat_gold >= 3 && rat_gold <= 7);
    assert_non_null(inst(&t, "ruby", WR_MUD_IN_CORPSE, cid));
    assert_roundtrip(&t);

    /* A corpse cannot be taken; what it holds can. */
    assert_int_equal(strs(&t, WR_MUD_GET, 1, "corpse", NULL), WR_APPLIED);
    assert_fail(&t, "fixed", NULL);
    assert_int_equal(strs(&t, WR_MUD_GET_FROM, 1, "ruby", "stone"), WR_APPLIED);
    assert_fail(&t, "no_container", NULL);
    assert_int_equal(strs(&t, WR_MUD_GET_FROM, 1, "sword", "corpse"), WR_APPLIED);
    assert_fail(&t, "no_item", "There is no such thing in the corpse of a giant rat.");
    assert_int_equal(strs(&t, WR_MUD_GET_FROM, 1, "gold", "rat"), WR_APPLIED);
    assert_ok(&t, "gold from the corpse of a giant rat");
    assert_int_equal(a->gold, 100 + rat_gold);
    assert_int_equal(strs(&t, WR_MUD_GET_FROM, 1, "gold", "corpse"), WR_APPLIED);
    assert_fail(&t, "no_gold", NULL);
    assert_int_equal(strs(&t, WR_MUD_GET_FROM, 1, "all", "corpse"), WR_APPLIED);
    assert_ok(&t, "You get a ruby from the corpse of a giant rat.");
    assert_non_null(inst(&t, "ruby", WR_MUD_CARRIED, a->id));
    assert_int_equal(strs(&t, WR_MUD_GET_FROM, 1, "all", "corpse"), WR_APPLIED);
    assert_fail(&t, "empty", NULL);

    /* A character's corpse: what it carried and its gold, not what it
     * wears. */
    assert_int_equal(strs(&t, WR_MUD_GET, 1, "all", NULL), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "cap", NULL), WR_APPLIED);
    size_t carried = count_at(&t, WR_MUD_CARRIED, a->id);
    assert_true(carried > 3);
    uint32_t gold = a->gold;
    ctx = ctx_of(&t);
    uint32_t ac = wr__mud_make_corpse(m, &ctx, WR_MUD_ACTOR_CHAR, a->id, square, NULL);
    assert_int_equal(count_at(&t, WR_MUD_CARRIED, a->id), 0);
    assert_int_equal(count_at(&t, WR_MUD_IN_CORPSE, ac), carried);
    assert_non_null(inst(&t, "cap", WR_MUD_WORN, a->id));
    assert_int_equal(a->gold, 0);
    ci = wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, ac);
    assert_string_equal(m->items[ci].label, "the corpse of Alice");
    assert_int_equal(m->items[ci].gold, gold);
    assert_roundtrip(&t);

    /* Bob loots it: "alice" names her corpse, not the rat's. */
    assert_int_equal(strs(&t, WR_MUD_GET_FROM, 2, "sword", "alice"), WR_APPLIED);
    assert_ok(&t, "You get a short sword from the corpse of Alice.");
    assert_non_null(inst(&t, "sword", WR_MUD_CARRIED, b->id));
    assert_int_equal(strs(&t, WR_MUD_GET_FROM, 2, "all", "alice"), WR_APPLIED);
    assert_ok(&t, NULL);
    assert_int_equal(b->gold, 100 + gold);
    assert_int_equal(count_at(&t, WR_MUD_IN_CORPSE, ac), 0);

    /* Decay: nothing before its time; then the corpse and what is left in
     * it vanish, with a word to the room. */
    t.now += 20;
    ctx = ctx_of(&t);
    uint32_t third = wr__mud_make_corpse(m, &ctx, WR_MUD_ACTOR_NPC, rat->id, square, &rng);
    assert_non_null(inst(&t, "ruby", WR_MUD_IN_CORPSE, third));
    size_t before = m->n_items;
    t.now += 29979; /* 1 ms before the first two are due */
    zone_cmd(&t, WR_MUD_ZONE_TICK, 1);
    assert_int_equal(m->n_items, before);
    t.now += 1;
    zone_cmd(&t, WR_MUD_ZONE_TICK, 1);
    assert_true(wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, cid) < 0);
    assert_true(wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, ac) < 0);
    assert_true(wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, third) >= 0);
    bool told = false;
    for (size_t i = 0; i < t.n_ev; i++)
        told |= strcmp(t.ev[i].to_room, "The corpse of Alice crumbles to dust.") == 0;
    assert_true(told);
    t.now += 20;
    zone_cmd(&t, WR_MUD_ZONE_TICK, 1);
    assert_true(wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, third) < 0);
    assert_null(inst(&t, "ruby", WR_MUD_IN_CORPSE, third));
    assert_non_null(inst(&t, "ruby", WR_MUD_CARRIED, b->id)); /* Alice's, looted */
    assert_roundtrip(&t);
    t_free(&t);
}

/* ---- quest helpers -------------------------------------------------------------------- */

static void test_quest_helpers(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    struct wr_mud_char *a = ch(&t, "alice");
    struct wr_apply_ctx ctx = ctx_of(&t);
    uint32_t ruby = item_idx(&t, "ruby");
    assert_int_equal(wr__mud_count_carried(mud(&t), a, ruby), 0);
    for (int i = 0; i < 3; i++)
        wr__mud_give_new_item(mud(&t), &ctx, a, ruby);
    assert_int_equal(wr__mud_count_carried(mud(&t), a, ruby), 3);
    wr__mud_take_items(mud(&t), a, ruby, 2);
    assert_int_equal(wr__mud_count_carried(mud(&t), a, ruby), 1);
    wr__mud_take_items(mud(&t), a, ruby, 5);
    assert_int_equal(wr__mud_count_carried(mud(&t), a, ruby), 0);
    assert_roundtrip(&t);
    t_free(&t);
}

/* ---- snapshot, reload, bad input ------------------------------------------------------ */

static void test_snapshot_checks(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    struct wr_mud_char *a = ch(&t, "alice");
    struct wr_mud *m = mud(&t);
    assert_int_equal(strs(&t, WR_MUD_GET, 1, "all", NULL), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "cap", NULL), WR_APPLIED);
    struct wr_apply_ctx ctx = ctx_of(&t);
    uint32_t cid = wr__mud_make_corpse(m, &ctx, WR_MUD_ACTOR_NPC, m->npcs[1].id, a->room, NULL);
    go(&t, 1, WR_DIR_E);
    assert_int_equal(buy(&t, 1, "helm", 1), WR_APPLIED);
    assert_roundtrip(&t);

    /* Each inconsistency is refused by restore; put back, it restores. */
    uint32_t cap = a->eq[WR_SLOT_HEAD];
    a->eq[WR_SLOT_HEAD] = 0; /* a WORN item no slot names */
    assert_refused(&t);
    a->eq[WR_SLOT_NECK] = cap; /* in the wrong slot */
    assert_refused(&t);
    a->eq[WR_SLOT_NECK] = 0;
    a->eq[WR_SLOT_HEAD] = cap;
    assert_roundtrip(&t);
    const struct wr_mud_item_inst *ruby = inst(&t, "ruby", WR_MUD_IN_CORPSE, cid);
    struct wr_mud_item_inst *r = &m->items[ruby - m->items];
    r->where = cap; /* inside something that is not a corpse */
    assert_refused(&t);
    r->where = cid;
    long s = wr_mud_model_shop_in(model(&t), a->room);
    int32_t *stock = &m->stock[m->stock_off[s]];
    int32_t was = *stock;
    *stock = -1; /* unlimited on a limited line */
    assert_refused(&t);
    *stock = -2;
    assert_refused(&t);
    *stock = was;
    assert_roundtrip(&t);
    t_free(&t);
}

static void test_reload(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    struct wr_mud_char *a = ch(&t, "alice"), *b = ch(&t, "bob");
    struct wr_mud *m = mud(&t);
    assert_int_equal(strs(&t, WR_MUD_GET, 1, "all", NULL), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "helm", NULL), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "sword", NULL), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_GIVE, 1, "cap", "bob"), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_WEAR, 2, "cap", NULL), WR_APPLIED);
    struct wr_apply_ctx ctx = ctx_of(&t);
    uint32_t pitc =
        wr__mud_make_corpse(m, &ctx, WR_MUD_ACTOR_NPC, m->npcs[1].id, room(&t, "town.pit"), NULL);
    go(&t, 1, WR_DIR_E);
    assert_int_equal(buy(&t, 1, "potion", 2), WR_APPLIED);
    assert_int_equal(wr_mud_shop_stock(m, 0, 2), 1);

    load_world(&t, 2);
    /* The helm is gone: its slot is free; the sword is still wielded. */
    assert_int_equal(a->eq[WR_SLOT_HEAD], 0);
    assert_int_equal(wr__mud_weapon(m, a), item_idx(&t, "sword"));
    /* The cap is now worn around the neck: back in Bob's hands. */
    assert_int_equal(b->eq[WR_SLOT_HEAD], 0);
    assert_int_equal(b->eq[WR_SLOT_NECK], 0);
    assert_non_null(inst(&t, "cap", WR_MUD_CARRIED, b->id));
    /* The pit's corpse and its ruby are gone with the pit. */
    assert_true(wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, pitc) < 0);
    for (size_t i = 0; i < m->n_items; i++)
        assert_int_not_equal(m->items[i].loc, WR_MUD_IN_CORPSE);
    /* Stock by shop and item key: the potions kept their count; the sword,
     * unlimited before, starts at its new count. */
    long s = wr_mud_model_shop_in(model(&t), room(&t, "town.armoury"));
    assert_int_equal(model(&t)->shops[s].n_stock, 2);
    assert_int_equal(wr_mud_shop_stock(m, (uint32_t)s, 0), 5);
    assert_int_equal(wr_mud_shop_stock(m, (uint32_t)s, 1), 1);
    assert_roundtrip(&t);
    /* And back: the helm line starts afresh, the potions still at 1. */
    load_world(&t, 1);
    assert_int_equal(wr_mud_shop_stock(m, 0, 0), 2);
    assert_int_equal(wr_mud_shop_stock(m, 0, 1), -1);
    assert_int_equal(wr_mud_shop_stock(m, 0, 2), 1);
    assert_roundtrip(&t);
    t_free(&t);
}

static void test_malformed(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(cmd(&t, WR_MUD_WEAR, 1, 1, NULL), WR_MALFORMED);
    assert_int_equal(strs(&t, WR_MUD_USE, 1, "drink", NULL), WR_MALFORMED);
    assert_int_equal(strs(&t, WR_MUD_GET_FROM, 1, "all", NULL), WR_MALFORMED);
    assert_int_equal(strs(&t, WR_MUD_BUY, 1, "helm", NULL), WR_MALFORMED);
    assert_int_equal(strs(&t, WR_MUD_ITEMS_FIRST + 10, 1, "x", NULL), WR_MALFORMED);
    /* A session-less items command is a node bug. */
    assert_int_equal(strs(&t, WR_MUD_WEAR, 0, "cap", NULL), WR_MALFORMED);
    /* Positive control: the same commands well formed. */
    assert_int_equal(strs(&t, WR_MUD_WEAR, 1, "cap", NULL), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_USE, 1, "drink", "potion"), WR_APPLIED);
    t_free(&t);
}

/* Random items commands with random and plausible payloads: no crash, the
 * invariants hold (wr__mud_check asserts them on every tick), the state
 * round-trips. */
static void test_fuzz(void **state)
{
    (void)state;
    static const char *const words[] = {"all", "gold",  "cap",  "helm", "sword", "potion", "corpse",
                                        "rat", "drink", "read", "",     "wield", "head",   "bob"};
    struct t t;
    t_ready(&t);
    uint64_t rng = 7;
    for (int i = 0; i < 4000; i++) {
        struct wr_writer p;
        wr_writer_init(&p, 64);
        uint8_t type = (uint8_t)(WR_MUD_ITEMS_FIRST + wr_mix64(&rng) % 7);
        if (wr_mix64(&rng) % 4 == 0) {
            size_t n = wr_mix64(&rng) % 12;
            for (size_t k = 0; k < n; k++)
                wr_put_u8(&p, (uint8_t)wr_mix64(&rng));
        } else {
            wr_mud_encode_str(&p, words[wr_mix64(&rng) % 14]);
            if (type == WR_MUD_BUY)
                wr_mud_encode_u32(&p, (uint32_t)(wr_mix64(&rng) % 25));
            else
                wr_mud_encode_str(&p, words[wr_mix64(&rng) % 14]);
        }
        if (wr_mix64(&rng) % 5 == 0)
            type = (uint8_t)(WR_MUD_GET + wr_mix64(&rng) % 3); /* get, drop, give */
        uint64_t s = 1 + wr_mix64(&rng) % 2;
        cmd(&t, type, 1, s, &p);
        wr_writer_free(&p);
        if (i % 100 == 0) {
            struct wr_apply_ctx ctx = ctx_of(&t);
            wr__mud_make_corpse(mud(&t), &ctx, WR_MUD_ACTOR_CHAR, (uint32_t)s,
                                ch(&t, s == 1 ? "alice" : "bob")->room, &rng);
        }
        if (i % 37 == 0)
            go(&t, s, (enum wr_mud_dir[]){WR_DIR_E, WR_DIR_W}[i % 2]);
        t.now += wr_mix64(&rng) % 1000;
        if (i % 50 == 0)
            zone_cmd(&t, WR_MUD_ZONE_TICK, 1);
    }
    assert_true(wr__mud_items_ok(mud(&t)));
    assert_roundtrip(&t);
    t_free(&t);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wear_and_remove),
        cmocka_unit_test(test_use),
        cmocka_unit_test(test_use_in_fight),
        cmocka_unit_test(test_give_gold),
        cmocka_unit_test(test_shop_buy),
        cmocka_unit_test(test_shop_sell),
        cmocka_unit_test(test_shop_race),
        cmocka_unit_test(test_corpses),
        cmocka_unit_test(test_quest_helpers),
        cmocka_unit_test(test_snapshot_checks),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
