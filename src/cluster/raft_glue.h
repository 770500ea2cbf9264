/* Warren's only door to libraft. Everything that touches struct raft lives in
 * raft_glue.c, so that moving to the API-compatible cowsql/raft fork, or to
 * another version, changes one file. It sets libraft up the way
 * shared/notes/libraft-0.15.md recommends (pre-vote, fast connect retry,
 * snapshot sizes for a high-rate log, an authenticated transport, a lock on
 * the data directory), turns libraft's missing state callback into a polled
 * one, and exposes proposals and barriers with libuv's callback contract:
 * if a function returns an error its callback is never called; otherwise the
 * callback runs exactly once. Loop thread only. */
#ifndef WR_CLUSTER_RAFT_GLUE_H
#define WR_CLUSTER_RAFT_GLUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cluster/transport.h"
#include "common/bytes.h"

struct wr_raft;

struct wr_raft_peer {
    uint64_t id;
    char address[64]; /* cluster address, IPv4:port */
};

struct wr_raft_config {
    uint64_t id;
    const char *address;               /* our cluster address */
    const struct wr_raft_peer *peers;  /* initial voters, including us */
    size_t n_peers;
    bool no_bootstrap;                 /* wr_raft_start: start with an empty
                                          log when there is none (a node
                                          joining a running cluster) */
    const char *data_dir;              /* created if missing, then locked */
    unsigned election_timeout_ms;
    unsigned heartbeat_ms;
    unsigned snapshot_threshold;       /* entries between snapshots */
    unsigned snapshot_trailing;        /* entries kept behind a snapshot */
    uint8_t key[WR_CLUSTER_KEY_BYTES]; /* cluster secret, derived */
    unsigned handshake_timeout_ms;     /* cluster port, before the secret is
                                          proven (wr_transport_set_limits);
                                          0: the default */
    unsigned max_handshakes_per_ip;
};

/* The state machine as libraft sees it. apply gets every committed entry,
 * on every node, in log order, possibly followed by zero padding, with the
 * entry's log index (for the apply log; the world does not see it); snapshot
 * writes the whole state; restore replaces it with exactly the bytes
 * snapshot wrote (return 0, or -1 if the bytes are bad). */
struct wr_raft_fsm {
    void *data;
    void (*apply)(void *data, uint64_t index, const void *entry, size_t len);
    void (*snapshot)(void *data, struct wr_writer *out);
    int (*restore)(void *data, const void *buf, size_t len);
};

enum wr_role { WR_ROLE_UNAVAILABLE = 0, WR_ROLE_FOLLOWER, WR_ROLE_CANDIDATE, WR_ROLE_LEADER };
const char *wr_role_name(enum wr_role role);

struct wr_raft_status {
    enum wr_role role;
    uint64_t leader_id; /* 0 when no leader is known */
    char leader_address[64];
    uint64_t term;
    uint64_t commit_index; /* highest index this node knows is committed */
    uint64_t applied_index;
    uint64_t last_index;
};

struct wr_raft_hooks {
    void *data;
    /* role, leader or term changed (looked at after every loop iteration;
     * libraft 0.15 has no state callback). */
    void (*on_change)(void *data, const struct wr_raft_status *st);
    /* an authenticated forward-channel connection arrived (transport.h) */
    wr_fwd_accept_cb on_fwd_accept;
    /* an authenticated membership-channel connection arrived (transport.h) */
    wr_fwd_accept_cb on_member_accept;
};

/* Set libraft up and start it: wr_raft_open, then wr_raft_begin with
 * bootstrap unless cfg->no_bootstrap. On failure returns a negative code and
 * writes the reason (including libraft's own message and numeric code) to
 * @err; nothing is left running. */
int wr_raft_start(struct wr_raft **out, uv_loop_t *loop, const struct wr_raft_config *cfg,
                  const struct wr_raft_fsm *fsm, const struct wr_raft_hooks *hooks, char *err,
                  size_t errlen);

/* The two halves of wr_raft_start, for a node that must ask the cluster
 * something before it starts (warren node --join; the cluster identity
 * check). wr_raft_open locks the data directory and initialises libraft
 * and the transport: dials work (wr_raft_transport), nothing listens and
 * no Raft message flows. Then either wr_raft_begin (bootstrap the
 * configuration of cfg->peers if @bootstrap and the directory holds no
 * log yet, then start: listen, load the log, run), or wr_raft_abandon
 * (close everything, running the loop until it is done; @r is freed).
 * wr_raft_begin frees @r on failure. */
int wr_raft_open(struct wr_raft **out, uv_loop_t *loop, const struct wr_raft_config *cfg,
                 const struct wr_raft_fsm *fsm, const struct wr_raft_hooks *hooks, char *err,
                 size_t errlen);
int wr_raft_begin(struct wr_raft *r, bool bootstrap, char *err, size_t errlen);
void wr_raft_abandon(struct wr_raft *r);

/* Does @dir hold a node's Raft log (libraft's metadata files)? */
bool wr_raft_has_log(const char *dir);

/* Stop libraft cleanly (in-flight proposals complete with an error), then
 * call @cb; all memory is released by then. */
void wr_raft_stop(struct wr_raft *r, void (*cb)(void *arg), void *arg);

void wr_raft_get_status(struct wr_raft *r, struct wr_raft_status *st);

struct wr_raft_node {
    uint64_t id;
    char address[64];
    const char *role; /* "voter", "standby", "spare" */
    bool voter;
};
/* The current configuration as this node knows it (libraft's: the latest
 * one in its log, committed or not; empty on a node that joined and has
 * not received it yet). wr_raft_node_count members; wr_raft_nodes_at the
 * @i-th (i < count); wr_raft_nodes copies up to @max and returns how many;
 * wr_raft_node_find: is @id a member (and its entry, if @out). */
size_t wr_raft_node_count(struct wr_raft *r);
void wr_raft_nodes_at(struct wr_raft *r, size_t i, struct wr_raft_node *out);
size_t wr_raft_nodes(struct wr_raft *r, struct wr_raft_node *out, size_t max);
bool wr_raft_node_find(struct wr_raft *r, uint64_t id, struct wr_raft_node *out);

/* Leader only: has node @id been heard from within the last election
 * timeout? false when not leader or @id is not a member. */
bool wr_raft_peer_recent(struct wr_raft *r, uint64_t id);

/* Early elections (raft_early.c): the forward connection to node @peer
 * ended with libuv status @status. Returns true when the caller should
 * redial @peer at once: its kernel closed a connection to our leader, and a
 * refused redial would mean its process is gone. */
bool wr_raft_leader_conn_lost(struct wr_raft *r, uint64_t peer, int status);

/* A dial to node @peer ended with @status (0 or a libuv code). A refusal
 * after wr_raft_leader_conn_lost said "redial" starts an election at once
 * (staggered among the followers), instead of after the election timeout.
 * Returns true when the caller should redial at once (the probe was
 * inconclusive). */
bool wr_raft_leader_dial(struct wr_raft *r, uint64_t peer, int status);

/* Early campaigns this node started (all three reasons of raft_early.h). */
uint64_t wr_raft_early_campaigns(struct wr_raft *r);

typedef void (*wr_raft_done_cb)(void *arg, int status);

/* Leader only. Propose a copy of @len bytes at @data as one log entry (zero
 * padded to a multiple of 8, which libraft requires: the state machine's
 * apply sees the padding). Returns 0, and the callback later says 0 once the
 * entry is applied here, or a negative code if leadership was lost (the
 * entry may still commit); or returns a negative code (not leader, shutting
 * down) and the callback never runs. */
int wr_raft_propose(struct wr_raft *r, const void *data, size_t len, wr_raft_done_cb cb,
                    void *arg);

/* Leader only: call @cb once every entry before now is applied here. */
int wr_raft_barrier(struct wr_raft *r, wr_raft_done_cb cb, void *arg);

/* Leader only: tell the followers the commit index at the end of this loop
 * iteration, with a heartbeat rather than a log entry (raft_notify.c), so
 * that they apply what just committed. 0, or -1 if this glue cannot (a
 * raft_fixture server, or stopping): propose a barrier instead. */
int wr_raft_notify_commit(struct wr_raft *r);

/* The transport, for opening forward-channel connections. */
struct raft_uv_transport *wr_raft_transport(struct wr_raft *r);

/* /metrics: the glue's families (the per-peer send cap, raft_sendcap.h). */
struct wr_prom;
void wr_raft_metrics(struct wr_raft *r, struct wr_prom *p);

/* ---- membership changes (leader only) ----
 * One at a time: while one of ours is in flight, or libraft is still
 * promoting a node, another returns WR_EBUSY. Each returns 0 and calls
 * @cb once with 0 or a negative code below, or returns a negative code
 * and never calls @cb.
 *
 * wr_raft_add: @id at cluster address @address joins as a spare (no vote,
 * no log). wr_raft_promote: spare or standby @id becomes a voter; libraft
 * first replicates the log to it in catch-up rounds (WR_ECATCHUP when it
 * does not keep up, e.g. it is not running). wr_raft_remove: @id leaves the
 * configuration (libraft does not tell it: the caller does). The callback
 * runs once the change is committed. wr_raft_transfer: hand the leadership
 * to voter @id (0: libraft picks the most caught-up voter); @cb says 0 once
 * another node leads, WR_ELOST if none took over within an election
 * timeout. */
int wr_raft_add(struct wr_raft *r, uint64_t id, const char *address, wr_raft_done_cb cb,
                void *arg);
int wr_raft_promote(struct wr_raft *r, uint64_t id, wr_raft_done_cb cb, void *arg);
int wr_raft_remove(struct wr_raft *r, uint64_t id, wr_raft_done_cb cb, void *arg);
int wr_raft_transfer(struct wr_raft *r, uint64_t id, wr_raft_done_cb cb, void *arg);
/* Is a membership change in flight (leader)? */
bool wr_raft_changing(struct wr_raft *r);

/* Error codes of this module (negative); wr_raft_strerror says each in
 * words. */
enum {
    WR_ENOTLEADER = -1000,
    WR_ESHUTDOWN = -1001,
    WR_ELOST = -1002,
    WR_EDUPLICATE = -1003,
    WR_EBUSY = -1004,
    WR_EBADID = -1005,
    WR_EBADROLE = -1006,
    WR_ENOVOTER = -1007,
    WR_EINVAL = -1008,
    WR_ECATCHUP = -1009,
};
const char *wr_raft_strerror(int code);

/* ---- Internal, for tests/unit/test_raft_glue.c and test_proposer.c only:
 * the glue around a struct raft it did not create, so that its FSM, status
 * polling, proposals and barriers run under libraft's raft_fixture (an
 * in-memory network and disk with a simulated clock). Node code must not
 * use these. ----
 *
 * wr__raft_wrap makes a glue for @fsm and @hooks (both copied) and sets
 * *raft_fsm to the libraft FSM to give raft_fixture_grow; it runs @fsm
 * through the same code as a started node's. Once the fixture server exists
 * (before raft_fixture_start), wr__raft_attach points the glue at it and
 * applies the tunables of @cfg a node applies (pre-vote, snapshot threshold
 * and trailing; the fixture keeps its own timeouts). wr__raft_poll does what
 * the 5 ms status timer does on a node (there is no loop here): on_change if
 * role, leader or term changed. wr__raft_unwrap frees the glue, after
 * raft_fixture_close. */
struct raft;
struct raft_fsm;
struct wr_raft *wr__raft_wrap(const struct wr_raft_fsm *fsm, const struct wr_raft_hooks *hooks,
                              struct raft_fsm **raft_fsm);
void wr__raft_attach(struct wr_raft *r, struct raft *raft, const struct wr_raft_config *cfg);
void wr__raft_poll(struct wr_raft *r);
void wr__raft_unwrap(struct wr_raft *r);

/* ---- offline: reading a stopped node's data directory (warren replay) ----
 *
 * libraft's own loader (raft_uv's io->load, on a private loop) reads what a
 * node would read at start: the latest snapshot and the entries on disk. It
 * closes open segments and may rename corrupt ones as it loads, so it runs
 * on a private copy of the directory: the node's directory is only read.
 * Nothing here needs a cluster, a transport or a secret. */

enum wr_raft_entry_kind {
    WR_ENTRY_COMMAND = 1, /* a state machine entry: what the FSM's apply gets */
    WR_ENTRY_BARRIER = 2, /* libraft's own; never reaches the FSM */
    WR_ENTRY_CHANGE = 3,  /* a configuration change; never reaches the FSM */
};

struct wr_raft_log_entry {
    uint64_t index;
    uint64_t term;
    enum wr_raft_entry_kind kind;
    const void *data; /* as the FSM's apply gets it: zero padded to 8 bytes */
    size_t len;
};

struct wr_raft_log {
    uint64_t term; /* the node's current term (its metadata) */
    bool has_snapshot;
    uint64_t snapshot_index, snapshot_term;
    const void *snapshot; /* the bytes wr_raft_fsm.snapshot wrote (restore's) */
    size_t snapshot_len;
    /* The entries on disk in index order, from first_index. Entries at or
     * below snapshot_index may be there (kept for lagging followers); the
     * last ones may not be committed yet (the commit index is not stored). */
    uint64_t first_index;
    struct wr_raft_log_entry *entries;
    size_t n_entries;
    void *impl; /* libraft's memory behind the pointers above */
};

/* Load the data directory @dir of a node that is not running. Fails if @dir
 * is missing, is not a node's data directory (no libraft metadata), is
 * locked by a running node, or libraft cannot read it; then writes why to
 * @err and returns -1. On success *out is the log (free it with
 * wr_raft_log_free) and @dir is unchanged: libraft worked on a copy in
 * $TMPDIR (or /tmp), removed before this returns. */
int wr_raft_load_offline(const char *dir, struct wr_raft_log **out, char *err, size_t errlen);
void wr_raft_log_free(struct wr_raft_log *log);

#endif
