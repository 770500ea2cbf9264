/* The replicated state machine's core; see world.h.
 *
 * Session states and their invariants:
 *   OPEN   the session's opening command was applied; last_seq is the seq of
 *          the last applied command; only commands from `node` apply.
 *   CLOSED a leave (or a refused join) was applied; closed_at is the log time
 *          it happened; every later command of the session is STALE. Closed
 *          sessions are forgotten CLOSED_KEEP_MS of log time later, which is
 *          far longer than any retry of a command can be delayed (a node
 *          gives up on a command after its queue timeout).
 * Unknown sessions accept only a command whose module opens sessions, with
 * seq 1. */
#include "world/world.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "games.h"
#include "common/log.h"

#define CLOSED_KEEP_MS 60000
#define PRUNE_EVERY_MS 10000

/* A node's marks (core version 3), in a table sorted by node id; a node
 * with neither mark has no row. */
struct node_mark {
    uint32_t node;
    bool draining;
    char telnet[64];
};

struct session {
    uint64_t key;
    uint32_t node;
    uint32_t last_seq;
    uint64_t closed_at; /* 0 while open */
};

struct wr_world {
    struct wr_world_hooks hooks;
    uint64_t now_ms;
    uint64_t next_prune_ms;
    uint8_t cluster_id[WR_CLUSTER_ID_LEN]; /* all zero until CLUSTER_ID */

    struct session *sessions;
    size_t n_sessions, cap_sessions;
    struct wr_u64map session_idx; /* key -> index in sessions */

    struct wr_reg_entry *reg; /* sorted by name */
    size_t n_reg, cap_reg;

    struct node_mark *marks; /* sorted by node */
    size_t n_marks, cap_marks;

    /* By module id; NULL where no module of that id is linked in. */
    const struct wr_module *modules[WR_MODULE_MAX];
    void *mstate[WR_MODULE_MAX];
    char halted[160]; /* why apply stopped, or "" */
};

/* ---- helpers --------------------------------------------------------- */

uint64_t wr_mix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void wr_put_str(struct wr_writer *w, const char *s)
{
    size_t n = strlen(s);
    if (n > 255)
        n = 255;
    wr_put_u8(w, (uint8_t)n);
    wr_put_bytes(w, s, n);
}

int wr_get_str(struct wr_reader *r, char *dst, size_t cap)
{
    uint8_t n = wr_get_u8(r);
    const uint8_t *p = wr_get_bytes(r, n);
    if (p == NULL || (size_t)n + 1 > cap || memchr(p, '\0', n) != NULL)
        return -1;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return 0;
}

/* The core version that introduced command @type: what a core command is
 * written with, so that a release that knows the type reads it. */
static uint8_t core_type_version(uint8_t type)
{
    switch (type) {
    case WR_CORE_CLUSTER_ID: return 2;
    case WR_CORE_DRAIN:
    case WR_CORE_NODE_TELNET: return 3;
    default: return 1;
    }
}

/* The version of module @id this binary writes, or 0 if unknown. */
static uint8_t module_version(uint8_t id)
{
    if (id == WR_MODULE_CORE)
        return WR_CORE_VERSION;
    for (size_t i = 0; i < wr_game_module_count; i++)
        if (wr_game_modules[i]->id == id)
            return wr_game_modules[i]->version;
    return 0;
}

void wr_cmd_encode(struct wr_writer *out, const struct wr_cmd *cmd)
{
    wr_put_u8(out, cmd->module);
    uint8_t version = cmd->version;
    if (version == 0)
        version = cmd->module == WR_MODULE_CORE ? core_type_version(cmd->type)
                                                : module_version(cmd->module);
    wr_put_u8(out, version);
    wr_put_u8(out, cmd->type);
    wr_put_u32(out, cmd->node);
    wr_put_u64(out, cmd->session);
    wr_put_u32(out, cmd->seq);
    wr_put_u16(out, cmd->len);
    wr_put_bytes(out, cmd->payload, cmd->len);
}

int wr_cmd_decode(struct wr_reader *r, struct wr_cmd *cmd, uint8_t entry_version)
{
    cmd->module = wr_get_u8(r);
    cmd->version = entry_version >= 2 ? wr_get_u8(r) : 1;
    cmd->type = wr_get_u8(r);
    cmd->node = wr_get_u32(r);
    cmd->session = wr_get_u64(r);
    cmd->seq = wr_get_u32(r);
    cmd->len = wr_get_u16(r);
    cmd->payload = wr_get_bytes(r, cmd->len);
    if (r->err || cmd->len > WR_CMD_MAX_PAYLOAD || cmd->version == 0)
        return -1;
    return 0;
}

void wr_entry_header(struct wr_writer *out, uint64_t time_ms, uint64_t seed, uint32_t count)
{
    wr_put_u8(out, WR_ENTRY_VERSION);
    wr_put_u64(out, time_ms);
    wr_put_u64(out, seed);
    wr_put_u32(out, count);
}

/* ---- lifecycle ------------------------------------------------------- */

struct wr_world *wr_world_create(const struct wr_world_hooks *hooks)
{
    struct wr_world *w = wr_calloc(1, sizeof *w);
    if (hooks)
        w->hooks = *hooks;
    wr_u64map_init(&w->session_idx);
    for (size_t i = 0; i < wr_game_module_count; i++) {
        const struct wr_module *m = wr_game_modules[i];
        if (m->id == WR_MODULE_CORE || m->id >= WR_MODULE_MAX || w->modules[m->id] != NULL)
        {
            wr_error("world: module %s has a bad or duplicate id %u", m->name, m->id);
            abort();
        }
        w->modules[m->id] = m;
        w->mstate[m->id] = m->create();
    }
    return w;
}

void wr_world_destroy(struct wr_world *w)
{
    if (w == NULL)
        return;
    for (int i = 0; i < WR_MODULE_MAX; i++)
        if (w->modules[i])
            w->modules[i]->destroy(w->mstate[i]);
    free(w->sessions);
    wr_u64map_free(&w->session_idx);
    free(w->reg);
    free(w->marks);
    free(w);
}

static void world_reset(struct wr_world *w)
{
    w->now_ms = 0;
    w->next_prune_ms = 0;
    memset(w->cluster_id, 0, sizeof w->cluster_id);
    w->n_sessions = 0;
    wr_u64map_clear(&w->session_idx);
    w->n_reg = 0;
    w->n_marks = 0;
    w->halted[0] = '\0';
    for (int i = 0; i < WR_MODULE_MAX; i++)
        if (w->modules[i])
            w->modules[i]->reset(w->mstate[i]);
}

void *wr_world_module(struct wr_world *w, uint8_t id)
{
    return id < WR_MODULE_MAX ? w->mstate[id] : NULL;
}

const char *wr_world_halted(const struct wr_world *w)
{
    return w->halted[0] ? w->halted : NULL;
}

const uint8_t *wr_world_cluster_id(const struct wr_world *w)
{
    return w->cluster_id;
}

uint64_t wr_world_now(const struct wr_world *w)
{
    return w->now_ms;
}

/* ---- sessions -------------------------------------------------------- */

static struct session *session_find(const struct wr_world *w, uint64_t key)
{
    uint32_t i;
    if (!wr_u64map_get(&w->session_idx, key, &i))
        return NULL;
    return &w->sessions[i];
}

static struct session *session_add(struct wr_world *w, uint64_t key, uint32_t node)
{
    if (w->n_sessions == w->cap_sessions) {
        w->cap_sessions = w->cap_sessions ? w->cap_sessions * 2 : 64;
        w->sessions = wr_realloc(w->sessions, w->cap_sessions * sizeof *w->sessions);
    }
    struct session *s = &w->sessions[w->n_sessions];
    *s = (struct session){.key = key, .node = node};
    wr_u64map_put(&w->session_idx, key, (uint32_t)w->n_sessions);
    w->n_sessions++;
    return s;
}

static void session_remove_at(struct wr_world *w, size_t i)
{
    wr_u64map_del(&w->session_idx, w->sessions[i].key);
    size_t last = w->n_sessions - 1;
    if (i != last) {
        w->sessions[i] = w->sessions[last];
        wr_u64map_put(&w->session_idx, w->sessions[i].key, (uint32_t)i);
    }
    w->n_sessions--;
}

static void prune_sessions(struct wr_world *w)
{
    if (w->now_ms < w->next_prune_ms)
        return;
    w->next_prune_ms = w->now_ms + PRUNE_EVERY_MS;
    for (size_t i = 0; i < w->n_sessions;) {
        struct session *s = &w->sessions[i];
        if (s->closed_at != 0 && s->closed_at + CLOSED_KEEP_MS <= w->now_ms)
            session_remove_at(w, i);
        else
            i++;
    }
}

bool wr_world_session(const struct wr_world *w, uint64_t key, struct wr_session_info *out)
{
    const struct session *s = session_find(w, key);
    if (s == NULL)
        return false;
    out->key = s->key;
    out->node = s->node;
    out->last_seq = s->last_seq;
    out->open = s->closed_at == 0;
    return true;
}

/* ---- registry -------------------------------------------------------- */

static size_t reg_lower_bound(const struct wr_world *w, const char *name)
{
    size_t lo = 0, hi = w->n_reg;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(w->reg[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const struct wr_reg_entry *wr_world_registry_find(const struct wr_world *w, const char *name)
{
    size_t i = reg_lower_bound(w, name);
    if (i < w->n_reg && strcmp(w->reg[i].name, name) == 0)
        return &w->reg[i];
    return NULL;
}

size_t wr_world_registry_count(const struct wr_world *w)
{
    return w->n_reg;
}

const struct wr_reg_entry *wr_world_registry_at(const struct wr_world *w, size_t i)
{
    return i < w->n_reg ? &w->reg[i] : NULL;
}

void wr_world_registry_each(struct wr_world *w, void (*cb)(void *arg, const struct wr_reg_entry *e),
                            void *arg)
{
    for (size_t i = 0; i < w->n_reg; i++)
        cb(arg, &w->reg[i]);
    for (int i = 0; i < WR_MODULE_MAX; i++)
        if (w->modules[i] != NULL && w->modules[i]->registry != NULL)
            w->modules[i]->registry(w->mstate[i], cb, arg);
}

static struct wr_reg_entry *reg_upsert(struct wr_world *w, const char *name)
{
    size_t i = reg_lower_bound(w, name);
    if (i < w->n_reg && strcmp(w->reg[i].name, name) == 0)
        return &w->reg[i];
    if (w->n_reg == w->cap_reg) {
        w->cap_reg = w->cap_reg ? w->cap_reg * 2 : 16;
        w->reg = wr_realloc(w->reg, w->cap_reg * sizeof *w->reg);
    }
    memmove(&w->reg[i + 1], &w->reg[i], (w->n_reg - i) * sizeof *w->reg);
    w->n_reg++;
    struct wr_reg_entry *e = &w->reg[i];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    return e;
}

/* ---- node marks ------------------------------------------------------ */

static size_t mark_lower_bound(const struct wr_world *w, uint32_t node)
{
    size_t lo = 0, hi = w->n_marks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (w->marks[mid].node < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const struct node_mark *mark_find(const struct wr_world *w, uint32_t node)
{
    size_t i = mark_lower_bound(w, node);
    return i < w->n_marks && w->marks[i].node == node ? &w->marks[i] : NULL;
}

static struct node_mark *mark_upsert(struct wr_world *w, uint32_t node)
{
    size_t i = mark_lower_bound(w, node);
    if (i < w->n_marks && w->marks[i].node == node)
        return &w->marks[i];
    if (w->n_marks == w->cap_marks) {
        w->cap_marks = w->cap_marks ? w->cap_marks * 2 : 8;
        w->marks = wr_realloc(w->marks, w->cap_marks * sizeof *w->marks);
    }
    memmove(&w->marks[i + 1], &w->marks[i], (w->n_marks - i) * sizeof *w->marks);
    w->n_marks++;
    memset(&w->marks[i], 0, sizeof w->marks[i]);
    w->marks[i].node = node;
    return &w->marks[i];
}

/* Drop @m's row if it carries no mark any more (keeps the table canonical). */
static void mark_trim(struct wr_world *w, struct node_mark *m)
{
    if (m->draining || m->telnet[0] != '\0')
        return;
    size_t i = (size_t)(m - w->marks);
    memmove(&w->marks[i], &w->marks[i + 1], (w->n_marks - i - 1) * sizeof *w->marks);
    w->n_marks--;
}

bool wr_world_node_draining(const struct wr_world *w, uint32_t node)
{
    const struct node_mark *m = mark_find(w, node);
    return m != NULL && m->draining;
}

const char *wr_world_node_telnet(const struct wr_world *w, uint32_t node)
{
    const struct node_mark *m = mark_find(w, node);
    return m != NULL ? m->telnet : "";
}

size_t wr_world_draining(const struct wr_world *w, uint32_t *out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < w->n_marks; i++) {
        if (!w->marks[i].draining)
            continue;
        if (k < max)
            out[k] = w->marks[i].node;
        k++;
    }
    return k;
}

static enum wr_verdict apply_core(struct wr_world *w, const struct wr_cmd *cmd)
{
    struct wr_reader r;
    wr_reader_init(&r, cmd->payload, cmd->len);
    switch (cmd->type) {
    case WR_CORE_NODE_INFO: {
        char http[64], name[64];
        if (wr_get_str(&r, http, sizeof http) != 0)
            return WR_MALFORMED;
        uint64_t incarnation = r.left >= 8 ? wr_get_u64(&r) : 0;
        snprintf(name, sizeof name, "node/%u", cmd->node);
        struct wr_reg_entry *e = reg_upsert(w, name);
        e->kind = WR_REG_NODE;
        e->node = cmd->node;
        snprintf(e->http, sizeof e->http, "%s", http);
        /* A new process on that node: the clients of the old one are gone. */
        if (incarnation != 0 && e->epoch != incarnation) {
            e->epoch = incarnation;
            struct wr_apply_ctx ctx = {.world = w, .now_ms = w->now_ms};
            for (int i = 0; i < WR_MODULE_MAX; i++)
                if (w->modules[i] != NULL && w->modules[i]->node_restarted != NULL)
                    w->modules[i]->node_restarted(w->mstate[i], &ctx, cmd->node, incarnation);
        }
        return WR_APPLIED;
    }
    case WR_CORE_PLACE: {
        char name[64];
        if (wr_get_str(&r, name, sizeof name) != 0)
            return WR_MALFORMED;
        uint64_t epoch = wr_get_u64(&r);
        if (r.err)
            return WR_MALFORMED;
        /* Fencing: a placement from an older epoch never overrides a newer. */
        const struct wr_reg_entry *old = wr_world_registry_find(w, name);
        if (old != NULL && old->epoch > epoch)
            return WR_STALE;
        struct wr_reg_entry *e = reg_upsert(w, name);
        e->kind = WR_REG_SINGLETON;
        e->node = cmd->node;
        e->epoch = epoch;
        return WR_APPLIED;
    }
    case WR_CORE_CLUSTER_ID: {
        const uint8_t *id = wr_get_bytes(&r, WR_CLUSTER_ID_LEN);
        if (id == NULL)
            return WR_MALFORMED;
        /* The first id applied is the cluster's for good. */
        static const uint8_t zero[WR_CLUSTER_ID_LEN];
        if (memcmp(w->cluster_id, zero, sizeof zero) == 0)
            memcpy(w->cluster_id, id, WR_CLUSTER_ID_LEN);
        return WR_APPLIED;
    }
    case WR_CORE_DRAIN: {
        uint32_t node = wr_get_u32(&r);
        uint8_t on = wr_get_u8(&r);
        if (r.err || node == 0 || on > 1)
            return WR_MALFORMED;
        struct node_mark *m = mark_upsert(w, node);
        m->draining = on;
        mark_trim(w, m);
        return WR_APPLIED;
    }
    case WR_CORE_NODE_TELNET: {
        char telnet[64];
        if (wr_get_str(&r, telnet, sizeof telnet) != 0 || cmd->node == 0)
            return WR_MALFORMED;
        struct node_mark *m = mark_upsert(w, cmd->node);
        snprintf(m->telnet, sizeof m->telnet, "%s", telnet);
        mark_trim(w, m);
        return WR_APPLIED;
    }
    default:
        return WR_MALFORMED;
    }
}

/* ---- apply ----------------------------------------------------------- */

static enum wr_verdict apply_cmd(struct wr_world *w, const struct wr_cmd *cmd, uint64_t seed)
{
    if (cmd->module == WR_MODULE_CORE)
        return apply_core(w, cmd);
    const struct wr_module *m = w->modules[cmd->module];

    if (cmd->session == 0) {
        /* A node-level command (e.g. arena CONFIG): no session, so no
         * dedup; such commands are idempotent by their own rules. */
        if (m->opens_session(cmd->type))
            return WR_MALFORMED;
        struct wr_apply_ctx ctx = {.world = w, .now_ms = w->now_ms, .seed = seed};
        return m->apply(w->mstate[cmd->module], &ctx, cmd) == WR_SESSION_MALFORMED ? WR_MALFORMED
                                                                                    : WR_APPLIED;
    }
    struct session *s = session_find(w, cmd->session);
    if (s == NULL) {
        if (!m->opens_session(cmd->type) || cmd->seq != 1)
            return WR_STALE;
        s = session_add(w, cmd->session, cmd->node);
    } else if (s->closed_at != 0 || s->node != cmd->node) {
        return WR_STALE;
    } else if (cmd->seq <= s->last_seq) {
        return WR_DUPLICATE;
    } else if (cmd->seq != s->last_seq + 1) {
        return WR_GAP;
    }
    s->last_seq = cmd->seq;
    uint64_t key = s->key; /* s may move: apply can add sessions */

    struct wr_apply_ctx ctx = {.world = w, .now_ms = w->now_ms, .seed = seed};
    enum wr_session_op op = m->apply(w->mstate[cmd->module], &ctx, cmd);
    if (op == WR_SESSION_CLOSE) {
        s = session_find(w, key);
        if (s != NULL)
            s->closed_at = w->now_ms ? w->now_ms : 1;
    }
    return op == WR_SESSION_MALFORMED ? WR_MALFORMED : WR_APPLIED;
}

int wr_world_apply(struct wr_world *w, const void *entry, size_t len)
{
    struct wr_reader r;
    wr_reader_init(&r, entry, len);
    uint8_t version = wr_get_u8(&r);
    uint64_t time_ms = wr_get_u64(&r);
    uint64_t seed = wr_get_u64(&r);
    uint32_t count = wr_get_u32(&r);
    if (w->halted[0] != '\0')
        return WR_APPLY_INCOMPATIBLE;
    if (r.err || version == 0 || version > WR_ENTRY_VERSION) {
        wr_warn("world: skipping malformed entry (%zu bytes, version %u)", len, version);
        return -1;
    }
    /* First, can this binary apply every command? A module we lack or a
     * newer version of one: applying around it would leave this node's
     * state different from the others', so apply nothing and halt. */
    struct wr_reader scan = r;
    for (uint32_t i = 0; i < count; i++) {
        struct wr_cmd cmd;
        if (wr_cmd_decode(&scan, &cmd, version) != 0)
            break; /* malformed: handled below, like any */
        uint8_t have = cmd.module < WR_MODULE_MAX && (cmd.module == WR_MODULE_CORE ||
                                                      w->modules[cmd.module] != NULL)
                           ? module_version(cmd.module)
                           : 0;
        if (have == 0 || cmd.version > have) {
            snprintf(w->halted, sizeof w->halted,
                     "a log entry needs module %u version %u, and this binary has %s%u; "
                     "run the newer binary on this node",
                     cmd.module, cmd.version, have ? "version " : "no such module, version ",
                     have);
            wr_error("world: %s", w->halted);
            return WR_APPLY_INCOMPATIBLE;
        }
    }

    if (time_ms > w->now_ms)
        w->now_ms = time_ms;
    prune_sessions(w);

    for (uint32_t i = 0; i < count; i++) {
        struct wr_cmd cmd;
        if (wr_cmd_decode(&r, &cmd, version) != 0) {
            wr_warn("world: malformed command %u of %u; rest of entry skipped", i, count);
            break;
        }
        uint64_t s = seed ^ ((uint64_t)i * 0xD6E8FEB86659FD93ull);
        uint64_t cmd_seed = wr_mix64(&s);
        enum wr_verdict v = apply_cmd(w, &cmd, cmd_seed);
        if (w->hooks.on_verdict)
            w->hooks.on_verdict(w->hooks.data, &cmd, v);
    }
    return 0;
}

void wr_world_close_session(struct wr_world *w, uint64_t key)
{
    struct session *s = session_find(w, key);
    if (s != NULL && s->closed_at == 0)
        s->closed_at = w->now_ms ? w->now_ms : 1;
}

void wr_world_emit(struct wr_world *w, const struct wr_event *ev)
{
    if (w->hooks.on_event)
        w->hooks.on_event(w->hooks.data, ev);
}

/* ---- snapshot -------------------------------------------------------- */

static int cmp_session(const void *a, const void *b)
{
    uint64_t x = ((const struct session *)a)->key, y = ((const struct session *)b)->key;
    return x < y ? -1 : x > y;
}

void wr_world_snapshot(struct wr_world *w, struct wr_writer *out)
{
    /* The oldest format that holds the state (world.h): 3, which the
     * previous release reads, unless a node carries a mark. */
    uint8_t version = w->n_marks > 0 ? 4 : 3;
    wr_put_u8(out, version);
    wr_put_u64(out, w->now_ms);
    wr_put_u64(out, w->next_prune_ms);
    wr_put_bytes(out, w->cluster_id, WR_CLUSTER_ID_LEN);

    /* Sessions in key order: the array's own order depends on history. */
    struct session *sorted = wr_malloc((w->n_sessions ? w->n_sessions : 1) * sizeof *sorted);
    if (w->n_sessions > 0) /* sessions is NULL until the first one */
        memcpy(sorted, w->sessions, w->n_sessions * sizeof *sorted);
    qsort(sorted, w->n_sessions, sizeof *sorted, cmp_session);
    wr_put_u32(out, (uint32_t)w->n_sessions);
    for (size_t i = 0; i < w->n_sessions; i++) {
        wr_put_u64(out, sorted[i].key);
        wr_put_u32(out, sorted[i].node);
        wr_put_u32(out, sorted[i].last_seq);
        wr_put_u64(out, sorted[i].closed_at);
    }
    free(sorted);

    wr_put_u32(out, (uint32_t)w->n_reg);
    for (size_t i = 0; i < w->n_reg; i++) {
        const struct wr_reg_entry *e = &w->reg[i];
        wr_put_str(out, e->name);
        wr_put_u8(out, e->kind);
        wr_put_u32(out, e->node);
        wr_put_u64(out, e->epoch);
        wr_put_str(out, e->http);
    }
    if (version >= 4) {
        wr_put_u32(out, (uint32_t)w->n_marks);
        for (size_t i = 0; i < w->n_marks; i++) {
            wr_put_u32(out, w->marks[i].node);
            wr_put_u8(out, w->marks[i].draining);
            wr_put_str(out, w->marks[i].telnet);
        }
    }

    uint8_t nsections = 0;
    for (int i = 0; i < WR_MODULE_MAX; i++)
        nsections += w->modules[i] != NULL;
    wr_put_u8(out, nsections);
    for (int i = 0; i < WR_MODULE_MAX; i++) {
        if (w->modules[i] == NULL)
            continue;
        wr_put_str(out, w->modules[i]->name);
        wr_put_u8(out, w->modules[i]->version);
        size_t at = out->len;
        wr_put_u32(out, 0); /* section length, patched below */
        w->modules[i]->snapshot(w->mstate[i], out);
        uint32_t n = (uint32_t)(out->len - at - 4);
        for (int b = 0; b < 4; b++)
            out->base[at + (size_t)b] = (uint8_t)(n >> (8 * b));
    }
}

static int restore_section(struct wr_world *w, const struct wr_module *m, uint8_t version,
                           const uint8_t *p, uint32_t len)
{
    struct wr_reader sr;
    wr_reader_init(&sr, p, len);
    if (m->restore(w->mstate[m->id], &sr, version) != 0 || sr.err || sr.left != 0) {
        wr_error("world: the snapshot's %s section (version %u, %u bytes) is malformed", m->name,
                 version, len);
        return -1;
    }
    return 0;
}

int wr_world_restore(struct wr_world *w, const void *buf, size_t len)
{
    struct wr_reader r;
    wr_reader_init(&r, buf, len);
    world_reset(w);
    uint8_t version = wr_get_u8(&r);
    if (version == 0 || version > WR_SNAPSHOT_VERSION) {
        wr_error("world: snapshot format %u is newer than this binary's (%u); run the newer "
                 "binary on this node",
                 version, WR_SNAPSHOT_VERSION);
        goto malformed;
    }
    w->now_ms = wr_get_u64(&r);
    w->next_prune_ms = wr_get_u64(&r);
    if (version >= 3) {
        const uint8_t *id = wr_get_bytes(&r, WR_CLUSTER_ID_LEN);
        if (id == NULL)
            goto malformed;
        memcpy(w->cluster_id, id, WR_CLUSTER_ID_LEN);
    }
    uint32_t n = wr_get_u32(&r);
    if (r.err || n > r.left / 24)
        goto malformed;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key = wr_get_u64(&r);
        uint32_t node = wr_get_u32(&r);
        if (key == 0 || session_find(w, key))
            goto malformed;
        struct session *s = session_add(w, key, node);
        s->last_seq = wr_get_u32(&r);
        s->closed_at = wr_get_u64(&r);
    }
    n = wr_get_u32(&r);
    if (r.err || n > r.left / 15)
        goto malformed;
    for (uint32_t i = 0; i < n; i++) {
        char name[64];
        if (wr_get_str(&r, name, sizeof name) != 0)
            goto malformed;
        struct wr_reg_entry *e = reg_upsert(w, name);
        e->kind = wr_get_u8(&r);
        e->node = wr_get_u32(&r);
        e->epoch = wr_get_u64(&r);
        if (wr_get_str(&r, e->http, sizeof e->http) != 0)
            goto malformed;
    }
    if (version >= 4) {
        n = wr_get_u32(&r);
        if (r.err || n > r.left / 6)
            goto malformed;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t node = wr_get_u32(&r);
            uint8_t draining = wr_get_u8(&r);
            char telnet[64];
            /* strictly increasing ids, and no empty row: canonical */
            if (r.err || node == 0 || draining > 1 ||
                (w->n_marks > 0 && w->marks[w->n_marks - 1].node >= node) ||
                wr_get_str(&r, telnet, sizeof telnet) != 0 || (!draining && telnet[0] == '\0'))
                goto malformed;
            struct node_mark *m = mark_upsert(w, node);
            m->draining = draining;
            snprintf(m->telnet, sizeof m->telnet, "%s", telnet);
        }
    }
    if (version == 1) {
        /* Format 1: the modules of that time, by id, in id order. */
        for (int i = 0; i < WR_MODULE_MAX && r.left > 0; i++) {
            if (w->modules[i] == NULL)
                continue;
            uint8_t id = wr_get_u8(&r);
            uint32_t slen = wr_get_u32(&r);
            const uint8_t *p = wr_get_bytes(&r, slen);
            if (p == NULL || id != i || restore_section(w, w->modules[i], 1, p, slen) != 0)
                goto malformed;
        }
    } else {
        uint8_t nsections = wr_get_u8(&r);
        for (uint8_t k = 0; k < nsections && !r.err; k++) {
            char name[64];
            if (wr_get_str(&r, name, sizeof name) != 0)
                goto malformed;
            uint8_t mversion = wr_get_u8(&r);
            uint32_t slen = wr_get_u32(&r);
            const uint8_t *p = wr_get_bytes(&r, slen);
            const struct wr_module *m = NULL;
            for (int i = 0; i < WR_MODULE_MAX && m == NULL; i++)
                if (w->modules[i] != NULL && strcmp(w->modules[i]->name, name) == 0)
                    m = w->modules[i];
            if (m == NULL || mversion == 0 || mversion > m->version) {
                wr_error("world: the snapshot holds module %s version %u, which this binary %s; "
                         "run the newer binary on this node",
                         name, mversion, m ? "has only in an older version" : "does not have");
                goto malformed;
            }
            if (p == NULL || restore_section(w, m, mversion, p, slen) != 0)
                goto malformed;
        }
    }
    if (r.err || r.left != 0)
        goto malformed;
    return 0;

malformed:
    wr_error("world: snapshot of %zu bytes is malformed; state reset to empty", len);
    world_reset(w);
    return -1;
}

void wr_world_hash_bytes(const void *snapshot, size_t len, char out[17])
{
    uint8_t h[crypto_generichash_BYTES_MIN]; /* 16: the smallest BLAKE2b output */
    crypto_generichash(h, sizeof h, snapshot, len, NULL, 0);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

void wr_world_hash(struct wr_world *w, char out[17])
{
    struct wr_writer buf;
    wr_writer_init(&buf, 4096);
    wr_world_snapshot(w, &buf);
    wr_world_hash_bytes(buf.base, buf.len, out);
    wr_writer_free(&buf);
}
