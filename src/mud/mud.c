/* The MUD module: characters, NPCs, items, doors, channels and zone timers
 * as a pure state machine over the world model; see mud.h. This file holds
 * the module table, command dispatch, lifecycle, events, registry, queries
 * and encoders; mud_internal.h has the state, its invariants and a map of
 * the other mud_*.c files. */
#include "mud/mud.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/u64map.h"
#include "mud/mud_internal.h"

/* ---- small helpers ---------------------------------------------------- */

bool wr_mud_name_ok(const char *name, size_t len)
{
    if (len < WR_MUD_NAME_MIN || len > WR_MUD_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
    }
    return true;
}

static bool zero16(const uint8_t h[16])
{
    for (int i = 0; i < 16; i++)
        if (h[i] != 0)
            return false;
    return true;
}

/* Index of @id in an array of structs sorted by a leading u32 id, or -1. */
long wr__mud_find_by_id(const void *arr, size_t n, size_t size, uint32_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t v;
        memcpy(&v, (const char *)arr + mid * size, sizeof v);
        if (v == id)
            return (long)mid;
        if (v < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ---- lookups ---------------------------------------------------------- */

struct wr_mud_char *wr__mud_char_by_id(struct wr_mud *m, uint32_t id)
{
    return id >= 1 && id <= m->n_chars ? &m->chars[id - 1] : NULL;
}

struct wr_mud_char *wr__mud_char_by_session(const struct wr_mud *m, uint64_t session)
{
    uint32_t i;
    if (session == 0 || !wr_u64map_get(&m->by_session, session, &i))
        return NULL;
    return &m->chars[i];
}

struct wr_mud_char *wr__mud_char_by_name(const struct wr_mud *m, const char *name)
{
    for (size_t i = 0; i < m->n_chars; i++)
        if (strcasecmp(m->chars[i].name, name) == 0)
            return &m->chars[i];
    return NULL;
}

struct wr_mud_npc_inst *wr__mud_npc_by_id(struct wr_mud *m, uint32_t id)
{
    long i = wr__mud_find_by_id(m->npcs, m->n_npcs, sizeof *m->npcs, id);
    return i < 0 ? NULL : &m->npcs[i];
}

/* ---- events ----------------------------------------------------------- */

void wr__mud_emit(const struct wr_apply_ctx *ctx, uint8_t type, uint8_t audience, uint32_t node,
                  uint64_t session, uint64_t target, const struct wr_mud_event *e)
{
    struct wr_event ev = {
        .module = WR_MODULE_MUD,
        .type = type,
        .audience = audience,
        .node = node,
        .session = session,
        .target = target,
        .data = e,
    };
    wr_world_emit(ctx->world, &ev);
}

void wr__mud_to_room(const struct wr_apply_ctx *ctx, uint8_t type, const struct wr_mud_event *e)
{
    wr__mud_emit(ctx, type, WR_AUD_ROOM, 0, 0, e->room, e);
}

void wr__mud_to_char(const struct wr_apply_ctx *ctx, uint8_t type, const struct wr_mud_char *c,
                     const struct wr_mud_event *e)
{
    wr__mud_emit(ctx, type, WR_AUD_SESSION, c->node, c->session, 0, e);
}

static void to_cmd(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd, uint8_t type,
                   const struct wr_mud_event *e)
{
    wr__mud_emit(ctx, type, WR_AUD_SESSION, cmd->node, cmd->session, 0, e);
}

struct wr_mud_event wr__mud_ev_char(const struct wr_mud_char *c)
{
    return (struct wr_mud_event){
        .actor_kind = WR_MUD_ACTOR_CHAR,
        .actor_id = c->id,
        .actor_name = c->name,
        .room = wr__mud_in_world(c) ? c->room : WR_MUD_NO_ROOM,
        .dir = -1,
    };
}

struct wr_mud_event wr__mud_ev_npc(const struct wr_mud *m, const struct wr_mud_npc_inst *n)
{
    return (struct wr_mud_event){
        .actor_kind = WR_MUD_ACTOR_NPC,
        .actor_id = n->id,
        .actor_name = m->model->npcs[n->npc].name,
        .room = n->room,
        .dir = -1,
    };
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool wr__mud_prefix_ci(const char *s, const char *prefix)
{
    if (*prefix == '\0')
        return false;
    for (; *prefix; s++, prefix++)
        if (*s == '\0' || ascii_lower(*s) != ascii_lower(*prefix))
            return false;
    return true;
}

char *wr__mud_subst_name(const char *text, const char *name)
{
    size_t tn = strlen(text), nn = strlen(name), count = 0;
    for (const char *p = text; (p = strstr(p, "{name}")) != NULL; p += 6)
        count++;
    char *out = wr_malloc(tn + count * nn + 1);
    char *o = out;
    for (const char *p = text; *p;) {
        if (strncmp(p, "{name}", 6) == 0) {
            memcpy(o, name, nn);
            o += nn;
            p += 6;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* ---- act()-style messages --------------------------------------------- */

/* @tpl with "{actor}"/"{target}" replaced, first letter upper-cased. */
static char *fill(const char *tpl, const char *actor, const char *target)
{
    if (tpl == NULL)
        return NULL;
    size_t cap = strlen(tpl) + 1, n = 0;
    for (const char *p = tpl; (p = strchr(p, '{')) != NULL; p++)
        cap += 2 * WR_MUD_NAME_MAX + 64;
    char *out = wr_malloc(cap + 128);
    for (const char *p = tpl; *p;) {
        const char *v = NULL;
        size_t skip = 0;
        if (strncmp(p, "{actor}", 7) == 0) {
            v = actor;
            skip = 7;
        } else if (strncmp(p, "{target}", 8) == 0) {
            v = target;
            skip = 8;
        }
        if (skip) {
            v = v ? v : "someone";
            size_t l = strlen(v);
            if (n + l >= cap + 127)
                break;
            memcpy(out + n, v, l);
            n += l;
            p += skip;
        } else {
            if (n + 1 >= cap + 127)
                break;
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    if (out[0] >= 'a' && out[0] <= 'z')
        out[0] = (char)(out[0] - 'a' + 'A');
    return out;
}

void wr__mud_act(const struct wr_apply_ctx *ctx, const char *code, uint32_t room,
                 uint8_t actor_kind, uint32_t actor_id, const char *actor_name,
                 uint8_t target_kind, uint32_t target_id, const char *target_name,
                 const char *to_actor, const char *to_target, const char *to_room,
                 const struct wr_mud_char *ac)
{
    char *a = fill(to_actor, actor_name, target_name);
    char *t = fill(to_target, actor_name, target_name);
    char *o = fill(to_room, actor_name, target_name);
    struct wr_mud_event e = {
        .actor_kind = actor_kind,
        .actor_id = actor_id,
        .actor_name = actor_name,
        .target_kind = target_kind,
        .target_id = target_id,
        .target_name = target_name,
        .room = room,
        .dir = -1,
        .code = code,
        .to_actor = a,
        .to_target = t,
        .to_room = o,
    };
    if (room != WR_MUD_NO_ROOM)
        wr__mud_to_room(ctx, WR_MUD_EV_ACT, &e);
    else if (ac != NULL && wr__mud_in_world(ac))
        wr__mud_to_char(ctx, WR_MUD_EV_ACT, ac, &e);
    free(a);
    free(t);
    free(o);
}

void wr__mud_tell_char(const struct wr_apply_ctx *ctx, const struct wr_mud_char *c,
                       const char *code, const char *fmt, ...)
{
    if (c == NULL || !wr__mud_in_world(c))
        return;
    char text[WR_MUD_TEXT_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct wr_mud_event e = {.actor_kind = WR_MUD_ACTOR_CHAR,
                             .actor_id = c->id,
                             .actor_name = c->name,
                             .room = WR_MUD_NO_ROOM,
                             .dir = -1,
                             .code = code,
                             .to_actor = text};
    wr__mud_to_char(ctx, WR_MUD_EV_ACT, c, &e);
}

/* ---- fighters --------------------------------------------------------- */

const char *wr__mud_capitalised(const char *s, char *out, size_t cap)
{
    snprintf(out, cap, "%s", s ? s : "");
    if (out[0] >= 'a' && out[0] <= 'z')
        out[0] = (char)(out[0] - 'a' + 'A');
    return out;
}

struct wr_mud_char *wr__mud_char_of(struct wr_mud *m, uint8_t kind, uint32_t id)
{
    if (kind != WR_MUD_ACTOR_CHAR)
        return NULL;
    struct wr_mud_char *c = wr__mud_char_by_id(m, id);
    return c != NULL && wr__mud_in_world(c) ? c : NULL;
}

struct wr_mud_fighter *wr__mud_fighter(struct wr_mud *m, uint8_t kind, uint32_t id)
{
    if (kind == WR_MUD_ACTOR_CHAR) {
        struct wr_mud_char *c = wr__mud_char_by_id(m, id);
        return c != NULL && wr__mud_in_world(c) ? &c->f : NULL;
    }
    if (kind == WR_MUD_ACTOR_NPC) {
        struct wr_mud_npc_inst *n = wr__mud_npc_by_id(m, id);
        return n != NULL ? &n->f : NULL;
    }
    return NULL;
}

const char *wr__mud_fighter_name(const struct wr_mud *m, uint8_t kind, uint32_t id)
{
    if (kind == WR_MUD_ACTOR_CHAR)
        return id >= 1 && id <= m->n_chars ? m->chars[id - 1].name : NULL;
    if (kind == WR_MUD_ACTOR_NPC) {
        long i = wr__mud_find_by_id(m->npcs, m->n_npcs, sizeof *m->npcs, id);
        return i < 0 ? NULL : m->model->npcs[m->npcs[i].npc].name;
    }
    return NULL;
}

uint32_t wr__mud_fighter_room(const struct wr_mud *m, uint8_t kind, uint32_t id)
{
    if (kind == WR_MUD_ACTOR_CHAR) {
        if (id < 1 || id > m->n_chars || !wr__mud_in_world(&m->chars[id - 1]))
            return WR_MUD_NO_ROOM;
        return m->chars[id - 1].room;
    }
    if (kind == WR_MUD_ACTOR_NPC) {
        long i = wr__mud_find_by_id(m->npcs, m->n_npcs, sizeof *m->npcs, id);
        return i < 0 ? WR_MUD_NO_ROOM : m->npcs[i].room;
    }
    return WR_MUD_NO_ROOM;
}

uint64_t wr__mud_roll(uint64_t *rng, uint64_t n)
{
    return n ? wr_mix64(rng) % n : 0;
}

void wr__mud_link_event(const struct wr_apply_ctx *ctx, const struct wr_mud_char *c,
                        const char *code)
{
    struct wr_mud_event e = wr__mud_ev_char(c);
    e.code = code;
    wr__mud_to_room(ctx, WR_MUD_EV_LINK, &e);
}

/* Tell the command's session why its action failed. */
void wr__mud_fail(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd, const char *code,
                  const char *fmt, ...)
{
    char text[WR_MUD_TEXT_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct wr_mud_event e = {.room = WR_MUD_NO_ROOM, .dir = -1, .code = code, .text = text};
    to_cmd(ctx, cmd, WR_MUD_EV_FAIL, &e);
}

enum result wr__mud_refuse(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd,
                           const char *code, const char *text)
{
    struct wr_mud_event e = {.room = WR_MUD_NO_ROOM, .dir = -1, .code = code, .text = text};
    to_cmd(ctx, cmd, WR_MUD_EV_REFUSED, &e);
    return R_CLOSE;
}

/* ---- channel history -------------------------------------------------- */

void wr__mud_ring_init(struct chan_ring *r, uint32_t cap)
{
    r->cap = cap;
    r->head = r->count = 0;
    r->lines = cap ? wr_calloc(cap, sizeof *r->lines) : NULL;
}

void wr__mud_ring_push(struct chan_ring *r, const char *who, const char *text)
{
    if (r->cap == 0)
        return;
    struct chan_line *l;
    if (r->count < r->cap) {
        l = &r->lines[(r->head + r->count) % r->cap];
        r->count++;
    } else {
        l = &r->lines[r->head];
        r->head = (r->head + 1) % r->cap;
        free(l->text);
    }
    snprintf(l->who, sizeof l->who, "%s", who);
    l->text = wr_strdup(text);
}

/* ---- lifecycle -------------------------------------------------------- */

void wr__mud_chans_free(struct chan_ring *chans, size_t n)
{
    for (size_t i = 0; chans != NULL && i < n; i++) {
        for (uint32_t j = 0; j < chans[i].cap; j++)
            free(chans[i].lines[j].text);
        free(chans[i].lines);
    }
    free(chans);
}

void wr__mud_upload_clear(struct wr_mud *m)
{
    free(m->up_buf);
    m->up_buf = NULL;
    m->up_total = m->up_got = 0;
    memset(m->up_hash, 0, sizeof m->up_hash);
}

/* Back to the empty state (no world, no characters). */
void wr__mud_clear(struct wr_mud *m)
{
    wr__mud_clear_fight(m);
    wr__mud_clear_progress(m);
    wr__mud_clear_items(m);
    wr__mud_clear_quest(m);
    wr__mud_clear_build(m); /* quests and mail went with the quest area's */
    free(m->stock);
    free(m->stock_off);
    m->stock = NULL;
    m->stock_off = NULL;
    memset(m->world_hash, 0, sizeof m->world_hash);
    if (m->model != NULL)
        wr__mud_chans_free(m->chans, m->model->n_channels);
    m->chans = NULL;
    wr_mud_model_free(m->model);
    m->model = NULL;
    free(m->bundle);
    m->bundle = NULL;
    m->bundle_len = 0;
    m->n_chars = 0;
    wr_u64map_clear(&m->by_session);
    m->n_npcs = m->n_items = 0;
    for (size_t i = 0; i < m->n_reacts; i++)
        free(m->reacts[i].text);
    m->n_reacts = 0;
    m->next_npc_id = m->next_item_id = m->next_react_id = 1;
    free(m->doors);
    free(m->zones);
    free(m->item_sp);
    free(m->npc_sp);
    m->doors = NULL;
    m->zones = NULL;
    m->item_sp = m->npc_sp = NULL;
    wr__mud_upload_clear(m);
}

static void *mud_create(void)
{
    struct wr_mud *m = wr_calloc(1, sizeof *m);
    wr_u64map_init(&m->by_session);
    m->next_npc_id = m->next_item_id = m->next_react_id = m->next_mail_id = 1;
    return m;
}

static void mud_reset(void *state)
{
    wr__mud_clear(state);
}

static void mud_destroy(void *state)
{
    struct wr_mud *m = state;
    wr__mud_clear(m);
    free(m->chars);
    free(m->npcs);
    free(m->items);
    free(m->reacts);
    free(m->mail);
    wr_u64map_free(&m->by_session);
    free(m);
}

static bool mud_opens_session(uint8_t type)
{
    return type == WR_MUD_CREATE || type == WR_MUD_LOGIN || type == WR_MUD_RESUME;
}

void wr__mud_check(const struct wr_mud *m)
{
#ifndef NDEBUG
    size_t sessions = 0;
    for (size_t i = 0; i < m->n_chars; i++) {
        const struct wr_mud_char *c = &m->chars[i];
        assert(c->id == i + 1);
        if (c->state == WR_MUD_OFFLINE) {
            assert(c->session == 0);
        } else {
            uint32_t at;
            assert(wr_u64map_get(&m->by_session, c->session, &at) && at == i);
            sessions++;
            assert(c->room < m->model->n_rooms);
        }
    }
    assert(m->by_session.len == sessions);
    for (size_t i = 0; i < m->n_npcs; i++) {
        assert(m->npcs[i].id < m->next_npc_id);
        assert(i == 0 || m->npcs[i - 1].id < m->npcs[i].id);
        assert(m->npcs[i].room < m->model->n_rooms);
        assert(m->npcs[i].spawner < m->model->n_npc_spawners);
    }
    for (size_t i = 0; i < m->n_items; i++) {
        assert(m->items[i].id < m->next_item_id);
        assert(i == 0 || m->items[i - 1].id < m->items[i].id);
        assert(m->items[i].item < m->model->n_items || m->items[i].item == WR_MUD_CORPSE);
    }
    assert(wr__mud_items_ok(m)); /* worn items, corpses (mud_items.c) */
    for (size_t i = 0; i < m->n_reacts; i++)
        assert(i == 0 || m->reacts[i - 1].id < m->reacts[i].id);
#else
    (void)m;
#endif
}

/* ---- apply ------------------------------------------------------------ */

/* A gameplay command: to the area that owns its type (mud_internal.h). */
static enum result apply_area(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c,
                              struct wr_reader *r)
{
    uint8_t t = cmd->type;
    if (t >= WR_MUD_FIGHT_FIRST && t <= WR_MUD_FIGHT_LAST)
        return wr__mud_apply_fight(m, ctx, cmd, c, r);
    if (t >= WR_MUD_PROGRESS_FIRST && t <= WR_MUD_PROGRESS_LAST)
        return wr__mud_apply_progress(m, ctx, cmd, c, r);
    if (t >= WR_MUD_ITEMS_FIRST && t <= WR_MUD_ITEMS_LAST)
        return wr__mud_apply_items(m, ctx, cmd, c, r);
    if (t >= WR_MUD_QUEST_FIRST && t <= WR_MUD_QUEST_LAST)
        return wr__mud_apply_quest(m, ctx, cmd, c, r);
    if (t >= WR_MUD_BUILD_FIRST && t <= WR_MUD_BUILD_LAST)
        return wr__mud_apply_build(m, ctx, cmd, c, r);
    return R_MALFORMED;
}

static enum result apply_session_cmd(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                     const struct wr_cmd *cmd, struct wr_reader *r)
{
    struct wr_mud_char *c = wr__mud_char_by_session(m, cmd->session);
    if (c != NULL && c->node != cmd->node)
        c = NULL;
    switch (cmd->type) {
    case WR_MUD_QUIT:
        if (c != NULL)
            wr__mud_quit(m, ctx, c);
        return R_CLOSE;
    case WR_MUD_DISCONNECT:
        if (c != NULL)
            wr__mud_go_linkdead(ctx, c);
        return R_KEEP;
    case WR_MUD_PRESENT:
        if (c != NULL && c->state == WR_MUD_LINKDEAD) {
            c->state = WR_MUD_ONLINE;
            c->linkdead_since = 0;
            wr__mud_link_event(ctx, c, "back");
        }
        return R_KEEP;
    default:
        break;
    }
    if (m->model == NULL) {
        wr__mud_fail(ctx, cmd, "no_world", "The world is not loaded yet.");
        return R_KEEP;
    }
    if (c == NULL)
        return R_KEEP; /* taken over or gone: a node never sends this */
    if (c->state == WR_MUD_LINKDEAD) {
        /* It acts through its session: its client is there after all. */
        c->state = WR_MUD_ONLINE;
        c->linkdead_since = 0;
        wr__mud_link_event(ctx, c, "back");
    }
    switch (cmd->type) {
    case WR_MUD_MOVE:
        return wr__mud_apply_move(m, ctx, cmd, c, r);
    case WR_MUD_OPEN:
        return wr__mud_apply_door(m, ctx, cmd, c, r, true);
    case WR_MUD_CLOSE:
        return wr__mud_apply_door(m, ctx, cmd, c, r, false);
    case WR_MUD_GET:
        return wr__mud_apply_get(m, ctx, cmd, c, r);
    case WR_MUD_DROP:
        return wr__mud_apply_drop(m, ctx, cmd, c, r);
    case WR_MUD_GIVE:
        return wr__mud_apply_give(m, ctx, cmd, c, r);
    case WR_MUD_SAY:
    case WR_MUD_EMOTE:
    case WR_MUD_WHISPER:
    case WR_MUD_TELL:
    case WR_MUD_REPLY:
    case WR_MUD_CHAN:
        return wr__mud_apply_talk(m, ctx, cmd, c, r);
    case WR_MUD_CHANSET:
        return wr__mud_apply_chanset(m, ctx, cmd, c, r);
    default:
        return apply_area(m, ctx, cmd, c, r);
    }
}

static enum result apply_any(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                             const struct wr_cmd *cmd)
{
    struct wr_reader r;
    wr_reader_init(&r, cmd->payload, cmd->len);
    switch (cmd->type) {
    case WR_MUD_CREATE:
        return wr__mud_apply_create(m, ctx, cmd, &r);
    case WR_MUD_LOGIN:
        return wr__mud_apply_login(m, ctx, cmd, &r);
    case WR_MUD_RESUME:
        return wr__mud_apply_resume(m, ctx, cmd, &r);
    case WR_MUD_NODE_DOWN:
    case WR_MUD_EXPIRE:
    case WR_MUD_ZONE_PLACE:
    case WR_MUD_ZONE_TICK:
    case WR_MUD_WORLD_CHUNK:
        if (cmd->session != 0)
            return R_MALFORMED; /* node commands never come from a client */
        if (cmd->type == WR_MUD_WORLD_CHUNK)
            return wr__mud_apply_chunk(m, ctx, &r);
        if (cmd->type == WR_MUD_NODE_DOWN) {
            uint32_t node = wr_get_u32(&r);
            if (r.err)
                return R_MALFORMED;
            for (size_t i = 0; i < m->n_chars; i++)
                if (m->chars[i].node == node)
                    wr__mud_go_linkdead(ctx, &m->chars[i]);
            return R_KEEP;
        }
        if (cmd->type == WR_MUD_EXPIRE)
            return m->model ? wr__mud_apply_expire(m, ctx, &r) : R_KEEP;
        return wr__mud_apply_zone(m, ctx, cmd, &r);
    case WR_MUD_SET_ROLE:
        if (cmd->session != 0)
            return R_MALFORMED;
        return m->model ? wr__mud_apply_build(m, ctx, cmd, NULL, &r) : R_KEEP;
    default:
        if (cmd->session == 0)
            return R_MALFORMED;
        return apply_session_cmd(m, ctx, cmd, &r);
    }
}

static enum wr_session_op mud_apply(void *state, const struct wr_apply_ctx *ctx,
                                    const struct wr_cmd *cmd)
{
    enum result res = apply_any(state, ctx, cmd);
    return res == R_CLOSE ? WR_SESSION_CLOSE : res == R_MALFORMED ? WR_SESSION_MALFORMED : WR_SESSION_KEEP;
}

/* ---- registry --------------------------------------------------------- */

static void mud_registry(void *state, void (*cb)(void *arg, const struct wr_reg_entry *e),
                         void *arg)
{
    struct wr_mud *m = state;
    const struct wr_mud_model *mo = m->model;
    if (mo == NULL)
        return;
    struct wr_reg_entry e;
    /* Rooms per zone in one pass (not a pass per zone: 6 zones of 1600
     * rooms made this the most of a /api/cluster poll). */
    size_t *rooms = wr_calloc(mo->n_zones ? mo->n_zones : 1, sizeof *rooms);
    for (size_t r = 0; r < mo->n_rooms; r++)
        if (mo->rooms[r].zone < mo->n_zones)
            rooms[mo->rooms[r].zone]++;
    for (size_t z = 0; z < mo->n_zones; z++) {
        memset(&e, 0, sizeof e);
        snprintf(e.name, sizeof e.name, "zone/%s", mo->zones[z].key);
        e.kind = WR_REG_ZONE;
        e.node = m->zones[z].owner;
        e.epoch = m->zones[z].epoch;
        snprintf(e.info, sizeof e.info, "%zu rooms", rooms[z]);
        cb(arg, &e);
    }
    free(rooms);
    for (size_t i = 0; i < m->n_chars; i++) {
        const struct wr_mud_char *c = &m->chars[i];
        if (!wr__mud_in_world(c))
            continue;
        memset(&e, 0, sizeof e);
        snprintf(e.name, sizeof e.name, "char/%s", c->name);
        e.kind = WR_REG_PLAYER;
        e.node = c->node;
        snprintf(e.info, sizeof e.info, "%s", mo->rooms[c->room].key);
        cb(arg, &e);
    }
    for (size_t i = 0; i < m->n_npcs; i++) {
        const struct wr_mud_npc_inst *n = &m->npcs[i];
        memset(&e, 0, sizeof e);
        snprintf(e.name, sizeof e.name, "npc/%.40s#%u", mo->npcs[n->npc].key, n->id);
        e.kind = WR_REG_NPC;
        e.node = m->zones[wr__mud_room_zone(m, n->room)].owner;
        snprintf(e.info, sizeof e.info, "%s", mo->rooms[n->room].key);
        cb(arg, &e);
    }
}

const struct wr_module wr_mud_module = {
    .id = WR_MODULE_MUD,
    .name = "mud",
    .version = 2,
    .create = mud_create,
    .destroy = mud_destroy,
    .reset = mud_reset,
    .opens_session = mud_opens_session,
    .apply = mud_apply,
    .snapshot = wr__mud_snapshot,
    .restore = wr__mud_restore,
    .node_restarted = wr__mud_node_restarted,
    .registry = mud_registry,
};

/* ---- queries ---------------------------------------------------------- */

const struct wr_mud_model *wr_mud_model(const struct wr_mud *m)
{
    return m->model;
}

const struct wr_mud_char *wr_mud_char_by_id(const struct wr_mud *m, uint32_t id)
{
    return id >= 1 && id <= m->n_chars ? &m->chars[id - 1] : NULL;
}

const struct wr_mud_char *wr_mud_char_by_name(const struct wr_mud *m, const char *name)
{
    return wr__mud_char_by_name(m, name);
}

const struct wr_mud_char *wr_mud_char_by_session(const struct wr_mud *m, uint64_t session)
{
    return wr__mud_char_by_session(m, session);
}

const struct wr_mud_char *wr_mud_char_by_token(const struct wr_mud *m, const uint8_t hash[16])
{
    if (hash == NULL || zero16(hash))
        return NULL;
    for (size_t i = 0; i < m->n_chars; i++)
        if (wr__mud_in_world(&m->chars[i]) && memcmp(m->chars[i].token_hash, hash, 16) == 0)
            return &m->chars[i];
    return NULL;
}

size_t wr_mud_char_count(const struct wr_mud *m)
{
    return m->n_chars;
}

const struct wr_mud_char *wr_mud_char_at(const struct wr_mud *m, size_t i)
{
    return i < m->n_chars ? &m->chars[i] : NULL;
}

size_t wr_mud_npc_count(const struct wr_mud *m)
{
    return m->n_npcs;
}

const struct wr_mud_npc_inst *wr_mud_npc_at(const struct wr_mud *m, size_t i)
{
    return i < m->n_npcs ? &m->npcs[i] : NULL;
}

size_t wr_mud_item_count(const struct wr_mud *m)
{
    return m->n_items;
}

const struct wr_mud_item_inst *wr_mud_item_at(const struct wr_mud *m, size_t i)
{
    return i < m->n_items ? &m->items[i] : NULL;
}

bool wr_mud_door_closed(const struct wr_mud *m, uint32_t room, enum wr_mud_dir d)
{
    if (m->model == NULL || room >= m->model->n_rooms || (unsigned)d >= WR_MUD_NDIRS)
        return false;
    return wr__mud_door_closed(m, room, (int)d);
}

const struct wr_mud_zone_state *wr_mud_zone_state(const struct wr_mud *m, uint32_t zone)
{
    if (m->model == NULL || zone >= m->model->n_zones)
        return NULL;
    return &m->zones[zone];
}

void wr_mud_channel_history(const struct wr_mud *m, uint32_t ch,
                            void (*cb)(void *arg, const char *who, const char *text),
                            void *arg)
{
    if (m->model == NULL || ch >= m->model->n_channels)
        return;
    const struct chan_ring *ring = &m->chans[ch];
    for (uint32_t i = 0; i < ring->count; i++)
        cb(arg, wr__mud_ring_at(ring, i)->who, wr__mud_ring_at(ring, i)->text);
}

/* ---- encoders --------------------------------------------------------- */

void wr__mud_put_text(struct wr_writer *w, const char *s)
{
    size_t n = strlen(s);
    if (n > UINT16_MAX)
        n = UINT16_MAX;
    wr_put_u16(w, (uint16_t)n);
    wr_put_bytes(w, s, n);
}

void wr_mud_encode_create(struct wr_writer *out, const char *name, const char *pw_hash,
                          const uint8_t token_hash[16], uint64_t incarnation)
{
    wr_put_str(out, name);
    wr_put_str(out, pw_hash);
    wr_put_bytes(out, token_hash, 16);
    wr_put_u64(out, incarnation);
}

void wr_mud_encode_login(struct wr_writer *out, const char *name, const uint8_t token_hash[16],
                         uint64_t incarnation)
{
    wr_put_str(out, name);
    wr_put_bytes(out, token_hash, 16);
    wr_put_u64(out, incarnation);
}

void wr_mud_encode_resume(struct wr_writer *out, const uint8_t token_hash[16],
                          uint64_t incarnation)
{
    wr_put_bytes(out, token_hash, 16);
    wr_put_u64(out, incarnation);
}

void wr_mud_encode_dir(struct wr_writer *out, enum wr_mud_dir d)
{
    wr_put_u8(out, (uint8_t)d);
}

void wr_mud_encode_str(struct wr_writer *out, const char *s)
{
    wr_put_str(out, s);
}

void wr_mud_encode_text(struct wr_writer *out, const char *s)
{
    wr__mud_put_text(out, s);
}

void wr_mud_encode_u32(struct wr_writer *out, uint32_t v)
{
    wr_put_u32(out, v);
}

void wr_mud_encode_zone_place(struct wr_writer *out, const char *zone, uint32_t node,
                              uint64_t prev_epoch)
{
    wr_put_str(out, zone);
    wr_put_u32(out, node);
    wr_put_u64(out, prev_epoch);
}

void wr_mud_encode_zone_tick(struct wr_writer *out, const char *zone, uint64_t epoch)
{
    wr_put_str(out, zone);
    wr_put_u64(out, epoch);
}

void wr_mud_encode_expire(struct wr_writer *out, uint32_t char_id, uint64_t since)
{
    wr_put_u32(out, char_id);
    wr_put_u64(out, since);
}

void wr_mud_encode_chunk(struct wr_writer *out, const uint8_t hash[16], uint32_t total,
                         uint32_t offset, const void *bytes, uint16_t len)
{
    wr_put_bytes(out, hash, 16);
    wr_put_u32(out, total);
    wr_put_u32(out, offset);
    wr_put_u16(out, len);
    wr_put_bytes(out, bytes, len);
}

size_t wr_mud_mail_count(const struct wr_mud *m)
{
    return m->n_mail;
}

const struct wr_mud_mail *wr_mud_mail_at(const struct wr_mud *m, size_t i)
{
    return i < m->n_mail ? &m->mail[i] : NULL;
}

const uint8_t *wr_mud_world_hash(const struct wr_mud *m)
{
    return m->world_hash;
}

int32_t wr_mud_char_stat(const struct wr_mud *m, const struct wr_mud_char *c,
                         enum wr_mud_stat s, uint64_t now)
{
    return wr__mud_stat(m, WR_MUD_ACTOR_CHAR, c->id, s, now);
}

int32_t wr_mud_char_max(const struct wr_mud *m, const struct wr_mud_char *c,
                        enum wr_mud_pool p, uint64_t now)
{
    return wr__mud_max(m, WR_MUD_ACTOR_CHAR, c->id, p, now);
}

int32_t wr_mud_char_armour(const struct wr_mud *m, const struct wr_mud_char *c,
                           enum wr_mud_dtype t, uint64_t now)
{
    return wr__mud_armour(m, WR_MUD_ACTOR_CHAR, c->id, t, now);
}
