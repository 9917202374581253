/* test_usage.c - what a newcomer meets first: error codes and texts that say what happened
 * (a send that can never fit, a port out of range or in use, an oversized message, a timed-out
 * handshake, a malformed URL, a wildcard listener) and the poll() fallback where epoll cannot
 * be used. Uses the helpers of test_conn.c (cn_) and test_loopback.c (lb_). */

/* A ws_ctx whose events go to test_conn.c's recorder; us_end destroys it, then checks them. */
static ws_ctx *us_ctx(const ws_config *cfg) {
    cn_begin(cfg);
    return ws_ctx_create(&cn_cfg);
}
static void us_end(ws_ctx *ctx) {
    ws_ctx_destroy(ctx);
    cn_end();
}

/* ---- a send larger than max_send_queue can never fit: WS_ERR_TOO_BIG, not WS_ERR_FULL ---- */

static void test_usage_send_too_big(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c;
    uint8_t big[128], pl[128];
    size_t len = 0, sent = 99;
    ws_frame f;
    memset(big, 'b', sizeof big);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_send_queue = 100;
    ctx = us_ctx(&cfg);   /* for ws_broadcast; c is an engine with the same settings */
    c = cn_open(1);
    /* an empty queue takes up to max_send_queue payload bytes */
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 100), WS_OK);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 1), WS_ERR_FULL);         /* later, after DRAINED */
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 101), WS_ERR_TOO_BIG);    /* never */
    CHECK_EQ(ws_conn_send_frame(c, 1, 0, WS_OP_TEXT, big, 101), WS_ERR_TOO_BIG);
#ifndef _WIN32   /* socketpair: POSIX (the Windows build checks the rest) */
    {   /* ws_broadcast needs an open server conn of a ctx: one end of a socketpair, adopted */
        ws_engine_opts o;
        int fds[2];
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        memset(&o, 0, sizeof o);
        o.server = 1;
        o.upgraded = 1;
        CHECK_EQ(ws_conn_adopt(ctx, fds[0], &o, NULL, NULL), WS_OK);
        (void)ws_poll(ctx, 0);
        CHECK_EQ(ws_conn_count(ctx), 1);
        CHECK_EQ(ws_broadcast(ctx, WS_OP_BINARY, big, 101, NULL, &sent), WS_ERR_TOO_BIG);
        CHECK_EQ(sent, 0);
        close(fds[1]);
    }
#else
    (void)sent;
#endif
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
    CHECK_EQ(len, 100);
    CHECK_EQ(cn_tx_used(c), 0);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 101), WS_ERR_TOO_BIG);    /* empty: still never */
    CHECK_EQ(cn_tx_used(c), 0);                                           /* nothing queued */
    CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, big, 100), WS_OK);
    CHECK_STR(ws_result_str(WS_ERR_TOO_BIG), "over a size limit");
    us_end(ctx);
}

/* ---- an oversized message names the limit that was set ---- */

static void us_limit_case(int max_message, int max_frame, int frags, int first, int second,
                          const char *want) {
    ws_config cfg;
    ws_conn *c;
    uint8_t b[300], pay[200];
    char reason[126];
    size_t n;
    memset(pay, 'z', sizeof pay);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_message = (size_t)max_message;
    cfg.max_frame = (size_t)max_frame;
    cfg.fragments = frags;
    cn_begin(&cfg);
    c = cn_open(1);
    if (first) cn_feed_frame(c, 0, WS_OP_BINARY, pay, (size_t)first);
    n = cn_pframe(c, b, 1, first ? WS_OP_CONT : WS_OP_BINARY, pay, (size_t)second);
    cn_feed(c, b, n);
    reason[0] = '\0';
    CHECK_EQ(cn_pop_close(c, reason), 1009);
    CHECK_STR(reason, want);
    CHECK_EQ(cn_count(WS_EV_ERROR), 1);
    cn_end();
}

static void test_usage_limit_texts(void) {
    us_limit_case(100, 0, 0, 0, 101, "message larger than max_message");   /* max_frame unset */
    us_limit_case(100, 0, 0, 60, 60, "message larger than max_message");   /* in fragments */
    us_limit_case(0, 100, 0, 0, 101, "frame larger than max_frame");
    us_limit_case(100, 50, 0, 0, 60, "frame larger than max_frame");
    us_limit_case(100, 0, 1, 0, 101, "frame larger than max_message");     /* fragment mode */
}

/* ---- ports: 0..65535 or WS_ERR_ARG, never modulo 65536; a port in use says so ---- */

static void test_usage_listen_ports(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener *l = NULL, *l2 = (ws_listener *)&l;
    ws_tls_opts tls;
    char host_port[80], want[120];
    memset(&cfg, 0, sizeof cfg);
    memset(&tls, 0, sizeof tls);
    ctx = us_ctx(&cfg);
    CHECK_STR(ws_ctx_error(ctx), "");
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 99999, &l2), WS_ERR_ARG);   /* was 34463 */
    CHECK(l2 == NULL);
    CHECK(strstr(ws_ctx_error(ctx), "port out of range (0-65535") != NULL);
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 65536, NULL), WS_ERR_ARG);
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", -1, NULL), WS_ERR_ARG);
    CHECK_EQ(ws_listen_tls(ctx, "127.0.0.1", 70000, &tls, NULL), WS_ERR_ARG);
    CHECK(strstr(ws_ctx_error(ctx), "port out of range") != NULL);
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l), WS_OK);
    if (!l) { us_end(ctx); return; }
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", (int)ws_listener_port(l), &l2), WS_ERR_ADDR_IN_USE);
    CHECK(l2 == NULL);
    sprintf(host_port, "127.0.0.1:%u", (unsigned)ws_listener_port(l));
    sprintf(want, "ws_listen on %s: address already in use", host_port);
    CHECK_STR(ws_ctx_error(ctx), want);
    CHECK_STR(ws_result_str(WS_ERR_ADDR_IN_USE), "address already in use");
    CHECK_EQ(ws_result_close_code(WS_ERR_ADDR_IN_USE), 1011);
    CHECK_STR(ws_listener_addr(l), host_port);   /* a specific address: itself */
    CHECK_EQ(ws_listener_any(l), 0);
    us_end(ctx);
}

/* ---- a wildcard listener: a URL to dial, and the words "all interfaces" ---- */

#ifndef _WIN32   /* raw POSIX sockets (RUN_POSIX) */
static char us_log[256];
static void us_on_log(int level, const char *msg, void *user) {
    (void)user;
    if (level == 2 && strstr(msg, "listening")) { strncpy(us_log, msg, sizeof us_log - 1); }
}

static void us_wildcard_case(int family) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener l;
    struct sockaddr_storage ss;
    char want[160];
    int fd = socket(family, SOCK_STREAM, 0);
    socklen_t sl = family == AF_INET ? (socklen_t)sizeof(struct sockaddr_in)
                                     : (socklen_t)sizeof(struct sockaddr_in6);
    int one = 1;   /* IPv6 only (a dual-stack "::": test_platform_dual_stack says the words) */
    memset(&ss, 0, sizeof ss);
    ss.ss_family = (sa_family_t)family;   /* the wildcard address, port 0: any free one */
    if (fd >= 0 && family == AF_INET6) (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) != 0) {   /* bound, never listening */
        printf("  SKIPPED: us_wildcard_case: no %s on this machine\n", family == AF_INET ? "IPv4" : "IPv6");
        CHECK(family != AF_INET);
        if (fd >= 0) close(fd);
        return;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.log = us_on_log;
    ctx = us_ctx(&cfg);
    memset(&l, 0, sizeof l);
    l.ctx = ctx;
    l.fd = fd;
    us_log[0] = '\0';
    ws__listener_name(&l);
    CHECK(l.port != 0);
    CHECK_EQ(ws_listener_any(&l), 1);
    if (family == AF_INET) {
        sprintf(want, "0.0.0.0:%u", (unsigned)l.port);
        CHECK_STR(ws_listener_addr(&l), want);
        sprintf(want, "ws://127.0.0.1:%u/", (unsigned)l.port);
        CHECK_STR(ws_listener_url(&l), want);
        sprintf(want, "ws.h: listening on 0.0.0.0:%u, all IPv4 interfaces (from this machine: "
                "127.0.0.1:%u)", (unsigned)l.port, (unsigned)l.port);
    } else {
        sprintf(want, "[::]:%u", (unsigned)l.port);
        CHECK_STR(ws_listener_addr(&l), want);
        sprintf(want, "ws://[::1]:%u/", (unsigned)l.port);
        CHECK_STR(ws_listener_url(&l), want);
        sprintf(want, "ws.h: listening on [::]:%u, all IPv6 interfaces (from this machine: "
                "[::1]:%u)", (unsigned)l.port, (unsigned)l.port);
    }
    CHECK_STR(us_log, want);
    close(fd);
    us_end(ctx);
}

static void test_usage_wildcard_listener(void) {
    us_wildcard_case(AF_INET);
    us_wildcard_case(AF_INET6);
}
#endif

/* ---- URL errors name the part that is wrong, without a log hook ---- */

static void test_usage_url_errors(void) {
    static const struct { const char *url, *why; } bad[] = {
        {"http://127.0.0.1/", "scheme is not ws:// or wss://"},
        {"ws://", "empty host"},
        {"ws://host:99999/", "port out of range"},
        {"ws://host:x/", "port is not a number"},
        {"ws://a b/", "space or control character in URL"},
        {"ws://h/#frag", "fragment (#...) in a WebSocket URL"},
        {"ws://u@h/", "user info (user@host) is not supported"},
    };
    ws_config cfg;
    ws_ctx *ctx;
    char want[160];
    size_t i;
    memset(&cfg, 0, sizeof cfg);
    ctx = us_ctx(&cfg);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sprintf(want, "ws_connect: invalid URL: %s", bad[i].why);
        CHECK_EQ(ws_connect(ctx, bad[i].url, NULL, NULL, NULL), WS_ERR_URL);
        CHECK_STR(ws_ctx_error(ctx), want);
        CHECK_EQ(ws_connect_blocking(ctx, bad[i].url, NULL, NULL, 100, NULL), WS_ERR_URL);
        CHECK_STR(ws_ctx_error(ctx), want);
    }
    CHECK_EQ(ws_connect(ctx, NULL, NULL, NULL, NULL), WS_ERR_ARG);
    CHECK_STR(ws_ctx_error(ctx), "ws_connect: no URL (NULL)");
    CHECK_EQ(cn_nev, 0);   /* failed at once: no events */
    us_end(ctx);
}

/* ---- ws_connect_blocking names the step that timed out ---- */

#ifndef _WIN32   /* lb_raw_listen: raw POSIX sockets (RUN_POSIX) */
static char us_close_msg[128];
static ws_result us_close_rc;
static void us_on_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)c; (void)user;
    if (ev->type == WS_EV_CLOSE) {
        strncpy(us_close_msg, ev->msg, sizeof us_close_msg - 1);
        us_close_rc = ev->result;
    }
}

static void test_usage_blocking_handshake_timeout(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c = (ws_conn *)&c;
    char url[64];
    uint16_t port = 0;
    int fd = lb_raw_listen(&port);   /* takes the TCP connection, never answers the upgrade */
    CHECK(fd >= 0);
    if (fd < 0) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = us_on_event;
    ctx = ws_ctx_create(&cfg);
    sprintf(url, "ws://127.0.0.1:%u/", (unsigned)port);
    us_close_msg[0] = '\0';
    /* a loopback TCP connect takes far less than the limit: it is the upgrade that times out */
    CHECK_EQ(ws_connect_blocking(ctx, url, NULL, NULL, 2000, &c), WS_ERR_TIMEOUT);
    CHECK(c == NULL);
    CHECK_STR(ws_ctx_error(ctx), "ws_connect_blocking: handshake timed out");
    ws_ctx_destroy(ctx);
    CHECK_STR(us_close_msg, "handshake timed out");
    CHECK_EQ(us_close_rc, WS_ERR_TIMEOUT);
    close(fd);
}

/* ---- a ws:// client whose server speaks TLS (a wss:// port) is told to use wss:// ---- */
/* 1 once the raw server has accepted the client and read the first bytes of its request */
static int us_got_request(int fd, int *a) {
    char req[256];
    if (*a < 0) *a = (int)accept(fd, NULL, NULL);
    return *a >= 0 && recv(*a, req, sizeof req, MSG_DONTWAIT) > 0;
}
/* The server answers the upgrade request with n bytes of answer (a TLS alert), or closes
 * without a word (n 0, as TLS servers do with plain HTTP): the client's words. */
static void us_tls_server(const char *answer, size_t n, const char *words) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c = NULL;
    char url[64];
    uint16_t port = 0;
    int fd = lb_raw_listen(&port), a = -1, ok;
    CHECK(fd >= 0);
    if (fd < 0) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = us_on_event;
    ctx = ws_ctx_create(&cfg);
    sprintf(url, "ws://127.0.0.1:%u/", (unsigned)port);
    us_close_msg[0] = '\0';
    us_close_rc = WS_OK;
    CHECK_EQ(ws_connect(ctx, url, NULL, NULL, &c), WS_OK);
    LB_WAIT(ok, ctx, NULL, us_got_request(fd, &a));
    if (ok && n) CHECK_EQ(send(a, answer, n, 0), (long)n);
    if (a >= 0) close(a);
    LB_WAIT(ok, ctx, NULL, us_close_rc != WS_OK);
    CHECK_EQ(us_close_rc, n ? WS_ERR_HANDSHAKE : WS_ERR_IO);
    if (WS__TEXT) CHECK_STR(us_close_msg, words);
    ws_ctx_destroy(ctx);
    close(fd);
}
static void test_usage_plain_client_tls_server(void) {
    us_tls_server("\x15\x03\x03\x00\x02\x02\x28", 7, "the server answered in TLS: use wss://");
    us_tls_server(NULL, 0, "the server closed the connection without answering (a wss:// port? then use wss://)");
}
#endif

/* ---- epoll only where this compiler lays out struct epoll_event as the kernel does ---- */

static void test_usage_epoll_choice(void) {
    ws_config cfg;
    ws_ctx *ctx;
    memset(&cfg, 0, sizeof cfg);
    ctx = us_ctx(&cfg);
#if defined(WS__EPOLL)
    CHECK_EQ(ws__epoll_usable(), 1);     /* gcc and clang honour glibc's packed attribute */
    CHECK(ctx->epfd >= 0);
#else
    CHECK(ctx->epfd < 0);                /* WS_NO_EPOLL, or not Linux: poll() */
#endif
    us_end(ctx);
}

/* ---- ws_ctx_destroy while a CLOSE callback connects again (a hand-made reconnect) ----
 * Each connection it closes fires CLOSE; one that connects (or listens) from there would get
 * a new connection for destroy to close, without end (regression: it never returned, each
 * round a socket opened and closed). From inside ws_ctx_destroy they fail: WS_ERR_CLOSED. */
typedef struct us_redial { ws_ctx *ctx; int closes; ws_result connect_rc, listen_rc; } us_redial;
static void us_on_redial(ws_conn *c, const ws_event *ev, void *user) {
    us_redial *r = (us_redial *)user;
    (void)c;
    if (ev->type != WS_EV_CLOSE || ++r->closes > 50) return;   /* 50: the old header's loop */
    r->connect_rc = ws_connect(r->ctx, "ws://127.0.0.1:9/", NULL, NULL, NULL);
    r->listen_rc = ws_listen(r->ctx, "127.0.0.1", 0, NULL);
}
/* ---- a listener closed from a CLOSE callback inside ws_ctx_destroy, which closed it already
 * (or closed twice in one pass): nothing happens (regression: it went on the list of closed
 * listeners a second time and was freed twice) ---- */
typedef struct us_lclose { ws_listener *l; int closes; } us_lclose;
static void us_on_lclose(ws_conn *c, const ws_event *ev, void *user) {
    us_lclose *u = (us_lclose *)user;
    (void)c;
    if (ev->type == WS_EV_CLOSE) { u->closes++; ws_listener_close(u->l); }
}
static void test_usage_listener_close_twice(void) {
    ws_config cfg;
    us_lclose u;
    ws_ctx *ctx;
    ws_listener *l2 = NULL;
    memset(&cfg, 0, sizeof cfg);
    memset(&u, 0, sizeof u);
    cfg.on_event = us_on_lclose;
    cfg.user = &u;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l2), WS_OK);
    ws_listener_close(l2);
    ws_listener_close(l2);                        /* twice in a pass */
    (void)ws_poll(ctx, 0);                        /* l2 is freed at the end of the pass */
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &u.l), WS_OK);
    if (u.l) CHECK_EQ(ws_connect(ctx, ws_listener_url(u.l), NULL, NULL, NULL), WS_OK);
    ws_ctx_destroy(ctx);                          /* closes u.l, then the CLOSE closes it again */
    CHECK_EQ(u.closes, 1);
}

static void test_usage_destroy_redial(void) {
    ws_config cfg;
    us_redial r;
    memset(&cfg, 0, sizeof cfg);
    memset(&r, 0, sizeof r);
    cfg.on_event = us_on_redial;
    cfg.user = &r;
    r.ctx = ws_ctx_create(&cfg);
    CHECK(r.ctx != NULL);
    if (!r.ctx) return;
    CHECK_EQ(ws_connect(r.ctx, "ws://127.0.0.1:9/", NULL, NULL, NULL), WS_OK);
    ws_ctx_destroy(r.ctx);
    CHECK_EQ(r.closes, 1);
    CHECK_EQ(r.connect_rc, WS_ERR_CLOSED);
    CHECK_EQ(r.listen_rc, WS_ERR_CLOSED);   /* (a listener made there was never closed) */
}

static void suite_usage(void) {
    RUN(test_usage_send_too_big);
    RUN(test_usage_limit_texts);
    RUN(test_usage_listen_ports);
    RUN_POSIX(test_usage_wildcard_listener, "raw POSIX sockets");
    RUN(test_usage_url_errors);
    RUN_POSIX(test_usage_blocking_handshake_timeout, "raw POSIX sockets as a silent peer");
    RUN_POSIX(test_usage_plain_client_tls_server, "raw POSIX sockets as a TLS server");
    RUN(test_usage_epoll_choice);
    RUN(test_usage_destroy_redial);
    RUN(test_usage_listener_close_twice);
}
