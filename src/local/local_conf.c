/* The files of a local cluster: cluster.conf (the layout `up` started, read
 * back by the other commands), the cookie, nginx.conf, and the node command
 * line. See local_internal.h. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/parse.h"
#include "common/alloc.h"
#include "local/local_internal.h"

void wr__local_clear(struct wr_local *c)
{
    for (int i = 0; i < c->n_extra; i++)
        free(c->extra[i]);
    c->n_extra = 0;
}

void wr__local_path(const struct wr_local *c, const char *name, char *out)
{
    size_t dl = strlen(c->dir), nl = strlen(name);
    assert(dl <= WR_LOCAL_MAX_DIR && dl + 1 + nl < WR_LOCAL_PATH);
    memcpy(out, c->dir, dl);
    out[dl] = '/';
    memcpy(out + dl + 1, name, nl + 1);
}

int wr__local_check_dir(const char *dir, char *err, size_t errlen)
{
    if (strlen(dir) > WR_LOCAL_MAX_DIR) {
        snprintf(err, errlen, "the directory path is longer than %d bytes", WR_LOCAL_MAX_DIR);
        return -1;
    }
    /* nginx.conf names files in DIR unquoted; nginx would read these
     * characters as syntax or variables. */
    for (const char *p = dir; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= ' ' || ch == 0x7f || strchr(";{}\"'\\$#", ch) != NULL) {
            snprintf(err, errlen,
                     "the directory %s contains a space, quote, control character or one of "
                     ";{}\\$# (its path is written into nginx.conf); choose another --dir",
                     dir);
            return -1;
        }
    }
    return 0;
}

/* ---- cluster.conf ------------------------------------------------------ */

int wr__local_write_file(const char *path, const char *text, size_t len, mode_t mode, char *err,
                         size_t errlen)
{
    char tmp[WR_LOCAL_PATH + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
            goto err_after_open;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, mode) != 0 || close(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        fd = -1;
        goto err_after_open;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "rename(%s, %s) failed: %s", tmp, path, strerror(errno));
        goto err_after_open;
    }
    return 0;

err_after_open:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

int wr__local_conf_write(const struct wr_local *c, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        snprintf(err, errlen, "open_memstream failed: %s", strerror(errno));
        return -1;
    }
    fprintf(f,
            "# The cluster `warren cluster up` started in this directory; read by\n"
            "# `warren cluster status`, `kill-node` and `restart-node`. Rewritten by every\n"
            "# `up`: edit the up command, not this file.\n"
            "version 1\n"
            "nodes %d\n"
            "http-port %d\n"
            "cluster-port %d\n"
            "lb-port %d\n"
            "telnet-port %d\n"
            "lb-telnet-port %d\n"
            "lb-tls-port %d\n"
            "lb-telnet-tls-port %d\n"
            "binary %s\n",
            c->n, c->http_port, c->cluster_port, c->lb_port, c->telnet_port, c->lb_telnet_port,
            c->lb_tls_port, c->lb_telnet_tls_port, c->bin);
    for (int i = 0; i < c->n_extra; i++)
        fprintf(f, "node-flag %s\n", c->extra[i]);
    fclose(f);
    char path[WR_LOCAL_PATH];
    wr__local_path(c, "cluster.conf", path);
    int rc = wr__local_write_file(path, text, len, 0644, err, errlen);
    free(text);
    return rc;
}


int wr__local_conf_read(struct wr_local *c, char *err, size_t errlen)
{
    char path[WR_LOCAL_PATH];
    wr__local_path(c, "cluster.conf", path);
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    c->n = c->http_port = c->cluster_port = c->lb_port = 0;
    c->telnet_port = c->lb_telnet_port = 0;     /* absent in files from before telnet: none */
    c->lb_tls_port = c->lb_telnet_tls_port = 0; /* the same for TLS */
    c->bin[0] = '\0';
    c->n_extra = 0;
    int version = 0;
    char line[WR_LOCAL_PATH + 64];
    int lineno = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        else if (!feof(f)) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            goto err_after_open;
        }
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *val = strchr(line, ' ');
        if (val == NULL) {
            snprintf(err, errlen, "%s:%d: expected 'key value', got '%.80s'", path, lineno, line);
            goto err_after_open;
        }
        *val++ = '\0';
        int bad = 0;
        if (strcmp(line, "version") == 0)
            bad = wr_parse_int(val, 1, 1, &version);
        else if (strcmp(line, "nodes") == 0)
            bad = wr_parse_int(val, 1, WR_LOCAL_MAX_NODES, &c->n);
        else if (strcmp(line, "http-port") == 0)
            bad = wr_parse_int(val, 1, 65535, &c->http_port);
        else if (strcmp(line, "cluster-port") == 0)
            bad = wr_parse_int(val, 1, 65535, &c->cluster_port);
        else if (strcmp(line, "lb-port") == 0)
            bad = wr_parse_int(val, 1, 65535, &c->lb_port);
        else if (strcmp(line, "telnet-port") == 0)
            bad = wr_parse_int(val, 0, 65535, &c->telnet_port);
        else if (strcmp(line, "lb-telnet-port") == 0)
            bad = wr_parse_int(val, 0, 65535, &c->lb_telnet_port);
        else if (strcmp(line, "lb-tls-port") == 0)
            bad = wr_parse_int(val, 0, 65535, &c->lb_tls_port);
        else if (strcmp(line, "lb-telnet-tls-port") == 0)
            bad = wr_parse_int(val, 0, 65535, &c->lb_telnet_tls_port);
        else if (strcmp(line, "binary") == 0 && val[0] == '/' && strlen(val) < sizeof c->bin)
            snprintf(c->bin, sizeof c->bin, "%s", val);
        else if (strcmp(line, "node-flag") == 0 && c->n_extra < WR_LOCAL_MAX_EXTRA)
            c->extra[c->n_extra++] = wr_strdup(val);
        else
            bad = -1;
        if (bad != 0) {
            snprintf(err, errlen, "%s:%d: bad line '%.40s %.80s'", path, lineno, line, val);
            goto err_after_open;
        }
    }
    fclose(f);
    if (version != 1 || c->n == 0 || c->http_port == 0 || c->cluster_port == 0 || c->lb_port == 0 ||
        c->bin[0] == '\0') {
        snprintf(err, errlen,
                 "%s: incomplete (needs version 1, nodes, http-port, cluster-port, "
                 "lb-port and binary)",
                 path);
        wr__local_clear(c);
        return -1;
    }
    if ((c->telnet_port == 0) != (c->lb_telnet_port == 0)) {
        snprintf(err, errlen, "%s: telnet-port and lb-telnet-port must both be 0 or neither", path);
        wr__local_clear(c);
        return -1;
    }
    if (c->lb_telnet_tls_port != 0 && (c->lb_tls_port == 0 || c->telnet_port == 0)) {
        snprintf(err, errlen, "%s: lb-telnet-tls-port needs lb-tls-port and telnet-port", path);
        wr__local_clear(c);
        return -1;
    }
    if (c->http_port + c->n - 1 > 65535 || c->cluster_port + c->n - 1 > 65535 ||
        c->telnet_port + c->n - 1 > 65535) {
        snprintf(err, errlen, "%s: ports beyond 65535", path);
        wr__local_clear(c);
        return -1;
    }
    return 0;

err_after_open:
    fclose(f);
    wr__local_clear(c);
    return -1;
}

/* ---- cookie and admin token -------------------------------------------- */

/* 32 random bytes as hex and a newline, into DIR/@name, mode 0600. */
static int secret_write(const struct wr_local *c, const char *name, char *err, size_t errlen)
{
    unsigned char secret[32];
    char hex[2 * sizeof secret + 2];
    randombytes_buf(secret, sizeof secret);
    sodium_bin2hex(hex, sizeof hex, secret, sizeof secret);
    size_t len = strlen(hex);
    hex[len++] = '\n';
    char path[WR_LOCAL_PATH];
    wr__local_path(c, name, path);
    int rc = wr__local_write_file(path, hex, len, 0600, err, errlen);
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(hex, sizeof hex);
    return rc;
}

int wr__local_cookie_write(const struct wr_local *c, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "sodium_init failed");
        return -1;
    }
    if (secret_write(c, "cookie", err, errlen) != 0)
        return -1;
    /* `warren ctl` reads ./run/cluster/admin-token by default, so ctl run
     * from the checkout reaches a default cluster with no flag. */
    return secret_write(c, "admin-token", err, errlen);
}

/* ---- node command line ------------------------------------------------- */

char *wr__local_peers(const struct wr_local *c)
{
    size_t cap = (size_t)c->n * 32 + 1, off = 0;
    char *s = wr_malloc(cap);
    s[0] = '\0';
    for (int i = 1; i <= c->n; i++)
        off += (size_t)snprintf(s + off, cap - off, "%s%d=127.0.0.1:%d", i > 1 ? "," : "", i,
                                c->cluster_port + i - 1);
    return s;
}

void wr__local_node_argv(const struct wr_local *c, int id, const char *peers, char *buf,
                         char **argv)
{
    char *idtext = buf, *cluster = buf + 32, *http = buf + 64, *telnet = buf + 96;
    char *data = buf + WR_LOCAL_PATH, *cookie = buf + 2 * WR_LOCAL_PATH;
    char *token = buf + 3 * WR_LOCAL_PATH;
    snprintf(idtext, 32, "%d", id);
    snprintf(cluster, 32, "127.0.0.1:%d", c->cluster_port + id - 1);
    snprintf(http, 32, "127.0.0.1:%d", c->http_port + id - 1);
    char name[32];
    snprintf(name, sizeof name, "node%d", id);
    wr__local_path(c, name, data);
    wr__local_path(c, "cookie", cookie);
    wr__local_path(c, "admin-token", token);

    int k = 0;
    argv[k++] = (char *)c->bin;
    argv[k++] = "node";
    argv[k++] = "--id";
    argv[k++] = idtext;
    argv[k++] = "--cluster";
    argv[k++] = cluster;
    argv[k++] = "--http";
    argv[k++] = http;
    if (c->telnet_port != 0) {
        snprintf(telnet, 32, "127.0.0.1:%d", c->telnet_port + id - 1);
        argv[k++] = "--telnet";
        argv[k++] = telnet;
        /* nginx (stream_block) sends a PROXY header naming the player. */
        argv[k++] = "--telnet-proxy-from";
        argv[k++] = "127.0.0.1";
    }
    argv[k++] = "--peers";
    argv[k++] = (char *)peers;
    argv[k++] = "--data";
    argv[k++] = data;
    argv[k++] = "--cookie-file";
    argv[k++] = cookie;
    argv[k++] = "--admin-token-file";
    argv[k++] = token;
    for (int i = 0; i < c->n_extra; i++)
        argv[k++] = c->extra[i];
    argv[k] = NULL;
}

/* ---- nginx.conf -------------------------------------------------------- */

/* The proxy headers every location sets. A location that sets any
 * proxy_set_header inherits none from the server block, so each location
 * gets the whole list. */
static void proxy_headers(FILE *out, const char *indent)
{
    fprintf(out,
            "%sproxy_set_header Host $host;\n"
            "%sproxy_set_header X-Real-IP $remote_addr;\n"
            "%sproxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
            "%sproxy_set_header X-Forwarded-Proto $scheme;\n",
            indent, indent, indent, indent);
}

/* nginx's TLS settings for @c's certificate: modern protocols only, and
 * nginx's default ciphers (which for TLSv1.2 are the strong ones), as in
 * deploy/nginx.conf. @cache names the session cache's shared memory zone. */
static void tls_settings(const struct wr_local *c, FILE *out, const char *indent, const char *cache)
{
    const char *d = c->dir, *i = indent;
    fprintf(out,
            "%sssl_certificate %s/" WR_LOCAL_TLS_CERT ";\n"
            "%sssl_certificate_key %s/" WR_LOCAL_TLS_KEY ";\n"
            "%sssl_protocols TLSv1.2 TLSv1.3;\n"
            "%sssl_prefer_server_ciphers off;\n"
            "%sssl_session_cache shared:%s:1m;\n"
            "%sssl_session_timeout 1d;\n"
            "%sssl_session_tickets off;\n",
            i, d, i, d, i, i, i, cache, i, i);
}

/* The stream block: telnet (plain TCP) from lb_telnet_port to the nodes,
 * and with TLS, telnet over TLS from lb_telnet_tls_port to the same. */
static void stream_block(const struct wr_local *c, FILE *out)
{
    fprintf(out, "\n"
                 "# The MUD over telnet: plain TCP, so the stream module, not http. Same\n"
                 "# policy as the HTTP upstream: least_conn (telnet sessions last for\n"
                 "# hours), a dead node refuses at once and a hung one gets 1 s, then the\n"
                 "# connection goes to the next node (proxy_next_upstream is on by default\n"
                 "# in stream). proxy_protocol on: nginx opens each node connection with\n"
                 "# a PROXY v1 line naming the player's address and port, which the nodes\n"
                 "# (started with --telnet-proxy-from 127.0.0.1) use instead of nginx's\n"
                 "# 127.0.0.1, e.g. for the per-address failed-login throttle.\n"
                 "stream {\n"
                 "    upstream warren_telnet {\n"
                 "        least_conn;\n"
                 "        zone warren_telnet 64k;\n");
    for (int i = 1; i <= c->n; i++)
        fprintf(out, "        server 127.0.0.1:%d max_fails=1 fail_timeout=2s;  # node %d\n",
                c->telnet_port + i - 1, i);
    fprintf(out,
            "    }\n"
            "\n"
            "    server {\n"
            "        listen 127.0.0.1:%d;\n"
            "        proxy_pass warren_telnet;\n"
            "        proxy_protocol on;\n"
            "        proxy_connect_timeout 1s;\n"
            "        # An hour of silence in both directions closes the session.\n"
            "        proxy_timeout 1h;\n"
            "    }\n",
            c->lb_telnet_port);
    if (c->lb_telnet_tls_port != 0) {
        fprintf(out,
                "\n"
                "    # Telnet over TLS (cluster up --tls): nginx terminates TLS and the\n"
                "    # nodes get plain telnet, after the same PROXY line.\n"
                "    server {\n"
                "        listen 127.0.0.1:%d ssl;\n",
                c->lb_telnet_tls_port);
        tls_settings(c, out, "        ", "TELNETSSL");
        fprintf(out, "        ssl_handshake_timeout 10s;\n"
                     "        proxy_pass warren_telnet;\n"
                     "        proxy_protocol on;\n"
                     "        proxy_connect_timeout 1s;\n"
                     "        proxy_timeout 1h;\n"
                     "    }\n");
    }
    fprintf(out, "}\n");
}

void wr__local_nginx_conf(const struct wr_local *c, const char *stream_module, FILE *out)
{
    const char *d = c->dir;
    fprintf(out,
            "# Generated by `warren cluster up` for the cluster in %s;\n"
            "# rewritten by every `up` (edit src/local/local_conf.c, not this file).\n"
            "# The production example is deploy/nginx.conf.\n"
            "#\n"
            "# Started as: nginx -e %s/nginx-error.log -c %s/nginx.conf -p %s/ -g 'daemon off;'\n"
            "# by `warren cluster up`, which owns the master's pid (%s/nginx.pid).\n"
            "\n",
            d, d, d, d, d);
    if (c->telnet_port != 0 && stream_module != NULL)
        fprintf(out,
                "# The stream module (telnet proxying) is a dynamic module on Debian\n"
                "# (libnginx-mod-stream); this file does not include\n"
                "# /etc/nginx/modules-enabled, so it loads it itself.\n"
                "load_module %s;\n"
                "\n",
                stream_module);
    fprintf(out,
            "worker_processes 1;\n"
            "pid %s/nginx.pid;\n"
            "error_log %s/nginx-error.log notice;\n"
            "\n"
            "events {\n"
            "    worker_connections 4096;\n"
            "}\n"
            "\n"
            "http {\n"
            "    access_log %s/nginx-access.log;\n"
            "\n"
            "    # Every temporary path inside the cluster directory, so nothing needs\n"
            "    # /var/lib/nginx. Request bodies (64k at most) and answers are never\n"
            "    # buffered to disk (the three lines below), so worker processes, which run as an\n"
            "    # unprivileged user when nginx starts as root, never need to write here.\n"
            "    client_body_temp_path %s/nginx-tmp/client_body;\n"
            "    proxy_temp_path %s/nginx-tmp/proxy;\n"
            "    fastcgi_temp_path %s/nginx-tmp/fastcgi;\n"
            "    uwsgi_temp_path %s/nginx-tmp/uwsgi;\n"
            "    scgi_temp_path %s/nginx-tmp/scgi;\n"
            "    client_max_body_size 64k;\n"
            "    client_body_buffer_size 64k;\n"
            "    proxy_max_temp_file_size 0;\n"
            "\n",
            d, d, d, d, d, d, d, d);

    fprintf(out, "    # least_conn rather than round-robin: WebSocket sessions last for hours, so\n"
                 "    # what matters is how many each node holds, not how many it was handed.\n"
                 "    # After a node restarts, round-robin would keep giving it only 1/N of new\n"
                 "    # sessions while the survivors keep the ones that moved to them;\n"
                 "    # least_conn sends new sessions to it until the counts even out. The\n"
                 "    # zone shares those counts (and failure state) between worker processes.\n"
                 "    #\n"
                 "    # Passive health checks: one failed connect (max_fails=1) takes a node\n"
                 "    # out for fail_timeout=2s, then nginx tries it again with a real request.\n"
                 "    upstream warren {\n"
                 "        least_conn;\n"
                 "        zone warren 64k;\n");
    for (int i = 1; i <= c->n; i++)
        fprintf(out, "        server 127.0.0.1:%d max_fails=1 fail_timeout=2s;  # node %d\n",
                c->http_port + i - 1, i);
    fprintf(out, "    }\n"
                 "\n"
                 "    server {\n");
    fprintf(out, "        listen 127.0.0.1:%d;\n", c->lb_port);
    if (c->lb_tls_port != 0) {
        fprintf(out,
                "        # HTTPS and WSS (cluster up --tls): the same locations over TLS.\n"
                "        listen 127.0.0.1:%d ssl;\n",
                c->lb_tls_port);
        tls_settings(c, out, "        ", "SSL");
    }
    fprintf(out,
            "\n"
            "        # A dead node refuses connections at once; a hung one gets 1 s. Either\n"
            "        # way the request goes to the next node. Only requests nothing was sent\n"
            "        # back for are retried, and never non-idempotent ones (nginx's default).\n"
            "        proxy_connect_timeout 1s;\n"
            "        proxy_next_upstream error timeout http_502 http_503;\n"
            "        proxy_next_upstream_timeout 10s;\n"
            "\n"
            "        # The game: WebSocket sessions, kept open for up to an hour of silence\n"
            "        # (the client sends moves, the node sends updates; either resets it).\n"
            "        location /ws {\n"
            "            proxy_pass http://warren;\n"
            "            proxy_http_version 1.1;\n"
            "            proxy_set_header Upgrade $http_upgrade;\n"
            "            proxy_set_header Connection \"upgrade\";\n");
    proxy_headers(out, "            ");
    fprintf(out, "            proxy_read_timeout 1h;\n"
                 "            proxy_send_timeout 1h;\n"
                 "            proxy_buffering off;\n"
                 "        }\n"
                 "\n"
                 "        # The MUD in the browser (/play): its WebSocket, same treatment. An\n"
                 "        # exact match: the prefix location /ws above does not cover it.\n"
                 "        location = /mud/ws {\n"
                 "            proxy_pass http://warren;\n"
                 "            proxy_http_version 1.1;\n"
                 "            proxy_set_header Upgrade $http_upgrade;\n"
                 "            proxy_set_header Connection \"upgrade\";\n");
    proxy_headers(out, "            ");
    fprintf(out, "            proxy_read_timeout 1h;\n"
                 "            proxy_send_timeout 1h;\n"
                 "            proxy_buffering off;\n"
                 "        }\n"
                 "\n"
                 "        # The /admin dashboard's live feed (docs/operations.md#dashboard).\n"
                 "        location = /admin/ws {\n"
                 "            proxy_pass http://warren;\n"
                 "            proxy_http_version 1.1;\n"
                 "            proxy_set_header Upgrade $http_upgrade;\n"
                 "            proxy_set_header Connection \"upgrade\";\n");
    proxy_headers(out, "            ");
    fprintf(out, "            proxy_read_timeout 1h;\n"
                 "            proxy_buffering off;\n"
                 "        }\n"
                 "\n"
                 "        # Everything else: the browser client's files, /api/*, /healthz,\n"
                 "        # /readyz and /metrics of whichever node answers.\n"
                 "        location / {\n"
                 "            proxy_pass http://warren;\n"
                 "            proxy_http_version 1.1;\n");
    proxy_headers(out, "            ");
    fprintf(out, "            proxy_read_timeout 30s;\n"
                 "        }\n"
                 "    }\n"
                 "}\n");
    if (c->telnet_port != 0)
        stream_block(c, out);
}

int wr__local_nginx_conf_write(const struct wr_local *c, const char *stream_module, char *err,
                               size_t errlen)
{
    char path[WR_LOCAL_PATH];
    wr__local_path(c, "nginx-tmp", path);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        snprintf(err, errlen, "open_memstream failed: %s", strerror(errno));
        return -1;
    }
    wr__local_nginx_conf(c, stream_module, f);
    fclose(f);
    wr__local_path(c, "nginx.conf", path);
    int rc = wr__local_write_file(path, text, len, 0644, err, errlen);
    free(text);
    return rc;
}
