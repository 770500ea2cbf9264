/* The settings table; see config.h. */
#include "node/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/parse.h"
#include "net/proxy.h"
#include "net/telnet.h"
#include "games.h"
#include "node/game.h"

enum kind { K_INT, K_STR };

struct setting {
    const char *flag; /* without the leading dashes */
    const char *env;
    enum kind kind;
    size_t offset;
    size_t size; /* strings: buffer size */
    long min, max;
    const char *def; /* default as text; "" = none */
    const char *help;
    void *ptr; /* a game's setting: stored here, not in the config struct */
};

#define INT(f, e, field, lo, hi, d, h)                                                             \
    {f, e, K_INT, offsetof(struct wr_node_config, field), 0, lo, hi, d, h, NULL}
#define STR(f, e, field, d, h)                                                                     \
    {f, e, K_STR, offsetof(struct wr_node_config, field),                                         \
     sizeof(((struct wr_node_config *)0)->field), 0, 0, d, h, NULL}

static const struct setting settings[] = {
    INT("id", "WARREN_ID", id, 1, 65535, "1",
        "this node's id, unique in the cluster, never reused (alias RELEASE_NODE=NAME@IP: "
        "the digits ending NAME)"),
    STR("cluster", "WARREN_CLUSTER", cluster, "127.0.0.1:7001",
        "IPv4:PORT for cluster (Raft and forwarding) traffic"),
    STR("http", "WARREN_HTTP", http, "127.0.0.1:4001",
        "IPv4:PORT for HTTP, WebSocket (/ws) and the admin API (aliases: RELEASE_NODE's IP, "
        "PORT)"),
    STR("peers", "WARREN_PEERS", peers_text, "",
        "initial voters as \"1=IP:PORT,2=IP:PORT,...\" (cluster addresses, this node "
        "included), read on the first start only (the log keeps the configuration); a new "
        "node refuses to found a cluster when a listed peer already runs one without it "
        "(use --join); empty: a one-node cluster (alias CLUSTER_NODES=NAME@IP,...)"),
    STR("join", "WARREN_JOIN", join, "",
        "IP:PORT, the cluster address of a running member: ask the cluster to add this node "
        "(authenticated by the cluster secret; needs an empty --data the first time, no "
        "--peers); the leader adds it, promotes it to voter once caught up"),
    STR("data", "WARREN_DATA", data, "", "data directory (default ./data/node<ID>)"),
    STR("cookie-file", "WARREN_COOKIE_FILE", cookie_file, "",
        "file holding the cluster secret (>= 16 bytes); required with --peers or --join "
        "(alias RELEASE_COOKIE: the secret itself)"),
    STR("telnet", "WARREN_TELNET", telnet, "",
        "IPv4:PORT for MUD clients over telnet; empty: no telnet listener"),
    STR("telnet-proxy-from", "WARREN_TELNET_PROXY_FROM", telnet_proxy_from, "",
        "IPv4 addresses (comma-separated) of proxies whose telnet connections may start "
        "with a PROXY v1 header; empty: none"),
    STR("static", "WARREN_STATIC", static_dir, "",
        "directory of the browser client (default: web/ next to the binary's build dir)"),
    INT("election-timeout", "WARREN_ELECTION_TIMEOUT", election_timeout, 20, 60000, "250",
        "Raft election timeout in ms (randomised to 1-2x)"),
    INT("heartbeat", "WARREN_HEARTBEAT", heartbeat, 5, 10000, "50",
        "Raft heartbeat in ms (must be below the election timeout)"),
    INT("snapshot-threshold", "WARREN_SNAPSHOT_THRESHOLD", snapshot_threshold, 16, 10000000,
        "32768", "log entries between snapshots"),
    INT("snapshot-trailing", "WARREN_SNAPSHOT_TRAILING", snapshot_trailing, 16, 10000000, "8192",
        "log entries kept behind a snapshot for lagging followers"),
    INT("queue-timeout", "WARREN_QUEUE_TIMEOUT", queue_timeout, 100, 600000, "5000",
        "ms a client command may wait for a leader before the client gets an error"),
    INT("grace", "WARREN_GRACE", grace, 0, 86400000, "30000",
        "ms a disconnected player stays in the arena, waiting for its client to resume"),
    INT("max-pending", "WARREN_MAX_PENDING", max_pending, 16, 1000000, "8192",
        "client commands that may wait on this node at once"),
    INT("max-ws-message", "WARREN_MAX_WS_MESSAGE", max_ws_message, 64, 1048576, "4096",
        "largest WebSocket message a client may send, bytes"),
    INT("ws-rate", "WARREN_WS_RATE", ws_rate, 1, 100000, "60",
        "WebSocket messages a client may send per second"),
    INT("ws-burst", "WARREN_WS_BURST", ws_burst, 1, 100000, "120",
        "WebSocket messages a client may send in a burst"),
    INT("max-connections", "WARREN_MAX_CONNECTIONS", max_connections, 1, 1000000, "10000",
        "open client connections"),
    INT("max-body-kb", "WARREN_MAX_BODY_KB", max_body_kb, 1, 65536, "4096",
        "largest HTTP request body, KiB (a world upload by `warren ctl world load`)"),
    INT("max-output-kb", "WARREN_MAX_OUTPUT_KB", max_output_kb, 16, 1048576, "1024",
        "unsent output per client before it is closed as too slow, KiB"),
    /* Input-abuse limits: docs/api.md, docs/protocol.md, docs/mud.md. */
    INT("max-connections-per-ip", "WARREN_MAX_CONNECTIONS_PER_IP", max_connections_per_ip, 0,
        1000000, "64",
        "open connections from one address (an IPv6 /64) per listener (HTTP+WebSocket, "
        "telnet); more are refused (HTTP 503, a telnet line); 0: no limit"),
    STR("per-ip-exempt", "WARREN_PER_IP_EXEMPT", per_ip_exempt, "127.0.0.1",
        "IPv4 addresses (comma-separated) not held to --max-connections-per-ip: a local "
        "proxy such as nginx; --telnet-proxy-from addresses are exempt on telnet too"),
    INT("fd-reserve", "WARREN_FD_RESERVE", fd_reserve, 0, 100000, "32",
        "file descriptors kept free for Raft and peers: a client connection that would "
        "leave fewer is refused (open ones are kept)"),
    INT("header-timeout", "WARREN_HEADER_TIMEOUT", header_timeout, 100, 600000, "10000",
        "ms from a request's first byte to the end of its headers (WebSocket handshakes "
        "included) before 408 and close"),
    INT("idle-timeout", "WARREN_IDLE_TIMEOUT", idle_timeout, 100, 3600000, "30000",
        "ms an HTTP connection may sit without a request (before the first, or between "
        "keep-alive requests) before it is closed; WebSockets are not idle-closed"),
    INT("telnet-max-line", "WARREN_TELNET_MAX_LINE", telnet_max_line, 64, 1048576, "1024",
        "longest telnet input line, bytes: longer is dropped with a message, 16 times "
        "longer closes"),
    INT("telnet-cmd-rate", "WARREN_TELNET_CMD_RATE", telnet_cmd_rate, 1, 100000, "50",
        "telnet commands (IAC WILL/WONT/DO/DONT/SB/...) a client may send per second before "
        "it is closed (option storm)"),
    INT("telnet-cmd-burst", "WARREN_TELNET_CMD_BURST", telnet_cmd_burst, 1, 100000, "200",
        "telnet commands a client may send in a burst"),
    INT("telnet-max-negotiations", "WARREN_TELNET_MAX_NEGOTIATIONS", telnet_max_negotiations,
        16, 1000000, "500", "option negotiations one telnet connection may send in all"),
    INT("cluster-handshake-timeout", "WARREN_CLUSTER_HANDSHAKE_TIMEOUT",
        cluster_handshake_timeout, 100, 60000, "3000",
        "ms a cluster-port connection has to prove the cluster secret"),
    INT("cluster-max-handshakes-per-ip", "WARREN_CLUSTER_MAX_HANDSHAKES_PER_IP",
        cluster_max_handshakes_per_ip, 1, 256, "16",
        "cluster-port connections from one address still proving the secret"),
    STR("apply-log", "WARREN_APPLY_LOG", apply_log, "",
        "append one JSON line per applied command (log index, session, seq, verdict, "
        "payload) to FILE, for the nemesis checker (tests/nemesis/FORMAT.md); empty: off"),
    STR("admin-token-file", "WARREN_ADMIN_TOKEN_FILE", admin_token_file, "",
        "file holding the admin token (16-128 printable characters) that requests which "
        "change something must carry (Authorization: Bearer); empty: they are all refused"),
    STR("admin-reads", "WARREN_ADMIN_READS", admin_reads, "open",
        "\"open\": read-only API endpoints and /metrics need no token; \"token\": they do too "
        "(/healthz, /readyz and the game stay open)"),
    STR("log-format", "WARREN_LOG_FORMAT", log_format, "text",
        "log lines as \"text\" (time node level: message) or \"json\" (one object per line: "
        "ts, level, node, component, msg)"),
    STR("log-level", "WARREN_LOG", log_level, "info",
        "lowest level logged: debug, info, warn or error"),
    INT("seed", "WARREN_SEED", seed, 0, LONG_MAX, "0",
        "tests and bug reproduction only: derive every command's dice from N and the "
        "command (one command per entry), so scripted runs repeat; predictable, never for "
        "play; 0: random"),
};
#define N_CORE (sizeof settings / sizeof settings[0])
#define MAX_SETTINGS (N_CORE + 64)

/* The node's settings followed by every game's (node/game.h). */
static struct setting all[MAX_SETTINGS];
static size_t n_all;

static void build_table(void)
{
    if (n_all > 0)
        return;
    for (size_t i = 0; i < N_CORE; i++)
        all[n_all++] = settings[i];
    for (size_t g = 0; g < wr_game_count; g++) {
        const struct wr_game_setting *gs = wr_games[g]->settings;
        for (; gs != NULL && gs->flag != NULL && n_all < MAX_SETTINGS; gs++)
            all[n_all++] = (struct setting){gs->flag, gs->env, gs->is_string ? K_STR : K_INT, 0,
                                            gs->size, gs->min, gs->max, gs->def, gs->help,
                                            gs->target};
    }
}

static char *field_of(const struct wr_node_config *c, const struct setting *s)
{
    return s->ptr != NULL ? s->ptr : (char *)c + s->offset;
}

void wr_node_config_usage(FILE *out)
{
    build_table();
    fprintf(out, "usage: warren node [OPTIONS]\n\n"
                 "Run one Warren node. Nodes listed in --peers form a Raft cluster; clients\n"
                 "connect to any node: the arena over WebSocket at http://HTTP/ws (docs/protocol.md),\n"
                 "the MUD over telnet (--telnet) or at http://HTTP/play (docs/mud.md).\n\n"
                 "Options (each also read from the environment variable shown):\n");
    for (size_t i = 0; i < n_all; i++) {
        const struct setting *s = &all[i];
        char left[64];
        snprintf(left, sizeof left, "--%s %s", s->flag, s->kind == K_INT ? "N" : "VALUE");
        fprintf(out, "  %-28s %s\n  %-28s [%s%s%s]\n", left, s->help, "", s->env,
                s->def[0] ? ", default " : "", s->def);
    }
    fprintf(out, "  %-28s %s\n\n", "-h, --help", "show this help");
    fprintf(out, "Example, a three-node cluster on one machine:\n"
                 "  head -c 32 /dev/urandom | base64 > cookie\n"
                 "  for i in 1 2 3; do\n"
                 "    warren node --id $i --cluster 127.0.0.1:700$i --http 127.0.0.1:400$i \\\n"
                 "      --telnet 127.0.0.1:500$i \\\n"
                 "      --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 \\\n"
                 "      --cookie-file cookie --data data/node$i &\n"
                 "  done\n"
                 "Then grow it by one node, no other node's flags change (docs/operations.md,\n"
                 "Membership):\n"
                 "  warren node --id 4 --cluster 127.0.0.1:7004 --http 127.0.0.1:4004 \\\n"
                 "    --cookie-file cookie --data data/node4 --join 127.0.0.1:7001 &\n\n"
                 "The seed deployment's variables work as aliases (below the flags and WARREN_*):\n"
                 "  RELEASE_NODE=warren3@10.0.0.3   --id 3, --cluster and --http bound to 10.0.0.3\n"
                 "  RELEASE_COOKIE=SECRET           the cluster secret itself (no --cookie-file)\n"
                 "  CLUSTER_NODES=warren1@10.0.0.1,warren2@10.0.0.2,...\n"
                 "                                  --peers, each on this node's cluster port\n"
                 "  PORT=4000                       the --http port\n");
}

/* Settings given by a flag or a WARREN_* variable, by table index: the
 * seed deployment's aliases fill only the others. */
static bool given[MAX_SETTINGS];

static int set_value(struct wr_node_config *c, const struct setting *s, const char *value,
                     const char *from)
{
    char *field = field_of(c, s);
    if (strcmp(from, "default") != 0)
        given[s - all] = true;
    if (s->kind == K_STR) {
        if (strlen(value) >= s->size) {
            fprintf(stderr, "warren node: %s: value too long (at most %zu bytes)\n", from,
                    s->size - 1);
            return -1;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    }
    long v;
    if (wr_parse_long(value, s->min, s->max, &v) != 0) {
        fprintf(stderr, "warren node: %s: '%s' is not a whole number in %ld..%ld\n", from, value,
                s->min, s->max);
        return -1;
    }
    memcpy(field, &v, sizeof v);
    return 0;
}

static const struct setting *find(const char *flag, size_t len)
{
    for (size_t i = 0; i < n_all; i++)
        if (strlen(all[i].flag) == len && strncmp(all[i].flag, flag, len) == 0)
            return &all[i];
    return NULL;
}

static int parse_peers(struct wr_node_config *c)
{
    char buf[sizeof c->peers_text];
    snprintf(buf, sizeof buf, "%s", c->peers_text);
    size_t cap = 1;
    for (const char *p = buf; *p; p++)
        cap += *p == ',' || *p == ' ';
    free(c->peers);
    c->peers = wr_calloc(cap, sizeof *c->peers);
    c->n_peers = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        char *eq = strchr(tok, '=');
        char *end;
        long id = eq ? strtol(tok, &end, 10) : 0;
        if (eq == NULL || end != eq || id < 1 || id > 65535) {
            fprintf(stderr, "warren node: --peers: '%s' is not ID=IP:PORT\n", tok);
            return -1;
        }
        struct sockaddr_in sa;
        char err[160];
        if (wr_addr_parse(eq + 1, &sa, err, sizeof err) != 0) {
            fprintf(stderr, "warren node: --peers: %s\n", err);
            return -1;
        }
        for (size_t i = 0; i < c->n_peers; i++) {
            if (c->peers[i].id == (uint64_t)id) {
                fprintf(stderr, "warren node: --peers: id %ld appears twice\n", id);
                return -1;
            }
        }
        c->peers[c->n_peers].id = (uint64_t)id;
        snprintf(c->peers[c->n_peers].address, sizeof c->peers[0].address, "%s", eq + 1);
        c->n_peers++;
    }
    if (c->n_peers == 0) {
        c->peers[0].id = (uint64_t)c->id;
        snprintf(c->peers[0].address, sizeof c->peers[0].address, "%s", c->cluster);
        c->n_peers = 1;
        return 0;
    }
    for (size_t i = 0; i < c->n_peers; i++) {
        if (c->peers[i].id == (uint64_t)c->id) {
            if (strcmp(c->peers[i].address, c->cluster) != 0) {
                fprintf(stderr,
                        "warren node: --peers gives node %ld the address %s but --cluster "
                        "is %s\n",
                        c->id, c->peers[i].address, c->cluster);
                return -1;
            }
            return 0;
        }
    }
    fprintf(stderr, "warren node: --peers does not list this node (--id %ld)\n", c->id);
    return -1;
}

void wr_node_config_free(struct wr_node_config *c)
{
    free(c->peers);
    c->peers = NULL;
    c->n_peers = 0;
}

static bool was_given(const char *flag)
{
    const struct setting *s = find(flag, strlen(flag));
    return s != NULL && given[s - all];
}

/* "NAME@IP" of the seed deployment: the node number ending NAME (0 if
 * none) and the IP. Returns 0, or -1. */
static int parse_release_name(const char *text, long *num, char *ip, size_t iplen)
{
    const char *at = strchr(text, '@');
    if (at == NULL || at == text || at[1] == '\0' || strlen(at + 1) >= iplen)
        return -1;
    const char *d = at;
    while (d > text && d[-1] >= '0' && d[-1] <= '9')
        d--;
    *num = 0;
    if (d < at && at - d <= 5)
        *num = strtol(d, NULL, 10);
    snprintf(ip, iplen, "%s", at + 1);
    struct sockaddr_in sa;
    char addr[80], err[160];
    snprintf(addr, sizeof addr, "%s:1", ip);
    return wr_addr_parse(addr, &sa, err, sizeof err);
}

/* The port of "IP:PORT" (as text), or "" when there is none. */
static const char *port_of(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    return colon != NULL ? colon + 1 : "";
}

/* @dst = "@host:@port", if it fits in @cap (@port may point into @dst). */
static int set_addr(char *dst, size_t cap, const char *host, const char *port_in)
{
    char port[8];
    size_t h = strlen(host), p = strlen(port_in);
    if (p >= sizeof port || h + 1 + p + 1 > cap) {
        fprintf(stderr, "warren node: address %s:%s is too long\n", host, port_in);
        return -1;
    }
    memcpy(port, port_in, p + 1);
    memmove(dst, host, h);
    dst[h] = ':';
    memcpy(dst + h + 1, port, p + 1);
    return 0;
}

/* The seed deployment's variables, for what no flag or WARREN_* variable
 * set (config.h). */
static int apply_aliases(struct wr_node_config *c)
{
    const char *node = getenv("RELEASE_NODE");
    char ip[64];
    long num;
    if (node != NULL && node[0] != '\0') {
        if (parse_release_name(node, &num, ip, sizeof ip) != 0) {
            fprintf(stderr, "warren node: RELEASE_NODE: '%s' is not NAME@IPv4\n", node);
            return -1;
        }
        if (!was_given("id")) {
            if (num < 1 || num > 65535) {
                fprintf(stderr,
                        "warren node: RELEASE_NODE: '%s' names no node number (its name must end "
                        "in 1..65535, e.g. warren3@10.0.0.3), and no --id was given\n",
                        node);
                return -1;
            }
            c->id = num;
        }
        if (!was_given("cluster") &&
            set_addr(c->cluster, sizeof c->cluster, ip, port_of(c->cluster)) != 0)
            return -1;
        if (!was_given("http") && set_addr(c->http, sizeof c->http, ip, port_of(c->http)) != 0)
            return -1;
    }
    const char *port = getenv("PORT");
    if (port != NULL && port[0] != '\0' && !was_given("http")) {
        long p;
        if (wr_parse_long(port, 1, 65535, &p) != 0) {
            fprintf(stderr, "warren node: PORT: '%s' is not a port number (1..65535)\n", port);
            return -1;
        }
        char host[64], digits[8];
        snprintf(host, sizeof host, "%s", c->http);
        char *colon = strrchr(host, ':');
        if (colon != NULL)
            *colon = '\0';
        snprintf(digits, sizeof digits, "%ld", p);
        if (set_addr(c->http, sizeof c->http, host, digits) != 0)
            return -1;
    }
    const char *nodes = getenv("CLUSTER_NODES");
    if (nodes != NULL && nodes[0] != '\0' && !was_given("peers") && !was_given("join")) {
        char buf[sizeof c->peers_text], out[sizeof c->peers_text];
        size_t len = 0;
        snprintf(buf, sizeof buf, "%s", nodes);
        out[0] = '\0';
        for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
             tok = strtok_r(NULL, ", ", &save)) {
            if (parse_release_name(tok, &num, ip, sizeof ip) != 0 || num < 1 || num > 65535) {
                fprintf(stderr,
                        "warren node: CLUSTER_NODES: '%s' is not NAME@IPv4 with a node number "
                        "ending NAME (e.g. warren2@10.0.0.2)\n",
                        tok);
                return -1;
            }
            int n = snprintf(out + len, sizeof out - len, "%s%ld=%s:%s", len ? "," : "", num, ip,
                             port_of(c->cluster));
            if (n < 0 || (size_t)n >= sizeof out - len) {
                fprintf(stderr, "warren node: CLUSTER_NODES: too long\n");
                return -1;
            }
            len += (size_t)n;
        }
        snprintf(c->peers_text, sizeof c->peers_text, "%s", out);
    }
    const char *cookie = getenv("RELEASE_COOKIE");
    if (cookie != NULL && cookie[0] != '\0' && !was_given("cookie-file")) {
        if (strlen(cookie) >= sizeof c->cookie) {
            fprintf(stderr, "warren node: RELEASE_COOKIE: longer than %zu bytes\n",
                    sizeof c->cookie - 1);
            return -1;
        }
        snprintf(c->cookie, sizeof c->cookie, "%s", cookie);
    }
    return 0;
}

int wr_node_config_parse(struct wr_node_config *c, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    build_table();
    memset(given, 0, sizeof given);
    for (size_t i = 0; i < n_all; i++)
        if (all[i].def[0] && set_value(c, &all[i], all[i].def, "default") != 0)
            return -1;
    for (size_t i = 0; i < n_all; i++) {
        const char *v = getenv(all[i].env);
        if (v != NULL && set_value(c, &all[i], v, all[i].env) != 0)
            return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            wr_node_config_usage(stdout);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "warren node: unexpected argument '%s'; try 'warren node --help'\n",
                    a);
            return -1;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct setting *s = find(name, len);
        if (s == NULL) {
            fprintf(stderr, "warren node: unknown option '%s'; try 'warren node --help'\n", a);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (value == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "warren node: --%s needs a value\n", s->flag);
                return -1;
            }
            value = argv[++i];
        }
        char from[80];
        snprintf(from, sizeof from, "--%s", s->flag);
        if (set_value(c, s, value, from) != 0)
            return -1;
    }

    if (apply_aliases(c) != 0)
        return -1;
    struct sockaddr_in sa;
    char err[160];
    if (c->join[0] != '\0' && wr_addr_parse(c->join, &sa, err, sizeof err) != 0) {
        fprintf(stderr, "warren node: --join: %s\n", err);
        return -1;
    }
    if (c->join[0] != '\0' && c->peers_text[0] != '\0') {
        fprintf(stderr, "warren node: --join and --peers exclude each other: a joining node "
                        "learns the configuration from the cluster\n");
        return -1;
    }
    if (wr_addr_parse(c->cluster, &sa, err, sizeof err) != 0) {
        fprintf(stderr, "warren node: --cluster: %s\n", err);
        return -1;
    }
    if (wr_addr_parse(c->http, &sa, err, sizeof err) != 0) {
        fprintf(stderr, "warren node: --http: %s\n", err);
        return -1;
    }
    uint32_t proxies[WR_TELNET_MAX_PROXIES];
    if (wr_proxy_parse_trusted(c->telnet_proxy_from, proxies, WR_TELNET_MAX_PROXIES, err,
                               sizeof err) < 0) {
        fprintf(stderr, "warren node: --telnet-proxy-from: %s\n", err);
        return -1;
    }
    if (wr_proxy_parse_trusted(c->per_ip_exempt, proxies, WR_NET_MAX_EXEMPT, err, sizeof err) <
        0) {
        fprintf(stderr, "warren node: --per-ip-exempt: %s\n", err);
        return -1;
    }
    if (strcmp(c->admin_reads, "open") != 0 && strcmp(c->admin_reads, "token") != 0) {
        fprintf(stderr, "warren node: --admin-reads: \"%s\" is not open or token\n",
                c->admin_reads);
        return -1;
    }
    if (wr_log_parse_format(c->log_format) < 0) {
        fprintf(stderr, "warren node: --log-format: \"%s\" is not text or json\n", c->log_format);
        return -1;
    }
    if (wr_log_parse_level(c->log_level) < 0) {
        fprintf(stderr, "warren node: --log-level: \"%s\" is not debug, info, warn or error\n",
                c->log_level);
        return -1;
    }
    if (c->heartbeat >= c->election_timeout) {
        fprintf(stderr, "warren node: --heartbeat (%ld) must be below --election-timeout (%ld)\n",
                c->heartbeat, c->election_timeout);
        return -1;
    }
    if (c->snapshot_trailing > c->snapshot_threshold) {
        fprintf(stderr, "warren node: --snapshot-trailing must not exceed --snapshot-threshold\n");
        return -1;
    }
    if (parse_peers(c) != 0)
        return -1;
    if (c->data[0] == '\0')
        snprintf(c->data, sizeof c->data, "data/node%ld", c->id);
    if (c->cookie_file[0] == '\0' && c->cookie[0] == '\0' &&
        (c->n_peers > 1 || c->join[0] != '\0')) {
        fprintf(stderr, "warren node: a cluster needs a shared secret: pass --cookie-file FILE "
                        "(or WARREN_COOKIE_FILE, or RELEASE_COOKIE) with the same secret on "
                        "every node\n");
        return -1;
    }
    return 0;
}

void wr_node_config_dump(const struct wr_node_config *c, struct wr_prom *p)
{
    build_table();
    /* Numbers only: the exposition format has no string values, and the
     * string settings (addresses, paths) are in the node's start-up log. */
    wr_prom_family(p, "warren_config_setting", "gauge",
                   "the node's numeric settings (flag name in the setting label)");
    for (size_t i = 0; i < n_all; i++) {
        const struct setting *s = &all[i];
        if (s->kind != K_INT)
            continue;
        long v;
        memcpy(&v, field_of(c, s), sizeof v);
        wr_prom_sample(p, "warren_config_setting", "setting", s->flag, (double)v);
    }
}
