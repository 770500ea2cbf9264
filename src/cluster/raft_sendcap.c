/* The per-peer send cap; see raft_sendcap.h.
 *
 * Why drop (accept, then fail the callback) rather than refuse (return an
 * error from send)? Both are safe in libraft 0.15 (canonical/raft v0.15.0):
 * sendAppendEntries frees its request and releases its entries when send
 * fails, triggerAll ignores RAFT_NOCONNECTION, replicationUpdate and
 * raft_assign ignore the error too. But a refused send moves neither
 * next_index nor last_send, so a follower in probe state is tried again on
 * every new entry (triggerAll runs per raft_apply), and every try copies
 * the whole log (logAcquire) first: with 30000 entries and 1000 entries/s
 * that alone would eat the leader's CPU. A dropped send counts as sent
 * (last_send moves: one probe per heartbeat, as without the cap) and its
 * failed callback is the path libraft already takes when raft_uv evicts a
 * queued message or a write fails: sendAppendEntriesCb puts the follower
 * back in probe from match_index + 1, sendInstallSnapshotCb aborts the
 * snapshot. A dropped message is a message lost on the network, which Raft
 * must survive anyway. It costs no liveness either: the peer's stream (or
 * raft_uv's queue while it connects) is FIFO, so the message would reach
 * the peer only after what is outstanding, and heartbeats are never
 * dropped. (Sending the message without its entries instead would not be
 * safe: a 0.15 follower answers any AppendEntries that matches with its
 * whole stored log as matching, so an empty one far behind the leader's
 * end would claim entries that may differ.)
 *
 * The callback must not run inside send: sendAppendEntries still uses its
 * request after send returns. So drops wait for an idle handle, and close
 * runs the ones still waiting while libraft's log is still there.
 *
 * The cap (WR_SENDCAP_BYTES, 4 MiB): under load (8 arena clients moving as
 * fast as acknowledged, 800 entries/s on this 2-core VM) at most 336 bytes
 * were ever outstanding towards a peer, since the kernel's socket buffer
 * takes what the peer reads; a whole-log message of 15000 entries counts
 * for 2.2 MB. So 4 MiB is never reached while a peer keeps up, lets one
 * or two whole-log messages wait behind a slow one, and bounds the rest. */
#include "cluster/raft_sendcap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/metrics.h"

/* What raft_uv holds per entry of a queued AppendEntries besides the
 * payload, which the log shares: logAcquire's copy of the raft_entry, the
 * encoded entry header (term, type, length: 16 bytes) and the uv_buf_t
 * pointing at the payload. */
#define ENTRY_OVERHEAD (sizeof(struct raft_entry) + 16 + sizeof(uv_buf_t))
/* The message header, raft_uv's request and ours, rounded up. */
#define MESSAGE_OVERHEAD 256

/* One send accepted: the request handed to the inner send (libraft keeps
 * its own request's `data`), or a dropped send waiting for its callback. */
struct capped_send {
    struct raft_io_send req;
    struct raft_io_send *outer;
    raft_io_send_cb cb;
    struct wr_sendcap *sc;
    uint64_t peer;
    size_t bytes;
    struct capped_send *next; /* in sc->dropped */
};

struct wr_sendcap {
    struct raft_io *io;
    uv_loop_t *loop;
    int (*inner_send)(struct raft_io *io, struct raft_io_send *req,
                      const struct raft_message *message, raft_io_send_cb cb);
    void (*inner_close)(struct raft_io *io, raft_io_close_cb cb);
    size_t cap;
    struct wr_sendcap_peer *peers; /* every peer ever sent to; a cluster is small */
    size_t n_peers;
    struct capped_send *dropped; /* waiting for their callback, in order */
    struct capped_send **dropped_tail;
    uv_idle_t idle; /* runs them; initialised at the first drop */
    bool idle_inited, idle_closed, io_closed, closing;
    raft_io_close_cb close_cb;
    struct wr_sendcap *next; /* in `installed` */
};

/* raft_io has no field for us: libraft owns io->data (it points at the
 * struct raft). So the methods find their cap by the io they are given;
 * a process has one or two of them. */
static struct wr_sendcap *installed;

static struct wr_sendcap *find_cap(const struct raft_io *io)
{
    for (struct wr_sendcap *sc = installed; sc != NULL; sc = sc->next)
        if (sc->io == io)
            return sc;
    return NULL;
}

static struct wr_sendcap_peer *find_peer(const struct wr_sendcap *sc, uint64_t id)
{
    for (size_t i = 0; i < sc->n_peers; i++)
        if (sc->peers[i].id == id)
            return &sc->peers[i];
    return NULL;
}

static struct wr_sendcap_peer *get_peer(struct wr_sendcap *sc, uint64_t id)
{
    struct wr_sendcap_peer *p = find_peer(sc, id);
    if (p != NULL)
        return p;
    sc->peers = wr_realloc(sc->peers, (sc->n_peers + 1) * sizeof *sc->peers);
    p = &sc->peers[sc->n_peers++];
    *p = (struct wr_sendcap_peer){.id = id};
    return p;
}

size_t wr_sendcap_cost(const struct raft_message *m)
{
    size_t n = MESSAGE_OVERHEAD;
    if (m->type == RAFT_IO_APPEND_ENTRIES) {
        const struct raft_append_entries *a = &m->append_entries;
        for (unsigned i = 0; i < a->n_entries; i++)
            n += ENTRY_OVERHEAD + a->entries[i].buf.len;
    } else if (m->type == RAFT_IO_INSTALL_SNAPSHOT) {
        n += m->install_snapshot.data.len;
    }
    return n;
}

/* Only messages that carry data may be dropped: heartbeats keep followers
 * from starting elections, and results and votes are small and bounded by
 * what the peer sends us. */
static bool droppable(const struct raft_message *m)
{
    return (m->type == RAFT_IO_APPEND_ENTRIES && m->append_entries.n_entries > 0) ||
           m->type == RAFT_IO_INSTALL_SNAPSHOT;
}

/* Run the callbacks of the drops waiting now (not of those they cause). */
static void run_dropped(struct wr_sendcap *sc, int status)
{
    struct capped_send *s = sc->dropped;
    sc->dropped = NULL;
    sc->dropped_tail = &sc->dropped;
    while (s != NULL) {
        struct capped_send *next = s->next;
        struct raft_io_send *outer = s->outer;
        raft_io_send_cb cb = s->cb;
        free(s);
        if (cb != NULL)
            cb(outer, status);
        s = next;
    }
}

static void idle_cb(uv_idle_t *h)
{
    struct wr_sendcap *sc = h->data;
    /* The status raft_uv gives a message it evicted unsent. */
    run_dropped(sc, RAFT_NOCONNECTION);
    if (sc->dropped == NULL)
        uv_idle_stop(&sc->idle);
}

static void drop(struct wr_sendcap *sc, struct wr_sendcap_peer *p, struct raft_io_send *req,
                 raft_io_send_cb cb)
{
    struct capped_send *s = wr_malloc(sizeof *s);
    *s = (struct capped_send){.outer = req, .cb = cb, .sc = sc, .peer = p->id};
    *sc->dropped_tail = s;
    sc->dropped_tail = &s->next;
    if (!sc->idle_inited) {
        uv_idle_init(sc->loop, &sc->idle);
        sc->idle.data = sc;
        sc->idle_inited = true;
    }
    uv_idle_start(&sc->idle, idle_cb);
    p->dropped++;
}

static void capped_send_cb(struct raft_io_send *req, int status)
{
    struct capped_send *s = req->data;
    struct wr_sendcap_peer *p = find_peer(s->sc, s->peer);
    if (p != NULL) {
        p->bytes -= s->bytes;
        p->messages--;
    }
    struct raft_io_send *outer = s->outer;
    raft_io_send_cb cb = s->cb;
    free(s);
    if (cb != NULL)
        cb(outer, status);
}

static int capped_send(struct raft_io *io, struct raft_io_send *req,
                       const struct raft_message *message, raft_io_send_cb cb)
{
    struct wr_sendcap *sc = find_cap(io);
    struct wr_sendcap_peer *p = get_peer(sc, message->server_id);
    size_t bytes = wr_sendcap_cost(message);
    req->cb = cb; /* as raft_uv sets it; libraft itself does not read it */
    if (!sc->closing && droppable(message) && p->messages > 0 && p->bytes + bytes > sc->cap) {
        drop(sc, p, req, cb);
        return 0;
    }
    struct capped_send *s = wr_malloc(sizeof *s);
    uint64_t id = p->id;
    *s = (struct capped_send){
        .req = {.data = s}, .outer = req, .cb = cb, .sc = sc, .peer = id, .bytes = bytes};
    /* Counted before the inner send, in case it completes at once. */
    p->bytes += bytes;
    p->messages++;
    int rv = sc->inner_send(io, &s->req, message, capped_send_cb);
    if (rv != 0) {
        /* No callback will run (the raft_io contract). Look the peer up
         * again: the array may have grown if the inner send sent more. */
        p = find_peer(sc, id);
        p->bytes -= bytes;
        p->messages--;
        free(s);
    }
    return rv;
}

/* libraft's close callback once both the inner io and our idle handle are
 * closed; it may destroy the cap, so it comes last. */
static void maybe_closed(struct wr_sendcap *sc)
{
    if (!sc->io_closed || !sc->idle_closed)
        return;
    raft_io_close_cb cb = sc->close_cb;
    sc->close_cb = NULL;
    if (cb != NULL)
        cb(sc->io);
}

static void inner_closed_cb(struct raft_io *io)
{
    struct wr_sendcap *sc = find_cap(io);
    sc->io_closed = true;
    maybe_closed(sc);
}

static void idle_closed_cb(uv_handle_t *h)
{
    struct wr_sendcap *sc = h->data;
    sc->idle_closed = true;
    maybe_closed(sc);
}

static void capped_close(struct raft_io *io, raft_io_close_cb cb)
{
    struct wr_sendcap *sc = find_cap(io);
    sc->closing = true;
    sc->close_cb = cb;
    /* libraft's log still holds what the dropped requests reference. */
    run_dropped(sc, RAFT_CANCELED);
    if (sc->idle_inited)
        uv_close((uv_handle_t *)&sc->idle, idle_closed_cb);
    else
        sc->idle_closed = true;
    sc->inner_close(io, inner_closed_cb);
}

struct wr_sendcap *wr_sendcap_install(struct raft_io *io, uv_loop_t *loop, size_t cap_bytes)
{
    struct wr_sendcap *sc = wr_calloc(1, sizeof *sc);
    sc->io = io;
    sc->loop = loop;
    sc->inner_send = io->send;
    sc->inner_close = io->close;
    sc->cap = cap_bytes;
    sc->dropped_tail = &sc->dropped;
    sc->next = installed;
    installed = sc;
    io->send = capped_send;
    io->close = capped_close;
    return sc;
}

void wr_sendcap_destroy(struct wr_sendcap *sc)
{
    if (sc == NULL)
        return;
    for (struct wr_sendcap **pp = &installed; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == sc) {
            *pp = sc->next;
            break;
        }
    }
    sc->io->send = sc->inner_send;
    sc->io->close = sc->inner_close;
    free(sc->peers);
    free(sc);
}

uint64_t wr_sendcap_dropped(const struct wr_sendcap *sc)
{
    uint64_t n = 0;
    for (size_t i = 0; i < sc->n_peers; i++)
        n += sc->peers[i].dropped;
    return n;
}

uint64_t wr_sendcap_outstanding(const struct wr_sendcap *sc)
{
    uint64_t n = 0;
    for (size_t i = 0; i < sc->n_peers; i++)
        n += sc->peers[i].bytes;
    return n;
}

struct wr_sendcap_peer wr_sendcap_peer(const struct wr_sendcap *sc, uint64_t id)
{
    const struct wr_sendcap_peer *p = find_peer(sc, id);
    return p != NULL ? *p : (struct wr_sendcap_peer){.id = id};
}

void wr_sendcap_metrics(const struct wr_sendcap *sc, struct wr_prom *p)
{
    if (sc == NULL || sc->n_peers == 0)
        return;
    char id[24];
    wr_prom_family(p, "warren_raft_send_queued_bytes", "gauge",
                   "Raft messages to a peer sent but not yet written to its socket (bytes)");
    for (size_t i = 0; i < sc->n_peers; i++) {
        snprintf(id, sizeof id, "%llu", (unsigned long long)sc->peers[i].id);
        wr_prom_sample(p, "warren_raft_send_queued_bytes", "peer", id,
                       (double)sc->peers[i].bytes);
    }
    wr_prom_family(p, "warren_raft_sends_dropped_total", "counter",
                   "Raft messages with entries or a snapshot dropped unsent because the "
                   "peer's queue was over its cap");
    for (size_t i = 0; i < sc->n_peers; i++) {
        snprintf(id, sizeof id, "%llu", (unsigned long long)sc->peers[i].id);
        wr_prom_sample(p, "warren_raft_sends_dropped_total", "peer", id,
                       (double)sc->peers[i].dropped);
    }
}
