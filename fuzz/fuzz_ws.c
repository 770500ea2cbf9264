/* libFuzzer driver for the WebSocket frame parser (wr__ws_feed, net/ws.c),
 * which parses every byte a browser client sends after the upgrade.
 *
 * No socket: the driver builds one server struct and one connection the way
 * http.c's accept and wr__ws_accept do (the connection goes through the real
 * wr__ws_accept), and calls wr__ws_feed as read_cb would. Queued output is
 * inspected in the connection's queue; the loop never runs (uv_now stays
 * put, so the rate limit is a plain token count).
 *
 * Input: byte 0 picks max_ws_message and the rate-limit burst, byte 1 the
 * number n (0..7) of chunk-length bytes that follow; the rest is the byte
 * stream from the client, fed in chunks of those lengths (cycled; each
 * chunk in a heap block of its exact size), and again in one piece.
 *
 * Invariants:
 *   - every delivered text message is valid UTF-8 (checked by an
 *     independent decoder) and at most max_ws_message bytes, and is
 *     delivered only while the connection is an open WebSocket;
 *   - what we queue is the 101 response, then only pong and close frames
 *     that are well formed, and a close frame is the last thing queued;
 *   - after a breach the connection is CLOSING and stays so;
 *   - between messages an open WebSocket holds no heap buffer;
 *   - the chunking does not matter: the same messages, the same queued
 *     bytes, the same final state and counters as the one-piece feed;
 *   - on_ws_close is called exactly once. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "net/http.h"
#include "net/net_internal.h"

static uv_loop_t loop;
static struct wr_http_server *srv;
static struct wr_http_conn *cur; /* connection being fed */

struct run {
    uint64_t msg_digest;
    size_t msgs;
    size_t opens, closes;
};
static struct run *run;

/* Independent UTF-8 check: decode each sequence and range-check the code
 * point (no overlongs, no surrogates, nothing above U+10FFFF). */
static bool utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t c = s[i];
        size_t k;
        uint32_t min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1;
            c &= 0x1f;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
            c &= 0x0f;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3;
            c &= 0x07;
            min = 0x10000;
        } else {
            return false;
        }
        if (n - i - 1 < k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            uint8_t b = s[i + j];
            if ((b & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (b & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

static void on_ws_open(struct wr_http_server *s, struct wr_ws *ws)
{
    FUZZ_CHECK(s == srv && ws == &cur->ws);
    run->opens++;
}

static void on_ws_text(struct wr_ws *ws, const char *data, size_t len)
{
    FUZZ_CHECK(ws == &cur->ws);
    FUZZ_CHECK(cur->state == WR_CONN_WS);
    FUZZ_CHECK(data != NULL);
    FUZZ_CHECK(len <= srv->limits.max_ws_message);
    FUZZ_CHECK(utf8_ok((const uint8_t *)data, len));
    run->msgs++;
    run->msg_digest = fuzz_digest_u64(run->msg_digest, len);
    run->msg_digest = fuzz_digest(run->msg_digest, data, len);
}

static void on_ws_close(struct wr_ws *ws)
{
    FUZZ_CHECK(ws == &cur->ws);
    run->closes++;
}

static const size_t max_msg_choices[8] = {4096, 1, 16, 125, 126, 300, 65535, 70000};
static const unsigned burst_choices[8] = {120, 0, 1, 2, 3, 5, 8, 100000};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    FUZZ_CHECK(uv_loop_init(&loop) == 0);
    srv = calloc(1, sizeof *srv);
    FUZZ_CHECK(srv != NULL);
    srv->ss.loop = &loop;
    srv->ss.ops = &wr__http_stream_ops;
    srv->ss.bytes_in = &srv->stats.bytes_in;
    srv->ss.bytes_out = &srv->stats.bytes_out;
    srv->ss.limit_closes = &srv->stats.limit_closes;
    wr_http_limits_default(&srv->limits);
    srv->h.on_ws_open = on_ws_open;
    srv->h.on_ws_text = on_ws_text;
    srv->h.on_ws_close = on_ws_close;
    srv->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    FUZZ_CHECK(srv->sha1 != NULL);
    /* Queuing output starts the flusher: it must be a real handle. */
    FUZZ_CHECK(uv_prepare_init(&loop, &srv->ss.flusher) == 0);
    return 0;
}

/* A connection that just completed the upgrade (as conn_dispatch leaves it:
 * the HTTP-phase state is gone). */
static struct wr_http_conn *conn_open(void)
{
    struct wr_http_conn *c = calloc(1, sizeof *c);
    FUZZ_CHECK(c != NULL);
    c->s.srv = &srv->ss;
    c->state = WR_CONN_REQUEST;
    c->s.reading = true;
    snprintf(c->s.peer, sizeof c->s.peer, "fuzz:1");
    struct wr_http_req rq;
    memset(&rq, 0, sizeof rq);
    snprintf(rq.h_ws_key, sizeof rq.h_ws_key, " dGhlIHNhbXBsZSBub25jZQ== ");
    c->rq = &rq;
    cur = c;
    FUZZ_CHECK(wr__ws_accept(c, 0));
    c->rq = NULL;
    FUZZ_CHECK(c->state == WR_CONN_WS && c->is_ws && c->ws.open);
    FUZZ_CHECK(c->s.q_len == 1);
    const struct wr_sbuf *b = c->s.q[c->s.q_head].buf;
    static const char accept[] = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
    FUZZ_CHECK(memmem(b->data, b->len, accept, sizeof accept - 1) != NULL);
    return c;
}

/* Check what the parser queued after the 101 and digest it. */
static uint64_t check_queue(struct wr_http_conn *c)
{
    uint64_t d = 0;
    bool closed = false;
    FUZZ_CHECK(c->s.q_len >= 1);
    for (size_t i = 1; i < c->s.q_len; i++) {
        const struct wr_sbuf *b = c->s.q[c->s.q_head + i].buf;
        FUZZ_CHECK(!closed); /* nothing after a close frame */
        FUZZ_CHECK(b->len >= 2 && b->len <= 127);
        FUZZ_CHECK(b->data[0] == 0x8a || b->data[0] == 0x88); /* FIN pong / close */
        FUZZ_CHECK(b->data[1] <= 125 && b->len == 2u + b->data[1]);
        if (b->data[0] == 0x88) {
            closed = true;
            FUZZ_CHECK(b->data[1] != 1);
            if (b->data[1] >= 2) {
                uint16_t code = (uint16_t)(b->data[2] << 8 | b->data[3]);
                FUZZ_CHECK(code >= 1000 && code <= 4999);
                FUZZ_CHECK(utf8_ok(b->data + 4, b->len - 4u));
            }
        }
        d = fuzz_digest(d, b->data, b->len);
    }
    /* We close exactly when we queued a close frame. */
    FUZZ_CHECK(closed == (c->state == WR_CONN_CLOSING));
    return d;
}

static void conn_free(struct wr_http_conn *c)
{
    /* What the close callback (http_closed) does, minus the handle. */
    wr__ws_notify_close(c);
    wr__ws_notify_close(c);
    wr__ws_free(c);
    wr__stream_release(&c->s);
    free(c);
    srv->ss.dirty_head = srv->ss.dirty_tail = NULL;
    if (srv->ss.flusher_active) {
        uv_prepare_stop(&srv->ss.flusher);
        srv->ss.flusher_active = false;
    }
    cur = NULL;
}

struct outcome {
    struct run run;
    uint64_t queue_digest;
    enum wr_conn_state state;
    uint64_t ws_messages_in, limit_closes;
};

static void feed(const uint8_t *stream, size_t len, const uint8_t *chunks, size_t n_chunks,
                 struct outcome *out)
{
    memset(out, 0, sizeof *out);
    memset(&srv->stats, 0, sizeof srv->stats);
    run = &out->run;
    struct wr_http_conn *c = conn_open();
    size_t off = 0, ci = 0;
    while (off < len) {
        size_t n = n_chunks ? (size_t)chunks[ci++ % n_chunks] + 1 : len;
        if (n > len - off)
            n = len - off;
        /* read_cb only hands bytes to the parser while it is a WebSocket. */
        if (c->state != WR_CONN_WS)
            break;
        uint8_t *buf = malloc(n);
        FUZZ_CHECK(buf != NULL);
        memcpy(buf, stream + off, n);
        enum wr_conn_state before = c->state;
        wr__ws_feed(c, buf, n);
        free(buf);
        off += n;
        FUZZ_CHECK(c->state == WR_CONN_WS || c->state == WR_CONN_CLOSING);
        FUZZ_CHECK(before == WR_CONN_WS);
        const struct wr_ws *ws = &c->ws;
        FUZZ_CHECK(ws->hdr_len <= sizeof ws->hdr);
        if (c->state == WR_CONN_WS) {
            FUZZ_CHECK(ws->msg.len <= srv->limits.max_ws_message + 125);
            /* An idle WebSocket holds no heap memory. */
            if (!ws->in_payload && ws->hdr_len == 0 && ws->msg_op == 0)
                FUZZ_CHECK(ws->msg.base == NULL && ws->msg.cap == 0);
        }
    }
    out->queue_digest = check_queue(c);
    out->state = c->state;
    out->ws_messages_in = srv->stats.ws_messages_in;
    out->limit_closes = srv->stats.limit_closes;
    FUZZ_CHECK(out->ws_messages_in == out->run.msgs);
    if (getenv("WARREN_FUZZ_LOG") != NULL)
        fprintf(stderr, "fuzz_ws: %zu chunk lengths: %zu messages, %zu queued, state %d, "
                "%llu limit closes\n", n_chunks, out->run.msgs, c->s.q_len, (int)c->state,
                (unsigned long long)out->limit_closes);
    conn_free(c);
    FUZZ_CHECK(out->run.opens == 1 && out->run.closes == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    srv->limits.max_ws_message = max_msg_choices[data[0] & 7];
    unsigned burst = burst_choices[(data[0] >> 3) & 7];
    srv->limits.ws_rate = burst == 0 ? 0 : 60;
    srv->limits.ws_burst = burst;
    size_t n_chunks = data[1] & 7;
    if (size < 2 + n_chunks)
        return 0;
    const uint8_t *chunks = data + 2;
    const uint8_t *stream = data + 2 + n_chunks;
    size_t len = size - 2 - n_chunks;

    struct outcome whole, split;
    feed(stream, len, NULL, 0, &whole);
    feed(stream, len, chunks, n_chunks, &split);
    FUZZ_CHECK(whole.run.msgs == split.run.msgs);
    FUZZ_CHECK(whole.run.msg_digest == split.run.msg_digest);
    FUZZ_CHECK(whole.queue_digest == split.queue_digest);
    FUZZ_CHECK(whole.state == split.state);
    FUZZ_CHECK(whole.limit_closes == split.limit_closes);
    return 0;
}
