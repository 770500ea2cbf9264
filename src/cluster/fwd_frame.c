/* The forward channel's frame codec; see fwd_frame.h. No I/O and no state:
 * the proposer owns the connection buffers, this only reads them. */
#include "cluster/fwd_frame.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/bytes.h"
#include "world/world.h"

void wr__fwd_frame_header(uint8_t out[WR_FWD_HEADER_BYTES], size_t cmd_bytes, uint32_t count)
{
    uint32_t body = (uint32_t)(4 + cmd_bytes);
    for (int i = 0; i < 4; i++) {
        out[i] = (uint8_t)(body >> (8 * i));
        out[4 + i] = (uint8_t)(count >> (8 * i));
    }
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Check one frame's body (count and commands). Returns 0 or -1 with @err. */
static int check_body(const uint8_t *body, size_t len, uint64_t peer, uint32_t *count, char *err,
                      size_t errlen)
{
    struct wr_reader r;
    wr_reader_init(&r, body, len);
    *count = wr_get_u32(&r);
    /* A command is at least WR_CMD_HEADER_BYTES, so a count beyond what the
     * body could hold is refused up front rather than discovered late. */
    if (*count > r.left / WR_CMD_HEADER_BYTES)
        return fail(err, errlen, "frame claims %u commands in %zu bytes", *count, r.left);
    for (uint32_t i = 0; i < *count; i++) {
        struct wr_cmd cmd;
        if (wr_cmd_decode(&r, &cmd, WR_ENTRY_VERSION) != 0)
            return fail(err, errlen, "command %u of %u is malformed", i + 1, *count);
        if (cmd.node != peer)
            return fail(err, errlen, "command %u of %u is from node %u, not the sender", i + 1,
                        *count, cmd.node);
    }
    if (r.left != 0)
        return fail(err, errlen, "%zu stray bytes after %u commands", r.left, *count);
    return 0;
}

int wr__fwd_frames(const uint8_t *buf, size_t len, uint64_t peer, wr_fwd_frame_cb cb, void *arg,
                   size_t *used, char *err, size_t errlen)
{
    size_t off = 0;
    if (errlen > 0)
        err[0] = '\0';
    *used = 0;
    while (len - off >= 4) {
        const uint8_t *q = buf + off;
        uint32_t body =
            (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
        if (body < 4 || body > WR_FWD_MAX_BODY)
            return fail(err, errlen, "frame length %u out of range 4..%u", body, WR_FWD_MAX_BODY);
        if (len - off - 4 < body)
            break; /* the rest of the frame has not arrived */
        uint32_t count;
        if (check_body(q + 4, body, peer, &count, err, errlen) != 0)
            return -1;
        if (cb(arg, q + WR_FWD_HEADER_BYTES, body - 4, count) != 0)
            return -1;
        off += 4 + (size_t)body;
        *used = off;
    }
    return 0;
}
