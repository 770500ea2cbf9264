/* The MUD's output to its clients (mud_node_internal.h): the terminal layer
 * (text, prompts, echo, GMCP over telnet or as WebSocket messages) and the
 * delivery of applied events to this node's own clients.
 *
 * Output: everything a command or an event produces for a client is
 * appended to its buffer and sent in flush (once per loop iteration) or at
 * the end of the client's own message: one text message (ws) or one send
 * (telnet), then the prompt. GMCP, echo and welcome messages flush the
 * text before them, so the order on the wire is the order of the calls. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "mud_node/mud_node_internal.h"
#include "net/conn.h"
#include "net/telnet.h"
#include "world/world.h"

#define PROMPT "> "

/* ---- the terminal layer ------------------------------------------------ */

void wr__mud_mark_dirty(struct client *c)
{
    struct mnode *n = c->node;
    if (c->dirty)
        return;
    c->dirty = true;
    if (n->n_dirty == n->cap_dirty) {
        n->cap_dirty = n->cap_dirty ? n->cap_dirty * 2 : 64;
        n->dirty = wr_realloc(n->dirty, n->cap_dirty * sizeof *n->dirty);
    }
    n->dirty[n->n_dirty++] = c->slot;
}

void wr__mud_send_json(struct client *c, json_t *obj)
{
    wr_node_send_json(c->conn, obj);
}

/* Send the buffered text now (before a message of another kind). */
void wr__mud_term_flush_text(struct client *c)
{
    if (c->out.len == 0)
        return;
    if (c->ws) {
        wr__mud_send_json(c, json_pack("{s:s, s:s%}", "t", "text", "data", c->out.p, c->out.len));
    } else {
        struct wr_telnet *t = (struct wr_telnet *)c->conn;
        if (wr_telnet_color(t)) {
            wr_telnet_send(t, c->out.p, c->out.len);
        } else {
            struct wr_tbuf plain;
            wr_tbuf_init(&plain);
            wr_mud_strip_ansi(&plain, c->out.p, c->out.len);
            wr_telnet_send(t, wr_tbuf_str(&plain), plain.len);
            wr_tbuf_free(&plain);
        }
    }
    c->out.len = 0;
    if (c->out.p)
        c->out.p[0] = '\0';
}

void wr__mud_out(struct client *c, const char *text)
{
    if (c->state == S_CLOSING && c->conn == NULL)
        return;
    wr_tbuf_puts(&c->out, text);
    if (c->state == S_PLAYING)
        c->want_prompt = true;
    wr__mud_mark_dirty(c);
}

void wr__mud_outf(struct client *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    wr__mud_out(c, buf);
}

static unsigned term_width(const struct client *c)
{
    unsigned w = c->ws ? c->width : wr_telnet_width((const struct wr_telnet *)c->conn);
    if (w < 20)
        w = 80;
    return w > 200 ? 200 : w;
}

void wr__mud_out_wrapped(struct client *c, const char *text, unsigned indent)
{
    wr_mud_wrap(&c->out, text, strlen(text), term_width(c), indent);
    if (c->state == S_PLAYING)
        c->want_prompt = true;
    wr__mud_mark_dirty(c);
}

static void term_prompt(struct client *c, const char *p)
{
    wr__mud_term_flush_text(c);
    if (c->ws)
        wr__mud_send_json(c, json_pack("{s:s, s:s}", "t", "prompt", "data", p));
    else
        wr_telnet_prompt((struct wr_telnet *)c->conn, p, strlen(p));
    c->want_prompt = false;
}

/* A question of the login dialogue: text and a prompt. */
void wr__mud_ask(struct client *c, const char *question)
{
    term_prompt(c, question);
}

void wr__mud_hide_input(struct client *c, bool hide)
{
    wr__mud_term_flush_text(c);
    c->hidden = hide;
    if (c->ws)
        wr__mud_send_json(c, json_pack("{s:s, s:b}", "t", "echo", "on", !hide));
    else
        wr_telnet_hide_input((struct wr_telnet *)c->conn, hide);
}

/* @json is a JSON value's text. */
static void gmcp(struct client *c, const char *pkg, const char *json)
{
    wr__mud_term_flush_text(c);
    if (c->ws) {
        json_error_t err;
        json_t *data = json_loads(json, JSON_DECODE_ANY, &err);
        if (data == NULL)
            return;
        wr__mud_send_json(c, json_pack("{s:s, s:s, s:o}", "t", "gmcp", "pkg", pkg, "data", data));
    } else {
        wr_telnet_gmcp((struct wr_telnet *)c->conn, pkg, json);
    }
}

/* Does this client take GMCP package @pkg? (The browser always does.)
 * Checked before a payload is built: most telnet clients take none, and
 * building Room.Players in a crowded room costs a JSON object a player. */
static bool wants_gmcp(const struct client *c, const char *pkg)
{
    return c->ws || wr_telnet_gmcp_supports((const struct wr_telnet *)c->conn, pkg);
}

static void gmcp_obj(struct client *c, const char *pkg, json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(data);
    if (text != NULL) {
        gmcp(c, pkg, text);
        free(text);
    }
}

void wr__mud_send_error(struct client *c, const char *code, const char *msg)
{
    if (!c->ws)
        return;
    wr__mud_term_flush_text(c);
    wr__mud_send_json(c, json_pack("{s:s, s:s, s:s}", "t", "error", "code", code, "msg", msg));
}
void wr__mud_close_client(struct client *c, uint16_t code, const char *reason)
{
    wr__mud_term_flush_text(c);
    c->state = S_CLOSING;
    c->want_prompt = false;
    if (c->ws)
        wr_conn_close(c->conn, code, reason);
    else
        wr_telnet_close((struct wr_telnet *)c->conn, NULL); /* the text said why */
}

/* ---- GMCP: the room, who is in it, the character ------------------------ */

static void gmcp_room(struct client *c, uint32_t room)
{
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    if (m == NULL || room >= m->n_rooms || !wants_gmcp(c, "Room.Info"))
        return;
    const struct wr_mud_room *r = &m->rooms[room];
    json_t *exits = json_object();
    for (int d = 0; d < WR_MUD_NDIRS; d++)
        if (r->exits[d].to != WR_MUD_NO_ROOM)
            json_object_set_new(exits, wr_mud_dir_short((enum wr_mud_dir)d),
                                json_integer(r->exits[d].to));
    gmcp_obj(c, "Room.Info",
             json_pack("{s:I, s:s, s:s, s:i, s:i, s:o}", "num", (json_int_t)room, "name", r->name,
                       "area", m->zones[r->zone].name ? m->zones[r->zone].name : "", "x", r->x,
                       "y", r->y, "exits", exits));
}

static void gmcp_players(struct client *c)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_char *me = wr__mud_my_char(c);
    c->players_dirty = false;
    if (m == NULL || me == NULL || !wants_gmcp(c, "Room.Players"))
        return;
    json_t *list = json_array();
    for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
        const struct wr_mud_char *o = wr_mud_char_at(ms, i);
        if (o->state != WR_MUD_OFFLINE && o->room == me->room && o->id != me->id)
            json_array_append_new(list, json_pack("{s:s, s:s}", "name", o->name, "kind", "player"));
    }
    for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
        const struct wr_mud_npc_inst *np = wr_mud_npc_at(ms, i);
        if (np->room == me->room && np->npc < m->n_npcs)
            json_array_append_new(
                list, json_pack("{s:s, s:s}", "name", m->npcs[np->npc].name, "kind", "npc"));
    }
    gmcp_obj(c, "Room.Players", list);
}

/* The vitals of @me at the replica's log time: hp, maxhp, sp, maxsp, ep,
 * maxep, level, xp, maxxp (xp the next level needs), in this order. */
enum { N_VITALS = 9 };
static const char *const vital_keys[N_VITALS] = {"hp",    "maxhp", "sp", "maxsp", "ep",
                                                 "maxep", "level", "xp", "maxxp"};

static void vitals_of(struct client *c, const struct wr_mud_char *me, int64_t v[N_VITALS])
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    uint64_t now = wr_world_now(c->node->world);
    for (int p = 0; p < WR_MUD_NPOOLS; p++) {
        v[2 * p] = me->f.pool[p];
        v[2 * p + 1] = wr_mud_char_max(ms, me, (enum wr_mud_pool)p, now);
    }
    v[6] = me->level;
    v[7] = (int64_t)me->xp;
    v[8] = (int64_t)wr_mud_xp_to_next(wr_mud_model(ms), me->level);
}

/* GMCP Char.Vitals, if one of them changed since the last one sent to @c
 * (a new connection gets them once). */
static void gmcp_vitals(struct client *c)
{
    const struct wr_mud_char *me = wr__mud_my_char(c);
    if (me == NULL || wr_mud_model(wr__mud_state(c->node)) == NULL || !wants_gmcp(c, "Char"))
        return;
    int64_t v[N_VITALS];
    vitals_of(c, me, v);
    if (c->vitals_sent && memcmp(v, c->vitals, sizeof v) == 0)
        return;
    memcpy(c->vitals, v, sizeof v);
    c->vitals_sent = true;
    json_t *o = json_object();
    for (int i = 0; i < N_VITALS; i++)
        json_object_set_new(o, vital_keys[i], json_integer((json_int_t)v[i]));
    gmcp_obj(c, "Char.Vitals", o);
}

/* The prompt of a playing character: "<45/60hp 20/20sp 30/30ep> ". */
static void prompt_of(struct client *c, char *out_, size_t len)
{
    const struct wr_mud_char *me = wr__mud_my_char(c);
    if (me == NULL || wr_mud_model(wr__mud_state(c->node)) == NULL) {
        snprintf(out_, len, "%s", PROMPT);
        return;
    }
    int64_t v[N_VITALS];
    vitals_of(c, me, v);
    snprintf(out_, len, "<%lld/%lldhp %lld/%lldsp %lld/%lldep> ", (long long)v[0], (long long)v[1],
             (long long)v[2], (long long)v[3], (long long)v[4], (long long)v[5]);
}

static void gmcp_status(struct client *c)
{
    const struct wr_mud_char *me = wr__mud_my_char(c);
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    if (me == NULL || m == NULL || me->room >= m->n_rooms || !wants_gmcp(c, "Char"))
        return;
    const char *zone = m->zones[m->rooms[me->room].zone].key;
    gmcp_obj(c, "Char.Status",
             json_pack("{s:s, s:I, s:s, s:s}", "name", me->name, "room", (json_int_t)me->room,
                       "zone", zone, "state", wr__mud_state_name(me->state)));
    gmcp_vitals(c);
}

static void after_entering_room(struct client *c, uint32_t room)
{
    wr__mud_show_room(c, room);
    gmcp_room(c, room);
    gmcp_players(c);
}

/* ---- events ------------------------------------------------------------ */

struct history_ctx {
    struct client *c;
    const char *channel;
    size_t lines;
};

static void history_line(void *arg, const char *who, const char *text)
{
    struct history_ctx *h = arg;
    if (h->lines++ == 0)
        wr__mud_outf(h->c, "Recently on %s:\n", h->channel);
    wr__mud_outf(h->c, "  [%s] %s: %s\n", h->channel, who, text);
}

/* The last lines of channel @ch, as a player joining it sees them. */
static void show_history(struct client *c, uint32_t ch)
{
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    if (m == NULL || ch >= m->n_channels)
        return;
    struct history_ctx h = {.c = c, .channel = m->channels[ch].key};
    wr_mud_channel_history(wr__mud_state(c->node), ch, history_line, &h);
    if (h.lines > 0)
        wr__mud_out(c, "\n");
}

/* On entering the game: the history of every channel the player hears. */
static void show_all_history(struct client *c, const struct wr_mud_char *me)
{
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    for (size_t i = 0; m != NULL && i < m->n_channels && i < WR_MUD_MAX_CHANNELS; i++)
        if (!(me->channels_off & (1u << i)))
            show_history(c, (uint32_t)i);
}

static void entered_game(struct client *c, const struct wr_mud_event *e)
{
    struct mnode *n = c->node;
    c->state = S_PLAYING;
    c->char_id = e->actor_id;
    const struct wr_mud_char *me = wr__mud_my_char(c);
    if (me != NULL)
        snprintf(c->name, sizeof c->name, "%s", me->name);
    if (c->ws) {
        wr__mud_term_flush_text(c);
        wr__mud_send_json(c, json_pack("{s:s, s:s, s:s, s:I}", "t", "welcome", "token", c->token,
                                       "name", c->name, "node", (json_int_t)wr_node_id(n->wn)));
    }
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(n));
    const char *code = e->code ? e->code : "";
    if (strcmp(code, "created") == 0 || strcmp(code, "create") == 0)
        wr__mud_outf(c, "Welcome to %s, %s. Type 'help' for the commands.\n\n",
                     m && m->name ? m->name : "the world", c->name);
    else if (strcmp(code, "resumed") == 0 || strcmp(code, "resume") == 0)
        wr__mud_outf(c, "Welcome back, %s.\n\n", c->name);
    else
        wr__mud_outf(c, "Welcome back to %s, %s.\n\n", m && m->name ? m->name : "the world",
                     c->name);
    gmcp_status(c);
    /* A resume continues a session the player saw; a login starts one. */
    if (me != NULL && strcmp(code, "resume") != 0 && strcmp(code, "resumed") != 0)
        show_all_history(c, me);
    if (me != NULL && me->room != WR_MUD_NO_ROOM)
        after_entering_room(c, me->room);
    if (strcmp(code, "resume") != 0 && strcmp(code, "resumed") != 0)
        wr__mud_mail_notice(c);
}

/* A builder changed room e->room (WR_MUD_EV_WORLD "edited", mud_build.c):
 * the others there read what happened, and everyone there sees the room
 * as it is now. */
static void room_edited(struct client *c, const struct wr_mud_event *e)
{
    const struct wr_mud_char *me = wr__mud_my_char(c);
    if (c->state != S_PLAYING || me == NULL || me->room != e->room)
        return;
    bool self = e->actor_kind == WR_MUD_ACTOR_CHAR && e->actor_id == c->char_id;
    if (!self && e->text != NULL)
        wr__mud_outf(c, WR_ANSI_YELLOW "%s" WR_ANSI_RESET "\n", e->text);
    after_entering_room(c, me->room);
}

static void deliver(struct mnode *n, struct client *c, const struct wr_event *ev)
{
    const struct wr_mud_event *e = ev->data;
    switch (ev->type) {
    case WR_MUD_EV_ENTERED_GAME:
        if (c->state == S_ENTERING)
            entered_game(c, e);
        return;
    case WR_MUD_EV_REFUSED: {
        if (c->state != S_ENTERING)
            return;
        const char *code = e->code ? e->code : "";
        wr__mud_forget_session(n, c);
        c->char_id = 0;
        if (strcmp(code, "bad_token") == 0) {
            wr__mud_send_error(c, "bad_token",
                               e->text ? e->text : "that token is unknown or expired");
            c->answered = false;
            c->state = S_ASK_NAME;
            return; /* the client shows the banner and question it held */
        }
        if (c->hidden)
            wr__mud_hide_input(c, false); /* a refused LOGIN: the name is asked next */
        if (strcmp(code, "name_taken") == 0)
            wr__mud_outf(c, "Someone just took the name %s; choose another.\n", c->name);
        else if (strcmp(code, "no_such_character") == 0)
            wr__mud_out(c, "That character no longer exists.\n");
        else
            wr__mud_outf(c, "%s\n", e->text ? e->text : "You cannot enter the game now.");
        c->name[0] = '\0';
        wr__mud_start_dialogue(c);
        return;
    }
    case WR_MUD_EV_TAKEN_OVER:
        if (!c->ws) /* a WebSocket client shows the error's message */
            wr__mud_out(c, "\nYour character was taken over by a new login.\n");
        wr__mud_forget_session(n, c);
        wr__mud_send_error(c, "taken_over", "your character was taken over by a new login");
        wr__mud_close_client(c, 1000, "taken over");
        return;
    case WR_MUD_EV_QUIT:
        wr__mud_out(c, "Goodbye. Come back soon.\n");
        wr__mud_forget_session(n, c);
        wr__mud_close_client(c, 1000, "quit");
        return;
    case WR_MUD_EV_WORLD:
        if (e->code != NULL && strcmp(e->code, "edited") == 0) {
            room_edited(c, e);
            return;
        }
        if (c->state == S_PLAYING && wr__mud_my_char(c) != NULL) {
            wr__mud_out(c, "\nThe world shimmers around you: a new version of it was loaded.\n");
            after_entering_room(c, wr__mud_my_char(c)->room);
            gmcp_status(c);
        }
        return;
    case WR_MUD_EV_MOVED:
        if (c->state == S_PLAYING) {
            after_entering_room(c, e->room);
            gmcp_status(c);
        }
        return;
    default:
        break;
    }
    if (c->state != S_PLAYING)
        return;
    size_t before = c->out.len;
    if (wr_mud_event_render(&c->out, ev->type, e, c->char_id) && c->out.len > before) {
        c->want_prompt = true;
        wr__mud_mark_dirty(c);
    }
    if (ev->type == WR_MUD_EV_ACT)
        wr__mud_mark_dirty(c); /* a deed may change the vitals (flush compares) */
    if (ev->type == WR_MUD_EV_CHANSET && e->code != NULL && strcmp(e->code, "on") == 0 &&
        e->item != NULL) {
        long ch = wr_mud_model_channel(wr_mud_model(wr__mud_state(n)), e->item);
        if (ch >= 0)
            show_history(c, (uint32_t)ch);
    }
    /* An admin forced this character: its client types the line. */
    if (ev->type == WR_MUD_EV_ACT && e->code != NULL && strcmp(e->code, "force") == 0 &&
        e->text != NULL && e->actor_id == c->char_id)
        wr__mud_run_command(c, e->text, strlen(e->text));
    if (ev->type == WR_MUD_EV_CHANNEL)
        gmcp_obj(c, "Comm.Channel.Text",
                 json_pack("{s:s, s:s, s:s}", "channel", e->item ? e->item : "", "talker",
                           e->actor_name ? e->actor_name : "", "text", e->text ? e->text : ""));
    /* Who is here changed, unless it is this character's own arrival (its
     * list leaves itself out; entering a room sends the list already). */
    bool self = e->actor_kind == WR_MUD_ACTOR_CHAR && e->actor_id == c->char_id;
    if (!self && (ev->type == WR_MUD_EV_ARRIVE || ev->type == WR_MUD_EV_DEPART ||
                  ev->type == WR_MUD_EV_LINK || ev->type == WR_MUD_EV_SPAWN)) {
        c->players_dirty = true;
        wr__mud_mark_dirty(c);
    }
}

static bool in_audience(struct mnode *n, struct client *c, const struct wr_event *ev)
{
    if (c == NULL || c->state != S_PLAYING)
        return false;
    const struct wr_mud_char *me = wr__mud_my_char(c);
    if (me == NULL || me->state == WR_MUD_OFFLINE)
        return false;
    switch (ev->audience) {
    case WR_AUD_ALL:
        return true;
    case WR_AUD_ROOM:
        return me->room == ev->target;
    case WR_AUD_ZONE: {
        const struct wr_mud_model *m = wr_mud_model(wr__mud_state(n));
        return m != NULL && me->room < m->n_rooms && m->rooms[me->room].zone == ev->target;
    }
    case WR_AUD_CHANNEL:
        return ev->target < 32 && !(me->channels_off & (1u << ev->target));
    default:
        return false;
    }
}

void wr__mud_event(void *g, const struct wr_event *ev)
{
    struct mnode *n = g;
    if (ev->module != WR_MODULE_MUD)
        return;
    if (ev->audience == WR_AUD_SESSION) {
        if (ev->node != wr_node_id(n->wn))
            return;
        struct client *c = wr_client_table_by_session(&n->clients, ev->session);
        if (c != NULL)
            deliver(n, c, ev);
        return;
    }
    const struct wr_mud_event *ed = ev->data;
    bool edited = ev->type == WR_MUD_EV_WORLD && ed->code != NULL &&
                  strcmp(ed->code, "edited") == 0;
    if (edited && ev->audience == WR_AUD_ALL) {
        /* A builder's edit: the install's own event is for the log; the
         * rooms that changed get theirs (audience ROOM, below). */
        wr_info("mud: world %s (edited by a builder)", ed->text ? ed->text : "?");
        return;
    }
    if (ev->type == WR_MUD_EV_WORLD && !edited) {
        const struct wr_mud_event *e = ev->data;
        bool bad = e->code != NULL && strcmp(e->code, "bad") == 0;
        if (bad) {
            wr_error("mud: a world upload was refused: %s", e->text ? e->text : "?");
            free(n->bundle); /* the module refuses the same bytes every time */
            n->bundle = NULL;
        } else {
            wr_info("mud: world %s loaded", e->text ? e->text : "?");
        }
        if (bad)
            return;
        /* fall through to the players: they are told the world changed */
    } else if (ev->type == WR_MUD_EV_ZONE_OWNER) {
        return;
    }
    uint32_t it = 0;
    for (struct client *c; (c = wr_client_table_next(&n->clients, &it)) != NULL;)
        if (in_audience(n, c, ev))
            deliver(n, c, ev);
}

void wr__mud_flush_client(struct client *c)
{
    if (c->state == S_CLOSING) {
        wr__mud_term_flush_text(c);
        return;
    }
    if (c->players_dirty && c->state == S_PLAYING)
        gmcp_players(c);
    if (c->state == S_PLAYING)
        gmcp_vitals(c);
    if (c->want_prompt && c->state == S_PLAYING) {
        char p[96];
        prompt_of(c, p, sizeof p);
        term_prompt(c, p);
    } else
        wr__mud_term_flush_text(c);
}
