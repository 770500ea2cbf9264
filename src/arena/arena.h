/* The realtime arena: players on a W x H grid moving one cell at a time.
 * A module of the replicated state machine (world/world.h): pure, no I/O.
 *
 * Commands (module WR_MODULE_ARENA):
 *   CONFIG  session 0; u16 width | u16 height. Takes effect only while the
 *           arena has never been configured (the leader proposes it once).
 *   JOIN    opens a session; str name [| token_hash[16] | u64 incarnation].
 *           Places the player on a free cell chosen from the command's seed.
 *           Refused (and the session closed) when the name is taken, the name
 *           is invalid, or the grid is full. token_hash is the hash of the
 *           client's resume token (the token itself never enters the log);
 *           incarnation identifies the node process that owns the session.
 *   RESUME  opens a session; token_hash[16] | u64 incarnation. Moves the
 *           player with that token hash to this session and node (its old
 *           session is closed), connected again. Refused: bad_token.
 *   DISCONNECT  the session's client went away: the player stays, shown as
 *           disconnected, until resumed or expired.
 *   NODE_DOWN   session 0; u32 node. Every connected player of that node is
 *           now disconnected (proposed by the leader when a node is gone).
 *   PRESENT the session's client is still connected to its node: a player
 *           marked disconnected (its node was cut off from the leader, not
 *           its client from the node) is connected again.
 *   EXPIRE  session 0; u32 player id | u64 disconnected_at. Removes the
 *           player if it is still disconnected since that very time
 *           (proposed by the leader when the grace period is over).
 *   MOVE    u8 dir (0 up, 1 down, 2 left, 3 right) | u32 client_seq. A move
 *           into an edge or another player leaves the position but still
 *           updates the player's seq: it is applied and acknowledged.
 *   LEAVE   removes the player and closes the session.
 * A node announcing a new incarnation (core NODE_INFO) disconnects the
 * players of its previous one: see wr_arena_node_restarted.
 * Events: JOINED, RESUMED, MOVED (position or seq), CHANGED (connection),
 * LEFT carry a const struct wr_arena_player *; REFUSED carries a
 * const struct wr_arena_refusal * for the session. */
#ifndef WR_ARENA_H
#define WR_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "world/world.h"

#define WR_ARENA_NAME_MAX 16
#define WR_ARENA_DEFAULT_W 64
#define WR_ARENA_DEFAULT_H 48
#define WR_ARENA_MAX_SIDE 1024

#define WR_TOKEN_HASH_BYTES 16

enum {
    WR_ARENA_CONFIG = 1,
    WR_ARENA_JOIN = 2,
    WR_ARENA_MOVE = 3,
    WR_ARENA_LEAVE = 4,
    WR_ARENA_RESUME = 5,
    WR_ARENA_DISCONNECT = 6,
    WR_ARENA_NODE_DOWN = 7,
    WR_ARENA_EXPIRE = 8,
    WR_ARENA_PRESENT = 9,
};
enum {
    WR_ARENA_EV_JOINED = 1,
    WR_ARENA_EV_MOVED = 2,
    WR_ARENA_EV_LEFT = 3,
    WR_ARENA_EV_REFUSED = 4,
    WR_ARENA_EV_RESUMED = 5,
    WR_ARENA_EV_CHANGED = 6, /* connected/node changed (not a move) */
};
enum wr_arena_dir { WR_DIR_UP = 0, WR_DIR_DOWN = 1, WR_DIR_LEFT = 2, WR_DIR_RIGHT = 3 };

struct wr_arena_player {
    uint32_t id;
    uint32_t node; /* node that owns the player's session */
    uint64_t session;
    uint32_t seq; /* client seq of the last applied move */
    uint16_t x, y;
    bool connected;
    uint64_t disconnected_at; /* log time, while !connected */
    uint64_t incarnation;     /* of the node process owning the session */
    uint8_t token_hash[WR_TOKEN_HASH_BYTES];
    char name[WR_ARENA_NAME_MAX + 1];
};

struct wr_arena_refusal {
    const char *code; /* protocol error code: "name_taken", "arena_full"... */
    const char *msg;
};

struct wr_arena;

extern const struct wr_module wr_arena_module;

/* Is @name acceptable (1..16 of A-Z a-z 0-9 _ -)? For nodes to check early. */
bool wr_arena_name_ok(const char *name, size_t len);

/* Read-only queries. The player array is in no particular order and is
 * invalidated by the next apply or restore. */
uint16_t wr_arena_width(const struct wr_arena *a);
uint16_t wr_arena_height(const struct wr_arena *a);
size_t wr_arena_count(const struct wr_arena *a);
const struct wr_arena_player *wr_arena_players(const struct wr_arena *a);
const struct wr_arena_player *wr_arena_by_session(const struct wr_arena *a, uint64_t session);
const struct wr_arena_player *wr_arena_by_id(const struct wr_arena *a, uint32_t id);
const struct wr_arena_player *wr_arena_by_name(const struct wr_arena *a, const char *name);
const struct wr_arena_player *wr_arena_by_token(const struct wr_arena *a,
                                                const uint8_t hash[WR_TOKEN_HASH_BYTES]);

/* Called by the core when node @node announces @incarnation: players whose
 * session belongs to an earlier incarnation of that node are disconnected
 * (their clients died with that process). */
void wr_arena_node_restarted(struct wr_arena *a, const struct wr_apply_ctx *ctx, uint32_t node,
                             uint64_t incarnation);

/* Payload encoders for proposers; @out receives the payload only. */
void wr_arena_encode_config(struct wr_writer *out, uint16_t width, uint16_t height);
void wr_arena_encode_join(struct wr_writer *out, const char *name);
void wr_arena_encode_join_token(struct wr_writer *out, const char *name,
                                const uint8_t hash[WR_TOKEN_HASH_BYTES], uint64_t incarnation);
void wr_arena_encode_resume(struct wr_writer *out, const uint8_t hash[WR_TOKEN_HASH_BYTES],
                            uint64_t incarnation);
void wr_arena_encode_node_down(struct wr_writer *out, uint32_t node);
void wr_arena_encode_expire(struct wr_writer *out, uint32_t id, uint64_t disconnected_at);
void wr_arena_encode_move(struct wr_writer *out, enum wr_arena_dir dir, uint32_t client_seq);

#endif
