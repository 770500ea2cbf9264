/* The membership endpoints of the admin API (docs/api.md): add a node,
 * remove one, hand the leadership over. Every one is a POST, so the node
 * has checked the admin token before we get here (node_api.c).
 *
 * Only the leader changes the configuration. Any other node answers 307
 * with {"error", "leader", "leader_http"}: the client sends the same
 * request to leader_http (warren ctl does; a redirect and not a forward, so
 * the answer comes from the node that did the change, and a node with no
 * leader to forward to says so at once: 503). Removing the leader itself
 * is done in two steps: it hands the leadership to another voter, then
 * answers 307 naming the new leader, which removes it. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/alloc.h"
#include "common/log.h"
#include "node/game.h"
#include "node/node_internal.h"

enum op { OP_ADD, OP_REMOVE, OP_TRANSFER, OP_TRANSFER_TO_REMOVE };

struct pending {
    struct wr_node *n;
    struct wr_http_conn *conn;
    enum op op;
    uint64_t id;
    char address[64];
};

static void respond_error(struct wr_http_conn *conn, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void respond_error(struct wr_http_conn *conn, int status, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wr_node_respond_json(conn, status, json_pack("{s:s}", "error", msg));
}

/* Asked of libraft now: the status the node caches is polled every few ms,
 * and a request right after a leadership transfer must not miss it. */
static bool leads(struct wr_node *n)
{
    struct wr_raft_status st;
    wr_raft_get_status(n->raft, &st);
    return st.role == WR_ROLE_LEADER;
}

static const char *http_of(struct wr_node *n, uint64_t id)
{
    char name[32];
    snprintf(name, sizeof name, "node/%llu", (unsigned long long)id);
    const struct wr_reg_entry *e = wr_world_registry_find(n->world, name);
    return e != NULL && e->http[0] != '\0' ? e->http : NULL;
}

/* Not the leader (any more): 307 to the one there is, 503 if none. */
void wr__node_redirect_to_leader(struct wr_node *n, struct wr_http_conn *conn, const char *why)
{
    struct wr_raft_status st;
    wr_raft_get_status(n->raft, &st);
    const char *http =
        st.leader_id != 0 && st.leader_id != (uint64_t)n->cfg.id ? http_of(n, st.leader_id) : NULL;
    if (http == NULL) {
        respond_error(conn, 503, "%s, and no leader is known yet; try again in a moment", why);
        return;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "%s; the leader is node %llu at %s", why,
             (unsigned long long)st.leader_id, http);
    wr_node_respond_json(conn, 307,
                         json_pack("{s:s, s:I, s:s}", "error", msg, "leader",
                                   (json_int_t)st.leader_id, "leader_http", http));
}

json_t *wr__node_members_json(struct wr_node *n)
{
    json_t *nodes = json_array();
    size_t count = wr_raft_node_count(n->raft);
    for (size_t i = 0; i < count; i++) {
        struct wr_raft_node nd;
        wr_raft_nodes_at(n->raft, i, &nd);
        json_array_append_new(
            nodes, json_pack("{s:I, s:s, s:s, s:s?, s:b}", "id", (json_int_t)nd.id, "address",
                             nd.address, "role", nd.role, "http", http_of(n, nd.id), "draining",
                             wr_world_node_draining(n->world, (uint32_t)nd.id)));
    }
    return nodes;
}

static int status_for(int rv)
{
    switch (rv) {
    case WR_EBUSY:
    case WR_ELOST:
    case WR_ESHUTDOWN:
    case WR_ECATCHUP:
        return 503;
    case WR_EDUPLICATE:
    case WR_EBADROLE:
        return 409;
    case WR_EBADID:
    case WR_ENOVOTER:
        return 404;
    default:
        return 400;
    }
}

static void change_done(void *arg, int status)
{
    struct pending *p = arg;
    struct wr_node *n = p->n;
    if (status == WR_ENOTLEADER) {
        wr__node_redirect_to_leader(n, p->conn, "this node lost the leadership");
    } else if (status != 0) {
        respond_error(p->conn, status_for(status), "%s", wr_raft_strerror(status));
    } else if (p->op == OP_ADD) {
        wr_info("membership: node %llu (%s) added by an admin request; it becomes a voter once "
                "it runs (warren node --join) and has caught up",
                (unsigned long long)p->id, p->address);
        wr_node_respond_json(
            p->conn, 200,
            json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)p->id, "address", p->address,
                      "role", "spare", "next",
                      "start the node with an empty --data and --join set to a member's cluster "
                      "address; the leader promotes it to voter once it has caught up"));
    } else {
        wr_info("membership: node %llu (%s) removed by an admin request", (unsigned long long)p->id,
                p->address);
        if (n->members != NULL)
            wr_members_tell_removed(n->members, p->id, p->address);
        wr_node_respond_json(p->conn, 200,
                             json_pack("{s:I, s:o}", "removed", (json_int_t)p->id, "nodes",
                                       wr__node_members_json(n)));
    }
    free(p);
}

static void transfer_done(void *arg, int status)
{
    struct pending *p = arg;
    struct wr_node *n = p->n;
    struct wr_raft_status st;
    wr_raft_get_status(n->raft, &st);
    if (status != 0) {
        respond_error(p->conn, 503,
                      "no other node took over the leadership within an election timeout; "
                      "node %llu still leads",
                      (unsigned long long)st.leader_id);
    } else if (p->op == OP_TRANSFER_TO_REMOVE) {
        wr_info("membership: handed the leadership to node %llu so that it removes this node",
                (unsigned long long)st.leader_id);
        wr__node_redirect_to_leader(n, p->conn, "this node handed the leadership over before its removal");
    } else {
        wr_info("membership: handed the leadership to node %llu", (unsigned long long)st.leader_id);
        wr_node_respond_json(p->conn, 200,
                             json_pack("{s:I, s:s?}", "leader", (json_int_t)st.leader_id,
                                       "leader_http", http_of(n, st.leader_id)));
    }
    free(p);
}

/* The JSON object body, or NULL after answering 400. */
static json_t *body_object(struct wr_http_conn *conn, const struct wr_http_request *req)
{
    json_error_t je;
    json_t *doc = req->body_len ? json_loadb(req->body, req->body_len, 0, &je) : json_object();
    if (!json_is_object(doc)) {
        json_decref(doc);
        respond_error(conn, 400, "the body must be a JSON object, e.g. {\"id\": 4}");
        return NULL;
    }
    return doc;
}

/* "id": a node id 1..65535 (@optional: null or missing gives 0). */
static int body_id(struct wr_http_conn *conn, json_t *doc, bool optional, uint64_t *id)
{
    json_t *v = json_object_get(doc, "id");
    if (optional && (v == NULL || json_is_null(v))) {
        *id = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535) {
        respond_error(conn, 400, "\"id\" must be a node id, 1..65535%s",
                      optional ? ", or null" : "");
        return -1;
    }
    *id = (uint64_t)json_integer_value(v);
    return 0;
}

static int start(struct wr_node *n, struct wr_http_conn *conn, enum op op, uint64_t id,
                 const char *address)
{
    struct pending *p = wr_calloc(1, sizeof *p);
    p->n = n;
    p->conn = conn;
    p->op = op;
    p->id = id;
    snprintf(p->address, sizeof p->address, "%s", address ? address : "");
    int rv;
    switch (op) {
    case OP_ADD:
        rv = wr_raft_add(n->raft, id, address, change_done, p);
        break;
    case OP_REMOVE:
        rv = wr_raft_remove(n->raft, id, change_done, p);
        break;
    default:
        rv = wr_raft_transfer(n->raft, id, transfer_done, p);
        break;
    }
    if (rv != 0) {
        free(p);
        if (rv == WR_ENOTLEADER)
            wr__node_redirect_to_leader(n, conn, "this node is not the leader");
        else
            respond_error(conn, status_for(rv), "%s", wr_raft_strerror(rv));
    }
    return rv;
}

static void add_node(struct wr_node *n, struct wr_http_conn *conn, json_t *doc)
{
    uint64_t id;
    if (body_id(conn, doc, false, &id) != 0)
        return;
    const char *address = json_string_value(json_object_get(doc, "address"));
    struct sockaddr_in sa;
    char why[160];
    if (address == NULL || strlen(address) >= 64 || wr_addr_parse(address, &sa, why, sizeof why)) {
        respond_error(conn, 400, "\"address\" must be the node's cluster address, IPv4:PORT%s%s",
                      address ? ": " : "", address ? why : "");
        return;
    }
    if (!leads(n)) {
        wr__node_redirect_to_leader(n, conn, "this node is not the leader");
        return;
    }
    struct wr_raft_node nd;
    if (wr_raft_node_find(n->raft, id, &nd)) {
        if (strcmp(nd.address, address) == 0)
            wr_node_respond_json(conn, 200,
                                 json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "address",
                                           nd.address, "role", nd.role, "note",
                                           "already a member"));
        else
            respond_error(conn, 409,
                          "node id %llu is already a member with address %s; ids are never "
                          "reused: pick another id, or remove node %llu first",
                          (unsigned long long)id, nd.address, (unsigned long long)id);
        return;
    }
    size_t count = wr_raft_node_count(n->raft);
    for (size_t i = 0; i < count; i++) {
        wr_raft_nodes_at(n->raft, i, &nd);
        if (strcmp(nd.address, address) == 0) {
            respond_error(conn, 409, "address %s is already node %llu's", address,
                          (unsigned long long)nd.id);
            return;
        }
    }
    start(n, conn, OP_ADD, id, address);
}

static void remove_node(struct wr_node *n, struct wr_http_conn *conn, json_t *doc)
{
    uint64_t id;
    if (body_id(conn, doc, false, &id) != 0)
        return;
    if (!leads(n)) {
        wr__node_redirect_to_leader(n, conn, "this node is not the leader");
        return;
    }
    struct wr_raft_node target;
    if (!wr_raft_node_find(n->raft, id, &target)) {
        respond_error(conn, 404, "node %llu is not a member", (unsigned long long)id);
        return;
    }
    size_t voters = 0, count = wr_raft_node_count(n->raft);
    for (size_t i = 0; i < count; i++) {
        struct wr_raft_node nd;
        wr_raft_nodes_at(n->raft, i, &nd);
        voters += nd.voter;
    }
    if (target.voter && voters <= 1) {
        respond_error(conn, 409, "node %llu is the last voter: a cluster cannot remove it",
                      (unsigned long long)id);
        return;
    }
    if (id == (uint64_t)n->cfg.id) {
        /* libraft can remove its own leader, but then no one leads for an
         * election timeout: hand over first (the notes, membership). */
        start(n, conn, OP_TRANSFER_TO_REMOVE, 0, NULL);
        return;
    }
    start(n, conn, OP_REMOVE, id, target.address);
}

static void transfer(struct wr_node *n, struct wr_http_conn *conn, json_t *doc)
{
    uint64_t id;
    if (body_id(conn, doc, true, &id) != 0)
        return;
    if (!leads(n)) {
        wr__node_redirect_to_leader(n, conn, "this node is not the leader");
        return;
    }
    struct wr_raft_node nd;
    if (id == (uint64_t)n->cfg.id) {
        wr_node_respond_json(
            conn, 200,
            json_pack("{s:I, s:s}", "leader", (json_int_t)id, "note", "this node leads already"));
        return;
    }
    if (id != 0 && (!wr_raft_node_find(n->raft, id, &nd) || !nd.voter)) {
        respond_error(conn, 404, "node %llu is not a voter of this cluster",
                      (unsigned long long)id);
        return;
    }
    start(n, conn, OP_TRANSFER, id, NULL);
}

bool wr__node_members_request(struct wr_node *n, struct wr_http_conn *conn,
                              const struct wr_http_request *req)
{
    const char *p = req->path;
    void (*handler)(struct wr_node *, struct wr_http_conn *, json_t *) = NULL;
    if (strcmp(p, "/api/cluster/nodes") == 0)
        handler = add_node;
    else if (strcmp(p, "/api/cluster/remove") == 0)
        handler = remove_node;
    else if (strcmp(p, "/api/cluster/transfer") == 0)
        handler = transfer;
    if (handler == NULL || strcmp(req->method, "POST") != 0)
        return false;
    if (n->stopping || n->raft == NULL) {
        respond_error(conn, 503, "the node is shutting down");
        return true;
    }
    json_t *doc = body_object(conn, req);
    if (doc == NULL)
        return true;
    handler(n, conn, doc);
    json_decref(doc);
    return true;
}
