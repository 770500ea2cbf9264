/* Shops of the items area (mud_internal.h, "gameplay areas"; mud_items.c
 * dispatches their commands and calls the stock hooks below from its
 * own): BUY and SELL, the stock state, its part of the items snapshot
 * section, its remap when a world is installed, and the area's clear hook
 * (the stock is all the area allocates).
 *
 * State owned here and its invariant (restore checks it):
 * - m->stock holds one count per line of every shop of the model
 *   (stock_off[shop] + line), -1 exactly where the model's line is
 *   unlimited, else >= 0.
 *
 * A shop's own purse is bottomless. Commands (payloads in mud.h; every
 * refusal is told with wr__mud_fail and changes nothing):
 *   BUY      count 1..20 of a shop line: as many as are left (limited
 *            stock), all paid for at once or refused.
 *   SELL     a carried item with a price: buy_percent of it is paid; the
 *            shop's limited line of that item grows by one. */
#include <stdio.h>
#include <stdlib.h>

#include "mud/mud_internal.h"

#define BUY_MAX 20 /* items bought with one command */

/* ---- BUY and SELL ---------------------------------------------------------- */

static bool shop_open(const struct wr_mud *m, uint32_t shop);
static uint32_t shop_price(const struct wr_mud_model *mo, uint32_t shop, uint32_t line);

/* The shop in @c's room if it is open, else NULL (the session was told). */
static const struct wr_mud_shop *open_shop(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                           const struct wr_cmd *cmd, const struct wr_mud_char *c,
                                           uint32_t *shop_index)
{
    long s = wr_mud_model_shop_in(m->model, c->room);
    if (s < 0) {
        wr__mud_fail(ctx, cmd, "no_shop", "There is no shop here.");
        return NULL;
    }
    const struct wr_mud_shop *sh = &m->model->shops[s];
    if (!shop_open(m, (uint32_t)s)) {
        wr__mud_fail(ctx, cmd, "closed", "The shop is closed.");
        return NULL;
    }
    *shop_index = (uint32_t)s;
    return sh;
}

/* Is @shop open: no keeper, or an instance of its keeper in its room? */
static bool shop_open(const struct wr_mud *m, uint32_t shop)
{
    const struct wr_mud_shop *sh = &m->model->shops[shop];
    if (sh->keeper == NONE)
        return true;
    for (size_t i = 0; i < m->n_npcs; i++)
        if (m->npcs[i].npc == sh->keeper && m->npcs[i].room == sh->room)
            return true;
    return false;
}

/* What line @line of @shop costs: its own price, else the item's. */
static uint32_t shop_price(const struct wr_mud_model *mo, uint32_t shop, uint32_t line)
{
    const struct wr_mud_stock *st = &mo->shops[shop].stock[line];
    return st->price ? st->price : mo->items[st->item].price;
}

enum result wr__mud_shop_buy(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                             const struct wr_cmd *cmd, struct wr_mud_char *c, const char *kw,
                             uint32_t count)
{
    if (wr__mud_fight_busy(m, ctx, cmd, c, "shop"))
        return R_KEEP;
    uint32_t s;
    const struct wr_mud_shop *sh = open_shop(m, ctx, cmd, c, &s);
    if (sh == NULL)
        return R_KEEP;
    if (count < 1 || count > BUY_MAX) {
        wr__mud_fail(ctx, cmd, "count", "You can buy 1 to %d at a time.", BUY_MAX);
        return R_KEEP;
    }
    const struct wr_mud_item *d = NULL;
    uint32_t line = 0;
    for (size_t l = 0; l < sh->n_stock && d == NULL; l++) {
        const struct wr_mud_item *cand = &m->model->items[sh->stock[l].item];
        if (wr_mud_words_match(cand->keywords, kw) || wr_mud_words_match(cand->name, kw)) {
            d = cand;
            line = (uint32_t)l;
        }
    }
    if (d == NULL) {
        wr__mud_fail(ctx, cmd, "not_sold", "%s does not sell that (see 'list').", sh->name);
        return R_KEEP;
    }
    int32_t *stock = &m->stock[m->stock_off[s] + line];
    if (*stock == 0) {
        char cap[128];
        wr__mud_fail(ctx, cmd, "sold_out", "%s is sold out.",
                     wr__mud_capitalised(d->name, cap, sizeof cap));
        return R_KEEP;
    }
    uint32_t n = *stock >= 0 && (uint32_t)*stock < count ? (uint32_t)*stock : count;
    uint64_t price = shop_price(m->model, s, line), total = price * n;
    if (total > c->gold) {
        char cap[128];
        if (n == 1)
            wr__mud_fail(ctx, cmd, "no_gold", "%s costs %llu gold; you have %u.",
                         wr__mud_capitalised(d->name, cap, sizeof cap), (unsigned long long)total,
                         c->gold);
        else
            wr__mud_fail(ctx, cmd, "no_gold", "%u x %s cost %llu gold; you have %u.", n, d->name,
                         (unsigned long long)total, c->gold);
        return R_KEEP;
    }
    c->gold -= (uint32_t)total;
    if (*stock > 0)
        *stock -= (int32_t)n;
    uint32_t item = sh->stock[line].item;
    for (uint32_t i = 0; i < n; i++)
        wr__mud_give_new_item(m, ctx, c, item);
    char self[256], others[256];
    if (n < count)
        snprintf(self, sizeof self, "Only %u left: you buy %u x %s for %llu gold.", n, n, d->name,
                 (unsigned long long)total);
    else if (n == 1)
        snprintf(self, sizeof self, "You buy %s for %llu gold.", d->name,
                 (unsigned long long)total);
    else
        snprintf(self, sizeof self, "You buy %u x %s for %llu gold.", n, d->name,
                 (unsigned long long)total);
    snprintf(others, sizeof others, "{actor} buys %s.", d->name);
    wr__mud_room_act(ctx, c, "shop", self, others);
    wr__mud_quest_on_item(m, ctx, c);
    return R_KEEP;
}

enum result wr__mud_shop_sell(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c, const char *kw)
{
    if (wr__mud_fight_busy(m, ctx, cmd, c, "shop"))
        return R_KEEP;
    uint32_t s;
    const struct wr_mud_shop *sh = open_shop(m, ctx, cmd, c, &s);
    if (sh == NULL)
        return R_KEEP;
    struct wr_mud_item_inst *it = wr__mud_find_item(m, WR_MUD_CARRIED, c->id, kw);
    if (it == NULL) {
        const struct wr_mud_item_inst *w = wr__mud_find_worn(m, c, kw);
        if (w != NULL)
            wr__mud_fail(ctx, cmd, "worn", "You must remove %s first.", wr__mud_item_name(m, w));
        else
            wr__mud_fail(ctx, cmd, "no_item", "You don't have that.");
        return R_KEEP;
    }
    const struct wr_mud_item *d = wr__mud_item_def(m, it);
    uint64_t pay = (uint64_t)d->price * sh->buy_percent / 100;
    if (pay == 0) {
        wr__mud_fail(ctx, cmd, "worthless", "%s will not pay anything for %s.", sh->name, d->name);
        return R_KEEP;
    }
    if (pay > UINT32_MAX - c->gold) {
        wr__mud_fail(ctx, cmd, "too_much", "You cannot carry that much gold.");
        return R_KEEP;
    }
    uint32_t item = it->item;
    c->gold += (uint32_t)pay;
    wr__mud_remove_item(m, ctx->now_ms, it->id);
    for (size_t l = 0; l < sh->n_stock; l++) {
        int32_t *stock = &m->stock[m->stock_off[s] + l];
        if (sh->stock[l].item == item) {
            if (*stock >= 0 && *stock < INT32_MAX)
                (*stock)++;
            break;
        }
    }
    char self[256], others[256];
    snprintf(self, sizeof self, "You sell %s for %llu gold.", d->name, (unsigned long long)pay);
    snprintf(others, sizeof others, "{actor} sells %s.", d->name);
    wr__mud_room_act(ctx, c, "shop", self, others);
    return R_KEEP;
}

int32_t wr_mud_shop_stock(const struct wr_mud *m, uint32_t shop, uint32_t line)
{
    if (m->model == NULL || m->stock_off == NULL || shop >= m->model->n_shops ||
        line >= m->model->shops[shop].n_stock)
        return -1;
    return m->stock[m->stock_off[shop] + line];
}

/* ---- stock: snapshot, restore, remap, clear ------------------------------ */

/* Fresh stock arrays for the model: every line at its initial count. */
void wr__mud_stock_init(struct wr_mud *m)
{
    const struct wr_mud_model *mo = m->model;
    size_t total = 0;
    free(m->stock);
    free(m->stock_off);
    m->stock_off = wr_calloc(mo->n_shops + 1, sizeof *m->stock_off);
    for (size_t s = 0; s < mo->n_shops; s++) {
        m->stock_off[s] = (uint32_t)total;
        total += mo->shops[s].n_stock;
    }
    m->stock = wr_calloc(total + 1, sizeof *m->stock);
    for (size_t s = 0; s < mo->n_shops; s++)
        for (size_t l = 0; l < mo->shops[s].n_stock; l++)
            m->stock[m->stock_off[s] + l] = mo->shops[s].stock[l].count;
}

/* The shop part of the items section (after the corpses; a world is
 * loaded): u32 n_shops | per shop: u32 n_lines | i32 count per line. */
void wr__mud_snap_stock(const struct wr_mud *m, struct wr_writer *w)
{
    const struct wr_mud_model *mo = m->model;
    wr_put_u32(w, (uint32_t)mo->n_shops);
    for (size_t s = 0; s < mo->n_shops; s++) {
        wr_put_u32(w, (uint32_t)mo->shops[s].n_stock);
        for (size_t l = 0; l < mo->shops[s].n_stock; l++)
            wr_put_u32(w, (uint32_t)m->stock[m->stock_off[s] + l]);
    }
}

int wr__mud_restore_stock(struct wr_mud *m, struct wr_reader *r)
{
    const struct wr_mud_model *mo = m->model;
    if (wr_get_u32(r) != mo->n_shops || r->err)
        return -1;
    for (size_t s = 0; s < mo->n_shops; s++) {
        if (wr_get_u32(r) != mo->shops[s].n_stock || r->err)
            return -1;
        for (size_t l = 0; l < mo->shops[s].n_stock; l++) {
            int32_t v = (int32_t)wr_get_u32(r);
            if (r->err || v < -1 || (v == -1) != (mo->shops[s].stock[l].count == -1))
                return -1;
            m->stock[m->stock_off[s] + l] = v;
        }
    }
    return 0;
}

/* The new world's shops start at their model counts, except a line that
 * is limited in both worlds (same shop key, same item key): it keeps its
 * count. */
static void remap_stock(struct wr_mud *m, const struct remap *rm, const int32_t *ostock,
                        const uint32_t *ooff)
{
    const struct wr_mud_model *om = rm->om, *nm = rm->nm;
    wr__mud_stock_init(m);
    if (om == NULL || ostock == NULL)
        return;
    for (size_t os = 0; os < om->n_shops; os++) {
        uint32_t ns = rm->shop[os];
        if (ns == NONE)
            continue;
        for (size_t ol = 0; ol < om->shops[os].n_stock; ol++) {
            uint32_t item = rm->item[om->shops[os].stock[ol].item];
            int32_t count = ostock[ooff[os] + ol];
            if (item == NONE || count < 0)
                continue;
            for (size_t nl = 0; nl < nm->shops[ns].n_stock; nl++)
                if (nm->shops[ns].stock[nl].item == item) {
                    if (nm->shops[ns].stock[nl].count >= 0)
                        m->stock[m->stock_off[ns] + nl] = count;
                    break;
                }
        }
    }
}

void wr__mud_remap_stock(struct wr_mud *m, const struct remap *rm)
{
    int32_t *ostock = m->stock;
    uint32_t *ooff = m->stock_off;
    m->stock = NULL;
    m->stock_off = NULL;
    remap_stock(m, rm, ostock, ooff);
    free(ostock);
    free(ooff);
}

void wr__mud_clear_items(struct wr_mud *m)
{
    free(m->stock);
    free(m->stock_off);
    m->stock = NULL;
    m->stock_off = NULL;
}
