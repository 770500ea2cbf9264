/* The MUD's characters: creating one, logging in, resuming a session by
 * token, taking a character over from another session, linkdead and its
 * expiry, and quitting. A character is never deleted; leaving the world
 * makes it OFFLINE (see the invariants in mud_internal.h). */
#include <string.h>

#include "mud/mud_internal.h"

/* ---- characters ------------------------------------------------------- */

static char ascii_upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

uint32_t wr__mud_default_channels_off(const struct wr_mud_model *mo)
{
    uint32_t off = 0;
    for (size_t i = 0; i < mo->n_channels && i < WR_MUD_MAX_CHANNELS; i++)
        if (!mo->channels[i].on_by_default)
            off |= 1u << i;
    return off;
}

/* @c (in the world) is now played by the command's session. */
static void bind_session(struct wr_mud *m, struct wr_mud_char *c, const struct wr_cmd *cmd,
                         const uint8_t token[16], uint64_t incarnation, uint64_t now)
{
    if (c->session != 0)
        wr_u64map_del(&m->by_session, c->session);
    c->state = WR_MUD_ONLINE;
    c->node = cmd->node;
    c->session = cmd->session;
    c->incarnation = incarnation;
    c->linkdead_since = 0;
    memcpy(c->token_hash, token, 16);
    wr_u64map_put(&m->by_session, c->session, (uint32_t)(c - m->chars));
    (void)now;
}

/* Another session takes @c over: the old one is told and closed. */
static void take_from(const struct wr_apply_ctx *ctx, const struct wr_mud_char *c)
{
    if (c->session == 0)
        return;
    struct wr_mud_event e = wr__mud_ev_char(c);
    wr__mud_to_char(ctx, WR_MUD_EV_TAKEN_OVER, c, &e);
    wr_world_close_session(ctx->world, c->session);
}

/* @c leaves the world (quit, expiry): OFFLINE, its session forgotten. */
static void go_offline(struct wr_mud *m, struct wr_mud_char *c)
{
    wr_u64map_del(&m->by_session, c->session);
    c->state = WR_MUD_OFFLINE;
    c->session = 0;
    c->node = 0;
    c->linkdead_since = 0;
    memset(c->token_hash, 0, sizeof c->token_hash);
}

void wr__mud_go_linkdead(const struct wr_apply_ctx *ctx, struct wr_mud_char *c)
{
    if (c->state != WR_MUD_ONLINE)
        return;
    c->state = WR_MUD_LINKDEAD;
    c->linkdead_since = ctx->now_ms;
    wr__mud_link_event(ctx, c, "lost");
}

static void entered(const struct wr_apply_ctx *ctx, const struct wr_mud_char *c,
                    const char *code)
{
    struct wr_mud_event e = wr__mud_ev_char(c);
    e.code = code;
    wr__mud_to_char(ctx, WR_MUD_EV_ENTERED_GAME, c, &e);
}

enum result wr__mud_apply_create(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                 const struct wr_cmd *cmd, struct wr_reader *r)
{
    char name[256], pw[256];
    if (wr_get_str(r, name, sizeof name) != 0 || wr_get_str(r, pw, sizeof pw) != 0)
        return R_MALFORMED;
    const uint8_t *token = wr_get_bytes(r, 16);
    uint64_t incarnation = wr_get_u64(r);
    if (r->err)
        return R_MALFORMED;
    /* Race and class keys follow since module version 2; a payload
     * without them ("" too) takes the world's first race and class. */
    char race_key[256] = "", cls_key[256] = "";
    if (r->left > 0 && (wr_get_str(r, race_key, sizeof race_key) != 0 ||
                        wr_get_str(r, cls_key, sizeof cls_key) != 0))
        return R_MALFORMED;
    if (wr__mud_char_by_session(m, cmd->session) != NULL)
        return R_KEEP; /* the session already plays: a node never sends this */
    if (m->model == NULL)
        return wr__mud_refuse(ctx, cmd, "no_world", "The world is not loaded yet.");
    long race = race_key[0] ? wr_mud_model_race(m->model, race_key) : 0;
    long cls = cls_key[0] ? wr_mud_model_class(m->model, cls_key) : 0;
    if (race < 0)
        return wr__mud_refuse(ctx, cmd, "bad_race", "There is no such race in this world.");
    if (cls < 0)
        return wr__mud_refuse(ctx, cmd, "bad_class", "There is no such class in this world.");
    if (!wr_mud_name_ok(name, strlen(name)))
        return wr__mud_refuse(ctx, cmd, "bad_name", "A name is 3 to 16 letters.");
    if (strlen(pw) >= WR_MUD_PWHASH_MAX)
        return R_MALFORMED;
    if (wr__mud_char_by_name(m, name) != NULL)
        return wr__mud_refuse(ctx, cmd, "name_taken", "That name is taken.");
    if (m->n_chars >= UINT32_MAX - 1)
        return wr__mud_refuse(ctx, cmd, "full", "No more characters can be created.");

    GROW(m->chars, m->n_chars, m->cap_chars);
    struct wr_mud_char *c = &m->chars[m->n_chars];
    memset(c, 0, sizeof *c);
    c->id = (uint32_t)++m->n_chars;
    memcpy(c->name, name, strlen(name) + 1);
    c->name[0] = ascii_upper(c->name[0]);
    memcpy(c->pw_hash, pw, strlen(pw) + 1);
    c->room = m->model->start_room;
    c->channels_off = wr__mud_default_channels_off(m->model);
    c->created_at = c->last_login_at = ctx->now_ms;
    wr__mud_progress_init_char(m, ctx, c, (uint32_t)race, (uint32_t)cls);
    bind_session(m, c, cmd, token, incarnation, ctx->now_ms);
    entered(ctx, c, "created");
    wr__mud_link_event(ctx, c, "enter");
    wr__mud_entered_room(m, ctx, c);
    wr__mud_check(m);
    return R_KEEP;
}

enum result wr__mud_apply_login(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_reader *r)
{
    char name[256];
    if (wr_get_str(r, name, sizeof name) != 0)
        return R_MALFORMED;
    const uint8_t *token = wr_get_bytes(r, 16);
    uint64_t incarnation = wr_get_u64(r);
    if (r->err)
        return R_MALFORMED;
    if (wr__mud_char_by_session(m, cmd->session) != NULL)
        return R_KEEP;
    if (m->model == NULL)
        return wr__mud_refuse(ctx, cmd, "no_world", "The world is not loaded yet.");
    struct wr_mud_char *c = wr__mud_char_by_name(m, name);
    if (c == NULL)
        return wr__mud_refuse(ctx, cmd, "no_such_character", "There is no character of that name.");
    enum wr_mud_char_state was = c->state;
    if (was != WR_MUD_OFFLINE)
        take_from(ctx, c);
    else if (c->room >= m->model->n_rooms)
        c->room = m->model->start_room;
    bind_session(m, c, cmd, token, incarnation, ctx->now_ms);
    c->last_login_at = ctx->now_ms;
    switch (was) {
    case WR_MUD_OFFLINE:
        entered(ctx, c, "login");
        wr__mud_link_event(ctx, c, "enter");
        wr__mud_entered_room(m, ctx, c);
        break;
    case WR_MUD_LINKDEAD:
        entered(ctx, c, "reconnect");
        wr__mud_link_event(ctx, c, "back");
        break;
    default:
        entered(ctx, c, "takeover");
        break;
    }
    wr__mud_check(m);
    return R_KEEP;
}

enum result wr__mud_apply_resume(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                 const struct wr_cmd *cmd, struct wr_reader *r)
{
    const uint8_t *token = wr_get_bytes(r, 16);
    uint64_t incarnation = wr_get_u64(r);
    if (r->err)
        return R_MALFORMED;
    if (wr__mud_char_by_session(m, cmd->session) != NULL)
        return R_KEEP;
    struct wr_mud_char *c = (struct wr_mud_char *)wr_mud_char_by_token(m, token);
    if (c == NULL)
        return wr__mud_refuse(ctx, cmd, "bad_token", "No character holds that token.");
    enum wr_mud_char_state was = c->state;
    if (was == WR_MUD_ONLINE)
        take_from(ctx, c);
    else
        wr_world_close_session(ctx->world, c->session);
    bind_session(m, c, cmd, token, incarnation, ctx->now_ms);
    entered(ctx, c, "resume");
    if (was == WR_MUD_LINKDEAD)
        wr__mud_link_event(ctx, c, "back");
    wr__mud_check(m);
    return R_KEEP;
}

void wr__mud_quit(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c)
{
    wr__mud_fight_leave(m, ctx, WR_MUD_ACTOR_CHAR, c->id);
    wr__mud_link_event(ctx, c, "quit");
    struct wr_mud_event e = wr__mud_ev_char(c);
    wr__mud_to_char(ctx, WR_MUD_EV_QUIT, c, &e);
    go_offline(m, c);
    wr__mud_check(m);
}

void wr__mud_node_restarted(void *state, const struct wr_apply_ctx *ctx, uint32_t node,
                            uint64_t incarnation)
{
    struct wr_mud *m = state;
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *c = &m->chars[i];
        if (c->state == WR_MUD_ONLINE && c->node == node && c->incarnation != incarnation)
            wr__mud_go_linkdead(ctx, c);
    }
}

enum result wr__mud_apply_expire(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                 struct wr_reader *r)
{
    uint32_t id = wr_get_u32(r);
    uint64_t since = wr_get_u64(r);
    if (r->err)
        return R_MALFORMED;
    struct wr_mud_char *c = wr__mud_char_by_id(m, id);
    if (c == NULL || c->state != WR_MUD_LINKDEAD || c->linkdead_since != since)
        return R_KEEP; /* back, or linkdead again since: not this expiry */
    wr__mud_fight_leave(m, ctx, WR_MUD_ACTOR_CHAR, c->id);
    wr__mud_link_event(ctx, c, "gone");
    wr_world_close_session(ctx->world, c->session);
    go_offline(m, c);
    c->room = m->model->zones[wr__mud_room_zone(m, c->room)].graveyard;
    wr__mud_check(m);
    return R_KEEP;
}
