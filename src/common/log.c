/* Leveled logging; see log.h. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum wr_log_level min_level = WR_LOG_INFO;
static unsigned long long node_id;

void wr_log_init(void)
{
    const char *env = getenv("WARREN_LOG");
    if (env == NULL)
        return;
    if (strcmp(env, "debug") == 0)
        min_level = WR_LOG_DEBUG;
    else if (strcmp(env, "warn") == 0)
        min_level = WR_LOG_WARN;
    else if (strcmp(env, "error") == 0)
        min_level = WR_LOG_ERROR;
}

void wr_log_set_level(enum wr_log_level level)
{
    min_level = level;
}

void wr_log_set_node(unsigned long long id)
{
    node_id = id;
}

void wr_log(enum wr_log_level level, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < min_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[1024];
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld node%llu %s: ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, node_id, names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One write per line so lines from concurrent processes do not mix. */
    size_t len = strnlen(line, sizeof line - 2);
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}
