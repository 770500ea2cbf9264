/* The pure half of `warren ctl`: the wr_ctl_format_* printers and the
 * status verdict turn parsed JSON into aligned text tables on a FILE *, and
 * do no other I/O, so the unit tests drive them on sample documents. Every
 * field a node sent is optional and type-checked, and every string is
 * stripped of terminal control characters before it is printed. */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/bytes.h"
#include "ctl/ctl.h"
#include "ctl/ctl_internal.h"

/* ---- text cleaning and tables ------------------------------------------ */

/* See ctl_internal.h. */
char *wr__ctl_clean(const char *s, size_t len, bool ascii_only)
{
    char *o = wr_malloc(len + 1);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (ascii_only && c >= 0x80)) {
            o[j++] = '?';
        } else if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9f) {
            o[j++] = '?';
            i++;
        } else {
            o[j++] = (char)c;
        }
    }
    o[j] = '\0';
    return o;
}

/* Columns of terminal a cleaned UTF-8 string takes, counting one per code
 * point (wide CJK characters will misalign; good enough for an admin table). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

enum field_type { FIELD_INT, FIELD_STR };

/* The printable text of @obj[@key]: the integer or the cleaned string when
 * it has @type, "-" when missing or null, "?" when of another type.
 * Caller frees. */
static char *field_text(json_t *obj, const char *key, enum field_type type)
{
    json_t *v = json_object_get(obj, key); /* NULL when obj is not an object */
    char num[32];
    if (v == NULL || json_is_null(v))
        return wr_strdup("-");
    if (type == FIELD_INT && json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return wr_strdup(num);
    }
    if (type == FIELD_STR && json_is_string(v))
        return wr__ctl_clean(json_string_value(v), json_string_length(v), false);
    return wr_strdup("?");
}

#define WR_TABLE_MAX_COLS 8

/* Rows of cells filled left to right, printed with aligned columns. */
struct table {
    size_t ncols;
    size_t ncells;
    size_t cap;
    char **cells; /* owned */
};

static void table_init(struct table *t, size_t ncols)
{
    assert(ncols > 0 && ncols <= WR_TABLE_MAX_COLS);
    t->ncols = ncols;
    t->ncells = 0;
    t->cap = 0;
    t->cells = NULL;
}

/* Append @cell, taking ownership of it. */
static void table_take(struct table *t, char *cell)
{
    if (t->ncells == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->cells = wr_realloc(t->cells, t->cap * sizeof *t->cells);
    }
    t->cells[t->ncells++] = cell;
}

static void table_add(struct table *t, const char *text)
{
    table_take(t, wr_strdup(text));
}

static void table_field(struct table *t, json_t *obj, const char *key, enum field_type type)
{
    table_take(t, field_text(obj, key, type));
}

static void table_print(const struct table *t, FILE *out)
{
    size_t width[WR_TABLE_MAX_COLS] = {0};
    for (size_t i = 0; i < t->ncells; i++) {
        size_t w = text_width(t->cells[i]);
        if (w > width[i % t->ncols])
            width[i % t->ncols] = w;
    }
    for (size_t i = 0; i < t->ncells; i++) {
        size_t col = i % t->ncols;
        fputs(t->cells[i], out);
        if (col + 1 == t->ncols || i + 1 == t->ncells) {
            fputc('\n', out);
            continue;
        }
        for (size_t w = text_width(t->cells[i]); w < width[col] + 2; w++)
            fputc(' ', out);
    }
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->ncells = t->cap = 0;
}

/* ---- status ------------------------------------------------------------ */

static bool node_reachable(json_t *node)
{
    return !json_is_false(json_object_get(node, "reachable"));
}

/* The applied index and state hash @node reported, and the index the hash
 * belongs to (*@at), if they have the right types: state_hash_index (the
 * hash is kept per applied index, and trails it while entries keep coming),
 * or applied_index from a node without that field (an older release hashed
 * on every request). Hashes are compared at equal *@at. */
static bool node_progress(json_t *node, json_int_t *applied, json_int_t *at, json_t **hash)
{
    json_t *a = json_object_get(node, "applied_index");
    json_t *h = json_object_get(node, "state_hash_index");
    *hash = json_object_get(node, "state_hash");
    if (!json_is_integer(a) || !json_is_string(*hash))
        return false;
    *applied = json_integer_value(a);
    *at = json_is_integer(h) ? json_integer_value(h) : *applied;
    return true;
}

enum wr_ctl_verdict wr_ctl_status_verdict(json_t *nodes, json_int_t *index)
{
    bool any = false, differ = false, missing = false, diverged = false;
    json_int_t first = 0, max = 0, conflict = 0;
    size_t n = json_array_size(nodes); /* 0 when not an array */
    for (size_t i = 0; i < n; i++) {
        json_t *node = json_array_get(nodes, i), *hash;
        json_int_t a, at;
        if (!node_reachable(node))
            continue;
        if (!node_progress(node, &a, &at, &hash)) {
            missing = true;
            continue;
        }
        if (!any) {
            first = max = a;
            any = true;
        }
        /* a hash not yet taken at the applied index is still catching up */
        differ |= a != first || at != a;
        max = a > max ? a : max;
        for (size_t j = 0; j < i; j++) {
            json_t *other = json_array_get(nodes, j), *ohash;
            json_int_t oa, oat;
            if (node_reachable(other) && node_progress(other, &oa, &oat, &ohash) && oat == at &&
                !json_equal(hash, ohash) && (!diverged || at > conflict)) {
                diverged = true;
                conflict = at;
            }
        }
    }
    enum wr_ctl_verdict v;
    json_int_t at = max;
    if (diverged) {
        v = WR_CTL_DIVERGED;
        at = conflict;
    } else if (!any) {
        v = WR_CTL_UNKNOWN;
    } else if (differ) {
        v = WR_CTL_CATCHING_UP;
    } else {
        v = missing ? WR_CTL_UNKNOWN : WR_CTL_CONSISTENT;
    }
    if (index != NULL)
        *index = at;
    return v;
}

/* @node's cluster or http address (@key): its own top-level field when it
 * has one (rows built for unreachable nodes do), else the entry for its own
 * id in its "nodes" list. Caller frees. */
static char *node_address(json_t *node, const char *key)
{
    if (json_object_get(node, key) != NULL)
        return field_text(node, key, FIELD_STR);
    json_t *id = json_object_get(node, "id"), *entry;
    size_t i;
    json_array_foreach (json_object_get(node, "nodes"), i, entry) {
        if (json_is_integer(id) && json_equal(id, json_object_get(entry, "id")))
            return field_text(entry, key, FIELD_STR);
    }
    return wr_strdup("-");
}

enum wr_ctl_verdict wr_ctl_format_status(FILE *out, json_t *nodes)
{
    static const char *const header[] = {"ID",      "ROLE", "TERM",    "COMMIT",
                                         "APPLIED", "HASH", "ADDRESS", "HTTP"};
    struct table t;
    size_t i, reachable = 0;
    json_t *node;

    table_init(&t, 8);
    for (i = 0; i < 8; i++)
        table_add(&t, header[i]);
    json_array_foreach (nodes, i, node) {
        table_field(&t, node, "id", FIELD_INT);
        if (node_reachable(node)) {
            reachable++;
            table_field(&t, node, "role", FIELD_STR);
            table_field(&t, node, "term", FIELD_INT);
            table_field(&t, node, "commit_index", FIELD_INT);
            table_field(&t, node, "applied_index", FIELD_INT);
            table_field(&t, node, "state_hash", FIELD_STR);
        } else {
            table_add(&t, "unreachable");
            for (int k = 0; k < 4; k++)
                table_add(&t, "-");
        }
        table_take(&t, node_address(node, "address"));
        table_take(&t, node_address(node, "http"));
    }
    table_print(&t, out);
    table_free(&t);

    json_array_foreach (nodes, i, node) {
        json_t *e = json_object_get(node, "error");
        if (json_is_string(e)) {
            char *id = field_text(node, "id", FIELD_INT);
            char *msg = wr__ctl_clean(json_string_value(e), json_string_length(e), false);
            fprintf(out, "node %s: %s\n", id, msg);
            free(msg);
            free(id);
        }
    }

    json_int_t at;
    enum wr_ctl_verdict v = wr_ctl_status_verdict(nodes, &at);
    switch (v) {
    case WR_CTL_CONSISTENT:
        fprintf(out, "state: consistent at index %" JSON_INTEGER_FORMAT "\n", at);
        break;
    case WR_CTL_DIVERGED:
        fprintf(out, "state: DIVERGED at index %" JSON_INTEGER_FORMAT "\n", at);
        break;
    case WR_CTL_CATCHING_UP:
        fprintf(out, "state: nodes at different indexes (catching up)\n");
        break;
    case WR_CTL_UNKNOWN:
        fprintf(out, "state: unknown (%s)\n",
                reachable == 0 ? "no node answered"
                               : "a node did not report its applied index and state hash");
        break;
    }
    return v;
}

/* ---- registry and state ------------------------------------------------ */

static json_t *find_name(json_t *names, const char *name)
{
    size_t i, len = strlen(name);
    json_t *e;
    json_array_foreach (names, i, e) {
        json_t *n = json_object_get(e, "name");
        if (json_is_string(n) && json_string_length(n) == len &&
            memcmp(json_string_value(n), name, len) == 0)
            return e;
    }
    return NULL;
}

json_t *wr_ctl_registry_find(json_t *registry, const char *name)
{
    json_t *names = json_object_get(registry, "names");
    json_t *e = find_name(names, name);
    if (e == NULL && strchr(name, '/') == NULL) {
        size_t n = strlen(name) + sizeof "player/";
        char *alt = wr_malloc(n);
        snprintf(alt, n, "player/%s", name);
        e = find_name(names, alt);
        free(alt);
    }
    return e;
}

/* The http address of node @node (a JSON integer) per the "node/N" entry
 * of @registry, or NULL. Borrowed. */
static json_t *registry_http(json_t *registry, json_t *node)
{
    char name[48];
    if (!json_is_integer(node))
        return NULL;
    snprintf(name, sizeof name, "node/%" JSON_INTEGER_FORMAT, json_integer_value(node));
    json_t *http = json_object_get(find_name(json_object_get(registry, "names"), name), "http");
    return json_is_string(http) ? http : NULL;
}

/* The printable "info" of a registry entry: a string as is, anything else
 * (but null) as compact JSON, both cleaned; NULL when there is none. Caller
 * frees. */
static char *info_text(json_t *entry)
{
    json_t *info = json_object_get(entry, "info");
    if (info == NULL || json_is_null(info))
        return NULL;
    if (json_is_string(info))
        return wr__ctl_clean(json_string_value(info), json_string_length(info), false);
    char *dump = json_dumps(info, JSON_COMPACT | JSON_ENCODE_ANY);
    if (dump == NULL)
        return wr_strdup("?");
    char *text = wr__ctl_clean(dump, strlen(dump), false);
    free(dump);
    return text;
}

static bool kind_is(json_t *entry, const char *kind)
{
    json_t *k = json_object_get(entry, "kind");
    return json_is_string(k) && strcmp(json_string_value(k), kind) == 0;
}

void wr_ctl_format_entry(FILE *out, json_t *entry, json_t *registry)
{
    char *name = field_text(entry, "name", FIELD_STR);
    char *node = field_text(entry, "node", FIELD_INT);
    fprintf(out, "%s: node %s", name, node);

    json_t *http = registry_http(registry, json_object_get(entry, "node"));
    if (http == NULL && json_is_string(json_object_get(entry, "http")))
        http = json_object_get(entry, "http");
    if (http != NULL) {
        char *h = wr__ctl_clean(json_string_value(http), json_string_length(http), false);
        fprintf(out, " (http %s)", h);
        free(h);
    }

    char *detail = NULL;
    if (kind_is(entry, "singleton")) {
        detail = field_text(entry, "epoch", FIELD_INT);
        fprintf(out, ", singleton, epoch %s", detail);
    } else if (kind_is(entry, "player")) {
        detail = field_text(entry, "id", FIELD_INT);
        fprintf(out, ", player id %s", detail);
    } else {
        detail = field_text(entry, "kind", FIELD_STR);
        fprintf(out, ", %s", detail);
        if (json_object_get(entry, "epoch") != NULL) {
            char *epoch = field_text(entry, "epoch", FIELD_INT);
            fprintf(out, ", epoch %s", epoch);
            free(epoch);
        }
    }
    char *info = info_text(entry);
    if (info != NULL)
        fprintf(out, ", %s", info);
    fputc('\n', out);
    free(info);
    free(detail);
    free(node);
    free(name);
}

int wr_ctl_format_registry(FILE *out, json_t *registry)
{
    json_t *names = json_object_get(registry, "names"), *e;
    size_t i;
    struct table t;
    if (!json_is_array(names))
        return -1;
    table_init(&t, 4);
    table_add(&t, "NAME");
    table_add(&t, "KIND");
    table_add(&t, "NODE");
    table_add(&t, "DETAIL");
    json_array_foreach (names, i, e) {
        table_field(&t, e, "name", FIELD_STR);
        table_field(&t, e, "kind", FIELD_STR);
        table_field(&t, e, "node", FIELD_INT);
        const char *label = NULL, *key = NULL;
        enum field_type type = FIELD_INT;
        if (kind_is(e, "singleton")) {
            label = "epoch";
            key = "epoch";
        } else if (kind_is(e, "player")) {
            label = "id";
            key = "id";
        } else if (kind_is(e, "node")) {
            label = "http";
            key = "http";
            type = FIELD_STR;
        } else if (json_object_get(e, "epoch") != NULL) {
            label = "epoch"; /* zones */
            key = "epoch";
        }
        char *cell = NULL, *info = info_text(e);
        if (key != NULL) {
            char *v = field_text(e, key, type);
            size_t n = strlen(label) + strlen(v) + 2;
            cell = wr_malloc(n);
            snprintf(cell, n, "%s %s", label, v);
            free(v);
        }
        if (info != NULL && cell != NULL) {
            size_t n = strlen(cell) + strlen(info) + 3;
            char *both = wr_malloc(n);
            snprintf(both, n, "%s, %s", cell, info);
            free(cell);
            cell = both;
        } else if (info != NULL) {
            cell = info;
            info = NULL;
        }
        table_take(&t, cell != NULL ? cell : wr_strdup("-"));
        free(info);
    }
    table_print(&t, out);
    table_free(&t);
    return (int)json_array_size(names);
}

/* The printable text of @obj[@key] whatever its type: an integer or a
 * string (cleaned) as is, "-" when missing or null, "?" otherwise. */
static char *field_any(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return field_text(obj, key, json_is_string(v) ? FIELD_STR : FIELD_INT);
}

/* The strings of array @a joined with ", " (cleaned; "?" for other
 * elements), "-" when empty or missing. Caller frees. */
static char *join_strings(json_t *a)
{
    if (!json_is_array(a) || json_array_size(a) == 0)
        return wr_strdup(json_is_array(a) || a == NULL || json_is_null(a) ? "-" : "?");
    struct wr_writer w;
    wr_writer_init(&w, 64);
    size_t i;
    json_t *v;
    json_array_foreach (a, i, v) {
        if (i > 0)
            wr_put_bytes(&w, ", ", 2);
        char *t = json_is_string(v)
                      ? wr__ctl_clean(json_string_value(v), json_string_length(v), false)
                      : wr_strdup("?");
        wr_put_bytes(&w, t, strlen(t));
        free(t);
    }
    wr_put_u8(&w, 0);
    size_t len;
    return (char *)wr_writer_take(&w, &len);
}

int wr_ctl_format_mud(FILE *out, json_t *mud)
{
    if (!json_is_object(mud))
        return -1;
    json_t *world = json_object_get(mud, "world");
    char *name = field_text(world, "name", FIELD_STR);
    char *version = field_any(world, "version");
    char *hash = field_text(world, "hash", FIELD_STR);
    char *zones = field_text(world, "zones", FIELD_INT);
    char *rooms = field_text(world, "rooms", FIELD_INT);
    size_t nplayers = json_array_size(json_object_get(mud, "players"));
    size_t nnpcs = json_array_size(json_object_get(mud, "npcs"));
    fprintf(out, "world %s, version %s, hash %s, %s zones, %s rooms, %zu player%s, %zu NPC%s\n",
            name, version, hash, zones, rooms, nplayers, nplayers == 1 ? "" : "s", nnpcs,
            nnpcs == 1 ? "" : "s");
    free(hash);
    free(rooms);
    free(zones);
    free(version);
    free(name);

    size_t i;
    json_t *e;
    struct table t;
    json_t *list = json_object_get(mud, "zones");
    if (json_array_size(list) > 0) {
        static const char *const header[] = {"ZONE",  "NAME", "OWNER",  "EPOCH",
                                             "ROOMS", "NPCS", "PLAYERS"};
        static const char *const keys[] = {"key",   "name", "owner",  "epoch",
                                           "rooms", "npcs", "players"};
        fputc('\n', out);
        table_init(&t, 7);
        for (size_t k = 0; k < 7; k++)
            table_add(&t, header[k]);
        json_array_foreach (list, i, e) {
            for (size_t k = 0; k < 7; k++)
                table_field(&t, e, keys[k], k < 2 ? FIELD_STR : FIELD_INT);
        }
        table_print(&t, out);
        table_free(&t);
    }

    list = json_object_get(mud, "nodes");
    if (json_array_size(list) > 0) {
        fputc('\n', out);
        table_init(&t, 3);
        table_add(&t, "NODE");
        table_add(&t, "ZONES");
        table_add(&t, "PLAYERS");
        json_array_foreach (list, i, e) {
            table_field(&t, e, "id", FIELD_INT);
            table_take(&t, join_strings(json_object_get(e, "zones")));
            table_field(&t, e, "players", FIELD_INT);
        }
        table_print(&t, out);
        table_free(&t);
    }

    list = json_object_get(mud, "players");
    if (nplayers > 0) {
        static const char *const header[] = {"PLAYER", "ROOM", "ZONE", "NODE", "STATE"};
        static const char *const keys[] = {"name", "room", "zone", "node", "state"};
        fputc('\n', out);
        table_init(&t, 5);
        for (size_t k = 0; k < 5; k++)
            table_add(&t, header[k]);
        json_array_foreach (list, i, e) {
            for (size_t k = 0; k < 5; k++)
                table_field(&t, e, keys[k], k == 3 ? FIELD_INT : FIELD_STR);
        }
        table_print(&t, out);
        table_free(&t);
    }
    return 0;
}

int wr_ctl_format_state(FILE *out, json_t *state)
{
    static const char *const header[] = {"ID", "NAME", "X", "Y", "SEQ", "NODE"};
    static const char *const keys[] = {"id", "name", "x", "y", "seq", "node"};
    json_t *players = json_object_get(state, "players"), *p;
    char *w = field_text(state, "width", FIELD_INT);
    char *h = field_text(state, "height", FIELD_INT);
    char *applied = field_text(state, "applied_index", FIELD_INT);
    char *hash = field_text(state, "state_hash", FIELD_STR);
    size_t i, count = json_array_size(players);
    char num[32] = "-";
    if (json_is_array(players))
        snprintf(num, sizeof num, "%zu", count);
    /* The hash belongs to state_hash_index, which trails the applied index
     * while entries keep coming (docs/api.md). */
    json_t *hi = json_object_get(state, "state_hash_index");
    json_t *ai = json_object_get(state, "applied_index");
    char hash_at[48] = "";
    if (json_is_integer(hi) && !(json_is_integer(ai) && json_equal(hi, ai)))
        snprintf(hash_at, sizeof hash_at, " (of index %lld)", (long long)json_integer_value(hi));
    fprintf(out, "arena %sx%s, %s player%s, applied index %s, state hash %s%s\n", w, h, num,
            count == 1 ? "" : "s", applied, hash, hash_at);
    free(hash);
    free(applied);
    free(h);
    free(w);
    if (count == 0)
        return 0;

    struct table t;
    table_init(&t, 6);
    for (i = 0; i < 6; i++)
        table_add(&t, header[i]);
    json_array_foreach (players, i, p) {
        for (size_t k = 0; k < 6; k++)
            table_field(&t, p, keys[k], k == 1 ? FIELD_STR : FIELD_INT);
    }
    table_print(&t, out);
    table_free(&t);
    return (int)count;
}
