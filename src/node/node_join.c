/* What a node settles with the cluster before libraft starts: which
 * cluster its data belongs to, and whether it founds a cluster, joins a
 * running one (--join), or restarts as a member. See docs/operations.md
 * "Membership" and cluster/membership.h.
 *
 * The rule that keeps a node from founding a second cluster by accident:
 * a node with an empty data directory bootstraps the --peers configuration
 * only if no reachable peer already belongs to a cluster (has a cluster id);
 * if one does, the node starts empty when that cluster lists it (a founding
 * member that comes late, or one added with `warren ctl add-node`), and
 * refuses otherwise (a stale peer list: use --join). A node whose data
 * carries a cluster id refuses peers of another cluster. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "node/node_internal.h"

#define JOIN_TIMEOUT_MS 60000
#define PROBE_TIMEOUT_MS 1500
#define RETRY_MS 500

/* ---- DATA/cluster-id -------------------------------------------------- */

static void cluster_id_path(const struct wr_node *n, char *out, size_t len)
{
    snprintf(out, len, "%s/cluster-id", n->cfg.data);
}

static int read_cluster_id(struct wr_node *n, char *err, size_t errlen)
{
    char path[1100], buf[80];
    cluster_id_path(n, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    if (wr_cluster_id_parse(buf, n->cluster_id) != 0) {
        snprintf(err, errlen, "%s does not hold a cluster id (32 hex digits)", path);
        return -1;
    }
    return 0;
}

void wr__node_note_cluster_id(struct wr_node *n)
{
    const uint8_t *id = wr_world_cluster_id(n->world);
    if (wr_cluster_id_is_zero(id) || memcmp(id, n->cluster_id, WR_CLUSTER_ID_BYTES) == 0)
        return;
    char hex[33], old[33], path[1100], tmp[1200];
    wr_cluster_id_hex(id, hex);
    if (!wr_cluster_id_is_zero(n->cluster_id)) {
        wr_cluster_id_hex(n->cluster_id, old);
        wr_warn("node: the log says this is cluster %s, but %s/cluster-id said %s; recording %s",
                hex, n->cfg.data, old, hex);
    }
    memcpy(n->cluster_id, id, WR_CLUSTER_ID_BYTES);
    cluster_id_path(n, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%s\n", hex) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        wr_error("node: cannot record the cluster id in %s: %s", path, strerror(errno));
        return;
    }
    wr_info("node: this node belongs to cluster %s (recorded in %s)", hex, path);
}

/* ---- asking, with the loop run until the answer ------------------------ */

struct sync_ask {
    bool done;
    int status;
    struct wr_member_answer a;
};

static void sync_cb(void *arg, int status, const struct wr_member_answer *a)
{
    struct sync_ask *s = arg;
    s->done = true;
    s->status = status;
    if (a != NULL)
        s->a = *a;
}

static void run_until(struct wr_node *n, const bool *done)
{
    while (!*done)
        uv_run(n->loop, UV_RUN_ONCE);
}

static void request_init(struct wr_node *n, struct wr_member_request *q, uint8_t op)
{
    memset(q, 0, sizeof *q);
    q->op = op;
    q->id = (uint64_t)n->cfg.id;
    snprintf(q->address, sizeof q->address, "%s", n->cfg.cluster);
    snprintf(q->http, sizeof q->http, "%s", n->cfg.http);
    memcpy(q->cluster_id, n->cluster_id, WR_CLUSTER_ID_BYTES);
}

static int ask(struct wr_node *n, uint64_t id, const char *address, uint8_t op,
               struct wr_member_answer *a)
{
    struct wr_member_request q;
    request_init(n, &q, op);
    struct sync_ask s = {0};
    int rv = wr_member_ask(wr_raft_transport(n->raft), n->loop, id, address, &q, PROBE_TIMEOUT_MS,
                           sync_cb, &s);
    if (rv != 0)
        return rv;
    run_until(n, &s.done);
    if (s.status == 0)
        *a = s.a;
    return s.status;
}

static void timer_done_cb(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

static void pause_ms(struct wr_node *n, unsigned ms)
{
    uv_timer_t t;
    bool done = false;
    uv_timer_init(n->loop, &t);
    t.data = &done;
    uv_timer_start(&t, timer_done_cb, ms, 0);
    run_until(n, &done);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(n->loop, UV_RUN_NOWAIT);
}

static const char *ask_error(int rv)
{
    if (rv == UV_EACCES)
        return "the handshake failed (another cluster secret? see that node's log)";
    if (rv == UV_ETIMEDOUT)
        return "no answer in time";
    return uv_strerror(rv);
}

/* Both ids known and different. */
static bool ids_differ(const uint8_t *a, const uint8_t *b)
{
    return !wr_cluster_id_is_zero(a) && !wr_cluster_id_is_zero(b) &&
           memcmp(a, b, WR_CLUSTER_ID_BYTES) != 0;
}

/* ---- --join ----------------------------------------------------------- */

static int join(struct wr_node *n, char *err, size_t errlen)
{
    uint64_t start = uv_now(n->loop);
    uint64_t target = 0;
    char address[64];
    snprintf(address, sizeof address, "%s", n->cfg.join);
    int hops = 0;
    wr_info("node: asking the cluster at %s to add node %ld (%s)", n->cfg.join, n->cfg.id,
            n->cfg.cluster);
    for (;;) {
        struct wr_member_answer a;
        int rv = ask(n, target, address, WR_MOP_JOIN, &a);
        bool late = uv_now(n->loop) - start >= JOIN_TIMEOUT_MS;
        if (rv != 0) {
            if (rv == UV_EACCES || late) {
                snprintf(err, errlen, "--join %s: cannot ask node at %s to add this node: %s",
                         n->cfg.join, address, ask_error(rv));
                return -1;
            }
            wr_info("node: --join: node at %s: %s; trying again", address, ask_error(rv));
        } else {
            char theirs[33], ours[33];
            wr_cluster_id_hex(a.cluster_id, theirs);
            wr_cluster_id_hex(n->cluster_id, ours);
            if (ids_differ(a.cluster_id, n->cluster_id)) {
                snprintf(err, errlen,
                         "--join %s: that is cluster %s, but the data in %s belongs to cluster "
                         "%s; use an empty --data directory to join it",
                         n->cfg.join, theirs, n->cfg.data, ours);
                return -1;
            }
            switch (a.status) {
            case WR_MST_OK:
                n->contact_id = a.answer_id;
                snprintf(n->contact_address, sizeof n->contact_address, "%s", address);
                wr_info("node: node %llu (leader of cluster %s) added this node; starting with "
                        "an empty log, the leader sends it",
                        (unsigned long long)a.answer_id, theirs);
                return 0;
            case WR_MST_REFUSED:
                snprintf(err, errlen, "--join %s: the cluster refused to add node %ld at %s: %s",
                         n->cfg.join, n->cfg.id, n->cfg.cluster, a.message);
                return -1;
            case WR_MST_NOT_LEADER:
                if (a.leader_id != 0 && a.leader_address[0] != '\0' && hops < 8) {
                    target = a.leader_id;
                    snprintf(address, sizeof address, "%s", a.leader_address);
                    hops++;
                    continue;
                }
                break;
            default: /* BUSY: another change in progress */
                break;
            }
            if (late) {
                snprintf(err, errlen, "--join %s: no leader admitted this node within %d s",
                         n->cfg.join, JOIN_TIMEOUT_MS / 1000);
                return -1;
            }
        }
        /* start over from the address given, after a pause */
        target = 0;
        hops = 0;
        snprintf(address, sizeof address, "%s", n->cfg.join);
        pause_ms(n, RETRY_MS);
    }
}

/* ---- --peers: is there a cluster already, and is it ours? -------------- */

struct probe {
    struct wr_node *n;
    int pending;
    uint64_t id;
    char address[64];
    int status;
    struct wr_member_answer a;
};

static void probe_cb(void *arg, int status, const struct wr_member_answer *a)
{
    struct probe *p = arg;
    p->status = status;
    if (a != NULL)
        p->a = *a;
    p->pending = 0;
}

static int check_peers(struct wr_node *n, bool has_log, bool *bootstrap, char *err, size_t errlen)
{
    size_t k = n->cfg.n_peers;
    struct probe *probes = calloc(k ? k : 1, sizeof *probes);
    struct wr_member_request q;
    request_init(n, &q, WR_MOP_IDENTIFY);
    for (size_t i = 0; i < k; i++) {
        struct probe *p = &probes[i];
        p->n = n;
        p->id = n->cfg.peers[i].id;
        snprintf(p->address, sizeof p->address, "%s", n->cfg.peers[i].address);
        p->status = UV_ECANCELED;
        if (p->id == (uint64_t)n->cfg.id)
            continue;
        p->pending = 1;
        p->status = wr_member_ask(wr_raft_transport(n->raft), n->loop, p->id, p->address, &q,
                                  PROBE_TIMEOUT_MS, probe_cb, p);
        if (p->status != 0)
            p->pending = 0;
    }
    for (;;) {
        bool left = false;
        for (size_t i = 0; i < k; i++)
            left |= probes[i].pending != 0;
        if (!left)
            break;
        uv_run(n->loop, UV_RUN_ONCE);
    }
    const struct probe *existing = NULL;
    int rv = 0;
    char ours[33], theirs[33];
    wr_cluster_id_hex(n->cluster_id, ours);
    for (size_t i = 0; i < k && rv == 0; i++) {
        const struct probe *p = &probes[i];
        if (p->status != 0 || wr_cluster_id_is_zero(p->a.cluster_id))
            continue;
        wr_cluster_id_hex(p->a.cluster_id, theirs);
        if (ids_differ(p->a.cluster_id, n->cluster_id)) {
            snprintf(err, errlen,
                     "the data in %s belongs to cluster %s, but node %llu at %s is in cluster "
                     "%s: this node's data is from another cluster. Point --peers at its own "
                     "cluster, or start it with an empty --data and --join %s",
                     n->cfg.data, ours, (unsigned long long)p->id, p->address, theirs, p->address);
            rv = -1;
        } else if (existing == NULL) {
            existing = p;
        }
    }
    if (rv == 0 && !has_log && existing != NULL) {
        wr_cluster_id_hex(existing->a.cluster_id, theirs);
        if (existing->a.membership == WR_MSHIP_SAME) {
            *bootstrap = false;
            n->wants_vote = !existing->a.voter;
            n->contact_id = existing->a.leader_id ? existing->a.leader_id : existing->id;
            snprintf(n->contact_address, sizeof n->contact_address, "%s",
                     existing->a.leader_id ? existing->a.leader_address : existing->address);
            wr_info("node: cluster %s already runs (node %llu at %s answered) and lists this "
                    "node: starting with an empty log, the leader sends it",
                    theirs, (unsigned long long)existing->id, existing->address);
        } else {
            snprintf(err, errlen,
                     "a cluster (id %s) already runs at %s (node %llu) and does not list node "
                     "%ld at %s: this --peers list is stale. To add this node, start it with an "
                     "empty --data and --join %s (no --peers)",
                     theirs, existing->address, (unsigned long long)existing->id, n->cfg.id,
                     n->cfg.cluster, existing->address);
            rv = -1;
        }
    }
    free(probes);
    return rv;
}

int wr__node_prestart(struct wr_node *n, bool *bootstrap, char *err, size_t errlen)
{
    if (read_cluster_id(n, err, errlen) != 0)
        return -1;
    bool has_log = wr_raft_has_log(n->cfg.data);
    *bootstrap = !has_log;
    if (!wr_cluster_id_is_zero(n->cluster_id)) {
        char hex[33];
        wr_cluster_id_hex(n->cluster_id, hex);
        wr_info("node: data in %s belongs to cluster %s", n->cfg.data, hex);
    }
    if (n->cfg.join[0] != '\0') {
        *bootstrap = false;
        if (has_log) {
            /* Restarting a member: its log has the configuration. Still
             * refuse another cluster's data. */
            struct wr_member_answer a;
            int rv = ask(n, 0, n->cfg.join, WR_MOP_IDENTIFY, &a);
            if (rv == 0 && ids_differ(a.cluster_id, n->cluster_id)) {
                char theirs[33], ours[33];
                wr_cluster_id_hex(a.cluster_id, theirs);
                wr_cluster_id_hex(n->cluster_id, ours);
                snprintf(err, errlen,
                         "the data in %s belongs to cluster %s, but the node at --join %s is "
                         "in cluster %s; use an empty --data directory to join it",
                         n->cfg.data, ours, n->cfg.join, theirs);
                return -1;
            }
            wr_info("node: %s already holds this node's log: restarting as a member "
                    "(--join %s is not needed again)",
                    n->cfg.data, n->cfg.join);
            if (rv == 0) {
                n->contact_id = a.leader_id;
                snprintf(n->contact_address, sizeof n->contact_address, "%s", a.leader_address);
            }
            return 0;
        }
        n->wants_vote = true;
        return join(n, err, errlen);
    }
    if (n->cfg.n_peers > 1)
        return check_peers(n, has_log, bootstrap, err, errlen);
    return 0;
}
