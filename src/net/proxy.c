/* PROXY protocol v1 parsing; see proxy.h.
 *
 * Written here rather than taken from a library: Debian 12 packages none
 * that parses it (libhaproxy does not exist as a library; nginx and haproxy
 * keep theirs inside their daemons), and v1 is one short text line. The
 * grammar (haproxy doc/proxy-protocol.txt, 2.1):
 *
 *   "PROXY" SP ( "TCP4" SP ip4 SP ip4 SP port SP port
 *              | "TCP6" SP ip6 SP ip6 SP port SP port
 *              | "UNKNOWN" [ SP <anything but CR LF> ] ) CR LF
 *
 * at most 107 bytes. The caller hands over exactly one line, so this code
 * never reads past @len and never needs a NUL; every field is copied into a
 * bounded buffer before inet_pton sees it. */
#include "net/proxy.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A field of @buf[*pos..end) up to the next space (or the end); fails if
 * it is empty or longer than @max. */
static bool next_field(const char *buf, size_t end, size_t *pos, char *out, size_t max)
{
    size_t start = *pos, i = start;
    while (i < end && buf[i] != ' ')
        i++;
    size_t n = i - start;
    if (n == 0 || n > max)
        return false;
    memcpy(out, buf + start, n);
    out[n] = '\0';
    *pos = i;
    return true;
}

static bool expect_space(const char *buf, size_t end, size_t *pos)
{
    if (*pos >= end || buf[*pos] != ' ')
        return false;
    (*pos)++;
    return true;
}

/* Decimal 0..65535, no sign, no leading zero (except "0" itself). */
static bool parse_port(const char *s, uint16_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

int wr_proxy_v1_parse(const char *buf, size_t len, struct wr_proxy_v1 *out, const char **why)
{
    static const char *const reasons[] = {
        "longer than 107 bytes", "not ended by CR LF", "no PROXY prefix",
        "unknown protocol",      "bad source address", "bad destination address",
        "bad source port",       "bad destination port", "bad spacing",
        "CR or LF inside the line",
    };
    int r;
    memset(out, 0, sizeof *out);
    if (len > WR_PROXY_V1_MAX) {
        r = 0;
        goto err;
    }
    if (len < WR_PROXY_V1_PREFIX_LEN + 2 || buf[len - 2] != '\r' || buf[len - 1] != '\n') {
        r = 1;
        goto err;
    }
    size_t end = len - 2; /* the CR */
    if (memcmp(buf, WR_PROXY_V1_PREFIX, WR_PROXY_V1_PREFIX_LEN) != 0) {
        r = 2;
        goto err;
    }
    if (memchr(buf, '\r', end) != NULL || memchr(buf, '\n', end) != NULL) {
        r = 9;
        goto err;
    }
    size_t pos = WR_PROXY_V1_PREFIX_LEN;
    char proto[8];
    if (!next_field(buf, end, &pos, proto, sizeof proto - 1)) {
        r = 3;
        goto err;
    }
    if (strcmp(proto, "UNKNOWN") == 0) {
        /* "the receiver must ignore anything presented before the CRLF" */
        if (pos < end && buf[pos] != ' ') {
            r = 3;
            goto err;
        }
        out->family = WR_PROXY_UNKNOWN;
        return 0;
    }
    int af;
    size_t amax;
    if (strcmp(proto, "TCP4") == 0) {
        af = AF_INET;
        amax = INET_ADDRSTRLEN - 1;
        out->family = WR_PROXY_TCP4;
    } else if (strcmp(proto, "TCP6") == 0) {
        af = AF_INET6;
        amax = INET6_ADDRSTRLEN - 1;
        out->family = WR_PROXY_TCP6;
    } else {
        r = 3;
        goto err;
    }
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], sport[8], dport[8];
    unsigned char bin[16], dbin[16];
    if (!expect_space(buf, end, &pos)) {
        r = 8;
        goto err;
    }
    if (!next_field(buf, end, &pos, src, amax) || inet_pton(af, src, bin) != 1) {
        r = 4;
        goto err;
    }
    if (!expect_space(buf, end, &pos)) {
        r = 8;
        goto err;
    }
    if (!next_field(buf, end, &pos, dst, amax) || inet_pton(af, dst, dbin) != 1) {
        r = 5;
        goto err;
    }
    if (!expect_space(buf, end, &pos)) {
        r = 8;
        goto err;
    }
    if (!next_field(buf, end, &pos, sport, 5) || !parse_port(sport, &out->src_port)) {
        r = 6;
        goto err;
    }
    if (!expect_space(buf, end, &pos)) {
        r = 8;
        goto err;
    }
    if (!next_field(buf, end, &pos, dport, 5) || !parse_port(dport, &out->dst_port)) {
        r = 7;
        goto err;
    }
    if (pos != end) {
        r = 8;
        goto err;
    }
    char canon[INET6_ADDRSTRLEN];
    if (inet_ntop(af, bin, canon, sizeof canon) == NULL) {
        r = 4;
        goto err;
    }
    if (af == AF_INET)
        snprintf(out->src, sizeof out->src, "%s:%u", canon, (unsigned)out->src_port);
    else
        snprintf(out->src, sizeof out->src, "[%s]:%u", canon, (unsigned)out->src_port);
    return 0;

err:
    memset(out, 0, sizeof *out);
    if (why != NULL)
        *why = reasons[r];
    return -1;
}

int wr_proxy_parse_trusted(const char *list, uint32_t *addrs, size_t max, char *err,
                           size_t errlen)
{
    size_t n = 0;
    const char *p = list;
    while (*p == ' ')
        p++;
    if (*p == '\0')
        return 0;
    for (;;) {
        const char *start = p;
        while (*p != '\0' && *p != ',')
            p++;
        const char *stop = p;
        while (start < stop && *start == ' ')
            start++;
        while (stop > start && stop[-1] == ' ')
            stop--;
        size_t len = (size_t)(stop - start);
        char item[INET_ADDRSTRLEN];
        struct in_addr a;
        if (len == 0 || len >= sizeof item) {
            snprintf(err, errlen, "'%.*s' is not an IPv4 address", (int)(len > 40 ? 40 : len),
                     start);
            return -1;
        }
        memcpy(item, start, len);
        item[len] = '\0';
        if (inet_pton(AF_INET, item, &a) != 1) {
            snprintf(err, errlen, "'%s' is not an IPv4 address", item);
            return -1;
        }
        if (n == max) {
            snprintf(err, errlen, "at most %zu addresses", max);
            return -1;
        }
        addrs[n++] = a.s_addr;
        if (*p == '\0')
            return (int)n;
        p++; /* the comma */
    }
}
