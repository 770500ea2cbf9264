/* Private to src/node/: the node and client structs shared by node.c (the
 * process, clients and events) and node_api.c (the HTTP admin API). */
#ifndef WR_NODE_INTERNAL_H
#define WR_NODE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "cluster/proposer.h"
#include "cluster/raft_glue.h"
#include "common/u64map.h"
#include "net/http.h"
#include "node/config.h"
#include "world/world.h"

#define WR_TOKEN_BYTES 16
#define SINGLETON_MS 250

/* A client connection's states and their rules: see the top of node.c. */
enum client_state { C_CONNECTED, C_JOINING, C_RESUMING, C_JOINED, C_LEAVING };

struct client {
    struct node *node;
    struct wr_ws *ws;
    enum client_state state;
    uint64_t session;
    uint32_t next_seq;        /* session seq of the next command */
    uint64_t last_client_seq; /* highest move seq the client sent */
    uint32_t player_id;
    uint32_t slot;
    char token[2 * WR_TOKEN_BYTES + 1]; /* hex, sent in the welcome */
    bool needs_full; /* welcomed: owed the list of every player */
};

struct node {
    struct wr_node_config cfg;
    uv_loop_t *loop;
    struct wr_world *world;
    struct wr_raft *raft;
    struct wr_proposer *proposer;
    struct wr_http_server *http;
    uv_signal_t sigterm, sigint;
    uv_check_t deliver;
    uv_timer_t tick;
    bool stopping;
    int exit_code;

    struct client **clients; /* by slot */
    uint32_t n_slots, cap_slots;
    uint32_t *free_slots;
    uint32_t n_free;
    struct wr_u64map by_session; /* session -> slot */
    size_t n_joined;

    /* coalesced broadcast */
    uint32_t *dirty;
    size_t n_dirty, cap_dirty;
    struct wr_u64map dirty_set;
    uint32_t *left;
    size_t n_left, cap_left;
    size_t n_needs_full;

    struct wr_raft_status status;
    uint8_t key[WR_CLUSTER_KEY_BYTES];
    uint64_t incarnation; /* random per process: tells restarts apart */
    bool degraded;        /* last status told to clients */
    uint64_t leaderless_since; /* loop time; 0 while a leader is known */
    uv_timer_t singleton;
    uint64_t last_seen[WR_MAX_PEERS + 1]; /* by position in cfg.peers */
    uint64_t last_expiry_round;

    uint64_t events_delivered;
    uint64_t frames_broadcast;
};

/* ---- clients -------------------------------------------------------- */

/* The HTTP handler for everything that is not a static file or /ws:
 * /healthz, /readyz, /api/cluster, /api/state, /api/registry, /metrics
 * (docs/api.md). */
void wr__node_on_request(struct wr_http_server *srv, struct wr_http_conn *conn,
                         const struct wr_http_request *req);

#endif
