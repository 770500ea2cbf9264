/* Reading a world directory into a bundle (mud/worldfile.h): the node-side
 * I/O half of world loading, kept out of src/mud/ so that everything there
 * stays pure. The leader's MUD half and `warren ctl world load` call it. */
#include "mud/worldfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/bytes.h"

#define MAX_DIR_DEPTH 16 /* directories under the world dir */

/* ---- wr_mud_bundle_read_dir (node side) --------------------------------- */

struct names {
    char **v;
    size_t n, cap;
};

static void names_free(struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static bool ends_with_yaml(const char *s)
{
    size_t n = strlen(s);
    return n > 5 && memcmp(s + n - 5, ".yaml", 5) == 0;
}

/* Collect DIR/REL's *.yaml files (paths relative to DIR) into @l. Hidden
 * entries (".git", ".swp" files) are skipped, and so are symbolic links to
 * directories (no loops); links to files are followed. */
static int walk(const char *dir, const char *rel, int depth, struct names *l, char *err,
                size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", dir, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (d == NULL) {
        snprintf(err, errlen, "%s: cannot open directory: %s", path, strerror(errno));
        return -1;
    }
    int rv = 0;
    struct dirent *de;
    while (rv == 0 && (errno = 0, de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char sub[4096], full[4096];
        int k = snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        if (k < 0 || (size_t)k >= sizeof sub ||
            snprintf(full, sizeof full, "%s/%s", dir, sub) >= (int)sizeof full) {
            snprintf(err, errlen, "%s: path too long", path);
            rv = -1;
            break;
        }
        struct stat st, lst;
        if (lstat(full, &lst) != 0 || stat(full, &st) != 0) {
            snprintf(err, errlen, "%s: %s", full, strerror(errno));
            rv = -1;
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            if (S_ISLNK(lst.st_mode))
                continue;
            if (depth >= MAX_DIR_DEPTH) {
                snprintf(err, errlen, "%s: directories nested too deeply (at most %d)", full,
                         MAX_DIR_DEPTH);
                rv = -1;
                break;
            }
            rv = walk(dir, sub, depth + 1, l, err, errlen);
            continue;
        }
        if (!S_ISREG(st.st_mode) || !ends_with_yaml(de->d_name))
            continue;
        if ((size_t)k > WR_MUD_BUNDLE_MAX_NAME) {
            snprintf(err, errlen, "%s: name longer than %d bytes", sub, WR_MUD_BUNDLE_MAX_NAME);
            rv = -1;
            break;
        }
        if (l->n >= WR_MUD_BUNDLE_MAX_FILES) {
            snprintf(err, errlen, "%s: more than %d .yaml files", dir, WR_MUD_BUNDLE_MAX_FILES);
            rv = -1;
            break;
        }
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 16;
            l->v = wr_realloc(l->v, l->cap * sizeof *l->v);
        }
        l->v[l->n++] = wr_strdup(sub);
    }
    if (rv == 0 && errno != 0) {
        snprintf(err, errlen, "%s: readdir: %s", path, strerror(errno));
        rv = -1;
    }
    closedir(d);
    return rv;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b); /* bytewise, not strcoll */
}

/* Append the whole of @path to @out, keeping the total within the bundle
 * limit. */
static int read_file(const char *path, const char *rel, struct wr_writer *out, size_t start,
                     char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto err_after_open;
    }
    size_t used = out->len - start;
    if ((uint64_t)st.st_size > WR_MUD_BUNDLE_MAX ||
        used + 4 + (size_t)st.st_size > WR_MUD_BUNDLE_MAX) {
        snprintf(err, errlen, "%s: the world is larger than %u bytes", rel, WR_MUD_BUNDLE_MAX);
        goto err_after_open;
    }
    size_t size = (size_t)st.st_size;
    wr_put_u32(out, (uint32_t)size);
    uint8_t *p = wr_writer_reserve(out, size);
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, p + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto err_after_open;
        }
        if (r == 0) {
            snprintf(err, errlen, "%s: file shrank while reading", path);
            goto err_after_open;
        }
        got += (size_t)r;
    }
    out->len += size;
    close(fd);
    return 0;

err_after_open:
    close(fd);
    return -1;
}

int wr_mud_bundle_read_dir(const char *dir, struct wr_writer *out, char *err, size_t errlen)
{
    struct names l = {0};
    size_t start = out->len;

    if (walk(dir, "", 0, &l, err, errlen) != 0)
        goto err_after_names;
    if (l.n == 0) {
        snprintf(err, errlen, "%s: no .yaml files", dir);
        goto err_after_names;
    }
    qsort(l.v, l.n, sizeof *l.v, cmp_names);
    wr_put_bytes(out, WR_MUD_BUNDLE_MAGIC, 8);
    wr_put_u32(out, (uint32_t)l.n);
    for (size_t i = 0; i < l.n; i++) {
        char full[4096];
        size_t nl = strlen(l.v[i]);
        snprintf(full, sizeof full, "%s/%s", dir, l.v[i]);
        wr_put_u32(out, (uint32_t)nl);
        wr_put_bytes(out, l.v[i], nl);
        if (out->len - start > WR_MUD_BUNDLE_MAX) {
            snprintf(err, errlen, "%s: the world is larger than %u bytes", dir, WR_MUD_BUNDLE_MAX);
            goto err_after_names;
        }
        if (read_file(full, l.v[i], out, start, err, errlen) != 0)
            goto err_after_names;
    }
    names_free(&l);
    return 0;

err_after_names:
    names_free(&l);
    out->len = start;
    return -1;
}
