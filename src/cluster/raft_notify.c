/* Telling followers the commit index without a log entry.
 *
 * Why. libraft 0.15 tells a follower the leader's commit index only in its
 * next AppendEntries: with the next entry, or with the next heartbeat (every
 * --heartbeat ms). A command from a client on a follower is acknowledged
 * when that follower applies it, so when the log goes quiet after an entry
 * the follower's clients would wait up to a heartbeat. The proposer used to
 * append a barrier at that moment: one more log entry, written to disk on
 * every node, for each quiet moment. At 100 clients x 5 moves/s that was
 * one barrier per entry, half the log and half the disk writes.
 *
 * How (read in libraft's v0.15.0 source). A heartbeat is an AppendEntries
 * without entries. The leader's tick sends one to a follower when
 * io->time() - progress.last_send >= heartbeat_timeout (progress.c,
 * progressShouldReplicate); leader_state.progress[] and its last_send are
 * public members of struct raft. For each follower in pipeline state that
 * has been sent every entry (next_index is past the last index), we set
 * last_send back so that its heartbeat is due, and call libraft's own tick,
 * captured by raft_early.c. The follower applies up to the commit index the
 * heartbeat carries without writing anything (replication.c,
 * replicationAppend with n == 0).
 *
 * Why this is safe. last_send only paces heartbeats; Raft lets a leader
 * send an empty AppendEntries at any time, and it changes no log and no
 * term. The tick's other work (tick.c tickLeader: the contact-quorum check;
 * promotion and leadership-transfer timeouts) is gated on real elapsed
 * time, so an extra tick does only what a tick at that moment would have
 * done. Followers being probed (one message per heartbeat interval) or sent
 * a snapshot are left alone. It never runs inside a libraft callback: the
 * glue calls it from its after-iteration check. */
#include "cluster/raft_notify.h"

/* libraft's progress states (progress.h, private): 0 probe, 1 pipeline,
 * 2 snapshot. */
enum { PROGRESS_PIPELINE = 1 };

unsigned wr__notify_commit(struct raft *raft, raft_io_tick_cb tick)
{
    if (tick == NULL || raft->state != RAFT_LEADER || raft->leader_state.progress == NULL)
        return 0;
    raft_index last = raft_last_index(raft);
    raft_time now = raft->io->time(raft->io);
    raft_time due = now >= raft->heartbeat_timeout ? now - raft->heartbeat_timeout : 0;
    unsigned n = 0;
    for (unsigned i = 0; i < raft->configuration.n; i++) {
        struct raft_progress *p = &raft->leader_state.progress[i];
        if (raft->configuration.servers[i].id == raft->id || p->state != PROGRESS_PIPELINE ||
            p->next_index <= last)
            continue;
        if (p->last_send > due)
            p->last_send = due;
        n++;
    }
    if (n > 0)
        tick(raft->io);
    return n;
}
