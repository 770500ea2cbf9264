/* Quests and social life (mud_internal.h, "gameplay areas"): NPC
 * conversations (TALK), quests and their steps, socials (SOCIAL) and
 * in-game mail (MAIL_SEND, MAIL_READ, MAIL_DELETE), plus QUEST_ABANDON.
 *
 * Quests. A character's progress in a quest is a struct wr_mud_quest_prog
 * in c->quests, in the order taken; at most one per quest (active or
 * done). Its invariant (checked on restore): step <= n_steps; a step below
 * n_steps is the current one and count < that step's count; step ==
 * n_steps means every step is done and the quest waits to be handed in to
 * its giver (count 0); done means handed in (step == n_steps). Steps are
 * done in order:
 *   KILL     count kills of that NPC kind (wr__mud_quest_on_kill);
 *   COLLECT  carrying count of that item: checked when the step becomes
 *            current and whenever the inventory grows
 *            (wr__mud_quest_on_item); count holds the number carried when
 *            last told, so only a change is told;
 *   VISIT    standing in that room (on entering it, or already there when
 *            the step becomes current);
 *   TALK     talking to that NPC kind, any topic.
 * A step that is already met when it becomes current is passed at once.
 * Handing in (TALK to the giver when every step is done) checks the
 * collected items again (they may have been dropped since), takes them if
 * the quest consumes them, and gives the rewards exactly once.
 *
 * Mail. m->mail holds every letter in id order (ids from next_mail_id,
 * never reused); a recipient has at most MAIL_UNREAD_MAX unread ones.
 * Only the recipient reads or deletes a letter.
 *
 * Snapshot section (after the core's and the other areas' before it):
 *   per character, in id order: u32 n | (u32 quest | u32 step | u32 count
 *   | u8 done)*
 *   u32 next_mail_id | u32 n_mail | (u32 id | u32 from | u32 to | u64 at
 *   | u8 read | text)* in id order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mud/mud_internal.h"

#define MAIL_UNREAD_MAX 50

/* ---- words and names -------------------------------------------------- */

/* @s if it is short printable ASCII (safe to echo in a message), else
 * @fallback: a payload may hold any bytes. */
static const char *echo_safe(const char *s, const char *fallback)
{
    size_t n = 0;
    for (const char *p = s; *p; p++, n++)
        if (*p < 0x20 || *p > 0x7e || *p == '{')
            return fallback;
    return n > 0 && n <= 40 ? s : fallback;
}

/* @name without its leading article: "a giant rat" -> "giant rat". */
static const char *bare(const char *name)
{
    static const char *const articles[] = {"a ", "an ", "the ", "some "};
    for (size_t i = 0; i < sizeof articles / sizeof articles[0]; i++) {
        size_t l = strlen(articles[i]);
        if (strncasecmp(name, articles[i], l) == 0 && name[l] != '\0')
            return name + l;
    }
    return name;
}

static bool is_vowel(char c)
{
    return strchr("aeiouAEIOU", c) != NULL;
}

/* @name for @n of them, without article: "giant rat" (1), "giant rats",
 * "wolves", "boxes", "berries". English is irregular; this is the common
 * case, and a builder can always write the step's desc. */
static void plural(char *out, size_t cap, const char *name, uint32_t n)
{
    const char *b = bare(name);
    int l = (int)strlen(b);
    if (n == 1 || l == 0) {
        snprintf(out, cap, "%s", b);
        return;
    }
    char last = b[l - 1], prev = l > 1 ? b[l - 2] : ' ';
    if (last == 'y' && !is_vowel(prev))
        snprintf(out, cap, "%.*sies", l - 1, b);
    else if (last == 'f' && prev != 'f')
        snprintf(out, cap, "%.*sves", l - 1, b);
    else if (last == 'e' && prev == 'f')
        snprintf(out, cap, "%.*sves", l - 2, b);
    else if (last == 's' || last == 'x' || last == 'z' ||
             ((last == 'h') && (prev == 'c' || prev == 's')))
        snprintf(out, cap, "%ses", b);
    else
        snprintf(out, cap, "%ss", b);
}

/* ---- finding who is meant ----------------------------------------------- */

/* The first NPC instance (by id) in @room whose keywords or name has a
 * word starting with @kw, or NULL. */
static struct wr_mud_npc_inst *find_npc(struct wr_mud *m, uint32_t room, const char *kw)
{
    for (size_t i = 0; i < m->n_npcs; i++) {
        struct wr_mud_npc_inst *n = &m->npcs[i];
        const struct wr_mud_npc *def = &m->model->npcs[n->npc];
        if (n->room == room && (wr_mud_words_match(def->keywords, kw) || wr_mud_words_match(def->name, kw)))
            return n;
    }
    return NULL;
}

/* A character in the world in @room, other than @except, called @name or
 * whose name starts with it (an exact name first, else the first by id). */
static struct wr_mud_char *find_char_in(struct wr_mud *m, uint32_t room, const char *name,
                                        const struct wr_mud_char *except)
{
    struct wr_mud_char *pre = NULL;
    size_t kn = strlen(name);
    if (kn == 0)
        return NULL;
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *o = &m->chars[i];
        if (o == except || !wr__mud_in_world(o) || o->room != room)
            continue;
        if (strcasecmp(o->name, name) == 0)
            return o;
        if (pre == NULL && strncasecmp(o->name, name, kn) == 0)
            pre = o;
    }
    return pre;
}

/* ---- quest progress: wording ------------------------------------------ */

static const struct wr_mud_quest *quest_of(const struct wr_mud *m,
                                           const struct wr_mud_quest_prog *p)
{
    return &m->model->quests[p->quest];
}

void wr_mud_quest_step_desc(const struct wr_mud_model *mo, const struct wr_mud_step *s, char *out,
                            size_t cap)
{
    char what[160];
    if (s->desc != NULL) {
        snprintf(out, cap, "%s", s->desc);
        return;
    }
    switch (s->kind) {
    case WR_STEP_KILL:
        plural(what, sizeof what, mo->npcs[s->what].name, s->count);
        if (s->count == 1)
            snprintf(out, cap, "Kill %s.", mo->npcs[s->what].name);
        else
            snprintf(out, cap, "Kill %u %s.", s->count, what);
        break;
    case WR_STEP_COLLECT:
        plural(what, sizeof what, mo->items[s->what].name, s->count);
        if (s->count == 1)
            snprintf(out, cap, "Find %s.", mo->items[s->what].name);
        else
            snprintf(out, cap, "Collect %u %s.", s->count, what);
        break;
    case WR_STEP_VISIT:
        snprintf(out, cap, "Go to %s.", mo->rooms[s->what].name);
        break;
    default:
        snprintf(out, cap, "Talk to %s.", mo->npcs[s->what].name);
        break;
    }
}

/* Tell @c how far it got in step @step of @p: @have out of its count. */
static void tell_progress(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                          const struct wr_mud_char *c, const struct wr_mud_quest_prog *p,
                          uint32_t step, uint32_t have)
{
    const struct wr_mud_quest *q = quest_of(m, p);
    const struct wr_mud_step *s = &q->steps[step];
    const struct wr_mud_model *mo = m->model;
    char what[160];
    switch (s->kind) {
    case WR_STEP_KILL:
        plural(what, sizeof what, mo->npcs[s->what].name, s->count);
        wr__mud_tell_char(ctx, c, "quest", "Quest '%s': %u/%u %s killed.", q->name, have, s->count,
                          what);
        break;
    case WR_STEP_COLLECT:
        plural(what, sizeof what, mo->items[s->what].name, s->count);
        wr__mud_tell_char(ctx, c, "quest", "Quest '%s': %u/%u %s collected.", q->name, have,
                          s->count, what);
        break;
    case WR_STEP_VISIT:
        wr__mud_tell_char(ctx, c, "quest", "Quest '%s': you have reached %s.", q->name,
                          mo->rooms[s->what].name);
        break;
    default:
        wr__mud_tell_char(ctx, c, "quest", "Quest '%s': you have spoken with %s.", q->name,
                          mo->npcs[s->what].name);
        break;
    }
}

/* ---- quest progress: advancing ----------------------------------------- */

/* Is step @step of @p met by how @c is now (carrying, standing)? KILL and
 * TALK steps are met only by deeds. */
static bool step_met_now(const struct wr_mud *m, const struct wr_mud_char *c,
                         const struct wr_mud_quest_prog *p, uint32_t step)
{
    const struct wr_mud_step *s = &quest_of(m, p)->steps[step];
    if (s->kind == WR_STEP_COLLECT)
        return wr__mud_count_carried(m, c, s->what) >= s->count;
    if (s->kind == WR_STEP_VISIT)
        return wr__mud_in_world(c) && c->room == s->what;
    return false;
}

/* Step p->step just became current: pass it (and the ones after it) while
 * already met, then tell @c what is next, or that everything is done. */
static void start_step(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                       struct wr_mud_quest_prog *p)
{
    const struct wr_mud_quest *q = quest_of(m, p);
    p->count = 0;
    while (p->step < q->n_steps && step_met_now(m, c, p, p->step)) {
        tell_progress(m, ctx, c, p, p->step, q->steps[p->step].count);
        p->step++;
    }
    if (p->step >= q->n_steps) {
        wr__mud_tell_char(ctx, c, "quest", "Quest '%s': all done: return to %s.", q->name,
                          m->model->npcs[q->giver].name);
        return;
    }
    const struct wr_mud_step *s = &q->steps[p->step];
    if (s->kind == WR_STEP_COLLECT)
        p->count = wr__mud_count_carried(m, c, s->what); /* < count: not met */
    char desc[256];
    wr_mud_quest_step_desc(m->model, s, desc, sizeof desc);
    wr__mud_tell_char(ctx, c, "quest", "Quest '%s', next step: %s", q->name, desc);
}

/* The current step of @p is done: on to the next. */
static void advance(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                    struct wr_mud_quest_prog *p)
{
    p->step++;
    start_step(m, ctx, c, p);
}

/* The current step of @c's active quest @p, or NULL if it has none (done,
 * or waiting to be handed in). */
static const struct wr_mud_step *current_step(const struct wr_mud *m,
                                              const struct wr_mud_quest_prog *p)
{
    const struct wr_mud_quest *q = quest_of(m, p);
    return p->done || p->step >= q->n_steps ? NULL : &q->steps[p->step];
}

void wr__mud_quest_on_kill(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                           uint32_t npc)
{
    if (m->model == NULL || c == NULL)
        return;
    for (uint32_t i = 0; i < c->n_quests; i++) {
        struct wr_mud_quest_prog *p = &c->quests[i];
        const struct wr_mud_step *s = current_step(m, p);
        if (s == NULL || s->kind != WR_STEP_KILL || s->what != npc)
            continue;
        p->count++;
        tell_progress(m, ctx, c, p, p->step, p->count);
        if (p->count >= s->count)
            advance(m, ctx, c, p);
    }
}

void wr__mud_quest_on_enter(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c)
{
    if (m->model == NULL || c == NULL || !wr__mud_in_world(c))
        return;
    for (uint32_t i = 0; i < c->n_quests; i++) {
        struct wr_mud_quest_prog *p = &c->quests[i];
        const struct wr_mud_step *s = current_step(m, p);
        if (s == NULL || s->kind != WR_STEP_VISIT || s->what != c->room)
            continue;
        tell_progress(m, ctx, c, p, p->step, 1);
        advance(m, ctx, c, p);
    }
}

void wr__mud_quest_on_item(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c)
{
    if (m->model == NULL || c == NULL)
        return;
    for (uint32_t i = 0; i < c->n_quests; i++) {
        struct wr_mud_quest_prog *p = &c->quests[i];
        const struct wr_mud_step *s = current_step(m, p);
        if (s == NULL || s->kind != WR_STEP_COLLECT)
            continue;
        uint32_t have = wr__mud_count_carried(m, c, s->what);
        if (have >= s->count) {
            tell_progress(m, ctx, c, p, p->step, s->count);
            advance(m, ctx, c, p);
        } else if (have != p->count) {
            if (have > p->count) /* fewer: dropped or given away; not news */
                tell_progress(m, ctx, c, p, p->step, have);
            p->count = have;
        }
    }
}

/* TALK steps of @c's quests that ask to talk to NPC kind @npc: done.
 * Returns whether any was. */
static bool talked_to(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                      uint32_t npc)
{
    bool any = false;
    for (uint32_t i = 0; i < c->n_quests; i++) {
        struct wr_mud_quest_prog *p = &c->quests[i];
        const struct wr_mud_step *s = current_step(m, p);
        if (s == NULL || s->kind != WR_STEP_TALK || s->what != npc)
            continue;
        tell_progress(m, ctx, c, p, p->step, 1);
        if (p->step + 1 == quest_of(m, p)->n_steps && quest_of(m, p)->giver == npc) {
            p->step++; /* the last word, to the giver: handed in right away */
            p->count = 0;
        } else {
            advance(m, ctx, c, p);
        }
        any = true;
    }
    return any;
}

/* @c's progress in quest @quest, or NULL. */
static struct wr_mud_quest_prog *prog_find(struct wr_mud_char *c, uint32_t quest)
{
    for (uint32_t i = 0; i < c->n_quests; i++)
        if (c->quests[i].quest == quest)
            return &c->quests[i];
    return NULL;
}

/* ---- handing in ----------------------------------------------------------- */

/* Does @c still carry what the COLLECT steps of @q ask (all of them, an
 * item asked twice counted twice)? If not, the first item short goes to
 * *@item with what is needed and carried. */
static bool has_collected(const struct wr_mud *m, const struct wr_mud_char *c,
                          const struct wr_mud_quest *q, uint32_t *item, uint32_t *need,
                          uint32_t *have)
{
    for (size_t i = 0; i < q->n_steps; i++) {
        if (q->steps[i].kind != WR_STEP_COLLECT)
            continue;
        uint32_t it = q->steps[i].what, sum = 0;
        for (size_t j = 0; j < q->n_steps; j++)
            if (q->steps[j].kind == WR_STEP_COLLECT && q->steps[j].what == it)
                sum += q->steps[j].count;
        uint32_t got = wr__mud_count_carried(m, c, it);
        if (got < sum) {
            *item = it;
            *need = sum;
            *have = got;
            return false;
        }
    }
    return true;
}

/* The rewards of @q but experience (progression tells that itself) as
 * words: "20 gold and a short sword". */
static void reward_words(const struct wr_mud_model *mo, const struct wr_mud_quest *q, char *out,
                         size_t cap)
{
    const char *parts[1 + 16];
    char gold[32];
    size_t n = 0;
    if (q->reward_gold) {
        snprintf(gold, sizeof gold, "%u gold", q->reward_gold);
        parts[n++] = gold;
    }
    for (size_t i = 0; i < q->n_reward_items && n < sizeof parts / sizeof parts[0]; i++)
        parts[n++] = mo->items[q->reward_items[i]].name;
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
        int w = snprintf(out + len, cap - len, "%s%s", sep, parts[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* @c hands quest @p in to NPC instance @giver (every step done): the
 * collected items are checked (and taken if the quest consumes them), the
 * giver says its done text, the rewards are given; once. */
static void hand_in(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                    struct wr_mud_quest_prog *p, const struct wr_mud_npc_inst *giver)
{
    const struct wr_mud_quest *q = quest_of(m, p);
    const struct wr_mud_model *mo = m->model;
    uint32_t item, need, have;
    if (!has_collected(m, c, q, &item, &need, &have)) {
        char what[160];
        plural(what, sizeof what, mo->items[item].name, need);
        wr__mud_tell_char(ctx, c, "quest", "Quest '%s': bring %u %s to finish it (you carry %u).",
                          q->name, need, what, have);
        return;
    }
    p->done = true;
    p->count = 0;
    if (q->consume)
        for (size_t i = 0; i < q->n_steps; i++)
            if (q->steps[i].kind == WR_STEP_COLLECT)
                wr__mud_take_items(m, c, q->steps[i].what, q->steps[i].count);
    char *said = wr__mud_subst_name(q->done_text ? q->done_text : "Well done, {name}.", c->name);
    struct wr_mud_event e = wr__mud_ev_npc(m, giver);
    e.text = said;
    wr__mud_to_room(ctx, WR_MUD_EV_SAY, &e);
    free(said);
    char rewards[512];
    reward_words(mo, q, rewards, sizeof rewards);
    if (rewards[0])
        wr__mud_tell_char(ctx, c, "quest", "Quest complete: '%s'. You receive %s.", q->name,
                          rewards);
    else
        wr__mud_tell_char(ctx, c, "quest", "Quest complete: '%s'.", q->name);
    c->gold = UINT32_MAX - c->gold < q->reward_gold ? UINT32_MAX : c->gold + q->reward_gold;
    for (size_t i = 0; i < q->n_reward_items; i++)
        wr__mud_give_new_item(m, ctx, c, q->reward_items[i]);
    if (q->n_reward_items > 0)
        wr__mud_quest_on_item(m, ctx, c); /* a reward another quest asks for */
    if (q->reward_xp)
        wr__mud_grant_xp(m, ctx, c, q->reward_xp); /* last: a new level is told after */
}

/* Quests given by NPC kind @npc that @c has finished: handed in. Returns
 * whether one was tried. */
static bool hand_in_all(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                        const struct wr_mud_npc_inst *giver)
{
    bool any = false;
    for (uint32_t i = 0; i < c->n_quests; i++) {
        struct wr_mud_quest_prog *p = &c->quests[i];
        const struct wr_mud_quest *q = quest_of(m, p);
        if (p->done || p->step < q->n_steps || q->giver != giver->npc)
            continue;
        hand_in(m, ctx, c, &c->quests[i], giver);
        any = true;
    }
    return any;
}

/* A topic @c heard offers quest @quest: @c takes it if it may. */
static void offer(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                  uint32_t quest)
{
    const struct wr_mud_quest *q = &m->model->quests[quest];
    const struct wr_mud_quest_prog *had = prog_find(c, quest);
    if (had != NULL) {
        wr__mud_tell_char(ctx, c, "quest",
                          had->done ? "(You have already completed the quest '%s'.)"
                                    : "(You are already on the quest '%s'.)",
                          q->name);
        return;
    }
    if (c->level < q->level) {
        wr__mud_tell_char(ctx, c, "quest",
                          "(The quest '%s' needs level %u; you are level %u. Come back later.)",
                          q->name, q->level, c->level);
        return;
    }
    if (c->n_quests == c->cap_quests) {
        c->cap_quests = c->cap_quests ? c->cap_quests * 2 : 4;
        c->quests = wr_realloc(c->quests, c->cap_quests * sizeof *c->quests);
    }
    struct wr_mud_quest_prog *p = &c->quests[c->n_quests++];
    *p = (struct wr_mud_quest_prog){.quest = quest};
    wr__mud_tell_char(ctx, c, "quest", "New quest: '%s'. %s", q->name, q->desc ? q->desc : "");
    start_step(m, ctx, c, p);
}

/* ---- TALK ----------------------------------------------------------------- */

/* The topic of @def asked for by @topic (case-insensitive key), or -1. */
static long find_topic(const struct wr_mud_npc *def, const char *topic)
{
    for (size_t i = 0; i < def->n_topics; i++)
        if (strcasecmp(def->topics[i].key, topic) == 0)
            return (long)i;
    return -1;
}

/* "work, town and the mine" of @def's topics into @out. */
static void topic_list(const struct wr_mud_npc *def, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < def->n_topics && len < cap; i++) {
        const char *sep = i == 0 ? "" : i + 1 == def->n_topics ? " or " : ", ";
        int w = snprintf(out + len, cap - len, "%s%s", sep, def->topics[i].key);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* The NPC says topic @t to the room, "{name}" being @c. */
static void say_topic(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                      const struct wr_mud_npc_inst *n, const struct wr_mud_topic *t,
                      const struct wr_mud_char *c)
{
    char *said = wr__mud_subst_name(t->text, c->name);
    struct wr_mud_event e = wr__mud_ev_npc(m, n);
    e.text = said;
    wr__mud_to_room(ctx, WR_MUD_EV_SAY, &e);
    free(said);
}

static enum result apply_talk(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                              const struct wr_cmd *cmd, struct wr_mud_char *c, struct wr_reader *r)
{
    char kw[256], topic[256];
    if (wr_get_str(r, kw, sizeof kw) != 0 || wr_get_str(r, topic, sizeof topic) != 0)
        return R_MALFORMED;
    struct wr_mud_npc_inst *n = find_npc(m, c->room, kw);
    if (n == NULL) {
        wr__mud_fail(ctx, cmd, "no_target", "You don't see %s here to talk to.",
                     echo_safe(kw, "anyone like that"));
        return R_KEEP;
    }
    const struct wr_mud_npc *def = &m->model->npcs[n->npc];
    long ti = -1;
    if (topic[0] != '\0') {
        ti = find_topic(def, topic);
        if (ti < 0) {
            char list[512];
            topic_list(def, list, sizeof list);
            char name[160];
            wr__mud_capitalised(def->name, name, sizeof name);
            if (def->n_topics == 0)
                wr__mud_fail(ctx, cmd, "no_topic", "%s has nothing to say about %s.", name,
                             echo_safe(topic, "that"));
            else
                wr__mud_fail(ctx, cmd, "no_topic",
                             "%s has nothing to say about %s. You could ask about %s.", name,
                             echo_safe(topic, "that"), list);
            return R_KEEP;
        }
    } else if (def->n_topics > 0) {
        ti = 0;
    }
    /* What the room sees the player do; the topic key is an id (no
     * braces), safe inside a template. */
    char act_me[160], act_room[160];
    if (topic[0] == '\0') {
        snprintf(act_me, sizeof act_me, "You greet {target}.");
        snprintf(act_room, sizeof act_room, "{actor} greets {target}.");
    } else {
        snprintf(act_me, sizeof act_me, "You ask {target} about %s.", def->topics[ti].key);
        snprintf(act_room, sizeof act_room, "{actor} asks {target} about %s.", def->topics[ti].key);
    }
    wr__mud_act(ctx, "talk", c->room, WR_MUD_ACTOR_CHAR, c->id, c->name, WR_MUD_ACTOR_NPC, n->id,
                def->name, act_me, NULL, act_room, c);
    bool quest_news = talked_to(m, ctx, c, n->npc);
    bool handed = hand_in_all(m, ctx, c, n);
    /* A plain greeting to a giver with a finished quest is answered by the
     * hand-in alone (done text, or what is missing); a topic asked for is
     * answered as well. */
    if (ti >= 0 && !(handed && topic[0] == '\0')) {
        say_topic(m, ctx, n, &def->topics[ti], c);
        if (def->topics[ti].quest != NONE && def->topics[ti].quest < m->model->n_quests)
            offer(m, ctx, c, def->topics[ti].quest);
    } else if (ti < 0 && !quest_news && !handed) {
        char name[160];
        wr__mud_tell_char(ctx, c, "talk", "%s has nothing to say to you.",
                          wr__mud_capitalised(def->name, name, sizeof name));
    }
    return R_KEEP;
}

/* ---- QUEST_ABANDON ------------------------------------------------------- */

static enum result apply_abandon(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                 const struct wr_cmd *cmd, struct wr_mud_char *c,
                                 struct wr_reader *r)
{
    char key[256];
    if (wr_get_str(r, key, sizeof key) != 0)
        return R_MALFORMED;
    for (uint32_t i = 0; i < c->n_quests; i++) {
        const struct wr_mud_quest *q = quest_of(m, &c->quests[i]);
        if (strcasecmp(q->key, key) != 0)
            continue;
        if (c->quests[i].done) {
            wr__mud_fail(ctx, cmd, "quest_done",
                         "You have already completed '%s'; there is nothing to abandon.", q->name);
            return R_KEEP;
        }
        const char *name = q->name;
        memmove(&c->quests[i], &c->quests[i + 1], (c->n_quests - i - 1) * sizeof *c->quests);
        c->n_quests--;
        wr__mud_tell_char(ctx, c, "quest", "You abandon the quest '%s'.", name);
        return R_KEEP;
    }
    wr__mud_fail(ctx, cmd, "no_quest", "You are not on a quest called %s.", echo_safe(key, "that"));
    return R_KEEP;
}

/* ---- SOCIAL ---------------------------------------------------------------- */

static const struct wr_mud_social *find_social(const struct wr_mud_model *mo, const char *key)
{
    for (size_t i = 0; i < mo->n_socials; i++)
        if (strcasecmp(mo->socials[i].key, key) == 0)
            return &mo->socials[i];
    return NULL;
}

static enum result apply_social(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_mud_char *c,
                                struct wr_reader *r)
{
    char key[256], who[256];
    if (wr_get_str(r, key, sizeof key) != 0 || wr_get_str(r, who, sizeof who) != 0)
        return R_MALFORMED;
    const struct wr_mud_social *s = find_social(m->model, key);
    if (s == NULL) {
        wr__mud_fail(ctx, cmd, "no_social", "There is no social called %s.",
                     echo_safe(key, "that"));
        return R_KEEP;
    }
    if (who[0] == '\0' || strcasecmp(who, c->name) == 0 || strcasecmp(who, "self") == 0 ||
        strcasecmp(who, "me") == 0) {
        wr__mud_act(ctx, "social", c->room, WR_MUD_ACTOR_CHAR, c->id, c->name, WR_MUD_ACTOR_NONE, 0,
                    NULL, s->alone.actor, NULL, s->alone.room, c);
        return R_KEEP;
    }
    struct wr_mud_char *o = find_char_in(m, c->room, who, c);
    if (o != NULL) {
        wr__mud_act(ctx, "social", c->room, WR_MUD_ACTOR_CHAR, c->id, c->name, WR_MUD_ACTOR_CHAR,
                    o->id, o->name, s->other.actor, s->other.target, s->other.room, c);
        return R_KEEP;
    }
    struct wr_mud_npc_inst *n = find_npc(m, c->room, who);
    if (n != NULL) {
        wr__mud_act(ctx, "social", c->room, WR_MUD_ACTOR_CHAR, c->id, c->name, WR_MUD_ACTOR_NPC,
                    n->id, m->model->npcs[n->npc].name, s->other.actor, s->other.target,
                    s->other.room, c);
        return R_KEEP;
    }
    wr__mud_fail(ctx, cmd, "no_target", "No one called %s is here.", echo_safe(who, "that"));
    return R_KEEP;
}

/* ---- mail ------------------------------------------------------------------ */

static long mail_index(const struct wr_mud *m, uint32_t id)
{
    return wr__mud_find_by_id(m->mail, m->n_mail, sizeof *m->mail, id);
}

static uint32_t unread_of(const struct wr_mud *m, uint32_t to)
{
    uint32_t n = 0;
    for (size_t i = 0; i < m->n_mail; i++)
        n += m->mail[i].to == to && !m->mail[i].read;
    return n;
}

static enum result apply_mail_send(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                   const struct wr_cmd *cmd, struct wr_mud_char *c,
                                   struct wr_reader *r)
{
    char to_name[256], text[WR_MUD_TEXT_MAX + 1];
    if (wr_get_str(r, to_name, sizeof to_name) != 0)
        return R_MALFORMED;
    int rc = wr__mud_get_text(r, text);
    if (rc == -1)
        return R_MALFORMED;
    if (rc != 0) {
        wr__mud_fail(ctx, cmd, "bad_text", "A letter is 1 to %d characters of UTF-8 text.",
                     WR_MUD_TEXT_MAX);
        return R_KEEP;
    }
    struct wr_mud_char *to = wr__mud_char_by_name(m, to_name);
    if (to == NULL) {
        wr__mud_fail(ctx, cmd, "no_such_character", "There is no character called %s.",
                     echo_safe(to_name, "that"));
        return R_KEEP;
    }
    if (unread_of(m, to->id) >= MAIL_UNREAD_MAX) {
        wr__mud_fail(ctx, cmd, "mailbox_full",
                     "%s's mailbox is full (%d unread letters); try again later.", to->name,
                     MAIL_UNREAD_MAX);
        return R_KEEP;
    }
    if (m->next_mail_id == UINT32_MAX) {
        wr__mud_fail(ctx, cmd, "mail_full", "The post office is closed for good.");
        return R_KEEP;
    }
    GROW(m->mail, m->n_mail, m->cap_mail);
    struct wr_mud_mail *ml = &m->mail[m->n_mail++];
    *ml = (struct wr_mud_mail){
        .id = m->next_mail_id++,
        .from = c->id,
        .to = to->id,
        .at = ctx->now_ms,
        .text = wr_strdup(text),
    };
    wr__mud_tell_char(ctx, c, "mail", "You send a letter to %s.", to->name);
    if (to != c)
        wr__mud_tell_char(ctx, to, "mail", "You have new mail from %s.", c->name);
    return R_KEEP;
}

/* MAIL_READ and MAIL_DELETE: only the recipient's own letters. */
static enum result apply_mail_own(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                  const struct wr_cmd *cmd, struct wr_mud_char *c,
                                  struct wr_reader *r)
{
    uint32_t id = wr_get_u32(r);
    if (r->err)
        return R_MALFORMED;
    long i = mail_index(m, id);
    if (i < 0 || m->mail[i].to != c->id) {
        /* Someone else's letter gets the same answer as none at all. */
        wr__mud_fail(ctx, cmd, "no_mail", "You have no letter %u.", id);
        return R_KEEP;
    }
    if (cmd->type == WR_MUD_MAIL_READ) {
        m->mail[i].read = true;
        return R_KEEP;
    }
    free(m->mail[i].text);
    memmove(&m->mail[i], &m->mail[i + 1], (m->n_mail - (size_t)i - 1) * sizeof *m->mail);
    m->n_mail--;
    wr__mud_tell_char(ctx, c, "mail", "Letter %u deleted.", id);
    return R_KEEP;
}

/* ---- the area's hooks -------------------------------------------------------- */

enum result wr__mud_apply_quest(struct wr_mud *m, const struct wr_apply_ctx *ctx,
                                const struct wr_cmd *cmd, struct wr_mud_char *c,
                                struct wr_reader *r)
{
    if (c == NULL)
        return R_MALFORMED; /* all of them are session commands */
    switch (cmd->type) {
    case WR_MUD_TALK:
        return apply_talk(m, ctx, cmd, c, r);
    case WR_MUD_SOCIAL:
        return apply_social(m, ctx, cmd, c, r);
    case WR_MUD_MAIL_SEND:
        return apply_mail_send(m, ctx, cmd, c, r);
    case WR_MUD_MAIL_READ:
    case WR_MUD_MAIL_DELETE:
        return apply_mail_own(m, ctx, cmd, c, r);
    case WR_MUD_QUEST_ABANDON:
        return apply_abandon(m, ctx, cmd, c, r);
    default:
        return R_MALFORMED;
    }
}

void wr__mud_snap_quest(const struct wr_mud *m, struct wr_writer *w)
{
    for (size_t i = 0; i < m->n_chars; i++) {
        const struct wr_mud_char *c = &m->chars[i];
        wr_put_u32(w, c->n_quests);
        for (uint32_t k = 0; k < c->n_quests; k++) {
            wr_put_u32(w, c->quests[k].quest);
            wr_put_u32(w, c->quests[k].step);
            wr_put_u32(w, c->quests[k].count);
            wr_put_u8(w, c->quests[k].done ? 1 : 0);
        }
    }
    wr_put_u32(w, m->next_mail_id);
    wr_put_u32(w, (uint32_t)m->n_mail);
    for (size_t i = 0; i < m->n_mail; i++) {
        const struct wr_mud_mail *ml = &m->mail[i];
        wr_put_u32(w, ml->id);
        wr_put_u32(w, ml->from);
        wr_put_u32(w, ml->to);
        wr_put_u64(w, ml->at);
        wr_put_u8(w, ml->read ? 1 : 0);
        wr__mud_put_text(w, ml->text);
    }
}

/* Is @p a valid progress for a character of @mo (see the invariant on
 * top)? */
static bool prog_ok(const struct wr_mud_model *mo, const struct wr_mud_quest_prog *p)
{
    if (p->quest >= mo->n_quests)
        return false;
    const struct wr_mud_quest *q = &mo->quests[p->quest];
    if (p->step > q->n_steps || (p->done && p->step != q->n_steps))
        return false;
    return p->step < q->n_steps ? p->count < q->steps[p->step].count : p->count == 0;
}

static int restore_quests(struct wr_mud *m, struct wr_mud_char *c, struct wr_reader *r)
{
    uint32_t n = wr_get_u32(r);
    if (r->err || n > r->left / 13 || (n > 0 && (m->model == NULL || n > m->model->n_quests)))
        return -1;
    c->quests = n ? wr_calloc(n, sizeof *c->quests) : NULL;
    c->cap_quests = n;
    for (uint32_t k = 0; k < n; k++) {
        struct wr_mud_quest_prog *p = &c->quests[k];
        p->quest = wr_get_u32(r);
        p->step = wr_get_u32(r);
        p->count = wr_get_u32(r);
        uint8_t done = wr_get_u8(r);
        p->done = done != 0;
        if (r->err || done > 1 || !prog_ok(m->model, p))
            return -1;
        for (uint32_t j = 0; j < k; j++)
            if (c->quests[j].quest == p->quest)
                return -1; /* one progress per quest */
        c->n_quests = k + 1;
    }
    return 0;
}

static int restore_mail(struct wr_mud *m, struct wr_reader *r)
{
    m->next_mail_id = wr_get_u32(r);
    uint32_t n = wr_get_u32(r);
    if (r->err || m->next_mail_id == 0 || n > r->left / 23)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        struct wr_mud_mail ml = {0};
        ml.id = wr_get_u32(r);
        ml.from = wr_get_u32(r);
        ml.to = wr_get_u32(r);
        ml.at = wr_get_u64(r);
        uint8_t read = wr_get_u8(r);
        ml.read = read != 0;
        uint16_t len = wr_get_u16(r);
        const uint8_t *text = wr_get_bytes(r, len);
        if (r->err || read > 1 || ml.id == 0 || ml.id >= m->next_mail_id ||
            (m->n_mail > 0 && ml.id <= m->mail[m->n_mail - 1].id) ||
            wr__mud_char_by_id(m, ml.from) == NULL || wr__mud_char_by_id(m, ml.to) == NULL ||
            len == 0 || len > WR_MUD_TEXT_MAX || memchr(text, '\0', len) != NULL)
            return -1;
        ml.text = wr_malloc((size_t)len + 1);
        memcpy(ml.text, text, len);
        ml.text[len] = '\0';
        GROW(m->mail, m->n_mail, m->cap_mail);
        m->mail[m->n_mail++] = ml;
    }
    return 0;
}

int wr__mud_restore_quest(struct wr_mud *m, struct wr_reader *r)
{
    if (r == NULL) { /* a version 1 snapshot: nobody has quests or mail */
        for (size_t i = 0; i < m->n_chars; i++)
            m->chars[i].n_quests = 0;
        m->next_mail_id = 1;
        return 0;
    }
    for (size_t i = 0; i < m->n_chars; i++)
        if (restore_quests(m, &m->chars[i], r) != 0)
            return -1;
    return restore_mail(m, r);
}

/* Is step @os of the old quest the same as step @ns of the new one (same
 * kind, same thing by key)? Then its count carries over. */
static bool same_step(const struct remap *rm, const struct wr_mud_step *os,
                      const struct wr_mud_step *ns)
{
    if (os->kind != ns->kind)
        return false;
    const uint32_t *map = os->kind == WR_STEP_COLLECT ? rm->item
                          : os->kind == WR_STEP_VISIT ? rm->room
                                                      : rm->npc;
    return map[os->what] == ns->what;
}

/* @p (already holding the new quest index) after a world change: the step
 * kept if the quest still has it, its count if it is the same step. */
static void remap_prog(struct wr_mud *m, const struct wr_apply_ctx *ctx, struct wr_mud_char *c,
                       struct wr_mud_quest_prog *p, const struct wr_mud_quest *oq,
                       const struct remap *rm)
{
    const struct wr_mud_quest *nq = &m->model->quests[p->quest];
    if (p->done || p->step >= nq->n_steps) {
        p->step = (uint32_t)nq->n_steps;
        p->count = 0;
        return;
    }
    const struct wr_mud_step *ns = &nq->steps[p->step];
    if (p->step >= oq->n_steps || !same_step(rm, &oq->steps[p->step], ns)) {
        start_step(m, ctx, c, p); /* a different step now: from its start */
        return;
    }
    if (ns->kind == WR_STEP_KILL && p->count >= ns->count)
        advance(m, ctx, c, p); /* fewer kills asked than already made */
    else if (step_met_now(m, c, p, p->step))
        start_step(m, ctx, c, p); /* fewer items asked than carried */
    else if (ns->kind == WR_STEP_COLLECT)
        p->count = wr__mud_count_carried(m, c, ns->what);
}

void wr__mud_remap_quest(struct wr_mud *m, const struct wr_apply_ctx *ctx, const struct remap *rm)
{
    for (size_t i = 0; i < m->n_chars; i++) {
        struct wr_mud_char *c = &m->chars[i];
        uint32_t keep = 0;
        for (uint32_t k = 0; k < c->n_quests; k++) {
            struct wr_mud_quest_prog p = c->quests[k];
            uint32_t nq = rm->om != NULL && p.quest < rm->om->n_quests ? rm->quest[p.quest] : NONE;
            if (nq == NONE)
                continue; /* the quest is gone: so is the progress */
            const struct wr_mud_quest *oq = &rm->om->quests[p.quest];
            p.quest = nq;
            c->quests[keep] = p;
            remap_prog(m, ctx, c, &c->quests[keep], oq, rm);
            keep++;
        }
        c->n_quests = keep;
    }
}

void wr__mud_clear_quest(struct wr_mud *m)
{
    for (size_t i = 0; i < m->n_chars; i++) {
        free(m->chars[i].quests);
        m->chars[i].quests = NULL;
        m->chars[i].n_quests = m->chars[i].cap_quests = 0;
    }
    for (size_t i = 0; i < m->n_mail; i++)
        free(m->mail[i].text);
    m->n_mail = 0;
    m->next_mail_id = 1;
}
