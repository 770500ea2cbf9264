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
 * Here: the emitter helpers, world.yaml and the bundle. The zone files are
 * written by worldfile_export_zone.c; the two share the file being written
 * (struct em) and the helpers through worldfile_export.h.
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
#include "mud/worldfile_export.h"

__attribute__((format(printf, 2, 3))) void wr__ex_fail(struct em *e, const char *fmt, ...)
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
        wr__ex_fail(e, "out of memory");
        return;
    }
    if (!yaml_emitter_emit(&e->y, ev))
        wr__ex_fail(e, "YAML emitter: %s", e->y.problem ? e->y.problem : "unknown error");
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
void wr__ex_word(struct em *e, const char *s)
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
    wr__ex_word(e, b);
}

static void boolean(struct em *e, bool v)
{
    wr__ex_word(e, v ? "true" : "false");
}

/* ---- collections ------------------------------------------------------------ */

void wr__ex_map_start(struct em *e, bool flow)
{
    yaml_event_t ev;
    if (e->failed)
        return;
    put(e, &ev,
        yaml_mapping_start_event_initialize(
            &ev, NULL, NULL, 1, flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

void wr__ex_map_end(struct em *e)
{
    yaml_event_t ev;
    if (e->failed)
        return;
    put(e, &ev, yaml_mapping_end_event_initialize(&ev));
}

void wr__ex_seq_start(struct em *e, bool flow)
{
    yaml_event_t ev;
    if (e->failed)
        return;
    put(e, &ev,
        yaml_sequence_start_event_initialize(
            &ev, NULL, NULL, 1, flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE));
}

void wr__ex_seq_end(struct em *e)
{
    yaml_event_t ev;
    if (e->failed)
        return;
    put(e, &ev, yaml_sequence_end_event_initialize(&ev));
}

/* ---- key: value ------------------------------------------------------------- */

/* A required string: a model without it cannot be written. */
void wr__ex_kv_str(struct em *e, const char *k, const char *v, const char *what)
{
    if (v == NULL || v[0] == '\0') {
        wr__ex_fail(e, "%s has no %s", what, k);
        return;
    }
    wr__ex_word(e, k);
    str(e, v);
}

/* An optional string: left out when absent. */
void wr__ex_kv_opt(struct em *e, const char *k, const char *v)
{
    if (v == NULL || v[0] == '\0')
        return;
    wr__ex_word(e, k);
    str(e, v);
}

void wr__ex_kv_num(struct em *e, const char *k, long long v)
{
    wr__ex_word(e, k);
    num(e, v);
}

void wr__ex_kv_bool(struct em *e, const char *k, bool v)
{
    wr__ex_word(e, k);
    boolean(e, v);
}

static void kv_word(struct em *e, const char *k, const char *v)
{
    wr__ex_word(e, k);
    wr__ex_word(e, v);
}

/* ---- references --------------------------------------------------------------- */

/* The key of the @idx-th of @n objects @stride bytes apart, each starting
 * with its `char *key` (asserted below), or NULL after failing with what
 * refers to it. */
const char *wr__ex_key_of(struct em *e, const void *arr, size_t n, size_t stride, uint32_t idx,
                          const char *kind, const char *what)
{
    if (idx >= n) {
        wr__ex_fail(e, "%s refers to %s index %u (the world has %zu)", what, kind, idx, n);
        return NULL;
    }
    return *(char *const *)(const void *)((const char *)arr + (size_t)idx * stride);
}

_Static_assert(offsetof(struct wr_mud_room, key) == 0, "KEY_OF: key first");
_Static_assert(offsetof(struct wr_mud_item, key) == 0, "KEY_OF: key first");
_Static_assert(offsetof(struct wr_mud_npc, key) == 0, "KEY_OF: key first");
_Static_assert(offsetof(struct wr_mud_skill, key) == 0, "KEY_OF: key first");
_Static_assert(offsetof(struct wr_mud_class, key) == 0, "KEY_OF: key first");
_Static_assert(offsetof(struct wr_mud_quest, key) == 0, "KEY_OF: key first");

void wr__ex_v_key(struct em *e, const char *key)
{
    if (key != NULL)
        wr__ex_word(e, key);
}

/* ---- the vocabulary --------------------------------------------------------------- */

void wr__ex_kv_enum(struct em *e, const char *k, unsigned v, unsigned n,
                    const char *(*name)(unsigned), const char *kind, const char *what)
{
    if (v >= n) {
        wr__ex_fail(e, "%s has an unknown %s (%u)", what, kind, v);
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

#define KV_STAT(e, k, v, what)                                                                     \
    wr__ex_kv_enum((e), (k), (v), WR_MUD_NSTATS, stat_name, "stat", (what))
#define KV_POOL(e, k, v, what)                                                                     \
    wr__ex_kv_enum((e), (k), (v), WR_MUD_NPOOLS, pool_name, "pool", (what))
#define KV_DTYPE(e, k, v, what)                                                                    \
    wr__ex_kv_enum((e), (k), (v), WR_MUD_NDTYPES, dtype_name, "damage type", (what))

/* stats: every stat, in enum order, on one line. */
void wr__ex_kv_stats(struct em *e, const char *k, const int32_t *stats)
{
    wr__ex_word(e, k);
    wr__ex_map_start(e, true);
    for (unsigned s = 0; s < WR_MUD_NSTATS; s++)
        wr__ex_kv_num(e, stat_name(s), stats[s]);
    wr__ex_map_end(e);
}

/* armour: every damage type, in enum order. */
void wr__ex_kv_armour(struct em *e, const char *k, const int32_t *armour)
{
    wr__ex_word(e, k);
    wr__ex_map_start(e, true);
    for (unsigned t = 0; t < WR_MUD_NDTYPES; t++)
        wr__ex_kv_num(e, dtype_name(t), armour[t]);
    wr__ex_map_end(e);
}

/* {type, min, max}: a weapon's damage, an NPC's attack. */
void wr__ex_kv_damage(struct em *e, const char *k, uint8_t dtype, uint32_t lo, uint32_t hi,
                      const char *what)
{
    wr__ex_word(e, k);
    wr__ex_map_start(e, true);
    KV_DTYPE(e, "type", dtype, what);
    wr__ex_kv_num(e, "min", lo);
    wr__ex_kv_num(e, "max", hi);
    wr__ex_map_end(e);
}

/* A message: its lines that exist; left out when it has none (unless
 * @required: then an empty mapping, which says "nothing shown"). */
void wr__ex_kv_msg(struct em *e, const char *k, const struct wr_mud_msg *msg, bool required)
{
    if (!required && msg->actor == NULL && msg->target == NULL && msg->room == NULL)
        return;
    wr__ex_word(e, k);
    wr__ex_map_start(e, false);
    wr__ex_kv_opt(e, "actor", msg->actor);
    wr__ex_kv_opt(e, "target", msg->target);
    wr__ex_kv_opt(e, "room", msg->room);
    wr__ex_map_end(e);
}

void wr__ex_effects(struct em *e, const struct wr_mud_effect *fx, size_t n, const char *what)
{
    static const char *const kinds[] = {"damage", "dot", "recover", "stat", "armour"};
    wr__ex_word(e, "effects");
    wr__ex_seq_start(e, false);
    for (size_t i = 0; i < n; i++) {
        const struct wr_mud_effect *f = &fx[i];
        if (f->kind > WR_EFF_ARMOUR) {
            wr__ex_fail(e, "%s has an effect of unknown kind %u", what, f->kind);
            return;
        }
        bool typed = f->kind == WR_EFF_DAMAGE || f->kind == WR_EFF_DOT || f->kind == WR_EFF_ARMOUR;
        bool rolled = f->kind == WR_EFF_DAMAGE || f->kind == WR_EFF_RECOVER;
        bool lasting = f->kind == WR_EFF_DOT || f->kind == WR_EFF_STAT || f->kind == WR_EFF_ARMOUR;
        wr__ex_map_start(e, false);
        kv_word(e, "kind", kinds[f->kind]);
        if (typed)
            KV_DTYPE(e, "type", f->dtype, what);
        if (f->kind == WR_EFF_STAT)
            KV_STAT(e, "stat", f->stat, what);
        if (f->kind == WR_EFF_RECOVER)
            KV_POOL(e, "pool", f->pool, what);
        wr__ex_kv_num(e, "amount", f->amount);
        if (rolled)
            wr__ex_kv_num(e, "roll", f->roll);
        if (f->kind != WR_EFF_STAT && f->kind != WR_EFF_ARMOUR && f->scale_stat != 255)
            KV_STAT(e, "scale", f->scale_stat, what);
        if (lasting)
            wr__ex_kv_num(e, "duration", f->duration_ms);
        wr__ex_kv_bool(e, "self", f->self);
        wr__ex_map_end(e);
    }
    wr__ex_seq_end(e);
}

/* ---- world.yaml ----------------------------------------------------------------- */

static void rules(struct em *e)
{
    const struct wr_mud_rules *r = &e->m->rules;
    wr__ex_word(e, "rules");
    wr__ex_map_start(e, false);
    wr__ex_kv_num(e, "round", r->round_ms);
    wr__ex_kv_num(e, "regen", r->regen_ms);
    wr__ex_kv_num(e, "corpse", r->corpse_ms);
    wr__ex_kv_num(e, "max_level", r->max_level);
    wr__ex_kv_num(e, "xp_base", r->xp_base);
    wr__ex_kv_num(e, "death_xp", r->death_xp_percent);
    wr__ex_kv_num(e, "start_gold", r->start_gold);
    wr__ex_kv_num(e, "hone_cost", r->hone_cost);
    wr__ex_map_end(e);
}

static void channels(struct em *e)
{
    const struct wr_mud_model *m = e->m;
    if (m->n_channels == 0)
        return;
    wr__ex_word(e, "channels");
    wr__ex_seq_start(e, false);
    for (size_t i = 0; i < m->n_channels; i++) {
        const struct wr_mud_channel *ch = &m->channels[i];
        wr__ex_map_start(e, false);
        wr__ex_kv_str(e, "id", ch->key, "a channel");
        wr__ex_kv_str(e, "desc", ch->desc, ch->key ? ch->key : "a channel");
        wr__ex_kv_bool(e, "default", ch->on_by_default);
        wr__ex_kv_num(e, "history", ch->history);
        wr__ex_map_end(e);
    }
    wr__ex_seq_end(e);
}

/* races and classes: the same shape, a class adding its attack type. */
static void race_or_class(struct em *e, const char *key, const char *name, const char *desc,
                          const int32_t *stats, const uint8_t *attack, const char *kind)
{
    char what[64];
    snprintf(what, sizeof what, "%s %s", kind, key ? key : "?");
    wr__ex_map_start(e, false);
    wr__ex_kv_str(e, "id", key, what);
    wr__ex_kv_str(e, "name", name, what);
    wr__ex_kv_opt(e, "desc", desc);
    wr__ex_kv_stats(e, "stats", stats);
    if (attack != NULL)
        KV_DTYPE(e, "attack", *attack, what);
    wr__ex_map_end(e);
}

static void races_classes(struct em *e)
{
    const struct wr_mud_model *m = e->m;
    if (m->n_races > 0) {
        wr__ex_word(e, "races");
        wr__ex_seq_start(e, false);
        for (size_t i = 0; i < m->n_races; i++) {
            const struct wr_mud_race *r = &m->races[i];
            race_or_class(e, r->key, r->name, r->desc, r->stats, NULL, "race");
        }
        wr__ex_seq_end(e);
    }
    if (m->n_classes > 0) {
        wr__ex_word(e, "classes");
        wr__ex_seq_start(e, false);
        for (size_t i = 0; i < m->n_classes; i++) {
            const struct wr_mud_class *c = &m->classes[i];
            race_or_class(e, c->key, c->name, c->desc, c->stats, &c->attack_dtype, "class");
        }
        wr__ex_seq_end(e);
    }
}

static void skill(struct em *e, const struct wr_mud_skill *s)
{
    const struct wr_mud_model *m = e->m;
    char what[64];
    snprintf(what, sizeof what, "skill %s", s->key ? s->key : "?");
    wr__ex_map_start(e, false);
    wr__ex_kv_str(e, "id", s->key, what);
    wr__ex_kv_str(e, "name", s->name, what);
    wr__ex_kv_opt(e, "desc", s->desc);
    wr__ex_kv_num(e, "level", s->level);
    /* always listed: left out, it would mean every class, and [] means none */
    wr__ex_word(e, "classes");
    wr__ex_seq_start(e, true);
    for (size_t i = 0; i < s->n_classes; i++)
        wr__ex_v_key(e, KEY_OF(e, m->classes, m->n_classes, s->classes[i], "class", what));
    wr__ex_seq_end(e);
    wr__ex_kv_num(e, "cost", s->cost);
    if (s->cost_pool != WR_POOL_SP && s->cost_pool != WR_POOL_EP)
        wr__ex_fail(e, "%s costs %s points (only skill or endurance)", what,
                    pool_name(s->cost_pool));
    kv_word(e, "pool", s->cost_pool == WR_POOL_EP ? "endurance" : "skill");
    wr__ex_kv_num(e, "cooldown", s->cooldown_ms);
    if (s->target > WR_TGT_SELF)
        wr__ex_fail(e, "%s has an unknown target kind %u", what, s->target);
    kv_word(e, "target", s->target == WR_TGT_SELF ? "self" : "enemy");
    wr__ex_kv_bool(e, "trained", s->trained);
    if (s->trained) /* a price for training only means something then */
        wr__ex_kv_num(e, "train_cost", s->train_cost);
    wr__ex_effects(e, s->effects, s->n_effects, what);
    wr__ex_kv_msg(e, "msg", &s->msg, false);
    wr__ex_map_end(e);
}

static void skills_socials(struct em *e)
{
    const struct wr_mud_model *m = e->m;
    if (m->n_skills > 0) {
        wr__ex_word(e, "skills");
        wr__ex_seq_start(e, false);
        for (size_t i = 0; i < m->n_skills; i++)
            skill(e, &m->skills[i]);
        wr__ex_seq_end(e);
    }
    if (m->n_socials > 0) {
        wr__ex_word(e, "socials");
        wr__ex_seq_start(e, false);
        for (size_t i = 0; i < m->n_socials; i++) {
            const struct wr_mud_social *so = &m->socials[i];
            wr__ex_map_start(e, false);
            wr__ex_kv_str(e, "id", so->key, "a social");
            wr__ex_kv_msg(e, "alone", &so->alone, true);
            wr__ex_kv_msg(e, "other", &so->other, true);
            wr__ex_map_end(e);
        }
        wr__ex_seq_end(e);
    }
}

static void world_file(struct em *e)
{
    const struct wr_mud_model *m = e->m;
    wr__ex_kv_str(e, "name", m->name, "the world");
    wr__ex_word(e, "start");
    if (m->start_room >= m->n_rooms)
        wr__ex_fail(e, "the start room index %u is out of range (the world has %zu rooms)",
                    m->start_room, m->n_rooms);
    else
        wr__ex_word(e, m->rooms[m->start_room].key);
    channels(e);
    rules(e);
    races_classes(e);
    skills_socials(e);
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
        wr__ex_fail(e, "the world has no zones");
    for (size_t z = 0; z < m->n_zones && !e->failed; z++)
        if (!id_ok(m->zones[z].key))
            wr__ex_fail(e, "zone %zu has no valid id", z);
    for (size_t i = 0; i < m->n_rooms && !e->failed; i++) {
        const struct wr_mud_room *r = &m->rooms[i];
        if (r->zone >= m->n_zones || r->key == NULL) {
            wr__ex_fail(e, "room %zu has no zone or no key", i);
            break;
        }
        size_t zl = strlen(m->zones[r->zone].key);
        if (strncmp(r->key, m->zones[r->zone].key, zl) != 0 || r->key[zl] != '.' ||
            !id_ok(r->key + zl + 1))
            wr__ex_fail(e, "room %s is not ZONE.ID of its zone %s", r->key, m->zones[r->zone].key);
    }
    for (size_t i = 0; i < m->n_items && !e->failed; i++)
        if (m->items[i].zone >= m->n_zones)
            wr__ex_fail(e, "item %s is defined in no zone",
                        m->items[i].key ? m->items[i].key : "?");
    for (size_t i = 0; i < m->n_npcs && !e->failed; i++)
        if (m->npcs[i].zone >= m->n_zones)
            wr__ex_fail(e, "npc %s is defined in no zone", m->npcs[i].key ? m->npcs[i].key : "?");
    for (size_t i = 0; i < m->n_item_spawners && !e->failed; i++)
        if (m->item_spawners[i].room >= m->n_rooms)
            wr__ex_fail(e, "item spawner %zu is in no room", i);
    for (size_t i = 0; i < m->n_npc_spawners && !e->failed; i++)
        if (m->npc_spawners[i].room >= m->n_rooms)
            wr__ex_fail(e, "npc spawner %zu is in no room", i);
    for (size_t i = 0; i < m->n_shops && !e->failed; i++)
        if (m->shops[i].room >= m->n_rooms)
            wr__ex_fail(e, "shop %s is in no room", m->shops[i].key ? m->shops[i].key : "?");
    for (size_t i = 0; i < m->n_quests && !e->failed; i++)
        if (wr__ex_quest_zone(m, &m->quests[i]) >= m->n_zones)
            wr__ex_fail(e, "quest %s has no giver", m->quests[i].key ? m->quests[i].key : "?");
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
        wr__ex_fail(e, "out of memory");
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
    wr__ex_map_start(e, false);
    body(e);
    wr__ex_map_end(e);
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
            wr__ex_fail(&e, "two zones are called %s", m->zones[f[i].zone].key);
            rv = -1;
            break;
        }
        wr_writer_init(&f[i].bytes, 4096);
        rv = write_file(&e, &f[i].bytes, f[i].zone,
                        f[i].zone == WORLD_FILE ? world_file : wr__ex_zone_file);
        total += 8 + strlen(f[i].name) + f[i].bytes.len;
    }
    if (rv == 0 && total > WR_MUD_BUNDLE_MAX) {
        wr__ex_fail(&e, "the exported world is larger than %u bytes", WR_MUD_BUNDLE_MAX);
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
