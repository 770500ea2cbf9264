/* Private to src/cluster/raft_*.c: telling followers the commit index with
 * an early heartbeat instead of a log entry (see raft_notify.c). */
#ifndef WR_CLUSTER_RAFT_NOTIFY_H
#define WR_CLUSTER_RAFT_NOTIFY_H

#include <raft.h>

/* Leader only: send a heartbeat now to every follower in pipeline state
 * that has been sent the whole log, through libraft's @tick. Returns how
 * many were due (0: nothing sent, e.g. not leader or @tick not captured).
 * Never call it inside a libraft callback. */
unsigned wr__notify_commit(struct raft *raft, raft_io_tick_cb tick);

#endif
