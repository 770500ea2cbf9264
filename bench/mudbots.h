/* mudbots.h: what the two halves of mudbots share: the bots' and the
 * run's state. mudbots.c drives the sockets, the phases and the report;
 * mudbots_proto.c reads what the node sends (telnet, the login dialogue,
 * the replies to commands) and picks the next command. The top comment of
 * mudbots.c says how it works. */
#ifndef WR_MUDBOTS_H
#define WR_MUDBOTS_H

#define BENCH_NAME "mudbots"
#include "benchlib.h"

#define MB_MAX_BOTS 20000
#define MB_MAX_DURATION 600.0
#define MB_MAX_NODES 16
#define MB_RBUF_SIZE (256u << 10) /* shared read buffer */
#define MB_TEXT_CAP (64u << 10)   /* one segment's text; beyond, keep the tail */
#define MB_SB_MAX 64              /* subnegotiation bytes kept (TTYPE SEND) */
#define MB_OUT_MAX (64u << 10)    /* queued output before the bot gives up */

/* ---- state -------------------------------------------------------------- */

enum bot_state { B_IDLE, B_CONNECTING, B_LOGIN, B_GAME, B_QUITTING, B_CLOSED };

/* B_LOGIN: the question the bot waits for. */
enum login_step {
    L_NAME,       /* "name": send the name */
    L_AFTER_NAME, /* "(y/n)"/"create": new name, send y; "password": existing */
    L_PW1,        /* "password": send it */
    L_PW2,        /* "again|confirm|retype": send it again */
    L_ENTER,      /* passwords sent: menus ("number or name") get "1"; the
                     room's exits line before a prompt mark means in game */
};

enum cmd_kind { K_LOOK, K_MOVE, K_SAY, K_KILL, K_N };
BENCH_UNUSED static const char *const KIND_NAME[K_N] = {"look", "move", "say", "kill"};
enum { M_SPREAD, M_ONE_ROOM, M_COMBAT };
BENCH_UNUSED static const char *const MODE_NAME[] = {"spread", "one-room", "combat"};

enum telnet_state { TS_DATA, TS_IAC, TS_OPT, TS_SB, TS_SB_IAC };
enum ansi_state { A_NONE, A_ESC, A_CSI };

struct mb;

struct bot {
    uv_tcp_t tcp;
    uv_connect_t creq;
    struct bench_out wr; /* wr.wreq.data: this bot */
    struct mb *mb;
    uint32_t idx;
    uint16_t node;
    uint8_t state; /* enum bot_state */
    uint8_t step;  /* enum login_step (B_LOGIN) */
    uint8_t kind;  /* enum cmd_kind of the command in flight */
    uint8_t ts;    /* enum telnet_state */
    uint8_t verb;  /* WILL/WONT/DO/DONT being read (TS_OPT) */
    uint8_t ansi;  /* enum ansi_state */
    uint8_t sb_len;
    bool in_flight; /* B_GAME: a command awaits its reply */
    bool early;     /* this command already saw a prompt without its marker */
    bool echo_seen; /* say: "You say" seen */
    bool naws_on, ttype_on;
    bool fighting; /* combat: a fight of ours is under way */
    bool was_in_game, existing, lost;
    uint16_t walk_left; /* dispersal moves still to make after login */
    int8_t last_dir;    /* the direction of the last successful move, or -1 */
    int8_t tried_dir;   /* the move in flight */
    uint16_t exits;     /* bit d: exit d seen in the last exits line */
    uint16_t bad;       /* bit d: a move that way failed in this room */
    char name[17];
    uint8_t sb[MB_SB_MAX];
    uint8_t menus; /* login menus answered (race, class) */
    uint32_t says, sent;
    uint32_t replies; /* replies recognised since the run began (combat: and rounds) */
    uint64_t t_connect, t_sent, t_next, deadline;
    struct buf text; /* the segment since the last prompt mark or step */
};

struct node_info {
    char text[64];
    struct sockaddr_in addr;
    int pid; /* 0: none given */
    uint32_t bots, in_game;
    long rss0_kb, rss1_kb, rss2_kb;                        /* before connects, after login, end */
    unsigned long long t_login0, t_login1, t_run0, t_run1; /* utime+stime ticks */
};

enum phase { PH_LOGIN, PH_RUN, PH_DRAIN, PH_QUIT, PH_DONE };

struct opts {
    uint32_t bots;
    double rate, duration, warmup, ramp, login_timeout, cmd_timeout, drain;
    bool one_room;
    int mode;           /* M_SPREAD, M_ONE_ROOM, M_COMBAT */
    const char *target; /* combat: the keyword of the NPCs to attack */
    unsigned disperse;  /* moves each bot makes right after login (spread) */
    unsigned mix[K_N];  /* weights */
    uint32_t max_cmds;  /* per bot, 0: no limit */
    const char *prefix, *password, *json_path, *mark_dir;
    uint64_t seed;
    bool quiet;
    int64_t trace; /* --trace: the bot whose bytes go to stderr, or -1 */
};

struct mb {
    struct opts o;
    uv_loop_t *loop;
    uv_timer_t tick;
    uv_signal_t sigint, sigterm;
    struct node_info nodes[MB_MAX_NODES];
    uint32_t n_nodes, n_pids;
    struct bot *bots;
    char *rbuf;
    uint64_t rng;
    enum phase phase;
    bool interrupted, marked_start;
    long clk_tck;

    uint64_t start_ns, login_end_ns, m_start, m_end, drain_deadline, quit_deadline;
    uint32_t next_connect, connecting, in_game, login_failed, created, existing;
    double cpu_start_s, cpu_end_s;

    /* measured window unless said otherwise */
    uint64_t sent[K_N], done[K_N], timeouts[K_N];
    uint64_t early_prompts, async_prompts, move_failed, late_sends, bytes_in;
    uint64_t disconnects;
    uint64_t rounds, npc_deaths, bot_deaths, kill_refused; /* combat */
    struct hist lat[K_N], echo, login;
    struct code_count errors[BENCH_MAX_CODES];
    uint32_t n_errors;

    /* Why a run went wrong: what bots saw and did not understand. */
    uint64_t menus;                /* login menu questions answered, all bots */
    uint64_t odd_login, odd_reply; /* texts not understood (login; reply of a command) */
    char odd_login_text[160];      /* the first of each, for the error line */
    char odd_reply_text[160];
};

static inline double rng_unit(struct mb *mb)
{
    return (double)(bench_rng_next(&mb->rng) >> 11) / 9007199254740992.0;
}

static inline bool in_window(const struct mb *mb, uint64_t t)
{
    return t >= mb->m_start && t < mb->m_end;
}

/* mudbots.c: the output path and the end of a bot. */
void bot_write(struct bot *b, const void *data, size_t len);
void bot_send_line(struct bot *b, const char *line);
void bot_close(struct bot *b, bool lost, const char *why);

/* mudbots_proto.c */
void bot_input(struct bot *b, const uint8_t *p, size_t n, uint64_t now);
void send_command(struct bot *b, uint64_t now);
void assert_bot_state(const struct bot *b);
void bot_trace(const struct bot *b, const char *dir, const void *p, size_t n);

#endif /* WR_MUDBOTS_H */
