/* test_http.c - ws:// URLs (RFC 6455 3, RFC 3986) and the HTTP/1.1 upgrade (RFC 6455 4,
 * RFC 9110, RFC 9112): parsers fed whole, as every prefix and split at every offset, with
 * inputs just before a PROT_NONE page; the server and client checks; the builders; and a
 * full round trip from a URL to an accepted response. */
#if !defined(_WIN32) && !defined(T_NO_MMAP)   /* T_NO_MMAP: firmware (tests/firmware) */
#include <sys/mman.h>
#include <unistd.h>
#endif

#define T_KEY    "dGhlIHNhbXBsZSBub25jZQ=="       /* RFC 6455 1.3 / 4.1 */
#define T_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define T_RL     "GET /chat HTTP/1.1\r\n"
#define T_HOST   "Host: server.example.com\r\n"
#define T_UPG    "Upgrade: websocket\r\n"
#define T_CONN   "Connection: Upgrade\r\n"
#define T_KEYH   "Sec-WebSocket-Key: " T_KEY "\r\n"
#define T_VER    "Sec-WebSocket-Version: 13\r\n"
#define T_101    "HTTP/1.1 101 Switching Protocols\r\n"
#define T_ACCH   "Sec-WebSocket-Accept: " T_ACCEPT "\r\n"

/* RFC 6455 1.2, the client's opening handshake and the server's answer */
static const char t_rfc_req[] =
    T_RL T_HOST T_UPG T_CONN T_KEYH
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    T_VER "\r\n";
static const char t_rfc_res[] =
    T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Protocol: chat\r\n\r\n";

/* ---- helpers ---- */

/* Copies s[0..n) so that its last byte is the last one before a PROT_NONE page: any read
 * past n crashes. Returns the copy (valid until the next call). */
static const char *t_guard(const void *s, size_t n) {
#if !defined(_WIN32) && !defined(T_NO_MMAP)
    static char *base;
    static size_t size;
    if (!base) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        void *m = mmap(NULL, 5 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return NULL;
        base = (char *)m;
        size = 4 * page;
        if (mprotect(base + size, page, PROT_NONE) != 0) return NULL;
    }
    if (n > size) return NULL;
    if (n) memcpy(base + size - n, s, n);
    return base + size - n;
#else
    static char buf[16384];
    if (n > sizeof buf) return NULL;
    if (n) memcpy(buf + sizeof buf - n, s, n);
    return buf + sizeof buf - n;
#endif
}

static int t_span_is(ws_span s, const char *z) {
    return s.ptr != NULL && s.len == strlen(z) && memcmp(s.ptr, z, s.len) == 0;
}

/* The span as a NUL-terminated string (for messages and CHECK_STR). */
static const char *t_str(ws_span s) {
    static char buf[4][256];
    static int i;
    char *b = buf[i++ & 3];
    size_t n = s.len < 255 ? s.len : 255;
    if (!s.ptr) return "(null)";
    memcpy(b, s.ptr, n);
    b[n] = '\0';
    return b;
}

static ws_span t_sp(const char *z) { ws_span s; s.ptr = z; s.len = strlen(z); return s; }

/* Report a mismatch with where it happened; returns 1 if rc == want. */
static int t_want(ws_result rc, ws_result want, const char *what, size_t at) {
    if (rc == want) return 1;
    t_bad = 1;
    printf("  %s at %lu: got %d (%s), want %d\n", what, (unsigned long)at, (int)rc,
           ws_result_str(rc), (int)want);
    return 0;
}

/* Both parsers behind one signature; results land in t_rq / t_rs. */
static ws_http_request t_rq;
static ws_http_response t_rs;
typedef ws_result (*t_parse_fn)(const char *buf, size_t len, size_t max, size_t *used,
                                const char **why);
static ws_result t_parse_rq(const char *buf, size_t len, size_t max, size_t *used, const char **why) {
    return ws_http_parse_request(buf, len, max, &t_rq, used, why);
}
static ws_result t_parse_rs(const char *buf, size_t len, size_t max, size_t *used, const char **why) {
    return ws_http_parse_response(buf, len, max, &t_rs, used, why);
}
typedef void (*t_verify_fn)(const char *base);   /* checks t_rq / t_rs; spans lie in base */

/* Every prefix of s shorter than the head is WS_AGAIN (never an error), and every longer
 * one is WS_OK with *used == head. Each prefix sits right before the guard page. */
static void t_feed_prefixes(t_parse_fn parse, t_verify_fn verify, const char *s, size_t n,
                            size_t head) {
    size_t k, used;
    const char *g;
    for (k = 0; k <= n; k++) {
        g = t_guard(s, k);
        used = 0;
        if (!t_want(parse(g, k, 8192, &used, NULL), k < head ? WS_AGAIN : WS_OK, "prefix", k))
            return;
        if (k >= head) { CHECK_EQ(used, head); verify(g); }
    }
}

/* Split at every offset k, as a connection would receive it: the first k bytes with
 * "\r\n\r\n" garbage after them (a parser that looks past len sees an end), then the rest. */
static void t_feed_splits(t_parse_fn parse, t_verify_fn verify, const char *s, size_t n,
                          size_t head) {
    static char buf[2048];
    size_t k, used;
    CHECK(n + 4 <= sizeof buf);
    for (k = 0; k <= n && n + 4 <= sizeof buf; k++) {
        memset(buf, 'x', sizeof buf);
        memcpy(buf, s, k);
        memcpy(buf + k, "\r\n\r\n", 4);
        if (!t_want(parse(buf, k, 8192, &used, NULL), k < head ? WS_AGAIN : WS_OK, "split", k))
            return;
        memcpy(buf + k, s + k, n - k);
        used = 0;
        if (!t_want(parse(buf, n, 8192, &used, NULL), WS_OK, "after split", k)) return;
        CHECK_EQ(used, head);
        verify(buf);
    }
}

static void t_feed_all(t_parse_fn parse, t_verify_fn verify, const char *s, size_t n, size_t head) {
    size_t used = 0;
    if (t_want(parse(s, n, 8192, &used, NULL), WS_OK, "whole", n)) {
        CHECK_EQ(used, head);
        verify(s);
    }
    t_feed_prefixes(parse, verify, s, n, head);
    t_feed_splits(parse, verify, s, n, head);
}

/* s is malformed at byte `bad`: shorter prefixes are WS_AGAIN, and every prefix that holds
 * that byte is rejected with `want` and a non-empty why (RFC 9112 lets us stop at once). */
static void t_bad_at(t_parse_fn parse, const char *s, size_t bad, ws_result want) {
    size_t k, n = strlen(s);
    const char *why;
    for (k = 0; k <= n; k++) {
        why = NULL;
        if (!t_want(parse(t_guard(s, k), k, 8192, NULL, &why), k <= bad ? WS_AGAIN : want,
                    "prefix", k)) {
            printf("    input \"%s\"\n", s);
            return;
        }
        if (k > bad) CHECK(why && *why);
    }
}

/* Same, with the bad byte given as the first occurrence of `mark` in s. */
static void t_bad_at_mark(t_parse_fn parse, const char *s, const char *mark, size_t off,
                          ws_result want) {
    const char *m = strstr(s, mark);
    CHECK(m != NULL);
    if (m) t_bad_at(parse, s, (size_t)(m - s) + off, want);
}

/* ---- >>url ---- */

typedef struct t_url_case {
    const char *url;
    int secure;
    const char *host;
    int ipv6, port, port_given;
    const char *path, *query;   /* query NULL: no '?' */
} t_url_case;

static void t_url_ok(const t_url_case *c) {
    ws_url u;
    const char *why = NULL;
    size_t n = strlen(c->url);
    if (!t_want(ws_url_parse(t_guard(c->url, n), n, &u, &why), WS_OK, c->url, 0)) {
        printf("    why: %s\n", why ? why : "(null)");
        return;
    }
    CHECK_EQ(u.secure, c->secure);
    CHECK_STR(t_str(u.host), c->host);
    CHECK_EQ(u.ipv6, c->ipv6);
    CHECK_EQ(u.port, c->port);
    CHECK_EQ(u.port_given, c->port_given);
    CHECK(u.path.ptr != NULL || u.path.len == 0);
    CHECK_STR(t_str(u.path), c->path);
    if (c->query) CHECK_STR(t_str(u.query), c->query);
    else CHECK(u.query.ptr == NULL);
}

static void test_url_valid(void) {
    static const t_url_case cases[] = {
        {"ws://example.com", 0, "example.com", 0, 80, 0, "", NULL},
        {"wss://example.com", 1, "example.com", 0, 443, 0, "", NULL},
        {"WS://Example.COM/chat", 0, "Example.COM", 0, 80, 0, "/chat", NULL},
        {"wSs://h:8443/a/b?x=1&y=2", 1, "h", 0, 8443, 1, "/a/b", "x=1&y=2"},
        {"ws://127.0.0.1:9001/", 0, "127.0.0.1", 0, 9001, 1, "/", NULL},
        {"ws://[::1]:8080/p", 0, "::1", 1, 8080, 1, "/p", NULL},
        {"wss://[2001:db8::1]/", 1, "2001:db8::1", 1, 443, 0, "/", NULL},
        {"ws://[::ffff:192.0.2.1]", 0, "::ffff:192.0.2.1", 1, 80, 0, "", NULL},
        {"ws://[FE80::A]?q", 0, "FE80::A", 1, 80, 0, "", "q"},
        {"ws://h/?", 0, "h", 0, 80, 0, "/", ""},
        {"ws://h?", 0, "h", 0, 80, 0, "", ""},
        {"ws://h?a=b/c?d", 0, "h", 0, 80, 0, "", "a=b/c?d"},
        {"ws://h:80", 0, "h", 0, 80, 1, "", NULL},
        {"wss://h:80/x", 1, "h", 0, 80, 1, "/x", NULL},
        {"ws://h:1", 0, "h", 0, 1, 1, "", NULL},
        {"ws://h:65535/", 0, "h", 0, 65535, 1, "/", NULL},
        {"ws://h:008080/", 0, "h", 0, 8080, 1, "/", NULL},
        {"ws://a-b.c_d~e.example/p%20q/r;s", 0, "a-b.c_d~e.example", 0, 80, 0, "/p%20q/r;s", NULL},
        {"ws://x.y./", 0, "x.y.", 0, 80, 0, "/", NULL},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) t_url_ok(&cases[i]);
}

static void test_url_length_respected(void) {
    ws_url u;
    const char *s = "ws://host:8080/path?q#frag";
    CHECK_EQ(ws_url_parse(s, 9, &u, NULL), WS_OK);          /* "ws://host" */
    CHECK(t_span_is(u.host, "host"));
    CHECK_EQ(u.port, 80);
    CHECK_EQ(u.path.len, 0);
    CHECK_EQ(ws_url_parse(s, 19, &u, NULL), WS_OK);         /* through "/path" */
    CHECK(t_span_is(u.path, "/path"));
    CHECK(u.query.ptr == NULL);
    CHECK_EQ(ws_url_parse(s, 21, &u, NULL), WS_OK);         /* through "?q" */
    CHECK(t_span_is(u.query, "q"));
    CHECK_EQ(ws_url_parse(s, 22, &u, NULL), WS_ERR_URL);    /* "#" */
    CHECK_EQ(ws_url_parse("ws://h/\0x", 9, &u, NULL), WS_ERR_URL);   /* NUL is a control char */
}

static void test_url_invalid(void) {
    static const char *bad[] = {
        "", "ws", "ws:", "ws:/", "ws://", "wss://", "http://h/", "https://h/", "ftp://h/",
        "wsx://h/", "ws:/h/", "ws:h", "ws//h", "//h/", "h/", "ws:://h",
        "ws://user@h/", "ws://user:pw@h/", "ws://@h/", "ws://h@/",   /* no user info */
        "ws:///p", "ws://:80/", "ws://?q", "ws://#f",                 /* empty host */
        "ws://[::1", "ws://[::1/x", "ws://[::1:80", "ws://[]/", "ws://[::1]x/", "ws://[::1]]/",
        "ws://[g::1]/", "ws://[1.2.3.4]/",
        "ws://h:0", "ws://h:00", "ws://h:65536", "ws://h:99999999999999999999", "ws://h:8o",
        "ws://h:-1", "ws://h:+80", "ws://h:", "ws://h:/", "ws://h:?q", "ws://h:80:81", "ws://h:0x50",
        "ws://h#f", "ws://h/#", "ws://h/p#f", "ws://h/p?q#f",           /* fragments */
        "ws://h /", "ws://h/ a", "ws://h/\ta", "ws://h/\x01", "ws://h/\x7f", " ws://h/",
        "ws://h/\r\nX: y", "ws://h/a\n",
        "ws://h<x>/", "ws://h\"/", "ws://h\\x/", "ws://h\x80/", "ws://h^/"
    };
    size_t i, n;
    ws_url u;
    const char *why;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = strlen(bad[i]);
        why = NULL;
        if (!t_want(ws_url_parse(t_guard(bad[i], n), n, &u, &why), WS_ERR_URL, "url", i))
            printf("    \"%s\" accepted\n", bad[i]);
        CHECK(why != NULL && *why != '\0');
    }
}

/* ---- request parser ---- */

static void t_verify_rfc_req(const char *base) {
    ws_span v;
    CHECK(t_span_is(t_rq.method, "GET"));
    CHECK(t_span_is(t_rq.target, "/chat"));
    CHECK(t_span_is(t_rq.path, "/chat"));
    CHECK(t_rq.query.ptr == NULL);
    CHECK_EQ(t_rq.version_minor, 1);
    CHECK_EQ(t_rq.num_headers, 7);
    CHECK(t_rq.method.ptr == base);
    CHECK(t_span_is(t_rq.headers[0].name, "Host"));
    CHECK(t_span_is(t_rq.headers[0].value, "server.example.com"));
    CHECK(t_rq.headers[0].value.ptr == base + 26);   /* spans point into the buffer */
    CHECK(t_span_is(t_rq.headers[6].name, "Sec-WebSocket-Version"));
    CHECK(t_span_is(t_rq.headers[6].value, "13"));
    CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "sec-websocket-key", &v), 1);
    CHECK(t_span_is(v, T_KEY));
    CHECK(ws_http_has_token(t_rq.headers, t_rq.num_headers, "Sec-WebSocket-Protocol", "superchat"));
}

static void test_request_rfc_sample(void) {
    size_t n = sizeof t_rfc_req - 1;
    t_feed_all(t_parse_rq, t_verify_rfc_req, t_rfc_req, n, n);
}

static void test_request_with_first_frame(void) {
    /* a client may send its first frame right behind the head: *used stops at the head */
    static const char frame[] = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";   /* RFC 6455 5.7 */
    char buf[512];
    size_t head = sizeof t_rfc_req - 1, n = head + sizeof frame - 1;
    memcpy(buf, t_rfc_req, head);
    memcpy(buf + head, frame, sizeof frame - 1);
    t_feed_all(t_parse_rq, t_verify_rfc_req, buf, n, head);
    memcpy(buf + head, "\r\n\r\n", 4);       /* even bytes that look like another head */
    t_feed_all(t_parse_rq, t_verify_rfc_req, buf, head + 4, head);
}

static void t_verify_ows(const char *base) {
    ws_span v;
    (void)base;
    CHECK(t_span_is(t_rq.target, "/a/b?x=1&y"));
    CHECK(t_span_is(t_rq.path, "/a/b"));
    CHECK(t_span_is(t_rq.query, "x=1&y"));
    CHECK_EQ(t_rq.num_headers, 6);
    CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "HOST", &v), 1);
    CHECK(t_span_is(v, "h:81"));
    CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "x-multi", &v), 3);
    CHECK(t_span_is(v, "one"));                                 /* the first, in order */
    CHECK(t_span_is(t_rq.headers[2].value, "two  words"));      /* inner space kept */
    CHECK(t_span_is(t_rq.headers[3].value, ""));                /* empty value */
    CHECK(t_span_is(t_rq.headers[4].name, "X-MULTI"));
    CHECK(t_span_is(t_rq.headers[4].value, "x\x80\xff"));        /* obs-text is allowed */
    CHECK(t_span_is(t_rq.headers[5].value, "tabbed"));
    CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "X-Multi-", NULL), 0);
    CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "X-Mult", NULL), 0);
}

static void test_request_headers_ows_repeats(void) {
    static const char s[] =
        "GET /a/b?x=1&y HTTP/1.1\r\n"
        "hOsT:h:81\r\n"
        "X-Multi:   one \t \r\n"
        "x-multi: two  words\r\n"
        "Empty:\t \r\n"
        "X-MULTI: x\x80\xff\r\n"
        "Tab:\ttabbed\t\r\n"
        "\r\n";
    t_feed_all(t_parse_rq, t_verify_ows, s, sizeof s - 1, sizeof s - 1);
}

static void t_verify_nothing(const char *base) { (void)base; }

static void test_request_query_forms(void) {
    size_t used;
    CHECK_EQ(ws_http_parse_request("GET /? HTTP/1.1\r\n\r\n", 19, 100, &t_rq, &used, NULL), WS_OK);
    CHECK(t_span_is(t_rq.path, "/"));
    CHECK(t_span_is(t_rq.query, ""));
    CHECK_EQ(ws_http_parse_request("GET /p?a?b HTTP/1.0\r\n\r\n", 23, 100, &t_rq, &used, NULL), WS_OK);
    CHECK(t_span_is(t_rq.path, "/p"));
    CHECK(t_span_is(t_rq.query, "a?b"));
    CHECK_EQ(t_rq.version_minor, 0);
    CHECK_EQ(t_rq.num_headers, 0);
    CHECK_EQ(used, 23);
    t_feed_all(t_parse_rq, t_verify_nothing, "GET / HTTP/1.1\r\n\r\n", 18, 18);
}

/* RFC 6455 4.2.1 item 1 (and RFC 9112 3.2.2, which a server MUST accept): the target may be
 * an absolute http(s) URI holding the resource name; target stays as sent, path and query
 * are its parts (an empty path is "/"). It was refused with 400. */
static void test_request_absolute_form(void) {
    static const struct { const char *line, *target, *path, *query; } c[] = {
        { "GET http://server.example.com/chat HTTP/1.1\r\n", "http://server.example.com/chat", "/chat", NULL },
        { "GET HTTPS://[::1]:9001/a/b?x=1 HTTP/1.1\r\n", "HTTPS://[::1]:9001/a/b?x=1", "/a/b", "x=1" },
        { "GET http://h?q HTTP/1.1\r\n", "http://h?q", "/", "q" },
        { "GET http://h:80 HTTP/1.1\r\n", "http://h:80", "/", NULL },
    };
    char buf[256];
    size_t i, n, used;
    ws_span key;
    for (i = 0; i < sizeof c / sizeof c[0]; i++) {
        n = (size_t)snprintf(buf, sizeof buf, "%s" T_HOST T_UPG T_CONN T_KEYH T_VER "\r\n", c[i].line);
        if (!t_want(ws_http_parse_request(buf, n, 8192, &t_rq, &used, NULL), WS_OK, "absolute-form", i)) continue;
        CHECK_EQ(used, n);
        CHECK_STR(t_str(t_rq.target), c[i].target);
        CHECK_STR(t_str(t_rq.path), c[i].path);
        if (c[i].query) CHECK_STR(t_str(t_rq.query), c[i].query); else CHECK(t_rq.query.ptr == NULL);
        CHECK_EQ(ws_http_check_request(&t_rq, &key, NULL, NULL), WS_OK);
    }
}

static void test_token_lists(void) {
    static const char s[] =
        "GET / HTTP/1.1\r\n"
        "Connection: keep-alive\r\n"
        "Upgrade: WebSocket\r\n"
        "connection: foo ,\t UPGRADE\t, bar\r\n"
        "X: a,,b, ,c\r\n\r\n";
    ws_header *h = t_rq.headers;
    size_t n;
    CHECK_EQ(ws_http_parse_request(s, sizeof s - 1, 1000, &t_rq, NULL, NULL), WS_OK);
    n = t_rq.num_headers;
    CHECK(ws_http_has_token(h, n, "Connection", "upgrade"));    /* in the second header */
    CHECK(ws_http_has_token(h, n, "CONNECTION", "Keep-Alive"));
    CHECK(ws_http_has_token(h, n, "upgrade", "websocket"));
    CHECK(ws_http_has_token(h, n, "Connection", "bar"));
    CHECK(ws_http_has_token(h, n, "X", "c"));
    CHECK(!ws_http_has_token(h, n, "Connection", "upgrad"));
    CHECK(!ws_http_has_token(h, n, "Connection", "keep"));
    CHECK(!ws_http_has_token(h, n, "Upgrade", "upgrade"));
    CHECK(!ws_http_has_token(h, n, "X", ""));
    CHECK(!ws_http_has_token(h, n, "Connectio", "upgrade"));
    CHECK(ws_list_has_token(t_sp("keep-alive, Upgrade"), "upgrade", 7));
    CHECK(ws_list_has_token(t_sp("upgrade"), "Upgrade", 7));
    CHECK(ws_list_has_token(t_sp(" upgrade "), "upgrade", 7));
    CHECK(ws_list_has_token(t_sp("chat, superchat"), "superchat", 9));
    CHECK(!ws_list_has_token(t_sp("chat, superchat"), "super", 5));
    CHECK(!ws_list_has_token(t_sp("superchat"), "chat", 4));
    CHECK(!ws_list_has_token(t_sp("upgrade-x, xupgrade"), "upgrade", 7));
    CHECK(!ws_list_has_token(t_sp(""), "upgrade", 7));
    CHECK(!ws_list_has_token(t_sp(", ,"), "upgrade", 7));
    CHECK(!ws_list_has_token(t_sp("up grade"), "up", 2));
}

static void test_request_early_reject(void) {
    /* a TLS ClientHello on a plain port: rejected at its first byte */
    t_bad_at(t_parse_rq, "\x16\x03\x01\x02\x05\x01\x01\x01\xfc\x03\x03", 0, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "\x80GET / HTTP/1.1\r\n\r\n", 0, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, " GET / HTTP/1.1\r\n\r\n", 0, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GE(T / HTTP/1.1\r\n\r\n", 2, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET\t/ HTTP/1.1\r\n\r\n", 3, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET ftp://h/ HTTP/1.1\r\n\r\n", 4, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET ws://h/ HTTP/1.1\r\n\r\n", 4, WS_ERR_HANDSHAKE);
    /* absolute-form (test_request_absolute_form): checked once the target has ended */
    t_bad_at(t_parse_rq, "GET http:/h/ HTTP/1.1\r\n\r\n", 12, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET https//h/ HTTP/1.1\r\n\r\n", 13, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET http:///x HTTP/1.1\r\n\r\n", 13, WS_ERR_HANDSHAKE);   /* no host */
    t_bad_at(t_parse_rq, "GET http://u@h/ HTTP/1.1\r\n\r\n", 15, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET http://h\"/ HTTP/1.1\r\n\r\n", 14, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET hello HTTP/1.1\r\n\r\n", 9, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET * HTTP/1.1\r\n\r\n", 4, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET  / HTTP/1.1\r\n\r\n", 4, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET /a\tb HTTP/1.1\r\n\r\n", 6, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET / HTTP/2.0\r\n\r\n", 11, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET / http/1.1\r\n\r\n", 6, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET / HTTP/1.x\r\n\r\n", 13, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET / HTTP/1.1 \r\n\r\n", 14, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET / HTTP/1.11\r\n\r\n", 14, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rq, "GET / HTTP/1.1\rX\r\n\r\n", 15, WS_ERR_HANDSHAKE);
}

static void test_request_header_reject(void) {
    static const struct { const char *s, *mark; size_t off; } c[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", " b", 0},          /* obs-fold, RFC 9112 5.2 */
        {"GET / HTTP/1.1\r\nHost: a\r\n\tb\r\n\r\n", "\tb", 0},
        {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", " Host", 0},
        {"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "b\r", 0},             /* bare CR */
        {"GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", "\r\r", 1},
        {"GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n", "X", 0},
        {"GET / HTTP/1.1\r\nHost: a\x01z\r\n\r\n", "\x01", 0},          /* control chars */
        {"GET / HTTP/1.1\r\nHost: a\x7fz\r\n\r\n", "\x7f", 0},
        {"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", "\nX", 0},           /* bare LF in a value */
        {"GET / HTTP/1.1\r\nHost a\r\n\r\n", " a", 0},                  /* no ':' */
        {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", " :", 0},                /* RFC 9112 5.1 */
        {"GET / HTTP/1.1\r\n: a\r\n\r\n", ": a", 0},                    /* empty name */
        {"GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", "(st", 0},
        {"GET / HTTP/1.1\r\nHost\r\n\r\n", "\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: a\r\n\n", "\n\n", 1},             /* bare LF ending the head */
        {"GET / HTTP/1.1\r\n\rX", "X", 0},
    };
    size_t i;
    for (i = 0; i < sizeof c / sizeof c[0]; i++)
        t_bad_at_mark(t_parse_rq, c[i].s, c[i].mark, c[i].off, WS_ERR_HANDSHAKE);
}

/* Header values are scanned a word at a time: every control byte at every offset of a long
 * value is rejected as soon as it arrives (t_bad_at: every prefix), next to bytes that are
 * allowed (tab, obs-text >= 0x80, 0x7E, space); and such a value with no control byte is
 * taken whole, its trailing whitespace trimmed. */
static void test_request_value_bytes(void) {
    static const unsigned char bad[] = {0x00, 0x01, 0x08, 0x0A, 0x0B, 0x0D, 0x1F, 0x7F};
    static const char fill[] = "\x80\xff~ \t\x7e\xc3\xa9z0123456789abcdefghij";   /* 28 bytes */
    char s[128], v[40];
    size_t i, k, n, vl = sizeof fill - 1, used;
    for (k = 0; k <= vl; k++)
        for (i = 0; i < sizeof bad; i++) {
            memcpy(v, fill, vl);
            v[k < vl ? k : vl - 1] = (char)bad[i];
            if (k == vl) { v[vl - 1] = 'q'; v[vl] = (char)bad[i]; }   /* right before the CR */
            n = (size_t)sprintf(s, "GET / HTTP/1.1\r\nX-Long: ");
            memcpy(s + n, v, vl + (k == vl));
            n += vl + (k == vl);
            memcpy(s + n, "\r\n\r\n", 5);
            if (bad[i] == 0x0D && k < vl) {   /* a CR inside: "CR without LF" at the byte after it */
                t_bad_at(t_parse_rq, s, n - vl + k + 1, WS_ERR_HANDSHAKE);
            } else if (bad[i] == 0x0A || bad[i] == 0x0D) {
                if (bad[i] == 0x0A) t_bad_at(t_parse_rq, s, n - vl - (k == vl) + k, WS_ERR_HANDSHAKE);
            } else {
                t_bad_at(t_parse_rq, s, n - vl - (k == vl) + k, WS_ERR_HANDSHAKE);
            }
        }
    n = (size_t)sprintf(s, "GET / HTTP/1.1\r\nX-Long: ");
    memcpy(s + n, fill, vl);
    memcpy(s + n + vl, " \t \r\n\r\n", 8);
    n = strlen(s);
    for (k = 0; k <= n; k++) {
        const char *g = t_guard(s, k);
        used = 0;
        if (!t_want(ws_http_parse_request(g, k, 8192, &t_rq, &used, NULL), k < n ? WS_AGAIN : WS_OK, "value", k)) break;
    }
    CHECK_EQ(t_rq.num_headers, 1);
    CHECK_EQ(t_rq.headers[0].value.len, vl);
    CHECK_MEM(t_rq.headers[0].value.ptr, fill, vl);
}

/* Header names, byte by byte: every byte value at every offset
 * of a long name holding each kind of token character: a token character is kept in the
 * name, ':' ends it early, any other byte is rejected (and no prefix is ever an error). */
static int t_is_tchar(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}
static void test_request_name_bytes(void) {
    static const char name[] = "Ab-09zZ_x!#$%&'*+.^`|~yY-Mm-Sec-WebSocket";
    char s[128];
    size_t k, n, nl = sizeof name - 1, pre = 16, used;
    int b, bad = 0;
    ws_result rc, want;
    for (k = 0; k < nl; k++)
        for (b = 0; b < 256; b++) {
            memcpy(s, "GET / HTTP/1.1\r\n", pre);
            memcpy(s + pre, name, nl);
            s[pre + k] = (char)b;
            memcpy(s + pre + nl, ": v\r\n\r\n", 8);
            n = pre + nl + 7;
            want = t_is_tchar(b) || (b == ':' && k > 0) ? WS_OK : WS_ERR_HANDSHAKE;
            rc = ws_http_parse_request(t_guard(s, n), n, 8192, &t_rq, &used, NULL);
            if (rc == WS_OK && (t_rq.num_headers != 1 || t_rq.headers[0].name.len != (b == ':' ? k : nl)))
                rc = WS_ERR_ARG;
            if (rc != want && bad++ < 5) {
                t_bad = 1;
                printf("  byte 0x%02x at %lu: got %d, want %d\n", b, (unsigned long)k, (int)rc, (int)want);
            }
            if (b == 0x80 || b == '(') t_bad_at(t_parse_rq, s, pre + k, WS_ERR_HANDSHAKE);
        }
}

static void test_request_max_bytes(void) {
    static char big[9000];
    size_t n = sizeof t_rfc_req - 1, used;
    const char *why = NULL;
    CHECK_EQ(ws_http_parse_request(t_rfc_req, n, n, &t_rq, &used, NULL), WS_OK);   /* fits exactly */
    CHECK_EQ(used, n);
    CHECK_EQ(ws_http_parse_request(t_rfc_req, n, n - 1, &t_rq, &used, &why), WS_ERR_TOO_BIG);
    CHECK(why && *why);
    CHECK_EQ(ws_http_parse_request(t_rfc_req, n - 1, n - 1, &t_rq, &used, NULL), WS_ERR_TOO_BIG);
    CHECK_EQ(ws_http_parse_request(t_rfc_req, n - 2, n - 1, &t_rq, &used, NULL), WS_AGAIN);
    /* an endless header: AGAIN below the limit, TOO_BIG once the limit is reached */
    memcpy(big, "GET / HTTP/1.1\r\nX-Long: ", 24);
    memset(big + 24, 'a', sizeof big - 24);
    CHECK_EQ(ws_http_parse_request(big, 8191, 8192, &t_rq, &used, NULL), WS_AGAIN);
    CHECK_EQ(ws_http_parse_request(big, 8192, 8192, &t_rq, &used, NULL), WS_ERR_TOO_BIG);
    CHECK_EQ(ws_http_parse_request(big, sizeof big, 8192, &t_rq, &used, NULL), WS_ERR_TOO_BIG);
    /* a head that would be valid but ends past the limit */
    memcpy(big + 8300, "\r\n\r\n", 4);
    CHECK_EQ(ws_http_parse_request(big, 8304, 8192, &t_rq, &used, NULL), WS_ERR_TOO_BIG);
    CHECK_EQ(ws_http_parse_request(big, 8304, 8304, &t_rq, &used, NULL), WS_OK);
}

/* "GET / HTTP/1.1\r\n" + count lines "H<i>: <i>\r\n" + "\r\n" */
static size_t t_many_headers(char *out, size_t count) {
    size_t i, n = 0;
    n += (size_t)sprintf(out, "GET / HTTP/1.1\r\n");
    for (i = 0; i < count; i++) n += (size_t)sprintf(out + n, "H%lu: %lu\r\n", (unsigned long)i, (unsigned long)i);
    n += (size_t)sprintf(out + n, "\r\n");
    return n;
}

static void test_request_too_many_headers(void) {
    static char buf[4096];
    char last[24];
    size_t n, used;
    const char *why = NULL;
    n = t_many_headers(buf, WS_MAX_HEADERS);
    CHECK_EQ(ws_http_parse_request(t_guard(buf, n), n, 8192, &t_rq, &used, NULL), WS_OK);
    CHECK_EQ(t_rq.num_headers, WS_MAX_HEADERS);
    sprintf(last, "%lu", (unsigned long)(WS_MAX_HEADERS - 1));
    CHECK(t_span_is(t_rq.headers[WS_MAX_HEADERS - 1].value, last));
    n = t_many_headers(buf, WS_MAX_HEADERS + 1);
    CHECK_EQ(ws_http_parse_request(t_guard(buf, n), n, 8192, &t_rq, &used, &why), WS_ERR_TOO_BIG);
    CHECK(why && *why);
    n = t_many_headers(buf, 200);
    CHECK_EQ(ws_http_parse_request(buf, n, 8192, &t_rq, &used, NULL), WS_ERR_TOO_BIG);
}

/* ---- ws_http_check_request ---- */

typedef struct t_req_case { const char *head; int status; } t_req_case;

static void t_check_req(const t_req_case *c, size_t i) {
    ws_span key = {NULL, 0};
    int status = -1;
    const char *why = NULL;
    ws_result rc;
    size_t n = strlen(c->head);
    if (!t_want(ws_http_parse_request(c->head, n, 8192, &t_rq, NULL, NULL), WS_OK, "parse", i))
        return;
    rc = ws_http_check_request(&t_rq, &key, &status, &why);
    if (c->status == 0) {
        if (!t_want(rc, WS_OK, "check_request", i)) printf("    why: %s\n", why ? why : "");
        CHECK_EQ(key.len, 24);
        CHECK(key.ptr >= c->head && key.ptr + key.len <= c->head + n);
    } else {
        if (!t_want(rc, WS_ERR_HANDSHAKE, "check_request", i)) return;
        CHECK_EQ(status, c->status);
        if (status != c->status) printf("    case %lu: %s\n", (unsigned long)i, why ? why : "");
        CHECK(why && *why);
    }
}

static void test_check_request_accepts(void) {
    static const t_req_case cases[] = {
        {t_rfc_req, 0},
        {T_RL T_HOST T_UPG T_CONN T_KEYH T_VER "\r\n", 0},
        {"GET /chat?x=1 HTTP/1.1\r\nhost: h:9\r\nupgrade: WebSocket\r\nconnection: keep-alive, Upgrade\r\n"
         "sec-websocket-key: " T_KEY "\r\nsec-websocket-version:  13 \r\n\r\n", 0},
        {T_RL T_HOST "Upgrade: foo/1, websocket\r\n" "Connection: keep-alive\r\nConnection: upgrade\r\n"
         T_KEYH T_VER "\r\n", 0},                       /* tokens across two Connection headers */
        {"GET / HTTP/1.9\r\n" T_HOST T_UPG T_CONN T_KEYH T_VER "\r\n", 0},
        {T_RL T_HOST T_UPG T_CONN "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n" T_VER "\r\n", 0},
        {T_RL T_HOST T_UPG T_CONN "Sec-WebSocket-Key: ++++////++++////+++/+A==\r\n" T_VER "\r\n", 0},
        /* Host: uri-host [":" port] (RFC 9112 3.2); empty is allowed (no authority) */
        {T_RL "Host: [::1]:8080\r\n" T_UPG T_CONN T_KEYH T_VER "\r\n", 0},
        {T_RL "Host: 127.0.0.1\r\n" T_UPG T_CONN T_KEYH T_VER "\r\n", 0},
        {T_RL "Host: a-b_c~d.e!$&'()*+,;=%41:1\r\n" T_UPG T_CONN T_KEYH T_VER "\r\n", 0},
        {T_RL "Host:\r\n" T_UPG T_CONN T_KEYH T_VER "\r\n", 0},
    };
    size_t i;
    ws_span key;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) t_check_req(&cases[i], i);
    CHECK_EQ(ws_http_parse_request(t_rfc_req, sizeof t_rfc_req - 1, 8192, &t_rq, NULL, NULL), WS_OK);
    CHECK_EQ(ws_http_check_request(&t_rq, &key, NULL, NULL), WS_OK);   /* optional outs */
    CHECK(t_span_is(key, T_KEY));
    CHECK_EQ(ws_http_check_request(&t_rq, NULL, NULL, NULL), WS_OK);
}

static void test_check_request_rejects(void) {
    static const t_req_case cases[] = {
        /* RFC 6455 4.2.1 item 1: GET (methods are case-sensitive, RFC 9110 9.1), HTTP/1.1+ */
        {"POST /chat HTTP/1.1\r\n" T_HOST T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        {"get /chat HTTP/1.1\r\n" T_HOST T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        {"GeT /chat HTTP/1.1\r\n" T_HOST T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        {"GETS /chat HTTP/1.1\r\n" T_HOST T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        {"GET /chat HTTP/1.0\r\n" T_HOST T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        /* item 2: exactly one Host (RFC 9112 3.2) */
        {T_RL T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        {T_RL T_HOST T_UPG T_HOST T_CONN T_KEYH T_VER "\r\n", 400},
        /* ... with a valid value: a Host that no URI could hold is a 400 too (RFC 9112 3.2) */
        {T_RL "Host: a b\r\n" T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        {T_RL "Host: h/x\r\n" T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        {T_RL "Host: user@h\r\n" T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        {T_RL "Host: h?x\r\n" T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        {T_RL "Host: h#x\r\n" T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        {T_RL "Host: \"h\"\r\n" T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        {T_RL "Host: h\\x\r\n" T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        {T_RL "Host: h\tx\r\n" T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        {T_RL "Host: h\xc3\xa9\r\n" T_UPG T_CONN T_KEYH T_VER "\r\n", 400},
        /* item 3: Upgrade; none at all is a plain HTTP request: 426 (RFC 9110 15.5.22) */
        {T_RL T_HOST T_CONN T_KEYH T_VER "\r\n", 426},
        {T_RL T_HOST "Upgrade: h2c\r\n" T_CONN T_KEYH T_VER "\r\n", 400},
        {T_RL T_HOST "Upgrade: websockets\r\n" T_CONN T_KEYH T_VER "\r\n", 400},
        /* item 4: Connection with the upgrade token */
        {T_RL T_HOST T_UPG T_KEYH T_VER "\r\n", 400},
        {T_RL T_HOST T_UPG "Connection: keep-alive\r\n" T_KEYH T_VER "\r\n", 400},
        {T_RL T_HOST T_UPG "Connection: upgraded\r\n" T_KEYH T_VER "\r\n", 400},
        /* item 6: version 13; 4.2.2 answers other versions with 426 */
        {T_RL T_HOST T_UPG T_CONN T_KEYH "\r\n", 426},
        {T_RL T_HOST T_UPG T_CONN T_KEYH "Sec-WebSocket-Version: 8\r\n\r\n", 426},
        {T_RL T_HOST T_UPG T_CONN T_KEYH "Sec-WebSocket-Version: 130\r\n\r\n", 426},
        {T_RL T_HOST T_UPG T_CONN T_KEYH "Sec-WebSocket-Version:\r\n\r\n", 426},
        {T_RL T_HOST T_UPG T_CONN T_KEYH "Sec-WebSocket-Version: 13, 13\r\n\r\n", 426},   /* one line: not 13 */
        /* 11.3.5: it MUST NOT appear more than once in a request: malformed, as a repeated Key */
        {T_RL T_HOST T_UPG T_CONN T_KEYH T_VER T_VER "\r\n", 400},
        {T_RL T_HOST T_UPG T_CONN T_VER T_KEYH "Sec-WebSocket-Version: 8\r\n\r\n", 400},
        /* item 5: one key, base64 of exactly 16 bytes */
        {T_RL T_HOST T_UPG T_CONN T_VER "\r\n", 400},
        {T_RL T_HOST T_UPG T_CONN T_KEYH T_KEYH T_VER "\r\n", 400},
        {T_RL T_HOST T_UPG T_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\n" T_VER "\r\n", 400},
        {T_RL T_HOST T_UPG T_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSE=\r\n" T_VER "\r\n", 400},
        {T_RL T_HOST T_UPG T_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSEh\r\n" T_VER "\r\n", 400},
        {T_RL T_HOST T_UPG T_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n" T_VER "\r\n", 400},
        {T_RL T_HOST T_UPG T_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n" T_VER "\r\n", 400},
        {T_RL T_HOST T_UPG T_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j-Q==\r\n" T_VER "\r\n", 400},
        {T_RL T_HOST T_UPG T_CONN "Sec-WebSocket-Key:\r\n" T_VER "\r\n", 400},
        /* RFC 9112 6.3: no body on an upgrade (smuggling): any Content-Length or TE */
        {T_RL T_HOST T_UPG T_CONN T_KEYH T_VER "Content-Length: 5\r\n\r\n", 400},
        {T_RL T_HOST T_UPG T_CONN T_KEYH T_VER "Content-Length: 0\r\n\r\n", 400},
        {T_RL T_HOST "Content-Length: 5\r\n" T_UPG T_CONN T_KEYH T_VER "content-length: 7\r\n\r\n", 400},
        {T_RL T_HOST T_UPG T_CONN T_KEYH T_VER "Transfer-Encoding: chunked\r\n\r\n", 400},
        {T_RL T_HOST T_UPG T_CONN T_KEYH T_VER "transfer-encoding: identity\r\n\r\n", 400},
        {T_RL T_HOST T_UPG T_CONN T_KEYH T_VER "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) t_check_req(&cases[i], i);
}

/* The key check (its own loop, not ws_base64_decode) takes exactly the 24-character strings
 * that decode to 16 bytes: random keys, each also with one byte changed to a character
 * outside the alphabet, '=', or a neighbour of its last data character (non-zero low bits). */
static void test_check_request_keys(void) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char odd[] = "=-_.:@[`{ \t\x80\xff\x00" "AQgw";
    char key[25], head[256];
    uint8_t raw[20];
    unsigned r = 777;
    size_t i, n, klen;
    int round, want, got, mism = 0, nvalid = 0;
    for (round = 0; round < 4000; round++) {
        for (i = 0; i < 24; i++) { r = r * 1103515245u + 12345u; key[i] = b64[(r >> 16) & 63]; }
        key[21] = b64[(r >> 4) & 48];   /* its dropped bits 0 */
        key[22] = key[23] = '=';
        if (round & 1) {   /* one byte changed */
            r = r * 1103515245u + 12345u;
            key[(r >> 16) % 24] = odd[(r >> 8) % (sizeof odd - 1)];
        }
        key[24] = '\0';
        want = ws_base64_decode(key, 24, raw, sizeof raw, &klen) == WS_OK && klen == 16;
        t_rq.method = t_sp("GET");
        t_rq.version_minor = 1;
        t_rq.num_headers = 5;
        t_rq.headers[0].name = t_sp("Host"); t_rq.headers[0].value = t_sp("h");
        t_rq.headers[1].name = t_sp("Upgrade"); t_rq.headers[1].value = t_sp("websocket");
        t_rq.headers[2].name = t_sp("Connection"); t_rq.headers[2].value = t_sp("Upgrade");
        t_rq.headers[3].name = t_sp("Sec-WebSocket-Version"); t_rq.headers[3].value = t_sp("13");
        t_rq.headers[4].name = t_sp("Sec-WebSocket-Key");
        t_rq.headers[4].value.ptr = key; t_rq.headers[4].value.len = 24;
        got = ws_http_check_request(&t_rq, NULL, NULL, NULL) == WS_OK;
        if (got != want && mism++ < 5) {
            t_bad = 1;
            printf("  key \"%s\": check %d, decode %d\n", key, got, want);
        }
        nvalid += want;
    }
    CHECK_EQ(mism, 0);
    CHECK(nvalid > 1000 && nvalid < 3000);   /* both kinds were tried */
    /* one of each through the parser too (a NUL or a control byte never gets that far) */
    n = (size_t)sprintf(head, T_RL T_HOST T_UPG T_CONN "Sec-WebSocket-Key: %s\r\n" T_VER "\r\n",
                        "AAAAAAAAAAAAAAAAAAAAAB==");
    CHECK_EQ(ws_http_parse_request(head, n, 8192, &t_rq, NULL, NULL), WS_OK);
    CHECK_EQ(ws_http_check_request(&t_rq, NULL, NULL, NULL), WS_ERR_HANDSHAKE);   /* low bits */
    n = (size_t)sprintf(head, T_RL T_HOST T_UPG T_CONN "Sec-WebSocket-Key: %s\r\n" T_VER "\r\n",
                        "AAAAAAAAAAAAAAAAAAAAAw=A");
    CHECK_EQ(ws_http_parse_request(head, n, 8192, &t_rq, NULL, NULL), WS_OK);
    CHECK_EQ(ws_http_check_request(&t_rq, NULL, NULL, NULL), WS_ERR_HANDSHAKE);
}

/* Header names and tokens compare case-insensitively: only
 * ASCII letters may differ in case; bytes 0x20 apart that are not letters ('-' and CR, '@' and
 * '`', '[' and '{', 0xC1 and 0xE1) differ. Random names of 1..40 bytes against a byte-wise
 * reference, through ws_http_header. */
static int t_ieq_ref(const char *a, const char *b, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return 0;
    }
    return 1;
}
static void test_header_name_case(void) {
    static const char set[] = "aAzZmM-\r@`[{\x7f_09\xc1\xe1Kk:~ ";
    char a[41], b[41];
    ws_header h;
    unsigned r = 4242;
    size_t n, i;
    int round, bad = 0, same = 0;
    for (round = 0; round < 20000; round++) {
        r = r * 1103515245u + 12345u;
        n = 1 + (r >> 16) % 40;
        for (i = 0; i < n; i++) {
            r = r * 1103515245u + 12345u;
            a[i] = set[(r >> 16) % (sizeof set - 1)];
            b[i] = a[i];
            if (round % 3 == 0 && (r & 0x100) && ((a[i] | 0x20) >= 'a' && (a[i] | 0x20) <= 'z'))
                b[i] = (char)(a[i] ^ 0x20);                 /* letters' case only */
            if (round % 3 == 1 && (r & 0x300) == 0) b[i] = (char)(a[i] ^ 0x20);   /* any byte */
        }
        if (round % 3 == 2) b[(r >> 20) % n] = set[(r >> 24) % (sizeof set - 1)];   /* one byte */
        a[n] = b[n] = '\0';
        h.name.ptr = a; h.name.len = n;
        h.value = t_sp("v");
        if ((ws_http_header(&h, 1, b, NULL) == 1) != t_ieq_ref(a, b, n) && bad++ < 5) {
            t_bad = 1;
            printf("  \"%s\" vs \"%s\": got %d\n", a, b, !t_ieq_ref(a, b, n));
        }
        same += t_ieq_ref(a, b, n);
    }
    CHECK(same > 7000 && same < 19000);   /* both outcomes were tried */
    CHECK_EQ(ws_http_header(&h, 1, "", NULL), 0);
}

/* ---- response parser and ws_http_check_response ---- */

static void t_verify_rfc_res(const char *base) {
    ws_span v;
    CHECK_EQ(t_rs.status, 101);
    CHECK_EQ(t_rs.version_minor, 1);
    CHECK(t_span_is(t_rs.reason, "Switching Protocols"));
    CHECK(t_rs.reason.ptr == base + 13);
    CHECK_EQ(t_rs.num_headers, 4);
    CHECK_EQ(ws_http_header(t_rs.headers, t_rs.num_headers, "SEC-WEBSOCKET-ACCEPT", &v), 1);
    CHECK(t_span_is(v, T_ACCEPT));
    CHECK_EQ(ws_http_check_response(&t_rs, T_KEY, "chat, superchat", &v, NULL), WS_OK);
    CHECK(t_span_is(v, "chat"));
}

static void test_response_rfc_sample(void) {
    char buf[512];
    size_t n = sizeof t_rfc_res - 1;
    t_feed_all(t_parse_rs, t_verify_rfc_res, t_rfc_res, n, n);
    memcpy(buf, t_rfc_res, n);           /* the server's first frame right behind the head */
    memcpy(buf + n, "\x81\x05Hello", 7);
    t_feed_all(t_parse_rs, t_verify_rfc_res, buf, n + 7, n);
}

static void test_response_status_lines(void) {
    size_t used;
    CHECK_EQ(ws_http_parse_response("HTTP/1.1 404 Not Found\r\n\r\n", 26, 100, &t_rs, &used, NULL), WS_OK);
    CHECK_EQ(t_rs.status, 404);
    CHECK(t_span_is(t_rs.reason, "Not Found"));
    CHECK_EQ(ws_http_parse_response("HTTP/1.0 101 \r\n\r\n", 17, 100, &t_rs, &used, NULL), WS_OK);
    CHECK_EQ(t_rs.version_minor, 0);
    CHECK_EQ(t_rs.reason.len, 0);
    CHECK_EQ(used, 17);
    /* RFC 9112 4: the reason phrase may be empty; accept a missing SP too (robustness) */
    CHECK_EQ(ws_http_parse_response("HTTP/1.1 101\r\n\r\n", 16, 100, &t_rs, &used, NULL), WS_OK);
    CHECK_EQ(t_rs.status, 101);
    CHECK_EQ(t_rs.reason.len, 0);
    t_bad_at(t_parse_rs, "\x16\x03\x03\x00\x02", 0, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rs, "HTTP/2 101 OK\r\n\r\n", 5, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rs, "HTTP/1.1  101 OK\r\n\r\n", 9, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rs, "HTTP/1.1 1O1 OK\r\n\r\n", 10, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rs, "HTTP/1.1 1010 OK\r\n\r\n", 12, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rs, "HTTP/1.1 101 O\x01K\r\n\r\n", 14, WS_ERR_HANDSHAKE);
    t_bad_at(t_parse_rs, "HTTP/1.1 101 OK\rX\r\n\r\n", 16, WS_ERR_HANDSHAKE);
    t_bad_at_mark(t_parse_rs, "HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n", " websocket", 0,
                  WS_ERR_HANDSHAKE);
    t_bad_at_mark(t_parse_rs, "HTTP/1.1 101 OK\r\nUpgrade: a\r\n b\r\n\r\n", "\r\n b", 2,
                  WS_ERR_HANDSHAKE);
}

static void test_response_limits(void) {
    static char buf[4096];
    size_t n = sizeof t_rfc_res - 1, used, i;
    CHECK_EQ(ws_http_parse_response(t_rfc_res, n, n, &t_rs, &used, NULL), WS_OK);
    CHECK_EQ(ws_http_parse_response(t_rfc_res, n, n - 1, &t_rs, &used, NULL), WS_ERR_TOO_BIG);
    CHECK_EQ(ws_http_parse_response(t_rfc_res, n - 1, n, &t_rs, &used, NULL), WS_AGAIN);
    n = (size_t)sprintf(buf, "HTTP/1.1 101 OK\r\n");
    for (i = 0; i <= WS_MAX_HEADERS; i++) n += (size_t)sprintf(buf + n, "X: %lu\r\n", (unsigned long)i);
    n += (size_t)sprintf(buf + n, "\r\n");
    CHECK_EQ(ws_http_parse_response(buf, n, 8192, &t_rs, &used, NULL), WS_ERR_TOO_BIG);
}

typedef struct t_res_case {
    const char *head, *offered, *chosen;   /* chosen: NULL = rejected, "" = none */
} t_res_case;

static void t_check_res(const t_res_case *c, size_t i) {
    ws_span proto = {"junk", 4};
    const char *why = NULL;
    ws_result rc;
    if (!t_want(ws_http_parse_response(c->head, strlen(c->head), 8192, &t_rs, NULL, NULL), WS_OK,
                "parse", i))
        return;
    rc = ws_http_check_response(&t_rs, T_KEY, c->offered, &proto, &why);
    if (!c->chosen) {
        t_want(rc, WS_ERR_HANDSHAKE, "check_response", i);
        CHECK(why && *why);
    } else if (t_want(rc, WS_OK, "check_response", i)) {
        if (*c->chosen) CHECK_STR(t_str(proto), c->chosen);
        else CHECK(proto.ptr == NULL);
    } else {
        printf("    why: %s\n", why ? why : "");
    }
}

static void test_check_response(void) {
    static const t_res_case cases[] = {
        {t_rfc_res, "chat, superchat", "chat"},
        {T_101 T_UPG T_CONN T_ACCH "\r\n", NULL, ""},
        {T_101 T_UPG T_CONN T_ACCH "\r\n", "chat", ""},              /* the server may decline */
        {T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Protocol: superchat\r\n\r\n", "chat, superchat", "superchat"},
        {T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Protocol: chat\r\n\r\n", "superchat,chat", "chat"},
        {"HTTP/1.1 101 Whatever\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\n"
         "sec-websocket-accept:  " T_ACCEPT " \r\n\r\n", NULL, ""},
        /* RFC 6455 4.1, the client's checks of the server's handshake */
        {"HTTP/1.1 200 OK\r\n" T_UPG T_CONN T_ACCH "\r\n", NULL, NULL},
        {"HTTP/1.1 403 Forbidden\r\n" T_UPG T_CONN T_ACCH "\r\n", NULL, NULL},
        {"HTTP/1.1 100 Continue\r\n" T_UPG T_CONN T_ACCH "\r\n", NULL, NULL},
        {T_101 T_CONN T_ACCH "\r\n", NULL, NULL},
        {T_101 "Upgrade: h2c\r\n" T_CONN T_ACCH "\r\n", NULL, NULL},
        {T_101 T_UPG T_ACCH "\r\n", NULL, NULL},
        {T_101 T_UPG "Connection: close\r\n" T_ACCH "\r\n", NULL, NULL},
        {T_101 T_UPG T_CONN "\r\n", NULL, NULL},
        {T_101 T_UPG T_CONN "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOQ=\r\n\r\n", NULL, NULL},
        {T_101 T_UPG T_CONN "Sec-WebSocket-Accept: S3PPLMBITXAQ9KYGZZHZRBK+XOO=\r\n\r\n", NULL, NULL},
        {T_101 T_UPG T_CONN "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n\r\n", NULL, NULL},
        {T_101 T_UPG T_CONN "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo==\r\n\r\n", NULL, NULL},
        {T_101 T_UPG T_CONN "Sec-WebSocket-Accept: " T_KEY "\r\n\r\n", NULL, NULL},
        {T_101 T_UPG T_CONN T_ACCH T_ACCH "\r\n", NULL, NULL},
        {T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Protocol: soap\r\n\r\n", "chat, superchat", NULL},
        {T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Protocol: super\r\n\r\n", "chat, superchat", NULL},
        {T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Protocol: chat\r\n\r\n", NULL, NULL},
        {T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Protocol: chat\r\n\r\n", "", NULL},
        {T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n", "chat, superchat", NULL},
        {T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: superchat\r\n\r\n",
         "chat, superchat", NULL},
        {T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
         "chat, superchat", NULL},
        {T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Protocol:\r\n\r\n", "chat", NULL},
        {T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", NULL, NULL},
        {T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Extensions: x\r\n\r\n", "chat", NULL},
        {T_101 T_UPG T_CONN T_ACCH "Sec-WebSocket-Extensions:\r\nSec-WebSocket-Extensions: x\r\n\r\n",
         NULL, NULL},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) t_check_res(&cases[i], i);
}

/* ---- builders ---- */

/* Every builder behind one signature, so the capacity sweep is written once. */
typedef struct t_build {
    int kind;                       /* 0 request, 1 accept, 2 error */
    const ws_url *url;
    const char *key, *origin, *protocols, *extra, *body;
    int status;
} t_build;

static ws_result t_run_build(const t_build *b, char *out, size_t cap, size_t *len) {
    switch (b->kind) {
    case 0: return ws_http_build_request(out, cap, b->url, b->key, b->origin, b->protocols,
                                         b->extra, len);
    case 1: return ws_http_build_accept(out, cap, b->key, strlen(b->key), b->protocols,
                                        b->extra, len);
    default: return ws_http_build_error(out, cap, b->status, b->body, len);
    }
}

/* Builds into out (cap bytes); checks the NUL, *len, CRLF-only line ends, and that every
 * smaller cap fails with WS_ERR_ARG without writing at or past cap. Returns the length. */
static size_t t_build_checked(const t_build *b, char *out, size_t cap) {
    static char tmp[2048];
    size_t len = 0, c, j, junk;
    const char *end;
    if (!t_want(t_run_build(b, out, cap, &len), WS_OK, "build", (size_t)b->kind)) return 0;
    CHECK_EQ(strlen(out), len);
    end = strstr(out, "\r\n\r\n");      /* the head: CRLF line ends only */
    CHECK(end != NULL);
    for (j = 0; end && out + j < end; j++)
        if (out[j] == '\n' && (j == 0 || out[j - 1] != '\r')) { t_bad = 1; printf("  bare LF in head at %lu\n", (unsigned long)j); break; }
    for (c = 0; c <= len && len + 8 < sizeof tmp; c++) {
        memset(tmp, 0x5A, sizeof tmp);
        junk = 999;
        if (!t_want(t_run_build(b, tmp, c, &junk), WS_ERR_ARG, "small cap", c)) return len;
        for (j = c; j < len + 8; j++)
            if (tmp[j] != 0x5A) { t_bad = 1; printf("  wrote past cap %lu\n", (unsigned long)c); return len; }
        CHECK_EQ(junk, 999);
    }
    return len;
}

static void t_parse_url(const char *s, ws_url *u) {
    CHECK_EQ(ws_url_parse(s, strlen(s), u, NULL), WS_OK);
}

/* Builds the request for url, parses it back, checks target, Host and the fixed headers. */
static void t_build_req_case(const char *url, const char *target, const char *host) {
    char out[1024];
    ws_url u;
    ws_span v;
    size_t len, used = 0;
    t_build b = {0, NULL, T_KEY, NULL, NULL, NULL, NULL, 0};
    t_parse_url(url, &u);
    b.url = &u;
    len = t_build_checked(&b, out, sizeof out);
    if (!t_want(ws_http_parse_request(out, len, 8192, &t_rq, &used, NULL), WS_OK, url, 0)) return;
    CHECK_EQ(used, len);
    CHECK(t_span_is(t_rq.method, "GET"));
    CHECK_STR(t_str(t_rq.target), target);
    CHECK_EQ(t_rq.version_minor, 1);
    CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "Host", &v), 1);
    CHECK_STR(t_str(v), host);
    CHECK(ws_http_has_token(t_rq.headers, t_rq.num_headers, "Upgrade", "websocket"));
    CHECK(ws_http_has_token(t_rq.headers, t_rq.num_headers, "Connection", "Upgrade"));
    CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "Sec-WebSocket-Key", &v), 1);
    CHECK(t_span_is(v, T_KEY));
    CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "Sec-WebSocket-Version", &v), 1);
    CHECK(t_span_is(v, "13"));
    CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "Origin", NULL), 0);
    CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "Sec-WebSocket-Protocol", NULL), 0);
}

static void test_build_request_host_target(void) {
    /* RFC 6455 4.1 items 4-5: Host names the port only when it is not the default */
    t_build_req_case("ws://example.com", "/", "example.com");
    t_build_req_case("ws://example.com:80/chat", "/chat", "example.com");
    t_build_req_case("ws://example.com:443/chat", "/chat", "example.com:443");
    t_build_req_case("wss://example.com:443/", "/", "example.com");
    t_build_req_case("wss://example.com:80/", "/", "example.com:80");
    t_build_req_case("wss://Example.com:8443/a/b?x=1&y=2", "/a/b?x=1&y=2", "Example.com:8443");
    t_build_req_case("ws://10.0.0.1:9001", "/", "10.0.0.1:9001");
    t_build_req_case("ws://[::1]:9000/p", "/p", "[::1]:9000");
    t_build_req_case("wss://[2001:db8::7]", "/", "[2001:db8::7]");
    t_build_req_case("ws://h?q=1", "/?q=1", "h");
    t_build_req_case("ws://h/?", "/?", "h");
}

static void test_build_request_options(void) {
    static const char *extras[] = {"X-A: 1\nX-B: two words", "X-A: 1\r\nX-B: two words\r\n",
                                   "X-A:1\nX-B:   two words\n"};
    char out[1024];
    ws_url u;
    ws_span v;
    size_t i, len;
    t_build b = {0, NULL, T_KEY, "http://example.com", "chat, superchat", NULL, NULL, 0};
    t_parse_url("wss://h/chat", &u);
    b.url = &u;
    for (i = 0; i < 3; i++) {
        b.extra = extras[i];
        len = t_build_checked(&b, out, sizeof out);
        if (!t_want(ws_http_parse_request(out, len, 8192, &t_rq, NULL, NULL), WS_OK, "extras", i)) continue;
        CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "Origin", &v), 1);
        CHECK(t_span_is(v, "http://example.com"));
        CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "Sec-WebSocket-Protocol", &v), 1);
        CHECK(t_span_is(v, "chat, superchat"));
        CHECK(t_span_is(t_rq.headers[t_rq.num_headers - 2].name, "X-A"));
        CHECK(t_span_is(t_rq.headers[t_rq.num_headers - 2].value, "1"));
        CHECK(t_span_is(t_rq.headers[t_rq.num_headers - 1].name, "X-B"));
        CHECK(t_span_is(t_rq.headers[t_rq.num_headers - 1].value, "two words"));
        CHECK_EQ(ws_http_check_request(&t_rq, NULL, NULL, NULL), WS_OK);
    }
    b.origin = ""; b.protocols = ""; b.extra = "";      /* empty strings: no header */
    len = t_build_checked(&b, out, sizeof out);
    CHECK_EQ(ws_http_parse_request(out, len, 8192, &t_rq, NULL, NULL), WS_OK);
    CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "Origin", NULL), 0);
    CHECK_EQ(ws_http_header(t_rq.headers, t_rq.num_headers, "Sec-WebSocket-Protocol", NULL), 0);
    CHECK_EQ(t_rq.num_headers, 5);
}

static void test_build_request_invalid(void) {
    static const char *bad_extra[] = {
        "NoColon", ": empty name", "X A: b", " X: folded", "X: 1\n folded", "X: a\rb",
        "X: a\x01", "X: a\x7f", "X: ok\n\r\n", "X: ok\nBad Line", "X(: y", "X: a\r\r\n"
    };
    static const char *bad_value[] = {"a\r\nX-Evil: 1", "a\nb", "a\rb", "a\x01", "a\x7f"};
    char out[1024];
    ws_url u;
    size_t i, len;
    t_parse_url("ws://h/", &u);
    for (i = 0; i < sizeof bad_extra / sizeof bad_extra[0]; i++)
        t_want(ws_http_build_request(out, sizeof out, &u, T_KEY, NULL, NULL, bad_extra[i], &len),
               WS_ERR_ARG, "extra header", i);
    for (i = 0; i < sizeof bad_value / sizeof bad_value[0]; i++) {
        t_want(ws_http_build_request(out, sizeof out, &u, T_KEY, bad_value[i], NULL, NULL, &len),
               WS_ERR_ARG, "origin", i);
        t_want(ws_http_build_request(out, sizeof out, &u, T_KEY, NULL, bad_value[i], NULL, &len),
               WS_ERR_ARG, "protocols", i);
        t_want(ws_http_build_request(out, sizeof out, &u, bad_value[i], NULL, NULL, NULL, &len),
               WS_ERR_ARG, "key", i);
        t_want(ws_http_build_accept(out, sizeof out, T_KEY, 24, bad_value[i], NULL, &len),
               WS_ERR_ARG, "accept protocol", i);
    }
    CHECK_EQ(ws_http_build_accept(out, sizeof out, T_KEY, 24, NULL, "Bad Line", &len), WS_ERR_ARG);
    CHECK_EQ(ws_http_build_request(NULL, 100, &u, T_KEY, NULL, NULL, NULL, &len), WS_ERR_ARG);
    CHECK_EQ(ws_http_build_request(out, sizeof out, NULL, T_KEY, NULL, NULL, NULL, &len), WS_ERR_ARG);
    CHECK_EQ(ws_http_build_request(out, sizeof out, &u, NULL, NULL, NULL, NULL, &len), WS_ERR_ARG);
}

static int t_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* Client header rules: extra headers may not repeat what the builder writes (injection of a
 * second Host or key); bytes >= 0x80 in the target go out percent-encoded. */
static void test_build_request_reserved(void) {
    static const char *dup[] = {
        "Host: evil.example", "host: evil", "X-A: 1\nHOST: evil", "Sec-WebSocket-Key: " T_KEY,
        "Upgrade: h2c", "Connection: close", "Sec-WebSocket-Version: 8",
        "sec-websocket-version: 13", "Content-Length: 0", "Transfer-Encoding: chunked",
        "Sec-WebSocket-Accept: x", "Sec-WebSocket-Extensions: permessage-deflate",
        "X-Ok: 1\r\nConnection: Upgrade\r\n"
    };
    static const char *ok[] = {"X-Host: a", "Hostname: b", "X-Upgrade-Id: 3", "Cookie: Host=1"};
    char out[1024];
    ws_url u;
    size_t i, len = 0;
    const char *why;
    t_parse_url("ws://h/", &u);
    for (i = 0; i < sizeof dup / sizeof dup[0]; i++) {
        t_want(ws_http_build_request(out, sizeof out, &u, T_KEY, NULL, NULL, dup[i], &len),
               WS_ERR_ARG, "reserved extra header", i);
        why = ws__extra_check(dup[i], 1, 0, 0);
        CHECK(why && strstr(why, "repeats"));
    }
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        t_want(ws_http_build_request(out, sizeof out, &u, T_KEY, NULL, NULL, ok[i], &len),
               WS_OK, "unreserved extra header", i);
        CHECK(ws__extra_check(ok[i], 1, 1, 1) == NULL);
    }
    /* Origin / Sec-WebSocket-Protocol: ours only when given as arguments */
    CHECK_EQ(ws_http_build_request(out, sizeof out, &u, T_KEY, NULL, NULL, "Origin: o", &len), WS_OK);
    CHECK_EQ(ws_http_build_request(out, sizeof out, &u, T_KEY, "o", NULL, "Origin: o", &len), WS_ERR_ARG);
    CHECK_EQ(ws_http_build_request(out, sizeof out, &u, T_KEY, NULL, NULL, "Sec-WebSocket-Protocol: a", &len), WS_OK);
    CHECK_EQ(ws_http_build_request(out, sizeof out, &u, T_KEY, NULL, "a", "Sec-WebSocket-Protocol: b", &len), WS_ERR_ARG);
    /* the 101: no second Upgrade, Connection or accept; Host is not ours there */
    CHECK_EQ(ws_http_build_accept(out, sizeof out, T_KEY, 24, NULL, "Connection: close", &len), WS_ERR_ARG);
    CHECK_EQ(ws_http_build_accept(out, sizeof out, T_KEY, 24, NULL, "Sec-WebSocket-Accept: x", &len), WS_ERR_ARG);
    CHECK_EQ(ws_http_build_accept(out, sizeof out, T_KEY, 24, "p", "Sec-WebSocket-Protocol: q", &len), WS_ERR_ARG);
    CHECK_EQ(ws_http_build_accept(out, sizeof out, T_KEY, 24, NULL, "Set-Cookie: a=1", &len), WS_OK);
    /* raw bytes >= 0x80 in the path and query are percent-encoded; '%' escapes pass as they are */
    t_parse_url("ws://h/caf\xc3\xa9/%41?q=\xff", &u);
    CHECK_EQ(ws_http_build_request(out, sizeof out, &u, T_KEY, NULL, NULL, NULL, &len), WS_OK);
    CHECK(t_prefix(out, "GET /caf%C3%A9/%41?q=%FF HTTP/1.1\r\n"));
    for (i = 0; i < len; i++) CHECK((unsigned char)out[i] < 0x80);
    /* a ws_url made by hand with a control character or a space: encoded, never raw */
    u.path = ws__span("/a b\r\nX: y", 10);
    u.query = ws__span(NULL, 0);
    CHECK_EQ(ws_http_build_request(out, sizeof out, &u, T_KEY, NULL, NULL, NULL, &len), WS_OK);
    CHECK(t_prefix(out, "GET /a%20b%0D%0AX:%20y HTTP/1.1\r\n"));
}

static void test_build_accept(void) {
    char out[512];
    ws_span v;
    size_t len, used = 0;
    t_build b = {1, NULL, T_KEY, NULL, "chat", "Server: t\nX-Y: z", NULL, 0};
    len = t_build_checked(&b, out, sizeof out);
    if (!t_want(ws_http_parse_response(out, len, 8192, &t_rs, &used, NULL), WS_OK, "accept", 0)) return;
    CHECK_EQ(used, len);
    CHECK_EQ(t_rs.status, 101);
    CHECK_EQ(t_rs.version_minor, 1);
    CHECK_EQ(ws_http_header(t_rs.headers, t_rs.num_headers, "Sec-WebSocket-Accept", &v), 1);
    CHECK(t_span_is(v, T_ACCEPT));
    CHECK_EQ(ws_http_header(t_rs.headers, t_rs.num_headers, "X-Y", &v), 1);
    CHECK(t_span_is(v, "z"));
    CHECK_EQ(ws_http_check_response(&t_rs, T_KEY, "chat, superchat", &v, NULL), WS_OK);
    CHECK(t_span_is(v, "chat"));
    b.protocols = NULL; b.extra = NULL;
    len = t_build_checked(&b, out, sizeof out);
    CHECK_EQ(ws_http_parse_response(out, len, 8192, &t_rs, &used, NULL), WS_OK);
    CHECK_EQ(ws_http_header(t_rs.headers, t_rs.num_headers, "Sec-WebSocket-Protocol", NULL), 0);
    CHECK_EQ(ws_http_check_response(&t_rs, T_KEY, NULL, &v, NULL), WS_OK);
    CHECK(v.ptr == NULL);
}

/* An error response: status, reason, Connection: close, and a Content-Length that matches. */
static void t_build_error_case(int status, const char *body) {
    char out[1024];
    ws_span v;
    size_t len, used = 0, clen;
    t_build b = {2, NULL, NULL, NULL, NULL, NULL, NULL, 0};
    b.status = status;
    b.body = body;
    len = t_build_checked(&b, out, sizeof out);
    if (!t_want(ws_http_parse_response(out, len, 8192, &t_rs, &used, NULL), WS_OK, "error", (size_t)status))
        return;
    CHECK_EQ(t_rs.status, status);
    CHECK_EQ(t_rs.version_minor, 1);
    if (*ws_http_status_text(status)) CHECK_STR(t_str(t_rs.reason), ws_http_status_text(status));
    CHECK(ws_http_has_token(t_rs.headers, t_rs.num_headers, "Connection", "close"));
    CHECK_EQ(ws_http_header(t_rs.headers, t_rs.num_headers, "Content-Length", &v), 1);
    clen = (size_t)strtoul(t_str(v), NULL, 10);
    CHECK_EQ(clen, len - used);
    if (body) { CHECK_EQ(clen, strlen(body)); CHECK_MEM(out + used, body, strlen(body)); }
    else CHECK(clen > 0);
    /* RFC 6455 4.2.2 and RFC 9110 15.5.22: a 426 names the version and the protocol */
    if (status == 426) {
        CHECK_EQ(ws_http_header(t_rs.headers, t_rs.num_headers, "Sec-WebSocket-Version", &v), 1);
        CHECK(t_span_is(v, "13"));
        CHECK(ws_http_has_token(t_rs.headers, t_rs.num_headers, "Upgrade", "websocket"));
    } else {
        CHECK_EQ(ws_http_header(t_rs.headers, t_rs.num_headers, "Sec-WebSocket-Version", NULL), 0);
    }
}

static void test_build_error(void) {
    static const int st[] = {400, 426, 431, 503, 299, 999};
    static const char *bodies[] = {NULL, "", "bad key\n", "caf\xc3\xa9 \r\n\r\n tail"};
    char out[256];
    size_t i, j, len;
    for (i = 0; i < sizeof st / sizeof st[0]; i++)
        for (j = 0; j < sizeof bodies / sizeof bodies[0]; j++) t_build_error_case(st[i], bodies[j]);
    CHECK_EQ(ws_http_build_error(out, sizeof out, 99, NULL, &len), WS_ERR_ARG);
    CHECK_EQ(ws_http_build_error(out, sizeof out, 1000, NULL, &len), WS_ERR_ARG);
    CHECK_EQ(ws_http_build_error(out, sizeof out, -400, NULL, &len), WS_ERR_ARG);
    CHECK_STR(ws_http_status_text(400), "Bad Request");
    CHECK_STR(ws_http_status_text(426), "Upgrade Required");
    CHECK_STR(ws_http_status_text(431), "Request Header Fields Too Large");
    CHECK_STR(ws_http_status_text(503), "Service Unavailable");
    CHECK_STR(ws_http_status_text(101), "Switching Protocols");
    CHECK_STR(ws_http_status_text(299), "");
    CHECK_STR(ws_http_status_text(-1), "");
}

/* ---- round trip: URL -> request -> server check -> accept -> client check ---- */

static void t_round_trip(const char *url, const char *offered, const char *pick) {
    static char req[1024], res[1024];
    uint8_t rnd[16];
    char key[25];
    ws_url u;
    ws_span k, proto;
    size_t len, used = 0, i;
    int status = 0;
    for (i = 0; i < 16; i++) rnd[i] = (uint8_t)t_rand();
    ws_client_key(rnd, key);
    t_parse_url(url, &u);
    CHECK_EQ(ws_http_build_request(req, sizeof req, &u, key, "https://app.example", offered,
                                   "User-Agent: t\nX-Trace: 7", &len), WS_OK);
    CHECK_EQ(ws_http_parse_request(req, len, 8192, &t_rq, &used, NULL), WS_OK);
    CHECK_EQ(used, len);
    if (!t_want(ws_http_check_request(&t_rq, &k, &status, NULL), WS_OK, url, (size_t)status)) return;
    CHECK(t_span_is(k, key));
    if (offered) CHECK(ws_http_has_token(t_rq.headers, t_rq.num_headers, "Sec-WebSocket-Protocol", pick));
    CHECK_EQ(ws_http_build_accept(res, sizeof res, k.ptr, k.len, offered ? pick : NULL, NULL, &len), WS_OK);
    CHECK_EQ(ws_http_parse_response(res, len, 8192, &t_rs, &used, NULL), WS_OK);
    CHECK_EQ(used, len);
    CHECK_EQ(ws_http_check_response(&t_rs, key, offered, &proto, NULL), WS_OK);
    if (offered) CHECK(t_span_is(proto, pick));
    else CHECK(proto.ptr == NULL);
    /* and a response for another key is refused */
    CHECK_EQ(ws_http_check_response(&t_rs, T_KEY, offered, &proto, NULL), WS_ERR_HANDSHAKE);
}

static void test_round_trip(void) {
    int i;
    t_rng_state = 7;
    for (i = 0; i < 20; i++) {
        t_round_trip("ws://example.com/chat", "chat, superchat", "superchat");
        t_round_trip("wss://[::1]:9443/a?b=c", NULL, NULL);
        t_round_trip("WSS://h", "v1.proto", "v1.proto");
        t_round_trip("ws://127.0.0.1:8080/?", "a,b,c", "b");
    }
}

/* ---- the PROT_NONE guard itself, and base64 at the edge of a page ---- */

static void test_guard_inputs(void) {
    static const char *b64[] = {"Zm9v", "Zg==", "Zm8=", "Zh==", "Zm9", ""};
    char out[8], acc[29];
    size_t i, n, len;
    const char *g = t_guard("abc", 3);
    CHECK(g != NULL);
    if (g) CHECK_MEM(g, "abc", 3);
    for (i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
        n = strlen(b64[i]);
        (void)ws_base64_decode(t_guard(b64[i], n), n, out, sizeof out, &len);
    }
    CHECK_EQ(ws_base64_decode(t_guard("Zm9v", 4), 4, out, sizeof out, &len), WS_OK);
    CHECK_EQ(len, 3);
    g = t_guard(T_KEY, 24);
    ws_accept_key(g, 24, acc);
    CHECK_STR(acc, T_ACCEPT);
}

static void suite_http(void) {
    RUN(test_url_valid);
    RUN(test_url_length_respected);
    RUN(test_url_invalid);
    RUN(test_request_rfc_sample);
    RUN(test_request_with_first_frame);
    RUN(test_request_headers_ows_repeats);
    RUN(test_request_query_forms);
    RUN(test_request_absolute_form);
    RUN(test_token_lists);
    RUN(test_request_early_reject);
    RUN(test_request_header_reject);
    RUN(test_request_value_bytes);
    RUN(test_request_name_bytes);
    RUN(test_request_max_bytes);
    RUN(test_request_too_many_headers);
    RUN(test_check_request_accepts);
    RUN(test_check_request_rejects);
    RUN(test_check_request_keys);
    RUN(test_header_name_case);
    RUN(test_response_rfc_sample);
    RUN(test_response_status_lines);
    RUN(test_response_limits);
    RUN(test_check_response);
    RUN(test_build_request_host_target);
    RUN(test_build_request_options);
    RUN(test_build_request_invalid);
    RUN(test_build_request_reserved);
    RUN(test_build_accept);
    RUN(test_build_error);
    RUN(test_round_trip);
    RUN(test_guard_inputs);
}
