/* The canonical export of a world model (worldfile.h): the model written
 * back as the YAML files of docs/world-format.md, in a bundle.
 *
 * Canonical means that the bytes depend on the world and on nothing else:
 *   - every file has its keys in one fixed order (that of the tables of
 *     docs/world-format.md, an NPC's behaviour last), and every value is
 *     written out even when it equals the default, so a later change of a
 *     default can never change what an exported world means;
 *   - durations are integer milliseconds, keywords one string, stats and
 *     armour every stat and every damage type;
 *   - lists keep model order; each zone file holds the zone's rooms, the
 *     items and NPCs defined in it (their `zone`), the spawners and shops
 *     whose room is in it and the quests whose giver is defined in it;
 *   - room references are short ("square") inside their own zone and
 *     "zone.room" elsewhere; the start room is always "zone.room";
 *   - libyaml's emitter decides quoting, folding and escaping, with fixed
 *     settings (2-space indent, 80 columns, UTF-8 unescaped).
 * Parsing keeps model order within a file and records where items and NPCs
 * were defined, so parse(export(m)) puts every object back in the same
 * file and the same relative order: export(parse(export(m))) == export(m)
 * byte for byte, which is what makes the world hash (mud_zone.c) a hash of
 * the world rather than of its formatting.
 *
 * What the files cannot say, or the loader refuses, is left out rather
 * than invented: an item's slot when it has none (and then its stats and
 * armour), a weapon's damage on what is not one, a peaceful NPC's combat
 * fields and drops (an NPC without a level), a train_cost on a skill that
 * is not trained, an absent message line, a shop without a keeper, a stock
 * line's price when it is the item's own (0). Empty lists are left out too,
 * except a skill's classes ([] means no class; left out, every class).
 *
 * Pure: libyaml writes into memory through a callback; no I/O, no clock.
 * Run inside the state machine (every world install computes the hash), so
 * the same model gives the same bytes on every node. */
#include "mud/worldfile.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/alloc.h"

#define NONE UINT32_MAX
#define WORLD_FILE UINT32_MAX /* em.zone while writing world.yaml */

/* One file being written. Errors are sticky: the first one is kept in err
 * and every later call does nothing, so the writers below need no checks
 * of their own between fields. */
struct em {
    yaml_emitter_t y;
    const struct wr_mud_model *m;
    uint32_t zone; /* the file's zone, or WORLD_FILE */
    bool failed;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3))) static void fail(struct em *e, const char *fmt, ...)
{
    if (e->failed)
        return;
    e->failed = true;
    if (e->errlen == 0)
        return;
    int n = snprintf(e->err, e->errlen, "export: ");
    if (n < 0 || (size_t)n >= e->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err + n, e->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static int on_write(void *data, unsigned char *bytes, size_t size)
{
    wr_put_bytes(data, bytes, size);
    return 1;
}

/* Hand @ev (initialized when @inited) to the emitter, which owns it from
 * then on, whether or not it succeeds. */
static void put(struct em *e, yaml_event_t *ev, int inited)
{
    if (!inited) {
        fail(e, "out of memory");
        return;
    }
    if (!yaml_emitter_emit(&e->y, ev))
        fail(e, "YAML emitter: %s", e->y.problem ? e->y.problem : "unknown error");
}

/* ---- scalars --------------------------------------------------------------- */

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool same_nocase(const char *s, const char *lower)
{
    for (; *s && *lower; s++, lower++) {
        char ch = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s;
        if (ch != *lower)
            return false;
    }
    return *s == *lower;
}

/* Would @s, written plain, read as something other than a string to a YAML
 * reader: null, a boolean or a number? Our parser takes any scalar as a
 * string where it wants one, except null; the others are quoted for every
 * other tool that reads the files. */
static bool looks_typed(const char *s)
{
    static const char *const words[] = {"~",   "null", "true", "false", "yes",   "no",  "on",
                                        "off", "y",    "n",    ".inf",  "-.inf", ".nan"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (same_nocase(s, words[i]))
            return true;
    const char *p = s + (*s == '-' || *s == '+');
    if (!is_digit(*p) && !(*p == '.' && is_digit(p[1])))
        return false;
    for (; *p; p++)
        if (!is_digit(*p) && *p != '.' && *p != '_' && *p != ':' && *p != 'e' && *p != 'E' &&
            *p != '+' && *p != '-' && *p != 'x' && *p != 'o')
            return false;
    return true;
}

static void scalar(struct em *e, const char *s, yaml_scalar_style_t style, bool plain_ok)
{
    yaml_event_t ev;
    if (e->failed)
        return;
    put(e, &ev,
        yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)(uintptr_t)s, (int)strlen(s),
                                     plain_ok, 1, style));
}

/* A key, an id, a number or a boolean: always plain. */
static void word(struct em *e, const char *s)
{
    scalar(e, s, YAML_PLAIN_SCALAR_STYLE, true);
}

/* A string: plain where YAML allows it and it does not look typed; a text
 * with line breaks as a literal block (|), which keeps them. */
static void str(struct em *e, const char *s)
{
    if (strchr(s, '\n') != NULL)
        scalar(e, s, YAML_LITERAL_SCALAR_STYLE, false);
    else
        scalar(e, s, YAML_ANY_SCALAR_STYLE, s[0] != '\0' && !looks_typed(s));
}

static void num(struct em *e, long long v)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", v);
    word(e, b);
}

static void boolean(struct em *e, bool v)
{
    word(e, v ? "true" : "false");
}

/* ---- collections ------------------------------------------------------------ */

static void map_start(struct em *e, bool flow)
{
    yaml_event_t ev;
    if (e->failed)
        return;
    put(e, &ev,
        yaml_mapping_start_event_initialize(
            &ev, NULL, NULL, 1, flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

static void map_end(struct em *e)
{
    yaml_event_t ev;
    if (e->failed)
        return;
    put(e, &ev, yaml_mapping_end_event_initialize(&ev));
}

static void seq_start(struct em *e, bool flow)
{
    yaml_event_t ev;
    if (e->failed)
        return;
    put(e, &ev,
        yaml_sequence_start_event_initialize(
            &ev, NULL, NULL, 1, flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE));
}

static void seq_end(struct em *e)
{
    yaml_event_t ev;
    if (e->failed)
        return;
    put(e, &ev, yaml_sequence_end_event_initialize(&ev));
}

/* ---- key: value ------------------------------------------------------------- */

/* A required string: a model without it cannot be written. */
static void kv_str(struct em *e, const char *k, const char *v, const char *what)
{
    if (v == NULL || v[0] == '\0') {
        fail(e, "%s has no %s", what, k);
        return;
    }
    word(e, k);
    str(e, v);
}

/* An optional string: left out when absent. */
static void kv_opt(struct em *e, const char *k, const char *v)
{
    if (v == NULL || v[0] == '\0')
        return;
    word(e, k);
    str(e, v);
}

static void kv_num(struct em *e, const char *k, long long v)
{
    word(e, k);
    num(e, v);
}

static void kv_bool(struct em *e, const char *k, bool v)
{
    word(e, k);
    boolean(e, v);
}

static void kv_word(struct em *e, const char *k, const char *v)
{
    word(e, k);
    word(e, v);
}

/* ---- references --------------------------------------------------------------- */

/* The key of the @idx-th of @n objects @stride bytes apart, each starting
 * with its `char *key` (asserted below), or NULL after failing with what
 * refers to it. */
static const char *key_of(struct em *e, const void *arr, size_t n, size_t stride, uint32_t idx,
                          const char *kind, const char *what)
{
    if (idx >= n) {
        fail(e, "%s refers to %s index %u (the world has %zu)", what, kind, idx, n);
        return NULL;
    }
    return *(char *const *)(const void *)((const char *)arr + (size_t)idx * stride);
}

#define KEY_OF(e, arr, n, idx, kind, what) key_of((e), (arr), (n), sizeof *(arr), (idx), kind, what)
_Static_assert(offsetof(struct wr_mud_room, key) == 0, "KEY_OF: key first");
_Static_assert(offsetof(struct wr_mud_item, key) == 0, "KEY_OF: key first");
_Static_assert(offsetof(struct wr_mud_npc, key) == 0, "KEY_OF: key first");
_Static_assert(offsetof(struct wr_mud_skill, key) == 0, "KEY_OF: key first");
_Static_assert(offsetof(struct wr_mud_class, key) == 0, "KEY_OF: key first");
_Static_assert(offsetof(struct wr_mud_quest, key) == 0, "KEY_OF: key first");

static void v_key(struct em *e, const char *key)
{
    if (key != NULL)
        word(e, key);
}

/* A room: its short id in the file's own zone, else zone.room. */
static void v_room(struct em *e, uint32_t room, const char *what)
{
    const struct wr_mud_model *m = e->m;
    const char *key = KEY_OF(e, m->rooms, m->n_rooms, room, "room", what);
    if (key == NULL)
        return;
    const struct wr_mud_room *r = &m->rooms[room];
    /* checked by check_rooms: key is "ZONE.ID" of its zone */
    word(e, r->zone == e->zone ? key + strlen(m->zones[r->zone].key) + 1 : key);
}

static void kv_room(struct em *e, const char *k, uint32_t room, const char *what)
{
    word(e, k);
    v_room(e, room, what);
}

static void kv_item(struct em *e, const char *k, uint32_t item, const char *what)
{
    const char *key = KEY_OF(e, e->m->items, e->m->n_items, item, "item", what);
    word(e, k);
    v_key(e, key);
}

static void kv_npc(struct em *e, const char *k, uint32_t npc, const char *what)
{
    const char *key = KEY_OF(e, e->m->npcs, e->m->n_npcs, npc, "npc", what);
    word(e, k);
    v_key(e, key);
}

static void kv_skill(struct em *e, const char *k, uint32_t skill, const char *what)
{
    const char *key = KEY_OF(e, e->m->skills, e->m->n_skills, skill, "skill", what);
    word(e, k);
    v_key(e, key);
}

static void kv_quest(struct em *e, const char *k, uint32_t quest, const char *what)
{
    const char *key = KEY_OF(e, e->m->quests, e->m->n_quests, quest, "quest", what);
    word(e, k);
    v_key(e, key);
}

/* ---- the vocabulary --------------------------------------------------------------- */

static void kv_enum(struct em *e, const char *k, unsigned v, unsigned n,
                    const char *(*name)(unsigned), const char *kind, const char *what)
{
    if (v >= n) {
        fail(e, "%s has an unknown %s (%u)", what, kind, v);
        return;
    }
    kv_word(e, k, name(v));
}

static const char *stat_name(unsigned v)
{
    return wr_mud_stat_name((enum wr_mud_stat)v);
}
static const char *pool_name(unsigned v)
{
    return wr_mud_pool_name((enum wr_mud_pool)v);
}
static const char *dtype_name(unsigned v)
{
    return wr_mud_dtype_name((enum wr_mud_dtype)v);
}
static const char *slot_name(unsigned v)
{
    return wr_mud_slot_name((enum wr_mud_slot)v);
}

#define KV_STAT(e, k, v, what) kv_enum((e), (k), (v), WR_MUD_NSTATS, stat_name, "stat", (what))
#define KV_POOL(e, k, v, what) kv_enum((e), (k), (v), WR_MUD_NPOOLS, pool_name, "pool", (what))
#define KV_DTYPE(e, k, v, what)                                                                    \
    kv_enum((e), (k), (v), WR_MUD_NDTYPES, dtype_name, "damage type", (what))

/* stats: every stat, in enum order, on one line. */
static void kv_stats(struct em *e, const char *k, const int32_t *stats)
{
    word(e, k);
    map_start(e, true);
    for (unsigned s = 0; s < WR_MUD_NSTATS; s++)
        kv_num(e, stat_name(s), stats[s]);
    map_end(e);
}

/* armour: every damage type, in enum order. */
static void kv_armour(struct em *e, const char *k, const int32_t *armour)
{
    word(e, k);
    map_start(e, true);
    for (unsigned t = 0; t < WR_MUD_NDTYPES; t++)
        kv_num(e, dtype_name(t), armour[t]);
    map_end(e);
}

/* {type, min, max}: a weapon's damage, an NPC's attack. */
static void kv_damage(struct em *e, const char *k, uint8_t dtype, uint32_t lo, uint32_t hi,
                      const char *what)
{
    word(e, k);
    map_start(e, true);
    KV_DTYPE(e, "type", dtype, what);
    kv_num(e, "min", lo);
    kv_num(e, "max", hi);
    map_end(e);
}

/* A message: its lines that exist; left out when it has none (unless
 * @required: then an empty mapping, which says "nothing shown"). */
static void kv_msg(struct em *e, const char *k, const struct wr_mud_msg *msg, bool required)
{
    if (!required && msg->actor == NULL && msg->target == NULL && msg->room == NULL)
        return;
    word(e, k);
    map_start(e, false);
    kv_opt(e, "actor", msg->actor);
    kv_opt(e, "target", msg->target);
    kv_opt(e, "room", msg->room);
    map_end(e);
}

static void effects(struct em *e, const struct wr_mud_effect *fx, size_t n, const char *what)
{
    static const char *const kinds[] = {"damage", "dot", "recover", "stat", "armour"};
    word(e, "effects");
    seq_start(e, false);
    for (size_t i = 0; i < n; i++) {
        const struct wr_mud_effect *f = &fx[i];
        if (f->kind > WR_EFF_ARMOUR) {
            fail(e, "%s has an effect of unknown kind %u", what, f->kind);
            return;
        }
        bool typed = f->kind == WR_EFF_DAMAGE || f->kind == WR_EFF_DOT || f->kind == WR_EFF_ARMOUR;
        bool rolled = f->kind == WR_EFF_DAMAGE || f->kind == WR_EFF_RECOVER;
        bool lasting = f->kind == WR_EFF_DOT || f->kind == WR_EFF_STAT || f->kind == WR_EFF_ARMOUR;
        map_start(e, false);
        kv_word(e, "kind", kinds[f->kind]);
        if (typed)
            KV_DTYPE(e, "type", f->dtype, what);
        if (f->kind == WR_EFF_STAT)
            KV_STAT(e, "stat", f->stat, what);
        if (f->kind == WR_EFF_RECOVER)
            KV_POOL(e, "pool", f->pool, what);
        kv_num(e, "amount", f->amount);
        if (rolled)
            kv_num(e, "roll", f->roll);
        if (f->kind != WR_EFF_STAT && f->kind != WR_EFF_ARMOUR && f->scale_stat != 255)
            KV_STAT(e, "scale", f->scale_stat, what);
        if (lasting)
            kv_num(e, "duration", f->duration_ms);
        kv_bool(e, "self", f->self);
        map_end(e);
    }
    seq_end(e);
}

/* ---- world.yaml ----------------------------------------------------------------- */

static void rules(struct em *e)
{
    const struct wr_mud_rules *r = &e->m->rules;
    word(e, "rules");
    map_start(e, false);
    kv_num(e, "round", r->round_ms);
    kv_num(e, "regen", r->regen_ms);
    kv_num(e, "corpse", r->corpse_ms);
    kv_num(e, "max_level", r->max_level);
    kv_num(e, "xp_base", r->xp_base);
    kv_num(e, "death_xp", r->death_xp_percent);
    kv_num(e, "start_gold", r->start_gold);
    kv_num(e, "hone_cost", r->hone_cost);
    map_end(e);
}

static void channels(struct em *e)
{
    const struct wr_mud_model *m = e->m;
    if (m->n_channels == 0)
        return;
    word(e, "channels");
    seq_start(e, false);
    for (size_t i = 0; i < m->n_channels; i++) {
        const struct wr_mud_channel *ch = &m->channels[i];
        map_start(e, false);
        kv_str(e, "id", ch->key, "a channel");
        kv_str(e, "desc", ch->desc, ch->key ? ch->key : "a channel");
        kv_bool(e, "default", ch->on_by_default);
        kv_num(e, "history", ch->history);
        map_end(e);
    }
    seq_end(e);
}

/* races and classes: the same shape, a class adding its attack type. */
static void race_or_class(struct em *e, const char *key, const char *name, const char *desc,
                          const int32_t *stats, const uint8_t *attack, const char *kind)
{
    char what[64];
    snprintf(what, sizeof what, "%s %s", kind, key ? key : "?");
    map_start(e, false);
    kv_str(e, "id", key, what);
    kv_str(e, "name", name, what);
    kv_opt(e, "desc", desc);
    kv_stats(e, "stats", stats);
    if (attack != NULL)
        KV_DTYPE(e, "attack", *attack, what);
    map_end(e);
}

static void races_classes(struct em *e)
{
    const struct wr_mud_model *m = e->m;
    if (m->n_races > 0) {
        word(e, "races");
        seq_start(e, false);
        for (size_t i = 0; i < m->n_races; i++) {
            const struct wr_mud_race *r = &m->races[i];
            race_or_class(e, r->key, r->name, r->desc, r->stats, NULL, "race");
        }
        seq_end(e);
    }
    if (m->n_classes > 0) {
        word(e, "classes");
        seq_start(e, false);
        for (size_t i = 0; i < m->n_classes; i++) {
            const struct wr_mud_class *c = &m->classes[i];
            race_or_class(e, c->key, c->name, c->desc, c->stats, &c->attack_dtype, "class");
        }
        seq_end(e);
    }
}

static void skill(struct em *e, const struct wr_mud_skill *s)
{
    const struct wr_mud_model *m = e->m;
    char what[64];
    snprintf(what, sizeof what, "skill %s", s->key ? s->key : "?");
    map_start(e, false);
    kv_str(e, "id", s->key, what);
    kv_str(e, "name", s->name, what);
    kv_opt(e, "desc", s->desc);
    kv_num(e, "level", s->level);
    /* always listed: left out, it would mean every class, and [] means none */
    word(e, "classes");
    seq_start(e, true);
    for (size_t i = 0; i < s->n_classes; i++)
        v_key(e, KEY_OF(e, m->classes, m->n_classes, s->classes[i], "class", what));
    seq_end(e);
    kv_num(e, "cost", s->cost);
    if (s->cost_pool != WR_POOL_SP && s->cost_pool != WR_POOL_EP)
        fail(e, "%s costs %s points (only skill or endurance)", what, pool_name(s->cost_pool));
    kv_word(e, "pool", s->cost_pool == WR_POOL_EP ? "endurance" : "skill");
    kv_num(e, "cooldown", s->cooldown_ms);
    if (s->target > WR_TGT_SELF)
        fail(e, "%s has an unknown target kind %u", what, s->target);
    kv_word(e, "target", s->target == WR_TGT_SELF ? "self" : "enemy");
    kv_bool(e, "trained", s->trained);
    if (s->trained) /* a price for training only means something then */
        kv_num(e, "train_cost", s->train_cost);
    effects(e, s->effects, s->n_effects, what);
    kv_msg(e, "msg", &s->msg, false);
    map_end(e);
}

static void skills_socials(struct em *e)
{
    const struct wr_mud_model *m = e->m;
    if (m->n_skills > 0) {
        word(e, "skills");
        seq_start(e, false);
        for (size_t i = 0; i < m->n_skills; i++)
            skill(e, &m->skills[i]);
        seq_end(e);
    }
    if (m->n_socials > 0) {
        word(e, "socials");
        seq_start(e, false);
        for (size_t i = 0; i < m->n_socials; i++) {
            const struct wr_mud_social *so = &m->socials[i];
            map_start(e, false);
            kv_str(e, "id", so->key, "a social");
            kv_msg(e, "alone", &so->alone, true);
            kv_msg(e, "other", &so->other, true);
            map_end(e);
        }
        seq_end(e);
    }
}

static void world_file(struct em *e)
{
    const struct wr_mud_model *m = e->m;
    kv_str(e, "name", m->name, "the world");
    word(e, "start");
    if (m->start_room >= m->n_rooms)
        fail(e, "the start room index %u is out of range (the world has %zu rooms)", m->start_room,
             m->n_rooms);
    else
        word(e, m->rooms[m->start_room].key);
    channels(e);
    rules(e);
    races_classes(e);
    skills_socials(e);
}

/* ---- zone files ------------------------------------------------------------------- */

static void exits(struct em *e, const struct wr_mud_room *r)
{
    bool any = false;
    for (int d = 0; d < WR_MUD_NDIRS; d++)
        any |= r->exits[d].to != WR_MUD_NO_ROOM;
    if (!any)
        return;
    word(e, "exits");
    map_start(e, false);
    for (int d = 0; d < WR_MUD_NDIRS; d++) {
        const struct wr_mud_exit *x = &r->exits[d];
        char what[96];
        if (x->to == WR_MUD_NO_ROOM)
            continue;
        snprintf(what, sizeof what, "exit %s of room %s", wr_mud_dir_name((enum wr_mud_dir)d),
                 r->key);
        word(e, wr_mud_dir_name((enum wr_mud_dir)d));
        if (!x->door) {
            v_room(e, x->to, what);
            continue;
        }
        map_start(e, true);
        kv_room(e, "to", x->to, what);
        kv_str(e, "door", x->door_name, what);
        kv_bool(e, "closed", x->closed);
        map_end(e);
    }
    map_end(e);
}

static void room(struct em *e, const struct wr_mud_room *r)
{
    char what[96];
    snprintf(what, sizeof what, "room %s", r->key);
    map_start(e, false);
    word(e, "id");
    word(e, r->key + strlen(e->m->zones[r->zone].key) + 1);
    kv_str(e, "name", r->name, what);
    kv_str(e, "desc", r->desc, what);
    kv_num(e, "x", r->x);
    kv_num(e, "y", r->y);
    kv_num(e, "z", r->z);
    exits(e, r);
    map_end(e);
}

static void item_use(struct em *e, const struct wr_mud_item_use *u, const char *what)
{
    map_start(e, false);
    kv_str(e, "verb", u->verb, what);
    effects(e, u->effects, u->n_effects, what);
    kv_msg(e, "msg", &u->msg, false);
    kv_bool(e, "consumed", u->consumed);
    map_end(e);
}

static void item(struct em *e, const struct wr_mud_item *it)
{
    char what[64];
    snprintf(what, sizeof what, "item %s", it->key ? it->key : "?");
    map_start(e, false);
    kv_str(e, "id", it->key, what);
    kv_str(e, "name", it->name, what);
    kv_str(e, "keywords", it->keywords, what);
    kv_str(e, "desc", it->desc, what);
    kv_str(e, "ground", it->ground, what);
    kv_bool(e, "fixed", it->fixed);
    /* bonuses count while worn and damage while wielded: an item that is
     * not worn has none to write */
    if (it->slot != WR_SLOT_NONE) {
        kv_enum(e, "slot", it->slot, WR_MUD_NSLOTS, slot_name, "slot", what);
        kv_stats(e, "stats", it->stats);
        kv_armour(e, "armour", it->armour);
    }
    if (it->slot == WR_SLOT_WIELD && (it->dmg_min != 0 || it->dmg_max != 0)) /* 0/0: no weapon */
        kv_damage(e, "damage", it->dtype, it->dmg_min, it->dmg_max, what);
    kv_num(e, "price", it->price);
    kv_num(e, "level", it->level);
    if (it->n_uses > 0) {
        word(e, "uses");
        seq_start(e, false);
        for (size_t i = 0; i < it->n_uses; i++)
            item_use(e, &it->uses[i], what);
        seq_end(e);
    }
    map_end(e);
}

/* The body of an action: say, emote, move, attack or skill, then its
 * weight where actions are drawn by weight. */
static void action(struct em *e, const struct wr_mud_action *a, bool weighted, const char *what)
{
    switch (a->kind) {
    case WR_ACT_SAY:
        kv_str(e, "say", a->text, what);
        break;
    case WR_ACT_EMOTE:
        kv_str(e, "emote", a->text, what);
        break;
    case WR_ACT_MOVE:
        kv_bool(e, "move", true);
        break;
    case WR_ACT_ATTACK:
        kv_bool(e, "attack", true);
        break;
    case WR_ACT_SKILL:
        kv_skill(e, "skill", a->skill, what);
        break;
    default:
        fail(e, "%s has an action of unknown kind %d", what, (int)a->kind);
        return;
    }
    if (weighted)
        kv_num(e, "weight", a->weight);
}

static void actions(struct em *e, const char *k, const struct wr_mud_action *a, size_t n,
                    const char *what)
{
    word(e, k);
    seq_start(e, false);
    for (size_t i = 0; i < n; i++) {
        map_start(e, false);
        action(e, &a[i], true, what);
        map_end(e);
    }
    seq_end(e);
}

static void behaviour(struct em *e, const struct wr_mud_npc *n, const char *what)
{
    if (n->n_timers + n->n_greets + n->n_hears + n->n_combat + n->n_targeted == 0)
        return;
    word(e, "behaviour");
    map_start(e, false);
    if (n->n_timers > 0) {
        word(e, "timer");
        seq_start(e, false);
        for (size_t i = 0; i < n->n_timers; i++) {
            const struct wr_mud_timer_rule *t = &n->timers[i];
            map_start(e, false);
            kv_num(e, "min_delay", t->min_delay_ms);
            kv_num(e, "random_delay", t->random_delay_ms);
            actions(e, "actions", t->actions, t->n_actions, what);
            map_end(e);
        }
        seq_end(e);
    }
    if (n->n_greets > 0) {
        word(e, "greet");
        seq_start(e, false);
        for (size_t i = 0; i < n->n_greets; i++) {
            map_start(e, false);
            kv_num(e, "delay", n->greets[i].delay_ms);
            action(e, &n->greets[i].action, false, what);
            map_end(e);
        }
        seq_end(e);
    }
    if (n->n_hears > 0) {
        word(e, "hear");
        seq_start(e, false);
        for (size_t i = 0; i < n->n_hears; i++) {
            map_start(e, false);
            kv_str(e, "pattern", n->hears[i].pattern, what);
            kv_num(e, "delay", n->hears[i].delay_ms);
            action(e, &n->hears[i].action, false, what);
            map_end(e);
        }
        seq_end(e);
    }
    if (n->n_combat > 0)
        actions(e, "combat", n->combat, n->n_combat, what);
    if (n->n_targeted > 0)
        actions(e, "targeted", n->targeted, n->n_targeted, what);
    map_end(e);
}

/* level and what comes with it (its drops included: only what dies
 * drops anything); a peaceful NPC (level 0) has none of them. */
static void npc_combat(struct em *e, const struct wr_mud_npc *n, const char *what)
{
    if (n->level == 0)
        return;
    kv_num(e, "level", n->level);
    kv_stats(e, "stats", n->stats);
    kv_num(e, "health", n->max[WR_POOL_HP]);
    kv_num(e, "skill", n->max[WR_POOL_SP]);
    kv_num(e, "endurance", n->max[WR_POOL_EP]);
    kv_armour(e, "armour", n->armour);
    kv_damage(e, "attack", n->dtype, n->dmg_min, n->dmg_max, what);
    word(e, "gold");
    map_start(e, true);
    kv_num(e, "min", n->gold_min);
    kv_num(e, "max", n->gold_max);
    map_end(e);
    kv_bool(e, "aggressive", n->aggressive);
    if (n->n_drops > 0) {
        word(e, "drops");
        seq_start(e, false);
        for (size_t i = 0; i < n->n_drops; i++) {
            map_start(e, true);
            kv_item(e, "item", n->drops[i].item, what);
            kv_num(e, "chance", n->drops[i].chance);
            map_end(e);
        }
        seq_end(e);
    }
}

static void npc(struct em *e, const struct wr_mud_npc *n)
{
    const struct wr_mud_model *m = e->m;
    char what[64];
    snprintf(what, sizeof what, "npc %s", n->key ? n->key : "?");
    map_start(e, false);
    kv_str(e, "id", n->key, what);
    kv_str(e, "name", n->name, what);
    kv_str(e, "keywords", n->keywords, what);
    kv_str(e, "desc", n->desc, what);
    kv_str(e, "ground", n->ground, what);
    kv_num(e, "max_distance", n->max_distance);
    npc_combat(e, n, what);
    if (n->n_teaches > 0) {
        word(e, "teaches");
        seq_start(e, true);
        for (size_t i = 0; i < n->n_teaches; i++)
            v_key(e, KEY_OF(e, m->skills, m->n_skills, n->teaches[i], "skill", what));
        seq_end(e);
    }
    if (n->n_topics > 0) {
        word(e, "talk");
        seq_start(e, false);
        for (size_t i = 0; i < n->n_topics; i++) {
            const struct wr_mud_topic *t = &n->topics[i];
            map_start(e, false);
            kv_str(e, "topic", t->key, what);
            kv_str(e, "text", t->text, what);
            if (t->quest != NONE)
                kv_quest(e, "quest", t->quest, what);
            map_end(e);
        }
        seq_end(e);
    }
    behaviour(e, n, what);
    map_end(e);
}

/* item_spawners of the zone: those whose room is in it. */
static void item_spawners(struct em *e)
{
    const struct wr_mud_model *m = e->m;
    bool any = false;
    for (size_t i = 0; i < m->n_item_spawners; i++) {
        const struct wr_mud_item_spawner *s = &m->item_spawners[i];
        if (s->room >= m->n_rooms || m->rooms[s->room].zone != e->zone)
            continue; /* out of range: check_model refused it already */
        if (!any) {
            word(e, "item_spawners");
            seq_start(e, false);
            any = true;
        }
        map_start(e, true);
        kv_item(e, "item", s->item, "an item spawner");
        kv_room(e, "room", s->room, "an item spawner");
        kv_num(e, "interval", s->interval_ms);
        map_end(e);
    }
    if (any)
        seq_end(e);
}

/* npc_spawners of the zone: those whose room is in it. */
static void npc_spawners(struct em *e)
{
    const struct wr_mud_model *m = e->m;
    bool any = false;
    for (size_t i = 0; i < m->n_npc_spawners; i++) {
        const struct wr_mud_npc_spawner *s = &m->npc_spawners[i];
        if (s->room >= m->n_rooms || m->rooms[s->room].zone != e->zone)
            continue;
        if (!any) {
            word(e, "npc_spawners");
            seq_start(e, false);
            any = true;
        }
        map_start(e, true);
        kv_npc(e, "npc", s->npc, "an npc spawner");
        kv_room(e, "room", s->room, "an npc spawner");
        kv_num(e, "interval", s->interval_ms);
        map_end(e);
    }
    if (any)
        seq_end(e);
}

static void shop(struct em *e, const struct wr_mud_shop *s)
{
    char what[64];
    snprintf(what, sizeof what, "shop %s", s->key ? s->key : "?");
    map_start(e, false);
    kv_str(e, "id", s->key, what);
    kv_str(e, "name", s->name, what);
    kv_room(e, "room", s->room, what);
    if (s->keeper != NONE)
        kv_npc(e, "keeper", s->keeper, what);
    kv_num(e, "buy_percent", s->buy_percent);
    word(e, "stock");
    seq_start(e, false);
    for (size_t i = 0; i < s->n_stock; i++) {
        const struct wr_mud_stock *st = &s->stock[i];
        map_start(e, true);
        kv_item(e, "item", st->item, what);
        kv_num(e, "count", st->count);
        if (st->price != 0) /* 0: the item's own price */
            kv_num(e, "price", st->price);
        map_end(e);
    }
    seq_end(e);
    map_end(e);
}

static void quest(struct em *e, const struct wr_mud_quest *q)
{
    static const char *const step_kinds[] = {"kill", "collect", "visit", "talk"};
    char what[64];
    snprintf(what, sizeof what, "quest %s", q->key ? q->key : "?");
    map_start(e, false);
    kv_str(e, "id", q->key, what);
    kv_str(e, "name", q->name, what);
    kv_str(e, "desc", q->desc, what);
    kv_npc(e, "giver", q->giver, what);
    kv_num(e, "level", q->level);
    word(e, "steps");
    seq_start(e, false);
    for (size_t i = 0; i < q->n_steps; i++) {
        const struct wr_mud_step *st = &q->steps[i];
        map_start(e, false);
        switch (st->kind) {
        case WR_STEP_KILL:
        case WR_STEP_TALK:
            kv_npc(e, step_kinds[st->kind], st->what, what);
            break;
        case WR_STEP_COLLECT:
            kv_item(e, step_kinds[st->kind], st->what, what);
            break;
        case WR_STEP_VISIT:
            kv_room(e, step_kinds[st->kind], st->what, what);
            break;
        default:
            fail(e, "%s has a step of unknown kind %u", what, st->kind);
        }
        if (st->kind == WR_STEP_KILL || st->kind == WR_STEP_COLLECT)
            kv_num(e, "count", st->count);
        kv_opt(e, "desc", st->desc);
        map_end(e);
    }
    seq_end(e);
    word(e, "reward");
    map_start(e, false);
    kv_num(e, "xp", q->reward_xp);
    kv_num(e, "gold", q->reward_gold);
    if (q->n_reward_items > 0) {
        word(e, "items");
        seq_start(e, true);
        for (size_t i = 0; i < q->n_reward_items; i++)
            v_key(e, KEY_OF(e, e->m->items, e->m->n_items, q->reward_items[i], "item", what));
        seq_end(e);
    }
    map_end(e);
    kv_opt(e, "done", q->done_text);
    kv_bool(e, "consume", q->consume);
    map_end(e);
}

/* The zone file a quest goes in: the one defining its giver (a quest has
 * no room of its own; its giver is where players find it). */
static uint32_t quest_zone(const struct wr_mud_model *m, const struct wr_mud_quest *q)
{
    return q->giver < m->n_npcs ? m->npcs[q->giver].zone : NONE;
}

static void zone_file(struct em *e)
{
    const struct wr_mud_model *m = e->m;
    const struct wr_mud_zone *z = &m->zones[e->zone];
    char what[64];
    snprintf(what, sizeof what, "zone %s", z->key);

    word(e, "zone");
    map_start(e, false);
    kv_str(e, "id", z->key, what);
    kv_str(e, "name", z->name, what);
    kv_str(e, "desc", z->desc, what);
    kv_room(e, "graveyard", z->graveyard, what);
    map_end(e);

#define SECTION(key, arr, n, in_zone, write)                                                       \
    do {                                                                                           \
        bool any_ = false;                                                                         \
        for (size_t i = 0; i < (n); i++) {                                                         \
            if (!(in_zone))                                                                        \
                continue;                                                                          \
            if (!any_) {                                                                           \
                word(e, key);                                                                      \
                seq_start(e, false);                                                               \
                any_ = true;                                                                       \
            }                                                                                      \
            write(e, &(arr)[i]);                                                                   \
        }                                                                                          \
        if (any_)                                                                                  \
            seq_end(e);                                                                            \
    } while (0)

    SECTION("rooms", m->rooms, m->n_rooms, m->rooms[i].zone == e->zone, room);
    SECTION("items", m->items, m->n_items, m->items[i].zone == e->zone, item);
    item_spawners(e);
    SECTION("npcs", m->npcs, m->n_npcs, m->npcs[i].zone == e->zone, npc);
    npc_spawners(e);
    SECTION("shops", m->shops, m->n_shops,
            m->shops[i].room < m->n_rooms && m->rooms[m->shops[i].room].zone == e->zone, shop);
    SECTION("quests", m->quests, m->n_quests, quest_zone(m, &m->quests[i]) == e->zone, quest);
#undef SECTION
}

/* ---- the bundle ------------------------------------------------------------------ */

static bool id_ok(const char *s)
{
    if (s == NULL || s[0] < 'a' || s[0] > 'z' || strlen(s) > 32)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || is_digit(*s) || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* What every file relies on: zone keys are ids (they name the files), every
 * room is "ZONE.ID" of its zone, every definition and every placed object
 * has a zone file to go in. Returns 0 or -1 (failed). */
static int check_model(struct em *e)
{
    const struct wr_mud_model *m = e->m;
    if (m->n_zones == 0)
        fail(e, "the world has no zones");
    for (size_t z = 0; z < m->n_zones && !e->failed; z++)
        if (!id_ok(m->zones[z].key))
            fail(e, "zone %zu has no valid id", z);
    for (size_t i = 0; i < m->n_rooms && !e->failed; i++) {
        const struct wr_mud_room *r = &m->rooms[i];
        if (r->zone >= m->n_zones || r->key == NULL) {
            fail(e, "room %zu has no zone or no key", i);
            break;
        }
        size_t zl = strlen(m->zones[r->zone].key);
        if (strncmp(r->key, m->zones[r->zone].key, zl) != 0 || r->key[zl] != '.' ||
            !id_ok(r->key + zl + 1))
            fail(e, "room %s is not ZONE.ID of its zone %s", r->key, m->zones[r->zone].key);
    }
    for (size_t i = 0; i < m->n_items && !e->failed; i++)
        if (m->items[i].zone >= m->n_zones)
            fail(e, "item %s is defined in no zone", m->items[i].key ? m->items[i].key : "?");
    for (size_t i = 0; i < m->n_npcs && !e->failed; i++)
        if (m->npcs[i].zone >= m->n_zones)
            fail(e, "npc %s is defined in no zone", m->npcs[i].key ? m->npcs[i].key : "?");
    for (size_t i = 0; i < m->n_item_spawners && !e->failed; i++)
        if (m->item_spawners[i].room >= m->n_rooms)
            fail(e, "item spawner %zu is in no room", i);
    for (size_t i = 0; i < m->n_npc_spawners && !e->failed; i++)
        if (m->npc_spawners[i].room >= m->n_rooms)
            fail(e, "npc spawner %zu is in no room", i);
    for (size_t i = 0; i < m->n_shops && !e->failed; i++)
        if (m->shops[i].room >= m->n_rooms)
            fail(e, "shop %s is in no room", m->shops[i].key ? m->shops[i].key : "?");
    for (size_t i = 0; i < m->n_quests && !e->failed; i++)
        if (quest_zone(m, &m->quests[i]) >= m->n_zones)
            fail(e, "quest %s has no giver", m->quests[i].key ? m->quests[i].key : "?");
    return e->failed ? -1 : 0;
}

/* One YAML file into @buf: a comment line, then the document @body writes
 * for zone @zone (WORLD_FILE for world.yaml). */
static int write_file(struct em *e, struct wr_writer *buf, uint32_t zone, void (*body)(struct em *))
{
    static const char head[] = "# Exported by Warren in canonical form (docs/world-format.md).\n";
    yaml_event_t ev;
    wr_put_bytes(buf, head, sizeof head - 1);
    if (!yaml_emitter_initialize(&e->y)) {
        fail(e, "out of memory");
        return -1;
    }
    e->zone = zone;
    yaml_emitter_set_output(&e->y, on_write, buf);
    yaml_emitter_set_unicode(&e->y, 1);
    yaml_emitter_set_indent(&e->y, 2);
    yaml_emitter_set_width(&e->y, 80);
    yaml_emitter_set_break(&e->y, YAML_LN_BREAK);
    put(e, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
    if (!e->failed)
        put(e, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
    map_start(e, false);
    body(e);
    map_end(e);
    if (!e->failed)
        put(e, &ev, yaml_document_end_event_initialize(&ev, 1));
    if (!e->failed)
        put(e, &ev, yaml_stream_end_event_initialize(&ev));
    yaml_emitter_delete(&e->y);
    return e->failed ? -1 : 0;
}

struct out_file {
    char name[WR_MUD_BUNDLE_MAX_NAME + 1];
    uint32_t zone; /* WORLD_FILE for world.yaml */
    struct wr_writer bytes;
};

static int cmp_files(const void *a, const void *b)
{
    return strcmp(((const struct out_file *)a)->name, ((const struct out_file *)b)->name);
}

int wr_mud_model_export(const struct wr_mud_model *m, struct wr_writer *out, char *err,
                        size_t errlen)
{
    struct em e;
    memset(&e, 0, sizeof e);
    e.m = m;
    e.err = err;
    e.errlen = err ? errlen : 0;
    if (e.errlen > 0)
        err[0] = '\0';
    if (check_model(&e) != 0)
        return -1;

    /* Files sorted by path, as a bundle wants them; the zones therefore in
     * the order of their file names, whatever their order in @m. */
    size_t n = m->n_zones + 1, total = 12;
    struct out_file *f = wr_calloc(n, sizeof *f);
    snprintf(f[0].name, sizeof f[0].name, "world.yaml");
    f[0].zone = WORLD_FILE;
    for (size_t z = 0; z < m->n_zones; z++) {
        snprintf(f[z + 1].name, sizeof f[z + 1].name, "zones/%s.yaml", m->zones[z].key);
        f[z + 1].zone = (uint32_t)z;
    }
    qsort(f, n, sizeof *f, cmp_files);
    int rv = 0;
    for (size_t i = 0; i < n && rv == 0; i++) {
        if (i > 0 && strcmp(f[i - 1].name, f[i].name) == 0) {
            fail(&e, "two zones are called %s", m->zones[f[i].zone].key);
            rv = -1;
            break;
        }
        wr_writer_init(&f[i].bytes, 4096);
        rv = write_file(&e, &f[i].bytes, f[i].zone,
                        f[i].zone == WORLD_FILE ? world_file : zone_file);
        total += 8 + strlen(f[i].name) + f[i].bytes.len;
    }
    if (rv == 0 && total > WR_MUD_BUNDLE_MAX) {
        fail(&e, "the exported world is larger than %u bytes", WR_MUD_BUNDLE_MAX);
        rv = -1;
    }
    if (rv == 0) {
        wr_put_bytes(out, WR_MUD_BUNDLE_MAGIC, 8);
        wr_put_u32(out, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            size_t nl = strlen(f[i].name);
            wr_put_u32(out, (uint32_t)nl);
            wr_put_bytes(out, f[i].name, nl);
            wr_put_u32(out, (uint32_t)f[i].bytes.len);
            wr_put_bytes(out, f[i].bytes.base, f[i].bytes.len);
        }
    }
    for (size_t i = 0; i < n; i++)
        wr_writer_free(&f[i].bytes);
    free(f);
    return rv;
}
