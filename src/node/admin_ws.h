/* The /admin dashboard's live feed: the WebSocket /admin/ws, owned by the
 * node (not a game). While at least one dashboard is connected, the node
 * polls every other member's GET /api/cluster over HTTP every
 * WR_ADMIN_WS_POLL_MS and pushes one JSON snapshot to its dashboards on the
 * same beat: its own /api/cluster view, what it last learned of each
 * member (up or down and why, its view, how long ago), the registry's
 * zones, singletons and players per node, the leader and since when, and
 * the term changes it has seen. The messages are in docs/api.md.
 *
 * Why the node polls and not the browser: the page may be served through a
 * load balancer from which the nodes' own addresses are not reachable, and
 * a page calling other origins would need CORS (and preflights for the
 * token) on every node. One node asking its peers costs 4 small HTTP
 * requests a second per peer and only while someone watches; a kill -9 on
 * the same network answers the next poll with "connection refused", so a
 * dead node shows within one poll plus one push (<= 2 x 250 ms), and a
 * hung or cut-off one after the poll's deadline (WR_ADMIN_WS_TIMEOUT_MS).
 *
 * With --admin-reads token a dashboard must send {"t":"auth","token":T}
 * before it gets anything (it is told {"t":"auth_required"}); a wrong
 * token is logged and closed with 1008, and one not sent within 10 s is
 * closed too. The token of an authorized dashboard is what the node sends
 * its peers while polling them (it keeps only the digest of its own file).
 *
 * The page's buttons send {"t":"post",...} on the same socket; the node
 * sends that POST (transfer or drain only) to itself with the page's token
 * and follows one 307 to the leader (admin_ws.c says why).
 * Loop thread only. */
#ifndef WR_NODE_ADMIN_WS_H
#define WR_NODE_ADMIN_WS_H

#include <stddef.h>

#include "cluster/raft_glue.h"
#include "net/conn.h"

#define WR_ADMIN_WS_PATH "/admin/ws"
/* The route number of /admin/ws (games are 0..WR_MAX_GAMES-1). */
#define WR_ADMIN_WS_ROUTE 255
#define WR_ADMIN_WS_POLL_MS 250
#define WR_ADMIN_WS_TIMEOUT_MS 600
#define WR_ADMIN_WS_AUTH_MS 10000
/* A button's POST relayed by the node (a transfer waits for the new leader). */
#define WR_ADMIN_WS_RELAY_MS 10000
/* Members a snapshot shows at most (the first ones of the configuration). */
#define WR_ADMIN_WS_MAX_MEMBERS 64

struct wr_node;
struct wr_admin_ws;

/* Create the feed of @n (idle until a dashboard connects). */
struct wr_admin_ws *wr_admin_ws_create(struct wr_node *n);
/* The node is shutting down: close the timer and abandon polls in flight.
 * Idempotent. Dashboards are closed by the HTTP server's stop. */
void wr_admin_ws_stop(struct wr_admin_ws *a);
/* Free @a, after the loop has closed every handle (after stop). */
void wr_admin_ws_destroy(struct wr_admin_ws *a);

/* A WebSocket on WR_ADMIN_WS_ROUTE opened, sent a text message, closed. */
void wr_admin_ws_open(struct wr_admin_ws *a, struct wr_conn *c);
void wr_admin_ws_message(struct wr_admin_ws *a, struct wr_conn *c, const char *data, size_t len);
void wr_admin_ws_close(struct wr_admin_ws *a, struct wr_conn *c);

/* Raft's role, leader or term changed from @old to @now: counts term and
 * leader changes and stamps when the current leader was first seen. */
void wr_admin_ws_on_change(struct wr_admin_ws *a, const struct wr_raft_status *old,
                           const struct wr_raft_status *now);

#endif
