/* The client bookkeeping every game's node half keeps for its connections:
 * a table of client pointers by slot with reused slots, a session -> slot
 * map, and the node-side steps every game takes for a client's session
 * (a fresh session key, a session command with the client's next seq, the
 * status message, the once-a-second presence round).
 *
 * The table does not know a game's client struct: it stores `void *` and
 * the game keeps the slot it was given. It never frees a client. Loop
 * thread only, like everything a game does. */
#ifndef WR_NODE_CLIENTS_H
#define WR_NODE_CLIENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/bytes.h"
#include "common/u64map.h"

struct wr_node;
struct json_t; /* jansson */

struct wr_client_table {
    void **slots;     /* by slot; NULL for a free slot */
    uint32_t n_slots; /* slots ever used: every live client is below */
    uint32_t cap_slots;
    uint32_t *free_slots; /* a stack of free slots below n_slots */
    uint32_t n_free;
    struct wr_u64map by_session; /* session -> slot */
};

/* An empty table (allocates nothing yet). */
void wr_client_table_init(struct wr_client_table *t);
/* Free the table's own memory; the clients still in it are the caller's
 * to free (before, through wr_client_table_next). */
void wr_client_table_free(struct wr_client_table *t);

/* Store @client (not NULL) in a free slot, the one most recently freed if
 * any, and return the slot. Aborts on OOM (common/alloc.h). */
uint32_t wr_client_table_add(struct wr_client_table *t, void *client);
/* Free @slot, which must hold a client. Its session, if bound, must have
 * been unbound first. */
void wr_client_table_remove(struct wr_client_table *t, uint32_t slot);
/* The client in @slot, or NULL for a free slot. @slot < n_slots. */
void *wr_client_table_at(const struct wr_client_table *t, uint32_t slot);
/* Live clients. */
uint32_t wr_client_table_count(const struct wr_client_table *t);
/* Iterate: the first client at or after slot *@pos, with *@pos moved past
 * it; NULL at the end. Start with *pos = 0. Adding or removing clients in
 * the loop is allowed (a client added behind *pos is not visited):
 *     uint32_t it = 0;
 *     for (struct client *c; (c = wr_client_table_next(t, &it)) != NULL;) */
void *wr_client_table_next(const struct wr_client_table *t, uint32_t *pos);

/* Iterate the clients whose session is bound, in no particular order:
 * like wr_client_table_next, but the cost is the session map's size, not
 * the number of sockets, so a broadcast to the players on a node with
 * many idle connections does not walk them all. Start with *pos = 0; no
 * bind or unbind during the loop. */
void *wr_client_table_next_bound(const struct wr_client_table *t, uint32_t *pos);

/* The session map. @session is not 0. */
void wr_client_table_bind(struct wr_client_table *t, uint64_t session, uint32_t slot);
void wr_client_table_unbind(struct wr_client_table *t, uint64_t session);
/* The client whose session is @session, or NULL. */
void *wr_client_table_by_session(const struct wr_client_table *t, uint64_t session);

/* A new random, non-zero session key. */
uint64_t wr_node_new_session_key(void);

/* Submit a session command of @module for a local client's @session with
 * seq *@next_seq (wr_node_submit), and count *@next_seq up when it was
 * queued. Returns 0, or -1 if the queue is full (seq not used; telling
 * the client is the caller's part). @payload may be NULL. */
int wr_node_submit_session(struct wr_node *n, uint8_t module, uint8_t type, uint64_t session,
                           uint32_t *next_seq, const struct wr_writer *payload);

/* The status message a client is sent on open and on every change:
 * {"t":"status","degraded":..,"leader":id|null,"node":id}. A new
 * reference (the caller owns it). */
struct json_t *wr_node_status_json(const struct wr_node *n);

/* Is a presence round due at @now (uv_now)? A game's clients whose players
 * a leader shows disconnected though they are here (a partition made it
 * propose NODE_DOWN) must say PRESENT again, or be expired while playing.
 * True at most once a second per *@last_round, and only while a leader is
 * known; then *@last_round is set to @now. */
bool wr_node_presence_due(const struct wr_node *n, uint64_t now, uint64_t *last_round);

#endif
