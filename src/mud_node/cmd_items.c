/* The items area's commands: equipment (wear, wield, remove, unwield,
 * equipment), item uses (use, and every verb of the world's item uses),
 * shops (shops, list, buy, sell) and the item half of look/examine (item
 * details, corpses and what they hold). Reads come from this node's
 * replica; anything that changes state is submitted (mud_items.c applies
 * it and tells the player the outcome). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mud_node/mud_node_internal.h"

/* ---- helpers --------------------------------------------------------------- */

/* Does @kw name instance @it (as mud_items.c matches it)? */
static bool inst_named(const struct wr_mud_model *m, const struct wr_mud_item_inst *it,
                       const char *kw)
{
    if (it->item == WR_MUD_CORPSE)
        return wr_mud_words_match(it->label, kw);
    if (it->item >= m->n_items)
        return false;
    return wr_mud_words_match(m->items[it->item].keywords, kw) ||
           wr_mud_words_match(m->items[it->item].name, kw);
}

/* The first instance (by id) at (@loc, @where) that @kw names, or NULL. */
static const struct wr_mud_item_inst *find_inst(const struct wr_mud *ms, uint8_t loc,
                                                uint32_t where, const char *kw)
{
    const struct wr_mud_model *m = wr_mud_model(ms);
    for (size_t i = 0; i < wr_mud_item_count(ms); i++) {
        const struct wr_mud_item_inst *it = wr_mud_item_at(ms, i);
        if (it->loc == loc && it->where == where && inst_named(m, it, kw))
            return it;
    }
    return NULL;
}

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* The shop in @me's room, or -1. */
static long shop_here(const struct wr_mud_model *m, const struct wr_mud_char *me)
{
    return wr_mud_model_shop_in(m, me->room);
}

/* Is the keeper of @shop (if it has one) in its room? */
static bool shop_open(const struct wr_mud *ms, const struct wr_mud_shop *sh)
{
    if (sh->keeper == UINT32_MAX)
        return true;
    for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
        const struct wr_mud_npc_inst *n = wr_mud_npc_at(ms, i);
        if (n->npc == sh->keeper && n->room == sh->room)
            return true;
    }
    return false;
}

/* ---- equipment ------------------------------------------------------------- */

static void submit_one(struct client *c, uint8_t type, const char *args, size_t len,
                       const char *what)
{
    char w[64];
    size_t rest;
    wr__mud_first_word(args, len, w, sizeof w, &rest);
    if (w[0] == '\0') {
        wr__mud_outf(c, "%s\n", what);
        return;
    }
    wr__mud_submit_strs(c, type, w, NULL);
}

static void run_wear(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                     size_t len)
{
    (void)def;
    submit_one(c, WR_MUD_WEAR, args, len, "Wear what?");
}

static void run_wield(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                      size_t len)
{
    (void)def;
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_char *me = wr__mud_my_char(c);
    char w[64];
    size_t rest;
    wr__mud_first_word(args, len, w, sizeof w, &rest);
    if (w[0] == '\0') {
        wr__mud_out(c, "Wield what?\n");
        return;
    }
    /* A friendlier word than "you wear the cap on your head" for a typo;
     * the state machine decides anyway. */
    const struct wr_mud_item_inst *it = find_inst(ms, WR_MUD_CARRIED, me->id, w);
    if (it != NULL && m->items[it->item].slot != WR_SLOT_WIELD) {
        wr__mud_outf(c, "%s is not a weapon (try 'wear').\n", m->items[it->item].name);
        return;
    }
    wr__mud_submit_strs(c, WR_MUD_WEAR, w, NULL);
}

static void run_remove(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                       size_t len)
{
    (void)def;
    submit_one(c, WR_MUD_REMOVE, args, len, "Remove what? (see 'equipment')");
}

static void run_unwield(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                        size_t len)
{
    (void)def;
    const struct wr_mud_char *me = wr__mud_my_char(c);
    if (len > 0) {
        submit_one(c, WR_MUD_REMOVE, args, len, "Unwield what?");
        return;
    }
    if (me->eq[WR_SLOT_WIELD] == 0) {
        wr__mud_out(c, "You are not wielding anything.\n");
        return;
    }
    wr__mud_submit_strs(c, WR_MUD_REMOVE, "wield", NULL);
}

/* The model item of instance @id, or NULL. */
static const struct wr_mud_item *item_of(const struct wr_mud *ms, uint32_t id)
{
    const struct wr_mud_model *m = wr_mud_model(ms);
    for (size_t i = 0; id != 0 && i < wr_mud_item_count(ms); i++) {
        const struct wr_mud_item_inst *it = wr_mud_item_at(ms, i);
        if (it->id == id)
            return it->item < m->n_items ? &m->items[it->item] : NULL;
    }
    return NULL;
}

static void run_equipment(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                          size_t len)
{
    (void)def;
    (void)args;
    (void)len;
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_char *me = wr__mud_my_char(c);
    wr__mud_out(c, "You are using:\n");
    for (int s = 0; s < WR_MUD_NSLOTS; s++) {
        const struct wr_mud_item *d = item_of(ms, me->eq[s]);
        char tag[24];
        snprintf(tag, sizeof tag, "<%s>", wr_mud_slot_name((enum wr_mud_slot)s));
        wr__mud_outf(c, "  %-10s %s\n", tag, d ? d->name : "nothing");
    }
}

/* ---- item uses --------------------------------------------------------------- */

static void submit_use(struct client *c, const char *verb, const char *args, size_t len)
{
    char w[64];
    size_t rest;
    wr__mud_first_word(args, len, w, sizeof w, &rest);
    if (w[0] == '\0') {
        struct wr_tbuf t;
        wr_tbuf_init(&t);
        wr_mud_put_capitalised(&t, verb[0] ? verb : "use");
        wr__mud_outf(c, "%s what?\n", wr_tbuf_str(&t));
        wr_tbuf_free(&t);
        return;
    }
    wr__mud_submit_strs(c, WR_MUD_USE, verb, w);
}

static void run_use(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                    size_t len)
{
    (void)def;
    submit_use(c, "", args, len);
}

bool wr__mud_try_use(struct client *c, const char *line, size_t len)
{
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    char verb[32];
    size_t rest_len;
    const char *rest = wr__mud_first_word(line, len, verb, sizeof verb, &rest_len);
    if (m == NULL || verb[0] == '\0')
        return false;
    for (size_t i = 0; i < m->n_items; i++)
        for (size_t u = 0; u < m->items[i].n_uses; u++)
            if (strcasecmp(m->items[i].uses[u].verb, verb) == 0) {
                submit_use(c, m->items[i].uses[u].verb, rest, rest_len);
                return true;
            }
    return false;
}

/* ---- shops --------------------------------------------------------------------- */

static void run_shops(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                      size_t len)
{
    (void)def;
    (void)args;
    (void)len;
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_char *me = wr__mud_my_char(c);
    uint32_t zone = m->rooms[me->room].zone;
    size_t n = 0;
    for (size_t s = 0; s < m->n_shops; s++) {
        const struct wr_mud_shop *sh = &m->shops[s];
        if (sh->room >= m->n_rooms || m->rooms[sh->room].zone != zone)
            continue;
        if (n++ == 0)
            wr__mud_outf(c, "Shops in %s:\n", m->zones[zone].name);
        wr__mud_outf(c, "  %-28s %s%s\n", sh->name, m->rooms[sh->room].name,
                     shop_open(ms, sh) ? "" : " (closed)");
    }
    if (n == 0)
        wr__mud_out(c, "There are no shops around here.\n");
}

static void run_list(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                     size_t len)
{
    (void)def;
    (void)args;
    (void)len;
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_char *me = wr__mud_my_char(c);
    long s = shop_here(m, me);
    if (s < 0) {
        wr__mud_out(c, "There is no shop here (see 'shops').\n");
        return;
    }
    const struct wr_mud_shop *sh = &m->shops[s];
    if (!shop_open(ms, sh)) {
        wr__mud_out(c, "The shop is closed.\n");
        return;
    }
    wr__mud_outf(c, WR_ANSI_BOLD "%s" WR_ANSI_RESET " sells:\n", sh->name);
    wr__mud_outf(c, "  %-32s %8s %7s\n", "Item", "Price", "Stock");
    for (size_t l = 0; l < sh->n_stock; l++) {
        const struct wr_mud_item *d = &m->items[sh->stock[l].item];
        uint32_t price = sh->stock[l].price ? sh->stock[l].price : d->price;
        int32_t count = wr_mud_shop_stock(ms, (uint32_t)s, (uint32_t)l);
        char stock[16];
        if (count < 0)
            snprintf(stock, sizeof stock, "plenty");
        else if (count == 0)
            snprintf(stock, sizeof stock, "sold out");
        else
            snprintf(stock, sizeof stock, "%d", count);
        wr__mud_outf(c, "  %-32s %8u %7s\n", d->name, price, stock);
    }
    if (sh->n_stock == 0)
        wr__mud_out(c, "  Nothing at the moment.\n");
    wr__mud_outf(c, "It buys items at %u%% of their value. You have %u gold.\n", sh->buy_percent,
                 me->gold);
}

/* buy ITEM [COUNT] or buy COUNT ITEM. */
static void run_buy(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                    size_t len)
{
    (void)def;
    char a[64], b[64];
    size_t rest_len;
    const char *rest = wr__mud_first_word(args, len, a, sizeof a, &rest_len);
    wr__mud_first_word(rest, rest_len, b, sizeof b, &rest_len);
    const char *kw = a, *num = b;
    if (all_digits(a)) {
        kw = b;
        num = a;
    }
    unsigned long count = 1;
    if (num[0] != '\0') {
        if (!all_digits(num) || strlen(num) > 6) {
            wr__mud_out(c, "Usage: buy ITEM [COUNT]\n");
            return;
        }
        count = strtoul(num, NULL, 10);
    }
    if (kw[0] == '\0') {
        wr__mud_out(c, "Buy what? (see 'list')\n");
        return;
    }
    struct wr_writer p;
    wr_writer_init(&p, 64);
    wr_mud_encode_str(&p, kw);
    wr_mud_encode_u32(&p, (uint32_t)count);
    wr__mud_submit(c, WR_MUD_BUY, &p);
    wr_writer_free(&p);
}

static void run_sell(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                     size_t len)
{
    (void)def;
    submit_one(c, WR_MUD_SELL, args, len, "Sell what?");
}

/* ---- look, examine, inventory --------------------------------------------------- */

/* The stats of model item @d, one line per kind of thing. */
static void item_details(struct client *c, const struct wr_mud_model *m,
                         const struct wr_mud_item *d)
{
    if (d->slot < WR_MUD_NSLOTS) {
        if (d->slot == WR_SLOT_WIELD && (d->dmg_min || d->dmg_max))
            wr__mud_outf(c, "  Weapon: %u-%u %s damage.\n", d->dmg_min, d->dmg_max,
                         wr_mud_dtype_name((enum wr_mud_dtype)d->dtype));
        else
            wr__mud_outf(c, "  Worn: %s.\n", wr_mud_slot_name((enum wr_mud_slot)d->slot));
    }
    char line[512];
    size_t n = 0;
    for (int s = 0; s < WR_MUD_NSTATS; s++)
        if (d->stats[s] != 0 && n < sizeof line - 64)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%+d %s", n ? ", " : "", d->stats[s],
                                  wr_mud_stat_name((enum wr_mud_stat)s));
    if (n > 0)
        wr__mud_outf(c, "  Bonuses: %s.\n", line);
    n = 0;
    for (int t = 0; t < WR_MUD_NDTYPES; t++)
        if (d->armour[t] != 0 && n < sizeof line - 64)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%+d %s", n ? ", " : "",
                                  d->armour[t], wr_mud_dtype_name((enum wr_mud_dtype)t));
    if (n > 0)
        wr__mud_outf(c, "  Armour: %s.\n", line);
    if (d->level > 0)
        wr__mud_outf(c, "  Needs level %u.\n", d->level);
    if (d->n_uses > 0) {
        n = 0;
        for (size_t u = 0; u < d->n_uses && n < sizeof line - 64; u++)
            n +=
                (size_t)snprintf(line + n, sizeof line - n, "%s%s", n ? ", " : "", d->uses[u].verb);
        wr__mud_outf(c, "  Use: %s.\n", line);
    }
    if (d->price > 0)
        wr__mud_outf(c, "  Value: %u gold.\n", d->price);
    (void)m;
}

/* What corpse @it holds. */
static void corpse_contents(struct client *c, const struct wr_mud *ms,
                            const struct wr_mud_item_inst *corpse)
{
    const struct wr_mud_model *m = wr_mud_model(ms);
    struct wr_tbuf t;
    wr_tbuf_init(&t);
    wr_mud_put_capitalised(&t, corpse->label);
    wr__mud_outf(c, "%s holds:\n", wr_tbuf_str(&t));
    wr_tbuf_free(&t);
    size_t n = 0;
    if (corpse->gold > 0) {
        wr__mud_outf(c, "  %u gold\n", corpse->gold);
        n++;
    }
    for (size_t i = 0; i < wr_mud_item_count(ms); i++) {
        const struct wr_mud_item_inst *it = wr_mud_item_at(ms, i);
        if (it->loc == WR_MUD_IN_CORPSE && it->where == corpse->id && it->item < m->n_items) {
            wr__mud_outf(c, "  %s\n", m->items[it->item].name);
            n++;
        }
    }
    if (n == 0)
        wr__mud_out(c, "  Nothing.\n");
}

bool wr__mud_items_look(struct client *c, const struct wr_mud_char *me, const char *what,
                        size_t len, bool in)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    char kw[64];
    if (len == 0 || len >= sizeof kw)
        return false;
    memcpy(kw, what, len);
    kw[len] = '\0';
    /* What you carry, then wear, then what lies here. */
    const struct wr_mud_item_inst *it = find_inst(ms, WR_MUD_CARRIED, me->id, kw);
    if (it == NULL)
        it = find_inst(ms, WR_MUD_WORN, me->id, kw);
    if (it == NULL)
        it = find_inst(ms, WR_MUD_IN_ROOM, me->room, kw);
    if (it == NULL)
        return false;
    if (it->item == WR_MUD_CORPSE) {
        corpse_contents(c, ms, it);
        return true;
    }
    if (it->item >= m->n_items)
        return false;
    const struct wr_mud_item *d = &m->items[it->item];
    if (in) {
        wr__mud_outf(c, "You cannot look inside %s.\n", d->name);
        return true;
    }
    wr__mud_out_wrapped(c, d->desc ? d->desc : "You see nothing special.", 0);
    item_details(c, m, d);
    return true;
}

void wr__mud_items_room(struct client *c, uint32_t room)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    for (size_t i = 0; i < wr_mud_item_count(ms); i++) {
        const struct wr_mud_item_inst *it = wr_mud_item_at(ms, i);
        if (it->item != WR_MUD_CORPSE || it->loc != WR_MUD_IN_ROOM || it->where != room)
            continue;
        struct wr_tbuf t;
        wr_tbuf_init(&t);
        wr_mud_put_capitalised(&t, it->label);
        wr__mud_outf(c, WR_ANSI_YELLOW "%s lies here." WR_ANSI_RESET "\n", wr_tbuf_str(&t));
        wr_tbuf_free(&t);
    }
}

void wr__mud_items_inventory(struct client *c, const struct wr_mud_char *me)
{
    size_t worn = 0;
    for (int s = 0; s < WR_MUD_NSLOTS; s++)
        worn += me->eq[s] != 0;
    wr__mud_outf(c, "You have %u gold", me->gold);
    if (worn > 0)
        wr__mud_outf(c, " and use %zu item%s (see 'equipment')", worn, worn == 1 ? "" : "s");
    wr__mud_out(c, ".\n");
}

/* ---- the table ----------------------------------------------------------------- */

// clang-format off
#define ITEMS(name, aliases, group, usage, help, run) \
    {name, aliases, WR_MC_AREA, -1, false, group, usage, help, run, WR_ROLE_PLAYER}
// clang-format on

const struct wr_mud_cmd_def wr_mud_cmds_items[] = {
    ITEMS("wear", "", "Equipment", "wear ITEM",
          "Wear a piece of armour or jewellery you carry (one per slot).", run_wear),
    ITEMS("wield", "", "Equipment", "wield WEAPON", "Take a weapon you carry in hand.", run_wield),
    ITEMS("remove", "", "Equipment", "remove ITEM",
          "Stop wearing or wielding an item; it goes back into your pack.", run_remove),
    ITEMS("unwield", "", "Equipment", "unwield [WEAPON]", "Put away the weapon you wield.",
          run_unwield),
    ITEMS("equipment", "eq", "Equipment", "equipment",
          "List what you wear and wield, slot by slot.", run_equipment),
    ITEMS("use", "", "Equipment", "use ITEM  (or the item's verb: drink potion, eat bread)",
          "Use an item you carry: drink a potion, eat food, read a scroll.", run_use),
    ITEMS("shops", "", "Shops", "shops", "List the shops in this area and where they are.",
          run_shops),
    ITEMS("list", "", "Shops", "list", "See what the shop here sells, its prices and stock.",
          run_list),
    ITEMS("buy", "", "Shops", "buy ITEM [COUNT]", "Buy an item (or up to 20) from the shop here.",
          run_buy),
    ITEMS("sell", "", "Shops", "sell ITEM",
          "Sell an item you carry to the shop here, for part of its value.", run_sell),
    {NULL, NULL, 0, -1, false, NULL, NULL, NULL, NULL, 0},
};
