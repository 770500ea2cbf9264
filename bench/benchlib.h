/* benchlib: the helpers the bench programs share (loadgen, mudbots):
 * latency histograms, growable buffers, error-code counters, the output
 * path of a libuv stream (try_write, then one write in flight), the mark
 * files and CPU clock of the measured window, flag parsing and the
 * RLIMIT_NOFILE raise, and the JSON result file.
 *
 * Header-only on purpose: the Makefile builds each bench/NAME.c (with its
 * parts bench/NAME_*.c) into its own binary, so a shared .c would need an
 * object rule. Everything here is `static` and marked BENCH_UNUSED, so a
 * program (or a part of one) that does not call a helper gets no warning;
 * -MMD makes the programs rebuild when this file changes.
 *
 * Define BENCH_NAME (the program's name, e.g. "loadgen") before including:
 * every message printed here starts with it. Helpers that fail on bad
 * input (flags, out of memory) print one line to stderr and exit(1). */
#ifndef WR_BENCHLIB_H
#define WR_BENCHLIB_H

#ifndef BENCH_NAME
#error "define BENCH_NAME before including benchlib.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <uv.h>

#include "common/addr.h"

#define BENCH_UNUSED __attribute__((unused))

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

/* Print "BENCH_NAME: @what" and exit(1). */
BENCH_UNUSED static void die(const char *what)
{
    fprintf(stderr, BENCH_NAME ": %s\n", what);
    exit(1);
}

/* ---- histogram ---------------------------------------------------------- */

/* A fixed log-linear histogram of microseconds: 128 sub-buckets per power
 * of two (< 0.8 % relative error), values clamped at 2^26 us (~67 s). No
 * allocation per sample. */
#define H_SUB_BITS 7
#define H_SUB (1u << H_SUB_BITS)    /* 128 */
#define H_MAX_US ((1ull << 26) - 1) /* ~67 s */
#define H_BUCKETS ((26 - H_SUB_BITS) * H_SUB + 2 * H_SUB)

struct hist {
    uint64_t count;
    uint64_t max_us;
    uint64_t sum_us;
    uint64_t b[H_BUCKETS];
};

BENCH_UNUSED static unsigned hist_bucket(uint64_t v)
{
    if (v < 2 * H_SUB)
        return (unsigned)v;
    unsigned k = 63u - (unsigned)__builtin_clzll(v); /* >= H_SUB_BITS + 1 */
    unsigned shift = k - H_SUB_BITS;
    return (shift + 1) * H_SUB + (unsigned)(v >> shift) - H_SUB;
}

/* The middle of bucket @b, in microseconds. */
BENCH_UNUSED static double hist_value(unsigned b)
{
    if (b < 2 * H_SUB)
        return b;
    unsigned shift = b / H_SUB - 1;
    uint64_t low = (uint64_t)(b % H_SUB + H_SUB) << shift;
    return (double)low + (double)(1ull << shift) / 2.0;
}

BENCH_UNUSED static void hist_add(struct hist *h, uint64_t us)
{
    if (us > h->max_us)
        h->max_us = us;
    h->sum_us += us;
    h->count++;
    h->b[hist_bucket(us > H_MAX_US ? H_MAX_US : us)]++;
}

/* The @p quantile (0..1) in milliseconds; 0 for an empty histogram. */
BENCH_UNUSED static double hist_quantile_ms(const struct hist *h, double p)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = (uint64_t)ceil(p * (double)h->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < H_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            double v = hist_value(i);
            if (v > (double)h->max_us)
                v = (double)h->max_us;
            return v / 1000.0;
        }
    }
    return (double)h->max_us / 1000.0;
}

/* ---- buffers, random numbers, code counters ----------------------------- */

/* A growable byte buffer; zero-initialised is empty. Dies when out of
 * memory. */
struct buf {
    char *base;
    size_t len, cap;
};

BENCH_UNUSED static void buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    char *p = realloc(b->base, cap);
    if (p == NULL)
        die("out of memory");
    b->base = p;
    b->cap = cap;
}

BENCH_UNUSED static void buf_append(struct buf *b, const void *data, size_t len)
{
    buf_reserve(b, len);
    memcpy(b->base + b->len, data, len);
    b->len += len;
}

BENCH_UNUSED static void buf_free(struct buf *b)
{
    free(b->base);
    b->base = NULL;
    b->len = b->cap = 0;
}

/* xorshift64* on *@state (which must not be 0): masks, jitter and choices
 * only need to be unpredictable to the server, not cryptographically. */
BENCH_UNUSED static uint64_t bench_rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Counts per code (error message codes, close reasons), at most
 * BENCH_MAX_CODES distinct ones: the last slot becomes "(other)". */
#define BENCH_MAX_CODES 32

struct code_count {
    char code[32];
    uint64_t n;
};

/* Count one @code in @tab, which holds *@n entries (at most
 * BENCH_MAX_CODES). */
BENCH_UNUSED static void count_code(struct code_count *tab, uint32_t *n, const char *code)
{
    for (uint32_t i = 0; i < *n; i++) {
        if (strcmp(tab[i].code, code) == 0) {
            tab[i].n++;
            return;
        }
    }
    if (*n == BENCH_MAX_CODES)
        code = "(other)";
    else
        (*n)++;
    struct code_count *e = &tab[*n - 1];
    if (strcmp(e->code, code) != 0)
        snprintf(e->code, sizeof e->code, "%s", code);
    e->n++;
}

BENCH_UNUSED static uint64_t codes_total(const struct code_count *tab, uint32_t n)
{
    uint64_t t = 0;
    for (uint32_t i = 0; i < n; i++)
        t += tab[i].n;
    return t;
}

/* Print " code=N" for each entry (no newline). */
BENCH_UNUSED static void codes_print(const struct code_count *tab, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        printf(" %s=%" PRIu64, tab[i].code, tab[i].n);
}

/* A new JSON object {code: N, ...}; the caller owns it. */
BENCH_UNUSED static json_t *codes_json(const struct code_count *tab, uint32_t n)
{
    json_t *o = json_object();
    for (uint32_t i = 0; i < n; i++)
        json_object_set_new(o, tab[i].code, json_integer((json_int_t)tab[i].n));
    return o;
}

/* ---- output path -------------------------------------------------------- */

/* The output side of one libuv stream, embedded in the connection: bytes
 * go straight to the socket when nothing is queued, else (or what the
 * kernel did not take) behind the one write in flight. Zero-initialised is
 * idle; the owner sets wreq.data for its write callback and frees out and
 * wbuf in its close callback. */
struct bench_out {
    uv_write_t wreq;
    bool writing;    /* wreq in flight with wbuf */
    struct buf out;  /* output waiting for the write in flight */
    struct buf wbuf; /* output of the write in flight */
};

/* Write what is queued in @w to @s, @cb on completion. Returns 0, or a
 * negative libuv error (then @cb never runs and the caller closes). */
BENCH_UNUSED static int bench_out_start(struct bench_out *w, uv_stream_t *s, uv_write_cb cb)
{
    struct buf tmp = w->wbuf;
    w->wbuf = w->out;
    w->out = tmp;
    w->out.len = 0;
    uv_buf_t b = uv_buf_init(w->wbuf.base, (unsigned)w->wbuf.len);
    int r = uv_write(&w->wreq, s, &b, 1, cb);
    if (r < 0)
        return r;
    w->writing = true;
    return 0;
}

/* In the write callback: the write in flight is over. Returns whether
 * more is queued (for bench_out_start). */
BENCH_UNUSED static bool bench_out_done(struct bench_out *w)
{
    w->writing = false;
    w->wbuf.len = 0;
    return w->out.len > 0;
}

/* Send @len bytes of @data on @s through @w (@cb: the owner's write
 * callback). Returns 0; 1 if queueing would take @w's queue past @max
 * bytes (0: no limit), with nothing queued; or a negative libuv error. On
 * anything but 0 the caller closes the stream. */
BENCH_UNUSED static int bench_out_write(struct bench_out *w, uv_stream_t *s, const void *data,
                                        size_t len, size_t max, uv_write_cb cb)
{
    const char *p = data;
    if (!w->writing && w->out.len == 0) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
        int r = uv_try_write(s, &b, 1);
        if (r == (int)len)
            return 0;
        if (r < 0 && r != UV_EAGAIN)
            return r;
        if (r > 0) {
            p += r;
            len -= (size_t)r;
        }
    }
    if (max != 0 && w->out.len + len > max)
        return 1;
    buf_append(&w->out, p, len);
    return w->writing ? 0 : bench_out_start(w, s, cb);
}

/* Free @w's buffers (in the stream's close callback). */
BENCH_UNUSED static void bench_out_free(struct bench_out *w)
{
    buf_free(&w->out);
    buf_free(&w->wbuf);
}

/* ---- the measured window ------------------------------------------------ */

/* This process's CPU time (user + system), in seconds. */
BENCH_UNUSED static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* VmRSS of process @pid in KiB (from /proc/PID/status), or -1. */
BENCH_UNUSED static long proc_rss_kb(int pid)
{
    if (pid <= 0)
        return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* Create @dir/@name holding the wall clock in ns (bench/run.sh times its
 * CPU samples and the leader kill with these); nothing when @dir is NULL
 * or the file cannot be written. */
BENCH_UNUSED static void write_mark(const char *dir, const char *name)
{
    if (dir == NULL)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(f, "%lld%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
    fclose(f);
}

/* ---- flags -------------------------------------------------------------- */

/* In main's loop over argv (`a` the flag, `v` the next word or NULL, `i`
 * the index): take `v` as the flag's value, or fail. */
#define BENCH_NEEDV()                                                                              \
    do {                                                                                           \
        if (v == NULL) {                                                                           \
            fprintf(stderr, BENCH_NAME ": %s needs a value\n", a);                                 \
            return 1;                                                                              \
        }                                                                                          \
        i++;                                                                                       \
    } while (0)

/* @v as a number in [@lo, @hi]; exits with a message naming @flag if not. */
BENCH_UNUSED static double parse_num(const char *flag, const char *v, double lo, double hi)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || *end != '\0' || end == v || !(d >= lo && d <= hi)) {
        fprintf(stderr, BENCH_NAME ": %s: expected a number in [%g, %g], got '%s'\n", flag, lo, hi,
                v);
        exit(1);
    }
    return d;
}

/* Call @fn(@ctx, token) for each comma-separated token of @list, in order. */
BENCH_UNUSED static void bench_split(const char *list, void (*fn)(void *ctx, const char *tok),
                                     void *ctx)
{
    char *copy = strdup(list);
    char *save = NULL;
    if (copy == NULL)
        die("out of memory");
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
        fn(ctx, tok);
    free(copy);
}

/* One --nodes entry: @tok (IP:PORT) into @addr, and its text into @text;
 * exits with wr_addr_parse's message if it is not an address. */
BENCH_UNUSED static void bench_parse_node(const char *tok, struct sockaddr_in *addr, char *text,
                                          size_t text_len)
{
    char err[128];
    if (wr_addr_parse(tok, addr, err, sizeof err) != 0) {
        fprintf(stderr, BENCH_NAME ": --nodes: %s\n", err);
        exit(1);
    }
    snprintf(text, text_len, "%s", tok);
}

/* Raise the soft RLIMIT_NOFILE to @want: to @want itself (and the hard
 * limit with it, which only root may), else as far as the hard limit.
 * Returns the soft limit it ends with (RLIM_INFINITY when it cannot be
 * read); the caller decides what too few means. */
BENCH_UNUSED static rlim_t bench_raise_nofile(rlim_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return RLIM_INFINITY;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= want)
        return rl.rlim_cur;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        rl.rlim_max = want; /* only root may; tried below */
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        return want;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

/* ---- results ------------------------------------------------------------ */

/* {"cpu_pct": @cpu_pct, "maxrss_kb": @maxrss_kb}: the load generator's own
 * share of the machine, which says whether it, not the cluster, was the
 * limit. A new object; the caller owns it. */
BENCH_UNUSED static json_t *bench_self_json(double cpu_pct, long maxrss_kb)
{
    return json_pack("{s:f, s:I}", "cpu_pct", cpu_pct, "maxrss_kb", (json_int_t)maxrss_kb);
}

/* Write @j (compact, 6 significant digits for reals) to @path, say so on
 * stderr if it cannot, and drop the reference to @j. */
BENCH_UNUSED static void bench_json_write(json_t *j, const char *path)
{
    if (json_dump_file(j, path, JSON_COMPACT | JSON_REAL_PRECISION(6)) != 0)
        fprintf(stderr, BENCH_NAME ": cannot write %s\n", path);
    json_decref(j);
}

#endif /* WR_BENCHLIB_H */
