/* libFuzzer driver for the cluster handshake's client hello parser
 * (wr__transport_parse_hello, cluster/transport_handshake.c), which sees the
 * first bytes any TCP peer sends to the cluster port, before it has proved
 * it holds the secret.
 *
 * Invariants, on the input and on every prefix of it (each prefix is the
 * start of a heap copy of the input whose rest is poisoned, fuzz_limit(), so
 * ASan catches any read past the length the parser was given):
 *   - OK: len <= size, len == 59 + addr_len + 32, channel known, address
 *     1..255 printable bytes, nc/addr/mac point at their fixed offsets, and
 *     re-encoding the fields gives back the input's first len bytes;
 *   - SHORT ("need more"): len > size, and the bytes seen so far are
 *     consistent with a hello (they are a prefix of it);
 *   - the verdict is stable as bytes arrive: once a prefix is rejected, every
 *     longer one is rejected with the same code; once complete, every longer
 *     one parses to the same hello; the bytes needed never shrink; a prefix
 *     of a valid hello is never rejected. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/transport.h"
#include "fuzz_common.h"

#define MAGIC "WRNAUTH1"
#define MAGIC_LEN 8
#define NC_OFF (MAGIC_LEN + 1 + 8 + 8 + 2)
#define MAC_LEN 32

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Parse the first @len bytes of @copy (a heap copy of the input, @cap
 * bytes), the rest poisoned as if they were past the end of the block, and
 * check the answer alone. */
static int parse_checked(const uint8_t *copy, size_t len, size_t cap, struct wr__hello *h)
{
    const uint8_t *data = copy;
    fuzz_limit(copy, len, cap);
    int r = wr__transport_parse_hello(copy, len, h);
    fuzz_unlimit(copy, cap);
    switch (r) {
    case WR__HELLO_OK: {
        FUZZ_CHECK(h->len <= len);
        FUZZ_CHECK(h->addr_len >= 1 && h->addr_len <= WR__HELLO_ADDR_MAX);
        FUZZ_CHECK(h->len == (size_t)WR__HELLO_FIXED + h->addr_len + MAC_LEN);
        FUZZ_CHECK(h->chan == WR_CHAN_RAFT || h->chan == WR_CHAN_FWD || h->chan == WR_CHAN_MEMBER);
        FUZZ_CHECK(h->nc == copy + NC_OFF);
        FUZZ_CHECK(h->addr == copy + WR__HELLO_FIXED);
        FUZZ_CHECK(h->mac == h->addr + h->addr_len);
        for (size_t i = 0; i < h->addr_len; i++)
            FUZZ_CHECK(h->addr[i] >= 0x21 && h->addr[i] <= 0x7e);
        /* Re-encode: the fields are exactly the bytes. */
        uint8_t enc[WR__HELLO_FIXED + WR__HELLO_ADDR_MAX + MAC_LEN];
        size_t o = 0;
        memcpy(enc, MAGIC, MAGIC_LEN);
        o = MAGIC_LEN;
        enc[o++] = h->chan;
        for (int i = 0; i < 8; i++)
            enc[o++] = (uint8_t)(h->client_id >> (8 * i));
        for (int i = 0; i < 8; i++)
            enc[o++] = (uint8_t)(h->target_id >> (8 * i));
        enc[o++] = (uint8_t)h->addr_len;
        enc[o++] = (uint8_t)(h->addr_len >> 8);
        memcpy(enc + o, h->nc, 32);
        o += 32;
        memcpy(enc + o, h->addr, h->addr_len);
        o += h->addr_len;
        memcpy(enc + o, h->mac, MAC_LEN);
        o += MAC_LEN;
        FUZZ_CHECK(o == h->len);
        FUZZ_CHECK(memcmp(enc, data, o) == 0);
        break;
    }
    case WR__HELLO_SHORT: {
        FUZZ_CHECK(h->len > len);
        FUZZ_CHECK(h->len >= WR__HELLO_FIXED);
        /* What is there is a possible hello prefix. */
        size_t m = len < MAGIC_LEN ? len : MAGIC_LEN;
        FUZZ_CHECK(memcmp(data, MAGIC, m) == 0);
        if (len > MAGIC_LEN)
            FUZZ_CHECK(data[MAGIC_LEN] == WR_CHAN_RAFT || data[MAGIC_LEN] == WR_CHAN_FWD ||
                       data[MAGIC_LEN] == WR_CHAN_MEMBER);
        if (len >= WR__HELLO_FIXED) {
            uint16_t alen = (uint16_t)le(data + NC_OFF - 2, 2);
            FUZZ_CHECK(alen >= 1 && alen <= WR__HELLO_ADDR_MAX);
            FUZZ_CHECK(h->len == (size_t)WR__HELLO_FIXED + alen + MAC_LEN);
        } else {
            FUZZ_CHECK(h->len == WR__HELLO_FIXED);
        }
        break;
    }
    case WR__HELLO_BAD_MAGIC:
        FUZZ_CHECK(len > 0);
        FUZZ_CHECK(memcmp(data, MAGIC, len < MAGIC_LEN ? len : MAGIC_LEN) != 0);
        break;
    case WR__HELLO_BAD_CHAN:
        FUZZ_CHECK(len > MAGIC_LEN);
        FUZZ_CHECK(data[MAGIC_LEN] != WR_CHAN_RAFT && data[MAGIC_LEN] != WR_CHAN_FWD &&
                   data[MAGIC_LEN] != WR_CHAN_MEMBER);
        break;
    case WR__HELLO_BAD_ADDR:
        FUZZ_CHECK(len >= WR__HELLO_FIXED);
        break;
    default:
        FUZZ_CHECK(!"unknown wr__hello_result");
    }
    return r;
}

static bool same_hello(const struct wr__hello *a, const struct wr__hello *b)
{
    return a->chan == b->chan && a->client_id == b->client_id && a->target_id == b->target_id &&
           a->addr_len == b->addr_len && a->len == b->len;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* One heap copy; each prefix is a poisoned-tail view of it. */
    size_t cap = size ? size : 1;
    uint8_t *copy = malloc(cap);
    FUZZ_CHECK(copy != NULL);
    if (size > 0)
        memcpy(copy, data, size);
    struct wr__hello full;
    int r = parse_checked(copy, size, cap, &full);

    /* Every prefix, as bytes trickle in one at a time. */
    int prev = WR__HELLO_SHORT;
    size_t prev_need = 0;
    struct wr__hello first_ok;
    bool have_ok = false;
    for (size_t k = 0; k <= size; k++) {
        struct wr__hello h;
        int rk = k == size ? r : parse_checked(copy, k, cap, &h);
        if (k == size)
            h = full;
        if (prev != WR__HELLO_SHORT) {
            /* Settled: stays the same. */
            FUZZ_CHECK(rk == prev);
            if (rk == WR__HELLO_OK)
                FUZZ_CHECK(same_hello(&h, &first_ok));
        } else if (rk == WR__HELLO_SHORT) {
            FUZZ_CHECK(h.len >= prev_need); /* never asks for fewer bytes */
            prev_need = h.len;
        } else if (rk == WR__HELLO_OK) {
            /* Complete exactly when the bytes asked for are there. */
            FUZZ_CHECK(k == h.len);
            FUZZ_CHECK(k >= prev_need);
            first_ok = h;
            have_ok = true;
        }
        if (rk == WR__HELLO_SHORT)
            FUZZ_CHECK(!have_ok);
        prev = rk;
    }
    /* A valid hello's prefixes were all SHORT (checked above: the first
     * non-SHORT answer was OK and everything after it stayed OK). */
    if (r == WR__HELLO_OK)
        FUZZ_CHECK(have_ok && first_ok.len == full.len);
    free(copy);
    return 0;
}
