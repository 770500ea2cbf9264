/* libFuzzer driver for the telnet input path (net/telnet.c and
 * telnet_opts.c): every byte a MUD client sends goes through libtelnet
 * (negotiation, subnegotiation, IAC escaping) into our handlers: line
 * assembly (line ends, BS/DEL, controls, UTF-8 repair, max_line, rate
 * limit), TTYPE/MTTS, NAWS, GMCP (Core.Hello, Core.Supports.*, JSON check)
 * and the limits that close.
 *
 * No socket: the driver builds one server struct (with a real uv_prepare
 * for the flusher, which queuing output starts) and one connection struct,
 * and goes through the same wr__telnet_conn_setup and wr__telnet_feed
 * the accept and read callbacks use. Output stays in the connection's
 * buffer (the loop never runs, so uv_now stays put and the rate limit is a
 * plain token count).
 *
 * Input: byte 0 picks max_line (bits 0-2), the line burst (bits 3-5) and
 * max_subneg (bits 6-7); byte 1 the number n (0..7) of chunk-length bytes
 * that follow (bits 0-2) and whether the connection comes from a trusted
 * proxy (bit 3: its stream may start with a PROXY v1 header); the rest is the byte stream from the client, fed in chunks
 * of those lengths (cycled; each chunk in a heap block of its exact size),
 * and again in one piece.
 *
 * Invariants:
 *   - every line handed to on_line is valid UTF-8 (an independent decoder),
 *     holds no C0 control or DEL, is at most max_line bytes, is
 *     NUL-terminated, and arrives only while the connection is OPEN;
 *   - on_gmcp gets a well-formed package name and NUL-terminated JSON that
 *     jansson accepts, or "";
 *   - the width and height stay non-zero; the client strings stay short
 *     and printable;
 *   - once CLOSING, a connection stays CLOSING and nothing more is queued;
 *   - lines_in counts the on_line calls;
 *   - the chunking does not matter: the same lines, GMCP messages, queued
 *     output, final state and counters as the one-piece feed;
 *   - on_close is called exactly once;
 *   - trusted: a stream starting with "PROXY " is a header: if its first
 *     line (through the LF, within 107 bytes) parses (wr_proxy_v1_parse),
 *     the peer becomes its source (TCP4/TCP6) or stays (UNKNOWN), else the
 *     connection is closing (abort); with no LF in 107 bytes it is closing;
 *     a stream that does not start with "PROXY " leaves the peer alone. The
 *     peer is the same whatever the chunking. Untrusted: the peer never
 *     changes. */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_common.h"
#include "net/telnet.h"
#include "net/telnet_internal.h"

static uv_loop_t loop;
static struct wr_telnet_server *srv;
static struct wr_telnet *cur; /* connection being fed */

struct run {
    uint64_t line_digest, gmcp_digest;
    size_t lines, gmcps, resizes;
    size_t opens, closes;
};
static struct run *run;

/* Independent UTF-8 check: decode each sequence and range-check the code
 * point (no overlongs, no surrogates, nothing above U+10FFFF). */
static bool utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t c = s[i];
        size_t k;
        uint32_t min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1;
            c &= 0x1f;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
            c &= 0x0f;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3;
            c &= 0x07;
            min = 0x10000;
        } else {
            return false;
        }
        if (n - i - 1 < k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            uint8_t b = s[i + j];
            if ((b & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (b & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

static bool printable(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (n >= max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

static void on_open(struct wr_telnet_server *s, struct wr_telnet *t)
{
    FUZZ_CHECK(s == srv && t == cur);
    run->opens++;
}

static void on_line(struct wr_telnet *t, const char *line, size_t len)
{
    FUZZ_CHECK(t == cur && t->state == WR_TELNET_OPEN);
    FUZZ_CHECK(line != NULL && line[len] == '\0');
    FUZZ_CHECK(len <= srv->limits.max_line);
    FUZZ_CHECK(utf8_ok((const uint8_t *)line, len));
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK((unsigned char)line[i] >= 0x20 && (unsigned char)line[i] != 0x7f);
    run->lines++;
    run->line_digest = fuzz_digest_u64(run->line_digest, len);
    run->line_digest = fuzz_digest(run->line_digest, line, len);
    /* Answer like a game would: output interleaves with parsing. */
    if (len > 0 && line[0] == 'p')
        wr_telnet_prompt(t, "> ", 2);
    else if (len > 0 && line[0] == 'g')
        wr_telnet_gmcp(t, "Char.Vitals", "{\"hp\":1}");
    else if (len > 0 && line[0] == 'q')
        wr_telnet_close(t, "bye\n");
    else
        wr_telnet_send(t, line, len);
}

static void on_gmcp(struct wr_telnet *t, const char *package, const char *json)
{
    FUZZ_CHECK(t == cur && t->state == WR_TELNET_OPEN);
    size_t n = strlen(package);
    FUZZ_CHECK(n > 0);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(isalnum((unsigned char)package[i]) || package[i] == '.' ||
                   package[i] == '_' || package[i] == '-');
    if (json[0] != '\0') {
        json_error_t err;
        json_t *doc = json_loads(json, JSON_DECODE_ANY, &err);
        FUZZ_CHECK(doc != NULL);
        json_decref(doc);
    }
    run->gmcps++;
    run->gmcp_digest = fuzz_digest(run->gmcp_digest, package, n + 1);
    run->gmcp_digest = fuzz_digest(run->gmcp_digest, json, strlen(json));
}

static void on_resize(struct wr_telnet *t, unsigned width, unsigned height)
{
    FUZZ_CHECK(t == cur);
    FUZZ_CHECK(width > 0 && height > 0 && width <= 0xffff && height <= 0xffff);
    run->resizes++;
}

static void on_close(struct wr_telnet *t)
{
    FUZZ_CHECK(t == cur);
    run->closes++;
}

static size_t mssp(void *data, struct wr_telnet_mssp_var *vars, size_t max)
{
    (void)data;
    FUZZ_CHECK(max >= 2);
    vars[0] = (struct wr_telnet_mssp_var){"NAME", "Warren"};
    vars[1] = (struct wr_telnet_mssp_var){"PLAYERS", "\x01\x02weird\xff"};
    return 2;
}

static const size_t max_line_choices[8] = {1024, 1, 2, 3, 4, 16, 80, 5000};
static const unsigned burst_choices[8] = {60, 0, 1, 2, 3, 5, 8, 100000};
static const size_t max_subneg_choices[4] = {8192, 4, 64, 100000};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    FUZZ_CHECK(uv_loop_init(&loop) == 0);
    srv = calloc(1, sizeof *srv);
    FUZZ_CHECK(srv != NULL);
    srv->ss.loop = &loop;
    srv->ss.ops = &wr__telnet_stream_ops;
    srv->ss.bytes_in = &srv->stats.bytes_in;
    srv->ss.bytes_out = &srv->stats.bytes_out;
    srv->ss.limit_closes = &srv->stats.limit_closes;
    wr_telnet_limits_default(&srv->limits);
    srv->h.on_open = on_open;
    srv->h.on_line = on_line;
    srv->h.on_gmcp = on_gmcp;
    srv->h.on_resize = on_resize;
    srv->h.on_close = on_close;
    srv->h.mssp = mssp;
    /* Queuing output starts the flusher: it must be a real handle. */
    FUZZ_CHECK(uv_prepare_init(&loop, &srv->ss.flusher) == 0);
    return 0;
}

struct outcome {
    struct run run;
    uint64_t out_digest;
    enum wr_telnet_state state;
    bool abort, color, gmcp, eor, compressing;
    unsigned width, height, mtts;
    struct wr_telnet_stats stats;
    char peer[64];
};

/* What the PROXY part must have done with @stream (see the top). */
static void check_proxy(const uint8_t *stream, size_t len, bool trusted, const struct wr_telnet *t)
{
    FUZZ_CHECK(t->proxy_len <= WR_PROXY_V1_MAX);
    FUZZ_CHECK(t->proxy != WR_TELNET_PROXY_NONE || t->proxy_len == 0);
    FUZZ_CHECK(trusted || t->proxy == WR_TELNET_PROXY_NONE);
    if (!trusted || len < WR_PROXY_V1_PREFIX_LEN ||
        memcmp(stream, WR_PROXY_V1_PREFIX, WR_PROXY_V1_PREFIX_LEN) != 0) {
        if (!trusted || len >= WR_PROXY_V1_PREFIX_LEN)
            FUZZ_CHECK(strcmp(t->s.peer, "fuzz:1") == 0);
        return;
    }
    size_t scan = len < WR_PROXY_V1_MAX ? len : WR_PROXY_V1_MAX;
    const uint8_t *lf = memchr(stream, '\n', scan);
    if (lf == NULL) {
        if (len >= WR_PROXY_V1_MAX)
            FUZZ_CHECK(t->state == WR_TELNET_CLOSING && t->s.abort);
        else
            FUZZ_CHECK(t->proxy == WR_TELNET_PROXY_LINE && t->proxy_len == len);
        FUZZ_CHECK(strcmp(t->s.peer, "fuzz:1") == 0);
        return;
    }
    FUZZ_CHECK(t->proxy == WR_TELNET_PROXY_NONE);
    struct wr_proxy_v1 h;
    const char *why;
    if (wr_proxy_v1_parse((const char *)stream, (size_t)(lf - stream) + 1, &h, &why) != 0) {
        FUZZ_CHECK(t->state == WR_TELNET_CLOSING && t->s.abort);
        FUZZ_CHECK(strcmp(t->s.peer, "fuzz:1") == 0);
    } else if (h.family == WR_PROXY_UNKNOWN) {
        FUZZ_CHECK(strcmp(t->s.peer, "fuzz:1") == 0);
    } else {
        FUZZ_CHECK(strcmp(t->s.peer, h.src) == 0);
        FUZZ_CHECK(printable(t->s.peer, sizeof t->s.peer));
    }
}

static void feed(const uint8_t *stream, size_t len, const uint8_t *chunks, size_t n_chunks,
                 bool trusted, struct outcome *out)
{
    memset(out, 0, sizeof *out);
    memset(&srv->stats, 0, sizeof srv->stats);
    run = &out->run;
    struct wr_telnet *t = calloc(1, sizeof *t);
    FUZZ_CHECK(t != NULL);
    t->s.srv = &srv->ss;
    snprintf(t->s.peer, sizeof t->s.peer, "fuzz:1");
    cur = t;
    wr__telnet_conn_setup(t);
    FUZZ_CHECK(t->state == WR_TELNET_OPEN && t->conn.kind == WR_CONN_TELNET);
    FUZZ_CHECK(t->out.len == 21); /* the seven offers */
    if (trusted)
        wr__telnet_expect_proxy(t);
    size_t off = 0, ci = 0;
    while (off < len) {
        size_t n = n_chunks ? (size_t)chunks[ci++ % n_chunks] + 1 : len;
        if (n > len - off)
            n = len - off;
        char *buf = malloc(n);
        FUZZ_CHECK(buf != NULL);
        memcpy(buf, stream + off, n);
        enum wr_telnet_state before = t->state;
        size_t out_before = t->out.len;
        wr__telnet_feed(t, buf, n);
        free(buf);
        off += n;
        if (before == WR_TELNET_CLOSING) {
            FUZZ_CHECK(t->state == WR_TELNET_CLOSING);
            FUZZ_CHECK(t->out.len == out_before || t->s.abort);
        }
        FUZZ_CHECK(t->out.len <= srv->limits.max_output_bytes);
        FUZZ_CHECK(t->width > 0 && t->height > 0);
        FUZZ_CHECK(t->line.len <= srv->limits.max_line);
        FUZZ_CHECK(!t->discarding || t->line.len == 0);
        FUZZ_CHECK(t->u8_len + t->u8_need <= 4);
        FUZZ_CHECK(t->n_supports <= WR_TELNET_MAX_SUPPORTS);
        FUZZ_CHECK(t->ttype_asked <= WR_TELNET_TTYPE_ASKS);
        FUZZ_CHECK(printable(t->client_name, sizeof t->client_name));
        FUZZ_CHECK(printable(t->term_type, sizeof t->term_type));
        FUZZ_CHECK(printable(t->gmcp_client, sizeof t->gmcp_client));
        FUZZ_CHECK(printable(t->gmcp_version, sizeof t->gmcp_version));
        /* The accessors agree with the state. */
        FUZZ_CHECK(wr_telnet_width(t) == t->width);
        FUZZ_CHECK(!wr_telnet_gmcp_supports(t, "Char.Vitals") || t->gmcp);
    }
    FUZZ_CHECK(srv->stats.lines_in == out->run.lines);
    check_proxy(stream, len, trusted, t);
    memcpy(out->peer, t->s.peer, sizeof out->peer);
    out->out_digest = fuzz_digest(0, t->out.base, t->out.len);
    out->state = t->state;
    out->abort = t->s.abort;
    out->color = t->color;
    out->gmcp = t->gmcp;
    out->eor = t->eor;
    out->compressing = t->compressing;
    out->width = t->width;
    out->height = t->height;
    out->mtts = t->mtts;
    out->stats = srv->stats;
    if (getenv("WARREN_FUZZ_LOG") != NULL)
        fprintf(stderr, "fuzz_telnet: %zu chunk lengths: %zu lines, %zu gmcp, %zu out, state %d\n",
                n_chunks, out->run.lines, out->run.gmcps, t->out.len, (int)t->state);
    /* What the close callback does, minus the handle. */
    wr__telnet_notify_close(t);
    wr__telnet_notify_close(t);
    wr__telnet_conn_release(t);
    free(t);
    srv->ss.dirty_head = srv->ss.dirty_tail = NULL;
    if (srv->ss.flusher_active) {
        uv_prepare_stop(&srv->ss.flusher);
        srv->ss.flusher_active = false;
    }
    cur = NULL;
    FUZZ_CHECK(out->run.opens == 1 && out->run.closes == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    srv->limits.max_line = max_line_choices[data[0] & 7];
    unsigned burst = burst_choices[(data[0] >> 3) & 7];
    srv->limits.line_rate = burst == 0 ? 0 : 20;
    srv->limits.line_burst = burst;
    srv->limits.max_subneg = max_subneg_choices[data[0] >> 6];
    size_t n_chunks = data[1] & 7;
    bool trusted = (data[1] >> 3) & 1;
    if (size < 2 + n_chunks)
        return 0;
    const uint8_t *chunks = data + 2;
    const uint8_t *stream = data + 2 + n_chunks;
    size_t len = size - 2 - n_chunks;

    struct outcome whole, split;
    feed(stream, len, NULL, 0, trusted, &whole);
    feed(stream, len, chunks, n_chunks, trusted, &split);
    FUZZ_CHECK(whole.run.lines == split.run.lines);
    FUZZ_CHECK(whole.run.line_digest == split.run.line_digest);
    FUZZ_CHECK(whole.run.gmcps == split.run.gmcps);
    FUZZ_CHECK(whole.run.gmcp_digest == split.run.gmcp_digest);
    FUZZ_CHECK(whole.run.resizes == split.run.resizes);
    FUZZ_CHECK(whole.out_digest == split.out_digest);
    FUZZ_CHECK(whole.state == split.state && whole.abort == split.abort);
    FUZZ_CHECK(whole.color == split.color && whole.gmcp == split.gmcp && whole.eor == split.eor);
    FUZZ_CHECK(whole.compressing == split.compressing);
    FUZZ_CHECK(whole.width == split.width && whole.height == split.height);
    FUZZ_CHECK(whole.mtts == split.mtts);
    FUZZ_CHECK(whole.stats.lines_in == split.stats.lines_in);
    FUZZ_CHECK(whole.stats.lines_dropped == split.stats.lines_dropped);
    FUZZ_CHECK(whole.stats.limit_closes == split.stats.limit_closes);
    FUZZ_CHECK(strcmp(whole.peer, split.peer) == 0);
    return 0;
}
