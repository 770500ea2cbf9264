/* Unit tests for common/u64map: open addressing with linear probing and
 * backward-shift deletion. Besides the public API, the tests look at the
 * (public) slot arrays to check the structural invariant that makes
 * tombstone-free deletion correct: every key sits at the end of an unbroken
 * run of occupied slots that starts at its home slot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/u64map.h"

/* The home slot, as computed by u64map.c (Fibonacci hashing). Used only to
 * construct colliding keys and to check the invariant; if the hash changes,
 * update this copy. */
static size_t home_slot(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Structural invariant: len matches the occupied slots, keys are unique,
 * no slot between a key's home and its slot is empty, the load factor is
 * at most 3/4 and cap is a power of two. */
static void check_invariant(const struct wr_u64map *m)
{
    if (m->cap == 0) {
        assert_int_equal(m->len, 0);
        return;
    }
    assert_int_equal(m->cap & (m->cap - 1), 0);
    assert_true(m->len * 4 <= m->cap * 3);
    size_t used = 0;
    for (size_t i = 0; i < m->cap; i++) {
        uint64_t k = m->keys[i];
        if (k == 0)
            continue;
        used++;
        for (size_t j = home_slot(k, m->cap); j != i; j = (j + 1) & (m->cap - 1))
            assert_true(m->keys[j] != 0);
        uint32_t v;
        assert_true(wr_u64map_get(m, k, &v));
        assert_int_equal(v, m->vals[i]);
    }
    assert_int_equal(used, m->len);
}

/* @n distinct non-zero keys, from @start upwards, whose home slot in a map
 * of @cap slots is @home. */
static void colliding_keys(size_t cap, size_t home, uint64_t start, uint64_t *out, size_t n)
{
    size_t got = 0;
    for (uint64_t k = start; got < n; k++)
        if (k != 0 && home_slot(k, cap) == home)
            out[got++] = k;
}

static size_t slot_of(const struct wr_u64map *m, uint64_t key)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] == key)
            return i;
    fail_msg("key %llu not in any slot", (unsigned long long)key);
    return 0;
}

static void test_empty(void **state)
{
    (void)state;
    struct wr_u64map m;
    wr_u64map_init(&m);
    uint32_t v = 77;
    assert_false(wr_u64map_get(&m, 1, &v));
    assert_false(wr_u64map_get(&m, 0, &v));
    assert_int_equal(v, 77);
    assert_false(wr_u64map_del(&m, 1));
    assert_false(wr_u64map_del(&m, 0));
    wr_u64map_clear(&m); /* on a never-allocated map */
    assert_int_equal(m.len, 0);
    check_invariant(&m);
    wr_u64map_free(&m);
    wr_u64map_free(&m); /* free resets: a second free is harmless */
}

static void test_put_get_overwrite_del(void **state)
{
    (void)state;
    struct wr_u64map m;
    wr_u64map_init(&m);
    wr_u64map_put(&m, 42, 1);
    wr_u64map_put(&m, UINT64_MAX, 2);
    wr_u64map_put(&m, 1, 3);
    assert_int_equal(m.len, 3);
    uint32_t v;
    assert_true(wr_u64map_get(&m, 42, &v));
    assert_int_equal(v, 1);
    assert_true(wr_u64map_get(&m, UINT64_MAX, &v));
    assert_int_equal(v, 2);
    assert_true(wr_u64map_get(&m, 1, NULL)); /* val may be NULL */
    assert_false(wr_u64map_get(&m, 0, &v));
    assert_false(wr_u64map_get(&m, 43, &v));

    wr_u64map_put(&m, 42, 100); /* overwrite: no new entry */
    assert_int_equal(m.len, 3);
    assert_true(wr_u64map_get(&m, 42, &v));
    assert_int_equal(v, 100);
    wr_u64map_put(&m, 42, UINT32_MAX);
    assert_true(wr_u64map_get(&m, 42, &v));
    assert_int_equal(v, UINT32_MAX);

    assert_true(wr_u64map_del(&m, 42));
    assert_false(wr_u64map_del(&m, 42));
    assert_false(wr_u64map_get(&m, 42, &v));
    assert_int_equal(m.len, 2);
    wr_u64map_put(&m, 42, 5); /* re-insert after delete */
    assert_true(wr_u64map_get(&m, 42, &v));
    assert_int_equal(v, 5);
    assert_int_equal(m.len, 3);
    check_invariant(&m);

    wr_u64map_clear(&m);
    assert_int_equal(m.len, 0);
    assert_false(wr_u64map_get(&m, 1, &v));
    assert_false(wr_u64map_get(&m, UINT64_MAX, &v));
    wr_u64map_put(&m, 9, 9); /* usable after clear */
    assert_true(wr_u64map_get(&m, 9, &v));
    assert_int_equal(v, 9);
    check_invariant(&m);
    wr_u64map_free(&m);
}

/* Keys sharing one home slot, plus a key whose home is inside their run:
 * deleting from the front and the middle of the run must shift the right
 * keys back, and leave the key already at home in place. */
static void test_collisions_backward_shift(void **state)
{
    (void)state;
    struct wr_u64map m;
    wr_u64map_init(&m);
    wr_u64map_put(&m, 1, 0); /* allocate: cap becomes 64 */
    assert_true(wr_u64map_del(&m, 1));
    size_t cap = m.cap;
    assert_int_equal(cap, 64);

    uint64_t a[3], d[1];
    colliding_keys(cap, 10, 1, a, 3);
    colliding_keys(cap, 11, 1, d, 1);
    for (int i = 0; i < 3; i++)
        wr_u64map_put(&m, a[i], (uint32_t)i);
    wr_u64map_put(&m, d[0], 3);
    assert_int_equal(m.cap, cap);
    /* a0 a1 a2 d at 10..13: d is displaced by two. */
    assert_int_equal(slot_of(&m, a[0]), 10);
    assert_int_equal(slot_of(&m, a[1]), 11);
    assert_int_equal(slot_of(&m, a[2]), 12);
    assert_int_equal(slot_of(&m, d[0]), 13);
    check_invariant(&m);

    /* Delete the head: everything shifts back one. */
    assert_true(wr_u64map_del(&m, a[0]));
    assert_int_equal(slot_of(&m, a[1]), 10);
    assert_int_equal(slot_of(&m, a[2]), 11);
    assert_int_equal(slot_of(&m, d[0]), 12);
    assert_int_equal(m.keys[13], 0);
    check_invariant(&m);

    /* Delete a2 (slot 11): d (home 11) moves into its home. */
    assert_true(wr_u64map_del(&m, a[2]));
    assert_int_equal(slot_of(&m, a[1]), 10);
    assert_int_equal(slot_of(&m, d[0]), 11);
    assert_int_equal(m.keys[12], 0);
    check_invariant(&m);

    /* A key at its home must not move back over an earlier hole. */
    uint64_t e[1];
    colliding_keys(cap, 12, 1, e, 1);
    wr_u64map_put(&m, e[0], 4);
    assert_int_equal(slot_of(&m, e[0]), 12);
    assert_true(wr_u64map_del(&m, a[1])); /* hole at 10; d moves? no: home 11 */
    assert_int_equal(slot_of(&m, d[0]), 11);
    assert_int_equal(slot_of(&m, e[0]), 12);
    check_invariant(&m);

    uint32_t v;
    assert_true(wr_u64map_get(&m, d[0], &v));
    assert_int_equal(v, 3);
    assert_true(wr_u64map_get(&m, e[0], &v));
    assert_int_equal(v, 4);
    assert_false(wr_u64map_get(&m, a[0], &v));
    assert_false(wr_u64map_get(&m, a[1], &v));
    assert_false(wr_u64map_get(&m, a[2], &v));
    assert_int_equal(m.len, 2);
    wr_u64map_free(&m);
}

/* A run that wraps from the last slot to slot 0; deleting inside it must
 * handle the cyclic (hole, j] test on both sides of the wrap. */
static void test_collisions_wraparound(void **state)
{
    (void)state;
    struct wr_u64map m;
    wr_u64map_init(&m);
    wr_u64map_put(&m, 1, 0);
    assert_true(wr_u64map_del(&m, 1));
    size_t cap = m.cap;

    uint64_t last[3], zero[2], one[1];
    colliding_keys(cap, cap - 2, 1, last, 3); /* -> cap-2, cap-1, 0 */
    colliding_keys(cap, 0, 1, zero, 2);       /* -> 1, 2 */
    colliding_keys(cap, 1, 1, one, 1);        /* -> 3 */
    for (int i = 0; i < 3; i++)
        wr_u64map_put(&m, last[i], 10 + (uint32_t)i);
    for (int i = 0; i < 2; i++)
        wr_u64map_put(&m, zero[i], 20 + (uint32_t)i);
    wr_u64map_put(&m, one[0], 30);
    assert_int_equal(slot_of(&m, last[2]), 0);
    assert_int_equal(slot_of(&m, zero[0]), 1);
    assert_int_equal(slot_of(&m, zero[1]), 2);
    assert_int_equal(slot_of(&m, one[0]), 3);
    check_invariant(&m);

    /* Hole at cap-2: last[1] and last[2] shift back across the wrap,
     * then zero[0] moves to its home 0, zero[1] to 1, one[0] to 2. */
    assert_true(wr_u64map_del(&m, last[0]));
    assert_int_equal(slot_of(&m, last[1]), cap - 2);
    assert_int_equal(slot_of(&m, last[2]), cap - 1);
    assert_int_equal(slot_of(&m, zero[0]), 0);
    assert_int_equal(slot_of(&m, zero[1]), 1);
    assert_int_equal(slot_of(&m, one[0]), 2);
    check_invariant(&m);

    /* Hole at cap-1 (after the wrap, home 0 keys must not move to cap-1). */
    assert_true(wr_u64map_del(&m, last[2]));
    assert_int_equal(slot_of(&m, last[1]), cap - 2);
    assert_int_equal(m.keys[cap - 1], 0);
    assert_int_equal(slot_of(&m, zero[0]), 0);
    check_invariant(&m);

    uint32_t v;
    assert_true(wr_u64map_get(&m, one[0], &v));
    assert_int_equal(v, 30);
    assert_true(wr_u64map_get(&m, zero[1], &v));
    assert_int_equal(v, 21);
    assert_true(wr_u64map_get(&m, last[1], &v));
    assert_int_equal(v, 11);
    wr_u64map_free(&m);
}

/* Growth from empty through many doublings keeps every entry. */
static void test_growth(void **state)
{
    (void)state;
    struct wr_u64map m;
    wr_u64map_init(&m);
    const uint32_t n = 100000;
    size_t last_cap = 0;
    int doublings = 0;
    for (uint32_t i = 1; i <= n; i++) {
        wr_u64map_put(&m, i, i * 3u);
        if (m.cap != last_cap) {
            assert_true(last_cap == 0 || m.cap == last_cap * 2);
            last_cap = m.cap;
            doublings++;
        }
    }
    assert_true(doublings > 10);
    assert_int_equal(m.len, n);
    assert_true(m.len * 4 <= m.cap * 3);
    check_invariant(&m);
    for (uint32_t i = 1; i <= n; i++) {
        uint32_t v;
        assert_true(wr_u64map_get(&m, i, &v));
        assert_int_equal(v, i * 3u);
    }
    assert_false(wr_u64map_get(&m, n + 1, NULL));
    /* Delete the odd ones, the even ones survive. */
    for (uint32_t i = 1; i <= n; i += 2)
        assert_true(wr_u64map_del(&m, i));
    assert_int_equal(m.len, n / 2);
    check_invariant(&m);
    for (uint32_t i = 1; i <= n; i++)
        assert_int_equal(wr_u64map_get(&m, i, NULL), i % 2 == 0);
    wr_u64map_free(&m);
}

/* Randomised comparison against a reference array. The key universe is
 * small (and partly made of keys sharing a home slot) so that puts,
 * overwrites and deletes hit the same long probe runs over and over, and
 * large enough that the map grows past several capacities. */
#define REF_KEYS 700
struct ref_entry {
    uint64_t key;
    uint32_t val;
    bool present;
};

static void test_randomized_vs_reference(void **state)
{
    (void)state;
    static struct ref_entry ref[REF_KEYS];
    uint64_t seed = 0x5EED1234ull;
    size_t n = 0;
    /* 100 keys with home 5 in a 64-slot map (at a larger capacity they
     * still share the same low home bits, so they crowd into a few runs),
     * 100 at the end of the table, small sequential keys, and random
     * 64-bit keys. */
    uint64_t col[100];
    colliding_keys(64, 5, 1, col, 100);
    for (size_t i = 0; i < 100; i++)
        ref[n++].key = col[i];
    /* And 100 whose home is the last slot at every capacity up to 1024 (the
     * most this test reaches), so their runs wrap around to slot 0. */
    for (uint64_t k = 1; n < 200; k++)
        if (home_slot(k, 1024) == 1023)
            ref[n++].key = k;
    for (uint64_t k = 1; n < 400; k++) {
        bool dup = false;
        for (size_t j = 0; j < n; j++)
            dup |= ref[j].key == k;
        if (!dup)
            ref[n++].key = k;
    }
    while (n < REF_KEYS) {
        uint64_t k = rng_next(&seed);
        if (k != 0)
            ref[n++].key = k;
    }

    struct wr_u64map m;
    wr_u64map_init(&m);
    size_t live = 0, max_cap = 0;
    for (int op = 0; op < 20000; op++) {
        uint64_t r = rng_next(&seed);
        struct ref_entry *e = &ref[r % REF_KEYS];
        unsigned kind = (unsigned)((r >> 32) % 10);
        /* Bias: more puts in the first half, more deletes in the second,
         * so the map both grows and drains. */
        bool put = op < 10000 ? kind < 6 : kind < 4;
        if (kind == 9) {
            uint32_t v = 0xDEADBEEF;
            bool got = wr_u64map_get(&m, e->key, &v);
            assert_int_equal(got, e->present);
            if (got)
                assert_int_equal(v, e->val);
        } else if (put) {
            uint32_t val = (uint32_t)(r >> 8);
            wr_u64map_put(&m, e->key, val);
            if (!e->present)
                live++;
            e->present = true;
            e->val = val;
        } else {
            bool was = wr_u64map_del(&m, e->key);
            assert_int_equal(was, e->present);
            if (was)
                live--;
            e->present = false;
        }
        assert_int_equal(m.len, live);
        if (m.cap > max_cap)
            max_cap = m.cap;
        if (op % 500 == 0 || op == 19999) {
            check_invariant(&m);
            for (size_t i = 0; i < REF_KEYS; i++) {
                uint32_t v;
                bool got = wr_u64map_get(&m, ref[i].key, &v);
                assert_int_equal(got, ref[i].present);
                if (got)
                    assert_int_equal(v, ref[i].val);
            }
        }
    }
    assert_true(max_cap >= 512);  /* grew several times */
    assert_true(max_cap <= 1024); /* as the wrapping keys above assume */
    wr_u64map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_put_get_overwrite_del),
        cmocka_unit_test(test_collisions_backward_shift),
        cmocka_unit_test(test_collisions_wraparound),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_randomized_vs_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
