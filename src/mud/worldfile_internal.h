/* Private to src/mud/worldfile.c, worldfile_fields.c, worldfile_game.c and
 * worldfile_game_zone.c: the YAML tree, the parse context, the limits, and
 * the helpers they share. Nothing outside src/mud/worldfile*.c includes
 * this. (The export, worldfile_export.c and worldfile_export_zone.c, has
 * its own private header: worldfile_export.h.) */
#ifndef WR_MUD_WORLDFILE_INTERNAL_H
#define WR_MUD_WORLDFILE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mud/model.h"

/* ---- limits (docs/world-format.md lists them) -------------------------- */

#define MAX_DEPTH 24       /* YAML nesting */
#define MAX_NODES 1000000u /* YAML nodes in a bundle */

#define MAX_ZONES 64
#define MAX_ROOMS 10000
#define MAX_ITEMS 1000
#define MAX_NPCS 1000
#define MAX_CHANNELS 32
#define MAX_SPAWNERS 10000 /* item spawners, and NPC spawners */
#define MAX_RULES 16       /* timers, greets, hears: each, per NPC */
#define MAX_ACTIONS 32     /* per timer */

#define MAX_ID 32
#define MAX_LABEL 80 /* names, patterns */
#define MAX_TEXT 200 /* say/emote text, ground lines, keywords, channel desc */
#define MAX_DESC 4096
#define MAX_DOOR 32
#define MAX_COORD 10000
#define MAX_HISTORY 200
#define MAX_DISTANCE 100
#define MAX_WEIGHT 1000
#define MIN_INTERVAL 1000u
#define MAX_INTERVAL 86400000u
#define MAX_DELAY 3600000u
#define DEFAULT_INTERVAL 60000u

/* gameplay (worldfile_game.c, worldfile_game_zone.c) */
#define MAX_RACES 32
#define MAX_CLASSES 32
#define MAX_SOCIALS 200
#define MAX_SHOPS 1000
#define MAX_QUESTS 1000
#define MAX_EFFECTS 8 /* per skill or item use */
#define MAX_USES 8    /* per item */
#define MAX_DROPS 16  /* per NPC */
#define MAX_TOPICS 32 /* per NPC */
#define MAX_STEPS 16  /* per quest */
#define MAX_STOCK 100 /* lines per shop */
#define MAX_REWARD_ITEMS 16
#define MAX_SKILL_NAME 40
#define MAX_BASE_STAT 1000 /* races and NPCs: -100..1000 */
#define MIN_BASE_STAT (-100)
#define MAX_BONUS 1000     /* classes, items, armour: -1000..1000 */
#define MAX_AMOUNT 100000  /* effect amounts and rolls, weapon damage, costs */
#define MAX_GOLD 100000000 /* prices, gold, rewards */
#define MAX_POOL 10000000  /* an NPC's health, skill, endurance */
#define MAX_STEP_COUNT 1000
#define MAX_STOCK_COUNT 1000000

/* ---- the tree ------------------------------------------------------------ */

enum { YN_SCALAR, YN_SEQ, YN_MAP };

struct ynode {
    struct ynode *next;  /* next sibling */
    struct ynode *first; /* children: items, or key, value, key, value... */
    struct ynode *last;
    size_t n; /* number of children (a map: keys + values) */
    char *s;  /* scalar bytes, NUL-terminated (may hold NULs) */
    size_t len;
    uint32_t line, col; /* 1-based */
    uint8_t kind;
    bool plain;
};

struct wfile {
    char *name; /* NUL-terminated copy */
    const uint8_t *data;
    size_t len;
    struct ynode *root;
    const struct ynode *top[8]; /* pass 2: a zone file's top-level values */
};

/* Where an id was first defined, for "duplicate" messages. */
struct where {
    const struct wfile *f;
    const struct ynode *n;
};

/* A string -> index table (open addressing; keys point into the model). */
struct slot {
    const char *key;
    uint32_t val;
};
struct tab {
    struct slot *slots;
    size_t mask;
};

enum ref_kind {
    REF_EXIT,
    REF_GRAVEYARD,
    REF_START,
    REF_ROOM,
    REF_ITEM,
    REF_NPC,
    REF_SKILL,
    REF_CLASS,
    REF_QUEST,    /* resolved by worldfile_game.c */
    REF_SHOP_ROOM /* a room, then checked: one shop per room */
};

struct ref {
    const struct wfile *f;
    const struct ynode *n;
    uint32_t *dst;
    uint32_t zone; /* short room ids are in this zone */
    uint8_t kind;
    uint8_t dir;
};

struct ctx {
    struct wr_mud_model *m;
    struct wr_mud_model *tmp;
    char *err;
    size_t errlen;
    const struct wfile *f; /* the file being read */
    size_t nodes;
    struct wfile *files;
    size_t n_files;
    struct wfile *world;
    struct tab t_zone, t_room, t_item, t_npc, t_chan;
    struct where *w_zone, *w_room, *w_item, *w_npc, *w_chan;
    struct ref *refs;
    size_t n_refs, cap_refs;
    /* gameplay: counted in pass 2 (races, classes, skills, socials, shops,
     * quests), ids registered in pass 3 */
    size_t cnt_races, cnt_classes, cnt_skills, cnt_socials, cnt_shops, cnt_quests;
    struct tab t_race, t_class, t_skill, t_social, t_shop, t_quest;
    struct where *w_race, *w_class, *w_skill, *w_social, *w_shop, *w_quest;
};

/* ---- shared by the two halves (worldfile.c) -------------------------------- */

/* Write "FILE:LINE:COLUMN: message" into c->err (truncated to c->errlen; a
 * no-op when errlen is 0). Always returns -1, so callers can return it. */
__attribute__((format(printf, 5, 6))) int
wr__wf_fail_at(struct ctx *c, const char *file, uint32_t line, uint32_t col, const char *fmt, ...);

/* Fail at @node of the file being read (c->f). */
#define FAIL(c, node, ...) wr__wf_fail_at((c), (c)->f->name, (node)->line, (node)->col, __VA_ARGS__)

/* A scalar as it may be quoted in a message: at most 40 bytes, anything
 * unprintable or non-ASCII as '?', so an error line stays one clean line. */
struct shown {
    char s[48];
};

/* @n quoted for a message (a mapping or list by its kind). */
struct shown wr__wf_show(const struct ynode *n);

/* A plain scalar YAML reads as null: empty, ~, null, Null or NULL. */
bool wr__wf_is_null(const struct ynode *n);

/* @n is a scalar equal to @word (byte for byte). */
bool wr__wf_scalar_is(const struct ynode *n, const char *word);

/* @n is a scalar equal to the lowercase @word, ignoring ASCII case. */
bool wr__wf_scalar_is_nocase(const struct ynode *n, const char *word);

/* A NUL-terminated copy of @s[0..@len) allocated in @m (freed with it). */
char *wr__wf_mstrndup(struct wr_mud_model *m, const char *s, size_t len);

/* Size @t (in c->tmp) for @n entries. */
void wr__wf_tab_init(struct ctx *c, struct tab *t, size_t n);

/* The value of @key in @t, or -1. */
long wr__wf_tab_get(const struct tab *t, const char *key);

/* Register @key (owned by the model, not copied) as the @idx-th of its kind,
 * remembering @at in @w[@idx]; or fail (-1) naming the first definition. */
int wr__wf_define(struct ctx *c, struct tab *t, struct where *w, const char *kind, const char *key,
                  uint32_t idx, const struct ynode *at);

/* ---- typed field access (worldfile_fields.c, shared with worldfile_game*.c) - */

/* Match @map's keys against @keys: vals[i] is the value of keys[i], or
 * NULL. Fails on a non-mapping, an unknown key or a key given twice. */
int wr__wf_fields(struct ctx *c, const struct ynode *map, const char *what, const char *const *keys,
                  size_t nk, const struct ynode **vals);

/* Fails "WHAT is missing KEY" (at @map) when @v is NULL. */
int wr__wf_need(struct ctx *c, const struct ynode *map, const struct ynode *v, const char *what,
                const char *key);

enum { STR_LINE = 0, STR_MULTILINE = 1, STR_KEYWORDS = 2 };

/* A string (STR_LINE, STR_MULTILINE or STR_KEYWORDS) of at most @max bytes,
 * trimmed, copied into the model. */
int wr__wf_get_str(struct ctx *c, const struct ynode *v, const char *key, size_t max, int mode,
                   char **out);

/* An id (see docs/world-format.md), copied into the model. */
int wr__wf_get_id(struct ctx *c, const struct ynode *v, const char *key, char **out);

/* An integer in @lo..@hi. */
int wr__wf_get_int(struct ctx *c, const struct ynode *v, const char *key, int64_t lo, int64_t hi,
                   int64_t *out);

/* A duration in @lo..@hi milliseconds. */
int wr__wf_get_duration(struct ctx *c, const struct ynode *v, const char *key, uint32_t lo,
                        uint32_t hi, uint32_t *out);

int wr__wf_get_bool(struct ctx *c, const struct ynode *v, const char *key, bool *out);

/* Fails unless @v is a list. */
int wr__wf_get_list(struct ctx *c, const struct ynode *v, const char *key);

/* Record a reference at @n, to be resolved into *@dst in pass 4 (short
 * room ids in @zone). */
void wr__wf_add_ref(struct ctx *c, const struct ynode *n, uint32_t *dst, uint32_t zone,
                    enum ref_kind kind, int dir);

/* ---- the schema passes (worldfile_fields.c) -------------------------------- */

/* Pass 2: the top-level keys of every file and the counts; allocates the
 * model's arrays, the lookup tables and the reference list. 0 or -1. */
int wr__wf_shapes(struct ctx *c);

/* Pass 3, world.yaml: name, start, channels. 0 or -1. */
int wr__wf_read_world(struct ctx *c);

/* Pass 3, one zone file: the zone, its rooms, items, NPCs and spawners. */
int wr__wf_read_zone_file(struct ctx *c, struct wfile *f);

/* Pass 4: check one reference recorded in pass 3 and store its index. */
int wr__wf_resolve(struct ctx *c, const struct ref *r);

/* ---- gameplay (worldfile_game.c: world.yaml; worldfile_game_zone.c: zones) - *
 * The keys of docs/world-format.md "## Gameplay". Each group of keys is
 * appended to its object's key list in worldfile_fields.c with the macros
 * below, and the values are handed over in that order (@v points at the
 * first of them). */

#define WF_WORLD_GAME_KEYS "rules", "races", "classes", "skills", "socials"
enum { WG_RULES, WG_RACES, WG_CLASSES, WG_SKILLS, WG_SOCIALS, WG_NKEYS };

#define WF_ZONE_GAME_KEYS "shops", "quests"
enum { ZG_SHOPS, ZG_QUESTS, ZG_NKEYS };

#define WF_ITEM_GAME_KEYS "slot", "stats", "armour", "damage", "price", "level", "uses"
enum { IG_SLOT, IG_STATS, IG_ARMOUR, IG_DAMAGE, IG_PRICE, IG_LEVEL, IG_USES, IG_NKEYS };

#define WF_NPC_GAME_KEYS                                                                           \
    "level", "stats", "health", "skill", "endurance", "armour", "attack", "gold", "aggressive",    \
        "drops", "teaches", "talk"
enum {
    NG_LEVEL,
    NG_STATS,
    NG_HEALTH,
    NG_SKILL,
    NG_ENDURANCE,
    NG_ARMOUR,
    NG_ATTACK,
    NG_GOLD,
    NG_AGGRESSIVE,
    NG_DROPS,
    NG_TEACHES,
    NG_TALK,
    NG_NKEYS
};

#define WF_BEHAVIOUR_GAME_KEYS "combat", "targeted"
enum { BG_COMBAT, BG_TARGETED, BG_NKEYS };

/* Pass 2: allocate the gameplay arrays and tables from c->cnt_* (one race
 * and one class at least: the defaults). */
void wr__wf_game_alloc(struct ctx *c);

/* Pass 3, world.yaml after the channels: rules, races, classes, skills,
 * socials (@v: WG_NKEYS values, NULL when absent), with their defaults. */
int wr__wf_read_world_game(struct ctx *c, const struct ynode *const *v);

/* Pass 4: a skill, class or quest reference. */
int wr__wf_resolve_game(struct ctx *c, const struct ref *r);

/* ---- zone files' gameplay (worldfile_game_zone.c) ------------------------- */

/* Pass 3, an item's gameplay keys (@v: IG_NKEYS values); @what names it. */
int wr__wf_read_item_game(struct ctx *c, const struct ynode *const *v, struct wr_mud_item *it,
                          const char *what);

/* Pass 3, an NPC's gameplay keys (@v: NG_NKEYS values), before its
 * behaviour (which needs its level); @what names it. */
int wr__wf_read_npc_game(struct ctx *c, const struct ynode *const *v, struct wr_mud_npc *npc,
                         const char *what);

/* Pass 3, the behaviour rules combat and targeted (@v: BG_NKEYS values). */
int wr__wf_read_behaviour_game(struct ctx *c, const struct ynode *const *v, struct wr_mud_npc *npc);

/* Pass 3, a zone file's shops and quests (@v: ZG_NKEYS values), after its
 * spawners. */
int wr__wf_read_zone_game(struct ctx *c, const struct ynode *const *v, uint32_t zone);

/* Pass 4, after a shop's room resolved: no other shop is in that room. */
int wr__wf_check_shop_room(struct ctx *c, const struct ref *r);

/* ---- the gameplay vocabulary (worldfile_game.c, for worldfile_game_zone.c) - */

/* A list of names for wr__wf_fields and wr__wf_get_enum, so a mapping of
 * stats or damage types reports an unknown name like any unknown key. */
struct names {
    const char *s[WR_MUD_NDTYPES + WR_MUD_NSLOTS];
    size_t n;
};

/* The damage types' names, in enum wr_mud_dtype order. */
struct names wr__wf_dtype_names(void);

/* One of @names into *@out, or "KEY must be one of a, b or c (got X)". */
int wr__wf_get_enum(struct ctx *c, const struct ynode *v, const char *key,
                    const struct names *names, uint8_t *out);

/* {strength: 12, ...}: the stats given, in @lo..@hi; the others untouched. */
int wr__wf_get_stats(struct ctx *c, const struct ynode *v, const char *key, int64_t lo, int64_t hi,
                     int32_t *out);

/* A message: {actor, target, room}, each an optional line. */
int wr__wf_get_msg(struct ctx *c, const struct ynode *v, const char *key, struct wr_mud_msg *msg);

/* A list of at most @max entries (at least one unless @may_be_empty). */
int wr__wf_get_sized_list(struct ctx *c, const struct ynode *v, const char *key, size_t max,
                          bool may_be_empty);

/* A reference of @kind to be resolved in pass 4 (short room ids in @zone). */
int wr__wf_get_ref(struct ctx *c, const struct ynode *v, const char *key, uint32_t *dst,
                   uint32_t zone, enum ref_kind kind);

/* A list of references of one kind into a new array. */
int wr__wf_get_ref_list(struct ctx *c, const struct ynode *v, const char *key, size_t max,
                        enum ref_kind kind, uint32_t **out, size_t *n);

/* An effects list (a skill's or an item use's), 1..MAX_EFFECTS effects. */
int wr__wf_read_effects(struct ctx *c, const struct ynode *v, struct wr_mud_effect **out,
                        size_t *n);

#endif
