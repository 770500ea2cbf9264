/* Unit tests for `warren node`'s settings (node/config.c): the seed
 * deployment's variables as aliases (RELEASE_NODE, RELEASE_COOKIE,
 * CLUSTER_NODES, PORT), below Warren's flags and WARREN_* variables; --join
 * and the peer list. Each case sets the environment, parses, and clears it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/config.h"

static const char *const VARS[] = {
    "RELEASE_NODE", "RELEASE_COOKIE", "CLUSTER_NODES", "PORT",           "WARREN_ID",
    "WARREN_HTTP",  "WARREN_PEERS",   "WARREN_JOIN",   "WARREN_CLUSTER", "WARREN_COOKIE_FILE"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++)
        unsetenv(VARS[i]);
    return 0;
}

/* Parse "node" + @args (NULL-terminated); returns wr_node_config_parse's code. */
static int parse(struct wr_node_config *c, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"node";
    for (; args != NULL && *args != NULL && argc < 31; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    return wr_node_config_parse(c, argc, argv);
}

static void test_no_aliases(void **state)
{
    (void)state;
    struct wr_node_config c;
    assert_int_equal(parse(&c, NULL), 0);
    assert_int_equal(c.id, 1);
    assert_string_equal(c.cluster, "127.0.0.1:7001");
    assert_string_equal(c.http, "127.0.0.1:4001");
    assert_int_equal(c.n_peers, 1); /* a one-node cluster: itself */
    assert_string_equal(c.cookie, "");
    wr_node_config_free(&c);
}

static void test_seed_variables(void **state)
{
    (void)state;
    setenv("RELEASE_NODE", "warren3@10.0.0.3", 1);
    setenv("RELEASE_COOKIE", "a-secret-of-enough-bytes", 1);
    setenv("CLUSTER_NODES", "warren1@10.0.0.1,warren2@10.0.0.2,warren3@10.0.0.3", 1);
    setenv("PORT", "4000", 1);
    struct wr_node_config c;
    assert_int_equal(parse(&c, NULL), 0);
    assert_int_equal(c.id, 3);
    assert_string_equal(c.cluster, "10.0.0.3:7001");
    assert_string_equal(c.http, "10.0.0.3:4000");
    assert_string_equal(c.peers_text, "1=10.0.0.1:7001,2=10.0.0.2:7001,3=10.0.0.3:7001");
    assert_int_equal(c.n_peers, 3);
    assert_int_equal(c.peers[1].id, 2);
    assert_string_equal(c.peers[1].address, "10.0.0.2:7001");
    assert_string_equal(c.cookie, "a-secret-of-enough-bytes");
    wr_node_config_free(&c);
}

/* Flags and WARREN_* variables win over the aliases. */
static void test_flags_win(void **state)
{
    (void)state;
    setenv("RELEASE_NODE", "warren3@10.0.0.3", 1);
    setenv("PORT", "4000", 1);
    setenv("CLUSTER_NODES", "warren1@10.0.0.1,warren3@10.0.0.3", 1);
    setenv("WARREN_ID", "7", 1);
    const char *args[] = {"--http",        "127.0.0.1:4100", "--cluster",
                          "10.0.0.3:7300", "--peers",        "7=10.0.0.3:7300",
                          "--cookie-file", "/dev/null",      NULL};
    struct wr_node_config c;
    assert_int_equal(parse(&c, args), 0);
    assert_int_equal(c.id, 7);
    assert_string_equal(c.http, "127.0.0.1:4100");
    assert_string_equal(c.cluster, "10.0.0.3:7300");
    assert_int_equal(c.n_peers, 1);
    assert_int_equal(c.peers[0].id, 7);
    wr_node_config_free(&c);

    /* CLUSTER_NODES takes this node's cluster port */
    unsetenv("WARREN_ID");
    const char *args2[] = {"--cluster", "10.0.0.3:7300", "--cookie-file", "/dev/null", NULL};
    assert_int_equal(parse(&c, args2), 0);
    assert_string_equal(c.peers_text, "1=10.0.0.1:7300,3=10.0.0.3:7300");
    assert_string_equal(c.http, "10.0.0.3:4000");
    wr_node_config_free(&c);
}

static void test_alias_errors(void **state)
{
    (void)state;
    struct wr_node_config c;
    setenv("RELEASE_NODE", "warren@10.0.0.3", 1); /* no number, no --id */
    assert_int_equal(parse(&c, NULL), -1);
    wr_node_config_free(&c);
    const char *with_id[] = {"--id", "5", NULL};
    assert_int_equal(parse(&c, with_id), 0); /* the number is not needed then */
    assert_int_equal(c.id, 5);
    assert_string_equal(c.cluster, "10.0.0.3:7001");
    wr_node_config_free(&c);
    setenv("RELEASE_NODE", "warren3@localhost", 1);
    assert_int_equal(parse(&c, NULL), -1);
    wr_node_config_free(&c);
    unsetenv("RELEASE_NODE");
    setenv("PORT", "http", 1);
    assert_int_equal(parse(&c, NULL), -1);
    wr_node_config_free(&c);
    unsetenv("PORT");
    setenv("CLUSTER_NODES", "warren1@10.0.0.1,bad", 1);
    assert_int_equal(parse(&c, NULL), -1);
    wr_node_config_free(&c);
}

static void test_join(void **state)
{
    (void)state;
    struct wr_node_config c;
    const char *args[] = {"--id",          "4",         "--join", "127.0.0.1:7001",
                          "--cookie-file", "/dev/null", NULL};
    assert_int_equal(parse(&c, args), 0);
    assert_string_equal(c.join, "127.0.0.1:7001");
    wr_node_config_free(&c);
    /* a secret is required, --peers excluded, the address must parse */
    const char *no_secret[] = {"--id", "4", "--join", "127.0.0.1:7001", NULL};
    assert_int_equal(parse(&c, no_secret), -1);
    wr_node_config_free(&c);
    setenv("RELEASE_COOKIE", "a-secret-of-enough-bytes", 1);
    assert_int_equal(parse(&c, no_secret), 0);
    wr_node_config_free(&c);
    const char *both[] = {"--id", "1", "--join", "127.0.0.1:7002", "--peers", "1=127.0.0.1:7001",
                          NULL};
    assert_int_equal(parse(&c, both), -1);
    wr_node_config_free(&c);
    const char *bad[] = {"--join", "localhost:7001", NULL};
    assert_int_equal(parse(&c, bad), -1);
    wr_node_config_free(&c);
}

/* More peers than the old fixed maximum of 16. */
static void test_many_peers(void **state)
{
    (void)state;
    char peers[1024] = "";
    size_t len = 0;
    for (int i = 1; i <= 40; i++)
        len += (size_t)snprintf(peers + len, sizeof peers - len, "%s%d=10.0.1.%d:7001",
                                i > 1 ? "," : "", i, i);
    const char *args[] = {"--id",           "40",        "--cluster",
                          "10.0.1.40:7001", "--peers",   peers,
                          "--cookie-file",  "/dev/null", NULL};
    struct wr_node_config c;
    assert_int_equal(parse(&c, args), 0);
    assert_int_equal(c.n_peers, 40);
    assert_int_equal(c.peers[39].id, 40);
    wr_node_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_aliases, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_seed_variables, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_flags_win, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_alias_errors, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_join, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_many_peers, clear_env, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
