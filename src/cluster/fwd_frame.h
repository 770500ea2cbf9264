/* The forward channel's frame format (follower -> leader, after the
 * transport's handshake), kept apart from the proposer so that the parser
 * can be fuzzed alone (fuzz/fuzz_forward.c) and both ends share one codec.
 *
 *   frame = u32 length of the rest | u32 count | command*   (world.h)
 *
 * Little-endian. The length counts the count field too, so it is at least 4
 * and at most WR_FWD_MAX_BODY. Every command must decode, carry the sending
 * node's authenticated id, and fill the frame exactly. There is no reply. */
#ifndef WR_CLUSTER_FWD_FRAME_H
#define WR_CLUSTER_FWD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define WR_FWD_HEADER_BYTES 8 /* length + count */
#define WR_FWD_MAX_BODY (1024u * 1024)

/* Write the 8-byte header of a frame carrying @count commands encoded in
 * @cmd_bytes bytes. Precondition: 4 + @cmd_bytes <= WR_FWD_MAX_BODY. */
void wr__fwd_frame_header(uint8_t out[WR_FWD_HEADER_BYTES], size_t cmd_bytes, uint32_t count);

/* Called once per complete, valid frame: its @count commands are the
 * @len bytes at @cmds (all decoded and checked). Return 0 to go on, or -1
 * to stop (wr__fwd_frames then returns -1 with @err left empty). */
typedef int (*wr_fwd_frame_cb)(void *arg, const uint8_t *cmds, size_t len, uint32_t count);

/* Take every complete frame at the start of @buf[0..@len) from node @peer,
 * calling @cb for each in order. Never reads past @len. Returns 0 and sets
 * *@used to the bytes of the frames taken (a partial frame after them waits
 * for more bytes); or -1 when a frame is malformed or @cb stopped: *@used is
 * then the bytes of the frames taken before it, and @err (when @errlen > 0)
 * holds a one-line reason for a malformed frame, "" when @cb stopped. Every
 * frame is checked whole before @cb sees it, so a bad frame adds nothing. */
int wr__fwd_frames(const uint8_t *buf, size_t len, uint64_t peer, wr_fwd_frame_cb cb, void *arg,
                   size_t *used, char *err, size_t errlen);

#endif
