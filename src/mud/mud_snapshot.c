/* The MUD module's snapshot and restore: the whole state, field by field,
 * in a fixed order (section format below). Restore re-parses the world
 * bundle and checks every index and id against it, so a bad snapshot is
 * refused, never trusted. */
#include <stdlib.h>
#include <string.h>

#include "mud/mud_internal.h"
#include "mud/worldfile.h"

#define SNAPSHOT_VERSION 2

/* A u16-length string, NUL-free, as a new allocation; NULL if malformed. */
static char *get_text_dup(struct wr_reader *r)
{
    uint16_t n = wr_get_u16(r);
    const uint8_t *p = wr_get_bytes(r, n);
    if (p == NULL || memchr(p, '\0', n) != NULL)
        return NULL;
    char *s = wr_malloc((size_t)n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Section format, version 2 (all little endian); version 1 is the same
 * without the gameplay areas' sections at the end:
 *   u32 bundle_len | bundle | u32 n_chars | char* | u32 next_npc_id
 *   | u32 next_item_id | u32 next_react_id
 *   then, when a world is loaded (bundle_len > 0):
 *   door u8 per (room, dir) that has a door, in room then dir order
 *   | (u32 owner | u64 epoch) per zone | (u32 inst | u64 due) per item
 *   spawner, then per NPC spawner | per channel: u32 count | (str who |
 *   text)* oldest first | u32 n | npc* | u32 n | item* | u32 n | reaction*
 *   and last the upload: u32 total | (hash[16] | u32 got | bytes[got]) if
 *   total > 0. Every list is in id order. Then the areas' sections:
 *   fight, progress, items, quest, build (their files describe them). */
void wr__mud_snapshot(void *state, struct wr_writer *w)
{
    struct wr_mud *m = state;
    const struct wr_mud_model *mo = m->model;
    wr_put_u32(w, (uint32_t)m->bundle_len);
    wr_put_bytes(w, m->bundle, m->bundle_len);
    wr_put_u32(w, (uint32_t)m->n_chars);
    for (size_t i = 0; i < m->n_chars; i++) {
        const struct wr_mud_char *c = &m->chars[i];
        wr_put_u32(w, c->id);
        wr_put_str(w, c->name);
        wr_put_str(w, c->pw_hash);
        wr_put_bytes(w, c->token_hash, 16);
        wr_put_u8(w, (uint8_t)c->state);
        wr_put_u32(w, c->room);
        wr_put_u32(w, c->node);
        wr_put_u64(w, c->session);
        wr_put_u64(w, c->incarnation);
        wr_put_u64(w, c->linkdead_since);
        wr_put_u32(w, c->channels_off);
        wr_put_u32(w, c->reply_to);
        wr_put_u64(w, c->created_at);
        wr_put_u64(w, c->last_login_at);
    }
    wr_put_u32(w, m->next_npc_id);
    wr_put_u32(w, m->next_item_id);
    wr_put_u32(w, m->next_react_id);
    if (mo != NULL) {
        for (size_t r = 0; r < mo->n_rooms; r++)
            for (int d = 0; d < WR_MUD_NDIRS; d++)
                if (mo->rooms[r].exits[d].door)
                    wr_put_u8(w, m->doors[r * WR_MUD_NDIRS + (size_t)d]);
        for (size_t z = 0; z < mo->n_zones; z++) {
            wr_put_u32(w, m->zones[z].owner);
            wr_put_u64(w, m->zones[z].epoch);
        }
        for (size_t s = 0; s < mo->n_item_spawners; s++) {
            wr_put_u32(w, m->item_sp[s].inst);
            wr_put_u64(w, m->item_sp[s].due);
        }
        for (size_t s = 0; s < mo->n_npc_spawners; s++) {
            wr_put_u32(w, m->npc_sp[s].inst);
            wr_put_u64(w, m->npc_sp[s].due);
        }
        for (size_t ch = 0; ch < mo->n_channels; ch++) {
            const struct chan_ring *ring = &m->chans[ch];
            wr_put_u32(w, ring->count);
            for (uint32_t i = 0; i < ring->count; i++) {
                wr_put_str(w, wr__mud_ring_at(ring, i)->who);
                wr__mud_put_text(w, wr__mud_ring_at(ring, i)->text);
            }
        }
        wr_put_u32(w, (uint32_t)m->n_npcs);
        for (size_t i = 0; i < m->n_npcs; i++) {
            const struct wr_mud_npc_inst *n = &m->npcs[i];
            wr_put_u32(w, n->id);
            wr_put_u32(w, n->npc);
            wr_put_u32(w, n->spawner);
            wr_put_u32(w, n->room);
            wr_put_u64(w, n->next_act_at);
            wr_put_u32(w, n->timer);
        }
        wr_put_u32(w, (uint32_t)m->n_items);
        for (size_t i = 0; i < m->n_items; i++) {
            const struct wr_mud_item_inst *it = &m->items[i];
            wr_put_u32(w, it->id);
            wr_put_u32(w, it->item);
            wr_put_u8(w, it->loc);
            wr_put_u32(w, it->where);
            wr_put_u32(w, it->spawner);
        }
        wr_put_u32(w, (uint32_t)m->n_reacts);
        for (size_t i = 0; i < m->n_reacts; i++) {
            const struct reaction *re = &m->reacts[i];
            wr_put_u32(w, re->id);
            wr_put_u32(w, re->npc_inst);
            wr_put_u64(w, re->due);
            wr_put_u8(w, re->kind);
            wr__mud_put_text(w, re->text);
        }
    }
    wr_put_u32(w, m->up_total);
    if (m->up_total > 0) {
        wr_put_bytes(w, m->up_hash, 16);
        wr_put_u32(w, m->up_got);
        wr_put_bytes(w, m->up_buf, m->up_got);
    }
    /* Version 2: the gameplay areas' sections, in this order. */
    wr__mud_snap_fight(m, w);
    wr__mud_snap_progress(m, w);
    wr__mud_snap_items(m, w);
    wr__mud_snap_quest(m, w);
    wr__mud_snap_build(m, w);
}

static int restore_world(struct wr_mud *m, struct wr_reader *r)
{
    const struct wr_mud_model *mo = m->model;
    m->doors = wr_calloc(mo->n_rooms * WR_MUD_NDIRS + 1, 1);
    m->zones = wr_calloc(mo->n_zones + 1, sizeof *m->zones);
    m->item_sp = wr_calloc(mo->n_item_spawners + 1, sizeof *m->item_sp);
    m->npc_sp = wr_calloc(mo->n_npc_spawners + 1, sizeof *m->npc_sp);
    m->chans = wr_calloc(mo->n_channels + 1, sizeof *m->chans);
    for (size_t ch = 0; ch < mo->n_channels; ch++)
        wr__mud_ring_init(&m->chans[ch], mo->channels[ch].history);
    for (size_t rm = 0; rm < mo->n_rooms; rm++)
        for (int d = 0; d < WR_MUD_NDIRS; d++)
            if (mo->rooms[rm].exits[d].door)
                m->doors[rm * WR_MUD_NDIRS + (size_t)d] = wr_get_u8(r) != 0;
    for (size_t z = 0; z < mo->n_zones; z++) {
        m->zones[z].owner = wr_get_u32(r);
        m->zones[z].epoch = wr_get_u64(r);
    }
    for (size_t s = 0; s < mo->n_item_spawners; s++) {
        m->item_sp[s].inst = wr_get_u32(r);
        m->item_sp[s].due = wr_get_u64(r);
    }
    for (size_t s = 0; s < mo->n_npc_spawners; s++) {
        m->npc_sp[s].inst = wr_get_u32(r);
        m->npc_sp[s].due = wr_get_u64(r);
    }
    for (size_t ch = 0; ch < mo->n_channels; ch++) {
        uint32_t count = wr_get_u32(r);
        if (r->err || count > m->chans[ch].cap)
            return -1;
        for (uint32_t i = 0; i < count; i++) {
            char who[WR_MUD_NAME_MAX + 1];
            if (wr_get_str(r, who, sizeof who) != 0)
                return -1;
            char *text = get_text_dup(r);
            if (text == NULL)
                return -1;
            wr__mud_ring_push(&m->chans[ch], who, text);
            free(text);
        }
    }
    uint32_t n = wr_get_u32(r);
    if (r->err || n > r->left / 24)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        GROW(m->npcs, m->n_npcs, m->cap_npcs);
        struct wr_mud_npc_inst *ni = &m->npcs[m->n_npcs];
        memset(ni, 0, sizeof *ni);
        ni->id = wr_get_u32(r);
        ni->npc = wr_get_u32(r);
        ni->spawner = wr_get_u32(r);
        ni->room = wr_get_u32(r);
        ni->next_act_at = wr_get_u64(r);
        ni->timer = wr_get_u32(r);
        if (r->err || ni->id == 0 || ni->id >= m->next_npc_id || ni->npc >= mo->n_npcs ||
            ni->spawner >= mo->n_npc_spawners || ni->room >= mo->n_rooms ||
            (m->n_npcs > 0 && ni->id <= m->npcs[m->n_npcs - 1].id))
            return -1;
        m->n_npcs++;
    }
    n = wr_get_u32(r);
    if (r->err || n > r->left / 17)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        GROW(m->items, m->n_items, m->cap_items);
        struct wr_mud_item_inst *it = &m->items[m->n_items];
        memset(it, 0, sizeof *it);
        it->id = wr_get_u32(r);
        it->item = wr_get_u32(r);
        it->loc = wr_get_u8(r);
        it->where = wr_get_u32(r);
        it->spawner = wr_get_u32(r);
        /* A corpse's fields and what WORN and IN_CORPSE point to are
         * checked by the items section (wr__mud_restore_items). */
        if (r->err || it->id == 0 || it->id >= m->next_item_id ||
            (it->item >= mo->n_items && it->item != WR_MUD_CORPSE) ||
            it->loc > WR_MUD_IN_CORPSE || (it->loc == WR_MUD_IN_ROOM && it->where >= mo->n_rooms) ||
            ((it->loc == WR_MUD_CARRIED || it->loc == WR_MUD_WORN) &&
             wr__mud_char_by_id(m, it->where) == NULL) ||
            (it->spawner != NONE && it->spawner >= mo->n_item_spawners) ||
            (m->n_items > 0 && it->id <= m->items[m->n_items - 1].id))
            return -1;
        m->n_items++;
    }
    n = wr_get_u32(r);
    if (r->err || n > r->left / 19)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        GROW(m->reacts, m->n_reacts, m->cap_reacts);
        struct reaction *re = &m->reacts[m->n_reacts];
        re->id = wr_get_u32(r);
        re->npc_inst = wr_get_u32(r);
        re->due = wr_get_u64(r);
        re->kind = wr_get_u8(r);
        re->text = get_text_dup(r);
        if (re->text == NULL)
            return -1;
        m->n_reacts++;
        if (r->err || re->id == 0 || re->id >= m->next_react_id ||
            (re->kind != WR_ACT_SAY && re->kind != WR_ACT_EMOTE) ||
            wr__mud_npc_by_id(m, re->npc_inst) == NULL ||
            (m->n_reacts > 1 && re->id <= m->reacts[m->n_reacts - 2].id))
            return -1;
    }
    /* Spawner states must agree with the instances they name. */
    for (size_t s = 0; s < mo->n_npc_spawners; s++) {
        const struct spawn_state *st = &m->npc_sp[s];
        const struct wr_mud_npc_inst *ni = st->inst ? wr__mud_npc_by_id(m, st->inst) : NULL;
        if ((st->inst != 0 && (ni == NULL || ni->spawner != s || st->due != NEVER)))
            return -1;
    }
    for (size_t s = 0; s < mo->n_item_spawners; s++) {
        const struct spawn_state *st = &m->item_sp[s];
        long ii =
            st->inst ? wr__mud_find_by_id(m->items, m->n_items, sizeof *m->items, st->inst) : -1;
        if (st->inst != 0 && (ii < 0 || m->items[ii].spawner != s || st->due != NEVER))
            return -1;
    }
    return r->err ? -1 : 0;
}

int wr__mud_restore(void *state, struct wr_reader *r, uint8_t version)
{
    struct wr_mud *m = state;
    wr__mud_clear(m);
    if (version > SNAPSHOT_VERSION)
        return -1;
    uint32_t blen = wr_get_u32(r);
    const uint8_t *bundle = wr_get_bytes(r, blen);
    if (r->err || blen > WR_MUD_BUNDLE_MAX)
        goto malformed;
    if (blen > 0) {
        char err[256];
        if (wr_mud_model_parse(bundle, blen, &m->model, err, sizeof err) != 0) {
            m->model = NULL;
            goto malformed;
        }
        m->bundle = wr_malloc(blen);
        memcpy(m->bundle, bundle, blen);
        m->bundle_len = blen;
    }
    uint32_t n = wr_get_u32(r);
    if (r->err || n > r->left / 79) /* the smallest encoded character */
        goto malformed;
    for (uint32_t i = 0; i < n; i++) {
        GROW(m->chars, m->n_chars, m->cap_chars);
        struct wr_mud_char *c = &m->chars[m->n_chars];
        memset(c, 0, sizeof *c);
        c->id = wr_get_u32(r);
        if (wr_get_str(r, c->name, sizeof c->name) != 0 ||
            wr_get_str(r, c->pw_hash, sizeof c->pw_hash) != 0)
            goto malformed;
        const uint8_t *tok = wr_get_bytes(r, 16);
        if (tok != NULL)
            memcpy(c->token_hash, tok, 16);
        uint8_t st = wr_get_u8(r);
        c->state = (enum wr_mud_char_state)st;
        c->room = wr_get_u32(r);
        c->node = wr_get_u32(r);
        c->session = wr_get_u64(r);
        c->incarnation = wr_get_u64(r);
        c->linkdead_since = wr_get_u64(r);
        c->channels_off = wr_get_u32(r);
        c->reply_to = wr_get_u32(r);
        c->created_at = wr_get_u64(r);
        c->last_login_at = wr_get_u64(r);
        if (r->err || c->id != i + 1 || st > WR_MUD_LINKDEAD || m->model == NULL ||
            c->room >= m->model->n_rooms || !wr_mud_name_ok(c->name, strlen(c->name)) ||
            wr__mud_char_by_name(m, c->name) != NULL || c->reply_to > n ||
            (st == WR_MUD_OFFLINE) != (c->session == 0) ||
            (c->session != 0 && wr__mud_char_by_session(m, c->session) != NULL))
            goto malformed;
        m->n_chars++;
        if (c->session != 0)
            wr_u64map_put(&m->by_session, c->session, i);
    }
    m->next_npc_id = wr_get_u32(r);
    m->next_item_id = wr_get_u32(r);
    m->next_react_id = wr_get_u32(r);
    if (r->err || m->next_npc_id == 0 || m->next_item_id == 0 || m->next_react_id == 0)
        goto malformed;
    if (m->model != NULL && restore_world(m, r) != 0)
        goto malformed;
    uint32_t total = wr_get_u32(r);
    if (total > 0) {
        const uint8_t *h = wr_get_bytes(r, 16);
        uint32_t got = wr_get_u32(r);
        const uint8_t *bytes = wr_get_bytes(r, got);
        if (r->err || total > WR_MUD_BUNDLE_MAX || got >= total)
            goto malformed;
        memcpy(m->up_hash, h, 16);
        m->up_total = total;
        m->up_got = got;
        m->up_buf = wr_malloc(total);
        memcpy(m->up_buf, bytes, got);
    }
    if (r->err)
        goto malformed;
    /* A version 1 snapshot has no gameplay sections: defaults (NULL). */
    struct wr_reader *ar = version >= 2 ? r : NULL;
    if (wr__mud_restore_fight(m, ar) != 0 || wr__mud_restore_progress(m, ar) != 0 ||
        wr__mud_restore_items(m, ar) != 0 || wr__mud_restore_quest(m, ar) != 0 ||
        wr__mud_restore_build(m, ar) != 0 || r->err)
        goto malformed;
    wr__mud_world_hash(m);
    wr__mud_check(m);
    return 0;

malformed:
    wr__mud_clear(m);
    return -1;
}
