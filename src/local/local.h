/* `warren cluster`: run a whole Warren cluster on this machine, N nodes on
 * 127.0.0.1 behind an nginx load balancer, for development, demos and the
 * black-box tests. Everything lives in one directory (default ./run/cluster):
 * the cookie, the layout `up` started (cluster.conf), nginx.conf, the data
 * dirs, logs and pid files, so a later `down`, `status`, `kill-node` or
 * `restart-node` (another process) finds it all there. Plain POSIX process
 * management (fork, setsid, execv, waitpid, kill); no event loop.
 * Single-threaded; no global state. */
#ifndef WR_LOCAL_H
#define WR_LOCAL_H

/* Directory used when --dir is not given. */
#define WR_LOCAL_DEFAULT_DIR "./run/cluster"

/* Exit codes of wr_local_main. */
enum {
    WR_LOCAL_EXIT_OK = 0,
    WR_LOCAL_EXIT_ERROR = 1,         /* did not start, not running, unreachable node... */
    WR_LOCAL_EXIT_USAGE = 2,         /* unknown command or option, bad value */
    WR_LOCAL_EXIT_DIVERGED = 3,      /* status: two nodes, same applied index, different hashes */
    WR_LOCAL_EXIT_INTERRUPTED = 130, /* up/restart-node: SIGINT before the cluster served */
};

/* Entry point of `warren cluster ...`; argv[0] is "cluster". Prints results
 * on stdout and errors on stderr; returns a WR_LOCAL_EXIT_* code. `up`
 * without --foreground returns while the processes it started keep running
 * (each in its own session); with --foreground it returns only after a
 * SIGINT, SIGTERM or SIGHUP, having stopped them. Blocks SIGINT, SIGTERM,
 * SIGHUP and SIGCHLD while `up`, `down` or `restart-node` runs (children get
 * the caller's original mask back) and ignores SIGPIPE. */
int wr_local_main(int argc, char **argv);

#endif
