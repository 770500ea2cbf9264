/* `warren ctl add-node | remove-node | transfer-leader`: the membership
 * endpoints of the admin API (docs/api.md). A node that is not the leader
 * answers 307 with the leader's HTTP address in "leader_http"; we send the
 * same request there (at most a few hops: the leadership may move
 * meanwhile, removing the leader moves it on purpose). */
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "ctl/ctl.h"
#include "ctl/ctl_internal.h"

#define MAX_HOPS 4

json_t *wr_ctl_post_to_leader(const char *node, const char *path, const char *body,
                               char *at_out)
{
    char at[64], err[512];
    snprintf(at, sizeof at, "%s", node);
    for (int hop = 0; hop <= MAX_HOPS; hop++) {
        int status;
        char *raw = NULL;
        if (wr_ctl_http_request(at, "POST", path, "application/json", body, strlen(body), &status,
                                &raw, err, sizeof err) != 0) {
            fprintf(stderr, "warren ctl: %s\n", err);
            return NULL;
        }
        json_t *doc = json_loads(raw, 0, NULL);
        json_t *error = json_object_get(doc, "error");
        const char *leader_http = json_string_value(json_object_get(doc, "leader_http"));
        struct sockaddr_in sa;
        char why[128];
        if (status == 307 && leader_http != NULL && strlen(leader_http) < sizeof at &&
            wr_addr_parse(leader_http, &sa, why, sizeof why) == 0) {
            snprintf(at, sizeof at, "%s", leader_http);
            json_decref(doc);
            free(raw);
            continue;
        }
        if (status >= 200 && status < 300 && json_is_object(doc)) {
            free(raw);
            if (at_out != NULL)
                snprintf(at_out, 64, "%s", at);
            return doc;
        }
        if (json_is_string(error)) {
            char *e = wr__ctl_clean(json_string_value(error), json_string_length(error), false);
            fprintf(stderr, "warren ctl: node %s: %s\n", at, e);
            free(e);
        } else {
            size_t n = strlen(raw) > 300 ? 300 : strlen(raw);
            char *text = wr__ctl_clean(raw, n, true);
            fprintf(stderr, "warren ctl: node %s answered %d to POST %s: %s\n", at, status, path,
                    text);
            free(text);
        }
        json_decref(doc);
        free(raw);
        return NULL;
    }
    fprintf(stderr, "warren ctl: the leadership kept moving (%d redirects); try again\n", MAX_HOPS);
    return NULL;
}

static int parse_id(const char *s, long *id)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
        return -1;
    *id = v;
    return 0;
}

static void print_doc(json_t *doc)
{
    json_dumpf(doc, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
}

int wr__ctl_members(const char *node, const char *cmd, int nargs, const char *arg, const char *arg2,
                    bool as_json)
{
    char body[160];
    long id = 0;
    const char *path;
    if (strcmp(cmd, "add-node") == 0) {
        struct sockaddr_in sa;
        char why[128];
        if (nargs != 2 || parse_id(arg, &id) != 0) {
            fprintf(stderr, "warren ctl: usage: add-node ID IP:PORT (ID 1..65535, the new node's "
                            "cluster address)\ntry 'warren ctl --help'\n");
            return WR_CTL_EXIT_USAGE;
        }
        if (wr_addr_parse(arg2, &sa, why, sizeof why) != 0) {
            fprintf(stderr, "warren ctl: add-node: %s\ntry 'warren ctl --help'\n", why);
            return WR_CTL_EXIT_USAGE;
        }
        snprintf(body, sizeof body, "{\"id\": %ld, \"address\": \"%s\"}", id, arg2);
        path = "/api/cluster/nodes";
    } else if (strcmp(cmd, "remove-node") == 0) {
        if (nargs != 1 || parse_id(arg, &id) != 0) {
            fprintf(stderr, "warren ctl: usage: remove-node ID (1..65535)\n"
                            "try 'warren ctl --help'\n");
            return WR_CTL_EXIT_USAGE;
        }
        snprintf(body, sizeof body, "{\"id\": %ld}", id);
        path = "/api/cluster/remove";
    } else {
        if (nargs > 1 || (nargs == 1 && parse_id(arg, &id) != 0)) {
            fprintf(stderr, "warren ctl: usage: transfer-leader [ID] (1..65535)\n"
                            "try 'warren ctl --help'\n");
            return WR_CTL_EXIT_USAGE;
        }
        if (nargs == 1)
            snprintf(body, sizeof body, "{\"id\": %ld}", id);
        else
            snprintf(body, sizeof body, "{\"id\": null}");
        path = "/api/cluster/transfer";
    }
    json_t *doc = wr_ctl_post_to_leader(node, path, body, NULL);
    if (doc == NULL)
        return WR_CTL_EXIT_ERROR;
    if (as_json) {
        print_doc(doc);
    } else if (strcmp(cmd, "add-node") == 0) {
        const char *role = json_string_value(json_object_get(doc, "role"));
        bool again = json_object_get(doc, "note") != NULL;
        printf("node %ld (%s) %s, role %s.\n", id, arg2, again ? "is already a member" : "added",
               role ? role : "?");
        if (!again || (role && strcmp(role, "voter") != 0))
            printf("Start it with an empty --data and --join set to a member's cluster "
                   "address;\nthe leader makes it a voter once it has caught up.\n");
    } else if (strcmp(cmd, "remove-node") == 0) {
        printf("node %ld removed; it stops serving and exits within a few seconds.\n"
               "Wipe its data directory before reusing the machine.\n",
               id);
    } else {
        json_t *leader = json_object_get(doc, "leader");
        printf("node %lld leads now.\n",
               json_is_integer(leader) ? (long long)json_integer_value(leader) : -1LL);
    }
    json_decref(doc);
    return WR_CTL_EXIT_OK;
}
