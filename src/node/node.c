/* `warren node`; see node.h.
 *
 * The node wires the parts together and knows games only through
 * node/game.h (the list is src/games.c): each game's connections (its
 * WebSocket path, the telnet listener) and its module's events go to it;
 * its timers run from the node's: leader_tick every SINGLETON_MS while this
 * node is the ready leader, tick every SINGLETON_MS on every node, flush
 * once per loop iteration after the applies.
 *
 * Core duties kept here: this node's record in the registry (NODE_INFO,
 * re-proposed until it is there), the cluster id (the first leader commits
 * one), leader/degraded status, the leader's view of which nodes it has
 * heard from (wr_node_peer_silent_ms, keyed by node id), and membership
 * (cluster/membership.h: join requests, promotion, noticing a removal).
 * Members are libraft's configuration, whatever --peers said at the start. */
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

#include "cluster/proposer.h"
#include "cluster/raft_glue.h"
#include "common/alloc.h"
#include "common/log.h"
#include "games.h"
#include "net/http.h"
#include "net/proxy.h"
#include "node/config.h"
#include "node/game.h"
#include "node/node_internal.h"
#include "world/world.h"

static void node_stop(struct wr_node *n);

/* ---- games ---------------------------------------------------------- */

static int ws_route(void *data, const char *path)
{
    if (strcmp(path, WR_ADMIN_WS_PATH) == 0)
        return WR_ADMIN_WS_ROUTE; /* the node's own: the /admin dashboard */
    /* A draining node routes no game upgrade: node_api.c answers it 503. */
    if (wr_node_refuses_clients(data))
        return -1;
    for (size_t i = 0; i < wr_game_count; i++)
        if (wr_games[i]->ws_path != NULL && strcmp(wr_games[i]->ws_path, path) == 0)
            return (int)i;
    return -1;
}

static void on_ws_open(struct wr_http_server *srv, struct wr_ws *ws)
{
    struct wr_node *n = wr_http_server_data(srv);
    struct wr_conn *c = (struct wr_conn *)ws;
    if (c->route == WR_ADMIN_WS_ROUTE) {
        wr_admin_ws_open(n->admin_ws, c);
        return;
    }
    const struct wr_game *g = wr_games[c->route];
    n->conns_open++;
    if (g->on_open != NULL)
        g->on_open(n->games[c->route], c);
}

static void on_ws_text(struct wr_ws *ws, const char *data, size_t len)
{
    struct wr_conn *c = (struct wr_conn *)ws;
    struct wr_node *n = wr_http_server_data(wr_ws_server(ws));
    if (c->route == WR_ADMIN_WS_ROUTE) {
        wr_admin_ws_message(n->admin_ws, c, data, len);
        return;
    }
    const struct wr_game *g = wr_games[c->route];
    if (g->on_message != NULL)
        g->on_message(n->games[c->route], c, data, len);
}

static void on_ws_close(struct wr_ws *ws)
{
    struct wr_conn *c = (struct wr_conn *)ws;
    struct wr_node *n = wr_http_server_data(wr_ws_server(ws));
    if (c->route == WR_ADMIN_WS_ROUTE) {
        wr_admin_ws_close(n->admin_ws, c);
        return;
    }
    const struct wr_game *g = wr_games[c->route];
    n->conns_open--;
    if (g->on_close != NULL)
        g->on_close(n->games[c->route], c);
}

/* Telnet connections go to the one game that takes them. */
static void on_telnet_open(struct wr_telnet_server *srv, struct wr_telnet *t)
{
    struct wr_node *n = wr_telnet_server_data(srv);
    const struct wr_game *g = wr_games[n->telnet_game];
    wr_telnet_conn(t)->route = (uint8_t)n->telnet_game;
    n->conns_open++;
    if (g->on_open != NULL)
        g->on_open(n->games[n->telnet_game], wr_telnet_conn(t));
}

static void on_telnet_line(struct wr_telnet *t, const char *line, size_t len)
{
    struct wr_conn *c = wr_telnet_conn(t);
    struct wr_node *n = wr_telnet_server_data(wr_telnet_server_of(t));
    const struct wr_game *g = wr_games[c->route];
    if (g->on_message != NULL)
        g->on_message(n->games[c->route], c, line, len);
}

static void on_telnet_close(struct wr_telnet *t)
{
    struct wr_conn *c = wr_telnet_conn(t);
    struct wr_node *n = wr_telnet_server_data(wr_telnet_server_of(t));
    const struct wr_game *g = wr_games[c->route];
    n->conns_open--;
    if (g->on_close != NULL)
        g->on_close(n->games[c->route], c);
}

static size_t on_telnet_mssp(void *data, struct wr_telnet_mssp_var *vars, size_t max)
{
    struct wr_node *n = data;
    const struct wr_game *g = wr_games[n->telnet_game];
    return g->mssp != NULL ? g->mssp(n->games[n->telnet_game], vars, max) : 0;
}

static void on_event(void *data, const struct wr_event *ev)
{
    struct wr_node *n = data;
    n->events_delivered++;
    for (size_t i = 0; i < wr_game_count; i++)
        if (wr_games[i]->module == ev->module && wr_games[i]->on_event != NULL)
            wr_games[i]->on_event(n->games[i], ev);
}

static void on_verdict(void *data, const struct wr_cmd *cmd, enum wr_verdict v)
{
    struct wr_node *n = data;
    if (v == WR_APPLIED)
        n->commands_applied++;
    if (n->apply_log != NULL)
        wr_apply_log_cmd(n->apply_log, cmd, v);
    if (n->proposer != NULL)
        wr_proposer_on_verdict(n->proposer, cmd, v);
}

/* Once per loop iteration, after the applies of this iteration. */
static void deliver_cb(uv_check_t *h)
{
    struct wr_node *n = h->data;
    /* Timed only when something was applied since the last flush: an idle
     * loop's empty flushes would bury the histogram in zeros. */
    bool timed = n->events_delivered != n->events_at_flush;
    uint64_t t0 = timed ? uv_hrtime() : 0;
    for (size_t i = 0; i < wr_game_count; i++)
        if (wr_games[i]->flush != NULL)
            wr_games[i]->flush(n->games[i]);
    if (timed) {
        wr_hist_observe_ns(&n->fanout_time, uv_hrtime() - t0);
        n->events_at_flush = n->events_delivered;
    }
}

/* ---- cluster hooks -------------------------------------------------- */

static void fsm_apply(void *data, uint64_t index, const void *entry, size_t len)
{
    struct wr_node *n = data;
    if (n->apply_log != NULL)
        wr_apply_log_begin(n->apply_log, index);
    uint64_t t0 = uv_hrtime();
    uint64_t log_ms = wr_world_now(n->world);
    int rv = wr_world_apply(n->world, entry, len);
    wr_hist_observe_ns(&n->apply_time, uv_hrtime() - t0);
    n->entries_applied++;
    wr_state_hash_applied(&n->state_hash, index, log_ms);
    wr__node_note_cluster_id(n);
    if (n->apply_log != NULL)
        wr_apply_log_end(n->apply_log);
    if (rv == WR_APPLY_INCOMPATIBLE && !n->stopping) {
        /* Applying past this entry would make our state differ from the
         * nodes that understand it: stop instead (world.h). */
        wr_error("node: cannot apply the log: %s; stopping", wr_world_halted(n->world));
        n->exit_code = 1;
        node_stop(n);
    }
}

static void fsm_snapshot(void *data, struct wr_writer *out)
{
    struct wr_node *n = data;
    wr_world_snapshot(n->world, out);
}

static int fsm_restore(void *data, const void *buf, size_t len)
{
    struct wr_node *n = data;
    int rv = wr_world_restore(n->world, buf, len);
    wr_state_hash_restored(&n->state_hash); /* also when refused: it is empty now */
    if (rv == 0)
        wr__node_note_cluster_id(n);
    return rv;
}

static void broadcast_status(struct wr_node *n)
{
    for (size_t i = 0; i < wr_game_count; i++)
        if (wr_games[i]->on_status != NULL)
            wr_games[i]->on_status(n->games[i]);
}

/* Degraded: no leader known for longer than a normal election takes, so
 * this node cannot get anything committed (the minority side of a
 * partition, or a cluster that lost its majority). */
static void update_degraded(struct wr_node *n, bool leader_changed)
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
    } else if (leader_changed) {
        /* Also when the leader becomes unknown: a leader that stepped down
         * (it lost its majority) stops naming itself to its clients now,
         * not only once the node counts as degraded. */
        broadcast_status(n);
    }
}

static void on_raft_change(void *data, const struct wr_raft_status *st)
{
    struct wr_node *n = data;
    bool leader_changed = st->leader_id != n->status.leader_id;
    bool became_leader = st->role == WR_ROLE_LEADER && n->status.role != WR_ROLE_LEADER;
    if (n->admin_ws != NULL)
        wr_admin_ws_on_change(n->admin_ws, &n->status, st);
    n->status = *st;
    if (became_leader) {
        /* Nobody has been silent towards a leader that just started. */
        wr_u64map_clear(&n->seen_idx);
        n->n_seen = 0;
    }
    if (n->proposer != NULL)
        wr_proposer_on_change(n->proposer, st);
    if (!n->stopping)
        update_degraded(n, leader_changed);
}

static void on_member_accept(void *data, uint64_t peer, uv_tcp_t *tcp)
{
    struct wr_node *n = data;
    if (n->members == NULL) {
        uv_close((uv_handle_t *)tcp, (uv_close_cb)free);
        return;
    }
    wr_members_accept(n->members, peer, tcp);
}

static void on_fwd_accept(void *data, uint64_t peer, uv_tcp_t *tcp)
{
    struct wr_node *n = data;
    if (n->proposer == NULL) {
        uv_close((uv_handle_t *)tcp, (uv_close_cb)free);
        return;
    }
    wr_proposer_accept(n->proposer, peer, tcp);
}

static struct wr_cmd node_info_cmd(struct wr_node *n, struct wr_writer *payload)
{
    wr_put_str(payload, n->cfg.http);
    wr_put_u64(payload, n->incarnation);
    return (struct wr_cmd){.module = WR_MODULE_CORE,
                           .type = WR_CORE_NODE_INFO,
                           .node = (uint32_t)n->cfg.id,
                           .len = (uint16_t)payload->len,
                           .payload = payload->base};
}

/* A cluster gets its id from its first leader (16 random bytes: a node may
 * draw them, the state machine may not); the first one applied counts. */
static void propose_cluster_id(struct wr_node *n, bool setup)
{
    if (!wr_cluster_id_is_zero(wr_world_cluster_id(n->world)))
        return;
    uint8_t id[WR_CLUSTER_ID_BYTES];
    randombytes_buf(id, sizeof id);
    struct wr_cmd cmd = {.module = WR_MODULE_CORE,
                         .type = WR_CORE_CLUSTER_ID,
                         .node = (uint32_t)n->cfg.id,
                         .len = sizeof id,
                         .payload = id};
    if (setup)
        wr_proposer_submit_setup(n->proposer, &cmd);
    else
        wr_proposer_submit_once(n->proposer, &cmd);
}

static void on_leader_ready(void *data, uint64_t term)
{
    struct wr_node *n = data;
    struct wr_writer p;
    wr_writer_init(&p, 64);
    struct wr_cmd info = node_info_cmd(n, &p);
    wr_proposer_submit_setup(n->proposer, &info);
    wr_writer_free(&p);
    propose_cluster_id(n, true);
    for (size_t i = 0; i < wr_game_count; i++)
        if (wr_games[i]->on_leader_ready != NULL)
            wr_games[i]->on_leader_ready(n->games[i], term);
}

static void on_expired(void *data, uint64_t session)
{
    struct wr_node *n = data;
    for (size_t i = 0; i < wr_game_count; i++)
        if (wr_games[i]->on_expired != NULL)
            wr_games[i]->on_expired(n->games[i], session);
}

/* Every SINGLETON_MS: the leader's view of its peers, then the games'
 * duties (leader_tick on the ready leader, tick everywhere). */
static void singleton_cb(uv_timer_t *t)
{
    struct wr_node *n = t->data;
    update_degraded(n, false);
    if (n->proposer == NULL)
        return;
    uint64_t now = uv_now(n->loop);
    bool leader = wr_proposer_leader_ready(n->proposer);
    if (n->members != NULL)
        wr_members_tick(n->members);
    wr__node_drain_tick(n);
    if (leader) {
        size_t count = wr_raft_node_count(n->raft);
        for (size_t i = 0; i < count; i++) {
            struct wr_raft_node nd;
            wr_raft_nodes_at(n->raft, i, &nd);
            uint32_t k;
            bool known = wr_u64map_get(&n->seen_idx, nd.id, &k);
            if (!known) {
                /* first seen in the configuration: a member that just
                 * joined is not silent yet */
                if (n->n_seen == n->cap_seen) {
                    n->cap_seen = n->cap_seen ? 2 * n->cap_seen : 8;
                    n->seen_at = wr_realloc(n->seen_at, n->cap_seen * sizeof *n->seen_at);
                }
                k = (uint32_t)n->n_seen++;
                wr_u64map_put(&n->seen_idx, nd.id, k);
                n->seen_at[k] = now;
            }
            if (nd.id == (uint64_t)n->cfg.id || wr_raft_peer_recent(n->raft, nd.id))
                n->seen_at[k] = now;
        }
        for (size_t i = 0; i < wr_game_count; i++)
            if (wr_games[i]->leader_tick != NULL)
                wr_games[i]->leader_tick(n->games[i]);
    }
    for (size_t i = 0; i < wr_game_count; i++)
        if (wr_games[i]->tick != NULL)
            wr_games[i]->tick(n->games[i]);
}

/* Once a second: make sure this node's HTTP address is in the registry. */
static void tick_cb(uv_timer_t *t)
{
    struct wr_node *n = t->data;
    if (n->proposer == NULL || n->status.leader_id == 0)
        return;
    char name[32];
    snprintf(name, sizeof name, "node/%ld", n->cfg.id);
    const struct wr_reg_entry *e = wr_world_registry_find(n->world, name);
    if (n->status.role == WR_ROLE_LEADER && wr_proposer_leader_ready(n->proposer))
        propose_cluster_id(n, false);
    if (e != NULL && strcmp(e->http, n->cfg.http) == 0 && e->epoch == n->incarnation)
        return;
    struct wr_writer p;
    wr_writer_init(&p, 64);
    struct wr_cmd info = node_info_cmd(n, &p);
    wr_proposer_submit_once(n->proposer, &info);
    wr_writer_free(&p);
}

/* ---- what games may ask (node/game.h) -------------------------------- */

uint32_t wr_node_id(const struct wr_node *n)
{
    return (uint32_t)n->cfg.id;
}

uint64_t wr_node_incarnation(const struct wr_node *n)
{
    return n->incarnation;
}

uv_loop_t *wr_node_loop(struct wr_node *n)
{
    return n->loop;
}

struct wr_world *wr_node_world(struct wr_node *n)
{
    return n->world;
}

long wr_node_election_timeout(const struct wr_node *n)
{
    return n->cfg.election_timeout;
}

long wr_node_grace_ms(const struct wr_node *n)
{
    return n->cfg.grace;
}

bool wr_node_stopping(const struct wr_node *n)
{
    return n->stopping || n->proposer == NULL;
}

uint64_t wr_node_applied_index(const struct wr_node *n)
{
    struct wr_raft_status st;
    wr_raft_get_status(n->raft, &st);
    return st.applied_index;
}

/* For the state hash: libraft's applied index while it runs. */
static uint64_t state_hash_applied(void *data)
{
    struct wr_node *n = data;
    return n->raft != NULL ? wr_node_applied_index(n) : 0;
}

void wr_node_state_hash(const struct wr_node *n, char hex[17], uint64_t *index)
{
    wr_state_hash_get(&n->state_hash, hex, index);
}

uint64_t wr_node_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void wr_node_status(const struct wr_node *n, struct wr_node_status *out)
{
    out->leader_id = n->status.leader_id;
    out->leader = n->status.role == WR_ROLE_LEADER;
    out->degraded = n->degraded;
}

int wr_node_submit(struct wr_node *n, struct wr_cmd *cmd)
{
    if (n->proposer == NULL)
        return -1;
    cmd->node = (uint32_t)n->cfg.id;
    return wr_proposer_submit(n->proposer, cmd);
}

void wr_node_submit_once(struct wr_node *n, struct wr_cmd *cmd)
{
    if (n->proposer == NULL)
        return;
    cmd->node = (uint32_t)n->cfg.id;
    wr_proposer_submit_once(n->proposer, cmd);
}

void wr_node_submit_setup(struct wr_node *n, struct wr_cmd *cmd)
{
    cmd->node = (uint32_t)n->cfg.id;
    wr_proposer_submit_setup(n->proposer, cmd);
}

bool wr_node_leader_ready(const struct wr_node *n)
{
    return n->proposer != NULL && wr_proposer_leader_ready(n->proposer);
}

uint64_t *wr_node_members(const struct wr_node *n, size_t *count)
{
    size_t total = wr_raft_node_count(n->raft), k = 0;
    uint64_t *ids = wr_malloc((total ? total : 1) * sizeof *ids);
    for (size_t i = 0; i < total; i++) {
        struct wr_raft_node nd;
        wr_raft_nodes_at(n->raft, i, &nd);
        if (nd.voter)
            ids[k++] = nd.id;
    }
    if (k == 0 && total == 0) /* not started, or a joined node not yet caught up */
        ids[k++] = (uint64_t)n->cfg.id;
    *count = k;
    return ids;
}

uint64_t wr_node_peer_silent_ms(const struct wr_node *n, uint64_t id)
{
    if (id == (uint64_t)n->cfg.id)
        return 0;
    if (!wr_raft_node_find(n->raft, id, NULL))
        return UINT64_MAX; /* not a member (removed): gone for good */
    uint32_t k;
    if (!wr_u64map_get(&n->seen_idx, id, &k))
        return 0;
    return uv_now(n->loop) - n->seen_at[k];
}

uint64_t wr_node_down_after_ms(const struct wr_node *n)
{
    return (uint64_t)(3 * n->cfg.election_timeout > 1000 ? 3 * n->cfg.election_timeout : 1000);
}

/* ---- lifecycle ------------------------------------------------------ */

static void proposer_stopped_cb(void *arg)
{
    struct wr_node *n = arg;
    uv_close((uv_handle_t *)&n->sigterm, NULL);
    uv_close((uv_handle_t *)&n->sigint, NULL);
    wr_info("node: stopped");
}

/* libraft is closed: nothing can call into the proposer any more. */
static void raft_stopped_cb(void *arg)
{
    struct wr_node *n = arg;
    n->raft = NULL;
    struct wr_proposer *p = n->proposer;
    n->proposer = NULL;
    wr_proposer_destroy(p, proposer_stopped_cb, n);
}

/* Order matters: clients first, then libraft (whose close completes the
 * entries in flight through the proposer), then the proposer. */
static void telnet_stopped_cb(void *arg)
{
    struct wr_node *n = arg;
    n->telnet = NULL;
    wr_proposer_quiesce(n->proposer);
    wr_raft_stop(n->raft, raft_stopped_cb, n);
}

static void http_stopped_cb(void *arg)
{
    struct wr_node *n = arg;
    n->http = NULL;
    if (n->telnet != NULL) {
        wr_telnet_server_stop(n->telnet,
                              n->removed ? "This node was removed from the cluster; reconnect "
                                           "(another node takes you)."
                                         : "The server is shutting down; reconnect in a moment.",
                              telnet_stopped_cb, n);
        return;
    }
    wr_proposer_quiesce(n->proposer);
    wr_raft_stop(n->raft, raft_stopped_cb, n);
}

static void node_stop(struct wr_node *n)
{
    if (n->stopping)
        return;
    n->stopping = true;
    wr_info("node: shutting down");
    wr_members_destroy(n->members);
    n->members = NULL;
    uv_close((uv_handle_t *)&n->deliver, NULL);
    uv_close((uv_handle_t *)&n->tick, NULL);
    uv_close((uv_handle_t *)&n->singleton, NULL);
    wr_state_hash_close(&n->state_hash);
    for (size_t i = 0; i < wr_game_count; i++)
        if (wr_games[i]->stop != NULL)
            wr_games[i]->stop(n->games[i]);
    wr_admin_ws_stop(n->admin_ws);
    wr_http_server_stop(n->http, http_stopped_cb, n);
}

/* The leader no longer lists this node: it serves nobody any more. Its
 * clients get the shutdown's close (WebSocket 1001, a telnet line) and
 * reconnect elsewhere; the process exits 0. */
static void on_removed(void *data, uint64_t leader_id)
{
    struct wr_node *n = data;
    if (n->stopping)
        return;
    char hex[33];
    wr_cluster_id_hex(n->cluster_id, hex);
    wr_warn("node %ld: removed from cluster %s (leader %llu no longer lists it): closing client "
            "connections and exiting; wipe %s before reusing this node",
            n->cfg.id, hex, (unsigned long long)leader_id, n->cfg.data);
    n->removed = true;
    n->exit_code = 0;
    node_stop(n);
}

static void members_cluster_id(void *data, uint8_t out[WR_CLUSTER_ID_BYTES])
{
    struct wr_node *n = data;
    memcpy(out, n->cluster_id, WR_CLUSTER_ID_BYTES);
}

static void signal_cb(uv_signal_t *s, int signum)
{
    struct wr_node *n = s->data;
    wr_info("node: got %s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    node_stop(n);
}

/* Read the cluster secret. A missing file is an error; so is a short one. */
static int load_secret(struct wr_node *n, char *err, size_t errlen)
{
    if (n->cfg.cookie_file[0] == '\0' && n->cfg.cookie[0] != '\0') {
        size_t len = strlen(n->cfg.cookie);
        if (len < 16) {
            snprintf(err, errlen, "RELEASE_COOKIE holds %zu bytes; use at least 16 random ones",
                     len);
            return -1;
        }
        wr_transport_derive_key(n->cfg.cookie, len, n->key);
        sodium_memzero(n->cfg.cookie, sizeof n->cfg.cookie);
        return 0;
    }
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

void wr_node_find_dir(const char *name, char *out, size_t len)
{
    char exe[900];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    struct stat st;
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            char candidate[1200];
            snprintf(candidate, sizeof candidate, "%s/../%s", exe, name);
            if (stat(candidate, &st) == 0 && S_ISDIR(st.st_mode)) {
                snprintf(out, len, "%s", candidate);
                return;
            }
        }
    }
    snprintf(out, len, "%s", name);
}

static void default_static_dir(struct wr_node *n)
{
    if (n->cfg.static_dir[0] != '\0')
        return;
    struct stat st;
    wr_node_find_dir("web", n->cfg.static_dir, sizeof n->cfg.static_dir);
    if (stat(n->cfg.static_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        n->cfg.static_dir[0] = '\0';
}

/* A listener failed at start: stop libraft (and the HTTP server, if it
 * started) and run the loop until everything is closed. */
static void node_stop_early(struct wr_node *n)
{
    n->stopping = true;
    wr_state_hash_close(&n->state_hash);
    wr_admin_ws_stop(n->admin_ws);
    uv_signal_init(n->loop, &n->sigterm);
    uv_signal_init(n->loop, &n->sigint);
    if (n->http != NULL) {
        wr_http_server_stop(n->http, http_stopped_cb, n);
    } else {
        wr_proposer_quiesce(n->proposer);
        wr_raft_stop(n->raft, raft_stopped_cb, n);
    }
    uv_run(n->loop, UV_RUN_DEFAULT);
}

static void destroy_games(struct wr_node *n)
{
    for (size_t i = 0; i < wr_game_count; i++)
        if (n->games[i] != NULL)
            wr_games[i]->destroy(n->games[i]);
}

/* The per-address and descriptor limits both client listeners share
 * (checked by wr_node_config_parse, so the list parses). */
static void set_abuse_limits(const struct wr_node *n, unsigned *per_ip, uint32_t *exempt,
                             unsigned *n_exempt, unsigned *fd_reserve)
{
    char err[160];
    int ne = wr_proxy_parse_trusted(n->cfg.per_ip_exempt, exempt, WR_NET_MAX_EXEMPT, err,
                                    sizeof err);
    *n_exempt = ne > 0 ? (unsigned)ne : 0;
    *per_ip = (unsigned)n->cfg.max_connections_per_ip;
    *fd_reserve = (unsigned)n->cfg.fd_reserve;
}

int wr_node_main(int argc, char **argv)
{
    struct wr_node *n = wr_calloc(1, sizeof *n);
    wr_hist_init_latency(&n->apply_time);
    wr_hist_init_latency(&n->fanout_time);
    int rv = wr_node_config_parse(&n->cfg, argc, argv);
    if (rv != 0) {
        wr_node_config_free(&n->cfg);
        free(n);
        return rv > 0 ? 0 : 2;
    }
    wr_u64map_init(&n->seen_idx);
    wr_log_init();
    wr_log_set_format((enum wr_log_format)wr_log_parse_format(n->cfg.log_format));
    wr_log_set_level((enum wr_log_level)wr_log_parse_level(n->cfg.log_level));
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
        wr_node_config_free(&n->cfg);
        wr_u64map_free(&n->seen_idx);
        free(n);
        return 1;
    }
    if (wr_admin_load(&n->admin, n->cfg.admin_token_file,
                      strcmp(n->cfg.admin_reads, "token") == 0, err, sizeof err) != 0) {
        wr_error("node: --admin-token-file: %s", err);
        wr_node_config_free(&n->cfg);
        wr_u64map_free(&n->seen_idx);
        free(n);
        return 1;
    }
    if (!n->admin.configured)
        wr_info("node: no --admin-token-file: the admin API refuses every change "
                "(world loads, roles)");
    default_static_dir(n);
    while (n->incarnation == 0)
        randombytes_buf(&n->incarnation, sizeof n->incarnation);

    if (n->cfg.apply_log[0] != '\0') {
        n->apply_log = wr_apply_log_open(n->cfg.apply_log, err, sizeof err);
        if (n->apply_log == NULL) {
            wr_error("node: %s", err);
            wr_node_config_free(&n->cfg);
            free(n);
            return 1;
        }
        wr_info("node: logging every applied command to %s", n->cfg.apply_log);
    }

    n->loop = uv_default_loop();
    struct wr_world_hooks wh = {.data = n, .on_event = on_event, .on_verdict = on_verdict};
    n->world = wr_world_create(&wh);
    wr_state_hash_init(&n->state_hash, n->loop, n->world, state_hash_applied, n);
    /* Games exist before libraft starts: replaying the log emits events. */
    for (size_t i = 0; i < wr_game_count; i++)
        n->games[i] = wr_games[i]->create(n);

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
        .handshake_timeout_ms = (unsigned)n->cfg.cluster_handshake_timeout,
        .max_handshakes_per_ip = (unsigned)n->cfg.cluster_max_handshakes_per_ip,
    };
    memcpy(rc.key, n->key, sizeof rc.key);
    struct wr_raft_fsm fsm = {
        .data = n, .apply = fsm_apply, .snapshot = fsm_snapshot, .restore = fsm_restore};
    struct wr_raft_hooks rh = {.data = n,
                               .on_change = on_raft_change,
                               .on_fwd_accept = on_fwd_accept,
                               .on_member_accept = on_member_accept};
    bool bootstrap = false;
    rv = wr_raft_open(&n->raft, n->loop, &rc, &fsm, &rh, err, sizeof err);
    if (rv == 0 && wr__node_prestart(n, &bootstrap, err, sizeof err) != 0) {
        wr_raft_abandon(n->raft);
        rv = -1;
    } else if (rv == 0) {
        rv = wr_raft_begin(n->raft, bootstrap, err, sizeof err);
    }
    if (rv != 0) {
        wr_error("node: %s", err);
        destroy_games(n);
        wr_world_destroy(n->world);
        wr_apply_log_close(n->apply_log);
        wr_u64map_free(&n->seen_idx);
        wr_node_config_free(&n->cfg);
        free(n);
        return 1;
    }
    struct wr_members_config mc = {.id = (uint64_t)n->cfg.id,
                                   .address = n->cfg.cluster,
                                   .http = n->cfg.http,
                                   .election_timeout_ms = (unsigned)n->cfg.election_timeout,
                                   .wants_vote = n->wants_vote,
                                   .contact_id = n->contact_id,
                                   .contact_address = n->contact_address};
    struct wr_members_hooks mh = {
        .data = n, .cluster_id = members_cluster_id, .on_removed = on_removed};
    n->members = wr_members_create(n->loop, n->raft, &mc, &mh);

    struct wr_proposer_config pc;
    wr_proposer_config_default(&pc);
    pc.node_id = (uint32_t)n->cfg.id;
    pc.queue_timeout_ms = (unsigned)n->cfg.queue_timeout;
    pc.max_pending = (size_t)n->cfg.max_pending;
    pc.seed = (uint64_t)n->cfg.seed;
    if (pc.seed != 0)
        wr_warn("node: --seed %ld: command dice are derived from the seed and the command, "
                "not random (for tests and bug reproduction only)",
                n->cfg.seed);
    struct wr_proposer_hooks ph = {
        .data = n, .on_leader_ready = on_leader_ready, .on_expired = on_expired};
    n->proposer = wr_proposer_create(n->loop, n->raft, &pc, &ph);

    n->admin_ws = wr_admin_ws_create(n);
    struct wr_http_limits lim;
    wr_http_limits_default(&lim);
    lim.max_ws_message = (size_t)n->cfg.max_ws_message;
    lim.ws_rate = (unsigned)n->cfg.ws_rate;
    lim.ws_burst = (unsigned)n->cfg.ws_burst;
    lim.max_connections = (unsigned)n->cfg.max_connections;
    lim.max_output_bytes = (size_t)n->cfg.max_output_kb * 1024;
    lim.max_body_bytes = (size_t)n->cfg.max_body_kb * 1024;
    set_abuse_limits(n, &lim.max_per_ip, lim.exempt, &lim.n_exempt, &lim.fd_reserve);
    lim.header_timeout_ms = (unsigned)n->cfg.header_timeout;
    lim.idle_timeout_ms = (unsigned)n->cfg.idle_timeout;
    struct wr_http_handlers hh = {.data = n,
                                  .on_request = wr__node_on_request,
                                  .ws_route = ws_route,
                                  .on_ws_open = on_ws_open,
                                  .on_ws_text = on_ws_text,
                                  .on_ws_close = on_ws_close};
    rv = wr_http_server_start(&n->http, n->loop, n->cfg.http, &lim, &hh,
                              n->cfg.static_dir[0] ? n->cfg.static_dir : NULL);
    if (rv != 0) {
        wr_error("node: cannot serve HTTP on %s: %s", n->cfg.http, uv_strerror(rv));
        n->exit_code = 1;
        n->http = NULL;
        node_stop_early(n);
        goto out;
    }

    n->telnet_game = -1;
    for (size_t i = 0; i < wr_game_count; i++)
        if (wr_games[i]->telnet && n->telnet_game < 0)
            n->telnet_game = (int)i;
    if (n->cfg.telnet[0] != '\0' && n->telnet_game < 0) {
        wr_warn("node: --telnet given but no game takes telnet connections; not listening");
    } else if (n->cfg.telnet[0] != '\0') {
        struct wr_telnet_limits tl;
        wr_telnet_limits_default(&tl);
        tl.max_connections = (unsigned)n->cfg.max_connections;
        tl.max_output_bytes = (size_t)n->cfg.max_output_kb * 1024;
        set_abuse_limits(n, &tl.max_per_ip, tl.exempt, &tl.n_exempt, &tl.fd_reserve);
        tl.max_line = (size_t)n->cfg.telnet_max_line;
        tl.cmd_rate = (unsigned)n->cfg.telnet_cmd_rate;
        tl.cmd_burst = (unsigned)n->cfg.telnet_cmd_burst;
        tl.max_negotiations = (unsigned)n->cfg.telnet_max_negotiations;
        /* Checked by wr_node_config_parse: cannot fail here. */
        char perr[160];
        int np = wr_proxy_parse_trusted(n->cfg.telnet_proxy_from, tl.proxy_from,
                                        WR_TELNET_MAX_PROXIES, perr, sizeof perr);
        tl.n_proxy_from = np > 0 ? (unsigned)np : 0;
        if (np > 0)
            wr_info("node: telnet accepts PROXY headers from %s", n->cfg.telnet_proxy_from);
        struct wr_telnet_handlers th = {.data = n,
                                        .on_open = on_telnet_open,
                                        .on_line = on_telnet_line,
                                        .on_close = on_telnet_close,
                                        .mssp = on_telnet_mssp};
        rv = wr_telnet_server_start(&n->telnet, n->loop, n->cfg.telnet, &tl, &th);
        if (rv != 0) {
            wr_error("node: cannot serve telnet on %s: %s", n->cfg.telnet, uv_strerror(rv));
            n->exit_code = 1;
            n->telnet = NULL;
            node_stop_early(n);
            goto out;
        }
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

    wr_info("node %ld: cluster %s, http %s, telnet %s, data %s, %zu member(s) in its configuration, election timeout "
            "%ld ms, heartbeat %ld ms",
            n->cfg.id, n->cfg.cluster, n->cfg.http, n->telnet ? n->cfg.telnet : "off", n->cfg.data,
            wr_raft_node_count(n->raft),
            n->cfg.election_timeout, n->cfg.heartbeat);
    uv_run(n->loop, UV_RUN_DEFAULT);

out:
    rv = uv_loop_close(n->loop);
    if (rv != 0)
        wr_warn("node: loop closed with handles still open (%s)", uv_strerror(rv));
    destroy_games(n);
    wr_admin_ws_destroy(n->admin_ws);
    wr_world_destroy(n->world);
    wr_apply_log_close(n->apply_log);
    wr_u64map_free(&n->seen_idx);
    free(n->seen_at);
    wr_node_config_free(&n->cfg);
    int code = n->exit_code;
    free(n);
    return code;
}
