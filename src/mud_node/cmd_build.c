/* The build area's commands: live building (role builder) and
 * administration (role admin). Every command that changes something is a
 * WR_MUD_BUILD or WR_MUD_ADMIN operation (mud/mud_build.h) submitted to the
 * log; the state machine checks the role again and refuses with a reason.
 * The checks here only save a round trip and give the usage. `debug` and
 * `zone` without arguments read this node's replica. All of them must be
 * typed in full: a shortened word never reaches a command that edits the
 * world. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "mud/model_edit.h"
#include "mud/mud_build.h"
#include "mud_node/mud_node_internal.h"

/* ---- helpers -------------------------------------------------------------- */

static void submit_op(struct client *c, uint8_t type, uint8_t op, int dir, const char *a,
                      const char *b, const char *text)
{
    struct wr_writer p;
    wr_writer_init(&p, 64);
    wr_mud_encode_op(&p, type, op, dir, a, b, text);
    wr__mud_submit(c, type, &p);
    wr_writer_free(&p);
}

/* The first word of @args as a direction, the rest in *@rest; -1 (and the
 * usage told) if it is not one. */
static int get_dir(struct client *c, const struct wr_mud_cmd_def *def, const char *args, size_t len,
                   const char **rest, size_t *rest_len)
{
    char w[16];
    *rest = wr__mud_first_word(args, len, w, sizeof w, rest_len);
    int d = wr_mud_dir_parse(w);
    if (d < 0)
        wr__mud_outf(c, "Which direction? Usage: %s\n", def->usage);
    return d;
}

/* Copy @len bytes of @s into @out (capacity @cap), truncating. */
static void copy_n(char *out, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(out, s, len);
    out[len] = '\0';
}

/* ---- building ------------------------------------------------------------- */

static void run_dig(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                    size_t len)
{
    const char *rest;
    size_t rl;
    int d = get_dir(c, def, args, len, &rest, &rl);
    if (d < 0)
        return;
    char id[64], name[WR_MUD_TEXT_MAX + 1];
    rest = wr__mud_first_word(rest, rl, id, sizeof id, &rl);
    if (!wr_mud_edit_id_ok(id)) {
        wr__mud_outf(c,
                     "Give the new room an id: lowercase letters, digits, _ and -, starting "
                     "with a letter. Usage: %s\n",
                     def->usage);
        return;
    }
    copy_n(name, sizeof name, rest, rl);
    submit_op(c, WR_MUD_BUILD, WR_BUILD_DIG, d, id, NULL, name);
}

static void run_redit(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                      size_t len)
{
    char what[8], text[WR_MUD_TEXT_MAX + 1];
    size_t rl;
    const char *rest = wr__mud_first_word(args, len, what, sizeof what, &rl);
    bool name = strcasecmp(what, "name") == 0, desc = strcasecmp(what, "desc") == 0;
    if ((!name && !desc) || rl == 0) {
        wr__mud_outf(c, "Usage: %s\n", def->usage);
        return;
    }
    copy_n(text, sizeof text, rest, rl);
    submit_op(c, WR_MUD_BUILD, name ? WR_BUILD_RNAME : WR_BUILD_RDESC, 0, NULL, NULL, text);
}

static void run_link(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                     size_t len)
{
    const char *rest;
    size_t rl;
    int d = get_dir(c, def, args, len, &rest, &rl);
    if (d < 0)
        return;
    char room[160];
    wr__mud_first_word(rest, rl, room, sizeof room, &rl);
    if (room[0] == '\0') {
        wr__mud_outf(c, "Link to which room? Usage: %s\n", def->usage);
        return;
    }
    submit_op(c, WR_MUD_BUILD, WR_BUILD_LINK, d, room, NULL, NULL);
}

/* unlink DIR, nodoor DIR */
static void run_dir_only(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                         size_t len)
{
    const char *rest;
    size_t rl;
    int d = get_dir(c, def, args, len, &rest, &rl);
    if (d >= 0)
        submit_op(c, WR_MUD_BUILD,
                  strcmp(def->name, "unlink") == 0 ? WR_BUILD_UNLINK : WR_BUILD_NODOOR, d, NULL,
                  NULL, NULL);
}

static void run_door(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                     size_t len)
{
    const char *rest;
    size_t rl;
    int d = get_dir(c, def, args, len, &rest, &rl);
    if (d < 0)
        return;
    char name[WR_EDIT_DOOR_MAX + 8];
    if (rl > WR_EDIT_DOOR_MAX) {
        wr__mud_outf(c, "A door's name has at most %d bytes.\n", WR_EDIT_DOOR_MAX);
        return;
    }
    copy_n(name, sizeof name, rest, rl);
    submit_op(c, WR_MUD_BUILD, WR_BUILD_DOOR, d, name, NULL, NULL);
}

/* ocreate/mcreate ID [NAME...], odelete/mdelete ID */
static void run_kind(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                     size_t len)
{
    char id[64], name[WR_MUD_TEXT_MAX + 1];
    size_t rl;
    const char *rest = wr__mud_first_word(args, len, id, sizeof id, &rl);
    if (id[0] == '\0') {
        wr__mud_outf(c, "Usage: %s\n", def->usage);
        return;
    }
    bool item = def->name[0] == 'o', del = strstr(def->name, "delete") != NULL;
    if (del && rl > 0) {
        wr__mud_outf(c, "Usage: %s\n", def->usage);
        return;
    }
    copy_n(name, sizeof name, rest, rl);
    uint8_t op = del ? (item ? WR_BUILD_ODELETE : WR_BUILD_MDELETE)
                     : (item ? WR_BUILD_OCREATE : WR_BUILD_MCREATE);
    submit_op(c, WR_MUD_BUILD, op, 0, id, NULL, del ? NULL : name);
}

/* ---- administration ------------------------------------------------------- */

static void run_teleport(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                         size_t len)
{
    char who[64], room[160];
    size_t rl;
    const char *rest = wr__mud_first_word(args, len, who, sizeof who, &rl);
    wr__mud_first_word(rest, rl, room, sizeof room, &rl);
    if (who[0] == '\0') {
        wr__mud_outf(c, "Usage: %s\n", def->usage);
        return;
    }
    submit_op(c, WR_MUD_ADMIN, WR_ADMIN_TELEPORT, 0, who, room, NULL);
}

static void run_goto(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                     size_t len)
{
    char to[160];
    size_t rl;
    wr__mud_first_word(args, len, to, sizeof to, &rl);
    if (to[0] == '\0') {
        wr__mud_outf(c, "Usage: %s\n", def->usage);
        return;
    }
    submit_op(c, WR_MUD_ADMIN, WR_ADMIN_GOTO, 0, to, NULL, NULL);
}

static void run_force(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                      size_t len)
{
    char who[64], line[WR_MUD_TEXT_MAX + 1];
    size_t rl;
    const char *rest = wr__mud_first_word(args, len, who, sizeof who, &rl);
    if (who[0] == '\0' || rl == 0) {
        wr__mud_outf(c, "Usage: %s\n", def->usage);
        return;
    }
    copy_n(line, sizeof line, rest, rl);
    submit_op(c, WR_MUD_ADMIN, WR_ADMIN_FORCE, 0, who, NULL, line);
}

/* `zone` alone: every zone with its owner, epoch and whether it runs. */
static void list_zones(struct client *c)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    wr__mud_out(c, "Zones (owner node, epoch, state):\n");
    for (size_t z = 0; m != NULL && z < m->n_zones; z++) {
        const struct wr_mud_zone_state *zs = wr_mud_zone_state(ms, (uint32_t)z);
        wr__mud_outf(c, "  %-16s node %u, epoch %llu, %s\n", m->zones[z].key, zs->owner,
                     (unsigned long long)zs->epoch, zs->paused ? "PAUSED" : "running");
    }
}

static void run_zone(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                     size_t len)
{
    char what[16], zone[64];
    size_t rl;
    const char *rest = wr__mud_first_word(args, len, what, sizeof what, &rl);
    wr__mud_first_word(rest, rl, zone, sizeof zone, &rl);
    if (what[0] == '\0') {
        list_zones(c);
        return;
    }
    bool pause = strcasecmp(what, "pause") == 0, resume = strcasecmp(what, "resume") == 0;
    if (!pause && !resume) {
        wr__mud_outf(c, "Usage: %s\n", def->usage);
        return;
    }
    submit_op(c, WR_MUD_ADMIN, pause ? WR_ADMIN_PAUSE : WR_ADMIN_RESUME, 0, zone, NULL, NULL);
}

static void debug_zone(struct client *c, uint32_t z)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_zone_state *zs = wr_mud_zone_state(ms, z);
    size_t rooms = 0, npcs = 0, players = 0;
    for (size_t r = 0; r < m->n_rooms; r++)
        rooms += m->rooms[r].zone == z;
    for (size_t i = 0; i < wr_mud_npc_count(ms); i++)
        npcs += m->rooms[wr_mud_npc_at(ms, i)->room].zone == z;
    for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
        const struct wr_mud_char *o = wr_mud_char_at(ms, i);
        players += o->state != WR_MUD_OFFLINE && m->rooms[o->room].zone == z;
    }
    wr__mud_outf(c, "zone/%s (%s): owner node %u, epoch %llu, %s\n", m->zones[z].key,
                 m->zones[z].name, zs->owner, (unsigned long long)zs->epoch,
                 zs->paused ? "PAUSED" : "running");
    wr__mud_outf(c, "  %zu rooms, %zu NPCs, %zu players; graveyard %s\n", rooms, npcs, players,
                 m->rooms[m->zones[z].graveyard].key);
    uint64_t due = wr_mud_zone_next_due(ms, z);
    if (due == UINT64_MAX)
        wr__mud_out(c, "  nothing due\n");
    else
        wr__mud_outf(c, "  next due at log time %llu\n", (unsigned long long)due);
}

static void debug_char(struct client *c, const struct wr_mud_char *o)
{
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    wr__mud_outf(c, "char/%s: id %u, %s, role %s, level %u\n", o->name, o->id,
                 wr__mud_state_name(o->state), wr_mud_role_name(o->role), o->level);
    if (o->state == WR_MUD_OFFLINE)
        return;
    const struct wr_mud_zone_state *zs =
        wr_mud_zone_state(wr__mud_state(c->node), m->rooms[o->room].zone);
    wr__mud_outf(c, "  on node %u, session %016llx; in %s (zone %s, owner node %u)\n", o->node,
                 (unsigned long long)o->session, m->rooms[o->room].key,
                 m->zones[m->rooms[o->room].zone].key, zs->owner);
}

/* NPC instances of kind @k: "npc/KEY#ID" as the registry names them. */
static void debug_npc(struct client *c, uint32_t k)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    size_t n = 0;
    wr__mud_outf(c, "NPC %s (%s):\n", m->npcs[k].key, m->npcs[k].name);
    for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
        const struct wr_mud_npc_inst *np = wr_mud_npc_at(ms, i);
        if (np->npc != k)
            continue;
        uint32_t z = m->rooms[np->room].zone;
        wr__mud_outf(c, "  npc/%s#%u in %s (zone %s, owner node %u)\n", m->npcs[k].key, np->id,
                     m->rooms[np->room].key, m->zones[z].key, wr_mud_zone_state(ms, z)->owner);
        n++;
    }
    if (n == 0)
        wr__mud_out(c, "  no instance in the world\n");
}

static void run_debug(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                      size_t len)
{
    (void)def;
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    char what[64], hex[33], whex[33];
    size_t rl;
    wr__mud_first_word(args, len, what, sizeof what, &rl);
    if (what[0] == '\0') {
        sodium_bin2hex(hex, sizeof hex, m->hash, 16);
        sodium_bin2hex(whex, sizeof whex, wr_mud_world_hash(ms), 16);
        wr__mud_outf(c, "World %s: version %s, hash %s\n", m->name, hex, whex);
        wr__mud_outf(c, "  %zu zones, %zu rooms, %zu NPC kinds, %zu item kinds\n", m->n_zones,
                     m->n_rooms, m->n_npcs, m->n_items);
        wr__mud_outf(c, "  this is node %u, applied index %llu\n", wr_node_id(c->node->wn),
                     (unsigned long long)wr_node_applied_index(c->node->wn));
        list_zones(c);
        return;
    }
    long z = wr_mud_model_zone(m, what);
    if (z >= 0) {
        debug_zone(c, (uint32_t)z);
        return;
    }
    const struct wr_mud_char *o = wr_mud_char_by_name(ms, what);
    if (o != NULL) {
        debug_char(c, o);
        return;
    }
    long k = wr_mud_model_npc(m, what);
    if (k >= 0) {
        debug_npc(c, (uint32_t)k);
        return;
    }
    wr__mud_outf(c, "No zone, character or NPC is called %s.\n", what);
}

/* There is no command that stops a node from inside the game: a node is an
 * operator's process (systemctl, `warren cluster down`), and the game
 * halts by zone. */
static void run_shutdown(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                         size_t len)
{
    (void)def;
    (void)args;
    (void)len;
    wr__mud_out(c, "Nodes are not stopped from the game: their operators stop them. To halt "
                   "the world, pause its zones: 'zone pause [ZONE]' (and 'zone resume').\n");
}

/* ---- the table ------------------------------------------------------------ */

#define B WR_ROLE_BUILDER
#define A WR_ROLE_ADMIN

const struct wr_mud_cmd_def wr_mud_cmds_build[] = {
    {"dig", "", WR_MC_AREA, -1, true, "Building", "dig DIR ROOMID [NAME]",
     "Make a new room (id ROOMID, in this zone) in direction DIR, with an exit to it and one "
     "back. It is unfinished until you describe it (redit).",
     run_dig, B},
    {"redit", "", WR_MC_AREA, -1, true, "Building", "redit name|desc TEXT",
     "Set this room's name or description. Everyone here sees the change at once.", run_redit, B},
    {"link", "", WR_MC_AREA, -1, true, "Building", "link DIR ROOM",
     "Make exit DIR lead to ROOM (zone.room, or a room id of this zone), and ROOM's exit back "
     "if it has none that way.",
     run_link, B},
    {"unlink", "", WR_MC_AREA, -1, true, "Building", "unlink DIR",
     "Remove exit DIR, and the exit back when it leads here.", run_dir_only, B},
    {"door", "", WR_MC_AREA, -1, true, "Building", "door DIR [NAME]",
     "Put a door (default name: door) on exit DIR, on both sides, or rename the one there.",
     run_door, B},
    {"nodoor", "", WR_MC_AREA, -1, true, "Building", "nodoor DIR",
     "Remove the door on exit DIR (both sides).", run_dir_only, B},
    {"ocreate", "", WR_MC_AREA, -1, true, "Building", "ocreate ITEMID [NAME]",
     "With a NAME (\"a shiny stone\"): a new item kind, and a spawner that keeps one here. "
     "Without: a spawner here of the existing item ITEMID.",
     run_kind, B},
    {"mcreate", "", WR_MC_AREA, -1, true, "Building", "mcreate NPCID [NAME]",
     "With a NAME: a new (peaceful) NPC kind, and a spawner that keeps one here. Without: a "
     "spawner here of the existing NPC NPCID.",
     run_kind, B},
    {"odelete", "", WR_MC_AREA, -1, true, "Building", "odelete ITEMID",
     "Remove the spawners of item ITEMID in this room, and the one lying here untouched.", run_kind,
     B},
    {"mdelete", "", WR_MC_AREA, -1, true, "Building", "mdelete NPCID",
     "Remove the spawners of NPC NPCID in this room; the NPCs they keep go too.", run_kind, B},
    {"teleport", "", WR_MC_AREA, -1, true, "Admin", "teleport NAME [ROOM]",
     "Move a player to ROOM (zone.room, or a room id of this zone), or to you.", run_teleport, A},
    {"goto", "", WR_MC_AREA, -1, true, "Admin", "goto NAME|ROOM", "Go to a player, or to a room.",
     run_goto, A},
    {"force", "", WR_MC_AREA, -1, true, "Admin", "force NAME COMMAND",
     "Make a player (not an admin) type COMMAND; they see that you did.", run_force, A},
    {"zone", "", WR_MC_AREA, -1, true, "Admin", "zone [pause|resume [ZONE]]",
     "List the zones, or stop / restart a zone's timers (NPCs, respawns, fights, "
     "regeneration); ZONE defaults to this one. This is how to halt part of the world: the "
     "nodes keep running.",
     run_zone, A},
    {"debug", "", WR_MC_AREA, -1, true, "Admin", "debug [ZONE|NAME|NPC]",
     "The world's version and hash and this node; or a zone's owner, epoch and state; or "
     "where a character or an NPC's instances are and which node runs them.",
     run_debug, A},
    {"shutdown", "", WR_MC_AREA, -1, true, "Admin", "shutdown",
     "Says how to halt the world: by pausing zones ('zone pause'); nodes are stopped by their "
     "operators, never from the game.",
     run_shutdown, A},
    {NULL, NULL, 0, -1, false, NULL, NULL, NULL, NULL, 0},
};
