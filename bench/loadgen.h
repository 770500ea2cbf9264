/* loadgen.h: what the two halves of loadgen share: the clients' and the
 * run's state, and the calls between them. loadgen.c has the options, the
 * clock and its phases, the verification and the report; loadgen_ws.c is
 * a client's socket: connect, the WebSocket upgrade and framing, and reading
 * the server's messages (JSON and binary updates). The top comment of
 * loadgen.c says how it works and why it is built that way. */
#ifndef WR_LOADGEN_H
#define WR_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#define BENCH_NAME "loadgen"
#include "benchlib.h"

#define LG_MAX_NODES 16
#define LG_MAX_WINDOW 64
#define LG_MAX_MSG (64u << 20)    /* largest server message accepted */
#define LG_MAX_HANDSHAKE 8192     /* largest HTTP upgrade response */
#define LG_RBUF_SIZE (256u << 10) /* shared read buffer */
#define LG_HIST 64                /* send times kept per client, by seq */

/* ---- state -------------------------------------------------------------- */

enum client_state {
    C_IDLE,       /* not started */
    C_CONNECTING, /* TCP connect in flight */
    C_HANDSHAKE,  /* upgrade request sent, waiting for 101 */
    C_JOINING,    /* join sent, waiting for welcome */
    C_JOINED,     /* welcome received: player_id valid, may send moves */
    C_CLOSED,     /* uv_close requested or done; nothing more happens */
};

struct inflight {
    uint32_t seq;
    uint64_t sent_ns;
};

struct lg;

struct client {
    uv_tcp_t tcp;
    uv_connect_t creq;
    struct bench_out wr; /* wr.wreq.data: this client */
    struct lg *lg;
    uint32_t idx;
    uint16_t node;
    uint8_t state;
    bool was_joined; /* reached C_JOINED at some point */
    bool lost;       /* closed by the peer or an error, not by us */
    char accept[32]; /* expected Sec-WebSocket-Accept */
    char name[17];
    char needle[24]; /* {"id":ID, */
    uint8_t needle_len;
    uint32_t player_id;
    uint32_t last_seq;  /* last move seq sent */
    uint32_t acked_seq; /* highest own seq seen in an update */
    /* the watched player (see the top): another client's */
    uint32_t watch_id, watch_seen;
    char wneedle[24];
    uint8_t wneedle_len;
    uint32_t sent_seq[LG_HIST]; /* this client's moves: seq and send time */
    uint64_t sent_at[LG_HIST];
    uint8_t rhead, rcount;
    struct inflight ring[LG_MAX_WINDOW];
    struct buf in;   /* unparsed input (partial frame) */
    struct buf frag; /* fragmented message being assembled */
    uint8_t frag_op;
};

struct node_info {
    char text[64];
    struct sockaddr_in addr;
    uint32_t clients, joined, open;
    bool survived;      /* still had a client connected when the run ended */
    uint32_t *ack_bins; /* acks per ms of the measured window and the drain */
};

enum phase { PH_JOIN, PH_RUN, PH_DRAIN, PH_LEAVE, PH_DONE };

struct opts {
    uint32_t clients;
    double rate;
    uint32_t window;
    double duration, warmup, drain, join_timeout;
    uint32_t connect_parallel;
    const char *prefix;
    const char *json_path;
    const char *mark_dir;
    bool verify;
    const char *verify_node;
    double verify_timeout;
    bool use_jansson;
    bool binary;
    bool quiet;
    uint64_t seed;
};

struct lg {
    struct opts o;
    uv_loop_t *loop;
    uv_timer_t tick;
    uv_signal_t sigint, sigterm;
    struct node_info nodes[LG_MAX_NODES];
    uint32_t n_nodes;
    struct client *clients;
    char *rbuf;
    uint64_t rng;
    enum phase phase;
    bool interrupted;

    /* join phase */
    uint32_t next_connect, handshaking, joined, join_failed;
    uint64_t start_ns, join_deadline, t0, join_ns;
    /* run phase */
    uint64_t m_start, m_end, drain_deadline, leave_deadline, next_event, events_skipped;
    uint64_t n_bins; /* ack bins (ms) per node: duration + drain */
    bool marked_start;
    double cpu_start_s, cpu_end_s; /* this process's CPU time at m_start, m_end */
    uint64_t cpu_start_ns, cpu_end_ns;
    /* stats (measured window unless said otherwise) */
    uint64_t moves_sent, moves_acked, moves_failed, throttled;
    uint64_t moves_sent_total, moves_acked_total;
    uint64_t frames_in, bytes_in, frames_in_total;
    uint64_t disconnects, connect_errors, handshake_errors, protocol_errors;
    uint64_t jansson_fallbacks, unacked_at_end;
    struct hist lat, lag, others;
    struct code_count errors[BENCH_MAX_CODES];
    uint32_t n_errors;
    struct code_count closes[BENCH_MAX_CODES];
    uint32_t n_closes;
    /* verification */
    bool verify_done, verify_ok;
    uint32_t verify_checked, acked_lost, verify_attempts;
    char verify_error[160];
};

static inline bool in_window(const struct lg *lg, uint64_t t)
{
    return t >= lg->m_start && t < lg->m_end;
}

/* ---- loadgen_ws.c: a client's socket ------------------------------------ */

/* Start @c's TCP connect to its node (C_IDLE to C_CONNECTING); the upgrade
 * and the join follow from the loop's callbacks. A failure to start counts
 * as a join failure and leaves @c C_IDLE or C_CLOSED. */
void client_start(struct client *c);

/* Close @c once (any state; a no-op when C_IDLE or C_CLOSED). @lost: the
 * peer or an error ended it (a disconnect), as opposed to the end of the
 * run. The buffers are freed in the close callback. */
void client_close(struct client *c, bool lost);

/* Send @text (@len bytes, at most 512) as one masked text frame; an error
 * closes @c. Does nothing when @c is C_IDLE or C_CLOSED. */
void ws_send_text(struct client *c, const char *text, size_t len);

/* The value of header @name in the HTTP head @head (@len bytes): a pointer
 * just after the colon, or NULL. Case-insensitive on the name. */
const char *find_header(const char *head, size_t len, const char *name);

/* --bench-parse: time the update scanner against jansson on a 333-player
 * frame, print the result; returns the exit status. */
int bench_parse(void);

#endif
