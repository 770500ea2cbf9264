/* Unit tests for src/net/telnet.c and telnet_opts.c against a real server on
 * 127.0.0.1. Each test runs the server in a uv loop on the main thread and
 * scripted clients in a pthread. The clients speak telnet through libtelnet
 * itself (their own telnet_t, option table and event handler) over blocking
 * sockets, so negotiation, subnegotiation and MCCP2 inflation are real.
 * Clients never call cmocka (not thread-safe): they record the first failed
 * CHECK, and the main thread asserts after joining. Server state is observed
 * through the wire: the test's on_line handler answers commands ("info",
 * "prompt", "gmcp ...") and echoes other lines as "got[<len>]:<line>". Every
 * test ends with wr_telnet_server_stop and checks that the loop closes with
 * no handles and that on_close ran once per connection, never inside our own
 * call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libtelnet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/log.h"
#include "net/proxy.h"
#include "net/telnet.h"

#define GMCP 201
#define FFFD "\xef\xbf\xbd"

struct fixture {
    uv_loop_t loop;
    uv_async_t stop_async;
    struct wr_telnet_server *srv;
    struct wr_telnet_limits lim;
    const char *stop_msg;
    int port;
    void (*client)(struct fixture *);
    pthread_t thread;
    /* Client-side failure, read by the main thread after join. */
    int fail_line;
    char fail_msg[256];
    /* Server side (loop thread only until join). */
    int opens, closes, resizes;
    int close_inside_call;
    bool in_call;
    bool stopped;
    struct wr_telnet_stats final;
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

static void on_open(struct wr_telnet_server *srv, struct wr_telnet *t)
{
    struct fixture *f = wr_telnet_server_data(srv);
    wr_conn_set_data(wr_telnet_conn(t), f);
    f->opens++;
}

static struct fixture *fix_of(struct wr_telnet *t)
{
    return wr_conn_data(wr_telnet_conn(t));
}

static void sendf(struct wr_telnet *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(struct wr_telnet *t, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        wr_telnet_send(t, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static void on_line(struct wr_telnet *t, const char *line, size_t len)
{
    struct fixture *f = fix_of(t);
    f->in_call = true;
    assert_true(line[len] == '\0');
    if (strcmp(line, "info") == 0) {
        sendf(t,
              "info color=%d width=%u height=%u client=%s term=%s mtts=%u compress=%d "
              "version=%s gmcp-char=%d\n",
              wr_telnet_color(t), wr_telnet_width(t), wr_telnet_height(t),
              wr_telnet_client_name(t), wr_telnet_terminal_type(t), wr_telnet_mtts(t),
              wr_telnet_compressing(t), wr_telnet_client_version(t),
              wr_telnet_gmcp_supports(t, "Char.Vitals"));
    } else if (strcmp(line, "peer") == 0) {
        sendf(t, "peer=%s conn=%s\n", wr_telnet_peer(t), wr_conn_peer(wr_telnet_conn(t)));
    } else if (strcmp(line, "prompt") == 0) {
        wr_telnet_prompt(t, "> ", 2);
    } else if (strcmp(line, "hide") == 0) {
        wr_telnet_hide_input(t, true);
    } else if (strcmp(line, "show") == 0) {
        wr_telnet_hide_input(t, false);
    } else if (strncmp(line, "gmcp ", 5) == 0) {
        char pkg[64];
        const char *sp = strchr(line + 5, ' ');
        size_t n = sp ? (size_t)(sp - line - 5) : strlen(line + 5);
        snprintf(pkg, sizeof pkg, "%.*s", (int)n, line + 5);
        wr_telnet_gmcp(t, pkg, sp ? sp + 1 : "");
    } else if (strncmp(line, "big ", 4) == 0) {
        char chunk[1024];
        memset(chunk, 'y', sizeof chunk);
        long kib = strtol(line + 4, NULL, 10);
        for (long i = 0; i < kib; i++)
            wr_telnet_send(t, chunk, sizeof chunk);
        sendf(t, "big-done\n");
    } else if (strcmp(line, "text") == 0) {
        for (int i = 0; i < 20; i++)
            sendf(t, "hello world %d\n", i);
    } else if (strcmp(line, "quit") == 0) {
        wr_telnet_close(t, "Bye.\n");
        wr_telnet_send(t, "ignored\n", 8); /* after close: dropped */
    } else {
        sendf(t, "got[%zu]:%s\n", len, line);
    }
    f->in_call = false;
}

static void on_gmcp(struct wr_telnet *t, const char *package, const char *json)
{
    sendf(t, "gmcp-in[%s]%s\n", package, json);
}

static void on_resize(struct wr_telnet *t, unsigned width, unsigned height)
{
    fix_of(t)->resizes++;
}

static void on_close(struct wr_telnet *t)
{
    struct fixture *f = fix_of(t);
    if (f->in_call)
        f->close_inside_call++;
    f->closes++;
}

static size_t mssp_vars(void *data, struct wr_telnet_mssp_var *vars, size_t max)
{
    (void)data;
    assert_true(max >= 3);
    vars[0] = (struct wr_telnet_mssp_var){"NAME", "Warren"};
    vars[1] = (struct wr_telnet_mssp_var){"PLAYERS", "3"};
    vars[2] = (struct wr_telnet_mssp_var){"CODEBASE", "warren"};
    return 3;
}

/* ---- harness ---------------------------------------------------------- */

static void stopped_cb(void *arg)
{
    struct fixture *f = arg;
    f->stopped = true;
}

static void stop_async_cb(uv_async_t *a)
{
    struct fixture *f = a->data;
    f->final = *wr_telnet_server_stats(f->srv);
    uv_close((uv_handle_t *)a, NULL);
    wr_telnet_server_stop(f->srv, f->stop_msg, stopped_cb, f);
}

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

static void run(struct fixture *f, void (*client)(struct fixture *))
{
    struct wr_telnet_handlers h = {
        .data = f,
        .on_open = on_open,
        .on_line = on_line,
        .on_gmcp = on_gmcp,
        .on_resize = on_resize,
        .on_close = on_close,
        .mssp = mssp_vars,
    };
    assert_int_equal(uv_loop_init(&f->loop), 0);
    int rv = -1;
    for (int tries = 0; tries < 10 && rv != 0; tries++) {
        char bind[32];
        f->port = free_port();
        snprintf(bind, sizeof bind, "127.0.0.1:%d", f->port);
        rv = wr_telnet_server_start(&f->srv, &f->loop, bind, &f->lim, &h);
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
    assert_int_equal(f->opens, f->closes);
    assert_int_equal(f->close_inside_call, 0);
}

/* ---- the libtelnet client --------------------------------------------- */

struct opts {
    bool no_eor, no_gmcp, no_mssp, mccp, no_naws, no_ttype;
    unsigned width, height;  /* NAWS; 0: 100 x 40 */
    const char *ttypes[4];   /* TTYPE replies in order, the last repeated */
};

struct tcli {
    struct fixture *f;
    int fd;
    telnet_t *tn;
    telnet_telopt_t telopts[16];
    struct opts o;
    bool eof;
    char *text; /* decoded data plus {GA} {EOR} {NOP} markers */
    size_t text_len, pos;
    uint8_t *raw; /* bytes as received */
    size_t raw_len;
    int will[256], wont[256], dos[256], donts[256];
    char neglog[512]; /* "WILL 1;WONT 1;" for ECHO */
    int ttype_sends;
    char gmcp[32][256];
    int n_gmcp;
    char mssp[512];
    bool got_mssp;
    bool compressed;
    int errors;
};

#define TEXT_CAP (1u << 21)

static void tc_append(struct tcli *c, const char *p, size_t n)
{
    if (n > TEXT_CAP - 1 - c->text_len)
        n = TEXT_CAP - 1 - c->text_len;
    memcpy(c->text + c->text_len, p, n);
    c->text_len += n;
    c->text[c->text_len] = '\0';
}

static void tc_event(telnet_t *tn, telnet_event_t *ev, void *ud)
{
    struct tcli *c = ud;
    switch (ev->type) {
    case TELNET_EV_SEND: {
        const char *p = ev->data.buffer;
        size_t n = ev->data.size;
        while (n > 0) {
            ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            p += w;
            n -= (size_t)w;
        }
        break;
    }
    case TELNET_EV_DATA:
        tc_append(c, ev->data.buffer, ev->data.size);
        break;
    case TELNET_EV_IAC:
        if (ev->iac.cmd == TELNET_GA)
            tc_append(c, "{GA}", 4);
        else if (ev->iac.cmd == TELNET_EOR)
            tc_append(c, "{EOR}", 5);
        else if (ev->iac.cmd == TELNET_NOP)
            tc_append(c, "{NOP}", 5);
        break;
    case TELNET_EV_WILL:
    case TELNET_EV_WONT:
    case TELNET_EV_DO:
    case TELNET_EV_DONT: {
        int *counts = ev->type == TELNET_EV_WILL   ? c->will
                      : ev->type == TELNET_EV_WONT ? c->wont
                      : ev->type == TELNET_EV_DO   ? c->dos
                                                   : c->donts;
        counts[ev->neg.telopt]++;
        if (ev->neg.telopt == TELNET_TELOPT_ECHO) {
            size_t l = strlen(c->neglog);
            snprintf(c->neglog + l, sizeof c->neglog - l, "%s 1;",
                     ev->type == TELNET_EV_WILL   ? "WILL"
                     : ev->type == TELNET_EV_WONT ? "WONT"
                     : ev->type == TELNET_EV_DO   ? "DO"
                                                  : "DONT");
        }
        if (ev->type == TELNET_EV_DO && ev->neg.telopt == TELNET_TELOPT_NAWS) {
            unsigned w = c->o.width ? c->o.width : 100, h = c->o.height ? c->o.height : 40;
            char naws[4] = {(char)(w >> 8), (char)w, (char)(h >> 8), (char)h};
            telnet_subnegotiation(tn, TELNET_TELOPT_NAWS, naws, 4);
        }
        break;
    }
    case TELNET_EV_SUBNEGOTIATION:
        if (ev->sub.telopt == GMCP && c->n_gmcp < 32) {
            snprintf(c->gmcp[c->n_gmcp++], sizeof c->gmcp[0], "%.*s", (int)ev->sub.size,
                     ev->sub.buffer);
        }
        break;
    case TELNET_EV_TTYPE:
        if (ev->ttype.cmd == TELNET_TTYPE_SEND) {
            int n = 0;
            while (n < 4 && c->o.ttypes[n] != NULL)
                n++;
            const char *name = n == 0 ? "UNKNOWN" : c->o.ttypes[c->ttype_sends < n ? c->ttype_sends : n - 1];
            c->ttype_sends++;
            telnet_ttype_is(tn, name);
        }
        break;
    case TELNET_EV_MSSP:
        c->got_mssp = true;
        for (size_t i = 0; i < ev->mssp.size; i++) {
            size_t l = strlen(c->mssp);
            snprintf(c->mssp + l, sizeof c->mssp - l, "%s=%s;", ev->mssp.values[i].var,
                     ev->mssp.values[i].value);
        }
        break;
    case TELNET_EV_COMPRESS:
        c->compressed = ev->compress.state == 1;
        break;
    case TELNET_EV_WARNING:
    case TELNET_EV_ERROR:
        c->errors++;
        break;
    default:
        break;
    }
}

/* Read once (5 s timeout); 1 on data, 0 on EOF, -1 on error/timeout. */
static int tc_more(struct tcli *c)
{
    char buf[16384];
    if (c->eof)
        return 0;
    ssize_t r = recv(c->fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno == ECONNRESET)) {
        c->eof = true;
        return 0;
    }
    if (r < 0)
        return -1;
    size_t n = (size_t)r;
    if (n > TEXT_CAP - c->raw_len)
        n = TEXT_CAP - c->raw_len;
    memcpy(c->raw + c->raw_len, buf, n);
    c->raw_len += n;
    telnet_recv(c->tn, buf, (size_t)r);
    return 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Read until @cond holds, EOF or 5 s pass. */
#define TC_WAIT(c, cond)                                                                           \
    do {                                                                                           \
        double until_ = now_s() + 5;                                                               \
        while (!(cond) && now_s() < until_)                                                        \
            if (tc_more(c) <= 0)                                                                   \
                break;                                                                             \
    } while (0)

static void tc_add_opt(struct tcli *c, int *n, short opt, unsigned char us, unsigned char him)
{
    c->telopts[*n] = (telnet_telopt_t){opt, us, him};
    (*n)++;
}

static struct tcli *tc_connect(struct fixture *f, const struct opts *o)
{
    struct tcli *c = calloc(1, sizeof *c);
    c->f = f;
    if (o != NULL)
        c->o = *o;
    c->text = malloc(TEXT_CAP);
    c->raw = malloc(TEXT_CAP);
    c->text[0] = '\0';
    int n = 0;
    tc_add_opt(c, &n, TELNET_TELOPT_SGA, TELNET_WONT, TELNET_DO);
    tc_add_opt(c, &n, TELNET_TELOPT_ECHO, TELNET_WONT, TELNET_DO);
    tc_add_opt(c, &n, TELNET_TELOPT_EOR, TELNET_WONT, c->o.no_eor ? TELNET_DONT : TELNET_DO);
    tc_add_opt(c, &n, GMCP, TELNET_WONT, c->o.no_gmcp ? TELNET_DONT : TELNET_DO);
    tc_add_opt(c, &n, TELNET_TELOPT_MSSP, TELNET_WONT, c->o.no_mssp ? TELNET_DONT : TELNET_DO);
    tc_add_opt(c, &n, TELNET_TELOPT_COMPRESS2, TELNET_WONT, c->o.mccp ? TELNET_DO : TELNET_DONT);
    tc_add_opt(c, &n, TELNET_TELOPT_NAWS, c->o.no_naws ? TELNET_WONT : TELNET_WILL, TELNET_DONT);
    tc_add_opt(c, &n, TELNET_TELOPT_TTYPE, c->o.no_ttype ? TELNET_WONT : TELNET_WILL,
               TELNET_DONT);
    c->telopts[n].telopt = -1;
    c->tn = telnet_init(c->telopts, tc_event, 0, c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)f->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = 5};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        c->eof = true;
    return c;
}

static void tc_close(struct tcli *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    telnet_free(c->tn);
    free(c->text);
    free(c->raw);
    free(c);
}

static void tc_line(struct tcli *c, const char *s)
{
    telnet_send(c->tn, s, strlen(s));
    telnet_send(c->tn, "\r\n", 2);
}

/* Bytes straight to the socket, not through libtelnet (a PROXY header). */
static void tc_send_raw(struct tcli *c, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void tc_raw(struct tcli *c, const char *s, size_t n)
{
    telnet_send(c->tn, s, n);
}

/* Read until @s appears after the cursor; move the cursor past it. */
static bool tc_expect(struct tcli *c, const char *s)
{
    size_t n = strlen(s);
    char *p = NULL;
    TC_WAIT(c, (p = memmem(c->text + c->pos, c->text_len - c->pos, s, n)) != NULL);
    if (p == NULL)
        return false;
    c->pos = (size_t)(p - c->text) + n;
    return true;
}

static int count_in(const char *hay, size_t len, const char *needle)
{
    int k = 0;
    size_t n = strlen(needle);
    for (const char *p = hay; (p = memmem(p, len - (size_t)(p - hay), needle, n)) != NULL; p += n)
        k++;
    return k;
}

/* One round trip: every byte the client sent before is processed. */
static bool tc_sync(struct tcli *c)
{
    static int seq;
    char line[32], want[48];
    snprintf(line, sizeof line, "sync%d", ++seq);
    snprintf(want, sizeof want, "got[%zu]:%s\r\n", strlen(line), line);
    tc_line(c, line);
    return tc_expect(c, want);
}

/* Connect and wait for the server's offers (DO TTYPE is the last). With
 * @syncs round trips after, TTYPE cycling (one round per sync) is done. */
static struct tcli *tc_open(struct fixture *f, const struct opts *o, int syncs)
{
    struct tcli *c = tc_connect(f, o);
    TC_WAIT(c, c->raw_len >= 21); /* the offers: 7 x IAC WILL/DO option */
    for (int i = 0; i < syncs; i++)
        if (!tc_sync(c))
            break;
    return c;
}

/* ---- tests: negotiation ----------------------------------------------- */

static void client_offers(struct fixture *f)
{
    struct tcli *c = tc_connect(f, NULL);
    TC_WAIT(c, c->raw_len >= 21);
    static const uint8_t offers[] = {255, 251, 3,  255, 251, 25, 255, 251, 201, 255, 251,
                                     70,  255, 251, 86, 255, 253, 31, 255, 253, 24};
    CHECK(c->raw_len >= sizeof offers);
    CHECK(memcmp(c->raw, offers, sizeof offers) == 0);
    CHECK(tc_sync(c) && tc_sync(c));
    CHECK(c->will[TELNET_TELOPT_SGA] == 1 && c->will[TELNET_TELOPT_EOR] == 1);
    CHECK(c->will[GMCP] == 1 && c->will[TELNET_TELOPT_MSSP] == 1);
    CHECK(c->dos[TELNET_TELOPT_NAWS] == 1 && c->dos[TELNET_TELOPT_TTYPE] == 1);
    /* Offered but refused by this client: no compression. */
    CHECK(!c->compressed);
    /* ECHO is never offered unasked... */
    CHECK(c->will[TELNET_TELOPT_ECHO] == 0);
    /* ...and an unknown option is refused both ways. */
    telnet_negotiate(c->tn, TELNET_DO, 99);
    telnet_negotiate(c->tn, TELNET_WILL, 98);
    CHECK(tc_sync(c));
    CHECK(memmem(c->raw, c->raw_len, "\xff\xfc\x63", 3) != NULL);  /* WONT 99 */
    CHECK(memmem(c->raw, c->raw_len, "\xff\xfe\x62", 3) != NULL);  /* DONT 98 */
    tc_close(c);
}

static void test_offers(void **state)
{
    run(*state, client_offers);
}

static void client_naws(struct fixture *f)
{
    struct opts o = {.width = 132, .height = 50};
    struct tcli *c = tc_open(f, &o, 2);
    tc_line(c, "info");
    CHECK(tc_expect(c, "width=132 height=50 "));
    struct opts o2 = {.no_naws = true};
    struct tcli *d = tc_open(f, &o2, 2);
    tc_line(d, "info");
    CHECK(tc_expect(d, "width=80 height=24 "));
    /* A resize later is seen too. */
    char naws[4] = {0, 90, 0, 30};
    telnet_subnegotiation(c->tn, TELNET_TELOPT_NAWS, naws, 4);
    tc_line(c, "info");
    CHECK(tc_expect(c, "width=90 height=30 "));
    tc_close(c);
    tc_close(d);
}

static void test_naws(void **state)
{
    struct fixture *f = *state;
    run(f, client_naws);
    assert_int_equal(f->resizes, 2);
}

static void client_ttype(struct fixture *f)
{
    /* MTTS: client name, terminal type, "MTTS 137" (ANSI|256|UTF-8 bits):
     * colour from the MTTS bit alone (DUMB would say no). */
    struct opts o = {.ttypes = {"PLAINCLIENT", "DUMB", "MTTS 137"}};
    struct tcli *c = tc_open(f, &o, 0);
    TC_WAIT(c, c->ttype_sends >= 3);
    CHECK(c->ttype_sends == 3);
    tc_line(c, "info");
    CHECK(tc_expect(c, "info color=1 width=100 height=40 client=PLAINCLIENT term=DUMB mtts=137 "));
    CHECK(c->ttype_sends == 3); /* at most three SENDs */

    /* Only "DUMB", repeated: the second reply repeats, so no third SEND,
     * and no colour. */
    struct opts o2 = {.ttypes = {"DUMB"}};
    struct tcli *d = tc_open(f, &o2, 0);
    TC_WAIT(d, d->ttype_sends >= 2);
    tc_line(d, "info");
    CHECK(tc_expect(d, "info color=0 "));
    CHECK(tc_expect(d, "client=DUMB term= mtts=0 "));
    CHECK(d->ttype_sends == 2);

    /* A terminal type that draws ANSI, without MTTS. */
    struct opts o3 = {.ttypes = {"xterm-256color"}};
    struct tcli *e = tc_open(f, &o3, 0);
    TC_WAIT(e, e->ttype_sends >= 2);
    tc_line(e, "info");
    CHECK(tc_expect(e, "info color=1 "));

    /* MTTS without the ANSI bit and a dumb terminal: plain. */
    struct opts o4 = {.ttypes = {"SOMECLIENT", "DUMB", "MTTS 136"}};
    struct tcli *g = tc_open(f, &o4, 0);
    TC_WAIT(g, g->ttype_sends >= 3);
    tc_line(g, "info");
    CHECK(tc_expect(g, "info color=0 "));
    CHECK(tc_expect(g, "mtts=136 "));

    /* A client that refuses TTYPE: plain, name unknown. */
    struct opts o5 = {.no_ttype = true};
    struct tcli *h = tc_open(f, &o5, 1);
    tc_line(h, "info");
    CHECK(tc_expect(h, "info color=0 "));
    CHECK(tc_expect(h, "client= term= "));
    CHECK(h->ttype_sends == 0);
    tc_close(c);
    tc_close(d);
    tc_close(e);
    tc_close(g);
    tc_close(h);
}

static void test_ttype(void **state)
{
    run(*state, client_ttype);
}

static void gmcp_send(struct tcli *c, const char *msg)
{
    telnet_subnegotiation(c->tn, GMCP, msg, strlen(msg));
}

static bool has_gmcp(const struct tcli *c, const char *msg)
{
    for (int i = 0; i < c->n_gmcp; i++)
        if (strcmp(c->gmcp[i], msg) == 0)
            return true;
    return false;
}

static void client_gmcp(struct fixture *f)
{
    struct tcli *c = tc_open(f, NULL, 2);
    CHECK(c->will[GMCP] == 1);
    gmcp_send(c, "Core.Hello {\"client\":\"TestClient\",\"version\":\"1.2\"}");
    gmcp_send(c, "Core.Supports.Set [\"Char 1\", \"Room.Info 1\"]");
    tc_line(c, "gmcp Char.Vitals {\"hp\":1}");
    tc_line(c, "gmcp Comm.Channel.Text {\"x\":1}");
    tc_line(c, "gmcp Room.Info {\"num\":7}");
    tc_line(c, "gmcp Room.Exits {}");
    tc_line(c, "gmcp Character.Thing {}"); /* "Char" is not a prefix of it */
    tc_line(c, "gmcp Core.Ping");
    tc_line(c, "info");
    CHECK(tc_expect(c, "version=1.2 gmcp-char=1"));
    CHECK(has_gmcp(c, "Char.Vitals {\"hp\":1}"));
    CHECK(has_gmcp(c, "Room.Info {\"num\":7}"));
    CHECK(has_gmcp(c, "Core.Ping"));
    CHECK(!has_gmcp(c, "Comm.Channel.Text {\"x\":1}"));
    CHECK(!has_gmcp(c, "Room.Exits {}"));
    CHECK(!has_gmcp(c, "Character.Thing {}"));
    CHECK(c->n_gmcp == 3);

    /* Add and Remove. */
    gmcp_send(c, "Core.Supports.Add [\"Comm 1\"]");
    gmcp_send(c, "Core.Supports.Remove [\"Char\"]");
    tc_line(c, "gmcp Comm.Channel.Text {\"x\":2}");
    tc_line(c, "gmcp Char.Vitals {\"hp\":2}");
    tc_line(c, "info");
    CHECK(tc_expect(c, "gmcp-char=0"));
    CHECK(has_gmcp(c, "Comm.Channel.Text {\"x\":2}"));
    CHECK(!has_gmcp(c, "Char.Vitals {\"hp\":2}"));

    /* Other messages go to on_gmcp, only as valid JSON. */
    gmcp_send(c, "Char.Login {\"name\":\"bob\"}");
    gmcp_send(c, "Char.Bad {oops");
    gmcp_send(c, "Bad Name! {}");
    gmcp_send(c, "Char.Empty");
    tc_line(c, "mark");
    CHECK(tc_expect(c, "gmcp-in[Char.Login]{\"name\":\"bob\"}\r\n"));
    CHECK(tc_expect(c, "gmcp-in[Char.Empty]\r\n"));
    CHECK(tc_expect(c, "got[4]:mark"));
    CHECK(count_in(c->text, c->text_len, "gmcp-in[") == 2);

    /* A client without GMCP gets none. */
    struct opts o = {.no_gmcp = true};
    struct tcli *d = tc_open(f, &o, 2);
    tc_line(d, "gmcp Core.Ping");
    tc_line(d, "info");
    CHECK(tc_expect(d, "gmcp-char=0"));
    CHECK(d->n_gmcp == 0);
    tc_close(c);
    tc_close(d);
}

static void test_gmcp(void **state)
{
    run(*state, client_gmcp);
}

static void client_mccp(struct fixture *f)
{
    struct opts o = {.mccp = true};
    struct tcli *c = tc_open(f, &o, 2);
    CHECK(c->compressed);
    tc_line(c, "text");
    CHECK(tc_expect(c, "hello world 19\r\n"));
    tc_line(c, "info");
    CHECK(tc_expect(c, "compress=1 "));
    static const char marker[] = "\xff\xfa\x56\xff\xf0"; /* IAC SB COMPRESS2 IAC SE */
    uint8_t *m = memmem(c->raw, c->raw_len, marker, 5);
    CHECK(m != NULL);
    size_t off = (size_t)(m - c->raw) + 5;
    CHECK(off < c->raw_len && c->raw[off] == 0x78); /* a zlib header */
    CHECK(memmem(c->raw + off, c->raw_len - off, "hello world", 11) == NULL);
    /* Inflate it ourselves too. */
    z_stream z;
    memset(&z, 0, sizeof z);
    CHECK(inflateInit(&z) == Z_OK);
    static char plain[1 << 16];
    z.next_in = c->raw + off;
    z.avail_in = (uInt)(c->raw_len - off);
    z.next_out = (Bytef *)plain;
    z.avail_out = sizeof plain - 1;
    int zr = inflate(&z, Z_SYNC_FLUSH);
    size_t plen = sizeof plain - 1 - z.avail_out;
    inflateEnd(&z);
    CHECK(zr == Z_OK || zr == Z_BUF_ERROR);
    CHECK(memmem(plain, plen, "hello world 0\r\nhello world 1\r\n", 30) != NULL);

    /* Positive control: a client without MCCP gets plain text. */
    struct tcli *d = tc_open(f, NULL, 2);
    tc_line(d, "text");
    CHECK(tc_expect(d, "hello world 19\r\n"));
    CHECK(!d->compressed);
    CHECK(memmem(d->raw, d->raw_len, "hello world 3\r\n", 15) != NULL);
    CHECK(memmem(d->raw, d->raw_len, marker, 5) == NULL);
    tc_close(c);
    tc_close(d);
}

static void test_mccp(void **state)
{
    run(*state, client_mccp);
}

static void client_prompt(struct fixture *f)
{
    struct tcli *c = tc_open(f, NULL, 2);
    tc_line(c, "prompt");
    CHECK(tc_expect(c, "> {EOR}"));
    struct opts o = {.no_eor = true};
    struct tcli *d = tc_open(f, &o, 2);
    tc_line(d, "prompt");
    CHECK(tc_expect(d, "> {GA}"));
    CHECK(count_in(c->text, c->text_len, "{GA}") == 0);
    CHECK(count_in(d->text, d->text_len, "{EOR}") == 0);
    tc_close(c);
    tc_close(d);
}

static void test_prompt(void **state)
{
    run(*state, client_prompt);
}

static void client_hide(struct fixture *f)
{
    struct tcli *c = tc_open(f, NULL, 2);
    CHECK(c->neglog[0] == '\0');
    tc_line(c, "hide");
    tc_line(c, "x");
    CHECK(tc_expect(c, "got[1]:x"));
    CHECK(strcmp(c->neglog, "WILL 1;") == 0);
    tc_line(c, "show");
    tc_line(c, "y");
    CHECK(tc_expect(c, "got[1]:y"));
    CHECK(strcmp(c->neglog, "WILL 1;WONT 1;") == 0);
    tc_close(c);
}

static void test_hide(void **state)
{
    run(*state, client_hide);
}

static void client_mssp(struct fixture *f)
{
    struct tcli *c = tc_open(f, NULL, 2);
    CHECK(c->got_mssp);
    CHECK(strstr(c->mssp, "NAME=Warren;") != NULL);
    CHECK(strstr(c->mssp, "PLAYERS=3;") != NULL);
    CHECK(strstr(c->mssp, "CODEBASE=warren;") != NULL);
    struct opts o = {.no_mssp = true};
    struct tcli *d = tc_open(f, &o, 2);
    CHECK(!d->got_mssp);
    tc_close(c);
    tc_close(d);
}

static void test_mssp(void **state)
{
    run(*state, client_mssp);
}

static void client_keepalive(struct fixture *f)
{
    struct tcli *idle = tc_open(f, NULL, 1);
    struct tcli *busy = tc_open(f, NULL, 1);
    /* busy gets output every 30 ms or so: no NOP; idle gets NOPs. */
    for (int i = 0; i < 20; i++) {
        char line[16];
        snprintf(line, sizeof line, "b%d", i);
        tc_line(busy, line);
        CHECK(tc_expect(busy, line));
        sleep_ms(30);
    }
    TC_WAIT(idle, strstr(idle->text, "{NOP}") != NULL);
    CHECK(strstr(idle->text, "{NOP}") != NULL);
    CHECK(strstr(busy->text, "{NOP}") == NULL);
    tc_close(idle);
    tc_close(busy);
}

static void test_keepalive(void **state)
{
    struct fixture *f = *state;
    f->lim.keepalive_ms = 400;
    run(f, client_keepalive);
}

/* ---- tests: input ----------------------------------------------------- */

static void client_line_endings(struct fixture *f)
{
    struct tcli *c = tc_open(f, NULL, 1);
    static const char in[] = "one\r\ntwo\nthree\r\0four\rfive\r\n";
    tc_raw(c, in, sizeof in - 1);
    tc_raw(c, "six\r", 4); /* CR at the end of a read... */
    CHECK(tc_expect(c, "got[3]:six\r\n"));
    tc_raw(c, "\nseven\n", 7); /* ...and its LF in the next */
    tc_raw(c, "\r\n", 2);      /* an empty line is a line */
    tc_line(c, "end");
    CHECK(tc_expect(c, "got[3]:end\r\n"));
    const char *want = "got[3]:one\r\ngot[3]:two\r\ngot[5]:three\r\ngot[4]:four\r\n"
                       "got[4]:five\r\ngot[3]:six\r\ngot[5]:seven\r\ngot[0]:\r\ngot[3]:end\r\n";
    CHECK(strstr(c->text, want) != NULL);
    CHECK(count_in(c->text, c->text_len, "got[0]:") == 1);
    tc_close(c);
}

static void test_line_endings(void **state)
{
    run(*state, client_line_endings);
}

static void client_editing(struct fixture *f)
{
    struct tcli *c = tc_open(f, NULL, 1);
    tc_raw(c, "abd\bc\r\n", 7);
    CHECK(tc_expect(c, "got[3]:abc\r\n"));
    tc_raw(c, "caf\xc3\xa9\x7f" "e\r\n", 9); /* DEL takes both bytes of the é */
    CHECK(tc_expect(c, "got[4]:cafe\r\n"));
    tc_raw(c, "\b\b\x7fx\r\n", 6); /* on an empty line: nothing */
    CHECK(tc_expect(c, "got[1]:x\r\n"));
    tc_raw(c, "a\x01" "b\tc\x1b[1m\r\n", 11); /* controls dropped, TAB a space */
    CHECK(tc_expect(c, "got[7]:ab c[1m\r\n"));
    tc_raw(c, "\xe2\x82\b!\r\n", 6); /* BS drops a half-typed character */
    CHECK(tc_expect(c, "got[1]:!\r\n"));
    tc_close(c);
}

static void test_editing(void **state)
{
    run(*state, client_editing);
}

static void client_utf8(struct fixture *f)
{
    struct tcli *c = tc_open(f, NULL, 1);
    /* Valid: passed through. */
    tc_raw(c, "\xe2\x82\xac \xf0\x9f\x98\x80\r\n", 10);
    CHECK(tc_expect(c, "got[8]:\xe2\x82\xac \xf0\x9f\x98\x80\r\n"));
    /* Bad lead (0xff goes out as IAC IAC), truncated sequences. */
    tc_raw(c, "a\xff" "b\xc3(\xe2\x82\r\n", 9);
    CHECK(tc_expect(c, "got[12]:a" FFFD "b" FFFD "(" FFFD "\r\n"));
    /* Overlong and surrogate. */
    tc_raw(c, "\xc0\xaf|\xed\xa0\x80\r\n", 8);
    CHECK(tc_expect(c, "got[16]:" FFFD FFFD "|" FFFD FFFD FFFD "\r\n"));
    tc_close(c);
}

static void test_utf8(void **state)
{
    run(*state, client_utf8);
}

static void client_long_line(struct fixture *f)
{
    struct tcli *c = tc_open(f, NULL, 1);
    tc_line(c, "0123456789abcdef"); /* exactly max_line */
    CHECK(tc_expect(c, "got[16]:0123456789abcdef\r\n"));
    tc_line(c, "0123456789abcdefg");
    CHECK(tc_expect(c, "Line too long (at most 16 bytes); ignored.\r\n"));
    char big[200]; /* dropped; 16 * max_line would close (test_giant_line) */
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tc_line(c, big);
    tc_line(c, "ok");
    CHECK(tc_expect(c, "Line too long (at most 16 bytes); ignored.\r\n"));
    CHECK(tc_expect(c, "got[2]:ok\r\n"));
    CHECK(count_in(c->text, c->text_len, "Line too long") == 2);
    CHECK(strstr(c->text, "zzzz") == NULL);
    tc_close(c);
}

static void test_long_line(void **state)
{
    struct fixture *f = *state;
    f->lim.max_line = 16;
    run(f, client_long_line);
    assert_int_equal(f->final.lines_dropped, 2);
}

static void client_rate(struct fixture *f)
{
    struct tcli *c = tc_open(f, NULL, 0);
    struct tcli *slow = tc_open(f, NULL, 0);
    /* Eight lines at once against a bucket of five. */
    tc_raw(c, "l1\r\nl2\r\nl3\r\nl4\r\nl5\r\nl6\r\nl7\r\nl8\r\n", 32);
    CHECK(tc_expect(c, "got[2]:l5\r\n"));
    TC_WAIT(c, count_in(c->text, c->text_len, "that line was ignored") >= 3);
    CHECK(count_in(c->text, c->text_len, "You are typing too fast; that line was ignored.\r\n") ==
          3);
    /* The slower client, one line per 80 ms (under 20/s), loses none. */
    for (int i = 0; i < 12; i++) {
        char line[16], want[32];
        snprintf(line, sizeof line, "s%d", i);
        snprintf(want, sizeof want, "]:%s\r\n", line);
        tc_line(slow, line);
        CHECK(tc_expect(slow, want));
        sleep_ms(80);
    }
    CHECK(count_in(slow->text, slow->text_len, "too fast") == 0);
    /* After a pause the fast one is heard again. */
    tc_line(c, "again");
    CHECK(tc_expect(c, "got[5]:again\r\n"));
    CHECK(strstr(c->text, ":l6") == NULL && strstr(c->text, ":l8") == NULL);
    tc_close(c);
    tc_close(slow);
}

static void test_rate(void **state)
{
    struct fixture *f = *state;
    f->lim.line_rate = 20;
    f->lim.line_burst = 5;
    run(f, client_rate);
    assert_int_equal(f->final.lines_dropped, 3);
    assert_int_equal(f->final.limit_closes, 0);
}

static void client_flood(struct fixture *f)
{
    struct tcli *calm = tc_open(f, NULL, 0);
    struct tcli *flood = tc_open(f, NULL, 0);
    char burst[40 * 6 + 1];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(burst + n, sizeof burst - n, "f%02d\r\n", i);
    tc_raw(flood, burst, n);
    CHECK(tc_expect(flood, "You are typing too fast; disconnecting.\r\n"));
    TC_WAIT(flood, flood->eof);
    CHECK(flood->eof);
    /* 2 lines heard, 10 dropped with a message, the 11th drop closes. */
    CHECK(count_in(flood->text, flood->text_len, "got[3]:") == 2);
    CHECK(count_in(flood->text, flood->text_len, "that line was ignored") == 10);
    /* The other client is unaffected. */
    tc_line(calm, "still here");
    CHECK(tc_expect(calm, "got[10]:still here\r\n"));
    tc_close(calm);
    tc_close(flood);
}

static void test_flood(void **state)
{
    struct fixture *f = *state;
    f->lim.line_rate = 1;
    f->lim.line_burst = 2;
    run(f, client_flood);
    assert_int_equal(f->final.limit_closes, 1);
}

static void client_subneg(struct fixture *f)
{
    /* Under max_subneg: fine. */
    struct tcli *ok = tc_open(f, NULL, 1);
    char body[20000];
    memset(body, 'a', sizeof body);
    memcpy(body, "Char.Pad \"", 10);
    memcpy(body + 50, "\"", 1);
    telnet_subnegotiation(ok->tn, GMCP, body, 51);
    tc_line(ok, "alive");
    CHECK(tc_expect(ok, "got[5]:alive"));
    /* Over it: closed. */
    struct tcli *big = tc_open(f, NULL, 1);
    telnet_subnegotiation(big->tn, GMCP, body, 300);
    tc_line(big, "alive");
    TC_WAIT(big, big->eof);
    CHECK(big->eof);
    CHECK(strstr(big->text, "got[5]:alive") == NULL);
    /* A client that claims to compress its own output: closed. */
    struct tcli *z = tc_open(f, NULL, 1);
    telnet_subnegotiation(z->tn, TELNET_TELOPT_COMPRESS2, NULL, 0);
    tc_line(z, "alive");
    TC_WAIT(z, z->eof);
    CHECK(z->eof);
    CHECK(strstr(z->text, "got[5]:alive") == NULL);
    tc_line(ok, "alive2");
    CHECK(tc_expect(ok, "got[6]:alive2"));
    tc_close(ok);
    tc_close(big);
    tc_close(z);
}

static void test_subneg(void **state)
{
    struct fixture *f = *state;
    f->lim.max_subneg = 200;
    run(f, client_subneg);
    assert_int_equal(f->final.limit_closes, 2);
}

/* Past libtelnet's own 16384-byte buffer: libtelnet gives up on the
 * subnegotiation and would read the rest as text; we close first. */
static void client_subneg_overflow(struct fixture *f)
{
    static char body[20000];
    struct tcli *ok = tc_open(f, NULL, 1);
    memset(body, 'a', sizeof body);
    memcpy(body, "Char.Pad \"", 10);
    body[12000] = '"';
    telnet_subnegotiation(ok->tn, GMCP, body, 12001);
    tc_line(ok, "alive");
    CHECK(tc_expect(ok, "got[5]:alive"));
    struct tcli *c = tc_open(f, NULL, 1);
    memcpy(body + 17000, "\r\nINJECTED\r\n", 12);
    telnet_subnegotiation(c->tn, GMCP, body, sizeof body);
    TC_WAIT(c, c->eof);
    CHECK(c->eof);
    CHECK(strstr(c->text, "INJECTED") == NULL);
    tc_close(c);
    tc_close(ok);
}

static void test_subneg_overflow(void **state)
{
    struct fixture *f = *state;
    f->lim.max_subneg = 100000;
    run(f, client_subneg_overflow);
    assert_int_equal(f->final.limit_closes, 1);
}

/* Option storms, counted on the raw bytes: refused options (IAC WILL 99),
 * which libtelnet answers without an event. Under the burst: served
 * (control); over it: closed. */
static void client_storm(struct fixture *f)
{
    char burst[3 * 60];
    for (int i = 0; i < 60; i++)
        memcpy(burst + 3 * i, "\xff\xfb\x63", 3);
    struct tcli *ok = tc_open(f, NULL, 1);
    tc_send_raw(ok, burst, 3 * 20); /* 20 (+ the handful at connect) < 50 */
    CHECK(tc_sync(ok));
    struct tcli *c = tc_open(f, NULL, 1);
    tc_send_raw(c, burst, sizeof burst); /* 60 more: over the burst of 50 */
    TC_WAIT(c, c->eof);
    CHECK(c->eof);
    tc_close(c);
    CHECK(tc_sync(ok)); /* the neighbour is untouched */
    tc_close(ok);
}

static void test_option_storm(void **state)
{
    struct fixture *f = *state;
    f->lim.cmd_rate = 1;
    f->lim.cmd_burst = 50;
    run(f, client_storm);
    assert_int_equal(f->final.limit_closes, 1);
}

/* A slow storm: within the rate, but over the negotiation total. */
static void client_negotiations(struct fixture *f)
{
    struct tcli *c = tc_open(f, NULL, 1);
    for (int i = 0; i < 10; i++) {
        tc_send_raw(c, "\xff\xfb\x63", 3);
        CHECK(tc_sync(c)); /* 10 (+ those at connect) < 40: served */
    }
    for (int i = 0; i < 40 && !c->eof; i++) {
        tc_send_raw(c, "\xff\xfb\x63", 3);
        sleep_ms(2);
        (void)tc_sync(c);
    }
    CHECK(c->eof);
    tc_close(c);
}

static void test_negotiation_total(void **state)
{
    struct fixture *f = *state;
    f->lim.max_negotiations = 40;
    run(f, client_negotiations);
    assert_int_equal(f->final.limit_closes, 1);
}

/* An unterminated subnegotiation is closed at max_subneg while it is still
 * arriving, not at libtelnet's 16 KiB; a whole one of that size is fine. */
static void client_subneg_open(struct fixture *f)
{
    static char body[1000];
    memset(body, 'a', sizeof body);
    struct tcli *ok = tc_open(f, NULL, 1);
    memcpy(body, "Char.Pad \"", 10);
    body[299] = '"';
    telnet_subnegotiation(ok->tn, GMCP, body, 300); /* exactly max_subneg */
    CHECK(tc_sync(ok));
    struct tcli *c = tc_open(f, NULL, 1);
    tc_send_raw(c, "\xff\xfa\xc9", 3); /* IAC SB GMCP, never IAC SE */
    tc_send_raw(c, body, 301);
    TC_WAIT(c, c->eof);
    CHECK(c->eof);
    tc_close(c);
    tc_close(ok);
}

static void test_subneg_unterminated(void **state)
{
    struct fixture *f = *state;
    f->lim.max_subneg = 300;
    run(f, client_subneg_open);
    assert_int_equal(f->final.limit_closes, 1);
}

/* A line going on past 16 * max_line closes; one just under is dropped. */
static void client_giant_line(struct fixture *f)
{
    static char big[16 * 16 + 1];
    struct tcli *ok = tc_open(f, NULL, 1);
    memset(big, 'z', sizeof big);
    tc_raw(ok, big, 16 * 16 - 2);
    tc_line(ok, "");
    CHECK(tc_expect(ok, "Line too long (at most 16 bytes); ignored.\r\n"));
    CHECK(tc_sync(ok));
    struct tcli *c = tc_open(f, NULL, 1);
    tc_raw(c, big, sizeof big);
    TC_WAIT(c, c->eof);
    CHECK(c->eof);
    tc_close(c);
    tc_close(ok);
}

static void test_giant_line(void **state)
{
    struct fixture *f = *state;
    f->lim.max_line = 16;
    run(f, client_giant_line);
    assert_int_equal(f->final.limit_closes, 1);
}

/* ---- tests: output and connections ------------------------------------ */

static void client_slow_consumer(struct fixture *f)
{
    struct tcli *c = tc_open(f, NULL, 1);
    tc_line(c, "big 32"); /* under the limit: all of it arrives */
    CHECK(tc_expect(c, "big-done\r\n"));
    CHECK(count_in(c->text, c->text_len, "y") >= 32 * 1024);
    tc_line(c, "big 4096"); /* 4 MiB at once: over max_output_bytes */
    TC_WAIT(c, c->eof);
    CHECK(c->eof);
    CHECK(count_in(c->text, c->text_len, "big-done") == 1);
    tc_close(c);
}

static void test_slow_consumer(void **state)
{
    struct fixture *f = *state;
    f->lim.max_output_bytes = 64 * 1024;
    run(f, client_slow_consumer);
    assert_int_equal(f->final.limit_closes, 1);
}

static void client_max_connections(struct fixture *f)
{
    struct tcli *a = tc_open(f, NULL, 1);
    struct tcli *b = tc_open(f, NULL, 1);
    CHECK(a->dos[TELNET_TELOPT_TTYPE] == 1 && b->dos[TELNET_TELOPT_TTYPE] == 1);
    struct tcli *c = tc_connect(f, NULL);
    TC_WAIT(c, c->eof);
    CHECK(c->eof);
    CHECK(strstr(c->text, "Sorry, the server is busy; please try again later.\r\n") != NULL);
    CHECK(c->dos[TELNET_TELOPT_TTYPE] == 0);
    tc_close(c);
    /* Room again once one leaves (it takes the server a moment). */
    tc_close(a);
    bool in = false;
    for (int i = 0; i < 50 && !in; i++) {
        struct tcli *d = tc_open(f, NULL, 0);
        in = d->dos[TELNET_TELOPT_TTYPE] == 1;
        if (in) {
            CHECK(tc_sync(d));
        } else {
            sleep_ms(20);
        }
        tc_close(d);
    }
    CHECK(in);
    CHECK(tc_sync(b));
    tc_close(b);
}

static void test_max_connections(void **state)
{
    struct fixture *f = *state;
    f->lim.max_connections = 2;
    run(f, client_max_connections);
    assert_true(f->final.limit_closes >= 1);
}

static void client_quit_and_stop(struct fixture *f)
{
    struct tcli *q = tc_open(f, NULL, 1);
    tc_line(q, "quit");
    CHECK(tc_expect(q, "Bye.\r\n"));
    TC_WAIT(q, q->eof);
    CHECK(q->eof);
    CHECK(strstr(q->text, "ignored") == NULL);
    struct tcli *c = tc_open(f, NULL, 1);
    struct tcli *d = tc_open(f, NULL, 1);
    request_stop(f);
    CHECK(tc_expect(c, "Server stopping.\r\n"));
    TC_WAIT(c, c->eof);
    CHECK(c->eof);
    CHECK(tc_expect(d, "Server stopping.\r\n"));
    tc_close(q);
    tc_close(c);
    tc_close(d);
}

static void test_quit_and_stop(void **state)
{
    struct fixture *f = *state;
    f->stop_msg = "Server stopping.\n";
    run(f, client_quit_and_stop);
    assert_int_equal(f->opens, 3);
}

static void test_limits_default(void **state)
{
    struct wr_telnet_limits l;
    wr_telnet_limits_default(&l);
    assert_int_equal(l.max_line, 1024);
    assert_int_equal(l.line_rate, 20);
    assert_int_equal(l.line_burst, 60);
    assert_int_equal(l.max_subneg, 8192);
    assert_int_equal(l.max_output_bytes, 1u << 20);
    assert_int_equal(l.max_connections, 10000);
    assert_int_equal(l.keepalive_ms, 60000);
    assert_int_equal(l.n_proxy_from, 0); /* PROXY headers never trusted by default */
    assert_int_equal(l.proxy_timeout_ms, 3000);
}

static void test_bad_bind(void **state)
{
    uv_loop_t loop;
    struct wr_telnet_server *srv = NULL;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(wr_telnet_server_start(&srv, &loop, "nonsense", NULL, NULL), UV_EINVAL);
    assert_null(srv);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}


/* ---- tests: PROXY protocol v1 ----------------------------------------- */

#define PROXY4 "PROXY TCP4 203.0.113.7 127.0.0.1 40123 5555\r\n"

/* The parser alone: the longest real header, the 107-byte bound, and the
 * trusted-address list. */
static void test_proxy_parse(void **state)
{
    (void)state;
    struct wr_proxy_v1 h;
    const char *why = NULL;
    static const char longest[] = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                                  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    assert_int_equal(wr_proxy_v1_parse(longest, sizeof longest - 1, &h, &why), 0);
    assert_int_equal(h.family, WR_PROXY_TCP6);
    assert_string_equal(h.src, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
    assert_int_equal(wr_proxy_v1_parse(PROXY4, strlen(PROXY4), &h, &why), 0);
    assert_string_equal(h.src, "203.0.113.7:40123");
    assert_int_equal(h.src_port, 40123);
    assert_int_equal(h.dst_port, 5555);
    char unk[WR_PROXY_V1_MAX + 1];
    memset(unk, 'x', sizeof unk);
    memcpy(unk, "PROXY UNKNOWN ", 14);
    memcpy(unk + WR_PROXY_V1_MAX - 2, "\r\n", 2);
    assert_int_equal(wr_proxy_v1_parse(unk, WR_PROXY_V1_MAX, &h, &why), 0); /* 107: fits */
    assert_int_equal(h.family, WR_PROXY_UNKNOWN);
    assert_string_equal(h.src, "");
    memcpy(unk + WR_PROXY_V1_MAX - 2, "x\r\n", 3);
    assert_int_equal(wr_proxy_v1_parse(unk, WR_PROXY_V1_MAX + 1, &h, &why), -1); /* 108 */
    assert_string_equal(why, "longer than 107 bytes");
    /* Trailing bytes after the CR LF are not part of a header. */
    assert_int_equal(wr_proxy_v1_parse(PROXY4 "x", strlen(PROXY4) + 1, &h, &why), -1);

    uint32_t a[WR_TELNET_MAX_PROXIES];
    char err[128];
    assert_int_equal(wr_proxy_parse_trusted("", a, 4, err, sizeof err), 0);
    assert_int_equal(wr_proxy_parse_trusted(" 127.0.0.1 , 10.0.0.5", a, 4, err, sizeof err), 2);
    assert_int_equal(a[0], htonl(INADDR_LOOPBACK));
    assert_int_equal(a[1], htonl(0x0a000005));
    assert_int_equal(wr_proxy_parse_trusted("127.0.0.1,", a, 4, err, sizeof err), -1);
    assert_int_equal(wr_proxy_parse_trusted("::1", a, 4, err, sizeof err), -1);
    assert_int_equal(wr_proxy_parse_trusted("localhost", a, 4, err, sizeof err), -1);
    assert_int_equal(wr_proxy_parse_trusted("1.1.1.1,2.2.2.2,3.3.3.3", a, 2, err, sizeof err),
                     -1);
}

/* Connect, send @header raw (before any telnet), then wait for the offers. */
static struct tcli *tc_proxied(struct fixture *f, const char *header, size_t len)
{
    struct tcli *c = tc_connect(f, NULL);
    tc_send_raw(c, header, len);
    TC_WAIT(c, c->raw_len >= 21);
    return c;
}

static void trust_loopback(struct fixture *f)
{
    f->lim.proxy_from[0] = htonl(INADDR_LOOPBACK);
    f->lim.n_proxy_from = 1;
}

static void client_proxy_tcp4(struct fixture *f)
{
    struct tcli *c = tc_proxied(f, PROXY4, strlen(PROXY4));
    CHECK(tc_sync(c));
    tc_line(c, "peer");
    CHECK(tc_expect(c, "peer=203.0.113.7:40123 conn=203.0.113.7:40123\r\n"));
    CHECK(tc_sync(c));
    /* Header and the first line in one write: the rest of the read is telnet. */
    static const char both[] = "PROXY TCP4 198.51.100.9 10.0.0.1 65535 0\r\npeer\r\n";
    struct tcli *d = tc_proxied(f, both, sizeof both - 1);
    CHECK(tc_expect(d, "peer=198.51.100.9:65535 "));
    /* A second header is just a line: only the first bytes can be one. */
    tc_line(d, "PROXY TCP4 192.0.2.1 192.0.2.2 1 2");
    CHECK(tc_expect(d, "got[34]:PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n"));
    tc_line(d, "peer");
    CHECK(tc_expect(d, "peer=198.51.100.9:65535 "));
    tc_close(c);
    tc_close(d);
}

static void test_proxy_tcp4(void **state)
{
    struct fixture *f = *state;
    trust_loopback(f);
    run(f, client_proxy_tcp4);
    assert_int_equal(f->final.limit_closes, 0);
}

static void client_proxy_tcp6_unknown(struct fixture *f)
{
    static const char v6[] = "PROXY TCP6 2001:DB8:0:0::1 ::1 40124 5555\r\n";
    struct tcli *c = tc_proxied(f, v6, sizeof v6 - 1);
    tc_line(c, "peer");
    CHECK(tc_expect(c, "peer=[2001:db8::1]:40124 conn=[2001:db8::1]:40124\r\n"));
    static const char unk[] = "PROXY UNKNOWN\r\n";
    struct tcli *d = tc_proxied(f, unk, sizeof unk - 1);
    tc_line(d, "peer");
    CHECK(tc_expect(d, "peer=127.0.0.1:"));
    /* After UNKNOWN anything up to the CR LF is ignored (the spec). */
    static const char unk2[] = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
    struct tcli *e = tc_proxied(f, unk2, sizeof unk2 - 1);
    tc_line(e, "peer");
    CHECK(tc_expect(e, "peer=127.0.0.1:"));
    tc_close(c);
    tc_close(d);
    tc_close(e);
}

static void test_proxy_tcp6_unknown(void **state)
{
    struct fixture *f = *state;
    trust_loopback(f);
    run(f, client_proxy_tcp6_unknown);
    assert_int_equal(f->final.limit_closes, 0);
}

static void client_proxy_split(struct fixture *f)
{
    static const char *const parts[] = {"P", "ROX", "Y TC", "P4 198.51.100.2 1", "27.0.0.1 1 2\r",
                                        "\n"};
    struct tcli *c = tc_connect(f, NULL);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        tc_send_raw(c, parts[i], strlen(parts[i]));
        sleep_ms(30); /* separate reads on the server */
    }
    TC_WAIT(c, c->raw_len >= 21);
    tc_line(c, "peer");
    CHECK(tc_expect(c, "peer=198.51.100.2:1 "));
    tc_close(c);
}

static void test_proxy_split(void **state)
{
    struct fixture *f = *state;
    trust_loopback(f);
    run(f, client_proxy_split);
    assert_int_equal(f->final.limit_closes, 0);
}

static const char *const bad_headers[] = {
    "PROXY TCP5 203.0.113.7 127.0.0.1 40123 5555\r\n",   /* bad token */
    "PROXY tcp4 203.0.113.7 127.0.0.1 40123 5555\r\n",   /* case */
    "PROXY TCP4 203.0.113.7 127.0.0.1 40123 5555\n",     /* LF without CR */
    "PROXY TCP4 203.0.113.7 127.0.0.1 40123 5555\rX\n",  /* CR inside */
    "PROXY TCP4 203.0.113.256 127.0.0.1 40123 5555\r\n", /* bad address */
    "PROXY TCP4 203.0.113 127.0.0.1 40123 5555\r\n",     /* short address */
    "PROXY TCP4 203.0.113.07 127.0.0.1 40123 5555\r\n",  /* leading zero */
    "PROXY TCP4 ::1 ::1 40123 5555\r\n",                 /* v6 under TCP4 */
    "PROXY TCP6 203.0.113.7 127.0.0.1 40123 5555\r\n",   /* v4 under TCP6 */
    "PROXY TCP4 203.0.113.7 127.0.0.1 65536 5555\r\n",   /* port > 65535 */
    "PROXY TCP4 203.0.113.7 127.0.0.1 40123 99999\r\n",  /* port > 65535 */
    "PROXY TCP4 203.0.113.7 127.0.0.1 040123 5555\r\n",  /* port: leading zero */
    "PROXY TCP4 203.0.113.7 127.0.0.1 -1 5555\r\n",      /* port: sign */
    "PROXY TCP4  203.0.113.7 127.0.0.1 40123 5555\r\n",  /* two spaces */
    "PROXY TCP4 203.0.113.7 127.0.0.1 40123 5555 \r\n",  /* trailing space */
    "PROXY TCP4 203.0.113.7 127.0.0.1 40123\r\n",        /* missing port */
    "PROXY \r\n",                                        /* nothing */
    "PROXY UNKNOWNX\r\n",                                /* not UNKNOWN */
};

static void client_proxy_bad(struct fixture *f)
{
    struct tcli *ok = tc_open(f, NULL, 1); /* positive control, throughout */
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        struct tcli *c = tc_proxied(f, bad_headers[i], strlen(bad_headers[i]));
        tc_line(c, "peer");
        TC_WAIT(c, c->eof);
        if (!c->eof || strstr(c->text, "peer=") != NULL || strstr(c->text, "got[") != NULL)
            client_fail(f, __LINE__, "header %zu (%s) not refused", i, bad_headers[i]);
        tc_close(c);
        CHECK(tc_sync(ok));
    }
    /* Too long: 107 bytes and no LF yet. */
    char big[160];
    memset(big, '1', sizeof big);
    memcpy(big, "PROXY UNKNOWN ", 14);
    struct tcli *c = tc_proxied(f, big, sizeof big);
    TC_WAIT(c, c->eof);
    CHECK(c->eof);
    tc_close(c);
    /* No line end at all: closed at the deadline. */
    static const char stalled[] = "PROXY TCP4 203.0.113.7 127.0.0.1 40123 5555";
    double t0 = now_s();
    c = tc_proxied(f, stalled, sizeof stalled - 1);
    TC_WAIT(c, c->eof);
    CHECK(c->eof);
    CHECK(now_s() - t0 >= 0.25);
    tc_close(c);
    tc_line(ok, "peer");
    CHECK(tc_expect(ok, "peer=127.0.0.1:"));
    tc_close(ok);
}

static void test_proxy_bad(void **state)
{
    struct fixture *f = *state;
    trust_loopback(f);
    f->lim.proxy_timeout_ms = 300;
    run(f, client_proxy_bad);
    assert_int_equal(f->final.limit_closes, sizeof bad_headers / sizeof bad_headers[0] + 2);
}

/* From an address not in proxy_from the same bytes as in test_proxy_tcp4
 * are a line of input and the peer stays the socket's. */
static void client_proxy_untrusted(struct fixture *f)
{
    struct tcli *c = tc_proxied(f, PROXY4, strlen(PROXY4));
    CHECK(tc_expect(c, "got[43]:PROXY TCP4 203.0.113.7 127.0.0.1 40123 5555\r\n"));
    tc_line(c, "peer");
    CHECK(tc_expect(c, "peer=127.0.0.1:"));
    tc_close(c);
}

static void test_proxy_untrusted(void **state)
{
    struct fixture *f = *state;
    f->lim.proxy_from[0] = htonl(0x0a090909); /* 10.9.9.9, not us */
    f->lim.n_proxy_from = 1;
    run(f, client_proxy_untrusted);
    assert_int_equal(f->final.limit_closes, 0);
}

/* Trusted, but plain telnet first: negotiation bytes, or text that starts
 * like "PROXY" and then differs. */
static void client_proxy_plain(struct fixture *f)
{
    struct tcli *c = tc_open(f, NULL, 1);
    tc_line(c, "peer");
    CHECK(tc_expect(c, "peer=127.0.0.1:"));
    struct tcli *d = tc_connect(f, NULL);
    tc_send_raw(d, "PROX", 4);
    sleep_ms(30);
    tc_send_raw(d, "IMA\r\n", 5);
    CHECK(tc_expect(d, "got[7]:PROXIMA\r\n"));
    tc_line(d, "peer");
    CHECK(tc_expect(d, "peer=127.0.0.1:"));
    struct tcli *e = tc_connect(f, NULL);
    tc_send_raw(e, "PROXY\r\n", 7);
    CHECK(tc_expect(e, "got[5]:PROXY\r\n"));
    /* A prefix left hanging is typed text once the deadline passes. */
    struct tcli *g = tc_connect(f, NULL);
    tc_send_raw(g, "PRO", 3);
    sleep_ms(1500);
    tc_send_raw(g, "BE\r\n", 4);
    CHECK(tc_expect(g, "got[5]:PROBE\r\n"));
    tc_close(c);
    tc_close(d);
    tc_close(e);
    tc_close(g);
}

static void test_proxy_plain(void **state)
{
    struct fixture *f = *state;
    trust_loopback(f);
    f->lim.proxy_timeout_ms = 300;
    run(f, client_proxy_plain);
    assert_int_equal(f->final.limit_closes, 0);
}

/* ---- main ------------------------------------------------------------- */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    wr_telnet_limits_default(&f->lim);
    *state = f;
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits_default),
        cmocka_unit_test(test_bad_bind),
        cmocka_unit_test_setup_teardown(test_offers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_option_storm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negotiation_total, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subneg_unterminated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_giant_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_naws, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttype, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gmcp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mccp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prompt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hide, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mssp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_endings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_editing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subneg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subneg_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_consumer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quit_and_stop, setup, teardown),
        cmocka_unit_test(test_proxy_parse),
        cmocka_unit_test_setup_teardown(test_proxy_tcp4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_tcp6_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_untrusted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_plain, setup, teardown),
    };
    return cmocka_run_group_tests_name("telnet", tests, NULL, NULL);
}
