/* warren: one binary for the node, the admin CLI and the local cluster. */
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"
#include "local/local.h"
#include "node/node.h"
#include "replay/replay.h"

#define WARREN_VERSION "0.1.0"

static void usage(FILE *out)
{
    fprintf(out, "usage: warren COMMAND [ARGS]\n\n"
                 "Warren is a clustered game server: the world is a state machine replicated\n"
                 "by Raft, so any minority of nodes can fail and nothing acknowledged is lost.\n\n"
                 "commands:\n"
                 "  node       run one node of a cluster        (warren node --help)\n"
                 "  ctl        inspect a running cluster         (warren ctl --help)\n"
                 "  cluster    run a local cluster behind nginx  (warren cluster --help)\n"
                 "  replay     rebuild a stopped node's state    (warren replay --help)\n"
                 "  version    print the version\n\n"
                 "See README.md and docs/ for the protocol and the HTTP API.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "node") == 0)
        return wr_node_main(argc - 1, argv + 1);
    if (strcmp(cmd, "ctl") == 0)
        return wr_ctl_main(argc - 1, argv + 1);
    if (strcmp(cmd, "cluster") == 0)
        return wr_local_main(argc - 1, argv + 1);
    if (strcmp(cmd, "replay") == 0)
        return wr_replay_main(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("warren %s\n", WARREN_VERSION);
        return 0;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "warren: unknown command '%s'; try 'warren --help'\n", cmd);
    return 2;
}
