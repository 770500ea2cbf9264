/* Unit tests for cluster/raft_sendcap: the per-peer cap on what libraft
 * may have queued, wrapped around a raft_io whose send records requests and
 * completes none until the test says so (a peer that never answers, as in
 * the nemesis run with seed 502), on a real libuv loop (dropped sends are
 * failed from an idle handle). Every drop has its positive control: the
 * same message to a peer with room, or after the callbacks ran, goes
 * through. tests/cluster/sendcap.test.mjs runs the real thing against
 * libraft and raft_uv.
 *
 * SABOTAGE: run once with the cap disabled (capped_send's drop test
 * prefixed with `0 &&`): every test that expects a drop failed, e.g.
 * past_cap_dropped with "0x3 != 0x2" (the third message reached the inner
 * send); the positive controls passed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <raft.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "cluster/raft_sendcap.h"
#include "common/metrics.h"

#define CAP 10000
#define MAX_SENT 64

/* The fake raft_io: send keeps each request; complete() runs a callback;
 * close keeps its callback for the test to run. */
struct fake {
    struct raft_io io;
    uv_loop_t loop;
    struct raft_io_send *reqs[MAX_SENT];
    raft_io_send_cb cbs[MAX_SENT];
    int n;
    int fail_next; /* the next send fails at once with this code */
    raft_io_close_cb inner_close_cb;
    int closed; /* times the cap's close callback ran */
};

static void fake_close(struct raft_io *io, raft_io_close_cb cb)
{
    struct fake *f = (struct fake *)io;
    f->inner_close_cb = cb;
}

static int fake_send(struct raft_io *io, struct raft_io_send *req,
                     const struct raft_message *message, raft_io_send_cb cb)
{
    struct fake *f = (struct fake *)io;
    (void)message;
    if (f->fail_next != 0) {
        int rv = f->fail_next;
        f->fail_next = 0;
        return rv;
    }
    assert_true(f->n < MAX_SENT);
    f->reqs[f->n] = req;
    f->cbs[f->n] = cb;
    f->n++;
    return 0;
}

static void complete(struct fake *f, int i, int status)
{
    assert_non_null(f->cbs[i]);
    raft_io_send_cb cb = f->cbs[i];
    f->cbs[i] = NULL;
    cb(f->reqs[i], status);
}

/* What libraft sees: its own request back, with its data untouched. */
struct outer {
    struct raft_io_send req;
    int calls;
    int status;
};

static void outer_cb(struct raft_io_send *req, int status)
{
    struct outer *o = req->data;
    o->calls++;
    o->status = status;
}

static char payload[4096];

static struct raft_entry entries[64];

static struct raft_message append(uint64_t peer, unsigned n, size_t len)
{
    for (unsigned i = 0; i < n; i++)
        entries[i] = (struct raft_entry){
            .term = 1, .type = RAFT_COMMAND, .buf = {.base = payload, .len = len}};
    struct raft_message m = {
        .type = RAFT_IO_APPEND_ENTRIES, .server_id = peer, .server_address = "127.0.0.1:1"};
    m.append_entries = (struct raft_append_entries){
        .term = 1, .prev_log_index = 1, .prev_log_term = 1, .entries = entries, .n_entries = n};
    return m;
}

static int send_msg(struct fake *f, const struct raft_message *m, struct outer *o)
{
    o->req.data = o;
    return f->io.send(&f->io, &o->req, m, outer_cb);
}

static int setup(void **state)
{
    struct fake *f = calloc(1, sizeof *f);
    f->io.send = fake_send;
    f->io.close = fake_close;
    uv_loop_init(&f->loop);
    *state = f;
    return 0;
}

/* Fails the test if a handle was left open. */
static int teardown(void **state)
{
    struct fake *f = *state;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

static void on_closed(struct raft_io *io)
{
    ((struct fake *)io)->closed++;
}

/* Close as libraft does (io->close), then destroy: the cap's callback
 * comes once the inner io and the cap's own handle are both closed. */
static void close_and_destroy(struct fake *f, struct wr_sendcap *sc)
{
    f->io.close(&f->io, on_closed);
    assert_int_equal(f->closed, 0);
    f->inner_close_cb(&f->io);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->closed, 1);
    wr_sendcap_destroy(sc);
}

static struct wr_sendcap *install(struct fake *f)
{
    return wr_sendcap_install(&f->io, &f->loop, CAP);
}

/* Run the loop once: dropped sends get their callback. */
static void turn(struct fake *f)
{
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void test_cost_counts_payload_and_entries(void **state)
{
    (void)state;
    struct raft_message hb = append(2, 0, 0);
    struct raft_message one = append(2, 1, 1000);
    struct raft_message ten = append(2, 10, 1000);
    size_t base = wr_sendcap_cost(&hb);
    size_t per_entry = wr_sendcap_cost(&one) - base - 1000;
    assert_true(base > 0);
    /* logAcquire's raft_entry copy + 16-byte header + uv_buf_t */
    assert_true(per_entry >= sizeof(struct raft_entry) + 16);
    assert_int_equal(wr_sendcap_cost(&ten), base + 10 * (per_entry + 1000));
    struct raft_message snap = {.type = RAFT_IO_INSTALL_SNAPSHOT, .server_id = 2};
    snap.install_snapshot.data = (struct raft_buffer){.base = payload, .len = 5000};
    assert_int_equal(wr_sendcap_cost(&snap), base + 5000);
}

/* A dropped send: accepted, never reached the inner send, no callback yet;
 * the next loop iteration fails it with RAFT_NOCONNECTION. */
static void assert_dropped(struct fake *f, struct outer *o, int sent_before)
{
    assert_int_equal(f->n, sent_before);
    assert_int_equal(o->calls, 0);
    turn(f);
    assert_int_equal(o->calls, 1);
    assert_int_equal(o->status, RAFT_NOCONNECTION);
    assert_ptr_equal(o->req.data, o);
}

/* The positive control: sends that fit all go through, in order. */
static void test_below_cap_passes(void **state)
{
    struct fake *f = *state;
    struct wr_sendcap *sc = install(f);
    struct raft_message m = append(2, 2, 1000); /* about 2.4 KB */
    struct outer o[3] = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(send_msg(f, &m, &o[i]), 0);
    assert_int_equal(f->n, 3);
    struct wr_sendcap_peer p = wr_sendcap_peer(sc, 2);
    assert_int_equal(p.messages, 3);
    assert_int_equal(p.bytes, 3 * wr_sendcap_cost(&m));
    assert_true(p.bytes <= CAP);
    turn(f);
    assert_int_equal(o[0].calls + o[1].calls + o[2].calls, 0);
    assert_int_equal(wr_sendcap_dropped(sc), 0);
    for (int i = 0; i < 3; i++)
        complete(f, i, 0);
    close_and_destroy(f, sc);
}

static void test_past_cap_dropped(void **state)
{
    struct fake *f = *state;
    struct wr_sendcap *sc = install(f);
    struct raft_message m = append(2, 4, 1000); /* about 4.5 KB */
    struct outer o[4] = {0};
    assert_int_equal(send_msg(f, &m, &o[0]), 0);
    assert_int_equal(send_msg(f, &m, &o[1]), 0);
    /* A third would make about 13.5 KB outstanding: dropped. */
    assert_int_equal(send_msg(f, &m, &o[2]), 0);
    assert_dropped(f, &o[2], 2);
    assert_int_equal(wr_sendcap_peer(sc, 2).dropped, 1);
    assert_int_equal(wr_sendcap_peer(sc, 2).messages, 2);
    /* The cap is per peer: peer 3 has room for the very same message. */
    struct raft_message to3 = m;
    to3.server_id = 3;
    assert_int_equal(send_msg(f, &to3, &o[3]), 0);
    assert_int_equal(f->n, 3);
    assert_int_equal(wr_sendcap_peer(sc, 3).messages, 1);
    assert_int_equal(wr_sendcap_dropped(sc), 1);
    for (int i = 0; i < f->n; i++)
        complete(f, i, 0);
    close_and_destroy(f, sc);
}

/* A message larger than the cap goes when nothing is outstanding (so a big
 * catch-up makes progress), and not while it is. */
static void test_big_message_needs_an_empty_queue(void **state)
{
    struct fake *f = *state;
    struct wr_sendcap *sc = install(f);
    struct raft_message big = append(2, 8, 4096); /* about 33 KB */
    struct outer o[3] = {0};
    assert_int_equal(send_msg(f, &big, &o[0]), 0);
    assert_int_equal(f->n, 1);
    assert_int_equal(send_msg(f, &big, &o[1]), 0);
    assert_dropped(f, &o[1], 1);
    complete(f, 0, 0);
    assert_int_equal(wr_sendcap_peer(sc, 2).bytes, 0);
    assert_int_equal(send_msg(f, &big, &o[2]), 0);
    assert_int_equal(f->n, 2);
    complete(f, 1, 0);
    close_and_destroy(f, sc);
}

/* Completion, failed or not, frees the accounting and hands libraft its
 * own request back with the status; then the same message goes through. */
static void test_callbacks_free_the_accounting(void **state)
{
    struct fake *f = *state;
    struct wr_sendcap *sc = install(f);
    struct raft_message m = append(2, 4, 1000);
    struct outer o[4] = {0};
    assert_int_equal(send_msg(f, &m, &o[0]), 0);
    assert_int_equal(send_msg(f, &m, &o[1]), 0);
    assert_int_equal(send_msg(f, &m, &o[2]), 0);
    assert_dropped(f, &o[2], 2);
    complete(f, 0, 0);
    complete(f, 1, RAFT_IOERR);
    assert_int_equal(o[0].calls, 1);
    assert_int_equal(o[0].status, 0);
    assert_int_equal(o[1].calls, 1);
    assert_int_equal(o[1].status, RAFT_IOERR);
    assert_ptr_equal(o[1].req.data, &o[1]);
    assert_ptr_equal(o[1].req.cb, outer_cb);
    struct wr_sendcap_peer p = wr_sendcap_peer(sc, 2);
    assert_int_equal(p.bytes, 0);
    assert_int_equal(p.messages, 0);
    assert_int_equal(wr_sendcap_outstanding(sc), 0);
    assert_int_equal(send_msg(f, &m, &o[3]), 0);
    assert_int_equal(f->n, 3);
    complete(f, 2, 0);
    assert_int_equal(o[3].calls, 1);
    close_and_destroy(f, sc);
}

/* Heartbeats, results, votes and TimeoutNow are never dropped, however
 * much is outstanding; they are counted all the same. */
static void test_heartbeats_and_replies_always_pass(void **state)
{
    struct fake *f = *state;
    struct wr_sendcap *sc = install(f);
    struct raft_message big = append(2, 8, 4096);
    struct outer o[8] = {0};
    assert_int_equal(send_msg(f, &big, &o[0]), 0);
    assert_int_equal(send_msg(f, &big, &o[1]), 0);
    assert_dropped(f, &o[1], 1);
    struct raft_message hb = append(2, 0, 0);
    struct raft_message res = {.type = RAFT_IO_APPEND_ENTRIES_RESULT, .server_id = 2};
    struct raft_message vote = {.type = RAFT_IO_REQUEST_VOTE, .server_id = 2};
    struct raft_message vres = {.type = RAFT_IO_REQUEST_VOTE_RESULT, .server_id = 2};
    struct raft_message now = {.type = RAFT_IO_TIMEOUT_NOW, .server_id = 2};
    assert_int_equal(send_msg(f, &hb, &o[2]), 0);
    assert_int_equal(send_msg(f, &hb, &o[3]), 0);
    assert_int_equal(send_msg(f, &res, &o[4]), 0);
    assert_int_equal(send_msg(f, &vote, &o[5]), 0);
    assert_int_equal(send_msg(f, &vres, &o[6]), 0);
    assert_int_equal(send_msg(f, &now, &o[7]), 0);
    assert_int_equal(f->n, 7);
    assert_int_equal(wr_sendcap_peer(sc, 2).messages, 7);
    assert_int_equal(wr_sendcap_peer(sc, 2).dropped, 1);
    for (int i = 0; i < f->n; i++)
        complete(f, i, 0);
    assert_int_equal(wr_sendcap_peer(sc, 2).bytes, 0);
    close_and_destroy(f, sc);
}

/* libraft's TimeoutNow send passes no callback: the cap still frees its
 * accounting when the write completes. */
static void test_null_callback(void **state)
{
    struct fake *f = *state;
    struct wr_sendcap *sc = install(f);
    struct raft_message now = {.type = RAFT_IO_TIMEOUT_NOW, .server_id = 2};
    struct raft_io_send req = {0};
    assert_int_equal(f->io.send(&f->io, &req, &now, NULL), 0);
    assert_int_equal(wr_sendcap_peer(sc, 2).messages, 1);
    complete(f, 0, 0);
    assert_int_equal(wr_sendcap_peer(sc, 2).messages, 0);
    close_and_destroy(f, sc);
}

static void test_snapshot_dropped_past_cap(void **state)
{
    struct fake *f = *state;
    struct wr_sendcap *sc = install(f);
    struct raft_message snap = {.type = RAFT_IO_INSTALL_SNAPSHOT, .server_id = 2};
    snap.install_snapshot.data = (struct raft_buffer){.base = payload, .len = 4096};
    struct outer o[4] = {0};
    assert_int_equal(send_msg(f, &snap, &o[0]), 0);
    assert_int_equal(send_msg(f, &snap, &o[1]), 0);
    assert_int_equal(send_msg(f, &snap, &o[2]), 0);
    assert_dropped(f, &o[2], 2);
    complete(f, 0, 0);
    assert_int_equal(send_msg(f, &snap, &o[3]), 0);
    assert_int_equal(f->n, 3);
    complete(f, 1, 0);
    complete(f, 2, 0);
    close_and_destroy(f, sc);
}

/* A send the inner io refuses leaves nothing counted and calls nothing. */
static void test_inner_failure_counts_nothing(void **state)
{
    struct fake *f = *state;
    struct wr_sendcap *sc = install(f);
    struct raft_message m = append(2, 1, 100);
    struct outer o = {0};
    f->fail_next = RAFT_NOMEM;
    assert_int_equal(send_msg(f, &m, &o), RAFT_NOMEM);
    turn(f);
    assert_int_equal(o.calls, 0);
    assert_int_equal(wr_sendcap_peer(sc, 2).messages, 0);
    assert_int_equal(wr_sendcap_peer(sc, 2).bytes, 0);
    assert_int_equal(wr_sendcap_dropped(sc), 0);
    close_and_destroy(f, sc);
}

/* Close runs the callbacks of drops still waiting (RAFT_CANCELED, while
 * libraft's log is still there), before the inner close is even asked. */
static void test_close_runs_waiting_drops(void **state)
{
    struct fake *f = *state;
    struct wr_sendcap *sc = install(f);
    struct raft_message big = append(2, 8, 4096);
    struct outer o[2] = {0};
    assert_int_equal(send_msg(f, &big, &o[0]), 0);
    assert_int_equal(send_msg(f, &big, &o[1]), 0);
    assert_int_equal(o[1].calls, 0);
    f->io.close(&f->io, on_closed);
    assert_int_equal(o[1].calls, 1);
    assert_int_equal(o[1].status, RAFT_CANCELED);
    complete(f, 0, RAFT_CANCELED); /* as raft_uv cancels what it holds */
    assert_int_equal(o[0].calls, 1);
    f->inner_close_cb(&f->io);
    assert_int_equal(f->closed, 0); /* the cap's idle handle is not closed yet */
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->closed, 1);
    wr_sendcap_destroy(sc);
}

static void test_destroy_restores_methods(void **state)
{
    struct fake *f = *state;
    struct wr_sendcap *sc = install(f);
    assert_ptr_not_equal(f->io.send, fake_send);
    assert_ptr_not_equal(f->io.close, fake_close);
    wr_sendcap_destroy(sc); /* never started: no close needed */
    assert_ptr_equal(f->io.send, fake_send);
    assert_ptr_equal(f->io.close, fake_close);
    wr_sendcap_destroy(NULL);
}

/* Two raft_io's in one process each find their own cap. */
static void test_two_ios(void **state)
{
    struct fake *f = *state;
    struct fake g = {.io = {.send = fake_send, .close = fake_close}};
    struct wr_sendcap *a = install(f);
    struct wr_sendcap *b = wr_sendcap_install(&g.io, &f->loop, CAP);
    struct raft_message m = append(2, 1, 100);
    struct outer o[2] = {0};
    assert_int_equal(send_msg(f, &m, &o[0]), 0);
    assert_int_equal(send_msg(&g, &m, &o[1]), 0);
    assert_int_equal(wr_sendcap_peer(a, 2).messages, 1);
    assert_int_equal(wr_sendcap_peer(b, 2).messages, 1);
    assert_int_equal(f->n, 1);
    assert_int_equal(g.n, 1);
    complete(f, 0, 0);
    complete(&g, 0, 0);
    assert_int_equal(wr_sendcap_peer(a, 2).messages, 0);
    assert_int_equal(wr_sendcap_peer(b, 2).messages, 0);
    wr_sendcap_destroy(b);
    close_and_destroy(f, a);
}

static void test_metrics(void **state)
{
    struct fake *f = *state;
    struct wr_sendcap *sc = install(f);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct wr_prom p;
    wr_prom_init(&p, out, 1);
    wr_sendcap_metrics(sc, &p); /* nothing sent yet: no families */
    fflush(out);
    assert_int_equal(len, 0);
    struct raft_message big = append(3, 8, 4096);
    struct outer o[2] = {0};
    assert_int_equal(send_msg(f, &big, &o[0]), 0);
    assert_int_equal(send_msg(f, &big, &o[1]), 0);
    assert_dropped(f, &o[1], 1);
    wr_sendcap_metrics(sc, &p);
    fclose(out);
    char want[160];
    snprintf(want, sizeof want, "warren_raft_send_queued_bytes{node=\"1\",peer=\"3\"} %zu\n",
             wr_sendcap_cost(&big));
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "warren_raft_sends_dropped_total{node=\"1\",peer=\"3\"} 1\n"));
    assert_non_null(strstr(text, "# TYPE warren_raft_sends_dropped_total counter\n"));
    assert_non_null(strstr(text, "# TYPE warren_raft_send_queued_bytes gauge\n"));
    free(text);
    complete(f, 0, 0);
    close_and_destroy(f, sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cost_counts_payload_and_entries),
        cmocka_unit_test_setup_teardown(test_below_cap_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_past_cap_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_message_needs_an_empty_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callbacks_free_the_accounting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeats_and_replies_always_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_dropped_past_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inner_failure_counts_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_runs_waiting_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_restores_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_ios, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
