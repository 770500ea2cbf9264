/* Private to src/net/: the TCP connection machinery that the HTTP/WebSocket
 * server (http.c, ws.c) and the telnet server (telnet.c) share, written
 * once in stream.c. A protocol's connection struct embeds a struct
 * wr_stream, and its server struct a struct wr_stream_server; the protocol
 * says where it differs through struct wr_stream_ops. Nothing outside
 * src/net/ (and the fuzz drivers) includes this.
 *
 * What the stream owns, for every connection:
 *   - the socket (uv_tcp_t), its peer name, and the server's list of open
 *     connections;
 *   - the output queue: shared wr_sbuf references, flushed once per loop
 *     iteration by the server's uv_prepare_t ("the flusher") for every
 *     connection on its dirty list: uv_try_write, then one uv_write of many
 *     buffers for the rest; one uv_write in flight per connection;
 *   - reading into the server's one read buffer, peer EOF and read errors;
 *   - closing: `closing` (the protocol's CLOSING state), then flush unless
 *     `abort`, uv_shutdown, linger (read and drop) until the peer's FIN or
 *     WR_STREAM_LINGER_MS, uv_close at a safe point, the close callback;
 *   - the sweep timer: closing deadlines (flush_timeout_ms before the
 *     shutdown, WR_STREAM_LINGER_MS after it); open connections go to
 *     ops->sweep;
 *   - accepting, and refusing (a rate-limited log line naming the peer and
 *     the limit, the protocol's busy message, close) when the process is
 *     near its file-descriptor limit (fd_reserve), when one address has
 *     max_per_ip connections open, or, in the protocol's accepted hook,
 *     over its total; accept errors (EMFILE) logged once a second;
 *     stopping the server.
 * The protocol keeps its own state machine (a CLOSING state mirrors
 * `closing`: ops->set_closing), its parsers, limits and counters.
 *
 * Safe points: a stream is uv_close'd only from the flusher, the sweep
 * timer, the accept path (refused sockets) and wr__stream_server_stop, never
 * from inside a protocol's or user's call chain on that stream; everything
 * else sets `closing` and marks it dirty. The protocol struct is freed only
 * from ops->closed (the uv_close callback) or later (http's zombies). */
#ifndef WR_NET_STREAM_INTERNAL_H
#define WR_NET_STREAM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "common/log.h"
#include "common/sbuf.h"
#include "common/u64map.h"
#include "net/conn.h"

/* How long a closing socket may wait for the peer's FIN after our own
 * shutdown before it is closed hard. */
#define WR_STREAM_LINGER_MS 2000
/* Buffers handed to one uv_try_write / uv_write. */
#define WR_STREAM_WRITE_BUFS 64

struct wr_stream;
struct wr_stream_server;

struct wr_outq_item {
    struct wr_sbuf *buf; /* one reference owned by the queue */
    size_t off;          /* bytes of buf already written */
};

/* Where the protocols differ. Optional hooks may be NULL. */
struct wr_stream_ops {
    const char *name;                   /* log prefix: "http", "telnet" */
    const char *busy_msg;               /* written (best effort) to a refused socket */
    enum wr_log_level accept_err_level; /* level of "accept failed" lines */
    /* The stream entered closing (first time): set the protocol's CLOSING
     * state. Called from inside wr__stream_begin_close. */
    void (*set_closing)(struct wr_stream *s);
    /* Bytes read while not closing; @data is the server's read buffer,
     * scratch after the call. */
    void (*on_read)(struct wr_stream *s, char *data, size_t len);
    /* Optional: the flusher's first step for a dirty stream (http parses
     * buffered input it postponed). May begin closing or close the handle. */
    void (*service)(struct wr_stream *s);
    /* Optional: output the protocol staged elsewhere (telnet: libtelnet's
     * small SEND pieces), as one new sbuf (the reference passes to the
     * queue), or NULL if none; called by wr__stream_flush when no write is
     * in flight. With it comes staged(): the bytes staged, 0 if none. */
    struct wr_sbuf *(*collect)(struct wr_stream *s);
    size_t (*staged)(const struct wr_stream *s);
    /* At the first safe point while closing (and possibly again): tell the
     * user the connection is gone, once. May close the handle. */
    void (*notify_close)(struct wr_stream *s);
    /* Optional: check the protocol's state invariants after servicing. */
    void (*check)(const struct wr_stream *s);
    /* An open (not closing) stream at a sweep (idle clocks, keepalives).
     * May close the handle with wr__stream_close_handle. */
    void (*sweep)(struct wr_stream *s, uint64_t now);
    /* Accepted socket, peer name known: count it and start reading, or
     * refuse it (wr__stream_refuse). */
    void (*accepted)(struct wr_stream *s);
    /* Allocate a zeroed protocol connection and return its stream. */
    struct wr_stream *(*conn_new)(struct wr_stream_server *ss);
    /* The uv_close callback, after the stream left the server's list:
     * counters, notify the user if not yet, wr__stream_release, free (or
     * keep) the protocol struct. */
    void (*closed)(struct wr_stream *s);
    /* Every handle of a stopping server is closed: free the protocol's
     * server struct (the stop callback runs after this). */
    void (*server_free)(struct wr_stream_server *ss);
};

struct wr_stream {
    uv_tcp_t tcp; /* must stay first: handle <-> stream */
    struct wr_stream_server *srv;
    struct wr_stream *prev, *next;             /* srv->conns (or a protocol list) */
    struct wr_stream *dirty_prev, *dirty_next; /* srv->dirty, if dirty */
    uint64_t since; /* uv_now when the current idle/closing clock started */
    char peer[64];
    uint64_t ip_key;  /* the socket peer's address as a per_ip key, 0 if unknown */
    bool ip_counted;  /* counted in srv->per_ip */

    /* Output queue: items [q_head, q_head + q_len) of q. */
    struct wr_outq_item *q;
    size_t q_head, q_len, q_cap;
    size_t q_bytes; /* unsent bytes queued (including the write in flight) */
    size_t w_items; /* queue items covered by the write in flight */
    size_t w_bytes; /* bytes of the write in flight */
    uv_write_t wreq;
    uv_shutdown_t sreq;

    bool dirty;         /* on srv's dirty list */
    bool closing;       /* the protocol is in its CLOSING state */
    bool reading;       /* uv_read_start is in effect */
    bool abort;         /* closing without flushing */
    bool peer_eof;      /* the peer sent FIN */
    bool shut_started;  /* uv_shutdown issued */
    bool shut_done;     /* uv_shutdown completed */
    bool handle_closed; /* uv_close called */
    bool counted;       /* counted as open by the protocol (not refused) */
    bool writing;       /* a uv_write is in flight */
};

struct wr_stream_server {
    uv_loop_t *loop;
    const struct wr_stream_ops *ops;
    uv_tcp_t listener;
    uv_prepare_t flusher;    /* flushes dirty streams once per iteration */
    uv_timer_t sweeper;      /* idle, keepalive and closing deadlines */
    struct wr_stream *conns; /* every stream whose handle is open */
    struct wr_stream *dirty_head, *dirty_tail;
    unsigned nconns;  /* streams on conns (refused ones too, until closed) */
    unsigned handles; /* open uv handles, including listener/flusher/sweeper */
    bool flusher_active;
    bool stopping;
    void (*stop_cb)(void *arg);
    void *stop_arg;
    uint64_t refuse_logged_at; /* rate limit for "refused" lines */
    uint64_t refuse_suppressed;
    uint64_t accept_err_logged_at; /* rate limit for "accept failed" lines */
    uint64_t accept_err_suppressed;
    /* Admission limits, set by the protocol before wr__stream_server_start.
     * max_per_ip: open sockets from one address (IPv4 address, or IPv6 /64),
     * 0 = none; addresses in exempt[] (IPv4, network order) are not counted
     * (a local proxy carries many clients). fd_reserve: refuse a socket
     * whose descriptor leaves fewer than this many free below
     * RLIMIT_NOFILE, so the node keeps descriptors for Raft's files and its
     * peers (read at start: fd_limit, 0 = unlimited). */
    unsigned max_per_ip;
    uint32_t exempt[WR_NET_MAX_EXEMPT];
    unsigned n_exempt;
    unsigned fd_reserve;
    uint64_t fd_limit;
    struct wr_u64map per_ip; /* ip_key -> open sockets */
    uint64_t flush_timeout_ms; /* closing, before the shutdown: then cut */
    /* The protocol's counters (in its public stats struct). */
    uint64_t *bytes_in, *bytes_out, *limit_closes;
    char *rbuf; /* the protocol server's shared read buffer */
    size_t rbuf_len;
};

/* Queue @buf (takes the caller's reference) and mark @s dirty; dropped if
 * @s is closed, aborting or shut down, or @buf is empty. */
void wr__stream_queue(struct wr_stream *s, struct wr_sbuf *buf);
/* Write what the socket takes now; with !try_only, hand the rest to one
 * uv_write. Errors begin an abort close. */
void wr__stream_flush(struct wr_stream *s, bool try_only);
/* Unsent bytes: queued plus staged by the protocol. */
size_t wr__stream_unsent(const struct wr_stream *s);
void wr__stream_mark_dirty(struct wr_stream *s);
/* Enter closing (ops->set_closing the first time; the closing clock
 * starts); with @abort, drop the queue and the staged output (ops->collect)
 * and close at the next safe point without flushing. No-op once the handle
 * is closed. */
void wr__stream_begin_close(struct wr_stream *s, bool abort);
/* uv_close now (safe points only); idempotent. */
void wr__stream_close_handle(struct wr_stream *s);
void wr__stream_set_reading(struct wr_stream *s, bool on);
/* Refuse a just-accepted socket: write ops->busy_msg (best effort), count
 * a limit close, log "refused: @why" with the peer (at most one line a
 * second, with how many were refused in between), close the handle. */
void wr__stream_refuse(struct wr_stream *s, const char *why);
/* Release the output queue (everything: no write may be in flight any
 * more); for ops->closed and for streams that never had a socket. */
void wr__stream_release(struct wr_stream *s);
/* The uv_read_cb of every stream; a seam for the fuzz drivers, which feed
 * bytes (and UV_EOF) as libuv would. */
void wr__stream_read_cb(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf);
/* The stream's own invariants (asserts). */
void wr__stream_assert(const struct wr_stream *s);

/* Start @ss (zeroed except the protocol's fields: ops, flush_timeout_ms,
 * counters, rbuf): listen on @sa (@bind for log lines), start the flusher and
 * the sweeper (every @sweep_ms). Returns 0, or a negative libuv error after
 * a log line; then @ss is freed through ops->server_free, now or from the
 * listener's close callback. */
int wr__stream_server_start(struct wr_stream_server *ss, uv_loop_t *loop,
                            const struct sockaddr_in *sa, const char *bind, uint64_t sweep_ms);
/* Try-flush every stream (no waiting for slow peers), close them all and
 * the server's handles; @cb(@arg) after ops->server_free. The protocol
 * queues its last words before calling this. */
void wr__stream_server_stop(struct wr_stream_server *ss, void (*cb)(void *arg), void *arg);

#endif
