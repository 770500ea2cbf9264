/* The telnet listener for MUD clients (TinTin++, Mudlet, MUSHclient, plain
 * telnet). libtelnet does all option negotiation and the telnet byte
 * protocol (IAC escaping, subnegotiation, MCCP2 through zlib); this file
 * adds what a MUD server needs around it:
 *   - options offered at connect: WILL SGA, WILL EOR, WILL GMCP, WILL MSSP,
 *     WILL MCCP2 (COMPRESS2), DO NAWS, DO TTYPE; ECHO on request (passwords);
 *   - TTYPE cycling for MTTS (client name, terminal type, "MTTS <bits>"):
 *     colour (ANSI) when the client says so, plain text otherwise;
 *   - NAWS: the client's width (80 until told);
 *   - GMCP: Core.Hello, Core.Supports.Set/Add/Remove are handled here; other
 *     messages go to the handler; wr_telnet_gmcp sends only packages the
 *     client said it supports;
 *   - MSSP: answered from the handler's variables when the client DOes it;
 *   - prompts end with IAC EOR when the client accepted EOR, IAC GA
 *     otherwise;
 *   - input: UTF-8 lines ended by CR LF, LF, CR NUL or lone CR; backspace
 *     and DEL edit the line; other control bytes are dropped; a line longer
 *     than max_line is discarded with a message, one that runs on past
 *     WR_TELNET_LINE_CLOSE_FACTOR * max_line closes; lines beyond the rate
 *     limit are discarded with a message; a client that keeps flooding is
 *     closed; telnet commands have a rate and negotiations a total (an
 *     option storm closes), a subnegotiation at most max_subneg bytes even
 *     before its end (an unterminated one closes); a NOP every
 *     keepalive_ms keeps idle NAT paths open;
 *   - output is queued per connection and written once per loop iteration,
 *     TCP_NODELAY is on: a command's whole output goes in one write;
 *   - behind a TCP proxy (nginx's stream module with `proxy_protocol on;`):
 *     a connection from one of the limits' proxy_from addresses may start
 *     with a PROXY protocol v1 line (net/proxy.h), read before libtelnet
 *     sees any input; it makes wr_telnet_peer (and every later log line)
 *     the client's address instead of the proxy's. A bad header closes the
 *     connection; a connection that does not start with "PROXY " is plain
 *     telnet. From any other address such a line is ordinary input.
 * Every peer-controlled size has a hard limit and a breach closes that one
 * connection with a log line. Loop thread only. */
#ifndef WR_NET_TELNET_H
#define WR_NET_TELNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/conn.h"

struct wr_telnet_server;
struct wr_telnet; /* one connection; starts with a struct wr_conn */

/* Trusted PROXY protocol senders a server keeps (WR_TELNET_MAX_PROXIES). */
#define WR_TELNET_MAX_PROXIES 16

struct wr_telnet_limits {
    size_t max_line;          /* bytes in one input line; 1024 */
    unsigned line_rate;       /* lines per second (token bucket refill); 20 */
    unsigned line_burst;      /* bucket size; 60 */
    size_t max_subneg;        /* one subnegotiation's bytes; 8192 (libtelnet
                                 itself stops at 16384, so no more than that) */
    size_t max_output_bytes;  /* unsent output before closing; 1 MiB */
    unsigned max_connections; /* open telnet sockets; 10000 */
    unsigned keepalive_ms;    /* NOP after this much idle output; 60000 */
    /* IPv4 addresses (network byte order) whose connections may start with
     * a PROXY v1 header; none by default (headers never accepted). */
    uint32_t proxy_from[WR_TELNET_MAX_PROXIES];
    unsigned n_proxy_from;
    /* A header must be complete this long after accept; later, a started
     * header closes the connection and an unstarted one is no longer
     * accepted. 3000 (checked by the sweep timer, so up to a second late). */
    unsigned proxy_timeout_ms;
    /* Telnet commands from the client (IAC WILL/WONT/DO/DONT, IAC SB, IAC
     * NOP...; counted on the raw bytes, because libtelnet answers refused
     * and repeated negotiations without telling us): a token bucket of
     * cmd_rate per second, cmd_burst deep; an empty bucket closes the
     * connection (an option storm). 50 and 200. */
    unsigned cmd_rate;
    unsigned cmd_burst;
    /* Option negotiations (WILL/WONT/DO/DONT) over the connection's life; one
     * more closes it. 500 (a client needs a few dozen). */
    unsigned max_negotiations;
    /* Open sockets from one address (IPv6: one /64); 64, 0 = no limit. Over
     * it, and within fd_reserve descriptors of the process's limit (32), a
     * new connection gets one line and is closed. The proxy_from addresses
     * and exempt[] are not counted per address. */
    unsigned max_per_ip;
    uint32_t exempt[WR_NET_MAX_EXEMPT];
    unsigned n_exempt;
    unsigned fd_reserve;
};
void wr_telnet_limits_default(struct wr_telnet_limits *l);

/* MSSP variables: called when a client asks; fill up to @max pairs and
 * return how many. Strings must stay valid until the call returns. */
struct wr_telnet_mssp_var {
    const char *name;
    const char *value;
};

struct wr_telnet_handlers {
    void *data; /* read back with wr_telnet_server_data() */
    void (*on_open)(struct wr_telnet_server *srv, struct wr_telnet *t);
    /* One input line, without its line ending, valid UTF-8 (invalid
     * sequences replaced by U+FFFD), NUL-terminated; valid during the call. */
    void (*on_line)(struct wr_telnet *t, const char *line, size_t len);
    /* A GMCP message other than Core.Hello / Core.Supports.*, from a client
     * that DOes GMCP; @json is valid JSON (checked with jansson) or "" when
     * the message has no data; both valid during the call. May be NULL. */
    void (*on_gmcp)(struct wr_telnet *t, const char *package, const char *json);
    /* The window size changed (NAWS). May be NULL. */
    void (*on_resize)(struct wr_telnet *t, unsigned width, unsigned height);
    /* Called exactly once per opened connection, from the loop (never
     * from inside one of the functions below); @t invalid afterwards. */
    void (*on_close)(struct wr_telnet *t);
    size_t (*mssp)(void *data, struct wr_telnet_mssp_var *vars, size_t max);
};

struct wr_telnet_stats {
    uint64_t connections_open;
    uint64_t lines_in;
    uint64_t bytes_in;
    uint64_t bytes_out;      /* after compression */
    uint64_t limit_closes;
    uint64_t lines_dropped;  /* too long or over the rate */
};

/* Listen on @bind ("ip:port"). Returns 0 or a negative libuv error. */
int wr_telnet_server_start(struct wr_telnet_server **out, uv_loop_t *loop, const char *bind,
                           const struct wr_telnet_limits *limits,
                           const struct wr_telnet_handlers *h);
/* Stop listening, close every connection (each gets @msg first if not
 * NULL), then call @cb; the server is freed. */
void wr_telnet_server_stop(struct wr_telnet_server *srv, const char *msg,
                           void (*cb)(void *arg), void *arg);
void *wr_telnet_server_data(struct wr_telnet_server *srv);
const struct wr_telnet_stats *wr_telnet_server_stats(struct wr_telnet_server *srv);

/* Output. Text is UTF-8 with '\n' line ends (sent as CR LF); it may hold
 * ANSI escapes, which the caller includes only if wr_telnet_color(). Once
 * the connection is closing (wr_telnet_close, a breached limit, the peer
 * gone), output calls are ignored until on_close. */
void wr_telnet_send(struct wr_telnet *t, const char *text, size_t len);
/* Send @text as a prompt (no newline) followed by IAC EOR or IAC GA. */
void wr_telnet_prompt(struct wr_telnet *t, const char *text, size_t len);
/* Hide (true) or show again the client's typing: WILL ECHO / WONT ECHO.
 * While hidden, input is never echoed back by the server either. */
void wr_telnet_hide_input(struct wr_telnet *t, bool hide);
/* Send GMCP "package json" if the client enabled GMCP and supports the
 * package (Core.Supports.Set "Char 1" covers Char.Vitals...). */
void wr_telnet_gmcp(struct wr_telnet *t, const char *package, const char *json);
bool wr_telnet_gmcp_supports(const struct wr_telnet *t, const char *package);
/* Say @msg (if not NULL), flush, close. on_close follows from the loop. */
void wr_telnet_close(struct wr_telnet *t, const char *msg);

unsigned wr_telnet_width(const struct wr_telnet *t);  /* NAWS width or 80 */
unsigned wr_telnet_height(const struct wr_telnet *t); /* NAWS height or 24 */
bool wr_telnet_color(const struct wr_telnet *t);      /* ANSI colour */
bool wr_telnet_compressing(const struct wr_telnet *t); /* MCCP2 active */
/* The first TTYPE reply (the client's name under MTTS), else the GMCP
 * Core.Hello "client", else "". At most 63 bytes, printable ASCII. */
const char *wr_telnet_client_name(const struct wr_telnet *t);
/* Core.Hello "version", or "". */
const char *wr_telnet_client_version(const struct wr_telnet *t);
/* The second TTYPE reply (the terminal type under MTTS), or "". */
const char *wr_telnet_terminal_type(const struct wr_telnet *t);
/* The MTTS bitfield from a "MTTS <n>" TTYPE reply (1 ANSI, 4 UTF-8,
 * 8 256 colours...), or 0. */
unsigned wr_telnet_mtts(const struct wr_telnet *t);
/* "ip:port" ("[v6]:port") of the client: the socket's peer, or the source a
 * trusted proxy's PROXY header named once it has been read. */
const char *wr_telnet_peer(const struct wr_telnet *t);
struct wr_telnet_server *wr_telnet_server_of(const struct wr_telnet *t);

/* The connection as a struct wr_conn (its kind is WR_CONN_TELNET), and
 * back; @c must be a telnet connection. Pointers stay valid until
 * on_close returns. */
struct wr_conn *wr_telnet_conn(struct wr_telnet *t);
struct wr_telnet *wr_telnet_from_conn(struct wr_conn *c);

#endif
