/* World files, the gameplay keys of docs/world-format.md "## Gameplay",
 * world.yaml's half: rules, races, classes, skills (and their effects) and
 * socials; also the vocabulary both halves read with (enums, stats,
 * messages, effects, references) and the gameplay references of pass 4.
 * The zone files' half (items, NPCs, shops, quests) is in
 * worldfile_game_zone.c. worldfile_fields.c calls in at the matching points
 * of passes 2 to 4, so the order of errors stays the documented one;
 * everything here is checked with the same typed accessors (wr__wf_get_*)
 * and reported as "FILE:LINE:COLUMN: message".
 *
 * Defaults are the schema's: a world without races or classes gets one of
 * each (human, adventurer), so the model always has at least one; every
 * absent index is UINT32_MAX (WR_MUD_NO_ROOM), an absent slot
 * WR_SLOT_NONE, an absent scale stat 255.
 *
 * Ranges that depend on the rules (levels up to max_level) work because
 * world.yaml, rules first, is read before every zone file. Pure like the
 * rest of wr_mud_model_parse. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mud/model.h"
#include "mud/worldfile_internal.h"

#define NO_INDEX UINT32_MAX

/* ---- the vocabulary (shared with worldfile_game_zone.c) ------------------------- */

static struct names stat_names(void)
{
    struct names v = {.n = WR_MUD_NSTATS};
    for (size_t i = 0; i < v.n; i++)
        v.s[i] = wr_mud_stat_name((enum wr_mud_stat)i);
    return v;
}

struct names wr__wf_dtype_names(void)
{
    struct names v = {.n = WR_MUD_NDTYPES};
    for (size_t i = 0; i < v.n; i++)
        v.s[i] = wr_mud_dtype_name((enum wr_mud_dtype)i);
    return v;
}

static struct names pool_names(void)
{
    struct names v = {.n = WR_MUD_NPOOLS};
    for (size_t i = 0; i < v.n; i++)
        v.s[i] = wr_mud_pool_name((enum wr_mud_pool)i);
    return v;
}

static struct names list_names(const char *const *s, size_t n)
{
    struct names v = {.n = n};
    for (size_t i = 0; i < n; i++)
        v.s[i] = s[i];
    return v;
}

/* One of @names (exact, lower case) into *@out, or "KEY must be one of a, b
 * or c (got X)". */
int wr__wf_get_enum(struct ctx *c, const struct ynode *v, const char *key,
                    const struct names *names, uint8_t *out)
{
    for (size_t i = 0; v->kind == YN_SCALAR && i < names->n; i++) {
        if (wr__wf_scalar_is(v, names->s[i])) {
            *out = (uint8_t)i;
            return 0;
        }
    }
    char list[200];
    size_t used = 0;
    list[0] = '\0';
    for (size_t i = 0; i < names->n && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                 i == 0              ? ""
                                 : i + 1 == names->n ? " or "
                                                     : ", ",
                                 names->s[i]);
    return FAIL(c, v, "%s must be one of %s (got %s)", key, list, wr__wf_show(v).s);
}

/* {strength: 12, ...}: the stats given, in @lo..@hi; the others untouched. */
int wr__wf_get_stats(struct ctx *c, const struct ynode *v, const char *key, int64_t lo, int64_t hi,
                     int32_t *out)
{
    struct names nm = stat_names();
    const struct ynode *sv[WR_MUD_NSTATS];
    if (wr__wf_fields(c, v, key, nm.s, nm.n, sv) != 0)
        return -1;
    for (size_t i = 0; i < nm.n; i++) {
        int64_t x;
        if (sv[i] == NULL)
            continue;
        if (wr__wf_get_int(c, sv[i], nm.s[i], lo, hi, &x) != 0)
            return -1;
        out[i] = (int32_t)x;
    }
    return 0;
}

static const char *const msg_keys[] = {"actor", "target", "room"};

/* A message: {actor, target, room}, each an optional line. */
int wr__wf_get_msg(struct ctx *c, const struct ynode *v, const char *key, struct wr_mud_msg *msg)
{
    const struct ynode *mv[3];
    if (wr__wf_fields(c, v, key, msg_keys, 3, mv) != 0 ||
        (mv[0] && wr__wf_get_str(c, mv[0], "actor", MAX_TEXT, STR_LINE, &msg->actor) != 0) ||
        (mv[1] && wr__wf_get_str(c, mv[1], "target", MAX_TEXT, STR_LINE, &msg->target) != 0) ||
        (mv[2] && wr__wf_get_str(c, mv[2], "room", MAX_TEXT, STR_LINE, &msg->room) != 0))
        return -1;
    return 0;
}

/* A list of at most @max entries (at least one unless @may_be_empty). */
int wr__wf_get_sized_list(struct ctx *c, const struct ynode *v, const char *key, size_t max,
                          bool may_be_empty)
{
    if (wr__wf_get_list(c, v, key) != 0)
        return -1;
    if (v->n == 0 && !may_be_empty)
        return FAIL(c, v, "%s must not be empty", key);
    if (v->n > max)
        return FAIL(c, v, "too many %s (at most %zu)", key, max);
    return 0;
}

static const char *kind_name(enum ref_kind kind)
{
    switch (kind) {
    case REF_ITEM:
        return "item";
    case REF_NPC:
        return "npc";
    case REF_SKILL:
        return "skill";
    case REF_CLASS:
        return "class";
    case REF_QUEST:
        return "quest";
    default:
        return "room";
    }
}

/* A reference to be resolved in pass 4 (short room ids in @zone). */
int wr__wf_get_ref(struct ctx *c, const struct ynode *v, const char *key, uint32_t *dst,
                   uint32_t zone, enum ref_kind kind)
{
    if (v->kind != YN_SCALAR || wr__wf_is_null(v))
        return FAIL(c, v, "%s must name a %s", key, kind_name(kind));
    *dst = NO_INDEX;
    wr__wf_add_ref(c, v, dst, zone, kind, 0);
    return 0;
}

/* A list of references of one kind into a new array. */
int wr__wf_get_ref_list(struct ctx *c, const struct ynode *v, const char *key, size_t max,
                        enum ref_kind kind, uint32_t **out, size_t *n)
{
    if (wr__wf_get_sized_list(c, v, key, max, true) != 0)
        return -1;
    *out = wr_mud_model_alloc(c->m, v->n * sizeof **out);
    *n = 0;
    for (const struct ynode *e = v->first; e != NULL; e = e->next)
        if (wr__wf_get_ref(c, e, key, &(*out)[(*n)++], 0, kind) != 0)
            return -1;
    return 0;
}

/* ---- effects -------------------------------------------------------------------- */

static const char *const effect_keys[] = {"kind", "type",  "stat",     "pool", "amount",
                                          "roll", "scale", "duration", "self"};
enum {
    EF_KIND,
    EF_TYPE,
    EF_STAT,
    EF_POOL,
    EF_AMOUNT,
    EF_ROLL,
    EF_SCALE,
    EF_DURATION,
    EF_SELF,
    EF_NKEYS
};
static const char *const effect_kinds[] = {"damage", "dot", "recover", "stat", "armour"};

#define K(key) (1u << (key))
/* The keys each kind takes, and those it needs; a key it does not take is
 * refused rather than ignored (a `duration` on a damage effect is a
 * mistake the builder should hear about). */
static const struct {
    uint16_t takes, needs;
} effect_shape[] = {
    [WR_EFF_DAMAGE] = {K(EF_TYPE) | K(EF_AMOUNT) | K(EF_ROLL) | K(EF_SCALE), K(EF_TYPE)},
    [WR_EFF_DOT] = {K(EF_TYPE) | K(EF_AMOUNT) | K(EF_SCALE) | K(EF_DURATION),
                    K(EF_TYPE) | K(EF_DURATION)},
    [WR_EFF_RECOVER] = {K(EF_POOL) | K(EF_AMOUNT) | K(EF_ROLL) | K(EF_SCALE), K(EF_POOL)},
    [WR_EFF_STAT] = {K(EF_STAT) | K(EF_AMOUNT) | K(EF_DURATION), K(EF_STAT) | K(EF_DURATION)},
    [WR_EFF_ARMOUR] = {K(EF_TYPE) | K(EF_AMOUNT) | K(EF_DURATION), K(EF_TYPE) | K(EF_DURATION)},
};
#define EFFECT_ALWAYS (K(EF_KIND) | K(EF_AMOUNT) | K(EF_SELF))

static int read_effect(struct ctx *c, const struct ynode *e, struct wr_mud_effect *ef)
{
    const struct ynode *v[EF_NKEYS];
    struct names kinds = list_names(effect_kinds, 5), dtypes = wr__wf_dtype_names(),
                 stats = stat_names(), pools = pool_names();
    int64_t amount, roll = 0;

    if (wr__wf_fields(c, e, "effect", effect_keys, EF_NKEYS, v) != 0 ||
        wr__wf_need(c, e, v[EF_KIND], "effect", "kind") != 0 ||
        wr__wf_get_enum(c, v[EF_KIND], "kind", &kinds, &ef->kind) != 0)
        return -1;
    uint16_t takes = effect_shape[ef->kind].takes | EFFECT_ALWAYS;
    uint16_t needs = effect_shape[ef->kind].needs | K(EF_AMOUNT);
    char what[32];
    snprintf(what, sizeof what, "%s effect", effect_kinds[ef->kind]);
    for (int k = 0; k < EF_NKEYS; k++) {
        if (v[k] != NULL && !(takes & K(k)))
            return FAIL(c, v[k], "%s does not apply to a %s", effect_keys[k], what);
        if (v[k] == NULL && (needs & K(k)))
            return FAIL(c, e, "%s is missing %s", what, effect_keys[k]);
    }
    ef->scale_stat = 255;
    if ((v[EF_TYPE] && wr__wf_get_enum(c, v[EF_TYPE], "type", &dtypes, &ef->dtype) != 0) ||
        (v[EF_STAT] && wr__wf_get_enum(c, v[EF_STAT], "stat", &stats, &ef->stat) != 0) ||
        (v[EF_POOL] && wr__wf_get_enum(c, v[EF_POOL], "pool", &pools, &ef->pool) != 0) ||
        wr__wf_get_int(c, v[EF_AMOUNT], "amount", -MAX_AMOUNT, MAX_AMOUNT, &amount) != 0 ||
        (v[EF_ROLL] && wr__wf_get_int(c, v[EF_ROLL], "roll", 0, MAX_AMOUNT, &roll) != 0) ||
        (v[EF_SCALE] && wr__wf_get_enum(c, v[EF_SCALE], "scale", &stats, &ef->scale_stat) != 0) ||
        (v[EF_DURATION] && wr__wf_get_duration(c, v[EF_DURATION], "duration", MIN_INTERVAL,
                                               MAX_INTERVAL, &ef->duration_ms) != 0) ||
        (v[EF_SELF] && wr__wf_get_bool(c, v[EF_SELF], "self", &ef->self) != 0))
        return -1;
    ef->amount = (int32_t)amount;
    ef->roll = (uint32_t)roll;
    return 0;
}

int wr__wf_read_effects(struct ctx *c, const struct ynode *v, struct wr_mud_effect **out, size_t *n)
{
    if (wr__wf_get_sized_list(c, v, "effects", MAX_EFFECTS, false) != 0)
        return -1;
    *out = wr_mud_model_alloc(c->m, v->n * sizeof **out);
    *n = 0;
    for (const struct ynode *e = v->first; e != NULL; e = e->next, (*n)++)
        if (read_effect(c, e, &(*out)[*n]) != 0)
            return -1;
    return 0;
}

/* ---- world.yaml ----------------------------------------------------------------- */

static const char *const rules_keys[] = {"round",   "regen",    "corpse",     "max_level",
                                         "xp_base", "death_xp", "start_gold", "hone_cost"};
enum {
    RU_ROUND,
    RU_REGEN,
    RU_CORPSE,
    RU_MAXLEVEL,
    RU_XPBASE,
    RU_DEATHXP,
    RU_GOLD,
    RU_HONE,
    RU_NKEYS
};

static int read_rules(struct ctx *c, const struct ynode *e)
{
    struct wr_mud_rules *ru = &c->m->rules;
    const struct ynode *v[RU_NKEYS];
    /* the integer rules, in key order from RU_MAXLEVEL */
    static const struct {
        int64_t lo, hi;
        size_t off;
    } ints[] = {
        {1, 1000, offsetof(struct wr_mud_rules, max_level)},
        {1, 1000000, offsetof(struct wr_mud_rules, xp_base)},
        {0, 100, offsetof(struct wr_mud_rules, death_xp_percent)},
        {0, 1000000, offsetof(struct wr_mud_rules, start_gold)},
        {0, 1000000, offsetof(struct wr_mud_rules, hone_cost)},
    };
    if (wr__wf_fields(c, e, "rules", rules_keys, RU_NKEYS, v) != 0 ||
        (v[RU_ROUND] &&
         wr__wf_get_duration(c, v[RU_ROUND], "round", 500, 60000, &ru->round_ms) != 0) ||
        (v[RU_REGEN] &&
         wr__wf_get_duration(c, v[RU_REGEN], "regen", 1000, 600000, &ru->regen_ms) != 0) ||
        (v[RU_CORPSE] &&
         wr__wf_get_duration(c, v[RU_CORPSE], "corpse", 10000, MAX_INTERVAL, &ru->corpse_ms) != 0))
        return -1;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        const struct ynode *x = v[RU_MAXLEVEL + i];
        int64_t val;
        if (x == NULL)
            continue;
        if (wr__wf_get_int(c, x, rules_keys[RU_MAXLEVEL + i], ints[i].lo, ints[i].hi, &val) != 0)
            return -1;
        *(uint32_t *)((char *)ru + ints[i].off) = (uint32_t)val;
    }
    return 0;
}

static const char *const race_keys[] = {"id", "name", "desc", "stats", "attack"};
enum { RC_ID, RC_NAME, RC_DESC, RC_STATS, RC_ATTACK, RC_NKEYS };

/* A race (@cls false: no attack, base stats) or a class (stats added to
 * the race's, and the unarmed attack's damage type). */
static int read_race_or_class(struct ctx *c, const struct ynode *e, bool cls)
{
    struct wr_mud_model *m = c->m;
    const char *kind = cls ? "class" : "race";
    uint32_t idx = (uint32_t)(cls ? m->n_classes : m->n_races);
    struct wr_mud_race *race = cls ? NULL : &m->races[idx];
    struct wr_mud_class *klass = cls ? &m->classes[idx] : NULL;
    char **key = cls ? &klass->key : &race->key, **name = cls ? &klass->name : &race->name,
         **desc = cls ? &klass->desc : &race->desc;
    int32_t *stats = cls ? klass->stats : race->stats;
    const struct ynode *v[RC_NKEYS];
    char what[48], idkey[16];
    struct names dtypes = wr__wf_dtype_names();

    snprintf(idkey, sizeof idkey, "%s id", kind);
    if (wr__wf_fields(c, e, kind, race_keys, cls ? RC_NKEYS : RC_ATTACK, v) != 0 ||
        wr__wf_need(c, e, v[RC_ID], kind, "id") != 0 ||
        wr__wf_get_id(c, v[RC_ID], idkey, key) != 0 ||
        wr__wf_define(c, cls ? &c->t_class : &c->t_race, cls ? c->w_class : c->w_race, kind, *key,
                      idx, v[RC_ID]) != 0)
        return -1;
    snprintf(what, sizeof what, "%s %s", kind, *key);
    for (int s = 0; s < WR_MUD_NSTATS; s++)
        stats[s] = cls ? 0 : 10;
    if (cls)
        klass->attack_dtype = WR_DT_BLUDGEON;
    if (wr__wf_need(c, e, v[RC_NAME], what, "name") != 0 ||
        wr__wf_get_str(c, v[RC_NAME], "name", MAX_LABEL, STR_LINE, name) != 0 ||
        (v[RC_DESC] && wr__wf_get_str(c, v[RC_DESC], "desc", MAX_DESC, STR_MULTILINE, desc) != 0) ||
        (v[RC_STATS] && wr__wf_get_stats(c, v[RC_STATS], "stats", cls ? -MAX_BONUS : MIN_BASE_STAT,
                                         cls ? MAX_BONUS : MAX_BASE_STAT, stats) != 0) ||
        (cls && v[RC_ATTACK] &&
         wr__wf_get_enum(c, v[RC_ATTACK], "attack", &dtypes, &klass->attack_dtype) != 0))
        return -1;
    if (cls)
        m->n_classes++;
    else
        m->n_races++;
    return 0;
}

/* No races or classes in the files: the schema's human and adventurer. The
 * adventurer is registered, so a skill may name it in its classes. */
static void default_race_and_class(struct ctx *c)
{
    struct wr_mud_model *m = c->m;
    if (m->n_races == 0) {
        struct wr_mud_race *r = &m->races[m->n_races++];
        r->key = wr_mud_model_strdup(m, "human");
        r->name = wr_mud_model_strdup(m, "Human");
        for (int s = 0; s < WR_MUD_NSTATS; s++)
            r->stats[s] = 10;
    }
    if (m->n_classes == 0) {
        struct wr_mud_class *k = &m->classes[m->n_classes++];
        k->key = wr_mud_model_strdup(m, "adventurer");
        k->name = wr_mud_model_strdup(m, "Adventurer");
        k->attack_dtype = WR_DT_BLUDGEON;
        wr__wf_define(c, &c->t_class, c->w_class, "class", k->key, 0, c->world->root);
    }
}

/* A skill's name is the command players type: lowercase words separated by
 * single spaces, unique among skills. */
static int check_skill_name(struct ctx *c, const struct ynode *v, const struct wr_mud_skill *sk)
{
    const char *s = sk->name;
    size_t len = strlen(s);
    bool ok = len > 0 && s[0] != ' ' && s[len - 1] != ' ';
    for (size_t i = 0; ok && i < len; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] == ' ' && s[i + 1] != ' ');
    if (!ok)
        return FAIL(c, v,
                    "skill name %s must be lowercase words (letters a to z, one space between "
                    "words): it is the command players type",
                    wr__wf_show(v).s);
    for (const struct wr_mud_skill *o = c->m->skills; o < sk; o++)
        if (strcmp(o->name, s) == 0)
            return FAIL(c, v, "skill name %s is already used by skill %s", s, o->key);
    return 0;
}

static const char *const skill_keys[] = {"id",         "name",    "desc",     "level",  "classes",
                                         "cost",       "pool",    "cooldown", "target", "trained",
                                         "train_cost", "effects", "msg"};
enum {
    SK_ID,
    SK_NAME,
    SK_DESC,
    SK_LEVEL,
    SK_CLASSES,
    SK_COST,
    SK_POOL,
    SK_COOLDOWN,
    SK_TARGET,
    SK_TRAINED,
    SK_TRAINCOST,
    SK_EFFECTS,
    SK_MSG,
    SK_NKEYS
};
static const char *const skill_pools[] = {"skill", "endurance"};
static const char *const skill_targets[] = {"enemy", "self"};

static int read_skill(struct ctx *c, const struct ynode *e)
{
    struct wr_mud_model *m = c->m;
    uint32_t idx = (uint32_t)m->n_skills;
    struct wr_mud_skill *sk = &m->skills[idx];
    const struct ynode *v[SK_NKEYS];
    struct names pools = list_names(skill_pools, 2), targets = list_names(skill_targets, 2);
    int64_t level = 1, cost = 0, train_cost = 0;
    uint8_t pool = 0;
    char what[48];

    if (wr__wf_fields(c, e, "skill", skill_keys, SK_NKEYS, v) != 0 ||
        wr__wf_need(c, e, v[SK_ID], "skill", "id") != 0 ||
        wr__wf_get_id(c, v[SK_ID], "skill id", &sk->key) != 0 ||
        wr__wf_define(c, &c->t_skill, c->w_skill, "skill", sk->key, idx, v[SK_ID]) != 0)
        return -1;
    snprintf(what, sizeof what, "skill %s", sk->key);
    if (wr__wf_need(c, e, v[SK_NAME], what, "name") != 0 ||
        wr__wf_get_str(c, v[SK_NAME], "name", MAX_SKILL_NAME, STR_LINE, &sk->name) != 0 ||
        check_skill_name(c, v[SK_NAME], sk) != 0 ||
        (v[SK_DESC] &&
         wr__wf_get_str(c, v[SK_DESC], "desc", MAX_DESC, STR_MULTILINE, &sk->desc) != 0) ||
        (v[SK_LEVEL] &&
         wr__wf_get_int(c, v[SK_LEVEL], "level", 1, m->rules.max_level, &level) != 0) ||
        (v[SK_CLASSES] && wr__wf_get_ref_list(c, v[SK_CLASSES], "classes", MAX_CLASSES, REF_CLASS,
                                              &sk->classes, &sk->n_classes) != 0) ||
        (v[SK_COST] && wr__wf_get_int(c, v[SK_COST], "cost", 0, MAX_AMOUNT, &cost) != 0) ||
        (v[SK_POOL] && wr__wf_get_enum(c, v[SK_POOL], "pool", &pools, &pool) != 0) ||
        (v[SK_COOLDOWN] &&
         wr__wf_get_duration(c, v[SK_COOLDOWN], "cooldown", 0, MAX_DELAY, &sk->cooldown_ms) != 0) ||
        (v[SK_TARGET] && wr__wf_get_enum(c, v[SK_TARGET], "target", &targets, &sk->target) != 0) ||
        (v[SK_TRAINED] && wr__wf_get_bool(c, v[SK_TRAINED], "trained", &sk->trained) != 0) ||
        (v[SK_TRAINCOST] &&
         wr__wf_get_int(c, v[SK_TRAINCOST], "train_cost", 0, MAX_GOLD, &train_cost) != 0) ||
        wr__wf_need(c, e, v[SK_EFFECTS], what, "effects") != 0 ||
        wr__wf_read_effects(c, v[SK_EFFECTS], &sk->effects, &sk->n_effects) != 0 ||
        (v[SK_MSG] && wr__wf_get_msg(c, v[SK_MSG], "msg", &sk->msg) != 0))
        return -1;
    if (v[SK_TRAINCOST] && !sk->trained)
        return FAIL(c, v[SK_TRAINCOST], "train_cost needs trained: true");
    sk->level = (uint32_t)level;
    sk->cost = (uint32_t)cost;
    sk->cost_pool = pool == 0 ? WR_POOL_SP : WR_POOL_EP;
    sk->train_cost = (uint32_t)train_cost;
    if (v[SK_CLASSES] == NULL) { /* every class may learn it */
        sk->classes = wr_mud_model_alloc(m, m->n_classes * sizeof *sk->classes);
        for (size_t i = 0; i < m->n_classes; i++)
            sk->classes[i] = (uint32_t)i;
        sk->n_classes = m->n_classes;
    }
    m->n_skills++;
    return 0;
}

static const char *const social_keys[] = {"id", "alone", "other"};

static int read_social(struct ctx *c, const struct ynode *e)
{
    struct wr_mud_model *m = c->m;
    uint32_t idx = (uint32_t)m->n_socials;
    struct wr_mud_social *so = &m->socials[idx];
    const struct ynode *v[3];
    char what[48];
    if (wr__wf_fields(c, e, "social", social_keys, 3, v) != 0 ||
        wr__wf_need(c, e, v[0], "social", "id") != 0 ||
        wr__wf_get_id(c, v[0], "social id", &so->key) != 0 ||
        wr__wf_define(c, &c->t_social, c->w_social, "social", so->key, idx, v[0]) != 0)
        return -1;
    snprintf(what, sizeof what, "social %s", so->key);
    if (wr__wf_need(c, e, v[1], what, "alone") != 0 ||
        wr__wf_get_msg(c, v[1], "alone", &so->alone) != 0 ||
        wr__wf_need(c, e, v[2], what, "other") != 0 ||
        wr__wf_get_msg(c, v[2], "other", &so->other) != 0)
        return -1;
    m->n_socials++;
    return 0;
}

void wr__wf_game_alloc(struct ctx *c)
{
    struct wr_mud_model *m = c->m;
    size_t races = c->cnt_races ? c->cnt_races : 1, classes = c->cnt_classes ? c->cnt_classes : 1;
    m->races = wr_mud_model_alloc(m, races * sizeof *m->races);
    m->classes = wr_mud_model_alloc(m, classes * sizeof *m->classes);
    m->skills = wr_mud_model_alloc(m, c->cnt_skills * sizeof *m->skills);
    m->socials = wr_mud_model_alloc(m, c->cnt_socials * sizeof *m->socials);
    m->shops = wr_mud_model_alloc(m, c->cnt_shops * sizeof *m->shops);
    m->quests = wr_mud_model_alloc(m, c->cnt_quests * sizeof *m->quests);
    wr__wf_tab_init(c, &c->t_race, races);
    wr__wf_tab_init(c, &c->t_class, classes);
    wr__wf_tab_init(c, &c->t_skill, c->cnt_skills);
    wr__wf_tab_init(c, &c->t_social, c->cnt_socials);
    wr__wf_tab_init(c, &c->t_shop, c->cnt_shops);
    wr__wf_tab_init(c, &c->t_quest, c->cnt_quests);
    c->w_race = wr_mud_model_alloc(c->tmp, (races + 1) * sizeof *c->w_race);
    c->w_class = wr_mud_model_alloc(c->tmp, (classes + 1) * sizeof *c->w_class);
    c->w_skill = wr_mud_model_alloc(c->tmp, (c->cnt_skills + 1) * sizeof *c->w_skill);
    c->w_social = wr_mud_model_alloc(c->tmp, (c->cnt_socials + 1) * sizeof *c->w_social);
    c->w_shop = wr_mud_model_alloc(c->tmp, (c->cnt_shops + 1) * sizeof *c->w_shop);
    c->w_quest = wr_mud_model_alloc(c->tmp, (c->cnt_quests + 1) * sizeof *c->w_quest);
}

int wr__wf_read_world_game(struct ctx *c, const struct ynode *const *v)
{
    struct wr_mud_model *m = c->m;
    m->rules = (struct wr_mud_rules){
        .round_ms = 2000,
        .regen_ms = 5000,
        .corpse_ms = 300000,
        .max_level = 50,
        .xp_base = 100,
        .death_xp_percent = 10,
        .start_gold = 20,
        .hone_cost = 10,
    };
    if (v[WG_RULES] && read_rules(c, v[WG_RULES]) != 0)
        return -1;
    /* classes before skills, whatever the order in the file: a skill
     * without `classes` gets them all */
    for (const struct ynode *e = v[WG_RACES] ? v[WG_RACES]->first : NULL; e; e = e->next)
        if (read_race_or_class(c, e, false) != 0)
            return -1;
    for (const struct ynode *e = v[WG_CLASSES] ? v[WG_CLASSES]->first : NULL; e; e = e->next)
        if (read_race_or_class(c, e, true) != 0)
            return -1;
    default_race_and_class(c);
    for (const struct ynode *e = v[WG_SKILLS] ? v[WG_SKILLS]->first : NULL; e; e = e->next)
        if (read_skill(c, e) != 0)
            return -1;
    for (const struct ynode *e = v[WG_SOCIALS] ? v[WG_SOCIALS]->first : NULL; e; e = e->next)
        if (read_social(c, e) != 0)
            return -1;
    return 0;
}

/* ---- pass 4 ----------------------------------------------------------------------- */

int wr__wf_resolve_game(struct ctx *c, const struct ref *r)
{
    const struct ynode *n = r->n;
    const struct tab *t = r->kind == REF_SKILL   ? &c->t_skill
                          : r->kind == REF_CLASS ? &c->t_class
                                                 : &c->t_quest;
    long idx = memchr(n->s, '\0', n->len) ? -1 : wr__wf_tab_get(t, n->s);
    if (idx < 0)
        return FAIL(c, n, "unknown %s %s", kind_name((enum ref_kind)r->kind), wr__wf_show(n).s);
    *r->dst = (uint32_t)idx;
    return 0;
}
