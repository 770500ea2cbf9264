/* Draining a node (docs/operations.md, "Drain and rolling restart"): an
 * admin marks node N draining (POST /api/cluster/drain, a core DRAIN
 * command, so every node agrees on the mark); then
 *
 *   - the leader, if it is N, hands the leadership to a voter that is not
 *     draining (the arena singleton and every leader duty go with it);
 *   - the leader places no zone on a draining node and moves N's zones to
 *     the others (mud_duties.c: only the owner changes, zone state is
 *     replicated);
 *   - N refuses new game connections (a WebSocket upgrade gets 503 naming
 *     another node, so a load balancer tries the next one; telnet gets a
 *     line naming another node's telnet address), and once it holds no
 *     leadership, zone or singleton, closes its clients with the "move
 *     elsewhere" close (the games' drain callback): WebSocket clients
 *     reconnect and resume elsewhere;
 *   - N reports "drained": true on /api/cluster once it holds no
 *     leadership, zones, singletons or clients.
 * POST /api/cluster/undrain clears the mark: the leader places zones on N
 * again as load dictates.
 *
 * Every node also records its telnet address in the world while some node
 * is draining (NODE_TELNET), so that a draining node can name another's. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "games.h"
#include "node/game.h"
#include "node/node_internal.h"

#define DRAIN_TRANSFER_EVERY_MS 1000
#define DRAIN_TELNET_EVERY_MS 2000

bool wr_node_draining(const struct wr_node *n, uint32_t id)
{
    return wr_world_node_draining(n->world, id);
}

bool wr_node_refuses_clients(const struct wr_node *n)
{
    return wr_world_node_draining(n->world, (uint32_t)n->cfg.id);
}

static const char *http_of(const struct wr_node *n, uint64_t id)
{
    char name[32];
    snprintf(name, sizeof name, "node/%llu", (unsigned long long)id);
    const struct wr_reg_entry *e = wr_world_registry_find(n->world, name);
    return e != NULL && e->http[0] != '\0' ? e->http : NULL;
}

const char *wr_node_elsewhere(const struct wr_node *n, bool telnet)
{
    /* The leader first (it is never the draining node for long), then the
     * other voters in configuration order. */
    uint64_t leader = n->status.leader_id;
    size_t count = wr_raft_node_count(n->raft);
    for (size_t pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < count; i++) {
            struct wr_raft_node nd;
            wr_raft_nodes_at(n->raft, i, &nd);
            if (!nd.voter || nd.id == (uint64_t)n->cfg.id || (pass == 0) != (nd.id == leader) ||
                wr_world_node_draining(n->world, (uint32_t)nd.id))
                continue;
            const char *a = telnet ? wr_world_node_telnet(n->world, (uint32_t)nd.id)
                                   : http_of(n, nd.id);
            if (a != NULL && a[0] != '\0')
                return a;
        }
    }
    return NULL;
}

/* ---- what this node holds -------------------------------------------- */


static void count_held(void *arg, const struct wr_reg_entry *e)
{
    struct holds *h = arg;
    if (e->node != h->me)
        return;
    if (e->kind == WR_REG_ZONE)
        h->zones++;
    else if (e->kind == WR_REG_SINGLETON)
        h->singletons++;
}

static void held(struct wr_node *n, struct holds *h)
{
    *h = (struct holds){.me = (uint32_t)n->cfg.id};
    wr_world_registry_each(n->world, count_held, h);
}

/* For /api/cluster, which must cost O(1) (issue 8): walking the registry
 * lists every player and NPC, so the counts are kept until the world
 * changes (the state hash's change count), and recounted at most every
 * HOLDS_STALE_MS while it keeps changing; exact while draining, where
 * "drained" tells the operator the node may be stopped. */
#define HOLDS_STALE_MS 250

static void held_for_poll(struct wr_node *n, struct holds *h, bool draining)
{
    uint64_t now = uv_now(n->loop);
    if (draining || !n->holds_valid ||
        (n->holds_gen != n->state_hash.gen && now - n->holds_at >= HOLDS_STALE_MS)) {
        held(n, &n->holds_cache);
        n->holds_valid = true;
        n->holds_gen = n->state_hash.gen;
        n->holds_at = now;
    }
    *h = n->holds_cache;
}

void wr__node_drain_json(struct wr_node *n, json_t *cluster)
{
    bool draining = wr_node_refuses_clients(n);
    struct holds h;
    held_for_poll(n, &h, draining);
    bool leader = n->status.role == WR_ROLE_LEADER;
    json_object_set_new(cluster, "draining", json_boolean(draining));
    json_object_set_new(cluster, "drained",
                        json_boolean(draining && !leader && h.zones == 0 && h.singletons == 0 &&
                                     n->conns_open == 0));
    json_object_set_new(cluster, "holds",
                        json_pack("{s:b, s:I, s:I, s:I}", "leader", leader, "zones",
                                  (json_int_t)h.zones, "singletons", (json_int_t)h.singletons,
                                  "clients", (json_int_t)n->conns_open));
    json_object_set_new(cluster, "formats",
                        json_pack("{s:i, s:i, s:i}", "entry", WR_ENTRY_VERSION, "snapshot",
                                  WR_SNAPSHOT_VERSION, "core", WR_CORE_VERSION));
}

/* ---- every SINGLETON_MS ------------------------------------------------ */

static void transfer_done(void *arg, int status)
{
    struct wr_node *n = arg;
    n->drain_transferring = false;
    if (status != 0)
        wr_warn("drain: handing the leadership over failed (%s); trying again",
                wr_raft_strerror(status));
}

/* The leader is draining: hand the leadership to a voter that is not,
 * heard from recently (libraft's transfer needs it to answer). */
static void hand_leadership_over(struct wr_node *n, uint64_t now)
{
    if (n->drain_transferring || wr_raft_changing(n->raft) ||
        now - n->drain_transfer_at < DRAIN_TRANSFER_EVERY_MS)
        return;
    size_t count = wr_raft_node_count(n->raft);
    for (size_t i = 0; i < count; i++) {
        struct wr_raft_node nd;
        wr_raft_nodes_at(n->raft, i, &nd);
        if (!nd.voter || nd.id == (uint64_t)n->cfg.id ||
            wr_world_node_draining(n->world, (uint32_t)nd.id) || !wr_raft_peer_recent(n->raft, nd.id))
            continue;
        n->drain_transfer_at = now;
        if (wr_raft_transfer(n->raft, nd.id, transfer_done, n) == 0) {
            n->drain_transferring = true;
            wr_info("drain: this node is draining; handing the leadership to node %llu",
                    (unsigned long long)nd.id);
        }
        return;
    }
    if (now - n->drain_transfer_at >= 10 * DRAIN_TRANSFER_EVERY_MS) {
        n->drain_transfer_at = now;
        wr_warn("drain: this node is draining but no other voter that is not draining is "
                "reachable: it keeps the leadership");
    }
}

/* While any node drains, make sure our telnet address is in the world. */
static void record_telnet(struct wr_node *n, uint64_t now)
{
    if (n->cfg.telnet[0] == '\0' || wr_world_draining(n->world, NULL, 0) == 0 ||
        strcmp(wr_world_node_telnet(n->world, (uint32_t)n->cfg.id), n->cfg.telnet) == 0 ||
        now - n->drain_telnet_at < DRAIN_TELNET_EVERY_MS)
        return;
    n->drain_telnet_at = now;
    struct wr_writer p;
    wr_writer_init(&p, 80);
    wr_put_str(&p, n->cfg.telnet);
    struct wr_cmd cmd = {.module = WR_MODULE_CORE,
                         .type = WR_CORE_NODE_TELNET,
                         .len = (uint16_t)p.len,
                         .payload = p.base};
    wr_node_submit_once(n, &cmd);
    wr_writer_free(&p);
}

void wr__node_drain_tick(struct wr_node *n)
{
    if (n->proposer == NULL || n->stopping)
        return;
    uint64_t now = uv_now(n->loop);
    record_telnet(n, now);
    bool draining = wr_node_refuses_clients(n);
    if (draining != n->drain_seen) {
        n->drain_seen = draining;
        n->drain_closing = false;
        wr_info(draining ? "drain: this node is marked draining: refusing new clients, handing "
                           "its leadership, zones and singletons over"
                         : "drain: this node is no longer draining: taking clients again");
    }
    if (!draining)
        return;
    if (n->status.role == WR_ROLE_LEADER) {
        if (wr_proposer_leader_ready(n->proposer))
            hand_leadership_over(n, now);
        return;
    }
    struct holds h;
    held(n, &h);
    if (h.zones > 0 || h.singletons > 0)
        return;
    /* Nothing left here but clients: send them elsewhere (every tick,
     * for any that is still open). */
    if (!n->drain_closing && n->conns_open > 0)
        wr_info("drain: leadership, zones and singletons handed over; moving %llu client%s to "
                "other nodes",
                (unsigned long long)n->conns_open, n->conns_open == 1 ? "" : "s");
    n->drain_closing = true;
    for (size_t i = 0; i < wr_game_count; i++)
        if (wr_games[i]->drain != NULL)
            wr_games[i]->drain(n->games[i]);
}

/* ---- HTTP ------------------------------------------------------------ */

static void respond_error(struct wr_http_conn *conn, int status, const char *msg)
{
    wr_node_respond_json(conn, status, json_pack("{s:s}", "error", msg));
}

bool wr__node_drain_refuse_ws(struct wr_node *n, struct wr_http_conn *conn,
                              const struct wr_http_request *req)
{
    bool game_path = false;
    for (size_t i = 0; i < wr_game_count && !game_path; i++)
        game_path = wr_games[i]->ws_path != NULL && strcmp(wr_games[i]->ws_path, req->path) == 0;
    if (!game_path || !wr_node_refuses_clients(n))
        return false;
    const char *to = wr_node_elsewhere(n, false);
    char msg[200];
    snprintf(msg, sizeof msg, "node %ld is draining for maintenance: connect to %s%s", n->cfg.id,
             to ? to : "another node", to ? " or another node" : "");
    wr_node_respond_json(conn, 503, json_pack("{s:s, s:s?}", "error", msg, "elsewhere", to));
    return true;
}

/* POST /api/cluster/drain and /api/cluster/undrain: {"id": N}. */
bool wr__node_drain_request(struct wr_node *n, struct wr_http_conn *conn,
                            const struct wr_http_request *req)
{
    bool drain = strcmp(req->path, "/api/cluster/drain") == 0;
    if ((!drain && strcmp(req->path, "/api/cluster/undrain") != 0) ||
        strcmp(req->method, "POST") != 0)
        return false;
    if (n->stopping || n->raft == NULL || n->proposer == NULL) {
        respond_error(conn, 503, "the node is shutting down");
        return true;
    }
    json_error_t je;
    json_t *doc = req->body_len ? json_loadb(req->body, req->body_len, 0, &je) : NULL;
    json_t *v = json_object_get(doc, "id");
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535) {
        json_decref(doc);
        respond_error(conn, 400, "the body must be a JSON object with \"id\": a node id, 1..65535");
        return true;
    }
    uint32_t id = (uint32_t)json_integer_value(v);
    json_decref(doc);
    struct wr_raft_status st;
    wr_raft_get_status(n->raft, &st);
    if (st.role != WR_ROLE_LEADER || !wr_proposer_leader_ready(n->proposer)) {
        wr__node_redirect_to_leader(n, conn, "this node is not the leader");
        return true;
    }
    struct wr_raft_node nd;
    if (drain && !wr_raft_node_find(n->raft, id, &nd)) {
        char msg[80];
        snprintf(msg, sizeof msg, "node %u is not a member", id);
        respond_error(conn, 404, msg);
        return true;
    }
    if (drain && !wr_world_node_draining(n->world, id)) {
        /* Someone must be left to take over. */
        size_t count = wr_raft_node_count(n->raft), others = 0;
        for (size_t i = 0; i < count; i++) {
            wr_raft_nodes_at(n->raft, i, &nd);
            others += nd.voter && nd.id != id && !wr_world_node_draining(n->world, (uint32_t)nd.id);
        }
        if (others == 0) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "node %u is the only voter that is not draining: draining it would leave "
                     "no node to take its clients; undrain another first",
                     id);
            respond_error(conn, 409, msg);
            return true;
        }
    }
    bool already = wr_world_node_draining(n->world, id) == drain;
    if (!already) {
        uint8_t payload[5] = {(uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16),
                              (uint8_t)(id >> 24), drain};
        struct wr_cmd cmd = {.module = WR_MODULE_CORE,
                             .type = WR_CORE_DRAIN,
                             .len = sizeof payload,
                             .payload = payload};
        wr_node_submit_once(n, &cmd);
        wr_info("drain: node %u %s by an admin request", id,
                drain ? "marked draining" : "no longer draining");
    }
    /* The mark is proposed, not yet applied: /api/cluster shows it once it
     * is (warren ctl drain polls, and asks again if it got lost). */
    wr_node_respond_json(conn, already ? 200 : 202,
                         json_pack("{s:I, s:b, s:b, s:s?}", "id", (json_int_t)id, "draining", drain,
                                   "proposed", !already, "http", http_of(n, id)));
    return true;
}
