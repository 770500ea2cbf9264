/* Getting commands into the log.
 *
 * Origin side (every node): a command from a local client is kept in a
 * bounded FIFO of pending commands until this node applies it (or learns it
 * was a duplicate). It is sent to the leader: into the local batch when this
 * node leads, over an authenticated forward-channel connection otherwise.
 * When the leader changes, or a command has waited too long, every pending
 * command is sent again in order; the state machine's (session, seq) rule
 * makes the repeats harmless and keeps each session's commands in order.
 * A command still pending after the queue timeout is given up: its session
 * is reported expired (the node tells the client) and all its commands go.
 *
 * Leader side: commands from the local FIFO and from forward connections are
 * batched into one log entry per loop iteration (group commit), with up to
 * max_inflight entries in flight (with a --seed, one command per entry). A new leader first commits a barrier, so
 * its state machine is current, then lets the node put its setup commands
 * (singleton placement...) at the head of the first batch. */
#ifndef WR_CLUSTER_PROPOSER_H
#define WR_CLUSTER_PROPOSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cluster/raft_glue.h"
#include "common/metrics.h"
#include "world/world.h"

struct wr_proposer;

struct wr_proposer_config {
    uint32_t node_id;
    size_t max_pending;         /* commands waiting on this node; 8192 */
    unsigned queue_timeout_ms;  /* give a command up after this; 5000 */
    unsigned resend_ms;         /* resend if not applied after this; 1000 */
    size_t max_entry_bytes;     /* 64 KiB */
    unsigned max_inflight;      /* entries in flight; 4 */
    /* 0: every entry's seed is random (libsodium). Otherwise (--seed, for
     * tests and bug reproduction only) every command goes in an entry of
     * its own whose seed is derived from this value and the command's
     * module, type and payload, so the same command draws the same dice in
     * every run (wr_proposer_seed). */
    uint64_t seed;
};
void wr_proposer_config_default(struct wr_proposer_config *c);

struct wr_proposer_hooks {
    void *data;
    /* This node leads and its state machine is current: submit setup
     * commands now with wr_proposer_submit_setup. */
    void (*on_leader_ready)(void *data, uint64_t term);
    /* A pending command of @session waited longer than queue_timeout. The
     * session's pending commands are dropped. */
    void (*on_expired)(void *data, uint64_t session);
};

struct wr_proposer *wr_proposer_create(uv_loop_t *loop, struct wr_raft *raft,
                                       const struct wr_proposer_config *cfg,
                                       const struct wr_proposer_hooks *hooks);

/* What the proposer needs from outside it. wr_proposer_create fills these
 * with the node's own: the loop's clock and a tick timer, the raft glue's
 * propose and barrier, the cluster transport's dial. Tests pass their own
 * (a simulated clock, raft_fixture, an in-process forward channel) to
 * wr_proposer_create_with. Each function has the contract of the one it
 * stands for (raft_glue.h, transport.h). */
struct wr_proposer_ops {
    void *data;
    uint64_t (*now_ms)(void *data);  /* monotonic: timeouts, resends, redials */
    uint64_t (*wall_ms)(void *data); /* the time stamped into entries */
    int (*propose)(void *data, const void *entry, size_t len, wr_raft_done_cb cb, void *arg);
    int (*barrier)(void *data, wr_raft_done_cb cb, void *arg);
    /* wr_raft_notify_commit; NULL or -1: a barrier does its job. */
    int (*notify)(void *data);
    int (*dial)(void *data, struct wr_dial *req, uint64_t id, const char *address,
                wr_dial_cb cb);
    /* false: a uv timer calls the tick every 50 ms of loop time; true: the
     * caller calls wr__proposer_tick itself, on its own clock. */
    bool caller_ticks;
};
/* Internal (tests only): a proposer on @ops (copied). @loop still carries
 * the once-per-iteration flush and the forward connections' streams. */
struct wr_proposer *wr__proposer_create_with(uv_loop_t *loop, const struct wr_proposer_ops *ops,
                                             const struct wr_proposer_config *cfg,
                                             const struct wr_proposer_hooks *hooks);
/* Internal (tests only): what the 50 ms timer does: give up on commands
 * older than the queue timeout, resend what waited resend_ms, redial. */
void wr__proposer_tick(struct wr_proposer *p);
/* Stop starting anything new that involves libraft (proposals, barriers,
 * dials). Call before wr_raft_stop: libraft's close then completes the
 * entries in flight through this proposer, which must still exist. */
void wr_proposer_quiesce(struct wr_proposer *p);

/* Close every handle and connection; @cb when done (free is included).
 * Only after libraft has stopped (see wr_proposer_quiesce). */
void wr_proposer_destroy(struct wr_proposer *p, void (*cb)(void *arg), void *arg);

/* Queue a session command (session != 0) from a local client. The bytes are
 * copied. Returns 0, or -1 if the queue is full (nothing queued). */
int wr_proposer_submit(struct wr_proposer *p, const struct wr_cmd *cmd);

/* Leader only, from on_leader_ready: a session-less command placed at the
 * head of the next batch. Not tracked or retried: if leadership is lost the
 * next leader proposes its own. */
void wr_proposer_submit_setup(struct wr_proposer *p, const struct wr_cmd *cmd);

/* A session-less command from this node (e.g. its registry record), sent to
 * the leader once; the caller checks the state and sends it again later if
 * it did not land. */
void wr_proposer_submit_once(struct wr_proposer *p, const struct wr_cmd *cmd);

/* The entry seed --seed @seed gives a command (module, type, payload):
 * mix64 of @seed and a BLAKE2b of those bytes. Same inputs, same seed. */
uint64_t wr_proposer_seed(uint64_t seed, const struct wr_cmd *cmd);

/* Feed every applied command's verdict (world hook). */
void wr_proposer_on_verdict(struct wr_proposer *p, const struct wr_cmd *cmd, enum wr_verdict v);

/* Feed role/leader changes (raft glue hook). */
void wr_proposer_on_change(struct wr_proposer *p, const struct wr_raft_status *st);

/* A forward-channel connection from another node (raft glue hook). */
void wr_proposer_accept(struct wr_proposer *p, uint64_t peer_id, uv_tcp_t *tcp);

/* Has this node, as leader, committed its barrier in the current term? */
int wr_proposer_leader_ready(const struct wr_proposer *p);

struct wr_proposer_stats {
    uint64_t pending;        /* commands waiting now */
    uint64_t submitted;      /* commands accepted from local clients */
    uint64_t resent;         /* commands sent again */
    uint64_t expired;        /* commands given up */
    uint64_t rejected_full;  /* submissions refused: queue full */
    uint64_t entries;        /* entries proposed as leader */
    uint64_t batched;        /* commands put into those entries */
    uint64_t forwarded_in;   /* commands received from other nodes */
    uint64_t forwarded_out;  /* commands sent to another leader */
    /* Leader: an entry's propose -> applied here. Origin: a local client's
     * command from submit to its verdict here (what the client waits). */
    struct wr_hist commit_latency;
    struct wr_hist command_latency;
};
const struct wr_proposer_stats *wr_proposer_stats(const struct wr_proposer *p);

#endif
