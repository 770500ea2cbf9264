/* Private to src/mud_node/: the state the MUD's node-side half keeps (struct
 * mnode, one per node; struct client, one per connection) and the functions
 * its files share. mud_node.c holds the game table and the lifecycle, and
 * routes clients' messages to mud_login.c (the login dialogue) and
 * mud_cmds.c (commands); mud_deliver.c renders events and owns the
 * terminal output; mud_duties.c does the leader's and the zone owners'
 * work; mud_api.c answers HTTP and MSSP. Everything here runs on the loop
 * thread. */
#ifndef WR_MUD_NODE_INTERNAL_H
#define WR_MUD_NODE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/bytes.h"
#include "common/u64map.h"
#include "mud/mud.h"
#include "mud_node/mud_node.h"
#include "mud_node/mud_text.h"
#include "node/clients.h"
#include "node/game.h"
#include "world/module.h"

#define TOKEN_BYTES 16
#define PW_MAX 256

/* A client (struct client) goes through these states:
 *   ASK_NAME          banner sent, waiting for a name. No session, no job.
 *                     A WebSocket may send resume here if it has answered
 *                     nothing yet.
 *   ASK_PASSWORD      an existing character's name was given (c->name);
 *                     input hidden. No session, no job.
 *   CHECKING          a verify job for c->name is queued or running
 *                     (c->job_pending). Input is ignored ("Please wait").
 *   CONFIRM_NEW       "Create a new character called X? (y/n)".
 *   ASK_NEW_PASSWORD  input hidden.
 *   CONFIRM_PASSWORD  input hidden; c->pw holds the first password.
 *   ASK_RACE          the passwords matched: the hash job started
 *                     (job_pending until it is done, then c->pw_hash holds
 *                     the hash and hash_ready is set); the race menu is
 *                     shown. Skipped when the world has one race.
 *   ASK_CLASS         c->race_key is chosen; the class menu. Skipped when
 *                     the world has one class.
 *   HASHING           race and class are chosen; the hash job is queued or
 *                     running (c->job_pending); c->pw is wiped.
 *   ENTERING          CREATE, LOGIN or RESUME submitted under c->session
 *                     (seq 1): waiting for ENTERED_GAME or REFUSED. The
 *                     session is bound in the client table.
 *   PLAYING           ENTERED_GAME applied for c->session: c->char_id set;
 *                     commands go through the log as (session, seq).
 *   CLOSING           quit submitted, taken over, or closing: nothing more
 *                     is submitted for it; the socket closes.
 * Invariants (assert_client_state in mud_login.c): a session key is set
 * exactly in ENTERING and PLAYING (and may linger in CLOSING); job_pending
 * only in CHECKING, ASK_RACE, ASK_CLASS and HASHING; hash_ready (and a
 * non-empty c->pw_hash) only in ASK_RACE and ASK_CLASS, never with
 * job_pending; c->pw is empty outside CONFIRM_PASSWORD;
 * char_id is set only in PLAYING (and CLOSING). Password bytes are never
 * echoed, logged or kept after a job takes them (sodium_memzero).
 *
 * The dialogue (ASK_NAME to ENTERING) is mud_login.c; ENTERED_GAME and
 * REFUSED are applied in mud_deliver.c; PLAYING runs mud_cmds.c. */
enum cstate {
    S_ASK_NAME,
    S_ASK_PASSWORD,
    S_CHECKING,
    S_CONFIRM_NEW,
    S_ASK_NEW_PASSWORD,
    S_CONFIRM_PASSWORD,
    S_ASK_RACE,
    S_ASK_CLASS,
    S_HASHING,
    S_ENTERING,
    S_PLAYING,
    S_CLOSING,
};

struct mnode;

struct client {
    struct mnode *node;
    struct wr_conn *conn;
    uint64_t id; /* never reused: jobs find their client by it */
    uint32_t slot;
    enum cstate state;
    bool ws;
    bool answered;    /* the ws client sent a line already (no resume then) */
    bool job_pending;
    bool hidden;      /* input hidden */
    bool want_prompt;
    bool dirty;       /* in n->dirty */
    bool players_dirty; /* owe a Room.Players */
    unsigned width;   /* ws: from "size"; telnet: asked each time */
    unsigned fails;
    uint64_t session;
    uint32_t next_seq;
    uint32_t char_id;
    uint64_t opened_at; /* uv_now */
    char name[WR_MUD_NAME_MAX + 1];
    char token[2 * TOKEN_BYTES + 1];
    char pw[PW_MAX];
    size_t pw_len;
    struct wr_tbuf out;
    /* a new character's choices (ASK_RACE, ASK_CLASS), keys of the world */
    char race_key[64], cls_key[64];
    char pw_hash[WR_MUD_PWHASH_MAX]; /* the hash, done before the choices */
    bool hash_ready;
    /* GMCP Char.Vitals last sent (sent again only when one changes) */
    bool vitals_sent;
    int64_t vitals[9];
};

/* A password job (mud_login.c); mud_destroy detaches the running ones. */
struct pwjob {
    uv_work_t req;
    struct mnode *n; /* NULL once the game is destroyed */
    uint64_t client_id;
    bool create;
    long ops, mem;
    char pw[PW_MAX];
    size_t pw_len;
    char hash[WR_MUD_PWHASH_MAX];
    int result;
    struct pwjob *next; /* in the pending FIFO or the running list */
    struct pwjob *prev_running, *next_running;
};

struct throttle;        /* mud_login.c */
struct zone_tick_state; /* mud_duties.c */

struct mnode {
    struct wr_node *wn;
    struct wr_world *world;
    uint64_t started_at; /* unix seconds (MSSP UPTIME) */

    struct wr_client_table clients; /* struct client *, by slot */
    struct wr_u64map by_id;         /* client id -> slot */
    uint64_t next_client_id;
    uint32_t *dirty;
    size_t n_dirty, cap_dirty;

    /* password jobs */
    struct pwjob *pend_head, *pend_tail;
    struct pwjob *running;
    unsigned in_flight, max_jobs;

    struct throttle *throttles;
    size_t n_throttles;

    /* leader: world loading, placement */
    uint8_t *bundle;
    size_t bundle_len;
    uint8_t bundle_hash[16];
    uint64_t last_world_push, last_world_read;
    uint64_t last_rebalance;
    uint64_t last_expiry_round;
    uint64_t last_presence_round;

    /* owner: zone ticks */
    struct zone_tick_state *zt;
    size_t n_zt;
    const struct wr_mud_model *zt_model;

    /* MSSP strings */
    char mssp_buf[10][32];

    /* metrics */
    uint64_t commands, pwhash_jobs, zone_ticks;
};

/* Zone loads: rooms + 2*NPCs + 4*players. */
struct zone_load {
    uint64_t load;
    uint32_t npcs, players;
};

/* Settings (the table is in mud_node.c) */
extern char wr__mud_world_dir[512];
extern long wr__mud_pwhash_ops;
extern long wr__mud_pwhash_mem;
extern long wr__mud_login_timeout;
extern char wr__mud_contact[128];
extern char wr__mud_hostname[128];
extern long wr__mud_port;

static inline const struct wr_mud *wr__mud_state(struct mnode *n)
{
    return wr_world_module(n->world, WR_MODULE_MUD);
}

static inline const char *wr__mud_state_name(enum wr_mud_char_state s)
{
    return s == WR_MUD_ONLINE ? "online" : s == WR_MUD_LINKDEAD ? "linkdead" : "offline";
}

/* ---- mud_node.c: clients ------------------------------------------------ */

/* Wipe c->pw (sodium_memzero) and empty it. */
void wr__mud_wipe_pw(struct client *c);

/* Submit a session command of @c (its session, its next seq) with
 * @payload (may be NULL; not kept). Returns 0, or -1 if the queue is full:
 * the client was told. */
int wr__mud_submit(struct client *c, uint8_t type, const struct wr_writer *payload);

/* The character @c plays, or NULL outside PLAYING or if it is gone. */
const struct wr_mud_char *wr__mud_my_char(struct client *c);

/* Unbind c->session from the client table and clear it (if set). */
void wr__mud_forget_session(struct mnode *n, struct client *c);

/* ---- mud_login.c: the login dialogue ------------------------------------ */

/* Ask for a name (state ASK_NAME). */
void wr__mud_start_dialogue(struct client *c);

/* One line from the user (@line, @len bytes, not NUL-terminated): a login
 * answer or a command, by c->state. */
void wr__mud_on_line(struct client *c, const char *line, size_t len);

/* A WebSocket {"t":"resume","token":...} message; @msg is borrowed. */
void wr__mud_handle_resume(struct client *c, json_t *msg);

/* ---- mud_cmds.c: commands ----------------------------------------------- */

/* Run a PLAYING client's command line (control bytes are dropped). */
void wr__mud_run_command(struct client *c, const char *raw, size_t raw_len);

/* Describe @room to @c: name, description, exits, items, NPCs, players. */
void wr__mud_show_room(struct client *c, uint32_t room);

/* ---- cmd_progress.c: the character sheet ---------------------------------- */

/* `score`: @me's race, class, level, experience, pools, stats, armour,
 * gold, kills and deaths, running effects (from this node's replica). */
void wr__mud_show_score(struct client *c, const struct wr_mud_char *me);

/* ---- cmd_*.c: the gameplay areas' commands (tables in mud_text.h) -------- */
/* If @line (@len bytes, control bytes removed) starts with the full name
 * of a skill @c knows / of a social, submit it and return true. */
bool wr__mud_try_skill(struct client *c, const char *line, size_t len);
bool wr__mud_try_social(struct client *c, const char *line, size_t len);
/* ... of a verb of the world's item uses ("drink potion"): submit a USE. */
bool wr__mud_try_use(struct client *c, const char *line, size_t len);
/* cmd_items.c: look at / examine @what (@len bytes): an item @me carries,
 * wears or sees here (its description and stats), or a corpse (what it
 * holds); with @in, `look in` it. False if nothing such is there. */
bool wr__mud_items_look(struct client *c, const struct wr_mud_char *me, const char *what,
                        size_t len, bool in);
/* The corpses lying in @room, for the room's description. */
void wr__mud_items_room(struct client *c, uint32_t room);
/* The gold and equipment line of `inventory`. */
void wr__mud_items_inventory(struct client *c, const struct wr_mud_char *me);
/* Submit a session command whose payload is the given strings (u8 length
 * each; NULL is ""). */
void wr__mud_submit_strs(struct client *c, uint8_t type, const char *a, const char *b);
/* Split @args into its first word (@w, at most @cap - 1 bytes) and the
 * rest (returned, with its length in *@rest_len). */
const char *wr__mud_first_word(const char *args, size_t len, char *w, size_t cap,
                               size_t *rest_len);
/* On entering the game: tell @c how many unread letters it has, if any
 * (cmd_quest.c). */
void wr__mud_mail_notice(struct client *c);

/* ---- mud_deliver.c: the terminal layer and events ----------------------- */

/* Put @c on the list flushed in mud_flush (once). */
void wr__mud_mark_dirty(struct client *c);

/* Send @obj as one WebSocket text message; takes the reference to @obj. */
void wr__mud_send_json(struct client *c, json_t *obj);

/* Send the buffered text now (before a message of another kind). */
void wr__mud_term_flush_text(struct client *c);

/* Append text to c's output (sent at the next flush). */
void wr__mud_out(struct client *c, const char *text);
void wr__mud_outf(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append @text wrapped to the client's width, continuation lines indented
 * by @indent. */
void wr__mud_out_wrapped(struct client *c, const char *text, unsigned indent);

/* A question of the login dialogue: text and a prompt. */
void wr__mud_ask(struct client *c, const char *question);

/* Hide or show the user's typing (telnet WILL/WONT ECHO; ws "echo"). */
void wr__mud_hide_input(struct client *c, bool hide);

/* A WebSocket error message {"t":"error"}; nothing for telnet. */
void wr__mud_send_error(struct client *c, const char *code, const char *msg);

/* Flush the text and close the connection (state CLOSING). mud_close
 * frees the client later; @c stays valid until then. */
void wr__mud_close_client(struct client *c, uint16_t code, const char *reason);

/* Send what c owes: Room.Players, the text, the prompt. */
void wr__mud_flush_client(struct client *c);

/* wr_mud_game.on_event */
void wr__mud_event(void *g, const struct wr_event *ev);

/* ---- mud_duties.c: the leader's and the zone owners' duties -------------- */

/* Is the replica running the world whose hash is @hash? */
bool wr__mud_world_is(struct mnode *n, const uint8_t hash[16]);

/* Make @bundle (copied) the upload in progress if it is a valid world.
 * Returns 0 with its hash in @hash, or -1 with "FILE:LINE:COLUMN: ..." in
 * @err; the running world is untouched either way until the chunks
 * apply. */
int wr__mud_start_upload(struct mnode *n, const uint8_t *bundle, size_t len, uint8_t hash[16],
                         char *err, size_t errlen);

/* Fill @zl (one per zone of the loaded model, which must exist). */
void wr__mud_zone_loads(struct mnode *n, struct zone_load *zl);

/* wr_mud_game.on_leader_ready, .leader_tick and .tick */
void wr__mud_leader_ready(void *g, uint64_t term);
void wr__mud_leader_tick(void *g);
void wr__mud_tick(void *g);

/* ---- mud_api.c: HTTP, MSSP, version ------------------------------------- */

/* Characters not OFFLINE. */
size_t wr__mud_count_online(const struct wr_mud *ms);

/* wr_mud_game.on_request and .version */
bool wr__mud_request(void *g, struct wr_http_conn *conn, const struct wr_http_request *req);
void wr__mud_version(void *g, char *out_, size_t len);

#endif
