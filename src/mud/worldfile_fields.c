/* World files, passes 2 to 4: the schema of docs/world-format.md (the
 * world, zone, room, exit, item, NPC, behaviour, spawner and channel fields,
 * each checked and copied into the model) and the reference pass. Pure like
 * the rest of wr_mud_model_parse; worldfile.c builds the trees and calls in.
 * The gameplay keys are read by worldfile_game*.c, called from here at the
 * matching points, with the typed accessors below (exported as wr__wf_*). */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mud/model.h"
#include "mud/worldfile_internal.h"

/* ---- typed field access -------------------------------------------------- */

/* Match @map's keys against @keys: vals[i] is the value of keys[i], or
 * NULL. Fails on a non-mapping, an unknown key or a key given twice. */
static int fields(struct ctx *c, const struct ynode *map, const char *what, const char *const *keys,
                  size_t nk, const struct ynode **vals)
{
    if (map->kind != YN_MAP)
        return FAIL(c, map, "%s must be a mapping", what);
    for (size_t i = 0; i < nk; i++)
        vals[i] = NULL;
    for (const struct ynode *k = map->first; k != NULL; k = k->next->next) {
        size_t i = 0;
        while (i < nk && !wr__wf_scalar_is(k, keys[i]))
            i++;
        if (i == nk) {
            char list[256];
            size_t used = 0;
            list[0] = '\0';
            for (size_t j = 0; j < nk && used < sizeof list; j++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "",
                                         keys[j]);
            return FAIL(c, k, "unknown key %s in %s (expected %s)", wr__wf_show(k).s, what, list);
        }
        if (vals[i] != NULL)
            return FAIL(c, k, "duplicate key %s in %s", keys[i], what);
        vals[i] = k->next;
    }
    return 0;
}

static int need(struct ctx *c, const struct ynode *map, const struct ynode *v, const char *what,
                const char *key)
{
    if (v == NULL)
        return FAIL(c, map, "%s is missing %s", what, key);
    return 0;
}

/* A string field into the model: trailing whitespace trimmed (block
 * scalars end in a newline), not empty, at most @max bytes, no control
 * characters (newlines only in MULTILINE), valid UTF-8 being libyaml's
 * job. KEYWORDS: words separated by single spaces, lowercased. */
static int get_str(struct ctx *c, const struct ynode *v, const char *key, size_t max, int mode,
                   char **out)
{
    if (v->kind != YN_SCALAR)
        return FAIL(c, v, "%s must be a string", key);
    size_t len = v->len;
    while (len > 0 && (v->s[len - 1] == '\n' || v->s[len - 1] == ' ' || v->s[len - 1] == '\t'))
        len--;
    if (wr__wf_is_null(v) || len == 0)
        return FAIL(c, v, "%s must not be empty", key);
    if (len > max)
        return FAIL(c, v, "%s is too long (%zu bytes, at most %zu)", key, len, max);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v->s[i];
        bool ctl = ch < 0x20 || ch == 0x7f ||
                   (ch == 0xC2 && i + 1 < len && (unsigned char)v->s[i + 1] >= 0x80 &&
                    (unsigned char)v->s[i + 1] <= 0x9F);
        if (ch == '\n' && mode == STR_MULTILINE)
            ctl = false;
        if (ch == '\t' && mode == STR_KEYWORDS)
            ctl = false;
        if (ctl)
            return FAIL(c, v, "%s contains a control character", key);
    }
    char *s = wr__wf_mstrndup(c->m, v->s, len);
    if (mode == STR_KEYWORDS) {
        size_t k = 0;
        for (size_t i = 0; i < len; i++) {
            char ch = s[i] == '\t' ? ' ' : s[i];
            if (ch >= 'A' && ch <= 'Z')
                ch = (char)(ch - 'A' + 'a');
            if (ch == ' ' && (k == 0 || s[k - 1] == ' '))
                continue;
            s[k++] = ch;
        }
        s[k] = '\0';
    }
    *out = s;
    return 0;
}

/* keywords: "lantern rusty" or [lantern, rusty]. */
static int get_keywords(struct ctx *c, const struct ynode *v, char **out)
{
    if (v->kind == YN_SCALAR)
        return get_str(c, v, "keywords", MAX_TEXT, STR_KEYWORDS, out);
    if (v->kind != YN_SEQ || v->n == 0)
        return FAIL(c, v, "keywords must be a string or a list of words");
    char buf[MAX_TEXT + 1];
    size_t used = 0;
    for (const struct ynode *w = v->first; w != NULL; w = w->next) {
        char *word;
        if (get_str(c, w, "keyword", MAX_TEXT, STR_KEYWORDS, &word) != 0)
            return -1;
        if (strchr(word, ' ') != NULL)
            return FAIL(c, w, "keyword must be one word");
        size_t wl = strlen(word);
        if (used + (used ? 1 : 0) + wl > MAX_TEXT)
            return FAIL(c, w, "keywords are too long (at most %d bytes)", MAX_TEXT);
        if (used)
            buf[used++] = ' ';
        memcpy(buf + used, word, wl);
        used += wl;
    }
    *out = wr__wf_mstrndup(c->m, buf, used);
    return 0;
}

static bool id_ok(const struct ynode *v)
{
    if (v->kind != YN_SCALAR || v->len == 0 || v->len > MAX_ID)
        return false;
    if (v->s[0] < 'a' || v->s[0] > 'z')
        return false;
    for (size_t i = 1; i < v->len; i++) {
        char ch = v->s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static int get_id(struct ctx *c, const struct ynode *v, const char *key, char **out)
{
    if (!id_ok(v))
        return FAIL(c, v,
                    "%s %s is not a valid id (lowercase letters, digits, _ and -, starting "
                    "with a letter, at most %d bytes)",
                    key, wr__wf_show(v).s, MAX_ID);
    *out = wr__wf_mstrndup(c->m, v->s, v->len);
    return 0;
}

/* An optionally signed decimal integer; false if not one. Values beyond
 * +-10^15 saturate (every range below is far smaller). */
static bool parse_int(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    int64_t v = 0;
    if (len > 0 && s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == len)
        return false;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v < 1000000000000000ll)
            v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return true;
}

static int get_int(struct ctx *c, const struct ynode *v, const char *key, int64_t lo, int64_t hi,
                   int64_t *out)
{
    int64_t x;
    if (v->kind != YN_SCALAR || !v->plain || !parse_int(v->s, v->len, &x))
        return FAIL(c, v, "%s must be a whole number", key);
    if (x < lo || x > hi)
        return FAIL(c, v, "%s must be between %lld and %lld (got %s)", key, (long long)lo,
                    (long long)hi, wr__wf_show(v).s);
    *out = x;
    return 0;
}

/* A duration: a whole number of milliseconds (30000), or numbers with
 * units ms, s, m, h ("30s", "5m", "1h30m", "250ms"). */
static bool parse_duration(const char *s, size_t len, int64_t *out)
{
    int64_t total = 0;
    if (parse_int(s, len, out))
        return true;
    size_t i = 0;
    if (len == 0)
        return false;
    while (i < len) {
        int64_t v = 0;
        size_t d = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (v < 1000000000000ll)
                v = v * 10 + (s[i] - '0');
            i++;
        }
        if (i == d || i == len)
            return false;
        int64_t unit;
        if (i + 1 < len && s[i] == 'm' && s[i + 1] == 's') {
            unit = 1;
            i += 2;
        } else if (s[i] == 's') {
            unit = 1000;
            i++;
        } else if (s[i] == 'm') {
            unit = 60000;
            i++;
        } else if (s[i] == 'h') {
            unit = 3600000;
            i++;
        } else {
            return false;
        }
        total += v * unit;
        if (total > 1000000000000000ll)
            total = 1000000000000000ll;
    }
    *out = total;
    return true;
}

static int get_duration(struct ctx *c, const struct ynode *v, const char *key, uint32_t lo,
                        uint32_t hi, uint32_t *out)
{
    int64_t x;
    if (v->kind != YN_SCALAR || !parse_duration(v->s, v->len, &x))
        return FAIL(c, v,
                    "%s: bad duration %s (milliseconds, or a number with ms, s, m or h: "
                    "30s, 5m, 1h30m)",
                    key, wr__wf_show(v).s);
    if (x < lo || x > hi)
        return FAIL(c, v, "%s must be between %u and %u ms (got %s)", key, lo, hi,
                    wr__wf_show(v).s);
    *out = (uint32_t)x;
    return 0;
}

static int get_bool(struct ctx *c, const struct ynode *v, const char *key, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    if (v->kind == YN_SCALAR && v->plain) {
        for (size_t i = 0; i < 3; i++) {
            if (wr__wf_scalar_is_nocase(v, yes[i])) {
                *out = true;
                return 0;
            }
            if (wr__wf_scalar_is_nocase(v, no[i])) {
                *out = false;
                return 0;
            }
        }
    }
    return FAIL(c, v, "%s must be true or false", key);
}

static int get_list(struct ctx *c, const struct ynode *v, const char *key)
{
    if (v->kind != YN_SEQ)
        return FAIL(c, v, "%s must be a list", key);
    return 0;
}

static void add_ref(struct ctx *c, const struct ynode *n, uint32_t *dst, uint32_t zone,
                    enum ref_kind kind, int dir)
{
    struct ref *r;
    /* Pass 2 sized the list for the map (one exit per direction and room,
     * a graveyard per zone, two per spawner, start); gameplay references
     * (skills' classes, drops, quests...) are not counted there, so it
     * doubles when full (the old copy stays in the scratch arena). */
    if (c->n_refs == c->cap_refs) {
        size_t cap = c->cap_refs * 2 + 16;
        struct ref *bigger = wr_mud_model_alloc(c->tmp, cap * sizeof *bigger);
        if (c->n_refs > 0)
            memcpy(bigger, c->refs, c->n_refs * sizeof *bigger);
        c->refs = bigger;
        c->cap_refs = cap;
    }
    assert(c->n_refs < c->cap_refs);
    r = &c->refs[c->n_refs++];
    r->f = c->f;
    r->n = n;
    r->dst = dst;
    r->zone = zone;
    r->kind = (uint8_t)kind;
    r->dir = (uint8_t)dir;
}

/* A reference written as a scalar (checked in pass 4 for existence). */
static int get_ref(struct ctx *c, const struct ynode *v, const char *key, uint32_t *dst,
                   uint32_t zone, enum ref_kind kind, int dir)
{
    if (v->kind != YN_SCALAR || wr__wf_is_null(v))
        return FAIL(c, v, "%s must name a %s", key,
                    kind == REF_ITEM  ? "item"
                    : kind == REF_NPC ? "npc"
                                      : "room");
    *dst = WR_MUD_NO_ROOM;
    add_ref(c, v, dst, zone, kind, dir);
    return 0;
}

/* ---- the accessors, for worldfile_game*.c ----------------------------------- */

int wr__wf_fields(struct ctx *c, const struct ynode *map, const char *what, const char *const *keys,
                  size_t nk, const struct ynode **vals)
{
    return fields(c, map, what, keys, nk, vals);
}

int wr__wf_need(struct ctx *c, const struct ynode *map, const struct ynode *v, const char *what,
                const char *key)
{
    return need(c, map, v, what, key);
}

int wr__wf_get_str(struct ctx *c, const struct ynode *v, const char *key, size_t max, int mode,
                   char **out)
{
    return get_str(c, v, key, max, mode, out);
}

int wr__wf_get_id(struct ctx *c, const struct ynode *v, const char *key, char **out)
{
    return get_id(c, v, key, out);
}

int wr__wf_get_int(struct ctx *c, const struct ynode *v, const char *key, int64_t lo, int64_t hi,
                   int64_t *out)
{
    return get_int(c, v, key, lo, hi, out);
}

int wr__wf_get_duration(struct ctx *c, const struct ynode *v, const char *key, uint32_t lo,
                        uint32_t hi, uint32_t *out)
{
    return get_duration(c, v, key, lo, hi, out);
}

int wr__wf_get_bool(struct ctx *c, const struct ynode *v, const char *key, bool *out)
{
    return get_bool(c, v, key, out);
}

int wr__wf_get_list(struct ctx *c, const struct ynode *v, const char *key)
{
    return get_list(c, v, key);
}

void wr__wf_add_ref(struct ctx *c, const struct ynode *n, uint32_t *dst, uint32_t zone,
                    enum ref_kind kind, int dir)
{
    add_ref(c, n, dst, zone, kind, dir);
}

/* ---- pass 2: shapes and counts --------------------------------------------- */

static const char *const world_keys[] = {"name", "start", "channels", WF_WORLD_GAME_KEYS};
enum { W_NAME, W_START, W_CHANNELS, W_GAME, W_NKEYS = W_GAME + WG_NKEYS };

static const char *const zfile_keys[] = {"zone",          "rooms",        "items",          "npcs",
                                         "item_spawners", "npc_spawners", WF_ZONE_GAME_KEYS};
enum {
    ZF_ZONE,
    ZF_ROOMS,
    ZF_ITEMS,
    ZF_NPCS,
    ZF_ISP,
    ZF_NSP,
    ZF_GAME,
    ZF_NKEYS = ZF_GAME + ZG_NKEYS
};
_Static_assert(ZF_NKEYS <= sizeof((struct wfile *)0)->top / sizeof(void *),
               "struct wfile's top[] holds every top-level key of a zone file");

static int count(struct ctx *c, const struct ynode *list, const char *what, size_t *total,
                 size_t limit)
{
    if (list == NULL)
        return 0;
    if (get_list(c, list, what) != 0)
        return -1;
    for (const struct ynode *e = list->first; e != NULL; e = e->next)
        if (++*total > limit)
            return FAIL(c, e, "too many %s (at most %zu)", what, limit);
    return 0;
}

int wr__wf_shapes(struct ctx *c)
{
    struct wr_mud_model *m = c->m;
    const struct ynode *wv[W_NKEYS];
    size_t n_zones = 0, n_rooms = 0, n_items = 0, n_npcs = 0, n_isp = 0, n_nsp = 0, n_chan = 0;

    c->f = c->world;
    if (fields(c, c->world->root, "world.yaml", world_keys, W_NKEYS, wv) != 0 ||
        count(c, wv[W_CHANNELS], "channels", &n_chan, MAX_CHANNELS) != 0 ||
        count(c, wv[W_GAME + WG_RACES], "races", &c->cnt_races, MAX_RACES) != 0 ||
        count(c, wv[W_GAME + WG_CLASSES], "classes", &c->cnt_classes, MAX_CLASSES) != 0 ||
        count(c, wv[W_GAME + WG_SKILLS], "skills", &c->cnt_skills, WR_MUD_MAX_SKILLS) != 0 ||
        count(c, wv[W_GAME + WG_SOCIALS], "socials", &c->cnt_socials, MAX_SOCIALS) != 0)
        return -1;
    for (size_t i = 0; i < c->n_files; i++) {
        struct wfile *f = &c->files[i];
        if (f == c->world)
            continue;
        c->f = f;
        if (fields(c, f->root, "zone file", zfile_keys, ZF_NKEYS, f->top) != 0 ||
            need(c, f->root, f->top[ZF_ZONE], "zone file", "zone") != 0)
            return -1;
        if (++n_zones > MAX_ZONES)
            return FAIL(c, f->top[ZF_ZONE], "too many zones (at most %d)", MAX_ZONES);
        if (count(c, f->top[ZF_ROOMS], "rooms", &n_rooms, MAX_ROOMS) != 0 ||
            count(c, f->top[ZF_ITEMS], "items", &n_items, MAX_ITEMS) != 0 ||
            count(c, f->top[ZF_NPCS], "npcs", &n_npcs, MAX_NPCS) != 0 ||
            count(c, f->top[ZF_ISP], "item_spawners", &n_isp, MAX_SPAWNERS) != 0 ||
            count(c, f->top[ZF_NSP], "npc_spawners", &n_nsp, MAX_SPAWNERS) != 0 ||
            count(c, f->top[ZF_GAME + ZG_SHOPS], "shops", &c->cnt_shops, MAX_SHOPS) != 0 ||
            count(c, f->top[ZF_GAME + ZG_QUESTS], "quests", &c->cnt_quests, MAX_QUESTS) != 0)
            return -1;
    }
    m->zones = wr_mud_model_alloc(m, n_zones * sizeof *m->zones);
    m->rooms = wr_mud_model_alloc(m, n_rooms * sizeof *m->rooms);
    m->items = wr_mud_model_alloc(m, n_items * sizeof *m->items);
    m->npcs = wr_mud_model_alloc(m, n_npcs * sizeof *m->npcs);
    m->item_spawners = wr_mud_model_alloc(m, n_isp * sizeof *m->item_spawners);
    m->npc_spawners = wr_mud_model_alloc(m, n_nsp * sizeof *m->npc_spawners);
    m->channels = wr_mud_model_alloc(m, n_chan * sizeof *m->channels);
    wr__wf_tab_init(c, &c->t_zone, n_zones);
    wr__wf_tab_init(c, &c->t_room, n_rooms);
    wr__wf_tab_init(c, &c->t_item, n_items);
    wr__wf_tab_init(c, &c->t_npc, n_npcs);
    wr__wf_tab_init(c, &c->t_chan, n_chan);
    c->w_zone = wr_mud_model_alloc(c->tmp, (n_zones + 1) * sizeof *c->w_zone);
    c->w_room = wr_mud_model_alloc(c->tmp, (n_rooms + 1) * sizeof *c->w_room);
    c->w_item = wr_mud_model_alloc(c->tmp, (n_items + 1) * sizeof *c->w_item);
    c->w_npc = wr_mud_model_alloc(c->tmp, (n_npcs + 1) * sizeof *c->w_npc);
    c->w_chan = wr_mud_model_alloc(c->tmp, (n_chan + 1) * sizeof *c->w_chan);
    c->cap_refs = n_rooms * WR_MUD_NDIRS + n_zones + 2 * (n_isp + n_nsp) + 1;
    c->refs = wr_mud_model_alloc(c->tmp, c->cap_refs * sizeof *c->refs);
    wr__wf_game_alloc(c);
    return 0;
}

/* ---- pass 3: fields ------------------------------------------------------------ */

static const char *const chan_keys[] = {"id", "desc", "default", "history"};
enum { CH_ID, CH_DESC, CH_DEFAULT, CH_HISTORY, CH_NKEYS };

int wr__wf_read_world(struct ctx *c)
{
    struct wr_mud_model *m = c->m;
    const struct ynode *wv[W_NKEYS];

    c->f = c->world;
    fields(c, c->world->root, "world.yaml", world_keys, W_NKEYS, wv); /* checked in pass 2 */
    if (need(c, c->world->root, wv[W_NAME], "world.yaml", "name") != 0 ||
        get_str(c, wv[W_NAME], "name", MAX_LABEL, STR_LINE, &m->name) != 0 ||
        need(c, c->world->root, wv[W_START], "world.yaml", "start") != 0 ||
        get_ref(c, wv[W_START], "start", &m->start_room, 0, REF_START, 0) != 0)
        return -1;
    for (const struct ynode *e = wv[W_CHANNELS] ? wv[W_CHANNELS]->first : NULL; e; e = e->next) {
        struct wr_mud_channel *ch = &m->channels[m->n_channels];
        const struct ynode *v[CH_NKEYS];
        int64_t hist = 0;
        if (fields(c, e, "channel", chan_keys, CH_NKEYS, v) != 0 ||
            need(c, e, v[CH_ID], "channel", "id") != 0 ||
            get_id(c, v[CH_ID], "channel id", &ch->key) != 0 ||
            wr__wf_define(c, &c->t_chan, c->w_chan, "channel", ch->key, (uint32_t)m->n_channels,
                          v[CH_ID]) != 0 ||
            need(c, e, v[CH_DESC], "channel", "desc") != 0 ||
            get_str(c, v[CH_DESC], "desc", MAX_TEXT, STR_LINE, &ch->desc) != 0 ||
            (v[CH_DEFAULT] && get_bool(c, v[CH_DEFAULT], "default", &ch->on_by_default) != 0) ||
            (v[CH_HISTORY] && get_int(c, v[CH_HISTORY], "history", 0, MAX_HISTORY, &hist) != 0))
            return -1;
        ch->history = (uint32_t)hist;
        m->n_channels++;
    }
    return wr__wf_read_world_game(c, wv + W_GAME);
}

static const char *const zone_keys[] = {"id", "name", "desc", "graveyard"};
enum { Z_ID, Z_NAME, Z_DESC, Z_GRAVEYARD, Z_NKEYS };

static const char *const room_keys[] = {"id", "name", "desc", "x", "y", "z", "exits"};
enum { R_ID, R_NAME, R_DESC, R_X, R_Y, R_Z, R_EXITS, R_NKEYS };

static const char *const exit_keys[] = {"to", "door", "closed"};
enum { E_TO, E_DOOR, E_CLOSED, E_NKEYS };

/* A direction key of an exits mapping: lowercase short or long name. */
static int dir_of(const struct ynode *k)
{
    for (int d = 0; d < WR_MUD_NDIRS; d++)
        if (wr__wf_scalar_is(k, wr_mud_dir_name((enum wr_mud_dir)d)) ||
            wr__wf_scalar_is(k, wr_mud_dir_short((enum wr_mud_dir)d)))
            return d;
    return -1;
}

static int read_exits(struct ctx *c, const struct ynode *map, uint32_t room, uint32_t zone)
{
    struct wr_mud_room *r = &c->m->rooms[room];
    const struct ynode *seen[WR_MUD_NDIRS] = {0};
    if (map->kind != YN_MAP)
        return FAIL(c, map, "exits must be a mapping of direction: room");
    for (const struct ynode *k = map->first; k != NULL; k = k->next->next) {
        const struct ynode *v = k->next;
        int d = dir_of(k);
        if (d < 0)
            return FAIL(c, k,
                        "unknown exit direction %s (expected n, s, e, w, ne, nw, se, sw, u, d, "
                        "in, out or north, south... in full)",
                        wr__wf_show(k).s);
        const char *dn = wr_mud_dir_name((enum wr_mud_dir)d);
        if (seen[d] != NULL)
            return FAIL(c, k, "exit %s is given twice (first at line %u)", dn, seen[d]->line);
        seen[d] = k;
        struct wr_mud_exit *x = &r->exits[d];
        if (v->kind == YN_SCALAR) {
            if (get_ref(c, v, dn, &x->to, zone, REF_EXIT, d) != 0)
                return -1;
            continue;
        }
        const struct ynode *ev[E_NKEYS];
        char what[32];
        snprintf(what, sizeof what, "exit %s", dn);
        if (fields(c, v, what, exit_keys, E_NKEYS, ev) != 0 || need(c, v, ev[E_TO], what, "to") ||
            get_ref(c, ev[E_TO], "to", &x->to, zone, REF_EXIT, d) != 0)
            return -1;
        if (ev[E_DOOR] != NULL) {
            if (get_str(c, ev[E_DOOR], "door", MAX_DOOR, STR_LINE, &x->door_name) != 0)
                return -1;
            x->door = true;
        }
        if (ev[E_CLOSED] != NULL) {
            if (!x->door)
                return FAIL(c, ev[E_CLOSED], "closed needs a door on exit %s (add door: NAME)", dn);
            if (get_bool(c, ev[E_CLOSED], "closed", &x->closed) != 0)
                return -1;
        }
    }
    return 0;
}

static int read_room(struct ctx *c, const struct ynode *e, uint32_t zone)
{
    struct wr_mud_model *m = c->m;
    uint32_t idx = (uint32_t)m->n_rooms;
    struct wr_mud_room *r = &m->rooms[idx];
    const struct ynode *v[R_NKEYS];
    char *id;
    int64_t x, y, z = 0;

    if (fields(c, e, "room", room_keys, R_NKEYS, v) != 0 || need(c, e, v[R_ID], "room", "id") ||
        get_id(c, v[R_ID], "room id", &id) != 0)
        return -1;
    size_t zl = strlen(m->zones[zone].key), il = strlen(id);
    r->key = wr_mud_model_alloc(m, zl + il + 2);
    memcpy(r->key, m->zones[zone].key, zl);
    r->key[zl] = '.';
    memcpy(r->key + zl + 1, id, il + 1);
    if (wr__wf_define(c, &c->t_room, c->w_room, "room", r->key, idx, v[R_ID]) != 0)
        return -1;
    r->zone = zone;
    for (int d = 0; d < WR_MUD_NDIRS; d++)
        r->exits[d].to = WR_MUD_NO_ROOM;

    char what[96];
    snprintf(what, sizeof what, "room %s", r->key);
    if (need(c, e, v[R_NAME], what, "name") != 0 ||
        get_str(c, v[R_NAME], "name", MAX_LABEL, STR_LINE, &r->name) != 0 ||
        need(c, e, v[R_DESC], what, "desc") != 0 ||
        get_str(c, v[R_DESC], "desc", MAX_DESC, STR_MULTILINE, &r->desc) != 0 ||
        need(c, e, v[R_X], what, "x") != 0 ||
        get_int(c, v[R_X], "x", -MAX_COORD, MAX_COORD, &x) != 0 ||
        need(c, e, v[R_Y], what, "y") != 0 ||
        get_int(c, v[R_Y], "y", -MAX_COORD, MAX_COORD, &y) != 0 ||
        (v[R_Z] && get_int(c, v[R_Z], "z", -MAX_COORD, MAX_COORD, &z) != 0))
        return -1;
    r->x = (int32_t)x;
    r->y = (int32_t)y;
    r->z = (int32_t)z;
    m->n_rooms++;
    if (v[R_EXITS] != NULL && read_exits(c, v[R_EXITS], idx, zone) != 0)
        return -1;
    return 0;
}

static const char *const item_keys[] = {"id",     "name",  "keywords",       "desc",
                                        "ground", "fixed", WF_ITEM_GAME_KEYS};
enum { I_ID, I_NAME, I_KEYWORDS, I_DESC, I_GROUND, I_FIXED, I_GAME, I_NKEYS = I_GAME + IG_NKEYS };

static int read_item(struct ctx *c, const struct ynode *e)
{
    struct wr_mud_model *m = c->m;
    struct wr_mud_item *it = &m->items[m->n_items];
    it->zone = (uint32_t)m->n_zones - 1; /* the zone file being read (the export needs it) */
    const struct ynode *v[I_NKEYS];
    char what[48];

    if (fields(c, e, "item", item_keys, I_NKEYS, v) != 0 || need(c, e, v[I_ID], "item", "id") ||
        get_id(c, v[I_ID], "item id", &it->key) != 0 ||
        wr__wf_define(c, &c->t_item, c->w_item, "item", it->key, (uint32_t)m->n_items, v[I_ID]) !=
            0)
        return -1;
    snprintf(what, sizeof what, "item %s", it->key);
    if (need(c, e, v[I_NAME], what, "name") != 0 ||
        get_str(c, v[I_NAME], "name", MAX_LABEL, STR_LINE, &it->name) != 0 ||
        need(c, e, v[I_KEYWORDS], what, "keywords") != 0 ||
        get_keywords(c, v[I_KEYWORDS], &it->keywords) != 0 ||
        need(c, e, v[I_DESC], what, "desc") != 0 ||
        get_str(c, v[I_DESC], "desc", MAX_DESC, STR_MULTILINE, &it->desc) != 0 ||
        need(c, e, v[I_GROUND], what, "ground") != 0 ||
        get_str(c, v[I_GROUND], "ground", MAX_TEXT, STR_LINE, &it->ground) != 0 ||
        (v[I_FIXED] && get_bool(c, v[I_FIXED], "fixed", &it->fixed) != 0) ||
        wr__wf_read_item_game(c, v + I_GAME, it, what) != 0)
        return -1;
    m->n_items++;
    return 0;
}

static const char *const action_keys[] = {"say", "emote", "move", "weight"};
enum { A_SAY, A_EMOTE, A_MOVE, A_WEIGHT, A_NKEYS };

/* say: TEXT | emote: TEXT | move: true, with weight (timers only). */
static int read_action(struct ctx *c, const struct ynode *e, const char *what, bool timer,
                       uint32_t max_distance, struct wr_mud_action *a, const struct ynode **v)
{
    int kinds = (v[A_SAY] != NULL) + (v[A_EMOTE] != NULL) + (timer && v[A_MOVE] != NULL);
    if (kinds != 1)
        return FAIL(c, e, "%s needs exactly one of %s", what,
                    timer ? "say, emote or move" : "say or emote");
    a->weight = 1;
    if (v[A_SAY] != NULL) {
        a->kind = WR_ACT_SAY;
        return get_str(c, v[A_SAY], "say", MAX_TEXT, STR_LINE, &a->text);
    }
    if (v[A_EMOTE] != NULL) {
        a->kind = WR_ACT_EMOTE;
        return get_str(c, v[A_EMOTE], "emote", MAX_TEXT, STR_LINE, &a->text);
    }
    bool move;
    a->kind = WR_ACT_MOVE;
    if (get_bool(c, v[A_MOVE], "move", &move) != 0)
        return -1;
    if (!move)
        return FAIL(c, v[A_MOVE], "move must be true (leave the action out instead)");
    if (max_distance == 0)
        return FAIL(c, v[A_MOVE], "move needs the npc's max_distance to be at least 1");
    return 0;
}

/* A rule list: one mapping or a list of mappings. */
static int rule_list(struct ctx *c, const struct ynode *v, const char *key, size_t *n)
{
    if (v->kind == YN_MAP) {
        *n = 1;
        return 0;
    }
    if (v->kind != YN_SEQ)
        return FAIL(c, v, "%s must be a mapping or a list of mappings", key);
    if (v->n > MAX_RULES)
        return FAIL(c, v, "too many %s rules (at most %d)", key, MAX_RULES);
    *n = v->n;
    return 0;
}

static const struct ynode *rule_at(const struct ynode *v, size_t i)
{
    if (v->kind == YN_MAP)
        return v;
    const struct ynode *e = v->first;
    while (i-- > 0)
        e = e->next;
    return e;
}

static const char *const timer_keys[] = {"min_delay", "random_delay", "actions"};
enum { T_MIN, T_RANDOM, T_ACTIONS, T_NKEYS };

static int read_timer(struct ctx *c, const struct ynode *e, struct wr_mud_npc *npc,
                      struct wr_mud_timer_rule *t)
{
    const struct ynode *v[T_NKEYS];
    if (fields(c, e, "timer", timer_keys, T_NKEYS, v) != 0 ||
        need(c, e, v[T_MIN], "timer", "min_delay") != 0 ||
        get_duration(c, v[T_MIN], "min_delay", MIN_INTERVAL, MAX_DELAY, &t->min_delay_ms) != 0 ||
        (v[T_RANDOM] &&
         get_duration(c, v[T_RANDOM], "random_delay", 0, MAX_DELAY, &t->random_delay_ms) != 0) ||
        need(c, e, v[T_ACTIONS], "timer", "actions") != 0 ||
        get_list(c, v[T_ACTIONS], "actions") != 0)
        return -1;
    if (v[T_ACTIONS]->n == 0)
        return FAIL(c, v[T_ACTIONS], "actions must not be empty");
    if (v[T_ACTIONS]->n > MAX_ACTIONS)
        return FAIL(c, v[T_ACTIONS], "too many actions (at most %d)", MAX_ACTIONS);
    t->actions = wr_mud_model_alloc(c->m, v[T_ACTIONS]->n * sizeof *t->actions);
    for (const struct ynode *a = v[T_ACTIONS]->first; a != NULL; a = a->next) {
        struct wr_mud_action *act = &t->actions[t->n_actions];
        const struct ynode *av[A_NKEYS];
        int64_t w = 1;
        if (fields(c, a, "action", action_keys, A_NKEYS, av) != 0 ||
            read_action(c, a, "action", true, npc->max_distance, act, av) != 0 ||
            (av[A_WEIGHT] && get_int(c, av[A_WEIGHT], "weight", 1, MAX_WEIGHT, &w) != 0))
            return -1;
        act->weight = (uint32_t)w;
        t->n_actions++;
    }
    return 0;
}

static const char *const greet_keys[] = {"delay", "say", "emote"};
static const char *const hear_keys[] = {"pattern", "delay", "say", "emote"};

/* greet: {delay, say|emote}; hear: {pattern, delay, say|emote}. */
static int read_reaction(struct ctx *c, const struct ynode *e, bool hear, char **pattern,
                         uint32_t *delay, struct wr_mud_action *a)
{
    const char *what = hear ? "hear" : "greet";
    const struct ynode *v[4], *av[A_NKEYS] = {0};
    size_t off = hear ? 1 : 0;
    if (fields(c, e, what, hear ? hear_keys : greet_keys, hear ? 4 : 3, v) != 0)
        return -1;
    if (hear && (need(c, e, v[0], what, "pattern") != 0 ||
                 get_str(c, v[0], "pattern", MAX_LABEL, STR_LINE, pattern) != 0))
        return -1;
    *delay = 0;
    if (v[off] && get_duration(c, v[off], "delay", 0, MAX_DELAY, delay) != 0)
        return -1;
    av[A_SAY] = v[off + 1];
    av[A_EMOTE] = v[off + 2];
    return read_action(c, e, what, false, 0, a, av);
}

static const char *const behaviour_keys[] = {"timer", "greet", "hear", WF_BEHAVIOUR_GAME_KEYS};
enum { B_TIMER, B_GREET, B_HEAR, B_GAME, B_NKEYS = B_GAME + BG_NKEYS };

static int read_behaviour(struct ctx *c, const struct ynode *e, struct wr_mud_npc *npc)
{
    struct wr_mud_model *m = c->m;
    const struct ynode *v[B_NKEYS];
    size_t n;
    if (fields(c, e, "behaviour", behaviour_keys, B_NKEYS, v) != 0)
        return -1;
    if (v[B_TIMER] != NULL) {
        if (rule_list(c, v[B_TIMER], "timer", &n) != 0)
            return -1;
        npc->timers = wr_mud_model_alloc(m, n * sizeof *npc->timers);
        for (size_t i = 0; i < n; i++, npc->n_timers++)
            if (read_timer(c, rule_at(v[B_TIMER], i), npc, &npc->timers[i]) != 0)
                return -1;
    }
    if (v[B_GREET] != NULL) {
        if (rule_list(c, v[B_GREET], "greet", &n) != 0)
            return -1;
        npc->greets = wr_mud_model_alloc(m, n * sizeof *npc->greets);
        for (size_t i = 0; i < n; i++, npc->n_greets++) {
            struct wr_mud_greet_rule *g = &npc->greets[i];
            if (read_reaction(c, rule_at(v[B_GREET], i), false, NULL, &g->delay_ms, &g->action) !=
                0)
                return -1;
        }
    }
    if (v[B_HEAR] != NULL) {
        if (rule_list(c, v[B_HEAR], "hear", &n) != 0)
            return -1;
        npc->hears = wr_mud_model_alloc(m, n * sizeof *npc->hears);
        for (size_t i = 0; i < n; i++, npc->n_hears++) {
            struct wr_mud_hear_rule *h = &npc->hears[i];
            if (read_reaction(c, rule_at(v[B_HEAR], i), true, &h->pattern, &h->delay_ms,
                              &h->action) != 0)
                return -1;
        }
    }
    return wr__wf_read_behaviour_game(c, v + B_GAME, npc);
}

static const char *const npc_keys[] = {"id",     "name",         "keywords",  "desc",
                                       "ground", "max_distance", "behaviour", WF_NPC_GAME_KEYS};
enum {
    N_ID,
    N_NAME,
    N_KEYWORDS,
    N_DESC,
    N_GROUND,
    N_MAXDIST,
    N_BEHAVIOUR,
    N_GAME,
    N_NKEYS = N_GAME + NG_NKEYS
};

static int read_npc(struct ctx *c, const struct ynode *e)
{
    struct wr_mud_model *m = c->m;
    struct wr_mud_npc *npc = &m->npcs[m->n_npcs];
    npc->zone = (uint32_t)m->n_zones - 1; /* the zone file being read (the export needs it) */
    const struct ynode *v[N_NKEYS];
    int64_t dist = 0;
    char what[48];

    if (fields(c, e, "npc", npc_keys, N_NKEYS, v) != 0 || need(c, e, v[N_ID], "npc", "id") ||
        get_id(c, v[N_ID], "npc id", &npc->key) != 0 ||
        wr__wf_define(c, &c->t_npc, c->w_npc, "npc", npc->key, (uint32_t)m->n_npcs, v[N_ID]) != 0)
        return -1;
    snprintf(what, sizeof what, "npc %s", npc->key);
    if (need(c, e, v[N_NAME], what, "name") != 0 ||
        get_str(c, v[N_NAME], "name", MAX_LABEL, STR_LINE, &npc->name) != 0 ||
        need(c, e, v[N_KEYWORDS], what, "keywords") != 0 ||
        get_keywords(c, v[N_KEYWORDS], &npc->keywords) != 0 ||
        need(c, e, v[N_DESC], what, "desc") != 0 ||
        get_str(c, v[N_DESC], "desc", MAX_DESC, STR_MULTILINE, &npc->desc) != 0 ||
        need(c, e, v[N_GROUND], what, "ground") != 0 ||
        get_str(c, v[N_GROUND], "ground", MAX_TEXT, STR_LINE, &npc->ground) != 0 ||
        (v[N_MAXDIST] && get_int(c, v[N_MAXDIST], "max_distance", 0, MAX_DISTANCE, &dist) != 0))
        return -1;
    npc->max_distance = (uint32_t)dist;
    m->n_npcs++;
    if (wr__wf_read_npc_game(c, v + N_GAME, npc, what) != 0 ||
        (v[N_BEHAVIOUR] != NULL && read_behaviour(c, v[N_BEHAVIOUR], npc) != 0))
        return -1;
    return 0;
}

static const char *const isp_keys[] = {"item", "room", "interval"};
static const char *const nsp_keys[] = {"npc", "room", "interval"};

static int read_spawner(struct ctx *c, const struct ynode *e, bool npc, uint32_t zone)
{
    struct wr_mud_model *m = c->m;
    const char *what = npc ? "npc spawner" : "item spawner";
    const struct ynode *v[3];
    uint32_t *what_idx, *room, *interval;
    if (npc) {
        struct wr_mud_npc_spawner *s = &m->npc_spawners[m->n_npc_spawners++];
        what_idx = &s->npc;
        room = &s->room;
        interval = &s->interval_ms;
    } else {
        struct wr_mud_item_spawner *s = &m->item_spawners[m->n_item_spawners++];
        what_idx = &s->item;
        room = &s->room;
        interval = &s->interval_ms;
    }
    *interval = DEFAULT_INTERVAL;
    if (fields(c, e, what, npc ? nsp_keys : isp_keys, 3, v) != 0 ||
        need(c, e, v[0], what, npc ? "npc" : "item") != 0 ||
        get_ref(c, v[0], npc ? "npc" : "item", what_idx, 0, npc ? REF_NPC : REF_ITEM, 0) != 0 ||
        need(c, e, v[1], what, "room") != 0 ||
        get_ref(c, v[1], "room", room, zone, REF_ROOM, 0) != 0 ||
        (v[2] && get_duration(c, v[2], "interval", MIN_INTERVAL, MAX_INTERVAL, interval) != 0))
        return -1;
    return 0;
}

int wr__wf_read_zone_file(struct ctx *c, struct wfile *f)
{
    struct wr_mud_model *m = c->m;
    uint32_t zi = (uint32_t)m->n_zones;
    struct wr_mud_zone *z = &m->zones[zi];
    const struct ynode *zn = f->top[ZF_ZONE], *v[Z_NKEYS];

    c->f = f;
    if (fields(c, zn, "zone", zone_keys, Z_NKEYS, v) != 0 || need(c, zn, v[Z_ID], "zone", "id") ||
        get_id(c, v[Z_ID], "zone id", &z->key) != 0 ||
        wr__wf_define(c, &c->t_zone, c->w_zone, "zone", z->key, zi, v[Z_ID]) != 0)
        return -1;
    char what[48];
    snprintf(what, sizeof what, "zone %s", z->key);
    if (need(c, zn, v[Z_NAME], what, "name") != 0 ||
        get_str(c, v[Z_NAME], "name", MAX_LABEL, STR_LINE, &z->name) != 0 ||
        need(c, zn, v[Z_DESC], what, "desc") != 0 ||
        get_str(c, v[Z_DESC], "desc", MAX_DESC, STR_MULTILINE, &z->desc) != 0 ||
        need(c, zn, v[Z_GRAVEYARD], what, "graveyard") != 0 ||
        get_ref(c, v[Z_GRAVEYARD], "graveyard", &z->graveyard, zi, REF_GRAVEYARD, 0) != 0)
        return -1;
    m->n_zones++;

    const struct ynode **top = f->top;
    for (const struct ynode *e = top[ZF_ROOMS] ? top[ZF_ROOMS]->first : NULL; e; e = e->next)
        if (read_room(c, e, zi) != 0)
            return -1;
    for (const struct ynode *e = top[ZF_ITEMS] ? top[ZF_ITEMS]->first : NULL; e; e = e->next)
        if (read_item(c, e) != 0)
            return -1;
    for (const struct ynode *e = top[ZF_NPCS] ? top[ZF_NPCS]->first : NULL; e; e = e->next)
        if (read_npc(c, e) != 0)
            return -1;
    for (const struct ynode *e = top[ZF_ISP] ? top[ZF_ISP]->first : NULL; e; e = e->next)
        if (read_spawner(c, e, false, zi) != 0)
            return -1;
    for (const struct ynode *e = top[ZF_NSP] ? top[ZF_NSP]->first : NULL; e; e = e->next)
        if (read_spawner(c, e, true, zi) != 0)
            return -1;
    return wr__wf_read_zone_game(c, top + ZF_GAME, zi);
}

/* ---- pass 4: references -------------------------------------------------- */

int wr__wf_resolve(struct ctx *c, const struct ref *r)
{
    const struct ynode *n = r->n;
    long idx;
    char key[2 * MAX_ID + 2];

    c->f = r->f;
    if (r->kind == REF_SKILL || r->kind == REF_CLASS || r->kind == REF_QUEST)
        return wr__wf_resolve_game(c, r);
    if (r->kind == REF_ITEM || r->kind == REF_NPC) {
        idx = memchr(n->s, '\0', n->len)
                  ? -1
                  : wr__wf_tab_get(r->kind == REF_ITEM ? &c->t_item : &c->t_npc, n->s);
        if (idx < 0)
            return FAIL(c, n, "unknown %s %s", r->kind == REF_ITEM ? "item" : "npc",
                        wr__wf_show(n).s);
        *r->dst = (uint32_t)idx;
        return 0;
    }
    /* A room: "zone.room", or "room" in the referring zone. */
    const char *dot = memchr(n->s, '.', n->len);
    if (dot == NULL && r->kind == REF_START)
        return FAIL(c, n, "start must name a room as zone.room (got %s)", wr__wf_show(n).s);
    idx = -1;
    if (memchr(n->s, '\0', n->len) == NULL) {
        if (dot != NULL) {
            idx = wr__wf_tab_get(&c->t_room, n->s);
            snprintf(key, sizeof key, "%s", wr__wf_show(n).s);
        } else {
            int k = snprintf(key, sizeof key, "%s.%s", c->m->zones[r->zone].key, n->s);
            idx = (k > 0 && (size_t)k < sizeof key) ? wr__wf_tab_get(&c->t_room, key) : -1;
            if (idx < 0)
                snprintf(key, sizeof key, "%s.%s", c->m->zones[r->zone].key, wr__wf_show(n).s);
        }
    } else {
        snprintf(key, sizeof key, "%s", wr__wf_show(n).s);
    }
    if (idx < 0) {
        switch (r->kind) {
        case REF_EXIT:
            return FAIL(c, n, "exit %s leads to unknown room %s",
                        wr_mud_dir_name((enum wr_mud_dir)r->dir), key);
        case REF_GRAVEYARD:
            return FAIL(c, n, "graveyard %s is not a room", key);
        case REF_START:
            return FAIL(c, n, "start room %s does not exist", key);
        default:
            return FAIL(c, n, "unknown room %s", key);
        }
    }
    *r->dst = (uint32_t)idx;
    return r->kind == REF_SHOP_ROOM ? wr__wf_check_shop_room(c, r) : 0;
}
