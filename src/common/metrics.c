/* Prometheus text exposition; see metrics.h. */
#include "common/metrics.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

static const double latency_le[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                    0.01,    0.025,  0.05,    0.1,    0.25,  0.5,    1,
                                    2.5,     5};

void wr_hist_init_latency(struct wr_hist *h)
{
    memset(h, 0, sizeof *h);
    h->le = latency_le;
    h->n_le = sizeof latency_le / sizeof latency_le[0];
    static_assert(sizeof latency_le / sizeof latency_le[0] <= WR_HIST_MAX_BUCKETS,
                  "latency buckets fit");
}

void wr_hist_observe(struct wr_hist *h, double value)
{
    h->count++;
    h->sum += value;
    /* A few bounds: a linear scan beats a binary search's branches. */
    for (unsigned i = 0; i < h->n_le; i++) {
        if (value <= h->le[i]) {
            h->counts[i]++;
            return;
        }
    }
    h->over++;
}

void wr_hist_observe_ns(struct wr_hist *h, uint64_t ns)
{
    wr_hist_observe(h, (double)ns / 1e9);
}

void wr_prom_init(struct wr_prom *p, FILE *f, uint32_t node_id)
{
    p->f = f;
    snprintf(p->labels, sizeof p->labels, "node=\"%" PRIu32 "\"", node_id);
}

void wr_prom_game(struct wr_prom *p, const char *game)
{
    char *comma = strstr(p->labels, ",game=");
    if (comma != NULL)
        *comma = '\0';
    if (game != NULL) {
        size_t len = strlen(p->labels);
        snprintf(p->labels + len, sizeof p->labels - len, ",game=\"%s\"", game);
    }
}

void wr_prom_family(struct wr_prom *p, const char *name, const char *type, const char *help)
{
    fprintf(p->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* %.17g keeps every double exact; integers print without an exponent up
 * to 2^53, which is as far as a double holds them anyway. */
static void value(FILE *f, double v)
{
    fprintf(f, " %.17g\n", v);
}

void wr_prom_sample(struct wr_prom *p, const char *name, const char *label, const char *lvalue,
                    double v)
{
    if (label != NULL)
        fprintf(p->f, "%s{%s,%s=\"%s\"}", name, p->labels, label, lvalue);
    else
        fprintf(p->f, "%s{%s}", name, p->labels);
    value(p->f, v);
}

void wr_prom_counter(struct wr_prom *p, const char *name, const char *help, uint64_t v)
{
    wr_prom_family(p, name, "counter", help);
    wr_prom_sample(p, name, NULL, NULL, (double)v);
}

void wr_prom_gauge(struct wr_prom *p, const char *name, const char *help, double v)
{
    wr_prom_family(p, name, "gauge", help);
    wr_prom_sample(p, name, NULL, NULL, v);
}

void wr_prom_histogram(struct wr_prom *p, const char *name, const char *help,
                       const struct wr_hist *h)
{
    wr_prom_family(p, name, "histogram", help);
    uint64_t cum = 0;
    for (unsigned i = 0; i < h->n_le; i++) {
        cum += h->counts[i];
        fprintf(p->f, "%s_bucket{%s,le=\"%g\"} %" PRIu64 "\n", name, p->labels, h->le[i], cum);
    }
    fprintf(p->f, "%s_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n", name, p->labels, h->count);
    fprintf(p->f, "%s_sum{%s}", name, p->labels);
    value(p->f, h->sum);
    fprintf(p->f, "%s_count{%s} %" PRIu64 "\n", name, p->labels, h->count);
}
