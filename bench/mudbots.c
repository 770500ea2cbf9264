/* mudbots: telnet bots for Warren's MUD (bench/README.md, "MUD").
 *
 * One libuv thread drives N bots, each a telnet connection to one of the
 * --nodes (round-robin). Each bot logs in through the node's dialogue
 * (creating its character, answering the race and class menus with their
 * first choice, or logging in when the name already exists); it is in the
 * game when a prompt mark follows the room's exits line, and a question
 * it does not know fails it (login_unexpected_text) rather than being
 * taken for the game. Then it runs a closed loop: one command in flight,
 * think time, next command. Phases, driven by one 1 ms timer:
 *
 *   LOGIN   connect bot i at ramp * i / N, answer the login dialogue; ends
 *           when every bot is in the game or failed, or at ramp +
 *           --login-timeout. The node's RSS is sampled before the first
 *           connect and when this phase ends (memory per character).
 *   RUN     --warmup seconds (commands not measured), then --duration
 *           seconds measured; each bot sends at --rate commands/s (think
 *           time uniform in [0.5, 1.5] / rate after the previous send), a
 *           weighted mix of look / move / say. Node CPU is sampled at the
 *           window's start and end (/proc/PID/stat).
 *   DRAIN   no more sends; wait for the commands in flight (bounded).
 *   QUIT    send `quit` and wait (up to 3 s) for the node to close, so a
 *           re-run starts without characters left in the world.
 *
 * Per bot, a state machine (assert_bot_state checks it):
 *   B_IDLE        not connected yet (or never: ramp not reached).
 *   B_CONNECTING  TCP connect in flight; deadline = connect + login timeout.
 *   B_LOGIN       connected; `step` says which question we wait for.
 *   B_GAME        in the game; `in_flight` iff a command awaits its reply.
 *   B_QUITTING    `quit` sent; waiting for the node's close.
 *   B_CLOSED      uv_close requested; nothing more happens.
 *
 * Telnet. Minimal but correct per RFC 854/1143 for a client that wants
 * only NAWS and TTYPE: every WILL is refused with DONT (so the node ends
 * prompts with IAC GA rather than EOR, and never compresses: we do not
 * accept MCCP2), every DO with WONT, except DO NAWS (WILL NAWS + 120x40) and
 * DO TTYPE (WILL TTYPE; SEND is answered "warren-bot"). WONT/DONT for an
 * option that is off is ignored, so no negotiation loops. IAC GA and IAC
 * EOR are prompt marks; IAC IAC is a 255 data byte; subnegotiations other
 * than TTYPE SEND are skipped (bounded). Text is kept without CR and
 * without ANSI escape sequences, for matching.
 *
 * Command latency. The node writes a command's whole output (ending with
 * a prompt) in one write, so the reply is the first prompt mark whose
 * segment (the text since the previous mark) holds the command's marker:
 * "exits" for look and a move that succeeded, a refusal for a move that
 * did not, "You say" for say. A prompt mark whose segment does not hold it
 * belongs to asynchronous output (another's say, an NPC) when the node
 * prompts after that too; such marks are counted (`early_prompts`) and
 * skipped. So with early_prompts == 0 the latency is exactly "write to the
 * first prompt mark after it". For say, the time to our own echo ("You
 * say") is measured as well.
 *
 * A run fails (exit 3) when fewer than half of the bots had a command
 * answered after the login, with one line on stderr that says what the
 * bots saw instead (the first login text not understood, or the latest
 * text that came in place of a reply): a change in what the node sends
 * then shows as an error, not as a benchmark of 0 commands. --trace I
 * prints what bot I reads and writes.
 *
 * This file drives the sockets, the phases and the report; what a bot
 * reads and answers is in mudbots_proto.c, the state both share in
 * mudbots.h. Histograms, buffers, error codes, flag parsing and the JSON
 * file come from bench/benchlib.h, shared with loadgen.c.
 *
 * Every loop is bounded by a buffer length, the bot count or a deadline;
 * the run ends by login + warmup + duration + drain + 3 s at the latest. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "mudbots.h"

/* ---- output path -------------------------------------------------------- */

static void on_write(uv_write_t *req, int status)
{
    struct bot *b = req->data;
    bool more = bench_out_done(&b->wr);
    if (b->state == B_CLOSED)
        return;
    if (status < 0 || (more && bench_out_start(&b->wr, (uv_stream_t *)&b->tcp, on_write) < 0))
        bot_close(b, true, "write_error");
}

/* Send @len bytes (bench_out_write); a bot whose queue would pass
 * MB_OUT_MAX gives up. */
void bot_write(struct bot *b, const void *data, size_t len)
{
    if (b->state == B_CLOSED || b->state == B_IDLE || b->state == B_CONNECTING)
        return;
    if (b->mb->o.trace == (int64_t)b->idx)
        bot_trace(b, ">", data, len);
    int r = bench_out_write(&b->wr, (uv_stream_t *)&b->tcp, data, len, MB_OUT_MAX, on_write);
    if (r != 0)
        bot_close(b, true, r > 0 ? "output_stuck" : "write_error");
}

/* A line of input; telnet needs IAC doubled, but our lines are ASCII. */
void bot_send_line(struct bot *b, const char *line)
{
    char tmp[160];
    int n = snprintf(tmp, sizeof tmp, "%s\r\n", line);
    if (n > 0 && (size_t)n < sizeof tmp)
        bot_write(b, tmp, (size_t)n);
}

/* ---- lifecycle ---------------------------------------------------------- */

static void on_close(uv_handle_t *h)
{
    struct bot *b = h->data;
    buf_free(&b->text);
    bench_out_free(&b->wr);
}

/* Close @b once. @lost: the peer or an error ended it; @why: counted as an
 * error code unless NULL. */
void bot_close(struct bot *b, bool lost, const char *why)
{
    struct mb *mb = b->mb;
    if (b->state == B_CLOSED || b->state == B_IDLE)
        return;
    if (b->state == B_CONNECTING || b->state == B_LOGIN) {
        mb->connecting--;
        mb->login_failed++;
    }
    if (b->state == B_GAME) {
        mb->in_game--;
        mb->nodes[b->node].in_game--;
        if (lost && mb->phase < PH_QUIT)
            mb->disconnects++;
    }
    if (why != NULL && !(b->state == B_QUITTING && !lost))
        count_code(mb->errors, &mb->n_errors, why);
    b->lost = lost;
    b->state = B_CLOSED;
    b->in_flight = false;
    uv_close((uv_handle_t *)&b->tcp, on_close);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *ub)
{
    struct bot *b = h->data;
    (void)suggested;
    /* One shared buffer: read callbacks run one at a time and consume (or
     * copy) what they were given before returning. */
    *ub = uv_buf_init(b->mb->rbuf, MB_RBUF_SIZE);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *ub)
{
    struct bot *b = s->data;
    struct mb *mb = b->mb;
    if (b->state == B_CLOSED)
        return;
    if (nread < 0) {
        if (b->state == B_QUITTING)
            bot_close(b, false, NULL);
        else
            bot_close(b, true,
                      nread != UV_EOF       ? uv_err_name((int)nread)
                      : b->state == B_LOGIN ? "login_closed_by_node"
                                            : "closed_by_node");
        return;
    }
    if (nread == 0)
        return;
    uint64_t now = uv_hrtime();
    if (in_window(mb, now))
        mb->bytes_in += (uint64_t)nread;
    bot_input(b, (const uint8_t *)ub->base, (size_t)nread, now);
    assert_bot_state(b);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct bot *b = req->data;
    if (b->state != B_CONNECTING)
        return;
    if (status < 0) {
        char code[32];
        snprintf(code, sizeof code, "connect_%s", uv_err_name(status));
        bot_close(b, true, code);
        return;
    }
    uv_tcp_nodelay(&b->tcp, 1);
    b->state = B_LOGIN;
    b->step = L_NAME;
    if (uv_read_start((uv_stream_t *)&b->tcp, on_alloc, on_read) < 0)
        bot_close(b, true, "read_start_failed");
}

static void bot_start(struct bot *b, uint64_t now)
{
    struct mb *mb = b->mb;
    mb->connecting++;
    b->state = B_CONNECTING;
    b->t_connect = now;
    b->deadline = now + (uint64_t)(mb->o.login_timeout * 1e9);
    if (uv_tcp_init(mb->loop, &b->tcp) < 0) {
        b->state = B_IDLE;
        mb->connecting--;
        mb->login_failed++;
        count_code(mb->errors, &mb->n_errors, "tcp_init_failed");
        return;
    }
    b->tcp.data = b;
    b->creq.data = b;
    b->wr.wreq.data = b;
    if (uv_tcp_connect(&b->creq, &b->tcp, (const struct sockaddr *)&mb->nodes[b->node].addr,
                       on_connect) < 0)
        bot_close(b, true, "connect_failed");
}

/* ---- /proc sampling ------------------------------------------------------ */

/* utime + stime of @pid in clock ticks, or 0 when it cannot be read. */
static unsigned long long proc_ticks(int pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    /* comm may hold spaces and parens: fields count from the last ')'. */
    const char *p = strrchr(line, ')');
    if (p == NULL)
        return 0;
    unsigned long long ut = 0, st = 0;
    /* after ") ": state(3) ... utime is field 14, stime 15 */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return ut + st;
}

/* ---- the clock ----------------------------------------------------------- */

static void quit_all(struct mb *mb);
static void close_all(struct mb *mb);

static void start_run(struct mb *mb, uint64_t now)
{
    mb->login_end_ns = now;
    for (uint32_t k = 0; k < mb->n_nodes; k++) {
        struct node_info *nd = &mb->nodes[k];
        if (nd->pid > 0) {
            nd->rss1_kb = proc_rss_kb(nd->pid);
            nd->t_login1 = proc_ticks(nd->pid);
        }
    }
    mb->m_start = now + (uint64_t)(mb->o.warmup * 1e9);
    mb->m_end = mb->m_start + (uint64_t)(mb->o.duration * 1e9);
    /* First commands spread over one period, so the bots do not beat. */
    double period = 1.0 / mb->o.rate;
    for (uint32_t i = 0; i < mb->o.bots; i++) {
        struct bot *b = &mb->bots[i];
        if (b->state == B_GAME)
            b->t_next = now + (uint64_t)(period * rng_unit(mb) * 1e9);
    }
    mb->phase = PH_RUN;
    if (!mb->o.quiet)
        fprintf(stderr, "mudbots: %u/%u bots in the game after %.2f s (%u failed); %s\n",
                mb->in_game, mb->o.bots, (double)(now - mb->start_ns) / 1e9, mb->login_failed,
                mb->in_game ? "running" : "nothing to run");
    if (mb->in_game == 0) {
        mb->m_start = mb->m_end = now; /* an empty window: nothing to measure */
        quit_all(mb);
    }
}

static void on_tick(uv_timer_t *t)
{
    struct mb *mb = t->data;
    uint64_t now = uv_hrtime();
    if (mb->interrupted && mb->phase < PH_QUIT)
        quit_all(mb);
    switch (mb->phase) {
    case PH_LOGIN: {
        /* Connect on the ramp; at most 256 per tick keeps a tick short. */
        uint32_t started = 0;
        while (mb->next_connect < mb->o.bots && started < 256) {
            uint64_t at =
                mb->start_ns + (uint64_t)(mb->o.ramp * 1e9 * mb->next_connect / mb->o.bots);
            if (at > now)
                break;
            bot_start(&mb->bots[mb->next_connect++], now);
            started++;
        }
        for (uint32_t i = 0; i < mb->next_connect; i++) {
            struct bot *b = &mb->bots[i];
            if ((b->state == B_CONNECTING || b->state == B_LOGIN) && now >= b->deadline)
                bot_close(b, false, b->state == B_CONNECTING ? "connect_timeout" : "login_timeout");
            else if (b->state == B_GAME && b->walk_left > 0 && !b->in_flight && now >= b->t_next)
                send_command(b, now); /* dispersing; outside the measured window */
            else if (b->state == B_GAME && b->in_flight && now >= b->deadline) {
                b->in_flight = false;
                b->text.len = 0;
                b->t_next = now;
            }
        }
        if (mb->next_connect == mb->o.bots && mb->connecting == 0)
            start_run(mb, now);
        return;
    }
    case PH_RUN:
        if (!mb->marked_start && now >= mb->m_start) {
            mb->marked_start = true;
            mb->cpu_start_s = cpu_seconds();
            for (uint32_t k = 0; k < mb->n_nodes; k++)
                if (mb->nodes[k].pid > 0)
                    mb->nodes[k].t_run0 = proc_ticks(mb->nodes[k].pid);
            write_mark(mb->o.mark_dir, "start");
        }
        if (now >= mb->m_end) {
            mb->cpu_end_s = cpu_seconds();
            for (uint32_t k = 0; k < mb->n_nodes; k++)
                if (mb->nodes[k].pid > 0)
                    mb->nodes[k].t_run1 = proc_ticks(mb->nodes[k].pid);
            write_mark(mb->o.mark_dir, "end");
            mb->phase = PH_DRAIN;
            mb->drain_deadline = now + (uint64_t)(mb->o.drain * 1e9);
            return;
        }
        for (uint32_t i = 0; i < mb->o.bots; i++) {
            struct bot *b = &mb->bots[i];
            if (b->state != B_GAME)
                continue;
            if (b->in_flight) {
                if (now >= b->deadline) {
                    if (in_window(mb, b->t_sent))
                        mb->timeouts[b->kind]++;
                    b->in_flight = false;
                    b->text.len = 0;
                    b->t_next = now;
                }
                continue;
            }
            if (now >= b->t_next && (mb->o.max_cmds == 0 || b->sent < mb->o.max_cmds))
                send_command(b, now);
        }
        return;
    case PH_DRAIN: {
        bool pending = false;
        for (uint32_t i = 0; i < mb->o.bots && !pending; i++)
            pending = mb->bots[i].state == B_GAME && mb->bots[i].in_flight;
        if (!pending || now >= mb->drain_deadline) {
            for (uint32_t i = 0; i < mb->o.bots; i++) {
                struct bot *b = &mb->bots[i];
                if (b->state == B_GAME && b->in_flight && in_window(mb, b->t_sent))
                    mb->timeouts[b->kind]++;
            }
            quit_all(mb);
        }
        return;
    }
    case PH_QUIT: {
        bool open = false;
        for (uint32_t i = 0; i < mb->o.bots && !open; i++)
            open = mb->bots[i].state == B_QUITTING || mb->bots[i].state == B_GAME;
        if (!open || now >= mb->quit_deadline || mb->interrupted)
            close_all(mb);
        return;
    }
    case PH_DONE:
        return;
    }
}

/* Send `quit` on every bot in the game; close the rest. */
static void quit_all(struct mb *mb)
{
    if (mb->phase >= PH_QUIT)
        return;
    if (mb->phase == PH_LOGIN)
        mb->login_end_ns = uv_hrtime();
    if (mb->phase <= PH_RUN && mb->marked_start && mb->cpu_end_s == 0) {
        mb->cpu_end_s = cpu_seconds();
        for (uint32_t k = 0; k < mb->n_nodes; k++)
            if (mb->nodes[k].pid > 0)
                mb->nodes[k].t_run1 = proc_ticks(mb->nodes[k].pid);
        if (mb->m_end > uv_hrtime())
            mb->m_end = uv_hrtime(); /* interrupted: the window was shorter */
        write_mark(mb->o.mark_dir, "end");
    }
    if (!mb->marked_start)
        mb->m_start = mb->m_end = uv_hrtime(); /* stopped before the window */
    for (uint32_t k = 0; k < mb->n_nodes; k++)
        if (mb->nodes[k].pid > 0)
            mb->nodes[k].rss2_kb = proc_rss_kb(mb->nodes[k].pid);
    mb->phase = PH_QUIT;
    for (uint32_t i = 0; i < mb->o.bots; i++) {
        struct bot *b = &mb->bots[i];
        if (b->state == B_GAME) {
            mb->in_game--;
            mb->nodes[b->node].in_game--;
            b->state = B_QUITTING;
            b->in_flight = false;
            bot_send_line(b, "quit");
        } else {
            bot_close(b, false, NULL);
        }
    }
    mb->quit_deadline = uv_hrtime() + 3 * NS_PER_S;
}

static void close_all(struct mb *mb)
{
    if (mb->phase == PH_DONE)
        return;
    mb->phase = PH_DONE;
    for (uint32_t i = 0; i < mb->o.bots; i++)
        bot_close(&mb->bots[i], false, NULL);
    uv_timer_stop(&mb->tick);
    uv_close((uv_handle_t *)&mb->tick, NULL);
    uv_close((uv_handle_t *)&mb->sigint, NULL);
    uv_close((uv_handle_t *)&mb->sigterm, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct mb *mb = s->data;
    (void)signum;
    mb->interrupted = true;
}

/* ---- report -------------------------------------------------------------- */

static json_t *lat_json(const struct hist *h, uint64_t count)
{
    return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f}", "count", (json_int_t)count, "p50",
                     hist_quantile_ms(h, 0.50), "p90", hist_quantile_ms(h, 0.90), "p99",
                     hist_quantile_ms(h, 0.99), "max", (double)h->max_us / 1000.0, "mean",
                     h->count ? (double)h->sum_us / (double)h->count / 1000.0 : 0.0);
}

/* Bots that had a command answered (combat: or saw a round of their
 * fight) after the login: the ones the run measured. */
static uint32_t served_bots(const struct mb *mb)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < mb->o.bots; i++)
        n += mb->bots[i].replies > 0;
    return n;
}

/* The error line of a run that served fewer than half of its bots, with
 * what the bots saw instead, so that a change in what the node sends is
 * named rather than measured as 0 commands. */
static void print_failure(const struct mb *mb, uint32_t served, uint32_t logged_in, uint64_t sent,
                          uint64_t timeouts)
{
    fprintf(stderr, "mudbots: error: only %u of %u bots had a command answered after the login",
            served, mb->o.bots);
    if (logged_in * 2 < mb->o.bots) {
        fprintf(stderr, ": %u got into the game; login errors:", logged_in);
        for (uint32_t i = 0; i < mb->n_errors; i++)
            fprintf(stderr, " %s=%" PRIu64, mb->errors[i].code, mb->errors[i].n);
        if (mb->odd_login > 0)
            fprintf(stderr, "; %" PRIu64 " login texts not understood, the first: \"%s\"",
                    mb->odd_login, mb->odd_login_text);
    } else if (sent * 2 < mb->o.bots) {
        fprintf(stderr,
                ": %" PRIu64 " commands were sent in the window for %u bots (--rate, --duration "
                "or --count too low, or the run was cut short)",
                sent, mb->o.bots);
    } else {
        fprintf(stderr,
                ": %" PRIu64 " of %" PRIu64 " commands timed out, %" PRIu64
                " disconnects; replies not recognised",
                timeouts, sent, mb->disconnects);
        if (mb->odd_reply > 0)
            fprintf(stderr, " (%" PRIu64 " times; the latest text in place of a reply: \"%s\")",
                    mb->odd_reply, mb->odd_reply_text);
    }
    fprintf(stderr, "\n");
}

static int report(struct mb *mb)
{
    const struct opts *o = &mb->o;
    double dur = mb->m_end > mb->m_start && mb->m_end != UINT64_MAX
                     ? (double)(mb->m_end - mb->m_start) / 1e9
                     : 0;
    uint64_t done = 0, sent = 0, timeouts = 0;
    for (int k = 0; k < K_N; k++) {
        done += mb->done[k];
        sent += mb->sent[k];
        timeouts += mb->timeouts[k];
    }
    uint64_t errs = codes_total(mb->errors, mb->n_errors);
    double cps = dur > 0 ? (double)done / dur : 0;
    double login_s = (double)(mb->login_end_ns - mb->start_ns) / 1e9;
    uint32_t logged_in = mb->created + mb->existing;
    uint32_t served = served_bots(mb);
    /* Node CPU per command and per login, RSS per character. */
    double tick_s = 1.0 / (double)mb->clk_tck;
    double run_cpu_s = 0, login_cpu_s = 0;
    long rss_delta_kb = 0;
    bool have_cpu = false, have_rss = false;
    for (uint32_t k = 0; k < mb->n_nodes; k++) {
        const struct node_info *nd = &mb->nodes[k];
        if (nd->pid <= 0)
            continue;
        if (nd->t_run1 >= nd->t_run0 && nd->t_run1 > 0) {
            run_cpu_s += (double)(nd->t_run1 - nd->t_run0) * tick_s;
            have_cpu = true;
        }
        if (nd->t_login1 >= nd->t_login0 && nd->t_login1 > 0)
            login_cpu_s += (double)(nd->t_login1 - nd->t_login0) * tick_s;
        if (nd->rss0_kb >= 0 && nd->rss1_kb >= 0) {
            rss_delta_kb += nd->rss1_kb - nd->rss0_kb;
            have_rss = true;
        }
    }
    double cpu_us_per_cmd = have_cpu && done ? run_cpu_s * 1e6 / (double)done : 0;
    double cpu_ms_per_login = logged_in ? login_cpu_s * 1e3 / logged_in : 0;
    double bytes_per_char = have_rss && logged_in ? (double)rss_delta_kb * 1024.0 / logged_in : 0;
    double self_cpu = dur > 0 ? (mb->cpu_end_s - mb->cpu_start_s) / dur * 100.0 : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);

    if (!o->quiet) {
        printf("mudbots: %u bots over %u node(s), mode %s, %.2f cmds/s each, %.1f s measured "
               "after %.1f s warm-up\n",
               o->bots, mb->n_nodes, MODE_NAME[o->mode], o->rate, dur, o->warmup);
        printf("  login          %u/%u in the game in %.2f s (created %u, existing %u, failed "
               "%u); per bot p50 %.0f ms p99 %.0f ms max %.0f ms; %.1f logins/s\n",
               logged_in, o->bots, login_s, mb->created, mb->existing, mb->login_failed,
               hist_quantile_ms(&mb->login, 0.5), hist_quantile_ms(&mb->login, 0.99),
               (double)mb->login.max_us / 1000.0, login_s > 0 ? logged_in / login_s : 0);
        printf("  %-8s %8s %8s %8s %8s %9s %8s\n", "command", "count", "p50 ms", "p90 ms", "p99 ms",
               "max ms", "timeouts");
        for (int k = 0; k < K_N; k++)
            printf("  %-8s %8" PRIu64 " %8.2f %8.2f %8.2f %9.2f %8" PRIu64 "\n", KIND_NAME[k],
                   mb->done[k], hist_quantile_ms(&mb->lat[k], 0.5),
                   hist_quantile_ms(&mb->lat[k], 0.9), hist_quantile_ms(&mb->lat[k], 0.99),
                   (double)mb->lat[k].max_us / 1000.0, mb->timeouts[k]);
        printf("  %-8s %8" PRIu64 " %8.2f %8.2f %8.2f %9.2f   (say: to our own 'You say')\n",
               "echo", mb->echo.count, hist_quantile_ms(&mb->echo, 0.5),
               hist_quantile_ms(&mb->echo, 0.9), hist_quantile_ms(&mb->echo, 0.99),
               (double)mb->echo.max_us / 1000.0);
        if (o->mode == M_COMBAT)
            printf("  combat         %" PRIu64 " rounds (%.1f/s), %" PRIu64 " NPCs and %" PRIu64
                   " bots died, %" PRIu64 " attacks refused; node cpu %.0f us per round\n",
                   mb->rounds, dur > 0 ? mb->rounds / dur : 0, mb->npc_deaths, mb->bot_deaths,
                   mb->kill_refused, have_cpu && mb->rounds ? run_cpu_s * 1e6 / mb->rounds : 0);
        printf("  commands       %" PRIu64 " done of %" PRIu64
               " sent, %.1f/s; moves refused %" PRIu64 "; late sends %" PRIu64 "\n",
               done, sent, cps, mb->move_failed, mb->late_sends);
        printf("  served         %u of %u bots had a command answered after the login; %" PRIu64
               " menu answers at login\n",
               served, o->bots, mb->menus);
        printf("  prompts        %" PRIu64 " commands saw another's prompt first, %" PRIu64
               " prompts outside commands; %.2f MB/s in\n",
               mb->early_prompts, mb->async_prompts,
               dur > 0 ? (double)mb->bytes_in / dur / 1e6 : 0);
        if (have_cpu)
            printf("  node cpu       %.0f us per command (%.0f%% of a core, all nodes); login "
                   "%.1f ms per login\n",
                   cpu_us_per_cmd, dur > 0 ? run_cpu_s / dur * 100 : 0, cpu_ms_per_login);
        for (uint32_t k = 0; k < mb->n_nodes; k++) {
            const struct node_info *nd = &mb->nodes[k];
            if (nd->pid <= 0)
                continue;
            printf("  node %-15s pid %d: %u bots, rss %ld -> %ld -> %ld kB, %.0f B per "
                   "character, cpu %.0f%%\n",
                   nd->text, nd->pid, nd->bots, nd->rss0_kb, nd->rss1_kb, nd->rss2_kb,
                   logged_in ? (double)(nd->rss1_kb - nd->rss0_kb) * 1024 / logged_in : 0,
                   dur > 0 ? (double)(nd->t_run1 - nd->t_run0) * tick_s / dur * 100 : 0);
        }
        if (have_rss)
            printf("  memory         %.0f bytes per character (RSS growth of all nodes after "
                   "login / characters)\n",
                   bytes_per_char);
        printf("  mudbots        cpu %.0f%% of a core in the window, max rss %ld MB\n", self_cpu,
               ru.ru_maxrss / 1024);
        printf("  errors         %" PRIu64 " (disconnects %" PRIu64 ")", errs, mb->disconnects);
        codes_print(mb->errors, mb->n_errors);
        printf("\n");
    }

    if (o->json_path != NULL) {
        json_t *j = json_object();
        json_object_set_new(j, "bots", json_integer(o->bots));
        json_object_set_new(j, "nodes", json_integer(mb->n_nodes));
        json_object_set_new(j, "mode", json_string(MODE_NAME[o->mode]));
        json_object_set_new(j, "rate", json_real(o->rate));
        json_object_set_new(j, "duration", json_real(dur));
        json_object_set_new(j, "warmup", json_real(o->warmup));
        json_object_set_new(j, "ramp", json_real(o->ramp));
        json_object_set_new(j, "logged_in", json_integer(logged_in));
        json_object_set_new(j, "created", json_integer(mb->created));
        json_object_set_new(j, "existing", json_integer(mb->existing));
        json_object_set_new(j, "login_failed", json_integer(mb->login_failed));
        json_object_set_new(j, "login_s", json_real(login_s));
        json_object_set_new(j, "logins_per_sec", json_real(login_s > 0 ? logged_in / login_s : 0));
        json_object_set_new(j, "login_ms", lat_json(&mb->login, mb->login.count));
        json_object_set_new(j, "bots_served", json_integer(served));
        json_object_set_new(j, "login_menus", json_integer((json_int_t)mb->menus));
        json_object_set_new(j, "login_texts_not_understood",
                            json_integer((json_int_t)mb->odd_login));
        json_object_set_new(j, "commands", json_integer((json_int_t)done));
        json_object_set_new(j, "commands_sent", json_integer((json_int_t)sent));
        json_object_set_new(j, "commands_per_sec", json_real(cps));
        for (int k = 0; k < K_N; k++)
            json_object_set_new(j, KIND_NAME[k], lat_json(&mb->lat[k], mb->done[k]));
        json_object_set_new(j, "say_echo", lat_json(&mb->echo, mb->echo.count));
        json_object_set_new(j, "timeouts", json_integer((json_int_t)timeouts));
        if (o->mode == M_COMBAT) {
            json_object_set_new(j, "rounds", json_integer((json_int_t)mb->rounds));
            json_object_set_new(j, "rounds_per_sec", json_real(dur > 0 ? mb->rounds / dur : 0));
            json_object_set_new(j, "npc_deaths", json_integer((json_int_t)mb->npc_deaths));
            json_object_set_new(j, "bot_deaths", json_integer((json_int_t)mb->bot_deaths));
            json_object_set_new(j, "kills_refused", json_integer((json_int_t)mb->kill_refused));
            if (have_cpu && mb->rounds)
                json_object_set_new(j, "node_cpu_us_per_round",
                                    json_real(run_cpu_s * 1e6 / (double)mb->rounds));
        }
        json_object_set_new(j, "move_refused", json_integer((json_int_t)mb->move_failed));
        json_object_set_new(j, "late_sends", json_integer((json_int_t)mb->late_sends));
        json_object_set_new(j, "early_prompts", json_integer((json_int_t)mb->early_prompts));
        json_object_set_new(j, "async_prompts", json_integer((json_int_t)mb->async_prompts));
        json_object_set_new(j, "mbytes_in_per_sec",
                            json_real(dur > 0 ? (double)mb->bytes_in / dur / 1e6 : 0));
        json_object_set_new(j, "errors", codes_json(mb->errors, mb->n_errors));
        json_object_set_new(j, "errors_total", json_integer((json_int_t)errs));
        json_object_set_new(j, "disconnects", json_integer((json_int_t)mb->disconnects));
        if (have_cpu) {
            json_object_set_new(j, "node_cpu_us_per_cmd", json_real(cpu_us_per_cmd));
            json_object_set_new(j, "node_cpu_pct", json_real(dur > 0 ? run_cpu_s / dur * 100 : 0));
            json_object_set_new(j, "node_cpu_ms_per_login", json_real(cpu_ms_per_login));
        }
        if (have_rss)
            json_object_set_new(j, "bytes_per_char", json_real(bytes_per_char));
        /* An object, not an array: benchstat takes medians of objects only. */
        json_t *per = json_object();
        for (uint32_t k = 0; k < mb->n_nodes; k++) {
            const struct node_info *nd = &mb->nodes[k];
            char key[16];
            snprintf(key, sizeof key, "n%u", k + 1);
            json_t *n = json_pack("{s:s, s:I}", "addr", nd->text, "bots", (json_int_t)nd->bots);
            if (nd->pid > 0) {
                json_object_set_new(n, "pid", json_integer(nd->pid));
                json_object_set_new(n, "rss_before_kb", json_integer(nd->rss0_kb));
                json_object_set_new(n, "rss_after_login_kb", json_integer(nd->rss1_kb));
                json_object_set_new(n, "rss_end_kb", json_integer(nd->rss2_kb));
                json_object_set_new(
                    n, "bytes_per_char",
                    json_real(logged_in ? (double)(nd->rss1_kb - nd->rss0_kb) * 1024 / logged_in
                                        : 0));
                json_object_set_new(
                    n, "cpu_pct",
                    json_real(dur > 0 ? (double)(nd->t_run1 - nd->t_run0) * tick_s / dur * 100
                                      : 0));
            }
            json_object_set_new(per, key, n);
        }
        json_object_set_new(j, "node", per);
        json_object_set_new(j, "mudbots", bench_self_json(self_cpu, ru.ru_maxrss));
        bench_json_write(j, o->json_path);
    }
    if ((uint64_t)served * 2 < (uint64_t)o->bots) {
        print_failure(mb, served, logged_in, sent, timeouts);
        return 3;
    }
    if ((uint64_t)logged_in * 10 < (uint64_t)o->bots * 9) {
        fprintf(stderr, "mudbots: only %u of %u bots got into the game\n", logged_in, o->bots);
        return 2;
    }
    return 0;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mudbots --nodes IP:PORT[,IP:PORT...] [options]\n"
            "  --nodes A,B,...        telnet addresses; bots go round-robin\n"
            "  --pids P,P,...         node pids, same order as --nodes: CPU and RSS from /proc\n"
            "  --bots N               bots, 1..%d (default 100)\n"
            "  --rate R               commands/s per bot, think time jittered +-50%% (default 1)\n"
            "  --duration S           measured seconds, at most %.0f (default 20)\n"
            "  --warmup S             unmeasured seconds of commands first (default 2)\n"
            "  --mode spread|one-room|combat\n"
            "                         spread: bots walk around; one-room: nobody moves, all\n"
            "                         stay in the start room (say fans out to all); combat:\n"
            "                         after --disperse moves each bot attacks --target and\n"
            "                         attacks again whenever its fight is over (rounds run on\n"
            "                         the zone owners' timers; rounds/s and CPU per round)\n"
            "  --target WORD          combat: the NPC keyword to attack (default dummy)\n"
            "  --mix L:M:S            weights of look, move, say (default 1:1:1)\n"
            "  --count N              at most N commands per bot (default: no limit)\n"
            "  --ramp S               spread the connects over S seconds (default 5)\n"
            "  --disperse N           spread mode: moves each bot makes right after login,\n"
            "                         before the run (default 8), so bots are not all in\n"
            "                         the start room\n"
            "  --login-timeout S      per bot, connect to in-game (default 60)\n"
            "  --cmd-timeout S        per command (default 10)\n"
            "  --drain S              wait for replies after the window (default 5)\n"
            "  --password P           every bot's password (default warren-bench-pw)\n"
            "  --prefix NAME          name prefix, letters only; names are NAME + letters\n"
            "                         from the index, e.g. Botaab (default Bot)\n"
            "  --json FILE            write the results as one JSON object\n"
            "  --mark-dir DIR         create DIR/start and DIR/end at the window's edges\n"
            "  --seed N               seed for think times and choices\n"
            "  --quiet                no human summary\n"
            "  --trace I              print every byte bot I (0-based) reads and writes to\n"
            "                         stderr, escaped, one line per read or write\n"
            "\n"
            "Exit status: 0; 1 bad flags; 2 fewer than 90%% of the bots got into the game;\n"
            "3 fewer than half of them had a command answered (combat: or a round) after\n"
            "the login, with a line on stderr that says what the bots saw instead.\n",
            MB_MAX_BOTS, MB_MAX_DURATION);
}

static void parse_node(void *ctx, const char *tok)
{
    struct mb *mb = ctx;
    if (mb->n_nodes == MB_MAX_NODES)
        die("too many --nodes");
    struct node_info *nd = &mb->nodes[mb->n_nodes];
    bench_parse_node(tok, &nd->addr, nd->text, sizeof nd->text);
    if (nd->addr.sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
        fprintf(stderr, "mudbots: --nodes: %s: only 127.0.0.1 is allowed\n", tok);
        exit(1);
    }
    mb->n_nodes++;
}

static void parse_pid(void *ctx, const char *tok)
{
    struct mb *mb = ctx;
    if (mb->n_pids == MB_MAX_NODES)
        die("too many --pids");
    mb->nodes[mb->n_pids++].pid = (int)parse_num("--pids", tok, 1, 4194304);
}

static void parse_mix(struct mb *mb, const char *v)
{
    unsigned a, b, c;
    char tail;
    if (sscanf(v, "%u:%u:%u%c", &a, &b, &c, &tail) != 3 || a > 1000 || b > 1000 || c > 1000 ||
        a + b + c == 0)
        die("--mix: expected L:M:S, three weights 0..1000, not all 0");
    mb->o.mix[K_LOOK] = a;
    mb->o.mix[K_MOVE] = b;
    mb->o.mix[K_SAY] = c;
}

/* Every bot needs one descriptor, plus a few for the loop and files. */
static void raise_nofile(uint32_t bots)
{
    rlim_t want = (rlim_t)bots + 64;
    rlim_t got = bench_raise_nofile(want);
    if (got != RLIM_INFINITY && got < want) {
        fprintf(stderr,
                "mudbots: RLIMIT_NOFILE is %llu and cannot be raised to %llu for %u bots "
                "(raise the hard limit: ulimit -Hn, or run fewer bots)\n",
                (unsigned long long)got, (unsigned long long)want, bots);
        exit(1);
    }
}

/* Name of bot @i: prefix + @width letters of @i in base 26 (a = 0). */
static void bot_name(char *out, size_t len, const char *prefix, uint32_t i, unsigned width)
{
    char suffix[8];
    for (unsigned k = 0; k < width; k++) {
        suffix[width - 1 - k] = (char)('a' + i % 26);
        i /= 26;
    }
    suffix[width] = '\0';
    snprintf(out, len, "%s%s", prefix, suffix);
}

int main(int argc, char **argv)
{
    static struct mb mb; /* large (histograms); one per process */
    struct opts *o = &mb.o;
    *o = (struct opts){.bots = 100,
                       .rate = 1,
                       .duration = 20,
                       .warmup = 2,
                       .disperse = 8,
                       .ramp = 5,
                       .login_timeout = 60,
                       .cmd_timeout = 10,
                       .drain = 5,
                       .mix = {1, 1, 1},
                       .prefix = "Bot",
                       .target = "dummy",
                       .password = "warren-bench-pw",
                       .trace = -1};
    const char *nodes = NULL, *pids = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() BENCH_NEEDV()
        if (strcmp(a, "--nodes") == 0) {
            NEEDV();
            nodes = v;
        } else if (strcmp(a, "--pids") == 0) {
            NEEDV();
            pids = v;
        } else if (strcmp(a, "--bots") == 0) {
            NEEDV();
            o->bots = (uint32_t)parse_num(a, v, 1, MB_MAX_BOTS);
        } else if (strcmp(a, "--rate") == 0) {
            NEEDV();
            o->rate = parse_num(a, v, 0.01, 100);
        } else if (strcmp(a, "--duration") == 0) {
            NEEDV();
            o->duration = parse_num(a, v, 0.1, MB_MAX_DURATION);
        } else if (strcmp(a, "--disperse") == 0) {
            NEEDV();
            o->disperse = (unsigned)parse_num(a, v, 0, 100);
        } else if (strcmp(a, "--warmup") == 0) {
            NEEDV();
            o->warmup = parse_num(a, v, 0, 60);
        } else if (strcmp(a, "--mode") == 0) {
            NEEDV();
            if (strcmp(v, "one-room") == 0) {
                o->one_room = true;
                o->mode = M_ONE_ROOM;
            } else if (strcmp(v, "combat") == 0) {
                o->mode = M_COMBAT;
            } else if (strcmp(v, "spread") != 0) {
                die("--mode: spread, one-room or combat");
            }
        } else if (strcmp(a, "--target") == 0) {
            NEEDV();
            o->target = v;
        } else if (strcmp(a, "--mix") == 0) {
            NEEDV();
            parse_mix(&mb, v);
        } else if (strcmp(a, "--count") == 0) {
            NEEDV();
            o->max_cmds = (uint32_t)parse_num(a, v, 0, 1e9);
        } else if (strcmp(a, "--ramp") == 0) {
            NEEDV();
            o->ramp = parse_num(a, v, 0, 600);
        } else if (strcmp(a, "--login-timeout") == 0) {
            NEEDV();
            o->login_timeout = parse_num(a, v, 1, 600);
        } else if (strcmp(a, "--cmd-timeout") == 0) {
            NEEDV();
            o->cmd_timeout = parse_num(a, v, 0.1, 120);
        } else if (strcmp(a, "--drain") == 0) {
            NEEDV();
            o->drain = parse_num(a, v, 0, 120);
        } else if (strcmp(a, "--password") == 0) {
            NEEDV();
            o->password = v;
        } else if (strcmp(a, "--prefix") == 0) {
            NEEDV();
            o->prefix = v;
        } else if (strcmp(a, "--json") == 0) {
            NEEDV();
            o->json_path = v;
        } else if (strcmp(a, "--mark-dir") == 0) {
            NEEDV();
            o->mark_dir = v;
        } else if (strcmp(a, "--seed") == 0) {
            NEEDV();
            o->seed = strtoull(v, NULL, 0);
        } else if (strcmp(a, "--trace") == 0) {
            NEEDV();
            o->trace = (int64_t)parse_num(a, v, 0, MB_MAX_BOTS - 1);
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "mudbots: unknown option %s\n", a);
            usage(stderr);
            return 1;
        }
#undef NEEDV
    }
    if (nodes == NULL) {
        usage(stderr);
        return 1;
    }
    bench_split(nodes, parse_node, &mb);
    if (mb.n_nodes == 0)
        die("--nodes: no node");
    if (pids != NULL)
        bench_split(pids, parse_pid, &mb);
    if (mb.n_pids != 0 && mb.n_pids != mb.n_nodes)
        die("--pids: give one pid per --nodes address, in the same order");
    size_t pwl = strlen(o->password);
    if (pwl == 0 || pwl > 64 || strpbrk(o->password, "\r\n\377") != NULL)
        die("--password: 1..64 bytes, no line breaks");
    /* Names: letters only, 3..16 (wr_mud_name_ok). */
    unsigned width = 3;
    while (width < 7 && pow(26, width) < o->bots)
        width++;
    size_t pl = strlen(o->prefix);
    for (size_t k = 0; k < pl; k++)
        if (!isalpha((unsigned char)o->prefix[k]))
            die("--prefix: letters only");
    if (pl + width > 16) {
        fprintf(stderr, "mudbots: --prefix: at most %u letters with %u bots\n", 16 - width,
                o->bots);
        return 1;
    }
    raise_nofile(o->bots);
    mb.clk_tck = sysconf(_SC_CLK_TCK);
    if (mb.clk_tck <= 0)
        mb.clk_tck = 100;

    mb.rng = o->seed ? o->seed : uv_hrtime() ^ ((uint64_t)getpid() << 32);
    mb.rng |= 1;
    mb.bots = calloc(o->bots, sizeof *mb.bots);
    mb.rbuf = malloc(MB_RBUF_SIZE);
    if (mb.bots == NULL || mb.rbuf == NULL)
        die("out of memory");
    for (uint32_t i = 0; i < o->bots; i++) {
        struct bot *b = &mb.bots[i];
        b->mb = &mb;
        b->idx = i;
        b->node = (uint16_t)(i % mb.n_nodes);
        b->last_dir = -1;
        b->tried_dir = -1;
        mb.nodes[b->node].bots++;
        bot_name(b->name, sizeof b->name, o->prefix, i, width);
    }
    for (uint32_t k = 0; k < mb.n_nodes; k++) {
        struct node_info *nd = &mb.nodes[k];
        nd->rss0_kb = nd->rss1_kb = nd->rss2_kb = -1;
        if (nd->pid > 0) {
            nd->rss0_kb = proc_rss_kb(nd->pid);
            nd->t_login0 = proc_ticks(nd->pid);
            if (nd->rss0_kb < 0)
                fprintf(stderr, "mudbots: warning: cannot read /proc/%d (pid of %s)\n", nd->pid,
                        nd->text);
        }
    }

    mb.loop = uv_default_loop();
    uv_timer_init(mb.loop, &mb.tick);
    mb.tick.data = &mb;
    uv_signal_init(mb.loop, &mb.sigint);
    uv_signal_init(mb.loop, &mb.sigterm);
    mb.sigint.data = mb.sigterm.data = &mb;
    uv_signal_start(&mb.sigint, on_signal, SIGINT);
    uv_signal_start(&mb.sigterm, on_signal, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    mb.start_ns = uv_hrtime();
    mb.m_start = mb.m_end = UINT64_MAX; /* nothing is measured before the run */
    uv_timer_start(&mb.tick, on_tick, 0, 1);
    uv_run(mb.loop, UV_RUN_DEFAULT);

    int rc = report(&mb);
    uv_loop_close(mb.loop);
    free(mb.bots);
    free(mb.rbuf);
    return rc;
}
