/* Early-election decisions; see failover.h (states and invariants). */
#include "cluster/failover.h"

#include <uv.h>

void wr_failover_init(struct wr_failover *f)
{
    f->state = WR_FAILOVER_IDLE;
    f->peer = 0;
    f->since = 0;
    f->reprobes = 0;
}

void wr_failover_on_leader(struct wr_failover *f, uint64_t leader)
{
    if (leader != 0 && leader != f->peer)
        wr_failover_init(f);
}

bool wr_failover_on_conn_lost(struct wr_failover *f, uint64_t peer, uint64_t leader, int status)
{
    /* Only the peer's kernel says these: the process closed the socket
     * (EOF: exit, or the kernel closing a killed process's sockets) or
     * reset it (unread data at exit). Our own closes never get here. */
    if (status != UV_EOF && status != UV_ECONNRESET)
        return false;
    if (peer == 0 || peer != leader)
        return false;
    if (f->state == WR_FAILOVER_GONE && f->peer == peer)
        return false;
    f->state = WR_FAILOVER_PROBING;
    f->peer = peer;
    f->reprobes = 0;
    return true;
}

enum wr_failover_verdict wr_failover_on_dial(struct wr_failover *f, uint64_t peer, uint64_t leader,
                                             int status, uint64_t now)
{
    if (peer == 0 || peer != f->peer)
        return WR_FAILOVER_NOTHING;
    if (status == 0) {
        wr_failover_init(f); /* something answers at its address: alive */
        return WR_FAILOVER_NOTHING;
    }
    if (f->state != WR_FAILOVER_PROBING || peer != leader)
        return WR_FAILOVER_NOTHING;
    /* Refused: no listener at the address any more. */
    if (status == UV_ECONNREFUSED) {
        f->state = WR_FAILOVER_GONE;
        f->since = now;
        return WR_FAILOVER_GONE_NOW;
    }
    /* A timeout or a refused handshake says nothing about the process; a
     * reset may be the listener's last instant. Probe again, a few times. */
    if (f->reprobes >= WR_FAILOVER_REPROBES)
        return WR_FAILOVER_NOTHING;
    f->reprobes++;
    return WR_FAILOVER_REPROBE;
}

bool wr_failover_gone(const struct wr_failover *f, uint64_t leader)
{
    return leader != 0 && f->state == WR_FAILOVER_GONE && f->peer == leader;
}

unsigned wr_failover_rank(uint64_t self, uint64_t gone, const uint64_t *voters, size_t n)
{
    unsigned rank = 0;
    for (size_t i = 0; i < n; i++)
        if (voters[i] != gone && voters[i] < self)
            rank++;
    return rank;
}
