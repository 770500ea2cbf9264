/* The cluster transport object (see transport.h for the contract):
 * libraft's struct raft_uv_transport (init, listen, connect, close), the
 * forward-channel dial, the handshake limits, stats, and the closing of the
 * transport once its last handle is gone. Every connection it listens for
 * or opens is handed to the handshake in transport_handshake.c first, which
 * also writes down the wire format and the handshake states; what the two
 * files share is in transport_internal.h. */
#include "cluster/transport_internal.h"

#include "common/addr.h"
#include "common/alloc.h"

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DEADLINE_MS 3000
#define LISTEN_BACKLOG 64
/* Default of the per-address cap on incoming handshakes in progress
 * (wr_transport_set_limits): one address holding many idle handshakes is
 * a flood, not a cluster. */
#define DEFAULT_HS_PER_IP 16

/* ---- transport bookkeeping ---- */

void wr__transport_maybe_finish(struct wr_transport *tr) {
    if (!tr->closing || tr->close_done || tr->n_handles > 0)
        return;
    tr->close_done = true;
    if (tr->close_cb != NULL)
        tr->close_cb(tr->t);
}

/* Close callback of the listener and the sweep timer (embedded handles). */
static void handle_close_cb(uv_handle_t *h) {
    struct wr_transport *tr = h->data;
    tr->n_handles--;
    wr__transport_maybe_finish(tr);
}

/* ---- raft_uv_transport vtable ---- */

static int tp_init(struct raft_uv_transport *t, raft_id id, const char *address) {
    struct wr_transport *tr = t->impl;
    size_t len = strlen(address);
    if (len == 0 || len > WR__HELLO_ADDR_MAX) {
        snprintf(t->errmsg, sizeof t->errmsg, "address '%.64s' must be 1..%d bytes", address,
                 WR__HELLO_ADDR_MAX);
        return RAFT_INVALID;
    }
    tr->id = id;
    memcpy(tr->address, address, len + 1);
    tr->address_len = (uint16_t)len;
    tr->inited = true;
    return 0;
}

static int tp_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb) {
    struct wr_transport *tr = t->impl;
    struct sockaddr_in sa;
    char err[160];
    if (!tr->inited || tr->closing || tr->listener_init) {
        snprintf(t->errmsg, sizeof t->errmsg, "listen: transport not initialised or closing");
        return RAFT_INVALID;
    }
    if (wr_addr_parse(tr->address, &sa, err, sizeof err) != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "listen: %s", err);
        return RAFT_NOCONNECTION;
    }
    tr->accept_cb = cb;
    uv_tcp_init(tr->loop, &tr->listener);
    tr->listener.data = tr;
    tr->listener_init = true;
    tr->n_handles++;
    /* libuv sets SO_REUSEADDR in bind; EADDRINUSE may only show at listen. */
    int rv = uv_tcp_bind(&tr->listener, (const struct sockaddr *)&sa, 0);
    const char *what = "bind";
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&tr->listener, LISTEN_BACKLOG,
                       wr__transport_srv_connection_cb);
        if (rv != 0 && rv != UV_EADDRINUSE && rv != UV_EADDRNOTAVAIL && rv != UV_EACCES)
            what = "listen";
    }
    if (rv != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "%s %.128s: %s", what, tr->address, uv_strerror(rv));
        uv_close((uv_handle_t *)&tr->listener, handle_close_cb);
        return RAFT_IOERR;
    }
    return 0;
}

static int tp_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
                      const char *address, raft_uv_connect_cb cb) {
    struct wr_transport *tr = t->impl;
    if (!tr->inited || tr->closing)
        return RAFT_CANCELED;
    struct hs *hs = wr__transport_hs_new(tr, HS_RAFT_CONNECT);
    hs->tcp = raft_malloc(sizeof *hs->tcp);
    if (hs->tcp == NULL) {
        free(hs);
        return RAFT_NOMEM;
    }
    hs->tcp_raft_heap = true;
    hs->chan = WR_CHAN_RAFT;
    hs->req = req;
    req->cb = cb;
    int rv = wr__transport_cli_start(tr, hs, id, address);
    if (rv == UV_EINVAL) {
        raft_free(hs->tcp);
        free(hs);
        snprintf(t->errmsg, sizeof t->errmsg, "connect: bad address '%.64s'", address);
        return RAFT_NOCONNECTION;
    }
    if (rv != 0) /* hs is closing quietly */
        return RAFT_NOCONNECTION;
    return 0;
}

static void tp_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb) {
    struct wr_transport *tr = t->impl;
    if (tr->closing)
        return;
    tr->closing = true;
    tr->close_cb = cb;
    if (tr->listener_init && !uv_is_closing((uv_handle_t *)&tr->listener))
        uv_close((uv_handle_t *)&tr->listener, handle_close_cb);
    for (struct hs *hs = tr->hs_list; hs != NULL; hs = hs->next)
        wr__transport_hs_close(hs);
    /* Always close at least the timer, so @cb runs from the loop, never
     * from inside this call. */
    wr__transport_sweep_ensure_init(tr);
    uv_close((uv_handle_t *)&tr->sweep, handle_close_cb);
}

/* ---- public API ---- */

int wr_transport_init(struct raft_uv_transport *t, uv_loop_t *loop,
                      const uint8_t key[WR_CLUSTER_KEY_BYTES]) {
    if (sodium_init() < 0)
        return RAFT_IOERR;
    struct wr_transport *tr = calloc(1, sizeof *tr);
    if (tr == NULL)
        return RAFT_NOMEM;
    tr->t = t;
    tr->loop = loop;
    memcpy(tr->key, key, WR_CLUSTER_KEY_BYTES);
    tr->deadline_ms = DEFAULT_DEADLINE_MS;
    tr->max_hs_per_ip = DEFAULT_HS_PER_IP;
    t->impl = tr;
    t->errmsg[0] = '\0';
    t->init = tp_init;
    t->listen = tp_listen;
    t->connect = tp_connect;
    t->close = tp_close;
    return 0;
}

void wr_transport_close(struct raft_uv_transport *t) {
    struct wr_transport *tr = t->impl;
    if (tr == NULL)
        return;
    sodium_memzero(tr->key, sizeof tr->key);
    free(tr);
    t->impl = NULL;
}

void wr_transport_derive_key(const void *secret, size_t len, uint8_t key[WR_CLUSTER_KEY_BYTES]) {
    crypto_generichash(key, WR_CLUSTER_KEY_BYTES, secret, len, NULL, 0);
}

void wr_transport_set_fwd_accept(struct raft_uv_transport *t, wr_fwd_accept_cb cb, void *data) {
    struct wr_transport *tr = t->impl;
    tr->fwd_cb = cb;
    tr->fwd_data = data;
}

void wr_transport_set_member_accept(struct raft_uv_transport *t, wr_fwd_accept_cb cb,
                                    void *data) {
    struct wr_transport *tr = t->impl;
    tr->member_cb = cb;
    tr->member_data = data;
}

int wr_transport_dial(struct raft_uv_transport *t, struct wr_dial *req, uint64_t id,
                      const char *address, wr_dial_cb cb) {
    return wr_transport_dial_chan(t, req, WR_CHAN_FWD, id, address, cb);
}

int wr_transport_dial_chan(struct raft_uv_transport *t, struct wr_dial *req, uint8_t chan,
                           uint64_t id, const char *address, wr_dial_cb cb) {
    struct wr_transport *tr = t->impl;
    if (!tr->inited || (chan != WR_CHAN_FWD && chan != WR_CHAN_MEMBER) ||
        (id == 0 && chan != WR_CHAN_MEMBER))
        return UV_EINVAL;
    if (tr->closing)
        return UV_ECANCELED;
    struct hs *hs = wr__transport_hs_new(tr, HS_DIAL);
    hs->tcp = wr_malloc(sizeof *hs->tcp);
    hs->chan = chan;
    hs->dial = req;
    req->cb = cb;
    req->impl = hs;
    int rv = wr__transport_cli_start(tr, hs, id, address);
    if (rv == UV_EINVAL) {
        free(hs->tcp);
        free(hs);
    }
    return rv;
}

const struct wr_transport_stats *wr_transport_stats(struct raft_uv_transport *t) {
    struct wr_transport *tr = t->impl;
    return &tr->stats;
}

void wr__transport_set_deadline(struct raft_uv_transport *t, unsigned ms) {
    struct wr_transport *tr = t->impl;
    tr->deadline_ms = ms > 0 ? ms : 1;
}

void wr_transport_set_limits(struct raft_uv_transport *t, unsigned deadline_ms,
                             unsigned max_per_ip) {
    struct wr_transport *tr = t->impl;
    if (deadline_ms > 0)
        tr->deadline_ms = deadline_ms;
    if (max_per_ip > 0)
        tr->max_hs_per_ip = max_per_ip;
}
