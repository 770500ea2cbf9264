/* The proposer; see proposer.h.
 *
 * Pending commands live in a ring indexed by ever-growing positions
 * [head, tail). An applied command is marked done where it stands and the
 * head skips done slots, so removal is O(1) and order is kept. `send_pos`
 * says how far the ring has been sent in the current send epoch: a new
 * leader, a new forward connection or a resend sets it back to head.
 *
 * Forward frames (follower -> leader, after the transport's handshake) are
 * in fwd_frame.h. The leader checks every command decodes and carries the
 * sender's authenticated node id, then batches it like its own. There is no
 * reply: the sender sees the outcome when it applies the entry. */
#include "cluster/proposer.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/fwd_frame.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/u64map.h"

#define TICK_MS 50
#define REDIAL_MS 100
#define MAX_FRAME WR_FWD_MAX_BODY
#define MAX_IN_CONNS 64

struct pending {
    uint64_t session;
    uint32_t seq;
    bool live;
    uint8_t *bytes;
    size_t len;
    uint64_t first_ms; /* submitted (loop time) */
    uint64_t first_ns; /* submitted (uv_hrtime), for the latency histogram */
    uint64_t sent_ms;  /* last sent (loop time), 0 = never */
};

struct batch {
    struct wr_writer cmds;
    uint32_t count;
};

struct fwd_in {
    struct wr_proposer *p;
    uv_tcp_t *tcp;
    uint64_t peer;
    struct wr_writer buf;
    bool closing;
};

struct wr_proposer {
    uv_loop_t *loop;
    struct wr_raft *raft; /* NULL with wr__proposer_create_with */
    struct wr_proposer_ops ops;
    struct wr_proposer_config cfg;
    struct wr_proposer_hooks hooks;
    struct wr_proposer_stats stats;

    /* origin side */
    struct pending *ring;
    size_t cap; /* power of two */
    uint64_t head, tail, send_pos;
    struct wr_u64map index; /* key(session, seq) -> slot */

    /* leadership as last seen */
    enum wr_role role;
    uint64_t leader_id;
    char leader_address[64];
    uint64_t term;
    bool ready;         /* leader whose barrier committed in `term` */
    bool barrier_sent;

    /* leader side */
    struct wr_writer prio; /* setup commands */
    uint32_t prio_count;
    struct batch *batches; /* sealed + open (last) */
    size_t n_batches, cap_batches;
    unsigned inflight;

    /* forward connection to the leader (follower side) */
    uv_tcp_t *out;
    uint64_t out_peer;
    struct wr_dial dial;
    uint64_t dial_peer; /* whom the dial in flight goes to */
    bool dialing;
    uint64_t redial_at;
    struct wr_writer outbuf; /* commands for the next frame */
    uint32_t out_count;

    struct fwd_in *in[MAX_IN_CONNS];

    uv_check_t flush;
    uv_timer_t tick;
    int open_handles;
    bool destroying;
    bool quiet; /* libraft is stopping: start nothing that uses it */
    void (*destroy_cb)(void *);
    void *destroy_arg;
};

void wr_proposer_config_default(struct wr_proposer_config *c)
{
    memset(c, 0, sizeof *c);
    c->max_pending = 8192;
    c->queue_timeout_ms = 5000;
    c->resend_ms = 1000;
    c->max_entry_bytes = 64 * 1024;
    c->max_inflight = 4;
}

static uint64_t pkey(uint64_t session, uint32_t seq)
{
    uint64_t k = session ^ ((uint64_t)seq * 0x9E3779B97F4A7C15ull);
    return k ? k : 1;
}

static struct pending *slot(struct wr_proposer *p, uint64_t pos)
{
    return &p->ring[pos & (p->cap - 1)];
}

static uint64_t now_ms(const struct wr_proposer *p)
{
    return p->ops.now_ms(p->ops.data);
}

/* ---- the node's ops (wr_proposer_create): data is the proposer -------- */

static uint64_t node_now_ms(void *data)
{
    struct wr_proposer *p = data;
    return uv_now(p->loop);
}

static uint64_t node_wall_ms(void *data)
{
    struct timespec ts;
    (void)data;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int node_propose(void *data, const void *entry, size_t len, wr_raft_done_cb cb, void *arg)
{
    struct wr_proposer *p = data;
    return wr_raft_propose(p->raft, entry, len, cb, arg);
}

static int node_barrier(void *data, wr_raft_done_cb cb, void *arg)
{
    struct wr_proposer *p = data;
    return wr_raft_barrier(p->raft, cb, arg);
}

static int node_notify(void *data)
{
    struct wr_proposer *p = data;
    return wr_raft_notify_commit(p->raft);
}

static int node_dial(void *data, struct wr_dial *req, uint64_t id, const char *address,
                     wr_dial_cb cb)
{
    struct wr_proposer *p = data;
    return wr_transport_dial(wr_raft_transport(p->raft), req, id, address, cb);
}

/* ---- origin side: the pending ring ---------------------------------- */

static void pending_done(struct wr_proposer *p, struct pending *e)
{
    wr_u64map_del(&p->index, pkey(e->session, e->seq));
    free(e->bytes);
    e->bytes = NULL;
    e->live = false;
    p->stats.pending--;
    while (p->head < p->tail && !slot(p, p->head)->live)
        p->head++;
    if (p->send_pos < p->head)
        p->send_pos = p->head;
}

static struct pending *pending_find(struct wr_proposer *p, uint64_t session, uint32_t seq)
{
    uint32_t i;
    if (!wr_u64map_get(&p->index, pkey(session, seq), &i))
        return NULL;
    struct pending *e = &p->ring[i];
    if (e->live && e->session == session && e->seq == seq)
        return e;
    /* A key collision: look the slow way. */
    for (uint64_t pos = p->head; pos < p->tail; pos++) {
        e = slot(p, pos);
        if (e->live && e->session == session && e->seq == seq)
            return e;
    }
    return NULL;
}

int wr_proposer_submit(struct wr_proposer *p, const struct wr_cmd *cmd)
{
    if (p->stats.pending >= p->cfg.max_pending || p->tail - p->head >= p->cap) {
        p->stats.rejected_full++;
        return -1;
    }
    struct wr_writer w;
    wr_writer_init(&w, WR_CMD_HEADER_BYTES + cmd->len);
    wr_cmd_encode(&w, cmd);
    uint64_t pos = p->tail++;
    struct pending *e = slot(p, pos);
    e->session = cmd->session;
    e->seq = cmd->seq;
    e->live = true;
    e->bytes = wr_writer_take(&w, &e->len);
    e->first_ms = now_ms(p);
    e->first_ns = uv_hrtime();
    e->sent_ms = 0;
    wr_u64map_put(&p->index, pkey(cmd->session, cmd->seq), (uint32_t)(pos & (p->cap - 1)));
    p->stats.pending++;
    p->stats.submitted++;
    return 0;
}

void wr_proposer_on_verdict(struct wr_proposer *p, const struct wr_cmd *cmd, enum wr_verdict v)
{
    if (cmd->node != p->cfg.node_id || cmd->session == 0 || v == WR_GAP)
        return;
    struct pending *e = pending_find(p, cmd->session, cmd->seq);
    if (e != NULL) {
        wr_hist_observe_ns(&p->stats.command_latency, uv_hrtime() - e->first_ns);
        pending_done(p, e);
    }
}

static void expire_session(struct wr_proposer *p, uint64_t session)
{
    for (uint64_t pos = p->head; pos < p->tail; pos++) {
        struct pending *e = slot(p, pos);
        if (e->live && e->session == session) {
            p->stats.expired++;
            pending_done(p, e);
        }
    }
    if (p->hooks.on_expired)
        p->hooks.on_expired(p->hooks.data, session);
}

/* ---- leader side: batches ------------------------------------------- */

static struct batch *open_batch(struct wr_proposer *p, size_t need)
{
    struct batch *b = p->n_batches ? &p->batches[p->n_batches - 1] : NULL;
    /* With --seed every command is an entry of its own, so that its seed
     * depends on nothing but the command (wr_proposer_seed). */
    bool full = b != NULL && p->cfg.seed != 0 && b->count > 0;
    if (b != NULL && !full && b->cmds.len + need <= p->cfg.max_entry_bytes)
        return b;
    if (p->n_batches == p->cap_batches) {
        p->cap_batches = p->cap_batches ? p->cap_batches * 2 : 8;
        p->batches = wr_realloc(p->batches, p->cap_batches * sizeof *p->batches);
    }
    b = &p->batches[p->n_batches++];
    wr_writer_init(&b->cmds, 4096);
    b->count = 0;
    return b;
}

static void batch_add(struct wr_proposer *p, const void *bytes, size_t len)
{
    struct batch *b = open_batch(p, len);
    wr_put_bytes(&b->cmds, bytes, len);
    b->count++;
}

static void batches_clear(struct wr_proposer *p)
{
    for (size_t i = 0; i < p->n_batches; i++)
        wr_writer_free(&p->batches[i].cmds);
    p->n_batches = 0;
    p->prio.len = 0;
    p->prio_count = 0;
}

void wr_proposer_submit_setup(struct wr_proposer *p, const struct wr_cmd *cmd)
{
    wr_cmd_encode(&p->prio, cmd);
    p->prio_count++;
}

static void nudge_cb(void *arg, int status)
{
    (void)arg;
    (void)status;
}

/* One entry in flight: when it was proposed, for the commit latency. */
struct inflight {
    struct wr_proposer *p;
    uint64_t start_ns;
};

static void propose_cb(void *arg, int status)
{
    struct inflight *f = arg;
    struct wr_proposer *p = f->p;
    if (status == 0) {
        wr_hist_observe_ns(&p->stats.commit_latency, uv_hrtime() - f->start_ns);
    }
    free(f);
    p->inflight--;
    if (status != 0)
        wr_debug("proposer: an entry failed (%d); origins will resend", status);
    /* libraft tells followers the commit index only with the next
     * AppendEntries. When the log goes quiet, a heartbeat sent at once
     * carries it (or, where the glue cannot, a barrier), so clients on
     * followers see their moves a heartbeat sooner. */
    if (status == 0 && p->inflight == 0 && p->n_batches == 0 && p->role == WR_ROLE_LEADER &&
        !p->quiet && (p->ops.notify == NULL || p->ops.notify(p->ops.data) != 0))
        p->ops.barrier(p->ops.data, nudge_cb, NULL);
}

uint64_t wr_proposer_seed(uint64_t seed, const struct wr_cmd *cmd)
{
    uint8_t head[2] = {cmd->module, cmd->type}, h[crypto_generichash_BYTES_MIN];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, head, sizeof head);
    crypto_generichash_update(&st, cmd->payload, cmd->len);
    crypto_generichash_final(&st, h, sizeof h);
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x |= (uint64_t)h[i] << (8 * i);
    uint64_t s = seed ^ x;
    return wr_mix64(&s);
}

/* An entry's seed: random; with --seed, derived from its only command,
 * the first of the @a then @b bytes. */
static uint64_t entry_seed(const struct wr_proposer *p, const uint8_t *a, size_t alen,
                           const uint8_t *b, size_t blen)
{
    uint64_t seed;
    struct wr_cmd cmd;
    struct wr_reader r;
    if (p->cfg.seed == 0) {
        randombytes_buf(&seed, sizeof seed);
        return seed;
    }
    wr_reader_init(&r, alen > 0 ? a : b, alen > 0 ? alen : blen);
    if (wr_cmd_decode(&r, &cmd, WR_ENTRY_VERSION) != 0)
        return p->cfg.seed; /* cannot happen: these bytes were encoded here or checked */
    return wr_proposer_seed(p->cfg.seed, &cmd);
}

/* Propose the @count commands of @a then @b as one entry. Returns 0, or
 * the glue's error (then nothing was proposed). */
static int propose_entry(struct wr_proposer *p, const uint8_t *a, size_t alen, const uint8_t *b,
                         size_t blen, uint32_t count)
{
    uint64_t seed = entry_seed(p, a, alen, b, blen);
    struct wr_writer e;
    wr_writer_init(&e, WR_ENTRY_HEADER_BYTES + alen + blen);
    wr_entry_header(&e, p->ops.wall_ms(p->ops.data), seed, count);
    wr_put_bytes(&e, a, alen);
    wr_put_bytes(&e, b, blen);
    struct inflight *f = wr_malloc(sizeof *f);
    f->p = p;
    f->start_ns = uv_hrtime();
    int rv = p->ops.propose(p->ops.data, e.base, e.len, propose_cb, f);
    wr_writer_free(&e);
    if (rv != 0) {
        free(f);
        return rv;
    }
    p->inflight++;
    p->stats.entries++;
    p->stats.batched += count;
    return 0;
}

/* With --seed, setup commands too go one per entry, ahead of the batches. */
static int propose_setup_one_by_one(struct wr_proposer *p)
{
    struct wr_reader r;
    wr_reader_init(&r, p->prio.base, p->prio.len);
    int rv = 0;
    for (uint32_t i = 0; i < p->prio_count && rv == 0; i++) {
        const uint8_t *start = r.p;
        struct wr_cmd cmd;
        if (wr_cmd_decode(&r, &cmd, WR_ENTRY_VERSION) != 0)
            break; /* cannot happen: encoded by wr_proposer_submit_setup */
        rv = propose_entry(p, start, (size_t)(r.p - start), NULL, 0, 1);
    }
    p->prio.len = 0;
    p->prio_count = 0;
    return rv;
}

static void propose_batches(struct wr_proposer *p)
{
    if (!p->quiet && p->cfg.seed != 0 && p->prio_count > 0 &&
        propose_setup_one_by_one(p) != 0) {
        wr_debug("proposer: propose failed; dropping the batch");
        batches_clear(p);
        return;
    }
    while (!p->quiet && p->inflight < p->cfg.max_inflight && (p->n_batches > 0 || p->prio_count > 0)) {
        struct batch b = {.count = 0};
        if (p->n_batches > 0) {
            b = p->batches[0];
            memmove(&p->batches[0], &p->batches[1], (p->n_batches - 1) * sizeof *p->batches);
            p->n_batches--;
        }
        uint32_t count = b.count + p->prio_count;
        int rv = propose_entry(p, p->prio.base, p->prio.len, b.cmds.base, b.cmds.len, count);
        p->prio.len = 0;
        p->prio_count = 0;
        wr_writer_free(&b.cmds);
        if (rv != 0) {
            wr_debug("proposer: propose failed (%d); dropping the batch", rv);
            batches_clear(p);
            return;
        }
    }
}

/* ---- lifetime: handles, connections and dials in flight hold it ----- */

static void release(struct wr_proposer *p)
{
    if (--p->open_handles > 0 || !p->destroying)
        return;
    void (*cb)(void *) = p->destroy_cb;
    void *arg = p->destroy_arg;
    free(p);
    if (cb)
        cb(arg);
}

/* ---- follower side: the forward connection ------------------------- */

static void maybe_dial(struct wr_proposer *p);

static void out_closed_cb(uv_handle_t *h)
{
    struct wr_proposer *p = h->data;
    free(h);
    release(p);
}

static void close_out(struct wr_proposer *p)
{
    if (p->out == NULL)
        return;
    uv_close((uv_handle_t *)p->out, out_closed_cb);
    p->out = NULL;
    p->out_peer = 0;
    p->outbuf.len = 0;
    p->out_count = 0;
}

static void out_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char sink[256]; /* the leader never writes back; discard */
    (void)h;
    (void)suggested;
    buf->base = sink;
    buf->len = sizeof sink;
}

static void out_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct wr_proposer *p = s->data;
    (void)buf;
    if (n < 0 && (uv_tcp_t *)s == p->out) {
        uint64_t peer = p->out_peer;
        wr_info("proposer: forward connection to node %llu closed: %s", (unsigned long long)peer,
                uv_strerror((int)n));
        close_out(p);
        p->redial_at = now_ms(p) + REDIAL_MS;
        /* Closed by the leader's kernel: redial now, as a probe of whether
         * its process is still there (raft_early.c). */
        if (p->raft != NULL && wr_raft_leader_conn_lost(p->raft, peer, (int)n)) {
            p->redial_at = 0;
            maybe_dial(p);
        }
    }
}

static void dial_cb(struct wr_dial *req, uv_tcp_t *tcp, int status)
{
    struct wr_proposer *p = req->data;
    p->dialing = false;
    bool again = false; /* an inconclusive probe of the leader's port */
    if (p->raft != NULL && !p->destroying)
        again = wr_raft_leader_dial(p->raft, p->dial_peer, status);
    if (status != 0) {
        if (!p->destroying) {
            wr_debug("proposer: dial to leader failed: %s", uv_strerror(status));
            p->redial_at = again ? 0 : now_ms(p) + REDIAL_MS;
        }
        release(p); /* frees p only when destroying, and then again is false */
        if (again)
            maybe_dial(p);
        return;
    }
    tcp->data = p; /* the dial's hold passes to the connection */
    /* The leader may have changed while we dialled: a connection to the old
     * one must not be taken for one to the new (its frames would be
     * dropped, and nothing would ever redial). */
    if (p->destroying || p->role == WR_ROLE_LEADER || p->leader_id != p->dial_peer ||
        p->leader_id == p->cfg.node_id) {
        uv_close((uv_handle_t *)tcp, out_closed_cb);
        p->redial_at = 0;
        return;
    }
    close_out(p);
    p->out = tcp;
    p->out_peer = p->dial_peer;
    uv_read_start((uv_stream_t *)tcp, out_alloc_cb, out_read_cb);
    p->send_pos = p->head; /* new connection: send everything pending */
    wr_info("proposer: forwarding to leader %llu", (unsigned long long)p->out_peer);
}

static void maybe_dial(struct wr_proposer *p)
{
    if (p->quiet || p->dialing || p->role == WR_ROLE_LEADER || p->leader_id == 0 ||
        p->leader_id == p->cfg.node_id)
        return;
    if (p->out != NULL && p->out_peer == p->leader_id)
        return;
    if (now_ms(p) < p->redial_at)
        return;
    close_out(p);
    p->dial.data = p;
    p->dial_peer = p->leader_id;
    int rv = p->ops.dial(p->ops.data, &p->dial, p->leader_id, p->leader_address, dial_cb);
    if (rv == 0) {
        p->dialing = true;
        p->open_handles++;
    } else
        p->redial_at = now_ms(p) + REDIAL_MS;
}

static void write_done_cb(uv_write_t *req, int status)
{
    (void)status;
    free(req->data);
    free(req);
}

static void send_frame(struct wr_proposer *p)
{
    if (p->out_count == 0)
        return;
    size_t len = 8 + p->outbuf.len;
    uint8_t *frame = wr_malloc(len);
    wr__fwd_frame_header(frame, p->outbuf.len, p->out_count);
    memcpy(frame + 8, p->outbuf.base, p->outbuf.len);
    p->outbuf.len = 0;
    p->stats.forwarded_out += p->out_count;
    p->out_count = 0;
    uv_write_t *req = wr_malloc(sizeof *req);
    req->data = frame;
    uv_buf_t b = uv_buf_init((char *)frame, (unsigned)len);
    int rv = uv_write(req, (uv_stream_t *)p->out, &b, 1, write_done_cb);
    if (rv != 0) {
        free(frame);
        free(req);
        close_out(p);
        p->redial_at = now_ms(p) + REDIAL_MS;
    }
}

/* ---- leader side: forward connections in ---------------------------- */

static void in_closed_cb(uv_handle_t *h)
{
    struct fwd_in *c = h->data;
    struct wr_proposer *p = c->p;
    free(h);
    wr_writer_free(&c->buf);
    free(c);
    release(p);
}

static void close_in(struct fwd_in *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct wr_proposer *p = c->p;
    for (int i = 0; i < MAX_IN_CONNS; i++)
        if (p->in[i] == c)
            p->in[i] = NULL;
    uv_close((uv_handle_t *)c->tcp, in_closed_cb);
}

static void in_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct fwd_in *c = h->data;
    (void)suggested;
    buf->base = (char *)wr_writer_reserve(&c->buf, 65536);
    buf->len = 65536;
}

/* A checked frame (wr_fwd_frame_cb): batch its commands. Returns 0, or -1
 * to close the connection. */
static int take_frame(void *arg, const uint8_t *cmds, size_t len, uint32_t count)
{
    struct fwd_in *c = arg;
    struct wr_proposer *p = c->p;
    struct wr_reader r;
    wr_reader_init(&r, cmds, len);
    bool leading = p->role == WR_ROLE_LEADER;
    if (!leading) {
        /* The sender thinks we lead; we do not (any more). Closing tells it
         * at once: it redials whoever it now thinks leads, and resends. */
        wr_debug("proposer: frame from node %llu but not leader; closing",
                 (unsigned long long)c->peer);
        return -1;
    }
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *start = r.p;
        struct wr_cmd cmd;
        (void)wr_cmd_decode(&r, &cmd, WR_ENTRY_VERSION); /* checked by wr__fwd_frames */
        batch_add(p, start, (size_t)(r.p - start));
    }
    p->stats.forwarded_in += count;
    return 0;
}

static void in_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct fwd_in *c = s->data;
    (void)buf;
    if (n < 0) {
        close_in(c);
        return;
    }
    c->buf.len += (size_t)n;
    size_t off;
    char err[128];
    int rv = wr__fwd_frames(c->buf.base, c->buf.len, c->peer, take_frame, c, &off, err, sizeof err);
    if (rv != 0) {
        if (err[0] != '\0')
            wr_warn("proposer: bad frame from node %llu: %s; closing",
                    (unsigned long long)c->peer, err);
        close_in(c);
        return;
    }
    memmove(c->buf.base, c->buf.base + off, c->buf.len - off);
    c->buf.len -= off;
}

void wr_proposer_accept(struct wr_proposer *p, uint64_t peer_id, uv_tcp_t *tcp)
{
    int slot_i = -1;
    for (int i = 0; i < MAX_IN_CONNS && slot_i < 0; i++)
        if (p->in[i] == NULL)
            slot_i = i;
    struct fwd_in *c = wr_calloc(1, sizeof *c);
    c->p = p;
    c->tcp = tcp;
    c->peer = peer_id;
    wr_writer_init(&c->buf, 0);
    tcp->data = c;
    p->open_handles++;
    if (p->destroying || slot_i < 0) {
        wr_warn("proposer: refusing forward connection from node %llu",
                (unsigned long long)peer_id);
        c->closing = true;
        uv_close((uv_handle_t *)tcp, in_closed_cb);
        return;
    }
    p->in[slot_i] = c;
    uv_read_start((uv_stream_t *)tcp, in_alloc_cb, in_read_cb);
}

/* ---- sending, once per loop iteration ------------------------------- */

static void send_pending(struct wr_proposer *p)
{
    bool leader = p->role == WR_ROLE_LEADER;
    if (!leader && p->out == NULL)
        return;
    uint64_t now = now_ms(p);
    for (uint64_t pos = p->send_pos; pos < p->tail; pos++) {
        struct pending *e = slot(p, pos);
        if (!e->live)
            continue;
        if (e->sent_ms != 0)
            p->stats.resent++;
        e->sent_ms = now;
        if (leader) {
            batch_add(p, e->bytes, e->len);
        } else {
            if (p->outbuf.len + e->len > MAX_FRAME - 8)
                send_frame(p);
            wr_put_bytes(&p->outbuf, e->bytes, e->len);
            p->out_count++;
        }
    }
    p->send_pos = p->tail;
    if (!leader && p->out != NULL)
        send_frame(p);
}

static void tick_cb(uv_timer_t *t);

/* The tick has work only while commands wait (expiry, resends) or while a
 * follower has no forward connection to its leader (redials). */
static bool tick_has_work(const struct wr_proposer *p)
{
    if (p->quiet)
        return false;
    if (p->head < p->tail)
        return true;
    return p->role != WR_ROLE_LEADER && p->leader_id != 0 && p->leader_id != p->cfg.node_id &&
           (p->out == NULL || p->out_peer != p->leader_id);
}

/* Run the tick only while it has work: on an idle node it woke the loop
 * 20 times a second for nothing (issue 8). Called after every loop
 * iteration (flush_cb) and on role changes, which is where its work
 * appears; it starts a full TICK_MS later, as a running tick would have
 * looked at new work at most TICK_MS later. */
static void tick_adjust(struct wr_proposer *p)
{
    if (p->ops.caller_ticks || p->destroying)
        return;
    bool running = uv_is_active((uv_handle_t *)&p->tick);
    bool want = tick_has_work(p);
    if (want && !running)
        uv_timer_start(&p->tick, tick_cb, TICK_MS, TICK_MS);
    else if (!want && running)
        uv_timer_stop(&p->tick);
}

static void flush_cb(uv_check_t *h)
{
    struct wr_proposer *p = h->data;
    send_pending(p);
    if (p->role == WR_ROLE_LEADER && p->ready)
        propose_batches(p);
    tick_adjust(p);
}

void wr_proposer_submit_once(struct wr_proposer *p, const struct wr_cmd *cmd)
{
    if (p->role == WR_ROLE_LEADER) {
        struct wr_writer w;
        wr_writer_init(&w, WR_CMD_HEADER_BYTES + cmd->len);
        wr_cmd_encode(&w, cmd);
        batch_add(p, w.base, w.len);
        wr_writer_free(&w);
    } else if (p->out != NULL) {
        wr_cmd_encode(&p->outbuf, cmd);
        p->out_count++;
    }
}

/* ---- leadership changes --------------------------------------------- */

static void barrier_cb(void *arg, int status)
{
    struct wr_proposer *p = arg;
    p->barrier_sent = false;
    if (p->destroying || status != 0 || p->role != WR_ROLE_LEADER)
        return;
    p->ready = true;
    wr_info("proposer: leader ready in term %llu", (unsigned long long)p->term);
    if (p->hooks.on_leader_ready)
        p->hooks.on_leader_ready(p->hooks.data, p->term);
}

void wr_proposer_on_change(struct wr_proposer *p, const struct wr_raft_status *st)
{
    bool was_leader = p->role == WR_ROLE_LEADER;
    bool new_term = st->term != p->term;
    bool new_leader = st->leader_id != p->leader_id;
    p->role = st->role;
    p->leader_id = st->leader_id;
    p->term = st->term;
    snprintf(p->leader_address, sizeof p->leader_address, "%s", st->leader_address);

    if (st->role == WR_ROLE_LEADER) {
        if (!was_leader || new_term) {
            close_out(p);
            batches_clear(p);
            p->ready = false;
            p->send_pos = p->head;
            if (!p->barrier_sent && !p->quiet && p->ops.barrier(p->ops.data, barrier_cb, p) == 0)
                p->barrier_sent = true;
        }
        tick_adjust(p);
        return;
    }
    if (was_leader) {
        p->ready = false;
        batches_clear(p);
    }
    if (new_leader) {
        p->redial_at = 0;
        if (p->out != NULL && p->out_peer != p->leader_id)
            close_out(p);
    }
    maybe_dial(p);
    tick_adjust(p);
}

int wr_proposer_leader_ready(const struct wr_proposer *p)
{
    return p->role == WR_ROLE_LEADER && p->ready;
}

static void tick_cb(uv_timer_t *t)
{
    wr__proposer_tick(t->data);
}

void wr__proposer_tick(struct wr_proposer *p)
{
    uint64_t now = now_ms(p);
    /* Give up on what waited too long; one session at a time from the
     * oldest, since expiring a session drops its later commands too. */
    uint64_t expired_before = p->stats.expired;
    unsigned sessions = 0;
    while (p->head < p->tail) {
        struct pending *e = slot(p, p->head);
        if (!e->live || e->first_ms + p->cfg.queue_timeout_ms > now)
            break;
        expire_session(p, e->session);
        sessions++;
    }
    if (sessions > 0)
        wr_warn("proposer: gave up on %llu command(s) of %u session(s) not applied within %u ms "
                "(leader %llu, forwarding %s)",
                (unsigned long long)(p->stats.expired - expired_before), sessions,
                p->cfg.queue_timeout_ms, (unsigned long long)p->leader_id,
                p->role == WR_ROLE_LEADER ? "not needed: we lead"
                : p->out != NULL      ? "connected"
                                      : "not connected");
    /* Resend everything if the oldest was sent long ago and not applied. */
    if (p->head < p->tail) {
        struct pending *e = slot(p, p->head);
        if (e->live && e->sent_ms != 0 && e->sent_ms + p->cfg.resend_ms <= now)
            p->send_pos = p->head;
    }
    maybe_dial(p);
}

/* ---- lifecycle ------------------------------------------------------ */

struct wr_proposer *wr_proposer_create(uv_loop_t *loop, struct wr_raft *raft,
                                       const struct wr_proposer_config *cfg,
                                       const struct wr_proposer_hooks *hooks)
{
    struct wr_proposer_ops ops = {.now_ms = node_now_ms,
                                  .wall_ms = node_wall_ms,
                                  .propose = node_propose,
                                  .barrier = node_barrier,
                                  .notify = node_notify,
                                  .dial = node_dial};
    struct wr_proposer *p = wr__proposer_create_with(loop, &ops, cfg, hooks);
    p->raft = raft;
    p->ops.data = p;
    return p;
}

struct wr_proposer *wr__proposer_create_with(uv_loop_t *loop, const struct wr_proposer_ops *ops,
                                             const struct wr_proposer_config *cfg,
                                             const struct wr_proposer_hooks *hooks)
{
    struct wr_proposer *p = wr_calloc(1, sizeof *p);
    p->loop = loop;
    p->ops = *ops;
    p->cfg = *cfg;
    p->hooks = *hooks;
    wr_hist_init_latency(&p->stats.commit_latency);
    wr_hist_init_latency(&p->stats.command_latency);
    p->cap = 16;
    while (p->cap < cfg->max_pending * 2)
        p->cap *= 2;
    p->ring = wr_calloc(p->cap, sizeof *p->ring);
    wr_u64map_init(&p->index);
    wr_writer_init(&p->prio, 256);
    wr_writer_init(&p->outbuf, 4096);
    uv_check_init(loop, &p->flush);
    p->flush.data = p;
    uv_check_start(&p->flush, flush_cb);
    uv_timer_init(loop, &p->tick);
    p->tick.data = p; /* started by tick_adjust when it has work */
    p->open_handles = 2;
    return p;
}

static void handle_closed_cb(uv_handle_t *h)
{
    release(h->data);
}

void wr_proposer_quiesce(struct wr_proposer *p)
{
    p->quiet = true;
}

void wr_proposer_destroy(struct wr_proposer *p, void (*cb)(void *arg), void *arg)
{
    p->quiet = true;
    p->destroying = true;
    p->destroy_cb = cb;
    p->destroy_arg = arg;
    for (uint64_t pos = p->head; pos < p->tail; pos++)
        free(slot(p, pos)->bytes);
    free(p->ring);
    p->ring = NULL;
    p->head = p->tail = 0;
    wr_u64map_free(&p->index);
    batches_clear(p);
    free(p->batches);
    wr_writer_free(&p->prio);
    wr_writer_free(&p->outbuf);
    close_out(p);
    for (int i = 0; i < MAX_IN_CONNS; i++)
        if (p->in[i])
            close_in(p->in[i]);
    uv_close((uv_handle_t *)&p->flush, handle_closed_cb);
    uv_close((uv_handle_t *)&p->tick, handle_closed_cb);
}

const struct wr_proposer_stats *wr_proposer_stats(const struct wr_proposer *p)
{
    return &p->stats;
}
