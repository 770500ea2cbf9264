/* The /admin dashboard's live feed; see admin_ws.h.
 *
 * A dashboard (struct dash) is AUTH_WAIT (reads need the token and none
 * came yet: it gets nothing but {"t":"auth_required"}) or LIVE (it gets
 * every snapshot). The timer runs while any dashboard is connected; each
 * beat it closes AUTH_WAIT dashboards older than WR_ADMIN_WS_AUTH_MS,
 * starts a poll of every member that has none in flight, and pushes one
 * snapshot, encoded once, to every LIVE dashboard. A peer's entry is
 * updated when its poll ends, so a snapshot shows the last finished poll. */
#include "node/admin_ws.h"

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "node/game.h"
#include "node/http_get.h"
#include "node/node_internal.h"

/* A button's POST that a dashboard asked this node to send (one at a
 * time per dashboard). */
struct relay {
    struct wr_http_get *get; /* NULL: none in flight */
    json_int_t id;           /* the page's request id, echoed */
    int hops;                /* 1 once a 307 to the leader was followed */
    char path[48];
    char addr[64]; /* where it went */
    char *body;
    char auth[WR_ADMIN_TOKEN_MAX + 16];
};

struct dash {
    struct wr_admin_ws *a;
    struct wr_conn *c;
    bool live;
    uint64_t opened; /* loop ms */
    struct relay relay;
    struct dash *next;
};

/* What this node last learned of one member. id 0: a free slot. */
struct peer {
    struct wr_admin_ws *a;
    uint64_t id;
    char http[64];
    struct wr_http_get *get; /* the poll in flight, or NULL */
    bool polled;             /* a poll has finished */
    bool ok;                 /* ...and the last one answered 200 with JSON */
    uint64_t last_ok;        /* loop ms of the last good answer, 0: never */
    char error[160];
    json_t *view; /* the last good answer (its /api/cluster) */
};

struct wr_admin_ws {
    struct wr_node *n;
    uv_timer_t timer;
    bool running, stopped;
    struct dash *dashes;
    size_t n_dashes;
    struct peer peers[WR_ADMIN_WS_MAX_MEMBERS];
    /* "Bearer T" of an authorized dashboard, for polling peers whose reads
     * need the token; "" when none or when reads are open. */
    char auth[WR_ADMIN_TOKEN_MAX + 16];

    uint64_t started_wall; /* when this node started, wall ms */
    uint64_t term_changes, leader_changes;
    uint64_t leader_id, leader_term, leader_since; /* leader_since: wall ms */
    uint64_t leaderless_since;                     /* wall ms; 0 while one is known */
};

static void tick_cb(uv_timer_t *t);
static void relay_clear(struct relay *r);

struct wr_admin_ws *wr_admin_ws_create(struct wr_node *n)
{
    struct wr_admin_ws *a = wr_calloc(1, sizeof *a);
    a->n = n;
    a->started_wall = wr_node_wall_ms();
    a->leaderless_since = a->started_wall;
    uv_timer_init(n->loop, &a->timer);
    a->timer.data = a;
    for (size_t i = 0; i < WR_ADMIN_WS_MAX_MEMBERS; i++)
        a->peers[i].a = a;
    return a;
}

static void peer_reset(struct peer *p)
{
    if (p->get != NULL)
        wr_http_get_cancel(p->get);
    json_decref(p->view);
    struct wr_admin_ws *a = p->a;
    memset(p, 0, sizeof *p);
    p->a = a;
}

void wr_admin_ws_stop(struct wr_admin_ws *a)
{
    if (a->stopped)
        return;
    a->stopped = true;
    uv_close((uv_handle_t *)&a->timer, NULL);
    for (struct dash *d = a->dashes; d != NULL; d = d->next)
        relay_clear(&d->relay);
    for (size_t i = 0; i < WR_ADMIN_WS_MAX_MEMBERS; i++)
        peer_reset(&a->peers[i]);
}

void wr_admin_ws_destroy(struct wr_admin_ws *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < WR_ADMIN_WS_MAX_MEMBERS; i++)
        json_decref(a->peers[i].view);
    struct dash *d = a->dashes;
    while (d != NULL) {
        struct dash *next = d->next;
        relay_clear(&d->relay);
        free(d);
        d = next;
    }
    sodium_memzero(a->auth, sizeof a->auth);
    free(a);
}

void wr_admin_ws_on_change(struct wr_admin_ws *a, const struct wr_raft_status *old,
                           const struct wr_raft_status *now)
{
    uint64_t wall = wr_node_wall_ms();
    if (old->term != 0 && now->term != old->term)
        a->term_changes++;
    if (now->leader_id == 0) {
        if (a->leaderless_since == 0)
            a->leaderless_since = wall;
        return;
    }
    if (now->leader_id != a->leader_id || now->term != a->leader_term) {
        if (a->leader_id != 0 && now->leader_id != a->leader_id)
            a->leader_changes++;
        if (now->leader_id != a->leader_id)
            a->leader_since = wall;
        a->leader_id = now->leader_id;
        a->leader_term = now->term;
    }
    a->leaderless_since = 0;
}

/* ---- polling the members ------------------------------------------- */

static void push(struct wr_admin_ws *a, struct dash *only);

/* One poll of @p ended: keep what it learned. A member going down or
 * coming back is pushed at once rather than on the next beat, so a kill
 * shows one poll after it, not one poll plus one beat. */
static void poll_done(void *arg, int status, int http_status, const char *body, size_t len,
                      const char *err)
{
    struct peer *p = arg;
    bool was_up = p->polled && p->ok;
    bool known = p->polled;
    p->get = NULL;
    p->polled = true;
    p->ok = false;
    json_t *v = NULL;
    if (status < 0) {
        snprintf(p->error, sizeof p->error, "%s", err);
    } else if (http_status != 200) {
        snprintf(p->error, sizeof p->error, "/api/cluster answered HTTP %d%s", http_status,
                 http_status == 401 ? " (its reads need the admin token)" : "");
    } else if (v = json_loadb(body, len, 0, NULL), !json_is_object(v)) {
        json_decref(v);
        snprintf(p->error, sizeof p->error, "/api/cluster answered something that is not JSON");
    } else {
        json_decref(p->view);
        p->view = v;
        p->ok = true;
        p->last_ok = uv_now(p->a->n->loop);
        p->error[0] = '\0';
    }
    if (known && was_up != p->ok && !p->a->stopped)
        push(p->a, NULL);
}

/* Keep a slot for every member but this node, with its registered HTTP
 * address; free the slots of nodes that left the configuration. */
static void sync_peers(struct wr_admin_ws *a, const struct wr_raft_node *members, size_t count)
{
    struct wr_node *n = a->n;
    for (size_t i = 0; i < WR_ADMIN_WS_MAX_MEMBERS; i++) {
        struct peer *p = &a->peers[i];
        bool member = false;
        for (size_t k = 0; k < count && p->id != 0; k++)
            member = member || members[k].id == p->id;
        if (p->id != 0 && !member)
            peer_reset(p);
    }
    for (size_t k = 0; k < count; k++) {
        if (members[k].id == (uint64_t)n->cfg.id)
            continue;
        struct peer *p = NULL, *free_slot = NULL;
        for (size_t i = 0; i < WR_ADMIN_WS_MAX_MEMBERS && p == NULL; i++) {
            if (a->peers[i].id == members[k].id)
                p = &a->peers[i];
            else if (a->peers[i].id == 0 && free_slot == NULL)
                free_slot = &a->peers[i];
        }
        if (p == NULL && free_slot == NULL)
            continue;
        if (p == NULL) {
            p = free_slot;
            p->id = members[k].id;
        }
        char name[32];
        snprintf(name, sizeof name, "node/%llu", (unsigned long long)p->id);
        const struct wr_reg_entry *e = wr_world_registry_find(n->world, name);
        snprintf(p->http, sizeof p->http, "%s", e != NULL ? e->http : "");
    }
}

static void poll_peers(struct wr_admin_ws *a)
{
    for (size_t i = 0; i < WR_ADMIN_WS_MAX_MEMBERS; i++) {
        struct peer *p = &a->peers[i];
        if (p->id == 0 || p->get != NULL)
            continue;
        if (p->http[0] == '\0') {
            p->polled = true;
            p->ok = false;
            snprintf(p->error, sizeof p->error, "no HTTP address in the registry yet (node/%llu)",
                     (unsigned long long)p->id);
            continue;
        }
        char err[160];
        if (wr_http_get_start(&p->get, a->n->loop, p->http, "GET", "/api/cluster", a->auth, NULL,
                              WR_ADMIN_WS_TIMEOUT_MS, poll_done, p, err, sizeof err) != 0) {
            p->get = NULL;
            p->polled = true;
            p->ok = false;
            snprintf(p->error, sizeof p->error, "%s", err);
        }
    }
}

/* ---- the snapshot --------------------------------------------------- */

struct per_node {
    uint64_t id;
    json_t *zones, *singletons;
    json_int_t players, npcs;
};

struct reg_walk {
    struct per_node *nodes;
    size_t count;
};

static void reg_cb(void *arg, const struct wr_reg_entry *e)
{
    struct reg_walk *w = arg;
    for (size_t i = 0; i < w->count; i++) {
        struct per_node *pn = &w->nodes[i];
        if (pn->id != e->node)
            continue;
        if (e->kind == WR_REG_ZONE)
            json_array_append_new(pn->zones, json_string(e->name));
        else if (e->kind == WR_REG_SINGLETON)
            json_array_append_new(pn->singletons, json_string(e->name));
        else if (e->kind == WR_REG_PLAYER)
            pn->players++;
        else if (e->kind == WR_REG_NPC)
            pn->npcs++;
        return;
    }
}

/* A member's /api/cluster without its member list (the snapshot has this
 * node's), to keep the pushes small. */
static json_t *view_of(json_t *cluster)
{
    json_t *v = json_copy(cluster);
    json_object_del(v, "nodes");
    return v;
}

static json_t *member_json(struct wr_admin_ws *a, const struct wr_raft_node *m, struct per_node *pn,
                           json_t *self_view, uint64_t now)
{
    struct wr_node *n = a->n;
    bool self = m->id == (uint64_t)n->cfg.id;
    json_t *o = json_pack("{s:I, s:s, s:s, s:b}", "id", (json_int_t)m->id, "address", m->address,
                          "role", m->role, "self", self);
    json_object_set_new(o, "zones", pn->zones);
    json_object_set_new(o, "singletons", pn->singletons);
    json_object_set_new(o, "players", json_integer(pn->players));
    json_object_set_new(o, "npcs", json_integer(pn->npcs));
    if (n->status.role == WR_ROLE_LEADER && !self)
        json_object_set_new(o, "raft_silent_ms",
                            json_integer((json_int_t)wr_node_peer_silent_ms(n, m->id)));
    if (self) {
        json_object_set_new(o, "http", json_string(n->cfg.http));
        json_object_set_new(o, "up", json_true());
        json_object_set_new(o, "seen_ms_ago", json_integer(0));
        json_object_set_new(o, "view", view_of(self_view));
        return o;
    }
    const struct peer *p = NULL;
    for (size_t i = 0; i < WR_ADMIN_WS_MAX_MEMBERS && p == NULL; i++)
        if (a->peers[i].id == m->id)
            p = &a->peers[i];
    json_object_set_new(o, "http", p && p->http[0] ? json_string(p->http) : json_null());
    bool polled = p != NULL && p->polled;
    json_object_set_new(o, "up", polled ? json_boolean(p->ok) : json_null());
    json_object_set_new(o, "error", polled && !p->ok ? json_string(p->error) : json_null());
    json_object_set_new(o, "seen_ms_ago",
                        p && p->last_ok ? json_integer((json_int_t)(now - p->last_ok))
                                        : json_null());
    json_object_set_new(o, "view", p && p->view ? view_of(p->view) : json_null());
    return o;
}

static json_t *snapshot_json(struct wr_admin_ws *a, const struct wr_raft_node *members,
                             size_t count)
{
    struct wr_node *n = a->n;
    uint64_t now = uv_now(n->loop);
    json_t *self_view = wr__node_cluster_json(n);
    struct per_node pn[WR_ADMIN_WS_MAX_MEMBERS];
    for (size_t i = 0; i < count; i++)
        pn[i] = (struct per_node){
            .id = members[i].id, .zones = json_array(), .singletons = json_array()};
    struct reg_walk w = {pn, count};
    wr_world_registry_each(n->world, reg_cb, &w);
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, member_json(a, &members[i], &pn[i], self_view, now));
    json_t *leader =
        a->leader_id != 0 && n->status.leader_id != 0
            ? json_pack("{s:I, s:I, s:I}", "id", (json_int_t)a->leader_id, "term",
                        (json_int_t)a->leader_term, "since", (json_int_t)a->leader_since)
            : json_null();
    json_t *elections =
        json_pack("{s:I, s:I, s:I}", "term_changes", (json_int_t)a->term_changes, "leader_changes",
                  (json_int_t)a->leader_changes, "since", (json_int_t)a->started_wall);
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "t", "snapshot", "node",
                          (json_int_t)n->cfg.id, "at", (json_int_t)wr_node_wall_ms(), "poll_ms",
                          (json_int_t)WR_ADMIN_WS_POLL_MS, "cluster", self_view, "leader", leader,
                          "elections", elections, "members", list);
    if (o != NULL && a->leaderless_since != 0)
        json_object_set_new(o, "leaderless_since", json_integer((json_int_t)a->leaderless_since));
    return o;
}

/* Build one snapshot and send it to every live dashboard. */
static void push(struct wr_admin_ws *a, struct dash *only)
{
    struct wr_raft_node members[WR_ADMIN_WS_MAX_MEMBERS];
    size_t count = wr_raft_nodes(a->n->raft, members, WR_ADMIN_WS_MAX_MEMBERS);
    sync_peers(a, members, count);
    json_t *o = snapshot_json(a, members, count);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL) {
        wr_error("admin: could not encode a dashboard snapshot");
        return;
    }
    struct wr_msg *m = wr_msg_new(text, strlen(text));
    free(text);
    for (struct dash *d = a->dashes; d != NULL; d = d->next)
        if (d->live && (only == NULL || d == only))
            wr_conn_send_msg(d->c, m);
    wr_msg_unref(m);
}

static void tick_cb(uv_timer_t *t)
{
    struct wr_admin_ws *a = t->data;
    uint64_t now = uv_now(a->n->loop);
    bool any_live = false;
    for (struct dash *d = a->dashes; d != NULL; d = d->next) {
        any_live = any_live || d->live;
        if (!d->live && now - d->opened >= WR_ADMIN_WS_AUTH_MS && d->opened != 0) {
            wr_warn("admin: %s refused from %s: no token within %d s", WR_ADMIN_WS_PATH,
                    wr_conn_peer(d->c), WR_ADMIN_WS_AUTH_MS / 1000);
            d->opened = 0; /* closed once; on_close removes it */
            wr_conn_close(d->c, 1008, "send {\"t\":\"auth\",\"token\":...} first");
        }
    }
    if (!any_live)
        return;
    push(a, NULL);
    poll_peers(a);
}

/* ---- dashboards ------------------------------------------------------ */

static void start_timer(struct wr_admin_ws *a)
{
    if (!a->running && !a->stopped) {
        a->running = true;
        uv_timer_start(&a->timer, tick_cb, WR_ADMIN_WS_POLL_MS, WR_ADMIN_WS_POLL_MS);
    }
}

static void go_live(struct wr_admin_ws *a, struct dash *d)
{
    d->live = true;
    start_timer(a);
    if (!a->stopped) {
        push(a, d);
        poll_peers(a); /* so the next push has every member */
    }
}

void wr_admin_ws_open(struct wr_admin_ws *a, struct wr_conn *c)
{
    struct dash *d = wr_calloc(1, sizeof *d);
    d->a = a;
    d->c = c;
    d->opened = uv_now(a->n->loop);
    d->next = a->dashes;
    a->dashes = d;
    a->n_dashes++;
    wr_conn_set_data(c, d);
    wr_info("admin: dashboard %s connected (%zu open)", wr_conn_peer(c), a->n_dashes);
    if (a->n->admin.close_reads) {
        start_timer(a); /* for the auth deadline */
        wr_node_send_json(
            c, json_pack("{s:s, s:I}", "t", "auth_required", "node", (json_int_t)a->n->cfg.id));
        return;
    }
    go_live(a, d);
}

static void send_error(struct wr_conn *c, const char *msg)
{
    wr_node_send_json(c, json_pack("{s:s, s:s}", "t", "error", "error", msg));
}

/* {"t":"auth","token":T}: with reads closed it is the way in; with reads
 * open it only tells the page whether its token is right. */
static void on_auth(struct wr_admin_ws *a, struct dash *d, const char *token)
{
    struct wr_node *n = a->n;
    char header[WR_ADMIN_TOKEN_MAX + 16];
    bool fits = strlen(token) <= WR_ADMIN_TOKEN_MAX;
    snprintf(header, sizeof header, "Bearer %s", fits ? token : "");
    struct wr_http_request req = {.authorization = header, .peer = wr_conn_peer(d->c)};
    bool ok = fits && token[0] != '\0' && wr_admin_authorized(&n->admin, &req);
    if (!ok) {
        wr_warn("admin: %s refused from %s: %s", WR_ADMIN_WS_PATH, wr_conn_peer(d->c),
                !n->admin.configured ? "no token configured" : "wrong token");
        if (n->admin.close_reads) {
            send_error(d->c,
                       !n->admin.configured ? "this node has no admin token" : "wrong admin token");
            wr_conn_close(d->c, 1008, "wrong admin token");
        } else {
            wr_node_send_json(d->c, json_pack("{s:s, s:b, s:s}", "t", "auth", "ok", 0, "error",
                                              "wrong admin token"));
        }
        sodium_memzero(header, sizeof header);
        return;
    }
    if (n->admin.close_reads && a->auth[0] == '\0')
        memcpy(a->auth, header, sizeof a->auth);
    sodium_memzero(header, sizeof header);
    wr_node_send_json(d->c, json_pack("{s:s, s:b}", "t", "auth", "ok", 1));
    if (!d->live)
        go_live(a, d);
}

/* ---- the buttons' POSTs ----------------------------------------------
 *
 * The page sends {"t":"post","id":K,"path":P,"body":{...},"token":T} and
 * this node sends POST P with "Authorization: Bearer T" to its own HTTP
 * address, following one 307 to the leader ({"leader_http":...}, how the
 * membership endpoints answer on a follower), then answers
 * {"t":"result","id":K,"status":S,"body":...,"node":ADDR}; status 0 with
 * "error" when no answer came. The endpoint checks the token as for any
 * client. Why through the node: the page can reach its feed's node even
 * after its own origin died, and a browser cannot POST with a token to
 * another origin (the leader's) without CORS on every node. */

static const char *const relay_paths[] = {"/api/cluster/transfer", "/api/cluster/drain"};

static void relay_clear(struct relay *r)
{
    if (r->get != NULL)
        wr_http_get_cancel(r->get);
    r->get = NULL;
    free(r->body);
    r->body = NULL;
    sodium_memzero(r->auth, sizeof r->auth);
}

static void relay_result(struct dash *d, int http_status, json_t *body, const char *err)
{
    json_t *o = json_pack("{s:s, s:I, s:i, s:s}", "t", "result", "id", d->relay.id, "status",
                          http_status, "node", d->relay.addr);
    json_object_set_new(o, "body", body != NULL ? body : json_null());
    if (err != NULL)
        json_object_set_new(o, "error", json_string(err));
    relay_clear(&d->relay);
    wr_node_send_json(d->c, o);
}

static int relay_start(struct wr_admin_ws *a, struct dash *d, const char *addr);

static void relay_done(void *arg, int status, int http_status, const char *body, size_t len,
                       const char *err)
{
    struct dash *d = arg;
    struct relay *r = &d->relay;
    r->get = NULL;
    if (status < 0) {
        relay_result(d, 0, NULL, err);
        return;
    }
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *leader = json_string_value(json_object_get(j, "leader_http"));
    if (http_status == 307 && leader != NULL && r->hops == 0) {
        char addr[64];
        snprintf(addr, sizeof addr, "%s", leader);
        json_decref(j);
        r->hops = 1;
        relay_start(d->a, d, addr); /* on failure it has answered */
        return;
    }
    relay_result(d, http_status, j != NULL ? j : json_stringn(body, len), NULL);
}

/* Send the relay's request to @addr; 0, or -1 after answering the page. */
static int relay_start(struct wr_admin_ws *a, struct dash *d, const char *addr)
{
    struct relay *r = &d->relay;
    char err[160];
    snprintf(r->addr, sizeof r->addr, "%s", addr);
    if (wr_http_get_start(&r->get, a->n->loop, addr, "POST", r->path, r->auth, r->body,
                          WR_ADMIN_WS_RELAY_MS, relay_done, d, err, sizeof err) != 0) {
        r->get = NULL;
        relay_result(d, 0, NULL, err);
        return -1;
    }
    return 0;
}

static void on_post(struct wr_admin_ws *a, struct dash *d, json_t *m)
{
    struct relay *r = &d->relay;
    json_int_t id = json_integer_value(json_object_get(m, "id"));
    const char *path = json_string_value(json_object_get(m, "path"));
    const char *token = json_string_value(json_object_get(m, "token"));
    json_t *body = json_object_get(m, "body");
    bool allowed = false;
    for (size_t i = 0; path != NULL && i < sizeof relay_paths / sizeof relay_paths[0]; i++)
        allowed = allowed || strcmp(path, relay_paths[i]) == 0;
    const char *why = NULL;
    if (!allowed)
        why = "this node sends POSTs to /api/cluster/transfer and /api/cluster/drain only";
    else if (!json_is_object(body))
        why = "body must be a JSON object";
    else if (token != NULL && strlen(token) > WR_ADMIN_TOKEN_MAX)
        why = "token too long";
    else if (r->get != NULL)
        why = "another request of this page is in flight";
    if (why != NULL) {
        wr_node_send_json(d->c, json_pack("{s:s, s:I, s:i, s:s}", "t", "result", "id", id, "status",
                                          0, "error", why));
        return;
    }
    relay_clear(r);
    r->id = id;
    r->hops = 0;
    snprintf(r->path, sizeof r->path, "%s", path);
    r->body = json_dumps(body, JSON_COMPACT);
    if (token != NULL && token[0] != '\0')
        snprintf(r->auth, sizeof r->auth, "Bearer %s", token);
    wr_info("admin: dashboard %s sends POST %s through this node", wr_conn_peer(d->c), path);
    relay_start(a, d, a->n->cfg.http);
}

void wr_admin_ws_message(struct wr_admin_ws *a, struct wr_conn *c, const char *data, size_t len)
{
    struct dash *d = wr_conn_data(c);
    json_t *m = json_loadb(data, len, 0, NULL);
    const char *t = json_string_value(json_object_get(m, "t"));
    const char *token = json_string_value(json_object_get(m, "token"));
    if (t != NULL && strcmp(t, "auth") == 0 && token != NULL)
        on_auth(a, d, token);
    else if (t != NULL && strcmp(t, "post") == 0 && !a->stopped)
        on_post(a, d, m);
    else
        send_error(c, "expected {\"t\":\"auth\",\"token\":...} or {\"t\":\"post\",...}");
    json_decref(m);
}

void wr_admin_ws_close(struct wr_admin_ws *a, struct wr_conn *c)
{
    struct dash *d = wr_conn_data(c);
    for (struct dash **pp = &a->dashes; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    }
    relay_clear(&d->relay);
    free(d);
    a->n_dashes--;
    wr_info("admin: dashboard %s left (%zu open)", wr_conn_peer(c), a->n_dashes);
    if (a->n_dashes == 0) {
        /* Nobody watches: stop polling, forget the borrowed token. */
        if (a->running && !a->stopped)
            uv_timer_stop(&a->timer);
        a->running = false;
        for (size_t i = 0; i < WR_ADMIN_WS_MAX_MEMBERS && !a->stopped; i++) {
            if (a->peers[i].get != NULL)
                wr_http_get_cancel(a->peers[i].get);
            a->peers[i].get = NULL;
            a->peers[i].polled = false; /* stale by the next dashboard */
        }
        sodium_memzero(a->auth, sizeof a->auth);
    }
}
