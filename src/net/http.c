/* The HTTP/1.1 half of the node's web server; see http.h. ws.c holds the
 * WebSocket half, net_internal.h the shared structs.
 *
 * Connection states (struct wr_http_conn.state), checked by
 * assert_conn_state():
 *
 *   REQUEST     Reading a request. The socket is reading; http-parser owns
 *               the bytes in rq->in from in_pos; no request is with the
 *               handler (awaiting == false). The idle clock (`since`)
 *               started when the connection became idle, so a request must
 *               arrive whole within idle_timeout_ms.
 *   RESPONDING  on_request was called and wr_http_respond was not yet
 *               (awaiting == true). The socket is not reading: pipelined
 *               bytes stay in rq->in until the answer is queued, so answers
 *               go out in request order. Not idle-timed.
 *   WS          An open WebSocket (is_ws, ws.open). Reading; every byte read
 *               goes to ws.c's frame parser, in place in the shared read
 *               buffer. Not idle-timed. rq (the HTTP-phase state: parser,
 *               header slots, buffers) is freed: an idle WebSocket holds
 *               only this struct.
 *   CLOSING     No more input is processed. Unless `abort`, the output
 *               queue is flushed, then uv_shutdown, then bytes are read and
 *               dropped until the peer's FIN or WR_HTTP_LINGER_MS (so the
 *               peer reads our last bytes instead of an RST), then
 *               uv_close. With `abort` the handle is closed at the next
 *               safe point. A WebSocket's on_ws_close runs at the first
 *               safe point after entering CLOSING.
 *
 *   REQUEST -> RESPONDING -> REQUEST (keep-alive) | WS (101) | CLOSING
 *   any -> CLOSING -> (uv_close) -> freed in the close callback
 *
 * Safe points: a connection is only uv_close'd from the flusher (prepare)
 * callback, the sweep timer, the accept callback (refused sockets) and
 * wr_http_server_stop, never from inside a user callback's call chain on
 * that connection; everything else marks it CLOSING and dirty. The struct
 * is freed only in the uv_close callback, except a "zombie": a connection
 * whose socket closed while its request was with the handler, which stays
 * allocated until the handler's wr_http_respond (the answer is dropped).
 *
 * Output: each connection queues wr_sbuf references. Queuing marks the
 * connection dirty; the flusher runs once per loop iteration before the
 * loop polls, tries uv_try_write and hands the rest to one uv_write, whose
 * callback releases the references. Only one uv_write is in flight per
 * connection.
 *
 * Static files are read with blocking calls on the loop thread; they are
 * the node's own small web assets. */
#include "net/http.h"
#include "net/net_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/alloc.h"
#include "common/log.h"

#define WR_HTTP_MAX_STATIC_FILE (16u << 20)
#define WR_HTTP_WRITE_BUFS 64

/* Handle callbacks cast uv_handle_t * to the connection. */
_Static_assert(offsetof(struct wr_http_conn, tcp) == 0, "tcp must be first");

static void conn_close_handle(struct wr_http_conn *c);
static void conn_process(struct wr_http_conn *c);
static void server_handle_closed(struct wr_http_server *srv);

void wr_http_limits_default(struct wr_http_limits *l)
{
    l->max_header_bytes = 8192;
    l->max_body_bytes = 65536;
    l->max_ws_message = 4096;
    l->max_output_bytes = 1u << 20;
    l->max_connections = 10000;
    l->ws_rate = 60;
    l->ws_burst = 120;
    l->idle_timeout_ms = 30000;
}

/* ---- invariants ------------------------------------------------------- */

static void assert_conn_state(const struct wr_http_conn *c)
{
    (void)c;
    switch (c->state) {
    case WR_CONN_REQUEST:
        assert(!c->awaiting && !c->is_ws && !c->handle_closed && c->rq != NULL);
        break;
    case WR_CONN_RESPONDING:
        assert(c->awaiting && !c->is_ws && !c->reading);
        break;
    case WR_CONN_WS:
        assert(c->is_ws && c->ws.open && !c->awaiting && c->rq == NULL);
        break;
    case WR_CONN_CLOSING:
        assert(!c->shut_done || c->shut_started);
        assert(!c->shut_started || (!c->writing && c->q_len == 0) || c->abort);
        break;
    }
    assert(c->q_head + c->q_len <= c->q_cap || c->q_len == 0);
    assert(!c->writing || c->w_items <= c->q_len);
}

/* ---- dirty list and flusher ------------------------------------------- */

static void flusher_cb(uv_prepare_t *h);

static void conn_mark_dirty(struct wr_http_conn *c)
{
    struct wr_http_server *srv = c->srv;
    if (c->dirty || c->handle_closed || srv->stopping)
        return;
    c->dirty = true;
    c->dirty_next = NULL;
    c->dirty_prev = srv->dirty_tail;
    if (srv->dirty_tail != NULL)
        srv->dirty_tail->dirty_next = c;
    else
        srv->dirty_head = c;
    srv->dirty_tail = c;
    if (!srv->flusher_active) {
        uv_prepare_start(&srv->flusher, flusher_cb);
        srv->flusher_active = true;
    }
}

static void conn_unmark_dirty(struct wr_http_conn *c)
{
    struct wr_http_server *srv = c->srv;
    if (!c->dirty)
        return;
    if (c->dirty_prev != NULL)
        c->dirty_prev->dirty_next = c->dirty_next;
    else
        srv->dirty_head = c->dirty_next;
    if (c->dirty_next != NULL)
        c->dirty_next->dirty_prev = c->dirty_prev;
    else
        srv->dirty_tail = c->dirty_prev;
    c->dirty = false;
    c->dirty_prev = c->dirty_next = NULL;
}

/* ---- reading ---------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct wr_http_conn *c = (struct wr_http_conn *)h;
    (void)suggested;
    buf->base = c->srv->rbuf;
    buf->len = sizeof c->srv->rbuf;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_set_reading(struct wr_http_conn *c, bool on)
{
    if (c->handle_closed || c->reading == on)
        return;
    if (on) {
        int rv = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
        if (rv != 0) {
            wr_debug("http %s: uv_read_start failed: %s", c->peer, uv_strerror(rv));
            wr__conn_begin_close(c, true);
            return;
        }
    } else {
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
    c->reading = on;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct wr_http_conn *c = (struct wr_http_conn *)s;
    if (nread == 0)
        return;
    if (nread < 0) {
        conn_set_reading(c, false);
        if (nread == UV_EOF) {
            /* Half-close: answers already queued still go out. */
            c->peer_eof = true;
            if (c->state != WR_CONN_CLOSING)
                wr_debug("http %s: peer closed", c->peer);
            wr__conn_begin_close(c, false);
        } else {
            wr_debug("http %s: read failed: %s", c->peer, uv_strerror((int)nread));
            wr__conn_begin_close(c, true);
        }
        return;
    }
    c->srv->stats.bytes_in += (uint64_t)nread;
    switch (c->state) {
    case WR_CONN_REQUEST:
    case WR_CONN_RESPONDING:
        wr_put_bytes(&c->rq->in, buf->base, (size_t)nread);
        conn_process(c);
        break;
    case WR_CONN_WS:
        wr__ws_feed(c, (uint8_t *)buf->base, (size_t)nread);
        break;
    case WR_CONN_CLOSING:
        break; /* lingering: drop */
    }
}

/* ---- output queue ----------------------------------------------------- */

void wr__conn_queue(struct wr_http_conn *c, struct wr_sbuf *buf)
{
    if (c->handle_closed || c->abort || c->shut_started || buf->len == 0) {
        wr_sbuf_unref(buf);
        return;
    }
    if (c->q_head + c->q_len == c->q_cap) {
        if (c->q_head > 0 && c->q_head >= c->q_cap / 2) {
            memmove(c->q, c->q + c->q_head, c->q_len * sizeof *c->q);
            c->q_head = 0;
        } else {
            c->q_cap = c->q_cap ? c->q_cap * 2 : 8;
            c->q = wr_realloc(c->q, c->q_cap * sizeof *c->q);
        }
    }
    c->q[c->q_head + c->q_len++] = (struct wr_outq_item){buf, 0};
    c->q_bytes += buf->len;
    conn_mark_dirty(c);
}

/* Drop @n written bytes from the head of the queue. */
static void conn_consume(struct wr_http_conn *c, size_t n)
{
    c->q_bytes -= n;
    while (n > 0) {
        struct wr_outq_item *it = &c->q[c->q_head];
        size_t left = it->buf->len - it->off;
        if (n < left) {
            it->off += n;
            return;
        }
        n -= left;
        wr_sbuf_unref(it->buf);
        c->q_head++;
        c->q_len--;
    }
    if (c->q_len == 0)
        c->q_head = 0;
}

/* Release queued output, except what a uv_write in flight still points
 * at (libuv may write from it until the write callback, which releases it;
 * after uv_close, the close callback calls this with everything done). */
static void conn_drop_queue(struct wr_http_conn *c)
{
    size_t keep = c->writing ? c->w_items : 0;
    for (size_t i = keep; i < c->q_len; i++)
        wr_sbuf_unref(c->q[c->q_head + i].buf);
    c->q_len = keep;
    c->q_bytes = c->writing ? c->w_bytes : 0;
    if (c->q_len == 0)
        c->q_head = 0;
}

static size_t conn_fill_bufs(struct wr_http_conn *c, uv_buf_t *bufs, size_t max, size_t *bytes)
{
    size_t n = c->q_len < max ? c->q_len : max;
    *bytes = 0;
    for (size_t i = 0; i < n; i++) {
        struct wr_outq_item *it = &c->q[c->q_head + i];
        bufs[i] = uv_buf_init((char *)it->buf->data + it->off, (unsigned)(it->buf->len - it->off));
        *bytes += it->buf->len - it->off;
    }
    return n;
}

static void write_cb(uv_write_t *req, int status)
{
    struct wr_http_conn *c = WR_CONTAINER_OF(req, struct wr_http_conn, wreq);
    c->writing = false;
    if (c->handle_closed) {
        /* The close callback releases the whole queue. */
        return;
    }
    conn_consume(c, c->w_bytes);
    c->w_items = c->w_bytes = 0;
    if (status < 0) {
        wr_debug("http %s: write failed: %s", c->peer, uv_strerror(status));
        wr__conn_begin_close(c, true);
        return;
    }
    if (c->q_len > 0 || c->state == WR_CONN_CLOSING)
        conn_mark_dirty(c);
}

/* Write what the socket takes now; with !try_only, hand the rest to one
 * uv_write. */
static void conn_flush(struct wr_http_conn *c, bool try_only)
{
    uv_buf_t bufs[WR_HTTP_WRITE_BUFS];
    size_t bytes;
    if (c->writing || c->handle_closed)
        return;
    while (c->q_len > 0) {
        size_t n = conn_fill_bufs(c, bufs, WR_HTTP_WRITE_BUFS, &bytes);
        int rv = uv_try_write((uv_stream_t *)&c->tcp, bufs, (unsigned)n);
        if (rv == UV_EAGAIN || rv == UV_ENOSYS)
            break;
        if (rv < 0) {
            wr_debug("http %s: write failed: %s", c->peer, uv_strerror(rv));
            wr__conn_begin_close(c, true);
            return;
        }
        c->srv->stats.bytes_out += (uint64_t)rv;
        conn_consume(c, (size_t)rv);
        if ((size_t)rv < bytes)
            break;
    }
    if (c->q_len == 0 || try_only)
        return;
    size_t n = conn_fill_bufs(c, bufs, WR_HTTP_WRITE_BUFS, &bytes);
    int rv = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, bufs, (unsigned)n, write_cb);
    if (rv != 0) {
        wr_debug("http %s: uv_write failed: %s", c->peer, uv_strerror(rv));
        wr__conn_begin_close(c, true);
        return;
    }
    c->writing = true;
    c->w_items = n;
    c->w_bytes = bytes;
    c->srv->stats.bytes_out += bytes;
}

/* ---- closing ---------------------------------------------------------- */

void wr__conn_begin_close(struct wr_http_conn *c, bool abort)
{
    if (c->handle_closed)
        return;
    if (c->state != WR_CONN_CLOSING) {
        c->state = WR_CONN_CLOSING;
        c->since = uv_now(c->srv->loop);
    }
    if (abort) {
        c->abort = true;
        conn_drop_queue(c);
    }
    conn_mark_dirty(c);
}

void wr__conn_limit(struct wr_http_conn *c, const char *reason)
{
    wr_warn("http %s: closed: %s", c->peer, reason);
    c->srv->stats.limit_closes++;
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct wr_http_conn *c = WR_CONTAINER_OF(req, struct wr_http_conn, sreq);
    if (c->handle_closed)
        return;
    c->shut_done = true;
    if (status < 0)
        c->abort = true;
    conn_mark_dirty(c);
}

/* Free the HTTP-phase state (the connection is a WebSocket or closing). */
static void conn_free_rq(struct wr_http_conn *c)
{
    struct wr_http_req *rq = c->rq;
    if (rq == NULL)
        return;
    wr_writer_free(&rq->in);
    wr_writer_free(&rq->url);
    wr_writer_free(&rq->field);
    wr_writer_free(&rq->value);
    wr_writer_free(&rq->body);
    free(rq);
    c->rq = NULL;
}

static void conn_close_cb(uv_handle_t *h)
{
    struct wr_http_conn *c = (struct wr_http_conn *)h;
    struct wr_http_server *srv = c->srv;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    srv->nconns--;
    if (c->counted)
        srv->stats.connections_open--;
    wr__ws_notify_close(c);
    wr__ws_free(c);
    c->writing = false; /* any write callback has run (UV_ECANCELED) */
    conn_drop_queue(c);
    free(c->q);
    c->q = NULL;
    conn_free_rq(c);
    if (c->awaiting) {
        c->zombie = true;
        c->next = srv->zombies;
        if (srv->zombies != NULL)
            srv->zombies->prev = c;
        srv->zombies = c;
    } else {
        free(c);
    }
    server_handle_closed(srv);
}

static void conn_close_handle(struct wr_http_conn *c)
{
    if (c->handle_closed)
        return;
    conn_unmark_dirty(c);
    c->handle_closed = true;
    c->reading = false;
    uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

/* The flusher's work for one dirty connection. */
static void conn_service(struct wr_http_conn *c)
{
    if (c->handle_closed)
        return;
    if (c->resume) {
        c->resume = false;
        conn_process(c);
        if (c->handle_closed)
            return;
    }
    if (c->state != WR_CONN_CLOSING || !c->abort)
        conn_flush(c, false);
    if (c->state != WR_CONN_CLOSING)
        return;
    if (c->is_ws && c->ws.open && !c->ws.notified) {
        wr__ws_notify_close(c);
        if (c->handle_closed)
            return;
    }
    if (c->abort || (c->shut_done && c->peer_eof)) {
        conn_close_handle(c);
        return;
    }
    if (!c->writing && c->q_len == 0 && !c->shut_started) {
        int rv = uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, shutdown_cb);
        if (rv != 0) {
            conn_close_handle(c);
            return;
        }
        c->shut_started = true;
        c->since = uv_now(c->srv->loop);
        if (!c->peer_eof)
            conn_set_reading(c, true);
    }
}

static void flusher_cb(uv_prepare_t *h)
{
    struct wr_http_server *srv = WR_CONTAINER_OF(h, struct wr_http_server, flusher);
    struct wr_http_conn *c;
    while (!srv->stopping && (c = srv->dirty_head) != NULL) {
        conn_unmark_dirty(c);
        conn_service(c);
        if (!c->handle_closed)
            assert_conn_state(c);
    }
    if (!srv->stopping && srv->dirty_head == NULL && srv->flusher_active) {
        uv_prepare_stop(&srv->flusher);
        srv->flusher_active = false;
    }
}

/* ---- responses -------------------------------------------------------- */

static const char *status_text(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

/* Build the complete response in one sbuf. */
static struct wr_sbuf *make_response(int status, const char *ctype, const char *cache,
                                     bool keep_alive, size_t body_len, bool with_body)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: %s\r\nConnection: %s\r\n\r\n",
                     status, status_text(status), ctype, body_len, cache,
                     keep_alive ? "keep-alive" : "close");
    size_t hlen = (n > 0 && (size_t)n < sizeof head) ? (size_t)n : 0;
    struct wr_sbuf *b = wr_sbuf_new(hlen + (with_body ? body_len : 0));
    memcpy(b->data, head, hlen);
    return b;
}

/* The current request is answered: go on reading, or close. */
static void conn_answered(struct wr_http_conn *c)
{
    if (c->keep_alive && !c->peer_eof) {
        c->state = WR_CONN_REQUEST;
        c->since = uv_now(c->srv->loop);
        if (!c->in_dispatch) {
            c->resume = true;
            conn_mark_dirty(c);
        }
    } else {
        wr__conn_begin_close(c, false);
    }
}

static void conn_respond(struct wr_http_conn *c, int status, const char *ctype, const void *body,
                         size_t len)
{
    struct wr_sbuf *b = make_response(status, ctype, "no-store", c->keep_alive, len, !c->is_head);
    if (!c->is_head && len > 0)
        memcpy(b->data + b->len - len, body, len);
    wr__conn_queue(c, b);
}

/* Answer and close: for errors after which the stream cannot be trusted. */
static void conn_fail(struct wr_http_conn *c, int status, const char *msg)
{
    c->keep_alive = false;
    c->is_head = false;
    conn_respond(c, status, "text/plain; charset=utf-8", msg, strlen(msg));
    wr__conn_begin_close(c, false);
}

void wr_http_respond(struct wr_http_conn *conn, int status, const char *content_type,
                     const void *body, size_t len)
{
    if (!conn->awaiting) {
        wr_warn("http %s: wr_http_respond called twice or without a request", conn->peer);
        return;
    }
    conn->awaiting = false;
    if (conn->zombie) {
        /* The socket is gone; drop the answer and the struct. */
        if (conn->srv != NULL) {
            if (conn->prev != NULL)
                conn->prev->next = conn->next;
            else
                conn->srv->zombies = conn->next;
            if (conn->next != NULL)
                conn->next->prev = conn->prev;
        }
        free(conn);
        return;
    }
    if (conn->state != WR_CONN_RESPONDING)
        return; /* closing already */
    conn_respond(conn, status, content_type ? content_type : "application/octet-stream", body, len);
    conn_answered(conn);
}

/* ---- static files ----------------------------------------------------- */

static const char *content_type_for(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".json", "application/json"},
        {".ico", "image/x-icon"},
    };
    const char *dot = strrchr(path, '.');
    if (dot != NULL && strchr(dot, '/') == NULL)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

/* True if the decoded @path is safe to look up: absolute, no "." or ".."
 * segment, no hidden files, no backslashes. NUL is rejected earlier. */
static bool static_path_ok(const char *path)
{
    if (path[0] != '/' || strchr(path, '\\') != NULL)
        return false;
    for (const char *s = path + 1; *s != '\0';) {
        if (*s == '.')
            return false; /* ".", "..", ".hidden" */
        const char *e = strchr(s, '/');
        if (e == NULL)
            break;
        s = e + 1;
    }
    return true;
}

/* Serve @path from static_dir if it names a regular file there. Returns
 * false (having sent nothing) otherwise. */
static bool try_static(struct wr_http_conn *c, const char *path)
{
    struct wr_http_server *srv = c->srv;
    char want[PATH_MAX], real[PATH_MAX];
    size_t plen = strlen(path);
    if (!static_path_ok(path))
        return false;
    int n = snprintf(want, sizeof want, "%s%s%s", srv->static_dir, path,
                     path[plen - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof want)
        return false;
    if (realpath(want, real) == NULL) {
        /* "/play" serves play.html: pages have names without extensions. */
        const char *last = strrchr(path, '/');
        if (last == NULL || strchr(last, '.') != NULL || path[plen - 1] == '/' ||
            (size_t)n + 5 >= sizeof want)
            return false;
        memcpy(want + n, ".html", 6);
        if (realpath(want, real) == NULL)
            return false;
    }
    /* Symlinks may point anywhere: the resolved file must be inside. */
    if (strncmp(real, srv->static_dir, srv->static_dir_len) != 0 ||
        real[srv->static_dir_len] != '/')
        return false;
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > WR_HTTP_MAX_STATIC_FILE) {
        close(fd);
        return false;
    }
    size_t size = (size_t)st.st_size;
    struct wr_sbuf *b =
        make_response(200, content_type_for(real), "no-cache", c->keep_alive, size, !c->is_head);
    if (!c->is_head) {
        uint8_t *dst = b->data + b->len - size;
        size_t got = 0;
        while (got < size) {
            ssize_t r = pread(fd, dst + got, size - got, (off_t)got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        if (got < size) {
            wr_warn("http: read(%s) failed or file shrank", real);
            close(fd);
            wr_sbuf_unref(b);
            return false;
        }
    }
    close(fd);
    wr__conn_queue(c, b);
    return true;
}

/* ---- request parsing -------------------------------------------------- */

static struct wr_http_conn *conn_of(http_parser *p)
{
    return p->data;
}

/* Append @v to the fixed header slot @dst (comma-joined if repeated);
 * overlong values are truncated, which only ever makes a check fail. */
static void slot_append(char *dst, size_t cap, const struct wr_writer *v)
{
    size_t have = strlen(dst);
    if (have > 0 && have + 1 < cap) {
        dst[have++] = ',';
        dst[have] = '\0';
    }
    size_t n = v->len < cap - 1 - have ? v->len : cap - 1 - have;
    /* An empty first value has no buffer yet: memcpy from NULL is undefined
     * even for 0 bytes (found by fuzz/fuzz_http.c under UBSan). */
    if (n > 0)
        memcpy(dst + have, v->base, n);
    dst[have + n] = '\0';
}

static void commit_header(struct wr_http_req *rq)
{
    static const char *const names[] = {"upgrade", "connection", "sec-websocket-key",
                                        "sec-websocket-version"};
    char *slots[] = {rq->h_upgrade, rq->h_connection, rq->h_ws_key, rq->h_ws_version};
    size_t caps[] = {sizeof rq->h_upgrade, sizeof rq->h_connection, sizeof rq->h_ws_key,
                     sizeof rq->h_ws_version};
    for (size_t i = 0; i < 4; i++) {
        if (rq->field.len == strlen(names[i]) &&
            strncasecmp((const char *)rq->field.base, names[i], rq->field.len) == 0) {
            slot_append(slots[i], caps[i], &rq->value);
            break;
        }
    }
    rq->field.len = 0;
    rq->value.len = 0;
    rq->in_value = false;
}

static int on_message_begin(http_parser *p)
{
    struct wr_http_req *rq = conn_of(p)->rq;
    rq->url.len = rq->field.len = rq->value.len = rq->body.len = 0;
    rq->h_upgrade[0] = rq->h_connection[0] = rq->h_ws_key[0] = rq->h_ws_version[0] = '\0';
    rq->in_value = false;
    rq->error_status = 0;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    wr_put_bytes(&conn_of(p)->rq->url, at, len);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct wr_http_req *rq = conn_of(p)->rq;
    if (rq->in_value)
        commit_header(rq);
    wr_put_bytes(&rq->field, at, len);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct wr_http_req *rq = conn_of(p)->rq;
    rq->in_value = true;
    wr_put_bytes(&rq->value, at, len);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct wr_http_conn *c = conn_of(p);
    struct wr_http_req *rq = c->rq;
    if (rq->in_value)
        commit_header(rq);
    rq->headers_done = true;
    if (p->content_length != ULLONG_MAX && p->content_length > c->srv->limits.max_body_bytes) {
        rq->error_status = 413;
        return -1;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct wr_http_conn *c = conn_of(p);
    struct wr_http_req *rq = c->rq;
    if (rq->body.len + len > c->srv->limits.max_body_bytes) {
        rq->error_status = 413;
        return -1;
    }
    wr_put_bytes(&rq->body, at, len);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct wr_http_conn *c = conn_of(p);
    c->rq->msg_done = true;
    http_parser_pause(p, 1); /* one request at a time */
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decode @n bytes of @s into @out (n + 1 bytes). Returns false on
 * a bad escape or a decoded NUL. */
static bool path_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return false;
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (ch == '\0')
            return false;
        out[o++] = ch;
    }
    out[o] = '\0';
    return true;
}

/* True if the comma-separated @list contains @token (case-insensitive). */
static bool has_token(const char *list, const char *token)
{
    size_t tl = strlen(token);
    const char *s = list;
    while (*s != '\0') {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        const char *e = s;
        while (*e != '\0' && *e != ',')
            e++;
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - s) == tl && strncasecmp(s, token, tl) == 0)
            return true;
        s = e;
    }
    return false;
}

/* @s without surrounding blanks equals @want. */
static bool trimmed_eq(const char *s, const char *want)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n == strlen(want) && strncmp(s, want, n) == 0;
}

/* RFC 6455 4.2.1, the parts a server must check. */
static bool ws_upgrade_ok(const struct wr_http_req *rq)
{
    return has_token(rq->h_upgrade, "websocket") && has_token(rq->h_connection, "upgrade") &&
           trimmed_eq(rq->h_ws_version, "13") &&
           rq->h_ws_key[strspn(rq->h_ws_key, " \t")] != '\0';
}

/* One complete request is parsed: answer it or hand it to the node. */
static void conn_dispatch(struct wr_http_conn *c)
{
    struct wr_http_server *srv = c->srv;
    struct wr_http_req *rq = c->rq;
    http_parser *p = &rq->parser;
    rq->msg_done = false;
    rq->headers_done = false;
    rq->hdr_bytes = 0;
    c->keep_alive = http_should_keep_alive(p) && !p->upgrade;
    c->is_head = p->method == HTTP_HEAD;
    srv->stats.requests++;

    struct http_parser_url u;
    http_parser_url_init(&u);
    if (rq->url.len == 0 ||
        http_parser_parse_url((const char *)rq->url.base, rq->url.len, 0, &u) != 0 ||
        !(u.field_set & (1 << UF_PATH))) {
        conn_fail(c, 400, "bad request target\n");
        return;
    }
    const char *raw = (const char *)rq->url.base;
    size_t plen = u.field_data[UF_PATH].len;
    char *path = wr_malloc(plen + 1);
    if (!path_decode(raw + u.field_data[UF_PATH].off, plen, path)) {
        free(path);
        conn_fail(c, 400, "bad path\n");
        return;
    }
    char *query = wr_strdup("");
    if (u.field_set & (1 << UF_QUERY)) {
        free(query);
        size_t ql = u.field_data[UF_QUERY].len;
        query = wr_malloc(ql + 1);
        memcpy(query, raw + u.field_data[UF_QUERY].off, ql);
        query[ql] = '\0';
    }

    int m = p->method;
    if (m != HTTP_GET && m != HTTP_HEAD && m != HTTP_POST) {
        conn_respond(c, 405, "text/plain; charset=utf-8", "method not allowed\n", 19);
        conn_answered(c);
        goto out;
    }
    int route = srv->h.ws_route != NULL ? srv->h.ws_route(srv->h.data, path)
                                        : (strcmp(path, "/ws") == 0 ? 0 : -1);
    if (route >= 0) {
        if (!p->upgrade || m != HTTP_GET || !ws_upgrade_ok(rq) || !wr__ws_accept(c, (uint8_t)route))
            conn_fail(c, 400, "expected a WebSocket upgrade\n");
        goto out;
    }
    if (p->upgrade) {
        /* Bytes after an upgrade request are another protocol. */
        c->keep_alive = false;
    }
    if (srv->static_dir != NULL && m != HTTP_POST && try_static(c, path)) {
        conn_answered(c);
        goto out;
    }
    if (srv->h.on_request == NULL) {
        conn_respond(c, 404, "text/plain; charset=utf-8", "not found\n", 10);
        conn_answered(c);
        goto out;
    }
    wr_put_u8(&rq->body, 0);
    rq->body.len--;
    struct wr_http_request req = {
        .method = http_method_str((enum http_method)m),
        .path = path,
        .query = query,
        .peer = c->peer,
        .body = (const char *)rq->body.base,
        .body_len = rq->body.len,
    };
    c->state = WR_CONN_RESPONDING;
    c->awaiting = true;
    conn_set_reading(c, false);
    c->in_dispatch = true;
    srv->h.on_request(srv, c, &req);
    c->in_dispatch = false;
out:
    free(path);
    free(query);
}

/* Parse buffered input while in REQUEST state. Once the connection is a
 * WebSocket (bytes after the upgrade request go to the frame parser) or
 * closing, the HTTP-phase state is freed. */
static void conn_process(struct wr_http_conn *c)
{
    const struct wr_http_limits *lim = &c->srv->limits;
    struct wr_http_req *rq = c->rq;
    if (rq == NULL)
        return;
    while (!c->handle_closed && c->state == WR_CONN_REQUEST && rq->in_pos < rq->in.len) {
        const char *at = (const char *)rq->in.base + rq->in_pos;
        size_t avail = rq->in.len - rq->in_pos;
        size_t feed = avail;
        /* Before the headers are complete, feed at most what is left of
         * max_header_bytes: hdr_bytes reaching it with headers still open
         * means the limit is broken. */
        if (!rq->headers_done && feed > lim->max_header_bytes - rq->hdr_bytes)
            feed = lim->max_header_bytes - rq->hdr_bytes;
        size_t used = http_parser_execute(&rq->parser, &parser_settings, at, feed);
        enum http_errno err = HTTP_PARSER_ERRNO(&rq->parser);
        if (!rq->headers_done)
            rq->hdr_bytes += used;
        rq->in_pos += used;
        if (err == HPE_PAUSED) {
            http_parser_pause(&rq->parser, 0);
        } else if (err != HPE_OK) {
            if (rq->error_status == 413) {
                wr__conn_limit(c, "request body too large");
                conn_fail(c, 413, "request body too large\n");
            } else if (err == HPE_HEADER_OVERFLOW) {
                wr__conn_limit(c, "request header too large");
                conn_fail(c, 431, "request header too large\n");
            } else {
                wr_debug("http %s: bad request: %s", c->peer, http_errno_description(err));
                conn_fail(c, 400, "bad request\n");
            }
            break;
        } else if (!rq->headers_done && rq->hdr_bytes >= lim->max_header_bytes) {
            wr__conn_limit(c, "request header too large");
            conn_fail(c, 431, "request header too large\n");
            break;
        }
        if (rq->msg_done) {
            conn_dispatch(c);
        } else if (used < feed) {
            /* Parser stopped without a pause or error (should not happen). */
            conn_fail(c, 400, "bad request\n");
            break;
        }
    }
    if (c->handle_closed)
        return;
    if (c->state == WR_CONN_WS || c->state == WR_CONN_CLOSING) {
        /* Bytes that came with the upgrade request are frames: parse them
         * where they are (rq->in is scratch from here on), then drop the
         * HTTP-phase state. */
        if (c->state == WR_CONN_WS && rq->in_pos < rq->in.len)
            wr__ws_feed(c, rq->in.base + rq->in_pos, rq->in.len - rq->in_pos);
        conn_free_rq(c);
        if (c->state == WR_CONN_WS)
            conn_set_reading(c, true);
        return;
    }
    if (rq->in_pos == rq->in.len) {
        rq->in.len = rq->in_pos = 0;
    } else if (rq->in_pos > 0 && rq->in_pos >= rq->in.len / 2) {
        memmove(rq->in.base, rq->in.base + rq->in_pos, rq->in.len - rq->in_pos);
        rq->in.len -= rq->in_pos;
        rq->in_pos = 0;
    }
    if (c->state == WR_CONN_REQUEST)
        conn_set_reading(c, true);
}

/* ---- accepting -------------------------------------------------------- */

static void conn_peer_name(struct wr_http_conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    snprintf(c->peer, sizeof c->peer, "?");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
        char ip[INET_ADDRSTRLEN];
        uv_ip4_name(sin, ip, sizeof ip);
        snprintf(c->peer, sizeof c->peer, "%s:%u", ip, (unsigned)ntohs(sin->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
        char ip[INET6_ADDRSTRLEN];
        uv_ip6_name(sin6, ip, sizeof ip);
        snprintf(c->peer, sizeof c->peer, "[%s]:%u", ip, (unsigned)ntohs(sin6->sin6_port));
    }
}

static void on_connection(uv_stream_t *l, int status)
{
    struct wr_http_server *srv = WR_CONTAINER_OF(l, struct wr_http_server, listener);
    if (status < 0) {
        wr_debug("http: accept failed: %s", uv_strerror(status));
        return;
    }
    struct wr_http_conn *c = wr_calloc(1, sizeof *c);
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    srv->handles++;
    srv->nconns++;
    c->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = c;
    srv->conns = c;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
        snprintf(c->peer, sizeof c->peer, "?");
        conn_close_handle(c);
        return;
    }
    conn_peer_name(c);
    if (srv->nconns > srv->limits.max_connections) {
        uint64_t now = uv_now(srv->loop);
        srv->stats.limit_closes++;
        if (srv->refuse_logged_at == 0 || now - srv->refuse_logged_at >= 1000) {
            wr_warn("http %s: closed: too many connections (max %u; %llu more refused since "
                    "last line)",
                    c->peer, srv->limits.max_connections,
                    (unsigned long long)srv->refuse_suppressed);
            srv->refuse_logged_at = now ? now : 1;
            srv->refuse_suppressed = 0;
        } else {
            srv->refuse_suppressed++;
        }
        conn_close_handle(c);
        return;
    }
    c->counted = true;
    srv->stats.connections_open++;
    uv_tcp_nodelay(&c->tcp, 1);
    c->rq = wr_calloc(1, sizeof *c->rq);
    http_parser_init(&c->rq->parser, HTTP_REQUEST);
    c->rq->parser.data = c;
    c->state = WR_CONN_REQUEST;
    c->since = uv_now(srv->loop);
    conn_set_reading(c, true);
}

/* ---- sweeping --------------------------------------------------------- */

static void sweep_cb(uv_timer_t *t)
{
    struct wr_http_server *srv = WR_CONTAINER_OF(t, struct wr_http_server, sweeper);
    uint64_t now = uv_now(srv->loop);
    struct wr_http_conn *c, *next;
    for (c = srv->conns; c != NULL; c = next) {
        next = c->next;
        if (c->handle_closed)
            continue;
        uint64_t age = now - c->since;
        if (c->state == WR_CONN_REQUEST && age >= srv->limits.idle_timeout_ms) {
            const struct wr_http_req *rq = c->rq;
            if (rq->hdr_bytes > 0 || rq->headers_done || rq->in.len > rq->in_pos) {
                wr__conn_limit(c, "request timeout");
            } else {
                wr_debug("http %s: idle, closing", c->peer);
            }
            conn_close_handle(c);
        } else if (c->state == WR_CONN_CLOSING &&
                   age >= (c->shut_started ? WR_HTTP_LINGER_MS : srv->limits.idle_timeout_ms)) {
            wr_debug("http %s: closing timed out", c->peer);
            conn_close_handle(c);
        }
    }
}

/* ---- server ----------------------------------------------------------- */

static void server_free(struct wr_http_server *srv)
{
    for (struct wr_http_conn *z = srv->zombies; z != NULL; z = z->next)
        z->srv = NULL;
    EVP_MD_free(srv->sha1);
    free(srv->static_dir);
    free(srv);
}

static void server_handle_closed(struct wr_http_server *srv)
{
    assert(srv->handles > 0);
    if (--srv->handles == 0 && srv->stopping) {
        void (*cb)(void *) = srv->stop_cb;
        void *arg = srv->stop_arg;
        server_free(srv);
        if (cb != NULL)
            cb(arg);
    }
}

static void server_handle_close_cb(uv_handle_t *h)
{
    server_handle_closed(h->data);
}

int wr_http_server_start(struct wr_http_server **out, uv_loop_t *loop, const char *bind,
                         const struct wr_http_limits *limits, const struct wr_http_handlers *h,
                         const char *static_dir)
{
    struct sockaddr_in sa;
    char err[128];
    int rv;
    if (wr_addr_parse(bind, &sa, err, sizeof err) != 0) {
        wr_error("http: %s", err);
        return UV_EINVAL;
    }
    struct wr_http_server *srv = wr_calloc(1, sizeof *srv);
    srv->loop = loop;
    if (limits != NULL)
        srv->limits = *limits;
    else
        wr_http_limits_default(&srv->limits);
    if (srv->limits.max_header_bytes == 0)
        srv->limits.max_header_bytes = 1;
    if (h != NULL)
        srv->h = *h;
    /* Fetch SHA-1 once (OpenSSL 3 advises explicit fetches over the
     * implicit one in EVP_sha1() per call); this also loads the default
     * provider now rather than on the first WebSocket handshake. */
    srv->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    if (srv->sha1 == NULL) {
        wr_error("http: EVP_MD_fetch(SHA1) failed");
        rv = UV_ENOSYS;
        goto err_after_alloc;
    }
    if (static_dir != NULL) {
        char real[PATH_MAX];
        if (realpath(static_dir, real) == NULL) {
            rv = -errno;
            wr_error("http: realpath(%s) failed: %s", static_dir, strerror(errno));
            goto err_after_alloc;
        }
        srv->static_dir = wr_strdup(real);
        srv->static_dir_len = strlen(real);
        if (srv->static_dir_len > 0 && real[srv->static_dir_len - 1] == '/')
            srv->static_dir[--srv->static_dir_len] = '\0'; /* "/" itself */
    }
    rv = uv_tcp_init(loop, &srv->listener);
    if (rv != 0) {
        wr_error("http: uv_tcp_init failed: %s", uv_strerror(rv));
        goto err_after_alloc;
    }
    srv->listener.data = srv;
    srv->handles++;
    rv = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&sa, 0);
    if (rv == 0)
        rv = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
    if (rv != 0) {
        wr_error("http: listen(%s) failed: %s", bind, uv_strerror(rv));
        goto err_after_listener;
    }
    uv_prepare_init(loop, &srv->flusher);
    srv->flusher.data = srv;
    srv->handles++;
    uv_timer_init(loop, &srv->sweeper);
    srv->sweeper.data = srv;
    srv->handles++;
    uint64_t every = srv->limits.idle_timeout_ms / 4;
    if (every > 1000)
        every = 1000;
    if (every < 5)
        every = 5;
    uv_timer_start(&srv->sweeper, sweep_cb, every, every);
    wr_info("http: listening on %s%s%s", bind, srv->static_dir ? ", static files from " : "",
            srv->static_dir ? srv->static_dir : "");
    *out = srv;
    return 0;

err_after_listener:
    /* The listener's close callback frees the server. */
    srv->stopping = true;
    uv_close((uv_handle_t *)&srv->listener, server_handle_close_cb);
    return rv;
err_after_alloc:
    EVP_MD_free(srv->sha1);
    free(srv->static_dir);
    free(srv);
    return rv;
}

void wr_http_server_stop(struct wr_http_server *srv, void (*cb)(void *arg), void *arg)
{
    if (srv->stopping)
        return;
    srv->stop_cb = cb;
    srv->stop_arg = arg;
    /* WebSockets get a going-away close frame, written if the socket takes
     * it right now; nobody waits for slow peers at shutdown. */
    for (struct wr_http_conn *c = srv->conns; c != NULL; c = c->next) {
        if (c->handle_closed)
            continue;
        if (c->state == WR_CONN_WS)
            wr__ws_going_away(c);
        if (!c->abort)
            conn_flush(c, true);
    }
    srv->stopping = true;
    while (srv->dirty_head != NULL)
        conn_unmark_dirty(srv->dirty_head);
    struct wr_http_conn *c, *next;
    for (c = srv->conns; c != NULL; c = next) {
        next = c->next;
        conn_close_handle(c);
    }
    uv_close((uv_handle_t *)&srv->listener, server_handle_close_cb);
    uv_close((uv_handle_t *)&srv->flusher, server_handle_close_cb);
    uv_close((uv_handle_t *)&srv->sweeper, server_handle_close_cb);
}

void *wr_http_server_data(struct wr_http_server *srv)
{
    return srv->h.data;
}

const struct wr_http_stats *wr_http_server_stats(struct wr_http_server *srv)
{
    return &srv->stats;
}
