/* Live membership; see membership.h.
 *
 * Lifetimes: an ask (client request) lives until its callback has run, its
 * dial has completed and its handles are closed; a served connection until
 * its handles are closed and the libraft change it waits for (JOIN) has
 * called back. Each counts itself in m->busy (service asks and connections)
 * so wr_members_destroy can free the service once nothing refers to it. */
#include "cluster/membership.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"

#define FRAME_VERSION 1
#define SERVE_DEADLINE_MS 3000
#define ASK_TIMEOUT_MS 1500
#define CHECK_EVERY_MS 1000
#define PROMOTE_EVERY_MS 1000

/* ---- codec ---------------------------------------------------------- */

static void put_str(struct wr_writer *w, const char *s)
{
    size_t n = strnlen(s, 255);
    wr_put_u8(w, (uint8_t)n);
    wr_put_bytes(w, s, n);
}

static int get_str(struct wr_reader *r, char *out, size_t cap)
{
    uint8_t n = wr_get_u8(r);
    const uint8_t *p = wr_get_bytes(r, n);
    if (p == NULL || (size_t)n + 1 > cap || memchr(p, '\0', n) != NULL)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static size_t frame_begin(struct wr_writer *w)
{
    size_t at = w->len;
    wr_put_u32(w, 0);
    wr_put_u8(w, FRAME_VERSION);
    return at;
}

static void frame_end(struct wr_writer *w, size_t at)
{
    uint32_t n = (uint32_t)(w->len - at - 4);
    for (int i = 0; i < 4; i++)
        w->base[at + (size_t)i] = (uint8_t)(n >> (8 * i));
}

void wr_member_encode_request(struct wr_writer *w, const struct wr_member_request *q)
{
    size_t at = frame_begin(w);
    wr_put_u8(w, q->op);
    wr_put_u64(w, q->id);
    put_str(w, q->address);
    put_str(w, q->http);
    wr_put_bytes(w, q->cluster_id, WR_CLUSTER_ID_BYTES);
    frame_end(w, at);
}

int wr_member_decode_request(const uint8_t *p, size_t len, struct wr_member_request *q)
{
    struct wr_reader r;
    wr_reader_init(&r, p, len);
    memset(q, 0, sizeof *q);
    if (wr_get_u8(&r) != FRAME_VERSION)
        return -1;
    q->op = wr_get_u8(&r);
    q->id = wr_get_u64(&r);
    if (get_str(&r, q->address, sizeof q->address) != 0 || get_str(&r, q->http, sizeof q->http))
        return -1;
    const uint8_t *cid = wr_get_bytes(&r, WR_CLUSTER_ID_BYTES);
    if (cid == NULL || r.err || r.left != 0 || q->op < WR_MOP_IDENTIFY || q->op > WR_MOP_REMOVED)
        return -1;
    memcpy(q->cluster_id, cid, WR_CLUSTER_ID_BYTES);
    return 0;
}

void wr_member_encode_answer(struct wr_writer *w, const struct wr_member_answer *a)
{
    size_t at = frame_begin(w);
    wr_put_u8(w, a->status);
    wr_put_bytes(w, a->cluster_id, WR_CLUSTER_ID_BYTES);
    wr_put_u8(w, a->membership);
    wr_put_u8(w, (uint8_t)((a->from_leader ? 1 : 0) | (a->voter ? 2 : 0)));
    wr_put_u64(w, a->answer_id);
    wr_put_u64(w, a->leader_id);
    put_str(w, a->leader_address);
    put_str(w, a->message);
    frame_end(w, at);
}

int wr_member_decode_answer(const uint8_t *p, size_t len, struct wr_member_answer *a)
{
    struct wr_reader r;
    wr_reader_init(&r, p, len);
    memset(a, 0, sizeof *a);
    if (wr_get_u8(&r) != FRAME_VERSION)
        return -1;
    a->status = wr_get_u8(&r);
    const uint8_t *cid = wr_get_bytes(&r, WR_CLUSTER_ID_BYTES);
    if (cid == NULL)
        return -1;
    memcpy(a->cluster_id, cid, WR_CLUSTER_ID_BYTES);
    a->membership = wr_get_u8(&r);
    uint8_t flags = wr_get_u8(&r);
    a->from_leader = flags & 1;
    a->voter = (flags & 2) != 0;
    a->answer_id = wr_get_u64(&r);
    a->leader_id = wr_get_u64(&r);
    if (get_str(&r, a->leader_address, sizeof a->leader_address) != 0 ||
        get_str(&r, a->message, sizeof a->message) != 0)
        return -1;
    if (r.err || r.left != 0 || a->status > WR_MST_BUSY || a->membership > WR_MSHIP_ADDRESS_TAKEN)
        return -1;
    return 0;
}

bool wr_cluster_id_is_zero(const uint8_t id[WR_CLUSTER_ID_BYTES])
{
    for (int i = 0; i < WR_CLUSTER_ID_BYTES; i++)
        if (id[i] != 0)
            return false;
    return true;
}

void wr_cluster_id_hex(const uint8_t id[WR_CLUSTER_ID_BYTES], char out[33])
{
    for (int i = 0; i < WR_CLUSTER_ID_BYTES; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int wr_cluster_id_parse(const char *s, uint8_t id[WR_CLUSTER_ID_BYTES])
{
    uint8_t out[WR_CLUSTER_ID_BYTES];
    for (int i = 0; i < WR_CLUSTER_ID_BYTES; i++) {
        int hi = hexval(s[2 * i]), lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    for (const char *p = s + 2 * WR_CLUSTER_ID_BYTES; *p; p++)
        if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
            return -1;
    memcpy(id, out, WR_CLUSTER_ID_BYTES);
    return 0;
}

/* ---- reading one frame ------------------------------------------------ */

struct frame_in {
    uint8_t buf[4 + WR_MEMBER_MAX_FRAME];
    size_t got;
};

/* 1: a whole frame is in; 0: need more; -1: too large. */
static int frame_ready(const struct frame_in *f, size_t *body_len)
{
    if (f->got < 4)
        return 0;
    uint32_t n = (uint32_t)f->buf[0] | (uint32_t)f->buf[1] << 8 | (uint32_t)f->buf[2] << 16 |
                 (uint32_t)f->buf[3] << 24;
    if (n > WR_MEMBER_MAX_FRAME)
        return -1;
    if (f->got < 4 + (size_t)n)
        return 0;
    *body_len = n;
    return 1;
}

/* Hand out exactly the bytes still missing (never more than the buffer;
 * a full buffer gives libuv a zero-length one, UV_ENOBUFS: closed). */
static void frame_alloc(struct frame_in *f, uv_buf_t *buf)
{
    size_t need = 4;
    if (f->got >= 4) {
        size_t n = (size_t)f->buf[0] | (size_t)f->buf[1] << 8 | (size_t)f->buf[2] << 16 |
                   (size_t)f->buf[3] << 24;
        need = n > WR_MEMBER_MAX_FRAME ? sizeof f->buf : 4 + n;
    }
    size_t left = need > f->got ? need - f->got : 1;
    if (f->got + left > sizeof f->buf)
        left = sizeof f->buf - f->got;
    buf->base = (char *)f->buf + f->got;
    buf->len = left;
}

/* ---- client ----------------------------------------------------------- */

struct ask {
    uv_loop_t *loop;
    struct wr_dial dial;
    uv_tcp_t *tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    struct wr_writer out;
    struct frame_in in;
    wr_member_cb cb;
    void *arg;
    bool done;         /* cb has run */
    bool dial_pending; /* the transport still owes us the dial callback */
    int handles;       /* timer + tcp, while open */
    char address[64];
};

static void ask_maybe_free(struct ask *a)
{
    if (a->done && !a->dial_pending && a->handles == 0) {
        wr_writer_free(&a->out);
        free(a);
    }
}

static void ask_handle_closed(uv_handle_t *h)
{
    struct ask *a = h->data;
    if (h != (uv_handle_t *)&a->timer)
        free(h);
    a->handles--;
    ask_maybe_free(a);
}

static void ask_finish(struct ask *a, int status, const struct wr_member_answer *ans)
{
    if (a->done)
        return;
    a->done = true;
    if (!uv_is_closing((uv_handle_t *)&a->timer))
        uv_close((uv_handle_t *)&a->timer, ask_handle_closed);
    if (a->tcp != NULL && !uv_is_closing((uv_handle_t *)a->tcp))
        uv_close((uv_handle_t *)a->tcp, ask_handle_closed);
    a->cb(a->arg, status, ans);
}

static void ask_timeout_cb(uv_timer_t *t)
{
    ask_finish(t->data, UV_ETIMEDOUT, NULL);
}

static void ask_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ask *a = h->data;
    (void)suggested;
    frame_alloc(&a->in, buf);
}

static void ask_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct ask *a = s->data;
    (void)buf;
    if (a->done)
        return;
    if (nread < 0) {
        ask_finish(a, nread == UV_EOF ? UV_ECONNRESET : (int)nread, NULL);
        return;
    }
    a->in.got += (size_t)nread;
    size_t body;
    int ready = frame_ready(&a->in, &body);
    if (ready == 0)
        return;
    struct wr_member_answer ans;
    if (ready < 0 || wr_member_decode_answer(a->in.buf + 4, body, &ans) != 0) {
        wr_warn("membership: node at %s sent a malformed answer", a->address);
        ask_finish(a, UV_EPROTO, NULL);
        return;
    }
    uv_read_stop(s);
    ask_finish(a, 0, &ans);
}

static void ask_write_cb(uv_write_t *w, int status)
{
    struct ask *a = w->data;
    if (status != 0)
        ask_finish(a, status, NULL);
}

static void ask_dial_cb(struct wr_dial *req, uv_tcp_t *tcp, int status)
{
    struct ask *a = req->data;
    a->dial_pending = false;
    if (tcp != NULL) {
        tcp->data = a;
        a->handles++;
        if (a->done) {
            uv_close((uv_handle_t *)tcp, ask_handle_closed);
            return;
        }
        a->tcp = tcp;
    }
    if (a->done) {
        ask_maybe_free(a);
        return;
    }
    if (status != 0) {
        ask_finish(a, status, NULL);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)a->out.base, (unsigned)a->out.len);
    a->wreq.data = a;
    int rv = uv_write(&a->wreq, (uv_stream_t *)tcp, &b, 1, ask_write_cb);
    if (rv == 0)
        rv = uv_read_start((uv_stream_t *)tcp, ask_alloc_cb, ask_read_cb);
    if (rv != 0)
        ask_finish(a, rv, NULL);
}

int wr_member_ask(struct raft_uv_transport *t, uv_loop_t *loop, uint64_t id, const char *address,
                  const struct wr_member_request *q, unsigned timeout_ms, wr_member_cb cb,
                  void *arg)
{
    struct ask *a = wr_calloc(1, sizeof *a);
    a->loop = loop;
    a->cb = cb;
    a->arg = arg;
    snprintf(a->address, sizeof a->address, "%s", address);
    wr_writer_init(&a->out, 256);
    wr_member_encode_request(&a->out, q);
    a->dial.data = a;
    int rv = wr_transport_dial_chan(t, &a->dial, WR_CHAN_MEMBER, id, address, ask_dial_cb);
    if (rv != 0) {
        wr_writer_free(&a->out);
        free(a);
        return rv;
    }
    a->dial_pending = true;
    uv_timer_init(loop, &a->timer);
    a->timer.data = a;
    a->handles = 1;
    uv_timer_start(&a->timer, ask_timeout_cb, timeout_ms, 0);
    return 0;
}

/* ---- the service ------------------------------------------------------ */

struct wr_members {
    uv_loop_t *loop;
    struct wr_raft *raft;
    struct wr_members_hooks hooks;
    uint64_t id;
    char address[64];
    char http[64];
    unsigned election_timeout_ms;
    bool wants_vote;
    uint64_t contact_id;
    char contact_address[64];
    bool closing;
    unsigned busy; /* asks and connections in flight */

    uint64_t leaderless_since;
    bool check_now;
    unsigned checks_in_flight;
    uint64_t last_check;
    bool removed;
    bool promote_in_flight;
    uint64_t last_promote;
    uint64_t last_promote_warn;
};

static void members_release(struct wr_members *m)
{
    m->busy--;
    if (m->closing && m->busy == 0)
        free(m);
}

struct wr_members *wr_members_create(uv_loop_t *loop, struct wr_raft *raft,
                                     const struct wr_members_config *cfg,
                                     const struct wr_members_hooks *hooks)
{
    struct wr_members *m = wr_calloc(1, sizeof *m);
    m->loop = loop;
    m->raft = raft;
    m->hooks = *hooks;
    m->id = cfg->id;
    snprintf(m->address, sizeof m->address, "%s", cfg->address);
    snprintf(m->http, sizeof m->http, "%s", cfg->http ? cfg->http : "");
    m->election_timeout_ms = cfg->election_timeout_ms;
    m->wants_vote = cfg->wants_vote;
    m->contact_id = cfg->contact_id;
    if (cfg->contact_address != NULL)
        snprintf(m->contact_address, sizeof m->contact_address, "%s", cfg->contact_address);
    return m;
}

void wr_members_destroy(struct wr_members *m)
{
    if (m == NULL)
        return;
    m->closing = true;
    if (m->busy == 0)
        free(m);
}

static void request_init(struct wr_members *m, struct wr_member_request *q, uint8_t op)
{
    memset(q, 0, sizeof *q);
    q->op = op;
    q->id = m->id;
    snprintf(q->address, sizeof q->address, "%s", m->address);
    snprintf(q->http, sizeof q->http, "%s", m->http);
    m->hooks.cluster_id(m->hooks.data, q->cluster_id);
}

/* ---- serving a request ---- */

struct mconn {
    struct wr_members *m;
    uv_tcp_t *tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    struct frame_in in;
    struct wr_writer out;
    struct wr_member_request q;
    int handles;
    bool change_pending; /* waiting for libraft's callback (JOIN) */
    bool closing;
    bool answered;
};

static void mconn_maybe_free(struct mconn *c)
{
    if (c->handles > 0 || c->change_pending)
        return;
    struct wr_members *m = c->m;
    wr_writer_free(&c->out);
    free(c);
    members_release(m);
}

static void mconn_closed(uv_handle_t *h)
{
    struct mconn *c = h->data;
    if (h == (uv_handle_t *)c->tcp)
        free(h);
    c->handles--;
    mconn_maybe_free(c);
}

static void mconn_close(struct mconn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->timer, mconn_closed);
    uv_close((uv_handle_t *)c->tcp, mconn_closed);
}

static void mconn_written(uv_write_t *w, int status)
{
    (void)status;
    mconn_close(w->data);
}

static void mconn_answer(struct mconn *c, const struct wr_member_answer *a)
{
    if (c->closing || c->answered)
        return;
    c->answered = true;
    wr_member_encode_answer(&c->out, a);
    uv_buf_t b = uv_buf_init((char *)c->out.base, (unsigned)c->out.len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)c->tcp, &b, 1, mconn_written) != 0)
        mconn_close(c);
}

/* The common part of every answer: our cluster id, the leader, and where
 * the asker stands in our configuration. */
static void answer_init(struct wr_members *m, const struct wr_member_request *q,
                        struct wr_member_answer *a)
{
    memset(a, 0, sizeof *a);
    m->hooks.cluster_id(m->hooks.data, a->cluster_id);
    a->answer_id = m->id;
    struct wr_raft_status st;
    wr_raft_get_status(m->raft, &st);
    a->from_leader = st.role == WR_ROLE_LEADER;
    a->leader_id = st.leader_id;
    snprintf(a->leader_address, sizeof a->leader_address, "%s", st.leader_address);
    a->membership = WR_MSHIP_NONE;
    size_t n = wr_raft_node_count(m->raft);
    for (size_t i = 0; i < n; i++) {
        struct wr_raft_node nd;
        wr_raft_nodes_at(m->raft, i, &nd);
        if (nd.id == q->id) {
            a->membership =
                strcmp(nd.address, q->address) == 0 ? WR_MSHIP_SAME : WR_MSHIP_OTHER_ADDRESS;
            a->voter = nd.voter;
            break;
        }
        if (strcmp(nd.address, q->address) == 0)
            a->membership = WR_MSHIP_ADDRESS_TAKEN;
    }
}

/* A request from another cluster (both ids known and different) is refused
 * whatever it asks. */
static bool other_cluster(const struct wr_member_request *q, const struct wr_member_answer *a)
{
    return !wr_cluster_id_is_zero(q->cluster_id) && !wr_cluster_id_is_zero(a->cluster_id) &&
           memcmp(q->cluster_id, a->cluster_id, WR_CLUSTER_ID_BYTES) != 0;
}

static void join_done(void *arg, int status)
{
    struct mconn *c = arg;
    c->change_pending = false;
    struct wr_member_answer a;
    answer_init(c->m, &c->q, &a);
    if (status == 0) {
        wr_info("membership: node %llu (%s, http %s) added as a spare; it becomes a voter once "
                "it has caught up",
                (unsigned long long)c->q.id, c->q.address, c->q.http);
        a.status = WR_MST_OK;
    } else {
        wr_warn("membership: adding node %llu (%s) failed: %s", (unsigned long long)c->q.id,
                c->q.address, wr_raft_strerror(status));
        a.status = status == WR_EBUSY || status == WR_ELOST || status == WR_ENOTLEADER
                       ? WR_MST_BUSY
                       : WR_MST_REFUSED;
        snprintf(a.message, sizeof a.message, "%s", wr_raft_strerror(status));
    }
    mconn_answer(c, &a);
    mconn_maybe_free(c);
}

struct promotion {
    struct wr_members *m;
    uint64_t id;
};

static void promote_done(void *arg, int status)
{
    struct promotion *p = arg;
    if (status != 0)
        wr_warn("membership: promoting node %llu to voter failed: %s (it asks again)",
                (unsigned long long)p->id, wr_raft_strerror(status));
    else
        wr_info("membership: node %llu is a voter now", (unsigned long long)p->id);
    members_release(p->m);
    free(p);
}

static void serve(struct mconn *c)
{
    struct wr_members *m = c->m;
    const struct wr_member_request *q = &c->q;
    struct wr_member_answer a;
    answer_init(m, q, &a);
    char theirs[33], ours[33];
    wr_cluster_id_hex(q->cluster_id, theirs);
    wr_cluster_id_hex(a.cluster_id, ours);
    if (q->op != WR_MOP_IDENTIFY && other_cluster(q, &a)) {
        wr_warn("membership: refused node %llu (%s): it belongs to cluster %s, this is cluster %s",
                (unsigned long long)q->id, q->address, theirs, ours);
        a.status = WR_MST_REFUSED;
        snprintf(a.message, sizeof a.message,
                 "node %llu at %s belongs to cluster %s, not to this node's cluster %s",
                 (unsigned long long)m->id, m->address, ours, theirs);
        mconn_answer(c, &a);
        return;
    }
    switch (q->op) {
    case WR_MOP_IDENTIFY:
        a.status = WR_MST_OK;
        break;
    case WR_MOP_REMOVED:
        wr_info("membership: node %llu says this node was removed from the cluster; checking",
                (unsigned long long)q->id);
        m->check_now = true;
        a.status = WR_MST_OK;
        break;
    case WR_MOP_JOIN:
    case WR_MOP_PROMOTE:
        if (!a.from_leader) {
            a.status = WR_MST_NOT_LEADER;
            break;
        }
        if (q->op == WR_MOP_JOIN && a.membership == WR_MSHIP_SAME) {
            a.status = WR_MST_OK; /* joined before (an answer lost, a restart) */
            break;
        }
        if (a.membership == WR_MSHIP_OTHER_ADDRESS || a.membership == WR_MSHIP_ADDRESS_TAKEN) {
            struct wr_raft_node nd;
            a.status = WR_MST_REFUSED;
            if (a.membership == WR_MSHIP_OTHER_ADDRESS && wr_raft_node_find(m->raft, q->id, &nd))
                snprintf(a.message, sizeof a.message,
                         "node id %llu is already a member with address %s: pick another --id, "
                         "or remove node %llu first",
                         (unsigned long long)q->id, nd.address, (unsigned long long)q->id);
            else
                snprintf(a.message, sizeof a.message,
                         "address %s is already used by another member: pick another --cluster "
                         "address, or remove that member first",
                         q->address);
            break;
        }
        if (q->op == WR_MOP_PROMOTE) {
            if (a.membership != WR_MSHIP_SAME) {
                a.status = WR_MST_REFUSED;
                snprintf(a.message, sizeof a.message,
                         "node %llu at %s is not a member: add it first (warren ctl add-node, or "
                         "warren node --join)",
                         (unsigned long long)q->id, q->address);
                break;
            }
            if (a.voter) {
                a.status = WR_MST_OK;
                break;
            }
            struct promotion *p = wr_malloc(sizeof *p);
            p->m = m;
            p->id = q->id;
            m->busy++;
            int rv = wr_raft_promote(m->raft, q->id, promote_done, p);
            if (rv != 0) {
                free(p);
                m->busy--;
                a.status = rv == WR_EBUSY || rv == WR_ENOTLEADER ? WR_MST_BUSY : WR_MST_REFUSED;
                snprintf(a.message, sizeof a.message, "%s", wr_raft_strerror(rv));
                break;
            }
            wr_info("membership: promoting node %llu (%s) to voter once it has caught up",
                    (unsigned long long)q->id, q->address);
            a.status = WR_MST_OK;
            break;
        }
        /* JOIN of a new (id, address) */
        {
            c->change_pending = true;
            int rv = wr_raft_add(m->raft, q->id, q->address, join_done, c);
            if (rv == 0)
                return; /* answered from join_done */
            c->change_pending = false;
            a.status = rv == WR_EBUSY ? WR_MST_BUSY : WR_MST_REFUSED;
            snprintf(a.message, sizeof a.message, "%s", wr_raft_strerror(rv));
        }
        break;
    default:
        a.status = WR_MST_REFUSED;
        snprintf(a.message, sizeof a.message, "unknown request");
        break;
    }
    mconn_answer(c, &a);
}

static void mconn_timeout_cb(uv_timer_t *t)
{
    struct mconn *c = t->data;
    if (!c->answered)
        wr_warn("membership: a request from a cluster peer took longer than %d ms; closed",
                SERVE_DEADLINE_MS);
    mconn_close(c);
}

static void mconn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct mconn *c = h->data;
    (void)suggested;
    frame_alloc(&c->in, buf);
}

static void mconn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct mconn *c = s->data;
    (void)buf;
    if (nread < 0) {
        mconn_close(c);
        return;
    }
    c->in.got += (size_t)nread;
    size_t body;
    int ready = frame_ready(&c->in, &body);
    if (ready == 0)
        return;
    uv_read_stop(s);
    if (ready < 0 || wr_member_decode_request(c->in.buf + 4, body, &c->q) != 0) {
        wr_warn("membership: malformed request from a cluster peer; closed");
        mconn_close(c);
        return;
    }
    serve(c);
}

void wr_members_accept(struct wr_members *m, uint64_t peer, uv_tcp_t *tcp)
{
    (void)peer;
    if (m->closing) {
        uv_close((uv_handle_t *)tcp, (uv_close_cb)free);
        return;
    }
    struct mconn *c = wr_calloc(1, sizeof *c);
    c->m = m;
    c->tcp = tcp;
    tcp->data = c;
    wr_writer_init(&c->out, 256);
    uv_timer_init(m->loop, &c->timer);
    c->timer.data = c;
    c->handles = 2;
    m->busy++;
    uv_timer_start(&c->timer, mconn_timeout_cb, SERVE_DEADLINE_MS, 0);
    if (uv_read_start((uv_stream_t *)tcp, mconn_alloc_cb, mconn_read_cb) != 0)
        mconn_close(c);
}

/* ---- duties ---- */

static void check_cb(void *arg, int status, const struct wr_member_answer *a)
{
    struct wr_members *m = arg;
    m->checks_in_flight--;
    if (!m->closing && status == 0 && !m->removed && a->from_leader &&
        a->membership != WR_MSHIP_SAME) {
        uint8_t ours[WR_CLUSTER_ID_BYTES];
        m->hooks.cluster_id(m->hooks.data, ours);
        if (wr_cluster_id_is_zero(ours) || wr_cluster_id_is_zero(a->cluster_id) ||
            memcmp(ours, a->cluster_id, WR_CLUSTER_ID_BYTES) == 0) {
            m->removed = true;
            m->hooks.on_removed(m->hooks.data, a->answer_id);
        }
    }
    members_release(m);
}

/* Still a member? Asked when no leader has talked to us for a while (a
 * removed node is never told by libraft: the leader just stops sending),
 * or at once when the leader says we were removed. Only the leader's
 * answer counts: a follower may not have applied the change yet. */
static void check_membership(struct wr_members *m, const struct wr_raft_status *st, uint64_t now)
{
    if (m->removed || !wr_raft_node_find(m->raft, m->id, NULL))
        return; /* not in our own configuration: a joined node not yet caught up */
    if (st->leader_id != 0 && st->role != WR_ROLE_LEADER)
        m->leaderless_since = 0;
    else if (st->leader_id == 0 && m->leaderless_since == 0)
        m->leaderless_since = now;
    uint64_t after = 2 * (uint64_t)m->election_timeout_ms;
    if (after < 1000)
        after = 1000;
    bool due = m->check_now || (m->leaderless_since != 0 && now - m->leaderless_since >= after);
    if (!due || m->checks_in_flight > 0 || now - m->last_check < CHECK_EVERY_MS)
        return;
    m->check_now = false;
    m->last_check = now;
    struct wr_member_request q;
    request_init(m, &q, WR_MOP_IDENTIFY);
    size_t n = wr_raft_node_count(m->raft);
    for (size_t i = 0; i < n; i++) {
        struct wr_raft_node nd;
        wr_raft_nodes_at(m->raft, i, &nd);
        if (nd.id == m->id)
            continue;
        m->busy++;
        m->checks_in_flight++;
        if (wr_member_ask(wr_raft_transport(m->raft), m->loop, nd.id, nd.address, &q,
                          ASK_TIMEOUT_MS, check_cb, m) != 0) {
            m->busy--;
            m->checks_in_flight--;
        }
    }
}

static void promote_cb(void *arg, int status, const struct wr_member_answer *a)
{
    struct wr_members *m = arg;
    m->promote_in_flight = false;
    if (!m->closing && status == 0) {
        if (a->status == WR_MST_NOT_LEADER && a->leader_id != 0 && a->leader_address[0]) {
            m->contact_id = a->leader_id;
            snprintf(m->contact_address, sizeof m->contact_address, "%s", a->leader_address);
            m->last_promote = 0; /* ask the leader now */
        } else if (a->status == WR_MST_REFUSED) {
            uint64_t now = uv_now(m->loop);
            if (m->last_promote_warn == 0 || now - m->last_promote_warn >= 10000) {
                m->last_promote_warn = now;
                wr_warn("membership: the leader refuses to make this node a voter: %s", a->message);
            }
        }
    }
    members_release(m);
}

/* A node that joined asks the leader to make it a voter until its own
 * configuration says it is one. */
static void request_vote(struct wr_members *m, const struct wr_raft_status *st, uint64_t now)
{
    struct wr_raft_node self;
    bool listed = wr_raft_node_find(m->raft, m->id, &self);
    if (listed && self.voter) {
        if (m->wants_vote)
            wr_info("membership: this node is a voter now");
        m->wants_vote = false;
        return;
    }
    if (!m->wants_vote && !listed)
        return;
    if (m->promote_in_flight || (m->last_promote != 0 && now - m->last_promote < PROMOTE_EVERY_MS))
        return;
    uint64_t to = m->contact_id;
    const char *address = m->contact_address;
    if (st->leader_id != 0 && st->leader_id != m->id && st->leader_address[0]) {
        to = st->leader_id;
        address = st->leader_address;
    }
    if (address[0] == '\0')
        return;
    m->last_promote = now;
    struct wr_member_request q;
    request_init(m, &q, WR_MOP_PROMOTE);
    m->busy++;
    m->promote_in_flight = true;
    if (wr_member_ask(wr_raft_transport(m->raft), m->loop, to, address, &q, ASK_TIMEOUT_MS,
                      promote_cb, m) != 0) {
        m->busy--;
        m->promote_in_flight = false;
    }
}

void wr_members_tick(struct wr_members *m)
{
    if (m->closing)
        return;
    struct wr_raft_status st;
    wr_raft_get_status(m->raft, &st);
    uint64_t now = uv_now(m->loop);
    request_vote(m, &st, now);
    check_membership(m, &st, now);
}

static void told_cb(void *arg, int status, const struct wr_member_answer *a)
{
    (void)status;
    (void)a;
    members_release(arg);
}

void wr_members_tell_removed(struct wr_members *m, uint64_t id, const char *address)
{
    if (m->closing)
        return;
    struct wr_member_request q;
    request_init(m, &q, WR_MOP_REMOVED);
    m->busy++;
    if (wr_member_ask(wr_raft_transport(m->raft), m->loop, id, address, &q, ASK_TIMEOUT_MS, told_cb,
                      m) != 0)
        m->busy--;
}
