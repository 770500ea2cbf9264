/* The world model's allocation, lookups and direction names; see model.h. */
#include "mud/model.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"

/* A chunk of the bump allocator; chunks form a list from m->arena. */
struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define CHUNK_BYTES 65536

struct wr_mud_model *wr_mud_model_new(void)
{
    return wr_calloc(1, sizeof(struct wr_mud_model));
}

void *wr_mud_model_alloc(struct wr_mud_model *m, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct chunk *c = m->arena;
    if (c == NULL || c->cap - c->used < size) {
        size_t cap = size > CHUNK_BYTES ? size : CHUNK_BYTES;
        struct chunk *n = wr_malloc(sizeof *n + cap);
        n->next = c;
        n->used = 0;
        n->cap = cap;
        m->arena = n;
        c = n;
    }
    void *p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *wr_mud_model_strdup(struct wr_mud_model *m, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = wr_mud_model_alloc(m, n);
    memcpy(d, s, n);
    return d;
}

void wr_mud_model_free(struct wr_mud_model *m)
{
    if (m == NULL)
        return;
    struct chunk *c = m->arena;
    while (c != NULL) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    free(m);
}

long wr_mud_model_room(const struct wr_mud_model *m, const char *key)
{
    for (size_t i = 0; i < m->n_rooms; i++)
        if (strcmp(m->rooms[i].key, key) == 0)
            return (long)i;
    return -1;
}

long wr_mud_model_zone(const struct wr_mud_model *m, const char *key)
{
    for (size_t i = 0; i < m->n_zones; i++)
        if (strcmp(m->zones[i].key, key) == 0)
            return (long)i;
    return -1;
}

long wr_mud_model_channel(const struct wr_mud_model *m, const char *key)
{
    for (size_t i = 0; i < m->n_channels; i++)
        if (strcasecmp(m->channels[i].key, key) == 0)
            return (long)i;
    return -1;
}

static const char *const dir_names[WR_MUD_NDIRS] = {
    "north", "south", "east", "west", "northeast", "northwest",
    "southeast", "southwest", "up", "down", "in", "out"};
static const char *const dir_short[WR_MUD_NDIRS] = {"n",  "s",  "e", "w", "ne", "nw",
                                                    "se", "sw", "u", "d", "in", "out"};
static const enum wr_mud_dir dir_rev[WR_MUD_NDIRS] = {
    WR_DIR_S, WR_DIR_N, WR_DIR_W, WR_DIR_E, WR_DIR_SW, WR_DIR_SE,
    WR_DIR_NW, WR_DIR_NE, WR_DIR_D, WR_DIR_U, WR_DIR_OUT, WR_DIR_IN};

int wr_mud_dir_parse(const char *word)
{
    for (int i = 0; i < WR_MUD_NDIRS; i++)
        if (strcasecmp(word, dir_names[i]) == 0 || strcasecmp(word, dir_short[i]) == 0)
            return i;
    return -1;
}

const char *wr_mud_dir_name(enum wr_mud_dir d)
{
    return (unsigned)d < WR_MUD_NDIRS ? dir_names[d] : "?";
}

const char *wr_mud_dir_short(enum wr_mud_dir d)
{
    return (unsigned)d < WR_MUD_NDIRS ? dir_short[d] : "?";
}

enum wr_mud_dir wr_mud_dir_reverse(enum wr_mud_dir d)
{
    return (unsigned)d < WR_MUD_NDIRS ? dir_rev[d] : d;
}

#define FIND_KEY(arr, n, key)                                              \
    do {                                                                   \
        for (size_t i_ = 0; i_ < (n); i_++)                                \
            if (strcmp((arr)[i_].key, (key)) == 0)                         \
                return (long)i_;                                           \
        return -1;                                                         \
    } while (0)

long wr_mud_model_item(const struct wr_mud_model *m, const char *key)
{
    FIND_KEY(m->items, m->n_items, key);
}

long wr_mud_model_npc(const struct wr_mud_model *m, const char *key)
{
    FIND_KEY(m->npcs, m->n_npcs, key);
}

long wr_mud_model_skill(const struct wr_mud_model *m, const char *key)
{
    FIND_KEY(m->skills, m->n_skills, key);
}

long wr_mud_model_race(const struct wr_mud_model *m, const char *key)
{
    FIND_KEY(m->races, m->n_races, key);
}

long wr_mud_model_class(const struct wr_mud_model *m, const char *key)
{
    FIND_KEY(m->classes, m->n_classes, key);
}

long wr_mud_model_quest(const struct wr_mud_model *m, const char *key)
{
    FIND_KEY(m->quests, m->n_quests, key);
}

long wr_mud_model_shop_in(const struct wr_mud_model *m, uint32_t room)
{
    for (size_t i = 0; i < m->n_shops; i++)
        if (m->shops[i].room == room)
            return (long)i;
    return -1;
}

/* ---- the gameplay vocabulary ------------------------------------------ */

static const char *const stat_names[WR_MUD_NSTATS] = {
    "strength", "agility", "intelligence", "awareness", "vitality", "willpower"};
static const char *const pool_names[WR_MUD_NPOOLS] = {"health", "skill", "endurance"};
static const char *const dtype_names[WR_MUD_NDTYPES] = {
    "slashing", "piercing", "bludgeoning", "fire", "cold",
    "lightning", "poison", "arcane", "holy"};
static const char *const slot_names[WR_MUD_NSLOTS] = {
    "head", "neck", "body", "arms", "hands", "finger", "legs", "feet", "wield", "offhand"};

static int find_name(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *wr_mud_stat_name(enum wr_mud_stat s)
{
    return (unsigned)s < WR_MUD_NSTATS ? stat_names[s] : "?";
}

const char *wr_mud_pool_name(enum wr_mud_pool p)
{
    return (unsigned)p < WR_MUD_NPOOLS ? pool_names[p] : "?";
}

const char *wr_mud_dtype_name(enum wr_mud_dtype t)
{
    return (unsigned)t < WR_MUD_NDTYPES ? dtype_names[t] : "?";
}

const char *wr_mud_slot_name(enum wr_mud_slot s)
{
    return (unsigned)s < WR_MUD_NSLOTS ? slot_names[s] : "none";
}

int wr_mud_stat_parse(const char *s)
{
    return find_name(stat_names, WR_MUD_NSTATS, s);
}

int wr_mud_pool_parse(const char *s)
{
    return find_name(pool_names, WR_MUD_NPOOLS, s);
}

int wr_mud_dtype_parse(const char *s)
{
    return find_name(dtype_names, WR_MUD_NDTYPES, s);
}

int wr_mud_slot_parse(const char *s)
{
    return find_name(slot_names, WR_MUD_NSLOTS, s);
}

bool wr_mud_words_match(const char *words, const char *kw)
{
    size_t kn = strlen(kw);
    if (words == NULL || kn == 0)
        return false;
    for (const char *p = words; *p;) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - start) >= kn && strncasecmp(start, kw, kn) == 0)
            return true;
    }
    return false;
}

bool wr_mud_skill_for_class(const struct wr_mud_skill *sk, uint32_t cls)
{
    for (size_t i = 0; i < sk->n_classes; i++)
        if (sk->classes[i] == cls)
            return true;
    return false;
}
