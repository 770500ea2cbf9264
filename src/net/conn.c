/* Connections over either back end; see conn.h. */
#include "net/conn.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "net/http.h"
#include "net/telnet.h"

struct wr_msg {
    unsigned refs;
    struct wr_sbuf *ws_frame; /* built on first WebSocket send */
    bool binary;
    size_t len;
    char text[];
};

struct wr_msg *wr_msg_new(const char *text, size_t len)
{
    struct wr_msg *m = wr_malloc(sizeof *m + len + 1);
    m->refs = 1;
    m->ws_frame = NULL;
    m->len = len;
    if (len > 0)
        memcpy(m->text, text, len);
    m->text[len] = '\0';
    m->binary = false;
    return m;
}

struct wr_msg *wr_msg_new_binary(const void *data, size_t len)
{
    struct wr_msg *m = wr_msg_new(data, len);
    m->binary = true;
    return m;
}

void wr_msg_unref(struct wr_msg *m)
{
    if (m == NULL || --m->refs > 0)
        return;
    if (m->ws_frame != NULL)
        wr_sbuf_unref(m->ws_frame);
    free(m);
}

void wr_conn_send(struct wr_conn *c, const char *text, size_t len)
{
    switch (c->kind) {
    case WR_CONN_WEBSOCKET:
        wr_ws_send_text((struct wr_ws *)c, text, len);
        break;
    case WR_CONN_TELNET:
        wr_telnet_send(wr_telnet_from_conn(c), text, len);
        break;
    default:
        break;
    }
}

void wr_conn_send_msg(struct wr_conn *c, struct wr_msg *m)
{
    switch (c->kind) {
    case WR_CONN_WEBSOCKET:
        if (m->ws_frame == NULL)
            m->ws_frame = m->binary ? wr_ws_frame_binary(m->text, m->len)
                                    : wr_ws_frame_text(m->text, m->len);
        wr_ws_send_frame((struct wr_ws *)c, m->ws_frame);
        break;
    default:
        if (!m->binary)
            wr_conn_send(c, m->text, m->len);
        break;
    }
}

void wr_conn_send_binary(struct wr_conn *c, const void *data, size_t len)
{
    if (c->kind != WR_CONN_WEBSOCKET)
        return;
    struct wr_sbuf *f = wr_ws_frame_binary(data, len);
    wr_ws_send_frame((struct wr_ws *)c, f);
    wr_sbuf_unref(f);
}

void wr_conn_close(struct wr_conn *c, uint16_t code, const char *reason)
{
    switch (c->kind) {
    case WR_CONN_WEBSOCKET:
        wr_ws_close((struct wr_ws *)c, code, reason);
        break;
    case WR_CONN_TELNET:
        wr_telnet_close(wr_telnet_from_conn(c), reason);
        break;
    default:
        break;
    }
}

const char *wr_conn_peer(const struct wr_conn *c)
{
    switch (c->kind) {
    case WR_CONN_WEBSOCKET:
        return wr_ws_peer((struct wr_ws *)c);
    case WR_CONN_TELNET:
        return wr_telnet_peer(wr_telnet_from_conn((struct wr_conn *)c));
    default:
        return "?";
    }
}
