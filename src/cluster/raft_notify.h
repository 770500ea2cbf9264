/* Private to src/cluster/raft_*.c: telling followers the commit index with
 * an early heartbeat instead of a log entry (see raft_notify.c). */
#ifndef WR_CLUSTER_RAFT_NOTIFY_H
#define WR_CLUSTER_RAFT_NOTIFY_H

#include <raft.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WR__NOTIFY_PEERS 16

struct wr__notify_peer {
    raft_id id;
    raft_index want; /* the commit index this follower should learn */
    raft_index told; /* what our notices let it apply (its stored entries then) */
};

struct wr__notify {
    bool armed;      /* run at the end of this loop iteration */
    uint64_t sent;   /* heartbeats sent early */
    size_t n;
    struct wr__notify_peer peers[WR__NOTIFY_PEERS];
};

/* Leader, the log just went quiet: every follower should learn the commit
 * index. Arms the notice. */
void wr__notify_want(struct wr__notify *nt, const struct raft *raft);

/* After libraft handled @from's successful AppendEntries result @res: an
 * acknowledgement that passes what our notice let it apply arms another
 * notice. */
void wr__notify_on_result(struct wr__notify *nt, const struct raft *raft, raft_id from,
                          const struct raft_append_entries_result *res);

/* The armed notice: a heartbeat now, through libraft's @tick, to each
 * follower in pipeline state that has been sent the whole log and has not
 * learnt the commit index. Returns how many. Never call it inside a libraft
 * callback. */
unsigned wr__notify_run(struct wr__notify *nt, struct raft *raft, raft_io_tick_cb tick);

#endif
