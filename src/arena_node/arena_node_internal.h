/* What arena_node.c (the protocol, sessions, duties) and arena_fanout.c
 * (delivery of player changes) share. Loop thread only. */
#ifndef WR_ARENA_NODE_INTERNAL_H
#define WR_ARENA_NODE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "arena/arena.h"
#include "common/u64map.h"
#include "net/conn.h"
#include "node/clients.h"
#include "node/game.h"

#define WR_TOKEN_BYTES 16

/* See the state list at the top of arena_node.c. */
enum client_state { C_CONNECTED, C_JOINING, C_RESUMING, C_JOINED, C_LEAVING };

struct anode;

#define WR_ARENA_MAX_PHASES 8

/* Players changed since a phase's last broadcast (set: id -> 1 moved,
 * 2 full record), and players that left, in order. */
struct wr_arena_changes {
    uint32_t *dirty;
    size_t n_dirty, cap_dirty;
    struct wr_u64map set;
    uint32_t *left;
    size_t n_left, cap_left;
};

struct client {
    struct anode *node;
    struct wr_conn *conn;
    enum client_state state;
    uint64_t session;
    uint32_t next_seq;        /* session seq of the next command */
    uint64_t last_client_seq; /* highest move seq the client sent */
    uint32_t player_id;
    uint32_t slot;
    uint32_t ack_round; /* n->round when its own ack was last queued */
    char token[2 * WR_TOKEN_BYTES + 1]; /* hex, sent in the welcome */
    bool binary;     /* asked for binary updates ("enc":"bin" in join/resume) */
    bool needs_full; /* welcomed: owed the list of every player */
    bool moved;      /* told to move elsewhere (drain) and closed */
    uint8_t phase;   /* its broadcast phase (anode.phases) */
};

struct anode {
    struct wr_node *wn;
    struct wr_world *world;

    struct wr_client_table clients; /* struct client *, by slot */
    size_t n_joined;

    /* Changes for everyone, sent at the broadcast rate (arena_fanout.c),
     * one set per broadcast phase: the clients are split into `phases`
     * groups whose broadcasts are spread over the period. */
    struct wr_arena_changes ch[WR_ARENA_MAX_PHASES];
    unsigned phases;     /* 1..WR_ARENA_MAX_PHASES */
    unsigned next_phase; /* the phase the next broadcast is for */
    uint32_t phase_rr;   /* joins so far: a new client's phase */
    size_t n_needs_full;

    /* Own acknowledgements owed in this loop iteration: sessions, each
     * once per round (client.ack_round). */
    uint64_t *acks;
    size_t n_acks, cap_acks;
    uint32_t round;

    uv_timer_t bcast;      /* one-shot, armed only while changes wait */
    bool bcast_init;       /* bcast was initialised (lazily) */
    bool stopped;          /* the node is shutting down: arm nothing */
    uint64_t period_ms;    /* broadcast period; 0: every loop iteration */
    uint64_t last_bcast;   /* uv_now of the last broadcast (of any phase) */

    uint64_t last_expiry_round;
    uint64_t last_presence_round;
    uint64_t frames_broadcast; /* update encodings (JSON or binary) */
    uint64_t acks_sent;
};

const struct wr_arena *wr__arena_state(struct anode *n);

/* Player @id changed in this iteration. @full: its name, node or
 * connection are news too (it appeared, resumed, or its connection
 * changed); otherwise the update carries only what a move changes. */
void wr__arena_mark_dirty(struct anode *n, uint32_t id, bool full);
/* Player @id left the arena. */
void wr__arena_mark_left(struct anode *n, uint32_t id);
/* @c's own player moved (its move applied here): send it its update in
 * this loop iteration, before anything is coalesced. */
void wr__arena_mark_ack(struct anode *n, struct client *c);

/* game.flush: once per loop iteration after the applies. */
void wr__arena_flush(void *g);
/* game.stop: close the broadcast timer. */
void wr__arena_fanout_stop(void *g);
void wr__arena_fanout_init(struct anode *n, unsigned phases);
void wr__arena_fanout_free(struct anode *n);

#endif
