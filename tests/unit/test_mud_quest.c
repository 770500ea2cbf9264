/* Unit tests for the quest area of the MUD (mud/mud_quest.c): NPC
 * conversations, quests and their steps, socials and mail, driven through
 * the world's apply path with encoded entries as a node would. Every
 * refusal is checked next to the same input accepted (a positive
 * control), so a test cannot pass because nothing works. */
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

/* ---- the test world -------------------------------------------------------- */

/* The square (start) with the foreman; the cellar below it with a rat and
 * a wolf pelt; the mill east of it with the miller and another pelt. */
static const char world_yaml[] =
    "name: Questland\n"
    "start: town.square\n"
    "channels:\n"
    "  - {id: gossip, desc: Talk., default: on, history: 3}\n"
    "socials:\n"
    "  - id: smile\n"
    "    alone: {actor: You smile., room: \"{actor} smiles.\"}\n"
    "    other: {actor: \"You smile at {target}.\", target: \"{actor} smiles at you.\",\n"
    "            room: \"{actor} smiles at {target}.\"}\n"
    "  - id: nod\n"
    "    alone: {actor: You nod., room: \"{actor} nods.\"}\n"
    "    other: {actor: \"You nod to {target}.\", target: \"{actor} nods to you.\",\n"
    "            room: \"{actor} nods to {target}.\"}\n";

static const char town_head[] =
    "zone: {id: town, name: Town, desc: A town., graveyard: square}\n"
    "rooms:\n"
    "  - {id: square, name: Square, desc: A square., x: 0, y: 0, exits: {d: cellar, e: mill}}\n"
    "  - {id: cellar, name: Cellar, desc: A cellar., x: 0, y: 0, z: -1, exits: {u: square}}\n"
    "  - {id: mill, name: The Old Mill, desc: A mill., x: 1, y: 0, exits: {w: square}}\n"
    "items:\n"
    "  - {id: pelt, name: a wolf pelt, keywords: pelt wolf, desc: A pelt., ground: A pelt.}\n"
    "  - {id: sword, name: a short sword, keywords: sword, desc: A sword., ground: A sword.}\n"
    "npcs:\n"
    "  - id: foreman\n"
    "    name: the foreman\n"
    "    keywords: foreman\n"
    "    desc: A foreman.\n"
    "    ground: The foreman stands here.\n"
    "    talk:\n"
    "      - {topic: hello, text: \"Hello, {name}. Ask me about work.\"}\n"
    "      - {topic: work, text: \"Rats in the cellar, {name}. Kill three.\", quest: rats}\n"
    "      - {topic: errand, text: \"Bring me two pelts, see the mill, talk to the miller.\",\n"
    "         quest: errand}\n"
    "%s" /* the hard topic, a quest in variant 1 only */
    "      - {topic: report, text: \"Go and look at the mill, then report back.\"%s}\n"
    "  - {id: rat, name: a giant rat, keywords: rat giant, desc: A rat., ground: A rat.,\n"
    "     level: 1, health: 1}\n"
    "  - {id: miller, name: the miller, keywords: miller, desc: A miller.,\n"
    "     ground: The miller is here.}\n"
    "item_spawners:\n"
    "  - {item: pelt, room: cellar, interval: 60s}\n"
    "  - {item: pelt, room: mill, interval: 60s}\n"
    "npc_spawners:\n"
    "  - {npc: foreman, room: square, interval: 30s}\n"
    "  - {npc: rat, room: cellar, interval: 30s}\n"
    "  - {npc: miller, room: mill, interval: 30s}\n";

/* The quests, in this order (Q_RATS...); variant 2 (a reload) drops the
 * hard one, makes the rats two and puts a visit before the errand's
 * pelts. */
static const char quests_v1[] =
    "quests:\n"
    "  - id: rats\n"
    "    name: Rat trouble\n"
    "    desc: A job.\n"
    "    giver: foreman\n"
    "    steps: [{kill: rat, count: 3}]\n"
    "    reward: {xp: 50, gold: 20, items: [sword]}\n"
    "    done: \"Thank you, {name}!\"\n"
    "  - id: errand\n"
    "    name: The errand\n"
    "    desc: A job.\n"
    "    giver: foreman\n"
    "    steps: [{collect: pelt, count: 2}, {visit: mill}, {talk: miller}]\n"
    "    reward: {gold: 5}\n"
    "  - id: hard\n"
    "    name: Hard work\n"
    "    desc: A job.\n"
    "    giver: foreman\n"
    "    level: 5\n"
    "    steps: [{visit: cellar, desc: Look around the cellar.}]\n"
    "    reward: {xp: 10}\n"
    "  - id: report\n"
    "    name: The report\n"
    "    desc: A job.\n"
    "    giver: foreman\n"
    "    steps: [{visit: mill}, {talk: foreman}]\n"
    "    reward: {gold: 1}\n";
static const char quests_v2[] =
    "quests:\n"
    "  - id: rats\n"
    "    name: Rat trouble\n"
    "    desc: A job.\n"
    "    giver: foreman\n"
    "    steps: [{kill: rat, count: 2}]\n"
    "    reward: {xp: 50, gold: 20, items: [sword]}\n"
    "  - id: errand\n"
    "    name: The errand\n"
    "    desc: A job.\n"
    "    giver: foreman\n"
    "    steps: [{visit: cellar}, {collect: pelt, count: 2}, {visit: mill}, {talk: miller}]\n";

/* The bundle of world @variant (1 or 2: see the quests). */
static void test_bundle(struct wr_writer *w, int variant)
{
    char town[8192];
    char head[4096];
    snprintf(head, sizeof head, town_head,
             variant == 1 ? "      - {topic: hard, text: Only for the strong., quest: hard}\n"
                          : "      - {topic: hard, text: Only for the strong.}\n",
             variant == 1 ? ", quest: report" : "");
    snprintf(town, sizeof town, "%s%s", head, variant == 1 ? quests_v1 : quests_v2);
    bundle_init(w, 2);
    put_file(w, "world.yaml", world_yaml);
    put_file(w, "zones/town.yaml", town);
}

/* ---- commands ----------------------------------------------------------------- */

static enum wr_verdict create(struct t *t, uint32_t node, uint64_t s, const char *name)
{
    P(p);
    wr_mud_encode_create(&p, name, "$argon2id$fake", tok((uint8_t)s), 7);
    t->node[s] = node;
    enum wr_verdict v = cmd(t, WR_MUD_CREATE, node, s, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict login(struct t *t, uint32_t node, uint64_t s, const char *name)
{
    P(p);
    wr_mud_encode_login(&p, name, tok((uint8_t)s), 7);
    t->node[s] = node;
    enum wr_verdict v = cmd(t, WR_MUD_LOGIN, node, s, &p);
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

static enum wr_verdict talk(struct t *t, uint64_t s, const char *npc, const char *topic)
{
    return strs(t, WR_MUD_TALK, s, npc, topic);
}

static enum wr_verdict send_mail(struct t *t, uint64_t s, const char *to, const char *text)
{
    P(p);
    wr_mud_encode_str(&p, to);
    wr_mud_encode_text(&p, text);
    enum wr_verdict v = cmd(t, WR_MUD_MAIL_SEND, 1, s, &p);
    wr_writer_free(&p);
    return v;
}

static enum wr_verdict mail_id(struct t *t, uint8_t type, uint64_t s, uint32_t id)
{
    P(p);
    wr_mud_encode_u32(&p, id);
    enum wr_verdict v = cmd(t, type, 1, s, &p);
    wr_writer_free(&p);
    return v;
}

static struct wr_mud_char *ch(struct t *t, const char *name)
{
    return wr__mud_char_by_name(mud(t), name);
}

/* An event of @type whose text, to_actor, to_target or to_room holds
 * @needle, or NULL. */
static const struct ev *find_text(struct t *t, uint8_t type, const char *needle)
{
    for (size_t i = 0; i < t->n_ev; i++) {
        const struct ev *e = &t->ev[i];
        if (e->type == type && (strstr(e->text, needle) || strstr(e->to_actor, needle) ||
                                strstr(e->to_target, needle) || strstr(e->to_room, needle)))
            return e;
    }
    return NULL;
}

#define SEES(t, type, needle)                                                                      \
    do {                                                                                           \
        if (find_text((t), (type), (needle)) == NULL)                                              \
            fail_msg("no event %d with '%s' (%zu events)", (type), (needle), (t)->n_ev);           \
    } while (0)

static const struct ev *fail_ev(struct t *t, const char *code)
{
    for (size_t i = 0; i < t->n_ev; i++)
        if (t->ev[i].type == WR_MUD_EV_FAIL && strcmp(t->ev[i].code, code) == 0)
            return &t->ev[i];
    return NULL;
}

/* ---- the world's quests ------------------------------------------------------- */

enum { Q_RATS, Q_ERRAND, Q_HARD, Q_REPORT };

static uint32_t idx(long i)
{
    assert_true(i >= 0);
    return (uint32_t)i;
}

static void t_ready(struct t *t)
{
    t_init(t);
    load_world(t, 1);
    assert_int_equal(model(t)->n_quests, 4);
}

/* A kill by @name of an NPC of kind @npc, as the fight area reports it. */
static void kill_one(struct t *t, const char *name, const char *npc)
{
    struct wr_apply_ctx ctx = ctx_of(t);
    t->n_ev = 0;
    wr__mud_quest_on_kill(mud(t), &ctx, ch(t, name), idx(wr_mud_model_npc(model(t), npc)));
}

static uint32_t carried(struct t *t, const char *name, const char *item)
{
    return wr__mud_count_carried(mud(t), ch(t, name), idx(wr_mud_model_item(model(t), item)));
}

static const struct wr_mud_quest_prog *prog(struct t *t, const char *name, uint32_t quest)
{
    const struct wr_mud_char *c = ch(t, name);
    for (uint32_t i = 0; i < c->n_quests; i++)
        if (c->quests[i].quest == quest)
            return &c->quests[i];
    return NULL;
}

/* ---- conversations ------------------------------------------------------------ */

static void test_talk_topics(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);

    /* A greeting: the NPC's first topic, {name} filled in, said to the room. */
    assert_int_equal(talk(&t, 1, "fore", ""), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "You greet the foreman.");
    const struct ev *e = find_text(&t, WR_MUD_EV_SAY, "Hello, Alice. Ask me about work.");
    assert_non_null(e);
    assert_int_equal(e->actor_kind, WR_MUD_ACTOR_NPC);
    assert_int_equal(e->audience, WR_AUD_ROOM);

    /* An unknown topic: refused politely with the topics known... */
    assert_int_equal(talk(&t, 1, "foreman", "dragons"), WR_APPLIED);
    e = fail_ev(&t, "no_topic");
    assert_non_null(e);
    assert_non_null(strstr(e->text, "The foreman has nothing to say about dragons."));
    assert_non_null(strstr(e->text, "hello, work, errand, hard or report"));
    assert_int_equal(count_ev(&t, WR_MUD_EV_SAY), 0);
    /* ... a known one (any case) is answered. */
    assert_int_equal(talk(&t, 1, "foreman", "HELLO"), WR_APPLIED);
    assert_null(fail_ev(&t, "no_topic"));
    SEES(&t, WR_MUD_EV_ACT, "You ask the foreman about hello.");
    SEES(&t, WR_MUD_EV_SAY, "Ask me about work");
    assert_int_equal(ch(&t, "alice")->n_quests, 0); /* that topic offers nothing */

    /* Nobody of that name here: refused; the miller is in the mill. */
    assert_int_equal(talk(&t, 1, "miller", ""), WR_APPLIED);
    assert_non_null(fail_ev(&t, "no_target"));
    assert_int_equal(move(&t, 1, WR_DIR_E), WR_APPLIED);
    assert_int_equal(talk(&t, 1, "miller", ""), WR_APPLIED);
    assert_null(fail_ev(&t, "no_target"));
    SEES(&t, WR_MUD_EV_ACT, "The miller has nothing to say to you.");
    assert_int_equal(talk(&t, 1, "miller", "flour"), WR_APPLIED);
    SEES(&t, WR_MUD_EV_FAIL, "The miller has nothing to say about flour.");

    /* A payload cut short is malformed, not a refusal. */
    P(p);
    wr_mud_encode_str(&p, "foreman");
    assert_int_equal(cmd(&t, WR_MUD_TALK, 1, 1, &p), WR_MALFORMED);
    wr_writer_free(&p);
    t_free(&t);
}

/* ---- quests --------------------------------------------------------------------- */

static void test_quest_kill_and_reward(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    struct wr_mud_char *a = ch(&t, "alice");
    uint32_t gold0 = a->gold;
    uint64_t xp0 = a->xp;

    assert_int_equal(talk(&t, 1, "foreman", "work"), WR_APPLIED);
    SEES(&t, WR_MUD_EV_SAY, "Rats in the cellar, Alice. Kill three.");
    SEES(&t, WR_MUD_EV_ACT, "New quest: 'Rat trouble'.");
    SEES(&t, WR_MUD_EV_ACT, "Quest 'Rat trouble', next step: Kill 3 giant rats.");
    assert_non_null(prog(&t, "alice", Q_RATS));

    /* Handing in before the work is done gives nothing. */
    assert_int_equal(talk(&t, 1, "foreman", ""), WR_APPLIED);
    assert_int_equal(ch(&t, "alice")->gold, gold0);
    assert_false(prog(&t, "alice", Q_RATS)->done);

    kill_one(&t, "alice", "rat");
    SEES(&t, WR_MUD_EV_ACT, "Quest 'Rat trouble': 1/3 giant rats killed.");
    kill_one(&t, "alice", "miller"); /* not what the step asks */
    assert_int_equal(t.n_ev, 0);
    assert_int_equal(prog(&t, "alice", Q_RATS)->count, 1);
    kill_one(&t, "alice", "rat");
    SEES(&t, WR_MUD_EV_ACT, "Quest 'Rat trouble': 2/3 giant rats killed.");
    kill_one(&t, "alice", "rat");
    SEES(&t, WR_MUD_EV_ACT, "Quest 'Rat trouble': 3/3 giant rats killed.");
    SEES(&t, WR_MUD_EV_ACT, "Quest 'Rat trouble': all done: return to the foreman.");
    assert_int_equal(prog(&t, "alice", Q_RATS)->step, 1);
    kill_one(&t, "alice", "rat"); /* after the step: nothing */
    assert_int_equal(t.n_ev, 0);

    /* Handed in to the giver: its done text, the rewards. */
    assert_int_equal(talk(&t, 1, "foreman", ""), WR_APPLIED);
    SEES(&t, WR_MUD_EV_SAY, "Thank you, Alice!");
    SEES(&t, WR_MUD_EV_ACT,
         "Quest complete: 'Rat trouble'. You receive 20 gold and a short sword.");
    SEES(&t, WR_MUD_EV_ACT, "You gain 50 experience.");
    assert_null(find_text(&t, WR_MUD_EV_SAY, "Hello, Alice")); /* a greeting: done text only */
    a = ch(&t, "alice");
    assert_true(prog(&t, "alice", Q_RATS)->done);
    assert_int_equal(a->gold, gold0 + 20);
    assert_true(a->xp == xp0 + 50);
    assert_int_equal(carried(&t, "alice", "sword"), 1);

    /* A second hand-in gives nothing; the quest is not offered again. */
    assert_int_equal(talk(&t, 1, "foreman", ""), WR_APPLIED);
    assert_null(find_text(&t, WR_MUD_EV_SAY, "Thank you"));
    assert_int_equal(talk(&t, 1, "foreman", "work"), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "(You have already completed the quest 'Rat trouble'.)");
    a = ch(&t, "alice");
    assert_int_equal(a->gold, gold0 + 20);
    assert_true(a->xp == xp0 + 50);
    assert_int_equal(a->n_quests, 1);
    assert_int_equal(carried(&t, "alice", "sword"), 1);
    t_free(&t);
}

static void test_quest_collect_visit_talk(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    uint32_t gold0 = ch(&t, "alice")->gold;

    /* One pelt carried before the quest is taken counts. */
    assert_int_equal(move(&t, 1, WR_DIR_D), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_GET, 1, "pelt", NULL), WR_APPLIED);
    assert_int_equal(move(&t, 1, WR_DIR_U), WR_APPLIED);
    assert_int_equal(talk(&t, 1, "foreman", "errand"), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "Quest 'The errand', next step: Collect 2 wolf pelts.");
    assert_int_equal(prog(&t, "alice", Q_ERRAND)->count, 1);

    /* The mill is the next step but one: walking in now is not it. */
    assert_int_equal(move(&t, 1, WR_DIR_E), WR_APPLIED);
    assert_null(find_text(&t, WR_MUD_EV_ACT, "you have reached"));
    assert_int_equal(prog(&t, "alice", Q_ERRAND)->step, 0);
    /* The second pelt: the step is done, the visit is met where she
     * stands, the talk to the miller is next. */
    assert_int_equal(strs(&t, WR_MUD_GET, 1, "pelt", NULL), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "Quest 'The errand': 2/2 wolf pelts collected.");
    SEES(&t, WR_MUD_EV_ACT, "Quest 'The errand': you have reached The Old Mill.");
    SEES(&t, WR_MUD_EV_ACT, "Quest 'The errand', next step: Talk to the miller.");
    assert_int_equal(prog(&t, "alice", Q_ERRAND)->step, 2);
    assert_int_equal(talk(&t, 1, "miller", ""), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "Quest 'The errand': you have spoken with the miller.");
    SEES(&t, WR_MUD_EV_ACT, "all done: return to the foreman.");
    assert_null(find_text(&t, WR_MUD_EV_ACT, "nothing to say")); /* the quest answered */

    /* A pelt dropped since: the hand-in is refused... */
    assert_int_equal(strs(&t, WR_MUD_DROP, 1, "pelt", NULL), WR_APPLIED);
    assert_int_equal(move(&t, 1, WR_DIR_W), WR_APPLIED);
    assert_int_equal(talk(&t, 1, "foreman", ""), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "Quest 'The errand': bring 2 wolf pelts to finish it (you carry 1).");
    assert_false(prog(&t, "alice", Q_ERRAND)->done);
    assert_int_equal(ch(&t, "alice")->gold, gold0);
    /* ... and accepted with both pelts; they are taken (consume). */
    assert_int_equal(move(&t, 1, WR_DIR_E), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_GET, 1, "pelt", NULL), WR_APPLIED);
    assert_int_equal(move(&t, 1, WR_DIR_W), WR_APPLIED);
    assert_int_equal(talk(&t, 1, "foreman", ""), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "Quest complete: 'The errand'. You receive 5 gold.");
    SEES(&t, WR_MUD_EV_SAY, "Well done, Alice.");
    assert_true(prog(&t, "alice", Q_ERRAND)->done);
    assert_int_equal(ch(&t, "alice")->gold, gold0 + 5);
    assert_int_equal(carried(&t, "alice", "pelt"), 0);
    t_free(&t);
}

/* The same step through a real fight: KILL, the zone owner's ticks run the
 * rounds, and the fight area reports the kill. */
static void test_quest_kill_in_combat(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    P(pl);
    wr_mud_encode_zone_place(&pl, "town", 1, 0);
    assert_int_equal(cmd(&t, WR_MUD_ZONE_PLACE, 1, 0, &pl), WR_APPLIED);
    wr_writer_free(&pl);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(talk(&t, 1, "foreman", "work"), WR_APPLIED);
    assert_int_equal(move(&t, 1, WR_DIR_D), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_KILL, 1, "rat", NULL), WR_APPLIED);
    bool told = false;
    for (int i = 0; i < 100 && prog(&t, "alice", Q_RATS)->count == 0; i++) {
        t.now += 500;
        P(tk);
        wr_mud_encode_zone_tick(&tk, "town", 1);
        assert_int_equal(cmd(&t, WR_MUD_ZONE_TICK, 1, 0, &tk), WR_APPLIED);
        wr_writer_free(&tk);
        told = told || find_text(&t, WR_MUD_EV_ACT, "Quest 'Rat trouble': 1/3 giant rats killed.");
    }
    assert_int_equal(prog(&t, "alice", Q_RATS)->count, 1);
    assert_true(told);
    t_free(&t);
}

/* A last step that is a word to the giver hands the quest in at once. */
static void test_quest_talk_to_giver_last(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    uint32_t gold0 = ch(&t, "alice")->gold;
    assert_int_equal(talk(&t, 1, "foreman", "report"), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "Quest 'The report', next step: Go to The Old Mill.");
    assert_int_equal(move(&t, 1, WR_DIR_E), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "Quest 'The report', next step: Talk to the foreman.");
    assert_int_equal(move(&t, 1, WR_DIR_W), WR_APPLIED);
    assert_int_equal(talk(&t, 1, "foreman", ""), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "Quest 'The report': you have spoken with the foreman.");
    assert_null(find_text(&t, WR_MUD_EV_ACT, "return to"));
    SEES(&t, WR_MUD_EV_ACT, "Quest complete: 'The report'. You receive 1 gold.");
    assert_true(prog(&t, "alice", Q_REPORT)->done);
    assert_int_equal(ch(&t, "alice")->gold, gold0 + 1);
    t_free(&t);
}

static void test_quest_given_items_count(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(&t, 1, 2, "bob"), WR_APPLIED);
    assert_int_equal(talk(&t, 1, "foreman", "errand"), WR_APPLIED);
    /* Bob fetches a pelt and gives it to Alice: her step counts it. */
    assert_int_equal(move(&t, 2, WR_DIR_D), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_GET, 2, "pelt", NULL), WR_APPLIED);
    assert_null(find_text(&t, WR_MUD_EV_ACT, "wolf pelt")); /* Bob has no quest */
    assert_int_equal(move(&t, 2, WR_DIR_U), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_GIVE, 2, "pelt", "alice"), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "Quest 'The errand': 1/2 wolf pelts collected.");
    assert_int_equal(prog(&t, "alice", Q_ERRAND)->count, 1);
    t_free(&t);
}

static void test_quest_abandon(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    /* Nothing to abandon yet: refused. */
    assert_int_equal(strs(&t, WR_MUD_QUEST_ABANDON, 1, "rats", NULL), WR_APPLIED);
    assert_non_null(fail_ev(&t, "no_quest"));
    assert_int_equal(talk(&t, 1, "foreman", "work"), WR_APPLIED);
    kill_one(&t, "alice", "rat");
    assert_int_equal(strs(&t, WR_MUD_QUEST_ABANDON, 1, "RATS", NULL), WR_APPLIED);
    assert_null(fail_ev(&t, "no_quest"));
    SEES(&t, WR_MUD_EV_ACT, "You abandon the quest 'Rat trouble'.");
    assert_int_equal(ch(&t, "alice")->n_quests, 0);
    /* Taken again, it starts over. */
    assert_int_equal(talk(&t, 1, "foreman", "work"), WR_APPLIED);
    assert_int_equal(prog(&t, "alice", Q_RATS)->count, 0);
    for (int i = 0; i < 3; i++)
        kill_one(&t, "alice", "rat");
    assert_int_equal(talk(&t, 1, "foreman", ""), WR_APPLIED);
    assert_true(prog(&t, "alice", Q_RATS)->done);
    /* A completed quest cannot be abandoned. */
    assert_int_equal(strs(&t, WR_MUD_QUEST_ABANDON, 1, "rats", NULL), WR_APPLIED);
    assert_non_null(fail_ev(&t, "quest_done"));
    assert_int_equal(ch(&t, "alice")->n_quests, 1);
    t_free(&t);
}

static void test_quest_level_gate(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(talk(&t, 1, "foreman", "hard"), WR_APPLIED);
    SEES(&t, WR_MUD_EV_SAY, "Only for the strong.");
    SEES(&t, WR_MUD_EV_ACT, "(The quest 'Hard work' needs level 5; you are level 1.");
    assert_null(prog(&t, "alice", Q_HARD));
    /* The same at level 5 (as progression would make her): taken. */
    ch(&t, "alice")->level = 5;
    assert_int_equal(talk(&t, 1, "foreman", "hard"), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "Quest 'Hard work', next step: Look around the cellar.");
    assert_non_null(prog(&t, "alice", Q_HARD));
    /* Asking again while on it: told, not taken twice. */
    assert_int_equal(talk(&t, 1, "foreman", "hard"), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "(You are already on the quest 'Hard work'.)");
    assert_int_equal(ch(&t, "alice")->n_quests, 1);
    /* The visit step, by walking in. */
    assert_int_equal(move(&t, 1, WR_DIR_D), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "Quest 'Hard work': you have reached Cellar.");
    assert_int_equal(prog(&t, "alice", Q_HARD)->step, 1);
    t_free(&t);
}

/* ---- socials ----------------------------------------------------------------------- */

static void test_socials(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(&t, 1, 2, "bob"), WR_APPLIED);

    assert_int_equal(strs(&t, WR_MUD_SOCIAL, 1, "smile", ""), WR_APPLIED);
    const struct ev *e = find_text(&t, WR_MUD_EV_ACT, "You smile.");
    assert_non_null(e);
    assert_string_equal(e->code, "social");
    assert_string_equal(e->to_room, "Alice smiles.");
    assert_int_equal(e->audience, WR_AUD_ROOM);

    assert_int_equal(strs(&t, WR_MUD_SOCIAL, 1, "smile", "bo"), WR_APPLIED);
    e = find_text(&t, WR_MUD_EV_ACT, "You smile at Bob.");
    assert_non_null(e);
    assert_string_equal(e->to_target, "Alice smiles at you.");
    assert_string_equal(e->to_room, "Alice smiles at Bob.");
    assert_int_equal(e->target_kind, WR_MUD_ACTOR_CHAR);
    assert_int_equal(e->target_id, ch(&t, "bob")->id);

    assert_int_equal(strs(&t, WR_MUD_SOCIAL, 1, "nod", "foreman"), WR_APPLIED);
    e = find_text(&t, WR_MUD_EV_ACT, "You nod to the foreman.");
    assert_non_null(e);
    assert_int_equal(e->target_kind, WR_MUD_ACTOR_NPC);
    assert_string_equal(e->to_room, "Alice nods to the foreman.");

    /* Someone not here: refused; after walking to him, accepted. */
    assert_int_equal(strs(&t, WR_MUD_SOCIAL, 1, "smile", "miller"), WR_APPLIED);
    assert_non_null(fail_ev(&t, "no_target"));
    assert_int_equal(count_ev(&t, WR_MUD_EV_ACT), 0);
    assert_int_equal(move(&t, 1, WR_DIR_E), WR_APPLIED);
    assert_int_equal(strs(&t, WR_MUD_SOCIAL, 1, "smile", "miller"), WR_APPLIED);
    assert_null(fail_ev(&t, "no_target"));
    SEES(&t, WR_MUD_EV_ACT, "You smile at the miller.");
    /* Bob is no longer in the room with her. */
    assert_int_equal(strs(&t, WR_MUD_SOCIAL, 1, "smile", "bob"), WR_APPLIED);
    assert_non_null(fail_ev(&t, "no_target"));

    /* A social the world does not have (a reload removed it). */
    assert_int_equal(strs(&t, WR_MUD_SOCIAL, 1, "dance", ""), WR_APPLIED);
    assert_non_null(fail_ev(&t, "no_social"));
    assert_int_equal(strs(&t, WR_MUD_SOCIAL, 1, "smile", NULL), WR_MALFORMED);
    t_free(&t);
}

/* ---- mail --------------------------------------------------------------------------- */

static const struct wr_mud_mail *last_mail(struct t *t)
{
    size_t n = wr_mud_mail_count(mud(t));
    return n ? wr_mud_mail_at(mud(t), n - 1) : NULL;
}

static void test_mail(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(&t, 2, 2, "bob"), WR_APPLIED);
    assert_int_equal(create(&t, 3, 3, "carol"), WR_APPLIED);
    assert_int_equal(cmd(&t, WR_MUD_QUIT, 3, 3, NULL), WR_APPLIED);
    t.now = 5000;

    /* To Bob (online, another node): stored and told at once. */
    assert_int_equal(send_mail(&t, 1, "BOB", "  Meet me at the mill.  "), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "You send a letter to Bob.");
    const struct ev *e = find_text(&t, WR_MUD_EV_ACT, "You have new mail from Alice.");
    assert_non_null(e);
    assert_string_equal(e->code, "mail");
    assert_int_equal(e->session, 2);
    const struct wr_mud_mail *ml = last_mail(&t);
    assert_non_null(ml);
    assert_int_equal(ml->id, 1);
    assert_int_equal(ml->from, ch(&t, "alice")->id);
    assert_int_equal(ml->to, ch(&t, "bob")->id);
    assert_true(ml->at == 5000);
    assert_string_equal(ml->text, "Meet me at the mill.");
    assert_false(ml->read);

    /* To Carol (offline): stored; nobody is told but the sender. */
    assert_int_equal(send_mail(&t, 1, "carol", "Welcome back."), WR_APPLIED);
    assert_null(find_text(&t, WR_MUD_EV_ACT, "new mail"));
    assert_int_equal(last_mail(&t)->to, ch(&t, "carol")->id);
    assert_int_equal(last_mail(&t)->id, 2);
    /* Carol logs in later, anywhere: it is hers to read. */
    assert_int_equal(login(&t, 1, 4, "carol"), WR_APPLIED);
    assert_int_equal(mail_id(&t, WR_MUD_MAIL_READ, 4, 2), WR_APPLIED);
    assert_null(fail_ev(&t, "no_mail"));
    assert_true(last_mail(&t)->read);

    /* Nobody of that name; an empty text: refused, nothing stored. */
    assert_int_equal(send_mail(&t, 1, "zed", "hi"), WR_APPLIED);
    assert_non_null(fail_ev(&t, "no_such_character"));
    assert_int_equal(send_mail(&t, 1, "bob", "   "), WR_APPLIED);
    assert_non_null(fail_ev(&t, "bad_text"));
    assert_int_equal(wr_mud_mail_count(mud(&t)), 2);

    /* Someone else's letter can be neither read nor deleted... */
    assert_int_equal(mail_id(&t, WR_MUD_MAIL_READ, 1, 1), WR_APPLIED);
    assert_non_null(fail_ev(&t, "no_mail"));
    assert_false(wr_mud_mail_at(mud(&t), 0)->read);
    assert_int_equal(mail_id(&t, WR_MUD_MAIL_DELETE, 1, 1), WR_APPLIED);
    assert_non_null(fail_ev(&t, "no_mail"));
    assert_int_equal(wr_mud_mail_count(mud(&t)), 2);
    /* ... by its recipient, both. */
    assert_int_equal(mail_id(&t, WR_MUD_MAIL_READ, 2, 1), WR_APPLIED);
    assert_null(fail_ev(&t, "no_mail"));
    assert_true(wr_mud_mail_at(mud(&t), 0)->read);
    assert_int_equal(mail_id(&t, WR_MUD_MAIL_DELETE, 2, 1), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "Letter 1 deleted.");
    assert_int_equal(wr_mud_mail_count(mud(&t)), 1);
    assert_int_equal(wr_mud_mail_at(mud(&t), 0)->id, 2);
    /* Gone: a second delete is refused. */
    assert_int_equal(mail_id(&t, WR_MUD_MAIL_DELETE, 2, 1), WR_APPLIED);
    assert_non_null(fail_ev(&t, "no_mail"));

    /* Ids are never reused. */
    assert_int_equal(send_mail(&t, 2, "alice", "Thanks."), WR_APPLIED);
    assert_int_equal(last_mail(&t)->id, 3);

    /* Payloads cut short are malformed. */
    P(p);
    wr_put_u16(&p, 1);
    assert_int_equal(cmd(&t, WR_MUD_MAIL_READ, 1, 1, &p), WR_MALFORMED);
    wr_writer_free(&p);
    P(q);
    wr_mud_encode_str(&q, "bob");
    wr_put_u16(&q, 10);
    wr_put_bytes(&q, "abc", 3);
    assert_int_equal(cmd(&t, WR_MUD_MAIL_SEND, 1, 1, &q), WR_MALFORMED);
    wr_writer_free(&q);
    t_free(&t);
}

static void test_mail_limit(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(&t, 1, 2, "bob"), WR_APPLIED);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(send_mail(&t, 1, "bob", "Spam."), WR_APPLIED);
        assert_null(fail_ev(&t, "mailbox_full"));
    }
    assert_int_equal(send_mail(&t, 1, "bob", "One more."), WR_APPLIED);
    const struct ev *e = fail_ev(&t, "mailbox_full");
    assert_non_null(e);
    assert_non_null(strstr(e->text, "Bob's mailbox is full"));
    assert_int_equal(wr_mud_mail_count(mud(&t)), 50);
    /* Another recipient is not affected. */
    assert_int_equal(send_mail(&t, 2, "alice", "Stop it."), WR_APPLIED);
    assert_null(fail_ev(&t, "mailbox_full"));
    /* Bob reads one: room for one more. */
    assert_int_equal(mail_id(&t, WR_MUD_MAIL_READ, 2, 7), WR_APPLIED);
    assert_int_equal(send_mail(&t, 1, "bob", "One more."), WR_APPLIED);
    assert_null(fail_ev(&t, "mailbox_full"));
    assert_int_equal(send_mail(&t, 1, "bob", "And another."), WR_APPLIED);
    assert_non_null(fail_ev(&t, "mailbox_full"));
    t_free(&t);
}

/* ---- snapshot ---------------------------------------------------------------------- */

static void test_snapshot_mail(void **state)
{
    (void)state;
    struct t a, b;
    t_ready(&a);
    assert_int_equal(create(&a, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(&a, 1, 2, "bob"), WR_APPLIED);
    assert_int_equal(send_mail(&a, 1, "bob", "One."), WR_APPLIED);
    assert_int_equal(send_mail(&a, 2, "alice", "Two, with ünïcode."), WR_APPLIED);
    assert_int_equal(send_mail(&a, 1, "bob", "Three."), WR_APPLIED);
    assert_int_equal(mail_id(&a, WR_MUD_MAIL_READ, 2, 1), WR_APPLIED);
    assert_int_equal(mail_id(&a, WR_MUD_MAIL_DELETE, 2, 3), WR_APPLIED);

    struct wr_writer s1, s2;
    snap(&a, &s1);
    t_init(&b);
    b.now = b.seed = 0; /* a restore target: the snapshot brings the rest */
    assert_int_equal(wr_world_restore(b.w, s1.base, s1.len), 0);
    snap(&b, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.base, s2.base, s1.len);
    assert_int_equal(wr_mud_mail_count(mud(&b)), 2);
    assert_true(wr_mud_mail_at(mud(&b), 0)->read);
    assert_string_equal(wr_mud_mail_at(mud(&b), 1)->text, "Two, with ünïcode.");
    /* The next id goes on where it was. */
    b.now = a.now;
    b.seed = a.seed;
    memcpy(b.seq, a.seq, sizeof a.seq);
    assert_int_equal(send_mail(&b, 1, "bob", "Four."), WR_APPLIED);
    assert_int_equal(last_mail(&b)->id, 4);
    wr_writer_free(&s2);

    /* Every truncation is refused or restores to itself; never a crash. */
    for (size_t cut = 0; cut < s1.len; cut++) {
        (void)wr_world_restore(b.w, s1.base, cut);
    }
    wr_writer_free(&s1);
    t_free(&a);
    t_free(&b);
}

/* Alice mid-way through every quest, Bob done with the rats, mail both
 * ways. */
static void play_some(struct t *t)
{
    assert_int_equal(create(t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(t, 2, 2, "bob"), WR_APPLIED);
    ch(t, "alice")->level = 5;
    assert_int_equal(talk(t, 1, "foreman", "work"), WR_APPLIED);
    assert_int_equal(talk(t, 1, "foreman", "errand"), WR_APPLIED);
    assert_int_equal(talk(t, 1, "foreman", "hard"), WR_APPLIED);
    kill_one(t, "alice", "rat");
    kill_one(t, "alice", "rat");
    assert_int_equal(move(t, 1, WR_DIR_E), WR_APPLIED);
    assert_int_equal(strs(t, WR_MUD_GET, 1, "pelt", NULL), WR_APPLIED);
    assert_int_equal(move(t, 1, WR_DIR_W), WR_APPLIED);
    assert_int_equal(talk(t, 2, "foreman", "work"), WR_APPLIED);
    for (int i = 0; i < 3; i++)
        kill_one(t, "bob", "rat");
    assert_int_equal(talk(t, 2, "foreman", ""), WR_APPLIED);
    assert_int_equal(send_mail(t, 1, "bob", "One."), WR_APPLIED);
    assert_int_equal(send_mail(t, 2, "alice", "Two."), WR_APPLIED);
    assert_int_equal(mail_id(t, WR_MUD_MAIL_READ, 2, 1), WR_APPLIED);
}

static void test_snapshot_quests(void **state)
{
    (void)state;
    struct t a, b;
    t_ready(&a);
    play_some(&a);
    assert_int_equal(ch(&a, "alice")->n_quests, 3);
    struct wr_writer s1, s2;
    snap(&a, &s1);
    t_init(&b);
    b.now = b.seed = 0; /* a restore target: the snapshot brings the rest */
    assert_int_equal(wr_world_restore(b.w, s1.base, s1.len), 0);
    snap(&b, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.base, s2.base, s1.len);
    wr_writer_free(&s2);
    const struct wr_mud_quest_prog *p = prog(&b, "alice", Q_RATS);
    assert_non_null(p);
    assert_int_equal(p->count, 2);
    assert_int_equal(prog(&b, "alice", Q_ERRAND)->count, 1);
    assert_true(prog(&b, "bob", Q_RATS)->done);

    /* The same future on both. */
    b.now = a.now;
    b.seed = a.seed;
    memcpy(b.seq, a.seq, sizeof a.seq);
    memcpy(b.node, a.node, sizeof a.node);
    kill_one(&a, "alice", "rat");
    kill_one(&b, "alice", "rat");
    assert_int_equal(talk(&a, 1, "foreman", ""), WR_APPLIED);
    assert_int_equal(talk(&b, 1, "foreman", ""), WR_APPLIED);
    assert_true(prog(&b, "alice", Q_RATS)->done);
    wr_writer_free(&s1);
    snap(&a, &s1);
    snap(&b, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.base, s2.base, s1.len);
    wr_writer_free(&s1);
    wr_writer_free(&s2);
    t_free(&a);
    t_free(&b);
}

/* A snapshot whose quest or mail section breaks an invariant is refused;
 * each mutation is undone and the snapshot restores again (the control). */
static void test_restore_refuses_bad_sections(void **state)
{
    (void)state;
    struct t a, b;
    t_ready(&a);
    play_some(&a);
    t_init(&b);
    b.now = b.seed = 0; /* a restore target: the snapshot brings the rest */
    struct wr_mud *m = mud(&a);
    struct wr_mud_char *al = ch(&a, "alice");
    struct wr_mud_quest_prog *rats = &al->quests[0];
    assert_int_equal(rats->quest, Q_RATS);
    struct {
        uint32_t *field;
        uint32_t bad;
    } cases[] = {
        {&rats->quest, 99},        /* no such quest */
        {&rats->quest, Q_ERRAND},  /* a second progress in one quest */
        {&rats->step, 2},          /* beyond its steps */
        {&rats->count, 3},         /* a step's count reached but not passed */
        {&al->quests[2].count, 1}, /* a visit counts nothing */
        {&m->mail[0].from, 3},     /* no such character */
        {&m->mail[1].id, 1},       /* ids out of order */
        {&m->mail[1].id, 3},       /* an id not yet given out */
        {&m->next_mail_id, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct wr_writer s;
        uint32_t keep = *cases[i].field;
        *cases[i].field = cases[i].bad;
        snap(&a, &s);
        if (wr_world_restore(b.w, s.base, s.len) == 0)
            fail_msg("case %zu restored", i);
        wr_writer_free(&s);
        *cases[i].field = keep;
        snap(&a, &s);
        assert_int_equal(wr_world_restore(b.w, s.base, s.len), 0);
        wr_writer_free(&s);
    }
    /* done with a step left; an empty letter. */
    al->quests[0].done = true;
    struct wr_writer s;
    snap(&a, &s);
    assert_int_equal(wr_world_restore(b.w, s.base, s.len), -1);
    wr_writer_free(&s);
    al->quests[0].done = false;
    char *text = m->mail[0].text;
    m->mail[0].text = (char *)"";
    snap(&a, &s);
    assert_int_equal(wr_world_restore(b.w, s.base, s.len), -1);
    wr_writer_free(&s);
    m->mail[0].text = text;
    snap(&a, &s);
    assert_int_equal(wr_world_restore(b.w, s.base, s.len), 0);
    wr_writer_free(&s);
    t_free(&a);
    t_free(&b);
}

/* A reload keeps quests by id: a removed quest is dropped; a step that is
 * still the same keeps its count (and passes if the new count is met); a
 * changed step starts over; a completed quest stays completed. */
static void test_world_reload(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    play_some(&t);
    assert_int_equal(ch(&t, "alice")->n_quests, 3);
    load_world(&t, 2);
    assert_int_equal(model(&t)->n_quests, 2);
    struct wr_mud_char *a = ch(&t, "alice");
    assert_int_equal(a->n_quests, 2); /* "hard" is gone */
    const struct wr_mud_quest_prog *rats = prog(&t, "alice", 0);
    const struct wr_mud_quest_prog *errand = prog(&t, "alice", 1);
    assert_non_null(rats);
    assert_non_null(errand);
    assert_int_equal(model(&t)->quests[rats->quest].n_steps, 1);
    assert_int_equal(rats->step, 1); /* two kills made, two asked now */
    SEES(&t, WR_MUD_EV_ACT, "Quest 'Rat trouble': all done: return to the foreman.");
    assert_int_equal(errand->step, 0); /* a visit first now: from its start */
    assert_int_equal(errand->count, 0);
    SEES(&t, WR_MUD_EV_ACT, "Quest 'The errand', next step: Go to Cellar.");
    const struct wr_mud_quest_prog *b = prog(&t, "bob", 0);
    assert_non_null(b);
    assert_true(b->done);
    assert_int_equal(b->step, 1);
    /* The state is sound: it snapshots and restores. */
    struct wr_writer s;
    snap(&t, &s);
    struct t c;
    t_init(&c);
    c.now = c.seed = 0; /* a restore target: the snapshot brings the rest */
    assert_int_equal(wr_world_restore(c.w, s.base, s.len), 0);
    wr_writer_free(&s);
    t_free(&c);
    /* The errand goes on in its new order. */
    assert_int_equal(move(&t, 1, WR_DIR_D), WR_APPLIED);
    SEES(&t, WR_MUD_EV_ACT, "Quest 'The errand': you have reached Cellar.");
    SEES(&t, WR_MUD_EV_ACT, "Quest 'The errand', next step: Collect 2 wolf pelts.");
    assert_int_equal(prog(&t, "alice", 1)->count, 1); /* the pelt she carries */
    t_free(&t);
}

/* ---- bad input -------------------------------------------------------------------- */

/* Random payloads of every type of the area, and the area's unused types:
 * never a crash (ASan), never a change to someone else's mail. */
static void test_fuzz_payloads(void **state)
{
    (void)state;
    struct t t;
    t_ready(&t);
    assert_int_equal(create(&t, 1, 1, "alice"), WR_APPLIED);
    assert_int_equal(create(&t, 1, 2, "bob"), WR_APPLIED);
    assert_int_equal(send_mail(&t, 2, "bob", "Note to self."), WR_APPLIED);
    uint64_t rng = 99;
    static const char *const words[] = {"foreman", "work", "smile", "bob", "1", "rats", ""};
    for (int i = 0; i < 20000; i++) {
        uint8_t type = (uint8_t)(WR_MUD_QUEST_FIRST + wr_mix64(&rng) % 32);
        P(p);
        size_t n = (size_t)(wr_mix64(&rng) % 24);
        for (size_t k = 0; k < n; k++) {
            uint64_t r = wr_mix64(&rng);
            if (r % 5 == 0)
                wr_mud_encode_str(&p, words[(r >> 8) % 7]);
            else
                wr_put_u8(&p, (uint8_t)(r >> 16));
        }
        enum wr_verdict v = cmd(&t, type, 1, 1, &p);
        assert_true(v == WR_APPLIED || v == WR_MALFORMED);
        if (type > WR_MUD_QUEST_ABANDON)
            assert_int_equal(v, WR_MALFORMED);
        wr_writer_free(&p);
    }
    /* Bob's letter is his: unread, still there. */
    const struct wr_mud_mail *ml = wr_mud_mail_at(mud(&t), 0);
    assert_int_equal(ml->id, 1);
    assert_false(ml->read);
    t_free(&t);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_talk_topics),
        cmocka_unit_test(test_quest_kill_and_reward),
        cmocka_unit_test(test_quest_collect_visit_talk),
        cmocka_unit_test(test_quest_kill_in_combat),
        cmocka_unit_test(test_quest_talk_to_giver_last),
        cmocka_unit_test(test_quest_given_items_count),
        cmocka_unit_test(test_quest_abandon),
        cmocka_unit_test(test_quest_level_gate),
        cmocka_unit_test(test_socials),
        cmocka_unit_test(test_mail),
        cmocka_unit_test(test_mail_limit),
        cmocka_unit_test(test_snapshot_mail),
        cmocka_unit_test(test_snapshot_quests),
        cmocka_unit_test(test_restore_refuses_bad_sections),
        cmocka_unit_test(test_world_reload),
        cmocka_unit_test(test_fuzz_payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
