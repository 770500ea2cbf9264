/* The contract between the replicated state machine's core (world.c) and a
 * game module (the arena, the MUD, ...): everything a game's pure half is
 * and may do. The node-side half of a game is node/game.h.
 *
 * A module is a table of functions over an opaque state that the core
 * creates once per world. The core owns sessions, (session, seq) dedup,
 * the log time, seeds, the node registry and the snapshot framing; the
 * module owns its commands, its state, its events, its snapshot section
 * and the registry names it lists.
 *
 * What a module must do, because every node applies every entry and must
 * end in the same state:
 *   - apply is a pure function of (state, ctx, cmd): no clock, no random number
 *     source (use ctx->seed with wr_mix64), no I/O, no sockets, no libraft, no
 *     global mutable state, no iteration over hash tables or pointers whose
 *     order depends on allocation. Use ctx->now_ms for time.
 *   - snapshot writes canonical bytes: equal states give equal bytes.
 *   - restore of a snapshot's bytes gives back the same state (and the same
 *     snapshot bytes); it must accept every earlier version of its section
 *     it has ever written (@version), and refuse (return -1) a newer one.
 *   - refusals are events, not failures: a command that is well formed but
 *     not allowed (name taken, door locked) is applied and emits an event
 *     saying why.
 * Pointer lifetimes: cmd->payload and every pointer an event carries are
 * valid only during the call; a module's read-only query results are
 * invalidated by the next apply or restore.
 *
 * Wire identity: a module has a fixed id (the u8 in every command) and a
 * version. Every command in the log carries its module's version; a node
 * that meets a module id it does not know, or a version newer than its own,
 * stops applying (wr_world_apply returns WR_APPLY_INCOMPATIBLE) rather than
 * diverge. Bump the version when a command's meaning or the snapshot
 * section's format changes, and keep applying the old ones.
 *
 * Modules are listed once, at the composition root (src/games.c). */
#ifndef WR_WORLD_MODULE_H
#define WR_WORLD_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"

#define WR_MODULE_MAX 16 /* module ids are 0..WR_MODULE_MAX-1; 0 is the core */

/* Module ids on the wire. Never reuse one. */
enum wr_module_id { WR_MODULE_CORE = 0, WR_MODULE_ARENA = 1, WR_MODULE_MUD = 2 };

struct wr_world;

/* A decoded command; payload points into the entry. */
struct wr_cmd {
    uint8_t module;
    uint8_t version; /* the module's version that wrote it; 0 = current */
    uint8_t type;
    uint32_t node;
    uint64_t session;
    uint32_t seq;
    uint16_t len;
    const uint8_t *payload;
};

/* Who an event is for. Every node gets every event and delivers it to
 * those of its own clients it concerns. */
enum wr_audience {
    WR_AUD_SESSION = 0, /* the client of (node, session) */
    WR_AUD_ALL = 1,     /* everyone */
    WR_AUD_ROOM = 2,    /* whoever is in room @target (game-defined) */
    WR_AUD_ZONE = 3,    /* whoever is in zone @target */
    WR_AUD_CHANNEL = 4, /* whoever listens to channel @target */
};

/* An event for the clients, emitted during apply. @data points to a
 * module-specific struct valid only during the callback. */
struct wr_event {
    uint8_t module;
    uint8_t type;
    uint8_t audience; /* enum wr_audience */
    uint32_t node;    /* WR_AUD_SESSION: node that owns @session */
    uint64_t session; /* WR_AUD_SESSION: the session addressed */
    uint64_t target;  /* room, zone or channel (game-defined numbering) */
    const void *data;
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
    WR_SESSION_MALFORMED = 2, /* the payload could not be decoded: nothing
                                 changed; the verdict is WR_MALFORMED (the
                                 seq still counts, so later ones apply) */
};

/* Registry kinds: the core's and those games list. */
enum wr_reg_kind {
    WR_REG_NODE = 1,
    WR_REG_SINGLETON = 2,
    WR_REG_PLAYER = 3, /* a player or character */
    WR_REG_ZONE = 4,   /* a zone and its owner node */
    WR_REG_NPC = 5,
};
struct wr_reg_entry {
    char name[64];
    uint8_t kind;
    uint32_t node;
    uint64_t epoch; /* singletons, zones: placement epoch; nodes: incarnation */
    char http[64];  /* nodes only */
    char info[64];  /* games: a short description ("room town.square") */
};

struct wr_module {
    uint8_t id;        /* enum wr_module_id */
    const char *name;  /* "arena", "mud": the snapshot section's name */
    uint8_t version;   /* >= 1; see the top of this file */
    void *(*create)(void);
    void (*destroy)(void *state);
    void (*reset)(void *state);
    /* Does command @type open a new session? */
    bool (*opens_session)(uint8_t type);
    enum wr_session_op (*apply)(void *state, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd);
    /* Canonical bytes of the state: equal states give equal bytes. */
    void (*snapshot)(void *state, struct wr_writer *w);
    /* Replace the state with a decoded section written by @version of
     * this module; 0, or -1 if malformed or newer than this binary. */
    int (*restore)(void *state, struct wr_reader *r, uint8_t version);
    /* Node @node announced a new process (@incarnation): sessions of its
     * earlier processes are gone. May be NULL. */
    void (*node_restarted)(void *state, const struct wr_apply_ctx *ctx, uint32_t node,
                           uint64_t incarnation);
    /* List the registry names this module owns (players, zones...), in
     * any order, by calling @cb for each. May be NULL. */
    void (*registry)(void *state, void (*cb)(void *arg, const struct wr_reg_entry *e),
                     void *arg);
};

/* What modules may call on the world during apply. */

/* Emit @ev to the node's event hook. */
void wr_world_emit(struct wr_world *w, const struct wr_event *ev);
/* Close a session other than the command's own (a resume takes a player
 * over from its old session; an expiry ends it). Later commands of that
 * session are STALE. */
void wr_world_close_session(struct wr_world *w, uint64_t key);
/* Another module's state (for modules that read each other), or NULL. */
void *wr_world_module(struct wr_world *w, uint8_t id);

/* Small string helpers for payloads: u8 length + bytes. */
void wr_put_str(struct wr_writer *w, const char *s);
/* Copy a string of at most @cap-1 bytes into @dst (NUL-terminated);
 * returns 0 or -1 if missing, too long or holding a NUL. */
int wr_get_str(struct wr_reader *r, char *dst, size_t cap);

/* A deterministic PRNG step (splitmix64) for modules. */
uint64_t wr_mix64(uint64_t *state);

#endif
