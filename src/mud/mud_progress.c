/* Progression (mud_internal.h, "gameplay areas"): races and classes,
 * stats, levels and experience, regeneration, hone and train. SCAFFOLD:
 * the contract's hooks with their simplest behaviour. */
#include <string.h>

#include "mud/mud_internal.h"

enum result wr__mud_apply_progress(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                   const struct wr_cmd *cmd, struct wr_mud_char *c,
                                   struct wr_reader *r)
{
    (void)m; (void)c; (void)r;
    wr__mud_fail(ctx, cmd, "todo", "Not yet.");
    return R_KEEP;
}

void wr__mud_snap_progress(const struct wr_mud *m, struct wr_writer *w)
{
    (void)m; (void)w;
}

int wr__mud_restore_progress(struct wr_mud *m, struct wr_reader *r)
{
    (void)r;
    for (size_t i = 0; i < m->n_chars; i++) {
        m->chars[i].level = 1;
        m->chars[i].next_regen_at = NEVER;
    }
    for (size_t i = 0; i < m->n_npcs; i++)
        m->npcs[i].next_regen_at = NEVER;
    return 0;
}

void wr__mud_remap_progress(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                            const struct remap *rm)
{
    (void)m; (void)ctx; (void)rm;
}

void wr__mud_clear_progress(struct wr_mud *m)
{
    (void)m;
}

void wr__mud_progress_init_char(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                struct wr_mud_char *c, uint32_t race, uint32_t cls)
{
    (void)m; (void)ctx;
    c->race = race;
    c->cls = cls;
    c->level = 1;
    c->next_regen_at = NEVER;
    c->f.next_round_at = NEVER;
}

void wr__mud_award_xp(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                      uint32_t level)
{
    (void)m; (void)ctx; (void)c; (void)level;
}

void wr__mud_grant_xp(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                      uint64_t xp)
{
    (void)m; (void)ctx;
    c->xp += xp;
}

void wr__mud_regen_start(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind,
                         uint32_t id)
{
    (void)m; (void)ctx; (void)kind; (void)id;
}

void wr__mud_regen(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind, uint32_t id)
{
    (void)ctx;
    if (kind == WR_MUD_ACTOR_CHAR) {
        struct wr_mud_char *c = wr__mud_char_by_id(m, id);
        if (c != NULL)
            c->next_regen_at = NEVER;
    } else {
        struct wr_mud_npc_inst *n = wr__mud_npc_by_id(m, id);
        if (n != NULL)
            n->next_regen_at = NEVER;
    }
}

int32_t wr__mud_stat(const struct wr_mud *m, uint8_t kind, uint32_t id, enum wr_mud_stat s,
                     uint64_t now)
{
    (void)m; (void)kind; (void)id; (void)s; (void)now;
    return 10;
}

int32_t wr__mud_max(const struct wr_mud *m, uint8_t kind, uint32_t id, enum wr_mud_pool p,
                    uint64_t now)
{
    (void)m; (void)kind; (void)id; (void)p; (void)now;
    return 100;
}

int32_t wr__mud_armour(const struct wr_mud *m, uint8_t kind, uint32_t id, enum wr_mud_dtype t,
                       uint64_t now)
{
    (void)m; (void)kind; (void)id; (void)t; (void)now;
    return 0;
}

uint64_t wr_mud_xp_to_next(const struct wr_mud_model *mo, uint32_t level)
{
    return (uint64_t)mo->rules.xp_base * level;
}

void wr__mud_death_penalty(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                           struct wr_mud_char *c)
{
    (void)m; (void)ctx; (void)c;
}

bool wr__mud_knows_skill(const struct wr_mud *m, const struct wr_mud_char *c, uint32_t skill)
{
    return skill < m->model->n_skills && c->level >= m->model->skills[skill].level;
}

bool wr_mud_knows_skill(const struct wr_mud *m, const struct wr_mud_char *c, uint32_t skill)
{
    return wr__mud_knows_skill(m, c, skill);
}
