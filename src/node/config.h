/* `warren node` settings: one table gives each setting its flag, its
 * environment variable, its default, its range and its help line; the same
 * table parses the command line and the environment, prints --help, and
 * renders the effective settings on /metrics. A flag beats the environment,
 * which beats the default. */
#ifndef WR_NODE_CONFIG_H
#define WR_NODE_CONFIG_H

#include <stdio.h>

#include "cluster/raft_glue.h"

struct wr_node_config {
    long id;
    char cluster[64];
    char http[64];
    char peers_text[1024];
    char join[64];         /* "": none; see --join */
    char data[1024];
    char cookie_file[1024];
    char telnet[64];
    char telnet_proxy_from[1024];
    char static_dir[1024];
    char apply_log[1024]; /* "": no apply log; see --apply-log */
    char log_format[8];   /* text, json */
    char admin_token_file[1024]; /* "": admin requests are refused */
    char admin_reads[8];         /* open, token */
    char log_level[8];    /* debug, info, warn, error */
    long election_timeout;
    long heartbeat;
    long snapshot_threshold;
    long snapshot_trailing;
    long queue_timeout;
    long grace;
    long max_pending;
    long max_ws_message;
    long ws_rate;
    long ws_burst;
    long max_connections;
    long max_output_kb;
    long max_body_kb;
    long seed; /* 0: off; see --seed */
    /* input-abuse limits (net/, cluster/transport_handshake.c) */
    long max_connections_per_ip;
    char per_ip_exempt[1024];
    long fd_reserve;
    long header_timeout;
    long idle_timeout;
    long telnet_max_line;
    long telnet_cmd_rate;
    long telnet_cmd_burst;
    long telnet_max_negotiations;
    long cluster_handshake_timeout;
    long cluster_max_handshakes_per_ip;

    /* derived by wr_node_config_parse */
    struct wr_raft_peer *peers; /* --peers (or CLUSTER_NODES); wr_node_config_free */
    size_t n_peers;
    char cookie[256]; /* the secret itself, from RELEASE_COOKIE ("" = none) */
};

/* Parse argv (after "node") and the environment. Returns 0 to run, 1 if
 * --help was printed (exit 0), -1 on an error already printed to stderr
 * (exit 2). Call wr_node_config_free afterwards in every case.
 *
 * The seed deployment's variables are read as aliases, below Warren's own
 * flags and variables: RELEASE_NODE=NAME@IP (the id from the digits that
 * end NAME, IP for --cluster and --http with their ports), RELEASE_COOKIE
 * (the secret itself, instead of --cookie-file), CLUSTER_NODES=NAME@IP,...
 * (the --peers, each on this node's cluster port) and PORT (the --http
 * port). */
int wr_node_config_parse(struct wr_node_config *c, int argc, char **argv);
void wr_node_config_free(struct wr_node_config *c);

void wr_node_config_usage(FILE *out);

/* The effective numeric settings, as one /metrics family. */
struct wr_prom;
void wr_node_config_dump(const struct wr_node_config *c, struct wr_prom *p);

#endif
