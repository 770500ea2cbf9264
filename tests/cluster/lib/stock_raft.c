/* stock_raft: a one-voter libraft 0.15 node on the library's own,
 * unauthenticated TCP transport (raft_uv_tcp), for the cluster tests.
 *
 * Why it exists: security.test.mjs shows that a forged stock-libraft
 * RequestVote sent to a Warren cluster port changes nothing. That proves
 * little unless the same bytes do move the term of a node that speaks
 * stock libraft; this is that node (the positive control). It is not part
 * of the server: the server's libraft calls stay in src/cluster/raft_glue.c.
 *
 * It prints one line whenever its term or role changes,
 * "term=N state=leader", and stops cleanly on SIGTERM or SIGINT. */
#include <errno.h>
#include <raft.h>
#include <raft/uv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

static const char usage[] =
    "usage: stock_raft --id ID --address IPV4:PORT --dir DIR\n"
    "\n"
    "Run a one-voter libraft 0.15 node on the stock raft_uv_tcp transport (no\n"
    "authentication), listening on ADDRESS, with its data in DIR (created if\n"
    "missing). Prints \"term=N state=S\" on stdout at start and on every change\n"
    "of term or state. SIGTERM or SIGINT stops it (exit 0). A test helper for\n"
    "tests/cluster/security.test.mjs, not part of the server.\n";

struct node {
    uv_loop_t loop;
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft_fsm fsm;
    struct raft raft;
    uv_timer_t poll;
    uv_signal_t sigterm, sigint;
    raft_term last_term;
    int last_state;
};

/* The log is never looked at: only the term matters to the test. */
static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    (void)fsm;
    (void)buf;
    *result = NULL;
    return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    (void)fsm;
    *bufs = raft_malloc(sizeof **bufs);
    if (*bufs == NULL)
        return RAFT_NOMEM;
    (*bufs)[0].base = raft_malloc(1);
    (*bufs)[0].len = 1;
    if ((*bufs)[0].base == NULL) {
        raft_free(*bufs);
        return RAFT_NOMEM;
    }
    *n_bufs = 1;
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    (void)fsm;
    raft_free(buf->base);
    return 0;
}

static const char *state_name(int s)
{
    switch (s) {
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_CANDIDATE:
        return "candidate";
    case RAFT_LEADER:
        return "leader";
    default:
        return "unavailable";
    }
}

/* libraft 0.15 has no change callback: poll, as the server's glue does. */
static void poll_cb(uv_timer_t *t)
{
    struct node *n = t->data;
    int s = raft_state(&n->raft);
    if (n->raft.current_term != n->last_term || s != n->last_state) {
        n->last_term = n->raft.current_term;
        n->last_state = s;
        printf("term=%llu state=%s\n", (unsigned long long)n->last_term, state_name(s));
        fflush(stdout);
    }
}

static void raft_closed_cb(struct raft *r)
{
    struct node *n = r->data;
    raft_uv_close(&n->io);
    raft_uv_tcp_close(&n->transport);
    uv_close((uv_handle_t *)&n->poll, NULL);
    uv_close((uv_handle_t *)&n->sigterm, NULL);
    uv_close((uv_handle_t *)&n->sigint, NULL);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    struct node *n = h->data;
    (void)signum;
    uv_signal_stop(&n->sigterm);
    uv_signal_stop(&n->sigint);
    uv_timer_stop(&n->poll);
    raft_close(&n->raft, raft_closed_cb);
}

static int fail(const char *what, int rv, const char *detail)
{
    fprintf(stderr, "stock_raft: %s failed: %s (%d)%s%s\n", what, raft_strerror(rv), rv,
            detail && detail[0] ? ": " : "", detail ? detail : "");
    return 1;
}

int main(int argc, char **argv)
{
    unsigned long long id = 0;
    const char *address = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "stock_raft: %s needs a value\n%s", argv[i], usage);
            return 2;
        }
        if (strcmp(argv[i], "--id") == 0)
            id = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--address") == 0)
            address = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[++i];
        else {
            fprintf(stderr, "stock_raft: unknown option %s\n%s", argv[i], usage);
            return 2;
        }
    }
    if (id == 0 || address == NULL || dir == NULL) {
        fprintf(stderr, "stock_raft: --id (> 0), --address and --dir are required\n%s", usage);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* libuv does not; a dropped peer would kill us */
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "stock_raft: mkdir(%s) failed: %s\n", dir, strerror(errno));
        return 1;
    }

    static struct node n;
    uv_loop_init(&n.loop);
    n.last_state = -1;
    n.last_term = (raft_term)-1;
    int rv = raft_uv_tcp_init(&n.transport, &n.loop);
    if (rv != 0)
        return fail("raft_uv_tcp_init", rv, NULL);
    rv = raft_uv_init(&n.io, &n.loop, dir, &n.transport);
    if (rv != 0)
        return fail("raft_uv_init", rv, n.io.errmsg);
    n.fsm = (struct raft_fsm){
        .version = 1, .apply = fsm_apply, .snapshot = fsm_snapshot, .restore = fsm_restore};
    rv = raft_init(&n.raft, &n.io, &n.fsm, id, address);
    if (rv != 0)
        return fail("raft_init", rv, raft_errmsg(&n.raft));
    n.raft.data = &n;
    raft_set_election_timeout(&n.raft, 300);
    raft_set_heartbeat_timeout(&n.raft, 50);

    struct raft_configuration conf;
    raft_configuration_init(&conf);
    rv = raft_configuration_add(&conf, id, address, RAFT_VOTER);
    if (rv != 0)
        return fail("raft_configuration_add", rv, NULL);
    rv = raft_bootstrap(&n.raft, &conf);
    raft_configuration_close(&conf);
    if (rv != 0 && rv != RAFT_CANTBOOTSTRAP)
        return fail("raft_bootstrap", rv, raft_errmsg(&n.raft));
    rv = raft_start(&n.raft);
    if (rv != 0)
        return fail("raft_start", rv, raft_errmsg(&n.raft));

    uv_timer_init(&n.loop, &n.poll);
    n.poll.data = &n;
    uv_timer_start(&n.poll, poll_cb, 0, 10);
    uv_signal_init(&n.loop, &n.sigterm);
    uv_signal_init(&n.loop, &n.sigint);
    n.sigterm.data = n.sigint.data = &n;
    uv_signal_start(&n.sigterm, signal_cb, SIGTERM);
    uv_signal_start(&n.sigint, signal_cb, SIGINT);

    uv_run(&n.loop, UV_RUN_DEFAULT);
    rv = uv_loop_close(&n.loop);
    if (rv != 0)
        fprintf(stderr, "stock_raft: uv_loop_close failed: %s\n", uv_strerror(rv));
    return rv != 0;
}
