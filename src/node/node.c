/* `warren node`; see node.h.
 *
 * A client connection goes through these states (struct client):
 *   CONNECTED  WebSocket open, no session. Accepts join and ping.
 *   JOINING    join submitted under a fresh session key; moves are accepted
 *              and queue behind the join (a session's commands apply in
 *              order). A refusal (name taken...) returns it to CONNECTED.
 *   RESUMING   resume submitted under a fresh session key; moves wait for
 *              the welcome (the player's seq is not known before). A refusal
 *              (bad token) returns it to CONNECTED.
 *   JOINED     the join or resume applied here: the welcome was sent.
 *   LEAVING    leave submitted: nothing more is sent for the session; the
 *              socket closes once the leave applies.
 * A socket that closes without a leave proposes DISCONNECT: the player stays
 * in the world, disconnected, until resumed or expired by the leader.
 *
 * Every command a client causes carries (session, seq) with seq counting
 * 1, 2, 3... from the join; the world drops repeats.
 *
 * Singleton duties (the arena's placement follows leadership): the leader
 * proposes NODE_DOWN for a node it has not heard from for a while, and
 * EXPIRE for players disconnected longer than the grace period. Nothing in
 * the world changes from a local clock: these are log entries like any.
 *
 * Events are delivered when this node applies the entry that caused them.
 * Player changes are coalesced: a uv_check after each loop poll sends one
 * update frame with every player that changed, encoded once and shared by
 * every client (net/http.h flushes it in the next uv_prepare). */
#include "node/node.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena/arena.h"
#include "cluster/proposer.h"
#include "cluster/raft_glue.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/u64map.h"
#include "net/http.h"
#include "node/config.h"
#include "node/node_internal.h"
#include "world/world.h"

static struct client *client_by_session(struct node *n, uint64_t session)
{
    uint32_t slot;
    if (!wr_u64map_get(&n->by_session, session, &slot))
        return NULL;
    return n->clients[slot];
}

static void send_json(struct client *c, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (text == NULL)
        return;
    wr_ws_send_text(c->ws, text, strlen(text));
    free(text);
}

static void send_error(struct client *c, const char *code, const char *msg)
{
    send_json(c, json_pack("{s:s, s:s, s:s}", "t", "error", "code", code, "msg", msg));
}

static uint64_t new_session_key(void)
{
    uint64_t k = 0;
    while (k == 0)
        randombytes_buf(&k, sizeof k);
    return k;
}

/* Submit a session command for @c; returns 0 or -1 (queue full: the client
 * has been told, and the seq was not used). */
static int submit(struct client *c, uint8_t type, const struct wr_writer *payload)
{
    struct wr_cmd cmd = {
        .module = WR_MODULE_ARENA,
        .type = type,
        .node = (uint32_t)c->node->cfg.id,
        .session = c->session,
        .seq = c->next_seq,
        .len = payload ? (uint16_t)payload->len : 0,
        .payload = payload ? payload->base : NULL,
    };
    if (wr_proposer_submit(c->node->proposer, &cmd) != 0) {
        send_error(c, "unavailable", "this node's command queue is full; retry shortly");
        return -1;
    }
    c->next_seq++;
    return 0;
}

static bool has_session(const struct client *c)
{
    return c->state == C_JOINING || c->state == C_RESUMING || c->state == C_JOINED;
}

static void send_status(struct node *n, struct client *c)
{
    json_t *leader =
        n->status.leader_id ? json_integer((json_int_t)n->status.leader_id) : json_null();
    send_json(c, json_pack("{s:s, s:b, s:o, s:I}", "t", "status", "degraded", n->degraded,
                           "leader", leader, "node", (json_int_t)n->cfg.id));
}

static void on_ws_open(struct wr_http_server *srv, struct wr_ws *ws)
{
    struct node *n = wr_http_server_data(srv);
    struct client *c = wr_calloc(1, sizeof *c);
    c->node = n;
    c->ws = ws;
    c->state = C_CONNECTED;
    if (n->n_free > 0) {
        c->slot = n->free_slots[--n->n_free];
    } else {
        if (n->n_slots == n->cap_slots) {
            n->cap_slots = n->cap_slots ? n->cap_slots * 2 : 256;
            n->clients = wr_realloc(n->clients, n->cap_slots * sizeof *n->clients);
            n->free_slots = wr_realloc(n->free_slots, n->cap_slots * sizeof *n->free_slots);
        }
        c->slot = n->n_slots++;
    }
    n->clients[c->slot] = c;
    wr_ws_set_data(ws, c);
    send_status(n, c);
}

static void forget_session(struct node *n, struct client *c)
{
    if (c->session != 0) {
        wr_u64map_del(&n->by_session, c->session);
        c->session = 0;
    }
    if (c->state == C_JOINED)
        n->n_joined--;
    if (c->needs_full) {
        c->needs_full = false;
        n->n_needs_full--;
    }
}


static void on_ws_close(struct wr_ws *ws)
{
    struct client *c = wr_ws_data(ws);
    struct node *n = c->node;
    /* The socket closing is not the player leaving: it stays, disconnected,
     * for the grace period, so the client can resume on any node. A node
     * shutting down proposes nothing; the leader notices it is gone. */
    if (has_session(c) && !n->stopping && n->proposer)
        submit(c, WR_ARENA_DISCONNECT, NULL);
    forget_session(n, c);
    n->clients[c->slot] = NULL;
    n->free_slots[n->n_free++] = c->slot;
    free(c);
}

static int parse_dir(const char *s, enum wr_arena_dir *dir)
{
    static const char *names[] = {"up", "down", "left", "right"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *dir = (enum wr_arena_dir)i;
            return 0;
        }
    }
    return -1;
}

static void handle_join(struct client *c, json_t *msg)
{
    struct node *n = c->node;
    if (c->state != C_CONNECTED) {
        send_error(c, "already_joined", "this connection has already joined");
        return;
    }
    const char *name = json_string_value(json_object_get(msg, "name"));
    if (name == NULL) {
        send_error(c, "bad_field", "join needs a string \"name\"");
        return;
    }
    if (!wr_arena_name_ok(name, strlen(name))) {
        send_error(c, "bad_name", "name must be 1-16 characters of A-Z a-z 0-9 _ -");
        return;
    }
    uint8_t token[WR_TOKEN_BYTES], hash[WR_TOKEN_HASH_BYTES];
    randombytes_buf(token, sizeof token);
    sodium_bin2hex(c->token, sizeof c->token, token, sizeof token);
    crypto_generichash(hash, sizeof hash, token, sizeof token, NULL, 0);
    c->session = new_session_key();
    c->next_seq = 1;
    c->last_client_seq = 0;
    struct wr_writer p;
    wr_writer_init(&p, 64);
    wr_arena_encode_join_token(&p, name, hash, n->incarnation);
    int rv = submit(c, WR_ARENA_JOIN, &p);
    wr_writer_free(&p);
    if (rv != 0) {
        c->session = 0;
        return;
    }
    wr_u64map_put(&n->by_session, c->session, c->slot);
    c->state = C_JOINING;
}

static void handle_move(struct client *c, json_t *msg)
{
    if (c->state != C_JOINING && c->state != C_JOINED) {
        send_error(c, "not_joined", c->state == C_RESUMING
                                        ? "wait for the welcome after a resume before moving"
                                        : "join before moving");
        return;
    }
    const char *dir_s = json_string_value(json_object_get(msg, "dir"));
    json_t *seq_j = json_object_get(msg, "seq");
    enum wr_arena_dir dir;
    if (dir_s == NULL || parse_dir(dir_s, &dir) != 0) {
        send_error(c, "bad_field", "move needs \"dir\": up, down, left or right");
        return;
    }
    if (!json_is_integer(seq_j) || json_integer_value(seq_j) < 1 ||
        json_integer_value(seq_j) > 0xFFFFFFFFll) {
        send_error(c, "bad_field", "move needs an integer \"seq\" in 1..4294967295");
        return;
    }
    uint64_t seq = (uint64_t)json_integer_value(seq_j);
    if (seq <= c->last_client_seq) {
        send_error(c, "bad_seq", "seq must be greater than the previous move's");
        return;
    }
    struct wr_writer p;
    wr_writer_init(&p, 8);
    wr_arena_encode_move(&p, dir, (uint32_t)seq);
    if (submit(c, WR_ARENA_MOVE, &p) == 0)
        c->last_client_seq = seq;
    wr_writer_free(&p);
}

static void handle_resume(struct client *c, json_t *msg)
{
    struct node *n = c->node;
    if (c->state != C_CONNECTED) {
        send_error(c, "already_joined", "this connection has already joined");
        return;
    }
    const char *hex = json_string_value(json_object_get(msg, "token"));
    uint8_t token[WR_TOKEN_BYTES], hash[WR_TOKEN_HASH_BYTES];
    size_t len = 0;
    if (hex == NULL || strlen(hex) != 2 * WR_TOKEN_BYTES ||
        sodium_hex2bin(token, sizeof token, hex, strlen(hex), NULL, &len, NULL) != 0 ||
        len != sizeof token) {
        send_error(c, "bad_token", "resume needs the 32-hex-digit \"token\" from the welcome");
        return;
    }
    crypto_generichash(hash, sizeof hash, token, sizeof token, NULL, 0);
    snprintf(c->token, sizeof c->token, "%s", hex);
    c->session = new_session_key();
    c->next_seq = 1;
    struct wr_writer p;
    wr_writer_init(&p, 32);
    wr_arena_encode_resume(&p, hash, n->incarnation);
    int rv = submit(c, WR_ARENA_RESUME, &p);
    wr_writer_free(&p);
    if (rv != 0) {
        c->session = 0;
        return;
    }
    wr_u64map_put(&n->by_session, c->session, c->slot);
    c->state = C_RESUMING;
}

static void on_ws_text(struct wr_ws *ws, const char *data, size_t len)
{
    struct client *c = wr_ws_data(ws);
    if (c->state == C_LEAVING)
        return;
    json_error_t jerr;
    json_t *msg = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (msg == NULL || !json_is_object(msg)) {
        json_decref(msg);
        send_error(c, "bad_json", "every message must be one JSON object");
        return;
    }
    const char *t = json_string_value(json_object_get(msg, "t"));
    if (t == NULL)
        send_error(c, "bad_field", "a message needs a string \"t\"");
    else if (strcmp(t, "move") == 0)
        handle_move(c, msg);
    else if (strcmp(t, "join") == 0)
        handle_join(c, msg);
    else if (strcmp(t, "resume") == 0)
        handle_resume(c, msg);
    else if (strcmp(t, "ping") == 0)
        send_json(c, json_pack("{s:s, s:O?}", "t", "pong", "id", json_object_get(msg, "id")));
    else if (strcmp(t, "leave") == 0) {
        if (has_session(c)) {
            submit(c, WR_ARENA_LEAVE, NULL);
            c->state = C_LEAVING;
        } else {
            wr_ws_close(ws, 1000, "bye");
        }
    } else
        send_error(c, "bad_type", "unknown message type");
    json_decref(msg);
}

/* ---- events --------------------------------------------------------- */

/* The welcome carries the player's own fields; the list of every player
 * follows in one update frame that deliver_cb encodes once per loop
 * iteration and shares among everyone who joined in it. (Building the list
 * into each welcome cost O(players) per join: a storm of 2000 joins kept the
 * loop busy long enough to miss heartbeats and trigger elections.) */
static void send_welcome(struct node *n, struct client *c, const struct wr_arena_player *me)
{
    const struct wr_arena *a = wr_world_module(n->world, WR_MODULE_ARENA);
    if (!c->needs_full) {
        c->needs_full = true;
        n->n_needs_full++;
    }
    json_t *leader =
        n->status.leader_id ? json_integer((json_int_t)n->status.leader_id) : json_null();
    send_json(c, json_pack("{s:s, s:I, s:s, s:i, s:i, s:I, s:s, s:I, s:o, s:i, s:i}", "t",
                           "welcome", "id", (json_int_t)me->id, "name", me->name, "x", me->x, "y",
                           me->y, "seq", (json_int_t)me->seq, "token", c->token, "node",
                           (json_int_t)n->cfg.id, "leader", leader, "width", wr_arena_width(a),
                           "height", wr_arena_height(a)));
}

/* Player @id changed in this iteration. @full: its name, node or connection
 * are news too (it appeared, resumed, or its connection changed); otherwise
 * the update carries only what a move changes. */
static void mark_dirty(struct node *n, uint32_t id, bool full)
{
    uint32_t was;
    if (wr_u64map_get(&n->dirty_set, id, &was)) {
        if (full && was != 2)
            wr_u64map_put(&n->dirty_set, id, 2);
        return;
    }
    wr_u64map_put(&n->dirty_set, id, full ? 2 : 1);
    if (n->n_dirty == n->cap_dirty) {
        n->cap_dirty = n->cap_dirty ? n->cap_dirty * 2 : 256;
        n->dirty = wr_realloc(n->dirty, n->cap_dirty * sizeof *n->dirty);
    }
    n->dirty[n->n_dirty++] = id;
}

static void on_event(void *data, const struct wr_event *ev)
{
    struct node *n = data;
    if (ev->module != WR_MODULE_ARENA)
        return;
    n->events_delivered++;
    struct client *c = ev->node == (uint32_t)n->cfg.id ? client_by_session(n, ev->session) : NULL;
    switch (ev->type) {
    case WR_ARENA_EV_JOINED: {
        const struct wr_arena_player *p = ev->data;
        mark_dirty(n, p->id, true);
        if (c != NULL && c->state == C_JOINING) {
            c->state = C_JOINED;
            c->player_id = p->id;
            n->n_joined++;
            send_welcome(n, c, p);
        }
        break;
    }
    case WR_ARENA_EV_RESUMED: {
        const struct wr_arena_player *p = ev->data;
        mark_dirty(n, p->id, true);
        if (c != NULL && c->state == C_RESUMING) {
            c->state = C_JOINED;
            c->player_id = p->id;
            c->last_client_seq = p->seq;
            n->n_joined++;
            send_welcome(n, c, p);
        }
        break;
    }
    case WR_ARENA_EV_MOVED:
        mark_dirty(n, ((const struct wr_arena_player *)ev->data)->id, false);
        break;
    case WR_ARENA_EV_CHANGED:
        mark_dirty(n, ((const struct wr_arena_player *)ev->data)->id, true);
        break;
    case WR_ARENA_EV_LEFT: {
        const struct wr_arena_player *p = ev->data;
        if (n->n_left == n->cap_left) {
            n->cap_left = n->cap_left ? n->cap_left * 2 : 64;
            n->left = wr_realloc(n->left, n->cap_left * sizeof *n->left);
        }
        n->left[n->n_left++] = p->id;
        if (c != NULL && c->state == C_LEAVING) {
            forget_session(n, c);
            wr_ws_close(c->ws, 1000, "left the arena");
        } else if (c != NULL && has_session(c)) {
            /* Expired while its client was still here (its node was cut
             * off from the leader longer than the grace period). */
            send_error(c, "expired", "your player was removed after being unreachable");
            forget_session(n, c);
            c->state = C_LEAVING;
            wr_ws_close(c->ws, 1000, "expired");
        }
        break;
    }
    case WR_ARENA_EV_REFUSED: {
        const struct wr_arena_refusal *r = ev->data;
        if (c != NULL && (c->state == C_JOINING || c->state == C_RESUMING)) {
            send_error(c, r->code, r->msg);
            forget_session(n, c);
            c->state = C_CONNECTED;
        }
        break;
    }
    default:
        break;
    }
}

static void on_verdict(void *data, const struct wr_cmd *cmd, enum wr_verdict v)
{
    struct node *n = data;
    if (n->proposer != NULL)
        wr_proposer_on_verdict(n->proposer, cmd, v);
}

static void broadcast(struct node *n, struct wr_sbuf *frame)
{
    for (uint32_t i = 0; i < n->n_slots; i++) {
        struct client *c = n->clients[i];
        if (c != NULL && has_session(c))
            wr_ws_send_frame(c->ws, frame);
    }
    n->frames_broadcast++;
    wr_sbuf_unref(frame);
}

/* Append one player as JSON, by hand: this is the hot path (every change
 * of every player goes to every client), and every field is a number or a
 * name restricted to [A-Za-z0-9_-], so there is nothing to escape. */
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

/* Every player, for the clients welcomed in this iteration. */
static void deliver_full(struct node *n)
{
    const struct wr_arena *a = wr_world_module(n->world, WR_MODULE_ARENA);
    const struct wr_arena_player *all = wr_arena_players(a);
    size_t count = wr_arena_count(a);
    struct wr_writer w;
    wr_writer_init(&w, 64 + count * 96);
    wr_put_bytes(&w, UPDATE_HEAD, sizeof UPDATE_HEAD - 1);
    for (size_t i = 0; i < count; i++)
        put_player(&w, &all[i], i == 0, true);
    wr_put_bytes(&w, "]}", 2);
    struct wr_sbuf *frame = wr_ws_frame_text((const char *)w.base, w.len);
    wr_writer_free(&w);
    for (uint32_t i = 0; i < n->n_slots && n->n_needs_full > 0; i++) {
        struct client *c = n->clients[i];
        if (c != NULL && c->needs_full) {
            c->needs_full = false;
            n->n_needs_full--;
            wr_ws_send_frame(c->ws, frame);
        }
    }
    n->n_needs_full = 0;
    wr_sbuf_unref(frame);
}

/* Once per loop iteration, after the applies of this iteration: one frame
 * with every player that changed, one per player that left, shared by all
 * clients (net/http.h flushes them in the next uv_prepare). */
static void deliver_cb(uv_check_t *h)
{
    struct node *n = h->data;
    if (n->n_needs_full > 0)
        deliver_full(n);
    if (n->n_dirty > 0) {
        const struct wr_arena *a = wr_world_module(n->world, WR_MODULE_ARENA);
        struct wr_writer w;
        wr_writer_init(&w, 64 + n->n_dirty * 96);
        wr_put_bytes(&w, UPDATE_HEAD, sizeof UPDATE_HEAD - 1);
        bool first = true;
        for (size_t i = 0; i < n->n_dirty; i++) {
            const struct wr_arena_player *p = wr_arena_by_id(a, n->dirty[i]);
            uint32_t kind = 1;
            if (p == NULL)
                continue;
            wr_u64map_get(&n->dirty_set, p->id, &kind);
            put_player(&w, p, first, kind == 2);
            first = false;
        }
        wr_put_bytes(&w, "]}", 2);
        if (!first && n->n_joined > 0)
            broadcast(n, wr_ws_frame_text((const char *)w.base, w.len));
        wr_writer_free(&w);
        n->n_dirty = 0;
        wr_u64map_clear(&n->dirty_set);
    }
    for (size_t i = 0; i < n->n_left; i++) {
        char msg[64];
        int len = snprintf(msg, sizeof msg, "{\"t\":\"left\",\"id\":%u}", n->left[i]);
        if (n->n_joined > 0)
            broadcast(n, wr_ws_frame_text(msg, (size_t)len));
    }
    n->n_left = 0;
}

/* ---- cluster hooks -------------------------------------------------- */

static void fsm_apply(void *data, const void *entry, size_t len)
{
    struct node *n = data;
    wr_world_apply(n->world, entry, len);
}

static void fsm_snapshot(void *data, struct wr_writer *out)
{
    struct node *n = data;
    wr_world_snapshot(n->world, out);
}

static int fsm_restore(void *data, const void *buf, size_t len)
{
    struct node *n = data;
    return wr_world_restore(n->world, buf, len);
}

static void broadcast_status(struct node *n)
{
    for (uint32_t i = 0; i < n->n_slots; i++)
        if (n->clients[i] != NULL && n->clients[i]->state != C_LEAVING)
            send_status(n, n->clients[i]);
}

/* Degraded: no leader known for longer than a normal election takes, so
 * this node cannot get anything committed (the minority side of a
 * partition, or a cluster that lost its majority). */
static void update_degraded(struct node *n, bool leader_changed)
{
    uint64_t now = uv_now(n->loop);
    if (n->status.leader_id != 0)
        n->leaderless_since = 0;
    else if (n->leaderless_since == 0)
        n->leaderless_since = now;
    uint64_t after = (uint64_t)(2 * n->cfg.election_timeout > 1000 ? 2 * n->cfg.election_timeout
                                                                   : 1000);
    bool degraded = n->leaderless_since != 0 && now - n->leaderless_since >= after;
    if (degraded != n->degraded) {
        n->degraded = degraded;
        if (degraded)
            wr_warn("node: no leader for %llu ms: telling clients the node is degraded",
                    (unsigned long long)(now - n->leaderless_since));
        else
            wr_info("node: leader %llu known again", (unsigned long long)n->status.leader_id);
        broadcast_status(n);
    } else if (leader_changed && n->status.leader_id != 0) {
        broadcast_status(n);
    }
}

static void on_raft_change(void *data, const struct wr_raft_status *st)
{
    struct node *n = data;
    bool leader_changed = st->leader_id != n->status.leader_id;
    bool became_leader = st->role == WR_ROLE_LEADER && n->status.role != WR_ROLE_LEADER;
    n->status = *st;
    if (became_leader)
        for (size_t i = 0; i < WR_MAX_PEERS + 1; i++)
            n->last_seen[i] = uv_now(n->loop);
    if (n->proposer != NULL)
        wr_proposer_on_change(n->proposer, st);
    if (!n->stopping)
        update_degraded(n, leader_changed);
}

static uint64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void submit_arena_once(struct node *n, uint8_t type, const struct wr_writer *p)
{
    struct wr_cmd cmd = {.module = WR_MODULE_ARENA,
                         .type = type,
                         .node = (uint32_t)n->cfg.id,
                         .len = (uint16_t)p->len,
                         .payload = p->base};
    wr_proposer_submit_once(n->proposer, &cmd);
}

/* The arena singleton's duties, run on the leader once its state machine
 * is current. Both commands are idempotent, so a repeat after a lost
 * leadership or a slow commit does no harm. */
static void singleton_cb(uv_timer_t *t)
{
    struct node *n = t->data;
    update_degraded(n, false);
    if (n->proposer == NULL || !wr_proposer_leader_ready(n->proposer))
        return;
    const struct wr_arena *a = wr_world_module(n->world, WR_MODULE_ARENA);
    const struct wr_arena_player *all = wr_arena_players(a);
    size_t count = wr_arena_count(a);
    uint64_t now = uv_now(n->loop);
    uint64_t down_after = (uint64_t)(3 * n->cfg.election_timeout > 1000
                                         ? 3 * n->cfg.election_timeout
                                         : 1000);
    struct wr_writer p;
    wr_writer_init(&p, 16);

    /* Nodes not heard from: their clients are gone with them. */
    for (size_t i = 0; i < n->cfg.n_peers; i++) {
        uint64_t id = n->cfg.peers[i].id;
        if (id == (uint64_t)n->cfg.id || wr_raft_peer_recent(n->raft, id)) {
            n->last_seen[i] = now;
            continue;
        }
        if (now - n->last_seen[i] < down_after)
            continue;
        bool has_players = false;
        for (size_t k = 0; k < count && !has_players; k++)
            has_players = all[k].node == id && all[k].connected;
        if (has_players) {
            wr_info("arena: node %llu unreachable for %llu ms; disconnecting its players",
                    (unsigned long long)id, (unsigned long long)(now - n->last_seen[i]));
            p.len = 0;
            wr_arena_encode_node_down(&p, (uint32_t)id);
            submit_arena_once(n, WR_ARENA_NODE_DOWN, &p);
        }
    }

    /* Grace periods over, once a second. Log time stamps are the leaders'
     * wall clocks, so compare with ours. */
    if (now - n->last_expiry_round >= 1000) {
        n->last_expiry_round = now;
        uint64_t wall = realtime_ms();
        for (size_t k = 0; k < count; k++) {
            if (all[k].connected || all[k].disconnected_at + (uint64_t)n->cfg.grace > wall)
                continue;
            p.len = 0;
            wr_arena_encode_expire(&p, all[k].id, all[k].disconnected_at);
            submit_arena_once(n, WR_ARENA_EXPIRE, &p);
        }
    }
    wr_writer_free(&p);
}

static void on_fwd_accept(void *data, uint64_t peer, uv_tcp_t *tcp)
{
    struct node *n = data;
    if (n->proposer == NULL) {
        uv_close((uv_handle_t *)tcp, (uv_close_cb)free);
        return;
    }
    wr_proposer_accept(n->proposer, peer, tcp);
}

static struct wr_cmd node_info_cmd(struct node *n, struct wr_writer *payload)
{
    wr_put_str(payload, n->cfg.http);
    wr_put_u64(payload, n->incarnation);
    return (struct wr_cmd){.module = WR_MODULE_CORE,
                           .type = WR_CORE_NODE_INFO,
                           .node = (uint32_t)n->cfg.id,
                           .len = (uint16_t)payload->len,
                           .payload = payload->base};
}

static void on_leader_ready(void *data, uint64_t term)
{
    struct node *n = data;
    struct wr_writer p;
    wr_writer_init(&p, 64);
    /* The arena singleton (ticks, timers) runs on the leader: record that
     * in the registry, fenced by the term. */
    wr_put_str(&p, "arena");
    wr_put_u64(&p, term);
    struct wr_cmd place = {.module = WR_MODULE_CORE,
                           .type = WR_CORE_PLACE,
                           .node = (uint32_t)n->cfg.id,
                           .len = (uint16_t)p.len,
                           .payload = p.base};
    wr_proposer_submit_setup(n->proposer, &place);

    p.len = 0;
    struct wr_cmd info = node_info_cmd(n, &p);
    wr_proposer_submit_setup(n->proposer, &info);

    const struct wr_arena *a = wr_world_module(n->world, WR_MODULE_ARENA);
    if (wr_arena_width(a) == 0) {
        p.len = 0;
        wr_arena_encode_config(&p, (uint16_t)n->cfg.arena_width, (uint16_t)n->cfg.arena_height);
        struct wr_cmd conf = {.module = WR_MODULE_ARENA,
                              .type = WR_ARENA_CONFIG,
                              .node = (uint32_t)n->cfg.id,
                              .len = (uint16_t)p.len,
                              .payload = p.base};
        wr_proposer_submit_setup(n->proposer, &conf);
    }
    wr_writer_free(&p);
}

static void on_expired(void *data, uint64_t session)
{
    struct node *n = data;
    struct client *c = client_by_session(n, session);
    if (c == NULL)
        return;
    send_error(c, "unavailable",
               "your command was not applied within the queue timeout (no reachable leader); "
               "reconnect and resume");
    forget_session(n, c);
    c->state = C_LEAVING;
    wr_ws_close(c->ws, 1013, "no leader");
}

/* A partition between this node and the leader makes the leader mark our
 * players disconnected (NODE_DOWN) although their clients never left us.
 * Once a leader is reachable again, say they are here, or they would be
 * expired after the grace period while playing. */
static void reassert_presence(struct node *n)
{
    const struct wr_arena *a = wr_world_module(n->world, WR_MODULE_ARENA);
    for (uint32_t i = 0; i < n->n_slots; i++) {
        struct client *c = n->clients[i];
        if (c == NULL || c->state != C_JOINED)
            continue;
        const struct wr_arena_player *p = wr_arena_by_session(a, c->session);
        if (p != NULL && !p->connected)
            submit(c, WR_ARENA_PRESENT, NULL);
    }
}

/* Once a second: make sure this node's HTTP address is in the registry,
 * and that its players are not shown as gone. */
static void tick_cb(uv_timer_t *t)
{
    struct node *n = t->data;
    if (n->proposer == NULL || n->status.leader_id == 0)
        return;
    reassert_presence(n);
    char name[32];
    snprintf(name, sizeof name, "node/%ld", n->cfg.id);
    const struct wr_reg_entry *e = wr_world_registry_find(n->world, name);
    if (e != NULL && strcmp(e->http, n->cfg.http) == 0 && e->epoch == n->incarnation)
        return;
    struct wr_writer p;
    wr_writer_init(&p, 64);
    struct wr_cmd info = node_info_cmd(n, &p);
    wr_proposer_submit_once(n->proposer, &info);
    wr_writer_free(&p);
}

/* ---- lifecycle ------------------------------------------------------ */

static void proposer_stopped_cb(void *arg)
{
    struct node *n = arg;
    uv_close((uv_handle_t *)&n->sigterm, NULL);
    uv_close((uv_handle_t *)&n->sigint, NULL);
    wr_info("node: stopped");
}

/* libraft is closed: nothing can call into the proposer any more. */
static void raft_stopped_cb(void *arg)
{
    struct node *n = arg;
    n->raft = NULL;
    struct wr_proposer *p = n->proposer;
    n->proposer = NULL;
    wr_proposer_destroy(p, proposer_stopped_cb, n);
}

/* Order matters: clients first, then libraft (whose close completes the
 * entries in flight through the proposer), then the proposer. */
static void http_stopped_cb(void *arg)
{
    struct node *n = arg;
    n->http = NULL;
    wr_proposer_quiesce(n->proposer);
    wr_raft_stop(n->raft, raft_stopped_cb, n);
}

static void node_stop(struct node *n)
{
    if (n->stopping)
        return;
    n->stopping = true;
    wr_info("node: shutting down");
    uv_close((uv_handle_t *)&n->deliver, NULL);
    uv_close((uv_handle_t *)&n->tick, NULL);
    uv_close((uv_handle_t *)&n->singleton, NULL);
    wr_http_server_stop(n->http, http_stopped_cb, n);
}

static void signal_cb(uv_signal_t *s, int signum)
{
    struct node *n = s->data;
    wr_info("node: got %s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    node_stop(n);
}

/* Read the cluster secret. A missing file is an error; so is a short one. */
static int load_secret(struct node *n, char *err, size_t errlen)
{
    if (n->cfg.cookie_file[0] == '\0') {
        uint8_t secret[32];
        randombytes_buf(secret, sizeof secret);
        wr_transport_derive_key(secret, sizeof secret, n->key);
        wr_info("node: no --cookie-file: a one-node cluster with a random secret, so no other "
                "node can join it");
        return 0;
    }
    FILE *f = fopen(n->cfg.cookie_file, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "cannot read the cookie file %s: %s", n->cfg.cookie_file,
                 strerror(errno));
        return -1;
    }
    char buf[4096];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        len--;
    if (len < 16) {
        snprintf(err, errlen, "the cookie file %s holds %zu bytes; use at least 16 random ones",
                 n->cfg.cookie_file, len);
        return -1;
    }
    wr_transport_derive_key(buf, len, n->key);
    sodium_memzero(buf, sizeof buf);
    return 0;
}

static void default_static_dir(struct node *n)
{
    if (n->cfg.static_dir[0] != '\0')
        return;
    /* build/warren -> ../web; fall back to ./web. */
    char exe[900];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    struct stat st;
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            char candidate[1000];
            snprintf(candidate, sizeof candidate, "%s/../web", exe);
            if (stat(candidate, &st) == 0 && S_ISDIR(st.st_mode)) {
                snprintf(n->cfg.static_dir, sizeof n->cfg.static_dir, "%s", candidate);
                return;
            }
        }
    }
    if (stat("web", &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(n->cfg.static_dir, sizeof n->cfg.static_dir, "web");
}

int wr_node_main(int argc, char **argv)
{
    struct node *n = wr_calloc(1, sizeof *n);
    int rv = wr_node_config_parse(&n->cfg, argc, argv);
    if (rv != 0) {
        free(n);
        return rv > 0 ? 0 : 2;
    }
    wr_log_init();
    wr_log_set_node((unsigned long long)n->cfg.id);
    /* libuv does not ignore SIGPIPE: a write to a dead peer would kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0) {
        wr_error("node: libsodium failed to initialise");
        return 1;
    }
    char err[2200];
    if (load_secret(n, err, sizeof err) != 0) {
        wr_error("node: %s", err);
        free(n);
        return 1;
    }
    default_static_dir(n);
    while (n->incarnation == 0)
        randombytes_buf(&n->incarnation, sizeof n->incarnation);

    n->loop = uv_default_loop();
    wr_u64map_init(&n->by_session);
    wr_u64map_init(&n->dirty_set);
    struct wr_world_hooks wh = {.data = n, .on_event = on_event, .on_verdict = on_verdict};
    n->world = wr_world_create(&wh);

    struct wr_raft_config rc = {
        .id = (uint64_t)n->cfg.id,
        .address = n->cfg.cluster,
        .peers = n->cfg.peers,
        .n_peers = n->cfg.n_peers,
        .data_dir = n->cfg.data,
        .election_timeout_ms = (unsigned)n->cfg.election_timeout,
        .heartbeat_ms = (unsigned)n->cfg.heartbeat,
        .snapshot_threshold = (unsigned)n->cfg.snapshot_threshold,
        .snapshot_trailing = (unsigned)n->cfg.snapshot_trailing,
    };
    memcpy(rc.key, n->key, sizeof rc.key);
    struct wr_raft_fsm fsm = {
        .data = n, .apply = fsm_apply, .snapshot = fsm_snapshot, .restore = fsm_restore};
    struct wr_raft_hooks rh = {.data = n, .on_change = on_raft_change, .on_fwd_accept = on_fwd_accept};
    if (wr_raft_start(&n->raft, n->loop, &rc, &fsm, &rh, err, sizeof err) != 0) {
        wr_error("node: %s", err);
        wr_world_destroy(n->world);
        free(n);
        return 1;
    }

    struct wr_proposer_config pc;
    wr_proposer_config_default(&pc);
    pc.node_id = (uint32_t)n->cfg.id;
    pc.queue_timeout_ms = (unsigned)n->cfg.queue_timeout;
    pc.max_pending = (size_t)n->cfg.max_pending;
    struct wr_proposer_hooks ph = {
        .data = n, .on_leader_ready = on_leader_ready, .on_expired = on_expired};
    n->proposer = wr_proposer_create(n->loop, n->raft, &pc, &ph);

    struct wr_http_limits lim;
    wr_http_limits_default(&lim);
    lim.max_ws_message = (size_t)n->cfg.max_ws_message;
    lim.ws_rate = (unsigned)n->cfg.ws_rate;
    lim.ws_burst = (unsigned)n->cfg.ws_burst;
    lim.max_connections = (unsigned)n->cfg.max_connections;
    lim.max_output_bytes = (size_t)n->cfg.max_output_kb * 1024;
    struct wr_http_handlers hh = {.data = n,
                                  .on_request = wr__node_on_request,
                                  .on_ws_open = on_ws_open,
                                  .on_ws_text = on_ws_text,
                                  .on_ws_close = on_ws_close};
    rv = wr_http_server_start(&n->http, n->loop, n->cfg.http, &lim, &hh,
                              n->cfg.static_dir[0] ? n->cfg.static_dir : NULL);
    if (rv != 0) {
        wr_error("node: cannot serve HTTP on %s: %s", n->cfg.http, uv_strerror(rv));
        n->exit_code = 1;
        n->stopping = true;
        wr_proposer_quiesce(n->proposer);
        wr_raft_stop(n->raft, raft_stopped_cb, n);
        uv_signal_init(n->loop, &n->sigterm);
        uv_signal_init(n->loop, &n->sigint);
        uv_run(n->loop, UV_RUN_DEFAULT);
        goto out;
    }

    uv_check_init(n->loop, &n->deliver);
    n->deliver.data = n;
    uv_check_start(&n->deliver, deliver_cb);
    uv_timer_init(n->loop, &n->tick);
    n->tick.data = n;
    uv_timer_start(&n->tick, tick_cb, 1000, 1000);
    uv_timer_init(n->loop, &n->singleton);
    n->singleton.data = n;
    uv_timer_start(&n->singleton, singleton_cb, SINGLETON_MS, SINGLETON_MS);
    uv_signal_init(n->loop, &n->sigterm);
    n->sigterm.data = n;
    uv_signal_start(&n->sigterm, signal_cb, SIGTERM);
    uv_signal_init(n->loop, &n->sigint);
    n->sigint.data = n;
    uv_signal_start(&n->sigint, signal_cb, SIGINT);

    wr_info("node %ld: cluster %s, http %s, data %s, %zu voter(s), election timeout %ld ms, "
            "heartbeat %ld ms",
            n->cfg.id, n->cfg.cluster, n->cfg.http, n->cfg.data, n->cfg.n_peers,
            n->cfg.election_timeout, n->cfg.heartbeat);
    uv_run(n->loop, UV_RUN_DEFAULT);

out:
    rv = uv_loop_close(n->loop);
    if (rv != 0)
        wr_warn("node: loop closed with handles still open (%s)", uv_strerror(rv));
    wr_world_destroy(n->world);
    wr_u64map_free(&n->by_session);
    wr_u64map_free(&n->dirty_set);
    free(n->clients);
    free(n->free_slots);
    free(n->dirty);
    free(n->left);
    int code = n->exit_code;
    free(n);
    return code;
}
