/* The canonical export of a world model, part two: the zone files
 * (zones/ZONE.yaml), each with the zone's rooms, the items, item spawners,
 * NPCs and NPC spawners defined in or placed in it, its shops and its
 * quests; plus the room, item, NPC, skill and quest references only zone
 * files write. worldfile_export.c holds the contract (its header comment),
 * the emitter helpers, world.yaml and the bundle; both share
 * worldfile_export.h. Pure, like the rest of the export. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mud/model.h"
#include "mud/worldfile_export.h"

#define NONE UINT32_MAX

/* ---- references --------------------------------------------------------------- */

/* A room: its short id in the file's own zone, else zone.room. */
static void v_room(struct em *e, uint32_t room, const char *what)
{
    const struct wr_mud_model *m = e->m;
    const char *key = KEY_OF(e, m->rooms, m->n_rooms, room, "room", what);
    if (key == NULL)
        return;
    const struct wr_mud_room *r = &m->rooms[room];
    /* checked by check_rooms: key is "ZONE.ID" of its zone */
    wr__ex_word(e, r->zone == e->zone ? key + strlen(m->zones[r->zone].key) + 1 : key);
}

static void kv_room(struct em *e, const char *k, uint32_t room, const char *what)
{
    wr__ex_word(e, k);
    v_room(e, room, what);
}

static void kv_item(struct em *e, const char *k, uint32_t item, const char *what)
{
    const char *key = KEY_OF(e, e->m->items, e->m->n_items, item, "item", what);
    wr__ex_word(e, k);
    wr__ex_v_key(e, key);
}

static void kv_npc(struct em *e, const char *k, uint32_t npc, const char *what)
{
    const char *key = KEY_OF(e, e->m->npcs, e->m->n_npcs, npc, "npc", what);
    wr__ex_word(e, k);
    wr__ex_v_key(e, key);
}

static void kv_skill(struct em *e, const char *k, uint32_t skill, const char *what)
{
    const char *key = KEY_OF(e, e->m->skills, e->m->n_skills, skill, "skill", what);
    wr__ex_word(e, k);
    wr__ex_v_key(e, key);
}

static void kv_quest(struct em *e, const char *k, uint32_t quest, const char *what)
{
    const char *key = KEY_OF(e, e->m->quests, e->m->n_quests, quest, "quest", what);
    wr__ex_word(e, k);
    wr__ex_v_key(e, key);
}

static const char *slot_name(unsigned v)
{
    return wr_mud_slot_name((enum wr_mud_slot)v);
}

/* ---- zone files ------------------------------------------------------------------- */

static void exits(struct em *e, const struct wr_mud_room *r)
{
    bool any = false;
    for (int d = 0; d < WR_MUD_NDIRS; d++)
        any |= r->exits[d].to != WR_MUD_NO_ROOM;
    if (!any)
        return;
    wr__ex_word(e, "exits");
    wr__ex_map_start(e, false);
    for (int d = 0; d < WR_MUD_NDIRS; d++) {
        const struct wr_mud_exit *x = &r->exits[d];
        char what[96];
        if (x->to == WR_MUD_NO_ROOM)
            continue;
        snprintf(what, sizeof what, "exit %s of room %s", wr_mud_dir_name((enum wr_mud_dir)d),
                 r->key);
        wr__ex_word(e, wr_mud_dir_name((enum wr_mud_dir)d));
        if (!x->door) {
            v_room(e, x->to, what);
            continue;
        }
        wr__ex_map_start(e, true);
        kv_room(e, "to", x->to, what);
        wr__ex_kv_str(e, "door", x->door_name, what);
        wr__ex_kv_bool(e, "closed", x->closed);
        wr__ex_map_end(e);
    }
    wr__ex_map_end(e);
}

static void room(struct em *e, const struct wr_mud_room *r)
{
    char what[96];
    snprintf(what, sizeof what, "room %s", r->key);
    wr__ex_map_start(e, false);
    wr__ex_word(e, "id");
    wr__ex_word(e, r->key + strlen(e->m->zones[r->zone].key) + 1);
    wr__ex_kv_str(e, "name", r->name, what);
    wr__ex_kv_str(e, "desc", r->desc, what);
    wr__ex_kv_num(e, "x", r->x);
    wr__ex_kv_num(e, "y", r->y);
    wr__ex_kv_num(e, "z", r->z);
    exits(e, r);
    wr__ex_map_end(e);
}

static void item_use(struct em *e, const struct wr_mud_item_use *u, const char *what)
{
    wr__ex_map_start(e, false);
    wr__ex_kv_str(e, "verb", u->verb, what);
    wr__ex_effects(e, u->effects, u->n_effects, what);
    wr__ex_kv_msg(e, "msg", &u->msg, false);
    wr__ex_kv_bool(e, "consumed", u->consumed);
    wr__ex_map_end(e);
}

static void item(struct em *e, const struct wr_mud_item *it)
{
    char what[64];
    snprintf(what, sizeof what, "item %s", it->key ? it->key : "?");
    wr__ex_map_start(e, false);
    wr__ex_kv_str(e, "id", it->key, what);
    wr__ex_kv_str(e, "name", it->name, what);
    wr__ex_kv_str(e, "keywords", it->keywords, what);
    wr__ex_kv_str(e, "desc", it->desc, what);
    wr__ex_kv_str(e, "ground", it->ground, what);
    wr__ex_kv_bool(e, "fixed", it->fixed);
    /* bonuses count while worn and damage while wielded: an item that is
     * not worn has none to write */
    if (it->slot != WR_SLOT_NONE) {
        wr__ex_kv_enum(e, "slot", it->slot, WR_MUD_NSLOTS, slot_name, "slot", what);
        wr__ex_kv_stats(e, "stats", it->stats);
        wr__ex_kv_armour(e, "armour", it->armour);
    }
    if (it->slot == WR_SLOT_WIELD && (it->dmg_min != 0 || it->dmg_max != 0)) /* 0/0: no weapon */
        wr__ex_kv_damage(e, "damage", it->dtype, it->dmg_min, it->dmg_max, what);
    wr__ex_kv_num(e, "price", it->price);
    wr__ex_kv_num(e, "level", it->level);
    if (it->n_uses > 0) {
        wr__ex_word(e, "uses");
        wr__ex_seq_start(e, false);
        for (size_t i = 0; i < it->n_uses; i++)
            item_use(e, &it->uses[i], what);
        wr__ex_seq_end(e);
    }
    wr__ex_map_end(e);
}

/* The body of an action: say, emote, move, attack or skill, then its
 * weight where actions are drawn by weight. */
static void action(struct em *e, const struct wr_mud_action *a, bool weighted, const char *what)
{
    switch (a->kind) {
    case WR_ACT_SAY:
        wr__ex_kv_str(e, "say", a->text, what);
        break;
    case WR_ACT_EMOTE:
        wr__ex_kv_str(e, "emote", a->text, what);
        break;
    case WR_ACT_MOVE:
        wr__ex_kv_bool(e, "move", true);
        break;
    case WR_ACT_ATTACK:
        wr__ex_kv_bool(e, "attack", true);
        break;
    case WR_ACT_SKILL:
        kv_skill(e, "skill", a->skill, what);
        break;
    default:
        wr__ex_fail(e, "%s has an action of unknown kind %d", what, (int)a->kind);
        return;
    }
    if (weighted)
        wr__ex_kv_num(e, "weight", a->weight);
}

static void actions(struct em *e, const char *k, const struct wr_mud_action *a, size_t n,
                    const char *what)
{
    wr__ex_word(e, k);
    wr__ex_seq_start(e, false);
    for (size_t i = 0; i < n; i++) {
        wr__ex_map_start(e, false);
        action(e, &a[i], true, what);
        wr__ex_map_end(e);
    }
    wr__ex_seq_end(e);
}

static void behaviour(struct em *e, const struct wr_mud_npc *n, const char *what)
{
    if (n->n_timers + n->n_greets + n->n_hears + n->n_combat + n->n_targeted == 0)
        return;
    wr__ex_word(e, "behaviour");
    wr__ex_map_start(e, false);
    if (n->n_timers > 0) {
        wr__ex_word(e, "timer");
        wr__ex_seq_start(e, false);
        for (size_t i = 0; i < n->n_timers; i++) {
            const struct wr_mud_timer_rule *t = &n->timers[i];
            wr__ex_map_start(e, false);
            wr__ex_kv_num(e, "min_delay", t->min_delay_ms);
            wr__ex_kv_num(e, "random_delay", t->random_delay_ms);
            actions(e, "actions", t->actions, t->n_actions, what);
            wr__ex_map_end(e);
        }
        wr__ex_seq_end(e);
    }
    if (n->n_greets > 0) {
        wr__ex_word(e, "greet");
        wr__ex_seq_start(e, false);
        for (size_t i = 0; i < n->n_greets; i++) {
            wr__ex_map_start(e, false);
            wr__ex_kv_num(e, "delay", n->greets[i].delay_ms);
            action(e, &n->greets[i].action, false, what);
            wr__ex_map_end(e);
        }
        wr__ex_seq_end(e);
    }
    if (n->n_hears > 0) {
        wr__ex_word(e, "hear");
        wr__ex_seq_start(e, false);
        for (size_t i = 0; i < n->n_hears; i++) {
            wr__ex_map_start(e, false);
            wr__ex_kv_str(e, "pattern", n->hears[i].pattern, what);
            wr__ex_kv_num(e, "delay", n->hears[i].delay_ms);
            action(e, &n->hears[i].action, false, what);
            wr__ex_map_end(e);
        }
        wr__ex_seq_end(e);
    }
    if (n->n_combat > 0)
        actions(e, "combat", n->combat, n->n_combat, what);
    if (n->n_targeted > 0)
        actions(e, "targeted", n->targeted, n->n_targeted, what);
    wr__ex_map_end(e);
}

/* level and what comes with it (its drops included: only what dies
 * drops anything); a peaceful NPC (level 0) has none of them. */
static void npc_combat(struct em *e, const struct wr_mud_npc *n, const char *what)
{
    if (n->level == 0)
        return;
    wr__ex_kv_num(e, "level", n->level);
    wr__ex_kv_stats(e, "stats", n->stats);
    wr__ex_kv_num(e, "health", n->max[WR_POOL_HP]);
    wr__ex_kv_num(e, "skill", n->max[WR_POOL_SP]);
    wr__ex_kv_num(e, "endurance", n->max[WR_POOL_EP]);
    wr__ex_kv_armour(e, "armour", n->armour);
    wr__ex_kv_damage(e, "attack", n->dtype, n->dmg_min, n->dmg_max, what);
    wr__ex_word(e, "gold");
    wr__ex_map_start(e, true);
    wr__ex_kv_num(e, "min", n->gold_min);
    wr__ex_kv_num(e, "max", n->gold_max);
    wr__ex_map_end(e);
    wr__ex_kv_bool(e, "aggressive", n->aggressive);
    if (n->n_drops > 0) {
        wr__ex_word(e, "drops");
        wr__ex_seq_start(e, false);
        for (size_t i = 0; i < n->n_drops; i++) {
            wr__ex_map_start(e, true);
            kv_item(e, "item", n->drops[i].item, what);
            wr__ex_kv_num(e, "chance", n->drops[i].chance);
            wr__ex_map_end(e);
        }
        wr__ex_seq_end(e);
    }
}

static void npc(struct em *e, const struct wr_mud_npc *n)
{
    const struct wr_mud_model *m = e->m;
    char what[64];
    snprintf(what, sizeof what, "npc %s", n->key ? n->key : "?");
    wr__ex_map_start(e, false);
    wr__ex_kv_str(e, "id", n->key, what);
    wr__ex_kv_str(e, "name", n->name, what);
    wr__ex_kv_str(e, "keywords", n->keywords, what);
    wr__ex_kv_str(e, "desc", n->desc, what);
    wr__ex_kv_str(e, "ground", n->ground, what);
    wr__ex_kv_num(e, "max_distance", n->max_distance);
    npc_combat(e, n, what);
    if (n->n_teaches > 0) {
        wr__ex_word(e, "teaches");
        wr__ex_seq_start(e, true);
        for (size_t i = 0; i < n->n_teaches; i++)
            wr__ex_v_key(e, KEY_OF(e, m->skills, m->n_skills, n->teaches[i], "skill", what));
        wr__ex_seq_end(e);
    }
    if (n->n_topics > 0) {
        wr__ex_word(e, "talk");
        wr__ex_seq_start(e, false);
        for (size_t i = 0; i < n->n_topics; i++) {
            const struct wr_mud_topic *t = &n->topics[i];
            wr__ex_map_start(e, false);
            wr__ex_kv_str(e, "topic", t->key, what);
            wr__ex_kv_str(e, "text", t->text, what);
            if (t->quest != NONE)
                kv_quest(e, "quest", t->quest, what);
            wr__ex_map_end(e);
        }
        wr__ex_seq_end(e);
    }
    behaviour(e, n, what);
    wr__ex_map_end(e);
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
            wr__ex_word(e, "item_spawners");
            wr__ex_seq_start(e, false);
            any = true;
        }
        wr__ex_map_start(e, true);
        kv_item(e, "item", s->item, "an item spawner");
        kv_room(e, "room", s->room, "an item spawner");
        wr__ex_kv_num(e, "interval", s->interval_ms);
        wr__ex_map_end(e);
    }
    if (any)
        wr__ex_seq_end(e);
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
            wr__ex_word(e, "npc_spawners");
            wr__ex_seq_start(e, false);
            any = true;
        }
        wr__ex_map_start(e, true);
        kv_npc(e, "npc", s->npc, "an npc spawner");
        kv_room(e, "room", s->room, "an npc spawner");
        wr__ex_kv_num(e, "interval", s->interval_ms);
        wr__ex_map_end(e);
    }
    if (any)
        wr__ex_seq_end(e);
}

static void shop(struct em *e, const struct wr_mud_shop *s)
{
    char what[64];
    snprintf(what, sizeof what, "shop %s", s->key ? s->key : "?");
    wr__ex_map_start(e, false);
    wr__ex_kv_str(e, "id", s->key, what);
    wr__ex_kv_str(e, "name", s->name, what);
    kv_room(e, "room", s->room, what);
    if (s->keeper != NONE)
        kv_npc(e, "keeper", s->keeper, what);
    wr__ex_kv_num(e, "buy_percent", s->buy_percent);
    wr__ex_word(e, "stock");
    wr__ex_seq_start(e, false);
    for (size_t i = 0; i < s->n_stock; i++) {
        const struct wr_mud_stock *st = &s->stock[i];
        wr__ex_map_start(e, true);
        kv_item(e, "item", st->item, what);
        wr__ex_kv_num(e, "count", st->count);
        if (st->price != 0) /* 0: the item's own price */
            wr__ex_kv_num(e, "price", st->price);
        wr__ex_map_end(e);
    }
    wr__ex_seq_end(e);
    wr__ex_map_end(e);
}

static void quest(struct em *e, const struct wr_mud_quest *q)
{
    static const char *const step_kinds[] = {"kill", "collect", "visit", "talk"};
    char what[64];
    snprintf(what, sizeof what, "quest %s", q->key ? q->key : "?");
    wr__ex_map_start(e, false);
    wr__ex_kv_str(e, "id", q->key, what);
    wr__ex_kv_str(e, "name", q->name, what);
    wr__ex_kv_str(e, "desc", q->desc, what);
    kv_npc(e, "giver", q->giver, what);
    wr__ex_kv_num(e, "level", q->level);
    wr__ex_word(e, "steps");
    wr__ex_seq_start(e, false);
    for (size_t i = 0; i < q->n_steps; i++) {
        const struct wr_mud_step *st = &q->steps[i];
        wr__ex_map_start(e, false);
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
            wr__ex_fail(e, "%s has a step of unknown kind %u", what, st->kind);
        }
        if (st->kind == WR_STEP_KILL || st->kind == WR_STEP_COLLECT)
            wr__ex_kv_num(e, "count", st->count);
        wr__ex_kv_opt(e, "desc", st->desc);
        wr__ex_map_end(e);
    }
    wr__ex_seq_end(e);
    wr__ex_word(e, "reward");
    wr__ex_map_start(e, false);
    wr__ex_kv_num(e, "xp", q->reward_xp);
    wr__ex_kv_num(e, "gold", q->reward_gold);
    if (q->n_reward_items > 0) {
        wr__ex_word(e, "items");
        wr__ex_seq_start(e, true);
        for (size_t i = 0; i < q->n_reward_items; i++)
            wr__ex_v_key(e,
                         KEY_OF(e, e->m->items, e->m->n_items, q->reward_items[i], "item", what));
        wr__ex_seq_end(e);
    }
    wr__ex_map_end(e);
    wr__ex_kv_opt(e, "done", q->done_text);
    wr__ex_kv_bool(e, "consume", q->consume);
    wr__ex_map_end(e);
}

/* The zone file a quest goes in: the one defining its giver (a quest has
 * no room of its own; its giver is where players find it). */
uint32_t wr__ex_quest_zone(const struct wr_mud_model *m, const struct wr_mud_quest *q)
{
    return q->giver < m->n_npcs ? m->npcs[q->giver].zone : NONE;
}

void wr__ex_zone_file(struct em *e)
{
    const struct wr_mud_model *m = e->m;
    const struct wr_mud_zone *z = &m->zones[e->zone];
    char what[64];
    snprintf(what, sizeof what, "zone %s", z->key);

    wr__ex_word(e, "zone");
    wr__ex_map_start(e, false);
    wr__ex_kv_str(e, "id", z->key, what);
    wr__ex_kv_str(e, "name", z->name, what);
    wr__ex_kv_str(e, "desc", z->desc, what);
    kv_room(e, "graveyard", z->graveyard, what);
    wr__ex_map_end(e);

#define SECTION(key, arr, n, in_zone, write)                                                       \
    do {                                                                                           \
        bool any_ = false;                                                                         \
        for (size_t i = 0; i < (n); i++) {                                                         \
            if (!(in_zone))                                                                        \
                continue;                                                                          \
            if (!any_) {                                                                           \
                wr__ex_word(e, key);                                                               \
                wr__ex_seq_start(e, false);                                                        \
                any_ = true;                                                                       \
            }                                                                                      \
            write(e, &(arr)[i]);                                                                   \
        }                                                                                          \
        if (any_)                                                                                  \
            wr__ex_seq_end(e);                                                                     \
    } while (0)

    SECTION("rooms", m->rooms, m->n_rooms, m->rooms[i].zone == e->zone, room);
    SECTION("items", m->items, m->n_items, m->items[i].zone == e->zone, item);
    item_spawners(e);
    SECTION("npcs", m->npcs, m->n_npcs, m->npcs[i].zone == e->zone, npc);
    npc_spawners(e);
    SECTION("shops", m->shops, m->n_shops,
            m->shops[i].room < m->n_rooms && m->rooms[m->shops[i].room].zone == e->zone, shop);
    SECTION("quests", m->quests, m->n_quests, wr__ex_quest_zone(m, &m->quests[i]) == e->zone,
            quest);
#undef SECTION
}
