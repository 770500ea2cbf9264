/* Skills and effects (mud_internal.h, "gameplay areas"; part of the fight
 * area, whose commands and state mud_fight.c owns): using a skill (cost,
 * cooldown, message), the effects of a skill or an item applied to a
 * fighter (damage and recovery at once; damage over time, stat and armour
 * effects into its fx[]), the cooldowns in its cd[], and the start of each
 * combat round, where running damage over time hurts and effects whose time
 * is up wear off.
 *
 * The rolls of an effect come from the user's dice (its fighter's rng), as
 * the blows of mud_fight.c do; hurting, dying and starting a fight are
 * mud_fight.c's (wr__mud_fight_hurt, wr__mud_fight_engage). */
#include <stdio.h>

#include "mud/mud_internal.h"

#define CHAR_KIND WR_MUD_ACTOR_CHAR
#define NPC_KIND WR_MUD_ACTOR_NPC

/* ---- small helpers ----------------------------------------------------- */

/* ---- effects and cooldowns -------------------------------------------- */

/* Put @fx on @f: it replaces a running effect of the same origin and kind;
 * else it takes a free slot, else one whose time is up, else the one that
 * ends first. */
static void add_fx(struct wr_mud_fighter *f, const struct wr_mud_fx *fx, uint64_t now)
{
    size_t slot = WR_MUD_MAX_FX;
    for (size_t i = 0; i < f->n_fx && slot == WR_MUD_MAX_FX; i++) {
        const struct wr_mud_fx *o = &f->fx[i];
        if (o->skill == fx->skill && o->item == fx->item && o->kind == fx->kind &&
            o->stat == fx->stat && o->dtype == fx->dtype)
            slot = i;
    }
    if (slot == WR_MUD_MAX_FX && f->n_fx < WR_MUD_MAX_FX)
        slot = f->n_fx++;
    for (size_t i = 0; i < f->n_fx && slot == WR_MUD_MAX_FX; i++)
        if (f->fx[i].until <= now)
            slot = i;
    if (slot == WR_MUD_MAX_FX) {
        slot = 0;
        for (size_t i = 1; i < f->n_fx; i++)
            if (f->fx[i].until < f->fx[slot].until)
                slot = i;
    }
    f->fx[slot] = *fx;
}

/* When @skill is ready again for @f (0: ready). */
static uint64_t ready_at(const struct wr_mud_fighter *f, uint32_t skill)
{
    for (size_t i = 0; i < f->n_cd; i++)
        if (f->cd[i].skill == skill)
            return f->cd[i].ready_at;
    return 0;
}

/* @skill is on cooldown for @f until @until: its entry is updated, else a
 * free slot, else one that is ready again, else the one ready first. */
static void add_cd(struct wr_mud_fighter *f, uint32_t skill, uint64_t until, uint64_t now)
{
    size_t slot = WR_MUD_MAX_CD;
    for (size_t i = 0; i < f->n_cd && slot == WR_MUD_MAX_CD; i++)
        if (f->cd[i].skill == skill)
            slot = i;
    if (slot == WR_MUD_MAX_CD && f->n_cd < WR_MUD_MAX_CD)
        slot = f->n_cd++;
    for (size_t i = 0; i < f->n_cd && slot == WR_MUD_MAX_CD; i++)
        if (f->cd[i].ready_at <= now)
            slot = i;
    if (slot == WR_MUD_MAX_CD) {
        slot = 0;
        for (size_t i = 1; i < f->n_cd; i++)
            if (f->cd[i].ready_at < f->cd[slot].ready_at)
                slot = i;
    }
    f->cd[slot] = (struct wr_mud_cooldown){.skill = skill, .ready_at = until};
}

/* ---- skills and effects ------------------------------------------------ */

/* Effect @e of skill @skill (or item @item) used by (@uk, @uid) on (@vk,
 * @vid), now. Returns true if someone died of it (the use stops there). */
static bool apply_effect(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                         const struct wr_mud_effect *e, uint32_t skill, uint32_t item, uint8_t uk,
                         uint32_t uid, uint8_t vk, uint32_t vid)
{
    uint64_t now = ctx->now_ms;
    struct wr_mud_fighter *uf = wr__mud_fighter(m, uk, uid);
    struct wr_mud_fighter *vf = wr__mud_fighter(m, vk, vid);
    if (uf == NULL || vf == NULL)
        return false;
    int64_t amount = (int64_t)e->amount + wr__mud_fight_bonus(m, uk, uid, e->scale_stat, now);
    if (e->kind == WR_EFF_DAMAGE || e->kind == WR_EFF_RECOVER)
        amount += (int64_t)wr__mud_roll(&uf->rng, (uint64_t)e->roll + 1);
    char a[128], t[128], r[128];
    switch (e->kind) {
    case WR_EFF_DAMAGE: {
        amount -= wr__mud_armour(m, vk, vid, (enum wr_mud_dtype)e->dtype, now);
        int32_t d = wr__mud_sat32(amount < 1 ? 1 : amount);
        const char *type = wr_mud_dtype_name((enum wr_mud_dtype)e->dtype);
        snprintf(a, sizeof a, "{target} takes %d %s damage.", d, type);
        snprintf(t, sizeof t, "You take %d %s damage.", d, type);
        snprintf(r, sizeof r, "{target} takes %d %s damage.", d, type);
        wr__mud_fight_act(m, ctx, "skill", uk, uid, vk, vid, (uk == vk && uid == vid) ? t : a, t,
                          r);
        return wr__mud_fight_hurt(m, ctx, vk, vid, d, uk, uid);
    }
    case WR_EFF_RECOVER: {
        if (e->pool >= WR_MUD_NPOOLS)
            return false;
        int64_t max = wr__mud_max(m, vk, vid, (enum wr_mud_pool)e->pool, now);
        int64_t before = vf->pool[e->pool];
        int64_t after = before + (amount > 0 ? amount : 0);
        if (after > max)
            after = max > before ? max : before; /* never takes away */
        vf->pool[e->pool] = wr__mud_sat32(after);
        const char *pool = wr_mud_pool_name((enum wr_mud_pool)e->pool);
        snprintf(a, sizeof a, "{target} recovers %lld %s.", (long long)(after - before), pool);
        snprintf(t, sizeof t, "You recover %lld %s.", (long long)(after - before), pool);
        wr__mud_fight_act(m, ctx, "skill", uk, uid, vk, vid, (uk == vk && uid == vid) ? t : a, t,
                          a);
        return false;
    }
    case WR_EFF_DOT:
    case WR_EFF_STAT:
    case WR_EFF_ARMOUR: {
        struct wr_mud_fx fx = {
            .kind = e->kind,
            .dtype = e->kind == WR_EFF_STAT ? 0 : e->dtype,
            .stat = e->kind == WR_EFF_STAT ? e->stat : 0,
            .amount = e->kind == WR_EFF_DOT ? wr__mud_sat32(amount) : e->amount,
            .until = now + e->duration_ms,
            .skill = skill,
            .item = item,
            .from_kind = uk,
            .from_id = uid,
        };
        add_fx(vf, &fx, now);
        return false;
    }
    default:
        return false;
    }
}

/* The name of an effect's origin (a skill or an item), or "something". */
static const char *fx_origin(const struct wr_mud *m, const struct wr_mud_fx *fx)
{
    if (fx->skill < m->model->n_skills)
        return m->model->skills[fx->skill].name;
    if (fx->item < m->model->n_items)
        return m->model->items[fx->item].name;
    return "something";
}

/* Skill @s used by (@uk, @uid) on (@tk, @tid) (the user itself for a self
 * skill): the checks are done; an enemy skill starts the fight, the cost
 * and the cooldown are taken, the message shown and the effects applied
 * at once, in order. The same for characters and NPCs. */
void wr__mud_skill_use(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t s, uint8_t uk,
                       uint32_t uid, uint8_t tk, uint32_t tid)
{
    const struct wr_mud_skill *sk = &m->model->skills[s];
    if (sk->target == WR_TGT_ENEMY)
        wr__mud_fight_engage(m, ctx, uk, uid, tk, tid);
    else {
        tk = uk;
        tid = uid;
    }
    struct wr_mud_fighter *uf = wr__mud_fighter(m, uk, uid);
    if (sk->cost_pool < WR_MUD_NPOOLS && sk->cost > 0) {
        uf->pool[sk->cost_pool] = wr__mud_sat32((int64_t)uf->pool[sk->cost_pool] - sk->cost);
        wr__mud_regen_start(m, ctx, uk, uid);
    }
    if (sk->cooldown_ms > 0)
        add_cd(uf, s, ctx->now_ms + sk->cooldown_ms, ctx->now_ms);
    char da[128], dt[128], dr[128];
    bool self = tk == uk && tid == uid;
    snprintf(da, sizeof da, self ? "You use %s." : "You use %s on {target}.", sk->name);
    snprintf(dt, sizeof dt, "{actor} uses %s on you.", sk->name);
    snprintf(dr, sizeof dr, self ? "{actor} uses %s." : "{actor} uses %s on {target}.", sk->name);
    bool custom = sk->msg.actor || sk->msg.target || sk->msg.room;
    wr__mud_fight_act(m, ctx, "skill", uk, uid, tk, tid, custom ? sk->msg.actor : da,
                      custom ? sk->msg.target : dt, custom ? sk->msg.room : dr);
    wr__mud_fight_effects(m, ctx, sk->effects, sk->n_effects, s, NONE, uk, uid, tk, tid);
}

void wr__mud_fight_effects(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                           const struct wr_mud_effect *effects, size_t n, uint32_t skill,
                           uint32_t item, uint8_t uk, uint32_t uid, uint8_t tk, uint32_t tid)
{
    for (size_t i = 0; i < n; i++) {
        const struct wr_mud_effect *e = &effects[i];
        uint8_t vk = e->self ? uk : tk;
        uint32_t vid = e->self ? uid : tid;
        if (wr__mud_fighter(m, vk, vid) == NULL)
            continue; /* the target died of an earlier effect */
        if (apply_effect(m, ctx, e, skill, item, uk, uid, vk, vid) &&
            wr__mud_fighter(m, uk, uid) == NULL)
            break; /* the user died of it */
    }
}

/* Why (@kind, @id) cannot use skill @s now, as a message into @why; or
 * NULL if it can. */
const char *wr__mud_skill_blocked(struct wr_mud *m, uint8_t kind, uint32_t id, uint32_t s,
                                  uint64_t now, char *why, size_t cap)
{
    const struct wr_mud_skill *sk = &m->model->skills[s];
    const struct wr_mud_fighter *f = wr__mud_fighter(m, kind, id);
    char name[64];
    uint64_t ready = ready_at(f, s);
    if (ready > now) {
        snprintf(why, cap, "%s is not ready yet (%llu s).",
                 wr__mud_capitalised(sk->name, name, sizeof name),
                 (unsigned long long)((ready - now + 999) / 1000));
        return why;
    }
    if (sk->cost_pool < WR_MUD_NPOOLS && (int64_t)f->pool[sk->cost_pool] < (int64_t)sk->cost) {
        snprintf(why, cap, "You don't have enough %s for %s (%u needed, %d left).",
                 wr_mud_pool_name((enum wr_mud_pool)sk->cost_pool), sk->name, sk->cost,
                 f->pool[sk->cost_pool]);
        return why;
    }
    return NULL;
}

/* ---- the start of a round ------------------------------------------------ */

/* The start of a round at @at: running damage over time hurts (returns
 * true if that killed it), then effects whose time is up wear off. */
bool wr__mud_fx_round(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind, uint32_t id,
                      uint64_t at)
{
    struct wr_mud_fighter *f = wr__mud_fighter(m, kind, id);
    for (size_t i = 0; i < f->n_fx; i++) {
        struct wr_mud_fx fx = f->fx[i];
        if (fx.kind != WR_EFF_DOT || fx.until <= at)
            continue;
        int64_t d =
            (int64_t)fx.amount - wr__mud_armour(m, kind, id, (enum wr_mud_dtype)fx.dtype, at);
        int32_t dmg = fx.amount <= 0 ? 0 : wr__mud_sat32(d < 1 ? 1 : d);
        char a[128], r[160];
        const char *type = wr_mud_dtype_name((enum wr_mud_dtype)fx.dtype);
        snprintf(a, sizeof a, "You suffer %d %s damage from %s.", dmg, type, fx_origin(m, &fx));
        snprintf(r, sizeof r, "{actor} suffers %d %s damage from %s.", dmg, type,
                 fx_origin(m, &fx));
        wr__mud_fight_act(m, ctx, "dot", kind, id, WR_MUD_NOBODY, 0, a, NULL, r);
        if (wr__mud_fight_hurt(m, ctx, kind, id, dmg, fx.from_kind, fx.from_id))
            return true;
        f = wr__mud_fighter(m, kind, id);
    }
    size_t keep = 0;
    for (size_t i = 0; i < f->n_fx; i++) {
        if (f->fx[i].until > at) {
            f->fx[keep++] = f->fx[i];
            continue;
        }
        /* worded as the progression area's expiry out of combat */
        wr__mud_tell_char(ctx, wr__mud_char_of(m, kind, id), "info", "The effect of %s wears off.",
                          fx_origin(m, &f->fx[i]));
    }
    f->n_fx = (uint8_t)keep;
    return false;
}
