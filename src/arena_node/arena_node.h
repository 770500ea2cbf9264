/* The arena's node-side half: see node/game.h and arena_node.c. */
#ifndef WR_ARENA_NODE_H
#define WR_ARENA_NODE_H

#include "node/game.h"

extern const struct wr_game wr_arena_game;

#endif
