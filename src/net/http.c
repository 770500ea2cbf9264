/* The HTTP/1.1 half of the node's web server; see http.h. ws.c holds the
 * WebSocket half, net_internal.h the structs. The socket, the output queue
 * and its flusher, closing (shutdown, linger, uv_close), the sweep timer and
 * accepting are the struct wr_stream machinery shared with telnet.c
 * (stream.c); this file plugs into it through wr__http_stream_ops below.
 *
 * Connection states (struct wr_http_conn.state), checked by
 * assert_conn_state():
 *
 *   REQUEST     Reading a request. The socket is reading; http-parser owns
 *               the bytes in rq->in from in_pos; no request is with the
 *               handler (awaiting == false). The idle clock (`s.since`)
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
 *   CLOSING     s.closing (the two always agree). No more input is
 *               processed. Unless `s.abort`, the output queue is flushed,
 *               then uv_shutdown, then bytes are read and dropped until the
 *               peer's FIN or WR_STREAM_LINGER_MS (so the peer reads our
 *               last bytes instead of an RST), then uv_close; a flush that
 *               takes longer than idle_timeout_ms is cut short. With
 *               `s.abort` the handle is closed at the next safe point. A
 *               WebSocket's on_ws_close runs at the first safe point after
 *               entering CLOSING.
 *
 *   REQUEST -> RESPONDING -> REQUEST (keep-alive) | WS (101) | CLOSING
 *   any -> CLOSING -> (uv_close) -> freed in the close callback
 *
 * Safe points (stream_internal.h): a connection is only uv_close'd from the
 * flusher, the sweep timer, the accept callback (refused sockets) and
 * wr_http_server_stop, never from inside a user callback's call chain on
 * that connection; everything else marks it CLOSING and dirty. The struct
 * is freed only in the uv_close callback (http_closed), except a "zombie":
 * a connection whose socket closed while its request was with the handler,
 * which stays allocated until the handler's wr_http_respond (the answer is
 * dropped).
 *
 * Output: each connection queues wr_sbuf references on its stream; the
 * flusher writes them once per loop iteration (stream.c). Before that it
 * calls http_service, which parses input postponed while a request was
 * with the handler (`resume`).
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

/* Handle callbacks cast uv_handle_t * to the stream, and the stream to the
 * connection. */
_Static_assert(offsetof(struct wr_http_conn, s) == 0, "s must be first");

static void conn_process(struct wr_http_conn *c);

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
    l->header_timeout_ms = 10000;
    l->max_per_ip = 64;
    l->n_exempt = 0;
    l->fd_reserve = 32;
}

static void assert_conn_state(const struct wr_http_conn *c)
{
    (void)c;
    assert((c->state == WR_CONN_CLOSING) == c->s.closing);
    switch (c->state) {
    case WR_CONN_REQUEST:
        assert(!c->awaiting && !c->is_ws && !c->s.handle_closed && c->rq != NULL);
        break;
    case WR_CONN_RESPONDING:
        assert(c->awaiting && !c->is_ws && !c->s.reading);
        break;
    case WR_CONN_WS:
        assert(c->is_ws && c->ws.open && !c->awaiting && c->rq == NULL);
        break;
    case WR_CONN_CLOSING:
        break; /* the stream's own invariants: wr__stream_assert */
    }
    wr__stream_assert(&c->s);
}

/* ---- reading ---------------------------------------------------------- */

/* ops->on_read: bytes read while not CLOSING. */
static void http_on_read(struct wr_stream *s, char *data, size_t len)
{
    struct wr_http_conn *c = wr__conn_of(s);
    switch (c->state) {
    case WR_CONN_REQUEST:
    case WR_CONN_RESPONDING:
        if (c->rq->started == 0 && c->rq->in.len == c->rq->in_pos)
            c->rq->started = uv_now(s->srv->loop); /* a request begins */
        wr_put_bytes(&c->rq->in, data, len);
        conn_process(c);
        break;
    case WR_CONN_WS:
        wr__ws_feed(c, (uint8_t *)data, len);
        break;
    case WR_CONN_CLOSING:
        break; /* not called */
    }
}

/* ---- closing ---------------------------------------------------------- */

static void http_set_closing(struct wr_stream *s)
{
    wr__conn_of(s)->state = WR_CONN_CLOSING;
}

void wr__conn_limit(struct wr_http_conn *c, const char *reason)
{
    wr_warn("http %s: closed: %s", c->s.peer, reason);
    wr__conn_srv(c)->stats.limit_closes++;
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

/* ops->closed: the uv_close callback's part for HTTP. */
static void http_closed(struct wr_stream *s)
{
    struct wr_http_conn *c = wr__conn_of(s);
    struct wr_http_server *srv = wr__conn_srv(c);
    if (s->counted)
        srv->stats.connections_open--;
    wr__ws_notify_close(c);
    wr__ws_free(c);
    wr__stream_release(s);
    conn_free_rq(c);
    if (c->awaiting) {
        c->zombie = true;
        s->next = srv->zombies;
        if (srv->zombies != NULL)
            srv->zombies->prev = s;
        srv->zombies = s;
    } else {
        free(c);
    }
}

/* ops->service: input postponed while a request was with the handler. */
static void http_service(struct wr_stream *s)
{
    struct wr_http_conn *c = wr__conn_of(s);
    if (c->resume) {
        c->resume = false;
        conn_process(c);
    }
}

static void http_notify_close(struct wr_stream *s)
{
    wr__ws_notify_close(wr__conn_of(s));
}

static void http_check(const struct wr_stream *s)
{
    assert_conn_state((const struct wr_http_conn *)s);
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
    case 307:
        return "Temporary Redirect";
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
    case 408:
        return "Request Timeout";
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
    if (c->keep_alive && !c->s.peer_eof) {
        c->state = WR_CONN_REQUEST;
        c->s.since = uv_now(wr__conn_srv(c)->ss.loop);
        if (!c->in_dispatch) {
            c->resume = true;
            wr__stream_mark_dirty(&c->s);
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
        wr_warn("http %s: wr_http_respond called twice or without a request", conn->s.peer);
        return;
    }
    conn->awaiting = false;
    if (conn->zombie) {
        /* The socket is gone; drop the answer and the struct. */
        struct wr_stream *z = &conn->s;
        if (z->srv != NULL) { /* else the server is freed */
            if (z->prev != NULL)
                z->prev->next = z->next;
            else
                wr__conn_srv(conn)->zombies = z->next;
            if (z->next != NULL)
                z->next->prev = z->prev;
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
    struct wr_http_server *srv = wr__conn_srv(c);
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
                                        "sec-websocket-version", "authorization"};
    char *slots[] = {rq->h_upgrade, rq->h_connection, rq->h_ws_key, rq->h_ws_version,
                     rq->h_authorization};
    size_t caps[] = {sizeof rq->h_upgrade, sizeof rq->h_connection, sizeof rq->h_ws_key,
                     sizeof rq->h_ws_version, sizeof rq->h_authorization};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
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
    rq->h_authorization[0] = '\0';
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
    if (p->content_length != ULLONG_MAX &&
        p->content_length > wr__conn_srv(c)->limits.max_body_bytes) {
        rq->error_status = 413;
        return -1;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct wr_http_conn *c = conn_of(p);
    struct wr_http_req *rq = c->rq;
    if (rq->body.len + len > wr__conn_srv(c)->limits.max_body_bytes) {
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
    struct wr_http_server *srv = wr__conn_srv(c);
    struct wr_http_req *rq = c->rq;
    http_parser *p = &rq->parser;
    rq->msg_done = false;
    rq->headers_done = false;
    rq->hdr_bytes = 0;
    rq->started = 0; /* a pipelined rest is timed from the next sweep */
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
        .peer = c->s.peer,
        .authorization = rq->h_authorization,
        .body = (const char *)rq->body.base,
        .body_len = rq->body.len,
    };
    c->state = WR_CONN_RESPONDING;
    c->awaiting = true;
    wr__stream_set_reading(&c->s, false);
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
    const struct wr_http_limits *lim = &wr__conn_srv(c)->limits;
    struct wr_http_req *rq = c->rq;
    if (rq == NULL)
        return;
    while (!c->s.handle_closed && c->state == WR_CONN_REQUEST && rq->in_pos < rq->in.len) {
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
                wr_debug("http %s: bad request: %s", c->s.peer, http_errno_description(err));
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
    if (c->s.handle_closed)
        return;
    if (c->state == WR_CONN_WS || c->state == WR_CONN_CLOSING) {
        /* Bytes that came with the upgrade request are frames: parse them
         * where they are (rq->in is scratch from here on), then drop the
         * HTTP-phase state. */
        if (c->state == WR_CONN_WS && rq->in_pos < rq->in.len)
            wr__ws_feed(c, rq->in.base + rq->in_pos, rq->in.len - rq->in_pos);
        conn_free_rq(c);
        if (c->state == WR_CONN_WS)
            wr__stream_set_reading(&c->s, true);
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
        wr__stream_set_reading(&c->s, true);
}

/* ---- accepting and sweeping ------------------------------------------ */

static struct wr_stream *http_conn_new(struct wr_stream_server *ss)
{
    (void)ss;
    struct wr_http_conn *c = wr_calloc(1, sizeof *c);
    return &c->s;
}

static void http_accepted(struct wr_stream *s)
{
    struct wr_http_conn *c = wr__conn_of(s);
    struct wr_http_server *srv = wr__conn_srv(c);
    if (srv->ss.nconns > srv->limits.max_connections) {
        char why[64];
        snprintf(why, sizeof why, "too many connections (max %u)", srv->limits.max_connections);
        wr__stream_refuse(s, why);
        return;
    }
    s->counted = true;
    srv->stats.connections_open++;
    uv_tcp_nodelay(&s->tcp, 1);
    c->rq = wr_calloc(1, sizeof *c->rq);
    http_parser_init(&c->rq->parser, HTTP_REQUEST);
    c->rq->parser.data = c;
    c->state = WR_CONN_REQUEST;
    s->since = uv_now(srv->ss.loop);
    wr__stream_set_reading(s, true);
}

/* ops->sweep: a started request's headers must be complete within
 * header_timeout_ms (else 408: slowloris, a handshake that never ends), and
 * a whole request must arrive within idle_timeout_ms of going idle. */
static void http_sweep(struct wr_stream *s, uint64_t now)
{
    struct wr_http_conn *c = wr__conn_of(s);
    struct wr_http_server *srv = wr__conn_srv(c);
    struct wr_http_req *rq = c->rq;
    if (c->state == WR_CONN_REQUEST && !rq->headers_done &&
        (rq->hdr_bytes > 0 || rq->in.len > rq->in_pos)) {
        if (rq->started == 0)
            rq->started = now; /* a pipelined rest: timed from here */
        if (now - rq->started >= srv->limits.header_timeout_ms) {
            char why[96];
            snprintf(why, sizeof why, "request headers not complete within %u ms",
                     srv->limits.header_timeout_ms);
            wr__conn_limit(c, why);
            conn_fail(c, 408, "request header timeout\n");
            return;
        }
    }
    if (c->state == WR_CONN_REQUEST && now - s->since >= srv->limits.idle_timeout_ms) {
        if (rq->hdr_bytes > 0 || rq->headers_done || rq->in.len > rq->in_pos) {
            wr__conn_limit(c, "request timeout");
        } else {
            wr_debug("http %s: idle, closing", s->peer);
        }
        wr__stream_close_handle(s);
    }
}

/* ---- server ----------------------------------------------------------- */

static void http_server_free(struct wr_stream_server *ss)
{
    struct wr_http_server *srv = WR_CONTAINER_OF(ss, struct wr_http_server, ss);
    for (struct wr_stream *z = srv->zombies; z != NULL; z = z->next)
        z->srv = NULL;
    EVP_MD_free(srv->sha1);
    free(srv->static_dir);
    free(srv);
}

const struct wr_stream_ops wr__http_stream_ops = {
    .name = "http",
    .busy_msg = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Length: 23\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
                "server busy, try later\n",
    .accept_err_level = WR_LOG_DEBUG,
    .set_closing = http_set_closing,
    .on_read = http_on_read,
    .service = http_service,
    .notify_close = http_notify_close,
    .check = http_check,
    .sweep = http_sweep,
    .accepted = http_accepted,
    .conn_new = http_conn_new,
    .closed = http_closed,
    .server_free = http_server_free,
};

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
    srv->ss.ops = &wr__http_stream_ops;
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
    srv->ss.flush_timeout_ms = srv->limits.idle_timeout_ms;
    if (srv->limits.header_timeout_ms == 0)
        srv->limits.header_timeout_ms = 1;
    srv->ss.max_per_ip = srv->limits.max_per_ip;
    srv->ss.n_exempt = srv->limits.n_exempt < WR_NET_MAX_EXEMPT ? srv->limits.n_exempt
                                                                : WR_NET_MAX_EXEMPT;
    memcpy(srv->ss.exempt, srv->limits.exempt, sizeof srv->ss.exempt);
    srv->ss.fd_reserve = srv->limits.fd_reserve;
    srv->ss.bytes_in = &srv->stats.bytes_in;
    srv->ss.bytes_out = &srv->stats.bytes_out;
    srv->ss.limit_closes = &srv->stats.limit_closes;
    srv->ss.rbuf = srv->rbuf;
    srv->ss.rbuf_len = sizeof srv->rbuf;
    uint64_t every = srv->limits.idle_timeout_ms / 4;
    if (every > srv->limits.header_timeout_ms / 4)
        every = srv->limits.header_timeout_ms / 4;
    if (every > 1000)
        every = 1000;
    if (every < 5)
        every = 5;
    rv = wr__stream_server_start(&srv->ss, loop, &sa, bind, every);
    if (rv != 0)
        return rv; /* srv is freed (http_server_free) */
    wr_info("http: listening on %s%s%s", bind, srv->static_dir ? ", static files from " : "",
            srv->static_dir ? srv->static_dir : "");
    *out = srv;
    return 0;

err_after_alloc:
    EVP_MD_free(srv->sha1);
    free(srv->static_dir);
    free(srv);
    return rv;
}

void wr_http_server_stop(struct wr_http_server *srv, void (*cb)(void *arg), void *arg)
{
    if (srv->ss.stopping)
        return;
    /* WebSockets get a going-away close frame (written if the socket takes
     * it right now). */
    for (struct wr_stream *s = srv->ss.conns; s != NULL; s = s->next)
        if (!s->handle_closed && wr__conn_of(s)->state == WR_CONN_WS)
            wr__ws_going_away(wr__conn_of(s));
    wr__stream_server_stop(&srv->ss, cb, arg);
}

void *wr_http_server_data(struct wr_http_server *srv)
{
    return srv->h.data;
}

const struct wr_http_stats *wr_http_server_stats(struct wr_http_server *srv)
{
    return &srv->stats;
}
