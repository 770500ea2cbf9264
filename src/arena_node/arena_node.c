/* The arena's node-side half (node/game.h): its WebSocket protocol at /ws
 * (docs/protocol.md), event delivery to this node's clients, and its
 * singleton duties on the leader.
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
 * Events are delivered when this node applies the entry that caused them:
 * a client's own move is acknowledged in that loop iteration, everyone
 * else's changes are coalesced and broadcast at --broadcast-hz, as JSON or
 * as compact binary frames, whichever the client asked for in its join or
 * resume (arena_fanout.c). */
#include "arena_node/arena_node.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/arena.h"
#include "arena_node/arena_node_internal.h"
#include "cluster/raft_glue.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/u64map.h"
#include "net/conn.h"
#include "node/clients.h"
#include "node/game.h"

/* Settings (node/config.c parses them with the node's own). */
static long arena_width = 64, arena_height = 48;
/* 20 broadcasts a second: at 1000 clients the nodes' CPU is mostly the
 * writes, one per client per broadcast (bench/README.md has the figures
 * for 20, 30 and 60); 50 ms is also Colyseus's default patch rate. */
static long broadcast_hz = 20;
static long broadcast_phases = 1;

static const struct wr_arena *arena_state(struct anode *n)
{
    return wr__arena_state(n);
}

static void send_json(struct client *c, json_t *obj)
{
    wr_node_send_json(c->conn, obj);
}

static void send_error(struct client *c, const char *code, const char *msg)
{
    send_json(c, json_pack("{s:s, s:s, s:s}", "t", "error", "code", code, "msg", msg));
}

/* Submit a session command for @c; returns 0 or -1 (queue full: the client
 * has been told, and the seq was not used). */
static int submit(struct client *c, uint8_t type, const struct wr_writer *payload)
{
    if (wr_node_submit_session(c->node->wn, WR_MODULE_ARENA, type, c->session, &c->next_seq,
                               payload) != 0) {
        send_error(c, "unavailable", "this node's command queue is full; retry shortly");
        return -1;
    }
    return 0;
}

static bool has_session(const struct client *c)
{
    return c->state == C_JOINING || c->state == C_RESUMING || c->state == C_JOINED;
}

static void send_status(struct anode *n, struct client *c)
{
    send_json(c, wr_node_status_json(n->wn));
}

static void arena_open(void *g, struct wr_conn *conn)
{
    struct anode *n = g;
    struct client *c = wr_calloc(1, sizeof *c);
    c->node = n;
    c->conn = conn;
    c->state = C_CONNECTED;
    c->slot = wr_client_table_add(&n->clients, c);
    wr_conn_set_data(conn, c);
    send_status(n, c);
}

static void forget_session(struct anode *n, struct client *c)
{
    if (c->session != 0) {
        wr_client_table_unbind(&n->clients, c->session);
        c->session = 0;
    }
    if (c->state == C_JOINED)
        n->n_joined--;
    if (c->needs_full) {
        c->needs_full = false;
        n->n_needs_full--;
    }
}


static void arena_close(void *g, struct wr_conn *conn)
{
    struct client *c = wr_conn_data(conn);
    struct anode *n = g;
    /* The socket closing is not the player leaving: it stays, disconnected,
     * for the grace period, so the client can resume on any node. A node
     * shutting down proposes nothing; the leader notices it is gone. */
    if (has_session(c) && !wr_node_stopping(n->wn))
        submit(c, WR_ARENA_DISCONNECT, NULL);
    forget_session(n, c);
    wr_client_table_remove(&n->clients, c->slot);
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

/* "enc":"bin" in a join or resume: player updates as binary frames
 * (arena/arena_wire.h). Anything else, or no field, keeps JSON: the
 * default, so that older clients work unchanged. */
static bool wants_binary(json_t *msg)
{
    const char *enc = json_string_value(json_object_get(msg, "enc"));
    return enc != NULL && strcmp(enc, "bin") == 0;
}

static void handle_join(struct client *c, json_t *msg)
{
    struct anode *n = c->node;
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
    c->session = wr_node_new_session_key();
    c->next_seq = 1;
    c->last_client_seq = 0;
    struct wr_writer p;
    wr_writer_init(&p, 64);
    wr_arena_encode_join_token(&p, name, hash, wr_node_incarnation(n->wn));
    int rv = submit(c, WR_ARENA_JOIN, &p);
    wr_writer_free(&p);
    if (rv != 0) {
        c->session = 0;
        return;
    }
    wr_client_table_bind(&n->clients, c->session, c->slot);
    c->state = C_JOINING;
    c->binary = wants_binary(msg);
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
    struct anode *n = c->node;
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
    c->session = wr_node_new_session_key();
    c->next_seq = 1;
    struct wr_writer p;
    wr_writer_init(&p, 32);
    wr_arena_encode_resume(&p, hash, wr_node_incarnation(n->wn));
    int rv = submit(c, WR_ARENA_RESUME, &p);
    wr_writer_free(&p);
    if (rv != 0) {
        c->session = 0;
        return;
    }
    wr_client_table_bind(&n->clients, c->session, c->slot);
    c->state = C_RESUMING;
    c->binary = wants_binary(msg);
}

static void arena_message(void *g, struct wr_conn *conn, const char *data, size_t len)
{
    struct client *c = wr_conn_data(conn);
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
            wr_conn_close(conn, 1000, "bye");
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
static void send_welcome(struct anode *n, struct client *c, const struct wr_arena_player *me)
{
    const struct wr_arena *a = arena_state(n);
    if (!c->needs_full) {
        c->needs_full = true;
        n->n_needs_full++;
    }
    struct wr_node_status st;
    wr_node_status(n->wn, &st);
    json_t *leader = st.leader_id ? json_integer((json_int_t)st.leader_id) : json_null();
    send_json(c, json_pack("{s:s, s:I, s:s, s:i, s:i, s:I, s:s, s:I, s:o, s:i, s:i}", "t",
                           "welcome", "id", (json_int_t)me->id, "name", me->name, "x", me->x, "y",
                           me->y, "seq", (json_int_t)me->seq, "token", c->token, "node",
                           (json_int_t)wr_node_id(n->wn), "leader", leader, "width", wr_arena_width(a),
                           "height", wr_arena_height(a)));
}

static void arena_event(void *g, const struct wr_event *ev)
{
    struct anode *n = g;
    struct client *c = ev->audience == WR_AUD_SESSION && ev->node == wr_node_id(n->wn)
                           ? wr_client_table_by_session(&n->clients, ev->session)
                           : NULL;
    switch (ev->type) {
    case WR_ARENA_EV_JOINED: {
        const struct wr_arena_player *p = ev->data;
        wr__arena_mark_dirty(n, p->id, true);
        if (c != NULL && c->state == C_JOINING) {
            c->state = C_JOINED;
            c->player_id = p->id;
            n->n_joined++;
            c->phase = (uint8_t)(n->phase_rr++ % n->phases);
            send_welcome(n, c, p);
        }
        break;
    }
    case WR_ARENA_EV_RESUMED: {
        const struct wr_arena_player *p = ev->data;
        wr__arena_mark_dirty(n, p->id, true);
        if (c != NULL && c->state == C_RESUMING) {
            c->state = C_JOINED;
            c->player_id = p->id;
            c->last_client_seq = p->seq;
            n->n_joined++;
            c->phase = (uint8_t)(n->phase_rr++ % n->phases);
            send_welcome(n, c, p);
        }
        break;
    }
    case WR_ARENA_EV_MOVED: {
        const struct wr_arena_player *p = ev->data;
        wr__arena_mark_dirty(n, p->id, false);
        if (c != NULL && c->state == C_JOINED && c->player_id == p->id)
            wr__arena_mark_ack(n, c);
        break;
    }
    case WR_ARENA_EV_CHANGED:
        wr__arena_mark_dirty(n, ((const struct wr_arena_player *)ev->data)->id, true);
        break;
    case WR_ARENA_EV_LEFT: {
        const struct wr_arena_player *p = ev->data;
        wr__arena_mark_left(n, p->id);
        if (c != NULL && c->state == C_LEAVING) {
            forget_session(n, c);
            wr_conn_close(c->conn, 1000, "left the arena");
        } else if (c != NULL && has_session(c)) {
            /* Expired while its client was still here (its node was cut
             * off from the leader longer than the grace period). */
            send_error(c, "expired", "your player was removed after being unreachable");
            forget_session(n, c);
            c->state = C_LEAVING;
            wr_conn_close(c->conn, 1000, "expired");
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

static void submit_arena_once(struct anode *n, uint8_t type, const struct wr_writer *p)
{
    struct wr_cmd cmd = {.module = WR_MODULE_ARENA,
                         .type = type,
                         .len = (uint16_t)p->len,
                         .payload = p->base};
    wr_node_submit_once(n->wn, &cmd);
}

/* The arena singleton's duties, run on the leader once its state machine
 * is current. Both commands are idempotent, so a repeat after a lost
 * leadership or a slow commit does no harm. */
static void arena_leader_tick(void *g)
{
    struct anode *n = g;
    const struct wr_arena *a = arena_state(n);
    const struct wr_arena_player *all = wr_arena_players(a);
    size_t count = wr_arena_count(a);
    uint64_t now = uv_now(wr_node_loop(n->wn));
    struct wr_writer p;
    wr_writer_init(&p, 16);

    /* Nodes not heard from, or no longer members (removed): their clients
     * are gone with them. Each node with connected players, once. */
    for (size_t i = 0; i < count; i++) {
        if (!all[i].connected)
            continue;
        uint64_t id = all[i].node;
        bool seen_before = false;
        for (size_t k = 0; k < i && !seen_before; k++)
            seen_before = all[k].connected && all[k].node == id;
        uint64_t silent = wr_node_peer_silent_ms(n->wn, id);
        if (seen_before || silent < wr_node_down_after_ms(n->wn))
            continue;
        if (silent == UINT64_MAX)
            wr_info("arena: node %llu is no longer a member; disconnecting its players",
                    (unsigned long long)id);
        else
            wr_info("arena: node %llu unreachable for %llu ms; disconnecting its players",
                    (unsigned long long)id, (unsigned long long)silent);
        p.len = 0;
        wr_arena_encode_node_down(&p, (uint32_t)id);
        submit_arena_once(n, WR_ARENA_NODE_DOWN, &p);
    }

    /* Grace periods over, once a second. Log time stamps are the leaders'
     * wall clocks, so compare with ours. */
    if (now - n->last_expiry_round >= 1000) {
        n->last_expiry_round = now;
        uint64_t wall = wr_node_wall_ms();
        for (size_t k = 0; k < count; k++) {
            if (all[k].connected || all[k].disconnected_at + (uint64_t)wr_node_grace_ms(n->wn) > wall)
                continue;
            p.len = 0;
            wr_arena_encode_expire(&p, all[k].id, all[k].disconnected_at);
            submit_arena_once(n, WR_ARENA_EXPIRE, &p);
        }
    }
    wr_writer_free(&p);
}

static void arena_expired(void *g, uint64_t session)
{
    struct anode *n = g;
    struct client *c = wr_client_table_by_session(&n->clients, session);
    if (c == NULL)
        return;
    send_error(c, "unavailable",
               "your command was not applied within the queue timeout (no reachable leader); "
               "reconnect and resume");
    forget_session(n, c);
    c->state = C_LEAVING;
    wr_conn_close(c->conn, 1013, "no leader");
}



/* A partition between this node and the leader makes the leader mark our
 * players disconnected (NODE_DOWN) although their clients never left us.
 * Once a leader is reachable again, say they are here, or they would be
 * expired after the grace period while playing. Once a second. */
static void arena_tick(void *g)
{
    struct anode *n = g;
    if (!wr_node_presence_due(n->wn, uv_now(wr_node_loop(n->wn)), &n->last_presence_round))
        return;
    const struct wr_arena *a = arena_state(n);
    uint32_t it = 0;
    for (struct client *c; (c = wr_client_table_next_bound(&n->clients, &it)) != NULL;) {
        if (c->state != C_JOINED)
            continue;
        const struct wr_arena_player *p = wr_arena_by_session(a, c->session);
        if (p != NULL && !p->connected)
            submit(c, WR_ARENA_PRESENT, NULL);
    }
}

/* This node is draining and has handed everything over (node_drain.c):
 * every client is told to move, then closed with 1012; the browser client
 * and any client that resumes on a non-1000 close reconnect to another node
 * and resume the same player (docs/protocol.md). Its socket closing
 * proposes DISCONNECT as any close does. */
static void arena_drain(void *g)
{
    struct anode *n = g;
    const char *to = wr_node_elsewhere(n->wn, false);
    char msg[200];
    snprintf(msg, sizeof msg,
             "node %u is draining for maintenance: reconnect to %s%s and resume your player",
             wr_node_id(n->wn), to ? to : "another node", to ? " (or any other node)" : "");
    uint32_t it = 0;
    for (struct client *c; (c = wr_client_table_next(&n->clients, &it)) != NULL;) {
        if (c->state == C_LEAVING || c->moved)
            continue;
        c->moved = true;
        send_json(c, json_pack("{s:s, s:s, s:s, s:s?}", "t", "error", "code", "moved", "msg", msg,
                               "elsewhere", to));
        wr_conn_close(c->conn, 1012, "node draining: reconnect elsewhere and resume");
    }
}

static void arena_on_status(void *g)
{
    struct anode *n = g;
    uint32_t it = 0;
    for (struct client *c; (c = wr_client_table_next(&n->clients, &it)) != NULL;)
        if (c->state != C_LEAVING)
            send_status(n, c);
}

/* The arena singleton (ticks, timers) runs on the leader: record that in
 * the registry, fenced by the term; configure the grid once. */
static void arena_leader_ready(void *g, uint64_t term)
{
    struct anode *n = g;
    struct wr_writer p;
    wr_writer_init(&p, 64);
    wr_put_str(&p, "arena");
    wr_put_u64(&p, term);
    struct wr_cmd place = {.module = WR_MODULE_CORE,
                           .type = WR_CORE_PLACE,
                           .len = (uint16_t)p.len,
                           .payload = p.base};
    wr_node_submit_setup(n->wn, &place);
    if (wr_arena_width(arena_state(n)) == 0) {
        p.len = 0;
        wr_arena_encode_config(&p, (uint16_t)arena_width, (uint16_t)arena_height);
        struct wr_cmd conf = {.module = WR_MODULE_ARENA,
                              .type = WR_ARENA_CONFIG,
                              .len = (uint16_t)p.len,
                              .payload = p.base};
        wr_node_submit_setup(n->wn, &conf);
    }
    wr_writer_free(&p);
}

/* ---- HTTP view: /api/state ------------------------------------------ */

static json_t *player_json(const struct wr_arena_player *p)
{
    return json_pack("{s:I, s:s, s:i, s:i, s:I, s:I, s:b}", "id", (json_int_t)p->id, "name",
                     p->name, "x", p->x, "y", p->y, "seq", (json_int_t)p->seq, "node",
                     (json_int_t)p->node, "connected", p->connected);
}

static int cmp_player_id(const void *a, const void *b)
{
    uint32_t x = (*(const struct wr_arena_player *const *)a)->id;
    uint32_t y = (*(const struct wr_arena_player *const *)b)->id;
    return x < y ? -1 : x > y;
}

static bool arena_request(void *g, struct wr_http_conn *conn, const struct wr_http_request *req)
{
    struct anode *n = g;
    if (strcmp(req->path, "/api/state") != 0)
        return false;
    const struct wr_arena *a = arena_state(n);
    size_t count = wr_arena_count(a);
    const struct wr_arena_player *all = wr_arena_players(a);
    const struct wr_arena_player **sorted = wr_malloc((count ? count : 1) * sizeof *sorted);
    for (size_t i = 0; i < count; i++)
        sorted[i] = &all[i];
    qsort(sorted, count, sizeof *sorted, cmp_player_id);
    json_t *players = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(players, player_json(sorted[i]));
    free(sorted);
    char hash[17];
    uint64_t hash_index;
    wr_node_state_hash(n->wn, hash, &hash_index); /* O(1), like /api/cluster's */
    json_t *body = json_pack("{s:I, s:s, s:I, s:i, s:i, s:o}", "applied_index",
                             (json_int_t)wr_node_applied_index(n->wn), "state_hash", hash,
                             "state_hash_index", (json_int_t)hash_index, "width",
                             wr_arena_width(a), "height", wr_arena_height(a), "players", players);
    wr_node_respond_json(conn, 200, body);
    return true;
}

static void arena_metrics(void *g, struct wr_prom *p)
{
    struct anode *n = g;
    wr_prom_gauge(p, "warren_arena_players", "players in the arena (the whole cluster's)",
                  (double)wr_arena_count(arena_state(n)));
    wr_prom_counter(p, "warren_arena_frames_broadcast_total",
                    "update frames encoded for this node's clients (once per encoding, shared)",
                    n->frames_broadcast);
    wr_prom_counter(p, "warren_arena_acks_sent_total",
                    "own-move acknowledgements sent to this node's clients", n->acks_sent);
}

/* ---- lifecycle ------------------------------------------------------ */

static void *arena_create(struct wr_node *wn)
{
    struct anode *n = wr_calloc(1, sizeof *n);
    n->wn = wn;
    n->world = wr_node_world(wn);
    wr_client_table_init(&n->clients);
    wr__arena_fanout_init(n, (unsigned)broadcast_phases);
    n->period_ms = broadcast_hz > 0 ? (uint64_t)(1000 / broadcast_hz) : 0;
    n->round = 1; /* a new client's ack_round is 0: not yet queued */
    return n;
}

static void arena_destroy(void *g)
{
    struct anode *n = g;
    uint32_t it = 0;
    for (struct client *c; (c = wr_client_table_next(&n->clients, &it)) != NULL;)
        free(c);
    wr_client_table_free(&n->clients);
    wr__arena_fanout_free(n);
    free(n);
}

static const struct wr_game_setting arena_settings[] = {
    {"arena-width", "WARREN_ARENA_WIDTH", false, &arena_width, 0, 2, 1024, "64",
     "arena width in cells (used when the cluster's arena is first configured)"},
    {"arena-height", "WARREN_ARENA_HEIGHT", false, &arena_height, 0, 2, 1024, "48",
     "arena height in cells"},
    {"broadcast-hz", "WARREN_BROADCAST_HZ", false, &broadcast_hz, 0, 0, 1000, "20",
     "arena broadcasts per second: other players' changes are coalesced and sent at most this "
     "often (a client's own moves are acknowledged at once); 0 sends every loop iteration"},
    {"broadcast-phases", "WARREN_BROADCAST_PHASES", false, &broadcast_phases, 0, 1, 8, "1",
     "groups of arena clients whose broadcasts are spread over the period, so that a node "
     "writes to a share of its clients at a time (each client still gets --broadcast-hz); "
     "4 cut the move p99 at 1000 clients by a third for 10% more CPU"},
    {NULL, NULL, false, NULL, 0, 0, 0, NULL, NULL},
};

const struct wr_game wr_arena_game = {
    .name = "arena",
    .module = WR_MODULE_ARENA,
    .ws_path = "/ws",
    .settings = arena_settings,
    .create = arena_create,
    .destroy = arena_destroy,
    .on_open = arena_open,
    .on_message = arena_message,
    .on_close = arena_close,
    .on_event = arena_event,
    .flush = wr__arena_flush,
    .stop = wr__arena_fanout_stop,
    .on_leader_ready = arena_leader_ready,
    .leader_tick = arena_leader_tick,
    .tick = arena_tick,
    .on_status = arena_on_status,
    .drain = arena_drain,
    .on_expired = arena_expired,
    .on_request = arena_request,
    .metrics = arena_metrics,
};
