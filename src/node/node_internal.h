/* Private to src/node/: the node struct shared by node.c (the process,
 * games and events) and node_api.c (the HTTP admin API). */
#ifndef WR_NODE_INTERNAL_H
#define WR_NODE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "cluster/membership.h"
#include "cluster/proposer.h"
#include "cluster/raft_glue.h"
#include "net/http.h"
#include "net/telnet.h"
#include "common/metrics.h"
#include "node/admin.h"
#include "node/admin_ws.h"
#include "node/apply_log.h"
#include "node/config.h"
#include "node/state_hash.h"
#include "common/u64map.h"
#include "world/world.h"

#define SINGLETON_MS 250
#define WR_MAX_GAMES 16

/* What this node holds (node_drain.c), as /api/cluster reports it. */
struct holds {
    uint32_t me;
    size_t zones, singletons;
};

struct wr_node {
    struct wr_node_config cfg;
    uv_loop_t *loop;
    struct wr_world *world;
    struct wr_state_hash state_hash; /* /api/cluster's state_hash, kept per index */
    struct wr_raft *raft;
    struct wr_proposer *proposer;
    struct wr_http_server *http;
    struct wr_telnet_server *telnet; /* NULL without --telnet */
    int telnet_game;                 /* index in wr_games, or -1 */
    uv_signal_t sigterm, sigint;
    uv_check_t deliver;
    uv_timer_t tick;
    bool stopping;
    int exit_code;

    void *games[WR_MAX_GAMES]; /* each game's node-side state, as in wr_games */
    uint64_t conns_open;

    struct wr_raft_status status;
    uint8_t key[WR_CLUSTER_KEY_BYTES];
    uint64_t incarnation; /* random per process: tells restarts apart */
    bool degraded;        /* last status told to clients */
    uint64_t leaderless_since; /* loop time; 0 while a leader is known */
    uv_timer_t singleton;
    /* The leader's view of its peers, by node id: when each member of the
     * configuration was last heard from (loop time). */
    struct wr_u64map seen_idx; /* node id -> index in seen_at */
    uint64_t *seen_at;
    size_t n_seen, cap_seen;

    struct wr_members *members; /* membership service (cluster/membership.h) */
    uint8_t cluster_id[WR_CLUSTER_ID_BYTES]; /* recorded in DATA/cluster-id */
    bool wants_vote;          /* joined: ask for promotion until a voter */
    uint64_t contact_id;      /* the leader that admitted us (--join) */
    char contact_address[64];
    bool removed;             /* no longer in the configuration: stopping */

    /* drain (node_drain.c) */
    bool drain_seen;          /* the mark on this node, as last logged */
    bool drain_closing;       /* handed everything over: closing clients */
    bool drain_transferring;  /* a leadership transfer is in flight */
    uint64_t drain_transfer_at, drain_telnet_at; /* loop time of the last try */
    struct holds holds_cache; /* for /api/cluster: counted at holds_at, */
    uint64_t holds_gen, holds_at; /* when the world was at change holds_gen */
    bool holds_valid;

    uint64_t events_delivered;
    uint64_t events_at_flush; /* events_delivered at the last flush */
    uint64_t entries_applied;
    uint64_t commands_applied; /* verdict applied, from any node */
    struct wr_hist apply_time;  /* wr_world_apply of one entry */
    struct wr_hist fanout_time; /* one flush of the games' events to clients */
    struct wr_apply_log *apply_log; /* NULL without --apply-log */
    struct wr_admin admin;
    struct wr_admin_ws *admin_ws; /* the /admin dashboard's feed */
};

/* Before libraft starts (node_join.c): read DATA/cluster-id, then join
 * the cluster at --join, or check that the peers of --peers are this
 * node's cluster. Sets *bootstrap (found a new cluster) and n->wants_vote /
 * contact. Returns 0, or -1 with a one-line reason for the operator. Runs
 * the loop until its requests are answered or time out. */
int wr__node_prestart(struct wr_node *n, bool *bootstrap, char *err, size_t errlen);
/* Record the cluster id the log carries in DATA/cluster-id when it differs
 * from the one recorded (after applies and restores). */
void wr__node_note_cluster_id(struct wr_node *n);

/* POST /api/cluster/nodes, /api/cluster/remove, /api/cluster/transfer
 * (node_members.c): true if @req was one of them (answered, maybe later). */
bool wr__node_members_request(struct wr_node *n, struct wr_http_conn *conn,
                              const struct wr_http_request *req);
/* Not the leader: answer 307 naming the leader's HTTP address (503 when
 * none is known), with @why (node_members.c). */
void wr__node_redirect_to_leader(struct wr_node *n, struct wr_http_conn *conn, const char *why);

/* Drain (node_drain.c). wr__node_drain_request: POST /api/cluster/drain
 * and /undrain, true if @req was one (answered). wr__node_drain_refuse_ws:
 * a GET of a game's WebSocket path on a draining node (its upgrade is not
 * routed then): answered 503 naming another node, true. wr__node_drain_json:
 * add this node's drain state to its /api/cluster object. wr__node_drain_tick:
 * every SINGLETON_MS, the draining duties. */
bool wr__node_drain_request(struct wr_node *n, struct wr_http_conn *conn,
                            const struct wr_http_request *req);
bool wr__node_drain_refuse_ws(struct wr_node *n, struct wr_http_conn *conn,
                              const struct wr_http_request *req);
struct json_t;
void wr__node_drain_json(struct wr_node *n, struct json_t *cluster);
void wr__node_drain_tick(struct wr_node *n);

/* The members as /api/cluster lists them. */
struct json_t;
struct json_t *wr__node_members_json(struct wr_node *n);

/* The HTTP handler for everything that is not a static file or /ws:
 * /healthz, /readyz, /api/cluster, /api/state, /api/registry, /metrics
 * (docs/api.md). */
void wr__node_on_request(struct wr_http_server *srv, struct wr_http_conn *conn,
                         const struct wr_http_request *req);

/* This node's /api/cluster answer (a new reference). */
struct json_t *wr__node_cluster_json(struct wr_node *n);

#endif
