/* Items and economy (mud_internal.h, "gameplay areas"): equipment (WEAR,
 * REMOVE), item uses (USE), gold and corpses (GET_FROM, decay), the
 * area's dispatch, snapshot, restore and remap, plus the helpers other
 * areas call: the worn equipment's bonuses, the wielded weapon, corpses at
 * death, quest items. Shops (BUY, SELL, their stock and its part of the
 * snapshot) are in mud_shop.c, with the area's clear hook (the stock is
 * all the area allocates); this file dispatches to them.
 *
 * State owned here and its invariants (checked by wr__mud_check):
 * - A worn item instance has loc WR_MUD_WORN, where = the wearer's id, and
 *   the wearer's eq[its model slot] names it; every non-zero eq[] entry
 *   names such an instance. So one item per slot, and a worn item is never
 *   also carried.
 * - A corpse is an item instance of kind WR_MUD_CORPSE, always on a room's
 *   floor (it cannot be picked up), with a label, gold and decay_at; what
 *   it holds has loc WR_MUD_IN_CORPSE and where = the corpse's id. Other
 *   instances have an empty label, no gold and decay_at 0.
 * - The shops' stock: see mud_shop.c.
 *
 * Gold moves only between characters (give), from corpses (get gold from
 * corpse) and to and from shops; a shop's own purse is bottomless.
 *
 * Commands (payloads in mud.h; every refusal is told with wr__mud_fail and
 * changes nothing; BUY and SELL are applied in mud_shop.c):
 *   WEAR     a carried item into its slot (wield for weapons): refused if
 *            it has no slot, the level is too low or the slot is taken.
 *   REMOVE   a worn item, by keyword or by slot name, back to the hands.
 *   USE      the named use (or, verb "", the first) of a carried item: its
 *            message, then it is consumed (if so), then its effects.
 *   BUY      count 1..20 of a shop line: as many as are left (limited
 *            stock), all paid for at once or refused.
 *   SELL     a carried item with a price: buy_percent of it is paid; the
 *            shop's limited line of that item grows by one.
 *   GET_FROM one item, "all" or "gold" from a corpse in the room. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mud/mud_internal.h"

/* ---- matching and instances -------------------------------------------- */

/* The model item of @it, or NULL for a corpse. */
const struct wr_mud_item *wr__mud_item_def(const struct wr_mud *m,
                                           const struct wr_mud_item_inst *it)
{
    return it->item == WR_MUD_CORPSE ? NULL : &m->model->items[it->item];
}

/* What players call @it: "a short sword", "the corpse of a rat". */
const char *wr__mud_item_name(const struct wr_mud *m, const struct wr_mud_item_inst *it)
{
    const struct wr_mud_item *d = wr__mud_item_def(m, it);
    return d ? d->name : it->label;
}

bool wr__mud_item_matches(const struct wr_mud *m, const struct wr_mud_item_inst *it, const char *kw)
{
    const struct wr_mud_item *d = wr__mud_item_def(m, it);
    if (d == NULL)
        return wr_mud_words_match(it->label, kw);
    return wr_mud_words_match(d->keywords, kw) || wr_mud_words_match(d->name, kw);
}

/* The first instance (by id) at (@loc, @where) that @kw names, or NULL. */
struct wr_mud_item_inst *wr__mud_find_item(struct wr_mud *m, uint8_t loc, uint32_t where,
                                           const char *kw)
{
    for (size_t i = 0; i < m->n_items; i++) {
        struct wr_mud_item_inst *it = &m->items[i];
        if (it->loc == loc && it->where == where && wr__mud_item_matches(m, it, kw))
            return it;
    }
    return NULL;
}

struct wr_mud_item_inst *wr__mud_find_worn(struct wr_mud *m, const struct wr_mud_char *c,
                                           const char *kw)
{
    return wr__mud_find_item(m, WR_MUD_WORN, c->id, kw);
}

static struct wr_mud_item_inst *inst_by_id(struct wr_mud *m, uint32_t id)
{
    long i = wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, id);
    return i < 0 ? NULL : &m->items[i];
}

/* A new instance of model item @item (or WR_MUD_CORPSE) at (@loc,
 * @where). Appending keeps m->items sorted by id; pointers into m->items
 * taken before the call are invalid after it. Returns the new id. */
static uint32_t new_inst(struct wr_mud *m, uint32_t item, uint8_t loc, uint32_t where)
{
    GROW(m->items, m->n_items, m->cap_items);
    struct wr_mud_item_inst *it = &m->items[m->n_items++];
    memset(it, 0, sizeof *it);
    it->id = m->next_item_id++;
    it->item = item;
    it->loc = loc;
    it->where = where;
    it->spawner = NONE;
    return it->id;
}

/* Remove instance @id (its spawner, if any, starts counting). */
void wr__mud_remove_item(struct wr_mud *m, uint64_t now, uint32_t id)
{
    long i = wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, id);
    if (i < 0)
        return;
    wr__mud_untie_item(m, &m->items[i], now);
    memmove(&m->items[i], &m->items[i + 1], (m->n_items - (size_t)i - 1) * sizeof *m->items);
    m->n_items--;
}

/* Gold named by a GIVE keyword: "10 gold", "10 coins", "1 coin". */
bool wr__mud_parse_gold(const char *kw, uint32_t *amount)
{
    uint64_t v = 0;
    const char *p = kw;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return false;
    }
    if (*p++ != ' ')
        return false;
    if (strcasecmp(p, "gold") != 0 && strcasecmp(p, "coins") != 0 && strcasecmp(p, "coin") != 0)
        return false;
    *amount = (uint32_t)v;
    return true;
}

/* A deed of @c seen by the room: @self for @c, @others for the rest
 * ("{actor}" is @c's name). */
void wr__mud_room_act(const struct wr_apply_ctx *ctx, const struct wr_mud_char *c, const char *code,
                      const char *self, const char *others)
{
    wr__mud_act(ctx, code, c->room, WR_MUD_ACTOR_CHAR, c->id, c->name, WR_MUD_ACTOR_NONE, 0, NULL,
                self, NULL, others, c);
}

/* ---- equipment ----------------------------------------------------------- */

int32_t wr__mud_equip_stat(const struct wr_mud *m, const struct wr_mud_char *c, enum wr_mud_stat s)
{
    int64_t sum = 0;
    if (m->model == NULL || (unsigned)s >= WR_MUD_NSTATS)
        return 0;
    for (int slot = 0; slot < WR_MUD_NSLOTS; slot++) {
        long i = c->eq[slot]
                     ? wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, c->eq[slot])
                     : -1;
        if (i >= 0 && m->items[i].item < m->model->n_items)
            sum += m->model->items[m->items[i].item].stats[s];
    }
    return (int32_t)sum;
}

int32_t wr__mud_equip_armour(const struct wr_mud *m, const struct wr_mud_char *c,
                             enum wr_mud_dtype t)
{
    int64_t sum = 0;
    if (m->model == NULL || (unsigned)t >= WR_MUD_NDTYPES)
        return 0;
    for (int slot = 0; slot < WR_MUD_NSLOTS; slot++) {
        long i = c->eq[slot]
                     ? wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, c->eq[slot])
                     : -1;
        if (i >= 0 && m->items[i].item < m->model->n_items)
            sum += m->model->items[m->items[i].item].armour[t];
    }
    return (int32_t)sum;
}

uint32_t wr__mud_weapon(const struct wr_mud *m, const struct wr_mud_char *c)
{
    if (m->model == NULL || c->eq[WR_SLOT_WIELD] == 0)
        return NONE;
    long i = wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, c->eq[WR_SLOT_WIELD]);
    if (i < 0 || m->items[i].item >= m->model->n_items)
        return NONE;
    return m->items[i].item;
}

/* "on your head", "around your neck"...: where a slot is worn. */
static const char *slot_where(uint8_t slot)
{
    switch (slot) {
    case WR_SLOT_NECK:
        return "around your neck";
    case WR_SLOT_BODY:
        return "on your body";
    case WR_SLOT_ARMS:
        return "on your arms";
    case WR_SLOT_HANDS:
        return "on your hands";
    case WR_SLOT_FINGER:
        return "on your finger";
    case WR_SLOT_LEGS:
        return "on your legs";
    case WR_SLOT_FEET:
        return "on your feet";
    case WR_SLOT_OFFHAND:
        return "in your off hand";
    default:
        return "on your head";
    }
}

static enum result apply_wear(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c, const char *kw)
{
    struct wr_mud_item_inst *it = wr__mud_find_item(m, WR_MUD_CARRIED, c->id, kw);
    if (it == NULL) {
        const struct wr_mud_item_inst *w = wr__mud_find_worn(m, c, kw);
        if (w != NULL)
            wr__mud_fail(ctx, cmd, "worn", "You are already using %s.", wr__mud_item_name(m, w));
        else
            wr__mud_fail(ctx, cmd, "no_item", "You don't have that.");
        return R_KEEP;
    }
    const struct wr_mud_item *d = wr__mud_item_def(m, it);
    if (d->slot >= WR_MUD_NSLOTS) {
        wr__mud_fail(ctx, cmd, "not_wearable", "You can't wear or wield %s.", d->name);
        return R_KEEP;
    }
    if (c->level < d->level) {
        wr__mud_fail(ctx, cmd, "level", "You must be level %u to use %s.", d->level, d->name);
        return R_KEEP;
    }
    if (c->eq[d->slot] != 0) {
        const struct wr_mud_item_inst *on = inst_by_id(m, c->eq[d->slot]);
        const char *on_name = on ? wr__mud_item_name(m, on) : "something";
        if (d->slot == WR_SLOT_WIELD)
            wr__mud_fail(ctx, cmd, "slot_taken", "You already wield %s; remove it first.", on_name);
        else
            wr__mud_fail(ctx, cmd, "slot_taken", "You already wear %s %s; remove it first.",
                         on_name, slot_where(d->slot));
        return R_KEEP;
    }
    it->loc = WR_MUD_WORN;
    c->eq[d->slot] = it->id;
    char self[256], others[256];
    if (d->slot == WR_SLOT_WIELD) {
        snprintf(self, sizeof self, "You wield %s.", d->name);
        snprintf(others, sizeof others, "{actor} wields %s.", d->name);
    } else {
        snprintf(self, sizeof self, "You wear %s %s.", d->name, slot_where(d->slot));
        snprintf(others, sizeof others, "{actor} wears %s.", d->name);
    }
    wr__mud_room_act(ctx, c, "wear", self, others);
    return R_KEEP;
}

/* REMOVE: a worn item by keyword, else by slot name ("wield", "head"). */
static enum result apply_remove(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_mud_char *c, const char *kw)
{
    struct wr_mud_item_inst *it = wr__mud_find_worn(m, c, kw);
    if (it == NULL) {
        int slot = wr_mud_slot_parse(kw);
        if (slot >= 0 && c->eq[slot] != 0)
            it = inst_by_id(m, c->eq[slot]);
    }
    if (it == NULL) {
        wr__mud_fail(ctx, cmd, "not_worn", "You are not using that.");
        return R_KEEP;
    }
    const struct wr_mud_item *d = wr__mud_item_def(m, it);
    c->eq[d->slot] = 0;
    it->loc = WR_MUD_CARRIED;
    char self[256], others[256];
    snprintf(self, sizeof self, "You stop using %s.", d->name);
    snprintf(others, sizeof others, "{actor} stops using %s.", d->name);
    wr__mud_room_act(ctx, c, "wear", self, others);
    return R_KEEP;
}

/* ---- item uses ------------------------------------------------------------ */

/* The effects of use @u of model item @item by @c, through the fight
 * area's effect code (the same as skills): damage and damage over time
 * strike the foe @c is fighting, if it is here, and do nothing outside a
 * fight; every other effect, and any marked `self`, is on @c. */
static void use_effects(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                        const struct wr_mud_item_use *u, uint32_t item)
{
    uint32_t id = c->id, deaths = c->deaths;
    for (size_t k = 0; k < u->n_effects; k++) {
        const struct wr_mud_effect *e = &u->effects[k];
        uint8_t tk = WR_MUD_ACTOR_CHAR;
        uint32_t tid = id;
        if (!e->self && (e->kind == WR_EFF_DAMAGE || e->kind == WR_EFF_DOT)) {
            if (c->f.next_round_at == NEVER || c->f.target_kind == WR_MUD_ACTOR_NONE ||
                wr__mud_fighter_room(m, c->f.target_kind, c->f.target_id) != c->room)
                continue; /* no foe: nothing to strike */
            tk = c->f.target_kind;
            tid = c->f.target_id;
        }
        wr__mud_fight_effects(m, ctx, e, 1, NONE, item, WR_MUD_ACTOR_CHAR, id, tk, tid);
        if (c->deaths != deaths)
            break; /* it killed its user (now in the graveyard) */
    }
}

static enum result apply_use(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                             const struct wr_cmd *cmd, struct wr_mud_char *c, const char *verb,
                             const char *kw)
{
    struct wr_mud_item_inst *it = wr__mud_find_item(m, WR_MUD_CARRIED, c->id, kw);
    if (it == NULL) {
        wr__mud_fail(ctx, cmd, "no_item", "You don't have that.");
        return R_KEEP;
    }
    const struct wr_mud_item *d = wr__mud_item_def(m, it);
    const struct wr_mud_item_use *u = NULL;
    for (size_t i = 0; i < d->n_uses && u == NULL; i++)
        if (verb[0] == '\0' || strcasecmp(d->uses[i].verb, verb) == 0)
            u = &d->uses[i];
    if (u == NULL) {
        if (verb[0] == '\0')
            wr__mud_fail(ctx, cmd, "no_use", "You can't use %s.", d->name);
        else
            wr__mud_fail(ctx, cmd, "no_use", "You can't %s %s.", verb, d->name);
        return R_KEEP;
    }
    uint32_t id = it->id, item = it->item;
    if (u->msg.actor != NULL || u->msg.room != NULL) {
        /* {target} in a use's message is the item. */
        wr__mud_act(ctx, "use", c->room, WR_MUD_ACTOR_CHAR, c->id, c->name, WR_MUD_ACTOR_NONE, 0,
                    d->name, u->msg.actor, NULL, u->msg.room, c);
    } else {
        char self[256], others[256];
        snprintf(self, sizeof self, "You %s %s.", u->verb, d->name);
        snprintf(others, sizeof others, "{actor} %ss %s.", u->verb, d->name);
        wr__mud_room_act(ctx, c, "use", self, others);
    }
    /* Gone before it acts: an item that kills its user is not found in
     * the corpse. */
    if (u->consumed)
        wr__mud_remove_item(m, ctx->now_ms, id);
    use_effects(m, ctx, c, u, item);
    return R_KEEP;
}

/* ---- gold ------------------------------------------------------------------ */

void wr__mud_give_gold(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd,
                       struct wr_mud_char *c, struct wr_mud_char *to, uint32_t amount)
{
    (void)m;
    if (amount == 0) {
        wr__mud_fail(ctx, cmd, "no_gold", "Give how much gold?");
        return;
    }
    if (c->gold < amount) {
        wr__mud_fail(ctx, cmd, "no_gold", "You have only %u gold.", c->gold);
        return;
    }
    if (to->gold > UINT32_MAX - amount) {
        wr__mud_fail(ctx, cmd, "too_much", "%s cannot carry that much gold.", to->name);
        return;
    }
    c->gold -= amount;
    to->gold += amount;
    char self[128], target[128];
    snprintf(self, sizeof self, "You give %u gold to {target}.", amount);
    snprintf(target, sizeof target, "{actor} gives you %u gold.", amount);
    wr__mud_act(ctx, "give", c->room, WR_MUD_ACTOR_CHAR, c->id, c->name, WR_MUD_ACTOR_CHAR, to->id,
                to->name, self, target, "{actor} gives some gold to {target}.", c);
}

/* ---- getting items: from the floor (all) and from corpses ---------------- */

/* Move @it to @c's hands and tell the room; @from is the container's
 * name or NULL for the floor. */
static void take_inst(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                      struct wr_mud_item_inst *it, const char *from)
{
    wr__mud_untie_item(m, it, ctx->now_ms);
    it->loc = WR_MUD_CARRIED;
    it->where = c->id;
    const char *name = wr__mud_item_name(m, it);
    char self[256], others[256];
    if (from != NULL) {
        snprintf(self, sizeof self, "You get %s from %s.", name, from);
        snprintf(others, sizeof others, "{actor} gets %s from %s.", name, from);
    } else {
        snprintf(self, sizeof self, "You pick up %s.", name);
        snprintf(others, sizeof others, "{actor} picks up %s.", name);
    }
    wr__mud_room_act(ctx, c, "get", self, others);
}

void wr__mud_get_all(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd,
                     struct wr_mud_char *c)
{
    size_t got = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        struct wr_mud_item_inst *it = &m->items[i];
        const struct wr_mud_item *d = wr__mud_item_def(m, it);
        if (it->loc != WR_MUD_IN_ROOM || it->where != c->room || d == NULL || d->fixed)
            continue;
        take_inst(m, ctx, c, it, NULL);
        got++;
    }
    if (got == 0)
        wr__mud_fail(ctx, cmd, "no_item", "There is nothing here you can take.");
    else
        wr__mud_quest_on_item(m, ctx, c);
}

/* Take the gold of @corpse (non-zero); false if @c cannot hold it. */
static bool take_corpse_gold(const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                             struct wr_mud_item_inst *corpse)
{
    if (c->gold > UINT32_MAX - corpse->gold)
        return false;
    c->gold += corpse->gold;
    char self[256], others[256];
    snprintf(self, sizeof self, "You get %u gold from %s.", corpse->gold, corpse->label);
    snprintf(others, sizeof others, "{actor} gets some gold from %s.", corpse->label);
    corpse->gold = 0;
    wr__mud_room_act(ctx, c, "get", self, others);
    return true;
}

static enum result apply_get_from(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                  const struct wr_cmd *cmd, struct wr_mud_char *c, const char *kw,
                                  const char *from)
{
    struct wr_mud_item_inst *corpse = NULL;
    for (size_t i = 0; i < m->n_items && corpse == NULL; i++) {
        struct wr_mud_item_inst *it = &m->items[i];
        if (it->item == WR_MUD_CORPSE && it->loc == WR_MUD_IN_ROOM && it->where == c->room &&
            wr_mud_words_match(it->label, from))
            corpse = it;
    }
    if (corpse == NULL) {
        wr__mud_fail(ctx, cmd, "no_container", "You don't see that here.");
        return R_KEEP;
    }
    uint32_t cid = corpse->id;
    char label[sizeof corpse->label];
    memcpy(label, corpse->label, sizeof label);
    bool all = strcasecmp(kw, "all") == 0;
    bool gold = strcasecmp(kw, "gold") == 0 || strcasecmp(kw, "coins") == 0;
    size_t got = 0;
    if ((all || gold) && corpse->gold > 0) {
        if (!take_corpse_gold(ctx, c, corpse)) {
            wr__mud_fail(ctx, cmd, "too_much", "You cannot carry that much gold.");
            return R_KEEP;
        }
        if (gold)
            return R_KEEP;
        got++; /* "all" found something */
    }
    size_t items = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        struct wr_mud_item_inst *it = &m->items[i];
        if (it->loc != WR_MUD_IN_CORPSE || it->where != cid ||
            !(all || wr__mud_item_matches(m, it, kw)))
            continue;
        take_inst(m, ctx, c, it, label);
        got++;
        items++;
        if (!all)
            break;
    }
    if (items > 0)
        wr__mud_quest_on_item(m, ctx, c);
    else if (got > 0)
        return R_KEEP;
    else if (all)
        wr__mud_fail(ctx, cmd, "empty", "There is nothing in %s.", label);
    else if (gold)
        wr__mud_fail(ctx, cmd, "no_gold", "There is no gold in %s.", label);
    else
        wr__mud_fail(ctx, cmd, "no_item", "There is no such thing in %s.", label);
    return R_KEEP;
}

/* ---- dispatch -------------------------------------------------------------- */

enum result wr__mud_apply_items(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_mud_char *c,
                                struct wr_reader *r)
{
    char a[256], b[256];
    if (c == NULL)
        return R_MALFORMED; /* every items command is a session command */
    switch (cmd->type) {
    case WR_MUD_WEAR:
    case WR_MUD_REMOVE:
    case WR_MUD_SELL:
        if (wr_get_str(r, a, sizeof a) != 0)
            return R_MALFORMED;
        if (cmd->type == WR_MUD_WEAR)
            return apply_wear(m, ctx, cmd, c, a);
        if (cmd->type == WR_MUD_REMOVE)
            return apply_remove(m, ctx, cmd, c, a);
        return wr__mud_shop_sell(m, ctx, cmd, c, a);
    case WR_MUD_USE:
    case WR_MUD_GET_FROM:
        if (wr_get_str(r, a, sizeof a) != 0 || wr_get_str(r, b, sizeof b) != 0)
            return R_MALFORMED;
        if (cmd->type == WR_MUD_USE)
            return apply_use(m, ctx, cmd, c, a, b);
        return apply_get_from(m, ctx, cmd, c, a, b);
    case WR_MUD_BUY: {
        if (wr_get_str(r, a, sizeof a) != 0)
            return R_MALFORMED;
        uint32_t count = wr_get_u32(r);
        if (r->err)
            return R_MALFORMED;
        return wr__mud_shop_buy(m, ctx, cmd, c, a, count);
    }
    default:
        return R_MALFORMED;
    }
}

/* ---- corpses ----------------------------------------------------------------- */

uint32_t wr__mud_make_corpse(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind,
                             uint32_t id, uint32_t room, uint64_t *rng)
{
    const char *name = wr__mud_fighter_name(m, kind, id);
    if (m->model == NULL || room >= m->model->n_rooms || name == NULL)
        return 0;
    uint64_t local = ctx->seed ^ 0x636f727073652e2eull; /* "corpse.." */
    if (rng == NULL)
        rng = &local;
    uint32_t cid = new_inst(m, WR_MUD_CORPSE, WR_MUD_IN_ROOM, room);
    struct wr_mud_item_inst *corpse = &m->items[m->n_items - 1];
    snprintf(corpse->label, sizeof corpse->label, "the corpse of %s", name);
    corpse->decay_at = ctx->now_ms + m->model->rules.corpse_ms;
    if (kind == WR_MUD_ACTOR_CHAR) {
        struct wr_mud_char *c = wr__mud_char_by_id(m, id);
        corpse->gold = c->gold;
        c->gold = 0;
        for (size_t i = 0; i < m->n_items; i++)
            if (m->items[i].loc == WR_MUD_CARRIED && m->items[i].where == id) {
                m->items[i].loc = WR_MUD_IN_CORPSE;
                m->items[i].where = cid;
            }
        return cid;
    }
    const struct wr_mud_npc_inst *n = wr__mud_npc_by_id(m, id);
    const struct wr_mud_npc *def = &m->model->npcs[n->npc];
    uint64_t gold = n->gold;
    if (def->gold_max >= def->gold_min)
        gold += def->gold_min + wr__mud_roll(rng, (uint64_t)def->gold_max - def->gold_min + 1);
    corpse->gold = gold > UINT32_MAX ? UINT32_MAX : (uint32_t)gold;
    for (size_t k = 0; k < def->n_drops; k++)
        if (wr__mud_roll(rng, 100) < def->drops[k].chance)
            new_inst(m, def->drops[k].item, WR_MUD_IN_CORPSE, cid);
    return cid;
}

void wr__mud_corpse_decay(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t item_id)
{
    const struct wr_mud_item_inst *corpse = inst_by_id(m, item_id);
    if (corpse == NULL || corpse->item != WR_MUD_CORPSE || corpse->decay_at > ctx->now_ms)
        return;
    char text[sizeof corpse->label + 32];
    snprintf(text, sizeof text, "%s crumbles to dust.", corpse->label);
    uint32_t room = corpse->where;
    size_t keep = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        const struct wr_mud_item_inst *it = &m->items[i];
        if (it->id == item_id || (it->loc == WR_MUD_IN_CORPSE && it->where == item_id))
            continue;
        m->items[keep++] = *it;
    }
    m->n_items = keep;
    wr__mud_act(ctx, "decay", room, WR_MUD_ACTOR_NONE, 0, NULL, WR_MUD_ACTOR_NONE, 0, NULL, NULL,
                NULL, text, NULL);
}

/* ---- quest helpers ------------------------------------------------------------ */

uint32_t wr__mud_count_carried(const struct wr_mud *m, const struct wr_mud_char *c, uint32_t item)
{
    uint32_t n = 0;
    for (size_t i = 0; i < m->n_items; i++)
        n += m->items[i].loc == WR_MUD_CARRIED && m->items[i].where == c->id &&
             m->items[i].item == item;
    return n;
}

void wr__mud_give_new_item(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                           uint32_t item)
{
    (void)ctx;
    if (m->model == NULL || item >= m->model->n_items)
        return;
    new_inst(m, item, WR_MUD_CARRIED, c->id);
}

void wr__mud_take_items(struct wr_mud *m, struct wr_mud_char *c, uint32_t item, uint32_t n)
{
    size_t keep = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        const struct wr_mud_item_inst *it = &m->items[i];
        if (n > 0 && it->loc == WR_MUD_CARRIED && it->where == c->id && it->item == item) {
            n--; /* carried items are untied from their spawners already */
            continue;
        }
        m->items[keep++] = *it;
    }
    m->n_items = keep;
}

/* ---- snapshot, remap, clear ---------------------------------------------------- */

/* Section (after progress's):
 *   u32 n_chars | (u32 gold | u32 eq[WR_MUD_NSLOTS]) per character
 *   | u32 n_npcs | u32 gold per NPC instance
 *   | u32 n_corpses | (u32 id | str label | u32 gold | u64 decay_at) per
 *     corpse in id order
 *   | u32 n_shops | per shop: u32 n_lines | i32 count per line
 *   (the corpse and shop parts only when a world is loaded). */
void wr__mud_snap_items(const struct wr_mud *m, struct wr_writer *w)
{
    wr_put_u32(w, (uint32_t)m->n_chars);
    for (size_t i = 0; i < m->n_chars; i++) {
        wr_put_u32(w, m->chars[i].gold);
        for (int s = 0; s < WR_MUD_NSLOTS; s++)
            wr_put_u32(w, m->chars[i].eq[s]);
    }
    wr_put_u32(w, (uint32_t)m->n_npcs);
    for (size_t i = 0; i < m->n_npcs; i++)
        wr_put_u32(w, m->npcs[i].gold);
    const struct wr_mud_model *mo = m->model;
    if (mo == NULL)
        return;
    uint32_t n = 0;
    for (size_t i = 0; i < m->n_items; i++)
        n += m->items[i].item == WR_MUD_CORPSE;
    wr_put_u32(w, n);
    for (size_t i = 0; i < m->n_items; i++) {
        const struct wr_mud_item_inst *it = &m->items[i];
        if (it->item != WR_MUD_CORPSE)
            continue;
        wr_put_u32(w, it->id);
        wr_put_str(w, it->label);
        wr_put_u32(w, it->gold);
        wr_put_u64(w, it->decay_at);
    }
    wr__mud_snap_stock(m, w);
}

/* Do the items, characters' equipment and corpses agree (the invariants at
 * the top of this file)? */
static bool items_consistent(const struct wr_mud *m)
{
    const struct wr_mud_model *mo = m->model;
    for (size_t i = 0; i < m->n_items; i++) {
        const struct wr_mud_item_inst *it = &m->items[i];
        if (it->item == WR_MUD_CORPSE) {
            if (it->loc != WR_MUD_IN_ROOM || it->spawner != NONE || it->label[0] == '\0')
                return false;
            continue;
        }
        if (it->label[0] != '\0' || it->gold != 0 || it->decay_at != 0)
            return false;
        if (it->loc == WR_MUD_WORN) {
            uint8_t slot = mo->items[it->item].slot;
            if (slot >= WR_MUD_NSLOTS || it->where < 1 || it->where > m->n_chars ||
                m->chars[it->where - 1].eq[slot] != it->id)
                return false;
        } else if (it->loc == WR_MUD_IN_CORPSE) {
            long ci = wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, it->where);
            if (ci < 0 || m->items[ci].item != WR_MUD_CORPSE)
                return false;
        }
    }
    for (size_t i = 0; i < m->n_chars; i++)
        for (int s = 0; s < WR_MUD_NSLOTS; s++) {
            uint32_t id = m->chars[i].eq[s];
            if (id == 0)
                continue;
            long k = wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, id);
            if (k < 0 || m->items[k].loc != WR_MUD_WORN || m->items[k].where != m->chars[i].id)
                return false;
        }
    return true;
}

int wr__mud_restore_items(struct wr_mud *m, struct wr_reader *r)
{
    const struct wr_mud_model *mo = m->model;
    if (mo != NULL)
        wr__mud_stock_init(m);
    if (r == NULL) /* version 1: no gold, nothing worn, no corpses */
        return mo == NULL || items_consistent(m) ? 0 : -1;
    if (wr_get_u32(r) != m->n_chars || r->err)
        return -1;
    for (size_t i = 0; i < m->n_chars; i++) {
        m->chars[i].gold = wr_get_u32(r);
        for (int s = 0; s < WR_MUD_NSLOTS; s++)
            m->chars[i].eq[s] = wr_get_u32(r);
    }
    if (wr_get_u32(r) != m->n_npcs || r->err)
        return -1;
    for (size_t i = 0; i < m->n_npcs; i++)
        m->npcs[i].gold = wr_get_u32(r);
    if (r->err)
        return -1;
    if (mo == NULL) {
        for (size_t i = 0; i < m->n_chars; i++)
            for (int s = 0; s < WR_MUD_NSLOTS; s++)
                if (m->chars[i].eq[s] != 0)
                    return -1;
        return 0;
    }
    uint32_t n = wr_get_u32(r);
    size_t k = 0;
    for (uint32_t j = 0; j < n; j++) {
        uint32_t id = wr_get_u32(r);
        while (k < m->n_items && m->items[k].id < id)
            k++;
        if (r->err || k == m->n_items || m->items[k].id != id || m->items[k].item != WR_MUD_CORPSE)
            return -1;
        struct wr_mud_item_inst *it = &m->items[k];
        if (wr_get_str(r, it->label, sizeof it->label) != 0)
            return -1;
        it->gold = wr_get_u32(r);
        it->decay_at = wr_get_u64(r);
        k++;
    }
    uint32_t corpses = 0;
    for (size_t i = 0; i < m->n_items; i++)
        corpses += m->items[i].item == WR_MUD_CORPSE;
    if (r->err || corpses != n)
        return -1;
    if (wr__mud_restore_stock(m, r) != 0)
        return -1;
    return items_consistent(m) ? 0 : -1;
}

void wr__mud_remap_items(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct remap *rm)
{
    (void)ctx;
    wr__mud_remap_stock(m, rm);

    /* The core dropped instances of vanished kinds and rooms: what was in
     * a vanished corpse goes with it. */
    size_t keep = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        const struct wr_mud_item_inst *it = &m->items[i];
        if (it->loc == WR_MUD_IN_CORPSE) {
            const struct wr_mud_item_inst *c = inst_by_id(m, it->where);
            if (c == NULL || c->item != WR_MUD_CORPSE)
                continue;
        }
        m->items[keep++] = *it;
    }
    m->n_items = keep;

    /* Worn items: a slot whose item vanished is free; an item whose kind
     * now goes elsewhere (or nowhere) is back in its wearer's hands. */
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *c = &m->chars[i];
        for (int s = 0; s < WR_MUD_NSLOTS; s++) {
            struct wr_mud_item_inst *it = c->eq[s] ? inst_by_id(m, c->eq[s]) : NULL;
            if (it == NULL) {
                c->eq[s] = 0;
                continue;
            }
            if (it->loc != WR_MUD_WORN || it->where != c->id ||
                m->model->items[it->item].slot != s) {
                c->eq[s] = 0;
                if (it->loc == WR_MUD_WORN && it->where == c->id)
                    it->loc = WR_MUD_CARRIED;
            }
        }
    }
    for (size_t i = 0; i < m->n_items; i++) {
        struct wr_mud_item_inst *it = &m->items[i];
        if (it->loc != WR_MUD_WORN)
            continue;
        uint8_t slot = m->model->items[it->item].slot;
        if (slot >= WR_MUD_NSLOTS || it->where < 1 || it->where > m->n_chars ||
            m->chars[it->where - 1].eq[slot] != it->id)
            it->loc = WR_MUD_CARRIED;
    }
}

bool wr__mud_items_ok(const struct wr_mud *m)
{
    return m->model == NULL || items_consistent(m);
}
