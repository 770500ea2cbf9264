/* Unit tests for the MUD module (mud/mud*.c), driven through the world's
 * apply path with encoded entries, as a node would. The world is a small
 * YAML world (two zones, a gate, a shop door, spawners, a greeting
 * gatekeeper and a wandering dog) that enters through WORLD_CHUNK like a
 * real one, and a second version of it for reloads. What matters most:
 * same entries, same bytes everywhere; a restored snapshot behaves exactly
 * like the original; zone timers run only on ticks of the current owner
 * and epoch; no input crashes. */
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
#include "mud/worldfile.h"
#include "world/world.h"

#include "mud_harness.h"

/* ---- the test world ------------------------------------------------------ */

enum { Z_TOWN, Z_FOREST }; /* zones in file order */

static const char world_yaml[] =
    "name: Testland\n"
    "start: town.square\n"
    "channels:\n"
    "  - {id: gossip, desc: Talk., default: on, history: 3}\n"
    "  - {id: newbie, desc: Help., default: off, history: 2}\n";

/* Variant 1 of the town; variant 2 (a reload) drops the yard and the
 * sword and adds a well below the square. */
static const char town_head[] =
    "zone: {id: town, name: Town, desc: A town., graveyard: temple}\n"
    "rooms:\n"
    "  - {id: gate, name: Gate, desc: A gate., x: 0, y: -1,\n"
    "     exits: {s: {to: square, door: gate}, n: forest.edge}}\n"
    "  - {id: shop, name: Shop, desc: A shop., x: 1, y: 0,\n"
    "     exits: {w: square, e: {to: alley, door: door, closed: true}}}\n"
    "  - {id: temple, name: Temple, desc: A temple., x: 0, y: 1, exits: {n: square}}\n";
static const char town_v1[] =
    "  - {id: square, name: Square, desc: A square., x: 0, y: 0,\n"
    "     exits: {n: {to: gate, door: gate}, e: shop, s: temple}}\n"
    "  - {id: alley, name: Alley, desc: An alley., x: 2, y: 0,\n"
    "     exits: {w: {to: shop, door: door, closed: true}, e: yard}}\n"
    "  - {id: yard, name: Yard, desc: A yard., x: 3, y: 0, exits: {w: alley}}\n";
static const char town_v2[] =
    "  - {id: square, name: Square, desc: A square., x: 0, y: 0,\n"
    "     exits: {n: {to: gate, door: gate}, e: shop, s: temple, d: well}}\n"
    "  - {id: alley, name: Alley, desc: An alley., x: 2, y: 0,\n"
    "     exits: {w: {to: shop, door: door, closed: true}}}\n"
    "  - {id: well, name: Well, desc: A well., x: 0, y: 0, z: -1, exits: {u: square}}\n";
static const char town_items[] =
    "items:\n"
    "  - {id: lantern, name: a rusty lantern, keywords: lantern rusty, desc: A lantern.,\n"
    "     ground: A lantern lies here.}\n"
    "  - {id: fountain, name: a stone fountain, keywords: fountain, desc: A fountain.,\n"
    "     ground: A fountain splashes., fixed: true}\n";
static const char town_sword[] =
    "  - {id: sword, name: a short sword, keywords: sword, desc: A sword., ground: A sword.}\n";
static const char town_spawners[] =
    "item_spawners:\n"
    "  - {item: lantern, room: shop, interval: 60s}\n"
    "  - {item: fountain, room: square, interval: 1s}\n";
static const char town_sword_spawner[] = "  - {item: sword, room: yard, interval: 1s}\n";
static const char town_npcs[] =
    "npcs:\n"
    "  - id: gatekeeper\n"
    "    name: the old gatekeeper\n"
    "    keywords: gatekeeper old\n"
    "    desc: An old man.\n"
    "    ground: An old gatekeeper leans on his staff.\n"
    "    behaviour:\n"
    "      timer: {min_delay: 5s, random_delay: 5s, actions: [{say: Move along.}, {emote: yawns.}]}\n"
    "      greet: {delay: 1s, say: \"Welcome, {name}!\"}\n"
    "      hear: [{pattern: hello, delay: 500ms, say: \"Hello to you, {name}.\"}]\n"
    "  - id: dog\n"
    "    name: a stray dog\n"
    "    keywords: dog stray\n"
    "    desc: A dog.\n"
    "    ground: A stray dog sniffs around.\n"
    "    max_distance: 1\n"
    "    behaviour:\n"
    "      timer: {min_delay: 1s, actions: [{move: true}]}\n"
    "npc_spawners:\n"
    "  - {npc: gatekeeper, room: square, interval: 30s}\n"
    "  - {npc: dog, room: shop, interval: 30s}\n";
static const char forest_v1[] =
    "zone: {id: forest, name: Forest, desc: Trees., graveyard: edge}\n"
    "rooms:\n"
    "  - {id: edge, name: Edge, desc: Trees., x: 0, y: -2, exits: {s: town.gate, n: deep}}\n"
    "  - {id: deep, name: Deep, desc: Trees., x: 0, y: -3, exits: {s: edge}}\n";
static const char forest_v2[] =
    "zone: {id: forest, name: Forest, desc: Trees., graveyard: edge}\n"
    "rooms:\n"
    "  - {id: edge, name: Edge, desc: Trees., x: 0, y: -2, exits: {s: town.gate}}\n";

/* The bundle of test world @variant (see worldfile.h for the framing). */
static void test_bundle(struct wr_writer *w, int variant)
{
    char town[4096];
    snprintf(town, sizeof town, "%s%s%s%s%s%s%s", town_head, variant == 1 ? town_v1 : town_v2,
             town_items, variant == 1 ? town_sword : "", town_spawners,
             variant == 1 ? town_sword_spawner : "", town_npcs);
    bundle_init(w, 3);
    put_file(w, "world.yaml", world_yaml);
    put_file(w, "zones/a_town.yaml", town);
    put_file(w, "zones/b_forest.yaml", variant == 1 ? forest_v1 : forest_v2);
}

static uint32_t room_of(const struct wr_mud_model *mo, const char *key)
{
    long r = wr_mud_model_room(mo, key);
    assert_true(r >= 0);
    return (uint32_t)r;
}

/* ---- commands ------------------------------------------------------------ */

static enum wr_verdict create(struct t *t, uint32_t node, uint64_t s, const char *name)
{
    P(p);
    wr_mud_encode_create(&p, name, "$argon2id$fake", tok((uint8_t)s), 7);
    enum wr_verdict v = cmd(t, WR_MUD_CREATE, node, s, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict login(struct t *t, uint32_t node, uint64_t s, const char *name)
{
    P(p);
    wr_mud_encode_login(&p, name, tok((uint8_t)s), 7);
    enum wr_verdict v = cmd(t, WR_MUD_LOGIN, node, s, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict resume(struct t *t, uint32_t node, uint64_t s, uint8_t token)
{
    P(p);
    wr_mud_encode_resume(&p, tok(token), 7);
    enum wr_verdict v = cmd(t, WR_MUD_RESUME, node, s, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict dircmd(struct t *t, uint8_t type, uint32_t node, uint64_t s,
                              enum wr_mud_dir d)
{
    P(p);
    wr_mud_encode_dir(&p, d);
    enum wr_verdict v = cmd(t, type, node, s, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict strcmd(struct t *t, uint8_t type, uint32_t node, uint64_t s,
                              const char *a, const char *b)
{
    P(p);
    wr_mud_encode_str(&p, a);
    if (b != NULL)
        wr_mud_encode_str(&p, b);
    enum wr_verdict v = cmd(t, type, node, s, &p);
    wr_writer_free(&p);
    return v;
}

/* SAY/EMOTE/REPLY text, or WHISPER/TELL/CHAN who + text. */
static enum wr_verdict talk(struct t *t, uint8_t type, uint32_t node, uint64_t s,
                            const char *who, const char *text)
{
    P(p);
    if (who != NULL)
        wr_mud_encode_str(&p, who);
    wr_mud_encode_text(&p, text);
    enum wr_verdict v = cmd(t, type, node, s, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict expire(struct t *t, uint32_t id, uint64_t since)
{
    P(p);
    wr_mud_encode_expire(&p, id, since);
    enum wr_verdict v = cmd(t, WR_MUD_EXPIRE, 1, 0, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict node_down(struct t *t, uint32_t node)
{
    P(p);
    wr_mud_encode_u32(&p, node);
    enum wr_verdict v = cmd(t, WR_MUD_NODE_DOWN, 1, 0, &p);
    wr_writer_free(&p);
    return v;
}

/* The core's NODE_INFO: node @node runs process @incarnation. */
static void node_info(struct t *t, uint32_t node, uint64_t incarnation)
{
    P(p);
    wr_put_str(&p, "127.0.0.1:8080");
    wr_put_u64(&p, incarnation);
    struct wr_cmd c = {.module = WR_MODULE_CORE, .type = WR_CORE_NODE_INFO, .node = node,
                       .len = (uint16_t)p.len, .payload = p.base};
    struct wr_writer e;
    wr_writer_init(&e, 64);
    wr_entry_header(&e, t->now, t->seed++, 1);
    wr_cmd_encode(&e, &c);
    t->n_ev = 0;
    assert_int_equal(wr_world_apply(t->w, e.base, e.len), 0);
    assert_int_equal(t->verdict, WR_APPLIED);
    wr_writer_free(&e);
    wr_writer_free(&p);
}

static const struct wr_mud_char *ch(struct t *t, const char *name)
{
    return wr_mud_char_by_name(mud(t), name);
}

/* The same snapshot bytes, and the same world hash. */
static void assert_same_world(struct t *a, struct t *b)
{
    assert_same_state(a, b);
    char ha[17], hb[17];
    wr_world_hash(a->w, ha);
    wr_world_hash(b->w, hb);
    assert_string_equal(ha, hb);
}

/* A world with the test model loaded and the town placed on node 1. */
static void t_ready(struct t *t)
{
    t_init(t);
    load_world(t, 1);
    assert_int_equal(zone_place(t, "town", 1, 0), WR_APPLIED);
    assert_int_equal(zone_place(t, "forest", 2, 0), WR_APPLIED);
}

/* ---- characters ---------------------------------------------------------- */

static void test_no_world(void **state)
{
    (void)state;
    struct t t;
    t_init(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    const struct ev *e = find_ev(&t, WR_MUD_EV_REFUSED, 0);
    assert_non_null(e);
    assert_string_equal(e->code, "no_world");
    assert_int_equal(e->session, 1);
    assert_int_equal(wr_mud_char_count(mud(&t)), 0);
    /* The refusal closed the session. */
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_N), WR_STALE);
    assert_int_equal(login(&t, 1, 2, "alice"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_REFUSED, 0)->code, "no_world");
    t_free(&t);
}

static void test_create_quit_login(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    const struct wr_mud_model *mo = model(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    const struct ev *e = find_ev(&t, WR_MUD_EV_ENTERED_GAME, 0);
    assert_non_null(e);
    assert_string_equal(e->code, "created");
    assert_string_equal(e->actor, "Alice");
    assert_int_equal(e->audience, WR_AUD_SESSION);
    assert_int_equal(e->node, 1);
    assert_int_equal(e->session, 1);
    e = find_ev(&t, WR_MUD_EV_LINK, 0);
    assert_non_null(e);
    assert_string_equal(e->code, "enter");
    assert_int_equal(e->audience, WR_AUD_ROOM);
    assert_int_equal(e->target, mo->start_room);

    const struct wr_mud_char *a = ch(&t, "ALICE");
    assert_non_null(a);
    assert_string_equal(a->name, "Alice");
    assert_int_equal(a->id, 1);
    assert_int_equal(a->state, WR_MUD_ONLINE);
    assert_int_equal(a->room, mo->start_room);
    assert_string_equal(a->pw_hash, "$argon2id$fake");
    assert_int_equal(a->channels_off, 2); /* newbie is off by default */
    assert_ptr_equal(wr_mud_char_by_session(mud(&t), 1), a);
    assert_ptr_equal(wr_mud_char_by_token(mud(&t), tok(1)), a);

    /* Bad names are refused and close the session. */
    assert_int_equal(create(&t, 1, 2, "al"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_REFUSED, 0)->code, "bad_name");
    assert_int_equal(create(&t, 1, 3, "al1ce"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_REFUSED, 0)->code, "bad_name");
    assert_int_equal(create(&t, 1, 4, "abcdefghijklmnopq"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_REFUSED, 0)->code, "bad_name");
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 2, WR_DIR_N), WR_STALE);
    assert_int_equal(login(&t, 1, 5, "nobody"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_REFUSED, 0)->code, "no_such_character");

    /* Walk east, quit: saved in the shop, offline. */
    t.now += 10;
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_E), WR_APPLIED);
    assert_int_equal(cmd(&t, WR_MUD_QUIT, 1, 1, NULL), WR_APPLIED);
    assert_non_null(find_ev(&t, WR_MUD_EV_QUIT, 0));
    assert_string_equal(find_ev(&t, WR_MUD_EV_LINK, 0)->code, "quit");
    a = ch(&t, "alice");
    assert_int_equal(a->state, WR_MUD_OFFLINE);
    assert_int_equal(a->session, 0);
    assert_int_equal(a->room, room_of(mo, "town.shop"));
    assert_null(wr_mud_char_by_session(mud(&t), 1));
    assert_null(wr_mud_char_by_token(mud(&t), tok(1)));
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_W), WR_STALE);

    /* Log in again from another node: back in the shop. */
    t.now += 10;
    assert_int_equal(login(&t, 2, 6, "aLiCe"), WR_APPLIED);
    e = find_ev(&t, WR_MUD_EV_ENTERED_GAME, 0);
    assert_string_equal(e->code, "login");
    assert_int_equal(e->node, 2);
    assert_int_equal(e->session, 6);
    assert_string_equal(find_ev(&t, WR_MUD_EV_LINK, 0)->code, "enter");
    a = ch(&t, "alice");
    assert_int_equal(a->state, WR_MUD_ONLINE);
    assert_int_equal(a->room, room_of(mo, "town.shop"));
    assert_int_equal(a->node, 2);
    assert_int_equal(a->last_login_at, t.now);
    assert_int_equal(wr_mud_char_count(mud(&t)), 1);
    t_free(&t);
}

static void test_name_race(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    /* Two CREATEs of one name (different case) in one entry, from two
     * nodes: the first applied wins. */
    P(p1);
    P(p2);
    wr_mud_encode_create(&p1, "bob", "h1", tok(1), 7);
    wr_mud_encode_create(&p2, "BOB", "h2", tok(2), 7);
    struct wr_cmd c1 = {.module = WR_MODULE_MUD, .type = WR_MUD_CREATE, .node = 1, .session = 1,
                        .seq = 1, .len = (uint16_t)p1.len, .payload = p1.base};
    struct wr_cmd c2 = {.module = WR_MODULE_MUD, .type = WR_MUD_CREATE, .node = 2, .session = 2,
                        .seq = 1, .len = (uint16_t)p2.len, .payload = p2.base};
    struct wr_writer e;
    wr_writer_init(&e, 128);
    wr_entry_header(&e, t.now, 5, 2);
    wr_cmd_encode(&e, &c1);
    wr_cmd_encode(&e, &c2);
    t.n_ev = 0;
    assert_int_equal(wr_world_apply(t.w, e.base, e.len), 0);
    t.seq[1] = t.seq[2] = 1;
    wr_writer_free(&e);
    wr_writer_free(&p1);
    wr_writer_free(&p2);
    const struct ev *ok = find_ev(&t, WR_MUD_EV_ENTERED_GAME, 0);
    const struct ev *no = find_ev(&t, WR_MUD_EV_REFUSED, 0);
    assert_non_null(ok);
    assert_non_null(no);
    assert_null(find_ev(&t, WR_MUD_EV_ENTERED_GAME, 1));
    assert_int_equal(ok->session, 1);
    assert_int_equal(no->session, 2);
    assert_int_equal(no->node, 2);
    assert_string_equal(no->code, "name_taken");
    assert_int_equal(wr_mud_char_count(mud(&t)), 1);
    assert_string_equal(ch(&t, "bob")->name, "Bob");
    assert_string_equal(ch(&t, "bob")->pw_hash, "h1");
    /* The loser's session is closed; the winner's is not. */
    assert_int_equal(strcmd(&t, WR_MUD_GET, 2, 2, "lantern", NULL), WR_STALE);
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_E), WR_APPLIED);
    t_free(&t);
}

static void test_takeover_and_reconnect(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(&t, 1, 2, "bob"), WR_APPLIED);
    /* Login while online elsewhere: a takeover. */
    assert_int_equal(login(&t, 2, 3, "alice"), WR_APPLIED);
    const struct ev *e = find_ev(&t, WR_MUD_EV_TAKEN_OVER, 0);
    assert_non_null(e);
    assert_int_equal(e->node, 1);
    assert_int_equal(e->session, 1);
    assert_string_equal(find_ev(&t, WR_MUD_EV_ENTERED_GAME, 0)->code, "takeover");
    assert_null(find_ev(&t, WR_MUD_EV_LINK, 0));
    assert_int_equal(ch(&t, "alice")->session, 3);
    assert_int_equal(ch(&t, "alice")->node, 2);
    assert_int_equal(strcmd(&t, WR_MUD_GET, 1, 1, "lantern", NULL), WR_STALE);

    /* Linkdead, then a login: a reconnect. */
    t.now += 100;
    assert_int_equal(cmd(&t, WR_MUD_DISCONNECT, 2, 3, NULL), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_LINK, 0)->code, "lost");
    assert_int_equal(ch(&t, "alice")->state, WR_MUD_LINKDEAD);
    assert_int_equal(ch(&t, "alice")->linkdead_since, t.now);
    assert_int_equal(login(&t, 1, 4, "alice"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_ENTERED_GAME, 0)->code, "reconnect");
    assert_string_equal(find_ev(&t, WR_MUD_EV_LINK, 0)->code, "back");
    assert_int_equal(ch(&t, "alice")->state, WR_MUD_ONLINE);
    assert_int_equal(ch(&t, "alice")->linkdead_since, 0);
    assert_int_equal(cmd(&t, WR_MUD_DISCONNECT, 2, 3, NULL), WR_STALE);

    /* Resume by token (the login's token, 4), from a new session. */
    assert_int_equal(cmd(&t, WR_MUD_DISCONNECT, 1, 4, NULL), WR_APPLIED);
    assert_int_equal(resume(&t, 1, 5, 99), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_REFUSED, 0)->code, "bad_token");
    assert_int_equal(resume(&t, 2, 6, 4), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_ENTERED_GAME, 0)->code, "resume");
    assert_string_equal(find_ev(&t, WR_MUD_EV_LINK, 0)->code, "back");
    assert_int_equal(ch(&t, "alice")->session, 6);
    assert_int_equal(ch(&t, "alice")->state, WR_MUD_ONLINE);
    assert_int_equal(cmd(&t, WR_MUD_PRESENT, 1, 4, NULL), WR_STALE);
    /* Bob was never touched. */
    assert_int_equal(ch(&t, "bob")->session, 2);
    assert_int_equal(ch(&t, "bob")->state, WR_MUD_ONLINE);
    t_free(&t);
}

static void test_linkdead_expire(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    const struct wr_mud_model *mo = model(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(&t, 2, 2, "bob"), WR_APPLIED);
    /* Alice goes to the forest edge (forest's graveyard is the edge; make
     * her expire in the town instead: shop -> graveyard temple). */
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_E), WR_APPLIED);

    /* NODE_DOWN 1: Alice linkdead, Bob (node 2) not. */
    t.now = 5000;
    assert_int_equal(node_down(&t, 1), WR_APPLIED);
    assert_int_equal(ch(&t, "alice")->state, WR_MUD_LINKDEAD);
    assert_int_equal(ch(&t, "bob")->state, WR_MUD_ONLINE);
    const struct ev *e = find_ev(&t, WR_MUD_EV_LINK, 0);
    assert_string_equal(e->code, "lost");
    assert_int_equal(e->target, room_of(mo, "town.shop"));
    /* PRESENT from its session (the node was cut off, not the client). */
    t.now = 6000;
    assert_int_equal(cmd(&t, WR_MUD_PRESENT, 1, 1, NULL), WR_APPLIED);
    assert_int_equal(ch(&t, "alice")->state, WR_MUD_ONLINE);
    assert_string_equal(find_ev(&t, WR_MUD_EV_LINK, 0)->code, "back");
    /* An expiry for an old linkdead time does nothing. */
    assert_int_equal(expire(&t, 1, 5000), WR_APPLIED);
    assert_int_equal(ch(&t, "alice")->state, WR_MUD_ONLINE);
    assert_int_equal(t.n_ev, 0);

    t.now = 7000;
    assert_int_equal(cmd(&t, WR_MUD_DISCONNECT, 1, 1, NULL), WR_APPLIED);
    t.now = 8000;
    assert_int_equal(expire(&t, 1, 6999), WR_APPLIED);
    assert_int_equal(ch(&t, "alice")->state, WR_MUD_LINKDEAD);
    assert_int_equal(expire(&t, 1, 7000), WR_APPLIED);
    e = find_ev(&t, WR_MUD_EV_LINK, 0);
    assert_non_null(e);
    assert_string_equal(e->code, "gone");
    assert_int_equal(e->target, room_of(mo, "town.shop"));
    const struct wr_mud_char *a = ch(&t, "alice");
    assert_int_equal(a->state, WR_MUD_OFFLINE);
    assert_int_equal(a->room, room_of(mo, "town.temple"));
    assert_int_equal(a->session, 0);
    assert_int_equal(cmd(&t, WR_MUD_PRESENT, 1, 1, NULL), WR_STALE);
    assert_int_equal(expire(&t, 1, 7000), WR_APPLIED); /* again: nothing */
    assert_int_equal(t.n_ev, 0);
    assert_int_equal(expire(&t, 77, 7000), WR_APPLIED);

    /* A node restart: chars of its older incarnations go linkdead. */
    assert_int_equal(login(&t, 1, 3, "alice"), WR_APPLIED);
    node_info(&t, 1, 7); /* the same process: nothing */
    assert_int_equal(ch(&t, "alice")->state, WR_MUD_ONLINE);
    node_info(&t, 1, 8);
    assert_int_equal(ch(&t, "alice")->state, WR_MUD_LINKDEAD);
    assert_int_equal(ch(&t, "bob")->state, WR_MUD_ONLINE);
    assert_string_equal(find_ev(&t, WR_MUD_EV_LINK, 0)->code, "lost");
    t_free(&t);
}

/* ---- movement and doors -------------------------------------------------- */

static void test_move_and_doors(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    const struct wr_mud_model *mo = model(&t);
    uint32_t square = room_of(mo, "town.square"), shop = room_of(mo, "town.shop");
    uint32_t alley = room_of(mo, "town.alley");
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);

    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_W), WR_APPLIED);
    const struct ev *e = find_ev(&t, WR_MUD_EV_FAIL, 0);
    assert_non_null(e);
    assert_string_equal(e->text, "You can't go that way.");
    assert_int_equal(e->session, 1);
    assert_int_equal(ch(&t, "alice")->room, square);

    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_E), WR_APPLIED);
    assert_int_equal(t.n_ev, 3);
    e = &t.ev[0];
    assert_int_equal(e->type, WR_MUD_EV_DEPART);
    assert_int_equal(e->audience, WR_AUD_ROOM);
    assert_int_equal(e->target, square);
    assert_int_equal(e->dir, WR_DIR_E);
    assert_string_equal(e->actor, "Alice");
    e = &t.ev[1];
    assert_int_equal(e->type, WR_MUD_EV_ARRIVE);
    assert_int_equal(e->target, shop);
    assert_int_equal(e->dir, WR_DIR_W);
    e = &t.ev[2];
    assert_int_equal(e->type, WR_MUD_EV_MOVED);
    assert_int_equal(e->audience, WR_AUD_SESSION);
    assert_int_equal(e->room, shop);
    assert_int_equal(ch(&t, "alice")->room, shop);

    /* The shop door east is closed. */
    assert_true(wr_mud_door_closed(mud(&t), shop, WR_DIR_E));
    assert_true(wr_mud_door_closed(mud(&t), alley, WR_DIR_W));
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_E), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "The door is closed.");
    assert_int_equal(ch(&t, "alice")->room, shop);
    assert_int_equal(dircmd(&t, WR_MUD_CLOSE, 1, 1, WR_DIR_E), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "The door is already closed.");
    assert_int_equal(dircmd(&t, WR_MUD_OPEN, 1, 1, WR_DIR_W), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "There is no door that way.");
    assert_int_equal(dircmd(&t, WR_MUD_OPEN, 1, 1, WR_DIR_N), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "There is no door that way.");

    /* Open it: both sides open, both rooms told. */
    assert_int_equal(dircmd(&t, WR_MUD_OPEN, 1, 1, WR_DIR_E), WR_APPLIED);
    assert_int_equal(count_ev(&t, WR_MUD_EV_DOOR), 2);
    e = find_ev(&t, WR_MUD_EV_DOOR, 0);
    assert_int_equal(e->target, shop);
    assert_int_equal(e->dir, WR_DIR_E);
    assert_string_equal(e->code, "open");
    assert_string_equal(e->item, "door");
    e = find_ev(&t, WR_MUD_EV_DOOR, 1);
    assert_int_equal(e->target, alley);
    assert_int_equal(e->dir, WR_DIR_W);
    assert_false(wr_mud_door_closed(mud(&t), shop, WR_DIR_E));
    assert_false(wr_mud_door_closed(mud(&t), alley, WR_DIR_W));
    assert_int_equal(dircmd(&t, WR_MUD_OPEN, 1, 1, WR_DIR_E), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "The door is already open.");
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_E), WR_APPLIED);
    assert_int_equal(ch(&t, "alice")->room, alley);
    /* Close it from the other side. */
    assert_int_equal(dircmd(&t, WR_MUD_CLOSE, 1, 1, WR_DIR_W), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_DOOR, 0)->code, "close");
    assert_true(wr_mud_door_closed(mud(&t), shop, WR_DIR_E));
    assert_true(wr_mud_door_closed(mud(&t), alley, WR_DIR_W));
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_W), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "The door is closed.");

    /* East of the alley: the yard. */
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_E), WR_APPLIED); /* yard */
    assert_int_equal(ch(&t, "alice")->room, room_of(mo, "town.yard"));
    t_free(&t);
}

/* ---- items --------------------------------------------------------------- */

static const struct wr_mud_item_inst *item_in(struct t *t, const char *key, uint8_t loc,
                                              uint32_t where)
{
    const struct wr_mud_model *mo = model(t);
    for (size_t i = 0; i < wr_mud_item_count(mud(t)); i++) {
        const struct wr_mud_item_inst *it = wr_mud_item_at(mud(t), i);
        if (strcmp(mo->items[it->item].key, key) == 0 && it->loc == loc && it->where == where)
            return it;
    }
    return NULL;
}

static void test_items_and_spawner(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    const struct wr_mud_model *mo = model(&t);
    uint32_t square = room_of(mo, "town.square"), shop = room_of(mo, "town.shop");
    assert_int_equal(wr_mud_item_count(mud(&t)), 3); /* every spawner spawned */
    assert_non_null(item_in(&t, "lantern", WR_MUD_IN_ROOM, shop));
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(&t, 1, 2, "bob"), WR_APPLIED);

    assert_int_equal(strcmd(&t, WR_MUD_GET, 1, 1, "FOUNT", NULL), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "You can't take that.");
    assert_int_equal(strcmd(&t, WR_MUD_GET, 1, 1, "lantern", NULL), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "You don't see that here.");
    assert_int_equal(strcmd(&t, WR_MUD_DROP, 1, 1, "lantern", NULL), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "You don't have that.");

    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_E), WR_APPLIED);
    assert_int_equal(wr_mud_zone_next_due(mud(&t), Z_TOWN) > t.now, true);
    t.now = 10000;
    assert_int_equal(strcmd(&t, WR_MUD_GET, 1, 1, "Rus", NULL), WR_APPLIED);
    const struct ev *e = find_ev(&t, WR_MUD_EV_ITEM, 0);
    assert_non_null(e);
    assert_string_equal(e->code, "get");
    assert_string_equal(e->item, "a rusty lantern");
    assert_int_equal(e->target, shop);
    const struct wr_mud_item_inst *it = item_in(&t, "lantern", WR_MUD_CARRIED, 1);
    assert_non_null(it);
    assert_int_equal(it->spawner, UINT32_MAX);
    uint32_t first_id = it->id;
    assert_null(item_in(&t, "lantern", WR_MUD_IN_ROOM, shop));
    /* The spawner is due 60 s after the pickup. */
    assert_true(wr_mud_zone_next_due(mud(&t), Z_TOWN) <= 70000);

    /* Drop it in the square, pick it up, give it to Bob. */
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_W), WR_APPLIED);
    assert_int_equal(strcmd(&t, WR_MUD_DROP, 1, 1, "lantern", NULL), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_ITEM, 0)->code, "drop");
    assert_non_null(item_in(&t, "lantern", WR_MUD_IN_ROOM, square));
    assert_int_equal(strcmd(&t, WR_MUD_GET, 1, 1, "lantern", NULL), WR_APPLIED);
    assert_int_equal(strcmd(&t, WR_MUD_GIVE, 1, 1, "lantern", "zed"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "No one called zed is here.");
    assert_int_equal(strcmd(&t, WR_MUD_GIVE, 1, 1, "lantern", "alice"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "No one called alice is here.");
    assert_int_equal(strcmd(&t, WR_MUD_GIVE, 1, 1, "sword", "bo"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "You don't have that.");
    assert_int_equal(strcmd(&t, WR_MUD_GIVE, 1, 1, "lan", "bo"), WR_APPLIED);
    e = find_ev(&t, WR_MUD_EV_ITEM, 0);
    assert_string_equal(e->code, "give");
    assert_string_equal(e->target_name, "Bob");
    assert_int_equal(e->target_id, 2);
    it = item_in(&t, "lantern", WR_MUD_CARRIED, 2);
    assert_non_null(it);
    assert_int_equal(it->id, first_id);

    /* The respawn: not on a tick before it is due (nor on a stale epoch),
     * then exactly once on a tick past due. */
    t.now = 69999;
    assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
    assert_int_equal(count_ev(&t, WR_MUD_EV_SPAWN), 0);
    assert_null(item_in(&t, "lantern", WR_MUD_IN_ROOM, shop));
    t.now = 70000;
    assert_int_equal(zone_tick(&t, "town", 1, 0), WR_APPLIED); /* wrong epoch */
    assert_int_equal(t.n_ev, 0);
    assert_null(item_in(&t, "lantern", WR_MUD_IN_ROOM, shop));
    assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
    e = find_ev(&t, WR_MUD_EV_SPAWN, 0);
    assert_non_null(e);
    assert_int_equal(e->target, shop);
    assert_string_equal(e->item, "a rusty lantern");
    it = item_in(&t, "lantern", WR_MUD_IN_ROOM, shop);
    assert_non_null(it);
    assert_true(it->id > first_id);
    assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
    assert_int_equal(count_ev(&t, WR_MUD_EV_SPAWN), 0);
    assert_int_equal(wr_mud_item_count(mud(&t)), 4);
    t_free(&t);
}

/* ---- talk ---------------------------------------------------------------- */

struct hist {
    int n;
    char lines[8][128];
};

static void hist_cb(void *arg, const char *who, const char *text)
{
    struct hist *h = arg;
    snprintf(h->lines[h->n++ % 8], sizeof h->lines[0], "%s: %s", who, text);
}

static void test_talk(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    const struct wr_mud_model *mo = model(&t);
    uint32_t square = room_of(mo, "town.square");
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(&t, 2, 2, "bob"), WR_APPLIED);
    assert_int_equal(create(&t, 1, 3, "carol"), WR_APPLIED);
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 3, WR_DIR_E), WR_APPLIED);

    assert_int_equal(talk(&t, WR_MUD_SAY, 1, 1, NULL, "  hi all  "), WR_APPLIED);
    const struct ev *e = find_ev(&t, WR_MUD_EV_SAY, 0);
    assert_non_null(e);
    assert_string_equal(e->text, "hi all");
    assert_int_equal(e->audience, WR_AUD_ROOM);
    assert_int_equal(e->target, square);
    assert_int_equal(talk(&t, WR_MUD_EMOTE, 1, 1, NULL, "waves."), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_EMOTE, 0)->text, "waves.");
    assert_int_equal(talk(&t, WR_MUD_SAY, 1, 1, NULL, "   "), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->code, "bad_text");
    assert_null(find_ev(&t, WR_MUD_EV_SAY, 0));
    assert_int_equal(talk(&t, WR_MUD_SAY, 1, 1, NULL, "bad \xc3\x28 utf8"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->code, "bad_text");
    assert_int_equal(talk(&t, WR_MUD_SAY, 1, 1, NULL, "esc \x1b[31m"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->code, "bad_text");
    assert_int_equal(talk(&t, WR_MUD_SAY, 1, 1, NULL, "caf\xc3\xa9 \xe2\x82\xac"), WR_APPLIED);
    assert_non_null(find_ev(&t, WR_MUD_EV_SAY, 0));
    char longtext[WR_MUD_TEXT_MAX + 2];
    memset(longtext, 'a', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    assert_int_equal(talk(&t, WR_MUD_SAY, 1, 1, NULL, longtext), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->code, "bad_text");
    longtext[WR_MUD_TEXT_MAX] = '\0';
    assert_int_equal(talk(&t, WR_MUD_SAY, 1, 1, NULL, longtext), WR_APPLIED);
    assert_non_null(find_ev(&t, WR_MUD_EV_SAY, 0));

    /* Whisper: same room only. */
    assert_int_equal(talk(&t, WR_MUD_WHISPER, 1, 1, "carol", "psst"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "No one called carol is here.");
    assert_int_equal(talk(&t, WR_MUD_WHISPER, 1, 1, "BOB", "psst"), WR_APPLIED);
    e = find_ev(&t, WR_MUD_EV_WHISPER, 0);
    assert_non_null(e);
    assert_int_equal(e->target_id, 2);
    assert_string_equal(e->text, "psst");

    /* Tell anywhere, reply to the last teller. */
    assert_int_equal(talk(&t, WR_MUD_TELL, 2, 2, "car", "hello carol"), WR_APPLIED);
    assert_int_equal(count_ev(&t, WR_MUD_EV_TELL), 2);
    e = find_ev(&t, WR_MUD_EV_TELL, 0);
    assert_int_equal(e->session, 3);
    assert_string_equal(e->actor, "Bob");
    assert_string_equal(e->target_name, "Carol");
    assert_int_equal(find_ev(&t, WR_MUD_EV_TELL, 1)->session, 2);
    assert_int_equal(ch(&t, "carol")->reply_to, 2);
    assert_int_equal(talk(&t, WR_MUD_REPLY, 1, 3, NULL, "hi bob"), WR_APPLIED);
    e = find_ev(&t, WR_MUD_EV_TELL, 0);
    assert_non_null(e);
    assert_int_equal(e->session, 2);
    assert_string_equal(e->text, "hi bob");
    assert_int_equal(ch(&t, "bob")->reply_to, 3);
    assert_int_equal(talk(&t, WR_MUD_REPLY, 1, 1, NULL, "hm"), WR_APPLIED);
    assert_non_null(find_ev(&t, WR_MUD_EV_FAIL, 0));
    assert_int_equal(talk(&t, WR_MUD_TELL, 1, 1, "zed", "hello"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "No one called zed is playing.");
    assert_int_equal(cmd(&t, WR_MUD_QUIT, 2, 2, NULL), WR_APPLIED);
    assert_int_equal(talk(&t, WR_MUD_TELL, 1, 1, "bob", "hello"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "No one called bob is playing.");
    assert_int_equal(talk(&t, WR_MUD_REPLY, 1, 3, NULL, "still there?"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "No one called Bob is playing.");

    /* Channels: history ring of 3, off switches, unknown channels. */
    const char *lines[] = {"one", "two", "three", "four"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(talk(&t, WR_MUD_CHAN, 1, 1, "gossip", lines[i]), WR_APPLIED);
        e = find_ev(&t, WR_MUD_EV_CHANNEL, 0);
        assert_non_null(e);
        assert_int_equal(e->audience, WR_AUD_CHANNEL);
        assert_int_equal(e->target, 0);
        assert_string_equal(e->item, "gossip");
    }
    struct hist h = {0};
    wr_mud_channel_history(mud(&t), 0, hist_cb, &h);
    assert_int_equal(h.n, 3);
    assert_string_equal(h.lines[0], "Alice: two");
    assert_string_equal(h.lines[2], "Alice: four");
    assert_int_equal(talk(&t, WR_MUD_CHAN, 1, 1, "nope", "x"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text, "There is no channel called nope.");
    assert_int_equal(talk(&t, WR_MUD_CHAN, 1, 1, "newbie", "help"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->code, "channel_off");
    P(p);
    wr_mud_encode_str(&p, "NEWBIE");
    wr_put_u8(&p, 1);
    assert_int_equal(cmd(&t, WR_MUD_CHANSET, 1, 1, &p), WR_APPLIED);
    wr_writer_free(&p);
    e = find_ev(&t, WR_MUD_EV_CHANSET, 0);
    assert_string_equal(e->code, "on");
    assert_string_equal(e->item, "newbie");
    assert_int_equal(ch(&t, "alice")->channels_off, 0);
    assert_int_equal(talk(&t, WR_MUD_CHAN, 1, 1, "newbie", "help"), WR_APPLIED);
    assert_int_equal(find_ev(&t, WR_MUD_EV_CHANNEL, 0)->target, 1);
    wr_writer_init(&p, 16);
    wr_mud_encode_str(&p, "gossip");
    wr_put_u8(&p, 0);
    assert_int_equal(cmd(&t, WR_MUD_CHANSET, 1, 1, &p), WR_APPLIED);
    wr_writer_free(&p);
    assert_string_equal(find_ev(&t, WR_MUD_EV_CHANSET, 0)->code, "off");
    assert_int_equal(talk(&t, WR_MUD_CHAN, 1, 1, "gossip", "five"), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_FAIL, 0)->text,
                        "You have the gossip channel turned off.");
    h.n = 0;
    wr_mud_channel_history(mud(&t), 0, hist_cb, &h);
    assert_int_equal(h.n, 3);
    assert_string_equal(h.lines[2], "Alice: four");
    t_free(&t);
}

/* ---- NPCs and zone ticks ------------------------------------------------- */

static const struct wr_mud_npc_inst *npc_of(struct t *t, const char *key)
{
    const struct wr_mud_model *mo = model(t);
    for (size_t i = 0; i < wr_mud_npc_count(mud(t)); i++) {
        const struct wr_mud_npc_inst *n = wr_mud_npc_at(mud(t), i);
        if (strcmp(mo->npcs[n->npc].key, key) == 0)
            return n;
    }
    return NULL;
}

static void test_npc_timer_epochs(void **state)
{
    (void)state;
    struct t t;
    t_init(&t);
    load_world(&t, 1);
    assert_int_equal(count_ev(&t, WR_MUD_EV_SPAWN), 5);
    assert_int_equal(wr_mud_npc_count(mud(&t)), 2);
    const struct wr_mud_npc_inst *gk = npc_of(&t, "gatekeeper");
    assert_non_null(gk);
    uint64_t due = gk->next_act_at;
    assert_true(due >= t.now + 5000 && due <= t.now + 10000);

    /* Unowned: no tick runs. */
    t.now = due - 1;
    assert_int_equal(zone_tick(&t, "town", 0, 0), WR_APPLIED);
    assert_int_equal(t.n_ev, 0);
    assert_int_equal(npc_of(&t, "gatekeeper")->next_act_at, due);

    /* Placement is compare-and-set. */
    assert_int_equal(zone_place(&t, "town", 1, 0), WR_APPLIED);
    const struct ev *e = find_ev(&t, WR_MUD_EV_ZONE_OWNER, 0);
    assert_non_null(e);
    assert_int_equal(e->audience, WR_AUD_ALL);
    assert_string_equal(e->item, "town");
    assert_int_equal(wr_mud_zone_state(mud(&t), Z_TOWN)->owner, 1);
    assert_int_equal(wr_mud_zone_state(mud(&t), Z_TOWN)->epoch, 1);
    assert_int_equal(zone_place(&t, "town", 2, 0), WR_APPLIED); /* stale prev */
    assert_int_equal(t.n_ev, 0);
    assert_int_equal(wr_mud_zone_state(mud(&t), Z_TOWN)->owner, 1);
    assert_int_equal(zone_place(&t, "nowhere", 2, 0), WR_APPLIED);
    assert_int_equal(t.n_ev, 0);

    /* Wrong node, wrong epoch: ignored. */
    assert_int_equal(zone_tick(&t, "town", 2, 1), WR_APPLIED);
    assert_int_equal(t.n_ev, 0);
    assert_int_equal(zone_tick(&t, "town", 1, 2), WR_APPLIED);
    assert_int_equal(t.n_ev, 0);
    /* Before due: nothing (the dog in the shop may act on its own timer,
     * so look at the gatekeeper only). */
    assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
    assert_int_equal(npc_of(&t, "gatekeeper")->next_act_at, due);
    /* The owner's tick at due: the gatekeeper speaks or emotes, once. */
    t.now = due;
    assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
    size_t acts = 0;
    for (size_t i = 0; i < t.n_ev; i++)
        if (t.ev[i].actor_kind == WR_MUD_ACTOR_NPC && strcmp(t.ev[i].actor, "the old gatekeeper") == 0) {
            acts++;
            assert_true(t.ev[i].type == WR_MUD_EV_SAY || t.ev[i].type == WR_MUD_EV_EMOTE);
            assert_int_equal(t.ev[i].target, room_of(model(&t), "town.square"));
        }
    assert_int_equal(acts, 1);
    uint64_t next = npc_of(&t, "gatekeeper")->next_act_at;
    assert_true(next >= due + 5000 && next <= due + 10000);
    /* The same tick again: nothing. */
    assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
    assert_int_equal(t.n_ev, 0);

    /* A new owner: the old one's ticks are fenced off, the new one's run. */
    assert_int_equal(zone_place(&t, "town", 2, 1), WR_APPLIED);
    assert_int_equal(wr_mud_zone_state(mud(&t), Z_TOWN)->epoch, 2);
    t.now = next;
    assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
    assert_int_equal(t.n_ev, 0);
    assert_int_equal(zone_tick(&t, "town", 1, 2), WR_APPLIED);
    assert_int_equal(t.n_ev, 0);
    assert_int_equal(wr_mud_zone_next_due(mud(&t), Z_TOWN) <= next, true);
    assert_int_equal(zone_tick(&t, "town", 2, 2), WR_APPLIED);
    assert_true(npc_of(&t, "gatekeeper")->next_act_at > next);
    assert_true(wr_mud_zone_next_due(mud(&t), Z_TOWN) > next);
    t_free(&t);
}

static void test_npc_wander_bounds(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    const struct wr_mud_model *mo = model(&t);
    uint32_t shop = room_of(mo, "town.shop"), square = room_of(mo, "town.square");
    uint32_t alley = room_of(mo, "town.alley");
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_E), WR_APPLIED);
    assert_int_equal(dircmd(&t, WR_MUD_OPEN, 1, 1, WR_DIR_E), WR_APPLIED);
    /* The dog (max_distance 1 from the shop) may reach the square and the
     * alley, never the gate, temple or yard (2 steps), nor the forest. */
    int seen[16] = {0};
    size_t moves = 0;
    for (int i = 0; i < 400; i++) {
        t.now += 1000;
        assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
        const struct wr_mud_npc_inst *dog = npc_of(&t, "dog");
        assert_true(dog->room == shop || dog->room == square || dog->room == alley);
        seen[dog->room]++;
        for (size_t k = 0; k < t.n_ev; k++) {
            if (t.ev[k].type == WR_MUD_EV_ARRIVE && t.ev[k].actor_kind == WR_MUD_ACTOR_NPC) {
                moves++;
                assert_int_equal(t.ev[k].target, dog->room);
            }
        }
        if (i == 200) /* close the door: the alley is out of reach */
            assert_int_equal(dircmd(&t, WR_MUD_CLOSE, 1, 1, WR_DIR_E), WR_APPLIED);
    }
    assert_true(moves > 100);
    assert_true(seen[shop] > 0 && seen[square] > 0 && seen[alley] > 0);
    t_free(&t);
}

static void test_greet_and_hear(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    uint32_t square = room_of(model(&t), "town.square");
    t.now = 2000;
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED); /* enters the square */
    assert_true(wr_mud_zone_next_due(mud(&t), Z_TOWN) <= 3000);
    t.now = 2999;
    assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
    assert_null(find_ev(&t, WR_MUD_EV_SAY, 0));
    t.now = 3000;
    assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
    const struct ev *e = find_ev(&t, WR_MUD_EV_SAY, 0);
    assert_non_null(e);
    assert_string_equal(e->text, "Welcome, Alice!");
    assert_string_equal(e->actor, "the old gatekeeper");
    assert_int_equal(e->actor_kind, WR_MUD_ACTOR_NPC);
    assert_int_equal(e->target, square);
    assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
    assert_null(find_ev(&t, WR_MUD_EV_SAY, 0));

    /* A say that matches the hear rule gets an answer 500 ms later; one
     * that does not, none. */
    assert_int_equal(talk(&t, WR_MUD_SAY, 1, 1, NULL, "nice day"), WR_APPLIED);
    assert_int_equal(talk(&t, WR_MUD_SAY, 1, 1, NULL, "Well HELLO there"), WR_APPLIED);
    t.now = 3499;
    assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
    assert_null(find_ev(&t, WR_MUD_EV_SAY, 0));
    t.now = 3500;
    assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
    assert_int_equal(count_ev(&t, WR_MUD_EV_SAY), 1);
    assert_string_equal(find_ev(&t, WR_MUD_EV_SAY, 0)->text, "Hello to you, Alice.");
    /* Moving into the square again greets again; elsewhere not. */
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_S), WR_APPLIED);
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_N), WR_APPLIED);
    t.now = 4500;
    assert_int_equal(zone_tick(&t, "town", 1, 1), WR_APPLIED);
    assert_string_equal(find_ev(&t, WR_MUD_EV_SAY, 0)->text, "Welcome, Alice!");
    t_free(&t);
}

/* ---- determinism, snapshots ---------------------------------------------- */

/* A scripted session of play, step @i of it, mixing every kind of command
 * (some refused) with ticks; the same steps give the same entries. */
static void play_step(struct t *t, int i)
{
    static const char *const names[] = {"alice", "bob", "carol"};
    uint64_t s = 1 + (uint64_t)(i % 3);
    uint32_t node = 1 + (uint32_t)(i % 2 == 0);
    t->now += 250;
    if (i < 3) {
        /* node of session s is fixed: session s on node 1 + (s % 2 == 1) */
        (void)node;
        assert_int_equal(create(t, 1 + (uint32_t)(s % 2), s, names[s - 1]), WR_APPLIED);
        return;
    }
    node = 1 + (uint32_t)(s % 2);
    switch (i % 11) {
    case 0:
        dircmd(t, WR_MUD_MOVE, node, s, (enum wr_mud_dir)((i / 11) % 4));
        break;
    case 1:
        strcmd(t, WR_MUD_GET, node, s, i % 2 ? "lantern" : "sword", NULL);
        break;
    case 2:
        talk(t, WR_MUD_SAY, node, s, NULL, i % 4 ? "hello gatekeeper" : "hm");
        break;
    case 3:
        zone_tick(t, "town", 1, 1);
        break;
    case 4:
        strcmd(t, WR_MUD_DROP, node, s, "lantern", NULL);
        break;
    case 5:
        dircmd(t, i % 2 ? WR_MUD_OPEN : WR_MUD_CLOSE, node, s, WR_DIR_E);
        break;
    case 6:
        talk(t, WR_MUD_CHAN, node, s, "gossip", "chatter");
        break;
    case 7:
        talk(t, WR_MUD_TELL, node, s, names[(i / 7) % 3], "psst");
        break;
    case 8:
        zone_tick(t, "forest", 2, 1);
        t->now += 3000;
        break;
    case 9:
        strcmd(t, WR_MUD_GIVE, node, s, "lantern", names[(i / 9) % 3]);
        break;
    default:
        zone_tick(t, "town", 1, 1);
        break;
    }
}

static void test_determinism(void **state)
{
    (void)state;
    struct t a, b;
    t_ready(&a);
    t_ready(&b);
    for (int i = 0; i < 300; i++) {
        play_step(&a, i);
        play_step(&b, i);
    }
    assert_int_equal(a.total_ev, b.total_ev);
    assert_true(a.digest == b.digest);
    assert_same_world(&a, &b);
    t_free(&a);
    t_free(&b);
}

static void test_snapshot_roundtrip(void **state)
{
    (void)state;
    struct t a, b;
    t_ready(&a);
    for (int i = 0; i < 150; i++)
        play_step(&a, i);
    /* Mid-game extras: a pending upload, a linkdead char, reactions. */
    P(p);
    wr_mud_encode_chunk(&p, (const uint8_t *)"0123456789abcdef", 100, 0, "partial", 7);
    assert_int_equal(cmd(&a, WR_MUD_WORLD_CHUNK, 1, 0, &p), WR_APPLIED);
    wr_writer_free(&p);
    assert_int_equal(cmd(&a, WR_MUD_DISCONNECT, 2, 1, NULL), WR_APPLIED);
    talk(&a, WR_MUD_SAY, 2, 3, NULL, "hello?");

    struct wr_writer s1, s2;
    snap(&a, &s1);
    t_init(&b);
    assert_int_equal(wr_world_restore(b.w, s1.base, s1.len), 0);
    snap(&b, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.base, s2.base, s1.len);
    wr_writer_free(&s2);

    /* The same future on both: same events, same state. */
    b.now = a.now;
    b.seed = a.seed;
    memcpy(b.seq, a.seq, sizeof a.seq);
    a.digest = b.digest = 0;
    a.total_ev = b.total_ev = 0;
    for (int i = 150; i < 400; i++) {
        play_step(&a, i);
        play_step(&b, i);
    }
    assert_true(a.total_ev > 0);
    assert_int_equal(a.total_ev, b.total_ev);
    assert_true(a.digest == b.digest);
    assert_same_world(&a, &b);

    /* Restoring twice into the same world is clean too. */
    assert_int_equal(wr_world_restore(b.w, s1.base, s1.len), 0);
    snap(&b, &s2);
    assert_memory_equal(s1.base, s2.base, s1.len);
    wr_writer_free(&s2);
    wr_writer_free(&s1);
    t_free(&a);
    t_free(&b);
}

static void test_restore_garbage(void **state)
{
    (void)state;
    struct t a, b;
    t_ready(&a);
    for (int i = 0; i < 120; i++)
        play_step(&a, i);
    struct wr_writer s;
    snap(&a, &s);
    t_init(&b);
    /* Every truncation, and byte flips at many places: never a crash (ASan
     * checks), and a restore that succeeds snapshots to itself. */
    for (size_t cut = 0; cut < s.len; cut += 1 + cut / 16)
        (void)wr_world_restore(b.w, s.base, cut);
    uint64_t rng = 7;
    for (int k = 0; k < 2000; k++) {
        uint8_t *copy = malloc(s.len);
        memcpy(copy, s.base, s.len);
        size_t at = (size_t)(wr_mix64(&rng) % s.len);
        copy[at] ^= (uint8_t)(1u << (wr_mix64(&rng) % 8));
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
    t_free(&a);
    t_free(&b);
}

/* ---- world reload --------------------------------------------------------- */

static void test_world_reload(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(&t, 1, 2, "bob"), WR_APPLIED);
    assert_int_equal(create(&t, 1, 3, "carol"), WR_APPLIED);
    /* Alice to the yard (removed by variant 2), Bob to the shop (kept),
     * Carol quits in the alley (kept). */
    dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_E);
    dircmd(&t, WR_MUD_OPEN, 1, 1, WR_DIR_E);
    dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_E);
    dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_E);
    assert_int_equal(ch(&t, "alice")->room, room_of(model(&t), "town.yard"));
    assert_int_equal(strcmd(&t, WR_MUD_GET, 1, 1, "sword", NULL), WR_APPLIED);
    dircmd(&t, WR_MUD_MOVE, 1, 2, WR_DIR_E);
    for (int i = 0; i < 3; i++)
        dircmd(&t, WR_MUD_MOVE, 1, 3, WR_DIR_E);
    assert_int_equal(ch(&t, "carol")->room, room_of(model(&t), "town.yard"));
    dircmd(&t, WR_MUD_MOVE, 1, 3, WR_DIR_W);
    assert_int_equal(cmd(&t, WR_MUD_QUIT, 1, 3, NULL), WR_APPLIED);
    talk(&t, WR_MUD_CHAN, 1, 1, "gossip", "before the reload");
    assert_int_equal(zone_place(&t, "town", 3, 1), WR_APPLIED);

    /* A bad bundle (hash mismatch, then unparsable) changes nothing. */
    struct wr_writer before, after;
    snap(&t, &before);
    uint8_t wrong[16] = {1};
    struct wr_writer v2;
    test_bundle(&v2, 2);
    load_bundle_hash(&t, v2.base, v2.len, wrong);
    wr_writer_free(&v2);
    const struct ev *e = find_ev(&t, WR_MUD_EV_WORLD, 0);
    assert_non_null(e);
    assert_string_equal(e->code, "bad");
    uint8_t h[16];
    crypto_generichash(h, 16, (const uint8_t *)"TESTWLD9", 8, NULL, 0);
    load_bundle_hash(&t, "TESTWLD9", 8, h);
    assert_string_equal(find_ev(&t, WR_MUD_EV_WORLD, 0)->code, "bad");
    snap(&t, &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.base, after.base, before.len);
    wr_writer_free(&before);
    wr_writer_free(&after);
    assert_int_equal(model(&t)->n_rooms, 8);

    uint32_t gossip_off = ch(&t, "alice")->channels_off;
    load_world(&t, 2);
    const struct wr_mud_model *mo = model(&t);
    assert_int_equal(mo->n_rooms, 7);
    e = find_ev(&t, WR_MUD_EV_WORLD, 0);
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", mo->hash[i]);
    assert_string_equal(e->text, hex);
    assert_int_equal(e->audience, WR_AUD_ALL);
    assert_int_equal(ch(&t, "alice")->room, mo->start_room);
    assert_int_equal(ch(&t, "alice")->state, WR_MUD_ONLINE);
    assert_int_equal(ch(&t, "bob")->room, room_of(mo, "town.shop"));
    assert_int_equal(ch(&t, "carol")->room, room_of(mo, "town.alley"));
    assert_int_equal(ch(&t, "carol")->state, WR_MUD_OFFLINE);
    assert_int_equal(ch(&t, "alice")->channels_off, gossip_off);
    /* The sword (kind removed) is gone, even from Alice's hands; the
     * lantern and fountain stay, their spawners did not spawn again. */
    size_t lanterns = 0, fountains = 0;
    for (size_t i = 0; i < wr_mud_item_count(mud(&t)); i++) {
        const struct wr_mud_item_inst *it = wr_mud_item_at(mud(&t), i);
        assert_true(it->item < mo->n_items);
        lanterns += strcmp(mo->items[it->item].key, "lantern") == 0;
        fountains += strcmp(mo->items[it->item].key, "fountain") == 0;
    }
    assert_int_equal(wr_mud_item_count(mud(&t)), 2);
    assert_int_equal(lanterns, 1);
    assert_int_equal(fountains, 1);
    assert_int_equal(count_ev(&t, WR_MUD_EV_SPAWN), 0);
    /* The shop door kept its (open) state; the zone its owner. */
    assert_false(wr_mud_door_closed(mud(&t), room_of(mo, "town.shop"), WR_DIR_E));
    assert_int_equal(wr_mud_zone_state(mud(&t), Z_TOWN)->owner, 3);
    assert_int_equal(wr_mud_zone_state(mud(&t), Z_TOWN)->epoch, 2);
    struct hist hi = {0};
    wr_mud_channel_history(mud(&t), 0, hist_cb, &hi);
    assert_int_equal(hi.n, 1);
    assert_int_equal(wr_mud_npc_count(mud(&t)), 2);
    /* The new room works. */
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_D), WR_APPLIED);
    assert_int_equal(ch(&t, "alice")->room, room_of(mo, "town.well"));
    /* Snapshot and restore of the reloaded world round-trip. */
    struct wr_writer s1, s2;
    snap(&t, &s1);
    struct t b;
    t_init(&b);
    assert_int_equal(wr_world_restore(b.w, s1.base, s1.len), 0);
    snap(&b, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.base, s2.base, s1.len);
    wr_writer_free(&s1);
    wr_writer_free(&s2);
    t_free(&b);
    t_free(&t);
}

/* ---- registry ------------------------------------------------------------ */

struct reg {
    int n;
    struct wr_reg_entry e[32];
};

static void reg_cb(void *arg, const struct wr_reg_entry *e)
{
    struct reg *r = arg;
    if (r->n < 32)
        r->e[r->n] = *e;
    r->n++;
}

static const struct wr_reg_entry *reg_find(const struct reg *r, const char *name)
{
    for (int i = 0; i < r->n && i < 32; i++)
        if (strcmp(r->e[i].name, name) == 0)
            return &r->e[i];
    return NULL;
}

static void test_registry(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 2, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(&t, 1, 2, "bob"), WR_APPLIED);
    assert_int_equal(cmd(&t, WR_MUD_QUIT, 1, 2, NULL), WR_APPLIED);
    struct reg r = {0};
    wr_mud_module.registry(mud(&t), reg_cb, &r);
    assert_int_equal(r.n, 2 + 1 + 2); /* zones, Alice, NPCs */
    const struct wr_reg_entry *e = reg_find(&r, "zone/town");
    assert_non_null(e);
    assert_int_equal(e->kind, WR_REG_ZONE);
    assert_int_equal(e->node, 1);
    assert_int_equal(e->epoch, 1);
    assert_string_equal(e->info, "6 rooms");
    e = reg_find(&r, "zone/forest");
    assert_int_equal(e->node, 2);
    assert_string_equal(e->info, "2 rooms");
    e = reg_find(&r, "char/Alice");
    assert_non_null(e);
    assert_int_equal(e->kind, WR_REG_PLAYER);
    assert_int_equal(e->node, 2);
    assert_string_equal(e->info, "town.square");
    assert_null(reg_find(&r, "char/Bob"));
    e = reg_find(&r, "npc/gatekeeper#1");
    assert_non_null(e);
    assert_int_equal(e->kind, WR_REG_NPC);
    assert_int_equal(e->node, 1);
    assert_string_equal(e->info, "town.square");
    assert_non_null(reg_find(&r, "npc/dog#2"));
    t_free(&t);
}

/* ---- malformed input ----------------------------------------------------- */

static void mud_bytes(struct t *t, struct wr_writer *out)
{
    wr_writer_init(out, 1024);
    wr_mud_module.snapshot(mud(t), out);
}

/* The verdict a payload that cannot be decoded gets. */
#define assert_malformed(v) assert_int_equal((v), WR_MALFORMED)

static void test_malformed_payloads(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_E);
    strcmd(&t, WR_MUD_GET, 1, 1, "lantern", NULL);

    /* Every strict prefix of a good payload of every type is malformed
     * and changes nothing in the MUD. */
    struct {
        uint8_t type;
        bool session;
    } types[] = {
        {WR_MUD_MOVE, true},       {WR_MUD_OPEN, true},      {WR_MUD_CLOSE, true},
        {WR_MUD_GET, true},        {WR_MUD_DROP, true},      {WR_MUD_GIVE, true},
        {WR_MUD_SAY, true},        {WR_MUD_EMOTE, true},     {WR_MUD_WHISPER, true},
        {WR_MUD_TELL, true},       {WR_MUD_REPLY, true},     {WR_MUD_CHAN, true},
        {WR_MUD_CHANSET, true},    {WR_MUD_NODE_DOWN, false}, {WR_MUD_EXPIRE, false},
        {WR_MUD_ZONE_PLACE, false}, {WR_MUD_ZONE_TICK, false}, {WR_MUD_WORLD_CHUNK, false},
    };
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        uint8_t type = types[k].type;
        P(p);
        switch (type) {
        case WR_MUD_MOVE:
        case WR_MUD_OPEN:
        case WR_MUD_CLOSE:
            wr_mud_encode_dir(&p, WR_DIR_W);
            break;
        case WR_MUD_GET:
        case WR_MUD_DROP:
            wr_mud_encode_str(&p, "lantern");
            break;
        case WR_MUD_GIVE:
            wr_mud_encode_str(&p, "lantern");
            wr_mud_encode_str(&p, "alice");
            break;
        case WR_MUD_SAY:
        case WR_MUD_EMOTE:
        case WR_MUD_REPLY:
            wr_mud_encode_text(&p, "hello");
            break;
        case WR_MUD_WHISPER:
        case WR_MUD_TELL:
        case WR_MUD_CHAN:
            wr_mud_encode_str(&p, "gossip");
            wr_mud_encode_text(&p, "hello");
            break;
        case WR_MUD_CHANSET:
            wr_mud_encode_str(&p, "gossip");
            wr_put_u8(&p, 0);
            break;
        case WR_MUD_NODE_DOWN:
            wr_mud_encode_u32(&p, 1);
            break;
        case WR_MUD_EXPIRE:
            wr_mud_encode_expire(&p, 1, 0);
            break;
        case WR_MUD_ZONE_PLACE:
            wr_mud_encode_zone_place(&p, "town", 1, 1);
            break;
        case WR_MUD_ZONE_TICK:
            wr_mud_encode_zone_tick(&p, "town", 1);
            break;
        default:
            wr_mud_encode_chunk(&p, tok(3), 8, 0, "TESTWLD1", 8);
            break;
        }
        for (size_t cut = 0; cut < p.len; cut++) {
            struct wr_writer before, after;
            mud_bytes(&t, &before);
            struct wr_writer q;
            wr_writer_init(&q, 64);
            wr_put_bytes(&q, p.base, cut);
            enum wr_verdict v = cmd(&t, type, 1, types[k].session ? 1 : 0, &q);
            assert_malformed(v);
            mud_bytes(&t, &after);
            assert_int_equal(before.len, after.len);
            assert_memory_equal(before.base, after.base, before.len);
            wr_writer_free(&q);
            wr_writer_free(&before);
            wr_writer_free(&after);
        }
        wr_writer_free(&p);
    }
    /* Out-of-range values. */
    P(p);
    wr_put_u8(&p, WR_MUD_NDIRS);
    assert_malformed(cmd(&t, WR_MUD_MOVE, 1, 1, &p));
    wr_writer_free(&p);
    wr_writer_init(&p, 64);
    wr_mud_encode_chunk(&p, tok(3), WR_MUD_BUNDLE_MAX + 1, 0, "x", 1);
    assert_malformed(cmd(&t, WR_MUD_WORLD_CHUNK, 1, 0, &p));
    wr_writer_free(&p);
    wr_writer_init(&p, 64);
    wr_mud_encode_chunk(&p, tok(3), 4, 2, "xyz", 3);
    assert_malformed(cmd(&t, WR_MUD_WORLD_CHUNK, 1, 0, &p));
    wr_writer_free(&p);
    /* Node commands from a client session, unknown types. */
    wr_writer_init(&p, 64);
    wr_mud_encode_zone_tick(&p, "town", 1);
    assert_malformed(cmd(&t, WR_MUD_ZONE_TICK, 1, 1, &p));
    wr_writer_free(&p);
    assert_malformed(cmd(&t, 200, 1, 1, NULL));
    /* Still playing. */
    assert_int_equal(dircmd(&t, WR_MUD_MOVE, 1, 1, WR_DIR_W), WR_APPLIED);
    assert_int_equal(ch(&t, "alice")->room, model(&t)->start_room);
    t_free(&t);
}

/* Random commands of every type with random payloads: no crash, the
 * invariants hold (wr__mud_check asserts them), and the state still
 * round-trips through a snapshot. */
static void test_fuzz_commands(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(&t, 1, 2, "bob"), WR_APPLIED);
    uint64_t rng = 99;
    for (int i = 0; i < 20000; i++) {
        uint8_t buf[48];
        size_t n = (size_t)(wr_mix64(&rng) % sizeof buf);
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)wr_mix64(&rng);
        if (n > 0 && wr_mix64(&rng) % 2) /* plausible lengths more often */
            buf[0] = (uint8_t)(wr_mix64(&rng) % (n + 1));
        struct wr_writer q;
        wr_writer_init(&q, 64);
        wr_put_bytes(&q, buf, n);
        uint8_t type = (uint8_t)(1 + wr_mix64(&rng) % (WR_MUD_WORLD_CHUNK + 1));
        if (type == WR_MUD_QUIT || type == WR_MUD_CREATE || type == WR_MUD_LOGIN ||
            type == WR_MUD_RESUME)
            type = WR_MUD_SAY;
        uint64_t s = wr_mix64(&rng) % 3; /* 0: node command */
        t.now += wr_mix64(&rng) % 2000;
        cmd(&t, type, 1, s, &q);
        wr_writer_free(&q);
        if (i % 50 == 0)
            zone_tick(&t, "town", 1, 1);
    }
    struct wr_writer s1, s2;
    snap(&t, &s1);
    struct t b;
    t_init(&b);
    assert_int_equal(wr_world_restore(b.w, s1.base, s1.len), 0);
    snap(&b, &s2);
    assert_memory_equal(s1.base, s2.base, s1.len);
    wr_writer_free(&s1);
    wr_writer_free(&s2);
    t_free(&b);
    t_free(&t);
}

/* The sample world under world/ (run from the repository's root): it
 * loads through chunks, and an hour of ticks in every zone with a player
 * walking about keeps the invariants and round-trips through a snapshot. */
static void test_sample_world(void **state)
{
    (void)state;
    struct wr_writer b;
    char err[512];
    wr_writer_init(&b, 65536);
    if (wr_mud_bundle_read_dir("world", &b, err, sizeof err) != 0) {
        wr_writer_free(&b);
        skip();
    }
    struct t t;
    t_init(&t);
    uint8_t hash[16];
    crypto_generichash(hash, 16, b.base, b.len, NULL, 0);
    load_bundle_hash(&t, b.base, b.len, hash);
    wr_writer_free(&b);
    const struct ev *e = find_ev(&t, WR_MUD_EV_WORLD, 0);
    assert_non_null(e);
    if (strcmp(e->code, "loaded") != 0)
        fail_msg("sample world refused: %s", e->text);
    const struct wr_mud_model *mo = model(&t);
    assert_true(wr_mud_npc_count(mud(&t)) == mo->n_npc_spawners);
    assert_true(wr_mud_item_count(mud(&t)) == mo->n_item_spawners);
    for (size_t z = 0; z < mo->n_zones; z++)
        assert_int_equal(zone_place(&t, mo->zones[z].key, 1 + (uint32_t)z, 0), WR_APPLIED);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    uint64_t rng = 5;
    for (int i = 0; i < 3600; i++) {
        t.now += 1000;
        dircmd(&t, WR_MUD_MOVE, 1, 1, (enum wr_mud_dir)(wr_mix64(&rng) % WR_MUD_NDIRS));
        if (i % 7 == 0)
            dircmd(&t, WR_MUD_OPEN, 1, 1, (enum wr_mud_dir)(wr_mix64(&rng) % WR_MUD_NDIRS));
        for (size_t z = 0; z < mo->n_zones; z++)
            zone_tick(&t, mo->zones[z].key, 1 + (uint32_t)z, 1);
    }
    /* Every NPC is still in its spawner's zone and within its radius. */
    for (size_t i = 0; i < wr_mud_npc_count(mud(&t)); i++) {
        const struct wr_mud_npc_inst *n = wr_mud_npc_at(mud(&t), i);
        uint32_t home = mo->npc_spawners[n->spawner].room;
        assert_int_equal(mo->rooms[n->room].zone, mo->rooms[home].zone);
    }
    struct wr_writer s1, s2;
    snap(&t, &s1);
    struct t c;
    t_init(&c);
    assert_int_equal(wr_world_restore(c.w, s1.base, s1.len), 0);
    snap(&c, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.base, s2.base, s1.len);
    wr_writer_free(&s1);
    wr_writer_free(&s2);
    t_free(&c);
    t_free(&t);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_world),
        cmocka_unit_test(test_create_quit_login),
        cmocka_unit_test(test_name_race),
        cmocka_unit_test(test_takeover_and_reconnect),
        cmocka_unit_test(test_linkdead_expire),
        cmocka_unit_test(test_move_and_doors),
        cmocka_unit_test(test_items_and_spawner),
        cmocka_unit_test(test_talk),
        cmocka_unit_test(test_npc_timer_epochs),
        cmocka_unit_test(test_npc_wander_bounds),
        cmocka_unit_test(test_greet_and_hear),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_snapshot_roundtrip),
        cmocka_unit_test(test_restore_garbage),
        cmocka_unit_test(test_world_reload),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_malformed_payloads),
        cmocka_unit_test(test_fuzz_commands),
        cmocka_unit_test(test_sample_world),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
