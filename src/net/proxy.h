/* The PROXY protocol, version 1 (the text form): the one line a TCP proxy
 * such as nginx (`proxy_protocol on;` in a stream server) or haproxy sends
 * before the client's bytes, naming the client's real address. Spec:
 * haproxy's doc/proxy-protocol.txt, section 2.1. Only the parser lives here;
 * net/telnet.c decides when a connection may carry a header. Pure functions:
 * any thread. */
#ifndef WR_NET_PROXY_H
#define WR_NET_PROXY_H

#include <stddef.h>
#include <stdint.h>

/* The longest v1 header, "PROXY TCP6 <39> <39> 65535 65535\r\n" with room to
 * spare, CR LF included (the spec's figure). */
#define WR_PROXY_V1_MAX 107
/* What every v1 header starts with. */
#define WR_PROXY_V1_PREFIX "PROXY "
#define WR_PROXY_V1_PREFIX_LEN 6

enum wr_proxy_family { WR_PROXY_UNKNOWN = 0, WR_PROXY_TCP4 = 4, WR_PROXY_TCP6 = 6 };

struct wr_proxy_v1 {
    enum wr_proxy_family family;
    /* TCP4/TCP6: the client ("source") as "a.b.c.d:port" or "[v6]:port",
     * the address in the canonical form inet_ntop gives; "" for UNKNOWN. */
    char src[64];
    uint16_t src_port, dst_port;
};

/* Parse exactly one header: @buf[0..@len) must be the whole line, from
 * "PROXY " through its CR LF, and nothing after it; @len <= WR_PROXY_V1_MAX.
 * Strict: single spaces between fields, the protocol in upper case, TCP4
 * addresses dotted-quad IPv4 (inet_pton: no leading zeros), TCP6 addresses
 * IPv6 (an IPv4 address is refused there and the other way round), ports
 * decimal 0..65535 without leading zeros or signs; after UNKNOWN anything
 * up to the CR LF is ignored (the spec says so). Returns 0 and fills @out,
 * or -1 with a short reason in @why (static text). */
int wr_proxy_v1_parse(const char *buf, size_t len, struct wr_proxy_v1 *out, const char **why);

/* Parse a comma-separated list of IPv4 addresses ("" = none) into @addrs
 * (network byte order, at most @max). Spaces around items are allowed; an
 * empty item or more than @max addresses is an error. Returns the number
 * parsed, or -1 with a message in @err. */
int wr_proxy_parse_trusted(const char *list, uint32_t *addrs, size_t max, char *err,
                           size_t errlen);

#endif
