/* Prometheus metrics: fixed-bucket histograms, and a writer of the text
 * exposition format (version 0.0.4) for /metrics.
 *
 * The format is small and stable, so it is written here rather than taken
 * from a client library (Debian has none for C): every family gets its
 * "# HELP" and "# TYPE" lines once, then its samples, every sample carries
 * the writer's constant labels (node="1", and game="mud" inside a game's
 * hook), counters end in _total, and a histogram writes cumulative
 * _bucket{le="..."} samples ending with le="+Inf", then _sum and _count.
 * promtool check metrics is the test of that (tests/cluster/metrics). */
#ifndef WR_COMMON_METRICS_H
#define WR_COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WR_HIST_MAX_BUCKETS 20

/* Observations in seconds (latencies); bucket bounds are upper bounds. */
struct wr_hist {
    const double *le;
    unsigned n_le;
    uint64_t counts[WR_HIST_MAX_BUCKETS]; /* per bucket, not cumulative */
    uint64_t over;                        /* above the last bound */
    uint64_t count;
    double sum;
};

/* 50 us .. 5 s, for commit, apply, client and fan-out latencies. */
void wr_hist_init_latency(struct wr_hist *h);
void wr_hist_observe(struct wr_hist *h, double value);
/* Nanoseconds, as uv_hrtime() differences. */
void wr_hist_observe_ns(struct wr_hist *h, uint64_t ns);

struct wr_prom {
    FILE *f;
    char labels[96]; /* `node="1"` or `node="1",game="mud"`: no braces */
};

void wr_prom_init(struct wr_prom *p, FILE *f, uint32_t node_id);
/* Append `,game="NAME"` (NULL: back to the node's labels only). */
void wr_prom_game(struct wr_prom *p, const char *game);

/* One family with one sample. @name of a counter ends in _total. */
void wr_prom_counter(struct wr_prom *p, const char *name, const char *help, uint64_t value);
void wr_prom_gauge(struct wr_prom *p, const char *name, const char *help, double value);
void wr_prom_histogram(struct wr_prom *p, const char *name, const char *help,
                       const struct wr_hist *h);

/* A family whose samples differ by one more label (@label=value): the
 * header once, then wr_prom_sample for each. */
void wr_prom_family(struct wr_prom *p, const char *name, const char *type, const char *help);
void wr_prom_sample(struct wr_prom *p, const char *name, const char *label, const char *value,
                    double v);

#endif
