/* The MUD's duties beyond its own clients: the leader's (world uploads,
 * zone placement and rebalancing, NODE_DOWN for silent nodes, EXPIRE for
 * link-dead characters) and every node's (ZONE_TICK for the zones it owns,
 * login timeouts, presence). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/raft_glue.h"
#include "common/alloc.h"
#include "common/log.h"
#include "mud/worldfile.h"
#include "mud_node/mud_node_internal.h"

struct zone_tick_state {
    uint64_t due;      /* the due time we proposed a tick for */
    uint64_t epoch;
    uint64_t sent_at;  /* uv_now */
};

/* ---- leader duties ------------------------------------------------------ */

static void find_world_dir(char *out_, size_t len)
{
    if (wr__mud_world_dir[0] != '\0')
        snprintf(out_, len, "%s", wr__mud_world_dir);
    else
        wr_node_find_dir("world", out_, len);
}

static void submit_once(struct mnode *n, uint8_t type, const struct wr_writer *p)
{
    struct wr_cmd cmd = {.module = WR_MODULE_MUD,
                         .type = type,
                         .len = (uint16_t)p->len,
                         .payload = p->base};
    wr_node_submit_once(n->wn, &cmd);
}

/* The leader proposes the world files when the replica has none. */
/* World uploads. A bundle becomes the world by WORLD_CHUNK commands; the
 * node that has one to upload (the leader reading the files when the
 * replica has no world yet, or any node given one by `warren ctl world
 * load`) keeps it in n->bundle and proposes its chunks again every 5 s
 * (they are idempotent: the module assembles by hash and offset) until its
 * replica runs that version, or the module refuses it. */
bool wr__mud_world_is(struct mnode *n, const uint8_t hash[16])
{
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(n));
    return m != NULL && memcmp(m->hash, hash, 16) == 0;
}

static void propose_upload(struct mnode *n)
{
    if (n->bundle == NULL)
        return;
    if (wr__mud_world_is(n, n->bundle_hash)) {
        free(n->bundle);
        n->bundle = NULL;
        return;
    }
    uint64_t now = uv_now(wr_node_loop(n->wn));
    if (n->last_world_push != 0 && now - n->last_world_push < 5000)
        return;
    n->last_world_push = now;
    struct wr_writer p;
    wr_writer_init(&p, WR_MUD_CHUNK_MAX + 64);
    for (size_t off = 0; off < n->bundle_len; off += WR_MUD_CHUNK_MAX) {
        size_t len =
            n->bundle_len - off < WR_MUD_CHUNK_MAX ? n->bundle_len - off : WR_MUD_CHUNK_MAX;
        p.len = 0;
        wr_mud_encode_chunk(&p, n->bundle_hash, (uint32_t)n->bundle_len, (uint32_t)off,
                            n->bundle + off, (uint16_t)len);
        submit_once(n, WR_MUD_WORLD_CHUNK, &p);
    }
    wr_writer_free(&p);
}

/* Make @bundle the upload in progress if it is a valid world. Returns 0, or
 * -1 with "FILE:LINE:COLUMN: ..." in @err; the running world is untouched
 * either way until the chunks apply. */
int wr__mud_start_upload(struct mnode *n, const uint8_t *bundle, size_t len, uint8_t hash[16],
                        char *err, size_t errlen)
{
    struct wr_mud_model *model = NULL;
    if (wr_mud_model_parse(bundle, len, &model, err, errlen) != 0)
        return -1;
    memcpy(hash, model->hash, 16);
    wr_mud_model_free(model);
    free(n->bundle);
    n->bundle = wr_malloc(len ? len : 1);
    memcpy(n->bundle, bundle, len);
    n->bundle_len = len;
    memcpy(n->bundle_hash, hash, 16);
    n->last_world_push = 0;
    propose_upload(n);
    return 0;
}

/* The leader of a cluster without a world reads it from the files. */
static void push_world(struct mnode *n)
{
    if (wr_mud_model(wr__mud_state(n)) != NULL || n->bundle != NULL)
        return;
    uint64_t now = uv_now(wr_node_loop(n->wn));
    if (n->last_world_read != 0 && now - n->last_world_read < 5000)
        return;
    n->last_world_read = now;
    char dir[1024], err[512];
    find_world_dir(dir, sizeof dir);
    struct wr_writer w;
    wr_writer_init(&w, 65536);
    uint8_t hash[16];
    if (wr_mud_bundle_read_dir(dir, &w, err, sizeof err) != 0)
        wr_error("mud: cannot read the world from %s: %s", dir, err);
    else if (wr__mud_start_upload(n, w.base, w.len, hash, err, sizeof err) != 0)
        wr_error("mud: the world in %s is not valid: %s", dir, err);
    else
        wr_info("mud: proposing the world from %s (%zu bytes)", dir, w.len);
    wr_writer_free(&w);
}

void wr__mud_leader_ready(void *g, uint64_t term)
{
    struct mnode *n = g;
    n->last_world_read = 0;
    push_world(n);
}

void wr__mud_zone_loads(struct mnode *n, struct zone_load *zl)
{
    const struct wr_mud *ms = wr__mud_state(n);
    const struct wr_mud_model *m = wr_mud_model(ms);
    for (size_t i = 0; i < m->n_zones; i++)
        memset(&zl[i], 0, sizeof zl[i]);
    for (size_t i = 0; i < m->n_rooms; i++)
        zl[m->rooms[i].zone].load++;
    for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
        const struct wr_mud_npc_inst *np = wr_mud_npc_at(ms, i);
        if (np->room < m->n_rooms) {
            zl[m->rooms[np->room].zone].load += 2;
            zl[m->rooms[np->room].zone].npcs++;
        }
    }
    for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
        const struct wr_mud_char *ch = wr_mud_char_at(ms, i);
        if (ch->state != WR_MUD_OFFLINE && ch->room < m->n_rooms) {
            zl[m->rooms[ch->room].zone].load += 4;
            zl[m->rooms[ch->room].zone].players++;
        }
    }
}

static void place_zones(struct mnode *n)
{
    const struct wr_mud *ms = wr__mud_state(n);
    const struct wr_mud_model *m = wr_mud_model(ms);
    if (m == NULL || m->n_zones == 0)
        return;
    /* The members (voters) now: a node that joined takes its share, a
     * removed, silent or draining one hands its zones over (a draining
     * one keeps them only if no other node is left to take them). */
    size_t n_ids;
    uint64_t *live = wr_node_members(n->wn, &n_ids);
    size_t n_live = 0, n_draining = 0;
    for (size_t i = 0; i < n_ids; i++)
        if (wr_node_peer_silent_ms(n->wn, live[i]) < wr_node_down_after_ms(n->wn)) {
            n_draining += wr_node_draining(n->wn, (uint32_t)live[i]);
            live[n_live++] = live[i];
        }
    if (n_draining > 0 && n_draining < n_live) {
        size_t k = 0;
        for (size_t i = 0; i < n_live; i++)
            if (!wr_node_draining(n->wn, (uint32_t)live[i]))
                live[k++] = live[i];
        n_live = k;
    }
    if (n_live == 0) {
        free(live);
        return;
    }
    struct zone_load *zl = wr_malloc(m->n_zones * sizeof *zl);
    wr__mud_zone_loads(n, zl);
    uint64_t *node_load = wr_calloc(n_live, sizeof *node_load);
    for (size_t z = 0; z < m->n_zones; z++) {
        uint32_t owner = wr_mud_zone_state(ms, (uint32_t)z)->owner;
        for (size_t k = 0; k < n_live; k++)
            if (live[k] == owner)
                node_load[k] += zl[z].load;
    }
    struct wr_writer p;
    wr_writer_init(&p, 64);
    /* Unowned zones and zones of dead owners: to the least loaded. In
     * index order, so the result does not depend on anything but state. */
    for (size_t z = 0; z < m->n_zones; z++) {
        const struct wr_mud_zone_state *zs = wr_mud_zone_state(ms, (uint32_t)z);
        bool alive = false;
        for (size_t k = 0; k < n_live; k++)
            alive |= live[k] == zs->owner;
        if (alive)
            continue;
        size_t best = 0;
        for (size_t k = 1; k < n_live; k++)
            if (node_load[k] < node_load[best])
                best = k;
        node_load[best] += zl[z].load;
        p.len = 0;
        wr_mud_encode_zone_place(&p, m->zones[z].key, (uint32_t)live[best], zs->epoch);
        submit_once(n, WR_MUD_ZONE_PLACE, &p);
    }
    /* Rebalance one zone at most every 2 s, with hysteresis. */
    uint64_t now = uv_now(wr_node_loop(n->wn));
    if (n_live >= 2 && now - n->last_rebalance >= 2000) {
        size_t hi = 0, lo = 0;
        for (size_t k = 1; k < n_live; k++) {
            if (node_load[k] > node_load[hi])
                hi = k;
            if (node_load[k] < node_load[lo])
                lo = k;
        }
        if (node_load[hi] * 2 > node_load[lo] * 3 + 20) {
            /* the zone of hi whose move narrows the gap most */
            uint64_t gap = node_load[hi] - node_load[lo];
            size_t pick = SIZE_MAX;
            uint64_t best_gap = gap;
            for (size_t z = 0; z < m->n_zones; z++) {
                const struct wr_mud_zone_state *zs = wr_mud_zone_state(ms, (uint32_t)z);
                if (zs->owner != live[hi] || zl[z].load == 0 || zl[z].load >= gap)
                    continue;
                uint64_t ng = gap - zl[z].load > zl[z].load ? gap - 2 * zl[z].load
                                                            : 2 * zl[z].load - gap;
                if (ng < best_gap) {
                    best_gap = ng;
                    pick = z;
                }
            }
            if (pick != SIZE_MAX) {
                n->last_rebalance = now;
                const struct wr_mud_zone_state *zs = wr_mud_zone_state(ms, (uint32_t)pick);
                wr_info("mud: moving zone %s from node %llu to %llu (loads %llu/%llu)",
                        m->zones[pick].key, (unsigned long long)live[hi],
                        (unsigned long long)live[lo], (unsigned long long)node_load[hi],
                        (unsigned long long)node_load[lo]);
                p.len = 0;
                wr_mud_encode_zone_place(&p, m->zones[pick].key, (uint32_t)live[lo], zs->epoch);
                submit_once(n, WR_MUD_ZONE_PLACE, &p);
            }
        }
    }
    wr_writer_free(&p);
    free(zl);
    free(node_load);
    free(live);
}

void wr__mud_leader_tick(void *g)
{
    struct mnode *n = g;
    const struct wr_mud *ms = wr__mud_state(n);
    if (wr_mud_model(ms) == NULL) {
        push_world(n);
        return;
    }
    place_zones(n);
    struct wr_writer p;
    wr_writer_init(&p, 32);
    /* Nodes not heard from, or removed: their characters go link-dead.
     * Each node with online characters, once. */
    for (size_t k = 0; k < wr_mud_char_count(ms); k++) {
        const struct wr_mud_char *ch = wr_mud_char_at(ms, k);
        if (ch->state != WR_MUD_ONLINE)
            continue;
        bool seen_before = false;
        for (size_t j = 0; j < k && !seen_before; j++) {
            const struct wr_mud_char *o = wr_mud_char_at(ms, j);
            seen_before = o->state == WR_MUD_ONLINE && o->node == ch->node;
        }
        if (seen_before ||
            wr_node_peer_silent_ms(n->wn, ch->node) < wr_node_down_after_ms(n->wn))
            continue;
        p.len = 0;
        wr_mud_encode_u32(&p, (uint32_t)ch->node);
        submit_once(n, WR_MUD_NODE_DOWN, &p);
    }
    uint64_t now = uv_now(wr_node_loop(n->wn));
    if (now - n->last_expiry_round >= 1000) {
        n->last_expiry_round = now;
        uint64_t wall = wr_node_wall_ms();
        for (size_t k = 0; k < wr_mud_char_count(ms); k++) {
            const struct wr_mud_char *ch = wr_mud_char_at(ms, k);
            if (ch->state != WR_MUD_LINKDEAD ||
                ch->linkdead_since + (uint64_t)wr_node_grace_ms(n->wn) > wall)
                continue;
            p.len = 0;
            wr_mud_encode_expire(&p, ch->id, ch->linkdead_since);
            submit_once(n, WR_MUD_EXPIRE, &p);
        }
    }
    wr_writer_free(&p);
}

/* ---- every node: zone ticks, presence, login timeouts ---------------------- */

static void zone_ticks(struct mnode *n)
{
    const struct wr_mud *ms = wr__mud_state(n);
    const struct wr_mud_model *m = wr_mud_model(ms);
    if (m == NULL)
        return;
    if (n->zt_model != m || n->n_zt != m->n_zones) {
        free(n->zt);
        n->zt = wr_calloc(m->n_zones ? m->n_zones : 1, sizeof *n->zt);
        n->n_zt = m->n_zones;
        n->zt_model = m;
    }
    uint32_t me = wr_node_id(n->wn);
    uint64_t wall = wr_node_wall_ms(), now = uv_now(wr_node_loop(n->wn));
    struct wr_writer p;
    wr_writer_init(&p, 64);
    for (size_t z = 0; z < m->n_zones; z++) {
        const struct wr_mud_zone_state *zs = wr_mud_zone_state(ms, (uint32_t)z);
        if (zs->owner != me)
            continue;
        uint64_t due = wr_mud_zone_next_due(ms, (uint32_t)z);
        if (due == UINT64_MAX || due > wall)
            continue;
        struct zone_tick_state *t = &n->zt[z];
        /* one in flight per zone: again only if it did not land within 1 s */
        if (t->due == due && t->epoch == zs->epoch && now - t->sent_at < 1000)
            continue;
        t->due = due;
        t->epoch = zs->epoch;
        t->sent_at = now;
        p.len = 0;
        wr_mud_encode_zone_tick(&p, m->zones[z].key, zs->epoch);
        submit_once(n, WR_MUD_ZONE_TICK, &p);
        n->zone_ticks++;
    }
    wr_writer_free(&p);
}

void wr__mud_tick(void *g)
{
    struct mnode *n = g;
    propose_upload(n);
    /* The pointer to the model a zt array was built for may be reused by a
     * new model; comparing counts too keeps the array in range. */
    zone_ticks(n);
    uint64_t now = uv_now(wr_node_loop(n->wn));
    uint32_t it = 0;
    for (struct client *c; (c = wr_client_table_next(&n->clients, &it)) != NULL;) {
        if (c->state == S_PLAYING || c->state == S_CLOSING || c->state == S_ENTERING)
            continue;
        if (now - c->opened_at >= (uint64_t)wr__mud_login_timeout) {
            if (c->hidden)
                wr__mud_hide_input(c, false);
            wr__mud_out(c, "\nLogin timed out.\n");
            if (c->state == S_CONFIRM_PASSWORD)
                wr__mud_wipe_pw(c);
            c->job_pending = false;
            wr__mud_close_client(c, 1000, "login timed out");
        }
    }
    if (!wr_node_presence_due(n->wn, now, &n->last_presence_round))
        return;
    it = 0;
    for (struct client *c; (c = wr_client_table_next(&n->clients, &it)) != NULL;) {
        if (c->state != S_PLAYING)
            continue;
        const struct wr_mud_char *ch = wr__mud_my_char(c);
        if (ch != NULL && ch->state == WR_MUD_LINKDEAD && ch->session == c->session)
            wr__mud_submit(c, WR_MUD_PRESENT, NULL);
    }
}
