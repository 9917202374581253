/* test_callbacks.c - calls made from inside callbacks and in unusual orders, found in a review
 * of the client, the loop, permessage-deflate and TLS: each test failed before its fix.
 * Uses test_loopback.c's helpers (lb_*). */

/* ---- what a test's callback does, beyond recording (lb_on_event) ---- */
typedef struct rv_state {
    lb_state lb;                 /* first: cfg.user is an lb_state * for lb_on_event */
    int      on_error_close;     /* ERROR: ws_conn_close(c) (1), ws_conn_drop(c) (2), or
                                    ws_conn_close(c, 1000, "bye") on a client (3) */
    int      server_close_on_open;   /* OPEN of a server conn: ws_conn_close(c, 1000, "bye") */
    int      error_send_rc;      /* on_error_close 4: what ws_conn_send_text returned in ERROR */
    int      reenter, reenter_bad;   /* call the loop's entry points from every callback */
    ws_ctx  *ctx;                /* for the log hook */
} rv_state;
#if defined(NDEBUG) && !defined(_WIN32) && !defined(WS_NO_WATCH)   /* test_cb_ndebug_reentry */
#define RV_NDEBUG 1
static void rv_reenter(rv_state *s, ws_ctx *ctx);
#endif

static void rv_on_event(ws_conn *c, const ws_event *ev, void *user) {
    rv_state *s = (rv_state *)user;
    lb_on_event(c, ev, user);
    if (ev->type == WS_EV_ERROR && s->on_error_close == 1) CHECK_EQ(ws_conn_close(c, 0, NULL), WS_OK);
    if (ev->type == WS_EV_ERROR && s->on_error_close == 2) ws_conn_drop(c);
    if (ev->type == WS_EV_ERROR && s->on_error_close == 4 && !ws_conn_is_server(c))
        s->error_send_rc = ws_conn_send_text(c, "after the failure");
    if (ev->type == WS_EV_OPEN && s->server_close_on_open && ws_conn_is_server(c))
        CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, "bye"), WS_OK);
    if (ev->type == WS_EV_ERROR && s->on_error_close == 3 && !ws_conn_is_server(c))
        (void)ws_conn_close(c, WS_CLOSE_NORMAL, "bye");
#ifdef RV_NDEBUG
    if (s->reenter) rv_reenter(s, ws_conn_ctx(c));
#endif
}

static ws_ctx *rv_ctx(rv_state *s, ws_config *cfg) {
    ws_ctx *ctx = lb_ctx(&s->lb, cfg);
    if (ctx) ctx->cfg.on_event = rv_on_event;
    return ctx;
}

/* A reconnecting client that gives up from its ERROR callback (ws_conn_close or ws_conn_drop:
 * "callbacks may close and drop"): the CLOSE that follows is the final one (reconnect_ms 0)
 * and no retry is scheduled. */
static void rv_error_close(int how) {
    rv_state *s = (rv_state *)calloc(1, sizeof *s);
    ws_ctx *ctx;
    ws_listener *l;
    ws_conn *c;
    ws_connect_opts o;
    lb_rec *r = NULL;
    char url[64];
    uint64_t id;
    int ok;
    if (!s) return;
    s->on_error_close = how;
    ctx = rv_ctx(s, NULL);
    l = lb_listen(ctx, url);
    ws_listener_close(l);                 /* refused */
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 20;
    c = lb_connect(ctx, url, &o);
    if (!c) goto out;
    id = ws_conn_id(c);
    r = &s->lb.rec[id % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, r->closes >= 1);
    CHECK_EQ(r->errors, 1);
    CHECK_EQ(r->closes, 1);
    CHECK_EQ(r->reconnect_ms, 0);
    CHECK_EQ(r->final_closes, 1);
    CHECK(ws_conn_find(ctx, id) == NULL);   /* gone: no retry pending */
out:
    ws_ctx_destroy(ctx);
    lb_done(&s->lb);
}
static void test_cb_error_close_no_retry(void) { rv_error_close(1); }
static void test_cb_error_drop_no_retry(void) { rv_error_close(2); }

/* A connection that fails (here: invalid UTF-8 from the peer, 1007) and whose ERROR callback
 * closes it ("on error, close" is natural): the close frame the peer gets still carries the
 * failure's code, not the one given to ws_conn_close, and the close does not reconnect. */
static void rv_error_then(int mode) {
    rv_state *s = (rv_state *)calloc(1, sizeof *s);
    ws_ctx *ctx;
    ws_conn *c, *srv = NULL;
    ws_connect_opts o;
    lb_rec *cr, *sr;
    char url[64];
    int ok;
    if (!s) return;
    s->on_error_close = mode;
    ctx = rv_ctx(s, NULL);
    lb_listen(ctx, url);
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    c = lb_pair(ctx, &s->lb, url, &o, &srv);
    if (!c || !srv) goto out;
    cr = &s->lb.rec[ws_conn_id(c) % LB_MAXC];
    sr = &s->lb.rec[ws_conn_id(srv) % LB_MAXC];
    CHECK_EQ(ws_conn_send_frame(srv, 1, 0, WS_OP_TEXT, "\xff", 1), WS_OK);   /* not UTF-8 */
    LB_WAIT(ok, ctx, NULL, cr->closes >= 1 && sr->closes == 1);
    CHECK_EQ(cr->err_result, WS_ERR_UTF8);
    CHECK_EQ(sr->close_code, WS_CLOSE_INVALID_DATA);   /* 1007 reached the server */
    if (mode == 3) {
        CHECK_EQ(cr->final_closes, 1);                 /* and no reconnect */
        CHECK_EQ(cr->reconnect_ms, 0);
    } else {                                           /* a send on the failed conn */
        CHECK_EQ(s->error_send_rc, WS_ERR_CLOSED);
        CHECK_EQ(sr->msgs, 0);                         /* nothing after the bad input */
    }
out:
    ws_ctx_destroy(ctx);
    lb_done(&s->lb);
}

/* A host loop (cfg.on_watch/on_timer) is told each socket's end as the ctx is destroyed
 * (on_watch with events 0); its timer must be ended too (on_timer -1), or a GUI that goes on
 * running after ws_ctx_destroy calls ws_timer_fired on the freed ctx when the timer fires. */
typedef struct rv_host { int watched, timer_ms, timer_calls; } rv_host;
static void rv_on_watch(ws_ctx *ctx, intptr_t fd, int events, void *token, void **host, void *user) {
    rv_host *h = (rv_host *)user;
    (void)ctx; (void)fd; (void)token; (void)host;
    if (events && !*host) { *host = h; h->watched++; }
    else if (!events && *host) h->watched--;
}
static void rv_on_timer(ws_ctx *ctx, int ms, void *user) {
    rv_host *h = (rv_host *)user;
    (void)ctx;
    h->timer_ms = ms;
    h->timer_calls++;
}
static void rv_nop(ws_conn *c, const ws_event *ev, void *u) { (void)c; (void)ev; (void)u; }
static void test_cb_host_timer_ended(void) {
    rv_host h;
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c = NULL;
    memset(&h, 0, sizeof h);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = rv_nop;
    cfg.on_watch = rv_on_watch;
    cfg.on_timer = rv_on_timer;
    cfg.user = &h;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(ws_connect(ctx, "ws://127.0.0.1:1/", NULL, NULL, &c), WS_OK);   /* a timer (connect) */
    ws_timer_fired(ctx);
    CHECK(h.timer_calls > 0);
    CHECK(h.timer_ms >= 0);           /* armed: the connect timeout, or the refusal's pass */
    ws_ctx_destroy(ctx);
    CHECK_EQ(h.watched, 0);           /* every socket's watch ended (the wake-up channel too) */
    CHECK_EQ(h.timer_ms, -1);         /* and the timer */
}

/* ws_connect_blocking whose connection opens and is closed by the server in the same pass
 * (the 101 and the close frame in one read): the caller saw WS_EV_OPEN, so the call succeeds
 * with the (closing) conn, whose CLOSE follows from the loop; no "connect timed out" ERROR
 * after the OPEN, no WS_ERR_TIMEOUT for a connection that never waited. */
static void test_cb_blocking_open_then_closed(void) {
    rv_state *s = (rv_state *)calloc(1, sizeof *s);
    ws_ctx *ctx;
    ws_conn *c = NULL;
    lb_rec *cr;
    char url[64];
    int ok;
    ws_result rc;
    if (!s) return;
    s->server_close_on_open = 1;
    ctx = rv_ctx(s, NULL);
    lb_listen(ctx, url);
    rc = ws_connect_blocking(ctx, url, NULL, NULL, LB_CAP_MS, &c);
    cr = &s->lb.rec[1];                  /* the client: the ctx's first conn */
    CHECK_EQ(cr->opens, 1);
    CHECK_EQ(cr->errors, 0);
    CHECK_EQ(rc, WS_OK);
    CHECK(c != NULL);
    LB_WAIT(ok, ctx, NULL, cr->closes == 1);
    CHECK_EQ(cr->close_code, WS_CLOSE_NORMAL);
    CHECK(strcmp(cr->reason, "bye") == 0);
    ws_ctx_destroy(ctx);
    lb_done(&s->lb);
}
static void test_cb_error_close_keeps_code(void) { rv_error_then(3); }
/* ... and a send from that ERROR callback is refused (WS_ERR_CLOSED), not sent ahead of the
 * close frame on a connection that has already failed */
static void test_cb_error_send_refused(void) { rv_error_then(4); }

#ifdef RV_NDEBUG
/* Without asserts (NDEBUG: release and firmware builds) the loop's entry points called from
 * inside a callback (here every WS_EV_ one, a ws_watch_fd's fn and the log hook) are
 * refused instead of running a pass inside the pass running: ws_poll and ws_connect_blocking
 * return WS_ERR_STATE, ws_dispatch, ws_socket_ready, ws_timer_fired and ws_ctx_destroy do
 * nothing, and the connections go on (regression: a nested pass, and ws_ctx_destroy freed
 * the ctx under the callback: a use after free). make test runs this in build/run_tests_ndebug. */
static void rv_reenter(rv_state *s, ws_ctx *ctx) {
    ws_pollfd fds[8];
    size_t n, i;
    int t;
    s->reenter++;
    if (ws_poll(ctx, 0) != WS_ERR_STATE) s->reenter_bad++;
    n = ws_pollfds(ctx, fds, 8, &t);
    for (i = 0; i < n && i < 8; i++) fds[i].revents = fds[i].events;   /* "all ready" */
    ws_dispatch(ctx, fds, n < 8 ? n : 8);
    ws_socket_ready(ctx, ctx, WS_POLLIN);
    ws_timer_fired(ctx);
    ws_ctx_destroy(ctx);
    if (ws_connect_blocking(ctx, "ws://127.0.0.1:1/", NULL, NULL, 10, NULL) != WS_ERR_STATE) s->reenter_bad++;
}
static void rv_log(int level, const char *msg, void *user) {
    rv_state *s = (rv_state *)user;
    (void)level; (void)msg;
    if (s->reenter && s->ctx) rv_reenter(s, s->ctx);
}
static void rv_watch_fn(ws_ctx *ctx, intptr_t fd, int revents, void *arg) {
    char b[16];
    (void)revents;
    rv_reenter((rv_state *)arg, ctx);
    CHECK(read((int)fd, b, sizeof b) > 0);
}
static void test_cb_ndebug_reentry(void) {
    rv_state *s = (rv_state *)calloc(1, sizeof *s);
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c;
    lb_rec *cr;
    char url[64];
    int ok, p[2];
    if (!s) return;
    s->lb.echo = 1;
    memset(&cfg, 0, sizeof cfg);
    cfg.log = rv_log;   /* the log hook is a callback too */
    ctx = s->ctx = rv_ctx(s, &cfg);
    lb_listen(ctx, url);
    c = lb_connect(ctx, url, NULL);
    s->reenter = 1;
    if (!c) goto out;
    cr = &s->lb.rec[ws_conn_id(c)];
    LB_WAIT(ok, ctx, NULL, cr->opens == 1);
    CHECK_EQ(ws_conn_send_text(c, "still here"), WS_OK);
    LB_WAIT(ok, ctx, NULL, cr->msgs == 1);
    if (pipe(p) == 0) {   /* a watched descriptor's callback too */
        ws_watch *w = NULL;
        int before = s->reenter;
        CHECK_EQ(ws_watch_fd(ctx, p[0], WS_POLLIN, rv_watch_fn, s, &w), WS_OK);
        CHECK_EQ(write(p[1], "x", 1), 1);
        LB_WAIT(ok, ctx, NULL, s->reenter > before);
        ws_watch_remove(w);
        close(p[0]);
        close(p[1]);
    }
    {
        int before = s->reenter;
        CHECK_EQ(ws_connect(ctx, "http://not-ws", NULL, NULL, NULL), WS_ERR_URL);   /* logged */
        CHECK_EQ(s->reenter, before + 1);
    }
    CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, "done"), WS_OK);
    LB_WAIT(ok, ctx, NULL, cr->closes == 1);
    CHECK_EQ(cr->clean, 1);
    CHECK(s->reenter >= 7);   /* OPEN x2, MESSAGE x2, the watch, the log, CLOSE... */
    CHECK_EQ(s->reenter_bad, 0);
out:
    s->reenter = 0;
    ws_ctx_destroy(ctx);
    lb_done(&s->lb);
}
#endif

#if defined(WS_USE_ZLIB) && !defined(_WIN32)
/* Server connections with client_no_context_takeover inflate one-frame messages with the ctx's
 * shared inflater. A client whose compressed message is corrupt (or ends its connection in
 * the middle of one) must not leave that inflater broken, or in the middle of its stream, for
 * the next connection: that one's valid message must still arrive. */
static void test_cb_deflate_shared_inflater(void) {
    static const uint8_t bad[] = { 0xC2, 0x81, 0, 0, 0, 0, 0xFF };   /* BTYPE 11: invalid */
    static const uint8_t hello[] = { 0xC1, 0x87, 0, 0, 0, 0, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };
    lb_state *s = lb_new();
    ws_config cfg;
    ws_ctx *ctx;
    ws_engine_opts o;
    ws_conn *c1 = NULL, *c2 = NULL;
    lb_rec *r1, *r2;
    int sp1[2] = { -1, -1 }, sp2[2] = { -1, -1 }, ok;
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.deflate.enable = 1;
    ctx = lb_ctx(s, &cfg);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp1), 0);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp2), 0);
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.upgraded = 1;
    o.extensions = "permessage-deflate; client_no_context_takeover";
    o.head = bad;
    o.head_len = sizeof bad;
    CHECK_EQ(ws_conn_adopt(ctx, sp1[0], &o, NULL, &c1), WS_OK);
    if (!c1) goto out;
    r1 = &s->rec[ws_conn_id(c1) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, r1->closes == 1);
    CHECK_EQ(r1->err_result, WS_ERR_PROTOCOL);
    o.head = hello;
    o.head_len = sizeof hello;
    CHECK_EQ(ws_conn_adopt(ctx, sp2[0], &o, NULL, &c2), WS_OK);
    if (!c2) goto out;
    r2 = &s->rec[ws_conn_id(c2) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, r2->msgs == 1 || r2->closes == 1);
    CHECK_EQ(r2->errors, 0);
    CHECK_EQ(r2->msgs, 1);
    CHECK(r2->last_len == 5 && r2->last && memcmp(r2->last, "Hello", 5) == 0);
out:
    ws_ctx_destroy(ctx);   /* closed sp1[0] and sp2[0] */
    if (sp1[1] >= 0) close(sp1[1]);
    if (sp2[1] >= 0) close(sp2[1]);
    lb_done(s);
}

/* A MESSAGE callback whose message is in c->msg (a compressed one is always inflated there)
 * sends on c, and that send fails the connection (here: incompressible bytes, as many as
 * max_send_queue, that deflate made longer than the queue takes: WS_ERR_TOO_BIG with context
 * takeover). ev->data stays readable to the callback's end (regression: ws__fail gave c->msg
 * back at once, freed since it was too large to keep: a use after free). */
typedef struct rv_fail { size_t len, same; int msgs, send_rc; uint32_t seed; } rv_fail;
static void rv_fail_event(ws_conn *c, const ws_event *ev, void *user) {
    rv_fail *f = (rv_fail *)user;
    static uint8_t noise[65536];
    size_t i;
    uint32_t x = 12345;
    if (ev->type != WS_EV_MESSAGE || ws_conn_is_server(c)) return;
    f->msgs++;
    f->len = ev->len;
    for (i = 0; i < sizeof noise; i++) { x = x * 1103515245u + 12345u; noise[i] = (uint8_t)(x >> 23); }
    f->send_rc = ws_conn_send(c, WS_OP_BINARY, noise, sizeof noise);   /* fails the conn */
    for (i = 0, x = f->seed; i < ev->len; i++, x++) f->same += ev->data[i] == (uint8_t)(x % 251);
}
static void test_cb_deflate_fail_in_message(void) {
    static uint8_t msg[4500000];   /* > WS_POOL_MAX * WS_POOL_BUF_MAX: freed when given back */
    ws_config cc, sc;
    rv_fail f;
    ws_conn *cl = NULL, *sv = NULL;
    size_t i;
    memset(&f, 0, sizeof f);
    f.seed = 7;
    for (i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)((f.seed + i) % 251);
    memset(&cc, 0, sizeof cc); memset(&sc, 0, sizeof sc);
    cc.on_event = sc.on_event = rv_fail_event;
    cc.user = sc.user = &f;
    cc.deflate.enable = sc.deflate.enable = 1;
    cc.max_send_queue = 65536;
    CHECK_EQ(ws_engine_pair(&cc, &sc, &cl, &sv), WS_OK);
    if (!cl || !sv) return;
    (void)ws_engine_pump(cl, sv, 0);
    CHECK_STR(ws_conn_extensions(cl), "permessage-deflate");
    CHECK_EQ(ws_conn_send(sv, WS_OP_BINARY, msg, sizeof msg), WS_OK);
    (void)ws_engine_pump(cl, sv, 0);
    CHECK_EQ(f.msgs, 1);
    CHECK_EQ(f.len, sizeof msg);
    CHECK_EQ(f.same, sizeof msg);         /* read after the failing send: all still there */
    CHECK(f.send_rc != WS_OK);            /* the send did fail (else this tests nothing) */
    CHECK(ws_conn_state(cl) != WS_STATE_OPEN);   /* failed */
    ws_engine_destroy(cl);
    ws_engine_destroy(sv);
}
#endif

static void suite_callbacks(void) {
    RUN(test_cb_error_close_no_retry);
    RUN(test_cb_error_drop_no_retry);
    RUN(test_cb_error_close_keeps_code);
    RUN(test_cb_error_send_refused);
    RUN(test_cb_host_timer_ended);
    RUN(test_cb_blocking_open_then_closed);
#ifdef RV_NDEBUG
    RUN(test_cb_ndebug_reentry);
#endif
#if defined(WS_USE_ZLIB) && !defined(_WIN32)
    RUN(test_cb_deflate_shared_inflater);
    RUN(test_cb_deflate_fail_in_message);
#endif
}
