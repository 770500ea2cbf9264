/* Waiting for what `up` and `restart-node` started: polling the nodes'
 * GET /readyz (and nginx's GET /) until they serve, and reporting a process
 * that exited meanwhile with its log tail. See local_internal.h. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "local/local_internal.h"

#define WR_LOCAL_READY_POLL_MS 100

/* GET @path from @hostport; 0 and the status (body freed), or -1 with @err. */
int wr__local_http_status(const char *hostport, const char *path, int *status, char *err,
                          size_t errlen)
{
    char *body = NULL;
    if (wr_ctl_http_get(hostport, path, status, &body, err, errlen) != 0)
        return -1;
    if (*status != 200) {
        size_t len = strlen(body);
        while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
            len--;
        snprintf(err, errlen, "answered %d%s%.*s", *status, len ? ": " : "",
                 (int)(len > 120 ? 120 : len), body);
        for (char *p = err; *p != '\0'; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
    }
    free(body);
    return 0;
}

/* Report each entry of @procs that exited (reaped) on stderr, with the log
 * tail and @when ("while starting"); clears their exited flags. Returns how
 * many were reported. */
int wr__local_report_exits(struct wr__local_proc *procs, int n, const char *when)
{
    int count = 0;
    char how[96];
    for (int i = 0; i < n; i++) {
        if (!procs[i].exited)
            continue;
        procs[i].exited = false;
        procs[i].child = false;
        wr__local_pidfile_remove(procs[i].pidfile, procs[i].reaped_pid);
        fflush(stdout);
        fprintf(stderr, "warren cluster: %s (pid %d) is gone%s: %s\n", procs[i].name,
                (int)procs[i].reaped_pid, when,
                wr__local_describe_exit(procs[i].wstatus, how, sizeof how));
        wr__local_tail(stderr, procs[i].logfile, 20);
        count++;
    }
    return count;
}

/* Wait until nodes @first..@last of @procs (indexes id-1) answer GET /readyz
 * with 200 and, when @lb is set, nginx (the entry after the nodes) answers
 * GET /; at most @wait_s seconds. Returns 0 when all do; -1 on a process
 * exit or timeout (reported); -2 on a stop signal. */
int wr__local_wait_ready(const struct wr_local *c, struct wr__local_proc *procs, int nprocs,
                         int first, int last, bool lb, int wait_s, const sigset_t *set)
{
    bool ready[WR_LOCAL_MAX_NODES + 2] = {false};
    char why[WR_LOCAL_MAX_NODES + 2][256];
    long long deadline = wr__local_now_ms() + (long long)wait_s * 1000;
    char addr[32];
    int status;
    for (int i = 0; i < WR_LOCAL_MAX_NODES + 2; i++)
        snprintf(why[i], sizeof why[i], "not asked yet");
    for (;;) {
        wr__local_reap(procs, nprocs);
        if (wr__local_report_exits(procs, nprocs, " while starting") > 0)
            return -1;
        bool all = true;
        for (int id = first; id <= last; id++) {
            if (ready[id])
                continue;
            snprintf(addr, sizeof addr, "127.0.0.1:%d", c->http_port + id - 1);
            if (wr__local_http_status(addr, "/readyz", &status, why[id], sizeof why[id]) == 0 &&
                status == 200)
                ready[id] = true;
            else
                all = false;
        }
        /* nginx only once every node serves: asked earlier, it would mark
         * them failed for fail_timeout and answer 502 for a while. */
        if (all && lb) {
            snprintf(addr, sizeof addr, "127.0.0.1:%d", c->lb_port);
            if (wr__local_http_status(addr, "/", &status, why[0], sizeof why[0]) != 0 ||
                !((status >= 200 && status < 400) || status == 404))
                all = false;
        }
        if (all)
            return 0;
        if (wr__local_now_ms() >= deadline)
            break;
        int sig = wr__local_sleep(WR_LOCAL_READY_POLL_MS, set);
        if (wr__local_is_stop_signal(sig)) {
            wr__local_fail("interrupted by SIG%s while waiting", sig == SIGINT    ? "INT"
                                                                 : sig == SIGTERM ? "TERM"
                                                                                  : "HUP");
            return -2;
        }
    }
    wr__local_fail("not ready after %d s:", wait_s);
    for (int id = first; id <= last; id++) {
        if (ready[id])
            continue;
        fprintf(stderr, "  node %d (http 127.0.0.1:%d) GET /readyz: %s\n", id,
                c->http_port + id - 1, why[id]);
        wr__local_tail(stderr, procs[id - first].logfile, 15);
    }
    if (lb && procs[nprocs - 1].id == 0) {
        bool nodes_ready = true;
        for (int id = first; id <= last; id++)
            nodes_ready = nodes_ready && ready[id];
        if (nodes_ready) {
            fprintf(stderr, "  nginx (127.0.0.1:%d) GET /: %s\n", c->lb_port, why[0]);
            wr__local_tail(stderr, procs[nprocs - 1].logfile, 15);
        }
    }
    return -1;
}
