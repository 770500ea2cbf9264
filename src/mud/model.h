/* The MUD's world definition: what the YAML files under world/ describe
 * (zones, rooms, exits, doors, items, NPCs and their behaviour, channels),
 * as plain arrays that the state machine (mud.c and mud_*.c) reads. It is
 * the static part of the world; what changes while people play (door
 * states, items on floors, NPC positions, characters) lives in struct
 * wr_mud (mud_internal.h).
 *
 * Every object is referred to by its index in its array; names ("key")
 * are ids from the files, unique per kind across the whole world
 * ("zone.room" for rooms: the loader qualifies a room key with its zone's
 * key). A model is immutable once loaded and owned by one struct
 * wr_mud_model; wr_mud_model_free releases everything at once.
 *
 * Built by worldfile.c from a world bundle (the canonical concatenation of
 * the YAML files, see worldfile.h), the same bytes on every node, so every
 * node builds the same model. */
#ifndef WR_MUD_MODEL_H
#define WR_MUD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The 12 directions, in this order everywhere (exits, GMCP, the parser). */
enum wr_mud_dir {
    WR_DIR_N, WR_DIR_S, WR_DIR_E, WR_DIR_W, WR_DIR_NE, WR_DIR_NW,
    WR_DIR_SE, WR_DIR_SW, WR_DIR_U, WR_DIR_D, WR_DIR_IN, WR_DIR_OUT,
    WR_MUD_NDIRS
};

#define WR_MUD_NO_ROOM UINT32_MAX
#define WR_MUD_MAX_SKILLS 64 /* skills a world may define (a u64 bit set) */

struct wr_mud_exit {
    uint32_t to;      /* room index, or WR_MUD_NO_ROOM if no exit */
    bool door;        /* there is a door on this exit */
    bool closed;      /* initial state of the door (if door) */
    char *door_name;  /* "door", "gate", "hatch"...; NULL if no door */
};

struct wr_mud_room {
    char *key;        /* "zone.room" */
    char *name;
    char *desc;
    uint32_t zone;    /* index into zones */
    int32_t x, y, z;  /* map coordinates (z: level, 0 by default) */
    struct wr_mud_exit exits[WR_MUD_NDIRS];
};

struct wr_mud_zone {
    char *key;
    char *name;
    char *desc;
    uint32_t graveyard; /* recall/graveyard room index */
};

/* ---- gameplay vocabulary (fixed; the files name them in lower case) ---- */

/* Base stats, in this order everywhere ("strength", "agility"...). */
enum wr_mud_stat {
    WR_STAT_STR, WR_STAT_AGI, WR_STAT_INT, WR_STAT_AWA, WR_STAT_VIT, WR_STAT_WIL,
    WR_MUD_NSTATS
};
/* Pools with maxima: "health", "skill", "endurance" (hp, sp, ep). */
enum wr_mud_pool { WR_POOL_HP, WR_POOL_SP, WR_POOL_EP, WR_MUD_NPOOLS };
/* Damage types ("slashing", "piercing", "bludgeoning", "fire", "cold",
 * "lightning", "poison", "arcane", "holy"); armour and resistances are
 * per type. */
enum wr_mud_dtype {
    WR_DT_SLASH, WR_DT_PIERCE, WR_DT_BLUDGEON, WR_DT_FIRE, WR_DT_COLD, WR_DT_LIGHTNING,
    WR_DT_POISON, WR_DT_ARCANE, WR_DT_HOLY, WR_MUD_NDTYPES
};
/* Equipment slots ("head", "neck", "body", "arms", "hands", "finger",
 * "legs", "feet", "wield", "offhand"); WR_SLOT_NONE: not wearable. */
enum wr_mud_slot {
    WR_SLOT_HEAD, WR_SLOT_NECK, WR_SLOT_BODY, WR_SLOT_ARMS, WR_SLOT_HANDS, WR_SLOT_FINGER,
    WR_SLOT_LEGS, WR_SLOT_FEET, WR_SLOT_WIELD, WR_SLOT_OFFHAND, WR_MUD_NSLOTS,
    WR_SLOT_NONE = 255
};

const char *wr_mud_stat_name(enum wr_mud_stat s);   /* "strength" */
const char *wr_mud_pool_name(enum wr_mud_pool p);   /* "health" */
const char *wr_mud_dtype_name(enum wr_mud_dtype t); /* "slashing" */
const char *wr_mud_slot_name(enum wr_mud_slot s);   /* "head" */
/* Name -> value, or -1 (exact, lower case). */
int wr_mud_stat_parse(const char *s);
int wr_mud_pool_parse(const char *s);
int wr_mud_dtype_parse(const char *s);
int wr_mud_slot_parse(const char *s);

/* Texts shown for a deed, act()-style: to the one who does it, to its
 * target, to the others in the room. Each may be NULL (nothing shown).
 * "{actor}" and "{target}" are replaced by the names. */
struct wr_mud_msg {
    char *actor, *target, *room;
};

/* What a skill, an item use or an NPC's combat action does. */
enum wr_mud_effect_kind {
    WR_EFF_DAMAGE,  /* amount (+ roll) of dtype damage to the target, once */
    WR_EFF_DOT,     /* amount of dtype damage at each of the target's
                       combat rounds while it lasts (duration_ms) */
    WR_EFF_RECOVER, /* amount back into pool (capped at its maximum), once */
    WR_EFF_STAT,    /* stat changed by amount (may be negative) for duration_ms */
    WR_EFF_ARMOUR,  /* armour against dtype changed by amount for duration_ms */
};
struct wr_mud_effect {
    uint8_t kind;        /* enum wr_mud_effect_kind */
    uint8_t dtype;       /* DAMAGE, DOT, ARMOUR */
    uint8_t stat;        /* STAT */
    uint8_t pool;        /* RECOVER */
    int32_t amount;      /* base amount */
    uint32_t roll;       /* DAMAGE/RECOVER: plus 0..roll from the fight's dice */
    uint8_t scale_stat;  /* amount grows by (stat - 10) / 2 of the user; or 255 */
    uint32_t duration_ms;/* DOT, STAT, ARMOUR */
    bool self;           /* applies to the user, not the target */
};

enum wr_mud_skill_target { WR_TGT_ENEMY, WR_TGT_SELF };

struct wr_mud_skill {
    char *key;           /* "magic_missile" */
    char *name;          /* "magic missile": also the command players type */
    char *desc;
    uint32_t level;      /* level needed, >= 1 */
    uint32_t *classes;   /* class indexes that may learn it */
    size_t n_classes;
    uint32_t cost;       /* skill points spent */
    uint8_t cost_pool;   /* WR_POOL_SP by default; WR_POOL_EP for physical skills */
    uint32_t cooldown_ms;
    uint8_t target;      /* enum wr_mud_skill_target */
    bool trained;        /* must be learnt from a trainer (`train`); else
                            known as soon as the level is reached */
    uint32_t train_cost; /* gold paid to the trainer */
    struct wr_mud_effect *effects; size_t n_effects;
    struct wr_mud_msg msg;
};

struct wr_mud_race {
    char *key, *name, *desc;
    int32_t stats[WR_MUD_NSTATS]; /* base stats of a new character */
};

struct wr_mud_class {
    char *key, *name, *desc;
    int32_t stats[WR_MUD_NSTATS]; /* added to the race's */
    uint8_t attack_dtype;         /* unarmed damage type */
};

/* Rules of the game (world.yaml `rules:`); every field has a default. */
struct wr_mud_rules {
    uint32_t round_ms;        /* combat round (2000) */
    uint32_t regen_ms;        /* regeneration tick out of combat (5000) */
    uint32_t corpse_ms;       /* a corpse decays after (300000) */
    uint32_t max_level;       /* 50 */
    uint32_t xp_base;         /* xp from level n to n+1: xp_base * n (100) */
    uint32_t death_xp_percent;/* xp lost on death, percent of the level's (10) */
    uint32_t start_gold;      /* 20 */
    uint32_t hone_cost;       /* gold per honed point, times the stat's value (10) */
};

struct wr_mud_item_use {
    char *verb;          /* "drink", "eat", "read" */
    struct wr_mud_effect *effects; size_t n_effects;
    struct wr_mud_msg msg;
    bool consumed;       /* the item is gone once used */
};

struct wr_mud_item {
    char *key;
    char *name;       /* "a rusty lantern" */
    char *keywords;   /* space-separated words a player may use: "lantern rusty" */
    char *desc;       /* what `look at` shows */
    char *ground;     /* the line shown in a room, e.g. "A rusty lantern lies here." */
    bool fixed;       /* cannot be picked up */
    uint32_t zone;    /* the zone whose file defines it (the export writes it there) */
    /* gameplay (all zero by default) */
    uint8_t slot;                     /* enum wr_mud_slot, WR_SLOT_NONE */
    int32_t stats[WR_MUD_NSTATS];     /* bonuses while worn/wielded */
    int32_t armour[WR_MUD_NDTYPES];   /* while worn */
    uint8_t dtype;                    /* weapon: damage type */
    uint32_t dmg_min, dmg_max;        /* weapon damage (wield); 0/0: not a weapon */
    uint32_t price;                   /* base value in gold (shops buy at half) */
    uint32_t level;                   /* level needed to wear/wield */
    struct wr_mud_item_use *uses; size_t n_uses;
};

/* An item spawner: keeps one instance of @item in @room; when it is missing
 * (picked up), a new one appears @interval_ms later. */
struct wr_mud_item_spawner {
    uint32_t item;
    uint32_t room;
    uint32_t interval_ms;
};

enum wr_mud_action_kind { WR_ACT_SAY, WR_ACT_EMOTE, WR_ACT_MOVE, WR_ACT_ATTACK, WR_ACT_SKILL };

/* One action an NPC may take: say or emote @text, or move (wander) one
 * step, never farther than the NPC's max_distance rooms from its spawn;
 * in combat (combat rules) also a plain attack or a skill. */
struct wr_mud_action {
    enum wr_mud_action_kind kind;
    char *text; /* NULL for move, attack, skill */
    uint32_t weight; /* >= 1: chance among the rule's actions */
    uint32_t skill;  /* WR_ACT_SKILL: skill index */
};

/* Behaviour as event -> action rules. */
struct wr_mud_timer_rule {
    uint32_t min_delay_ms;    /* the next action: min plus up to random_delay_ms */
    uint32_t random_delay_ms;
    struct wr_mud_action *actions;
    size_t n_actions;
};

struct wr_mud_greet_rule { /* on room/entered by a player */
    uint32_t delay_ms;         /* reaction delay */
    struct wr_mud_action action; /* say or emote; "{name}" becomes the player's name */
};

struct wr_mud_hear_rule { /* on room/heard: a say that matches */
    char *pattern;            /* case-insensitive substring to look for */
    uint32_t delay_ms;
    struct wr_mud_action action; /* say or emote; "{name}" as above */
};

struct wr_mud_drop {
    uint32_t item;
    uint32_t chance; /* percent, 1..100 */
};

/* One line of an NPC's conversation (`talk to NPC [about] TOPIC`). The
 * first topic is what `greet NPC` / `talk to NPC` says. */
struct wr_mud_topic {
    char *key;        /* "work": what the player asks about */
    char *text;       /* the NPC's answer ("{name}" is the player) */
    uint32_t quest;   /* the quest this line offers, or UINT32_MAX */
};

struct wr_mud_npc {
    char *key;
    char *name;       /* "the old gatekeeper" */
    char *keywords;
    char *desc;
    char *ground;     /* "An old gatekeeper leans on his staff here." */
    uint32_t zone;    /* the zone whose file defines it (the export writes it there) */
    uint32_t max_distance; /* wander radius in rooms from the spawn room */
    struct wr_mud_timer_rule *timers; size_t n_timers;
    struct wr_mud_greet_rule *greets; size_t n_greets;
    struct wr_mud_hear_rule *hears;   size_t n_hears;
    /* combat: an NPC without `level` cannot be attacked (peaceful) */
    uint32_t level;                   /* 0: not attackable */
    int32_t stats[WR_MUD_NSTATS];
    uint32_t max[WR_MUD_NPOOLS];      /* health, skill, endurance */
    int32_t armour[WR_MUD_NDTYPES];   /* negative: weak to it */
    uint8_t dtype;                    /* its attacks' damage type */
    uint32_t dmg_min, dmg_max;
    uint32_t gold_min, gold_max;      /* gold carried (dropped in its corpse) */
    bool aggressive;                  /* attacks players on sight */
    struct wr_mud_action *combat; size_t n_combat; /* on combat/ticked:
                                         weighted attack/skill/say/emote */
    struct wr_mud_action *targeted; size_t n_targeted; /* on character/targeted */
    struct wr_mud_drop *drops; size_t n_drops;
    uint32_t *teaches; size_t n_teaches; /* skills it trains */
    struct wr_mud_topic *topics; size_t n_topics;
};

/* A shop: a room where players `list`, `buy` and `sell`. */
struct wr_mud_stock {
    uint32_t item;
    int32_t count;    /* initial stock; -1: unlimited */
    uint32_t price;   /* 0: the item's price */
};
struct wr_mud_shop {
    char *key, *name;
    uint32_t room;
    uint32_t keeper;  /* NPC index that must be in the room, or UINT32_MAX */
    struct wr_mud_stock *stock; size_t n_stock;
    uint32_t buy_percent; /* what it pays for an item, percent of its price (50) */
};

enum wr_mud_step_kind { WR_STEP_KILL, WR_STEP_COLLECT, WR_STEP_VISIT, WR_STEP_TALK };
struct wr_mud_step {
    uint8_t kind;     /* enum wr_mud_step_kind */
    uint32_t what;    /* NPC (kill, talk), item (collect) or room (visit) index */
    uint32_t count;   /* kill/collect: how many; else 1 */
    char *desc;       /* "Kill 3 giant rats in the cellar" */
};
struct wr_mud_quest {
    char *key, *name, *desc;
    uint32_t giver;   /* NPC index; the quest is handed in to it */
    uint32_t level;   /* needed to take it */
    struct wr_mud_step *steps; size_t n_steps; /* all must be done, in order */
    uint32_t reward_xp, reward_gold;
    uint32_t *reward_items; size_t n_reward_items;
    char *done_text;  /* what the giver says when it is handed in */
    bool consume;     /* collected items are taken on completion */
};

/* A social: `smile`, `smile bob`. */
struct wr_mud_social {
    char *key;                /* the command */
    struct wr_mud_msg alone;  /* without a target */
    struct wr_mud_msg other;  /* with one ({target}) */
};

struct wr_mud_npc_spawner {
    uint32_t npc;
    uint32_t room;
    uint32_t interval_ms; /* respawn delay after the NPC is gone */
};

struct wr_mud_channel {
    char *key;     /* "global", "newbie" */
    char *desc;
    bool on_by_default;
    uint32_t history; /* lines kept and shown on joining */
};

struct wr_mud_model {
    char *name;        /* the world's name (MSSP NAME) */
    uint32_t start_room;
    struct wr_mud_rules rules;
    struct wr_mud_race *races; size_t n_races;       /* >= 1 */
    struct wr_mud_class *classes; size_t n_classes;  /* >= 1 */
    struct wr_mud_skill *skills; size_t n_skills;    /* <= WR_MUD_MAX_SKILLS */
    struct wr_mud_shop *shops; size_t n_shops;
    struct wr_mud_quest *quests; size_t n_quests;
    struct wr_mud_social *socials; size_t n_socials;
    struct wr_mud_zone *zones; size_t n_zones;
    struct wr_mud_room *rooms; size_t n_rooms;     /* grouped by zone */
    struct wr_mud_item *items; size_t n_items;
    struct wr_mud_item_spawner *item_spawners; size_t n_item_spawners;
    struct wr_mud_npc *npcs; size_t n_npcs;
    struct wr_mud_npc_spawner *npc_spawners; size_t n_npc_spawners;
    struct wr_mud_channel *channels; size_t n_channels;
    uint8_t hash[16]; /* BLAKE2b-128 of the bundle: the world version */
    void *arena;      /* private: allocation of every string and array */
};

/* A new empty model. Strings and arrays of a model are allocated with
 * wr_mud_model_alloc/strdup (a bump allocator freed all at once). */
struct wr_mud_model *wr_mud_model_new(void);
void *wr_mud_model_alloc(struct wr_mud_model *m, size_t size); /* zeroed */
char *wr_mud_model_strdup(struct wr_mud_model *m, const char *s);
void wr_mud_model_free(struct wr_mud_model *m);

/* Lookups by key; return the index or -1. */
long wr_mud_model_room(const struct wr_mud_model *m, const char *key);
long wr_mud_model_item(const struct wr_mud_model *m, const char *key);
long wr_mud_model_npc(const struct wr_mud_model *m, const char *key);
long wr_mud_model_skill(const struct wr_mud_model *m, const char *key);
long wr_mud_model_race(const struct wr_mud_model *m, const char *key);
long wr_mud_model_class(const struct wr_mud_model *m, const char *key);
long wr_mud_model_quest(const struct wr_mud_model *m, const char *key);
/* The shop in @room, or -1. */
long wr_mud_model_shop_in(const struct wr_mud_model *m, uint32_t room);
long wr_mud_model_zone(const struct wr_mud_model *m, const char *key);
long wr_mud_model_channel(const struct wr_mud_model *m, const char *key);

/* Does one of the space-separated words of @words (keywords) start with
 * @kw, ASCII case-insensitively? How players name items and NPCs ("lan"
 * finds "lantern rusty"); NULL words or an empty @kw match nothing. */
bool wr_mud_words_match(const char *words, const char *kw);

/* May a character of class @cls ever learn skill @sk (it names @cls)?
 * The loader lists every class for a skill without `classes`; an empty
 * list (`classes: []`) is a skill no class learns (the NPCs' own). */
bool wr_mud_skill_for_class(const struct wr_mud_skill *sk, uint32_t cls);

/* "n", "north", ... -> direction, or -1. */
int wr_mud_dir_parse(const char *word);
const char *wr_mud_dir_name(enum wr_mud_dir d);  /* "north", ..., "in", "out" */
const char *wr_mud_dir_short(enum wr_mud_dir d); /* "n", ..., "in", "out" */
enum wr_mud_dir wr_mud_dir_reverse(enum wr_mud_dir d);

#endif
