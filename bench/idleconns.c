/* idleconns: hold many idle WebSocket connections to one node and measure
 * what they cost it (bench/README.md, "100,000 idle connections").
 *
 * It opens --conns sockets to one node's HTTP address, upgrades each to a
 * WebSocket on --path (an upgrade only, or with --join also a `join`,
 * docs/protocol.md), and then holds them, reading and dropping whatever the
 * node sends, until --hold seconds pass, DIR/release appears (--mark-dir)
 * or SIGTERM/SIGINT. It reports the node's RSS before and with the
 * connections open (/proc/PID/status VmRSS: the node's user-space memory,
 * heap included), the kernel's socket memory (/proc/net/sockstat and the
 * socket slabs of /proc/slabinfo, which count BOTH ends of every loopback
 * connection: this tool's and the node's), and how many sockets the node
 * closed while they were held.
 *
 * Why epoll and not libuv or Node: a libuv uv_tcp_t is ~250 bytes plus a
 * connect request per socket, and a Node socket several KB; here a
 * connection is an fd and an 8-byte record, so 100,000 cost this process
 * ~2 MB and the measurement is about the node, not the generator.
 *
 * One source address has ~28,000 ephemeral ports (ip_local_port_range), so
 * connections are spread over --sources loopback addresses from
 * --source-base (127.0.0.2, 127.0.0.3, ...: all of 127/8 is loopback).
 * IP_BIND_ADDRESS_NO_PORT lets connect() choose the port per 4-tuple. At the
 * end every socket is closed with SO_LINGER 0 (an RST): no TIME_WAIT is
 * left to block the next run's ports.
 *
 * The upgrade request uses RFC 6455's sample key; a response is accepted
 * on its status line (HTTP/1.1 101), which the node sends only after it
 * checked the key and computed the accept value.
 *
 * Every loop is bounded: connecting by --connect-timeout, holding by
 * --hold, each epoll_wait by 100 ms, each read by the buffer. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "idleconns"
#include "benchlib.h"

#define IC_MAX_SOURCES 64
#define IC_EVENTS 1024
#define IC_RBUF (256u << 10)

static const char STATUS_101[] = "HTTP/1.1 101";
#define STATUS_LEN (sizeof STATUS_101 - 1)

enum conn_state {
    S_NEW,        /* not started */
    S_CONNECTING, /* connect() in progress: waiting for EPOLLOUT */
    S_UPGRADING,  /* request sent: waiting for the response head */
    S_OPEN,       /* upgraded (and, with --join, join sent): held */
    S_DONE,       /* failed or closed; fd is -1 */
};

/* 8 bytes per connection. */
struct conn {
    int fd;
    uint8_t state;
    uint8_t head_len; /* bytes of the status line seen (<= STATUS_LEN) */
    uint8_t crlf;     /* bytes of "\r\n\r\n" matched at the end of the head */
    uint8_t welcomed; /* --join: 1 a welcome was seen, 2 an error instead */
};

struct opts {
    struct sockaddr_in node;
    char node_text[64];
    const char *path;
    uint32_t conns;
    uint32_t sources;
    struct in_addr source_base;
    int pid;
    bool join;
    uint32_t parallel;
    double connect_timeout_s;
    double hold_s;
    double settle_s;
    const char *mark_dir;
    const char *json;
};

struct ic {
    struct opts o;
    struct conn *c;
    int ep;
    char *rbuf;
    char request[512];
    size_t request_len;
    uint32_t started, connecting, upgrading, open, failed;
    uint32_t closed_by_node; /* open sockets the node closed (EOF or error) */
    uint64_t welcomes;
    uint64_t join_errors; /* --join: an error came instead of the welcome */
    uint64_t bytes_in;
    struct code_count codes[BENCH_MAX_CODES];
    uint32_t n_codes;
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* ---- /proc readings --------------------------------------------------- */

/* The kernel's socket accounting at one moment. */
struct kmem {
    long tcp_inuse, tcp_mem_pages; /* /proc/net/sockstat (this netns) */
    long long slab_bytes;          /* the socket slabs below, whole kernel */
    long long slab[5];
};

/* The slabs one TCP socket (and its fd) occupies: the tcp_sock, its
 * inode, the struct file, the dentry, and an epoll item per epoll set
 * that watches it (this tool's and the node's). */
static const char *const SLABS[5] = {"TCP", "sock_inode_cache", "filp", "dentry", "eventpoll_epi"};

static void kmem_read(struct kmem *k)
{
    memset(k, 0, sizeof *k);
    k->tcp_inuse = k->tcp_mem_pages = -1;
    char line[512];
    FILE *f = fopen("/proc/net/sockstat", "r");
    if (f != NULL) {
        while (fgets(line, sizeof line, f) != NULL) {
            long inuse, orphan, tw, alloc, mem;
            if (sscanf(line, "TCP: inuse %ld orphan %ld tw %ld alloc %ld mem %ld", &inuse, &orphan,
                       &tw, &alloc, &mem) == 5) {
                k->tcp_inuse = inuse;
                k->tcp_mem_pages = mem;
            }
        }
        fclose(f);
    }
    k->slab_bytes = -1;
    f = fopen("/proc/slabinfo", "r"); /* root only */
    if (f == NULL)
        return;
    k->slab_bytes = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        char name[64];
        long active, num, objsize;
        if (sscanf(line, "%63s %ld %ld %ld", name, &active, &num, &objsize) != 4)
            continue;
        for (int i = 0; i < 5; i++)
            if (strcmp(name, SLABS[i]) == 0) {
                k->slab[i] = (long long)active * objsize;
                k->slab_bytes += k->slab[i];
            }
    }
    fclose(f);
}

/* ---- connections ------------------------------------------------------ */

static void fail(struct ic *ic, uint32_t i, const char *code)
{
    struct conn *c = &ic->c[i];
    if (c->state == S_CONNECTING)
        ic->connecting--;
    else if (c->state == S_UPGRADING)
        ic->upgrading--;
    else if (c->state == S_OPEN)
        ic->open--;
    if (c->fd >= 0)
        close(c->fd); /* closing removes it from the epoll set */
    c->fd = -1;
    c->state = S_DONE;
    ic->failed++;
    count_code(ic->codes, &ic->n_codes, code);
}

static void fail_errno(struct ic *ic, uint32_t i, const char *what, int err)
{
    char code[64];
    snprintf(code, sizeof code, "%s_%s", what, strerrorname_np(err) ? strerrorname_np(err) : "?");
    fail(ic, i, code);
}

static void start_conn(struct ic *ic, uint32_t i)
{
    struct conn *c = &ic->c[i];
    ic->started++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail_errno(ic, i, "socket", errno);
        return;
    }
    c->fd = fd;
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(ntohl(ic->o.source_base.s_addr) + i % ic->o.sources);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
        fail_errno(ic, i, "bind", errno);
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = i};
    if (epoll_ctl(ic->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        fail_errno(ic, i, "epoll", errno);
        return;
    }
    c->state = S_CONNECTING;
    ic->connecting++;
    if (connect(fd, (struct sockaddr *)&ic->o.node, sizeof ic->o.node) != 0 && errno != EINPROGRESS)
        fail_errno(ic, i, "connect", errno);
}

/* A masked text frame (clients must mask, RFC 6455 5.3) of @text. */
static size_t ws_text_frame(uint8_t *out, const char *text, size_t len)
{
    static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    out[0] = 0x81;
    out[1] = (uint8_t)(0x80 | len); /* len < 126: a join is ~30 bytes */
    memcpy(out + 2, key, 4);
    for (size_t j = 0; j < len; j++)
        out[6 + j] = (uint8_t)text[j] ^ key[j & 3];
    return 6 + len;
}

/* Whole small writes on a fresh socket: the kernel takes them at once; a
 * short write is reported, not retried. */
static bool send_all(struct ic *ic, uint32_t i, const void *data, size_t len, const char *what)
{
    ssize_t n = send(ic->c[i].fd, data, len, MSG_NOSIGNAL);
    if (n == (ssize_t)len)
        return true;
    if (n < 0)
        fail_errno(ic, i, what, errno);
    else
        fail(ic, i, "short_write");
    return false;
}

static void on_connected(struct ic *ic, uint32_t i)
{
    struct conn *c = &ic->c[i];
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) {
        fail_errno(ic, i, "connect", err);
        return;
    }
    if (!send_all(ic, i, ic->request, ic->request_len, "send"))
        return;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(ic->ep, EPOLL_CTL_MOD, c->fd, &ev);
    ic->connecting--;
    c->state = S_UPGRADING;
    ic->upgrading++;
}

/* Response bytes while upgrading: check the status line, find the end of
 * the head; returns the offset of the first byte after the head, or -1 if
 * the head is not complete (or the connection failed). */
static ssize_t scan_head(struct ic *ic, uint32_t i, const char *data, size_t len)
{
    struct conn *c = &ic->c[i];
    static const char END[] = "\r\n\r\n";
    for (size_t k = 0; k < len; k++) {
        if (c->head_len < STATUS_LEN) {
            if (data[k] != STATUS_101[c->head_len]) {
                fail(ic, i, c->head_len >= 9 ? "http_not_101" : "http_garbage");
                return -1;
            }
            c->head_len++;
        }
        c->crlf = data[k] == END[c->crlf] ? (uint8_t)(c->crlf + 1) : (data[k] == '\r');
        if (c->crlf == 4)
            return (ssize_t)(k + 1);
    }
    return -1;
}

static void on_upgraded(struct ic *ic, uint32_t i)
{
    struct conn *c = &ic->c[i];
    ic->upgrading--;
    c->state = S_OPEN;
    ic->open++;
    if (!ic->o.join)
        return;
    char text[64];
    uint8_t frame[80];
    int tl = snprintf(text, sizeof text, "{\"t\":\"join\",\"name\":\"idle%" PRIu32 "\"}", i);
    size_t fl = ws_text_frame(frame, text, (size_t)tl);
    send_all(ic, i, frame, fl, "send_join");
}

/* Count welcomes in what an open --join socket read (a marker split
 * across two reads is missed: the count is a check, not the measurement). */
static void scan_open(struct ic *ic, uint32_t i, const char *data, size_t len)
{
    static const char W[] = "\"t\":\"welcome\"", E[] = "\"t\":\"error\"";
    if (!ic->o.join || ic->c[i].welcomed)
        return;
    if (memmem(data, len, W, sizeof W - 1) != NULL) {
        ic->c[i].welcomed = 1;
        ic->welcomes++;
    } else if (memmem(data, len, E, sizeof E - 1) != NULL) {
        ic->c[i].welcomed = 2; /* refused (the arena is full...) */
        ic->join_errors++;
    }
}

static void on_readable(struct ic *ic, uint32_t i)
{
    struct conn *c = &ic->c[i];
    ssize_t n = recv(c->fd, ic->rbuf, IC_RBUF, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        if (c->state == S_OPEN)
            ic->closed_by_node++;
        fail_errno(ic, i, c->state == S_OPEN ? "read_open" : "read_upgrade", errno);
        return;
    }
    if (n == 0) {
        if (c->state == S_OPEN)
            ic->closed_by_node++;
        fail(ic, i, c->state == S_OPEN ? "closed_by_node" : "eof_in_upgrade");
        return;
    }
    ic->bytes_in += (uint64_t)n;
    if (c->state == S_UPGRADING) {
        ssize_t off = scan_head(ic, i, ic->rbuf, (size_t)n);
        if (off < 0)
            return;
        on_upgraded(ic, i);
        if (c->state == S_OPEN)
            scan_open(ic, i, ic->rbuf + off, (size_t)(n - off));
        return;
    }
    if (c->state == S_OPEN)
        scan_open(ic, i, ic->rbuf, (size_t)n);
}

/* One epoll_wait (at most @ms) and its events. */
static void poll_once(struct ic *ic, int ms)
{
    struct epoll_event evs[IC_EVENTS];
    int n = epoll_wait(ic->ep, evs, IC_EVENTS, ms);
    for (int k = 0; k < n; k++) {
        uint32_t i = evs[k].data.u32;
        struct conn *c = &ic->c[i];
        if (c->state == S_CONNECTING) {
            on_connected(ic, i);
        } else if (c->state == S_UPGRADING || c->state == S_OPEN) {
            if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                on_readable(ic, i);
        }
    }
}

/* ---- phases ----------------------------------------------------------- */

static bool released(const struct ic *ic)
{
    if (g_stop)
        return true;
    if (ic->o.mark_dir == NULL)
        return false;
    char path[4096];
    snprintf(path, sizeof path, "%s/release", ic->o.mark_dir);
    struct stat st;
    return stat(path, &st) == 0;
}

/* Connect and upgrade everything, at most --parallel in progress, until
 * all are open or failed, or the deadline. */
static double open_all(struct ic *ic)
{
    uint64_t t0 = now_ns();
    uint64_t deadline = t0 + (uint64_t)(ic->o.connect_timeout_s * 1e9);
    uint64_t next_report = t0 + 5 * NS_PER_S;
    while (!g_stop && now_ns() < deadline &&
           (ic->started < ic->o.conns || ic->connecting + ic->upgrading > 0)) {
        while (ic->started < ic->o.conns && ic->connecting + ic->upgrading < ic->o.parallel)
            start_conn(ic, ic->started);
        poll_once(ic, 10);
        if (now_ns() >= next_report) {
            fprintf(stderr,
                    BENCH_NAME ": %" PRIu32 " open, %" PRIu32 " failed, %" PRIu32 " in progress\n",
                    ic->open, ic->failed, ic->connecting + ic->upgrading);
            next_report += 5 * NS_PER_S;
        }
    }
    for (uint32_t i = 0; i < ic->started; i++)
        if (ic->c[i].state == S_CONNECTING || ic->c[i].state == S_UPGRADING)
            fail(ic, i, "timeout");
    return (double)(now_ns() - t0) / 1e9;
}

/* Keep reading (and dropping) for @s seconds, or until released when
 * @until_release. Returns the seconds spent. */
static double hold(struct ic *ic, double s, bool until_release)
{
    uint64_t t0 = now_ns();
    uint64_t end = t0 + (uint64_t)(s * 1e9);
    while (now_ns() < end && !g_stop && !(until_release && released(ic)))
        poll_once(ic, 100);
    return (double)(now_ns() - t0) / 1e9;
}

/* --join: every open socket's join applies through the log; wait (at most
 * 60 s) until each has seen its welcome, so that the reading counts joined
 * players, not joins still in flight. */
static void wait_welcomes(struct ic *ic)
{
    uint64_t end = now_ns() + 60 * NS_PER_S;
    while (ic->o.join && ic->welcomes + ic->join_errors < ic->open && !g_stop && now_ns() < end)
        poll_once(ic, 100);
}

static void close_all(struct ic *ic)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    for (uint32_t i = 0; i < ic->o.conns; i++) {
        if (ic->c[i].fd < 0)
            continue;
        setsockopt(ic->c[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(ic->c[i].fd);
        ic->c[i].fd = -1;
    }
}

/* ---- options ---------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: idleconns --node HOST:PORT [--conns N] [--pid PID] [--sources K]\n"
               "                 [--source-base A.B.C.D] [--path /ws] [--join] [--parallel P]\n"
               "                 [--connect-timeout S] [--settle S] [--hold S] [--mark-dir DIR]\n"
               "                 [--json FILE]\n"
               "\n"
               "Opens N (100000) WebSockets to one node, holds them idle, and reports the\n"
               "node's memory per connection (VmRSS of --pid) and the kernel's socket memory.\n"
               "  --node HOST:PORT     the node's HTTP address (IPv4)\n"
               "  --conns N            connections to open (default 100000)\n"
               "  --pid PID            the node's process, for its RSS (optional)\n"
               "  --sources K          source addresses to spread over (default 8; one has\n"
               "                       ~28,000 ephemeral ports)\n"
               "  --source-base ADDR   the first source address (default 127.0.0.2)\n"
               "  --path PATH          WebSocket path (default /ws, the arena)\n"
               "  --join               also send a join on each (a joined player per socket)\n"
               "  --parallel P         connects/upgrades in progress at once (default 256)\n"
               "  --connect-timeout S  give up opening after S seconds (default 180)\n"
               "  --settle S           wait S seconds before each RSS reading (default 1)\n"
               "  --hold S             hold at most S seconds after opening (default 600);\n"
               "                       DIR/release, SIGTERM or SIGINT end it sooner\n"
               "  --mark-dir DIR       create DIR/open once all are open and measured\n"
               "  --json FILE          write the results as JSON\n"
               "Raises its own RLIMIT_NOFILE (the node needs ulimit -n above N too).\n");
}

/* In parse's loop: the flag `a` needs a value in argv[i + 1]. */
#define IC_NEEDV()                                                                                 \
    do {                                                                                           \
        if (i + 1 >= argc) {                                                                       \
            fprintf(stderr, BENCH_NAME ": %s needs a value\n", a);                                 \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void parse(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->path = "/ws";
    o->conns = 100000;
    o->sources = 8;
    inet_pton(AF_INET, "127.0.0.2", &o->source_base);
    o->parallel = 256;
    o->connect_timeout_s = 180;
    o->hold_s = 600;
    o->settle_s = 1;
    bool have_node = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--node") == 0) {
            IC_NEEDV();
            bench_parse_node(argv[++i], &o->node, o->node_text, sizeof o->node_text);
            have_node = true;
        } else if (strcmp(a, "--conns") == 0) {
            IC_NEEDV();
            o->conns = (uint32_t)parse_num(a, argv[++i], 1, 1000000);
        } else if (strcmp(a, "--pid") == 0) {
            IC_NEEDV();
            o->pid = (int)parse_num(a, argv[++i], 1, 1 << 30);
        } else if (strcmp(a, "--sources") == 0) {
            IC_NEEDV();
            o->sources = (uint32_t)parse_num(a, argv[++i], 1, IC_MAX_SOURCES);
        } else if (strcmp(a, "--source-base") == 0) {
            IC_NEEDV();
            if (inet_pton(AF_INET, argv[++i], &o->source_base) != 1)
                die("--source-base: not an IPv4 address");
        } else if (strcmp(a, "--path") == 0) {
            IC_NEEDV();
            o->path = argv[++i];
            if (o->path[0] != '/' || strlen(o->path) > 200 || strpbrk(o->path, " \r\n"))
                die("--path: a path starting with /, no spaces");
        } else if (strcmp(a, "--join") == 0) {
            o->join = true;
        } else if (strcmp(a, "--parallel") == 0) {
            IC_NEEDV();
            o->parallel = (uint32_t)parse_num(a, argv[++i], 1, 10000);
        } else if (strcmp(a, "--connect-timeout") == 0) {
            IC_NEEDV();
            o->connect_timeout_s = parse_num(a, argv[++i], 1, 3600);
        } else if (strcmp(a, "--settle") == 0) {
            IC_NEEDV();
            o->settle_s = parse_num(a, argv[++i], 0, 60);
        } else if (strcmp(a, "--hold") == 0) {
            IC_NEEDV();
            o->hold_s = parse_num(a, argv[++i], 0, 86400);
        } else if (strcmp(a, "--mark-dir") == 0) {
            IC_NEEDV();
            o->mark_dir = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            IC_NEEDV();
            o->json = argv[++i];
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, BENCH_NAME ": unknown option %s (see --help)\n", a);
            exit(1);
        }
    }
    if (!have_node)
        die("--node HOST:PORT is required (see --help)");
}

/* Each source address can carry as many connections to one node address
 * as there are ephemeral ports; refuse a plan that cannot fit. */
static void check_ports(const struct opts *o)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    long lo = 0, hi = 0;
    if (f == NULL || fscanf(f, "%ld %ld", &lo, &hi) != 2 || hi <= lo) {
        if (f != NULL)
            fclose(f);
        return; /* unknown: connect() will say */
    }
    fclose(f);
    uint64_t per = (o->conns + o->sources - 1) / o->sources;
    if (per > (uint64_t)(hi - lo) * 9 / 10) {
        fprintf(stderr,
                BENCH_NAME ": %" PRIu32 " connections over %" PRIu32
                           " source addresses need %" PRIu64 " ports each, the range has %ld: "
                           "raise --sources\n",
                o->conns, o->sources, per, hi - lo + 1);
        exit(1);
    }
}

/* ---- results ---------------------------------------------------------- */

static double per_conn(long long delta_bytes, uint32_t n)
{
    return n > 0 ? (double)delta_bytes / n : 0;
}

static json_t *kmem_json(const struct kmem *k)
{
    json_t *slabs = json_object();
    for (int i = 0; i < 5; i++)
        json_object_set_new(slabs, SLABS[i], json_integer(k->slab[i]));
    return json_pack("{s:I, s:I, s:I, s:o}", "tcp_inuse", (json_int_t)k->tcp_inuse, "tcp_mem_pages",
                     (json_int_t)k->tcp_mem_pages, "slab_bytes", (json_int_t)k->slab_bytes, "slabs",
                     slabs);
}

int main(int argc, char **argv)
{
    struct ic ic;
    memset(&ic, 0, sizeof ic);
    parse(argc, argv, &ic.o);
    check_ports(&ic.o);
    rlim_t lim = bench_raise_nofile((rlim_t)ic.o.conns + 64);
    if (lim != RLIM_INFINITY && lim < (rlim_t)ic.o.conns + 16) {
        fprintf(stderr,
                BENCH_NAME ": RLIMIT_NOFILE is %llu, below --conns %" PRIu32 " + 16: "
                           "run as root or raise ulimit -n\n",
                (unsigned long long)lim, ic.o.conns);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    ic.c = calloc(ic.o.conns, sizeof *ic.c);
    ic.rbuf = malloc(IC_RBUF);
    ic.ep = epoll_create1(EPOLL_CLOEXEC);
    if (ic.c == NULL || ic.rbuf == NULL || ic.ep < 0)
        die("out of memory or no epoll");
    for (uint32_t i = 0; i < ic.o.conns; i++)
        ic.c[i].fd = -1;
    int rl = snprintf(ic.request, sizeof ic.request,
                      "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n",
                      ic.o.path, ic.o.node_text);
    ic.request_len = (size_t)rl;

    struct kmem k0, k1;
    long rss0 = proc_rss_kb(ic.o.pid);
    kmem_read(&k0);
    double open_s = open_all(&ic);
    wait_welcomes(&ic);
    hold(&ic, ic.o.settle_s, false); /* the node's last allocations and frames */
    long rss1 = proc_rss_kb(ic.o.pid);
    kmem_read(&k1);
    uint32_t open_at_measure = ic.open;
    double bpc = rss0 >= 0 && rss1 >= 0 ? per_conn((rss1 - rss0) * 1024LL, open_at_measure) : -1;
    double kpc = k0.slab_bytes >= 0 && k1.slab_bytes >= 0
                     ? per_conn(k1.slab_bytes - k0.slab_bytes, open_at_measure)
                     : -1;
    printf(BENCH_NAME ": %" PRIu32 " of %" PRIu32 " open in %.1f s (%" PRIu32 " failed:",
           open_at_measure, ic.o.conns, open_s, ic.failed);
    codes_print(ic.codes, ic.n_codes);
    printf(")%s\n", ic.o.join ? ", joined" : "");
    if (ic.o.join)
        printf(BENCH_NAME ": welcomes seen %" PRIu64 ", errors instead %" PRIu64 "\n", ic.welcomes,
               ic.join_errors);
    printf(BENCH_NAME ": node RSS %ld -> %ld KiB: %.0f bytes per connection (user space)\n", rss0,
           rss1, bpc);
    printf(BENCH_NAME ": kernel socket slabs (both ends) %+.0f bytes per connection; "
                      "sockstat TCP inuse %ld -> %ld, mem %ld -> %ld pages\n",
           kpc, k0.tcp_inuse, k1.tcp_inuse, k0.tcp_mem_pages, k1.tcp_mem_pages);
    fflush(stdout);
    if (ic.o.mark_dir != NULL)
        write_mark(ic.o.mark_dir, "open");

    uint32_t closed_before = ic.closed_by_node;
    double held_s = hold(&ic, ic.o.hold_s, true);
    long rss2 = proc_rss_kb(ic.o.pid);
    uint32_t open_at_end = ic.open;
    printf(BENCH_NAME ": held %.1f s; %" PRIu32 " still open, %" PRIu32
                      " closed by the node meanwhile; node RSS at the end %ld KiB\n",
           held_s, open_at_end, ic.closed_by_node - closed_before, rss2);
    close_all(&ic);

    if (ic.o.json != NULL) {
        json_t *j = json_pack(
            "{s:I, s:I, s:b, s:f, s:I, s:o, s:{s:I, s:I, s:I}, s:f, s:f, s:o, s:o, s:f, s:I, "
            "s:I, s:I, s:I, s:I}",
            "conns", (json_int_t)ic.o.conns, "open", (json_int_t)open_at_measure, "join", ic.o.join,
            "open_s", open_s, "failed", (json_int_t)ic.failed, "errors",
            codes_json(ic.codes, ic.n_codes), "rss_kb", "before", (json_int_t)rss0, "open",
            (json_int_t)rss1, "end", (json_int_t)rss2, "bytes_per_conn", bpc,
            "kernel_slab_bytes_per_conn_both_ends", kpc, "kernel_before", kmem_json(&k0),
            "kernel_open", kmem_json(&k1), "held_s", held_s, "open_at_end", (json_int_t)open_at_end,
            "closed_by_node", (json_int_t)(ic.closed_by_node - closed_before), "welcomes",
            (json_int_t)ic.welcomes, "join_errors", (json_int_t)ic.join_errors, "bytes_in",
            (json_int_t)ic.bytes_in);
        bench_json_write(j, ic.o.json);
    }
    close(ic.ep);
    free(ic.c);
    free(ic.rbuf);
    return open_at_measure == ic.o.conns ? 0 : 2;
}
