/* The MUD's pure text functions (mud_text.h): buffers, the command table
 * and parser, wrapping, the map and the wording of events. Pure: no I/O,
 * no clock, no global mutable state. */
#include "mud_node/mud_text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"

/* ---- text buffer ------------------------------------------------------ */

void wr_tbuf_init(struct wr_tbuf *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
}

void wr_tbuf_free(struct wr_tbuf *b)
{
    free(b->p);
    wr_tbuf_init(b);
}

static void tbuf_reserve(struct wr_tbuf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->p = wr_realloc(b->p, cap);
    b->cap = cap;
}

void wr_tbuf_put(struct wr_tbuf *b, const char *s, size_t len)
{
    tbuf_reserve(b, len);
    if (len > 0)
        memcpy(b->p + b->len, s, len);
    b->len += len;
    b->p[b->len] = '\0';
}

void wr_tbuf_puts(struct wr_tbuf *b, const char *s)
{
    wr_tbuf_put(b, s, strlen(s));
}

void wr_tbuf_printf(struct wr_tbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        wr_tbuf_put(b, small, (size_t)n);
        return;
    }
    tbuf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *wr_tbuf_str(const struct wr_tbuf *b)
{
    return b->p ? b->p : "";
}

/* Length of the ANSI escape at s[0] (ESC [ params final), or 0. */
static size_t ansi_len(const char *s, size_t len)
{
    if (len < 2 || s[0] != '\033' || s[1] != '[')
        return 0;
    size_t i = 2;
    while (i < len && ((unsigned char)s[i] < 0x40 || (unsigned char)s[i] > 0x7e))
        i++;
    return i < len ? i + 1 : len;
}

void wr_mud_strip_ansi(struct wr_tbuf *out, const char *s, size_t len)
{
    size_t start = 0, i = 0;
    while (i < len) {
        size_t a = ansi_len(s + i, len - i);
        if (a == 0) {
            i++;
            continue;
        }
        wr_tbuf_put(out, s + start, i - start);
        i += a;
        start = i;
    }
    wr_tbuf_put(out, s + start, len - start);
}

/* ---- command table and parser ------------------------------------------ */

#define MOVE(n, a, d)                                                                              \
    {n, a, WR_MC_MOVE, d, false, "Movement", n, "Walk " n " if there is an exit that way.", NULL, 0}

const struct wr_mud_cmd_def wr_mud_cmds[] = {
    MOVE("north", "n", WR_DIR_N),
    MOVE("south", "s", WR_DIR_S),
    MOVE("east", "e", WR_DIR_E),
    MOVE("west", "w", WR_DIR_W),
    MOVE("up", "u", WR_DIR_U),
    MOVE("down", "d", WR_DIR_D),
    MOVE("northeast", "ne", WR_DIR_NE),
    MOVE("northwest", "nw", WR_DIR_NW),
    MOVE("southeast", "se", WR_DIR_SE),
    MOVE("southwest", "sw", WR_DIR_SW),
    {"in", "", WR_MC_MOVE, WR_DIR_IN, true, "Movement", "in", "Go inside, if there is a way in.", NULL, 0},
    {"out", "", WR_MC_MOVE, WR_DIR_OUT, true, "Movement", "out", "Go outside, if there is a way out.", NULL, 0},
    {"look", "l", WR_MC_LOOK, -1, false, "Looking", "look [DIR | [at] THING]",
     "Look at the room, in a direction, or at an item, a creature or a player.", NULL, 0},
    {"go", "", WR_MC_GO, -1, false, "Movement", "go DIR", "Walk in direction DIR (north, ne, up, in...).", NULL, 0},
    {"get", "take", WR_MC_GET, -1, false, "Items", "get ITEM", "Pick up an item from the floor.", NULL, 0},
    {"drop", "", WR_MC_DROP, -1, false, "Items", "drop ITEM", "Put down an item you carry.", NULL, 0},
    {"give", "", WR_MC_GIVE, -1, false, "Items", "give ITEM [to] NAME",
     "Hand an item you carry to someone in the room.", NULL, 0},
    {"inventory", "i inv", WR_MC_INVENTORY, -1, false, "Items", "inventory", "List what you carry.", NULL, 0},
    {"examine", "exa", WR_MC_EXAMINE, -1, false, "Looking", "examine THING",
     "Look closely at an item, a creature or a player.", NULL, 0},
    {"exits", "", WR_MC_EXITS, -1, false, "Looking", "exits", "List the exits of the room.", NULL, 0},
    {"map", "", WR_MC_MAP, -1, false, "Looking", "map", "Show a map of the area around you.", NULL, 0},
    {"open", "", WR_MC_OPEN, -1, false, "Movement", "open DIR|DOOR", "Open a door.", NULL, 0},
    {"close", "", WR_MC_CLOSE, -1, false, "Movement", "close DIR|DOOR", "Close a door.", NULL, 0},
    {"say", "'", WR_MC_SAY, -1, false, "Talking", "say TEXT  (or 'TEXT)",
     "Say something to everyone in the room.", NULL, 0},
    {"emote", ": em", WR_MC_EMOTE, -1, false, "Talking", "emote TEXT  (or :TEXT)",
     "Act something out: 'emote smiles.' shows 'Alice smiles.'", NULL, 0},
    {"tell", "", WR_MC_TELL, -1, false, "Talking", "tell NAME TEXT",
     "Say something to one player, wherever they are.", NULL, 0},
    {"whisper", "", WR_MC_WHISPER, -1, false, "Talking", "whisper NAME TEXT",
     "Whisper to someone in the room; the others only see that you whisper.", NULL, 0},
    {"reply", "", WR_MC_REPLY, -1, false, "Talking", "reply TEXT",
     "Answer the last player who told you something.", NULL, 0},
    {"channels", "", WR_MC_CHANNELS, -1, false, "Talking", "channels",
     "List the channels and whether you listen to them.", NULL, 0},
    {"channel", "", WR_MC_CHANNEL, -1, false, "Talking", "channel NAME on|off",
     "Listen to a channel or stop listening.", NULL, 0},
    {"who", "", WR_MC_WHO, -1, false, "Information", "who", "List everyone in the game.", NULL, 0},
    {"score", "info", WR_MC_SCORE, -1, false, "Information", "score", "Show your character.", NULL, 0},
    {"help", "?", WR_MC_HELP, -1, false, "Information", "help [COMMAND]",
     "List the commands, or explain one.", NULL, 0},
    {"quit", "", WR_MC_QUIT, -1, true, "Information", "quit",
     "Leave the game (type it in full; not in the middle of a fight).", NULL, 0},
    {NULL, NULL, 0, -1, false, NULL, NULL, NULL, NULL, 0},
};

const struct wr_mud_cmd_def wr_mud_cmd_channel_talk = {
    "CHANNEL", "", WR_MC_CHANNEL_TALK, -1, true, "Talking", "CHANNEL TEXT",
    "Talk on a channel: its name is the command (global hello).", NULL, 0};

static bool alias_match(const char *aliases, const char *verb)
{
    size_t vl = strlen(verb);
    const char *p = aliases;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if ((size_t)(e - p) == vl && vl > 0 && memcmp(p, verb, vl) == 0)
            return true;
        p = e;
    }
    return false;
}

const struct wr_mud_cmd_def *const wr_mud_cmd_tables[] = {
    wr_mud_cmds, wr_mud_cmds_fight, wr_mud_cmds_progress, wr_mud_cmds_items,
    wr_mud_cmds_quest, wr_mud_cmds_build, NULL,
};

static const struct wr_mud_cmd_def *lookup(const char *verb, const char *const *channels,
                                           size_t n_channels, int *channel, bool *prefix)
{
    *channel = -1;
    *prefix = false;
    if (verb[0] == '\0')
        return NULL;
    for (size_t t = 0; wr_mud_cmd_tables[t]; t++)
        for (const struct wr_mud_cmd_def *d = wr_mud_cmd_tables[t]; d->name; d++)
            if (strcmp(d->name, verb) == 0 || alias_match(d->aliases, verb))
                return d;
    for (size_t i = 0; i < n_channels; i++) {
        if (channels[i] != NULL && strcasecmp(channels[i], verb) == 0) {
            *channel = (int)i;
            return &wr_mud_cmd_channel_talk;
        }
    }
    size_t vl = strlen(verb);
    *prefix = true;
    for (size_t t = 0; wr_mud_cmd_tables[t]; t++)
        for (const struct wr_mud_cmd_def *d = wr_mud_cmd_tables[t]; d->name; d++)
            if (!d->exact && strncmp(d->name, verb, vl) == 0)
                return d;
    *prefix = false;
    return NULL;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

void wr_mud_cmd_parse(const char *line, size_t len, const char *const *channels, size_t n_channels,
                      struct wr_mud_parsed *out)
{
    memset(out, 0, sizeof *out);
    out->channel = -1;
    size_t i = 0;
    while (i < len && is_blank(line[i]))
        i++;
    size_t end = len;
    while (end > i && (is_blank(line[end - 1]) || line[end - 1] == '\r' || line[end - 1] == '\n'))
        end--;
    if (i == end) {
        out->empty = true;
        return;
    }
    size_t vstart = i, vend;
    if (line[i] == '\'' || line[i] == '"' || line[i] == ':') {
        out->verb[0] = line[i] == ':' ? ':' : '\'';
        out->verb[1] = '\0';
        vend = i + 1;
    } else {
        vend = i;
        while (vend < end && !is_blank(line[vend]))
            vend++;
        size_t n = vend - vstart;
        if (n >= sizeof out->verb)
            n = sizeof out->verb - 1;
        for (size_t k = 0; k < n; k++)
            out->verb[k] = (char)tolower((unsigned char)line[vstart + k]);
        out->verb[n] = '\0';
        /* a verb with a NUL inside matches nothing */
        if (memchr(line + vstart, '\0', vend - vstart) != NULL)
            out->verb[0] = '\0';
    }
    size_t a = vend;
    while (a < end && is_blank(line[a]))
        a++;
    out->args_off = a;
    out->args_len = end - a;
    out->def = lookup(out->verb, channels, n_channels, &out->channel, &out->prefix);
}

void wr_mud_help(struct wr_tbuf *out, const char *word, size_t len, uint8_t role)
{
    if (word != NULL && len > 0) {
        struct wr_mud_parsed p;
        wr_mud_cmd_parse(word, len, NULL, 0, &p);
        if (p.def == NULL || p.def->role > role) {
            wr_tbuf_printf(out, "There is no help on '%s'.\n", p.verb);
            return;
        }
        wr_tbuf_printf(out, WR_ANSI_BOLD "%s" WR_ANSI_RESET "\n  %s\n", p.def->usage,
                       p.def->help);
        if (p.def->aliases[0])
            wr_tbuf_printf(out, "  Also: %s\n", p.def->aliases);
        if (strcmp(p.def->name, p.verb) != 0 && !alias_match(p.def->aliases, p.verb))
            wr_tbuf_printf(out, "  ('%s' is short for '%s'.)\n", p.verb, p.def->name);
        return;
    }
    static const char *const groups[] = {
        "Movement", "Looking", "Items", "Equipment", "Shops", "Talking", "Social", "Combat",
        "Character", "Quests", "Information", "Building", "Admin"};
    wr_tbuf_puts(out, "Commands (a command may be shortened: the first one in this list\n"
                      "that starts with what you type is the one run):\n");
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        size_t col = 1;
        size_t shown = 0;
        for (size_t t = 0; wr_mud_cmd_tables[t]; t++) {
            for (const struct wr_mud_cmd_def *d = wr_mud_cmd_tables[t]; d->name; d++) {
                if (strcmp(d->group, groups[g]) != 0 || d->role > role)
                    continue;
                if (shown++ == 0)
                    wr_tbuf_printf(out, WR_ANSI_BOLD "%s:" WR_ANSI_RESET "\n ", groups[g]);
                size_t w = strlen(d->name) + 1;
                if (col + w > 72) {
                    wr_tbuf_puts(out, "\n ");
                    col = 1;
                }
                wr_tbuf_printf(out, " %s", d->name);
                col += w;
            }
        }
        if (shown > 0)
            wr_tbuf_puts(out, "\n");
    }
    wr_tbuf_puts(out, "A channel's name is a command too (global hello). "
                      "Type 'help COMMAND' for more.\n");
}

/* ---- layout ----------------------------------------------------------- */

size_t wr_mud_text_width(const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        size_t a = ansi_len(s + i, len - i);
        if (a > 0) {
            i += a;
            continue;
        }
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            w++;
        i++;
    }
    return w;
}

static void put_spaces(struct wr_tbuf *out, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        wr_tbuf_put(out, " ", 1);
}

/* Wrap one paragraph (no '\n' inside). */
static void wrap_para(struct wr_tbuf *out, const char *s, size_t len, unsigned width,
                     unsigned indent)
{
    size_t col = 0;
    bool line_open = false;
    size_t i = 0;
    for (;;) {
        while (i < len && is_blank(s[i]))
            i++;
        if (i >= len)
            break;
        size_t ws = i;
        while (i < len && !is_blank(s[i]))
            i++;
        const char *word = s + ws;
        size_t wlen = i - ws, ww = wr_mud_text_width(word, wlen);
        if (line_open && col + 1 + ww > width) {
            wr_tbuf_put(out, "\n", 1);
            line_open = false;
        }
        if (!line_open) {
            put_spaces(out, indent);
            col = indent;
            line_open = true;
        } else {
            wr_tbuf_put(out, " ", 1);
            col++;
        }
        /* a word wider than the line: cut it at code point boundaries */
        while (col + ww > width && ww > 0) {
            size_t room = width > col ? width - col : 0, k = 0, cols = 0;
            if (room == 0) {
                wr_tbuf_put(out, "\n", 1);
                put_spaces(out, indent);
                col = indent;
                continue;
            }
            while (k < wlen && cols < room) {
                size_t a = ansi_len(word + k, wlen - k);
                if (a > 0) {
                    k += a;
                    continue;
                }
                k++;
                while (k < wlen && ((unsigned char)word[k] & 0xc0) == 0x80)
                    k++;
                cols++;
            }
            wr_tbuf_put(out, word, k);
            wr_tbuf_put(out, "\n", 1);
            put_spaces(out, indent);
            col = indent;
            word += k;
            wlen -= k;
            ww = wr_mud_text_width(word, wlen);
        }
        wr_tbuf_put(out, word, wlen);
        col += ww;
    }
    if (line_open)
        wr_tbuf_put(out, "\n", 1);
}

void wr_mud_wrap(struct wr_tbuf *out, const char *text, size_t len, unsigned width,
                 unsigned indent)
{
    if (width < 20)
        width = 20;
    if (indent > width / 2)
        indent = width / 2;
    if (len > 0 && text[len - 1] == '\n')
        len--;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            size_t before = out->len;
            wrap_para(out, text + start, i - start, width, indent);
            if (out->len == before)
                wr_tbuf_put(out, "\n", 1); /* blank line */
            start = i + 1;
        }
    }
}

/* ---- map -------------------------------------------------------------- */

static const int dir_dx[WR_MUD_NDIRS] = {0, 0, 1, -1, 1, -1, 1, -1, 0, 0, 0, 0};
static const int dir_dy[WR_MUD_NDIRS] = {-1, 1, 0, 0, -1, -1, 1, 1, 0, 0, 0, 0};
static const char dir_link[WR_MUD_NDIRS] = {'|', '|', '-', '-', '/', '\\', '\\', '/', 0, 0, 0, 0};

void wr_mud_map_render(struct wr_tbuf *out, const struct wr_mud_model *m, uint32_t room,
                       unsigned radius)
{
    static const char legend[] = "@ you  # room  - | / \\ paths  + door\n";
    if (m == NULL || room >= m->n_rooms || radius > 20) {
        wr_tbuf_puts(out, legend);
        return;
    }
    const struct wr_mud_room *me = &m->rooms[room];
    int r = (int)radius, side = 4 * r + 1;
    char *grid = wr_malloc((size_t)side * (size_t)side);
    memset(grid, ' ', (size_t)side * (size_t)side);
    for (size_t i = 0; i < m->n_rooms; i++) {
        const struct wr_mud_room *o = &m->rooms[i];
        if (o->zone != me->zone || o->z != me->z)
            continue;
        long dx = (long)o->x - me->x, dy = (long)o->y - me->y;
        if (dx < -r || dx > r || dy < -r || dy > r)
            continue;
        int cx = 2 * (int)(dx + r), cy = 2 * (int)(dy + r);
        grid[cy * side + cx] = i == room ? '@' : '#';
        for (int d = 0; d < WR_MUD_NDIRS; d++) {
            const struct wr_mud_exit *ex = &o->exits[d];
            if (dir_link[d] == 0 || ex->to == WR_MUD_NO_ROOM || ex->to >= m->n_rooms)
                continue;
            const struct wr_mud_room *t = &m->rooms[ex->to];
            if (t->zone != me->zone || t->z != me->z || t->x != o->x + dir_dx[d] ||
                t->y != o->y + dir_dy[d])
                continue;
            int lx = cx + dir_dx[d], ly = cy + dir_dy[d];
            if (lx < 0 || ly < 0 || lx >= side || ly >= side)
                continue;
            char *cell = &grid[ly * side + lx];
            char c = ex->door ? '+' : dir_link[d];
            if ((*cell == '/' && c == '\\') || (*cell == '\\' && c == '/'))
                c = 'X';
            *cell = c;
        }
    }
    int top, bottom;
    for (top = 0; top < side; top++) {
        int x = 0;
        while (x < side && grid[top * side + x] == ' ')
            x++;
        if (x < side)
            break;
    }
    for (bottom = side - 1; bottom > top; bottom--) {
        int x = 0;
        while (x < side && grid[bottom * side + x] == ' ')
            x++;
        if (x < side)
            break;
    }
    int left = side;
    for (int y = top; y <= bottom && y < side; y++)
        for (int x = 0; x < side; x++)
            if (grid[y * side + x] != ' ' && x < left)
                left = x;
    for (int y = top; y <= bottom && y < side; y++) {
        int end = side;
        while (end > 0 && grid[y * side + end - 1] == ' ')
            end--;
        wr_tbuf_puts(out, "  ");
        if (end > left)
            wr_tbuf_put(out, &grid[y * side + left], (size_t)(end - left));
        wr_tbuf_put(out, "\n", 1);
    }
    free(grid);
    wr_tbuf_puts(out, legend);
}

/* ---- events ----------------------------------------------------------- */

void wr_mud_put_capitalised(struct wr_tbuf *out, const char *s)
{
    if (s == NULL || s[0] == '\0') {
        wr_tbuf_puts(out, "Someone");
        return;
    }
    char first = s[0];
    if (first >= 'a' && first <= 'z')
        first = (char)(first - 'a' + 'A');
    wr_tbuf_put(out, &first, 1);
    wr_tbuf_puts(out, s + 1);
}

static const char *name_or(const char *s, const char *dflt)
{
    return s && s[0] ? s : dflt;
}

static void put_from(struct wr_tbuf *out, int dir)
{
    switch (dir) {
    /* @dir is the exit of the new room that leads back where it came from */
    case WR_DIR_U:
        wr_tbuf_puts(out, " from above");
        break;
    case WR_DIR_D:
        wr_tbuf_puts(out, " from below");
        break;
    case WR_DIR_IN:
        wr_tbuf_puts(out, " from inside");
        break;
    case WR_DIR_OUT:
        wr_tbuf_puts(out, " from outside");
        break;
    default:
        if (dir >= 0 && dir < WR_MUD_NDIRS)
            wr_tbuf_printf(out, " from the %s", wr_mud_dir_name((enum wr_mud_dir)dir));
    }
}

static void put_to(struct wr_tbuf *out, int dir)
{
    switch (dir) {
    case WR_DIR_U:
        wr_tbuf_puts(out, " goes up");
        break;
    case WR_DIR_D:
        wr_tbuf_puts(out, " goes down");
        break;
    case WR_DIR_IN:
        wr_tbuf_puts(out, " goes inside");
        break;
    case WR_DIR_OUT:
        wr_tbuf_puts(out, " goes outside");
        break;
    default:
        if (dir >= 0 && dir < WR_MUD_NDIRS)
            wr_tbuf_printf(out, " leaves %s", wr_mud_dir_name((enum wr_mud_dir)dir));
        else
            wr_tbuf_puts(out, " leaves");
    }
}

/* The colour of a WR_MUD_EV_ACT line by its code: what hurts you red,
 * what you deal yellow, rewards green, the rest plain. */
static const char *act_colour(const char *code, bool me, bool target_me)
{
    if (strcmp(code, "hit") == 0 || strcmp(code, "skill") == 0 || strcmp(code, "dot") == 0)
        return target_me ? WR_ANSI_RED : me ? WR_ANSI_YELLOW : "";
    if (strcmp(code, "death") == 0)
        return WR_ANSI_BOLD WR_ANSI_RED;
    if (strcmp(code, "xp") == 0 || strcmp(code, "level") == 0 || strcmp(code, "quest") == 0)
        return WR_ANSI_GREEN;
    if (strcmp(code, "mail") == 0)
        return WR_ANSI_MAGENTA;
    return "";
}

bool wr_mud_event_render(struct wr_tbuf *out, uint8_t type, const struct wr_mud_event *e,
                         uint32_t viewer)
{
    bool me = e->actor_kind == WR_MUD_ACTOR_CHAR && viewer != 0 && e->actor_id == viewer;
    bool to_me = viewer != 0 && e->target_id == viewer;
    const char *actor = name_or(e->actor_name, "someone");
    const char *target = name_or(e->target_name, "someone");
    const char *text = e->text ? e->text : "";
    const char *code = e->code ? e->code : "";
    const char *item = name_or(e->item, "something");
    switch (type) {
    case WR_MUD_EV_FAIL:
        wr_tbuf_printf(out, "%s\n", name_or(e->text, "You cannot do that."));
        return true;
    case WR_MUD_EV_ARRIVE:
        if (me)
            return false;
        wr_mud_put_capitalised(out, actor);
        wr_tbuf_puts(out, " arrives");
        put_from(out, e->dir);
        wr_tbuf_puts(out, ".\n");
        return true;
    case WR_MUD_EV_DEPART:
        if (me)
            return false;
        wr_mud_put_capitalised(out, actor);
        put_to(out, e->dir);
        wr_tbuf_puts(out, ".\n");
        return true;
    case WR_MUD_EV_DOOR: {
        bool open = strcmp(code, "open") == 0;
        const char *door = name_or(e->item, "door");
        if (me)
            wr_tbuf_printf(out, "You %s the %s.\n", open ? "open" : "close", door);
        else {
            wr_mud_put_capitalised(out, actor);
            wr_tbuf_printf(out, " %s the %s", open ? "opens" : "closes", door);
            if (e->dir >= 0 && e->dir < WR_MUD_NDIRS)
                wr_tbuf_printf(out, " (%s)", wr_mud_dir_name((enum wr_mud_dir)e->dir));
            wr_tbuf_puts(out, ".\n");
        }
        return true;
    }
    case WR_MUD_EV_ITEM:
        if (strcmp(code, "give") == 0) {
            if (me)
                wr_tbuf_printf(out, "You give %s to %s.\n", item, target);
            else if (to_me) {
                wr_mud_put_capitalised(out, actor);
                wr_tbuf_printf(out, " gives you %s.\n", item);
            } else {
                wr_mud_put_capitalised(out, actor);
                wr_tbuf_printf(out, " gives %s to %s.\n", item, target);
            }
        } else {
            bool get = strcmp(code, "get") == 0;
            if (me)
                wr_tbuf_printf(out, "You %s %s.\n", get ? "pick up" : "drop", item);
            else {
                wr_mud_put_capitalised(out, actor);
                wr_tbuf_printf(out, " %s %s.\n", get ? "picks up" : "drops", item);
            }
        }
        return true;
    case WR_MUD_EV_SAY:
        if (me)
            wr_tbuf_printf(out, WR_ANSI_CYAN "You say '%s'" WR_ANSI_RESET "\n", text);
        else {
            wr_tbuf_puts(out, WR_ANSI_CYAN);
            wr_mud_put_capitalised(out, actor);
            wr_tbuf_printf(out, " says '%s'" WR_ANSI_RESET "\n", text);
        }
        return true;
    case WR_MUD_EV_EMOTE:
        wr_mud_put_capitalised(out, actor);
        wr_tbuf_printf(out, " %s\n", text);
        return true;
    case WR_MUD_EV_WHISPER:
        if (me)
            wr_tbuf_printf(out, WR_ANSI_MAGENTA "You whisper to %s '%s'" WR_ANSI_RESET "\n",
                           target, text);
        else if (to_me) {
            wr_tbuf_puts(out, WR_ANSI_MAGENTA);
            wr_mud_put_capitalised(out, actor);
            wr_tbuf_printf(out, " whispers to you '%s'" WR_ANSI_RESET "\n", text);
        } else {
            wr_mud_put_capitalised(out, actor);
            wr_tbuf_printf(out, " whispers something to %s.\n", target);
        }
        return true;
    case WR_MUD_EV_TELL:
        if (me)
            wr_tbuf_printf(out, WR_ANSI_MAGENTA "You tell %s '%s'" WR_ANSI_RESET "\n", target,
                           text);
        else {
            wr_tbuf_puts(out, WR_ANSI_MAGENTA);
            wr_mud_put_capitalised(out, actor);
            wr_tbuf_printf(out, " tells you '%s'" WR_ANSI_RESET "\n", text);
        }
        return true;
    case WR_MUD_EV_CHANNEL:
        wr_tbuf_printf(out, WR_ANSI_YELLOW "[%s] ", item);
        wr_mud_put_capitalised(out, actor);
        wr_tbuf_printf(out, ": %s" WR_ANSI_RESET "\n", text);
        return true;
    case WR_MUD_EV_CHANSET:
        wr_tbuf_printf(out, "You %s channel %s.\n",
                       strcmp(code, "on") == 0 ? "now listen to" : "no longer listen to", item);
        return true;
    case WR_MUD_EV_LINK:
        if (me)
            return false;
        wr_mud_put_capitalised(out, actor);
        if (strcmp(code, "lost") == 0)
            wr_tbuf_puts(out, " has lost their link.\n");
        else if (strcmp(code, "back") == 0)
            wr_tbuf_puts(out, " has reconnected.\n");
        else if (strcmp(code, "gone") == 0)
            wr_tbuf_puts(out, " fades out of the world.\n");
        else if (strcmp(code, "enter") == 0)
            wr_tbuf_puts(out, " has entered the game.\n");
        else if (strcmp(code, "quit") == 0)
            wr_tbuf_puts(out, " has left the game.\n");
        else
            wr_tbuf_printf(out, " %s.\n", code[0] ? code : "stirs");
        return true;
    case WR_MUD_EV_ACT: {
        bool target_me = e->target_kind == WR_MUD_ACTOR_CHAR && to_me;
        const char *t = me ? e->to_actor : target_me ? e->to_target : e->to_room;
        if (t == NULL || t[0] == '\0')
            return false;
        const char *colour = act_colour(code, me, target_me);
        wr_tbuf_printf(out, "%s%s%s\n", colour, t, colour[0] ? WR_ANSI_RESET : "");
        return true;
    }
    case WR_MUD_EV_SPAWN:
        if (e->actor_kind == WR_MUD_ACTOR_NPC)
            wr_mud_put_capitalised(out, actor);
        else
            wr_mud_put_capitalised(out, item);
        wr_tbuf_puts(out, " appears.\n");
        return true;
    default:
        return false;
    }
}
