/* Combat (mud_internal.h, "gameplay areas"): targets, combat rounds on the
 * zone owner's timer, skills, effects, NPC combat behaviour, death and
 * recall. SCAFFOLD: the contract's hooks with their simplest behaviour,
 * to be replaced by the real area. */
#include <string.h>

#include "mud/mud_internal.h"

enum result wr__mud_apply_fight(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_mud_char *c,
                                struct wr_reader *r)
{
    (void)m; (void)c; (void)r;
    wr__mud_fail(ctx, cmd, "todo", "Not yet.");
    return R_KEEP;
}

static void fighter_idle(struct wr_mud_fighter *f)
{
    f->target_kind = WR_MUD_ACTOR_NONE;
    f->target_id = 0;
    f->next_round_at = NEVER;
    f->round = 0;
}

void wr__mud_snap_fight(const struct wr_mud *m, struct wr_writer *w)
{
    (void)m; (void)w;
}

int wr__mud_restore_fight(struct wr_mud *m, struct wr_reader *r)
{
    (void)r;
    for (size_t i = 0; i < m->n_chars; i++)
        fighter_idle(&m->chars[i].f);
    for (size_t i = 0; i < m->n_npcs; i++)
        wr__mud_fight_init_npc(m, &m->npcs[i]);
    return 0;
}

void wr__mud_remap_fight(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct remap *rm)
{
    (void)m; (void)ctx; (void)rm;
}

void wr__mud_clear_fight(struct wr_mud *m)
{
    (void)m;
}

void wr__mud_fight_round(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind,
                         uint32_t id)
{
    struct wr_mud_fighter *f = wr__mud_fighter(m, kind, id);
    if (f != NULL && f->next_round_at <= ctx->now_ms)
        fighter_idle(f);
}

void wr__mud_fight_leave(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind,
                         uint32_t id)
{
    (void)ctx;
    struct wr_mud_fighter *f = wr__mud_fighter(m, kind, id);
    if (f != NULL)
        fighter_idle(f);
}

bool wr__mud_fight_busy(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                        const struct wr_cmd *cmd, const struct wr_mud_char *c, const char *what)
{
    (void)m; (void)ctx; (void)cmd; (void)c; (void)what;
    return false;
}

void wr__mud_fight_char_arrived(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                struct wr_mud_char *c)
{
    (void)m; (void)ctx; (void)c;
}

void wr__mud_fight_npc_arrived(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                               struct wr_mud_npc_inst *n)
{
    (void)m; (void)ctx; (void)n;
}

void wr__mud_fight_init_npc(struct wr_mud *m, struct wr_mud_npc_inst *n)
{
    const struct wr_mud_npc *def = &m->model->npcs[n->npc];
    memset(&n->f, 0, sizeof n->f);
    for (int p = 0; p < WR_MUD_NPOOLS; p++)
        n->f.pool[p] = (int32_t)def->max[p];
    fighter_idle(&n->f);
    n->next_regen_at = NEVER;
}
