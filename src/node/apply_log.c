/* The apply log; see apply_log.h. */
#include "node/apply_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/bytes.h"
#include "common/log.h"
#include "games.h"

/* Above this the entry buffer is given back after the write, so one large
 * entry (a world upload) does not pin its size for the node's life. */
#define KEEP_BYTES (256u * 1024)

struct wr_apply_log {
    int fd;
    char path[1024];
    off_t size; /* bytes of whole entries in the file: where a torn write is cut back to */
    uint64_t index;
    struct wr_writer buf;
    unsigned cmds; /* commands in buf */
    int failing;   /* errno of the last failed write, 0 once one succeeds */
};

struct wr_apply_log *wr_apply_log_open(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the apply log %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat the apply log %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    struct wr_apply_log *l = wr_calloc(1, sizeof *l);
    l->fd = fd;
    l->size = st.st_size;
    snprintf(l->path, sizeof l->path, "%s", path);
    wr_writer_init(&l->buf, 4096);
    return l;
}

void wr_apply_log_close(struct wr_apply_log *l)
{
    if (l == NULL)
        return;
    close(l->fd);
    wr_writer_free(&l->buf);
    free(l);
}

void wr_apply_log_begin(struct wr_apply_log *l, uint64_t index)
{
    l->index = index;
    l->buf.len = 0;
    l->cmds = 0;
}

static void put_text(struct wr_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_text(struct wr_writer *w, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    /* Every format here is short and bounded (numbers and module names). */
    if (n > 0)
        wr_put_bytes(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static const char *module_name(uint8_t id)
{
    if (id == WR_MODULE_CORE)
        return "core";
    for (size_t i = 0; i < wr_game_module_count; i++)
        if (wr_game_modules[i]->id == id)
            return wr_game_modules[i]->name;
    return NULL;
}

static const char *verdict_name(enum wr_verdict v)
{
    switch (v) {
    case WR_APPLIED: return "applied";
    case WR_DUPLICATE: return "duplicate";
    case WR_GAP: return "gap";
    case WR_STALE: return "stale";
    default: return "malformed";
    }
}

void wr_apply_log_cmd(struct wr_apply_log *l, const struct wr_cmd *cmd, enum wr_verdict v)
{
    static const char hex[] = "0123456789abcdef";
    const char *m = module_name(cmd->module);
    put_text(&l->buf, "{\"i\":%llu,\"m\":\"", (unsigned long long)l->index);
    if (m != NULL)
        put_text(&l->buf, "%s.%u", m, cmd->type);
    else
        put_text(&l->buf, "module%u.%u", cmd->module, cmd->type);
    put_text(&l->buf, "\",\"n\":%u,\"s\":\"%016llx\",\"q\":%u,\"v\":\"%s\",\"p\":\"", cmd->node,
             (unsigned long long)cmd->session, cmd->seq, verdict_name(v));
    uint8_t *p = wr_writer_reserve(&l->buf, 2 * (size_t)cmd->len);
    for (size_t i = 0; i < cmd->len; i++) {
        p[2 * i] = (uint8_t)hex[cmd->payload[i] >> 4];
        p[2 * i + 1] = (uint8_t)hex[cmd->payload[i] & 15];
    }
    l->buf.len += 2 * (size_t)cmd->len;
    put_text(&l->buf, "\"}\n");
    l->cmds++;
}

/* A short write (disk full mid-entry) would leave half a line that the
 * next entry's lines run into: cut the file back to the last whole entry. */
static void write_failed(struct wr_apply_log *l, ssize_t wrote, int err)
{
    if (wrote > 0 && ftruncate(l->fd, l->size) != 0)
        wr_debug("apply log: cannot cut back a torn entry: %s", strerror(errno));
    if (l->failing == 0)
        wr_warn("apply log: cannot write %s (%s); the node keeps running, entries from "
                "index %llu on are missing from the log until writes succeed again",
                l->path, strerror(err), (unsigned long long)l->index);
    l->failing = err;
}

void wr_apply_log_end(struct wr_apply_log *l)
{
    if (l->cmds == 0)
        return;
    ssize_t n = write(l->fd, l->buf.base, l->buf.len);
    if (n == (ssize_t)l->buf.len) {
        l->size += n;
        if (l->failing != 0)
            wr_info("apply log: writing %s again from index %llu", l->path,
                    (unsigned long long)l->index);
        l->failing = 0;
    } else {
        write_failed(l, n, n < 0 ? errno : ENOSPC);
    }
    l->buf.len = 0;
    l->cmds = 0;
    if (l->buf.cap > KEEP_BYTES) {
        wr_writer_free(&l->buf);
        wr_writer_init(&l->buf, 4096);
    }
}
