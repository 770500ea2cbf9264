/* The realtime arena: players on a W x H grid moving one cell at a time.
 * A module of the replicated state machine (world/world.h): pure, no I/O.
 *
 * Commands (module WR_MODULE_ARENA):
 *   CONFIG  session 0; u16 width | u16 height. Takes effect only while the
 *           arena has never been configured (the leader proposes it once).
 *   JOIN    opens a session; str name. Places the player on a free cell
 *           chosen from the command's seed. Refused (and the session closed)
 *           when the name is taken, the name is invalid, or the grid is full.
 *   MOVE    u8 dir (0 up, 1 down, 2 left, 3 right) | u32 client_seq. A move
 *           into an edge or another player leaves the position but still
 *           updates the player's seq: it is applied and acknowledged.
 *   LEAVE   removes the player and closes the session.
 * Events: JOINED, MOVED, LEFT carry a const struct wr_arena_player *;
 * REFUSED carries a const struct wr_arena_refusal * for the session. */
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

enum { WR_ARENA_CONFIG = 1, WR_ARENA_JOIN = 2, WR_ARENA_MOVE = 3, WR_ARENA_LEAVE = 4 };
enum { WR_ARENA_EV_JOINED = 1, WR_ARENA_EV_MOVED = 2, WR_ARENA_EV_LEFT = 3, WR_ARENA_EV_REFUSED = 4 };
enum wr_arena_dir { WR_DIR_UP = 0, WR_DIR_DOWN = 1, WR_DIR_LEFT = 2, WR_DIR_RIGHT = 3 };

struct wr_arena_player {
    uint32_t id;
    uint32_t node; /* node that owns the player's session */
    uint64_t session;
    uint32_t seq; /* client seq of the last applied move */
    uint16_t x, y;
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

/* Payload encoders for proposers; @out receives the payload only. */
void wr_arena_encode_config(struct wr_writer *out, uint16_t width, uint16_t height);
void wr_arena_encode_join(struct wr_writer *out, const char *name);
void wr_arena_encode_move(struct wr_writer *out, enum wr_arena_dir dir, uint32_t client_seq);

#endif
