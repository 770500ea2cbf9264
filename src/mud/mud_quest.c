/* Quests and social (mud_internal.h, "gameplay areas"): NPC
 * conversations, quests, socials and mail. SCAFFOLD: the contract's hooks
 * with their simplest behaviour. */
#include "mud/mud_internal.h"

enum result wr__mud_apply_quest(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_mud_char *c,
                                struct wr_reader *r)
{
    (void)m; (void)c; (void)r;
    wr__mud_fail(ctx, cmd, "todo", "Not yet.");
    return R_KEEP;
}

void wr__mud_snap_quest(const struct wr_mud *m, struct wr_writer *w)
{
    (void)m; (void)w;
}

int wr__mud_restore_quest(struct wr_mud *m, struct wr_reader *r)
{
    (void)m; (void)r;
    return 0;
}

void wr__mud_remap_quest(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct remap *rm)
{
    (void)m; (void)ctx; (void)rm;
}

void wr__mud_clear_quest(struct wr_mud *m)
{
    (void)m;
}

void wr__mud_quest_on_kill(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                           struct wr_mud_char *c, uint32_t npc)
{
    (void)m; (void)ctx; (void)c; (void)npc;
}

void wr__mud_quest_on_enter(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                            struct wr_mud_char *c)
{
    (void)m; (void)ctx; (void)c;
}

void wr__mud_quest_on_item(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                           struct wr_mud_char *c)
{
    (void)m; (void)ctx; (void)c;
}
