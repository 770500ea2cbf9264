/* Early elections; see raft_early.h for the three signals and failover.h
 * for when a leader's process counts as gone.
 *
 * How (libraft 0.15, read in its v0.15.0 source). A follower or candidate
 * starts an election from its tick (tick.c: tickFollower/tickCandidate) when
 * electionTimerExpired() holds: io->time() - election_timer_start >=
 * randomized_election_timeout, the latter drawn in [et, 2 et] whenever the
 * timer is reset (election.c). Both fields are public members of struct
 * raft. To campaign now, we set election_timer_start back by the drawn
 * timeout and call libraft's own tick callback, which we capture by
 * standing in front of io->start (the uv back end's timer callback does
 * nothing else: uv.c uvTickTimerCb). We never call it from inside a libraft
 * callback: a campaign decided while a message is delivered runs from our
 * timer, a loop iteration later.
 *
 * Why this is safe. Raft's safety (one leader per term; a committed entry is
 * in every later leader's log) never depends on time: votes, terms and logs
 * decide it, and none of that is touched here. Moving the timer only
 * changes WHEN this node starts a pre-vote round, exactly as if its process
 * had been descheduled for a while, which the protocol must survive anyway.
 * Pre-vote stays on, so an early round that finds a live leader elsewhere
 * changes no term (the voters that still hear from their leader refuse),
 * and a retried pre-vote round is just more of the same messages. Signal 2
 * is the dissertation's own rule (4.2.3: refuse votes "within the minimum
 * election timeout of hearing from a current leader"): libraft 0.15 refuses
 * while it believes in a leader at all, which lasts until its randomized
 * timeout; we end that belief once the minimum has passed, which libraft
 * would have done itself had it drawn the minimum.
 *
 * Why it is fast. A follower refuses even a pre-vote while it believes it
 * has a leader (recv_request_vote.c), so the first of two followers to
 * campaign is refused, and the second, who by then has no leader belief,
 * wins with the first one's vote. Ranks stagger the followers that learn of
 * a dead leader at the same moment (two simultaneous pre-vote rounds grant
 * each other and split the real vote); signal 2 makes the second campaign
 * follow the first one's request within a round trip; signal 3 recovers
 * from a round lost to a longer log on the other side. */
#include "cluster/raft_early.h"

#include <stdlib.h>

#include "cluster/raft_glue.h"
#include "cluster/raft_notify.h"
#include "common/log.h"

static struct wr__early *early_of(struct raft_io *io)
{
    struct raft *raft = io->data;
    return wr__raft_early(raft->data);
}

/* The randomized timeout of the current follower or pre-vote candidate, or
 * 0 if this node must not be pushed (leader, real candidate, unavailable,
 * not a voter). */
static unsigned pushable_timeout(const struct raft *raft)
{
    const struct raft_server *self = NULL;
    for (unsigned i = 0; i < raft->configuration.n; i++)
        if (raft->configuration.servers[i].id == raft->id)
            self = &raft->configuration.servers[i];
    if (self == NULL || self->role != RAFT_VOTER)
        return 0;
    if (raft->state == RAFT_FOLLOWER)
        return raft->follower_state.randomized_election_timeout;
    if (raft->state == RAFT_CANDIDATE && raft->candidate_state.in_pre_vote)
        return raft->candidate_state.randomized_election_timeout;
    return 0;
}

/* Make the election timer read as expired. */
static void expire_timer(struct raft *raft, unsigned timeout)
{
    raft_time now = raft->io->time(raft->io);
    raft->election_timer_start = now >= timeout ? now - timeout : 0;
}

/* Silent: no AppendEntries from the leader (which resets the timer,
 * recv_append_entries.c) for at least libraft's minimum timeout. */
static bool leader_silent(const struct wr__early *e)
{
    raft_time now = e->raft->io->time(e->raft->io);
    return now - e->raft->election_timer_start >= e->minimum_ms;
}

/* May this node campaign now, and is there still a reason to? */
static bool may_campaign(const struct wr__early *e)
{
    const struct raft *raft = e->raft;
    if (e->stopped || e->tick == NULL || pushable_timeout(raft) == 0)
        return false;
    if (raft->state == RAFT_CANDIDATE)
        return true;
    uint64_t leader = raft->follower_state.current_leader.id;
    return wr_failover_gone(&e->det, leader) || leader_silent(e);
}

static void fire_cb(uv_timer_t *t)
{
    struct wr__early *e = wr__raft_early(t->data);
    if (!may_campaign(e))
        return;
    struct raft *raft = e->raft;
    uint64_t leader = raft->state == RAFT_FOLLOWER ? raft->follower_state.current_leader.id : 0;
    wr_info("raft: campaigning now, term %llu, leader %llu: %s", (unsigned long long)raft->current_term,
            (unsigned long long)leader, e->why);
    e->campaigns++;
    expire_timer(raft, pushable_timeout(raft));
    e->tick(raft->io);
}

/* Campaign in @delay_ms (from the timer: never inside a libraft callback). */
static void schedule(struct wr__early *e, uint64_t delay_ms, const char *why)
{
    if (!e->timer_open || e->stopped)
        return;
    if (uv_is_active((uv_handle_t *)&e->timer) && uv_timer_get_due_in(&e->timer) <= delay_ms)
        return; /* one already due sooner */
    e->why = why;
    uv_timer_start(&e->timer, fire_cb, delay_ms, 0);
}

/* ---- in front of libraft's tick and receive callbacks ---------------- */

/* Signal 3: a pre-vote round not won within retry_ms goes again now. */
static void early_tick(struct raft_io *io)
{
    struct wr__early *e = early_of(io);
    struct raft *raft = e->raft;
    if (!e->stopped && raft->state == RAFT_CANDIDATE && raft->candidate_state.in_pre_vote) {
        unsigned timeout = pushable_timeout(raft);
        raft_time now = io->time(io);
        /* A voter that asked us within retry_ms is running its own round,
         * which we granted if its log allows: let it finish. Two rounds at
         * once grant each other and split the real vote. */
        bool other_round = e->prevote_seen != 0 && now - e->prevote_seen < e->retry_ms;
        if (timeout != 0 && !other_round && now - raft->election_timer_start >= e->retry_ms) {
            e->campaigns++;
            expire_timer(raft, timeout);
        }
    }
    e->tick(io);
}

static bool is_other_voter(const struct raft *raft, raft_id id)
{
    if (id == raft->id)
        return false;
    for (unsigned i = 0; i < raft->configuration.n; i++)
        if (raft->configuration.servers[i].id == id)
            return raft->configuration.servers[i].role == RAFT_VOTER;
    return false;
}

/* Signal 2: a voter campaigns while our leader is silent or gone. */
static void early_recv(struct raft_io *io, struct raft_message *msg)
{
    struct wr__early *e = early_of(io);
    bool campaign = msg->type == RAFT_IO_REQUEST_VOTE && msg->request_vote.pre_vote &&
                    is_other_voter(e->raft, msg->request_vote.candidate_id);
    if (campaign)
        e->prevote_seen = io->time(io);
    bool result = msg->type == RAFT_IO_APPEND_ENTRIES_RESULT;
    raft_id from = msg->server_id;
    struct raft_append_entries_result res = {0};
    if (result)
        res = msg->append_entries_result;
    e->recv(io, msg); /* libraft answers first: it refuses while it has a leader */
    if (result) /* commit notices, not elections: the one hook on received messages */
        wr__notify_on_result(wr__raft_notify(e->owner), e->raft, from, &res);
    if (campaign && e->raft->state == RAFT_FOLLOWER && may_campaign(e))
        schedule(e, 0, "a voter asks for a pre-vote and our leader is silent or gone");
}

static int early_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                       raft_io_recv_cb recv)
{
    struct wr__early *e = early_of(io);
    e->tick = tick;
    e->recv = recv;
    return e->io_start(io, msecs, early_tick, early_recv);
}

/* ---- setup ---------------------------------------------------------- */

void wr__early_install(struct wr__early *e, struct wr_raft *owner, struct raft *raft,
                       struct raft_io *io, unsigned heartbeat_ms, unsigned election_ms)
{
    e->owner = owner;
    e->raft = raft;
    e->io = io;
    e->io_start = io->start;
    io->start = early_start;
    wr_failover_init(&e->det);
    /* Half a heartbeat between ranks: rank 1 campaigns before rank 0
     * retries its refused round (at a tick, a heartbeat or more later). */
    e->stagger_ms = heartbeat_ms / 2 > 0 ? heartbeat_ms / 2 : 1;
    e->retry_ms = heartbeat_ms;
    e->minimum_ms = election_ms;
}

void wr__early_open_timer(struct wr__early *e, uv_loop_t *loop)
{
    uv_timer_init(loop, &e->timer);
    e->timer.data = e->owner;
    e->timer_open = true;
}

void wr__early_stop(struct wr__early *e)
{
    e->stopped = true;
    if (e->timer_open)
        uv_timer_stop(&e->timer);
}

/* ---- signal 1: the proposer's forward connection -------------------- */

static uint64_t current_leader(const struct raft *raft)
{
    return raft->state == RAFT_FOLLOWER ? raft->follower_state.current_leader.id : 0;
}

bool wr_raft_leader_conn_lost(struct wr_raft *r, uint64_t peer, int status)
{
    struct wr__early *e = wr__raft_early(r);
    if (e->raft == NULL || e->stopped)
        return false;
    bool probe = wr_failover_on_conn_lost(&e->det, peer, current_leader(e->raft), status);
    if (probe)
        wr_info("raft: leader %llu closed our connection (%s): probing its port",
                (unsigned long long)peer, uv_strerror(status));
    return probe;
}

bool wr_raft_leader_dial(struct wr_raft *r, uint64_t peer, int status)
{
    struct wr__early *e = wr__raft_early(r);
    if (e->raft == NULL || e->stopped)
        return false;
    struct raft *raft = e->raft;
    uint64_t leader = current_leader(raft);
    wr_failover_on_leader(&e->det, leader);
    enum wr_failover_verdict v =
        wr_failover_on_dial(&e->det, peer, leader, status, raft->io->time(raft->io));
    if (v == WR_FAILOVER_REPROBE)
        wr_info("raft: probe of leader %llu inconclusive (%s): probing again",
                (unsigned long long)peer, uv_strerror(status));
    if (v != WR_FAILOVER_GONE_NOW)
        return v == WR_FAILOVER_REPROBE;
    uint64_t voters[64];
    size_t n = 0;
    for (unsigned i = 0; i < raft->configuration.n && n < 64; i++)
        if (raft->configuration.servers[i].role == RAFT_VOTER)
            voters[n++] = raft->configuration.servers[i].id;
    unsigned rank = wr_failover_rank(raft->id, peer, voters, n);
    /* A voter that already asked us has no leader belief left: campaign now
     * and it grants us (its own next round is a retry_ms away). */
    raft_time now = raft->io->time(raft->io);
    if (e->prevote_seen != 0 && now - e->prevote_seen < e->retry_ms)
        rank = 0;
    wr_info("raft: leader %llu is gone (connection closed, reconnect refused): campaigning in "
            "%u ms (rank %u)",
            (unsigned long long)peer, rank * e->stagger_ms, rank);
    schedule(e, (uint64_t)rank * e->stagger_ms, "the leader's process is gone");
    return false;
}

uint64_t wr_raft_early_campaigns(struct wr_raft *r)
{
    return wr__raft_early(r)->campaigns;
}
