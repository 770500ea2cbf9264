/* The node's HTTP admin API (docs/api.md): health, readiness, the cluster
 * as this node sees it, the arena, the registry and plain-text metrics.
 * Read-only here; the membership changes (POST /api/cluster/...) are in
 * node_members.c. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/metrics.h"
#include "games.h"
#include "node/game.h"
#include "node/node_internal.h"

/* ---- HTTP API ------------------------------------------------------- */

static bool is_ready(struct wr_node *n, const char **why, char *buf, size_t len)
{
    struct wr_raft_status st;
    wr_raft_get_status(n->raft, &st);
    if (st.leader_id == 0) {
        *why = "no leader";
        return false;
    }
    if (st.applied_index < st.commit_index) {
        snprintf(buf, len, "catching up: applied %llu of %llu",
                 (unsigned long long)st.applied_index, (unsigned long long)st.commit_index);
        *why = buf;
        return false;
    }
    if (st.role == WR_ROLE_LEADER && !wr_proposer_leader_ready(n->proposer)) {
        *why = "new leader: committing its first entry";
        return false;
    }
    return true;
}

void wr_node_respond_json(struct wr_http_conn *conn, int status, json_t *obj)
{
    char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (text == NULL) { /* json_pack refused a value: a bug, not the client's */
        wr_error("node: could not encode a JSON answer (status %d)", status);
        wr_http_respond(conn, 500, "text/plain", "internal error\n", 15);
        return;
    }
    wr_http_respond(conn, status, "application/json", text, strlen(text));
    free(text);
}

void wr_node_send_json(struct wr_conn *c, json_t *obj)
{
    char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (text == NULL) {
        wr_error("node: could not encode a JSON message for %s", wr_conn_peer(c));
        return;
    }
    wr_conn_send(c, text, strlen(text));
    free(text);
}

static json_t *cluster_json(struct wr_node *n)
{
    struct wr_raft_status st;
    wr_raft_get_status(n->raft, &st);
    char hash[17], buf[96];
    const char *why;
    uint64_t hash_index;
    /* O(1): the hash is kept per applied index (node/state_hash.h), and
     * belongs to state_hash_index, which is applied_index at rest. */
    wr_state_hash_get(&n->state_hash, hash, &hash_index);
    json_t *nodes = wr__node_members_json(n);
    char cluster_id[33];
    wr_cluster_id_hex(n->cluster_id, cluster_id);
    json_t *leader = st.leader_id ? json_integer((json_int_t)st.leader_id) : json_null();
    /* Each game's content version (the MUD's world hash). */
    json_t *versions = json_object();
    for (size_t i = 0; i < wr_game_count; i++) {
        if (wr_games[i]->version == NULL)
            continue;
        char v[80];
        wr_games[i]->version(n->games[i], v, sizeof v);
        json_object_set_new(versions, wr_games[i]->name, json_string(v));
    }
    json_t *doc = json_pack("{s:s?, s:o, s:I, s:s, s:o, s:I, s:I, s:I, s:I, s:s, s:I, s:b, s:o}",
                     "cluster_id", wr_cluster_id_is_zero(n->cluster_id) ? NULL : cluster_id,
                     "versions", versions,
                     "id",
                     (json_int_t)n->cfg.id, "role", wr_role_name(st.role), "leader", leader,
                     "term", (json_int_t)st.term, "commit_index", (json_int_t)st.commit_index,
                     "applied_index", (json_int_t)st.applied_index, "last_index",
                     (json_int_t)st.last_index, "state_hash", hash, "state_hash_index",
                     (json_int_t)hash_index, "ready",
                     is_ready(n, &why, buf, sizeof buf), "nodes", nodes);
    if (doc != NULL)
        wr__node_drain_json(n, doc);
    return doc;
}

/* /api/cluster: the view above plus this node's load, which the /admin
 * dashboard charts and counts per node (cumulative: it takes differences
 * between its samples). */
json_t *wr__node_cluster_json(struct wr_node *n)
{
    json_t *o = cluster_json(n);
    const struct wr_proposer_stats *ps = wr_proposer_stats(n->proposer);
    const struct wr_http_stats *hs = wr_http_server_stats(n->http);
    json_t *stats = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:f}", "connections", (json_int_t)n->conns_open, "websockets",
        (json_int_t)hs->ws_open, "entries_applied", (json_int_t)n->entries_applied,
        "commands_applied", (json_int_t)n->commands_applied, "commit_latency_count",
        (json_int_t)ps->commit_latency.count, "commit_latency_sum_ms",
        ps->commit_latency.sum * 1000.0);
    if (o != NULL && stats != NULL)
        json_object_set_new(o, "stats", stats);
    else
        json_decref(stats);
    return o;
}

static const char *const kind_names[] = {"?", "node", "singleton", "player", "zone", "npc"};

struct reg_list {
    struct wr_reg_entry *e;
    size_t n, cap;
};

static void registry_collect(void *arg, const struct wr_reg_entry *e)
{
    struct reg_list *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->e = wr_realloc(l->e, l->cap * sizeof *l->e);
    }
    l->e[l->n++] = *e;
}

static int cmp_reg_name(const void *a, const void *b)
{
    return strcmp(((const struct wr_reg_entry *)a)->name, ((const struct wr_reg_entry *)b)->name);
}

/* Every name, the core's (nodes, singletons) and each game's, by name. */
static json_t *registry_json(struct wr_node *n)
{
    struct reg_list l = {0};
    wr_world_registry_each(n->world, registry_collect, &l);
    if (l.n > 0)
        qsort(l.e, l.n, sizeof *l.e, cmp_reg_name);
    json_t *names = json_array();
    for (size_t i = 0; i < l.n; i++) {
        const struct wr_reg_entry *e = &l.e[i];
        const char *kind = e->kind < sizeof kind_names / sizeof kind_names[0]
                               ? kind_names[e->kind]
                               : "?";
        json_t *o = json_pack("{s:s, s:s, s:I}", "name", e->name, "kind", kind, "node",
                              (json_int_t)e->node);
        if (e->kind == WR_REG_NODE)
            json_object_set_new(o, "http", json_string(e->http));
        else if (e->kind == WR_REG_SINGLETON || e->kind == WR_REG_ZONE)
            json_object_set_new(o, "epoch", json_integer((json_int_t)e->epoch));
        if (e->info[0] != '\0')
            json_object_set_new(o, "info", json_string(e->info));
        json_array_append_new(names, o);
    }
    free(l.e);
    return json_pack("{s:o}", "names", names);
}

/* /metrics: the Prometheus text exposition format (common/metrics.h).
 * Names and meanings are listed in docs/operations.md#metrics. */
static void metrics(struct wr_node *n, struct wr_http_conn *conn)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct wr_prom p;
    wr_prom_init(&p, f, n->cfg.id);
    struct wr_raft_status st;
    wr_raft_get_status(n->raft, &st);
    const struct wr_http_stats *hs = wr_http_server_stats(n->http);
    const struct wr_proposer_stats *ps = wr_proposer_stats(n->proposer);
    const struct wr_transport_stats *ts = wr_transport_stats(wr_raft_transport(n->raft));

    wr_prom_gauge(&p, "warren_raft_term", "the Raft term this node is in", (double)st.term);
    wr_prom_gauge(&p, "warren_raft_commit_index", "the highest log index known committed",
                  (double)st.commit_index);
    wr_prom_gauge(&p, "warren_raft_applied_index", "the highest log index applied here",
                  (double)st.applied_index);
    wr_prom_gauge(&p, "warren_raft_leader", "1 while this node is the leader",
                  st.role == WR_ROLE_LEADER);
    wr_prom_counter(&p, "warren_entries_applied_total", "log entries of commands applied here",
                    n->entries_applied);
    wr_prom_counter(&p, "warren_commands_applied_total",
                    "commands applied here (every node applies every command)",
                    n->commands_applied);
    wr_prom_counter(&p, "warren_events_total", "events the state machine emitted here",
                    n->events_delivered);
    wr_prom_histogram(&p, "warren_apply_seconds", "time to apply one log entry",
                      &n->apply_time);
    wr_prom_counter(&p, "warren_state_hashes_total",
                    "state hashes taken (checkpoints and quiet moments, not requests)",
                    n->state_hash.hashes);
    wr_prom_counter(&p, "warren_state_hash_skipped_total",
                    "checkpoint hashes skipped while two were still being hashed",
                    n->state_hash.skipped);
    wr_prom_histogram(&p, "warren_state_hash_write_seconds",
                      "loop time to write the world's bytes for one state hash",
                      &n->state_hash.write_time);
    wr_prom_histogram(&p, "warren_state_hash_seconds",
                      "worker thread time to hash them (BLAKE2b), off the loop",
                      &n->state_hash.hash_time);
    wr_prom_histogram(&p, "warren_event_fanout_seconds",
                      "time to send one loop iteration's events to this node's clients",
                      &n->fanout_time);

    wr_prom_gauge(&p, "warren_proposer_pending", "client commands waiting to be applied",
                  (double)ps->pending);
    wr_prom_counter(&p, "warren_commands_submitted_total",
                    "commands accepted from this node's clients", ps->submitted);
    wr_prom_counter(&p, "warren_commands_resent_total", "commands sent to a leader again",
                    ps->resent);
    wr_prom_counter(&p, "warren_commands_expired_total",
                    "commands given up after the queue timeout", ps->expired);
    wr_prom_counter(&p, "warren_commands_rejected_total",
                    "commands refused because the queue was full", ps->rejected_full);
    wr_prom_counter(&p, "warren_entries_proposed_total", "log entries proposed as leader",
                    ps->entries);
    wr_prom_counter(&p, "warren_commands_batched_total",
                    "commands put into entries proposed as leader", ps->batched);
    wr_prom_counter(&p, "warren_commands_forwarded_in_total",
                    "commands received from other nodes as leader", ps->forwarded_in);
    wr_prom_counter(&p, "warren_commands_forwarded_out_total",
                    "commands forwarded to another node's leader", ps->forwarded_out);
    wr_prom_histogram(&p, "warren_commit_latency_seconds",
                      "leader: an entry from propose to applied here", &ps->commit_latency);
    wr_prom_histogram(&p, "warren_client_command_latency_seconds",
                      "a local client's command from submit to applied here",
                      &ps->command_latency);

    wr_prom_gauge(&p, "warren_client_connections", "open game connections (WebSocket, telnet)",
                  (double)n->conns_open);
    wr_prom_gauge(&p, "warren_http_connections", "open HTTP connections, WebSockets included",
                  (double)hs->connections_open);
    wr_prom_gauge(&p, "warren_websockets", "open WebSocket connections", (double)hs->ws_open);
    wr_prom_counter(&p, "warren_http_requests_total", "HTTP requests", hs->requests);
    wr_prom_counter(&p, "warren_ws_messages_received_total", "WebSocket messages received",
                    hs->ws_messages_in);
    wr_prom_counter(&p, "warren_ws_frames_sent_total", "WebSocket frames sent",
                    hs->ws_frames_out);
    wr_prom_counter(&p, "warren_http_received_bytes_total", "bytes read from HTTP clients",
                    hs->bytes_in);
    wr_prom_counter(&p, "warren_http_sent_bytes_total", "bytes written to HTTP clients",
                    hs->bytes_out);
    wr_prom_counter(&p, "warren_client_limit_closes_total",
                    "client connections closed for breaking a limit", hs->limit_closes);

    wr_prom_counter(&p, "warren_cluster_accepted_total",
                    "cluster connections accepted after the handshake", ts->accepted);
    wr_prom_counter(&p, "warren_cluster_rejected_total",
                    "cluster connections refused (bad handshake or secret)", ts->rejected);
    wr_prom_family(&p, "warren_cluster_dials_total", "counter",
                   "cluster connections this node opened, by handshake result");
    wr_prom_sample(&p, "warren_cluster_dials_total", "result", "ok", (double)ts->dial_ok);
    wr_prom_sample(&p, "warren_cluster_dials_total", "result", "rejected",
                   (double)ts->dial_rejected);
    wr_raft_metrics(n->raft, &p);

    for (size_t i = 0; i < wr_game_count; i++) {
        if (wr_games[i]->metrics == NULL)
            continue;
        wr_prom_game(&p, wr_games[i]->name);
        wr_games[i]->metrics(n->games[i], &p);
    }
    wr_prom_game(&p, NULL);
    wr_node_config_dump(&n->cfg, &p);
    fclose(f);
    wr_http_respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

bool wr_node_admin_check(struct wr_node *wn, struct wr_http_conn *conn,
                         const struct wr_http_request *req, const char *what)
{
    return wr_admin_check(&wn->admin, conn, req, what);
}

void wr__node_on_request(struct wr_http_server *srv, struct wr_http_conn *conn,
                         const struct wr_http_request *req)
{
    struct wr_node *n = wr_http_server_data(srv);
    const char *p = req->path;
    bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    /* Every POST changes something: the token first, for the node and the
     * games alike. Reads of the API and metrics only with --admin-reads token. */
    char what[96];
    snprintf(what, sizeof what, "%s %.80s", req->method, p);
    bool api_read = strncmp(p, "/api/", 5) == 0 || strcmp(p, "/metrics") == 0;
    if ((!get || (api_read && n->admin.close_reads)) && !wr_admin_check(&n->admin, conn, req, what))
        return;
    if (!get) {
        if (wr__node_members_request(n, conn, req) || wr__node_drain_request(n, conn, req))
            return;
        /* Games may take POSTs (the MUD's world upload). */
        for (size_t i = 0; i < wr_game_count; i++)
            if (wr_games[i]->on_request != NULL && wr_games[i]->on_request(n->games[i], conn, req))
                return;
        wr_http_respond(conn, 405, "text/plain", "method not allowed\n", 19);
    } else if (strcmp(p, "/healthz") == 0) {
        wr_http_respond(conn, 200, "text/plain", "ok\n", 3);
    } else if (strcmp(p, "/readyz") == 0) {
        const char *why;
        char buf[96], body[128];
        bool ok = is_ready(n, &why, buf, sizeof buf);
        int len = snprintf(body, sizeof body, "%s\n", ok ? "ready" : why);
        wr_http_respond(conn, ok ? 200 : 503, "text/plain", body, (size_t)len);
    } else if (strcmp(p, "/api/cluster") == 0) {
        wr_node_respond_json(conn, 200, wr__node_cluster_json(n));
    } else if (strcmp(p, "/api/registry") == 0) {
        wr_node_respond_json(conn, 200, registry_json(n));
    } else if (strcmp(p, "/metrics") == 0) {
        metrics(n, conn);
    } else if (wr__node_drain_refuse_ws(n, conn, req)) {
        return;
    } else {
        for (size_t i = 0; i < wr_game_count; i++)
            if (wr_games[i]->on_request != NULL && wr_games[i]->on_request(n->games[i], conn, req))
                return;
        wr_http_respond(conn, 404, "text/plain", "not found\n", 10);
    }
}
