/* The state hash cache; see state_hash.h. */
#include "node/state_hash.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"

/* One hash being taken: the snapshot bytes of the world at @index (@gen),
 * hashed on a worker thread. */
struct job {
    uv_work_t req;
    struct wr_state_hash *h;
    uint64_t index, gen;
    uint8_t *bytes;
    size_t len;
    char hex[17];
    uint64_t hash_ns;
};

static void work_cb(uv_work_t *req)
{
    struct job *j = req->data;
    uint64_t t0 = uv_hrtime();
    wr_world_hash_bytes(j->bytes, j->len, j->hex);
    j->hash_ns = uv_hrtime() - t0;
}

static void after_work_cb(uv_work_t *req, int status)
{
    struct job *j = req->data;
    struct wr_state_hash *h = j->h;
    h->inflight--;
    wr_hist_observe_ns(&h->hash_time, j->hash_ns);
    /* Jobs may finish out of order (several workers): keep the newest. */
    if (status == 0 && j->gen > h->hex_gen) {
        memcpy(h->hex, j->hex, sizeof h->hex);
        h->index = j->index;
        h->hex_gen = j->gen;
    }
    free(j->bytes);
    free(j);
}

/* Take the hash of the world as it is now, which is the state at @index. */
static void start(struct wr_state_hash *h, uint64_t index)
{
    uint64_t t0 = uv_hrtime();
    struct wr_writer w;
    wr_writer_init(&w, 4096);
    wr_world_snapshot(h->world, &w);
    struct job *j = wr_calloc(1, sizeof *j);
    j->req.data = j;
    j->h = h;
    j->index = index;
    j->gen = h->gen;
    j->bytes = wr_writer_take(&w, &j->len);
    h->taken_gen = h->gen;
    h->started_ms = uv_now(h->loop);
    h->hashes++;
    wr_hist_observe_ns(&h->write_time, uv_hrtime() - t0);
    h->inflight++;
    if (uv_queue_work(h->loop, &j->req, work_cb, after_work_cb) != 0) {
        /* Cannot happen with a valid loop and callback; hash here then. */
        work_cb(&j->req);
        after_work_cb(&j->req, 0);
    }
}

static void quiet_cb(uv_timer_t *t);

static void arm(struct wr_state_hash *h, uint64_t ms)
{
    if (!h->closing && !uv_is_active((uv_handle_t *)&h->quiet))
        uv_timer_start(&h->quiet, quiet_cb, ms, 0);
}

/* WR_STATE_HASH_QUIET_MS after a change: hash the world if it has stayed
 * put since and the last hash is not too recent; otherwise look again
 * when it could be. While entries keep coming, the checkpoints hash. */
static void quiet_cb(uv_timer_t *t)
{
    struct wr_state_hash *h = t->data;
    if (h->taken_gen == h->gen)
        return;
    uint64_t now = uv_now(h->loop);
    uint64_t quiet_at = h->changed_ms + WR_STATE_HASH_QUIET_MS;
    uint64_t gap_at = h->started_ms + WR_STATE_HASH_GAP_MS;
    uint64_t at = quiet_at > gap_at ? quiet_at : gap_at;
    if (now < at || h->inflight >= WR_STATE_HASH_MAX_INFLIGHT) {
        arm(h, now < at ? at - now : WR_STATE_HASH_QUIET_MS);
        return;
    }
    start(h, h->applied(h->data));
}

void wr_state_hash_init(struct wr_state_hash *h, uv_loop_t *loop, struct wr_world *world,
                        uint64_t (*applied)(void *data), void *data)
{
    memset(h, 0, sizeof *h);
    h->loop = loop;
    h->world = world;
    h->applied = applied;
    h->data = data;
    uv_timer_init(loop, &h->quiet);
    h->quiet.data = h;
    wr_hist_init_latency(&h->write_time);
    wr_hist_init_latency(&h->hash_time);
    wr_world_hash(world, h->hex); /* gen 0, index 0: the world before the log */
}

void wr_state_hash_close(struct wr_state_hash *h)
{
    h->closing = true;
    uv_close((uv_handle_t *)&h->quiet, NULL);
}

void wr_state_hash_applied(struct wr_state_hash *h, uint64_t index, uint64_t before_ms)
{
    h->gen++;
    h->changed_ms = uv_now(h->loop);
    uint64_t after_ms = wr_world_now(h->world);
    if (after_ms / WR_STATE_HASH_PERIOD_MS != before_ms / WR_STATE_HASH_PERIOD_MS) {
        /* A checkpoint. A node replaying a long log quickly (a restart)
         * meets many: it skips those it has no worker for rather than
         * pile up copies of the world. */
        if (h->inflight < WR_STATE_HASH_MAX_INFLIGHT) {
            start(h, index);
            return;
        }
        h->skipped++;
    }
    arm(h, WR_STATE_HASH_QUIET_MS);
}

void wr_state_hash_restored(struct wr_state_hash *h)
{
    h->gen++;
    h->changed_ms = uv_now(h->loop);
    arm(h, WR_STATE_HASH_QUIET_MS);
}

void wr_state_hash_get(const struct wr_state_hash *h, char hex[17], uint64_t *index)
{
    memcpy(hex, h->hex, 17);
    *index = h->index;
    if (h->hex_gen == h->gen) {
        uint64_t applied = h->applied(h->data);
        if (applied > *index)
            *index = applied;
    }
}
