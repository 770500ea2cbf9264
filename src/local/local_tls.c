/* The TLS certificate of `warren cluster up --tls`: nginx terminates TLS
 * with DIR/tls-cert.pem and DIR/tls-key.pem. A pair already there is kept
 * while it is good (so a browser or a test that trusted it once keeps
 * trusting it across `down` and `up`, and an operator may put their own
 * pair there); otherwise a self-signed one for localhost and 127.0.0.1 is
 * made with the openssl command line tool, which every machine with nginx
 * has anyway. The pair is checked with libcrypto (already linked for the
 * WebSocket handshake's SHA-1), which says exactly what is wrong with it.
 * See local_internal.h. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "local/local_internal.h"

#define WR_LOCAL_TLS_DAYS "365"
/* A certificate that ends within a day is replaced rather than reused. */
#define WR_LOCAL_TLS_MIN_LEFT_S (24 * 3600)
/* openssl makes an EC key in milliseconds; this only bounds a hang. */
#define WR_LOCAL_TLS_OPENSSL_MS 30000

/* PEM password callback: never ask (the default one would prompt on the
 * terminal). An encrypted key is useless to nginx started by us anyway. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Check the pair at @cert_path and @key_path. Returns 0 when nginx can use
 * it, with its end date in @until and whether it names localhost and
 * 127.0.0.1 in @local; -1 with what is wrong in @why. */
static int check_pair(const char *cert_path, const char *key_path, char *until, size_t untillen,
                      bool *local, char *why, size_t whylen)
{
    int rc = -1;
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    FILE *f = fopen(cert_path, "re");
    if (f == NULL) {
        snprintf(why, whylen, "cannot read %s: %s", cert_path, strerror(errno));
        goto out;
    }
    cert = PEM_read_X509(f, NULL, no_password, NULL);
    fclose(f);
    if (cert == NULL) {
        snprintf(why, whylen, "%s holds no PEM certificate", cert_path);
        goto out;
    }
    f = fopen(key_path, "re");
    if (f == NULL) {
        snprintf(why, whylen, "cannot read %s: %s", key_path, strerror(errno));
        goto out;
    }
    key = PEM_read_PrivateKey(f, NULL, no_password, NULL);
    fclose(f);
    if (key == NULL) {
        snprintf(why, whylen, "%s holds no unencrypted PEM private key", key_path);
        goto out;
    }
    time_t soon = time(NULL) + WR_LOCAL_TLS_MIN_LEFT_S;
    if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) {
        snprintf(why, whylen, "the certificate is not valid yet");
        goto out;
    }
    if (X509_cmp_time(X509_get0_notAfter(cert), &soon) <= 0) {
        snprintf(why, whylen, "the certificate has expired or expires within a day");
        goto out;
    }
    if (X509_check_private_key(cert, key) != 1) {
        snprintf(why, whylen, "%s is not the key of %s", key_path, cert_path);
        goto out;
    }
    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
        strftime(until, untillen, "%Y-%m-%d", &tm);
    else
        snprintf(until, untillen, "?");
    *local = X509_check_host(cert, "localhost", 0, 0, NULL) == 1 &&
             X509_check_ip_asc(cert, "127.0.0.1", 0) == 1;
    rc = 0;
out:
    EVP_PKEY_free(key);
    X509_free(cert);
    ERR_clear_error();
    return rc;
}

/* Run @argv (argv[0] the program's path) to its end, output appended to
 * @log. Returns 0 when it exits with status 0, else -1 with the reason. */
static int run(char *const argv[], const char *log, const sigset_t *mask, char *err, size_t errlen)
{
    pid_t pid = wr__local_spawn(argv, log, mask, err, errlen);
    if (pid < 0)
        return -1;
    long long deadline = wr__local_now_ms() + WR_LOCAL_TLS_OPENSSL_MS;
    int st = 0;
    pid_t r;
    while ((r = waitpid(pid, &st, WNOHANG)) == 0 && wr__local_now_ms() < deadline)
        wr__local_sleep(10, NULL);
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        snprintf(err, errlen, "%s did not finish in %d s (killed); see %s", argv[0],
                 WR_LOCAL_TLS_OPENSSL_MS / 1000, log);
        return -1;
    }
    if (r < 0) {
        snprintf(err, errlen, "waitpid(%d) failed: %s", (int)pid, strerror(errno));
        return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char how[96];
        snprintf(err, errlen, "%s %s; see %s", argv[0],
                 wr__local_describe_exit(st, how, sizeof how), log);
        return -1;
    }
    return 0;
}

/* Make a new self-signed pair at @cert and @key with @openssl. */
static int make_pair(const struct wr_local *c, const char *openssl, const char *cert,
                     const char *key, const sigset_t *mask, char *err, size_t errlen)
{
    char cert_tmp[WR_LOCAL_PATH + 8], key_tmp[WR_LOCAL_PATH + 8], log[WR_LOCAL_PATH];
    snprintf(cert_tmp, sizeof cert_tmp, "%s.tmp", cert);
    snprintf(key_tmp, sizeof key_tmp, "%s.tmp", key);
    wr__local_path(c, "tls.log", log);
    unlink(cert_tmp);
    unlink(key_tmp);
    /* The key file exists with mode 0600 before a byte of the key is in it;
     * openssl truncates and writes it, which keeps the mode. */
    int fd = open(key_tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", key_tmp, strerror(errno));
        return -1;
    }
    close(fd);
    char *argv[] = {(char *)openssl,
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-sha256",
                    "-days",
                    WR_LOCAL_TLS_DAYS,
                    "-subj",
                    "/CN=localhost",
                    "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout",
                    key_tmp,
                    "-out",
                    cert_tmp,
                    NULL};
    char line[8192];
    size_t off = 0;
    for (int i = 0; argv[i] != NULL && off < sizeof line - 1; i++)
        off += (size_t)snprintf(line + off, sizeof line - off, "%s%s", i ? " " : "", argv[i]);
    FILE *lf = fopen(log, "ae");
    if (lf != NULL) {
        fprintf(lf, "==== warren cluster up --tls: %s\n", line);
        fclose(lf);
    }
    if (run(argv, log, mask, err, errlen) != 0)
        goto err_after_tmp;
    if (chmod(key_tmp, 0600) != 0 || rename(key_tmp, key) != 0) {
        snprintf(err, errlen, "cannot move %s into place: %s", key_tmp, strerror(errno));
        goto err_after_tmp;
    }
    if (rename(cert_tmp, cert) != 0) {
        snprintf(err, errlen, "rename(%s, %s) failed: %s", cert_tmp, cert, strerror(errno));
        goto err_after_tmp;
    }
    return 0;

err_after_tmp:
    unlink(cert_tmp);
    unlink(key_tmp);
    return -1;
}

int wr__local_tls_prepare(const struct wr_local *c, const char *openssl, const sigset_t *mask,
                          char *note, size_t notelen, char *err, size_t errlen)
{
    char cert[WR_LOCAL_PATH], key[WR_LOCAL_PATH], until[32], why[WR_LOCAL_PATH + 128];
    bool local = false;
    wr__local_path(c, WR_LOCAL_TLS_CERT, cert);
    wr__local_path(c, WR_LOCAL_TLS_KEY, key);

    bool have_cert = access(cert, F_OK) == 0, have_key = access(key, F_OK) == 0;
    if (have_cert || have_key) {
        if (check_pair(cert, key, until, sizeof until, &local, why, sizeof why) == 0) {
            struct stat st;
            bool narrowed = false;
            if (stat(key, &st) == 0 && (st.st_mode & 077) != 0) {
                if (chmod(key, 0600) != 0) {
                    snprintf(err, errlen, "chmod(%s, 0600) failed: %s", key, strerror(errno));
                    return -1;
                }
                narrowed = true;
            }
            snprintf(note, notelen,
                     "TLS: reusing the certificate already in %s (valid until %s)%s%s", cert, until,
                     narrowed ? "; its key's mode set to 0600" : "",
                     local ? ""
                           : ".\n     It names neither localhost nor 127.0.0.1 (or not both): "
                             "clients that check names will refuse it");
            return 0;
        }
    }
    if (make_pair(c, openssl, cert, key, mask, err, errlen) != 0)
        return -1;
    char why2[WR_LOCAL_PATH + 128];
    if (check_pair(cert, key, until, sizeof until, &local, why2, sizeof why2) != 0 || !local) {
        snprintf(err, errlen, "%s made a certificate nginx cannot use: %s", openssl,
                 local ? why2 : "it does not name localhost and 127.0.0.1");
        return -1;
    }
    if (have_cert || have_key)
        snprintf(note, notelen,
                 "TLS: made a new self-signed certificate for localhost and 127.0.0.1, valid "
                 "until %s, in %s\n     (the old pair was replaced: %s)",
                 until, cert, why);
    else
        snprintf(note, notelen,
                 "TLS: made a self-signed certificate for localhost and 127.0.0.1, valid until "
                 "%s, in %s",
                 until, cert);
    return 0;
}
