/* The MUD's login dialogue (the client states ASK_NAME to ENTERING, written
 * down with their invariants in mud_node_internal.h): names, passwords,
 * new characters, WebSocket resume, and the throttling of failed logins.
 *
 * Password hashing (argon2id, tens of ms and 64 MiB each) runs on the
 * libuv thread pool, at most max_jobs at once; the rest wait in a FIFO. A
 * job refers to its client by a never-reused id, so a client that closed
 * while its job ran is simply not found by the after-work callback. */
#include <assert.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/log.h"
#include "mud_node/mud_node_internal.h"
#include "net/conn.h"

#define PW_MIN 6
#define FAIL_START_MS 1000
#define FAIL_MAX_MS 30000
#define MAX_FAILS_PER_CONN 3
#define THROTTLE_MAX 4096

struct throttle {
    char key[80];
    uint32_t delay_ms;
    uint64_t next_ok; /* uv_now */
    uint64_t last;
};

/* ---- the states ---------------------------------------------------------- */

/* The invariants of the client states, as written in mud_node_internal.h. */
static void assert_client_state(const struct client *c)
{
#ifndef NDEBUG
    bool has_session = c->state == S_ENTERING || c->state == S_PLAYING;
    if (has_session)
        assert(c->session != 0);
    else if (c->state != S_CLOSING)
        assert(c->session == 0);
    bool choosing = c->state == S_ASK_RACE || c->state == S_ASK_CLASS;
    if (c->job_pending)
        assert(c->state == S_CHECKING || c->state == S_HASHING || choosing ||
               c->state == S_CLOSING);
    if (c->hash_ready) /* CLOSING: a login timeout closed it while choosing */
        assert((choosing || c->state == S_CLOSING) && !c->job_pending && c->pw_hash[0] != '\0');
    else
        assert(c->pw_hash[0] == '\0');
    if (c->state != S_CONFIRM_PASSWORD)
        assert(c->pw_len == 0);
    if (c->state != S_PLAYING && c->state != S_CLOSING)
        assert(c->char_id == 0);
#else
    (void)c;
#endif
}

static struct client *client_by_id(struct mnode *n, uint64_t id)
{
    uint32_t slot;
    if (!wr_u64map_get(&n->by_id, id, &slot))
        return NULL;
    return wr_client_table_at(&n->clients, slot);
}

void wr__mud_start_dialogue(struct client *c)
{
    sodium_memzero(c->pw_hash, sizeof c->pw_hash);
    c->hash_ready = false;
    c->race_key[0] = c->cls_key[0] = '\0';
    c->state = S_ASK_NAME;
    wr__mud_ask(c, "By what name are you known? ");
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
    if ((t = throttle_get(n, ak, false, now)) != NULL && t->next_ok > now &&
        t->next_ok - now > wait)
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
    j->ops = wr__mud_pwhash_ops;
    j->mem = wr__mud_pwhash_mem;
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
static void enter_world(struct client *c, uint8_t type, const char *pw_hash,
                        const uint8_t *tok_hash)
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
    if (type == WR_MUD_CREATE) {
        wr_mud_encode_create(&p, c->name, pw_hash, hash, wr_node_incarnation(n->wn));
        wr_mud_encode_str(&p, c->race_key); /* the choices follow (mud.h) */
        wr_mud_encode_str(&p, c->cls_key);
    } else if (type == WR_MUD_LOGIN)
        wr_mud_encode_login(&p, c->name, hash, wr_node_incarnation(n->wn));
    else
        wr_mud_encode_resume(&p, hash, wr_node_incarnation(n->wn));
    c->session = wr_node_new_session_key();
    c->next_seq = 1;
    int rv = wr__mud_submit(c, type, &p);
    wr_writer_free(&p);
    if (rv != 0) {
        c->session = 0;
        wr__mud_start_dialogue(c);
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
    bool choosing = c->state == S_ASK_RACE || c->state == S_ASK_CLASS;
    if (c->state == S_HASHING || choosing) {
        if (j->result != 0) {
            wr_error("mud: password hashing failed (memory limit?)");
            wr__mud_out(c, "\nSomething went wrong creating your character; try again.\n");
            wr__mud_start_dialogue(c);
            return;
        }
        if (c->state == S_HASHING) {
            enter_world(c, WR_MUD_CREATE, j->hash, NULL);
            return;
        }
        /* The player is still choosing: keep the hash until the class. */
        snprintf(c->pw_hash, sizeof c->pw_hash, "%s", j->hash);
        c->hash_ready = true;
        return;
    }
    if (c->state != S_CHECKING)
        return;
    if (j->result == 0) {
        throttle_ok(n, c, now);
        wr__mud_hide_input(c, false); /* the password is in: the player's typing shows again */
        wr__mud_out(c, "\n");
        enter_world(c, WR_MUD_LOGIN, NULL, NULL);
        return;
    }
    throttle_fail(n, c, now);
    c->fails++;
    wr_info("mud: failed login for %s from %s", c->name, wr_conn_peer(c->conn));
    if (c->fails >= MAX_FAILS_PER_CONN) {
        wr__mud_hide_input(c, false);
        wr__mud_out(c, "\nWrong password. Too many failures; goodbye.\n");
        wr__mud_close_client(c, 1008, "too many failed logins");
        return;
    }
    wr__mud_out(c, "\nWrong password.\n");
    c->state = S_ASK_PASSWORD;
    wr__mud_ask(c, "Password: ");
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
        wr__mud_ask(c, "By what name are you known? ");
        return;
    }
    if (!wr_mud_name_ok(line, len) || len > WR_MUD_NAME_MAX) {
        wr__mud_out(c, "A name is 3 to 16 letters (A-Z), nothing else.\n");
        wr__mud_ask(c, "By what name are you known? ");
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
    const struct wr_mud_char *ch = wr_mud_char_by_name(wr__mud_state(c->node), c->name);
    if (ch != NULL) {
        snprintf(c->name, sizeof c->name, "%s", ch->name);
        c->state = S_ASK_PASSWORD;
        wr__mud_hide_input(c, true);
        wr__mud_ask(c, "Password: ");
    } else {
        c->state = S_CONFIRM_NEW;
        char q[96];
        snprintf(q, sizeof q, "Create a new character called %s? (y/n) ", c->name);
        wr__mud_ask(c, q);
    }
}

static void on_password(struct client *c, const char *line, size_t len)
{
    struct mnode *n = c->node;
    uint64_t now = uv_now(wr_node_loop(n->wn));
    uint64_t wait = throttle_wait(n, c, now);
    if (wait > 0) {
        wr__mud_outf(c, "\nToo many failed logins; wait %llu s and try again.\n",
                     (unsigned long long)((wait + 999) / 1000));
        wr__mud_ask(c, "Password: ");
        return;
    }
    const struct wr_mud_char *ch = wr_mud_char_by_name(wr__mud_state(n), c->name);
    if (ch == NULL) {
        wr__mud_hide_input(c, false);
        wr__mud_out(c, "\nThat character no longer exists.\n");
        wr__mud_start_dialogue(c);
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
        wr__mud_out(c, "Choose a password (at least 6 characters).\n");
        c->state = S_ASK_NEW_PASSWORD;
        wr__mud_hide_input(c, true);
        wr__mud_ask(c, "Password: ");
    } else if (len > 0 && (line[0] == 'n' || line[0] == 'N')) {
        c->name[0] = '\0';
        wr__mud_start_dialogue(c);
    } else {
        wr__mud_ask(c, "Please answer y or n: ");
    }
}

static void on_new_password(struct client *c, const char *line, size_t len)
{
    if (len < PW_MIN || len >= PW_MAX) {
        wr__mud_outf(c, "\nA password has %d to %d characters.\n", PW_MIN, PW_MAX - 1);
        wr__mud_ask(c, "Password: ");
        return;
    }
    memcpy(c->pw, line, len);
    c->pw_len = len;
    c->state = S_CONFIRM_PASSWORD;
    wr__mud_out(c, "\n");
    wr__mud_ask(c, "Again, to be sure: ");
}

/* ---- race and class ------------------------------------------------------ */

/* One menu of the choices: the world's races or its classes. */
struct menu {
    const char *what; /* "race", "class" */
    size_t n;
    const char *(*key)(const struct wr_mud_model *m, size_t i);
    const char *(*name)(const struct wr_mud_model *m, size_t i);
    const char *(*desc)(const struct wr_mud_model *m, size_t i);
};

static const char *race_key(const struct wr_mud_model *m, size_t i)
{
    return m->races[i].key;
}

static const char *race_name(const struct wr_mud_model *m, size_t i)
{
    return m->races[i].name;
}

static const char *race_desc(const struct wr_mud_model *m, size_t i)
{
    return m->races[i].desc;
}

static const char *cls_key(const struct wr_mud_model *m, size_t i)
{
    return m->classes[i].key;
}

static const char *cls_name(const struct wr_mud_model *m, size_t i)
{
    return m->classes[i].name;
}

static const char *cls_desc(const struct wr_mud_model *m, size_t i)
{
    return m->classes[i].desc;
}

static struct menu menu_of(const struct wr_mud_model *m, bool race)
{
    if (race)
        return (struct menu){"race", m ? m->n_races : 0, race_key, race_name, race_desc};
    return (struct menu){"class", m ? m->n_classes : 0, cls_key, cls_name, cls_desc};
}

static void show_menu(struct client *c, const struct wr_mud_model *m, const struct menu *mn)
{
    wr__mud_outf(c, "Choose your %s:\n", mn->what);
    struct wr_tbuf line;
    wr_tbuf_init(&line);
    for (size_t i = 0; i < mn->n; i++) {
        const char *d = mn->desc(m, i);
        line.len = 0;
        wr_tbuf_printf(&line, "%zu. %s%s%s", i + 1, mn->name(m, i), d ? " - " : "", d ? d : "");
        wr__mud_out_wrapped(c, wr_tbuf_str(&line), 5);
    }
    wr_tbuf_free(&line);
    char q[48];
    snprintf(q, sizeof q, "Your %s (number or name): ", mn->what);
    wr__mud_ask(c, q);
}

/* The index @answer names in @mn (a number from 1, or a name or key in
 * any case), or -1. */
static long menu_pick(const struct wr_mud_model *m, const struct menu *mn, const char *answer,
                      size_t len)
{
    trim(&answer, &len);
    if (len == 0 || len > 64)
        return -1;
    char a[65];
    memcpy(a, answer, len);
    a[len] = '\0';
    char *end;
    unsigned long num = strtoul(a, &end, 10);
    if (a[0] >= '0' && a[0] <= '9' && *end == '\0')
        return num >= 1 && num <= mn->n ? (long)num - 1 : -1;
    for (size_t i = 0; i < mn->n; i++)
        if (strcasecmp(a, mn->name(m, i)) == 0 || strcasecmp(a, mn->key(m, i)) == 0)
            return (long)i;
    return -1;
}

/* Both choices are made: CREATE once the hash is there. */
static void choices_done(struct client *c)
{
    if (!c->hash_ready) {
        c->state = S_HASHING; /* job_done enters the world */
        return;
    }
    char hash[WR_MUD_PWHASH_MAX];
    memcpy(hash, c->pw_hash, sizeof hash);
    sodium_memzero(c->pw_hash, sizeof c->pw_hash);
    c->hash_ready = false;
    enter_world(c, WR_MUD_CREATE, hash, NULL);
    sodium_memzero(hash, sizeof hash);
}

/* Ask the class, or skip the question when the world has one or none. */
static void ask_class(struct client *c)
{
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    struct menu mn = menu_of(m, false);
    c->state = S_ASK_CLASS;
    if (mn.n > 1) {
        show_menu(c, m, &mn);
        return;
    }
    snprintf(c->cls_key, sizeof c->cls_key, "%s", mn.n == 1 ? mn.key(m, 0) : "");
    choices_done(c);
}

/* Ask the race, or skip the question when the world has one or none. */
static void ask_race(struct client *c)
{
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    struct menu mn = menu_of(m, true);
    if (mn.n > 1) {
        show_menu(c, m, &mn);
        return;
    }
    snprintf(c->race_key, sizeof c->race_key, "%s", mn.n == 1 ? mn.key(m, 0) : "");
    ask_class(c);
}

/* An answer to the race (@race) or class menu; a bad one asks again. */
static void on_choice(struct client *c, const char *line, size_t len, bool race)
{
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(c->node));
    struct menu mn = menu_of(m, race);
    long i = menu_pick(m, &mn, line, len);
    if (i < 0) {
        wr__mud_outf(c,
                     "That is not a %s of this world; answer with a number from 1 to %zu "
                     "or a name.\n",
                     mn.what, mn.n);
        if (mn.n == 0) { /* the world went away under the question */
            wr__mud_start_dialogue(c);
            return;
        }
        show_menu(c, m, &mn);
        return;
    }
    char *key = race ? c->race_key : c->cls_key;
    snprintf(key, sizeof c->race_key, "%s", mn.key(m, (size_t)i));
    wr__mud_outf(c, "%s: %s.\n", race ? "Race" : "Class", mn.name(m, (size_t)i));
    if (race)
        ask_class(c);
    else
        choices_done(c);
}

static void on_confirm_password(struct client *c, const char *line, size_t len)
{
    bool same = len == c->pw_len && sodium_memcmp(line, c->pw, len) == 0;
    if (!same) {
        wr__mud_wipe_pw(c);
        wr__mud_out(c, "\nThe passwords differ; start again.\n");
        c->state = S_ASK_NEW_PASSWORD;
        wr__mud_ask(c, "Password: ");
        return;
    }
    wr__mud_hide_input(c, false);
    wr__mud_out(c, "\n");
    /* The hash (slow) runs while the player picks a race and a class. */
    c->state = S_ASK_RACE;
    job_start(c, true, c->pw, c->pw_len, NULL);
    wr__mud_wipe_pw(c);
    if (c->state == S_ASK_RACE) /* not if the job failed to start */
        ask_race(c);
}

/* One line from the user: a login answer or a command. */
void wr__mud_on_line(struct client *c, const char *line, size_t len)
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
        wr__mud_out(c, "Please wait...\n");
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
    case S_ASK_RACE:
        on_choice(c, line, len, true);
        break;
    case S_ASK_CLASS:
        on_choice(c, line, len, false);
        break;
    case S_PLAYING:
        wr__mud_run_command(c, line, len);
        break;
    case S_CLOSING:
        break;
    }
    assert_client_state(c);
}

void wr__mud_handle_resume(struct client *c, json_t *msg)
{
    if (c->state != S_ASK_NAME || c->answered) {
        wr__mud_send_error(c, "bad_field", "resume must be the first message of a connection");
        return;
    }
    const char *hex = json_string_value(json_object_get(msg, "token"));
    uint8_t token[TOKEN_BYTES], hash[16];
    size_t len = 0;
    if (hex == NULL || strlen(hex) != 2 * TOKEN_BYTES ||
        sodium_hex2bin(token, sizeof token, hex, strlen(hex), NULL, &len, NULL) != 0 ||
        len != sizeof token) {
        wr__mud_send_error(c, "bad_token",
                           "resume needs the 32-hex-digit \"token\" from the welcome");
        return;
    }
    c->answered = true;
    crypto_generichash(hash, sizeof hash, token, sizeof token, NULL, 0);
    snprintf(c->token, sizeof c->token, "%s", hex);
    enter_world(c, WR_MUD_RESUME, NULL, hash);
}
