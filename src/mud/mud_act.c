/* What a character in the world does: moving, opening and closing doors,
 * getting, dropping and giving items, talking (say, emote, whisper, tell,
 * reply, channels) and switching channels. Each handler decodes its payload
 * and reports R_MALFORMED for a bad one; a refused action is told to the
 * session with wr__mud_fail and changes nothing. */
#include <string.h>
#include <strings.h>

#include "mud/mud_internal.h"

/* ---- matching names and text ------------------------------------------ */

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

int wr__mud_get_text(struct wr_reader *r, char out[WR_MUD_TEXT_MAX + 1])
{
    return get_text(r, out);
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
        if (c == except || !wr__mud_in_world(c) || (room != WR_MUD_NO_ROOM && c->room != room))
            continue;
        if (strcasecmp(c->name, name) == 0)
            return c;
        if (pre == NULL && wr__mud_prefix_ci(c->name, name))
            pre = c;
    }
    return pre;
}

/* ---- actions of a character ------------------------------------------- */

enum result wr__mud_apply_move(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c, struct wr_reader *r)
{
    uint8_t d = wr_get_u8(r);
    if (r->err || d >= WR_MUD_NDIRS)
        return R_MALFORMED;
    if (wr__mud_fight_busy(m, ctx, cmd, c, "walk away (flee!)"))
        return R_KEEP;
    const struct wr_mud_exit *x = &m->model->rooms[c->room].exits[d];
    if (x->to == WR_MUD_NO_ROOM || x->to >= m->model->n_rooms) {
        wr__mud_fail(ctx, cmd, "no_exit", "You can't go that way.");
        return R_KEEP;
    }
    if (x->door && wr__mud_door_closed(m, c->room, d)) {
        wr__mud_fail(ctx, cmd, "closed", "The %s is closed.", x->door_name ? x->door_name : "door");
        return R_KEEP;
    }
    struct wr_mud_event e = wr__mud_ev_char(c);
    e.dir = d;
    wr__mud_to_room(ctx, WR_MUD_EV_DEPART, &e);
    uint32_t from = c->room;
    c->room = x->to;
    e = wr__mud_ev_char(c);
    const struct wr_mud_exit *back = &m->model->rooms[c->room].exits[wr_mud_dir_reverse(d)];
    e.dir = back->to == from ? (int)wr_mud_dir_reverse(d) : -1;
    wr__mud_to_room(ctx, WR_MUD_EV_ARRIVE, &e);
    e.dir = d;
    wr__mud_to_char(ctx, WR_MUD_EV_MOVED, c, &e);
    wr__mud_entered_room(m, ctx, c);
    return R_KEEP;
}

enum result wr__mud_apply_door(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c, struct wr_reader *r,
                               bool open)
{
    uint8_t d = wr_get_u8(r);
    if (r->err || d >= WR_MUD_NDIRS)
        return R_MALFORMED;
    const struct wr_mud_exit *x = &m->model->rooms[c->room].exits[d];
    if (x->to == WR_MUD_NO_ROOM || !x->door) {
        wr__mud_fail(ctx, cmd, "no_door", "There is no door that way.");
        return R_KEEP;
    }
    const char *door = x->door_name ? x->door_name : "door";
    if (wr__mud_door_closed(m, c->room, d) != open) {
        wr__mud_fail(ctx, cmd, open ? "already_open" : "already_closed", "The %s is already %s.",
                     door, open ? "open" : "closed");
        return R_KEEP;
    }
    m->doors[(size_t)c->room * WR_MUD_NDIRS + d] = !open;
    struct wr_mud_event e = wr__mud_ev_char(c);
    e.dir = d;
    e.item = door;
    e.code = open ? "open" : "close";
    wr__mud_to_room(ctx, WR_MUD_EV_DOOR, &e);
    /* The other side of the same door, if the exit back has one. */
    enum wr_mud_dir rd = wr_mud_dir_reverse(d);
    if (x->to < m->model->n_rooms && x->to != c->room) {
        const struct wr_mud_exit *bx = &m->model->rooms[x->to].exits[rd];
        if (bx->to == c->room && bx->door) {
            m->doors[(size_t)x->to * WR_MUD_NDIRS + rd] = !open;
            e.room = x->to;
            e.dir = (int)rd;
            e.item = bx->door_name ? bx->door_name : "door";
            wr__mud_to_room(ctx, WR_MUD_EV_DOOR, &e);
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
        if (it->item == WR_MUD_CORPSE) { /* named by its label */
            if (wr_mud_words_match(it->label, kw))
                return it;
            continue;
        }
        const struct wr_mud_item *def = &m->model->items[it->item];
        if (wr_mud_words_match(def->keywords, kw) || wr_mud_words_match(def->name, kw))
            return it;
    }
    return NULL;
}

/* @c does not carry what @kw names: it wears it, or has nothing such. */
static void worn_or_missing(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd,
                            struct wr_mud *m, const struct wr_mud_char *c, const char *kw)
{
    const struct wr_mud_item_inst *w = wr__mud_find_worn(m, c, kw);
    if (w != NULL)
        wr__mud_fail(ctx, cmd, "worn", "You must remove %s first.",
                     m->model->items[w->item].name);
    else
        wr__mud_fail(ctx, cmd, "no_item", "You don't have that.");
}

static void item_event(const struct wr_apply_ctx *ctx, const struct wr_mud *m,
                       const struct wr_mud_char *c, const struct wr_mud_item_inst *it,
                       const char *code, const struct wr_mud_char *to)
{
    struct wr_mud_event e = wr__mud_ev_char(c);
    e.item = it->item == WR_MUD_CORPSE ? it->label : m->model->items[it->item].name;
    e.code = code;
    if (to != NULL) {
        e.target_id = to->id;
        e.target_name = to->name;
    }
    wr__mud_to_room(ctx, WR_MUD_EV_ITEM, &e);
}

enum result wr__mud_apply_get(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c, struct wr_reader *r)
{
    char kw[256];
    if (wr_get_str(r, kw, sizeof kw) != 0)
        return R_MALFORMED;
    if (strcasecmp(kw, "all") == 0) {
        wr__mud_get_all(m, ctx, cmd, c);
        return R_KEEP;
    }
    struct wr_mud_item_inst *it = find_item(m, WR_MUD_IN_ROOM, c->room, kw);
    if (it == NULL) {
        wr__mud_fail(ctx, cmd, "no_item", "You don't see that here.");
        return R_KEEP;
    }
    if (it->item == WR_MUD_CORPSE || m->model->items[it->item].fixed) {
        wr__mud_fail(ctx, cmd, "fixed", "You can't take that.");
        return R_KEEP;
    }
    wr__mud_untie_item(m, it, ctx->now_ms);
    it->loc = WR_MUD_CARRIED;
    it->where = c->id;
    item_event(ctx, m, c, it, "get", NULL);
    wr__mud_quest_on_item(m, ctx, c);
    return R_KEEP;
}

enum result wr__mud_apply_drop(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c, struct wr_reader *r)
{
    char kw[256];
    if (wr_get_str(r, kw, sizeof kw) != 0)
        return R_MALFORMED;
    struct wr_mud_item_inst *it = find_item(m, WR_MUD_CARRIED, c->id, kw);
    if (it == NULL) {
        worn_or_missing(ctx, cmd, m, c, kw);
        return R_KEEP;
    }
    it->loc = WR_MUD_IN_ROOM;
    it->where = c->room;
    item_event(ctx, m, c, it, "drop", NULL);
    return R_KEEP;
}

enum result wr__mud_apply_give(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c, struct wr_reader *r)
{
    char kw[256], who[256];
    if (wr_get_str(r, kw, sizeof kw) != 0 || wr_get_str(r, who, sizeof who) != 0)
        return R_MALFORMED;
    uint32_t gold = 0;
    bool is_gold = wr__mud_parse_gold(kw, &gold);
    struct wr_mud_item_inst *it = is_gold ? NULL : find_item(m, WR_MUD_CARRIED, c->id, kw);
    if (!is_gold && it == NULL) {
        worn_or_missing(ctx, cmd, m, c, kw);
        return R_KEEP;
    }
    struct wr_mud_char *to = find_player(m, who, c->room, c);
    if (to == NULL) {
        wr__mud_fail(ctx, cmd, "no_target", "No one called %s is here.", who);
        return R_KEEP;
    }
    if (is_gold) {
        wr__mud_give_gold(m, ctx, cmd, c, to, gold);
        return R_KEEP;
    }
    it->where = to->id;
    item_event(ctx, m, c, it, "give", to);
    wr__mud_quest_on_item(m, ctx, to);
    return R_KEEP;
}

/* Decode a text; on a bad one tell the session. Returns 0 (ok), R_MALFORMED
 * as -1, or -2 when the session was told. */
static int text_arg(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd,
                    struct wr_reader *r, char *text)
{
    int rc = get_text(r, text);
    if (rc == -2)
        wr__mud_fail(ctx, cmd, "bad_text", "Say what? (1 to %d characters of UTF-8 text)",
                     WR_MUD_TEXT_MAX);
    return rc;
}

static void tell(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                 struct wr_mud_char *to, const char *text)
{
    (void)m;
    struct wr_mud_event e = wr__mud_ev_char(c);
    e.target_id = to->id;
    e.target_name = to->name;
    e.text = text;
    wr__mud_to_char(ctx, WR_MUD_EV_TELL, to, &e);
    wr__mud_to_char(ctx, WR_MUD_EV_TELL, c, &e);
    to->reply_to = c->id;
}

enum result wr__mud_apply_talk(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c, struct wr_reader *r)
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
    struct wr_mud_event e = wr__mud_ev_char(c);
    e.text = text;
    switch (cmd->type) {
    case WR_MUD_SAY:
        wr__mud_to_room(ctx, WR_MUD_EV_SAY, &e);
        wr__mud_hear(m, ctx, c, text);
        break;
    case WR_MUD_EMOTE:
        wr__mud_to_room(ctx, WR_MUD_EV_EMOTE, &e);
        break;
    case WR_MUD_WHISPER: {
        struct wr_mud_char *to = find_player(m, who, c->room, c);
        if (to == NULL) {
            wr__mud_fail(ctx, cmd, "no_target", "No one called %s is here.", who);
            break;
        }
        e.target_id = to->id;
        e.target_name = to->name;
        wr__mud_to_room(ctx, WR_MUD_EV_WHISPER, &e);
        break;
    }
    case WR_MUD_TELL: {
        struct wr_mud_char *to = find_player(m, who, WR_MUD_NO_ROOM, c);
        if (to == NULL) {
            wr__mud_fail(ctx, cmd, "no_target", "No one called %s is playing.", who);
            break;
        }
        tell(m, ctx, c, to, text);
        break;
    }
    case WR_MUD_REPLY: {
        struct wr_mud_char *to = wr__mud_char_by_id(m, c->reply_to);
        if (to == NULL) {
            wr__mud_fail(ctx, cmd, "no_target", "No one has told you anything yet.");
            break;
        }
        if (!wr__mud_in_world(to)) {
            wr__mud_fail(ctx, cmd, "no_target", "No one called %s is playing.", to->name);
            break;
        }
        tell(m, ctx, c, to, text);
        break;
    }
    default: { /* WR_MUD_CHAN */
        long ch = wr_mud_model_channel(m->model, who);
        if (ch < 0) {
            wr__mud_fail(ctx, cmd, "no_channel", "There is no channel called %s.", who);
            break;
        }
        if (ch < WR_MUD_MAX_CHANNELS && (c->channels_off >> ch) & 1u) {
            wr__mud_fail(ctx, cmd, "channel_off", "You have the %s channel turned off.",
                         m->model->channels[ch].key);
            break;
        }
        e.item = m->model->channels[ch].key;
        e.room = WR_MUD_NO_ROOM;
        wr__mud_ring_push(&m->chans[ch], c->name, text);
        wr__mud_emit(ctx, WR_MUD_EV_CHANNEL, WR_AUD_CHANNEL, 0, 0, (uint64_t)ch, &e);
        break;
    }
    }
    return R_KEEP;
}

enum result wr__mud_apply_chanset(struct wr_mud *m, const struct wr_apply_ctx *ctx,
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
        wr__mud_fail(ctx, cmd, "no_channel", "There is no channel called %s.", name);
        return R_KEEP;
    }
    if (ch >= WR_MUD_MAX_CHANNELS) {
        wr__mud_fail(ctx, cmd, "no_channel", "The %s channel cannot be turned off.", name);
        return R_KEEP;
    }
    if (on)
        c->channels_off &= ~(1u << ch);
    else
        c->channels_off |= 1u << ch;
    struct wr_mud_event e = wr__mud_ev_char(c);
    e.item = m->model->channels[ch].key;
    e.code = on ? "on" : "off";
    wr__mud_to_char(ctx, WR_MUD_EV_CHANSET, c, &e);
    return R_KEEP;
}
