/* The MUD's commands (client state PLAYING): a line is parsed
 * (mud_text.c) and run here. Reads (look, who, score...) come from this
 * node's replica; changes are session commands, and their results are
 * rendered when their events are applied here (mud_deliver.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/alloc.h"
#include "mud_node/mud_node_internal.h"

#define MAP_RADIUS 3

/* ---- reads: look, who... ---------------------------------------------- */

void wr__mud_show_room(struct client *c, uint32_t room)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    if (m == NULL || room >= m->n_rooms) {
        wr__mud_out(c, "You float in a grey void.\n");
        return;
    }
    const struct wr_mud_room *r = &m->rooms[room];
    wr__mud_outf(c, WR_ANSI_BOLD WR_ANSI_CYAN "%s" WR_ANSI_RESET "\n", r->name);
    if (r->desc)
        wr__mud_out_wrapped(c, r->desc, 2);
    wr__mud_out(c, WR_ANSI_GREEN "[Exits:");
    bool any = false;
    for (int d = 0; d < WR_MUD_NDIRS; d++) {
        if (r->exits[d].to == WR_MUD_NO_ROOM)
            continue;
        any = true;
        wr__mud_outf(
            c, " %s%s", wr_mud_dir_name((enum wr_mud_dir)d),
            r->exits[d].door && wr_mud_door_closed(ms, room, (enum wr_mud_dir)d) ? "(closed)" : "");
    }
    wr__mud_out(c, any ? "]" WR_ANSI_RESET "\n" : " none]" WR_ANSI_RESET "\n");
    for (size_t i = 0; i < wr_mud_item_count(ms); i++) {
        const struct wr_mud_item_inst *it = wr_mud_item_at(ms, i);
        if (it->loc == WR_MUD_IN_ROOM && it->where == room && it->item < m->n_items)
            wr__mud_outf(c, WR_ANSI_YELLOW "%s" WR_ANSI_RESET "\n", m->items[it->item].ground);
    }
    wr__mud_items_room(c, room);
    for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
        const struct wr_mud_npc_inst *np = wr_mud_npc_at(ms, i);
        if (np->room == room && np->npc < m->n_npcs)
            wr__mud_outf(c, WR_ANSI_MAGENTA "%s" WR_ANSI_RESET "\n", m->npcs[np->npc].ground);
    }
    for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
        const struct wr_mud_char *o = wr_mud_char_at(ms, i);
        if (o->state == WR_MUD_OFFLINE || o->room != room || o->id == c->char_id)
            continue;
        wr__mud_outf(c, "%s is here%s.\n", o->name,
                     o->state == WR_MUD_LINKDEAD ? " (link-dead)" : "");
    }
}

static void look_dir(struct client *c, const struct wr_mud_char *me, int d)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_exit *x = &m->rooms[me->room].exits[d];
    if (x->to == WR_MUD_NO_ROOM || x->to >= m->n_rooms)
        wr__mud_out(c, "You see nothing special that way.\n");
    else if (x->door && wr_mud_door_closed(ms, me->room, (enum wr_mud_dir)d))
        wr__mud_outf(c, "The %s is closed.\n", x->door_name ? x->door_name : "door");
    else
        wr__mud_outf(c, "%s%s you see %s.\n",
                     d == WR_DIR_U   ? "Above"
                     : d == WR_DIR_D ? "Below"
                                     : "To the ",
                     d == WR_DIR_U || d == WR_DIR_D ? "" : wr_mud_dir_name((enum wr_mud_dir)d),
                     m->rooms[x->to].name);
}

static void look_at(struct client *c, const struct wr_mud_char *me, const char *what, size_t len)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    if (wr__mud_items_look(c, me, what, len, false)) /* items and corpses */
        return;
    for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
        const struct wr_mud_npc_inst *np = wr_mud_npc_at(ms, i);
        if (np->room == me->room && np->npc < m->n_npcs &&
            wr_mud_words_match(m->npcs[np->npc].keywords, what)) {
            wr__mud_out_wrapped(
                c, m->npcs[np->npc].desc ? m->npcs[np->npc].desc : "You see nothing special.", 0);
            return;
        }
    }
    for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
        const struct wr_mud_char *o = wr_mud_char_at(ms, i);
        if (o->state != WR_MUD_OFFLINE && o->room == me->room &&
            wr_mud_words_match(o->name, what)) {
            if (o->id == me->id)
                wr__mud_out(c, "You look yourself over. Still here, still you.\n");
            else
                wr__mud_outf(
                    c, "%s is an adventurer like you%s.\n", o->name,
                    o->state == WR_MUD_LINKDEAD ? ", staring blankly into space (link-dead)" : "");
            return;
        }
    }
    wr__mud_out(c, "You do not see that here.\n");
}

static void cmd_exits(struct client *c, const struct wr_mud_char *me)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_room *r = &m->rooms[me->room];
    bool any = false;
    wr__mud_out(c, "Obvious exits:\n");
    for (int d = 0; d < WR_MUD_NDIRS; d++) {
        const struct wr_mud_exit *x = &r->exits[d];
        if (x->to == WR_MUD_NO_ROOM || x->to >= m->n_rooms)
            continue;
        any = true;
        if (x->door && wr_mud_door_closed(ms, me->room, (enum wr_mud_dir)d))
            wr__mud_outf(c, "  %-10s - a closed %s\n", wr_mud_dir_name((enum wr_mud_dir)d),
                         x->door_name ? x->door_name : "door");
        else
            wr__mud_outf(c, "  %-10s - %s\n", wr_mud_dir_name((enum wr_mud_dir)d),
                         m->rooms[x->to].name);
    }
    if (!any)
        wr__mud_out(c, "  None.\n");
}

static void cmd_inventory(struct client *c, const struct wr_mud_char *me)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    size_t count = 0;
    wr__mud_out(c, "You are carrying:\n");
    for (size_t i = 0; i < wr_mud_item_count(ms); i++) {
        const struct wr_mud_item_inst *it = wr_mud_item_at(ms, i);
        if (it->loc == WR_MUD_CARRIED && it->where == me->id && it->item < m->n_items) {
            wr__mud_outf(c, "  %s\n", m->items[it->item].name);
            count++;
        }
    }
    if (count == 0)
        wr__mud_out(c, "  Nothing.\n");
    wr__mud_items_inventory(c, me);
}

static int cmp_char_name(const void *a, const void *b)
{
    return strcasecmp((*(const struct wr_mud_char *const *)a)->name,
                      (*(const struct wr_mud_char *const *)b)->name);
}

static void cmd_who(struct client *c)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    size_t total = wr_mud_char_count(ms), k = 0;
    const struct wr_mud_char **list = wr_malloc((total ? total : 1) * sizeof *list);
    for (size_t i = 0; i < total; i++) {
        const struct wr_mud_char *o = wr_mud_char_at(ms, i);
        if (o->state != WR_MUD_OFFLINE)
            list[k++] = o;
    }
    qsort(list, k, sizeof *list, cmp_char_name);
    wr__mud_out(c, WR_ANSI_BOLD "Players in the world:" WR_ANSI_RESET "\n");
    for (size_t i = 0; i < k; i++) {
        const struct wr_mud_char *o = list[i];
        const char *room = "?", *zone = "?";
        if (m != NULL && o->room < m->n_rooms) {
            room = m->rooms[o->room].name;
            zone = m->zones[m->rooms[o->room].zone].name;
        }
        wr__mud_outf(c, "  %-16s %s (%s), node %u%s\n", o->name, room, zone, o->node,
                     o->state == WR_MUD_LINKDEAD ? " [link-dead]" : "");
    }
    wr__mud_outf(c, "%zu player%s online.\n", k, k == 1 ? "" : "s");
    free(list);
}

static void put_time(struct client *c, const char *label, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[64];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    wr__mud_outf(c, "%s%s\n", label, buf);
}

/* The character sheet (cmd_progress.c), then where and since when. */
static void cmd_score(struct client *c, const struct wr_mud_char *me)
{
    const struct wr_mud *ms = wr__mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    wr__mud_show_score(c, me);
    if (m != NULL && me->room < m->n_rooms)
        wr__mud_outf(c, "  Room:       %s (%s)\n", m->rooms[me->room].name,
                     m->zones[m->rooms[me->room].zone].name);
    put_time(c, "  Created:    ", me->created_at);
}

static void cmd_channels(struct client *c, const struct wr_mud_char *me)
{
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    wr__mud_out(c, "Channels:\n");
    for (size_t i = 0; m != NULL && i < m->n_channels && i < 32; i++)
        wr__mud_outf(c, "  %-10s %-3s  %s\n", m->channels[i].key,
                     me->channels_off & (1u << i) ? "off" : "on",
                     m->channels[i].desc ? m->channels[i].desc : "");
}

/* ---- commands ---------------------------------------------------------- */

/* Split @args into its first word (@w, NUL-terminated, at most cap-1) and
 * the rest. */
const char *wr__mud_first_word(const char *args, size_t len, char *w, size_t cap,
                               size_t *rest_len)
{
    size_t i = 0;
    while (i < len && args[i] != ' ' && args[i] != '\t')
        i++;
    size_t n = i < cap ? i : cap - 1;
    memcpy(w, args, n);
    w[n] = '\0';
    while (i < len && (args[i] == ' ' || args[i] == '\t'))
        i++;
    *rest_len = len - i;
    return args + i;
}

static void submit_dir(struct client *c, uint8_t type, int d)
{
    struct wr_writer p;
    wr_writer_init(&p, 4);
    wr_mud_encode_dir(&p, (enum wr_mud_dir)d);
    wr__mud_submit(c, type, &p);
    wr_writer_free(&p);
}

static void submit_str(struct client *c, uint8_t type, const char *s)
{
    struct wr_writer p;
    wr_writer_init(&p, 64);
    wr_mud_encode_str(&p, s);
    wr__mud_submit(c, type, &p);
    wr_writer_free(&p);
}

void wr__mud_submit_strs(struct client *c, uint8_t type, const char *a, const char *b)
{
    struct wr_writer p;
    wr_writer_init(&p, 64);
    wr_mud_encode_str(&p, a ? a : "");
    if (b != NULL)
        wr_mud_encode_str(&p, b);
    wr__mud_submit(c, type, &p);
    wr_writer_free(&p);
}

static void submit_text(struct client *c, uint8_t type, const char *target, const char *text,
                        size_t len)
{
    char buf[WR_MUD_TEXT_MAX + 1];
    if (len > WR_MUD_TEXT_MAX)
        len = WR_MUD_TEXT_MAX;
    memcpy(buf, text, len);
    buf[len] = '\0';
    struct wr_writer p;
    wr_writer_init(&p, 64 + len);
    if (target != NULL)
        wr_mud_encode_str(&p, target);
    wr_mud_encode_text(&p, buf);
    wr__mud_submit(c, type, &p);
    wr_writer_free(&p);
}

/* open/close DIR or a door's name. */
static int door_dir(struct client *c, const struct wr_mud_char *me, const char *arg, size_t len)
{
    char w[32];
    size_t rest;
    wr__mud_first_word(arg, len, w, sizeof w, &rest);
    int d = wr_mud_dir_parse(w);
    if (d >= 0)
        return d;
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    for (int k = 0; k < WR_MUD_NDIRS; k++) {
        const struct wr_mud_exit *x = &m->rooms[me->room].exits[k];
        if (x->door && x->door_name && strcasecmp(x->door_name, w) == 0)
            return k;
    }
    return -1;
}

void wr__mud_run_command(struct client *c, const char *raw, size_t raw_len)
{
    /* Control bytes (ESC above all) never reach other players' terminals:
     * a WebSocket line may hold any (telnet.c drops them already). */
    char line[WR_MUD_TEXT_MAX + 64];
    size_t len = 0;
    for (size_t i = 0; i < raw_len && len < sizeof line - 1; i++)
        if ((unsigned char)raw[i] >= 0x20 && raw[i] != 0x7f)
            line[len++] = raw[i];
    line[len] = '\0';
    struct mnode *n = c->node;
    const struct wr_mud *ms = wr__mud_state(n);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_char *me = wr__mud_my_char(c);
    const char *chans[WR_MUD_MAX_CHANNELS];
    size_t n_chans = 0;
    for (size_t i = 0; m != NULL && i < m->n_channels && i < WR_MUD_MAX_CHANNELS; i++)
        chans[n_chans++] = m->channels[i].key;
    struct wr_mud_parsed p;
    wr_mud_cmd_parse(line, len, chans, n_chans, &p);
    if (p.empty) {
        c->want_prompt = true;
        wr__mud_mark_dirty(c);
        return;
    }
    /* A skill's or a social's name typed in full comes before a command
     * it merely starts ("bash" is the skill, not "bashful"). */
    if ((p.def == NULL || p.prefix) && me != NULL && m != NULL &&
        (wr__mud_try_skill(c, line, len) || wr__mud_try_social(c, line, len) ||
         wr__mud_try_use(c, line, len)))
        return;
    if (p.def == NULL || (me != NULL && p.def->role > me->role)) {
        wr__mud_out(c, "Huh? Type 'help' for the list of commands.\n");
        return;
    }
    if (m == NULL || me == NULL || me->room >= m->n_rooms) {
        if (p.def->id == WR_MC_HELP)
            wr_mud_help(&c->out, line + p.args_off, p.args_len, WR_ROLE_PLAYER);
        else if (p.def->id == WR_MC_QUIT)
            wr__mud_submit(c, WR_MUD_QUIT, NULL);
        else
            wr__mud_out(c, "The world is not ready yet; wait a moment.\n");
        c->want_prompt = true;
        wr__mud_mark_dirty(c);
        return;
    }
    const char *args = line + p.args_off;
    size_t alen = p.args_len;
    char w[WR_MUD_NAME_MAX + 48];
    size_t rest_len;
    const char *rest;
    switch (p.def->id) {
    case WR_MC_MOVE:
        submit_dir(c, WR_MUD_MOVE, p.def->dir);
        break;
    case WR_MC_GO: {
        wr__mud_first_word(args, alen, w, sizeof w, &rest_len);
        int d = wr_mud_dir_parse(w);
        if (d < 0)
            wr__mud_out(
                c, "Go where? (north, south, east, west, up, down, ne, nw, se, sw, in, out)\n");
        else
            submit_dir(c, WR_MUD_MOVE, d);
        break;
    }
    case WR_MC_OPEN:
    case WR_MC_CLOSE: {
        int d = alen ? door_dir(c, me, args, alen) : -1;
        if (d < 0)
            wr__mud_outf(c, "%s what? Give a direction or a door.\n",
                         p.def->id == WR_MC_OPEN ? "Open" : "Close");
        else
            submit_dir(c, p.def->id == WR_MC_OPEN ? WR_MUD_OPEN : WR_MUD_CLOSE, d);
        break;
    }
    case WR_MC_LOOK:
    case WR_MC_EXAMINE: {
        if (alen == 0) {
            if (p.def->id == WR_MC_EXAMINE)
                wr__mud_out(c, "Examine what?\n");
            else
                wr__mud_show_room(c, me->room);
            break;
        }
        rest = wr__mud_first_word(args, alen, w, sizeof w, &rest_len);
        int d = wr_mud_dir_parse(w);
        if (p.def->id == WR_MC_LOOK && d >= 0 && rest_len == 0) {
            look_dir(c, me, d);
            break;
        }
        if (strcasecmp(w, "in") == 0 && rest_len > 0) { /* look in corpse */
            wr__mud_first_word(rest, rest_len, w, sizeof w, &rest_len);
            if (!wr__mud_items_look(c, me, w, strlen(w), true))
                wr__mud_out(c, "You do not see that here.\n");
            break;
        }
        if (strcasecmp(w, "at") == 0 && rest_len > 0) {
            args = rest;
            alen = rest_len;
        }
        wr__mud_first_word(args, alen, w, sizeof w, &rest_len);
        look_at(c, me, w, strlen(w));
        break;
    }
    case WR_MC_EXITS:
        cmd_exits(c, me);
        break;
    case WR_MC_MAP:
        wr_tbuf_printf(&c->out, WR_ANSI_BOLD "%s" WR_ANSI_RESET "\n",
                       m->zones[m->rooms[me->room].zone].name);
        wr_mud_map_render(&c->out, m, me->room, MAP_RADIUS);
        c->want_prompt = true;
        wr__mud_mark_dirty(c);
        break;
    case WR_MC_GET:
    case WR_MC_DROP: {
        if (alen == 0) {
            wr__mud_outf(c, "%s what?\n", p.def->id == WR_MC_GET ? "Get" : "Drop");
            break;
        }
        char from[48];
        rest = wr__mud_first_word(args, alen, w, sizeof w, &rest_len);
        rest = wr__mud_first_word(rest, rest_len, from, sizeof from, &rest_len);
        if (strcasecmp(from, "from") == 0) /* get ITEM [from] CORPSE */
            wr__mud_first_word(rest, rest_len, from, sizeof from, &rest_len);
        if (p.def->id == WR_MC_DROP && (strcasecmp(from, "gold") == 0 ||
                                        strcasecmp(from, "coins") == 0)) {
            wr__mud_out(c, "You keep your gold: give it to someone (give 10 gold NAME).\n");
            break;
        }
        if (p.def->id == WR_MC_GET && from[0] != '\0')
            wr__mud_submit_strs(c, WR_MUD_GET_FROM, w, from);
        else
            submit_str(c, p.def->id == WR_MC_GET ? WR_MUD_GET : WR_MUD_DROP, w);
        break;
    }
    case WR_MC_GIVE: {
        char item[48], target[48];
        rest = wr__mud_first_word(args, alen, item, sizeof item, &rest_len);
        rest = wr__mud_first_word(rest, rest_len, target, sizeof target, &rest_len);
        if (item[0] >= '0' && item[0] <= '9' && strlen(item) < 16) { /* give 10 gold NAME */
            size_t il = strlen(item);
            snprintf(item + il, sizeof item - il, " %.16s", target);
            rest = wr__mud_first_word(rest, rest_len, target, sizeof target, &rest_len);
        }
        if (strcasecmp(target, "to") == 0)
            wr__mud_first_word(rest, rest_len, target, sizeof target, &rest_len);
        if (item[0] == '\0' || target[0] == '\0') {
            wr__mud_out(c, "Give what to whom? (give ITEM [to] NAME)\n");
            break;
        }
        struct wr_writer pw;
        wr_writer_init(&pw, 64);
        wr_mud_encode_str(&pw, item);
        wr_mud_encode_str(&pw, target);
        wr__mud_submit(c, WR_MUD_GIVE, &pw);
        wr_writer_free(&pw);
        break;
    }
    case WR_MC_INVENTORY:
        cmd_inventory(c, me);
        break;
    case WR_MC_SAY:
    case WR_MC_EMOTE:
    case WR_MC_REPLY:
        if (alen == 0) {
            wr__mud_out(c, p.def->id == WR_MC_SAY     ? "Say what?\n"
                           : p.def->id == WR_MC_EMOTE ? "Emote what?\n"
                                                      : "Reply what?\n");
            break;
        }
        submit_text(c, p.def->id == WR_MC_SAY     ? WR_MUD_SAY
                       : p.def->id == WR_MC_EMOTE ? WR_MUD_EMOTE
                                                  : WR_MUD_REPLY,
                    NULL, args, alen);
        break;
    case WR_MC_TELL:
    case WR_MC_WHISPER:
        rest = wr__mud_first_word(args, alen, w, sizeof w, &rest_len);
        if (w[0] == '\0' || rest_len == 0) {
            wr__mud_outf(c, "%s whom what? (%s)\n", p.def->id == WR_MC_TELL ? "Tell" : "Whisper",
                         p.def->usage);
            break;
        }
        submit_text(c, p.def->id == WR_MC_TELL ? WR_MUD_TELL : WR_MUD_WHISPER, w, rest, rest_len);
        break;
    case WR_MC_CHANNEL_TALK:
        if (alen == 0) {
            wr__mud_outf(c, "Say what on %s?\n", chans[p.channel]);
            break;
        }
        if (me->channels_off & (1u << p.channel)) {
            wr__mud_outf(c, "You are not listening to %s (channel %s on).\n", chans[p.channel],
                         chans[p.channel]);
            break;
        }
        submit_text(c, WR_MUD_CHAN, chans[p.channel], args, alen);
        break;
    case WR_MC_CHANNELS:
        cmd_channels(c, me);
        break;
    case WR_MC_CHANNEL: {
        char onoff[8];
        rest = wr__mud_first_word(args, alen, w, sizeof w, &rest_len);
        wr__mud_first_word(rest, rest_len, onoff, sizeof onoff, &rest_len);
        long ch = wr_mud_model_channel(m, w);
        bool on = strcasecmp(onoff, "on") == 0, off = strcasecmp(onoff, "off") == 0;
        if (ch < 0 || (!on && !off)) {
            wr__mud_out(c, "Usage: channel NAME on|off (see 'channels').\n");
            break;
        }
        struct wr_writer pw;
        wr_writer_init(&pw, 32);
        wr_mud_encode_str(&pw, m->channels[ch].key);
        wr_put_u8(&pw, on ? 1 : 0);
        wr__mud_submit(c, WR_MUD_CHANSET, &pw);
        wr_writer_free(&pw);
        break;
    }
    case WR_MC_WHO:
        cmd_who(c);
        break;
    case WR_MC_SCORE:
        cmd_score(c, me);
        break;
    case WR_MC_HELP:
        wr_mud_help(&c->out, args, alen, me->role);
        c->want_prompt = true;
        wr__mud_mark_dirty(c);
        break;
    case WR_MC_QUIT:
        /* As in CircleMUD: quitting is no way out of a fight. */
        if (me->f.next_round_at != UINT64_MAX) {
            wr__mud_out(c, "No way! You are fighting for your life. Flee first.\n");
            break;
        }
        if (wr__mud_submit(c, WR_MUD_QUIT, NULL) == 0)
            c->state = S_CLOSING; /* the session stays until QUIT applies */
        break;
    case WR_MC_AREA: {
        char abuf[WR_MUD_TEXT_MAX + 64];
        memcpy(abuf, args, alen);
        abuf[alen] = '\0';
        p.def->run(c, p.def, abuf, alen);
        break;
    }
    }
}
