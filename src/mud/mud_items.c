/* Items and economy (mud_internal.h, "gameplay areas"): equipment, item
 * uses, gold, shops and corpses. SCAFFOLD: the contract's hooks with their
 * simplest behaviour. */
#include <string.h>

#include "mud/mud_internal.h"

enum result wr__mud_apply_items(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_mud_char *c,
                                struct wr_reader *r)
{
    (void)m; (void)c; (void)r;
    wr__mud_fail(ctx, cmd, "todo", "Not yet.");
    return R_KEEP;
}

void wr__mud_snap_items(const struct wr_mud *m, struct wr_writer *w)
{
    (void)m; (void)w;
}

int wr__mud_restore_items(struct wr_mud *m, struct wr_reader *r)
{
    (void)m; (void)r;
    return 0;
}

void wr__mud_remap_items(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct remap *rm)
{
    (void)m; (void)ctx; (void)rm;
}

void wr__mud_clear_items(struct wr_mud *m)
{
    (void)m;
}

int32_t wr__mud_equip_stat(const struct wr_mud *m, const struct wr_mud_char *c,
                           enum wr_mud_stat s)
{
    (void)m; (void)c; (void)s;
    return 0;
}

int32_t wr__mud_equip_armour(const struct wr_mud *m, const struct wr_mud_char *c,
                             enum wr_mud_dtype t)
{
    (void)m; (void)c; (void)t;
    return 0;
}

uint32_t wr__mud_weapon(const struct wr_mud *m, const struct wr_mud_char *c)
{
    (void)m; (void)c;
    return NONE;
}

uint32_t wr__mud_make_corpse(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint8_t kind,
                             uint32_t id, uint32_t room, uint64_t *rng)
{
    (void)m; (void)ctx; (void)kind; (void)id; (void)room; (void)rng;
    return 0;
}

void wr__mud_corpse_decay(struct wr_mud *m, const struct wr_apply_ctx *ctx, uint32_t item_id)
{
    (void)m; (void)ctx; (void)item_id;
}

uint32_t wr__mud_count_carried(const struct wr_mud *m, const struct wr_mud_char *c,
                               uint32_t item)
{
    uint32_t n = 0;
    for (size_t i = 0; i < m->n_items; i++)
        n += m->items[i].loc == WR_MUD_CARRIED && m->items[i].where == c->id &&
             m->items[i].item == item;
    return n;
}

void wr__mud_give_new_item(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                           struct wr_mud_char *c, uint32_t item)
{
    (void)m; (void)ctx; (void)c; (void)item;
}

void wr__mud_take_items(struct wr_mud *m, struct wr_mud_char *c, uint32_t item, uint32_t n)
{
    (void)m; (void)c; (void)item; (void)n;
}

int32_t wr_mud_shop_stock(const struct wr_mud *m, uint32_t shop, uint32_t line)
{
    (void)m; (void)shop; (void)line;
    return -1;
}
