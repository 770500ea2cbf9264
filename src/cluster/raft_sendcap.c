/* The per-peer send cap; see raft_sendcap.h.
 *
 * Why refusing is safe in libraft 0.15 (read in canonical/raft v0.15.0):
 * - sendAppendEntries (replication.c): when io->send fails it frees its
 *   request, releases the entries it acquired from the log, and returns
 *   before progressOptimisticNextIndex and progressUpdateLastSend, so
 *   next_index does not move and the next heartbeat tick tries again.
 * - Its callers ignore the error: triggerAll skips RAFT_NOCONNECTION (the
 *   heartbeat and every new entry go through it), replicationUpdate ignores
 *   what replicationProgress returns, and raft_assign's first catch-up send
 *   treats RAFT_NOCONNECTION as not fatal.
 * - sendSnapshotGetCb: a failed send closes the snapshot and aborts back to
 *   probe, as when the snapshot could not be read.
 * So a refusal is a message lost on the network, which Raft must survive
 * anyway. It costs no liveness either: the peer's stream (or raft_uv's
 * queue while it connects) is FIFO, so a message sent now would reach the
 * peer only after what is outstanding, and heartbeats are never refused. */
#include "cluster/raft_sendcap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "common/alloc.h"
#include "common/metrics.h"

/* What raft_uv holds per entry of a queued AppendEntries besides the
 * payload, which the log shares: logAcquire's copy of the raft_entry, the
 * encoded entry header (term, type, length: 16 bytes) and the uv_buf_t
 * pointing at the payload. */
#define ENTRY_OVERHEAD (sizeof(struct raft_entry) + 16 + sizeof(uv_buf_t))
/* The message header, raft_uv's request and ours, rounded up. */
#define MESSAGE_OVERHEAD 256

struct wr_sendcap {
    struct raft_io *io;
    int (*inner)(struct raft_io *io, struct raft_io_send *req, const struct raft_message *message,
                 raft_io_send_cb cb);
    size_t cap;
    struct wr_sendcap_peer *peers; /* every peer ever sent to; a cluster is small */
    size_t n_peers;
    struct wr_sendcap *next; /* in `installed` */
};

/* One send in flight: the request handed to the inner send, since libraft
 * keeps its own request's `data` for itself. */
struct capped_send {
    struct raft_io_send req;
    struct raft_io_send *outer;
    raft_io_send_cb cb;
    struct wr_sendcap *sc;
    uint64_t peer;
    size_t bytes;
};

/* raft_io has no field for us: libraft owns io->data (it points at the
 * struct raft). So the send method finds its cap by the io it is given;
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

/* Only messages that carry data may be refused: heartbeats keep followers
 * from starting elections, and results and votes are small and bounded by
 * what the peer sends us. */
static bool refusable(const struct raft_message *m)
{
    return (m->type == RAFT_IO_APPEND_ENTRIES && m->append_entries.n_entries > 0) ||
           m->type == RAFT_IO_INSTALL_SNAPSHOT;
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
    if (refusable(message) && p->messages > 0 && p->bytes + bytes > sc->cap) {
        p->refused++;
        return RAFT_NOCONNECTION;
    }
    struct capped_send *s = wr_malloc(sizeof *s);
    uint64_t id = p->id;
    *s = (struct capped_send){
        .req = {.data = s}, .outer = req, .cb = cb, .sc = sc, .peer = id, .bytes = bytes};
    req->cb = cb; /* as raft_uv sets it; libraft itself does not read it */
    /* Counted before the inner send, in case it completes at once. */
    p->bytes += bytes;
    p->messages++;
    int rv = sc->inner(io, &s->req, message, capped_send_cb);
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

struct wr_sendcap *wr_sendcap_install(struct raft_io *io, size_t cap_bytes)
{
    struct wr_sendcap *sc = wr_calloc(1, sizeof *sc);
    sc->io = io;
    sc->inner = io->send;
    sc->cap = cap_bytes;
    sc->next = installed;
    installed = sc;
    io->send = capped_send;
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
    sc->io->send = sc->inner;
    free(sc->peers);
    free(sc);
}

uint64_t wr_sendcap_refused(const struct wr_sendcap *sc)
{
    uint64_t n = 0;
    for (size_t i = 0; i < sc->n_peers; i++)
        n += sc->peers[i].refused;
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
    wr_prom_family(p, "warren_raft_sends_refused_total", "counter",
                   "Raft messages with entries or a snapshot not sent because the peer's "
                   "queue was over its cap");
    for (size_t i = 0; i < sc->n_peers; i++) {
        snprintf(id, sizeof id, "%llu", (unsigned long long)sc->peers[i].id);
        wr_prom_sample(p, "warren_raft_sends_refused_total", "peer", id,
                       (double)sc->peers[i].refused);
    }
}
