/* The admin token; see admin.h. */
#include "node/admin.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "node/game.h"

static void digest(const char *token, size_t len, uint8_t out[32])
{
    crypto_generichash(out, 32, (const uint8_t *)token, len, NULL, 0);
}

int wr_admin_load(struct wr_admin *a, const char *path, bool close_reads, char *err,
                  size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->close_reads = close_reads;
    if (path[0] == '\0')
        return 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char buf[WR_ADMIN_TOKEN_MAX + 3];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    if (n < WR_ADMIN_TOKEN_MIN || n > WR_ADMIN_TOKEN_MAX) {
        snprintf(err, errlen, "%s: the token must be %d to %d characters on one line (it has %zu)",
                 path, WR_ADMIN_TOKEN_MIN, WR_ADMIN_TOKEN_MAX, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (buf[i] <= ' ' || buf[i] > '~') {
            snprintf(err, errlen,
                     "%s: the token may hold printable characters only, no spaces (byte %zu)",
                     path, i + 1);
            return -1;
        }
    }
    digest(buf, n, a->digest);
    sodium_memzero(buf, sizeof buf);
    a->configured = true;
    return 0;
}

bool wr_admin_authorized(const struct wr_admin *a, const struct wr_http_request *req)
{
    if (!a->configured || req->authorization == NULL)
        return false;
    const char *h = req->authorization;
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    uint8_t got[32];
    digest(h, strlen(h), got);
    return sodium_memcmp(got, a->digest, sizeof got) == 0;
}

bool wr_admin_check(const struct wr_admin *a, struct wr_http_conn *conn,
                    const struct wr_http_request *req, const char *what)
{
    if (wr_admin_authorized(a, req))
        return true;
    const char *why = !a->configured ? "this node has no admin token (start it with "
                                       "--admin-token-file FILE)"
                      : req->authorization == NULL || req->authorization[0] == '\0'
                          ? "no admin token (Authorization: Bearer TOKEN; warren ctl sends "
                            "the one --admin-token-file names)"
                          : "wrong admin token";
    wr_warn("admin: %s refused from %s: %s", what, req->peer,
            !a->configured ? "no token configured" : req->authorization[0] ? "wrong token" : "no token");
    wr_node_respond_json(conn, 401, json_pack("{s:s}", "error", why));
    return false;
}
