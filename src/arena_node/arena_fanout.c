/* Delivery of player changes to this node's arena clients
 * (docs/protocol.md, "Updates").
 *
 * Two paths, because a client wants its own moves at once and everyone
 * else's cheaply:
 *   - its own acknowledgement: when a client's move applies here, the
 *     flush after that loop iteration's applies sends it its own player
 *     (one small frame per client, with the seq it waits for);
 *   - everything else is coalesced: changed players and players that left
 *     accumulate until the next broadcast, at most one per period
 *     (--broadcast-hz), which encodes them once per encoding (JSON,
 *     binary) and queues the same bytes on every joined client; net/
 *     writes each client's queue with one writev per loop iteration.
 * The broadcast timer is one-shot and armed only while a change waits, so
 * an idle node does not wake at the broadcast rate; after a quiet period
 * the first change goes out at once.
 *
 * With --broadcast-phases K > 1 the joined clients are dealt into K groups
 * (in the order they join) and each group has its own change set; the
 * timer fires K times a period, each time for the next group. Every client
 * still gets one frame per period, but a node writes to a K-th of its
 * clients at a time, so a move that arrives during a broadcast waits for
 * fewer writes. Measured at 1000 clients (bench/README.md): own-move p99
 * 22.5 -> 13.9 ms and others' p99 65.8 -> 55.2 ms with K = 4, for about
 * 10 % more node CPU per move; the default is 1.
 *
 * A broadcast carries each changed player's state at the time of the
 * broadcast (never older than an ack the client already had), and a player
 * that left is dropped from the changes, so the order of its moves and its
 * leaving cannot be mixed up across frames. A client welcomed in this
 * iteration gets the list of every player in this iteration's flush
 * (encoded once per encoding for all of them) and nothing from a
 * broadcast before it: that list is the first update after its welcome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/arena_wire.h"
#include "arena_node/arena_node_internal.h"
#include "common/alloc.h"

const struct wr_arena *wr__arena_state(struct anode *n)
{
    return wr_world_module(n->world, WR_MODULE_ARENA);
}

static void changes_dirty(struct wr_arena_changes *ch, uint32_t id, bool full)
{
    uint32_t was;
    if (wr_u64map_get(&ch->set, id, &was)) {
        if (full && was != 2)
            wr_u64map_put(&ch->set, id, 2);
        return;
    }
    wr_u64map_put(&ch->set, id, full ? 2 : 1);
    if (ch->n_dirty == ch->cap_dirty) {
        ch->cap_dirty = ch->cap_dirty ? ch->cap_dirty * 2 : 256;
        ch->dirty = wr_realloc(ch->dirty, ch->cap_dirty * sizeof *ch->dirty);
    }
    ch->dirty[ch->n_dirty++] = id;
}

void wr__arena_mark_dirty(struct anode *n, uint32_t id, bool full)
{
    for (unsigned g = 0; g < n->phases; g++)
        changes_dirty(&n->ch[g], id, full);
}

void wr__arena_mark_left(struct anode *n, uint32_t id)
{
    for (unsigned g = 0; g < n->phases; g++) {
        struct wr_arena_changes *ch = &n->ch[g];
        if (ch->n_left == ch->cap_left) {
            ch->cap_left = ch->cap_left ? ch->cap_left * 2 : 64;
            ch->left = wr_realloc(ch->left, ch->cap_left * sizeof *ch->left);
        }
        ch->left[ch->n_left++] = id;
    }
}

void wr__arena_mark_ack(struct anode *n, struct client *c)
{
    if (c->ack_round == n->round)
        return; /* already owed one this iteration: it will carry the latest */
    c->ack_round = n->round;
    if (n->n_acks == n->cap_acks) {
        n->cap_acks = n->cap_acks ? n->cap_acks * 2 : 64;
        n->acks = wr_realloc(n->acks, n->cap_acks * sizeof *n->acks);
    }
    n->acks[n->n_acks++] = c->session;
}

/* ---- encodings ---------------------------------------------------------- */

/* Append one player as JSON, by hand: every field is a number or a name
 * restricted to [A-Za-z0-9_-], so there is nothing to escape. */
static void put_player(struct wr_writer *w, const struct wr_arena_player *p, bool first,
                       bool full)
{
    char item[192];
    int len;
    if (full)
        len = snprintf(item, sizeof item,
                       "%s{\"id\":%u,\"name\":\"%s\",\"x\":%u,\"y\":%u,\"seq\":%u,"
                       "\"node\":%u,\"connected\":%s}",
                       first ? "" : ",", p->id, p->name, p->x, p->y, p->seq, p->node,
                       p->connected ? "true" : "false");
    else
        len = snprintf(item, sizeof item, "%s{\"id\":%u,\"x\":%u,\"y\":%u,\"seq\":%u}",
                       first ? "" : ",", p->id, p->x, p->y, p->seq);
    wr_put_bytes(w, item, (size_t)len);
}

static const char UPDATE_HEAD[] = "{\"t\":\"update\",\"players\":[";

/* The full list of every player. */
static struct wr_msg *encode_full(struct anode *n, bool binary)
{
    const struct wr_arena *a = wr__arena_state(n);
    const struct wr_arena_player *all = wr_arena_players(a);
    size_t count = wr_arena_count(a);
    struct wr_writer w;
    struct wr_msg *m;
    n->frames_broadcast++;
    if (binary) {
        struct wr_awire_enc e;
        wr_awire_enc_init(&e);
        for (size_t i = 0; i < count; i++)
            wr_awire_put_full(&e, &all[i]);
        wr_writer_init(&w, WR_AWIRE_HEAD + e.full.len);
        wr_awire_finish(&e, WR_AWIRE_FULL, &w);
        wr_awire_enc_free(&e);
        m = wr_msg_new_binary(w.base, w.len);
    } else {
        wr_writer_init(&w, 64 + count * 96);
        wr_put_bytes(&w, UPDATE_HEAD, sizeof UPDATE_HEAD - 1);
        for (size_t i = 0; i < count; i++)
            put_player(&w, &all[i], i == 0, true);
        wr_put_bytes(&w, "]}", 2);
        m = wr_msg_new((const char *)w.base, w.len);
    }
    wr_writer_free(&w);
    return m;
}

/* The changes since the phase's last broadcast as one JSON update (NULL
 * if no changed player is still there). */
static struct wr_msg *encode_changes_json(struct anode *n, const struct wr_arena_changes *ch)
{
    const struct wr_arena *a = wr__arena_state(n);
    struct wr_writer w;
    wr_writer_init(&w, 64 + ch->n_dirty * 48);
    wr_put_bytes(&w, UPDATE_HEAD, sizeof UPDATE_HEAD - 1);
    bool first = true;
    for (size_t i = 0; i < ch->n_dirty; i++) {
        const struct wr_arena_player *p = wr_arena_by_id(a, ch->dirty[i]);
        uint32_t kind = 1;
        if (p == NULL)
            continue; /* it left: the left message says so */
        wr_u64map_get(&ch->set, p->id, &kind);
        put_player(&w, p, first, kind == 2);
        first = false;
    }
    wr_put_bytes(&w, "]}", 2);
    struct wr_msg *m = first ? NULL : wr_msg_new((const char *)w.base, w.len);
    wr_writer_free(&w);
    n->frames_broadcast += m != NULL;
    return m;
}

/* The changes and the players that left as one binary update (NULL if
 * there is nothing). */
static struct wr_msg *encode_changes_binary(struct anode *n, const struct wr_arena_changes *ch)
{
    const struct wr_arena *a = wr__arena_state(n);
    struct wr_awire_enc e;
    wr_awire_enc_init(&e);
    for (size_t i = 0; i < ch->n_left; i++)
        wr_awire_put_left(&e, ch->left[i]);
    for (size_t i = 0; i < ch->n_dirty; i++) {
        const struct wr_arena_player *p = wr_arena_by_id(a, ch->dirty[i]);
        uint32_t kind = 1;
        if (p == NULL)
            continue;
        wr_u64map_get(&ch->set, p->id, &kind);
        if (kind == 2)
            wr_awire_put_full(&e, p);
        else
            wr_awire_put_moved(&e, p);
    }
    struct wr_msg *m = NULL;
    if (e.n_left + e.n_full + e.n_moved > 0) {
        struct wr_writer w;
        wr_writer_init(&w, WR_AWIRE_HEAD + e.left.len + e.full.len + e.moved.len);
        wr_awire_finish(&e, 0, &w);
        m = wr_msg_new_binary(w.base, w.len);
        wr_writer_free(&w);
        n->frames_broadcast++;
    }
    wr_awire_enc_free(&e);
    return m;
}

/* ---- the per-iteration flush ------------------------------------------- */

/* Every player, for the clients welcomed in this iteration. */
static void deliver_full(struct anode *n)
{
    struct wr_msg *json = NULL, *bin = NULL;
    uint32_t it = 0;
    for (struct client *c; n->n_needs_full > 0 && (c = wr_client_table_next_bound(&n->clients, &it));) {
        if (!c->needs_full)
            continue;
        c->needs_full = false;
        n->n_needs_full--;
        struct wr_msg **m = c->binary ? &bin : &json;
        if (*m == NULL)
            *m = encode_full(n, c->binary);
        wr_conn_send_msg(c->conn, *m);
    }
    n->n_needs_full = 0;
    wr_msg_unref(json);
    wr_msg_unref(bin);
}

/* Each client whose move applied in this iteration: its own player, now. */
static void send_acks(struct anode *n)
{
    const struct wr_arena *a = wr__arena_state(n);
    for (size_t i = 0; i < n->n_acks; i++) {
        struct client *c = wr_client_table_by_session(&n->clients, n->acks[i]);
        if (c == NULL || c->state != C_JOINED)
            continue;
        const struct wr_arena_player *p = wr_arena_by_id(a, c->player_id);
        if (p == NULL)
            continue;
        if (c->binary) {
            uint8_t frame[WR_AWIRE_ACK_BYTES];
            wr_awire_ack(frame, p);
            wr_conn_send_binary(c->conn, frame, sizeof frame);
        } else {
            char text[128];
            int len = snprintf(text, sizeof text,
                               "{\"t\":\"update\",\"players\":[{\"id\":%u,\"x\":%u,\"y\":%u,"
                               "\"seq\":%u}]}",
                               p->id, p->x, p->y, p->seq);
            wr_conn_send(c->conn, text, (size_t)len);
        }
        n->acks_sent++;
    }
    n->n_acks = 0;
    if (++n->round == 0)
        n->round = 1;
}

static bool changes_empty(const struct wr_arena_changes *ch)
{
    return ch->n_dirty == 0 && ch->n_left == 0;
}

static void clear_changes(struct wr_arena_changes *ch)
{
    ch->n_dirty = 0;
    wr_u64map_clear(&ch->set);
    ch->n_left = 0;
}

static bool any_changes(const struct anode *n)
{
    for (unsigned g = 0; g < n->phases; g++)
        if (!changes_empty(&n->ch[g]))
            return true;
    return false;
}

/* Send phase @g's changes since its last broadcast to every joined client
 * of that phase that is not owed the full list (which this iteration's
 * flush sends). */
static void broadcast(struct anode *n, unsigned g)
{
    struct wr_arena_changes *ch = &n->ch[g];
    n->last_bcast = uv_now(wr_node_loop(n->wn));
    if (changes_empty(ch))
        return;
    struct wr_msg *json = NULL, *bin = NULL;
    struct wr_msg **lefts = NULL;
    bool json_done = false, bin_done = false;
    uint32_t it = 0;
    for (struct client *c; n->n_joined > 0 && (c = wr_client_table_next_bound(&n->clients, &it));) {
        if (c->state != C_JOINED || c->needs_full || c->phase != g)
            continue;
        if (c->binary) {
            if (!bin_done) {
                bin = encode_changes_binary(n, ch);
                bin_done = true;
            }
            if (bin != NULL)
                wr_conn_send_msg(c->conn, bin);
            continue;
        }
        if (!json_done) {
            json = encode_changes_json(n, ch);
            if (ch->n_left > 0) {
                lefts = wr_malloc(ch->n_left * sizeof *lefts);
                for (size_t i = 0; i < ch->n_left; i++) {
                    char msg[64];
                    int len = snprintf(msg, sizeof msg, "{\"t\":\"left\",\"id\":%u}", ch->left[i]);
                    lefts[i] = wr_msg_new(msg, (size_t)len);
                }
            }
            json_done = true;
        }
        if (json != NULL)
            wr_conn_send_msg(c->conn, json);
        for (size_t i = 0; lefts != NULL && i < ch->n_left; i++)
            wr_conn_send_msg(c->conn, lefts[i]);
    }
    wr_msg_unref(json);
    wr_msg_unref(bin);
    for (size_t i = 0; lefts != NULL && i < ch->n_left; i++)
        wr_msg_unref(lefts[i]);
    free(lefts);
    clear_changes(ch);
}

static void arm_broadcast(struct anode *n);

/* One phase per tick, in turn; the timer goes on while a phase has
 * changes waiting. */
static void bcast_cb(uv_timer_t *t)
{
    struct anode *n = t->data;
    broadcast(n, n->next_phase);
    n->next_phase = (n->next_phase + 1) % n->phases;
    if (any_changes(n))
        arm_broadcast(n);
}

/* Changes wait: the next phase's broadcast comes a period/phases after the
 * last one (at once if that is past). Nothing is armed while nothing
 * changed. */
static void arm_broadcast(struct anode *n)
{
    if (n->stopped)
        return;
    uv_loop_t *loop = wr_node_loop(n->wn);
    if (!n->bcast_init) {
        uv_timer_init(loop, &n->bcast);
        n->bcast.data = n;
        n->bcast_init = true;
    }
    if (uv_is_active((uv_handle_t *)&n->bcast))
        return;
    uint64_t now = uv_now(loop), due = n->last_bcast + n->period_ms / n->phases;
    uv_timer_start(&n->bcast, bcast_cb, due > now ? due - now : 0, 0);
}

void wr__arena_flush(void *g)
{
    struct anode *n = g;
    if (n->n_needs_full > 0)
        deliver_full(n);
    if (n->n_acks > 0)
        send_acks(n);
    if (!any_changes(n))
        return;
    if (n->n_joined == 0) {
        for (unsigned ph = 0; ph < n->phases; ph++)
            clear_changes(&n->ch[ph]); /* nobody to tell: a later welcome lists them all */
    } else if (n->period_ms == 0) {
        for (unsigned ph = 0; ph < n->phases; ph++)
            broadcast(n, ph);
    } else {
        arm_broadcast(n);
    }
}

void wr__arena_fanout_stop(void *g)
{
    struct anode *n = g;
    n->stopped = true;
    if (n->bcast_init) {
        uv_timer_stop(&n->bcast);
        uv_close((uv_handle_t *)&n->bcast, NULL);
    }
}

void wr__arena_fanout_init(struct anode *n, unsigned phases)
{
    n->phases = phases >= 1 && phases <= WR_ARENA_MAX_PHASES ? phases : 1;
    for (unsigned g = 0; g < WR_ARENA_MAX_PHASES; g++)
        wr_u64map_init(&n->ch[g].set);
}

void wr__arena_fanout_free(struct anode *n)
{
    for (unsigned g = 0; g < WR_ARENA_MAX_PHASES; g++) {
        wr_u64map_free(&n->ch[g].set);
        free(n->ch[g].dirty);
        free(n->ch[g].left);
    }
    free(n->acks);
}
