/* The quest area's commands: talking to NPCs (talk, greet, ask), quests
 * (quests, quest abandon), socials (a social's name is a command; socials
 * lists them) and mail. Lists and letters are read from this node's
 * replica; everything that changes state is submitted (mud_quest.c applies
 * it and its events tell the outcome). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mud_node/mud_node_internal.h"

#define PREVIEW_COLS 32

/* ---- talking to NPCs ------------------------------------------------------ */

/* If @w is @word (case-insensitively), the next word of @rest goes to @w. */
static const char *skip_word(const char *word, char *w, size_t cap, const char *rest,
                             size_t *rest_len)
{
    if (strcasecmp(w, word) != 0 || *rest_len == 0)
        return rest;
    return wr__mud_first_word(rest, *rest_len, w, cap, rest_len);
}

/* talk [to|with] NPC [[about] TOPIC], ask NPC [about] TOPIC, greet NPC. */
static void run_talk(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                     size_t len)
{
    char npc[64], topic[64] = "";
    size_t rest_len;
    const char *rest = wr__mud_first_word(args, len, npc, sizeof npc, &rest_len);
    rest = skip_word("to", npc, sizeof npc, rest, &rest_len);
    rest = skip_word("with", npc, sizeof npc, rest, &rest_len);
    if (strcmp(def->name, "greet") != 0) {
        rest = wr__mud_first_word(rest, rest_len, topic, sizeof topic, &rest_len);
        skip_word("about", topic, sizeof topic, rest, &rest_len);
        if (strcasecmp(topic, "about") == 0)
            topic[0] = '\0'; /* "talk to bob about": no topic after all */
    }
    if (npc[0] == '\0' || (strcmp(def->name, "ask") == 0 && topic[0] == '\0')) {
        wr__mud_outf(c, "Usage: %s\n", def->usage);
        return;
    }
    wr__mud_submit_strs(c, WR_MUD_TALK, npc, topic);
}

/* ---- quests --------------------------------------------------------------- */

/* Items of model kind @item that @me carries, from the replica. */
static uint32_t carried(const struct wr_mud *ms, const struct wr_mud_char *me, uint32_t item)
{
    uint32_t n = 0;
    for (size_t i = 0; i < wr_mud_item_count(ms); i++) {
        const struct wr_mud_item_inst *it = wr_mud_item_at(ms, i);
        n += it->loc == WR_MUD_CARRIED && it->where == me->id && it->item == item;
    }
    return n;
}

static void show_active(struct client *c, const struct wr_mud *ms, const struct wr_mud_char *me,
                        const struct wr_mud_quest_prog *p)
{
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_quest *q = &m->quests[p->quest];
    if (p->step >= q->n_steps) {
        wr__mud_outf(c, "  " WR_ANSI_BOLD "%s" WR_ANSI_RESET ": all done: return to %s.\n", q->name,
                     m->npcs[q->giver].name);
        return;
    }
    const struct wr_mud_step *s = &q->steps[p->step];
    char desc[256];
    wr_mud_quest_step_desc(m, s, desc, sizeof desc);
    wr__mud_outf(c, "  " WR_ANSI_BOLD "%s" WR_ANSI_RESET " (step %u of %zu): %s", q->name,
                 p->step + 1, q->n_steps, desc);
    if (s->kind == WR_STEP_KILL)
        wr__mud_outf(c, " (%u/%u)", p->count, s->count);
    else if (s->kind == WR_STEP_COLLECT) {
        uint32_t have = carried(ms, me, s->what);
        wr__mud_outf(c, " (%u/%u)", have < s->count ? have : s->count, s->count);
    }
    wr__mud_out(c, "\n");
}

static void list_quests(struct client *c)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_char *me = wr__mud_my_char(c);
    uint32_t active = 0, done = 0;
    for (uint32_t i = 0; i < me->n_quests; i++) {
        if (me->quests[i].quest >= m->n_quests)
            continue;
        if (me->quests[i].done) {
            done++;
            continue;
        }
        if (active++ == 0)
            wr__mud_out(c, "Your quests:\n");
        show_active(c, ms, me, &me->quests[i]);
    }
    if (active == 0)
        wr__mud_out(c, "You have no quest under way. Talk to people: some need help.\n");
    if (done == 0)
        return;
    wr__mud_out(c, "Completed:");
    uint32_t k = 0;
    for (uint32_t i = 0; i < me->n_quests; i++)
        if (me->quests[i].done && me->quests[i].quest < m->n_quests)
            wr__mud_outf(c, "%s %s", k++ ? "," : "", m->quests[me->quests[i].quest].name);
    wr__mud_out(c, ".\n");
}

static void run_quests(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                       size_t len)
{
    (void)def;
    (void)args;
    (void)len;
    list_quests(c);
}

/* The active quest of @me that @name means: its key, its name, or the start
 * of its name; NULL if none. */
static const struct wr_mud_quest *active_quest(const struct wr_mud_model *m,
                                               const struct wr_mud_char *me, const char *name)
{
    size_t nl = strlen(name);
    const struct wr_mud_quest *pre = NULL;
    for (uint32_t i = 0; i < me->n_quests; i++) {
        if (me->quests[i].done || me->quests[i].quest >= m->n_quests)
            continue;
        const struct wr_mud_quest *q = &m->quests[me->quests[i].quest];
        if (strcasecmp(q->key, name) == 0 || strcasecmp(q->name, name) == 0)
            return q;
        if (pre == NULL && nl > 0 && strncasecmp(q->name, name, nl) == 0)
            pre = q;
    }
    return pre;
}

/* quest [abandon NAME] */
static void run_quest(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                      size_t len)
{
    char w[32];
    size_t rest_len;
    const char *rest = wr__mud_first_word(args, len, w, sizeof w, &rest_len);
    if (w[0] == '\0') {
        list_quests(c);
        return;
    }
    if (strcasecmp(w, "abandon") != 0 || rest_len == 0) {
        wr__mud_outf(c, "Usage: %s\n", def->usage);
        return;
    }
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)rest_len, rest);
    const struct wr_mud_quest *q =
        active_quest(wr_mud_model(wr__mud_state(c->node)), wr__mud_my_char(c), name);
    if (q == NULL) {
        wr__mud_outf(c, "You are not on a quest called %s (see 'quests').\n", name);
        return;
    }
    wr__mud_submit_strs(c, WR_MUD_QUEST_ABANDON, q->key, NULL);
}

/* ---- socials -------------------------------------------------------------- */

bool wr__mud_try_social(struct client *c, const char *line, size_t len)
{
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    if (m == NULL || m->n_socials == 0)
        return false;
    while (len > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    char verb[64], who[64];
    size_t rest_len;
    const char *rest = wr__mud_first_word(line, len, verb, sizeof verb, &rest_len);
    for (size_t i = 0; i < m->n_socials; i++) {
        if (strcasecmp(m->socials[i].key, verb) != 0)
            continue;
        rest = wr__mud_first_word(rest, rest_len, who, sizeof who, &rest_len);
        skip_word("at", who, sizeof who, rest, &rest_len);
        wr__mud_submit_strs(c, WR_MUD_SOCIAL, m->socials[i].key, who);
        return true;
    }
    return false;
}

static void run_socials(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                        size_t len)
{
    (void)def;
    (void)args;
    (void)len;
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    if (m->n_socials == 0) {
        wr__mud_out(c, "This world has no socials.\n");
        return;
    }
    wr__mud_out(c, "Socials (type one alone, or with someone here: smile bob):\n ");
    size_t col = 1;
    for (size_t i = 0; i < m->n_socials; i++) {
        size_t w = strlen(m->socials[i].key) + 1;
        if (col + w > 72) {
            wr__mud_out(c, "\n ");
            col = 1;
        }
        wr__mud_outf(c, " %s", m->socials[i].key);
        col += w;
    }
    wr__mud_out(c, "\n");
}

/* ---- mail ------------------------------------------------------------------- */

static void put_date(char *out, size_t cap, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M", &tm);
}

/* The first @cols characters of @text (UTF-8), "..." if cut. */
static void preview(char *out, size_t cap, const char *text, size_t cols)
{
    size_t i = 0, n = 0;
    while (text[i] && n < cols) {
        i++;
        while (((unsigned char)text[i] & 0xc0) == 0x80)
            i++;
        n++;
    }
    snprintf(out, cap, "%.*s%s", (int)i, text, text[i] ? "..." : "");
}

/* My letter @id in the replica, or NULL. */
static const struct wr_mud_mail *my_letter(const struct wr_mud *ms, const struct wr_mud_char *me,
                                           uint32_t id)
{
    for (size_t i = 0; i < wr_mud_mail_count(ms); i++) {
        const struct wr_mud_mail *ml = wr_mud_mail_at(ms, i);
        if (ml->id == id)
            return ml->to == me->id ? ml : NULL;
    }
    return NULL;
}

static const char *char_name(const struct wr_mud *ms, uint32_t id)
{
    const struct wr_mud_char *o = wr_mud_char_by_id(ms, id);
    return o ? o->name : "someone";
}

static void mail_list(struct client *c)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_char *me = wr__mud_my_char(c);
    size_t n = 0, unread = 0;
    for (size_t i = 0; i < wr_mud_mail_count(ms); i++) {
        const struct wr_mud_mail *ml = wr_mud_mail_at(ms, i);
        if (ml->to != me->id)
            continue;
        if (n++ == 0)
            wr__mud_out(c, "Your mail ('*' unread; mail read N):\n");
        char date[32], pre[4 * PREVIEW_COLS + 8];
        put_date(date, sizeof date, ml->at);
        preview(pre, sizeof pre, ml->text, PREVIEW_COLS);
        wr__mud_outf(c, "  %4u %c %-16s %s  %s\n", ml->id, ml->read ? ' ' : '*',
                     char_name(ms, ml->from), date, pre);
        unread += !ml->read;
    }
    if (n == 0)
        wr__mud_out(c, "You have no mail. (mail send NAME TEXT writes a letter.)\n");
    else
        wr__mud_outf(c, "%zu letter%s, %zu unread.\n", n, n == 1 ? "" : "s", unread);
}

/* @w as a letter id, or 0. */
static uint32_t letter_id(const char *w)
{
    char *end;
    unsigned long v = strtoul(w, &end, 10);
    return w[0] >= '0' && w[0] <= '9' && *end == '\0' && v <= UINT32_MAX ? (uint32_t)v : 0;
}

static void submit_id(struct client *c, uint8_t type, uint32_t id)
{
    struct wr_writer p;
    wr_writer_init(&p, 8);
    wr_mud_encode_u32(&p, id);
    wr__mud_submit(c, type, &p);
    wr_writer_free(&p);
}

static void mail_read(struct client *c, uint32_t id)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_mail *ml = my_letter(ms, wr__mud_my_char(c), id);
    if (ml == NULL) {
        wr__mud_outf(c, "You have no letter %u.\n", id);
        return;
    }
    char date[32];
    put_date(date, sizeof date, ml->at);
    wr__mud_outf(c, WR_ANSI_BOLD "Letter %u from %s, %s UTC" WR_ANSI_RESET "\n", ml->id,
                 char_name(ms, ml->from), date);
    wr__mud_out_wrapped(c, ml->text, 2);
    if (!ml->read)
        submit_id(c, WR_MUD_MAIL_READ, id);
}

static void mail_send(struct client *c, const char *args, size_t len)
{
    char to[WR_MUD_NAME_MAX + 8];
    size_t text_len;
    const char *text = wr__mud_first_word(args, len, to, sizeof to, &text_len);
    if (to[0] == '\0' || text_len == 0) {
        wr__mud_out(c, "Usage: mail send NAME TEXT\n");
        return;
    }
    char buf[WR_MUD_TEXT_MAX + 1];
    if (text_len > WR_MUD_TEXT_MAX)
        text_len = WR_MUD_TEXT_MAX;
    memcpy(buf, text, text_len);
    buf[text_len] = '\0';
    struct wr_writer p;
    wr_writer_init(&p, 64 + text_len);
    wr_mud_encode_str(&p, to);
    wr_mud_encode_text(&p, buf);
    wr__mud_submit(c, WR_MUD_MAIL_SEND, &p);
    wr_writer_free(&p);
}

/* mail | mail [read] N | mail send NAME TEXT | mail delete N */
static void run_mail(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                     size_t len)
{
    char w[32], n[32];
    size_t rest_len;
    const char *rest = wr__mud_first_word(args, len, w, sizeof w, &rest_len);
    if (w[0] == '\0' || strcasecmp(w, "list") == 0) {
        mail_list(c);
        return;
    }
    if (strcasecmp(w, "send") == 0) {
        mail_send(c, rest, rest_len);
        return;
    }
    bool del = strcasecmp(w, "delete") == 0 || strcasecmp(w, "del") == 0;
    uint32_t id = letter_id(w);
    if (del || strcasecmp(w, "read") == 0) {
        wr__mud_first_word(rest, rest_len, n, sizeof n, &rest_len);
        id = letter_id(n);
    }
    if (id == 0) {
        wr__mud_outf(c, "Usage: %s\n", def->usage);
        return;
    }
    if (!del) {
        mail_read(c, id);
        return;
    }
    if (my_letter(wr__mud_state(c->node), wr__mud_my_char(c), id) == NULL) {
        wr__mud_outf(c, "You have no letter %u.\n", id);
        return;
    }
    submit_id(c, WR_MUD_MAIL_DELETE, id);
}

void wr__mud_mail_notice(struct client *c)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_char *me = wr__mud_my_char(c);
    if (me == NULL)
        return;
    size_t unread = 0;
    for (size_t i = 0; i < wr_mud_mail_count(ms); i++) {
        const struct wr_mud_mail *ml = wr_mud_mail_at(ms, i);
        unread += ml->to == me->id && !ml->read;
    }
    if (unread > 0)
        wr__mud_outf(
            c, WR_ANSI_MAGENTA "You have %zu unread letter%s (type 'mail')." WR_ANSI_RESET "\n",
            unread, unread == 1 ? "" : "s");
}

/* quests and quest match only in full: "q" must stay nothing (it is
 * where quit would be if it could be shortened). */
const struct wr_mud_cmd_def wr_mud_cmds_quest[] = {
    {"talk", "", WR_MC_AREA, -1, false, "Quests", "talk [to] NPC [[about] TOPIC]",
     "Talk to someone here: alone it is a greeting, with a topic you ask about it. An unknown "
     "topic gets the list of what they know about. Some topics offer quests; talking to the "
     "one who gave you a quest you finished hands it in.",
     run_talk, 0},
    {"greet", "", WR_MC_AREA, -1, false, "Quests", "greet NPC",
     "Greet someone here (the same as talk to NPC).", run_talk, 0},
    {"ask", "", WR_MC_AREA, -1, false, "Quests", "ask NPC [about] TOPIC",
     "Ask someone here about a topic.", run_talk, 0},
    {"quests", "", WR_MC_AREA, -1, true, "Quests", "quests",
     "List your quests under way with their next step and progress, then those you completed.",
     run_quests, 0},
    {"quest", "", WR_MC_AREA, -1, true, "Quests", "quest [abandon NAME]",
     "Alone, the same as quests. quest abandon NAME gives a quest under way up (you may take "
     "it again).",
     run_quest, 0},
    {"socials", "", WR_MC_AREA, -1, false, "Social", "socials",
     "List the socials: each is a command, alone (smile) or at someone here (smile bob).",
     run_socials, 0},
    {"mail", "", WR_MC_AREA, -1, false, "Talking", "mail [read N | send NAME TEXT | delete N]",
     "Letters to any character, in the game or not. Alone: your letters (* unread). mail read N "
     "(or mail N) shows one; mail send NAME TEXT writes one; mail delete N throws one away.",
     run_mail, 0},
    {NULL, NULL, 0, -1, false, NULL, NULL, NULL, NULL, 0},
};
