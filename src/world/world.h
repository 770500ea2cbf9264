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
 * Wire formats (little endian, see common/bytes.h):
 *   entry   = u8 version(1) | u64 time_ms | u64 seed | u32 count | command*
 *   command = u8 module | u8 type | u32 node | u64 session | u32 seq
 *             | u16 len | payload[len]
 */
#ifndef WR_WORLD_H
#define WR_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"
#include "common/u64map.h"

#define WR_ENTRY_VERSION 1
#define WR_ENTRY_HEADER_BYTES (1 + 8 + 8 + 4)
#define WR_CMD_HEADER_BYTES (1 + 1 + 4 + 8 + 4 + 2)
#define WR_CMD_MAX_PAYLOAD 1024
#define WR_SNAPSHOT_VERSION 1

enum wr_module_id { WR_MODULE_CORE = 0, WR_MODULE_ARENA = 1, WR_MODULE_COUNT };

/* Core command types. */
enum {
    WR_CORE_NODE_INFO = 1, /* payload: str http [| u64 incarnation]: registers
                              node/N; a new incarnation disconnects the
                              players of the node's previous process */
    WR_CORE_PLACE = 2,     /* payload: str name | u64 epoch. Singleton -> cmd.node */
};

/* A decoded command; payload points into the entry. */
struct wr_cmd {
    uint8_t module;
    uint8_t type;
    uint32_t node;
    uint64_t session;
    uint32_t seq;
    uint16_t len;
    const uint8_t *payload;
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

/* An event for the clients, emitted during apply. @data points to a
 * module-specific struct valid only during the callback. */
struct wr_event {
    uint8_t module;
    uint8_t type;
    uint32_t node;    /* node that owns @session, or 0 */
    uint64_t session; /* session addressed, or 0 for everyone */
    const void *data;
};

struct wr_world;

struct wr_world_hooks {
    void *data;
    /* Called for every event, in apply order. May be NULL. */
    void (*on_event)(void *data, const struct wr_event *ev);
    /* Called after every command with its verdict. May be NULL. */
    void (*on_verdict)(void *data, const struct wr_cmd *cmd, enum wr_verdict v);
};

/* Context a module gets while applying one command. */
struct wr_apply_ctx {
    struct wr_world *world;
    uint64_t now_ms; /* log time: max over the entries' leader stamps */
    uint64_t seed;   /* per command: derived from the entry seed and position */
};

/* Returned by a module's apply for session commands. */
enum wr_session_op {
    WR_SESSION_KEEP = 0,
    WR_SESSION_CLOSE = 1, /* the command ended the session (leave, refused join) */
};

/* A game module. Commands of a module that opens sessions (join) arrive for
 * unknown sessions; the core creates the session before calling apply. */
struct wr_module {
    const char *name;
    void *(*create)(void);
    void (*destroy)(void *state);
    void (*reset)(void *state);
    /* Does command @type open a new session? */
    bool (*opens_session)(uint8_t type);
    enum wr_session_op (*apply)(void *state, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd);
    /* Canonical bytes of the state: equal states give equal bytes. */
    void (*snapshot)(void *state, struct wr_writer *w);
    /* Replace the state with a decoded snapshot; 0 or -1 if malformed. */
    int (*restore)(void *state, struct wr_reader *r);
};

/* Create an empty world. @hooks is copied. Never fails (aborts on OOM). */
struct wr_world *wr_world_create(const struct wr_world_hooks *hooks);
void wr_world_destroy(struct wr_world *w);

/* Apply one log entry. Bytes after the last command are ignored (libraft
 * pads entries to 8 bytes). Returns 0, or -1 if the entry's header is malformed
 * (then nothing is applied; every node rejects the same bytes alike). A
 * malformed command inside a good entry stops the entry there, after the
 * commands before it were applied. */
int wr_world_apply(struct wr_world *w, const void *entry, size_t len);

/* Serialise the whole state (canonical bytes) into @out. */
void wr_world_snapshot(struct wr_world *w, struct wr_writer *out);
/* Replace the whole state. Returns 0, or -1 (state then empty) if the bytes
 * are malformed. Emits no events. */
int wr_world_restore(struct wr_world *w, const void *buf, size_t len);

/* 64-bit hash of the canonical snapshot, as 16 hex digits + NUL. */
void wr_world_hash(struct wr_world *w, char out[17]);

/* Module states, for read-only queries by the node (and for modules to
 * reach each other). */
void *wr_world_module(struct wr_world *w, enum wr_module_id id);
uint64_t wr_world_now(const struct wr_world *w);

/* Sessions. */
struct wr_session_info {
    uint64_t key;
    uint32_t node;
    uint32_t last_seq;
    bool open;
};
bool wr_world_session(const struct wr_world *w, uint64_t key, struct wr_session_info *out);

/* Registry of names: nodes and singletons. Players are registered by their
 * game (see arena). Sorted by name. */
enum wr_reg_kind { WR_REG_NODE = 1, WR_REG_SINGLETON = 2 };
struct wr_reg_entry {
    char name[64];
    uint8_t kind;
    uint32_t node;
    uint64_t epoch; /* singletons: placement term; nodes: incarnation */
    char http[64];  /* nodes only */
};
size_t wr_world_registry_count(const struct wr_world *w);
const struct wr_reg_entry *wr_world_registry_at(const struct wr_world *w, size_t i);
const struct wr_reg_entry *wr_world_registry_find(const struct wr_world *w, const char *name);

/* Encoding helpers for proposers. */

/* Append one command to @out. @payload may be NULL when len is 0. */
void wr_cmd_encode(struct wr_writer *out, const struct wr_cmd *cmd);
/* Decode one command from @r; returns 0 or -1 (malformed). */
int wr_cmd_decode(struct wr_reader *r, struct wr_cmd *cmd);
/* Write an entry header for @count commands. */
void wr_entry_header(struct wr_writer *out, uint64_t time_ms, uint64_t seed, uint32_t count);

/* Small string helpers for payloads: u8 length + bytes. */
void wr_put_str(struct wr_writer *w, const char *s);
/* Copy a string of at most @cap-1 bytes into @dst (NUL-terminated);
 * returns 0 or -1 if missing or too long. */
int wr_get_str(struct wr_reader *r, char *dst, size_t cap);

/* A deterministic PRNG step (splitmix64) for modules. */
uint64_t wr_mix64(uint64_t *state);

#endif
