/* A minimal HTTP client; see http_get.h.
 *
 * States: CONNECTING (uv_tcp_connect in flight) -> SENT (request written,
 * reading the answer) -> DONE (callback run or cancelled, handles closing).
 * Every path to DONE goes through finish(), which runs the callback at most
 * once and closes both handles; the struct is freed in the second close
 * callback, so libuv callbacks that arrive after DONE (a connect or write
 * cancelled by the close) only see done == true and return. */
#include "node/http_get.h"

#include <http_parser.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/alloc.h"

struct wr_http_get {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t write;
    http_parser parser;
    http_parser_settings settings;
    wr_http_get_cb cb;
    void *arg;
    unsigned timeout_ms;
    int open_handles;
    bool done;
    bool complete; /* the parser saw the whole message */
    bool too_big;
    char *request;
    char *body;
    size_t body_len, body_cap;
    char readbuf[16384];
};

static void handle_closed(uv_handle_t *h)
{
    struct wr_http_get *g = h->data;
    if (--g->open_handles > 0)
        return;
    free(g->request);
    free(g->body);
    free(g);
}

/* Close both handles; the callback, if any, has run. */
static void close_handles(struct wr_http_get *g)
{
    g->done = true;
    uv_close((uv_handle_t *)&g->timer, handle_closed);
    uv_close((uv_handle_t *)&g->tcp, handle_closed);
}

static void finish(struct wr_http_get *g, int status, const char *err)
{
    if (g->done)
        return;
    g->done = true;
    if (status == 0) {
        g->body = g->body != NULL ? g->body : wr_malloc(1);
        g->body[g->body_len] = '\0';
        g->cb(g->arg, 0, g->parser.status_code, g->body, g->body_len, "");
    } else {
        g->cb(g->arg, status, 0, NULL, 0, err);
    }
    close_handles(g);
}

static void fail_uv(struct wr_http_get *g, const char *what, int status)
{
    char err[128];
    snprintf(err, sizeof err, "%s: %s", what, uv_strerror(status));
    finish(g, status, err);
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct wr_http_get *g = p->data;
    if (g->body_len + len > WR_HTTP_GET_MAX_BODY) {
        g->too_big = true;
        return -1;
    }
    if (g->body_len + len + 1 > g->body_cap) {
        g->body_cap = (g->body_len + len + 1) * 2;
        g->body = wr_realloc(g->body, g->body_cap);
    }
    memcpy(g->body + g->body_len, at, len);
    g->body_len += len;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct wr_http_get *g = p->data;
    g->complete = true;
    return 0;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct wr_http_get *g = h->data;
    (void)suggested;
    *buf = uv_buf_init(g->readbuf, sizeof g->readbuf);
}

/* Feed @len bytes (0: the peer closed) to the parser; finish once the
 * message is complete or cannot be. */
static void parse(struct wr_http_get *g, const char *data, size_t len)
{
    size_t used = http_parser_execute(&g->parser, &g->settings, data, len);
    if (g->complete) {
        finish(g, 0, "");
    } else if (g->too_big) {
        char err[96];
        snprintf(err, sizeof err, "answer over %d KiB", WR_HTTP_GET_MAX_BODY / 1024);
        finish(g, UV_E2BIG, err);
    } else if (used != len || HTTP_PARSER_ERRNO(&g->parser) != HPE_OK) {
        char err[128];
        snprintf(err, sizeof err, "bad HTTP answer (%s)",
                 http_errno_name(HTTP_PARSER_ERRNO(&g->parser)));
        finish(g, UV_EPROTO, err);
    } else if (len == 0) {
        finish(g, UV_EOF, "connection closed before a whole answer");
    }
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct wr_http_get *g = s->data;
    (void)buf;
    if (g->done)
        return;
    if (nread == UV_EOF)
        parse(g, NULL, 0);
    else if (nread < 0)
        fail_uv(g, "read", (int)nread);
    else if (nread > 0)
        parse(g, g->readbuf, (size_t)nread);
}

static void write_cb(uv_write_t *w, int status)
{
    struct wr_http_get *g = w->data;
    if (g->done)
        return;
    if (status < 0)
        fail_uv(g, "write", status);
}

static void connect_cb(uv_connect_t *c, int status)
{
    struct wr_http_get *g = c->data;
    if (g->done)
        return;
    if (status < 0) {
        fail_uv(g, "connect", status);
        return;
    }
    uv_buf_t b = uv_buf_init(g->request, (unsigned)strlen(g->request));
    g->write.data = g;
    int rv = uv_write(&g->write, (uv_stream_t *)&g->tcp, &b, 1, write_cb);
    if (rv == 0)
        rv = uv_read_start((uv_stream_t *)&g->tcp, alloc_cb, read_cb);
    if (rv < 0)
        fail_uv(g, "write", rv);
}

static void timer_cb(uv_timer_t *t)
{
    struct wr_http_get *g = t->data;
    char err[64];
    snprintf(err, sizeof err, "no answer within %u ms", g->timeout_ms);
    finish(g, UV_ETIMEDOUT, err);
}

int wr_http_get_start(struct wr_http_get **out, uv_loop_t *loop, const char *addr,
                      const char *method, const char *path, const char *authorization,
                      const char *body, unsigned timeout_ms, wr_http_get_cb cb, void *arg,
                      char *err, size_t errlen)
{
    struct sockaddr_in sa;
    if (wr_addr_parse(addr, &sa, err, errlen) != 0)
        return -1;
    struct wr_http_get *g = wr_calloc(1, sizeof *g);
    g->cb = cb;
    g->arg = arg;
    g->timeout_ms = timeout_ms;
    size_t blen = body != NULL ? strlen(body) : 0;
    size_t rlen = strlen(method) + strlen(path) + strlen(addr) + strlen(authorization) + blen + 160;
    g->request = wr_malloc(rlen);
    int hl = snprintf(g->request, rlen, "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%sConnection: close\r\n",
                      method, path, addr, authorization[0] ? "Authorization: " : "", authorization,
                      authorization[0] ? "\r\n" : "");
    if (body != NULL)
        snprintf(g->request + hl, rlen - (size_t)hl,
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", blen, body);
    else
        snprintf(g->request + hl, rlen - (size_t)hl, "\r\n");
    http_parser_init(&g->parser, HTTP_RESPONSE);
    g->parser.data = g;
    http_parser_settings_init(&g->settings);
    g->settings.on_body = on_body;
    g->settings.on_message_complete = on_message_complete;

    uv_tcp_init(loop, &g->tcp);
    uv_timer_init(loop, &g->timer);
    g->tcp.data = g->timer.data = g->connect.data = g;
    g->open_handles = 2;
    int rv = uv_tcp_connect(&g->connect, &g->tcp, (const struct sockaddr *)&sa, connect_cb);
    if (rv < 0) {
        snprintf(err, errlen, "connect to %s: %s", addr, uv_strerror(rv));
        close_handles(g);
        return -1;
    }
    uv_timer_start(&g->timer, timer_cb, timeout_ms, 0);
    *out = g;
    return 0;
}

void wr_http_get_cancel(struct wr_http_get *g)
{
    if (!g->done)
        close_handles(g);
}
