/* Leveled logging; see log.h. */
#include "common/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *level_names[] = {"debug", "info", "warn", "error"};
static enum wr_log_level min_level = WR_LOG_INFO;
static enum wr_log_format format = WR_LOG_TEXT;
static unsigned long long node_id;

int wr_log_parse_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

int wr_log_parse_format(const char *name)
{
    if (strcmp(name, "text") == 0)
        return WR_LOG_TEXT;
    if (strcmp(name, "json") == 0)
        return WR_LOG_JSON;
    return -1;
}

void wr_log_init(void)
{
    const char *env = getenv("WARREN_LOG");
    int level = env != NULL ? wr_log_parse_level(env) : -1;
    if (level >= 0)
        min_level = (enum wr_log_level)level;
}

void wr_log_set_level(enum wr_log_level level)
{
    min_level = level;
}

void wr_log_set_format(enum wr_log_format f)
{
    format = f;
}

void wr_log_set_node(unsigned long long id)
{
    node_id = id;
}

/* The length of a valid UTF-8 sequence at @s (at most @n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (len == 0 || s[0] > 0xF4 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
        return 0; /* overlong, surrogate, above U+10FFFF */
    return len;
}

/* Append @s as the body of a JSON string. Messages can quote what a client
 * sent, so bytes that are not UTF-8 become U+FFFD: the line stays JSON. A
 * JSON library would refuse such a string rather than mend it. */
static size_t json_escape(char *out, size_t cap, size_t at, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n && at + 8 < cap;) {
        unsigned char ch = p[i];
        if (ch == '"' || ch == '\\') {
            out[at++] = '\\';
            out[at++] = (char)ch;
            i++;
        } else if (ch < 0x20 || ch == 0x7F) {
            at += (size_t)snprintf(out + at, cap - at, "\\u%04x", ch);
            i++;
        } else if (ch < 0x80) {
            out[at++] = (char)ch;
            i++;
        } else {
            size_t len = utf8_len(p + i, n - i);
            if (len == 0) {
                memcpy(out + at, "\\ufffd", 6);
                at += 6;
                i++;
            } else {
                memcpy(out + at, p + i, len);
                at += len;
                i += len;
            }
        }
    }
    return at;
}

/* "proposer: forwarding..." -> the length of "proposer", or 0. */
static size_t component_len(const char *msg)
{
    size_t i = 0;
    while ((msg[i] >= 'a' && msg[i] <= 'z') || (msg[i] >= '0' && msg[i] <= '9') || msg[i] == '_' ||
           msg[i] == '-')
        i++;
    return i > 0 && i <= 24 && msg[i] == ':' && msg[i + 1] == ' ' ? i : 0;
}

void wr_log(enum wr_log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    char line[3 * sizeof msg];
    size_t len;
    if (format == WR_LOG_JSON) {
        int n = snprintf(line, sizeof line,
                         "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\","
                         "\"node\":%llu,",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], node_id);
        len = (size_t)n;
        const char *body = msg;
        size_t clen = component_len(msg);
        if (clen > 0) {
            len += (size_t)snprintf(line + len, sizeof line - len, "\"component\":\"%.*s\",",
                                    (int)clen, msg);
            body = msg + clen + 2;
        }
        len += (size_t)snprintf(line + len, sizeof line - len, "\"msg\":\"");
        len = json_escape(line, sizeof line - 3, len, body, strlen(body));
        line[len++] = '"';
        line[len++] = '}';
    } else {
        int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld node%llu %s: %s", tm.tm_hour,
                         tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, node_id, level_names[level],
                         msg);
        len = n > 0 ? strnlen(line, sizeof line - 2) : 0;
    }
    /* One write per line so lines from concurrent processes do not mix. */
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}
