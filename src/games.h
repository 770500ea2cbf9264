/* The composition root: the list of games linked into this binary. Each
 * game is two halves in two folders: its state machine module
 * (world/module.h) in src/GAME/, pure, and its node-side half (node/game.h)
 * in src/GAME_node/, where clocks, sockets and threads are allowed. Adding a
 * game means adding its folders and two lines in games.c, and touching no
 * other core file. */
#ifndef WR_GAMES_H
#define WR_GAMES_H

#include <stddef.h>

#include "world/module.h"

struct wr_game;

extern const struct wr_module *const wr_game_modules[];
extern const size_t wr_game_module_count;

extern const struct wr_game *const wr_games[];
extern const size_t wr_game_count;

#endif
