/* libFuzzer driver for the world files (mud/worldfile.c): wr_mud_model_parse
 * runs in every node's state machine on a bundle proposed through the log,
 * so no bundle may crash it, leak, or give different answers on two runs.
 *
 * The bytes are used three ways:
 *   - as the YAML of a one-file bundle (world.yaml);
 *   - as zones/town.yaml next to the sample world's other files
 *     (world/world.yaml, zones/forest.yaml, zones/mine.yaml, read at start
 *     from the repository root, where `make fuzz` runs), so a mutated zone
 *     file reaches the field and reference passes;
 *   - as a whole bundle.
 * Invariants, beyond ASan/UBSan and no leaks:
 *   - parsing is deterministic: a second parse gives the same verdict and
 *     the same error text, or a model with identical hash and contents;
 *   - an error is one line, starting "bundle: " or "FILE:LINE:COLUMN: "
 *     with FILE a name from the bundle and LINE, COLUMN >= 1;
 *   - an accepted model is well formed: every index in range, doors as
 *     documented, strings present and within their limits, the hash is
 *     BLAKE2b-128 of the bundle. */
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "mud/worldfile.h"

struct part {
    const char *name;
    const uint8_t *data;
    size_t len;
};

static struct part sample[4] = {
    {"world.yaml", NULL, 0},
    {"zones/forest.yaml", NULL, 0},
    {"zones/mine.yaml", NULL, 0},
    {"zones/town.yaml", NULL, 0}, /* the fuzzer's bytes */
};

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "fuzz_worldfile: cannot read %s (run from the repository root)\n", path);
        abort();
    }
    uint8_t *buf = malloc(1 << 20);
    FUZZ_CHECK(buf != NULL);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void bundle(struct wr_writer *w, const struct part *p, size_t n)
{
    wr_writer_init(w, 4096);
    wr_put_bytes(w, "WRWORLD1", 8);
    wr_put_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        wr_put_u32(w, (uint32_t)strlen(p[i].name));
        wr_put_bytes(w, p[i].name, strlen(p[i].name));
        wr_put_u32(w, (uint32_t)p[i].len);
        wr_put_bytes(w, p[i].data, p[i].len);
    }
}

static uint64_t digest_str(uint64_t h, const char *s)
{
    FUZZ_CHECK(s != NULL);
    return fuzz_digest(h, s, strlen(s) + 1);
}

static void check_str(const char *s, size_t max)
{
    FUZZ_CHECK(s != NULL);
    size_t n = strlen(s);
    FUZZ_CHECK(n >= 1 && n <= max);
}

static void check_action(const struct wr_mud_action *a, bool timer)
{
    FUZZ_CHECK(a->weight >= 1 && a->weight <= 1000);
    if (a->kind == WR_ACT_MOVE) {
        FUZZ_CHECK(timer && a->text == NULL);
    } else {
        FUZZ_CHECK(a->kind == WR_ACT_SAY || a->kind == WR_ACT_EMOTE);
        check_str(a->text, 200);
        FUZZ_CHECK(strchr(a->text, '\n') == NULL);
    }
}

/* Checks @m and returns a digest of everything in it. */
static uint64_t check_model(const struct wr_mud_model *m, const void *b, size_t len)
{
    uint8_t h[16];
    crypto_generichash(h, sizeof h, b, len, NULL, 0);
    FUZZ_CHECK(memcmp(h, m->hash, sizeof h) == 0);
    uint64_t d = fuzz_digest(0, m->hash, sizeof m->hash);
    check_str(m->name, 80);
    d = digest_str(d, m->name);
    FUZZ_CHECK(m->start_room < m->n_rooms);
    FUZZ_CHECK(m->n_zones <= 64 && m->n_rooms <= 10000 && m->n_items <= 1000 && m->n_npcs <= 1000 &&
               m->n_channels <= 32);
    d = fuzz_digest_u64(d, m->start_room);
    for (size_t i = 0; i < m->n_zones; i++) {
        const struct wr_mud_zone *z = &m->zones[i];
        check_str(z->key, 32);
        check_str(z->name, 80);
        check_str(z->desc, 4096);
        FUZZ_CHECK(z->graveyard < m->n_rooms);
        d = digest_str(digest_str(d, z->key), z->desc);
        d = fuzz_digest_u64(d, z->graveyard);
        FUZZ_CHECK(wr_mud_model_zone(m, z->key) == (long)i);
    }
    for (size_t i = 0; i < m->n_rooms; i++) {
        const struct wr_mud_room *r = &m->rooms[i];
        FUZZ_CHECK(r->zone < m->n_zones);
        /* rooms are grouped by zone, in zone order */
        FUZZ_CHECK(i == 0 || m->rooms[i - 1].zone <= r->zone);
        check_str(r->key, 65);
        check_str(r->name, 80);
        check_str(r->desc, 4096);
        FUZZ_CHECK(r->x >= -10000 && r->x <= 10000 && r->y >= -10000 && r->y <= 10000 &&
                   r->z >= -10000 && r->z <= 10000);
        FUZZ_CHECK(wr_mud_model_room(m, r->key) == (long)i);
        d = digest_str(digest_str(digest_str(d, r->key), r->name), r->desc);
        d = fuzz_digest_u64(d, ((uint64_t)(uint32_t)r->x << 32) | (uint32_t)r->y);
        d = fuzz_digest_u64(d, (uint32_t)r->z);
        for (int k = 0; k < WR_MUD_NDIRS; k++) {
            const struct wr_mud_exit *x = &r->exits[k];
            FUZZ_CHECK(x->to == WR_MUD_NO_ROOM || x->to < m->n_rooms);
            FUZZ_CHECK(x->door == (x->door_name != NULL));
            FUZZ_CHECK(!x->closed || x->door);
            FUZZ_CHECK(x->to != WR_MUD_NO_ROOM || !x->door);
            if (x->door)
                check_str(x->door_name, 32);
            d = fuzz_digest_u64(d, ((uint64_t)x->to << 2) | (uint64_t)x->door << 1 | x->closed);
            if (x->door)
                d = digest_str(d, x->door_name);
        }
    }
    for (size_t i = 0; i < m->n_items; i++) {
        const struct wr_mud_item *it = &m->items[i];
        check_str(it->key, 32);
        check_str(it->name, 80);
        check_str(it->keywords, 200);
        check_str(it->desc, 4096);
        check_str(it->ground, 200);
        d = digest_str(digest_str(d, it->key), it->keywords);
        d = fuzz_digest_u64(d, it->fixed);
    }
    for (size_t i = 0; i < m->n_item_spawners; i++) {
        const struct wr_mud_item_spawner *s = &m->item_spawners[i];
        FUZZ_CHECK(s->item < m->n_items && s->room < m->n_rooms);
        FUZZ_CHECK(s->interval_ms >= 1000 && s->interval_ms <= 86400000);
        d = fuzz_digest_u64(d, ((uint64_t)s->item << 32) | s->room);
        d = fuzz_digest_u64(d, s->interval_ms);
    }
    for (size_t i = 0; i < m->n_npcs; i++) {
        const struct wr_mud_npc *n = &m->npcs[i];
        check_str(n->key, 32);
        check_str(n->name, 80);
        check_str(n->keywords, 200);
        check_str(n->desc, 4096);
        check_str(n->ground, 200);
        FUZZ_CHECK(n->max_distance <= 100);
        FUZZ_CHECK(n->n_timers <= 16 && n->n_greets <= 16 && n->n_hears <= 16);
        d = digest_str(d, n->key);
        d = fuzz_digest_u64(d, n->max_distance);
        for (size_t t = 0; t < n->n_timers; t++) {
            const struct wr_mud_timer_rule *r = &n->timers[t];
            FUZZ_CHECK(r->min_delay_ms >= 1000 && r->min_delay_ms <= 3600000);
            FUZZ_CHECK(r->random_delay_ms <= 3600000);
            FUZZ_CHECK(r->n_actions >= 1 && r->n_actions <= 32);
            d = fuzz_digest_u64(d, ((uint64_t)r->min_delay_ms << 32) | r->random_delay_ms);
            for (size_t a = 0; a < r->n_actions; a++) {
                check_action(&r->actions[a], true);
                if (r->actions[a].kind == WR_ACT_MOVE)
                    FUZZ_CHECK(n->max_distance >= 1);
                d = fuzz_digest_u64(d, ((uint64_t)r->actions[a].kind << 32) | r->actions[a].weight);
            }
        }
        for (size_t g = 0; g < n->n_greets; g++) {
            FUZZ_CHECK(n->greets[g].delay_ms <= 3600000);
            check_action(&n->greets[g].action, false);
            d = digest_str(d, n->greets[g].action.text);
        }
        for (size_t h2 = 0; h2 < n->n_hears; h2++) {
            FUZZ_CHECK(n->hears[h2].delay_ms <= 3600000);
            check_str(n->hears[h2].pattern, 80);
            check_action(&n->hears[h2].action, false);
            d = digest_str(digest_str(d, n->hears[h2].pattern), n->hears[h2].action.text);
        }
    }
    for (size_t i = 0; i < m->n_npc_spawners; i++) {
        const struct wr_mud_npc_spawner *s = &m->npc_spawners[i];
        FUZZ_CHECK(s->npc < m->n_npcs && s->room < m->n_rooms);
        FUZZ_CHECK(s->interval_ms >= 1000 && s->interval_ms <= 86400000);
        d = fuzz_digest_u64(d, ((uint64_t)s->npc << 32) | s->room);
    }
    for (size_t i = 0; i < m->n_channels; i++) {
        const struct wr_mud_channel *c = &m->channels[i];
        check_str(c->key, 32);
        check_str(c->desc, 200);
        FUZZ_CHECK(c->history <= 200);
        d = digest_str(d, c->key);
        d = fuzz_digest_u64(d, ((uint64_t)c->history << 1) | c->on_by_default);
    }
    return d;
}

/* "bundle: ..." or "FILE:LINE:COLUMN: ..." with FILE one of the bundle's
 * names (the framing was read if the error is not the bundle's). */
static void check_error(const char *err, const void *b, size_t len)
{
    FUZZ_CHECK(err[0] != '\0');
    FUZZ_CHECK(strchr(err, '\n') == NULL);
    if (strncmp(err, "bundle: ", 8) == 0)
        return;
    struct wr_reader r;
    wr_reader_init(&r, b, len);
    FUZZ_CHECK(wr_get_bytes(&r, 8) != NULL);
    uint32_t n = wr_get_u32(&r);
    const char *p = NULL;
    for (uint32_t i = 0; i < n && p == NULL && !r.err; i++) {
        uint32_t nl = wr_get_u32(&r);
        const uint8_t *name = wr_get_bytes(&r, nl);
        (void)wr_get_bytes(&r, wr_get_u32(&r));
        if (name != NULL && strncmp(err, (const char *)name, nl) == 0 && err[nl] == ':')
            p = err + nl + 1;
    }
    FUZZ_CHECK(p != NULL);
    char *end;
    unsigned long line = strtoul(p, &end, 10);
    FUZZ_CHECK(end != p && *end == ':');
    p = end + 1;
    unsigned long col = strtoul(p, &end, 10);
    FUZZ_CHECK(end != p && line >= 1 && col >= 1);
    FUZZ_CHECK(end[0] == ':' && end[1] == ' ' && end[2] != '\0');
}

static void run(const void *b, size_t len)
{
    char e1[512], e2[512];
    struct wr_mud_model *m1 = NULL, *m2 = NULL;
    int r1 = wr_mud_model_parse(b, len, &m1, e1, sizeof e1);
    int r2 = wr_mud_model_parse(b, len, &m2, e2, sizeof e2);
    FUZZ_CHECK(r1 == r2);
    if (r1 != 0) {
        FUZZ_CHECK(r1 == -1 && m1 == NULL && m2 == NULL);
        FUZZ_CHECK(strcmp(e1, e2) == 0);
        check_error(e1, b, len);
        return;
    }
    FUZZ_CHECK(check_model(m1, b, len) == check_model(m2, b, len));
    wr_mud_model_free(m1);
    wr_mud_model_free(m2);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    FUZZ_CHECK(sodium_init() >= 0);
    sample[0].data = slurp("world/world.yaml", &sample[0].len);
    sample[1].data = slurp("world/zones/forest.yaml", &sample[1].len);
    sample[2].data = slurp("world/zones/mine.yaml", &sample[2].len);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wr_writer w;
    struct part one = {"world.yaml", data, size};
    bundle(&w, &one, 1);
    run(w.base, w.len);
    wr_writer_free(&w);

    sample[3].data = data;
    sample[3].len = size;
    bundle(&w, sample, 4);
    run(w.base, w.len);
    wr_writer_free(&w);

    run(data, size);
    return 0;
}
