/* The MUD's node-side half (node/game.h, mud_node.h): its clients over
 * telnet and over the WebSocket /mud/ws (docs/protocol.md). This file holds
 * the game table, settings, lifecycle, metrics, and a client's opening,
 * closing and messages; the rest is split by concern (mud_node_internal.h). */
#include "mud_node/mud_node.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/metrics.h"
#include "mud_node/mud_node_internal.h"
#include "net/conn.h"
#include "net/telnet.h"

/* Settings */
char wr__mud_world_dir[512];
long wr__mud_pwhash_ops = 2;          /* crypto_pwhash_OPSLIMIT_INTERACTIVE */
long wr__mud_pwhash_mem = 67108864;   /* crypto_pwhash_MEMLIMIT_INTERACTIVE */
long wr__mud_login_timeout = 120000;
char wr__mud_contact[128] = "";
char wr__mud_hostname[128] = "";
long wr__mud_port = 5555;

/* ---- clients ----------------------------------------------------------- */

static void send_status(struct mnode *n, struct client *c)
{
    if (!c->ws)
        return;
    wr__mud_send_json(c, wr_node_status_json(n->wn));
}

void wr__mud_wipe_pw(struct client *c)
{
    sodium_memzero(c->pw, sizeof c->pw);
    c->pw_len = 0;
}

/* Submit a session command; 0, or -1 (queue full: the client was told). */
int wr__mud_submit(struct client *c, uint8_t type, const struct wr_writer *payload)
{
    if (wr_node_submit_session(c->node->wn, WR_MODULE_MUD, type, c->session, &c->next_seq,
                               payload) != 0) {
        wr__mud_out(c, "The world is busy; try again.\n");
        return -1;
    }
    c->node->commands++;
    return 0;
}

const struct wr_mud_char *wr__mud_my_char(struct client *c)
{
    if (c->char_id == 0)
        return NULL;
    return wr_mud_char_by_id(wr__mud_state(c->node), c->char_id);
}

/* Tell @c to play on another node, and close it (drain): the WebSocket
 * terminal reconnects on 1012 and resumes the character; a telnet client
 * cannot, so the text names the address to use. */
static void move_elsewhere(struct mnode *n, struct client *c)
{
    const char *http = wr_node_elsewhere(n->wn, false);
    const char *telnet = wr_node_elsewhere(n->wn, true);
    char msg[300];
    if (c->ws) {
        snprintf(msg, sizeof msg,
                 "node %u is draining for maintenance: reconnect to %s%s and resume", wr_node_id(n->wn),
                 http ? http : "another node", http ? " (or any other node)" : "");
        wr__mud_send_error(c, "moved", msg);
    }
    if (telnet != NULL)
        snprintf(msg, sizeof msg,
                 "\nThis server (node %u) is going down for maintenance. Please connect again "
                 "to the game's address, or to %s (telnet %.*s %s), and log in: your character "
                 "waits for you there.\n",
                 wr_node_id(n->wn), telnet, (int)strcspn(telnet, ":"), telnet,
                 strchr(telnet, ':') ? strchr(telnet, ':') + 1 : "");
    else
        snprintf(msg, sizeof msg,
                 "\nThis server (node %u) is going down for maintenance. Please connect again "
                 "to the game's address and log in: your character waits for you there.\n",
                 wr_node_id(n->wn));
    wr__mud_out(c, msg);
    wr__mud_close_client(c, 1012, "node draining: reconnect elsewhere and resume");
}

static void mud_drain(void *g)
{
    struct mnode *n = g;
    uint32_t it = 0;
    for (struct client *c; (c = wr_client_table_next(&n->clients, &it)) != NULL;)
        if (c->state != S_CLOSING)
            move_elsewhere(n, c);
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
    if (wr_node_refuses_clients(n->wn)) { /* draining: telnet only, see game.h */
        move_elsewhere(n, c);
        return;
    }
    send_status(n, c);
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(n));
    wr__mud_out(c, WR_ANSI_BOLD);
    wr__mud_out(c, m && m->name ? m->name : "Warren");
    wr__mud_out(c, WR_ANSI_RESET "\n");
    if (m == NULL)
        wr__mud_out(
            c, "(The world is still being built: you may log in, but wait a moment to play.)\n");
    wr__mud_out(c, "\n");
    wr__mud_start_dialogue(c);
}

void wr__mud_forget_session(struct mnode *n, struct client *c)
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
        wr__mud_submit(c, WR_MUD_DISCONNECT, NULL);
    wr__mud_forget_session(n, c);
    wr__mud_wipe_pw(c);
    wr_u64map_del(&n->by_id, c->id);
    wr_client_table_remove(&n->clients, c->slot);
    wr_tbuf_free(&c->out);
    free(c);
}

static void mud_message(void *g, struct wr_conn *conn, const char *data, size_t len)
{
    struct client *c = wr_conn_data(conn);
    if (c == NULL || c->state == S_CLOSING)
        return;
    if (!c->ws) {
        wr__mud_on_line(c, data, len);
        wr__mud_flush_client(c);
        return;
    }
    json_error_t jerr;
    json_t *msg = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (msg == NULL || !json_is_object(msg)) {
        json_decref(msg);
        wr__mud_send_error(c, "bad_json", "every message must be one JSON object");
        return;
    }
    const char *t = json_string_value(json_object_get(msg, "t"));
    if (t == NULL) {
        wr__mud_send_error(c, "bad_field", "a message needs a string \"t\"");
    } else if (strcmp(t, "line") == 0) {
        json_t *text = json_object_get(msg, "text");
        if (!json_is_string(text))
            wr__mud_send_error(c, "bad_field", "line needs a string \"text\"");
        else
            wr__mud_on_line(c, json_string_value(text), json_string_length(text));
    } else if (strcmp(t, "resume") == 0) {
        wr__mud_handle_resume(c, msg);
    } else if (strcmp(t, "ping") == 0) {
        wr__mud_send_json(c,
                          json_pack("{s:s, s:O?}", "t", "pong", "id", json_object_get(msg, "id")));
    } else if (strcmp(t, "size") == 0) {
        json_t *w = json_object_get(msg, "width");
        if (json_is_integer(w) && json_integer_value(w) >= 20 && json_integer_value(w) <= 1000)
            c->width = (unsigned)json_integer_value(w);
    } else {
        wr__mud_send_error(c, "bad_type", "unknown message type");
    }
    if (msg != NULL && (json_object_get(msg, "text") != NULL || c->out.len > 0))
        wr__mud_flush_client(c);
    json_decref(msg);
}

static void mud_flush(void *g)
{
    struct mnode *n = g;
    for (size_t i = 0; i < n->n_dirty; i++) {
        struct client *c = wr_client_table_at(&n->clients, n->dirty[i]);
        if (c == NULL || !c->dirty)
            continue;
        c->dirty = false;
        wr__mud_flush_client(c);
    }
    n->n_dirty = 0;
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
    wr__mud_out(c, "\nThe world did not answer (no reachable leader). Reconnect in a moment.\n");
    wr__mud_send_error(
        c, "unavailable",
        "your command was not applied within the queue timeout; reconnect and resume");
    wr__mud_forget_session(n, c);
    wr__mud_close_client(c, 1013, "no leader");
}

static void mud_metrics(void *g, struct wr_prom *p)
{
    struct mnode *n = g;
    wr_prom_gauge(p, "warren_mud_players_online", "characters in the game (the whole cluster's)",
                  (double)wr__mud_count_online(wr__mud_state(n)));
    wr_prom_gauge(p, "warren_mud_connections", "this node's MUD connections (telnet, WebSocket)",
                  (double)wr_client_table_count(&n->clients));
    wr_prom_counter(p, "warren_mud_commands_total", "command lines from this node's players",
                    n->commands);
    wr_prom_counter(p, "warren_mud_pwhash_jobs_total", "password hashes computed",
                    n->pwhash_jobs);
    wr_prom_gauge(p, "warren_mud_pwhash_in_flight", "password hashes running now",
                  n->in_flight);
    wr_prom_counter(p, "warren_mud_zone_ticks_proposed_total",
                    "zone ticks this node proposed as a zone's owner", n->zone_ticks);
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
        wr__mud_wipe_pw(c);
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
    {"mud-world", "WARREN_MUD_WORLD", true, wr__mud_world_dir, sizeof wr__mud_world_dir, 0, 0, "",
     "directory of the MUD's world files (default: world/ next to the binary's repository)"},
    {"mud-pwhash-ops", "WARREN_MUD_PWHASH_OPS", false, &wr__mud_pwhash_ops, 0, 1, 100, "2",
     "argon2id passes for character passwords (tests lower it)"},
    {"mud-pwhash-mem", "WARREN_MUD_PWHASH_MEM", false, &wr__mud_pwhash_mem, 0, 8192, 1L << 30,
     "67108864", "argon2id memory in bytes for character passwords (tests lower it)"},
    {"mud-login-timeout", "WARREN_MUD_LOGIN_TIMEOUT", false, &wr__mud_login_timeout, 0, 1000,
     3600000, "120000", "ms a connection may stay in the login dialogue"},
    {"mud-contact", "WARREN_MUD_CONTACT", true, wr__mud_contact, sizeof wr__mud_contact, 0, 0, "",
     "MSSP CONTACT"},
    {"mud-hostname", "WARREN_MUD_HOSTNAME", true, wr__mud_hostname, sizeof wr__mud_hostname, 0, 0,
     "", "MSSP HOSTNAME"},
    {"mud-port", "WARREN_MUD_PORT", false, &wr__mud_port, 0, 0, 65535, "5555",
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
    .on_event = wr__mud_event,
    .flush = mud_flush,
    .on_leader_ready = wr__mud_leader_ready,
    .leader_tick = wr__mud_leader_tick,
    .tick = wr__mud_tick,
    .on_status = mud_on_status,
    .drain = mud_drain,
    .on_expired = mud_expired,
    .on_request = wr__mud_request,
    .metrics = mud_metrics,
    .mssp = mud_mssp_cb,
    .version = wr__mud_version,
};
