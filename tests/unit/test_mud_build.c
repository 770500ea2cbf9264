/* Unit tests for roles, live building and admin commands (mud/mud_build.c,
 * mud/model_edit.c), driven through the world's apply path with encoded
 * entries as a node would send them. Every refusal is next to the same
 * input accepted (a positive control), and a refusal must leave the MUD's
 * state byte for byte as it was. An edited world must be exactly what a
 * restore rebuilds from the snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mud/model_edit.h"
#include "mud/mud.h"
#include "mud/mud_build.h"
#include "mud/worldfile.h"
#include "mud_node/mud_text.h"
#include "world/world.h"

#include "mud_harness.h"

/* ---- the test world ------------------------------------------------------ */

static const char world_yaml[] = "name: Buildland\n"
                                 "start: town.square\n"
                                 "channels:\n"
                                 "  - {id: gossip, desc: Talk., default: on, history: 3}\n";

static const char town_yaml[] =
    "zone: {id: town, name: Town, desc: A town., graveyard: square}\n"
    "rooms:\n"
    "  - {id: square, name: Square, desc: A square., x: 0, y: 0,\n"
    "     exits: {e: hall, n: wild.field}}\n"
    "  - {id: hall, name: Hall, desc: A hall., x: 1, y: 0, exits: {w: square}}\n"
    "items:\n"
    "  - {id: lantern, name: a rusty lantern, keywords: lantern rusty, desc: A lantern.,\n"
    "     ground: A lantern lies here.}\n"
    "item_spawners:\n"
    "  - {item: lantern, room: square, interval: 60s}\n"
    "npcs:\n"
    "  - {id: guard, name: a town guard, keywords: guard, desc: A guard.,\n"
    "     ground: A guard stands here.}\n"
    "npc_spawners:\n"
    "  - {npc: guard, room: hall, interval: 30s}\n";

static const char wild_yaml[] =
    "zone: {id: wild, name: Wilds, desc: Wild., graveyard: field}\n"
    "rooms:\n"
    "  - {id: field, name: Field, desc: A field., x: 0, y: -1, exits: {s: town.square}}\n";

/* One world only: @variant is not used. */
static void test_bundle(struct wr_writer *w, int variant)
{
    bundle_init(w, 3);
    put_file(w, "world.yaml", world_yaml);
    put_file(w, "zones/town.yaml", town_yaml);
    put_file(w, "zones/wild.yaml", wild_yaml);
}

/* ---- commands ------------------------------------------------------------ */

/* The text of the refusal the last command got, or NULL. */
static const char *failed(struct t *t)
{
    const struct ev *e = find_ev(t, WR_MUD_EV_FAIL, 0);
    return e ? e->text : NULL;
}

static void create(struct t *t, uint32_t node, uint64_t s, const char *name)
{
    P(p);
    wr_mud_encode_create(&p, name, "$argon2id$fake", tok((uint8_t)s), 7);
    assert_int_equal(cmd(t, WR_MUD_CREATE, node, s, &p), WR_APPLIED);
    assert_non_null(find_ev(t, WR_MUD_EV_ENTERED_GAME, 0));
    wr_writer_free(&p);
}

static enum wr_verdict set_role(struct t *t, const char *name, uint8_t role)
{
    P(p);
    wr_mud_encode_set_role(&p, name, role);
    enum wr_verdict v = cmd(t, WR_MUD_SET_ROLE, 1, 0, &p);
    wr_writer_free(&p);
    return v;
}

/* A builder op of session @s (Alice is session 1 on node 1, Bob session 2
 * on node 2, Carol session 3 on node 1). */
static enum wr_verdict build(struct t *t, uint64_t s, uint8_t op, int dir, const char *a,
                             const char *text)
{
    P(p);
    wr_mud_encode_op(&p, WR_MUD_BUILD, op, dir, a, NULL, text);
    enum wr_verdict v = cmd(t, WR_MUD_BUILD, s == 2 ? 2 : 1, s, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict admin(struct t *t, uint64_t s, uint8_t op, const char *a, const char *b,
                             const char *text)
{
    P(p);
    wr_mud_encode_op(&p, WR_MUD_ADMIN, op, 0, a, b, text);
    enum wr_verdict v = cmd(t, WR_MUD_ADMIN, s == 2 ? 2 : 1, s, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict move(struct t *t, uint64_t s, enum wr_mud_dir d)
{
    P(p);
    wr_mud_encode_dir(&p, d);
    enum wr_verdict v = cmd(t, WR_MUD_MOVE, s == 2 ? 2 : 1, s, &p);
    wr_writer_free(&p);
    return v;
}

static const struct wr_mud_char *ch(struct t *t, const char *name)
{
    return wr_mud_char_by_name(mud(t), name);
}

static uint32_t room_of(struct t *t, const char *key)
{
    long r = wr_mud_model_room(model(t), key);
    if (r < 0)
        fail_msg("no room %s", key);
    return (uint32_t)r;
}

static const char *room_key(struct t *t, const char *name)
{
    return model(t)->rooms[ch(t, name)->room].key;
}

/* The key of the room exit @d of room @key leads to, or "". */
static const char *exit_to(struct t *t, const char *key, enum wr_mud_dir d)
{
    uint32_t to = model(t)->rooms[room_of(t, key)].exits[d].to;
    return to == WR_MUD_NO_ROOM ? "" : model(t)->rooms[to].key;
}

/* The MUD module's own snapshot (no session table around it). */
static void mud_snap(struct t *t, struct wr_writer *out)
{
    wr_writer_init(out, 1024);
    wr_mud_module.snapshot(mud(t), out);
}

/* Keep the module's snapshot before a refused command, then check that the
 * command changed nothing. */
struct before {
    struct wr_writer s;
};

static void keep(struct t *t, struct before *b)
{
    mud_snap(t, &b->s);
}

static void unchanged(struct t *t, struct before *b)
{
    struct wr_writer now;
    mud_snap(t, &now);
    assert_int_equal(now.len, b->s.len);
    assert_memory_equal(now.base, b->s.base, now.len);
    wr_writer_free(&now);
    wr_writer_free(&b->s);
}

/* Refused with a message containing @want, and nothing changed. */
#define REFUSED(t, call, want)                                                                     \
    do {                                                                                           \
        struct before b_;                                                                          \
        keep((t), &b_);                                                                            \
        assert_int_equal((call), WR_APPLIED);                                                      \
        const char *why_ = failed(t);                                                              \
        if (why_ == NULL || strstr(why_, (want)) == NULL)                                          \
            fail_msg("expected a refusal with '%s', got '%s'", (want), why_ ? why_ : "(none)");    \
        unchanged((t), &b_);                                                                       \
    } while (0)

/* Applied without a refusal. */
#define ACCEPTED(t, call)                                                                          \
    do {                                                                                           \
        assert_int_equal((call), WR_APPLIED);                                                      \
        const char *why_ = failed(t);                                                              \
        if (why_ != NULL)                                                                          \
            fail_msg("refused: %s", why_);                                                         \
    } while (0)

/* Alice (builder, session 1), Bob (player, session 2, node 2) and Carol
 * (player, session 3) in the town square; the town placed on node 1. */
static void t_ready(struct t *t)
{
    t_init(t);
    load_world(t, 1);
    create(t, 1, 1, "Alice");
    create(t, 2, 2, "Bob");
    create(t, 1, 3, "Carol");
    P(p);
    wr_mud_encode_zone_place(&p, "town", 1, 0);
    assert_int_equal(cmd(t, WR_MUD_ZONE_PLACE, 1, 0, &p), WR_APPLIED);
    wr_writer_free(&p);
    assert_int_equal(set_role(t, "Alice", WR_ROLE_BUILDER), WR_APPLIED);
}

/* The world hash as hex, for comparisons. */
static void world_hash(struct t *t, char out[33])
{
    const uint8_t *h = wr_mud_world_hash(mud(t));
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* ---- roles ------------------------------------------------------------- */

static void test_set_role(void **state)
{
    (void)state;
    struct t t;
    t_init(&t);
    load_world(&t, 1);
    create(&t, 2, 2, "Bob");
    assert_int_equal(ch(&t, "Bob")->role, WR_ROLE_PLAYER);

    /* An unknown name changes nothing; a bad role is malformed. */
    struct before b;
    keep(&t, &b);
    assert_int_equal(set_role(&t, "Nobody", WR_ROLE_ADMIN), WR_APPLIED);
    assert_int_equal(set_role(&t, "Bob", 3), WR_MALFORMED);
    unchanged(&t, &b);

    /* The character is told on its own session. */
    assert_int_equal(set_role(&t, "bob", WR_ROLE_BUILDER), WR_APPLIED);
    assert_int_equal(ch(&t, "Bob")->role, WR_ROLE_BUILDER);
    const struct ev *e = find_code(&t, WR_MUD_EV_ACT, "info", 0);
    assert_non_null(e);
    assert_int_equal(e->audience, WR_AUD_SESSION);
    assert_int_equal(e->node, 2);
    assert_int_equal(e->session, 2);
    assert_non_null(strstr(e->to_actor, "builder"));
    assert_int_equal(set_role(&t, "Bob", WR_ROLE_ADMIN), WR_APPLIED);
    assert_int_equal(ch(&t, "Bob")->role, WR_ROLE_ADMIN);
    assert_int_equal(set_role(&t, "Bob", WR_ROLE_PLAYER), WR_APPLIED);
    assert_int_equal(ch(&t, "Bob")->role, WR_ROLE_PLAYER);

    /* From a session it is malformed: only nodes propose it. */
    P(p);
    wr_mud_encode_set_role(&p, "Bob", WR_ROLE_ADMIN);
    assert_int_equal(cmd(&t, WR_MUD_SET_ROLE, 2, 2, &p), WR_MALFORMED);
    wr_writer_free(&p);
    assert_int_equal(ch(&t, "Bob")->role, WR_ROLE_PLAYER);

    assert_string_equal(wr_mud_role_name(WR_ROLE_BUILDER), "builder");
    assert_int_equal(wr_mud_role_parse("admin"), WR_ROLE_ADMIN);
    assert_int_equal(wr_mud_role_parse("Admin"), -1);
    t_free(&t);
}

static void test_roles_checked_in_apply(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    /* Bob is a player: refused, then accepted once he is a builder. */
    REFUSED(&t, build(&t, 2, WR_BUILD_RNAME, 0, NULL, "Plaza"), "You are not a builder.");
    assert_int_equal(set_role(&t, "Bob", WR_ROLE_BUILDER), WR_APPLIED);
    ACCEPTED(&t, build(&t, 2, WR_BUILD_RNAME, 0, NULL, "Plaza"));
    assert_string_equal(model(&t)->rooms[room_of(&t, "town.square")].name, "Plaza");

    /* Admin commands need admin: a builder is refused. */
    REFUSED(&t, admin(&t, 2, WR_ADMIN_PAUSE, "town", NULL, NULL), "You are not an admin.");
    assert_int_equal(set_role(&t, "Bob", WR_ROLE_ADMIN), WR_APPLIED);
    ACCEPTED(&t, admin(&t, 2, WR_ADMIN_PAUSE, "town", NULL, NULL));
    /* An admin builds too. */
    ACCEPTED(&t, build(&t, 2, WR_BUILD_RNAME, 0, NULL, "Town Square"));
    t_free(&t);
}

/* ---- building ---------------------------------------------------------- */

static void test_dig(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    char h0[33], h1[33];
    world_hash(&t, h0);
    size_t rooms = model(&t)->n_rooms;

    /* North of the square is the field already. */
    REFUSED(&t, build(&t, 1, WR_BUILD_DIG, WR_DIR_N, "cellar", NULL), "already an exit north");
    REFUSED(&t, build(&t, 1, WR_BUILD_DIG, WR_DIR_D, "Cellar", NULL), "not a valid room id");
    REFUSED(&t, build(&t, 1, WR_BUILD_DIG, WR_DIR_D, "hall", NULL), "Room town.hall exists");
    ACCEPTED(&t, build(&t, 1, WR_BUILD_DIG, WR_DIR_D, "cellar", "A Dark Cellar"));

    assert_int_equal(model(&t)->n_rooms, rooms + 1);
    const struct wr_mud_room *cel = &model(&t)->rooms[room_of(&t, "town.cellar")];
    assert_string_equal(cel->name, "A Dark Cellar");
    assert_int_equal(cel->z, -1);
    assert_string_equal(model(&t)->zones[cel->zone].key, "town");
    assert_string_equal(exit_to(&t, "town.square", WR_DIR_D), "town.cellar");
    assert_string_equal(exit_to(&t, "town.cellar", WR_DIR_U), "town.square");
    /* Rooms stay grouped by zone: the town's rooms come first. */
    for (size_t r = 1; r < model(&t)->n_rooms; r++)
        assert_true(model(&t)->rooms[r - 1].zone <= model(&t)->rooms[r].zone);
    /* Nobody moved; the builder was told; the square heard of it. */
    assert_string_equal(room_key(&t, "Alice"), "town.square");
    assert_string_equal(room_key(&t, "Bob"), "town.square");
    const struct ev *e = find_code(&t, WR_MUD_EV_ACT, "build", 0);
    assert_non_null(e);
    assert_non_null(strstr(e->to_actor, "town.cellar"));
    e = find_code(&t, WR_MUD_EV_WORLD, "edited", 0);
    assert_non_null(e);
    assert_int_equal(e->audience, WR_AUD_ALL); /* the install's */
    bool notice = false;
    for (size_t i = 0; i < t.n_ev; i++)
        if (t.ev[i].type == WR_MUD_EV_WORLD && t.ev[i].audience == WR_AUD_ROOM) {
            assert_int_equal(t.ev[i].target, room_of(&t, "town.square"));
            assert_int_equal(t.ev[i].room, room_of(&t, "town.square"));
            assert_non_null(strstr(t.ev[i].text, "Alice"));
            notice = true;
        }
    assert_true(notice);
    world_hash(&t, h1);
    assert_string_not_equal(h0, h1);

    /* The new room is walkable; a second dig from it. */
    ACCEPTED(&t, move(&t, 1, WR_DIR_D));
    assert_string_equal(room_key(&t, "Alice"), "town.cellar");
    ACCEPTED(&t, build(&t, 1, WR_BUILD_DIG, WR_DIR_E, "vault", NULL));
    assert_string_equal(model(&t)->rooms[room_of(&t, "town.vault")].name, "An Unfinished Room");
    assert_string_equal(exit_to(&t, "town.vault", WR_DIR_W), "town.cellar");
    t_free(&t);
}

static void test_redit(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    REFUSED(&t, build(&t, 1, WR_BUILD_RNAME, 0, NULL, ""), "one line");
    REFUSED(&t, build(&t, 1, WR_BUILD_RNAME, 0, NULL, "Square"), "that already");
    char longname[100];
    memset(longname, 'x', 81);
    longname[81] = '\0';
    REFUSED(&t, build(&t, 1, WR_BUILD_RNAME, 0, NULL, longname), "at most 80");
    longname[80] = '\0';
    ACCEPTED(&t, build(&t, 1, WR_BUILD_RNAME, 0, NULL, longname));
    ACCEPTED(&t, build(&t, 1, WR_BUILD_RNAME, 0, NULL, "Market \"Square\": it's a: test"));
    assert_string_equal(model(&t)->rooms[room_of(&t, "town.square")].name,
                        "Market \"Square\": it's a: test");
    REFUSED(&t, build(&t, 1, WR_BUILD_RDESC, 0, NULL, "bad\x01text"), "one line");
    ACCEPTED(&t, build(&t, 1, WR_BUILD_RDESC, 0, NULL, "Stalls crowd the muddy square."));
    assert_string_equal(model(&t)->rooms[room_of(&t, "town.square")].desc,
                        "Stalls crowd the muddy square.");
    t_free(&t);
}

static void test_link_unlink(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    /* From the square: west is free; the field's east too. */
    REFUSED(&t, build(&t, 1, WR_BUILD_LINK, WR_DIR_W, "nowhere", NULL), "There is no room");
    REFUSED(&t, build(&t, 1, WR_BUILD_LINK, WR_DIR_E, "hall", NULL), "already an exit east");
    ACCEPTED(&t, build(&t, 1, WR_BUILD_LINK, WR_DIR_W, "wild.field", NULL));
    assert_string_equal(exit_to(&t, "town.square", WR_DIR_W), "wild.field");
    assert_string_equal(exit_to(&t, "wild.field", WR_DIR_E), "town.square");
    const struct ev *e = find_code(&t, WR_MUD_EV_ACT, "build", 0);
    assert_non_null(strstr(e->to_actor, "leads back"));
    size_t notices = 0;
    for (size_t i = 0; i < t.n_ev; i++)
        notices += t.ev[i].type == WR_MUD_EV_WORLD && t.ev[i].audience == WR_AUD_ROOM;
    assert_int_equal(notices, 2); /* here and the field */

    /* One way when the far side's exit back is taken: the hall's west
     * leads to the square already. */
    ACCEPTED(&t, build(&t, 1, WR_BUILD_DIG, WR_DIR_S, "lane", NULL));
    ACCEPTED(&t, move(&t, 1, WR_DIR_S));
    ACCEPTED(&t, build(&t, 1, WR_BUILD_LINK, WR_DIR_E, "hall", NULL)); /* short id */
    assert_string_equal(exit_to(&t, "town.lane", WR_DIR_E), "town.hall");
    assert_string_equal(exit_to(&t, "town.hall", WR_DIR_W), "town.square");
    assert_non_null(strstr(find_code(&t, WR_MUD_EV_ACT, "build", 0)->to_actor, "one way"));

    /* Unlink: both sides when the far side leads back; only this one else. */
    REFUSED(&t, build(&t, 1, WR_BUILD_UNLINK, WR_DIR_W, NULL, NULL), "There is no exit west");
    ACCEPTED(&t, build(&t, 1, WR_BUILD_UNLINK, WR_DIR_E, NULL, NULL));
    assert_string_equal(exit_to(&t, "town.lane", WR_DIR_E), "");
    assert_string_equal(exit_to(&t, "town.hall", WR_DIR_W), "town.square");
    ACCEPTED(&t, move(&t, 1, WR_DIR_N));
    ACCEPTED(&t, build(&t, 1, WR_BUILD_UNLINK, WR_DIR_W, NULL, NULL));
    assert_string_equal(exit_to(&t, "town.square", WR_DIR_W), "");
    assert_string_equal(exit_to(&t, "wild.field", WR_DIR_E), "");
    t_free(&t);
}

static void test_doors(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    REFUSED(&t, build(&t, 1, WR_BUILD_DOOR, WR_DIR_W, "gate", NULL), "There is no exit west");
    REFUSED(&t, build(&t, 1, WR_BUILD_NODOOR, WR_DIR_E, NULL, NULL), "There is no door east");
    ACCEPTED(&t, build(&t, 1, WR_BUILD_DOOR, WR_DIR_E, NULL, NULL));
    const struct wr_mud_exit *x = &model(&t)->rooms[room_of(&t, "town.square")].exits[WR_DIR_E];
    const struct wr_mud_exit *bx = &model(&t)->rooms[room_of(&t, "town.hall")].exits[WR_DIR_W];
    assert_true(x->door && !x->closed && bx->door);
    assert_string_equal(x->door_name, "door");
    assert_string_equal(bx->door_name, "door");
    REFUSED(&t, build(&t, 1, WR_BUILD_DOOR, WR_DIR_E, "door", NULL), "There is a door east");
    ACCEPTED(&t, build(&t, 1, WR_BUILD_DOOR, WR_DIR_E, "oak door", NULL));
    x = &model(&t)->rooms[room_of(&t, "town.square")].exits[WR_DIR_E];
    assert_string_equal(x->door_name, "oak door");

    /* The door works: closed, the way is barred; the state survives an
     * unrelated edit (the install keeps door states by exit). */
    P(p);
    wr_mud_encode_dir(&p, WR_DIR_E);
    ACCEPTED(&t, cmd(&t, WR_MUD_CLOSE, 1, 1, &p));
    wr_writer_free(&p);
    assert_true(wr_mud_door_closed(mud(&t), room_of(&t, "town.square"), WR_DIR_E));
    ACCEPTED(&t, build(&t, 1, WR_BUILD_RNAME, 0, NULL, "Gated Square"));
    assert_true(wr_mud_door_closed(mud(&t), room_of(&t, "town.square"), WR_DIR_E));
    assert_true(wr_mud_door_closed(mud(&t), room_of(&t, "town.hall"), WR_DIR_W));
    REFUSED(&t, move(&t, 2, WR_DIR_E), "closed");

    ACCEPTED(&t, build(&t, 1, WR_BUILD_NODOOR, WR_DIR_E, NULL, NULL));
    x = &model(&t)->rooms[room_of(&t, "town.square")].exits[WR_DIR_E];
    assert_false(x->door);
    assert_false(model(&t)->rooms[room_of(&t, "town.hall")].exits[WR_DIR_W].door);
    ACCEPTED(&t, move(&t, 2, WR_DIR_E));
    t_free(&t);
}

/* The instances of model item @key lying in room @room. */
static size_t items_in(struct t *t, const char *key, const char *room)
{
    long it = wr_mud_model_item(model(t), key);
    size_t n = 0;
    for (size_t i = 0; it >= 0 && i < wr_mud_item_count(mud(t)); i++) {
        const struct wr_mud_item_inst *in = wr_mud_item_at(mud(t), i);
        n += in->item == (uint32_t)it && in->loc == WR_MUD_IN_ROOM && in->where == room_of(t, room);
    }
    return n;
}

static size_t npcs_in(struct t *t, const char *key, const char *room)
{
    long k = wr_mud_model_npc(model(t), key);
    size_t n = 0;
    for (size_t i = 0; k >= 0 && i < wr_mud_npc_count(mud(t)); i++) {
        const struct wr_mud_npc_inst *in = wr_mud_npc_at(mud(t), i);
        n += in->npc == (uint32_t)k && in->room == room_of(t, room);
    }
    return n;
}

static void test_ocreate_odelete(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    REFUSED(&t, build(&t, 1, WR_BUILD_OCREATE, 0, "stone", NULL), "There is no item stone");
    REFUSED(&t, build(&t, 1, WR_BUILD_OCREATE, 0, "lantern", "a lamp"), "already an item");
    REFUSED(&t, build(&t, 1, WR_BUILD_OCREATE, 0, "Stone!", "a stone"), "not a valid item id");
    ACCEPTED(&t, build(&t, 1, WR_BUILD_OCREATE, 0, "stone", "a Shiny Stone"));
    long k = wr_mud_model_item(model(&t), "stone");
    assert_true(k >= 0);
    const struct wr_mud_item *it = &model(&t)->items[k];
    assert_string_equal(it->name, "a Shiny Stone");
    assert_string_equal(it->keywords, "shiny stone");
    assert_string_equal(it->ground, "A Shiny Stone lies here.");
    assert_false(it->fixed);
    assert_int_equal(items_in(&t, "stone", "town.square"), 1);
    assert_non_null(find_ev(&t, WR_MUD_EV_SPAWN, 0)); /* seen appearing */

    /* An existing kind by id: a second lantern spawner, in the hall. */
    ACCEPTED(&t, move(&t, 1, WR_DIR_E));
    ACCEPTED(&t, build(&t, 1, WR_BUILD_OCREATE, 0, "lantern", NULL));
    assert_int_equal(items_in(&t, "lantern", "town.hall"), 1);
    assert_int_equal(items_in(&t, "lantern", "town.square"), 1);

    /* odelete: only here, and what it keeps here goes with it. */
    REFUSED(&t, build(&t, 1, WR_BUILD_ODELETE, 0, "stone", NULL), "Nothing spawns");
    REFUSED(&t, build(&t, 1, WR_BUILD_ODELETE, 0, "pebble", NULL), "There is no item pebble");
    ACCEPTED(&t, build(&t, 1, WR_BUILD_ODELETE, 0, "lantern", NULL));
    assert_int_equal(items_in(&t, "lantern", "town.hall"), 0);
    assert_int_equal(items_in(&t, "lantern", "town.square"), 1);
    size_t spawners = 0;
    for (size_t i = 0; i < model(&t)->n_item_spawners; i++)
        spawners += model(&t)->item_spawners[i].room == room_of(&t, "town.hall");
    assert_int_equal(spawners, 0);
    t_free(&t);
}

static void test_mcreate_mdelete(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    REFUSED(&t, build(&t, 1, WR_BUILD_MCREATE, 0, "goblin", NULL), "There is no NPC goblin");
    REFUSED(&t, build(&t, 1, WR_BUILD_MCREATE, 0, "guard", "a guard"), "already an NPC");
    ACCEPTED(&t, build(&t, 1, WR_BUILD_MCREATE, 0, "goblin", "the grinning goblin"));
    long k = wr_mud_model_npc(model(&t), "goblin");
    assert_true(k >= 0);
    assert_string_equal(model(&t)->npcs[k].keywords, "grinning goblin");
    assert_string_equal(model(&t)->npcs[k].ground, "The grinning goblin is here.");
    assert_int_equal(npcs_in(&t, "goblin", "town.square"), 1);
    /* An existing kind: a guard here as well as in the hall. */
    ACCEPTED(&t, build(&t, 1, WR_BUILD_MCREATE, 0, "guard", NULL));
    assert_int_equal(npcs_in(&t, "guard", "town.square"), 1);
    assert_int_equal(npcs_in(&t, "guard", "town.hall"), 1);
    uint32_t hall_guard = 0;
    for (size_t i = 0; i < wr_mud_npc_count(mud(&t)); i++)
        if (wr_mud_npc_at(mud(&t), i)->room == room_of(&t, "town.hall"))
            hall_guard = wr_mud_npc_at(mud(&t), i)->id;

    REFUSED(&t, build(&t, 1, WR_BUILD_MDELETE, 0, "orc", NULL), "There is no NPC orc");
    ACCEPTED(&t, build(&t, 1, WR_BUILD_MDELETE, 0, "guard", NULL));
    assert_int_equal(npcs_in(&t, "guard", "town.square"), 0);
    assert_int_equal(npcs_in(&t, "guard", "town.hall"), 1);
    /* The hall's guard is the same instance as before: kept by key. */
    for (size_t i = 0; i < wr_mud_npc_count(mud(&t)); i++)
        if (wr_mud_npc_at(mud(&t), i)->room == room_of(&t, "town.hall"))
            assert_int_equal(wr_mud_npc_at(mud(&t), i)->id, hall_guard);
    REFUSED(&t, build(&t, 1, WR_BUILD_MDELETE, 0, "guard", NULL), "Nothing spawns");
    t_free(&t);
}

static void test_malformed(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    struct before b;
    keep(&t, &b);
    /* Unknown ops, a bad direction, cut short, a NUL in a string. */
    static const uint8_t bad[][6] = {
        {0},
        {WR_BUILD_NOPS},
        {WR_BUILD_DIG, 12, 0, 0, 0},
        {WR_BUILD_UNLINK},
        {WR_BUILD_ODELETE, 3, 'a', 0, 'b'},
        {WR_BUILD_RNAME, 5, 0, 'a'},
    };
    static const size_t lens[] = {1, 1, 5, 1, 5, 4};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        struct wr_writer p;
        wr_writer_init(&p, 8);
        wr_put_bytes(&p, bad[i], lens[i]);
        assert_int_equal(cmd(&t, WR_MUD_BUILD, 1, 1, &p), WR_MALFORMED);
        wr_writer_free(&p);
    }
    struct wr_writer p;
    wr_writer_init(&p, 8);
    wr_put_u8(&p, WR_ADMIN_NOPS);
    assert_int_equal(cmd(&t, WR_MUD_ADMIN, 1, 1, &p), WR_MALFORMED);
    wr_writer_free(&p);
    /* Session-less build commands are malformed too. */
    wr_writer_init(&p, 8);
    wr_mud_encode_op(&p, WR_MUD_BUILD, WR_BUILD_UNLINK, WR_DIR_E, NULL, NULL, NULL);
    assert_int_equal(cmd(&t, WR_MUD_BUILD, 1, 0, &p), WR_MALFORMED);
    wr_writer_free(&p);
    unchanged(&t, &b);
    /* The positive control: the same op well formed. */
    ACCEPTED(&t, build(&t, 1, WR_BUILD_UNLINK, WR_DIR_E, NULL, NULL));
    t_free(&t);
}

/* ---- administration ------------------------------------------------------ */

static void test_teleport_goto(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(set_role(&t, "Alice", WR_ROLE_ADMIN), WR_APPLIED);
    REFUSED(&t, admin(&t, 1, WR_ADMIN_TELEPORT, "Zed", "hall", NULL), "Nobody called Zed");
    REFUSED(&t, admin(&t, 1, WR_ADMIN_TELEPORT, "Bob", "attic", NULL), "There is no room attic");
    REFUSED(&t, admin(&t, 1, WR_ADMIN_TELEPORT, "Bob", "", NULL), "Bob is there already");
    ACCEPTED(&t, admin(&t, 1, WR_ADMIN_TELEPORT, "bob", "wild.field", NULL));
    assert_string_equal(room_key(&t, "Bob"), "wild.field");
    const struct ev *moved = find_ev(&t, WR_MUD_EV_MOVED, 0);
    assert_non_null(moved);
    assert_int_equal(moved->session, 2);
    assert_int_equal(moved->node, 2);
    assert_non_null(find_ev(&t, WR_MUD_EV_DEPART, 0));
    assert_non_null(find_ev(&t, WR_MUD_EV_ARRIVE, 0));

    /* goto a player, then a room of this zone by its short id. */
    ACCEPTED(&t, admin(&t, 1, WR_ADMIN_GOTO, "Bob", NULL, NULL));
    assert_string_equal(room_key(&t, "Alice"), "wild.field");
    REFUSED(&t, admin(&t, 1, WR_ADMIN_GOTO, "Bob", NULL, NULL), "You are there already");
    REFUSED(&t, admin(&t, 1, WR_ADMIN_GOTO, "hall", NULL, NULL), "no room either");
    ACCEPTED(&t, admin(&t, 1, WR_ADMIN_GOTO, "town.hall", NULL, NULL));
    assert_string_equal(room_key(&t, "Alice"), "town.hall");
    /* Teleport with no room brings the player here. */
    ACCEPTED(&t, admin(&t, 1, WR_ADMIN_TELEPORT, "Bob", NULL, NULL));
    assert_string_equal(room_key(&t, "Bob"), "town.hall");
    t_free(&t);
}

static void test_force(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(set_role(&t, "Alice", WR_ROLE_ADMIN), WR_APPLIED);
    assert_int_equal(set_role(&t, "Carol", WR_ROLE_ADMIN), WR_APPLIED);
    REFUSED(&t, admin(&t, 1, WR_ADMIN_FORCE, "Carol", NULL, "look"), "cannot force an admin");
    REFUSED(&t, admin(&t, 1, WR_ADMIN_FORCE, "Bob", NULL, ""), "to do what");
    REFUSED(&t, admin(&t, 1, WR_ADMIN_FORCE, "Zed", NULL, "look"), "Nobody called Zed");
    ACCEPTED(&t, admin(&t, 1, WR_ADMIN_FORCE, "Bob", NULL, "say hello there"));
    /* The line goes to Bob's session on node 2, for his node to run. */
    const struct ev *e = find_code(&t, WR_MUD_EV_ACT, "force", 0);
    assert_non_null(e);
    assert_int_equal(e->audience, WR_AUD_SESSION);
    assert_int_equal(e->node, 2);
    assert_int_equal(e->session, 2);
    assert_string_equal(e->text, "say hello there");
    assert_int_equal(e->actor_id, ch(&t, "Bob")->id);
    assert_non_null(strstr(e->to_actor, "Alice forces you"));

    /* Nobody types for a character that lost its link. */
    assert_int_equal(cmd(&t, WR_MUD_DISCONNECT, 2, 2, NULL), WR_APPLIED);
    REFUSED(&t, admin(&t, 1, WR_ADMIN_FORCE, "Bob", NULL, "look"), "lost link");
    t_free(&t);
}

static void test_zone_pause(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(set_role(&t, "Alice", WR_ROLE_ADMIN), WR_APPLIED);
    uint32_t town = (uint32_t)wr_mud_model_zone(model(&t), "town");
    /* Take the lantern: its spawner is due a minute later. */
    P(p);
    wr_mud_encode_str(&p, "lantern");
    ACCEPTED(&t, cmd(&t, WR_MUD_GET, 1, 1, &p));
    wr_writer_free(&p);
    uint64_t due = wr_mud_zone_next_due(mud(&t), town);
    assert_true(due != UINT64_MAX);

    REFUSED(&t, admin(&t, 1, WR_ADMIN_RESUME, "", NULL, NULL), "running already");
    REFUSED(&t, admin(&t, 1, WR_ADMIN_PAUSE, "nowhere", NULL, NULL), "There is no zone");
    ACCEPTED(&t, admin(&t, 1, WR_ADMIN_PAUSE, "", NULL, NULL)); /* here's zone */
    assert_true(wr_mud_zone_state(mud(&t), town)->paused);
    assert_int_equal(wr_mud_zone_next_due(mud(&t), town), UINT64_MAX);
    REFUSED(&t, admin(&t, 1, WR_ADMIN_PAUSE, "town", NULL, NULL), "paused already");

    /* A tick of the paused zone does nothing, however late. */
    t.now = due + 10000;
    P(tk);
    wr_mud_encode_zone_tick(&tk, "town", wr_mud_zone_state(mud(&t), town)->epoch);
    assert_int_equal(cmd(&t, WR_MUD_ZONE_TICK, 1, 0, &tk), WR_APPLIED);
    assert_int_equal(items_in(&t, "lantern", "town.square"), 0);

    /* Survives a snapshot and restore. */
    struct wr_writer s;
    wr_writer_init(&s, 1024);
    wr_world_snapshot(t.w, &s);
    struct t b;
    t_init(&b);
    assert_int_equal(wr_world_restore(b.w, s.base, s.len), 0);
    assert_true(wr_mud_zone_state(mud(&b), town)->paused);
    assert_int_equal(wr_mud_char_by_name(mud(&b), "Alice")->role, WR_ROLE_ADMIN);
    wr_writer_free(&s);
    t_free(&b);

    ACCEPTED(&t, admin(&t, 1, WR_ADMIN_RESUME, "town", NULL, NULL));
    assert_false(wr_mud_zone_state(mud(&t), town)->paused);
    assert_int_equal(wr_mud_zone_next_due(mud(&t), town), due);
    assert_int_equal(cmd(&t, WR_MUD_ZONE_TICK, 1, 0, &tk), WR_APPLIED);
    assert_int_equal(items_in(&t, "lantern", "town.square"), 1);
    wr_writer_free(&tk);
    t_free(&t);
}

/* ---- snapshots and the world after edits ---------------------------------- */

/* The bundle at the head of the module's snapshot. */
static void snap_bundle(struct t *t, struct wr_writer *out)
{
    struct wr_writer s;
    mud_snap(t, &s);
    struct wr_reader r;
    wr_reader_init(&r, s.base, s.len);
    uint32_t n = wr_get_u32(&r);
    const uint8_t *b = wr_get_bytes(&r, n);
    assert_non_null(b);
    wr_writer_init(out, n + 1);
    wr_put_bytes(out, b, n);
    wr_writer_free(&s);
}

static void test_snapshot_after_edits(void **state)
{
    (void)state;
    struct t a, b;
    t_ready(&a);
    assert_int_equal(set_role(&a, "Bob", WR_ROLE_ADMIN), WR_APPLIED);
    ACCEPTED(&a, build(&a, 1, WR_BUILD_DIG, WR_DIR_D, "cellar", "Cellar"));
    ACCEPTED(&a, build(&a, 1, WR_BUILD_DOOR, WR_DIR_D, "trapdoor", NULL));
    ACCEPTED(&a, build(&a, 1, WR_BUILD_MCREATE, 0, "rat", "a fat rat"));
    ACCEPTED(&a, build(&a, 1, WR_BUILD_OCREATE, 0, "coin", "a copper coin"));
    ACCEPTED(&a, move(&a, 1, WR_DIR_D));
    ACCEPTED(&a, build(&a, 1, WR_BUILD_RDESC, 0, NULL, "Damp and dark."));
    ACCEPTED(&a, admin(&a, 2, WR_ADMIN_PAUSE, "wild", NULL, NULL));

    /* The running bundle is the canonical export of the running model. */
    struct wr_writer bundle, exp;
    snap_bundle(&a, &bundle);
    wr_writer_init(&exp, 4096);
    char err[256];
    assert_int_equal(wr_mud_model_export(model(&a), &exp, err, sizeof err), 0);
    assert_int_equal(bundle.len, exp.len);
    assert_memory_equal(bundle.base, exp.base, exp.len);
    wr_writer_free(&exp);
    wr_writer_free(&bundle);

    /* snapshot -> restore -> snapshot: the same bytes, the same world. */
    struct wr_writer s1, s2;
    wr_writer_init(&s1, 4096);
    wr_world_snapshot(a.w, &s1);
    t_init(&b);
    assert_int_equal(wr_world_restore(b.w, s1.base, s1.len), 0);
    wr_writer_init(&s2, 4096);
    wr_world_snapshot(b.w, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.base, s2.base, s1.len);
    char ha[33], hb[33];
    world_hash(&a, ha);
    world_hash(&b, hb);
    assert_string_equal(ha, hb);
    assert_memory_equal(model(&a)->hash, model(&b)->hash, 16);
    assert_int_equal(wr_mud_char_by_name(mud(&b), "Bob")->role, WR_ROLE_ADMIN);
    assert_int_equal(wr_mud_char_by_name(mud(&b), "Alice")->role, WR_ROLE_BUILDER);

    /* And the same future: the same edit on both gives the same state. */
    b.now = a.now;
    b.seed = a.seed;
    memcpy(b.seq, a.seq, sizeof a.seq);
    ACCEPTED(&a, build(&a, 1, WR_BUILD_DIG, WR_DIR_E, "den", NULL));
    ACCEPTED(&b, build(&b, 1, WR_BUILD_DIG, WR_DIR_E, "den", NULL));
    struct before x;
    keep(&a, &x);
    unchanged(&b, &x);
    wr_writer_free(&s1);
    wr_writer_free(&s2);
    t_free(&a);
    t_free(&b);
}

static void test_restore_build_section(void **state)
{
    (void)state;
    struct t a;
    t_ready(&a);
    assert_int_equal(set_role(&a, "Bob", WR_ROLE_ADMIN), WR_APPLIED);
    struct wr_writer s;
    mud_snap(&a, &s);
    /* The section is last: u32 3 | 3 roles | u32 2 | 2 flags. */
    size_t at = s.len - (4 + 3 + 4 + 2);
    struct wr_reader r;
    wr_reader_init(&r, s.base + at, s.len - at);
    assert_int_equal(wr_get_u32(&r), 3);
    struct wr_mud *m = mud(&a);
    /* Positive control: the untouched bytes restore. */
    assert_int_equal(wr_mud_module.restore(m, &(struct wr_reader){s.base, s.len, false}, 2), 0);
    assert_int_equal(wr_mud_char_by_name(m, "Bob")->role, WR_ROLE_ADMIN);
    /* A role beyond admin, a paused flag beyond 1, a wrong count. */
    static const size_t offs[] = {4 + 1, 4 + 3 + 4 + 1, 0};
    static const uint8_t vals[] = {3, 2, 4};
    for (size_t i = 0; i < 3; i++) {
        uint8_t *copy = malloc(s.len);
        memcpy(copy, s.base, s.len);
        copy[at + offs[i]] = vals[i];
        struct wr_reader rr;
        wr_reader_init(&rr, copy, s.len);
        assert_int_equal(wr_mud_module.restore(m, &rr, 2), -1);
        free(copy);
    }
    /* A version 1 snapshot (no areas' sections): everyone a player. */
    assert_int_equal(wr_mud_module.restore(m, &(struct wr_reader){s.base, s.len, false}, 1), 0);
    assert_int_equal(wr_mud_char_by_name(m, "Bob")->role, WR_ROLE_PLAYER);
    wr_writer_free(&s);
    t_free(&a);
}

/* ---- the model editor on its own -------------------------------------------- */

static void test_edit_helpers(void **state)
{
    (void)state;
    assert_true(wr_mud_edit_id_ok("a"));
    assert_true(wr_mud_edit_id_ok("old-oak_2"));
    assert_false(wr_mud_edit_id_ok(""));
    assert_false(wr_mud_edit_id_ok("2oak"));
    assert_false(wr_mud_edit_id_ok("Oak"));
    assert_false(wr_mud_edit_id_ok("oak tree"));
    assert_false(wr_mud_edit_id_ok("abcdefghijabcdefghijabcdefghijabc")); /* 33 */
    assert_true(wr_mud_edit_id_ok("abcdefghijabcdefghijabcdefghijab"));   /* 32 */
    assert_true(wr_mud_edit_line_ok("Caf\xc3\xa9 du Nord", 80));
    assert_false(wr_mud_edit_line_ok("bad \xc3", 80));
    assert_false(wr_mud_edit_line_ok("esc \x1b[31m", 80));
    assert_false(wr_mud_edit_line_ok("c1 \xc2\x9b", 80));
    assert_false(wr_mud_edit_line_ok(" padded", 80));
    assert_false(wr_mud_edit_line_ok("", 80));
    assert_false(wr_mud_edit_line_ok("abc", 2));
    assert_true(wr_mud_edit_line_ok("ab", 2));
}

/* A dig in the first zone moves every later room up by one index: exits,
 * the start room, graveyards, spawners, shops and quest visits still name
 * the same rooms by key. */
static void test_dig_moves_later_rooms(void **state)
{
    (void)state;
    static const char w[] = "name: T\nstart: b.b1\n";
    static const char za[] =
        "zone: {id: a, name: A, desc: A., graveyard: a1}\n"
        "rooms:\n"
        "  - {id: a1, name: A1, desc: A., x: 0, y: 0, exits: {e: a2, n: b.b1}}\n"
        "  - {id: a2, name: A2, desc: A., x: 1, y: 0, exits: {w: a1}}\n";
    static const char zb[] =
        "zone: {id: b, name: B, desc: B., graveyard: b2}\n"
        "rooms:\n"
        "  - {id: b1, name: B1, desc: B., x: 0, y: -1, exits: {s: a.a1, n: b2}}\n"
        "  - {id: b2, name: B2, desc: B., x: 0, y: -2, exits: {s: b1}}\n"
        "items: [{id: cup, name: a cup, keywords: cup, desc: A cup., ground: A cup.}]\n"
        "item_spawners: [{item: cup, room: b2}]\n"
        "npcs: [{id: man, name: a man, keywords: man, desc: A man., ground: A man.}]\n"
        "npc_spawners: [{npc: man, room: b1}]\n"
        "shops: [{id: stall, name: Stall, room: b2, stock: [{item: cup}]}]\n"
        "quests:\n"
        "  - {id: walk, name: Walk, desc: Walk., giver: man, steps: [{visit: b2}]}\n";
    struct wr_writer b;
    wr_writer_init(&b, 2048);
    wr_put_bytes(&b, WR_MUD_BUNDLE_MAGIC, 8);
    wr_put_u32(&b, 3);
    put_file(&b, "world.yaml", w);
    put_file(&b, "zones/a.yaml", za);
    put_file(&b, "zones/b.yaml", zb);
    struct wr_mud_model *m = NULL;
    char err[256];
    if (wr_mud_model_parse(b.base, b.len, &m, err, sizeof err) != 0)
        fail_msg("%s", err);
    wr_writer_free(&b);
#define KEY(r) m->rooms[r].key
    assert_string_equal(KEY(m->start_room), "b.b1");
    uint32_t cellar;
    assert_int_equal(wr_mud_edit_dig(m, 0, WR_DIR_D, "cellar", NULL, &cellar, err, sizeof err), 0);
    assert_int_equal(cellar, 2);
    assert_string_equal(KEY(cellar), "a.cellar");
    assert_string_equal(KEY(m->start_room), "b.b1");
    assert_string_equal(KEY(m->zones[1].graveyard), "b.b2");
    assert_string_equal(KEY(m->zones[0].graveyard), "a.a1");
    assert_string_equal(KEY(m->rooms[0].exits[WR_DIR_N].to), "b.b1");
    assert_string_equal(KEY(m->rooms[0].exits[WR_DIR_D].to), "a.cellar");
    assert_string_equal(KEY(m->rooms[3].exits[WR_DIR_N].to), "b.b2");
    assert_string_equal(KEY(m->rooms[4].exits[WR_DIR_S].to), "b.b1");
    assert_string_equal(KEY(m->item_spawners[0].room), "b.b2");
    assert_string_equal(KEY(m->npc_spawners[0].room), "b.b1");
    assert_string_equal(KEY(m->shops[0].room), "b.b2");
    assert_string_equal(KEY(m->quests[0].steps[0].what), "b.b2");
    /* A new kind belongs to the zone it is made in (its file). */
    uint32_t k;
    assert_int_equal(wr_mud_edit_add_item(m, "pebble", "a pebble", 1, &k, err, sizeof err), 0);
    assert_string_equal(m->items[k].key, "pebble");
    assert_int_equal(wr_mud_edit_add_npc(m, "cat", "a grey cat", 1, &k, err, sizeof err), 0);
    assert_string_equal(m->npcs[k].keywords, "grey cat");
    assert_int_equal(m->npcs[k].level, 0); /* peaceful */
#undef KEY
    wr_mud_model_free(m);
}

/* A world with @n_items item kinds (and as many NPC kinds), parsed. */
static struct wr_mud_model *world_with_kinds(size_t n)
{
    size_t cap = 256 + n * 160;
    char *z = malloc(cap);
    size_t len = (size_t)snprintf(z, cap,
                                  "zone: {id: a, name: A, desc: A., graveyard: r}\n"
                                  "rooms: [{id: r, name: R, desc: R., x: 0, y: 0}]\n"
                                  "items:\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(z + len, cap - len,
                                "  - {id: i%zu, name: i, keywords: i, desc: i, ground: i}\n", i);
    len += (size_t)snprintf(z + len, cap - len, "npcs:\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(z + len, cap - len,
                                "  - {id: n%zu, name: n, keywords: n, desc: n, ground: n}\n", i);
    struct wr_writer b;
    wr_writer_init(&b, len + 256);
    wr_put_bytes(&b, WR_MUD_BUNDLE_MAGIC, 8);
    wr_put_u32(&b, 2);
    put_file(&b, "world.yaml", "name: T\nstart: a.r\n");
    put_file(&b, "zones/a.yaml", z);
    free(z);
    struct wr_mud_model *m = NULL;
    char err[256];
    if (wr_mud_model_parse(b.base, b.len, &m, err, sizeof err) != 0)
        fail_msg("%s", err);
    wr_writer_free(&b);
    return m;
}

static void test_kind_limits(void **state)
{
    (void)state;
    char err[256];
    uint32_t k;
    struct wr_mud_model *m = world_with_kinds(WR_EDIT_MAX_ITEMS - 1);
    assert_int_equal(wr_mud_edit_add_item(m, "last", "the last", 0, &k, err, sizeof err), 0);
    assert_int_equal(wr_mud_edit_add_npc(m, "last", "the last", 0, &k, err, sizeof err), 0);
    assert_int_equal(wr_mud_edit_add_item(m, "more", "one more", 0, &k, err, sizeof err), -1);
    assert_non_null(strstr(err, "the most items it may have (1000)"));
    assert_int_equal(wr_mud_edit_add_npc(m, "more", "one more", 0, &k, err, sizeof err), -1);
    assert_non_null(strstr(err, "the most NPCs it may have (1000)"));
    assert_int_equal(m->n_items, WR_EDIT_MAX_ITEMS);
    /* The full world still exports and parses back. */
    struct wr_writer w;
    wr_writer_init(&w, 4096);
    assert_int_equal(wr_mud_model_export(m, &w, err, sizeof err), 0);
    struct wr_mud_model *m2 = NULL;
    if (wr_mud_model_parse(w.base, w.len, &m2, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(m2->n_items, WR_EDIT_MAX_ITEMS);
    assert_true(wr_mud_model_item(m2, "last") >= 0);
    wr_mud_model_free(m2);
    wr_writer_free(&w);
    wr_mud_model_free(m);
}

/* The node's side: builders' and admins' commands are listed only for
 * their roles, and only their full names run them. */
static void test_commands_by_role(void **state)
{
    (void)state;
    static const struct {
        uint8_t role;
        bool building, admin;
    } want[] = {{WR_ROLE_PLAYER, false, false},
                {WR_ROLE_BUILDER, true, false},
                {WR_ROLE_ADMIN, true, true}};
    for (size_t i = 0; i < 3; i++) {
        struct wr_tbuf b;
        wr_tbuf_init(&b);
        wr_mud_help(&b, NULL, 0, want[i].role);
        assert_int_equal(strstr(wr_tbuf_str(&b), "Building:") != NULL, want[i].building);
        assert_int_equal(strstr(wr_tbuf_str(&b), "Admin:") != NULL, want[i].admin);
        wr_tbuf_free(&b);
        wr_tbuf_init(&b);
        wr_mud_help(&b, "dig", 3, want[i].role);
        assert_int_equal(strstr(wr_tbuf_str(&b), "dig DIR ROOMID") != NULL, want[i].building);
        wr_tbuf_free(&b);
    }
    struct wr_mud_parsed p;
    wr_mud_cmd_parse("dig down cellar", 15, NULL, 0, &p);
    assert_non_null(p.def);
    assert_string_equal(p.def->name, "dig");
    assert_int_equal(p.def->role, WR_ROLE_BUILDER);
    wr_mud_cmd_parse("force Bob look", 14, NULL, 0, &p);
    assert_int_equal(p.def->role, WR_ROLE_ADMIN);
    /* Shortened, they are something else or nothing. */
    static const char *const shorts[] = {"mcr", "odel", "redi", "telep", "forc", "nodoo"};
    for (size_t i = 0; i < sizeof shorts / sizeof shorts[0]; i++) {
        wr_mud_cmd_parse(shorts[i], strlen(shorts[i]), NULL, 0, &p);
        assert_true(p.def == NULL || p.def->role == WR_ROLE_PLAYER);
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_role),
        cmocka_unit_test(test_roles_checked_in_apply),
        cmocka_unit_test(test_dig),
        cmocka_unit_test(test_redit),
        cmocka_unit_test(test_link_unlink),
        cmocka_unit_test(test_doors),
        cmocka_unit_test(test_ocreate_odelete),
        cmocka_unit_test(test_mcreate_mdelete),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_teleport_goto),
        cmocka_unit_test(test_force),
        cmocka_unit_test(test_zone_pause),
        cmocka_unit_test(test_snapshot_after_edits),
        cmocka_unit_test(test_restore_build_section),
        cmocka_unit_test(test_edit_helpers),
        cmocka_unit_test(test_dig_moves_later_rooms),
        cmocka_unit_test(test_commands_by_role),
        cmocka_unit_test(test_kind_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
