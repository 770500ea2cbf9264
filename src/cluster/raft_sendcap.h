/* A cap on what libraft may have queued towards each peer (issue 10: a new
 * leader's memory grew from 17 to 98 MiB in 13 s in the nemesis run with
 * seed 502). libraft 0.15 sends a follower in probe state one AppendEntries
 * per heartbeat carrying every entry from its next_index to the end of the
 * log, and after a failed send to a follower it has not heard from yet
 * that next_index is 1: the whole in-memory log. raft_uv queues each such
 * message without bound while its connect to the peer hangs and on a
 * connected stream (uv_write), so a peer that answers late piles up
 * whole-log copies of the entry array and its encoding (72 bytes per entry
 * each).
 *
 * The cap wraps a raft_io's send (and close) and counts, per peer, the
 * bytes of the sends whose callback has not run yet: payloads plus a
 * per-entry overhead. An AppendEntries with entries, or an InstallSnapshot,
 * to a peer that already has something outstanding and would go over the
 * cap is dropped: accepted, never written, and its callback runs on the
 * next loop iteration with RAFT_NOCONNECTION, as raft_uv itself fails the
 * messages it evicts from a full queue of a peer it cannot reach.
 * Everything else goes through: heartbeats, results, votes, and any message
 * to a peer with nothing outstanding, so a large catch-up still makes
 * progress one message at a time. raft_sendcap.c says why dropping rather
 * than refusing, and why that is safe in libraft 0.15. Loop thread only. */
#ifndef WR_CLUSTER_RAFT_SENDCAP_H
#define WR_CLUSTER_RAFT_SENDCAP_H

#include <raft.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct wr_prom;

/* Bytes per peer; chosen from measurements in raft_sendcap.c. */
#define WR_SENDCAP_BYTES (4u * 1024 * 1024)

struct wr_sendcap;

struct wr_sendcap_peer {
    uint64_t id;
    uint64_t bytes;    /* outstanding: accepted, callback not run yet */
    uint32_t messages; /* how many sends that is */
    uint64_t dropped;  /* sends dropped so far */
};

/* Wrap @io->send and @io->close; the cap's deferred callbacks run on
 * @loop. @cap_bytes > 0. Aborts when out of memory, like the rest of the
 * process's own state (common/alloc.h). Call before raft_start. The cap
 * must outlive @io: destroy it only after @io->close has called back, or
 * when @io was never started. */
struct wr_sendcap *wr_sendcap_install(struct raft_io *io, uv_loop_t *loop, size_t cap_bytes);

/* Put back the methods @io had and free the cap. NULL is a no-op. */
void wr_sendcap_destroy(struct wr_sendcap *sc);

/* What a message counts for: its payload bytes (entries, snapshot data)
 * plus a fixed cost per message and per entry. */
size_t wr_sendcap_cost(const struct raft_message *m);

/* Totals over all peers. */
uint64_t wr_sendcap_dropped(const struct wr_sendcap *sc);
uint64_t wr_sendcap_outstanding(const struct wr_sendcap *sc);

/* The state of peer @id (zeros when nothing was ever sent to it). */
struct wr_sendcap_peer wr_sendcap_peer(const struct wr_sendcap *sc, uint64_t id);

/* /metrics: warren_raft_send_queued_bytes{peer} (gauge) and
 * warren_raft_sends_dropped_total{peer} (counter), one sample per peer
 * ever sent to. @sc may be NULL (no samples). */
void wr_sendcap_metrics(const struct wr_sendcap *sc, struct wr_prom *p);

#endif
