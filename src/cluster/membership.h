/* Live membership: the requests nodes send each other about who is in the
 * cluster, over the transport's membership channel (WR_CHAN_MEMBER, so only
 * holders of the cluster secret can ask), and the duties of a running node
 * that follow from them. The changes themselves are libraft's, through the
 * glue (raft_glue.h: wr_raft_add, wr_raft_promote, wr_raft_remove).
 *
 * Why the cluster port and not HTTP: the secret already authenticates every
 * connection there (mutual HMAC over fresh nonces), a node that is not yet
 * a member has no HTTP admin token to show, and a node that is about to
 * start knows its peers' cluster addresses (--peers, --join), not their
 * HTTP ones.
 *
 * One request and one answer per connection, each framed as
 *   u32 length | u8 version(1) | body
 *   request = u8 op | u64 id | str address | str http | cluster_id[16]
 *   answer  = u8 status | cluster_id[16] | u8 membership | u8 flags
 *             | u64 answer_id | u64 leader_id | str leader_address
 *             | str message
 * (str = u8 length | bytes; integers little endian; flags bit 0: the
 * answering node leads, bit 1: the asked-about node is a voter.)
 *
 * Ops:
 *   IDENTIFY  "which cluster are you, and am I (id, address) a member of
 *             it?": every node answers from its own configuration.
 *   JOIN      "add me": the leader adds (id, address) as a spare (already
 *             there with that address: OK again); a follower answers
 *             NOT_LEADER naming the leader; an id or address used by
 *             another member, or another cluster id, is REFUSED with a
 *             message for the operator.
 *   PROMOTE   "make me a voter": the leader starts libraft's promotion
 *             (catch-up rounds, then the role change) and answers at once.
 *             The joined node asks every second until its own
 *             configuration shows it as a voter, so a leader change in
 *             between costs a retry, not the promotion.
 *   REMOVED   "you were removed" (the leader, after a remove): makes the
 *             node check at once, by IDENTIFY of its peers, instead of
 *             waiting to notice that no leader talks to it any more.
 *
 * Cluster id: 16 random bytes the first leader commits to the log (world
 * core command CLUSTER_ID); each node keeps it in DATA/cluster-id. Nodes
 * send theirs with every request and answer, all zero while unknown. */
#ifndef WR_CLUSTER_MEMBERSHIP_H
#define WR_CLUSTER_MEMBERSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cluster/raft_glue.h"
#include "common/bytes.h"

#define WR_CLUSTER_ID_BYTES 16
#define WR_MEMBER_MAX_FRAME 1024

enum wr_member_op {
    WR_MOP_IDENTIFY = 1,
    WR_MOP_JOIN = 2,
    WR_MOP_PROMOTE = 3,
    WR_MOP_REMOVED = 4,
};

enum wr_member_status {
    WR_MST_OK = 0,
    WR_MST_NOT_LEADER = 1, /* ask leader_id at leader_address (0: none known) */
    WR_MST_REFUSED = 2,    /* message says why; asking again will not help */
    WR_MST_BUSY = 3,       /* another change in progress: ask again soon */
};

/* Where the asked-about (id, address) stands in the answering node's
 * configuration. */
enum wr_membership {
    WR_MSHIP_NONE = 0,          /* neither the id nor the address is there */
    WR_MSHIP_SAME = 1,          /* a member with that id and that address */
    WR_MSHIP_OTHER_ADDRESS = 2, /* the id is a member at another address */
    WR_MSHIP_ADDRESS_TAKEN = 3, /* another id has that address */
};

struct wr_member_request {
    uint8_t op;
    uint64_t id;      /* the asking node */
    char address[64]; /* its cluster address */
    char http[64];    /* its HTTP address (for the operator's messages) */
    uint8_t cluster_id[WR_CLUSTER_ID_BYTES];
};

struct wr_member_answer {
    uint8_t status;
    uint8_t cluster_id[WR_CLUSTER_ID_BYTES]; /* the answering node's */
    uint8_t membership;
    bool from_leader;
    bool voter;
    uint64_t answer_id; /* the answering node's id */
    uint64_t leader_id;
    char leader_address[64];
    char message[200];
};

/* Codec (pure). Encoders append one whole frame to @w; decoders take a
 * frame's bytes after the u32 length and return 0, or -1 if malformed. */
void wr_member_encode_request(struct wr_writer *w, const struct wr_member_request *q);
int wr_member_decode_request(const uint8_t *p, size_t len, struct wr_member_request *q);
void wr_member_encode_answer(struct wr_writer *w, const struct wr_member_answer *a);
int wr_member_decode_answer(const uint8_t *p, size_t len, struct wr_member_answer *a);

bool wr_cluster_id_is_zero(const uint8_t id[WR_CLUSTER_ID_BYTES]);
/* 32 lower-case hex digits and a NUL. */
void wr_cluster_id_hex(const uint8_t id[WR_CLUSTER_ID_BYTES], char out[33]);
/* Parse 32 hex digits (then optional whitespace); 0 or -1. */
int wr_cluster_id_parse(const char *s, uint8_t id[WR_CLUSTER_ID_BYTES]);

/* ---- client: one request, one answer ----
 * Dial node @id (0: whichever node listens, on the membership channel only)
 * at @address over @t, send @q, wait for the answer. @cb runs exactly once
 * (unless this returns an error): status 0 with the answer, or a negative
 * libuv code (UV_ETIMEDOUT after @timeout_ms, UV_EACCES when the handshake
 * failed: another secret, UV_EPROTO for a malformed answer, ...) and NULL. */
typedef void (*wr_member_cb)(void *arg, int status, const struct wr_member_answer *a);
int wr_member_ask(struct raft_uv_transport *t, uv_loop_t *loop, uint64_t id, const char *address,
                  const struct wr_member_request *q, unsigned timeout_ms, wr_member_cb cb,
                  void *arg);

/* ---- the service on a running node ---- */
struct wr_members;

struct wr_members_config {
    uint64_t id;
    const char *address; /* our cluster address */
    const char *http;
    unsigned election_timeout_ms;
    /* true for a node that joined (or started as a listed member without
     * bootstrapping): it asks the leader for promotion until it is a voter */
    bool wants_vote;
    uint64_t contact_id; /* who to ask before a leader is known */
    const char *contact_address;
};

struct wr_members_hooks {
    void *data;
    /* The cluster id this node knows (all zero when none yet). */
    void (*cluster_id)(void *data, uint8_t out[WR_CLUSTER_ID_BYTES]);
    /* This node is no longer in the cluster's configuration: leader
     * @leader_id said so. Called once. */
    void (*on_removed)(void *data, uint64_t leader_id);
};

struct wr_members *wr_members_create(uv_loop_t *loop, struct wr_raft *raft,
                                     const struct wr_members_config *cfg,
                                     const struct wr_members_hooks *hooks);
/* An authenticated membership-channel connection (transport.h's contract:
 * @tcp is ours to close and free). */
void wr_members_accept(struct wr_members *m, uint64_t peer, uv_tcp_t *tcp);
/* Every few hundred ms: promotion requests, and the check whether this
 * node is still a member once no leader has talked to it for a while. */
void wr_members_tick(struct wr_members *m);
/* The leader removed node @id at @address: tell it (best effort). */
void wr_members_tell_removed(struct wr_members *m, uint64_t id, const char *address);
/* Answer no more requests and start none; close what is open. The struct
 * is freed once the requests in flight are done (they time out). Call
 * before libraft stops. */
void wr_members_destroy(struct wr_members *m);

#endif
