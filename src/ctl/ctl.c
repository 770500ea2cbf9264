/* `warren ctl`, the admin CLI; see ctl.h. This file is its I/O half:
 * argument parsing, --help and the commands, which fetch JSON with the HTTP
 * client (ctl_http.c) and print it with the formatters (ctl_format.c).
 *
 * Everything a node sends is untrusted: the HTTP layer has hard limits (head
 * size, response size, timeouts, a whole-answer deadline), every JSON field is
 * optional and type-checked before use, and every string is stripped of
 * terminal control characters before it is printed (player names are chosen
 * by players, and an admin's terminal should not run their escape codes). */
#include <ctype.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/alloc.h"
#include "common/bytes.h"
#include "ctl/ctl.h"
#include "ctl/ctl_internal.h"
#include "local/local.h"
#include "mud/mud.h"
#include "mud/mud_build.h"
#include "mud/worldfile.h"

/* ---- commands ---------------------------------------------------------- */

void wr_ctl_usage(FILE *out)
{
    fputs("usage: warren ctl [--node IP:PORT] [--admin-token-file FILE] [--json] COMMAND [ARGS]\n"
          "\n"
          "Ask a Warren node's HTTP admin API about the cluster.\n"
          "\n"
          "Options:\n"
          "  --node IP:PORT  the node to ask (default: $WARREN_NODE, else " WR_CTL_DEFAULT_NODE
          ")\n"
          "  --admin-token-file FILE\n"
          "                  the admin token to send (the file the nodes' --admin-token-file\n"
          "                  names); default: $WARREN_ADMIN_TOKEN_FILE, else\n"
          "                  " WR_LOCAL_DEFAULT_DIR "/admin-token when it exists (made by\n"
          "                  `warren cluster up`). Needed by world load, world export and\n"
          "                  role and the membership commands, and by every command on nodes\n"
          "                  run with --admin-reads token\n"
          "  --json          print JSON instead of a table\n"
          "  --force         world export: write into DIR even if it is not empty\n"
          "  -h, --help      print this help and exit\n"
          "\n"
          "Commands:\n"
          "  status          every node's id, role, term, commit index, applied index,\n"
          "                  state hash, cluster address and http address, each as that\n"
          "                  node sees itself; unreachable nodes get a row of dashes.\n"
          "                  The last line says whether the nodes agree:\n"
          "                    state: consistent at index N\n"
          "                    state: nodes at different indexes (catching up)\n"
          "                    state: DIVERGED at index N  (different hashes of one index:\n"
          "                                                 each node's state_hash_index)\n"
          "                  --json: an array of each node's /api/cluster answer plus\n"
          "                  \"reachable\" (and \"error\" when it is false)\n"
          "  whereis NAME    which node NAME lives on (if NAME has no '/' and is not\n"
          "                  registered, player/NAME), with its epoch and info when it\n"
          "                  has them, e.g. whereis zone/town; --json: the registry entry\n"
          "  registered      every registered name (kinds node, singleton, player, zone,\n"
          "                  npc): NAME KIND NODE DETAIL; --json: the array of entries\n"
          "  state           the arena and its players: ID NAME X Y SEQ NODE;\n"
          "                  --json: the node's /api/state answer as is\n"
          "  mud             the MUD: its world (name, version, hash, zones, rooms),\n"
          "                  each zone with its owner node, epoch and counts, each\n"
          "                  node's zones and players, every player; --json: the\n"
          "                  /api/mud answer as is\n"
          "  world load DIR  read DIR/**/*.yaml into a world bundle and POST it to the\n"
          "                  node (/api/mud/world), which validates it and proposes it to\n"
          "                  the cluster; prints the new world's version, or the node's\n"
          "                  \"FILE:LINE:COLUMN: ...\" error (exit 1); --json: the answer.\n"
          "                  The node accepts it only from a loopback address.\n"
          "  world check DIR read DIR/**/*.yaml and validate it here, as every node\n"
          "                  would (no node is asked): prints the world's counts and\n"
          "                  hash, or the first \"FILE:LINE:COLUMN: ...\" error (exit 1)\n"
          "  world export DIR\n"
          "                  write the world the node runs, in canonical form, as YAML\n"
          "                  files under DIR (world.yaml and zones/ZONE.yaml; DIR is\n"
          "                  created, and must be empty unless --force), from GET\n"
          "                  /api/mud/world/export; prints the world's hash, which\n"
          "                  `world load DIR` keeps (the version changes: other bytes).\n"
          "                  --json: {\"hash\", \"version\", \"dir\", \"files\": [paths]}.\n"
          "                  The node answers only a loopback address.\n"
          "  role NAME [ROLE] the MUD character NAME's role; with ROLE (player, builder or\n"
          "                  admin) set it: the node proposes the change, and ctl waits\n"
          "                  (up to 5 s) until the node has applied it, then prints\n"
          "                  \"NAME is a builder now.\" Builders may change the world\n"
          "                  live (dig, redit...), admins also teleport, force and pause\n"
          "                  zones (docs/mud.md). Loopback only; --json: the answer.\n",
          out);
    fputs("  add-node ID IP:PORT\n"
          "                  add node ID with cluster address IP:PORT as a non-voter\n"
          "                  (POST /api/cluster/nodes); then start it with an empty\n"
          "                  --data and --join; the leader makes it a voter once it has\n"
          "                  caught up. (A node started with --join asks for this\n"
          "                  itself.) Refused: an id already used with another address,\n"
          "                  an address already used by another node\n"
          "  remove-node ID  remove node ID from the cluster (POST /api/cluster/remove);\n"
          "                  the leader hands its leadership over first if ID leads. The\n"
          "                  removed node closes its clients (they reconnect to another\n"
          "                  node) and exits. Refused: an unknown id, the last voter\n"
          "  transfer-leader [ID]\n"
          "                  hand the leadership to voter ID, or to the most caught-up\n"
          "                  voter (POST /api/cluster/transfer); prints the new leader.\n"
          "                  The membership commands need the admin token; sent to a node\n"
          "                  that is not the leader, they follow its 307 to the leader.\n"
          "  drain ID [--wait S]\n"
          "                  mark node ID draining (POST /api/cluster/drain): it hands its\n"
          "                  leadership, zones and singletons to other nodes, refuses new\n"
          "                  clients and sends its clients elsewhere (they resume there);\n"
          "                  then waits up to S seconds (default 60; 0: do not wait) until\n"
          "                  the node reports drained, printing what it still holds.\n"
          "                  Refused: an unknown id, the last voter not draining\n"
          "  undrain ID [--wait S]\n"
          "                  clear node ID's drain mark (POST /api/cluster/undrain): it takes\n"
          "                  clients again and gets zones as load dictates; waits (default\n"
          "                  10 s) until the leader shows the mark gone.\n"
          "                  Both need the admin token and follow a 307 to the leader.\n"
          "\n"
          "Connecting and each wait for an answer time out after 2 s.\n"
          "\n"
          "Exit status: 0 ok; 1 error (node unreachable or answering an error or bad\n"
          "JSON, NAME not registered, world rejected or unreadable, export not\n"
          "written, no such character, role change not applied in time, membership\n"
          "change refused, node not drained in time); 2 usage error; 3 status found nodes DIVERGED.\n",
          out);
}

static int cmp_strs(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b); /* bytewise */
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("warren ctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\ntry 'warren ctl --help'\n", stderr);
    return WR_CTL_EXIT_USAGE;
}

/* GET @path from @node and parse its 200 answer as a JSON object. Returns
 * the document (caller decrefs) and, if @raw is not NULL, the body (caller
 * frees); or NULL with the reason in @err. */
static json_t *fetch_json(const char *node, const char *path, char **raw, char *err, size_t errlen)
{
    int status;
    char *body;
    json_error_t je;
    if (wr_ctl_http_get(node, path, &status, &body, err, errlen) != 0)
        return NULL;
    if (status != 200) {
        size_t len = strlen(body);
        while (len > 0 && isspace((unsigned char)body[len - 1]))
            len--;
        bool cut = len > 300;
        char *text = wr__ctl_clean(body, cut ? 300 : len, true);
        snprintf(err, errlen, "node %s answered %d%s%s%s", node, status, len ? ": " : "", text,
                 cut ? "..." : "");
        free(text);
        free(body);
        return NULL;
    }
    json_t *doc = json_loads(body, 0, &je);
    if (doc == NULL || !json_is_object(doc)) {
        char *text = wr__ctl_clean(je.text, strlen(je.text), true);
        if (doc == NULL)
            snprintf(err, errlen, "node %s sent invalid JSON for %s: %s (line %d, column %d)", node,
                     path, text, je.line, je.column);
        else
            snprintf(err, errlen, "node %s sent unexpected JSON for %s: not an object", node, path);
        free(text);
        json_decref(doc);
        free(body);
        return NULL;
    }
    if (raw != NULL)
        *raw = body;
    else
        free(body);
    return doc;
}

/* The row for listed node @entry that could not be asked: its id and
 * addresses from the listing, "reachable": false and the reason. */
static json_t *unreachable_row(json_t *entry, const char *why)
{
    static const char *const keys[] = {"id", "address", "http"};
    json_t *row = json_object();
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(entry, keys[i]);
        if (v != NULL)
            json_object_set(row, keys[i], v);
    }
    json_object_set_new(row, "reachable", json_false());
    json_object_set_new(row, "error", json_string(why));
    return row;
}

static int cmd_status(const char *node, bool as_json)
{
    char err[512];
    json_t *seed = fetch_json(node, "/api/cluster", NULL, err, sizeof err);
    if (seed == NULL) {
        fprintf(stderr, "warren ctl: %s\n", err);
        return WR_CTL_EXIT_ERROR;
    }
    json_object_set_new(seed, "reachable", json_true());

    /* The seed answers for itself; every other listed node is asked for its
     * own view, one after the other (an unreachable one costs at most the
     * connect timeout). */
    json_t *rows = json_array(), *seed_id = json_object_get(seed, "id"), *entry;
    bool seed_listed = false;
    size_t i;
    json_array_foreach (json_object_get(seed, "nodes"), i, entry) {
        json_t *id = json_object_get(entry, "id");
        json_t *http = json_object_get(entry, "http");
        json_t *row;
        if (json_is_integer(id) && json_equal(id, seed_id)) {
            seed_listed = true;
            row = json_incref(seed);
        } else if (!json_is_string(http)) {
            row = unreachable_row(entry, "no http address registered");
        } else if ((row = fetch_json(json_string_value(http), "/api/cluster", NULL, err,
                                     sizeof err)) != NULL) {
            json_object_set_new(row, "reachable", json_true());
        } else {
            row = unreachable_row(entry, err);
        }
        json_array_append_new(rows, row);
    }
    if (!seed_listed)
        json_array_insert(rows, 0, seed);

    enum wr_ctl_verdict v;
    if (as_json) {
        v = wr_ctl_status_verdict(rows, NULL);
        json_dumpf(rows, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        v = wr_ctl_format_status(stdout, rows);
    }
    json_decref(rows);
    json_decref(seed);
    return v == WR_CTL_DIVERGED ? WR_CTL_EXIT_DIVERGED : WR_CTL_EXIT_OK;
}

static int cmd_whereis(const char *node, const char *name, bool as_json)
{
    char err[512];
    json_t *reg = fetch_json(node, "/api/registry", NULL, err, sizeof err);
    if (reg == NULL) {
        fprintf(stderr, "warren ctl: %s\n", err);
        return WR_CTL_EXIT_ERROR;
    }
    int rc = WR_CTL_EXIT_OK;
    json_t *e = wr_ctl_registry_find(reg, name);
    if (e == NULL) {
        fprintf(stderr, "warren ctl: %s is not registered\n", name);
        rc = WR_CTL_EXIT_ERROR;
    } else if (as_json) {
        json_dumpf(e, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        wr_ctl_format_entry(stdout, e, reg);
    }
    json_decref(reg);
    return rc;
}

static int cmd_registered(const char *node, bool as_json)
{
    char err[512];
    json_t *reg = fetch_json(node, "/api/registry", NULL, err, sizeof err);
    if (reg == NULL) {
        fprintf(stderr, "warren ctl: %s\n", err);
        return WR_CTL_EXIT_ERROR;
    }
    int rc = WR_CTL_EXIT_OK;
    json_t *names = json_object_get(reg, "names");
    if (!json_is_array(names)) {
        fprintf(stderr, "warren ctl: node %s sent /api/registry without a \"names\" array\n", node);
        rc = WR_CTL_EXIT_ERROR;
    } else if (as_json) {
        json_dumpf(names, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        wr_ctl_format_registry(stdout, reg);
    }
    json_decref(reg);
    return rc;
}

/* Print @raw (a JSON body) on stdout, ending with a newline. */
static void print_raw(const char *raw)
{
    size_t len = strlen(raw);
    fputs(raw, stdout);
    if (len == 0 || raw[len - 1] != '\n')
        fputc('\n', stdout);
}

static int cmd_mud(const char *node, bool as_json)
{
    char err[512];
    char *raw;
    json_t *mud = fetch_json(node, "/api/mud", &raw, err, sizeof err);
    if (mud == NULL) {
        fprintf(stderr, "warren ctl: %s\n", err);
        return WR_CTL_EXIT_ERROR;
    }
    if (as_json)
        print_raw(raw);
    else
        wr_ctl_format_mud(stdout, mud);
    free(raw);
    json_decref(mud);
    return WR_CTL_EXIT_OK;
}

/* Print @o (a reference taken) as the JSON answer of a command. */
static void print_json(json_t *o)
{
    json_dumpf(o, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(o);
}

/* `world check DIR`: what `world load DIR` would send, parsed here as
 * every node would parse it; no node is asked. */
static int cmd_world_check(const char *dir, bool as_json)
{
    char err[512];
    struct wr_writer bundle, exp;
    wr_writer_init(&bundle, 0);
    wr_writer_init(&exp, 0);
    struct wr_mud_model *m = NULL;
    int rc = WR_CTL_EXIT_ERROR;
    bool read = wr_mud_bundle_read_dir(dir, &bundle, err, sizeof err) == 0;
    if (!read || wr_mud_model_parse(bundle.base, bundle.len, &m, err, sizeof err) != 0 ||
        wr_mud_model_export(m, &exp, err, sizeof err) != 0) {
        if (as_json)
            print_json(json_pack("{s:b, s:s}", "ok", 0, "error", err));
        else if (!read) /* the message names the directory already */
            fprintf(stderr, "warren ctl: %s\n", err);
        else
            fprintf(stderr, "warren ctl: %s: %s\n", dir, err);
        goto out;
    }
    uint8_t h[16];
    char hex[33];
    crypto_generichash(h, sizeof h, exp.base, exp.len, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    if (as_json)
        print_json(json_pack(
            "{s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "ok", 1, "name", m->name,
            "hash", hex, "zones", (json_int_t)m->n_zones, "rooms", (json_int_t)m->n_rooms,
            "items", (json_int_t)m->n_items, "npcs", (json_int_t)m->n_npcs, "skills",
            (json_int_t)m->n_skills, "shops", (json_int_t)m->n_shops, "quests",
            (json_int_t)m->n_quests));
    else
        printf("%s: world \"%s\" is valid: %zu zones, %zu rooms, %zu items, %zu NPCs, %zu "
               "skills, %zu shops, %zu quests; hash %s\n",
               dir, m->name, m->n_zones, m->n_rooms, m->n_items, m->n_npcs, m->n_skills,
               m->n_shops, m->n_quests, hex);
    rc = WR_CTL_EXIT_OK;
out:
    wr_mud_model_free(m);
    wr_writer_free(&bundle);
    wr_writer_free(&exp);
    return rc;
}

static int cmd_world_load(const char *node, const char *dir, bool as_json)
{
    char err[512];
    struct wr_writer bundle;
    wr_writer_init(&bundle, 0);
    int rc = WR_CTL_EXIT_ERROR, status;
    char *body = NULL;
    json_t *doc = NULL;
    if (wr_mud_bundle_read_dir(dir, &bundle, err, sizeof err) != 0) {
        fprintf(stderr, "warren ctl: %s\n", err);
        goto out;
    }
    if (wr_ctl_http_request(node, "POST", "/api/mud/world", "application/octet-stream", bundle.base,
                            bundle.len, &status, &body, err, sizeof err) != 0) {
        fprintf(stderr, "warren ctl: %s\n", err);
        goto out;
    }
    doc = json_loads(body, 0, NULL);
    json_t *version = json_object_get(doc, "version");
    json_t *error = json_object_get(doc, "error");
    if (status == 200 && json_is_string(version)) {
        if (as_json) {
            print_raw(body);
        } else {
            char *v = wr__ctl_clean(json_string_value(version), json_string_length(version), false);
            printf("world loaded from %s (%zu bytes): version %s\n", dir, bundle.len, v);
            free(v);
        }
        rc = WR_CTL_EXIT_OK;
    } else if (status == 400 && json_is_string(error)) {
        if (as_json)
            print_raw(body);
        char *e = wr__ctl_clean(json_string_value(error), json_string_length(error), false);
        fprintf(stderr, "warren ctl: node %s rejected the world in %s: %s\n", node, dir, e);
        free(e);
    } else {
        size_t len = strlen(body);
        while (len > 0 && isspace((unsigned char)body[len - 1]))
            len--;
        bool cut = len > 300;
        char *text = wr__ctl_clean(body, cut ? 300 : len, true);
        fprintf(stderr, "warren ctl: node %s answered %d to POST /api/mud/world%s%s%s\n", node,
                status, len ? ": " : "", text, cut ? "..." : "");
        free(text);
    }
out:
    json_decref(doc);
    free(body);
    wr_writer_free(&bundle);
    return rc;
}

/* The export answer's files as a bundle (sorted by path, as bundles are),
 * checked against the answer's hash so that what is written is what the
 * node exported. Returns 0, or -1 with the reason in @err. */
static int export_bundle(json_t *doc, struct wr_writer *bundle, char *err, size_t errlen)
{
    json_t *files = json_object_get(doc, "files"), *hash = json_object_get(doc, "hash");
    if (!json_is_object(files) || !json_is_string(hash) || json_string_length(hash) != 32) {
        snprintf(err, errlen, "the answer has no \"files\" object or no 32-digit \"hash\"");
        return -1;
    }
    size_t n = json_object_size(files), i = 0;
    if (n == 0 || n > WR_MUD_BUNDLE_MAX_FILES) {
        snprintf(err, errlen, "the answer has %zu files (1 to %d expected)", n,
                 WR_MUD_BUNDLE_MAX_FILES);
        return -1;
    }
    const char **names = wr_malloc(n * sizeof *names), *key;
    json_t *v;
    int rv = 0;
    json_object_foreach (files, key, v)
        names[i++] = key;
    qsort(names, n, sizeof *names, cmp_strs);
    wr_put_bytes(bundle, WR_MUD_BUNDLE_MAGIC, 8);
    wr_put_u32(bundle, (uint32_t)n);
    for (i = 0; i < n && rv == 0; i++) {
        v = json_object_get(files, names[i]);
        size_t nl = strlen(names[i]), fl = json_string_length(v);
        if (!json_is_string(v) || nl > WR_MUD_BUNDLE_MAX_NAME ||
            bundle->len + 8 + nl + fl > WR_MUD_BUNDLE_MAX) {
            char *shown = wr__ctl_clean(names[i], nl > 100 ? 100 : nl, true);
            snprintf(err, errlen, "file %s in the answer is not a string, or too large", shown);
            free(shown);
            rv = -1;
            break;
        }
        wr_put_u32(bundle, (uint32_t)nl);
        wr_put_bytes(bundle, names[i], nl);
        wr_put_u32(bundle, (uint32_t)fl);
        wr_put_bytes(bundle, json_string_value(v), fl);
    }
    free(names);
    if (rv != 0)
        return -1;
    uint8_t h[16];
    char hex[33];
    crypto_generichash(h, sizeof h, bundle->base, bundle->len, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    if (strcmp(hex, json_string_value(hash)) != 0) {
        char *shown = wr__ctl_clean(json_string_value(hash), 32, true);
        snprintf(err, errlen, "the files do not match the hash the node sent (%s, got %s)", shown,
                 hex);
        free(shown);
        return -1;
    }
    return 0;
}

static int cmd_world_export(const char *node, const char *dir, bool force, bool as_json)
{
    char err[512];
    struct wr_writer bundle, back;
    wr_writer_init(&bundle, 64 * 1024);
    wr_writer_init(&back, 0);
    int rc = WR_CTL_EXIT_ERROR;
    json_t *doc = fetch_json(node, "/api/mud/world/export", NULL, err, sizeof err);
    if (doc == NULL) {
        fprintf(stderr, "warren ctl: %s\n", err);
        goto out;
    }
    if (export_bundle(doc, &bundle, err, sizeof err) != 0) {
        fprintf(stderr, "warren ctl: node %s sent a bad export: %s\n", node, err);
        goto out;
    }
    if (wr_mud_bundle_write_dir(dir, bundle.base, bundle.len, force, err, sizeof err) != 0) {
        fprintf(stderr, "warren ctl: %s\n", err);
        goto out;
    }
    /* Read it back as `world load DIR` will: with --force, other .yaml
     * files already in DIR would be loaded too. */
    if (wr_mud_bundle_read_dir(dir, &back, err, sizeof err) != 0) {
        fprintf(stderr, "warren ctl: the export was written, but reading it back failed: %s\n",
                err);
        goto out;
    }
    if (back.len != bundle.len || memcmp(back.base, bundle.base, back.len) != 0) {
        fprintf(stderr,
                "warren ctl: the export was written, but %s holds other .yaml files, which "
                "`warren ctl world load %s` would load too; remove them, or export into an "
                "empty directory\n",
                dir, dir);
        goto out;
    }
    json_t *hash = json_object_get(doc, "hash"), *version = json_object_get(doc, "version");
    json_t *files = json_object_get(doc, "files");
    if (as_json) {
        json_t *names = json_array(), *v;
        const char *key;
        json_object_foreach (files, key, v)
            json_array_append_new(names, json_string(key));
        json_t *o = json_pack("{s:O, s:O?, s:s, s:o}", "hash", hash, "version", version, "dir", dir,
                              "files", names);
        json_dumpf(o, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("world exported to %s (%zu files, %zu bytes): hash %s\n", dir,
               json_object_size(files), bundle.len, json_string_value(hash));
    }
    rc = WR_CTL_EXIT_OK;
out:
    json_decref(doc);
    wr_writer_free(&back);
    wr_writer_free(&bundle);
    return rc;
}

/* The node's answer to a role request: its JSON object, or NULL with the
 * reason printed (a 4xx/5xx error message, or what the HTTP layer said). */
static json_t *role_answer(const char *node, const char *method, const char *name,
                           const char *role, int *status)
{
    char err[512], path[96], req[160];
    char *body = NULL;
    int rc;
    if (role == NULL) {
        snprintf(path, sizeof path, "/api/mud/role?name=%s", name);
        rc = wr_ctl_http_get(node, path, status, &body, err, sizeof err);
    } else {
        snprintf(req, sizeof req, "{\"name\": \"%s\", \"role\": \"%s\"}", name, role);
        rc = wr_ctl_http_request(node, method, "/api/mud/role", "application/json", req,
                                 strlen(req), status, &body, err, sizeof err);
    }
    if (rc != 0) {
        fprintf(stderr, "warren ctl: %s\n", err);
        return NULL;
    }
    json_t *doc = json_loads(body, 0, NULL);
    json_t *error = json_object_get(doc, "error");
    if ((*status == 200 || *status == 202) && json_is_string(json_object_get(doc, "role"))) {
        free(body);
        return doc;
    }
    if (json_is_string(error)) {
        char *e = wr__ctl_clean(json_string_value(error), json_string_length(error), false);
        fprintf(stderr, "warren ctl: node %s: %s\n", node, e);
        free(e);
    } else {
        char *text = wr__ctl_clean(body, strlen(body) > 300 ? 300 : strlen(body), true);
        fprintf(stderr, "warren ctl: node %s answered %d to %s /api/mud/role: %s\n", node, *status,
                method, text);
        free(text);
    }
    json_decref(doc);
    free(body);
    return NULL;
}

static void print_role(json_t *doc, const char *suffix)
{
    const char *name = json_string_value(json_object_get(doc, "name"));
    const char *role = json_string_value(json_object_get(doc, "role"));
    char *n = wr__ctl_clean(name ? name : "?", strlen(name ? name : "?"), true);
    char *r = wr__ctl_clean(role, strlen(role), true);
    printf("%s is %s %s%s\n", n, strcmp(r, "admin") == 0 ? "an" : "a", r, suffix);
    free(n);
    free(r);
}

/* role NAME [ROLE]: read or set a MUD character's role. Setting proposes
 * it (202) and polls GET until the node's replica shows it, proposing
 * again each second: a proposal may be lost with a leader change. */
static int cmd_role(const char *node, const char *name, const char *role, bool as_json)
{
    if (!wr_mud_name_ok(name, strlen(name)))
        return usage_error("'%s' is not a character name (3 to 16 letters)", name);
    if (role != NULL && wr_mud_role_parse(role) < 0)
        return usage_error("role must be player, builder or admin, not '%s'", role);
    int status;
    json_t *doc = role_answer(node, role ? "POST" : "GET", name, role, &status);
    if (doc == NULL)
        return WR_CTL_EXIT_ERROR;
    if (role == NULL || status == 200) {
        if (as_json) {
            json_dumpf(doc, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
        } else {
            print_role(doc, role == NULL ? "." : " already.");
        }
        json_decref(doc);
        return WR_CTL_EXIT_OK;
    }
    json_decref(doc);
    for (int i = 1; i <= 50; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        doc = role_answer(node, i % 10 == 0 ? "POST" : "GET", name, i % 10 == 0 ? role : NULL,
                          &status);
        if (doc == NULL)
            return WR_CTL_EXIT_ERROR;
        const char *now = json_string_value(json_object_get(doc, "role"));
        if (status == 200 && strcmp(now, role) == 0) {
            if (as_json) {
                json_dumpf(doc, stdout, JSON_INDENT(2));
                fputc('\n', stdout);
            } else {
                print_role(doc, " now.");
            }
            json_decref(doc);
            return WR_CTL_EXIT_OK;
        }
        json_decref(doc);
    }
    fprintf(stderr,
            "warren ctl: node %s proposed the change, but it was not applied within 5 s "
            "(is there a leader? see 'warren ctl status')\n",
            node);
    return WR_CTL_EXIT_ERROR;
}

static int cmd_state(const char *node, bool as_json)
{
    char err[512];
    char *raw;
    json_t *state = fetch_json(node, "/api/state", &raw, err, sizeof err);
    if (state == NULL) {
        fprintf(stderr, "warren ctl: %s\n", err);
        return WR_CTL_EXIT_ERROR;
    }
    if (as_json)
        print_raw(raw);
    else
        wr_ctl_format_state(stdout, state);
    free(raw);
    json_decref(state);
    return WR_CTL_EXIT_OK;
}

int wr_ctl_main(int argc, char **argv)
{
    const char *node = NULL, *cmd = NULL, *arg = NULL, *arg2 = NULL, *token_file = NULL;
    bool as_json = false, help = false, opts_done = false, force = false;
    int nargs = 0; /* positional arguments after the command */
    const char *wait_arg = NULL; /* drain --wait S */

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts_done || a[0] != '-' || a[1] == '\0') {
            if (cmd == NULL)
                cmd = a;
            else if (nargs++ == 0)
                arg = a;
            else if (nargs == 2)
                arg2 = a;
        } else if (strcmp(a, "--") == 0) {
            opts_done = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help = true;
        } else if (strcmp(a, "--json") == 0) {
            as_json = true;
        } else if (strcmp(a, "--force") == 0) {
            force = true;
        } else if (strcmp(a, "--node") == 0) {
            if (i + 1 == argc)
                return usage_error("option --node needs an IP:PORT");
            node = argv[++i];
        } else if (strncmp(a, "--node=", 7) == 0) {
            node = a + 7;
        } else if (strcmp(a, "--wait") == 0) {
            if (i + 1 == argc)
                return usage_error("option --wait needs seconds");
            wait_arg = argv[++i];
        } else if (strncmp(a, "--wait=", 7) == 0) {
            wait_arg = a + 7;
        } else if (strcmp(a, "--admin-token-file") == 0) {
            if (i + 1 == argc)
                return usage_error("option --admin-token-file needs a FILE");
            token_file = argv[++i];
        } else if (strncmp(a, "--admin-token-file=", 19) == 0) {
            token_file = a + 19;
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    if (help) {
        wr_ctl_usage(stdout);
        return fflush(stdout) == 0 ? WR_CTL_EXIT_OK : WR_CTL_EXIT_ERROR;
    }
    if (cmd == NULL)
        return usage_error("no command given");

    const char *from = "--node";
    if (node == NULL) {
        node = getenv("WARREN_NODE");
        from = "WARREN_NODE";
        if (node == NULL || node[0] == '\0') {
            node = WR_CTL_DEFAULT_NODE;
            from = "default node";
        }
    }
    struct sockaddr_in sa;
    char why[128];
    if (wr_addr_parse(node, &sa, why, sizeof why) != 0)
        return usage_error("bad %s: %s", from, why);
    char token_err[1200];
    if (wr_ctl_load_admin_token(token_file, token_err, sizeof token_err) != 0) {
        fprintf(stderr, "warren ctl: %s\n", token_err);
        return WR_CTL_EXIT_ERROR;
    }

    bool draining = strcmp(cmd, "drain") == 0 || strcmp(cmd, "undrain") == 0;
    if (wait_arg != NULL && !draining)
        return usage_error("--wait applies to drain and undrain only");
    if (draining) {
        int rc = wr__ctl_drain(node, cmd, nargs, arg, wait_arg, as_json);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "warren ctl: cannot write output\n");
            return WR_CTL_EXIT_ERROR;
        }
        return rc;
    }
    if (strcmp(cmd, "add-node") == 0 || strcmp(cmd, "remove-node") == 0 ||
        strcmp(cmd, "transfer-leader") == 0) {
        int rc = wr__ctl_members(node, cmd, nargs, arg, arg2, as_json);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "warren ctl: cannot write output\n");
            return WR_CTL_EXIT_ERROR;
        }
        return rc;
    }
    bool takes_name = strcmp(cmd, "whereis") == 0, world = strcmp(cmd, "world") == 0;
    if (strcmp(cmd, "role") == 0) {
        if (nargs != 1 && nargs != 2)
            return usage_error("usage: role NAME [player|builder|admin]");
        int rc = cmd_role(node, arg, arg2, as_json);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "warren ctl: cannot write output\n");
            return WR_CTL_EXIT_ERROR;
        }
        return rc;
    }
    if (!takes_name && !world && strcmp(cmd, "status") != 0 && strcmp(cmd, "registered") != 0 &&
        strcmp(cmd, "state") != 0 && strcmp(cmd, "mud") != 0)
        return usage_error("unknown command '%s'", cmd);
    if (takes_name && nargs != 1)
        return usage_error("whereis takes one NAME");
    bool exporting = world && nargs >= 1 && strcmp(arg, "export") == 0;
    bool checking = world && nargs >= 1 && strcmp(arg, "check") == 0;
    if (world && (nargs != 2 || (strcmp(arg, "load") != 0 && !exporting && !checking) ||
                  arg2[0] == '\0'))
        return usage_error("usage: world load DIR, world export DIR, or world check DIR");
    if (force && !exporting)
        return usage_error("--force applies to world export only");
    if (!takes_name && !world && nargs != 0)
        return usage_error("%s takes no arguments", cmd);

    int rc;
    if (takes_name)
        rc = cmd_whereis(node, arg, as_json);
    else if (exporting)
        rc = cmd_world_export(node, arg2, force, as_json);
    else if (checking)
        rc = cmd_world_check(arg2, as_json);
    else if (world)
        rc = cmd_world_load(node, arg2, as_json);
    else if (strcmp(cmd, "mud") == 0)
        rc = cmd_mud(node, as_json);
    else if (strcmp(cmd, "status") == 0)
        rc = cmd_status(node, as_json);
    else if (strcmp(cmd, "registered") == 0)
        rc = cmd_registered(node, as_json);
    else
        rc = cmd_state(node, as_json);

    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "warren ctl: cannot write output\n");
        return WR_CTL_EXIT_ERROR;
    }
    return rc;
}
