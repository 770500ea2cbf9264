/* Unit tests for the canonical export of a world (mud/worldfile_export.c)
 * and for writing a bundle into a directory (mud_node/world_dir.c):
 *   - the sample world exports, the export parses back, and exporting that
 *     gives the same bytes (export(parse(export)) == export);
 *   - the export depends on the world, not on how its files are written
 *     (comments, short or long directions, flow or block style, "5m" or
 *     300000, key order give one export), and any change to the world
 *     changes it (positive and negative controls side by side);
 *   - every gameplay key round-trips, with the defaults written out, and so
 *     does the gameplay example of docs/world-format.md;
 *   - objects go back to the file they were defined in; awkward strings
 *     survive quoting; a broken model is refused with a message;
 *   - wr_mud_bundle_write_dir writes what wr_mud_bundle_read_dir reads, and
 *     refuses unsafe paths and non-empty directories.
 * Tests run from the repository root (make unit): the sample world is at
 * "world". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
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
    wr_put_bytes(w, WR_MUD_BUNDLE_MAGIC, 8);
    wr_put_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        wr_put_u32(w, (uint32_t)strlen(f[i].name));
        wr_put_bytes(w, f[i].name, strlen(f[i].name));
        wr_put_u32(w, (uint32_t)strlen(f[i].text));
        wr_put_bytes(w, f[i].text, strlen(f[i].text));
    }
}

static struct wr_mud_model *parse_or_fail(const void *b, size_t len, const char *what)
{
    struct wr_mud_model *m = NULL;
    char err[512];
    if (wr_mud_model_parse(b, len, &m, err, sizeof err) != 0)
        fail_msg("parse %s: %s", what, err);
    return m;
}

static struct wr_mud_model *parse_files(const struct file *f, size_t n)
{
    struct wr_writer w;
    bundle_of(&w, f, n);
    struct wr_mud_model *m = parse_or_fail(w.base, w.len, f[n - 1].text);
    wr_writer_free(&w);
    return m;
}

static struct wr_mud_model *load_dir(const char *dir)
{
    struct wr_writer w;
    char err[512];
    wr_writer_init(&w, 4096);
    if (wr_mud_bundle_read_dir(dir, &w, err, sizeof err) != 0)
        fail_msg("read %s: %s", dir, err);
    struct wr_mud_model *m = parse_or_fail(w.base, w.len, dir);
    wr_writer_free(&w);
    return m;
}

/* The export of @m into @w (initialized here); fails the test on error. */
static void export_or_fail(const struct wr_mud_model *m, struct wr_writer *w)
{
    char err[512];
    wr_writer_init(w, 4096);
    if (wr_mud_model_export(m, w, err, sizeof err) != 0)
        fail_msg("export: %s", err);
}

/* A copy of file @name of bundle @b (NUL-terminated; caller frees), or NULL. */
static char *file_in(const struct wr_writer *b, const char *name)
{
    struct wr_reader r;
    wr_reader_init(&r, b->base, b->len);
    wr_get_bytes(&r, 8);
    uint32_t n = wr_get_u32(&r);
    for (uint32_t i = 0; i < n && !r.err; i++) {
        uint32_t nl = wr_get_u32(&r);
        const uint8_t *nm = wr_get_bytes(&r, nl);
        uint32_t fl = wr_get_u32(&r);
        const uint8_t *text = wr_get_bytes(&r, fl);
        if (!r.err && nl == strlen(name) && memcmp(nm, name, nl) == 0) {
            char *s = wr_malloc((size_t)fl + 1);
            memcpy(s, text, fl);
            s[fl] = '\0';
            return s;
        }
    }
    return NULL;
}

static bool same_bytes(const struct wr_writer *a, const struct wr_writer *b)
{
    return a->len == b->len && memcmp(a->base, b->base, a->len) == 0;
}

/* Export @m, parse the export, export that: the two exports must be the
 * same bytes. Returns the first export in @out (caller frees). */
static void round_trip(const struct wr_mud_model *m, struct wr_writer *out)
{
    struct wr_writer again;
    export_or_fail(m, out);
    struct wr_mud_model *m2 = parse_or_fail(out->base, out->len, "the export");
    export_or_fail(m2, &again);
    if (!same_bytes(out, &again)) {
        char *a = file_in(out, "world.yaml"), *b = file_in(&again, "world.yaml");
        print_error("export(parse(export)) differs (%zu vs %zu bytes)\n--- first world.yaml\n%s\n"
                    "--- second\n%s\n",
                    out->len, again.len, a ? a : "-", b ? b : "-");
        free(a);
        free(b);
        fail();
    }
    wr_writer_free(&again);
    wr_mud_model_free(m2);
}

static void hash_of(const struct wr_writer *w, uint8_t h[16])
{
    crypto_generichash(h, 16, w->base, w->len, NULL, 0);
}

/* ---- a small world, and the same world written differently ------------------ */

static const char tiny_world[] = "name: Tiny\n"
                                 "start: town.square\n"
                                 "channels:\n"
                                 "  - {id: global, desc: Everyone, default: on, history: 20}\n";

static const char tiny_town[] = "zone:\n"
                                "  id: town\n"
                                "  name: Town\n"
                                "  desc: A small town.\n"
                                "  graveyard: square\n"
                                "rooms:\n"
                                "  - id: square\n"
                                "    name: The Square\n"
                                "    desc: A cobbled square.\n"
                                "    x: 0\n"
                                "    y: 0\n"
                                "    exits:\n"
                                "      n: gate\n"
                                "      e: {to: shop, door: door}\n"
                                "  - id: gate\n"
                                "    name: The Gate\n"
                                "    desc: A wooden gate.\n"
                                "    x: 0\n"
                                "    y: -1\n"
                                "    exits: {s: square}\n"
                                "  - id: shop\n"
                                "    name: The Shop\n"
                                "    desc: |\n"
                                "      A dusty shop.\n"
                                "      Shelves, mostly empty.\n"
                                "    x: 1\n"
                                "    y: 0\n"
                                "    exits:\n"
                                "      w: {to: square, door: door, closed: true}\n"
                                "items:\n"
                                "  - id: lamp\n"
                                "    name: a lamp\n"
                                "    keywords: Lamp  brass\n"
                                "    desc: A brass lamp.\n"
                                "    ground: A lamp is here.\n"
                                "item_spawners:\n"
                                "  - {item: lamp, room: shop, interval: 5m}\n"
                                "npcs:\n"
                                "  - id: cat\n"
                                "    name: a cat\n"
                                "    keywords: [cat, grey]\n"
                                "    desc: A grey cat.\n"
                                "    ground: A cat sleeps here.\n"
                                "    max_distance: 1\n"
                                "    behaviour:\n"
                                "      timer: {min_delay: 10s, actions: [{emote: purrs.}, "
                                "{move: true, weight: 2}]}\n"
                                "      greet: {say: \"Mew, {name}.\"}\n"
                                "      hear: [{pattern: fish, delay: 1s, emote: perks up.}]\n"
                                "npc_spawners:\n"
                                "  - {npc: cat, room: square}\n";

/* The same world: other comments, key order, styles, direction names,
 * duration units, keyword spelling, defaults spelt out. */
static const char tiny_town_again[] =
    "# the town, written by someone else\n"
    "rooms:\n"
    "- name: The Square\n"
    "  id: square\n"
    "  y: 0\n"
    "  x: 0\n"
    "  z: 0\n"
    "  desc: >-\n"
    "    A cobbled\n"
    "    square.\n"
    "  exits: {east: {door: door, to: town.shop, closed: false}, north: town.gate}\n"
    "- {id: gate, name: The Gate, desc: 'A wooden gate.', x: 0, y: -1, exits: {south: square}}\n"
    "- id: shop\n"
    "  name: \"The Shop\"\n"
    "  desc: \"A dusty shop.\\nShelves, mostly empty.\\n\\n\"\n"
    "  x: 1\n"
    "  y: 0\n"
    "  exits: {west: {to: square, door: door, closed: yes}}\n"
    "zone: {graveyard: town.square, id: town, name: Town, desc: A small town.}\n"
    "npc_spawners: [{npc: cat, room: square, interval: 60000}]\n"
    "npcs:\n"
    "  - id: cat\n"
    "    name: a cat\n"
    "    keywords: cat   GREY\n"
    "    desc: A grey cat.\n"
    "    ground: A cat sleeps here.\n"
    "    max_distance: 1\n"
    "    behaviour:\n"
    "      hear: {pattern: fish, delay: 1000ms, emote: perks up.}\n"
    "      greet: [{say: \"Mew, {name}.\", delay: 0}]\n"
    "      timer:\n"
    "        - min_delay: 10000\n"
    "          random_delay: 0s\n"
    "          actions:\n"
    "            - {emote: purrs., weight: 1}\n"
    "            - move: on\n"
    "              weight: 2\n"
    "items:\n"
    "  - {id: lamp, name: a lamp, keywords: [lamp, brass], desc: A brass lamp., ground: A lamp "
    "is here., fixed: false}\n"
    "item_spawners:\n"
    "  - item: lamp\n"
    "    room: shop\n"
    "    interval: 300s\n";

static void test_same_world_same_export(void **state)
{
    (void)state;
    struct file a[] = {{"world.yaml", tiny_world}, {"zones/town.yaml", tiny_town}};
    struct file b[] = {{"world.yaml", "# a comment\nstart: town.square\nname: 'Tiny'\n"
                                      "channels: [{id: global, history: 20, default: true, "
                                      "desc: Everyone}]\n"},
                       {"zones/town.yaml", tiny_town_again}};
    struct wr_mud_model *ma = parse_files(a, 2), *mb = parse_files(b, 2);
    /* the bundles differ, so the versions do... */
    assert_memory_not_equal(ma->hash, mb->hash, 16);
    struct wr_writer ea, eb;
    round_trip(ma, &ea);
    round_trip(mb, &eb);
    /* ...but the world is the same, so the exports and the world hash are */
    if (!same_bytes(&ea, &eb)) {
        char *x = file_in(&ea, "zones/town.yaml"), *y = file_in(&eb, "zones/town.yaml");
        print_error("--- a\n%s\n--- b\n%s\n", x, y);
        free(x);
        free(y);
        fail();
    }
    uint8_t ha[16], hb[16];
    hash_of(&ea, ha);
    hash_of(&eb, hb);
    assert_memory_equal(ha, hb, 16);
    /* exporting is a function: the same model twice, the same bytes */
    struct wr_writer again;
    export_or_fail(ma, &again);
    assert_true(same_bytes(&ea, &again));
    wr_writer_free(&again);
    wr_writer_free(&ea);
    wr_writer_free(&eb);
    wr_mud_model_free(ma);
    wr_mud_model_free(mb);
}

/* One change to the world, and the export (hash) changes; a change to the
 * files that is not one to the world (the control) does not. */
static void test_changed_world_changes_export(void **state)
{
    (void)state;
    static const struct {
        const char *old, *new;
        bool changes;
    } cases[] = {
        {"    name: The Gate\n", "    name: The Old Gate\n", true},
        {"    y: -1\n", "    y: -2\n", true},
        {"      w: {to: square, door: door, closed: true}\n", "      w: {to: square, door: door}\n",
         true},
        {"      n: gate\n", "      n: shop\n", true},
        {"interval: 5m", "interval: 6m", true},
        {"keywords: Lamp  brass", "keywords: lamp", true},
        {"    max_distance: 1\n", "    max_distance: 2\n", true},
        {"{move: true, weight: 2}", "{move: true, weight: 3}", true},
        /* controls: the same world written otherwise */
        {"interval: 5m", "interval: 300000", false},
        {"      n: gate\n", "      north: town.gate   # a comment\n", false},
        {"keywords: Lamp  brass", "keywords: [LAMP, brass]", false},
        {"    max_distance: 1\n", "    max_distance: 01\n", false},
    };
    struct file base[] = {{"world.yaml", tiny_world}, {"zones/town.yaml", tiny_town}};
    struct wr_mud_model *m0 = parse_files(base, 2);
    struct wr_writer e0;
    export_or_fail(m0, &e0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *at = strstr(tiny_town, cases[i].old);
        assert_non_null(at);
        size_t pre = (size_t)(at - tiny_town);
        char *text = wr_malloc(strlen(tiny_town) + strlen(cases[i].new) + 1);
        memcpy(text, tiny_town, pre);
        strcpy(text + pre, cases[i].new);
        strcat(text, at + strlen(cases[i].old));
        struct file f[] = {{"world.yaml", tiny_world}, {"zones/town.yaml", text}};
        struct wr_mud_model *m = parse_files(f, 2);
        struct wr_writer e;
        round_trip(m, &e);
        if (same_bytes(&e0, &e) == cases[i].changes)
            fail_msg("%s -> %s: the export %s", cases[i].old, cases[i].new,
                     cases[i].changes ? "did not change" : "changed");
        wr_writer_free(&e);
        wr_mud_model_free(m);
        free(text);
    }
    wr_writer_free(&e0);
    wr_mud_model_free(m0);
}

/* ---- the sample world ------------------------------------------------------- */

static void test_sample_world(void **state)
{
    (void)state;
    struct wr_mud_model *m = load_dir("world");
    struct wr_writer e;
    round_trip(m, &e);

    /* The export is a world like any other: same counts and keys. */
    struct wr_mud_model *m2 = parse_or_fail(e.base, e.len, "the sample's export");
    assert_int_equal(m2->n_zones, m->n_zones);
    assert_int_equal(m2->n_rooms, m->n_rooms);
    assert_int_equal(m2->n_items, m->n_items);
    assert_int_equal(m2->n_npcs, m->n_npcs);
    assert_int_equal(m2->n_item_spawners, m->n_item_spawners);
    assert_int_equal(m2->n_npc_spawners, m->n_npc_spawners);
    assert_int_equal(m2->n_channels, m->n_channels);
    assert_int_equal(m2->n_races, m->n_races);
    assert_int_equal(m2->n_classes, m->n_classes);
    assert_int_equal(m2->n_skills, m->n_skills);
    assert_int_equal(m2->n_shops, m->n_shops);
    assert_int_equal(m2->n_quests, m->n_quests);
    assert_int_equal(m2->n_socials, m->n_socials);
    assert_string_equal(m2->rooms[m2->start_room].key, m->rooms[m->start_room].key);
    for (size_t i = 0; i < m->n_rooms; i++) {
        long j = wr_mud_model_room(m2, m->rooms[i].key);
        assert_true(j >= 0);
        assert_string_equal(m2->rooms[j].name, m->rooms[i].name);
        assert_string_equal(m2->rooms[j].desc, m->rooms[i].desc);
        assert_int_equal(m2->rooms[j].x, m->rooms[i].x);
        for (int d = 0; d < WR_MUD_NDIRS; d++) {
            const struct wr_mud_exit *a = &m->rooms[i].exits[d], *b = &m2->rooms[j].exits[d];
            assert_int_equal(a->to == WR_MUD_NO_ROOM, b->to == WR_MUD_NO_ROOM);
            if (a->to != WR_MUD_NO_ROOM)
                assert_string_equal(m->rooms[a->to].key, m2->rooms[b->to].key);
            assert_int_equal(a->door, b->door);
            assert_int_equal(a->closed, b->closed);
        }
    }
    for (size_t i = 0; i < m->n_items; i++) {
        long j = wr_mud_model_item(m2, m->items[i].key);
        assert_true(j >= 0);
        assert_string_equal(m2->items[j].keywords, m->items[i].keywords);
        assert_string_equal(m2->zones[m2->items[j].zone].key, m->zones[m->items[i].zone].key);
    }

    /* Stable: the export of the sample world parsed twice is the same. */
    struct wr_mud_model *m3 = load_dir("world");
    struct wr_writer e3;
    export_or_fail(m3, &e3);
    assert_true(same_bytes(&e, &e3));

    /* The files: world.yaml, then one per zone, named by the zone. */
    char *w = file_in(&e, "world.yaml"), *town = file_in(&e, "zones/town.yaml");
    assert_non_null(w);
    assert_non_null(town);
    assert_non_null(strstr(w, "\nstart: town.square\n"));
    assert_non_null(strstr(w, "\nrules:\n  round: 2000\n"));
    assert_non_null(strstr(town, "\nzone:\n  id: town\n"));
    free(w);
    free(town);

    wr_writer_free(&e);
    wr_writer_free(&e3);
    wr_mud_model_free(m);
    wr_mud_model_free(m2);
    wr_mud_model_free(m3);
}

/* ---- gameplay ----------------------------------------------------------------- */

static const char game_world[] =
    "name: Game\n"
    "start: town.square\n"
    "rules: {round: 1500ms, regen: 4s, corpse: 2m, max_level: 20, xp_base: 50, death_xp: 5,\n"
    "        start_gold: 7, hone_cost: 3}\n"
    "races:\n"
    "  - {id: human, name: Human, stats: {strength: 11}}\n"
    "  - id: elf\n"
    "    name: Elf\n"
    "    desc: Tall and patient.\n"
    "    stats: {agility: 13, vitality: 8, willpower: 12}\n"
    "classes:\n"
    "  - {id: warrior, name: Warrior, stats: {strength: 2}, attack: slashing}\n"
    "  - {id: mage, name: Mage, desc: Reads a lot., stats: {intelligence: 3, strength: -1}}\n"
    "skills:\n"
    "  - id: missile\n"
    "    name: magic missile\n"
    "    desc: A bolt of force.\n"
    "    level: 2\n"
    "    classes: [mage]\n"
    "    cost: 5\n"
    "    cooldown: 3s\n"
    "    effects: [{kind: damage, type: arcane, amount: 4, roll: 6, scale: intelligence}]\n"
    "    msg: {actor: 'You hurl a missile at {target}.', target: '{actor} hurls a missile at "
    "you.', room: '{actor} hurls a missile at {target}.'}\n"
    "  - id: bash\n"
    "    name: shield bash\n"
    "    pool: endurance\n"
    "    cost: 3\n"
    "    trained: true\n"
    "    train_cost: 40\n"
    "    effects:\n"
    "      - {kind: damage, type: bludgeoning, amount: 2}\n"
    "      - {kind: stat, stat: agility, amount: -2, duration: 10s}\n"
    "  - id: mend\n"
    "    name: mend\n"
    "    target: self\n"
    "    classes: []\n"
    "    effects:\n"
    "      - {kind: recover, pool: health, amount: 10, roll: 4, self: true}\n"
    "      - {kind: armour, type: fire, amount: 5, duration: 1m}\n"
    "      - {kind: dot, type: poison, amount: 1, duration: 6s, scale: willpower}\n"
    "socials:\n"
    "  - id: smile\n"
    "    alone: {actor: You smile., room: '{actor} smiles.'}\n"
    "    other: {actor: 'You smile at {target}.', target: '{actor} smiles at you.', room: "
    "'{actor} smiles at {target}.'}\n"
    "  - {id: shrug, alone: {}, other: {actor: You shrug.}}\n";

static const char game_town[] =
    "zone: {id: town, name: Town, desc: A town., graveyard: square}\n"
    "rooms:\n"
    "  - {id: square, name: Square, desc: A square., x: 0, y: 0, exits: {e: shop, n: "
    "wild.field}}\n"
    "  - {id: shop, name: Shop, desc: A shop., x: 1, y: 0, exits: {w: square}}\n"
    "items:\n"
    "  - id: sword\n"
    "    name: a short sword\n"
    "    keywords: sword short\n"
    "    desc: Sharp.\n"
    "    ground: A short sword lies here.\n"
    "    slot: wield\n"
    "    stats: {strength: 1}\n"
    "    damage: {type: slashing, min: 2, max: 7}\n"
    "    price: 30\n"
    "    level: 2\n"
    "  - id: helm\n"
    "    name: a helm\n"
    "    keywords: helm\n"
    "    desc: Dented.\n"
    "    ground: A helm is here.\n"
    "    slot: head\n"
    "    armour: {slashing: 2, fire: -1}\n"
    "    price: 12\n"
    "  - id: potion\n"
    "    name: a red potion\n"
    "    keywords: potion red\n"
    "    desc: It smells of cherries.\n"
    "    ground: A red potion stands here.\n"
    "    price: 5\n"
    "    uses:\n"
    "      - verb: drink\n"
    "        effects: [{kind: recover, pool: health, amount: 15}]\n"
    "        msg: {actor: You drink the potion., room: '{actor} drinks a potion.'}\n"
    "      - {verb: sniff, effects: [{kind: stat, stat: awareness, amount: 1, duration: 5s}],\n"
    "         consumed: false}\n"
    "npcs:\n"
    "  - id: smith\n"
    "    name: the smith\n"
    "    keywords: smith\n"
    "    desc: Big arms.\n"
    "    ground: The smith works here.\n"
    "    teaches: [bash]\n"
    "    talk:\n"
    "      - {topic: hello, text: 'Hello, {name}.'}\n"
    "      - {topic: rats, text: Rats in the field. Kill two., quest: rats}\n"
    "  - id: rat\n"
    "    name: a giant rat\n"
    "    keywords: rat giant\n"
    "    desc: Big teeth.\n"
    "    ground: A giant rat snuffles here.\n"
    "    max_distance: 1\n"
    "    level: 2\n"
    "    stats: {agility: 12}\n"
    "    health: 30\n"
    "    armour: {poison: 3, holy: -2}\n"
    "    attack: {type: piercing, min: 1, max: 3}\n"
    "    gold: {min: 1, max: 4}\n"
    "    aggressive: true\n"
    "    drops: [{item: potion, chance: 25}, {item: helm}]\n"
    "    behaviour:\n"
    "      timer: {min_delay: 20s, random_delay: 5s, actions: [{move: true}]}\n"
    "      combat: [{attack: true, weight: 3}, {skill: bash}, {emote: squeals.}]\n"
    "      targeted: [{say: Squeak!}]\n"
    "  - id: mouse\n"
    "    name: a mouse\n"
    "    keywords: mouse\n"
    "    desc: Small.\n"
    "    ground: A mouse is here.\n"
    "    level: 1\n"
    "shops:\n"
    "  - id: armoury\n"
    "    name: The Armoury\n"
    "    room: shop\n"
    "    keeper: smith\n"
    "    buy_percent: 40\n"
    "    stock: [{item: sword, count: 2}, {item: helm, price: 20}, {item: potion, count: 0}]\n"
    "quests:\n"
    "  - id: rats\n"
    "    name: Rat trouble\n"
    "    desc: Kill the rats in the field.\n"
    "    giver: smith\n"
    "    level: 2\n"
    "    steps:\n"
    "      - {kill: rat, count: 2, desc: Kill two giant rats}\n"
    "      - {collect: potion}\n"
    "      - {visit: wild.field}\n"
    "      - {talk: smith, desc: Go back to the smith}\n"
    "    reward: {xp: 100, gold: 10, items: [helm, potion]}\n"
    "    done: 'Good work, {name}.'\n"
    "    consume: false\n";

static const char game_wild[] =
    "zone: {id: wild, name: Wilds, desc: Open country., graveyard: town.square}\n"
    "rooms:\n"
    "  - {id: field, name: A Field, desc: Grass., x: 0, y: -1, exits: {s: town.square}}\n"
    "item_spawners: [{item: sword, room: town.shop, interval: 1h}]\n"
    "npc_spawners: [{npc: rat, room: field, interval: 30s}]\n"
    "quests:\n"
    "  - {id: walk, name: A walk, desc: Walk about., giver: mouse, steps: [{visit: "
    "town.shop}]}\n";

static void test_gameplay_round_trip(void **state)
{
    (void)state;
    struct file f[] = {
        {"world.yaml", game_world}, {"zones/town.yaml", game_town}, {"zones/wild.yaml", game_wild}};
    struct wr_mud_model *m = parse_files(f, 3);
    struct wr_writer e;
    round_trip(m, &e);
    struct wr_mud_model *m2 = parse_or_fail(e.base, e.len, "the gameplay export");

    /* Spot checks on the model read back: the defaults and the indexes. */
    assert_int_equal(m2->rules.round_ms, 1500);
    assert_int_equal(m2->rules.hone_cost, 3);
    assert_int_equal(m2->n_races, 2);
    assert_int_equal(m2->races[1].stats[WR_STAT_AGI], 13);
    assert_int_equal(m2->races[1].stats[WR_STAT_STR], 10);
    long mage = wr_mud_model_class(m2, "mage");
    assert_int_equal(m2->classes[mage].attack_dtype, WR_DT_BLUDGEON);
    long missile = wr_mud_model_skill(m2, "missile"), bash = wr_mud_model_skill(m2, "bash"),
         mend = wr_mud_model_skill(m2, "mend");
    assert_int_equal(m2->skills[missile].n_classes, 1);
    assert_int_equal(m2->skills[missile].classes[0], mage);
    assert_int_equal(m2->skills[bash].n_classes, 2); /* none listed: every class */
    assert_int_equal(m2->skills[mend].n_classes, 0); /* [] : none */
    assert_int_equal(m2->skills[bash].cost_pool, WR_POOL_EP);
    assert_int_equal(m2->skills[bash].train_cost, 40);
    assert_int_equal(m2->skills[missile].effects[0].scale_stat, WR_STAT_INT);
    assert_int_equal(m2->skills[bash].effects[0].scale_stat, 255);
    assert_int_equal(m2->skills[mend].effects[2].duration_ms, 6000);
    assert_true(m2->skills[mend].effects[0].self);
    assert_null(m2->socials[1].alone.actor);
    assert_string_equal(m2->socials[0].other.target, "{actor} smiles at you.");

    long sword = wr_mud_model_item(m2, "sword"), potion = wr_mud_model_item(m2, "potion");
    assert_int_equal(m2->items[sword].slot, WR_SLOT_WIELD);
    assert_int_equal(m2->items[sword].dmg_max, 7);
    assert_int_equal(m2->items[potion].slot, WR_SLOT_NONE);
    assert_int_equal(m2->items[potion].n_uses, 2);
    assert_true(m2->items[potion].uses[0].consumed);
    assert_false(m2->items[potion].uses[1].consumed);

    long rat = wr_mud_model_npc(m2, "rat"), mouse = wr_mud_model_npc(m2, "mouse"),
         smith = wr_mud_model_npc(m2, "smith");
    assert_int_equal(m2->npcs[rat].max[WR_POOL_HP], 30);
    assert_int_equal(m2->npcs[rat].max[WR_POOL_SP], 20); /* 10 * level */
    assert_int_equal(m2->npcs[rat].drops[1].chance, 100);
    assert_int_equal(m2->npcs[rat].combat[1].kind, WR_ACT_SKILL);
    assert_int_equal(m2->npcs[rat].combat[1].skill, bash);
    assert_int_equal(m2->npcs[mouse].dmg_max, 2); /* 2 * level */
    assert_int_equal(m2->npcs[smith].level, 0);
    assert_int_equal(m2->npcs[smith].topics[1].quest, wr_mud_model_quest(m2, "rats"));
    assert_int_equal(m2->npcs[smith].topics[0].quest, UINT32_MAX);

    assert_int_equal(m2->n_shops, 1);
    assert_int_equal(m2->shops[0].keeper, smith);
    assert_int_equal(m2->shops[0].stock[0].count, 2);
    assert_int_equal(m2->shops[0].stock[1].count, -1);
    assert_int_equal(m2->shops[0].stock[1].price, 20);
    assert_int_equal(m2->shops[0].stock[2].count, 0);
    long rats = wr_mud_model_quest(m2, "rats");
    assert_int_equal(m2->quests[rats].n_steps, 4);
    assert_int_equal(m2->quests[rats].steps[2].what, wr_mud_model_room(m2, "wild.field"));
    assert_int_equal(m2->quests[rats].n_reward_items, 2);
    assert_false(m2->quests[rats].consume);
    assert_true(m2->quests[wr_mud_model_quest(m2, "walk")].consume);

    /* Where things went: the sword is defined in town but spawned from
     * wild's file; it stays in town and its spawner moves to town (its
     * room's zone); the mouse's quest goes with the mouse. */
    char *town = file_in(&e, "zones/town.yaml"), *wild = file_in(&e, "zones/wild.yaml");
    assert_non_null(strstr(town, "- id: sword\n"));
    assert_non_null(strstr(town, "{item: sword, room: shop, interval: 3600000}"));
    assert_null(strstr(wild, "item_spawners"));
    assert_non_null(strstr(wild, "{npc: rat, room: field, interval: 30000}"));
    assert_non_null(strstr(town, "- id: walk\n"));
    assert_non_null(strstr(town, "visit: wild.field")); /* another zone: zone.room */
    assert_non_null(strstr(town, "visit: shop"));       /* its own: short */
    free(town);
    free(wild);

    wr_writer_free(&e);
    wr_mud_model_free(m);
    wr_mud_model_free(m2);
}

/* The documented gameplay example (docs/world-format.md, "### A complete
 * gameplay example": YAML blocks each after a line "`FILE`:") round-trips
 * too, so what the docs show builders always exports canonically. */
static void test_doc_example(void **state)
{
    (void)state;
    static char doc[256 * 1024];
    FILE *fp = fopen("docs/world-format.md", "rb");
    assert_non_null(fp);
    size_t len = fread(doc, 1, sizeof doc - 1, fp);
    fclose(fp);
    doc[len] = '\0';
    char *at = strstr(doc, "\n### A complete gameplay example\n"), *end;
    assert_non_null(at);
    if ((end = strstr(at + 1, "\n## ")) != NULL)
        *end = '\0';
    struct file f[4];
    size_t n = 0;
    while (n < 4 && (at = strstr(at, "\n`")) != NULL) {
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
        f[n++].text = body;
        at = close + 2;
    }
    assert_true(n >= 2);
    struct wr_mud_model *m = parse_files(f, n);
    struct wr_writer e;
    round_trip(m, &e);
    wr_writer_free(&e);
    wr_mud_model_free(m);
}

/* ---- files, names and strings --------------------------------------------------- */

static void test_files_and_strings(void **state)
{
    (void)state;
    /* Zone files named otherwise than their zones, in an order that is not
     * the keys' (the bundle sorts "zones/a-b.yaml" before "zones/a.yaml");
     * strings YAML would read as other types or that need quoting. */
    struct file f[] = {
        {"world.yaml", "name: 'yes'\nstart: a.r1\n"},
        {"x/one.yaml",
         "zone: {id: a, name: '123', desc: \"  indented first line\\nsecond: line # not a "
         "comment\\n\\n  third\", graveyard: r1}\n"
         "rooms:\n"
         "  - {id: r1, name: 'null', desc: \"- starts like a list\", x: 0, y: 0,"
         " exits: {in: a-b.r2}}\n"
         "items:\n"
         "  - {id: thing, name: \"Caf\\u00e9 'quoted' \\\"twice\\\"\", keywords: caf\\u00e9 thing,"
         " desc: \"#hash: colon\", ground: '@at and `tick` and *star'}\n"},
        {"z/two.yaml", "zone: {id: a-b, name: 'true', desc: '~', graveyard: a.r1}\n"
                       "rooms: [{id: r2, name: '', desc: '[not a list]', x: 1, y: 1,"
                       " exits: {out: a.r1}}]\n"},
    };
    char err[512];
    struct wr_writer w;
    struct wr_mud_model *m = NULL;
    bundle_of(&w, f, 3);
    /* the control: an empty name is refused, so that case is fixed below */
    assert_int_equal(wr_mud_model_parse(w.base, w.len, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "name must not be empty"));
    wr_writer_free(&w);
    f[2].text = "zone: {id: a-b, name: 'true', desc: '~', graveyard: a.r1}\n"
                "rooms: [{id: r2, name: '0x1F', desc: '[not a list]', x: 1, y: 1,"
                " exits: {out: a.r1}}]\n";
    m = parse_files(f, 3);
    struct wr_writer e;
    round_trip(m, &e);
    struct wr_mud_model *m2 = parse_or_fail(e.base, e.len, "the export");
    assert_string_equal(m2->name, "yes");
    assert_string_equal(m2->zones[wr_mud_model_zone(m2, "a")].name, "123");
    assert_string_equal(m2->zones[wr_mud_model_zone(m2, "a")].desc,
                        "  indented first line\nsecond: line # not a comment\n\n  third");
    assert_string_equal(m2->zones[wr_mud_model_zone(m2, "a-b")].desc, "~");
    assert_string_equal(m2->rooms[wr_mud_model_room(m2, "a.r1")].name, "null");
    assert_string_equal(m2->rooms[wr_mud_model_room(m2, "a-b.r2")].name, "0x1F");
    assert_string_equal(m2->items[0].name, "Caf\xc3\xa9 'quoted' \"twice\"");
    assert_string_equal(m2->items[0].ground, "@at and `tick` and *star");
    /* files named by zone key, sorted as a bundle is */
    struct wr_reader r;
    wr_reader_init(&r, e.base, e.len);
    wr_get_bytes(&r, 8);
    assert_int_equal(wr_get_u32(&r), 3);
    const char *names[] = {"world.yaml", "zones/a-b.yaml", "zones/a.yaml"};
    for (int i = 0; i < 3; i++) {
        uint32_t nl = wr_get_u32(&r);
        assert_int_equal(nl, strlen(names[i]));
        assert_memory_equal(wr_get_bytes(&r, nl), names[i], nl);
        wr_get_bytes(&r, wr_get_u32(&r));
    }
    /* UTF-8 written as is, not escaped */
    char *one = file_in(&e, "zones/a.yaml");
    assert_non_null(strstr(one, "Caf\xc3\xa9"));
    free(one);
    wr_writer_free(&e);
    wr_mud_model_free(m);
    wr_mud_model_free(m2);
}

/* ---- broken models ----------------------------------------------------------------- */

static void test_broken_models(void **state)
{
    (void)state;
    struct file f[] = {{"world.yaml", tiny_world}, {"zones/town.yaml", tiny_town}};
    char err[256];
    struct wr_writer w;
    wr_writer_init(&w, 64);
    wr_put_bytes(&w, "keep", 4);

    /* the control: the model as parsed exports, appended to what @w held */
    struct wr_mud_model *m = parse_files(f, 2);
    assert_int_equal(wr_mud_model_export(m, &w, err, sizeof err), 0);
    assert_memory_equal(w.base, "keepWRWORLD1", 12);
    w.len = 4;

    m->items[0].zone = 7;
    assert_int_equal(wr_mud_model_export(m, &w, err, sizeof err), -1);
    assert_string_equal(err, "export: item lamp is defined in no zone");
    assert_int_equal(w.len, 4);
    m->items[0].zone = 0;

    uint32_t to = m->rooms[0].exits[WR_DIR_N].to;
    m->rooms[0].exits[WR_DIR_N].to = 99;
    assert_int_equal(wr_mud_model_export(m, &w, err, sizeof err), -1);
    assert_string_equal(err, "export: exit north of room town.square refers to room index 99 (the "
                             "world has 3)");
    assert_int_equal(w.len, 4);
    m->rooms[0].exits[WR_DIR_N].to = to;

    char *name = m->rooms[1].name;
    m->rooms[1].name = NULL;
    assert_int_equal(wr_mud_model_export(m, &w, err, sizeof err), -1);
    assert_string_equal(err, "export: room town.gate has no name");
    m->rooms[1].name = name;

    m->zones[0].key[0] = 'T';
    assert_int_equal(wr_mud_model_export(m, &w, err, sizeof err), -1);
    assert_string_equal(err, "export: zone 0 has no valid id");
    m->zones[0].key[0] = 't';

    m->npcs[0].timers[0].actions[0].kind = 9;
    assert_int_equal(wr_mud_model_export(m, &w, err, sizeof err), -1);
    assert_string_equal(err, "export: npc cat has an action of unknown kind 9");
    m->npcs[0].timers[0].actions[0].kind = WR_ACT_EMOTE;

    /* every fix undone: exports again */
    assert_int_equal(wr_mud_model_export(m, &w, err, sizeof err), 0);
    wr_writer_free(&w);
    wr_mud_model_free(m);

    /* no zones at all */
    struct wr_mud_model *empty = wr_mud_model_new();
    wr_writer_init(&w, 64);
    assert_int_equal(wr_mud_model_export(empty, &w, err, sizeof err), -1);
    assert_string_equal(err, "export: the world has no zones");
    assert_int_equal(w.len, 0);
    wr_writer_free(&w);
    wr_mud_model_free(empty);
}

/* ---- writing a bundle into a directory ----------------------------------------------- */

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_write_dir(void **state)
{
    (void)state;
    char tmp[] = "/tmp/wr-export-XXXXXX", dir[600], err[512];
    assert_non_null(mkdtemp(tmp));
    snprintf(dir, sizeof dir, "%s/out", tmp);

    struct wr_mud_model *m = load_dir("world");
    struct wr_writer e, back;
    export_or_fail(m, &e);

    /* a new directory: written, and read back as the same bundle */
    assert_int_equal(wr_mud_bundle_write_dir(dir, e.base, e.len, false, err, sizeof err), 0);
    wr_writer_init(&back, 4096);
    assert_int_equal(wr_mud_bundle_read_dir(dir, &back, err, sizeof err), 0);
    assert_true(same_bytes(&e, &back));
    wr_writer_free(&back);

    /* not empty any more: refused, unless forced */
    assert_int_equal(wr_mud_bundle_write_dir(dir, e.base, e.len, false, err, sizeof err), -1);
    char want[700];
    snprintf(want, sizeof want, "%s is not empty (--force writes into it anyway)", dir);
    assert_string_equal(err, want);
    assert_int_equal(wr_mud_bundle_write_dir(dir, e.base, e.len, true, err, sizeof err), 0);

    /* its parent must exist */
    char deep[700];
    snprintf(deep, sizeof deep, "%s/no/such", tmp);
    assert_int_equal(wr_mud_bundle_write_dir(deep, e.base, e.len, false, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot create directory"));

    /* names that could escape the directory or hide from the reader */
    static const char *const bad[] = {"../up.yaml",  "/abs.yaml",      ".hidden.yaml",
                                      "z/.h.yaml",   "a//b.yaml",      "zones/x.yml",
                                      "sp ace.yaml", "zones/../x.yaml"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0] + 1; i++) {
        bool control = i == sizeof bad / sizeof bad[0];
        struct file f[] = {{control ? "deeper/zones/ok-1.yaml" : bad[i], "x: 1\n"}};
        struct wr_writer b;
        char sub[700];
        snprintf(sub, sizeof sub, "%s/case%zu", tmp, i);
        bundle_of(&b, f, 1);
        int rv = wr_mud_bundle_write_dir(sub, b.base, b.len, false, err, sizeof err);
        if (control) {
            assert_int_equal(rv, 0);
        } else {
            assert_int_equal(rv, -1);
            assert_non_null(strstr(err, "not a relative path of plain names"));
            assert_int_equal(access(sub, F_OK), -1); /* nothing written */
        }
        wr_writer_free(&b);
    }

    /* not a bundle */
    assert_int_equal(wr_mud_bundle_write_dir(dir, "WRWORLD0", 8, true, err, sizeof err), -1);
    assert_string_equal(err, "not a world bundle (bad magic or file count)");

    wr_writer_free(&e);
    wr_mud_model_free(m);
    rm_rf(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_world_same_export),
        cmocka_unit_test(test_changed_world_changes_export),
        cmocka_unit_test(test_sample_world),
        cmocka_unit_test(test_gameplay_round_trip),
        cmocka_unit_test(test_doc_example),
        cmocka_unit_test(test_files_and_strings),
        cmocka_unit_test(test_broken_models),
        cmocka_unit_test(test_write_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
