/* libFuzzer driver for the replicated state machine (world/world.c and the
 * arena module): the bytes are a Raft log entry and, separately, a snapshot,
 * both of which reach a node from a peer or from disk.
 *
 * As an entry (wr_world_apply), applied to a world that already has state
 * (an arena, two nodes, players with and without tokens, a singleton, a
 * closed session), built with the public encoders:
 *   - the result is 0 exactly when the 21-byte header is well formed;
 *   - apply is a pure function: a second world built the same way, and a
 *     third restored from the base state's snapshot, end in the same bytes
 *     and with the same events and verdicts;
 *   - snapshot -> restore into another world -> snapshot gives the same
 *     bytes and the same wr_world_hash.
 * As a snapshot (wr_world_restore): if it is accepted, the state round-trips
 * the same way, and applying commands addressed to the restored players
 * (moves, leaves, resumes, expiries) keeps both copies identical and trips
 * none of arena.c's asserts (a restored snapshot must be as good as a state
 * built by apply). Arena invariants are arena.c's own asserts: this build
 * keeps them (no NDEBUG). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "arena/arena.h"
#include "fuzz_common.h"
#include "mud/mud.h"
#include "world/world.h"

struct rec {
    uint64_t digest;
    size_t events, verdicts;
    struct wr_world *w;
};

static void on_event(void *data, const struct wr_event *ev)
{
    struct rec *r = data;
    r->events++;
    r->digest = fuzz_digest_u64(r->digest, ((uint64_t)ev->module << 8) | ev->type);
    r->digest = fuzz_digest_u64(r->digest, ev->node);
    r->digest = fuzz_digest_u64(r->digest, ev->session);
    FUZZ_CHECK(ev->data != NULL);
    if (ev->module == WR_MODULE_MUD) {
        /* No world is loaded here: the MUD can only refuse or fail, and
         * its texts must be strings. */
        const struct wr_mud_event *e = ev->data;
        FUZZ_CHECK(ev->type >= WR_MUD_EV_ENTERED_GAME && ev->type <= WR_MUD_EV_ACT);
        if (e->text != NULL)
            r->digest = fuzz_digest(r->digest, e->text, strlen(e->text));
        if (e->code != NULL)
            r->digest = fuzz_digest(r->digest, e->code, strlen(e->code));
        return;
    }
    FUZZ_CHECK(ev->module == WR_MODULE_ARENA);
    if (ev->type == WR_ARENA_EV_REFUSED) {
        const struct wr_arena_refusal *ref = ev->data;
        FUZZ_CHECK(ref->code != NULL && ref->msg != NULL);
        r->digest = fuzz_digest(r->digest, ref->code, strlen(ref->code));
        return;
    }
    FUZZ_CHECK(ev->type >= WR_ARENA_EV_JOINED && ev->type <= WR_ARENA_EV_CHANGED);
    const struct wr_arena_player *p = ev->data;
    const struct wr_arena *a = wr_world_module(r->w, WR_MODULE_ARENA);
    /* A player in an event is on the grid and has a valid id and name. */
    FUZZ_CHECK(p->id != 0);
    FUZZ_CHECK(p->x < wr_arena_width(a) && p->y < wr_arena_height(a));
    FUZZ_CHECK(memchr(p->name, '\0', sizeof p->name) != NULL);
    r->digest = fuzz_digest_u64(r->digest, p->id);
    r->digest = fuzz_digest_u64(r->digest, ((uint64_t)p->x << 16) | p->y);
    r->digest = fuzz_digest_u64(r->digest, p->seq);
    r->digest = fuzz_digest_u64(r->digest, p->session);
    r->digest = fuzz_digest_u64(r->digest, p->connected);
}

static void on_verdict(void *data, const struct wr_cmd *cmd, enum wr_verdict v)
{
    struct rec *r = data;
    r->verdicts++;
    FUZZ_CHECK(cmd != NULL);
    FUZZ_CHECK(v >= WR_APPLIED && v <= WR_MALFORMED);
    FUZZ_CHECK(cmd->len <= WR_CMD_MAX_PAYLOAD);
    r->digest = fuzz_digest_u64(r->digest, ((uint64_t)v << 32) | cmd->seq);
}

static struct wr_world *world_new(struct rec *r)
{
    memset(r, 0, sizeof *r);
    struct wr_world_hooks h = {.data = r, .on_event = on_event, .on_verdict = on_verdict};
    r->w = wr_world_create(&h);
    return r->w;
}

/* ---- entries built with the public encoders ---------------------------- */

struct batch {
    struct wr_writer cmds;
    uint32_t count;
};

static void batch_add(struct batch *b, uint8_t module, uint8_t type, uint32_t node,
                      uint64_t session, uint32_t seq, const struct wr_writer *payload)
{
    struct wr_cmd c = {
        .module = module,
        .type = type,
        .node = node,
        .session = session,
        .seq = seq,
        .len = payload ? (uint16_t)payload->len : 0,
        .payload = payload ? payload->base : NULL,
    };
    wr_cmd_encode(&b->cmds, &c);
    b->count++;
}

/* Header + commands into @out (initialised by the caller). */
static void batch_finish(struct batch *b, struct wr_writer *out, uint64_t time_ms, uint64_t seed)
{
    wr_entry_header(out, time_ms, seed, b->count);
    wr_put_bytes(out, b->cmds.base, b->cmds.len);
    wr_writer_free(&b->cmds);
}

static const uint8_t tok_bob[WR_TOKEN_HASH_BYTES] = {0xb0, 0xb0, 1, 2, 3, 4, 5, 6,
                                                     7,    8,    9, 10, 11, 12, 13, 14};
static const uint8_t tok_dan[WR_TOKEN_HASH_BYTES] = {0xda, 0x17, 1, 2, 3, 4, 5, 6,
                                                     7,    8,    9, 10, 11, 12, 13, 14};

static uint8_t *base_entry;
static size_t base_entry_len;
static uint8_t *base_snap;
static size_t base_snap_len;

/* The state every input is applied to: a 16x12 arena, nodes 1 and 2 (node
 * 2 with an incarnation), alice and carol on node 1, bob (with a token) on
 * node 2 and then disconnected, dan (token) who left (closed session), a
 * singleton placed on node 1, a few moves. */
static void build_base_entry(void)
{
    struct batch b = {0};
    struct wr_writer p;
    wr_writer_init(&b.cmds, 512);

    wr_writer_init(&p, 16);
    wr_arena_encode_config(&p, 16, 12);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_CONFIG, 1, 0, 0, &p);
    p.len = 0;
    wr_put_str(&p, "127.0.0.1:8001");
    batch_add(&b, WR_MODULE_CORE, WR_CORE_NODE_INFO, 1, 0, 0, &p);
    p.len = 0;
    wr_put_str(&p, "127.0.0.1:8002");
    wr_put_u64(&p, 7);
    batch_add(&b, WR_MODULE_CORE, WR_CORE_NODE_INFO, 2, 0, 0, &p);
    p.len = 0;
    wr_put_str(&p, "lobby");
    wr_put_u64(&p, 3);
    batch_add(&b, WR_MODULE_CORE, WR_CORE_PLACE, 1, 0, 0, &p);
    p.len = 0;
    wr_arena_encode_join(&p, "alice");
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_JOIN, 1, 0x100, 1, &p);
    p.len = 0;
    wr_arena_encode_join_token(&p, "bob", tok_bob, 7);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_JOIN, 2, 0x200, 1, &p);
    p.len = 0;
    wr_arena_encode_join(&p, "carol");
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_JOIN, 1, 0x300, 1, &p);
    p.len = 0;
    wr_arena_encode_join_token(&p, "dan", tok_dan, 0);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_JOIN, 1, 0x400, 1, &p);
    for (uint32_t i = 0; i < 4; i++) {
        p.len = 0;
        wr_arena_encode_move(&p, (enum wr_arena_dir)(i % 4), i + 1);
        batch_add(&b, WR_MODULE_ARENA, WR_ARENA_MOVE, 1, 0x100, 2 + i, &p);
    }
    p.len = 0;
    wr_arena_encode_move(&p, WR_DIR_RIGHT, 1);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_MOVE, 1, 0x300, 2, &p);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_LEAVE, 1, 0x400, 2, NULL);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_DISCONNECT, 2, 0x200, 2, NULL);
    wr_writer_free(&p);

    struct wr_writer out;
    wr_writer_init(&out, 1024);
    batch_finish(&b, &out, 1000, 42);
    base_entry = wr_writer_take(&out, &base_entry_len);
}

static void snapshot(struct wr_world *w, struct wr_writer *out)
{
    wr_writer_init(out, 1024);
    wr_world_snapshot(w, out);
}

static bool same_bytes(const struct wr_writer *a, const struct wr_writer *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->base, b->base, a->len) == 0);
}

/* snapshot(w) -> restore into a fresh world -> snapshot: same bytes and
 * hash. Returns the snapshot in @snap (caller frees). */
static void check_roundtrip(struct wr_world *w, struct wr_writer *snap)
{
    struct rec r2;
    snapshot(w, snap);
    struct wr_world *w2 = world_new(&r2);
    FUZZ_CHECK(wr_world_restore(w2, snap->base, snap->len) == 0);
    FUZZ_CHECK(r2.events == 0 && r2.verdicts == 0); /* restore emits nothing */
    struct wr_writer snap2;
    snapshot(w2, &snap2);
    FUZZ_CHECK(same_bytes(snap, &snap2));
    char h1[17], h2[17];
    wr_world_hash(w, h1);
    wr_world_hash(w2, h2);
    FUZZ_CHECK(strlen(h1) == 16 && memcmp(h1, h2, 17) == 0);
    wr_writer_free(&snap2);
    wr_world_destroy(w2);
}

/* An entry addressed to whatever the restored world holds: the next seq of
 * every open session (a move, then a leave for every third one), a resume
 * of every token-holding player from a new session, an expiry of every
 * disconnected player, a join, a node-down. Exercises restored state with
 * commands a real node would send. */
static void build_followup(struct wr_world *w, struct wr_writer *out)
{
    const struct wr_arena *a = wr_world_module(w, WR_MODULE_ARENA);
    struct batch b = {0};
    struct wr_writer p;
    wr_writer_init(&b.cmds, 256);
    wr_writer_init(&p, 32);
    size_t n = wr_arena_count(a);
    if (n > 64)
        n = 64;
    /* Copy first: the player array moves while we read the world. */
    struct wr_arena_player players[64];
    if (n > 0)
        memcpy(players, wr_arena_players(a), n * sizeof players[0]);
    for (size_t i = 0; i < n; i++) {
        const struct wr_arena_player *pl = &players[i];
        struct wr_session_info si;
        if (wr_world_session(w, pl->session, &si) && si.open) {
            p.len = 0;
            wr_arena_encode_move(&p, (enum wr_arena_dir)(i % 4), pl->seq + 1);
            batch_add(&b, WR_MODULE_ARENA, WR_ARENA_MOVE, si.node, si.key, si.last_seq + 1, &p);
            if (i % 3 == 2)
                batch_add(&b, WR_MODULE_ARENA, WR_ARENA_LEAVE, si.node, si.key,
                          si.last_seq + 2, NULL);
        }
        if (!pl->connected) {
            p.len = 0;
            wr_arena_encode_expire(&p, pl->id, pl->disconnected_at);
            batch_add(&b, WR_MODULE_ARENA, WR_ARENA_EXPIRE, 1, 0, 0, &p);
        }
        uint8_t zero[WR_TOKEN_HASH_BYTES] = {0};
        if (memcmp(pl->token_hash, zero, sizeof zero) != 0) {
            p.len = 0;
            wr_arena_encode_resume(&p, pl->token_hash, 99);
            batch_add(&b, WR_MODULE_ARENA, WR_ARENA_RESUME, 3, 0xF000000000000000ull + i, 1, &p);
        }
    }
    p.len = 0;
    wr_arena_encode_join(&p, "zed");
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_JOIN, 3, 0xE000000000000001ull, 1, &p);
    p.len = 0;
    wr_arena_encode_config(&p, 8, 8);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_CONFIG, 1, 0, 0, &p);
    p.len = 0;
    wr_arena_encode_node_down(&p, 2);
    batch_add(&b, WR_MODULE_ARENA, WR_ARENA_NODE_DOWN, 1, 0, 0, &p);
    p.len = 0;
    wr_put_str(&p, "10.0.0.1:8001");
    wr_put_u64(&p, 1234);
    batch_add(&b, WR_MODULE_CORE, WR_CORE_NODE_INFO, 1, 0, 0, &p);
    wr_writer_free(&p);
    wr_writer_init(out, 512);
    batch_finish(&b, out, wr_world_now(w) + 100000, 7);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    build_base_entry();
    struct rec r;
    struct wr_world *w = world_new(&r);
    FUZZ_CHECK(wr_world_apply(w, base_entry, base_entry_len) == 0);
    const struct wr_arena *a = wr_world_module(w, WR_MODULE_ARENA);
    FUZZ_CHECK(wr_arena_count(a) == 3); /* alice, bob, carol; dan left */
    struct wr_writer s;
    snapshot(w, &s);
    base_snap = wr_writer_take(&s, &base_snap_len);
    wr_world_destroy(w);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* ---- as a log entry ---- */
    struct rec ra, rb, rc;
    struct wr_world *wa = world_new(&ra);
    struct wr_world *wb = world_new(&rb);
    struct wr_world *wc = world_new(&rc);
    FUZZ_CHECK(wr_world_apply(wa, base_entry, base_entry_len) == 0);
    FUZZ_CHECK(wr_world_apply(wb, base_entry, base_entry_len) == 0);
    FUZZ_CHECK(wr_world_restore(wc, base_snap, base_snap_len) == 0);
    ra.digest = rb.digest = rc.digest = 0;
    ra.events = rb.events = rc.events = 0;
    ra.verdicts = rb.verdicts = rc.verdicts = 0;

    int rv = wr_world_apply(wa, data, size);
    /* Every entry format this binary reads (1 and 2) is applied; a command
     * of a module or module version it lacks halts the world instead
     * (WR_APPLY_INCOMPATIBLE), before anything of the entry is applied. */
    bool header_ok = size >= WR_ENTRY_HEADER_BYTES && data[0] >= 1 && data[0] <= WR_ENTRY_VERSION;
    FUZZ_CHECK(header_ok ? (rv == 0 || rv == WR_APPLY_INCOMPATIBLE) : rv == -1);
    if (rv != 0)
        FUZZ_CHECK(ra.verdicts == 0 && ra.events == 0);
    if (header_ok) {
        /* At most one verdict per declared command, and per command
         * header (a format 1 command has no version byte). */
        uint32_t count = (uint32_t)data[17] | (uint32_t)data[18] << 8 |
                         (uint32_t)data[19] << 16 | (uint32_t)data[20] << 24;
        FUZZ_CHECK(ra.verdicts <= count);
        FUZZ_CHECK(ra.verdicts <=
                   (size - WR_ENTRY_HEADER_BYTES) / (WR_CMD_HEADER_BYTES - (data[0] == 1)));
    }
    FUZZ_CHECK(wr_world_apply(wb, data, size) == rv);
    FUZZ_CHECK(wr_world_apply(wc, data, size) == rv);

    struct wr_writer sa, sb, sc;
    check_roundtrip(wa, &sa);
    snapshot(wb, &sb);
    snapshot(wc, &sc);
    /* Determinism, and a restored state behaves like the original. */
    FUZZ_CHECK(same_bytes(&sa, &sb));
    FUZZ_CHECK(same_bytes(&sa, &sc));
    FUZZ_CHECK(ra.digest == rb.digest && ra.events == rb.events && ra.verdicts == rb.verdicts);
    FUZZ_CHECK(ra.digest == rc.digest && ra.events == rc.events && ra.verdicts == rc.verdicts);
    wr_writer_free(&sa);
    wr_writer_free(&sb);
    wr_writer_free(&sc);
    wr_world_destroy(wb);
    wr_world_destroy(wc);

    /* ---- as a snapshot, into a world that has state ---- */
    size_t events_before = ra.events, verdicts_before = ra.verdicts;
    int restored = wr_world_restore(wa, data, size);
    FUZZ_CHECK(ra.events == events_before && ra.verdicts == verdicts_before);
    if (restored == 0) {
        struct wr_writer s1;
        check_roundtrip(wa, &s1);
        /* A copy of the restored state must behave exactly like it. */
        struct rec rd;
        struct wr_world *wd = world_new(&rd);
        FUZZ_CHECK(wr_world_restore(wd, s1.base, s1.len) == 0);
        struct wr_writer follow;
        build_followup(wa, &follow);
        ra.digest = rd.digest = 0;
        FUZZ_CHECK(wr_world_apply(wa, follow.base, follow.len) == 0);
        FUZZ_CHECK(wr_world_apply(wd, follow.base, follow.len) == 0);
        FUZZ_CHECK(ra.digest == rd.digest);
        struct wr_writer s2, s3;
        check_roundtrip(wa, &s2);
        snapshot(wd, &s3);
        FUZZ_CHECK(same_bytes(&s2, &s3));
        wr_writer_free(&follow);
        wr_writer_free(&s1);
        wr_writer_free(&s2);
        wr_writer_free(&s3);
        wr_world_destroy(wd);
    } else {
        /* A refused snapshot leaves the world empty, not half-restored. */
        struct wr_writer s1, s0;
        struct rec re;
        struct wr_world *we = world_new(&re);
        snapshot(wa, &s1);
        snapshot(we, &s0);
        FUZZ_CHECK(same_bytes(&s1, &s0));
        wr_writer_free(&s1);
        wr_writer_free(&s0);
        wr_world_destroy(we);
    }
    wr_world_destroy(wa);
    return 0;
}
