/* mudbots_proto.c: what a bot reads from the node and what it answers
 * (the other half of mudbots, see mudbots.h; how it works is the top
 * comment of mudbots.c): telnet, the login dialogue, telling the reply to
 * our command from other output, and picking the next command.
 *
 * Hand-written rather than libtelnet (which the node uses): a bot needs a
 * few dozen lines of it (refuse everything but NAWS and TTYPE, find the
 * prompt marks), and 20000 bots share one read buffer without a per-bot
 * parser object. */
#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mudbots.h"

/* telnet */
#define T_IAC 255
#define T_DONT 254
#define T_DO 253
#define T_WONT 252
#define T_WILL 251
#define T_SB 250
#define T_GA 249
#define T_SE 240
#define T_EOR 239
#define O_TTYPE 24
#define O_NAWS 31
#define TTYPE_IS 0
#define TTYPE_SEND 1
#define NAWS_W 120
#define NAWS_H 40
static const char TTYPE_NAME[] = "warren-bot";

/* A character-creation menu answered more often than this is a loop (the
 * node did not take our answer): give up rather than answer forever. */
#define MB_MAX_MENUS 8

/* Directions as the node spells them in the exits line, and their
 * opposites (index ^ 1). */
enum { D_N = 10 };
static const char *const DIR_NAME[D_N] = {"north",     "south",    "east",      "west",
                                          "up",        "down",     "northeast", "southwest",
                                          "northwest", "southeast"};
static const char *const DIR_ABBR[D_N] = {"n", "s", "e", "w", "u", "d", "ne", "sw", "nw", "se"};

/* Case-insensitive search of @needle (lower case, ASCII) in @len bytes. */
static const char *ci_find(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0 || len < n)
        return NULL;
    for (size_t i = 0; i + n <= len; i++) {
        if (tolower((unsigned char)hay[i]) != needle[0])
            continue;
        size_t k = 1;
        while (k < n && tolower((unsigned char)hay[i + k]) == needle[k])
            k++;
        if (k == n)
            return hay + i;
    }
    return NULL;
}

static bool text_has(const struct bot *b, const char *needle)
{
    return ci_find(b->text.base, b->text.len, needle) != NULL;
}

/* Check the invariants of @b's state (see the top comment). */
void assert_bot_state(const struct bot *b)
{
    switch (b->state) {
    case B_IDLE:
    case B_CONNECTING:
        assert(!b->in_flight && !b->was_in_game);
        break;
    case B_LOGIN:
        assert(!b->in_flight && b->step <= L_ENTER);
        break;
    case B_GAME:
        assert(b->was_in_game);
        assert(!b->in_flight || b->kind < K_N);
        break;
    case B_QUITTING:
    case B_CLOSED:
        break;
    default:
        assert(false);
    }
}

/* Count a text a bot did not understand in @count, and keep it in @out
 * (its tail, on one line, control bytes as '|') for the error line that
 * says why a run failed: the first one (@first), or the latest. Blank
 * texts (the rest of a prompt already answered) are not counted. */
static void note_odd(const char *text, size_t len, uint64_t *count, char *out, size_t cap,
                     bool first)
{
    size_t k = 0;
    while (k < len && isspace((unsigned char)text[k]))
        k++;
    if (k == len || cap == 0)
        return;
    if ((*count)++ > 0 && first)
        return;
    /* The tail: the question or the prompt that ended the segment. */
    if (len > cap - 1)
        text += len - (cap - 1), len = cap - 1;
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)text[i] < 0x20 ? '|' : text[i];
    out[len] = '\0';
}

/* --trace: one line per read or write of bot @b, bytes escaped. */
void bot_trace(const struct bot *b, const char *dir, const void *p, size_t n)
{
    const uint8_t *c = p;
    fprintf(stderr, "mudbots: trace %s %s %zu bytes: ", b->name, dir, n);
    for (size_t i = 0; i < n; i++) {
        if (c[i] == '\n')
            fputs("\\n", stderr);
        else if (c[i] == '\r')
            fputs("\\r", stderr);
        else if (c[i] == '\\')
            fputs("\\\\", stderr);
        else if (c[i] < 0x20 || c[i] >= 0x7f)
            fprintf(stderr, "\\x%02x", c[i]);
        else
            fputc(c[i], stderr);
    }
    fputc('\n', stderr);
}

/* ---- game ---------------------------------------------------------------- */

static int dir_parse(const char *w, size_t n)
{
    for (int d = 0; d < D_N; d++)
        if ((strlen(DIR_NAME[d]) == n && strncasecmp(w, DIR_NAME[d], n) == 0) ||
            (strlen(DIR_ABBR[d]) == n && strncasecmp(w, DIR_ABBR[d], n) == 0))
            return d;
    return -1;
}

/* Read the last "[Exits: ...]" line of the segment into b->exits. A word
 * followed by "(closed)" (the node's way, src/mud/mud_node.c), wrapped in
 * () or marked with * or + is taken to be a closed door and skipped (it
 * would refuse the move). Returns
 * whether an exits line was there. */
static bool parse_exits(struct bot *b)
{
    const char *t = b->text.base, *end = t + b->text.len, *hit = NULL;
    for (const char *p = t; p < end;) {
        const char *f = ci_find(p, (size_t)(end - p), "exits:");
        if (f == NULL)
            break;
        hit = f;
        p = f + 6;
    }
    if (hit == NULL)
        return false;
    uint16_t mask = 0;
    const char *p = hit + 6;
    while (p < end && *p != '\n' && *p != ']') {
        if (!isalpha((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *w = p;
        while (p < end && isalpha((unsigned char)*p))
            p++;
        bool door = (w > t && (w[-1] == '(' || w[-1] == '<' || w[-1] == '*' || w[-1] == '+')) ||
                    (p < end && (*p == '(' || *p == ')' || *p == '>' || *p == '*' || *p == '+'));
        int d = dir_parse(w, (size_t)(p - w));
        if (d >= 0 && !door)
            mask |= (uint16_t)(1u << d);
    }
    b->exits = mask;
    return true;
}

/* A move the node refused: its reply has no exits line. The node's own
 * sentences (src/mud/mud_act.c, mud_fight.c), not loose words such as
 * "can't", which another's say or an NPC's line in the same segment may
 * hold: a refusal taken from there would end the move's timing early. */
static bool move_refused(const struct bot *b)
{
    static const char *const pats[] = {"you can't go that way.", " is closed.",
                                       "you are fighting! flee first."};
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++)
        if (text_has(b, pats[i]))
            return true;
    return false;
}

/* Where to walk: back the way we came with probability 1/3 (so bots stay
 * spread around their start instead of drifting to dead ends), else any
 * open exit that has not failed here. -1: nowhere known. */
static int pick_dir(struct bot *b)
{
    uint16_t ok = (uint16_t)(b->exits & ~b->bad);
    if (ok == 0)
        return -1;
    if (b->last_dir >= 0) {
        int back = b->last_dir ^ 1;
        if ((ok & (1u << back)) && bench_rng_next(&b->mb->rng) % 3 == 0)
            return back;
    }
    unsigned n = (unsigned)__builtin_popcount(ok);
    unsigned k = (unsigned)(bench_rng_next(&b->mb->rng) % n);
    for (int d = 0; d < D_N; d++)
        if ((ok & (1u << d)) && k-- == 0)
            return d;
    return -1;
}

static enum cmd_kind pick_kind(struct bot *b)
{
    const struct opts *o = &b->mb->o;
    unsigned w[K_N], total = 0;
    for (int k = 0; k < K_N; k++) {
        w[k] = o->mix[k];
        if ((k == K_MOVE && o->one_room) || k == K_KILL)
            w[k] = 0;
        total += w[k];
    }
    if (total == 0)
        return K_LOOK;
    unsigned r = (unsigned)(bench_rng_next(&b->mb->rng) % total);
    for (int k = 0; k < K_N; k++) {
        if (r < w[k])
            return (enum cmd_kind)k;
        r -= w[k];
    }
    return K_LOOK;
}

static void schedule_next(struct bot *b, uint64_t from)
{
    double period = 1.0 / b->mb->o.rate;
    b->t_next = from + (uint64_t)(period * (0.5 + rng_unit(b->mb)) * 1e9);
}

void send_command(struct bot *b, uint64_t now)
{
    struct mb *mb = b->mb;
    enum cmd_kind k = b->walk_left > 0 ? K_MOVE : pick_kind(b);
    if (mb->o.mode == M_COMBAT && b->walk_left == 0) {
        if (b->fighting) {
            /* Our fight runs on the zone owner's timer: nothing to type;
             * look again later. */
            schedule_next(b, now);
            return;
        }
        k = K_KILL;
    }
    int d = -1;
    if (k == K_MOVE) {
        d = pick_dir(b);
        if (d < 0)
            k = K_LOOK; /* no exit known: look to learn them */
    }
    char line[96];
    switch (k) {
    case K_LOOK:
        snprintf(line, sizeof line, "look");
        break;
    case K_MOVE:
        snprintf(line, sizeof line, "%s", DIR_NAME[d]);
        break;
    case K_KILL:
        snprintf(line, sizeof line, "kill %s", mb->o.target);
        break;
    case K_SAY:
    default:
        snprintf(line, sizeof line, "say hello %" PRIu32, ++b->says);
        break;
    }
    b->kind = (uint8_t)k;
    b->tried_dir = (int8_t)d;
    b->in_flight = true;
    b->early = false;
    b->echo_seen = false;
    b->text.len = 0;
    b->t_sent = now;
    b->sent++;
    b->deadline = now + (uint64_t)(mb->o.cmd_timeout * 1e9);
    if (in_window(mb, now))
        mb->sent[k]++;
    bot_send_line(b, line);
}

/* A prompt mark while in the game. */
static void game_prompt(struct bot *b, uint64_t now)
{
    struct mb *mb = b->mb;
    if (!b->in_flight) {
        mb->async_prompts++;
        parse_exits(b);
        return;
    }
    bool matched;
    switch (b->kind) {
    case K_LOOK:
        matched = parse_exits(b);
        break;
    case K_MOVE:
        if (parse_exits(b)) {
            matched = true;
            b->last_dir = b->tried_dir;
            b->bad = 0;
        } else {
            matched = move_refused(b);
            if (matched) {
                if (b->tried_dir >= 0)
                    b->bad |= (uint16_t)(1u << b->tried_dir);
                if (in_window(mb, b->t_sent))
                    mb->move_failed++;
            }
        }
        break;
    case K_KILL:
        /* The attack, or why not (none here, it is already ours...). */
        if (text_has(b, "you attack")) {
            matched = true;
            b->fighting = true;
        } else if (text_has(b, "you are already fighting")) {
            matched = true;
            b->fighting = true;
        } else {
            matched = text_has(b, "you don't see") || text_has(b, "not here") ||
                      text_has(b, "you are fighting") || text_has(b, "whom?") ||
                      text_has(b, "peaceful") || text_has(b, "huh?");
            if (matched && in_window(mb, b->t_sent))
                mb->kill_refused++;
        }
        break;
    case K_SAY:
    default:
        matched = b->echo_seen || text_has(b, "you say");
        break;
    }
    if (!matched) {
        /* Another's output with its own prompt: not our reply. */
        if (!b->early && in_window(mb, b->t_sent))
            mb->early_prompts++;
        if (!b->early)
            note_odd(b->text.base, b->text.len, &mb->odd_reply, mb->odd_reply_text,
                     sizeof mb->odd_reply_text, false);
        b->early = true;
        return;
    }
    b->in_flight = false;
    if (mb->phase >= PH_RUN)
        b->replies++;
    if (in_window(mb, b->t_sent)) {
        mb->done[b->kind]++;
        hist_add(&mb->lat[b->kind], (now - b->t_sent) / 1000);
    }
    if (b->walk_left > 0) {
        /* Dispersing: the next step soon, within the node's line rate. */
        b->walk_left--;
        b->t_next = now + 150 * 1000000ull;
        if (b->walk_left == 0 && mb->phase == PH_LOGIN)
            b->t_next = UINT64_MAX; /* the run phase schedules it */
        return;
    }
    schedule_next(b, b->t_sent);
    if (b->t_next < now) {
        if (in_window(mb, now))
            mb->late_sends++;
        b->t_next = now;
    }
}

/* ---- login dialogue ------------------------------------------------------ */

static void enter_game(struct bot *b, uint64_t now)
{
    struct mb *mb = b->mb;
    b->state = B_GAME;
    b->was_in_game = true;
    mb->connecting--;
    mb->in_game++;
    mb->nodes[b->node].in_game++;
    if (b->existing)
        mb->existing++;
    else
        mb->created++;
    hist_add(&mb->login, (now - b->t_connect) / 1000);
    parse_exits(b);
    b->text.len = 0;
    b->t_next = UINT64_MAX; /* the run phase schedules the first command */
    if (!mb->o.one_room && mb->o.disperse > 0) {
        /* Walk away from the start room at once, so that the run finds the
         * bots spread over the world rather than all where they entered. */
        b->walk_left = (uint16_t)mb->o.disperse;
        b->t_next = now + (uint64_t)(rng_unit(mb) * 500e6);
    }
}

/* Act on the login text seen so far. @mark: it ended with a prompt mark.
 * Returns whether it answered (then the text is consumed). */
static bool login_step(struct bot *b, bool mark, uint64_t now)
{
    const char *pw = b->mb->o.password;
    switch (b->step) {
    case L_NAME:
        if (!text_has(b, "name"))
            return false;
        bot_send_line(b, b->name);
        b->step = L_AFTER_NAME;
        break;
    case L_AFTER_NAME:
        if (text_has(b, "(y/n)") || text_has(b, "create")) {
            bot_send_line(b, "y");
            b->step = L_PW1;
        } else if (text_has(b, "password")) {
            /* The name exists (a re-run on a kept data dir): log in. */
            b->existing = true;
            bot_send_line(b, pw);
            b->step = L_ENTER;
        } else if (mark && text_has(b, "name")) {
            bot_close(b, false, "login_name_refused");
        } else {
            return false;
        }
        break;
    case L_PW1:
        if (!text_has(b, "password"))
            return false;
        bot_send_line(b, pw);
        b->step = L_PW2;
        break;
    case L_PW2:
        if (text_has(b, "again") || text_has(b, "confirm") || text_has(b, "retype")) {
            bot_send_line(b, pw);
            b->step = L_ENTER;
        } else if (mark && text_has(b, "password")) {
            bot_close(b, false, "login_password_refused");
        } else {
            return false;
        }
        break;
    case L_ENTER:
        if (!mark)
            return false;
        if (text_has(b, "(number or name)")) {
            /* A character-creation menu (the world's races, then its
             * classes; skipped by a world with one or none): the first
             * choice, so every run makes the same characters. */
            if (++b->menus > MB_MAX_MENUS) {
                note_odd(b->text.base, b->text.len, &b->mb->odd_login, b->mb->odd_login_text,
                         sizeof b->mb->odd_login_text, true);
                bot_close(b, false, "login_menu_loop");
                break;
            }
            b->mb->menus++;
            bot_send_line(b, "1");
            break;
        }
        if (text_has(b, "exits:")) {
            /* The room we entered (the node shows it on entry). */
            enter_game(b, now);
            return true;
        }
        if (text_has(b, "password") || text_has(b, "wrong") || text_has(b, "incorrect")) {
            bot_close(b, false, "login_password_refused");
            break;
        }
        /* A question this bot does not know: the node's login changed.
         * Fail, and keep the text, rather than take it for the game. */
        note_odd(b->text.base, b->text.len, &b->mb->odd_login, b->mb->odd_login_text,
                 sizeof b->mb->odd_login_text, true);
        bot_close(b, false, "login_unexpected_text");
        break;
    }
    b->text.len = 0;
    return true;
}

/* ---- input --------------------------------------------------------------- */

static void text_put(struct bot *b, const char *p, size_t n)
{
    if (n == 0)
        return;
    if (b->text.len + n > MB_TEXT_CAP) {
        /* Keep the tail: the markers we look for end a segment. */
        size_t keep = MB_TEXT_CAP / 2;
        if (keep > b->text.len)
            keep = b->text.len;
        memmove(b->text.base, b->text.base + b->text.len - keep, keep);
        b->text.len = keep;
        if (n > MB_TEXT_CAP / 2) {
            p += n - MB_TEXT_CAP / 2;
            n = MB_TEXT_CAP / 2;
        }
    }
    buf_append(&b->text, p, n);
}

/* say: the first "You say" after the command was sent is our echo. */
static void check_echo(struct bot *b, uint64_t now)
{
    struct mb *mb = b->mb;
    if (b->state == B_GAME && b->in_flight && b->kind == K_SAY && !b->echo_seen &&
        text_has(b, "you say")) {
        b->echo_seen = true;
        if (in_window(mb, b->t_sent))
            hist_add(&mb->echo, (now - b->t_sent) / 1000);
    }
}

/* Combat: what a segment says about our fight. Every segment is looked at
 * once (on_prompt_mark drops it afterwards), so nothing is counted twice. */
static void scan_combat(struct bot *b, uint64_t now)
{
    struct mb *mb = b->mb;
    size_t left = b->text.len;
    const char *p = b->text.base;
    const char *r;
    while ((r = ci_find(p, left, "[round ")) != NULL) {
        b->fighting = true;
        if (mb->phase >= PH_RUN)
            b->replies++; /* our fight goes on: this bot is served */
        if (in_window(mb, now))
            mb->rounds++;
        left -= (size_t)(r + 7 - p);
        p = r + 7;
    }
    if (text_has(b, "is dead!")) {
        b->fighting = false;
        if (in_window(mb, now))
            mb->npc_deaths++;
    }
    if (text_has(b, "you are dead")) {
        b->fighting = false;
        if (in_window(mb, now))
            mb->bot_deaths++;
    }
}

static void on_prompt_mark(struct bot *b, uint64_t now)
{
    check_echo(b, now);
    if (b->state == B_GAME && b->mb->o.mode == M_COMBAT)
        scan_combat(b, now);
    if (b->state == B_LOGIN) {
        if (!login_step(b, true, now) && b->state == B_LOGIN) {
            /* A mark with nothing we understand (e.g. the tail of a prompt
             * we already answered): drop the segment, but keep it for the
             * error line should the bot never get in. */
            note_odd(b->text.base, b->text.len, &b->mb->odd_login, b->mb->odd_login_text,
                     sizeof b->mb->odd_login_text, true);
            b->text.len = 0;
        }
        return;
    }
    if (b->state == B_GAME)
        game_prompt(b, now);
    if (b->state == B_GAME && !b->in_flight)
        b->text.len = 0;
    else if (b->state == B_GAME && b->early)
        b->text.len = 0; /* the segment was someone else's */
    else if (b->state == B_QUITTING)
        b->text.len = 0;
}

static void send_opt(struct bot *b, uint8_t verb, uint8_t opt)
{
    uint8_t m[3] = {T_IAC, verb, opt};
    bot_write(b, m, 3);
}

static void on_negotiation(struct bot *b, uint8_t verb, uint8_t opt)
{
    switch (verb) {
    case T_WILL:
        send_opt(b, T_DONT, opt); /* we want none of the node's options */
        break;
    case T_WONT:
        break; /* already off on our side */
    case T_DO:
        if (opt == O_NAWS) {
            if (!b->naws_on) {
                b->naws_on = true;
                send_opt(b, T_WILL, O_NAWS);
                uint8_t sb[] = {T_IAC, T_SB, O_NAWS, 0, NAWS_W, 0, NAWS_H, T_IAC, T_SE};
                bot_write(b, sb, sizeof sb);
            }
        } else if (opt == O_TTYPE) {
            if (!b->ttype_on) {
                b->ttype_on = true;
                send_opt(b, T_WILL, O_TTYPE);
            }
        } else {
            send_opt(b, T_WONT, opt);
        }
        break;
    case T_DONT:
        if (opt == O_NAWS && b->naws_on) {
            b->naws_on = false;
            send_opt(b, T_WONT, opt);
        } else if (opt == O_TTYPE && b->ttype_on) {
            b->ttype_on = false;
            send_opt(b, T_WONT, opt);
        }
        break;
    }
}

static void on_subneg(struct bot *b)
{
    if (b->sb_len >= 2 && b->sb[0] == O_TTYPE && b->sb[1] == TTYPE_SEND && b->ttype_on) {
        uint8_t m[4 + sizeof TTYPE_NAME + 2] = {T_IAC, T_SB, O_TTYPE, TTYPE_IS};
        memcpy(m + 4, TTYPE_NAME, sizeof TTYPE_NAME - 1);
        m[4 + sizeof TTYPE_NAME - 1] = T_IAC;
        m[4 + sizeof TTYPE_NAME] = T_SE;
        bot_write(b, m, sizeof m - 1);
    }
}

/* Feed @n bytes of telnet input: text goes (CR and ANSI stripped) into the
 * segment; prompt marks act. */
static void bot_feed(struct bot *b, const uint8_t *p, size_t n, uint64_t now)
{
    char txt[4096];
    size_t tl = 0;
#define FLUSH_TEXT()                                                                               \
    do {                                                                                           \
        text_put(b, txt, tl);                                                                      \
        tl = 0;                                                                                    \
    } while (0)
    for (size_t i = 0; i < n && b->state != B_CLOSED; i++) {
        uint8_t c = p[i];
        switch (b->ts) {
        case TS_DATA:
            if (c == T_IAC) {
                b->ts = TS_IAC;
                continue;
            }
            break; /* text, below */
        case TS_IAC:
            b->ts = TS_DATA;
            if (c == T_IAC)
                break; /* a 255 data byte */
            if (c == T_WILL || c == T_WONT || c == T_DO || c == T_DONT) {
                b->verb = c;
                b->ts = TS_OPT;
            } else if (c == T_SB) {
                b->sb_len = 0;
                b->ts = TS_SB;
            } else if (c == T_GA || c == T_EOR) {
                FLUSH_TEXT();
                on_prompt_mark(b, now);
            }
            continue; /* NOP and the rest: nothing to do */
        case TS_OPT:
            b->ts = TS_DATA;
            on_negotiation(b, b->verb, c);
            continue;
        case TS_SB:
            if (c == T_IAC)
                b->ts = TS_SB_IAC;
            else if (b->sb_len < MB_SB_MAX)
                b->sb[b->sb_len++] = c;
            continue;
        case TS_SB_IAC:
            if (c == T_IAC) {
                if (b->sb_len < MB_SB_MAX)
                    b->sb[b->sb_len++] = c;
                b->ts = TS_SB;
            } else {
                b->ts = TS_DATA; /* SE, or a broken SB: end it either way */
                if (c == T_SE)
                    on_subneg(b);
            }
            continue;
        }
        /* Text byte: drop CR/NUL and ANSI escapes. */
        switch (b->ansi) {
        case A_ESC:
            b->ansi = c == '[' ? A_CSI : A_NONE;
            continue;
        case A_CSI:
            if (c >= 0x40 && c <= 0x7e)
                b->ansi = A_NONE;
            continue;
        default:
            break;
        }
        if (c == 0x1b) {
            b->ansi = A_ESC;
            continue;
        }
        if (c == '\r' || c == '\0')
            continue;
        txt[tl++] = (char)c;
        if (tl == sizeof txt)
            FLUSH_TEXT();
    }
    if (b->state != B_CLOSED)
        FLUSH_TEXT();
#undef FLUSH_TEXT
}

/* @n bytes from the node, as read. */
void bot_input(struct bot *b, const uint8_t *p, size_t n, uint64_t now)
{
    if (b->mb->o.trace == (int64_t)b->idx)
        bot_trace(b, "<", p, n);
    bot_feed(b, p, n, now);
    if (b->state == B_LOGIN && b->text.len > 0 && b->text.base[b->text.len - 1] != '\n') {
        /* A question without a prompt mark: answer it if it reads like one. */
        login_step(b, false, now);
    }
    check_echo(b, now);
}
