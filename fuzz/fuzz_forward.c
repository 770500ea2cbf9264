/* libFuzzer driver for the forward channel's frame parser (wr__fwd_frames,
 * cluster/fwd_frame.c), which reads every byte another node sends the
 * leader on a forward connection, and whose commands go into the log.
 *
 * Input: byte 0 picks the sender's node id (bits 0-1: 1..4) and, in bits
 * 2-4, after how many frames a second run's callback says stop; byte 1 the
 * number n (0..7) of chunk-length bytes that follow; the rest is the byte
 * stream, fed in one piece, then in chunks of those lengths (cycled) the way
 * proposer.c's read callback accumulates them. Every call reads a heap
 * block whose bytes past those buffered are poisoned (fuzz_limit()), so ASan
 * catches a read past the length.
 *
 * Invariants:
 *   - the parser agrees with an independent reference decoder written from
 *     the format in fwd_frame.h and world.h: the same frames accepted, the
 *     same verdict on the stream, the same bytes consumed;
 *   - every accepted frame re-encodes (wr__fwd_frame_header + wr_cmd_encode
 *     of each decoded command) to exactly its bytes, and its commands all
 *     carry the sender's id;
 *   - on success the unconsumed tail is an incomplete frame; on refusal the
 *     reason is one non-empty line, and no frame past the bad one is seen;
 *   - chunked feeding gives the same frames, verdict, reason and consumed
 *     total as the one-piece feed;
 *   - a callback that stops on frame k stops the parse right there, with an
 *     empty reason and only the k - 1 frames before it consumed. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/fwd_frame.h"
#include "fuzz_common.h"
#include "world/world.h"

/* ---- the reference decoder ------------------------------------------ */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Is @body[0..@len) a valid frame body from @peer? Written from the layout
 * (u32 count, then commands of module u8 | version u8 | type u8 | node u32 |
 * session u64 | seq u32 | len u16 | payload), not from the codec. */
static bool ref_body_ok(const uint8_t *body, size_t len, uint64_t peer)
{
    if (len < 4)
        return false;
    uint32_t count = le32(body);
    size_t o = 4;
    for (uint32_t i = 0; i < count; i++) {
        if (len - o < 21)
            return false;
        const uint8_t *c = body + o;
        uint16_t plen = (uint16_t)(c[19] | c[20] << 8);
        if (c[1] == 0 || le32(c + 3) != peer || plen > WR_CMD_MAX_PAYLOAD || len - o - 21 < plen)
            return false;
        o += 21 + (size_t)plen;
    }
    return o == len;
}

struct ref {
    size_t frames;   /* valid frames before the end or the bad one */
    size_t consumed; /* their bytes */
    bool bad;        /* stopped on a bad frame */
};

static struct ref ref_stream(const uint8_t *s, size_t len, uint64_t peer)
{
    struct ref r = {0};
    while (len - r.consumed >= 4) {
        uint32_t body = le32(s + r.consumed);
        if (body < 4 || body > WR_FWD_MAX_BODY) {
            r.bad = true;
            break;
        }
        if (len - r.consumed - 4 < body)
            break;
        if (!ref_body_ok(s + r.consumed + 4, body, peer)) {
            r.bad = true;
            break;
        }
        r.consumed += 4 + (size_t)body;
        r.frames++;
    }
    return r;
}

/* ---- a run of the real parser --------------------------------------- */

struct run {
    uint64_t peer;
    size_t stop_after;   /* 0: never stop */
    const uint8_t *base; /* the buffer of the current call */
    size_t expect_off;   /* where the next frame's commands must start */
    size_t calls;        /* frames the callback saw */
    size_t frames;       /* frames it took (did not stop on) */
    uint64_t digest;     /* of every taken frame's bytes, in order */
};

/* Check a frame the parser accepted: where it is, what it holds, and that
 * re-encoding what was decoded gives its exact bytes. */
static int on_frame(void *arg, const uint8_t *cmds, size_t len, uint32_t count)
{
    struct run *run = arg;
    FUZZ_CHECK(cmds == run->base + run->expect_off + WR_FWD_HEADER_BYTES);
    FUZZ_CHECK(len + 4 <= WR_FWD_MAX_BODY);
    const uint8_t *frame = cmds - WR_FWD_HEADER_BYTES;
    FUZZ_CHECK(le32(frame) == len + 4 && le32(frame + 4) == count);

    struct wr_writer w;
    wr_writer_init(&w, WR_FWD_HEADER_BYTES + len);
    uint8_t head[WR_FWD_HEADER_BYTES];
    wr__fwd_frame_header(head, len, count);
    wr_put_bytes(&w, head, sizeof head);
    struct wr_reader r;
    wr_reader_init(&r, cmds, len);
    for (uint32_t i = 0; i < count; i++) {
        struct wr_cmd cmd;
        FUZZ_CHECK(wr_cmd_decode(&r, &cmd, WR_ENTRY_VERSION) == 0);
        FUZZ_CHECK(cmd.node == run->peer);
        wr_cmd_encode(&w, &cmd);
    }
    FUZZ_CHECK(!r.err && r.left == 0);
    FUZZ_CHECK(w.len == WR_FWD_HEADER_BYTES + len);
    FUZZ_CHECK(memcmp(w.base, frame, w.len) == 0);
    wr_writer_free(&w);

    if (++run->calls == run->stop_after)
        return -1; /* not taken: the parser must not count it as used */
    run->digest = fuzz_digest(run->digest, frame, WR_FWD_HEADER_BYTES + len);
    run->expect_off += WR_FWD_HEADER_BYTES + len;
    run->frames++;
    return 0;
}

struct outcome {
    int rv;
    size_t consumed;
    char err[128];
};

/* One parser call on the first @len bytes of @buf, a heap block of @cap
 * bytes whose rest is poisoned for the call (a copy per call made chunked
 * feeding quadratic: one malloc and copy of everything buffered per chunk). */
static int parse(struct run *run, const uint8_t *buf, size_t len, size_t cap, size_t *used,
                 char *err, size_t errlen)
{
    run->base = buf;
    run->expect_off = 0;
    fuzz_limit(buf, len, cap);
    int rv = wr__fwd_frames(buf, len, run->peer, on_frame, run, used, err, errlen);
    fuzz_unlimit(buf, cap);
    FUZZ_CHECK(rv == 0 || rv == -1);
    FUZZ_CHECK(*used <= len && *used == run->expect_off);
    return rv;
}

static void check_reason(int rv, const char *err, bool stopped_by_cb)
{
    if (rv == 0 || stopped_by_cb) {
        FUZZ_CHECK(err[0] == '\0');
        return;
    }
    FUZZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
}

/* Feed @s in chunks of the given lengths (cycled), keeping unconsumed
 * bytes as proposer.c's read callback does. */
static struct outcome feed_chunked(struct run *run, const uint8_t *s, size_t len,
                                   const uint8_t *chunks, size_t n_chunks)
{
    struct outcome o = {0};
    size_t cap = len ? len : 1;
    uint8_t *buf = malloc(cap);
    FUZZ_CHECK(buf != NULL);
    size_t have = 0, fed = 0, ci = 0;
    while (fed < len) {
        size_t n = (size_t)chunks[ci++ % n_chunks] + 1;
        if (n > len - fed)
            n = len - fed;
        memcpy(buf + have, s + fed, n);
        have += n;
        fed += n;
        size_t used;
        o.rv = parse(run, buf, have, cap, &used, o.err, sizeof o.err);
        check_reason(o.rv, o.err, false);
        o.consumed += used;
        if (o.rv != 0)
            break;
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    free(buf);
    return o;
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
    if (size < 2)
        return 0;
    uint64_t peer = 1 + (data[0] & 3);
    size_t stop_after = (data[0] >> 2) & 7;
    size_t n_chunks = data[1] & 7;
    if (size < 2 + n_chunks)
        return 0;
    const uint8_t *chunks = data + 2;
    const uint8_t *s = data + 2 + n_chunks;
    size_t len = size - 2 - n_chunks;

    struct ref ref = ref_stream(s, len, peer);
    size_t cap = len ? len : 1;
    uint8_t *copy = malloc(cap);
    FUZZ_CHECK(copy != NULL);
    if (len > 0)
        memcpy(copy, s, len);

    /* One piece. */
    struct run whole = {.peer = peer};
    struct outcome o1 = {0};
    o1.rv = parse(&whole, copy, len, cap, &o1.consumed, o1.err, sizeof o1.err);
    check_reason(o1.rv, o1.err, false);
    FUZZ_CHECK((o1.rv != 0) == ref.bad);
    FUZZ_CHECK(whole.frames == ref.frames && o1.consumed == ref.consumed);
    if (o1.rv == 0) {
        /* What is left is the start of a frame still arriving. */
        size_t left = len - o1.consumed;
        if (left >= 4)
            FUZZ_CHECK(le32(s + o1.consumed) + (size_t)4 > left);
    }

    /* Chunked, as a socket delivers it. */
    if (n_chunks > 0) {
        struct run split = {.peer = peer};
        struct outcome o2 = feed_chunked(&split, s, len, chunks, n_chunks);
        FUZZ_CHECK(o2.rv == o1.rv && o2.consumed == o1.consumed);
        FUZZ_CHECK(strcmp(o2.err, o1.err) == 0);
        FUZZ_CHECK(split.frames == whole.frames && split.digest == whole.digest);
    }

    /* A callback that says stop: nothing after its frame is taken. */
    if (stop_after > 0 && stop_after <= ref.frames) {
        struct run stop = {.peer = peer, .stop_after = stop_after};
        struct outcome o3 = {0};
        o3.rv = parse(&stop, copy, len, cap, &o3.consumed, o3.err, sizeof o3.err);
        FUZZ_CHECK(o3.rv == -1);
        check_reason(o3.rv, o3.err, true);
        FUZZ_CHECK(stop.calls == stop_after && stop.frames == stop_after - 1);
        FUZZ_CHECK(o3.consumed < o1.consumed);
    }
    free(copy);
    return 0;
}
