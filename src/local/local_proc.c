/* The processes of a local cluster: pid files, telling our processes from
 * strangers that reused a pid, starting a child in its own session, reaping
 * and stopping. See local_internal.h.
 *
 * A pid file alone does not prove anything: the process may have died and
 * its pid been reused, or it may be a zombie nobody reaped yet (when `up`
 * has exited, the nodes' new parent may be an init that never reaps). So a
 * pid counts as ours only while /proc/PID is not a zombie and its command
 * line names our directory: " DIR/node3 " (the node's --data) or
 * " DIR/nginx.conf " (nginx's -c, still there after nginx retitles itself
 * "nginx: master process ..."). Nothing is ever signalled without that
 * check. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "local/local_internal.h"

#define WR_LOCAL_KILL_WAIT_MS 2000
#define WR_LOCAL_POLL_MS 50

/* " DIR/@name ": how @name appears among the words of a command line. */
static void set_needle(struct wr__local_proc *p, const struct wr_local *c, const char *name)
{
    char path[WR_LOCAL_PATH];
    wr__local_path(c, name, path);
    size_t len = strlen(path);
    p->needle[0] = ' ';
    memcpy(p->needle + 1, path, len);
    p->needle[len + 1] = ' ';
    p->needle[len + 2] = '\0';
}

void wr__local_proc_init(struct wr__local_proc *p, const struct wr_local *c, int id)
{
    memset(p, 0, sizeof *p);
    p->id = id;
    char file[64];
    if (id == 0) {
        snprintf(p->name, sizeof p->name, "nginx");
        wr__local_path(c, "nginx.pid", p->pidfile);
        wr__local_path(c, "nginx-error.log", p->logfile);
        set_needle(p, c, "nginx.conf");
    } else {
        snprintf(p->name, sizeof p->name, "node %d", id);
        snprintf(file, sizeof file, "node%d.pid", id);
        wr__local_path(c, file, p->pidfile);
        snprintf(file, sizeof file, "node%d.log", id);
        wr__local_path(c, file, p->logfile);
        snprintf(file, sizeof file, "node%d", id);
        set_needle(p, c, file);
    }
}

/* Read up to @cap - 1 bytes of @path into @buf; returns the length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    while (len < cap - 1) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

char wr__local_pid_state(pid_t pid)
{
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (pid <= 0 || read_small(path, stat, sizeof stat) <= 0)
        return '\0';
    /* "PID (COMM) STATE ...": COMM may hold anything, so find the last ')'. */
    char *rp = strrchr(stat, ')');
    return rp != NULL && rp[1] == ' ' ? rp[2] : '\0';
}

bool wr__local_pid_owned(pid_t pid, const char *needle)
{
    char state = wr__local_pid_state(pid);
    if (state == '\0' || state == 'Z' || state == 'X' || state == 'x')
        return false;
    char path[64];

    enum { CAP = 64 * 1024 };
    char *cmd = malloc(CAP + 2);
    if (cmd == NULL)
        return false;
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    cmd[0] = ' ';
    ssize_t len = read_small(path, cmd + 1, CAP);
    bool found = false;
    if (len > 0) {
        for (ssize_t i = 1; i <= len; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        cmd[len + 1] = ' ';
        cmd[len + 2] = '\0';
        found = strstr(cmd, needle) != NULL;
    }
    free(cmd);
    return found;
}

/* The pid in @path, or 0 when it is missing or not a pid file. */
static pid_t pidfile_read(const char *path)
{
    char buf[32];
    if (read_small(path, buf, sizeof buf) <= 0)
        return 0;
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    while (*end == '\n' || *end == ' ')
        end++;
    if (errno != 0 || end == buf || *end != '\0' || v <= 1 || v > 0x3fffffff)
        return 0;
    return (pid_t)v;
}

int wr__local_proc_load(struct wr__local_proc *p, pid_t *stale_pid)
{
    p->pid = 0;
    if (stale_pid != NULL)
        *stale_pid = 0;
    if (access(p->pidfile, F_OK) != 0)
        return 0;
    pid_t pid = pidfile_read(p->pidfile);
    if (pid != 0 && wr__local_pid_owned(pid, p->needle)) {
        p->pid = pid;
        return 0;
    }
    if (stale_pid != NULL)
        *stale_pid = pid;
    return 1;
}

int wr__local_pidfile_write(const char *path, pid_t pid, char *err, size_t errlen)
{
    char text[32];
    int len = snprintf(text, sizeof text, "%d\n", (int)pid);
    return wr__local_write_file(path, text, (size_t)len, 0644, err, errlen);
}

void wr__local_pidfile_remove(const char *path, pid_t pid)
{
    if (pid != 0) {
        pid_t now = pidfile_read(path);
        /* Someone (restart-node) wrote a newer pid: leave it. */
        if (now != 0 && now != pid)
            return;
    }
    unlink(path);
}

static int cmp_proc(const void *a, const void *b)
{
    int x = ((const struct wr__local_proc *)a)->id, y = ((const struct wr__local_proc *)b)->id;
    /* Nodes by id, nginx (0) last. */
    x = x == 0 ? WR_LOCAL_MAX_NODES + 1 : x;
    y = y == 0 ? WR_LOCAL_MAX_NODES + 1 : y;
    return (x > y) - (x < y);
}

int wr__local_proc_scan(const struct wr_local *c, struct wr__local_proc *out, int max, int *stale)
{
    *stale = 0;
    DIR *d = opendir(c->dir);
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        int id = -1;
        const char *s = e->d_name;
        if (strcmp(s, "nginx.pid") == 0) {
            id = 0;
        } else if (strncmp(s, "node", 4) == 0 && s[4] >= '1' && s[4] <= '9') {
            char *end;
            long v = strtol(s + 4, &end, 10);
            if (strcmp(end, ".pid") == 0 && v >= 1 && v <= WR_LOCAL_MAX_NODES)
                id = (int)v;
        }
        if (id < 0)
            continue;
        wr__local_proc_init(&out[n], c, id);
        if (wr__local_proc_load(&out[n], NULL) == 1) {
            wr__local_pidfile_remove(out[n].pidfile, 0);
            (*stale)++;
        }
        n++;
    }
    closedir(d);
    qsort(out, (size_t)n, sizeof *out, cmp_proc);
    return n;
}

int wr__local_find_program(const char *env, const char *name, char *out, size_t len)
{
    const char *given = getenv(env);
    if (given != NULL && given[0] != '\0') {
        snprintf(out, len, "%s", given);
        return access(out, X_OK) == 0 ? 0 : -1;
    }
    size_t nlen = strlen(name);
    const char *path = getenv("PATH");
    if (path != NULL) {
        const char *p = path;
        for (;;) {
            const char *colon = strchr(p, ':');
            size_t dlen = colon != NULL ? (size_t)(colon - p) : strlen(p);
            if (dlen > 0 && dlen + nlen + 2 <= len) {
                snprintf(out, len, "%.*s/%s", (int)dlen, p, name);
                struct stat st;
                if (out[0] == '/' && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
                    access(out, X_OK) == 0)
                    return 0;
            }
            if (colon == NULL)
                break;
            p = colon + 1;
        }
    }
    static const char *const fallback[] = {"/usr/sbin", "/usr/local/sbin", "/usr/bin",
                                           "/usr/local/bin"};
    for (size_t i = 0; i < sizeof fallback / sizeof fallback[0]; i++) {
        snprintf(out, len, "%s/%s", fallback[i], name);
        if (access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

pid_t wr__local_spawn(char *const argv[], const char *log, const sigset_t *mask, char *err,
                      size_t errlen)
{
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", log, strerror(errno));
        return -1;
    }
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullfd < 0) {
        snprintf(err, errlen, "cannot open /dev/null: %s", strerror(errno));
        goto err_after_log;
    }
    /* execv's outcome comes back through a close-on-exec pipe: EOF means
     * the exec happened, an int is the errno of a failed one. */
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe2 failed: %s", strerror(errno));
        goto err_after_null;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork failed: %s", strerror(errno));
        goto err_after_pipe;
    }
    if (pid == 0) {
        /* Child: async-signal-safe calls only, up to execv. */
        setsid();
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++)
            sigaction(s, &dfl, NULL);
        sigprocmask(SIG_SETMASK, mask, NULL);
        execv(argv[0], argv);
        int e = errno;
        ssize_t w = write(pfd[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(pfd[1]);
    int e = 0;
    ssize_t r;
    do
        r = read(pfd[0], &e, sizeof e);
    while (r < 0 && errno == EINTR);
    close(pfd[0]);
    close(nullfd);
    close(logfd);
    if (r > 0) {
        waitpid(pid, NULL, 0);
        snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(e));
        return -1;
    }
    return pid;

err_after_pipe:
    close(pfd[0]);
    close(pfd[1]);
err_after_null:
    close(nullfd);
err_after_log:
    close(logfd);
    return -1;
}

int wr__local_reap(struct wr__local_proc *procs, int n)
{
    int count = 0, st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int i = 0; i < n; i++) {
            if (procs[i].child && procs[i].pid == pid) {
                procs[i].exited = true;
                procs[i].reaped_pid = pid;
                procs[i].wstatus = st;
                procs[i].pid = 0;
                count++;
            }
        }
    }
    return count;
}

const char *wr__local_signame(int sig, char *buf, size_t len)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        {SIGHUP, "HUP"},   {SIGINT, "INT"},   {SIGQUIT, "QUIT"}, {SIGABRT, "ABRT"},
        {SIGKILL, "KILL"}, {SIGSEGV, "SEGV"}, {SIGBUS, "BUS"},   {SIGFPE, "FPE"},
        {SIGILL, "ILL"},   {SIGPIPE, "PIPE"}, {SIGTERM, "TERM"}, {SIGUSR1, "USR1"},
        {SIGUSR2, "USR2"}, {SIGSTOP, "STOP"}, {SIGCONT, "CONT"}, {SIGTSTP, "TSTP"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig)
            return names[i].name;
    snprintf(buf, len, "%d", sig);
    return buf;
}

const char *wr__local_describe_exit(int wstatus, char *buf, size_t len)
{
    char sb[16];
    if (WIFEXITED(wstatus))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(wstatus));
    else if (WIFSIGNALED(wstatus))
        snprintf(buf, len, "killed by SIG%s%s", wr__local_signame(WTERMSIG(wstatus), sb, sizeof sb),
                 WCOREDUMP(wstatus) ? " (core dumped)" : "");
    else
        snprintf(buf, len, "stopped (status 0x%x)", (unsigned)wstatus);
    return buf;
}

int wr__local_sleep(int ms, const sigset_t *set)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    if (set == NULL) {
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        return 0;
    }
    int sig = sigtimedwait(set, NULL, &ts);
    return sig > 0 ? sig : 0;
}

long long wr__local_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool wr__local_pid_running(pid_t pid)
{
    char state = wr__local_pid_state(pid);
    return state != '\0' && state != 'Z' && state != 'X' && state != 'x';
}

/* How many of @procs (pids in @pids) are still running; forgets the rest. */
static int still_running(struct wr__local_proc *procs, int n, pid_t *pids)
{
    wr__local_reap(procs, n);
    int live = 0;
    for (int i = 0; i < n; i++) {
        if (pids[i] == 0)
            continue;
        if (procs[i].pid != 0 && wr__local_pid_running(procs[i].pid))
            live++;
        else
            procs[i].pid = 0;
    }
    return live;
}

/* Poll until none of @procs runs or @ms passed; a stop signal in @set ends
 * the wait early (returns -1). Returns how many still run. */
static int wait_stopped(struct wr__local_proc *procs, int n, pid_t *pids, int ms,
                        const sigset_t *set)
{
    long long deadline = wr__local_now_ms() + ms;
    int live;
    while ((live = still_running(procs, n, pids)) > 0 && wr__local_now_ms() < deadline) {
        int sig = wr__local_sleep(WR_LOCAL_POLL_MS, set);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
            return -1;
    }
    return live;
}

int wr__local_stop(struct wr__local_proc *procs, int n, int grace_ms, const sigset_t *set,
                   FILE *out)
{
    pid_t *pids = calloc((size_t)n + 1, sizeof *pids);
    bool *killed = calloc((size_t)n + 1, sizeof *killed);
    if (pids == NULL || killed == NULL)
        abort();
    for (int i = 0; i < n; i++) {
        pids[i] = procs[i].pid;
        if (pids[i] != 0 && kill(pids[i], SIGTERM) != 0 && errno == ESRCH)
            procs[i].pid = 0;
        /* A process paused with SIGSTOP (kill-node --signal STOP) handles
         * SIGTERM only once it runs again. */
        if (procs[i].pid != 0)
            kill(procs[i].pid, SIGCONT);
    }
    int live = wait_stopped(procs, n, pids, grace_ms, set);
    if (live != 0) {
        if (live < 0 && out != NULL)
            fprintf(out, "interrupted: sending SIGKILL now\n");
        for (int i = 0; i < n; i++) {
            if (procs[i].pid != 0 && wr__local_pid_running(procs[i].pid)) {
                kill(procs[i].pid, SIGKILL);
                killed[i] = true;
            }
        }
        live = wait_stopped(procs, n, pids, WR_LOCAL_KILL_WAIT_MS, NULL);
    }
    for (int i = 0; i < n; i++) {
        if (pids[i] == 0)
            continue;
        if (procs[i].pid != 0) {
            if (out != NULL)
                fprintf(out, "%s (pid %d) is STILL RUNNING after SIGKILL\n", procs[i].name,
                        (int)pids[i]);
            continue;
        }
        wr__local_pidfile_remove(procs[i].pidfile, pids[i]);
        if (out == NULL)
            continue;
        if (killed[i])
            fprintf(out, "killed %s (pid %d) with SIGKILL: still running %d s after SIGTERM\n",
                    procs[i].name, (int)pids[i], grace_ms / 1000);
        else
            fprintf(out, "stopped %s (pid %d)\n", procs[i].name, (int)pids[i]);
    }
    free(killed);
    free(pids);
    return live;
}

void wr__local_tail(FILE *out, const char *path, int lines)
{
    enum { CAP = 16 * 1024 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(out, "    (no log at %s)\n", path);
        return;
    }
    struct stat st;
    char *buf = malloc(CAP + 1);
    if (buf == NULL || fstat(fd, &st) != 0) {
        free(buf);
        close(fd);
        return;
    }
    off_t from = st.st_size > CAP ? st.st_size - CAP : 0;
    ssize_t len = pread(fd, buf, CAP, from);
    close(fd);
    if (len <= 0) {
        fprintf(out, "    (%s is empty)\n", path);
        free(buf);
        return;
    }
    if (buf[len - 1] == '\n')
        len--;
    ssize_t start = len;
    int seen = 0;
    while (start > 0) {
        if (buf[start - 1] == '\n' && ++seen == lines)
            break;
        start--;
    }
    /* A partial first line (when we started mid-file) is dropped. */
    if (start == 0 && from > 0) {
        char *nl = memchr(buf, '\n', (size_t)len);
        start = nl != NULL ? nl - buf + 1 : len;
    }
    /* Earlier runs are not this run's story: start at the last line
     * `warren cluster` wrote before starting the process, if shown. */
    static const char mark[] = "\n==== warren cluster";
    for (ssize_t i = len - (ssize_t)sizeof mark + 1; i >= start - 1 && i >= 0; i--) {
        if (memcmp(buf + i, mark, sizeof mark - 1) == 0) {
            start = i + 1;
            break;
        }
    }
    fprintf(out, "    --- last lines of %s ---\n", path);
    bool bol = true;
    for (ssize_t i = start; i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (bol)
            fputs("    | ", out);
        bol = ch == '\n';
        if (ch != '\n' && ch != '\t' && (ch < 0x20 || ch == 0x7f))
            ch = '?';
        fputc(ch, out);
    }
    fputc('\n', out);
    free(buf);
}
