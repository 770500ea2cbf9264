/* The MUD's pure text functions, shared by the node half (src/mud_node/mud_*.c), the
 * unit tests and the parser's fuzz driver: a growable text buffer, the
 * table-driven command parser, word wrapping, the ASCII map and the
 * wording of events. Nothing here does I/O, reads a clock or keeps global
 * mutable state; every function may be called from any thread. */
#ifndef WR_MUD_TEXT_H
#define WR_MUD_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mud/model.h"
#include "mud/mud.h"

/* ANSI SGR sequences used in the MUD's output. Text is built with them and
 * stripped (wr_mud_strip_ansi) for a telnet client without colour. */
#define WR_ANSI_RESET "\033[0m"
#define WR_ANSI_BOLD "\033[1m"
#define WR_ANSI_RED "\033[31m"
#define WR_ANSI_GREEN "\033[32m"
#define WR_ANSI_YELLOW "\033[33m"
#define WR_ANSI_BLUE "\033[34m"
#define WR_ANSI_MAGENTA "\033[35m"
#define WR_ANSI_CYAN "\033[36m"

/* ---- text buffer ------------------------------------------------------ */

/* A growable NUL-terminated text buffer. Allocation failure aborts (as
 * wr_malloc does). An initialised buffer with len 0 may hold p == NULL. */
struct wr_tbuf {
    char *p;
    size_t len, cap;
};
void wr_tbuf_init(struct wr_tbuf *b);
void wr_tbuf_free(struct wr_tbuf *b);
void wr_tbuf_put(struct wr_tbuf *b, const char *s, size_t len);
void wr_tbuf_puts(struct wr_tbuf *b, const char *s);
void wr_tbuf_printf(struct wr_tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The contents as a C string ("" when empty); valid until the next change. */
const char *wr_tbuf_str(const struct wr_tbuf *b);

/* Append @s (@len bytes) without its ANSI escape sequences (ESC [ ... final
 * byte) to @out. */
void wr_mud_strip_ansi(struct wr_tbuf *out, const char *s, size_t len);

/* ---- command parser --------------------------------------------------- */

enum wr_mud_cmd_id {
    WR_MC_MOVE = 1, /* def->dir says where */
    WR_MC_GO,
    WR_MC_LOOK,
    WR_MC_EXAMINE,
    WR_MC_EXITS,
    WR_MC_MAP,
    WR_MC_OPEN,
    WR_MC_CLOSE,
    WR_MC_GET,
    WR_MC_DROP,
    WR_MC_GIVE,
    WR_MC_INVENTORY,
    WR_MC_SAY,
    WR_MC_EMOTE,
    WR_MC_WHISPER,
    WR_MC_TELL,
    WR_MC_REPLY,
    WR_MC_CHANNELS,
    WR_MC_CHANNEL,
    WR_MC_CHANNEL_TALK, /* a channel's name used as a command */
    WR_MC_WHO,
    WR_MC_SCORE,
    WR_MC_HELP,
    WR_MC_QUIT,
    WR_MC_AREA, /* a gameplay command: def->run runs it */
};

struct client; /* mud_node_internal.h */

struct wr_mud_cmd_def {
    const char *name;    /* the full name; prefixes of it match */
    const char *aliases; /* space-separated exact aliases, or "" */
    enum wr_mud_cmd_id id;
    int dir;             /* WR_MC_MOVE: enum wr_mud_dir; else -1 */
    bool exact;          /* only the full name matches (quit) */
    const char *group;   /* heading in `help` */
    const char *usage;
    const char *help;
    /* WR_MC_AREA: runs the command for a PLAYING client whose character is
     * in the world; @args (@len bytes, NUL-terminated) is the rest of the
     * line, trimmed. */
    void (*run)(struct client *c, const struct wr_mud_cmd_def *def, const char *args,
                size_t len);
    uint8_t role; /* enum wr_mud_role needed; others see neither it nor its help */
};

/* The tables, in priority order: the core's (wr_mud_cmds) then one per
 * gameplay area (in src/mud_node/cmd_*.c). A prefix matches the first
 * command it is a prefix of ("s" is south, not say). Each ends with a NULL
 * name; wr_mud_cmd_tables ends with NULL. */
extern const struct wr_mud_cmd_def wr_mud_cmds[];
extern const struct wr_mud_cmd_def wr_mud_cmds_fight[];
extern const struct wr_mud_cmd_def wr_mud_cmds_progress[];
extern const struct wr_mud_cmd_def wr_mud_cmds_items[];
extern const struct wr_mud_cmd_def wr_mud_cmds_quest[];
extern const struct wr_mud_cmd_def wr_mud_cmds_build[];
extern const struct wr_mud_cmd_def *const wr_mud_cmd_tables[];

#define WR_MUD_VERB_MAX 32

struct wr_mud_parsed {
    const struct wr_mud_cmd_def *def; /* NULL: unknown (or empty, see below) */
    int channel;                      /* WR_MC_CHANNEL_TALK: index in @channels */
    bool empty;                       /* the line held only blanks */
    char verb[WR_MUD_VERB_MAX];       /* the first word, lower-cased, truncated */
    size_t args_off, args_len;        /* the rest of the line, trimmed */
    bool prefix;                      /* def matched as a prefix only */
};

/* Parse one input line (@len bytes, need not be NUL-terminated). The verb
 * is matched, in this order: a command's name or alias exactly, one of
 * @channels (n keys, may be NULL) exactly (then def is the
 * WR_MC_CHANNEL_TALK pseudo-command), a prefix of a non-exact command's
 * name in table order. A line starting with ' or " is `say`, with : is
 * `emote`. Never fails; out->def == NULL when nothing matched. */
void wr_mud_cmd_parse(const char *line, size_t len, const char *const *channels, size_t n_channels,
                      struct wr_mud_parsed *out);
/* The pseudo-command for channel talk (for help texts). */
extern const struct wr_mud_cmd_def wr_mud_cmd_channel_talk;

/* `help`: every command grouped; `help WORD`: that command's usage and
 * help (WORD parsed like a verb), or a "no help" line. Commands that need
 * a role above @role are left out. */
void wr_mud_help(struct wr_tbuf *out, const char *word, size_t len, uint8_t role);

/* ---- layout ----------------------------------------------------------- */

/* Width of @s in terminal columns: UTF-8 code points, ANSI escapes not
 * counted. */
size_t wr_mud_text_width(const char *s, size_t len);

/* Append @text word-wrapped to @width columns (at least 20 is assumed;
 * smaller widths wrap at 20), each output line ending with '\n'. Newlines
 * in @text are kept as hard breaks (a blank line stays blank); runs of
 * spaces between words become one; a word longer than the width is cut.
 * @indent spaces start every line. A trailing newline in @text adds no
 * empty line. ANSI sequences in @text must be whole and hold no blank
 * (the node's own are; player text has its control bytes removed). */
void wr_mud_wrap(struct wr_tbuf *out, const char *text, size_t len, unsigned width,
                 unsigned indent);

/* Append an ASCII map of the rooms of @room's zone on @room's level (z)
 * within @radius steps of it on x and y: '@' the room itself, '#' other
 * rooms, '-' '|' '/' '\' exits between neighbours ('X' where two
 * diagonals cross), '+' a door on a link; then a legend line. North is up
 * (y - 1). Nothing but the legend if @room is out of range. */
void wr_mud_map_render(struct wr_tbuf *out, const struct wr_mud_model *m, uint32_t room,
                       unsigned radius);

/* ---- events ----------------------------------------------------------- */

/* Append what @viewer (a character id; 0 for nobody in particular) sees of
 * event @type with data @e, one or more lines ending with '\n' with ANSI
 * colours. Returns false (and appends nothing) for events that show no
 * text by themselves (ENTERED_GAME, MOVED, TAKEN_OVER, QUIT, REFUSED,
 * ZONE_OWNER, WORLD, CHANSET is rendered) or that are not for @viewer's
 * eyes (a character's own arrival and departure). */
bool wr_mud_event_render(struct wr_tbuf *out, uint8_t type, const struct wr_mud_event *e,
                         uint32_t viewer);

/* Append @s with its first letter upper-cased ("the old gatekeeper" ->
 * "The old gatekeeper"). */
void wr_mud_put_capitalised(struct wr_tbuf *out, const char *s);

#endif
