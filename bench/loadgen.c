/* loadgen: a single-threaded libuv load generator for Warren (bench/README.md).
 *
 * It opens N WebSocket clients spread round-robin over one or more nodes,
 * joins each under a unique name, then sends moves at a fixed rate per
 * client and measures, per move, the time from send to acknowledgement (an
 * `update` carrying the client's own player with seq >= the move's seq,
 * docs/protocol.md). Phases, driven by one 1 ms timer:
 *
 *   JOIN    connect (at most --connect-parallel handshakes at once), upgrade,
 *           join; ends when every client joined or failed, or at
 *           --join-timeout.
 *   RUN     send moves: --warmup seconds (not measured), then --duration
 *           seconds (measured: only moves *sent* in this window are counted).
 *   DRAIN   no more sends; wait up to --drain seconds for the acks in flight.
 *   VERIFY  (--verify-after) fetch /api/state from --verify-node and check
 *           that no acknowledged move is missing; clients stay connected so
 *           their players are still in the world.
 *   LEAVE   send `leave` on every socket and wait (up to 2 s) for the server
 *           to close it: a socket merely closed leaves its player in the
 *           world, disconnected, for the server's grace period, and closing
 *           with unread input would send an RST that can lose the leave.
 *   DONE    close what is left, print the summary, write --json.
 *
 * Design choices (measured on the 2-core bench machine, see --bench-parse):
 *
 * - WebSocket framing is hand-written, not wslay. Under the default load
 *   every client receives every player's every move (5000 moves/s x 1000
 *   clients, ~300 MB/s of update frames into this one thread). wslay's event
 *   API pulls input through a 4 KiB buffer with a callback per read,
 *   validates UTF-8 one byte at a time, and copies every message twice
 *   (a malloc'd chunk, then a malloc'd flattened message). The client side
 *   of RFC 6455 that we need is small (unmasked server frames in, masked
 *   frames out, close/ping/pong, continuation), so frames are parsed in
 *   place in the read buffer with no copy in the common case.
 * - `update` and `welcome` frames are matched with a small scanner, not
 *   jansson: the server writes both compactly in a fixed key order
 *   (src/node/node.c), and the scanner only needs "is my id in this frame,
 *   and with which seq". `--bench-parse` measures the two on a 333-player
 *   update frame: the scanner (memmem for `{"id":ID,`) is about two orders of
 *   magnitude faster than json_loadb + a walk over the array, which would
 *   need more than this whole core at the default load. Any frame that does
 *   not start with the expected compact prefix falls back to jansson, so a
 *   format change costs speed, not correctness; `--parser jansson` forces
 *   jansson everywhere.
 * - Updates come as binary frames by default (`--encoding bin`: the join
 *   carries "enc":"bin", docs/protocol.md): fixed-width records decoded
 *   with arena/arena_wire.h, the server's own encoder's counterpart. JSON
 *   (`--encoding json`, or a server that ignores the field) still works.
 * - Others' updates: each client watches one other client's player (the
 *   next client's, so usually on another node) and measures, for every
 *   move of it, the time from its send to the first frame showing it (or a
 *   later seq): the fan-out latency, broadcast period included.
 * - No allocation per sample: latencies go into a fixed log-linear
 *   histogram (microseconds, 128 sub-buckets per power of two: < 0.8 %
 *   relative error, up to 2^26 us = 67 s); moves in flight are a fixed ring
 *   per client.
 *
 * Every loop is bounded by a buffer length, the client count or a deadline;
 * the run ends at join + warmup + duration + drain (+ verify, bounded by
 * its own deadline) even if acks are missing.
 *
 * This file holds the options, the clock and its phases, the verification
 * and the report; a client's socket (connect, upgrade, framing, reading the
 * server's messages) is in loadgen_ws.c, and what the two share in
 * loadgen.h. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "common/addr.h"
#include "loadgen.h"

/* ---- the clock ---------------------------------------------------------- */

static const char *const DIRS[4] = {"up", "down", "left", "right"};

static void send_move(struct client *c, uint64_t now, bool measured)
{
    struct lg *lg = c->lg;
    if (c->rcount >= lg->o.window) {
        if (measured)
            lg->throttled++;
        return;
    }
    uint32_t seq = ++c->last_seq;
    struct inflight *f = &c->ring[(c->rhead + c->rcount) % LG_MAX_WINDOW];
    f->seq = seq;
    f->sent_ns = now;
    c->rcount++;
    c->sent_seq[seq % LG_HIST] = seq;
    c->sent_at[seq % LG_HIST] = now;
    char msg[80];
    int n = snprintf(msg, sizeof msg, "{\"t\":\"move\",\"dir\":\"%s\",\"seq\":%" PRIu32 "}",
                     DIRS[bench_rng_next(&lg->rng) & 3], seq);
    ws_send_text(c, msg, (size_t)n);
    lg->moves_sent_total++;
    if (measured)
        lg->moves_sent++;
}

/* Event j of the run is client j % N at t0 + j / (rate * N): every client
 * sends at the same rate, the clients' phases evenly spread over a period. */
static void run_events(struct lg *lg, uint64_t now)
{
    double per_ns = lg->o.rate * (double)lg->o.clients / 1e9;
    uint64_t until = lg->m_end < now ? lg->m_end : now;
    uint64_t due = (uint64_t)((double)(until - lg->t0) * per_ns);
    /* Catch up at most max(one period, 50 ms) of sends in one tick: if this
     * loop fell further behind, skip the excess (counted) rather than send
     * a burst the server's rate limit would punish. */
    uint64_t horizon = (uint64_t)(per_ns * 50e6);
    if (horizon < lg->o.clients)
        horizon = lg->o.clients;
    if (due > lg->next_event + horizon) {
        lg->events_skipped += due - lg->next_event - horizon;
        lg->next_event = due - horizon;
    }
    for (; lg->next_event < due; lg->next_event++) {
        struct client *c = &lg->clients[lg->next_event % lg->o.clients];
        if (c->state != C_JOINED)
            continue;
        uint64_t sched = lg->t0 + (uint64_t)((double)lg->next_event / per_ns);
        if (in_window(lg, sched))
            hist_add(&lg->lag, now > sched ? (now - sched) / 1000 : 0);
        /* Sends are counted by when they happen, like their acks. */
        send_move(c, now, in_window(lg, now));
    }
}

static void finish(struct lg *lg);
static void close_all(struct lg *lg);

static void on_tick(uv_timer_t *t)
{
    struct lg *lg = t->data;
    uint64_t now = uv_hrtime();
    if (lg->interrupted && lg->phase < PH_LEAVE) {
        finish(lg);
        return;
    }
    switch (lg->phase) {
    case PH_JOIN: {
        uint32_t started = 0;
        while (lg->next_connect < lg->o.clients && lg->handshaking < lg->o.connect_parallel &&
               started < 64) {
            client_start(&lg->clients[lg->next_connect++]);
            started++;
        }
        bool all = lg->next_connect == lg->o.clients && lg->handshaking == 0;
        if (!all && now < lg->join_deadline)
            return;
        lg->t0 = now;
        lg->join_ns = now - lg->start_ns;
        lg->m_start = now + (uint64_t)(lg->o.warmup * 1e9);
        lg->m_end = lg->m_start + (uint64_t)(lg->o.duration * 1e9);
        lg->phase = PH_RUN;
        if (!lg->o.quiet)
            fprintf(stderr, "loadgen: %u/%u clients joined in %.2f s; running\n", lg->joined,
                    lg->o.clients, (double)lg->join_ns / 1e9);
        return;
    }
    case PH_RUN:
        if (!lg->marked_start && now >= lg->m_start) {
            lg->marked_start = true;
            lg->cpu_start_s = cpu_seconds();
            lg->cpu_start_ns = now;
            write_mark(lg->o.mark_dir, "start");
        }
        run_events(lg, now);
        if (now >= lg->m_end) {
            lg->cpu_end_s = cpu_seconds();
            lg->cpu_end_ns = now;
            write_mark(lg->o.mark_dir, "end");
            lg->phase = PH_DRAIN;
            lg->drain_deadline = now + (uint64_t)(lg->o.drain * 1e9);
        }
        return;
    case PH_DRAIN: {
        bool pending = false;
        for (uint32_t i = 0; i < lg->o.clients && !pending; i++)
            pending = lg->clients[i].state == C_JOINED && lg->clients[i].rcount > 0;
        if (!pending || now >= lg->drain_deadline)
            finish(lg);
        return;
    }
    case PH_LEAVE: {
        bool open = false;
        for (uint32_t i = 0; i < lg->o.clients && !open; i++)
            open = lg->clients[i].state == C_JOINED;
        if (!open || now >= lg->leave_deadline)
            close_all(lg);
        return;
    }
    case PH_DONE:
        return;
    }
}

/* ---- verification (blocking; runs once, after the drain) ----------------- */

/* GET http://@addr@path into @body (malloc'd, NUL-terminated). Returns the
 * HTTP status, or -1 on a network error or when @deadline_ns (CLOCK_MONOTONIC
 * ns, uv_hrtime) passes. */
static int http_get(const struct sockaddr_in *addr, const char *host, const char *path,
                    uint64_t deadline_ns, char **body)
{
    *body = NULL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct buf in = {0};
    int status = -1;
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) < 0 && errno != EINPROGRESS)
        goto out;
    char req[512];
    int rl = snprintf(req, sizeof req,
                      "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
    size_t sent = 0;
    bool eof = false;
    while (!eof) {
        uint64_t now = uv_hrtime();
        if (now >= deadline_ns)
            goto out;
        struct pollfd pfd = {fd, (short)(sent < (size_t)rl ? POLLOUT : POLLIN), 0};
        int timeout = (int)((deadline_ns - now) / NS_PER_MS) + 1;
        int pr = poll(&pfd, 1, timeout);
        if (pr < 0 && errno != EINTR)
            goto out;
        if (pr <= 0)
            continue;
        if (sent < (size_t)rl) {
            ssize_t w = send(fd, req + sent, (size_t)rl - sent, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                goto out;
            if (w > 0)
                sent += (size_t)w;
            continue;
        }
        buf_reserve(&in, 65536);
        ssize_t r = recv(fd, in.base + in.len, in.cap - in.len - 1, 0);
        if (r < 0 && errno != EAGAIN && errno != EINTR)
            goto out;
        if (r == 0)
            eof = true;
        if (r > 0)
            in.len += (size_t)r;
        if (in.len > (256u << 20))
            goto out;
        /* Stop at Content-Length without waiting for the close. */
        const char *eoh = in.len ? memmem(in.base, in.len, "\r\n\r\n", 4) : NULL;
        if (eoh != NULL) {
            const char *cl = find_header(in.base, (size_t)(eoh - in.base) + 2, "Content-Length");
            if (cl != NULL && in.len >= (size_t)(eoh - in.base) + 4 + strtoul(cl, NULL, 10))
                eof = true;
        }
    }
    buf_reserve(&in, 1);
    in.base[in.len] = '\0';
    const char *eoh = strstr(in.base, "\r\n\r\n");
    if (eoh == NULL || in.len < 12 || strncmp(in.base, "HTTP/1.", 7) != 0)
        goto out;
    status = atoi(in.base + 9);
    *body = strdup(eoh + 4);
out:
    close(fd);
    buf_free(&in);
    return status;
}

struct idseq {
    uint32_t id, seq;
};

static int idseq_cmp(const void *a, const void *b)
{
    const struct idseq *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Compare every client's highest acked seq with /api/state on the verify
 * node; retry (bounded) while the node catches up. */
static void verify(struct lg *lg)
{
    struct sockaddr_in addr;
    char err[128];
    lg->verify_done = true;
    if (wr_addr_parse(lg->o.verify_node, &addr, err, sizeof err) != 0) {
        snprintf(lg->verify_error, sizeof lg->verify_error, "--verify-node: %s", err);
        return;
    }
    uint64_t deadline = uv_hrtime() + (uint64_t)(lg->o.verify_timeout * 1e9);
    bool ready = false;
    while (!ready && uv_hrtime() < deadline) {
        char *body = NULL;
        ready = http_get(&addr, lg->o.verify_node, "/readyz", deadline, &body) == 200;
        free(body);
        if (!ready)
            usleep(100000);
    }
    if (!ready) {
        snprintf(lg->verify_error, sizeof lg->verify_error, "%s never became ready",
                 lg->o.verify_node);
        return;
    }
    for (;;) {
        lg->verify_attempts++;
        char *body = NULL;
        int st = http_get(&addr, lg->o.verify_node, "/api/state", deadline, &body);
        json_t *state = st == 200 ? json_loads(body, 0, NULL) : NULL;
        free(body);
        json_t *players = json_object_get(state, "players");
        if (!json_is_array(players)) {
            json_decref(state);
            snprintf(lg->verify_error, sizeof lg->verify_error,
                     "GET /api/state on %s failed (status %d)", lg->o.verify_node, st);
            if (uv_hrtime() >= deadline)
                return;
            usleep(200000);
            continue;
        }
        size_t np = json_array_size(players);
        struct idseq *tab = calloc(np + 1, sizeof *tab);
        if (tab == NULL)
            die("out of memory");
        for (size_t i = 0; i < np; i++) {
            json_t *p = json_array_get(players, i);
            tab[i].id = (uint32_t)json_integer_value(json_object_get(p, "id"));
            tab[i].seq = (uint32_t)json_integer_value(json_object_get(p, "seq"));
        }
        json_decref(state);
        qsort(tab, np, sizeof *tab, idseq_cmp);
        uint32_t checked = 0, lost = 0;
        for (uint32_t i = 0; i < lg->o.clients; i++) {
            const struct client *c = &lg->clients[i];
            if (!c->was_joined || c->acked_seq == 0)
                continue;
            checked++;
            struct idseq key = {c->player_id, 0};
            const struct idseq *f = bsearch(&key, tab, np, sizeof *tab, idseq_cmp);
            if (f == NULL || f->seq < c->acked_seq)
                lost++;
        }
        free(tab);
        lg->verify_checked = checked;
        lg->acked_lost = lost;
        lg->verify_ok = true;
        lg->verify_error[0] = '\0';
        if (lost == 0 || uv_hrtime() >= deadline)
            return;
        usleep(250000);
    }
}

static void finish(struct lg *lg)
{
    if (lg->phase >= PH_LEAVE)
        return;
    if (lg->phase == PH_RUN && lg->marked_start)
        write_mark(lg->o.mark_dir, "end");
    lg->phase = PH_LEAVE;
    for (uint32_t i = 0; i < lg->o.clients; i++)
        if (lg->clients[i].state == C_JOINED)
            lg->unacked_at_end += lg->clients[i].rcount;
    for (uint32_t k = 0; k < lg->n_nodes; k++)
        lg->nodes[k].survived = lg->nodes[k].open > 0;
    if (lg->o.verify && lg->o.verify_node != NULL && !lg->interrupted)
        verify(lg);
    /* Leave explicitly (see LEAVE above); unjoined sockets just close. */
    static const char leave[] = "{\"t\":\"leave\"}";
    for (uint32_t i = 0; i < lg->o.clients; i++) {
        if (lg->clients[i].state == C_JOINED)
            ws_send_text(&lg->clients[i], leave, sizeof leave - 1);
        else
            client_close(&lg->clients[i], false);
    }
    lg->leave_deadline = uv_hrtime() + 2 * NS_PER_S;
    if (lg->interrupted)
        close_all(lg);
}

static void close_all(struct lg *lg)
{
    if (lg->phase == PH_DONE)
        return;
    lg->phase = PH_DONE;
    for (uint32_t i = 0; i < lg->o.clients; i++)
        client_close(&lg->clients[i], false);
    uv_timer_stop(&lg->tick);
    uv_close((uv_handle_t *)&lg->tick, NULL);
    uv_close((uv_handle_t *)&lg->sigint, NULL);
    uv_close((uv_handle_t *)&lg->sigterm, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct lg *lg = s->data;
    (void)signum;
    lg->interrupted = true;
}

/* ---- report ------------------------------------------------------------- */

struct gap {
    double ms, at_ms;
    uint32_t surviving;
};

/* Longest stretch of the measured window with no ack on any client of a
 * node that still had a client connected at the end. A stretch still open
 * when the window ends is followed into the drain until the next ack (or
 * the drain's end), so an outage near the end is not cut short. */
static struct gap ack_gap(const struct lg *lg)
{
    struct gap g = {0, 0, 0};
    uint64_t bins = (uint64_t)(lg->o.duration * 1000);
    bool alive[LG_MAX_NODES];
    for (uint32_t k = 0; k < lg->n_nodes; k++) {
        alive[k] = lg->nodes[k].survived;
        g.surviving += alive[k];
    }
    if (g.surviving == 0)
        return g;
    uint64_t run = 0, best = 0, best_end = 0;
    for (uint64_t b = 0; b < lg->n_bins; b++) {
        uint64_t acks = 0;
        for (uint32_t k = 0; k < lg->n_nodes; k++)
            if (alive[k])
                acks += lg->nodes[k].ack_bins[b];
        if (b >= bins && (acks || run == 0))
            break;
        run = acks ? 0 : run + 1;
        if (run > best) {
            best = run;
            best_end = b + 1;
        }
    }
    g.ms = (double)best;
    g.at_ms = (double)(best_end - best);
    return g;
}

static int report(struct lg *lg)
{
    const struct opts *o = &lg->o;
    double dur = o->duration;
    struct gap g = ack_gap(lg);
    double mps = (double)lg->moves_acked / dur;
    double p50 = hist_quantile_ms(&lg->lat, 0.50), p90 = hist_quantile_ms(&lg->lat, 0.90),
           p99 = hist_quantile_ms(&lg->lat, 0.99), mx = (double)lg->lat.max_us / 1000.0;
    uint64_t errs = codes_total(lg->errors, lg->n_errors);
    /* The loadgen shares the machine with the nodes: its own CPU over the
     * measured window says whether it, not the cluster, was the limit. */
    double lg_cpu = lg->cpu_end_ns > lg->cpu_start_ns
                        ? (lg->cpu_end_s - lg->cpu_start_s) /
                              ((double)(lg->cpu_end_ns - lg->cpu_start_ns) / 1e9) * 100.0
                        : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);

    if (!o->quiet) {
        printf("loadgen: %u clients over %u node(s), %.1f moves/s each, window %u, "
               "%.1f s measured after %.1f s warm-up\n",
               o->clients, lg->n_nodes, o->rate, o->window, dur, o->warmup);
        printf("  joined         %u/%u in %.2f s (failed %u: connect %" PRIu64
               ", handshake %" PRIu64 ")\n",
               lg->joined, o->clients, (double)lg->join_ns / 1e9, lg->join_failed,
               lg->connect_errors, lg->handshake_errors);
        printf("  moves          sent %" PRIu64 ", acked %" PRIu64 " (%.1f/s), failed %" PRIu64
               ", throttled %" PRIu64 ", unacked at end %" PRIu64 "\n",
               lg->moves_sent, lg->moves_acked, mps, lg->moves_failed, lg->throttled,
               lg->unacked_at_end);
        printf("  latency ms     p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (n=%" PRIu64 ")\n", p50,
               p90, p99, mx, lg->lat.count);
        printf("  others ms      p50 %.2f  p99 %.2f  max %.2f  (n=%" PRIu64
               "; a move's send to another client seeing it)\n",
               hist_quantile_ms(&lg->others, 0.50), hist_quantile_ms(&lg->others, 0.99),
               (double)lg->others.max_us / 1000.0, lg->others.count);
        printf("  frames in      %.0f/s, %.1f MB/s\n", (double)lg->frames_in / dur,
               (double)lg->bytes_in / dur / 1e6);
        printf("  send lag ms    p99 %.2f  max %.2f (loadgen's own scheduling delay)\n",
               hist_quantile_ms(&lg->lag, 0.99), (double)lg->lag.max_us / 1000.0);
        printf("  loadgen        cpu %.0f%% of a core in the window, max rss %ld MB\n", lg_cpu,
               ru.ru_maxrss / 1024);
        printf("  errors         %" PRIu64, errs);
        codes_print(lg->errors, lg->n_errors);
        printf("\n  disconnects    %" PRIu64, lg->disconnects);
        codes_print(lg->closes, lg->n_closes);
        printf("\n  max ack gap    %.0f ms at +%.0f ms (clients of %u surviving node(s))\n", g.ms,
               g.at_ms, g.surviving);
        if (lg->events_skipped || lg->protocol_errors || lg->jansson_fallbacks)
            printf("  note           %" PRIu64 " send slots skipped (loadgen behind), %" PRIu64
                   " protocol errors, %" PRIu64 " frames parsed by jansson\n",
                   lg->events_skipped, lg->protocol_errors, lg->jansson_fallbacks);
        if (lg->verify_done) {
            if (lg->verify_ok)
                printf("  verify         %u clients checked against %s: acked_lost %u "
                       "(%u fetches)\n",
                       lg->verify_checked, o->verify_node, lg->acked_lost, lg->verify_attempts);
            else
                printf("  verify         FAILED: %s\n", lg->verify_error);
        }
    }

    if (o->json_path != NULL) {
        json_t *j = json_object();
        json_object_set_new(j, "clients", json_integer(o->clients));
        json_object_set_new(j, "nodes", json_integer(lg->n_nodes));
        json_object_set_new(j, "rate", json_real(o->rate));
        json_object_set_new(j, "window", json_integer(o->window));
        json_object_set_new(j, "duration", json_real(dur));
        json_object_set_new(j, "warmup", json_real(o->warmup));
        json_object_set_new(j, "joined", json_integer(lg->joined));
        json_object_set_new(j, "join_s", json_real((double)lg->join_ns / 1e9));
        json_object_set_new(j, "moves_sent", json_integer((json_int_t)lg->moves_sent));
        json_object_set_new(j, "moves_acked", json_integer((json_int_t)lg->moves_acked));
        json_object_set_new(j, "moves_failed", json_integer((json_int_t)lg->moves_failed));
        json_object_set_new(j, "moves_per_sec", json_real(mps));
        json_object_set_new(j, "latency_ms",
                            json_pack("{s:f, s:f, s:f, s:f}", "p50", p50, "p90", p90, "p99", p99,
                                      "max", mx));
        json_object_set_new(
            j, "others_ms",
            json_pack("{s:f, s:f, s:f, s:I}", "p50", hist_quantile_ms(&lg->others, 0.50), "p99",
                      hist_quantile_ms(&lg->others, 0.99), "max",
                      (double)lg->others.max_us / 1000.0, "n", (json_int_t)lg->others.count));
        json_object_set_new(j, "encoding", json_string(o->binary ? "bin" : "json"));
        json_object_set_new(j, "frames_in_per_sec", json_real((double)lg->frames_in / dur));
        json_object_set_new(j, "mbytes_in_per_sec", json_real((double)lg->bytes_in / dur / 1e6));
        json_object_set_new(j, "errors", codes_json(lg->errors, lg->n_errors));
        json_object_set_new(j, "errors_total", json_integer((json_int_t)errs));
        json_object_set_new(j, "disconnects", json_integer((json_int_t)lg->disconnects));
        json_object_set_new(j, "close_codes", codes_json(lg->closes, lg->n_closes));
        json_object_set_new(j, "throttled", json_integer((json_int_t)lg->throttled));
        json_object_set_new(j, "unacked_at_end", json_integer((json_int_t)lg->unacked_at_end));
        json_object_set_new(j, "send_lag_ms",
                            json_pack("{s:f, s:f}", "p99", hist_quantile_ms(&lg->lag, 0.99),
                                      "max", (double)lg->lag.max_us / 1000.0));
        json_object_set_new(j, "send_slots_skipped", json_integer((json_int_t)lg->events_skipped));
        json_object_set_new(j, "loadgen", bench_self_json(lg_cpu, ru.ru_maxrss));
        json_object_set_new(j, "max_ack_gap_ms", json_real(g.ms));
        json_object_set_new(j, "max_ack_gap_at_ms", json_real(g.at_ms));
        json_object_set_new(j, "surviving_nodes", json_integer(g.surviving));
        if (lg->verify_done) {
            json_object_set_new(j, "verified", json_boolean(lg->verify_ok));
            if (lg->verify_ok) {
                json_object_set_new(j, "acked_lost", json_integer(lg->acked_lost));
                json_object_set_new(j, "acked_checked", json_integer(lg->verify_checked));
            } else {
                json_object_set_new(j, "verify_error", json_string(lg->verify_error));
            }
            /* Acks per 100 ms for the surviving nodes' clients, and each
             * client's highest acknowledged seq: what was checked. */
            json_t *tl = json_array();
            uint64_t bins = (uint64_t)(dur * 1000);
            for (uint64_t b0 = 0; b0 < bins; b0 += 100) {
                uint64_t acks = 0;
                for (uint64_t b = b0; b < b0 + 100 && b < bins; b++)
                    for (uint32_t k = 0; k < lg->n_nodes; k++)
                        if (lg->nodes[k].survived)
                            acks += lg->nodes[k].ack_bins[b];
                json_array_append_new(tl, json_integer((json_int_t)acks));
            }
            json_object_set_new(j, "ack_timeline_100ms", tl);
            json_t *acked = json_array();
            for (uint32_t i = 0; i < o->clients; i++) {
                const struct client *c = &lg->clients[i];
                if (c->was_joined)
                    json_array_append_new(
                        acked, json_pack("{s:s, s:I, s:s, s:I, s:b}", "name", c->name, "id",
                                         (json_int_t)c->player_id, "node",
                                         lg->nodes[c->node].text, "acked_seq",
                                         (json_int_t)c->acked_seq, "node_lost", c->lost));
            }
            json_object_set_new(j, "acked", acked);
        }
        bench_json_write(j, o->json_path);
    }
    if ((uint64_t)lg->joined * 10 < (uint64_t)o->clients * 9) {
        fprintf(stderr, "loadgen: only %u of %u clients joined\n", lg->joined, o->clients);
        return 2;
    }
    if (lg->verify_done && (!lg->verify_ok || lg->acked_lost > 0))
        return 3;
    return 0;
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: loadgen --nodes IP:PORT[,IP:PORT...] [options]\n"
            "  --clients N            WebSocket clients (default 100), spread round-robin\n"
            "  --prefix P             player name prefix; names are P<index>, <= 16 chars "
            "(default lg)\n"
            "  --rate R               moves per second per client (default 5)\n"
            "  --window W             most un-acked moves per client, 1..%d (default 4)\n"
            "  --duration S           measured seconds (default 10)\n"
            "  --warmup S             unmeasured seconds before (default 2)\n"
            "  --drain S              seconds to wait for acks after the last send (default 2)\n"
            "  --join-timeout S       seconds for every client to connect and join (default 30)\n"
            "  --connect-parallel N   handshakes in flight at once (default 256)\n"
            "  --json FILE            write the results as one JSON object\n"
            "  --mark-dir DIR         create DIR/start and DIR/end when the measured window\n"
            "                         starts and ends (wall clock ns inside)\n"
            "  --verify-after         after the run, check acked moves against /api/state\n"
            "  --verify-node IP:PORT  the node to check against (default: the first node)\n"
            "  --verify-timeout S     bound on waiting for it to be ready and caught up "
            "(default 20)\n"
            "  --parser scan|jansson  how to read JSON update frames (default scan)\n"
            "  --encoding bin|json    ask for binary updates (\"enc\":\"bin\" in the join) or\n"
            "                         keep JSON (default bin)\n"
            "  --seed N               seed for directions and masks\n"
            "  --quiet                no human summary\n"
            "  --bench-parse          time the update scanner against jansson and exit\n",
            LG_MAX_WINDOW);
}

static void parse_node(void *ctx, const char *tok)
{
    struct lg *lg = ctx;
    if (lg->n_nodes == LG_MAX_NODES)
        die("too many --nodes");
    struct node_info *nd = &lg->nodes[lg->n_nodes++];
    bench_parse_node(tok, &nd->addr, nd->text, sizeof nd->text);
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 16)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    static struct lg lg; /* large (histograms); one per process */
    struct opts *o = &lg.o;
    *o = (struct opts){.clients = 100,
                       .rate = 5,
                       .window = 4,
                       .duration = 10,
                       .warmup = 2,
                       .drain = 2,
                       .join_timeout = 30,
                       .connect_parallel = 256,
                       .prefix = "lg",
                       .binary = true,
                       .verify_timeout = 20};
    const char *nodes = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() BENCH_NEEDV()
        if (strcmp(a, "--nodes") == 0) {
            NEEDV();
            nodes = v;
        } else if (strcmp(a, "--clients") == 0) {
            NEEDV();
            o->clients = (uint32_t)parse_num(a, v, 1, 1000000);
        } else if (strcmp(a, "--prefix") == 0) {
            NEEDV();
            o->prefix = v;
        } else if (strcmp(a, "--rate") == 0) {
            NEEDV();
            o->rate = parse_num(a, v, 0.01, 10000);
        } else if (strcmp(a, "--window") == 0) {
            NEEDV();
            o->window = (uint32_t)parse_num(a, v, 1, LG_MAX_WINDOW);
        } else if (strcmp(a, "--duration") == 0) {
            NEEDV();
            o->duration = parse_num(a, v, 0.1, 3600);
        } else if (strcmp(a, "--warmup") == 0) {
            NEEDV();
            o->warmup = parse_num(a, v, 0, 3600);
        } else if (strcmp(a, "--drain") == 0) {
            NEEDV();
            o->drain = parse_num(a, v, 0, 600);
        } else if (strcmp(a, "--join-timeout") == 0) {
            NEEDV();
            o->join_timeout = parse_num(a, v, 0.1, 3600);
        } else if (strcmp(a, "--connect-parallel") == 0) {
            NEEDV();
            o->connect_parallel = (uint32_t)parse_num(a, v, 1, 100000);
        } else if (strcmp(a, "--json") == 0) {
            NEEDV();
            o->json_path = v;
        } else if (strcmp(a, "--mark-dir") == 0) {
            NEEDV();
            o->mark_dir = v;
        } else if (strcmp(a, "--verify-after") == 0) {
            o->verify = true;
        } else if (strcmp(a, "--verify-node") == 0) {
            NEEDV();
            o->verify_node = v;
        } else if (strcmp(a, "--verify-timeout") == 0) {
            NEEDV();
            o->verify_timeout = parse_num(a, v, 0.1, 600);
        } else if (strcmp(a, "--parser") == 0) {
            NEEDV();
            if (strcmp(v, "jansson") == 0)
                o->use_jansson = true;
            else if (strcmp(v, "scan") != 0)
                die("--parser: scan or jansson");
        } else if (strcmp(a, "--encoding") == 0) {
            NEEDV();
            if (strcmp(v, "json") == 0)
                o->binary = false;
            else if (strcmp(v, "bin") == 0)
                o->binary = true;
            else
                die("--encoding: bin or json");
        } else if (strcmp(a, "--seed") == 0) {
            NEEDV();
            o->seed = strtoull(v, NULL, 0);
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
        } else if (strcmp(a, "--bench-parse") == 0) {
            return bench_parse();
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "loadgen: unknown option %s\n", a);
            usage(stderr);
            return 1;
        }
#undef NEEDV
    }
    if (nodes == NULL) {
        usage(stderr);
        return 1;
    }
    bench_split(nodes, parse_node, &lg);
    if (lg.n_nodes == 0)
        die("--nodes: no node");
    if (o->verify && o->verify_node == NULL)
        o->verify_node = lg.nodes[0].text;
    rlim_t nofile = bench_raise_nofile((rlim_t)o->clients + 64);
    if (nofile != RLIM_INFINITY && nofile < (rlim_t)o->clients + 64)
        fprintf(stderr, "loadgen: warning: RLIMIT_NOFILE is %llu, %u clients need more\n",
                (unsigned long long)nofile, o->clients);

    lg.rng = o->seed;
    if (lg.rng == 0 && RAND_bytes((unsigned char *)&lg.rng, sizeof lg.rng) != 1)
        lg.rng = uv_hrtime();
    lg.rng |= 1;
    lg.clients = calloc(o->clients, sizeof *lg.clients);
    lg.rbuf = malloc(LG_RBUF_SIZE);
    if (lg.clients == NULL || lg.rbuf == NULL)
        die("out of memory");
    lg.n_bins = (uint64_t)((o->duration + o->drain) * 1000) + 1;
    for (uint32_t k = 0; k < lg.n_nodes; k++) {
        lg.nodes[k].ack_bins = calloc(lg.n_bins, sizeof(uint32_t));
        if (lg.nodes[k].ack_bins == NULL)
            die("out of memory");
    }
    for (uint32_t i = 0; i < o->clients; i++) {
        struct client *c = &lg.clients[i];
        c->lg = &lg;
        c->idx = i;
        c->node = (uint16_t)(i % lg.n_nodes);
        lg.nodes[c->node].clients++;
        char full[64];
        snprintf(full, sizeof full, "%s%u", o->prefix, i);
        if (!valid_name(full)) {
            fprintf(stderr, "loadgen: name '%s' is not 1-16 chars of A-Za-z0-9_-\n", full);
            return 1;
        }
        memcpy(c->name, full, strlen(full) + 1);
    }

    lg.loop = uv_default_loop();
    uv_timer_init(lg.loop, &lg.tick);
    lg.tick.data = &lg;
    uv_signal_init(lg.loop, &lg.sigint);
    uv_signal_init(lg.loop, &lg.sigterm);
    lg.sigint.data = lg.sigterm.data = &lg;
    uv_signal_start(&lg.sigint, on_signal, SIGINT);
    uv_signal_start(&lg.sigterm, on_signal, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    lg.start_ns = uv_hrtime();
    lg.join_deadline = lg.start_ns + (uint64_t)(o->join_timeout * 1e9);
    lg.m_start = lg.m_end = UINT64_MAX; /* nothing is measured before the run */
    uv_timer_start(&lg.tick, on_tick, 0, 1);
    uv_run(lg.loop, UV_RUN_DEFAULT);

    int rc = report(&lg);
    uv_loop_close(lg.loop);
    for (uint32_t k = 0; k < lg.n_nodes; k++)
        free(lg.nodes[k].ack_bins);
    free(lg.clients);
    free(lg.rbuf);
    return rc;
}
