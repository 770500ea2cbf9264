/* The node-side half of a game: what node/ knows of a game, and what a game
 * may ask of the node. The state machine half is world/module.h; the list
 * of games is src/games.c.
 *
 * A node runs every game linked in. node/ owns the process: the Raft glue,
 * the proposer, the HTTP and telnet listeners, signals, the node registry
 * and leader/degraded status. A game owns its clients' protocol: node/
 * hands it the connections of its routes (a WebSocket path, the telnet
 * listener), the events of its module, and its timers:
 *
 *   on_open/on_message/on_close  a connection of the game's route; a
 *                                message is one WebSocket text message or
 *                                one telnet input line
 *   on_event       every event of the game's module, as this node applies
 *                  the entry (deliver to own clients only)
 *   flush          once per loop iteration, after that iteration's applies:
 *                  coalesce and send
 *   on_leader_ready  this node leads and its state is current: submit setup
 *                  commands (wr_node_submit_setup)
 *   leader_tick    every 250 ms while this node is the ready leader (the
 *                  game's singleton duties: expiries, placement...)
 *   tick           every 250 ms on every node (its own duties: zones it
 *                  owns, presence)
 *   drain          this node is draining and has handed its leadership,
 *                  zones and singletons over: close every client with the
 *                  "move elsewhere" close (docs/protocol.md); called every
 *                  tick while that lasts. New connections: on_open checks
 *                  wr_node_refuses_clients (telnet; WebSocket upgrades
 *                  are refused before they open)
 *   on_status      the leader or the degraded flag changed
 *   on_expired     the proposer gave up on a command of @session (every
 *                  game is told; the one with that session acts)
 *   on_request     an HTTP GET the node did not answer: return true if the
 *                  game answered it (wr_http_respond)
 *   stop           the node is shutting down: close the game's own libuv
 *                  handles (the loop runs their close callbacks before
 *                  destroy)
 *   metrics        write the game's families to /metrics with the
 *                  wr_prom_* writers (their samples get node and game labels)
 *   mssp, version  see below
 * Every callback may be NULL except create and destroy. All run on the
 * loop thread.
 *
 * The bookkeeping every game keeps for its clients (a table by slot, the
 * session -> client map, session keys, a session command with the
 * client's next seq, the status message, the presence round) is in
 * node/clients.h; the game's client struct stays its own. */
#ifndef WR_NODE_GAME_H
#define WR_NODE_GAME_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "net/conn.h"
#include "net/http.h"
#include "net/telnet.h"
#include "world/world.h"

struct wr_node;
struct json_t; /* jansson */
struct wr_prom; /* common/metrics.h */

/* A game setting: a flag, its environment variable, its default, range
 * and help, parsed by node/config.c with the node's own; stored at
 * @target (long for ints, char[size] for strings). */
struct wr_game_setting {
    const char *flag;
    const char *env;
    bool is_string;
    void *target;
    size_t size;
    long min, max;
    const char *def;
    const char *help;
};

struct wr_game {
    const char *name;
    uint8_t module;       /* its state machine module's id */
    const char *ws_path;  /* WebSocket endpoint ("/ws"), or NULL */
    bool telnet;          /* takes the telnet listener's connections */
    const struct wr_game_setting *settings; /* ends with a NULL flag; or NULL */

    void *(*create)(struct wr_node *node);
    void (*destroy)(void *g);
    void (*on_open)(void *g, struct wr_conn *c);
    void (*on_message)(void *g, struct wr_conn *c, const char *data, size_t len);
    void (*on_close)(void *g, struct wr_conn *c);
    void (*on_event)(void *g, const struct wr_event *ev);
    void (*flush)(void *g);
    void (*on_leader_ready)(void *g, uint64_t term);
    void (*leader_tick)(void *g);
    void (*tick)(void *g);
    void (*on_status)(void *g);
    void (*drain)(void *g);
    void (*on_expired)(void *g, uint64_t session);
    bool (*on_request)(void *g, struct wr_http_conn *conn, const struct wr_http_request *req);
    void (*metrics)(void *g, struct wr_prom *p);
    void (*stop)(void *g);
    /* telnet games: MSSP variables (see net/telnet.h). */
    size_t (*mssp)(void *g, struct wr_telnet_mssp_var *vars, size_t max);
    /* A short version string of the game's content (the MUD's world
     * hash), shown on /api/cluster as "<name>_version"; or NULL. */
    void (*version)(void *g, char *out, size_t len);
};

/* ---- what a game may ask of the node -------------------------------- */

uint32_t wr_node_id(const struct wr_node *n);
/* Random per process: tells a restarted node's sessions apart. */
uint64_t wr_node_incarnation(const struct wr_node *n);
uv_loop_t *wr_node_loop(struct wr_node *n);
struct wr_world *wr_node_world(struct wr_node *n);
long wr_node_election_timeout(const struct wr_node *n);
/* --grace: how long a disconnected player stays in the world, ms. */
long wr_node_grace_ms(const struct wr_node *n);
/* Shutting down: propose nothing more for closing connections. */
bool wr_node_stopping(const struct wr_node *n);
uint64_t wr_node_applied_index(const struct wr_node *n);
/* The state hash this node reports and the log index of the state it is
 * the hash of (node/state_hash.h): O(1). */
void wr_node_state_hash(const struct wr_node *n, char hex[17], uint64_t *index);
/* Wall-clock ms, for comparing with log times (leaders stamp entries with
 * theirs). Never use it inside apply. */
uint64_t wr_node_wall_ms(void);

struct wr_node_status {
    uint64_t leader_id; /* 0: none known */
    bool leader;        /* this node leads */
    bool degraded;      /* no leader for longer than an election takes */
};
void wr_node_status(const struct wr_node *n, struct wr_node_status *out);

/* Drain (docs/operations.md): is node @id marked draining (the
 * replicated mark: every node agrees); is this node (so it takes no new
 * client); and where its clients should go: another node's HTTP address
 * (@telnet false) or telnet address, the leader's if it is not draining,
 * or NULL when none is known. The string is valid until the next apply. */
bool wr_node_draining(const struct wr_node *n, uint32_t id);
bool wr_node_refuses_clients(const struct wr_node *n);
const char *wr_node_elsewhere(const struct wr_node *n, bool telnet);

/* Submit a session command from a local client. cmd->node is set to this
 * node. Returns 0, or -1 if the queue is full (nothing queued). */
int wr_node_submit(struct wr_node *n, struct wr_cmd *cmd);
/* A session-less command, sent to the leader once (the caller re-checks
 * the state later and sends again if it did not land). */
void wr_node_submit_once(struct wr_node *n, struct wr_cmd *cmd);
/* From on_leader_ready only: a setup command at the head of the next batch. */
void wr_node_submit_setup(struct wr_node *n, struct wr_cmd *cmd);
/* Is this node the leader with a current state machine? */
bool wr_node_leader_ready(const struct wr_node *n);

/* Cluster members as this node knows them: the voters of its libraft
 * configuration (nodes join and leave while the cluster runs), as a
 * malloc'd array of *count ids the caller frees. */
uint64_t *wr_node_members(const struct wr_node *n, size_t *count);
/* Leader only: how long the leader has not heard from node @id, in ms (0
 * for itself or a node heard from recently; UINT64_MAX for a node that is
 * not in the configuration: removed, gone for good). */
uint64_t wr_node_peer_silent_ms(const struct wr_node *n, uint64_t id);
/* The silence after which a node counts as gone: 3 election timeouts, at
 * least 1 s. */
uint64_t wr_node_down_after_ms(const struct wr_node *n);

/* Answer an HTTP request with @body as JSON (the reference is taken; NULL,
 * from a json_pack that failed, answers 500). */
void wr_node_respond_json(struct wr_http_conn *conn, int status, struct json_t *body);

/* An admin request (node/admin.h): true if it carries the admin token;
 * otherwise 401 is answered, a line logged naming @what, and false
 * returned. The node checks every POST itself before a game sees it. */
bool wr_node_admin_check(struct wr_node *wn, struct wr_http_conn *conn,
                         const struct wr_http_request *req, const char *what);
/* Send @body as one JSON message on @c (the reference is taken; NULL is
 * logged and sends nothing). */
void wr_node_send_json(struct wr_conn *c, struct json_t *body);
/* A directory shipped with the binary: @name next to its build directory
 * (build/warren -> ../NAME) if that exists, else NAME in the working
 * directory. Writes the path to @out. */
void wr_node_find_dir(const char *name, char *out, size_t len);

#endif
