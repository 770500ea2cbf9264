/* Live building and administration (mud_build.c), as the node sees them:
 * the operations of WR_MUD_BUILD and WR_MUD_ADMIN, their payload encoder,
 * and the role names. Pure; any thread may call these.
 *
 * Payloads. WR_MUD_BUILD and WR_MUD_ADMIN are u8 op, then the op's fields
 * in this order, each only if the op has it (see the table in mud_build.c):
 *   u8 dir | str a | str b | text
 * (str: u8 length + bytes; text: u16 length + bytes, at most
 * WR_MUD_TEXT_MAX). WR_MUD_SET_ROLE is str name | u8 role. */
#ifndef WR_MUD_BUILD_H
#define WR_MUD_BUILD_H

#include <stdint.h>

#include "common/bytes.h"

/* Builder operations (role builder or admin). The builder's room is
 * "here"; a new room, item or NPC kind belongs to here's zone. */
enum wr_mud_build_op {
    WR_BUILD_DIG = 1, /* dir | a: room id | text: name ("": a default) */
    WR_BUILD_RNAME,   /* text: here's new name */
    WR_BUILD_RDESC,   /* text: here's new description */
    WR_BUILD_LINK,    /* dir | a: room ("zone.room", or a room id of here's zone) */
    WR_BUILD_UNLINK,  /* dir */
    WR_BUILD_DOOR,    /* dir | a: door name ("": "door") */
    WR_BUILD_NODOOR,  /* dir */
    WR_BUILD_OCREATE, /* a: item id | text: name of a new kind ("": an existing kind) */
    WR_BUILD_MCREATE, /* a: NPC id | text: name of a new kind ("": an existing kind) */
    WR_BUILD_ODELETE, /* a: item id: its spawners here go */
    WR_BUILD_MDELETE, /* a: NPC id: its spawners here go */
    WR_BUILD_NOPS
};

/* Admin operations (role admin). */
enum wr_mud_admin_op {
    WR_ADMIN_TELEPORT = 1, /* a: character | b: room ("": here) */
    WR_ADMIN_GOTO,         /* a: a character's name or a room */
    WR_ADMIN_FORCE,        /* a: character | text: the command line it runs */
    WR_ADMIN_PAUSE,        /* a: zone ("": here's) */
    WR_ADMIN_RESUME,       /* a: zone ("": here's) */
    WR_ADMIN_NOPS
};

/* The payload of a WR_MUD_BUILD (@type) or WR_MUD_ADMIN operation @op into
 * @out: the fields the op has, from @dir, @a, @b and @text (NULL is ""). */
void wr_mud_encode_op(struct wr_writer *out, uint8_t type, uint8_t op, int dir, const char *a,
                      const char *b, const char *text);

/* WR_MUD_SET_ROLE's payload. */
void wr_mud_encode_set_role(struct wr_writer *out, const char *name, uint8_t role);

/* "player", "builder", "admin" (enum wr_mud_role), or "?"; and back (-1
 * if @s is none of them, exact and lower case). */
const char *wr_mud_role_name(uint8_t role);
int wr_mud_role_parse(const char *s);

#endif
