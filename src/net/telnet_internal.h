/* Private to src/net/telnet.c, src/net/telnet_opts.c and the fuzz driver
 * (fuzz/fuzz_telnet.c): the server and connection structs, the calls
 * between the two files, and the seams that let the input path run without
 * a socket. Nothing else includes this. The connection states and
 * their invariants are written down at the top of telnet.c; the socket,
 * output queue, flusher, closing and sweeping machinery is the struct
 * wr_stream shared with http.c (stream_internal.h). */
#ifndef WR_NET_TELNET_INTERNAL_H
#define WR_NET_TELNET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libtelnet.h>
#include <uv.h>

#include "common/alloc.h"
#include "common/bytes.h"
#include "net/conn.h"
#include "net/proxy.h"
#include "net/stream_internal.h"
#include "net/telnet.h"

/* How long a closing socket may flush its output before it is closed hard
 * (then WR_STREAM_LINGER_MS for the peer's FIN after our shutdown). */
#define WR_TELNET_FLUSH_MS 5000
/* Size of the server's shared read buffer (one read at a time). Kept small:
 * it also bounds what libtelnet parses after a client misbehaves within one
 * read (see the COMPRESS2 note in telnet.c). */
#define WR_TELNET_READ_BUF 16384
/* Strings remembered from the client (TTYPE replies, Core.Hello), bytes
 * including the NUL; longer ones are cut. */
#define WR_TELNET_NAME_MAX 64
/* GMCP: one package name in Core.Supports, bytes including the NUL, and
 * the number of entries kept; more are ignored (with a debug line). */
#define WR_TELNET_PKG_MAX 48
#define WR_TELNET_MAX_SUPPORTS 64
/* MSSP variables asked from the handler. */
#define WR_TELNET_MAX_MSSP 64
/* TTYPE SEND requests per connection (client, terminal, MTTS). */
#define WR_TELNET_TTYPE_ASKS 3
/* A line still going at this many times max_line closes the connection
 * (shorter over-long lines are only dropped, with a message). */
#define WR_TELNET_LINE_CLOSE_FACTOR 16
/* GMCP option code (not in libtelnet.h). */
#define WR_TELNET_TELOPT_GMCP 201

enum wr_telnet_state {
    WR_TELNET_OPEN,   /* negotiating / reading lines */
    WR_TELNET_CLOSING /* s.closing: flushing, then shutdown + linger, then uv_close */
};

/* Reading a PROXY v1 header (connections from a trusted proxy only); see
 * the PROXY part of the top comment of telnet.c. */
enum wr_telnet_proxy {
    WR_TELNET_PROXY_NONE, /* no header expected (any more): input is telnet */
    WR_TELNET_PROXY_WAIT, /* trusted, nothing or a prefix of "PROXY " read */
    WR_TELNET_PROXY_LINE  /* "PROXY " read: buffering up to the LF */
};

struct wr_telnet_pkg {
    char name[WR_TELNET_PKG_MAX]; /* lower case, e.g. "char" or "room.info" */
};

struct wr_telnet {
    struct wr_conn conn; /* must stay first: kind WR_CONN_TELNET */
    struct wr_stream s;  /* socket, output queue, closing; s.prev/next: srv's conns */
    enum wr_telnet_state state;
    telnet_t *tn;      /* NULL for a refused socket */
    uint64_t last_out; /* uv_now when output was last queued (keepalive) */
    bool opened;       /* on_open was called */
    bool notified;     /* on_close was called */

    /* PROXY header being read: proxy_buf[0..proxy_len), at most
     * WR_PROXY_V1_MAX bytes, no heap; proxy_until: uv_now deadline. */
    enum wr_telnet_proxy proxy;
    uint8_t proxy_len;
    char proxy_buf[WR_PROXY_V1_MAX];
    uint64_t proxy_until;

    /* Output: libtelnet's SEND events append to `out` (small pieces); the
     * flusher moves `out` into the stream's queue as one sbuf (collect) and
     * writes it. `out` is empty (no heap) while nothing is staged. */
    struct wr_writer out;

    /* Input line being assembled (valid UTF-8, no controls). */
    struct wr_writer line;
    uint8_t u8[4];       /* bytes of an incomplete UTF-8 sequence */
    uint8_t u8_len;      /* bytes in u8 */
    uint8_t u8_need;     /* continuation bytes still expected */
    uint8_t u8_lo, u8_hi; /* range of the next continuation byte */
    bool after_cr;       /* last byte was CR: a following LF or NUL belongs to it */
    bool discarding;     /* the line grew past max_line: drop to its end */
    uint64_t tokens_milli; /* rate-limit bucket, in 1/1000 lines */
    uint64_t refill_at;    /* uv_now of the last refill */
    unsigned flood_drops;  /* lines dropped by the rate limit since the bucket was full */

    /* Telnet commands seen in the raw input (wr__telnet_scan, telnet_opts.c):
     * where the scanner is in the IAC grammar, the bytes of the open
     * subnegotiation, the command bucket and the negotiations so far. */
    uint8_t scan;
    size_t sb_len;
    uint64_t cmd_tokens_milli;
    uint64_t cmd_refill_at;
    unsigned negotiations;
    size_t discarded; /* bytes of the over-long line dropped so far */

    /* Negotiated state. */
    bool eor;         /* client DOes EOR: prompts end with IAC EOR */
    bool gmcp;        /* client DOes GMCP */
    bool compressing; /* MCCP2 started (all later output is deflated) */
    bool hidden;      /* WILL ECHO requested by wr_telnet_hide_input */
    bool color;
    bool ttype_waiting; /* a TTYPE SEND is unanswered */
    bool ttype_done;    /* no more SENDs: repeated reply, WONT or 3 asked */
    uint8_t ttype_asked;
    uint8_t ttype_got;
    uint16_t width, height;
    unsigned mtts;
    char ttype_last[WR_TELNET_NAME_MAX];
    char client_name[WR_TELNET_NAME_MAX]; /* first TTYPE reply */
    char term_type[WR_TELNET_NAME_MAX];   /* second TTYPE reply */
    char gmcp_client[WR_TELNET_NAME_MAX]; /* Core.Hello */
    char gmcp_version[WR_TELNET_NAME_MAX];
    struct wr_telnet_pkg *supports; /* Core.Supports, NULL until set */
    size_t n_supports;
};

struct wr_telnet_server {
    struct wr_stream_server ss; /* listener, flusher, sweeper, conns, dirty */
    struct wr_telnet_limits limits;
    struct wr_telnet_handlers h;
    struct wr_telnet_stats stats;
    unsigned n_open;          /* counted connections (limit: max_connections) */
    struct wr_writer scratch; /* outgoing text being translated (CR LF) */
    char rbuf[WR_TELNET_READ_BUF];
};

static inline struct wr_telnet *wr__telnet_of(struct wr_stream *s)
{
    return WR_CONTAINER_OF(s, struct wr_telnet, s);
}

static inline struct wr_telnet_server *wr__telnet_srv(const struct wr_telnet *t)
{
    return WR_CONTAINER_OF(t->s.srv, struct wr_telnet_server, ss);
}

/* Seams (also used by the socket path itself). */

/* How telnet connections plug into the stream machinery; the fuzz driver
 * builds a server with it without listening. */
extern const struct wr_stream_ops wr__telnet_stream_ops;

/* Make @t, zeroed except s.srv (and s.tcp/s.peer when it has a socket), an open
 * telnet connection: create its libtelnet tracker, queue the option offers
 * and call on_open. */
void wr__telnet_conn_setup(struct wr_telnet *t);
/* @t (set up) came from a trusted proxy: its first bytes may be a PROXY v1
 * header, until limits.proxy_timeout_ms from now. */
void wr__telnet_expect_proxy(struct wr_telnet *t);
/* Bytes read from the client: a PROXY header first if one is expected,
 * then telnet protocol, then line assembly, GMCP, NAWS, TTYPE. Ignored
 * unless @t is OPEN. */
void wr__telnet_feed(struct wr_telnet *t, const char *data, size_t len);
/* Call on_close if on_open was called and it was not yet. */
void wr__telnet_notify_close(struct wr_telnet *t);
/* Free what @t owns (tracker, buffers, its stream's queue), not @t itself. */
void wr__telnet_conn_release(struct wr_telnet *t);

/* Between telnet.c and telnet_opts.c. */

/* A breached limit on @t (OPEN): log the reason (printf @fmt), count it in
 * limit_closes and close without flushing. telnet.c. */
void wr__telnet_limit(struct wr_telnet *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Count the telnet commands in raw client bytes @data (before libtelnet
 * parses them) against the command rate, the negotiation total and
 * max_subneg for an open subnegotiation. Returns how many leading bytes may
 * be parsed: @len, or fewer when the byte after them breaks a limit (the
 * reason is then in @why); the caller parses those, then closes. Parsing
 * the same prefix however the input was split keeps the outcome
 * independent of the reads (fuzz/fuzz_telnet.c checks it). telnet_opts.c. */
size_t wr__telnet_scan(struct wr_telnet *t, const uint8_t *data, size_t len, char *why,
                       size_t why_len);
/* What we agree to when the client asks first (the libtelnet option table
 * for telnet_init), ended by {-1, 0, 0}. telnet_opts.c. */
extern const telnet_telopt_t wr__telnet_telopts[];
/* Queue our option offers (WILL SGA, EOR, GMCP, MSSP, COMPRESS2; DO NAWS,
 * TTYPE) on @t's fresh tracker. telnet_opts.c. */
void wr__telnet_offer(struct wr_telnet *t);
/* A libtelnet event for @t (OPEN) other than SEND, DATA, WARNING and ERROR:
 * option negotiation, subnegotiation (NAWS, GMCP, COMPRESS2 from the
 * client), TTYPE replies, MCCP2 start; others are ignored. May close @t
 * through wr__telnet_limit. telnet_opts.c. */
void wr__telnet_opts_event(struct wr_telnet *t, const telnet_event_t *ev);

#endif
