/* `warren node`: one process of the cluster. It owns the libuv loop and wires
 * the parts together: the HTTP/WebSocket server (net/), libraft through the
 * glue and the proposer (cluster/), and the replicated world (world/, arena/).
 * Client messages become commands; applied commands become events, which
 * this node delivers to the clients connected to it. */
#ifndef WR_NODE_H
#define WR_NODE_H

/* Entry point for `warren node ARGS...` (argv[0] is "node"). Returns the
 * process exit code: 0 after a clean shutdown on SIGTERM/SIGINT, 1 if the
 * node could not start, 2 for bad arguments. */
int wr_node_main(int argc, char **argv);

#endif
