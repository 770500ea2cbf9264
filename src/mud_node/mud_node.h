/* The MUD's node-side half (node/game.h): telnet and WebSocket (/mud/ws)
 * clients, the login dialogue, the command parser's actions, event
 * delivery, the leader's world loading and zone placement, the zone
 * owners' ticks and the HTTP view /api/mud. */
#ifndef WR_MUD_NODE_H
#define WR_MUD_NODE_H

#include <stddef.h>

#include "net/telnet.h"
#include "node/game.h"

extern const struct wr_game wr_mud_game;

/* MSSP variables for a telnet client (the telnet server's mssp callback;
 * also wr_mud_game.mssp). @g is the game's state from create. Fills up to
 * @max pairs whose strings stay valid until the next call; returns how
 * many. Loop thread only. */
size_t wr_mud_mssp(void *g, struct wr_telnet_mssp_var *vars, size_t max);

/* The loaded world's version (BLAKE2b-128 of its bundle) as 32 hex digits,
 * or "" while no world is loaded (also wr_mud_game.version). */
void wr_mud_world_version(void *g, char out[33]);

#endif
