/* test_proxy.c - HTTP CONNECT proxies (ws_connect_opts.proxy). The pure parts: the proxy URL,
 * the Basic credentials, the CONNECT request and the judgement of the proxy's answer. Fake
 * proxies in this process (a raw socket stepped from the wait loop): one that closes, one
 * that stalls, one whose head never ends, one that talks past its 200, one that refuses.
 * And a real tinyproxy (tests/tinyproxy.h, POSIX): ws:// through it, Basic auth right,
 * missing and wrong, a port it refuses (ConnectPort), a server it cannot reach, reconnect
 * through it. wss:// through tinyproxy is in test_tls.c. Uses test_loopback.c's helpers. */
#ifndef WS_NO_PROXY
#include "tinyproxy.h"

/* ---- the pure parts ---- */

static void test_proxy_url_parse(void) {
    ws__proxy_url p;
    const char *why = NULL;
    CHECK_EQ(ws__proxy_parse("http://127.0.0.1:3128", 21, &p, &why), WS_OK);
    CHECK(p.host.len == 9 && memcmp(p.host.ptr, "127.0.0.1", 9) == 0);
    CHECK_EQ(p.port, 3128);
    CHECK(p.user.ptr == NULL);
    CHECK_EQ(ws__proxy_parse("HTTP://proxy.example/", 21, &p, &why), WS_OK);   /* default port */
    CHECK_EQ(p.port, 80);
    CHECK(p.host.len == 13 && memcmp(p.host.ptr, "proxy.example", 13) == 0);
    CHECK_EQ(ws__proxy_parse("http://u%40x:p:w@[::1]:8080", 27, &p, &why), WS_OK);
    CHECK(p.user.len == 5 && memcmp(p.user.ptr, "u%40x", 5) == 0);
    CHECK(p.pass.len == 3 && memcmp(p.pass.ptr, "p:w", 3) == 0);   /* the first ':' splits */
    CHECK(p.host.len == 3 && memcmp(p.host.ptr, "::1", 3) == 0);
    CHECK_EQ(p.port, 8080);
    CHECK_EQ(ws__proxy_parse("http://user@h:1", 15, &p, &why), WS_OK);   /* no password */
    CHECK(p.user.len == 4 && p.pass.len == 0);
    /* refusals, each with a reason */
#define PX_BAD(s) do { why = NULL; CHECK_EQ(ws__proxy_parse(s, strlen(s), &p, &why), WS_ERR_URL); \
        CHECK(why != NULL && *why != '\0'); } while (0)
    PX_BAD("https://127.0.0.1:3128");
    PX_BAD("socks5://127.0.0.1:1080");
    PX_BAD("127.0.0.1:3128");
    PX_BAD("http://");
    PX_BAD("http://:3128");
    PX_BAD("http://h:0");
    PX_BAD("http://h:65536");
    PX_BAD("http://h:123456");
    PX_BAD("http://h:");
    PX_BAD("http://h:12a");
    PX_BAD("http://h:1/path");
    PX_BAD("http://h:1?q");
    PX_BAD("http://h:1#f");
    PX_BAD("http://h h:1");
    PX_BAD("http://h\r\n:1");
    PX_BAD("http://[::1:1");
    PX_BAD("http://[::1]x");
    PX_BAD("http://a:b:1");
    PX_BAD("http://u@");
#undef PX_BAD
}

static void test_proxy_basic_credentials(void) {
    ws__proxy_url p;
    const char *why = "";
    char tmp[64], out[128];
    /* RFC 7617 2: Aladdin:open sesame */
    CHECK_EQ(ws__proxy_parse("http://Aladdin:open%20sesame@h:1", 32, &p, &why), WS_OK);
    CHECK_EQ(ws__proxy_basic(&p, tmp, sizeof tmp, out, sizeof out, &why), WS_OK);
    CHECK_STR(out, "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    CHECK_EQ(ws__proxy_parse("http://alice:s3cr%40t%3a@h:1", 28, &p, &why), WS_OK);
    CHECK_EQ(ws__proxy_basic(&p, tmp, sizeof tmp, out, sizeof out, &why), WS_OK);
    CHECK_STR(out, "YWxpY2U6czNjckB0Og==");   /* alice:s3cr@t: */
    CHECK_EQ(ws__proxy_parse("http://bob@h:1", 14, &p, &why), WS_OK);
    CHECK_EQ(ws__proxy_basic(&p, tmp, sizeof tmp, out, sizeof out, &why), WS_OK);
    CHECK_STR(out, "Ym9iOg==");   /* bob: */
    /* a bad escape, a colon in the user name, buffers too small */
    CHECK_EQ(ws__proxy_parse("http://a%zz:b@h:1", 17, &p, &why), WS_OK);
    CHECK_EQ(ws__proxy_basic(&p, tmp, sizeof tmp, out, sizeof out, &why), WS_ERR_URL);
    CHECK(strstr(why, "escape") != NULL);
    CHECK_EQ(ws__proxy_parse("http://a:b%4@h:1", 16, &p, &why), WS_OK);
    CHECK_EQ(ws__proxy_basic(&p, tmp, sizeof tmp, out, sizeof out, &why), WS_ERR_URL);
    CHECK_EQ(ws__proxy_parse("http://a%3Ab:c@h:1", 18, &p, &why), WS_OK);
    CHECK_EQ(ws__proxy_basic(&p, tmp, sizeof tmp, out, sizeof out, &why), WS_ERR_URL);
    CHECK(strstr(why, "':'") != NULL);
    CHECK_EQ(ws__proxy_parse("http://Aladdin:open%20sesame@h:1", 32, &p, &why), WS_OK);
    CHECK_EQ(ws__proxy_basic(&p, tmp, 10, out, sizeof out, &why), WS_ERR_URL);
    CHECK_EQ(ws__proxy_basic(&p, tmp, sizeof tmp, out, 20, &why), WS_ERR_URL);
}

static void test_proxy_request_build(void) {
    ws_url u;
    char out[256];
    size_t len = 0, i;
    static const char want1[] = "CONNECT echo.example:80 HTTP/1.1\r\nHost: echo.example:80\r\n\r\n";
    static const char want2[] = "CONNECT [::1]:9001 HTTP/1.1\r\nHost: [::1]:9001\r\n"
                                "Proxy-Authorization: Basic YWxpY2U6eA==\r\n\r\n";
    CHECK_EQ(ws_url_parse("ws://echo.example/chat?x=1", 26, &u, NULL), WS_OK);
    CHECK_EQ(ws__proxy_request(out, sizeof out, &u, NULL, &len), WS_OK);
    CHECK_STR(out, want1);   /* the port is always named; path and query are not the proxy's */
    CHECK_EQ(len, strlen(want1));
    CHECK_EQ(ws_url_parse("wss://[::1]:9001/", 17, &u, NULL), WS_OK);
    CHECK_EQ(ws__proxy_request(out, sizeof out, &u, "YWxpY2U6eA==", &len), WS_OK);
    CHECK_STR(out, want2);
    CHECK_EQ(ws_url_parse("wss://h/", 8, &u, NULL), WS_OK);
    CHECK_EQ(ws__proxy_request(out, sizeof out, &u, NULL, &len), WS_OK);
    CHECK(strncmp(out, "CONNECT h:443 ", 14) == 0);
    /* every short buffer fails cleanly; so do credentials with a line break */
    CHECK_EQ(ws_url_parse("ws://echo.example/", 18, &u, NULL), WS_OK);
    for (i = 1; i <= strlen(want1); i++) CHECK_EQ(ws__proxy_request(out, i, &u, NULL, &len), WS_ERR_ARG);
    CHECK_EQ(ws__proxy_request(out, sizeof out, &u, "abc\r\nX: y", &len), WS_ERR_ARG);
}

static void test_proxy_response_judge(void) {
    static const struct { const char *in; ws_result rc; int status, authed; const char *words; } v[] = {
        { "HTTP/1.1 200 Connection established\r\n\r\n", WS_OK, 200, 0, NULL },
        { "HTTP/1.0 200 OK\r\nProxy-Agent: x\r\n\r\n", WS_OK, 200, 0, NULL },
        { "HTTP/1.1 204 No Content\r\n\r\n", WS_OK, 204, 0, NULL },
        { "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", WS_OK, 200, 0, NULL },
        { "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\nbody",
          WS_ERR_PROXY, 407, 0, "requires authentication" },
        { "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", WS_ERR_PROXY, 407, 1, "rejected the credentials" },
        { "HTTP/1.0 401 Unauthorized\r\n\r\n", WS_ERR_PROXY, 401, 1, "rejected the credentials" },
        { "HTTP/1.1 403 Access violation\r\n\r\n", WS_ERR_PROXY, 403, 0, "does not allow" },
        { "HTTP/1.1 502 Bad Gateway\r\n\r\n", WS_ERR_PROXY, 502, 0, "could not connect" },
        { "HTTP/1.1 500 Unable to connect\r\n\r\n", WS_ERR_PROXY, 500, 0, "could not connect" },
        { "HTTP/1.1 301 Moved\r\nLocation: x\r\n\r\n", WS_ERR_PROXY, 301, 0, "refused" },
        { "SSH-2.0-OpenSSH\r\n\r\n", WS_ERR_PROXY, 0, 0, "malformed" },
        { "HTTP/1.1 200\r\n", WS_AGAIN, 0, 0, NULL },
        { "HTTP/1.1 2", WS_AGAIN, 0, 0, NULL },
        { "", WS_AGAIN, 0, 0, NULL }
    };
    size_t i, k, used;
    int status;
    const char *why;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = strlen(v[i].in);
        ws_result rc = ws__proxy_response(v[i].in, n, 8192, v[i].authed, &status, &used, &why);
        if (rc != v[i].rc) printf("  case %u: %d\n", (unsigned)i, (int)rc);
        CHECK_EQ(rc, v[i].rc);
        if (rc == WS_AGAIN) continue;
        CHECK_EQ(status, v[i].status);
        if (rc == WS_OK) CHECK_EQ(used, n);
        if (v[i].words) CHECK(strstr(why, v[i].words) != NULL);
        for (k = 0; k < n && rc == WS_OK; k++)   /* every prefix of a good answer: wait for more */
            CHECK_EQ(ws__proxy_response(v[i].in, k, 8192, 0, &status, &used, &why), WS_AGAIN);
    }
    /* bytes after the head are not counted as head */
    CHECK_EQ(ws__proxy_response("HTTP/1.1 200 OK\r\n\r\nxyz", 22, 8192, 0, &status, &used, &why), WS_OK);
    CHECK_EQ(used, 19);
    /* the head is bounded, 1xx heads included */
    {   char big[300];
        memset(big, 'a', sizeof big);
        memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
        CHECK_EQ(ws__proxy_response(big, sizeof big, 256, 0, &status, &used, &why), WS_ERR_PROXY);
        CHECK(strstr(why, "max_handshake") != NULL);
        CHECK_EQ(ws__proxy_response("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n", 50, 30,
                                    0, &status, &used, &why), WS_ERR_PROXY);
    }
    /* more header lines than WS_MAX_HEADERS, well within max_handshake: named as such (raising
     * max_handshake would not help) */
    {   char many[64 + 8 * (WS_MAX_HEADERS + 1)];
        size_t n = 0;
        n += (size_t)sprintf(many, "HTTP/1.1 200 OK\r\n");
        for (k = 0; k <= WS_MAX_HEADERS; k++) n += (size_t)sprintf(many + n, "X-%02u: \r\n", (unsigned)k % 100u);
        n += (size_t)sprintf(many + n, "\r\n");
        CHECK_EQ(ws__proxy_response(many, n, 8192, 0, &status, &used, &why), WS_ERR_PROXY);
        if (!strstr(why, "WS_MAX_HEADERS")) { printf("  why: \"%s\"\n", why); CHECK(0); }
    }
}

/* ---- fake proxies: a listening socket stepped from the wait loop ---- */
enum { FP_CLOSE, FP_STALL, FP_ENDLESS, FP_EXTRA, FP_502, FP_CLOSE_AT_ONCE };
typedef struct fproxy {
    ws__sock l, c;
    uint16_t port;
    int mode, answered, accepts;
    char req[1024];
    size_t req_len;
} fproxy;

static int fp_open(fproxy *f, int mode) {
    struct sockaddr_in a;
    socklen_t n = sizeof a;
    memset(f, 0, sizeof *f);
    f->mode = mode;
    f->c = WS__INVALID_SOCK;
    f->l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (f->l == WS__INVALID_SOCK) { CHECK(0); return 0; }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(f->l, (struct sockaddr *)&a, sizeof a) != 0 || listen(f->l, 8) != 0 ||
        getsockname(f->l, (struct sockaddr *)&a, &n) != 0) { CHECK(0); ws__sock_close(f->l); return 0; }
    ws__sock_setup(f->l);
    f->port = ntohs(a.sin_port);
    return 1;
}

static void fp_step(fproxy *f) {
    static const char endless[] = "HTTP/1.1 200 OK\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    long n;
    if (f->c == WS__INVALID_SOCK) {
        f->c = accept(f->l, NULL, NULL);
        if (f->c == WS__INVALID_SOCK) return;
        ws__sock_setup(f->c);
        f->accepts++;
        if (f->mode == FP_CLOSE_AT_ONCE) { ws__sock_close(f->c); f->c = WS__INVALID_SOCK; f->answered = 1; return; }
    }
    if (f->answered) {
        if (f->mode == FP_ENDLESS) (void)ws__sock_send(f->c, endless, sizeof endless - 1);
        return;
    }
    n = ws__sock_recv(f->c, f->req + f->req_len, sizeof f->req - 1 - f->req_len);
    if (n <= 0) return;
    f->req_len += (size_t)n;
    f->req[f->req_len] = '\0';
    if (!strstr(f->req, "\r\n\r\n")) return;
    f->answered = 1;
    switch (f->mode) {
    case FP_CLOSE: ws__sock_close(f->c); f->c = WS__INVALID_SOCK; break;
    case FP_STALL: break;
    case FP_ENDLESS: (void)ws__sock_send(f->c, endless, sizeof endless - 1); break;
    case FP_EXTRA: (void)ws__sock_send(f->c, "HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 101 x\r\n\r\n", 38); break;
    default: (void)ws__sock_send(f->c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n", 47); break;
    }
}

static void fp_close(fproxy *f) {
    if (f->c != WS__INVALID_SOCK) ws__sock_close(f->c);
    if (f->l != WS__INVALID_SOCK) ws__sock_close(f->l);
    f->c = f->l = WS__INVALID_SOCK;
}

#define PX_WAIT(ok, ctx, f, cond) do { int64_t px_end_ = lb_ms() + LB_CAP_MS; (ok) = 1; \
    while (!(cond)) { if (lb_ms() > px_end_) { (ok) = 0; t_bad = 1; \
        printf("  %s:%d: timed out waiting for %s\n", __FILE__, __LINE__, #cond); break; } \
        CHECK(ws_poll((ctx), 2) >= 0); fp_step(f); } (void)(ok); } while (0)

/* lb_on_event, and the last error's message in px_msg */
static char px_msg[160];
static void px_on_event(ws_conn *c, const ws_event *ev, void *user) {
    if (ev->type == WS_EV_ERROR) snprintf(px_msg, sizeof px_msg, "%s", ev->msg ? ev->msg : "(null)");
    lb_on_event(c, ev, user);
}
static ws_ctx *px_ctx(lb_state *s, ws_config *cfg) {
    ws_ctx *ctx;
    cfg->on_event = px_on_event;
    cfg->on_upgrade = lb_on_upgrade;
    cfg->user = s;
    px_msg[0] = '\0';
    ctx = ws_ctx_create(cfg);
    CHECK(ctx != NULL);
    return ctx;
}

/* One client through a fake proxy in mode; checks the error and returns its record. */
static void px_fake(int mode, const char *proxy_user, ws_result want, int status, const char *words) {
    lb_state *s = lb_new();
    ws_config cfg;
    ws_ctx *ctx;
    ws_connect_opts o;
    fproxy f;
    lb_rec *cr;
    ws_conn *c;
    char proxy[96];
    int ok;
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.connect_timeout_ms = 400;   /* the stalling proxy: a timeout, no sooner than this */
    cfg.max_handshake = 1024;       /* the endless head: over it */
    ctx = px_ctx(s, &cfg);
    if (!fp_open(&f, mode)) { ws_ctx_destroy(ctx); lb_done(s); return; }
    snprintf(proxy, sizeof proxy, "http://%s127.0.0.1:%u", proxy_user ? proxy_user : "", (unsigned)f.port);
    memset(&o, 0, sizeof o);
    o.proxy = proxy;
    c = lb_connect(ctx, "ws://192.0.2.1:9/never-reached", &o);   /* the proxy never forwards */
    if (!c) goto out;
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    PX_WAIT(ok, ctx, &f, cr->closes == 1);
    if (!ok) goto out;
    CHECK_EQ(cr->opens, 0);
    CHECK_EQ(cr->errors, 1);
    CHECK_EQ(cr->err_result, want);
    CHECK_EQ(cr->close_result, want);
    CHECK_EQ(cr->err_http, status);
    CHECK_EQ(cr->close_http, status);
    CHECK_EQ(cr->close_code, WS_CLOSE_ABNORMAL);
    CHECK_EQ(f.accepts, 1);
    if (!strstr(px_msg, words)) { printf("  \"%s\" lacks \"%s\"\n", px_msg, words); CHECK(0); }
    if (mode != FP_CLOSE_AT_ONCE) {
        CHECK(strncmp(f.req, "CONNECT 192.0.2.1:9 HTTP/1.1\r\nHost: 192.0.2.1:9\r\n", 48) == 0);
        CHECK_EQ(strstr(f.req, "Proxy-Authorization: Basic ") != NULL, proxy_user != NULL);
        CHECK(strstr(f.req, "never-reached") == NULL);   /* the path is not the proxy's business */
    }
out:
    ws_ctx_destroy(ctx);
    fp_close(&f);
    lb_done(s);
}

static void test_proxy_fake_closes(void) {
    px_fake(FP_CLOSE, NULL, WS_ERR_PROXY, 0, "closed");
    px_fake(FP_CLOSE_AT_ONCE, NULL, WS_ERR_PROXY, 0, "closed");
}
static void test_proxy_fake_stalls(void) {
    int64_t t0 = lb_ms();
    px_fake(FP_STALL, NULL, WS_ERR_TIMEOUT, 0, "did not answer");
    CHECK(lb_ms() - t0 >= 400);   /* not before connect_timeout_ms */
}
static void test_proxy_fake_endless_head(void) { px_fake(FP_ENDLESS, NULL, WS_ERR_PROXY, 0, "max_handshake"); }
static void test_proxy_fake_talks_first(void) { px_fake(FP_EXTRA, NULL, WS_ERR_PROXY, 0, "before the tunnel"); }
static void test_proxy_fake_502(void) { px_fake(FP_502, "u:p@", WS_ERR_PROXY, 502, "could not connect"); }

/* ws_connect refuses a bad proxy URL at once, with WS_ERR_URL, and no events follow */
static void test_proxy_bad_url(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_connect_opts o;
    ws_conn *c = (ws_conn *)&c;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    memset(&o, 0, sizeof o);
    o.proxy = "https://127.0.0.1:3128";
    CHECK_EQ(ws_connect(ctx, "ws://127.0.0.1:1/", &o, NULL, &c), WS_ERR_URL);
    CHECK(c == NULL);
    CHECK(strstr(ws_ctx_error(ctx), "invalid proxy URL") != NULL);   /* not only in the log hook */
    o.proxy = "http://a%zz:b@127.0.0.1:3128";
    CHECK_EQ(ws_connect(ctx, "ws://127.0.0.1:1/", &o, NULL, NULL), WS_ERR_URL);
    o.proxy = "http://127.0.0.1:1";   /* nothing listens: the proxy's TCP connect fails */
    CHECK_EQ(ws_connect_blocking(ctx, "ws://127.0.0.1:2/", &o, NULL, LB_CAP_MS, NULL), WS_ERR_CONNECT);
    /* it says the proxy failed, not the server */
    CHECK(strstr(ws_ctx_error(ctx), "proxy 127.0.0.1: connection refused") != NULL);
    lb_idle(ctx, NULL, 10);
    CHECK_EQ(s->events, 2);   /* the last one's ERROR and CLOSE */
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* ---- a real tinyproxy ---- */
#ifndef _WIN32
/* A ws.h echo server and a client through proxy (user info or NULL) at tinyproxy p; the
 * client's error and HTTP status, or an echo. Returns the client's record (in s). */
static lb_rec *px_through(lb_state *s, ws_ctx *ctx, const tproxy *p, const char *userinfo,
                          const char *url, int reconnect) {
    ws_connect_opts o;
    ws_conn *c;
    char proxy[128];
    lb_rec *cr;
    int ok;
    snprintf(proxy, sizeof proxy, "http://%s127.0.0.1:%u/", userinfo ? userinfo : "", (unsigned)p->port);
    memset(&o, 0, sizeof o);
    o.proxy = proxy;
    o.reconnect = reconnect;
    o.reconnect_delay_ms = 20;
    c = lb_connect(ctx, url, &o);
    if (!c) return NULL;
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, cr->opens == 1 || cr->closes >= 1);
    return ok ? cr : NULL;
}

static void test_proxy_tinyproxy_ws(void) {
    lb_state *s = lb_new();
    tproxy p;
    ws_ctx *ctx = NULL;
    ws_listener *l;
    lb_rec *cr, *sr;
    char url[64];
    uint16_t rport = 0;
    int ok;
    if (!s) return;
    if (!tproxy_start(&p, "test_proxy_tinyproxy_ws", NULL, NULL, 0)) { lb_done(s); return; }
    ctx = lb_ctx(s, NULL);
    s->echo = 1;
    l = lb_listen(ctx, url);
    (void)l;
    cr = px_through(s, ctx, &p, NULL, url, 0);
    if (!cr) goto out;
    CHECK_EQ(cr->opens, 1);
    CHECK_EQ(cr->errors, 0);
    if (!cr->opens) goto out;
    CHECK_EQ(ws_conn_remote(cr->c, url, sizeof url, &rport), WS_OK);
    CHECK_EQ(rport, p.port);   /* the socket is the proxy's */
    CHECK_EQ(ws_conn_send_text(cr->c, "through the tunnel"), WS_OK);
    LB_WAIT(ok, ctx, NULL, cr->msgs == 1);
    if (ok) CHECK(cr->last_len == 18 && memcmp(cr->last, "through the tunnel", 18) == 0);
    sr = s->last_server ? &s->rec[ws_conn_id(s->last_server) % LB_MAXC] : NULL;
    CHECK(sr != NULL);
    CHECK_EQ(ws_conn_close(cr->c, WS_CLOSE_NORMAL, "bye"), WS_OK);
    LB_WAIT(ok, ctx, NULL, cr->closes == 1);
    CHECK_EQ(cr->clean, 1);
out:
    if (ctx) ws_ctx_destroy(ctx);
    tproxy_stop(&p);
    lb_done(s);
}

static void test_proxy_tinyproxy_auth(void) {
    lb_state *s = lb_new();
    tproxy p;
    ws_ctx *ctx = NULL;
    lb_rec *cr;
    char url[64];
    int ok;
    if (!s) return;
    if (!tproxy_start(&p, "test_proxy_tinyproxy_auth", "alice", "s3cret", 0)) { lb_done(s); return; }
    ctx = lb_ctx(s, NULL);
    s->echo = 1;
    lb_listen(ctx, url);
    /* no credentials: 407 */
    cr = px_through(s, ctx, &p, NULL, url, 0);
    if (cr) {
        CHECK_EQ(cr->opens, 0);
        CHECK_EQ(cr->err_result, WS_ERR_PROXY);
        CHECK_EQ(cr->err_http, 407);
        CHECK_EQ(cr->close_http, 407);
        CHECK_EQ(cr->close_result, WS_ERR_PROXY);
    }
    /* a wrong password: tinyproxy says 401, others 407 */
    cr = px_through(s, ctx, &p, "alice:wrong@", url, 0);
    if (cr) {
        CHECK_EQ(cr->opens, 0);
        CHECK_EQ(cr->err_result, WS_ERR_PROXY);
        CHECK(cr->err_http == 401 || cr->err_http == 407);
    }
    /* the right one, %-encoded in part */
    cr = px_through(s, ctx, &p, "al%69ce:s3cr%65t@", url, 0);
    if (cr) {
        CHECK_EQ(cr->opens, 1);
        CHECK_EQ(cr->errors, 0);
        if (cr->opens) {
            CHECK_EQ(ws_conn_send_text(cr->c, "authorized"), WS_OK);
            LB_WAIT(ok, ctx, NULL, cr->msgs == 1);
            CHECK_EQ(ws_conn_close(cr->c, WS_CLOSE_NORMAL, NULL), WS_OK);
            LB_WAIT(ok, ctx, NULL, cr->closes == 1);
        }
    }
    ws_ctx_destroy(ctx);
    tproxy_stop(&p);
    lb_done(s);
}

/* ConnectPort: the proxy allows one port, not the server's (403); and a server that is gone (5xx) */
static void test_proxy_tinyproxy_refusals(void) {
    lb_state *s = lb_new();
    tproxy p;
    ws_ctx *ctx = NULL;
    ws_listener *l;
    lb_rec *cr;
    char url[64];
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    l = lb_listen(ctx, url);
    if (!tproxy_start(&p, "test_proxy_tinyproxy_refusals", NULL, NULL,
                      ws_listener_port(l) == 9 ? 10 : 9)) goto out;
    cr = px_through(s, ctx, &p, NULL, url, 0);
    if (cr) {
        CHECK_EQ(cr->opens, 0);
        CHECK_EQ(cr->err_result, WS_ERR_PROXY);
        CHECK_EQ(cr->err_http, 403);
    }
    tproxy_stop(&p);
    if (!tproxy_start(&p, "test_proxy_tinyproxy_refusals", NULL, NULL, 0)) goto out;
    ws_listener_close(l);   /* nobody listens behind the proxy */
    cr = px_through(s, ctx, &p, NULL, url, 0);
    if (cr) {
        CHECK_EQ(cr->opens, 0);
        CHECK_EQ(cr->err_result, WS_ERR_PROXY);
        CHECK(cr->err_http >= 500 && cr->err_http <= 599);
    }
    tproxy_stop(&p);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* auto-reconnect goes through the proxy again */
static void test_proxy_tinyproxy_reconnect(void) {
    lb_state *s = lb_new();
    tproxy p;
    ws_ctx *ctx = NULL;
    lb_rec *cr;
    ws_conn *srv;
    char url[64], addr[64];
    uint16_t rport = 0;
    int ok;
    if (!s) return;
    if (!tproxy_start(&p, "test_proxy_tinyproxy_reconnect", "bob", "pw", 0)) { lb_done(s); return; }
    ctx = lb_ctx(s, NULL);
    lb_listen(ctx, url);
    cr = px_through(s, ctx, &p, "bob:pw@", url, 1);
    if (!cr || !cr->opens) { CHECK(0); goto out; }
    srv = s->last_server;
    CHECK(srv != NULL);
    if (!srv) goto out;
    ws_conn_drop(srv);   /* the server side goes away: the client retries, via the proxy */
    LB_WAIT(ok, ctx, NULL, cr->opens == 2);
    if (!ok) goto out;
    CHECK_EQ(cr->closes, 1);
    CHECK(cr->reconnect_ms > 0);
    CHECK_EQ(ws_conn_remote(cr->c, addr, sizeof addr, &rport), WS_OK);
    CHECK_EQ(rport, p.port);
    CHECK_EQ(ws_conn_close(cr->c, WS_CLOSE_NORMAL, NULL), WS_OK);
    LB_WAIT(ok, ctx, NULL, cr->final_closes == 1);
out:
    ws_ctx_destroy(ctx);
    tproxy_stop(&p);
    lb_done(s);
}
#endif /* _WIN32 */

static void suite_proxy(void) {
    RUN(test_proxy_url_parse);
    RUN(test_proxy_basic_credentials);
    RUN(test_proxy_request_build);
    RUN(test_proxy_response_judge);
    RUN(test_proxy_bad_url);
    RUN(test_proxy_fake_closes);
    RUN(test_proxy_fake_stalls);
    RUN(test_proxy_fake_endless_head);
    RUN(test_proxy_fake_talks_first);
    RUN(test_proxy_fake_502);
    RUN_POSIX(test_proxy_tinyproxy_ws, "starts tinyproxy with posix_spawn");
    RUN_POSIX(test_proxy_tinyproxy_auth, "starts tinyproxy with posix_spawn");
    RUN_POSIX(test_proxy_tinyproxy_refusals, "starts tinyproxy with posix_spawn");
    RUN_POSIX(test_proxy_tinyproxy_reconnect, "starts tinyproxy with posix_spawn");
}
#else   /* test-minimal (WS_NO_PROXY): a proxy is refused at once, with the reason */
static void pr_nop(ws_conn *c, const ws_event *ev, void *u) { (void)c; (void)ev; (void)u; }
static void test_proxy_switched_off(void) {
    ws_config cfg;
    ws_connect_opts o;
    ws_conn *c = NULL;
    ws_ctx *ctx;
    memset(&cfg, 0, sizeof cfg);
    memset(&o, 0, sizeof o);
    cfg.on_event = pr_nop;
    o.proxy = "http://127.0.0.1:3128";
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(ws_connect(ctx, "ws://127.0.0.1:9/", &o, NULL, &c), WS_ERR_ARG);
    CHECK(c == NULL);
    CHECK(strstr(ws_ctx_error(ctx), "WS_NO_PROXY") != NULL);
    CHECK_EQ(ctx->nconns, 0);   /* nothing was left half made */
    ws_ctx_destroy(ctx);
}
static void suite_proxy(void) {
    RUN(test_proxy_switched_off);
}
#endif /* WS_NO_PROXY */
