/* Unit tests for the world files (mud/worldfile.c): the sample world in
 * world/ loads with the counts and map we expect; parsing is a pure
 * function of the bundle (same bundle, same hash, same model); every class
 * of mistake gives its exact "FILE:LINE:COLUMN: message", next to a
 * positive control in which the same file, fixed, loads; and the node-side
 * directory reader sorts, filters and refuses as documented. Tests run from
 * the repository root (make unit), so the sample world is at "world". */
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
#include "common/log.h"
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

static struct wr_mud_model *load_dir(const char *dir)
{
    struct wr_writer w;
    char err[512];
    struct wr_mud_model *m = NULL;
    wr_writer_init(&w, 4096);
    if (wr_mud_bundle_read_dir(dir, &w, err, sizeof err) != 0)
        fail_msg("read %s: %s", dir, err);
    if (wr_mud_model_parse(w.base, w.len, &m, err, sizeof err) != 0)
        fail_msg("parse %s: %s", dir, err);
    wr_writer_free(&w);
    return m;
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

/* ---- a small world for the error cases ------------------------------------- */

static const char base_world[] = "name: Tiny\n"
                                 "start: town.square\n"
                                 "channels:\n"
                                 "  - {id: global, desc: Everyone, default: on, history: 20}\n"
                                 "  - id: newbie\n"
                                 "    desc: Newcomers\n";

/* Line numbers in the comments: the error cases below point into them. */
static const char base_town[] =
    "zone:\n"                                                                              /* 1 */
    "  id: town\n"                                                                         /* 2 */
    "  name: Town\n"                                                                       /* 3 */
    "  desc: A small town.\n"                                                              /* 4 */
    "  graveyard: square\n"                                                                /* 5 */
    "rooms:\n"                                                                             /* 6 */
    "  - id: square\n"                                                                     /* 7 */
    "    name: The Square\n"                                                               /* 8 */
    "    desc: A cobbled square.\n"                                                        /* 9 */
    "    x: 0\n"                                                                           /* 10 */
    "    y: 0\n"                                                                           /* 11 */
    "    exits:\n"                                                                         /* 12 */
    "      north: gate\n"                                                                  /* 13 */
    "      e: {to: shop, door: door}\n"                                                    /* 14 */
    "  - id: gate\n"                                                                       /* 15 */
    "    name: The Gate\n"                                                                 /* 16 */
    "    desc: A wooden gate.\n"                                                           /* 17 */
    "    x: 0\n"                                                                           /* 18 */
    "    y: -1\n"                                                                          /* 19 */
    "    exits:\n"                                                                         /* 20 */
    "      s: square\n"                                                                    /* 21 */
    "      n: wild.field\n"                                                                /* 22 */
    "  - id: shop\n"                                                                       /* 23 */
    "    name: The Shop\n"                                                                 /* 24 */
    "    desc: A dusty shop.\n"                                                            /* 25 */
    "    x: 1\n"                                                                           /* 26 */
    "    y: 0\n"                                                                           /* 27 */
    "    exits:\n"                                                                         /* 28 */
    "      w: {to: square, door: door, closed: true}\n"                                    /* 29 */
    "items:\n"                                                                             /* 30 */
    "  - id: lamp\n"                                                                       /* 31 */
    "    name: a lamp\n"                                                                   /* 32 */
    "    keywords: Lamp  brass\n"                                                          /* 33 */
    "    desc: |\n"                                                                        /* 34 */
    "      A brass lamp.\n"                                                                /* 35 */
    "      It is cold.\n"                                                                  /* 36 */
    "    ground: A lamp is here.\n"                                                        /* 37 */
    "item_spawners:\n"                                                                     /* 38 */
    "  - {item: lamp, room: shop, interval: 30s}\n"                                        /* 39 */
    "npcs:\n"                                                                              /* 40 */
    "  - id: cat\n"                                                                        /* 41 */
    "    name: a cat\n"                                                                    /* 42 */
    "    keywords: [cat, grey]\n"                                                          /* 43 */
    "    desc: A grey cat.\n"                                                              /* 44 */
    "    ground: A cat sleeps here.\n"                                                     /* 45 */
    "    max_distance: 1\n"                                                                /* 46 */
    "    behaviour:\n"                                                                     /* 47 */
    "      timer: {min_delay: 10s, actions: [{emote: purrs.}, {move: true, weight: 2}]}\n" /* 48 */
    "      greet: {say: \"Mew, {name}.\"}\n"                                               /* 49 */
    "      hear: [{pattern: fish, delay: 1s, emote: perks up.}]\n"                         /* 50 */
    "npc_spawners:\n"                                                                      /* 51 */
    "  - {npc: cat, room: square}\n";                                                      /* 52 */

static const char base_wild[] =
    "zone: {id: wild, name: Wilds, desc: Open country., graveyard: field}\n"
    "rooms:\n"
    "  - {id: field, name: A Field, desc: Grass., x: 0, y: -2, "
    "exits: {s: town.gate}}\n";

enum { F_WORLD, F_TOWN, F_WILD };

/* Parse the base world with file @which replaced by @text. */
static int parse_variant(int which, const char *text, struct wr_mud_model **m, char *err,
                         size_t errlen)
{
    struct file f[3] = {
        {"world.yaml", base_world}, {"zones/town.yaml", base_town}, {"zones/wild.yaml", base_wild}};
    f[which].text = text;
    struct wr_writer w;
    bundle_of(&w, f, 3);
    int rv = wr_mud_model_parse(w.base, w.len, m, err, errlen);
    wr_writer_free(&w);
    return rv;
}

static const char *base_of(int which)
{
    return which == F_WORLD ? base_world : which == F_TOWN ? base_town : base_wild;
}

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

static const char long81[] =
    "    name: "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
static const char long80[] =
    "    name: "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";

static const struct error_case cases[] = {
    /* YAML syntax, from libyaml, with its position */
    {F_TOWN, "    name: The Square\n", "    name: The: Square\n", NULL,
     "zones/town.yaml:8:14: mapping values are not allowed in this context"},
    {F_TOWN, "    keywords: [cat, grey]\n", "    keywords: [cat, grey\n", NULL,
     "zones/town.yaml:44:9: did not find expected ',' or ']' (while parsing a flow sequence at "
     "line 43)"},
    /* unknown key */
    {F_TOWN, "    desc: A dusty shop.\n", "    desc: A dusty shop.\n    colour: red\n", NULL,
     "zones/town.yaml:26:5: unknown key colour in room (expected id, name, desc, x, y, z, exits)"},
    {F_WORLD, "name: Tiny\n", "name: Tiny\nmotd: hi\n", NULL,
     "world.yaml:2:1: unknown key motd in world.yaml (expected name, start, channels, rules, "
     "races, classes, skills, socials)"},
    /* duplicate key */
    {F_TOWN, "    name: a cat\n", "    name: a cat\n    name: a dog\n", NULL,
     "zones/town.yaml:43:5: duplicate key name in npc"},
    /* missing required field */
    {F_TOWN, "    name: The Gate\n", "", NULL,
     "zones/town.yaml:15:5: room town.gate is missing name"},
    {F_TOWN, "    ground: A lamp is here.\n", "", NULL,
     "zones/town.yaml:31:5: item lamp is missing ground"},
    /* wrong types */
    {F_TOWN, "    y: -1\n", "    y: north\n", NULL,
     "zones/town.yaml:19:8: y must be a whole number"},
    {F_TOWN, "    x: 1\n", "    x: \"1\"\n", NULL,
     "zones/town.yaml:26:8: x must be a whole number"},
    {F_WORLD, "default: on", "default: maybe", "default: off",
     "world.yaml:4:43: default must be true or false"},
    {F_WILD, "rooms:\n  - ", "rooms: ", NULL, "zones/wild.yaml:2:8: rooms must be a list"},
    {F_WILD, "exits: {s: town.gate}", "exits: [s, town.gate]", NULL,
     "zones/wild.yaml:3:66: exits must be a mapping of direction: room"},
    /* exits */
    {F_TOWN, "      s: square\n", "      s: sqaure\n", NULL,
     "zones/town.yaml:21:10: exit south leads to unknown room town.sqaure"},
    {F_TOWN, "      n: wild.field\n", "      n: wild.meadow\n", NULL,
     "zones/town.yaml:22:10: exit north leads to unknown room wild.meadow"},
    {F_TOWN, "      s: square\n", "      sideways: square\n", "      south: square\n",
     "zones/town.yaml:21:7: unknown exit direction sideways (expected n, s, e, w, ne, nw, se, sw, "
     "u, d, in, out or north, south... in full)"},
    {F_TOWN, "      s: square\n", "      s: square\n      south: shop\n", NULL,
     "zones/town.yaml:22:7: exit south is given twice (first at line 21)"},
    {F_TOWN, "      w: {to: square, door: door, closed: true}\n",
     "      w: {to: square, closed: true}\n", "      w: {to: square, door: door}\n",
     "zones/town.yaml:29:31: closed needs a door on exit west (add door: NAME)"},
    /* duplicate ids */
    {F_TOWN, "  - id: shop\n", "  - id: gate\n", NULL,
     "zones/town.yaml:23:9: duplicate room id town.gate (first defined at zones/town.yaml:15:9)"},
    {F_WILD, "{id: wild,", "{id: town,", NULL,
     "zones/wild.yaml:1:12: duplicate zone id town (first defined at zones/town.yaml:2:7)"},
    {F_WORLD, "  - id: newbie\n", "  - id: global\n", NULL,
     "world.yaml:5:9: duplicate channel id global (first defined at world.yaml:4:10)"},
    /* bad ids */
    {F_TOWN, "  - id: shop\n", "  - id: Shop\n", NULL,
     "zones/town.yaml:23:9: room id Shop is not a valid id (lowercase letters, digits, _ and -, "
     "starting with a letter, at most 32 bytes)"},
    /* numbers out of range */
    {F_TOWN, "    x: 1\n", "    x: 10001\n", "    x: 10000\n",
     "zones/town.yaml:26:8: x must be between -10000 and 10000 (got 10001)"},
    {F_WORLD, "history: 20", "history: 201", "history: 200",
     "world.yaml:4:56: history must be between 0 and 200 (got 201)"},
    {F_TOWN, "weight: 2", "weight: 0", "weight: 1000",
     "zones/town.yaml:48:79: weight must be between 1 and 1000 (got 0)"},
    {F_TOWN, "    max_distance: 1\n", "    max_distance: 101\n", "    max_distance: 100\n",
     "zones/town.yaml:46:19: max_distance must be between 0 and 100 (got 101)"},
    /* durations */
    {F_TOWN, "interval: 30s", "interval: 5 minutes", "interval: 5m",
     "zones/town.yaml:39:40: interval: bad duration 5 minutes (milliseconds, or a number with "
     "ms, s, m or h: 30s, 5m, 1h30m)"},
    {F_TOWN, "interval: 30s", "interval: 999", "interval: 1000",
     "zones/town.yaml:39:40: interval must be between 1000 and 86400000 ms (got 999)"},
    {F_TOWN, "interval: 30s", "interval: 25h", "interval: 23h59m60s",
     "zones/town.yaml:39:40: interval must be between 1000 and 86400000 ms (got 25h)"},
    {F_TOWN, "delay: 1s", "delay: 1h1ms", "delay: 1h",
     "zones/town.yaml:50:37: delay must be between 0 and 3600000 ms (got 1h1ms)"},
    /* the start room */
    {F_WORLD, "start: town.square\n", "start: town.plaza\n", "start: wild.field\n",
     "world.yaml:2:8: start room town.plaza does not exist"},
    {F_WORLD, "start: town.square\n", "start: square\n", NULL,
     "world.yaml:2:8: start must name a room as zone.room (got square)"},
    {F_WORLD, "start: town.square\n", "", NULL, "world.yaml:1:1: world.yaml is missing start"},
    /* graveyards */
    {F_TOWN, "  graveyard: square\n", "", "  graveyard: wild.field\n",
     "zones/town.yaml:2:3: zone town is missing graveyard"},
    {F_TOWN, "  graveyard: square\n", "  graveyard: crypt\n", "  graveyard: shop\n",
     "zones/town.yaml:5:14: graveyard town.crypt is not a room"},
    /* strings */
    {F_TOWN, "    name: The Gate\n", long81, long80,
     "zones/town.yaml:16:11: name is too long (81 bytes, at most 80)"},
    {F_TOWN, "    desc: A grey cat.\n", "    desc: \"A grey\\e[31m cat.\"\n",
     "    desc: \"A grey\\u00e9 cat.\"\n",
     "zones/town.yaml:44:11: desc contains a control character"},
    {F_TOWN, "    name: The Shop\n", "    name: \"Two\\nlines\"\n", NULL,
     "zones/town.yaml:24:11: name contains a control character"},
    {F_TOWN, "    name: The Shop\n", "    name:\n", NULL,
     "zones/town.yaml:24:10: name must not be empty"},
    /* references to items and NPCs */
    {F_TOWN, "{item: lamp,", "{item: lamb,", NULL, "zones/town.yaml:39:12: unknown item lamb"},
    {F_TOWN, "{npc: cat,", "{npc: dog,", NULL, "zones/town.yaml:52:11: unknown npc dog"},
    {F_TOWN, "{npc: cat, room: square}", "{npc: cat, room: attic}", NULL,
     "zones/town.yaml:52:22: unknown room town.attic"},
    /* behaviour */
    {F_TOWN, "    max_distance: 1\n", "", NULL,
     "zones/town.yaml:47:65: move needs the npc's max_distance to be at least 1"},
    {F_TOWN, "{emote: purrs.}", "{emote: purrs., say: mew}", NULL,
     "zones/town.yaml:48:41: action needs exactly one of say, emote or move"},
    {F_TOWN, "{pattern: fish, ", "{", NULL, "zones/town.yaml:50:14: hear is missing pattern"},
    {F_TOWN, "min_delay: 10s", "min_delay: 10s, random_delay: -1", NULL,
     "zones/town.yaml:48:45: random_delay must be between 0 and 3600000 ms (got -1)"},
    /* YAML features we refuse */
    {F_TOWN, "    name: a lamp\n", "    name: &l a lamp\n", NULL,
     "zones/town.yaml:32:11: anchors (&name) are not supported"},
    {F_TOWN, "    name: a lamp\n", "    name: !!str a lamp\n", NULL,
     "zones/town.yaml:32:11: tags (!name) are not supported"},
    {F_WILD, "exits: {s: town.gate}}\n", "exits: {s: town.gate}}\n---\nzone: {}\n", NULL,
     "zones/wild.yaml:4:1: only one YAML document per file"},
};

static void test_errors(void **state)
{
    (void)state;
    size_t failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        failed += !check_case(&cases[i]);
    assert_int_equal(failed, 0);
}

static void test_base_world(void **state)
{
    (void)state;
    struct wr_mud_model *m = NULL;
    char err[512];
    assert_int_equal(parse_variant(F_TOWN, base_town, &m, err, sizeof err), 0);
    assert_string_equal(m->name, "Tiny");
    assert_int_equal(m->n_zones, 2);
    assert_int_equal(m->n_rooms, 4);
    assert_string_equal(m->rooms[m->start_room].key, "town.square");
    long sq = wr_mud_model_room(m, "town.square"), gate = wr_mud_model_room(m, "town.gate");
    long shop = wr_mud_model_room(m, "town.shop"), field = wr_mud_model_room(m, "wild.field");
    assert_true(sq >= 0 && gate >= 0 && shop >= 0 && field >= 0);
    const struct wr_mud_room *r = &m->rooms[sq];
    assert_int_equal(r->exits[WR_DIR_N].to, gate);
    assert_int_equal(r->exits[WR_DIR_E].to, shop);
    assert_true(r->exits[WR_DIR_E].door && !r->exits[WR_DIR_E].closed);
    assert_string_equal(r->exits[WR_DIR_E].door_name, "door");
    assert_int_equal(r->exits[WR_DIR_W].to, WR_MUD_NO_ROOM);
    assert_null(r->exits[WR_DIR_W].door_name);
    assert_true(m->rooms[shop].exits[WR_DIR_W].closed);
    assert_int_equal(m->rooms[gate].exits[WR_DIR_N].to, field);
    assert_int_equal(m->rooms[field].exits[WR_DIR_S].to, gate);
    assert_int_equal(m->rooms[gate].y, -1);
    assert_int_equal(m->rooms[gate].z, 0);
    assert_int_equal(m->zones[m->rooms[field].zone].graveyard, field);
    /* strings: block scalar trimmed, keywords normalised */
    assert_string_equal(m->items[0].desc, "A brass lamp.\nIt is cold.");
    assert_string_equal(m->items[0].keywords, "lamp brass");
    assert_false(m->items[0].fixed);
    assert_int_equal(m->item_spawners[0].interval_ms, 30000);
    assert_int_equal(m->item_spawners[0].room, shop);
    /* the NPC, its rules and the spawner's default interval */
    const struct wr_mud_npc *n = &m->npcs[0];
    assert_string_equal(n->keywords, "cat grey");
    assert_int_equal(n->n_timers, 1);
    assert_int_equal(n->timers[0].min_delay_ms, 10000);
    assert_int_equal(n->timers[0].random_delay_ms, 0);
    assert_int_equal(n->timers[0].n_actions, 2);
    assert_int_equal(n->timers[0].actions[0].kind, WR_ACT_EMOTE);
    assert_int_equal(n->timers[0].actions[0].weight, 1);
    assert_int_equal(n->timers[0].actions[1].kind, WR_ACT_MOVE);
    assert_null(n->timers[0].actions[1].text);
    assert_int_equal(n->timers[0].actions[1].weight, 2);
    assert_int_equal(n->n_greets, 1);
    assert_int_equal(n->greets[0].action.kind, WR_ACT_SAY);
    assert_string_equal(n->greets[0].action.text, "Mew, {name}.");
    assert_int_equal(n->n_hears, 1);
    assert_string_equal(n->hears[0].pattern, "fish");
    assert_int_equal(n->hears[0].delay_ms, 1000);
    assert_int_equal(m->npc_spawners[0].interval_ms, 60000);
    /* channels */
    assert_int_equal(m->n_channels, 2);
    assert_true(m->channels[0].on_by_default);
    assert_int_equal(m->channels[0].history, 20);
    assert_false(m->channels[1].on_by_default);
    assert_int_equal(m->channels[1].history, 0);
    wr_mud_model_free(m);
}

/* ---- the sample world ---------------------------------------------------- */

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

/* The sample world's gameplay: what the gameplay areas' tests and the
 * docs rely on. */
static void sample_gameplay(const struct wr_mud_model *m)
{
    static const char *const races[] = {"human", "elf", "dwarf"};
    static const char *const classes[] = {"warrior", "mage", "cleric"};
    static const char *const socials[] = {"smile", "nod",   "wave", "bow",   "laugh",
                                          "grin",  "shrug", "hug",  "cheer", "sigh"};
    assert_int_equal(m->n_races, 3);
    assert_int_equal(m->n_classes, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(wr_mud_model_race(m, races[i]), i);
        assert_int_equal(wr_mud_model_class(m, classes[i]), i);
    }
    assert_int_equal(m->n_socials, 10);
    for (size_t i = 0; i < 10; i++)
        assert_string_equal(m->socials[i].key, socials[i]);
    assert_true(m->n_skills >= 6 && m->n_skills <= 10);
    long mm = wr_mud_model_skill(m, "magic_missile");
    assert_true(mm >= 0);
    assert_string_equal(m->skills[mm].name, "magic missile");
    assert_int_equal(m->skills[mm].effects[0].kind, WR_EFF_DAMAGE);
    /* a damage over time, a heal, a stat buff, a physical skill, a trained one */
    bool dot = false, heal = false, buff = false, physical = false, trained = false;
    for (size_t i = 0; i < m->n_skills; i++) {
        const struct wr_mud_skill *sk = &m->skills[i];
        for (size_t e = 0; e < sk->n_effects; e++) {
            dot |= sk->effects[e].kind == WR_EFF_DOT;
            heal |= sk->effects[e].kind == WR_EFF_RECOVER && sk->effects[e].pool == WR_POOL_HP;
            buff |= sk->effects[e].kind == WR_EFF_STAT && sk->effects[e].amount > 0;
        }
        physical |= sk->cost_pool == WR_POOL_EP && sk->n_classes > 0;
        trained |= sk->trained;
    }
    assert_true(dot && heal && buff && physical && trained);

    /* shops with keepers in town: weapons and a general store */
    assert_int_equal(m->n_shops, 2);
    for (size_t i = 0; i < m->n_shops; i++) {
        const struct wr_mud_shop *sh = &m->shops[i];
        assert_string_equal(m->zones[m->rooms[sh->room].zone].key, "town");
        assert_true(sh->keeper < m->n_npcs && sh->n_stock >= 4);
    }
    long forge = wr_mud_model_shop_in(m, (uint32_t)wr_mud_model_room(m, "town.smithy"));
    assert_true(forge >= 0);
    size_t weapons = 0;
    for (size_t k = 0; k < m->shops[forge].n_stock; k++)
        weapons += m->items[m->shops[forge].stock[k].item].slot == WR_SLOT_WIELD;
    assert_true(weapons >= 2);
    long potion = wr_mud_model_item(m, "healing_potion");
    assert_true(potion >= 0 && m->items[potion].n_uses == 1);
    assert_string_equal(m->items[potion].uses[0].verb, "drink");

    /* fighting: rats in the mine (some aggressive), a trainer */
    size_t fighters = 0, aggressive = 0, trainers = 0;
    for (size_t i = 0; i < m->n_npcs; i++) {
        fighters += m->npcs[i].level > 0;
        aggressive += m->npcs[i].aggressive;
        trainers += m->npcs[i].n_teaches > 0;
    }
    assert_true(fighters >= 3 && aggressive >= 1 && trainers >= 1);
    const struct wr_mud_npc *rat = &m->npcs[wr_mud_model_npc(m, "tunnel_rat")];
    assert_true(rat->level >= 1 && rat->n_drops >= 1);
    /* no aggressive NPC in town, where the cluster tests walk */
    for (size_t s = 0; s < m->n_npc_spawners; s++) {
        const struct wr_mud_npc *n = &m->npcs[m->npc_spawners[s].npc];
        if (n->aggressive)
            assert_string_not_equal(m->zones[m->rooms[m->npc_spawners[s].room].zone].key, "town");
    }

    /* quests: the foreman's rats (offered in his talk), a collect, a visit */
    long rats = wr_mud_model_quest(m, "rats");
    assert_true(rats >= 0);
    const struct wr_mud_quest *q = &m->quests[rats];
    assert_int_equal(q->giver, wr_mud_model_npc(m, "foreman_ghost"));
    assert_int_equal(q->steps[0].kind, WR_STEP_KILL);
    assert_int_equal(q->steps[0].what, wr_mud_model_npc(m, "tunnel_rat"));
    bool offered = false;
    const struct wr_mud_npc *foreman = &m->npcs[q->giver];
    for (size_t t = 0; t < foreman->n_topics; t++)
        offered |= foreman->topics[t].quest == (uint32_t)rats;
    assert_true(offered);
    bool collect = false, visit = false;
    for (size_t i = 0; i < m->n_quests; i++)
        for (size_t k = 0; k < m->quests[i].n_steps; k++) {
            collect |= m->quests[i].steps[k].kind == WR_STEP_COLLECT;
            visit |= m->quests[i].steps[k].kind == WR_STEP_VISIT;
        }
    assert_true(collect && visit);
}

static void test_sample_world(void **state)
{
    (void)state;
    struct wr_mud_model *m = load_dir("world");
    assert_string_equal(m->name, "The Ferrow Vale");
    assert_int_equal(m->n_zones, 3);
    assert_int_equal(m->n_rooms, 48);
    assert_int_equal(m->n_items, 32);
    assert_int_equal(m->n_item_spawners, 22);
    assert_int_equal(m->n_npcs, 16);
    assert_int_equal(m->n_npc_spawners, 17);
    assert_int_equal(m->n_channels, 3);
    assert_string_equal(m->rooms[m->start_room].key, "town.square");
    for (int i = 0; i < 2; i++) {
        long ch = wr_mud_model_channel(m, i == 0 ? "global" : "newbie");
        assert_true(ch >= 0);
        assert_true(m->channels[ch].on_by_default);
        assert_int_equal(m->channels[ch].history, 20);
    }
    /* every zone's graveyard is one of its rooms */
    for (size_t z = 0; z < m->n_zones; z++)
        assert_int_equal(m->rooms[m->zones[z].graveyard].zone, z);

    /* The map: every exit is two-way, with the same door (name and state)
     * on both sides; compass exits move one step on the map (north = y-1),
     * up and down change only z; no two rooms share a place. */
    static const int dx[] = {0, 0, 1, -1, 1, -1, 1, -1}, dy[] = {-1, 1, 0, 0, -1, -1, 1, 1};
    size_t doors = 0, closed = 0;
    for (size_t i = 0; i < m->n_rooms; i++) {
        const struct wr_mud_room *r = &m->rooms[i];
        for (int d = 0; d < WR_MUD_NDIRS; d++) {
            const struct wr_mud_exit *x = &r->exits[d];
            if (x->to == WR_MUD_NO_ROOM)
                continue;
            const struct wr_mud_room *t = &m->rooms[x->to];
            const struct wr_mud_exit *back = &t->exits[wr_mud_dir_reverse((enum wr_mud_dir)d)];
            if (back->to != i)
                fail_msg("%s -> %s (%s) has no way back", r->key, t->key,
                         wr_mud_dir_name((enum wr_mud_dir)d));
            assert_int_equal(x->door, back->door);
            assert_int_equal(x->closed, back->closed);
            if (x->door) {
                assert_string_equal(x->door_name, back->door_name);
                doors++;
                closed += x->closed;
            }
            if (d < WR_DIR_U) {
                if (sign(t->x - r->x) != dx[d] || sign(t->y - r->y) != dy[d] || t->z != r->z)
                    fail_msg("%s -> %s (%s) does not match the map", r->key, t->key,
                             wr_mud_dir_name((enum wr_mud_dir)d));
            } else if (d == WR_DIR_U || d == WR_DIR_D) {
                assert_int_equal(t->x, r->x);
                assert_int_equal(t->y, r->y);
                assert_int_equal(sign(t->z - r->z), d == WR_DIR_U ? 1 : -1);
            }
        }
        for (size_t j = 0; j < i; j++) {
            const struct wr_mud_room *o = &m->rooms[j];
            if (o->x == r->x && o->y == r->y && o->z == r->z)
                fail_msg("%s and %s share a place on the map", o->key, r->key);
        }
    }
    assert_true(doors >= 10 && closed >= 6);

    /* scenery and portable items; NPCs with each kind of behaviour */
    size_t fixed = 0, timers = 0, greets = 0, hears = 0, movers = 0;
    for (size_t i = 0; i < m->n_items; i++)
        fixed += m->items[i].fixed;
    assert_true(fixed >= 5 && m->n_items - fixed >= 5);
    for (size_t i = 0; i < m->n_npcs; i++) {
        const struct wr_mud_npc *n = &m->npcs[i];
        timers += n->n_timers > 0;
        greets += n->n_greets > 0;
        hears += n->n_hears > 0;
        movers += n->max_distance > 0;
    }
    assert_true(timers >= 6 && greets >= 6 && hears >= 6 && movers >= 3);
    /* every item can be had: a spawner brings it back, a shop sells it,
     * an NPC drops it or a quest gives it */
    for (size_t i = 0; i < m->n_items; i++) {
        bool found = false;
        for (size_t s = 0; s < m->n_item_spawners; s++)
            found |= m->item_spawners[s].item == i;
        for (size_t s = 0; s < m->n_shops; s++)
            for (size_t k = 0; k < m->shops[s].n_stock; k++)
                found |= m->shops[s].stock[k].item == i;
        for (size_t n = 0; n < m->n_npcs; n++)
            for (size_t k = 0; k < m->npcs[n].n_drops; k++)
                found |= m->npcs[n].drops[k].item == i;
        for (size_t q = 0; q < m->n_quests; q++)
            for (size_t k = 0; k < m->quests[q].n_reward_items; k++)
                found |= m->quests[q].reward_items[k] == i;
        if (!found)
            fail_msg("item %s never appears", m->items[i].key);
    }
    sample_gameplay(m);
    wr_mud_model_free(m);
}

/* ---- determinism --------------------------------------------------------- */

static void put_str(struct wr_writer *w, const char *s)
{
    wr_put_u32(w, s ? (uint32_t)strlen(s) : UINT32_MAX);
    if (s)
        wr_put_bytes(w, s, strlen(s));
}

static void put_action(struct wr_writer *w, const struct wr_mud_action *a)
{
    wr_put_u8(w, (uint8_t)a->kind);
    put_str(w, a->text);
    wr_put_u32(w, a->weight);
}

/* Every field of @m, in order: two models are the same if these are. */
static void model_bytes(const struct wr_mud_model *m, struct wr_writer *w)
{
    wr_writer_init(w, 4096);
    put_str(w, m->name);
    wr_put_u32(w, m->start_room);
    wr_put_bytes(w, m->hash, sizeof m->hash);
    for (size_t i = 0; i < m->n_zones; i++) {
        put_str(w, m->zones[i].key);
        put_str(w, m->zones[i].name);
        put_str(w, m->zones[i].desc);
        wr_put_u32(w, m->zones[i].graveyard);
    }
    for (size_t i = 0; i < m->n_rooms; i++) {
        const struct wr_mud_room *r = &m->rooms[i];
        put_str(w, r->key);
        put_str(w, r->name);
        put_str(w, r->desc);
        wr_put_u32(w, r->zone);
        wr_put_u32(w, (uint32_t)r->x);
        wr_put_u32(w, (uint32_t)r->y);
        wr_put_u32(w, (uint32_t)r->z);
        for (int d = 0; d < WR_MUD_NDIRS; d++) {
            wr_put_u32(w, r->exits[d].to);
            wr_put_u8(w, (uint8_t)(r->exits[d].door | r->exits[d].closed << 1));
            put_str(w, r->exits[d].door_name);
        }
    }
    for (size_t i = 0; i < m->n_items; i++) {
        const struct wr_mud_item *it = &m->items[i];
        put_str(w, it->key);
        put_str(w, it->name);
        put_str(w, it->keywords);
        put_str(w, it->desc);
        put_str(w, it->ground);
        wr_put_u8(w, it->fixed);
    }
    for (size_t i = 0; i < m->n_item_spawners; i++) {
        wr_put_u32(w, m->item_spawners[i].item);
        wr_put_u32(w, m->item_spawners[i].room);
        wr_put_u32(w, m->item_spawners[i].interval_ms);
    }
    for (size_t i = 0; i < m->n_npcs; i++) {
        const struct wr_mud_npc *n = &m->npcs[i];
        put_str(w, n->key);
        put_str(w, n->name);
        put_str(w, n->keywords);
        put_str(w, n->desc);
        put_str(w, n->ground);
        wr_put_u32(w, n->max_distance);
        for (size_t t = 0; t < n->n_timers; t++) {
            wr_put_u32(w, n->timers[t].min_delay_ms);
            wr_put_u32(w, n->timers[t].random_delay_ms);
            for (size_t a = 0; a < n->timers[t].n_actions; a++)
                put_action(w, &n->timers[t].actions[a]);
        }
        for (size_t g = 0; g < n->n_greets; g++) {
            wr_put_u32(w, n->greets[g].delay_ms);
            put_action(w, &n->greets[g].action);
        }
        for (size_t h = 0; h < n->n_hears; h++) {
            put_str(w, n->hears[h].pattern);
            wr_put_u32(w, n->hears[h].delay_ms);
            put_action(w, &n->hears[h].action);
        }
    }
    for (size_t i = 0; i < m->n_npc_spawners; i++) {
        wr_put_u32(w, m->npc_spawners[i].npc);
        wr_put_u32(w, m->npc_spawners[i].room);
        wr_put_u32(w, m->npc_spawners[i].interval_ms);
    }
    for (size_t i = 0; i < m->n_channels; i++) {
        put_str(w, m->channels[i].key);
        put_str(w, m->channels[i].desc);
        wr_put_u8(w, m->channels[i].on_by_default);
        wr_put_u32(w, m->channels[i].history);
    }
}

static void test_deterministic(void **state)
{
    (void)state;
    struct wr_writer b1, b2, s1, s2;
    char err[512];
    wr_writer_init(&b1, 4096);
    wr_writer_init(&b2, 4096);
    assert_int_equal(wr_mud_bundle_read_dir("world", &b1, err, sizeof err), 0);
    assert_int_equal(wr_mud_bundle_read_dir("world", &b2, err, sizeof err), 0);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.base, b2.base, b1.len);

    struct wr_mud_model *m1, *m2;
    assert_int_equal(wr_mud_model_parse(b1.base, b1.len, &m1, err, sizeof err), 0);
    assert_int_equal(wr_mud_model_parse(b1.base, b1.len, &m2, err, sizeof err), 0);
    assert_memory_equal(m1->hash, m2->hash, sizeof m1->hash);
    uint8_t want[16];
    crypto_generichash(want, sizeof want, b1.base, b1.len, NULL, 0);
    assert_memory_equal(m1->hash, want, sizeof want);
    model_bytes(m1, &s1);
    model_bytes(m2, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.base, s2.base, s1.len);
    wr_writer_free(&s1);
    wr_writer_free(&s2);
    wr_mud_model_free(m2);

    /* One byte changed in a description: a new version (hash). */
    uint8_t *hit = memmem(b2.base, b2.len, "Cobbles", 7);
    assert_non_null(hit);
    hit[0] = 'c';
    assert_int_equal(wr_mud_model_parse(b2.base, b2.len, &m2, err, sizeof err), 0);
    assert_memory_not_equal(m1->hash, m2->hash, sizeof m1->hash);
    wr_mud_model_free(m2);

    /* The same error, twice, for a broken bundle. */
    char err2[512];
    hit[0] = 'C';
    hit = memmem(b2.base, b2.len, "name: The Ferrow Vale", 21);
    assert_non_null(hit);
    hit[0] = '\t';
    assert_int_equal(wr_mud_model_parse(b2.base, b2.len, &m2, err, sizeof err), -1);
    assert_int_equal(wr_mud_model_parse(b2.base, b2.len, &m2, err2, sizeof err2), -1);
    assert_string_equal(err, err2);
    assert_non_null(strstr(err, "world.yaml:"));

    wr_mud_model_free(m1);
    wr_writer_free(&b1);
    wr_writer_free(&b2);
}

/* ---- bundles -------------------------------------------------------------- */

static void expect_bundle_error(const void *p, size_t n, const char *want)
{
    struct wr_mud_model *m = NULL;
    char err[256];
    assert_int_equal(wr_mud_model_parse(p, n, &m, err, sizeof err), -1);
    assert_null(m);
    assert_string_equal(err, want);
}

static void test_bundle_errors(void **state)
{
    (void)state;
    struct wr_writer w;
    struct file good[2] = {{"world.yaml", base_world}, {"zones/town.yaml", base_town}};
    expect_bundle_error("", 0, "bundle: not a world bundle (bad magic)");
    expect_bundle_error("WRWORLD2\1\0\0\0", 12, "bundle: not a world bundle (bad magic)");
    expect_bundle_error("WRWORLD1\0\0\0\0", 12, "bundle: bad file count (1 to 256 files)");

    bundle_of(&w, good, 2);
    expect_bundle_error(w.base, w.len - 1, "bundle: file 2: truncated");
    wr_put_u8(&w, 0);
    expect_bundle_error(w.base, w.len, "bundle: 1 stray bytes after the last file");
    wr_writer_free(&w);

    struct file unsorted[2] = {{"zones/town.yaml", base_town}, {"world.yaml", base_world}};
    bundle_of(&w, unsorted, 2);
    expect_bundle_error(w.base, w.len, "bundle: file world.yaml: not in sorted order");
    wr_writer_free(&w);

    struct file noworld[1] = {{"zones/town.yaml", base_town}};
    bundle_of(&w, noworld, 1);
    expect_bundle_error(w.base, w.len, "bundle: no world.yaml");
    wr_writer_free(&w);

    struct file empty[2] = {{"world.yaml", base_world}, {"zones/town.yaml", "# nothing\n"}};
    bundle_of(&w, empty, 2);
    expect_bundle_error(w.base, w.len, "zones/town.yaml:1:1: empty file (expected a mapping)");
    wr_writer_free(&w);

    /* A NULL or zero-length error buffer is allowed. */
    struct wr_mud_model *m = NULL;
    assert_int_equal(wr_mud_model_parse("x", 1, &m, NULL, 0), -1);
}

static void test_too_many(void **state)
{
    (void)state;
    struct wr_writer t, w;
    wr_writer_init(&t, 4096);
    const char head[] = "name: Many\nstart: town.square\nchannels:\n";
    wr_put_bytes(&t, head, strlen(head));
    for (int i = 0; i < 33; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "  - {id: c%d, desc: Channel}\n", i);
        wr_put_bytes(&t, line, (size_t)n);
    }
    wr_put_u8(&t, 0);
    struct file f[2] = {{"world.yaml", (const char *)t.base}, {"zones/town.yaml", base_town}};
    bundle_of(&w, f, 2);
    expect_bundle_error(w.base, w.len, "world.yaml:36:5: too many channels (at most 32)");
    wr_writer_free(&w);
    wr_writer_free(&t);

    /* Nested too deeply */
    char deep[64] = "name: ";
    for (int i = 0; i < 30; i++)
        strcat(deep, "[");
    struct file d[2] = {{"world.yaml", deep}, {"zones/town.yaml", base_town}};
    bundle_of(&w, d, 2);
    expect_bundle_error(w.base, w.len, "world.yaml:1:30: nested too deeply (at most 24 levels)");
    wr_writer_free(&w);
}

/* Every prefix of the sample bundle, and five hundred single-byte
 * mutations, are refused or accepted cleanly (the sanitizer build checks
 * memory); an accepted one is deterministic. */
static void test_mutations(void **state)
{
    (void)state;
    struct wr_writer b;
    char err[512], err2[512];
    wr_writer_init(&b, 4096);
    assert_int_equal(wr_mud_bundle_read_dir("world", &b, err, sizeof err), 0);
    for (size_t n = 0; n < b.len; n += 1 + n / 16) {
        struct wr_mud_model *m = NULL;
        assert_int_equal(wr_mud_model_parse(b.base, n, &m, err, sizeof err), -1);
    }
    uint64_t seed = 42;
    for (int i = 0; i < 500; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t at = (size_t)(seed >> 33) % b.len;
        uint8_t old = b.base[at];
        b.base[at] = (uint8_t)(seed >> 13);
        struct wr_mud_model *m1 = NULL, *m2 = NULL;
        int r1 = wr_mud_model_parse(b.base, b.len, &m1, err, sizeof err);
        int r2 = wr_mud_model_parse(b.base, b.len, &m2, err2, sizeof err2);
        assert_int_equal(r1, r2);
        if (r1 != 0)
            assert_string_equal(err, err2);
        else
            assert_memory_equal(m1->hash, m2->hash, sizeof m1->hash);
        wr_mud_model_free(m1);
        wr_mud_model_free(m2);
        b.base[at] = old;
    }
    wr_writer_free(&b);
}

/* ---- wr_mud_bundle_read_dir ------------------------------------------------- */

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void make_dir(const char *dir, const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    assert_int_equal(mkdir(path, 0755), 0);
}

static void test_read_dir(void **state)
{
    (void)state;
    char dir[] = "/tmp/wr-worldfile-XXXXXX";
    char err[512];
    struct wr_writer w;
    assert_non_null(mkdtemp(dir));

    /* empty: no .yaml files */
    wr_writer_init(&w, 64);
    wr_put_bytes(&w, "keep", 4);
    make_dir(dir, "zones");
    write_file(dir, "notes.txt", "not yaml\n");
    assert_int_equal(wr_mud_bundle_read_dir(dir, &w, err, sizeof err), -1);
    char want[600];
    snprintf(want, sizeof want, "%s: no .yaml files", dir);
    assert_string_equal(err, want);
    assert_int_equal(w.len, 4); /* unchanged on failure */

    /* sorted bytewise by relative path; hidden files and other names skipped */
    write_file(dir, "world.yaml", "W");
    write_file(dir, "zones/town.yaml", "T");
    write_file(dir, "zones/a.yaml", "A");
    write_file(dir, "a.yaml", "a");
    write_file(dir, ".hidden.yaml", "H");
    write_file(dir, "zones/b.yml", "Y");
    make_dir(dir, "zones/deep");
    write_file(dir, "zones/deep/x.yaml", "X");
    make_dir(dir, ".git");
    write_file(dir, ".git/y.yaml", "G");
    char link[600];
    snprintf(link, sizeof link, "%s/zones/loop", dir);
    assert_int_equal(symlink("..", link), 0); /* directory links are not followed */

    assert_int_equal(wr_mud_bundle_read_dir(dir, &w, err, sizeof err), 0);
    struct wr_reader r;
    wr_reader_init(&r, w.base + 4, w.len - 4);
    assert_memory_equal(wr_get_bytes(&r, 8), "WRWORLD1", 8);
    static const char *const names[] = {"a.yaml", "world.yaml", "zones/a.yaml", "zones/deep/x.yaml",
                                        "zones/town.yaml"};
    static const char contents[] = "aWAXT";
    assert_int_equal(wr_get_u32(&r), 5);
    for (size_t i = 0; i < 5; i++) {
        uint32_t nl = wr_get_u32(&r);
        const uint8_t *name = wr_get_bytes(&r, nl);
        assert_non_null(name);
        assert_int_equal(nl, strlen(names[i]));
        assert_memory_equal(name, names[i], nl);
        assert_int_equal(wr_get_u32(&r), 1);
        const uint8_t *body = wr_get_bytes(&r, 1);
        assert_non_null(body);
        assert_int_equal(body[0], contents[i]);
    }
    assert_false(r.err);
    assert_int_equal(r.left, 0);
    wr_writer_free(&w);

    /* too many files */
    make_dir(dir, "many");
    for (int i = 0; i < 252; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "many/%03d.yaml", i);
        write_file(dir, rel, "x");
    }
    wr_writer_init(&w, 64);
    assert_int_equal(wr_mud_bundle_read_dir(dir, &w, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: more than 256 .yaml files", dir);
    assert_string_equal(err, want);
    assert_int_equal(w.len, 0);
    wr_writer_free(&w);

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);

    /* a missing directory */
    wr_writer_init(&w, 64);
    assert_int_equal(wr_mud_bundle_read_dir(dir, &w, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot open directory: No such file or directory", dir);
    assert_string_equal(err, want);
    wr_writer_free(&w);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    if (getenv("WARREN_TEST_LOG") == NULL)
        wr_log_set_level((enum wr_log_level)(WR_LOG_ERROR + 1)); /* quiet */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_world),    cmocka_unit_test(test_sample_world),
        cmocka_unit_test(test_errors),        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_bundle_errors), cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_mutations),     cmocka_unit_test(test_read_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
