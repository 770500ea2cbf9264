/* Unit tests for the authenticated cluster transport (src/cluster/transport.c
 * and transport_handshake.c). Everything runs in one uv loop per test on
 * 127.0.0.1 with free ports; the raft_uv_transport vtable is driven directly
 * (init/listen/connect/close), with a fake accept callback standing in for
 * libraft. Teardown closes every transport and stream and fails the test
 * unless uv_loop_close returns 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cluster/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_NODES 3
#define MAX_STREAMS 16

/* A byte sink reading one stream until EOF or error. */
struct sink {
    uint8_t buf[16384];
    size_t len;
    bool eof;
    int err;
};

struct node {
    bool used, open;
    struct raft_uv_transport t;
    uint64_t id;
    char addr[32];
    int closed; /* close callbacks seen */
    int close_seq;
    /* fake libraft accept_cb */
    int accepts;
    raft_id acc_id;
    char acc_addr[64];
    uv_stream_t *acc_stream;
    /* forward channel */
    int fwd_accepts;
    uint64_t fwd_id;
    uv_tcp_t *fwd_tcp;
};

struct conn {
    struct raft_uv_connect req;
    int calls;
    int status;
    int seq;
    uv_stream_t *stream;
    bool write_on_connect;
};

struct dial {
    struct wr_dial req;
    int calls;
    int status;
    int seq;
    uv_tcp_t *tcp;
};

struct ctx {
    uv_loop_t loop;
    uv_timer_t tick; /* keeps UV_RUN_ONCE from blocking for long */
    struct node nodes[MAX_NODES];
    /* streams to close at teardown: raft ones with raft_free, others free */
    uv_handle_t *streams[MAX_STREAMS];
    bool stream_raft[MAX_STREAMS];
    int n_streams;
    int seq;
};

static struct ctx *C; /* the running test's context, for callbacks */

static uint8_t pattern[5000];

#define RUN_UNTIL(cond, ms)                                                                        \
    do {                                                                                           \
        uint64_t start_ = uv_now(&C->loop);                                                        \
        while (!(cond)) {                                                                          \
            if (uv_now(&C->loop) - start_ > (ms))                                                  \
                fail_msg("timed out after %d ms waiting for %s", (int)(ms), #cond);                \
            uv_run(&C->loop, UV_RUN_ONCE);                                                         \
        }                                                                                          \
    } while (0)

static void run_for(unsigned ms) {
    uint64_t start = uv_now(&C->loop);
    while (uv_now(&C->loop) - start < ms)
        uv_run(&C->loop, UV_RUN_ONCE);
}

static void tick_cb(uv_timer_t *t) {
    (void)t;
}

static int setup(void **state) {
    C = calloc(1, sizeof *C);
    assert_non_null(C);
    assert_int_equal(uv_loop_init(&C->loop), 0);
    uv_timer_init(&C->loop, &C->tick);
    uv_timer_start(&C->tick, tick_cb, 5, 5);
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (uint8_t)(i * 31 + 7);
    *state = C;
    return 0;
}

static void raft_free_cb(uv_handle_t *h) {
    raft_free(h);
}

static void free_cb(uv_handle_t *h) {
    free(h);
}

static void keep_stream(uv_handle_t *h, bool raft_heap) {
    assert_true(C->n_streams < MAX_STREAMS);
    C->streams[C->n_streams] = h;
    C->stream_raft[C->n_streams] = raft_heap;
    C->n_streams++;
}

static void node_close_cb(struct raft_uv_transport *t) {
    struct node *n = t->data;
    n->closed++;
    n->close_seq = ++C->seq;
}

static void node_close(struct node *n) {
    n->t.close(&n->t, node_close_cb);
    RUN_UNTIL(n->closed == 1, 5000);
    wr_transport_close(&n->t);
    n->open = false;
}

static int teardown(void **state) {
    (void)state;
    for (int i = 0; i < MAX_NODES; i++)
        if (C->nodes[i].used && C->nodes[i].open)
            node_close(&C->nodes[i]);
    for (int i = 0; i < C->n_streams; i++)
        if (!uv_is_closing(C->streams[i]))
            uv_close(C->streams[i], C->stream_raft[i] ? raft_free_cb : free_cb);
    uv_close((uv_handle_t *)&C->tick, NULL);
    uv_run(&C->loop, UV_RUN_DEFAULT);
    int rv = uv_loop_close(&C->loop);
    free(C);
    C = NULL;
    assert_int_equal(rv, 0); /* no handle left behind */
    return 0;
}

/* A port nobody listens on right now (small race, fine on loopback). */
static unsigned free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void fake_accept_cb(struct raft_uv_transport *t, raft_id id, const char *address,
                           uv_stream_t *stream) {
    struct node *n = t->data;
    n->accepts++;
    n->acc_id = id;
    snprintf(n->acc_addr, sizeof n->acc_addr, "%s", address);
    n->acc_stream = stream;
    keep_stream((uv_handle_t *)stream, true);
}

static void fwd_accept_cb(void *data, uint64_t peer_id, uv_tcp_t *tcp) {
    struct node *n = data;
    n->fwd_accepts++;
    n->fwd_id = peer_id;
    n->fwd_tcp = tcp;
    keep_stream((uv_handle_t *)tcp, false);
}

static struct node *node_start(int slot, uint64_t id, const char *secret) {
    struct node *n = &C->nodes[slot];
    memset(n, 0, sizeof *n);
    n->used = true;
    n->id = id;
    snprintf(n->addr, sizeof n->addr, "127.0.0.1:%u", free_port());
    uint8_t key[WR_CLUSTER_KEY_BYTES];
    wr_transport_derive_key(secret, strlen(secret), key);
    assert_int_equal(wr_transport_init(&n->t, &C->loop, key), 0);
    n->t.data = n;
    n->open = true;
    assert_int_equal(n->t.init(&n->t, id, n->addr), 0);
    int rv = n->t.listen(&n->t, fake_accept_cb);
    if (rv != 0)
        fail_msg("listen %s: %d %s", n->addr, rv, n->t.errmsg);
    return n;
}

/* ---- stream helpers ---- */

static void sink_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    struct sink *s = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)s->buf + s->len, (unsigned)(sizeof s->buf - s->len));
}

static void sink_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
    struct sink *s = st->data;
    (void)buf;
    if (nread > 0) {
        s->len += (size_t)nread;
    } else if (nread == UV_EOF) {
        s->eof = true;
        uv_read_stop(st);
    } else if (nread < 0) {
        s->err = (int)nread;
        uv_read_stop(st);
    }
}

static void sink_start(uv_stream_t *st, struct sink *s) {
    memset(s, 0, sizeof *s);
    st->data = s;
    assert_int_equal(uv_read_start(st, sink_alloc_cb, sink_read_cb), 0);
}

struct wreq {
    uv_write_t w;
    uint8_t data[];
};

static void wreq_cb(uv_write_t *w, int status) {
    (void)status;
    free(w);
}

static void write_bytes(uv_stream_t *st, const void *p, size_t len) {
    struct wreq *r = malloc(sizeof *r + len);
    assert_non_null(r);
    memcpy(r->data, p, len);
    uv_buf_t b = uv_buf_init((char *)r->data, (unsigned)len);
    assert_int_equal(uv_write(&r->w, st, &b, 1, wreq_cb), 0);
}

/* ---- callbacks for connect and dial ---- */

static void conn_cb(struct raft_uv_connect *req, uv_stream_t *stream, int status) {
    struct conn *c = req->data;
    c->calls++;
    c->status = status;
    c->stream = stream;
    c->seq = ++C->seq;
    if (status == 0) {
        assert_non_null(stream);
        keep_stream((uv_handle_t *)stream, true);
        /* Raft writes right away; these bytes may reach the server before
         * it has handed the stream over: none may be lost. */
        if (c->write_on_connect)
            write_bytes(stream, pattern, sizeof pattern);
    } else {
        assert_null(stream);
    }
}

static void dial_cb(struct wr_dial *req, uv_tcp_t *tcp, int status) {
    struct dial *d = req->data;
    d->calls++;
    d->status = status;
    d->tcp = tcp;
    d->seq = ++C->seq;
    if (status == 0) {
        assert_non_null(tcp);
        keep_stream((uv_handle_t *)tcp, false);
    } else {
        assert_null(tcp);
    }
}

static int do_connect(struct node *from, struct conn *c, raft_id id, const char *addr) {
    memset(c, 0, sizeof *c);
    c->req.data = c;
    return from->t.connect(&from->t, &c->req, id, addr, conn_cb);
}

static int do_dial(struct node *from, struct dial *d, uint64_t id, const char *addr) {
    memset(d, 0, sizeof *d);
    d->req.data = d;
    return wr_transport_dial(&from->t, &d->req, id, addr, dial_cb);
}

/* A raw test-side TCP client (no Warren handshake). */
struct raw {
    uv_tcp_t tcp;
    uv_connect_t creq;
    int connected;
    struct sink sink;
    const void *send;
    size_t send_len;
};

static void raw_connect_cb(uv_connect_t *req, int status) {
    struct raw *r = req->data;
    assert_int_equal(status, 0);
    r->connected = 1;
    sink_start((uv_stream_t *)&r->tcp, &r->sink);
    if (r->send_len > 0)
        write_bytes((uv_stream_t *)&r->tcp, r->send, r->send_len);
}

static void raw_connect(struct raw *r, const char *addr, const void *send, size_t len) {
    memset(r, 0, sizeof *r);
    r->send = send;
    r->send_len = len;
    char host[32];
    unsigned port;
    assert_int_equal(sscanf(addr, "%31[^:]:%u", host, &port), 2);
    struct sockaddr_in sa;
    assert_int_equal(uv_ip4_addr(host, (int)port, &sa), 0);
    uv_tcp_init(&C->loop, &r->tcp);
    r->creq.data = r;
    assert_int_equal(uv_tcp_connect(&r->creq, &r->tcp, (struct sockaddr *)&sa, raw_connect_cb), 0);
}

/* ---- capturing stderr to check log lines ---- */

struct capture {
    int saved;
    FILE *f;
};

static void capture_start(struct capture *cap) {
    fflush(stderr);
    cap->f = tmpfile();
    assert_non_null(cap->f);
    cap->saved = dup(2);
    dup2(fileno(cap->f), 2);
}

static int capture_count(struct capture *cap, const char *needle) {
    fflush(stderr);
    dup2(cap->saved, 2);
    close(cap->saved);
    rewind(cap->f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, cap->f) != NULL) {
        fputs(line, stderr); /* keep it visible */
        if (strstr(line, needle) != NULL)
            n++;
    }
    return n;
}

static int capture_count_again(struct capture *cap, const char *needle) {
    rewind(cap->f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, cap->f) != NULL)
        if (strstr(line, needle) != NULL)
            n++;
    return n;
}

static void capture_end(struct capture *cap) {
    fclose(cap->f);
}

/* ---- tests ---- */

/* (1) libraft-style connect A -> B, and bytes after the handshake arrive intact. */
static void test_raft_connect_bytes_intact(void **state) {
    (void)state;
    struct node *a = node_start(0, 1, "secret");
    struct node *b = node_start(1, 2, "secret");
    struct conn c;
    assert_int_equal(do_connect(a, &c, 2, b->addr), 0);
    c.write_on_connect = true;
    RUN_UNTIL(c.calls == 1 && b->accepts == 1, 3000);
    assert_int_equal(c.status, 0);
    assert_int_equal(b->acc_id, 1);
    assert_string_equal(b->acc_addr, a->addr);
    assert_int_equal(wr_transport_stats(&b->t)->accepted, 1);
    assert_int_equal(wr_transport_stats(&a->t)->dial_ok, 1);
    assert_int_equal(wr_transport_stats(&b->t)->rejected, 0);

    struct sink s;
    sink_start(b->acc_stream, &s);
    RUN_UNTIL(s.len >= sizeof pattern, 3000);

    /* The other direction works too (raft does not need it, but a byte of
     * the handshake left unread would show up here). */
    struct sink back;
    sink_start(c.stream, &back);
    write_bytes(b->acc_stream, "0123456789", 10);
    RUN_UNTIL(back.len >= 10, 3000);
    assert_int_equal(back.len, 10);
    assert_memory_equal(back.buf, "0123456789", 10);

    /* Close the sender: B then sees EOF, after exactly the bytes written. */
    uv_close((uv_handle_t *)c.stream, raft_free_cb);
    RUN_UNTIL(s.eof || s.err, 3000);
    assert_int_equal(s.err, 0);
    assert_int_equal(s.len, sizeof pattern);
    assert_memory_equal(s.buf, pattern, sizeof pattern);
    assert_int_equal(c.calls, 1);
}

/* (2) forward channel: dial succeeds, the fwd callback gets the peer id and
 * a working (migrated, malloc'd) stream in both directions. */
static void test_fwd_dial(void **state) {
    (void)state;
    struct node *a = node_start(0, 1, "secret");
    struct node *b = node_start(1, 2, "secret");
    wr_transport_set_fwd_accept(&b->t, fwd_accept_cb, b);
    struct dial d;
    assert_int_equal(do_dial(a, &d, 2, b->addr), 0);
    RUN_UNTIL(d.calls == 1 && b->fwd_accepts == 1, 3000);
    assert_int_equal(d.status, 0);
    assert_int_equal(b->fwd_id, 1);
    assert_int_equal(b->accepts, 0);

    struct sink at_b, at_a;
    sink_start((uv_stream_t *)b->fwd_tcp, &at_b);
    sink_start((uv_stream_t *)d.tcp, &at_a);
    write_bytes((uv_stream_t *)d.tcp, pattern, sizeof pattern);
    write_bytes((uv_stream_t *)b->fwd_tcp, "pong", 4);
    RUN_UNTIL(at_b.len >= sizeof pattern && at_a.len >= 4, 3000);
    assert_int_equal(at_b.len, sizeof pattern);
    assert_memory_equal(at_b.buf, pattern, sizeof pattern);
    assert_int_equal(at_a.len, 4);
    assert_memory_equal(at_a.buf, "pong", 4);
    assert_int_equal(wr_transport_stats(&b->t)->accepted, 1);
    assert_int_equal(wr_transport_stats(&a->t)->dial_ok, 1);
}

/* A forward dial to a node with no forward taker is refused (status 3). */
static void test_fwd_without_taker(void **state) {
    (void)state;
    struct node *a = node_start(0, 1, "secret");
    struct node *b = node_start(1, 2, "secret");
    struct dial d;
    assert_int_equal(do_dial(a, &d, 2, b->addr), 0);
    RUN_UNTIL(d.calls == 1, 3000);
    assert_int_equal(d.status, UV_EACCES);
    assert_int_equal(wr_transport_stats(&b->t)->rejected, 1);
    assert_int_equal(wr_transport_stats(&a->t)->dial_rejected, 1);
}

/* (3) different keys: both raft connect and dial fail; counters move; the
 * log lines are actionable and rate-limited. */
static void test_wrong_key(void **state) {
    (void)state;
    struct node *a = node_start(0, 1, "secret-one");
    struct node *b = node_start(1, 2, "secret-two");
    wr_transport_set_fwd_accept(&b->t, fwd_accept_cb, b);
    struct capture cap;
    capture_start(&cap);

    struct conn c;
    assert_int_equal(do_connect(a, &c, 2, b->addr), 0);
    RUN_UNTIL(c.calls == 1, 3000);
    assert_int_equal(c.status, RAFT_NOCONNECTION);
    assert_int_equal(wr_transport_stats(&b->t)->rejected, 1);
    assert_int_equal(wr_transport_stats(&a->t)->dial_rejected, 1);

    struct dial d;
    assert_int_equal(do_dial(a, &d, 2, b->addr), 0);
    RUN_UNTIL(d.calls == 1, 3000);
    assert_int_equal(d.status, UV_EACCES);
    assert_int_equal(wr_transport_stats(&b->t)->rejected, 2);
    assert_int_equal(wr_transport_stats(&a->t)->dial_rejected, 2);

    /* A third attempt, then make sure no callback fires twice. */
    assert_int_equal(do_connect(a, &c, 2, b->addr), 0);
    RUN_UNTIL(c.calls == 1, 3000);
    assert_int_equal(c.status, RAFT_NOCONNECTION);
    run_for(50);
    assert_int_equal(c.calls, 1);
    assert_int_equal(d.calls, 1);
    assert_int_equal(b->accepts, 0);
    assert_int_equal(b->fwd_accepts, 0);
    assert_int_equal(wr_transport_stats(&b->t)->rejected, 3);
    assert_int_equal(wr_transport_stats(&b->t)->accepted, 0);

    int srv = capture_count(&cap, "rejected cluster connection from 127.0.0.1:");
    int srv_mac = capture_count_again(&cap, "bad MAC (wrong cluster secret?)");
    int cli = capture_count_again(&cap, "node 2 at 127.0.0.1:");
    int cli_mac =
        capture_count_again(&cap, "refused our handshake: bad MAC (our cluster secret differs");
    capture_end(&cap);
    /* Three rejections within 5 s: one line per side. */
    assert_int_equal(srv, 1);
    assert_int_equal(srv_mac, 1);
    assert_int_equal(cli, 1);
    assert_int_equal(cli_mac, 1);
}

/* (4) a raw libraft v0.15 preamble is closed at once, never reaching accept_cb. */
static void test_raw_raft_preamble(void **state) {
    (void)state;
    struct node *b = node_start(1, 2, "secret");
    /* u64 protocol 1 | u64 server id | u64 address length | address padded to 8 */
    uint8_t msg[128];
    memset(msg, 0, sizeof msg);
    const char *addr = "127.0.0.1:9999"; /* 14 + NUL -> 16 */
    size_t off = 0;
    uint64_t fields[3] = {1, 2, 16};
    for (int f = 0; f < 3; f++)
        for (int i = 0; i < 8; i++)
            msg[off++] = (uint8_t)(fields[f] >> (8 * i));
    memcpy(msg + off, addr, strlen(addr));
    off += 16;
    /* followed by a forged message header and some bytes */
    for (size_t i = off; i < sizeof msg; i++)
        msg[i] = (uint8_t)i;

    struct raw r;
    uint64_t start = uv_now(&C->loop);
    raw_connect(&r, b->addr, msg, sizeof msg);
    RUN_UNTIL(r.sink.eof || r.sink.err, 2000);
    /* "At once": well before the 3 s handshake deadline. */
    assert_true(uv_now(&C->loop) - start < 1000);
    assert_true(r.sink.len <= 40); /* at most our challenge came back */
    assert_int_equal(b->accepts, 0);
    assert_int_equal(wr_transport_stats(&b->t)->rejected, 1);
    uv_close((uv_handle_t *)&r.tcp, NULL);
    run_for(20);
}

/* (5) an idle socket gets the challenge and is closed after the deadline. */
static void test_idle_deadline(void **state) {
    (void)state;
    struct node *b = node_start(1, 2, "secret");
    wr__transport_set_deadline(&b->t, 300);
    struct raw r;
    uint64_t start = uv_now(&C->loop);
    raw_connect(&r, b->addr, NULL, 0);
    RUN_UNTIL(r.sink.eof || r.sink.err, 3000);
    uint64_t elapsed = uv_now(&C->loop) - start;
    assert_true(elapsed >= 290);
    assert_true(elapsed < 1500);
    assert_int_equal(r.sink.len, 40);
    assert_memory_equal(r.sink.buf, "WRNAUTH1", 8);
    assert_int_equal(wr_transport_stats(&b->t)->rejected, 1);
    assert_int_equal(b->accepts, 0);
    uv_close((uv_handle_t *)&r.tcp, NULL);
    run_for(20);
}

/* (6) the right key but the wrong target id is refused. */
static void test_wrong_target(void **state) {
    (void)state;
    struct node *a = node_start(0, 1, "secret");
    struct node *b = node_start(1, 2, "secret");
    struct conn c;
    assert_int_equal(do_connect(a, &c, 3, b->addr), 0);
    RUN_UNTIL(c.calls == 1, 3000);
    assert_int_equal(c.status, RAFT_NOCONNECTION);
    assert_int_equal(b->accepts, 0);
    assert_int_equal(wr_transport_stats(&b->t)->rejected, 1);
    assert_int_equal(wr_transport_stats(&a->t)->dial_rejected, 1);
    assert_int_equal(wr_transport_stats(&a->t)->dial_ok, 0);
}

/* A test-side listener that accepts and never says anything. */
struct hole {
    uv_tcp_t listener;
    uv_tcp_t conns[4];
    int accepted;
    char addr[32];
};

static void hole_cb(uv_stream_t *l, int status) {
    struct hole *h = l->data;
    assert_int_equal(status, 0);
    assert_true(h->accepted < 4);
    uv_tcp_t *t = &h->conns[h->accepted];
    uv_tcp_init(&C->loop, t);
    assert_int_equal(uv_accept(l, (uv_stream_t *)t), 0);
    h->accepted++;
}

static void hole_start(struct hole *h) {
    memset(h, 0, sizeof *h);
    unsigned port = free_port();
    snprintf(h->addr, sizeof h->addr, "127.0.0.1:%u", port);
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", (int)port, &sa);
    uv_tcp_init(&C->loop, &h->listener);
    h->listener.data = h;
    assert_int_equal(uv_tcp_bind(&h->listener, (struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&h->listener, 8, hole_cb), 0);
}

static void hole_stop(struct hole *h) {
    uv_close((uv_handle_t *)&h->listener, NULL);
    for (int i = 0; i < h->accepted; i++)
        uv_close((uv_handle_t *)&h->conns[i], NULL);
    run_for(20);
}

/* (7) close with connects in flight: RAFT_CANCELED / UV_ECANCELED exactly
 * once, before the close callback, and nothing is left in the loop. */
static void test_close_cancels_inflight(void **state) {
    (void)state;
    struct hole h;
    hole_start(&h);
    struct node *a = node_start(0, 1, "secret");
    struct node *b = node_start(1, 2, "secret");

    /* Mid-handshake: the peer accepted but never sends its challenge. */
    struct conn c1;
    struct dial d1;
    assert_int_equal(do_connect(a, &c1, 9, h.addr), 0);
    assert_int_equal(do_dial(a, &d1, 9, h.addr), 0);
    RUN_UNTIL(h.accepted == 2, 3000);
    /* Still at the TCP connect stage: nothing has run yet. */
    struct conn c2;
    assert_int_equal(do_connect(a, &c2, 2, b->addr), 0);
    assert_int_equal(c1.calls + c2.calls + d1.calls, 0);

    a->t.close(&a->t, node_close_cb);
    assert_int_equal(a->closed, 0); /* never from inside close() */
    RUN_UNTIL(a->closed == 1, 3000);
    assert_int_equal(c1.calls, 1);
    assert_int_equal(c1.status, RAFT_CANCELED);
    assert_int_equal(c2.calls, 1);
    assert_int_equal(c2.status, RAFT_CANCELED);
    assert_int_equal(d1.calls, 1);
    assert_int_equal(d1.status, UV_ECANCELED);
    assert_true(c1.seq < a->close_seq);
    assert_true(c2.seq < a->close_seq);
    assert_true(d1.seq < a->close_seq);
    /* A closed transport refuses new work without calling back. */
    struct dial d2;
    assert_int_equal(do_dial(a, &d2, 2, b->addr), UV_ECANCELED);
    run_for(50);
    assert_int_equal(c1.calls + c2.calls + d1.calls + d2.calls, 3);
    assert_int_equal(a->closed, 1);
    assert_int_equal(b->accepts, 0);
    wr_transport_close(&a->t);
    a->open = false;

    /* Closing B while a raw client sits in its handshake also completes. */
    struct raw r;
    raw_connect(&r, b->addr, NULL, 0);
    RUN_UNTIL(r.sink.len == 40, 3000);
    node_close(b);
    RUN_UNTIL(r.sink.eof || r.sink.err, 3000);
    uv_close((uv_handle_t *)&r.tcp, NULL);
    hole_stop(&h);
}

/* The server's close also waits for a raft connection it is accepting. */
static void test_close_both_sides_mid_handshake(void **state) {
    (void)state;
    struct node *a = node_start(0, 1, "secret");
    struct node *b = node_start(1, 2, "secret");
    struct conn c;
    assert_int_equal(do_connect(a, &c, 2, b->addr), 0);
    /* Let the TCP connection and part of the handshake happen. */
    uv_run(&C->loop, UV_RUN_NOWAIT);
    uv_run(&C->loop, UV_RUN_NOWAIT);
    b->t.close(&b->t, node_close_cb);
    a->t.close(&a->t, node_close_cb);
    RUN_UNTIL(a->closed == 1 && b->closed == 1, 3000);
    assert_int_equal(c.calls, 1);
    assert_true(c.status == RAFT_CANCELED || c.status == 0);
    wr_transport_close(&a->t);
    wr_transport_close(&b->t);
    a->open = b->open = false;
}

/* Bind failures are reported with the address and the errno text. */
static void test_listen_errors(void **state) {
    (void)state;
    struct node *a = node_start(0, 1, "secret");
    struct node *b = &C->nodes[1];
    memset(b, 0, sizeof *b);
    b->used = true;
    uint8_t key[WR_CLUSTER_KEY_BYTES];
    wr_transport_derive_key("secret", 6, key);
    assert_int_equal(wr_transport_init(&b->t, &C->loop, key), 0);
    b->t.data = b;
    b->open = true;
    assert_int_equal(b->t.init(&b->t, 2, a->addr), 0);
    assert_int_equal(b->t.listen(&b->t, fake_accept_cb), RAFT_IOERR);
    char want[96];
    snprintf(want, sizeof want, "bind %s: address already in use", a->addr);
    assert_string_equal(b->t.errmsg, want);

    /* Bad addresses fail synchronously and never call back. */
    struct conn c;
    assert_int_equal(do_connect(a, &c, 2, "localhost:7001"), RAFT_NOCONNECTION);
    struct dial d;
    assert_int_equal(do_dial(a, &d, 2, "nonsense"), UV_EINVAL);
    run_for(30);
    assert_int_equal(c.calls + d.calls, 0);
}

static void test_derive_key(void **state) {
    (void)state;
    uint8_t k1[WR_CLUSTER_KEY_BYTES], k2[WR_CLUSTER_KEY_BYTES], k3[WR_CLUSTER_KEY_BYTES];
    wr_transport_derive_key("abc", 3, k1);
    wr_transport_derive_key("abc", 3, k2);
    wr_transport_derive_key("abd", 3, k3);
    assert_memory_equal(k1, k2, sizeof k1);
    assert_memory_not_equal(k1, k3, sizeof k1);
}

/* ---- hello parser ---- */

static size_t build_hello(uint8_t *out, uint8_t chan, uint64_t cid, uint64_t tid, const char *addr,
                          uint16_t addr_len_field) {
    size_t alen = strlen(addr);
    size_t o = 0;
    memcpy(out, "WRNAUTH1", 8);
    o = 8;
    out[o++] = chan;
    for (int i = 0; i < 8; i++)
        out[o++] = (uint8_t)(cid >> (8 * i));
    for (int i = 0; i < 8; i++)
        out[o++] = (uint8_t)(tid >> (8 * i));
    out[o++] = (uint8_t)addr_len_field;
    out[o++] = (uint8_t)(addr_len_field >> 8);
    for (int i = 0; i < 32; i++)
        out[o++] = (uint8_t)(0xA0 + i); /* Nc */
    memcpy(out + o, addr, alen);
    o += alen;
    for (int i = 0; i < 32; i++)
        out[o++] = (uint8_t)(0x50 + i); /* MAC */
    return o;
}

static void test_hello_parser(void **state) {
    (void)state;
    uint8_t buf[600];
    struct wr__hello h;
    const char *addr = "127.0.0.1:7001";
    size_t n = build_hello(buf, WR_CHAN_RAFT, 0x0102030405060708ULL, 42, addr, 14);
    assert_int_equal(n, WR__HELLO_FIXED + 14 + 32);

    assert_int_equal(wr__transport_parse_hello(buf, n, &h), WR__HELLO_OK);
    assert_int_equal(h.len, n);
    assert_int_equal(h.chan, WR_CHAN_RAFT);
    assert_true(h.client_id == 0x0102030405060708ULL);
    assert_int_equal(h.target_id, 42);
    assert_int_equal(h.addr_len, 14);
    assert_memory_equal(h.addr, addr, 14);
    assert_ptr_equal(h.nc, buf + 27);
    assert_int_equal(h.nc[0], 0xA0);
    assert_ptr_equal(h.mac, buf + n - 32);
    assert_int_equal(h.mac[0], 0x50);

    /* Every truncation asks for more, and for the right amount. */
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(wr__transport_parse_hello(buf, k, &h), WR__HELLO_SHORT);
        assert_int_equal(h.len, k < WR__HELLO_FIXED ? (size_t)WR__HELLO_FIXED : n);
    }
    /* Trailing bytes (what follows the handshake) are not part of it. */
    memset(buf + n, 0xEE, 20);
    assert_int_equal(wr__transport_parse_hello(buf, n + 20, &h), WR__HELLO_OK);
    assert_int_equal(h.len, n);

    /* Bad magic is seen on any prefix. */
    buf[0] = 'X';
    assert_int_equal(wr__transport_parse_hello(buf, 1, &h), WR__HELLO_BAD_MAGIC);
    assert_int_equal(wr__transport_parse_hello(buf, n, &h), WR__HELLO_BAD_MAGIC);
    buf[0] = 'W';
    buf[7] = '2';
    assert_int_equal(wr__transport_parse_hello(buf, 8, &h), WR__HELLO_BAD_MAGIC);
    assert_int_equal(wr__transport_parse_hello(buf, 7, &h), WR__HELLO_SHORT);
    buf[7] = '1';
    /* A stock libraft preamble: u64 protocol version 1 first. */
    uint8_t raw[40] = {1, 0, 0, 0, 0, 0, 0, 0, 2};
    assert_int_equal(wr__transport_parse_hello(raw, 1, &h), WR__HELLO_BAD_MAGIC);
    assert_int_equal(wr__transport_parse_hello(raw, sizeof raw, &h), WR__HELLO_BAD_MAGIC);

    /* Bad channels, as soon as the byte is there. */
    const uint8_t bad_chans[] = {0, 4, 255};
    for (size_t i = 0; i < sizeof bad_chans; i++) {
        buf[8] = bad_chans[i];
        assert_int_equal(wr__transport_parse_hello(buf, 9, &h), WR__HELLO_BAD_CHAN);
        assert_int_equal(wr__transport_parse_hello(buf, n, &h), WR__HELLO_BAD_CHAN);
    }
    buf[8] = WR_CHAN_FWD;
    assert_int_equal(wr__transport_parse_hello(buf, n, &h), WR__HELLO_OK);
    assert_int_equal(h.chan, WR_CHAN_FWD);

    /* Oversized / empty address lengths, judged from the fixed part alone. */
    const uint16_t bad_lens[] = {0, 256, 1000, 0xffff};
    for (size_t i = 0; i < sizeof bad_lens / sizeof bad_lens[0]; i++) {
        n = build_hello(buf, WR_CHAN_RAFT, 1, 2, addr, bad_lens[i]);
        assert_int_equal(wr__transport_parse_hello(buf, WR__HELLO_FIXED, &h), WR__HELLO_BAD_ADDR);
        assert_int_equal(wr__transport_parse_hello(buf, sizeof buf, &h), WR__HELLO_BAD_ADDR);
    }
    /* The largest address is fine. */
    char big[WR__HELLO_ADDR_MAX + 1];
    memset(big, 'a', WR__HELLO_ADDR_MAX);
    big[WR__HELLO_ADDR_MAX] = '\0';
    n = build_hello(buf, WR_CHAN_RAFT, 1, 2, big, WR__HELLO_ADDR_MAX);
    assert_int_equal(wr__transport_parse_hello(buf, n, &h), WR__HELLO_OK);
    assert_int_equal(h.len, WR__HELLO_FIXED + WR__HELLO_ADDR_MAX + 32);
    assert_int_equal(wr__transport_parse_hello(buf, n - 1, &h), WR__HELLO_SHORT);

    /* Non-printable bytes (NUL, space, 0x7f) in the address are refused. */
    const uint8_t bad_bytes[] = {0, ' ', 0x7f, 0x80, '\n'};
    for (size_t i = 0; i < sizeof bad_bytes; i++) {
        n = build_hello(buf, WR_CHAN_RAFT, 1, 2, addr, 14);
        buf[WR__HELLO_FIXED + 3] = bad_bytes[i];
        assert_int_equal(wr__transport_parse_hello(buf, n, &h), WR__HELLO_BAD_ADDR);
    }
}

int main(void) {
    /* A closed peer must not kill the test with SIGPIPE (notes §4.1). */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_parser),
        cmocka_unit_test(test_derive_key),
        cmocka_unit_test_setup_teardown(test_raft_connect_bytes_intact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fwd_dial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fwd_without_taker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_raft_preamble, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_cancels_inflight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_both_sides_mid_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
