/* test_transport.c - a transport of the user's own (ws_io) under the loop: two connections of
 * one ws_ctx adopted over in-memory pipes with no descriptor, woken by ws_conn_io_ready. The
 * transport "encrypts" (XOR) and runs a handshake of its own first, as a TLS layer would, so
 * the test sees that handshake, want/pending, read/write, shutdown and close are all used and
 * that nothing reaches the pipe in clear. Bounded by a pass count, not by time. */

typedef struct tp_pipe { uint8_t buf[1 << 17]; size_t len; int eof; } tp_pipe;
typedef struct tp_end {
    tp_pipe *in, *out;
    struct tp_end *other;
    ws_conn *c;
    int hs_sent, hs_done, hs_calls, writes, reads, shutdowns, closes, again;
    size_t cap;                /* the most one write takes (0 = all): partial writes */
} tp_end;

static void tp_wake(tp_end *e, int ev) { if (e && e->c) ws_conn_io_ready(e->c, ev); }

static ws_result tp_write(void *io, const uint8_t *p, size_t n, size_t *put) {
    tp_end *e = (tp_end *)io;
    size_t i, room = sizeof e->out->buf - e->out->len;
    if (!e->hs_done) { e->again++; return WS_AGAIN; }   /* TLS: nothing before its handshake */
    if (e->cap && n > e->cap) n = e->cap;
    if (n > room) n = room;
    if (!n) { e->again++; return WS_AGAIN; }
    for (i = 0; i < n; i++) e->out->buf[e->out->len + i] = (uint8_t)(p[i] ^ 0x5A);
    e->out->len += n;
    *put = n;
    e->writes++;
    tp_wake(e->other, WS_POLLIN);
    if (e->cap) tp_wake(e, WS_POLLOUT);   /* room for the rest at once */
    return WS_OK;
}
static ws_result tp_read(void *io, uint8_t *b, size_t cap, size_t *got) {
    tp_end *e = (tp_end *)io;
    size_t i, n = WS__MIN(cap, e->in->len);
    if (!e->hs_done) return WS_AGAIN;
    if (!n) return e->in->eof ? WS_ERR_CLOSED : WS_AGAIN;
    for (i = 0; i < n; i++) b[i] = (uint8_t)(e->in->buf[i] ^ 0x5A);
    memmove(e->in->buf, e->in->buf + n, e->in->len - n);
    e->in->len -= n;
    *got = n;
    e->reads++;
    tp_wake(e->other, WS_POLLOUT);
    return WS_OK;
}
static ws_result tp_handshake(void *io) {   /* each side sends 'H' and waits for the other's */
    tp_end *e = (tp_end *)io;
    e->hs_calls++;
    if (!e->hs_sent) { e->out->buf[e->out->len++] = 'H'; e->hs_sent = 1; tp_wake(e->other, WS_POLLIN); }
    if (!e->in->len) return WS_AGAIN;
    if (e->in->buf[0] != 'H') return WS_ERR_TLS;
    memmove(e->in->buf, e->in->buf + 1, --e->in->len);
    e->hs_done = 1;
    return WS_OK;
}
static int tp_want(void *io) { (void)io; return 0; }
static size_t tp_pending(void *io) { tp_end *e = (tp_end *)io; return e->hs_done ? e->in->len : 0; }
static void tp_shutdown(void *io) { tp_end *e = (tp_end *)io; e->shutdowns++; e->out->eof = 1; tp_wake(e->other, WS_POLLIN); }
static void tp_close(void *io) { tp_end *e = (tp_end *)io; e->closes++; e->out->eof = 1; tp_wake(e->other, WS_POLLIN); e->c = NULL; }

typedef struct tp_state { int opens, msgs, closes, clean, server_closes; size_t got; ws_result result; } tp_state;
static const char *tp_text = "through a transport of our own";

static void tp_on_event(ws_conn *c, const ws_event *ev, void *user) {
    tp_state *s = (tp_state *)user;
    int server = ws_conn_is_server(c);
    if (ev->type == WS_EV_OPEN) {
        s->opens++;
        if (!server) CHECK_EQ(ws_conn_send_text(c, tp_text), WS_OK);
    }
    if (ev->type == WS_EV_MESSAGE && server) CHECK_EQ(ws_conn_send(c, ev->opcode, ev->data, ev->len), WS_OK);
    if (ev->type == WS_EV_MESSAGE && !server) {
        s->msgs++;
        s->got = ev->len;
        CHECK(ev->len == strlen(tp_text) && memcmp(ev->data, tp_text, ev->len) == 0);
        CHECK_EQ(ws_conn_close(c, 4000, "enough"), WS_OK);
    }
    if (ev->type == WS_EV_CLOSE) {
        s->result = ev->result;
        if (server) { s->server_closes++; CHECK_EQ(ev->close_code, 4000); CHECK_STR(ev->reason, "enough"); }
        else s->closes++;
        s->clean += ev->clean;
    }
}

static void tp_run(size_t cap) {
    static tp_pipe a2b, b2a;
    tp_end ce, se;
    ws_io cio, sio;
    ws_engine_opts o;
    ws_config cfg;
    tp_state st;
    ws_ctx *ctx;
    ws_conn *cc = NULL, *sc = NULL;
    int i;
    memset(&a2b, 0, sizeof a2b); memset(&b2a, 0, sizeof b2a);
    memset(&ce, 0, sizeof ce); memset(&se, 0, sizeof se); memset(&st, 0, sizeof st);
    ce.in = &b2a; ce.out = &a2b; ce.other = &se; ce.cap = cap;
    se.in = &a2b; se.out = &b2a; se.other = &ce; se.cap = cap;
    memset(&cio, 0, sizeof cio);
    cio.read = tp_read; cio.write = tp_write; cio.handshake = tp_handshake; cio.want = tp_want;
    cio.pending = tp_pending; cio.shutdown = tp_shutdown; cio.close = tp_close;
    sio = cio;
    cio.io = &ce;
    sio.io = &se;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = tp_on_event;
    cfg.user = &st;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.io = &sio;
    CHECK_EQ(ws_conn_adopt(ctx, -1, &o, NULL, &sc), WS_OK);
    se.c = sc;
    o.server = 0;
    o.io = &cio;
    o.url = "ws://example.test/chat";
    CHECK_EQ(ws_conn_adopt(ctx, -1, &o, NULL, &cc), WS_OK);
    ce.c = cc;
    CHECK(ws_conn_ctx(cc) == ctx);
    CHECK_EQ(ws_conn_state(cc), WS_STATE_CONNECTING);
    for (i = 0; i < 2000 && (st.closes == 0 || st.server_closes == 0); i++) CHECK(ws_poll(ctx, 0) >= 0);
    CHECK(i < 2000);
    CHECK_EQ(st.opens, 2);
    CHECK_EQ(st.msgs, 1);
    CHECK_EQ(st.closes, 1);
    CHECK_EQ(st.server_closes, 1);
    CHECK_EQ(st.clean, 2);
    CHECK(ce.hs_done && se.hs_done && ce.hs_calls >= 1 && se.hs_calls >= 1);
    CHECK(ce.writes >= 3 && se.writes >= 3 && ce.reads >= 2 && se.reads >= 2);
    CHECK_EQ(se.shutdowns, 1);   /* the server ends the stream first (RFC 6455 7.1.1) */
    CHECK_EQ(ce.closes, 1);
    CHECK_EQ(se.closes, 1);
    ws_ctx_destroy(ctx);
}

static void test_transport_io_handshake(void) { tp_run(0); }
static void test_transport_io_partial_writes(void) { tp_run(7); }   /* 7 bytes per write */

/* A client of a fresh ctx on a ws_io whose far end the test plays by hand (no peer engine). */
static ws_ctx *tp_lone_client(tp_pipe *a2b, tp_pipe *b2a, tp_end *ce, ws_io *cio, tp_state *st,
                              ws_conn **cc) {
    ws_engine_opts o;
    ws_config cfg;
    ws_ctx *ctx;
    memset(a2b, 0, sizeof *a2b); memset(b2a, 0, sizeof *b2a);
    memset(ce, 0, sizeof *ce); memset(st, 0, sizeof *st);
    ce->in = b2a; ce->out = a2b;
    memset(cio, 0, sizeof *cio);
    cio->read = tp_read; cio->write = tp_write; cio->handshake = tp_handshake; cio->close = tp_close;
    cio->io = ce;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = tp_on_event;
    cfg.user = st;
    ctx = ws_ctx_create(&cfg);
    *cc = NULL;
    if (!ctx) { CHECK(ctx != NULL); return NULL; }
    memset(&o, 0, sizeof o);
    o.io = cio;
    CHECK_EQ(ws_conn_adopt(ctx, -1, &o, NULL, cc), WS_OK);
    ce->c = *cc;
    return ctx;
}

/* What reaches the pipe is the transport's: the upgrade request does not pass in clear. */
static void test_transport_io_nothing_in_clear(void) {
    static tp_pipe a2b, b2a;
    tp_end ce;
    ws_io cio;
    tp_state st;
    ws_ctx *ctx;
    ws_conn *cc = NULL;
    int i;
    ctx = tp_lone_client(&a2b, &b2a, &ce, &cio, &st, &cc);
    if (!ctx) return;
    for (i = 0; i < 20; i++) ws_poll(ctx, 0);
    CHECK_EQ(ce.writes, 0);              /* its handshake is not done: nothing written */
    CHECK(ce.hs_calls >= 1 && a2b.len == 1 && a2b.buf[0] == 'H');
    b2a.buf[b2a.len++] = 'H';            /* the peer's half of the handshake */
    ws_conn_io_ready(cc, WS_POLLIN);
    for (i = 0; i < 20; i++) ws_poll(ctx, 0);
    CHECK(ce.hs_done);
    CHECK(a2b.len > 100);
    CHECK(memcmp(a2b.buf + 1, "GET ", 4) != 0);
    a2b.buf[0] = 0;
    for (i = 1; i < (int)a2b.len; i++) a2b.buf[i] ^= 0x5A;   /* decrypted: the request */
    CHECK(memcmp(a2b.buf + 1, "GET / HTTP/1.1\r\n", 16) == 0);
    ws_ctx_destroy(ctx);                 /* a CLOSE for the attempt, and the transport closed */
    CHECK_EQ(st.closes, 1);
    CHECK_EQ(ce.closes, 1);
}

/* A ws_io handshake that fails ends the attempt with WS_ERR_TLS, before any upgrade. */
static void test_transport_io_handshake_fails(void) {
    static tp_pipe a2b, b2a;
    tp_end ce;
    ws_io cio;
    tp_state st;
    ws_ctx *ctx;
    ws_conn *cc = NULL;
    int i;
    ctx = tp_lone_client(&a2b, &b2a, &ce, &cio, &st, &cc);
    if (!ctx) return;
    b2a.buf[b2a.len++] = 'X';            /* not the handshake this transport expects */
    ws_conn_io_ready(cc, WS_POLLIN);
    for (i = 0; i < 20 && !st.closes; i++) ws_poll(ctx, 0);
    CHECK_EQ(st.closes, 1);
    CHECK_EQ(st.result, WS_ERR_TLS);
    CHECK_EQ(st.opens, 0);
    CHECK_EQ(ce.closes, 1);
    ws_ctx_destroy(ctx);
}

static void suite_transport(void) {
    RUN(test_transport_io_handshake);
    RUN(test_transport_io_partial_writes);
    RUN(test_transport_io_nothing_in_clear);
    RUN(test_transport_io_handshake_fails);
}
