/* The MUD module: characters, NPCs, items, doors, channels and zone timers
 * as a pure state machine over the world model; see mud.h.
 *
 * State and its invariants (checked by mud_check in debug builds):
 * - model == NULL until the first WORLD_CHUNK bundle is installed; then
 *   bundle holds the exact bytes it was parsed from (the snapshot carries
 *   them, restore re-parses them), and doors, zones, item_sp, npc_sp and
 *   chans have one element per exit*dir, zone, spawner and channel of it.
 * - chars[i].id == i + 1: characters are never deleted, so the array is in
 *   id order. by_session maps the session of every character that is not
 *   OFFLINE to its index, and nothing else. An OFFLINE character has
 *   session 0, node 0 and a zero token hash.
 * - npcs, items and reacts are sorted by id (ids only grow, so appending
 *   keeps the order; removal shifts). Every array iteration therefore has
 *   one order on every node; the only hash map (by_session) is used for
 *   look-ups, never iterated.
 * - A spawner whose instance exists has inst == its id and due == NEVER; a
 *   spawner without one has inst == 0 and due == when it spawns again. An
 *   item instance is tied to its spawner (spawner != NONE) only while it
 *   lies untouched where it spawned: picking it up unties it and starts the
 *   spawner's timer.
 * - Every NPC instance has a valid spawner (instances without one are
 *   dropped on reload), next_act_at == NEVER iff its NPC has no timers.
 *
 * Zone timers. A ZONE_TICK of the current (owner, epoch) collects what is
 * due in its zone at the log time, sorts it by (due, kind, id) and runs it;
 * everything run is rescheduled strictly after now, so a repeated tick does
 * nothing. Randomness: the tick's ctx->seed, mixed with the position of
 * each action in that order. */
#include "mud/mud.h"

#include <assert.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/u64map.h"
#include "mud/worldfile.h"

#define NONE UINT32_MAX
#define NEVER UINT64_MAX
#define SNAPSHOT_VERSION 1

/* What a command handler reports: an effect on the session, or that the
 * payload could not be decoded. */
enum result { R_KEEP = 0, R_CLOSE = 1, R_MALFORMED = 2 };

/* Kinds of due work in a zone, in the order they run at equal times. */
enum due_kind { DUE_NPC_TIMER = 0, DUE_REACTION = 1, DUE_NPC_SPAWN = 2, DUE_ITEM_SPAWN = 3 };

struct spawn_state {
    uint32_t inst; /* instance id, or 0 while missing */
    uint64_t due;  /* when it spawns again; NEVER while inst != 0 */
};

struct chan_line {
    char who[WR_MUD_NAME_MAX + 1];
    char *text;
};

/* The last @cap lines of a channel: lines[(head + i) % cap], i < count,
 * oldest first. */
struct chan_ring {
    struct chan_line *lines;
    uint32_t cap, head, count;
};

/* A delayed NPC reaction (greet, answer): say or emote @text. */
struct reaction {
    uint32_t id;
    uint32_t npc_inst;
    uint64_t due;
    uint8_t kind; /* WR_ACT_SAY or WR_ACT_EMOTE */
    char *text;   /* "{name}" already replaced */
};

struct wr_mud {
    struct wr_mud_model *model;
    uint8_t *bundle;
    size_t bundle_len;

    struct wr_mud_char *chars;
    size_t n_chars, cap_chars;
    struct wr_u64map by_session;

    struct wr_mud_npc_inst *npcs;
    size_t n_npcs, cap_npcs;
    struct wr_mud_item_inst *items;
    size_t n_items, cap_items;
    struct reaction *reacts;
    size_t n_reacts, cap_reacts;
    uint32_t next_npc_id, next_item_id, next_react_id;

    uint8_t *doors; /* [room * WR_MUD_NDIRS + dir]: 1 = closed */
    struct wr_mud_zone_state *zones;
    struct spawn_state *item_sp;
    struct spawn_state *npc_sp;
    struct chan_ring *chans;

    /* WORLD_CHUNK assembly: up_total == 0 when none is under way. */
    uint8_t up_hash[16];
    uint32_t up_total, up_got;
    uint8_t *up_buf;
};

#define GROW(arr, n, cap)                                                  \
    do {                                                                   \
        if ((n) == (cap)) {                                                \
            (cap) = (cap) ? (cap)*2 : 16;                                  \
            (arr) = wr_realloc((arr), (cap) * sizeof *(arr));              \
        }                                                                  \
    } while (0)

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

static char ascii_upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Does @s start with @prefix (ASCII case-insensitively)? An empty prefix
 * matches nothing. */
static bool prefix_ci(const char *s, const char *prefix)
{
    if (*prefix == '\0')
        return false;
    for (; *prefix; s++, prefix++)
        if (*s == '\0' || ascii_lower(*s) != ascii_lower(*prefix))
            return false;
    return true;
}

/* Does one of the space-separated words of @words start with @kw? */
static bool words_match(const char *words, const char *kw)
{
    size_t kn = strlen(kw);
    if (words == NULL || kn == 0)
        return false;
    const char *p = words;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - start) >= kn && strncasecmp(start, kw, kn) == 0)
            return true;
    }
    return false;
}

/* Case-insensitive substring search (ASCII). */
static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return false;
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

/* Is [s, s+n) valid UTF-8 without control characters? */
static bool text_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t k;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= k) /* cut short */
            return false;
        for (size_t j = 1; j <= k; j++) {
            unsigned cc = s[i + j];
            if ((cc & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        if (cp >= 0x80 && cp < 0xa0) /* C1 controls */
            return false;
        i += k + 1;
    }
    return true;
}

/* Decode a text (u16 length + bytes) into @out, trimmed of spaces.
 * Returns 0, -1 if the payload is cut short (malformed), or -2 if the text
 * is empty, too long or not valid UTF-8 (a refusal, not a bad payload). */
static int get_text(struct wr_reader *r, char out[WR_MUD_TEXT_MAX + 1])
{
    uint16_t n = wr_get_u16(r);
    const uint8_t *p = wr_get_bytes(r, n);
    if (p == NULL)
        return -1;
    while (n > 0 && *p == ' ') {
        p++;
        n--;
    }
    while (n > 0 && p[n - 1] == ' ')
        n--;
    if (n == 0 || n > WR_MUD_TEXT_MAX || !text_ok(p, n))
        return -2;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* @text with every "{name}" replaced by @name; the caller frees it. */
static char *subst_name(const char *text, const char *name)
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

static void hex16(const uint8_t h[16], char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[32] = '\0';
}

static bool zero16(const uint8_t h[16])
{
    for (int i = 0; i < 16; i++)
        if (h[i] != 0)
            return false;
    return true;
}

/* Index of @id in an array of structs sorted by a leading u32 id, or -1. */
static long find_by_id(const void *arr, size_t n, size_t size, uint32_t id)
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

static uint64_t rand_below(uint64_t *rng, uint64_t n)
{
    return n == 0 ? 0 : wr_mix64(rng) % n;
}

/* ---- lookups ---------------------------------------------------------- */

static struct wr_mud_char *char_by_id(struct wr_mud *m, uint32_t id)
{
    return id >= 1 && id <= m->n_chars ? &m->chars[id - 1] : NULL;
}

static struct wr_mud_char *char_by_session(const struct wr_mud *m, uint64_t session)
{
    uint32_t i;
    if (session == 0 || !wr_u64map_get(&m->by_session, session, &i))
        return NULL;
    return &m->chars[i];
}

static struct wr_mud_char *char_by_name(const struct wr_mud *m, const char *name)
{
    for (size_t i = 0; i < m->n_chars; i++)
        if (strcasecmp(m->chars[i].name, name) == 0)
            return &m->chars[i];
    return NULL;
}

static bool in_world(const struct wr_mud_char *c)
{
    return c->state != WR_MUD_OFFLINE;
}

/* A character in the world whose name is @name or starts with it: an exact
 * match first, else the first by id; @room restricts it to one room
 * (WR_MUD_NO_ROOM: anywhere); @except is never returned. */
static struct wr_mud_char *find_player(struct wr_mud *m, const char *name, uint32_t room,
                                       const struct wr_mud_char *except)
{
    struct wr_mud_char *pre = NULL;
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *c = &m->chars[i];
        if (c == except || !in_world(c) || (room != WR_MUD_NO_ROOM && c->room != room))
            continue;
        if (strcasecmp(c->name, name) == 0)
            return c;
        if (pre == NULL && prefix_ci(c->name, name))
            pre = c;
    }
    return pre;
}

static struct wr_mud_npc_inst *npc_by_id(struct wr_mud *m, uint32_t id)
{
    long i = find_by_id(m->npcs, m->n_npcs, sizeof *m->npcs, id);
    return i < 0 ? NULL : &m->npcs[i];
}

static uint32_t room_zone(const struct wr_mud *m, uint32_t room)
{
    return m->model->rooms[room].zone;
}

static bool door_closed(const struct wr_mud *m, uint32_t room, int d)
{
    return m->doors[(size_t)room * WR_MUD_NDIRS + (size_t)d] != 0;
}

/* ---- events ----------------------------------------------------------- */

static void emit(const struct wr_apply_ctx *ctx, uint8_t type, uint8_t audience, uint32_t node,
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

static void to_room(const struct wr_apply_ctx *ctx, uint8_t type, const struct wr_mud_event *e)
{
    emit(ctx, type, WR_AUD_ROOM, 0, 0, e->room, e);
}

static void to_char(const struct wr_apply_ctx *ctx, uint8_t type, const struct wr_mud_char *c,
                    const struct wr_mud_event *e)
{
    emit(ctx, type, WR_AUD_SESSION, c->node, c->session, 0, e);
}

static void to_cmd(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd, uint8_t type,
                   const struct wr_mud_event *e)
{
    emit(ctx, type, WR_AUD_SESSION, cmd->node, cmd->session, 0, e);
}

static struct wr_mud_event ev_char(const struct wr_mud_char *c)
{
    return (struct wr_mud_event){
        .actor_kind = WR_MUD_ACTOR_CHAR,
        .actor_id = c->id,
        .actor_name = c->name,
        .room = in_world(c) ? c->room : WR_MUD_NO_ROOM,
        .dir = -1,
    };
}

static struct wr_mud_event ev_npc(const struct wr_mud *m, const struct wr_mud_npc_inst *n)
{
    return (struct wr_mud_event){
        .actor_kind = WR_MUD_ACTOR_NPC,
        .actor_id = n->id,
        .actor_name = m->model->npcs[n->npc].name,
        .room = n->room,
        .dir = -1,
    };
}

static void link_event(const struct wr_apply_ctx *ctx, const struct wr_mud_char *c,
                       const char *code)
{
    struct wr_mud_event e = ev_char(c);
    e.code = code;
    to_room(ctx, WR_MUD_EV_LINK, &e);
}

static void fail(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd, const char *code,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Tell the command's session why its action failed. */
static void fail(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd, const char *code,
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

static enum result refuse(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd,
                          const char *code, const char *text)
{
    struct wr_mud_event e = {.room = WR_MUD_NO_ROOM, .dir = -1, .code = code, .text = text};
    to_cmd(ctx, cmd, WR_MUD_EV_REFUSED, &e);
    return R_CLOSE;
}

/* ---- lifecycle -------------------------------------------------------- */

static void chans_free(struct chan_ring *chans, size_t n)
{
    for (size_t i = 0; chans != NULL && i < n; i++) {
        for (uint32_t j = 0; j < chans[i].cap; j++)
            free(chans[i].lines[j].text);
        free(chans[i].lines);
    }
    free(chans);
}

static void upload_clear(struct wr_mud *m)
{
    free(m->up_buf);
    m->up_buf = NULL;
    m->up_total = m->up_got = 0;
    memset(m->up_hash, 0, sizeof m->up_hash);
}

/* Back to the empty state (no world, no characters). */
static void mud_clear(struct wr_mud *m)
{
    if (m->model != NULL)
        chans_free(m->chans, m->model->n_channels);
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
    upload_clear(m);
}

static void *mud_create(void)
{
    struct wr_mud *m = wr_calloc(1, sizeof *m);
    wr_u64map_init(&m->by_session);
    m->next_npc_id = m->next_item_id = m->next_react_id = 1;
    return m;
}

static void mud_reset(void *state)
{
    mud_clear(state);
}

static void mud_destroy(void *state)
{
    struct wr_mud *m = state;
    mud_clear(m);
    free(m->chars);
    free(m->npcs);
    free(m->items);
    free(m->reacts);
    wr_u64map_free(&m->by_session);
    free(m);
}

static bool mud_opens_session(uint8_t type)
{
    return type == WR_MUD_CREATE || type == WR_MUD_LOGIN || type == WR_MUD_RESUME;
}

static void mud_check(const struct wr_mud *m)
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
    }
    for (size_t i = 0; i < m->n_reacts; i++)
        assert(i == 0 || m->reacts[i - 1].id < m->reacts[i].id);
#else
    (void)m;
#endif
}

/* ---- scheduling and spawning ------------------------------------------ */

/* Pick the NPC's next timer action time after @now: the earliest of its
 * timer rules' min + random(0..random) draws (at least 1 ms ahead, so a
 * repeated tick finds nothing due); NEVER without timers. */
static void npc_schedule(struct wr_mud *m, struct wr_mud_npc_inst *n, uint64_t now,
                         uint64_t *rng)
{
    const struct wr_mud_npc *def = &m->model->npcs[n->npc];
    n->next_act_at = NEVER;
    n->timer = 0;
    for (size_t t = 0; t < def->n_timers; t++) {
        const struct wr_mud_timer_rule *tr = &def->timers[t];
        uint64_t d = tr->min_delay_ms + rand_below(rng, (uint64_t)tr->random_delay_ms + 1);
        if (d == 0)
            d = 1;
        if (now + d < n->next_act_at) {
            n->next_act_at = now + d;
            n->timer = (uint32_t)t;
        }
    }
}

static void spawn_npc(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t s,
                      uint64_t *rng)
{
    const struct wr_mud_npc_spawner *sp = &m->model->npc_spawners[s];
    GROW(m->npcs, m->n_npcs, m->cap_npcs);
    struct wr_mud_npc_inst *n = &m->npcs[m->n_npcs++];
    memset(n, 0, sizeof *n);
    n->id = m->next_npc_id++;
    n->npc = sp->npc;
    n->spawner = s;
    n->room = sp->room;
    npc_schedule(m, n, ctx->now_ms, rng);
    m->npc_sp[s].inst = n->id;
    m->npc_sp[s].due = NEVER;
    struct wr_mud_event e = ev_npc(m, n);
    to_room(ctx, WR_MUD_EV_SPAWN, &e);
}

static void spawn_item(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t s)
{
    const struct wr_mud_item_spawner *sp = &m->model->item_spawners[s];
    GROW(m->items, m->n_items, m->cap_items);
    struct wr_mud_item_inst *it = &m->items[m->n_items++];
    memset(it, 0, sizeof *it);
    it->id = m->next_item_id++;
    it->item = sp->item;
    it->loc = WR_MUD_IN_ROOM;
    it->where = sp->room;
    it->spawner = s;
    m->item_sp[s].inst = it->id;
    m->item_sp[s].due = NEVER;
    struct wr_mud_event e = {.room = sp->room, .dir = -1, .item = m->model->items[sp->item].name};
    to_room(ctx, WR_MUD_EV_SPAWN, &e);
}

/* An item instance leaves the place it spawned: its spawner starts the
 * respawn timer. */
static void untie_item(struct wr_mud *m, struct wr_mud_item_inst *it, uint64_t now)
{
    if (it->spawner == NONE)
        return;
    struct spawn_state *st = &m->item_sp[it->spawner];
    if (st->inst == it->id) {
        st->inst = 0;
        st->due = now + m->model->item_spawners[it->spawner].interval_ms;
    }
    it->spawner = NONE;
}

static void add_reaction(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                         const struct wr_mud_npc_inst *n, const struct wr_mud_action *a,
                         uint32_t delay_ms, const char *who)
{
    if (a->kind == WR_ACT_MOVE || a->text == NULL)
        return; /* reactions say or emote */
    GROW(m->reacts, m->n_reacts, m->cap_reacts);
    struct reaction *re = &m->reacts[m->n_reacts++];
    re->id = m->next_react_id++;
    re->npc_inst = n->id;
    re->due = ctx->now_ms + delay_ms;
    re->kind = (uint8_t)a->kind;
    re->text = subst_name(a->text, who);
}

/* Player @c entered its room: the NPCs there schedule their greetings. */
static void greet(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct wr_mud_char *c)
{
    for (size_t i = 0; i < m->n_npcs; i++) {
        const struct wr_mud_npc_inst *n = &m->npcs[i];
        if (n->room != c->room)
            continue;
        const struct wr_mud_npc *def = &m->model->npcs[n->npc];
        for (size_t g = 0; g < def->n_greets; g++)
            add_reaction(m, ctx, n, &def->greets[g].action, def->greets[g].delay_ms, c->name);
    }
}

/* Player @c said @text: the NPCs in the room with a matching hear rule
 * (the first that matches, per NPC) schedule their answers. */
static void hear(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct wr_mud_char *c,
                 const char *text)
{
    for (size_t i = 0; i < m->n_npcs; i++) {
        const struct wr_mud_npc_inst *n = &m->npcs[i];
        if (n->room != c->room)
            continue;
        const struct wr_mud_npc *def = &m->model->npcs[n->npc];
        for (size_t h = 0; h < def->n_hears; h++) {
            const struct wr_mud_hear_rule *hr = &def->hears[h];
            if (hr->pattern != NULL && contains_ci(text, hr->pattern)) {
                add_reaction(m, ctx, n, &hr->action, hr->delay_ms, c->name);
                break;
            }
        }
    }
}

/* ---- installing a world ----------------------------------------------- */

/* Key -> index tables, sorted by key, for remapping on reload. */
struct kv {
    const char *key;
    uint32_t idx;
};

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

static uint32_t kv_find(const struct kv *t, size_t n, const char *key)
{
    struct kv probe = {.key = key};
    const struct kv *f = n ? bsearch(&probe, t, n, sizeof *t, kv_cmp) : NULL;
    return f ? f->idx : NONE;
}

#define KV_BUILD(t, arr, n)                                                \
    do {                                                                   \
        (t) = wr_malloc(((n) ? (n) : 1) * sizeof *(t));                    \
        for (size_t k_ = 0; k_ < (n); k_++)                                \
            (t)[k_] = (struct kv){.key = (arr)[k_].key, .idx = (uint32_t)k_}; \
        if ((n) > 0)                                                       \
            qsort((t), (n), sizeof *(t), kv_cmp);                          \
    } while (0)

/* old index -> new index of the same key, NONE if gone. */
#define KV_MAP(map, oarr, on, t, nn)                                       \
    do {                                                                   \
        (map) = wr_malloc(((on) ? (on) : 1) * sizeof *(map));              \
        for (size_t k_ = 0; k_ < (on); k_++)                               \
            (map)[k_] = kv_find((t), (nn), (oarr)[k_].key);                \
    } while (0)

/* Spawners are identified by what they spawn and where: old spawner ->
 * the first unclaimed new one with the same (thing, room), or NONE. */
static uint32_t *map_spawners(size_t on, const uint32_t *othing, const uint32_t *oroom,
                              size_t nn, const uint32_t *nthing, const uint32_t *nroom)
{
    uint32_t *map = wr_malloc((on ? on : 1) * sizeof *map);
    bool *claimed = wr_calloc(nn ? nn : 1, sizeof *claimed);
    for (size_t i = 0; i < on; i++) {
        map[i] = NONE;
        if (othing[i] == NONE || oroom[i] == NONE)
            continue;
        for (size_t j = 0; j < nn; j++) {
            if (!claimed[j] && nthing[j] == othing[i] && nroom[j] == oroom[i]) {
                claimed[j] = true;
                map[i] = (uint32_t)j;
                break;
            }
        }
    }
    free(claimed);
    return map;
}

static uint32_t default_channels_off(const struct wr_mud_model *mo)
{
    uint32_t off = 0;
    for (size_t i = 0; i < mo->n_channels && i < WR_MUD_MAX_CHANNELS; i++)
        if (!mo->channels[i].on_by_default)
            off |= 1u << i;
    return off;
}

static void ring_init(struct chan_ring *r, uint32_t cap)
{
    r->cap = cap;
    r->head = r->count = 0;
    r->lines = cap ? wr_calloc(cap, sizeof *r->lines) : NULL;
}

static void ring_push(struct chan_ring *r, const char *who, const char *text)
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

static const struct chan_line *ring_at(const struct chan_ring *r, uint32_t i)
{
    return &r->lines[(r->head + i) % r->cap];
}

/* Replace the world by @nm (parsed from @bundle, whose ownership moves
 * here): remap everything that exists in both by key, drop the rest, start
 * the new spawners. See mud.h, WORLD_CHUNK. */
static void install_world(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                          struct wr_mud_model *nm, uint8_t *bundle, size_t len)
{
    struct wr_mud_model *om = m->model;
    size_t o_rooms = om ? om->n_rooms : 0, o_items = om ? om->n_items : 0;
    size_t o_npcs = om ? om->n_npcs : 0, o_zones = om ? om->n_zones : 0;
    size_t o_chans = om ? om->n_channels : 0;
    size_t o_isp = om ? om->n_item_spawners : 0, o_nsp = om ? om->n_npc_spawners : 0;
    struct wr_mud_room *no_rooms = NULL;
    struct wr_mud_item *no_items = NULL;
    struct wr_mud_npc *no_npcs = NULL;
    struct wr_mud_zone *no_zones = NULL;
    struct wr_mud_channel *no_chans = NULL;

    struct kv *t;
    uint32_t *room_map, *item_map, *npc_map, *zone_map, *chan_map;
    KV_BUILD(t, nm->rooms, nm->n_rooms);
    KV_MAP(room_map, om ? om->rooms : no_rooms, o_rooms, t, nm->n_rooms);
    free(t);
    KV_BUILD(t, nm->items, nm->n_items);
    KV_MAP(item_map, om ? om->items : no_items, o_items, t, nm->n_items);
    free(t);
    KV_BUILD(t, nm->npcs, nm->n_npcs);
    KV_MAP(npc_map, om ? om->npcs : no_npcs, o_npcs, t, nm->n_npcs);
    free(t);
    KV_BUILD(t, nm->zones, nm->n_zones);
    KV_MAP(zone_map, om ? om->zones : no_zones, o_zones, t, nm->n_zones);
    free(t);
    KV_BUILD(t, nm->channels, nm->n_channels);
    KV_MAP(chan_map, om ? om->channels : no_chans, o_chans, t, nm->n_channels);
    free(t);

    /* Spawner identity: (what, where) translated into the new indexes. */
    uint32_t *a = wr_malloc((o_isp + o_nsp + 1) * sizeof *a);
    uint32_t *b = wr_malloc((o_isp + o_nsp + 1) * sizeof *b);
    uint32_t *c = wr_malloc((nm->n_item_spawners + nm->n_npc_spawners + 1) * sizeof *c);
    uint32_t *d = wr_malloc((nm->n_item_spawners + nm->n_npc_spawners + 1) * sizeof *d);
    for (size_t i = 0; i < o_isp; i++) {
        a[i] = item_map[om->item_spawners[i].item];
        b[i] = room_map[om->item_spawners[i].room];
    }
    for (size_t i = 0; i < nm->n_item_spawners; i++) {
        c[i] = nm->item_spawners[i].item;
        d[i] = nm->item_spawners[i].room;
    }
    uint32_t *isp_map = map_spawners(o_isp, a, b, nm->n_item_spawners, c, d);
    for (size_t i = 0; i < o_nsp; i++) {
        a[i] = npc_map[om->npc_spawners[i].npc];
        b[i] = room_map[om->npc_spawners[i].room];
    }
    for (size_t i = 0; i < nm->n_npc_spawners; i++) {
        c[i] = nm->npc_spawners[i].npc;
        d[i] = nm->npc_spawners[i].room;
    }
    uint32_t *nsp_map = map_spawners(o_nsp, a, b, nm->n_npc_spawners, c, d);
    free(a);
    free(b);
    free(c);
    free(d);

    /* Characters: same room by key, else the start room; channel switches
     * by channel key, new channels at their default. */
    uint32_t def_off = default_channels_off(nm);
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *ch = &m->chars[i];
        uint32_t r = ch->room < o_rooms ? room_map[ch->room] : NONE;
        ch->room = r != NONE ? r : nm->start_room;
        uint32_t off = def_off;
        for (size_t oc = 0; oc < o_chans && oc < WR_MUD_MAX_CHANNELS; oc++) {
            uint32_t nc = chan_map[oc];
            if (nc == NONE || nc >= WR_MUD_MAX_CHANNELS)
                continue;
            off = (off & ~(1u << nc)) | (((ch->channels_off >> oc) & 1u) << nc);
        }
        ch->channels_off = off;
    }

    /* Items: kept if their kind and place still exist. */
    size_t keep = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        struct wr_mud_item_inst it = m->items[i];
        uint32_t ni = item_map[it.item];
        uint32_t where = it.loc == WR_MUD_CARRIED ? it.where : room_map[it.where];
        if (ni == NONE || where == NONE)
            continue;
        it.item = ni;
        it.where = where;
        it.spawner = it.spawner != NONE ? isp_map[it.spawner] : NONE;
        m->items[keep++] = it;
    }
    m->n_items = keep;

    /* NPCs: kept if their kind, room and spawner still exist. */
    uint64_t rng = ctx->seed ^ 0x6d75642e776f726cull; /* "mud.worl" */
    keep = 0;
    for (size_t i = 0; i < m->n_npcs; i++) {
        struct wr_mud_npc_inst n = m->npcs[i];
        uint32_t nn = npc_map[n.npc], nr = room_map[n.room], ns = nsp_map[n.spawner];
        if (nn == NONE || nr == NONE || ns == NONE)
            continue;
        n.npc = nn;
        n.room = nr;
        n.spawner = ns;
        m->npcs[keep++] = n;
    }
    m->n_npcs = keep;
    keep = 0;
    for (size_t i = 0; i < m->n_reacts; i++) {
        if (npc_by_id(m, m->reacts[i].npc_inst) != NULL)
            m->reacts[keep++] = m->reacts[i];
        else
            free(m->reacts[i].text);
    }
    m->n_reacts = keep;

    /* Doors: as they are where the same exit had a door, else initial. */
    uint8_t *doors = wr_calloc(nm->n_rooms * WR_MUD_NDIRS + 1, 1);
    for (size_t r = 0; r < nm->n_rooms; r++)
        for (int dd = 0; dd < WR_MUD_NDIRS; dd++)
            doors[r * WR_MUD_NDIRS + (size_t)dd] =
                nm->rooms[r].exits[dd].door && nm->rooms[r].exits[dd].closed;
    for (size_t r = 0; r < o_rooms; r++) {
        uint32_t nr = room_map[r];
        if (nr == NONE)
            continue;
        for (int dd = 0; dd < WR_MUD_NDIRS; dd++)
            if (om->rooms[r].exits[dd].door && nm->rooms[nr].exits[dd].door)
                doors[(size_t)nr * WR_MUD_NDIRS + (size_t)dd] =
                    m->doors[r * WR_MUD_NDIRS + (size_t)dd];
    }

    /* Zones keep their owner and epoch by key. */
    struct wr_mud_zone_state *zones = wr_calloc(nm->n_zones + 1, sizeof *zones);
    for (size_t z = 0; z < o_zones; z++)
        if (zone_map[z] != NONE)
            zones[zone_map[z]] = m->zones[z];

    /* Channel history by key; a smaller history keeps the newest lines. */
    struct chan_ring *chans = wr_calloc(nm->n_channels + 1, sizeof *chans);
    for (size_t ch = 0; ch < nm->n_channels; ch++)
        ring_init(&chans[ch], nm->channels[ch].history);
    for (size_t ch = 0; ch < o_chans; ch++) {
        if (chan_map[ch] == NONE)
            continue;
        const struct chan_ring *or = &m->chans[ch];
        for (uint32_t i = 0; i < or->count; i++)
            ring_push(&chans[chan_map[ch]], ring_at(or, i)->who, ring_at(or, i)->text);
    }

    /* Spawners: those whose instance was kept hold it; the rest spawn now. */
    struct spawn_state *item_sp = wr_calloc(nm->n_item_spawners + 1, sizeof *item_sp);
    struct spawn_state *npc_sp = wr_calloc(nm->n_npc_spawners + 1, sizeof *npc_sp);
    for (size_t i = 0; i < m->n_items; i++)
        if (m->items[i].spawner != NONE) {
            item_sp[m->items[i].spawner].inst = m->items[i].id;
            item_sp[m->items[i].spawner].due = NEVER;
        }
    for (size_t i = 0; i < m->n_npcs; i++) {
        npc_sp[m->npcs[i].spawner].inst = m->npcs[i].id;
        npc_sp[m->npcs[i].spawner].due = NEVER;
    }

    free(room_map);
    free(item_map);
    free(npc_map);
    free(zone_map);
    free(chan_map);
    free(isp_map);
    free(nsp_map);
    if (om != NULL)
        chans_free(m->chans, om->n_channels);
    wr_mud_model_free(om);
    free(m->bundle);
    free(m->doors);
    free(m->zones);
    free(m->item_sp);
    free(m->npc_sp);
    m->model = nm;
    m->bundle = bundle;
    m->bundle_len = len;
    m->doors = doors;
    m->zones = zones;
    m->chans = chans;
    m->item_sp = item_sp;
    m->npc_sp = npc_sp;

    /* Kept NPCs act on the new definition's timers. */
    for (size_t i = 0; i < m->n_npcs; i++)
        npc_schedule(m, &m->npcs[i], ctx->now_ms, &rng);

    char hex[33];
    hex16(nm->hash, hex);
    struct wr_mud_event e = {.room = WR_MUD_NO_ROOM, .dir = -1, .code = "loaded", .text = hex};
    emit(ctx, WR_MUD_EV_WORLD, WR_AUD_ALL, 0, 0, 0, &e);
    for (uint32_t s = 0; s < nm->n_npc_spawners; s++)
        if (npc_sp[s].inst == 0)
            spawn_npc(m, ctx, s, &rng);
    for (uint32_t s = 0; s < nm->n_item_spawners; s++)
        if (item_sp[s].inst == 0)
            spawn_item(m, ctx, s);
    mud_check(m);
}

static enum result apply_chunk(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               struct wr_reader *r)
{
    const uint8_t *hash = wr_get_bytes(r, 16);
    uint32_t total = wr_get_u32(r), offset = wr_get_u32(r);
    uint16_t len = wr_get_u16(r);
    const uint8_t *bytes = wr_get_bytes(r, len);
    if (r->err || len > WR_MUD_CHUNK_MAX || total == 0 || total > WR_MUD_BUNDLE_MAX ||
        offset > total || len > total - offset)
        return R_MALFORMED;
    if (offset == 0 || m->up_total != total || memcmp(m->up_hash, hash, 16) != 0) {
        /* A new bundle (or a chunk of another one): start over. */
        upload_clear(m);
        if (offset != 0)
            return R_KEEP; /* its beginning is missing: ignore it */
        memcpy(m->up_hash, hash, 16);
        m->up_total = total;
        m->up_buf = wr_malloc(total);
    }
    if (offset != m->up_got)
        return R_KEEP; /* out of order: a retried chunk, or a gap */
    memcpy(m->up_buf + offset, bytes, len);
    m->up_got += len;
    if (m->up_got < m->up_total)
        return R_KEEP;

    uint8_t h[16];
    char err[256] = "";
    struct wr_mud_model *nm = NULL;
    crypto_generichash(h, sizeof h, m->up_buf, m->up_total, NULL, 0);
    if (memcmp(h, m->up_hash, 16) != 0)
        snprintf(err, sizeof err, "the bundle's hash does not match");
    else if (wr_mud_model_parse(m->up_buf, m->up_total, &nm, err, sizeof err) != 0)
        nm = NULL;
    if (nm == NULL) {
        upload_clear(m);
        struct wr_mud_event e = {.room = WR_MUD_NO_ROOM, .dir = -1, .code = "bad", .text = err};
        emit(ctx, WR_MUD_EV_WORLD, WR_AUD_ALL, 0, 0, 0, &e);
        return R_KEEP;
    }
    uint8_t *bundle = m->up_buf;
    size_t blen = m->up_total;
    m->up_buf = NULL;
    upload_clear(m);
    install_world(m, ctx, nm, bundle, blen);
    return R_KEEP;
}

/* ---- characters ------------------------------------------------------- */

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
    struct wr_mud_event e = ev_char(c);
    to_char(ctx, WR_MUD_EV_TAKEN_OVER, c, &e);
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

static void go_linkdead(const struct wr_apply_ctx *ctx, struct wr_mud_char *c)
{
    if (c->state != WR_MUD_ONLINE)
        return;
    c->state = WR_MUD_LINKDEAD;
    c->linkdead_since = ctx->now_ms;
    link_event(ctx, c, "lost");
}

static void entered(const struct wr_apply_ctx *ctx, const struct wr_mud_char *c,
                    const char *code)
{
    struct wr_mud_event e = ev_char(c);
    e.code = code;
    to_char(ctx, WR_MUD_EV_ENTERED_GAME, c, &e);
}

static enum result apply_create(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_reader *r)
{
    char name[256], pw[256];
    if (wr_get_str(r, name, sizeof name) != 0 || wr_get_str(r, pw, sizeof pw) != 0)
        return R_MALFORMED;
    const uint8_t *token = wr_get_bytes(r, 16);
    uint64_t incarnation = wr_get_u64(r);
    if (r->err)
        return R_MALFORMED;
    if (char_by_session(m, cmd->session) != NULL)
        return R_KEEP; /* the session already plays: a node never sends this */
    if (m->model == NULL)
        return refuse(ctx, cmd, "no_world", "The world is not loaded yet.");
    if (!wr_mud_name_ok(name, strlen(name)))
        return refuse(ctx, cmd, "bad_name", "A name is 3 to 16 letters.");
    if (strlen(pw) >= WR_MUD_PWHASH_MAX)
        return R_MALFORMED;
    if (char_by_name(m, name) != NULL)
        return refuse(ctx, cmd, "name_taken", "That name is taken.");
    if (m->n_chars >= UINT32_MAX - 1)
        return refuse(ctx, cmd, "full", "No more characters can be created.");

    GROW(m->chars, m->n_chars, m->cap_chars);
    struct wr_mud_char *c = &m->chars[m->n_chars];
    memset(c, 0, sizeof *c);
    c->id = (uint32_t)++m->n_chars;
    memcpy(c->name, name, strlen(name) + 1);
    c->name[0] = ascii_upper(c->name[0]);
    memcpy(c->pw_hash, pw, strlen(pw) + 1);
    c->room = m->model->start_room;
    c->channels_off = default_channels_off(m->model);
    c->created_at = c->last_login_at = ctx->now_ms;
    bind_session(m, c, cmd, token, incarnation, ctx->now_ms);
    entered(ctx, c, "created");
    link_event(ctx, c, "enter");
    greet(m, ctx, c);
    mud_check(m);
    return R_KEEP;
}

static enum result apply_login(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_reader *r)
{
    char name[256];
    if (wr_get_str(r, name, sizeof name) != 0)
        return R_MALFORMED;
    const uint8_t *token = wr_get_bytes(r, 16);
    uint64_t incarnation = wr_get_u64(r);
    if (r->err)
        return R_MALFORMED;
    if (char_by_session(m, cmd->session) != NULL)
        return R_KEEP;
    if (m->model == NULL)
        return refuse(ctx, cmd, "no_world", "The world is not loaded yet.");
    struct wr_mud_char *c = char_by_name(m, name);
    if (c == NULL)
        return refuse(ctx, cmd, "no_such_character", "There is no character of that name.");
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
        link_event(ctx, c, "enter");
        greet(m, ctx, c);
        break;
    case WR_MUD_LINKDEAD:
        entered(ctx, c, "reconnect");
        link_event(ctx, c, "back");
        break;
    default:
        entered(ctx, c, "takeover");
        break;
    }
    mud_check(m);
    return R_KEEP;
}

static enum result apply_resume(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_reader *r)
{
    const uint8_t *token = wr_get_bytes(r, 16);
    uint64_t incarnation = wr_get_u64(r);
    if (r->err)
        return R_MALFORMED;
    if (char_by_session(m, cmd->session) != NULL)
        return R_KEEP;
    struct wr_mud_char *c = (struct wr_mud_char *)wr_mud_char_by_token(m, token);
    if (c == NULL)
        return refuse(ctx, cmd, "bad_token", "No character holds that token.");
    enum wr_mud_char_state was = c->state;
    if (was == WR_MUD_ONLINE)
        take_from(ctx, c);
    else
        wr_world_close_session(ctx->world, c->session);
    bind_session(m, c, cmd, token, incarnation, ctx->now_ms);
    entered(ctx, c, "resume");
    if (was == WR_MUD_LINKDEAD)
        link_event(ctx, c, "back");
    mud_check(m);
    return R_KEEP;
}

static void quit(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c)
{
    link_event(ctx, c, "quit");
    struct wr_mud_event e = ev_char(c);
    to_char(ctx, WR_MUD_EV_QUIT, c, &e);
    go_offline(m, c);
    mud_check(m);
}

static void mud_node_restarted(void *state, const struct wr_apply_ctx *ctx, uint32_t node,
                               uint64_t incarnation)
{
    struct wr_mud *m = state;
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *c = &m->chars[i];
        if (c->state == WR_MUD_ONLINE && c->node == node && c->incarnation != incarnation)
            go_linkdead(ctx, c);
    }
}

static enum result apply_expire(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                struct wr_reader *r)
{
    uint32_t id = wr_get_u32(r);
    uint64_t since = wr_get_u64(r);
    if (r->err)
        return R_MALFORMED;
    struct wr_mud_char *c = char_by_id(m, id);
    if (c == NULL || c->state != WR_MUD_LINKDEAD || c->linkdead_since != since)
        return R_KEEP; /* back, or linkdead again since: not this expiry */
    link_event(ctx, c, "gone");
    wr_world_close_session(ctx->world, c->session);
    go_offline(m, c);
    c->room = m->model->zones[room_zone(m, c->room)].graveyard;
    mud_check(m);
    return R_KEEP;
}

/* ---- actions of a character ------------------------------------------- */

static enum result apply_move(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c,
                              struct wr_reader *r)
{
    uint8_t d = wr_get_u8(r);
    if (r->err || d >= WR_MUD_NDIRS)
        return R_MALFORMED;
    const struct wr_mud_exit *x = &m->model->rooms[c->room].exits[d];
    if (x->to == WR_MUD_NO_ROOM || x->to >= m->model->n_rooms) {
        fail(ctx, cmd, "no_exit", "You can't go that way.");
        return R_KEEP;
    }
    if (x->door && door_closed(m, c->room, d)) {
        fail(ctx, cmd, "closed", "The %s is closed.", x->door_name ? x->door_name : "door");
        return R_KEEP;
    }
    struct wr_mud_event e = ev_char(c);
    e.dir = d;
    to_room(ctx, WR_MUD_EV_DEPART, &e);
    uint32_t from = c->room;
    c->room = x->to;
    e = ev_char(c);
    const struct wr_mud_exit *back = &m->model->rooms[c->room].exits[wr_mud_dir_reverse(d)];
    e.dir = back->to == from ? (int)wr_mud_dir_reverse(d) : -1;
    to_room(ctx, WR_MUD_EV_ARRIVE, &e);
    e.dir = d;
    to_char(ctx, WR_MUD_EV_MOVED, c, &e);
    greet(m, ctx, c);
    return R_KEEP;
}

static enum result apply_door(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c,
                              struct wr_reader *r, bool open)
{
    uint8_t d = wr_get_u8(r);
    if (r->err || d >= WR_MUD_NDIRS)
        return R_MALFORMED;
    const struct wr_mud_exit *x = &m->model->rooms[c->room].exits[d];
    if (x->to == WR_MUD_NO_ROOM || !x->door) {
        fail(ctx, cmd, "no_door", "There is no door that way.");
        return R_KEEP;
    }
    const char *door = x->door_name ? x->door_name : "door";
    if (door_closed(m, c->room, d) != open) {
        fail(ctx, cmd, open ? "already_open" : "already_closed", "The %s is already %s.", door,
             open ? "open" : "closed");
        return R_KEEP;
    }
    m->doors[(size_t)c->room * WR_MUD_NDIRS + d] = !open;
    struct wr_mud_event e = ev_char(c);
    e.dir = d;
    e.item = door;
    e.code = open ? "open" : "close";
    to_room(ctx, WR_MUD_EV_DOOR, &e);
    /* The other side of the same door, if the exit back has one. */
    enum wr_mud_dir rd = wr_mud_dir_reverse(d);
    if (x->to < m->model->n_rooms && x->to != c->room) {
        const struct wr_mud_exit *bx = &m->model->rooms[x->to].exits[rd];
        if (bx->to == c->room && bx->door) {
            m->doors[(size_t)x->to * WR_MUD_NDIRS + rd] = !open;
            e.room = x->to;
            e.dir = (int)rd;
            e.item = bx->door_name ? bx->door_name : "door";
            to_room(ctx, WR_MUD_EV_DOOR, &e);
        }
    }
    return R_KEEP;
}

/* The first item instance (by id) at (@loc, @where) matching @kw. */
static struct wr_mud_item_inst *find_item(struct wr_mud *m, uint8_t loc, uint32_t where,
                                          const char *kw)
{
    for (size_t i = 0; i < m->n_items; i++) {
        struct wr_mud_item_inst *it = &m->items[i];
        if (it->loc != loc || it->where != where)
            continue;
        const struct wr_mud_item *def = &m->model->items[it->item];
        if (words_match(def->keywords, kw) || words_match(def->name, kw))
            return it;
    }
    return NULL;
}

static void item_event(const struct wr_apply_ctx *ctx, const struct wr_mud *m,
                       const struct wr_mud_char *c, const struct wr_mud_item_inst *it,
                       const char *code, const struct wr_mud_char *to)
{
    struct wr_mud_event e = ev_char(c);
    e.item = m->model->items[it->item].name;
    e.code = code;
    if (to != NULL) {
        e.target_id = to->id;
        e.target_name = to->name;
    }
    to_room(ctx, WR_MUD_EV_ITEM, &e);
}

static enum result apply_get(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                             const struct wr_cmd *cmd, struct wr_mud_char *c,
                             struct wr_reader *r)
{
    char kw[256];
    if (wr_get_str(r, kw, sizeof kw) != 0)
        return R_MALFORMED;
    struct wr_mud_item_inst *it = find_item(m, WR_MUD_IN_ROOM, c->room, kw);
    if (it == NULL) {
        fail(ctx, cmd, "no_item", "You don't see that here.");
        return R_KEEP;
    }
    if (m->model->items[it->item].fixed) {
        fail(ctx, cmd, "fixed", "You can't take that.");
        return R_KEEP;
    }
    untie_item(m, it, ctx->now_ms);
    it->loc = WR_MUD_CARRIED;
    it->where = c->id;
    item_event(ctx, m, c, it, "get", NULL);
    return R_KEEP;
}

static enum result apply_drop(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c,
                              struct wr_reader *r)
{
    char kw[256];
    if (wr_get_str(r, kw, sizeof kw) != 0)
        return R_MALFORMED;
    struct wr_mud_item_inst *it = find_item(m, WR_MUD_CARRIED, c->id, kw);
    if (it == NULL) {
        fail(ctx, cmd, "no_item", "You don't have that.");
        return R_KEEP;
    }
    it->loc = WR_MUD_IN_ROOM;
    it->where = c->room;
    item_event(ctx, m, c, it, "drop", NULL);
    return R_KEEP;
}

static enum result apply_give(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c,
                              struct wr_reader *r)
{
    char kw[256], who[256];
    if (wr_get_str(r, kw, sizeof kw) != 0 || wr_get_str(r, who, sizeof who) != 0)
        return R_MALFORMED;
    struct wr_mud_item_inst *it = find_item(m, WR_MUD_CARRIED, c->id, kw);
    if (it == NULL) {
        fail(ctx, cmd, "no_item", "You don't have that.");
        return R_KEEP;
    }
    struct wr_mud_char *to = find_player(m, who, c->room, c);
    if (to == NULL) {
        fail(ctx, cmd, "no_target", "No one called %s is here.", who);
        return R_KEEP;
    }
    it->where = to->id;
    item_event(ctx, m, c, it, "give", to);
    return R_KEEP;
}

/* Decode a text; on a bad one tell the session. Returns 0 (ok), R_MALFORMED
 * as -1, or -2 when the session was told. */
static int text_arg(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd,
                    struct wr_reader *r, char *text)
{
    int rc = get_text(r, text);
    if (rc == -2)
        fail(ctx, cmd, "bad_text", "Say what? (1 to %d characters of UTF-8 text)",
             WR_MUD_TEXT_MAX);
    return rc;
}

static void tell(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                 struct wr_mud_char *to, const char *text)
{
    (void)m;
    struct wr_mud_event e = ev_char(c);
    e.target_id = to->id;
    e.target_name = to->name;
    e.text = text;
    to_char(ctx, WR_MUD_EV_TELL, to, &e);
    to_char(ctx, WR_MUD_EV_TELL, c, &e);
    to->reply_to = c->id;
}

static enum result apply_talk(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c,
                              struct wr_reader *r)
{
    char who[256] = "", text[WR_MUD_TEXT_MAX + 1];
    if ((cmd->type == WR_MUD_WHISPER || cmd->type == WR_MUD_TELL || cmd->type == WR_MUD_CHAN) &&
        wr_get_str(r, who, sizeof who) != 0)
        return R_MALFORMED;
    int rc = text_arg(ctx, cmd, r, text);
    if (rc == -1)
        return R_MALFORMED;
    if (rc != 0)
        return R_KEEP;
    struct wr_mud_event e = ev_char(c);
    e.text = text;
    switch (cmd->type) {
    case WR_MUD_SAY:
        to_room(ctx, WR_MUD_EV_SAY, &e);
        hear(m, ctx, c, text);
        break;
    case WR_MUD_EMOTE:
        to_room(ctx, WR_MUD_EV_EMOTE, &e);
        break;
    case WR_MUD_WHISPER: {
        struct wr_mud_char *to = find_player(m, who, c->room, c);
        if (to == NULL) {
            fail(ctx, cmd, "no_target", "No one called %s is here.", who);
            break;
        }
        e.target_id = to->id;
        e.target_name = to->name;
        to_room(ctx, WR_MUD_EV_WHISPER, &e);
        break;
    }
    case WR_MUD_TELL: {
        struct wr_mud_char *to = find_player(m, who, WR_MUD_NO_ROOM, c);
        if (to == NULL) {
            fail(ctx, cmd, "no_target", "No one called %s is playing.", who);
            break;
        }
        tell(m, ctx, c, to, text);
        break;
    }
    case WR_MUD_REPLY: {
        struct wr_mud_char *to = char_by_id(m, c->reply_to);
        if (to == NULL) {
            fail(ctx, cmd, "no_target", "No one has told you anything yet.");
            break;
        }
        if (!in_world(to)) {
            fail(ctx, cmd, "no_target", "No one called %s is playing.", to->name);
            break;
        }
        tell(m, ctx, c, to, text);
        break;
    }
    default: { /* WR_MUD_CHAN */
        long ch = wr_mud_model_channel(m->model, who);
        if (ch < 0) {
            fail(ctx, cmd, "no_channel", "There is no channel called %s.", who);
            break;
        }
        if (ch < WR_MUD_MAX_CHANNELS && (c->channels_off >> ch) & 1u) {
            fail(ctx, cmd, "channel_off", "You have the %s channel turned off.",
                 m->model->channels[ch].key);
            break;
        }
        e.item = m->model->channels[ch].key;
        e.room = WR_MUD_NO_ROOM;
        ring_push(&m->chans[ch], c->name, text);
        emit(ctx, WR_MUD_EV_CHANNEL, WR_AUD_CHANNEL, 0, 0, (uint64_t)ch, &e);
        break;
    }
    }
    return R_KEEP;
}

static enum result apply_chanset(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                 const struct wr_cmd *cmd, struct wr_mud_char *c,
                                 struct wr_reader *r)
{
    char name[256];
    if (wr_get_str(r, name, sizeof name) != 0)
        return R_MALFORMED;
    uint8_t on = wr_get_u8(r);
    if (r->err)
        return R_MALFORMED;
    long ch = wr_mud_model_channel(m->model, name);
    if (ch < 0) {
        fail(ctx, cmd, "no_channel", "There is no channel called %s.", name);
        return R_KEEP;
    }
    if (ch >= WR_MUD_MAX_CHANNELS) {
        fail(ctx, cmd, "no_channel", "The %s channel cannot be turned off.", name);
        return R_KEEP;
    }
    if (on)
        c->channels_off &= ~(1u << ch);
    else
        c->channels_off |= 1u << ch;
    struct wr_mud_event e = ev_char(c);
    e.item = m->model->channels[ch].key;
    e.code = on ? "on" : "off";
    to_char(ctx, WR_MUD_EV_CHANSET, c, &e);
    return R_KEEP;
}

/* ---- zones and their timers ------------------------------------------- */

/* BFS distances from @home over the model's exits (doors ignored), within
 * @zone, up to @limit steps; UINT32_MAX where farther. Caller frees. */
static uint32_t *distances(const struct wr_mud_model *mo, uint32_t home, uint32_t zone,
                           uint32_t limit)
{
    uint32_t *dist = wr_malloc(mo->n_rooms * sizeof *dist);
    uint32_t *queue = wr_malloc(mo->n_rooms * sizeof *queue);
    for (size_t i = 0; i < mo->n_rooms; i++)
        dist[i] = UINT32_MAX;
    size_t head = 0, tail = 0;
    dist[home] = 0;
    queue[tail++] = home;
    while (head < tail) {
        uint32_t r = queue[head++];
        if (dist[r] >= limit)
            continue;
        for (int d = 0; d < WR_MUD_NDIRS; d++) {
            uint32_t to = mo->rooms[r].exits[d].to;
            if (to >= mo->n_rooms || mo->rooms[to].zone != zone || dist[to] != UINT32_MAX)
                continue;
            dist[to] = dist[r] + 1;
            queue[tail++] = to;
        }
    }
    free(queue);
    return dist;
}

/* One wander step: a random open exit into the NPC's zone, no farther than
 * max_distance from where it spawned. */
static void npc_wander(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                       struct wr_mud_npc_inst *n, uint64_t *rng)
{
    const struct wr_mud_model *mo = m->model;
    uint32_t home = mo->npc_spawners[n->spawner].room;
    uint32_t zone = mo->rooms[home].zone;
    uint32_t limit = mo->npcs[n->npc].max_distance;
    uint32_t *dist = distances(mo, home, zone, limit);
    int cand[WR_MUD_NDIRS], k = 0;
    for (int d = 0; d < WR_MUD_NDIRS; d++) {
        const struct wr_mud_exit *x = &mo->rooms[n->room].exits[d];
        if (x->to >= mo->n_rooms || (x->door && door_closed(m, n->room, d)) ||
            mo->rooms[x->to].zone != zone || dist[x->to] > limit)
            continue;
        cand[k++] = d;
    }
    free(dist);
    if (k == 0)
        return;
    int d = cand[rand_below(rng, (uint64_t)k)];
    struct wr_mud_event e = ev_npc(m, n);
    e.dir = d;
    to_room(ctx, WR_MUD_EV_DEPART, &e);
    uint32_t from = n->room;
    n->room = mo->rooms[n->room].exits[d].to;
    e = ev_npc(m, n);
    enum wr_mud_dir rd = wr_mud_dir_reverse((enum wr_mud_dir)d);
    e.dir = mo->rooms[n->room].exits[rd].to == from ? (int)rd : -1;
    to_room(ctx, WR_MUD_EV_ARRIVE, &e);
}

static void npc_act(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_npc_inst *n,
                    uint64_t *rng)
{
    const struct wr_mud_npc *def = &m->model->npcs[n->npc];
    if (n->timer < def->n_timers) {
        const struct wr_mud_timer_rule *tr = &def->timers[n->timer];
        uint64_t total = 0;
        for (size_t i = 0; i < tr->n_actions; i++)
            total += tr->actions[i].weight;
        uint64_t pick = rand_below(rng, total);
        const struct wr_mud_action *a = NULL;
        for (size_t i = 0; i < tr->n_actions && a == NULL; i++) {
            if (pick < tr->actions[i].weight)
                a = &tr->actions[i];
            else
                pick -= tr->actions[i].weight;
        }
        if (a != NULL && a->kind == WR_ACT_MOVE) {
            npc_wander(m, ctx, n, rng);
        } else if (a != NULL && a->text != NULL) {
            struct wr_mud_event e = ev_npc(m, n);
            e.text = a->text;
            to_room(ctx, a->kind == WR_ACT_SAY ? WR_MUD_EV_SAY : WR_MUD_EV_EMOTE, &e);
        }
    }
    npc_schedule(m, n, ctx->now_ms, rng);
}

struct due {
    uint64_t at;
    uint8_t kind; /* enum due_kind */
    uint32_t id;  /* NPC instance, reaction id or spawner index */
};

static int due_cmp(const void *a, const void *b)
{
    const struct due *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Everything of @zone due at or before @now, unsorted, into *@out (caller
 * frees); with @min set, only the earliest time is wanted. */
static size_t collect_due(const struct wr_mud *m, uint32_t zone, uint64_t now,
                          struct due **out, uint64_t *min)
{
    size_t n = 0, cap = 0;
    struct due *v = NULL;
#define ADD(at_, kind_, id_)                                                 \
    do {                                                                     \
        if ((at_) <= now) {                                                  \
            if (min != NULL) {                                               \
                if ((at_) < *min)                                            \
                    *min = (at_);                                            \
            } else {                                                         \
                GROW(v, n, cap);                                             \
                v[n++] = (struct due){.at = (at_), .kind = (kind_), .id = (id_)}; \
            }                                                                \
        }                                                                    \
    } while (0)
    for (size_t i = 0; i < m->n_npcs; i++)
        if (room_zone(m, m->npcs[i].room) == zone && m->npcs[i].next_act_at != NEVER)
            ADD(m->npcs[i].next_act_at, DUE_NPC_TIMER, m->npcs[i].id);
    for (size_t i = 0; i < m->n_reacts; i++) {
        long ni = find_by_id(m->npcs, m->n_npcs, sizeof *m->npcs, m->reacts[i].npc_inst);
        if (ni >= 0 && room_zone(m, m->npcs[ni].room) == zone)
            ADD(m->reacts[i].due, DUE_REACTION, m->reacts[i].id);
    }
    for (size_t s = 0; s < m->model->n_npc_spawners; s++)
        if (m->npc_sp[s].inst == 0 && room_zone(m, m->model->npc_spawners[s].room) == zone)
            ADD(m->npc_sp[s].due, DUE_NPC_SPAWN, (uint32_t)s);
    for (size_t s = 0; s < m->model->n_item_spawners; s++)
        if (m->item_sp[s].inst == 0 && room_zone(m, m->model->item_spawners[s].room) == zone)
            ADD(m->item_sp[s].due, DUE_ITEM_SPAWN, (uint32_t)s);
#undef ADD
    if (out != NULL)
        *out = v;
    else
        free(v);
    return n;
}

static void run_reaction(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t id)
{
    long ri = find_by_id(m->reacts, m->n_reacts, sizeof *m->reacts, id);
    if (ri < 0)
        return;
    struct reaction re = m->reacts[ri];
    memmove(&m->reacts[ri], &m->reacts[ri + 1],
            (m->n_reacts - (size_t)ri - 1) * sizeof *m->reacts);
    m->n_reacts--;
    const struct wr_mud_npc_inst *n = npc_by_id(m, re.npc_inst);
    if (n != NULL) {
        struct wr_mud_event e = ev_npc(m, n);
        e.text = re.text;
        to_room(ctx, re.kind == WR_ACT_SAY ? WR_MUD_EV_SAY : WR_MUD_EV_EMOTE, &e);
    }
    free(re.text);
}

static void run_tick(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t zone)
{
    struct due *v = NULL;
    size_t n = collect_due(m, zone, ctx->now_ms, &v, NULL);
    if (n > 1)
        qsort(v, n, sizeof *v, due_cmp);
    for (size_t i = 0; i < n; i++) {
        uint64_t rng = ctx->seed ^ ((uint64_t)(i + 1) * 0xD6E8FEB86659FD93ull);
        wr_mix64(&rng);
        switch (v[i].kind) {
        case DUE_NPC_TIMER: {
            struct wr_mud_npc_inst *ni = npc_by_id(m, v[i].id);
            if (ni != NULL && ni->next_act_at <= ctx->now_ms)
                npc_act(m, ctx, ni, &rng);
            break;
        }
        case DUE_REACTION:
            run_reaction(m, ctx, v[i].id);
            break;
        case DUE_NPC_SPAWN:
            if (m->npc_sp[v[i].id].inst == 0)
                spawn_npc(m, ctx, v[i].id, &rng);
            break;
        default:
            if (m->item_sp[v[i].id].inst == 0)
                spawn_item(m, ctx, v[i].id);
            break;
        }
    }
    free(v);
    mud_check(m);
}

static enum result apply_zone(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_reader *r)
{
    char key[256];
    if (wr_get_str(r, key, sizeof key) != 0)
        return R_MALFORMED;
    uint32_t node = cmd->type == WR_MUD_ZONE_PLACE ? wr_get_u32(r) : 0;
    uint64_t epoch = wr_get_u64(r);
    if (r->err)
        return R_MALFORMED;
    long z = m->model ? wr_mud_model_zone(m->model, key) : -1;
    if (z < 0)
        return R_KEEP;
    struct wr_mud_zone_state *zs = &m->zones[z];
    if (cmd->type == WR_MUD_ZONE_PLACE) {
        if (zs->epoch != epoch)
            return R_KEEP; /* placed by someone else since: compare-and-set failed */
        zs->owner = node;
        zs->epoch = epoch + 1;
        struct wr_mud_event e = {.room = WR_MUD_NO_ROOM, .dir = -1,
                                 .item = m->model->zones[z].key};
        emit(ctx, WR_MUD_EV_ZONE_OWNER, WR_AUD_ALL, 0, 0, (uint64_t)z, &e);
        return R_KEEP;
    }
    if (zs->owner == 0 || cmd->node != zs->owner || epoch != zs->epoch)
        return R_KEEP; /* a tick of a former owner: fenced off */
    run_tick(m, ctx, (uint32_t)z);
    return R_KEEP;
}

/* ---- apply ------------------------------------------------------------ */

static enum result apply_session_cmd(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                     const struct wr_cmd *cmd, struct wr_reader *r)
{
    struct wr_mud_char *c = char_by_session(m, cmd->session);
    if (c != NULL && c->node != cmd->node)
        c = NULL;
    switch (cmd->type) {
    case WR_MUD_QUIT:
        if (c != NULL)
            quit(m, ctx, c);
        return R_CLOSE;
    case WR_MUD_DISCONNECT:
        if (c != NULL)
            go_linkdead(ctx, c);
        return R_KEEP;
    case WR_MUD_PRESENT:
        if (c != NULL && c->state == WR_MUD_LINKDEAD) {
            c->state = WR_MUD_ONLINE;
            c->linkdead_since = 0;
            link_event(ctx, c, "back");
        }
        return R_KEEP;
    default:
        break;
    }
    if (m->model == NULL) {
        fail(ctx, cmd, "no_world", "The world is not loaded yet.");
        return R_KEEP;
    }
    if (c == NULL)
        return R_KEEP; /* taken over or gone: a node never sends this */
    if (c->state == WR_MUD_LINKDEAD) {
        /* It acts through its session: its client is there after all. */
        c->state = WR_MUD_ONLINE;
        c->linkdead_since = 0;
        link_event(ctx, c, "back");
    }
    switch (cmd->type) {
    case WR_MUD_MOVE:
        return apply_move(m, ctx, cmd, c, r);
    case WR_MUD_OPEN:
        return apply_door(m, ctx, cmd, c, r, true);
    case WR_MUD_CLOSE:
        return apply_door(m, ctx, cmd, c, r, false);
    case WR_MUD_GET:
        return apply_get(m, ctx, cmd, c, r);
    case WR_MUD_DROP:
        return apply_drop(m, ctx, cmd, c, r);
    case WR_MUD_GIVE:
        return apply_give(m, ctx, cmd, c, r);
    case WR_MUD_SAY:
    case WR_MUD_EMOTE:
    case WR_MUD_WHISPER:
    case WR_MUD_TELL:
    case WR_MUD_REPLY:
    case WR_MUD_CHAN:
        return apply_talk(m, ctx, cmd, c, r);
    case WR_MUD_CHANSET:
        return apply_chanset(m, ctx, cmd, c, r);
    default:
        return R_MALFORMED;
    }
}

static enum result apply_any(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                             const struct wr_cmd *cmd)
{
    struct wr_reader r;
    wr_reader_init(&r, cmd->payload, cmd->len);
    switch (cmd->type) {
    case WR_MUD_CREATE:
        return apply_create(m, ctx, cmd, &r);
    case WR_MUD_LOGIN:
        return apply_login(m, ctx, cmd, &r);
    case WR_MUD_RESUME:
        return apply_resume(m, ctx, cmd, &r);
    case WR_MUD_NODE_DOWN:
    case WR_MUD_EXPIRE:
    case WR_MUD_ZONE_PLACE:
    case WR_MUD_ZONE_TICK:
    case WR_MUD_WORLD_CHUNK:
        if (cmd->session != 0)
            return R_MALFORMED; /* node commands never come from a client */
        if (cmd->type == WR_MUD_WORLD_CHUNK)
            return apply_chunk(m, ctx, &r);
        if (cmd->type == WR_MUD_NODE_DOWN) {
            uint32_t node = wr_get_u32(&r);
            if (r.err)
                return R_MALFORMED;
            for (size_t i = 0; i < m->n_chars; i++)
                if (m->chars[i].node == node)
                    go_linkdead(ctx, &m->chars[i]);
            return R_KEEP;
        }
        if (cmd->type == WR_MUD_EXPIRE)
            return m->model ? apply_expire(m, ctx, &r) : R_KEEP;
        return apply_zone(m, ctx, cmd, &r);
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

/* ---- snapshot --------------------------------------------------------- */

static void put_text(struct wr_writer *w, const char *s)
{
    size_t n = strlen(s);
    if (n > UINT16_MAX)
        n = UINT16_MAX;
    wr_put_u16(w, (uint16_t)n);
    wr_put_bytes(w, s, n);
}

/* A u16-length string, NUL-free, as a new allocation; NULL if malformed. */
static char *get_text_dup(struct wr_reader *r)
{
    uint16_t n = wr_get_u16(r);
    const uint8_t *p = wr_get_bytes(r, n);
    if (p == NULL || memchr(p, '\0', n) != NULL)
        return NULL;
    char *s = wr_malloc((size_t)n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Section format, version 1 (all little endian):
 *   u32 bundle_len | bundle | u32 n_chars | char* | u32 next_npc_id
 *   | u32 next_item_id | u32 next_react_id
 *   then, when a world is loaded (bundle_len > 0):
 *   door u8 per (room, dir) that has a door, in room then dir order
 *   | (u32 owner | u64 epoch) per zone | (u32 inst | u64 due) per item
 *   spawner, then per NPC spawner | per channel: u32 count | (str who |
 *   text)* oldest first | u32 n | npc* | u32 n | item* | u32 n | reaction*
 *   and last the upload: u32 total | (hash[16] | u32 got | bytes[got]) if
 *   total > 0. Every list is in id order. */
static void mud_snapshot(void *state, struct wr_writer *w)
{
    struct wr_mud *m = state;
    const struct wr_mud_model *mo = m->model;
    wr_put_u32(w, (uint32_t)m->bundle_len);
    wr_put_bytes(w, m->bundle, m->bundle_len);
    wr_put_u32(w, (uint32_t)m->n_chars);
    for (size_t i = 0; i < m->n_chars; i++) {
        const struct wr_mud_char *c = &m->chars[i];
        wr_put_u32(w, c->id);
        wr_put_str(w, c->name);
        wr_put_str(w, c->pw_hash);
        wr_put_bytes(w, c->token_hash, 16);
        wr_put_u8(w, (uint8_t)c->state);
        wr_put_u32(w, c->room);
        wr_put_u32(w, c->node);
        wr_put_u64(w, c->session);
        wr_put_u64(w, c->incarnation);
        wr_put_u64(w, c->linkdead_since);
        wr_put_u32(w, c->channels_off);
        wr_put_u32(w, c->reply_to);
        wr_put_u64(w, c->created_at);
        wr_put_u64(w, c->last_login_at);
    }
    wr_put_u32(w, m->next_npc_id);
    wr_put_u32(w, m->next_item_id);
    wr_put_u32(w, m->next_react_id);
    if (mo != NULL) {
        for (size_t r = 0; r < mo->n_rooms; r++)
            for (int d = 0; d < WR_MUD_NDIRS; d++)
                if (mo->rooms[r].exits[d].door)
                    wr_put_u8(w, m->doors[r * WR_MUD_NDIRS + (size_t)d]);
        for (size_t z = 0; z < mo->n_zones; z++) {
            wr_put_u32(w, m->zones[z].owner);
            wr_put_u64(w, m->zones[z].epoch);
        }
        for (size_t s = 0; s < mo->n_item_spawners; s++) {
            wr_put_u32(w, m->item_sp[s].inst);
            wr_put_u64(w, m->item_sp[s].due);
        }
        for (size_t s = 0; s < mo->n_npc_spawners; s++) {
            wr_put_u32(w, m->npc_sp[s].inst);
            wr_put_u64(w, m->npc_sp[s].due);
        }
        for (size_t ch = 0; ch < mo->n_channels; ch++) {
            const struct chan_ring *ring = &m->chans[ch];
            wr_put_u32(w, ring->count);
            for (uint32_t i = 0; i < ring->count; i++) {
                wr_put_str(w, ring_at(ring, i)->who);
                put_text(w, ring_at(ring, i)->text);
            }
        }
        wr_put_u32(w, (uint32_t)m->n_npcs);
        for (size_t i = 0; i < m->n_npcs; i++) {
            const struct wr_mud_npc_inst *n = &m->npcs[i];
            wr_put_u32(w, n->id);
            wr_put_u32(w, n->npc);
            wr_put_u32(w, n->spawner);
            wr_put_u32(w, n->room);
            wr_put_u64(w, n->next_act_at);
            wr_put_u32(w, n->timer);
        }
        wr_put_u32(w, (uint32_t)m->n_items);
        for (size_t i = 0; i < m->n_items; i++) {
            const struct wr_mud_item_inst *it = &m->items[i];
            wr_put_u32(w, it->id);
            wr_put_u32(w, it->item);
            wr_put_u8(w, it->loc);
            wr_put_u32(w, it->where);
            wr_put_u32(w, it->spawner);
        }
        wr_put_u32(w, (uint32_t)m->n_reacts);
        for (size_t i = 0; i < m->n_reacts; i++) {
            const struct reaction *re = &m->reacts[i];
            wr_put_u32(w, re->id);
            wr_put_u32(w, re->npc_inst);
            wr_put_u64(w, re->due);
            wr_put_u8(w, re->kind);
            put_text(w, re->text);
        }
    }
    wr_put_u32(w, m->up_total);
    if (m->up_total > 0) {
        wr_put_bytes(w, m->up_hash, 16);
        wr_put_u32(w, m->up_got);
        wr_put_bytes(w, m->up_buf, m->up_got);
    }
}

static int restore_world(struct wr_mud *m, struct wr_reader *r)
{
    const struct wr_mud_model *mo = m->model;
    m->doors = wr_calloc(mo->n_rooms * WR_MUD_NDIRS + 1, 1);
    m->zones = wr_calloc(mo->n_zones + 1, sizeof *m->zones);
    m->item_sp = wr_calloc(mo->n_item_spawners + 1, sizeof *m->item_sp);
    m->npc_sp = wr_calloc(mo->n_npc_spawners + 1, sizeof *m->npc_sp);
    m->chans = wr_calloc(mo->n_channels + 1, sizeof *m->chans);
    for (size_t ch = 0; ch < mo->n_channels; ch++)
        ring_init(&m->chans[ch], mo->channels[ch].history);
    for (size_t rm = 0; rm < mo->n_rooms; rm++)
        for (int d = 0; d < WR_MUD_NDIRS; d++)
            if (mo->rooms[rm].exits[d].door)
                m->doors[rm * WR_MUD_NDIRS + (size_t)d] = wr_get_u8(r) != 0;
    for (size_t z = 0; z < mo->n_zones; z++) {
        m->zones[z].owner = wr_get_u32(r);
        m->zones[z].epoch = wr_get_u64(r);
    }
    for (size_t s = 0; s < mo->n_item_spawners; s++) {
        m->item_sp[s].inst = wr_get_u32(r);
        m->item_sp[s].due = wr_get_u64(r);
    }
    for (size_t s = 0; s < mo->n_npc_spawners; s++) {
        m->npc_sp[s].inst = wr_get_u32(r);
        m->npc_sp[s].due = wr_get_u64(r);
    }
    for (size_t ch = 0; ch < mo->n_channels; ch++) {
        uint32_t count = wr_get_u32(r);
        if (r->err || count > m->chans[ch].cap)
            return -1;
        for (uint32_t i = 0; i < count; i++) {
            char who[WR_MUD_NAME_MAX + 1];
            if (wr_get_str(r, who, sizeof who) != 0)
                return -1;
            char *text = get_text_dup(r);
            if (text == NULL)
                return -1;
            ring_push(&m->chans[ch], who, text);
            free(text);
        }
    }
    uint32_t n = wr_get_u32(r);
    if (r->err || n > r->left / 24)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        GROW(m->npcs, m->n_npcs, m->cap_npcs);
        struct wr_mud_npc_inst *ni = &m->npcs[m->n_npcs];
        memset(ni, 0, sizeof *ni);
        ni->id = wr_get_u32(r);
        ni->npc = wr_get_u32(r);
        ni->spawner = wr_get_u32(r);
        ni->room = wr_get_u32(r);
        ni->next_act_at = wr_get_u64(r);
        ni->timer = wr_get_u32(r);
        if (r->err || ni->id == 0 || ni->id >= m->next_npc_id || ni->npc >= mo->n_npcs ||
            ni->spawner >= mo->n_npc_spawners || ni->room >= mo->n_rooms ||
            (m->n_npcs > 0 && ni->id <= m->npcs[m->n_npcs - 1].id))
            return -1;
        m->n_npcs++;
    }
    n = wr_get_u32(r);
    if (r->err || n > r->left / 17)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        GROW(m->items, m->n_items, m->cap_items);
        struct wr_mud_item_inst *it = &m->items[m->n_items];
        memset(it, 0, sizeof *it);
        it->id = wr_get_u32(r);
        it->item = wr_get_u32(r);
        it->loc = wr_get_u8(r);
        it->where = wr_get_u32(r);
        it->spawner = wr_get_u32(r);
        if (r->err || it->id == 0 || it->id >= m->next_item_id || it->item >= mo->n_items ||
            it->loc > WR_MUD_CARRIED ||
            (it->loc == WR_MUD_IN_ROOM && it->where >= mo->n_rooms) ||
            (it->loc == WR_MUD_CARRIED && char_by_id(m, it->where) == NULL) ||
            (it->spawner != NONE && it->spawner >= mo->n_item_spawners) ||
            (m->n_items > 0 && it->id <= m->items[m->n_items - 1].id))
            return -1;
        m->n_items++;
    }
    n = wr_get_u32(r);
    if (r->err || n > r->left / 19)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        GROW(m->reacts, m->n_reacts, m->cap_reacts);
        struct reaction *re = &m->reacts[m->n_reacts];
        re->id = wr_get_u32(r);
        re->npc_inst = wr_get_u32(r);
        re->due = wr_get_u64(r);
        re->kind = wr_get_u8(r);
        re->text = get_text_dup(r);
        if (re->text == NULL)
            return -1;
        m->n_reacts++;
        if (r->err || re->id == 0 || re->id >= m->next_react_id ||
            (re->kind != WR_ACT_SAY && re->kind != WR_ACT_EMOTE) ||
            npc_by_id(m, re->npc_inst) == NULL ||
            (m->n_reacts > 1 && re->id <= m->reacts[m->n_reacts - 2].id))
            return -1;
    }
    /* Spawner states must agree with the instances they name. */
    for (size_t s = 0; s < mo->n_npc_spawners; s++) {
        const struct spawn_state *st = &m->npc_sp[s];
        const struct wr_mud_npc_inst *ni = st->inst ? npc_by_id(m, st->inst) : NULL;
        if ((st->inst != 0 && (ni == NULL || ni->spawner != s || st->due != NEVER)))
            return -1;
    }
    for (size_t s = 0; s < mo->n_item_spawners; s++) {
        const struct spawn_state *st = &m->item_sp[s];
        long ii = st->inst ? find_by_id(m->items, m->n_items, sizeof *m->items, st->inst) : -1;
        if (st->inst != 0 && (ii < 0 || m->items[ii].spawner != s || st->due != NEVER))
            return -1;
    }
    return r->err ? -1 : 0;
}

static int mud_restore(void *state, struct wr_reader *r, uint8_t version)
{
    struct wr_mud *m = state;
    mud_clear(m);
    if (version > SNAPSHOT_VERSION)
        return -1;
    uint32_t blen = wr_get_u32(r);
    const uint8_t *bundle = wr_get_bytes(r, blen);
    if (r->err || blen > WR_MUD_BUNDLE_MAX)
        goto malformed;
    if (blen > 0) {
        char err[256];
        if (wr_mud_model_parse(bundle, blen, &m->model, err, sizeof err) != 0) {
            m->model = NULL;
            goto malformed;
        }
        m->bundle = wr_malloc(blen);
        memcpy(m->bundle, bundle, blen);
        m->bundle_len = blen;
    }
    uint32_t n = wr_get_u32(r);
    if (r->err || n > r->left / 79) /* the smallest encoded character */
        goto malformed;
    for (uint32_t i = 0; i < n; i++) {
        GROW(m->chars, m->n_chars, m->cap_chars);
        struct wr_mud_char *c = &m->chars[m->n_chars];
        memset(c, 0, sizeof *c);
        c->id = wr_get_u32(r);
        if (wr_get_str(r, c->name, sizeof c->name) != 0 ||
            wr_get_str(r, c->pw_hash, sizeof c->pw_hash) != 0)
            goto malformed;
        const uint8_t *tok = wr_get_bytes(r, 16);
        if (tok != NULL)
            memcpy(c->token_hash, tok, 16);
        uint8_t st = wr_get_u8(r);
        c->state = (enum wr_mud_char_state)st;
        c->room = wr_get_u32(r);
        c->node = wr_get_u32(r);
        c->session = wr_get_u64(r);
        c->incarnation = wr_get_u64(r);
        c->linkdead_since = wr_get_u64(r);
        c->channels_off = wr_get_u32(r);
        c->reply_to = wr_get_u32(r);
        c->created_at = wr_get_u64(r);
        c->last_login_at = wr_get_u64(r);
        if (r->err || c->id != i + 1 || st > WR_MUD_LINKDEAD || m->model == NULL ||
            c->room >= m->model->n_rooms || !wr_mud_name_ok(c->name, strlen(c->name)) ||
            char_by_name(m, c->name) != NULL || c->reply_to > n ||
            (st == WR_MUD_OFFLINE) != (c->session == 0) ||
            (c->session != 0 && char_by_session(m, c->session) != NULL))
            goto malformed;
        m->n_chars++;
        if (c->session != 0)
            wr_u64map_put(&m->by_session, c->session, i);
    }
    m->next_npc_id = wr_get_u32(r);
    m->next_item_id = wr_get_u32(r);
    m->next_react_id = wr_get_u32(r);
    if (r->err || m->next_npc_id == 0 || m->next_item_id == 0 || m->next_react_id == 0)
        goto malformed;
    if (m->model != NULL && restore_world(m, r) != 0)
        goto malformed;
    uint32_t total = wr_get_u32(r);
    if (total > 0) {
        const uint8_t *h = wr_get_bytes(r, 16);
        uint32_t got = wr_get_u32(r);
        const uint8_t *bytes = wr_get_bytes(r, got);
        if (r->err || total > WR_MUD_BUNDLE_MAX || got >= total)
            goto malformed;
        memcpy(m->up_hash, h, 16);
        m->up_total = total;
        m->up_got = got;
        m->up_buf = wr_malloc(total);
        memcpy(m->up_buf, bytes, got);
    }
    if (r->err)
        goto malformed;
    mud_check(m);
    return 0;

malformed:
    mud_clear(m);
    return -1;
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
    for (size_t z = 0; z < mo->n_zones; z++) {
        size_t rooms = 0;
        for (size_t r = 0; r < mo->n_rooms; r++)
            rooms += mo->rooms[r].zone == z;
        memset(&e, 0, sizeof e);
        snprintf(e.name, sizeof e.name, "zone/%s", mo->zones[z].key);
        e.kind = WR_REG_ZONE;
        e.node = m->zones[z].owner;
        e.epoch = m->zones[z].epoch;
        snprintf(e.info, sizeof e.info, "%zu rooms", rooms);
        cb(arg, &e);
    }
    for (size_t i = 0; i < m->n_chars; i++) {
        const struct wr_mud_char *c = &m->chars[i];
        if (!in_world(c))
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
        e.node = m->zones[room_zone(m, n->room)].owner;
        snprintf(e.info, sizeof e.info, "%s", mo->rooms[n->room].key);
        cb(arg, &e);
    }
}

const struct wr_module wr_mud_module = {
    .id = WR_MODULE_MUD,
    .name = "mud",
    .version = 1,
    .create = mud_create,
    .destroy = mud_destroy,
    .reset = mud_reset,
    .opens_session = mud_opens_session,
    .apply = mud_apply,
    .snapshot = mud_snapshot,
    .restore = mud_restore,
    .node_restarted = mud_node_restarted,
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
    return char_by_name(m, name);
}

const struct wr_mud_char *wr_mud_char_by_session(const struct wr_mud *m, uint64_t session)
{
    return char_by_session(m, session);
}

const struct wr_mud_char *wr_mud_char_by_token(const struct wr_mud *m, const uint8_t hash[16])
{
    if (hash == NULL || zero16(hash))
        return NULL;
    for (size_t i = 0; i < m->n_chars; i++)
        if (in_world(&m->chars[i]) && memcmp(m->chars[i].token_hash, hash, 16) == 0)
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
    return door_closed(m, room, (int)d);
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
        cb(arg, ring_at(ring, i)->who, ring_at(ring, i)->text);
}

uint64_t wr_mud_zone_next_due(const struct wr_mud *m, uint32_t zone)
{
    if (m->model == NULL || zone >= m->model->n_zones)
        return NEVER;
    uint64_t min = NEVER;
    collect_due(m, zone, NEVER - 1, NULL, &min);
    return min;
}

/* ---- encoders --------------------------------------------------------- */

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
    put_text(out, s);
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
