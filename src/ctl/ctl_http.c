/* The small blocking HTTP/1.1 client behind every `warren ctl` command:
 * one GET or POST per call to a node's admin API, with Connection: close,
 * hard limits on what the node may send, and one-line error messages. See
 * wr_ctl_http_request in ctl.h for the contract.
 *
 * Why a hand-written HTTP client rather than libcurl: every request this CLI
 * makes is one GET (or, for `world load`, one POST of a bundle of at most a
 * few MiB), with Connection: close, to a Warren node's own HTTP server on a
 * dotted-quad address. That needs a socket, poll() for the
 * timeouts, and a parser for a status line, two headers and a body. The core
 * is about 60 lines; with hard limits, chunked decoding and precise error
 * messages it is this file, all driven by the unit tests against a fake
 * server. libcurl would be one more build and runtime dependency (with TLS,
 * proxies, redirects and cookies we never use) for that. A CLI making one
 * call at a time needs no event loop either, so this is plain blocking POSIX
 * sockets, not libuv. */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/alloc.h"
#include "common/bytes.h"
#include "ctl/ctl.h"
#include "local/local.h"

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

static char admin_token[160]; /* "" = none */

int wr_ctl_load_admin_token(const char *path, char *err, size_t errlen)
{
    const char *from = "--admin-token-file";
    bool must = true;
    if (path == NULL || path[0] == '\0') {
        path = getenv("WARREN_ADMIN_TOKEN_FILE");
        from = "WARREN_ADMIN_TOKEN_FILE";
    }
    if (path == NULL || path[0] == '\0') {
        path = WR_LOCAL_DEFAULT_DIR "/admin-token";
        must = false;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (!must)
            return 0;
        snprintf(err, errlen, "%s: cannot read %s: %s", from, path, strerror(errno));
        return -1;
    }
    size_t n = fread(admin_token, 1, sizeof admin_token - 1, f);
    fclose(f);
    while (n > 0 && (admin_token[n - 1] == '\n' || admin_token[n - 1] == '\r'))
        n--;
    admin_token[n] = '\0';
    if (strpbrk(admin_token, "\r\n") != NULL || n == sizeof admin_token - 1) {
        snprintf(err, errlen, "%s: %s does not hold one token on one line", from, path);
        admin_token[0] = '\0';
        return -1;
    }
    return 0;
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

    char req[1024], length[96] = "", auth[200] = "";
    if (admin_token[0] != '\0')
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", admin_token);
    /* A POST always says how long its body is, even when it is empty. */
    if (strcmp(method, "POST") == 0)
        snprintf(length, sizeof length, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                 content_type != NULL ? content_type : "application/octet-stream", req_len);
    int reqlen = snprintf(req, sizeof req,
                          "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: warren-ctl\r\n"
                          "Accept: application/json\r\n%s%sConnection: close\r\n\r\n",
                          method, path, hostport, auth, length);
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
