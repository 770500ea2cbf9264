/* The composition root: every game linked into warren, both halves. To add
 * a game, add its two folders (see games.h) and its two lines here; nothing else in the core
 * names a game. */
#include "games.h"

#include "arena/arena.h"
#include "arena_node/arena_node.h"
#include "mud/mud.h"
#include "mud_node/mud_node.h"

const struct wr_module *const wr_game_modules[] = {
    &wr_arena_module,
    &wr_mud_module,
};
const size_t wr_game_module_count = sizeof wr_game_modules / sizeof wr_game_modules[0];

const struct wr_game *const wr_games[] = {
    &wr_arena_game,
    &wr_mud_game,
};
const size_t wr_game_count = sizeof wr_games / sizeof wr_games[0];
