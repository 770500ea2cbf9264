/* The cluster transport's authenticated handshake (transport.h has the
 * contract): the wire format, encoding and parsing the client hello, the
 * HMAC challenge-response on both sides, the per-connection state machine
 * from accept or connect to hand-over, and the limits on peers that have
 * not proved the secret yet (handshakes per address and in all, the
 * deadline sweep). The transport object, libraft's raft_uv_transport
 * vtable and the public calls are in transport.c; what the two share is in
 * transport_internal.h.
 *
 * Wire format (integers little-endian; K = 32-byte key from
 * wr_transport_derive_key; HMAC = crypto_auth = HMAC-SHA512-256, 32 bytes):
 *
 *   S->C challenge (40 bytes)
 *     magic "WRNAUTH1" [8] | Ns [32]
 *   C->S hello (59 + addr_len + 32 bytes)
 *     magic [8] | chan u8 | client_id u64 | target_id u64 | addr_len u16 |
 *     Nc [32] | addr [addr_len] | MAC_c [32]
 *     MAC_c = HMAC(K, "C" | Ns | Nc | chan | client_id | target_id | addr_len | addr)
 *   S->C reply (41 bytes)
 *     magic [8] | status u8 | MAC_s [32]
 *     status: 0 ok, 1 bad MAC, 2 wrong target id, 3 bad channel/format
 *     MAC_s = HMAC(K, "S" | Nc | Ns | server_id u64 | chan)  (all zero if status != 0)
 *
 * chan is WR_CHAN_RAFT (1), WR_CHAN_FWD (2) or WR_CHAN_MEMBER (3); on
 * the membership channel target_id may be 0 ("whichever node listens at
 * this address", for `warren node --join IP:PORT`), and MAC_s then binds
 * server_id 0, the id that was dialled. addr is the dialler's own
 * "IPv4:port", 1..255 bytes in 0x21..0x7e. After a status-0 reply, the
 * same TCP stream carries the channel's bytes (Raft or forwarding), with no
 * further framing from us.
 *
 * The server checks the magic on every prefix it receives and closes
 * without a reply when it differs (a raw libraft preamble starts with u64
 * 1). A hello with a bad channel or address length gets status 3; then the
 * client MAC is checked (1), then target_id against our id (2), then that a
 * forward channel has a taker (3). The client checks the reply's magic and
 * status and verifies MAC_s against the id it dialled, which proves the
 * server holds K and answers to that id.
 *
 * Reads ask for exactly the bytes still missing in the current message
 * (the alloc callback hands out rneed - rgot), so no byte that follows the
 * handshake is ever consumed, and reading is stopped at the end of every
 * message (shared/notes/libraft-0.15.md §3: a zero-length buffer after a
 * completely filled one gives UV_ENOBUFS).
 *
 * Handshake states (struct hs, one per TCP connection in setup):
 *   SRV_HELLO     challenge written (the write may still be in flight),
 *                 reading the hello; advances when both are done.
 *   SRV_REPLY     reply being written; then hand over (status 0) or close.
 *   CLI_CONNECT   uv_tcp_connect in flight.
 *   CLI_CHALLENGE reading the challenge.
 *   CLI_REPLY     hello written (maybe in flight), reading the reply;
 *                 advances when both are done.
 *   CLOSING       uv_close called; the close callback reports a client
 *                 failure (once) and frees the hs.
 * Invariants: an hs is on tr->hs_list and counted in tr->n_handles exactly
 * while its tcp handle is ours (not closed, not handed over); a client's
 * callback fires exactly once: on hand-over, or from the close callback
 * (RAFT_CANCELED / UV_ECANCELED once the transport is closing), unless
 * connect/dial returned an error (hs->quiet). Every hs has a deadline,
 * enforced by one sweep timer that runs only while handshakes exist.
 *
 * Server-side handles are allocated with raft_malloc, because libraft will
 * raft_free the ones it gets. A forward-channel connection is moved to a
 * malloc'd handle (dup of the fd, uv_tcp_open) since its owner free()s it. */
#include "cluster/transport_internal.h"

#include "common/addr.h"
#include "common/alloc.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "WRNAUTH1"
#define MAGIC_LEN 8
#define CHALLENGE_LEN (MAGIC_LEN + NONCE_LEN)
#define REPLY_LEN (MAGIC_LEN + 1 + MAC_LEN)
/* "C" | Ns | Nc | chan | client_id | target_id | addr_len | addr */
#define MAC_C_MSG_MAX (1 + 2 * NONCE_LEN + 1 + 8 + 8 + 2 + WR__HELLO_ADDR_MAX)
/* "S" | Nc | Ns | server_id | chan */
#define MAC_S_MSG_LEN (1 + 2 * NONCE_LEN + 8 + 1)

/* Incoming handshakes in progress at once; more are closed on accept, so
 * idle sockets cannot pin unbounded memory for the deadline. */
#define MAX_SERVER_HANDSHAKES 256
#define RL_INTERVAL_MS 5000

#define WR__STR2(x) #x
#define WR__STR(x) WR__STR2(x)

enum reply_status {
    ST_OK = 0,
    ST_BAD_MAC = 1,
    ST_BAD_TARGET = 2,
    ST_BAD_FORMAT = 3,
};

_Static_assert(crypto_auth_BYTES == MAC_LEN, "HMAC size");
_Static_assert(crypto_auth_KEYBYTES == WR_CLUSTER_KEY_BYTES, "HMAC key size");
_Static_assert(WR__HELLO_FIXED == MAGIC_LEN + 1 + 8 + 8 + 2 + NONCE_LEN, "hello layout");

/* ---- small helpers ---- */

static uint8_t *put_le(uint8_t *p, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + n;
}

static uint8_t *put_raw(uint8_t *p, const void *src, size_t n) {
    if (n > 0)
        memcpy(p, src, n);
    return p + n;
}

static uint64_t get_le(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static bool magic_prefix_ok(const uint8_t *buf, size_t len) {
    size_t n = len < MAGIC_LEN ? len : MAGIC_LEN;
    return memcmp(buf, MAGIC, n) == 0;
}

static void sockaddr_text(const struct sockaddr_storage *ss, char *out, size_t n) {
    char ip[48] = "?"; /* INET6_ADDRSTRLEN */
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        uv_ip4_name(in, ip, sizeof ip);
        port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(in6, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, n, "%s:%d", ip, port);
}

/* Rate-limited warning: at most one line per @key per RL_INTERVAL_MS, the
 * next one carrying the number suppressed in between. */
static void rl_warn(struct wr_transport *tr, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void rl_warn(struct wr_transport *tr, const char *key, const char *fmt, ...) {
    uint64_t now = uv_now(tr->loop);
    struct rl_slot *slot = NULL;
    struct rl_slot *victim = &tr->rl[0];
    for (size_t i = 0; i < RL_SLOTS; i++) {
        struct rl_slot *s = &tr->rl[i];
        if (s->used && strncmp(s->key, key, sizeof s->key - 1) == 0) {
            slot = s;
            break;
        }
        if (!s->used)
            victim = s;
        else if (victim->used && s->last < victim->last)
            victim = s;
    }
    if (slot != NULL && now - slot->last < RL_INTERVAL_MS) {
        slot->suppressed++;
        return;
    }
    unsigned suppressed = 0;
    if (slot == NULL) {
        slot = victim;
        slot->used = true;
        snprintf(slot->key, sizeof slot->key, "%s", key);
    } else {
        suppressed = slot->suppressed;
    }
    slot->last = now;
    slot->suppressed = 0;

    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (suppressed > 0)
        wr_warn("%s (%u similar suppressed in the last %d s)", line, suppressed,
                RL_INTERVAL_MS / 1000);
    else
        wr_warn("%s", line);
}

/* ---- MACs ---- */

static void mac_client(const struct wr_transport *tr, const uint8_t ns[NONCE_LEN],
                       const uint8_t nc[NONCE_LEN], uint8_t chan, uint64_t client_id,
                       uint64_t target_id, const uint8_t *addr, uint16_t addr_len,
                       uint8_t out[MAC_LEN]) {
    uint8_t msg[MAC_C_MSG_MAX];
    uint8_t *p = msg;
    p = put_raw(p, "C", 1);
    p = put_raw(p, ns, NONCE_LEN);
    p = put_raw(p, nc, NONCE_LEN);
    p = put_le(p, chan, 1);
    p = put_le(p, client_id, 8);
    p = put_le(p, target_id, 8);
    p = put_le(p, addr_len, 2);
    p = put_raw(p, addr, addr_len);
    crypto_auth(out, msg, (unsigned long long)(p - msg), tr->key);
}

static void mac_server_msg(const uint8_t nc[NONCE_LEN], const uint8_t ns[NONCE_LEN],
                           uint64_t server_id, uint8_t chan, uint8_t msg[MAC_S_MSG_LEN]) {
    uint8_t *p = msg;
    p = put_raw(p, "S", 1);
    p = put_raw(p, nc, NONCE_LEN);
    p = put_raw(p, ns, NONCE_LEN);
    p = put_le(p, server_id, 8);
    put_le(p, chan, 1);
}

/* ---- hello parser ---- */

int wr__transport_parse_hello(const uint8_t *buf, size_t len, struct wr__hello *out) {
    memset(out, 0, sizeof *out);
    out->len = WR__HELLO_FIXED;
    if (!magic_prefix_ok(buf, len))
        return WR__HELLO_BAD_MAGIC;
    if (len > MAGIC_LEN) {
        uint8_t chan = buf[MAGIC_LEN];
        if (chan != WR_CHAN_RAFT && chan != WR_CHAN_FWD && chan != WR_CHAN_MEMBER)
            return WR__HELLO_BAD_CHAN;
        out->chan = chan;
    }
    if (len < WR__HELLO_FIXED)
        return WR__HELLO_SHORT;

    const uint8_t *p = buf + MAGIC_LEN + 1;
    out->client_id = get_le(p, 8);
    out->target_id = get_le(p + 8, 8);
    out->addr_len = (uint16_t)get_le(p + 16, 2);
    out->nc = p + 18;
    if (out->addr_len == 0 || out->addr_len > WR__HELLO_ADDR_MAX)
        return WR__HELLO_BAD_ADDR;
    out->len = (size_t)WR__HELLO_FIXED + out->addr_len + MAC_LEN;
    if (len < out->len)
        return WR__HELLO_SHORT;
    out->addr = buf + WR__HELLO_FIXED;
    out->mac = out->addr + out->addr_len;
    for (size_t i = 0; i < out->addr_len; i++)
        if (out->addr[i] < 0x21 || out->addr[i] > 0x7e)
            return WR__HELLO_BAD_ADDR;
    return WR__HELLO_OK;
}

/* ---- handshake records and the deadline sweep ---- */

static void hs_link(struct wr_transport *tr, struct hs *hs) {
    hs->prev = NULL;
    hs->next = tr->hs_list;
    if (tr->hs_list != NULL)
        tr->hs_list->prev = hs;
    tr->hs_list = hs;
    tr->n_handles++;
    if (hs->kind == HS_SERVER)
        tr->n_srv_hs++;
}

static void hs_unlink(struct hs *hs) {
    struct wr_transport *tr = hs->tr;
    if (hs->prev != NULL)
        hs->prev->next = hs->next;
    else
        tr->hs_list = hs->next;
    if (hs->next != NULL)
        hs->next->prev = hs->prev;
    hs->prev = hs->next = NULL;
    tr->n_handles--;
    if (hs->kind == HS_SERVER)
        tr->n_srv_hs--;
}

static void sweep_cb(uv_timer_t *timer);

static unsigned sweep_interval(const struct wr_transport *tr) {
    unsigned iv = tr->deadline_ms / 6;
    return iv < 10 ? 10 : iv;
}

void wr__transport_sweep_ensure_init(struct wr_transport *tr) {
    if (tr->sweep_init)
        return;
    uv_timer_init(tr->loop, &tr->sweep);
    tr->sweep.data = tr;
    tr->sweep_init = true;
    tr->n_handles++;
}

static void sweep_ensure_running(struct wr_transport *tr) {
    wr__transport_sweep_ensure_init(tr);
    if (!uv_is_active((uv_handle_t *)&tr->sweep)) {
        unsigned iv = sweep_interval(tr);
        uv_timer_start(&tr->sweep, sweep_cb, iv, iv);
    }
}

static void hs_close_cb(uv_handle_t *h) {
    struct hs *hs = h->data;
    struct wr_transport *tr = hs->tr;
    if (hs->tcp_raft_heap)
        raft_free(hs->tcp);
    else
        free(hs->tcp);
    hs_unlink(hs);

    if (!hs->quiet) {
        if (hs->kind == HS_RAFT_CONNECT) {
            struct raft_uv_connect *req = hs->req;
            int status = tr->closing ? RAFT_CANCELED : RAFT_NOCONNECTION;
            free(hs);
            req->cb(req, NULL, status);
            wr__transport_maybe_finish(tr);
            return;
        }
        if (hs->kind == HS_DIAL) {
            struct wr_dial *req = hs->dial;
            int status = tr->closing ? UV_ECANCELED : hs->fail;
            free(hs);
            req->cb(req, NULL, status);
            wr__transport_maybe_finish(tr);
            return;
        }
    }
    free(hs);
    wr__transport_maybe_finish(tr);
}

void wr__transport_hs_close(struct hs *hs) {
    if (hs->state == HS_CLOSING)
        return;
    hs->state = HS_CLOSING;
    uv_close((uv_handle_t *)hs->tcp, hs_close_cb);
}

struct hs *wr__transport_hs_new(struct wr_transport *tr, enum hs_kind kind) {
    struct hs *hs = wr_calloc(1, sizeof *hs);
    hs->tr = tr;
    hs->kind = kind;
    hs->deadline = uv_now(tr->loop) + tr->deadline_ms;
    return hs;
}

static void hs_step(struct hs *hs);

static void hs_write_cb(uv_write_t *w, int status) {
    struct hs *hs = w->data;
    hs->write_pending = false;
    if (hs->state == HS_CLOSING)
        return;
    if (status != 0) {
        if (hs->kind == HS_SERVER) {
            hs->tr->stats.rejected++;
            rl_warn(hs->tr, hs->peer, "cluster handshake with %s failed: write: %s", hs->peer,
                    uv_strerror(status));
        } else {
            hs->fail = status;
            rl_warn(hs->tr, hs->addr, "handshake with node %llu at %s failed: write: %s",
                    (unsigned long long)hs->peer_id, hs->addr, uv_strerror(status));
        }
        wr__transport_hs_close(hs);
        return;
    }
    hs_step(hs);
}

/* Queue @len bytes of hs->wbuf. Returns 0 or a libuv code. */
static int hs_write(struct hs *hs, size_t len) {
    uv_buf_t buf = uv_buf_init((char *)hs->wbuf, (unsigned)len);
    hs->write.data = hs;
    int rv = uv_write(&hs->write, (uv_stream_t *)hs->tcp, &buf, 1, hs_write_cb);
    if (rv == 0)
        hs->write_pending = true;
    return rv;
}

static void hs_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    struct hs *hs = h->data;
    (void)suggested;
    /* Exactly the bytes still missing; 0 only if a phase were left reading
     * after completion, which the read callback prevents (UV_ENOBUFS). */
    size_t left = hs->rneed > hs->rgot ? hs->rneed - hs->rgot : 0;
    *buf = uv_buf_init((char *)hs->rbuf + hs->rgot, (unsigned)left);
}

static void hs_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Start reading a message of (at least) @need bytes into hs->rbuf. */
static int hs_read(struct hs *hs, size_t need) {
    hs->rgot = 0;
    hs->rneed = need;
    hs->read_done = false;
    return uv_read_start((uv_stream_t *)hs->tcp, hs_alloc_cb, hs_read_cb);
}

/* ---- server side ---- */

static void srv_reject(struct hs *hs, const char *why) {
    hs->tr->stats.rejected++;
    char key[80];
    /* One rate-limit slot per peer IP (the port changes on every attempt). */
    snprintf(key, sizeof key, "in %s", hs->peer);
    char *colon = strrchr(key, ':');
    if (colon != NULL)
        *colon = '\0';
    rl_warn(hs->tr, key, "rejected cluster connection from %s: %s", hs->peer, why);
}

/* Reject with a status reply; the socket closes once it is written. */
static void srv_reply(struct hs *hs, uint8_t status) {
    struct wr_transport *tr = hs->tr;
    uint8_t *p = hs->wbuf;
    p = put_raw(p, MAGIC, MAGIC_LEN);
    p = put_le(p, status, 1);
    if (status == ST_OK) {
        uint8_t msg[MAC_S_MSG_LEN];
        mac_server_msg(hs->nc, hs->ns, hs->target_id, hs->chan, msg);
        crypto_auth(p, msg, sizeof msg, tr->key);
    } else {
        memset(p, 0, MAC_LEN);
    }
    hs->status = status;
    hs->state = HS_SRV_REPLY;
    int rv = hs_write(hs, REPLY_LEN);
    if (rv != 0) {
        if (status == ST_OK)
            srv_reject(hs, uv_strerror(rv));
        wr__transport_hs_close(hs);
    }
}

static void srv_check_hello(struct hs *hs) {
    struct wr_transport *tr = hs->tr;
    struct wr__hello h;
    char why[256];
    if (wr__transport_parse_hello(hs->rbuf, hs->rgot, &h) != WR__HELLO_OK) {
        /* Cannot happen: the read callback only completes on OK. */
        srv_reject(hs, "malformed handshake");
        wr__transport_hs_close(hs);
        return;
    }
    hs->chan = h.chan;
    hs->peer_id = h.client_id;
    hs->target_id = h.target_id;
    memcpy(hs->nc, h.nc, NONCE_LEN);
    memcpy(hs->addr, h.addr, h.addr_len);
    hs->addr[h.addr_len] = '\0';

    uint8_t mac[MAC_LEN];
    mac_client(tr, hs->ns, h.nc, h.chan, h.client_id, h.target_id, h.addr, h.addr_len, mac);
    if (sodium_memcmp(mac, h.mac, MAC_LEN) != 0) {
        srv_reject(hs, "bad MAC (wrong cluster secret?)");
        srv_reply(hs, ST_BAD_MAC);
        return;
    }
    if (h.target_id != tr->id && !(h.chan == WR_CHAN_MEMBER && h.target_id == 0)) {
        snprintf(why, sizeof why,
                 "node %llu (%.80s) dialled node %llu but this is node %llu (stale address in "
                 "its configuration?)",
                 (unsigned long long)h.client_id, hs->addr, (unsigned long long)h.target_id,
                 (unsigned long long)tr->id);
        srv_reject(hs, why);
        srv_reply(hs, ST_BAD_TARGET);
        return;
    }
    if ((h.chan == WR_CHAN_FWD && tr->fwd_cb == NULL) ||
        (h.chan == WR_CHAN_MEMBER && tr->member_cb == NULL)) {
        snprintf(why, sizeof why,
                 "node %llu asked for the %s channel, which is not enabled on this node",
                 (unsigned long long)h.client_id, h.chan == WR_CHAN_FWD ? "forward" : "membership");
        srv_reject(hs, why);
        srv_reply(hs, ST_BAD_FORMAT);
        return;
    }
    srv_reply(hs, ST_OK);
}

static void srv_handover_raft(struct hs *hs) {
    struct wr_transport *tr = hs->tr;
    char addr[sizeof hs->addr];
    memcpy(addr, hs->addr, sizeof addr);
    raft_id id = hs->peer_id;
    uv_tcp_t *tcp = hs->tcp;
    wr_debug("accepted raft connection from node %llu (%s, %s)", (unsigned long long)id, addr,
             hs->peer);
    hs_unlink(hs);
    free(hs);
    tr->stats.accepted++;
    tcp->data = NULL;
    tr->accept_cb(tr->t, id, addr, (uv_stream_t *)tcp);
}

/* Move the connection to a malloc'd handle (its new owner free()s it):
 * dup the fd into a fresh handle and close the raft_malloc'd one. */
static void free_handle_cb(uv_handle_t *h) {
    free(h);
}

static const char *chan_name(uint8_t chan) {
    return chan == WR_CHAN_FWD ? "forward" : chan == WR_CHAN_MEMBER ? "membership" : "raft";
}

static void srv_handover_fwd(struct hs *hs) {
    struct wr_transport *tr = hs->tr;
    uv_tcp_t *tcp = NULL;
    uv_os_fd_t fd;
    int nfd = -1;
    int rv = uv_fileno((uv_handle_t *)hs->tcp, &fd);
    if (rv != 0)
        goto err;
    nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (nfd < 0) {
        rv = uv_translate_sys_error(errno);
        goto err;
    }
    tcp = wr_malloc(sizeof *tcp);
    rv = uv_tcp_init(tr->loop, tcp);
    if (rv != 0)
        goto err_after_dup;
    rv = uv_tcp_open(tcp, nfd);
    if (rv != 0)
        goto err_after_tcp_init;
    uv_tcp_nodelay(tcp, 1);
    tcp->data = NULL;
    uint64_t id = hs->peer_id;
    uint8_t chan = hs->chan;
    wr_debug("accepted %s connection from node %llu (%s)", chan_name(chan),
             (unsigned long long)id, hs->peer);
    wr__transport_hs_close(hs); /* closes the original fd; the dup keeps the socket open */
    tr->stats.accepted++;
    if (chan == WR_CHAN_FWD)
        tr->fwd_cb(tr->fwd_data, id, tcp);
    else
        tr->member_cb(tr->member_data, id, tcp);
    return;

err_after_tcp_init:
    uv_close((uv_handle_t *)tcp, free_handle_cb);
    tcp = NULL;
err_after_dup:
    free(tcp);
    close(nfd);
err:;
    char why[128];
    snprintf(why, sizeof why, "cannot hand over the forward channel: %s", uv_strerror(rv));
    srv_reject(hs, why);
    wr__transport_hs_close(hs);
}

/* Server handshakes in progress from @hs's address, @hs included. */
static unsigned srv_hs_from(const struct wr_transport *tr, const struct hs *hs) {
    const char *colon = strrchr(hs->peer, ':');
    size_t n = colon != NULL ? (size_t)(colon - hs->peer) + 1 : strlen(hs->peer);
    unsigned count = 0;
    for (const struct hs *o = tr->hs_list; o != NULL; o = o->next)
        if (o->kind == HS_SERVER && o->state != HS_CLOSING && strncmp(o->peer, hs->peer, n) == 0)
            count++;
    return count;
}

void wr__transport_srv_connection_cb(uv_stream_t *listener, int status) {
    struct wr_transport *tr = listener->data;
    if (status < 0) {
        rl_warn(tr, "accept", "accept on cluster port %s: %s", tr->address, uv_strerror(status));
        return;
    }
    if (tr->closing)
        return;
    struct hs *hs = wr__transport_hs_new(tr, HS_SERVER);
    hs->tcp = raft_malloc(sizeof *hs->tcp);
    hs->tcp_raft_heap = hs->tcp != NULL;
    if (hs->tcp == NULL) /* accept anyway, so the listener keeps going, then close */
        hs->tcp = wr_malloc(sizeof *hs->tcp);
    uv_tcp_init(tr->loop, hs->tcp);
    hs->tcp->data = hs;
    hs_link(tr, hs);
    snprintf(hs->peer, sizeof hs->peer, "?");
    int rv = uv_accept(listener, (uv_stream_t *)hs->tcp);
    if (rv != 0) {
        rl_warn(tr, "accept", "accept on cluster port %s: %s", tr->address, uv_strerror(rv));
        hs->state = HS_SRV_HELLO;
        wr__transport_hs_close(hs);
        return;
    }
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (uv_tcp_getpeername(hs->tcp, (struct sockaddr *)&ss, &sslen) == 0)
        sockaddr_text(&ss, hs->peer, sizeof hs->peer);
    hs->state = HS_SRV_HELLO;
    if (!hs->tcp_raft_heap) {
        srv_reject(hs, "out of memory");
        wr__transport_hs_close(hs);
        return;
    }
    if (srv_hs_from(tr, hs) > tr->max_hs_per_ip) {
        char why[96];
        snprintf(why, sizeof why, "too many handshakes in progress from this address (max %u)",
                 tr->max_hs_per_ip);
        srv_reject(hs, why);
        wr__transport_hs_close(hs);
        return;
    }
    if (tr->n_srv_hs > MAX_SERVER_HANDSHAKES) {
        srv_reject(hs, "too many handshakes in progress (max " WR__STR(
                           MAX_SERVER_HANDSHAKES) "); connection flood?");
        wr__transport_hs_close(hs);
        return;
    }
    uv_tcp_nodelay(hs->tcp, 1);

    randombytes_buf(hs->ns, NONCE_LEN);
    uint8_t *p = hs->wbuf;
    p = put_raw(p, MAGIC, MAGIC_LEN);
    put_raw(p, hs->ns, NONCE_LEN);
    rv = hs_write(hs, CHALLENGE_LEN);
    if (rv == 0)
        rv = hs_read(hs, WR__HELLO_FIXED);
    if (rv != 0) {
        srv_reject(hs, uv_strerror(rv));
        wr__transport_hs_close(hs);
        return;
    }
    sweep_ensure_running(tr);
}

/* Server: bytes of the hello arrived. */
static void srv_on_bytes(struct hs *hs) {
    struct wr__hello h;
    char why[128];
    switch (wr__transport_parse_hello(hs->rbuf, hs->rgot, &h)) {
    case WR__HELLO_OK:
        uv_read_stop((uv_stream_t *)hs->tcp);
        hs->read_done = true;
        hs_step(hs);
        return;
    case WR__HELLO_SHORT:
        hs->rneed = h.len; /* <= HELLO_MAX: the parser bounds addr_len */
        return;
    case WR__HELLO_BAD_MAGIC:
        srv_reject(hs, "not a Warren handshake (raw Raft or other protocol?)");
        wr__transport_hs_close(hs);
        return;
    case WR__HELLO_BAD_CHAN:
        snprintf(why, sizeof why, "bad channel %u in handshake (version mismatch?)",
                 (unsigned)hs->rbuf[MAGIC_LEN]);
        break;
    default:
        snprintf(why, sizeof why, "bad address (length %u) in handshake", (unsigned)h.addr_len);
        break;
    }
    uv_read_stop((uv_stream_t *)hs->tcp);
    srv_reject(hs, why);
    /* Reply status 3 once the challenge write (maybe in flight) is done. */
    hs->status = ST_BAD_FORMAT;
    hs->read_done = true;
    hs_step(hs);
}

/* ---- client side ---- */

static void cli_fail(struct hs *hs, int uv_status) {
    hs->fail = uv_status;
    wr__transport_hs_close(hs);
}

static void cli_send_hello(struct hs *hs) {
    struct wr_transport *tr = hs->tr;
    memcpy(hs->ns, hs->rbuf + MAGIC_LEN, NONCE_LEN);
    randombytes_buf(hs->nc, NONCE_LEN);
    uint8_t *p = hs->wbuf;
    p = put_raw(p, MAGIC, MAGIC_LEN);
    p = put_le(p, hs->chan, 1);
    p = put_le(p, tr->id, 8);
    p = put_le(p, hs->peer_id, 8);
    p = put_le(p, tr->address_len, 2);
    p = put_raw(p, hs->nc, NONCE_LEN);
    p = put_raw(p, tr->address, tr->address_len);
    mac_client(tr, hs->ns, hs->nc, hs->chan, tr->id, hs->peer_id, (const uint8_t *)tr->address,
               tr->address_len, p);
    p += MAC_LEN;
    hs->state = HS_CLI_REPLY;
    int rv = hs_write(hs, (size_t)(p - hs->wbuf));
    if (rv == 0)
        rv = hs_read(hs, REPLY_LEN);
    if (rv != 0) {
        rl_warn(tr, hs->addr, "handshake with node %llu at %s failed: %s",
                (unsigned long long)hs->peer_id, hs->addr, uv_strerror(rv));
        cli_fail(hs, rv);
    }
}

static void cli_check_reply(struct hs *hs) {
    struct wr_transport *tr = hs->tr;
    unsigned long long id = (unsigned long long)hs->peer_id;
    uint8_t status = hs->rbuf[MAGIC_LEN];
    const char *why = NULL;
    switch (status) {
    case ST_OK:
        break;
    case ST_BAD_MAC:
        why = "bad MAC (our cluster secret differs from theirs?)";
        break;
    case ST_BAD_TARGET:
        why = "it is not that node (wrong id or address for it in our configuration?)";
        break;
    case ST_BAD_FORMAT:
        why = hs->chan == WR_CHAN_FWD
                  ? "bad channel/format (forward channel not enabled there, or version mismatch?)"
                  : "bad channel/format (version mismatch?)";
        break;
    default:
        why = "unknown status (version mismatch?)";
        break;
    }
    if (why != NULL) {
        tr->stats.dial_rejected++;
        rl_warn(tr, hs->addr, "node %llu at %s refused our handshake: %s", id, hs->addr, why);
        cli_fail(hs, UV_EACCES);
        return;
    }
    uint8_t msg[MAC_S_MSG_LEN];
    mac_server_msg(hs->nc, hs->ns, hs->peer_id, hs->chan, msg);
    if (crypto_auth_verify(hs->rbuf + MAGIC_LEN + 1, msg, sizeof msg, tr->key) != 0) {
        tr->stats.dial_rejected++;
        rl_warn(tr, hs->addr,
                "node %llu at %s failed to prove the cluster secret: bad server MAC (its secret "
                "differs from ours, or another node answers at that address?)",
                id, hs->addr);
        cli_fail(hs, UV_EACCES);
        return;
    }

    /* Success: hand the stream over, reading stopped, no write pending. */
    uv_tcp_t *tcp = hs->tcp;
    tcp->data = NULL;
    tr->stats.dial_ok++;
    wr_debug("%s connection to node %llu at %s authenticated", chan_name(hs->chan), id, hs->addr);
    enum hs_kind kind = hs->kind;
    struct raft_uv_connect *req = hs->req;
    struct wr_dial *dial = hs->dial;
    hs_unlink(hs);
    free(hs);
    if (kind == HS_RAFT_CONNECT)
        req->cb(req, (uv_stream_t *)tcp, 0);
    else
        dial->cb(dial, tcp, 0);
}

static void cli_connect_cb(uv_connect_t *c, int status) {
    struct hs *hs = c->data;
    if (hs->state == HS_CLOSING)
        return;
    if (status != 0) {
        /* A peer being down is routine while Raft retries: debug only. */
        wr_debug("connect to node %llu at %s: %s", (unsigned long long)hs->peer_id, hs->addr,
                 uv_strerror(status));
        cli_fail(hs, status);
        return;
    }
    /* A connect to a dead peer's port in the ephemeral range can come back
     * connected to itself (TCP simultaneous open from the same port). It
     * would then hold that port, so the peer could not restart on it. */
    struct sockaddr_storage local, remote;
    int llen = sizeof local, rlen = sizeof remote;
    if (uv_tcp_getsockname(hs->tcp, (struct sockaddr *)&local, &llen) == 0 &&
        uv_tcp_getpeername(hs->tcp, (struct sockaddr *)&remote, &rlen) == 0 && llen == rlen &&
        memcmp(&local, &remote, (size_t)llen) == 0) {
        wr_debug("connect to node %llu at %s: connected to itself; dropping it",
                 (unsigned long long)hs->peer_id, hs->addr);
        cli_fail(hs, UV_ECONNREFUSED);
        return;
    }
    uv_tcp_nodelay(hs->tcp, 1);
    hs->state = HS_CLI_CHALLENGE;
    int rv = hs_read(hs, CHALLENGE_LEN);
    if (rv != 0)
        cli_fail(hs, rv);
}

/* Client: bytes of the challenge or the reply arrived. */
static void cli_on_bytes(struct hs *hs) {
    if (!magic_prefix_ok(hs->rbuf, hs->rgot)) {
        rl_warn(hs->tr, hs->addr,
                "node %llu at %s does not speak the Warren handshake (another service on that "
                "port, or an old version?)",
                (unsigned long long)hs->peer_id, hs->addr);
        cli_fail(hs, UV_EPROTO);
        return;
    }
    if (hs->rgot < hs->rneed)
        return;
    uv_read_stop((uv_stream_t *)hs->tcp);
    hs->read_done = true;
    hs_step(hs);
}

int wr__transport_cli_start(struct wr_transport *tr, struct hs *hs, uint64_t id,
                            const char *address) {
    struct sockaddr_in sa;
    char err[160];
    size_t alen = strlen(address);
    if (alen > WR__HELLO_ADDR_MAX || wr_addr_parse(address, &sa, err, sizeof err) != 0)
        return UV_EINVAL;
    hs->peer_id = id;
    memcpy(hs->addr, address, alen + 1);
    hs->state = HS_CLI_CONNECT;
    uv_tcp_init(tr->loop, hs->tcp);
    hs->tcp->data = hs;
    hs_link(tr, hs);
    hs->connect.data = hs;
    int rv = uv_tcp_connect(&hs->connect, hs->tcp, (const struct sockaddr *)&sa, cli_connect_cb);
    if (rv != 0) {
        hs->quiet = true;
        wr__transport_hs_close(hs);
        return rv;
    }
    sweep_ensure_running(tr);
    return 0;
}

/* ---- shared read path and state machine ---- */

static void hs_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    struct hs *hs = s->data;
    (void)buf;
    if (nread == 0)
        return;
    if (nread < 0) {
        int err = (int)nread;
        if (hs->kind == HS_SERVER) {
            char why[96];
            snprintf(why, sizeof why, "connection lost during the handshake (%s)",
                     uv_strerror(err));
            srv_reject(hs, why);
            wr__transport_hs_close(hs);
        } else {
            rl_warn(hs->tr, hs->addr,
                    "node %llu at %s closed the connection during our handshake (%s)",
                    (unsigned long long)hs->peer_id, hs->addr, uv_strerror(err));
            cli_fail(hs, err);
        }
        return;
    }
    hs->rgot += (size_t)nread;
    if (hs->kind == HS_SERVER)
        srv_on_bytes(hs);
    else
        cli_on_bytes(hs);
}

/* Advance once the current phase's read and write have both completed. */
static void hs_step(struct hs *hs) {
    if (hs->write_pending)
        return;
    switch (hs->state) {
    case HS_SRV_HELLO:
        if (!hs->read_done)
            break;
        if (hs->status != ST_OK) /* already rejected and logged */
            srv_reply(hs, hs->status);
        else
            srv_check_hello(hs);
        break;
    case HS_SRV_REPLY:
        if (hs->status != ST_OK)
            wr__transport_hs_close(hs);
        else if (hs->chan == WR_CHAN_FWD || hs->chan == WR_CHAN_MEMBER)
            srv_handover_fwd(hs);
        else
            srv_handover_raft(hs);
        break;
    case HS_CLI_CHALLENGE:
        if (hs->read_done)
            cli_send_hello(hs);
        break;
    case HS_CLI_REPLY:
        if (hs->read_done)
            cli_check_reply(hs);
        break;
    case HS_CLI_CONNECT:
    case HS_CLOSING:
        break;
    }
}

static void sweep_cb(uv_timer_t *timer) {
    struct wr_transport *tr = timer->data;
    uint64_t now = uv_now(tr->loop);
    if (tr->hs_list == NULL) {
        uv_timer_stop(timer);
        return;
    }
    for (struct hs *hs = tr->hs_list; hs != NULL; hs = hs->next) {
        if (hs->state == HS_CLOSING || now < hs->deadline)
            continue;
        if (hs->kind == HS_SERVER) {
            char why[96];
            snprintf(why, sizeof why,
                     "handshake not completed within %u ms (idle or stalled peer?)",
                     tr->deadline_ms);
            srv_reject(hs, why);
            wr__transport_hs_close(hs);
        } else {
            rl_warn(tr, hs->addr, "node %llu at %s did not complete our handshake within %u ms",
                    (unsigned long long)hs->peer_id, hs->addr, tr->deadline_ms);
            cli_fail(hs, UV_ETIMEDOUT);
        }
    }
}
