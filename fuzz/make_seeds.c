/* Writes the seed corpora of the libFuzzer drivers into DIR/<name>/ (run by
 * `make fuzz-seeds`; the output is checked in as fuzz/corpus/). A few valid
 * inputs per driver, built with the project's own encoders where it has
 * them, so the fuzzers start from deep inside each format. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena/arena.h"
#include "cluster/fwd_frame.h"
#include "cluster/transport.h"
#include "mud/worldfile.h"
#include "world/world.h"

static const char *root;

static void save(const char *name, const char *file, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, name);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", root, name, file);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* ---- world: entries and snapshots ------------------------------------- */

struct batch {
    struct wr_writer cmds;
    uint32_t count;
};

static void add(struct batch *b, uint8_t module, uint8_t type, uint32_t node, uint64_t session,
                uint32_t seq, const struct wr_writer *payload)
{
    struct wr_cmd c = {.module = module,
                       .type = type,
                       .node = node,
                       .session = session,
                       .seq = seq,
                       .len = payload ? (uint16_t)payload->len : 0,
                       .payload = payload ? payload->base : NULL};
    wr_cmd_encode(&b->cmds, &c);
    b->count++;
}

static void save_entry(const char *file, struct batch *b, uint64_t time_ms,
                       struct wr_world *apply_to)
{
    struct wr_writer out;
    wr_writer_init(&out, 256);
    wr_entry_header(&out, time_ms, 1234, b->count);
    wr_put_bytes(&out, b->cmds.base, b->cmds.len);
    save("world", file, out.base, out.len);
    if (apply_to != NULL)
        wr_world_apply(apply_to, out.base, out.len);
    wr_writer_free(&out);
    wr_writer_free(&b->cmds);
    memset(b, 0, sizeof *b);
}

static void save_snapshot(const char *file, struct wr_world *w)
{
    struct wr_writer s;
    wr_writer_init(&s, 256);
    wr_world_snapshot(w, &s);
    save("world", file, s.base, s.len);
    wr_writer_free(&s);
}

static void world_seeds(void)
{
    static const uint8_t tok[WR_TOKEN_HASH_BYTES] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6, 7};
    struct wr_world *w = wr_world_create(NULL);
    struct batch b = {0};
    struct wr_writer p;
    wr_writer_init(&p, 64);

    /* Commands for the drivers' base state (sessions 0x100.. exist there). */
    p.len = 0;
    wr_arena_encode_move(&p, WR_DIR_DOWN, 9);
    add(&b, WR_MODULE_ARENA, WR_ARENA_MOVE, 1, 0x100, 6, &p);
    add(&b, WR_MODULE_ARENA, WR_ARENA_PRESENT, 2, 0x200, 3, NULL);
    add(&b, WR_MODULE_ARENA, WR_ARENA_LEAVE, 1, 0x300, 3, NULL);
    save_entry("entry-base-moves", &b, 2000, NULL);

    p.len = 0;
    static const uint8_t bob[WR_TOKEN_HASH_BYTES] = {0xb0, 0xb0, 1, 2, 3, 4, 5, 6,
                                                     7,    8,    9, 10, 11, 12, 13, 14};
    wr_arena_encode_resume(&p, bob, 8);
    add(&b, WR_MODULE_ARENA, WR_ARENA_RESUME, 1, 0x999, 1, &p);
    p.len = 0;
    wr_arena_encode_expire(&p, 2, 1000);
    add(&b, WR_MODULE_ARENA, WR_ARENA_EXPIRE, 1, 0, 0, &p);
    save_entry("entry-base-resume-expire", &b, 90000, NULL);

    /* A history from an empty world, saved entry by entry, with snapshots. */
    save_snapshot("snap-empty", w);
    p.len = 0;
    wr_arena_encode_config(&p, 10, 10);
    add(&b, WR_MODULE_ARENA, WR_ARENA_CONFIG, 1, 0, 0, &p);
    p.len = 0;
    wr_put_str(&p, "127.0.0.1:8001");
    wr_put_u64(&p, 5);
    add(&b, WR_MODULE_CORE, WR_CORE_NODE_INFO, 1, 0, 0, &p);
    p.len = 0;
    wr_put_str(&p, "ticker");
    wr_put_u64(&p, 2);
    add(&b, WR_MODULE_CORE, WR_CORE_PLACE, 1, 0, 0, &p);
    save_entry("entry-config", &b, 100, w);

    p.len = 0;
    wr_arena_encode_join(&p, "ann");
    add(&b, WR_MODULE_ARENA, WR_ARENA_JOIN, 1, 0x11, 1, &p);
    p.len = 0;
    wr_arena_encode_join_token(&p, "ben", tok, 5);
    add(&b, WR_MODULE_ARENA, WR_ARENA_JOIN, 1, 0x22, 1, &p);
    p.len = 0;
    wr_arena_encode_move(&p, WR_DIR_LEFT, 1);
    add(&b, WR_MODULE_ARENA, WR_ARENA_MOVE, 1, 0x11, 2, &p);
    save_entry("entry-joins", &b, 200, w);
    save_snapshot("snap-two-players", w);

    add(&b, WR_MODULE_ARENA, WR_ARENA_DISCONNECT, 1, 0x22, 2, NULL);
    p.len = 0;
    wr_arena_encode_node_down(&p, 1);
    add(&b, WR_MODULE_ARENA, WR_ARENA_NODE_DOWN, 1, 0, 0, &p);
    add(&b, WR_MODULE_ARENA, WR_ARENA_LEAVE, 1, 0x11, 3, NULL);
    save_entry("entry-disconnect-leave", &b, 300, w);
    save_snapshot("snap-disconnected", w);

    p.len = 0;
    wr_arena_encode_resume(&p, tok, 6);
    add(&b, WR_MODULE_ARENA, WR_ARENA_RESUME, 2, 0x33, 1, &p);
    p.len = 0;
    wr_put_str(&p, "127.0.0.1:8001");
    wr_put_u64(&p, 6);
    add(&b, WR_MODULE_CORE, WR_CORE_NODE_INFO, 1, 0, 0, &p);
    save_entry("entry-resume", &b, 400, w);
    save_snapshot("snap-resumed", w);

    wr_writer_free(&p);
    wr_world_destroy(w);
}

/* ---- transport hello -------------------------------------------------- */

static size_t hello(uint8_t *out, uint8_t chan, uint64_t cid, uint64_t tid, const char *addr)
{
    size_t alen = strlen(addr), o = 0;
    memcpy(out, "WRNAUTH1", 8);
    o = 8;
    out[o++] = chan;
    for (int i = 0; i < 8; i++)
        out[o++] = (uint8_t)(cid >> (8 * i));
    for (int i = 0; i < 8; i++)
        out[o++] = (uint8_t)(tid >> (8 * i));
    out[o++] = (uint8_t)alen;
    out[o++] = (uint8_t)(alen >> 8);
    for (int i = 0; i < 32; i++)
        out[o++] = (uint8_t)(0xa0 + i);
    memcpy(out + o, addr, alen);
    o += alen;
    for (int i = 0; i < 32; i++)
        out[o++] = (uint8_t)(0x50 + i);
    return o;
}

static void hello_seeds(void)
{
    uint8_t buf[400];
    size_t n = hello(buf, WR_CHAN_RAFT, 1, 2, "127.0.0.1:7001");
    save("transport_hello", "raft", buf, n);
    n = hello(buf, WR_CHAN_FWD, 3, 1, "10.1.2.3:7003");
    memcpy(buf + n, "trailing", 8); /* bytes after the hello */
    save("transport_hello", "fwd-trailing", buf, n + 8);
    n = hello(buf, WR_CHAN_RAFT, 2, 3, "[::1]:7002");
    save("transport_hello", "short", buf, n - 5);
    char addr[256];
    memset(addr, 'a', 255);
    addr[255] = '\0';
    n = hello(buf, WR_CHAN_FWD, 9, 9, addr);
    save("transport_hello", "max-addr", buf, n);
}

/* ---- forward-channel frames ------------------------------------------- */

/* Append one forward frame (fwd_frame.h) of @count commands from @node,
 * each a MUD line or an empty arena command, to @out. */
static void fwd_frame(struct wr_writer *out, uint32_t node, uint32_t count, uint32_t seq)
{
    static const char *lines[] = {"look", "say hello there", "north", "get all from corpse"};
    struct batch b = {.count = 0};
    wr_writer_init(&b.cmds, 256);
    for (uint32_t i = 0; i < count; i++) {
        struct wr_writer pl;
        wr_writer_init(&pl, 64);
        const char *line = lines[(seq + i) % 4];
        if (i % 2 == 0)
            wr_put_bytes(&pl, line, strlen(line));
        add(&b, i % 2 == 0 ? WR_MODULE_MUD : WR_MODULE_ARENA, (uint8_t)(1 + i % 3), node,
            1000 + i, seq + i, i % 2 == 0 ? &pl : NULL);
        wr_writer_free(&pl);
    }
    uint8_t head[WR_FWD_HEADER_BYTES];
    wr__fwd_frame_header(head, b.cmds.len, b.count);
    wr_put_bytes(out, head, sizeof head);
    wr_put_bytes(out, b.cmds.base, b.cmds.len);
    wr_writer_free(&b.cmds);
}

/* Save a fuzz_forward input: options byte, chunk lengths, stream. */
static void fwd_save(const char *file, uint8_t opts, const char *chunks, const struct wr_writer *s)
{
    struct wr_writer in;
    wr_writer_init(&in, 16 + s->len);
    size_t n = strlen(chunks);
    wr_put_u8(&in, opts);
    wr_put_u8(&in, (uint8_t)n);
    wr_put_bytes(&in, chunks, n);
    wr_put_bytes(&in, s->base, s->len);
    save("forward", file, in.base, in.len);
    wr_writer_free(&in);
}

static void forward_seeds(void)
{
    struct wr_writer s;
    wr_writer_init(&s, 1024);
    fwd_frame(&s, 2, 2, 1); /* opts 1: the sender is node 2 */
    fwd_save("one-frame", 1, "", &s);
    fwd_frame(&s, 2, 3, 3);
    fwd_frame(&s, 2, 1, 6);
    fwd_save("three-frames-chunked", 1, "\x02\x10\x3f", &s);
    fwd_save("stop-on-second", 1 | 2 << 2, "", &s);
    s.len -= 7; /* the last frame still arriving */
    fwd_save("partial-tail", 1, "\x05\x40", &s);
    s.len = 0;
    fwd_frame(&s, 2, 0, 0);
    fwd_save("empty-frame", 1, "", &s);
    s.len = 0;
    fwd_frame(&s, 3, 2, 9); /* from node 3 on node 2's connection */
    fwd_save("wrong-node", 1, "\x07", &s);
    s.len = 0;
    fwd_frame(&s, 2, 1, 4);
    wr_put_bytes(&s, "\x02\x00\x00\x00", 4); /* a length below the minimum */
    fwd_save("bad-length", 1, "", &s);
    wr_writer_free(&s);
}

/* ---- WebSocket frames ------------------------------------------------- */

/* Append one masked client frame. */
static size_t frame(uint8_t *out, uint8_t b0, const void *payload, size_t len)
{
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t o = 0;
    out[o++] = b0;
    if (len < 126) {
        out[o++] = (uint8_t)(0x80 | len);
    } else {
        out[o++] = 0x80 | 126;
        out[o++] = (uint8_t)(len >> 8);
        out[o++] = (uint8_t)len;
    }
    memcpy(out + o, mask, 4);
    o += 4;
    for (size_t i = 0; i < len; i++)
        out[o + i] = ((const uint8_t *)payload)[i] ^ mask[i & 3];
    return o + len;
}

static void ws_seeds(void)
{
    uint8_t buf[4096];
    size_t o;
    /* byte 0: limits (0 = defaults), byte 1: chunk-length count, lengths. */
    o = 0;
    buf[o++] = 0;
    buf[o++] = 0;
    o += frame(buf + o, 0x81, "{\"t\":\"move\",\"dir\":\"up\"}", 23);
    save("ws", "text", buf, o);

    o = 0;
    buf[o++] = 0;
    buf[o++] = 3;
    buf[o++] = 0; /* chunks of 1, 2, 6 bytes */
    buf[o++] = 1;
    buf[o++] = 5;
    o += frame(buf + o, 0x01, "frag", 4);
    o += frame(buf + o, 0x89, "ping", 4);
    o += frame(buf + o, 0x00, "ment\xc3", 5);
    o += frame(buf + o, 0x80, "\xa9 ok \xe2\x82\xac \xf0\x9f\x98\x80", 13);
    o += frame(buf + o, 0x8a, "", 0);
    save("ws", "fragmented-ping-utf8", buf, o);

    o = 0;
    buf[o++] = 0;
    buf[o++] = 1;
    buf[o++] = 99;
    char big[300];
    memset(big, 'x', sizeof big);
    o += frame(buf + o, 0x81, big, sizeof big);
    o += frame(buf + o, 0x88, "\x03\xe8" "bye", 5);
    save("ws", "long-then-close", buf, o);

    o = 0;
    buf[o++] = 0x13; /* max_ws_message 125, burst 1 */
    buf[o++] = 0;
    o += frame(buf + o, 0x81, "a", 1);
    o += frame(buf + o, 0x81, "b", 1);
    save("ws", "rate-limited", buf, o);
}

/* ---- HTTP requests ---------------------------------------------------- */

static void http_seed(const char *file, uint8_t opts, const char *chunks, const char *req)
{
    uint8_t buf[4096];
    size_t nc = strlen(chunks), o = 0;
    buf[o++] = opts;
    buf[o++] = (uint8_t)nc;
    memcpy(buf + o, chunks, nc);
    o += nc;
    size_t n = strlen(req);
    memcpy(buf + o, req, n);
    save("http", file, buf, o + n);
}

static void http_seeds(void)
{
    http_seed("get-api", 0, "", "GET /api/state?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    http_seed("pipelined-async", 1, "\x07\x10",
              "POST /api/join HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\n\r\n{\"name\":\"ab\"}"
              "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
              "HEAD /x%20y HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    http_seed("static", 0x20, "",
              "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /app.js HTTP/1.1\r\n\r\n"
              "GET /sub/ HTTP/1.1\r\n\r\nGET /link HTTP/1.1\r\n\r\n"
              "GET /up/secret.txt HTTP/1.1\r\n\r\nGET /%2e%2e/secret.txt HTTP/1.1\r\n\r\n");
    /* Upgrade, then a masked text frame "hi" in the same bytes. */
    http_seed("ws-upgrade", 0, "\x30",
              "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, "
              "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\n\r\n"
              "\x81\x82\x37\xfa\x21\x3d\x5f\x93");
    http_seed("chunked-body", 0x11, "\x03",
              "POST /api/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n0\r\n\r\n");
    http_seed("too-big", 0x1a, "", /* small header and body limits */
              "POST /a HTTP/1.1\r\nContent-Length: 20\r\nX-Long: aaaaaaaaaaaaaaaaaaaaa\r\n\r\n"
              "01234567890123456789");
}

/* ---- telnet: client byte streams -------------------------------------- */

static void telnet_seed(const char *file, uint8_t opts, const char *chunks, const char *stream,
                        size_t n, bool trusted)
{
    uint8_t buf[4096];
    size_t nc = strlen(chunks), o = 0;
    buf[o++] = opts;
    buf[o++] = (uint8_t)(nc | (trusted ? 8u : 0u));
    memcpy(buf + o, chunks, nc);
    o += nc;
    memcpy(buf + o, stream, n);
    save("telnet", file, buf, o + n);
}

#define TELNET_SEED(file, opts, chunks, lit)                                                        \
    telnet_seed(file, opts, chunks, lit, sizeof lit - 1, false)
/* From a trusted proxy: the stream may start with a PROXY v1 header. */
#define TELNET_SEED_PROXY(file, opts, chunks, lit)                                                  \
    telnet_seed(file, opts, chunks, lit, sizeof lit - 1, true)

static void telnet_seeds(void)
{
    /* A MUD client answering the offers: EOR, GMCP, MSSP, NAWS 100x40,
     * TTYPE cycling to MTTS, then a line. */
    TELNET_SEED("negotiation", 0, "",
                "\xff\xfd\x19\xff\xfd\xc9\xff\xfd\x46\xff\xfb\x1f"
                "\xff\xfa\x1f\x00\x64\x00\x28\xff\xf0\xff\xfb\x18"
                "\xff\xfa\x18\x00MUDLET\xff\xf0\xff\xfa\x18\x00XTERM\xff\xf0"
                "\xff\xfa\x18\x00MTTS 137\xff\xf0look\r\n");
    TELNET_SEED("gmcp", 0, "\x05\x11",
                "\xff\xfd\xc9\xff\xfa\xc9" "Core.Hello {\"client\":\"Mudlet\",\"version\":\"4.17\"}"
                "\xff\xf0\xff\xfa\xc9" "Core.Supports.Set [\"Char 1\", \"Room 1\"]\xff\xf0"
                "g\r\n\xff\xfa\xc9" "Char.Login {\"name\":\"bob\"}\xff\xf0"
                "\xff\xfa\xc9" "Core.Supports.Remove [\"Char\"]\xff\xf0g\r\n");
    TELNET_SEED("lines", 0, "\x02",
                "one\r\ntwo\nthree\r\x00" "four\rfive\r\nab\x08" "c\x7f\r\n"
                "\xc3\xa9\xff\xff\xe2\x82\r\n\xc0\xaf\xed\xa0\x80\tx\x01y\r\n");
    TELNET_SEED("long-rate", 0x1d, "", /* max_line 16, burst 2 */
                "0123456789abcdef\r\n0123456789abcdefg\r\nok\r\na\r\nb\r\nc\r\nd\r\ne\r\n");
    TELNET_SEED("compress", 0, "\x03",
                "\xff\xfd\x56\xff\xfd\x19p\r\nhello\r\nq\r\nafter\r\n");
    TELNET_SEED("client-compress", 0, "",
                "\xff\xfa\x56\xff\xf0\x78\x9c\xcb\x48\xcd\xc9\xc9\x07\x00\x06\x2c\x02\x15");
    TELNET_SEED("subneg-limit", 0x40, "", /* max_subneg 4 */
                "\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0\xff\xfd\xc9\xff\xfa\xc9"
                "Core.Hello {}\xff\xf0hi\r\n");
    TELNET_SEED_PROXY("proxy-tcp4", 0, "\x03\x0a",
                      "PROXY TCP4 203.0.113.7 127.0.0.1 40123 5555\r\n"
                      "\xff\xfd\x19look\r\nPROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
    TELNET_SEED_PROXY("proxy-tcp6", 0, "",
                      "PROXY TCP6 2001:db8::1 ::1 65535 0\r\nhello\r\n");
    TELNET_SEED_PROXY("proxy-unknown", 0, "\x01",
                      "PROXY UNKNOWN whatever\r\nq\r\n");
    TELNET_SEED_PROXY("proxy-bad", 0, "", "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\nx\r\n");
    TELNET_SEED_PROXY("proxy-plain", 0, "\x02", "PROXIMA\r\n\xff\xfd\x19p\r\n");
}

/* ---- worldfile: the sample world's files, and bundles -------------------- */

static void copy_seed(const char *file, const char *path)
{
    FILE *f = fopen(path, "rb");
    static uint8_t buf[1 << 16];
    size_t n;
    if (f == NULL || (n = fread(buf, 1, sizeof buf, f)) == 0 || n == sizeof buf) {
        fprintf(stderr, "make_seeds: cannot read %s (run from the repository root)\n", path);
        exit(1);
    }
    fclose(f);
    save("worldfile", file, buf, n);
}

static void worldfile_seeds(void)
{
    static const char tiny_world[] = "name: Tiny\nstart: town.square\n"
                                     "channels: [{id: global, desc: All, default: on, history: 20}]\n";
    static const char tiny_town[] =
        "zone: {id: town, name: Town, desc: A town., graveyard: square}\n"
        "rooms:\n"
        "  - {id: square, name: Square, desc: Cobbles., x: 0, y: 0, exits: {n: gate}}\n"
        "  - id: gate\n    name: Gate\n    desc: |\n      A gate.\n    x: 0\n    y: -1\n"
        "    exits: {s: square, n: {to: square, door: gate, closed: true}}\n"
        "items: [{id: lamp, name: a lamp, keywords: [lamp], desc: Brass., ground: A lamp.}]\n"
        "item_spawners: [{item: lamp, room: gate, interval: 1m30s}]\n"
        "npcs:\n  - id: cat\n    name: a cat\n    keywords: cat\n    desc: Grey.\n"
        "    ground: A cat.\n    max_distance: 1\n"
        "    behaviour:\n      timer: [{min_delay: 10s, actions: [{say: Mew}, {move: true}]}]\n"
        "      greet: {delay: 1s, emote: purrs at {name}.}\n"
        "      hear: [{pattern: fish, say: Fish!}]\n"
        "npc_spawners: [{npc: cat, room: square, interval: 60000}]\n";
    const char *names[2] = {"world.yaml", "zones/town.yaml"};
    const char *texts[2] = {tiny_world, tiny_town};
    struct wr_writer w;
    char err[512];

    copy_seed("world-yaml", "world/world.yaml");
    copy_seed("town-yaml", "world/zones/town.yaml");
    copy_seed("forest-yaml", "world/zones/forest.yaml");
    copy_seed("mine-yaml", "world/zones/mine.yaml");
    save("worldfile", "tiny-town-yaml", tiny_town, strlen(tiny_town));

    wr_writer_init(&w, 1024);
    wr_put_bytes(&w, "WRWORLD1", 8);
    wr_put_u32(&w, 2);
    for (int i = 0; i < 2; i++) {
        wr_put_u32(&w, (uint32_t)strlen(names[i]));
        wr_put_bytes(&w, names[i], strlen(names[i]));
        wr_put_u32(&w, (uint32_t)strlen(texts[i]));
        wr_put_bytes(&w, texts[i], strlen(texts[i]));
    }
    save("worldfile", "bundle-tiny", w.base, w.len);
    wr_writer_free(&w);

    wr_writer_init(&w, 65536);
    if (wr_mud_bundle_read_dir("world", &w, err, sizeof err) != 0) {
        fprintf(stderr, "make_seeds: %s\n", err);
        exit(1);
    }
    save("worldfile", "bundle-sample", w.base, w.len);
    wr_writer_free(&w);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    root = argv[1];
    if (mkdir(root, 0755) != 0 && errno != EEXIST) {
        perror(root);
        return 1;
    }
    world_seeds();
    hello_seeds();
    forward_seeds();
    ws_seeds();
    http_seeds();
    telnet_seeds();
    worldfile_seeds();
    return 0;
}
