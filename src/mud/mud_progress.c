/* Progression (mud_internal.h, "gameplay areas"): races and classes, stats
 * and pool maxima, levels and experience, regeneration out of combat, and
 * the two commands that turn gold into a stronger character (HONE, TRAIN).
 *
 * The numbers, in one place (docs/mud.md tells players the same):
 *   stat       = base (race + class + honed) + worn equipment + running
 *                stat effects; an NPC's base is its model's stats
 *   health max = 10 * level + 2 * vitality
 *   skill max  = 5 * level + intelligence + willpower
 *   endurance  = 5 * level + strength + agility    (each at least 1; an
 *                NPC's maxima are its model's)
 *   armour     = worn equipment (an NPC: its model's) + armour effects
 *   a kill     = 10 * victim level experience, times 100% + 20% per level
 *                the victim is above the killer (minus below), clamped to
 *                10%..200%; at least 1
 *   level n->n+1 needs rules.xp_base * n; a level up refills the pools
 *   a regen tick (every rules.regen_ms out of combat) adds to each pool a
 *   tenth of its maximum plus (stat - 10) / 2, at least 1: health by
 *   vitality, skill by willpower, endurance by agility
 *   hone       = rules.hone_cost * the stat's current base, in gold
 * Integer arithmetic only, so every node computes the same values.
 *
 * Snapshot section (after the fight area's), little endian:
 *   per character, in id order: u32 race | u32 cls | u32 level | u64 xp
 *   | i32 base[6] | u64 skills_known | u64 next_regen_at | u32 kills
 *   | u32 deaths
 * (gold is the items area's, in its section)
 *   then per NPC instance, in id order: u64 next_regen_at
 * The counts are the core's (its section comes first). */
#include <stdio.h>
#include <string.h>

#include "mud/mud_internal.h"

#define STAT_LIMIT 1000000  /* effective stats are clamped to +-this */
#define POOL_LIMIT 10000000 /* and pool maxima to 1..this */
#define HONE_MAX 1000       /* a base stat is not honed beyond this */
#define BASE_LIMIT 1000000  /* a snapshot's base stat beyond this is refused */

/* ---- small helpers --------------------------------------------------------- */

static int32_t clamp32(int64_t v, int64_t lo, int64_t hi)
{
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

/* A world always has at least one level and xp_base >= 1 (the loader
 * checks); the guards keep a hand-made model from looping forever. */
static uint32_t max_level(const struct wr_mud_model *mo)
{
    return mo->rules.max_level ? mo->rules.max_level : 1;
}

static uint64_t regen_ms(const struct wr_mud_model *mo)
{
    return mo->rules.regen_ms ? mo->rules.regen_ms : 1;
}

uint64_t wr_mud_xp_to_next(const struct wr_mud_model *mo, uint32_t level)
{
    uint64_t need = (uint64_t)mo->rules.xp_base * level;
    return need ? need : 1;
}

static const struct wr_mud_char *char_c(const struct wr_mud *m, uint32_t id)
{
    return id >= 1 && id <= m->n_chars ? &m->chars[id - 1] : NULL;
}

static const struct wr_mud_npc_inst *npc_c(const struct wr_mud *m, uint32_t id)
{
    long i = wr__mud_find_by_id(m->npcs, m->n_npcs, sizeof *m->npcs, id);
    return i < 0 ? NULL : &m->npcs[i];
}

/* Sum of the running effects of @kind (WR_EFF_STAT: on stat @which;
 * WR_EFF_ARMOUR: against damage type @which) on @f at @now. */
static int64_t fx_sum(const struct wr_mud_fighter *f, uint8_t kind, uint8_t which, uint64_t now)
{
    int64_t sum = 0;
    for (size_t i = 0; i < f->n_fx && i < WR_MUD_MAX_FX; i++) {
        const struct wr_mud_fx *x = &f->fx[i];
        if (x->kind != kind || x->until <= now)
            continue;
        if ((kind == WR_EFF_STAT ? x->stat : x->dtype) == which)
            sum += x->amount;
    }
    return sum;
}

/* The stats a new character of @race and @cls starts with. A race the
 * model lacks counts as every stat 10, a class as 0 (only a hand-made
 * model can lack them: the loader makes up one of each). */
static int32_t start_stat(const struct wr_mud_model *mo, uint32_t race, uint32_t cls,
                          enum wr_mud_stat s)
{
    int64_t v = race < mo->n_races ? mo->races[race].stats[s] : 10;
    if (cls < mo->n_classes)
        v += mo->classes[cls].stats[s];
    return clamp32(v, -STAT_LIMIT, STAT_LIMIT);
}

/* ---- stats, maxima, armour ------------------------------------------------- */

static int32_t char_stat(const struct wr_mud *m, const struct wr_mud_char *c, enum wr_mud_stat s,
                         uint64_t now)
{
    int64_t v = (int64_t)c->base[s] + wr__mud_equip_stat(m, c, s) +
                fx_sum(&c->f, WR_EFF_STAT, (uint8_t)s, now);
    return clamp32(v, -STAT_LIMIT, STAT_LIMIT);
}

static int32_t char_max(const struct wr_mud *m, const struct wr_mud_char *c, enum wr_mud_pool p,
                        uint64_t now)
{
    int64_t lv = c->level, v;
    switch (p) {
    case WR_POOL_HP:
        v = 10 * lv + 2 * (int64_t)char_stat(m, c, WR_STAT_VIT, now);
        break;
    case WR_POOL_SP:
        v = 5 * lv + char_stat(m, c, WR_STAT_INT, now) + char_stat(m, c, WR_STAT_WIL, now);
        break;
    default:
        v = 5 * lv + char_stat(m, c, WR_STAT_STR, now) + char_stat(m, c, WR_STAT_AGI, now);
        break;
    }
    return clamp32(v, 1, POOL_LIMIT);
}

int32_t wr__mud_stat(const struct wr_mud *m, uint8_t kind, uint32_t id, enum wr_mud_stat s,
                     uint64_t now)
{
    if (m->model == NULL || (unsigned)s >= WR_MUD_NSTATS)
        return 0;
    if (kind == WR_MUD_ACTOR_CHAR) {
        const struct wr_mud_char *c = char_c(m, id);
        return c != NULL ? char_stat(m, c, s, now) : 0;
    }
    const struct wr_mud_npc_inst *n = kind == WR_MUD_ACTOR_NPC ? npc_c(m, id) : NULL;
    if (n == NULL || n->npc >= m->model->n_npcs)
        return 0;
    int64_t v =
        (int64_t)m->model->npcs[n->npc].stats[s] + fx_sum(&n->f, WR_EFF_STAT, (uint8_t)s, now);
    return clamp32(v, -STAT_LIMIT, STAT_LIMIT);
}

int32_t wr__mud_max(const struct wr_mud *m, uint8_t kind, uint32_t id, enum wr_mud_pool p,
                    uint64_t now)
{
    if (m->model == NULL || (unsigned)p >= WR_MUD_NPOOLS)
        return 1;
    if (kind == WR_MUD_ACTOR_CHAR) {
        const struct wr_mud_char *c = char_c(m, id);
        return c != NULL ? char_max(m, c, p, now) : 1;
    }
    const struct wr_mud_npc_inst *n = kind == WR_MUD_ACTOR_NPC ? npc_c(m, id) : NULL;
    if (n == NULL || n->npc >= m->model->n_npcs)
        return 1;
    return clamp32(m->model->npcs[n->npc].max[p], 1, POOL_LIMIT);
}

int32_t wr__mud_armour(const struct wr_mud *m, uint8_t kind, uint32_t id, enum wr_mud_dtype t,
                       uint64_t now)
{
    if (m->model == NULL || (unsigned)t >= WR_MUD_NDTYPES)
        return 0;
    if (kind == WR_MUD_ACTOR_CHAR) {
        const struct wr_mud_char *c = char_c(m, id);
        if (c == NULL)
            return 0;
        int64_t v =
            (int64_t)wr__mud_equip_armour(m, c, t) + fx_sum(&c->f, WR_EFF_ARMOUR, (uint8_t)t, now);
        return clamp32(v, -STAT_LIMIT, STAT_LIMIT);
    }
    const struct wr_mud_npc_inst *n = kind == WR_MUD_ACTOR_NPC ? npc_c(m, id) : NULL;
    if (n == NULL || n->npc >= m->model->n_npcs)
        return 0;
    int64_t v =
        (int64_t)m->model->npcs[n->npc].armour[t] + fx_sum(&n->f, WR_EFF_ARMOUR, (uint8_t)t, now);
    return clamp32(v, -STAT_LIMIT, STAT_LIMIT);
}

/* Every pool of @c at its maximum. */
static void refill(const struct wr_mud *m, struct wr_mud_char *c, uint64_t now)
{
    for (int p = 0; p < WR_MUD_NPOOLS; p++)
        c->f.pool[p] = char_max(m, c, (enum wr_mud_pool)p, now);
}

/* ---- creation -------------------------------------------------------------- */

void wr__mud_progress_init_char(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                struct wr_mud_char *c, uint32_t race, uint32_t cls)
{
    const struct wr_mud_model *mo = m->model;
    c->race = race;
    c->cls = cls;
    c->level = 1;
    c->xp = 0;
    for (int s = 0; s < WR_MUD_NSTATS; s++)
        c->base[s] = start_stat(mo, race, cls, (enum wr_mud_stat)s);
    c->skills_known = 0;
    c->gold = mo->rules.start_gold;
    c->kills = c->deaths = 0;
    c->f.target_kind = WR_MUD_ACTOR_NONE;
    c->f.target_id = 0;
    c->f.next_round_at = NEVER;
    c->next_regen_at = NEVER;
    refill(m, c, ctx->now_ms);
}

/* ---- experience and levels ------------------------------------------------- */

/* Tell @c which skills its new level @level opens. */
static void tell_new_skills(const struct wr_mud *m, const struct wr_apply_ctx *ctx,
                            const struct wr_mud_char *c, uint32_t level)
{
    const struct wr_mud_model *mo = m->model;
    for (size_t i = 0; i < mo->n_skills; i++) {
        const struct wr_mud_skill *sk = &mo->skills[i];
        if (sk->level != level || !wr_mud_skill_for_class(sk, c->cls))
            continue;
        if (sk->trained)
            wr__mud_tell_char(ctx, c, "level", "You may now learn %s from a trainer (train).",
                              sk->name);
        else
            wr__mud_tell_char(ctx, c, "level", "You can now use %s.", sk->name);
    }
}

/* Add @xp to @c, levelling up as often as it reaches the next level. At
 * the highest level experience stops one point short of the next. */
static void gain_xp(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                    uint64_t xp)
{
    const struct wr_mud_model *mo = m->model;
    uint32_t top = max_level(mo);
    c->xp = xp > UINT64_MAX - c->xp ? UINT64_MAX : c->xp + xp;
    bool up = false;
    while (c->level < top && c->xp >= wr_mud_xp_to_next(mo, c->level)) {
        c->xp -= wr_mud_xp_to_next(mo, c->level);
        c->level++;
        up = true;
        char actor[96], room[96];
        snprintf(actor, sizeof actor, "You are now level %u!", c->level);
        snprintf(room, sizeof room, "{actor} has reached level %u.", c->level);
        wr__mud_act(ctx, "level", c->room, WR_MUD_ACTOR_CHAR, c->id, c->name, WR_MUD_ACTOR_NONE, 0,
                    NULL, actor, NULL, room, c);
        tell_new_skills(m, ctx, c, c->level);
    }
    if (c->level >= top && c->xp >= wr_mud_xp_to_next(mo, c->level))
        c->xp = wr_mud_xp_to_next(mo, c->level) - 1;
    if (up)
        refill(m, c, ctx->now_ms);
}

void wr__mud_award_xp(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                      uint32_t level)
{
    c->kills++; /* every kill counts here, experience or not */
    if (level == 0)
        return;
    int64_t pct = 100 + 20 * ((int64_t)level - (int64_t)c->level);
    pct = pct < 10 ? 10 : pct > 200 ? 200 : pct;
    uint64_t xp = (uint64_t)level * 10 * (uint64_t)pct / 100;
    if (xp == 0)
        xp = 1;
    wr__mud_tell_char(ctx, c, "xp", "You gain %llu experience.", (unsigned long long)xp);
    gain_xp(m, ctx, c, xp);
}

void wr__mud_grant_xp(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                      uint64_t xp)
{
    if (xp == 0)
        return;
    wr__mud_tell_char(ctx, c, "xp", "You gain %llu experience.", (unsigned long long)xp);
    gain_xp(m, ctx, c, xp);
}

void wr__mud_death_penalty(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c)
{
    c->deaths++;
    uint64_t loss = wr_mud_xp_to_next(m->model, c->level) * m->model->rules.death_xp_percent / 100;
    if (loss > c->xp)
        loss = c->xp; /* never a level down */
    c->xp -= loss;
    if (loss > 0)
        wr__mud_tell_char(ctx, c, "xp", "You lose %llu experience.", (unsigned long long)loss);
}

bool wr__mud_knows_skill(const struct wr_mud *m, const struct wr_mud_char *c, uint32_t skill)
{
    if (m->model == NULL || skill >= m->model->n_skills || skill >= WR_MUD_MAX_SKILLS)
        return false;
    const struct wr_mud_skill *sk = &m->model->skills[skill];
    return c->level >= sk->level && wr_mud_skill_for_class(sk, c->cls) &&
           (!sk->trained || (c->skills_known & (1ull << skill)) != 0);
}

bool wr_mud_knows_skill(const struct wr_mud *m, const struct wr_mud_char *c, uint32_t skill)
{
    return wr__mud_knows_skill(m, c, skill);
}

/* ---- regeneration ---------------------------------------------------------- */

/* A fighter's parts regeneration works on; false if it is gone (or a
 * character out of the world). */
struct regen_target {
    struct wr_mud_fighter *f;
    uint64_t *at;
    struct wr_mud_char *c; /* NULL for an NPC */
};

static bool regen_target(struct wr_mud *m, uint8_t kind, uint32_t id, struct regen_target *t)
{
    memset(t, 0, sizeof *t);
    if (kind == WR_MUD_ACTOR_CHAR) {
        struct wr_mud_char *c = wr__mud_char_by_id(m, id);
        if (c == NULL || !wr__mud_in_world(c))
            return false;
        *t = (struct regen_target){.f = &c->f, .at = &c->next_regen_at, .c = c};
        return true;
    }
    struct wr_mud_npc_inst *n = kind == WR_MUD_ACTOR_NPC ? wr__mud_npc_by_id(m, id) : NULL;
    if (n == NULL || n->npc >= m->model->n_npcs)
        return false;
    *t = (struct regen_target){.f = &n->f, .at = &n->next_regen_at};
    return true;
}

static bool timed_effect(const struct wr_mud_fx *x)
{
    return x->kind == WR_EFF_STAT || x->kind == WR_EFF_ARMOUR;
}

/* Is there anything for a regen tick to do: a pool below its maximum, or
 * a stat or armour effect to end some day? */
static bool needs_regen(const struct wr_mud *m, uint8_t kind, uint32_t id,
                        const struct wr_mud_fighter *f, uint64_t now)
{
    for (int p = 0; p < WR_MUD_NPOOLS; p++)
        if (f->pool[p] < wr__mud_max(m, kind, id, (enum wr_mud_pool)p, now))
            return true;
    for (size_t i = 0; i < f->n_fx && i < WR_MUD_MAX_FX; i++)
        if (timed_effect(&f->fx[i]))
            return true;
    return false;
}

void wr__mud_regen_start(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind,
                         uint32_t id)
{
    struct regen_target t;
    if (m->model == NULL || !regen_target(m, kind, id, &t))
        return;
    if (*t.at != NEVER || t.f->next_round_at != NEVER)
        return; /* already scheduled, or fighting (the fight's end calls again) */
    if (needs_regen(m, kind, id, t.f, ctx->now_ms))
        *t.at = ctx->now_ms + regen_ms(m->model);
}

/* What ended an effect, for the "wears off" line. */
static const char *fx_source(const struct wr_mud_model *mo, const struct wr_mud_fx *x)
{
    if (x->skill < mo->n_skills)
        return mo->skills[x->skill].name;
    if (x->item < mo->n_items)
        return mo->items[x->item].name;
    return NULL;
}

/* Remove the stat and armour effects of @t whose time is over (a
 * character is told). Damage over time belongs to the fight's rounds. */
static void expire_effects(const struct wr_mud *m, const struct wr_apply_ctx *ctx,
                           struct regen_target *t)
{
    struct wr_mud_fighter *f = t->f;
    size_t n = f->n_fx < WR_MUD_MAX_FX ? f->n_fx : WR_MUD_MAX_FX, k = 0;
    for (size_t i = 0; i < n; i++) {
        struct wr_mud_fx x = f->fx[i];
        if (!timed_effect(&x) || x.until > ctx->now_ms) {
            f->fx[k++] = x;
            continue;
        }
        const char *src = fx_source(m->model, &x);
        if (t->c != NULL && src != NULL)
            wr__mud_tell_char(ctx, t->c, "info", "The effect of %s wears off.", src);
        else if (t->c != NULL)
            wr__mud_tell_char(ctx, t->c, "info", "An effect on you wears off.");
    }
    f->n_fx = (uint8_t)k;
}

/* The stat that speeds up the regeneration of pool @p. */
static enum wr_mud_stat regen_stat(enum wr_mud_pool p)
{
    return p == WR_POOL_HP ? WR_STAT_VIT : p == WR_POOL_SP ? WR_STAT_WIL : WR_STAT_AGI;
}

/* A silent event to @c's session: its vitals changed (the node sends
 * GMCP Char.Vitals; nothing is printed). */
static void vitals_changed(const struct wr_apply_ctx *ctx, const struct wr_mud_char *c)
{
    struct wr_mud_event e = wr__mud_ev_char(c);
    e.room = WR_MUD_NO_ROOM;
    e.code = "vitals";
    wr__mud_to_char(ctx, WR_MUD_EV_ACT, c, &e);
}

void wr__mud_regen(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind, uint32_t id)
{
    struct regen_target t;
    uint64_t now = ctx->now_ms;
    if (m->model == NULL || !regen_target(m, kind, id, &t) || *t.at > now)
        return; /* gone, or not due (NEVER included) */
    *t.at = NEVER;
    if (t.f->next_round_at != NEVER)
        return; /* fighting: the fight's end starts it again */
    expire_effects(m, ctx, &t);
    for (int p = 0; p < WR_MUD_NPOOLS; p++) {
        int32_t max = wr__mud_max(m, kind, id, (enum wr_mud_pool)p, now);
        int64_t add =
            max / 10 + (wr__mud_stat(m, kind, id, regen_stat((enum wr_mud_pool)p), now) - 10) / 2;
        if (add < 1)
            add = 1;
        int64_t v = (int64_t)t.f->pool[p] + add;
        if (t.f->pool[p] >= max || v > max)
            v = max; /* also brings down a pool above a maximum that shrank */
        t.f->pool[p] = (int32_t)v;
    }
    if (needs_regen(m, kind, id, t.f, now))
        *t.at = now + regen_ms(m->model);
    if (t.c != NULL)
        vitals_changed(ctx, t.c);
}

/* ---- HONE and TRAIN -------------------------------------------------------- */

static enum result apply_hone(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c, struct wr_reader *r)
{
    uint8_t s = wr_get_u8(r);
    if (r->err || s >= WR_MUD_NSTATS)
        return R_MALFORMED;
    const char *name = wr_mud_stat_name((enum wr_mud_stat)s);
    if (wr__mud_fight_busy(m, ctx, cmd, c, "hone"))
        return R_KEEP;
    int32_t base = c->base[s];
    if (base >= HONE_MAX) {
        wr__mud_fail(ctx, cmd, "hone_max", "Your %s cannot be honed any further.", name);
        return R_KEEP;
    }
    uint64_t cost = (uint64_t)m->model->rules.hone_cost * (uint64_t)(base > 1 ? base : 1);
    if (cost > c->gold) {
        wr__mud_fail(ctx, cmd, "no_gold", "Honing your %s from %d costs %llu gold; you have %u.",
                     name, base, (unsigned long long)cost, c->gold);
        return R_KEEP;
    }
    c->gold -= (uint32_t)cost;
    c->base[s]++;
    wr__mud_tell_char(ctx, c, "info", "You hone your %s to %d for %llu gold.", name, c->base[s],
                      (unsigned long long)cost);
    wr__mud_regen_start(m, ctx, WR_MUD_ACTOR_CHAR, c->id); /* a maximum may have grown */
    vitals_changed(ctx, c);
    return R_KEEP;
}

/* An NPC in @c's room that teaches @skill, or NULL. */
static const struct wr_mud_npc_inst *trainer_here(const struct wr_mud *m,
                                                  const struct wr_mud_char *c, uint32_t skill)
{
    const struct wr_mud_model *mo = m->model;
    for (size_t i = 0; i < m->n_npcs; i++) {
        const struct wr_mud_npc_inst *n = &m->npcs[i];
        if (n->room != c->room || n->npc >= mo->n_npcs)
            continue;
        const struct wr_mud_npc *def = &mo->npcs[n->npc];
        for (size_t k = 0; k < def->n_teaches; k++)
            if (def->teaches[k] == skill)
                return n;
    }
    return NULL;
}

static const char *class_name(const struct wr_mud_model *mo, uint32_t cls)
{
    return cls < mo->n_classes ? mo->classes[cls].name : "adventurer";
}

static enum result apply_train(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c, struct wr_reader *r)
{
    char key[256];
    if (wr_get_str(r, key, sizeof key) != 0)
        return R_MALFORMED;
    const struct wr_mud_model *mo = m->model;
    if (key[0] == '\0') {
        wr__mud_fail(ctx, cmd, "train_what",
                     "Train what? 'train' alone lists what is taught here.");
        return R_KEEP;
    }
    long si = wr_mud_model_skill(mo, key);
    if (si < 0 || si >= WR_MUD_MAX_SKILLS) {
        wr__mud_fail(ctx, cmd, "no_skill", "There is no skill called %s.", key);
        return R_KEEP;
    }
    uint32_t skill = (uint32_t)si;
    const struct wr_mud_skill *sk = &mo->skills[skill];
    if (wr__mud_fight_busy(m, ctx, cmd, c, "train"))
        return R_KEEP;
    if (!sk->trained) {
        wr__mud_fail(ctx, cmd, "not_trained", "Nobody teaches %s: it comes by itself at level %u.",
                     sk->name, sk->level);
        return R_KEEP;
    }
    if (c->skills_known & (1ull << skill)) {
        wr__mud_fail(ctx, cmd, "known", "You already know %s.", sk->name);
        return R_KEEP;
    }
    const struct wr_mud_npc_inst *tr = trainer_here(m, c, skill);
    if (tr == NULL) {
        wr__mud_fail(ctx, cmd, "no_trainer", "Nobody here teaches %s.", sk->name);
        return R_KEEP;
    }
    if (!wr_mud_skill_for_class(sk, c->cls)) {
        wr__mud_fail(ctx, cmd, "wrong_class", "%s is not a skill a %s can learn.", sk->name,
                     class_name(mo, c->cls));
        return R_KEEP;
    }
    if (c->level < sk->level) {
        wr__mud_fail(ctx, cmd, "low_level", "You need level %u to learn %s (you are %u).",
                     sk->level, sk->name, c->level);
        return R_KEEP;
    }
    if (sk->train_cost > c->gold) {
        wr__mud_fail(ctx, cmd, "no_gold", "Learning %s costs %u gold; you have %u.", sk->name,
                     sk->train_cost, c->gold);
        return R_KEEP;
    }
    c->gold -= sk->train_cost;
    c->skills_known |= 1ull << skill;
    char actor[192], room[192];
    snprintf(actor, sizeof actor, "{target} teaches you %s for %u gold.", sk->name, sk->train_cost);
    snprintf(room, sizeof room, "{target} teaches {actor} %s.", sk->name);
    wr__mud_act(ctx, "train", c->room, WR_MUD_ACTOR_CHAR, c->id, c->name, WR_MUD_ACTOR_NPC, tr->id,
                mo->npcs[tr->npc].name, actor, NULL, room, c);
    return R_KEEP;
}

enum result wr__mud_apply_progress(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                   const struct wr_cmd *cmd, struct wr_mud_char *c,
                                   struct wr_reader *r)
{
    if (c == NULL)
        return R_MALFORMED; /* no session-less command here */
    switch (cmd->type) {
    case WR_MUD_HONE:
        return apply_hone(m, ctx, cmd, c, r);
    case WR_MUD_TRAIN:
        return apply_train(m, ctx, cmd, c, r);
    default:
        return R_MALFORMED;
    }
}

/* ---- snapshot, restore, remap ---------------------------------------------- */

void wr__mud_snap_progress(const struct wr_mud *m, struct wr_writer *w)
{
    for (size_t i = 0; i < m->n_chars; i++) {
        const struct wr_mud_char *c = &m->chars[i];
        wr_put_u32(w, c->race);
        wr_put_u32(w, c->cls);
        wr_put_u32(w, c->level);
        wr_put_u64(w, c->xp);
        for (int s = 0; s < WR_MUD_NSTATS; s++)
            wr_put_u32(w, (uint32_t)c->base[s]);
        wr_put_u64(w, c->skills_known);
        wr_put_u64(w, c->next_regen_at);
        wr_put_u32(w, c->kills);
        wr_put_u32(w, c->deaths);
    }
    for (size_t i = 0; i < m->n_npcs; i++)
        wr_put_u64(w, m->npcs[i].next_regen_at);
}

/* The bits of skills a model has (n skills, at most 64). */
static uint64_t skill_mask(const struct wr_mud_model *mo)
{
    return mo->n_skills >= 64 ? UINT64_MAX : (1ull << mo->n_skills) - 1;
}

/* A version 1 snapshot: characters from before progression get what a
 * new character of the first race and class gets, pools full. */
static void restore_defaults(struct wr_mud *m)
{
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *c = &m->chars[i];
        c->race = c->cls = 0;
        c->level = 1;
        c->xp = 0;
        for (int s = 0; s < WR_MUD_NSTATS; s++)
            c->base[s] = start_stat(m->model, 0, 0, (enum wr_mud_stat)s);
        c->skills_known = 0;
        c->next_regen_at = NEVER;
        c->gold = m->model->rules.start_gold;
        c->kills = c->deaths = 0;
        refill(m, c, 0);
    }
    for (size_t i = 0; i < m->n_npcs; i++)
        m->npcs[i].next_regen_at = NEVER;
}

int wr__mud_restore_progress(struct wr_mud *m, struct wr_reader *r)
{
    const struct wr_mud_model *mo = m->model;
    if (mo == NULL)
        return m->n_chars == 0 && m->n_npcs == 0 ? 0 : -1;
    if (r == NULL) {
        restore_defaults(m);
        return 0;
    }
    /* A model without races or classes (hand-made) still has index 0. */
    size_t n_races = mo->n_races ? mo->n_races : 1, n_classes = mo->n_classes ? mo->n_classes : 1;
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *c = &m->chars[i];
        c->race = wr_get_u32(r);
        c->cls = wr_get_u32(r);
        c->level = wr_get_u32(r);
        c->xp = wr_get_u64(r);
        bool bad_base = false;
        for (int s = 0; s < WR_MUD_NSTATS; s++) {
            c->base[s] = (int32_t)wr_get_u32(r);
            bad_base |= c->base[s] < -BASE_LIMIT || c->base[s] > BASE_LIMIT;
        }
        c->skills_known = wr_get_u64(r);
        c->next_regen_at = wr_get_u64(r);
        c->kills = wr_get_u32(r);
        c->deaths = wr_get_u32(r);
        if (r->err || c->race >= n_races || c->cls >= n_classes || c->level < 1 ||
            c->level > max_level(mo) || bad_base || (c->skills_known & ~skill_mask(mo)) != 0)
            return -1;
    }
    for (size_t i = 0; i < m->n_npcs; i++)
        m->npcs[i].next_regen_at = wr_get_u64(r);
    return r->err ? -1 : 0;
}

/* @bits (old skill indexes) as the new model's indexes; skills gone are
 * forgotten. */
static uint64_t remap_skills(uint64_t bits, const struct remap *rm)
{
    uint64_t out = 0;
    for (size_t i = 0; i < rm->om->n_skills && i < WR_MUD_MAX_SKILLS; i++)
        if ((bits & (1ull << i)) && rm->skill[i] != NONE && rm->skill[i] < WR_MUD_MAX_SKILLS)
            out |= 1ull << rm->skill[i];
    return out;
}

void wr__mud_remap_progress(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                            const struct remap *rm)
{
    (void)ctx;
    const struct wr_mud_model *nm = rm->nm;
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *c = &m->chars[i];
        if (rm->om != NULL) {
            c->race =
                c->race < rm->om->n_races && rm->race[c->race] != NONE ? rm->race[c->race] : 0;
            c->cls = c->cls < rm->om->n_classes && rm->cls[c->cls] != NONE ? rm->cls[c->cls] : 0;
            c->skills_known = remap_skills(c->skills_known, rm);
        }
        if (c->level > max_level(nm)) {
            c->level = max_level(nm);
            c->xp = 0;
        }
    }
}

void wr__mud_clear_progress(struct wr_mud *m)
{
    (void)m; /* everything progression keeps lives in the characters and NPCs */
}
