/* The WebSocket half of the node's web server; see http.h, and http.c for
 * the connection states.
 *
 * Receiving goes through wslay's event API (one wslay_event_context per
 * socket, server mode): it reassembles fragments, checks masking, UTF-8 and
 * control frames, answers pings, echoes the peer's close, and enforces
 * max_ws_message (close 1009). Everything wslay wants to send (pong, close)
 * arrives in ws_send_cb, is gathered into one sbuf per wslay_event_send and
 * put on the connection's output queue, so it stays in order with our data
 * frames.
 *
 * Server-to-client data frames do not go through wslay: its event API copies
 * every queued message into the one context, so a broadcast to N sockets
 * would copy and frame the payload N times. wr_ws_frame_text builds the
 * complete unmasked frame (header + payload) once, in a refcounted sbuf, and
 * the same bytes are queued on every socket.
 *
 * A close we start (wr_ws_close, a limit, a binary message, server stop) is
 * queued in wslay and pumped; once wslay reports the close frame sent, the
 * connection enters CLOSING (flush, shutdown, linger) and on_ws_close runs
 * from the flusher, never from inside the node's own call. */
#include "net/http.h"
#include "net/net_internal.h"

#include <string.h>

#include <openssl/evp.h>

#include "common/alloc.h"
#include "common/log.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static struct wr_http_conn *ws_conn(struct wr_ws *ws)
{
    return WR_CONTAINER_OF(ws, struct wr_http_conn, ws);
}

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                          void *user)
{
    struct wr_http_conn *c = user;
    (void)flags;
    if (c->ws.in_len == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < c->ws.in_len ? len : c->ws.in_len;
    memcpy(buf, c->ws.in, n);
    c->ws.in += n;
    c->ws.in_len -= n;
    return (ssize_t)n;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                          void *user)
{
    struct wr_http_conn *c = user;
    (void)ctx;
    (void)flags;
    wr_put_bytes(&c->ws.pend, data, len);
    return (ssize_t)len;
}

/* Queue a close frame in wslay and stop reading; sends are ignored from
 * now on. @limit: the reason is a limit breach (logged at warn). */
static void ws_fail(struct wr_http_conn *c, uint16_t code, const char *why, bool limit)
{
    struct wr_ws *ws = &c->ws;
    if (ws->user_closed)
        return;
    ws->user_closed = true;
    ws->why = why;
    ws->limit_hit = limit;
    wslay_event_queue_close(ws->ctx, code, (const uint8_t *)why, strnlen(why, 123));
    wslay_event_shutdown_read(ws->ctx);
}

/* Token bucket: one token per message, ws_rate per second, at most
 * ws_burst. ws_rate == 0 disables the limit. */
static bool ws_take_token(struct wr_http_conn *c)
{
    const struct wr_http_limits *lim = &c->srv->limits;
    struct wr_ws *ws = &c->ws;
    if (lim->ws_rate == 0)
        return true;
    uint64_t now = uv_now(c->srv->loop);
    uint64_t cap = (uint64_t)lim->ws_burst * 1000;
    ws->tokens_milli += (now - ws->refill_at) * lim->ws_rate;
    if (ws->tokens_milli > cap)
        ws->tokens_milli = cap;
    ws->refill_at = now;
    if (ws->tokens_milli < 1000)
        return false;
    ws->tokens_milli -= 1000;
    return true;
}

static void ws_pump(struct wr_http_conn *c);

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user)
{
    struct wr_http_conn *c = user;
    (void)ctx;
    if (c->state != WR_CONN_WS || c->ws.user_closed)
        return;
    switch (arg->opcode) {
    case WSLAY_TEXT_FRAME:
    case WSLAY_BINARY_FRAME:
    case WSLAY_PING:
        if (!ws_take_token(c)) {
            ws_fail(c, WSLAY_CODE_POLICY_VIOLATION, "rate limit", true);
            return;
        }
        break;
    default:
        return; /* close and pong: wslay handles them */
    }
    if (arg->opcode == WSLAY_BINARY_FRAME) {
        ws_fail(c, WSLAY_CODE_UNSUPPORTED_DATA, "binary messages are not supported", false);
        return;
    }
    if (arg->opcode != WSLAY_TEXT_FRAME)
        return;
    /* A pong wslay queued for an earlier ping goes out before whatever the
     * node answers to this message. wslay's send side is independent of its
     * receive side, so this is safe inside wslay_event_recv. */
    if (wslay_event_want_write(c->ws.ctx))
        ws_pump(c);
    c->srv->stats.ws_messages_in++;
    if (c->srv->h.on_ws_text != NULL)
        c->srv->h.on_ws_text(&c->ws, arg->msg_length ? (const char *)arg->msg : "",
                             arg->msg_length);
}

static const struct wslay_event_callbacks ws_callbacks = {
    .recv_callback = ws_recv_cb,
    .send_callback = ws_send_cb,
    .on_msg_recv_callback = ws_on_msg,
};

/* Let wslay send what it queued, move it to the output queue, and start
 * closing once its close frame is out. */
static void ws_pump(struct wr_http_conn *c)
{
    struct wr_ws *ws = &c->ws;
    int rv = wslay_event_send(ws->ctx);
    if (ws->pend.len > 0) {
        struct wr_sbuf *b = wr_sbuf_new(ws->pend.len);
        memcpy(b->data, ws->pend.base, ws->pend.len);
        ws->pend.len = 0;
        wr__conn_queue(c, b);
    }
    if (rv != 0) {
        wr_debug("http %s: wslay_event_send failed: %d", c->peer, rv);
        wr__conn_begin_close(c, true);
        return;
    }
    if (c->state != WR_CONN_WS || !wslay_event_get_close_sent(ws->ctx))
        return;
    uint16_t sent = wslay_event_get_status_code_sent(ws->ctx);
    if (ws->why != NULL && ws->limit_hit) {
        wr__conn_limit(c, ws->why);
    } else if (ws->why != NULL) {
        wr_debug("http %s: websocket closed (%u): %s", c->peer, sent, ws->why);
    } else if (wslay_event_get_close_received(ws->ctx)) {
        wr_debug("http %s: websocket closed by peer (%u)", c->peer,
                 wslay_event_get_status_code_received(ws->ctx));
    } else if (sent == WSLAY_CODE_MESSAGE_TOO_BIG) {
        wr__conn_limit(c, "websocket message too large");
    } else {
        wr_debug("http %s: websocket protocol error, sent close %u", c->peer, sent);
    }
    wr__conn_begin_close(c, false);
}

bool wr__ws_accept(struct wr_http_conn *c)
{
    struct wr_http_server *srv = c->srv;
    struct wr_ws *ws = &c->ws;
    const char *key = c->h_ws_key + strspn(c->h_ws_key, " \t");
    size_t klen = strcspn(key, " \t");
    char buf[sizeof c->h_ws_key + sizeof WS_GUID];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char accept[64];

    memcpy(buf, key, klen);
    memcpy(buf + klen, WS_GUID, sizeof WS_GUID - 1);
    if (EVP_Digest(buf, klen + sizeof WS_GUID - 1, md, &mdlen, EVP_sha1(), NULL) != 1) {
        wr_error("http %s: EVP_Digest(sha1) failed", c->peer);
        return false;
    }
    EVP_EncodeBlock((unsigned char *)accept, md, (int)mdlen);
    if (wslay_event_context_server_init(&ws->ctx, &ws_callbacks, c) != 0) {
        wr_error("http %s: wslay_event_context_server_init failed", c->peer);
        ws->ctx = NULL;
        return false;
    }
    wslay_event_config_set_max_recv_msg_length(ws->ctx, srv->limits.max_ws_message);

    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    struct wr_sbuf *b = wr_sbuf_new((size_t)n);
    memcpy(b->data, head, (size_t)n);
    wr__conn_queue(c, b);

    c->is_ws = true;
    c->keep_alive = false;
    c->state = WR_CONN_WS;
    ws->open = true;
    ws->tokens_milli = (uint64_t)srv->limits.ws_burst * 1000;
    ws->refill_at = uv_now(srv->loop);
    srv->stats.ws_open++;
    if (srv->h.on_ws_open != NULL)
        srv->h.on_ws_open(srv, ws);
    return true;
}

void wr__ws_feed(struct wr_http_conn *c, const uint8_t *data, size_t len)
{
    struct wr_ws *ws = &c->ws;
    if (c->state != WR_CONN_WS)
        return;
    ws->in = data;
    ws->in_len = len;
    ws->in_recv = true;
    int rv = wslay_event_recv(ws->ctx);
    ws->in_recv = false;
    ws->in = NULL;
    ws->in_len = 0;
    if (rv != 0) {
        wr_debug("http %s: wslay_event_recv failed: %d", c->peer, rv);
        wr__conn_begin_close(c, true);
        return;
    }
    if (c->handle_closed || (c->state == WR_CONN_CLOSING && c->abort))
        return;
    ws_pump(c);
}

void wr__ws_going_away(struct wr_http_conn *c)
{
    if (c->state != WR_CONN_WS || c->ws.user_closed)
        return;
    ws_fail(c, WSLAY_CODE_GOING_AWAY, "server stopping", false);
    ws_pump(c);
}

void wr__ws_notify_close(struct wr_http_conn *c)
{
    struct wr_ws *ws = &c->ws;
    if (!c->is_ws || !ws->open || ws->notified)
        return;
    ws->notified = true;
    c->srv->stats.ws_open--;
    if (c->srv->h.on_ws_close != NULL)
        c->srv->h.on_ws_close(ws);
}

void wr__ws_free(struct wr_http_conn *c)
{
    if (c->ws.ctx != NULL)
        wslay_event_context_free(c->ws.ctx);
    c->ws.ctx = NULL;
    wr_writer_free(&c->ws.pend);
}

/* ---- public ----------------------------------------------------------- */

void wr_ws_set_data(struct wr_ws *ws, void *data)
{
    ws->data = data;
}

void *wr_ws_data(struct wr_ws *ws)
{
    return ws->data;
}

const char *wr_ws_peer(struct wr_ws *ws)
{
    return ws_conn(ws)->peer;
}

struct wr_http_server *wr_ws_server(struct wr_ws *ws)
{
    return ws_conn(ws)->srv;
}

struct wr_sbuf *wr_ws_frame_text(const char *data, size_t len)
{
    uint8_t head[10];
    size_t hlen;
    head[0] = 0x81; /* FIN + text */
    if (len < 126) {
        head[1] = (uint8_t)len;
        hlen = 2;
    } else if (len <= 0xffff) {
        head[1] = 126;
        head[2] = (uint8_t)(len >> 8);
        head[3] = (uint8_t)len;
        hlen = 4;
    } else {
        head[1] = 127;
        for (int i = 0; i < 8; i++)
            head[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        hlen = 10;
    }
    struct wr_sbuf *b = wr_sbuf_new(hlen + len);
    memcpy(b->data, head, hlen);
    if (len > 0)
        memcpy(b->data + hlen, data, len);
    return b;
}

void wr_ws_send_frame(struct wr_ws *ws, struct wr_sbuf *frame)
{
    struct wr_http_conn *c = ws_conn(ws);
    if (c->state != WR_CONN_WS || ws->user_closed)
        return;
    wr__conn_queue(c, wr_sbuf_ref(frame));
    c->srv->stats.ws_frames_out++;
    if (c->q_bytes > c->srv->limits.max_output_bytes) {
        wr__conn_limit(c, "slow consumer (output queue over max_output_bytes)");
        wr__conn_begin_close(c, true);
    }
}

void wr_ws_send_text(struct wr_ws *ws, const char *data, size_t len)
{
    struct wr_sbuf *f = wr_ws_frame_text(data, len);
    wr_ws_send_frame(ws, f);
    wr_sbuf_unref(f);
}

void wr_ws_close(struct wr_ws *ws, uint16_t code, const char *reason)
{
    struct wr_http_conn *c = ws_conn(ws);
    if (c->state != WR_CONN_WS || ws->user_closed)
        return;
    ws->user_closed = true;
    ws->why = "closed by the node";
    wslay_event_queue_close(ws->ctx, code, (const uint8_t *)(reason ? reason : ""),
                            reason ? strnlen(reason, 123) : 0);
    wslay_event_shutdown_read(ws->ctx);
    if (!ws->in_recv)
        ws_pump(c); /* otherwise wr__ws_feed pumps when wslay returns */
}
