/* Early-election decisions: when a follower may stop waiting for its
 * election timer, because the failure tells it more than silence would.
 * Pure logic (no clock, socket or libraft call: times and ids come in as
 * arguments), so it runs in plain unit tests; raft_early.c applies it to
 * libraft.
 *
 * The leader's process is gone, not slow, when this node's forward
 * connection to it (proposer.c keeps one open to every leader) was closed by
 * the peer's kernel (EOF or reset) AND a new connection to its address is
 * refused (nothing listens there any more). A SIGSTOPped or cut-off leader
 * does neither: its connections stay open and silent, so only the election
 * timer can tell, as before.
 *
 * States, per node, about the leader it follows:
 *
 *   IDLE     nothing known beyond what libraft knows. Invariant: peer = 0.
 *   PROBING  the forward connection to leader `peer` was closed by the
 *            peer; a redial is the probe. Invariant: peer != 0.
 *   GONE     the redial to `peer` was refused: its process is gone.
 *            Invariant: peer != 0, since = when that was learnt.
 *
 * A different leader (non-zero) being reported resets to IDLE; a
 * successful dial to `peer` also does (it is alive: a restart, or it only
 * dropped the connection). */
#ifndef WR_CLUSTER_FAILOVER_H
#define WR_CLUSTER_FAILOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wr_failover_state { WR_FAILOVER_IDLE, WR_FAILOVER_PROBING, WR_FAILOVER_GONE };

struct wr_failover {
    enum wr_failover_state state;
    uint64_t peer;  /* the leader under suspicion (0 in IDLE) */
    uint64_t since; /* GONE: when the refusal came (caller's clock, ms) */
    unsigned reprobes; /* PROBING: inconclusive probes so far */
};

/* A zeroed detector is IDLE; this says so explicitly. */
void wr_failover_init(struct wr_failover *f);

/* libraft reports @leader as the current leader (0: none known). A new
 * non-zero leader other than the suspected one resets to IDLE; 0 keeps the
 * state (our own early election clears libraft's leader). */
void wr_failover_on_leader(struct wr_failover *f, uint64_t leader);

/* The forward connection to @peer ended with libuv status @status (UV_EOF,
 * UV_ECONNRESET, ...) while @leader is the current leader. Returns true when
 * the caller should probe @peer at once (redial now): the peer's kernel
 * closed a connection to the current leader. */
bool wr_failover_on_conn_lost(struct wr_failover *f, uint64_t peer, uint64_t leader, int status);

enum wr_failover_verdict {
    WR_FAILOVER_NOTHING, /* nothing learnt (or nothing new) */
    WR_FAILOVER_REPROBE, /* inconclusive while probing: dial again now */
    WR_FAILOVER_GONE_NOW /* the leader just became GONE (once per leader) */
};

/* A dial to @peer ended with libuv status @status at time @now (ms), while
 * @leader is the current leader. A refusal while PROBING makes it GONE.
 * Another failure while PROBING (a killed process's listener can still
 * take a connection in the instant before the kernel closes it, and then
 * resets it) asks for another probe, at most WR_FAILOVER_REPROBES times. */
#define WR_FAILOVER_REPROBES 3
enum wr_failover_verdict wr_failover_on_dial(struct wr_failover *f, uint64_t peer, uint64_t leader,
                                             int status, uint64_t now);

/* Is @leader's process known to be gone? */
bool wr_failover_gone(const struct wr_failover *f, uint64_t leader);

/* This node's place among the voters that may replace @gone: the number of
 * voter ids in @voters[0..@n) below @self, not counting @gone. Rank 0
 * campaigns at once, rank k after k staggers, so that two followers that
 * learnt it at the same moment do not split the vote. */
unsigned wr_failover_rank(uint64_t self, uint64_t gone, const uint64_t *voters, size_t n);

#endif
