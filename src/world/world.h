/* The replicated state machine: a pure function from (state, log entry) to
 * (state, events). Every node applies every committed entry in log order and
 * must end in the same state, so nothing here reads a clock, draws a random
 * number, touches a socket or calls libraft: time and seeds arrive inside the
 * entry, stamped by the leader.
 *
 * An entry is a batch of commands (group commit). A command is addressed to
 * a module: the core (node registry, singleton placement) or a game (the
 * arena; the MUD later). Commands from a client session carry (session, seq):
 * the session key is chosen by the node that owns the client, seq counts
 * 1, 2, 3... per session. The core applies a session's command only when its
 * seq is exactly one more than the last applied, so a retried or duplicated
 * command has no effect and commands of a session apply in order.
 *
 * Games are modules (world/module.h), listed at the composition root
 * (src/games.c); the core knows them only through that table.
 *
 * Wire formats (little endian, see common/bytes.h):
 *   entry   = u8 version(2) | u64 time_ms | u64 seed | u32 count | command*
 *   command = u8 module | u8 module_version | u8 type | u32 node
 *             | u64 session | u32 seq | u16 len | payload[len]
 * Entries of version 1 (written before modules carried versions) have no
 * module_version byte and are read as version 1 of their module.
 *
 *   snapshot = u8 version(3 or 4) | u64 now | u64 next_prune
 *              | cluster_id[16] (version 3 on) | sessions
 *              | registry | node_marks (version 4 only)
 *              | u8 nsections | section*
 *   node_marks = u32 count | (u32 node | u8 draining | str telnet)*
 *   section  = str module_name | u8 module_version | u32 len | bytes[len]
 * A section of a module this binary does not have, or of a newer version,
 * makes the snapshot unreadable here (restore fails, saying which); a
 * module without a section (a snapshot written before it existed) starts
 * empty. Version 1 snapshots (a u8 module id per section) are still read.
 *
 * Versions and mixed releases (docs/operations.md, "Versions"): a binary
 * writes the oldest format that holds the state, so that the previous
 * release can still read it while a cluster is rolled from one to the
 * other: snapshot format 3 unless a node carries a drain mark or a
 * telnet address (format 4), and each core command with the core version
 * that introduced its type (NODE_INFO and PLACE 1, CLUSTER_ID 2, DRAIN and
 * NODE_TELNET 3). An entry or snapshot newer than this binary is refused,
 * never applied around (WR_APPLY_INCOMPATIBLE, restore's error).
 */
#ifndef WR_WORLD_H
#define WR_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"
#include "common/u64map.h"

#include "world/module.h"

#define WR_ENTRY_VERSION 2
#define WR_ENTRY_HEADER_BYTES (1 + 8 + 8 + 4)
#define WR_CMD_HEADER_BYTES (1 + 1 + 1 + 4 + 8 + 4 + 2)
/* Largest payload of one command: client commands are far smaller; world
 * uploads (the MUD's WORLD_CHUNK) use most of it. */
#define WR_CMD_MAX_PAYLOAD 16384
#define WR_SNAPSHOT_VERSION 4
/* The core module's version: 2 added CLUSTER_ID, 3 DRAIN and NODE_TELNET. */
#define WR_CORE_VERSION 3
#define WR_CLUSTER_ID_LEN 16

/* Core command types. */
enum {
    WR_CORE_NODE_INFO = 1, /* payload: str http [| u64 incarnation]: registers
                              node/N; a new incarnation disconnects the
                              players of the node's previous process */
    WR_CORE_PLACE = 2,     /* payload: str name | u64 epoch. Singleton -> cmd.node */
    WR_CORE_CLUSTER_ID = 3, /* payload: 16 bytes, the cluster's id (drawn by its
                               first leader); only the first one applied counts,
                               later ones are no-ops (core version 2) */
    WR_CORE_DRAIN = 4,      /* payload: u32 node | u8 draining (1) or not (0):
                               the node's drain mark (core version 3) */
    WR_CORE_NODE_TELNET = 5, /* payload: str telnet address of cmd.node, where
                                a draining node sends its telnet players
                                (core version 3) */
};

/* What applying one command did, reported for every command. */
enum wr_verdict {
    WR_APPLIED = 0,   /* applied (it may have been refused by the game,
                         which then emitted an event saying why) */
    WR_DUPLICATE = 1, /* seq already applied: no effect */
    WR_GAP = 2,       /* an earlier seq of the session is missing: no effect;
                         the origin resends it in order */
    WR_STALE = 3,     /* session closed, unknown, or owned by another node */
    WR_MALFORMED = 4, /* the command could not be decoded */
};

struct wr_world;

struct wr_world_hooks {
    void *data;
    /* Called for every event, in apply order. May be NULL. */
    void (*on_event)(void *data, const struct wr_event *ev);
    /* Called after every command with its verdict. May be NULL. */
    void (*on_verdict)(void *data, const struct wr_cmd *cmd, enum wr_verdict v);
};

/* Create an empty world. @hooks is copied. Never fails (aborts on OOM). */
struct wr_world *wr_world_create(const struct wr_world_hooks *hooks);
void wr_world_destroy(struct wr_world *w);

#define WR_APPLY_INCOMPATIBLE (-2)

/* Apply one log entry. Bytes after the last command are ignored (libraft
 * pads entries to 8 bytes). Returns 0, or -1 if the entry's header is malformed
 * (then nothing is applied; every node rejects the same bytes alike). A
 * malformed command inside a good entry stops the entry there, after the
 * commands before it were applied.
 * Returns WR_APPLY_INCOMPATIBLE if a command names a module this binary does
 * not have or a newer version of one: the commands before it were applied,
 * and the world refuses every later entry (wr_world_halted says why), so
 * this node stops rather than diverge from nodes that can apply it. */
int wr_world_apply(struct wr_world *w, const void *entry, size_t len);

/* NULL, or why this world stopped applying (see WR_APPLY_INCOMPATIBLE). */
const char *wr_world_halted(const struct wr_world *w);

/* Serialise the whole state (canonical bytes) into @out. */
void wr_world_snapshot(struct wr_world *w, struct wr_writer *out);
/* Replace the whole state. Returns 0, or -1 (state then empty) if the bytes
 * are malformed. Emits no events. */
int wr_world_restore(struct wr_world *w, const void *buf, size_t len);

/* The cluster id committed to the log (WR_CORE_CLUSTER_ID); all zero
 * until one is applied. */
const uint8_t *wr_world_cluster_id(const struct wr_world *w);

/* Node marks (core version 3): is node @node marked draining (by
 * WR_CORE_DRAIN), and its telnet address ("" when unknown). Every node
 * that applied the same index answers the same. */
bool wr_world_node_draining(const struct wr_world *w, uint32_t node);
const char *wr_world_node_telnet(const struct wr_world *w, uint32_t node);
/* The nodes marked draining, in id order: up to @max into @out; returns
 * how many there are. */
size_t wr_world_draining(const struct wr_world *w, uint32_t *out, size_t max);

/* 64-bit hash of the canonical snapshot, as 16 hex digits + NUL. O(world):
 * the node reads it from a cache kept per applied index (node/state_hash.h). */
void wr_world_hash(struct wr_world *w, char out[17]);
/* The same hash of snapshot bytes already written by wr_world_snapshot
 * (wr_world_hash is this over them). Touches nothing but its arguments, so
 * a worker thread may call it. */
void wr_world_hash_bytes(const void *snapshot, size_t len, char out[17]);

/* Module states for read-only queries: wr_world_module (module.h). */
uint64_t wr_world_now(const struct wr_world *w);

/* Sessions. */
struct wr_session_info {
    uint64_t key;
    uint32_t node;
    uint32_t last_seq;
    bool open;
};
bool wr_world_session(const struct wr_world *w, uint64_t key, struct wr_session_info *out);

/* Registry of names. The core keeps nodes and singletons (sorted by
 * name: count/at/find); games list theirs (players, zones...) through
 * their module's registry function. */
size_t wr_world_registry_count(const struct wr_world *w);
const struct wr_reg_entry *wr_world_registry_at(const struct wr_world *w, size_t i);
const struct wr_reg_entry *wr_world_registry_find(const struct wr_world *w, const char *name);
/* Every name, the core's then each module's, by calling @cb. */
void wr_world_registry_each(struct wr_world *w, void (*cb)(void *arg, const struct wr_reg_entry *e),
                            void *arg);

/* Encoding helpers for proposers. */

/* Append one command to @out. @payload may be NULL when len is 0. */
void wr_cmd_encode(struct wr_writer *out, const struct wr_cmd *cmd);
/* Decode one command (of an entry of version @entry_version) from @r;
 * returns 0 or -1 (malformed). */
int wr_cmd_decode(struct wr_reader *r, struct wr_cmd *cmd, uint8_t entry_version);
/* Write an entry header for @count commands. */
void wr_entry_header(struct wr_writer *out, uint64_t time_ms, uint64_t seed, uint32_t count);

#endif
