/* Editing a world model in place: what live building (mud_build.c) does to
 * a private copy of the running world before it is exported, re-parsed and
 * installed. Pure: no I/O, no clock, no randomness.
 *
 * Every function checks its arguments against the model first and, if the
 * edit cannot be made, returns -1 with one sentence for the builder in
 * @err ("There is already an exit north.") and leaves @m as it was; on
 * success it returns 0 (or what it says). New strings and arrays are
 * allocated in @m's arena: a grown array is a new copy, the old one stays
 * in the arena until the model is freed. Room indexes stay grouped by zone
 * as the parser numbers them (a new room goes after the last room of its
 * zone, and every room index in the model is moved up behind it). */
#ifndef WR_MUD_MODEL_EDIT_H
#define WR_MUD_MODEL_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mud/model.h"

/* Limits of the world format (docs/world-format.md), checked here so that
 * a builder hears the limit rather than a YAML position. */
#define WR_EDIT_ID_MAX 32     /* id */
#define WR_EDIT_NAME_MAX 80   /* room, item and NPC names */
#define WR_EDIT_LINE_MAX 200  /* ground lines, keywords */
#define WR_EDIT_DESC_MAX 4096 /* descriptions */
#define WR_EDIT_DOOR_MAX 32   /* door names */
#define WR_EDIT_MAX_ROOMS 10000
#define WR_EDIT_MAX_ITEMS 1000
#define WR_EDIT_MAX_NPCS 1000
#define WR_EDIT_MAX_SPAWNERS 10000
#define WR_EDIT_COORD_MAX 10000
#define WR_EDIT_INTERVAL_MS 60000u /* a new spawner's interval (the default) */

/* Is @s an id of the world format: 1..32 bytes of a-z, 0-9, '_' and '-',
 * starting with a letter? */
bool wr_mud_edit_id_ok(const char *s);

/* Is @s a line: not empty, at most @max bytes, no control characters (C0,
 * DEL, C1), valid UTF-8? */
bool wr_mud_edit_line_ok(const char *s, size_t max);

/* Dig: a new room "ZONE.@id" (ZONE: @from's zone) named @name (NULL: a
 * default) with an unfinished description, one step in direction @d from
 * @from on the map, an exit @d from @from to it and the reverse exit back.
 * Refused if @from has an exit @d, the id is bad or taken, the name is bad,
 * or the world is full. The new room's index in *@out. */
int wr_mud_edit_dig(struct wr_mud_model *m, uint32_t from, enum wr_mud_dir d, const char *id,
                    const char *name, uint32_t *out, char *err, size_t errlen);

/* Set @room's name (@desc false) or description (@desc true). */
int wr_mud_edit_room_text(struct wr_mud_model *m, uint32_t room, bool desc, const char *text,
                          char *err, size_t errlen);

/* An exit @d from @room to @to; also the exit back from @to when @to has
 * none in the reverse direction (*@both then true). Refused if @room has
 * an exit @d. */
int wr_mud_edit_link(struct wr_mud_model *m, uint32_t room, enum wr_mud_dir d, uint32_t to,
                     bool *both, char *err, size_t errlen);

/* Remove exit @d of @room (and its door); also the exit back from its room
 * when that one leads here (*@both then true). Refused if there is no exit
 * @d. *@to: the room the exit led to. */
int wr_mud_edit_unlink(struct wr_mud_model *m, uint32_t room, enum wr_mud_dir d, uint32_t *to,
                       bool *both, char *err, size_t errlen);

/* Put a door named @name (open at start) on exit @d of @room, or rename the
 * door there; with @name NULL remove the door. The exit back, when it leads
 * here, gets the same (*@both then true). Refused without an exit @d, with
 * a bad name, when the door already has that name, or (removing) when there
 * is no door. */
int wr_mud_edit_door(struct wr_mud_model *m, uint32_t room, enum wr_mud_dir d, const char *name,
                     bool *both, char *err, size_t errlen);

/* A new simple item kind @id called @name (keywords from the name and the
 * id, a plain description and ground line; every other field as the world
 * loader defaults it), defined with zone @zone's files. Its index in *@out.
 * Refused if the id is bad or taken, the name bad, or the world full. */
int wr_mud_edit_add_item(struct wr_mud_model *m, const char *id, const char *name, uint32_t zone,
                         uint32_t *out, char *err, size_t errlen);

/* The same for a new peaceful NPC kind. */
int wr_mud_edit_add_npc(struct wr_mud_model *m, const char *id, const char *name, uint32_t zone,
                        uint32_t *out, char *err, size_t errlen);

/* A spawner of item @item / NPC @npc in @room (default interval). Refused
 * if the world has the most spawners it may have. */
int wr_mud_edit_add_item_spawner(struct wr_mud_model *m, uint32_t item, uint32_t room, char *err,
                                 size_t errlen);
int wr_mud_edit_add_npc_spawner(struct wr_mud_model *m, uint32_t npc, uint32_t room, char *err,
                                size_t errlen);

/* Remove every spawner of item @item / NPC @npc in @room; returns how many
 * were removed (0: nothing changed). */
size_t wr_mud_edit_remove_item_spawners(struct wr_mud_model *m, uint32_t item, uint32_t room);
size_t wr_mud_edit_remove_npc_spawners(struct wr_mud_model *m, uint32_t npc, uint32_t room);

#endif
