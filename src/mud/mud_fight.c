/* Combat (mud_internal.h, "gameplay areas"): targets, combat rounds on the
 * zone owner's timer, blows, NPC combat behaviour, death, flee and recall,
 * the fight commands (SKILL included: its target is resolved here) and the
 * area's snapshot, restore and remap. Using skills, applying effects and
 * cooldowns, and the effects at the start of a round are mud_effects.c's.
 *
 * A fighter (struct wr_mud_fighter) is a character in the world or an NPC
 * instance. Its states:
 *   IDLE      next_round_at == NEVER. It may still have a target (TARGET
 *             sets one without fighting); effects and cooldowns run out on
 *             their own.
 *   FIGHTING  next_round_at != NEVER and target_kind != NONE: the zone tick
 *             at or after next_round_at runs its round (wr__mud_fight_round),
 *             which schedules the next one round_ms after the scheduled
 *             time (not after the tick's time), so late ticks catch up one
 *             round per tick and a repeated tick runs nothing twice.
 * Invariants (checked on restore): FIGHTING implies a target; an OFFLINE
 * character is IDLE; n_fx <= WR_MUD_MAX_FX, n_cd <= WR_MUD_MAX_CD, and
 * every skill/item index in them is valid for the model.
 *
 * Dice. A fight's rolls come from the fighter's own rng, seeded when it
 * starts fighting from the seed of the entry that started the fight mixed
 * with (kind, id), and advanced by each roll: the rounds of a fight depend
 * only on the entries that started it and on the commands since, never on
 * the seeds of the ticks that run them, so a new zone owner continues the
 * very same rounds.
 *
 * Section format (snapshot version 2), after the core's:
 *   u32 n_chars | fighter per character, id order
 *   u32 n_npcs  | fighter per NPC instance, id order
 *   fighter: (u32 pool) * WR_MUD_NPOOLS | u8 target_kind | u32 target_id
 *            | u64 next_round_at | u32 round | u64 rng
 *            | u8 n_fx | fx * n_fx | u8 n_cd | cd * n_cd
 *   fx:      u8 kind | u8 dtype | u8 stat | u32 amount | u64 until
 *            | u32 skill | u32 item | u8 from_kind | u32 from_id
 *   cd:      u32 skill | u64 ready_at */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mud/mud_internal.h"

#define CHAR_KIND WR_MUD_ACTOR_CHAR
#define NPC_KIND WR_MUD_ACTOR_NPC

/* ---- small helpers ----------------------------------------------------- */

static bool fighting(const struct wr_mud_fighter *f)
{
    return f->next_round_at != NEVER;
}

/* Back to IDLE without a target. */
static void fighter_idle(struct wr_mud_fighter *f)
{
    f->target_kind = WR_MUD_NOBODY;
    f->target_id = 0;
    f->next_round_at = NEVER;
    f->round = 0;
}

static const struct wr_mud_npc *npc_def(struct wr_mud *m, uint32_t id)
{
    const struct wr_mud_npc_inst *n = wr__mud_npc_by_id(m, id);
    return n != NULL ? &m->model->npcs[n->npc] : NULL;
}

/* An act()-style line in the room of the actor (@ak, @aid) about target
 * (@tk, @tid) (may be NONE). */
void wr__mud_fight_act(struct wr_mud *m, const struct wr_apply_ctx *ctx, const char *code,
                       uint8_t ak, uint32_t aid, uint8_t tk, uint32_t tid, const char *to_actor,
                       const char *to_target, const char *to_room)
{
    uint32_t room = wr__mud_fighter_room(m, ak, aid);
    if (room == WR_MUD_NO_ROOM)
        return;
    wr__mud_act(ctx, code, room, ak, aid, wr__mud_fighter_name(m, ak, aid), tk,
                tk == WR_MUD_NOBODY ? 0 : tid,
                tk == WR_MUD_NOBODY ? NULL : wr__mud_fighter_name(m, tk, tid), to_actor, to_target,
                to_room, wr__mud_char_of(m, ak, aid));
}

/* (stat - 10) / 2 of a fighter, rounded toward zero; 0 without a stat. */
int32_t wr__mud_fight_bonus(const struct wr_mud *m, uint8_t kind, uint32_t id, uint8_t stat,
                            uint64_t at)
{
    if (stat >= WR_MUD_NSTATS)
        return 0;
    return (wr__mud_stat(m, kind, id, (enum wr_mud_stat)stat, at) - 10) / 2;
}

/* ---- starting and ending fights ----------------------------------------- */

/* (@kind, @id) starts fighting (@tk, @tid) unless it fights already: its
 * dice are seeded from the entry's seed and its first round is due now. */
static void engage(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind, uint32_t id,
                   uint8_t tk, uint32_t tid)
{
    struct wr_mud_fighter *f = wr__mud_fighter(m, kind, id);
    if (f == NULL || fighting(f) || (kind == tk && id == tid))
        return;
    f->rng = ctx->seed ^ ((uint64_t)kind << 56) ^ ((uint64_t)id * 0x9E3779B97F4A7C15ull);
    wr_mix64(&f->rng);
    f->target_kind = tk;
    f->target_id = tid;
    f->round = 0;
    f->next_round_at = ctx->now_ms;
}

/* Both sides of a fight start fighting (each unless it fights already). */
void wr__mud_fight_engage(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t ak,
                          uint32_t aid, uint8_t tk, uint32_t tid)
{
    engage(m, ctx, ak, aid, tk, tid);
    engage(m, ctx, tk, tid, ak, aid);
}

/* The fight of (@kind, @id) ends: IDLE, and it starts regenerating. */
static void end_fight(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind, uint32_t id)
{
    struct wr_mud_fighter *f = wr__mud_fighter(m, kind, id);
    if (f == NULL)
        return;
    bool was = fighting(f);
    fighter_idle(f);
    if (was)
        wr__mud_regen_start(m, ctx, kind, id);
}

void wr__mud_fight_leave(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind,
                         uint32_t id)
{
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *c = &m->chars[i];
        if (wr__mud_in_world(c) && c->f.target_kind == kind && c->f.target_id == id)
            end_fight(m, ctx, CHAR_KIND, c->id);
    }
    for (size_t i = 0; i < m->n_npcs; i++) {
        struct wr_mud_npc_inst *n = &m->npcs[i];
        if (n->f.target_kind == kind && n->f.target_id == id)
            end_fight(m, ctx, NPC_KIND, n->id);
    }
    end_fight(m, ctx, kind, id);
}

bool wr__mud_fight_busy(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd,
                        const struct wr_mud_char *c, const char *what)
{
    (void)m;
    (void)what; /* one message for every refusal: it says what to do instead */
    if (!fighting(&c->f))
        return false;
    wr__mud_fail(ctx, cmd, "fighting", "You are fighting! Flee first.");
    return true;
}

void wr__mud_fight_init_npc(struct wr_mud *m, struct wr_mud_npc_inst *n)
{
    const struct wr_mud_npc *def = &m->model->npcs[n->npc];
    memset(&n->f, 0, sizeof n->f);
    for (int p = 0; p < WR_MUD_NPOOLS; p++)
        n->f.pool[p] = wr__mud_sat32(def->max[p]);
    fighter_idle(&n->f);
    n->next_regen_at = NEVER;
}

/* ---- moving a character (flee, recall, death) --------------------------- */

/* @c goes to @to (through exit @dir, or -1 when it is not walking): the
 * room it leaves and the one it enters see it, its session is shown the
 * new room. The caller then runs wr__mud_entered_room. */
static void move_char(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                      uint32_t to, int dir)
{
    struct wr_mud_event e = wr__mud_ev_char(c);
    e.dir = dir;
    wr__mud_to_room(ctx, WR_MUD_EV_DEPART, &e);
    uint32_t from = c->room;
    c->room = to;
    e = wr__mud_ev_char(c);
    if (dir >= 0) {
        enum wr_mud_dir rd = wr_mud_dir_reverse((enum wr_mud_dir)dir);
        e.dir = m->model->rooms[to].exits[rd].to == from ? (int)rd : -1;
    }
    wr__mud_to_room(ctx, WR_MUD_EV_ARRIVE, &e);
    e.dir = dir;
    wr__mud_to_char(ctx, WR_MUD_EV_MOVED, c, &e);
}

/* ---- death ------------------------------------------------------------ */

static void npc_dies(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t id,
                     struct wr_mud_char *killer)
{
    struct wr_mud_npc_inst *n = wr__mud_npc_by_id(m, id);
    uint32_t room = n->room, kind = n->npc, level = m->model->npcs[n->npc].level;
    wr__mud_fight_act(m, ctx, "death", NPC_KIND, id, WR_MUD_NOBODY, 0, NULL, NULL,
                      "{actor} is dead!");
    wr__mud_make_corpse(m, ctx, NPC_KIND, id, room, &n->f.rng);
    if (killer != NULL) { /* award_xp counts the kill, death_penalty the death */
        wr__mud_award_xp(m, ctx, killer, level);
        wr__mud_quest_on_kill(m, ctx, killer, kind);
    }
    wr__mud_fight_leave(m, ctx, NPC_KIND, id);
    wr__mud_npc_remove(m, ctx, id);
}

static void char_dies(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c)
{
    wr__mud_fight_act(m, ctx, "death", CHAR_KIND, c->id, WR_MUD_NOBODY, 0, "You are dead!", NULL,
                      "{actor} is dead!");
    wr__mud_make_corpse(m, ctx, CHAR_KIND, c->id, c->room, &c->f.rng);
    wr__mud_death_penalty(m, ctx, c);
    wr__mud_fight_leave(m, ctx, CHAR_KIND, c->id);
    c->f.n_fx = 0; /* death ends every effect */
    move_char(m, ctx, c, m->model->zones[wr__mud_room_zone(m, c->room)].graveyard, -1);
    for (int p = 0; p < WR_MUD_NPOOLS; p++) {
        int32_t max = wr__mud_max(m, CHAR_KIND, c->id, (enum wr_mud_pool)p, ctx->now_ms);
        c->f.pool[p] = p == WR_POOL_HP ? (max / 2 > 0 ? max / 2 : 1) : max;
    }
    wr__mud_tell_char(ctx, c, "death", "You wake up in %s, weak but alive.",
                      m->model->rooms[c->room].name);
    wr__mud_regen_start(m, ctx, CHAR_KIND, c->id);
    wr__mud_entered_room(m, ctx, c);
}

/* @amount (>= 0) of damage to (@vk, @vid) from (@fk, @fid); returns true
 * if it died of it (and is then gone from where it was). */
bool wr__mud_fight_hurt(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t vk, uint32_t vid,
                        int32_t amount, uint8_t fk, uint32_t fid)
{
    struct wr_mud_fighter *f = wr__mud_fighter(m, vk, vid);
    if (f == NULL)
        return false;
    f->pool[WR_POOL_HP] = wr__mud_sat32((int64_t)f->pool[WR_POOL_HP] - amount);
    if (f->pool[WR_POOL_HP] > 0) {
        wr__mud_regen_start(m, ctx, vk, vid);
        return false;
    }
    if (vk == NPC_KIND)
        npc_dies(m, ctx, vid, wr__mud_char_of(m, fk, fid));
    else
        char_dies(m, ctx, wr__mud_char_of(m, vk, vid));
    return true;
}

/* ---- attacks and NPC actions ------------------------------------------- */

/* Damage of a plain blow of (@ak, @aid) before armour: weapon (NPC: its
 * attack; unarmed: 1..3) plus the strength bonus; *@dtype gets its type. */
static int64_t blow(struct wr_mud *m, uint8_t ak, uint32_t aid, uint64_t at, uint64_t *rng,
                    uint8_t *dtype)
{
    uint32_t lo = 1, hi = 3;
    if (ak == NPC_KIND) {
        const struct wr_mud_npc *def = npc_def(m, aid);
        lo = def->dmg_min;
        hi = def->dmg_max;
        *dtype = def->dtype;
    } else {
        const struct wr_mud_char *c = wr__mud_char_of(m, ak, aid);
        uint32_t w = wr__mud_weapon(m, c);
        if (w != NONE && w < m->model->n_items) {
            lo = m->model->items[w].dmg_min;
            hi = m->model->items[w].dmg_max;
            *dtype = m->model->items[w].dtype;
        } else {
            *dtype = c->cls < m->model->n_classes ? m->model->classes[c->cls].attack_dtype
                                                  : (uint8_t)WR_DT_BLUDGEON;
        }
    }
    if (hi < lo)
        hi = lo;
    int64_t dmg = (int64_t)lo + (int64_t)wr__mud_roll(rng, (uint64_t)hi - lo + 1);
    return dmg + wr__mud_fight_bonus(m, ak, aid, WR_STAT_STR, at);
}

/* A plain attack of (@ak, @aid) on (@vk, @vid) at log time @at (both must
 * be in the world; the victim fights back if it is not fighting yet).
 * Returns true if the victim died. */
static bool attack(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t ak, uint32_t aid,
                   uint8_t vk, uint32_t vid, uint64_t at)
{
    wr__mud_fight_engage(m, ctx, ak, aid, vk, vid);
    struct wr_mud_fighter *f = wr__mud_fighter(m, ak, aid);
    int64_t agi = (int64_t)wr__mud_stat(m, ak, aid, WR_STAT_AGI, at) -
                  wr__mud_stat(m, vk, vid, WR_STAT_AGI, at);
    int64_t chance = wr__mud_clamp64(75 + 2 * agi, 5, 95);
    if ((int64_t)wr__mud_roll(&f->rng, 100) >= chance) {
        wr__mud_fight_act(m, ctx, "miss", ak, aid, vk, vid, "You miss {target}.",
                          "{actor} misses you.", "{actor} misses {target}.");
        return false;
    }
    uint8_t dtype = WR_DT_BLUDGEON;
    int64_t dmg = blow(m, ak, aid, at, &f->rng, &dtype);
    dmg -= wr__mud_armour(m, vk, vid, (enum wr_mud_dtype)dtype, at);
    int32_t d = wr__mud_sat32(dmg < 1 ? 1 : dmg);
    char a[96], t[96], r[96];
    snprintf(a, sizeof a, "You hit {target} for %d damage.", d);
    snprintf(t, sizeof t, "{actor} hits you for %d damage.", d);
    snprintf(r, sizeof r, "{actor} hits {target}.");
    wr__mud_fight_act(m, ctx, "hit", ak, aid, vk, vid, a, t, r);
    return wr__mud_fight_hurt(m, ctx, vk, vid, d, ak, aid);
}

/* One action of @list (weights), drawn with @rng; NULL if empty. */
static const struct wr_mud_action *draw(const struct wr_mud_action *list, size_t n, uint64_t *rng)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += list[i].weight;
    if (total == 0)
        return NULL;
    uint64_t pick = wr__mud_roll(rng, total);
    for (size_t i = 0; i < n; i++) {
        if (pick < list[i].weight)
            return &list[i];
        pick -= list[i].weight;
    }
    return NULL;
}

/* NPC @nid does action @a against (@tk, @tid) at @at: attack, skill (a
 * plain attack if it cannot use it now), say or emote. */
static void npc_action(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t nid,
                       const struct wr_mud_action *a, uint8_t tk, uint32_t tid, uint64_t at)
{
    char why[160];
    if (a != NULL && (a->kind == WR_ACT_SAY || a->kind == WR_ACT_EMOTE) && a->text != NULL) {
        struct wr_mud_event e = wr__mud_ev_npc(m, wr__mud_npc_by_id(m, nid));
        e.text = a->text;
        wr__mud_to_room(ctx, a->kind == WR_ACT_SAY ? WR_MUD_EV_SAY : WR_MUD_EV_EMOTE, &e);
        return;
    }
    if (a != NULL && a->kind == WR_ACT_SKILL && a->skill < m->model->n_skills &&
        wr__mud_skill_blocked(m, NPC_KIND, nid, a->skill, ctx->now_ms, why, sizeof why) == NULL) {
        wr__mud_skill_use(m, ctx, a->skill, NPC_KIND, nid, tk, tid);
        return;
    }
    attack(m, ctx, NPC_KIND, nid, tk, tid, at);
}

/* A character targets or attacks NPC @nid: its `targeted` rule, once. */
static void npc_targeted(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t nid,
                         const struct wr_mud_char *by)
{
    const struct wr_mud_npc *def = npc_def(m, nid);
    if (def == NULL || def->n_targeted == 0)
        return;
    uint64_t rng = ctx->seed ^ ((uint64_t)nid * 0xD1B54A32D192ED03ull);
    const struct wr_mud_action *a = draw(def->targeted, def->n_targeted, &rng);
    if (a != NULL && a->kind != WR_ACT_MOVE)
        npc_action(m, ctx, nid, a, CHAR_KIND, by->id, ctx->now_ms);
}

/* ---- combat rounds ------------------------------------------------------- */

/* Is (@tk, @tid) there to be fought by a fighter in @room? */
static bool reachable(struct wr_mud *m, uint32_t room, uint8_t tk, uint32_t tid)
{
    const struct wr_mud_fighter *t = wr__mud_fighter(m, tk, tid);
    return t != NULL && t->pool[WR_POOL_HP] > 0 && wr__mud_fighter_room(m, tk, tid) == room;
}

/* Tell a character its round's state: "[Round 3] You 45/60 · the giant
 * rat 12/30". */
static void round_line(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t id, uint64_t at)
{
    struct wr_mud_char *c = wr__mud_char_of(m, CHAR_KIND, id);
    const struct wr_mud_fighter *t = wr__mud_fighter(m, c->f.target_kind, c->f.target_id);
    if (t == NULL)
        return;
    wr__mud_tell_char(ctx, c, "round", "[Round %u] You %d/%d \xc2\xb7 %s %d/%d", c->f.round,
                      c->f.pool[WR_POOL_HP], wr__mud_max(m, CHAR_KIND, id, WR_POOL_HP, at),
                      wr__mud_fighter_name(m, c->f.target_kind, c->f.target_id),
                      t->pool[WR_POOL_HP],
                      wr__mud_max(m, c->f.target_kind, c->f.target_id, WR_POOL_HP, at));
}

void wr__mud_fight_round(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind,
                         uint32_t id)
{
    struct wr_mud_fighter *f = wr__mud_fighter(m, kind, id);
    if (f == NULL || !fighting(f) || f->next_round_at > ctx->now_ms)
        return;
    uint64_t at = f->next_round_at;
    uint8_t tk = f->target_kind;
    uint32_t tid = f->target_id;
    if (!reachable(m, wr__mud_fighter_room(m, kind, id), tk, tid)) {
        end_fight(m, ctx, kind, id);
        return;
    }
    if (wr__mud_fx_round(m, ctx, kind, id, at))
        return;
    f = wr__mud_fighter(m, kind, id);
    if (!fighting(f) || !reachable(m, wr__mud_fighter_room(m, kind, id), tk, tid)) {
        end_fight(m, ctx, kind, id);
        return;
    }
    if (kind == NPC_KIND) {
        const struct wr_mud_npc *def = npc_def(m, id);
        npc_action(m, ctx, id, draw(def->combat, def->n_combat, &f->rng), tk, tid, at);
    } else {
        attack(m, ctx, kind, id, tk, tid, at);
    }
    /* Its own fight may have ended meanwhile (the target died, or it did);
     * only a fight still on at the same schedule goes on. */
    f = wr__mud_fighter(m, kind, id);
    if (f == NULL || f->next_round_at != at)
        return;
    f->round++;
    f->next_round_at = at + m->model->rules.round_ms;
    if (kind == CHAR_KIND)
        round_line(m, ctx, id, at);
}

/* ---- aggressive NPCs ----------------------------------------------------- */

static bool aggressive(const struct wr_mud *m, const struct wr_mud_npc_inst *n)
{
    const struct wr_mud_npc *def = &m->model->npcs[n->npc];
    return def->aggressive && def->level > 0 && !fighting(&n->f) && n->f.pool[WR_POOL_HP] > 0;
}

static void npc_attacks(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t nid,
                        uint32_t cid)
{
    wr__mud_fight_engage(m, ctx, NPC_KIND, nid, CHAR_KIND, cid);
    wr__mud_fight_act(m, ctx, "attack", NPC_KIND, nid, CHAR_KIND, cid, NULL, "{actor} attacks you!",
                      "{actor} attacks {target}!");
}

void wr__mud_fight_char_arrived(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                struct wr_mud_char *c)
{
    for (size_t i = 0; i < m->n_npcs; i++)
        if (m->npcs[i].room == c->room && aggressive(m, &m->npcs[i]))
            npc_attacks(m, ctx, m->npcs[i].id, c->id);
}

void wr__mud_fight_npc_arrived(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               struct wr_mud_npc_inst *n)
{
    if (!aggressive(m, n))
        return;
    for (size_t i = 0; i < m->n_chars; i++) {
        const struct wr_mud_char *c = &m->chars[i];
        if (wr__mud_in_world(c) && c->room == n->room) {
            npc_attacks(m, ctx, n->id, c->id);
            return;
        }
    }
}

/* ---- commands ------------------------------------------------------------ */

enum foe { FOE_OK, FOE_NONE, FOE_PLAYER, FOE_SELF, FOE_PEACEFUL, FOE_AWAY };

/* Whom @c means by @who in its room: an NPC by keyword or name first (id
 * order), then a character by name; "" means its current target. */
static enum foe find_foe(struct wr_mud *m, const struct wr_mud_char *c, const char *who,
                         uint32_t *nid)
{
    if (who[0] == '\0') {
        if (c->f.target_kind == WR_MUD_NOBODY)
            return FOE_NONE;
        if (!reachable(m, c->room, c->f.target_kind, c->f.target_id))
            return FOE_AWAY;
        *nid = c->f.target_id;
        return c->f.target_kind == NPC_KIND ? FOE_OK : FOE_PLAYER;
    }
    for (size_t i = 0; i < m->n_npcs; i++) {
        const struct wr_mud_npc_inst *n = &m->npcs[i];
        const struct wr_mud_npc *def = &m->model->npcs[n->npc];
        if (n->room != c->room || !(wr_mud_words_match(def->keywords, who) || wr_mud_words_match(def->name, who)))
            continue;
        *nid = n->id;
        return def->level == 0 ? FOE_PEACEFUL : FOE_OK;
    }
    for (size_t i = 0; i < m->n_chars; i++) {
        const struct wr_mud_char *o = &m->chars[i];
        if (wr__mud_in_world(o) && o->room == c->room &&
            (strcasecmp(o->name, who) == 0 || wr__mud_prefix_ci(o->name, who)))
            return o == c ? FOE_SELF : FOE_PLAYER;
    }
    return FOE_NONE;
}

/* Resolve @who for @c (see find_foe); on a refusal tell the session why
 * (@verb: "kill", "target"...) and return false. */
static bool foe_or_fail(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd,
                        const struct wr_mud_char *c, const char *who, const char *verb,
                        uint32_t *nid)
{
    char name[96];
    switch (find_foe(m, c, who, nid)) {
    case FOE_OK:
        return true;
    case FOE_NONE:
        if (who[0] == '\0')
            wr__mud_fail(ctx, cmd, "no_target", "%s whom?", wr__mud_capitalised(verb, name, sizeof name));
        else
            wr__mud_fail(ctx, cmd, "no_target", "You don't see %s here.", who);
        return false;
    case FOE_AWAY:
        wr__mud_fail(ctx, cmd, "no_target", "Your target is not here.");
        return false;
    case FOE_PLAYER:
        wr__mud_fail(ctx, cmd, "player", "You cannot attack other players.");
        return false;
    case FOE_SELF:
        wr__mud_fail(ctx, cmd, "self", "You cannot attack yourself.");
        return false;
    default:
        wr__mud_fail(ctx, cmd, "peaceful", "%s is peaceful; you cannot attack it.",
                     wr__mud_capitalised(npc_def(m, *nid)->name, name, sizeof name));
        return false;
    }
}

/* @c's target becomes NPC @nid; its `targeted` rule runs if it is new. */
static void set_target(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                       uint32_t nid)
{
    bool changed = c->f.target_kind != NPC_KIND || c->f.target_id != nid;
    c->f.target_kind = NPC_KIND;
    c->f.target_id = nid;
    if (changed)
        npc_targeted(m, ctx, nid, c);
}

static enum result cmd_target(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c, const char *who)
{
    if (who[0] == '\0') {
        if (fighting(&c->f)) {
            wr__mud_fail(ctx, cmd, "fighting", "You are fighting! Flee first.");
            return R_KEEP;
        }
        fighter_idle(&c->f);
        wr__mud_tell_char(ctx, c, "target", "You have no target now.");
        return R_KEEP;
    }
    uint32_t nid = 0;
    if (!foe_or_fail(m, ctx, cmd, c, who, "target", &nid))
        return R_KEEP;
    wr__mud_fight_act(m, ctx, "target", CHAR_KIND, c->id, NPC_KIND, nid, "You target {target}.",
                      NULL, NULL);
    set_target(m, ctx, c, nid);
    return R_KEEP;
}

static enum result cmd_kill(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                            const struct wr_cmd *cmd, struct wr_mud_char *c, const char *who)
{
    uint32_t nid = 0;
    if (!foe_or_fail(m, ctx, cmd, c, who, "kill", &nid))
        return R_KEEP;
    if (fighting(&c->f) && c->f.target_kind == NPC_KIND && c->f.target_id == nid) {
        wr__mud_fail(ctx, cmd, "already", "You are already fighting %s!", npc_def(m, nid)->name);
        return R_KEEP;
    }
    bool changed = c->f.target_kind != NPC_KIND || c->f.target_id != nid;
    wr__mud_fight_act(m, ctx, "attack", CHAR_KIND, c->id, NPC_KIND, nid, "You attack {target}!",
                      NULL, "{actor} attacks {target}!");
    c->f.target_kind = NPC_KIND; /* when fighting: the next round hits the new one */
    c->f.target_id = nid;
    wr__mud_fight_engage(m, ctx, CHAR_KIND, c->id, NPC_KIND, nid);
    if (changed)
        npc_targeted(m, ctx, nid, c);
    return R_KEEP;
}

static enum result cmd_skill(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                             const struct wr_cmd *cmd, struct wr_mud_char *c, const char *key,
                             const char *who)
{
    long s = wr_mud_model_skill(m->model, key);
    if (s < 0 || !wr__mud_knows_skill(m, c, (uint32_t)s)) {
        wr__mud_fail(ctx, cmd, "unknown_skill", "You don't know that skill.");
        return R_KEEP;
    }
    char why[160];
    if (wr__mud_skill_blocked(m, CHAR_KIND, c->id, (uint32_t)s, ctx->now_ms, why, sizeof why)) {
        wr__mud_fail(ctx, cmd, "not_ready", "%s", why);
        return R_KEEP;
    }
    const struct wr_mud_skill *sk = &m->model->skills[s];
    uint32_t nid = 0;
    if (sk->target == WR_TGT_ENEMY) {
        if (!foe_or_fail(m, ctx, cmd, c, who, sk->name, &nid))
            return R_KEEP;
        set_target(m, ctx, c, nid);
        /* the `targeted` rule may have struck back and killed: check again */
        if (!reachable(m, c->room, NPC_KIND, nid) || !wr__mud_in_world(c))
            return R_KEEP;
        wr__mud_skill_use(m, ctx, (uint32_t)s, CHAR_KIND, c->id, NPC_KIND, nid);
    } else {
        wr__mud_skill_use(m, ctx, (uint32_t)s, CHAR_KIND, c->id, CHAR_KIND, c->id);
    }
    return R_KEEP;
}

static enum result cmd_flee(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                            const struct wr_cmd *cmd, struct wr_mud_char *c)
{
    if (!fighting(&c->f)) {
        wr__mud_fail(ctx, cmd, "not_fighting", "You are not fighting anyone.");
        return R_KEEP;
    }
    const struct wr_mud_room *room = &m->model->rooms[c->room];
    int cand[WR_MUD_NDIRS], k = 0;
    for (int d = 0; d < WR_MUD_NDIRS; d++)
        if (room->exits[d].to < m->model->n_rooms &&
            !(room->exits[d].door && wr__mud_door_closed(m, c->room, d)))
            cand[k++] = d;
    if (k == 0) {
        wr__mud_fail(ctx, cmd, "no_exit", "There is nowhere to flee!");
        return R_KEEP;
    }
    int64_t agi = wr__mud_stat(m, CHAR_KIND, c->id, WR_STAT_AGI, ctx->now_ms);
    if (wr__mud_fighter(m, c->f.target_kind, c->f.target_id) != NULL)
        agi -= wr__mud_stat(m, c->f.target_kind, c->f.target_id, WR_STAT_AGI, ctx->now_ms);
    else
        agi -= 10;
    int64_t chance = wr__mud_clamp64(50 + 2 * agi, 20, 90);
    if ((int64_t)wr__mud_roll(&c->f.rng, 100) >= chance) {
        wr__mud_fight_act(m, ctx, "flee", CHAR_KIND, c->id, WR_MUD_NOBODY, 0, "You fail to flee!",
                          NULL, "{actor} tries to flee, but fails.");
        return R_KEEP;
    }
    int d = cand[wr__mud_roll(&c->f.rng, (uint64_t)k)];
    wr__mud_fight_act(m, ctx, "flee", CHAR_KIND, c->id, WR_MUD_NOBODY, 0,
                      "You flee head over heels!", NULL, "{actor} flees head over heels!");
    end_fight(m, ctx, CHAR_KIND, c->id);
    move_char(m, ctx, c, room->exits[d].to, d);
    wr__mud_entered_room(m, ctx, c);
    return R_KEEP;
}

static enum result cmd_recall(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c)
{
    if (wr__mud_fight_busy(m, ctx, cmd, c, "recall"))
        return R_KEEP;
    uint32_t to = m->model->zones[wr__mud_room_zone(m, c->room)].graveyard;
    if (to == c->room) {
        wr__mud_fail(ctx, cmd, "already_there", "You are already there.");
        return R_KEEP;
    }
    wr__mud_fight_act(m, ctx, "recall", CHAR_KIND, c->id, WR_MUD_NOBODY, 0,
                      "You close your eyes and pray, and the world shifts around you.", NULL,
                      "{actor} disappears in a flash of light.");
    move_char(m, ctx, c, to, -1);
    wr__mud_entered_room(m, ctx, c);
    return R_KEEP;
}

enum result wr__mud_apply_fight(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_mud_char *c,
                                struct wr_reader *r)
{
    char a[256] = "", b[256] = "";
    if (c == NULL)
        return R_MALFORMED; /* every fight command is a session command */
    switch (cmd->type) {
    case WR_MUD_TARGET:
    case WR_MUD_KILL:
        if (wr_get_str(r, a, sizeof a) != 0)
            return R_MALFORMED;
        return cmd->type == WR_MUD_TARGET ? cmd_target(m, ctx, cmd, c, a)
                                          : cmd_kill(m, ctx, cmd, c, a);
    case WR_MUD_SKILL:
        if (wr_get_str(r, a, sizeof a) != 0 || wr_get_str(r, b, sizeof b) != 0)
            return R_MALFORMED;
        return cmd_skill(m, ctx, cmd, c, a, b);
    case WR_MUD_FLEE:
        return cmd_flee(m, ctx, cmd, c);
    case WR_MUD_RECALL:
        return cmd_recall(m, ctx, cmd, c);
    default:
        return R_MALFORMED;
    }
}

/* ---- snapshot, restore, remap -------------------------------------------- */

static void put_fighter(struct wr_writer *w, const struct wr_mud_fighter *f)
{
    for (int p = 0; p < WR_MUD_NPOOLS; p++)
        wr_put_u32(w, (uint32_t)f->pool[p]);
    wr_put_u8(w, f->target_kind);
    wr_put_u32(w, f->target_id);
    wr_put_u64(w, f->next_round_at);
    wr_put_u32(w, f->round);
    wr_put_u64(w, f->rng);
    wr_put_u8(w, f->n_fx);
    for (size_t i = 0; i < f->n_fx; i++) {
        const struct wr_mud_fx *fx = &f->fx[i];
        wr_put_u8(w, fx->kind);
        wr_put_u8(w, fx->dtype);
        wr_put_u8(w, fx->stat);
        wr_put_u32(w, (uint32_t)fx->amount);
        wr_put_u64(w, fx->until);
        wr_put_u32(w, fx->skill);
        wr_put_u32(w, fx->item);
        wr_put_u8(w, fx->from_kind);
        wr_put_u32(w, fx->from_id);
    }
    wr_put_u8(w, f->n_cd);
    for (size_t i = 0; i < f->n_cd; i++) {
        wr_put_u32(w, f->cd[i].skill);
        wr_put_u64(w, f->cd[i].ready_at);
    }
}

void wr__mud_snap_fight(const struct wr_mud *m, struct wr_writer *w)
{
    wr_put_u32(w, (uint32_t)m->n_chars);
    for (size_t i = 0; i < m->n_chars; i++)
        put_fighter(w, &m->chars[i].f);
    wr_put_u32(w, (uint32_t)m->n_npcs);
    for (size_t i = 0; i < m->n_npcs; i++)
        put_fighter(w, &m->npcs[i].f);
}

/* Is (@kind, @id) a possible fighter id (it need not exist any more: a
 * round finds out)? */
static bool id_ok(const struct wr_mud *m, uint8_t kind, uint32_t id)
{
    if (kind == CHAR_KIND)
        return id >= 1 && id <= m->n_chars;
    if (kind == NPC_KIND)
        return id >= 1 && id < m->next_npc_id;
    return kind == WR_MUD_NOBODY && id == 0;
}

static bool idx_ok(uint32_t v, size_t n)
{
    return v == NONE || v < n;
}

/* Decode one fighter of (@kind, @id) into @f; -1 if malformed or invalid. */
static int get_fighter(const struct wr_mud *m, struct wr_reader *r, struct wr_mud_fighter *f,
                       uint8_t kind, uint32_t id)
{
    const struct wr_mud_model *mo = m->model;
    memset(f, 0, sizeof *f);
    for (int p = 0; p < WR_MUD_NPOOLS; p++)
        f->pool[p] = (int32_t)wr_get_u32(r);
    f->target_kind = wr_get_u8(r);
    f->target_id = wr_get_u32(r);
    f->next_round_at = wr_get_u64(r);
    f->round = wr_get_u32(r);
    f->rng = wr_get_u64(r);
    f->n_fx = wr_get_u8(r);
    if (r->err || f->n_fx > WR_MUD_MAX_FX || !id_ok(m, f->target_kind, f->target_id) ||
        (f->target_kind == kind && f->target_id == id) ||
        (fighting(f) && f->target_kind == WR_MUD_NOBODY))
        return -1;
    for (size_t i = 0; i < f->n_fx; i++) {
        struct wr_mud_fx *fx = &f->fx[i];
        fx->kind = wr_get_u8(r);
        fx->dtype = wr_get_u8(r);
        fx->stat = wr_get_u8(r);
        fx->amount = (int32_t)wr_get_u32(r);
        fx->until = wr_get_u64(r);
        fx->skill = wr_get_u32(r);
        fx->item = wr_get_u32(r);
        fx->from_kind = wr_get_u8(r);
        fx->from_id = wr_get_u32(r);
        if (r->err || fx->kind > WR_EFF_ARMOUR || fx->dtype >= WR_MUD_NDTYPES ||
            fx->stat >= WR_MUD_NSTATS || !idx_ok(fx->skill, mo->n_skills) ||
            !idx_ok(fx->item, mo->n_items) || fx->from_kind > NPC_KIND)
            return -1;
    }
    f->n_cd = wr_get_u8(r);
    if (r->err || f->n_cd > WR_MUD_MAX_CD)
        return -1;
    for (size_t i = 0; i < f->n_cd; i++) {
        f->cd[i].skill = wr_get_u32(r);
        f->cd[i].ready_at = wr_get_u64(r);
        if (r->err || f->cd[i].skill >= mo->n_skills)
            return -1;
    }
    return 0;
}

int wr__mud_restore_fight(struct wr_mud *m, struct wr_reader *r)
{
    if (r == NULL) { /* a version 1 snapshot: nobody fights */
        for (size_t i = 0; i < m->n_chars; i++) {
            memset(&m->chars[i].f, 0, sizeof m->chars[i].f);
            fighter_idle(&m->chars[i].f);
        }
        for (size_t i = 0; i < m->n_npcs; i++)
            wr__mud_fight_init_npc(m, &m->npcs[i]);
        return 0;
    }
    uint32_t n = wr_get_u32(r);
    if (r->err || n != m->n_chars)
        return -1;
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *c = &m->chars[i];
        if (get_fighter(m, r, &c->f, CHAR_KIND, c->id) != 0 ||
            (!wr__mud_in_world(c) && fighting(&c->f)))
            return -1;
    }
    n = wr_get_u32(r);
    if (r->err || n != m->n_npcs)
        return -1;
    for (size_t i = 0; i < m->n_npcs; i++)
        if (get_fighter(m, r, &m->npcs[i].f, NPC_KIND, m->npcs[i].id) != 0)
            return -1;
    return 0;
}

/* Effects and cooldowns of @f follow their skills and items to the new
 * model's indexes; those whose skill or item is gone are dropped. */
static void remap_fighter(struct wr_mud_fighter *f, const struct remap *rm)
{
    size_t keep = 0;
    for (size_t i = 0; i < f->n_fx; i++) {
        struct wr_mud_fx fx = f->fx[i];
        if (fx.skill != NONE)
            fx.skill = fx.skill < rm->om->n_skills ? rm->skill[fx.skill] : NONE;
        if (fx.item != NONE)
            fx.item = fx.item < rm->om->n_items ? rm->item[fx.item] : NONE;
        if ((f->fx[i].skill != NONE && fx.skill == NONE) ||
            (f->fx[i].item != NONE && fx.item == NONE))
            continue;
        f->fx[keep++] = fx;
    }
    f->n_fx = (uint8_t)keep;
    keep = 0;
    for (size_t i = 0; i < f->n_cd; i++) {
        uint32_t s = f->cd[i].skill < rm->om->n_skills ? rm->skill[f->cd[i].skill] : NONE;
        if (s == NONE)
            continue;
        f->cd[keep] = f->cd[i];
        f->cd[keep++].skill = s;
    }
    f->n_cd = (uint8_t)keep;
}

void wr__mud_remap_fight(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct remap *rm)
{
    if (rm->om == NULL)
        return; /* the first world: nobody has fought yet */
    for (size_t i = 0; i < m->n_chars; i++)
        remap_fighter(&m->chars[i].f, rm);
    for (size_t i = 0; i < m->n_npcs; i++)
        remap_fighter(&m->npcs[i].f, rm);
    /* A fighter whose target went with the old world stops (a target in
     * another room now is found out by its next round). */
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *c = &m->chars[i];
        if (c->f.target_kind != WR_MUD_NOBODY &&
            wr__mud_fighter(m, c->f.target_kind, c->f.target_id) == NULL)
            end_fight(m, ctx, CHAR_KIND, c->id);
    }
    for (size_t i = 0; i < m->n_npcs; i++) {
        struct wr_mud_npc_inst *n = &m->npcs[i];
        if (n->f.target_kind != WR_MUD_NOBODY &&
            wr__mud_fighter(m, n->f.target_kind, n->f.target_id) == NULL)
            end_fight(m, ctx, NPC_KIND, n->id);
    }
}

void wr__mud_clear_fight(struct wr_mud *m)
{
    (void)m; /* the fighters live in the characters and NPC instances */
}
