/* The apply log (`warren node --apply-log FILE`): one JSON line per command
 * the state machine was given, in apply order, with the Raft index of its
 * entry and its verdict, so an offline checker (tests/nemesis/check.mjs)
 * can compare what every node applied. The line format is fixed by
 * tests/nemesis/FORMAT.md ("node<ID>.apply").
 *
 * An entry's lines are gathered in memory and written with one write(2) on
 * an O_APPEND descriptor once the entry is applied, never through stdio: a
 * kill -9 loses at most the entry being applied, and a line is never torn
 * by the process (a short write is cut back, see apply_log.c). A failing
 * write is logged once and the node keeps running. Loop thread only. */
#ifndef WR_NODE_APPLY_LOG_H
#define WR_NODE_APPLY_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "world/world.h"

struct wr_apply_log;

/* Open (create, append to) @path. Returns the log, or NULL with the reason
 * in @err. */
struct wr_apply_log *wr_apply_log_open(const char *path, char *err, size_t errlen);

/* Close the file and free @l (NULL is fine). Lines of an unfinished entry
 * are dropped, as a crash would drop them. */
void wr_apply_log_close(struct wr_apply_log *l);

/* The entry at Raft index @index is about to be applied. */
void wr_apply_log_begin(struct wr_apply_log *l, uint64_t index);

/* One command of the current entry and what applying it did. */
void wr_apply_log_cmd(struct wr_apply_log *l, const struct wr_cmd *cmd, enum wr_verdict v);

/* The entry is applied: write its lines (one write(2); nothing if it had
 * no command). */
void wr_apply_log_end(struct wr_apply_log *l);

#endif
