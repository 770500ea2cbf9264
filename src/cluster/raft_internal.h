/* Private to src/cluster/raft_*.c: what the glue's files share. */
#ifndef WR_CLUSTER_RAFT_INTERNAL_H
#define WR_CLUSTER_RAFT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* raft_strerror, with text for the codes >= 19 it lacks. */
const char *wr__raft_code_name(int rv);

/* The state machine's bytes inside a snapshot buffer framed by the glue's
 * FSM snapshot (u64 length | bytes | zero padding): 0, or -1 if the
 * framing is bad. */
int wr__raft_snapshot_payload(const void *base, size_t len, const uint8_t **p, size_t *n);

#endif
