/* Live building and administration (mud_internal.h, "gameplay areas"):
 * roles, builder edits of the running world, admin commands. Payloads and
 * operations are in mud_build.h.
 *
 * Roles. Every character is a player, a builder or an admin (c->role);
 * SET_ROLE, proposed by a node for `warren ctl role`, changes it. Builder
 * operations need builder or admin, admin operations admin: checked here,
 * in apply, whatever the node shows or hides.
 *
 * Building. An edit never changes the running model in place. It parses
 * the running bundle again into a private copy (M2), edits the copy
 * (model_edit.c), exports it canonically (B = wr_mud_model_export(M2)),
 * parses B (M3) and installs M3 with B as the world's bundle, exactly as a
 * world load would ("edited"): every character, NPC and item is remapped
 * by key, nobody is disconnected. So the running world is always what a
 * restore re-parses from the snapshot's bundle, and what `ctl world
 * export` writes out. Everything that can be refused is checked before the
 * install (a refused export or re-parse too); a refused edit changes
 * nothing. Players in a room whose view changed get a WR_MUD_EV_WORLD
 * "edited" event for that room (room = its index, text = a notice).
 *
 * Administration: teleport a character (or go to one), force a character
 * to type a command (its own node runs the line when the event reaches
 * it: the state machine cannot type for a client), pause and resume a
 * zone's timers (ZONE_TICK skips a paused zone).
 *
 * Snapshot section (the last of the areas'): u32 n | u8 role per
 * character in id order | u32 n | u8 paused per zone in model order (0
 * zones without a world). */
#include "mud/mud_build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mud/model_edit.h"
#include "mud/mud_internal.h"
#include "mud/worldfile.h"

/* ---- payloads ------------------------------------------------------------ */

enum { F_DIR = 1, F_A = 2, F_B = 4, F_TEXT = 8 };

static const uint8_t build_shape[WR_BUILD_NOPS] = {
    [WR_BUILD_DIG] = F_DIR | F_A | F_TEXT,
    [WR_BUILD_RNAME] = F_TEXT,
    [WR_BUILD_RDESC] = F_TEXT,
    [WR_BUILD_LINK] = F_DIR | F_A,
    [WR_BUILD_UNLINK] = F_DIR,
    [WR_BUILD_DOOR] = F_DIR | F_A,
    [WR_BUILD_NODOOR] = F_DIR,
    [WR_BUILD_OCREATE] = F_A | F_TEXT,
    [WR_BUILD_MCREATE] = F_A | F_TEXT,
    [WR_BUILD_ODELETE] = F_A,
    [WR_BUILD_MDELETE] = F_A,
};

static const uint8_t admin_shape[WR_ADMIN_NOPS] = {
    [WR_ADMIN_TELEPORT] = F_A | F_B, [WR_ADMIN_GOTO] = F_A,   [WR_ADMIN_FORCE] = F_A | F_TEXT,
    [WR_ADMIN_PAUSE] = F_A,          [WR_ADMIN_RESUME] = F_A,
};

/* The fields of op @op of @type, or 0 if there is no such op. */
static uint8_t shape_of(uint8_t type, uint8_t op)
{
    if (type == WR_MUD_BUILD)
        return op > 0 && op < WR_BUILD_NOPS ? build_shape[op] : 0;
    if (type == WR_MUD_ADMIN)
        return op > 0 && op < WR_ADMIN_NOPS ? admin_shape[op] : 0;
    return 0;
}

void wr_mud_encode_op(struct wr_writer *out, uint8_t type, uint8_t op, int dir, const char *a,
                      const char *b, const char *text)
{
    uint8_t f = shape_of(type, op);
    wr_put_u8(out, op);
    if (f & F_DIR)
        wr_put_u8(out, (uint8_t)dir);
    if (f & F_A)
        wr_put_str(out, a ? a : "");
    if (f & F_B)
        wr_put_str(out, b ? b : "");
    if (f & F_TEXT)
        wr__mud_put_text(out, text ? text : "");
}

void wr_mud_encode_set_role(struct wr_writer *out, const char *name, uint8_t role)
{
    wr_put_str(out, name);
    wr_put_u8(out, role);
}

static const char *const role_names[] = {"player", "builder", "admin"};

const char *wr_mud_role_name(uint8_t role)
{
    return role <= WR_ROLE_ADMIN ? role_names[role] : "?";
}

int wr_mud_role_parse(const char *s)
{
    for (int i = 0; i <= WR_ROLE_ADMIN; i++)
        if (strcmp(s, role_names[i]) == 0)
            return i;
    return -1;
}

struct args {
    uint8_t op, dir;
    char a[256], b[256];
    char text[WR_MUD_TEXT_MAX + 1];
    bool text_long; /* the text was longer than WR_MUD_TEXT_MAX: refused */
};

/* Decode the op and its fields; -1 if malformed. The text is trimmed of
 * spaces; its content is judged by the op, not here. */
static int decode(struct wr_reader *r, uint8_t type, struct args *g)
{
    memset(g, 0, sizeof *g);
    g->op = wr_get_u8(r);
    uint8_t f = shape_of(type, g->op);
    if (r->err || f == 0)
        return -1;
    if (f & F_DIR) {
        g->dir = wr_get_u8(r);
        if (r->err || g->dir >= WR_MUD_NDIRS)
            return -1;
    }
    if ((f & F_A) && wr_get_str(r, g->a, sizeof g->a) != 0)
        return -1;
    if ((f & F_B) && wr_get_str(r, g->b, sizeof g->b) != 0)
        return -1;
    if (f & F_TEXT) {
        uint16_t n = wr_get_u16(r);
        const uint8_t *p = wr_get_bytes(r, n);
        if (p == NULL || memchr(p, '\0', n) != NULL)
            return -1;
        while (n > 0 && *p == ' ') {
            p++;
            n--;
        }
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n > WR_MUD_TEXT_MAX) {
            g->text_long = true;
            n = 0;
        }
        memcpy(g->text, p, n);
        g->text[n] = '\0';
    }
    return 0;
}

/* ---- look-ups --------------------------------------------------------- */

/* The room @arg names: "zone.room", or a room id of zone @zone. */
static long find_room(const struct wr_mud_model *mo, uint32_t zone, const char *arg)
{
    if (strchr(arg, '.') != NULL)
        return wr_mud_model_room(mo, arg);
    char key[600];
    snprintf(key, sizeof key, "%s.%s", mo->zones[zone].key, arg);
    return wr_mud_model_room(mo, key);
}

/* The character called @name (any case) if it is in the world. */
static struct wr_mud_char *find_in_world(struct wr_mud *m, const char *name)
{
    struct wr_mud_char *c = name[0] ? wr__mud_char_by_name(m, name) : NULL;
    return c != NULL && wr__mud_in_world(c) ? c : NULL;
}

/* ---- roles ------------------------------------------------------------ */

static enum result apply_set_role(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                  struct wr_reader *r)
{
    char name[WR_MUD_NAME_MAX + 1];
    if (wr_get_str(r, name, sizeof name) != 0)
        return R_MALFORMED;
    uint8_t role = wr_get_u8(r);
    if (r->err || role > WR_ROLE_ADMIN)
        return R_MALFORMED;
    struct wr_mud_char *c = wr__mud_char_by_name(m, name);
    if (c == NULL || c->role == role)
        return R_KEEP; /* the node checked: a race with nothing to do */
    c->role = role;
    wr__mud_tell_char(ctx, c, "info", "You are %s now.",
                      role == WR_ROLE_ADMIN     ? "an admin"
                      : role == WR_ROLE_BUILDER ? "a builder"
                                                : "a player");
    return R_KEEP;
}

/* ---- building ----------------------------------------------------------- */

/* A room whose view an edit changed, and what its occupants are told. The
 * key points into the edited copy (alive until the notices are sent). */
struct notice {
    const char *key;
    char text[200];
};

/* What an edit did, beyond the model: told to the builder and the rooms,
 * and the instances it takes away before the install. */
struct edit {
    char told[WR_MUD_TEXT_MAX + 300];
    struct notice rooms[2];
    int n_rooms;
    int removed;   /* 0, or WR_BUILD_ODELETE / WR_BUILD_MDELETE */
    uint32_t kind; /* then: the item / NPC index (same in M2 and m->model) */
};

static void notice(struct edit *e, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void notice(struct edit *e, const char *key, const char *fmt, ...)
{
    struct notice *n = &e->rooms[e->n_rooms++];
    n->key = key;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->text, sizeof n->text, fmt, ap);
    va_end(ap);
}

static int dig(struct wr_mud_model *mo, uint32_t here, const struct wr_mud_char *c,
               const struct args *g, struct edit *e, char *err, size_t errlen)
{
    const char *here_key = mo->rooms[here].key;
    uint32_t nr;
    if (wr_mud_edit_dig(mo, here, (enum wr_mud_dir)g->dir, g->a, g->text[0] ? g->text : NULL, &nr,
                        err, errlen) != 0)
        return -1;
    snprintf(e->told, sizeof e->told, "You dig %s: %s (%s) is there now.",
             wr_mud_dir_name((enum wr_mud_dir)g->dir), mo->rooms[nr].name, mo->rooms[nr].key);
    notice(e, here_key, "%s opens a new way %s.", c->name,
           wr_mud_dir_name((enum wr_mud_dir)g->dir));
    return 0;
}

static int link_exit(struct wr_mud_model *mo, uint32_t here, const struct wr_mud_char *c,
                     const struct args *g, struct edit *e, char *err, size_t errlen)
{
    enum wr_mud_dir d = (enum wr_mud_dir)g->dir, rd = wr_mud_dir_reverse(d);
    long to = g->a[0] ? find_room(mo, mo->rooms[here].zone, g->a) : -1;
    if (to < 0) {
        snprintf(err, errlen, "There is no room %.60s (give zone.room, or a room of this zone).",
                 g->a);
        return -1;
    }
    bool both;
    if (wr_mud_edit_link(mo, here, d, (uint32_t)to, &both, err, errlen) != 0)
        return -1;
    const struct wr_mud_room *tr = &mo->rooms[to];
    if (both)
        snprintf(e->told, sizeof e->told, "Exit %s now leads to %s (%s), and %s leads back.",
                 wr_mud_dir_name(d), tr->name, tr->key, wr_mud_dir_name(rd));
    else
        snprintf(e->told, sizeof e->told,
                 "Exit %s now leads to %s (%s), one way: it has an exit %s already.",
                 wr_mud_dir_name(d), tr->name, tr->key, wr_mud_dir_name(rd));
    notice(e, mo->rooms[here].key, "%s opens a way %s.", c->name, wr_mud_dir_name(d));
    if (both && (uint32_t)to != here)
        notice(e, tr->key, "A new way opens %s.", wr_mud_dir_name(rd));
    return 0;
}

static int unlink_exit(struct wr_mud_model *mo, uint32_t here, const struct wr_mud_char *c,
                       const struct args *g, struct edit *e, char *err, size_t errlen)
{
    enum wr_mud_dir d = (enum wr_mud_dir)g->dir, rd = wr_mud_dir_reverse(d);
    uint32_t to;
    bool both;
    if (wr_mud_edit_unlink(mo, here, d, &to, &both, err, errlen) != 0)
        return -1;
    snprintf(e->told, sizeof e->told, "Exit %s to %s is gone%s.", wr_mud_dir_name(d),
             mo->rooms[to].key, both ? ", and the way back too" : "");
    notice(e, mo->rooms[here].key, "%s closes the way %s.", c->name, wr_mud_dir_name(d));
    if (both && to != here)
        notice(e, mo->rooms[to].key, "The way %s closes.", wr_mud_dir_name(rd));
    return 0;
}

static int door(struct wr_mud_model *mo, uint32_t here, const struct wr_mud_char *c,
                const struct args *g, struct edit *e, char *err, size_t errlen)
{
    enum wr_mud_dir d = (enum wr_mud_dir)g->dir, rd = wr_mud_dir_reverse(d);
    const char *name = g->op == WR_BUILD_NODOOR ? NULL : g->a[0] ? g->a : "door";
    uint32_t to = mo->rooms[here].exits[d].to;
    bool both;
    if (wr_mud_edit_door(mo, here, d, name, &both, err, errlen) != 0)
        return -1;
    if (name != NULL) {
        snprintf(e->told, sizeof e->told, "The exit %s has a %s now%s.", wr_mud_dir_name(d), name,
                 both ? " (on both sides)" : "");
        notice(e, mo->rooms[here].key, "%s sets a %s in the way %s.", c->name, name,
               wr_mud_dir_name(d));
        if (both && to != here)
            notice(e, mo->rooms[to].key, "A %s appears in the way %s.", name, wr_mud_dir_name(rd));
    } else {
        snprintf(e->told, sizeof e->told, "The exit %s has no door now%s.", wr_mud_dir_name(d),
                 both ? " (on both sides)" : "");
        notice(e, mo->rooms[here].key, "%s takes away the door %s.", c->name, wr_mud_dir_name(d));
        if (both && to != here)
            notice(e, mo->rooms[to].key, "The door %s vanishes.", wr_mud_dir_name(rd));
    }
    return 0;
}

/* ocreate / mcreate: a spawner here of an existing kind, or of a new one. */
static int create(struct wr_mud_model *mo, uint32_t here, const struct wr_mud_char *c,
                  const struct args *g, struct edit *e, char *err, size_t errlen)
{
    bool item = g->op == WR_BUILD_OCREATE;
    const char *what = item ? "item" : "NPC";
    long k = item ? wr_mud_model_item(mo, g->a) : wr_mud_model_npc(mo, g->a);
    uint32_t zone = mo->rooms[here].zone, idx;
    if (g->text[0] == '\0' && k < 0) {
        snprintf(err, errlen, "There is no %s %.40s; give a name to create it (%s ID NAME).", what,
                 g->a, item ? "ocreate" : "mcreate");
        return -1;
    }
    if (g->text[0] != '\0' && k >= 0) {
        snprintf(err, errlen,
                 "There is already an %s %.40s (%s); leave out the name to place one here.", what,
                 g->a, item ? mo->items[k].name : mo->npcs[k].name);
        return -1;
    }
    if (k >= 0)
        idx = (uint32_t)k;
    else if ((item ? wr_mud_edit_add_item(mo, g->a, g->text, zone, &idx, err, errlen)
                   : wr_mud_edit_add_npc(mo, g->a, g->text, zone, &idx, err, errlen)) != 0)
        return -1;
    if ((item ? wr_mud_edit_add_item_spawner(mo, idx, here, err, errlen)
              : wr_mud_edit_add_npc_spawner(mo, idx, here, err, errlen)) != 0)
        return -1;
    const char *name = item ? mo->items[idx].name : mo->npcs[idx].name;
    snprintf(e->told, sizeof e->told, "%s %s (%s)%s; a spawner keeps one here.",
             k < 0 ? "New" : "The", what, name, k < 0 ? " created" : "");
    notice(e, mo->rooms[here].key, "%s brings %s here.", c->name, name);
    return 0;
}

/* odelete / mdelete: the kind's spawners here go, and what they spawned. */
static int delete (struct wr_mud_model *mo, uint32_t here, const struct wr_mud_char *c,
                   const struct args *g, struct edit *e, char *err, size_t errlen)
{
    bool item = g->op == WR_BUILD_ODELETE;
    long k = item ? wr_mud_model_item(mo, g->a) : wr_mud_model_npc(mo, g->a);
    if (k < 0) {
        snprintf(err, errlen, "There is no %s %.40s.", item ? "item" : "NPC", g->a);
        return -1;
    }
    size_t n = item ? wr_mud_edit_remove_item_spawners(mo, (uint32_t)k, here)
                    : wr_mud_edit_remove_npc_spawners(mo, (uint32_t)k, here);
    const char *name = item ? mo->items[k].name : mo->npcs[k].name;
    if (n == 0) {
        snprintf(err, errlen, "Nothing spawns %s (%s) here.", name, g->a);
        return -1;
    }
    snprintf(e->told, sizeof e->told, "Removed %zu spawner%s of %s (%s) here.", n,
             n == 1 ? "" : "s", name, g->a);
    notice(e, mo->rooms[here].key, "%s takes %s away.", c->name, name);
    e->removed = g->op;
    e->kind = (uint32_t)k;
    return 0;
}

/* Apply builder op @g to @mo (a copy of the running model) for @c. */
static int edit(struct wr_mud_model *mo, const struct wr_mud_char *c, const struct args *g,
                struct edit *e, char *err, size_t errlen)
{
    uint32_t here = c->room;
    switch (g->op) {
    case WR_BUILD_DIG:
        return dig(mo, here, c, g, e, err, errlen);
    case WR_BUILD_RNAME:
    case WR_BUILD_RDESC: {
        bool desc = g->op == WR_BUILD_RDESC;
        if (wr_mud_edit_room_text(mo, here, desc, g->text, err, errlen) != 0)
            return -1;
        if (desc)
            snprintf(e->told, sizeof e->told, "The room's description is set.");
        else
            snprintf(e->told, sizeof e->told, "The room is called %s now.", g->text);
        notice(e, mo->rooms[here].key, "%s %s this place.", c->name,
               desc ? "redescribes" : "renames");
        return 0;
    }
    case WR_BUILD_LINK:
        return link_exit(mo, here, c, g, e, err, errlen);
    case WR_BUILD_UNLINK:
        return unlink_exit(mo, here, c, g, e, err, errlen);
    case WR_BUILD_DOOR:
    case WR_BUILD_NODOOR:
        return door(mo, here, c, g, e, err, errlen);
    case WR_BUILD_OCREATE:
    case WR_BUILD_MCREATE:
        return create(mo, here, c, g, e, err, errlen);
    default:
        return delete (mo, here, c, g, e, err, errlen);
    }
}

/* Before the install of an odelete/mdelete: what the removed spawners keep
 * in the world goes with them. An item still lying where it spawned is
 * taken away (the install would leave it, untied); an NPC leaves its
 * fights (the install drops it, its spawner gone). */
static void remove_spawned(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t here,
                           const struct edit *e)
{
    const struct wr_mud_model *mo = m->model;
    if (e->removed == WR_BUILD_ODELETE) {
        size_t keep = 0;
        for (size_t i = 0; i < m->n_items; i++) {
            const struct wr_mud_item_inst *it = &m->items[i];
            bool gone = it->spawner != NONE && it->spawner < mo->n_item_spawners &&
                        mo->item_spawners[it->spawner].item == e->kind &&
                        mo->item_spawners[it->spawner].room == here;
            if (!gone)
                m->items[keep++] = *it;
        }
        m->n_items = keep;
    } else if (e->removed == WR_BUILD_MDELETE) {
        for (size_t i = 0; i < m->n_npcs; i++) {
            const struct wr_mud_npc_inst *n = &m->npcs[i];
            if (mo->npc_spawners[n->spawner].npc == e->kind &&
                mo->npc_spawners[n->spawner].room == here)
                wr__mud_fight_leave(m, ctx, WR_MUD_ACTOR_NPC, n->id);
        }
    }
}

/* Export @mo and parse the export: the model and bundle to install. */
static int reparse(const struct wr_mud_model *mo, struct wr_mud_model **out, uint8_t **bundle,
                   size_t *len, char *err, size_t errlen)
{
    struct wr_writer w;
    wr_writer_init(&w, 64 * 1024);
    char why[256];
    if (wr_mud_model_export(mo, &w, why, sizeof why) != 0) {
        snprintf(err, errlen, "The world cannot be written out: %s", why);
        wr_writer_free(&w);
        return -1;
    }
    if (wr_mud_model_parse(w.base, w.len, out, why, sizeof why) != 0) {
        snprintf(err, errlen, "The world loader refuses the edited world: %s", why);
        wr_writer_free(&w);
        return -1;
    }
    *bundle = wr_writer_take(&w, len);
    return 0;
}

static enum result apply_build(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c,
                               const struct args *g)
{
    if (c->role < WR_ROLE_BUILDER) {
        wr__mud_fail(ctx, cmd, "not_builder", "You are not a builder.");
        return R_KEEP;
    }
    if (g->text_long) {
        wr__mud_fail(ctx, cmd, "build", "That is too long (at most %d bytes).", WR_MUD_TEXT_MAX);
        return R_KEEP;
    }
    char err[512];
    struct wr_mud_model *mo = NULL, *nm = NULL;
    uint8_t *bundle = NULL;
    size_t len = 0;
    struct edit e;
    memset(&e, 0, sizeof e);
    /* The copy has the running model's indexes: it is the same bundle. */
    if (wr_mud_model_parse(m->bundle, m->bundle_len, &mo, err, sizeof err) != 0) {
        wr__mud_fail(ctx, cmd, "build", "The running world cannot be read again: %s", err);
        return R_KEEP;
    }
    if (edit(mo, c, g, &e, err, sizeof err) != 0 ||
        reparse(mo, &nm, &bundle, &len, err, sizeof err) != 0) {
        wr__mud_fail(ctx, cmd, "build", "%s", err);
        wr_mud_model_free(mo);
        return R_KEEP;
    }
    remove_spawned(m, ctx, c->room, &e);
    wr__mud_install_world(m, ctx, nm, bundle, len, "edited");
    wr__mud_tell_char(ctx, c, "build", "%s", e.told);
    for (int i = 0; i < e.n_rooms; i++) {
        long room = wr_mud_model_room(m->model, e.rooms[i].key);
        if (room < 0)
            continue;
        struct wr_mud_event ev = wr__mud_ev_char(c);
        ev.room = (uint32_t)room;
        ev.code = "edited";
        ev.text = e.rooms[i].text;
        wr__mud_emit(ctx, WR_MUD_EV_WORLD, WR_AUD_ROOM, 0, 0, (uint64_t)room, &ev);
    }
    wr_mud_model_free(mo);
    return R_KEEP;
}

/* ---- administration ------------------------------------------------------ */

/* @who (in the world) to @room: out of its fights, gone from one room,
 * arrived in the other, shown where it is. */
static void teleport(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *who,
                     uint32_t room, const struct wr_mud_char *by)
{
    wr__mud_fight_leave(m, ctx, WR_MUD_ACTOR_CHAR, who->id);
    struct wr_mud_event e = wr__mud_ev_char(who);
    wr__mud_to_room(ctx, WR_MUD_EV_DEPART, &e);
    who->room = room;
    e = wr__mud_ev_char(who);
    wr__mud_to_room(ctx, WR_MUD_EV_ARRIVE, &e);
    if (who != by)
        wr__mud_tell_char(ctx, who, "info", "%s teleports you.", by->name);
    wr__mud_to_char(ctx, WR_MUD_EV_MOVED, who, &e);
    wr__mud_entered_room(m, ctx, who);
}

static enum result admin_teleport(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                  const struct wr_cmd *cmd, struct wr_mud_char *c,
                                  const struct args *g)
{
    const struct wr_mud_model *mo = m->model;
    struct wr_mud_char *who = NULL;
    long room = -1;
    if (g->op == WR_ADMIN_TELEPORT) {
        who = find_in_world(m, g->a);
        if (who == NULL) {
            wr__mud_fail(ctx, cmd, "admin", "Nobody called %.40s is in the world.", g->a);
            return R_KEEP;
        }
        room = g->b[0] ? find_room(mo, mo->rooms[c->room].zone, g->b) : (long)c->room;
    } else {
        const struct wr_mud_char *to = find_in_world(m, g->a);
        who = c;
        room = to != NULL ? (long)to->room
               : g->a[0]  ? find_room(mo, mo->rooms[c->room].zone, g->a)
                          : -1;
    }
    if (room < 0 && g->op == WR_ADMIN_TELEPORT) {
        wr__mud_fail(ctx, cmd, "admin",
                     "There is no room %.60s (give zone.room, or a room of "
                     "this zone).",
                     g->b);
        return R_KEEP;
    }
    if (room < 0) {
        wr__mud_fail(ctx, cmd, "admin", "Nobody called %.60s is in the world, and no room either.",
                     g->a);
        return R_KEEP;
    }
    if (who->room == (uint32_t)room) {
        wr__mud_fail(ctx, cmd, "admin", "%s %s there already.", who == c ? "You" : who->name,
                     who == c ? "are" : "is");
        return R_KEEP;
    }
    if (who != c)
        wr__mud_tell_char(ctx, c, "info", "You teleport %s to %s (%s).", who->name,
                          mo->rooms[room].name, mo->rooms[room].key);
    teleport(m, ctx, who, (uint32_t)room, c);
    return R_KEEP;
}

static enum result admin_force(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c,
                               const struct args *g)
{
    struct wr_mud_char *who = find_in_world(m, g->a);
    if (who == NULL) {
        wr__mud_fail(ctx, cmd, "admin", "Nobody called %.40s is in the world.", g->a);
        return R_KEEP;
    }
    if (who->role >= WR_ROLE_ADMIN) {
        wr__mud_fail(ctx, cmd, "admin", "You cannot force an admin.");
        return R_KEEP;
    }
    if (who->state != WR_MUD_ONLINE) {
        wr__mud_fail(ctx, cmd, "admin", "%s has lost link: nobody is there to type it.", who->name);
        return R_KEEP;
    }
    if (g->text_long || g->text[0] == '\0') {
        wr__mud_fail(ctx, cmd, "admin", "Force %s to do what? (one command line, at most %d bytes)",
                     who->name, WR_MUD_TEXT_MAX);
        return R_KEEP;
    }
    /* The target's node runs the line (text) as if typed; to_actor is what
     * the target reads first. */
    char told[WR_MUD_TEXT_MAX + 64];
    snprintf(told, sizeof told, "%s forces you to: %s", c->name, g->text);
    struct wr_mud_event e = wr__mud_ev_char(who);
    e.room = WR_MUD_NO_ROOM;
    e.code = "force";
    e.text = g->text;
    e.to_actor = told;
    e.target_kind = WR_MUD_ACTOR_CHAR;
    e.target_id = c->id;
    e.target_name = c->name;
    wr__mud_to_char(ctx, WR_MUD_EV_ACT, who, &e);
    wr__mud_tell_char(ctx, c, "info", "You force %s to: %s", who->name, g->text);
    return R_KEEP;
}

static enum result admin_zone(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c, const struct args *g)
{
    const struct wr_mud_model *mo = m->model;
    long z = g->a[0] ? wr_mud_model_zone(mo, g->a) : (long)mo->rooms[c->room].zone;
    if (z < 0) {
        wr__mud_fail(ctx, cmd, "admin", "There is no zone %.40s.", g->a);
        return R_KEEP;
    }
    bool pause = g->op == WR_ADMIN_PAUSE;
    const char *key = mo->zones[z].key;
    if (m->zones[z].paused == pause) {
        wr__mud_fail(ctx, cmd, "admin", "Zone %s is %s already.", key,
                     pause ? "paused" : "running");
        return R_KEEP;
    }
    m->zones[z].paused = pause;
    if (pause)
        wr__mud_tell_char(ctx, c, "info",
                          "Zone %s is paused: its NPCs, respawns, fights and regeneration wait "
                          "until 'zone resume %s'.",
                          key, key);
    else
        wr__mud_tell_char(ctx, c, "info", "Zone %s runs again.", key);
    return R_KEEP;
}

static enum result apply_admin(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c,
                               const struct args *g)
{
    if (c->role < WR_ROLE_ADMIN) {
        wr__mud_fail(ctx, cmd, "not_admin", "You are not an admin.");
        return R_KEEP;
    }
    switch (g->op) {
    case WR_ADMIN_TELEPORT:
    case WR_ADMIN_GOTO:
        return admin_teleport(m, ctx, cmd, c, g);
    case WR_ADMIN_FORCE:
        return admin_force(m, ctx, cmd, c, g);
    default:
        return admin_zone(m, ctx, cmd, c, g);
    }
}

/* ---- the area's hooks ------------------------------------------------------ */

enum result wr__mud_apply_build(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_mud_char *c,
                                struct wr_reader *r)
{
    if (cmd->type == WR_MUD_SET_ROLE)
        return apply_set_role(m, ctx, r);
    if (c == NULL || (cmd->type != WR_MUD_BUILD && cmd->type != WR_MUD_ADMIN))
        return R_MALFORMED;
    struct args *g = wr_malloc(sizeof *g);
    enum result res = R_MALFORMED;
    if (decode(r, cmd->type, g) == 0)
        res = cmd->type == WR_MUD_BUILD ? apply_build(m, ctx, cmd, c, g)
                                        : apply_admin(m, ctx, cmd, c, g);
    free(g);
    return res;
}

void wr__mud_snap_build(const struct wr_mud *m, struct wr_writer *w)
{
    wr_put_u32(w, (uint32_t)m->n_chars);
    for (size_t i = 0; i < m->n_chars; i++)
        wr_put_u8(w, m->chars[i].role);
    size_t nz = m->model != NULL ? m->model->n_zones : 0;
    wr_put_u32(w, (uint32_t)nz);
    for (size_t z = 0; z < nz; z++)
        wr_put_u8(w, m->zones[z].paused ? 1 : 0);
}

int wr__mud_restore_build(struct wr_mud *m, struct wr_reader *r)
{
    size_t nz = m->model != NULL ? m->model->n_zones : 0;
    if (r == NULL) { /* a version 1 snapshot: everyone a player, nothing paused */
        for (size_t i = 0; i < m->n_chars; i++)
            m->chars[i].role = WR_ROLE_PLAYER;
        for (size_t z = 0; z < nz; z++)
            m->zones[z].paused = false;
        return 0;
    }
    if (wr_get_u32(r) != m->n_chars || r->err)
        return -1;
    for (size_t i = 0; i < m->n_chars; i++) {
        uint8_t role = wr_get_u8(r);
        if (r->err || role > WR_ROLE_ADMIN)
            return -1;
        m->chars[i].role = role;
    }
    if (wr_get_u32(r) != nz || r->err)
        return -1;
    for (size_t z = 0; z < nz; z++) {
        uint8_t p = wr_get_u8(r);
        if (r->err || p > 1)
            return -1;
        m->zones[z].paused = p != 0;
    }
    return 0;
}

void wr__mud_remap_build(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct remap *rm)
{
    /* Roles live on the characters, which keep them; a zone's paused flag
     * moves with the rest of its state by key (wr__mud_install_world). */
    (void)m;
    (void)ctx;
    (void)rm;
}

void wr__mud_clear_build(struct wr_mud *m)
{
    (void)m; /* nothing of its own to free */
}
