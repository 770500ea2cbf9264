/* Unit tests of `warren ctl` (src/ctl/): the formatters on sample JSON
 * (consistent, diverged, catching up, unreachable rows, missing fields,
 * wrong types, control characters), the HTTP client against a tiny blocking
 * server run in a pthread on a free 127.0.0.1 port (200, 503, refused,
 * garbage, chunked, truncated, silent), and wr_ctl_main end to end with its
 * stdout and stderr captured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/bytes.h"
#include "ctl/ctl.h"

/* ---- helpers ------------------------------------------------------------ */

/* Parse test JSON; \u0000 is allowed so the formatters meet NULs inside
 * strings (wr_ctl_main's own parsing rejects them). */
static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_ALLOW_NUL, &e);
    if (j == NULL)
        fail_msg("bad test JSON: %s: %s", e.text, text);
    return j;
}

struct capture {
    char *buf;
    size_t len;
    FILE *f;
};

static FILE *capture_start(struct capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    assert_non_null(c->f);
    return c->f;
}

/* Returns the captured text; caller frees. */
static char *capture_end(struct capture *c)
{
    fclose(c->f);
    return c->buf;
}

static char *format_status(const char *nodes_json, enum wr_ctl_verdict *v)
{
    struct capture c;
    json_t *nodes = parse(nodes_json);
    *v = wr_ctl_format_status(capture_start(&c), nodes);
    json_decref(nodes);
    return capture_end(&c);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a fake node: a blocking HTTP server in a thread ---------------------- */

#define MAX_ROUTES 4

struct route {
    const char *path;
    int status;
    char body[2048];
};

struct fake {
    int lfd;
    int port;
    char hostport[32];
    int conns;       /* connections to serve before the thread ends */
    const char *raw; /* when set, sent as is to every request */
    size_t raw_len;
    bool silent;    /* read the request, answer nothing, wait for the close */
    bool hold_open; /* after answering, keep the socket open until the peer
                       closes (a server ignoring Connection: close) */
    struct route routes[MAX_ROUTES];
    int nroutes;
    char request[4096]; /* the last request's head */
    char body[65536];   /* the first bytes of its body (by Content-Length) */
    size_t body_len;    /* the whole body's length as received */
    pthread_t thread;
};

static void fake_route(struct fake *f, const char *path, int status, const char *body)
{
    struct route *r = &f->routes[f->nroutes++];
    r->path = path;
    r->status = status;
    snprintf(r->body, sizeof r->body, "%s", body);
}

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* Wait (at most 5 s) until the peer closes @fd. */
static void wait_close(int fd)
{
    char b[256];
    long long end = now_ms() + 5000;
    while (now_ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0 && recv(fd, b, sizeof b, 0) <= 0)
            return;
    }
}

static void serve_one(struct fake *f, int fd)
{
    size_t len = 0;
    long long end = now_ms() + 3000;
    f->request[0] = '\0';
    while (len + 1 < sizeof f->request && strstr(f->request, "\r\n\r\n") == NULL &&
           now_ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = recv(fd, f->request + len, sizeof f->request - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        f->request[len] = '\0';
    }
    /* The body, when Content-Length announces one: keep the first bytes,
     * count all of them. */
    f->body_len = 0;
    char *eoh = strstr(f->request, "\r\n\r\n");
    const char *cl = strcasestr(f->request, "\r\nContent-Length: ");
    if (eoh != NULL && cl != NULL && cl < eoh) {
        size_t want = strtoul(cl + 18, NULL, 10), have = len - (size_t)(eoh + 4 - f->request);
        memcpy(f->body, eoh + 4, have < sizeof f->body ? have : sizeof f->body);
        f->body_len = have;
        *(eoh + 4) = '\0';
        while (f->body_len < want && now_ms() < end + 2000) {
            char b[4096];
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 100) <= 0)
                continue;
            ssize_t n = recv(fd, b, sizeof b, 0);
            if (n <= 0)
                break;
            if (f->body_len < sizeof f->body)
                memcpy(f->body + f->body_len, b,
                       sizeof f->body - f->body_len < (size_t)n ? sizeof f->body - f->body_len
                                                                : (size_t)n);
            f->body_len += (size_t)n;
        }
    }
    if (f->silent) {
        wait_close(fd);
        return;
    }
    if (f->raw != NULL) {
        write_all(fd, f->raw, f->raw_len);
    } else {
        const struct route *r = NULL;
        const char *target = strncmp(f->request, "GET ", 4) == 0    ? f->request + 4
                             : strncmp(f->request, "POST ", 5) == 0 ? f->request + 5
                                                                    : NULL;
        for (int i = 0; target != NULL && i < f->nroutes; i++) {
            size_t plen = strlen(f->routes[i].path);
            if (strncmp(target, f->routes[i].path, plen) == 0 && target[plen] == ' ')
                r = &f->routes[i];
        }
        char head[256];
        const char *body = r ? r->body : "not found";
        int n = snprintf(head, sizeof head,
                         "HTTP/1.1 %d Whatever\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                         r ? r->status : 404, strlen(body));
        write_all(fd, head, (size_t)n);
        write_all(fd, body, strlen(body));
    }
    if (f->hold_open)
        wait_close(fd);
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    for (int i = 0; i < f->conns; i++) {
        struct pollfd p = {.fd = f->lfd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            break;
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            break;
        serve_one(f, fd);
        close(fd);
    }
    return NULL;
}

/* Bind 127.0.0.1:0 and return the listening socket, its port in @port. */
static int listen_any(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void fake_init(struct fake *f)
{
    memset(f, 0, sizeof *f);
    f->conns = 1;
    f->lfd = listen_any(&f->port);
    snprintf(f->hostport, sizeof f->hostport, "127.0.0.1:%d", f->port);
}

static void fake_start(struct fake *f)
{
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
    pthread_join(f->thread, NULL);
    close(f->lfd);
}

/* A 127.0.0.1 port that nothing listens on (bound, then closed). */
static int closed_port(void)
{
    int port;
    close(listen_any(&port));
    return port;
}

/* Run wr_ctl_main with stdout and stderr captured into malloc'd strings. */
static int run_main(int argc, char **argv, char **out, char **err)
{
    FILE *fo = tmpfile(), *fe = tmpfile();
    assert_non_null(fo);
    assert_non_null(fe);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    int rc = wr_ctl_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    FILE *files[2] = {fo, fe};
    char **dst[2] = {out, err};
    for (int i = 0; i < 2; i++) {
        long n;
        fseek(files[i], 0, SEEK_END);
        n = ftell(files[i]);
        rewind(files[i]);
        *dst[i] = calloc(1, (size_t)n + 1);
        assert_int_equal(fread(*dst[i], 1, (size_t)n, files[i]), (size_t)n);
        fclose(files[i]);
    }
    return rc;
}

/* ---- status ------------------------------------------------------------- */

#define NODES_LIST                                                                                 \
    "\"nodes\":[{\"id\":1,\"address\":\"127.0.0.1:7001\",\"role\":\"voter\","                      \
    "\"http\":\"127.0.0.1:4001\"},"                                                                \
    "{\"id\":2,\"address\":\"127.0.0.1:7002\",\"role\":\"voter\",\"http\":\"127.0.0.1:4002\"},"    \
    "{\"id\":3,\"address\":\"127.0.0.1:7003\",\"role\":\"voter\",\"http\":\"127.0.0.1:4003\"}]"

static void test_status_consistent(void **state)
{
    (void)state;
    enum wr_ctl_verdict v;
    char *s = format_status(
        "[{\"id\":1,\"role\":\"leader\",\"leader\":1,\"term\":3,\"commit_index\":120,"
        "\"applied_index\":120,\"state_hash\":\"9f2c1e0a77b3d5e1\",\"ready\":true," NODES_LIST
        ",\"reachable\":true},"
        "{\"id\":2,\"role\":\"follower\",\"leader\":1,\"term\":3,\"commit_index\":120,"
        "\"applied_index\":120,\"state_hash\":\"9f2c1e0a77b3d5e1\",\"ready\":true," NODES_LIST
        ",\"reachable\":true},"
        "{\"id\":3,\"role\":\"follower\",\"leader\":1,\"term\":3,\"commit_index\":120,"
        "\"applied_index\":120,\"state_hash\":\"9f2c1e0a77b3d5e1\",\"ready\":true," NODES_LIST
        ",\"reachable\":true}]",
        &v);
    assert_int_equal(v, WR_CTL_CONSISTENT);
    assert_string_equal(
        s, "ID  ROLE      TERM  COMMIT  APPLIED  HASH              ADDRESS         HTTP\n"
           "1   leader    3     120     120      9f2c1e0a77b3d5e1  127.0.0.1:7001  127.0.0.1:4001\n"
           "2   follower  3     120     120      9f2c1e0a77b3d5e1  127.0.0.1:7002  127.0.0.1:4002\n"
           "3   follower  3     120     120      9f2c1e0a77b3d5e1  127.0.0.1:7003  127.0.0.1:4003\n"
           "state: consistent at index 120\n");
    free(s);
}

static void test_status_diverged(void **state)
{
    (void)state;
    enum wr_ctl_verdict v;
    char *s =
        format_status("[{\"id\":1,\"role\":\"leader\",\"term\":3,\"commit_index\":121,"
                      "\"applied_index\":121,\"state_hash\":\"aaaaaaaaaaaaaaaa\"," NODES_LIST "},"
                      "{\"id\":2,\"role\":\"follower\",\"term\":3,\"commit_index\":120,"
                      "\"applied_index\":120,\"state_hash\":\"bbbbbbbbbbbbbbbb\"," NODES_LIST "},"
                      "{\"id\":3,\"role\":\"follower\",\"term\":3,\"commit_index\":120,"
                      "\"applied_index\":120,\"state_hash\":\"cccccccccccccccc\"," NODES_LIST "}]",
                      &v);
    assert_int_equal(v, WR_CTL_DIVERGED);
    assert_non_null(strstr(s, "\nstate: DIVERGED at index 120\n"));
    free(s);

    /* Two conflicts: the verdict names the highest index. */
    json_int_t at = 0;
    json_t *nodes = parse("[{\"applied_index\":5,\"state_hash\":\"a\"},"
                          "{\"applied_index\":9,\"state_hash\":\"b\"},"
                          "{\"applied_index\":5,\"state_hash\":\"c\"},"
                          "{\"applied_index\":9,\"state_hash\":\"d\"}]");
    assert_int_equal(wr_ctl_status_verdict(nodes, &at), WR_CTL_DIVERGED);
    assert_int_equal(at, 9);
    json_decref(nodes);
}

static void test_status_catching_up(void **state)
{
    (void)state;
    json_int_t at = 0;
    json_t *nodes = parse("[{\"applied_index\":120,\"state_hash\":\"a\"},"
                          "{\"applied_index\":118,\"state_hash\":\"b\"},"
                          "{\"applied_index\":120,\"state_hash\":\"a\"}]");
    assert_int_equal(wr_ctl_status_verdict(nodes, &at), WR_CTL_CATCHING_UP);
    assert_int_equal(at, 120);
    struct capture c;
    assert_int_equal(wr_ctl_format_status(capture_start(&c), nodes), WR_CTL_CATCHING_UP);
    char *s = capture_end(&c);
    assert_non_null(strstr(s, "\nstate: nodes at different indexes (catching up)\n"));
    free(s);
    json_decref(nodes);
}

/* Nodes report the index their hash belongs to (state_hash_index), which
 * trails applied_index while entries keep coming: hashes are compared at
 * equal state_hash_index, never at equal applied_index. */
static void test_status_hash_index(void **state)
{
    (void)state;
    json_int_t at = 0;
    /* one applied index, hashes of different indexes: not a divergence */
    json_t *nodes = parse("[{\"applied_index\":120,\"state_hash_index\":117,\"state_hash\":\"a\"},"
                          "{\"applied_index\":120,\"state_hash_index\":120,\"state_hash\":\"b\"},"
                          "{\"applied_index\":120,\"state_hash\":\"b\"}]");
    assert_int_equal(wr_ctl_status_verdict(nodes, &at), WR_CTL_CATCHING_UP);
    assert_int_equal(at, 120);
    json_decref(nodes);
    /* two hashes at one state_hash_index, applied indexes apart: diverged */
    nodes = parse("[{\"applied_index\":125,\"state_hash_index\":117,\"state_hash\":\"a\"},"
                  "{\"applied_index\":121,\"state_hash_index\":117,\"state_hash\":\"c\"}]");
    assert_int_equal(wr_ctl_status_verdict(nodes, &at), WR_CTL_DIVERGED);
    assert_int_equal(at, 117);
    json_decref(nodes);
    /* every hash at the common applied index: consistent (an older node
     * without the field hashes at its applied index) */
    nodes = parse("[{\"applied_index\":120,\"state_hash_index\":120,\"state_hash\":\"b\"},"
                  "{\"applied_index\":120,\"state_hash\":\"b\"}]");
    assert_int_equal(wr_ctl_status_verdict(nodes, &at), WR_CTL_CONSISTENT);
    assert_int_equal(at, 120);
    json_decref(nodes);
}

static void test_status_unreachable(void **state)
{
    (void)state;
    enum wr_ctl_verdict v;
    char *s = format_status(
        "[{\"id\":1,\"role\":\"leader\",\"term\":3,\"commit_index\":7,"
        "\"applied_index\":7,\"state_hash\":\"00000000000000ff\"," NODES_LIST
        ",\"reachable\":true},"
        "{\"id\":2,\"address\":\"127.0.0.1:7002\",\"http\":\"127.0.0.1:4002\","
        "\"reachable\":false,\"error\":\"cannot reach node at 127.0.0.1:4002: connection "
        "refused\"},"
        "{\"id\":3,\"address\":\"127.0.0.1:7003\",\"http\":null,\"reachable\":false,"
        "\"error\":\"no http address registered\"}]",
        &v);
    /* Unreachable nodes do not count against consistency. */
    assert_int_equal(v, WR_CTL_CONSISTENT);
    assert_string_equal(
        s,
        "ID  ROLE         TERM  COMMIT  APPLIED  HASH              ADDRESS         HTTP\n"
        "1   leader       3     7       7        00000000000000ff  127.0.0.1:7001  127.0.0.1:4001\n"
        "2   unreachable  -     -       -        -                 127.0.0.1:7002  127.0.0.1:4002\n"
        "3   unreachable  -     -       -        -                 127.0.0.1:7003  -\n"
        "node 2: cannot reach node at 127.0.0.1:4002: connection refused\n"
        "node 3: no http address registered\n"
        "state: consistent at index 7\n");
    free(s);

    s = format_status("[{\"id\":1,\"reachable\":false},{\"id\":2,\"reachable\":false}]", &v);
    assert_int_equal(v, WR_CTL_UNKNOWN);
    assert_non_null(strstr(s, "\nstate: unknown (no node answered)\n"));
    free(s);
}

static void test_status_missing_fields(void **state)
{
    (void)state;
    enum wr_ctl_verdict v;
    /* An empty object, a null and a number as nodes, and a node whose own
     * list does not contain itself. */
    char *s = format_status("[{}, null, 5, {\"id\":4,\"role\":\"follower\",\"nodes\":[]}]", &v);
    assert_int_equal(v, WR_CTL_UNKNOWN);
    assert_string_equal(s, "ID  ROLE      TERM  COMMIT  APPLIED  HASH  ADDRESS  HTTP\n"
                           "-   -         -     -       -        -     -        -\n"
                           "-   -         -     -       -        -     -        -\n"
                           "-   -         -     -       -        -     -        -\n"
                           "4   follower  -     -       -        -     -        -\n"
                           "state: unknown (a node did not report its applied index and "
                           "state hash)\n");
    free(s);

    /* One node reports, another does not: no claim of consistency. */
    json_t *nodes = parse("[{\"applied_index\":3,\"state_hash\":\"a\"},{\"id\":2}]");
    assert_int_equal(wr_ctl_status_verdict(nodes, NULL), WR_CTL_UNKNOWN);
    json_decref(nodes);

    /* Not an array at all. */
    nodes = json_string("nonsense");
    struct capture c;
    assert_int_equal(wr_ctl_format_status(capture_start(&c), nodes), WR_CTL_UNKNOWN);
    s = capture_end(&c);
    assert_string_equal(s, "ID  ROLE  TERM  COMMIT  APPLIED  HASH  ADDRESS  HTTP\n"
                           "state: unknown (no node answered)\n");
    free(s);
    json_decref(nodes);
    assert_int_equal(wr_ctl_status_verdict(NULL, NULL), WR_CTL_UNKNOWN);
}

static void test_status_wrong_types(void **state)
{
    (void)state;
    enum wr_ctl_verdict v;
    char *s = format_status("[{\"id\":\"one\",\"role\":5,\"term\":\"3\",\"commit_index\":1.5,"
                            "\"applied_index\":true,\"state_hash\":7,\"address\":[],"
                            "\"http\":{},\"reachable\":\"yes\",\"error\":17,"
                            "\"nodes\":\"x\"}]",
                            &v);
    assert_int_equal(v, WR_CTL_UNKNOWN);
    assert_string_equal(s, "ID  ROLE  TERM  COMMIT  APPLIED  HASH  ADDRESS  HTTP\n"
                           "?   ?     ?     ?       ?        ?     ?        ?\n"
                           "state: unknown (a node did not report its applied index and "
                           "state hash)\n");
    free(s);

    /* An applied index that is a string is not comparable: the other two
     * still decide. */
    json_t *nodes = parse("[{\"applied_index\":\"9\",\"state_hash\":\"a\",\"reachable\":false},"
                          "{\"applied_index\":9,\"state_hash\":\"a\"},"
                          "{\"applied_index\":9,\"state_hash\":\"a\"}]");
    json_int_t at;
    assert_int_equal(wr_ctl_status_verdict(nodes, &at), WR_CTL_CONSISTENT);
    assert_int_equal(at, 9);
    json_decref(nodes);
}

static void test_status_control_chars(void **state)
{
    (void)state;
    enum wr_ctl_verdict v;
    /* ESC, a NUL and U+009B (C1 CSI) must not reach the terminal. */
    char *s = format_status("[{\"id\":1,\"role\":\"\\u001b[31mred\\u0000\\u009bx\","
                            "\"address\":\"caf\\u00e9\",\"reachable\":false,"
                            "\"error\":\"bad\\nline\"}]",
                            &v);
    assert_null(strchr(s, '\x1b'));
    assert_null(strstr(s, "\xc2\x9b"));
    assert_non_null(strstr(s, "caf\xc3\xa9"));
    assert_non_null(strstr(s, "node 1: bad?line\n"));
    free(s);

    s = format_status("[{\"id\":1,\"role\":\"\\u001b[31mred\\u0000\\u009bx\"}]", &v);
    assert_non_null(strstr(s, "?[31mred??x"));
    free(s);
}

/* ---- registry and state ------------------------------------------------- */

static const char *const REGISTRY =
    "{\"names\":[{\"name\":\"arena\",\"kind\":\"singleton\",\"node\":2,\"epoch\":5},"
    "{\"name\":\"node/1\",\"kind\":\"node\",\"node\":1,\"http\":\"127.0.0.1:4001\"},"
    "{\"name\":\"node/2\",\"kind\":\"node\",\"node\":2,\"http\":\"127.0.0.1:4002\"},"
    "{\"name\":\"player/alice\",\"kind\":\"player\",\"node\":1,\"id\":3},"
    "{\"name\":\"player/bob\",\"kind\":\"player\",\"node\":7,\"id\":4},"
    "{\"name\":\"weird\",\"kind\":\"gizmo\",\"node\":\"x\"},"
    "{\"name\":5},[],null]}";

static char *format_entry(json_t *reg, const char *name)
{
    struct capture c;
    json_t *e = wr_ctl_registry_find(reg, name);
    if (e == NULL)
        return NULL;
    wr_ctl_format_entry(capture_start(&c), e, reg);
    return capture_end(&c);
}

static void test_whereis(void **state)
{
    (void)state;
    json_t *reg = parse(REGISTRY);
    char *s = format_entry(reg, "arena");
    assert_string_equal(s, "arena: node 2 (http 127.0.0.1:4002), singleton, epoch 5\n");
    free(s);
    s = format_entry(reg, "alice"); /* falls back to player/alice */
    assert_string_equal(s, "player/alice: node 1 (http 127.0.0.1:4001), player id 3\n");
    free(s);
    s = format_entry(reg, "player/bob"); /* node 7 has no http entry */
    assert_string_equal(s, "player/bob: node 7, player id 4\n");
    free(s);
    s = format_entry(reg, "node/1");
    assert_string_equal(s, "node/1: node 1 (http 127.0.0.1:4001), node\n");
    free(s);
    s = format_entry(reg, "weird");
    assert_string_equal(s, "weird: node ?, gizmo\n");
    free(s);

    assert_null(wr_ctl_registry_find(reg, "carol"));
    assert_null(wr_ctl_registry_find(reg, "x/alice")); /* has a slash: no fallback */
    assert_null(wr_ctl_registry_find(reg, ""));
    json_decref(reg);

    /* No names array, or not even an object. */
    reg = parse("{\"names\":{}}");
    assert_null(wr_ctl_registry_find(reg, "arena"));
    json_decref(reg);
    assert_null(wr_ctl_registry_find(NULL, "arena"));

    /* An entry without node or kind. */
    reg = parse("{\"names\":[{\"name\":\"lonely\"}]}");
    s = format_entry(reg, "lonely");
    assert_string_equal(s, "lonely: node -, -\n");
    free(s);
    json_decref(reg);
}

static void test_registry_table(void **state)
{
    (void)state;
    json_t *reg = parse(REGISTRY);
    struct capture c;
    assert_int_equal(wr_ctl_format_registry(capture_start(&c), reg), 9);
    char *s = capture_end(&c);
    assert_string_equal(s, "NAME          KIND       NODE  DETAIL\n"
                           "arena         singleton  2     epoch 5\n"
                           "node/1        node       1     http 127.0.0.1:4001\n"
                           "node/2        node       2     http 127.0.0.1:4002\n"
                           "player/alice  player     1     id 3\n"
                           "player/bob    player     7     id 4\n"
                           "weird         gizmo      ?     -\n"
                           "?             -          -     -\n"
                           "-             -          -     -\n"
                           "-             -          -     -\n");
    free(s);
    json_decref(reg);

    reg = parse("{\"names\":\"none\"}");
    assert_int_equal(wr_ctl_format_registry(capture_start(&c), reg), -1);
    s = capture_end(&c);
    assert_string_equal(s, "");
    free(s);
    json_decref(reg);
}

/* Registry entries of the MUD's kinds: zones (epoch, info), NPCs (info). */
static const char *const MUD_REGISTRY =
    "{\"names\":[{\"name\":\"node/1\",\"kind\":\"node\",\"node\":1,\"http\":\"127.0.0.1:4001\"},"
    "{\"name\":\"zone/town\",\"kind\":\"zone\",\"node\":1,\"epoch\":4,\"info\":\"The Town\"},"
    "{\"name\":\"zone/forest\",\"kind\":\"zone\",\"node\":2,\"epoch\":1},"
    "{\"name\":\"npc/17\",\"kind\":\"npc\",\"node\":2,\"info\":\"guard in town.gate\"},"
    "{\"name\":\"npc/18\",\"kind\":\"npc\",\"node\":2,\"info\":{\"room\":\"a\\u001b\"}},"
    "{\"name\":\"zone/void\",\"kind\":\"zone\",\"node\":3,\"epoch\":\"x\",\"info\":null},"
    "{\"name\":\"arena\",\"kind\":\"singleton\",\"node\":1,\"epoch\":2,"
    "\"info\":\"bell\\u0007\"}]}";

static void test_whereis_mud_kinds(void **state)
{
    (void)state;
    json_t *reg = parse(MUD_REGISTRY);
    char *s = format_entry(reg, "zone/town");
    assert_string_equal(s, "zone/town: node 1 (http 127.0.0.1:4001), zone, epoch 4, The Town\n");
    free(s);
    s = format_entry(reg, "zone/forest"); /* node 2 has no http entry; no info */
    assert_string_equal(s, "zone/forest: node 2, zone, epoch 1\n");
    free(s);
    s = format_entry(reg, "npc/17"); /* no epoch */
    assert_string_equal(s, "npc/17: node 2, npc, guard in town.gate\n");
    free(s);
    s = format_entry(reg, "npc/18"); /* info that is not a string: compact JSON, cleaned */
    assert_string_equal(s, "npc/18: node 2, npc, {\"room\":\"a\\u001B\"}\n");
    free(s);
    s = format_entry(reg, "zone/void"); /* wrong epoch type, null info */
    assert_string_equal(s, "zone/void: node 3, zone, epoch ?\n");
    free(s);
    s = format_entry(reg, "arena"); /* singletons get info too, control chars cleaned */
    assert_string_equal(s, "arena: node 1 (http 127.0.0.1:4001), singleton, epoch 2, bell?\n");
    free(s);
    assert_null(wr_ctl_registry_find(reg, "town")); /* no zone/ fallback: player/town */

    struct capture c;
    assert_int_equal(wr_ctl_format_registry(capture_start(&c), reg), 7);
    s = capture_end(&c);
    assert_string_equal(s, "NAME         KIND       NODE  DETAIL\n"
                           "node/1       node       1     http 127.0.0.1:4001\n"
                           "zone/town    zone       1     epoch 4, The Town\n"
                           "zone/forest  zone       2     epoch 1\n"
                           "npc/17       npc        2     guard in town.gate\n"
                           "npc/18       npc        2     {\"room\":\"a\\u001B\"}\n"
                           "zone/void    zone       3     epoch ?\n"
                           "arena        singleton  1     epoch 2, bell?\n");
    free(s);
    json_decref(reg);
}

static const char *const MUD =
    "{\"world\":{\"name\":\"demo\",\"version\":\"3f2a9c\",\"hash\":\"77e0d1\",\"zones\":2,"
    "\"rooms\":31},"
    "\"zones\":[{\"key\":\"town\",\"name\":\"The Town\",\"owner\":1,\"epoch\":4,\"rooms\":20,"
    "\"npcs\":3,\"players\":2},"
    "{\"key\":\"forest\",\"name\":\"Dark Forest\",\"owner\":2,\"epoch\":1,\"rooms\":11,"
    "\"npcs\":0,\"players\":1}],"
    "\"nodes\":[{\"id\":1,\"zones\":[\"town\"],\"players\":2},"
    "{\"id\":2,\"zones\":[\"forest\"],\"players\":1},{\"id\":3,\"zones\":[],\"players\":0}],"
    "\"players\":[{\"name\":\"alice\",\"room\":\"town.square\",\"zone\":\"town\",\"node\":1,"
    "\"state\":\"playing\"},"
    "{\"name\":\"bob\",\"room\":\"town.gate\",\"zone\":\"town\",\"node\":1,\"state\":\"linkdead\"},"
    "{\"name\":\"carol\",\"room\":\"forest.edge\",\"zone\":\"forest\",\"node\":2,"
    "\"state\":\"playing\"}],"
    "\"npcs\":[{\"id\":17,\"key\":\"guard\",\"name\":\"a guard\",\"room\":\"town.gate\","
    "\"zone\":\"town\"}]}";

static const char *const MUD_TABLE =
    "world demo, version 3f2a9c, hash 77e0d1, 2 zones, 31 rooms, 3 players, 1 NPC\n"
    "\n"
    "ZONE    NAME         OWNER  EPOCH  ROOMS  NPCS  PLAYERS\n"
    "town    The Town     1      4      20     3     2\n"
    "forest  Dark Forest  2      1      11     0     1\n"
    "\n"
    "NODE  ZONES   PLAYERS\n"
    "1     town    2\n"
    "2     forest  1\n"
    "3     -       0\n"
    "\n"
    "PLAYER  ROOM         ZONE    NODE  STATE\n"
    "alice   town.square  town    1     playing\n"
    "bob     town.gate    town    1     linkdead\n"
    "carol   forest.edge  forest  2     playing\n";

static char *format_mud(const char *text, int *rc)
{
    struct capture c;
    json_t *j = parse(text);
    *rc = wr_ctl_format_mud(capture_start(&c), j);
    json_decref(j);
    return capture_end(&c);
}

static void test_mud_table(void **state)
{
    (void)state;
    int rc;
    char *s = format_mud(MUD, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(s, MUD_TABLE);
    free(s);

    /* An empty world: only the world line. */
    s = format_mud("{\"world\":{\"name\":\"empty\",\"version\":7,\"zones\":0,\"rooms\":0},"
                   "\"zones\":[],\"nodes\":[],\"players\":[],\"npcs\":[]}",
                   &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(s, "world empty, version 7, hash -, 0 zones, 0 rooms, 0 players, 0 NPCs\n");
    free(s);

    /* Missing and mistyped fields, several zones per node, control
     * characters in names chosen by builders and players. */
    s = format_mud("{\"zones\":[{\"key\":\"a\\u001b[2J\",\"owner\":\"one\"}],"
                   "\"nodes\":[{\"id\":1,\"zones\":[\"a\",\"b\",5]},{\"zones\":\"x\"}],"
                   "\"players\":[{\"name\":\"eve\\u009b\",\"node\":\"1\"}]}",
                   &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(s, "world -, version -, hash -, - zones, - rooms, 1 player, 0 NPCs\n"
                           "\n"
                           "ZONE   NAME  OWNER  EPOCH  ROOMS  NPCS  PLAYERS\n"
                           "a?[2J  -     ?      -      -      -     -\n"
                           "\n"
                           "NODE  ZONES    PLAYERS\n"
                           "1     a, b, ?  -\n"
                           "-     ?        -\n"
                           "\n"
                           "PLAYER  ROOM  ZONE  NODE  STATE\n"
                           "eve?    -     -     ?     -\n");
    free(s);

    /* Not an object: nothing printed. */
    s = format_mud("[1]", &rc);
    assert_int_equal(rc, -1);
    assert_string_equal(s, "");
    free(s);
}

static void test_state_table(void **state)
{
    (void)state;
    json_t *st = parse("{\"applied_index\":120,\"state_hash\":\"9f2c1e0a77b3d5e1\","
                       "\"width\":64,\"height\":48,\"players\":["
                       "{\"id\":1,\"name\":\"alice\",\"x\":3,\"y\":4,\"seq\":7,\"node\":1},"
                       "{\"id\":12,\"name\":\"bob\\u001b\",\"x\":63,\"y\":47,\"seq\":1000,"
                       "\"node\":2},"
                       "{\"id\":13,\"x\":\"far\"}, 7]}");
    struct capture c;
    assert_int_equal(wr_ctl_format_state(capture_start(&c), st), 4);
    char *s = capture_end(&c);
    assert_string_equal(s, "arena 64x48, 4 players, applied index 120, state hash "
                           "9f2c1e0a77b3d5e1\n"
                           "ID  NAME   X   Y   SEQ   NODE\n"
                           "1   alice  3   4   7     1\n"
                           "12  bob?   63  47  1000  2\n"
                           "13  -      ?   -   -     -\n"
                           "-   -      -   -   -     -\n");
    free(s);
    json_decref(st);

    st = parse("{\"width\":8,\"height\":8,\"players\":[{\"id\":1,\"name\":\"solo\","
               "\"x\":0,\"y\":0,\"seq\":0,\"node\":1}],\"applied_index\":2,"
               "\"state_hash\":\"ab\"}");
    assert_int_equal(wr_ctl_format_state(capture_start(&c), st), 1);
    s = capture_end(&c);
    assert_string_equal(s, "arena 8x8, 1 player, applied index 2, state hash ab\n"
                           "ID  NAME  X  Y  SEQ  NODE\n"
                           "1   solo  0  0  0    1\n");
    free(s);
    json_decref(st);

    /* Nothing but wrong types. */
    st = parse("{\"width\":\"wide\",\"players\":{},\"state_hash\":null}");
    assert_int_equal(wr_ctl_format_state(capture_start(&c), st), 0);
    s = capture_end(&c);
    assert_string_equal(s, "arena ?x-, - players, applied index -, state hash -\n");
    free(s);
    json_decref(st);

    st = parse("{\"players\":[]}");
    assert_int_equal(wr_ctl_format_state(capture_start(&c), st), 0);
    s = capture_end(&c);
    assert_string_equal(s, "arena -x-, 0 players, applied index -, state hash -\n");
    free(s);
    json_decref(st);
}

/* ---- HTTP client --------------------------------------------------------- */

static void test_http_200(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    fake_route(&f, "/api/cluster", 200, "{\"id\":1}");
    fake_start(&f);
    int status;
    char *body, err[256];
    assert_int_equal(wr_ctl_http_get(f.hostport, "/api/cluster", &status, &body, err, sizeof err),
                     0);
    fake_stop(&f);
    assert_int_equal(status, 200);
    assert_string_equal(body, "{\"id\":1}");
    free(body);

    char want[128];
    snprintf(want, sizeof want, "\r\nHost: %s\r\n", f.hostport);
    assert_true(strncmp(f.request, "GET /api/cluster HTTP/1.1\r\n", 27) == 0);
    assert_non_null(strstr(f.request, want));
    assert_non_null(strstr(f.request, "\r\nConnection: close\r\n"));
}

static void test_http_503(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    fake_route(&f, "/readyz", 503, "no leader");
    fake_start(&f);
    int status;
    char *body, err[256];
    assert_int_equal(wr_ctl_http_get(f.hostport, "/readyz", &status, &body, err, sizeof err), 0);
    fake_stop(&f);
    assert_int_equal(status, 503);
    assert_string_equal(body, "no leader");
    free(body);
}

static void test_http_refused(void **state)
{
    (void)state;
    char hostport[32], want[128], err[256], *body = (char *)"unset";
    int status = -1;
    snprintf(hostport, sizeof hostport, "127.0.0.1:%d", closed_port());
    assert_int_equal(wr_ctl_http_get(hostport, "/api/cluster", &status, &body, err, sizeof err),
                     -1);
    snprintf(want, sizeof want, "cannot reach node at %s: connection refused", hostport);
    assert_string_equal(err, want);
    assert_null(body);
    assert_int_equal(status, 0);

    assert_int_equal(
        wr_ctl_http_get("localhost:4001", "/api/cluster", &status, &body, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad node address"));
    assert_int_equal(wr_ctl_http_get("127.0.0.1:4001", "api", &status, &body, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad request path"));
}

/* Run one GET against a fake that sends @raw; returns wr_ctl_http_get's
 * result with @err filled, or the body in @body. */
static int get_raw(const char *raw, size_t len, int *status, char **body, char *err, size_t errlen)
{
    struct fake f;
    fake_init(&f);
    f.raw = raw;
    f.raw_len = len;
    fake_start(&f);
    int rc = wr_ctl_http_get(f.hostport, "/api/state", status, body, err, errlen);
    fake_stop(&f);
    return rc;
}

#define GET_RAW(lit, status, body, err) get_raw(lit, sizeof lit - 1, status, body, err, sizeof err)

static void test_http_garbage(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        size_t len;
        const char *why;
    } cases[] = {
#define CASE(lit, why) {lit, sizeof lit - 1, why}
        CASE("SSH-2.0-OpenSSH_9.2\r\n\x01\x02\x03", "no HTTP/1.x status line"),
        CASE("\0\0\0\0\0\0\0\0\0\0", "no HTTP/1.x status line"),
        CASE("HTTP/1.1 abc OK\r\n\r\n", "malformed status line"),
        CASE("HTTP/1.1 200OK\r\n\r\n", "malformed status line"),
        CASE("HTTP/1.1 999 Nope\r\n\r\n", "malformed status line"),
        CASE("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "header line without"),
        CASE("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\nabc", "not a number"),
        CASE("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "empty Content-Length"),
        CASE("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "exceeds 16 MiB"),
        CASE("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
             "conflicting"),
        CASE("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported"),
        CASE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
        CASE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "inside a chunk"),
        CASE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
             "before its last chunk"),
        CASE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
             "not followed by CRLF"),
        CASE("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\"\0:1}xx", "NUL byte"),
        CASE("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "truncated body: 5 of 100"),
        CASE("HTTP/1.1 200 OK\r\nContent-Le", "incomplete status line and headers"),
        CASE("", "closed the connection without answering"),
#undef CASE
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status;
        char *body = NULL, err[256] = "";
        int rc = get_raw(cases[i].raw, cases[i].len, &status, &body, err, sizeof err);
        if (rc != -1 || strstr(err, cases[i].why) == NULL)
            fail_msg("case %zu: rc %d, err '%s', want '%s'", i, rc, err, cases[i].why);
        assert_null(body);
    }
}

static void test_http_bodies(void **state)
{
    (void)state;
    int status;
    char *body, err[256];

    /* Chunked, with an extension and a trailer; header names in odd case. */
    assert_int_equal(GET_RAW("HTTP/1.1 200 OK\r\ntransfer-ENCODING:  chunked \r\n\r\n"
                             "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
                             &status, &body, err),
                     0);
    assert_string_equal(body, "hello world");
    free(body);

    /* No Content-Length: the body runs to EOF. */
    assert_int_equal(
        GET_RAW("HTTP/1.0 200 OK\r\nServer: x\r\n\r\n{\"to\":\"eof\"}", &status, &body, err), 0);
    assert_string_equal(body, "{\"to\":\"eof\"}");
    free(body);

    /* Bytes after Content-Length are ignored; no reason phrase at all. */
    assert_int_equal(
        GET_RAW("HTTP/1.1 204\r\nContent-Length: 2\r\n\r\nokEXTRA", &status, &body, err), 0);
    assert_int_equal(status, 204);
    assert_string_equal(body, "ok");
    free(body);

    /* Empty body. */
    assert_int_equal(GET_RAW("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &status, &body, err),
                     0);
    assert_string_equal(body, "");
    free(body);
}

static void test_http_keepalive_server(void **state)
{
    (void)state;
    /* A server that ignores Connection: close: with a Content-Length the
     * client stops at the end of the body instead of waiting for a timeout. */
    struct fake f;
    fake_init(&f);
    f.hold_open = true;
    fake_route(&f, "/api/registry", 200, "{\"names\":[]}");
    fake_start(&f);
    int status;
    char *body, err[256];
    long long t0 = now_ms();
    assert_int_equal(wr_ctl_http_get(f.hostport, "/api/registry", &status, &body, err, sizeof err),
                     0);
    assert_true(now_ms() - t0 < 1000);
    fake_stop(&f);
    assert_string_equal(body, "{\"names\":[]}");
    free(body);
}

static void test_http_silent_server(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    f.silent = true;
    fake_start(&f);
    int status;
    char *body, err[256], want[128];
    long long t0 = now_ms();
    assert_int_equal(wr_ctl_http_get(f.hostport, "/api/state", &status, &body, err, sizeof err),
                     -1);
    long long took = now_ms() - t0;
    fake_stop(&f);
    assert_true(took >= WR_CTL_TIMEOUT_MS - 100 && took < WR_CTL_TIMEOUT_MS + 1000);
    snprintf(want, sizeof want, "cannot reach node at %s: no complete answer within 2 s",
             f.hostport);
    assert_string_equal(err, want);
    assert_null(body);
}

static void test_http_connect_timeout(void **state)
{
    (void)state;
    /* A listener that never accepts, with its accept queue filled: Linux
     * drops further SYNs, so the connect itself times out. */
    int port, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), fill[4];
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 0), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        connect(fill[i], (struct sockaddr *)&sa, sizeof sa);
    }
    usleep(100 * 1000);

    char hostport[32], want[128], err[256], *body;
    int status;
    snprintf(hostport, sizeof hostport, "127.0.0.1:%d", port);
    long long t0 = now_ms();
    int rc = wr_ctl_http_get(hostport, "/api/cluster", &status, &body, err, sizeof err);
    long long took = now_ms() - t0;
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(fd);
    snprintf(want, sizeof want, "cannot reach node at %s: connection timed out", hostport);
    if (rc == -1 && strcmp(err, want) != 0 && strstr(err, "no complete answer") != NULL)
        skip(); /* the kernel accepted it after all: the read timeout answered */
    assert_int_equal(rc, -1);
    assert_string_equal(err, want);
    assert_true(took >= WR_CTL_TIMEOUT_MS - 100 && took < WR_CTL_TIMEOUT_MS + 1000);
}

/* ---- wr_ctl_main ---------------------------------------------------------- */

static int ctl(char **out, char **err, const char *a1, const char *a2, const char *a3,
               const char *a4, const char *a5)
{
    char *argv[7] = {(char *)"ctl", (char *)a1, (char *)a2, (char *)a3,
                     (char *)a4,    (char *)a5, NULL};
    int argc = 1;
    while (argc < 6 && argv[argc] != NULL)
        argc++;
    return run_main(argc, argv, out, err);
}

static void test_main_usage(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(ctl(&out, &err, "--help", NULL, NULL, NULL, NULL), 0);
    assert_non_null(strstr(out, "usage: warren ctl"));
    static const char *const words[] = {
        "--node",     "--json", "WARREN_NODE", "127.0.0.1:4001", "status",         "whereis NAME",
        "registered", "state",  "mud",         "world load DIR", "/api/mud/world", "loopback",
        "role NAME [ROLE]"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        assert_non_null(strstr(out, words[i]));
    static const char *const export_words[] = {"world export DIR", "--force", "hash",
                                               "/api/mud/world/export"};
    for (size_t i = 0; i < sizeof export_words / sizeof export_words[0]; i++)
        assert_non_null(strstr(out, export_words[i]));
    assert_string_equal(err, "");
    free(out);
    free(err);

    assert_int_equal(ctl(&out, &err, "status", "-h", NULL, NULL, NULL), 0);
    assert_non_null(strstr(out, "usage: warren ctl"));
    free(out);
    free(err);

    static const struct {
        const char *a1, *a2, *a3, *msg;
    } bad[] = {
        {NULL, NULL, NULL, "no command given"},
        {"frobnicate", NULL, NULL, "unknown command 'frobnicate'"},
        {"--verbose", "status", NULL, "unknown option '--verbose'"},
        {"status", "-x", NULL, "unknown option '-x'"},
        {"whereis", NULL, NULL, "whereis takes one NAME"},
        {"whereis", "a", "b", "whereis takes one NAME"},
        {"status", "now", NULL, "status takes no arguments"},
        {"mud", "town", NULL, "mud takes no arguments"},
        {"role", NULL, NULL, "usage: role NAME [player|builder|admin]"},
        {"role", "al", NULL, "'al' is not a character name"},
        {"role", "Alice", "wizard", "role must be player, builder or admin, not 'wizard'"},
        {"world", NULL, NULL, "usage: world load DIR"},
        {"world", "load", NULL, "usage: world load DIR"},
        {"world", "save", "dir", "usage: world load DIR"},
        {"world", "load", "", "usage: world load DIR"},
        {"world", "export", NULL, "world export DIR"},
        {"--force", "mud", NULL, "--force applies to world export only"},
        {"status", "--force", NULL, "--force applies to world export only"},
        {"status", "--node", NULL, "option --node needs an IP:PORT"},
        {"--node", "localhost:4001", "status", "bad --node"},
        {"--node=1.2.3.4:0", "state", NULL, "bad --node: '1.2.3.4:0': port must be 1..65535"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = ctl(&out, &err, bad[i].a1, bad[i].a2, bad[i].a3, NULL, NULL);
        if (rc != WR_CTL_EXIT_USAGE || strstr(err, bad[i].msg) == NULL ||
            strstr(err, "try 'warren ctl --help'\n") == NULL || out[0] != '\0')
            fail_msg("case %zu: rc %d, stderr '%s'", i, rc, err);
        free(out);
        free(err);
    }

    /* $WARREN_NODE is used, and checked, when --node is absent. */
    setenv("WARREN_NODE", "nonsense", 1);
    assert_int_equal(ctl(&out, &err, "state", NULL, NULL, NULL, NULL), WR_CTL_EXIT_USAGE);
    assert_non_null(strstr(err, "bad WARREN_NODE"));
    free(out);
    free(err);
    unsetenv("WARREN_NODE");
}

static void test_main_unreachable(void **state)
{
    (void)state;
    char node[32], want[128], *out, *err;
    snprintf(node, sizeof node, "127.0.0.1:%d", closed_port());
    static const char *const cmds[] = {"status", "registered", "state"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ctl(&out, &err, "--node", node, cmds[i], NULL, NULL), 1);
        snprintf(want, sizeof want, "cannot reach node at %s: connection refused\n", node);
        assert_non_null(strstr(err, want));
        assert_string_equal(out, "");
        free(out);
        free(err);
    }
    setenv("WARREN_NODE", node, 1);
    assert_int_equal(ctl(&out, &err, "whereis", "arena", NULL, NULL, NULL), 1);
    assert_non_null(strstr(err, want));
    free(out);
    free(err);
    unsetenv("WARREN_NODE");
}

static void test_main_errors(void **state)
{
    (void)state;
    char *out, *err;
    struct fake f;

    fake_init(&f);
    fake_route(&f, "/api/state", 503, "catching up: applied 3 of 9\n\x1b[2J");
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "state", NULL, NULL), 1);
    fake_stop(&f);
    char want[256];
    snprintf(want, sizeof want, "node %s answered 503: catching up: applied 3 of 9??[2J\n",
             f.hostport);
    assert_non_null(strstr(err, want));
    free(out);
    free(err);

    fake_init(&f);
    fake_route(&f, "/api/registry", 200, "{\"names\": [tru");
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "registered", NULL, NULL), 1);
    fake_stop(&f);
    assert_non_null(strstr(err, "sent invalid JSON for /api/registry"));
    free(out);
    free(err);

    fake_init(&f);
    fake_route(&f, "/api/registry", 200, "[1,2]");
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "registered", NULL, NULL), 1);
    fake_stop(&f);
    assert_non_null(strstr(err, "unexpected JSON for /api/registry: not an object"));
    free(out);
    free(err);

    fake_init(&f);
    fake_route(&f, "/api/registry", 200, "{\"names\":7}");
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--json", "--node", f.hostport, "registered", NULL), 1);
    fake_stop(&f);
    assert_non_null(strstr(err, "without a \"names\" array"));
    free(out);
    free(err);
}

static void test_main_registry(void **state)
{
    (void)state;
    char *out, *err;
    struct fake f;
    fake_init(&f);
    f.conns = 4;
    fake_route(&f, "/api/registry", 200, REGISTRY);
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "whereis", "alice", NULL), 0);
    assert_string_equal(out, "player/alice: node 1 (http 127.0.0.1:4001), player id 3\n");
    free(out);
    free(err);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "whereis", "carol", NULL), 1);
    assert_string_equal(out, "");
    assert_string_equal(err, "warren ctl: carol is not registered\n");
    free(out);
    free(err);
    assert_int_equal(ctl(&out, &err, "--json", "--node", f.hostport, "whereis", "arena"), 0);
    json_t *j = parse(out);
    assert_int_equal(json_integer_value(json_object_get(j, "epoch")), 5);
    json_decref(j);
    free(out);
    free(err);
    assert_int_equal(ctl(&out, &err, "registered", "--json", "--node", f.hostport, NULL), 0);
    j = parse(out);
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 9);
    json_decref(j);
    free(out);
    free(err);
    fake_stop(&f);
}

static void test_main_mud(void **state)
{
    (void)state;
    char *out, *err;
    struct fake f;
    fake_init(&f);
    f.conns = 2;
    fake_route(&f, "/api/mud", 200, MUD);
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "mud", NULL, NULL), 0);
    assert_string_equal(out, MUD_TABLE);
    assert_string_equal(err, "");
    free(out);
    free(err);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "--json", "mud", NULL), 0);
    json_t *j = parse(out);
    assert_int_equal(json_array_size(json_object_get(j, "zones")), 2);
    json_decref(j);
    free(out);
    free(err);
    fake_stop(&f);

    /* A node without the MUD. */
    fake_init(&f);
    fake_route(&f, "/api/mud", 404, "no MUD on this node\n");
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "mud", NULL, NULL), 1);
    fake_stop(&f);
    assert_non_null(strstr(err, "answered 404: no MUD on this node"));
    assert_string_equal(out, "");
    free(out);
    free(err);
}

/* A world directory: two YAML files (one in a subdirectory) and one that is
 * not YAML. Returns the directory (static buffer). */
static const char *world_dir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/warren-test-ctl-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/zones", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    static const char *const files[][2] = {
        {"world.yaml", "name: demo\n"},
        {"zones/town.yaml", "zone: town\nrooms: []\n"},
        {"README.txt", "not part of the world\n"},
    };
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(files[i][1], fp);
        fclose(fp);
    }
    return dir;
}

static void world_dir_remove(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The hex BLAKE2b-128 of the bundle of @n (name, text) pairs, in order. */
static void bundle_hash(const char *const (*files)[2], size_t n, char hex[33])
{
    struct wr_writer w;
    uint8_t h[16];
    wr_writer_init(&w, 256);
    wr_put_bytes(&w, "WRWORLD1", 8);
    wr_put_u32(&w, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            wr_put_u32(&w, (uint32_t)strlen(files[i][k]));
            wr_put_bytes(&w, files[i][k], strlen(files[i][k]));
        }
    crypto_generichash(h, sizeof h, w.base, w.len, NULL, 0);
    sodium_bin2hex(hex, 33, h, sizeof h);
    wr_writer_free(&w);
}

static char *slurp(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return NULL;
    char *buf = calloc(1, 4096);
    size_t n = fread(buf, 1, 4095, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* `world check DIR` validates offline: the sample world passes with its
 * counts and hash; the same world with one bad value fails on that line,
 * and a missing directory is named. */
static void test_main_world_check(void **state)
{
    (void)state;
    char *out, *err;
    char *ok[] = {"ctl", "world", "check", "world", NULL};
    assert_int_equal(run_main(4, ok, &out, &err), 0);
    assert_non_null(strstr(out, "world \"The Ferrow Vale\" is valid: 3 zones"));
    assert_non_null(strstr(out, "; hash "));
    free(out);
    free(err);

    char dir[] = "/tmp/warren-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/world.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("name: Tiny\nstart: z.a\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/zones", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/zones/z.yaml", dir);
#define ZONE(level)                                                                          \
    "zone: {id: z, name: Z, desc: A zone., graveyard: a}\n"                                   \
    "rooms:\n  - {id: a, name: A, desc: A room., x: 0, y: 0}\n"                              \
    "npcs:\n  - {id: rat, name: a rat, keywords: rat, desc: A rat.,"                          \
    " ground: A rat is here., level: " level "}\n"
    f = fopen(path, "w");
    fputs(ZONE("2"), f);
    fclose(f);
    char *good[] = {"ctl", "world", "check", dir, NULL};
    assert_int_equal(run_main(4, good, &out, &err), 0); /* positive control */
    assert_non_null(strstr(out, "world \"Tiny\" is valid: 1 zones, 1 rooms, 0 items, 1 NPCs"));
    free(out);
    free(err);
    f = fopen(path, "w");
    fputs(ZONE("two"), f);
#undef ZONE
    fclose(f);
    assert_int_equal(run_main(4, good, &out, &err), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "zones/z.yaml:5:"));
    assert_non_null(strstr(err, "level"));
    free(out);
    free(err);
    unlink(path);
    snprintf(path, sizeof path, "%s/zones", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/world.yaml", dir);
    unlink(path);
    rmdir(dir);

    char *missing[] = {"ctl", "world", "check", "/nonexistent/warren-world", NULL};
    assert_int_equal(run_main(4, missing, &out, &err), 1);
    assert_non_null(strstr(err, "/nonexistent/warren-world"));
    free(out);
    free(err);
}

static void test_main_world_export(void **state)
{
    (void)state;
    char *out, *err, want[512], hex[33], body[1024], dir[128];
    struct fake f;
    static const char *const files[][2] = {{"world.yaml", "name: demo\n"},
                                           {"zones/town.yaml", "zone: {id: town}\n"}};
    char tmp[] = "/tmp/warren-test-ctl-export-XXXXXX";
    assert_non_null(mkdtemp(tmp));
    snprintf(dir, sizeof dir, "%s/out", tmp);
    bundle_hash(files, 2, hex);
    /* the JSON lists the files in another order: ctl sorts them */
    snprintf(body, sizeof body,
             "{\"hash\":\"%s\",\"version\":\"v1\",\"files\":{\"zones/town.yaml\":"
             "\"zone: {id: town}\\n\",\"world.yaml\":\"name: demo\\n\"}}",
             hex);

    /* Written under a new DIR, checked against the hash. */
    fake_init(&f);
    fake_route(&f, "/api/mud/world/export", 200, body);
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "world", "export", dir), 0);
    fake_stop(&f);
    assert_non_null(strstr(f.request, "GET /api/mud/world/export HTTP/1.1\r\n"));
    snprintf(want, sizeof want, "world exported to %s (2 files, 81 bytes): hash %s\n", dir, hex);
    assert_string_equal(out, want);
    assert_string_equal(err, "");
    free(out);
    free(err);
    for (size_t i = 0; i < 2; i++) {
        char *text = slurp(dir, files[i][0]);
        assert_non_null(text);
        assert_string_equal(text, files[i][1]);
        free(text);
    }

    /* Not again into the same (non-empty) DIR, unless --force; --json. */
    fake_init(&f);
    f.conns = 2;
    fake_route(&f, "/api/mud/world/export", 200, body);
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "world", "export", dir), 1);
    snprintf(want, sizeof want, "warren ctl: %s is not empty (--force writes into it anyway)\n",
             dir);
    assert_string_equal(err, want);
    free(out);
    free(err);
    char *argv[] = {"ctl", "--json", "--force", "--node", f.hostport, "world", "export", dir, NULL};
    assert_int_equal(run_main(8, argv, &out, &err), 0);
    fake_stop(&f);
    json_t *j = parse(out);
    assert_string_equal(json_string_value(json_object_get(j, "hash")), hex);
    assert_string_equal(json_string_value(json_object_get(j, "version")), "v1");
    assert_int_equal(json_array_size(json_object_get(j, "files")), 2);
    json_decref(j);
    free(out);
    free(err);

    /* A stray .yaml file in DIR, which `world load DIR` would read too. */
    snprintf(want, sizeof want, "%s/zones/old.yaml", dir);
    FILE *fp = fopen(want, "w");
    assert_non_null(fp);
    fputs("zone: {id: old}\n", fp);
    fclose(fp);
    fake_init(&f);
    fake_route(&f, "/api/mud/world/export", 200, body);
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--force", "--node", f.hostport, "world", "export"), 2);
    free(out);
    free(err);
    char *argv2[] = {"ctl", "--force", "--node", f.hostport, "world", "export", dir, NULL};
    assert_int_equal(run_main(7, argv2, &out, &err), 1);
    fake_stop(&f);
    assert_non_null(strstr(err, "holds other .yaml files"));
    free(out);
    free(err);

    /* What the node sent does not match its hash, or names a file outside
     * DIR (with a matching hash): nothing written. */
    static const struct {
        const char *body, *msg;
    } bad[] = {
        {"{\"hash\":\"00000000000000000000000000000000\",\"files\":{\"world.yaml\":\"x\"}}",
         "the files do not match the hash the node sent"},
        {"{\"files\":{\"world.yaml\":\"x\"}}", "no 32-digit \"hash\""},
        {"{\"hash\":\"00000000000000000000000000000000\",\"files\":{\"world.yaml\":7}}",
         "file world.yaml in the answer is not a string"},
        {NULL, "refusing to write file \"../up.yaml\""},
        {"{\"error\":\"worlds may be exported to this machine only\"}", "answered 403"},
    };
    static const char *const up[][2] = {{"../up.yaml", "x: 1\n"}};
    char upbody[256], uphex[33];
    bundle_hash(up, 1, uphex);
    snprintf(upbody, sizeof upbody, "{\"hash\":\"%s\",\"files\":{\"../up.yaml\":\"x: 1\\n\"}}",
             uphex);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char sub[160];
        snprintf(sub, sizeof sub, "%s/bad%zu", tmp, i);
        fake_init(&f);
        fake_route(&f, "/api/mud/world/export", i == 4 ? 403 : 200,
                   bad[i].body ? bad[i].body : upbody);
        fake_start(&f);
        assert_int_equal(ctl(&out, &err, "--node", f.hostport, "world", "export", sub), 1);
        fake_stop(&f);
        if (strstr(err, bad[i].msg) == NULL)
            fail_msg("case %zu: stderr '%s'", i, err);
        assert_int_equal(access(sub, F_OK), -1);
        free(out);
        free(err);
    }
    snprintf(want, sizeof want, "%s/up.yaml", tmp);
    assert_int_equal(access(want, F_OK), -1);
    world_dir_remove(tmp);
}

static void test_main_world_load(void **state)
{
    (void)state;
    char *out, *err, want[256];
    struct fake f;
    const char *dir = world_dir();

    /* Accepted: the bundle goes as the body of a POST. */
    fake_init(&f);
    fake_route(&f, "/api/mud/world", 200, "{\"version\":\"9a0b1c2d\"}");
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "world", "load", dir), 0);
    fake_stop(&f);
    assert_non_null(strstr(f.request, "POST /api/mud/world HTTP/1.1\r\n"));
    assert_non_null(strstr(f.request, "\r\nContent-Type: application/octet-stream\r\n"));
    assert_true(f.body_len > 8);
    assert_memory_equal(f.body, "WRWORLD1", 8);
    assert_non_null(memmem(f.body, f.body_len, "zones/town.yaml", 15));
    assert_null(memmem(f.body, f.body_len, "README", 6));
    snprintf(want, sizeof want, "\r\nContent-Length: %zu\r\n", f.body_len);
    assert_non_null(strstr(f.request, want));
    snprintf(want, sizeof want, "world loaded from %s (%zu bytes): version 9a0b1c2d\n", dir,
             f.body_len);
    assert_string_equal(out, want);
    assert_string_equal(err, "");
    free(out);
    free(err);

    /* --json: the answer as is. */
    fake_init(&f);
    fake_route(&f, "/api/mud/world", 200, "{\"version\":\"9a0b1c2d\"}");
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--json", "--node", f.hostport, "world", "load"), 2);
    free(out);
    free(err);
    char *argv[] = {"ctl", "--json", "--node", f.hostport, "world", "load", (char *)dir, NULL};
    assert_int_equal(run_main(7, argv, &out, &err), 0);
    fake_stop(&f);
    assert_string_equal(out, "{\"version\":\"9a0b1c2d\"}\n");
    free(out);
    free(err);

    /* Rejected: the node's FILE:LINE:COLUMN error, cleaned, exit 1. */
    fake_init(&f);
    fake_route(&f, "/api/mud/world", 400,
               "{\"error\":\"zones/town.yaml:2:8: exit north leads to unknown room "
               "town.gat\\u001b\"}");
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "world", "load", dir), 1);
    fake_stop(&f);
    assert_string_equal(out, "");
    snprintf(want, sizeof want,
             "warren ctl: node %s rejected the world in %s: zones/town.yaml:2:8: exit north "
             "leads to unknown room town.gat?\n",
             f.hostport, dir);
    assert_string_equal(err, want);
    free(out);
    free(err);

    /* Refused (not from loopback) or anything unexpected: status and body. */
    fake_init(&f);
    fake_route(&f, "/api/mud/world", 403, "admin API only from loopback\n");
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "world", "load", dir), 1);
    fake_stop(&f);
    assert_non_null(strstr(err, "answered 403 to POST /api/mud/world: admin API only from "
                                "loopback\n"));
    free(out);
    free(err);
    fake_init(&f);
    fake_route(&f, "/api/mud/world", 200, "{\"ok\":true}"); /* 200 without a version */
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "world", "load", dir), 1);
    fake_stop(&f);
    assert_non_null(strstr(err, "answered 200 to POST /api/mud/world: {\"ok\":true}"));
    free(out);
    free(err);

    /* Unreachable node, and a directory that cannot be read: exit 1, and
     * for the directory nothing is sent. */
    snprintf(want, sizeof want, "127.0.0.1:%d", closed_port());
    assert_int_equal(ctl(&out, &err, "--node", want, "world", "load", dir), 1);
    assert_non_null(strstr(err, "cannot reach node at"));
    free(out);
    free(err);
    fake_init(&f);
    f.conns = 0;
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--node", f.hostport, "world", "load", "/nonexistent/w"), 1);
    fake_stop(&f);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "warren ctl: "));
    assert_non_null(strstr(err, "/nonexistent/w"));
    free(out);
    free(err);
    world_dir_remove(dir);
}

static void test_http_post(void **state)
{
    (void)state;
    struct fake f;
    int status;
    char *body, err[256];

    /* A body larger than one send. */
    size_t n = 3u << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    fake_init(&f);
    fake_route(&f, "/in", 200, "{}");
    fake_start(&f);
    assert_int_equal(wr_ctl_http_request(f.hostport, "POST", "/in", "text/plain", big, n, &status,
                                         &body, err, sizeof err),
                     0);
    fake_stop(&f);
    assert_int_equal(status, 200);
    assert_string_equal(body, "{}");
    assert_int_equal(f.body_len, n);
    assert_memory_equal(f.body, big, sizeof f.body);
    assert_non_null(strstr(f.request, "\r\nContent-Type: text/plain\r\n"));
    free(body);

    /* An empty POST still says Content-Length: 0. */
    fake_init(&f);
    fake_route(&f, "/in", 204, "");
    fake_start(&f);
    assert_int_equal(wr_ctl_http_request(f.hostport, "POST", "/in", NULL, NULL, 0, &status, &body,
                                         err, sizeof err),
                     0);
    fake_stop(&f);
    assert_int_equal(status, 204);
    assert_non_null(strstr(f.request, "\r\nContent-Length: 0\r\n"));
    assert_non_null(strstr(f.request, "\r\nContent-Type: application/octet-stream\r\n"));
    free(body);

    /* Refused before connecting: too big, odd method, header injection. */
    assert_int_equal(wr_ctl_http_request("127.0.0.1:1", "POST", "/in", NULL, big,
                                         WR_CTL_MAX_REQUEST + 1, &status, &body, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "exceeds 8 MiB"));
    assert_null(body);
    assert_int_equal(wr_ctl_http_request("127.0.0.1:1", "DELETE", "/in", NULL, NULL, 0, &status,
                                         &body, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "unsupported method"));
    assert_int_equal(wr_ctl_http_request("127.0.0.1:1", "POST", "/in", "a\r\nX: y", NULL, 0,
                                         &status, &body, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "bad content type"));
    free(big);
}

static void test_main_state(void **state)
{
    (void)state;
    static const char body[] = "{\"applied_index\":1,\"state_hash\":\"00\",\"width\":4,"
                               "\"height\":3,\"players\":[]}";
    char *out, *err;
    struct fake f;
    fake_init(&f);
    f.conns = 2;
    fake_route(&f, "/api/state", 200, body);
    fake_start(&f);
    assert_int_equal(ctl(&out, &err, "--json", "--node", f.hostport, "state", NULL), 0);
    assert_string_equal(out, "{\"applied_index\":1,\"state_hash\":\"00\",\"width\":4,"
                             "\"height\":3,\"players\":[]}\n");
    free(out);
    free(err);
    assert_int_equal(ctl(&out, &err, "state", "--node", f.hostport, NULL, NULL), 0);
    assert_string_equal(out, "arena 4x3, 0 players, applied index 1, state hash 00\n");
    free(out);
    free(err);
    fake_stop(&f);
}

/* Three listed nodes plus one without http: node 1 (the one asked) and node
 * 2 answer with different hashes at the same index, node 3's port is closed,
 * node 4 has no http address. */
static void test_main_status(void **state)
{
    (void)state;
    struct fake n1, n2;
    char list[1024], body[2048], *out, *err;
    int dead = closed_port();
    fake_init(&n1);
    fake_init(&n2);
    n1.conns = 2; /* two runs of status; node 1 is asked once per run */
    n2.conns = 2;
    snprintf(list, sizeof list,
             "\"nodes\":[{\"id\":1,\"address\":\"127.0.0.1:7001\",\"http\":\"%s\"},"
             "{\"id\":2,\"address\":\"127.0.0.1:7002\",\"http\":\"%s\"},"
             "{\"id\":3,\"address\":\"127.0.0.1:7003\",\"http\":\"127.0.0.1:%d\"},"
             "{\"id\":4,\"address\":\"127.0.0.1:7004\",\"http\":null}]",
             n1.hostport, n2.hostport, dead);
    snprintf(body, sizeof body,
             "{\"id\":1,\"role\":\"leader\",\"leader\":1,\"term\":2,\"commit_index\":50,"
             "\"applied_index\":50,\"state_hash\":\"1111111111111111\",\"ready\":true,%s}",
             list);
    fake_route(&n1, "/api/cluster", 200, body);
    snprintf(body, sizeof body,
             "{\"id\":2,\"role\":\"follower\",\"leader\":1,\"term\":2,\"commit_index\":50,"
             "\"applied_index\":50,\"state_hash\":\"2222222222222222\",\"ready\":true,%s}",
             list);
    fake_route(&n2, "/api/cluster", 200, body);
    fake_start(&n1);
    fake_start(&n2);

    assert_int_equal(ctl(&out, &err, "--node", n1.hostport, "status", NULL, NULL),
                     WR_CTL_EXIT_DIVERGED);
    assert_string_equal(err, "");
    char row[256];
    snprintf(row, sizeof row,
             "\n1   leader       2     50      50       1111111111111111  "
             "127.0.0.1:7001  %s\n",
             n1.hostport);
    assert_non_null(strstr(out, row));
    snprintf(row, sizeof row,
             "\n2   follower     2     50      50       2222222222222222  "
             "127.0.0.1:7002  %s\n",
             n2.hostport);
    assert_non_null(strstr(out, row));
    assert_non_null(strstr(out, "\n3   unreachable  -     -       -        -                 "
                                "127.0.0.1:7003  127.0.0.1:"));
    assert_non_null(strstr(out, "\n4   unreachable  -     -       -        -                 "
                                "127.0.0.1:7004  -\n"));
    assert_non_null(strstr(out, ": connection refused\nnode 4: no http address registered\n"
                                "state: DIVERGED at index 50\n"));
    free(out);
    free(err);

    assert_int_equal(ctl(&out, &err, "--node", n1.hostport, "--json", "status", NULL),
                     WR_CTL_EXIT_DIVERGED);
    json_t *rows = parse(out);
    assert_int_equal(json_array_size(rows), 4);
    assert_true(json_is_true(json_object_get(json_array_get(rows, 0), "reachable")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 1), "state_hash")),
                        "2222222222222222");
    assert_true(json_is_false(json_object_get(json_array_get(rows, 2), "reachable")));
    assert_non_null(json_string_value(json_object_get(json_array_get(rows, 2), "error")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 3), "id")), 4);
    json_decref(rows);
    free(out);
    free(err);

    fake_stop(&n1);
    fake_stop(&n2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_consistent),
        cmocka_unit_test(test_status_diverged),
        cmocka_unit_test(test_status_catching_up),
        cmocka_unit_test(test_status_hash_index),
        cmocka_unit_test(test_status_unreachable),
        cmocka_unit_test(test_status_missing_fields),
        cmocka_unit_test(test_status_wrong_types),
        cmocka_unit_test(test_status_control_chars),
        cmocka_unit_test(test_whereis),
        cmocka_unit_test(test_registry_table),
        cmocka_unit_test(test_whereis_mud_kinds),
        cmocka_unit_test(test_mud_table),
        cmocka_unit_test(test_state_table),
        cmocka_unit_test(test_http_200),
        cmocka_unit_test(test_http_503),
        cmocka_unit_test(test_http_refused),
        cmocka_unit_test(test_http_garbage),
        cmocka_unit_test(test_http_bodies),
        cmocka_unit_test(test_http_keepalive_server),
        cmocka_unit_test(test_http_silent_server),
        cmocka_unit_test(test_http_connect_timeout),
        cmocka_unit_test(test_http_post),
        cmocka_unit_test(test_main_usage),
        cmocka_unit_test(test_main_unreachable),
        cmocka_unit_test(test_main_errors),
        cmocka_unit_test(test_main_registry),
        cmocka_unit_test(test_main_mud),
        cmocka_unit_test(test_main_world_load),
        cmocka_unit_test(test_main_world_export),
        cmocka_unit_test(test_main_world_check),
        cmocka_unit_test(test_main_state),
        cmocka_unit_test(test_main_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
