/* `warren cluster restart-node` and `warren cluster roll`: restarting the
 * nodes of a local cluster, one, or all in turn while it serves.
 *
 * roll, for each node (followers first, the leader last), through the
 * admin API as `warren ctl drain` does it: drain it and wait until it
 * reports drained (leadership, zones and singletons moved, clients sent
 * elsewhere), note the leader's commit index, SIGTERM it and wait for it to
 * exit, start it again (with --bin's binary, recorded in cluster.conf
 * first), wait until it is ready and has applied that index, undrain it.
 * Every step is printed with its time; a failed step stops the roll, and
 * leaves the cluster serving (docs/operations.md, "Drain and rolling
 * restart"). */
#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "ctl/ctl.h"
#include "local/local_internal.h"

#define ROLL_POLL_MS 200

int wr__local_cmd_restart(const struct wr__local_opts *o)
{
    struct wr_local c;
    memset(&c, 0, sizeof c);
    char err[512];
    int r = wr__local_resolve_dir(o, &c);
    if (r < 0)
        return WR_LOCAL_EXIT_ERROR;
    if (r == 0 && (r = wr__local_conf_read(&c, err, sizeof err)) < 0) {
        wr__local_fail("%s", err);
        return WR_LOCAL_EXIT_ERROR;
    }
    if (r == 1) {
        wr__local_fail(
            "no cluster in %s (no cluster.conf): restart-node restarts a node of a cluster "
            "`warren cluster up` started",
            o->dir);
        return WR_LOCAL_EXIT_ERROR;
    }
    if (o->node > c.n) {
        wr__local_clear(&c);
        return wr__local_usage_error("restart-node", "the cluster in %s has nodes 1-%d", c.dir,
                                     c.n);
    }
    sigset_t set, old;
    wr__local_block_signals(&set, &old);
    int rc = WR_LOCAL_EXIT_ERROR;
    struct wr__local_proc *p = wr_calloc(1, sizeof(struct wr__local_proc));
    wr__local_proc_init(p, &c, o->node);
    wr__local_proc_load(p, NULL);
    if (p->pid != 0) {
        printf("Stopping node %d (pid %d) ...\n", o->node, (int)p->pid);
        fflush(stdout);
        if (wr__local_stop(p, 1, WR_LOCAL_STOP_GRACE_MS, &set, stdout) != 0)
            goto out;
    }
    char *peers = wr__local_peers(&c);
    r = wr__local_start_node(&c, p, peers, &old, "cluster restart-node: starting");
    free(peers);
    if (r != 0)
        goto out;
    printf("Started node %d (pid %d); waiting for it to be ready ...\n", o->node, (int)p->pid);
    fflush(stdout);

    /* Ready means it knows a leader and has caught up; that needs a
     * majority. A node that only serves HTTP is still a success, said so. */
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", c.http_port + o->node - 1);
    r = wr__local_wait_ready(&c, p, 1, o->node, o->node, false, o->wait_s, &set);
    if (r == 0) {
        printf("Node %d is ready at http://%s/\n", o->node, addr);
        rc = WR_LOCAL_EXIT_OK;
    } else if (r == -2) {
        printf("Node %d (pid %d) is left running.\n", o->node, (int)p->pid);
        rc = WR_LOCAL_EXIT_INTERRUPTED;
    } else {
        int status;
        wr__local_reap(p, 1);
        if (p->pid != 0 && wr__local_http_status(addr, "/healthz", &status, err, sizeof err) == 0 &&
            status == 200) {
            printf("Node %d (pid %d) runs and serves http://%s/ but is not ready: is a "
                   "majority of the cluster up?\n",
                   o->node, (int)p->pid, addr);
            rc = WR_LOCAL_EXIT_OK;
        } else if (p->pid != 0) {
            wr__local_fail("node %d (pid %d) runs but does not answer; it is left running", o->node,
                           (int)p->pid);
        }
    }
out:
    free(p);
    wr__local_unblock_signals(&set, &old);
    wr__local_clear(&c);
    return rc;
}

/* ---- roll -------------------------------------------------------------- */

struct roll {
    struct wr_local c;
    sigset_t set, old;
    bool drain;        /* every node has drain (its /api/cluster has formats) */
    long long t_step;  /* start of the current step (ms) */
    int interrupted;   /* the stop signal that cut a wait short, or 0 */
};

static void http_of(const struct wr_local *c, int id, char out[32])
{
    snprintf(out, 32, "127.0.0.1:%d", c->http_port + id - 1);
}

/* GET /api/cluster from node @id: the object, or NULL. */
static json_t *cluster_of(const struct wr_local *c, int id)
{
    char http[32], err[256];
    http_of(c, id, http);
    int status;
    char *raw = NULL;
    if (wr_ctl_http_get(http, "/api/cluster", &status, &raw, err, sizeof err) != 0)
        return NULL;
    json_t *doc = status == 200 ? json_loads(raw, 0, NULL) : NULL;
    free(raw);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static double secs_since(long long t)
{
    return (double)(wr__local_now_ms() - t) / 1000.0;
}

/* Wait (bounded by @wait_s) until @pred says yes for node @id's
 * /api/cluster answer; 0, -1 on timeout, -2 on a stop signal. */
static int wait_for(struct roll *r, int id, int wait_s, bool (*pred)(json_t *doc, void *arg),
                    void *arg)
{
    long long deadline = wr__local_now_ms() + (long long)wait_s * 1000;
    while (wr__local_now_ms() < deadline) {
        json_t *doc = cluster_of(&r->c, id);
        bool ok = doc != NULL && pred(doc, arg);
        json_decref(doc);
        if (ok)
            return 0;
        int sig = wr__local_sleep(ROLL_POLL_MS, &r->set);
        if (sig != 0 && wr__local_is_stop_signal(sig)) {
            r->interrupted = sig;
            return -2;
        }
    }
    return -1;
}

static bool is_drained(json_t *doc, void *arg)
{
    return json_is_true(json_object_get(doc, "drained"));
}

static bool not_draining(json_t *doc, void *arg)
{
    return !json_is_true(json_object_get(doc, "draining"));
}

/* Applied at least *(json_int_t *)arg and ready. */
static bool caught_up(json_t *doc, void *arg)
{
    return json_is_true(json_object_get(doc, "ready")) &&
           json_integer_value(json_object_get(doc, "applied_index")) >= *(json_int_t *)arg;
}

/* POST {"id": @id} to /api/cluster/@what through any node but @skip. */
static int post_mark(struct roll *r, const char *what, int id, int skip)
{
    char path[64], body[32], http[32];
    snprintf(path, sizeof path, "/api/cluster/%s", what);
    snprintf(body, sizeof body, "{\"id\": %d}", id);
    for (int k = 1; k <= r->c.n; k++) {
        if (k == skip)
            continue;
        http_of(&r->c, k, http);
        json_t *ans = wr_ctl_post_to_leader(http, path, body, NULL);
        if (ans != NULL) {
            json_decref(ans);
            return 0;
        }
    }
    return -1;
}

/* The leader's id and commit index as the nodes see it (0 when none). */
static int leader_of(const struct wr_local *c, json_int_t *commit)
{
    for (int k = 1; k <= c->n; k++) {
        json_t *doc = cluster_of(c, k);
        json_int_t l = json_integer_value(json_object_get(doc, "leader"));
        json_decref(doc);
        if (l < 1 || l > c->n)
            continue;
        json_t *ld = cluster_of(c, (int)l);
        bool leads = ld != NULL && strcmp(json_string_value(json_object_get(ld, "role"))
                                              ? json_string_value(json_object_get(ld, "role"))
                                              : "",
                                          "leader") == 0;
        if (leads && commit != NULL)
            *commit = json_integer_value(json_object_get(ld, "commit_index"));
        json_decref(ld);
        if (leads)
            return (int)l;
    }
    return 0;
}

static void step(struct roll *r, int id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void step(struct roll *r, int id, const char *fmt, ...)
{
    va_list ap;
    printf("node %d: ", id);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    r->t_step = wr__local_now_ms();
}

/* Roll node @id. Returns 0, or -1 after printing why (the cluster serves). */
static int roll_node(struct roll *r, int id, int wait_s)
{
    long long t0 = wr__local_now_ms();
    struct wr__local_proc *p = wr_calloc(1, sizeof *p);
    wr__local_proc_init(p, &r->c, id);
    wr__local_proc_load(p, NULL);
    int rc = -1, w;
    double t_drain = 0, t_stop, t_start, t_undrain = 0;
    if (p->pid == 0) {
        wr__local_fail("node %d is not running: start it (warren cluster restart-node %d) and "
                       "roll again",
                       id, id);
        goto out;
    }
    if (r->drain) {
        step(r, id, "draining (leadership, zones, singletons and clients move to the others)");
        if (post_mark(r, "drain", id, 0) != 0) {
            wr__local_fail("node %d: the drain request was refused (above); stopping the roll",
                           id);
            goto out;
        }
        w = wait_for(r, id, wait_s, is_drained, NULL);
        if (w != 0) {
            json_t *doc = cluster_of(&r->c, id);
            char *holds = doc ? json_dumps(json_object_get(doc, "holds"), JSON_COMPACT) : NULL;
            json_decref(doc);
            wr__local_fail("node %d %s (it holds %s); undraining it and stopping the roll: the "
                           "cluster keeps serving",
                           id, w == -2 ? "was still draining when interrupted"
                                       : "did not drain in time",
                           holds ? holds : "?");
            free(holds);
            post_mark(r, "undrain", id, 0);
            goto out;
        }
        t_drain = secs_since(r->t_step);
        step(r, id, "drained in %.1f s", t_drain);
    }
    json_int_t commit = 0;
    int leader = leader_of(&r->c, &commit);
    step(r, id, "stopping (SIGTERM, pid %d); leader %d, commit index %lld", (int)p->pid, leader,
         (long long)commit);
    if (wr__local_stop(p, 1, WR_LOCAL_STOP_GRACE_MS, &r->set, NULL) != 0) {
        wr__local_fail("node %d (pid %d) did not exit; stopping the roll", id, (int)p->pid);
        goto out;
    }
    t_stop = secs_since(r->t_step);
    char *peers = wr__local_peers(&r->c);
    int sr = wr__local_start_node(&r->c, p, peers, &r->old, "cluster roll: starting");
    free(peers);
    if (sr != 0) {
        wr__local_fail("node %d did not start again; the other nodes serve. Fix it, then "
                       "`warren cluster restart-node %d` and `warren ctl undrain %d`",
                       id, id, id);
        goto out;
    }
    step(r, id, "exited in %.1f s; started again (pid %d, %s), waiting until it is ready and "
         "has applied index %lld",
         t_stop, (int)p->pid, r->c.bin, (long long)commit);
    w = wr__local_wait_ready(&r->c, p, 1, id, id, false, wait_s, &r->set);
    if (w == 0)
        w = wait_for(r, id, wait_s, caught_up, &commit);
    if (w != 0) {
        if (w != -2)
            wr__local_tail(stderr, p->logfile, 20);
        wr__local_fail("node %d is not ready and caught up %s; it is left %s and drained, the "
                       "other nodes serve. Fix it, then `warren cluster restart-node %d` and "
                       "`warren ctl undrain %d`",
                       id, w == -2 ? "(interrupted)" : "in time", p->pid ? "running" : "stopped",
                       id, id);
        goto out;
    }
    t_start = secs_since(r->t_step);
    if (r->drain) {
        step(r, id, "ready and caught up in %.1f s; undraining", t_start);
        if (post_mark(r, "undrain", id, 0) != 0 || wait_for(r, id, wait_s, not_draining, NULL) != 0) {
            wr__local_fail("node %d runs but is still marked draining; stopping the roll "
                           "(`warren ctl undrain %d` clears it)",
                           id, id);
            goto out;
        }
        t_undrain = secs_since(r->t_step);
    }
    printf("node %d: rolled in %.1f s (drain %.1f, exit %.1f, start and catch up %.1f, undrain "
           "%.1f)\n",
           id, secs_since(t0), t_drain, t_stop, t_start, t_undrain);
    rc = 0;
out:
    free(p);
    return rc;
}

int wr__local_cmd_roll(const struct wr__local_opts *o)
{
    struct roll *r = wr_calloc(1, sizeof *r);
    char err[1200];
    int rc = WR_LOCAL_EXIT_ERROR;
    int res = wr__local_resolve_dir(o, &r->c);
    if (res == 0 && (res = wr__local_conf_read(&r->c, err, sizeof err)) < 0)
        wr__local_fail("%s", err);
    if (res == 1)
        wr__local_fail("no cluster in %s (no cluster.conf): roll restarts the nodes of a "
                       "cluster `warren cluster up` started",
                       o->dir);
    if (res != 0) {
        free(r);
        return WR_LOCAL_EXIT_ERROR;
    }
    char bin[PATH_MAX] = "";
    if (o->bin != NULL && (realpath(o->bin, bin) == NULL || access(bin, X_OK) != 0)) {
        wr__local_fail("--bin %s: not an executable file (%s)", o->bin, strerror(errno));
        goto out_conf;
    }
    char token[WR_LOCAL_PATH];
    wr__local_path(&r->c, "admin-token", token);
    if (wr_ctl_load_admin_token(access(token, R_OK) == 0 ? token : NULL, err, sizeof err) != 0) {
        wr__local_fail("%s", err);
        goto out_conf;
    }

    /* Every node must run and be ready before one is taken out. */
    r->drain = true;
    for (int id = 1; id <= r->c.n; id++) {
        json_t *doc = cluster_of(&r->c, id);
        bool ready = json_is_true(json_object_get(doc, "ready"));
        r->drain = r->drain && json_object_get(doc, "formats") != NULL;
        json_decref(doc);
        if (!ready) {
            wr__local_fail("node %d is not running or not ready: the roll needs every node up "
                           "first (warren cluster status)",
                           id);
            goto out_conf;
        }
    }
    int first_leader = leader_of(&r->c, NULL);
    if (first_leader == 0) {
        wr__local_fail("no leader: the roll needs a serving cluster");
        goto out_conf;
    }
    if (!r->drain)
        printf("Some node runs a release without drain: the nodes are restarted without it "
               "(their clients reconnect and resume when it stops).\n");
    if (bin[0] != '\0' && strcmp(bin, r->c.bin) != 0) {
        snprintf(r->c.bin, sizeof r->c.bin, "%s", bin);
        if (wr__local_conf_write(&r->c, err, sizeof err) != 0) {
            wr__local_fail("%s", err);
            goto out_conf;
        }
        printf("Recorded %s in cluster.conf: the nodes start with it from now on.\n", bin);
    }
    printf("Rolling %d node%s of %s, the leader (node %d) last.\n", r->c.n, r->c.n == 1 ? "" : "s",
           r->c.dir, first_leader);
    fflush(stdout);

    wr__local_block_signals(&r->set, &r->old);
    long long t0 = wr__local_now_ms();
    int done = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int id = 1; id <= r->c.n; id++) {
            if ((pass == 0) == (id == first_leader))
                continue;
            if (roll_node(r, id, o->wait_s) != 0) {
                rc = r->interrupted ? WR_LOCAL_EXIT_INTERRUPTED : WR_LOCAL_EXIT_ERROR;
                goto out_signals;
            }
            done++;
        }
    }
    printf("Rolled %d node%s in %.1f s; every node runs %s.\n", done, done == 1 ? "" : "s",
           secs_since(t0), r->c.bin);
    rc = WR_LOCAL_EXIT_OK;
out_signals:
    wr__local_unblock_signals(&r->set, &r->old);
out_conf:
    wr__local_clear(&r->c);
    free(r);
    return rc;
}
