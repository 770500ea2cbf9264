/* Unit tests for the node's apply log (node/apply_log.c) driven by the real
 * state machine: entries built with the public encoders go through
 * wr_world_apply, whose on_verdict hook feeds the log as the node's does, and
 * the file on disk is read back. What the nemesis checker relies on: one
 * line per command with the entry's index, the exact verdict (a resent
 * command is "duplicate"), the payload in hex, lines appended across
 * reopenings (a restarted node), and a node that keeps going when the disk
 * is full (/dev/full, a real device that fails every write with ENOSPC). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena/arena.h"
#include "common/log.h"
#include "node/apply_log.h"
#include "world/world.h"

struct fixture {
    char path[64];
    struct wr_apply_log *log;
    struct wr_world *world;
    size_t verdicts;
};

static void on_verdict(void *data, const struct wr_cmd *cmd, enum wr_verdict v)
{
    struct fixture *f = data;
    f->verdicts++;
    wr_apply_log_cmd(f->log, cmd, v);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->path, sizeof f->path, "/tmp/warren-apply-log-XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    close(fd);
    char err[256];
    f->log = wr_apply_log_open(f->path, err, sizeof err);
    assert_non_null(f->log);
    struct wr_world_hooks h = {.data = f, .on_verdict = on_verdict};
    f->world = wr_world_create(&h);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    wr_apply_log_close(f->log);
    wr_world_destroy(f->world);
    unlink(f->path);
    free(f);
    return 0;
}

/* Apply one entry of @n commands at @index, as the node's fsm_apply does. */
static void apply(struct fixture *f, uint64_t index, const struct wr_cmd *cmds, size_t n)
{
    struct wr_writer e;
    wr_writer_init(&e, 256);
    wr_entry_header(&e, 1000 + index, index, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        wr_cmd_encode(&e, &cmds[i]);
    wr_apply_log_begin(f->log, index);
    assert_int_equal(wr_world_apply(f->world, e.base, e.len), 0);
    wr_apply_log_end(f->log);
    wr_writer_free(&e);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static struct wr_cmd arena_cmd(uint8_t type, uint64_t session, uint32_t seq,
                               const struct wr_writer *p)
{
    return (struct wr_cmd){.module = WR_MODULE_ARENA,
                           .type = type,
                           .node = 2,
                           .session = session,
                           .seq = seq,
                           .len = p ? (uint16_t)p->len : 0,
                           .payload = p ? p->base : NULL};
}

static void lines_match_what_was_applied(void **state)
{
    struct fixture *f = *state;
    struct wr_writer cfg, join, move;
    wr_writer_init(&cfg, 8);
    wr_writer_init(&join, 64);
    wr_writer_init(&move, 8);
    wr_arena_encode_config(&cfg, 8, 8);
    wr_arena_encode_join(&join, "al");
    wr_arena_encode_move(&move, WR_DIR_RIGHT, 1);

    struct wr_cmd c1 = arena_cmd(WR_ARENA_CONFIG, 0, 0, &cfg);
    apply(f, 3, &c1, 1);
    struct wr_cmd c2[2] = {arena_cmd(WR_ARENA_JOIN, 0xa0001, 1, &join),
                           arena_cmd(WR_ARENA_MOVE, 0xa0001, 2, &move)};
    apply(f, 4, c2, 2);
    /* The same move again (a proposer resending after a leadership change):
     * the world drops it, and the log says so. */
    apply(f, 6, &c2[1], 1);
    /* An entry without commands writes nothing. */
    apply(f, 7, NULL, 0);

    const char *want =
        "{\"i\":3,\"m\":\"arena.1\",\"n\":2,\"s\":\"0000000000000000\",\"q\":0,\"v\":\"applied\","
        "\"p\":\"08000800\"}\n"
        "{\"i\":4,\"m\":\"arena.2\",\"n\":2,\"s\":\"00000000000a0001\",\"q\":1,\"v\":\"applied\","
        "\"p\":\"02616c\"}\n"
        "{\"i\":4,\"m\":\"arena.3\",\"n\":2,\"s\":\"00000000000a0001\",\"q\":2,\"v\":\"applied\","
        "\"p\":\"0301000000\"}\n"
        "{\"i\":6,\"m\":\"arena.3\",\"n\":2,\"s\":\"00000000000a0001\",\"q\":2,\"v\":\"duplicate\","
        "\"p\":\"0301000000\"}\n";
    assert_int_equal(f->verdicts, 4);
    assert_string_equal(slurp(f->path), want);

    /* A restarted node reopens the file and appends: the old lines stay. */
    wr_apply_log_close(f->log);
    char err[256];
    f->log = wr_apply_log_open(f->path, err, sizeof err);
    assert_non_null(f->log);
    struct wr_cmd gap = arena_cmd(WR_ARENA_MOVE, 0xa0001, 9, &move);
    apply(f, 8, &gap, 1);
    const char *s = slurp(f->path);
    assert_int_equal(strncmp(s, want, strlen(want)), 0);
    assert_string_equal(s + strlen(want),
                        "{\"i\":8,\"m\":\"arena.3\",\"n\":2,\"s\":\"00000000000a0001\",\"q\":9,"
                        "\"v\":\"gap\",\"p\":\"0301000000\"}\n");
    wr_writer_free(&cfg);
    wr_writer_free(&join);
    wr_writer_free(&move);
}

static void core_and_unknown_commands_are_named(void **state)
{
    struct fixture *f = *state;
    uint8_t none[1] = {0};
    struct wr_cmd stale = {.module = WR_MODULE_ARENA, .type = WR_ARENA_MOVE, .node = 1,
                           .session = 77, .seq = 5, .len = 1, .payload = none};
    apply(f, 10, &stale, 1);
    wr_apply_log_begin(f->log, 11);
    struct wr_cmd core = {.module = WR_MODULE_CORE, .type = WR_CORE_PLACE, .node = 3};
    wr_apply_log_cmd(f->log, &core, WR_MALFORMED);
    struct wr_cmd odd = {.module = 9, .type = 4, .node = 3};
    wr_apply_log_cmd(f->log, &odd, WR_APPLIED);
    wr_apply_log_end(f->log);
    assert_string_equal(
        slurp(f->path),
        "{\"i\":10,\"m\":\"arena.3\",\"n\":1,\"s\":\"000000000000004d\",\"q\":5,\"v\":\"stale\","
        "\"p\":\"00\"}\n"
        "{\"i\":11,\"m\":\"core.2\",\"n\":3,\"s\":\"0000000000000000\",\"q\":0,\"v\":\"malformed\","
        "\"p\":\"\"}\n"
        "{\"i\":11,\"m\":\"module9.4\",\"n\":3,\"s\":\"0000000000000000\",\"q\":0,\"v\":"
        "\"applied\",\"p\":\"\"}\n");
}

/* A full disk: every write fails; the log says so once and the world goes
 * on applying (the apply log never stops the node). Positive control: the
 * same entries written to a normal file above. */
static void a_full_disk_does_not_stop_applying(void **state)
{
    struct fixture *f = *state;
    wr_apply_log_close(f->log);
    char err[256];
    f->log = wr_apply_log_open("/dev/full", err, sizeof err);
    if (f->log == NULL)
        skip();
    struct wr_writer cfg;
    wr_writer_init(&cfg, 8);
    wr_arena_encode_config(&cfg, 8, 8);
    for (uint64_t i = 1; i <= 3; i++) {
        struct wr_cmd c = arena_cmd(WR_ARENA_CONFIG, 0, 0, &cfg);
        apply(f, i, &c, 1);
    }
    assert_int_equal(f->verdicts, 3);
    wr_writer_free(&cfg);
}

static void opening_a_bad_path_says_why(void **state)
{
    (void)state;
    char err[256];
    assert_null(wr_apply_log_open("/nonexistent-dir/x.apply", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent-dir/x.apply"));
    assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
    wr_log_set_level(WR_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lines_match_what_was_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(core_and_unknown_commands_are_named, setup, teardown),
        cmocka_unit_test_setup_teardown(a_full_disk_does_not_stop_applying, setup, teardown),
        cmocka_unit_test(opening_a_bad_path_says_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
