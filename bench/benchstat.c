/* benchstat: fold the per-run records bench/run.sh collects into medians.
 *
 *   benchstat RECORDS.jsonl OUT.json
 *
 * RECORDS.jsonl holds one JSON object per line, one per loadgen run:
 *   {"bench":"a","desc":"...","run":1,"rc":0,"result":{loadgen --json},
 *    "procs":[{"name":"node1","cpu_pct":12.5,"rss_end_kb":40000},...]}
 * Every numeric leaf of "result" (arrays skipped) and every process's
 * cpu_pct / rss_end_kb gets the median over a bench's runs, and so does
 * node_cpu_us_per_move: the nodes' CPU summed over the measured window
 * (sum of their cpu_pct) per acknowledged move, computed per run. OUT.json is
 * {"generated","runs":[records],"medians":{bench:{"desc","runs",path:median}}};
 * a table of the main medians goes to stdout: one for the arena (loadgen
 * records), one for the MUD (mudbots records, told apart by their
 * commands_per_sec). Written in C with jansson
 * (already a build dependency) so run.sh needs neither jq nor python. */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BENCHES 32
#define MAX_RUNS 256
#define MAX_LINE (16u << 20)

struct bench {
    char name[32];
    const char *desc;
    json_t *runs[MAX_RUNS];
    size_t n;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Collect numeric leaves of @j under @prefix into @acc (path -> array). */
static void flatten(json_t *acc, const char *prefix, json_t *j)
{
    if (json_is_number(j)) {
        json_t *arr = json_object_get(acc, prefix);
        if (arr == NULL) {
            arr = json_array();
            json_object_set_new(acc, prefix, arr);
        }
        json_array_append_new(arr, json_real(json_number_value(j)));
        return;
    }
    if (!json_is_object(j))
        return;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k);
        flatten(acc, path, v);
    }
}

static json_t *bench_medians(const struct bench *b)
{
    json_t *acc = json_object();
    for (size_t i = 0; i < b->n; i++) {
        json_t *result = json_object_get(b->runs[i], "result");
        flatten(acc, "", result);
        size_t k;
        json_t *p;
        double node_pct = 0;
        bool have_nodes = false;
        json_array_foreach(json_object_get(b->runs[i], "procs"), k, p)
        {
            const char *name = json_string_value(json_object_get(p, "name"));
            json_t *cpu = json_object_get(p, "cpu_pct");
            if (name != NULL && strncmp(name, "node", 4) == 0 && json_is_number(cpu)) {
                node_pct += json_number_value(cpu);
                have_nodes = true;
            }
        }
        json_t *mps = json_object_get(result, "moves_per_sec");
        if (have_nodes && json_is_number(mps) && json_number_value(mps) > 0) {
            /* cpu_pct is % of one core: pct / 100 core-seconds per second */
            json_t *us = json_real(node_pct / 100.0 * 1e6 / json_number_value(mps));
            flatten(acc, "node_cpu_us_per_move", us);
            json_decref(us);
        }
        json_array_foreach(json_object_get(b->runs[i], "procs"), k, p)
        {
            const char *name = json_string_value(json_object_get(p, "name"));
            if (name == NULL)
                continue;
            char path[96];
            snprintf(path, sizeof path, "cpu_pct.%s", name);
            flatten(acc, path, json_object_get(p, "cpu_pct"));
            snprintf(path, sizeof path, "rss_mb.%s", name);
            json_t *rss = json_object_get(p, "rss_end_kb");
            if (json_is_number(rss)) {
                json_t *mb = json_real(json_number_value(rss) / 1024.0);
                flatten(acc, path, mb);
                json_decref(mb);
            }
        }
    }
    json_t *out = json_object();
    json_object_set_new(out, "desc", json_string(b->desc ? b->desc : ""));
    json_object_set_new(out, "runs", json_integer((json_int_t)b->n));
    const char *k;
    json_t *arr;
    json_object_foreach(acc, k, arr)
    {
        size_t n = json_array_size(arr);
        double *v = calloc(n, sizeof *v);
        if (v == NULL)
            exit(1);
        for (size_t i = 0; i < n; i++)
            v[i] = json_real_value(json_array_get(arr, i));
        json_object_set_new(out, k, json_real(median(v, n)));
        free(v);
    }
    json_decref(acc);
    return out;
}

static double num(json_t *m, const char *key)
{
    json_t *v = json_object_get(m, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "-" for a missing value, else @v with @prec decimals. */
static void cell(char *out, size_t len, int prec, double v)
{
    if (isnan(v))
        snprintf(out, len, "-");
    else
        snprintf(out, len, "%.*f", prec, v);
}

static void print_arena_table(json_t *medians, struct bench *b, size_t nb);

/* A MUD run (bench/mudbots.c) rather than an arena run (loadgen). */
static bool is_mud(json_t *m)
{
    return json_object_get(m, "commands_per_sec") != NULL;
}

/* The MUD runs: latency per command kind, node CPU per command, memory
 * per character, login. */
static void print_mud_table(json_t *medians, struct bench *b, size_t nb)
{
    size_t n = 0;
    for (size_t i = 0; i < nb; i++)
        n += is_mud(json_object_get(medians, b[i].name));
    if (n == 0)
        return;
    printf("\nMUD medians over runs (latency ms: write of the command to its prompt; "
           "cpu us = node CPU, all nodes, per command)\n");
    printf("%-12s %4s %5s %7s %15s %15s %15s %8s %7s %5s %6s %8s %8s %7s\n", "bench", "runs",
           "bots", "cmds/s", "look p50/p99", "move p50/p99", "say p50/p99", "echo p99", "cpu us",
           "errs", "tmout", "B/char", "login/s", "lgn p99");
    for (size_t i = 0; i < nb; i++) {
        json_t *m = json_object_get(medians, b[i].name);
        if (!is_mud(m))
            continue;
        char c[16][32];
        cell(c[0], sizeof c[0], 0, num(m, "runs"));
        cell(c[1], sizeof c[1], 0, num(m, "bots"));
        cell(c[2], sizeof c[2], 0, num(m, "commands_per_sec"));
        const char *kinds[3] = {"look", "move", "say"};
        for (int k = 0; k < 3; k++) {
            char key[32], a[16], z[16];
            snprintf(key, sizeof key, "%s.p50", kinds[k]);
            cell(a, sizeof a, 1, num(m, key));
            snprintf(key, sizeof key, "%s.p99", kinds[k]);
            cell(z, sizeof z, 1, num(m, key));
            snprintf(c[3 + k], sizeof c[3 + k], "%s/%s", a, z);
        }
        cell(c[6], sizeof c[6], 1, num(m, "say_echo.p99"));
        cell(c[7], sizeof c[7], 0, num(m, "node_cpu_us_per_cmd"));
        cell(c[8], sizeof c[8], 0, num(m, "errors_total"));
        cell(c[9], sizeof c[9], 0, num(m, "timeouts"));
        cell(c[10], sizeof c[10], 0, num(m, "bytes_per_char"));
        cell(c[11], sizeof c[11], 1, num(m, "logins_per_sec"));
        cell(c[12], sizeof c[12], 0, num(m, "login_ms.p99"));
        printf("%-12s %4s %5s %7s %15s %15s %15s %8s %7s %5s %6s %8s %8s %7s\n", b[i].name, c[0],
               c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12]);
    }
}

/* The MUD's combat runs (mudbots --mode combat): rounds, the attack
 * command's latency, node CPU per round. */
static void print_combat_table(json_t *medians, struct bench *b, size_t nb)
{
    size_t n = 0;
    for (size_t i = 0; i < nb; i++)
        n += json_object_get(json_object_get(medians, b[i].name), "rounds_per_sec") != NULL;
    if (n == 0)
        return;
    printf("\nMUD combat medians over runs (kill: write of the attack to its prompt, ms; "
           "cpu us = node CPU, all nodes, per round)\n");
    printf("%-12s %4s %5s %9s %15s %12s %11s %10s\n", "bench", "runs", "bots", "rounds/s",
           "kill p50/p99", "cpu us/round", "npc deaths", "refused");
    for (size_t i = 0; i < nb; i++) {
        json_t *m = json_object_get(medians, b[i].name);
        if (json_object_get(m, "rounds_per_sec") == NULL)
            continue;
        char c[8][32], a[16], z[16];
        cell(c[0], sizeof c[0], 0, num(m, "runs"));
        cell(c[1], sizeof c[1], 0, num(m, "bots"));
        cell(c[2], sizeof c[2], 1, num(m, "rounds_per_sec"));
        cell(a, sizeof a, 1, num(m, "kill.p50"));
        cell(z, sizeof z, 1, num(m, "kill.p99"));
        snprintf(c[3], sizeof c[3], "%s/%s", a, z);
        cell(c[4], sizeof c[4], 0, num(m, "node_cpu_us_per_round"));
        cell(c[5], sizeof c[5], 0, num(m, "npc_deaths"));
        cell(c[6], sizeof c[6], 0, num(m, "kills_refused"));
        printf("%-12s %4s %5s %9s %15s %12s %11s %10s\n", b[i].name, c[0], c[1], c[2], c[3], c[4],
               c[5], c[6]);
    }
}

static void print_table(json_t *medians, struct bench *b, size_t nb)
{
    size_t arena = 0;
    for (size_t i = 0; i < nb; i++)
        arena += !is_mud(json_object_get(medians, b[i].name));
    if (arena > 0)
        print_arena_table(medians, b, nb);
    print_mud_table(medians, b, nb);
    print_combat_table(medians, b, nb);
    printf("\n");
    for (size_t i = 0; i < nb; i++)
        printf("  %-11s %s\n", b[i].name, b[i].desc ? b[i].desc : "");
}

static void print_arena_table(json_t *medians, struct bench *b, size_t nb)
{
    printf("\nMedians over runs (latency in ms; cpu%% = share of one core during the "
           "measured window)\n");
    printf("(p50..max: own moves; oth p99: a move's send to another client seeing it; us/move: "
           "node CPU, all nodes, per acknowledged move)\n");
    printf("%-11s %5s %6s %9s %7s %7s %7s %8s %8s %8s %8s %6s %5s %5s %7s %5s  %s\n", "bench",
           "runs", "clients", "moves/s", "p50", "p90", "p99", "max", "oth p99", "frames/s",
           "us/move", "thrott", "errs", "disc", "gap_ms", "lost",
           "cpu% nodes / loadgen, rss MB nodes");
    for (size_t i = 0; i < nb; i++) {
        json_t *m = json_object_get(medians, b[i].name);
        if (is_mud(m))
            continue;
        char c[16][32];
        cell(c[0], sizeof c[0], 0, num(m, "runs"));
        cell(c[1], sizeof c[1], 0, num(m, "clients"));
        cell(c[2], sizeof c[2], 0, num(m, "moves_per_sec"));
        cell(c[3], sizeof c[3], 2, num(m, "latency_ms.p50"));
        cell(c[4], sizeof c[4], 2, num(m, "latency_ms.p90"));
        cell(c[5], sizeof c[5], 2, num(m, "latency_ms.p99"));
        cell(c[6], sizeof c[6], 1, num(m, "latency_ms.max"));
        cell(c[7], sizeof c[7], 0, num(m, "frames_in_per_sec"));
        cell(c[8], sizeof c[8], 0, num(m, "throttled"));
        cell(c[9], sizeof c[9], 0, num(m, "errors_total"));
        cell(c[10], sizeof c[10], 0, num(m, "disconnects"));
        cell(c[11], sizeof c[11], 0, num(m, "max_ack_gap_ms"));
        cell(c[12], sizeof c[12], 0, num(m, "acked_lost"));
        cell(c[13], sizeof c[13], 2, num(m, "others_ms.p99"));
        cell(c[14], sizeof c[14], 0, num(m, "node_cpu_us_per_move"));
        char procs[256] = "";
        size_t pl = 0;
        for (int n = 1; n <= 9; n++) {
            char key[32];
            snprintf(key, sizeof key, "cpu_pct.node%d", n);
            double cpu = num(m, key);
            snprintf(key, sizeof key, "rss_mb.node%d", n);
            double rss = num(m, key);
            if (isnan(cpu) && isnan(rss))
                continue;
            char cc[16], rr[16];
            cell(cc, sizeof cc, 0, cpu);
            cell(rr, sizeof rr, 0, rss);
            pl += (size_t)snprintf(procs + pl, sizeof procs - pl, "%sn%d %s%%/%sMB", pl ? " " : "",
                                   n, cc, rr);
            if (pl >= sizeof procs)
                break;
        }
        if (pl < sizeof procs) {
            char lc[16];
            cell(lc, sizeof lc, 0, num(m, "loadgen.cpu_pct"));
            snprintf(procs + pl, sizeof procs - pl, " | lg %s%%", lc);
        }
        printf("%-11s %5s %6s %9s %7s %7s %7s %8s %8s %8s %8s %6s %5s %5s %7s %5s  %s\n", b[i].name,
               c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[13], c[7], c[14], c[8], c[9], c[10],
               c[11], c[12], procs);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: benchstat RECORDS.jsonl OUT.json\n");
        return 1;
    }
    FILE *f = fopen(argv[1], "r");
    if (f == NULL) {
        perror(argv[1]);
        return 1;
    }
    static struct bench benches[MAX_BENCHES];
    size_t nb = 0;
    json_t *runs = json_array();
    char *line = malloc(MAX_LINE);
    if (line == NULL)
        return 1;
    while (fgets(line, (int)MAX_LINE, f) != NULL) {
        if (line[0] == '\n' || line[0] == '\0')
            continue;
        json_error_t err;
        json_t *rec = json_loads(line, 0, &err);
        if (rec == NULL) {
            fprintf(stderr, "benchstat: %s:%d: %s\n", argv[1], err.line, err.text);
            continue;
        }
        json_array_append_new(runs, rec);
        const char *name = json_string_value(json_object_get(rec, "bench"));
        if (name == NULL)
            continue;
        size_t i = 0;
        while (i < nb && strcmp(benches[i].name, name) != 0)
            i++;
        if (i == nb) {
            if (nb == MAX_BENCHES)
                continue;
            snprintf(benches[nb].name, sizeof benches[nb].name, "%s", name);
            benches[nb].desc = json_string_value(json_object_get(rec, "desc"));
            nb++;
        }
        if (benches[i].n < MAX_RUNS)
            benches[i].runs[benches[i].n++] = rec;
    }
    fclose(f);
    free(line);

    json_t *medians = json_object();
    for (size_t i = 0; i < nb; i++)
        json_object_set_new(medians, benches[i].name, bench_medians(&benches[i]));
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_t *out = json_pack("{s:s, s:O, s:O}", "generated", when, "medians", medians, "runs", runs);
    int rc = json_dump_file(out, argv[2], JSON_INDENT(1) | JSON_REAL_PRECISION(6)) == 0 ? 0 : 1;
    if (rc != 0)
        fprintf(stderr, "benchstat: cannot write %s\n", argv[2]);
    print_table(medians, benches, nb);
    json_decref(out);
    json_decref(medians);
    json_decref(runs);
    return rc;
}
