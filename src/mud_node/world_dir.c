/* Reading a world directory into a bundle and writing a bundle's files
 * into one (mud/worldfile.h): the node-side I/O half of world loading and
 * export, kept out of src/mud/ so that everything there stays pure. The
 * leader's MUD half and `warren ctl world load` read; `warren ctl world
 * export` writes. */
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

/* ---- wr_mud_bundle_write_dir (node side) --------------------------------- */

/* A path we are willing to create under DIR: plain names separated by '/',
 * each of [A-Za-z0-9_.-] and not starting with '.', the whole ending in
 * ".yaml". No "..", no absolute path, nothing hidden: a bundle from a node
 * cannot write anywhere else, and reading the directory back sees it all. */
static bool safe_path(const uint8_t *p, size_t len)
{
    if (len == 0 || len > WR_MUD_BUNDLE_MAX_NAME || len < 6 || memcmp(p + len - 5, ".yaml", 5) != 0)
        return false;
    bool start = true;
    for (size_t i = 0; i < len; i++) {
        uint8_t ch = p[i];
        if (ch == '/') {
            if (start)
                return false; /* empty component: "//" or a leading '/' */
            start = true;
            continue;
        }
        if (start && ch == '.')
            return false;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return false;
        start = false;
    }
    return true;
}

/* Does DIR have any entry? -1 with a message if it cannot be read. */
static int dir_is_empty(const char *dir, bool *empty, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "%s: cannot open directory: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    *empty = true;
    while ((errno = 0, de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            *empty = false;
    int rv = errno != 0 ? -1 : 0;
    if (rv != 0)
        snprintf(err, errlen, "%s: readdir: %s", dir, strerror(errno));
    closedir(d);
    return rv;
}

/* mkdir @path unless it is a directory already. */
static int make_dir(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(path, 0755) == 0)
        return 0;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    snprintf(err, errlen, "cannot create directory %s: %s", path,
             errno == EEXIST ? "a file of that name exists" : strerror(errno));
    return -1;
}

static int write_file(const char *path, const uint8_t *bytes, size_t len, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, bytes + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        done += (size_t)w;
    }
    if (close(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int wr_mud_bundle_write_dir(const char *dir, const void *bundle, size_t len, bool force, char *err,
                            size_t errlen)
{
    struct wr_reader r;
    bool empty;

    /* The whole framing first: nothing is written for a bad bundle. */
    wr_reader_init(&r, bundle, len);
    const uint8_t *magic = wr_get_bytes(&r, 8);
    uint32_t n = wr_get_u32(&r);
    if (r.err || memcmp(magic, WR_MUD_BUNDLE_MAGIC, 8) != 0 || n == 0 ||
        n > WR_MUD_BUNDLE_MAX_FILES) {
        snprintf(err, errlen, "not a world bundle (bad magic or file count)");
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t nl = wr_get_u32(&r);
        const uint8_t *name = wr_get_bytes(&r, nl);
        wr_get_bytes(&r, wr_get_u32(&r));
        if (r.err) {
            snprintf(err, errlen, "world bundle truncated at file %u", i + 1);
            return -1;
        }
        if (!safe_path(name, nl)) {
            char *shown = wr_malloc((size_t)nl + 1);
            for (uint32_t k = 0; k < nl; k++)
                shown[k] = name[k] >= 0x20 && name[k] < 0x7f ? (char)name[k] : '?';
            shown[nl] = '\0';
            snprintf(err, errlen,
                     "refusing to write file \"%.100s\": not a relative path of plain names "
                     "ending in .yaml",
                     shown);
            free(shown);
            return -1;
        }
    }
    if (r.left != 0) {
        snprintf(err, errlen, "%zu stray bytes after the world bundle's last file", r.left);
        return -1;
    }

    if (make_dir(dir, err, errlen) != 0 || dir_is_empty(dir, &empty, err, errlen) != 0)
        return -1;
    if (!empty && !force) {
        snprintf(err, errlen, "%s is not empty (--force writes into it anyway)", dir);
        return -1;
    }
    wr_reader_init(&r, bundle, len);
    wr_get_bytes(&r, 12);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t nl = wr_get_u32(&r);
        const uint8_t *name = wr_get_bytes(&r, nl);
        uint32_t fl = wr_get_u32(&r);
        const uint8_t *bytes = wr_get_bytes(&r, fl);
        char path[4096];
        int k = snprintf(path, sizeof path, "%s/%.*s", dir, (int)nl, (const char *)name);
        if (k < 0 || (size_t)k >= sizeof path) {
            snprintf(err, errlen, "%s: path too long", dir);
            return -1;
        }
        /* the subdirectories on the way, e.g. DIR/zones */
        for (char *slash = path + strlen(dir) + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
            *slash = '\0';
            int rv = make_dir(path, err, errlen);
            *slash = '/';
            if (rv != 0)
                return -1;
        }
        if (write_file(path, bytes, fl, err, errlen) != 0)
            return -1;
    }
    return 0;
}
