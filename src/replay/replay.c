/* `warren replay`; see replay.h.
 *
 * The state machine needs nothing from a node to apply entries: a world
 * created without hooks drops its events and verdicts (world.h: both hooks
 * may be NULL), so the same wr_world_apply the node's FSM calls runs here
 * unchanged. What replay must get right is which entries the node's state
 * machine saw: libraft hands the FSM only RAFT_COMMAND entries, after the
 * snapshot it restored, in index order, and so does wr_replay_apply. */
#include "replay/replay.h"

#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "arena/arena.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/parse.h"
#include "games.h"
#include "mud/mud.h"

/* ---- applying ------------------------------------------------------- */

uint64_t wr_replay_last_index(const struct wr_raft_log *log)
{
    uint64_t last = log->has_snapshot ? log->snapshot_index : 0;
    if (log->n_entries > 0 && log->first_index + log->n_entries - 1 > last)
        last = log->first_index + log->n_entries - 1;
    return last;
}

int wr_replay_apply(struct wr_world *w, const struct wr_raft_log *log, uint64_t to,
                    uint64_t *reached, FILE *trace, char *err, size_t errlen)
{
    uint64_t last = wr_replay_last_index(log);
    uint64_t base = log->has_snapshot ? log->snapshot_index : 0;
    if (to == UINT64_MAX)
        to = last;
    if (to > last) {
        snprintf(err, errlen,
                 "index %" PRIu64
                 " is past the end of the log: the last entry is at index %" PRIu64,
                 to, last);
        return -1;
    }
    if (to < base) {
        snprintf(err, errlen,
                 "index %" PRIu64 " is before the snapshot at index %" PRIu64
                 ": a snapshot replaces the entries before it, so replay cannot rewind past it "
                 "(the earliest index it can rebuild is %" PRIu64 ")",
                 to, base, base);
        return -1;
    }
    if (to > base && (log->n_entries == 0 || log->first_index > base + 1)) {
        snprintf(err, errlen, "entries %" PRIu64 "..%" PRIu64 " are missing from the log", base + 1,
                 log->n_entries == 0 ? to : log->first_index - 1);
        return -1;
    }
    if (log->has_snapshot && wr_world_restore(w, log->snapshot, log->snapshot_len) != 0) {
        snprintf(err, errlen,
                 "the snapshot at index %" PRIu64 " cannot be restored by this binary (the "
                 "reason is logged above)",
                 base);
        return -1;
    }
    for (size_t i = 0; i < log->n_entries; i++) {
        const struct wr_raft_log_entry *e = &log->entries[i];
        if (e->index <= base)
            continue; /* kept behind the snapshot for lagging followers */
        if (e->index > to)
            break;
        if (trace != NULL)
            wr_replay_print_entry(trace, e);
        if (e->kind != WR_ENTRY_COMMAND)
            continue;
        /* A malformed entry (-1) is skipped with a warning, as on a node. */
        if (wr_world_apply(w, e->data, e->len) == WR_APPLY_INCOMPATIBLE) {
            snprintf(err, errlen, "entry %" PRIu64 ": %s", e->index, wr_world_halted(w));
            return -1;
        }
    }
    *reached = to;
    return 0;
}

/* ---- --entries ------------------------------------------------------ */

static const char *module_name(uint8_t id, char *buf, size_t len)
{
    if (id == WR_MODULE_CORE)
        return "core";
    for (size_t i = 0; i < wr_game_module_count; i++)
        if (wr_game_modules[i]->id == id)
            return wr_game_modules[i]->name;
    snprintf(buf, len, "module%u", id);
    return buf;
}

static void print_command(FILE *out, const struct wr_cmd *cmd)
{
    char name[16], digest[17] = "";
    uint8_t h[crypto_generichash_BYTES_MIN];
    crypto_generichash(h, sizeof h, cmd->payload, cmd->len, NULL, 0);
    for (int i = 0; i < 8; i++)
        snprintf(digest + 2 * i, 3, "%02x", h[i]);
    fprintf(out,
            "  %s.%u node %" PRIu32 " session %016" PRIx64 " seq %" PRIu32 " len %u payload %s\n",
            module_name(cmd->module, name, sizeof name), cmd->type, cmd->node, cmd->session,
            cmd->seq, cmd->len, digest);
}

void wr_replay_print_entry(FILE *out, const struct wr_raft_log_entry *e)
{
    fprintf(out, "entry %" PRIu64 " term %" PRIu64, e->index, e->term);
    if (e->kind != WR_ENTRY_COMMAND) {
        fprintf(out, " %s\n", e->kind == WR_ENTRY_BARRIER ? "barrier" : "change");
        return;
    }
    struct wr_reader r;
    wr_reader_init(&r, e->data, e->len);
    uint8_t version = wr_get_u8(&r);
    uint64_t time_ms = wr_get_u64(&r);
    uint64_t seed = wr_get_u64(&r);
    uint32_t count = wr_get_u32(&r);
    if (r.err || version == 0 || version > WR_ENTRY_VERSION) {
        fprintf(out, " command (malformed: %zu bytes, version %u)\n", e->len, version);
        return;
    }
    fprintf(out, " command time %" PRIu64 " seed %016" PRIx64 " commands %" PRIu32 "\n", time_ms,
            seed, count);
    for (uint32_t i = 0; i < count; i++) {
        struct wr_cmd cmd;
        if (wr_cmd_decode(&r, &cmd, version) != 0) {
            fprintf(out, "  (malformed command %" PRIu32 " of %" PRIu32 ")\n", i + 1, count);
            return;
        }
        print_command(out, &cmd);
    }
}

/* ---- --dump --------------------------------------------------------- */

static const char *const reg_kinds[] = {"?", "node", "singleton", "player", "zone", "npc"};

static json_t *dump_registry(struct wr_world *w)
{
    json_t *out = json_array();
    for (size_t i = 0; i < wr_world_registry_count(w); i++) {
        const struct wr_reg_entry *e = wr_world_registry_at(w, i);
        json_array_append_new(
            out,
            json_pack("{s:s, s:s, s:I, s:I, s:s}", "name", e->name, "kind",
                      e->kind < sizeof reg_kinds / sizeof *reg_kinds ? reg_kinds[e->kind] : "?",
                      "node", (json_int_t)e->node, "epoch", (json_int_t)e->epoch, "http", e->http));
    }
    return out;
}

static json_t *room_json(const struct wr_mud_model *mo, uint32_t room)
{
    return room < mo->n_rooms ? json_string(mo->rooms[room].key) : json_null();
}

/* The read-only queries list in no particular order: sort by id. */
struct by_id {
    uint32_t id;
    size_t at;
};

static int cmp_by_id(const void *a, const void *b)
{
    uint32_t x = ((const struct by_id *)a)->id, y = ((const struct by_id *)b)->id;
    return x < y ? -1 : x > y;
}

static struct by_id *sorted(size_t n, uint32_t (*id_at)(const struct wr_mud *, size_t),
                            const struct wr_mud *m)
{
    struct by_id *v = wr_malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (struct by_id){id_at(m, i), i};
    qsort(v, n, sizeof *v, cmp_by_id);
    return v;
}

static uint32_t char_id(const struct wr_mud *m, size_t i)
{
    return wr_mud_char_at(m, i)->id;
}

static uint32_t npc_id(const struct wr_mud *m, size_t i)
{
    return wr_mud_npc_at(m, i)->id;
}

static uint32_t item_id(const struct wr_mud *m, size_t i)
{
    return wr_mud_item_at(m, i)->id;
}

static const char *state_name(enum wr_mud_char_state s)
{
    return s == WR_MUD_ONLINE ? "online" : s == WR_MUD_LINKDEAD ? "linkdead" : "offline";
}

static json_t *dump_chars(const struct wr_mud *m, const struct wr_mud_model *mo, uint64_t now)
{
    json_t *out = json_array();
    size_t n = wr_mud_char_count(m);
    struct by_id *v = sorted(n, char_id, m);
    for (size_t k = 0; k < n; k++) {
        const struct wr_mud_char *c = wr_mud_char_at(m, v[k].at);
        json_array_append_new(
            out,
            json_pack(
                "{s:I, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "id", (json_int_t)c->id,
                "name", c->name, "state", state_name(c->state), "room",
                c->state == WR_MUD_OFFLINE ? json_null() : room_json(mo, c->room), "node",
                (json_int_t)c->node, "role", (json_int_t)c->role, "level", (json_int_t)c->level,
                "xp", (json_int_t)c->xp, "hp", (json_int_t)c->f.pool[WR_POOL_HP], "max_hp",
                (json_int_t)wr_mud_char_max(m, c, WR_POOL_HP, now), "gold", (json_int_t)c->gold));
    }
    free(v);
    return out;
}

static json_t *dump_npcs(const struct wr_mud *m, const struct wr_mud_model *mo)
{
    json_t *out = json_array();
    size_t n = wr_mud_npc_count(m);
    struct by_id *v = sorted(n, npc_id, m);
    for (size_t k = 0; k < n; k++) {
        const struct wr_mud_npc_inst *ni = wr_mud_npc_at(m, v[k].at);
        if (ni->npc >= mo->n_npcs)
            continue;
        json_array_append_new(
            out, json_pack("{s:I, s:s, s:s, s:o, s:I}", "id", (json_int_t)ni->id, "key",
                           mo->npcs[ni->npc].key, "name", mo->npcs[ni->npc].name, "room",
                           room_json(mo, ni->room), "hp", (json_int_t)ni->f.pool[WR_POOL_HP]));
    }
    free(v);
    return out;
}

static json_t *item_where(const struct wr_mud *m, const struct wr_mud_model *mo,
                          const struct wr_mud_item_inst *it)
{
    if (it->loc == WR_MUD_IN_ROOM)
        return room_json(mo, it->where);
    if (it->loc == WR_MUD_IN_CORPSE)
        return json_integer((json_int_t)it->where);
    const struct wr_mud_char *c = wr_mud_char_by_id(m, it->where);
    return c != NULL ? json_string(c->name) : json_null();
}

static json_t *dump_items(const struct wr_mud *m, const struct wr_mud_model *mo)
{
    static const char *const locs[] = {"room", "carried", "worn", "corpse"};
    json_t *out = json_array();
    size_t n = wr_mud_item_count(m);
    struct by_id *v = sorted(n, item_id, m);
    for (size_t k = 0; k < n; k++) {
        const struct wr_mud_item_inst *it = wr_mud_item_at(m, v[k].at);
        bool corpse = it->item == WR_MUD_CORPSE;
        if (!corpse && it->item >= mo->n_items)
            continue;
        json_array_append_new(out, json_pack("{s:I, s:s, s:s, s:s, s:o}", "id", (json_int_t)it->id,
                                             "key", corpse ? "corpse" : mo->items[it->item].key,
                                             "name", corpse ? it->label : mo->items[it->item].name,
                                             "loc", it->loc < 4 ? locs[it->loc] : "?", "where",
                                             item_where(m, mo, it)));
    }
    free(v);
    return out;
}

static json_t *dump_mud(struct wr_world *w)
{
    const struct wr_mud *m = wr_world_module(w, WR_MODULE_MUD);
    const struct wr_mud_model *mo = m != NULL ? wr_mud_model(m) : NULL;
    if (mo == NULL)
        return json_pack("{s:n}", "world");
    char version[33];
    sodium_bin2hex(version, sizeof version, wr_mud_world_hash(m), 16);
    json_t *zones = json_array();
    for (size_t z = 0; z < mo->n_zones; z++) {
        const struct wr_mud_zone_state *zs = wr_mud_zone_state(m, (uint32_t)z);
        json_array_append_new(zones, json_pack("{s:s, s:I, s:I, s:b}", "key", mo->zones[z].key,
                                               "owner", (json_int_t)zs->owner, "epoch",
                                               (json_int_t)zs->epoch, "paused", zs->paused));
    }
    return json_pack("{s:{s:s, s:s, s:I, s:I}, s:o, s:o, s:o, s:o}", "world", "name",
                     mo->name ? mo->name : "", "version", version, "zones", (json_int_t)mo->n_zones,
                     "rooms", (json_int_t)mo->n_rooms, "zones", zones, "characters",
                     dump_chars(m, mo, wr_world_now(w)), "npcs", dump_npcs(m, mo), "items",
                     dump_items(m, mo));
}

static int cmp_player(const void *a, const void *b)
{
    uint32_t x = (*(const struct wr_arena_player *const *)a)->id;
    uint32_t y = (*(const struct wr_arena_player *const *)b)->id;
    return x < y ? -1 : x > y;
}

static json_t *dump_arena(struct wr_world *w)
{
    const struct wr_arena *a = wr_world_module(w, WR_MODULE_ARENA);
    if (a == NULL)
        return json_null();
    size_t n = wr_arena_count(a);
    const struct wr_arena_player *all = wr_arena_players(a);
    const struct wr_arena_player **v = wr_malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = &all[i];
    qsort(v, n, sizeof *v, cmp_player);
    json_t *players = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            players, json_pack("{s:I, s:s, s:I, s:I, s:b, s:I}", "id", (json_int_t)v[i]->id, "name",
                               v[i]->name, "x", (json_int_t)v[i]->x, "y", (json_int_t)v[i]->y,
                               "connected", v[i]->connected, "node", (json_int_t)v[i]->node));
    free(v);
    return json_pack("{s:I, s:I, s:o}", "width", (json_int_t)wr_arena_width(a), "height",
                     (json_int_t)wr_arena_height(a), "players", players);
}

json_t *wr_replay_dump(struct wr_world *w, uint64_t index, const char *hash)
{
    return json_pack("{s:I, s:s, s:I, s:o, s:o, s:o}", "index", (json_int_t)index, "hash", hash,
                     "log_time_ms", (json_int_t)wr_world_now(w), "registry", dump_registry(w),
                     "mud", dump_mud(w), "arena", dump_arena(w));
}

/* ---- the command ---------------------------------------------------- */

static void usage(FILE *out)
{
    fputs("usage: warren replay --data DIR [--to INDEX] [--dump | --entries]\n"
          "\n"
          "Rebuild a node's state offline from its data directory, the way the node's\n"
          "state machine built it: the latest snapshot, then every command entry after it\n"
          "in log order. Stop the node first (replay refuses a directory a running node\n"
          "holds); DIR itself is only read.\n"
          "\n"
          "Options:\n"
          "  --data DIR     the node's data directory (what its --data names)\n"
          "  --to INDEX     stop after log index INDEX (default: the last entry on disk,\n"
          "                 which may not be committed yet). Compare with a node's\n"
          "                 applied_index: both count libraft's log, barriers included.\n"
          "                 INDEX must not be before the directory's snapshot, which\n"
          "                 replaces the entries before it.\n"
          "  --dump         print the state as JSON instead: index, hash, the registry,\n"
          "                 the MUD (world, zones, characters, NPCs, items) and the arena\n"
          "  --entries      list every entry applied (index, term, kind; for commands the\n"
          "                 log time, seed and each command) before the last line\n"
          "  -h, --help     print this help and exit\n"
          "\n"
          "Output: one line \"index N hash HEX\": the index reached and the state hash,\n"
          "the same hash /api/cluster reports as state_hash at that applied_index.\n"
          "\n"
          "Exit status: 0 ok; 1 the directory cannot be read or replayed (the message\n"
          "says why, e.g. --to past the last entry, with its index); 2 usage error.\n",
          out);
}

struct opts {
    const char *dir;
    uint64_t to;
    bool dump, entries;
};

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "warren replay: %s%s\ntry 'warren replay --help'\n", msg, arg ? arg : "");
    return -1;
}

/* Returns 0 to run, 1 after --help, -1 on a usage error (printed). */
static int parse_args(struct opts *o, int argc, char **argv)
{
    *o = (struct opts){.to = UINT64_MAX};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(a, "--dump") == 0) {
            o->dump = true;
            continue;
        }
        if (strcmp(a, "--entries") == 0) {
            o->entries = true;
            continue;
        }
        const char *value = NULL;
        size_t flen = strcspn(a, "=");
        bool is_data = strncmp(a, "--data", flen) == 0 && flen == 6;
        bool is_to = strncmp(a, "--to", flen) == 0 && flen == 4;
        if (!is_data && !is_to)
            return usage_error("unknown argument ", a);
        if (a[flen] == '=')
            value = a + flen + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        else
            return usage_error(is_data ? "--data needs a directory" : "--to needs an index", NULL);
        if (is_data) {
            o->dir = value;
        } else {
            long v;
            if (wr_parse_long(value, 0, LONG_MAX, &v) != 0)
                return usage_error("--to: not a log index: ", value);
            o->to = (uint64_t)v;
        }
    }
    if (o->dir == NULL || o->dir[0] == '\0')
        return usage_error("--data DIR is required (the node's data directory)", NULL);
    if (o->dump && o->entries)
        return usage_error("--dump and --entries do not go together", NULL);
    return 0;
}

int wr_replay_main(int argc, char **argv)
{
    struct opts o;
    int rv = parse_args(&o, argc, argv);
    if (rv != 0)
        return rv > 0 ? 0 : 2;
    wr_log_init();
    if (sodium_init() < 0) {
        fprintf(stderr, "warren replay: libsodium failed to initialise\n");
        return 1;
    }
    char err[4096 + 512];
    struct wr_raft_log *log;
    if (wr_raft_load_offline(o.dir, &log, err, sizeof err) != 0) {
        fprintf(stderr, "warren replay: %s\n", err);
        return 1;
    }
    /* No hooks: no node, so events and verdicts go nowhere. */
    struct wr_world *w = wr_world_create(NULL);
    uint64_t reached = 0;
    int code = 0;
    if (wr_replay_apply(w, log, o.to, &reached, o.entries ? stdout : NULL, err, sizeof err) != 0) {
        fprintf(stderr, "warren replay: %s: %s\n", o.dir, err);
        code = 1;
        goto out;
    }
    char hash[17];
    wr_world_hash(w, hash);
    if (o.dump) {
        json_t *dump = wr_replay_dump(w, reached, hash);
        char *text = dump != NULL ? json_dumps(dump, JSON_INDENT(2)) : NULL;
        json_decref(dump);
        if (text == NULL) {
            fprintf(stderr, "warren replay: could not encode the state as JSON\n");
            code = 1;
            goto out;
        }
        printf("%s\n", text);
        free(text);
    } else {
        printf("index %" PRIu64 " hash %s\n", reached, hash);
    }
out:
    wr_world_destroy(w);
    wr_raft_log_free(log);
    return code;
}
