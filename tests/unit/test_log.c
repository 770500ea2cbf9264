/* Unit tests for common/log: the json format is one valid JSON object per
 * line with the stable keys, whatever bytes the message quotes; the level
 * filter drops what is below it; the text format keeps its shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* Run @fn with stderr sent to a temporary file; return what it wrote. */
static char *capture(void (*fn)(void))
{
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    dup2(fileno(tmp), 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    long len = ftell(tmp);
    char *out = calloc(1, (size_t)len + 1);
    rewind(tmp);
    assert_int_equal(fread(out, 1, (size_t)len, tmp), (size_t)len);
    fclose(tmp);
    return out;
}

static void json_lines(void)
{
    wr_log_set_format(WR_LOG_JSON);
    wr_log_set_level(WR_LOG_INFO);
    wr_log_set_node(3);
    wr_info("proposer: forwarding to leader %d", 2);
    wr_warn("telnet: bad line from 10.0.0.9: \"%s\"", "a\x01\xff\xc3\xa9\\z");
    wr_debug("proposer: dropped by the level filter");
    wr_error("no component here: %s", "x");
}

static void test_json(void **state)
{
    (void)state;
    char *out = capture(json_lines);
    char *save = NULL;
    const char *want_msg[] = {"forwarding to leader 2", "bad line from 10.0.0.9: \"a\x01\xef\xbf\xbd\xc3\xa9\\z\"",
                              "no component here: x"};
    const char *want_comp[] = {"proposer", "telnet", NULL};
    const char *want_level[] = {"info", "warn", "error"};
    int n = 0;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
        assert_true(n < 3);
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        if (o == NULL)
            fail_msg("not JSON: %s (%s)", line, err.text);
        assert_string_equal(json_string_value(json_object_get(o, "level")), want_level[n]);
        assert_int_equal(json_integer_value(json_object_get(o, "node")), 3);
        assert_string_equal(json_string_value(json_object_get(o, "msg")), want_msg[n]);
        json_t *comp = json_object_get(o, "component");
        if (want_comp[n] == NULL)
            assert_null(comp);
        else
            assert_string_equal(json_string_value(comp), want_comp[n]);
        const char *ts = json_string_value(json_object_get(o, "ts"));
        assert_non_null(ts);
        assert_int_equal(strlen(ts), 24); /* 2026-11-30T13:30:00.123Z */
        assert_int_equal(ts[23], 'Z');
        json_decref(o);
    }
    assert_int_equal(n, 3);
    free(out);
}

static void text_line(void)
{
    wr_log_set_format(WR_LOG_TEXT);
    wr_log_set_level(WR_LOG_DEBUG);
    wr_log_set_node(3);
    wr_debug("raft: now %s", "shown");
}

static void test_text(void **state)
{
    (void)state;
    char *out = capture(text_line);
    /* "HH:MM:SS.mmm node3 debug: raft: now shown\n" */
    assert_int_equal(out[2], ':');
    assert_string_equal(out + 12, " node3 debug: raft: now shown\n");
    free(out);
}

static void test_parse(void **state)
{
    (void)state;
    assert_int_equal(wr_log_parse_level("warn"), WR_LOG_WARN);
    assert_int_equal(wr_log_parse_level("WARN"), -1);
    assert_int_equal(wr_log_parse_format("json"), WR_LOG_JSON);
    assert_int_equal(wr_log_parse_format("yaml"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
