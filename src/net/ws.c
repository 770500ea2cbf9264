/* The WebSocket half of the node's web server; see http.h, and http.c for
 * the connection states.
 *
 * Why hand-written and not wslay (libwslay-dev): the rule is to prefer a
 * well-kept Debian library over hand-written protocol code, and this server
 * used wslay's event API until it became the bulk of what an idle socket
 * costs: every wslay_event_context carries fixed per-connection buffers
 * (a 4096-byte frame input buffer plus the event context's output buffer,
 * ~8 KB of the ~11.4 KB of heap an idle WebSocket cost), which breaks the
 * budget of under 2 KB per idle connection (tests/unit/test_http.c,
 * test_ws_idle_memory: about 1 KB now), and its API cannot parse from a
 * caller's buffer.
 * The part of RFC 6455 a server needs is small: parse masked client frames,
 * reassemble fragments, check UTF-8, answer ping and close. We already built
 * our own server-to-client data frames (below) so that a broadcast frames
 * its payload once.
 *
 * Receiving (wr__ws_feed) works in place on the bytes http.c read into the
 * server's shared read buffer: the payload is unmasked there and a text
 * message that arrived whole in one read is handed to on_ws_text straight
 * from it. Per connection we keep only the partial frame header (at most
 * 14 bytes), the payload bytes left and the masking offset of the frame in
 * progress, the UTF-8 validator state, and `msg`, a buffer allocated only
 * while a message is fragmented or split across reads (or a control frame
 * is split across reads) and freed once it is delivered.
 *
 * The rules enforced (a breach sends a close frame with the code, then the
 * connection enters CLOSING: flush, shutdown, linger):
 *   - client frames must be masked; RSV bits must be clear (we negotiate no
 *     extension: the 101 never carries Sec-WebSocket-Extensions, so a client
 *     offering permessage-deflate gets none, and a frame with RSV1, the
 *     compressed bit, is refused before any of it is read: no inflate bomb
 *     is possible); opcodes 3-7 and 11-15 are unknown; a 64-bit length with
 *     the top bit set, or a length not in its minimal form: 1002;
 *   - control frames must be final and at most 125 bytes; a continuation
 *     needs an open fragmented message, a text or binary frame needs none
 *     open: 1002;
 *   - text must be valid UTF-8 (checked incrementally, across fragments,
 *     no overlongs, surrogates or code points above U+10FFFF): 1007;
 *   - a message over max_ws_message (fragments add up): 1009; binary: 1003;
 *   - one rate-limit token per text message, ping or binary message: 1008;
 *   - a close frame is answered with a close carrying its code (a 1-byte
 *     payload, an invalid code: 1002; a reason that is not UTF-8: 1007).
 * Every close we send (pong and close are the only control frames we send)
 * is queued on the connection's output queue, in order with our data
 * frames, and nothing more is read or sent on the socket after it.
 *
 * Server-to-client data frames: wr_ws_frame_text builds the complete
 * unmasked frame (header + payload) once, in a refcounted sbuf, and the same
 * bytes are queued on every socket.
 *
 * on_ws_close never runs from inside the node's own call: a close only
 * moves the connection to CLOSING, and the flusher calls on_ws_close. */
#include "net/http.h"
#include "net/net_internal.h"

#include <string.h>

#include <openssl/evp.h>

#include "common/alloc.h"
#include "common/log.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xa,
};

enum {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_BAD_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
};

static struct wr_http_conn *ws_conn(struct wr_ws *ws)
{
    return WR_CONTAINER_OF(ws, struct wr_http_conn, ws);
}

/* ---- UTF-8 ------------------------------------------------------------ */

/* Incremental UTF-8 check (Unicode 15, table 3-7): the state is the number
 * of continuation bytes still expected and the allowed range of the next
 * one, which is narrower than 80..BF right after E0 (no overlongs), ED (no
 * surrogates), F0 (no overlongs) and F4 (nothing above U+10FFFF). C0, C1
 * and F5..FF never start a sequence. Returns false at the first bad byte. */
static bool utf8_feed(uint8_t *need, uint8_t *lo, uint8_t *hi, const uint8_t *p, size_t n)
{
    uint8_t nd = *need, l = *lo, h = *hi;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (nd > 0) {
            if (b < l || b > h)
                return false;
            nd--;
            l = 0x80;
            h = 0xbf;
            continue;
        }
        if (b < 0x80)
            continue;
        l = 0x80;
        h = 0xbf;
        if (b >= 0xc2 && b <= 0xdf) {
            nd = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
            nd = 2;
            if (b == 0xe0)
                l = 0xa0;
            else if (b == 0xed)
                h = 0x9f;
        } else if (b >= 0xf0 && b <= 0xf4) {
            nd = 3;
            if (b == 0xf0)
                l = 0x90;
            else if (b == 0xf4)
                h = 0x8f;
        } else {
            return false;
        }
    }
    *need = nd;
    *lo = l;
    *hi = h;
    return true;
}

static bool utf8_valid(const uint8_t *p, size_t n)
{
    uint8_t need = 0, lo = 0x80, hi = 0xbf;
    return utf8_feed(&need, &lo, &hi, p, n) && need == 0;
}

/* ---- sending control frames ------------------------------------------- */

/* Queue one unmasked control frame (payload <= 125 bytes). */
static void ws_queue_control(struct wr_http_conn *c, uint8_t op, const uint8_t *payload,
                             size_t len)
{
    struct wr_sbuf *b = wr_sbuf_new(2 + len);
    b->data[0] = (uint8_t)(0x80 | op);
    b->data[1] = (uint8_t)len;
    if (len > 0)
        memcpy(b->data + 2, payload, len);
    wr__conn_queue(c, b);
}

/* Queue a close frame with @code (0: no payload) and @reason (truncated to
 * 123 bytes), then close the connection after flushing: nothing more is
 * read or sent as WebSocket. */
static void ws_send_close(struct wr_http_conn *c, uint16_t code, const char *reason)
{
    uint8_t p[125];
    size_t n = 0;
    if (code != 0) {
        size_t rl = reason != NULL ? strnlen(reason, 123) : 0;
        p[0] = (uint8_t)(code >> 8);
        p[1] = (uint8_t)code;
        if (rl > 0)
            memcpy(p + 2, reason, rl);
        n = 2 + rl;
    }
    ws_queue_control(c, WS_OP_CLOSE, p, n);
    wr__conn_begin_close(c, false);
}

/* Close because of the peer. @limit: a limit breach (warn, counted).
 * Returns false, for the parser's convenience. */
static bool ws_fail(struct wr_http_conn *c, uint16_t code, const char *why, bool limit)
{
    if (c->state != WR_CONN_WS)
        return false;
    if (limit)
        wr__conn_limit(c, why);
    else if (code == WS_CLOSE_GOING_AWAY)
        wr_debug("http %s: websocket closed (%u): %s", c->s.peer, code, why);
    else /* the client's fault: worth a line at the default level */
        wr_info("http %s: websocket closed (%u): %s", c->s.peer, code, why);
    ws_send_close(c, code, why);
    return false;
}

/* Token bucket: one token per message, ws_rate per second, at most
 * ws_burst. ws_rate == 0 disables the limit. */
static bool ws_take_token(struct wr_http_conn *c)
{
    const struct wr_http_limits *lim = &wr__conn_srv(c)->limits;
    struct wr_ws *ws = &c->ws;
    if (lim->ws_rate == 0)
        return true;
    uint64_t now = uv_now(wr__conn_srv(c)->ss.loop);
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

/* ---- receiving -------------------------------------------------------- */

static bool ws_is_control(uint8_t op)
{
    return (op & 0x8) != 0;
}

/* Size of the header that starts with @b1 (second byte), mask included. */
static size_t ws_header_size(uint8_t b1)
{
    uint8_t len7 = b1 & 0x7f;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
}

/* Checks that need only the first two header bytes. Returns false after
 * failing the connection. */
static bool ws_check_start(struct wr_http_conn *c, uint8_t b0, uint8_t b1)
{
    uint8_t op = b0 & 0x0f;
    if (b0 & 0x70)
        return ws_fail(c, WS_CLOSE_PROTOCOL, "reserved bits set", false);
    if (!(b1 & 0x80))
        return ws_fail(c, WS_CLOSE_PROTOCOL, "unmasked client frame", false);
    if ((op >= 3 && op <= 7) || op >= 0xb)
        return ws_fail(c, WS_CLOSE_PROTOCOL, "unknown opcode", false);
    if (ws_is_control(op) && !(b0 & 0x80))
        return ws_fail(c, WS_CLOSE_PROTOCOL, "fragmented control frame", false);
    if (ws_is_control(op) && (b1 & 0x7f) > 125)
        return ws_fail(c, WS_CLOSE_PROTOCOL, "control frame over 125 bytes", false);
    return true;
}

/* The header in ws->hdr is complete: check it against the message state
 * and start the payload. Returns false after failing the connection. */
static bool ws_begin_frame(struct wr_http_conn *c)
{
    struct wr_ws *ws = &c->ws;
    const uint8_t *h = ws->hdr;
    uint8_t op = h[0] & 0x0f;
    uint8_t len7 = h[1] & 0x7f;
    uint64_t len = len7;
    if (len7 == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        if (len < 126)
            return ws_fail(c, WS_CLOSE_PROTOCOL, "length not minimal", false);
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | h[2 + i];
        if (len >> 63)
            return ws_fail(c, WS_CLOSE_PROTOCOL, "64-bit length with the top bit set", false);
        if (len <= 0xffff)
            return ws_fail(c, WS_CLOSE_PROTOCOL, "length not minimal", false);
    }
    if (op == WS_OP_CONT && ws->msg_op == 0)
        return ws_fail(c, WS_CLOSE_PROTOCOL, "continuation without a message", false);
    if ((op == WS_OP_TEXT || op == WS_OP_BINARY) && ws->msg_op != 0)
        return ws_fail(c, WS_CLOSE_PROTOCOL, "new message inside a fragmented one", false);
    if (op == WS_OP_BINARY) {
        if (!ws_take_token(c))
            return ws_fail(c, WS_CLOSE_POLICY, "rate limit", true);
        return ws_fail(c, WS_CLOSE_UNSUPPORTED, "binary messages are not supported", false);
    }
    if (!ws_is_control(op)) {
        /* Earlier fragments are all in msg. */
        if (len > wr__conn_srv(c)->limits.max_ws_message - ws->msg.len)
            return ws_fail(c, WS_CLOSE_TOO_BIG, "websocket message too large", true);
        if (op == WS_OP_TEXT) {
            ws->msg_op = op; /* open until the final fragment ends */
            ws->u8_need = 0;
        }
    } else {
        ws->ctl_start = ws->msg.len;
    }
    ws->op = op;
    ws->left = len;
    ws->mask_off = 0;
    ws->in_payload = true;
    return true;
}

static void ws_on_close_frame(struct wr_http_conn *c, const uint8_t *p, size_t n)
{
    uint16_t code = 0;
    if (n == 1) {
        ws_fail(c, WS_CLOSE_PROTOCOL, "close frame with a 1-byte payload", false);
        return;
    }
    if (n >= 2) {
        code = (uint16_t)(p[0] << 8 | p[1]);
        bool ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                  (code >= 3000 && code <= 4999);
        if (!ok) {
            ws_fail(c, WS_CLOSE_PROTOCOL, "invalid close code", false);
            return;
        }
        if (!utf8_valid(p + 2, n - 2)) {
            ws_fail(c, WS_CLOSE_BAD_DATA, "close reason is not UTF-8", false);
            return;
        }
    }
    wr_debug("http %s: websocket closed by peer (%u)", c->s.peer, code);
    ws_send_close(c, code, NULL);
}

/* The frame in progress is complete; its payload (unmasked) is @p, @n. */
static void ws_end_frame(struct wr_http_conn *c, const uint8_t *p, size_t n)
{
    struct wr_ws *ws = &c->ws;
    bool fin = (ws->hdr[0] & 0x80) != 0;
    uint8_t op = ws->op;
    ws->in_payload = false;
    ws->hdr_len = 0;
    if (ws_is_control(op)) {
        switch (op) {
        case WS_OP_PING:
            if (!ws_take_token(c))
                ws_fail(c, WS_CLOSE_POLICY, "rate limit", true);
            else
                ws_queue_control(c, WS_OP_PONG, p, n);
            break;
        case WS_OP_CLOSE:
            ws_on_close_frame(c, p, n);
            break;
        default:
            break; /* pong */
        }
        ws->msg.len = ws->ctl_start;
        if (ws->msg.len == 0 && ws->msg_op == 0)
            wr_writer_free(&ws->msg);
        return;
    }
    if (!fin)
        return;
    bool text = ws->msg_op == WS_OP_TEXT;
    ws->msg_op = 0;
    if (text && ws->u8_need != 0) {
        ws_fail(c, WS_CLOSE_BAD_DATA, "invalid UTF-8", false);
        return;
    }
    if (!ws_take_token(c)) {
        ws_fail(c, WS_CLOSE_POLICY, "rate limit", true);
        return;
    }
    wr__conn_srv(c)->stats.ws_messages_in++;
    if (wr__conn_srv(c)->h.on_ws_text != NULL)
        wr__conn_srv(c)->h.on_ws_text(&c->ws, n ? (const char *)p : "", n);
    wr_writer_free(&ws->msg);
}

/* Payload bytes @p, @n (n <= ws->left) of the frame in progress. */
static void ws_payload(struct wr_http_conn *c, uint8_t *p, size_t n)
{
    struct wr_ws *ws = &c->ws;
    const uint8_t *mask = ws->hdr + ws_header_size(ws->hdr[1]) - 4;
    unsigned off = ws->mask_off;
    for (size_t i = 0; i < n; i++)
        p[i] ^= mask[(off + i) & 3];
    ws->mask_off = (uint8_t)((off + n) & 3);
    bool control = ws_is_control(ws->op);
    if (!control && ws->msg_op == WS_OP_TEXT &&
        !utf8_feed(&ws->u8_need, &ws->u8_lo, &ws->u8_hi, p, n)) {
        ws_fail(c, WS_CLOSE_BAD_DATA, "invalid UTF-8", false);
        return;
    }
    size_t start = control ? ws->ctl_start : 0;
    bool whole = n == ws->left && ws->msg.len == start;
    ws->left -= n;
    if (whole && (control || (ws->hdr[0] & 0x80))) {
        /* All of it is here: no copy. */
        ws_end_frame(c, p, n);
        return;
    }
    wr_put_bytes(&ws->msg, p, n);
    if (ws->left == 0)
        ws_end_frame(c, ws->msg.base + start, ws->msg.len - start);
}

void wr__ws_feed(struct wr_http_conn *c, uint8_t *data, size_t len)
{
    struct wr_ws *ws = &c->ws;
    while (c->state == WR_CONN_WS && (len > 0 || (ws->in_payload && ws->left == 0))) {
        if (ws->in_payload) {
            if (ws->left == 0) {
                /* Empty payload. */
                ws_end_frame(c, (const uint8_t *)"", 0);
                continue;
            }
            size_t n = ws->left < len ? (size_t)ws->left : len;
            ws_payload(c, data, n);
            data += n;
            len -= n;
            continue;
        }
        /* Header: the first two bytes, then the rest (length, mask). */
        size_t want = ws->hdr_len < 2 ? 2 : ws_header_size(ws->hdr[1]);
        size_t n = want - ws->hdr_len < len ? want - ws->hdr_len : len;
        memcpy(ws->hdr + ws->hdr_len, data, n);
        ws->hdr_len = (uint8_t)(ws->hdr_len + n);
        data += n;
        len -= n;
        if (ws->hdr_len == 2 && want == 2) {
            if (!ws_check_start(c, ws->hdr[0], ws->hdr[1]))
                return;
            continue;
        }
        if (ws->hdr_len == want && !ws_begin_frame(c))
            return;
    }
}

/* ---- connection glue -------------------------------------------------- */

bool wr__ws_accept(struct wr_http_conn *c, uint8_t route)
{
    struct wr_http_server *srv = wr__conn_srv(c);
    struct wr_ws *ws = &c->ws;
    const char *key = c->rq->h_ws_key + strspn(c->rq->h_ws_key, " \t");
    size_t klen = strcspn(key, " \t");
    char buf[sizeof c->rq->h_ws_key + sizeof WS_GUID];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char accept[64];

    memcpy(buf, key, klen);
    memcpy(buf + klen, WS_GUID, sizeof WS_GUID - 1);
    if (EVP_Digest(buf, klen + sizeof WS_GUID - 1, md, &mdlen, srv->sha1, NULL) != 1) {
        wr_error("http %s: EVP_Digest(sha1) failed", c->s.peer);
        return false;
    }
    EVP_EncodeBlock((unsigned char *)accept, md, (int)mdlen);

    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    struct wr_sbuf *b = wr_sbuf_new((size_t)n);
    memcpy(b->data, head, (size_t)n);
    wr__conn_queue(c, b);

    memset(ws, 0, sizeof *ws);
    ws->base.kind = WR_CONN_WEBSOCKET;
    ws->base.route = route;
    ws->u8_lo = 0x80;
    ws->u8_hi = 0xbf;
    c->is_ws = true;
    c->keep_alive = false;
    c->state = WR_CONN_WS;
    ws->open = true;
    ws->tokens_milli = (uint64_t)srv->limits.ws_burst * 1000;
    ws->refill_at = uv_now(srv->ss.loop);
    srv->stats.ws_open++;
    if (srv->h.on_ws_open != NULL)
        srv->h.on_ws_open(srv, ws);
    return true;
}

void wr__ws_going_away(struct wr_http_conn *c)
{
    ws_fail(c, WS_CLOSE_GOING_AWAY, "server stopping", false);
}

void wr__ws_notify_close(struct wr_http_conn *c)
{
    struct wr_ws *ws = &c->ws;
    if (!c->is_ws || !ws->open || ws->notified)
        return;
    ws->notified = true;
    wr__conn_srv(c)->stats.ws_open--;
    if (wr__conn_srv(c)->h.on_ws_close != NULL)
        wr__conn_srv(c)->h.on_ws_close(ws);
}

void wr__ws_free(struct wr_http_conn *c)
{
    wr_writer_free(&c->ws.msg);
}

/* ---- public ----------------------------------------------------------- */

void wr_ws_set_data(struct wr_ws *ws, void *data)
{
    ws->base.data = data;
}

void *wr_ws_data(struct wr_ws *ws)
{
    return ws->base.data;
}

const char *wr_ws_peer(struct wr_ws *ws)
{
    return ws_conn(ws)->s.peer;
}

struct wr_http_server *wr_ws_server(struct wr_ws *ws)
{
    return wr__conn_srv(ws_conn(ws));
}

static struct wr_sbuf *ws_frame(uint8_t opcode, const void *data, size_t len)
{
    uint8_t head[10];
    size_t hlen;
    head[0] = (uint8_t)(0x80u | opcode); /* FIN */
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

struct wr_sbuf *wr_ws_frame_text(const char *data, size_t len)
{
    return ws_frame(WS_OP_TEXT, data, len);
}

struct wr_sbuf *wr_ws_frame_binary(const void *data, size_t len)
{
    return ws_frame(WS_OP_BINARY, data, len);
}

void wr_ws_send_frame(struct wr_ws *ws, struct wr_sbuf *frame)
{
    struct wr_http_conn *c = ws_conn(ws);
    if (c->state != WR_CONN_WS)
        return;
    wr__conn_queue(c, wr_sbuf_ref(frame));
    wr__conn_srv(c)->stats.ws_frames_out++;
    if (c->s.q_bytes > wr__conn_srv(c)->limits.max_output_bytes) {
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
    if (c->state != WR_CONN_WS)
        return;
    wr_debug("http %s: websocket closed by the node (%u)", c->s.peer, code);
    ws_send_close(c, code, reason != NULL ? reason : "");
}
