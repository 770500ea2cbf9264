/* Zones and what runs in them: zone placement and ticks, NPC timers and
 * wandering, delayed NPC reactions (greetings, answers), item and NPC
 * spawners, and the WORLD_CHUNK upload that installs or reloads a world.
 *
 * Zone timers. A ZONE_TICK of the current (owner, epoch) collects what is
 * due in its zone at the log time, sorts it by (due, kind, id) and runs it;
 * everything run is rescheduled strictly after now, so a repeated tick does
 * nothing. Randomness: the tick's ctx->seed, mixed with the position of
 * each action in that order. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mud/mud_internal.h"
#include "mud/worldfile.h"


/* ---- text helpers ----------------------------------------------------- */

/* Case-insensitive substring search (ASCII). */
static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return false;
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static void hex16(const uint8_t h[16], char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[32] = '\0';
}

static uint64_t rand_below(uint64_t *rng, uint64_t n)
{
    return n == 0 ? 0 : wr_mix64(rng) % n;
}

/* ---- scheduling and spawning ------------------------------------------ */

/* Pick the NPC's next timer action time after @now: the earliest of its
 * timer rules' draws, each min plus a share of random_delay_ms, at least
 * 1 ms ahead (so a repeated tick finds nothing due); NEVER without timers. */
static void npc_schedule(struct wr_mud *m, struct wr_mud_npc_inst *n, uint64_t now,
                         uint64_t *rng)
{
    const struct wr_mud_npc *def = &m->model->npcs[n->npc];
    n->next_act_at = NEVER;
    n->timer = 0;
    for (size_t t = 0; t < def->n_timers; t++) {
        const struct wr_mud_timer_rule *tr = &def->timers[t];
        uint64_t d = tr->min_delay_ms + rand_below(rng, (uint64_t)tr->random_delay_ms + 1);
        if (d == 0)
            d = 1;
        if (now + d < n->next_act_at) {
            n->next_act_at = now + d;
            n->timer = (uint32_t)t;
        }
    }
}

static void spawn_npc(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t s,
                      uint64_t *rng)
{
    const struct wr_mud_npc_spawner *sp = &m->model->npc_spawners[s];
    GROW(m->npcs, m->n_npcs, m->cap_npcs);
    struct wr_mud_npc_inst *n = &m->npcs[m->n_npcs++];
    memset(n, 0, sizeof *n);
    n->id = m->next_npc_id++;
    n->npc = sp->npc;
    n->spawner = s;
    n->room = sp->room;
    npc_schedule(m, n, ctx->now_ms, rng);
    wr__mud_fight_init_npc(m, n);
    m->npc_sp[s].inst = n->id;
    m->npc_sp[s].due = NEVER;
    struct wr_mud_event e = wr__mud_ev_npc(m, n);
    wr__mud_to_room(ctx, WR_MUD_EV_SPAWN, &e);
    wr__mud_fight_npc_arrived(m, ctx, n);
}

void wr__mud_npc_remove(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t id)
{
    long i = wr__mud_find_by_id(m->npcs, m->n_npcs, sizeof *m->npcs, id);
    if (i < 0)
        return;
    uint32_t s = m->npcs[i].spawner;
    memmove(&m->npcs[i], &m->npcs[i + 1], (m->n_npcs - (size_t)i - 1) * sizeof *m->npcs);
    m->n_npcs--;
    size_t keep = 0;
    for (size_t k = 0; k < m->n_reacts; k++) {
        if (m->reacts[k].npc_inst == id)
            free(m->reacts[k].text);
        else
            m->reacts[keep++] = m->reacts[k];
    }
    m->n_reacts = keep;
    if (s < m->model->n_npc_spawners && m->npc_sp[s].inst == id) {
        m->npc_sp[s].inst = 0;
        m->npc_sp[s].due = ctx->now_ms + m->model->npc_spawners[s].interval_ms;
    }
}

static void spawn_item(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t s)
{
    const struct wr_mud_item_spawner *sp = &m->model->item_spawners[s];
    GROW(m->items, m->n_items, m->cap_items);
    struct wr_mud_item_inst *it = &m->items[m->n_items++];
    memset(it, 0, sizeof *it);
    it->id = m->next_item_id++;
    it->item = sp->item;
    it->loc = WR_MUD_IN_ROOM;
    it->where = sp->room;
    it->spawner = s;
    m->item_sp[s].inst = it->id;
    m->item_sp[s].due = NEVER;
    struct wr_mud_event e = {.room = sp->room, .dir = -1, .item = m->model->items[sp->item].name};
    wr__mud_to_room(ctx, WR_MUD_EV_SPAWN, &e);
}

/* An item instance leaves the place it spawned: its spawner starts the
 * respawn timer. */
void wr__mud_untie_item(struct wr_mud *m, struct wr_mud_item_inst *it, uint64_t now)
{
    if (it->spawner == NONE)
        return;
    struct spawn_state *st = &m->item_sp[it->spawner];
    if (st->inst == it->id) {
        st->inst = 0;
        st->due = now + m->model->item_spawners[it->spawner].interval_ms;
    }
    it->spawner = NONE;
}

static void add_reaction(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                         const struct wr_mud_npc_inst *n, const struct wr_mud_action *a,
                         uint32_t delay_ms, const char *who)
{
    if (a->kind == WR_ACT_MOVE || a->text == NULL)
        return; /* reactions say or emote */
    GROW(m->reacts, m->n_reacts, m->cap_reacts);
    struct reaction *re = &m->reacts[m->n_reacts++];
    re->id = m->next_react_id++;
    re->npc_inst = n->id;
    re->due = ctx->now_ms + delay_ms;
    re->kind = (uint8_t)a->kind;
    re->text = wr__mud_subst_name(a->text, who);
}

/* Player @c entered its room: the NPCs there schedule their greetings. */
void wr__mud_greet(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct wr_mud_char *c)
{
    for (size_t i = 0; i < m->n_npcs; i++) {
        const struct wr_mud_npc_inst *n = &m->npcs[i];
        if (n->room != c->room)
            continue;
        const struct wr_mud_npc *def = &m->model->npcs[n->npc];
        for (size_t g = 0; g < def->n_greets; g++)
            add_reaction(m, ctx, n, &def->greets[g].action, def->greets[g].delay_ms, c->name);
    }
}

void wr__mud_entered_room(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c)
{
    wr__mud_greet(m, ctx, c);
    wr__mud_fight_char_arrived(m, ctx, c);
    wr__mud_quest_on_enter(m, ctx, c);
}

/* Player @c said @text: the NPCs in the room with a matching hear rule
 * (the first that matches, per NPC) schedule their answers. */
void wr__mud_hear(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct wr_mud_char *c,
                  const char *text)
{
    for (size_t i = 0; i < m->n_npcs; i++) {
        const struct wr_mud_npc_inst *n = &m->npcs[i];
        if (n->room != c->room)
            continue;
        const struct wr_mud_npc *def = &m->model->npcs[n->npc];
        for (size_t h = 0; h < def->n_hears; h++) {
            const struct wr_mud_hear_rule *hr = &def->hears[h];
            if (hr->pattern != NULL && contains_ci(text, hr->pattern)) {
                add_reaction(m, ctx, n, &hr->action, hr->delay_ms, c->name);
                break;
            }
        }
    }
}

/* ---- installing a world ----------------------------------------------- */

/* Key -> index tables, sorted by key, for remapping on reload. */
struct kv {
    const char *key;
    uint32_t idx;
};

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

static uint32_t kv_find(const struct kv *t, size_t n, const char *key)
{
    struct kv probe = {.key = key};
    const struct kv *f = n ? bsearch(&probe, t, n, sizeof *t, kv_cmp) : NULL;
    return f ? f->idx : NONE;
}

#define KV_BUILD(t, arr, n)                                                \
    do {                                                                   \
        (t) = wr_malloc(((n) ? (n) : 1) * sizeof *(t));                    \
        for (size_t k_ = 0; k_ < (n); k_++)                                \
            (t)[k_] = (struct kv){.key = (arr)[k_].key, .idx = (uint32_t)k_}; \
        if ((n) > 0)                                                       \
            qsort((t), (n), sizeof *(t), kv_cmp);                          \
    } while (0)

/* old index -> new index of the same key, NONE if gone. */
#define KV_MAP(map, oarr, on, t, nn)                                       \
    do {                                                                   \
        (map) = wr_malloc(((on) ? (on) : 1) * sizeof *(map));              \
        for (size_t k_ = 0; k_ < (on); k_++)                               \
            (map)[k_] = kv_find((t), (nn), (oarr)[k_].key);                \
    } while (0)

/* Spawners are identified by what they spawn and where: old spawner ->
 * the first unclaimed new one with the same (thing, room), or NONE. */
static uint32_t *map_spawners(size_t on, const uint32_t *othing, const uint32_t *oroom,
                              size_t nn, const uint32_t *nthing, const uint32_t *nroom)
{
    uint32_t *map = wr_malloc((on ? on : 1) * sizeof *map);
    bool *claimed = wr_calloc(nn ? nn : 1, sizeof *claimed);
    for (size_t i = 0; i < on; i++) {
        map[i] = NONE;
        if (othing[i] == NONE || oroom[i] == NONE)
            continue;
        for (size_t j = 0; j < nn; j++) {
            if (!claimed[j] && nthing[j] == othing[i] && nroom[j] == oroom[i]) {
                claimed[j] = true;
                map[i] = (uint32_t)j;
                break;
            }
        }
    }
    free(claimed);
    return map;
}

/* Replace the world by @nm (parsed from @bundle, whose ownership moves
 * here): remap everything that exists in both by key, drop the rest, start
 * the new spawners. See mud.h, WORLD_CHUNK. */
void wr__mud_install_world(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                           struct wr_mud_model *nm, uint8_t *bundle, size_t len,
                           const char *code)
{
    struct wr_mud_model *om = m->model;
    size_t o_rooms = om ? om->n_rooms : 0, o_items = om ? om->n_items : 0;
    size_t o_npcs = om ? om->n_npcs : 0, o_zones = om ? om->n_zones : 0;
    size_t o_chans = om ? om->n_channels : 0;
    size_t o_isp = om ? om->n_item_spawners : 0, o_nsp = om ? om->n_npc_spawners : 0;
    struct wr_mud_room *no_rooms = NULL;
    struct wr_mud_item *no_items = NULL;
    struct wr_mud_npc *no_npcs = NULL;
    struct wr_mud_zone *no_zones = NULL;
    struct wr_mud_channel *no_chans = NULL;

    struct kv *t;
    uint32_t *room_map, *item_map, *npc_map, *zone_map, *chan_map;
    KV_BUILD(t, nm->rooms, nm->n_rooms);
    KV_MAP(room_map, om ? om->rooms : no_rooms, o_rooms, t, nm->n_rooms);
    free(t);
    KV_BUILD(t, nm->items, nm->n_items);
    KV_MAP(item_map, om ? om->items : no_items, o_items, t, nm->n_items);
    free(t);
    KV_BUILD(t, nm->npcs, nm->n_npcs);
    KV_MAP(npc_map, om ? om->npcs : no_npcs, o_npcs, t, nm->n_npcs);
    free(t);
    KV_BUILD(t, nm->zones, nm->n_zones);
    KV_MAP(zone_map, om ? om->zones : no_zones, o_zones, t, nm->n_zones);
    free(t);
    KV_BUILD(t, nm->channels, nm->n_channels);
    KV_MAP(chan_map, om ? om->channels : no_chans, o_chans, t, nm->n_channels);
    free(t);

    /* Spawner identity: (what, where) translated into the new indexes. */
    uint32_t *a = wr_malloc((o_isp + o_nsp + 1) * sizeof *a);
    uint32_t *b = wr_malloc((o_isp + o_nsp + 1) * sizeof *b);
    uint32_t *c = wr_malloc((nm->n_item_spawners + nm->n_npc_spawners + 1) * sizeof *c);
    uint32_t *d = wr_malloc((nm->n_item_spawners + nm->n_npc_spawners + 1) * sizeof *d);
    for (size_t i = 0; i < o_isp; i++) {
        a[i] = item_map[om->item_spawners[i].item];
        b[i] = room_map[om->item_spawners[i].room];
    }
    for (size_t i = 0; i < nm->n_item_spawners; i++) {
        c[i] = nm->item_spawners[i].item;
        d[i] = nm->item_spawners[i].room;
    }
    uint32_t *isp_map = map_spawners(o_isp, a, b, nm->n_item_spawners, c, d);
    for (size_t i = 0; i < o_nsp; i++) {
        a[i] = npc_map[om->npc_spawners[i].npc];
        b[i] = room_map[om->npc_spawners[i].room];
    }
    for (size_t i = 0; i < nm->n_npc_spawners; i++) {
        c[i] = nm->npc_spawners[i].npc;
        d[i] = nm->npc_spawners[i].room;
    }
    uint32_t *nsp_map = map_spawners(o_nsp, a, b, nm->n_npc_spawners, c, d);
    free(a);
    free(b);
    free(c);
    free(d);

    /* Characters: same room by key, else the start room; channel switches
     * by channel key, new channels at their default. */
    uint32_t def_off = wr__mud_default_channels_off(nm);
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *ch = &m->chars[i];
        uint32_t r = ch->room < o_rooms ? room_map[ch->room] : NONE;
        ch->room = r != NONE ? r : nm->start_room;
        uint32_t off = def_off;
        for (size_t oc = 0; oc < o_chans && oc < WR_MUD_MAX_CHANNELS; oc++) {
            uint32_t nc = chan_map[oc];
            if (nc == NONE || nc >= WR_MUD_MAX_CHANNELS)
                continue;
            off = (off & ~(1u << nc)) | (((ch->channels_off >> oc) & 1u) << nc);
        }
        ch->channels_off = off;
    }

    /* Items: kept if their kind and place still exist. */
    size_t keep = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        struct wr_mud_item_inst it = m->items[i];
        uint32_t ni = it.item == WR_MUD_CORPSE ? WR_MUD_CORPSE : item_map[it.item];
        uint32_t where = it.loc == WR_MUD_IN_ROOM ? room_map[it.where] : it.where;
        if (ni == NONE || where == NONE)
            continue;
        it.item = ni;
        it.where = where;
        it.spawner = it.spawner != NONE ? isp_map[it.spawner] : NONE;
        m->items[keep++] = it;
    }
    m->n_items = keep;

    /* NPCs: kept if their kind, room and spawner still exist. */
    uint64_t rng = ctx->seed ^ 0x6d75642e776f726cull; /* "mud.worl" */
    keep = 0;
    for (size_t i = 0; i < m->n_npcs; i++) {
        struct wr_mud_npc_inst n = m->npcs[i];
        uint32_t nn = npc_map[n.npc], nr = room_map[n.room], ns = nsp_map[n.spawner];
        if (nn == NONE || nr == NONE || ns == NONE)
            continue;
        n.npc = nn;
        n.room = nr;
        n.spawner = ns;
        m->npcs[keep++] = n;
    }
    m->n_npcs = keep;
    keep = 0;
    for (size_t i = 0; i < m->n_reacts; i++) {
        if (wr__mud_npc_by_id(m, m->reacts[i].npc_inst) != NULL)
            m->reacts[keep++] = m->reacts[i];
        else
            free(m->reacts[i].text);
    }
    m->n_reacts = keep;

    /* Doors: as they are where the same exit had a door, else initial. */
    uint8_t *doors = wr_calloc(nm->n_rooms * WR_MUD_NDIRS + 1, 1);
    for (size_t r = 0; r < nm->n_rooms; r++)
        for (int dd = 0; dd < WR_MUD_NDIRS; dd++)
            doors[r * WR_MUD_NDIRS + (size_t)dd] =
                nm->rooms[r].exits[dd].door && nm->rooms[r].exits[dd].closed;
    for (size_t r = 0; r < o_rooms; r++) {
        uint32_t nr = room_map[r];
        if (nr == NONE)
            continue;
        for (int dd = 0; dd < WR_MUD_NDIRS; dd++)
            if (om->rooms[r].exits[dd].door && nm->rooms[nr].exits[dd].door)
                doors[(size_t)nr * WR_MUD_NDIRS + (size_t)dd] =
                    m->doors[r * WR_MUD_NDIRS + (size_t)dd];
    }

    /* Zones keep their owner and epoch by key. */
    struct wr_mud_zone_state *zones = wr_calloc(nm->n_zones + 1, sizeof *zones);
    for (size_t z = 0; z < o_zones; z++)
        if (zone_map[z] != NONE)
            zones[zone_map[z]] = m->zones[z];

    /* Channel history by key; a smaller history keeps the newest lines. */
    struct chan_ring *chans = wr_calloc(nm->n_channels + 1, sizeof *chans);
    for (size_t ch = 0; ch < nm->n_channels; ch++)
        wr__mud_ring_init(&chans[ch], nm->channels[ch].history);
    for (size_t ch = 0; ch < o_chans; ch++) {
        if (chan_map[ch] == NONE)
            continue;
        const struct chan_ring *or = &m->chans[ch];
        for (uint32_t i = 0; i < or->count; i++)
            wr__mud_ring_push(&chans[chan_map[ch]], wr__mud_ring_at(or, i)->who,
                              wr__mud_ring_at(or, i)->text);
    }

    /* Spawners: those whose instance was kept hold it; the rest spawn now. */
    struct spawn_state *item_sp = wr_calloc(nm->n_item_spawners + 1, sizeof *item_sp);
    struct spawn_state *npc_sp = wr_calloc(nm->n_npc_spawners + 1, sizeof *npc_sp);
    for (size_t i = 0; i < m->n_items; i++)
        if (m->items[i].spawner != NONE) {
            item_sp[m->items[i].spawner].inst = m->items[i].id;
            item_sp[m->items[i].spawner].due = NEVER;
        }
    for (size_t i = 0; i < m->n_npcs; i++) {
        npc_sp[m->npcs[i].spawner].inst = m->npcs[i].id;
        npc_sp[m->npcs[i].spawner].due = NEVER;
    }

    if (om != NULL)
        wr__mud_chans_free(m->chans, om->n_channels);
    free(m->bundle);
    free(m->doors);
    free(m->zones);
    free(m->item_sp);
    free(m->npc_sp);
    m->model = nm;
    m->bundle = bundle;
    m->bundle_len = len;
    m->doors = doors;
    m->zones = zones;
    m->chans = chans;
    m->item_sp = item_sp;
    m->npc_sp = npc_sp;

    /* The gameplay areas remap what they hold by key. */
    uint32_t *skill_map, *quest_map, *shop_map, *race_map, *cls_map;
    KV_BUILD(t, nm->skills, nm->n_skills);
    KV_MAP(skill_map, om ? om->skills : (struct wr_mud_skill *)NULL, om ? om->n_skills : 0, t,
           nm->n_skills);
    free(t);
    KV_BUILD(t, nm->quests, nm->n_quests);
    KV_MAP(quest_map, om ? om->quests : (struct wr_mud_quest *)NULL, om ? om->n_quests : 0, t,
           nm->n_quests);
    free(t);
    KV_BUILD(t, nm->shops, nm->n_shops);
    KV_MAP(shop_map, om ? om->shops : (struct wr_mud_shop *)NULL, om ? om->n_shops : 0, t,
           nm->n_shops);
    free(t);
    KV_BUILD(t, nm->races, nm->n_races);
    KV_MAP(race_map, om ? om->races : (struct wr_mud_race *)NULL, om ? om->n_races : 0, t,
           nm->n_races);
    free(t);
    KV_BUILD(t, nm->classes, nm->n_classes);
    KV_MAP(cls_map, om ? om->classes : (struct wr_mud_class *)NULL, om ? om->n_classes : 0, t,
           nm->n_classes);
    free(t);
    struct remap rm = {.om = om, .nm = nm};
    if (om != NULL) {
        rm.room = room_map;
        rm.item = item_map;
        rm.npc = npc_map;
        rm.zone = zone_map;
        rm.skill = skill_map;
        rm.quest = quest_map;
        rm.shop = shop_map;
        rm.race = race_map;
        rm.cls = cls_map;
    }
    wr__mud_remap_fight(m, ctx, &rm);
    wr__mud_remap_progress(m, ctx, &rm);
    wr__mud_remap_items(m, ctx, &rm);
    wr__mud_remap_quest(m, ctx, &rm);
    wr__mud_remap_build(m, ctx, &rm);
    free(room_map);
    free(item_map);
    free(npc_map);
    free(zone_map);
    free(chan_map);
    free(isp_map);
    free(nsp_map);
    free(skill_map);
    free(quest_map);
    free(shop_map);
    free(race_map);
    free(cls_map);
    wr_mud_model_free(om);
    wr__mud_world_hash(m);

    /* Kept NPCs act on the new definition's timers. */
    for (size_t i = 0; i < m->n_npcs; i++)
        npc_schedule(m, &m->npcs[i], ctx->now_ms, &rng);

    char hex[33];
    hex16(nm->hash, hex);
    struct wr_mud_event e = {.room = WR_MUD_NO_ROOM, .dir = -1, .code = code, .text = hex};
    wr__mud_emit(ctx, WR_MUD_EV_WORLD, WR_AUD_ALL, 0, 0, 0, &e);
    for (uint32_t s = 0; s < nm->n_npc_spawners; s++)
        if (npc_sp[s].inst == 0)
            spawn_npc(m, ctx, s, &rng);
    for (uint32_t s = 0; s < nm->n_item_spawners; s++)
        if (item_sp[s].inst == 0)
            spawn_item(m, ctx, s);
    wr__mud_check(m);
}

enum result wr__mud_apply_chunk(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                struct wr_reader *r)
{
    const uint8_t *hash = wr_get_bytes(r, 16);
    uint32_t total = wr_get_u32(r), offset = wr_get_u32(r);
    uint16_t len = wr_get_u16(r);
    const uint8_t *bytes = wr_get_bytes(r, len);
    if (r->err || len > WR_MUD_CHUNK_MAX || total == 0 || total > WR_MUD_BUNDLE_MAX ||
        offset > total || len > total - offset)
        return R_MALFORMED;
    if (offset == 0 || m->up_total != total || memcmp(m->up_hash, hash, 16) != 0) {
        /* A new bundle (or a chunk of another one): start over. */
        wr__mud_upload_clear(m);
        if (offset != 0)
            return R_KEEP; /* its beginning is missing: ignore it */
        memcpy(m->up_hash, hash, 16);
        m->up_total = total;
        m->up_buf = wr_malloc(total);
    }
    if (offset != m->up_got)
        return R_KEEP; /* out of order: a retried chunk, or a gap */
    memcpy(m->up_buf + offset, bytes, len);
    m->up_got += len;
    if (m->up_got < m->up_total)
        return R_KEEP;

    uint8_t h[16];
    char err[256] = "";
    struct wr_mud_model *nm = NULL;
    crypto_generichash(h, sizeof h, m->up_buf, m->up_total, NULL, 0);
    if (memcmp(h, m->up_hash, 16) != 0)
        snprintf(err, sizeof err, "the bundle's hash does not match");
    else if (wr_mud_model_parse(m->up_buf, m->up_total, &nm, err, sizeof err) != 0)
        nm = NULL;
    if (nm == NULL) {
        wr__mud_upload_clear(m);
        struct wr_mud_event e = {.room = WR_MUD_NO_ROOM, .dir = -1, .code = "bad", .text = err};
        wr__mud_emit(ctx, WR_MUD_EV_WORLD, WR_AUD_ALL, 0, 0, 0, &e);
        return R_KEEP;
    }
    uint8_t *bundle = m->up_buf;
    size_t blen = m->up_total;
    m->up_buf = NULL;
    wr__mud_upload_clear(m);
    wr__mud_install_world(m, ctx, nm, bundle, blen, "loaded");
    return R_KEEP;
}

void wr__mud_world_hash(struct wr_mud *m)
{
    memset(m->world_hash, 0, sizeof m->world_hash);
    if (m->model == NULL)
        return;
    struct wr_writer w;
    wr_writer_init(&w, 64 * 1024);
    char err[160];
    if (wr_mud_model_export(m->model, &w, err, sizeof err) == 0)
        crypto_generichash(m->world_hash, sizeof m->world_hash, w.base, w.len, NULL, 0);
    wr_writer_free(&w);
}

/* ---- zones and their timers ------------------------------------------- */

/* BFS distances from @home over the model's exits (doors ignored), within
 * @zone, up to @limit steps; UINT32_MAX where farther. Caller frees. */
static uint32_t *distances(const struct wr_mud_model *mo, uint32_t home, uint32_t zone,
                           uint32_t limit)
{
    uint32_t *dist = wr_malloc(mo->n_rooms * sizeof *dist);
    uint32_t *queue = wr_malloc(mo->n_rooms * sizeof *queue);
    for (size_t i = 0; i < mo->n_rooms; i++)
        dist[i] = UINT32_MAX;
    size_t head = 0, tail = 0;
    dist[home] = 0;
    queue[tail++] = home;
    while (head < tail) {
        uint32_t r = queue[head++];
        if (dist[r] >= limit)
            continue;
        for (int d = 0; d < WR_MUD_NDIRS; d++) {
            uint32_t to = mo->rooms[r].exits[d].to;
            if (to >= mo->n_rooms || mo->rooms[to].zone != zone || dist[to] != UINT32_MAX)
                continue;
            dist[to] = dist[r] + 1;
            queue[tail++] = to;
        }
    }
    free(queue);
    return dist;
}

/* One wander step: a random open exit into the NPC's zone, no farther than
 * max_distance from where it spawned. */
static void npc_wander(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                       struct wr_mud_npc_inst *n, uint64_t *rng)
{
    if (n->f.next_round_at != NEVER)
        return; /* it fights: it stays */
    const struct wr_mud_model *mo = m->model;
    uint32_t home = mo->npc_spawners[n->spawner].room;
    uint32_t zone = mo->rooms[home].zone;
    uint32_t limit = mo->npcs[n->npc].max_distance;
    uint32_t *dist = distances(mo, home, zone, limit);
    int cand[WR_MUD_NDIRS], k = 0;
    for (int d = 0; d < WR_MUD_NDIRS; d++) {
        const struct wr_mud_exit *x = &mo->rooms[n->room].exits[d];
        if (x->to >= mo->n_rooms || (x->door && wr__mud_door_closed(m, n->room, d)) ||
            mo->rooms[x->to].zone != zone || dist[x->to] > limit)
            continue;
        cand[k++] = d;
    }
    free(dist);
    if (k == 0)
        return;
    int d = cand[rand_below(rng, (uint64_t)k)];
    struct wr_mud_event e = wr__mud_ev_npc(m, n);
    e.dir = d;
    wr__mud_to_room(ctx, WR_MUD_EV_DEPART, &e);
    uint32_t from = n->room;
    n->room = mo->rooms[n->room].exits[d].to;
    e = wr__mud_ev_npc(m, n);
    enum wr_mud_dir rd = wr_mud_dir_reverse((enum wr_mud_dir)d);
    e.dir = mo->rooms[n->room].exits[rd].to == from ? (int)rd : -1;
    wr__mud_to_room(ctx, WR_MUD_EV_ARRIVE, &e);
    wr__mud_fight_npc_arrived(m, ctx, n);
}

static void npc_act(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_npc_inst *n,
                    uint64_t *rng)
{
    const struct wr_mud_npc *def = &m->model->npcs[n->npc];
    if (n->timer < def->n_timers) {
        const struct wr_mud_timer_rule *tr = &def->timers[n->timer];
        uint64_t total = 0;
        for (size_t i = 0; i < tr->n_actions; i++)
            total += tr->actions[i].weight;
        uint64_t pick = rand_below(rng, total);
        const struct wr_mud_action *a = NULL;
        for (size_t i = 0; i < tr->n_actions && a == NULL; i++) {
            if (pick < tr->actions[i].weight)
                a = &tr->actions[i];
            else
                pick -= tr->actions[i].weight;
        }
        if (a != NULL && a->kind == WR_ACT_MOVE) {
            npc_wander(m, ctx, n, rng);
        } else if (a != NULL && a->text != NULL) {
            struct wr_mud_event e = wr__mud_ev_npc(m, n);
            e.text = a->text;
            wr__mud_to_room(ctx, a->kind == WR_ACT_SAY ? WR_MUD_EV_SAY : WR_MUD_EV_EMOTE, &e);
        }
    }
    npc_schedule(m, n, ctx->now_ms, rng);
}

struct due {
    uint64_t at;
    uint8_t kind; /* enum due_kind */
    uint32_t id;  /* NPC instance, reaction id or spawner index */
};

static int due_cmp(const void *a, const void *b)
{
    const struct due *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Everything of @zone due at or before @now, unsorted, into *@out (caller
 * frees); with @min set, only the earliest time is wanted. */
static size_t collect_due(const struct wr_mud *m, uint32_t zone, uint64_t now,
                          struct due **out, uint64_t *min)
{
    size_t n = 0, cap = 0;
    struct due *v = NULL;
#define ADD(at_, kind_, id_)                                                 \
    do {                                                                     \
        if ((at_) <= now) {                                                  \
            if (min != NULL) {                                               \
                if ((at_) < *min)                                            \
                    *min = (at_);                                            \
            } else {                                                         \
                GROW(v, n, cap);                                             \
                v[n++] = (struct due){.at = (at_), .kind = (kind_), .id = (id_)}; \
            }                                                                \
        }                                                                    \
    } while (0)
    for (size_t i = 0; i < m->n_npcs; i++)
        if (wr__mud_room_zone(m, m->npcs[i].room) == zone && m->npcs[i].next_act_at != NEVER)
            ADD(m->npcs[i].next_act_at, DUE_NPC_TIMER, m->npcs[i].id);
    for (size_t i = 0; i < m->n_reacts; i++) {
        long ni = wr__mud_find_by_id(m->npcs, m->n_npcs, sizeof *m->npcs, m->reacts[i].npc_inst);
        if (ni >= 0 && wr__mud_room_zone(m, m->npcs[ni].room) == zone)
            ADD(m->reacts[i].due, DUE_REACTION, m->reacts[i].id);
    }
    for (size_t s = 0; s < m->model->n_npc_spawners; s++)
        if (m->npc_sp[s].inst == 0 && wr__mud_room_zone(m, m->model->npc_spawners[s].room) == zone)
            ADD(m->npc_sp[s].due, DUE_NPC_SPAWN, (uint32_t)s);
    for (size_t s = 0; s < m->model->n_item_spawners; s++)
        if (m->item_sp[s].inst == 0 &&
            wr__mud_room_zone(m, m->model->item_spawners[s].room) == zone)
            ADD(m->item_sp[s].due, DUE_ITEM_SPAWN, (uint32_t)s);
    for (size_t i = 0; i < m->n_chars; i++) {
        const struct wr_mud_char *c = &m->chars[i];
        if (!wr__mud_in_world(c) || wr__mud_room_zone(m, c->room) != zone)
            continue;
        if (c->f.next_round_at != NEVER)
            ADD(c->f.next_round_at, DUE_ROUND_CHAR, c->id);
        if (c->next_regen_at != NEVER)
            ADD(c->next_regen_at, DUE_REGEN_CHAR, c->id);
    }
    for (size_t i = 0; i < m->n_npcs; i++) {
        const struct wr_mud_npc_inst *ni = &m->npcs[i];
        if (wr__mud_room_zone(m, ni->room) != zone)
            continue;
        if (ni->f.next_round_at != NEVER)
            ADD(ni->f.next_round_at, DUE_ROUND_NPC, ni->id);
        if (ni->next_regen_at != NEVER)
            ADD(ni->next_regen_at, DUE_REGEN_NPC, ni->id);
    }
    for (size_t i = 0; i < m->n_items; i++) {
        const struct wr_mud_item_inst *it = &m->items[i];
        if (it->item == WR_MUD_CORPSE && it->loc == WR_MUD_IN_ROOM &&
            wr__mud_room_zone(m, it->where) == zone)
            ADD(it->decay_at, DUE_DECAY, it->id);
    }
#undef ADD
    if (out != NULL)
        *out = v;
    else
        free(v);
    return n;
}

static void run_reaction(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t id)
{
    long ri = wr__mud_find_by_id(m->reacts, m->n_reacts, sizeof *m->reacts, id);
    if (ri < 0)
        return;
    struct reaction re = m->reacts[ri];
    memmove(&m->reacts[ri], &m->reacts[ri + 1],
            (m->n_reacts - (size_t)ri - 1) * sizeof *m->reacts);
    m->n_reacts--;
    const struct wr_mud_npc_inst *n = wr__mud_npc_by_id(m, re.npc_inst);
    if (n != NULL) {
        struct wr_mud_event e = wr__mud_ev_npc(m, n);
        e.text = re.text;
        wr__mud_to_room(ctx, re.kind == WR_ACT_SAY ? WR_MUD_EV_SAY : WR_MUD_EV_EMOTE, &e);
    }
    free(re.text);
}

static void run_tick(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t zone)
{
    struct due *v = NULL;
    size_t n = collect_due(m, zone, ctx->now_ms, &v, NULL);
    if (n > 1)
        qsort(v, n, sizeof *v, due_cmp);
    for (size_t i = 0; i < n; i++) {
        uint64_t rng = ctx->seed ^ ((uint64_t)(i + 1) * 0xD6E8FEB86659FD93ull);
        wr_mix64(&rng);
        switch (v[i].kind) {
        case DUE_NPC_TIMER: {
            struct wr_mud_npc_inst *ni = wr__mud_npc_by_id(m, v[i].id);
            if (ni != NULL && ni->next_act_at <= ctx->now_ms)
                npc_act(m, ctx, ni, &rng);
            break;
        }
        case DUE_REACTION:
            run_reaction(m, ctx, v[i].id);
            break;
        case DUE_NPC_SPAWN:
            if (m->npc_sp[v[i].id].inst == 0)
                spawn_npc(m, ctx, v[i].id, &rng);
            break;
        case DUE_ITEM_SPAWN:
            if (m->item_sp[v[i].id].inst == 0)
                spawn_item(m, ctx, v[i].id);
            break;
        case DUE_ROUND_CHAR:
            wr__mud_fight_round(m, ctx, WR_MUD_ACTOR_CHAR, v[i].id);
            break;
        case DUE_ROUND_NPC:
            wr__mud_fight_round(m, ctx, WR_MUD_ACTOR_NPC, v[i].id);
            break;
        case DUE_REGEN_CHAR:
            wr__mud_regen(m, ctx, WR_MUD_ACTOR_CHAR, v[i].id);
            break;
        case DUE_REGEN_NPC:
            wr__mud_regen(m, ctx, WR_MUD_ACTOR_NPC, v[i].id);
            break;
        default:
            wr__mud_corpse_decay(m, ctx, v[i].id);
            break;
        }
    }
    free(v);
    wr__mud_check(m);
}

enum result wr__mud_apply_zone(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_reader *r)
{
    char key[256];
    if (wr_get_str(r, key, sizeof key) != 0)
        return R_MALFORMED;
    uint32_t node = cmd->type == WR_MUD_ZONE_PLACE ? wr_get_u32(r) : 0;
    uint64_t epoch = wr_get_u64(r);
    if (r->err)
        return R_MALFORMED;
    long z = m->model ? wr_mud_model_zone(m->model, key) : -1;
    if (z < 0)
        return R_KEEP;
    struct wr_mud_zone_state *zs = &m->zones[z];
    if (cmd->type == WR_MUD_ZONE_PLACE) {
        if (zs->epoch != epoch)
            return R_KEEP; /* placed by someone else since: compare-and-set failed */
        zs->owner = node;
        zs->epoch = epoch + 1;
        struct wr_mud_event e = {.room = WR_MUD_NO_ROOM, .dir = -1,
                                 .item = m->model->zones[z].key};
        wr__mud_emit(ctx, WR_MUD_EV_ZONE_OWNER, WR_AUD_ALL, 0, 0, (uint64_t)z, &e);
        return R_KEEP;
    }
    if (zs->owner == 0 || cmd->node != zs->owner || epoch != zs->epoch)
        return R_KEEP; /* a tick of a former owner: fenced off */
    if (zs->paused)
        return R_KEEP; /* an admin stopped its timers */
    run_tick(m, ctx, (uint32_t)z);
    return R_KEEP;
}

uint64_t wr_mud_zone_next_due(const struct wr_mud *m, uint32_t zone)
{
    if (m->model == NULL || zone >= m->model->n_zones)
        return NEVER;
    if (m->zones[zone].paused)
        return NEVER;
    uint64_t min = NEVER;
    collect_due(m, zone, NEVER - 1, NULL, &min);
    return min;
}
