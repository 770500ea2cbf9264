/* Private to src/cluster/raft_*.c: early elections. libraft 0.15 has no
 * "campaign now" call; this moves a follower's election timer instead,
 * from three signals (failover.h says which, raft_early.c why it is safe):
 *
 *  1. the leader's process is gone (its connection closed by its kernel,
 *     its port refusing): campaign at once, staggered by rank;
 *  2. a voter asks for a pre-vote while our leader has been silent for the
 *     (minimum) election timeout, or is known gone: campaign too, so that
 *     its next round (or ours) finds a voter without a leader;
 *  3. a pre-vote round that did not win within a heartbeat is retried at
 *     the next tick instead of after a whole randomized timeout.
 *
 * Loop thread only, like all of libraft. */
#ifndef WR_CLUSTER_RAFT_EARLY_H
#define WR_CLUSTER_RAFT_EARLY_H

#include <raft.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "cluster/failover.h"

struct wr_raft;

struct wr__early {
    struct wr_raft *owner;
    struct raft *raft;
    struct raft_io *io;
    /* what the wrappers stand in front of */
    int (*io_start)(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                    raft_io_recv_cb recv);
    raft_io_tick_cb tick;
    raft_io_recv_cb recv;
    struct wr_failover det;
    uv_timer_t timer; /* data = owner; closed by the glue's stop */
    bool timer_open;
    bool stopped;
    unsigned stagger_ms;  /* between ranks (half the heartbeat) */
    unsigned retry_ms;    /* a pre-vote round's time to win (the heartbeat) */
    unsigned minimum_ms;  /* the election timeout: libraft's lower bound */
    const char *why;      /* the reason of the campaign scheduled */
    uint64_t prevote_seen; /* when a voter last asked us for a pre-vote */
    uint64_t campaigns;   /* early campaigns started (for tests/logs) */
};

/* The glue's early-election state (raft_glue.c). */
struct wr__early *wr__raft_early(struct wr_raft *r);
/* The glue's commit-notice state (raft_notify.h). */
struct wr__notify *wr__raft_notify(struct wr_raft *r);

/* Stand in front of @io's start (to see ticks and received messages);
 * after raft_uv_init, before raft_start. */
void wr__early_install(struct wr__early *e, struct wr_raft *owner, struct raft *raft,
                       struct raft_io *io, unsigned heartbeat_ms, unsigned election_ms);

/* Initialise the timer on @loop (counted by the glue as an open handle). */
void wr__early_open_timer(struct wr__early *e, uv_loop_t *loop);

/* No more campaigns (raft_close is coming); the glue closes the timer. */
void wr__early_stop(struct wr__early *e);

#endif
