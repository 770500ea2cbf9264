/* The offline log loader behind `warren replay` (raft_glue.h, "offline"),
 * split from raft_glue.c to keep each file readable. It is still glue: the
 * only other file that calls libraft. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <raft.h>
#include <raft/uv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/raft_glue.h"
#include "cluster/raft_internal.h"
#include "common/alloc.h"
#include "common/log.h"

/* ---- offline loading (warren replay) -------------------------------- */

struct offline_impl {
    struct raft_snapshot *snapshot;
    struct raft_entry *entries;
    size_t n_entries;
};

/* @dir/@name into @out; false if it does not fit. */
static bool join_path(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < len;
}

/* Take the node's lock for as long as the copy takes, so that a running
 * node is refused (its files change under us) and none starts meanwhile.
 * Returns the fd, -2 if there is no LOCK file (a copied directory), or -1. */
static int lock_for_reading(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    if (!join_path(path, sizeof path, dir, "LOCK"))
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -2 : -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen,
                 "%s is in use by a running warren node: stop the node first (replay reads a "
                 "stopped node's directory)",
                 dir);
        close(fd);
        return -1;
    }
    return fd;
}

static int copy_file(const char *from, const char *to, char *err, size_t errlen)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        snprintf(err, errlen, "open(%s) failed: %s", from, strerror(errno));
        return -1;
    }
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        snprintf(err, errlen, "open(%s) failed: %s", to, strerror(errno));
        close(in);
        return -1;
    }
    enum { BUF = 1 << 16 };
    char *buf = wr_malloc(BUF);
    int rv = 0;
    for (;;) {
        ssize_t n = read(in, buf, BUF);
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "read(%s) failed: %s", from, strerror(errno));
            rv = -1;
            break;
        }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                snprintf(err, errlen, "write(%s) failed: %s", to, strerror(errno));
                rv = -1;
                break;
            }
            done += w;
        }
        if (rv != 0)
            break;
    }
    free(buf);
    close(in);
    if (close(out) != 0 && rv == 0) {
        snprintf(err, errlen, "close(%s) failed: %s", to, strerror(errno));
        rv = -1;
    }
    return rv;
}

/* Remove the scratch directory and whatever libraft left in it. */
static void remove_scratch(const char *scratch)
{
    DIR *d = opendir(scratch);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[4096];
            if (join_path(path, sizeof path, scratch, e->d_name))
                unlink(path);
        }
        closedir(d);
    }
    rmdir(scratch);
}

/* Copy every regular file of @dir but the lock into a new directory under
 * $TMPDIR, named in @scratch. */
static int copy_to_scratch(const char *dir, char *scratch, size_t len, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, len, "%s/warren-replay-XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(scratch) == NULL) {
        snprintf(err, errlen, "mkdtemp(%s) failed: %s", scratch, strerror(errno));
        return -1;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "opendir(%s) failed: %s", dir, strerror(errno));
        rmdir(scratch);
        return -1;
    }
    int rv = 0;
    struct dirent *e;
    while (rv == 0 && (e = readdir(d)) != NULL) {
        char from[4096], to[4096];
        struct stat st;
        if (!join_path(from, sizeof from, dir, e->d_name) ||
            !join_path(to, sizeof to, scratch, e->d_name)) {
            snprintf(err, errlen, "a path in %s is too long", dir);
            rv = -1;
            break;
        }
        if (strcmp(e->d_name, "LOCK") == 0 || stat(from, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        rv = copy_file(from, to, err, errlen);
    }
    closedir(d);
    if (rv != 0)
        remove_scratch(scratch);
    return rv;
}

static bool has_file(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    return join_path(path, sizeof path, dir, name) && stat(path, &st) == 0 &&
           S_ISREG(st.st_mode);
}

static void io_closed_cb(struct raft_io *io)
{
    *(bool *)io->data = true;
}

/* What io->load hands back; its memory is libraft's (raft_free). */
struct offline_load {
    raft_term term;
    raft_id voted_for;
    struct raft_snapshot *snapshot;
    raft_index start_index;
    struct raft_entry *entries;
    size_t n_entries;
};

/* libraft's loader on @scratch, on a private loop: io->init reads the
 * metadata (and probes the file system, in the scratch copy), io->load the
 * snapshot and the segments. The transport is created because raft_uv
 * needs one; it never listens. */
static int load_with_libraft(const char *scratch, struct offline_load *res, char *err,
                             size_t errlen)
{
    uv_loop_t loop;
    struct raft_uv_transport transport;
    struct raft_io io;
    bool closed = false;
    int rv = uv_loop_init(&loop);
    if (rv != 0) {
        snprintf(err, errlen, "uv_loop_init failed: %s", uv_strerror(rv));
        return -1;
    }
    memset(&transport, 0, sizeof transport);
    rv = raft_uv_tcp_init(&transport, &loop);
    if (rv != 0) {
        snprintf(err, errlen, "raft_uv_tcp_init failed: %s (%d)", wr__raft_code_name(rv), rv);
        goto err_after_loop;
    }
    memset(&io, 0, sizeof io);
    rv = raft_uv_init(&io, &loop, scratch, &transport);
    if (rv != 0) {
        snprintf(err, errlen, "raft_uv_init failed: %s (%d) %s", wr__raft_code_name(rv), rv,
                 io.errmsg);
        goto err_after_transport;
    }
    io.data = &closed;
    /* The id and address only name the transport, which never listens. */
    rv = io.init(&io, 1, "127.0.0.1:1");
    if (rv != 0) {
        snprintf(err, errlen, "libraft cannot open the directory: %s (%d) %s", wr__raft_code_name(rv),
                 rv, io.errmsg);
        raft_uv_close(&io);
        goto err_after_transport;
    }
    rv = io.load(&io, &res->term, &res->voted_for, &res->snapshot, &res->start_index,
                 &res->entries, &res->n_entries);
    if (rv != 0)
        snprintf(err, errlen, "libraft cannot load the log: %s (%d) %s", wr__raft_code_name(rv), rv,
                 io.errmsg);
    io.close(&io, io_closed_cb);
    while (!closed && uv_run(&loop, UV_RUN_ONCE) != 0)
        ;
    raft_uv_close(&io);
    raft_uv_tcp_close(&transport);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rv == 0 ? 0 : -1;

err_after_transport:
    raft_uv_tcp_close(&transport);
    uv_run(&loop, UV_RUN_DEFAULT);
err_after_loop:
    uv_loop_close(&loop);
    return -1;
}

static enum wr_raft_entry_kind entry_kind(unsigned short type)
{
    switch (type) {
    case RAFT_COMMAND: return WR_ENTRY_COMMAND;
    case RAFT_BARRIER: return WR_ENTRY_BARRIER;
    default: return WR_ENTRY_CHANGE;
    }
}

void wr_raft_log_free(struct wr_raft_log *log)
{
    if (log == NULL)
        return;
    struct offline_impl *im = log->impl;
    if (im->snapshot != NULL) {
        raft_configuration_close(&im->snapshot->configuration);
        for (unsigned i = 0; i < im->snapshot->n_bufs; i++)
            raft_free(im->snapshot->bufs[i].base);
        raft_free(im->snapshot->bufs);
        raft_free(im->snapshot);
    }
    /* Loaded entries share batches (one per segment read): free each once. */
    void *batch = NULL;
    for (size_t i = 0; i < im->n_entries; i++) {
        if (im->entries[i].batch != batch) {
            batch = im->entries[i].batch;
            raft_free(batch);
        }
    }
    raft_free(im->entries);
    free(im);
    free(log->entries);
    free(log);
}

int wr_raft_load_offline(const char *dir, struct wr_raft_log **out, char *err, size_t errlen)
{
    struct stat st;
    err[0] = '\0';
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    if (!has_file(dir, "metadata1") && !has_file(dir, "metadata2")) {
        snprintf(err, errlen,
                 "%s is not a warren data directory: it has no metadata1 or metadata2 "
                 "(libraft's files); pass the directory a node's --data names",
                 dir);
        return -1;
    }
    int lock_fd = lock_for_reading(dir, err, errlen);
    if (lock_fd == -1) {
        if (err[0] == '\0')
            snprintf(err, errlen, "open(%s/LOCK) failed: %s", dir, strerror(errno));
        return -1;
    }
    char scratch[4096];
    int rv = copy_to_scratch(dir, scratch, sizeof scratch, err, errlen);
    if (lock_fd >= 0)
        close(lock_fd);
    if (rv != 0)
        return -1;

    struct offline_load res = {0};
    rv = load_with_libraft(scratch, &res, err, errlen);
    remove_scratch(scratch);
    if (rv != 0)
        return -1;

    struct wr_raft_log *log = wr_calloc(1, sizeof *log);
    struct offline_impl *im = wr_calloc(1, sizeof *im);
    log->impl = im;
    im->snapshot = res.snapshot;
    im->entries = res.entries;
    im->n_entries = res.n_entries;
    log->term = res.term;
    log->first_index = res.start_index;
    if (res.snapshot != NULL) {
        const uint8_t *p = NULL;
        size_t n = 0;
        if (res.snapshot->n_bufs != 1 ||
            wr__raft_snapshot_payload(res.snapshot->bufs[0].base, res.snapshot->bufs[0].len, &p, &n) !=
                0) {
            snprintf(err, errlen, "the snapshot at index %llu is not a warren snapshot",
                     (unsigned long long)res.snapshot->index);
            wr_raft_log_free(log);
            return -1;
        }
        log->has_snapshot = true;
        log->snapshot_index = res.snapshot->index;
        log->snapshot_term = res.snapshot->term;
        log->snapshot = p;
        log->snapshot_len = n;
    }
    log->n_entries = res.n_entries;
    log->entries = wr_calloc(res.n_entries ? res.n_entries : 1, sizeof *log->entries);
    for (size_t i = 0; i < res.n_entries; i++) {
        struct wr_raft_log_entry *e = &log->entries[i];
        e->index = res.start_index + i;
        e->term = res.entries[i].term;
        e->kind = entry_kind(res.entries[i].type);
        e->data = res.entries[i].buf.base;
        e->len = res.entries[i].buf.len;
    }
    *out = log;
    return 0;
}
