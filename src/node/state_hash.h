/* The state hash a node reports (/api/cluster's state_hash, docs/api.md):
 * the world's hash (wr_world_hash) kept together with the log index it
 * belongs to, so that reading it costs O(1) however big the world is.
 *
 * Why a cache and not a digest updated on every mutation: an incremental
 * digest needs every mutation of every game (the MUD has dozens, in a
 * dozen files) to report itself, and one that does not would make a node
 * that restored a snapshot (digest recomputed) disagree with one that
 * applied the log (digest updated), or hide exactly the divergence the
 * hash is there to catch; it would also add work to every command on
 * every node, where the cache costs nothing while nobody changes the
 * world. So the hash stays the hash of the snapshot bytes (what `warren
 * replay` prints) and is taken:
 *   - at checkpoints: after applying an entry that moves the log time into
 *     a new period of WR_STATE_HASH_PERIOD_MS. The log time is replicated
 *     state, so every node hashes the same indexes, and hashes stay
 *     comparable between nodes under load; at most one per period;
 *   - when the world has been quiet for WR_STATE_HASH_QUIET_MS since a
 *     change (at most one per WR_STATE_HASH_GAP_MS), so that at rest the
 *     hash belongs to the applied index.
 * The snapshot bytes are written on the loop (a fraction of the cost) and
 * hashed on a libuv worker thread (uv_queue_work): neither a request nor
 * an apply waits for BLAKE2b over the whole world.
 *
 * One loop thread; the worker touches only its own copy of the bytes. */
#ifndef WR_STATE_HASH_H
#define WR_STATE_HASH_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/metrics.h"
#include "world/world.h"

#define WR_STATE_HASH_PERIOD_MS 1000 /* of log time, between checkpoints */
#define WR_STATE_HASH_QUIET_MS 50    /* no change for this long: hash now */
#define WR_STATE_HASH_GAP_MS 200     /* at least this long between quiet hashes */
#define WR_STATE_HASH_MAX_INFLIGHT 2 /* snapshot copies waiting for a worker */

struct wr_state_hash {
    uv_loop_t *loop;
    struct wr_world *world;
    uint64_t (*applied)(void *data); /* the log's applied index now */
    void *data;

    uint64_t gen;       /* changes of the world so far (applies, restores) */
    uint64_t taken_gen; /* gen of the newest hash started */
    char hex[17];       /* the newest hash finished */
    uint64_t index;     /* ... the log index it was taken at */
    uint64_t hex_gen;   /* ... and the gen */
    uint64_t changed_ms, started_ms; /* loop time of the last change, hash */
    unsigned inflight;
    bool closing;
    uv_timer_t quiet;

    uint64_t hashes;   /* taken, for /metrics */
    uint64_t skipped;  /* checkpoints skipped: too many in flight */
    struct wr_hist write_time; /* on the loop: writing the snapshot bytes */
    struct wr_hist hash_time;  /* on a worker: BLAKE2b over them */
};

/* Start with the hash of @world as it is now (index 0: before the log).
 * @applied gives the log's applied index; @world must outlive the loop's
 * last run. Never fails. */
void wr_state_hash_init(struct wr_state_hash *h, uv_loop_t *loop, struct wr_world *world,
                        uint64_t (*applied)(void *data), void *data);
/* Close the timer; hashes in flight still finish (the loop runs them). */
void wr_state_hash_close(struct wr_state_hash *h);

/* Entry @index was just applied; the log time was @before_ms before it.
 * Takes a checkpoint when the log time entered a new period. */
void wr_state_hash_applied(struct wr_state_hash *h, uint64_t index, uint64_t before_ms);
/* The world was replaced by a snapshot. */
void wr_state_hash_restored(struct wr_state_hash *h);

/* The newest hash and the log index of the state it is the hash of: the
 * applied index itself when the world has not changed since (barriers
 * and configuration entries do not change it). O(1). */
void wr_state_hash_get(const struct wr_state_hash *h, char hex[17], uint64_t *index);

#endif
