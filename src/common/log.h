/* Leveled logging to stderr, one line per call, checked like printf.
 * Every line carries a wall-clock timestamp, the level and the node's id
 * (set once with wr_log_set_node), so the logs of several nodes interleave
 * readably in one terminal or test artifact.
 *
 * Two formats (--log-format): text, "HH:MM:SS.mmm node1 info: proposer:
 * forwarding to leader 2", and json, one object per line with the stable
 * keys ts (RFC 3339, UTC, milliseconds), level, node, component and msg:
 * {"ts":"2026-11-30T13:30:00.123Z","level":"info","node":1,
 *  "component":"proposer","msg":"forwarding to leader 2"}.
 * component is the message's "word: " prefix, the house convention for
 * naming the part that logs; it is absent when a message has none. */
#ifndef WR_LOG_H
#define WR_LOG_H

enum wr_log_level { WR_LOG_DEBUG, WR_LOG_INFO, WR_LOG_WARN, WR_LOG_ERROR };
enum wr_log_format { WR_LOG_TEXT, WR_LOG_JSON };

/* Lines below @level are dropped. Default WR_LOG_INFO; WARREN_LOG=debug
 * (or info, warn, error) in the environment sets it (read by wr_log_init). */
void wr_log_init(void);
void wr_log_set_level(enum wr_log_level level);
void wr_log_set_format(enum wr_log_format format);
void wr_log_set_node(unsigned long long id);

/* "debug".."error" -> the level, "text"/"json" -> the format; -1 if not. */
int wr_log_parse_level(const char *name);
int wr_log_parse_format(const char *name);

void wr_log(enum wr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define wr_debug(...) wr_log(WR_LOG_DEBUG, __VA_ARGS__)
#define wr_info(...) wr_log(WR_LOG_INFO, __VA_ARGS__)
#define wr_warn(...) wr_log(WR_LOG_WARN, __VA_ARGS__)
#define wr_error(...) wr_log(WR_LOG_ERROR, __VA_ARGS__)

#endif
