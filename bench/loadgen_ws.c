/* loadgen_ws.c: a loadgen client's socket (the other half of loadgen, see
 * loadgen.h; how it works is the top comment of loadgen.c): the output
 * path, connect and close, the HTTP upgrade, WebSocket framing, and reading
 * the server's messages: the compact-JSON scanner with its jansson
 * fallback, binary updates, acks and the watched player. Also
 * --bench-parse, the measurement behind the scanner.
 *
 * Hand-written framing and scanner rather than wslay and jansson: the
 * top comment of loadgen.c says why (throughput on the 2-core machine). */
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "arena/arena_wire.h"
#include "loadgen.h"

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
static const char UPDATE_PREFIX[] = "{\"t\":\"update\",\"players\":[";
static const char WELCOME_PREFIX[] = "{\"t\":\"welcome\",\"id\":";
static const char LEFT_PREFIX[] = "{\"t\":\"left\",";

/* ---- output path -------------------------------------------------------- */

static void on_write(uv_write_t *req, int status)
{
    struct client *c = req->data;
    bool more = bench_out_done(&c->wr);
    if (c->state == C_CLOSED)
        return;
    if (status < 0 || (more && bench_out_start(&c->wr, (uv_stream_t *)&c->tcp, on_write) < 0))
        client_close(c, true);
}

/* Send @len bytes (bench_out_write); an error closes @c. */
static void client_write(struct client *c, const void *data, size_t len)
{
    if (c->state == C_CLOSED || c->state == C_IDLE)
        return;
    if (bench_out_write(&c->wr, (uv_stream_t *)&c->tcp, data, len, 0, on_write) != 0)
        client_close(c, true);
}

/* One masked frame (client to server); payloads here are at most 125 bytes
 * except join/move text, all far below 64 KiB. */
static void ws_send(struct client *c, uint8_t opcode, const void *payload, size_t len)
{
    uint8_t frame[14 + 512];
    if (len > 512)
        return;
    size_t h = 0;
    frame[h++] = (uint8_t)(0x80u | opcode);
    if (len < 126) {
        frame[h++] = (uint8_t)(0x80u | len);
    } else {
        frame[h++] = 0x80u | 126u;
        frame[h++] = (uint8_t)(len >> 8);
        frame[h++] = (uint8_t)len;
    }
    uint32_t m = (uint32_t)bench_rng_next(&c->lg->rng);
    uint8_t mask[4] = {(uint8_t)m, (uint8_t)(m >> 8), (uint8_t)(m >> 16), (uint8_t)(m >> 24)};
    memcpy(frame + h, mask, 4);
    h += 4;
    const uint8_t *src = payload;
    for (size_t i = 0; i < len; i++)
        frame[h + i] = src[i] ^ mask[i & 3];
    client_write(c, frame, h + len);
}

void ws_send_text(struct client *c, const char *text, size_t len)
{
    ws_send(c, 0x1, text, len);
}

/* ---- lifecycle ---------------------------------------------------------- */

static void on_close(uv_handle_t *h)
{
    struct client *c = h->data;
    buf_free(&c->in);
    bench_out_free(&c->wr);
    buf_free(&c->frag);
}

/* Close @c once. @lost: the peer or an error ended it (a disconnect), as
 * opposed to the end of the run. */
void client_close(struct client *c, bool lost)
{
    struct lg *lg = c->lg;
    if (c->state == C_CLOSED || c->state == C_IDLE)
        return;
    if (c->state == C_HANDSHAKE || c->state == C_JOINING || c->state == C_CONNECTING) {
        lg->handshaking--;
        lg->join_failed++;
    }
    if (c->state == C_JOINED) {
        lg->nodes[c->node].open--;
        if (lost && lg->phase < PH_LEAVE)
            lg->disconnects++;
    }
    c->lost = lost;
    c->state = C_CLOSED;
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_welcome(struct client *c, uint32_t id)
{
    struct lg *lg = c->lg;
    if (c->state != C_JOINING)
        return;
    c->player_id = id;
    int n = snprintf(c->needle, sizeof c->needle, "{\"id\":%" PRIu32 ",", id);
    c->needle_len = (uint8_t)n;
    /* Client i watches client i+1: tell its watcher, i-1, who it is. */
    struct client *w = &lg->clients[(c->idx + lg->o.clients - 1) % lg->o.clients];
    if (w != c) {
        w->watch_id = id;
        w->watch_seen = 0;
        memcpy(w->wneedle, c->needle, sizeof c->needle);
        w->wneedle_len = c->needle_len;
    }
    c->state = C_JOINED;
    c->was_joined = true;
    lg->handshaking--;
    lg->joined++;
    lg->nodes[c->node].joined++;
    lg->nodes[c->node].open++;
}

/* The client saw its own player at @seq: every move in flight up to it is
 * acknowledged. */
static void client_ack(struct client *c, uint32_t seq, uint64_t now)
{
    struct lg *lg = c->lg;
    if (seq <= c->acked_seq)
        return;
    c->acked_seq = seq;
    bool acked = false;
    while (c->rcount > 0 && c->ring[c->rhead].seq <= seq) {
        const struct inflight *f = &c->ring[c->rhead];
        lg->moves_acked_total++;
        if (in_window(lg, f->sent_ns)) {
            lg->moves_acked++;
            hist_add(&lg->lat, (now - f->sent_ns) / 1000);
        }
        c->rhead = (uint8_t)((c->rhead + 1) % LG_MAX_WINDOW);
        c->rcount--;
        acked = true;
    }
    if (acked && now >= lg->m_start) {
        uint64_t bin = (now - lg->m_start) / NS_PER_MS;
        if (bin < lg->n_bins)
            lg->nodes[c->node].ack_bins[bin]++;
    }
}

/* @c saw its watched player at @seq: every move of it up to @seq that was
 * sent in the window and not seen before is a sample of others' latency. */
static void saw_watched(struct client *c, uint32_t seq, uint64_t now)
{
    struct lg *lg = c->lg;
    if (seq <= c->watch_seen)
        return;
    const struct client *w = &lg->clients[(c->idx + 1) % lg->o.clients];
    uint32_t from = seq - c->watch_seen > LG_HIST ? seq - LG_HIST + 1 : c->watch_seen + 1;
    for (uint32_t s = from; s <= seq; s++) {
        uint32_t k = s % LG_HIST;
        if (w->sent_seq[k] == s && in_window(lg, w->sent_at[k]) && now >= w->sent_at[k])
            hist_add(&lg->others, (now - w->sent_at[k]) / 1000);
    }
    c->watch_seen = seq;
}

/* A player record in an update: is it ours, or the watched one? */
static void saw_player(struct client *c, uint32_t id, uint32_t seq, uint64_t now)
{
    if (id == c->player_id)
        client_ack(c, seq, now);
    else if (id == c->watch_id && id != 0)
        saw_watched(c, seq, now);
}

static void on_error_msg(struct client *c, const char *code)
{
    struct lg *lg = c->lg;
    count_code(lg->errors, &lg->n_errors, code);
    if (c->state == C_JOINING) {
        client_close(c, false); /* the join was refused: count it as failed */
        return;
    }
    /* Errors carry no seq; a session's commands are answered in order, so
     * the oldest move in flight is the one that failed. */
    if (c->state == C_JOINED && c->rcount > 0) {
        c->rhead = (uint8_t)((c->rhead + 1) % LG_MAX_WINDOW);
        c->rcount--;
        lg->moves_failed++;
    }
}

/* Parse decimal digits at @p (bounded by @end) into @out. */
static const char *scan_u32(const char *p, const char *end, uint32_t *out)
{
    uint64_t v = 0;
    const char *start = p;
    while (p < end && *p >= '0' && *p <= '9' && p - start < 10) {
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p == start || v > UINT32_MAX)
        return NULL;
    *out = (uint32_t)v;
    return p;
}

/* Fast path for the server's compact update frame: find `{"id":ME,` and the
 * "seq" of that object. Returns true with *seq set if the player is there.
 * Bounded: one memmem per occurrence of the needle (at most once per frame,
 * ids are unique) plus a bounded scan inside one object. */
static bool scan_update(const char *needle, size_t needle_len, const char *p, size_t len,
                        uint32_t *seq)
{
    const char *end = p + len;
    const char *q = needle_len > 0 ? memmem(p, len, needle, needle_len) : NULL;
    if (q == NULL)
        return false;
    q += needle_len;
    const char *obj_end = memchr(q, '}', (size_t)(end - q));
    if (obj_end == NULL)
        return false;
    const char *s = memmem(q, (size_t)(obj_end - q), "\"seq\":", 6);
    if (s == NULL)
        return false;
    return scan_u32(s + 6, obj_end, seq) != NULL;
}

static void on_message_jansson(struct client *c, const char *p, size_t len, uint64_t now)
{
    json_error_t err;
    json_t *msg = json_loadb(p, len, 0, &err);
    if (msg == NULL) {
        count_code(c->lg->errors, &c->lg->n_errors, "(client: bad json from server)");
        return;
    }
    const char *t = json_string_value(json_object_get(msg, "t"));
    if (t == NULL) {
    } else if (strcmp(t, "update") == 0) {
        if (c->state == C_JOINED) {
            json_t *players = json_object_get(msg, "players");
            size_t i;
            json_t *pl;
            json_array_foreach(players, i, pl)
            {
                json_int_t id = json_integer_value(json_object_get(pl, "id"));
                json_int_t s = json_integer_value(json_object_get(pl, "seq"));
                if (id > 0 && id <= (json_int_t)UINT32_MAX && s > 0 && s <= (json_int_t)UINT32_MAX)
                    saw_player(c, (uint32_t)id, (uint32_t)s, now);
            }
        }
    } else if (strcmp(t, "welcome") == 0) {
        json_int_t id = json_integer_value(json_object_get(msg, "id"));
        if (id > 0 && id <= (json_int_t)UINT32_MAX)
            on_welcome(c, (uint32_t)id);
    } else if (strcmp(t, "error") == 0) {
        const char *code = json_string_value(json_object_get(msg, "code"));
        on_error_msg(c, code ? code : "(no code)");
    }
    /* left, pong: nothing to do */
    json_decref(msg);
}

static void on_message(struct client *c, const char *p, size_t len, uint64_t now)
{
    struct lg *lg = c->lg;
    if (!lg->o.use_jansson) {
        if (len >= sizeof UPDATE_PREFIX - 1 &&
            memcmp(p, UPDATE_PREFIX, sizeof UPDATE_PREFIX - 1) == 0) {
            uint32_t seq;
            if (c->state == C_JOINED && scan_update(c->needle, c->needle_len, p, len, &seq))
                client_ack(c, seq, now);
            if (c->state == C_JOINED && scan_update(c->wneedle, c->wneedle_len, p, len, &seq))
                saw_watched(c, seq, now);
            return;
        }
        if (len >= sizeof WELCOME_PREFIX - 1 &&
            memcmp(p, WELCOME_PREFIX, sizeof WELCOME_PREFIX - 1) == 0) {
            uint32_t id;
            const char *q = p + sizeof WELCOME_PREFIX - 1;
            if (scan_u32(q, p + len, &id) != NULL && id > 0) {
                on_welcome(c, id);
                return;
            }
        }
        if (len >= sizeof LEFT_PREFIX - 1 && memcmp(p, LEFT_PREFIX, sizeof LEFT_PREFIX - 1) == 0)
            return; /* another player left: nothing to measure */
        lg->jansson_fallbacks++;
    }
    on_message_jansson(c, p, len, now);
}

/* A binary update (arena/arena_wire.h): only our own and the watched
 * player's records matter; moved records are fixed-width, so this is a
 * comparison per record. */
static void on_binary(struct client *c, const char *p, size_t len, uint64_t now)
{
    struct wr_awire_view v;
    if (wr_awire_parse(p, len, &v) != 0) {
        count_code(c->lg->errors, &c->lg->n_errors, "(client: bad binary frame)");
        return;
    }
    if (c->state != C_JOINED)
        return;
    const uint8_t *cur = v.full;
    for (uint32_t i = 0; i < v.n_full; i++) {
        struct wr_awire_player pl;
        wr_awire_next_full(&cur, &pl);
        saw_player(c, pl.id, pl.seq, now);
    }
    for (uint32_t i = 0; i < v.n_moved; i++) {
        const uint8_t *r = v.moved + (size_t)i * WR_AWIRE_MOVED_BYTES;
        uint32_t id = wr_awire_u32(r);
        if (id == c->player_id || id == c->watch_id)
            saw_player(c, id, wr_awire_u32(r + 8), now);
    }
}

static void on_frame(struct client *c, bool fin, uint8_t op, const char *p, size_t len,
                     uint64_t now)
{
    struct lg *lg = c->lg;
    switch (op) {
    case 0x8: { /* close: echo the code, then drop the connection */
        uint16_t code = len >= 2 ? (uint16_t)((uint8_t)p[0] << 8 | (uint8_t)p[1]) : 1005;
        char text[16];
        snprintf(text, sizeof text, "%u", code);
        if (lg->phase < PH_LEAVE)
            count_code(lg->closes, &lg->n_closes, text);
        uint8_t body[2] = {(uint8_t)(code >> 8), (uint8_t)code};
        ws_send(c, 0x8, body, len >= 2 ? 2 : 0);
        client_close(c, true);
        return;
    }
    case 0x9: /* ping */
        if (len <= 125)
            ws_send(c, 0xA, p, len);
        return;
    case 0xA: /* pong */
        return;
    case 0x1:
    case 0x2:
        if (fin) {
            if (op == 0x1)
                on_message(c, p, len, now);
            else
                on_binary(c, p, len, now);
            return;
        }
        c->frag_op = op;
        c->frag.len = 0;
        buf_append(&c->frag, p, len);
        return;
    case 0x0:
        if (c->frag_op == 0 || c->frag.len + len > LG_MAX_MSG) {
            lg->protocol_errors++;
            client_close(c, true);
            return;
        }
        buf_append(&c->frag, p, len);
        if (fin) {
            if (c->frag_op == 0x1)
                on_message(c, c->frag.base, c->frag.len, now);
            else
                on_binary(c, c->frag.base, c->frag.len, now);
            c->frag_op = 0;
            c->frag.len = 0;
        }
        return;
    default:
        lg->protocol_errors++;
        client_close(c, true);
        return;
    }
}

/* Parse whole frames from @p; returns the bytes consumed. */
static size_t ws_parse(struct client *c, const char *p, size_t n, uint64_t now)
{
    struct lg *lg = c->lg;
    size_t off = 0;
    while (c->state == C_JOINING || c->state == C_JOINED) {
        if (n - off < 2)
            break;
        const uint8_t *h = (const uint8_t *)p + off;
        bool fin = h[0] & 0x80;
        uint8_t op = h[0] & 0x0f;
        uint64_t len = h[1] & 0x7f;
        size_t hl = 2;
        if ((h[0] & 0x70) || (h[1] & 0x80)) { /* RSV bits, or a masked server frame */
            lg->protocol_errors++;
            client_close(c, true);
            break;
        }
        if (len == 126) {
            if (n - off < 4)
                break;
            len = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (len == 127) {
            if (n - off < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | h[2 + i];
            hl = 10;
        }
        if (len > LG_MAX_MSG) {
            lg->protocol_errors++;
            client_close(c, true);
            break;
        }
        if (n - off < hl + len) {
            /* Make room once for the whole frame rather than doubling. */
            buf_reserve(&c->in, hl + (size_t)len);
            break;
        }
        lg->frames_in_total++;
        if (in_window(lg, now)) {
            lg->frames_in++;
            lg->bytes_in += hl + len;
        }
        on_frame(c, fin, op, p + off + hl, (size_t)len, now);
        off += hl + (size_t)len;
    }
    return off;
}

const char *find_header(const char *head, size_t len, const char *name)
{
    size_t nl = strlen(name);
    const char *p = head;
    const char *end = head + len;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (eol == NULL)
            eol = end;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            return p + nl + 1;
        p = eol + 2;
    }
    return NULL;
}

static void send_join(struct client *c)
{
    char msg[80];
    int n = snprintf(msg, sizeof msg, "{\"t\":\"join\",\"name\":\"%s\"%s}", c->name,
                     c->lg->o.binary ? ",\"enc\":\"bin\"" : "");
    ws_send_text(c, msg, (size_t)n);
}

/* Consume the HTTP upgrade response; returns bytes consumed (0: need more). */
static size_t handshake_parse(struct client *c, const char *p, size_t n)
{
    struct lg *lg = c->lg;
    const char *eoh = memmem(p, n, "\r\n\r\n", 4);
    if (eoh == NULL) {
        if (n > LG_MAX_HANDSHAKE) {
            lg->handshake_errors++;
            client_close(c, true);
        }
        return 0;
    }
    size_t hlen = (size_t)(eoh - p) + 4;
    bool ok = hlen > 12 && memcmp(p, "HTTP/1.1 101", 12) == 0;
    if (ok) {
        const char *v = find_header(p, hlen, "Sec-WebSocket-Accept");
        if (v == NULL) {
            ok = false;
        } else {
            while (*v == ' ' || *v == '\t')
                v++;
            size_t al = strlen(c->accept);
            ok = strncmp(v, c->accept, al) == 0 && (v[al] == '\r' || v[al] == ' ');
        }
    }
    if (!ok) {
        lg->handshake_errors++;
        client_close(c, true);
        return 0;
    }
    c->state = C_JOINING;
    send_join(c);
    return hlen;
}

static size_t client_process(struct client *c, const char *p, size_t n, uint64_t now)
{
    size_t used = 0;
    if (c->state == C_HANDSHAKE) {
        used = handshake_parse(c, p, n);
        if (used == 0)
            return 0;
    }
    return used + ws_parse(c, p + used, n - used, now);
}

static void client_feed(struct client *c, const char *data, size_t n, uint64_t now)
{
    if (c->in.len == 0) {
        size_t used = client_process(c, data, n, now);
        if (c->state != C_CLOSED && used < n)
            buf_append(&c->in, data + used, n - used);
        return;
    }
    buf_append(&c->in, data, n);
    size_t used = client_process(c, c->in.base, c->in.len, now);
    if (c->state == C_CLOSED)
        return;
    memmove(c->in.base, c->in.base + used, c->in.len - used);
    c->in.len -= used;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct client *c = h->data;
    (void)suggested;
    /* One shared buffer: read callbacks run one at a time and each consumes
     * (or copies) what it was given before returning. */
    *b = uv_buf_init(c->lg->rbuf, LG_RBUF_SIZE);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct client *c = s->data;
    if (c->state == C_CLOSED)
        return;
    if (nread < 0) {
        if (c->state == C_JOINED && c->lg->phase < PH_LEAVE)
            count_code(c->lg->closes, &c->lg->n_closes,
                       nread == UV_EOF ? "eof" : uv_err_name((int)nread));
        client_close(c, true);
        return;
    }
    if (nread == 0)
        return;
    client_feed(c, b->base, (size_t)nread, uv_hrtime());
}

static void make_key(struct client *c, char key[32])
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1)
        for (size_t i = 0; i < sizeof raw; i++)
            raw[i] = (unsigned char)bench_rng_next(&c->lg->rng);
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
    char cat[64];
    int n = snprintf(cat, sizeof cat, "%s%s", key, WS_GUID);
    unsigned char dig[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)cat, (size_t)n, dig);
    EVP_EncodeBlock((unsigned char *)c->accept, dig, SHA_DIGEST_LENGTH);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct client *c = req->data;
    struct lg *lg = c->lg;
    if (c->state != C_CONNECTING)
        return;
    if (status < 0) {
        lg->connect_errors++;
        client_close(c, true);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->state = C_HANDSHAKE;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
        client_close(c, true);
        return;
    }
    char key[32];
    make_key(c, key);
    char req_text[512];
    int n = snprintf(req_text, sizeof req_text,
                     "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\nUser-Agent: warren-loadgen\r\n\r\n",
                     lg->nodes[c->node].text, key);
    client_write(c, req_text, (size_t)n);
}

void client_start(struct client *c)
{
    struct lg *lg = c->lg;
    lg->handshaking++;
    c->state = C_CONNECTING;
    if (uv_tcp_init(lg->loop, &c->tcp) < 0) {
        c->state = C_IDLE;
        lg->handshaking--;
        lg->join_failed++;
        lg->connect_errors++;
        return;
    }
    c->tcp.data = c;
    c->creq.data = c;
    c->wr.wreq.data = c;
    int r = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&lg->nodes[c->node].addr,
                           on_connect);
    if (r < 0) {
        lg->connect_errors++;
        client_close(c, true);
    }
}

/* ---- --bench-parse: the measurement behind the scanner ------------------ */

static double now_s(void)
{
    return (double)uv_hrtime() / 1e9;
}

int bench_parse(void)
{
    enum { PLAYERS = 333, ITER = 20000 };
    struct buf f = {0};
    buf_append(&f, UPDATE_PREFIX, sizeof UPDATE_PREFIX - 1);
    for (int i = 0; i < PLAYERS; i++) {
        char item[160];
        int n = snprintf(item, sizeof item,
                         "%s{\"id\":%d,\"name\":\"lg-a1-%d\",\"x\":%d,\"y\":%d,\"seq\":%d,"
                         "\"node\":%d}",
                         i ? "," : "", i * 3 + 1, i * 3, i % 64, i % 48, 1000 + i, 1 + i % 3);
        buf_append(&f, item, (size_t)n);
    }
    buf_append(&f, "]}", 2);
    struct lg lg;
    memset(&lg, 0, sizeof lg);
    struct client c;
    memset(&c, 0, sizeof c);
    c.lg = &lg;
    c.needle_len = (uint8_t)snprintf(c.needle, sizeof c.needle, "{\"id\":%d,", 3 * 250 + 1);
    uint64_t sink = 0;
    double t = now_s();
    for (int i = 0; i < ITER; i++) {
        uint32_t seq = 0;
        if (scan_update(c.needle, c.needle_len, f.base, f.len, &seq))
            sink += seq;
    }
    double scan = (now_s() - t) / ITER;
    t = now_s();
    for (int i = 0; i < ITER / 10; i++) {
        json_t *m = json_loadb(f.base, f.len, 0, NULL);
        json_t *pl;
        size_t k;
        json_array_foreach(json_object_get(m, "players"), k, pl)
        {
            if (json_integer_value(json_object_get(pl, "id")) == 751) {
                sink += (uint64_t)json_integer_value(json_object_get(pl, "seq"));
                break;
            }
        }
        json_decref(m);
    }
    double jans = (now_s() - t) / (ITER / 10);
    printf("update frame: %d players, %zu bytes\n", PLAYERS, f.len);
    printf("  scanner  %8.2f us/frame  %8.0f MB/s\n", scan * 1e6, (double)f.len / scan / 1e6);
    printf("  jansson  %8.2f us/frame  %8.0f MB/s  (%.0fx slower)\n", jans * 1e6,
           (double)f.len / jans / 1e6, jans / scan);
    printf("  (checksum %" PRIu64 ")\n", sink);
    buf_free(&f);
    return 0;
}
