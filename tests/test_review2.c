/* test_review2.c - calls made from inside callbacks and in unusual orders, found in a review
 * of the client, the loop, permessage-deflate and TLS: each test failed before its fix.
 * Uses test_loopback.c's helpers (lb_*). */

/* ---- what a test's callback does, beyond recording (lb_on_event) ---- */
typedef struct rv_state {
    lb_state lb;                 /* first: cfg.user is an lb_state * for lb_on_event */
    int      on_error_close;     /* ERROR: ws_conn_close(c) (1) or ws_conn_drop(c) (2) */
} rv_state;

static void rv_on_event(ws_conn *c, const ws_event *ev, void *user) {
    rv_state *s = (rv_state *)user;
    lb_on_event(c, ev, user);
    if (ev->type == WS_EV_ERROR && s->on_error_close == 1) CHECK_EQ(ws_conn_close(c, 0, NULL), WS_OK);
    if (ev->type == WS_EV_ERROR && s->on_error_close == 2) ws_conn_drop(c);
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
static void test_review2_error_close_no_retry(void) { rv_error_close(1); }
static void test_review2_error_drop_no_retry(void) { rv_error_close(2); }

static void suite_review2(void) {
    RUN(test_review2_error_close_no_retry);
    RUN(test_review2_error_drop_no_retry);
}
