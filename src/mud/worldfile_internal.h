/* Private to src/mud/worldfile.c and src/mud/worldfile_fields.c: the YAML
 * tree, the parse context, the limits, and the few helpers the two halves
 * share. Nothing outside src/mud/worldfile*.c includes this. */
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
    const struct ynode *top[6]; /* pass 2: a zone file's top-level values */
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

enum ref_kind { REF_EXIT, REF_GRAVEYARD, REF_START, REF_ROOM, REF_ITEM, REF_NPC };

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

#endif
