/* `warren ctl`: the admin CLI. It asks one node's HTTP admin API
 * (docs/api.md) about the cluster and the MUD, and loads MUD worlds, with a
 * tiny blocking HTTP/1.1 client, and prints tables or JSON. The formatters
 * take parsed JSON and a FILE * and do no I/O of their own, so they are
 * unit-tested on sample documents (tests/unit/test_ctl.c). Single-threaded;
 * nothing here keeps global state. */
#ifndef WR_CTL_H
#define WR_CTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Node used when neither --node nor $WARREN_NODE is given. */
#define WR_CTL_DEFAULT_NODE "127.0.0.1:4001"
/* Connect timeout and longest silence while reading an answer. */
#define WR_CTL_TIMEOUT_MS 2000
/* Whole-answer deadline, so a server that trickles a byte per second cannot
 * hold the CLI forever. */
#define WR_CTL_DEADLINE_MS 10000
/* Hard limits on what a node may send (habit 13). */
#define WR_CTL_MAX_HEAD (64u * 1024)
#define WR_CTL_MAX_RESPONSE (16u * 1024 * 1024)
/* Largest request body we send (a world bundle is at most 4 MiB). */
#define WR_CTL_MAX_REQUEST (8u * 1024 * 1024)

/* Exit codes of wr_ctl_main. */
enum {
    WR_CTL_EXIT_OK = 0,
    WR_CTL_EXIT_ERROR = 1,    /* unreachable node, bad answer, name not found */
    WR_CTL_EXIT_USAGE = 2,    /* unknown command or option, bad arguments */
    WR_CTL_EXIT_DIVERGED = 3, /* status: same applied index, different hashes */
};

/* Verdict of wr_ctl_status_verdict / wr_ctl_format_status. */
enum wr_ctl_verdict {
    WR_CTL_CONSISTENT,  /* every reachable node: same applied index and hash */
    WR_CTL_CATCHING_UP, /* different applied indexes, no conflict seen */
    WR_CTL_DIVERGED,    /* two nodes: same applied index, different hashes */
    WR_CTL_UNKNOWN,     /* some reachable node did not report index + hash */
};

/* Entry point of `warren ctl ...`; argv[0] is "ctl". Prints results on
 * stdout and errors on stderr. Returns a WR_CTL_EXIT_* code. */
int wr_ctl_main(int argc, char **argv);

/* One blocking HTTP/1.1 GET of @path (must start with '/') from @hostport
 * ("a.b.c.d:port"), with Connection: close. Connecting and each wait for
 * data time out after WR_CTL_TIMEOUT_MS; the whole answer must arrive within
 * WR_CTL_DEADLINE_MS and fit in WR_CTL_MAX_RESPONSE bytes. Understands
 * Content-Length, chunked and read-to-EOF bodies.
 *
 * Returns 0 when the node sent a well-formed response of any status: then
 * *status is the status code and *body a malloc'd NUL-terminated copy of the
 * body, which the caller frees. Returns -1 otherwise, with a one-line reason
 * in @err ("cannot reach node at 127.0.0.1:4001: connection refused", "node
 * 127.0.0.1:4001 sent a malformed HTTP response: ...") and *body NULL. A body
 * containing a NUL byte counts as malformed, so *body can be used as a C
 * string. Ignores SIGPIPE per call (MSG_NOSIGNAL); any thread may call it. */
/* The admin token every request carries from now on (Authorization:
 * Bearer): read from @path, else $WARREN_ADMIN_TOKEN_FILE, else
 * WR_LOCAL_DEFAULT_DIR/admin-token if it exists; none of them: no token.
 * Returns 0, or -1 with a one-line reason (a file named but unreadable). */
int wr_ctl_load_admin_token(const char *path, char *err, size_t errlen);

int wr_ctl_http_get(const char *hostport, const char *path, int *status, char **body, char *err,
                    size_t errlen);

/* Like wr_ctl_http_get, with @method "GET" or "POST". A POST sends @req_len
 * bytes of @req_body (borrowed; at most WR_CTL_MAX_REQUEST) with
 * Content-Length and Content-Type @content_type (NULL:
 * application/octet-stream); a GET sends no body (@req_body NULL, @req_len
 * 0). Each wait to send more times out after WR_CTL_TIMEOUT_MS. Same return
 * values and ownership as wr_ctl_http_get; a node that closes while the
 * body is sent is reported as "cannot reach node at ...: sending the
 * request: ...". */
int wr_ctl_http_request(const char *hostport, const char *method, const char *path,
                        const char *content_type, const void *req_body, size_t req_len, int *status,
                        char **body, char *err, size_t errlen);

/* POST the JSON @body to @path on @node, following 307 answers to the
 * leader ("leader_http"; at most a few hops, the leadership may move
 * meanwhile). Returns the final 2xx answer as a JSON object (the caller
 * decrefs; @at_out, if not NULL, receives the address that answered, 64
 * bytes), or NULL after printing why on stderr ("warren ctl: node A: the
 * node's error"). Sends the admin token like every request. (ctl_members.c) */
json_t *wr_ctl_post_to_leader(const char *node, const char *path, const char *body,
                              char *at_out);

/* The status verdict over @nodes, an array of per-node objects as printed by
 * `status --json` (a node's /api/cluster answer plus "reachable"; an object
 * whose "reachable" is false is left out, any other counts as reachable).
 * DIVERGED (two hashes at one index: state_hash_index, or applied_index for
 * a node without it) wins over everything; then UNKNOWN when no reachable
 * node reported an integer applied_index and a string state_hash; then
 * CATCHING_UP when the applied indexes differ or a hash is not yet the
 * applied index's; then UNKNOWN when a reachable node reported none;
 * else CONSISTENT. *@index (may be NULL) receives the index the verdict is
 * about: the conflicting one (the highest, if several) for DIVERGED, the
 * common one for CONSISTENT, the highest reported one otherwise (0 if none). */
enum wr_ctl_verdict wr_ctl_status_verdict(json_t *nodes, json_int_t *index);

/* Print @nodes (as above) as the aligned status table, one row per node
 * ("unreachable" rows get dashes), one "node N: <error>" line per object
 * carrying an "error" string, then the "state: ..." verdict line. Every
 * field is optional: missing or null prints "-", a wrong type "?". Strings
 * are stripped of terminal control characters. Returns the verdict. */
enum wr_ctl_verdict wr_ctl_format_status(FILE *out, json_t *nodes);

/* The entry called @name in @registry (an /api/registry answer), or, when
 * @name has no '/' and is not found, the one called "player/@name". Returns
 * a borrowed reference, or NULL when there is none. */
json_t *wr_ctl_registry_find(json_t *registry, const char *name);

/* Print one registry @entry as a line, e.g. "arena: node 2 (http
 * 127.0.0.1:4002), singleton, epoch 5" or "zone/town: node 1 (http ...),
 * zone, epoch 4, The Town"; the node's http address is looked up in
 * @registry ("node/N") and left out when unknown. Other kinds (node, zone,
 * npc, ...) print their kind, then ", epoch E" when the entry has an
 * "epoch"; every kind ends with ", INFO" when it has an "info" (a string as
 * is, other JSON compact). */
void wr_ctl_format_entry(FILE *out, json_t *entry, json_t *registry);

/* Print every name of @registry as a table NAME KIND NODE DETAIL; DETAIL is
 * "epoch E" (singletons, and other kinds with an epoch such as zones), "id
 * I" (players) or "http A" (nodes), then ", INFO" when there is an info
 * (alone when there is nothing else), else "-". Returns
 * the number of rows, or -1 (printing nothing) when @registry has no "names"
 * array. */
int wr_ctl_format_registry(FILE *out, json_t *registry);

/* Print an /api/state answer: the line "arena WxH, N players, applied index
 * I, state hash H", then the players as a table ID NAME X Y SEQ NODE (no
 * table when there are none). Returns the number of player rows. */
int wr_ctl_format_state(FILE *out, json_t *state);

/* Print an /api/mud answer: the line "world NAME, version V, hash H, Z
 * zones, R rooms, P players, N NPCs", then (each only when not empty) the zones as
 * ZONE NAME OWNER EPOCH ROOMS NPCS PLAYERS, the nodes as NODE ZONES PLAYERS
 * (their zones joined with ", "), and the players as PLAYER ROOM ZONE NODE
 * STATE, tables separated by blank lines. Every field is optional (missing:
 * "-", wrong type: "?"); strings are stripped of control characters.
 * Returns 0, or -1 (printing nothing) when @mud is not an object. */
int wr_ctl_format_mud(FILE *out, json_t *mud);

/* The usage text printed by --help. */
void wr_ctl_usage(FILE *out);

#endif
