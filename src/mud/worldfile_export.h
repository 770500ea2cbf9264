/* Private to src/mud/worldfile_export.c and worldfile_export_zone.c: the
 * file being written and the emitter helpers both halves write with (the
 * parser's worldfile_internal.h is not used by the export).
 * Nothing outside src/mud/worldfile_export*.c includes this. */
#ifndef WR_MUD_WORLDFILE_EXPORT_H
#define WR_MUD_WORLDFILE_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "mud/model.h"

#define WORLD_FILE UINT32_MAX /* em.zone while writing world.yaml */

/* One file being written. Errors are sticky: the first one is kept in err
 * and every later call does nothing, so the writers below need no checks
 * of their own between fields. */
struct em {
    yaml_emitter_t y;
    const struct wr_mud_model *m;
    uint32_t zone; /* the file's zone, or WORLD_FILE */
    bool failed;
    char *err;
    size_t errlen;
};

/* ---- the emitter (worldfile_export.c) ------------------------------------- */

/* Fail with "export: message" in e->err, unless already failed. */
__attribute__((format(printf, 2, 3))) void wr__ex_fail(struct em *e, const char *fmt, ...);

/* A key, an id, a number or a boolean: always plain. */
void wr__ex_word(struct em *e, const char *s);

/* Start a mapping or a list, flow style ({...}, [...]) or block. */
void wr__ex_map_start(struct em *e, bool flow);
void wr__ex_map_end(struct em *e);
void wr__ex_seq_start(struct em *e, bool flow);
void wr__ex_seq_end(struct em *e);

/* A required string: a model without it cannot be written. */
void wr__ex_kv_str(struct em *e, const char *k, const char *v, const char *what);

/* An optional string: left out when absent. */
void wr__ex_kv_opt(struct em *e, const char *k, const char *v);

/* k: a number. */
void wr__ex_kv_num(struct em *e, const char *k, long long v);

/* k: true or false. */
void wr__ex_kv_bool(struct em *e, const char *k, bool v);

/* The key of the @idx-th of @n objects @stride bytes apart, or NULL after
 * failing with what refers to it (use KEY_OF). */
const char *wr__ex_key_of(struct em *e, const void *arr, size_t n, size_t stride, uint32_t idx,
                          const char *kind, const char *what);

#define KEY_OF(e, arr, n, idx, kind, what)                                                         \
    wr__ex_key_of((e), (arr), (n), sizeof *(arr), (idx), kind, what)

/* A key from KEY_OF as a value; nothing when it is NULL (already failed). */
void wr__ex_v_key(struct em *e, const char *key);

/* k: name(v), or fail naming the unknown @kind when @v is not below @n. */
void wr__ex_kv_enum(struct em *e, const char *k, unsigned v, unsigned n,
                    const char *(*name)(unsigned), const char *kind, const char *what);

/* stats: every stat, in enum order, on one line. */
void wr__ex_kv_stats(struct em *e, const char *k, const int32_t *stats);

/* armour: every damage type, in enum order. */
void wr__ex_kv_armour(struct em *e, const char *k, const int32_t *armour);

/* {type, min, max}: a weapon's damage, an NPC's attack. */
void wr__ex_kv_damage(struct em *e, const char *k, uint8_t dtype, uint32_t lo, uint32_t hi,
                      const char *what);

/* A message's lines; left out when it has none, unless @required. */
void wr__ex_kv_msg(struct em *e, const char *k, const struct wr_mud_msg *msg, bool required);

/* effects: a skill's or an item use's list of effects. */
void wr__ex_effects(struct em *e, const struct wr_mud_effect *fx, size_t n, const char *what);

/* ---- zone files (worldfile_export_zone.c) --------------------------------- */

/* The zone file a quest goes in (its giver's zone), or UINT32_MAX. */
uint32_t wr__ex_quest_zone(const struct wr_mud_model *m, const struct wr_mud_quest *q);

/* The body of zones/ZONE.yaml for zone e->zone. */
void wr__ex_zone_file(struct em *e);

#endif
