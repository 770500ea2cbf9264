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

struct wr_mud_item {
    char *key;
    char *name;       /* "a rusty lantern" */
    char *keywords;   /* space-separated words a player may use: "lantern rusty" */
    char *desc;       /* what `look at` shows */
    char *ground;     /* the line shown in a room, e.g. "A rusty lantern lies here." */
    bool fixed;       /* cannot be picked up */
};

/* An item spawner: keeps one instance of @item in @room; when it is missing
 * (picked up), a new one appears @interval_ms later. */
struct wr_mud_item_spawner {
    uint32_t item;
    uint32_t room;
    uint32_t interval_ms;
};

enum wr_mud_action_kind { WR_ACT_SAY, WR_ACT_EMOTE, WR_ACT_MOVE };

/* One action an NPC may take: say or emote @text, or move (wander) one
 * step, never farther than the NPC's max_distance rooms from its spawn. */
struct wr_mud_action {
    enum wr_mud_action_kind kind;
    char *text; /* NULL for move */
    uint32_t weight; /* >= 1: chance among the timer's actions */
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

struct wr_mud_npc {
    char *key;
    char *name;       /* "the old gatekeeper" */
    char *keywords;
    char *desc;
    char *ground;     /* "An old gatekeeper leans on his staff here." */
    uint32_t max_distance; /* wander radius in rooms from the spawn room */
    struct wr_mud_timer_rule *timers; size_t n_timers;
    struct wr_mud_greet_rule *greets; size_t n_greets;
    struct wr_mud_hear_rule *hears;   size_t n_hears;
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
long wr_mud_model_zone(const struct wr_mud_model *m, const char *key);
long wr_mud_model_channel(const struct wr_mud_model *m, const char *key);

/* "n", "north", ... -> direction, or -1. */
int wr_mud_dir_parse(const char *word);
const char *wr_mud_dir_name(enum wr_mud_dir d);  /* "north", ..., "in", "out" */
const char *wr_mud_dir_short(enum wr_mud_dir d); /* "n", ..., "in", "out" */
enum wr_mud_dir wr_mud_dir_reverse(enum wr_mud_dir d);

#endif
