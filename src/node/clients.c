/* The client table and session steps shared by the games' node halves
 * (node/clients.h). */
#include "node/clients.h"

#include <assert.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "node/game.h"

void wr_client_table_init(struct wr_client_table *t)
{
    *t = (struct wr_client_table){0};
    wr_u64map_init(&t->by_session);
}

void wr_client_table_free(struct wr_client_table *t)
{
    wr_u64map_free(&t->by_session);
    free(t->slots);
    free(t->free_slots);
    *t = (struct wr_client_table){0};
}

uint32_t wr_client_table_add(struct wr_client_table *t, void *client)
{
    uint32_t slot;
    assert(client != NULL);
    if (t->n_free > 0) {
        slot = t->free_slots[--t->n_free];
    } else {
        if (t->n_slots == t->cap_slots) {
            t->cap_slots = t->cap_slots ? t->cap_slots * 2 : 256;
            t->slots = wr_realloc(t->slots, t->cap_slots * sizeof *t->slots);
            t->free_slots = wr_realloc(t->free_slots, t->cap_slots * sizeof *t->free_slots);
        }
        slot = t->n_slots++;
    }
    t->slots[slot] = client;
    return slot;
}

void wr_client_table_remove(struct wr_client_table *t, uint32_t slot)
{
    assert(slot < t->n_slots && t->slots[slot] != NULL);
    t->slots[slot] = NULL;
    t->free_slots[t->n_free++] = slot;
}

void *wr_client_table_at(const struct wr_client_table *t, uint32_t slot)
{
    assert(slot < t->n_slots);
    return t->slots[slot];
}

uint32_t wr_client_table_count(const struct wr_client_table *t)
{
    return t->n_slots - t->n_free;
}

void *wr_client_table_next(const struct wr_client_table *t, uint32_t *pos)
{
    while (*pos < t->n_slots) {
        void *c = t->slots[(*pos)++];
        if (c != NULL)
            return c;
    }
    return NULL;
}

void *wr_client_table_next_bound(const struct wr_client_table *t, uint32_t *pos)
{
    const struct wr_u64map *m = &t->by_session;
    while (*pos < m->cap) {
        size_t i = (*pos)++;
        if (m->keys[i] != 0)
            return t->slots[m->vals[i]];
    }
    return NULL;
}

void wr_client_table_bind(struct wr_client_table *t, uint64_t session, uint32_t slot)
{
    assert(session != 0);
    wr_u64map_put(&t->by_session, session, slot);
}

void wr_client_table_unbind(struct wr_client_table *t, uint64_t session)
{
    wr_u64map_del(&t->by_session, session);
}

void *wr_client_table_by_session(const struct wr_client_table *t, uint64_t session)
{
    uint32_t slot;
    if (!wr_u64map_get(&t->by_session, session, &slot))
        return NULL;
    return t->slots[slot];
}

uint64_t wr_node_new_session_key(void)
{
    uint64_t k = 0;
    while (k == 0)
        randombytes_buf(&k, sizeof k);
    return k;
}

int wr_node_submit_session(struct wr_node *n, uint8_t module, uint8_t type, uint64_t session,
                           uint32_t *next_seq, const struct wr_writer *payload)
{
    struct wr_cmd cmd = {
        .module = module,
        .type = type,
        .node = wr_node_id(n),
        .session = session,
        .seq = *next_seq,
        .len = payload ? (uint16_t)payload->len : 0,
        .payload = payload ? payload->base : NULL,
    };
    if (wr_node_submit(n, &cmd) != 0)
        return -1;
    (*next_seq)++;
    return 0;
}

json_t *wr_node_status_json(const struct wr_node *n)
{
    struct wr_node_status st;
    wr_node_status(n, &st);
    json_t *leader = st.leader_id ? json_integer((json_int_t)st.leader_id) : json_null();
    return json_pack("{s:s, s:b, s:o, s:I}", "t", "status", "degraded", st.degraded, "leader",
                     leader, "node", (json_int_t)wr_node_id(n));
}

bool wr_node_presence_due(const struct wr_node *n, uint64_t now, uint64_t *last_round)
{
    struct wr_node_status st;
    wr_node_status(n, &st);
    if (st.leader_id == 0 || now - *last_round < 1000)
        return false;
    *last_round = now;
    return true;
}
