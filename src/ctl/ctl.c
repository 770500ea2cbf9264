/* `warren ctl`, the admin CLI; see ctl.h.
 *
 * Why a hand-written HTTP client rather than libcurl: every request this CLI
 * makes is one GET (or, for `world load`, one POST of a bundle of at most a
 * few MiB), with Connection: close, to a Warren node's own HTTP server on a
 * dotted-quad address. That needs a socket, poll() for the
 * timeouts, and a parser for a status line, two headers and a body. The core
 * is about 60 lines; with hard limits, chunked decoding and precise error
 * messages it is the first ~380 lines below, all driven by the unit tests
 * against a fake server. libcurl would be one more build and runtime
 * dependency (with TLS, proxies, redirects and cookies we never use) for
 * that. A CLI making one call at a time needs no event loop either, so this
 * is plain blocking POSIX sockets, not libuv.
 *
 * Everything a node sends is untrusted: the HTTP layer has hard limits (head
 * size, response size, timeouts, a whole-answer deadline), every JSON field is
 * optional and type-checked before use, and every string is stripped of
 * terminal control characters before it is printed (player names are chosen
 * by players, and an admin's terminal should not run their escape codes).
 *
 * Layout: the HTTP client, then the table printer and the formatters (pure:
 * JSON in, text out), then the commands and wr_ctl_main, which do the I/O. */
#include "ctl/ctl.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/alloc.h"
#include "common/bytes.h"
#include "mud/worldfile.h"

/* ---- HTTP client ------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until @fd is ready for @events, for at most @timeout_ms, retrying on
 * EINTR. Returns 1 when ready (an error or hangup counts as ready: the next
 * call on the socket reports it), 0 on timeout, -1 with errno. */
static int wait_fd(int fd, short events, long long timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        long long left = end - now_ms();
        int n = poll(&p, 1, left > 0 ? (int)left : 0);
        if (n >= 0)
            return n > 0;
        if (errno != EINTR)
            return -1;
    }
}

/* strerror(@e) with a lower-case first letter, to sit after a colon. */
static const char *errno_text(int e, char *buf, size_t len)
{
    const char *s = strerror_r(e, buf, len); /* GNU variant (_GNU_SOURCE) */
    if (s != buf) {
        snprintf(buf, len, "%s", s);
    }
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

/* Open a TCP connection to @sa within WR_CTL_TIMEOUT_MS. Returns a
 * non-blocking socket, or -1 with the reason in @err. */
static int connect_to(const struct sockaddr_in *sa, const char *hostport, char *err, size_t errlen)
{
    char text[128];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket() failed: %s", errno_text(errno, text, sizeof text));
        return -1;
    }
    int e = 0;
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) != 0) {
        /* EINTR on a non-blocking connect: it goes on in the background. */
        if (errno != EINPROGRESS && errno != EINTR) {
            e = errno;
        } else {
            int r = wait_fd(fd, POLLOUT, WR_CTL_TIMEOUT_MS);
            socklen_t elen = sizeof e;
            if (r == 0)
                e = ETIMEDOUT;
            else if (r < 0)
                e = errno;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0)
                e = errno;
        }
    }
    if (e != 0) {
        close(fd);
        snprintf(err, errlen, "cannot reach node at %s: %s", hostport,
                 errno_text(e, text, sizeof text));
        return -1;
    }
    return fd;
}

/* Send all of @p. Returns 0, or an errno value (ETIMEDOUT when the socket
 * stays full for WR_CTL_TIMEOUT_MS). */
static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(fd, POLLOUT, WR_CTL_TIMEOUT_MS);
            if (r <= 0)
                return r == 0 ? ETIMEDOUT : errno;
        } else {
            return n < 0 ? errno : EPIPE;
        }
    }
    return 0;
}

/* The status line and headers of a response, as far as we use them. */
struct head {
    int status;
    size_t body_off; /* bytes up to and including the blank line */
    bool has_length;
    size_t length; /* Content-Length */
    bool chunked;
};

static bool name_is(const char *name, size_t len, const char *lit)
{
    return len == strlen(lit) && strncasecmp(name, lit, len) == 0;
}

/* Parse one header line [@p, @end) into @h. Returns 0, or -1 with @why. */
static int parse_header(const char *p, const char *end, struct head *h, const char **why)
{
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (colon == NULL || colon == p) {
        *why = "header line without a name and a colon";
        return -1;
    }
    const char *v = colon + 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    const char *vend = end;
    while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
        vend--;
    size_t nlen = (size_t)(colon - p);
    if (name_is(p, nlen, "content-length")) {
        size_t n = 0;
        if (v == vend) {
            *why = "empty Content-Length";
            return -1;
        }
        for (const char *q = v; q < vend; q++) {
            if (*q < '0' || *q > '9') {
                *why = "Content-Length is not a number";
                return -1;
            }
            n = n * 10 + (size_t)(*q - '0');
            if (n > WR_CTL_MAX_RESPONSE) {
                *why = "Content-Length exceeds 16 MiB";
                return -1;
            }
        }
        if (h->has_length && h->length != n) {
            *why = "conflicting Content-Length headers";
            return -1;
        }
        h->has_length = true;
        h->length = n;
    } else if (name_is(p, nlen, "transfer-encoding")) {
        if (!name_is(v, (size_t)(vend - v), "chunked")) {
            *why = "unsupported Transfer-Encoding (only chunked is understood)";
            return -1;
        }
        h->chunked = true;
    }
    return 0;
}

/* Parse the head at the start of @buf. Returns 1 and fills @h when it is
 * complete, 0 when more bytes are needed, -1 with @why when it is malformed
 * (found as early as possible, so a garbage-spewing peer is cut off). */
static int parse_head(const char *buf, size_t len, struct head *h, const char **why)
{
    static const char proto[] = "HTTP/1.";
    size_t plen = sizeof proto - 1;
    if (memcmp(buf, proto, len < plen ? len : plen) != 0) {
        *why = "no HTTP/1.x status line";
        return -1;
    }
    const char *end = memmem(buf, len < WR_CTL_MAX_HEAD ? len : WR_CTL_MAX_HEAD, "\r\n\r\n", 4);
    if (end == NULL) {
        if (len >= WR_CTL_MAX_HEAD) {
            *why = "status line and headers exceed 64 KiB";
            return -1;
        }
        return 0;
    }
    memset(h, 0, sizeof *h);
    h->body_off = (size_t)(end - buf) + 4;

    /* Status line: HTTP/1.x SP DDD [SP reason] CRLF */
    const char *eol = memmem(buf, (size_t)(end + 2 - buf), "\r\n", 2);
    size_t n = (size_t)(eol - buf);
    const unsigned char *s = (const unsigned char *)buf;
    if (n < 12 || !isdigit(s[7]) || s[8] != ' ' || s[9] < '1' || s[9] > '5' || !isdigit(s[10]) ||
        !isdigit(s[11]) || (n > 12 && s[12] != ' ')) {
        *why = "malformed status line";
        return -1;
    }
    h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');

    /* Header lines up to the blank line, which starts at end + 2. */
    for (const char *p = eol + 2; p < end + 2; p = eol + 2) {
        eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
        if (parse_header(p, eol, h, why) != 0)
            return -1;
    }
    return 1;
}

static unsigned hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    return (unsigned)(tolower((unsigned char)c) - 'a' + 10);
}

/* Decode the chunked body @p/@len into @out. Returns 0, or -1 with @why
 * (also when it ends before the last, zero-sized chunk). Trailers after the
 * last chunk are ignored. */
static int dechunk(const char *p, size_t len, struct wr_writer *out, const char **why)
{
    size_t i = 0;
    for (;;) {
        const char *eol = memmem(p + i, len - i, "\r\n", 2);
        if (eol == NULL) {
            *why = "chunked body ends before its last chunk";
            return -1;
        }
        size_t size = 0, digits = 0;
        const char *q = p + i;
        for (; q < eol && isxdigit((unsigned char)*q); q++, digits++) {
            size = size * 16 + hex_value(*q);
            if (size > WR_CTL_MAX_RESPONSE) {
                *why = "chunk size exceeds 16 MiB";
                return -1;
            }
        }
        if (digits == 0 || (q < eol && *q != ';' && *q != ' ' && *q != '\t')) {
            *why = "malformed chunk size line";
            return -1;
        }
        i = (size_t)(eol - p) + 2;
        if (size == 0)
            return 0;
        if (len - i < size + 2) {
            *why = "chunked body ends inside a chunk";
            return -1;
        }
        if (p[i + size] != '\r' || p[i + size + 1] != '\n') {
            *why = "chunk data not followed by CRLF";
            return -1;
        }
        wr_put_bytes(out, p + i, size);
        i += size + 2;
    }
}

/* Read the whole response from @fd into @buf: to EOF, or until the
 * Content-Length body is complete. Returns 1 with @h filled, or 0 / -1 after
 * writing the reason to @err. */
static int read_response(int fd, const char *hostport, struct wr_writer *buf, struct head *h,
                         char *err, size_t errlen)
{
    char text[128];
    const char *why = NULL;
    int have = 0; /* parse_head's answer */
    long long deadline = now_ms() + WR_CTL_DEADLINE_MS;
    for (;;) {
        if (have == 1 && h->has_length && !h->chunked && buf->len - h->body_off >= h->length)
            break;
        long long left = deadline - now_ms();
        bool last = left < WR_CTL_TIMEOUT_MS; /* the deadline comes first */
        int r = left <= 0 ? 0 : wait_fd(fd, POLLIN, last ? left : WR_CTL_TIMEOUT_MS);
        if (r == 0) {
            snprintf(err, errlen, "cannot reach node at %s: no complete answer within %d s",
                     hostport, (last ? WR_CTL_DEADLINE_MS : WR_CTL_TIMEOUT_MS) / 1000);
            return -1;
        }
        if (r < 0) {
            snprintf(err, errlen, "poll() failed: %s", errno_text(errno, text, sizeof text));
            return -1;
        }
        size_t room = 64 * 1024;
        ssize_t n = recv(fd, wr_writer_reserve(buf, room), room, 0);
        if (n > 0) {
            buf->len += (size_t)n;
            if (buf->len > WR_CTL_MAX_RESPONSE) {
                snprintf(err, errlen, "node %s sent a response larger than 16 MiB", hostport);
                return -1;
            }
            if (have == 0 && (have = parse_head((const char *)buf->base, buf->len, h, &why)) < 0)
                break;
            continue;
        }
        if (n == 0)
            break;
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        if (errno == ECONNRESET && buf->len > 0)
            break; /* judged below by what did arrive */
        snprintf(err, errlen, "cannot reach node at %s: %s", hostport,
                 errno_text(errno, text, sizeof text));
        return -1;
    }
    if (have == 1)
        return 1;
    if (buf->len == 0)
        snprintf(err, errlen, "node %s closed the connection without answering", hostport);
    else
        snprintf(err, errlen, "node %s sent a malformed HTTP response: %s", hostport,
                 why ? why : "incomplete status line and headers");
    return -1;
}

int wr_ctl_http_get(const char *hostport, const char *path, int *status, char **body, char *err,
                    size_t errlen)
{
    return wr_ctl_http_request(hostport, "GET", path, NULL, NULL, 0, status, body, err, errlen);
}

int wr_ctl_http_request(const char *hostport, const char *method, const char *path,
                        const char *content_type, const void *req_body, size_t req_len, int *status,
                        char **body, char *err, size_t errlen)
{
    char text[128];
    int rc = -1;
    *status = 0;
    *body = NULL;

    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
        snprintf(err, errlen, "unsupported method '%s'", method);
        return -1;
    }
    if (req_len > WR_CTL_MAX_REQUEST) {
        snprintf(err, errlen, "request body of %zu bytes exceeds %u MiB", req_len,
                 WR_CTL_MAX_REQUEST >> 20);
        return -1;
    }
    if (content_type != NULL && strpbrk(content_type, "\r\n") != NULL) {
        snprintf(err, errlen, "bad content type");
        return -1;
    }

    struct sockaddr_in sa;
    if (wr_addr_parse(hostport, &sa, text, sizeof text) != 0) {
        snprintf(err, errlen, "bad node address: %s", text);
        return -1;
    }
    if (path[0] != '/' || strpbrk(path, " \r\n") != NULL) {
        snprintf(err, errlen, "bad request path '%s'", path);
        return -1;
    }
    int fd = connect_to(&sa, hostport, err, errlen);
    if (fd < 0)
        return -1;

    char req[1024], length[96] = "";
    /* A POST always says how long its body is, even when it is empty. */
    if (strcmp(method, "POST") == 0)
        snprintf(length, sizeof length, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                 content_type != NULL ? content_type : "application/octet-stream", req_len);
    int reqlen = snprintf(req, sizeof req,
                          "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: warren-ctl\r\n"
                          "Accept: application/json\r\n%sConnection: close\r\n\r\n",
                          method, path, hostport, length);
    if (reqlen < 0 || (size_t)reqlen >= sizeof req) {
        snprintf(err, errlen, "request path too long");
        goto err_after_socket;
    }
    int e = send_all(fd, req, (size_t)reqlen);
    if (e == 0 && req_len > 0)
        e = send_all(fd, req_body, req_len);
    if (e != 0) {
        snprintf(err, errlen, "cannot reach node at %s: sending the request: %s", hostport,
                 errno_text(e, text, sizeof text));
        goto err_after_socket;
    }

    struct wr_writer buf, dec;
    struct head h;
    wr_writer_init(&buf, 4096);
    wr_writer_init(&dec, 0);
    if (read_response(fd, hostport, &buf, &h, err, errlen) != 1)
        goto err_after_buf;

    const char *p = (const char *)buf.base + h.body_off;
    size_t len = buf.len - h.body_off;
    const char *why = NULL;
    if (h.chunked) {
        if (dechunk(p, len, &dec, &why) != 0)
            goto err_malformed;
        p = (const char *)dec.base;
        len = dec.len;
    } else if (h.has_length) {
        if (len < h.length) {
            snprintf(err, errlen, "node %s sent a truncated body: %zu of %zu bytes", hostport, len,
                     h.length);
            goto err_after_buf;
        }
        len = h.length;
    }
    if (len > 0 && memchr(p, '\0', len) != NULL) {
        why = "body contains a NUL byte";
        goto err_malformed;
    }
    *body = wr_malloc(len + 1);
    if (len > 0)
        memcpy(*body, p, len);
    (*body)[len] = '\0';
    *status = h.status;
    rc = 0;
    goto err_after_buf;

err_malformed:
    snprintf(err, errlen, "node %s sent a malformed HTTP response: %s", hostport, why);
err_after_buf:
    wr_writer_free(&dec);
    wr_writer_free(&buf);
err_after_socket:
    close(fd);
    return rc;
}

/* ---- text cleaning and tables ------------------------------------------ */

/* A printable copy of @len bytes at @s: C0 controls, DEL and UTF-8-encoded
 * C1 controls become '?', and so does every non-ASCII byte when
 * @ascii_only (for bytes that nobody validated as UTF-8). Caller frees. */
static char *clean(const char *s, size_t len, bool ascii_only)
{
    char *o = wr_malloc(len + 1);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (ascii_only && c >= 0x80)) {
            o[j++] = '?';
        } else if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9f) {
            o[j++] = '?';
            i++;
        } else {
            o[j++] = (char)c;
        }
    }
    o[j] = '\0';
    return o;
}

/* Columns of terminal a cleaned UTF-8 string takes, counting one per code
 * point (wide CJK characters will misalign; good enough for an admin table). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

enum field_type { FIELD_INT, FIELD_STR };

/* The printable text of @obj[@key]: the integer or the cleaned string when
 * it has @type, "-" when missing or null, "?" when of another type.
 * Caller frees. */
static char *field_text(json_t *obj, const char *key, enum field_type type)
{
    json_t *v = json_object_get(obj, key); /* NULL when obj is not an object */
    char num[32];
    if (v == NULL || json_is_null(v))
        return wr_strdup("-");
    if (type == FIELD_INT && json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return wr_strdup(num);
    }
    if (type == FIELD_STR && json_is_string(v))
        return clean(json_string_value(v), json_string_length(v), false);
    return wr_strdup("?");
}

#define WR_TABLE_MAX_COLS 8

/* Rows of cells filled left to right, printed with aligned columns. */
struct table {
    size_t ncols;
    size_t ncells;
    size_t cap;
    char **cells; /* owned */
};

static void table_init(struct table *t, size_t ncols)
{
    assert(ncols > 0 && ncols <= WR_TABLE_MAX_COLS);
    t->ncols = ncols;
    t->ncells = 0;
    t->cap = 0;
    t->cells = NULL;
}

/* Append @cell, taking ownership of it. */
static void table_take(struct table *t, char *cell)
{
    if (t->ncells == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->cells = wr_realloc(t->cells, t->cap * sizeof *t->cells);
    }
    t->cells[t->ncells++] = cell;
}

static void table_add(struct table *t, const char *text)
{
    table_take(t, wr_strdup(text));
}

static void table_field(struct table *t, json_t *obj, const char *key, enum field_type type)
{
    table_take(t, field_text(obj, key, type));
}

static void table_print(const struct table *t, FILE *out)
{
    size_t width[WR_TABLE_MAX_COLS] = {0};
    for (size_t i = 0; i < t->ncells; i++) {
        size_t w = text_width(t->cells[i]);
        if (w > width[i % t->ncols])
            width[i % t->ncols] = w;
    }
    for (size_t i = 0; i < t->ncells; i++) {
        size_t col = i % t->ncols;
        fputs(t->cells[i], out);
        if (col + 1 == t->ncols || i + 1 == t->ncells) {
            fputc('\n', out);
            continue;
        }
        for (size_t w = text_width(t->cells[i]); w < width[col] + 2; w++)
            fputc(' ', out);
    }
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->ncells = t->cap = 0;
}

/* ---- status ------------------------------------------------------------ */

static bool node_reachable(json_t *node)
{
    return !json_is_false(json_object_get(node, "reachable"));
}

/* The applied index and state hash @node reported, if it is reachable and
 * they have the right types. */
static bool node_progress(json_t *node, json_int_t *applied, json_t **hash)
{
    json_t *a = json_object_get(node, "applied_index");
    *hash = json_object_get(node, "state_hash");
    if (!json_is_integer(a) || !json_is_string(*hash))
        return false;
    *applied = json_integer_value(a);
    return true;
}

enum wr_ctl_verdict wr_ctl_status_verdict(json_t *nodes, json_int_t *index)
{
    bool any = false, differ = false, missing = false, diverged = false;
    json_int_t first = 0, max = 0, conflict = 0;
    size_t n = json_array_size(nodes); /* 0 when not an array */
    for (size_t i = 0; i < n; i++) {
        json_t *node = json_array_get(nodes, i), *hash;
        json_int_t a;
        if (!node_reachable(node))
            continue;
        if (!node_progress(node, &a, &hash)) {
            missing = true;
            continue;
        }
        if (!any) {
            first = max = a;
            any = true;
        }
        differ |= a != first;
        max = a > max ? a : max;
        for (size_t j = 0; j < i; j++) {
            json_t *other = json_array_get(nodes, j), *ohash;
            json_int_t oa;
            if (node_reachable(other) && node_progress(other, &oa, &ohash) && oa == a &&
                !json_equal(hash, ohash) && (!diverged || a > conflict)) {
                diverged = true;
                conflict = a;
            }
        }
    }
    enum wr_ctl_verdict v;
    json_int_t at = max;
    if (diverged) {
        v = WR_CTL_DIVERGED;
        at = conflict;
    } else if (!any) {
        v = WR_CTL_UNKNOWN;
    } else if (differ) {
        v = WR_CTL_CATCHING_UP;
    } else {
        v = missing ? WR_CTL_UNKNOWN : WR_CTL_CONSISTENT;
    }
    if (index != NULL)
        *index = at;
    return v;
}

/* @node's cluster or http address (@key): its own top-level field when it
 * has one (rows built for unreachable nodes do), else the entry for its own
 * id in its "nodes" list. Caller frees. */
static char *node_address(json_t *node, const char *key)
{
    if (json_object_get(node, key) != NULL)
        return field_text(node, key, FIELD_STR);
    json_t *id = json_object_get(node, "id"), *entry;
    size_t i;
    json_array_foreach (json_object_get(node, "nodes"), i, entry) {
        if (json_is_integer(id) && json_equal(id, json_object_get(entry, "id")))
            return field_text(entry, key, FIELD_STR);
    }
    return wr_strdup("-");
}

enum wr_ctl_verdict wr_ctl_format_status(FILE *out, json_t *nodes)
{
    static const char *const header[] = {"ID",      "ROLE", "TERM",    "COMMIT",
                                         "APPLIED", "HASH", "ADDRESS", "HTTP"};
    struct table t;
    size_t i, reachable = 0;
    json_t *node;

    table_init(&t, 8);
    for (i = 0; i < 8; i++)
        table_add(&t, header[i]);
    json_array_foreach (nodes, i, node) {
        table_field(&t, node, "id", FIELD_INT);
        if (node_reachable(node)) {
            reachable++;
            table_field(&t, node, "role", FIELD_STR);
            table_field(&t, node, "term", FIELD_INT);
            table_field(&t, node, "commit_index", FIELD_INT);
            table_field(&t, node, "applied_index", FIELD_INT);
            table_field(&t, node, "state_hash", FIELD_STR);
        } else {
            table_add(&t, "unreachable");
            for (int k = 0; k < 4; k++)
                table_add(&t, "-");
        }
        table_take(&t, node_address(node, "address"));
        table_take(&t, node_address(node, "http"));
    }
    table_print(&t, out);
    table_free(&t);

    json_array_foreach (nodes, i, node) {
        json_t *e = json_object_get(node, "error");
        if (json_is_string(e)) {
            char *id = field_text(node, "id", FIELD_INT);
            char *msg = clean(json_string_value(e), json_string_length(e), false);
            fprintf(out, "node %s: %s\n", id, msg);
            free(msg);
            free(id);
        }
    }

    json_int_t at;
    enum wr_ctl_verdict v = wr_ctl_status_verdict(nodes, &at);
    switch (v) {
    case WR_CTL_CONSISTENT:
        fprintf(out, "state: consistent at index %" JSON_INTEGER_FORMAT "\n", at);
        break;
    case WR_CTL_DIVERGED:
        fprintf(out, "state: DIVERGED at index %" JSON_INTEGER_FORMAT "\n", at);
        break;
    case WR_CTL_CATCHING_UP:
        fprintf(out, "state: nodes at different indexes (catching up)\n");
        break;
    case WR_CTL_UNKNOWN:
        fprintf(out, "state: unknown (%s)\n",
                reachable == 0 ? "no node answered"
                               : "a node did not report its applied index and state hash");
        break;
    }
    return v;
}

/* ---- registry and state ------------------------------------------------ */

static json_t *find_name(json_t *names, const char *name)
{
    size_t i, len = strlen(name);
    json_t *e;
    json_array_foreach (names, i, e) {
        json_t *n = json_object_get(e, "name");
        if (json_is_string(n) && json_string_length(n) == len &&
            memcmp(json_string_value(n), name, len) == 0)
            return e;
    }
    return NULL;
}

json_t *wr_ctl_registry_find(json_t *registry, const char *name)
{
    json_t *names = json_object_get(registry, "names");
    json_t *e = find_name(names, name);
    if (e == NULL && strchr(name, '/') == NULL) {
        size_t n = strlen(name) + sizeof "player/";
        char *alt = wr_malloc(n);
        snprintf(alt, n, "player/%s", name);
        e = find_name(names, alt);
        free(alt);
    }
    return e;
}

/* The http address of node @node (a JSON integer) per the "node/N" entry
 * of @registry, or NULL. Borrowed. */
static json_t *registry_http(json_t *registry, json_t *node)
{
    char name[48];
    if (!json_is_integer(node))
        return NULL;
    snprintf(name, sizeof name, "node/%" JSON_INTEGER_FORMAT, json_integer_value(node));
    json_t *http = json_object_get(find_name(json_object_get(registry, "names"), name), "http");
    return json_is_string(http) ? http : NULL;
}

/* The printable "info" of a registry entry: a string as is, anything else
 * (but null) as compact JSON, both cleaned; NULL when there is none. Caller
 * frees. */
static char *info_text(json_t *entry)
{
    json_t *info = json_object_get(entry, "info");
    if (info == NULL || json_is_null(info))
        return NULL;
    if (json_is_string(info))
        return clean(json_string_value(info), json_string_length(info), false);
    char *dump = json_dumps(info, JSON_COMPACT | JSON_ENCODE_ANY);
    if (dump == NULL)
        return wr_strdup("?");
    char *text = clean(dump, strlen(dump), false);
    free(dump);
    return text;
}

static bool kind_is(json_t *entry, const char *kind)
{
    json_t *k = json_object_get(entry, "kind");
    return json_is_string(k) && strcmp(json_string_value(k), kind) == 0;
}

void wr_ctl_format_entry(FILE *out, json_t *entry, json_t *registry)
{
    char *name = field_text(entry, "name", FIELD_STR);
    char *node = field_text(entry, "node", FIELD_INT);
    fprintf(out, "%s: node %s", name, node);

    json_t *http = registry_http(registry, json_object_get(entry, "node"));
    if (http == NULL && json_is_string(json_object_get(entry, "http")))
        http = json_object_get(entry, "http");
    if (http != NULL) {
        char *h = clean(json_string_value(http), json_string_length(http), false);
        fprintf(out, " (http %s)", h);
        free(h);
    }

    char *detail = NULL;
    if (kind_is(entry, "singleton")) {
        detail = field_text(entry, "epoch", FIELD_INT);
        fprintf(out, ", singleton, epoch %s", detail);
    } else if (kind_is(entry, "player")) {
        detail = field_text(entry, "id", FIELD_INT);
        fprintf(out, ", player id %s", detail);
    } else {
        detail = field_text(entry, "kind", FIELD_STR);
        fprintf(out, ", %s", detail);
        if (json_object_get(entry, "epoch") != NULL) {
            char *epoch = field_text(entry, "epoch", FIELD_INT);
            fprintf(out, ", epoch %s", epoch);
            free(epoch);
        }
    }
    char *info = info_text(entry);
    if (info != NULL)
        fprintf(out, ", %s", info);
    fputc('\n', out);
    free(info);
    free(detail);
    free(node);
    free(name);
}

int wr_ctl_format_registry(FILE *out, json_t *registry)
{
    json_t *names = json_object_get(registry, "names"), *e;
    size_t i;
    struct table t;
    if (!json_is_array(names))
        return -1;
    table_init(&t, 4);
    table_add(&t, "NAME");
    table_add(&t, "KIND");
    table_add(&t, "NODE");
    table_add(&t, "DETAIL");
    json_array_foreach (names, i, e) {
        table_field(&t, e, "name", FIELD_STR);
        table_field(&t, e, "kind", FIELD_STR);
        table_field(&t, e, "node", FIELD_INT);
        const char *label = NULL, *key = NULL;
        enum field_type type = FIELD_INT;
        if (kind_is(e, "singleton")) {
            label = "epoch";
            key = "epoch";
        } else if (kind_is(e, "player")) {
            label = "id";
            key = "id";
        } else if (kind_is(e, "node")) {
            label = "http";
            key = "http";
            type = FIELD_STR;
        } else if (json_object_get(e, "epoch") != NULL) {
            label = "epoch"; /* zones */
            key = "epoch";
        }
        char *cell = NULL, *info = info_text(e);
        if (key != NULL) {
            char *v = field_text(e, key, type);
            size_t n = strlen(label) + strlen(v) + 2;
            cell = wr_malloc(n);
            snprintf(cell, n, "%s %s", label, v);
            free(v);
        }
        if (info != NULL && cell != NULL) {
            size_t n = strlen(cell) + strlen(info) + 3;
            char *both = wr_malloc(n);
            snprintf(both, n, "%s, %s", cell, info);
            free(cell);
            cell = both;
        } else if (info != NULL) {
            cell = info;
            info = NULL;
        }
        table_take(&t, cell != NULL ? cell : wr_strdup("-"));
        free(info);
    }
    table_print(&t, out);
    table_free(&t);
    return (int)json_array_size(names);
}

/* The printable text of @obj[@key] whatever its type: an integer or a
 * string (cleaned) as is, "-" when missing or null, "?" otherwise. */
static char *field_any(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return field_text(obj, key, json_is_string(v) ? FIELD_STR : FIELD_INT);
}

/* The strings of array @a joined with ", " (cleaned; "?" for other
 * elements), "-" when empty or missing. Caller frees. */
static char *join_strings(json_t *a)
{
    if (!json_is_array(a) || json_array_size(a) == 0)
        return wr_strdup(json_is_array(a) || a == NULL || json_is_null(a) ? "-" : "?");
    struct wr_writer w;
    wr_writer_init(&w, 64);
    size_t i;
    json_t *v;
    json_array_foreach (a, i, v) {
        if (i > 0)
            wr_put_bytes(&w, ", ", 2);
        char *t = json_is_string(v) ? clean(json_string_value(v), json_string_length(v), false)
                                    : wr_strdup("?");
        wr_put_bytes(&w, t, strlen(t));
        free(t);
    }
    wr_put_u8(&w, 0);
    size_t len;
    return (char *)wr_writer_take(&w, &len);
}

int wr_ctl_format_mud(FILE *out, json_t *mud)
{
    if (!json_is_object(mud))
        return -1;
    json_t *world = json_object_get(mud, "world");
    char *name = field_text(world, "name", FIELD_STR);
    char *version = field_any(world, "version");
    char *zones = field_text(world, "zones", FIELD_INT);
    char *rooms = field_text(world, "rooms", FIELD_INT);
    size_t nplayers = json_array_size(json_object_get(mud, "players"));
    size_t nnpcs = json_array_size(json_object_get(mud, "npcs"));
    fprintf(out, "world %s, version %s, %s zones, %s rooms, %zu player%s, %zu NPC%s\n", name,
            version, zones, rooms, nplayers, nplayers == 1 ? "" : "s", nnpcs,
            nnpcs == 1 ? "" : "s");
    free(rooms);
    free(zones);
    free(version);
    free(name);

    size_t i;
    json_t *e;
    struct table t;
    json_t *list = json_object_get(mud, "zones");
    if (json_array_size(list) > 0) {
        static const char *const header[] = {"ZONE",  "NAME", "OWNER",  "EPOCH",
                                             "ROOMS", "NPCS", "PLAYERS"};
        static const char *const keys[] = {"key",   "name", "owner",  "epoch",
                                           "rooms", "npcs", "players"};
        fputc('\n', out);
        table_init(&t, 7);
        for (size_t k = 0; k < 7; k++)
            table_add(&t, header[k]);
        json_array_foreach (list, i, e) {
            for (size_t k = 0; k < 7; k++)
                table_field(&t, e, keys[k], k < 2 ? FIELD_STR : FIELD_INT);
        }
        table_print(&t, out);
        table_free(&t);
    }

    list = json_object_get(mud, "nodes");
    if (json_array_size(list) > 0) {
        fputc('\n', out);
        table_init(&t, 3);
        table_add(&t, "NODE");
        table_add(&t, "ZONES");
        table_add(&t, "PLAYERS");
        json_array_foreach (list, i, e) {
            table_field(&t, e, "id", FIELD_INT);
            table_take(&t, join_strings(json_object_get(e, "zones")));
            table_field(&t, e, "players", FIELD_INT);
        }
        table_print(&t, out);
        table_free(&t);
    }

    list = json_object_get(mud, "players");
    if (nplayers > 0) {
        static const char *const header[] = {"PLAYER", "ROOM", "ZONE", "NODE", "STATE"};
        static const char *const keys[] = {"name", "room", "zone", "node", "state"};
        fputc('\n', out);
        table_init(&t, 5);
        for (size_t k = 0; k < 5; k++)
            table_add(&t, header[k]);
        json_array_foreach (list, i, e) {
            for (size_t k = 0; k < 5; k++)
                table_field(&t, e, keys[k], k == 3 ? FIELD_INT : FIELD_STR);
        }
        table_print(&t, out);
        table_free(&t);
    }
    return 0;
}

int wr_ctl_format_state(FILE *out, json_t *state)
{
    static const char *const header[] = {"ID", "NAME", "X", "Y", "SEQ", "NODE"};
    static const char *const keys[] = {"id", "name", "x", "y", "seq", "node"};
    json_t *players = json_object_get(state, "players"), *p;
    char *w = field_text(state, "width", FIELD_INT);
    char *h = field_text(state, "height", FIELD_INT);
    char *applied = field_text(state, "applied_index", FIELD_INT);
    char *hash = field_text(state, "state_hash", FIELD_STR);
    size_t i, count = json_array_size(players);
    char num[32] = "-";
    if (json_is_array(players))
        snprintf(num, sizeof num, "%zu", count);
    fprintf(out, "arena %sx%s, %s player%s, applied index %s, state hash %s\n", w, h, num,
            count == 1 ? "" : "s", applied, hash);
    free(hash);
    free(applied);
    free(h);
    free(w);
    if (count == 0)
        return 0;

    struct table t;
    table_init(&t, 6);
    for (i = 0; i < 6; i++)
        table_add(&t, header[i]);
    json_array_foreach (players, i, p) {
        for (size_t k = 0; k < 6; k++)
            table_field(&t, p, keys[k], k == 1 ? FIELD_STR : FIELD_INT);
    }
    table_print(&t, out);
    table_free(&t);
    return (int)count;
}

/* ---- commands ---------------------------------------------------------- */

void wr_ctl_usage(FILE *out)
{
    fputs("usage: warren ctl [--node IP:PORT] [--json] COMMAND [ARGS]\n"
          "\n"
          "Ask a Warren node's HTTP admin API about the cluster.\n"
          "\n"
          "Options:\n"
          "  --node IP:PORT  the node to ask (default: $WARREN_NODE, else " WR_CTL_DEFAULT_NODE
          ")\n"
          "  --json          print JSON instead of a table\n"
          "  -h, --help      print this help and exit\n"
          "\n"
          "Commands:\n"
          "  status          every node's id, role, term, commit index, applied index,\n"
          "                  state hash, cluster address and http address, each as that\n"
          "                  node sees itself; unreachable nodes get a row of dashes.\n"
          "                  The last line says whether the nodes agree:\n"
          "                    state: consistent at index N\n"
          "                    state: nodes at different indexes (catching up)\n"
          "                    state: DIVERGED at index N  (same index, different hashes)\n"
          "                  --json: an array of each node's /api/cluster answer plus\n"
          "                  \"reachable\" (and \"error\" when it is false)\n"
          "  whereis NAME    which node NAME lives on (if NAME has no '/' and is not\n"
          "                  registered, player/NAME), with its epoch and info when it\n"
          "                  has them, e.g. whereis zone/town; --json: the registry entry\n"
          "  registered      every registered name (kinds node, singleton, player, zone,\n"
          "                  npc): NAME KIND NODE DETAIL; --json: the array of entries\n"
          "  state           the arena and its players: ID NAME X Y SEQ NODE;\n"
          "                  --json: the node's /api/state answer as is\n"
          "  mud             the MUD: its world (name, version, zones, rooms), each zone\n"
          "                  with its owner node, epoch and counts, each node's zones and\n"
          "                  players, every player; --json: the /api/mud answer as is\n"
          "  world load DIR  read DIR/**/*.yaml into a world bundle and POST it to the\n"
          "                  node (/api/mud/world), which validates it and proposes it to\n"
          "                  the cluster; prints the new world's version, or the node's\n"
          "                  \"FILE:LINE:COLUMN: ...\" error (exit 1); --json: the answer.\n"
          "                  The node accepts it only from a loopback address.\n"
          "\n"
          "Connecting and each wait for an answer time out after 2 s.\n"
          "\n"
          "Exit status: 0 ok; 1 error (node unreachable or answering an error or bad\n"
          "JSON, NAME not registered, world rejected or unreadable); 2 usage error;\n"
          "3 status found nodes DIVERGED.\n",
          out);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("warren ctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\ntry 'warren ctl --help'\n", stderr);
    return WR_CTL_EXIT_USAGE;
}

/* GET @path from @node and parse its 200 answer as a JSON object. Returns
 * the document (caller decrefs) and, if @raw is not NULL, the body (caller
 * frees); or NULL with the reason in @err. */
static json_t *fetch_json(const char *node, const char *path, char **raw, char *err, size_t errlen)
{
    int status;
    char *body;
    json_error_t je;
    if (wr_ctl_http_get(node, path, &status, &body, err, errlen) != 0)
        return NULL;
    if (status != 200) {
        size_t len = strlen(body);
        while (len > 0 && isspace((unsigned char)body[len - 1]))
            len--;
        bool cut = len > 300;
        char *text = clean(body, cut ? 300 : len, true);
        snprintf(err, errlen, "node %s answered %d%s%s%s", node, status, len ? ": " : "", text,
                 cut ? "..." : "");
        free(text);
        free(body);
        return NULL;
    }
    json_t *doc = json_loads(body, 0, &je);
    if (doc == NULL || !json_is_object(doc)) {
        char *text = clean(je.text, strlen(je.text), true);
        if (doc == NULL)
            snprintf(err, errlen, "node %s sent invalid JSON for %s: %s (line %d, column %d)", node,
                     path, text, je.line, je.column);
        else
            snprintf(err, errlen, "node %s sent unexpected JSON for %s: not an object", node, path);
        free(text);
        json_decref(doc);
        free(body);
        return NULL;
    }
    if (raw != NULL)
        *raw = body;
    else
        free(body);
    return doc;
}

/* The row for listed node @entry that could not be asked: its id and
 * addresses from the listing, "reachable": false and the reason. */
static json_t *unreachable_row(json_t *entry, const char *why)
{
    static const char *const keys[] = {"id", "address", "http"};
    json_t *row = json_object();
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(entry, keys[i]);
        if (v != NULL)
            json_object_set(row, keys[i], v);
    }
    json_object_set_new(row, "reachable", json_false());
    json_object_set_new(row, "error", json_string(why));
    return row;
}

static int cmd_status(const char *node, bool as_json)
{
    char err[512];
    json_t *seed = fetch_json(node, "/api/cluster", NULL, err, sizeof err);
    if (seed == NULL) {
        fprintf(stderr, "warren ctl: %s\n", err);
        return WR_CTL_EXIT_ERROR;
    }
    json_object_set_new(seed, "reachable", json_true());

    /* The seed answers for itself; every other listed node is asked for its
     * own view, one after the other (an unreachable one costs at most the
     * connect timeout). */
    json_t *rows = json_array(), *seed_id = json_object_get(seed, "id"), *entry;
    bool seed_listed = false;
    size_t i;
    json_array_foreach (json_object_get(seed, "nodes"), i, entry) {
        json_t *id = json_object_get(entry, "id");
        json_t *http = json_object_get(entry, "http");
        json_t *row;
        if (json_is_integer(id) && json_equal(id, seed_id)) {
            seed_listed = true;
            row = json_incref(seed);
        } else if (!json_is_string(http)) {
            row = unreachable_row(entry, "no http address registered");
        } else if ((row = fetch_json(json_string_value(http), "/api/cluster", NULL, err,
                                     sizeof err)) != NULL) {
            json_object_set_new(row, "reachable", json_true());
        } else {
            row = unreachable_row(entry, err);
        }
        json_array_append_new(rows, row);
    }
    if (!seed_listed)
        json_array_insert(rows, 0, seed);

    enum wr_ctl_verdict v;
    if (as_json) {
        v = wr_ctl_status_verdict(rows, NULL);
        json_dumpf(rows, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        v = wr_ctl_format_status(stdout, rows);
    }
    json_decref(rows);
    json_decref(seed);
    return v == WR_CTL_DIVERGED ? WR_CTL_EXIT_DIVERGED : WR_CTL_EXIT_OK;
}

static int cmd_whereis(const char *node, const char *name, bool as_json)
{
    char err[512];
    json_t *reg = fetch_json(node, "/api/registry", NULL, err, sizeof err);
    if (reg == NULL) {
        fprintf(stderr, "warren ctl: %s\n", err);
        return WR_CTL_EXIT_ERROR;
    }
    int rc = WR_CTL_EXIT_OK;
    json_t *e = wr_ctl_registry_find(reg, name);
    if (e == NULL) {
        fprintf(stderr, "warren ctl: %s is not registered\n", name);
        rc = WR_CTL_EXIT_ERROR;
    } else if (as_json) {
        json_dumpf(e, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        wr_ctl_format_entry(stdout, e, reg);
    }
    json_decref(reg);
    return rc;
}

static int cmd_registered(const char *node, bool as_json)
{
    char err[512];
    json_t *reg = fetch_json(node, "/api/registry", NULL, err, sizeof err);
    if (reg == NULL) {
        fprintf(stderr, "warren ctl: %s\n", err);
        return WR_CTL_EXIT_ERROR;
    }
    int rc = WR_CTL_EXIT_OK;
    json_t *names = json_object_get(reg, "names");
    if (!json_is_array(names)) {
        fprintf(stderr, "warren ctl: node %s sent /api/registry without a \"names\" array\n", node);
        rc = WR_CTL_EXIT_ERROR;
    } else if (as_json) {
        json_dumpf(names, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        wr_ctl_format_registry(stdout, reg);
    }
    json_decref(reg);
    return rc;
}

/* Print @raw (a JSON body) on stdout, ending with a newline. */
static void print_raw(const char *raw)
{
    size_t len = strlen(raw);
    fputs(raw, stdout);
    if (len == 0 || raw[len - 1] != '\n')
        fputc('\n', stdout);
}

static int cmd_mud(const char *node, bool as_json)
{
    char err[512];
    char *raw;
    json_t *mud = fetch_json(node, "/api/mud", &raw, err, sizeof err);
    if (mud == NULL) {
        fprintf(stderr, "warren ctl: %s\n", err);
        return WR_CTL_EXIT_ERROR;
    }
    if (as_json)
        print_raw(raw);
    else
        wr_ctl_format_mud(stdout, mud);
    free(raw);
    json_decref(mud);
    return WR_CTL_EXIT_OK;
}

static int cmd_world_load(const char *node, const char *dir, bool as_json)
{
    char err[512];
    struct wr_writer bundle;
    wr_writer_init(&bundle, 0);
    int rc = WR_CTL_EXIT_ERROR, status;
    char *body = NULL;
    json_t *doc = NULL;
    if (wr_mud_bundle_read_dir(dir, &bundle, err, sizeof err) != 0) {
        fprintf(stderr, "warren ctl: %s\n", err);
        goto out;
    }
    if (wr_ctl_http_request(node, "POST", "/api/mud/world", "application/octet-stream", bundle.base,
                            bundle.len, &status, &body, err, sizeof err) != 0) {
        fprintf(stderr, "warren ctl: %s\n", err);
        goto out;
    }
    doc = json_loads(body, 0, NULL);
    json_t *version = json_object_get(doc, "version");
    json_t *error = json_object_get(doc, "error");
    if (status == 200 && json_is_string(version)) {
        if (as_json) {
            print_raw(body);
        } else {
            char *v = clean(json_string_value(version), json_string_length(version), false);
            printf("world loaded from %s (%zu bytes): version %s\n", dir, bundle.len, v);
            free(v);
        }
        rc = WR_CTL_EXIT_OK;
    } else if (status == 400 && json_is_string(error)) {
        if (as_json)
            print_raw(body);
        char *e = clean(json_string_value(error), json_string_length(error), false);
        fprintf(stderr, "warren ctl: node %s rejected the world in %s: %s\n", node, dir, e);
        free(e);
    } else {
        size_t len = strlen(body);
        while (len > 0 && isspace((unsigned char)body[len - 1]))
            len--;
        bool cut = len > 300;
        char *text = clean(body, cut ? 300 : len, true);
        fprintf(stderr, "warren ctl: node %s answered %d to POST /api/mud/world%s%s%s\n", node,
                status, len ? ": " : "", text, cut ? "..." : "");
        free(text);
    }
out:
    json_decref(doc);
    free(body);
    wr_writer_free(&bundle);
    return rc;
}

static int cmd_state(const char *node, bool as_json)
{
    char err[512];
    char *raw;
    json_t *state = fetch_json(node, "/api/state", &raw, err, sizeof err);
    if (state == NULL) {
        fprintf(stderr, "warren ctl: %s\n", err);
        return WR_CTL_EXIT_ERROR;
    }
    if (as_json)
        print_raw(raw);
    else
        wr_ctl_format_state(stdout, state);
    free(raw);
    json_decref(state);
    return WR_CTL_EXIT_OK;
}

int wr_ctl_main(int argc, char **argv)
{
    const char *node = NULL, *cmd = NULL, *arg = NULL, *arg2 = NULL;
    bool as_json = false, help = false, opts_done = false;
    int nargs = 0; /* positional arguments after the command */

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts_done || a[0] != '-' || a[1] == '\0') {
            if (cmd == NULL)
                cmd = a;
            else if (nargs++ == 0)
                arg = a;
            else if (nargs == 2)
                arg2 = a;
        } else if (strcmp(a, "--") == 0) {
            opts_done = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help = true;
        } else if (strcmp(a, "--json") == 0) {
            as_json = true;
        } else if (strcmp(a, "--node") == 0) {
            if (i + 1 == argc)
                return usage_error("option --node needs an IP:PORT");
            node = argv[++i];
        } else if (strncmp(a, "--node=", 7) == 0) {
            node = a + 7;
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    if (help) {
        wr_ctl_usage(stdout);
        return fflush(stdout) == 0 ? WR_CTL_EXIT_OK : WR_CTL_EXIT_ERROR;
    }
    if (cmd == NULL)
        return usage_error("no command given");

    const char *from = "--node";
    if (node == NULL) {
        node = getenv("WARREN_NODE");
        from = "WARREN_NODE";
        if (node == NULL || node[0] == '\0') {
            node = WR_CTL_DEFAULT_NODE;
            from = "default node";
        }
    }
    struct sockaddr_in sa;
    char why[128];
    if (wr_addr_parse(node, &sa, why, sizeof why) != 0)
        return usage_error("bad %s: %s", from, why);

    bool takes_name = strcmp(cmd, "whereis") == 0, world = strcmp(cmd, "world") == 0;
    if (!takes_name && !world && strcmp(cmd, "status") != 0 && strcmp(cmd, "registered") != 0 &&
        strcmp(cmd, "state") != 0 && strcmp(cmd, "mud") != 0)
        return usage_error("unknown command '%s'", cmd);
    if (takes_name && nargs != 1)
        return usage_error("whereis takes one NAME");
    if (world && (nargs != 2 || strcmp(arg, "load") != 0 || arg2[0] == '\0'))
        return usage_error("usage: world load DIR");
    if (!takes_name && !world && nargs != 0)
        return usage_error("%s takes no arguments", cmd);

    int rc;
    if (takes_name)
        rc = cmd_whereis(node, arg, as_json);
    else if (world)
        rc = cmd_world_load(node, arg2, as_json);
    else if (strcmp(cmd, "mud") == 0)
        rc = cmd_mud(node, as_json);
    else if (strcmp(cmd, "status") == 0)
        rc = cmd_status(node, as_json);
    else if (strcmp(cmd, "registered") == 0)
        rc = cmd_registered(node, as_json);
    else
        rc = cmd_state(node, as_json);

    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "warren ctl: cannot write output\n");
        return WR_CTL_EXIT_ERROR;
    }
    return rc;
}
