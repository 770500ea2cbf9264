/* A minimal HTTP/1.1 client on the node's loop, for the /admin dashboard's
 * feed (node/admin_ws.h: GETs of the peers' /api/cluster, and the POSTs its
 * buttons send through the node): one request per TCP connection
 * ("Connection: close"), an IPv4 "a.b.c.d:port" address (the nodes'
 * registered HTTP addresses are dotted quads, like every Warren address),
 * a hard deadline, and a cap on the answer's size. The response is parsed
 * with http-parser. Loop thread only. */
#ifndef WR_NODE_HTTP_GET_H
#define WR_NODE_HTTP_GET_H

#include <stddef.h>
#include <uv.h>

/* Largest answer body kept; a longer one fails the request. */
#define WR_HTTP_GET_MAX_BODY (256 * 1024)

struct wr_http_get;

/* The request is over. @status is 0 when an answer arrived (@http_status,
 * @body of @len bytes, NUL-terminated, valid only during the call), or a
 * negative libuv code with a one-line reason in @err ("connection
 * refused", "no answer within 600 ms", "bad HTTP answer"). */
typedef void (*wr_http_get_cb)(void *arg, int status, int http_status, const char *body, size_t len,
                               const char *err);

/* Start @method ("GET" or "POST") @path on @addr with @authorization (""
 * or "Bearer ...") as the Authorization header and, for a POST, @body (a
 * JSON text, copied; NULL: none), failing after @timeout_ms. Returns 0 and sets
 * *@out (valid until @cb has run or wr_http_get_cancel), or -1 with a
 * reason in @err, and then @cb is never called. Otherwise @cb runs exactly
 * once, from the loop, never from inside this call. */
int wr_http_get_start(struct wr_http_get **out, uv_loop_t *loop, const char *addr,
                      const char *method, const char *path, const char *authorization,
                      const char *body, unsigned timeout_ms, wr_http_get_cb cb, void *arg,
                      char *err, size_t errlen);

/* Abandon @g: @cb will not be called; its memory is freed once its
 * handles have closed (so run the loop on before uv_loop_close). */
void wr_http_get_cancel(struct wr_http_get *g);

#endif
