/* Unit tests for node/clients: the games' client table (slots reused
 * last-freed first, the session map, iteration over holes) and the random
 * session keys. The node-bound helpers (submit, status, presence) need a
 * running node and are covered by the cluster and browser tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>

#include "node/clients.h"

/* A game's client, as the games keep them: the slot it was given. */
struct fake_client {
    int id;
    uint32_t slot;
};

static void add(struct wr_client_table *t, struct fake_client *c)
{
    c->slot = wr_client_table_add(t, c);
    assert_ptr_equal(wr_client_table_at(t, c->slot), c);
}

/* Visit every live client; check each is at its slot, in slot order, and
 * return how many were visited. */
static uint32_t walk(const struct wr_client_table *t, struct fake_client **seen, uint32_t max)
{
    uint32_t it = 0, n = 0, last = 0;
    for (struct fake_client *c; (c = wr_client_table_next(t, &it)) != NULL;) {
        assert_true(n < max);
        assert_ptr_equal(wr_client_table_at(t, c->slot), c);
        if (n > 0)
            assert_true(c->slot > last);
        last = c->slot;
        assert_int_equal(it, c->slot + 1);
        seen[n++] = c;
    }
    assert_int_equal(it, t->n_slots);
    return n;
}

static void test_empty(void **state)
{
    struct wr_client_table t;
    wr_client_table_init(&t);
    uint32_t it = 0;
    assert_null(wr_client_table_next(&t, &it));
    assert_int_equal(wr_client_table_count(&t), 0);
    assert_null(wr_client_table_by_session(&t, 42));
    wr_client_table_unbind(&t, 42); /* not bound: no-op */
    wr_client_table_free(&t);
    wr_client_table_free(&t); /* freeing twice is harmless */
}

static void test_slot_reuse(void **state)
{
    struct wr_client_table t;
    wr_client_table_init(&t);
    struct fake_client c[6] = {{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}};
    for (int i = 0; i < 4; i++) {
        add(&t, &c[i]);
        assert_int_equal(c[i].slot, (uint32_t)i);
    }
    assert_int_equal(wr_client_table_count(&t), 4);

    /* Freed slots come back last-freed first, before any new slot. */
    wr_client_table_remove(&t, c[1].slot);
    wr_client_table_remove(&t, c[2].slot);
    assert_null(wr_client_table_at(&t, 1));
    assert_null(wr_client_table_at(&t, 2));
    assert_int_equal(wr_client_table_count(&t), 2);
    add(&t, &c[4]);
    assert_int_equal(c[4].slot, 2);
    add(&t, &c[5]);
    assert_int_equal(c[5].slot, 1);
    assert_int_equal(t.n_slots, 4); /* no slot was added */
    assert_int_equal(wr_client_table_count(&t), 4);

    /* Then the table grows again. */
    struct fake_client d = {6, 0};
    add(&t, &d);
    assert_int_equal(d.slot, 4);
    assert_int_equal(wr_client_table_count(&t), 5);
    wr_client_table_free(&t);
}

/* Past the first allocation (256 slots) the table grows, and the
 * pointers stay where they were put. */
static void test_growth(void **state)
{
    enum { N = 1000 };
    struct wr_client_table t;
    wr_client_table_init(&t);
    struct fake_client *c = calloc(N, sizeof *c);
    for (int i = 0; i < N; i++) {
        c[i].id = i;
        add(&t, &c[i]);
        assert_int_equal(c[i].slot, (uint32_t)i);
    }
    for (int i = 0; i < N; i += 3)
        wr_client_table_remove(&t, c[i].slot);
    for (int i = 0; i < N; i++) {
        struct fake_client *at = wr_client_table_at(&t, (uint32_t)i);
        if (i % 3 == 0)
            assert_null(at);
        else
            assert_ptr_equal(at, &c[i]);
    }
    assert_int_equal(wr_client_table_count(&t), N - (N + 2) / 3);
    wr_client_table_free(&t);
    free(c);
}

static void test_iteration_with_holes(void **state)
{
    struct wr_client_table t;
    wr_client_table_init(&t);
    struct fake_client c[8];
    struct fake_client *seen[8];
    for (int i = 0; i < 8; i++) {
        c[i].id = i;
        add(&t, &c[i]);
    }
    /* Holes at the start, in the middle (two in a row) and at the end. */
    wr_client_table_remove(&t, 0);
    wr_client_table_remove(&t, 3);
    wr_client_table_remove(&t, 4);
    wr_client_table_remove(&t, 7);
    uint32_t n = walk(&t, seen, 8);
    assert_int_equal(n, 4);
    assert_int_equal(n, wr_client_table_count(&t));
    assert_ptr_equal(seen[0], &c[1]);
    assert_ptr_equal(seen[1], &c[2]);
    assert_ptr_equal(seen[2], &c[5]);
    assert_ptr_equal(seen[3], &c[6]);

    /* Removing the client being visited, inside the loop, as a close
     * callback may: the walk goes on with the next one. */
    uint32_t it = 0, visited = 0;
    for (struct fake_client *x; (x = wr_client_table_next(&t, &it)) != NULL;) {
        visited++;
        wr_client_table_remove(&t, x->slot);
    }
    assert_int_equal(visited, 4);
    assert_int_equal(wr_client_table_count(&t), 0);
    it = 0;
    assert_null(wr_client_table_next(&t, &it));
    wr_client_table_free(&t);
}

static void test_session_map(void **state)
{
    struct wr_client_table t;
    wr_client_table_init(&t);
    struct fake_client a = {1, 0}, b = {2, 0}, c = {3, 0};
    add(&t, &a);
    add(&t, &b);
    wr_client_table_bind(&t, 1001, a.slot);
    wr_client_table_bind(&t, 1002, b.slot);
    assert_ptr_equal(wr_client_table_by_session(&t, 1001), &a);
    assert_ptr_equal(wr_client_table_by_session(&t, 1002), &b);
    assert_null(wr_client_table_by_session(&t, 1003));

    /* A client's new session (a resume after a refusal) replaces the old. */
    wr_client_table_unbind(&t, 1001);
    wr_client_table_bind(&t, 2001, a.slot);
    assert_null(wr_client_table_by_session(&t, 1001));
    assert_ptr_equal(wr_client_table_by_session(&t, 2001), &a);

    /* A closed client's session is unbound before its slot is freed; the
     * slot's next client is not found under it. */
    wr_client_table_unbind(&t, 1002);
    wr_client_table_remove(&t, b.slot);
    add(&t, &c);
    assert_int_equal(c.slot, b.slot);
    assert_null(wr_client_table_by_session(&t, 1002));
    wr_client_table_bind(&t, 3001, c.slot);
    assert_ptr_equal(wr_client_table_by_session(&t, 3001), &c);
    assert_ptr_equal(wr_client_table_by_session(&t, 2001), &a);

    /* Many sessions. */
    enum { N = 500 };
    struct fake_client *many = calloc(N, sizeof *many);
    for (int i = 0; i < N; i++) {
        add(&t, &many[i]);
        wr_client_table_bind(&t, 0x100000000ull + (uint64_t)i, many[i].slot);
    }
    for (int i = 0; i < N; i++)
        assert_ptr_equal(wr_client_table_by_session(&t, 0x100000000ull + (uint64_t)i), &many[i]);
    wr_client_table_free(&t);
    free(many);
}

/* wr_client_table_next_bound visits exactly the clients with a bound
 * session, each once, whatever the unbound clients around them (a node
 * with many idle sockets and a few players); nothing when none is bound. */
static void test_next_bound(void **state)
{
    struct wr_client_table t;
    wr_client_table_init(&t);
    enum { N = 3000 };
    struct fake_client *cs = calloc(N, sizeof *cs);
    for (int i = 0; i < N; i++) {
        cs[i].id = i;
        add(&t, &cs[i]);
    }
    uint32_t it = 0;
    assert_null(wr_client_table_next_bound(&t, &it)); /* control: none bound */
    for (int i = 0; i < N; i += 7)
        wr_client_table_bind(&t, 5000 + (uint64_t)i, cs[i].slot);
    /* Bound then unbound (a refused join) is not visited. */
    wr_client_table_bind(&t, 1, cs[1].slot);
    wr_client_table_unbind(&t, 1);
    char *seen = calloc(N, 1);
    int n = 0;
    it = 0;
    for (struct fake_client *c; (c = wr_client_table_next_bound(&t, &it)) != NULL;) {
        assert_true(c->id % 7 == 0);
        assert_false(seen[c->id]);
        seen[c->id] = 1;
        n++;
    }
    assert_int_equal(n, (N + 6) / 7);
    /* The plain iteration still sees every client. */
    struct fake_client **all = calloc(N, sizeof *all);
    assert_int_equal(walk(&t, all, N), N);
    wr_client_table_free(&t);
    free(all);
    free(seen);
    free(cs);
}

static void test_session_keys(void **state)
{
    assert_true(sodium_init() >= 0);
    uint64_t prev = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t k = wr_node_new_session_key();
        assert_true(k != 0);
        assert_true(k != prev);
        prev = k;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_slot_reuse),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_iteration_with_holes),
        cmocka_unit_test(test_session_map),
        cmocka_unit_test(test_next_bound),
        cmocka_unit_test(test_session_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
