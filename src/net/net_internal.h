/* Private to src/net/http.c and src/net/ws.c: the server and connection
 * structs and the few functions the HTTP and WebSocket halves call in each
 * other. Nothing outside src/net/ (and the fuzz drivers) includes this. The
 * state machine and its invariants are written down at the top of http.c;
 * the socket, output queue, flusher, closing and sweeping machinery is the
 * struct wr_stream shared with telnet.c (stream_internal.h). */
#ifndef WR_NET_INTERNAL_H
#define WR_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>
#include <openssl/evp.h>
#include <uv.h>

#include "common/alloc.h"
#include "common/bytes.h"
#include "common/sbuf.h"
#include "net/conn.h"
#include "net/http.h"
#include "net/stream_internal.h"

/* Size of the server's shared read buffer (one read at a time). */
#define WR_HTTP_READ_BUF 65536

enum wr_conn_state {
    WR_CONN_REQUEST,    /* reading a request */
    WR_CONN_RESPONDING, /* a request is with the handler */
    WR_CONN_WS,         /* an open WebSocket */
    WR_CONN_CLOSING     /* s.closing: flushing, then shutdown + linger, then uv_close */
};

/* One WebSocket's receive state (ws.c). Between messages it holds no
 * heap memory: `msg` is allocated only while a message (or a control
 * frame) is split across reads or fragments, and freed once delivered. */
struct wr_ws {
    struct wr_conn base;   /* must stay first: kind, route, the node's pointer */
    struct wr_writer msg;  /* unmasked payload being assembled, or empty */
    uint64_t left;         /* payload bytes of the frame in progress to come */
    uint64_t tokens_milli; /* rate-limit bucket, in 1/1000 messages */
    uint64_t refill_at;    /* uv_now of the last refill */
    size_t ctl_start;      /* msg offset where a buffered control frame starts */
    uint8_t hdr[14];       /* header of the frame in progress */
    uint8_t hdr_len;       /* bytes of hdr received */
    uint8_t op;            /* opcode of the frame in progress */
    uint8_t msg_op;        /* opcode of the open fragmented message, or 0 */
    uint8_t mask_off;      /* payload bytes of the frame seen, mod 4 */
    uint8_t u8_need;       /* UTF-8: continuation bytes still expected */
    uint8_t u8_lo, u8_hi;  /* UTF-8: range of the next continuation byte */
    bool in_payload;       /* header complete, payload in progress */
    bool open;             /* on_ws_open was called */
    bool notified;         /* on_ws_close was called */
};

/* The HTTP phase of a connection: allocated while it reads requests,
 * freed when it becomes a WebSocket or starts closing. */
struct wr_http_req {
    http_parser parser;  /* parser.data is the connection */
    struct wr_writer in; /* read but not yet parsed bytes, from in_pos */
    size_t in_pos;
    struct wr_writer url, field, value, body;
    char h_upgrade[64], h_connection[256], h_ws_key[64], h_ws_version[16];
    char h_authorization[192]; /* "Bearer <admin token>" (node/admin.c) */
    size_t hdr_bytes;  /* bytes of the current request before headers done */
    uint64_t started;  /* uv_now of the current request's first byte, 0 if
                          none is in progress (header_timeout_ms) */
    bool in_value;     /* last header callback was a value */
    bool headers_done; /* current request's headers are complete */
    bool msg_done;     /* current request is complete (parser paused) */
    int error_status;  /* 413/431 chosen by a parser callback */
};

struct wr_http_conn {
    struct wr_stream s; /* must stay first: handle <-> stream <-> conn;
                           s.prev/next: srv->ss.conns or srv->zombies */
    enum wr_conn_state state;

    /* Request parsing: NULL once the connection is a WebSocket or closing. */
    struct wr_http_req *rq;
    bool keep_alive; /* answer of the current request keeps the socket */
    bool is_head;

    /* Flags. */
    bool resume;      /* parse buffered input at the next safe point */
    bool in_dispatch; /* inside on_request for this conn */
    bool awaiting;    /* on_request called, wr_http_respond not yet */
    bool zombie;      /* handle closed while awaiting; freed by respond */
    bool is_ws;       /* switched to WebSocket (ws is valid) */

    struct wr_ws ws;
};

struct wr_http_server {
    struct wr_stream_server ss; /* listener, flusher, sweeper, conns, dirty */
    struct wr_http_limits limits;
    struct wr_http_handlers h;
    EVP_MD *sha1;     /* fetched once at start, for Sec-WebSocket-Accept */
    char *static_dir; /* realpath of the static root, or NULL */
    size_t static_dir_len;
    struct wr_http_stats stats;
    struct wr_stream *zombies; /* closed, awaiting wr_http_respond */
    char rbuf[WR_HTTP_READ_BUF];
};

static inline struct wr_http_conn *wr__conn_of(struct wr_stream *s)
{
    return (struct wr_http_conn *)s;
}

/* The server of @c (only while it is not a zombie of a freed server). */
static inline struct wr_http_server *wr__conn_srv(const struct wr_http_conn *c)
{
    return WR_CONTAINER_OF(c->s.srv, struct wr_http_server, ss);
}

static inline void wr__conn_queue(struct wr_http_conn *c, struct wr_sbuf *buf)
{
    wr__stream_queue(&c->s, buf);
}

static inline void wr__conn_begin_close(struct wr_http_conn *c, bool abort)
{
    wr__stream_begin_close(&c->s, abort);
}

/* http.c */
/* How HTTP connections plug into the stream machinery (also for the fuzz
 * drivers, which build a server without listening). */
extern const struct wr_stream_ops wr__http_stream_ops;
/* Log a breached limit and count it; the caller closes. */
void wr__conn_limit(struct wr_http_conn *c, const char *reason);

/* ws.c */
/* Validate the upgrade in @c's current request; if valid, answer 101,
 * switch @c to WR_CONN_WS (its wr_conn route = @route) and call
 * on_ws_open; returns false (and does nothing) if the request is not a
 * proper upgrade. */
bool wr__ws_accept(struct wr_http_conn *c, uint8_t route);
/* Parse bytes read from the socket as client frames and act on them. The
 * payload is unmasked in place: @data is scratch (the shared read buffer)
 * and is not used after the call. */
void wr__ws_feed(struct wr_http_conn *c, uint8_t *data, size_t len);
/* Queue a close frame (stop: 1001) if the WebSocket is still open. */
void wr__ws_going_away(struct wr_http_conn *c);
/* Call on_ws_close if on_ws_open was called and it was not yet. */
void wr__ws_notify_close(struct wr_http_conn *c);
void wr__ws_free(struct wr_http_conn *c);

#endif
