/* `warren cluster`'s command line: the commands, the options each takes,
 * the help texts, and parsing argv into struct wr__local_opts with every
 * check that needs no file or process (port ranges, the node flags `up`
 * must not be given). See local_internal.h. */
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "common/parse.h"
#include "local/local_internal.h"

static const char *const cmd_names[CMD_COUNT] = {"up",        "down",         "status",
                                                 "kill-node", "restart-node", "roll"};

/* One row per option: which commands take it and whether it has a value. */
enum opt_id {
    OPT_N,
    OPT_DIR,
    OPT_HTTP,
    OPT_CLUSTER,
    OPT_LB,
    OPT_TELNET,
    OPT_LB_TELNET,
    OPT_TLS,
    OPT_LB_TLS,
    OPT_LB_TELNET_TLS,
    OPT_WAIT,
    OPT_FG,
    OPT_SIGNAL,
    OPT_BIN
};
#define ONLY(c) (1u << (c))
#define ALL_CMDS (ONLY(CMD_COUNT) - 1)
static const struct {
    enum opt_id id;
    const char *name;  /* "--dir" */
    const char *alias; /* "-n" or NULL */
    bool value;
    unsigned cmds;
} options[] = {
    {OPT_N, "--nodes", "-n", true, ONLY(CMD_UP)},
    {OPT_DIR, "--dir", NULL, true, ALL_CMDS},
    {OPT_HTTP, "--http-port", NULL, true, ONLY(CMD_UP)},
    {OPT_CLUSTER, "--cluster-port", NULL, true, ONLY(CMD_UP)},
    {OPT_LB, "--lb-port", NULL, true, ONLY(CMD_UP)},
    {OPT_TELNET, "--telnet-port", NULL, true, ONLY(CMD_UP)},
    {OPT_LB_TELNET, "--lb-telnet-port", NULL, true, ONLY(CMD_UP)},
    {OPT_TLS, "--tls", NULL, false, ONLY(CMD_UP)},
    {OPT_LB_TLS, "--lb-tls-port", NULL, true, ONLY(CMD_UP)},
    {OPT_LB_TELNET_TLS, "--lb-telnet-tls-port", NULL, true, ONLY(CMD_UP)},
    {OPT_WAIT, "--wait", NULL, true, ONLY(CMD_UP) | ONLY(CMD_RESTART) | ONLY(CMD_ROLL)},
    {OPT_FG, "--foreground", NULL, false, ONLY(CMD_UP)},
    {OPT_SIGNAL, "--signal", "-s", true, ONLY(CMD_KILL)},
    {OPT_BIN, "--bin", NULL, true, ONLY(CMD_ROLL)},
};

static void usage_main(FILE *out)
{
    fputs("usage: warren cluster COMMAND [OPTIONS]\n"
          "\n"
          "Run a whole Warren cluster on this machine: N nodes on 127.0.0.1 behind an\n"
          "nginx load balancer, everything in one directory (default " WR_LOCAL_DEFAULT_DIR ").\n"
          "For production, see deploy/README.md.\n"
          "\n"
          "commands:\n"
          "  up               start the nodes and nginx, wait until they serve, print the URLs\n"
          "  down             stop every process of the cluster\n"
          "  status           which processes run, and each node's role, term, indexes, hash\n"
          "  kill-node N      send node N a signal (default SIGKILL)\n"
          "  restart-node N   stop node N if it runs, then start it with the flags up used\n"
          "  roll             restart every node in turn, drained first, under load\n"
          "\n"
          "Every command takes --dir DIR and -h/--help (warren cluster COMMAND --help).\n",
          out);
}

static void usage_up(FILE *out)
{
    fputs("usage: warren cluster up [OPTIONS] [-- NODE FLAGS...]\n"
          "\n"
          "Start N `warren node` processes on 127.0.0.1 and nginx in front of them, wait\n"
          "until every node answers GET /readyz with 200 and nginx answers GET /, then\n"
          "print how to connect. Node i (1..N) listens on HTTP_PORT+i-1 (HTTP, the\n"
          "WebSockets /ws and /mud/ws), CLUSTER_PORT+i-1 (Raft) and TELNET_PORT+i-1\n"
          "(the MUD over telnet); nginx on LB_PORT spreads HTTP and WebSockets, and on\n"
          "LB_TELNET_PORT telnet connections, over the nodes and routes around dead\n"
          "ones (telnet needs nginx's stream module: apt-get install\n"
          "libnginx-mod-stream). Each time, a fresh cluster secret is written to\n"
          "DIR/cookie and a fresh admin token to DIR/admin-token (warren ctl reads\n"
          "" WR_LOCAL_DEFAULT_DIR "/admin-token by default); the data in DIR/node<i>/ is\n"
          "kept. NODE FLAGS go to every node (warren node --help), e.g.\n"
          "-- --election-timeout 500.\n"
          "\n"
          "With --tls, nginx also terminates TLS (TLSv1.2 and 1.3): HTTPS and WSS on\n"
          "LB_TLS_PORT (the same nodes and paths as LB_PORT) and telnet over TLS on\n"
          "LB_TELNET_TLS_PORT (the same nodes as LB_TELNET_PORT); the plain ports stay.\n"
          "Its certificate is DIR/" WR_LOCAL_TLS_CERT " with the key DIR/" WR_LOCAL_TLS_KEY
          " (mode 0600):\n"
          "a pair already there is reused while it is valid for another day (put your\n"
          "own there to use it), else a self-signed one for localhost and 127.0.0.1\n"
          "is made with the openssl command line tool. Browsers warn about a\n"
          "self-signed certificate; clients can trust that file as their CA, e.g.\n"
          "curl --cacert DIR/" WR_LOCAL_TLS_CERT " https://127.0.0.1:4443/api/cluster or\n"
          "openssl s_client -quiet -CAfile DIR/" WR_LOCAL_TLS_CERT " -connect 127.0.0.1:5556\n"
          "\n"
          "options:\n"
          "  -n, --nodes N       number of nodes, 1-15 (default 3)\n"
          "  --dir DIR           the cluster's directory (default " WR_LOCAL_DEFAULT_DIR "):\n"
          "                      cookie, admin-token, cluster.conf, nginx.conf, data\n"
          "                      dirs node<i>/, logs node<i>.log and\n"
          "                      nginx-{error,access}.log, pid files\n"
          "  --http-port P       node 1's HTTP port (default 4001)\n"
          "  --cluster-port P    node 1's cluster port (default 7001)\n"
          "  --lb-port P         nginx's HTTP port: the arena is at http://127.0.0.1:P/,\n"
          "                      the MUD at http://127.0.0.1:P/play (default 4000)\n"
          "  --telnet-port P     node 1's telnet port (default 5001); 0: no telnet\n"
          "                      listeners and no telnet proxy (no stream module needed)\n"
          "  --lb-telnet-port P  nginx's telnet port: telnet 127.0.0.1 P (default 5555)\n"
          "  --tls               also serve HTTPS, WSS and telnet over TLS (see above)\n"
          "  --lb-tls-port P     with --tls: nginx's HTTPS and WSS port: the arena at\n"
          "                      https://127.0.0.1:P/, the MUD at /play (default 4443)\n"
          "  --lb-telnet-tls-port P  with --tls: nginx's telnet-over-TLS port\n"
          "                      (default 5556; none with --telnet-port 0)\n"
          "  --wait S            seconds to wait for everything to serve (default 15)\n"
          "  --foreground        stay and watch: report a node that dies (with its log\n"
          "                      tail) and keep going; SIGINT (Ctrl-C), SIGTERM or SIGHUP\n"
          "                      stops the cluster. Without it, up returns once the\n"
          "                      cluster serves and leaves it running.\n"
          "  -h, --help          show this help\n"
          "\n"
          "nginx is looked up as $WARREN_NGINX, then on $PATH, then /usr/sbin/nginx;\n"
          "openssl (for --tls) as $WARREN_OPENSSL, then on $PATH, then /usr/bin/openssl.\n"
          "\n"
          "exit status: 0 the cluster is up (with --foreground: it ran and was stopped);\n"
          "1 it did not start (a cluster already runs in DIR, no nginx, a port in use,\n"
          "a process died, nothing was ready in time, telnet is on and nginx's\n"
          "stream module is missing, or --tls and no openssl or no usable certificate;\n"
          "whatever started is stopped again); 2 usage error; 130 interrupted while\n"
          "starting.\n",
          out);
}

static void usage_down(FILE *out)
{
    fputs("usage: warren cluster down [--dir DIR]\n"
          "\n"
          "Stop every process that has a pid file in DIR (default " WR_LOCAL_DEFAULT_DIR "):\n"
          "SIGTERM, up to 5 s to exit, then SIGKILL; remove the pid files. Ctrl-C while\n"
          "it waits sends SIGKILL at once. The data dirs and logs stay.\n"
          "\n"
          "exit status: 0 nothing runs any more (also when nothing was running);\n"
          "1 a process survived SIGKILL; 2 usage error.\n",
          out);
}

static void usage_status(FILE *out)
{
    fputs("usage: warren cluster status [--dir DIR]\n"
          "\n"
          "Print the URLs (with TLS too, after up --tls) and telnet ports, whether each\n"
          "process of the cluster in DIR\n"
          "(default " WR_LOCAL_DEFAULT_DIR ") is running (from its pid file), then each\n"
          "node's own view from GET /api/cluster\n"
          "as `warren ctl status` prints it: role, leader, term, commit and applied\n"
          "index, state hash, addresses, and whether the nodes agree.\n"
          "\n"
          "exit status: 0 every process runs and every node answers; 1 something is\n"
          "down or unreachable, or there is no cluster in DIR; 2 usage error;\n"
          "3 two nodes report the same applied index with different hashes.\n",
          out);
}

static void usage_kill(FILE *out)
{
    fputs("usage: warren cluster kill-node N [--signal SIG] [--dir DIR]\n"
          "\n"
          "Send node N of the cluster in DIR (default " WR_LOCAL_DEFAULT_DIR ") a signal,\n"
          "for tests and demos. After KILL, TERM, INT, QUIT or HUP, wait up to 5 s for\n"
          "it to exit and remove its pid file. Bring it back with restart-node.\n"
          "\n"
          "options:\n"
          "  -s, --signal SIG    KILL (default), TERM, INT, STOP, CONT, ... or a number\n"
          "  --dir DIR           the cluster's directory\n"
          "  -h, --help          show this help\n"
          "\n"
          "exit status: 0 the signal was sent; 1 node N is not running; 2 usage error.\n",
          out);
}

static void usage_restart(FILE *out)
{
    fputs("usage: warren cluster restart-node N [--wait S] [--dir DIR]\n"
          "\n"
          "Stop node N of the cluster in DIR (default " WR_LOCAL_DEFAULT_DIR ") if it\n"
          "runs, start it again with the flags `up` recorded in DIR/cluster.conf, on\n"
          "its data dir, and wait up to S seconds (default 15) for GET /readyz to\n"
          "answer 200. A node that runs but cannot be ready (no majority up) is\n"
          "reported as such and left running.\n"
          "\n"
          "exit status: 0 the node runs (ready or not); 1 it did not start (its log\n"
          "tail is printed) or there is no cluster in DIR; 2 usage error;\n"
          "130 interrupted (the node is left running).\n",
          out);
}

static void usage_roll(FILE *out)
{
    fputs("usage: warren cluster roll [--bin NEWBIN] [--wait S] [--dir DIR]\n"
          "\n"
          "Restart every node of the cluster in DIR (default " WR_LOCAL_DEFAULT_DIR "), one at a\n"
          "time, while it serves: the followers first, the leader last. For each node:\n"
          "drain it (warren ctl drain: its leadership, zones and singletons move to the\n"
          "others, its clients are sent elsewhere and resume there), wait until it\n"
          "reports drained, SIGTERM it and wait for it to exit, start it again (with\n"
          "NEWBIN if given), wait until it is ready and has applied everything the\n"
          "leader had committed when it stopped, undrain it; then the next. Each step\n"
          "is printed with its time. Nodes of a release without drain (no \"formats\"\n"
          "in /api/cluster) are restarted without it.\n"
          "\n"
          "options:\n"
          "  --bin NEWBIN  the warren binary to start the nodes with from now on;\n"
          "                recorded in DIR/cluster.conf before the first restart\n"
          "  --wait S      seconds each step may take: drain, exit, ready and caught\n"
          "                up (default 60)\n"
          "  --dir DIR     the cluster's directory\n"
          "  -h, --help    show this help\n"
          "\n"
          "A step that fails stops the roll with the reason, leaving the cluster\n"
          "serving: a node that does not drain is undrained again; a node that does\n"
          "not come back is left drained and stopped or running (its log tail is\n"
          "printed). Uses the admin token in DIR/admin-token.\n"
          "\n"
          "exit status: 0 every node was restarted and is ready; 1 a step failed (or\n"
          "there is no cluster in DIR, or a node was not running or ready before);\n"
          "2 usage error; 130 interrupted (the node in hand is left as it was).\n",
          out);
}

static void (*const usages[CMD_COUNT])(FILE *) = {usage_up,   usage_down,    usage_status,
                                                  usage_kill, usage_restart, usage_roll};

int wr__local_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("warren cluster: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry 'warren cluster %s%s--help'\n", cmd ? cmd : "", cmd ? " " : "");
    return WR_LOCAL_EXIT_USAGE;
}

static int parse_signal(const char *s)
{
    static const char *const names[] = {"HUP",  "INT",  "QUIT", "KILL", "USR1",
                                        "USR2", "TERM", "CONT", "STOP", "TSTP"};
    static const int sigs[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGKILL, SIGUSR1,
                               SIGUSR2, SIGTERM, SIGCONT, SIGSTOP, SIGTSTP};
    int v;
    if (wr_parse_int(s, 1, 64, &v) == 0)
        return v;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(s, names[i]) == 0)
            return sigs[i];
    return -1;
}

/* Node flags that `up` sets itself and must not be given after "--". */
static const char *owned_flag(const char *a)
{
    static const char *const flags[] = {"--id",          "--cluster",         "--http",
                                        "--telnet",      "--peers",           "--data",
                                        "--cookie-file", "--admin-token-file"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        size_t len = strlen(flags[i]);
        if (strncmp(a, flags[i], len) == 0 && (a[len] == '\0' || a[len] == '='))
            return flags[i];
    }
    return NULL;
}

/* A range of ports `up` would use: @name's @lo to @hi. */
struct port_range {
    const char *name;
    int lo, hi;
};

static void add_range(struct port_range *r, size_t *nr, const char *name, int lo, int len)
{
    r[*nr] = (struct port_range){name, lo, lo + len - 1};
    (*nr)++;
}

/* Check that every port range of `up` fits below 65536 and that no two
 * overlap: the nodes' http, cluster and telnet ranges (n ports each) and
 * nginx's lb, lb-telnet, lb-tls and lb-telnet-tls ports. Telnet port 0
 * means no telnet: neither telnet range, nor lb-telnet-tls, is checked;
 * without --tls neither TLS port is. Returns -1 when they are fine, else the
 * usage error's exit code (printed). */
static int check_port_ranges(const char *c, const struct wr__local_opts *o)
{
    bool telnet = o->telnet_port != 0;
    struct port_range r[7];
    size_t nr = 0;
    add_range(r, &nr, "http", o->http_port, o->n);
    add_range(r, &nr, "cluster", o->cluster_port, o->n);
    add_range(r, &nr, "lb", o->lb_port, 1);
    if (telnet) {
        add_range(r, &nr, "telnet", o->telnet_port, o->n);
        add_range(r, &nr, "lb-telnet", o->lb_telnet_port, 1);
    }
    if (o->tls)
        add_range(r, &nr, "lb-tls", o->lb_tls_port, 1);
    if (o->tls && telnet)
        add_range(r, &nr, "lb-telnet-tls", o->lb_telnet_tls_port, 1);
    for (size_t i = 0; i < nr; i++)
        if (r[i].hi > 65535)
            return wr__local_usage_error(c, "%d nodes from %s port %d do not fit below 65536", o->n,
                                         r[i].name, r[i].lo);
    for (size_t i = 0; i < nr; i++)
        for (size_t j = i + 1; j < nr; j++)
            if (r[i].lo <= r[j].hi && r[j].lo <= r[i].hi) {
                char a[16], b[16];
                snprintf(a, sizeof a, r[i].lo == r[i].hi ? "%d" : "%d-%d", r[i].lo, r[i].hi);
                snprintf(b, sizeof b, r[j].lo == r[j].hi ? "%d" : "%d-%d", r[j].lo, r[j].hi);
                return wr__local_usage_error(c, "the ports overlap: %s %s and %s %s", r[i].name, a,
                                             r[j].name, b);
            }
    return -1;
}

/* Parse argv (argv[0] "cluster", argv[1] the command) into @o. Returns -1
 * when it went well, else the exit code to return. */
int wr__local_parse_args(int argc, char **argv, struct wr__local_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dir = WR_LOCAL_DEFAULT_DIR;
    o->n = 3;
    o->http_port = 4001;
    o->cluster_port = 7001;
    o->lb_port = 4000;
    o->telnet_port = 5001;
    o->lb_telnet_port = 5555;
    o->lb_tls_port = 4443;
    o->lb_telnet_tls_port = 5556;
    o->wait_s = 15;
    o->sig = SIGKILL;

    if (argc < 2) {
        usage_main(stderr);
        return WR_LOCAL_EXIT_USAGE;
    }
    const char *c = argv[1];
    if (strcmp(c, "-h") == 0 || strcmp(c, "--help") == 0 || strcmp(c, "help") == 0) {
        if (argc > 2 && strcmp(c, "help") == 0) {
            for (int k = 0; k < CMD_COUNT; k++)
                if (strcmp(argv[2], cmd_names[k]) == 0) {
                    usages[k](stdout);
                    return WR_LOCAL_EXIT_OK;
                }
        }
        usage_main(stdout);
        return WR_LOCAL_EXIT_OK;
    }
    int k;
    for (k = 0; k < CMD_COUNT; k++)
        if (strcmp(c, cmd_names[k]) == 0)
            break;
    if (k == CMD_COUNT)
        return wr__local_usage_error(NULL, "unknown command '%s'", c);
    o->cmd = (enum wr__local_cmd)k;
    if (o->cmd == CMD_ROLL)
        o->wait_s = 60;

    const char *positional = NULL, *tls_port_flag = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            if (o->cmd != CMD_UP)
                return wr__local_usage_error(c, "'--' (flags for the nodes) is for 'up' only");
            o->extra = argv + i + 1;
            o->n_extra = argc - i - 1;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->help = true;
            continue;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (positional != NULL || (o->cmd != CMD_KILL && o->cmd != CMD_RESTART))
                return wr__local_usage_error(c, "unexpected argument '%s'", a);
            positional = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
        size_t j;
        for (j = 0; j < sizeof options / sizeof options[0]; j++) {
            const char *al = options[j].alias;
            if ((strlen(options[j].name) == nlen && strncmp(a, options[j].name, nlen) == 0) ||
                (al != NULL && strlen(al) == nlen && strncmp(a, al, nlen) == 0))
                break;
        }
        if (j == sizeof options / sizeof options[0] || !(options[j].cmds & ONLY(o->cmd)))
            return wr__local_usage_error(c, "unknown option '%.*s' for 'cluster %s'", (int)nlen, a,
                                         c);
        const char *name = options[j].name, *v = NULL;
        if (options[j].value) {
            if (eq != NULL)
                v = eq + 1;
            else if (i + 1 < argc)
                v = argv[++i];
            else
                return wr__local_usage_error(c, "option %s needs a value", name);
        } else if (eq != NULL) {
            return wr__local_usage_error(c, "option %s takes no value", name);
        }
        int bad = 0;
        switch (options[j].id) {
        case OPT_N:
            bad = wr_parse_int(v, 1, WR_LOCAL_MAX_NODES, &o->n);
            break;
        case OPT_DIR:
            o->dir = v;
            o->dir_given = true;
            bad = v[0] == '\0' ? -1 : 0;
            break;
        case OPT_HTTP:
            bad = wr_parse_int(v, 1, 65535, &o->http_port);
            break;
        case OPT_CLUSTER:
            bad = wr_parse_int(v, 1, 65535, &o->cluster_port);
            break;
        case OPT_LB:
            bad = wr_parse_int(v, 1, 65535, &o->lb_port);
            break;
        case OPT_TELNET:
            bad = wr_parse_int(v, 0, 65535, &o->telnet_port);
            break;
        case OPT_LB_TELNET:
            bad = wr_parse_int(v, 1, 65535, &o->lb_telnet_port);
            break;
        case OPT_TLS:
            o->tls = true;
            break;
        case OPT_LB_TLS:
            bad = wr_parse_int(v, 1, 65535, &o->lb_tls_port);
            tls_port_flag = name;
            break;
        case OPT_LB_TELNET_TLS:
            bad = wr_parse_int(v, 1, 65535, &o->lb_telnet_tls_port);
            tls_port_flag = name;
            break;
        case OPT_WAIT:
            bad = wr_parse_int(v, 1, 3600, &o->wait_s);
            break;
        case OPT_BIN:
            o->bin = v;
            bad = v[0] == '\0' ? -1 : 0;
            break;
        case OPT_FG:
            o->foreground = true;
            break;
        case OPT_SIGNAL:
            o->sig = parse_signal(v);
            bad = o->sig < 0 ? -1 : 0;
            break;
        }
        if (bad != 0)
            return wr__local_usage_error(c, "bad value '%s' for %s%s", v, name,
                                         options[j].id == OPT_N ? " (1-15)" : "");
    }
    if (o->help) {
        usages[o->cmd](stdout);
        return fflush(stdout) == 0 ? WR_LOCAL_EXIT_OK : WR_LOCAL_EXIT_ERROR;
    }
    if (o->cmd == CMD_KILL || o->cmd == CMD_RESTART) {
        if (positional == NULL)
            return wr__local_usage_error(c, "which node? e.g. 'warren cluster %s 2'", c);
        if (wr_parse_int(positional, 1, WR_LOCAL_MAX_NODES, &o->node) != 0)
            return wr__local_usage_error(c, "bad node id '%s' (1-%d)", positional,
                                         WR_LOCAL_MAX_NODES);
    }
    if (o->cmd == CMD_UP) {
        /* A TLS port without --tls would be silently unused: say so. */
        if (tls_port_flag != NULL && !o->tls)
            return wr__local_usage_error(c, "%s is for --tls; add --tls", tls_port_flag);
        int r = check_port_ranges(c, o);
        if (r >= 0)
            return r;
        if (o->n_extra > WR_LOCAL_MAX_EXTRA)
            return wr__local_usage_error(c, "more than %d node flags after '--'",
                                         WR_LOCAL_MAX_EXTRA);
        for (int i = 0; i < o->n_extra; i++) {
            const char *f = owned_flag(o->extra[i]);
            if (f != NULL)
                return wr__local_usage_error(
                    c, "%s is set by 'cluster up' for each node; not after '--'", f);
            if (strchr(o->extra[i], '\n') != NULL || strlen(o->extra[i]) > WR_LOCAL_MAX_EXTRA_LEN)
                return wr__local_usage_error(c, "node flag '%.40s...' is too long or has a newline",
                                             o->extra[i]);
        }
    }
    return -1;
}
