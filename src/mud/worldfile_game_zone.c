/* World files, the gameplay keys of docs/world-format.md "## Gameplay",
 * the zone files' half: an item's equipment, price, level and uses; an
 * NPC's combat keys, drops, teaching and talk topics, and its combat
 * behaviour (combat, targeted); a zone's shops and quests, and the
 * one-shop-per-room check of pass 4. world.yaml's half, and the vocabulary
 * read with here (wr__wf_get_enum, wr__wf_read_effects, wr__wf_get_ref...),
 * are in worldfile_game.c. worldfile_fields.c calls in at the matching
 * points of passes 2 to 4, so the order of errors stays the documented one.
 * Pure like the rest of wr_mud_model_parse. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mud/model.h"
#include "mud/worldfile_internal.h"

#define NO_INDEX UINT32_MAX

/* ---- the vocabulary of equipment ---------------------------------------------------- */

static struct names slot_names(void)
{
    struct names v = {.n = WR_MUD_NSLOTS};
    for (size_t i = 0; i < v.n; i++)
        v.s[i] = wr_mud_slot_name((enum wr_mud_slot)i);
    return v;
}

/* {fire: 5, cold: -3}: armour per damage type, -MAX_BONUS..MAX_BONUS. */
static int get_armour(struct ctx *c, const struct ynode *v, int32_t *out)
{
    struct names nm = wr__wf_dtype_names();
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

/* ---- items ------------------------------------------------------------------------ */

static const char *const damage_keys[] = {"type", "min", "max"};

/* {type, min, max}: a weapon's damage (@need_all: every key required) or an
 * NPC's attack (each key defaults to what *@dtype, *@lo, *@hi hold). */
static int get_damage(struct ctx *c, const struct ynode *e, const char *key, bool need_all,
                      uint8_t *dtype, uint32_t *lo, uint32_t *hi)
{
    const struct ynode *v[3];
    struct names dtypes = wr__wf_dtype_names();
    int64_t mn = *lo, mx = *hi;
    if (wr__wf_fields(c, e, key, damage_keys, 3, v) != 0)
        return -1;
    for (int k = 0; need_all && k < 3; k++)
        if (wr__wf_need(c, e, v[k], key, damage_keys[k]) != 0)
            return -1;
    if ((v[0] && wr__wf_get_enum(c, v[0], "type", &dtypes, dtype) != 0) ||
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
    if (wr__wf_get_sized_list(c, list, "uses", MAX_USES, false) != 0)
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
            wr__wf_read_effects(c, v[U_EFFECTS], &u->effects, &u->n_effects) != 0 ||
            (v[U_MSG] && wr__wf_get_msg(c, v[U_MSG], "msg", &u->msg) != 0) ||
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
    if (v[IG_SLOT] && wr__wf_get_enum(c, v[IG_SLOT], "slot", &slots, &it->slot) != 0)
        return -1;
    /* bonuses count only while worn, so they need a slot to be worn in */
    if (v[IG_STATS] && it->slot == WR_SLOT_NONE)
        return FAIL(c, v[IG_STATS], "stats needs a slot (bonuses count while the item is worn)");
    if (v[IG_ARMOUR] && it->slot == WR_SLOT_NONE)
        return FAIL(c, v[IG_ARMOUR], "armour needs a slot (it counts while the item is worn)");
    if (v[IG_DAMAGE] && it->slot != WR_SLOT_WIELD)
        return FAIL(c, v[IG_DAMAGE], "damage needs slot: wield (a weapon is wielded)");
    if ((v[IG_STATS] &&
         wr__wf_get_stats(c, v[IG_STATS], "stats", -MAX_BONUS, MAX_BONUS, it->stats)) ||
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
    if (wr__wf_get_sized_list(c, list, "drops", MAX_DROPS, true) != 0)
        return -1;
    npc->drops = wr_mud_model_alloc(c->m, list->n * sizeof *npc->drops);
    for (const struct ynode *e = list->first; e != NULL; e = e->next) {
        struct wr_mud_drop *d = &npc->drops[npc->n_drops++];
        const struct ynode *v[2];
        int64_t chance = 100;
        if (wr__wf_fields(c, e, "drop", drop_keys, 2, v) != 0 ||
            wr__wf_need(c, e, v[0], "drop", "item") != 0 ||
            wr__wf_get_ref(c, v[0], "item", &d->item, 0, REF_ITEM) != 0 ||
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
    if (wr__wf_get_sized_list(c, list, "talk", MAX_TOPICS, true) != 0)
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
            (v[2] && wr__wf_get_ref(c, v[2], "quest", &t->quest, 0, REF_QUEST) != 0))
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
        wr__wf_get_stats(c, v[NG_STATS], "stats", MIN_BASE_STAT, MAX_BASE_STAT, npc->stats) != 0)
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
    if ((v[NG_TEACHES] && wr__wf_get_ref_list(c, v[NG_TEACHES], "teaches", WR_MUD_MAX_SKILLS,
                                              REF_SKILL, &npc->teaches, &npc->n_teaches) != 0) ||
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
        return wr__wf_get_ref(c, v[FA_SKILL], "skill", &a->skill, 0, REF_SKILL);
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
    if (wr__wf_get_sized_list(c, list, rule, MAX_ACTIONS, false) != 0)
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
    if (wr__wf_get_sized_list(c, list, "stock", MAX_STOCK, true) != 0)
        return -1;
    sh->stock = wr_mud_model_alloc(c->m, list->n * sizeof *sh->stock);
    for (const struct ynode *e = list->first; e != NULL; e = e->next) {
        struct wr_mud_stock *st = &sh->stock[sh->n_stock++];
        const struct ynode *v[3];
        int64_t count = -1, price = 0;
        if (wr__wf_fields(c, e, "stock", stock_keys, 3, v) != 0 ||
            wr__wf_need(c, e, v[0], "stock", "item") != 0 ||
            wr__wf_get_ref(c, v[0], "item", &st->item, 0, REF_ITEM) != 0 ||
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
        wr__wf_get_ref(c, v[SH_ROOM], "room", &sh->room, zone, REF_SHOP_ROOM) != 0 ||
        (v[SH_KEEPER] && wr__wf_get_ref(c, v[SH_KEEPER], "keeper", &sh->keeper, 0, REF_NPC) != 0) ||
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
    if (wr__wf_get_ref(c, v[st->kind], step_keys[st->kind], &st->what, zone, refs[st->kind]) != 0 ||
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
        (v[2] && wr__wf_get_ref_list(c, v[2], "items", MAX_REWARD_ITEMS, REF_ITEM, &q->reward_items,
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
        wr__wf_get_ref(c, v[Q_GIVER], "giver", &q->giver, 0, REF_NPC) != 0 ||
        (v[Q_LEVEL] &&
         wr__wf_get_int(c, v[Q_LEVEL], "level", 1, m->rules.max_level, &level) != 0) ||
        wr__wf_need(c, e, v[Q_STEPS], what, "steps") != 0 ||
        wr__wf_get_sized_list(c, v[Q_STEPS], "steps", MAX_STEPS, false) != 0)
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
