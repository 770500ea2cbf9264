/* The node's HTTP/1.1 server: static files, JSON endpoints answered by the
 * node, and WebSocket upgrades on the paths the node routes (see ws_route). http-parser parses requests; ws.c
 * parses WebSocket frames itself (it says why it does not use wslay), in
 * place in the server's shared read buffer, so an idle WebSocket holds no
 * buffers. Every peer-controlled size has a hard limit (see
 * struct wr_http_limits) and a breach closes that one connection with a log
 * line. Output is queued per connection and flushed once per loop iteration
 * (a uv_prepare_t), so a burst of events costs one write per connection.
 * Everything here runs on the loop thread. */
#ifndef WR_NET_HTTP_H
#define WR_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/sbuf.h"
#include "net/conn.h"

struct wr_http_server;
struct wr_http_conn; /* one HTTP request awaiting its response */
struct wr_ws;        /* one open WebSocket */

struct wr_http_request {
    const char *method; /* "GET", "HEAD", "POST"... */
    const char *path;   /* decoded path without the query, NUL-terminated */
    const char *query;  /* raw query string without '?', or "" */
    const char *peer;   /* "ip:port" of the client */
    const char *authorization; /* the Authorization header, or "" */
    const char *body;   /* request body (POST), NUL-terminated, may be "" */
    size_t body_len;
};

struct wr_http_limits {
    size_t max_header_bytes;  /* request line + headers; default 8192 */
    size_t max_body_bytes;    /* default 65536 */
    size_t max_ws_message;    /* one WebSocket message, default 4096 */
    size_t max_output_bytes;  /* queued, unsent bytes per connection before
                                 it is closed as a slow consumer; 1 MiB */
    unsigned max_connections; /* open sockets; default 10000 */
    unsigned ws_rate;         /* WebSocket messages per second per client,
                                 token bucket refill; default 60 */
    unsigned ws_burst;        /* bucket size; default 120 */
    unsigned idle_timeout_ms; /* HTTP keep-alive idle close; default 30000.
                                 WebSockets are not idle-closed. */
    unsigned header_timeout_ms; /* a started request's line and headers must
                                   be complete this long after its first
                                   byte, or 408 and close (slowloris, and a
                                   WebSocket handshake that never ends);
                                   default 10000, checked by the sweep */
    unsigned max_per_ip;        /* open sockets from one address (IPv6: one
                                   /64); default 64, 0 = no limit; over it:
                                   503 and close */
    uint32_t exempt[WR_NET_MAX_EXEMPT]; /* IPv4 (network order) not counted
                                           per address: local proxies */
    unsigned n_exempt;
    unsigned fd_reserve; /* refuse (503) a socket that leaves fewer than
                            this many descriptors free; default 32 */
};

/* Fill @l with the defaults above. */
void wr_http_limits_default(struct wr_http_limits *l);

struct wr_http_handlers {
    void *data; /* for the node; read back with wr_http_server_data() */
    /* A plain request (anything that is not a successful upgrade on /ws and
     * not a static file). The handler must call wr_http_respond() exactly
     * once for @conn, before returning or later from the loop; @req and its
     * strings are valid only during the call. */
    void (*on_request)(struct wr_http_server *srv, struct wr_http_conn *conn,
                       const struct wr_http_request *req);
    /* Which WebSocket endpoint @path is: a route number 0..255 (kept in
     * the connection's struct wr_conn), or -1 if it is not one. NULL: only
     * "/ws", route 0. */
    int (*ws_route)(void *data, const char *path);
    /* A WebSocket handshake on a route completed. */
    void (*on_ws_open)(struct wr_http_server *srv, struct wr_ws *ws);
    /* One complete text message (already UTF-8 checked, at most
     * max_ws_message bytes; not NUL-terminated, valid only during the
     * call). Binary messages get an error close. */
    void (*on_ws_text)(struct wr_ws *ws, const char *data, size_t len);
    /* The WebSocket is gone (peer closed, error, limit, or wr_ws_close).
     * Called exactly once per opened ws; @ws is invalid afterwards. */
    void (*on_ws_close)(struct wr_ws *ws);
};

struct wr_http_stats {
    uint64_t connections_open; /* HTTP + WebSocket sockets now open */
    uint64_t ws_open;          /* WebSockets now open */
    uint64_t requests;         /* HTTP requests served */
    uint64_t ws_messages_in;
    uint64_t ws_frames_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t limit_closes; /* connections closed for breaking a limit */
};

/* Start listening on @bind ("ip:port"). @static_dir (may be NULL) is served
 * for GET paths that name a file in it ("/" means index.html, "/play" means
 * play.html when there is no file "play"). Returns 0 or
 * a negative libuv error code, with a log line saying what failed. */
int wr_http_server_start(struct wr_http_server **out, uv_loop_t *loop, const char *bind,
                         const struct wr_http_limits *limits, const struct wr_http_handlers *h,
                         const char *static_dir);

/* Stop listening, close every connection (WebSockets get close code 1001),
 * and call @cb once all handles are closed; free the server there. */
void wr_http_server_stop(struct wr_http_server *srv, void (*cb)(void *arg), void *arg);

void *wr_http_server_data(struct wr_http_server *srv);
const struct wr_http_stats *wr_http_server_stats(struct wr_http_server *srv);

/* Answer @conn. Copies @body. Adds Content-Length, Content-Type and
 * Cache-Control: no-store; keeps the connection alive if the client asked. */
void wr_http_respond(struct wr_http_conn *conn, int status, const char *content_type,
                     const void *body, size_t len);

/* Per-WebSocket user pointer. */
void wr_ws_set_data(struct wr_ws *ws, void *data);
void *wr_ws_data(struct wr_ws *ws);
const char *wr_ws_peer(struct wr_ws *ws);
struct wr_http_server *wr_ws_server(struct wr_ws *ws);

/* Encode one complete server-to-client text frame (unmasked) around @data.
 * The result is shared: queue it on any number of sockets, then unref. */
struct wr_sbuf *wr_ws_frame_text(const char *data, size_t len);
/* The same for a binary frame (the arena's compact updates). */
struct wr_sbuf *wr_ws_frame_binary(const void *data, size_t len);

/* Queue a frame made by wr_ws_frame_text; takes its own reference. If the
 * socket's queue is over max_output_bytes the socket is closed as a slow
 * consumer (on_ws_close follows from the loop, not from inside this call). */
void wr_ws_send_frame(struct wr_ws *ws, struct wr_sbuf *frame);

/* Convenience: frame and queue one text message. */
void wr_ws_send_text(struct wr_ws *ws, const char *data, size_t len);

/* Send a close frame with @code and @reason (<= 123 bytes), flush, then
 * close the socket. on_ws_close is called later from the loop. */
void wr_ws_close(struct wr_ws *ws, uint16_t code, const char *reason);

#endif
