/* Leveled logging to stderr, one line per call, checked like printf.
 * Every line carries a wall-clock timestamp, the level and the node's id
 * (set once with wr_log_set_node), so the logs of several nodes interleave
 * readably in one terminal or test artifact. */
#ifndef WR_LOG_H
#define WR_LOG_H

enum wr_log_level { WR_LOG_DEBUG, WR_LOG_INFO, WR_LOG_WARN, WR_LOG_ERROR };

/* Lines below @level are dropped. Default WR_LOG_INFO; WARREN_LOG=debug
 * in the environment lowers it (read by wr_log_init). */
void wr_log_init(void);
void wr_log_set_level(enum wr_log_level level);
void wr_log_set_node(unsigned long long id);

void wr_log(enum wr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define wr_debug(...) wr_log(WR_LOG_DEBUG, __VA_ARGS__)
#define wr_info(...) wr_log(WR_LOG_INFO, __VA_ARGS__)
#define wr_warn(...) wr_log(WR_LOG_WARN, __VA_ARGS__)
#define wr_error(...) wr_log(WR_LOG_ERROR, __VA_ARGS__)

#endif
