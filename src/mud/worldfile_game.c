/* World files, the gameplay keys of docs/world-format.md "## Gameplay":
 * rules, races, classes, skills and socials in world.yaml; the combat,
 * equipment and use fields of items and NPCs (drops, teaching, talk,
 * combat behaviour); shops and quests in zone files. worldfile_fields.c
 * calls in at the matching points of passes 2 to 4, so the order of errors
 * stays the documented one; everything here is checked with the same typed
 * accessors (wr__wf_get_*) and reported as "FILE:LINE:COLUMN: message".
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

/* ---- the vocabulary ---------------------------------------------------------- */

/* Name lists for fields(), so a mapping of stats or damage types reports an
 * unknown name like any unknown key. */
struct names {
    const char *s[WR_MUD_NDTYPES + WR_MUD_NSLOTS];
    size_t n;
};

static struct names stat_names(void)
{
    struct names v = {.n = WR_MUD_NSTATS};
    for (size_t i = 0; i < v.n; i++)
        v.s[i] = wr_mud_stat_name((enum wr_mud_stat)i);
    return v;
}

static struct names dtype_names(void)
{
    struct names v = {.n = WR_MUD_NDTYPES};
    for (size_t i = 0; i < v.n; i++)
        v.s[i] = wr_mud_dtype_name((enum wr_mud_dtype)i);
    return v;
}

static struct names slot_names(void)
{
    struct names v = {.n = WR_MUD_NSLOTS};
    for (size_t i = 0; i < v.n; i++)
        v.s[i] = wr_mud_slot_name((enum wr_mud_slot)i);
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
static int get_enum(struct ctx *c, const struct ynode *v, const char *key,
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
static int get_stats(struct ctx *c, const struct ynode *v, const char *key, int64_t lo, int64_t hi,
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

/* {fire: 5, cold: -3}: armour per damage type, -MAX_BONUS..MAX_BONUS. */
static int get_armour(struct ctx *c, const struct ynode *v, int32_t *out)
{
    struct names nm = dtype_names();
    const struct ynode *av[WR_MUD_NDTYPES];
    if (wr__wf_fields(c, v, "armour", nm.s, nm.n, av) != 0)
        return -1;
    for (size_t i = 0; i < nm.n; i++) {
        int64_t x;
        if (av[i] == NULL)
            continue;
        if (wr__wf_get_int(c, av[i], nm.s[i], -MAX_BONUS, MAX_BONUS, &x) != 0)
            return -1;
        out[i] = (int32_t)x;
    }
    return 0;
}

static const char *const msg_keys[] = {"actor", "target", "room"};

/* A message: {actor, target, room}, each an optional line. */
static int get_msg(struct ctx *c, const struct ynode *v, const char *key, struct wr_mud_msg *msg)
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
static int get_sized_list(struct ctx *c, const struct ynode *v, const char *key, size_t max,
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
static int get_ref(struct ctx *c, const struct ynode *v, const char *key, uint32_t *dst,
                   uint32_t zone, enum ref_kind kind)
{
    if (v->kind != YN_SCALAR || wr__wf_is_null(v))
        return FAIL(c, v, "%s must name a %s", key, kind_name(kind));
    *dst = NO_INDEX;
    wr__wf_add_ref(c, v, dst, zone, kind, 0);
    return 0;
}

/* A list of references of one kind into a new array. */
static int get_ref_list(struct ctx *c, const struct ynode *v, const char *key, size_t max,
                        enum ref_kind kind, uint32_t **out, size_t *n)
{
    if (get_sized_list(c, v, key, max, true) != 0)
        return -1;
    *out = wr_mud_model_alloc(c->m, v->n * sizeof **out);
    *n = 0;
    for (const struct ynode *e = v->first; e != NULL; e = e->next)
        if (get_ref(c, e, key, &(*out)[(*n)++], 0, kind) != 0)
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
    struct names kinds = list_names(effect_kinds, 5), dtypes = dtype_names(), stats = stat_names(),
                 pools = pool_names();
    int64_t amount, roll = 0;

    if (wr__wf_fields(c, e, "effect", effect_keys, EF_NKEYS, v) != 0 ||
        wr__wf_need(c, e, v[EF_KIND], "effect", "kind") != 0 ||
        get_enum(c, v[EF_KIND], "kind", &kinds, &ef->kind) != 0)
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
    if ((v[EF_TYPE] && get_enum(c, v[EF_TYPE], "type", &dtypes, &ef->dtype) != 0) ||
        (v[EF_STAT] && get_enum(c, v[EF_STAT], "stat", &stats, &ef->stat) != 0) ||
        (v[EF_POOL] && get_enum(c, v[EF_POOL], "pool", &pools, &ef->pool) != 0) ||
        wr__wf_get_int(c, v[EF_AMOUNT], "amount", -MAX_AMOUNT, MAX_AMOUNT, &amount) != 0 ||
        (v[EF_ROLL] && wr__wf_get_int(c, v[EF_ROLL], "roll", 0, MAX_AMOUNT, &roll) != 0) ||
        (v[EF_SCALE] && get_enum(c, v[EF_SCALE], "scale", &stats, &ef->scale_stat) != 0) ||
        (v[EF_DURATION] && wr__wf_get_duration(c, v[EF_DURATION], "duration", MIN_INTERVAL,
                                               MAX_INTERVAL, &ef->duration_ms) != 0) ||
        (v[EF_SELF] && wr__wf_get_bool(c, v[EF_SELF], "self", &ef->self) != 0))
        return -1;
    ef->amount = (int32_t)amount;
    ef->roll = (uint32_t)roll;
    return 0;
}

static int read_effects(struct ctx *c, const struct ynode *v, struct wr_mud_effect **out, size_t *n)
{
    if (get_sized_list(c, v, "effects", MAX_EFFECTS, false) != 0)
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
    struct names dtypes = dtype_names();

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
        (v[RC_STATS] && get_stats(c, v[RC_STATS], "stats", cls ? -MAX_BONUS : MIN_BASE_STAT,
                                  cls ? MAX_BONUS : MAX_BASE_STAT, stats) != 0) ||
        (cls && v[RC_ATTACK] &&
         get_enum(c, v[RC_ATTACK], "attack", &dtypes, &klass->attack_dtype) != 0))
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
        (v[SK_CLASSES] && get_ref_list(c, v[SK_CLASSES], "classes", MAX_CLASSES, REF_CLASS,
                                       &sk->classes, &sk->n_classes) != 0) ||
        (v[SK_COST] && wr__wf_get_int(c, v[SK_COST], "cost", 0, MAX_AMOUNT, &cost) != 0) ||
        (v[SK_POOL] && get_enum(c, v[SK_POOL], "pool", &pools, &pool) != 0) ||
        (v[SK_COOLDOWN] &&
         wr__wf_get_duration(c, v[SK_COOLDOWN], "cooldown", 0, MAX_DELAY, &sk->cooldown_ms) != 0) ||
        (v[SK_TARGET] && get_enum(c, v[SK_TARGET], "target", &targets, &sk->target) != 0) ||
        (v[SK_TRAINED] && wr__wf_get_bool(c, v[SK_TRAINED], "trained", &sk->trained) != 0) ||
        (v[SK_TRAINCOST] &&
         wr__wf_get_int(c, v[SK_TRAINCOST], "train_cost", 0, MAX_GOLD, &train_cost) != 0) ||
        wr__wf_need(c, e, v[SK_EFFECTS], what, "effects") != 0 ||
        read_effects(c, v[SK_EFFECTS], &sk->effects, &sk->n_effects) != 0 ||
        (v[SK_MSG] && get_msg(c, v[SK_MSG], "msg", &sk->msg) != 0))
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
    if (wr__wf_need(c, e, v[1], what, "alone") != 0 || get_msg(c, v[1], "alone", &so->alone) != 0 ||
        wr__wf_need(c, e, v[2], what, "other") != 0 || get_msg(c, v[2], "other", &so->other) != 0)
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

/* ---- items ------------------------------------------------------------------------ */

static const char *const damage_keys[] = {"type", "min", "max"};

/* {type, min, max}: a weapon's damage (@need_all: every key required) or an
 * NPC's attack (each key defaults to what *@dtype, *@lo, *@hi hold). */
static int get_damage(struct ctx *c, const struct ynode *e, const char *key, bool need_all,
                      uint8_t *dtype, uint32_t *lo, uint32_t *hi)
{
    const struct ynode *v[3];
    struct names dtypes = dtype_names();
    int64_t mn = *lo, mx = *hi;
    if (wr__wf_fields(c, e, key, damage_keys, 3, v) != 0)
        return -1;
    for (int k = 0; need_all && k < 3; k++)
        if (wr__wf_need(c, e, v[k], key, damage_keys[k]) != 0)
            return -1;
    if ((v[0] && get_enum(c, v[0], "type", &dtypes, dtype) != 0) ||
        (v[1] && wr__wf_get_int(c, v[1], "min", 0, MAX_AMOUNT, &mn) != 0) ||
        (v[2] && wr__wf_get_int(c, v[2], "max", 1, MAX_AMOUNT, &mx) != 0))
        return -1;
    if (mn > mx)
        return FAIL(c, e, "%s: min must not be greater than max (got %lld and %lld)", key,
                    (long long)mn, (long long)mx);
    *lo = (uint32_t)mn;
    *hi = (uint32_t)mx;
    return 0;
}

static const char *const use_keys[] = {"verb", "effects", "msg", "consumed"};
enum { U_VERB, U_EFFECTS, U_MSG, U_CONSUMED, U_NKEYS };

static int read_uses(struct ctx *c, const struct ynode *list, struct wr_mud_item *it,
                     const char *what)
{
    if (get_sized_list(c, list, "uses", MAX_USES, false) != 0)
        return -1;
    it->uses = wr_mud_model_alloc(c->m, list->n * sizeof *it->uses);
    for (const struct ynode *e = list->first; e != NULL; e = e->next) {
        struct wr_mud_item_use *u = &it->uses[it->n_uses];
        const struct ynode *v[U_NKEYS];
        u->consumed = true;
        if (wr__wf_fields(c, e, "use", use_keys, U_NKEYS, v) != 0 ||
            wr__wf_need(c, e, v[U_VERB], "use", "verb") != 0 ||
            wr__wf_get_id(c, v[U_VERB], "verb", &u->verb) != 0)
            return -1;
        for (size_t i = 0; i < it->n_uses; i++)
            if (strcmp(it->uses[i].verb, u->verb) == 0)
                return FAIL(c, v[U_VERB], "%s has two uses with the verb %s", what, u->verb);
        if (wr__wf_need(c, e, v[U_EFFECTS], "use", "effects") != 0 ||
            read_effects(c, v[U_EFFECTS], &u->effects, &u->n_effects) != 0 ||
            (v[U_MSG] && get_msg(c, v[U_MSG], "msg", &u->msg) != 0) ||
            (v[U_CONSUMED] && wr__wf_get_bool(c, v[U_CONSUMED], "consumed", &u->consumed) != 0))
            return -1;
        it->n_uses++;
    }
    return 0;
}

int wr__wf_read_item_game(struct ctx *c, const struct ynode *const *v, struct wr_mud_item *it,
                          const char *what)
{
    struct names slots = slot_names();
    int64_t price = 0, level = 0;
    it->slot = WR_SLOT_NONE;
    it->dtype = WR_DT_BLUDGEON;
    if (v[IG_SLOT] && get_enum(c, v[IG_SLOT], "slot", &slots, &it->slot) != 0)
        return -1;
    /* bonuses count only while worn, so they need a slot to be worn in */
    if (v[IG_STATS] && it->slot == WR_SLOT_NONE)
        return FAIL(c, v[IG_STATS], "stats needs a slot (bonuses count while the item is worn)");
    if (v[IG_ARMOUR] && it->slot == WR_SLOT_NONE)
        return FAIL(c, v[IG_ARMOUR], "armour needs a slot (it counts while the item is worn)");
    if (v[IG_DAMAGE] && it->slot != WR_SLOT_WIELD)
        return FAIL(c, v[IG_DAMAGE], "damage needs slot: wield (a weapon is wielded)");
    if ((v[IG_STATS] && get_stats(c, v[IG_STATS], "stats", -MAX_BONUS, MAX_BONUS, it->stats)) ||
        (v[IG_ARMOUR] && get_armour(c, v[IG_ARMOUR], it->armour) != 0) ||
        (v[IG_DAMAGE] && get_damage(c, v[IG_DAMAGE], "damage", true, &it->dtype, &it->dmg_min,
                                    &it->dmg_max) != 0) ||
        (v[IG_PRICE] && wr__wf_get_int(c, v[IG_PRICE], "price", 0, MAX_GOLD, &price) != 0) ||
        (v[IG_LEVEL] &&
         wr__wf_get_int(c, v[IG_LEVEL], "level", 0, c->m->rules.max_level, &level) != 0) ||
        (v[IG_USES] && read_uses(c, v[IG_USES], it, what) != 0))
        return -1;
    it->price = (uint32_t)price;
    it->level = (uint32_t)level;
    return 0;
}

/* ---- NPCs ------------------------------------------------------------------------- */

static const char *const gold_keys[] = {"min", "max"};

/* gold: N, or {min, max}. */
static int get_gold(struct ctx *c, const struct ynode *e, uint32_t *lo, uint32_t *hi)
{
    int64_t mn, mx;
    if (e->kind == YN_SCALAR) {
        if (wr__wf_get_int(c, e, "gold", 0, MAX_GOLD, &mn) != 0)
            return -1;
        *lo = *hi = (uint32_t)mn;
        return 0;
    }
    const struct ynode *v[2];
    if (wr__wf_fields(c, e, "gold", gold_keys, 2, v) != 0 ||
        wr__wf_need(c, e, v[0], "gold", "min") != 0 ||
        wr__wf_get_int(c, v[0], "min", 0, MAX_GOLD, &mn) != 0 ||
        wr__wf_need(c, e, v[1], "gold", "max") != 0 ||
        wr__wf_get_int(c, v[1], "max", 0, MAX_GOLD, &mx) != 0)
        return -1;
    if (mn > mx)
        return FAIL(c, e, "gold: min must not be greater than max (got %lld and %lld)",
                    (long long)mn, (long long)mx);
    *lo = (uint32_t)mn;
    *hi = (uint32_t)mx;
    return 0;
}

static const char *const drop_keys[] = {"item", "chance"};

static int read_drops(struct ctx *c, const struct ynode *list, struct wr_mud_npc *npc)
{
    if (get_sized_list(c, list, "drops", MAX_DROPS, true) != 0)
        return -1;
    npc->drops = wr_mud_model_alloc(c->m, list->n * sizeof *npc->drops);
    for (const struct ynode *e = list->first; e != NULL; e = e->next) {
        struct wr_mud_drop *d = &npc->drops[npc->n_drops++];
        const struct ynode *v[2];
        int64_t chance = 100;
        if (wr__wf_fields(c, e, "drop", drop_keys, 2, v) != 0 ||
            wr__wf_need(c, e, v[0], "drop", "item") != 0 ||
            get_ref(c, v[0], "item", &d->item, 0, REF_ITEM) != 0 ||
            (v[1] && wr__wf_get_int(c, v[1], "chance", 1, 100, &chance) != 0))
            return -1;
        d->chance = (uint32_t)chance;
    }
    return 0;
}

static const char *const topic_keys[] = {"topic", "text", "quest"};

static int read_talk(struct ctx *c, const struct ynode *list, struct wr_mud_npc *npc,
                     const char *what)
{
    if (get_sized_list(c, list, "talk", MAX_TOPICS, true) != 0)
        return -1;
    npc->topics = wr_mud_model_alloc(c->m, list->n * sizeof *npc->topics);
    for (const struct ynode *e = list->first; e != NULL; e = e->next) {
        struct wr_mud_topic *t = &npc->topics[npc->n_topics];
        const struct ynode *v[3];
        t->quest = NO_INDEX;
        if (wr__wf_fields(c, e, "topic", topic_keys, 3, v) != 0 ||
            wr__wf_need(c, e, v[0], "topic", "topic") != 0 ||
            wr__wf_get_id(c, v[0], "topic", &t->key) != 0)
            return -1;
        for (size_t i = 0; i < npc->n_topics; i++)
            if (strcmp(npc->topics[i].key, t->key) == 0)
                return FAIL(c, v[0], "%s has the topic %s twice", what, t->key);
        if (wr__wf_need(c, e, v[1], "topic", "text") != 0 ||
            wr__wf_get_str(c, v[1], "text", MAX_DESC, STR_MULTILINE, &t->text) != 0 ||
            (v[2] && get_ref(c, v[2], "quest", &t->quest, 0, REF_QUEST) != 0))
            return -1;
        npc->n_topics++;
    }
    return 0;
}

/* The fighting keys of an NPC with a level: pools (defaults from the
 * level), stats, armour, attack, gold, aggressive, drops. */
static int read_npc_fight(struct ctx *c, const struct ynode *const *v, struct wr_mud_npc *npc)
{
    static const char *const pool_keys[] = {"health", "skill", "endurance"};
    int64_t pool;
    npc->max[WR_POOL_HP] = 20 * npc->level;
    npc->max[WR_POOL_SP] = 10 * npc->level;
    npc->max[WR_POOL_EP] = 10 * npc->level;
    npc->dmg_min = 1;
    npc->dmg_max = 2 * npc->level;
    if (v[NG_STATS] &&
        get_stats(c, v[NG_STATS], "stats", MIN_BASE_STAT, MAX_BASE_STAT, npc->stats) != 0)
        return -1;
    for (int p = 0; p < WR_MUD_NPOOLS; p++) {
        const struct ynode *pv = v[NG_HEALTH + p];
        if (pv == NULL)
            continue;
        if (wr__wf_get_int(c, pv, pool_keys[p], 1, MAX_POOL, &pool) != 0)
            return -1;
        npc->max[p] = (uint32_t)pool;
    }
    if ((v[NG_ARMOUR] && get_armour(c, v[NG_ARMOUR], npc->armour) != 0) ||
        (v[NG_ATTACK] && get_damage(c, v[NG_ATTACK], "attack", false, &npc->dtype, &npc->dmg_min,
                                    &npc->dmg_max) != 0) ||
        (v[NG_GOLD] && get_gold(c, v[NG_GOLD], &npc->gold_min, &npc->gold_max) != 0) ||
        (v[NG_AGGRESSIVE] &&
         wr__wf_get_bool(c, v[NG_AGGRESSIVE], "aggressive", &npc->aggressive) != 0) ||
        (v[NG_DROPS] && read_drops(c, v[NG_DROPS], npc) != 0))
        return -1;
    return 0;
}

int wr__wf_read_npc_game(struct ctx *c, const struct ynode *const *v, struct wr_mud_npc *npc,
                         const char *what)
{
    static const char *const names[] = {WF_NPC_GAME_KEYS};
    int64_t level = 0;
    for (int s = 0; s < WR_MUD_NSTATS; s++)
        npc->stats[s] = 10;
    npc->dtype = WR_DT_BLUDGEON;
    if (v[NG_LEVEL] &&
        wr__wf_get_int(c, v[NG_LEVEL], "level", 1, c->m->rules.max_level, &level) != 0)
        return -1;
    npc->level = (uint32_t)level;
    if (level > 0 && read_npc_fight(c, v, npc) != 0)
        return -1;
    /* the fighting keys mean nothing on a peaceful NPC: say so rather than
     * ignore them */
    for (int k = NG_STATS; level == 0 && k <= NG_DROPS; k++)
        if (v[k] != NULL)
            return FAIL(c, v[k], "%s needs a level (an npc without one is peaceful)", names[k]);
    if ((v[NG_TEACHES] && get_ref_list(c, v[NG_TEACHES], "teaches", WR_MUD_MAX_SKILLS, REF_SKILL,
                                       &npc->teaches, &npc->n_teaches) != 0) ||
        (v[NG_TALK] && read_talk(c, v[NG_TALK], npc, what) != 0))
        return -1;
    return 0;
}

static const char *const fight_action_keys[] = {"say", "emote", "attack", "skill", "weight"};
enum { FA_SAY, FA_EMOTE, FA_ATTACK, FA_SKILL, FA_WEIGHT, FA_NKEYS };

/* One action of `combat` or `targeted`: say, emote, attack: true or skill:
 * ID, with a weight. */
static int read_fight_action(struct ctx *c, const struct ynode *e, const char *rule,
                             const struct wr_mud_npc *npc, struct wr_mud_action *a)
{
    const struct ynode *v[FA_NKEYS];
    int64_t w = 1;
    if (wr__wf_fields(c, e, "action", fight_action_keys, FA_NKEYS, v) != 0)
        return -1;
    if ((v[FA_SAY] != NULL) + (v[FA_EMOTE] != NULL) + (v[FA_ATTACK] != NULL) +
            (v[FA_SKILL] != NULL) !=
        1)
        return FAIL(c, e, "%s action needs exactly one of say, emote, attack or skill", rule);
    if (v[FA_WEIGHT] && wr__wf_get_int(c, v[FA_WEIGHT], "weight", 1, MAX_WEIGHT, &w) != 0)
        return -1;
    a->weight = (uint32_t)w;
    a->skill = NO_INDEX;
    if (v[FA_SAY] != NULL) {
        a->kind = WR_ACT_SAY;
        return wr__wf_get_str(c, v[FA_SAY], "say", MAX_TEXT, STR_LINE, &a->text);
    }
    if (v[FA_EMOTE] != NULL) {
        a->kind = WR_ACT_EMOTE;
        return wr__wf_get_str(c, v[FA_EMOTE], "emote", MAX_TEXT, STR_LINE, &a->text);
    }
    const struct ynode *x = v[FA_ATTACK] ? v[FA_ATTACK] : v[FA_SKILL];
    if (npc->level == 0)
        return FAIL(c, x, "%s needs the npc to have a level (an npc without one is peaceful)",
                    v[FA_ATTACK] ? "attack" : "skill");
    if (v[FA_SKILL] != NULL) {
        a->kind = WR_ACT_SKILL;
        return get_ref(c, v[FA_SKILL], "skill", &a->skill, 0, REF_SKILL);
    }
    bool attack;
    a->kind = WR_ACT_ATTACK;
    if (wr__wf_get_bool(c, v[FA_ATTACK], "attack", &attack) != 0)
        return -1;
    if (!attack)
        return FAIL(c, v[FA_ATTACK], "attack must be true (leave the action out instead)");
    return 0;
}

static int read_fight_rule(struct ctx *c, const struct ynode *list, const char *rule,
                           const struct wr_mud_npc *npc, struct wr_mud_action **out, size_t *n)
{
    if (get_sized_list(c, list, rule, MAX_ACTIONS, false) != 0)
        return -1;
    *out = wr_mud_model_alloc(c->m, list->n * sizeof **out);
    *n = 0;
    for (const struct ynode *e = list->first; e != NULL; e = e->next, (*n)++)
        if (read_fight_action(c, e, rule, npc, &(*out)[*n]) != 0)
            return -1;
    return 0;
}

int wr__wf_read_behaviour_game(struct ctx *c, const struct ynode *const *v, struct wr_mud_npc *npc)
{
    if ((v[BG_COMBAT] &&
         read_fight_rule(c, v[BG_COMBAT], "combat", npc, &npc->combat, &npc->n_combat) != 0) ||
        (v[BG_TARGETED] && read_fight_rule(c, v[BG_TARGETED], "targeted", npc, &npc->targeted,
                                           &npc->n_targeted) != 0))
        return -1;
    return 0;
}

/* ---- shops and quests ------------------------------------------------------------- */

static const char *const shop_keys[] = {"id", "name", "room", "keeper", "buy_percent", "stock"};
enum { SH_ID, SH_NAME, SH_ROOM, SH_KEEPER, SH_BUY, SH_STOCK, SH_NKEYS };
static const char *const stock_keys[] = {"item", "count", "price"};

static int read_stock(struct ctx *c, const struct ynode *list, struct wr_mud_shop *sh)
{
    if (get_sized_list(c, list, "stock", MAX_STOCK, true) != 0)
        return -1;
    sh->stock = wr_mud_model_alloc(c->m, list->n * sizeof *sh->stock);
    for (const struct ynode *e = list->first; e != NULL; e = e->next) {
        struct wr_mud_stock *st = &sh->stock[sh->n_stock++];
        const struct ynode *v[3];
        int64_t count = -1, price = 0;
        if (wr__wf_fields(c, e, "stock", stock_keys, 3, v) != 0 ||
            wr__wf_need(c, e, v[0], "stock", "item") != 0 ||
            get_ref(c, v[0], "item", &st->item, 0, REF_ITEM) != 0 ||
            (v[1] && wr__wf_get_int(c, v[1], "count", -1, MAX_STOCK_COUNT, &count) != 0) ||
            (v[2] && wr__wf_get_int(c, v[2], "price", 0, MAX_GOLD, &price) != 0))
            return -1;
        st->count = (int32_t)count;
        st->price = (uint32_t)price;
    }
    return 0;
}

static int read_shop(struct ctx *c, const struct ynode *e, uint32_t zone)
{
    struct wr_mud_model *m = c->m;
    uint32_t idx = (uint32_t)m->n_shops;
    struct wr_mud_shop *sh = &m->shops[idx];
    const struct ynode *v[SH_NKEYS];
    int64_t buy = 50;
    char what[48];

    if (wr__wf_fields(c, e, "shop", shop_keys, SH_NKEYS, v) != 0 ||
        wr__wf_need(c, e, v[SH_ID], "shop", "id") != 0 ||
        wr__wf_get_id(c, v[SH_ID], "shop id", &sh->key) != 0 ||
        wr__wf_define(c, &c->t_shop, c->w_shop, "shop", sh->key, idx, v[SH_ID]) != 0)
        return -1;
    snprintf(what, sizeof what, "shop %s", sh->key);
    sh->keeper = NO_INDEX;
    if (wr__wf_need(c, e, v[SH_NAME], what, "name") != 0 ||
        wr__wf_get_str(c, v[SH_NAME], "name", MAX_LABEL, STR_LINE, &sh->name) != 0 ||
        wr__wf_need(c, e, v[SH_ROOM], what, "room") != 0 ||
        get_ref(c, v[SH_ROOM], "room", &sh->room, zone, REF_SHOP_ROOM) != 0 ||
        (v[SH_KEEPER] && get_ref(c, v[SH_KEEPER], "keeper", &sh->keeper, 0, REF_NPC) != 0) ||
        (v[SH_BUY] && wr__wf_get_int(c, v[SH_BUY], "buy_percent", 0, 100, &buy) != 0) ||
        (v[SH_STOCK] && read_stock(c, v[SH_STOCK], sh) != 0))
        return -1;
    sh->buy_percent = (uint32_t)buy;
    m->n_shops++;
    return 0;
}

static const char *const step_keys[] = {"kill", "collect", "visit", "talk", "count", "desc"};
enum { ST_KILL, ST_COLLECT, ST_VISIT, ST_TALK, ST_COUNT, ST_DESC, ST_NKEYS };

static int read_step(struct ctx *c, const struct ynode *e, uint32_t zone, struct wr_mud_step *st)
{
    static const enum ref_kind refs[] = {REF_NPC, REF_ITEM, REF_ROOM, REF_NPC};
    const struct ynode *v[ST_NKEYS];
    int64_t count = 1;
    int kinds = 0;
    if (wr__wf_fields(c, e, "step", step_keys, ST_NKEYS, v) != 0)
        return -1;
    for (int k = ST_KILL; k <= ST_TALK; k++) {
        if (v[k] != NULL) {
            st->kind = (uint8_t)k;
            kinds++;
        }
    }
    if (kinds != 1)
        return FAIL(c, e, "step needs exactly one of kill, collect, visit or talk");
    if (v[ST_COUNT] && st->kind != WR_STEP_KILL && st->kind != WR_STEP_COLLECT)
        return FAIL(c, v[ST_COUNT], "count does not apply to a %s step", step_keys[st->kind]);
    if (get_ref(c, v[st->kind], step_keys[st->kind], &st->what, zone, refs[st->kind]) != 0 ||
        (v[ST_COUNT] && wr__wf_get_int(c, v[ST_COUNT], "count", 1, MAX_STEP_COUNT, &count) != 0) ||
        (v[ST_DESC] && wr__wf_get_str(c, v[ST_DESC], "desc", MAX_TEXT, STR_LINE, &st->desc) != 0))
        return -1;
    st->count = (uint32_t)count;
    return 0;
}

static const char *const reward_keys[] = {"xp", "gold", "items"};

static int read_reward(struct ctx *c, const struct ynode *e, struct wr_mud_quest *q)
{
    const struct ynode *v[3];
    int64_t xp = 0, gold = 0;
    if (wr__wf_fields(c, e, "reward", reward_keys, 3, v) != 0 ||
        (v[0] && wr__wf_get_int(c, v[0], "xp", 0, MAX_GOLD, &xp) != 0) ||
        (v[1] && wr__wf_get_int(c, v[1], "gold", 0, MAX_GOLD, &gold) != 0) ||
        (v[2] && get_ref_list(c, v[2], "items", MAX_REWARD_ITEMS, REF_ITEM, &q->reward_items,
                              &q->n_reward_items) != 0))
        return -1;
    q->reward_xp = (uint32_t)xp;
    q->reward_gold = (uint32_t)gold;
    return 0;
}

static const char *const quest_keys[] = {"id",    "name",   "desc", "giver",  "level",
                                         "steps", "reward", "done", "consume"};
enum { Q_ID, Q_NAME, Q_DESC, Q_GIVER, Q_LEVEL, Q_STEPS, Q_REWARD, Q_DONE, Q_CONSUME, Q_NKEYS };

static int read_quest(struct ctx *c, const struct ynode *e, uint32_t zone)
{
    struct wr_mud_model *m = c->m;
    uint32_t idx = (uint32_t)m->n_quests;
    struct wr_mud_quest *q = &m->quests[idx];
    const struct ynode *v[Q_NKEYS];
    int64_t level = 1;
    char what[48];

    if (wr__wf_fields(c, e, "quest", quest_keys, Q_NKEYS, v) != 0 ||
        wr__wf_need(c, e, v[Q_ID], "quest", "id") != 0 ||
        wr__wf_get_id(c, v[Q_ID], "quest id", &q->key) != 0 ||
        wr__wf_define(c, &c->t_quest, c->w_quest, "quest", q->key, idx, v[Q_ID]) != 0)
        return -1;
    snprintf(what, sizeof what, "quest %s", q->key);
    q->consume = true;
    if (wr__wf_need(c, e, v[Q_NAME], what, "name") != 0 ||
        wr__wf_get_str(c, v[Q_NAME], "name", MAX_LABEL, STR_LINE, &q->name) != 0 ||
        wr__wf_need(c, e, v[Q_DESC], what, "desc") != 0 ||
        wr__wf_get_str(c, v[Q_DESC], "desc", MAX_DESC, STR_MULTILINE, &q->desc) != 0 ||
        wr__wf_need(c, e, v[Q_GIVER], what, "giver") != 0 ||
        get_ref(c, v[Q_GIVER], "giver", &q->giver, 0, REF_NPC) != 0 ||
        (v[Q_LEVEL] &&
         wr__wf_get_int(c, v[Q_LEVEL], "level", 1, m->rules.max_level, &level) != 0) ||
        wr__wf_need(c, e, v[Q_STEPS], what, "steps") != 0 ||
        get_sized_list(c, v[Q_STEPS], "steps", MAX_STEPS, false) != 0)
        return -1;
    q->level = (uint32_t)level;
    q->steps = wr_mud_model_alloc(m, v[Q_STEPS]->n * sizeof *q->steps);
    for (const struct ynode *s = v[Q_STEPS]->first; s != NULL; s = s->next, q->n_steps++)
        if (read_step(c, s, zone, &q->steps[q->n_steps]) != 0)
            return -1;
    if ((v[Q_REWARD] && read_reward(c, v[Q_REWARD], q) != 0) ||
        (v[Q_DONE] &&
         wr__wf_get_str(c, v[Q_DONE], "done", MAX_DESC, STR_MULTILINE, &q->done_text) != 0) ||
        (v[Q_CONSUME] && wr__wf_get_bool(c, v[Q_CONSUME], "consume", &q->consume) != 0))
        return -1;
    m->n_quests++;
    return 0;
}

int wr__wf_read_zone_game(struct ctx *c, const struct ynode *const *v, uint32_t zone)
{
    for (const struct ynode *e = v[ZG_SHOPS] ? v[ZG_SHOPS]->first : NULL; e; e = e->next)
        if (read_shop(c, e, zone) != 0)
            return -1;
    for (const struct ynode *e = v[ZG_QUESTS] ? v[ZG_QUESTS]->first : NULL; e; e = e->next)
        if (read_quest(c, e, zone) != 0)
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

int wr__wf_check_shop_room(struct ctx *c, const struct ref *r)
{
    const struct wr_mud_model *m = c->m;
    const struct wr_mud_shop *sh =
        (const struct wr_mud_shop *)((const char *)r->dst - offsetof(struct wr_mud_shop, room));
    /* shops resolve in order, so a later shop's room is still NO_INDEX */
    for (const struct wr_mud_shop *o = m->shops; o < sh; o++) {
        if (o->room == sh->room) {
            const struct where *w = &c->w_shop[o - m->shops];
            return FAIL(c, r->n, "room %s already has a shop (%s, at %s:%u:%u)",
                        m->rooms[sh->room].key, o->key, w->f->name, w->n->line, w->n->col);
        }
    }
    return 0;
}
