/* `warren ctl drain ID [--wait S]` and `warren ctl undrain ID`: set or
 * clear a node's drain mark through the leader (docs/operations.md, "Drain
 * and rolling restart"), then watch the node's own /api/cluster until it
 * reports what was asked: "drained" (no leadership, zones, singletons or
 * clients left), or the mark gone. The mark is proposed, not applied, when
 * the leader answers; a proposal lost in a leader change is sent again
 * after a few seconds without the mark showing. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ctl/ctl_internal.h"

#define POLL_MS 200
#define RESEND_MS 3000

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* GET /api/cluster from @at: the object, or NULL (with @err). */
static json_t *cluster_of(const char *at, char *err, size_t errlen)
{
    int status;
    char *raw = NULL;
    if (wr_ctl_http_get(at, "/api/cluster", &status, &raw, err, errlen) != 0)
        return NULL;
    json_t *doc = status == 200 ? json_loads(raw, 0, NULL) : NULL;
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "node %s answered %d to GET /api/cluster", at, status);
        json_decref(doc);
        doc = NULL;
    }
    free(raw);
    return doc;
}

/* Node @id's HTTP address as @doc (an /api/cluster answer) lists it. */
static const char *http_in(json_t *doc, long id)
{
    size_t i;
    json_t *nd;
    json_array_foreach (json_object_get(doc, "nodes"), i, nd)
        if (json_integer_value(json_object_get(nd, "id")) == id)
            return json_string_value(json_object_get(nd, "http"));
    return NULL;
}

static void describe_holds(json_t *doc, char *out, size_t len)
{
    json_t *h = json_object_get(doc, "holds");
    snprintf(out, len, "leader %s, %lld zone(s), %lld singleton(s), %lld client(s)",
             json_is_true(json_object_get(h, "leader")) ? "yes" : "no",
             (long long)json_integer_value(json_object_get(h, "zones")),
             (long long)json_integer_value(json_object_get(h, "singletons")),
             (long long)json_integer_value(json_object_get(h, "clients")));
}

int wr__ctl_drain(const char *node, const char *cmd, int nargs, const char *arg,
                  const char *wait, bool as_json)
{
    bool drain = strcmp(cmd, "drain") == 0;
    char *end;
    long id = nargs == 1 ? strtol(arg, &end, 10) : 0;
    if (nargs != 1 || *arg == '\0' || *end != '\0' || id < 1 || id > 65535) {
        fprintf(stderr, "warren ctl: usage: %s ID [--wait S] (ID 1..65535)\n"
                        "try 'warren ctl --help'\n", cmd);
        return WR_CTL_EXIT_USAGE;
    }
    long wait_s = drain ? 60 : 10;
    if (wait != NULL) {
        wait_s = strtol(wait, &end, 10);
        if (*wait == '\0' || *end != '\0' || wait_s < 0 || wait_s > 3600) {
            fprintf(stderr, "warren ctl: --wait takes seconds, 0..3600\ntry 'warren ctl --help'\n");
            return WR_CTL_EXIT_USAGE;
        }
    }
    char path[64], body[64], at[64], err[512], http[64] = "";
    snprintf(path, sizeof path, "/api/cluster/%s", cmd);
    snprintf(body, sizeof body, "{\"id\": %ld}", id);
    long long t0 = now_ms();
    json_t *ans = wr_ctl_post_to_leader(node, path, body, at);
    if (ans == NULL)
        return WR_CTL_EXIT_ERROR;
    const char *h = json_string_value(json_object_get(ans, "http"));
    if (h != NULL)
        snprintf(http, sizeof http, "%s", h);
    json_decref(ans);
    if (wait_s == 0) {
        printf("node %ld %s.\n", id, drain ? "marked draining" : "no longer marked draining");
        return WR_CTL_EXIT_OK;
    }

    /* Watch the node itself (its own view of the mark, and what it holds);
     * the leader's view when the node does not answer (stopped). */
    long long deadline = t0 + wait_s * 1000, sent = t0;
    char last[160] = "";
    json_t *doc = NULL;
    bool done = false;
    while (!done && now_ms() < deadline) {
        json_decref(doc);
        doc = NULL;
        if (http[0] == '\0') {
            json_t *l = cluster_of(at, err, sizeof err);
            const char *x = l ? http_in(l, id) : NULL;
            if (x != NULL)
                snprintf(http, sizeof http, "%s", x);
            json_decref(l);
        }
        if (http[0] != '\0')
            doc = cluster_of(http, err, sizeof err);
        bool marked;
        if (doc != NULL) {
            marked = json_is_true(json_object_get(doc, "draining"));
            done = drain ? json_is_true(json_object_get(doc, "drained")) : !marked;
            char now[160];
            describe_holds(doc, now, sizeof now);
            if (drain && marked && !done && strcmp(now, last) != 0) {
                printf("node %ld draining: %s\n", id, now);
                fflush(stdout);
                snprintf(last, sizeof last, "%s", now);
            }
        } else {
            json_t *l = cluster_of(at, err, sizeof err);
            json_t *nd = NULL;
            size_t i;
            json_t *x;
            json_array_foreach (json_object_get(l, "nodes"), i, x)
                if (json_integer_value(json_object_get(x, "id")) == id)
                    nd = x;
            marked = nd != NULL && json_is_true(json_object_get(nd, "draining"));
            /* undrain of a stopped node: the leader's view is the answer */
            done = !drain && l != NULL && !marked;
            json_decref(l);
        }
        if (!done && marked != drain && now_ms() - sent >= RESEND_MS) {
            /* the proposal may have been lost with a leader change */
            json_t *again = wr_ctl_post_to_leader(node, path, body, at);
            if (again == NULL) {
                json_decref(doc);
                return WR_CTL_EXIT_ERROR;
            }
            json_decref(again);
            sent = now_ms();
        }
        if (!done)
            sleep_ms(POLL_MS);
    }
    double secs = (double)(now_ms() - t0) / 1000.0;
    int rc = WR_CTL_EXIT_OK;
    if (!done) {
        char holds[160] = "unknown (the node does not answer)";
        if (doc != NULL)
            describe_holds(doc, holds, sizeof holds);
        if (drain)
            fprintf(stderr,
                    "warren ctl: node %ld did not drain within %ld s; it still holds: %s. It "
                    "stays marked draining (warren ctl undrain %ld clears it)%s%s\n",
                    id, wait_s, holds, id, doc == NULL ? "; " : "", doc == NULL ? err : "");
        else
            fprintf(stderr, "warren ctl: node %ld still shows the drain mark after %ld s\n", id,
                    wait_s);
        rc = WR_CTL_EXIT_ERROR;
    } else if (as_json && doc != NULL) {
        json_dumpf(doc, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else if (drain) {
        printf("node %ld drained in %.1f s: no leadership, zones, singletons or clients left.\n",
               id, secs);
    } else {
        printf("node %ld is no longer draining (%.1f s); it takes clients and zones again.\n", id,
               secs);
    }
    json_decref(doc);
    return rc;
}
