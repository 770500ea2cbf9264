/* The MUD's replicated state machine: characters, where they and the NPCs
 * are, doors, items on floors and in hands, channels and their history, the
 * owner of each zone. A game module of the world (world/module.h): pure, no
 * I/O, no clock, no random number source: time is the entry's log time
 * (ctx->now_ms) and randomness comes from ctx->seed.
 *
 * The world definition (model.h) enters through the log as a bundle of the
 * YAML files (WORLD_CHUNK), parsed here by worldfile.c; the snapshot holds
 * the bundle, so a restore rebuilds the same model.
 *
 * Characters. A character is created once (CREATE) and persists: its name,
 * argon2id password hash (only the hash enters the log), room, inventory
 * and channel settings. It is OFFLINE, ONLINE (a session of some node plays
 * it) or LINKDEAD (its connection dropped; it stays in the world for the
 * grace period, then EXPIRE takes it out of the world, to its zone's
 * graveyard room, OFFLINE). One character, one session: a LOGIN or RESUME
 * of a character played elsewhere takes it over (the old session is closed
 * and told TAKEN_OVER).
 *
 * Zones and timers. Every zone has an owner node and an epoch (registry
 * name "zone/KEY"). The leader's placement proposes ZONE_PLACE; each
 * placement of a zone increments its epoch. The owner proposes ZONE_TICK
 * (zone, epoch) a few times a second; apply drops a tick whose epoch is not
 * the zone's current one, so a zone's timers never run on two owners. A tick
 * runs everything of the zone that is due at the tick's log time, in a
 * deterministic order: NPC timer actions, delayed NPC reactions (greet,
 * answer), NPC and item respawns, combat rounds, regeneration, corpse
 * decay (mud_zone.c, collect_due). Running a tick twice does nothing the
 * second time (nothing is due any more); so a retried tick is harmless and
 * a new owner continues exactly where the old one stopped.
 *
 * Commands (module WR_MODULE_MUD). Strings are wr_put_str (u8 length) unless
 * said; "text" strings are u16 length + bytes (at most WR_MUD_TEXT_MAX).
 * Session-opening:
 *   CREATE  str name | str pw_hash | token_hash[16] | u64 incarnation
 *           [| str race | str class] (keys; left out or "": the world's
 *           first). Refused: name_taken, bad_name, bad_race, bad_class.
 *   LOGIN   str name | token_hash[16] | u64 incarnation
 *           The node checked the password against its replica before it
 *           proposed this. Refused: no_such_character.
 *   RESUME  token_hash[16] | u64 incarnation. Refused: bad_token.
 * Session commands (the session's character acts):
 *   MOVE u8 dir | OPEN u8 dir | CLOSE u8 dir
 *   GET str keyword | DROP str keyword | GIVE str item | str target
 *   (GET "all": everything that can be taken; GIVE "10 gold": gold)
 *   SAY text | EMOTE text | WHISPER str target | text | TELL str target | text
 *   REPLY text | CHAN str channel | text | CHANSET str channel | u8 on
 *   QUIT (the character leaves the world, OFFLINE; the session closes)
 *   DISCONNECT (the connection dropped: LINKDEAD) | PRESENT (still here)
 * Session-less:
 *   NODE_DOWN   u32 node: that node's ONLINE characters become LINKDEAD
 *   EXPIRE      u32 char id | u64 linkdead_since: LINKDEAD since then ->
 *               out of the world (graveyard room, OFFLINE)
 *   ZONE_PLACE  str zone | u32 node | u64 prev_epoch: applied only if the
 *               zone's epoch is still prev_epoch (compare-and-set); then
 *               owner = node, epoch = prev_epoch + 1
 *   ZONE_TICK   str zone | u64 epoch (cmd.node must be the owner)
 *   WORLD_CHUNK hash[16] | u32 total | u32 offset | u16 len | bytes
 *               chunks of one bundle, in order; when offset + len == total
 *               the bundle is parsed and, if valid, becomes the world
 *               (characters in rooms that no longer exist go to the start
 *               room; NPCs and items of removed kinds vanish; spawners of
 *               the new world start). A bad bundle changes nothing.
 * Gameplay (module version 2): combat, progression, items and shops,
 * quests and mail, building: the ranges of command types below, each
 * parsed by its area's file (mud_internal.h, "gameplay areas").
 *
 * Events: struct wr_event with data = const struct wr_mud_event *. */
#ifndef WR_MUD_H
#define WR_MUD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mud/model.h"
#include "world/module.h"

#define WR_MUD_NAME_MIN 3
#define WR_MUD_NAME_MAX 16
#define WR_MUD_TEXT_MAX 512
#define WR_MUD_PWHASH_MAX 128
#define WR_MUD_CHUNK_MAX 8192
#define WR_MUD_MAX_CHANNELS 32

enum {
    WR_MUD_CREATE = 1,
    WR_MUD_LOGIN,
    WR_MUD_RESUME,
    WR_MUD_MOVE,
    WR_MUD_OPEN,
    WR_MUD_CLOSE,
    WR_MUD_GET,
    WR_MUD_DROP,
    WR_MUD_GIVE,
    WR_MUD_SAY,
    WR_MUD_EMOTE,
    WR_MUD_WHISPER,
    WR_MUD_TELL,
    WR_MUD_REPLY,
    WR_MUD_CHAN,
    WR_MUD_CHANSET,
    WR_MUD_QUIT,
    WR_MUD_DISCONNECT,
    WR_MUD_PRESENT,
    WR_MUD_NODE_DOWN,
    WR_MUD_EXPIRE,
    WR_MUD_ZONE_PLACE,
    WR_MUD_ZONE_TICK,
    WR_MUD_WORLD_CHUNK,
};

/* Gameplay commands (module version 2). Each area of the game owns a range
 * of command types and parses its own payloads (mud_internal.h lists the
 * files); mud.c routes a type to its area. Session commands unless said. */
enum {
    /* mud_fight.c: combat */
    WR_MUD_FIGHT_FIRST = 32,
    WR_MUD_TARGET = WR_MUD_FIGHT_FIRST, /* str who ("" clears) */
    WR_MUD_KILL,                       /* str who ("": the current target) */
    WR_MUD_FLEE,
    WR_MUD_SKILL,                      /* str skill key | str who ("": target/self) */
    WR_MUD_RECALL,
    WR_MUD_FIGHT_LAST = 47,
    /* mud_progress.c: progression */
    WR_MUD_PROGRESS_FIRST = 48,
    WR_MUD_HONE = WR_MUD_PROGRESS_FIRST, /* u8 stat */
    WR_MUD_TRAIN,                        /* str skill key ("": list at the trainer) */
    WR_MUD_PROGRESS_LAST = 63,
    /* mud_items.c: equipment, use, gold, shops (mud_shop.c), corpses */
    WR_MUD_ITEMS_FIRST = 64,
    WR_MUD_WEAR = WR_MUD_ITEMS_FIRST, /* str keyword (wear and wield) */
    WR_MUD_REMOVE,                    /* str keyword (remove and unwield) */
    WR_MUD_USE,                       /* str verb | str keyword */
    WR_MUD_BUY,                       /* str keyword | u32 count */
    WR_MUD_SELL,                      /* str keyword */
    WR_MUD_GET_FROM,                  /* str keyword ("all", "gold") | str container */
    WR_MUD_ITEMS_LAST = 95,
    /* mud_quest.c: conversations, quests, socials, mail */
    WR_MUD_QUEST_FIRST = 96,
    WR_MUD_TALK = WR_MUD_QUEST_FIRST, /* str npc | str topic ("": greet) */
    WR_MUD_SOCIAL,                    /* str social | str who ("": alone) */
    WR_MUD_MAIL_SEND,                 /* str to | text */
    WR_MUD_MAIL_READ,                 /* u32 mail id: marked read */
    WR_MUD_MAIL_DELETE,               /* u32 mail id */
    WR_MUD_QUEST_ABANDON,             /* str quest key */
    WR_MUD_QUEST_LAST = 127,
    /* mud_build.c: live building (builders) and administration (admins) */
    WR_MUD_BUILD_FIRST = 128,
    WR_MUD_BUILD = WR_MUD_BUILD_FIRST, /* u8 op | op's fields (mud_build.c) */
    WR_MUD_ADMIN,                      /* u8 op | op's fields (mud_build.c) */
    WR_MUD_SET_ROLE,                   /* session-less: str name | u8 role */
    WR_MUD_BUILD_LAST = 159,
};

enum wr_mud_role { WR_ROLE_PLAYER = 0, WR_ROLE_BUILDER = 1, WR_ROLE_ADMIN = 2 };

enum wr_mud_char_state { WR_MUD_OFFLINE = 0, WR_MUD_ONLINE = 1, WR_MUD_LINKDEAD = 2 };

#define WR_MUD_MAX_FX 8 /* effects running on one fighter */
#define WR_MUD_MAX_CD 8 /* cooldowns running on one fighter */
#define WR_MUD_NOBODY 0 /* fighter target kind: none */

/* An effect running on a fighter: a copy of the model's effect (so a world
 * reload cannot change it under way) and when it ends. */
struct wr_mud_fx {
    uint8_t kind, dtype, stat;  /* enum wr_mud_effect_kind, dtype, stat */
    int32_t amount;
    uint64_t until;             /* log time it ends */
    uint32_t skill;             /* the skill it came from, or UINT32_MAX */
    uint32_t item;              /* the item it came from, or UINT32_MAX */
    uint8_t from_kind;          /* who caused it: enum wr_mud_actor_kind */
    uint32_t from_id;
};

struct wr_mud_cooldown {
    uint32_t skill;
    uint64_t ready_at; /* log time */
};

/* What a character and an NPC instance have in common in a fight. */
struct wr_mud_fighter {
    int32_t pool[WR_MUD_NPOOLS];  /* current health, skill, endurance */
    uint8_t target_kind;          /* enum wr_mud_actor_kind; NONE: no target */
    uint32_t target_id;
    uint64_t next_round_at;       /* log time of its next combat round; NEVER
                                     (UINT64_MAX) when not fighting */
    uint32_t round;               /* rounds of the current fight so far */
    uint64_t rng;                 /* the fight's dice: seeded when the fight
                                     starts, advanced by each roll */
    uint8_t n_fx, n_cd;
    struct wr_mud_fx fx[WR_MUD_MAX_FX];
    struct wr_mud_cooldown cd[WR_MUD_MAX_CD];
};

/* A character's progress in one quest. */
struct wr_mud_quest_prog {
    uint32_t quest;     /* model index */
    uint32_t step;      /* current step; == n_steps: ready to hand in */
    uint32_t count;     /* progress in the current step (kills) */
    bool done;          /* handed in */
};

struct wr_mud_char {
    uint32_t id; /* 1, 2, 3... in creation order; never reused */
    char name[WR_MUD_NAME_MAX + 1]; /* as created: "Alice" */
    char pw_hash[WR_MUD_PWHASH_MAX];
    uint8_t token_hash[16];
    enum wr_mud_char_state state;
    uint32_t room;           /* room index (meaningful unless OFFLINE) */
    uint32_t node;           /* node of the session (ONLINE/LINKDEAD) */
    uint64_t session;        /* 0 when OFFLINE */
    uint64_t incarnation;
    uint64_t linkdead_since; /* log time, while LINKDEAD */
    uint32_t channels_off;   /* bit i: channel i turned off */
    uint32_t reply_to;       /* char id of the last tell received, or 0 */
    uint64_t created_at, last_login_at;
    /* gameplay (module version 2) */
    uint8_t role;                    /* enum wr_mud_role */
    uint32_t race, cls;              /* model indexes */
    uint32_t level;                  /* >= 1 */
    uint64_t xp;                     /* towards the next level */
    int32_t base[WR_MUD_NSTATS];     /* race + class + honed */
    uint64_t skills_known;           /* bit i: trained skill i */
    uint64_t next_regen_at;          /* NEVER when nothing to regenerate */
    uint32_t gold;
    uint32_t kills, deaths;
    struct wr_mud_fighter f;
    uint32_t eq[WR_MUD_NSLOTS];      /* item instance worn per slot, or 0 */
    struct wr_mud_quest_prog *quests; /* heap, in the order taken */
    uint32_t n_quests, cap_quests;
};

struct wr_mud_npc_inst {
    uint32_t id;      /* instance id, never reused */
    uint32_t npc;     /* index into model->npcs */
    uint32_t spawner; /* index into model->npc_spawners */
    uint32_t room;
    uint64_t next_act_at; /* log time of its next timer action */
    uint32_t timer;       /* which of its timer rules acts then */
    struct wr_mud_fighter f;
    uint32_t gold;
    uint64_t next_regen_at; /* NEVER when at full */
};

/* Where an item instance is: on a room's floor, carried by a character,
 * worn by one (in its item's slot: the character's eq[] names it), or
 * inside a corpse (where = the corpse's instance id). */
enum wr_mud_loc { WR_MUD_IN_ROOM = 0, WR_MUD_CARRIED = 1, WR_MUD_WORN = 2, WR_MUD_IN_CORPSE = 3 };
#define WR_MUD_CORPSE UINT32_MAX /* item instance kind of a corpse */
struct wr_mud_item_inst {
    uint32_t id;   /* instance id, never reused */
    uint32_t item; /* index into model->items, or WR_MUD_CORPSE */
    uint8_t loc;   /* enum wr_mud_loc */
    uint32_t where; /* room index, char id or corpse instance id */
    uint32_t spawner; /* index into model->item_spawners, or UINT32_MAX */
    /* corpses only */
    char label[48];   /* "the corpse of a giant rat" */
    uint32_t gold;
    uint64_t decay_at;
};

struct wr_mud_zone_state {
    uint32_t owner; /* node id, 0 = none yet */
    uint64_t epoch;
    bool paused;    /* an admin stopped its timers (ticks do nothing) */
};

/* In-game mail (mud_quest.c). */
struct wr_mud_mail {
    uint32_t id;
    uint32_t from, to; /* char ids */
    uint64_t at;       /* log time sent */
    char *text;
    bool read;
};

/* Event types (wr_event.type). Audience: wr_event.audience/target. */
enum {
    WR_MUD_EV_ENTERED_GAME = 1, /* session: you are in (created, logged in,
                                   resumed, took over); code says which */
    WR_MUD_EV_REFUSED,      /* session: code/text say why */
    WR_MUD_EV_TAKEN_OVER,   /* session (the old one): another login took the char */
    WR_MUD_EV_FAIL,         /* session: an action failed; text is the message */
    WR_MUD_EV_ARRIVE,       /* room: actor arrives (dir: from where, or -1) */
    WR_MUD_EV_DEPART,       /* room: actor leaves (dir: to where, or -1) */
    WR_MUD_EV_MOVED,        /* session: you moved (show the new room) */
    WR_MUD_EV_DOOR,         /* room: actor opened/closed (code "open"/"close")
                               the door (item = door name) in dir */
    WR_MUD_EV_ITEM,         /* room: actor got/dropped/gave (code "get",
                               "drop", "give") item (to target) */
    WR_MUD_EV_SAY,          /* room: actor says text */
    WR_MUD_EV_EMOTE,        /* room: actor text */
    WR_MUD_EV_WHISPER,      /* room: actor whispers text to target (others in
                               the room see only that a whisper happened) */
    WR_MUD_EV_TELL,         /* session of target (and of the actor, as an echo):
                               actor tells target text */
    WR_MUD_EV_CHANNEL,      /* channel: actor on channel (item = channel key): text */
    WR_MUD_EV_CHANSET,      /* session: channel (item) on/off (code "on"/"off") */
    WR_MUD_EV_LINK,         /* room: actor lost link / reconnected (code
                               "lost", "back", "gone", "enter", "quit") */
    WR_MUD_EV_SPAWN,        /* room: NPC or item appeared (actor or item) */
    WR_MUD_EV_ZONE_OWNER,   /* all: zone (item = zone key) has a new owner */
    WR_MUD_EV_WORLD,        /* all: a new world was loaded (code "loaded", text =
                               version hex), or a bundle was refused (code
                               "bad", text = the error; nothing changed) */
    WR_MUD_EV_QUIT,         /* session: the character left the game */
    WR_MUD_EV_ACT,          /* room or session: a deed told act()-style:
                               the actor reads to_actor, the target (a
                               character) to_target, everyone else
                               to_room; NULL: nothing for that viewer. code
                               names the kind ("hit", "miss", "round",
                               "death", "xp", "level", "quest", "shop",
                               "mail", "build", "info"...; "vitals": no
                               text, the actor's pools changed) */
};

enum wr_mud_actor_kind { WR_MUD_ACTOR_NONE = 0, WR_MUD_ACTOR_CHAR, WR_MUD_ACTOR_NPC };

struct wr_mud_event {
    uint8_t actor_kind;       /* enum wr_mud_actor_kind */
    uint32_t actor_id;        /* char id or NPC instance id */
    const char *actor_name;   /* "Alice", "the old gatekeeper" */
    uint32_t target_id;       /* char id (tell, whisper, give) or 0 */
    const char *target_name;  /* or NULL */
    uint32_t room;            /* room where it happened, or WR_MUD_NO_ROOM */
    int dir;                  /* enum wr_mud_dir or -1 */
    const char *item;         /* item name, door name, channel or zone key */
    const char *code;         /* see the event types; or NULL */
    const char *text;         /* said/emoted text, failure message; or NULL */
    uint8_t target_kind;      /* enum wr_mud_actor_kind of target_id */
    const char *to_actor, *to_target, *to_room; /* WR_MUD_EV_ACT */
};

extern const struct wr_module wr_mud_module;

struct wr_mud;

/* Is @name acceptable: 3..16 letters, first upper-cased by the caller?
 * Names are unique case-insensitively. */
bool wr_mud_name_ok(const char *name, size_t len);

/* Read-only queries for the node (reads are answered from the replica).
 * Pointers are invalidated by the next apply or restore. */
const struct wr_mud_model *wr_mud_model(const struct wr_mud *m); /* NULL: no world yet */
const struct wr_mud_char *wr_mud_char_by_id(const struct wr_mud *m, uint32_t id);
const struct wr_mud_char *wr_mud_char_by_name(const struct wr_mud *m, const char *name);
const struct wr_mud_char *wr_mud_char_by_session(const struct wr_mud *m, uint64_t session);
const struct wr_mud_char *wr_mud_char_by_token(const struct wr_mud *m, const uint8_t hash[16]);
size_t wr_mud_char_count(const struct wr_mud *m);
const struct wr_mud_char *wr_mud_char_at(const struct wr_mud *m, size_t i); /* any order */
size_t wr_mud_npc_count(const struct wr_mud *m);
const struct wr_mud_npc_inst *wr_mud_npc_at(const struct wr_mud *m, size_t i);
size_t wr_mud_item_count(const struct wr_mud *m);
const struct wr_mud_item_inst *wr_mud_item_at(const struct wr_mud *m, size_t i);
bool wr_mud_door_closed(const struct wr_mud *m, uint32_t room, enum wr_mud_dir d);
const struct wr_mud_zone_state *wr_mud_zone_state(const struct wr_mud *m, uint32_t zone);
/* The last lines of channel @ch, oldest first: calls @cb for each. */
void wr_mud_channel_history(const struct wr_mud *m, uint32_t ch,
                            void (*cb)(void *arg, const char *who, const char *text),
                            void *arg);
size_t wr_mud_mail_count(const struct wr_mud *m);
const struct wr_mud_mail *wr_mud_mail_at(const struct wr_mud *m, size_t i); /* id order */
/* What quest step @s asks, in words ("Kill 3 giant rats."): its desc, or
 * words made from its kind and object. */
void wr_mud_quest_step_desc(const struct wr_mud_model *mo, const struct wr_mud_step *s,
                            char *out, size_t cap);
/* Current stock of line @line of shop @shop (-1: unlimited). */
int32_t wr_mud_shop_stock(const struct wr_mud *m, uint32_t shop, uint32_t line);
/* Effective stat / pool maximum / armour of a character at log time @now
 * (base + equipment + running effects). */
int32_t wr_mud_char_stat(const struct wr_mud *m, const struct wr_mud_char *c,
                         enum wr_mud_stat s, uint64_t now);
int32_t wr_mud_char_max(const struct wr_mud *m, const struct wr_mud_char *c,
                        enum wr_mud_pool p, uint64_t now);
int32_t wr_mud_char_armour(const struct wr_mud *m, const struct wr_mud_char *c,
                           enum wr_mud_dtype t, uint64_t now);
/* Does @c know skill @skill (level, class, trained)? */
bool wr_mud_knows_skill(const struct wr_mud *m, const struct wr_mud_char *c, uint32_t skill);
/* Experience needed to go from level @level to the next one. */
uint64_t wr_mud_xp_to_next(const struct wr_mud_model *mo, uint32_t level);
/* BLAKE2b-128 of the canonical export of the current world (equal for two
 * worlds that export to the same files); zero when no world. */
const uint8_t *wr_mud_world_hash(const struct wr_mud *m);
/* Earliest log time at which something in @zone is due (for the owner's
 * timer), or UINT64_MAX. */
uint64_t wr_mud_zone_next_due(const struct wr_mud *m, uint32_t zone);

/* Payload encoders for the node; @out receives the payload only. */
void wr_mud_encode_create(struct wr_writer *out, const char *name, const char *pw_hash,
                          const uint8_t token_hash[16], uint64_t incarnation);
void wr_mud_encode_login(struct wr_writer *out, const char *name, const uint8_t token_hash[16],
                         uint64_t incarnation);
void wr_mud_encode_resume(struct wr_writer *out, const uint8_t token_hash[16],
                          uint64_t incarnation);
void wr_mud_encode_dir(struct wr_writer *out, enum wr_mud_dir d);
void wr_mud_encode_str(struct wr_writer *out, const char *s);   /* u8 len */
void wr_mud_encode_text(struct wr_writer *out, const char *s);  /* u16 len */
void wr_mud_encode_u32(struct wr_writer *out, uint32_t v);
void wr_mud_encode_zone_place(struct wr_writer *out, const char *zone, uint32_t node,
                              uint64_t prev_epoch);
void wr_mud_encode_zone_tick(struct wr_writer *out, const char *zone, uint64_t epoch);
void wr_mud_encode_expire(struct wr_writer *out, uint32_t char_id, uint64_t since);
void wr_mud_encode_chunk(struct wr_writer *out, const uint8_t hash[16], uint32_t total,
                         uint32_t offset, const void *bytes, uint16_t len);

#endif
