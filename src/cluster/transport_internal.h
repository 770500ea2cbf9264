/* Private to src/cluster/transport.c and transport_handshake.c: the
 * transport object, the per-connection handshake record, and the few calls
 * between the two files. Nothing else includes this (the tests and the fuzz
 * driver use the internal section of transport.h). The handshake states
 * and their invariants are written down at the top of
 * transport_handshake.c. */
#ifndef WR_CLUSTER_TRANSPORT_INTERNAL_H
#define WR_CLUSTER_TRANSPORT_INTERNAL_H

#include <raft.h>
#include <raft/uv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cluster/transport.h"

#define NONCE_LEN 32
#define MAC_LEN 32
#define HELLO_MAX (WR__HELLO_FIXED + WR__HELLO_ADDR_MAX + MAC_LEN)
/* Rate-limited log slots per transport (rl_warn in transport_handshake.c). */
#define RL_SLOTS 32

enum hs_kind { HS_SERVER, HS_RAFT_CONNECT, HS_DIAL };

enum hs_state {
    HS_SRV_HELLO,
    HS_SRV_REPLY,
    HS_CLI_CONNECT,
    HS_CLI_CHALLENGE,
    HS_CLI_REPLY,
    HS_CLOSING
};

struct wr_transport;

struct hs {
    struct wr_transport *tr;
    struct hs *prev, *next;
    enum hs_kind kind;
    enum hs_state state;
    uv_tcp_t *tcp;
    bool tcp_raft_heap; /* tcp came from raft_malloc (else malloc) */
    uv_connect_t connect;
    uv_write_t write;
    bool write_pending;
    bool read_done;
    bool quiet; /* client: connect()/dial() returned an error, no callback */
    uint64_t deadline;
    uint8_t chan;
    uint8_t status;   /* server: reply status sent */
    int fail;         /* dial: libuv code reported from the close callback */
    uint64_t peer_id; /* server: claimed client id; client: id dialled */
    uint64_t target_id; /* server: the id the client dialled (ours, or 0) */
    uint8_t ns[NONCE_LEN];
    uint8_t nc[NONCE_LEN];
    char peer[64];                     /* server: "IP:PORT" of the socket */
    char addr[WR__HELLO_ADDR_MAX + 1]; /* server: claimed address; client: dialled */
    struct raft_uv_connect *req;       /* HS_RAFT_CONNECT */
    struct wr_dial *dial;              /* HS_DIAL */
    size_t rneed, rgot;
    uint8_t rbuf[HELLO_MAX];
    uint8_t wbuf[HELLO_MAX];
};

struct rl_slot {
    bool used;
    char key[80];
    uint64_t last;
    unsigned suppressed;
};

struct wr_transport {
    struct raft_uv_transport *t;
    uv_loop_t *loop;
    uint8_t key[WR_CLUSTER_KEY_BYTES];
    unsigned deadline_ms;
    unsigned max_hs_per_ip; /* server handshakes in progress per address */
    bool inited; /* vtable init ran: id and address are known */
    raft_id id;
    char address[WR__HELLO_ADDR_MAX + 1];
    uint16_t address_len;
    uv_tcp_t listener;
    bool listener_init;
    raft_uv_accept_cb accept_cb;
    wr_fwd_accept_cb fwd_cb;
    void *fwd_data;
    wr_fwd_accept_cb member_cb;
    void *member_data;
    uv_timer_t sweep;
    bool sweep_init;
    bool closing;
    bool close_done;
    raft_uv_transport_close_cb close_cb;
    unsigned n_handles; /* listener, sweep timer, handshake sockets */
    unsigned n_srv_hs;  /* server-side handshakes on hs_list */
    struct hs *hs_list;
    struct wr_transport_stats stats;
    struct rl_slot rl[RL_SLOTS];
};

/* ---- transport.c ---- */

/* If the transport is closing and its last handle (listener, sweep timer,
 * handshake socket) is gone, run its close callback; at most once. Call it
 * after every such handle is released. Loop thread only, like everything
 * here. */
void wr__transport_maybe_finish(struct wr_transport *tr);

/* ---- transport_handshake.c ---- */

/* A zeroed handshake record of @kind for @tr with its deadline set
 * (deadline_ms from now). Aborts on OOM (wr_calloc). The caller sets tcp,
 * chan and req/dial, then starts it with wr__transport_cli_start, or frees
 * it with free() if it never does. */
struct hs *wr__transport_hs_new(struct wr_transport *tr, enum hs_kind kind);

/* Close @hs's socket (idempotent: nothing if already CLOSING). The close
 * callback unlinks and frees it, reports a client failure to its callback
 * unless hs->quiet, and calls wr__transport_maybe_finish. */
void wr__transport_hs_close(struct hs *hs);

/* Connect @hs (kind HS_RAFT_CONNECT or HS_DIAL, tcp allocated but not
 * initialised) to node @id at @address ("IPv4:port") and run the client
 * handshake. Returns 0: the request's callback fires exactly once later.
 * UV_EINVAL: bad address, nothing was started and the caller still owns
 * @hs and its tcp. Another libuv code: @hs was linked and is now closing
 * quietly (its callback never fires); the caller must not touch it. */
int wr__transport_cli_start(struct wr_transport *tr, struct hs *hs, uint64_t id,
                            const char *address);

/* The listener's connection callback (listener->data is the transport):
 * accept, apply the pre-authentication limits, send the challenge. */
void wr__transport_srv_connection_cb(uv_stream_t *listener, int status);

/* Initialise the sweep timer (deadline enforcement) if not done yet, and
 * count it in tr->n_handles; it is closed by the transport's close. */
void wr__transport_sweep_ensure_init(struct wr_transport *tr);

#endif
