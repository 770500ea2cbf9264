/* The MUD's node-side half (node/game.h, mud_node.h): its clients over
 * telnet and over the WebSocket /mud/ws (docs/protocol.md), the login
 * dialogue, commands, event delivery to this node's own clients, and the
 * duties of the leader (world loading, zone placement, expiries) and of a
 * zone's owner (ZONE_TICK).
 *
 * A client (struct client) goes through these states:
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
 *   HASHING           a hash job is queued or running (c->job_pending);
 *                     c->pw is wiped.
 *   ENTERING          CREATE, LOGIN or RESUME submitted under c->session
 *                     (seq 1): waiting for ENTERED_GAME or REFUSED. The
 *                     session is bound in the client table.
 *   PLAYING           ENTERED_GAME applied for c->session: c->char_id set;
 *                     commands go through the log as (session, seq).
 *   CLOSING           quit submitted, taken over, or closing: nothing more
 *                     is submitted for it; the socket closes.
 * Invariants (assert_client_state): a session key is set exactly in
 * ENTERING and PLAYING (and may linger in CLOSING); job_pending only in
 * CHECKING and HASHING; c->pw is empty outside CONFIRM_PASSWORD; char_id
 * is set only in PLAYING (and CLOSING). Password bytes are never echoed,
 * logged or kept after a job takes them (sodium_memzero).
 *
 * Password hashing (argon2id, tens of ms and 64 MiB each) runs on the
 * libuv thread pool, at most max_jobs at once; the rest wait in a FIFO. A
 * job refers to its client by a never-reused id, so a client that closed
 * while its job ran is simply not found by the after-work callback.
 *
 * Output: everything a command or an event produces for a client is
 * appended to its buffer and sent in flush (once per loop iteration) or at
 * the end of the client's own message: one text message (ws) or one send
 * (telnet), then the prompt. GMCP, echo and welcome messages flush the
 * text before them, so the order on the wire is the order of the calls.
 *
 * Reads (look, who, score...) come from this node's replica; changes are
 * session commands, and their results are rendered when their events are
 * applied here. */
#include "mud_node/mud_node.h"

#include <assert.h>
#include <jansson.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster/raft_glue.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/u64map.h"
#include "mud/mud.h"
#include "mud_node/mud_text.h"
#include "mud/worldfile.h"
#include "net/conn.h"
#include "net/telnet.h"
#include "node/clients.h"
#include "node/game.h"

#define TOKEN_BYTES 16
#define PW_MAX 256
#define PW_MIN 6
#define FAIL_START_MS 1000
#define FAIL_MAX_MS 30000
#define MAX_FAILS_PER_CONN 3
#define THROTTLE_MAX 4096
#define MAP_RADIUS 3
#define PROMPT "> "

enum cstate {
    S_ASK_NAME,
    S_ASK_PASSWORD,
    S_CHECKING,
    S_CONFIRM_NEW,
    S_ASK_NEW_PASSWORD,
    S_CONFIRM_PASSWORD,
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
};

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

struct throttle {
    char key[80];
    uint32_t delay_ms;
    uint64_t next_ok; /* uv_now */
    uint64_t last;
};

struct zone_tick_state {
    uint64_t due;      /* the due time we proposed a tick for */
    uint64_t epoch;
    uint64_t sent_at;  /* uv_now */
};

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

/* Settings */
static char mud_world_dir[512];
static long mud_pwhash_ops = 2;          /* crypto_pwhash_OPSLIMIT_INTERACTIVE */
static long mud_pwhash_mem = 67108864;   /* crypto_pwhash_MEMLIMIT_INTERACTIVE */
static long mud_login_timeout = 120000;
static char mud_contact[128] = "";
static char mud_hostname[128] = "";
static long mud_port = 5555;

static const struct wr_mud *mud_state(struct mnode *n)
{
    return wr_world_module(n->world, WR_MODULE_MUD);
}

static void assert_client_state(const struct client *c)
{
#ifndef NDEBUG
    bool has_session = c->state == S_ENTERING || c->state == S_PLAYING;
    if (has_session)
        assert(c->session != 0);
    else if (c->state != S_CLOSING)
        assert(c->session == 0);
    if (c->job_pending)
        assert(c->state == S_CHECKING || c->state == S_HASHING || c->state == S_CLOSING);
    if (c->state != S_CONFIRM_PASSWORD)
        assert(c->pw_len == 0);
    if (c->state != S_PLAYING && c->state != S_CLOSING)
        assert(c->char_id == 0);
#else
    (void)c;
#endif
}

/* ---- the terminal layer ------------------------------------------------ */

static void mark_dirty(struct client *c)
{
    struct mnode *n = c->node;
    if (c->dirty)
        return;
    c->dirty = true;
    if (n->n_dirty == n->cap_dirty) {
        n->cap_dirty = n->cap_dirty ? n->cap_dirty * 2 : 64;
        n->dirty = wr_realloc(n->dirty, n->cap_dirty * sizeof *n->dirty);
    }
    n->dirty[n->n_dirty++] = c->slot;
}

static void send_json(struct client *c, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (text == NULL)
        return;
    wr_conn_send(c->conn, text, strlen(text));
    free(text);
}

/* Send the buffered text now (before a message of another kind). */
static void term_flush_text(struct client *c)
{
    if (c->out.len == 0)
        return;
    if (c->ws) {
        send_json(c, json_pack("{s:s, s:s%}", "t", "text", "data", c->out.p, c->out.len));
    } else {
        struct wr_telnet *t = (struct wr_telnet *)c->conn;
        if (wr_telnet_color(t)) {
            wr_telnet_send(t, c->out.p, c->out.len);
        } else {
            struct wr_tbuf plain;
            wr_tbuf_init(&plain);
            wr_mud_strip_ansi(&plain, c->out.p, c->out.len);
            wr_telnet_send(t, wr_tbuf_str(&plain), plain.len);
            wr_tbuf_free(&plain);
        }
    }
    c->out.len = 0;
    if (c->out.p)
        c->out.p[0] = '\0';
}

static void out(struct client *c, const char *text)
{
    if (c->state == S_CLOSING && c->conn == NULL)
        return;
    wr_tbuf_puts(&c->out, text);
    if (c->state == S_PLAYING)
        c->want_prompt = true;
    mark_dirty(c);
}

static void outf(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct client *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    out(c, buf);
}

static unsigned term_width(const struct client *c)
{
    unsigned w = c->ws ? c->width : wr_telnet_width((const struct wr_telnet *)c->conn);
    if (w < 20)
        w = 80;
    return w > 200 ? 200 : w;
}

static void out_wrapped(struct client *c, const char *text, unsigned indent)
{
    wr_mud_wrap(&c->out, text, strlen(text), term_width(c), indent);
    if (c->state == S_PLAYING)
        c->want_prompt = true;
    mark_dirty(c);
}

static void term_prompt(struct client *c, const char *p)
{
    term_flush_text(c);
    if (c->ws)
        send_json(c, json_pack("{s:s, s:s}", "t", "prompt", "data", p));
    else
        wr_telnet_prompt((struct wr_telnet *)c->conn, p, strlen(p));
    c->want_prompt = false;
}

/* A question of the login dialogue: text and a prompt. */
static void ask(struct client *c, const char *question)
{
    term_prompt(c, question);
}

static void hide_input(struct client *c, bool hide)
{
    term_flush_text(c);
    c->hidden = hide;
    if (c->ws)
        send_json(c, json_pack("{s:s, s:b}", "t", "echo", "on", !hide));
    else
        wr_telnet_hide_input((struct wr_telnet *)c->conn, hide);
}

/* @json is a JSON value's text. */
static void gmcp(struct client *c, const char *pkg, const char *json)
{
    term_flush_text(c);
    if (c->ws) {
        json_error_t err;
        json_t *data = json_loads(json, JSON_DECODE_ANY, &err);
        if (data == NULL)
            return;
        send_json(c, json_pack("{s:s, s:s, s:o}", "t", "gmcp", "pkg", pkg, "data", data));
    } else {
        wr_telnet_gmcp((struct wr_telnet *)c->conn, pkg, json);
    }
}

/* Does this client take GMCP package @pkg? (The browser always does.)
 * Checked before a payload is built: most telnet clients take none, and
 * building Room.Players in a crowded room costs a JSON object a player. */
static bool wants_gmcp(const struct client *c, const char *pkg)
{
    return c->ws || wr_telnet_gmcp_supports((const struct wr_telnet *)c->conn, pkg);
}

static void gmcp_obj(struct client *c, const char *pkg, json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(data);
    if (text != NULL) {
        gmcp(c, pkg, text);
        free(text);
    }
}

static void send_error(struct client *c, const char *code, const char *msg)
{
    if (!c->ws)
        return;
    term_flush_text(c);
    send_json(c, json_pack("{s:s, s:s, s:s}", "t", "error", "code", code, "msg", msg));
}

static void send_status(struct mnode *n, struct client *c)
{
    if (!c->ws)
        return;
    send_json(c, wr_node_status_json(n->wn));
}

static void close_client(struct client *c, uint16_t code, const char *reason)
{
    term_flush_text(c);
    c->state = S_CLOSING;
    c->want_prompt = false;
    if (c->ws)
        wr_conn_close(c->conn, code, reason);
    else
        wr_telnet_close((struct wr_telnet *)c->conn, NULL); /* the text said why */
}

/* ---- clients ----------------------------------------------------------- */

static struct client *client_by_id(struct mnode *n, uint64_t id)
{
    uint32_t slot;
    if (!wr_u64map_get(&n->by_id, id, &slot))
        return NULL;
    return wr_client_table_at(&n->clients, slot);
}

static void wipe_pw(struct client *c)
{
    sodium_memzero(c->pw, sizeof c->pw);
    c->pw_len = 0;
}

/* Submit a session command; 0, or -1 (queue full: the client was told). */
static int submit(struct client *c, uint8_t type, const struct wr_writer *payload)
{
    if (wr_node_submit_session(c->node->wn, WR_MODULE_MUD, type, c->session, &c->next_seq,
                               payload) != 0) {
        out(c, "The world is busy; try again.\n");
        return -1;
    }
    c->node->commands++;
    return 0;
}

static const struct wr_mud_char *my_char(struct client *c)
{
    if (c->char_id == 0)
        return NULL;
    return wr_mud_char_by_id(mud_state(c->node), c->char_id);
}

static void start_dialogue(struct client *c)
{
    c->state = S_ASK_NAME;
    ask(c, "By what name are you known? ");
}

static void mud_open(void *g, struct wr_conn *conn)
{
    struct mnode *n = g;
    struct client *c = wr_calloc(1, sizeof *c);
    c->node = n;
    c->conn = conn;
    c->ws = conn->kind == WR_CONN_WEBSOCKET;
    c->width = 80;
    c->id = ++n->next_client_id;
    c->opened_at = uv_now(wr_node_loop(n->wn));
    wr_tbuf_init(&c->out);
    c->slot = wr_client_table_add(&n->clients, c);
    wr_u64map_put(&n->by_id, c->id, c->slot);
    wr_conn_set_data(conn, c);
    send_status(n, c);
    const struct wr_mud_model *m = wr_mud_model(mud_state(n));
    out(c, WR_ANSI_BOLD);
    out(c, m && m->name ? m->name : "Warren");
    out(c, WR_ANSI_RESET "\n");
    if (m == NULL)
        out(c, "(The world is still being built: you may log in, but wait a moment to play.)\n");
    out(c, "\n");
    start_dialogue(c);
}

static void forget_session(struct mnode *n, struct client *c)
{
    if (c->session != 0) {
        wr_client_table_unbind(&n->clients, c->session);
        c->session = 0;
    }
}

static void mud_close(void *g, struct wr_conn *conn)
{
    struct mnode *n = g;
    struct client *c = wr_conn_data(conn);
    if (c == NULL)
        return;
    /* A character whose connection drops stays, link-dead, for the grace
     * period. ENTERING too: a LOGIN that lands after the close would leave
     * an ONLINE character nobody plays; DISCONNECT follows it in order. */
    if ((c->state == S_ENTERING || c->state == S_PLAYING) && !wr_node_stopping(n->wn))
        submit(c, WR_MUD_DISCONNECT, NULL);
    forget_session(n, c);
    wipe_pw(c);
    wr_u64map_del(&n->by_id, c->id);
    wr_client_table_remove(&n->clients, c->slot);
    wr_tbuf_free(&c->out);
    free(c);
}

/* ---- failed logins ------------------------------------------------------ */

static struct throttle *throttle_get(struct mnode *n, const char *key, bool create, uint64_t now)
{
    for (size_t i = 0; i < n->n_throttles; i++)
        if (strcmp(n->throttles[i].key, key) == 0)
            return &n->throttles[i];
    if (!create)
        return NULL;
    if (n->throttles == NULL)
        n->throttles = wr_calloc(THROTTLE_MAX, sizeof *n->throttles);
    size_t slot = n->n_throttles;
    if (slot == THROTTLE_MAX) {
        /* full: reuse the entry idle the longest */
        slot = 0;
        for (size_t i = 1; i < n->n_throttles; i++)
            if (n->throttles[i].last < n->throttles[slot].last)
                slot = i;
    } else {
        n->n_throttles++;
    }
    struct throttle *t = &n->throttles[slot];
    memset(t, 0, sizeof *t);
    snprintf(t->key, sizeof t->key, "%s", key);
    t->last = now;
    return t;
}

static void peer_host(const struct client *c, char *out_, size_t len)
{
    const char *peer = wr_conn_peer(c->conn);
    snprintf(out_, len, "%s", peer ? peer : "?");
    char *colon = strrchr(out_, ':');
    if (colon != NULL && strchr(out_, ':') != colon) {
        /* [v6]:port */
        if (out_[0] == '[') {
            char *rb = strchr(out_, ']');
            if (rb) {
                *rb = '\0';
                memmove(out_, out_ + 1, strlen(out_ + 1) + 1);
            }
        }
    } else if (colon != NULL) {
        *colon = '\0';
    }
}

static void throttle_keys(const struct client *c, char name_key[80], char addr_key[80])
{
    char host[64];
    peer_host(c, host, sizeof host);
    char lower[WR_MUD_NAME_MAX + 1];
    size_t i = 0;
    for (; c->name[i] && i < WR_MUD_NAME_MAX; i++)
        lower[i] = (char)((c->name[i] >= 'A' && c->name[i] <= 'Z') ? c->name[i] + 32 : c->name[i]);
    lower[i] = '\0';
    snprintf(name_key, 80, "n:%s", lower);
    snprintf(addr_key, 80, "a:%s", host);
}

/* ms to wait before an attempt for c->name from c's address is accepted. */
static uint64_t throttle_wait(struct mnode *n, const struct client *c, uint64_t now)
{
    char nk[80], ak[80];
    throttle_keys(c, nk, ak);
    uint64_t wait = 0;
    const struct throttle *t;
    if ((t = throttle_get(n, nk, false, now)) != NULL && t->next_ok > now)
        wait = t->next_ok - now;
    if ((t = throttle_get(n, ak, false, now)) != NULL && t->next_ok > now && t->next_ok - now > wait)
        wait = t->next_ok - now;
    return wait;
}

static void throttle_fail(struct mnode *n, const struct client *c, uint64_t now)
{
    char keys[2][80];
    throttle_keys(c, keys[0], keys[1]);
    for (int i = 0; i < 2; i++) {
        struct throttle *t = throttle_get(n, keys[i], true, now);
        t->delay_ms = t->delay_ms ? t->delay_ms * 2 : FAIL_START_MS;
        if (t->delay_ms > FAIL_MAX_MS)
            t->delay_ms = FAIL_MAX_MS;
        t->next_ok = now + t->delay_ms;
        t->last = now;
    }
}

static void throttle_ok(struct mnode *n, const struct client *c, uint64_t now)
{
    char nk[80], ak[80];
    throttle_keys(c, nk, ak);
    struct throttle *t = throttle_get(n, nk, false, now);
    if (t != NULL) {
        t->delay_ms = 0;
        t->next_ok = 0;
    }
}

/* ---- password jobs ------------------------------------------------------ */

static void job_work(uv_work_t *req)
{
    struct pwjob *j = req->data;
    if (j->create)
        j->result = crypto_pwhash_str_alg(j->hash, j->pw, j->pw_len, (unsigned long long)j->ops,
                                          (size_t)j->mem, crypto_pwhash_ALG_ARGON2ID13);
    else
        j->result = crypto_pwhash_str_verify(j->hash, j->pw, j->pw_len);
    sodium_memzero(j->pw, sizeof j->pw);
}

static void job_done(struct mnode *n, struct pwjob *j);
static void jobs_pump(struct mnode *n);

static void job_after(uv_work_t *req, int status)
{
    struct pwjob *j = req->data;
    struct mnode *n = j->n;
    if (n != NULL) {
        if (j->prev_running)
            j->prev_running->next_running = j->next_running;
        else
            n->running = j->next_running;
        if (j->next_running)
            j->next_running->prev_running = j->prev_running;
        n->in_flight--;
        if (status != 0)
            j->result = -2;
        job_done(n, j);
        jobs_pump(n);
    }
    sodium_memzero(j, sizeof *j);
    free(j);
}

static void jobs_pump(struct mnode *n)
{
    while (n->in_flight < n->max_jobs && n->pend_head != NULL) {
        struct pwjob *j = n->pend_head;
        n->pend_head = j->next;
        if (n->pend_head == NULL)
            n->pend_tail = NULL;
        j->req.data = j;
        if (uv_queue_work(wr_node_loop(n->wn), &j->req, job_work, job_after) != 0) {
            j->result = -2;
            job_done(n, j);
            sodium_memzero(j, sizeof *j);
            free(j);
            continue;
        }
        j->prev_running = NULL;
        j->next_running = n->running;
        if (n->running)
            n->running->prev_running = j;
        n->running = j;
        n->in_flight++;
        n->pwhash_jobs++;
    }
}

/* Queue a job for @c with the password @pw (copied, wiped after use). */
static void job_start(struct client *c, bool create, const char *pw, size_t len, const char *hash)
{
    struct mnode *n = c->node;
    struct pwjob *j = wr_calloc(1, sizeof *j);
    j->n = n;
    j->client_id = c->id;
    j->create = create;
    j->ops = mud_pwhash_ops;
    j->mem = mud_pwhash_mem;
    memcpy(j->pw, pw, len);
    j->pw_len = len;
    if (hash != NULL)
        snprintf(j->hash, sizeof j->hash, "%s", hash);
    if (n->pend_tail)
        n->pend_tail->next = j;
    else
        n->pend_head = j;
    n->pend_tail = j;
    c->job_pending = true;
    jobs_pump(n);
}

/* Submit CREATE/LOGIN/RESUME under a fresh session. */
static void enter_world(struct client *c, uint8_t type, const char *pw_hash, const uint8_t *tok_hash)
{
    struct mnode *n = c->node;
    uint8_t token[TOKEN_BYTES], hash[16];
    if (tok_hash == NULL) {
        randombytes_buf(token, sizeof token);
        sodium_bin2hex(c->token, sizeof c->token, token, sizeof token);
        crypto_generichash(hash, sizeof hash, token, sizeof token, NULL, 0);
        sodium_memzero(token, sizeof token);
    } else {
        memcpy(hash, tok_hash, sizeof hash);
    }
    struct wr_writer p;
    wr_writer_init(&p, 256);
    if (type == WR_MUD_CREATE)
        wr_mud_encode_create(&p, c->name, pw_hash, hash, wr_node_incarnation(n->wn));
    else if (type == WR_MUD_LOGIN)
        wr_mud_encode_login(&p, c->name, hash, wr_node_incarnation(n->wn));
    else
        wr_mud_encode_resume(&p, hash, wr_node_incarnation(n->wn));
    c->session = wr_node_new_session_key();
    c->next_seq = 1;
    int rv = submit(c, type, &p);
    wr_writer_free(&p);
    if (rv != 0) {
        c->session = 0;
        start_dialogue(c);
        return;
    }
    wr_client_table_bind(&n->clients, c->session, c->slot);
    c->state = S_ENTERING;
}

static void job_done(struct mnode *n, struct pwjob *j)
{
    struct client *c = client_by_id(n, j->client_id);
    if (c == NULL || !c->job_pending)
        return; /* the client closed while its job ran */
    c->job_pending = false;
    uint64_t now = uv_now(wr_node_loop(n->wn));
    if (c->state == S_HASHING) {
        if (j->result != 0) {
            wr_error("mud: password hashing failed (memory limit?)");
            out(c, "\nSomething went wrong creating your character; try again.\n");
            start_dialogue(c);
            return;
        }
        enter_world(c, WR_MUD_CREATE, j->hash, NULL);
        return;
    }
    if (c->state != S_CHECKING)
        return;
    if (j->result == 0) {
        throttle_ok(n, c, now);
        hide_input(c, false); /* the password is in: the player's typing shows again */
        out(c, "\n");
        enter_world(c, WR_MUD_LOGIN, NULL, NULL);
        return;
    }
    throttle_fail(n, c, now);
    c->fails++;
    wr_info("mud: failed login for %s from %s", c->name, wr_conn_peer(c->conn));
    if (c->fails >= MAX_FAILS_PER_CONN) {
        hide_input(c, false);
        out(c, "\nWrong password. Too many failures; goodbye.\n");
        close_client(c, 1008, "too many failed logins");
        return;
    }
    out(c, "\nWrong password.\n");
    c->state = S_ASK_PASSWORD;
    ask(c, "Password: ");
}

/* ---- the login dialogue ------------------------------------------------- */

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

static void on_name(struct client *c, const char *line, size_t len)
{
    trim(&line, &len);
    if (len == 0) {
        ask(c, "By what name are you known? ");
        return;
    }
    if (!wr_mud_name_ok(line, len) || len > WR_MUD_NAME_MAX) {
        out(c, "A name is 3 to 16 letters (A-Z), nothing else.\n");
        ask(c, "By what name are you known? ");
        return;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = line[i];
        if (i == 0 && ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 32);
        else if (i > 0 && ch >= 'A' && ch <= 'Z')
            ch = (char)(ch + 32);
        c->name[i] = ch;
    }
    c->name[len] = '\0';
    const struct wr_mud_char *ch = wr_mud_char_by_name(mud_state(c->node), c->name);
    if (ch != NULL) {
        snprintf(c->name, sizeof c->name, "%s", ch->name);
        c->state = S_ASK_PASSWORD;
        hide_input(c, true);
        ask(c, "Password: ");
    } else {
        c->state = S_CONFIRM_NEW;
        char q[96];
        snprintf(q, sizeof q, "Create a new character called %s? (y/n) ", c->name);
        ask(c, q);
    }
}

static void on_password(struct client *c, const char *line, size_t len)
{
    struct mnode *n = c->node;
    uint64_t now = uv_now(wr_node_loop(n->wn));
    uint64_t wait = throttle_wait(n, c, now);
    if (wait > 0) {
        outf(c, "\nToo many failed logins; wait %llu s and try again.\n",
             (unsigned long long)((wait + 999) / 1000));
        ask(c, "Password: ");
        return;
    }
    const struct wr_mud_char *ch = wr_mud_char_by_name(mud_state(n), c->name);
    if (ch == NULL) {
        hide_input(c, false);
        out(c, "\nThat character no longer exists.\n");
        start_dialogue(c);
        return;
    }
    if (len >= PW_MAX)
        len = PW_MAX - 1;
    c->state = S_CHECKING;
    job_start(c, false, line, len, ch->pw_hash);
}

static void on_confirm_new(struct client *c, const char *line, size_t len)
{
    trim(&line, &len);
    if (len > 0 && (line[0] == 'y' || line[0] == 'Y')) {
        out(c, "Choose a password (at least 6 characters).\n");
        c->state = S_ASK_NEW_PASSWORD;
        hide_input(c, true);
        ask(c, "Password: ");
    } else if (len > 0 && (line[0] == 'n' || line[0] == 'N')) {
        c->name[0] = '\0';
        start_dialogue(c);
    } else {
        ask(c, "Please answer y or n: ");
    }
}

static void on_new_password(struct client *c, const char *line, size_t len)
{
    if (len < PW_MIN || len >= PW_MAX) {
        outf(c, "\nA password has %d to %d characters.\n", PW_MIN, PW_MAX - 1);
        ask(c, "Password: ");
        return;
    }
    memcpy(c->pw, line, len);
    c->pw_len = len;
    c->state = S_CONFIRM_PASSWORD;
    out(c, "\n");
    ask(c, "Again, to be sure: ");
}

static void on_confirm_password(struct client *c, const char *line, size_t len)
{
    bool same = len == c->pw_len && sodium_memcmp(line, c->pw, len) == 0;
    if (!same) {
        wipe_pw(c);
        out(c, "\nThe passwords differ; start again.\n");
        c->state = S_ASK_NEW_PASSWORD;
        ask(c, "Password: ");
        return;
    }
    hide_input(c, false);
    out(c, "\n");
    c->state = S_HASHING;
    job_start(c, true, c->pw, c->pw_len, NULL);
    wipe_pw(c);
}

/* ---- reads: look, who... ---------------------------------------------- */

static bool word_match(const char *keywords, const char *word, size_t wlen)
{
    if (keywords == NULL || wlen == 0)
        return false;
    const char *p = keywords;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if ((size_t)(e - p) >= wlen && strncasecmp(p, word, wlen) == 0)
            return true;
        p = e;
    }
    return false;
}

static void show_room(struct client *c, uint32_t room)
{
    const struct wr_mud *ms = mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    if (m == NULL || room >= m->n_rooms) {
        out(c, "You float in a grey void.\n");
        return;
    }
    const struct wr_mud_room *r = &m->rooms[room];
    outf(c, WR_ANSI_BOLD WR_ANSI_CYAN "%s" WR_ANSI_RESET "\n", r->name);
    if (r->desc)
        out_wrapped(c, r->desc, 2);
    out(c, WR_ANSI_GREEN "[Exits:");
    bool any = false;
    for (int d = 0; d < WR_MUD_NDIRS; d++) {
        if (r->exits[d].to == WR_MUD_NO_ROOM)
            continue;
        any = true;
        outf(c, " %s%s", wr_mud_dir_name((enum wr_mud_dir)d),
             r->exits[d].door && wr_mud_door_closed(ms, room, (enum wr_mud_dir)d) ? "(closed)" : "");
    }
    out(c, any ? "]" WR_ANSI_RESET "\n" : " none]" WR_ANSI_RESET "\n");
    for (size_t i = 0; i < wr_mud_item_count(ms); i++) {
        const struct wr_mud_item_inst *it = wr_mud_item_at(ms, i);
        if (it->loc == WR_MUD_IN_ROOM && it->where == room && it->item < m->n_items)
            outf(c, WR_ANSI_YELLOW "%s" WR_ANSI_RESET "\n", m->items[it->item].ground);
    }
    for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
        const struct wr_mud_npc_inst *np = wr_mud_npc_at(ms, i);
        if (np->room == room && np->npc < m->n_npcs)
            outf(c, WR_ANSI_MAGENTA "%s" WR_ANSI_RESET "\n", m->npcs[np->npc].ground);
    }
    for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
        const struct wr_mud_char *o = wr_mud_char_at(ms, i);
        if (o->state == WR_MUD_OFFLINE || o->room != room || o->id == c->char_id)
            continue;
        outf(c, "%s is here%s.\n", o->name, o->state == WR_MUD_LINKDEAD ? " (link-dead)" : "");
    }
}

static void gmcp_room(struct client *c, uint32_t room)
{
    const struct wr_mud_model *m = wr_mud_model(mud_state(c->node));
    if (m == NULL || room >= m->n_rooms || !wants_gmcp(c, "Room.Info"))
        return;
    const struct wr_mud_room *r = &m->rooms[room];
    json_t *exits = json_object();
    for (int d = 0; d < WR_MUD_NDIRS; d++)
        if (r->exits[d].to != WR_MUD_NO_ROOM)
            json_object_set_new(exits, wr_mud_dir_short((enum wr_mud_dir)d),
                                json_integer(r->exits[d].to));
    gmcp_obj(c, "Room.Info",
             json_pack("{s:I, s:s, s:s, s:i, s:i, s:o}", "num", (json_int_t)room, "name", r->name,
                       "area", m->zones[r->zone].name ? m->zones[r->zone].name : "", "x", r->x,
                       "y", r->y, "exits", exits));
}

static void gmcp_players(struct client *c)
{
    const struct wr_mud *ms = mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_char *me = my_char(c);
    c->players_dirty = false;
    if (m == NULL || me == NULL || !wants_gmcp(c, "Room.Players"))
        return;
    json_t *list = json_array();
    for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
        const struct wr_mud_char *o = wr_mud_char_at(ms, i);
        if (o->state != WR_MUD_OFFLINE && o->room == me->room && o->id != me->id)
            json_array_append_new(list, json_pack("{s:s, s:s}", "name", o->name, "kind", "player"));
    }
    for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
        const struct wr_mud_npc_inst *np = wr_mud_npc_at(ms, i);
        if (np->room == me->room && np->npc < m->n_npcs)
            json_array_append_new(list,
                                  json_pack("{s:s, s:s}", "name", m->npcs[np->npc].name, "kind", "npc"));
    }
    gmcp_obj(c, "Room.Players", list);
}

static const char *state_name(enum wr_mud_char_state s)
{
    return s == WR_MUD_ONLINE ? "online" : s == WR_MUD_LINKDEAD ? "linkdead" : "offline";
}

static void gmcp_status(struct client *c)
{
    const struct wr_mud_char *me = my_char(c);
    const struct wr_mud_model *m = wr_mud_model(mud_state(c->node));
    if (me == NULL || m == NULL || me->room >= m->n_rooms || !wants_gmcp(c, "Char"))
        return;
    const char *zone = m->zones[m->rooms[me->room].zone].key;
    gmcp_obj(c, "Char.Status", json_pack("{s:s, s:I, s:s, s:s}", "name", me->name, "room",
                                         (json_int_t)me->room, "zone", zone, "state",
                                         state_name(me->state)));
    /* Placeholders until combat exists: there is nothing to hurt yet. */
    gmcp(c, "Char.Vitals", "{\"hp\":100,\"maxhp\":100,\"mp\":100,\"maxmp\":100}");
}

static void after_entering_room(struct client *c, uint32_t room)
{
    show_room(c, room);
    gmcp_room(c, room);
    gmcp_players(c);
}

static void look_dir(struct client *c, const struct wr_mud_char *me, int d)
{
    const struct wr_mud *ms = mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_exit *x = &m->rooms[me->room].exits[d];
    if (x->to == WR_MUD_NO_ROOM || x->to >= m->n_rooms)
        out(c, "You see nothing special that way.\n");
    else if (x->door && wr_mud_door_closed(ms, me->room, (enum wr_mud_dir)d))
        outf(c, "The %s is closed.\n", x->door_name ? x->door_name : "door");
    else
        outf(c, "%s%s you see %s.\n", d == WR_DIR_U ? "Above" : d == WR_DIR_D ? "Below" : "To the ",
             d == WR_DIR_U || d == WR_DIR_D ? "" : wr_mud_dir_name((enum wr_mud_dir)d),
             m->rooms[x->to].name);
}

static void look_at(struct client *c, const struct wr_mud_char *me, const char *what, size_t len)
{
    const struct wr_mud *ms = mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    for (int pass = 0; pass < 2; pass++) { /* carried first, then the floor */
        for (size_t i = 0; i < wr_mud_item_count(ms); i++) {
            const struct wr_mud_item_inst *it = wr_mud_item_at(ms, i);
            bool here = pass == 0 ? it->loc == WR_MUD_CARRIED && it->where == me->id
                                  : it->loc == WR_MUD_IN_ROOM && it->where == me->room;
            if (here && it->item < m->n_items && word_match(m->items[it->item].keywords, what, len)) {
                out_wrapped(c, m->items[it->item].desc ? m->items[it->item].desc
                                                       : "You see nothing special.", 0);
                return;
            }
        }
    }
    for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
        const struct wr_mud_npc_inst *np = wr_mud_npc_at(ms, i);
        if (np->room == me->room && np->npc < m->n_npcs &&
            word_match(m->npcs[np->npc].keywords, what, len)) {
            out_wrapped(c, m->npcs[np->npc].desc ? m->npcs[np->npc].desc
                                                 : "You see nothing special.", 0);
            return;
        }
    }
    for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
        const struct wr_mud_char *o = wr_mud_char_at(ms, i);
        if (o->state != WR_MUD_OFFLINE && o->room == me->room && word_match(o->name, what, len)) {
            if (o->id == me->id)
                out(c, "You look yourself over. Still here, still you.\n");
            else
                outf(c, "%s is an adventurer like you%s.\n", o->name,
                     o->state == WR_MUD_LINKDEAD ? ", staring blankly into space (link-dead)" : "");
            return;
        }
    }
    out(c, "You do not see that here.\n");
}

static void cmd_exits(struct client *c, const struct wr_mud_char *me)
{
    const struct wr_mud *ms = mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_room *r = &m->rooms[me->room];
    bool any = false;
    out(c, "Obvious exits:\n");
    for (int d = 0; d < WR_MUD_NDIRS; d++) {
        const struct wr_mud_exit *x = &r->exits[d];
        if (x->to == WR_MUD_NO_ROOM || x->to >= m->n_rooms)
            continue;
        any = true;
        if (x->door && wr_mud_door_closed(ms, me->room, (enum wr_mud_dir)d))
            outf(c, "  %-10s - a closed %s\n", wr_mud_dir_name((enum wr_mud_dir)d),
                 x->door_name ? x->door_name : "door");
        else
            outf(c, "  %-10s - %s\n", wr_mud_dir_name((enum wr_mud_dir)d), m->rooms[x->to].name);
    }
    if (!any)
        out(c, "  None.\n");
}

static void cmd_inventory(struct client *c, const struct wr_mud_char *me)
{
    const struct wr_mud *ms = mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    size_t count = 0;
    out(c, "You are carrying:\n");
    for (size_t i = 0; i < wr_mud_item_count(ms); i++) {
        const struct wr_mud_item_inst *it = wr_mud_item_at(ms, i);
        if (it->loc == WR_MUD_CARRIED && it->where == me->id && it->item < m->n_items) {
            outf(c, "  %s\n", m->items[it->item].name);
            count++;
        }
    }
    if (count == 0)
        out(c, "  Nothing.\n");
}

static int cmp_char_name(const void *a, const void *b)
{
    return strcasecmp((*(const struct wr_mud_char *const *)a)->name,
                      (*(const struct wr_mud_char *const *)b)->name);
}

static void cmd_who(struct client *c)
{
    const struct wr_mud *ms = mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    size_t total = wr_mud_char_count(ms), k = 0;
    const struct wr_mud_char **list = wr_malloc((total ? total : 1) * sizeof *list);
    for (size_t i = 0; i < total; i++) {
        const struct wr_mud_char *o = wr_mud_char_at(ms, i);
        if (o->state != WR_MUD_OFFLINE)
            list[k++] = o;
    }
    qsort(list, k, sizeof *list, cmp_char_name);
    out(c, WR_ANSI_BOLD "Players in the world:" WR_ANSI_RESET "\n");
    for (size_t i = 0; i < k; i++) {
        const struct wr_mud_char *o = list[i];
        const char *room = "?", *zone = "?";
        if (m != NULL && o->room < m->n_rooms) {
            room = m->rooms[o->room].name;
            zone = m->zones[m->rooms[o->room].zone].name;
        }
        outf(c, "  %-16s %s (%s), node %u%s\n", o->name, room, zone, o->node,
             o->state == WR_MUD_LINKDEAD ? " [link-dead]" : "");
    }
    outf(c, "%zu player%s online.\n", k, k == 1 ? "" : "s");
    free(list);
}

static void put_time(struct client *c, const char *label, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[64];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    outf(c, "%s%s\n", label, buf);
}

static void cmd_score(struct client *c, const struct wr_mud_char *me)
{
    const struct wr_mud *ms = mud_state(c->node);
    const struct wr_mud_model *m = wr_mud_model(ms);
    outf(c, WR_ANSI_BOLD "%s" WR_ANSI_RESET "\n", me->name);
    put_time(c, "  Created:  ", me->created_at);
    if (m != NULL && me->room < m->n_rooms) {
        outf(c, "  Room:     %s\n", m->rooms[me->room].name);
        outf(c, "  Zone:     %s\n", m->zones[m->rooms[me->room].zone].name);
    }
    size_t items = 0;
    for (size_t i = 0; i < wr_mud_item_count(ms); i++) {
        const struct wr_mud_item_inst *it = wr_mud_item_at(ms, i);
        items += it->loc == WR_MUD_CARRIED && it->where == me->id;
    }
    outf(c, "  Carrying: %zu item%s\n", items, items == 1 ? "" : "s");
    out(c, "  Channels:");
    for (size_t i = 0; m != NULL && i < m->n_channels && i < 32; i++)
        if (!(me->channels_off & (1u << i)))
            outf(c, " %s", m->channels[i].key);
    out(c, "\n");
}

static void cmd_channels(struct client *c, const struct wr_mud_char *me)
{
    const struct wr_mud_model *m = wr_mud_model(mud_state(c->node));
    out(c, "Channels:\n");
    for (size_t i = 0; m != NULL && i < m->n_channels && i < 32; i++)
        outf(c, "  %-10s %-3s  %s\n", m->channels[i].key,
             me->channels_off & (1u << i) ? "off" : "on",
             m->channels[i].desc ? m->channels[i].desc : "");
}

/* ---- commands ---------------------------------------------------------- */

/* Split @args into its first word (@w, NUL-terminated, at most cap-1) and
 * the rest. */
static const char *first_word(const char *args, size_t len, char *w, size_t cap, size_t *rest_len)
{
    size_t i = 0;
    while (i < len && args[i] != ' ' && args[i] != '\t')
        i++;
    size_t n = i < cap ? i : cap - 1;
    memcpy(w, args, n);
    w[n] = '\0';
    while (i < len && (args[i] == ' ' || args[i] == '\t'))
        i++;
    *rest_len = len - i;
    return args + i;
}

static void submit_dir(struct client *c, uint8_t type, int d)
{
    struct wr_writer p;
    wr_writer_init(&p, 4);
    wr_mud_encode_dir(&p, (enum wr_mud_dir)d);
    submit(c, type, &p);
    wr_writer_free(&p);
}

static void submit_str(struct client *c, uint8_t type, const char *s)
{
    struct wr_writer p;
    wr_writer_init(&p, 64);
    wr_mud_encode_str(&p, s);
    submit(c, type, &p);
    wr_writer_free(&p);
}

static void submit_text(struct client *c, uint8_t type, const char *target, const char *text,
                        size_t len)
{
    char buf[WR_MUD_TEXT_MAX + 1];
    if (len > WR_MUD_TEXT_MAX)
        len = WR_MUD_TEXT_MAX;
    memcpy(buf, text, len);
    buf[len] = '\0';
    struct wr_writer p;
    wr_writer_init(&p, 64 + len);
    if (target != NULL)
        wr_mud_encode_str(&p, target);
    wr_mud_encode_text(&p, buf);
    submit(c, type, &p);
    wr_writer_free(&p);
}

/* open/close DIR or a door's name. */
static int door_dir(struct client *c, const struct wr_mud_char *me, const char *arg, size_t len)
{
    char w[32];
    size_t rest;
    first_word(arg, len, w, sizeof w, &rest);
    int d = wr_mud_dir_parse(w);
    if (d >= 0)
        return d;
    const struct wr_mud_model *m = wr_mud_model(mud_state(c->node));
    for (int k = 0; k < WR_MUD_NDIRS; k++) {
        const struct wr_mud_exit *x = &m->rooms[me->room].exits[k];
        if (x->door && x->door_name && strcasecmp(x->door_name, w) == 0)
            return k;
    }
    return -1;
}

static void run_command(struct client *c, const char *raw, size_t raw_len)
{
    /* Control bytes (ESC above all) never reach other players' terminals:
     * a WebSocket line may hold any (telnet.c drops them already). */
    char line[WR_MUD_TEXT_MAX + 64];
    size_t len = 0;
    for (size_t i = 0; i < raw_len && len < sizeof line - 1; i++)
        if ((unsigned char)raw[i] >= 0x20 && raw[i] != 0x7f)
            line[len++] = raw[i];
    line[len] = '\0';
    struct mnode *n = c->node;
    const struct wr_mud *ms = mud_state(n);
    const struct wr_mud_model *m = wr_mud_model(ms);
    const struct wr_mud_char *me = my_char(c);
    const char *chans[WR_MUD_MAX_CHANNELS];
    size_t n_chans = 0;
    for (size_t i = 0; m != NULL && i < m->n_channels && i < WR_MUD_MAX_CHANNELS; i++)
        chans[n_chans++] = m->channels[i].key;
    struct wr_mud_parsed p;
    wr_mud_cmd_parse(line, len, chans, n_chans, &p);
    if (p.empty) {
        c->want_prompt = true;
        mark_dirty(c);
        return;
    }
    if (p.def == NULL) {
        out(c, "Huh? Type 'help' for the list of commands.\n");
        return;
    }
    if (m == NULL || me == NULL || me->room >= m->n_rooms) {
        if (p.def->id == WR_MC_HELP)
            wr_mud_help(&c->out, line + p.args_off, p.args_len);
        else if (p.def->id == WR_MC_QUIT)
            submit(c, WR_MUD_QUIT, NULL);
        else
            out(c, "The world is not ready yet; wait a moment.\n");
        c->want_prompt = true;
        mark_dirty(c);
        return;
    }
    const char *args = line + p.args_off;
    size_t alen = p.args_len;
    char w[WR_MUD_NAME_MAX + 48];
    size_t rest_len;
    const char *rest;
    switch (p.def->id) {
    case WR_MC_MOVE:
        submit_dir(c, WR_MUD_MOVE, p.def->dir);
        break;
    case WR_MC_GO: {
        first_word(args, alen, w, sizeof w, &rest_len);
        int d = wr_mud_dir_parse(w);
        if (d < 0)
            out(c, "Go where? (north, south, east, west, up, down, ne, nw, se, sw, in, out)\n");
        else
            submit_dir(c, WR_MUD_MOVE, d);
        break;
    }
    case WR_MC_OPEN:
    case WR_MC_CLOSE: {
        int d = alen ? door_dir(c, me, args, alen) : -1;
        if (d < 0)
            outf(c, "%s what? Give a direction or a door.\n",
                 p.def->id == WR_MC_OPEN ? "Open" : "Close");
        else
            submit_dir(c, p.def->id == WR_MC_OPEN ? WR_MUD_OPEN : WR_MUD_CLOSE, d);
        break;
    }
    case WR_MC_LOOK:
    case WR_MC_EXAMINE: {
        if (alen == 0) {
            if (p.def->id == WR_MC_EXAMINE)
                out(c, "Examine what?\n");
            else
                show_room(c, me->room);
            break;
        }
        rest = first_word(args, alen, w, sizeof w, &rest_len);
        int d = wr_mud_dir_parse(w);
        if (p.def->id == WR_MC_LOOK && d >= 0 && rest_len == 0) {
            look_dir(c, me, d);
            break;
        }
        if (strcasecmp(w, "at") == 0 && rest_len > 0) {
            args = rest;
            alen = rest_len;
        }
        first_word(args, alen, w, sizeof w, &rest_len);
        look_at(c, me, w, strlen(w));
        break;
    }
    case WR_MC_EXITS:
        cmd_exits(c, me);
        break;
    case WR_MC_MAP:
        wr_tbuf_printf(&c->out, WR_ANSI_BOLD "%s" WR_ANSI_RESET "\n",
                       m->zones[m->rooms[me->room].zone].name);
        wr_mud_map_render(&c->out, m, me->room, MAP_RADIUS);
        c->want_prompt = true;
        mark_dirty(c);
        break;
    case WR_MC_GET:
    case WR_MC_DROP:
        if (alen == 0) {
            outf(c, "%s what?\n", p.def->id == WR_MC_GET ? "Get" : "Drop");
            break;
        }
        first_word(args, alen, w, sizeof w, &rest_len);
        submit_str(c, p.def->id == WR_MC_GET ? WR_MUD_GET : WR_MUD_DROP, w);
        break;
    case WR_MC_GIVE: {
        char item[48], target[48];
        rest = first_word(args, alen, item, sizeof item, &rest_len);
        rest = first_word(rest, rest_len, target, sizeof target, &rest_len);
        if (strcasecmp(target, "to") == 0)
            first_word(rest, rest_len, target, sizeof target, &rest_len);
        if (item[0] == '\0' || target[0] == '\0') {
            out(c, "Give what to whom? (give ITEM [to] NAME)\n");
            break;
        }
        struct wr_writer pw;
        wr_writer_init(&pw, 64);
        wr_mud_encode_str(&pw, item);
        wr_mud_encode_str(&pw, target);
        submit(c, WR_MUD_GIVE, &pw);
        wr_writer_free(&pw);
        break;
    }
    case WR_MC_INVENTORY:
        cmd_inventory(c, me);
        break;
    case WR_MC_SAY:
    case WR_MC_EMOTE:
    case WR_MC_REPLY:
        if (alen == 0) {
            out(c, p.def->id == WR_MC_SAY    ? "Say what?\n"
                   : p.def->id == WR_MC_EMOTE ? "Emote what?\n"
                                              : "Reply what?\n");
            break;
        }
        submit_text(c, p.def->id == WR_MC_SAY     ? WR_MUD_SAY
                       : p.def->id == WR_MC_EMOTE ? WR_MUD_EMOTE
                                                  : WR_MUD_REPLY,
                    NULL, args, alen);
        break;
    case WR_MC_TELL:
    case WR_MC_WHISPER:
        rest = first_word(args, alen, w, sizeof w, &rest_len);
        if (w[0] == '\0' || rest_len == 0) {
            outf(c, "%s whom what? (%s)\n", p.def->id == WR_MC_TELL ? "Tell" : "Whisper",
                 p.def->usage);
            break;
        }
        submit_text(c, p.def->id == WR_MC_TELL ? WR_MUD_TELL : WR_MUD_WHISPER, w, rest, rest_len);
        break;
    case WR_MC_CHANNEL_TALK:
        if (alen == 0) {
            outf(c, "Say what on %s?\n", chans[p.channel]);
            break;
        }
        if (me->channels_off & (1u << p.channel)) {
            outf(c, "You are not listening to %s (channel %s on).\n", chans[p.channel],
                 chans[p.channel]);
            break;
        }
        submit_text(c, WR_MUD_CHAN, chans[p.channel], args, alen);
        break;
    case WR_MC_CHANNELS:
        cmd_channels(c, me);
        break;
    case WR_MC_CHANNEL: {
        char onoff[8];
        rest = first_word(args, alen, w, sizeof w, &rest_len);
        first_word(rest, rest_len, onoff, sizeof onoff, &rest_len);
        long ch = wr_mud_model_channel(m, w);
        bool on = strcasecmp(onoff, "on") == 0, off = strcasecmp(onoff, "off") == 0;
        if (ch < 0 || (!on && !off)) {
            out(c, "Usage: channel NAME on|off (see 'channels').\n");
            break;
        }
        struct wr_writer pw;
        wr_writer_init(&pw, 32);
        wr_mud_encode_str(&pw, m->channels[ch].key);
        wr_put_u8(&pw, on ? 1 : 0);
        submit(c, WR_MUD_CHANSET, &pw);
        wr_writer_free(&pw);
        break;
    }
    case WR_MC_WHO:
        cmd_who(c);
        break;
    case WR_MC_SCORE:
        cmd_score(c, me);
        break;
    case WR_MC_HELP:
        wr_mud_help(&c->out, args, alen);
        c->want_prompt = true;
        mark_dirty(c);
        break;
    case WR_MC_QUIT:
        if (submit(c, WR_MUD_QUIT, NULL) == 0)
            c->state = S_CLOSING; /* the session stays until QUIT applies */
        break;
    }
}

/* One line from the user: a login answer or a command. */
static void on_line(struct client *c, const char *line, size_t len)
{
    c->answered = true;
    switch (c->state) {
    case S_ASK_NAME:
        on_name(c, line, len);
        break;
    case S_ASK_PASSWORD:
        on_password(c, line, len);
        break;
    case S_CHECKING:
    case S_HASHING:
    case S_ENTERING:
        out(c, "Please wait...\n");
        break;
    case S_CONFIRM_NEW:
        on_confirm_new(c, line, len);
        break;
    case S_ASK_NEW_PASSWORD:
        on_new_password(c, line, len);
        break;
    case S_CONFIRM_PASSWORD:
        on_confirm_password(c, line, len);
        break;
    case S_PLAYING:
        run_command(c, line, len);
        break;
    case S_CLOSING:
        break;
    }
    assert_client_state(c);
}

static void handle_resume(struct client *c, json_t *msg)
{
    if (c->state != S_ASK_NAME || c->answered) {
        send_error(c, "bad_field", "resume must be the first message of a connection");
        return;
    }
    const char *hex = json_string_value(json_object_get(msg, "token"));
    uint8_t token[TOKEN_BYTES], hash[16];
    size_t len = 0;
    if (hex == NULL || strlen(hex) != 2 * TOKEN_BYTES ||
        sodium_hex2bin(token, sizeof token, hex, strlen(hex), NULL, &len, NULL) != 0 ||
        len != sizeof token) {
        send_error(c, "bad_token", "resume needs the 32-hex-digit \"token\" from the welcome");
        return;
    }
    c->answered = true;
    crypto_generichash(hash, sizeof hash, token, sizeof token, NULL, 0);
    snprintf(c->token, sizeof c->token, "%s", hex);
    enter_world(c, WR_MUD_RESUME, NULL, hash);
}

static void flush_client(struct client *c);

static void mud_message(void *g, struct wr_conn *conn, const char *data, size_t len)
{
    struct client *c = wr_conn_data(conn);
    if (c == NULL || c->state == S_CLOSING)
        return;
    if (!c->ws) {
        on_line(c, data, len);
        flush_client(c);
        return;
    }
    json_error_t jerr;
    json_t *msg = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (msg == NULL || !json_is_object(msg)) {
        json_decref(msg);
        send_error(c, "bad_json", "every message must be one JSON object");
        return;
    }
    const char *t = json_string_value(json_object_get(msg, "t"));
    if (t == NULL) {
        send_error(c, "bad_field", "a message needs a string \"t\"");
    } else if (strcmp(t, "line") == 0) {
        json_t *text = json_object_get(msg, "text");
        if (!json_is_string(text))
            send_error(c, "bad_field", "line needs a string \"text\"");
        else
            on_line(c, json_string_value(text), json_string_length(text));
    } else if (strcmp(t, "resume") == 0) {
        handle_resume(c, msg);
    } else if (strcmp(t, "ping") == 0) {
        send_json(c, json_pack("{s:s, s:O?}", "t", "pong", "id", json_object_get(msg, "id")));
    } else if (strcmp(t, "size") == 0) {
        json_t *w = json_object_get(msg, "width");
        if (json_is_integer(w) && json_integer_value(w) >= 20 && json_integer_value(w) <= 1000)
            c->width = (unsigned)json_integer_value(w);
    } else {
        send_error(c, "bad_type", "unknown message type");
    }
    if (msg != NULL && (json_object_get(msg, "text") != NULL || c->out.len > 0))
        flush_client(c);
    json_decref(msg);
}

/* ---- events ------------------------------------------------------------ */

struct history_ctx {
    struct client *c;
    const char *channel;
    size_t lines;
};

static void history_line(void *arg, const char *who, const char *text)
{
    struct history_ctx *h = arg;
    if (h->lines++ == 0)
        outf(h->c, "Recently on %s:\n", h->channel);
    outf(h->c, "  [%s] %s: %s\n", h->channel, who, text);
}

/* The last lines of channel @ch, as a player joining it sees them. */
static void show_history(struct client *c, uint32_t ch)
{
    const struct wr_mud_model *m = wr_mud_model(mud_state(c->node));
    if (m == NULL || ch >= m->n_channels)
        return;
    struct history_ctx h = {.c = c, .channel = m->channels[ch].key};
    wr_mud_channel_history(mud_state(c->node), ch, history_line, &h);
    if (h.lines > 0)
        out(c, "\n");
}

/* On entering the game: the history of every channel the player hears. */
static void show_all_history(struct client *c, const struct wr_mud_char *me)
{
    const struct wr_mud_model *m = wr_mud_model(mud_state(c->node));
    for (size_t i = 0; m != NULL && i < m->n_channels && i < WR_MUD_MAX_CHANNELS; i++)
        if (!(me->channels_off & (1u << i)))
            show_history(c, (uint32_t)i);
}

static void entered_game(struct client *c, const struct wr_mud_event *e)
{
    struct mnode *n = c->node;
    c->state = S_PLAYING;
    c->char_id = e->actor_id;
    const struct wr_mud_char *me = my_char(c);
    if (me != NULL)
        snprintf(c->name, sizeof c->name, "%s", me->name);
    if (c->ws) {
        term_flush_text(c);
        send_json(c, json_pack("{s:s, s:s, s:s, s:I}", "t", "welcome", "token", c->token, "name",
                               c->name, "node", (json_int_t)wr_node_id(n->wn)));
    }
    const struct wr_mud_model *m = wr_mud_model(mud_state(n));
    const char *code = e->code ? e->code : "";
    if (strcmp(code, "created") == 0 || strcmp(code, "create") == 0)
        outf(c, "Welcome to %s, %s. Type 'help' for the commands.\n\n", m && m->name ? m->name : "the world", c->name);
    else if (strcmp(code, "resumed") == 0 || strcmp(code, "resume") == 0)
        outf(c, "Welcome back, %s.\n\n", c->name);
    else
        outf(c, "Welcome back to %s, %s.\n\n", m && m->name ? m->name : "the world", c->name);
    gmcp_status(c);
    /* A resume continues a session the player saw; a login starts one. */
    if (me != NULL && strcmp(code, "resume") != 0 && strcmp(code, "resumed") != 0)
        show_all_history(c, me);
    if (me != NULL && me->room != WR_MUD_NO_ROOM)
        after_entering_room(c, me->room);
}

static void deliver(struct mnode *n, struct client *c, const struct wr_event *ev)
{
    const struct wr_mud_event *e = ev->data;
    switch (ev->type) {
    case WR_MUD_EV_ENTERED_GAME:
        if (c->state == S_ENTERING)
            entered_game(c, e);
        return;
    case WR_MUD_EV_REFUSED: {
        if (c->state != S_ENTERING)
            return;
        const char *code = e->code ? e->code : "";
        forget_session(n, c);
        c->char_id = 0;
        if (strcmp(code, "bad_token") == 0) {
            send_error(c, "bad_token", e->text ? e->text : "that token is unknown or expired");
            c->answered = false;
            c->state = S_ASK_NAME;
            return; /* the client shows the banner and question it held */
        }
        if (c->hidden)
            hide_input(c, false); /* a refused LOGIN: the name is asked next */
        if (strcmp(code, "name_taken") == 0)
            outf(c, "Someone just took the name %s; choose another.\n", c->name);
        else if (strcmp(code, "no_such_character") == 0)
            out(c, "That character no longer exists.\n");
        else
            outf(c, "%s\n", e->text ? e->text : "You cannot enter the game now.");
        c->name[0] = '\0';
        start_dialogue(c);
        return;
    }
    case WR_MUD_EV_TAKEN_OVER:
        if (!c->ws) /* a WebSocket client shows the error's message */
            out(c, "\nYour character was taken over by a new login.\n");
        forget_session(n, c);
        send_error(c, "taken_over", "your character was taken over by a new login");
        close_client(c, 1000, "taken over");
        return;
    case WR_MUD_EV_QUIT:
        out(c, "Goodbye. Come back soon.\n");
        forget_session(n, c);
        close_client(c, 1000, "quit");
        return;
    case WR_MUD_EV_WORLD:
        if (c->state == S_PLAYING && my_char(c) != NULL) {
            out(c, "\nThe world shimmers around you: a new version of it was loaded.\n");
            after_entering_room(c, my_char(c)->room);
            gmcp_status(c);
        }
        return;
    case WR_MUD_EV_MOVED:
        if (c->state == S_PLAYING) {
            after_entering_room(c, e->room);
            gmcp_status(c);
        }
        return;
    default:
        break;
    }
    if (c->state != S_PLAYING)
        return;
    size_t before = c->out.len;
    if (wr_mud_event_render(&c->out, ev->type, e, c->char_id) && c->out.len > before) {
        c->want_prompt = true;
        mark_dirty(c);
    }
    if (ev->type == WR_MUD_EV_CHANSET && e->code != NULL && strcmp(e->code, "on") == 0 &&
        e->item != NULL) {
        long ch = wr_mud_model_channel(wr_mud_model(mud_state(n)), e->item);
        if (ch >= 0)
            show_history(c, (uint32_t)ch);
    }
    if (ev->type == WR_MUD_EV_CHANNEL)
        gmcp_obj(c, "Comm.Channel.Text",
                 json_pack("{s:s, s:s, s:s}", "channel", e->item ? e->item : "", "talker",
                           e->actor_name ? e->actor_name : "", "text", e->text ? e->text : ""));
    /* Who is here changed, unless it is this character's own arrival (its
     * list leaves itself out; entering a room sends the list already). */
    bool self = e->actor_kind == WR_MUD_ACTOR_CHAR && e->actor_id == c->char_id;
    if (!self && (ev->type == WR_MUD_EV_ARRIVE || ev->type == WR_MUD_EV_DEPART ||
                  ev->type == WR_MUD_EV_LINK || ev->type == WR_MUD_EV_SPAWN)) {
        c->players_dirty = true;
        mark_dirty(c);
    }
}

static bool in_audience(struct mnode *n, struct client *c, const struct wr_event *ev)
{
    if (c == NULL || c->state != S_PLAYING)
        return false;
    const struct wr_mud_char *me = my_char(c);
    if (me == NULL || me->state == WR_MUD_OFFLINE)
        return false;
    switch (ev->audience) {
    case WR_AUD_ALL:
        return true;
    case WR_AUD_ROOM:
        return me->room == ev->target;
    case WR_AUD_ZONE: {
        const struct wr_mud_model *m = wr_mud_model(mud_state(n));
        return m != NULL && me->room < m->n_rooms && m->rooms[me->room].zone == ev->target;
    }
    case WR_AUD_CHANNEL:
        return ev->target < 32 && !(me->channels_off & (1u << ev->target));
    default:
        return false;
    }
}

static void mud_event(void *g, const struct wr_event *ev)
{
    struct mnode *n = g;
    if (ev->module != WR_MODULE_MUD)
        return;
    if (ev->audience == WR_AUD_SESSION) {
        if (ev->node != wr_node_id(n->wn))
            return;
        struct client *c = wr_client_table_by_session(&n->clients, ev->session);
        if (c != NULL)
            deliver(n, c, ev);
        return;
    }
    if (ev->type == WR_MUD_EV_WORLD) {
        const struct wr_mud_event *e = ev->data;
        bool bad = e->code != NULL && strcmp(e->code, "bad") == 0;
        if (bad) {
            wr_error("mud: a world upload was refused: %s", e->text ? e->text : "?");
            free(n->bundle); /* the module refuses the same bytes every time */
            n->bundle = NULL;
        } else {
            wr_info("mud: world %s loaded", e->text ? e->text : "?");
        }
        if (bad)
            return;
        /* fall through to the players: they are told the world changed */
    } else if (ev->type == WR_MUD_EV_ZONE_OWNER) {
        return;
    }
    uint32_t it = 0;
    for (struct client *c; (c = wr_client_table_next(&n->clients, &it)) != NULL;)
        if (in_audience(n, c, ev))
            deliver(n, c, ev);
}

static void flush_client(struct client *c)
{
    if (c->state == S_CLOSING) {
        term_flush_text(c);
        return;
    }
    if (c->players_dirty && c->state == S_PLAYING)
        gmcp_players(c);
    if (c->want_prompt && c->state == S_PLAYING)
        term_prompt(c, PROMPT);
    else
        term_flush_text(c);
}

static void mud_flush(void *g)
{
    struct mnode *n = g;
    for (size_t i = 0; i < n->n_dirty; i++) {
        struct client *c = wr_client_table_at(&n->clients, n->dirty[i]);
        if (c == NULL || !c->dirty)
            continue;
        c->dirty = false;
        flush_client(c);
    }
    n->n_dirty = 0;
}

/* ---- leader duties ------------------------------------------------------ */

static void find_world_dir(char *out_, size_t len)
{
    if (mud_world_dir[0] != '\0')
        snprintf(out_, len, "%s", mud_world_dir);
    else
        wr_node_find_dir("world", out_, len);
}

static void submit_once(struct mnode *n, uint8_t type, const struct wr_writer *p)
{
    struct wr_cmd cmd = {.module = WR_MODULE_MUD,
                         .type = type,
                         .len = (uint16_t)p->len,
                         .payload = p->base};
    wr_node_submit_once(n->wn, &cmd);
}

/* The leader proposes the world files when the replica has none. */
/* World uploads. A bundle becomes the world by WORLD_CHUNK commands; the
 * node that has one to upload (the leader reading the files when the
 * replica has no world yet, or any node given one by `warren ctl world
 * load`) keeps it in n->bundle and proposes its chunks again every 5 s
 * (they are idempotent: the module assembles by hash and offset) until its
 * replica runs that version, or the module refuses it. */
static bool world_is(struct mnode *n, const uint8_t hash[16])
{
    const struct wr_mud_model *m = wr_mud_model(mud_state(n));
    return m != NULL && memcmp(m->hash, hash, 16) == 0;
}

static void propose_upload(struct mnode *n)
{
    if (n->bundle == NULL)
        return;
    if (world_is(n, n->bundle_hash)) {
        free(n->bundle);
        n->bundle = NULL;
        return;
    }
    uint64_t now = uv_now(wr_node_loop(n->wn));
    if (n->last_world_push != 0 && now - n->last_world_push < 5000)
        return;
    n->last_world_push = now;
    struct wr_writer p;
    wr_writer_init(&p, WR_MUD_CHUNK_MAX + 64);
    for (size_t off = 0; off < n->bundle_len; off += WR_MUD_CHUNK_MAX) {
        size_t len = n->bundle_len - off < WR_MUD_CHUNK_MAX ? n->bundle_len - off : WR_MUD_CHUNK_MAX;
        p.len = 0;
        wr_mud_encode_chunk(&p, n->bundle_hash, (uint32_t)n->bundle_len, (uint32_t)off,
                            n->bundle + off, (uint16_t)len);
        submit_once(n, WR_MUD_WORLD_CHUNK, &p);
    }
    wr_writer_free(&p);
}

/* Make @bundle the upload in progress if it is a valid world. Returns 0, or
 * -1 with "FILE:LINE:COLUMN: ..." in @err; the running world is untouched
 * either way until the chunks apply. */
static int start_upload(struct mnode *n, const uint8_t *bundle, size_t len, uint8_t hash[16],
                        char *err, size_t errlen)
{
    struct wr_mud_model *model = NULL;
    if (wr_mud_model_parse(bundle, len, &model, err, errlen) != 0)
        return -1;
    memcpy(hash, model->hash, 16);
    wr_mud_model_free(model);
    free(n->bundle);
    n->bundle = wr_malloc(len ? len : 1);
    memcpy(n->bundle, bundle, len);
    n->bundle_len = len;
    memcpy(n->bundle_hash, hash, 16);
    n->last_world_push = 0;
    propose_upload(n);
    return 0;
}

/* The leader of a cluster without a world reads it from the files. */
static void push_world(struct mnode *n)
{
    if (wr_mud_model(mud_state(n)) != NULL || n->bundle != NULL)
        return;
    uint64_t now = uv_now(wr_node_loop(n->wn));
    if (n->last_world_read != 0 && now - n->last_world_read < 5000)
        return;
    n->last_world_read = now;
    char dir[1024], err[512];
    find_world_dir(dir, sizeof dir);
    struct wr_writer w;
    wr_writer_init(&w, 65536);
    uint8_t hash[16];
    if (wr_mud_bundle_read_dir(dir, &w, err, sizeof err) != 0)
        wr_error("mud: cannot read the world from %s: %s", dir, err);
    else if (start_upload(n, w.base, w.len, hash, err, sizeof err) != 0)
        wr_error("mud: the world in %s is not valid: %s", dir, err);
    else
        wr_info("mud: proposing the world from %s (%zu bytes)", dir, w.len);
    wr_writer_free(&w);
}

static void mud_leader_ready(void *g, uint64_t term)
{
    struct mnode *n = g;
    n->last_world_read = 0;
    push_world(n);
}

/* Zone loads: rooms + 2*NPCs + 4*players. */
struct zone_load {
    uint64_t load;
    uint32_t npcs, players;
};

static void zone_loads(struct mnode *n, struct zone_load *zl)
{
    const struct wr_mud *ms = mud_state(n);
    const struct wr_mud_model *m = wr_mud_model(ms);
    for (size_t i = 0; i < m->n_zones; i++)
        memset(&zl[i], 0, sizeof zl[i]);
    for (size_t i = 0; i < m->n_rooms; i++)
        zl[m->rooms[i].zone].load++;
    for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
        const struct wr_mud_npc_inst *np = wr_mud_npc_at(ms, i);
        if (np->room < m->n_rooms) {
            zl[m->rooms[np->room].zone].load += 2;
            zl[m->rooms[np->room].zone].npcs++;
        }
    }
    for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
        const struct wr_mud_char *ch = wr_mud_char_at(ms, i);
        if (ch->state != WR_MUD_OFFLINE && ch->room < m->n_rooms) {
            zl[m->rooms[ch->room].zone].load += 4;
            zl[m->rooms[ch->room].zone].players++;
        }
    }
}

static void place_zones(struct mnode *n)
{
    const struct wr_mud *ms = mud_state(n);
    const struct wr_mud_model *m = wr_mud_model(ms);
    if (m == NULL || m->n_zones == 0)
        return;
    uint64_t ids[WR_MAX_PEERS];
    size_t n_ids = wr_node_members(n->wn, ids, WR_MAX_PEERS);
    uint64_t live[WR_MAX_PEERS];
    size_t n_live = 0;
    for (size_t i = 0; i < n_ids; i++)
        if (wr_node_peer_silent_ms(n->wn, ids[i]) < wr_node_down_after_ms(n->wn))
            live[n_live++] = ids[i];
    if (n_live == 0)
        return;
    struct zone_load *zl = wr_malloc(m->n_zones * sizeof *zl);
    zone_loads(n, zl);
    uint64_t node_load[WR_MAX_PEERS] = {0};
    for (size_t z = 0; z < m->n_zones; z++) {
        uint32_t owner = wr_mud_zone_state(ms, (uint32_t)z)->owner;
        for (size_t k = 0; k < n_live; k++)
            if (live[k] == owner)
                node_load[k] += zl[z].load;
    }
    struct wr_writer p;
    wr_writer_init(&p, 64);
    /* Unowned zones and zones of dead owners: to the least loaded. In
     * index order, so the result does not depend on anything but state. */
    for (size_t z = 0; z < m->n_zones; z++) {
        const struct wr_mud_zone_state *zs = wr_mud_zone_state(ms, (uint32_t)z);
        bool alive = false;
        for (size_t k = 0; k < n_live; k++)
            alive |= live[k] == zs->owner;
        if (alive)
            continue;
        size_t best = 0;
        for (size_t k = 1; k < n_live; k++)
            if (node_load[k] < node_load[best])
                best = k;
        node_load[best] += zl[z].load;
        p.len = 0;
        wr_mud_encode_zone_place(&p, m->zones[z].key, (uint32_t)live[best], zs->epoch);
        submit_once(n, WR_MUD_ZONE_PLACE, &p);
    }
    /* Rebalance one zone at most every 2 s, with hysteresis. */
    uint64_t now = uv_now(wr_node_loop(n->wn));
    if (n_live >= 2 && now - n->last_rebalance >= 2000) {
        size_t hi = 0, lo = 0;
        for (size_t k = 1; k < n_live; k++) {
            if (node_load[k] > node_load[hi])
                hi = k;
            if (node_load[k] < node_load[lo])
                lo = k;
        }
        if (node_load[hi] * 2 > node_load[lo] * 3 + 20) {
            /* the zone of hi whose move narrows the gap most */
            uint64_t gap = node_load[hi] - node_load[lo];
            size_t pick = SIZE_MAX;
            uint64_t best_gap = gap;
            for (size_t z = 0; z < m->n_zones; z++) {
                const struct wr_mud_zone_state *zs = wr_mud_zone_state(ms, (uint32_t)z);
                if (zs->owner != live[hi] || zl[z].load == 0 || zl[z].load >= gap)
                    continue;
                uint64_t ng = gap - zl[z].load > zl[z].load ? gap - 2 * zl[z].load
                                                            : 2 * zl[z].load - gap;
                if (ng < best_gap) {
                    best_gap = ng;
                    pick = z;
                }
            }
            if (pick != SIZE_MAX) {
                n->last_rebalance = now;
                const struct wr_mud_zone_state *zs = wr_mud_zone_state(ms, (uint32_t)pick);
                wr_info("mud: moving zone %s from node %llu to %llu (loads %llu/%llu)",
                        m->zones[pick].key, (unsigned long long)live[hi],
                        (unsigned long long)live[lo], (unsigned long long)node_load[hi],
                        (unsigned long long)node_load[lo]);
                p.len = 0;
                wr_mud_encode_zone_place(&p, m->zones[pick].key, (uint32_t)live[lo], zs->epoch);
                submit_once(n, WR_MUD_ZONE_PLACE, &p);
            }
        }
    }
    wr_writer_free(&p);
    free(zl);
}

static void mud_leader_tick(void *g)
{
    struct mnode *n = g;
    const struct wr_mud *ms = mud_state(n);
    if (wr_mud_model(ms) == NULL) {
        push_world(n);
        return;
    }
    place_zones(n);
    struct wr_writer p;
    wr_writer_init(&p, 32);
    uint64_t ids[WR_MAX_PEERS];
    size_t n_ids = wr_node_members(n->wn, ids, WR_MAX_PEERS);
    for (size_t i = 0; i < n_ids; i++) {
        if (wr_node_peer_silent_ms(n->wn, ids[i]) < wr_node_down_after_ms(n->wn))
            continue;
        bool has = false;
        for (size_t k = 0; k < wr_mud_char_count(ms) && !has; k++) {
            const struct wr_mud_char *ch = wr_mud_char_at(ms, k);
            has = ch->state == WR_MUD_ONLINE && ch->node == ids[i];
        }
        if (has) {
            p.len = 0;
            wr_mud_encode_u32(&p, (uint32_t)ids[i]);
            submit_once(n, WR_MUD_NODE_DOWN, &p);
        }
    }
    uint64_t now = uv_now(wr_node_loop(n->wn));
    if (now - n->last_expiry_round >= 1000) {
        n->last_expiry_round = now;
        uint64_t wall = wr_node_wall_ms();
        for (size_t k = 0; k < wr_mud_char_count(ms); k++) {
            const struct wr_mud_char *ch = wr_mud_char_at(ms, k);
            if (ch->state != WR_MUD_LINKDEAD ||
                ch->linkdead_since + (uint64_t)wr_node_grace_ms(n->wn) > wall)
                continue;
            p.len = 0;
            wr_mud_encode_expire(&p, ch->id, ch->linkdead_since);
            submit_once(n, WR_MUD_EXPIRE, &p);
        }
    }
    wr_writer_free(&p);
}

/* ---- every node: zone ticks, presence, login timeouts ---------------------- */

static void zone_ticks(struct mnode *n)
{
    const struct wr_mud *ms = mud_state(n);
    const struct wr_mud_model *m = wr_mud_model(ms);
    if (m == NULL)
        return;
    if (n->zt_model != m || n->n_zt != m->n_zones) {
        free(n->zt);
        n->zt = wr_calloc(m->n_zones ? m->n_zones : 1, sizeof *n->zt);
        n->n_zt = m->n_zones;
        n->zt_model = m;
    }
    uint32_t me = wr_node_id(n->wn);
    uint64_t wall = wr_node_wall_ms(), now = uv_now(wr_node_loop(n->wn));
    struct wr_writer p;
    wr_writer_init(&p, 64);
    for (size_t z = 0; z < m->n_zones; z++) {
        const struct wr_mud_zone_state *zs = wr_mud_zone_state(ms, (uint32_t)z);
        if (zs->owner != me)
            continue;
        uint64_t due = wr_mud_zone_next_due(ms, (uint32_t)z);
        if (due == UINT64_MAX || due > wall)
            continue;
        struct zone_tick_state *t = &n->zt[z];
        /* one in flight per zone: again only if it did not land within 1 s */
        if (t->due == due && t->epoch == zs->epoch && now - t->sent_at < 1000)
            continue;
        t->due = due;
        t->epoch = zs->epoch;
        t->sent_at = now;
        p.len = 0;
        wr_mud_encode_zone_tick(&p, m->zones[z].key, zs->epoch);
        submit_once(n, WR_MUD_ZONE_TICK, &p);
        n->zone_ticks++;
    }
    wr_writer_free(&p);
}

static void mud_tick(void *g)
{
    struct mnode *n = g;
    propose_upload(n);
    /* The pointer to the model a zt array was built for may be reused by a
     * new model; comparing counts too keeps the array in range. */
    zone_ticks(n);
    uint64_t now = uv_now(wr_node_loop(n->wn));
    uint32_t it = 0;
    for (struct client *c; (c = wr_client_table_next(&n->clients, &it)) != NULL;) {
        if (c->state == S_PLAYING || c->state == S_CLOSING || c->state == S_ENTERING)
            continue;
        if (now - c->opened_at >= (uint64_t)mud_login_timeout) {
            if (c->hidden)
                hide_input(c, false);
            out(c, "\nLogin timed out.\n");
            if (c->state == S_CONFIRM_PASSWORD)
                wipe_pw(c);
            c->job_pending = false;
            close_client(c, 1000, "login timed out");
        }
    }
    if (!wr_node_presence_due(n->wn, now, &n->last_presence_round))
        return;
    it = 0;
    for (struct client *c; (c = wr_client_table_next(&n->clients, &it)) != NULL;) {
        if (c->state != S_PLAYING)
            continue;
        const struct wr_mud_char *ch = my_char(c);
        if (ch != NULL && ch->state == WR_MUD_LINKDEAD && ch->session == c->session)
            submit(c, WR_MUD_PRESENT, NULL);
    }
}

static void mud_on_status(void *g)
{
    struct mnode *n = g;
    uint32_t it = 0;
    for (struct client *c; (c = wr_client_table_next(&n->clients, &it)) != NULL;)
        if (c->state != S_CLOSING)
            send_status(n, c);
}

static void mud_expired(void *g, uint64_t session)
{
    struct mnode *n = g;
    struct client *c = wr_client_table_by_session(&n->clients, session);
    if (c == NULL)
        return;
    out(c, "\nThe world did not answer (no reachable leader). Reconnect in a moment.\n");
    send_error(c, "unavailable",
               "your command was not applied within the queue timeout; reconnect and resume");
    forget_session(n, c);
    close_client(c, 1013, "no leader");
}

/* ---- HTTP view, MSSP, metrics ---------------------------------------------- */

void wr_mud_world_version(void *g, char out_[33])
{
    struct mnode *n = g;
    const struct wr_mud_model *m = wr_mud_model(mud_state(n));
    if (m == NULL) {
        out_[0] = '\0';
        return;
    }
    sodium_bin2hex(out_, 33, m->hash, 16);
}

static void mud_version(void *g, char *out_, size_t len)
{
    char v[33];
    wr_mud_world_version(g, v);
    snprintf(out_, len, "%s", v);
}

static size_t count_online(const struct wr_mud *ms)
{
    size_t k = 0;
    for (size_t i = 0; i < wr_mud_char_count(ms); i++)
        k += wr_mud_char_at(ms, i)->state != WR_MUD_OFFLINE;
    return k;
}

size_t wr_mud_mssp(void *g, struct wr_telnet_mssp_var *vars, size_t max)
{
    struct mnode *n = g;
    const struct wr_mud *ms = mud_state(n);
    const struct wr_mud_model *m = wr_mud_model(ms);
    char (*b)[32] = n->mssp_buf;
    snprintf(b[0], 32, "%zu", count_online(ms));
    snprintf(b[1], 32, "%llu", (unsigned long long)n->started_at);
    snprintf(b[2], 32, "%zu", m ? m->n_zones : 0);
    snprintf(b[3], 32, "%zu", m ? m->n_rooms : 0);
    snprintf(b[4], 32, "%zu", m ? m->n_npcs : 0);
    snprintf(b[5], 32, "%zu", m ? m->n_items : 0);
    snprintf(b[6], 32, "%ld", mud_port);
    const struct wr_telnet_mssp_var all[] = {
        {"NAME", m && m->name ? m->name : "Warren"},
        {"PLAYERS", b[0]},
        {"UPTIME", b[1]},
        {"CODEBASE", "Warren"},
        {"CONTACT", mud_contact},
        {"CRAWL DELAY", "-1"},
        {"HOSTNAME", mud_hostname},
        {"PORT", b[6]},
        {"CHARSET", "UTF-8"},
        {"ANSI", "1"},
        {"GMCP", "1"},
        {"MCCP", "1"},
        {"UTF-8", "1"},
        {"MSDP", "0"},
        {"VT100", "0"},
        {"XTERM 256 COLORS", "0"},
        {"AREAS", b[2]},
        {"ROOMS", b[3]},
        {"MOBILES", b[4]},
        {"OBJECTS", b[5]},
    };
    size_t k = sizeof all / sizeof all[0];
    if (k > max)
        k = max;
    memcpy(vars, all, k * sizeof *vars);
    return k;
}


/* Is "ip:port" a loopback address? */
static bool peer_is_loopback(const char *peer)
{
    return strncmp(peer, "127.", 4) == 0;
}

/* POST /api/mud/world: a bundle from `warren ctl world load` (docs/api.md).
 * Validated here; proposed if valid. Loopback only until the admin API has
 * authentication. */
static void world_upload(struct mnode *n, struct wr_http_conn *conn,
                         const struct wr_http_request *req)
{
    if (!peer_is_loopback(req->peer)) {
        wr_warn("mud: refused a world upload from %s (only loopback may load worlds)", req->peer);
        wr_node_respond_json(conn, 403, json_pack("{s:s}", "error",
                                          "worlds may be loaded from this machine only"));
        return;
    }
    char err[512], hex[33];
    uint8_t hash[16];
    if (start_upload(n, (const uint8_t *)req->body, req->body_len, hash, err, sizeof err) != 0) {
        wr_warn("mud: refused a world upload from %s: %s", req->peer, err);
        wr_node_respond_json(conn, 400, json_pack("{s:s}", "error", err));
        return;
    }
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    bool same = world_is(n, hash);
    wr_info("mud: world %s uploaded by %s (%zu bytes)%s", hex, req->peer, req->body_len,
            same ? ", already running" : "; proposing it");
    wr_node_respond_json(conn, 200, json_pack("{s:s, s:b}", "version", hex, "unchanged", same));
}

static bool mud_request(void *g, struct wr_http_conn *conn, const struct wr_http_request *req)
{
    struct mnode *n = g;
    if (strcmp(req->path, "/api/mud/world") == 0) {
        if (strcmp(req->method, "POST") != 0)
            wr_node_respond_json(conn, 405, json_pack("{s:s}", "error", "POST a world bundle"));
        else
            world_upload(n, conn, req);
        return true;
    }
    if (strcmp(req->path, "/api/mud") != 0 || strcmp(req->method, "POST") == 0)
        return false;
    const struct wr_mud *ms = mud_state(n);
    const struct wr_mud_model *m = wr_mud_model(ms);
    char ver[33];
    wr_mud_world_version(n, ver);
    json_t *body = json_object();
    json_object_set_new(body, "world",
                        m ? json_pack("{s:s, s:s, s:I, s:I}", "name", m->name ? m->name : "",
                                      "version", ver, "zones", (json_int_t)m->n_zones, "rooms",
                                      (json_int_t)m->n_rooms)
                          : json_null());
    json_t *zones = json_array(), *nodes = json_array(), *players = json_array(),
           *npcs = json_array();
    if (m != NULL) {
        struct zone_load *zl = wr_malloc((m->n_zones ? m->n_zones : 1) * sizeof *zl);
        zone_loads(n, zl);
        uint32_t *rooms = wr_calloc(m->n_zones ? m->n_zones : 1, sizeof *rooms);
        for (size_t i = 0; i < m->n_rooms; i++)
            rooms[m->rooms[i].zone]++;
        uint64_t ids[WR_MAX_PEERS];
        size_t n_ids = wr_node_members(n->wn, ids, WR_MAX_PEERS);
        json_t *node_zones[WR_MAX_PEERS];
        for (size_t k = 0; k < n_ids; k++)
            node_zones[k] = json_array();
        for (size_t z = 0; z < m->n_zones; z++) {
            const struct wr_mud_zone_state *zs = wr_mud_zone_state(ms, (uint32_t)z);
            json_array_append_new(zones, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "key",
                                                   m->zones[z].key, "name", m->zones[z].name,
                                                   "owner", (json_int_t)zs->owner, "epoch",
                                                   (json_int_t)zs->epoch, "rooms",
                                                   (json_int_t)rooms[z], "npcs",
                                                   (json_int_t)zl[z].npcs, "players",
                                                   (json_int_t)zl[z].players));
            for (size_t k = 0; k < n_ids; k++)
                if (ids[k] == zs->owner)
                    json_array_append_new(node_zones[k], json_string(m->zones[z].key));
        }
        for (size_t k = 0; k < n_ids; k++) {
            size_t np = 0;
            for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
                const struct wr_mud_char *ch = wr_mud_char_at(ms, i);
                np += ch->state != WR_MUD_OFFLINE && ch->node == ids[k];
            }
            json_array_append_new(nodes, json_pack("{s:I, s:o, s:I}", "id", (json_int_t)ids[k],
                                                   "zones", node_zones[k], "players",
                                                   (json_int_t)np));
        }
        for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
            const struct wr_mud_char *ch = wr_mud_char_at(ms, i);
            if (ch->state == WR_MUD_OFFLINE || ch->room >= m->n_rooms)
                continue;
            json_array_append_new(players,
                                  json_pack("{s:s, s:s, s:s, s:I, s:s}", "name", ch->name, "room",
                                            m->rooms[ch->room].key, "zone",
                                            m->zones[m->rooms[ch->room].zone].key, "node",
                                            (json_int_t)ch->node, "state", state_name(ch->state)));
        }
        for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
            const struct wr_mud_npc_inst *np = wr_mud_npc_at(ms, i);
            if (np->room >= m->n_rooms || np->npc >= m->n_npcs)
                continue;
            json_array_append_new(npcs, json_pack("{s:I, s:s, s:s, s:s, s:s}", "id",
                                                  (json_int_t)np->id, "key", m->npcs[np->npc].key,
                                                  "name", m->npcs[np->npc].name, "room",
                                                  m->rooms[np->room].key, "zone",
                                                  m->zones[m->rooms[np->room].zone].key));
        }
        free(rooms);
        free(zl);
    }
    json_object_set_new(body, "zones", zones);
    json_object_set_new(body, "nodes", nodes);
    json_object_set_new(body, "players", players);
    json_object_set_new(body, "npcs", npcs);
    wr_node_respond_json(conn, 200, body);
    return true;
}

static void mud_metrics(void *g, FILE *f)
{
    struct mnode *n = g;
    size_t conns = wr_client_table_count(&n->clients);
    fprintf(f, "mud_players_online %zu\n", count_online(mud_state(n)));
    fprintf(f, "mud_connections %zu\n", conns);
    fprintf(f, "mud_commands %llu\n", (unsigned long long)n->commands);
    fprintf(f, "mud_pwhash_jobs %llu\n", (unsigned long long)n->pwhash_jobs);
    fprintf(f, "mud_pwhash_in_flight %u\n", n->in_flight);
    fprintf(f, "mud_zone_ticks_proposed %llu\n", (unsigned long long)n->zone_ticks);
}

/* ---- lifecycle ---------------------------------------------------------- */

static void *mud_create(struct wr_node *wn)
{
    struct mnode *n = wr_calloc(1, sizeof *n);
    n->wn = wn;
    n->world = wr_node_world(wn);
    n->started_at = (uint64_t)time(NULL);
    wr_client_table_init(&n->clients);
    wr_u64map_init(&n->by_id);
    unsigned cores = uv_available_parallelism();
    n->max_jobs = 2 * (cores ? cores : 1);
    if (sodium_init() < 0)
        wr_error("mud: sodium_init failed");
    return n;
}

static void mud_destroy(void *g)
{
    struct mnode *n = g;
    for (struct pwjob *j = n->running; j; j = j->next_running)
        j->n = NULL; /* their after-work callbacks just free them */
    while (n->pend_head) {
        struct pwjob *j = n->pend_head;
        n->pend_head = j->next;
        sodium_memzero(j, sizeof *j);
        free(j);
    }
    uint32_t it = 0;
    for (struct client *c; (c = wr_client_table_next(&n->clients, &it)) != NULL;) {
        wipe_pw(c);
        wr_tbuf_free(&c->out);
        free(c);
    }
    wr_client_table_free(&n->clients);
    wr_u64map_free(&n->by_id);
    free(n->dirty);
    free(n->throttles);
    free(n->bundle);
    free(n->zt);
    free(n);
}

static const struct wr_game_setting mud_settings[] = {
    {"mud-world", "WARREN_MUD_WORLD", true, mud_world_dir, sizeof mud_world_dir, 0, 0, "",
     "directory of the MUD's world files (default: world/ next to the binary's repository)"},
    {"mud-pwhash-ops", "WARREN_MUD_PWHASH_OPS", false, &mud_pwhash_ops, 0, 1, 100, "2",
     "argon2id passes for character passwords (tests lower it)"},
    {"mud-pwhash-mem", "WARREN_MUD_PWHASH_MEM", false, &mud_pwhash_mem, 0, 8192, 1L << 30,
     "67108864", "argon2id memory in bytes for character passwords (tests lower it)"},
    {"mud-login-timeout", "WARREN_MUD_LOGIN_TIMEOUT", false, &mud_login_timeout, 0, 1000,
     3600000, "120000", "ms a connection may stay in the login dialogue"},
    {"mud-contact", "WARREN_MUD_CONTACT", true, mud_contact, sizeof mud_contact, 0, 0, "",
     "MSSP CONTACT"},
    {"mud-hostname", "WARREN_MUD_HOSTNAME", true, mud_hostname, sizeof mud_hostname, 0, 0, "",
     "MSSP HOSTNAME"},
    {"mud-port", "WARREN_MUD_PORT", false, &mud_port, 0, 0, 65535, "5555",
     "MSSP PORT (the public telnet port)"},
    {NULL, NULL, false, NULL, 0, 0, 0, NULL, NULL},
};

static size_t mud_mssp_cb(void *g, struct wr_telnet_mssp_var *vars, size_t max)
{
    return wr_mud_mssp(g, vars, max);
}

const struct wr_game wr_mud_game = {
    .name = "mud",
    .module = WR_MODULE_MUD,
    .ws_path = "/mud/ws",
    .telnet = true,
    .settings = mud_settings,
    .create = mud_create,
    .destroy = mud_destroy,
    .on_open = mud_open,
    .on_message = mud_message,
    .on_close = mud_close,
    .on_event = mud_event,
    .flush = mud_flush,
    .on_leader_ready = mud_leader_ready,
    .leader_tick = mud_leader_tick,
    .tick = mud_tick,
    .on_status = mud_on_status,
    .on_expired = mud_expired,
    .on_request = mud_request,
    .metrics = mud_metrics,
    .mssp = mud_mssp_cb,
    .version = mud_version,
};
