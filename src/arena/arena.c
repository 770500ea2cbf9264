/* The arena module; see arena.h.
 *
 * Invariants (checked by arena_check in debug builds and by the unit tests):
 * - players[] holds count players; by_session and by_id map every player's
 *   session and id to its index and nothing else;
 * - grid[y * width + x] == id for each player, and every other cell is 0;
 * - ids are never reused: next_id is above every id ever handed out. */
#include "arena/arena.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/u64map.h"


struct wr_arena {
    uint16_t width, height;
    uint32_t next_id;
    struct wr_arena_player *players;
    size_t count, cap;
    struct wr_u64map by_session;
    struct wr_u64map by_id;
    struct wr_u64map by_token; /* first 8 bytes of the token hash -> index */
    uint32_t *grid;
};

static uint64_t token_key(const uint8_t hash[WR_TOKEN_HASH_BYTES])
{
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k |= (uint64_t)hash[i] << (8 * i);
    return k;
}

bool wr_arena_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > WR_ARENA_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static void *arena_create(void)
{
    struct wr_arena *a = wr_calloc(1, sizeof *a);
    wr_u64map_init(&a->by_session);
    wr_u64map_init(&a->by_id);
    wr_u64map_init(&a->by_token);
    a->next_id = 1;
    return a;
}

static void arena_reset(void *state)
{
    struct wr_arena *a = state;
    free(a->grid);
    a->grid = NULL;
    a->width = a->height = 0;
    a->next_id = 1;
    a->count = 0;
    wr_u64map_clear(&a->by_session);
    wr_u64map_clear(&a->by_id);
    wr_u64map_clear(&a->by_token);
}

static void arena_destroy(void *state)
{
    struct wr_arena *a = state;
    free(a->grid);
    free(a->players);
    wr_u64map_free(&a->by_session);
    wr_u64map_free(&a->by_id);
    wr_u64map_free(&a->by_token);
    free(a);
}

static bool arena_opens_session(uint8_t type)
{
    return type == WR_ARENA_JOIN || type == WR_ARENA_RESUME;
}

static void arena_check(const struct wr_arena *a)
{
#ifndef NDEBUG
    size_t occupied = 0;
    for (size_t c = 0; a->grid && c < (size_t)a->width * a->height; c++)
        occupied += a->grid[c] != 0;
    assert(occupied == a->count);
    assert(a->by_session.len == a->count && a->by_id.len == a->count);
#else
    (void)a;
#endif
}

static void configure(struct wr_arena *a, uint16_t w, uint16_t h)
{
    a->width = w;
    a->height = h;
    free(a->grid);
    a->grid = wr_calloc((size_t)w * h, sizeof *a->grid);
}

static struct wr_arena_player *add_player(struct wr_arena *a)
{
    if (a->count == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->players = wr_realloc(a->players, a->cap * sizeof *a->players);
    }
    struct wr_arena_player *p = &a->players[a->count++];
    memset(p, 0, sizeof *p);
    return p;
}

static void index_player(struct wr_arena *a, size_t i)
{
    const struct wr_arena_player *p = &a->players[i];
    wr_u64map_put(&a->by_session, p->session, (uint32_t)i);
    wr_u64map_put(&a->by_id, p->id, (uint32_t)i);
    if (token_key(p->token_hash) != 0)
        wr_u64map_put(&a->by_token, token_key(p->token_hash), (uint32_t)i);
    a->grid[(size_t)p->y * a->width + p->x] = p->id;
}

static void remove_player(struct wr_arena *a, size_t i)
{
    struct wr_arena_player *p = &a->players[i];
    a->grid[(size_t)p->y * a->width + p->x] = 0;
    wr_u64map_del(&a->by_session, p->session);
    wr_u64map_del(&a->by_id, p->id);
    wr_u64map_del(&a->by_token, token_key(p->token_hash));
    size_t last = a->count - 1;
    if (i != last) {
        a->players[i] = a->players[last];
        index_player(a, i);
    }
    a->count--;
}

static void emit(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd, uint8_t type,
                 const void *data)
{
    struct wr_event ev = {
        .module = WR_MODULE_ARENA,
        .type = type,
        .audience = cmd->session != 0 ? WR_AUD_SESSION : WR_AUD_ALL,
        .node = cmd->node,
        .session = cmd->session,
        .data = data,
    };
    wr_world_emit(ctx->world, &ev);
}

static enum wr_session_op refuse(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd,
                                 const char *code, const char *msg)
{
    struct wr_arena_refusal r = {.code = code, .msg = msg};
    emit(ctx, cmd, WR_ARENA_EV_REFUSED, &r);
    return WR_SESSION_CLOSE;
}

static enum wr_session_op apply_join(struct wr_arena *a, const struct wr_apply_ctx *ctx,
                                     const struct wr_cmd *cmd, struct wr_reader *r)
{
    /* The session already has a player (a later seq of an open session): a
     * second player, or a refusal closing the session under the first one,
     * would break the session <-> player invariant. A node never sends this. */
    if (wr_u64map_get(&a->by_session, cmd->session, NULL))
        return WR_SESSION_KEEP;
    char name[WR_ARENA_NAME_MAX + 1];
    if (wr_get_str(r, name, sizeof name) != 0 || !wr_arena_name_ok(name, strlen(name)))
        return refuse(ctx, cmd, "bad_name", "name must be 1-16 of A-Z a-z 0-9 _ -");
    if (a->width == 0)
        return refuse(ctx, cmd, "unavailable", "the arena is not configured yet");
    uint8_t hash[WR_TOKEN_HASH_BYTES] = {0};
    uint64_t incarnation = 0;
    if (r->left >= WR_TOKEN_HASH_BYTES + 8) {
        memcpy(hash, wr_get_bytes(r, WR_TOKEN_HASH_BYTES), WR_TOKEN_HASH_BYTES);
        incarnation = wr_get_u64(r);
    }
    if (wr_arena_by_name(a, name) != NULL)
        return refuse(ctx, cmd, "name_taken", "a player with that name is in the arena");
    if (token_key(hash) != 0 && wr_u64map_get(&a->by_token, token_key(hash), NULL))
        return refuse(ctx, cmd, "unavailable", "token collision; join again");
    size_t cells = (size_t)a->width * a->height;
    if (a->count >= cells)
        return refuse(ctx, cmd, "arena_full", "every cell of the arena is taken");
    /* Ids are never reused; next_id must not wrap to 0 (the empty cell). */
    if (a->next_id == UINT32_MAX)
        return refuse(ctx, cmd, "arena_full", "no player ids are left");

    uint64_t rng = ctx->seed;
    size_t c = (size_t)(wr_mix64(&rng) % cells);
    while (a->grid[c] != 0)
        c = (c + 1) % cells;

    struct wr_arena_player *p = add_player(a);
    p->id = a->next_id++;
    p->node = cmd->node;
    p->session = cmd->session;
    p->x = (uint16_t)(c % a->width);
    p->y = (uint16_t)(c / a->width);
    p->connected = true;
    p->incarnation = incarnation;
    memcpy(p->token_hash, hash, sizeof hash);
    memcpy(p->name, name, sizeof name);
    index_player(a, a->count - 1);
    arena_check(a);
    emit(ctx, cmd, WR_ARENA_EV_JOINED, p);
    return WR_SESSION_KEEP;
}

static enum wr_session_op apply_move(struct wr_arena *a, const struct wr_apply_ctx *ctx,
                                     const struct wr_cmd *cmd, struct wr_reader *r)
{
    uint8_t dir = wr_get_u8(r);
    uint32_t client_seq = wr_get_u32(r);
    uint32_t i;
    if (r->err || dir > WR_DIR_RIGHT || !wr_u64map_get(&a->by_session, cmd->session, &i))
        return WR_SESSION_KEEP; /* nothing to move; a node never sends this */
    struct wr_arena_player *p = &a->players[i];
    int x = p->x, y = p->y;
    switch (dir) {
    case WR_DIR_UP: y--; break;
    case WR_DIR_DOWN: y++; break;
    case WR_DIR_LEFT: x--; break;
    default: x++; break;
    }
    if (x >= 0 && y >= 0 && x < a->width && y < a->height &&
        a->grid[(size_t)y * a->width + (size_t)x] == 0) {
        a->grid[(size_t)p->y * a->width + p->x] = 0;
        p->x = (uint16_t)x;
        p->y = (uint16_t)y;
        a->grid[(size_t)y * a->width + (size_t)x] = p->id;
    }
    p->seq = client_seq;
    bool was_connected = p->connected;
    p->connected = true; /* it just spoke through its session */
    emit(ctx, cmd, was_connected ? WR_ARENA_EV_MOVED : WR_ARENA_EV_CHANGED, p);
    return WR_SESSION_KEEP;
}

static void disconnect(const struct wr_apply_ctx *ctx, const struct wr_cmd *cmd,
                       struct wr_arena_player *p)
{
    if (!p->connected)
        return;
    p->connected = false;
    p->disconnected_at = ctx->now_ms;
    struct wr_cmd about = *cmd;
    about.node = p->node;
    about.session = p->session;
    emit(ctx, &about, WR_ARENA_EV_CHANGED, p);
}

static enum wr_session_op apply_resume(struct wr_arena *a, const struct wr_apply_ctx *ctx,
                                       const struct wr_cmd *cmd, struct wr_reader *r)
{
    /* A session holds at most one player: a resume on a session that
     * already has one is a repeat (a node never sends it). */
    if (wr_u64map_get(&a->by_session, cmd->session, NULL))
        return WR_SESSION_KEEP;
    const uint8_t *hash = wr_get_bytes(r, WR_TOKEN_HASH_BYTES);
    uint64_t incarnation = wr_get_u64(r);
    const struct wr_arena_player *found = hash ? wr_arena_by_token(a, hash) : NULL;
    if (r->err || found == NULL)
        return refuse(ctx, cmd, "bad_token", "no player holds that token (expired or left)");
    uint32_t i;
    wr_u64map_get(&a->by_id, found->id, &i);
    struct wr_arena_player *p = &a->players[i];
    wr_world_close_session(ctx->world, p->session);
    wr_u64map_del(&a->by_session, p->session);
    p->session = cmd->session;
    p->node = cmd->node;
    p->incarnation = incarnation;
    p->connected = true;
    p->disconnected_at = 0;
    wr_u64map_put(&a->by_session, p->session, i);
    emit(ctx, cmd, WR_ARENA_EV_RESUMED, p);
    return WR_SESSION_KEEP;
}

void wr_arena_node_restarted(struct wr_arena *a, const struct wr_apply_ctx *ctx, uint32_t node,
                             uint64_t incarnation)
{
    struct wr_cmd none = {.module = WR_MODULE_ARENA};
    for (size_t i = 0; i < a->count; i++) {
        struct wr_arena_player *p = &a->players[i];
        if (p->node == node && p->incarnation != incarnation)
            disconnect(ctx, &none, p);
    }
}

static enum wr_session_op arena_apply(void *state, const struct wr_apply_ctx *ctx,
                                      const struct wr_cmd *cmd)
{
    struct wr_arena *a = state;
    struct wr_reader r;
    wr_reader_init(&r, cmd->payload, cmd->len);
    switch (cmd->type) {
    case WR_ARENA_CONFIG: {
        uint16_t w = wr_get_u16(&r), h = wr_get_u16(&r);
        if (!r.err && a->width == 0 && w >= 2 && h >= 2 && w <= WR_ARENA_MAX_SIDE &&
            h <= WR_ARENA_MAX_SIDE)
            configure(a, w, h);
        return WR_SESSION_KEEP;
    }
    case WR_ARENA_JOIN:
        return apply_join(a, ctx, cmd, &r);
    case WR_ARENA_MOVE:
        return apply_move(a, ctx, cmd, &r);
    case WR_ARENA_RESUME:
        return apply_resume(a, ctx, cmd, &r);
    case WR_ARENA_DISCONNECT: {
        uint32_t i;
        if (wr_u64map_get(&a->by_session, cmd->session, &i))
            disconnect(ctx, cmd, &a->players[i]);
        return WR_SESSION_KEEP;
    }
    case WR_ARENA_PRESENT: {
        uint32_t i;
        if (wr_u64map_get(&a->by_session, cmd->session, &i) && !a->players[i].connected) {
            struct wr_arena_player *p = &a->players[i];
            p->connected = true;
            p->disconnected_at = 0;
            emit(ctx, cmd, WR_ARENA_EV_CHANGED, p);
        }
        return WR_SESSION_KEEP;
    }
    case WR_ARENA_NODE_DOWN: {
        uint32_t node = wr_get_u32(&r);
        for (size_t i = 0; !r.err && i < a->count; i++)
            if (a->players[i].node == node)
                disconnect(ctx, cmd, &a->players[i]);
        return WR_SESSION_KEEP;
    }
    case WR_ARENA_EXPIRE: {
        uint32_t id = wr_get_u32(&r);
        uint64_t since = wr_get_u64(&r);
        uint32_t i;
        if (r.err || !wr_u64map_get(&a->by_id, id, &i))
            return WR_SESSION_KEEP;
        struct wr_arena_player *p = &a->players[i];
        if (p->connected || p->disconnected_at != since)
            return WR_SESSION_KEEP; /* resumed (or re-disconnected) since */
        struct wr_cmd about = *cmd;
        about.node = p->node;
        about.session = p->session;
        emit(ctx, &about, WR_ARENA_EV_LEFT, p);
        wr_world_close_session(ctx->world, p->session);
        remove_player(a, i);
        arena_check(a);
        return WR_SESSION_KEEP;
    }
    case WR_ARENA_LEAVE: {
        uint32_t i;
        if (wr_u64map_get(&a->by_session, cmd->session, &i)) {
            emit(ctx, cmd, WR_ARENA_EV_LEFT, &a->players[i]);
            remove_player(a, i);
            arena_check(a);
        }
        return WR_SESSION_CLOSE;
    }
    default:
        return WR_SESSION_KEEP;
    }
}

static int cmp_id(const void *x, const void *y)
{
    uint32_t a = ((const struct wr_arena_player *)x)->id;
    uint32_t b = ((const struct wr_arena_player *)y)->id;
    return a < b ? -1 : a > b;
}

static void arena_snapshot(void *state, struct wr_writer *w)
{
    struct wr_arena *a = state;
    wr_put_u16(w, a->width);
    wr_put_u16(w, a->height);
    wr_put_u32(w, a->next_id);
    wr_put_u32(w, (uint32_t)a->count);
    struct wr_arena_player *sorted = wr_malloc((a->count ? a->count : 1) * sizeof *sorted);
    if (a->count > 0) /* players is NULL until the first join */
        memcpy(sorted, a->players, a->count * sizeof *sorted);
    qsort(sorted, a->count, sizeof *sorted, cmp_id);
    for (size_t i = 0; i < a->count; i++) {
        const struct wr_arena_player *p = &sorted[i];
        wr_put_u32(w, p->id);
        wr_put_u32(w, p->node);
        wr_put_u64(w, p->session);
        wr_put_u32(w, p->seq);
        wr_put_u16(w, p->x);
        wr_put_u16(w, p->y);
        wr_put_u8(w, p->connected);
        wr_put_u64(w, p->disconnected_at);
        wr_put_u64(w, p->incarnation);
        wr_put_bytes(w, p->token_hash, WR_TOKEN_HASH_BYTES);
        wr_put_str(w, p->name);
    }
    free(sorted);
}

static int arena_restore(void *state, struct wr_reader *r, uint8_t version)
{
    if (version != 1)
        return -1;
    struct wr_arena *a = state;
    arena_reset(a);
    uint16_t w = wr_get_u16(r), h = wr_get_u16(r);
    a->next_id = wr_get_u32(r);
    uint32_t n = wr_get_u32(r);
    /* next_id 0 would hand out id 0, the empty grid cell and map key. */
    if (r->err || w > WR_ARENA_MAX_SIDE || h > WR_ARENA_MAX_SIDE || a->next_id == 0 ||
        n > r->left / 58) /* the smallest encoded player */
        return -1;
    if (w != 0)
        configure(a, w, h);
    for (uint32_t i = 0; i < n; i++) {
        struct wr_arena_player *p = add_player(a);
        p->id = wr_get_u32(r);
        p->node = wr_get_u32(r);
        p->session = wr_get_u64(r);
        p->seq = wr_get_u32(r);
        p->x = wr_get_u16(r);
        p->y = wr_get_u16(r);
        p->connected = wr_get_u8(r) != 0;
        p->disconnected_at = wr_get_u64(r);
        p->incarnation = wr_get_u64(r);
        const uint8_t *hash = wr_get_bytes(r, WR_TOKEN_HASH_BYTES);
        if (hash != NULL)
            memcpy(p->token_hash, hash, WR_TOKEN_HASH_BYTES);
        if (wr_get_str(r, p->name, sizeof p->name) != 0 || r->err || p->x >= a->width ||
            p->y >= a->height || p->id == 0 || p->session == 0 || p->id >= a->next_id ||
            a->grid[(size_t)p->y * a->width + p->x] != 0 ||
            wr_u64map_get(&a->by_session, p->session, NULL) ||
            wr_u64map_get(&a->by_id, p->id, NULL) ||
            (token_key(p->token_hash) != 0 &&
             wr_u64map_get(&a->by_token, token_key(p->token_hash), NULL))) {
            arena_reset(a);
            return -1;
        }
        index_player(a, a->count - 1);
    }
    return 0;
}

static void arena_node_restarted(void *state, const struct wr_apply_ctx *ctx, uint32_t node,
                                 uint64_t incarnation)
{
    wr_arena_node_restarted(state, ctx, node, incarnation);
}

static void arena_registry(void *state, void (*cb)(void *arg, const struct wr_reg_entry *e),
                           void *arg)
{
    const struct wr_arena *a = state;
    for (size_t i = 0; i < a->count; i++) {
        const struct wr_arena_player *p = &a->players[i];
        struct wr_reg_entry e = {.kind = WR_REG_PLAYER, .node = p->node};
        snprintf(e.name, sizeof e.name, "player/%s", p->name);
        snprintf(e.info, sizeof e.info, "arena id %u at %u,%u%s", p->id, p->x, p->y,
                 p->connected ? "" : ", disconnected");
        cb(arg, &e);
    }
}

const struct wr_module wr_arena_module = {
    .id = WR_MODULE_ARENA,
    .name = "arena",
    .version = 1,
    .node_restarted = arena_node_restarted,
    .registry = arena_registry,
    .create = arena_create,
    .destroy = arena_destroy,
    .reset = arena_reset,
    .opens_session = arena_opens_session,
    .apply = arena_apply,
    .snapshot = arena_snapshot,
    .restore = arena_restore,
};

uint16_t wr_arena_width(const struct wr_arena *a)
{
    return a->width;
}
uint16_t wr_arena_height(const struct wr_arena *a)
{
    return a->height;
}
size_t wr_arena_count(const struct wr_arena *a)
{
    return a->count;
}
const struct wr_arena_player *wr_arena_players(const struct wr_arena *a)
{
    return a->players;
}

const struct wr_arena_player *wr_arena_by_session(const struct wr_arena *a, uint64_t session)
{
    uint32_t i;
    return wr_u64map_get(&a->by_session, session, &i) ? &a->players[i] : NULL;
}

const struct wr_arena_player *wr_arena_by_id(const struct wr_arena *a, uint32_t id)
{
    uint32_t i;
    return wr_u64map_get(&a->by_id, id, &i) ? &a->players[i] : NULL;
}

const struct wr_arena_player *wr_arena_by_name(const struct wr_arena *a, const char *name)
{
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->players[i].name, name) == 0)
            return &a->players[i];
    return NULL;
}

const struct wr_arena_player *wr_arena_by_token(const struct wr_arena *a,
                                                const uint8_t hash[WR_TOKEN_HASH_BYTES])
{
    uint32_t i;
    if (token_key(hash) == 0 || !wr_u64map_get(&a->by_token, token_key(hash), &i))
        return NULL;
    const struct wr_arena_player *p = &a->players[i];
    return memcmp(p->token_hash, hash, WR_TOKEN_HASH_BYTES) == 0 ? p : NULL;
}

void wr_arena_encode_join_token(struct wr_writer *out, const char *name,
                                const uint8_t hash[WR_TOKEN_HASH_BYTES], uint64_t incarnation)
{
    wr_put_str(out, name);
    wr_put_bytes(out, hash, WR_TOKEN_HASH_BYTES);
    wr_put_u64(out, incarnation);
}

void wr_arena_encode_resume(struct wr_writer *out, const uint8_t hash[WR_TOKEN_HASH_BYTES],
                            uint64_t incarnation)
{
    wr_put_bytes(out, hash, WR_TOKEN_HASH_BYTES);
    wr_put_u64(out, incarnation);
}

void wr_arena_encode_node_down(struct wr_writer *out, uint32_t node)
{
    wr_put_u32(out, node);
}

void wr_arena_encode_expire(struct wr_writer *out, uint32_t id, uint64_t disconnected_at)
{
    wr_put_u32(out, id);
    wr_put_u64(out, disconnected_at);
}

void wr_arena_encode_config(struct wr_writer *out, uint16_t width, uint16_t height)
{
    wr_put_u16(out, width);
    wr_put_u16(out, height);
}

void wr_arena_encode_join(struct wr_writer *out, const char *name)
{
    wr_put_str(out, name);
}

void wr_arena_encode_move(struct wr_writer *out, enum wr_arena_dir dir, uint32_t client_seq)
{
    wr_put_u8(out, (uint8_t)dir);
    wr_put_u32(out, client_seq);
}
