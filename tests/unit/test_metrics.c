/* Unit tests for common/metrics: histogram buckets and the exposition
 * lines. promtool checks the whole /metrics page in tests/cluster/metrics;
 * these pin the details promtool does not: cumulative buckets, the +Inf
 * bucket equal to the count, bounds as inclusive upper limits, labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"

static char *render(void (*fn)(struct wr_prom *p, void *arg), void *arg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct wr_prom p;
    wr_prom_init(&p, f, 7);
    fn(&p, arg);
    fclose(f);
    return text;
}

static void hist_fn(struct wr_prom *p, void *arg)
{
    wr_prom_histogram(p, "warren_t_seconds", "a test", arg);
}

static void test_histogram_buckets(void **state)
{
    (void)state;
    struct wr_hist h;
    wr_hist_init_latency(&h);
    wr_hist_observe(&h, 0.00005); /* on a bound: counted in that bucket */
    wr_hist_observe_ns(&h, 3000000); /* 3 ms */
    wr_hist_observe(&h, 9.0);        /* above every bound */
    char *t = render(hist_fn, &h);
    assert_non_null(strstr(t, "# TYPE warren_t_seconds histogram\n"));
    assert_non_null(strstr(t, "warren_t_seconds_bucket{node=\"7\",le=\"5e-05\"} 1\n"));
    assert_non_null(strstr(t, "warren_t_seconds_bucket{node=\"7\",le=\"0.0025\"} 1\n"));
    assert_non_null(strstr(t, "warren_t_seconds_bucket{node=\"7\",le=\"0.005\"} 2\n"));
    assert_non_null(strstr(t, "warren_t_seconds_bucket{node=\"7\",le=\"5\"} 2\n"));
    assert_non_null(strstr(t, "warren_t_seconds_bucket{node=\"7\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(t, "warren_t_seconds_count{node=\"7\"} 3\n"));
    assert_non_null(strstr(t, "warren_t_seconds_sum{node=\"7\"} 9.00305"));
    free(t);
}

static void labels_fn(struct wr_prom *p, void *arg)
{
    (void)arg;
    wr_prom_game(p, "mud");
    wr_prom_counter(p, "warren_a_total", "a", 5);
    wr_prom_game(p, "arena"); /* replaces, does not add */
    wr_prom_gauge(p, "warren_b", "b", 1.5);
    wr_prom_game(p, NULL);
    wr_prom_family(p, "warren_c_total", "counter", "c");
    wr_prom_sample(p, "warren_c_total", "result", "ok", 2);
}

static void test_labels(void **state)
{
    (void)state;
    char *t = render(labels_fn, NULL);
    assert_non_null(strstr(t, "# HELP warren_a_total a\n# TYPE warren_a_total counter\n"
                              "warren_a_total{node=\"7\",game=\"mud\"} 5\n"));
    assert_non_null(strstr(t, "warren_b{node=\"7\",game=\"arena\"} 1.5\n"));
    assert_non_null(strstr(t, "warren_c_total{node=\"7\",result=\"ok\"} 2\n"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_buckets),
        cmocka_unit_test(test_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
