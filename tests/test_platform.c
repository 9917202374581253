/* test_platform.c - what must behave the same on every platform (POSIX and Windows alike;
 * make wine runs these as a Windows program): a "::" listener takes IPv4 and IPv6 peers
 * (Windows' IPV6_V6ONLY default is 1), an IPv4 peer of it has its IPv4 address, and a
 * wake-up channel that is full still says WS_OK. Uses test_loopback.c's helpers (lb_). */

static char pf_log[256];
static void pf_on_log(int level, const char *msg, void *user) {
    (void)user;
    if (level == 2 && strstr(msg, "listening on")) { strncpy(pf_log, msg, sizeof pf_log - 1); }
}

/* lb_pair, safe when the client fails (its ws_conn is gone then): the client once open (its
 * server side in *srv), or NULL after its CLOSE. */
static ws_conn *pf_pair(ws_ctx *ctx, lb_state *s, const char *url, ws_conn **srv) {
    ws_conn *c = lb_connect(ctx, url, NULL);
    lb_rec *r;
    int ok;
    *srv = NULL;
    s->last_server = NULL;
    if (!c) return NULL;
    r = &s->rec[ws_conn_id(c) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, (r->opens == 1 && s->last_server) || r->closes);
    if (!ok || r->closes) { printf("  %s: did not open (%s)\n", url, r->err_msg); return NULL; }
    *srv = s->last_server;
    return c;
}

/* "::", port 0: a client dialling 127.0.0.1 and one dialling ::1 both open, each echoed; the
 * server sees the IPv4 one as 127.0.0.1 (not ::ffff:127.0.0.1); the log says both families. */
static void test_platform_dual_stack(void) {
    lb_state *s = lb_new();
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener *l = NULL;
    ws_conn *c4 = NULL, *c6 = NULL, *srv4 = NULL, *srv6 = NULL;
    char url[80], addr[64], want[160];
    unsigned port;
    int ok;
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.log = pf_on_log;
    s->echo = 1;
    ctx = lb_ctx(s, &cfg);
    if (ws_listen(ctx, "::1", 0, &l) != WS_OK) {
        SKIP("no ::1 on this machine (IPv6 loopback disabled): the dual-stack \"::\" listener is untested");
        goto out;
    }
    ws_listener_close(l);
    l = NULL;
    pf_log[0] = '\0';
    CHECK_EQ(ws_listen(ctx, "::", 0, &l), WS_OK);
    if (!l) goto out;
    port = ws_listener_port(l);
    CHECK_EQ(ws__v6only(l->fd), 0);
    CHECK_EQ(ws_listener_any(l), 1);
    sprintf(want, "[::]:%u", port);
    CHECK_STR(ws_listener_addr(l), want);
    sprintf(want, "ws.h: listening on [::]:%u, all IPv4 and IPv6 interfaces (from this machine: [::1]:%u)",
            port, port);
    CHECK_STR(pf_log, want);
    sprintf(url, "ws://127.0.0.1:%u/v4", port);
    c4 = pf_pair(ctx, s, url, &srv4);
    CHECK(c4 != NULL);   /* the IPv4 client got OPEN */
    sprintf(url, "ws://[::1]:%u/v6", port);
    c6 = pf_pair(ctx, s, url, &srv6);
    CHECK(c6 != NULL);   /* and the IPv6 one */
    if (!c4 || !c6) goto out;
    CHECK_EQ(ws_conn_remote(srv4, addr, sizeof addr, NULL), WS_OK);
    CHECK(strncmp(addr, "127.0.0.1:", 10) == 0);
    if (strncmp(addr, "127.0.0.1:", 10) != 0) printf("  the IPv4 peer is %s\n", addr);
    CHECK_EQ(ws_conn_remote(srv6, addr, sizeof addr, NULL), WS_OK);
    CHECK(strncmp(addr, "[::1]:", 6) == 0);
    CHECK_EQ(ws_conn_send_text(c4, "four"), WS_OK);
    CHECK_EQ(ws_conn_send_text(c6, "six!"), WS_OK);
    LB_WAIT(ok, ctx, NULL, s->rec[ws_conn_id(c4) % LB_MAXC].msgs == 1 && s->rec[ws_conn_id(c6) % LB_MAXC].msgs == 1);
    CHECK_MEM(s->rec[ws_conn_id(c4) % LB_MAXC].last, "four", 4);
    CHECK_MEM(s->rec[ws_conn_id(c6) % LB_MAXC].last, "six!", 4);
    /* the same port on 0.0.0.0 is taken: "::" holds it for IPv4 too */
    CHECK_EQ(ws_listen(ctx, "0.0.0.0", (int)port, NULL), WS_ERR_ADDR_IN_USE);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* NULL and "" are 0.0.0.0 (IPv4 only, as the manual says), "localhost" binds one of its
 * addresses (::1 or 127.0.0.1: the resolver's first) and its URL is dialled as it is. */
static void test_platform_listen_hosts(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l = NULL;
    ws_conn *c, *srv;
    char want[64];
    const char *a;
    int i;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    for (i = 0; i < 2; i++) {
        l = NULL;
        CHECK_EQ(ws_listen(ctx, i ? "" : NULL, 0, &l), WS_OK);
        if (!l) continue;
        sprintf(want, "0.0.0.0:%u", (unsigned)ws_listener_port(l));
        CHECK_STR(ws_listener_addr(l), want);
        CHECK_EQ(ws_listener_any(l), 1);
        ws_listener_close(l);
    }
    l = NULL;
    CHECK_EQ(ws_listen(ctx, "localhost", 0, &l), WS_OK);
    if (l) {
        a = ws_listener_addr(l);
        CHECK(strncmp(a, "127.0.0.1:", 10) == 0 || strncmp(a, "[::1]:", 6) == 0);
        CHECK_EQ(ws_listener_any(l), 0);
        c = pf_pair(ctx, s, ws_listener_url(l), &srv);
        CHECK(c != NULL);
    }
    ws_ctx_destroy(ctx);
    lb_done(s);
}

#ifndef WS_NO_WAKEUP
/* 1: the wake-up channel has something to read */
static int pf_wake_pending(ws_ctx *ctx) {
    ws__ospfd p;
    memset(&p, 0, sizeof p);
    p.fd = ctx->wake_r;
    p.events = POLLIN;
    return ws__os_poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/* ws_ctx_wakeup on a full channel is a wake-up already made: WS_OK (a POSIX pipe's EAGAIN,
 * Windows' WSAEWOULDBLOCK on its UDP socket: that was WS_ERR_IO). Many calls without a poll
 * all say WS_OK; then one ws_poll returns at once and empties the channel; the next wake-up
 * works as the first. */
static void test_platform_wakeup_full(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    long i, n, bad = 0;
    int64_t t0;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    if (!ctx) { lb_done(s); return; }
#ifdef _WIN32
    {   /* a small buffer, so that the channel fills within n calls */
        int small = 64;
        (void)setsockopt(ctx->wake_r, SOL_SOCKET, SO_RCVBUF, (const char *)&small, sizeof small);
        (void)setsockopt(ctx->wake_w, SOL_SOCKET, SO_SNDBUF, (const char *)&small, sizeof small);
    }
    n = 5000;
#else
    n = 70000;   /* a Linux pipe holds 65,536 bytes */
#endif
    for (i = 0; i < n; i++)
        if (ws_ctx_wakeup(ctx) != WS_OK) bad++;
    CHECK_EQ(bad, 0);
#ifndef _WIN32
    {   /* the channel was full: the calls above hit EAGAIN */
        ssize_t w = write(ctx->wake_w, "x", 1);
        CHECK(w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    }
#endif
    CHECK(pf_wake_pending(ctx));
    t0 = lb_ms();
    CHECK_EQ(ws_poll(ctx, 60000), 0);   /* woken: returns long before its timeout */
    CHECK(lb_ms() - t0 < LB_CAP_MS);
    CHECK(!pf_wake_pending(ctx));       /* and drained */
    CHECK_EQ(ws_ctx_wakeup(ctx), WS_OK);
    CHECK(pf_wake_pending(ctx));
    t0 = lb_ms();
    CHECK_EQ(ws_poll(ctx, 60000), 0);
    CHECK(lb_ms() - t0 < LB_CAP_MS);
    CHECK(!pf_wake_pending(ctx));
    ws_ctx_destroy(ctx);
    lb_done(s);
}
#endif

#ifndef _WIN32
#include <sys/resource.h>
#endif
/* Why a socket could not be made, in words: no descriptors left (POSIX: RLIMIT_NOFILE at the
 * next free number) says so, not "bind or listen failed"; nor does a family the machine lacks. */
static void test_platform_listen_why(void) {
#ifdef _WIN32
    CHECK(strstr(ws__sock_why(WSAEAFNOSUPPORT, 1), "IPv6") != NULL);
    CHECK(strstr(ws__sock_why(WSAEMFILE, 0), "file descriptors") != NULL);
    CHECK(strstr(ws__sock_why(WSAEACCES, 1), "excludedportrange") != NULL);
#else
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l = (ws_listener *)&l;
    struct rlimit old, low;
    int fd;
    CHECK(strstr(ws__sock_why(EAFNOSUPPORT, 1), "IPv6") != NULL);
    CHECK(strstr(ws__sock_why(EMFILE, 0), "file descriptors") != NULL);
    CHECK(strstr(ws__sock_why(EACCES, 1), "below 1024") != NULL);   /* binding: privileged ports */
    CHECK_STR(ws__sock_why(EACCES, 0), "permission denied");        /* connecting: no such rule */
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    fd = dup(0);   /* the lowest free descriptor number */
    CHECK(fd >= 0);
    if (ctx && fd >= 0 && getrlimit(RLIMIT_NOFILE, &old) == 0) {
        close(fd);
        low = old;
        low.rlim_cur = (rlim_t)fd;   /* no new descriptor from here on */
        CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
        CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l), WS_ERR_IO);
        CHECK_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
        CHECK(l == NULL);
        CHECK_STR(ws_ctx_error(ctx), "ws_listen on 127.0.0.1:0: out of file descriptors or socket buffers");
    }
    ws_ctx_destroy(ctx);
    lb_done(s);
#endif
}

static void suite_platform(void) {
    RUN(test_platform_listen_why);
    RUN(test_platform_dual_stack);
    RUN(test_platform_listen_hosts);
#ifndef WS_NO_WAKEUP
    RUN(test_platform_wakeup_full);
#endif
}
