/* The admin token: who may change a node through its HTTP API.
 *
 * Every request that changes something (membership, world loads, roles,
 * and whatever joins them) carries "Authorization: Bearer <token>", the
 * token being the contents of the file --admin-token-file names (the same
 * file on every node; `warren cluster up` makes one, `warren ctl` reads
 * it). Without it, or with a wrong one: 401 and a log line naming the
 * client. A node started without a token file refuses every such request,
 * so an admin API is never open by accident. Read-only endpoints are open
 * unless --admin-reads token closes them too.
 *
 * Tokens are compared in constant time: both sides are hashed (BLAKE2b)
 * and the digests compared with sodium_memcmp, so neither the length nor
 * the first differing byte of a guess shows in the response time. */
#ifndef WR_NODE_ADMIN_H
#define WR_NODE_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/http.h"

#define WR_ADMIN_TOKEN_MIN 16
#define WR_ADMIN_TOKEN_MAX 128

struct wr_admin {
    bool configured;
    bool close_reads; /* --admin-reads token */
    uint8_t digest[32];
};

/* Read the token from @path ("" = none: every admin request is refused).
 * The file holds one token of WR_ADMIN_TOKEN_MIN..MAX printable characters
 * without spaces (a trailing newline is fine). Returns 0, or -1 with a
 * one-line reason in @err. */
int wr_admin_load(struct wr_admin *a, const char *path, bool close_reads, char *err,
                  size_t errlen);

/* Does @req carry the token? */
bool wr_admin_authorized(const struct wr_admin *a, const struct wr_http_request *req);

/* For a request that changes something (or a read, if reads are closed):
 * true if authorized; otherwise answers 401 with a JSON error, logs
 * "admin: @what refused from PEER: why", and returns false. */
bool wr_admin_check(const struct wr_admin *a, struct wr_http_conn *conn,
                    const struct wr_http_request *req, const char *what);

#endif
