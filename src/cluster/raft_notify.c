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
 * A follower that had not stored the entry yet when the heartbeat came
 * (the leader committed it on the other followers' acknowledgements) can
 * apply only what it has stored, and libraft gives it the commit index
 * again only with the next AppendEntries. So the leader keeps, per
 * follower, the commit index it wants the follower to learn and the index
 * up to which a notice sent could have been applied (what the follower had
 * acknowledged as stored); when the follower's acknowledgement passes the
 * latter, it gets one more heartbeat, until it has learnt the commit
 * index; usually one or two notices per follower per quiet commit, and
 * none while the log is busy (the next entry carries the commit index).
 * Up to WR__NOTIFY_PEERS followers are tracked (removed members are
 * forgotten); any beyond wait for the heartbeat as before.
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

#include <string.h>

/* libraft's progress states (progress.h, private): 0 probe, 1 pipeline,
 * 2 snapshot. */
enum { PROGRESS_PIPELINE = 1 };

static struct wr__notify_peer *peer_of(struct wr__notify *nt, raft_id id, bool add)
{
    for (size_t i = 0; i < nt->n; i++)
        if (nt->peers[i].id == id)
            return &nt->peers[i];
    if (!add || nt->n == WR__NOTIFY_PEERS)
        return NULL;
    struct wr__notify_peer *p = &nt->peers[nt->n++];
    memset(p, 0, sizeof *p);
    p->id = id;
    return p;
}

static bool in_configuration(const struct raft *raft, raft_id id)
{
    for (unsigned i = 0; i < raft->configuration.n; i++)
        if (raft->configuration.servers[i].id == id)
            return true;
    return false;
}

void wr__notify_want(struct wr__notify *nt, const struct raft *raft)
{
    if (raft->state != RAFT_LEADER)
        return;
    /* Forget removed members, so that their slots serve new ones. */
    for (size_t i = 0; i < nt->n;)
        if (in_configuration(raft, nt->peers[i].id))
            i++;
        else
            nt->peers[i] = nt->peers[--nt->n];
    for (unsigned i = 0; i < raft->configuration.n; i++) {
        raft_id id = raft->configuration.servers[i].id;
        struct wr__notify_peer *p = id == raft->id ? NULL : peer_of(nt, id, true);
        if (p != NULL && p->want < raft->commit_index)
            p->want = raft->commit_index;
    }
    nt->armed = true;
}

void wr__notify_on_result(struct wr__notify *nt, const struct raft *raft, raft_id from,
                          const struct raft_append_entries_result *res)
{
    if (raft->state != RAFT_LEADER || res->rejected != 0)
        return;
    struct wr__notify_peer *p = peer_of(nt, from, false);
    if (p != NULL && p->want > p->told && res->last_log_index > p->told)
        nt->armed = true;
}

unsigned wr__notify_run(struct wr__notify *nt, struct raft *raft, raft_io_tick_cb tick)
{
    nt->armed = false;
    if (raft->state != RAFT_LEADER || raft->leader_state.progress == NULL) {
        nt->n = 0; /* a later leadership starts afresh */
        return 0;
    }
    if (tick == NULL)
        return 0;
    raft_index last = raft_last_index(raft);
    raft_time now = raft->io->time(raft->io);
    raft_time due = now >= raft->heartbeat_timeout ? now - raft->heartbeat_timeout : 0;
    unsigned n = 0;
    for (unsigned i = 0; i < raft->configuration.n; i++) {
        struct raft_progress *pr = &raft->leader_state.progress[i];
        struct wr__notify_peer *p = peer_of(nt, raft->configuration.servers[i].id, false);
        /* Only a follower that has been sent the whole log: otherwise the
         * entries on their way carry the commit index. */
        if (p == NULL || p->want <= p->told || pr->state != PROGRESS_PIPELINE ||
            pr->next_index <= last)
            continue;
        if (pr->last_send > due)
            pr->last_send = due;
        p->told = pr->match_index < p->want ? pr->match_index : p->want;
        n++;
    }
    if (n > 0)
        tick(raft->io);
    nt->sent += n;
    return n;
}
