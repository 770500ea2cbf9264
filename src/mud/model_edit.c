/* Editing a world model in place (model_edit.h): the model half of live
 * building. The edits are small and checked one by one against the model,
 * so a builder hears "There is already an exit north." rather than a YAML
 * position; the world loader checks the result again when mud_build.c
 * re-parses the export. */
#include "mud/model_edit.h"

#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "mud/worldfile.h"

#define NO_ROOM WR_MUD_NO_ROOM

/* ---- checks ------------------------------------------------------------ */

bool wr_mud_edit_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > WR_EDIT_ID_MAX || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Length of the UTF-8 sequence at @s (@n bytes left) if it is a valid,
 * shortest-form code point that is not a C1 control or a surrogate; else 0. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k;
    unsigned cp;
    if (c < 0x80)
        return c < 0x20 || c == 0x7f ? 0 : 1;
    if (c >= 0xc2 && c <= 0xdf) {
        k = 1;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        k = 2;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 3;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n <= k)
        return 0;
    for (size_t j = 1; j <= k; j++) {
        if ((s[j] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[j] & 0x3f);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
        return 0;
    return k + 1;
}

bool wr_mud_edit_line_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_char((const unsigned char *)s + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

/* ---- arrays in the arena ------------------------------------------------ */

/* A copy of @old (@n elements of @size bytes) with room for one more. */
static void *grow(struct wr_mud_model *m, const void *old, size_t n, size_t size)
{
    void *p = wr_mud_model_alloc(m, (n + 1) * size);
    if (n > 0)
        memcpy(p, old, n * size);
    return p;
}

/* @s with its first ASCII letter upper-cased, in the arena, followed by
 * @tail ("A rusty lantern lies here."). */
static char *capitalised(struct wr_mud_model *m, const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    char *out = wr_mud_model_alloc(m, n + t + 1);
    memcpy(out, s, n);
    memcpy(out + n, tail, t + 1);
    if (out[0] >= 'a' && out[0] <= 'z')
        out[0] = (char)(out[0] - 'a' + 'A');
    return out;
}

/* Keywords for a new item or NPC: the words of its name in lower case,
 * without punctuation and articles, then its id: "a Rusty Lantern" and
 * lantern -> "rusty lantern". At most WR_EDIT_LINE_MAX bytes, whole words. */
static char *keywords(struct wr_mud_model *m, const char *name, const char *id)
{
    static const char *const skip[] = {"a", "an", "the", "some", "of"};
    char *out = wr_mud_model_alloc(m, WR_EDIT_LINE_MAX + 1);
    size_t len = 0;
    const char *p = name;
    while (*p != '\0') {
        char word[WR_EDIT_NAME_MAX + 1];
        size_t w = 0;
        while (*p == ' ')
            p++;
        for (; *p != '\0' && *p != ' '; p++) {
            unsigned char c = (unsigned char)*p;
            if (c >= 'A' && c <= 'Z')
                word[w++] = (char)(c - 'A' + 'a');
            else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c >= 0x80)
                word[w++] = (char)c;
        }
        word[w] = '\0';
        bool drop = w == 0;
        for (size_t i = 0; i < sizeof skip / sizeof skip[0] && !drop; i++)
            drop = strcmp(word, skip[i]) == 0;
        if (drop || len + (len ? 1 : 0) + w > WR_EDIT_LINE_MAX)
            continue;
        if (len > 0)
            out[len++] = ' ';
        memcpy(out + len, word, w);
        len += w;
        out[len] = '\0';
    }
    /* The id too, unless it is a word of the name already. */
    size_t il = strlen(id);
    bool have = false;
    for (const char *q = out; *q != '\0' && !have;) {
        const char *e = strchr(q, ' ');
        size_t wl = e ? (size_t)(e - q) : strlen(q);
        have = wl == il && memcmp(q, id, il) == 0;
        q += wl + (e ? 1 : 0);
    }
    if (!have && len + (len ? 1 : 0) + il <= WR_EDIT_LINE_MAX) {
        if (len > 0)
            out[len++] = ' ';
        memcpy(out + len, id, il + 1);
    }
    return out;
}

/* ---- rooms ------------------------------------------------------------- */

static uint32_t shift(uint32_t r, uint32_t pos)
{
    return r != NO_ROOM && r >= pos ? r + 1 : r;
}

/* Insert @nr at index @pos of m->rooms; every room index at or after @pos
 * anywhere in the model moves up by one. */
static void insert_room(struct wr_mud_model *m, uint32_t pos, const struct wr_mud_room *nr)
{
    struct wr_mud_room *rooms = wr_mud_model_alloc(m, (m->n_rooms + 1) * sizeof *rooms);
    memcpy(rooms, m->rooms, pos * sizeof *rooms);
    rooms[pos] = *nr;
    memcpy(rooms + pos + 1, m->rooms + pos, (m->n_rooms - pos) * sizeof *rooms);
    m->rooms = rooms;
    m->n_rooms++;
    for (size_t r = 0; r < m->n_rooms; r++)
        for (int d = 0; d < WR_MUD_NDIRS; d++)
            rooms[r].exits[d].to = shift(rooms[r].exits[d].to, pos);
    m->start_room = shift(m->start_room, pos);
    for (size_t z = 0; z < m->n_zones; z++)
        m->zones[z].graveyard = shift(m->zones[z].graveyard, pos);
    for (size_t i = 0; i < m->n_item_spawners; i++)
        m->item_spawners[i].room = shift(m->item_spawners[i].room, pos);
    for (size_t i = 0; i < m->n_npc_spawners; i++)
        m->npc_spawners[i].room = shift(m->npc_spawners[i].room, pos);
    for (size_t i = 0; i < m->n_shops; i++)
        m->shops[i].room = shift(m->shops[i].room, pos);
    for (size_t q = 0; q < m->n_quests; q++)
        for (size_t s = 0; s < m->quests[q].n_steps; s++)
            if (m->quests[q].steps[s].kind == WR_STEP_VISIT)
                m->quests[q].steps[s].what = shift(m->quests[q].steps[s].what, pos);
}

static int32_t clamp_coord(int64_t v)
{
    return (int32_t)(v < -WR_EDIT_COORD_MAX  ? -WR_EDIT_COORD_MAX
                     : v > WR_EDIT_COORD_MAX ? WR_EDIT_COORD_MAX
                                             : v);
}

/* One step in direction @d on the map (north is y - 1, up is z + 1). */
static void step(enum wr_mud_dir d, int *dx, int *dy, int *dz)
{
    static const signed char delta[WR_MUD_NDIRS][3] = {
        [WR_DIR_N] = {0, -1, 0}, [WR_DIR_S] = {0, 1, 0},   [WR_DIR_E] = {1, 0, 0},
        [WR_DIR_W] = {-1, 0, 0}, [WR_DIR_NE] = {1, -1, 0}, [WR_DIR_NW] = {-1, -1, 0},
        [WR_DIR_SE] = {1, 1, 0}, [WR_DIR_SW] = {-1, 1, 0}, [WR_DIR_U] = {0, 0, 1},
        [WR_DIR_D] = {0, 0, -1}, [WR_DIR_IN] = {0, 0, 0},  [WR_DIR_OUT] = {0, 0, 0},
    };
    *dx = delta[d][0];
    *dy = delta[d][1];
    *dz = delta[d][2];
}

int wr_mud_edit_dig(struct wr_mud_model *m, uint32_t from, enum wr_mud_dir d, const char *id,
                    const char *name, uint32_t *out, char *err, size_t errlen)
{
    const struct wr_mud_room *fr = &m->rooms[from];
    const char *zkey = m->zones[fr->zone].key;
    if (fr->exits[d].to != NO_ROOM) {
        snprintf(err, errlen, "There is already an exit %s; unlink it first.", wr_mud_dir_name(d));
        return -1;
    }
    if (!wr_mud_edit_id_ok(id)) {
        snprintf(err, errlen,
                 "'%.40s' is not a valid room id (lowercase letters, digits, _ and -, starting "
                 "with a letter, at most %d).",
                 id, WR_EDIT_ID_MAX);
        return -1;
    }
    char key[2 * WR_EDIT_ID_MAX + 2];
    snprintf(key, sizeof key, "%s.%s", zkey, id);
    if (wr_mud_model_room(m, key) >= 0) {
        snprintf(err, errlen, "Room %s exists already.", key);
        return -1;
    }
    if (name != NULL && !wr_mud_edit_line_ok(name, WR_EDIT_NAME_MAX)) {
        snprintf(err, errlen, "A room's name is one line of at most %d bytes.", WR_EDIT_NAME_MAX);
        return -1;
    }
    if (m->n_rooms >= WR_EDIT_MAX_ROOMS) {
        snprintf(err, errlen, "The world has the most rooms it may have (%d).", WR_EDIT_MAX_ROOMS);
        return -1;
    }
    int dx, dy, dz;
    step(d, &dx, &dy, &dz);
    struct wr_mud_room nr;
    memset(&nr, 0, sizeof nr);
    nr.key = wr_mud_model_strdup(m, key);
    nr.name = wr_mud_model_strdup(m, name != NULL ? name : "An Unfinished Room");
    nr.desc = wr_mud_model_strdup(m, "Nothing here is finished yet.");
    nr.zone = fr->zone;
    nr.x = clamp_coord((int64_t)fr->x + dx);
    nr.y = clamp_coord((int64_t)fr->y + dy);
    nr.z = clamp_coord((int64_t)fr->z + dz);
    for (int k = 0; k < WR_MUD_NDIRS; k++)
        nr.exits[k].to = NO_ROOM;
    /* After the last room of the zone, as the loader numbers rooms. */
    uint32_t pos = 0;
    for (uint32_t r = 0; r < m->n_rooms; r++)
        if (m->rooms[r].zone == fr->zone)
            pos = r + 1;
    insert_room(m, pos, &nr);
    from = shift(from, pos);
    m->rooms[from].exits[d].to = pos;
    m->rooms[pos].exits[wr_mud_dir_reverse(d)].to = from;
    *out = pos;
    return 0;
}

int wr_mud_edit_room_text(struct wr_mud_model *m, uint32_t room, bool desc, const char *text,
                          char *err, size_t errlen)
{
    size_t max = desc ? WR_EDIT_DESC_MAX : WR_EDIT_NAME_MAX;
    if (!wr_mud_edit_line_ok(text, max)) {
        snprintf(err, errlen, "A room's %s is one line of at most %zu bytes.",
                 desc ? "description" : "name", max);
        return -1;
    }
    char **field = desc ? &m->rooms[room].desc : &m->rooms[room].name;
    if (strcmp(*field, text) == 0) {
        snprintf(err, errlen, "The room's %s is that already.", desc ? "description" : "name");
        return -1;
    }
    *field = wr_mud_model_strdup(m, text);
    return 0;
}

int wr_mud_edit_link(struct wr_mud_model *m, uint32_t room, enum wr_mud_dir d, uint32_t to,
                     bool *both, char *err, size_t errlen)
{
    if (m->rooms[room].exits[d].to != NO_ROOM) {
        snprintf(err, errlen, "There is already an exit %s; unlink it first.", wr_mud_dir_name(d));
        return -1;
    }
    m->rooms[room].exits[d].to = to;
    struct wr_mud_exit *back = &m->rooms[to].exits[wr_mud_dir_reverse(d)];
    *both = back->to == NO_ROOM;
    if (*both)
        back->to = room;
    return 0;
}

static void clear_exit(struct wr_mud_exit *x)
{
    memset(x, 0, sizeof *x);
    x->to = NO_ROOM;
}

int wr_mud_edit_unlink(struct wr_mud_model *m, uint32_t room, enum wr_mud_dir d, uint32_t *to,
                       bool *both, char *err, size_t errlen)
{
    struct wr_mud_exit *x = &m->rooms[room].exits[d];
    if (x->to == NO_ROOM) {
        snprintf(err, errlen, "There is no exit %s.", wr_mud_dir_name(d));
        return -1;
    }
    *to = x->to;
    clear_exit(x);
    struct wr_mud_exit *back = &m->rooms[*to].exits[wr_mud_dir_reverse(d)];
    *both = back->to == room;
    if (*both)
        clear_exit(back);
    return 0;
}

int wr_mud_edit_door(struct wr_mud_model *m, uint32_t room, enum wr_mud_dir d, const char *name,
                     bool *both, char *err, size_t errlen)
{
    struct wr_mud_exit *x = &m->rooms[room].exits[d];
    if (x->to == NO_ROOM) {
        snprintf(err, errlen, "There is no exit %s.", wr_mud_dir_name(d));
        return -1;
    }
    if (name == NULL && !x->door) {
        snprintf(err, errlen, "There is no door %s.", wr_mud_dir_name(d));
        return -1;
    }
    if (name != NULL && !wr_mud_edit_line_ok(name, WR_EDIT_DOOR_MAX)) {
        snprintf(err, errlen, "A door's name is one line of at most %d bytes.", WR_EDIT_DOOR_MAX);
        return -1;
    }
    if (name != NULL && x->door && x->door_name != NULL && strcmp(x->door_name, name) == 0) {
        snprintf(err, errlen, "There is a %s %s already.", name, wr_mud_dir_name(d));
        return -1;
    }
    struct wr_mud_exit *back = &m->rooms[x->to].exits[wr_mud_dir_reverse(d)];
    *both = back->to == room && (name != NULL || back->door);
    struct wr_mud_exit *sides[2] = {x, *both ? back : NULL};
    for (int i = 0; i < 2 && sides[i] != NULL; i++) {
        sides[i]->door = name != NULL;
        sides[i]->closed = false;
        sides[i]->door_name = name != NULL ? wr_mud_model_strdup(m, name) : NULL;
    }
    return 0;
}

/* ---- item and NPC kinds ------------------------------------------------- */

/* What the world loader makes of an item and an NPC that give nothing but
 * their id, name, keywords, description and ground line: the defaults of
 * every other field, whatever the loader's version sets them to. */
static const char template_world[] = "name: t\nstart: t.r\n";
static const char template_zone[] = "zone: {id: t, name: t, desc: t, graveyard: r}\n"
                                    "rooms: [{id: r, name: r, desc: r, x: 0, y: 0}]\n"
                                    "items: [{id: i, name: i, keywords: i, desc: i, ground: i}]\n"
                                    "npcs: [{id: n, name: n, keywords: n, desc: n, ground: n}]\n";

static void put_file(struct wr_writer *w, const char *name, const char *text)
{
    wr_put_u32(w, (uint32_t)strlen(name));
    wr_put_bytes(w, name, strlen(name));
    wr_put_u32(w, (uint32_t)strlen(text));
    wr_put_bytes(w, text, strlen(text));
}

static struct wr_mud_model *template_model(char *err, size_t errlen)
{
    struct wr_writer w;
    wr_writer_init(&w, 512);
    wr_put_bytes(&w, WR_MUD_BUNDLE_MAGIC, 8);
    wr_put_u32(&w, 2);
    put_file(&w, "world.yaml", template_world);
    put_file(&w, "zones/t.yaml", template_zone);
    struct wr_mud_model *t = NULL;
    char why[256];
    if (wr_mud_model_parse(w.base, w.len, &t, why, sizeof why) != 0 || t->n_items != 1 ||
        t->n_npcs != 1) {
        snprintf(err, errlen, "The world loader refuses a simple kind (%.200s).", why);
        wr_mud_model_free(t);
        t = NULL;
    }
    wr_writer_free(&w);
    return t;
}

/* The checks shared by new items and NPCs. */
static int kind_ok(const char *what, const char *id, const char *name, long existing, size_t n,
                   size_t max, char *err, size_t errlen)
{
    if (!wr_mud_edit_id_ok(id)) {
        snprintf(err, errlen,
                 "'%.40s' is not a valid %s id (lowercase letters, digits, _ and -, starting "
                 "with a letter, at most %d).",
                 id, what, WR_EDIT_ID_MAX);
        return -1;
    }
    if (existing >= 0) {
        snprintf(err, errlen, "There is already an %s %s.", what, id);
        return -1;
    }
    if (!wr_mud_edit_line_ok(name, WR_EDIT_NAME_MAX)) {
        snprintf(err, errlen, "A name is one line of at most %d bytes.", WR_EDIT_NAME_MAX);
        return -1;
    }
    if (n >= max) {
        snprintf(err, errlen, "The world has the most %ss it may have (%zu).", what, max);
        return -1;
    }
    return 0;
}

int wr_mud_edit_add_item(struct wr_mud_model *m, const char *id, const char *name, uint32_t zone,
                         uint32_t *out, char *err, size_t errlen)
{
    if (kind_ok("item", id, name, wr_mud_model_item(m, id), m->n_items, WR_EDIT_MAX_ITEMS, err,
                errlen) != 0)
        return -1;
    struct wr_mud_model *t = template_model(err, errlen);
    if (t == NULL)
        return -1;
    struct wr_mud_item it = t->items[0];
    wr_mud_model_free(t);
    /* Every array of the template is empty: nothing points into it. */
    it.uses = NULL;
    it.n_uses = 0;
    it.key = wr_mud_model_strdup(m, id);
    it.name = wr_mud_model_strdup(m, name);
    it.keywords = keywords(m, name, id);
    it.desc = capitalised(m, name, ".");
    it.ground = capitalised(m, name, " lies here.");
    it.zone = zone;
    m->items = grow(m, m->items, m->n_items, sizeof *m->items);
    m->items[m->n_items] = it;
    *out = (uint32_t)m->n_items++;
    return 0;
}

int wr_mud_edit_add_npc(struct wr_mud_model *m, const char *id, const char *name, uint32_t zone,
                        uint32_t *out, char *err, size_t errlen)
{
    if (kind_ok("NPC", id, name, wr_mud_model_npc(m, id), m->n_npcs, WR_EDIT_MAX_NPCS, err,
                errlen) != 0)
        return -1;
    struct wr_mud_model *t = template_model(err, errlen);
    if (t == NULL)
        return -1;
    struct wr_mud_npc n = t->npcs[0];
    wr_mud_model_free(t);
    n.timers = NULL;
    n.n_timers = 0;
    n.greets = NULL;
    n.n_greets = 0;
    n.hears = NULL;
    n.n_hears = 0;
    n.combat = NULL;
    n.n_combat = 0;
    n.targeted = NULL;
    n.n_targeted = 0;
    n.drops = NULL;
    n.n_drops = 0;
    n.teaches = NULL;
    n.n_teaches = 0;
    n.topics = NULL;
    n.n_topics = 0;
    n.key = wr_mud_model_strdup(m, id);
    n.name = wr_mud_model_strdup(m, name);
    n.keywords = keywords(m, name, id);
    n.desc = capitalised(m, name, ".");
    n.ground = capitalised(m, name, " is here.");
    n.zone = zone;
    m->npcs = grow(m, m->npcs, m->n_npcs, sizeof *m->npcs);
    m->npcs[m->n_npcs] = n;
    *out = (uint32_t)m->n_npcs++;
    return 0;
}

/* ---- spawners ----------------------------------------------------------- */

static int spawners_full(size_t n, char *err, size_t errlen)
{
    if (n < WR_EDIT_MAX_SPAWNERS)
        return 0;
    snprintf(err, errlen, "The world has the most spawners it may have (%d).",
             WR_EDIT_MAX_SPAWNERS);
    return -1;
}

int wr_mud_edit_add_item_spawner(struct wr_mud_model *m, uint32_t item, uint32_t room, char *err,
                                 size_t errlen)
{
    if (spawners_full(m->n_item_spawners, err, errlen) != 0)
        return -1;
    m->item_spawners = grow(m, m->item_spawners, m->n_item_spawners, sizeof *m->item_spawners);
    m->item_spawners[m->n_item_spawners++] = (struct wr_mud_item_spawner){
        .item = item, .room = room, .interval_ms = WR_EDIT_INTERVAL_MS};
    return 0;
}

int wr_mud_edit_add_npc_spawner(struct wr_mud_model *m, uint32_t npc, uint32_t room, char *err,
                                size_t errlen)
{
    if (spawners_full(m->n_npc_spawners, err, errlen) != 0)
        return -1;
    m->npc_spawners = grow(m, m->npc_spawners, m->n_npc_spawners, sizeof *m->npc_spawners);
    m->npc_spawners[m->n_npc_spawners++] =
        (struct wr_mud_npc_spawner){.npc = npc, .room = room, .interval_ms = WR_EDIT_INTERVAL_MS};
    return 0;
}

size_t wr_mud_edit_remove_item_spawners(struct wr_mud_model *m, uint32_t item, uint32_t room)
{
    size_t keep = 0;
    for (size_t i = 0; i < m->n_item_spawners; i++)
        if (m->item_spawners[i].item != item || m->item_spawners[i].room != room)
            m->item_spawners[keep++] = m->item_spawners[i];
    size_t removed = m->n_item_spawners - keep;
    m->n_item_spawners = keep;
    return removed;
}

size_t wr_mud_edit_remove_npc_spawners(struct wr_mud_model *m, uint32_t npc, uint32_t room)
{
    size_t keep = 0;
    for (size_t i = 0; i < m->n_npc_spawners; i++)
        if (m->npc_spawners[i].npc != npc || m->npc_spawners[i].room != room)
            m->npc_spawners[keep++] = m->npc_spawners[i];
    size_t removed = m->n_npc_spawners - keep;
    m->n_npc_spawners = keep;
    return removed;
}
