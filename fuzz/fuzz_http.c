/* libFuzzer driver for the HTTP request path of the node's web server
 * (net/http.c: http-parser callbacks, header slots and limits, dispatch,
 * path decoding, static files, the upgrade to WebSocket and the frames that
 * follow it in the same bytes).
 *
 * No socket is read: this file includes net/http.c, so the driver reaches
 * its static conn_process and the build links every project object except
 * http.o. The connection is one persistent struct whose uv_tcp_t is opened
 * on one end of a socketpair (only so uv_read_start and uv_read_stop behave
 * as on a real socket); bytes are handed to the stream's read callback
 * (wr__stream_read_cb, net/stream.c) from the server's shared read buffer
 * exactly as libuv would, and the flusher's "resume" step is emulated
 * between reads. Output is inspected in
 * the connection's queue and never written; the loop never runs.
 *
 * Input: byte 0 picks the options (bit 0: the handler answers later, from
 * "the loop", instead of inside on_request; bits 1-2: max_header_bytes;
 * bits 3-4: max_body_bytes; bit 5: serve static files), byte 1 the number
 * n (0..7) of chunk-length bytes that follow; the rest is the byte stream
 * from the client, fed in chunks of those lengths and again in one piece,
 * then EOF.
 *
 * Invariants:
 *   - assert_conn_state() (http.c's own) after every read;
 *   - on_request sees only GET/HEAD/POST, a NUL-free decoded path, a body
 *     within max_body_bytes and NUL-terminated, the connection RESPONDING;
 *     no request is dispatched once the connection is closing or a
 *     WebSocket;
 *   - every queued HTTP response is well formed (status line, one header
 *     block, Content-Length equal to the body sent, or no body for HEAD);
 *   - static files: nothing outside the static root (a file behind a
 *     symlink, a directory symlink, "..") and no hidden file is ever sent;
 *   - the chunking does not matter: the same requests, the same queued
 *     bytes and the same final state as the one-piece feed. */
#include "net/http.c"

#include <stdbool.h>
#include <sys/socket.h>

#include "fuzz_common.h"

#define SECRET_MARKER "SECRET-OUTSIDE-ROOT"
#define HIDDEN_MARKER "HIDDEN-DOTFILE"

static uv_loop_t loop;
static struct wr_http_server *srv;
static struct wr_http_conn *conn; /* persistent; its tcp handle stays open */
static char static_root[PATH_MAX];
static bool async_answer;
static struct wr_http_conn *pending; /* awaiting an async answer */

struct outcome {
    uint64_t req_digest;
    size_t requests;
    size_t ws_msgs;
    uint64_t queue_digest;
    enum wr_conn_state state;
    uint64_t stat_requests, limit_closes;
};
static struct outcome *out;

static void on_request(struct wr_http_server *s, struct wr_http_conn *c,
                       const struct wr_http_request *req)
{
    FUZZ_CHECK(s == srv && c == conn);
    FUZZ_CHECK(c->state == WR_CONN_RESPONDING && c->awaiting && !c->s.reading);
    FUZZ_CHECK(pending == NULL);
    FUZZ_CHECK(strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0 ||
               strcmp(req->method, "POST") == 0);
    FUZZ_CHECK(req->path != NULL && req->query != NULL && req->body != NULL);
    FUZZ_CHECK(req->body_len <= srv->limits.max_body_bytes);
    FUZZ_CHECK(req->body[req->body_len] == '\0');
    FUZZ_CHECK(strcmp(req->path, "/ws") != 0);
    out->requests++;
    uint64_t d = out->req_digest;
    d = fuzz_digest(d, req->method, strlen(req->method) + 1);
    d = fuzz_digest(d, req->path, strlen(req->path) + 1);
    d = fuzz_digest(d, req->query, strlen(req->query) + 1);
    d = fuzz_digest_u64(d, req->body_len);
    d = fuzz_digest(d, req->body, req->body_len);
    out->req_digest = d;
    if (async_answer) {
        pending = c;
        return;
    }
    char body[64];
    int n = snprintf(body, sizeof body, "path of %zu bytes\n", strlen(req->path));
    wr_http_respond(c, 200, "text/plain", body, (size_t)n);
}

static void on_ws_open(struct wr_http_server *s, struct wr_ws *ws)
{
    FUZZ_CHECK(s == srv && ws == &conn->ws);
}

static void on_ws_text(struct wr_ws *ws, const char *data, size_t len)
{
    FUZZ_CHECK(ws == &conn->ws && conn->state == WR_CONN_WS);
    FUZZ_CHECK(len <= srv->limits.max_ws_message);
    (void)data;
    out->ws_msgs++;
}

/* ---- static root with traps ------------------------------------------ */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    FUZZ_CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static char tmp_dir[PATH_MAX];

static void remove_tmp(void)
{
    if (tmp_dir[0] == '\0')
        return;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_http: could not remove %s\n", tmp_dir);
}

/* tmp/secret.txt (outside the root), tmp/www/{index.html, app.js,
 * .hidden, sub/index.html}, www/link -> ../secret.txt, www/up -> .. */
static void make_static_root(void)
{
    /* Under $TMPDIR (fuzz/run.sh points it into build-fuzz/, so the
     * directories of runs that stopped on a crash stay out of /tmp). */
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/wr-fuzz-http-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(tmp_dir) != NULL);
    atexit(remove_tmp);
    char www[PATH_MAX], sub[PATH_MAX], p[PATH_MAX];
    snprintf(www, sizeof www, "%s/www", tmp_dir);
    snprintf(sub, sizeof sub, "%s/sub", www);
    FUZZ_CHECK(mkdir(www, 0700) == 0 && mkdir(sub, 0700) == 0);
    write_file(tmp_dir, "secret.txt", SECRET_MARKER "\n");
    write_file(www, "index.html", "<!doctype html><p>index</p>\n");
    write_file(www, "app.js", "console.log('app');\n");
    write_file(www, ".hidden", HIDDEN_MARKER "\n");
    write_file(sub, "index.html", "<p>sub</p>\n");
    snprintf(p, sizeof p, "%s/link", www);
    FUZZ_CHECK(symlink("../secret.txt", p) == 0);
    snprintf(p, sizeof p, "%s/up", www);
    FUZZ_CHECK(symlink("..", p) == 0);
    FUZZ_CHECK(realpath(www, static_root) != NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    make_static_root();
    FUZZ_CHECK(uv_loop_init(&loop) == 0);
    srv = calloc(1, sizeof *srv);
    FUZZ_CHECK(srv != NULL);
    srv->ss.loop = &loop;
    srv->ss.ops = &wr__http_stream_ops;
    srv->ss.bytes_in = &srv->stats.bytes_in;
    srv->ss.bytes_out = &srv->stats.bytes_out;
    srv->ss.limit_closes = &srv->stats.limit_closes;
    srv->ss.rbuf = srv->rbuf;
    srv->ss.rbuf_len = sizeof srv->rbuf;
    wr_http_limits_default(&srv->limits);
    srv->h.on_request = on_request;
    srv->h.on_ws_open = on_ws_open;
    srv->h.on_ws_text = on_ws_text;
    srv->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    FUZZ_CHECK(srv->sha1 != NULL);
    FUZZ_CHECK(uv_prepare_init(&loop, &srv->ss.flusher) == 0);

    int fds[2];
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    conn = calloc(1, sizeof *conn);
    FUZZ_CHECK(conn != NULL);
    FUZZ_CHECK(uv_tcp_init(&loop, &conn->s.tcp) == 0);
    FUZZ_CHECK(uv_tcp_open(&conn->s.tcp, fds[0]) == 0);
    return 0;
}

/* What on_connection does, on the persistent handle. */
static void conn_reset(void)
{
    struct wr_http_conn *c = conn;
    size_t keep = offsetof(struct wr_http_conn, s.srv);
    memset((char *)c + keep, 0, sizeof *c - keep);
    c->s.srv = &srv->ss;
    snprintf(c->s.peer, sizeof c->s.peer, "fuzz:1");
    c->s.counted = true;
    c->rq = wr_calloc(1, sizeof *c->rq);
    http_parser_init(&c->rq->parser, HTTP_REQUEST);
    c->rq->parser.data = c;
    c->state = WR_CONN_REQUEST;
    wr__stream_set_reading(&c->s, true);
    FUZZ_CHECK(c->s.reading);
    memset(&srv->stats, 0, sizeof srv->stats);
    pending = NULL;
}

/* What the close callback (http_closed) does, minus uv_close (the handle
 * is reused). */
static void conn_release(void)
{
    struct wr_http_conn *c = conn;
    FUZZ_CHECK(pending == NULL);
    wr__ws_notify_close(c);
    wr__ws_free(c);
    wr__stream_release(&c->s);
    conn_free_rq(c);
    c->s.dirty = false; /* the only stream on the dirty list */
    srv->ss.dirty_head = srv->ss.dirty_tail = NULL;
    if (srv->ss.flusher_active) {
        uv_prepare_stop(&srv->ss.flusher);
        srv->ss.flusher_active = false;
    }
    uv_read_stop((uv_stream_t *)&c->s.tcp);
    c->s.reading = false;
}

/* The loop between reads: the handler answers, the flusher resumes
 * parsing pipelined bytes (http_service). */
static void settle(void)
{
    struct wr_http_conn *c = conn;
    for (int guard = 0; pending != NULL || c->resume; guard++) {
        FUZZ_CHECK(guard < 100000);
        if (pending != NULL) {
            struct wr_http_conn *p = pending;
            pending = NULL;
            wr_http_respond(p, 201, "application/json", "{}", 2);
        }
        if (c->resume && !c->s.handle_closed) {
            c->resume = false;
            conn_process(c);
        }
        assert_conn_state(c);
    }
}

static void check_response(const uint8_t *p, size_t len)
{
    FUZZ_CHECK(len >= 12 && memcmp(p, "HTTP/1.1 ", 9) == 0);
    FUZZ_CHECK(p[9] >= '1' && p[9] <= '5' && p[10] >= '0' && p[10] <= '9');
    const uint8_t *end = memmem(p, len, "\r\n\r\n", 4);
    FUZZ_CHECK(end != NULL);
    size_t head = (size_t)(end - p) + 4;
    bool switching = memcmp(p + 9, "101 ", 4) == 0;
    if (switching) {
        FUZZ_CHECK(head == len);
        return;
    }
    const uint8_t *cl = memmem(p, head, "\r\nContent-Length: ", 18);
    FUZZ_CHECK(cl != NULL);
    size_t n = strtoul((const char *)cl + 18, NULL, 10);
    FUZZ_CHECK(len - head == n || len == head); /* a body, or a HEAD answer */
    FUZZ_CHECK(memmem(p, len, SECRET_MARKER, strlen(SECRET_MARKER)) == NULL);
    FUZZ_CHECK(memmem(p, len, HIDDEN_MARKER, strlen(HIDDEN_MARKER)) == NULL);
}

static uint64_t check_queue(void)
{
    struct wr_http_conn *c = conn;
    uint64_t d = 0;
    bool ws = false;
    for (size_t i = 0; i < c->s.q_len; i++) {
        const struct wr_sbuf *b = c->s.q[c->s.q_head + i].buf;
        FUZZ_CHECK(b->len > 0);
        if (!ws) {
            check_response(b->data, b->len);
            ws = memcmp(b->data + 9, "101 ", 4) == 0;
        } else {
            /* After the 101, only our control frames (pong, close). */
            FUZZ_CHECK(b->data[0] == 0x8a || b->data[0] == 0x88);
        }
        d = fuzz_digest(d, b->data, b->len);
    }
    FUZZ_CHECK(ws == c->is_ws);
    return d;
}

static void feed(const uint8_t *stream, size_t len, const uint8_t *chunks, size_t n_chunks,
                 struct outcome *o)
{
    memset(o, 0, sizeof *o);
    out = o;
    conn_reset();
    struct wr_http_conn *c = conn;
    size_t off = 0, ci = 0;
    while (off < len) {
        settle();
        /* libuv delivers bytes only while reading; CLOSING drops them. */
        if (!c->s.reading || c->state == WR_CONN_CLOSING)
            break;
        size_t n = n_chunks ? (size_t)chunks[ci++ % n_chunks] + 1 : len;
        if (n > len - off)
            n = len - off;
        bool was_ws = c->state == WR_CONN_WS;
        size_t before = o->requests;
        memcpy(srv->rbuf, stream + off, n);
        uv_buf_t buf = uv_buf_init(srv->rbuf, (unsigned)n);
        wr__stream_read_cb((uv_stream_t *)&c->s.tcp, (ssize_t)n, &buf);
        off += n;
        assert_conn_state(c);
        if (was_ws)
            FUZZ_CHECK(o->requests == before); /* frames are not requests */
        if (c->state == WR_CONN_REQUEST)
            FUZZ_CHECK(c->rq != NULL && c->rq->in_pos <= c->rq->in.len);
    }
    settle();
    if (!c->s.handle_closed && c->s.reading) {
        wr__stream_read_cb((uv_stream_t *)&c->s.tcp, UV_EOF, NULL);
        assert_conn_state(c);
        settle();
        FUZZ_CHECK(c->state == WR_CONN_CLOSING);
    }
    o->queue_digest = check_queue();
    o->state = c->state;
    o->stat_requests = srv->stats.requests;
    o->limit_closes = srv->stats.limit_closes;
    FUZZ_CHECK(o->requests <= o->stat_requests);
    if (getenv("WARREN_FUZZ_LOG") != NULL)
        fprintf(stderr, "fuzz_http: %zu chunk lengths: %zu to the handler of %llu requests, "
                "%zu ws messages, %zu queued, state %d, %llu limit closes\n", n_chunks,
                o->requests, (unsigned long long)o->stat_requests, o->ws_msgs, c->s.q_len,
                (int)o->state, (unsigned long long)o->limit_closes);
    conn_release();
}

static const size_t header_choices[4] = {8192, 64, 200, 1};
static const size_t body_choices[4] = {65536, 0, 16, 300};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    async_answer = data[0] & 1;
    srv->limits.max_header_bytes = header_choices[(data[0] >> 1) & 3];
    srv->limits.max_body_bytes = body_choices[(data[0] >> 3) & 3];
    if (data[0] & 0x20) {
        srv->static_dir = static_root;
        srv->static_dir_len = strlen(static_root);
    } else {
        srv->static_dir = NULL;
        srv->static_dir_len = 0;
    }
    size_t n_chunks = data[1] & 7;
    if (size < 2 + n_chunks)
        return 0;
    const uint8_t *chunks = data + 2;
    const uint8_t *stream = data + 2 + n_chunks;
    size_t len = size - 2 - n_chunks;

    struct outcome whole, split;
    feed(stream, len, NULL, 0, &whole);
    feed(stream, len, chunks, n_chunks, &split);
    FUZZ_CHECK(whole.requests == split.requests);
    FUZZ_CHECK(whole.req_digest == split.req_digest);
    FUZZ_CHECK(whole.ws_msgs == split.ws_msgs);
    FUZZ_CHECK(whole.queue_digest == split.queue_digest);
    FUZZ_CHECK(whole.state == split.state);
    FUZZ_CHECK(whole.stat_requests == split.stat_requests);
    FUZZ_CHECK(whole.limit_closes == split.limit_closes);
    return 0;
}
