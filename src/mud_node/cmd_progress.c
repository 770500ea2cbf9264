/* The progress area's commands: `score` (the character sheet, called by
 * mud_cmds.c), `hone STAT` and `train [SKILL]`. The sheet and the lists
 * are read from this node's replica; honing and training are session
 * commands (HONE, TRAIN) whose results come back as events. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mud_node/mud_node_internal.h"
#include "world/world.h"

/* ---- the character sheet ---------------------------------------------------- */

static const char *race_name(const struct wr_mud_model *m, uint32_t race)
{
    return race < m->n_races ? m->races[race].name : "-";
}

static const char *class_name(const struct wr_mud_model *m, uint32_t cls)
{
    return cls < m->n_classes ? m->classes[cls].name : "-";
}

/* "strength +2 (from bash)" for one running effect. */
static void put_effect(struct client *c, const struct wr_mud_model *m, const struct wr_mud_fx *x,
                       uint64_t now)
{
    char what[96];
    switch (x->kind) {
    case WR_EFF_STAT:
        snprintf(what, sizeof what, "%s %+d", wr_mud_stat_name((enum wr_mud_stat)x->stat),
                 x->amount);
        break;
    case WR_EFF_ARMOUR:
        snprintf(what, sizeof what, "armour against %s %+d",
                 wr_mud_dtype_name((enum wr_mud_dtype)x->dtype), x->amount);
        break;
    case WR_EFF_DOT:
        snprintf(what, sizeof what, "%d %s damage each round", x->amount,
                 wr_mud_dtype_name((enum wr_mud_dtype)x->dtype));
        break;
    default:
        snprintf(what, sizeof what, "an effect");
        break;
    }
    const char *src = x->skill < m->n_skills ? m->skills[x->skill].name
                      : x->item < m->n_items ? m->items[x->item].name
                                             : NULL;
    uint64_t left = (x->until - now + 999) / 1000;
    wr__mud_outf(c, "    %s%s%s%s, %llu s left\n", what, src ? " (from " : "", src ? src : "",
                 src ? ")" : "", (unsigned long long)left);
}

static void put_pools(struct client *c, const struct wr_mud *ms, const struct wr_mud_char *me,
                      uint64_t now)
{
    wr__mud_outf(c, "  Health:     %d/%d   Skill: %d/%d   Endurance: %d/%d\n",
                 me->f.pool[WR_POOL_HP], wr_mud_char_max(ms, me, WR_POOL_HP, now),
                 me->f.pool[WR_POOL_SP], wr_mud_char_max(ms, me, WR_POOL_SP, now),
                 me->f.pool[WR_POOL_EP], wr_mud_char_max(ms, me, WR_POOL_EP, now));
}

/* Two stats a line: "strength  12" or "strength  14 (base 12)". */
static void put_stats(struct client *c, const struct wr_mud *ms, const struct wr_mud_char *me,
                      uint64_t now)
{
    for (int s = 0; s < WR_MUD_NSTATS; s++) {
        int32_t eff = wr_mud_char_stat(ms, me, (enum wr_mud_stat)s, now);
        char cell[64];
        if (eff == me->base[s])
            snprintf(cell, sizeof cell, "%-13s %d", wr_mud_stat_name((enum wr_mud_stat)s), eff);
        else
            snprintf(cell, sizeof cell, "%-13s %d (base %d)", wr_mud_stat_name((enum wr_mud_stat)s),
                     eff, me->base[s]);
        wr__mud_outf(c, s % 2 == 0 ? "  %-34s" : "%s\n", cell);
    }
}

static void put_armour(struct client *c, const struct wr_mud *ms, const struct wr_mud_char *me,
                       uint64_t now)
{
    wr__mud_out(c, "  Armour:    ");
    bool any = false;
    for (int t = 0; t < WR_MUD_NDTYPES; t++) {
        int32_t a = wr_mud_char_armour(ms, me, (enum wr_mud_dtype)t, now);
        if (a == 0)
            continue;
        wr__mud_outf(c, "%s %s %d", any ? "," : "", wr_mud_dtype_name((enum wr_mud_dtype)t), a);
        any = true;
    }
    wr__mud_out(c, any ? "\n" : " none\n");
}

static void put_skills(struct client *c, const struct wr_mud *ms, const struct wr_mud_char *me)
{
    const struct wr_mud_model *m = wr_mud_model(ms);
    wr__mud_out(c, "  Skills:    ");
    bool any = false;
    for (size_t i = 0; i < m->n_skills; i++) {
        if (!wr_mud_knows_skill(ms, me, (uint32_t)i))
            continue;
        wr__mud_outf(c, "%s %s", any ? "," : "", m->skills[i].name);
        any = true;
    }
    wr__mud_out(c, any ? "\n" : " none yet\n");
}

void wr__mud_show_score(struct client *c, const struct wr_mud_char *me)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    if (m == NULL)
        return;
    uint64_t now = wr_world_now(c->node->world);
    wr__mud_outf(c, WR_ANSI_BOLD "%s" WR_ANSI_RESET ", level %u %s %s\n", me->name, me->level,
                 race_name(m, me->race), class_name(m, me->cls));
    if (me->level >= m->rules.max_level)
        wr__mud_outf(c, "  Experience: %llu (the highest level)\n", (unsigned long long)me->xp);
    else
        wr__mud_outf(c, "  Experience: %llu of %llu for level %u\n", (unsigned long long)me->xp,
                     (unsigned long long)wr_mud_xp_to_next(m, me->level), me->level + 1);
    put_pools(c, ms, me, now);
    put_stats(c, ms, me, now);
    put_armour(c, ms, me, now);
    put_skills(c, ms, me);
    wr__mud_outf(c, "  Gold:       %u\n", me->gold);
    wr__mud_outf(c, "  Kills:      %u   Deaths: %u\n", me->kills, me->deaths);
    bool any = false;
    for (size_t i = 0; i < me->f.n_fx && i < WR_MUD_MAX_FX; i++) {
        if (me->f.fx[i].until <= now)
            continue;
        if (!any)
            wr__mud_out(c, "  Effects:\n");
        any = true;
        put_effect(c, m, &me->f.fx[i], now);
    }
}

/* ---- hone ------------------------------------------------------------------- */

/* The stat @w names (a prefix of its name, any case), -1 if none, -2 if
 * more than one ("a": agility or awareness). */
static int stat_by_prefix(const char *w)
{
    size_t n = strlen(w);
    int found = -1;
    for (int s = 0; s < WR_MUD_NSTATS && n > 0; s++) {
        if (strncasecmp(wr_mud_stat_name((enum wr_mud_stat)s), w, n) != 0)
            continue;
        if (found >= 0)
            return -2;
        found = s;
    }
    return found;
}

static void list_hone_costs(struct client *c, const struct wr_mud_char *me)
{
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    wr__mud_outf(c, "Honing a stat raises it by 1 for %u gold times its value. You have %u gold.\n",
                 m->rules.hone_cost, me->gold);
    for (int s = 0; s < WR_MUD_NSTATS; s++) {
        int32_t b = me->base[s];
        wr__mud_outf(c, "  %-13s %4d  costs %llu\n", wr_mud_stat_name((enum wr_mud_stat)s), b,
                     (unsigned long long)m->rules.hone_cost * (uint64_t)(b > 1 ? b : 1));
    }
}

static void run_hone(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                     size_t len)
{
    const struct wr_mud_char *me = wr__mud_my_char(c);
    char w[32];
    size_t rest;
    wr__mud_first_word(args, len, w, sizeof w, &rest);
    if (w[0] == '\0') {
        list_hone_costs(c, me);
        return;
    }
    int s = stat_by_prefix(w);
    if (s == -2) {
        wr__mud_outf(c, "Which one? %s could be more than one stat.\n", w);
        return;
    }
    if (s < 0) {
        wr__mud_outf(c, "There is no stat called %s (%s).\n", w, def->usage);
        return;
    }
    struct wr_writer p;
    wr_writer_init(&p, 4);
    wr_put_u8(&p, (uint8_t)s);
    wr__mud_submit(c, WR_MUD_HONE, &p);
    wr_writer_free(&p);
}

/* ---- train ------------------------------------------------------------------ */

/* What the trainers in @me's room teach, one line a skill. */
static void list_training(struct client *c, const struct wr_mud_char *me)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    bool any = false;
    for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
        const struct wr_mud_npc_inst *n = wr_mud_npc_at(ms, i);
        if (n->room != me->room || n->npc >= m->n_npcs || m->npcs[n->npc].n_teaches == 0)
            continue;
        const struct wr_mud_npc *def = &m->npcs[n->npc];
        struct wr_tbuf who;
        wr_tbuf_init(&who);
        wr_mud_put_capitalised(&who, def->name);
        wr__mud_outf(c, "%s teaches:\n", wr_tbuf_str(&who));
        wr_tbuf_free(&who);
        any = true;
        for (size_t k = 0; k < def->n_teaches; k++) {
            if (def->teaches[k] >= m->n_skills)
                continue;
            const struct wr_mud_skill *sk = &m->skills[def->teaches[k]];
            bool known = def->teaches[k] < 64 && (me->skills_known >> def->teaches[k]) & 1;
            wr__mud_outf(c, "  %-20s level %-3u %5u gold%s\n", sk->name, sk->level, sk->train_cost,
                         known ? "  (known)" : "");
        }
    }
    if (!any)
        wr__mud_out(c, "Nobody here teaches anything.\n");
}

/* The skill @arg names: its name or key in any case, or the start of its
 * name; -1 if none. */
static long skill_by_name(const struct wr_mud_model *m, const char *arg)
{
    for (size_t i = 0; i < m->n_skills; i++)
        if (strcasecmp(m->skills[i].name, arg) == 0 || strcasecmp(m->skills[i].key, arg) == 0)
            return (long)i;
    for (size_t i = 0; i < m->n_skills && arg[0]; i++)
        if (strncasecmp(m->skills[i].name, arg, strlen(arg)) == 0)
            return (long)i;
    return -1;
}

static void run_train(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                      size_t len)
{
    (void)def;
    const struct wr_mud_char *me = wr__mud_my_char(c);
    if (len == 0) {
        list_training(c, me);
        return;
    }
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    long sk = skill_by_name(m, args);
    if (sk < 0) {
        wr__mud_outf(c, "There is no skill called %s.\n", args);
        return;
    }
    wr__mud_submit_strs(c, WR_MUD_TRAIN, m->skills[sk].key, NULL);
}

const struct wr_mud_cmd_def wr_mud_cmds_progress[] = {
    {"hone", "", WR_MC_AREA, -1, false, "Character", "hone [STAT]",
     "Raise a stat (strength, agility, intelligence, awareness, vitality, willpower) by one "
     "for gold: 'hone' alone shows the prices.",
     run_hone, 0},
    {"train", "", WR_MC_AREA, -1, false, "Character", "train [SKILL]",
     "Learn a skill from a trainer in the room, for gold: 'train' alone lists what is taught "
     "here.",
     run_train, 0},
    {NULL, NULL, 0, -1, false, NULL, NULL, NULL, NULL, 0},
};
