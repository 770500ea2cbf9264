/* Private to src/mud/: the MUD module's state (struct wr_mud) and its
 * invariants, and the functions its files share: mud.c (module table,
 * dispatch, lifecycle, events, queries), mud_chars.c (characters and their
 * sessions), mud_act.c (what a character does), mud_zone.c (zone timers,
 * NPCs, spawners, world upload and reload) and mud_snapshot.c.
 *
 * Everything here is pure like the rest of the module (see world/module.h):
 * no clock but ctx->now_ms, no randomness but ctx->seed, no I/O. Every
 * function runs on the loop thread, inside the apply of one command; none
 * takes ownership of a pointer argument unless it says so. */
#ifndef WR_MUD_INTERNAL_H
#define WR_MUD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/alloc.h"
#include "common/u64map.h"
#include "mud/mud.h"

#define NONE UINT32_MAX
#define NEVER UINT64_MAX

/* What a command handler reports: an effect on the session, or that the
 * payload could not be decoded. */
enum result { R_KEEP = 0, R_CLOSE = 1, R_MALFORMED = 2 };

struct spawn_state {
    uint32_t inst; /* instance id, or 0 while missing */
    uint64_t due;  /* when it spawns again; NEVER while inst != 0 */
};

struct chan_line {
    char who[WR_MUD_NAME_MAX + 1];
    char *text;
};

/* The last @cap lines of a channel: lines[(head + i) % cap], i < count,
 * oldest first. */
struct chan_ring {
    struct chan_line *lines;
    uint32_t cap, head, count;
};

/* A delayed NPC reaction (greet, answer): say or emote @text. */
struct reaction {
    uint32_t id;
    uint32_t npc_inst;
    uint64_t due;
    uint8_t kind; /* WR_ACT_SAY or WR_ACT_EMOTE */
    char *text;   /* "{name}" already replaced */
};

/* State and its invariants (checked by wr__mud_check in debug builds):
 * - model == NULL until the first WORLD_CHUNK bundle is installed; then
 *   bundle holds the exact bytes it was parsed from (the snapshot carries
 *   them, restore re-parses them), and doors, zones, item_sp, npc_sp and
 *   chans have one element per exit*dir, zone, spawner and channel of it.
 * - chars[i].id == i + 1: characters are never deleted, so the array is in
 *   id order. by_session maps the session of every character that is not
 *   OFFLINE to its index, and nothing else. An OFFLINE character has
 *   session 0, node 0 and a zero token hash.
 * - npcs, items and reacts are sorted by id (ids only grow, so appending
 *   keeps the order; removal shifts). Every array iteration therefore has
 *   one order on every node; the only hash map (by_session) is used for
 *   look-ups, never iterated.
 * - A spawner whose instance exists has inst == its id and due == NEVER; a
 *   spawner without one has inst == 0 and due == when it spawns again. An
 *   item instance is tied to its spawner (spawner != NONE) only while it
 *   lies untouched where it spawned: picking it up unties it and starts the
 *   spawner's timer.
 * - Every NPC instance has a valid spawner (instances without one are
 *   dropped on reload), next_act_at == NEVER iff its NPC has no timers. */
struct wr_mud {
    struct wr_mud_model *model;
    uint8_t *bundle;
    size_t bundle_len;

    struct wr_mud_char *chars;
    size_t n_chars, cap_chars;
    struct wr_u64map by_session;

    struct wr_mud_npc_inst *npcs;
    size_t n_npcs, cap_npcs;
    struct wr_mud_item_inst *items;
    size_t n_items, cap_items;
    struct reaction *reacts;
    size_t n_reacts, cap_reacts;
    uint32_t next_npc_id, next_item_id, next_react_id;

    uint8_t *doors; /* [room * WR_MUD_NDIRS + dir]: 1 = closed */
    struct wr_mud_zone_state *zones;
    struct spawn_state *item_sp;
    struct spawn_state *npc_sp;
    struct chan_ring *chans;

    /* gameplay (module version 2) */
    int32_t *stock;        /* shop stock: stock_off[shop] + line; -1 unlimited */
    uint32_t *stock_off;   /* per shop, into stock */
    struct wr_mud_mail *mail;
    size_t n_mail, cap_mail;
    uint32_t next_mail_id;
    uint8_t world_hash[16]; /* wr_mud_world_hash */

    /* WORLD_CHUNK assembly: up_total == 0 when none is under way. */
    uint8_t up_hash[16];
    uint32_t up_total, up_got;
    uint8_t *up_buf;
};

#define GROW(arr, n, cap)                                                  \
    do {                                                                   \
        if ((n) == (cap)) {                                                \
            (cap) = (cap) ? (cap)*2 : 16;                                  \
            (arr) = wr_realloc((arr), (cap) * sizeof *(arr));              \
        }                                                                  \
    } while (0)

/* ---- small inline helpers --------------------------------------------- */

static inline bool wr__mud_in_world(const struct wr_mud_char *c)
{
    return c->state != WR_MUD_OFFLINE;
}

/* The zone of @room (< model->n_rooms); a world must be loaded. */
static inline uint32_t wr__mud_room_zone(const struct wr_mud *m, uint32_t room)
{
    return m->model->rooms[room].zone;
}

/* Is the door of exit @d of @room closed? A world must be loaded. */
static inline bool wr__mud_door_closed(const struct wr_mud *m, uint32_t room, int d)
{
    return m->doors[(size_t)room * WR_MUD_NDIRS + (size_t)d] != 0;
}

/* Line @i (< count) of a channel's history, oldest first. */
static inline const struct chan_line *wr__mud_ring_at(const struct chan_ring *r, uint32_t i)
{
    return &r->lines[(r->head + i) % r->cap];
}

/* @v clamped to [@lo, @hi]; @v saturated to an int32_t. */
static inline int64_t wr__mud_clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static inline int32_t wr__mud_sat32(int64_t v)
{
    return (int32_t)wr__mud_clamp64(v, INT32_MIN, INT32_MAX);
}

/* @s (NULL: "") with its first letter upper-cased, into @out (@cap bytes),
 * for the start of a sentence; returns @out. */
const char *wr__mud_capitalised(const char *s, char *out, size_t cap);

/* ---- mud.c: look-ups -------------------------------------------------- */

/* Index of @id in an array of @n structs of @size bytes sorted by a leading
 * u32 id, or -1. */
long wr__mud_find_by_id(const void *arr, size_t n, size_t size, uint32_t id);

/* The character with that id, session or name (ASCII case-insensitive),
 * or the NPC instance with that id; NULL if none. Session 0 finds nothing. */
struct wr_mud_char *wr__mud_char_by_id(struct wr_mud *m, uint32_t id);
struct wr_mud_char *wr__mud_char_by_session(const struct wr_mud *m, uint64_t session);
struct wr_mud_char *wr__mud_char_by_name(const struct wr_mud *m, const char *name);
struct wr_mud_npc_inst *wr__mud_npc_by_id(struct wr_mud *m, uint32_t id);

/* ---- mud.c: events ---------------------------------------------------- */

/* Emit a MUD event through the world; @e is borrowed for the call. */
void wr__mud_emit(const struct wr_apply_ctx *ctx, uint8_t type, uint8_t audience, uint32_t node,
                  uint64_t session, uint64_t target, const struct wr_mud_event *e);
/* ... to everyone in e->room, or to @c's session. */
void wr__mud_to_room(const struct wr_apply_ctx *ctx, uint8_t type, const struct wr_mud_event *e);
void wr__mud_to_char(const struct wr_apply_ctx *ctx, uint8_t type, const struct wr_mud_char *c,
                     const struct wr_mud_event *e);
/* An event whose actor is character @c (in its room if in the world) or
 * NPC instance @n; its strings point into @c / the model. */
struct wr_mud_event wr__mud_ev_char(const struct wr_mud_char *c);
struct wr_mud_event wr__mud_ev_npc(const struct wr_mud *m, const struct wr_mud_npc_inst *n);
/* A WR_MUD_EV_LINK event (@code: "enter", "lost", "back"...) to @c's room. */
void wr__mud_link_event(const struct wr_apply_ctx *ctx, const struct wr_mud_char *c,
                        const char *code);
/* Tell the command's session why its action failed (WR_MUD_EV_FAIL). */
void wr__mud_fail(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd, const char *code,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Tell the command's session it was refused; returns R_CLOSE. */
enum result wr__mud_refuse(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd,
                           const char *code, const char *text);

/* ---- mud.c: channel history and lifecycle ----------------------------- */

/* An empty history of @cap lines (none when 0). */
void wr__mud_ring_init(struct chan_ring *r, uint32_t cap);
/* Append a copy of (@who, @text), dropping the oldest line when full. */
void wr__mud_ring_push(struct chan_ring *r, const char *who, const char *text);
/* Free @n channel histories and the array; NULL is fine. */
void wr__mud_chans_free(struct chan_ring *chans, size_t n);
/* Drop a WORLD_CHUNK assembly under way, if any. */
void wr__mud_upload_clear(struct wr_mud *m);
/* Back to the empty state (no world, no characters); keeps the arrays. */
void wr__mud_clear(struct wr_mud *m);
/* Assert the invariants above (a no-op with NDEBUG). */
void wr__mud_check(const struct wr_mud *m);
/* A text as the MUD encodes it: u16 length (capped) + bytes. */
void wr__mud_put_text(struct wr_writer *w, const char *s);

/* ---- mud_chars.c: characters (commands need a loaded world) ------------ */

/* The channels_off bits of a new character: the channels off by default. */
uint32_t wr__mud_default_channels_off(const struct wr_mud_model *mo);
/* An ONLINE character loses its client (LINKDEAD since now); else nothing. */
void wr__mud_go_linkdead(const struct wr_apply_ctx *ctx, struct wr_mud_char *c);
/* @c (in the world) quits: told, then OFFLINE. */
void wr__mud_quit(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c);
/* CREATE, LOGIN, RESUME: open a session on a character (see mud.h). */
enum result wr__mud_apply_create(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                 const struct wr_cmd *cmd, struct wr_reader *r);
enum result wr__mud_apply_login(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_reader *r);
enum result wr__mud_apply_resume(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                 const struct wr_cmd *cmd, struct wr_reader *r);
/* EXPIRE: a character linkdead since then leaves the world. */
enum result wr__mud_apply_expire(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                 struct wr_reader *r);
/* The module's node_restarted hook (struct wr_module). */
void wr__mud_node_restarted(void *state, const struct wr_apply_ctx *ctx, uint32_t node,
                            uint64_t incarnation);

/* ---- mud_act.c: what character @c (in the world) does ------------------ */

enum result wr__mud_apply_move(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c,
                               struct wr_reader *r);
/* OPEN (@open) or CLOSE. */
enum result wr__mud_apply_door(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c,
                               struct wr_reader *r, bool open);
enum result wr__mud_apply_get(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c,
                              struct wr_reader *r);
enum result wr__mud_apply_drop(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c,
                               struct wr_reader *r);
enum result wr__mud_apply_give(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c,
                               struct wr_reader *r);
/* SAY, EMOTE, WHISPER, TELL, REPLY and CHAN. */
enum result wr__mud_apply_talk(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_mud_char *c,
                               struct wr_reader *r);
enum result wr__mud_apply_chanset(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                  const struct wr_cmd *cmd, struct wr_mud_char *c,
                                  struct wr_reader *r);
/* Decode a text (u16 length + bytes) into @out, trimmed of spaces: 0; -1
 * if the payload is cut short (malformed); -2 if the text is empty, too
 * long or not UTF-8 without control characters (refuse it, no more). */
int wr__mud_get_text(struct wr_reader *r, char out[WR_MUD_TEXT_MAX + 1]);

/* ---- mud_zone.c: zones, NPCs, spawners, world upload -------------------- */

/* An item instance leaves the place it spawned: its spawner's timer starts. */
void wr__mud_untie_item(struct wr_mud *m, struct wr_mud_item_inst *it, uint64_t now);
/* Player @c entered its room: the NPCs there schedule their greetings. */
void wr__mud_greet(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct wr_mud_char *c);
/* Player @c arrived in its room (moved, entered the game, recalled,
 * teleported): greetings, aggressive NPCs, quest visits. */
void wr__mud_entered_room(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c);
/* Player @c said @text: NPCs in the room with a matching rule answer. */
void wr__mud_hear(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct wr_mud_char *c,
                  const char *text);
/* WORLD_CHUNK: assemble a bundle; the last chunk installs it. */
enum result wr__mud_apply_chunk(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                struct wr_reader *r);
/* Remove NPC instance @id (it died): its reactions go, its spawner's
 * timer starts. */
void wr__mud_npc_remove(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t id);
/* m->world_hash from the canonical export of m->model. */
void wr__mud_world_hash(struct wr_mud *m);
/* Replace the world by @nm parsed from @bundle (ownership of both moves
 * here), remapping the state by key (WORLD_CHUNK and builder edits).
 * @code is the WR_MUD_EV_WORLD code ("loaded", "edited"). */
void wr__mud_install_world(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                           struct wr_mud_model *nm, uint8_t *bundle, size_t len,
                           const char *code);
/* ZONE_PLACE (compare-and-set of the owner) and ZONE_TICK. */
enum result wr__mud_apply_zone(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               const struct wr_cmd *cmd, struct wr_reader *r);

/* ---- gameplay areas (module version 2) --------------------------------- *
 *
 * Five areas each own a range of command types (mud.h) and a part of the
 * state: fight in mud_fight.c (targets, rounds, NPC combat, death, recall)
 * and mud_effects.c (skills, effects, cooldowns), mud_progress.c (races,
 * classes, stats, levels, experience, regeneration, hone, train),
 * mud_items.c (equipment, use, gold, corpses) and mud_shop.c (shops),
 * mud_quest.c (conversations, quests, socials, mail) and mud_build.c
 * (roles, live building, admin commands). Each has the same four hooks, called by the
 * core in this order (fight, progress, items, quest, build): apply (its
 * commands; @c is NULL for a session-less one), snapshot/restore (its
 * section, appended to the core's in snapshot version 2; a version 1
 * snapshot restores with @r NULL: defaults), remap (a world was installed:
 * old index -> new index by key, NONE if gone) and clear (free what it
 * allocated; the core then forgets every character, NPC and item). */

struct remap {
    const struct wr_mud_model *om; /* the old model, or NULL (first world) */
    const struct wr_mud_model *nm; /* the new one (already m->model) */
    /* old index -> new index, NONE if gone; NULL when om is NULL */
    const uint32_t *room, *item, *npc, *zone, *skill, *quest, *shop, *race, *cls;
};

#define AREA_HOOKS(area)                                                                           enum result wr__mud_apply_##area(struct wr_mud *m, const struct wr_apply_ctx *ctx,                                              const struct wr_cmd *cmd, struct wr_mud_char *c,                                               struct wr_reader *r);                                         void wr__mud_snap_##area(const struct wr_mud *m, struct wr_writer *w);                         int wr__mud_restore_##area(struct wr_mud *m, struct wr_reader *r);                             void wr__mud_remap_##area(struct wr_mud *m, const struct wr_apply_ctx *ctx,                                              const struct remap *rm);                                             void wr__mud_clear_##area(struct wr_mud *m)
AREA_HOOKS(fight);
AREA_HOOKS(progress);
AREA_HOOKS(items);
AREA_HOOKS(quest);
AREA_HOOKS(build);
#undef AREA_HOOKS

/* Zone-timer work the areas add to a ZONE_TICK (mud_zone.c collects it). */
enum due_kind {
    DUE_NPC_TIMER = 0, DUE_REACTION, DUE_NPC_SPAWN, DUE_ITEM_SPAWN,
    DUE_ROUND_CHAR,  /* fighter.next_round_at of a character (id = char id) */
    DUE_ROUND_NPC,   /* ... of an NPC instance */
    DUE_REGEN_CHAR,  /* next_regen_at of a character */
    DUE_REGEN_NPC,   /* ... of an NPC instance */
    DUE_DECAY,       /* decay_at of a corpse (id = item instance) */
};

/* mud_fight.c */
/* Run one combat round of that fighter if it is due (no-op otherwise). */
void wr__mud_fight_round(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind,
                         uint32_t id);
/* A fighter (character or NPC instance) leaves the world or dies: every
 * fight it is in ends; those who targeted it stop. */
void wr__mud_fight_leave(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind,
                         uint32_t id);
/* Is @c fighting? Then tells the session why it cannot do @what and
 * returns true. */
bool wr__mud_fight_busy(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                        const struct wr_cmd *cmd, const struct wr_mud_char *c, const char *what);
/* @c arrived in its room / NPC @n arrived in its room: aggressive NPCs
 * there attack. */
void wr__mud_fight_char_arrived(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                struct wr_mud_char *c);
void wr__mud_fight_npc_arrived(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               struct wr_mud_npc_inst *n);
/* A new NPC instance's fighter: full pools, no fight. */
void wr__mud_fight_init_npc(struct wr_mud *m, struct wr_mud_npc_inst *n);
/* An act()-style line in the room of actor (@ak, @aid) about (@tk, @tid) or nobody. */
void wr__mud_fight_act(struct wr_mud *m, const struct wr_apply_ctx *ctx, const char *code,
                       uint8_t ak, uint32_t aid, uint8_t tk, uint32_t tid, const char *to_actor,
                       const char *to_target, const char *to_room);
/* Both sides of a fight start fighting (each unless it fights already). */
void wr__mud_fight_engage(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t ak,
                          uint32_t aid, uint8_t tk, uint32_t tid);
/* @amount (>= 0) damage to (@vk, @vid) from (@fk, @fid); true if it died of it. */
bool wr__mud_fight_hurt(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t vk, uint32_t vid,
                        int32_t amount, uint8_t fk, uint32_t fid);
/* (stat - 10) / 2 of a fighter at @at, rounded toward zero; 0 without a stat. */
int32_t wr__mud_fight_bonus(const struct wr_mud *m, uint8_t kind, uint32_t id, uint8_t stat,
                            uint64_t at);

/* mud_effects.c (the fight area's skills and effects) */
/* Apply @n effects of skill @skill or item @item (the other is NONE) used
 * by fighter (@uk, @uid) on (@tk, @tid) (the user itself for a self use),
 * now, in order, with the user's dice: damage and recovery at once (told
 * to the room), DoT/stat/armour effects into the fighter's fx[]. Starts no
 * fight; a victim that dies of it dies (corpse, experience, graveyard). */
void wr__mud_fight_effects(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                           const struct wr_mud_effect *effects, size_t n, uint32_t skill,
                           uint32_t item, uint8_t uk, uint32_t uid, uint8_t tk, uint32_t tid);
/* Skill @s used, checks done: enemy skills engage; cost, cooldown, message, effects. */
void wr__mud_skill_use(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t s, uint8_t uk,
                       uint32_t uid, uint8_t tk, uint32_t tid);
/* Why (@kind, @id) cannot use skill @s at @now, written into @why; NULL if it can. */
const char *wr__mud_skill_blocked(struct wr_mud *m, uint8_t kind, uint32_t id, uint32_t s,
                                  uint64_t now, char *why, size_t cap);
/* A round's start at @at: DoT hurts (true if it died), expired effects wear off. */
bool wr__mud_fx_round(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind, uint32_t id,
                      uint64_t at);

/* mud_progress.c */
/* A new character of @race and @cls: stats, level 1, full pools. */
void wr__mud_progress_init_char(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                struct wr_mud_char *c, uint32_t race, uint32_t cls);
/* @c killed a victim of @level: experience (scaled by the level
 * difference), maybe a new level (told to @c); counts the kill
 * (c->kills). */
void wr__mud_award_xp(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                      uint32_t level);
/* Grant @xp outright (quest rewards). */
void wr__mud_grant_xp(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                      uint64_t xp);
/* @c died: counts the death (c->deaths) and takes the experience
 * penalty (rules.death_xp), told to @c. */
void wr__mud_death_penalty(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                           struct wr_mud_char *c);
/* Can @c use skill @skill now: level, class, and trained if it must be. */
bool wr__mud_knows_skill(const struct wr_mud *m, const struct wr_mud_char *c, uint32_t skill);
/* A pool of @c dropped below its maximum, or a stat/armour effect started
 * on it: start regenerating (and expiring effects) if idle. */
void wr__mud_regen_start(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind,
                         uint32_t id);
/* A regeneration tick of that character / NPC instance if due. */
void wr__mud_regen(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind, uint32_t id);
/* Effective stat / pool maximum / armour of a fighter at @now: base
 * (character: race, class, honed; NPC: its model) + equipment + effects. */
int32_t wr__mud_stat(const struct wr_mud *m, uint8_t kind, uint32_t id, enum wr_mud_stat s,
                     uint64_t now);
int32_t wr__mud_max(const struct wr_mud *m, uint8_t kind, uint32_t id, enum wr_mud_pool p,
                    uint64_t now);
int32_t wr__mud_armour(const struct wr_mud *m, uint8_t kind, uint32_t id, enum wr_mud_dtype t,
                       uint64_t now);

/* mud_items.c */
/* Sum of @c's worn equipment's bonus to stat @s / armour against @t. */
int32_t wr__mud_equip_stat(const struct wr_mud *m, const struct wr_mud_char *c,
                           enum wr_mud_stat s);
int32_t wr__mud_equip_armour(const struct wr_mud *m, const struct wr_mud_char *c,
                             enum wr_mud_dtype t);
/* @c's wielded weapon (model item index), or NONE. */
uint32_t wr__mud_weapon(const struct wr_mud *m, const struct wr_mud_char *c);
/* A fighter died in @room: a corpse there holds its gold and what it
 * carried (a character: its inventory, not what it wears; an NPC: its gold
 * and its drops, rolled with @rng). Returns the corpse's instance id. */
uint32_t wr__mud_make_corpse(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind,
                             uint32_t id, uint32_t room, uint64_t *rng);
/* A corpse decays if due: its contents are lost. */
void wr__mud_corpse_decay(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t item_id);
/* How many instances of model item @item @c carries. */
uint32_t wr__mud_count_carried(const struct wr_mud *m, const struct wr_mud_char *c,
                               uint32_t item);
/* Give @c a new instance of model item @item (quest rewards). */
void wr__mud_give_new_item(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                           struct wr_mud_char *c, uint32_t item);
/* Take @n instances of model item @item from what @c carries. */
void wr__mud_take_items(struct wr_mud *m, struct wr_mud_char *c, uint32_t item, uint32_t n);
/* Does @kw name item instance @it (its model keywords or name; a
 * corpse's label)? */
bool wr__mud_item_matches(const struct wr_mud *m, const struct wr_mud_item_inst *it,
                          const char *kw);
/* The first item @c wears that @kw names, or NULL. */
struct wr_mud_item_inst *wr__mud_find_worn(struct wr_mud *m, const struct wr_mud_char *c,
                                           const char *kw);
/* Is @kw a GIVE of gold ("10 gold", "10 coins")? Then *@amount is set. */
bool wr__mud_parse_gold(const char *kw, uint32_t *amount);
/* @c gives @amount gold to @to (both in the same room); refusals told. */
void wr__mud_give_gold(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                       const struct wr_cmd *cmd, struct wr_mud_char *c, struct wr_mud_char *to,
                       uint32_t amount);
/* GET "all": @c picks up everything on its room's floor that can be taken. */
void wr__mud_get_all(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd,
                     struct wr_mud_char *c);
/* Do worn items, corpses and their contents agree (mud_items.c)? */
bool wr__mud_items_ok(const struct wr_mud *m);
/* For mud_shop.c: the model item of @it (NULL for a corpse); what players
 * call it; the first instance at (@loc, @where) that @kw names, or NULL;
 * remove instance @id (its spawner, if any, starts counting); a deed of @c
 * seen by the room (@self for @c, @others with "{actor}" for the rest). */
const struct wr_mud_item *wr__mud_item_def(const struct wr_mud *m,
                                           const struct wr_mud_item_inst *it);
const char *wr__mud_item_name(const struct wr_mud *m, const struct wr_mud_item_inst *it);
struct wr_mud_item_inst *wr__mud_find_item(struct wr_mud *m, uint8_t loc, uint32_t where,
                                           const char *kw);
void wr__mud_remove_item(struct wr_mud *m, uint64_t now, uint32_t id);
void wr__mud_room_act(const struct wr_apply_ctx *ctx, const struct wr_mud_char *c, const char *code,
                      const char *self, const char *others);

/* mud_shop.c: the items area's shops (it also holds wr__mud_clear_items) */
/* BUY @count of what @kw names / SELL what @kw names, in @c's room's shop. */
enum result wr__mud_shop_buy(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                             const struct wr_cmd *cmd, struct wr_mud_char *c, const char *kw,
                             uint32_t count);
enum result wr__mud_shop_sell(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c, const char *kw);
/* Fresh stock arrays for the model (loaded): every line at its model count. */
void wr__mud_stock_init(struct wr_mud *m);
/* The shop part of the items snapshot section / restore it (0 or -1); a
 * world is loaded and, for restore, the stock initialised. */
void wr__mud_snap_stock(const struct wr_mud *m, struct wr_writer *w);
int wr__mud_restore_stock(struct wr_mud *m, struct wr_reader *r);
/* A world was installed: fresh stock, limited lines kept by key. */
void wr__mud_remap_stock(struct wr_mud *m, const struct remap *rm);

/* mud_quest.c */
/* @c killed an instance of NPC @npc / entered its room / is carrying more
 * of something: quest steps advance (told to @c). */
void wr__mud_quest_on_kill(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                           struct wr_mud_char *c, uint32_t npc);
void wr__mud_quest_on_enter(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                            struct wr_mud_char *c);
void wr__mud_quest_on_item(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                           struct wr_mud_char *c);

/* The act()-style message of @msg for actor/target names (either may be
 * NULL), sent as WR_MUD_EV_ACT with @code to @room (WR_MUD_NO_ROOM: to
 * the actor's session only, when the actor is a character @ac). Templates
 * "{actor}"/"{target}" are replaced and the first letter capitalised. */
void wr__mud_act(const struct wr_apply_ctx *ctx, const char *code, uint32_t room,
                 uint8_t actor_kind, uint32_t actor_id, const char *actor_name,
                 uint8_t target_kind, uint32_t target_id, const char *target_name,
                 const char *to_actor, const char *to_target, const char *to_room,
                 const struct wr_mud_char *ac);
/* Does @s start with @prefix (ASCII case-insensitively)? An empty prefix
 * matches nothing. How players shorten names ("ali" for Alice). */
bool wr__mud_prefix_ci(const char *s, const char *prefix);
/* @text with every "{name}" replaced by @name (NPC lines to a player);
 * the caller frees it. */
char *wr__mud_subst_name(const char *text, const char *name);
/* Tell @c alone (WR_MUD_EV_ACT to its session) a formatted line. */
void wr__mud_tell_char(const struct wr_apply_ctx *ctx, const struct wr_mud_char *c,
                       const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The display name of a fighter ("Alice", "the giant rat"), or NULL. */
const char *wr__mud_fighter_name(const struct wr_mud *m, uint8_t kind, uint32_t id);
/* The character @id if @kind is WR_MUD_ACTOR_CHAR and it is in the
 * world, else NULL. */
struct wr_mud_char *wr__mud_char_of(struct wr_mud *m, uint8_t kind, uint32_t id);
/* The fighter of a character / NPC instance, or NULL if gone. */
struct wr_mud_fighter *wr__mud_fighter(struct wr_mud *m, uint8_t kind, uint32_t id);
/* Room of a fighter, or WR_MUD_NO_ROOM. */
uint32_t wr__mud_fighter_room(const struct wr_mud *m, uint8_t kind, uint32_t id);
/* Next number from @rng in [0, n) (n > 0). */
uint64_t wr__mud_roll(uint64_t *rng, uint64_t n);

/* ---- mud_snapshot.c: the module's snapshot and restore hooks ----------- */

void wr__mud_snapshot(void *state, struct wr_writer *w);
/* 0, or -1 with the state left empty. */
int wr__mud_restore(void *state, struct wr_reader *r, uint8_t version);

#endif
