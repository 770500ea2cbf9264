/* Unit tests for src/net/http.c and ws.c against a real server on
 * 127.0.0.1. Each test runs the server in a uv loop on the main thread and
 * a scripted client with plain blocking sockets in a pthread. The client
 * never calls cmocka (not thread-safe): it records the first failed CHECK,
 * and the main thread asserts after joining it. Every test ends with
 * wr_http_server_stop and checks that the loop closes with no handles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <malloc.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sbuf.h"
#include "net/http.h"

#define MAX_WS 16

struct fixture {
    uv_loop_t loop;
    uv_async_t stop_async;
    struct wr_http_server *srv;
    struct wr_http_limits lim;
    const char *static_dir;
    int port;
    void (*client)(struct fixture *);
    pthread_t thread;
    /* Client-side failure, read by the main thread after join. */
    int fail_line;
    char fail_msg[256];
    /* Server side (loop thread only until join). */
    struct wr_ws *ws[MAX_WS];
    int ws_opens, ws_closes, ws_texts;
    int close_inside_call; /* on_ws_close ran inside wr_ws_close */
    bool in_ws_close_call;
    unsigned shared_refs; /* refs of a broadcast frame after queuing */
    long idle_bytes;      /* heap bytes per idle WebSocket (test_ws_idle_memory) */
    bool stopped;
    struct wr_http_stats final;
    /* Answers given later from the loop. */
    uv_timer_t later_timer;
    struct wr_http_conn *later_conn; /* answered by later_timer */
    struct wr_http_conn *never_conn; /* answered only after the stop */
};

/* ---- client-side checking --------------------------------------------- */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            client_fail(f, __LINE__, "CHECK(%s)", #cond);                                          \
            return;                                                                                \
        }                                                                                          \
    } while (0)

__attribute__((format(printf, 3, 4))) static void client_fail(struct fixture *f, int line,
                                                              const char *fmt, ...)
{
    if (f->fail_line != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->fail_msg, sizeof f->fail_msg, fmt, ap);
    va_end(ap);
    f->fail_line = line;
}

/* ---- server-side handlers --------------------------------------------- */

static void later_cb(uv_timer_t *t)
{
    struct fixture *f = t->data;
    wr_http_respond(f->later_conn, 200, "text/plain", "later", 5);
    f->later_conn = NULL;
    uv_close((uv_handle_t *)t, NULL);
}

static void on_request(struct wr_http_server *srv, struct wr_http_conn *conn,
                       const struct wr_http_request *req)
{
    struct fixture *f = wr_http_server_data(srv);
    if (strcmp(req->path, "/later") == 0) {
        f->later_conn = conn;
        f->later_timer.data = f;
        uv_timer_init(&f->loop, &f->later_timer);
        uv_timer_start(&f->later_timer, later_cb, 20, 0);
    } else if (strcmp(req->path, "/never") == 0) {
        f->never_conn = conn;
    } else if (strcmp(req->path, "/api/hello") == 0) {
        static const char body[] = "{\"hello\":\"world\"}";
        wr_http_respond(conn, 200, "application/json", body, sizeof body - 1);
    } else if (strcmp(req->path, "/echo") == 0 && strcmp(req->method, "POST") == 0) {
        wr_http_respond(conn, 200, "text/plain", req->body, req->body_len);
    } else if (strcmp(req->path, "/query") == 0) {
        wr_http_respond(conn, 200, "text/plain", req->query, strlen(req->query));
    } else {
        wr_http_respond(conn, 404, "text/plain", "no such thing\n", 14);
    }
}

static void on_ws_open(struct wr_http_server *srv, struct wr_ws *ws)
{
    struct fixture *f = wr_http_server_data(srv);
    wr_ws_set_data(ws, f);
    for (int i = 0; i < MAX_WS; i++) {
        if (f->ws[i] == NULL) {
            f->ws[i] = ws;
            break;
        }
    }
    f->ws_opens++;
}

static void on_ws_text(struct wr_ws *ws, const char *data, size_t len)
{
    struct fixture *f = wr_ws_data(ws);
    f->ws_texts++;
    if (len > 10 && memcmp(data, "broadcast:", 10) == 0) {
        struct wr_sbuf *frame = wr_ws_frame_text(data + 10, len - 10);
        for (int i = 0; i < MAX_WS; i++)
            if (f->ws[i] != NULL)
                wr_ws_send_frame(f->ws[i], frame);
        f->shared_refs = frame->refs;
        wr_sbuf_unref(frame);
    } else if (len == 5 && memcmp(data, "close", 5) == 0) {
        f->in_ws_close_call = true;
        wr_ws_close(ws, 1000, "bye");
        wr_ws_send_text(ws, "ignored", 7); /* after close: dropped */
        f->in_ws_close_call = false;
    } else if (len == 4 && memcmp(data, "fill", 4) == 0) {
        char chunk[1024];
        memset(chunk, 'y', sizeof chunk);
        for (int i = 0; i < 32; i++)
            wr_ws_send_text(ws, chunk, sizeof chunk);
    } else if (len == 5 && memcmp(data, "flood", 5) == 0) {
        char chunk[1024];
        memset(chunk, 'x', sizeof chunk);
        for (int i = 0; i < 1000; i++)
            wr_ws_send_text(ws, chunk, sizeof chunk);
    } else {
        wr_ws_send_text(ws, data, len);
    }
}

static void on_ws_close(struct wr_ws *ws)
{
    struct fixture *f = wr_ws_data(ws);
    if (f->in_ws_close_call)
        f->close_inside_call++;
    for (int i = 0; i < MAX_WS; i++)
        if (f->ws[i] == ws)
            f->ws[i] = NULL;
    f->ws_closes++;
}

/* ---- harness ---------------------------------------------------------- */

static void stopped_cb(void *arg)
{
    struct fixture *f = arg;
    f->stopped = true;
    /* The server is gone; a late answer is dropped and frees the conn. */
    if (f->never_conn != NULL)
        wr_http_respond(f->never_conn, 200, "text/plain", "too late", 8);
    f->never_conn = NULL;
}

static void stop_async_cb(uv_async_t *a)
{
    struct fixture *f = a->data;
    f->final = *wr_http_server_stats(f->srv);
    uv_close((uv_handle_t *)a, NULL);
    wr_http_server_stop(f->srv, stopped_cb, f);
}

/* Called by the client thread: stop the server from the loop. */
static void request_stop(struct fixture *f)
{
    uv_async_send(&f->stop_async);
}

static void *client_main(void *arg)
{
    struct fixture *f = arg;
    f->client(f);
    request_stop(f); /* a second send is harmless */
    return NULL;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static struct fixture *fixture_new(void)
{
    struct fixture *f = calloc(1, sizeof *f);
    wr_http_limits_default(&f->lim);
    return f;
}

static void run(struct fixture *f, void (*client)(struct fixture *))
{
    static const struct wr_http_handlers base = {
        .on_request = on_request,
        .on_ws_open = on_ws_open,
        .on_ws_text = on_ws_text,
        .on_ws_close = on_ws_close,
    };
    struct wr_http_handlers h = base;
    h.data = f;
    assert_int_equal(uv_loop_init(&f->loop), 0);
    int rv = -1;
    for (int tries = 0; tries < 10 && rv != 0; tries++) {
        char bind[32];
        f->port = free_port();
        snprintf(bind, sizeof bind, "127.0.0.1:%d", f->port);
        rv = wr_http_server_start(&f->srv, &f->loop, bind, &f->lim, &h, f->static_dir);
    }
    assert_int_equal(rv, 0);
    f->stop_async.data = f;
    assert_int_equal(uv_async_init(&f->loop, &f->stop_async, stop_async_cb), 0);
    f->client = client;
    assert_int_equal(pthread_create(&f->thread, NULL, client_main, f), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    pthread_join(f->thread, NULL);
    assert_true(f->stopped);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    if (f->fail_line != 0)
        fail_msg("client failed at line %d: %s", f->fail_line, f->fail_msg);
    assert_int_equal(f->ws_opens, f->ws_closes);
    assert_int_equal(f->close_inside_call, 0);
}

/* ---- blocking client helpers ------------------------------------------ */

struct cli {
    int fd;
    char buf[1 << 17];
    size_t len;
};

static struct cli *cli_open(struct fixture *f)
{
    struct cli *c = calloc(1, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)f->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = 5};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(c->fd);
        free(c);
        return NULL;
    }
    return c;
}

static void cli_close(struct cli *c)
{
    if (c != NULL) {
        close(c->fd);
        free(c);
    }
}

static bool cli_send(struct cli *c, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        s += w;
        n -= (size_t)w;
    }
    return true;
}

static bool cli_sends(struct cli *c, const char *s)
{
    return cli_send(c, s, strlen(s));
}

/* Read more bytes into the buffer; 0 on EOF, -1 on error/timeout. */
static int cli_more(struct cli *c)
{
    if (c->len == sizeof c->buf)
        return -1;
    ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (r < 0)
        return -1;
    c->len += (size_t)r;
    return r > 0 ? 1 : 0;
}

static void cli_consume(struct cli *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* True once the peer closed the connection (EOF or reset), within 5 s. */
static bool cli_wait_eof(struct cli *c)
{
    for (;;) {
        c->len = 0;
        ssize_t r = recv(c->fd, c->buf, sizeof c->buf, 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return true;
        if (r < 0)
            return false;
    }
}

struct resp {
    int status;
    char head[4096];
    char body[1 << 16];
    size_t body_len;
};

/* Read one response; the body is whatever Content-Length says (none for
 * HEAD when @head_req). Returns false on EOF/timeout/garbage. */
static bool cli_response(struct cli *c, struct resp *r, bool head_req)
{
    char *end;
    while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
        if (cli_more(c) <= 0)
            return false;
    size_t hl = (size_t)(end - c->buf) + 4;
    if (hl >= sizeof r->head)
        return false;
    memcpy(r->head, c->buf, hl);
    r->head[hl] = '\0';
    cli_consume(c, hl);
    if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
        return false;
    size_t clen = 0;
    const char *cl = strcasestr(r->head, "\r\nContent-Length:");
    if (cl != NULL)
        clen = strtoul(cl + 17, NULL, 10);
    if (head_req || r->status == 101)
        clen = 0;
    if (clen >= sizeof r->body)
        return false;
    while (c->len < clen)
        if (cli_more(c) <= 0)
            return false;
    memcpy(r->body, c->buf, clen);
    r->body[clen] = '\0';
    r->body_len = clen;
    cli_consume(c, clen);
    return true;
}

static bool has_header(const struct resp *r, const char *line)
{
    return strcasestr(r->head, line) != NULL;
}

/* Masked client frame. */
static bool ws_send(struct cli *c, int opcode, bool fin, const void *data, size_t len)
{
    uint8_t hdr[14];
    size_t hl = 0;
    hdr[hl++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        hdr[hl++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        hdr[hl++] = 0x80 | 126;
        hdr[hl++] = (uint8_t)(len >> 8);
        hdr[hl++] = (uint8_t)len;
    } else {
        hdr[hl++] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            hdr[hl++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    }
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    memcpy(hdr + hl, mask, 4);
    hl += 4;
    uint8_t *frame = malloc(hl + len + 1);
    memcpy(frame, hdr, hl);
    for (size_t i = 0; i < len; i++)
        frame[hl + i] = ((const uint8_t *)data)[i] ^ mask[i % 4];
    bool ok = cli_send(c, frame, hl + len);
    free(frame);
    return ok;
}

static bool ws_send_text(struct cli *c, const char *s)
{
    return ws_send(c, 1, true, s, strlen(s));
}

/* Read one server frame: returns its opcode (-1 on failure), payload NUL
 * terminated in @out (up to @cap), length in @len. Checks it is unmasked
 * and final. */
static int ws_recv(struct cli *c, char *out, size_t cap, size_t *len)
{
    while (c->len < 2)
        if (cli_more(c) <= 0)
            return -1;
    uint8_t b0 = (uint8_t)c->buf[0], b1 = (uint8_t)c->buf[1];
    if ((b1 & 0x80) || !(b0 & 0x80))
        return -1;
    size_t hl = 2;
    uint64_t n = b1 & 0x7f;
    if (n == 126)
        hl = 4;
    else if (n == 127)
        hl = 10;
    while (c->len < hl)
        if (cli_more(c) <= 0)
            return -1;
    if (hl > 2) {
        n = 0;
        for (size_t i = 2; i < hl; i++)
            n = n << 8 | (uint8_t)c->buf[i];
    }
    if (n + 1 > cap)
        return -1;
    while (c->len < hl + n)
        if (cli_more(c) <= 0)
            return -1;
    memcpy(out, c->buf + hl, n);
    out[n] = '\0';
    *len = n;
    cli_consume(c, hl + n);
    return b0 & 0x0f;
}

/* Expect a close frame with @code. */
static bool ws_expect_close(struct cli *c, unsigned code)
{
    char p[256];
    size_t n;
    for (;;) {
        int op = ws_recv(c, p, sizeof p, &n);
        if (op < 0)
            return false;
        if (op == 8)
            return n >= 2 && ((unsigned)(uint8_t)p[0] << 8 | (uint8_t)p[1]) == code;
    }
}

static const char *rfc_key = "dGhlIHNhbXBsZSBub25jZQ==";

static struct cli *ws_open(struct fixture *f, struct resp *r)
{
    struct cli *c = cli_open(f);
    if (c == NULL)
        return NULL;
    char req[512];
    snprintf(req, sizeof req,
             "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
             "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: %s\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n",
             rfc_key);
    if (!cli_sends(c, req) || !cli_response(c, r, false) || r->status != 101) {
        cli_close(c);
        return NULL;
    }
    return c;
}

static bool ws_echo(struct cli *c, const char *msg)
{
    char p[8192];
    size_t n;
    if (!ws_send_text(c, msg))
        return false;
    return ws_recv(c, p, sizeof p, &n) == 1 && n == strlen(msg) && memcmp(p, msg, n) == 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- HTTP tests ------------------------------------------------------- */

static struct resp R; /* one response buffer, used by one client at a time */

static void client_get_json(struct fixture *f)
{
    struct cli *c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_sends(c, "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 200);
    CHECK(has_header(&R, "\r\nContent-Type: application/json\r\n"));
    CHECK(has_header(&R, "\r\nCache-Control: no-store\r\n"));
    CHECK(strcmp(R.body, "{\"hello\":\"world\"}") == 0);
    /* The query string reaches the handler raw. */
    CHECK(cli_sends(c, "GET /query?a=1&b=%20 HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(strcmp(R.body, "a=1&b=%20") == 0);
    /* POST body. */
    CHECK(cli_sends(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 200 && strcmp(R.body, "hello") == 0);
    cli_close(c);
}

static void test_get_json(void **state)
{
    struct fixture *f = *state;
    run(f, client_get_json);
    assert_int_equal(f->final.requests, 3);
}

static void client_keepalive(struct fixture *f)
{
    struct cli *c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_sends(c, "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 200 && has_header(&R, "Connection: keep-alive"));
    CHECK(cli_sends(c, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 404);
    /* Pipelined: three requests in one write, answered in order; the last
     * asks to close. */
    CHECK(cli_sends(c, "GET /query?1 HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /query?2 HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /query?3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    for (int i = 1; i <= 3; i++) {
        char want[16];
        snprintf(want, sizeof want, "%d", i);
        CHECK(cli_response(c, &R, false));
        CHECK(strcmp(R.body, want) == 0);
    }
    CHECK(has_header(&R, "Connection: close"));
    CHECK(cli_wait_eof(c));
    cli_close(c);

    /* HTTP/1.0 without keep-alive: answered, then closed. */
    c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_sends(c, "GET /api/hello HTTP/1.0\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 200);
    CHECK(cli_wait_eof(c));
    cli_close(c);
}

static void test_keepalive(void **state)
{
    struct fixture *f = *state;
    run(f, client_keepalive);
    assert_int_equal(f->final.requests, 6);
}

static char tmp_root[256];

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void client_static(struct fixture *f)
{
    struct cli *c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_sends(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 200);
    CHECK(has_header(&R, "Content-Type: text/html"));
    CHECK(strcmp(R.body, "<h1>warren</h1>\n") == 0);
    CHECK(cli_sends(c, "GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 200 && has_header(&R, "Content-Type: text/javascript"));
    CHECK(strcmp(R.body, "let x = 1;\n") == 0);
    CHECK(cli_sends(c, "GET /data.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 200 && has_header(&R, "Content-Type: application/octet-stream"));
    CHECK(cli_sends(c, "HEAD /app.js HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, true));
    CHECK(R.status == 200 && has_header(&R, "Content-Length: 11\r\n"));
    /* Escapes: never the secret; the handler's 404 (or a 400). */
    static const char *const bad[] = {
        "/../secret.txt",       "/%2e%2e/secret.txt",        "/sub/../../secret.txt",
        "/%2E%2E%2fsecret.txt", "/sub/..%2f..%2fsecret.txt", "/.hidden",
        "/escape.txt",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char req[256];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", bad[i]);
        CHECK(cli_sends(c, req));
        CHECK(cli_response(c, &R, false));
        CHECK(R.status == 404 || R.status == 400);
        CHECK(strstr(R.body, "TOP SECRET") == NULL);
        if (R.status == 400)
            break; /* closed */
    }
    cli_close(c);
    /* A decoded NUL is a bad request. */
    c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_sends(c, "GET /index.html%00.png HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 400);
    cli_close(c);
}

static void test_static(void **state)
{
    struct fixture *f = *state;
    char www[300], path[400];
    snprintf(www, sizeof www, "%s/www", tmp_root);
    mkdir(www, 0700);
    snprintf(path, sizeof path, "%s/sub", www);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/index.html", www);
    write_file(path, "<h1>warren</h1>\n");
    snprintf(path, sizeof path, "%s/app.js", www);
    write_file(path, "let x = 1;\n");
    snprintf(path, sizeof path, "%s/data.bin", www);
    write_file(path, "\x01\x02");
    snprintf(path, sizeof path, "%s/.hidden", www);
    write_file(path, "TOP SECRET\n");
    snprintf(path, sizeof path, "%s/secret.txt", tmp_root);
    write_file(path, "TOP SECRET\n");
    char link[400];
    snprintf(link, sizeof link, "%s/escape.txt", www);
    unlink(link);
    assert_int_equal(symlink(path, link), 0);
    f->static_dir = www;
    run(f, client_static);
}

static void client_404(struct fixture *f)
{
    struct cli *c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_sends(c, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 404);
    CHECK(strcmp(R.body, "no such thing\n") == 0);
    /* Not an allowed method. */
    CHECK(cli_sends(c, "DELETE /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 405);
    cli_close(c);
}

static void test_404(void **state)
{
    run(*state, client_404);
}

/* Regression (found by fuzz/fuzz_http.c): an empty value as the first
 * header the server captures made it memcpy from a NULL buffer, which
 * aborts the sanitizer build. The request gets its answer and the server
 * keeps serving. */
static void client_empty_header_value(struct fixture *f)
{
    struct cli *c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_sends(c, "GET /api/hello HTTP/1.1\r\nUpgrade:\r\nConnection:\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 200);
    CHECK(cli_sends(c, "GET /ws HTTP/1.1\r\nUpgrade:\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 400);
    cli_close(c);
}

static void test_empty_header_value(void **state)
{
    run(*state, client_empty_header_value);
}

static void client_header_too_large(struct fixture *f)
{
    struct cli *c = cli_open(f);
    CHECK(c != NULL);
    char *big = malloc(12000);
    strcpy(big, "GET /api/hello HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    size_t n = strlen(big);
    memset(big + n, 'a', 10000);
    strcpy(big + n + 10000, "\r\n\r\n");
    bool ok = cli_sends(c, big);
    free(big);
    CHECK(ok);
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 431);
    CHECK(has_header(&R, "Connection: close"));
    CHECK(cli_wait_eof(c));
    cli_close(c);

    /* Body over max_body_bytes: 413 and close. */
    c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_sends(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 413);
    CHECK(cli_wait_eof(c));
    cli_close(c);

    /* Garbage: 400 and close. */
    c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_sends(c, "HELLO\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 400);
    CHECK(cli_wait_eof(c));
    cli_close(c);

    /* The server still answers. */
    c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_sends(c, "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 200);
    cli_close(c);
}

static void test_header_too_large(void **state)
{
    struct fixture *f = *state;
    run(f, client_header_too_large);
    assert_int_equal(f->final.limit_closes, 2);
}

/* A header of exactly max_header_bytes is accepted, one more is not. */
static void client_header_exact(struct fixture *f)
{
    for (int extra = 0; extra <= 1; extra++) {
        char req[300];
        const char *head = "GET /api/hello HTTP/1.1\r\nX: ";
        size_t pad = 256 - strlen(head) - 4 + (size_t)extra;
        snprintf(
            req, sizeof req, "%s%.*s\r\n\r\n", head, (int)pad,
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        CHECK(strlen(req) == 256 + (size_t)extra);
        struct cli *c = cli_open(f);
        CHECK(c != NULL);
        CHECK(cli_sends(c, req));
        CHECK(cli_response(c, &R, false));
        CHECK(R.status == (extra ? 431 : 200));
        cli_close(c);
    }
}

static void test_header_exact(void **state)
{
    struct fixture *f = *state;
    f->lim.max_header_bytes = 256;
    run(f, client_header_exact);
}

static void client_idle(struct fixture *f)
{
    struct cli *c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_sends(c, "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 200);
    CHECK(cli_wait_eof(c)); /* idle timeout: 100 ms */
    cli_close(c);
    /* A request that never completes is cut too. */
    c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_sends(c, "GET /api/hello HTTP/1.1\r\nHo"));
    CHECK(cli_wait_eof(c));
    cli_close(c);
}

static void test_idle_timeout(void **state)
{
    struct fixture *f = *state;
    f->lim.idle_timeout_ms = 100;
    run(f, client_idle);
    assert_int_equal(f->final.limit_closes, 1); /* the partial request */
}

static void client_max_conns(struct fixture *f)
{
    struct cli *a = cli_open(f), *b = cli_open(f);
    CHECK(a != NULL && b != NULL);
    CHECK(cli_sends(a, "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(a, &R, false)); /* both are accepted by now */
    struct cli *c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_wait_eof(c)); /* refused */
    cli_close(c);
    CHECK(cli_sends(b, "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(b, &R, false));
    CHECK(R.status == 200);
    cli_close(a);
    cli_close(b);
}

static void test_max_connections(void **state)
{
    struct fixture *f = *state;
    f->lim.max_connections = 2;
    run(f, client_max_conns);
    assert_int_equal(f->final.limit_closes, 1);
}

/* Slowloris: a request whose headers trickle in past header_timeout_ms
 * gets 408 and a close; the same request sent whole is served. */
static void client_header_timeout(struct fixture *f)
{
    struct cli *ok = cli_open(f), *slow = cli_open(f);
    CHECK(ok != NULL && slow != NULL);
    CHECK(cli_sends(slow, "GET /api/hello HTTP/1.1\r\n"));
    for (int i = 0; i < 6; i++) { /* a header line every 40 ms: never done */
        CHECK(cli_sends(slow, "X-Slow: y\r\n"));
        sleep_ms(40);
    }
    CHECK(cli_response(slow, &R, false));
    CHECK(R.status == 408);
    CHECK(cli_wait_eof(slow));
    cli_close(slow);
    CHECK(cli_sends(ok, "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(ok, &R, false));
    CHECK(R.status == 200);
    cli_close(ok);
}

static void test_header_timeout(void **state)
{
    struct fixture *f = *state;
    f->lim.header_timeout_ms = 100;
    run(f, client_header_timeout);
    assert_int_equal(f->final.limit_closes, 1);
}

/* Over max_per_ip from one address: 503 and close; an exempt address is
 * not counted (the control: the same three sockets, all served). */
static void client_per_ip(struct fixture *f)
{
    struct cli *a = cli_open(f), *b = cli_open(f), *c = cli_open(f);
    CHECK(a != NULL && b != NULL && c != NULL);
    bool exempt = f->lim.n_exempt > 0;
    if (exempt) {
        CHECK(cli_sends(c, "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
        CHECK(cli_response(c, &R, false));
        CHECK(R.status == 200);
    } else {
        CHECK(cli_response(c, &R, false));
        CHECK(R.status == 503);
        CHECK(cli_wait_eof(c));
    }
    CHECK(cli_sends(a, "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(a, &R, false));
    CHECK(R.status == 200);
    cli_close(a);
    cli_close(b);
    cli_close(c);
}

static void test_per_ip(void **state)
{
    struct fixture *f = *state;
    f->lim.max_per_ip = 2;
    run(f, client_per_ip);
    assert_int_equal(f->final.limit_closes, 1);
}

static void test_per_ip_exempt(void **state)
{
    struct fixture *f = *state;
    f->lim.max_per_ip = 2;
    f->lim.exempt[0] = htonl(INADDR_LOOPBACK);
    f->lim.n_exempt = 1;
    run(f, client_per_ip);
    assert_int_equal(f->final.limit_closes, 0);
}

/* Answers from a timer, with a pipelined request behind: answers stay in
 * order and reading resumes. A request still with the handler at stop
 * keeps its conn alive until the (dropped) answer. */
static void client_async(struct fixture *f)
{
    struct cli *c = cli_open(f);
    CHECK(c != NULL);
    CHECK(cli_sends(c, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 200 && strcmp(R.body, "later") == 0);
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 200 && strcmp(R.body, "{\"hello\":\"world\"}") == 0);
    CHECK(cli_sends(c, "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(c, &R, false));
    CHECK(R.status == 200);
    /* Half-close after a request: the answer still arrives. */
    struct cli *h = cli_open(f);
    CHECK(h != NULL);
    CHECK(cli_sends(h, "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    shutdown(h->fd, SHUT_WR);
    CHECK(cli_response(h, &R, false));
    CHECK(R.status == 200);
    CHECK(cli_wait_eof(h));
    cli_close(h);
    /* Left with the handler when the server stops. */
    struct cli *n = cli_open(f);
    CHECK(n != NULL);
    CHECK(cli_sends(n, "GET /never HTTP/1.1\r\nHost: x\r\n\r\n"));
    sleep_ms(50);
    request_stop(f);
    CHECK(cli_wait_eof(n));
    cli_close(n);
    cli_close(c);
}

static void test_async_respond(void **state)
{
    struct fixture *f = *state;
    run(f, client_async);
    assert_null(f->later_conn);
    assert_null(f->never_conn);
    assert_int_equal(f->final.requests, 5);
}

/* ---- WebSocket tests -------------------------------------------------- */

static void client_ws_handshake(struct fixture *f)
{
    struct resp r;
    struct cli *c = ws_open(f, &r);
    CHECK(c != NULL);
    CHECK(has_header(&r, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    CHECK(has_header(&r, "\r\nUpgrade: websocket\r\n"));
    CHECK(ws_echo(c, "hi"));
    /* Peer-initiated close: echoed, then the socket closes. */
    CHECK(ws_send(c, 8, true, "\x03\xe8", 2));
    CHECK(ws_expect_close(c, 1000));
    CHECK(cli_wait_eof(c));
    cli_close(c);

    /* /ws without a proper upgrade. */
    static const char *const bad[] = {
        "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n", /* no key */
        "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        "POST /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = cli_open(f);
        CHECK(c != NULL);
        CHECK(cli_sends(c, bad[i]));
        CHECK(cli_response(c, &R, false));
        CHECK(R.status == 400);
        CHECK(strcmp(R.body, "expected a WebSocket upgrade\n") == 0);
        cli_close(c);
    }
}

static void test_ws_handshake(void **state)
{
    struct fixture *f = *state;
    run(f, client_ws_handshake);
    assert_int_equal(f->ws_opens, 1);
}

static void client_ws_echo(struct fixture *f)
{
    struct resp r;
    struct cli *c = cli_open(f);
    CHECK(c != NULL);
    /* The first frame arrives in the same write as the upgrade request. */
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     rfc_key);
    static const uint8_t masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                           0x7f, 0x9f, 0x4d, 0x51, 0x58}; /* RFC 6455 5.7 */
    memcpy(req + n, masked_hello, sizeof masked_hello);
    CHECK(cli_send(c, req, (size_t)n + sizeof masked_hello));
    CHECK(cli_response(c, &r, false));
    CHECK(r.status == 101);
    char p[64];
    size_t len;
    CHECK(ws_recv(c, p, sizeof p, &len) == 1);
    CHECK(len == 5 && memcmp(p, "Hello", 5) == 0);
    CHECK(ws_echo(c, "second message"));
    /* 300 bytes: 16-bit length both ways. */
    char big[301];
    memset(big, 'b', 300);
    big[300] = '\0';
    CHECK(ws_echo(c, big));
    /* The node closes: close frame 1000 "bye", nothing after it. */
    CHECK(ws_send_text(c, "close"));
    CHECK(ws_recv(c, p, sizeof p, &len) == 8);
    CHECK(len == 5 && memcmp(p,
                             "\x03\xe8"
                             "bye",
                             5) == 0);
    CHECK(ws_send(c, 8, true, "\x03\xe8", 2));
    CHECK(cli_wait_eof(c));
    cli_close(c);
}

static void test_ws_echo(void **state)
{
    struct fixture *f = *state;
    run(f, client_ws_echo);
    assert_int_equal(f->ws_texts, 4);
    assert_int_equal(f->final.ws_messages_in, 4);
}

static void client_ws_fragments(struct fixture *f)
{
    struct resp r;
    struct cli *c = ws_open(f, &r);
    CHECK(c != NULL);
    CHECK(ws_send(c, 1, false, "Hel", 3));
    CHECK(ws_send(c, 9, true, "pi", 2)); /* ping between fragments */
    CHECK(ws_send(c, 0, false, "lo, ", 4));
    CHECK(ws_send(c, 0, true, "world", 5));
    char p[64];
    size_t len;
    int op = ws_recv(c, p, sizeof p, &len);
    if (op != 10)
        client_fail(f, __LINE__, "op %d len %zu", op, len);
    CHECK(op == 10); /* pong first */
    CHECK(len == 2 && memcmp(p, "pi", 2) == 0);
    CHECK(ws_recv(c, p, sizeof p, &len) == 1);
    CHECK(len == 12 && memcmp(p, "Hello, world", 12) == 0);
    /* Byte by byte: reassembly across reads. */
    uint8_t frame[64];
    size_t fl = 0;
    const char *msg = "slow";
    frame[fl++] = 0x81;
    frame[fl++] = 0x80 | 4;
    memcpy(frame + fl, "\x01\x02\x03\x04", 4);
    fl += 4;
    for (int i = 0; i < 4; i++)
        frame[fl++] = (uint8_t)(msg[i] ^ (i + 1));
    for (size_t i = 0; i < fl; i++) {
        CHECK(cli_send(c, frame + i, 1));
        sleep_ms(2);
    }
    CHECK(ws_recv(c, p, sizeof p, &len) == 1);
    CHECK(len == 4 && memcmp(p, "slow", 4) == 0);
    /* Invalid UTF-8: closed with 1007. */
    CHECK(ws_send(c, 1, true, "\xc3\x28", 2));
    CHECK(ws_expect_close(c, 1007));
    CHECK(cli_wait_eof(c));
    cli_close(c);
}

static void test_ws_fragments(void **state)
{
    run(*state, client_ws_fragments);
}

static void client_ws_too_big(struct fixture *f)
{
    struct resp r;
    struct cli *c = ws_open(f, &r), *other = ws_open(f, &r);
    CHECK(c != NULL && other != NULL);
    char *big = malloc(5000);
    memset(big, 'x', 5000);
    CHECK(ws_send(c, 1, true, big, 4096)); /* exactly the limit: fine */
    char *p = malloc(8192);
    size_t len;
    CHECK(ws_recv(c, p, 8192, &len) == 1 && len == 4096);
    free(p);
    /* Too big as fragments add up. */
    CHECK(ws_send(c, 1, false, big, 3000));
    CHECK(ws_send(c, 0, true, big, 2000));
    free(big);
    CHECK(ws_expect_close(c, 1009));
    CHECK(cli_wait_eof(c));
    cli_close(c);
    CHECK(ws_echo(other, "still here"));
    cli_close(other);
}

static void test_ws_too_big(void **state)
{
    struct fixture *f = *state;
    run(f, client_ws_too_big);
    assert_int_equal(f->final.limit_closes, 1);
}

static void client_ws_binary(struct fixture *f)
{
    struct resp r;
    struct cli *c = ws_open(f, &r);
    CHECK(c != NULL);
    CHECK(ws_send(c, 2, true, "\x00\x01", 2));
    CHECK(ws_expect_close(c, 1003));
    CHECK(cli_wait_eof(c));
    cli_close(c);
    /* Unmasked client frame: protocol error 1002. */
    c = ws_open(f, &r);
    CHECK(c != NULL);
    CHECK(cli_send(c, "\x81\x02hi", 4));
    CHECK(ws_expect_close(c, 1002));
    cli_close(c);
}

static void test_ws_binary(void **state)
{
    struct fixture *f = *state;
    run(f, client_ws_binary);
    assert_int_equal(f->ws_opens, 2);
}

static void client_ws_rate(struct fixture *f)
{
    struct resp r;
    struct cli *c = ws_open(f, &r), *other = ws_open(f, &r);
    CHECK(c != NULL && other != NULL);
    /* Burst 5 at 1/s: 20 messages in one go, the first 5 are echoed. */
    for (int i = 0; i < 20; i++)
        CHECK(ws_send_text(c, "m"));
    char p[256];
    size_t len;
    int echoed = 0, op;
    while ((op = ws_recv(c, p, sizeof p, &len)) == 1)
        echoed++;
    CHECK(op == 8);
    CHECK(len >= 2 && ((unsigned)(uint8_t)p[0] << 8 | (uint8_t)p[1]) == 1008);
    CHECK(strcmp(p + 2, "rate limit") == 0);
    CHECK(echoed == 5);
    CHECK(cli_wait_eof(c));
    cli_close(c);
    /* The other client and plain HTTP are unaffected. */
    CHECK(ws_echo(other, "fine"));
    struct cli *h = cli_open(f);
    CHECK(h != NULL);
    CHECK(cli_sends(h, "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(h, &R, false));
    CHECK(R.status == 200);
    cli_close(h);
    cli_close(other);
}

static void test_ws_rate(void **state)
{
    struct fixture *f = *state;
    f->lim.ws_rate = 1;
    f->lim.ws_burst = 5;
    run(f, client_ws_rate);
    assert_int_equal(f->final.limit_closes, 1);
}

#define NBCAST 6

static void client_broadcast(struct fixture *f)
{
    struct resp r;
    struct cli *c[NBCAST];
    for (int i = 0; i < NBCAST; i++) {
        c[i] = ws_open(f, &r);
        CHECK(c[i] != NULL);
    }
    /* Every socket is open on the server once each has echoed. */
    for (int i = 0; i < NBCAST; i++)
        CHECK(ws_echo(c[i], "ready"));
    CHECK(ws_send_text(c[0], "broadcast:tick 42"));
    for (int i = 0; i < NBCAST; i++) {
        char p[64];
        size_t len;
        CHECK(ws_recv(c[i], p, sizeof p, &len) == 1);
        CHECK(len == 7 && memcmp(p, "tick 42", 7) == 0);
    }
    for (int i = 0; i < NBCAST; i++)
        cli_close(c[i]);
}

static void test_broadcast(void **state)
{
    struct fixture *f = *state;
    run(f, client_broadcast);
    /* One frame, referenced by its creator and by each socket's queue. */
    assert_int_equal(f->shared_refs, 1 + NBCAST);
    assert_int_equal(f->final.ws_frames_out, 2 * NBCAST);
}

static void client_slow_consumer(struct fixture *f)
{
    struct resp r;
    struct cli *c = ws_open(f, &r), *other = ws_open(f, &r);
    CHECK(c != NULL && other != NULL);
    CHECK(ws_send_text(c, "flood")); /* ~1 MB queued at once > 64 KiB */
    CHECK(cli_wait_eof(c));
    cli_close(c);
    CHECK(ws_echo(other, "unaffected"));
    /* A reader that stops reading: 32 KiB per "fill" go out until the
     * socket buffers are full, then queue up behind a uv_write in flight
     * until the queue passes the limit and the socket is dropped. */
    c = ws_open(f, &r);
    CHECK(c != NULL);
    bool closed = false;
    for (int i = 0; i < 20000 && !closed; i++) {
        if (!ws_send_text(c, "fill"))
            closed = true;
        else if (i % 16 == 15)
            sleep_ms(1);
    }
    CHECK(closed);
    CHECK(cli_wait_eof(c));
    cli_close(c);
    CHECK(ws_echo(other, "still unaffected"));
    cli_close(other);
}

static void test_slow_consumer(void **state)
{
    struct fixture *f = *state;
    f->lim.max_output_bytes = 64 * 1024;
    f->lim.ws_rate = 0; /* no rate limit */
    run(f, client_slow_consumer);
    assert_int_equal(f->final.limit_closes, 2);
}

/* Stop while WebSockets, a keep-alive HTTP socket and a half-sent request
 * are open: WebSockets get 1001, everything closes, no handle is left
 * (run() checks uv_loop_close) and ASan sees no leak. */
static void client_stop(struct fixture *f)
{
    struct resp r;
    struct cli *ws[3], *h, *partial;
    for (int i = 0; i < 3; i++) {
        ws[i] = ws_open(f, &r);
        CHECK(ws[i] != NULL);
        CHECK(ws_echo(ws[i], "up"));
    }
    h = cli_open(f);
    CHECK(h != NULL);
    CHECK(cli_sends(h, "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(cli_response(h, &R, false));
    partial = cli_open(f);
    CHECK(partial != NULL);
    CHECK(cli_sends(partial, "GET /api/hel"));
    sleep_ms(50);
    request_stop(f);
    for (int i = 0; i < 3; i++) {
        CHECK(ws_expect_close(ws[i], 1001));
        CHECK(cli_wait_eof(ws[i]));
        cli_close(ws[i]);
    }
    CHECK(cli_wait_eof(h));
    CHECK(cli_wait_eof(partial));
    cli_close(h);
    cli_close(partial);
}

static void test_stop(void **state)
{
    struct fixture *f = *state;
    run(f, client_stop);
    assert_int_equal(f->ws_opens, 3);
    assert_int_equal(f->ws_closes, 3);
    assert_int_equal(f->final.connections_open, 5);
    assert_int_equal(f->final.ws_open, 3);
}

/* Frame encoding for the three length forms. */
static void test_frame_text(void **state)
{
    (void)state;
    size_t sizes[] = {0, 125, 126, 65535, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *d = calloc(1, sizes[i] + 1);
        struct wr_sbuf *b = wr_ws_frame_text(d, sizes[i]);
        size_t hl = sizes[i] < 126 ? 2 : sizes[i] <= 65535 ? 4 : 10;
        assert_int_equal(b->len, hl + sizes[i]);
        assert_int_equal(b->data[0], 0x81);
        assert_int_equal(b->refs, 1);
        if (hl == 2)
            assert_int_equal(b->data[1], sizes[i]);
        else if (hl == 4)
            assert_int_equal(b->data[1], 126);
        else
            assert_int_equal(b->data[1], 127);
        wr_sbuf_unref(b);
        free(d);
    }
}

static void test_limits_default(void **state)
{
    (void)state;
    struct wr_http_limits l;
    wr_http_limits_default(&l);
    assert_int_equal(l.max_header_bytes, 8192);
    assert_int_equal(l.max_body_bytes, 65536);
    assert_int_equal(l.max_ws_message, 4096);
    assert_int_equal(l.max_output_bytes, 1u << 20);
    assert_int_equal(l.max_connections, 10000);
    assert_int_equal(l.ws_rate, 60);
    assert_int_equal(l.ws_burst, 120);
    assert_int_equal(l.idle_timeout_ms, 30000);
}

static void test_bad_bind(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct wr_http_server *srv = NULL;
    struct wr_http_handlers h = {0};
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_not_equal(wr_http_server_start(&srv, &loop, "nonsense", NULL, &h, NULL), 0);
    assert_int_not_equal(
        wr_http_server_start(&srv, &loop, "127.0.0.1:80", NULL, &h, "/nonexistent/dir"), 0);
    /* A port in use: the failed listener is closed and freed by the loop. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    char bind_s[32];
    snprintf(bind_s, sizeof bind_s, "127.0.0.1:%d", ntohs(sa.sin_port));
    assert_int_equal(wr_http_server_start(&srv, &loop, bind_s, NULL, &h, NULL), UV_EADDRINUSE);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    close(fd);
}

/* ---- frame rules -------------------------------------------------------- */

/* A masked frame with any first byte and length form: @lenform 0 picks the
 * minimal one, 126 or 127 force that form; @declared is the length put in
 * the header (the payload sent is @data, @len). */
static bool ws_send_raw(struct cli *c, uint8_t b0, int lenform, uint64_t declared,
                        const void *data, size_t len)
{
    uint8_t hdr[14];
    size_t hl = 0;
    hdr[hl++] = b0;
    if (lenform == 0)
        lenform = declared < 126 ? 0 : declared <= 0xffff ? 126 : 127;
    if (lenform == 0) {
        hdr[hl++] = (uint8_t)(0x80 | declared);
    } else if (lenform == 126) {
        hdr[hl++] = 0x80 | 126;
        hdr[hl++] = (uint8_t)(declared >> 8);
        hdr[hl++] = (uint8_t)declared;
    } else {
        hdr[hl++] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            hdr[hl++] = (uint8_t)(declared >> (56 - 8 * i));
    }
    static const uint8_t mask[4] = {0x11, 0x22, 0x33, 0x44};
    memcpy(hdr + hl, mask, 4);
    hl += 4;
    if (!cli_send(c, hdr, hl))
        return false;
    uint8_t *body = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        body[i] = ((const uint8_t *)data)[i] ^ mask[i % 4];
    bool ok = cli_send(c, body, len);
    free(body);
    return ok;
}

struct bad_case {
    const char *what;
    uint8_t b0;
    int lenform;
    uint64_t declared;
    const char *data; /* sent after a first frame, see first_b0 */
    size_t len;
    uint8_t first_b0; /* if nonzero: a frame sent before (payload "ab") */
    unsigned code;
};

static const struct bad_case bad_cases[] = {
    {"RSV1 set", 0xc1, 0, 2, "hi", 2, 0, 1002},
    {"RSV2 set", 0xa1, 0, 2, "hi", 2, 0, 1002},
    {"RSV3 set", 0x91, 0, 2, "hi", 2, 0, 1002},
    {"opcode 3", 0x83, 0, 2, "hi", 2, 0, 1002},
    {"opcode 11", 0x8b, 0, 2, "hi", 2, 0, 1002},
    {"ping over 125 bytes", 0x89, 126, 126, NULL, 126, 0, 1002},
    {"fragmented ping", 0x09, 0, 2, "hi", 2, 0, 1002},
    {"fragmented close", 0x08, 0, 2, "\x03\xe8", 2, 0, 1002},
    {"continuation first", 0x80, 0, 2, "hi", 2, 0, 1002},
    {"text inside a fragmented text", 0x81, 0, 2, "hi", 2, 0x01, 1002},
    {"binary inside a fragmented text", 0x82, 0, 2, "hi", 2, 0x01, 1002},
    {"64-bit length, top bit set", 0x81, 127, 0x8000000000000005ull, "", 0, 0, 1002},
    {"16-bit form for 5 bytes", 0x81, 126, 5, "hello", 5, 0, 1002},
    {"64-bit form for 300 bytes", 0x81, 127, 300, "", 0, 0, 1002},
    {"close with 1 byte", 0x88, 0, 1, "\x03", 1, 0, 1002},
    {"close code 1005", 0x88, 0, 2, "\x03\xed", 2, 0, 1002},
    {"close code 999", 0x88, 0, 2, "\x03\xe7", 2, 0, 1002},
    {"close reason not UTF-8", 0x88, 0, 4, "\x03\xe8\xc3\x28", 4, 0, 1007},
    {"64-bit length over the limit", 0x81, 0, 70000, "", 0, 0, 1009},
    {"overlong 2 bytes", 0x81, 0, 2, "\xc0\x80", 2, 0, 1007},
    {"C1 lead", 0x81, 0, 2, "\xc1\xbf", 2, 0, 1007},
    {"overlong 3 bytes", 0x81, 0, 3, "\xe0\x80\xaf", 3, 0, 1007},
    {"overlong 4 bytes", 0x81, 0, 4, "\xf0\x8f\xbf\xbf", 4, 0, 1007},
    {"surrogate D800", 0x81, 0, 3, "\xed\xa0\x80", 3, 0, 1007},
    {"surrogate DFFF", 0x81, 0, 3, "\xed\xbf\xbf", 3, 0, 1007},
    {"above U+10FFFF", 0x81, 0, 4, "\xf4\x90\x80\x80", 4, 0, 1007},
    {"F5 lead", 0x81, 0, 1, "\xf5", 1, 0, 1007},
    {"lone continuation", 0x81, 0, 1, "\x80", 1, 0, 1007},
    {"truncated sequence", 0x81, 0, 2, "\xe2\x82", 2, 0, 1007},
    {"bad byte in a continuation fragment", 0x80, 0, 1, "\x28", 1, 0x01, 1007},
};

static void client_ws_bad_frames(struct fixture *f)
{
    struct resp r;
    char zeros[200] = {0};
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *b = &bad_cases[i];
        struct cli *c = ws_open(f, &r);
        CHECK(c != NULL);
        if (b->first_b0 != 0) {
            /* The first fragment of a text message; for the UTF-8 case it
             * ends inside a 3-byte sequence. */
            const char *first = b->code == 1007 ? "\xe2\x82" : "ab";
            CHECK(ws_send_raw(c, b->first_b0, 0, 2, first, 2));
        }
        CHECK(ws_send_raw(c, b->b0, b->lenform, b->declared, b->data ? b->data : zeros, b->len));
        if (!ws_expect_close(c, b->code)) {
            client_fail(f, __LINE__, "case '%s': no close %u", b->what, b->code);
            return;
        }
        CHECK(cli_wait_eof(c));
        cli_close(c);
    }
}

static void test_ws_bad_frames(void **state)
{
    struct fixture *f = *state;
    f->lim.ws_rate = 0;
    run(f, client_ws_bad_frames);
    assert_int_equal(f->ws_texts, 0);
    assert_int_equal(f->ws_opens, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    assert_int_equal(f->final.limit_closes, 1); /* the 1009 */
}

/* Valid UTF-8 split across fragments and reads, control frames split
 * across reads, several messages in one read, empty messages. */
static void client_ws_good_frames(struct fixture *f)
{
    struct resp r;
    struct cli *c = ws_open(f, &r);
    CHECK(c != NULL);
    char p[256];
    size_t len;
    /* U+20AC and U+1F600 split inside their sequences across fragments. */
    CHECK(ws_send_raw(c, 0x01, 0, 3, "x\xe2\x82", 3));
    CHECK(ws_send_raw(c, 0x00, 0, 3, "\xac\xf0\x9f", 3));
    CHECK(ws_send_raw(c, 0x80, 0, 3, "\x98\x80y", 3));
    CHECK(ws_recv(c, p, sizeof p, &len) == 1);
    CHECK(len == 9 && memcmp(p, "x\xe2\x82\xac\xf0\x9f\x98\x80y", 9) == 0);
    /* The edges that are valid: U+10FFFF, U+D7FF, U+E000, U+0080, U+07FF. */
    static const char edges[] = "\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80\xc2\x80\xdf\xbf";
    CHECK(ws_echo(c, edges));
    /* An empty message, and an empty first fragment. */
    CHECK(ws_send_raw(c, 0x81, 0, 0, "", 0));
    CHECK(ws_recv(c, p, sizeof p, &len) == 1 && len == 0);
    CHECK(ws_send_raw(c, 0x01, 0, 0, "", 0));
    CHECK(ws_send_raw(c, 0x80, 0, 2, "ok", 2));
    CHECK(ws_recv(c, p, sizeof p, &len) == 1 && len == 2 && memcmp(p, "ok", 2) == 0);
    /* A ping with 125 bytes and one with none. */
    char big[126];
    memset(big, 'p', 125);
    big[125] = '\0';
    CHECK(ws_send(c, 9, true, big, 125));
    CHECK(ws_recv(c, p, sizeof p, &len) == 10 && len == 125 && memcmp(p, big, 125) == 0);
    CHECK(ws_send(c, 9, true, "", 0));
    CHECK(ws_recv(c, p, sizeof p, &len) == 10 && len == 0);
    /* An unsolicited pong is ignored. */
    CHECK(ws_send(c, 10, true, "zz", 2));
    /* A ping split byte by byte inside a fragmented message that is
     * itself split across reads. */
    uint8_t frames[64];
    size_t fl = 0;
    const uint8_t mk[4] = {9, 8, 7, 6};
    frames[fl++] = 0x01; /* text, not final: "ab" */
    frames[fl++] = 0x80 | 2;
    memcpy(frames + fl, mk, 4);
    fl += 4;
    frames[fl++] = 'a' ^ mk[0];
    frames[fl++] = 'b' ^ mk[1];
    frames[fl++] = 0x89; /* ping "xyz" */
    frames[fl++] = 0x80 | 3;
    memcpy(frames + fl, mk, 4);
    fl += 4;
    for (int i = 0; i < 3; i++)
        frames[fl++] = (uint8_t)("xyz"[i] ^ mk[i]);
    frames[fl++] = 0x80; /* final continuation "cd" */
    frames[fl++] = 0x80 | 2;
    memcpy(frames + fl, mk, 4);
    fl += 4;
    frames[fl++] = 'c' ^ mk[0];
    frames[fl++] = 'd' ^ mk[1];
    for (size_t i = 0; i < fl; i++) {
        CHECK(cli_send(c, frames + i, 1));
        sleep_ms(1);
    }
    CHECK(ws_recv(c, p, sizeof p, &len) == 10 && len == 3 && memcmp(p, "xyz", 3) == 0);
    CHECK(ws_recv(c, p, sizeof p, &len) == 1 && len == 4 && memcmp(p, "abcd", 4) == 0);
    /* Three messages in one write, then one whose header is split. */
    fl = 0;
    for (int m = 0; m < 3; m++) {
        frames[fl++] = 0x81;
        frames[fl++] = 0x80 | 1;
        memcpy(frames + fl, mk, 4);
        fl += 4;
        frames[fl++] = (uint8_t)(('1' + m) ^ mk[0]);
    }
    CHECK(cli_send(c, frames, fl));
    for (int m = 0; m < 3; m++)
        CHECK(ws_recv(c, p, sizeof p, &len) == 1 && len == 1 && p[0] == '1' + m);
    CHECK(cli_send(c, "\x81\x82\x01", 3));
    sleep_ms(20);
    CHECK(cli_send(c, "\x02\x03\x04\x69\x6f", 5)); /* "hm" masked with 1 2 3 4 */
    CHECK(ws_recv(c, p, sizeof p, &len) == 1 && len == 2 && memcmp(p, "hm", 2) == 0);
    /* A close without a payload is answered by an empty close. */
    CHECK(ws_send(c, 8, true, "", 0));
    CHECK(ws_recv(c, p, sizeof p, &len) == 8 && len == 0);
    CHECK(cli_wait_eof(c));
    cli_close(c);
    /* A close with a code and reason is answered with the code. */
    c = ws_open(f, &r);
    CHECK(c != NULL);
    CHECK(ws_send(c, 8, true, "\x0f\xa0see you", 9)); /* 4000 */
    CHECK(ws_expect_close(c, 4000));
    CHECK(cli_wait_eof(c));
    cli_close(c);
}

static void test_ws_good_frames(void **state)
{
    struct fixture *f = *state;
    f->lim.ws_rate = 0;
    run(f, client_ws_good_frames);
    assert_int_equal(f->ws_texts, 9);
    assert_int_equal(f->final.limit_closes, 0);
}

/* Pings take rate-limit tokens too. */
static void client_ws_rate_pings(struct fixture *f)
{
    struct resp r;
    struct cli *c = ws_open(f, &r);
    CHECK(c != NULL);
    for (int i = 0; i < 3; i++)
        CHECK(ws_send_text(c, "m"));
    for (int i = 0; i < 10; i++)
        CHECK(ws_send(c, 9, true, "p", 1));
    char p[256];
    size_t len;
    int texts = 0, pongs = 0, op;
    while ((op = ws_recv(c, p, sizeof p, &len)) == 1 || op == 10)
        op == 1 ? texts++ : pongs++;
    CHECK(op == 8);
    CHECK(len >= 2 && ((unsigned)(uint8_t)p[0] << 8 | (uint8_t)p[1]) == 1008);
    CHECK(texts == 3 && pongs == 2);
    CHECK(cli_wait_eof(c));
    cli_close(c);
}

static void test_ws_rate_pings(void **state)
{
    struct fixture *f = *state;
    f->lim.ws_rate = 1;
    f->lim.ws_burst = 5;
    run(f, client_ws_rate_pings);
    assert_int_equal(f->final.limit_closes, 1);
}

/* ---- memory per idle WebSocket ---------------------------------------- */

#ifdef __SANITIZE_ADDRESS__
/* ASan replaces malloc; glibc's mallinfo2 sees none of it. */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void)
{
    return __sanitizer_get_current_allocated_bytes();
}
#else
static size_t heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2(); /* sums every arena */
    return m.uordblks + m.hblkhd;
}
#endif

#define IDLE_N 500

/* A WebSocket opened without touching the heap in this process: socket,
 * handshake, read the 101 into a stack buffer. Returns the fd or -1. */
static int raw_ws_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[512];
    int n = snprintf(buf, sizeof buf,
                     "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     rfc_key);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < sizeof buf - 1) {
        ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        buf[got] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL)
            return strncmp(buf, "HTTP/1.1 101 ", 13) == 0 ? fd : (close(fd), -1);
    }
    close(fd);
    return -1;
}

/* Heap bytes the server holds per open, idle WebSocket: everything this
 * process allocates (the uv_tcp_t inside our connection struct, our
 * structs, libuv's per-fd arrays), not the kernel's socket buffers. */
static void client_ws_idle_memory(struct fixture *f)
{
    static int fds[IDLE_N];
    struct resp r;
    /* Warm up: one socket through the whole path first. */
    struct cli *w = ws_open(f, &r);
    CHECK(w != NULL);
    CHECK(ws_echo(w, "warm"));
    sleep_ms(50);
    size_t before = heap_in_use();
    int opened = 0;
    for (int i = 0; i < IDLE_N; i++) {
        fds[i] = raw_ws_open(f->port);
        if (fds[i] >= 0)
            opened++;
    }
    sleep_ms(200); /* let the server settle (writes done, nothing queued) */
    size_t after = heap_in_use();
    f->idle_bytes = ((long)after - (long)before) / IDLE_N;
    for (int i = 0; i < IDLE_N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    CHECK(opened == IDLE_N);
    CHECK(ws_echo(w, "still here"));
    cli_close(w);
}

static void test_ws_idle_memory(void **state)
{
    struct fixture *f = *state;
    f->lim.ws_rate = 0;
    f->lim.max_per_ip = 0; /* 500 sockets from 127.0.0.1 */
    run(f, client_ws_idle_memory);
    assert_int_equal(f->ws_opens, IDLE_N + 1);
    print_message("heap per idle WebSocket: %ld bytes (%d sockets)\n", f->idle_bytes, IDLE_N);
    assert_true(f->idle_bytes < 2048);
}

/* ---- main ------------------------------------------------------------- */

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

int main(void)
{
    wr_log_init();
    snprintf(tmp_root, sizeof tmp_root, "/tmp/wr_test_http.%d", (int)getpid());
    mkdir(tmp_root, 0700);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits_default),
        cmocka_unit_test(test_frame_text),
        cmocka_unit_test(test_bad_bind),
        cmocka_unit_test_setup_teardown(test_get_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_header_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_ip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_ip_exempt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_respond, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broadcast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_consumer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_bad_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_good_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_rate_pings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_idle_memory, setup, teardown),
    };
    int rc = cmocka_run_group_tests_name("http", tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_root);
    return rc;
}
