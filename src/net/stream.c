/* The connection machinery shared by http.c and telnet.c; see
 * stream_internal.h for what it owns and for the safe points.
 *
 * A stream's life, in the terms of its flags (checked by
 * wr__stream_assert()):
 *
 *   open       !closing. Reading unless the protocol paused it; output is
 *              queued and flushed by the flusher.
 *   closing    closing && !shut_started. No more input reaches the
 *              protocol. Unless `abort`, the queue is flushed; once it is
 *              empty and no write is in flight, uv_shutdown (shut_started,
 *              the closing clock restarts) and reading resumes to see the
 *              peer's FIN. With `abort` the queue was dropped and the handle
 *              is closed at the next safe point.
 *   lingering  shut_started. Bytes read are dropped; the handle is closed
 *              when the shutdown is done and the peer's FIN came, or after
 *              WR_STREAM_LINGER_MS (the sweeper).
 *   closed     handle_closed: uv_close was called; nothing more happens
 *              until the close callback (ops->closed), which frees.
 *
 *   open -> closing -> lingering -> closed;  any -> closed (abort, stop)
 *
 * Output: queuing marks the stream dirty; the flusher runs once per loop
 * iteration before the loop polls, tries uv_try_write and hands the rest
 * to one uv_write, whose callback releases the references. */
#include "net/stream_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/alloc.h"

static void flusher_cb(uv_prepare_t *h);
static void server_handle_closed(struct wr_stream_server *ss);

/* ---- invariants ------------------------------------------------------- */

void wr__stream_assert(const struct wr_stream *s)
{
    (void)s;
    assert(!s->shut_done || s->shut_started);
    assert(!s->shut_started || s->closing);
    assert(!s->shut_started || s->abort || (!s->writing && s->q_len == 0));
    assert(s->q_head + s->q_len <= s->q_cap || s->q_len == 0);
    assert(!s->writing || (s->w_items <= s->q_len && s->w_bytes <= s->q_bytes));
}

/* ---- dirty list ------------------------------------------------------- */

void wr__stream_mark_dirty(struct wr_stream *s)
{
    struct wr_stream_server *ss = s->srv;
    if (s->dirty || s->handle_closed || ss->stopping)
        return;
    s->dirty = true;
    s->dirty_next = NULL;
    s->dirty_prev = ss->dirty_tail;
    if (ss->dirty_tail != NULL)
        ss->dirty_tail->dirty_next = s;
    else
        ss->dirty_head = s;
    ss->dirty_tail = s;
    if (!ss->flusher_active) {
        uv_prepare_start(&ss->flusher, flusher_cb);
        ss->flusher_active = true;
    }
}

static void stream_unmark_dirty(struct wr_stream *s)
{
    struct wr_stream_server *ss = s->srv;
    if (!s->dirty)
        return;
    if (s->dirty_prev != NULL)
        s->dirty_prev->dirty_next = s->dirty_next;
    else
        ss->dirty_head = s->dirty_next;
    if (s->dirty_next != NULL)
        s->dirty_next->dirty_prev = s->dirty_prev;
    else
        ss->dirty_tail = s->dirty_prev;
    s->dirty = false;
    s->dirty_prev = s->dirty_next = NULL;
}

/* ---- output queue ----------------------------------------------------- */

/* Append @buf to the queue (takes the reference); false if it was
 * dropped instead. */
static bool stream_push(struct wr_stream *s, struct wr_sbuf *buf)
{
    if (s->handle_closed || s->abort || s->shut_started || buf->len == 0) {
        wr_sbuf_unref(buf);
        return false;
    }
    if (s->q_head + s->q_len == s->q_cap) {
        if (s->q_head > 0 && s->q_head >= s->q_cap / 2) {
            memmove(s->q, s->q + s->q_head, s->q_len * sizeof *s->q);
            s->q_head = 0;
        } else {
            s->q_cap = s->q_cap ? s->q_cap * 2 : 8;
            s->q = wr_realloc(s->q, s->q_cap * sizeof *s->q);
        }
    }
    s->q[s->q_head + s->q_len++] = (struct wr_outq_item){buf, 0};
    s->q_bytes += buf->len;
    return true;
}

void wr__stream_queue(struct wr_stream *s, struct wr_sbuf *buf)
{
    if (stream_push(s, buf))
        wr__stream_mark_dirty(s);
}

size_t wr__stream_unsent(const struct wr_stream *s)
{
    const struct wr_stream_ops *ops = s->srv->ops;
    return s->q_bytes + (ops->staged != NULL ? ops->staged(s) : 0);
}

/* Drop @n written bytes from the head of the queue. */
static void stream_consume(struct wr_stream *s, size_t n)
{
    s->q_bytes -= n;
    while (n > 0) {
        struct wr_outq_item *it = &s->q[s->q_head];
        size_t left = it->buf->len - it->off;
        if (n < left) {
            it->off += n;
            return;
        }
        n -= left;
        wr_sbuf_unref(it->buf);
        s->q_head++;
        s->q_len--;
    }
    if (s->q_len == 0)
        s->q_head = 0;
}

/* Release queued output, except what a uv_write in flight still points
 * at (libuv may write from it until the write callback, which releases it;
 * after uv_close, the close callback releases everything). */
static void stream_drop_queue(struct wr_stream *s)
{
    size_t keep = s->writing ? s->w_items : 0;
    for (size_t i = keep; i < s->q_len; i++)
        wr_sbuf_unref(s->q[s->q_head + i].buf);
    s->q_len = keep;
    s->q_bytes = s->writing ? s->w_bytes : 0;
    if (s->q_len == 0)
        s->q_head = 0;
}

void wr__stream_release(struct wr_stream *s)
{
    s->writing = false; /* any write callback has run (UV_ECANCELED) */
    stream_drop_queue(s);
    free(s->q);
    s->q = NULL;
    s->q_cap = 0;
}

static size_t stream_fill_bufs(struct wr_stream *s, uv_buf_t *bufs, size_t max, size_t *bytes)
{
    size_t n = s->q_len < max ? s->q_len : max;
    *bytes = 0;
    for (size_t i = 0; i < n; i++) {
        struct wr_outq_item *it = &s->q[s->q_head + i];
        bufs[i] = uv_buf_init((char *)it->buf->data + it->off, (unsigned)(it->buf->len - it->off));
        *bytes += it->buf->len - it->off;
    }
    return n;
}

static void write_cb(uv_write_t *req, int status)
{
    struct wr_stream *s = WR_CONTAINER_OF(req, struct wr_stream, wreq);
    s->writing = false;
    if (s->handle_closed)
        return; /* the close callback releases the whole queue */
    stream_consume(s, s->w_bytes);
    s->w_items = s->w_bytes = 0;
    if (status < 0) {
        wr_debug("%s %s: write failed: %s", s->srv->ops->name, s->peer, uv_strerror(status));
        wr__stream_begin_close(s, true);
        return;
    }
    if (wr__stream_unsent(s) > 0 || s->closing)
        wr__stream_mark_dirty(s);
}

void wr__stream_flush(struct wr_stream *s, bool try_only)
{
    struct wr_stream_server *ss = s->srv;
    uv_buf_t bufs[WR_STREAM_WRITE_BUFS];
    size_t bytes;
    if (s->writing || s->handle_closed)
        return;
    if (ss->ops->collect != NULL) {
        struct wr_sbuf *staged = ss->ops->collect(s);
        if (staged != NULL)
            (void)stream_push(s, staged);
    }
    while (s->q_len > 0) {
        size_t n = stream_fill_bufs(s, bufs, WR_STREAM_WRITE_BUFS, &bytes);
        int rv = uv_try_write((uv_stream_t *)&s->tcp, bufs, (unsigned)n);
        if (rv == UV_EAGAIN || rv == UV_ENOSYS)
            break;
        if (rv < 0) {
            wr_debug("%s %s: write failed: %s", ss->ops->name, s->peer, uv_strerror(rv));
            wr__stream_begin_close(s, true);
            return;
        }
        *ss->bytes_out += (uint64_t)rv;
        stream_consume(s, (size_t)rv);
        if ((size_t)rv < bytes)
            break;
    }
    if (s->q_len == 0 || try_only)
        return;
    size_t n = stream_fill_bufs(s, bufs, WR_STREAM_WRITE_BUFS, &bytes);
    int rv = uv_write(&s->wreq, (uv_stream_t *)&s->tcp, bufs, (unsigned)n, write_cb);
    if (rv != 0) {
        wr_debug("%s %s: uv_write failed: %s", ss->ops->name, s->peer, uv_strerror(rv));
        wr__stream_begin_close(s, true);
        return;
    }
    s->writing = true;
    s->w_items = n;
    s->w_bytes = bytes;
    *ss->bytes_out += bytes;
}

/* ---- reading ---------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct wr_stream *s = (struct wr_stream *)h;
    (void)suggested;
    buf->base = s->srv->rbuf;
    buf->len = s->srv->rbuf_len;
}

void wr__stream_read_cb(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
    struct wr_stream *s = (struct wr_stream *)h;
    const struct wr_stream_ops *ops = s->srv->ops;
    if (nread == 0)
        return;
    if (nread < 0) {
        wr__stream_set_reading(s, false);
        if (nread == UV_EOF) {
            /* Half-close: output already queued still goes out. */
            s->peer_eof = true;
            if (!s->closing)
                wr_debug("%s %s: peer closed", ops->name, s->peer);
            wr__stream_begin_close(s, false);
        } else {
            wr_debug("%s %s: read failed: %s", ops->name, s->peer, uv_strerror((int)nread));
            wr__stream_begin_close(s, true);
        }
        return;
    }
    *s->srv->bytes_in += (uint64_t)nread;
    if (!s->closing)
        ops->on_read(s, buf->base, (size_t)nread);
    /* else lingering: drop */
}

void wr__stream_set_reading(struct wr_stream *s, bool on)
{
    if (s->handle_closed || s->reading == on)
        return;
    if (on) {
        int rv = uv_read_start((uv_stream_t *)&s->tcp, alloc_cb, wr__stream_read_cb);
        if (rv != 0) {
            wr_debug("%s %s: uv_read_start failed: %s", s->srv->ops->name, s->peer,
                     uv_strerror(rv));
            wr__stream_begin_close(s, true);
            return;
        }
    } else {
        uv_read_stop((uv_stream_t *)&s->tcp);
    }
    s->reading = on;
}

/* ---- closing ---------------------------------------------------------- */

void wr__stream_begin_close(struct wr_stream *s, bool abort)
{
    if (s->handle_closed)
        return;
    if (!s->closing) {
        s->closing = true;
        s->since = uv_now(s->srv->loop);
        s->srv->ops->set_closing(s);
    }
    if (abort) {
        s->abort = true;
        stream_drop_queue(s);
        if (s->srv->ops->collect != NULL) /* staged output goes too */
            wr_sbuf_unref(s->srv->ops->collect(s));
    }
    wr__stream_mark_dirty(s);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct wr_stream *s = WR_CONTAINER_OF(req, struct wr_stream, sreq);
    if (s->handle_closed)
        return;
    s->shut_done = true;
    if (status < 0)
        s->abort = true;
    wr__stream_mark_dirty(s);
}

static void close_cb(uv_handle_t *h)
{
    struct wr_stream *s = (struct wr_stream *)h;
    struct wr_stream_server *ss = s->srv;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        ss->conns = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    ss->nconns--;
    if (s->ip_counted) {
        uint32_t n = 0;
        if (wr_u64map_get(&ss->per_ip, s->ip_key, &n) && n > 1)
            wr_u64map_put(&ss->per_ip, s->ip_key, n - 1);
        else
            wr_u64map_del(&ss->per_ip, s->ip_key);
        s->ip_counted = false;
    }
    ss->ops->closed(s); /* may free s */
    server_handle_closed(ss);
}

void wr__stream_close_handle(struct wr_stream *s)
{
    if (s->handle_closed)
        return;
    stream_unmark_dirty(s);
    s->handle_closed = true;
    s->reading = false;
    uv_close((uv_handle_t *)&s->tcp, close_cb);
}

/* ---- flusher ---------------------------------------------------------- */

/* The flusher's work for one dirty stream. */
static void stream_service(struct wr_stream *s)
{
    const struct wr_stream_ops *ops = s->srv->ops;
    if (s->handle_closed)
        return;
    if (ops->service != NULL) {
        ops->service(s);
        if (s->handle_closed)
            return;
    }
    if (!s->closing || !s->abort)
        wr__stream_flush(s, false);
    if (!s->closing)
        return;
    ops->notify_close(s);
    if (s->handle_closed)
        return;
    if (s->abort || (s->shut_done && s->peer_eof)) {
        wr__stream_close_handle(s);
        return;
    }
    if (!s->writing && wr__stream_unsent(s) == 0 && !s->shut_started) {
        int rv = uv_shutdown(&s->sreq, (uv_stream_t *)&s->tcp, shutdown_cb);
        if (rv != 0) {
            wr__stream_close_handle(s);
            return;
        }
        s->shut_started = true;
        s->since = uv_now(s->srv->loop);
        if (!s->peer_eof)
            wr__stream_set_reading(s, true);
    }
}

static void flusher_cb(uv_prepare_t *h)
{
    struct wr_stream_server *ss = WR_CONTAINER_OF(h, struct wr_stream_server, flusher);
    struct wr_stream *s;
    while (!ss->stopping && (s = ss->dirty_head) != NULL) {
        stream_unmark_dirty(s);
        stream_service(s);
        if (!s->handle_closed) {
            wr__stream_assert(s);
            if (ss->ops->check != NULL)
                ss->ops->check(s);
        }
    }
    if (!ss->stopping && ss->dirty_head == NULL && ss->flusher_active) {
        uv_prepare_stop(&ss->flusher);
        ss->flusher_active = false;
    }
}

/* ---- sweeping --------------------------------------------------------- */

static void sweep_cb(uv_timer_t *t)
{
    struct wr_stream_server *ss = WR_CONTAINER_OF(t, struct wr_stream_server, sweeper);
    uint64_t now = uv_now(ss->loop);
    struct wr_stream *s, *next;
    for (s = ss->conns; s != NULL; s = next) {
        next = s->next;
        if (s->handle_closed)
            continue;
        if (!s->closing) {
            ss->ops->sweep(s, now);
        } else if (now - s->since >=
                   (s->shut_started ? WR_STREAM_LINGER_MS : ss->flush_timeout_ms)) {
            wr_debug("%s %s: closing timed out", ss->ops->name, s->peer);
            wr__stream_close_handle(s);
        }
    }
}

/* ---- accepting -------------------------------------------------------- */

/* The per_ip key of an address: an IPv4 address as itself (tagged so it
 * is never 0), an IPv6 address by its /64 prefix (one host usually owns a
 * whole /64, so counting single addresses would be no limit at all). */
static uint64_t ip_key_of(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        return (1ull << 32) | ntohl(sin->sin_addr.s_addr);
    }
    if (sa->ss_family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        uint64_t k = 0;
        for (int i = 0; i < 8; i++)
            k = k << 8 | b[i];
        return k | (1ull << 63) | 1; /* not 0, not an IPv4 key */
    }
    return 0;
}

/* Name the peer in s->peer and key it in s->ip_key. */
static void stream_peer_name(struct wr_stream *s)
{
    struct sockaddr_storage sa;
    int len = sizeof sa;
    snprintf(s->peer, sizeof s->peer, "?");
    if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&sa, &len) != 0)
        return;
    s->ip_key = ip_key_of(&sa);
    if (sa.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&sa;
        char ip[INET_ADDRSTRLEN];
        uv_ip4_name(sin, ip, sizeof ip);
        snprintf(s->peer, sizeof s->peer, "%s:%u", ip, (unsigned)ntohs(sin->sin_port));
    } else if (sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&sa;
        char ip[INET6_ADDRSTRLEN];
        uv_ip6_name(sin6, ip, sizeof ip);
        snprintf(s->peer, sizeof s->peer, "[%s]:%u", ip, (unsigned)ntohs(sin6->sin6_port));
    }
}

/* At most one line a second per server for a repeated event; true if this
 * one may log, with *@suppressed the number skipped since the last. */
static bool stream_log_ok(struct wr_stream_server *ss, uint64_t *at, uint64_t *count,
                          uint64_t *suppressed)
{
    uint64_t now = uv_now(ss->loop);
    if (*at != 0 && now - *at < 1000) {
        (*count)++;
        return false;
    }
    *suppressed = *count;
    *count = 0;
    *at = now ? now : 1;
    return true;
}

void wr__stream_refuse(struct wr_stream *s, const char *why)
{
    struct wr_stream_server *ss = s->srv;
    uint64_t suppressed;
    const char *msg = ss->ops->busy_msg;
    if (msg != NULL) {
        uv_buf_t b = uv_buf_init((char *)msg, (unsigned)strlen(msg));
        (void)uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
    }
    (*ss->limit_closes)++;
    if (stream_log_ok(ss, &ss->refuse_logged_at, &ss->refuse_suppressed, &suppressed))
        wr_warn("%s %s: refused: %s (%llu more refused since the last line)", ss->ops->name,
                s->peer, why, (unsigned long long)suppressed);
    wr__stream_close_handle(s);
}

static bool ip_exempt(const struct wr_stream_server *ss, uint64_t key)
{
    for (unsigned i = 0; i < ss->n_exempt && i < WR_NET_MAX_EXEMPT; i++)
        if (key == ((1ull << 32) | ntohl(ss->exempt[i])))
            return true;
    return false;
}

/* The limits every listener shares, checked before the protocol sees the
 * socket. Returns false after refusing it. */
static bool stream_admit(struct wr_stream *s)
{
    struct wr_stream_server *ss = s->srv;
    char why[160];
    uv_os_fd_t fd;
    if (ss->fd_limit > 0 && uv_fileno((uv_handle_t *)&s->tcp, &fd) == 0 &&
        (uint64_t)fd + ss->fd_reserve >= ss->fd_limit) {
        /* Descriptors are handed out lowest first: every one below fd is in
         * use, so fewer than fd_reserve are left. */
        snprintf(why, sizeof why,
                 "file descriptors nearly exhausted (fd %d of the limit %llu; %u kept in "
                 "reserve); open connections are kept",
                 (int)fd, (unsigned long long)ss->fd_limit, ss->fd_reserve);
        wr__stream_refuse(s, why);
        return false;
    }
    if (ss->max_per_ip == 0 || s->ip_key == 0 || ip_exempt(ss, s->ip_key))
        return true;
    uint32_t n = 0;
    (void)wr_u64map_get(&ss->per_ip, s->ip_key, &n);
    if (n >= ss->max_per_ip) {
        snprintf(why, sizeof why, "too many connections from this address (max %u)",
                 ss->max_per_ip);
        wr__stream_refuse(s, why);
        return false;
    }
    wr_u64map_put(&ss->per_ip, s->ip_key, n + 1);
    s->ip_counted = true;
    return true;
}

/* A failed accept, said once a second, not once per connection. About
 * EMFILE and ENFILE libuv (1.44, uv__server_io) has already done what can
 * be done: it closes its reserve descriptor, accepts and closes every
 * pending connection, and reopens the reserve (uv__emfile_trick), so the
 * listener does not spin and those clients see a close; it calls us only
 * when that trick could not run. So the node's own answer to running out
 * is fd_reserve (stream_admit), which refuses with a message and a log
 * line while descriptors are still left. */
static void stream_accept_failed(struct wr_stream_server *ss, int status)
{
    uint64_t suppressed;
    bool fds = status == UV_EMFILE || status == UV_ENFILE;
    if (!stream_log_ok(ss, &ss->accept_err_logged_at, &ss->accept_err_suppressed, &suppressed))
        return;
    if (fds)
        wr_warn("%s: accept failed: %s: refusing new connections until some close; open "
                "ones are kept (%llu more since the last line)",
                ss->ops->name, uv_strerror(status), (unsigned long long)suppressed);
    else
        wr_log(ss->ops->accept_err_level, "%s: accept failed: %s (%llu more since the last line)",
               ss->ops->name, uv_strerror(status), (unsigned long long)suppressed);
}

static void on_connection(uv_stream_t *l, int status)
{
    struct wr_stream_server *ss = WR_CONTAINER_OF(l, struct wr_stream_server, listener);
    if (status < 0) {
        stream_accept_failed(ss, status);
        return;
    }
    if (ss->stopping)
        return;
    struct wr_stream *s = ss->ops->conn_new(ss);
    s->srv = ss;
    uv_tcp_init(ss->loop, &s->tcp);
    ss->handles++;
    ss->nconns++;
    s->next = ss->conns;
    if (ss->conns != NULL)
        ss->conns->prev = s;
    ss->conns = s;
    int rv = uv_accept(l, (uv_stream_t *)&s->tcp);
    if (rv != 0) {
        snprintf(s->peer, sizeof s->peer, "?");
        stream_accept_failed(ss, rv);
        wr__stream_close_handle(s);
        return;
    }
    stream_peer_name(s);
    if (stream_admit(s))
        ss->ops->accepted(s);
}

/* ---- server ----------------------------------------------------------- */

static void server_handle_closed(struct wr_stream_server *ss)
{
    assert(ss->handles > 0);
    if (--ss->handles == 0 && ss->stopping) {
        void (*cb)(void *) = ss->stop_cb;
        void *arg = ss->stop_arg;
        wr_u64map_free(&ss->per_ip);
        ss->ops->server_free(ss);
        if (cb != NULL)
            cb(arg);
    }
}

static void server_handle_close_cb(uv_handle_t *h)
{
    server_handle_closed(h->data);
}

int wr__stream_server_start(struct wr_stream_server *ss, uv_loop_t *loop,
                            const struct sockaddr_in *sa, const char *bind, uint64_t sweep_ms)
{
    const char *name = ss->ops->name;
    ss->loop = loop;
    wr_u64map_init(&ss->per_ip);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        ss->fd_limit = (uint64_t)rl.rlim_cur;
    int rv = uv_tcp_init(loop, &ss->listener);
    if (rv != 0) {
        wr_error("%s: uv_tcp_init failed: %s", name, uv_strerror(rv));
        ss->ops->server_free(ss);
        return rv;
    }
    ss->listener.data = ss;
    ss->handles++;
    rv = uv_tcp_bind(&ss->listener, (const struct sockaddr *)sa, 0);
    if (rv == 0)
        rv = uv_listen((uv_stream_t *)&ss->listener, 511, on_connection);
    if (rv != 0) {
        wr_error("%s: listen(%s) failed: %s", name, bind, uv_strerror(rv));
        /* The listener's close callback frees the server. */
        ss->stopping = true;
        uv_close((uv_handle_t *)&ss->listener, server_handle_close_cb);
        return rv;
    }
    uv_prepare_init(loop, &ss->flusher);
    ss->flusher.data = ss;
    ss->handles++;
    uv_timer_init(loop, &ss->sweeper);
    ss->sweeper.data = ss;
    ss->handles++;
    uv_timer_start(&ss->sweeper, sweep_cb, sweep_ms, sweep_ms);
    return 0;
}

void wr__stream_server_stop(struct wr_stream_server *ss, void (*cb)(void *arg), void *arg)
{
    ss->stop_cb = cb;
    ss->stop_arg = arg;
    /* Last words are written if the socket takes them right now; nobody
     * waits for slow peers at shutdown. */
    for (struct wr_stream *s = ss->conns; s != NULL; s = s->next)
        if (!s->handle_closed && !s->abort)
            wr__stream_flush(s, true);
    ss->stopping = true;
    while (ss->dirty_head != NULL)
        stream_unmark_dirty(ss->dirty_head);
    struct wr_stream *s, *next;
    for (s = ss->conns; s != NULL; s = next) {
        next = s->next;
        wr__stream_close_handle(s);
    }
    uv_close((uv_handle_t *)&ss->listener, server_handle_close_cb);
    uv_close((uv_handle_t *)&ss->flusher, server_handle_close_cb);
    uv_close((uv_handle_t *)&ss->sweeper, server_handle_close_cb);
}
