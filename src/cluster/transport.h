/* Authenticated cluster transport. It implements libraft's
 * struct raft_uv_transport over TCP, and adds a second channel on the same
 * port for forwarding client commands from followers to the leader.
 *
 * Every connection starts with a mutual challenge-response before any Raft
 * or forwarding byte flows: both sides prove they hold the cluster secret
 * with an HMAC (libsodium crypto_auth, HMAC-SHA512-256) over fresh 32-byte
 * nonces from both sides, the channel, the dialling node's id and address
 * and the id it meant to reach. Anything else (a raw Raft preamble, a wrong
 * secret, a slow or truncated handshake) is logged (rate-limited) and
 * closed; no byte of it reaches libraft. Handshakes have a deadline
 * (3 s) and a cap per address (wr_transport_set_limits). Sockets get
 * TCP_NODELAY.
 *
 * Limits of the design: setup is authenticated, the stream afterwards is
 * neither encrypted nor integrity-checked; any holder of the secret can
 * claim any node id. Run the cluster port on a trusted network. */
#ifndef WR_CLUSTER_TRANSPORT_H
#define WR_CLUSTER_TRANSPORT_H

#include <raft.h>
#include <raft/uv.h>
#include <stdint.h>
#include <uv.h>

#define WR_CLUSTER_KEY_BYTES 32

enum wr_chan {
    WR_CHAN_RAFT = 1,  /* libraft messages; handed to libraft */
    WR_CHAN_FWD = 2,   /* forwarded client commands; handed to the proposer */
    WR_CHAN_MEMBER = 3 /* membership requests (join, identity; membership.h);
                          the only channel that may dial target id 0, "the
                          node at this address, whichever it is" */
};

/* A forward-channel connection was authenticated. @tcp is a uv_tcp_t
 * allocated with malloc, not reading, TCP_NODELAY set; the callee owns it:
 * it must uv_close() it and free() it in the close callback. @peer_id is
 * the authenticated id the dialler claimed. */
typedef void (*wr_fwd_accept_cb)(void *data, uint64_t peer_id, uv_tcp_t *tcp);

struct wr_dial;
/* Dial result: on status 0, @tcp is an authenticated stream the callee
 * owns (malloc'd, uv_close + free). Otherwise status is a negative libuv
 * code (UV_ECANCELED when the transport closed, UV_EACCES when the peer
 * refused our secret or failed to prove its own) and @tcp is NULL. */
typedef void (*wr_dial_cb)(struct wr_dial *req, uv_tcp_t *tcp, int status);
struct wr_dial {
    void *data;
    /* private */
    wr_dial_cb cb;
    void *impl;
};

/* Initialise @t for @loop with @key (derived from the cluster secret by
 * wr_transport_derive_key). The raft_uv_transport vtable is filled in;
 * libraft calls init/listen/connect/close. Returns 0, RAFT_NOMEM, or
 * RAFT_IOERR if libsodium cannot initialise. */
int wr_transport_init(struct raft_uv_transport *t, uv_loop_t *loop,
                      const uint8_t key[WR_CLUSTER_KEY_BYTES]);

/* Release what wr_transport_init allocated; only after libraft's close
 * callback (or if raft_init was never called). */
void wr_transport_close(struct raft_uv_transport *t);

/* Derive the 32-byte HMAC key from the secret's bytes (BLAKE2b). */
void wr_transport_derive_key(const void *secret, size_t len, uint8_t key[WR_CLUSTER_KEY_BYTES]);

/* Where authenticated forward-channel connections go. Call before
 * raft_start (listening starts with it). */
void wr_transport_set_fwd_accept(struct raft_uv_transport *t, wr_fwd_accept_cb cb, void *data);

/* Where authenticated membership-channel connections go (same contract
 * as the forward channel's). Call before raft_start. */
void wr_transport_set_member_accept(struct raft_uv_transport *t, wr_fwd_accept_cb cb,
                                    void *data);

/* Open an authenticated forward-channel connection to node @id at
 * @address. Usable once the transport's init has run (after raft_init).
 * Returns 0 and calls @cb exactly once later, or returns a negative
 * libuv code and never calls it. @req must stay valid until @cb. */
int wr_transport_dial(struct raft_uv_transport *t, struct wr_dial *req, uint64_t id,
                      const char *address, wr_dial_cb cb);
/* The same on channel @chan (WR_CHAN_FWD or WR_CHAN_MEMBER; id 0 only on
 * the membership channel). */
int wr_transport_dial_chan(struct raft_uv_transport *t, struct wr_dial *req, uint8_t chan,
                           uint64_t id, const char *address, wr_dial_cb cb);

/* Limits on incoming connections before they prove the secret: each must
 * complete its handshake within @deadline_ms (default 3000), and at most
 * @max_per_ip handshakes from one address may be in progress at once
 * (default 16; all addresses together: 256); more are closed at accept
 * with a rate-limited log line. 0 keeps a default. Call before raft_start. */
void wr_transport_set_limits(struct raft_uv_transport *t, unsigned deadline_ms,
                             unsigned max_per_ip);

/* Counters for /metrics and tests. */
struct wr_transport_stats {
    uint64_t accepted;      /* handshakes that succeeded, as server */
    uint64_t rejected;      /* incoming connections refused */
    uint64_t dial_ok;       /* outgoing handshakes that succeeded */
    uint64_t dial_rejected; /* outgoing handshakes the peer refused */
};
const struct wr_transport_stats *wr_transport_stats(struct raft_uv_transport *t);

/* ---- Internal, exposed for tests/unit/test_transport.c only. Node code
 * must not use anything below this line. ---- */

/* Client hello: fixed part (magic, chan, client id, target id, address
 * length, Nc) and the largest address it may carry. */
#define WR__HELLO_FIXED 59
#define WR__HELLO_ADDR_MAX 255

enum wr__hello_result {
    WR__HELLO_OK = 0,         /* complete; fields set, len = its size */
    WR__HELLO_SHORT = 1,      /* valid so far; len = total bytes needed */
    WR__HELLO_BAD_MAGIC = -1, /* not our protocol (checked on any prefix) */
    WR__HELLO_BAD_CHAN = -2,  /* unknown channel */
    WR__HELLO_BAD_ADDR = -3   /* address length 0 or > 255, or a byte outside 0x21..0x7e */
};

struct wr__hello {
    uint8_t chan;
    uint64_t client_id;
    uint64_t target_id;
    uint16_t addr_len;
    const uint8_t *nc;   /* 32 bytes inside the input */
    const uint8_t *addr; /* addr_len bytes inside the input, not NUL-terminated */
    const uint8_t *mac;  /* 32 bytes inside the input */
    size_t len;
};

/* Parse the client hello in @buf[0..@len) (bytes beyond the message are
 * ignored). Never reads past @len; the MAC is not checked here. Returns a
 * wr__hello_result. */
int wr__transport_parse_hello(const uint8_t *buf, size_t len, struct wr__hello *out);

/* Override the 3000 ms handshake deadline (tests use a short one). */
void wr__transport_set_deadline(struct raft_uv_transport *t, unsigned ms);

#endif
