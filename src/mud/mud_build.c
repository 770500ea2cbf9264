/* Live building and administration (mud_internal.h, "gameplay areas"):
 * roles, builder edits of the running world, admin commands. SCAFFOLD:
 * the contract's hooks with their simplest behaviour. */
#include "mud/mud_internal.h"

enum result wr__mud_apply_build(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_mud_char *c,
                                struct wr_reader *r)
{
    (void)m; (void)c; (void)r;
    if (cmd->session != 0)
        wr__mud_fail(ctx, cmd, "todo", "Not yet.");
    return R_KEEP;
}

void wr__mud_snap_build(const struct wr_mud *m, struct wr_writer *w)
{
    (void)m; (void)w;
}

int wr__mud_restore_build(struct wr_mud *m, struct wr_reader *r)
{
    (void)m; (void)r;
    return 0;
}

void wr__mud_remap_build(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct remap *rm)
{
    (void)m; (void)ctx; (void)rm;
}

void wr__mud_clear_build(struct wr_mud *m)
{
    (void)m;
}
