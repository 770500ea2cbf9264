/* The MUD's pure text layer (mud/mud_text.h): the command parser (aliases,
 * prefixes, table order, channels, unknown), wrapping, the map on a small
 * hand-built model, and the wording of events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mud/model.h"
#include "mud_node/mud_text.h"

static const struct wr_mud_cmd_def *parse(const char *line, struct wr_mud_parsed *p)
{
    static const char *const chans[] = {"global", "newbie"};
    wr_mud_cmd_parse(line, strlen(line), chans, 2, p);
    return p->def;
}

static void test_parser(void **state)
{
    (void)state;
    struct wr_mud_parsed p;
    assert_int_equal(parse("n", &p)->dir, WR_DIR_N);
    assert_int_equal(parse("NORTH", &p)->dir, WR_DIR_N);
    assert_int_equal(parse("s", &p)->dir, WR_DIR_S);   /* south before say */
    assert_int_equal(parse("sa hi", &p)->id, WR_MC_SAY); /* prefix of say */
    assert_int_equal(parse("ne", &p)->dir, WR_DIR_NE);
    assert_int_equal(parse("in", &p)->dir, WR_DIR_IN);
    assert_int_equal(parse("i", &p)->id, WR_MC_INVENTORY);
    assert_int_equal(parse("l", &p)->id, WR_MC_LOOK);
    assert_int_equal(parse("take lamp", &p)->id, WR_MC_GET);
    assert_int_equal(parse("  look   at   lantern  ", &p)->id, WR_MC_LOOK);
    assert_int_equal(p.args_len, strlen("at   lantern"));
    assert_int_equal(parse("'hello there", &p)->id, WR_MC_SAY);
    assert_int_equal(p.args_len, strlen("hello there"));
    assert_int_equal(parse(":smiles", &p)->id, WR_MC_EMOTE);
    assert_int_equal(parse("global hi all", &p)->id, WR_MC_CHANNEL_TALK);
    assert_int_equal(p.channel, 0);
    assert_int_equal(parse("newbie ?", &p)->id, WR_MC_CHANNEL_TALK);
    assert_int_equal(p.channel, 1);
    assert_int_equal(parse("channels", &p)->id, WR_MC_CHANNELS);
    assert_int_equal(parse("ch", &p)->id, WR_MC_CHANNELS); /* table order */
    assert_int_equal(parse("c", &p)->id, WR_MC_CLOSE);
    assert_null(parse("q", &p)); /* quit only in full */
    assert_int_equal(parse("quit", &p)->id, WR_MC_QUIT);
    assert_null(parse("xyzzy", &p));
    assert_string_equal(p.verb, "xyzzy");
    parse("   ", &p);
    assert_true(p.empty);
    assert_null(p.def);
    /* a NUL inside a verb matches nothing */
    wr_mud_cmd_parse("lo\0ok", 5, NULL, 0, &p);
    assert_null(p.def);
}

static void test_help(void **state)
{
    (void)state;
    struct wr_tbuf b;
    wr_tbuf_init(&b);
    wr_mud_help(&b, NULL, 0, 0);
    assert_non_null(strstr(wr_tbuf_str(&b), "Movement:"));
    assert_non_null(strstr(wr_tbuf_str(&b), "quit"));
    b.len = 0;
    wr_mud_help(&b, "s", 1, 0);
    assert_non_null(strstr(wr_tbuf_str(&b), "south"));
    b.len = 0;
    wr_mud_help(&b, "zzz", 3, 0);
    assert_non_null(strstr(wr_tbuf_str(&b), "no help"));
    wr_tbuf_free(&b);
}

static void test_wrap(void **state)
{
    (void)state;
    struct wr_tbuf b;
    wr_tbuf_init(&b);
    const char *t = "The quick brown fox jumps over the lazy dog and keeps running far away.\n";
    wr_mud_wrap(&b, t, strlen(t), 20, 0);
    assert_string_equal(wr_tbuf_str(&b),
                        "The quick brown fox\njumps over the lazy\ndog and keeps\nrunning far away.\n");
    b.len = 0;
    wr_mud_wrap(&b, "a\n\nb", 4, 40, 2);
    assert_string_equal(wr_tbuf_str(&b), "  a\n\n  b\n");
    b.len = 0;
    wr_mud_wrap(&b, "xxxxxxxxxxxxxxxxxxxxxxxxx", 25, 20, 0); /* cut */
    assert_string_equal(wr_tbuf_str(&b), "xxxxxxxxxxxxxxxxxxxx\nxxxxx\n");
    b.len = 0;
    const char *col = "\033[31mred\033[0m words here";
    wr_mud_wrap(&b, col, strlen(col), 80, 0);
    assert_int_equal(wr_mud_text_width(b.p, b.len - 1), strlen("red words here"));
    b.len = 0;
    wr_mud_strip_ansi(&b, col, strlen(col));
    assert_string_equal(wr_tbuf_str(&b), "red words here");
    wr_tbuf_free(&b);
}

/* A 2x2 square of rooms in one zone plus one in another zone:
 *   a - b
 *   |   +   (b-d has a door)
 *   c   d */
static void test_map(void **state)
{
    (void)state;
    struct wr_mud_model *m = wr_mud_model_new();
    m->n_zones = 2;
    m->zones = wr_mud_model_alloc(m, 2 * sizeof *m->zones);
    m->n_rooms = 5;
    m->rooms = wr_mud_model_alloc(m, 5 * sizeof *m->rooms);
    int xy[5][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}, {2, 0}};
    for (int i = 0; i < 5; i++) {
        m->rooms[i].x = xy[i][0];
        m->rooms[i].y = xy[i][1];
        m->rooms[i].zone = i == 4 ? 1 : 0;
        for (int d = 0; d < WR_MUD_NDIRS; d++)
            m->rooms[i].exits[d].to = WR_MUD_NO_ROOM;
    }
    m->rooms[0].exits[WR_DIR_E].to = 1;
    m->rooms[1].exits[WR_DIR_W].to = 0;
    m->rooms[0].exits[WR_DIR_S].to = 2;
    m->rooms[2].exits[WR_DIR_N].to = 0;
    m->rooms[1].exits[WR_DIR_S].to = 3;
    m->rooms[1].exits[WR_DIR_S].door = true;
    m->rooms[3].exits[WR_DIR_N].to = 1;
    m->rooms[3].exits[WR_DIR_N].door = true;
    m->rooms[1].exits[WR_DIR_E].to = 4; /* other zone: not drawn */
    struct wr_tbuf b;
    wr_tbuf_init(&b);
    wr_mud_map_render(&b, m, 0, 2);
    assert_string_equal(wr_tbuf_str(&b), "  @-#\n"
                                         "  | +\n"
                                         "  # #\n"
                                         "@ you  # room  - | / \\ paths  + door\n");
    wr_tbuf_free(&b);
    wr_mud_model_free(m);
}

static const char *render(uint8_t type, const struct wr_mud_event *e, uint32_t viewer,
                          struct wr_tbuf *b)
{
    b->len = 0;
    struct wr_tbuf plain;
    wr_tbuf_init(&plain);
    if (!wr_mud_event_render(b, type, e, viewer)) {
        wr_tbuf_free(&plain);
        return NULL;
    }
    wr_mud_strip_ansi(&plain, b->p, b->len);
    b->len = 0;
    wr_tbuf_put(b, wr_tbuf_str(&plain), plain.len);
    wr_tbuf_free(&plain);
    return wr_tbuf_str(b);
}

static void test_events(void **state)
{
    (void)state;
    struct wr_tbuf b;
    wr_tbuf_init(&b);
    struct wr_mud_event e = {.actor_kind = WR_MUD_ACTOR_CHAR, .actor_id = 1, .actor_name = "Alice",
                             .dir = WR_DIR_S};
    assert_string_equal(render(WR_MUD_EV_ARRIVE, &e, 2, &b), "Alice arrives from the south.\n");
    assert_null(render(WR_MUD_EV_ARRIVE, &e, 1, &b));
    e.dir = WR_DIR_N;
    assert_string_equal(render(WR_MUD_EV_DEPART, &e, 2, &b), "Alice leaves north.\n");
    e.text = "hi";
    assert_string_equal(render(WR_MUD_EV_SAY, &e, 1, &b), "You say 'hi'\n");
    assert_string_equal(render(WR_MUD_EV_SAY, &e, 2, &b), "Alice says 'hi'\n");
    e.text = "smiles.";
    assert_string_equal(render(WR_MUD_EV_EMOTE, &e, 2, &b), "Alice smiles.\n");
    e.text = "x";
    e.target_id = 2;
    e.target_name = "Bob";
    assert_string_equal(render(WR_MUD_EV_TELL, &e, 2, &b), "Alice tells you 'x'\n");
    assert_string_equal(render(WR_MUD_EV_TELL, &e, 1, &b), "You tell Bob 'x'\n");
    assert_string_equal(render(WR_MUD_EV_WHISPER, &e, 3, &b), "Alice whispers something to Bob.\n");
    e.item = "global";
    assert_string_equal(render(WR_MUD_EV_CHANNEL, &e, 3, &b), "[global] Alice: x\n");
    e.item = "gate";
    e.code = "open";
    e.dir = -1;
    assert_string_equal(render(WR_MUD_EV_DOOR, &e, 3, &b), "Alice opens the gate.\n");
    e.item = "a lantern";
    e.code = "get";
    assert_string_equal(render(WR_MUD_EV_ITEM, &e, 3, &b), "Alice picks up a lantern.\n");
    e.code = "lost";
    assert_string_equal(render(WR_MUD_EV_LINK, &e, 3, &b), "Alice has lost their link.\n");
    struct wr_mud_event npc = {.actor_kind = WR_MUD_ACTOR_NPC, .actor_id = 1,
                               .actor_name = "the old gatekeeper", .dir = -1, .text = "Halt!"};
    assert_string_equal(render(WR_MUD_EV_SAY, &npc, 1, &b), "The old gatekeeper says 'Halt!'\n");
    assert_null(render(WR_MUD_EV_MOVED, &e, 1, &b));
    wr_tbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser), cmocka_unit_test(test_help), cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_map),    cmocka_unit_test(test_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
