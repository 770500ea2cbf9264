/* A client connection, whatever carries it: a WebSocket (net/http.h) or a
 * telnet socket (net/telnet.h). Games and node/ hold struct wr_conn
 * pointers and use these functions; the back end is chosen at accept.
 *
 * Each back end's connection struct starts with a struct wr_conn, so a
 * struct wr_ws * or struct wr_telnet * converts to a struct wr_conn *. */
#ifndef WR_NET_CONN_H
#define WR_NET_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "common/sbuf.h"

/* Addresses a listener exempts from its per-address connection limit
 * (struct wr_http_limits, struct wr_telnet_limits), at most. */
#define WR_NET_MAX_EXEMPT 16

enum wr_conn_kind { WR_CONN_WEBSOCKET = 1, WR_CONN_TELNET = 2 };

struct wr_conn {
    uint8_t kind;       /* enum wr_conn_kind */
    uint8_t route;      /* which game/endpoint accepted it (node's business) */
    void *data;         /* the owner's pointer */
};

/* A message encoded once and sent to many connections. Back ends build
 * their wire form of it (a WebSocket frame) on first use and keep it. */
struct wr_msg;
struct wr_msg *wr_msg_new(const char *text, size_t len); /* one reference */
/* A binary message: a WebSocket binary frame; never sent over telnet. */
struct wr_msg *wr_msg_new_binary(const void *data, size_t len);
void wr_msg_unref(struct wr_msg *m);

/* Send one message: a WebSocket text frame, or telnet text. */
void wr_conn_send(struct wr_conn *c, const char *text, size_t len);
void wr_conn_send_msg(struct wr_conn *c, struct wr_msg *m);
/* One binary message (WebSocket only; ignored on telnet). */
void wr_conn_send_binary(struct wr_conn *c, const void *data, size_t len);
/* Close: WebSocket close @code/@reason; telnet: @reason as a last line. */
void wr_conn_close(struct wr_conn *c, uint16_t code, const char *reason);
const char *wr_conn_peer(const struct wr_conn *c);

static inline void wr_conn_set_data(struct wr_conn *c, void *data) { c->data = data; }
static inline void *wr_conn_data(const struct wr_conn *c) { return c->data; }

#endif
