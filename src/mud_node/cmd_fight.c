/* The fight area's commands (mud_text.h, wr_mud_cmds_fight): target, kill,
 * flee, recall and skills used by name submit commands (mud_fight.c
 * decides); skills and consider read this node's replica. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mud_node/mud_node_internal.h"
#include "world/world.h"

/* The first word of @args (a keyword or a name), at most 47 bytes. */
static void first_word(const char *args, size_t len, char w[48])
{
    size_t rest;
    wr__mud_first_word(args, len, w, 48, &rest);
}

static void run_target(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                       size_t len)
{
    (void)def;
    char w[48];
    first_word(args, len, w);
    if (w[0] == '\0') {
        const struct wr_mud_char *me = wr__mud_my_char(c);
        const struct wr_mud *ms = wr__mud_state(c->node);
        const char *name = NULL;
        if (me != NULL && me->f.target_kind == WR_MUD_ACTOR_NPC)
            for (size_t i = 0; i < wr_mud_npc_count(ms) && name == NULL; i++)
                if (wr_mud_npc_at(ms, i)->id == me->f.target_id)
                    name = wr_mud_model(ms)->npcs[wr_mud_npc_at(ms, i)->npc].name;
        if (name != NULL)
            wr__mud_outf(c,
                         "Your target is %s. (target NAME to change it, target none to "
                         "clear it)\n",
                         name);
        else
            wr__mud_out(c, "Target whom? (target NAME)\n");
        return;
    }
    wr__mud_submit_strs(c, WR_MUD_TARGET, strcasecmp(w, "none") == 0 ? "" : w, NULL);
}

static void run_kill(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                     size_t len)
{
    (void)def;
    char w[48];
    first_word(args, len, w);
    wr__mud_submit_strs(c, WR_MUD_KILL, w, NULL);
}

static void run_flee(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                     size_t len)
{
    (void)def;
    (void)args;
    (void)len;
    wr__mud_submit(c, WR_MUD_FLEE, NULL);
}

static void run_recall(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                       size_t len)
{
    (void)def;
    (void)args;
    (void)len;
    wr__mud_submit(c, WR_MUD_RECALL, NULL);
}

static void run_skills(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                       size_t len)
{
    (void)def;
    (void)args;
    (void)len;
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_char *me = wr__mud_my_char(c);
    uint64_t now = wr_world_now(c->node->world);
    size_t known = 0, later = 0;
    for (size_t s = 0; s < m->n_skills; s++) {
        if (!wr_mud_knows_skill(ms, me, (uint32_t)s))
            continue;
        const struct wr_mud_skill *sk = &m->skills[s];
        if (known++ == 0)
            wr__mud_out(c, "Your skills:\n");
        uint64_t ready = 0;
        for (size_t i = 0; i < me->f.n_cd; i++)
            if (me->f.cd[i].skill == s)
                ready = me->f.cd[i].ready_at;
        char state[48] = "ready";
        if (ready > now)
            snprintf(state, sizeof state, "ready in %llu s",
                     (unsigned long long)((ready - now + 999) / 1000));
        wr__mud_outf(c, "  %-20s %5u %-9s %s%s\n", sk->name, sk->cost,
                     wr_mud_pool_name((enum wr_mud_pool)sk->cost_pool), state,
                     sk->target == WR_TGT_SELF ? " (on yourself)" : "");
    }
    if (known == 0)
        wr__mud_out(c, "You know no skills yet.\n");
    for (size_t s = 0; s < m->n_skills; s++) {
        const struct wr_mud_skill *sk = &m->skills[s];
        if (wr_mud_knows_skill(ms, me, (uint32_t)s) || !wr_mud_skill_for_class(sk, me->cls))
            continue;
        if (later++ == 0)
            wr__mud_out(c, "To learn:\n");
        if (sk->trained)
            wr__mud_outf(c, "  %-20s from level %u, from a trainer (%u gold)\n", sk->name,
                         sk->level, sk->train_cost);
        else
            wr__mud_outf(c, "  %-20s at level %u\n", sk->name, sk->level);
    }
}

/* How a fight against a foe @diff levels above you looks. */
static const char *odds(long diff)
{
    if (diff <= -5)
        return "an easy kill";
    if (diff <= -2)
        return "no match for you";
    if (diff <= 1)
        return "a fair fight";
    if (diff <= 4)
        return "a tough fight";
    return "certain death";
}

static void run_consider(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                         size_t len)
{
    (void)def;
    char w[48];
    first_word(args, len, w);
    if (w[0] == '\0') {
        wr__mud_out(c, "Consider whom? (consider NAME)\n");
        return;
    }
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_char *me = wr__mud_my_char(c);
    struct wr_tbuf b;
    wr_tbuf_init(&b);
    for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
        const struct wr_mud_npc_inst *n = wr_mud_npc_at(ms, i);
        const struct wr_mud_npc *d = &m->npcs[n->npc];
        if (n->room != me->room || !(wr_mud_words_match(d->keywords, w) || wr_mud_words_match(d->name, w)))
            continue;
        wr_mud_put_capitalised(&b, d->name);
        if (d->level == 0)
            wr_tbuf_puts(&b, " is peaceful; you cannot fight it.\n");
        else
            wr_tbuf_printf(&b, " (level %u) looks like %s.\n", d->level,
                           odds((long)d->level - (long)me->level));
        wr__mud_out(c, wr_tbuf_str(&b));
        wr_tbuf_free(&b);
        return;
    }
    wr_tbuf_free(&b);
    for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
        const struct wr_mud_char *o = wr_mud_char_at(ms, i);
        if (o->state != WR_MUD_OFFLINE && o->room == me->room &&
            strncasecmp(o->name, w, strlen(w)) == 0) {
            wr__mud_out(c, o == me ? "You know yourself well enough.\n"
                                   : "You cannot fight other players.\n");
            return;
        }
    }
    wr__mud_outf(c, "You don't see %s here.\n", w);
}

const struct wr_mud_cmd_def wr_mud_cmds_fight[] = {
    {"kill", "k attack", WR_MC_AREA, -1, false, "Combat", "kill [NAME]",
     "Attack a creature in the room (without NAME: your target). The fight goes on in rounds "
     "until one of you dies or you flee.",
     run_kill, 0},
    {"target", "t", WR_MC_AREA, -1, false, "Combat", "target [NAME | none]",
     "Choose a creature as your target (kill and skills use it), show it, or clear it.", run_target,
     0},
    {"flee", "", WR_MC_AREA, -1, false, "Combat", "flee",
     "Try to run out of a fight through a random open exit.", run_flee, 0},
    {"skills", "", WR_MC_AREA, -1, false, "Combat", "skills",
     "List the skills you know (cost, cooldown) and those you will learn. Use one by typing "
     "its name: magic missile [NAME].",
     run_skills, 0},
    {"consider", "con", WR_MC_AREA, -1, false, "Combat", "consider NAME",
     "How would a fight against that creature go?", run_consider, 0},
    {"recall", "", WR_MC_AREA, -1, false, "Combat", "recall",
     "Pray to be taken back to the graveyard of the zone you are in (not while fighting).",
     run_recall, 0},
    {NULL, NULL, 0, -1, false, NULL, NULL, NULL, NULL, 0},
};

/* Does @line start with the words of @name, as a whole (ASCII
 * case-insensitively)? Then *@rest is what follows. */
static bool starts_with_name(const char *line, size_t len, const char *name, size_t *rest)
{
    size_t n = strlen(name);
    if (n == 0 || n > len || strncasecmp(line, name, n) != 0 || (n < len && line[n] != ' '))
        return false;
    *rest = n;
    return true;
}

bool wr__mud_try_skill(struct client *c, const char *line, size_t len)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_char *me = wr__mud_my_char(c);
    if (m == NULL || me == NULL)
        return false;
    while (len > 0 && line[0] == ' ') {
        line++;
        len--;
    }
    /* The longest name that matches: "fire" and "fire storm" may both be
     * skills. */
    size_t best = m->n_skills, best_len = 0, rest = 0;
    for (size_t s = 0; s < m->n_skills; s++) {
        size_t r;
        if (starts_with_name(line, len, m->skills[s].name, &r) && r > best_len) {
            best = s;
            best_len = r;
        }
    }
    if (best == m->n_skills)
        return false;
    rest = best_len;
    if (!wr_mud_knows_skill(ms, me, (uint32_t)best)) {
        wr__mud_outf(c, "You have not learnt %s yet.\n", m->skills[best].name);
        return true;
    }
    while (rest < len && line[rest] == ' ')
        rest++;
    char w[48];
    first_word(line + rest, len - rest, w);
    wr__mud_submit_strs(c, WR_MUD_SKILL, m->skills[best].key, w);
    return true;
}
