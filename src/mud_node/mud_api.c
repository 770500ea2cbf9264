/* The MUD's views for others than players: the HTTP view GET /api/mud,
 * world uploads (POST /api/mud/world) and exports (GET
 * /api/mud/world/export), the telnet MSSP variables and the world's
 * version. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/raft_glue.h"
#include "common/alloc.h"
#include "common/log.h"
#include "mud/mud_build.h"
#include "mud/worldfile.h"
#include "mud_node/mud_node_internal.h"

/* ---- version, MSSP ------------------------------------------------------- */

void wr_mud_world_version(void *g, char out_[33])
{
    struct mnode *n = g;
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(n));
    if (m == NULL) {
        out_[0] = '\0';
        return;
    }
    sodium_bin2hex(out_, 33, m->hash, 16);
}

void wr__mud_version(void *g, char *out_, size_t len)
{
    char v[33];
    wr_mud_world_version(g, v);
    snprintf(out_, len, "%s", v);
}

size_t wr__mud_count_online(const struct wr_mud *ms)
{
    size_t k = 0;
    for (size_t i = 0; i < wr_mud_char_count(ms); i++)
        k += wr_mud_char_at(ms, i)->state != WR_MUD_OFFLINE;
    return k;
}

size_t wr_mud_mssp(void *g, struct wr_telnet_mssp_var *vars, size_t max)
{
    struct mnode *n = g;
    const struct wr_mud *ms = wr__mud_state(n);
    const struct wr_mud_model *m = wr_mud_model(ms);
    char (*b)[32] = n->mssp_buf;
    snprintf(b[0], 32, "%zu", wr__mud_count_online(ms));
    snprintf(b[1], 32, "%llu", (unsigned long long)n->started_at);
    snprintf(b[2], 32, "%zu", m ? m->n_zones : 0);
    snprintf(b[3], 32, "%zu", m ? m->n_rooms : 0);
    snprintf(b[4], 32, "%zu", m ? m->n_npcs : 0);
    snprintf(b[5], 32, "%zu", m ? m->n_items : 0);
    snprintf(b[6], 32, "%ld", wr__mud_port);
    const struct wr_telnet_mssp_var all[] = {
        {"NAME", m && m->name ? m->name : "Warren"},
        {"PLAYERS", b[0]},
        {"UPTIME", b[1]},
        {"CODEBASE", "Warren"},
        {"CONTACT", wr__mud_contact},
        {"CRAWL DELAY", "-1"},
        {"HOSTNAME", wr__mud_hostname},
        {"PORT", b[6]},
        {"CHARSET", "UTF-8"},
        {"ANSI", "1"},
        {"GMCP", "1"},
        {"MCCP", "1"},
        {"UTF-8", "1"},
        {"MSDP", "0"},
        {"VT100", "0"},
        {"XTERM 256 COLORS", "0"},
        {"AREAS", b[2]},
        {"ROOMS", b[3]},
        {"MOBILES", b[4]},
        {"OBJECTS", b[5]},
    };
    size_t k = sizeof all / sizeof all[0];
    if (k > max)
        k = max;
    memcpy(vars, all, k * sizeof *vars);
    return k;
}

/* ---- HTTP: /api/mud, /api/mud/world -------------------------------------- */

/* POST /api/mud/world: a bundle from `warren ctl world load` (docs/api.md).
 * Validated here; proposed if valid. The node has checked the admin token
 * (every POST needs it: node/admin.h). */
static void world_upload(struct mnode *n, struct wr_http_conn *conn,
                         const struct wr_http_request *req)
{
    char err[512], hex[33];
    uint8_t hash[16];
    if (wr__mud_start_upload(n, (const uint8_t *)req->body, req->body_len, hash, err, sizeof err) !=
        0) {
        wr_warn("mud: refused a world upload from %s: %s", req->peer, err);
        wr_node_respond_json(conn, 400, json_pack("{s:s}", "error", err));
        return;
    }
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    bool same = wr__mud_world_is(n, hash);
    wr_info("mud: world %s uploaded by %s (%zu bytes)%s", hex, req->peer, req->body_len,
            same ? ", already running" : "; proposing it");
    wr_node_respond_json(conn, 200, json_pack("{s:s, s:b}", "version", hex, "unchanged", same));
}

/* The files of the bundle @b as {"NAME": "TEXT", ...} in bundle order, or
 * NULL if it is not one (or a file is not UTF-8: JSON strings must be). */
static json_t *bundle_files(const uint8_t *b, size_t len)
{
    struct wr_reader r;
    wr_reader_init(&r, b, len);
    const uint8_t *magic = wr_get_bytes(&r, 8);
    uint32_t nf = wr_get_u32(&r);
    if (r.err || memcmp(magic, WR_MUD_BUNDLE_MAGIC, 8) != 0)
        return NULL;
    json_t *files = json_object();
    for (uint32_t i = 0; i < nf; i++) {
        uint32_t nl = wr_get_u32(&r);
        const uint8_t *name = wr_get_bytes(&r, nl);
        uint32_t fl = wr_get_u32(&r);
        const uint8_t *text = wr_get_bytes(&r, fl);
        char key[WR_MUD_BUNDLE_MAX_NAME + 1];
        json_t *v =
            r.err || nl > WR_MUD_BUNDLE_MAX_NAME ? NULL : json_stringn((const char *)text, fl);
        if (v == NULL) {
            json_decref(files);
            return NULL;
        }
        memcpy(key, name, nl);
        key[nl] = '\0';
        json_object_set_new(files, key, v);
    }
    return files;
}

/* GET /api/mud/world/export (`warren ctl world export DIR`, docs/api.md):
 * the canonical export of the world this node's replica runs, as JSON
 * {"hash", "version", "files": {"world.yaml": "...", ...}}. Admin token
 * only, like uploads: the files are the whole world, secrets and all. */
static void world_export(struct mnode *n, struct wr_http_conn *conn,
                         const struct wr_http_request *req)
{
    if (!wr_node_admin_check(n->wn, conn, req, "world export"))
        return;
    const struct wr_mud_model *m = wr_mud_model(wr__mud_state(n));
    if (m == NULL) {
        wr_node_respond_json(conn, 409, json_pack("{s:s}", "error", "no world is loaded yet"));
        return;
    }
    struct wr_writer w;
    char err[256], hash[33], ver[33];
    uint8_t h[16];
    wr_writer_init(&w, 64 * 1024);
    if (wr_mud_model_export(m, &w, err, sizeof err) != 0) {
        wr_warn("mud: world export failed: %s", err);
        wr_node_respond_json(conn, 500, json_pack("{s:s}", "error", err));
        wr_writer_free(&w);
        return;
    }
    crypto_generichash(h, sizeof h, w.base, w.len, NULL, 0);
    sodium_bin2hex(hash, sizeof hash, h, sizeof h);
    wr_mud_world_version(n, ver);
    json_t *files = bundle_files(w.base, w.len);
    if (files == NULL) {
        wr_node_respond_json(
            conn, 500, json_pack("{s:s}", "error", "the export is not a bundle of UTF-8 files"));
    } else {
        wr_info("mud: world %s exported to %s (%zu bytes)", hash, req->peer, w.len);
        wr_node_respond_json(
            conn, 200, json_pack("{s:s, s:s, s:o}", "hash", hash, "version", ver, "files", files));
    }
    wr_writer_free(&w);
}

/* ---- HTTP: /api/mud/role (`warren ctl role`) ------------------------------ */

/* A character's role as JSON. */
static json_t *role_json(const struct wr_mud_char *ch, bool changed)
{
    return json_pack("{s:s, s:s, s:b, s:b}", "name", ch->name, "role", wr_mud_role_name(ch->role),
                     "online", ch->state != WR_MUD_OFFLINE, "changed", changed);
}

/* GET /api/mud/role?name=NAME: the character's role. POST /api/mud/role
 * {"name": NAME, "role": "player"|"builder"|"admin"}: proposes SET_ROLE and
 * answers 202 at once (the change lands when the command applies: GET
 * shows it), or 200 when the character has that role already. 400 for a
 * bad request or role, 404 for an unknown character, 503 before the world
 * is loaded. Admin token only, reads too, like world uploads (docs/api.md). */
static void role_request(struct mnode *n, struct wr_http_conn *conn,
                         const struct wr_http_request *req)
{
    if (!wr_node_admin_check(n->wn, conn, req, "role request"))
        return;
    const struct wr_mud *ms = wr__mud_state(n);
    char name[WR_MUD_NAME_MAX + 1] = "";
    int role = -1;
    bool post = strcmp(req->method, "POST") == 0;
    if (post) {
        json_t *doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
        const char *nm = json_string_value(json_object_get(doc, "name"));
        const char *rl = json_string_value(json_object_get(doc, "role"));
        if (nm != NULL && strlen(nm) < sizeof name)
            snprintf(name, sizeof name, "%s", nm);
        role = rl != NULL ? wr_mud_role_parse(rl) : -2;
        json_decref(doc);
    } else if (strncmp(req->query, "name=", 5) == 0 && strlen(req->query + 5) < sizeof name) {
        snprintf(name, sizeof name, "%s", req->query + 5);
    }
    if (!wr_mud_name_ok(name, strlen(name)) || (post && role == -2)) {
        wr_node_respond_json(conn, 400,
                             json_pack("{s:s}", "error",
                                       post ? "POST {\"name\": NAME, \"role\": ROLE}"
                                            : "GET /api/mud/role?name=NAME"));
        return;
    }
    if (post && role < 0) {
        wr_node_respond_json(conn, 400, json_pack("{s:s}", "error",
                                                  "role must be player, builder or admin"));
        return;
    }
    if (wr_mud_model(ms) == NULL) {
        wr_node_respond_json(conn, 503, json_pack("{s:s}", "error", "the world is not loaded yet"));
        return;
    }
    const struct wr_mud_char *ch = wr_mud_char_by_name(ms, name);
    if (ch == NULL) {
        wr_node_respond_json(conn, 404, json_pack("{s:s}", "error", "no character has that name"));
        return;
    }
    if (!post || ch->role == role) {
        wr_node_respond_json(conn, 200, role_json(ch, false));
        return;
    }
    struct wr_writer p;
    wr_writer_init(&p, 32);
    wr_mud_encode_set_role(&p, ch->name, (uint8_t)role);
    struct wr_cmd cmd = {.module = WR_MODULE_MUD, .type = WR_MUD_SET_ROLE,
                         .len = (uint16_t)p.len, .payload = p.base};
    wr_node_submit_once(n->wn, &cmd);
    wr_writer_free(&p);
    wr_info("mud: %s asks that %s be %s", req->peer, ch->name, wr_mud_role_name((uint8_t)role));
    wr_node_respond_json(conn, 202, json_pack("{s:s, s:s, s:b, s:b}", "name", ch->name, "role",
                                              wr_mud_role_name((uint8_t)role), "online",
                                              ch->state != WR_MUD_OFFLINE, "changed", true));
}

bool wr__mud_request(void *g, struct wr_http_conn *conn, const struct wr_http_request *req)
{
    struct mnode *n = g;
    if (strcmp(req->path, "/api/mud/role") == 0) {
        if (strcmp(req->method, "POST") != 0 && strcmp(req->method, "GET") != 0)
            wr_node_respond_json(conn, 405, json_pack("{s:s}", "error", "GET or POST a role"));
        else
            role_request(n, conn, req);
        return true;
    }
    if (strcmp(req->path, "/api/mud/world/export") == 0) {
        if (strcmp(req->method, "GET") != 0)
            wr_node_respond_json(conn, 405, json_pack("{s:s}", "error", "GET the world's export"));
        else
            world_export(n, conn, req);
        return true;
    }
    if (strcmp(req->path, "/api/mud/world") == 0) {
        if (strcmp(req->method, "POST") != 0)
            wr_node_respond_json(conn, 405, json_pack("{s:s}", "error", "POST a world bundle"));
        else
            world_upload(n, conn, req);
        return true;
    }
    if (strcmp(req->path, "/api/mud") != 0 || strcmp(req->method, "POST") == 0)
        return false;
    const struct wr_mud *ms = wr__mud_state(n);
    const struct wr_mud_model *m = wr_mud_model(ms);
    char ver[33], hash[33];
    wr_mud_world_version(n, ver);
    sodium_bin2hex(hash, sizeof hash, wr_mud_world_hash(ms), 16);
    json_t *body = json_object();
    json_object_set_new(body, "world",
                        m ? json_pack("{s:s, s:s, s:s, s:I, s:I}", "name", m->name ? m->name : "",
                                      "version", ver, "hash", hash, "zones", (json_int_t)m->n_zones,
                                      "rooms", (json_int_t)m->n_rooms)
                          : json_null());
    json_t *zones = json_array(), *nodes = json_array(), *players = json_array(),
           *npcs = json_array();
    if (m != NULL) {
        struct zone_load *zl = wr_malloc((m->n_zones ? m->n_zones : 1) * sizeof *zl);
        wr__mud_zone_loads(n, zl);
        uint32_t *rooms = wr_calloc(m->n_zones ? m->n_zones : 1, sizeof *rooms);
        for (size_t i = 0; i < m->n_rooms; i++)
            rooms[m->rooms[i].zone]++;
        size_t n_ids;
        uint64_t *ids = wr_node_members(n->wn, &n_ids);
        json_t **node_zones = wr_malloc((n_ids ? n_ids : 1) * sizeof *node_zones);
        for (size_t k = 0; k < n_ids; k++)
            node_zones[k] = json_array();
        for (size_t z = 0; z < m->n_zones; z++) {
            const struct wr_mud_zone_state *zs = wr_mud_zone_state(ms, (uint32_t)z);
            json_array_append_new(zones, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "key",
                                                   m->zones[z].key, "name", m->zones[z].name,
                                                   "owner", (json_int_t)zs->owner, "epoch",
                                                   (json_int_t)zs->epoch, "rooms",
                                                   (json_int_t)rooms[z], "npcs",
                                                   (json_int_t)zl[z].npcs, "players",
                                                   (json_int_t)zl[z].players));
            for (size_t k = 0; k < n_ids; k++)
                if (ids[k] == zs->owner)
                    json_array_append_new(node_zones[k], json_string(m->zones[z].key));
        }
        for (size_t k = 0; k < n_ids; k++) {
            size_t np = 0;
            for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
                const struct wr_mud_char *ch = wr_mud_char_at(ms, i);
                np += ch->state != WR_MUD_OFFLINE && ch->node == ids[k];
            }
            json_array_append_new(nodes, json_pack("{s:I, s:o, s:I}", "id", (json_int_t)ids[k],
                                                   "zones", node_zones[k], "players",
                                                   (json_int_t)np));
        }
        free(node_zones);
        free(ids);
        for (size_t i = 0; i < wr_mud_char_count(ms); i++) {
            const struct wr_mud_char *ch = wr_mud_char_at(ms, i);
            if (ch->state == WR_MUD_OFFLINE || ch->room >= m->n_rooms)
                continue;
            json_array_append_new(players, json_pack("{s:s, s:s, s:s, s:I, s:s}", "name", ch->name,
                                                     "room", m->rooms[ch->room].key, "zone",
                                                     m->zones[m->rooms[ch->room].zone].key, "node",
                                                     (json_int_t)ch->node, "state",
                                                     wr__mud_state_name(ch->state)));
        }
        for (size_t i = 0; i < wr_mud_npc_count(ms); i++) {
            const struct wr_mud_npc_inst *np = wr_mud_npc_at(ms, i);
            if (np->room >= m->n_rooms || np->npc >= m->n_npcs)
                continue;
            json_array_append_new(npcs, json_pack("{s:I, s:s, s:s, s:s, s:s}", "id",
                                                  (json_int_t)np->id, "key", m->npcs[np->npc].key,
                                                  "name", m->npcs[np->npc].name, "room",
                                                  m->rooms[np->room].key, "zone",
                                                  m->zones[m->rooms[np->room].zone].key));
        }
        free(rooms);
        free(zl);
    }
    json_object_set_new(body, "zones", zones);
    json_object_set_new(body, "nodes", nodes);
    json_object_set_new(body, "players", players);
    json_object_set_new(body, "npcs", npcs);
    wr_node_respond_json(conn, 200, body);
    return true;
}
