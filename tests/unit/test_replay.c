/* Unit tests for `warren replay` (replay/replay.c), its offline loader
 * (wr_raft_load_offline in cluster/raft_glue.c) and the --seed derivation
 * (wr_proposer_seed in cluster/proposer.c).
 *
 * The pure half builds logs by hand (struct wr_raft_log with entries of each
 * kind) and checks that replay applies exactly what a node's state machine
 * applies: command entries after the snapshot, up to --to; and that every
 * refusal (past the end, before the snapshot, a gap, a bad snapshot, an
 * entry this binary cannot apply) sits next to the same request accepted.
 * The libraft half runs a real one-node wr_raft on a private loop, stops it,
 * and replays its directory: same hash at every index the node applied,
 * and the directory untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "arena/arena.h"
#include "cluster/proposer.h"
#include "cluster/raft_glue.h"
#include "mud/mud.h"
#include "replay/replay.h"
#include "world/world.h"

/* ---- building entries and logs ------------------------------------------ */

/* One entry holding one command, zero padded to 8 bytes like libraft's. */
static void entry1(struct wr_writer *out, uint64_t time_ms, uint64_t seed, uint8_t module,
                   uint8_t type, uint32_t node, uint64_t session, uint32_t seq,
                   const struct wr_writer *payload)
{
    wr_writer_init(out, 256);
    wr_entry_header(out, time_ms, seed, 1);
    struct wr_cmd c = {.module = module,
                       .type = type,
                       .node = node,
                       .session = session,
                       .seq = seq,
                       .len = payload ? (uint16_t)payload->len : 0,
                       .payload = payload ? payload->base : NULL};
    wr_cmd_encode(out, &c);
    while (out->len % 8 != 0)
        wr_put_u8(out, 0);
}

static void arena_config(struct wr_writer *out, uint64_t t)
{
    struct wr_writer p;
    wr_writer_init(&p, 16);
    wr_arena_encode_config(&p, 20, 10);
    entry1(out, t, 1, WR_MODULE_ARENA, WR_ARENA_CONFIG, 1, 0, 0, &p);
    wr_writer_free(&p);
}

static void arena_join(struct wr_writer *out, uint64_t t, uint64_t session, const char *name)
{
    struct wr_writer p;
    wr_writer_init(&p, 32);
    wr_arena_encode_join(&p, name);
    entry1(out, t, session * 7919, WR_MODULE_ARENA, WR_ARENA_JOIN, 1, session, 1, &p);
    wr_writer_free(&p);
}

static void arena_move(struct wr_writer *out, uint64_t t, uint64_t session, uint32_t seq,
                       enum wr_arena_dir d)
{
    struct wr_writer p;
    wr_writer_init(&p, 16);
    wr_arena_encode_move(&p, d, seq);
    entry1(out, t, 5, WR_MODULE_ARENA, WR_ARENA_MOVE, 1, session, seq, &p);
    wr_writer_free(&p);
}

#define MAX_ENTRIES 64

/* A hand-made log: the entries' bytes are owned here. */
struct blog {
    struct wr_raft_log log;
    struct wr_raft_log_entry e[MAX_ENTRIES];
    struct wr_writer bytes[MAX_ENTRIES];
    struct wr_writer snap;
};

static void blog_init(struct blog *b, uint64_t first_index)
{
    memset(b, 0, sizeof *b);
    b->log.first_index = first_index;
    b->log.entries = b->e;
}

/* Append an entry of @kind holding @w (taken over). */
static void blog_add(struct blog *b, enum wr_raft_entry_kind kind, struct wr_writer *w)
{
    size_t i = b->log.n_entries++;
    assert_true(i < MAX_ENTRIES);
    b->bytes[i] = *w;
    b->e[i] = (struct wr_raft_log_entry){
        .index = b->log.first_index + i, .term = 1, .kind = kind, .data = w->base, .len = w->len};
}

/* Give the log a snapshot of @w's state at @index. */
static void blog_snapshot(struct blog *b, struct wr_world *w, uint64_t index)
{
    wr_writer_init(&b->snap, 1024);
    wr_world_snapshot(w, &b->snap);
    b->log.has_snapshot = true;
    b->log.snapshot_index = index;
    b->log.snapshot_term = 1;
    b->log.snapshot = b->snap.base;
    b->log.snapshot_len = b->snap.len;
}

static void blog_free(struct blog *b)
{
    for (size_t i = 0; i < b->log.n_entries; i++)
        wr_writer_free(&b->bytes[i]);
    if (b->log.has_snapshot)
        wr_writer_free(&b->snap);
}

static void hash_of(struct wr_world *w, char out[17])
{
    wr_world_hash(w, out);
}

/* Replay @b up to @to into a fresh world; its hash in @hash. Returns what
 * wr_replay_apply returned; the reason in @err. */
static int replay_to(const struct blog *b, uint64_t to, uint64_t *reached, char hash[17], char *err,
                     size_t errlen)
{
    struct wr_world *w = wr_world_create(NULL);
    err[0] = '\0';
    int rv = wr_replay_apply(w, &b->log, to, reached, NULL, err, errlen);
    hash_of(w, hash);
    wr_world_destroy(w);
    return rv;
}

/* The hash of a world to which @entries (raw entry bytes) were applied. */
static void direct_hash(struct wr_writer *entries, size_t n, char hash[17])
{
    struct wr_world *w = wr_world_create(NULL);
    for (size_t i = 0; i < n; i++)
        wr_world_apply(w, entries[i].base, entries[i].len);
    hash_of(w, hash);
    wr_world_destroy(w);
}

/* ---- what replay applies -------------------------------------------------- */

/* Barriers and configuration changes never reach the state machine, even
 * when their bytes would decode as a command entry. Positive control: the
 * same bytes as a command entry do change the state. */
static void test_only_command_entries(void **state)
{
    (void)state;
    struct wr_writer a, ghost, ghost2, c;
    arena_config(&a, 1000);
    arena_join(&ghost, 1001, 9, "Ghost");
    arena_join(&ghost2, 1001, 9, "Ghost");
    arena_join(&c, 1002, 3, "Alice");

    struct wr_writer expect_bytes[2];
    arena_config(&expect_bytes[0], 1000);
    arena_join(&expect_bytes[1], 1002, 3, "Alice");
    char expect[17];
    direct_hash(expect_bytes, 2, expect);

    struct blog b;
    blog_init(&b, 1);
    struct wr_writer junk;
    wr_writer_init(&junk, 8);
    wr_put_u64(&junk, 0xdeadbeef);
    blog_add(&b, WR_ENTRY_CHANGE, &junk);
    blog_add(&b, WR_ENTRY_COMMAND, &a);
    blog_add(&b, WR_ENTRY_BARRIER, &ghost);
    blog_add(&b, WR_ENTRY_CHANGE, &ghost2);
    blog_add(&b, WR_ENTRY_COMMAND, &c);

    char hash[17], err[512];
    uint64_t reached = 0;
    assert_int_equal(replay_to(&b, UINT64_MAX, &reached, hash, err, sizeof err), 0);
    assert_int_equal(reached, 5);
    assert_string_equal(hash, expect);

    /* Positive control: Ghost's bytes as a command would have joined. */
    b.e[2].kind = WR_ENTRY_COMMAND;
    assert_int_equal(replay_to(&b, UINT64_MAX, &reached, hash, err, sizeof err), 0);
    assert_string_not_equal(hash, expect);

    blog_free(&b);
    wr_writer_free(&expect_bytes[0]);
    wr_writer_free(&expect_bytes[1]);
}

/* --to: each index gives the state after exactly the entries up to it;
 * past the last entry is refused naming the last index; the last index
 * itself is accepted. */
static void test_to_range(void **state)
{
    (void)state;
    struct blog b;
    blog_init(&b, 1);
    struct wr_writer e[4];
    arena_config(&e[0], 1000);
    arena_join(&e[1], 1001, 3, "Alice");
    arena_move(&e[2], 1002, 3, 2, WR_DIR_RIGHT);
    arena_move(&e[3], 1003, 3, 3, WR_DIR_DOWN);
    struct wr_writer copy[4];
    arena_config(&copy[0], 1000);
    arena_join(&copy[1], 1001, 3, "Alice");
    arena_move(&copy[2], 1002, 3, 2, WR_DIR_RIGHT);
    arena_move(&copy[3], 1003, 3, 3, WR_DIR_DOWN);
    for (int i = 0; i < 4; i++)
        blog_add(&b, WR_ENTRY_COMMAND, &e[i]);
    assert_int_equal(wr_replay_last_index(&b.log), 4);

    char hash[17], prev[17] = "", err[512], expect[17];
    uint64_t reached;
    for (uint64_t to = 0; to <= 4; to++) {
        assert_int_equal(replay_to(&b, to, &reached, hash, err, sizeof err), 0);
        assert_int_equal(reached, to);
        direct_hash(copy, (size_t)to, expect);
        assert_string_equal(hash, expect);
        assert_string_not_equal(hash, prev); /* every entry changed the state */
        memcpy(prev, hash, sizeof prev);
    }
    assert_int_equal(replay_to(&b, 5, &reached, hash, err, sizeof err), -1);
    assert_non_null(strstr(err, "index 5 is past the end of the log"));
    assert_non_null(strstr(err, "the last entry is at index 4"));
    /* Replaying twice gives the same answer. */
    char again[17];
    assert_int_equal(replay_to(&b, 4, &reached, hash, err, sizeof err), 0);
    assert_int_equal(replay_to(&b, 4, &reached, again, err, sizeof err), 0);
    assert_string_equal(hash, again);
    for (int i = 0; i < 4; i++)
        wr_writer_free(&copy[i]);
    blog_free(&b);
}

/* A snapshot at index 3 with entries 2..5 on disk (2 and 3 kept behind it):
 * replay restores the snapshot and applies 4 and 5 only. --to 3 (the
 * snapshot itself) works; --to 2 is refused naming the snapshot. */
static void test_snapshot_then_entries(void **state)
{
    (void)state;
    struct wr_writer e[5];
    arena_config(&e[0], 1000);
    arena_join(&e[1], 1001, 3, "Alice");
    arena_join(&e[2], 1002, 4, "Bob");
    arena_move(&e[3], 1003, 3, 2, WR_DIR_RIGHT);
    arena_move(&e[4], 1004, 4, 2, WR_DIR_LEFT);
    struct wr_world *live = wr_world_create(NULL);
    char at[6][17];
    hash_of(live, at[0]);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(wr_world_apply(live, e[i].base, e[i].len), 0);
        hash_of(live, at[i + 1]);
    }

    /* The snapshot of the state at index 3. */
    struct wr_world *w3 = wr_world_create(NULL);
    for (int i = 0; i < 3; i++)
        wr_world_apply(w3, e[i].base, e[i].len);
    struct blog b;
    blog_init(&b, 2);
    blog_snapshot(&b, w3, 3);
    wr_world_destroy(w3);
    /* Entries 2..5; entry 2 behind the snapshot is replaced by something
     * that would change the state if it were applied again. */
    struct wr_writer bogus;
    arena_join(&bogus, 1001, 77, "Mallory");
    blog_add(&b, WR_ENTRY_COMMAND, &bogus);
    for (int i = 2; i < 5; i++)
        blog_add(&b, WR_ENTRY_COMMAND, &e[i]);
    assert_int_equal(wr_replay_last_index(&b.log), 5);

    char hash[17], err[512];
    uint64_t reached;
    assert_int_equal(replay_to(&b, UINT64_MAX, &reached, hash, err, sizeof err), 0);
    assert_int_equal(reached, 5);
    assert_string_equal(hash, at[5]);
    assert_int_equal(replay_to(&b, 4, &reached, hash, err, sizeof err), 0);
    assert_string_equal(hash, at[4]);
    assert_int_equal(replay_to(&b, 3, &reached, hash, err, sizeof err), 0);
    assert_string_equal(hash, at[3]);
    assert_int_equal(replay_to(&b, 2, &reached, hash, err, sizeof err), -1);
    assert_non_null(strstr(err, "before the snapshot at index 3"));
    assert_non_null(strstr(err, "cannot rewind past it"));

    /* A snapshot with no entries after it: its own index is the last. */
    struct blog only;
    blog_init(&only, 1);
    blog_snapshot(&only, live, 5);
    assert_int_equal(wr_replay_last_index(&only.log), 5);
    assert_int_equal(replay_to(&only, UINT64_MAX, &reached, hash, err, sizeof err), 0);
    assert_int_equal(reached, 5);
    assert_string_equal(hash, at[5]);
    assert_int_equal(replay_to(&only, 6, &reached, hash, err, sizeof err), -1);
    assert_non_null(strstr(err, "the last entry is at index 5"));
    blog_free(&only);

    wr_world_destroy(live);
    for (int i = 0; i < 2; i++)
        wr_writer_free(&e[i]);
    blog_free(&b);
}

/* A gap between the snapshot and the first entry is refused; the same log
 * without the gap is accepted. */
static void test_gap_refused(void **state)
{
    (void)state;
    struct wr_world *w = wr_world_create(NULL);
    struct blog b;
    blog_init(&b, 5);
    blog_snapshot(&b, w, 2);
    struct wr_writer e;
    arena_config(&e, 1000);
    blog_add(&b, WR_ENTRY_COMMAND, &e);
    char hash[17], err[512];
    uint64_t reached;
    assert_int_equal(replay_to(&b, UINT64_MAX, &reached, hash, err, sizeof err), -1);
    assert_non_null(strstr(err, "entries 3..4 are missing"));
    /* To the snapshot itself, nothing is missing. */
    assert_int_equal(replay_to(&b, 2, &reached, hash, err, sizeof err), 0);
    /* Without the gap. */
    b.log.first_index = 3;
    b.e[0].index = 3;
    assert_int_equal(replay_to(&b, UINT64_MAX, &reached, hash, err, sizeof err), 0);
    assert_int_equal(reached, 3);
    blog_free(&b);
    wr_world_destroy(w);
}

/* A snapshot this binary cannot read is refused (not trusted); the same
 * log with the good snapshot is accepted. */
static void test_bad_snapshot_refused(void **state)
{
    (void)state;
    struct wr_world *w = wr_world_create(NULL);
    struct blog b;
    blog_init(&b, 3);
    blog_snapshot(&b, w, 2);
    char hash[17], err[512];
    uint64_t reached;
    assert_int_equal(replay_to(&b, UINT64_MAX, &reached, hash, err, sizeof err), 0);
    b.snap.base[0] = 99; /* a snapshot format from the future */
    assert_int_equal(replay_to(&b, UINT64_MAX, &reached, hash, err, sizeof err), -1);
    assert_non_null(strstr(err, "the snapshot at index 2 cannot be restored"));
    blog_free(&b);
    wr_world_destroy(w);
}

/* An entry for a module this binary lacks stops replay at that entry,
 * naming it; a malformed entry is skipped as a node skips it. */
static void test_incompatible_and_malformed(void **state)
{
    (void)state;
    struct blog b;
    blog_init(&b, 1);
    struct wr_writer a, junk, later, alien;
    arena_config(&a, 1000);
    wr_writer_init(&junk, 8);
    wr_put_u64(&junk, 0xffffffffffffffffull); /* version 255: malformed header */
    arena_join(&later, 1001, 3, "Alice");
    entry1(&alien, 1002, 1, 9, 1, 1, 0, 0, NULL);
    alien.base[WR_ENTRY_HEADER_BYTES + 1] = 1; /* module 9, version 1 */
    blog_add(&b, WR_ENTRY_COMMAND, &a);
    blog_add(&b, WR_ENTRY_COMMAND, &junk);
    blog_add(&b, WR_ENTRY_COMMAND, &later);
    char hash[17], err[512];
    uint64_t reached;
    assert_int_equal(replay_to(&b, UINT64_MAX, &reached, hash, err, sizeof err), 0);
    assert_int_equal(reached, 3);
    blog_add(&b, WR_ENTRY_COMMAND, &alien);
    assert_int_equal(replay_to(&b, UINT64_MAX, &reached, hash, err, sizeof err), -1);
    assert_non_null(strstr(err, "entry 4: "));
    assert_non_null(strstr(err, "module 9"));
    /* Up to the entry before it, fine. */
    assert_int_equal(replay_to(&b, 3, &reached, hash, err, sizeof err), 0);
    blog_free(&b);
}

/* An empty log is index 0 and the empty world; anything past it is not. */
static void test_empty_log(void **state)
{
    (void)state;
    struct blog b;
    blog_init(&b, 1);
    char hash[17], empty[17], err[512];
    uint64_t reached = 99;
    struct wr_world *w = wr_world_create(NULL);
    hash_of(w, empty);
    wr_world_destroy(w);
    assert_int_equal(replay_to(&b, UINT64_MAX, &reached, hash, err, sizeof err), 0);
    assert_int_equal(reached, 0);
    assert_string_equal(hash, empty);
    assert_int_equal(replay_to(&b, 1, &reached, hash, err, sizeof err), -1);
    assert_non_null(strstr(err, "the last entry is at index 0"));
}

/* --entries lists every entry with its kind, and for commands the time,
 * the seed and each command's module. */
static void test_print_entries(void **state)
{
    (void)state;
    struct blog b;
    blog_init(&b, 1);
    struct wr_writer a, j, bar;
    arena_config(&a, 1234);
    arena_join(&j, 1235, 3, "Alice");
    wr_writer_init(&bar, 8);
    wr_put_u64(&bar, 0);
    blog_add(&b, WR_ENTRY_COMMAND, &a);
    blog_add(&b, WR_ENTRY_BARRIER, &bar);
    blog_add(&b, WR_ENTRY_COMMAND, &j);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct wr_world *w = wr_world_create(NULL);
    uint64_t reached;
    char err[256];
    assert_int_equal(wr_replay_apply(w, &b.log, UINT64_MAX, &reached, out, err, sizeof err), 0);
    fclose(out);
    assert_non_null(strstr(text, "entry 1 term 1 command time 1234 seed 0000000000000001 "
                                 "commands 1\n  arena.1 node 1 session 0000000000000000 seq 0"));
    assert_non_null(strstr(text, "entry 2 term 1 barrier\n"));
    assert_non_null(strstr(text, "entry 3 term 1 command time 1235 seed 0000000000005ccd"));
    assert_non_null(strstr(text, "arena.2 node 1 session 0000000000000003 seq 1"));
    free(text);
    wr_world_destroy(w);
    blog_free(&b);
}

/* ---- --dump ---------------------------------------------------------------- */

static const char dump_world_yaml[] = "name: Dumpland\nstart: town.square\n";
static const char dump_zone_yaml[] =
    "zone: {id: town, name: Town, desc: A town., graveyard: square}\n"
    "rooms:\n"
    "  - {id: square, name: Square, desc: A square., x: 0, y: 0, exits: {n: gate}}\n"
    "  - {id: gate, name: Gate, desc: A gate., x: 0, y: -1, exits: {s: square}}\n"
    "items:\n"
    "  - {id: lantern, name: a rusty lantern, keywords: lantern, desc: A lantern.,\n"
    "     ground: A lantern lies here.}\n"
    "item_spawners:\n"
    "  - {item: lantern, room: gate, interval: 60s}\n"
    "npcs:\n"
    "  - {id: dog, name: a stray dog, keywords: dog, desc: A dog., ground: A dog sniffs.}\n"
    "npc_spawners:\n"
    "  - {npc: dog, room: square, interval: 30s}\n";

static void put_file(struct wr_writer *w, const char *name, const char *text)
{
    wr_put_u32(w, (uint32_t)strlen(name));
    wr_put_bytes(w, name, strlen(name));
    wr_put_u32(w, (uint32_t)strlen(text));
    wr_put_bytes(w, text, strlen(text));
}

static void apply1(struct wr_world *w, uint64_t t, uint8_t module, uint8_t type, uint64_t session,
                   uint32_t seq, struct wr_writer *payload)
{
    struct wr_writer e;
    entry1(&e, t, t * 31, module, type, 1, session, seq, payload);
    assert_int_equal(wr_world_apply(w, e.base, e.len), 0);
    wr_writer_free(&e);
    if (payload != NULL)
        wr_writer_free(payload);
}

static void test_dump(void **state)
{
    (void)state;
    struct wr_world *w = wr_world_create(NULL);
    json_t *d = wr_replay_dump(w, 0, "0000000000000000");
    assert_non_null(d);
    assert_true(json_is_null(json_object_get(json_object_get(d, "mud"), "world")));
    json_decref(d);

    struct wr_writer bundle, p;
    wr_writer_init(&bundle, 1024);
    wr_put_bytes(&bundle, "WRWORLD1", 8);
    wr_put_u32(&bundle, 2);
    put_file(&bundle, "world.yaml", dump_world_yaml);
    put_file(&bundle, "zones/town.yaml", dump_zone_yaml);
    uint8_t h[16];
    crypto_generichash(h, sizeof h, bundle.base, bundle.len, NULL, 0);
    wr_writer_init(&p, bundle.len + 64);
    wr_mud_encode_chunk(&p, h, (uint32_t)bundle.len, 0, bundle.base, (uint16_t)bundle.len);
    apply1(w, 1000, WR_MODULE_MUD, WR_MUD_WORLD_CHUNK, 0, 0, &p);
    wr_writer_free(&bundle);
    uint8_t tok[16];
    const char *names[] = {"Zed", "Amy"};
    for (int i = 0; i < 2; i++) {
        memset(tok, i + 1, sizeof tok);
        wr_writer_init(&p, 64);
        wr_mud_encode_create(&p, names[i], "$argon2id$fake", tok, 7);
        apply1(w, 1001, WR_MODULE_MUD, WR_MUD_CREATE, (uint64_t)(10 + i), 1, &p);
    }
    wr_writer_init(&p, 8);
    wr_mud_encode_dir(&p, WR_DIR_N);
    apply1(w, 1002, WR_MODULE_MUD, WR_MUD_MOVE, 11, 2, &p); /* Amy to the gate */
    wr_writer_init(&p, 8);
    wr_mud_encode_str(&p, "lantern");
    apply1(w, 1003, WR_MODULE_MUD, WR_MUD_GET, 11, 3, &p);
    wr_writer_init(&p, 16);
    wr_arena_encode_config(&p, 8, 6);
    apply1(w, 1004, WR_MODULE_ARENA, WR_ARENA_CONFIG, 0, 0, &p);
    wr_writer_init(&p, 16);
    wr_arena_encode_join(&p, "Pip");
    apply1(w, 1005, WR_MODULE_ARENA, WR_ARENA_JOIN, 99, 1, &p);

    char hash[17];
    wr_world_hash(w, hash);
    d = wr_replay_dump(w, 42, hash);
    assert_non_null(d);
    char *text = json_dumps(d, JSON_COMPACT);
    assert_non_null(text);
    json_decref(d);
    /* Parse it back: what a user of --dump does. */
    json_error_t jerr;
    json_t *back = json_loads(text, 0, &jerr);
    assert_non_null(back);
    assert_int_equal(json_integer_value(json_object_get(back, "index")), 42);
    assert_string_equal(json_string_value(json_object_get(back, "hash")), hash);
    assert_int_equal(json_integer_value(json_object_get(back, "log_time_ms")), 1005);
    json_t *mud = json_object_get(back, "mud");
    assert_string_equal(json_string_value(json_object_get(json_object_get(mud, "world"), "name")),
                        "Dumpland");
    json_t *chars = json_object_get(mud, "characters");
    assert_int_equal(json_array_size(chars), 2);
    /* In id order (creation order), whatever order the module keeps. */
    json_t *zed = json_array_get(chars, 0), *amy = json_array_get(chars, 1);
    assert_string_equal(json_string_value(json_object_get(zed, "name")), "Zed");
    assert_string_equal(json_string_value(json_object_get(zed, "room")), "town.square");
    assert_string_equal(json_string_value(json_object_get(zed, "state")), "online");
    assert_string_equal(json_string_value(json_object_get(amy, "name")), "Amy");
    assert_string_equal(json_string_value(json_object_get(amy, "room")), "town.gate");
    assert_true(json_integer_value(json_object_get(amy, "level")) >= 1);
    assert_non_null(json_object_get(amy, "hp"));
    assert_non_null(json_object_get(amy, "gold"));
    json_t *npcs = json_object_get(mud, "npcs");
    assert_int_equal(json_array_size(npcs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(npcs, 0), "key")), "dog");
    assert_string_equal(json_string_value(json_object_get(json_array_get(npcs, 0), "room")),
                        "town.square");
    json_t *items = json_object_get(mud, "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *lantern = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(lantern, "loc")), "carried");
    assert_string_equal(json_string_value(json_object_get(lantern, "where")), "Amy");
    json_t *zones = json_object_get(mud, "zones");
    assert_int_equal(json_array_size(zones), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(zones, 0), "key")),
                        "town");
    json_t *arena = json_object_get(back, "arena");
    assert_int_equal(json_integer_value(json_object_get(arena, "width")), 8);
    json_t *players = json_object_get(arena, "players");
    assert_int_equal(json_array_size(players), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(players, 0), "name")),
                        "Pip");
    json_decref(back);
    free(text);
    wr_world_destroy(w);
}

/* ---- --seed ------------------------------------------------------------------ */

static uint64_t seed_of(uint64_t n, uint8_t module, uint8_t type, const char *payload)
{
    struct wr_cmd c = {.module = module,
                       .type = type,
                       .node = 1,
                       .session = 5,
                       .seq = 9,
                       .len = (uint16_t)strlen(payload),
                       .payload = (const uint8_t *)payload};
    return wr_proposer_seed(n, &c);
}

/* The same command gives the same seed whatever its node, session or seq
 * (those differ between runs); anything the command says changes it. */
static void test_seed_derivation(void **state)
{
    (void)state;
    uint64_t s = seed_of(42, WR_MODULE_MUD, WR_MUD_KILL, "\003rat");
    assert_true(s == seed_of(42, WR_MODULE_MUD, WR_MUD_KILL, "\003rat"));
    struct wr_cmd c = {.module = WR_MODULE_MUD,
                       .type = WR_MUD_KILL,
                       .node = 3,
                       .session = 0x1234,
                       .seq = 77,
                       .len = 4,
                       .payload = (const uint8_t *)"\003rat"};
    assert_true(s == wr_proposer_seed(42, &c));
    assert_true(s != seed_of(43, WR_MODULE_MUD, WR_MUD_KILL, "\003rat"));
    assert_true(s != seed_of(42, WR_MODULE_MUD, WR_MUD_KILL, "\003bat"));
    assert_true(s != seed_of(42, WR_MODULE_MUD, WR_MUD_TARGET, "\003rat"));
    assert_true(s != seed_of(42, WR_MODULE_ARENA, WR_MUD_KILL, "\003rat"));
    assert_true(seed_of(42, 2, 1, "") != seed_of(42, 2, 2, ""));
}

/* ---- the offline loader on a real libraft directory ---------------------- */

struct node {
    uv_loop_t loop;
    struct wr_raft *raft;
    struct wr_world *world;
    size_t applied;      /* command entries applied */
    char hashes[64][17]; /* hash after the k-th command entry (k from 1) */
    uint64_t indexes[64]; /* the log index the glue gave the k-th one */
    size_t done;
    bool stopped;
    const char *data_dir;
};

static void n_apply(void *data, uint64_t index, const void *entry, size_t len)
{
    struct node *n = data;
    wr_world_apply(n->world, entry, len);
    n->applied++;
    if (n->applied < 64) {
        wr_world_hash(n->world, n->hashes[n->applied]);
        n->indexes[n->applied] = index;
    }
}

static void n_snapshot(void *data, struct wr_writer *out)
{
    struct node *n = data;
    wr_world_snapshot(n->world, out);
}

static int n_restore(void *data, const void *buf, size_t len)
{
    struct node *n = data;
    return wr_world_restore(n->world, buf, len);
}

static void n_done(void *arg, int status)
{
    struct node *n = arg;
    assert_int_equal(status, 0);
    n->done++;
}

static void n_stopped(void *arg)
{
    ((struct node *)arg)->stopped = true;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Names, sizes and modification times of the files in @dir, sorted. */
static char *dir_listing(const char *dir)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    assert_true(n >= 0);
    for (int i = 0; i < n; i++) {
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            fprintf(out, "%s %lld %lld.%09ld\n", names[i]->d_name, (long long)st.st_size,
                    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        free(names[i]);
    }
    free(names);
    fclose(out);
    return text;
}

static void rm_rf(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        unlink(path);
        free(names[i]);
    }
    if (n >= 0)
        free(names);
    rmdir(dir);
}

static void run_until(struct node *n, bool (*cond)(struct node *), const char *what)
{
    uint64_t start = uv_hrtime();
    while (!cond(n)) {
        if (uv_hrtime() - start > 10ull * 1000 * 1000 * 1000)
            fail_msg("timed out waiting for %s", what);
        uv_run(&n->loop, UV_RUN_ONCE);
    }
}

static bool is_leader(struct node *n)
{
    struct wr_raft_status st;
    wr_raft_get_status(n->raft, &st);
    return st.role == WR_ROLE_LEADER;
}

static bool all_done(struct node *n)
{
    return n->done == 40;
}

static bool has_snapshot_file(struct node *n)
{
    bool found = false;
    DIR *d = opendir(n->data_dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        found |= strncmp(e->d_name, "snapshot-", 9) == 0 && strstr(e->d_name, ".meta") != NULL;
    if (d != NULL)
        closedir(d);
    return found;
}

static bool is_stopped(struct node *n)
{
    return n->stopped;
}

static void test_offline_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/warren-test-replay-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char data[256], addr[32];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", free_port());

    struct node *n = calloc(1, sizeof *n);
    assert_int_equal(uv_loop_init(&n->loop), 0);
    n->world = wr_world_create(NULL);
    struct wr_raft_peer peer = {.id = 1};
    snprintf(peer.address, sizeof peer.address, "%s", addr);
    struct wr_raft_config cfg = {.id = 1,
                                 .address = addr,
                                 .peers = &peer,
                                 .n_peers = 1,
                                 .data_dir = data,
                                 .election_timeout_ms = 100,
                                 .heartbeat_ms = 20,
                                 .snapshot_threshold = 16,
                                 .snapshot_trailing = 16};
    struct wr_raft_fsm fsm = {
        .data = n, .apply = n_apply, .snapshot = n_snapshot, .restore = n_restore};
    struct wr_raft_hooks hooks = {.data = n};
    char err[1024];
    assert_int_equal(wr_raft_start(&n->raft, &n->loop, &cfg, &fsm, &hooks, err, sizeof err), 0);
    run_until(n, is_leader, "leadership");

    /* While the node runs, its directory is refused. */
    struct wr_raft_log *log = NULL;
    assert_int_equal(wr_raft_load_offline(data, &log, err, sizeof err), -1);
    assert_non_null(strstr(err, "in use by a running warren node"));

    struct wr_writer e;
    arena_config(&e, 1000);
    assert_int_equal(wr_raft_propose(n->raft, e.base, e.len, n_done, n), 0);
    wr_writer_free(&e);
    for (int i = 1; i < 40; i++) {
        if (i < 10)
            arena_join(&e, 1000 + (uint64_t)i, (uint64_t)i,
                       (const char *[]){"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"}[i]);
        else
            arena_move(&e, 1000 + (uint64_t)i, (uint64_t)(1 + i % 9), (uint32_t)(2 + i / 9),
                       (enum wr_arena_dir)(i % 4));
        assert_int_equal(wr_raft_propose(n->raft, e.base, e.len, n_done, n), 0);
        wr_writer_free(&e);
    }
    run_until(n, all_done, "40 entries applied");
    /* libraft writes the snapshot (threshold 16) in the background. */
    n->data_dir = data;
    run_until(n, has_snapshot_file, "a snapshot on disk");
    char live[17];
    wr_world_hash(n->world, live);
    wr_raft_stop(n->raft, n_stopped, n);
    run_until(n, is_stopped, "the stop");
    assert_int_equal(uv_loop_close(&n->loop), 0);

    /* Stopped: replay reads it, leaves it as it was, and rebuilds the same
     * state at every index the node applied since the snapshot. */
    char *before = dir_listing(data);
    assert_int_equal(wr_raft_load_offline(data, &log, err, sizeof err), 0);
    char *after = dir_listing(data);
    assert_string_equal(before, after);
    if (!log->has_snapshot)
        fail_msg("no snapshot in %s:\n%s", data, after);
    assert_true(log->snapshot_index >= 16);
    assert_int_equal(wr_replay_last_index(log), 41);
    uint64_t reached;
    struct wr_world *w = wr_world_create(NULL);
    assert_int_equal(wr_replay_apply(w, log, UINT64_MAX, &reached, NULL, err, sizeof err), 0);
    assert_int_equal(reached, 41);
    char hash[17];
    wr_world_hash(w, hash);
    assert_string_equal(hash, live);
    wr_world_destroy(w);
    size_t k = 0, checked = 0;
    for (size_t i = 0; i < log->n_entries; i++) {
        const struct wr_raft_log_entry *le = &log->entries[i];
        if (le->kind != WR_ENTRY_COMMAND)
            continue;
        k++;
        if (le->index < log->snapshot_index)
            continue;
        w = wr_world_create(NULL);
        assert_int_equal(wr_replay_apply(w, log, le->index, &reached, NULL, err, sizeof err), 0);
        wr_world_hash(w, hash);
        assert_string_equal(hash, n->hashes[k]);
        /* The index the glue passed to apply (for the apply log) is the
         * entry's index in libraft's own log. */
        assert_int_equal(n->indexes[k], le->index);
        wr_world_destroy(w);
        checked++;
    }
    assert_true(checked >= 10);
    w = wr_world_create(NULL);
    assert_int_equal(
        wr_replay_apply(w, log, log->snapshot_index - 1, &reached, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "before the snapshot"));
    wr_world_destroy(w);
    wr_raft_log_free(log);
    free(before);
    free(after);

    /* A copy without the LOCK file (a backup) loads as well. */
    char lock[300];
    snprintf(lock, sizeof lock, "%s/LOCK", data);
    assert_int_equal(unlink(lock), 0);
    assert_int_equal(wr_raft_load_offline(data, &log, err, sizeof err), 0);
    wr_raft_log_free(log);

    wr_world_destroy(n->world);
    free(n);
    rm_rf(data);
    rm_rf(dir);
}

/* Clear errors for what is not a stopped node's directory, each next to
 * the accepted case. */
static void test_offline_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/warren-test-replay-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[300], err[1024];
    struct wr_raft_log *log = NULL;

    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(wr_raft_load_offline(path, &log, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file or directory"));

    snprintf(path, sizeof path, "%s/file", dir);
    FILE *f = fopen(path, "w");
    fclose(f);
    assert_int_equal(wr_raft_load_offline(path, &log, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not a directory"));
    unlink(path);

    assert_int_equal(wr_raft_load_offline(dir, &log, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not a warren data directory"));

    /* A metadata file libraft refuses (disk format 7)... */
    snprintf(path, sizeof path, "%s/metadata1", dir);
    uint8_t meta[32] = {7}; /* u64 format | u64 version | u64 term | u64 vote */
    meta[8] = 1;
    f = fopen(path, "wb");
    fwrite(meta, 1, sizeof meta, f);
    fclose(f);
    assert_int_equal(wr_raft_load_offline(dir, &log, err, sizeof err), -1);
    assert_non_null(strstr(err, "libraft cannot open the directory"));
    assert_non_null(strstr(err, "bad format version 7"));
    /* ...and the one of a fresh node (format 1, term 0, nothing else). */
    meta[0] = 1;
    f = fopen(path, "wb");
    fwrite(meta, 1, sizeof meta, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/LOCK", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    assert_int_equal(wr_raft_load_offline(dir, &log, err, sizeof err), -1);
    assert_non_null(strstr(err, "in use by a running warren node"));
    close(fd);
    /* Unlocked: libraft reads it (an empty log). */
    if (wr_raft_load_offline(dir, &log, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_false(log->has_snapshot);
    assert_int_equal(log->n_entries, 0);
    assert_int_equal(wr_replay_last_index(log), 0);
    wr_raft_log_free(log);
    rm_rf(dir);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_command_entries),
        cmocka_unit_test(test_to_range),
        cmocka_unit_test(test_snapshot_then_entries),
        cmocka_unit_test(test_gap_refused),
        cmocka_unit_test(test_bad_snapshot_refused),
        cmocka_unit_test(test_incompatible_and_malformed),
        cmocka_unit_test(test_empty_log),
        cmocka_unit_test(test_print_entries),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_seed_derivation),
        cmocka_unit_test(test_offline_round_trip),
        cmocka_unit_test(test_offline_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
