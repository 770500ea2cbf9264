/* libraft glue; see raft_glue.h. The traps this file steps around are in
 * shared/notes/libraft-0.15.md: asserts are compiled out of Debian's build
 * (misuse corrupts silently), raft_strerror lacks strings for codes >= 19,
 * there is no state callback, and the data directory is not locked. */
#include "cluster/raft_glue.h"
#include "cluster/raft_early.h"
#include "cluster/raft_internal.h"
#include "cluster/raft_notify.h"
#include "cluster/raft_sendcap.h"
#include "common/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <raft.h>
#include <raft/uv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"

#define POLL_MS 5 /* while stopping, for the log to drain */
#define CONNECT_RETRY_MS 100
#define SEGMENT_BYTES (4u * 1024 * 1024)
#define DRAIN_MS 2000

struct wr_raft {
    uv_loop_t *loop;
    struct raft own;   /* the instance wr_raft_start creates */
    struct raft *raft; /* &own, or a raft_fixture server's (wr__raft_wrap) */
    struct raft_io io;
    struct raft_uv_transport transport;
    struct raft_fsm fsm;
    struct wr_raft_fsm user_fsm;
    struct wr_raft_hooks hooks;
    uv_timer_t poll;   /* while stopping: is the log drained yet? */
    uv_check_t watch;  /* after every loop iteration: did the role change? */
    struct wr_raft_status last;
    int lock_fd;
    bool raft_inited, io_inited, transport_inited, closing;
    void (*stop_cb)(void *arg);
    void *stop_arg;
    uint64_t stop_started;
    int handles_open;
    char *data_dir, *address;
    struct wr_raft_peer *peers; /* the bootstrap configuration */
    size_t n_peers;
    bool changing; /* a membership change of ours is in flight */
    struct wr_sendcap *sendcap; /* caps what libraft queues per peer */
    struct wr__early early;     /* early elections (raft_early.c) */
    struct wr__notify notify;   /* commit notices (raft_notify.c) */
};

struct wr__early *wr__raft_early(struct wr_raft *r)
{
    return &r->early;
}

struct wr__notify *wr__raft_notify(struct wr_raft *r)
{
    return &r->notify;
}

const char *wr_role_name(enum wr_role role)
{
    switch (role) {
    case WR_ROLE_FOLLOWER: return "follower";
    case WR_ROLE_CANDIDATE: return "candidate";
    case WR_ROLE_LEADER: return "leader";
    default: return "unavailable";
    }
}

/* raft_strerror has no text for codes >= 19 (the notes, section 1). */
const char *wr__raft_code_name(int rv)
{
    switch (rv) {
    case 19: return "not found";
    case 20: return "invalid";
    case 21: return "unauthorized";
    case 22: return "no space";
    case 23: return "too many";
    default: return raft_strerror(rv);
    }
}

/* libraft 0.15 requires every entry's length to be a multiple of 8: its
 * segment encoder asserts it, and with Debian's asserts compiled out an odd
 * length silently writes a segment that fails its checksum on the next start
 * (found here: a clean restart renamed the log to corrupt-*). So entries and
 * snapshots are zero-padded; the world's formats carry their own lengths. */
static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* ---- the FSM, as libraft calls it ----------------------------------- */

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct wr_raft *r = fsm->data;
    /* libraft 0.15 passes no index, but it applies entries one by one from
     * last_applied + 1 and moves last_applied only after apply returns
     * (replicationApply), so the entry being applied is the next one. */
    uint64_t index = raft_last_applied(r->raft) + 1;
    r->user_fsm.apply(r->user_fsm.data, index, buf->base, buf->len);
    *result = NULL;
    return 0;
}

/* FSM version 1: synchronous snapshot; libraft frees what we hand it. */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct wr_raft *r = fsm->data;
    struct wr_writer w;
    wr_writer_init(&w, 4096);
    wr_put_u64(&w, 0); /* length of what follows, patched below */
    r->user_fsm.snapshot(r->user_fsm.data, &w);
    uint64_t n = w.len - 8;
    for (int i = 0; i < 8; i++)
        w.base[i] = (uint8_t)(n >> (8 * i));
    size_t padded = pad8(w.len);
    struct raft_buffer *b = raft_malloc(sizeof *b);
    uint8_t *base = raft_malloc(padded);
    if (b == NULL || base == NULL) {
        raft_free(b);
        raft_free(base);
        wr_writer_free(&w);
        return RAFT_NOMEM;
    }
    memcpy(base, w.base, w.len);
    memset(base + w.len, 0, padded - w.len);
    b->base = base;
    b->len = padded;
    wr_writer_free(&w);
    *bufs = b;
    *n_bufs = 1;
    return 0;
}

/* The state machine's bytes inside a snapshot buffer framed by
 * fsm_snapshot (u64 length | bytes | zero padding): 0, or -1 if the framing
 * is bad. */
int wr__raft_snapshot_payload(const void *base, size_t len, const uint8_t **p, size_t *n)
{
    struct wr_reader rd;
    wr_reader_init(&rd, base, len);
    uint64_t declared = wr_get_u64(&rd);
    if (rd.err || declared > rd.left)
        return -1;
    *p = rd.p;
    *n = (size_t)declared;
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct wr_raft *r = fsm->data;
    const uint8_t *p;
    size_t n;
    int rv = -1;
    if (wr__raft_snapshot_payload(buf->base, buf->len, &p, &n) == 0)
        rv = r->user_fsm.restore(r->user_fsm.data, p, n);
    raft_free(buf->base);
    if (rv != 0)
        return RAFT_MALFORMED;
    wr_info("raft: restored a snapshot of %zu bytes", buf->len);
    return 0;
}

/* ---- status polling ------------------------------------------------- */

static enum wr_role role_of(struct raft *raft)
{
    switch (raft_state(raft)) {
    case RAFT_FOLLOWER: return WR_ROLE_FOLLOWER;
    case RAFT_CANDIDATE: return WR_ROLE_CANDIDATE;
    case RAFT_LEADER: return WR_ROLE_LEADER;
    default: return WR_ROLE_UNAVAILABLE;
    }
}

void wr_raft_get_status(struct wr_raft *r, struct wr_raft_status *st)
{
    memset(st, 0, sizeof *st);
    st->role = role_of(r->raft);
    raft_id id = 0;
    const char *address = NULL;
    raft_leader(r->raft, &id, &address);
    st->leader_id = id;
    if (address != NULL)
        snprintf(st->leader_address, sizeof st->leader_address, "%s", address);
    st->term = r->raft->current_term;
    st->commit_index = r->raft->commit_index;
    st->applied_index = raft_last_applied(r->raft);
    st->last_index = raft_last_index(r->raft);
}

static void begin_close(struct wr_raft *r);

/* Nothing appended is still waiting for the disk or for a commit. */
static bool log_idle(struct wr_raft *r)
{
    raft_index last = raft_last_index(r->raft);
    if (r->raft->last_stored < last)
        return false;
    return raft_state(r->raft) != RAFT_LEADER || r->raft->commit_index >= last;
}

static void poll_status(struct wr_raft *r);

static void poll_cb(uv_timer_t *t)
{
    struct wr_raft *r = t->data;
    if (log_idle(r) || uv_now(r->loop) - r->stop_started >= DRAIN_MS)
        begin_close(r);
}

/* libraft 0.15 has no callback for a role change, and changes its role only
 * inside its own callbacks (a message read, its tick, a disk write done),
 * each of which runs in a loop iteration; a check handle runs at the end of
 * every iteration, so it sees each change at once, where a 5 ms poll timer
 * saw it up to 5 ms late and woke an idle node 200 times a second (issue
 * 8: most of an idle node's CPU). It compares three fields: cheap enough
 * for every iteration. */
static void watch_cb(uv_check_t *c)
{
    struct wr_raft *r = c->data;
    if (r->closing)
        return;
    if (r->notify.armed)
        wr__notify_run(&r->notify, r->raft, r->early.tick);
    raft_id id = 0;
    const char *address = NULL;
    raft_leader(r->raft, &id, &address);
    if (role_of(r->raft) != r->last.role || id != r->last.leader_id || r->raft->current_term != r->last.term)
        poll_status(r);
}

/* Tell the hooks when role, leader or term changed since the last poll. */
static void poll_status(struct wr_raft *r)
{
    struct wr_raft_status st;
    wr_raft_get_status(r, &st);
    if (st.role != r->last.role || st.leader_id != r->last.leader_id || st.term != r->last.term) {
        if (st.role != r->last.role || st.leader_id != r->last.leader_id)
            wr_info("raft: %s, term %llu, leader %llu", wr_role_name(st.role),
                    (unsigned long long)st.term, (unsigned long long)st.leader_id);
        r->last = st;
        if (r->hooks.on_change)
            r->hooks.on_change(r->hooks.data, &st);
    }
}

void wr_raft_nodes_at(struct wr_raft *r, size_t i, struct wr_raft_node *out)
{
    const struct raft_server *sv = &r->raft->configuration.servers[i];
    out->id = sv->id;
    snprintf(out->address, sizeof out->address, "%s", sv->address);
    out->voter = sv->role == RAFT_VOTER;
    out->role = sv->role == RAFT_VOTER     ? "voter"
                : sv->role == RAFT_STANDBY ? "standby"
                                           : "spare";
}

size_t wr_raft_nodes(struct wr_raft *r, struct wr_raft_node *out, size_t max)
{
    size_t n = r->raft->configuration.n;
    for (size_t i = 0; i < n && i < max; i++)
        wr_raft_nodes_at(r, i, &out[i]);
    return n < max ? n : max;
}

bool wr_raft_peer_recent(struct wr_raft *r, uint64_t id)
{
    if (raft_state(r->raft) != RAFT_LEADER || r->raft->leader_state.progress == NULL)
        return false;
    const struct raft_configuration *c = &r->raft->configuration;
    /* progress[i] belongs to configuration.servers[i] (libraft's layout). */
    for (unsigned i = 0; i < c->n; i++)
        if (c->servers[i].id == id)
            return r->raft->leader_state.progress[i].recent_recv;
    return false;
}

/* ---- setup shared by wr_raft_start and wr__raft_wrap ----------------- */

static void install_fsm(struct wr_raft *r)
{
    r->fsm.version = 1;
    r->fsm.data = r;
    r->fsm.apply = fsm_apply;
    r->fsm.snapshot = fsm_snapshot;
    r->fsm.restore = fsm_restore;
}

/* What the notes recommend beyond the timeouts (which raft_fixture sets
 * itself and checks). */
static void set_tunables(struct wr_raft *r, const struct wr_raft_config *cfg)
{
    raft_set_pre_vote(r->raft, true);
    raft_set_snapshot_threshold(r->raft, cfg->snapshot_threshold);
    raft_set_snapshot_trailing(r->raft, cfg->snapshot_trailing);
}

/* ---- data directory ------------------------------------------------- */

/* libraft does not lock its directory: two processes on one dir both ran
 * as leader in the probe. Hold an flock for the life of the process. */
static int lock_data_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "mkdir(%s) failed: %s", dir, strerror(errno));
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/LOCK", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "open(%s) failed: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "data directory %s is in use by another warren process (%s)",
                 dir, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* libraft 0.15 trap (found by the nemesis runner, torn-log faults): an
 * open segment that is shorter than libraft made it, its tail lost with
 * its last entry cut or even whole, makes raft_start read past the end of
 * the file it loaded and die ("double free or corruption", or SIGSEGV).
 * libraft preallocates open segments zero-filled and treats a batch that
 * runs into zeros as an unfinished write, which it drops. So give such a
 * file its zeros back first: pad it to the segment size (or whole 4 KiB
 * blocks when it is larger), and say so. Nothing written is changed. */
#define SEGMENT_BLOCK 4096

static void pad_short_open_segments(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return; /* raft_uv_init reports a missing or unreadable dir */
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "open-", 5) != 0)
            continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
            continue; /* an empty open segment is one libraft removes itself */
        off_t want = ((st.st_size + SEGMENT_BLOCK - 1) / SEGMENT_BLOCK) * SEGMENT_BLOCK;
        if (want < (off_t)SEGMENT_BYTES)
            want = SEGMENT_BYTES;
        if (st.st_size >= want)
            continue;
        if (truncate(path, want) != 0) {
            wr_warn("raft: truncate(%s, %lld) failed: %s", path, (long long)want, strerror(errno));
            continue;
        }
        wr_warn("raft: open segment %s was %lld bytes, shorter than written (a torn tail): "
                "padded with zeros to %lld, so an entry cut short is dropped",
                path, (long long)st.st_size, (long long)want);
    }
    closedir(d);
}

/* ---- start / stop --------------------------------------------------- */

static void free_glue(struct wr_raft *r)
{
    free(r->peers);
    free(r->data_dir);
    free(r->address);
    wr_sendcap_destroy(r->sendcap);
    if (r->transport_inited)
        wr_transport_close(&r->transport);
    if (r->lock_fd >= 0)
        close(r->lock_fd);
    free(r);
}

/* libraft 0.15 trap: a follower whose disk write of entries completes after
 * it lost track of its leader (a new election started meanwhile) still
 * sends the AppendEntries result, to current_leader.address, now NULL; the
 * uv back end then calls strlen(NULL) when it has no open client for that
 * id, and the node dies (seen under the MUD benchmark: a core dump with
 * __strlen_evex under libraft's uvSend). Upstream fixed it after 0.15
 * ("replication: Drop append entries result if a state transition
 * occurred", canonical/raft #340, #351). Until Debian ships that, refuse
 * such sends here: every caller of io->send in 0.15 frees its request and
 * carries on when send fails, and a lost result is what Raft expects of a
 * network anyway (the leader retries). */
static int (*uv_send)(struct raft_io *io, struct raft_io_send *req,
                      const struct raft_message *message, raft_io_send_cb cb);

static int guarded_send(struct raft_io *io, struct raft_io_send *req,
                        const struct raft_message *message, raft_io_send_cb cb)
{
    if (message->server_address == NULL || message->server_id == 0)
        return RAFT_NOCONNECTION;
    return uv_send(io, req, message, cb);
}

bool wr_raft_has_log(const char *dir)
{
    char path[4096];
    struct stat st;
    for (int i = 1; i <= 2; i++) {
        snprintf(path, sizeof path, "%s/metadata%d", dir, i);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
            return true;
    }
    return false;
}

int wr_raft_open(struct wr_raft **out, uv_loop_t *loop, const struct wr_raft_config *cfg,
                 const struct wr_raft_fsm *fsm, const struct wr_raft_hooks *hooks, char *err,
                 size_t errlen)
{
    struct wr_raft *r = wr_calloc(1, sizeof *r);
    int rv;
    r->loop = loop;
    r->raft = &r->own;
    r->user_fsm = *fsm;
    r->hooks = *hooks;
    r->lock_fd = lock_data_dir(cfg->data_dir, err, errlen);
    if (r->lock_fd < 0) {
        free(r);
        return -1;
    }
    pad_short_open_segments(cfg->data_dir);

    rv = wr_transport_init(&r->transport, loop, cfg->key);
    if (rv != 0) {
        snprintf(err, errlen, "cluster transport: %s", wr__raft_code_name(rv));
        goto err_after_lock;
    }
    r->transport_inited = true;
    wr_transport_set_fwd_accept(&r->transport, hooks->on_fwd_accept, hooks->data);
    wr_transport_set_member_accept(&r->transport, hooks->on_member_accept, hooks->data);
    wr_transport_set_limits(&r->transport, cfg->handshake_timeout_ms, cfg->max_handshakes_per_ip);

    rv = raft_uv_init(&r->io, loop, cfg->data_dir, &r->transport);
    if (rv != 0) {
        snprintf(err, errlen, "raft_uv_init(%s) failed: %s (%d) %s", cfg->data_dir,
                 wr__raft_code_name(rv), rv, r->io.errmsg);
        goto err_after_lock;
    }
    r->io_inited = true;
    uv_send = r->io.send;
    r->io.send = guarded_send;
    r->sendcap = wr_sendcap_install(&r->io, loop, WR_SENDCAP_BYTES);
    raft_uv_set_connect_retry_delay(&r->io, CONNECT_RETRY_MS);
    wr__early_install(&r->early, r, r->raft, &r->io, cfg->heartbeat_ms, cfg->election_timeout_ms);
    raft_uv_set_segment_size(&r->io, SEGMENT_BYTES);

    install_fsm(r);
    rv = raft_init(r->raft, &r->io, &r->fsm, cfg->id, cfg->address);
    if (rv != 0) {
        snprintf(err, errlen, "raft_init failed: %s (%d) %s", wr__raft_code_name(rv), rv,
                 raft_errmsg(r->raft));
        raft_uv_close(&r->io);
        goto err_after_lock;
    }
    r->raft_inited = true;
    r->raft->data = r;
    r->data_dir = wr_strdup(cfg->data_dir);
    r->n_peers = cfg->n_peers;
    r->peers = wr_malloc((cfg->n_peers ? cfg->n_peers : 1) * sizeof *r->peers);
    if (cfg->n_peers > 0)
        memcpy(r->peers, cfg->peers, cfg->n_peers * sizeof *r->peers);
    r->address = wr_strdup(cfg->address);
    raft_set_election_timeout(r->raft, cfg->election_timeout_ms);
    raft_set_heartbeat_timeout(r->raft, cfg->heartbeat_ms);
    set_tunables(r, cfg);
    *out = r;
    return 0;

err_after_lock:
    free_glue(r);
    return -1;
}

/* raft_init succeeded: the only clean way out is raft_close, which is
 * asynchronous. Run the loop until it is done, then free everything. */
void wr_raft_abandon(struct wr_raft *r)
{
    r->closing = true;
    raft_close(r->raft, NULL);
    uv_run(r->loop, UV_RUN_DEFAULT);
    raft_uv_close(&r->io);
    free_glue(r);
}

int wr_raft_begin(struct wr_raft *r, bool bootstrap, char *err, size_t errlen)
{
    int rv;
    if (bootstrap) {
        /* An existing log answers CANTBOOTSTRAP, which means "already a
         * member" and is fine. */
        struct raft_configuration conf;
        raft_configuration_init(&conf);
        for (size_t i = 0; i < r->n_peers; i++) {
            rv = raft_configuration_add(&conf, r->peers[i].id, r->peers[i].address, RAFT_VOTER);
            if (rv != 0) {
                snprintf(err, errlen, "peer %llu (%s): %s", (unsigned long long)r->peers[i].id,
                         r->peers[i].address, wr__raft_code_name(rv));
                raft_configuration_close(&conf);
                goto err_after_raft_init;
            }
        }
        rv = raft_bootstrap(r->raft, &conf);
        raft_configuration_close(&conf);
        if (rv == 0)
            wr_info("raft: bootstrapped a new cluster of %zu voter(s) in %s", r->n_peers,
                    r->data_dir);
        else if (rv != RAFT_CANTBOOTSTRAP) {
            snprintf(err, errlen, "raft_bootstrap failed: %s (%d) %s", wr__raft_code_name(rv), rv,
                     raft_errmsg(r->raft));
            goto err_after_raft_init;
        }
    }

    rv = raft_start(r->raft);
    if (rv != 0) {
        /* errmsg is empty for a port in use (the notes, section 4.8). */
        snprintf(err, errlen, "raft_start failed: %s (%d) %s %s (is %s free?)",
                 wr__raft_code_name(rv), rv, raft_errmsg(r->raft), r->transport.errmsg,
                 r->address);
        goto err_after_raft_init;
    }

    uv_timer_init(r->loop, &r->poll);
    r->poll.data = r;
    uv_check_init(r->loop, &r->watch);
    r->watch.data = r;
    uv_check_start(&r->watch, watch_cb);
    r->handles_open = 2;
    wr__early_open_timer(&r->early, r->loop);
    r->handles_open++;
    return 0;

err_after_raft_init:
    wr_raft_abandon(r);
    return -1;
}

int wr_raft_start(struct wr_raft **out, uv_loop_t *loop, const struct wr_raft_config *cfg,
                  const struct wr_raft_fsm *fsm, const struct wr_raft_hooks *hooks, char *err,
                  size_t errlen)
{
    struct wr_raft *r;
    if (wr_raft_open(&r, loop, cfg, fsm, hooks, err, errlen) != 0)
        return -1;
    if (wr_raft_begin(r, !cfg->no_bootstrap, err, errlen) != 0)
        return -1;
    *out = r;
    return 0;
}

static void maybe_finish_stop(struct wr_raft *r);

static void poll_closed_cb(uv_handle_t *h)
{
    struct wr_raft *r = h->data;
    r->handles_open--;
    maybe_finish_stop(r);
}

static void raft_closed_cb(struct raft *raft)
{
    struct wr_raft *r = raft->data;
    raft_uv_close(&r->io);
    r->raft_inited = false;
    maybe_finish_stop(r);
}

static void maybe_finish_stop(struct wr_raft *r)
{
    if (r->handles_open > 0 || r->raft_inited)
        return;
    void (*cb)(void *) = r->stop_cb;
    void *arg = r->stop_arg;
    free_glue(r);
    if (cb)
        cb(arg);
}

/* libraft 0.15 can crash when closed with appends in flight (seen here: a
 * NULL walk in its entry reference table during raft_close, right after a
 * restart, on SIGTERM with client commands in flight; its asserts are
 * compiled out in Debian). So stop drains first: no new proposals, then wait
 * until what was appended is stored and committed (at most DRAIN_MS, e.g.
 * when no majority is left), and only then raft_close. */
void wr_raft_stop(struct wr_raft *r, void (*cb)(void *arg), void *arg)
{
    r->closing = true;
    wr__early_stop(&r->early); /* no campaign while draining */
    r->stop_cb = cb;
    r->stop_arg = arg;
    r->stop_started = uv_now(r->loop);
    if (log_idle(r))
        begin_close(r);
    else
        uv_timer_start(&r->poll, poll_cb, POLL_MS, POLL_MS);
}

static void begin_close(struct wr_raft *r)
{
    if (uv_is_closing((uv_handle_t *)&r->poll))
        return;
    uv_close((uv_handle_t *)&r->poll, poll_closed_cb);
    uv_close((uv_handle_t *)&r->watch, poll_closed_cb);
    wr__early_stop(&r->early);
    uv_close((uv_handle_t *)&r->early.timer, poll_closed_cb);
    raft_close(r->raft, raft_closed_cb);
}

/* ---- proposals ------------------------------------------------------ */

struct propose_req {
    struct raft_apply req;
    wr_raft_done_cb cb;
    void *arg;
};

static int map_status(int status)
{
    switch (status) {
    case 0: return 0;
    case RAFT_NOTLEADER: return WR_ENOTLEADER;
    case RAFT_SHUTDOWN: return WR_ESHUTDOWN;
    default: return WR_ELOST;
    }
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    struct propose_req *p = req->data;
    (void)result;
    p->cb(p->arg, map_status(status));
    free(p);
}

int wr_raft_propose(struct wr_raft *r, const void *data, size_t len, wr_raft_done_cb cb,
                    void *arg)
{
    if (r->closing)
        return WR_ESHUTDOWN;
    size_t padded = pad8(len ? len : 1);
    uint8_t *buf = raft_malloc(padded);
    if (buf == NULL) {
        wr_error("out of memory allocating a %zu-byte log entry", len);
        abort();
    }
    memcpy(buf, data, len);
    memset(buf + len, 0, padded - len);
    struct propose_req *p = wr_malloc(sizeof *p);
    p->req.data = p;
    p->cb = cb;
    p->arg = arg;
    struct raft_buffer b = {.base = buf, .len = padded};
    int rv = raft_apply(r->raft, &p->req, &b, 1, apply_cb);
    if (rv != 0) {
        raft_free(buf); /* ownership passes to libraft only on success */
        free(p);
        return map_status(rv);
    }
    return 0;
}

struct barrier_req {
    struct raft_barrier req;
    wr_raft_done_cb cb;
    void *arg;
};

static void barrier_cb(struct raft_barrier *req, int status)
{
    struct barrier_req *b = req->data;
    b->cb(b->arg, map_status(status));
    free(b);
}

int wr_raft_barrier(struct wr_raft *r, wr_raft_done_cb cb, void *arg)
{
    if (r->closing)
        return WR_ESHUTDOWN;
    struct barrier_req *b = wr_malloc(sizeof *b);
    b->req.data = b;
    b->cb = cb;
    b->arg = arg;
    int rv = raft_barrier(r->raft, &b->req, barrier_cb);
    if (rv != 0) {
        free(b);
        return map_status(rv);
    }
    return 0;
}

int wr_raft_notify_commit(struct wr_raft *r)
{
    if (r->closing || r->early.tick == NULL)
        return -1; /* no captured tick (raft_fixture servers): use a barrier */
    wr__notify_want(&r->notify, r->raft);
    return 0;
}

void wr_raft_metrics(struct wr_raft *r, struct wr_prom *p)
{
    wr_sendcap_metrics(r->sendcap, p);
    wr_prom_counter(p, "warren_raft_commit_notices_total",
                    "heartbeats sent to followers at once to carry a new commit index",
                    r->notify.sent);
}

struct raft_uv_transport *wr_raft_transport(struct wr_raft *r)
{
    return &r->transport;
}

/* ---- membership ------------------------------------------------------ */

size_t wr_raft_node_count(struct wr_raft *r)
{
    return r->raft->configuration.n;
}

bool wr_raft_node_find(struct wr_raft *r, uint64_t id, struct wr_raft_node *out)
{
    const struct raft_configuration *c = &r->raft->configuration;
    for (unsigned i = 0; i < c->n; i++) {
        if (c->servers[i].id != id)
            continue;
        if (out != NULL)
            wr_raft_nodes_at(r, i, out);
        return true;
    }
    return false;
}

bool wr_raft_changing(struct wr_raft *r)
{
    if (r->changing)
        return true;
    return raft_state(r->raft) == RAFT_LEADER &&
           (r->raft->leader_state.change != NULL || r->raft->leader_state.promotee_id != 0);
}

const char *wr_raft_strerror(int code)
{
    switch (code) {
    case 0: return "ok";
    case WR_ENOTLEADER: return "this node is not the leader";
    case WR_ESHUTDOWN: return "the node is shutting down";
    case WR_ELOST: return "leadership lost before the change committed (it may still commit)";
    case WR_EDUPLICATE: return "a node with that id is already a member";
    case WR_EBUSY: return "another membership change is in progress; try again in a moment";
    case WR_EBADID: return "no such member (or not a voter)";
    case WR_EBADROLE: return "the node already has that role";
    case WR_ENOVOTER: return "no other voter to hand the leadership to";
    case WR_EINVAL: return "invalid id or address";
    case WR_ECATCHUP: return "the node did not catch up with the log in time (is it running?)";
    default: return "unknown error";
    }
}

static int map_change_status(int status)
{
    switch (status) {
    case 0: return 0;
    case RAFT_NOTLEADER: return WR_ENOTLEADER;
    case RAFT_SHUTDOWN: return WR_ESHUTDOWN;
    case RAFT_DUPLICATEID: return WR_EDUPLICATE;
    case RAFT_CANTCHANGE: return WR_EBUSY;
    case RAFT_BADID: return WR_EBADID;
    case RAFT_BADROLE: return WR_EBADROLE;
    case RAFT_NOTFOUND: return WR_ENOVOTER;
    case RAFT_NOMEM:
    case RAFT_INVALID: return WR_EINVAL;
    case RAFT_NOCONNECTION: return WR_ECATCHUP;
    default: return WR_ELOST;
    }
}

struct change_req {
    struct raft_change req;
    struct wr_raft *r;
    wr_raft_done_cb cb;
    void *arg;
};

static void change_cb(struct raft_change *req, int status)
{
    struct change_req *c = req->data;
    c->r->changing = false;
    c->cb(c->arg, map_change_status(status));
    free(c);
}

/* One change at a time (libraft refuses a second with CANTCHANGE, and the
 * notes found concurrent adds racing): @op runs only when none is ours. */
enum change_op { CHANGE_ADD, CHANGE_PROMOTE, CHANGE_REMOVE };

static int change(struct wr_raft *r, enum change_op op, uint64_t id, const char *address,
                  wr_raft_done_cb cb, void *arg)
{
    if (r->closing)
        return WR_ESHUTDOWN;
    if (raft_state(r->raft) != RAFT_LEADER)
        return WR_ENOTLEADER;
    if (id == 0)
        return WR_EINVAL;
    if (wr_raft_changing(r))
        return WR_EBUSY;
    struct change_req *c = wr_malloc(sizeof *c);
    c->req.data = c;
    c->r = r;
    c->cb = cb;
    c->arg = arg;
    int rv;
    switch (op) {
    case CHANGE_ADD: rv = raft_add(r->raft, &c->req, id, address, change_cb); break;
    case CHANGE_PROMOTE: rv = raft_assign(r->raft, &c->req, id, RAFT_VOTER, change_cb); break;
    default: rv = raft_remove(r->raft, &c->req, id, change_cb); break;
    }
    if (rv != 0) {
        free(c);
        return map_change_status(rv);
    }
    r->changing = true;
    return 0;
}

int wr_raft_add(struct wr_raft *r, uint64_t id, const char *address, wr_raft_done_cb cb,
                void *arg)
{
    return change(r, CHANGE_ADD, id, address, cb, arg);
}

int wr_raft_promote(struct wr_raft *r, uint64_t id, wr_raft_done_cb cb, void *arg)
{
    return change(r, CHANGE_PROMOTE, id, NULL, cb, arg);
}

int wr_raft_remove(struct wr_raft *r, uint64_t id, wr_raft_done_cb cb, void *arg)
{
    return change(r, CHANGE_REMOVE, id, NULL, cb, arg);
}

struct transfer_req {
    struct raft_transfer req;
    struct wr_raft *r;
    wr_raft_done_cb cb;
    void *arg;
};

static void transfer_cb(struct raft_transfer *req)
{
    struct transfer_req *t = req->data;
    raft_id leader = 0;
    const char *address = NULL;
    raft_leader(t->r->raft, &leader, &address);
    bool moved = leader != 0 && leader != t->r->raft->id;
    t->cb(t->arg, moved ? 0 : WR_ELOST);
    free(t);
}

int wr_raft_transfer(struct wr_raft *r, uint64_t id, wr_raft_done_cb cb, void *arg)
{
    if (r->closing)
        return WR_ESHUTDOWN;
    if (raft_state(r->raft) != RAFT_LEADER)
        return WR_ENOTLEADER;
    if (r->raft->transfer != NULL)
        return WR_EBUSY;
    struct transfer_req *t = wr_calloc(1, sizeof *t);
    t->req.data = t;
    t->r = r;
    t->cb = cb;
    t->arg = arg;
    int rv = raft_transfer(r->raft, &t->req, id, transfer_cb);
    if (rv != 0) {
        free(t);
        return map_change_status(rv);
    }
    return 0;
}

/* ---- test seam: glue around a raft_fixture server -------------------- */

struct wr_raft *wr__raft_wrap(const struct wr_raft_fsm *fsm, const struct wr_raft_hooks *hooks,
                              struct raft_fsm **raft_fsm)
{
    struct wr_raft *r = wr_calloc(1, sizeof *r);
    r->user_fsm = *fsm;
    r->hooks = *hooks;
    r->lock_fd = -1;
    install_fsm(r);
    *raft_fsm = &r->fsm;
    return r;
}

void wr__raft_attach(struct wr_raft *r, struct raft *raft, const struct wr_raft_config *cfg)
{
    r->raft = raft;
    set_tunables(r, cfg);
}

void wr__raft_poll(struct wr_raft *r)
{
    poll_status(r);
}

void wr__raft_unwrap(struct wr_raft *r)
{
    free(r);
}
