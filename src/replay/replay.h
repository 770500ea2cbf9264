/* `warren replay`: rebuild a node's state offline from its data directory,
 * to check it against what the node reported (the same state hash as
 * /api/cluster's "state_hash" at the same applied index), to look at the
 * world at an earlier index, or to reproduce a bug from a copy of a data
 * directory. It reads the directory with libraft's own loader
 * (wr_raft_load_offline), restores the latest snapshot into a fresh world
 * and applies the log's command entries in order, exactly as a node's
 * state machine does, with no node around: events go nowhere. */
#ifndef WR_REPLAY_H
#define WR_REPLAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cluster/raft_glue.h"
#include "world/world.h"

/* `warren replay ARGS` (argv[0] is "replay"). Returns the exit status. */
int wr_replay_main(int argc, char **argv);

/* The last index @log holds: its last entry's, or its snapshot's when no
 * entry comes after it; 0 for an empty log. */
uint64_t wr_replay_last_index(const struct wr_raft_log *log);

/* Rebuild into @w (fresh, from wr_world_create) the state after index @to
 * (UINT64_MAX: the last index of @log): restore the snapshot if there is
 * one, then apply every command entry after it up to @to; barriers and
 * configuration changes are skipped as libraft skips them for the state
 * machine. When @trace is not NULL, every entry applied is listed there
 * (wr_replay_print_entry). Returns 0 and the index reached in *reached, or
 * -1 with the reason in @err: @to past the last index, before the
 * snapshot, a gap in the log, a bad snapshot, or an entry this binary
 * cannot apply. */
int wr_replay_apply(struct wr_world *w, const struct wr_raft_log *log, uint64_t to,
                    uint64_t *reached, FILE *trace, char *err, size_t errlen);

/* One line for entry @e (index, term, kind; for commands the entry's log
 * time and seed) and one indented line per command it holds (module, type,
 * node, session, seq, payload length and a short BLAKE2b of the payload). */
void wr_replay_print_entry(FILE *out, const struct wr_raft_log_entry *e);

/* The state of @w as JSON, for --dump: the core registry, the MUD (its
 * world, zones, characters, NPCs, items) and the arena, each list in id
 * order. @index and @hash say where it was taken. The caller owns it. */
json_t *wr_replay_dump(struct wr_world *w, uint64_t index, const char *hash);

#endif
