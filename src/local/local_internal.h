/* Private to src/local/: the recorded layout of a local cluster and its
 * files (local_conf.c), the process helpers (local_proc.c) and the waiting
 * for readiness (local_ready.c) that the commands in local.c are built
 * from, and their command line (local_cli.c). Functions return 0 on success
 * and -1 with a one-line reason in @err on failure, unless said otherwise. */
#ifndef WR_LOCAL_INTERNAL_H
#define WR_LOCAL_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "local/local.h"

#define WR_LOCAL_MAX_NODES 15
/* How long a stopped process may take to exit before SIGKILL. */
#define WR_LOCAL_STOP_GRACE_MS 5000
/* Every file of a cluster is DIR/<name> with a short name, so limiting DIR
 * keeps every path we build well inside WR_LOCAL_PATH. */
#define WR_LOCAL_PATH 4096
#define WR_LOCAL_MAX_DIR 3000
/* Node flags after `--` that `up` records. */
#define WR_LOCAL_MAX_EXTRA 64
#define WR_LOCAL_MAX_EXTRA_LEN 1024

/* Where Debian's libnginx-mod-stream puts nginx's stream (TCP proxy)
 * module. Our nginx.conf does not include /etc/nginx/modules-enabled, so it
 * loads the module itself. */
#define WR_LOCAL_STREAM_MODULE "/usr/lib/nginx/modules/ngx_stream_module.so"

/* The TLS certificate and key of `up --tls`, in DIR (local_tls.c). */
#define WR_LOCAL_TLS_CERT "tls-cert.pem"
#define WR_LOCAL_TLS_KEY "tls-key.pem"

/* What `up` started, as recorded in DIR/cluster.conf (key value lines):
 * node i (1..n) runs `bin node --id i --cluster 127.0.0.1:<cluster_port+i-1>
 * --http 127.0.0.1:<http_port+i-1> [--telnet 127.0.0.1:<telnet_port+i-1>]
 * --peers <all> --data DIR/node<i> --cookie-file DIR/cookie <extra...>`;
 * nginx listens on lb_port (HTTP) and lb_telnet_port (TCP, to the telnet
 * ports). telnet_port and lb_telnet_port are 0 for a cluster without telnet
 * (`up --telnet-port 0`, or a cluster.conf written before telnet existed).
 * With TLS (`up --tls`) nginx also listens on lb_tls_port (HTTPS and WSS,
 * the same locations as lb_port) and, with telnet, on lb_telnet_tls_port
 * (telnet over TLS, the same upstream as lb_telnet_port), with the
 * certificate DIR/WR_LOCAL_TLS_CERT and key DIR/WR_LOCAL_TLS_KEY. Both are 0
 * without TLS (or in a cluster.conf written before TLS existed);
 * lb_telnet_tls_port is also 0 with TLS but without telnet. */
struct wr_local {
    char dir[WR_LOCAL_PATH]; /* absolute and canonical (realpath) */
    int n;
    int http_port, cluster_port, lb_port;
    int telnet_port, lb_telnet_port;
    int lb_tls_port, lb_telnet_tls_port;
    char bin[WR_LOCAL_PATH]; /* the warren binary that runs the nodes */
    char *extra[WR_LOCAL_MAX_EXTRA];
    int n_extra; /* extra[] entries are owned, freed by wr__local_clear */
};

/* A process of the cluster: node <id> (id >= 1) or nginx (id 0). */
struct wr__local_proc {
    int id;
    char name[16];               /* "node 3", "nginx" */
    char pidfile[WR_LOCAL_PATH]; /* DIR/node3.pid, DIR/nginx.pid */
    char logfile[WR_LOCAL_PATH]; /* DIR/node3.log, DIR/nginx-error.log */
    char needle[WR_LOCAL_PATH];  /* " DIR/node3 " or " DIR/nginx.conf " */
    pid_t pid;                   /* 0: not running (as far as we know) */
    bool child;                  /* started by this process: waitpid reaps it */
    bool exited;                 /* reaped by wr__local_reap; then pid is 0 */
    pid_t reaped_pid;            /* the pid it had when it was reaped */
    int wstatus;                 /* its waitpid status */
};

/* ---- command line (local_cli.c) ---------------------------------------- */

/* The command, and its options as given or defaulted. */
enum wr__local_cmd { CMD_UP, CMD_DOWN, CMD_STATUS, CMD_KILL, CMD_RESTART, CMD_ROLL, CMD_COUNT };

struct wr__local_opts {
    enum wr__local_cmd cmd;
    const char *dir;
    bool dir_given;
    int n, http_port, cluster_port, lb_port, telnet_port, lb_telnet_port, wait_s, node, sig;
    int lb_tls_port, lb_telnet_tls_port;
    bool tls, foreground, help;
    const char *bin; /* roll --bin: the binary to restart the nodes with */
    char **extra; /* after "--", borrowed from argv */
    int n_extra;
};

/* Parse argv (argv[0] "cluster", argv[1] the command) into @o. Returns -1
 * when it went well, else the exit code to return (help and usage errors
 * are printed). */
int wr__local_parse_args(int argc, char **argv, struct wr__local_opts *o);

/* Print "warren cluster: <message>" and a hint at @cmd's --help (@cmd may be
 * NULL) on stderr; returns WR_LOCAL_EXIT_USAGE. */
int wr__local_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- the commands' helpers (local.c) ----------------------------------- */

/* Print "warren cluster: <message>" on stderr, after flushing stdout. */
void wr__local_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Resolve @o->dir into @c->dir (realpath, checked). 0; 1 when it does not
 * exist; -1 (printed) on another error. */
int wr__local_resolve_dir(const struct wr__local_opts *o, struct wr_local *c);

/* Block SIGINT, SIGTERM, SIGHUP (those not ignored) and SIGCHLD into
 * @set, the old mask into @old; unblock drops pending ones first. */
void wr__local_block_signals(sigset_t *set, sigset_t *old);
void wr__local_unblock_signals(const sigset_t *set, const sigset_t *old);

/* Start node @p->id of @c (its argv from wr__local_node_argv, logged to its
 * log), with signal mask @mask; write its pid file. 0, or -1 (printed). */
int wr__local_start_node(const struct wr_local *c, struct wr__local_proc *p, const char *peers,
                         const sigset_t *mask, const char *why);

/* restart-node and roll (local_roll.c): WR_LOCAL_EXIT_* codes. */
int wr__local_cmd_restart(const struct wr__local_opts *o);
int wr__local_cmd_roll(const struct wr__local_opts *o);

/* Is @sig one that stops us (SIGINT, SIGTERM, SIGHUP)? */
bool wr__local_is_stop_signal(int sig);

/* ---- waiting for readiness (local_ready.c) ----------------------------- */

/* GET @path from @hostport; 0 and the status (body freed), or -1 with @err.
 * A status other than 200 is also described in @err ("answered 503: ..."). */
int wr__local_http_status(const char *hostport, const char *path, int *status, char *err,
                          size_t errlen);

/* Report each entry of @procs that exited (reaped) on stderr, with the log
 * tail and @when ("while starting"); clears their exited flags. Returns how
 * many were reported. */
int wr__local_report_exits(struct wr__local_proc *procs, int n, const char *when);

/* Wait until nodes @first..@last of @procs answer GET /readyz with 200 and,
 * when @lb is set, nginx (the last entry) answers GET /; at most @wait_s
 * seconds. Returns 0 when all do; -1 on a process exit or timeout
 * (reported); -2 on a stop signal in @set. */
int wr__local_wait_ready(const struct wr_local *c, struct wr__local_proc *procs, int nprocs,
                         int first, int last, bool lb, int wait_s, const sigset_t *set);

/* ---- layout and files (local_conf.c) ----------------------------------- */

/* Free @c's extra flags. */
void wr__local_clear(struct wr_local *c);

/* Copy "@dir/@name" into @out (WR_LOCAL_PATH bytes). @c->dir must respect
 * WR_LOCAL_MAX_DIR and @name be short, so it always fits. */
void wr__local_path(const struct wr_local *c, const char *name, char *out);

/* Check that @dir (absolute) can be written into nginx.conf unquoted and is
 * not too long. */
int wr__local_check_dir(const char *dir, char *err, size_t errlen);

/* Write @len bytes of @text to @path with @mode, through @path.tmp and a
 * rename, so readers see the old file or the new one, never half of one. */
int wr__local_write_file(const char *path, const char *text, size_t len, mode_t mode, char *err,
                         size_t errlen);

/* Write DIR/cluster.conf from @c (via a temporary file and rename). */
int wr__local_conf_write(const struct wr_local *c, char *err, size_t errlen);

/* Read DIR/cluster.conf into @c, whose dir is already set. Returns 0; 1 when
 * the file does not exist; -1 when it cannot be read or is malformed (the
 * reason names the file and line). On 0, the caller clears @c. */
int wr__local_conf_read(struct wr_local *c, char *err, size_t errlen);

/* Write a fresh cluster secret to DIR/cookie and a fresh admin token to
 * DIR/admin-token, each 32 bytes from randombytes_buf as 64 hex digits,
 * mode 0600 (the old files are replaced). */
int wr__local_cookie_write(const struct wr_local *c, char *err, size_t errlen);

/* Print the nginx configuration for @c to @out (pure: no I/O but @out).
 * With telnet (@c->telnet_port != 0) it has a stream block proxying
 * @c->lb_telnet_port to the nodes' telnet ports, and starts with
 * `load_module @stream_module;` unless @stream_module is NULL (an nginx with
 * the stream module built in). With TLS (@c->lb_tls_port != 0) the HTTP
 * server also listens with TLS on lb_tls_port and, when lb_telnet_tls_port
 * is set, the stream block has a TLS server on it; both name the pair that
 * wr__local_tls_prepare makes. */
void wr__local_nginx_conf(const struct wr_local *c, const char *stream_module, FILE *out);

/* Write DIR/nginx.conf (via wr__local_nginx_conf) and create DIR/nginx-tmp. */
int wr__local_nginx_conf_write(const struct wr_local *c, const char *stream_module, char *err,
                               size_t errlen);

/* The "--peers" value for @c: "1=127.0.0.1:P1,2=...". Caller frees. */
char *wr__local_peers(const struct wr_local *c);

/* Build node @id's argv for @c into @argv (room for 20 + n_extra + 1
 * pointers), pointing into @c and into @buf (4 * WR_LOCAL_PATH bytes), and
 * NULL-terminated. @peers comes from wr__local_peers. */
void wr__local_node_argv(const struct wr_local *c, int id, const char *peers, char *buf,
                         char **argv);

/* ---- the TLS certificate (local_tls.c) --------------------------------- */

/* Make DIR/WR_LOCAL_TLS_CERT and DIR/WR_LOCAL_TLS_KEY a usable pair for
 * nginx. A pair already there is kept when the certificate parses, is valid
 * now and for at least another day, and the key (unencrypted) is its key;
 * the key's mode is then set to 0600 if it was wider. Otherwise a new
 * self-signed pair is made by running @openssl (the command line tool):
 * `req -x509`, an EC P-256 key, CN and subjectAltName DNS:localhost and
 * IP:127.0.0.1, valid 365 days, written through temporary files (the key's
 * created with mode 0600 before openssl writes it) and renamed into place,
 * then checked like an existing pair. openssl runs in the foreground with
 * signal mask @mask, its output appended to DIR/tls.log. On 0, @note holds
 * one or two lines saying which pair is used and why. Returns 0, or -1 with
 * the reason in @err. */
int wr__local_tls_prepare(const struct wr_local *c, const char *openssl, const sigset_t *mask,
                          char *note, size_t notelen, char *err, size_t errlen);

/* ---- processes (local_proc.c) ------------------------------------------ */

/* Find program @name into @out (@len bytes): $@env when it is set and not
 * empty (then it must be executable), else the first executable regular
 * file named @name in $PATH's absolute entries, else in /usr/sbin,
 * /usr/local/sbin, /usr/bin or /usr/local/bin. Returns 0, or -1 when there
 * is none. */
int wr__local_find_program(const char *env, const char *name, char *out, size_t len);

/* Fill @p for node @id (or nginx, id 0) of the cluster in @c->dir; pid 0. */
void wr__local_proc_init(struct wr__local_proc *p, const struct wr_local *c, int id);

/* @pid's state letter from /proc/PID/stat ('R', 'S', 'T' when stopped by
 * a signal, 'Z' for a zombie...), or '\0' when there is no such process. */
char wr__local_pid_state(pid_t pid);

/* True when @pid is a live process (not a zombie) whose command line
 * contains @needle, i.e. it is the process the pid file was written for and
 * not an unrelated one that reused the pid. */
bool wr__local_pid_owned(pid_t pid, const char *needle);

/* Has @pid not exited yet (a zombie has)? Use it to wait for a process we
 * own and have signalled: a dying process loses its cmdline (so
 * wr__local_pid_owned turns false) while the kernel still tears it down and
 * holds its ports. */
bool wr__local_pid_running(pid_t pid);

/* Read @p->pidfile and set @p->pid to its pid if that process is owned (see
 * wr__local_pid_owned), else 0. Returns 1 when the pid file exists but its
 * process is gone (stale), else 0. @stale_pid (may be NULL) gets the pid
 * written in a stale file. */
int wr__local_proc_load(struct wr__local_proc *p, pid_t *stale_pid);

/* Write @pid to @path (temporary file and rename). */
int wr__local_pidfile_write(const char *path, pid_t pid, char *err, size_t errlen);

/* Remove @path if it still holds @pid (or, with @pid 0, unconditionally). */
void wr__local_pidfile_remove(const char *path, pid_t pid);

/* Every process with a pid file in @c->dir (node<i>.pid by id, then
 * nginx.pid), loaded with wr__local_proc_load; stale pid files are removed
 * and counted in *@stale. Returns how many entries of @out (room for @max)
 * were filled, owned or not (pid 0 for stale ones). */
int wr__local_proc_scan(const struct wr_local *c, struct wr__local_proc *out, int max, int *stale);

/* Fork and exec @argv (argv[0] is the program's path) in a new session
 * (setsid), stdin from /dev/null, stdout and stderr appended to @log, other
 * descriptors closed, the signal mask set to @mask and every signal's
 * disposition reset. Returns the child's pid once execv has succeeded, or
 * -1 with the reason in @err (then no process is left running). */
pid_t wr__local_spawn(char *const argv[], const char *log, const sigset_t *mask, char *err,
                      size_t errlen);

/* Reap every exited child without blocking. An entry of @procs (may be
 * NULL when @n is 0) whose child exited gets exited = true, its wstatus,
 * reaped_pid and pid 0. Returns how many entries exited in this call. */
int wr__local_reap(struct wr__local_proc *procs, int n);

/* Describe waitpid status @wstatus: "exited with status 1", "killed by
 * SIGKILL". */
const char *wr__local_describe_exit(int wstatus, char *buf, size_t len);

/* Milliseconds on the monotonic clock. */
long long wr__local_now_ms(void);

/* Wait up to @ms for one of the signals in @set (which must be blocked).
 * Returns the signal number, or 0 on timeout. */
int wr__local_sleep(int ms, const sigset_t *set);

/* Stop @procs (entries with pid 0 are skipped): SIGTERM, wait up to
 * @grace_ms (a SIGINT, SIGTERM or SIGHUP in @set cuts it short), SIGKILL
 * the leftovers and wait up to 2 s more; then remove their pid files. Prints
 * one line per process to @out unless @out is NULL. Returns how many are
 * still running at the end (normally 0). */
int wr__local_stop(struct wr__local_proc *procs, int n, int grace_ms, const sigset_t *set,
                   FILE *out);

/* Print the last @lines lines of @path to @out, indented, with terminal
 * control characters replaced by '?'. */
void wr__local_tail(FILE *out, const char *path, int lines);

/* A signal's name without "SIG" ("KILL"), or its number as text. */
const char *wr__local_signame(int sig, char *buf, size_t len);

#endif
