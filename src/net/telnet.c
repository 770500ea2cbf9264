/* The telnet listener for MUD clients: the server, its connections, PROXY
 * headers, input line assembly and limits, output and closing. Option
 * negotiation is in telnet_opts.c; see telnet.h for what both offer and
 * telnet_internal.h for the structs and the seams between the two files.
 *
 * libtelnet (Debian libtelnet-dev 0.21) does the telnet protocol: IAC
 * escaping both ways, RFC 1143 option negotiation (driven by the table
 * wr__telnet_telopts in telnet_opts.c), subnegotiation buffering, TTYPE and
 * MSSP decoding, and MCCP2 (telnet_begin_compress2 deflates everything sent
 * afterwards). One telnet_t per connection; its event handler (tn_event) is
 * where this file starts: SEND events append to the connection's output
 * buffer, DATA events feed line assembly, warnings and errors close;
 * negotiation, subnegotiation, TTYPE and compression events go to
 * wr__telnet_opts_event (telnet_opts.c), which updates the negotiated state.
 *
 * The socket, the output queue and its flusher, closing (shutdown, linger,
 * uv_close), the sweep timer and accepting are the struct wr_stream
 * machinery shared with http.c (stream.c); this file plugs into it through
 * wr__telnet_stream_ops below.
 *
 * Connection states (struct wr_telnet.state), checked by
 * assert_conn_state():
 *
 *   OPEN     on_open was called; the socket is reading; every byte read
 *            goes through telnet_recv. Output may be queued.
 *   CLOSING  s.closing (the two agree, except that wr_telnet_server_stop
 *            sets CLOSING just before closing the handle). No more input is
 *            processed and no more output is accepted (sends are dropped).
 *            Unless `s.abort`, queued output is flushed, then uv_shutdown,
 *            then bytes are read and dropped until the peer's FIN or
 *            WR_STREAM_LINGER_MS, then uv_close; a flush that takes longer
 *            than WR_TELNET_FLUSH_MS is cut short. With `s.abort` (limits,
 *            errors) the handle is closed at the next safe point. on_close
 *            runs at the first safe point after entering CLOSING, or from
 *            the close callback, whichever comes first.
 *
 *   OPEN -> CLOSING -> (uv_close) -> freed in the close callback
 *
 * Safe points (stream_internal.h): a connection is uv_close'd only from the
 * flusher, the sweep timer, the accept callback (refused sockets) and
 * wr_telnet_server_stop, never from inside libtelnet's or a handler's call
 * chain on that connection; everything else marks it CLOSING and dirty. So
 * on_close never runs inside wr_telnet_send or any other call of ours, and
 * telnet_free never runs inside telnet_recv. The struct is freed only in
 * the uv_close callback (telnet_closed).
 *
 * Output: libtelnet's SEND events append to `out` and mark the connection
 * dirty; the flusher runs once per loop iteration before the loop polls,
 * moves `out` into the stream's queue as one sbuf (telnet_collect), tries
 * uv_try_write and hands the rest to one uv_write. Unsent bytes (staged and
 * queued) over max_output_bytes close the connection (slow consumer). An
 * idle connection holds no line buffer and no staged output; its stream
 * keeps the small array of queue slots once it has written.
 *
 * Input limits and what libtelnet does about them:
 *   - a subnegotiation is buffered by libtelnet up to 16384 bytes (its
 *     fixed _buffer_sizes); beyond that it reports a TELNET_EV_WARNING (not
 *     ERROR) "subnegotiation buffer size limit reached" and, worse, goes
 *     back to the data state, so the rest of the subnegotiation would be
 *     read as typed text. 0.21 does not fill in error.errcode, so the
 *     warning is recognised by its function and message; the connection is
 *     closed and nothing after it is used. Smaller subnegotiations over
 *     max_subneg are closed on when they complete (tn_subneg in
 *     telnet_opts.c). So the effective limit is min(max_subneg, 16384).
 *   - libtelnet starts inflating the *client's* input when the client sends
 *     IAC SB COMPRESS2 IAC SE (it does not check roles). Nothing in MCCP2
 *     lets a client compress, so that subnegotiation closes the connection
 *     (tn_subneg);
 *     what libtelnet still inflates from the rest of that one read (at most
 *     WR_TELNET_READ_BUF bytes in) is ignored.
 *   - libtelnet's deflate stream for MCCP2 uses zlib's defaults (about
 *     256 KiB per compressing connection); it offers no knob for that.
 *   - TTYPE replies are taken only in answer to our SEND (three at most);
 *     Core.Supports keeps at most WR_TELNET_MAX_SUPPORTS entries.
 *
 * Lines: CR LF, LF, CR NUL and a lone CR each end one line (the byte after a
 * CR is looked at across reads). BS and DEL delete the last UTF-8 character;
 * TAB becomes a space; other C0 controls are dropped; invalid UTF-8 (bad
 * leads, bad or missing continuation bytes, overlongs, surrogates, above
 * U+10FFFF) becomes U+FFFD. A line longer than max_line is dropped to its
 * end with a message. Each line takes a token (line_rate per second, at
 * most line_burst); without one it is dropped with a message, and over
 * 5 * line_burst such drops before the bucket is full again close the
 * connection.
 *
 * PROXY protocol v1 (net/proxy.h parses the line). Behind nginx's stream
 * proxy every socket's peer is nginx; with `proxy_protocol on;` nginx sends
 * "PROXY TCP4 <client> <us> <cport> <uport>\r\n" first. Only connections
 * whose socket peer is in limits.proxy_from are looked at (`proxy` starts at
 * WAIT; everyone else is NONE from the start, so a PROXY line from them is
 * typed text). The offers and on_open happen at accept as usual: nginx
 * sends the header at once, before any client byte, and a direct client on
 * a trusted address (loopback tests, an admin's telnet) that waits for the
 * server to speak first must not hang. Nothing reads the peer before the
 * first input line, which comes after the header in the byte stream.
 *   WAIT  bytes matching "PROXY " so far are held back in proxy_buf; the
 *         first byte that does not match ends it (NONE): the held bytes and
 *         the rest go to libtelnet, so plain telnet from a trusted address
 *         works. Six matching bytes move to LINE.
 *   LINE  bytes are buffered up to and including the LF; then the whole
 *         line is parsed strictly (wr_proxy_v1_parse). TCP4/TCP6 set
 *         s.peer to the client's "ip:port"; UNKNOWN keeps the proxy's. A
 *         bad line, or WR_PROXY_V1_MAX bytes without an LF, closes the
 *         connection (wr__telnet_limit: a log line and limit_closes).
 *   Deadline: proxy_timeout_ms after accept (the sweeper) a LINE closes the
 *         connection, a WAIT ends (held bytes go to libtelnet): a header
 *         is only ever the first bytes, read at once. */
#include "net/telnet.h"
#include "net/telnet_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/alloc.h"
#include "common/log.h"

#define WR_TELNET_FULL_MSG "Sorry, the server is busy; please try again later.\r\n"

static const uint8_t replacement[3] = {0xef, 0xbf, 0xbd}; /* U+FFFD */

static void conn_begin_close(struct wr_telnet *t, bool abort);

void wr_telnet_limits_default(struct wr_telnet_limits *l)
{
    l->max_line = 1024;
    l->line_rate = 20;
    l->line_burst = 60;
    l->max_subneg = 8192;
    l->max_output_bytes = 1u << 20;
    l->max_connections = 10000;
    l->keepalive_ms = 60000;
    l->n_proxy_from = 0;
    l->proxy_timeout_ms = 3000;
    l->cmd_rate = 50;
    l->cmd_burst = 200;
    l->max_negotiations = 500;
    l->max_per_ip = 64;
    l->n_exempt = 0;
    l->fd_reserve = 32;
}

/* ---- invariants ------------------------------------------------------- */

static void assert_conn_state(const struct wr_telnet *t)
{
    (void)t;
    switch (t->state) {
    case WR_TELNET_OPEN:
        assert(!t->s.closing);
        assert(t->opened && !t->notified && t->tn != NULL && !t->s.abort && !t->s.shut_started);
        assert(!t->discarding || t->line.len == 0);
        assert(t->u8_len + t->u8_need <= 4);
        assert(t->proxy_len <= WR_PROXY_V1_MAX);
        assert(t->proxy != WR_TELNET_PROXY_NONE || t->proxy_len == 0);
        assert(t->proxy != WR_TELNET_PROXY_WAIT || t->proxy_len < WR_PROXY_V1_PREFIX_LEN);
        break;
    case WR_TELNET_CLOSING:
        assert(!t->s.shut_started || t->s.abort || t->out.len == 0);
        break;
    }
    assert(t->n_supports <= WR_TELNET_MAX_SUPPORTS);
    wr__stream_assert(&t->s);
}

/* ---- output ----------------------------------------------------------- */

static size_t conn_unsent(const struct wr_telnet *t)
{
    return wr__stream_unsent(&t->s);
}

/* A breached limit: log, count, close without flushing. */
void wr__telnet_limit(struct wr_telnet *t, const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    wr_warn("telnet %s: closed: %s", t->s.peer, why);
    wr__telnet_srv(t)->stats.limit_closes++;
    conn_begin_close(t, true);
}

/* libtelnet's SEND event: bytes for the socket (already escaped, and
 * compressed once MCCP2 runs). Once CLOSING nothing more is queued: our last
 * words are queued before the state changes, and libtelnet may still answer
 * negotiation it parses in the rest of the read. */
static void out_append(struct wr_telnet *t, const char *p, size_t n)
{
    if (n == 0 || t->state != WR_TELNET_OPEN || t->s.handle_closed)
        return;
    wr_put_bytes(&t->out, p, n);
    t->last_out = uv_now(wr__telnet_srv(t)->ss.loop);
    if (conn_unsent(t) > wr__telnet_srv(t)->limits.max_output_bytes) {
        wr__telnet_limit(t, "slow consumer: %zu bytes of output unsent (max %zu)", conn_unsent(t),
                         wr__telnet_srv(t)->limits.max_output_bytes);
        return;
    }
    wr__stream_mark_dirty(&t->s);
}

/* ops->staged and ops->collect: `out` is the stream's staged output. */
static size_t telnet_staged(const struct wr_stream *s)
{
    return WR_CONTAINER_OF(s, const struct wr_telnet, s)->out.len;
}

static struct wr_sbuf *telnet_collect(struct wr_stream *s)
{
    struct wr_telnet *t = wr__telnet_of(s);
    if (t->out.len == 0)
        return NULL;
    struct wr_sbuf *b = wr_sbuf_new(t->out.len);
    memcpy(b->data, t->out.base, t->out.len);
    wr_writer_free(&t->out);
    return b;
}

/* Text for the client: '\n' becomes CR LF, a lone '\r' CR NUL (NVT rules);
 * libtelnet escapes IAC and compresses. One telnet_send per call, so one
 * deflate flush. */
static void send_text(struct wr_telnet *t, const char *text, size_t len)
{
    struct wr_writer *w = &wr__telnet_srv(t)->scratch;
    w->len = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (ch == '\n') {
            wr_put_bytes(w, "\r\n", 2);
        } else if (ch == '\r') {
            if (i + 1 < len && text[i + 1] == '\n') {
                wr_put_bytes(w, "\r\n", 2);
                i++;
            } else {
                wr_put_bytes(w, "\r\0", 2);
            }
        } else {
            wr_put_u8(w, (uint8_t)ch);
        }
    }
    if (w->len > 0)
        telnet_send(t->tn, (const char *)w->base, w->len);
    if (w->cap > 65536)
        wr_writer_free(w);
}

/* ---- closing ---------------------------------------------------------- */

/* With @abort, the stream drops its queue and the staged `out`. */
static void conn_begin_close(struct wr_telnet *t, bool abort)
{
    wr__stream_begin_close(&t->s, abort);
}

static void telnet_set_closing(struct wr_stream *s)
{
    wr__telnet_of(s)->state = WR_TELNET_CLOSING;
}

void wr__telnet_notify_close(struct wr_telnet *t)
{
    if (!t->opened || t->notified)
        return;
    t->notified = true;
    if (wr__telnet_srv(t)->h.on_close != NULL)
        wr__telnet_srv(t)->h.on_close(t);
}

void wr__telnet_conn_release(struct wr_telnet *t)
{
    if (t->tn != NULL)
        telnet_free(t->tn);
    t->tn = NULL;
    wr_writer_free(&t->out);
    wr_writer_free(&t->line);
    free(t->supports);
    t->supports = NULL;
    t->n_supports = 0;
    wr__stream_release(&t->s);
}

/* ops->closed: the uv_close callback's part for telnet. */
static void telnet_closed(struct wr_stream *s)
{
    struct wr_telnet *t = wr__telnet_of(s);
    struct wr_telnet_server *srv = wr__telnet_srv(t);
    if (s->counted) {
        srv->n_open--;
        srv->stats.connections_open--;
    }
    wr__telnet_notify_close(t);
    wr__telnet_conn_release(t);
    free(t);
}

static void telnet_notify_close(struct wr_stream *s)
{
    wr__telnet_notify_close(wr__telnet_of(s));
}

static void telnet_check(const struct wr_stream *s)
{
    assert_conn_state(WR_CONTAINER_OF(s, const struct wr_telnet, s));
}

/* ---- reading ---------------------------------------------------------- */

/* ops->on_read: bytes read while not closing. */
static void telnet_on_read(struct wr_stream *s, char *data, size_t len)
{
    wr__telnet_feed(wr__telnet_of(s), data, len);
}

/* ---- PROXY header ----------------------------------------------------- */

void wr__telnet_expect_proxy(struct wr_telnet *t)
{
    struct wr_telnet_server *srv = wr__telnet_srv(t);
    t->proxy = WR_TELNET_PROXY_WAIT;
    t->proxy_len = 0;
    t->proxy_until = uv_now(srv->ss.loop) + srv->limits.proxy_timeout_ms;
}

/* No header after all: what was held back is telnet input. */
static void proxy_give_up(struct wr_telnet *t)
{
    uint8_t n = t->proxy_len;
    t->proxy = WR_TELNET_PROXY_NONE;
    t->proxy_len = 0;
    if (n > 0 && t->state == WR_TELNET_OPEN)
        telnet_recv(t->tn, t->proxy_buf, n);
}

/* proxy_buf holds one line ending in LF: parse it, take the address. */
static void proxy_line(struct wr_telnet *t)
{
    struct wr_proxy_v1 h;
    const char *why = NULL;
    size_t n = t->proxy_len;
    t->proxy = WR_TELNET_PROXY_NONE;
    t->proxy_len = 0;
    if (wr_proxy_v1_parse(t->proxy_buf, n, &h, &why) != 0) {
        wr__telnet_limit(t, "bad PROXY header: %s", why);
        return;
    }
    if (h.family == WR_PROXY_UNKNOWN) {
        wr_debug("telnet %s: PROXY UNKNOWN: keeping the proxy's address", t->s.peer);
        return;
    }
    char proxy[sizeof t->s.peer];
    memcpy(proxy, t->s.peer, sizeof proxy);
    snprintf(t->s.peer, sizeof t->s.peer, "%s", h.src);
    wr_debug("telnet %s: connected through the proxy at %s", t->s.peer, proxy);
}

/* Bytes while a header may come; returns how many it took (the rest, if
 * any, is telnet input; all of them once the connection is closing). */
static size_t proxy_input(struct wr_telnet *t, const char *data, size_t len)
{
    size_t i = 0;
    if (t->proxy == WR_TELNET_PROXY_WAIT) {
        while (i < len && t->proxy_len < WR_PROXY_V1_PREFIX_LEN) {
            if (data[i] != WR_PROXY_V1_PREFIX[t->proxy_len]) {
                proxy_give_up(t);
                return t->state == WR_TELNET_OPEN ? i : len;
            }
            t->proxy_buf[t->proxy_len++] = data[i++];
        }
        if (t->proxy_len < WR_PROXY_V1_PREFIX_LEN)
            return i;
        t->proxy = WR_TELNET_PROXY_LINE;
    }
    while (i < len) {
        char ch = data[i++];
        t->proxy_buf[t->proxy_len++] = ch;
        if (ch == '\n') {
            proxy_line(t);
            return t->state == WR_TELNET_OPEN ? i : len;
        }
        if (t->proxy_len == WR_PROXY_V1_MAX) {
            t->proxy = WR_TELNET_PROXY_NONE;
            t->proxy_len = 0;
            wr__telnet_limit(t, "bad PROXY header: no line end in %d bytes", WR_PROXY_V1_MAX);
            return len;
        }
    }
    return i;
}

void wr__telnet_feed(struct wr_telnet *t, const char *data, size_t len)
{
    if (t->state != WR_TELNET_OPEN || len == 0)
        return;
    if (t->proxy != WR_TELNET_PROXY_NONE) {
        size_t used = proxy_input(t, data, len);
        data += used;
        len -= used;
    }
    if (t->state == WR_TELNET_OPEN && len > 0) {
        char why[96];
        size_t ok = wr__telnet_scan(t, (const uint8_t *)data, len, why, sizeof why);
        if (ok > 0)
            telnet_recv(t->tn, data, ok);
        if (ok < len && t->state == WR_TELNET_OPEN)
            wr__telnet_limit(t, "%s", why);
    }
    assert_conn_state(t);
}

/* ---- line assembly ---------------------------------------------------- */

/* Token bucket: one token per line, line_rate per second, at most
 * line_burst. line_rate == 0 disables the limit. */
static bool take_token(struct wr_telnet *t)
{
    const struct wr_telnet_limits *lim = &wr__telnet_srv(t)->limits;
    if (lim->line_rate == 0)
        return true;
    uint64_t now = uv_now(wr__telnet_srv(t)->ss.loop);
    uint64_t cap = (uint64_t)lim->line_burst * 1000;
    t->tokens_milli += (now - t->refill_at) * lim->line_rate;
    if (t->tokens_milli >= cap) {
        t->tokens_milli = cap;
        t->flood_drops = 0; /* calm again */
    }
    t->refill_at = now;
    if (t->tokens_milli < 1000)
        return false;
    t->tokens_milli -= 1000;
    return true;
}

static void u8_reset(struct wr_telnet *t)
{
    t->u8_len = t->u8_need = 0;
}

/* Append @n bytes of valid UTF-8 to the line, or start discarding it. */
static void line_put(struct wr_telnet *t, const uint8_t *p, size_t n)
{
    size_t max = wr__telnet_srv(t)->limits.max_line;
    if (t->discarding) {
        t->discarded += n;
        if (t->discarded > (size_t)WR_TELNET_LINE_CLOSE_FACTOR * max)
            wr__telnet_limit(t, "line over %zu bytes with no end (max_line %zu)",
                             (size_t)WR_TELNET_LINE_CLOSE_FACTOR * max, max);
        return;
    }
    if (t->line.len + n > max) {
        t->discarding = true;
        t->discarded = t->line.len + n;
        t->line.len = 0;
        u8_reset(t);
        wr__telnet_srv(t)->stats.lines_dropped++;
        char msg[96];
        int m = snprintf(msg, sizeof msg, "Line too long (at most %zu bytes); ignored.\n", max);
        wr_debug("telnet %s: line over %zu bytes dropped", t->s.peer, max);
        wr_telnet_send(t, msg, (size_t)m);
        return;
    }
    wr_put_bytes(&t->line, p, n);
}

/* An incomplete UTF-8 sequence is cut short: it becomes U+FFFD. */
static void u8_cut(struct wr_telnet *t)
{
    if (t->u8_need == 0)
        return;
    u8_reset(t);
    line_put(t, replacement, sizeof replacement);
}

static void line_end(struct wr_telnet *t)
{
    struct wr_telnet_server *srv = wr__telnet_srv(t);
    u8_cut(t);
    if (t->discarding) {
        t->discarding = false;
        t->line.len = 0;
        return;
    }
    if (!take_token(t)) {
        unsigned burst = srv->limits.line_burst ? srv->limits.line_burst : 1;
        t->line.len = 0;
        srv->stats.lines_dropped++;
        if (++t->flood_drops > 5u * burst) {
            wr_telnet_send(t, "You are typing too fast; disconnecting.\n", 40);
            wr_warn("telnet %s: closed: flooding (%u lines over the rate limit of %u/s)", t->s.peer,
                    t->flood_drops, srv->limits.line_rate);
            srv->stats.limit_closes++;
            conn_begin_close(t, false);
            return;
        }
        static const char msg[] = "You are typing too fast; that line was ignored.\n";
        wr_telnet_send(t, msg, sizeof msg - 1);
        return;
    }
    srv->stats.lines_in++;
    wr_put_u8(&t->line, 0);
    t->line.len--;
    if (srv->h.on_line != NULL)
        srv->h.on_line(t, (const char *)t->line.base, t->line.len);
    t->line.len = 0;
    if (t->line.cap > 1024)
        wr_writer_free(&t->line);
}

static void backspace(struct wr_telnet *t)
{
    if (t->u8_need > 0) {
        u8_reset(t); /* the character being typed */
        return;
    }
    size_t n = t->line.len;
    while (n > 0 && (t->line.base[n - 1] & 0xc0) == 0x80)
        n--;
    if (n > 0)
        n--;
    t->line.len = n;
}

/* One byte of UTF-8 text (not a control). */
static void u8_byte(struct wr_telnet *t, uint8_t b)
{
    if (t->u8_need > 0) {
        if (b >= t->u8_lo && b <= t->u8_hi) {
            t->u8[t->u8_len++] = b;
            t->u8_lo = 0x80;
            t->u8_hi = 0xbf;
            if (--t->u8_need == 0) {
                uint8_t seq[4];
                size_t n = t->u8_len;
                memcpy(seq, t->u8, n);
                u8_reset(t);
                line_put(t, seq, n);
            }
            return;
        }
        u8_cut(t); /* then @b starts afresh */
        if (t->discarding)
            return;
    }
    uint8_t need = 0, lo = 0x80, hi = 0xbf;
    if (b < 0x80) {
        line_put(t, &b, 1);
        return;
    } else if (b >= 0xc2 && b <= 0xdf) {
        need = 1;
    } else if (b == 0xe0) {
        need = 2;
        lo = 0xa0;
    } else if (b == 0xed) {
        need = 2;
        hi = 0x9f;
    } else if (b >= 0xe1 && b <= 0xef) {
        need = 2;
    } else if (b == 0xf0) {
        need = 3;
        lo = 0x90;
    } else if (b >= 0xf1 && b <= 0xf3) {
        need = 3;
    } else if (b == 0xf4) {
        need = 3;
        hi = 0x8f;
    } else {
        line_put(t, replacement, sizeof replacement);
        return;
    }
    t->u8[0] = b;
    t->u8_len = 1;
    t->u8_need = need;
    t->u8_lo = lo;
    t->u8_hi = hi;
}

static void input_bytes(struct wr_telnet *t, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && t->state == WR_TELNET_OPEN; i++) {
        uint8_t b = p[i];
        if (t->after_cr) {
            t->after_cr = false;
            if (b == '\n' || b == '\0')
                continue; /* CR LF, CR NUL: the CR ended the line */
        }
        if (b == '\r' || b == '\n') {
            t->after_cr = b == '\r';
            line_end(t);
            continue;
        }
        if (t->discarding) {
            line_put(t, &b, 1); /* counts it; may close */
            continue;
        }
        if (b == 0x08 || b == 0x7f) {
            backspace(t);
        } else if (b < 0x20) {
            u8_cut(t);
            if (b == '\t' && !t->discarding)
                line_put(t, (const uint8_t *)" ", 1);
        } else {
            u8_byte(t, b);
        }
    }
}

/* ---- libtelnet events ------------------------------------------------- */

static void tn_event(telnet_t *tn, telnet_event_t *ev, void *ud)
{
    struct wr_telnet *t = ud;
    (void)tn;
    if (ev->type == TELNET_EV_SEND) {
        out_append(t, ev->data.buffer, ev->data.size);
        return;
    }
    if (t->state != WR_TELNET_OPEN)
        return; /* closing: whatever libtelnet still parses is ignored */
    switch (ev->type) {
    case TELNET_EV_DATA:
        input_bytes(t, (const uint8_t *)ev->data.buffer, ev->data.size);
        break;
    case TELNET_EV_WARNING:
        /* libtelnet 0.21 leaves error.errcode unset: see the top. */
        if (strcmp(ev->error.func, "_buffer_byte") == 0 ||
            strstr(ev->error.msg, "buffer size limit") != NULL) {
            wr__telnet_limit(t, "subnegotiation over libtelnet's 16384-byte buffer");
        } else {
            wr_debug("telnet %s: protocol warning: %s", t->s.peer, ev->error.msg);
        }
        break;
    case TELNET_EV_ERROR:
        wr_warn("telnet %s: closed: protocol error: %s", t->s.peer, ev->error.msg);
        conn_begin_close(t, true);
        break;
    default:
        /* negotiation, subnegotiation, TTYPE, MCCP2 (telnet_opts.c) */
        wr__telnet_opts_event(t, ev);
        break;
    }
}

/* ---- accepting -------------------------------------------------------- */

void wr__telnet_conn_setup(struct wr_telnet *t)
{
    struct wr_telnet_server *srv = wr__telnet_srv(t);
    t->conn.kind = WR_CONN_TELNET;
    t->tn = telnet_init(wr__telnet_telopts, tn_event, 0, t);
    if (t->tn == NULL) {
        wr_error("telnet: telnet_init failed: out of memory");
        abort(); /* the OOM policy (common/alloc.h) */
    }
    t->state = WR_TELNET_OPEN;
    t->width = 80;
    t->height = 24;
    t->tokens_milli = (uint64_t)srv->limits.line_burst * 1000;
    t->cmd_tokens_milli = (uint64_t)srv->limits.cmd_burst * 1000;
    t->refill_at = t->last_out = t->cmd_refill_at = uv_now(srv->ss.loop);
    wr__telnet_offer(t);
    t->opened = true;
    if (srv->h.on_open != NULL)
        srv->h.on_open(srv, t);
}

static struct wr_stream *telnet_conn_new(struct wr_stream_server *ss)
{
    (void)ss;
    struct wr_telnet *t = wr_calloc(1, sizeof *t);
    t->conn.kind = WR_CONN_TELNET;
    return &t->s;
}

/* Is @s's socket peer one of the trusted PROXY senders? */
static bool peer_trusted(const struct wr_telnet_server *srv, struct wr_stream *s)
{
    struct sockaddr_storage sa;
    int len = sizeof sa;
    if (srv->limits.n_proxy_from == 0)
        return false;
    if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&sa, &len) != 0 || sa.ss_family != AF_INET)
        return false;
    uint32_t a = ((const struct sockaddr_in *)&sa)->sin_addr.s_addr;
    for (unsigned i = 0; i < srv->limits.n_proxy_from && i < WR_TELNET_MAX_PROXIES; i++)
        if (srv->limits.proxy_from[i] == a)
            return true;
    return false;
}

/* ops->accepted: over max_connections, one line (best effort), then close. */
static void telnet_accepted(struct wr_stream *s)
{
    struct wr_telnet *t = wr__telnet_of(s);
    struct wr_telnet_server *srv = wr__telnet_srv(t);
    if (srv->n_open >= srv->limits.max_connections) {
        char why[64];
        snprintf(why, sizeof why, "too many connections (max %u)", srv->limits.max_connections);
        wr__stream_refuse(s, why);
        return;
    }
    s->counted = true;
    srv->n_open++;
    srv->stats.connections_open++;
    int rv = uv_tcp_nodelay(&s->tcp, 1);
    if (rv != 0)
        wr_debug("telnet %s: setsockopt(TCP_NODELAY) failed: %s", s->peer, uv_strerror(rv));
    bool trusted = peer_trusted(srv, s);
    wr_debug("telnet %s: connected%s", s->peer, trusted ? " (a trusted proxy)" : "");
    wr__telnet_conn_setup(t);
    if (trusted && t->state == WR_TELNET_OPEN)
        wr__telnet_expect_proxy(t);
    if (t->state == WR_TELNET_OPEN)
        wr__stream_set_reading(s, true);
}

/* ---- sweeper ---------------------------------------------------------- */

/* ops->sweep: a NOP every keepalive_ms of idle output keeps NAT paths open. */
static void telnet_sweep(struct wr_stream *s, uint64_t now)
{
    struct wr_telnet *t = wr__telnet_of(s);
    unsigned keepalive = wr__telnet_srv(t)->limits.keepalive_ms;
    if (t->tn == NULL || t->state != WR_TELNET_OPEN)
        return;
    if (t->proxy != WR_TELNET_PROXY_NONE && now >= t->proxy_until) {
        if (t->proxy == WR_TELNET_PROXY_LINE) {
            t->proxy = WR_TELNET_PROXY_NONE;
            t->proxy_len = 0;
            wr__telnet_limit(t, "bad PROXY header: incomplete after %u ms",
                             wr__telnet_srv(t)->limits.proxy_timeout_ms);
            return;
        }
        proxy_give_up(t); /* the held-back bytes were typed, after all */
        if (t->state != WR_TELNET_OPEN)
            return;
    }
    if (keepalive > 0 && now - t->last_out >= keepalive)
        telnet_iac(t->tn, TELNET_NOP);
}

/* ---- server ----------------------------------------------------------- */

static void telnet_server_free(struct wr_stream_server *ss)
{
    struct wr_telnet_server *srv = WR_CONTAINER_OF(ss, struct wr_telnet_server, ss);
    wr_writer_free(&srv->scratch);
    free(srv);
}

const struct wr_stream_ops wr__telnet_stream_ops = {
    .name = "telnet",
    .busy_msg = WR_TELNET_FULL_MSG,
    .accept_err_level = WR_LOG_WARN,
    .set_closing = telnet_set_closing,
    .on_read = telnet_on_read,
    .collect = telnet_collect,
    .staged = telnet_staged,
    .notify_close = telnet_notify_close,
    .check = telnet_check,
    .sweep = telnet_sweep,
    .accepted = telnet_accepted,
    .conn_new = telnet_conn_new,
    .closed = telnet_closed,
    .server_free = telnet_server_free,
};

int wr_telnet_server_start(struct wr_telnet_server **out, uv_loop_t *loop, const char *bind,
                           const struct wr_telnet_limits *limits,
                           const struct wr_telnet_handlers *h)
{
    struct sockaddr_in sa;
    char err[128];
    int rv;
    if (wr_addr_parse(bind, &sa, err, sizeof err) != 0) {
        wr_error("telnet: %s", err);
        return UV_EINVAL;
    }
    struct wr_telnet_server *srv = wr_calloc(1, sizeof *srv);
    srv->ss.ops = &wr__telnet_stream_ops;
    if (limits != NULL)
        srv->limits = *limits;
    else
        wr_telnet_limits_default(&srv->limits);
    if (h != NULL)
        srv->h = *h;
    srv->ss.flush_timeout_ms = WR_TELNET_FLUSH_MS;
    /* Per-address counting skips the exempt addresses and the trusted
     * proxies, which carry many clients each. */
    srv->ss.max_per_ip = srv->limits.max_per_ip;
    for (unsigned i = 0; i < srv->limits.n_exempt && i < WR_NET_MAX_EXEMPT; i++)
        srv->ss.exempt[srv->ss.n_exempt++] = srv->limits.exempt[i];
    for (unsigned i = 0; i < srv->limits.n_proxy_from && i < WR_TELNET_MAX_PROXIES; i++)
        if (srv->ss.n_exempt < WR_NET_MAX_EXEMPT)
            srv->ss.exempt[srv->ss.n_exempt++] = srv->limits.proxy_from[i];
    srv->ss.fd_reserve = srv->limits.fd_reserve;
    srv->ss.bytes_in = &srv->stats.bytes_in;
    srv->ss.bytes_out = &srv->stats.bytes_out;
    srv->ss.limit_closes = &srv->stats.limit_closes;
    srv->ss.rbuf = srv->rbuf;
    srv->ss.rbuf_len = sizeof srv->rbuf;
    /* Every few seconds; often enough for a short keepalive in tests. */
    uint64_t every = srv->limits.keepalive_ms / 2;
    if (every > 5000 || every == 0)
        every = 5000;
    if (every < 10)
        every = 10;
    if (every > WR_STREAM_LINGER_MS / 2)
        every = WR_STREAM_LINGER_MS / 2;
    rv = wr__stream_server_start(&srv->ss, loop, &sa, bind, every);
    if (rv != 0)
        return rv; /* srv is freed (telnet_server_free) */
    wr_info("telnet: listening on %s", bind);
    *out = srv;
    return 0;
}

void wr_telnet_server_stop(struct wr_telnet_server *srv, const char *msg, void (*cb)(void *arg),
                           void *arg)
{
    if (srv->ss.stopping)
        return;
    for (struct wr_stream *s = srv->ss.conns; s != NULL; s = s->next) {
        struct wr_telnet *t = wr__telnet_of(s);
        if (!s->handle_closed && t->state == WR_TELNET_OPEN && msg != NULL)
            wr_telnet_send(t, msg, strlen(msg));
        /* Called from a handler, the rest of the current read is not
         * parsed: nothing more reaches on_line. */
        t->state = WR_TELNET_CLOSING;
    }
    /* @msg is written if the socket takes it right now. */
    wr__stream_server_stop(&srv->ss, cb, arg);
}

void *wr_telnet_server_data(struct wr_telnet_server *srv)
{
    return srv->h.data;
}

const struct wr_telnet_stats *wr_telnet_server_stats(struct wr_telnet_server *srv)
{
    return &srv->stats;
}

/* ---- connection API --------------------------------------------------- */

void wr_telnet_send(struct wr_telnet *t, const char *text, size_t len)
{
    if (t->state != WR_TELNET_OPEN)
        return;
    send_text(t, text, len);
}

void wr_telnet_close(struct wr_telnet *t, const char *msg)
{
    if (t->state != WR_TELNET_OPEN)
        return;
    if (msg != NULL)
        send_text(t, msg, strlen(msg));
    conn_begin_close(t, false);
}

const char *wr_telnet_peer(const struct wr_telnet *t)
{
    return t->s.peer;
}

struct wr_conn *wr_telnet_conn(struct wr_telnet *t)
{
    return &t->conn;
}

struct wr_telnet *wr_telnet_from_conn(struct wr_conn *c)
{
    assert(c->kind == WR_CONN_TELNET);
    return (struct wr_telnet *)c;
}

struct wr_telnet_server *wr_telnet_server_of(const struct wr_telnet *t)
{
    return wr__telnet_srv(t);
}
