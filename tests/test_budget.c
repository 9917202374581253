/* test_budget.c - what only a ws_ctx with several connections can show: the ctx-wide memory
 * budget (max_memory), safe handles (ws_conn_find, ws_send_id) and ws_broadcast_ex with slow
 * peers. Connections of a loop ctx without sockets, driven through the engine's internals (as
 * test_conn.c did before the engine was public); the event recorder is test_conn.c's. */

static ws_ctx *bg_ctx(const ws_config *cfg) {
    ws_ctx *ctx;
    cn_begin(cfg);
    ctx = ws_ctx_create(&cn_cfg);
    CHECK(ctx != NULL);
    if (ctx) ctx->now = CN_T0;   /* a fixed clock */
    return ctx;
}
static ws_conn *bg_open(ws_ctx *ctx) {   /* an open server connection with no socket */
    ws_conn *c = ws__conn_new(ctx, 1);
    c->state = WS__HANDSHAKE;
    ws__opened(c);
    return c;
}
static void bg_drain(ws_conn *c) { if (c->tx) c->tx->off = c->tx->len; }   /* as if it went out */
static void bg_feed_text(ws_conn *c, const char *s) {
    uint8_t buf[256];
    size_t n = cn_frame(buf, 1, 0, WS_OP_TEXT, 1, s, strlen(s));
    CHECK_EQ(ws__conn_feed(c, buf, n), WS_OK);
}
static void bg_end(ws_ctx *ctx) {
    ws_ctx_destroy(ctx);
    CHECK(!cn_overflow);
}

/* The ctx-wide memory budget (max_memory): sends over it fail with WS_ERR_FULL and queue
 * nothing, a message that cannot be assembled closes its conn with 1013, the other conns go
 * on, buffers never grow past their own limit by doubling, and the count returns to what the
 * pool holds when the conns are gone. */
static void test_conn_memory_budget(void) {
    static uint8_t big[300 * 1024], fr[70 * 1024];
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *a, *b;
    size_t i, n;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_memory = 256 * 1024;
    cfg.max_send_queue = 100 * 1024;
    ctx = bg_ctx(&cfg);
    a = bg_open(ctx);
    b = bg_open(ctx);
    CHECK_EQ(ctx->mem_used, 0);                                  /* idle conns hold nothing */
    CHECK_EQ(ws_conn_send(a, WS_OP_BINARY, big, 60 * 1024), WS_OK);
    CHECK_EQ(ws_conn_send(a, WS_OP_BINARY, big, 39 * 1024), WS_OK);
    CHECK(a->tx->cap <= 100 * 1024 + 14);                        /* no doubling to 120 KiB+ */
    CHECK_EQ(ws_conn_send(a, WS_OP_BINARY, big, 2 * 1024), WS_ERR_FULL);   /* max_send_queue */
    CHECK_EQ(ws_conn_send(b, WS_OP_BINARY, big, 99 * 1024), WS_OK);
    n = cn_tx_used(b);
    CHECK_EQ(ws_conn_send(b, WS_OP_BINARY, big, 90 * 1024), WS_ERR_FULL); /* the budget */
    CHECK_EQ(cn_tx_used(b), n);                                  /* nothing was queued */
    CHECK(ctx->mem_used <= cfg.max_memory);
    ws__buf_put(ctx, &a->tx);                                    /* as if a's queue went out */
    ws__buf_put(ctx, &b->tx);
    CHECK(ctx->mem_used <= cfg.max_memory);                      /* pooled, still counted */
    CHECK_EQ(ws_conn_send(b, WS_OP_BINARY, big, 90 * 1024), WS_OK);       /* from the pool */
    bg_drain(b);
    /* a fragmented message on a grows past what is left: 1013, an ERROR, input stops */
    for (i = 0; i < 4 && a->state == WS__OPEN; i++) {
        n = cn_frame(fr, 0, 0, i ? WS_OP_CONT : WS_OP_BINARY, 1, big, 64 * 1024);
        CHECK_EQ(ws__conn_feed(a, fr, n), WS_OK);
    }
    CHECK_EQ(a->state, WS__CLOSING);
    CHECK(cn_find(WS_EV_ERROR, 0) && cn_find(WS_EV_ERROR, 0)->result == WS_ERR_FULL);
    CHECK_EQ(cn_pop_close(a, NULL), 1013);
    CHECK(a->msg == NULL);                                       /* the half message is freed */
    CHECK(ctx->mem_used <= cfg.max_memory + 256);                /* + the forced close frame */
    /* b still works: a message in, an echo out */
    cn_echo = 1;
    bg_feed_text(b, "still here");
    CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
    CHECK_EQ(cn_echo_rc[0], WS_OK);
    bg_end(ctx);
    /* unlimited: no budget at all */
    cfg.max_memory = WS_MEM_UNLIMITED;
    ctx = bg_ctx(&cfg);
    a = bg_open(ctx);
    CHECK_EQ(ws_conn_send(a, WS_OP_BINARY, big, 99 * 1024), WS_OK);
    CHECK_EQ(ws__max_memory(ctx), WS_MEM_UNLIMITED);
    bg_end(ctx);
    /* the default is 256 MiB */
    memset(&cfg, 0, sizeof cfg);
    ctx = bg_ctx(&cfg);
    CHECK_EQ(ws__max_memory(ctx), (size_t)256 << 20);
    bg_end(ctx);
}

/* Safe handles: ws_conn_find / ws_send_id work while the conn lives and fail cleanly once
 * it is closed and freed; ids are not reused. */
static void test_conn_handles(void) {
    ws_ctx *ctx = bg_ctx(NULL);
    ws_conn *a = bg_open(ctx), *b = bg_open(ctx), *c;
    uint64_t ia = ws_conn_id(a), ib = ws_conn_id(b);
    int i;
    CHECK(ia != ib && ia && ib);
    CHECK(ws_conn_find(ctx, ia) == a);
    CHECK(ws_conn_find(ctx, ib) == b);
    CHECK(ws_conn_find(ctx, 0) == NULL);
    CHECK(ws_conn_find(ctx, ib + 1000) == NULL);
    CHECK(ws_conn_find(NULL, ia) == NULL);
    CHECK_EQ(ws_send_id(ctx, ia, WS_OP_TEXT, "hi", 2), WS_OK);
    CHECK(cn_tx_used(a) > 0);
    CHECK_EQ(ws_send_id(ctx, ia, WS_OP_TEXT, "\xff", 1), WS_ERR_UTF8);
    CHECK_EQ(ws_send_id(NULL, ia, WS_OP_TEXT, "hi", 2), WS_ERR_ARG);
    ws__finish(a);                                  /* its CLOSE fired: no longer found */
    CHECK(ws_conn_find(ctx, ia) == NULL);
    CHECK_EQ(ws_send_id(ctx, ia, WS_OP_TEXT, "hi", 2), WS_ERR_CLOSED);
    ws_dispatch(ctx, NULL, 0);                      /* a is freed here */
    CHECK(ws_conn_find(ctx, ia) == NULL);
    CHECK_EQ(ws_send_id(ctx, ia, WS_OP_TEXT, "hi", 2), WS_ERR_CLOSED);
    CHECK(ws_conn_find(ctx, ib) == b);
    for (i = 0; i < 300; i++) {                     /* the table grows and shrinks intact */
        c = ws__conn_new(ctx, 1);
        CHECK(c && c->id > ib && ws_conn_find(ctx, c->id) == c);   /* connecting: found */
        c->state = WS__OPEN;
        if (i % 3) ws__conn_free(c);
    }
    CHECK(ws_conn_find(ctx, ib) == b);
    for (c = ctx->head; c; c = c->next) CHECK(ws_conn_find(ctx, c->id) == c);
    CHECK_EQ(ctx->ids_len, ctx->nconns);
    for (c = ctx->head; c; c = c->next) if (c != b) c->state = WS__CLOSED;
    bg_end(ctx);
}

/* ws_broadcast_ex: how many took it, how many had a full queue, and closing those. */
static void test_conn_broadcast_slow(void) {
    static uint8_t big[8192];
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *a, *b, *c;
    size_t sent = 99, full = 99;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_send_queue = 10000;
    ctx = bg_ctx(&cfg);
    a = bg_open(ctx); b = bg_open(ctx); c = bg_open(ctx);
    CHECK_EQ(ws_conn_send(b, WS_OP_BINARY, big, sizeof big), WS_OK);   /* b does not read */
    CHECK_EQ(ws_broadcast_ex(ctx, WS_OP_BINARY, big, 4000, NULL, 0, &sent, &full), WS_ERR_FULL);
    CHECK_EQ(sent, 2);
    CHECK_EQ(full, 1);
    CHECK_EQ(ws_conn_state(b), WS_STATE_OPEN);      /* no flag: b just missed it */
    CHECK_EQ(ws_broadcast(ctx, WS_OP_BINARY, big, 10, c, &sent), WS_OK);
    CHECK_EQ(sent, 2);
    bg_drain(a); bg_drain(c);
    CHECK_EQ(ws_broadcast_ex(ctx, WS_OP_BINARY, big, 4000, NULL, WS_BROADCAST_CLOSE_SLOW, &sent, &full), WS_ERR_FULL);
    CHECK_EQ(sent, 2);
    CHECK_EQ(full, 1);
    CHECK_EQ(ws_conn_state(b), WS_STATE_CLOSING);   /* 1013 queued behind its backlog */
    CHECK_EQ(ws_conn_state(a), WS_STATE_OPEN);
    CHECK_EQ(ws_broadcast_ex(ctx, WS_OP_BINARY, "x", 1, NULL, WS_BROADCAST_CLOSE_SLOW, &sent, &full), WS_OK);
    CHECK_EQ(sent, 2);                              /* b is closing: not counted */
    CHECK_EQ(full, 0);
    bg_end(ctx);
}

/* A send refused by the ctx's budget (max_memory) while the connection's own queue is empty:
 * WS_EV_DRAINED still comes once buffers are given back, so "retry after DRAINED" works
 * (regression: DRAINED waited for a queue that never filled, and only came with the peer's
 * next input; an echo of a message that held the budget itself stalled). */
static ws_result bg_wait_rc[4];
static int bg_wait_n, bg_wait_drained, bg_wait_pending;
static uint8_t bg_wait_msg[40 * 1024];
static void bg_wait_event(ws_conn *c, const ws_event *ev, void *user) {
    ws_result rc;
    (void)user;
    if (ev->type == WS_EV_MESSAGE && ev->len == sizeof bg_wait_msg) {
        memcpy(bg_wait_msg, ev->data, ev->len);
        rc = ws_conn_send(c, WS_OP_BINARY, bg_wait_msg, sizeof bg_wait_msg);
        if (bg_wait_n < 4) bg_wait_rc[bg_wait_n++] = rc;
        bg_wait_pending = rc == WS_ERR_FULL;
    } else if (ev->type == WS_EV_DRAINED) {
        bg_wait_drained++;
        if (bg_wait_pending) {
            rc = ws_conn_send(c, WS_OP_BINARY, bg_wait_msg, sizeof bg_wait_msg);
            if (bg_wait_n < 4) bg_wait_rc[bg_wait_n++] = rc;
            bg_wait_pending = rc == WS_ERR_FULL;
        }
    }
}
static void test_conn_budget_drained(void) {
    static uint8_t in[sizeof bg_wait_msg + 16], pl[sizeof bg_wait_msg];
    ws_config cfg;
    ws_engine_opts o;
    ws_conn *c = NULL;
    ws_frame f;
    const uint8_t *out;
    size_t i, n;
    memset(&cfg, 0, sizeof cfg);
    memset(&o, 0, sizeof o);
    cfg.on_event = bg_wait_event;
    cfg.max_memory = 80 * 1024;   /* the message's receive buffer and its echo do not both fit */
    o.server = 1;
    o.upgraded = 1;
    bg_wait_n = bg_wait_drained = bg_wait_pending = 0;
    CHECK_EQ(ws_engine_create(&cfg, &o, NULL, &c), WS_OK);
    if (!c) return;
    for (i = 0; i < sizeof pl; i++) pl[i] = (uint8_t)(i * 7u);
    n = cn_frame(in, 1, 0, WS_OP_BINARY, 1, pl, sizeof pl);
    CHECK_EQ(ws_engine_feed(c, in, n, 0), WS_OK);
    CHECK(bg_wait_n >= 1 && bg_wait_rc[0] == WS_ERR_FULL);   /* the budget, not the queue */
    CHECK_EQ(bg_wait_drained, 1);                              /* before the feed returned */
    CHECK_EQ(bg_wait_n, 2);
    CHECK_EQ(bg_wait_rc[1], WS_OK);                            /* the retry fits */
    n = ws_engine_output(c, &out);
    CHECK(n > sizeof pl);
    if (n > sizeof pl) {
        CHECK_EQ(ws_frame_parse(out, n, WS_PARSE_UNMASKED, &f, NULL, NULL), WS_OK);
        CHECK_EQ(f.payload_len, sizeof pl);
        CHECK_EQ(n, f.header_len + sizeof pl);
        CHECK(memcmp(out + f.header_len, pl, sizeof pl) == 0);
    }
    ws_engine_destroy(c);
    {   /* a loop ctx: the budget held by another connection's queue */
        static uint8_t big[200 * 1024];
        ws_ctx *ctx;
        ws_conn *a, *b;
        int t = 0;
        memset(&cfg, 0, sizeof cfg);
        cfg.max_memory = 256 * 1024;
        cfg.max_send_queue = 200 * 1024;
        cfg.ping_interval_ms = -1;   /* the fixed clock: no pings taking the buffers */
        ctx = bg_ctx(&cfg);
        a = bg_open(ctx);
        b = bg_open(ctx);
        CHECK_EQ(ws_conn_send(b, WS_OP_BINARY, big, sizeof big - 64), WS_OK);   /* b does not read */
        CHECK_EQ(ws_conn_send(a, WS_OP_BINARY, big, 100 * 1024), WS_ERR_FULL);
        CHECK_EQ(cn_tx_used(a), 0);
        ws_dispatch(ctx, NULL, 0);
        CHECK_EQ(cn_count(WS_EV_DRAINED), 0);             /* nothing went back: no retry (no spin) */
        CHECK(ws_pollfds(ctx, NULL, 0, &t) < 100 && t != 0);
        ws__buf_put(ctx, &b->tx);                         /* as if b's queue went out */
        ws_dispatch(ctx, NULL, 0);
        CHECK_EQ(cn_count(WS_EV_DRAINED), 1);             /* a's */
        CHECK(cn_find(WS_EV_DRAINED, 0) && cn_find(WS_EV_DRAINED, 0)->conn == a);
        CHECK_EQ(ws_conn_send(a, WS_OP_BINARY, big, 100 * 1024), WS_OK);
        ws_dispatch(ctx, NULL, 0);
        CHECK_EQ(cn_count(WS_EV_DRAINED), 1);
        bg_end(ctx);
    }
}

static void suite_budget(void) {
    RUN(test_conn_memory_budget);
    RUN(test_conn_handles);
    RUN(test_conn_broadcast_slow);
    RUN(test_conn_budget_drained);
}
