/* Telnet option negotiation for net/telnet.c: the options we agree to and
 * offer, TTYPE/MTTS, NAWS, GMCP (Core.Hello, Core.Supports.*), MSSP, MCCP2,
 * EOR/GA prompts and echo, and the negotiated state the connection API
 * reports. telnet.c's libtelnet event handler passes every negotiation,
 * subnegotiation, TTYPE and compression event here (wr__telnet_opts_event). */
#include "net/telnet.h"
#include "net/telnet_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/log.h"

/* What we agree to when the client asks first; our own offers are sent at
 * connect. ECHO is absent: only wr_telnet_hide_input turns it on. */
const telnet_telopt_t wr__telnet_telopts[] = {
    {TELNET_TELOPT_SGA, TELNET_WILL, TELNET_DONT},
    {TELNET_TELOPT_EOR, TELNET_WILL, TELNET_DONT},
    {WR_TELNET_TELOPT_GMCP, TELNET_WILL, TELNET_DONT},
    {TELNET_TELOPT_MSSP, TELNET_WILL, TELNET_DONT},
    {TELNET_TELOPT_COMPRESS2, TELNET_WILL, TELNET_DONT},
    {TELNET_TELOPT_NAWS, TELNET_WONT, TELNET_DO},
    {TELNET_TELOPT_TTYPE, TELNET_WONT, TELNET_DO},
    {-1, 0, 0},
};

void wr__telnet_offer(struct wr_telnet *t)
{
    telnet_negotiate(t->tn, TELNET_WILL, TELNET_TELOPT_SGA);
    telnet_negotiate(t->tn, TELNET_WILL, TELNET_TELOPT_EOR);
    telnet_negotiate(t->tn, TELNET_WILL, WR_TELNET_TELOPT_GMCP);
    telnet_negotiate(t->tn, TELNET_WILL, TELNET_TELOPT_MSSP);
    telnet_negotiate(t->tn, TELNET_WILL, TELNET_TELOPT_COMPRESS2);
    telnet_negotiate(t->tn, TELNET_DO, TELNET_TELOPT_NAWS);
    telnet_negotiate(t->tn, TELNET_DO, TELNET_TELOPT_TTYPE);
}

/* ---- TTYPE / MTTS ----------------------------------------------------- */

static void copy_name(char *dst, const char *src)
{
    size_t n = 0;
    for (; src[n] != '\0' && n < WR_TELNET_NAME_MAX - 1; n++) {
        unsigned char ch = (unsigned char)src[n];
        dst[n] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    dst[n] = '\0';
}

static bool starts_with_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Terminal types and client names known to draw ANSI colour. */
static bool looks_ansi(const char *name)
{
    static const char *const prefixes[] = {"xterm", "ansi", "vt100", "screen", "tmux"};
    static const char *const clients[] = {"mudlet", "tintin++", "mushclient"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (starts_with_ci(name, prefixes[i]))
            return true;
    for (size_t i = 0; i < sizeof clients / sizeof clients[0]; i++)
        if (starts_with_ci(name, clients[i]))
            return true;
    return false;
}

static void ttype_ask(struct wr_telnet *t)
{
    if (t->ttype_done || t->ttype_waiting || t->ttype_asked >= WR_TELNET_TTYPE_ASKS) {
        t->ttype_done = true;
        return;
    }
    t->ttype_asked++;
    t->ttype_waiting = true;
    telnet_ttype_send(t->tn);
}

static void ttype_reply(struct wr_telnet *t, const char *raw)
{
    if (!t->ttype_waiting)
        return; /* unasked: ignored */
    t->ttype_waiting = false;
    char name[WR_TELNET_NAME_MAX];
    copy_name(name, raw);
    if (t->ttype_got > 0 && strcasecmp(name, t->ttype_last) == 0) {
        t->ttype_done = true; /* the list starts over: we have seen it all */
        return;
    }
    t->ttype_got++;
    memcpy(t->ttype_last, name, sizeof name);
    if (t->ttype_got == 1)
        memcpy(t->client_name, name, sizeof name);
    else if (t->ttype_got == 2)
        memcpy(t->term_type, name, sizeof name);
    if (starts_with_ci(name, "MTTS ")) {
        char *end;
        unsigned long v = strtoul(name + 5, &end, 10);
        if (end != name + 5 && *end == '\0' && v <= 0xffffffffu) {
            t->mtts = (unsigned)v;
            if (t->mtts & 1)
                t->color = true;
        }
    } else if (looks_ansi(name)) {
        t->color = true;
    }
    wr_debug("telnet %s: TTYPE %u: %s", t->s.peer, t->ttype_got, name);
    ttype_ask(t);
}

/* ---- GMCP ------------------------------------------------------------- */

static bool pkg_char_ok(char ch)
{
    return isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-';
}

/* Lower-case module name of a Core.Supports entry ("Char 1" -> "char"),
 * or false if it is not one. */
static bool supports_name(const char *entry, char *out)
{
    size_t n = 0;
    while (entry[n] != '\0' && entry[n] != ' ') {
        if (n >= WR_TELNET_PKG_MAX - 1 || !pkg_char_ok(entry[n]))
            return false;
        out[n] = (char)tolower((unsigned char)entry[n]);
        n++;
    }
    out[n] = '\0';
    return n > 0;
}

static void supports_remove(struct wr_telnet *t, const char *name)
{
    for (size_t i = 0; i < t->n_supports; i++) {
        if (strcmp(t->supports[i].name, name) == 0) {
            t->supports[i] = t->supports[--t->n_supports];
            return;
        }
    }
}

static void supports_add(struct wr_telnet *t, const char *name)
{
    for (size_t i = 0; i < t->n_supports; i++)
        if (strcmp(t->supports[i].name, name) == 0)
            return;
    if (t->n_supports >= WR_TELNET_MAX_SUPPORTS) {
        wr_debug("telnet %s: GMCP Core.Supports: over %d packages, %s ignored", t->s.peer,
                 WR_TELNET_MAX_SUPPORTS, name);
        return;
    }
    if (t->supports == NULL)
        t->supports = wr_calloc(WR_TELNET_MAX_SUPPORTS, sizeof *t->supports);
    snprintf(t->supports[t->n_supports++].name, WR_TELNET_PKG_MAX, "%s", name);
}

/* Core.Supports.Set / Add / Remove (@op 's', 'a', 'r'): an array of
 * "Package version" strings. */
static void gmcp_supports(struct wr_telnet *t, char op, const json_t *arr)
{
    if (!json_is_array(arr)) {
        wr_debug("telnet %s: GMCP Core.Supports: not an array", t->s.peer);
        return;
    }
    if (op == 's')
        t->n_supports = 0;
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        char name[WR_TELNET_PKG_MAX];
        if (!json_is_string(v) || !supports_name(json_string_value(v), name))
            continue;
        if (op == 'r')
            supports_remove(t, name);
        else
            supports_add(t, name);
    }
}

static void gmcp_hello(struct wr_telnet *t, const json_t *obj)
{
    const json_t *client = json_object_get(obj, "client");
    const json_t *version = json_object_get(obj, "version");
    if (json_is_string(client))
        copy_name(t->gmcp_client, json_string_value(client));
    if (json_is_string(version))
        copy_name(t->gmcp_version, json_string_value(version));
    wr_debug("telnet %s: GMCP client %s %s", t->s.peer, t->gmcp_client, t->gmcp_version);
}

/* IAC SB GMCP "Package.Name[ json]" IAC SE. Only valid JSON reaches the
 * handler. */
static void gmcp_recv(struct wr_telnet *t, const char *buf, size_t len)
{
    char pkg[WR_TELNET_PKG_MAX * 2];
    size_t n = 0;
    if (!t->gmcp) {
        wr_debug("telnet %s: GMCP message before DO GMCP ignored", t->s.peer);
        return;
    }
    while (n < len && buf[n] != ' ') {
        if (n >= sizeof pkg - 1 || !pkg_char_ok(buf[n])) {
            wr_debug("telnet %s: GMCP: bad package name", t->s.peer);
            return;
        }
        pkg[n] = buf[n];
        n++;
    }
    pkg[n] = '\0';
    if (n == 0) {
        wr_debug("telnet %s: GMCP: empty package name", t->s.peer);
        return;
    }
    while (n < len && buf[n] == ' ')
        n++;
    const char *data = buf + n;
    size_t dlen = len - n;
    if (memchr(data, '\0', dlen) != NULL) {
        wr_debug("telnet %s: GMCP %s: NUL in data", t->s.peer, pkg);
        return;
    }
    json_t *doc = NULL;
    if (dlen > 0) {
        json_error_t err;
        doc = json_loadb(data, dlen, JSON_DECODE_ANY, &err);
        if (doc == NULL) {
            wr_debug("telnet %s: GMCP %s: bad JSON: %s", t->s.peer, pkg, err.text);
            return;
        }
    }
    if (strcasecmp(pkg, "Core.Hello") == 0) {
        gmcp_hello(t, doc);
    } else if (strcasecmp(pkg, "Core.Supports.Set") == 0) {
        gmcp_supports(t, 's', doc);
    } else if (strcasecmp(pkg, "Core.Supports.Add") == 0) {
        gmcp_supports(t, 'a', doc);
    } else if (strcasecmp(pkg, "Core.Supports.Remove") == 0) {
        gmcp_supports(t, 'r', doc);
    } else if (wr__telnet_srv(t)->h.on_gmcp != NULL) {
        char *json = wr_malloc(dlen + 1);
        memcpy(json, data, dlen);
        json[dlen] = '\0';
        wr__telnet_srv(t)->h.on_gmcp(t, pkg, json);
        free(json);
    }
    json_decref(doc);
}

/* ---- MSSP and NAWS ---------------------------------------------------- */

static void mssp_put(struct wr_writer *w, uint8_t kind, const char *s)
{
    wr_put_u8(w, kind);
    for (; *s != '\0'; s++)
        if (*s != TELNET_MSSP_VAR && *s != TELNET_MSSP_VAL)
            wr_put_u8(w, (uint8_t)*s);
}

static void mssp_send(struct wr_telnet *t)
{
    struct wr_telnet_server *srv = wr__telnet_srv(t);
    struct wr_telnet_mssp_var vars[WR_TELNET_MAX_MSSP];
    if (srv->h.mssp == NULL)
        return;
    size_t n = srv->h.mssp(srv->h.data, vars, WR_TELNET_MAX_MSSP);
    if (n > WR_TELNET_MAX_MSSP)
        n = WR_TELNET_MAX_MSSP;
    struct wr_writer *w = &srv->scratch;
    w->len = 0;
    for (size_t i = 0; i < n; i++) {
        if (vars[i].name == NULL || vars[i].value == NULL)
            continue;
        mssp_put(w, TELNET_MSSP_VAR, vars[i].name);
        mssp_put(w, TELNET_MSSP_VAL, vars[i].value);
    }
    telnet_subnegotiation(t->tn, TELNET_TELOPT_MSSP, (const char *)w->base, w->len);
}

static void naws_recv(struct wr_telnet *t, const char *buf, size_t len)
{
    if (len != 4) {
        wr_debug("telnet %s: NAWS of %zu bytes ignored", t->s.peer, len);
        return;
    }
    const uint8_t *b = (const uint8_t *)buf;
    unsigned w = (unsigned)b[0] << 8 | b[1];
    unsigned h = (unsigned)b[2] << 8 | b[3];
    if (w != 0)
        t->width = (uint16_t)w;
    if (h != 0)
        t->height = (uint16_t)h;
    if (wr__telnet_srv(t)->h.on_resize != NULL)
        wr__telnet_srv(t)->h.on_resize(t, t->width, t->height);
}

/* ---- libtelnet events (passed on by telnet.c's tn_event) -------------- */

static void tn_subneg(struct wr_telnet *t, const telnet_event_t *ev)
{
    if (ev->sub.size > wr__telnet_srv(t)->limits.max_subneg) {
        wr__telnet_limit(t, "subnegotiation of option %u: %zu bytes (max %zu)", ev->sub.telopt,
                         ev->sub.size, wr__telnet_srv(t)->limits.max_subneg);
        return;
    }
    switch (ev->sub.telopt) {
    case TELNET_TELOPT_NAWS:
        naws_recv(t, ev->sub.buffer, ev->sub.size);
        break;
    case WR_TELNET_TELOPT_GMCP:
        gmcp_recv(t, ev->sub.buffer, ev->sub.size);
        break;
    case TELNET_TELOPT_COMPRESS2:
        /* libtelnet would start inflating our input; see the top of telnet.c. */
        wr__telnet_limit(t, "client sent COMPRESS2 (MCCP2 compresses server output only)");
        break;
    default:
        break; /* TTYPE comes as its own event; others are not ours */
    }
}

void wr__telnet_opts_event(struct wr_telnet *t, const telnet_event_t *ev)
{
    switch (ev->type) {
    case TELNET_EV_WILL:
        if (ev->neg.telopt == TELNET_TELOPT_TTYPE)
            ttype_ask(t);
        break;
    case TELNET_EV_WONT:
        if (ev->neg.telopt == TELNET_TELOPT_TTYPE) {
            t->ttype_done = true;
            t->ttype_waiting = false;
        }
        break;
    case TELNET_EV_DO:
        switch (ev->neg.telopt) {
        case TELNET_TELOPT_EOR:
            t->eor = true;
            break;
        case WR_TELNET_TELOPT_GMCP:
            t->gmcp = true;
            break;
        case TELNET_TELOPT_MSSP:
            mssp_send(t);
            break;
        case TELNET_TELOPT_COMPRESS2:
            if (!t->compressing)
                telnet_begin_compress2(t->tn);
            break;
        default:
            break;
        }
        break;
    case TELNET_EV_DONT:
        if (ev->neg.telopt == TELNET_TELOPT_EOR)
            t->eor = false;
        else if (ev->neg.telopt == WR_TELNET_TELOPT_GMCP)
            t->gmcp = false;
        break;
    case TELNET_EV_SUBNEGOTIATION:
        tn_subneg(t, ev);
        break;
    case TELNET_EV_TTYPE:
        if (ev->ttype.cmd == TELNET_TTYPE_IS)
            ttype_reply(t, ev->ttype.name);
        break;
    case TELNET_EV_COMPRESS:
        if (ev->compress.state == 1 && !t->compressing) {
            t->compressing = true;
            wr_debug("telnet %s: MCCP2 on", t->s.peer);
        }
        break;
    default:
        break; /* IAC commands (NOP, AYT...), ZMP, ENVIRON, MSSP from clients */
    }
}

/* ---- command limits on the raw input ---------------------------------- */

/* Why a scanner beside libtelnet: libtelnet answers a refused option
 * (IAC WILL 99 -> IAC DONT 99) and ignores a repeated one without raising
 * an event, and it buffers an unterminated subnegotiation up to 16 KiB
 * before it says anything, so its events cannot count an option storm or
 * bound a subnegotiation in progress. This walks the same IAC grammar
 * (RFC 854/855) only far enough to count; libtelnet still does the
 * parsing. */
enum {
    SCAN_DATA,   /* text */
    SCAN_IAC,    /* after IAC */
    SCAN_OPT,    /* after IAC WILL/WONT/DO/DONT: the option byte */
    SCAN_SB_OPT, /* after IAC SB: the option byte */
    SCAN_SB,     /* inside a subnegotiation */
    SCAN_SB_IAC  /* after IAC inside a subnegotiation */
};

/* One telnet command: a token from the bucket (cmd_rate per second, at
 * most cmd_burst), and for a negotiation, one of max_negotiations. False,
 * with the reason in @why, when a limit is broken. */
static bool scan_command(struct wr_telnet *t, bool negotiation, char *why, size_t why_len)
{
    const struct wr_telnet_limits *lim = &wr__telnet_srv(t)->limits;
    if (negotiation && ++t->negotiations > lim->max_negotiations) {
        snprintf(why, why_len, "option storm: over %u option negotiations",
                 lim->max_negotiations);
        return false;
    }
    if (lim->cmd_rate == 0)
        return true;
    uint64_t now = uv_now(wr__telnet_srv(t)->ss.loop);
    uint64_t cap = (uint64_t)lim->cmd_burst * 1000;
    t->cmd_tokens_milli += (now - t->cmd_refill_at) * lim->cmd_rate;
    if (t->cmd_tokens_milli > cap)
        t->cmd_tokens_milli = cap;
    t->cmd_refill_at = now;
    if (t->cmd_tokens_milli < 1000) {
        snprintf(why, why_len, "option storm: telnet commands over %u/s (burst %u)",
                 lim->cmd_rate, lim->cmd_burst);
        return false;
    }
    t->cmd_tokens_milli -= 1000;
    return true;
}

size_t wr__telnet_scan(struct wr_telnet *t, const uint8_t *data, size_t len, char *why,
                       size_t why_len)
{
    size_t max_sb = wr__telnet_srv(t)->limits.max_subneg;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = data[i];
        switch (t->scan) {
        case SCAN_DATA:
            if (b == TELNET_IAC)
                t->scan = SCAN_IAC;
            break;
        case SCAN_IAC:
            if (b == TELNET_IAC) {
                t->scan = SCAN_DATA; /* an escaped 255 */
                break;
            }
            if (!scan_command(t, b >= TELNET_WILL && b <= TELNET_DONT, why, why_len))
                return i;
            t->scan = b >= TELNET_WILL && b <= TELNET_DONT ? SCAN_OPT
                      : b == TELNET_SB                      ? SCAN_SB_OPT
                                                            : SCAN_DATA;
            break;
        case SCAN_OPT:
            t->scan = SCAN_DATA;
            break;
        case SCAN_SB_OPT:
            t->sb_len = 0;
            t->scan = SCAN_SB;
            break;
        case SCAN_SB:
        case SCAN_SB_IAC:
            if (t->scan == SCAN_SB && b == TELNET_IAC) {
                t->scan = SCAN_SB_IAC;
                break;
            }
            if (t->scan == SCAN_SB_IAC && b != TELNET_IAC) {
                t->scan = SCAN_DATA; /* IAC SE ends it (and so does anything else) */
                break;
            }
            t->scan = SCAN_SB;
            if (++t->sb_len > max_sb) {
                snprintf(why, why_len, "subnegotiation over %zu bytes without its end", max_sb);
                return i;
            }
            break;
        default:
            t->scan = SCAN_DATA;
            break;
        }
    }
    return len;
}

/* ---- connection API: prompts, echo, GMCP, negotiated state ------------- */

void wr_telnet_prompt(struct wr_telnet *t, const char *text, size_t len)
{
    if (t->state != WR_TELNET_OPEN)
        return;
    wr_telnet_send(t, text, len);
    if (t->state == WR_TELNET_OPEN)
        telnet_iac(t->tn, t->eor ? TELNET_EOR : TELNET_GA);
}

void wr_telnet_hide_input(struct wr_telnet *t, bool hide)
{
    if (t->state != WR_TELNET_OPEN || t->hidden == hide)
        return;
    t->hidden = hide;
    telnet_negotiate(t->tn, hide ? TELNET_WILL : TELNET_WONT, TELNET_TELOPT_ECHO);
}

bool wr_telnet_gmcp_supports(const struct wr_telnet *t, const char *package)
{
    if (!t->gmcp)
        return false;
    if (starts_with_ci(package, "Core.") || strcasecmp(package, "Core") == 0)
        return true; /* every GMCP client speaks Core */
    for (size_t i = 0; i < t->n_supports; i++) {
        const char *name = t->supports[i].name;
        size_t n = strlen(name);
        if (strncasecmp(package, name, n) == 0 && (package[n] == '\0' || package[n] == '.'))
            return true;
    }
    return false;
}

void wr_telnet_gmcp(struct wr_telnet *t, const char *package, const char *json)
{
    if (t->state != WR_TELNET_OPEN || !wr_telnet_gmcp_supports(t, package))
        return;
    struct wr_writer *w = &wr__telnet_srv(t)->scratch;
    w->len = 0;
    wr_put_bytes(w, package, strlen(package));
    if (json != NULL && json[0] != '\0') {
        wr_put_u8(w, ' ');
        wr_put_bytes(w, json, strlen(json));
    }
    telnet_subnegotiation(t->tn, WR_TELNET_TELOPT_GMCP, (const char *)w->base, w->len);
}

unsigned wr_telnet_width(const struct wr_telnet *t)
{
    return t->width;
}

unsigned wr_telnet_height(const struct wr_telnet *t)
{
    return t->height;
}

bool wr_telnet_color(const struct wr_telnet *t)
{
    return t->color;
}

bool wr_telnet_compressing(const struct wr_telnet *t)
{
    return t->compressing;
}

const char *wr_telnet_client_name(const struct wr_telnet *t)
{
    return t->client_name[0] != '\0' ? t->client_name : t->gmcp_client;
}

const char *wr_telnet_client_version(const struct wr_telnet *t)
{
    return t->gmcp_version;
}

const char *wr_telnet_terminal_type(const struct wr_telnet *t)
{
    return t->term_type;
}

unsigned wr_telnet_mtts(const struct wr_telnet *t)
{
    return t->mtts;
}
