/* World files: a bundle of YAML files into a struct wr_mud_model; see
 * worldfile.h for the contract and docs/world-format.md for the schema.
 *
 * wr_mud_model_parse runs inside the replicated state machine, so it is a
 * pure function of the bundle bytes: no I/O, no clock, no randomness and
 * no locale (no strtol, ctype or strcasecmp: every comparison and number
 * below is plain ASCII arithmetic). It reads in four passes, and the first
 * error found is the one reported, so the order is part of the contract
 * (every node must refuse a bad world with the same message):
 *   1. the bundle's framing, then every file into a small tree with
 *      libyaml's event API (syntax errors, aliases, tags, too deep, too
 *      many nodes), in file order;
 *   2. the top-level shape of every file and the counts (unknown keys,
 *      wrong types, too many rooms...), so each array is allocated once;
 *   3. every field, file by file, registering ids as they are seen
 *      (duplicates, ranges, lengths, missing fields);
 *   4. references, in the order they were seen (exits, graveyards,
 *      spawners' items, NPCs and rooms, the start room).
 * Pass 1, the error reporting and the lookup tables are here; passes 2 to 4
 * (the schema) are in worldfile_fields.c, sharing worldfile_internal.h.
 *
 * The trees and lookup tables live in a scratch model (its bump allocator
 * is all this needs), freed at the end; the result's strings and arrays are
 * allocated in the result model. Either way nothing else is allocated, so
 * an error needs no unwinding beyond freeing the two models.
 *
 * The event API rather than the document API: it lets us refuse aliases
 * (a "billion laughs" tree would be expanded by a walk) and bound nesting
 * and node count before anything is built. */
#include "mud/worldfile.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/alloc.h"
#include "mud/worldfile_internal.h"

/* ---- errors --------------------------------------------------------------- */

int wr__wf_fail_at(struct ctx *c, const char *file, uint32_t line, uint32_t col, const char *fmt,
                   ...)
{
    if (c->errlen == 0)
        return -1;
    int n = snprintf(c->err, c->errlen, "%s:%u:%u: ", file, line, col);
    if (n < 0 || (size_t)n >= c->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

__attribute__((format(printf, 2, 3))) static int fail_bundle(struct ctx *c, const char *fmt, ...)
{
    if (c->errlen == 0)
        return -1;
    int n = snprintf(c->err, c->errlen, "bundle: ");
    if (n < 0 || (size_t)n >= c->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

struct shown wr__wf_show(const struct ynode *n)
{
    struct shown out;
    size_t k = 0;
    if (n->kind != YN_SCALAR) {
        snprintf(out.s, sizeof out.s, "%s", n->kind == YN_MAP ? "(a mapping)" : "(a list)");
        return out;
    }
    for (size_t i = 0; i < n->len && k < 40; i++) {
        unsigned char ch = (unsigned char)n->s[i];
        out.s[k++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    if (n->len > 40) {
        out.s[k++] = '.';
        out.s[k++] = '.';
        out.s[k++] = '.';
    }
    out.s[k] = '\0';
    return out;
}

/* ---- small ASCII helpers (locale-free) ---------------------------------- */

bool wr__wf_is_null(const struct ynode *n)
{
    if (n->kind != YN_SCALAR || !n->plain)
        return false;
    return n->len == 0 || strcmp(n->s, "~") == 0 || strcmp(n->s, "null") == 0 ||
           strcmp(n->s, "Null") == 0 || strcmp(n->s, "NULL") == 0;
}

bool wr__wf_scalar_is(const struct ynode *n, const char *word)
{
    size_t len = strlen(word);
    return n->kind == YN_SCALAR && n->len == len && memcmp(n->s, word, len) == 0;
}

/* Case-insensitive (ASCII) equality with a lowercase word. */
bool wr__wf_scalar_is_nocase(const struct ynode *n, const char *word)
{
    size_t len = strlen(word);
    if (n->kind != YN_SCALAR || n->len != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = n->s[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch != word[i])
            return false;
    }
    return true;
}

char *wr__wf_mstrndup(struct wr_mud_model *m, const char *s, size_t len)
{
    char *d = wr_mud_model_alloc(m, len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

/* ---- lookup tables ------------------------------------------------------------ */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

void wr__wf_tab_init(struct ctx *c, struct tab *t, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    t->slots = wr_mud_model_alloc(c->tmp, cap * sizeof *t->slots);
    t->mask = cap - 1;
}

long wr__wf_tab_get(const struct tab *t, const char *key)
{
    for (size_t i = hash_str(key) & t->mask;; i = (i + 1) & t->mask) {
        if (t->slots[i].key == NULL)
            return -1;
        if (strcmp(t->slots[i].key, key) == 0)
            return t->slots[i].val;
    }
}

/* The caller has checked that @key is absent; the table has room (sized
 * for every entry at init). */
static void tab_put(struct tab *t, const char *key, uint32_t val)
{
    size_t i = hash_str(key) & t->mask;
    while (t->slots[i].key != NULL)
        i = (i + 1) & t->mask;
    t->slots[i].key = key;
    t->slots[i].val = val;
}

/* Register @key as the @idx-th of its kind, or fail naming the first one. */
int wr__wf_define(struct ctx *c, struct tab *t, struct where *w, const char *kind, const char *key,
                  uint32_t idx, const struct ynode *at)
{
    long prev = wr__wf_tab_get(t, key);
    if (prev >= 0)
        return FAIL(c, at, "duplicate %s id %s (first defined at %s:%u:%u)", kind, key,
                    w[prev].f->name, w[prev].n->line, w[prev].n->col);
    tab_put(t, key, idx);
    w[idx].f = c->f;
    w[idx].n = at;
    return 0;
}

/* ---- pass 1: bundle and YAML trees --------------------------------------- */

static struct ynode *node_new(struct ctx *c, uint8_t kind, const yaml_mark_t *mark)
{
    struct ynode *n = wr_mud_model_alloc(c->tmp, sizeof *n);
    n->kind = kind;
    n->line = (uint32_t)mark->line + 1;
    n->col = (uint32_t)mark->column + 1;
    return n;
}

/* Line and column (1-based, columns in characters) of a byte offset, for
 * libyaml's reader errors, which give only the offset. */
static void offset_pos(const struct wfile *f, size_t off, uint32_t *line, uint32_t *col)
{
    uint32_t l = 1, k = 1;
    if (off > f->len)
        off = f->len;
    for (size_t i = 0; i < off; i++) {
        if (f->data[i] == '\n') {
            l++;
            k = 1;
        } else if ((f->data[i] & 0xC0) != 0x80) {
            k++;
        }
    }
    *line = l;
    *col = k;
}

static int yaml_failed(struct ctx *c, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "syntax error";
    uint32_t line, col;
    if (p->error == YAML_MEMORY_ERROR)
        return wr__wf_fail_at(c, c->f->name, 1, 1, "out of memory while reading YAML");
    if (p->error == YAML_READER_ERROR) {
        offset_pos(c->f, p->problem_offset, &line, &col);
        return wr__wf_fail_at(c, c->f->name, line, col, "%s", problem);
    }
    line = (uint32_t)p->problem_mark.line + 1;
    col = (uint32_t)p->problem_mark.column + 1;
    if (p->context != NULL)
        return wr__wf_fail_at(c, c->f->name, line, col, "%s (%s at line %u)", problem, p->context,
                              (uint32_t)p->context_mark.line + 1);
    return wr__wf_fail_at(c, c->f->name, line, col, "%s", problem);
}

/* One event into the tree under construction. */
static int on_event(struct ctx *c, struct wfile *f, const yaml_event_t *ev, struct ynode **stack,
                    int *depth, int *docs)
{
    struct ynode *n;
    uint32_t line = (uint32_t)ev->start_mark.line + 1, col = (uint32_t)ev->start_mark.column + 1;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*docs > 1)
            return wr__wf_fail_at(c, c->f->name, line, col, "only one YAML document per file");
        return 0;
    case YAML_ALIAS_EVENT:
        return wr__wf_fail_at(c, c->f->name, line, col, "aliases (*name) are not supported");
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.anchor != NULL)
            return wr__wf_fail_at(c, c->f->name, line, col, "anchors (&name) are not supported");
        if (ev->data.scalar.tag != NULL)
            return wr__wf_fail_at(c, c->f->name, line, col, "tags (!name) are not supported");
        n = node_new(c, YN_SCALAR, &ev->start_mark);
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->len = ev->data.scalar.length;
        n->s = wr__wf_mstrndup(c->tmp, (const char *)ev->data.scalar.value, n->len);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
        const yaml_char_t *anchor =
            seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
        const yaml_char_t *tag = seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag;
        if (anchor != NULL)
            return wr__wf_fail_at(c, c->f->name, line, col, "anchors (&name) are not supported");
        if (tag != NULL)
            return wr__wf_fail_at(c, c->f->name, line, col, "tags (!name) are not supported");
        n = node_new(c, seq ? YN_SEQ : YN_MAP, &ev->start_mark);
        break;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        (*depth)--;
        return 0;
    default: /* stream start/end, document end */
        return 0;
    }

    if (++c->nodes > MAX_NODES)
        return wr__wf_fail_at(c, c->f->name, line, col,
                              "too many YAML nodes in the world (at most %u)", MAX_NODES);
    if (*depth == 0) {
        f->root = n;
    } else {
        struct ynode *parent = stack[*depth - 1];
        if (parent->kind == YN_MAP && parent->n % 2 == 0 && n->kind != YN_SCALAR)
            return wr__wf_fail_at(c, c->f->name, line, col, "mapping keys must be plain words");
        if (parent->last == NULL)
            parent->first = n;
        else
            parent->last->next = n;
        parent->last = n;
        parent->n++;
    }
    if (n->kind != YN_SCALAR) {
        if (*depth >= MAX_DEPTH)
            return wr__wf_fail_at(c, c->f->name, line, col, "nested too deeply (at most %d levels)",
                                  MAX_DEPTH);
        stack[(*depth)++] = n;
    }
    return 0;
}

static int load_yaml(struct ctx *c, struct wfile *f)
{
    yaml_parser_t p;
    struct ynode *stack[MAX_DEPTH];
    int depth = 0, docs = 0, rv = 0;
    bool done = false;

    c->f = f;
    if (!yaml_parser_initialize(&p))
        return wr__wf_fail_at(c, f->name, 1, 1, "out of memory while reading YAML");
    yaml_parser_set_input_string(&p, f->data, f->len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    while (!done && rv == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rv = yaml_failed(c, &p);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rv = on_event(c, f, &ev, stack, &depth, &docs);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (rv == 0 && f->root == NULL)
        return wr__wf_fail_at(c, f->name, 1, 1, "empty file (expected a mapping)");
    return rv;
}

/* "WRWORLD1" | u32 nfiles | (u32 name_len | name | u32 len | bytes)* */
static int read_bundle(struct ctx *c, const void *bundle, size_t len)
{
    struct wr_reader r;
    if (len > WR_MUD_BUNDLE_MAX)
        return fail_bundle(c, "larger than %u bytes", WR_MUD_BUNDLE_MAX);
    wr_reader_init(&r, bundle, len);
    const uint8_t *magic = wr_get_bytes(&r, 8);
    if (magic == NULL || memcmp(magic, WR_MUD_BUNDLE_MAGIC, 8) != 0)
        return fail_bundle(c, "not a world bundle (bad magic)");
    uint32_t n = wr_get_u32(&r);
    if (r.err || n == 0 || n > WR_MUD_BUNDLE_MAX_FILES)
        return fail_bundle(c, "bad file count (1 to %d files)", WR_MUD_BUNDLE_MAX_FILES);
    c->files = wr_mud_model_alloc(c->tmp, n * sizeof *c->files);
    for (uint32_t i = 0; i < n; i++) {
        struct wfile *f = &c->files[i];
        uint32_t nl = wr_get_u32(&r);
        const uint8_t *name = wr_get_bytes(&r, nl);
        if (name == NULL || nl == 0 || nl > WR_MUD_BUNDLE_MAX_NAME)
            return fail_bundle(c, "file %u: bad name", i + 1);
        for (uint32_t k = 0; k < nl; k++)
            if (name[k] < 0x20 || name[k] == 0x7f)
                return fail_bundle(c, "file %u: control character in name", i + 1);
        uint32_t fl = wr_get_u32(&r);
        f->data = wr_get_bytes(&r, fl);
        if (r.err)
            return fail_bundle(c, "file %u: truncated", i + 1);
        f->name = wr__wf_mstrndup(c->tmp, (const char *)name, nl);
        f->len = fl;
        if (i > 0 && strcmp(c->files[i - 1].name, f->name) >= 0)
            return fail_bundle(c, "file %s: not in sorted order", f->name);
        if (strcmp(f->name, "world.yaml") == 0)
            c->world = f;
    }
    if (r.left != 0)
        return fail_bundle(c, "%zu stray bytes after the last file", r.left);
    c->n_files = n;
    if (c->world == NULL)
        return fail_bundle(c, "no world.yaml");
    for (size_t i = 0; i < n; i++)
        if (load_yaml(c, &c->files[i]) != 0)
            return -1;
    return 0;
}

/* ---- entry points ------------------------------------------------------------ */

int wr_mud_model_parse(const void *bundle, size_t len, struct wr_mud_model **out, char *err,
                       size_t errlen)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.err = err;
    c.errlen = err ? errlen : 0;
    if (c.errlen > 0)
        err[0] = '\0';
    c.m = wr_mud_model_new();
    c.tmp = wr_mud_model_new();

    if (read_bundle(&c, bundle, len) != 0 || wr__wf_shapes(&c) != 0 || wr__wf_read_world(&c) != 0)
        goto err;
    for (size_t i = 0; i < c.n_files; i++)
        if (&c.files[i] != c.world && wr__wf_read_zone_file(&c, &c.files[i]) != 0)
            goto err;
    for (size_t i = 0; i < c.n_refs; i++)
        if (wr__wf_resolve(&c, &c.refs[i]) != 0)
            goto err;
    crypto_generichash(c.m->hash, sizeof c.m->hash, bundle, len, NULL, 0);
    wr_mud_model_free(c.tmp);
    *out = c.m;
    return 0;

err:
    wr_mud_model_free(c.tmp);
    wr_mud_model_free(c.m);
    return -1;
}
