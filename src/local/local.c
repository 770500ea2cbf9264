/* `warren cluster`: the commands (up, down, status, kill-node, restart-node);
 * see local.h. Their command line is parsed in local_cli.c, and `up` and
 * `restart-node` wait for what they started with local_ready.c.
 *
 * Who owns what. `up` forks every node and nginx itself (nginx with
 * "daemon off", so the pid we hold is nginx's master), each in its own
 * session: a Ctrl-C in the terminal reaches `up` only, and the processes
 * survive `up` exiting. Each gets a pid file in DIR the moment it is forked;
 * every later command works from those pid files and DIR/cluster.conf, never
 * from memory, so `down` in another shell stops a cluster `up --foreground`
 * supervises, and the supervisor stops a node `restart-node` started.
 * Before signalling a pid we check it still is our process
 * (wr__local_pid_owned), since a stale pid file may name a stranger.
 *
 * Signals. `up`, `down` and `restart-node` block SIGINT, SIGTERM, SIGHUP
 * and SIGCHLD and collect them with sigtimedwait as their only way of
 * sleeping, so there are no handlers and no flags set from one; children
 * get the original mask back before execv.
 *
 * Failure while starting (a port taken, a node exiting, nothing ready in
 * time, Ctrl-C): everything this run started is stopped again and the log
 * tail of the process that failed is printed. */
#include "local/local.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "ctl/ctl.h"
#include "local/local_internal.h"


/* ---- helpers ----------------------------------------------------------- */

void wr__local_fail(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("warren cluster: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* mkdir -p @path. */
static int mkdir_p(const char *path, char *err, size_t errlen)
{
    char buf[WR_LOCAL_PATH];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(err, errlen, "path too long: %.100s...", path);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %.400s: %s", buf, strerror(errno));
            return -1;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", path);
        return -1;
    }
    return 0;
}

/* Resolve @o->dir into @c->dir (it must exist). Returns 0, 1 when it does
 * not exist, -1 on other errors (printed). */
int wr__local_resolve_dir(const struct wr__local_opts *o, struct wr_local *c)
{
    char real[PATH_MAX];
    if (realpath(o->dir, real) == NULL) {
        if (errno == ENOENT)
            return 1;
        wr__local_fail("cannot resolve %s: %s", o->dir, strerror(errno));
        return -1;
    }
    char err[256];
    if (wr__local_check_dir(real, err, sizeof err) != 0) {
        wr__local_fail("%s", err);
        return -1;
    }
    snprintf(c->dir, sizeof c->dir, "%s", real);
    return 0;
}

/* " --dir DIR" for the commands we print, or "" for the default dir. */
static const char *dir_arg(const struct wr__local_opts *o, const struct wr_local *c, char *buf,
                           size_t len)
{
    if (!o->dir_given)
        return "";
    snprintf(buf, len, " --dir %s", c->dir);
    return buf;
}

/* How to call this binary in the commands we print: ./build/warren when it
 * is under the working directory, else its absolute path. */
static const char *prog_name(const char *bin, char *buf, size_t len)
{
    char cwd[PATH_MAX];
    size_t n;
    if (getcwd(cwd, sizeof cwd) != NULL && (n = strlen(cwd)) > 1 && strncmp(bin, cwd, n) == 0 &&
        bin[n] == '/')
        snprintf(buf, len, ".%s", bin + n);
    else
        snprintf(buf, len, "%s", bin);
    return buf;
}

/* Append a line to @path (a log), prefixed with the date. */
static void log_note(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_note(const char *path, const char *fmt, ...)
{
    FILE *f = fopen(path, "ae");
    if (f == NULL)
        return;
    char when[64];
    time_t t = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
    fprintf(f, "==== warren cluster, %s: ", when);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

static void log_argv(const char *path, const char *what, char *const *argv)
{
    char line[8192];
    size_t off = 0;
    for (int i = 0; argv[i] != NULL && off < sizeof line - 1; i++)
        off += (size_t)snprintf(line + off, sizeof line - off, "%s%s", i ? " " : "", argv[i]);
    log_note(path, "%s: %s", what, line);
}

/* 0 when 127.0.0.1:@port can be bound (as the node and nginx will, with
 * SO_REUSEADDR), else -1 with the reason. */
static int port_free(int port, char *err, size_t errlen)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket failed: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    if (rc != 0) {
        snprintf(err, errlen, "%s", e == EADDRINUSE ? "already in use" : strerror(e));
        return -1;
    }
    return 0;
}

/* True when @path is a directory holding anything. */
static bool dir_has_entries(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return false;
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d)) != NULL)
        found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return found;
}

/* Block the stop signals and SIGCHLD into @set (collected by
 * wr__local_sleep), saving the caller's mask in @old for the children. A
 * stop signal we were started with ignored (nohup, a background job of a
 * script) stays ignored: a blocked signal is queued even when ignored, and
 * `nohup warren cluster up --foreground &` must survive the hangup. */
void wr__local_block_signals(sigset_t *set, sigset_t *old)
{
    static const int stop[] = {SIGINT, SIGTERM, SIGHUP};
    sigemptyset(set);
    for (size_t i = 0; i < sizeof stop / sizeof stop[0]; i++) {
        struct sigaction sa;
        if (sigaction(stop[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
            sigaddset(set, stop[i]);
    }
    sigaddset(set, SIGCHLD);
    sigprocmask(SIG_BLOCK, set, old);
}

/* Undo block_signals. Signals still pending in @set are dropped first: a
 * second Ctrl-C while we were stopping everything must not kill us on the
 * way out (and cost the exit status). */
void wr__local_unblock_signals(const sigset_t *set, const sigset_t *old)
{
    struct timespec zero = {0, 0};
    while (sigtimedwait(set, NULL, &zero) > 0)
        ;
    sigprocmask(SIG_SETMASK, old, NULL);
}

bool wr__local_is_stop_signal(int sig)
{
    return sig == SIGINT || sig == SIGTERM || sig == SIGHUP;
}

static struct wr__local_proc *procs_new(int n)
{
    return wr_calloc((size_t)n, sizeof(struct wr__local_proc));
}

/* Stop every process of the cluster in @c->dir (its pid files) and every
 * child in @kids that is not among them. Returns how many survived. */
static int stop_cluster(const struct wr_local *c, struct wr__local_proc *kids, int nkids,
                        const sigset_t *set, FILE *out)
{
    int max = WR_LOCAL_MAX_NODES + 1 + nkids, stale;
    struct wr__local_proc *all = procs_new(max);
    int n = wr__local_proc_scan(c, all, WR_LOCAL_MAX_NODES + 1, &stale);
    for (int i = 0; i < nkids; i++) {
        if (kids[i].pid == 0)
            continue;
        bool listed = false;
        for (int j = 0; j < n; j++)
            listed = listed || all[j].pid == kids[i].pid;
        if (!listed)
            all[n++] = kids[i];
    }
    int live = 0;
    for (int i = 0; i < n; i++)
        live += all[i].pid != 0;
    int left = live ? wr__local_stop(all, n, WR_LOCAL_STOP_GRACE_MS, set, out) : 0;
    for (int i = 0; i < nkids; i++)
        kids[i].pid = 0;
    free(all);
    return left;
}

/* Start node @id of @c as a child, with its pid file. */
int wr__local_start_node(const struct wr_local *c, struct wr__local_proc *p, const char *peers,
                         const sigset_t *mask, const char *why)
{
    char *argv[20 + WR_LOCAL_MAX_EXTRA + 1];
    char *buf = wr_malloc(4 * WR_LOCAL_PATH);
    char err[512];
    wr__local_node_argv(c, p->id, peers, buf, argv);
    log_argv(p->logfile, why, argv);
    pid_t pid = wr__local_spawn(argv, p->logfile, mask, err, sizeof err);
    free(buf);
    if (pid < 0) {
        wr__local_fail("cannot start %s: %s", p->name, err);
        return -1;
    }
    p->pid = pid;
    p->child = true;
    if (wr__local_pidfile_write(p->pidfile, pid, err, sizeof err) != 0) {
        wr__local_fail("%s", err);
        return -1;
    }
    return 0;
}

/* ---- up ---------------------------------------------------------------- */

/* Refuse when a process of a cluster still runs in @c->dir. */
static int check_not_running(const struct wr_local *c, const struct wr__local_opts *o)
{
    struct wr__local_proc *procs = procs_new(WR_LOCAL_MAX_NODES + 1);
    int stale, n = wr__local_proc_scan(c, procs, WR_LOCAL_MAX_NODES + 1, &stale);
    int live = 0;
    char list[512] = "";
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        if (procs[i].pid == 0)
            continue;
        live++;
        if (off < sizeof list)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s pid %d", off ? ", " : "",
                                    procs[i].name, (int)procs[i].pid);
    }
    free(procs);
    if (live == 0)
        return 0;
    char da[WR_LOCAL_PATH + 8], prog[WR_LOCAL_PATH];
    wr__local_fail("a cluster is already running in %s (%s); stop it first with:\n"
                   "  %s cluster down%s",
                   c->dir, list, prog_name(c->bin, prog, sizeof prog),
                   dir_arg(o, c, da, sizeof da));
    return -1;
}

/* Refuse to start a different layout on data an earlier `up` left. */
static int check_layout(const struct wr_local *c)
{
    struct wr_local old;
    memset(&old, 0, sizeof old);
    memcpy(old.dir, c->dir, sizeof old.dir);
    char err[512];
    int rc = wr__local_conf_read(&old, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "warren cluster: warning: %s; overwriting it\n", err);
        return 0;
    }
    int result = 0;
    if (old.n != c->n || old.cluster_port != c->cluster_port) {
        for (int i = 1; i <= old.n && result == 0; i++) {
            char name[32], path[WR_LOCAL_PATH];
            snprintf(name, sizeof name, "node%d", i);
            wr__local_path(c, name, path);
            if (dir_has_entries(path)) {
                wr__local_fail(
                    "%s holds the data of a %d-node cluster on cluster ports %d-%d (from an "
                    "earlier `up`, see cluster.conf): its Raft configuration would not match.\n"
                    "Run up with -n %d --cluster-port %d to bring it back, or remove %s/node*/ "
                    "to start afresh.",
                    c->dir, old.n, old.cluster_port, old.cluster_port + old.n - 1, old.n,
                    old.cluster_port, c->dir);
                result = -1;
            }
        }
    }
    wr__local_clear(&old);
    return result;
}

static int check_ports(const struct wr_local *c)
{
    char err[128];
    for (int i = 1; i <= c->n; i++) {
        if (port_free(c->http_port + i - 1, err, sizeof err) != 0) {
            wr__local_fail("cannot use 127.0.0.1:%d (node %d's --http-port): %s",
                           c->http_port + i - 1, i, err);
            return -1;
        }
        if (port_free(c->cluster_port + i - 1, err, sizeof err) != 0) {
            wr__local_fail("cannot use 127.0.0.1:%d (node %d's --cluster-port): %s",
                           c->cluster_port + i - 1, i, err);
            return -1;
        }
    }
    if (port_free(c->lb_port, err, sizeof err) != 0) {
        wr__local_fail("cannot use 127.0.0.1:%d (nginx's --lb-port): %s", c->lb_port, err);
        return -1;
    }
    if (c->lb_tls_port != 0 && port_free(c->lb_tls_port, err, sizeof err) != 0) {
        wr__local_fail("cannot use 127.0.0.1:%d (nginx's --lb-tls-port): %s", c->lb_tls_port, err);
        return -1;
    }
    if (c->telnet_port == 0)
        return 0;
    for (int i = 1; i <= c->n; i++) {
        if (port_free(c->telnet_port + i - 1, err, sizeof err) != 0) {
            wr__local_fail("cannot use 127.0.0.1:%d (node %d's --telnet-port): %s",
                           c->telnet_port + i - 1, i, err);
            return -1;
        }
    }
    if (port_free(c->lb_telnet_port, err, sizeof err) != 0) {
        wr__local_fail("cannot use 127.0.0.1:%d (nginx's --lb-telnet-port): %s", c->lb_telnet_port,
                       err);
        return -1;
    }
    if (c->lb_telnet_tls_port != 0 && port_free(c->lb_telnet_tls_port, err, sizeof err) != 0) {
        wr__local_fail("cannot use 127.0.0.1:%d (nginx's --lb-telnet-tls-port): %s",
                       c->lb_telnet_tls_port, err);
        return -1;
    }
    return 0;
}

/* With TLS: find openssl and make or reuse the certificate (printing which).
 * Runs before any process is started, with the caller's signal mask. */
static int prepare_tls(const struct wr_local *c)
{
    if (c->lb_tls_port == 0)
        return 0;
    char openssl[WR_LOCAL_PATH], note[2 * WR_LOCAL_PATH], err[2 * WR_LOCAL_PATH];
    if (wr__local_find_program("WARREN_OPENSSL", "openssl", openssl, sizeof openssl) != 0) {
        wr__local_fail("--tls needs the openssl command line tool to make a certificate, and it "
                       "is not installed (looked for $WARREN_OPENSSL, openssl on $PATH and "
                       "/usr/bin/openssl).\n"
                       "Install openssl: scripts/install-deps.sh   (or: apt-get install openssl)\n"
                       "or start without --tls");
        return -1;
    }
    sigset_t mask;
    sigprocmask(SIG_BLOCK, NULL, &mask);
    if (wr__local_tls_prepare(c, openssl, &mask, note, sizeof note, err, sizeof err) != 0) {
        wr__local_fail("--tls: %s", err);
        return -1;
    }
    printf("%s\n", note);
    return 0;
}

/* The stream module nginx must load for the telnet proxy, into @out; NULL
 * when there is no telnet. Returns -1 (printed) when telnet is on and the
 * module is not installed. */
static int find_stream_module(const struct wr_local *c, const char **out)
{
    *out = NULL;
    if (c->telnet_port == 0)
        return 0;
    if (access(WR_LOCAL_STREAM_MODULE, R_OK) != 0) {
        wr__local_fail("nginx's stream module, which proxies telnet (--lb-telnet-port %d), is not "
                       "installed: %s: %s.\n"
                       "Install it with:  sh scripts/install-deps.sh   (or: apt-get install "
                       "libnginx-mod-stream)\n"
                       "or start without telnet:  cluster up --telnet-port 0",
                       c->lb_telnet_port, WR_LOCAL_STREAM_MODULE, strerror(errno));
        return -1;
    }
    *out = WR_LOCAL_STREAM_MODULE;
    return 0;
}

/* Write the cookie, cluster.conf, the data dirs and nginx.conf (loading
 * @stream_module, may be NULL). */
static int write_files(const struct wr_local *c, const char *stream_module)
{
    char err[512], path[WR_LOCAL_PATH];
    /* A `down` that died midway may have left its marker. */
    wr__local_path(c, "stopping", path);
    unlink(path);
    if (wr__local_cookie_write(c, err, sizeof err) != 0 ||
        wr__local_conf_write(c, err, sizeof err) != 0 ||
        wr__local_nginx_conf_write(c, stream_module, err, sizeof err) != 0) {
        wr__local_fail("%s", err);
        return -1;
    }
    for (int i = 1; i <= c->n; i++) {
        char name[32];
        snprintf(name, sizeof name, "node%d", i);
        wr__local_path(c, name, path);
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            wr__local_fail("cannot create %s: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* The TLS addresses of @c, for up and status; nothing without TLS. */
static void print_tls(const struct wr_local *c, const char *indent)
{
    if (c->lb_tls_port == 0)
        return;
    char cert[WR_LOCAL_PATH];
    wr__local_path(c, WR_LOCAL_TLS_CERT, cert);
    printf("%sTLS:     https://127.0.0.1:%d/ (arena, wss://127.0.0.1:%d/ws), "
           "https://127.0.0.1:%d/play\n",
           indent, c->lb_tls_port, c->lb_tls_port, c->lb_tls_port);
    if (c->lb_telnet_tls_port != 0)
        printf("%s         telnet over TLS on 127.0.0.1 %d  (openssl s_client -quiet -CAfile "
               "%s -connect 127.0.0.1:%d)\n",
               indent, c->lb_telnet_tls_port, cert, c->lb_telnet_tls_port);
    printf("%s         certificate %s (self-signed unless you put yours there)\n", indent, cert);
}

static void print_up(const struct wr__local_opts *o, const struct wr_local *c,
                     const struct wr__local_proc *procs)
{
    char prog[WR_LOCAL_PATH], dbuf[WR_LOCAL_PATH + 8];
    prog_name(c->bin, prog, sizeof prog);
    const char *da = dir_arg(o, c, dbuf, sizeof dbuf);
    printf("\nWarren is up: %d node%s behind nginx, in %s\n\n", c->n, c->n == 1 ? "" : "s", c->dir);
    printf("  arena:   http://127.0.0.1:%d/\n", c->lb_port);
    printf("  MUD:     http://127.0.0.1:%d/play  (in the browser)\n", c->lb_port);
    if (c->telnet_port != 0)
        printf("           telnet 127.0.0.1 %d  (or TinTin++: tt++, then #session warren "
               "127.0.0.1 %d)\n",
               c->lb_telnet_port, c->lb_telnet_port);
    print_tls(c, "  ");
    printf("\n");
    for (int i = 1; i <= c->n; i++) {
        printf("  node %-2d  http://127.0.0.1:%d/", i, c->http_port + i - 1);
        if (c->telnet_port != 0)
            printf("  telnet 127.0.0.1:%d", c->telnet_port + i - 1);
        printf("  (cluster 127.0.0.1:%d, pid %d)\n", c->cluster_port + i - 1,
               (int)procs[i - 1].pid);
    }
    printf("  nginx    127.0.0.1:%d (http)", c->lb_port);
    if (c->telnet_port != 0)
        printf(", 127.0.0.1:%d (telnet)", c->lb_telnet_port);
    if (c->lb_tls_port != 0)
        printf(", 127.0.0.1:%d (https)", c->lb_tls_port);
    if (c->lb_telnet_tls_port != 0)
        printf(", 127.0.0.1:%d (telnet+tls)", c->lb_telnet_tls_port);
    printf("  (pid %d)\n", (int)procs[c->n].pid);
    printf("\n  status:  %s ctl --node 127.0.0.1:%d status\n", prog, c->http_port);
    printf("           %s cluster status%s\n", prog, da);
    printf("  logs:    %s/node<N>.log, nginx-error.log, nginx-access.log\n", c->dir);
    printf("  fail:    %s cluster kill-node N%s; %s cluster restart-node N%s\n", prog, da, prog,
           da);
    if (o->foreground)
        printf("  stop:    Ctrl-C here, or %s cluster down%s\n\n", prog, da);
    else
        printf("  stop:    %s cluster down%s\n\n", prog, da);
    fflush(stdout);
}

/* --foreground: watch until a stop signal, or until every process is gone. */
static int supervise(const struct wr_local *c, struct wr__local_proc *procs, int nprocs,
                     const sigset_t *set, const char *prog, const char *da)
{
    char stopping[WR_LOCAL_PATH];
    wr__local_path(c, "stopping", stopping);
    printf("Running in the foreground: Ctrl-C stops the cluster.\n");
    fflush(stdout);
    struct wr__local_proc *scan = procs_new(WR_LOCAL_MAX_NODES + 1);
    int sig;
    for (;;) {
        sig = wr__local_sleep(1000, set);
        if (wr__local_is_stop_signal(sig))
            break;
        wr__local_reap(procs, nprocs);
        bool by_down = access(stopping, F_OK) == 0;
        for (int i = 0; i < nprocs; i++) {
            if (!procs[i].exited || !by_down)
                continue;
            procs[i].exited = false;
            procs[i].child = false;
            printf("%s (pid %d) stopped by `cluster down`\n", procs[i].name,
                   (int)procs[i].reaped_pid);
        }
        for (int i = 0; i < nprocs; i++) {
            if (!procs[i].exited)
                continue;
            wr__local_report_exits(&procs[i], 1, "");
            if (procs[i].id != 0)
                fprintf(stderr,
                        "The others keep serving while a majority runs. Bring it back with:\n"
                        "  %s cluster restart-node %d%s\n",
                        prog, procs[i].id, da);
            else
                fprintf(stderr, "Without nginx the nodes still serve on their own ports; "
                                "restart everything with `cluster down` and `cluster up`.\n");
        }
        int stale, n = wr__local_proc_scan(c, scan, WR_LOCAL_MAX_NODES + 1, &stale), live = 0;
        for (int i = 0; i < n; i++)
            live += scan[i].pid != 0;
        for (int i = 0; i < nprocs; i++)
            live += procs[i].pid != 0;
        if (live == 0) {
            printf("Every process of the cluster has stopped; exiting.\n");
            free(scan);
            return WR_LOCAL_EXIT_OK;
        }
    }
    free(scan);
    char sb[16];
    printf("\nGot SIG%s: stopping the cluster...\n", wr__local_signame(sig, sb, sizeof sb));
    fflush(stdout);
    int left = stop_cluster(c, procs, nprocs, set, stdout);
    wr__local_reap(NULL, 0);
    printf(left ? "Some processes survived SIGKILL.\n" : "Stopped.\n");
    return left ? WR_LOCAL_EXIT_ERROR : WR_LOCAL_EXIT_OK;
}

static int cmd_up(const struct wr__local_opts *o)
{
    struct wr_local c;
    memset(&c, 0, sizeof c);
    char err[512], nginx[WR_LOCAL_PATH];
    if (mkdir_p(o->dir, err, sizeof err) != 0) {
        wr__local_fail("%s", err);
        return WR_LOCAL_EXIT_ERROR;
    }
    if (wr__local_resolve_dir(o, &c) != 0)
        return WR_LOCAL_EXIT_ERROR;
    c.n = o->n;
    c.http_port = o->http_port;
    c.cluster_port = o->cluster_port;
    c.lb_port = o->lb_port;
    c.telnet_port = o->telnet_port;
    c.lb_telnet_port = o->telnet_port != 0 ? o->lb_telnet_port : 0;
    c.lb_tls_port = o->tls ? o->lb_tls_port : 0;
    c.lb_telnet_tls_port = o->tls && o->telnet_port != 0 ? o->lb_telnet_tls_port : 0;
    ssize_t len = readlink("/proc/self/exe", c.bin, sizeof c.bin - 1);
    if (len <= 0 || (size_t)len >= sizeof c.bin - 1) {
        wr__local_fail("cannot find this program's path (readlink /proc/self/exe): %s",
                       strerror(errno));
        return WR_LOCAL_EXIT_ERROR;
    }
    c.bin[len] = '\0';

    if (check_not_running(&c, o) != 0 || check_layout(&c) != 0)
        return WR_LOCAL_EXIT_ERROR;
    if (wr__local_find_program("WARREN_NGINX", "nginx", nginx, sizeof nginx) != 0) {
        wr__local_fail("nginx is not installed (looked for $WARREN_NGINX, nginx on $PATH and "
                       "/usr/sbin/nginx).\nInstall it with:  sh scripts/install-deps.sh   "
                       "(or: apt-get install nginx)");
        return WR_LOCAL_EXIT_ERROR;
    }
    const char *stream_module;
    if (find_stream_module(&c, &stream_module) != 0 || check_ports(&c) != 0 || prepare_tls(&c) != 0)
        return WR_LOCAL_EXIT_ERROR;
    for (int i = 0; i < o->n_extra; i++)
        c.extra[c.n_extra++] = wr_strdup(o->extra[i]);
    int rc = WR_LOCAL_EXIT_ERROR;
    if (write_files(&c, stream_module) != 0)
        goto out_after_extra;

    sigset_t set, old;
    wr__local_block_signals(&set, &old);
    int nprocs = c.n + 1;
    struct wr__local_proc *procs = procs_new(nprocs);
    char *peers = wr__local_peers(&c);
    printf("Starting %d node%s and nginx in %s ...\n", c.n, c.n == 1 ? "" : "s", c.dir);
    fflush(stdout);
    for (int i = 1; i <= c.n; i++) {
        wr__local_proc_init(&procs[i - 1], &c, i);
        if (wr__local_start_node(&c, &procs[i - 1], peers, &old, "cluster up: starting") != 0)
            goto err_after_start;
    }
    struct wr__local_proc *ng = &procs[c.n];
    wr__local_proc_init(ng, &c, 0);
    char conf[WR_LOCAL_PATH], prefix[WR_LOCAL_PATH + 1];
    wr__local_path(&c, "nginx.conf", conf);
    snprintf(prefix, sizeof prefix, "%s/", c.dir);
    char *nargv[] = {nginx, "-e", ng->logfile, "-c", conf, "-p", prefix, "-g", "daemon off;", NULL};
    log_argv(ng->logfile, "cluster up: starting", nargv);
    pid_t pid = wr__local_spawn(nargv, ng->logfile, &old, err, sizeof err);
    if (pid < 0) {
        wr__local_fail("cannot start nginx: %s", err);
        goto err_after_start;
    }
    ng->pid = pid;
    ng->child = true;
    if (wr__local_pidfile_write(ng->pidfile, pid, err, sizeof err) != 0) {
        wr__local_fail("%s", err);
        goto err_after_start;
    }

    int w = wr__local_wait_ready(&c, procs, nprocs, 1, c.n, true, o->wait_s, &set);
    if (w != 0) {
        rc = w == -2 ? WR_LOCAL_EXIT_INTERRUPTED : WR_LOCAL_EXIT_ERROR;
        goto err_after_start;
    }
    print_up(o, &c, procs);
    rc = WR_LOCAL_EXIT_OK;
    if (o->foreground) {
        char prog[WR_LOCAL_PATH], da[WR_LOCAL_PATH + 8];
        prog_name(c.bin, prog, sizeof prog);
        rc = supervise(&c, procs, nprocs, &set, prog, dir_arg(o, &c, da, sizeof da));
    }
    goto out_after_start;

err_after_start:
    fprintf(stderr, "warren cluster: stopping what was started\n");
    stop_cluster(&c, procs, nprocs, &set, stderr);
    wr__local_reap(NULL, 0);
out_after_start:
    free(peers);
    free(procs);
    wr__local_unblock_signals(&set, &old);
out_after_extra:
    wr__local_clear(&c);
    return rc;
}

/* ---- down -------------------------------------------------------------- */

static int cmd_down(const struct wr__local_opts *o)
{
    struct wr_local c;
    memset(&c, 0, sizeof c);
    int r = wr__local_resolve_dir(o, &c);
    if (r < 0)
        return WR_LOCAL_EXIT_ERROR;
    if (r == 1) {
        printf("Nothing to stop: %s does not exist.\n", o->dir);
        return WR_LOCAL_EXIT_OK;
    }
    sigset_t set, old;
    wr__local_block_signals(&set, &old);
    /* Tells a supervising `up --foreground` that these exits are wanted. */
    char stopping[WR_LOCAL_PATH], err[256];
    wr__local_path(&c, "stopping", stopping);
    wr__local_write_file(stopping, "", 0, 0644, err, sizeof err);

    struct wr__local_proc *procs = procs_new(WR_LOCAL_MAX_NODES + 1);
    int stale, n = wr__local_proc_scan(&c, procs, WR_LOCAL_MAX_NODES + 1, &stale), live = 0;
    for (int i = 0; i < n; i++)
        live += procs[i].pid != 0;
    int left = 0;
    if (live == 0) {
        printf("No cluster is running in %s", c.dir);
        if (stale)
            printf(" (removed %d stale pid file%s)", stale, stale == 1 ? "" : "s");
        printf(".\n");
    } else {
        printf("Stopping %d process%s in %s ...\n", live, live == 1 ? "" : "es", c.dir);
        fflush(stdout);
        left = wr__local_stop(procs, n, WR_LOCAL_STOP_GRACE_MS, &set, stdout);
        if (left == 0)
            printf("Stopped.\n");
    }
    unlink(stopping);
    free(procs);
    wr__local_unblock_signals(&set, &old);
    return left ? WR_LOCAL_EXIT_ERROR : WR_LOCAL_EXIT_OK;
}

/* ---- status ------------------------------------------------------------ */

/* Node @id's /api/cluster answer plus "reachable", or the unreachable row. */
static json_t *status_row(const struct wr_local *c, int id, bool running, const char *reason)
{
    char http[32], cluster[32], err[512];
    snprintf(http, sizeof http, "127.0.0.1:%d", c->http_port + id - 1);
    snprintf(cluster, sizeof cluster, "127.0.0.1:%d", c->cluster_port + id - 1);
    if (running) {
        int status;
        char *body = NULL;
        if (wr_ctl_http_get(http, "/api/cluster", &status, &body, err, sizeof err) == 0) {
            json_t *doc = status == 200 ? json_loads(body, 0, NULL) : NULL;
            if (json_is_object(doc)) {
                free(body);
                json_object_set_new(doc, "reachable", json_true());
                return doc;
            }
            json_decref(doc);
            snprintf(err, sizeof err, "node %s answered %d to GET /api/cluster%s", http, status,
                     status == 200 ? " with something that is not a JSON object" : "");
            free(body);
        }
        reason = err;
    }
    return json_pack("{s:i, s:s, s:s, s:b, s:s}", "id", id, "address", cluster, "http", http,
                     "reachable", 0, "error", reason);
}

static int cmd_status(const struct wr__local_opts *o)
{
    struct wr_local c;
    memset(&c, 0, sizeof c);
    int r = wr__local_resolve_dir(o, &c);
    if (r < 0)
        return WR_LOCAL_EXIT_ERROR;
    char err[512];
    if (r == 0 && (r = wr__local_conf_read(&c, err, sizeof err)) < 0) {
        wr__local_fail("%s", err);
        return WR_LOCAL_EXIT_ERROR;
    }
    if (r == 1) {
        wr__local_fail("no cluster in %s (no cluster.conf); start one with `warren cluster up%s%s`",
                       o->dir, o->dir_given ? " --dir " : "", o->dir_given ? o->dir : "");
        return WR_LOCAL_EXIT_ERROR;
    }
    printf("Cluster in %s: %d node%s, arena at http://127.0.0.1:%d/, MUD at "
           "http://127.0.0.1:%d/play",
           c.dir, c.n, c.n == 1 ? "" : "s", c.lb_port, c.lb_port);
    if (c.telnet_port != 0)
        printf(" and telnet 127.0.0.1 %d", c.lb_telnet_port);
    printf("\n");
    if (c.telnet_port != 0)
        printf("Telnet ports: nodes 1-%d on 127.0.0.1:%d-%d, nginx on 127.0.0.1:%d\n", c.n,
               c.telnet_port, c.telnet_port + c.n - 1, c.lb_telnet_port);
    print_tls(&c, "");
    printf("\n");
    printf("PROCESS   PID      STATE\n");
    bool all_ok = true;
    json_t *rows = json_array();
    for (int id = 1; id <= c.n + 1; id++) {
        struct wr__local_proc p;
        int pid_id = id <= c.n ? id : 0;
        wr__local_proc_init(&p, &c, pid_id);
        pid_t stale_pid;
        int stale = wr__local_proc_load(&p, &stale_pid);
        char state[128];
        if (p.pid != 0 && wr__local_pid_state(p.pid) == 'T')
            snprintf(state, sizeof state, "paused by SIGSTOP (resume: kill-node %d --signal CONT)",
                     pid_id);
        else if (p.pid != 0)
            snprintf(state, sizeof state, "running");
        else if (stale && stale_pid != 0)
            snprintf(state, sizeof state, "not running (pid %d from its pid file is gone)",
                     (int)stale_pid);
        else
            snprintf(state, sizeof state, "not running");
        all_ok = all_ok && p.pid != 0;
        char pidtext[16] = "-";
        if (p.pid != 0)
            snprintf(pidtext, sizeof pidtext, "%d", (int)p.pid);
        printf("%-9s %-8s %s\n", p.name, pidtext, state);
        if (pid_id != 0)
            json_array_append_new(rows, status_row(&c, id, p.pid != 0, "not running"));
    }
    printf("\n");
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row)
        all_ok = all_ok && json_is_true(json_object_get(row, "reachable"));
    enum wr_ctl_verdict v = wr_ctl_format_status(stdout, rows);
    json_decref(rows);
    wr__local_clear(&c);
    if (fflush(stdout) != 0)
        return WR_LOCAL_EXIT_ERROR;
    if (v == WR_CTL_DIVERGED)
        return WR_LOCAL_EXIT_DIVERGED;
    return all_ok ? WR_LOCAL_EXIT_OK : WR_LOCAL_EXIT_ERROR;
}

/* ---- kill-node --------------------------------------------------------- */

static int cmd_kill(const struct wr__local_opts *o)
{
    struct wr_local c;
    memset(&c, 0, sizeof c);
    int r = wr__local_resolve_dir(o, &c);
    if (r != 0) {
        if (r == 1)
            wr__local_fail("no cluster in %s (no such directory)", o->dir);
        return WR_LOCAL_EXIT_ERROR;
    }
    char err[512];
    r = wr__local_conf_read(&c, err, sizeof err);
    if (r == 0 && o->node > c.n) {
        wr__local_clear(&c);
        return wr__local_usage_error("kill-node", "the cluster in %s has nodes 1-%d", c.dir, c.n);
    }
    wr__local_clear(&c);
    struct wr__local_proc p;
    wr__local_proc_init(&p, &c, o->node);
    pid_t stale_pid;
    if (wr__local_proc_load(&p, &stale_pid) == 1)
        wr__local_pidfile_remove(p.pidfile, stale_pid);
    if (p.pid == 0) {
        wr__local_fail("node %d is not running in %s", o->node, c.dir);
        return WR_LOCAL_EXIT_ERROR;
    }
    char sb[16];
    const char *name = wr__local_signame(o->sig, sb, sizeof sb);
    if (kill(p.pid, o->sig) != 0) {
        wr__local_fail("kill(%d, SIG%s) failed: %s", (int)p.pid, name, strerror(errno));
        return WR_LOCAL_EXIT_ERROR;
    }
    printf("Sent SIG%s to node %d (pid %d).\n", name, o->node, (int)p.pid);
    if (o->sig == SIGKILL || o->sig == SIGTERM || o->sig == SIGINT || o->sig == SIGQUIT ||
        o->sig == SIGHUP) {
        /* Wait until the process is gone or a zombie, not merely until its
         * cmdline stops matching: a dying process loses its cmdline while
         * the kernel is still tearing it down, and ports it held may still
         * be bound then. */
        long long deadline = wr__local_now_ms() + WR_LOCAL_STOP_GRACE_MS;
        bool alive;
        while ((alive = wr__local_pid_running(p.pid)) && wr__local_now_ms() < deadline)
            wr__local_sleep(20, NULL);
        if (alive) {
            printf("Node %d still runs %d s later.\n", o->node, WR_LOCAL_STOP_GRACE_MS / 1000);
        } else {
            wr__local_pidfile_remove(p.pidfile, p.pid);
            printf("Node %d exited.\n", o->node);
        }
    }
    return WR_LOCAL_EXIT_OK;
}

int wr_local_main(int argc, char **argv)
{
    struct wr__local_opts o;
    int rc = wr__local_parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    /* Our stdout may be a pipe that goes away; the processes we started must
     * still be stopped, so a write error must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    switch (o.cmd) {
    case CMD_UP:
        rc = cmd_up(&o);
        break;
    case CMD_DOWN:
        rc = cmd_down(&o);
        break;
    case CMD_STATUS:
        rc = cmd_status(&o);
        break;
    case CMD_KILL:
        rc = cmd_kill(&o);
        break;
    case CMD_RESTART:
        rc = wr__local_cmd_restart(&o);
        break;
    case CMD_ROLL:
        rc = wr__local_cmd_roll(&o);
        break;
    case CMD_COUNT:
        rc = WR_LOCAL_EXIT_USAGE;
        break;
    }
    fflush(stdout);
    return rc;
}
