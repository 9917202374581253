/* test_transport.c - a transport of the user's own (ws_io) under the loop: two connections of
 * one ws_ctx adopted over in-memory pipes with no descriptor, woken by ws_conn_io_ready. The
 * transport "encrypts" (XOR) and runs a handshake of its own first, as a TLS layer would, so
 * the test sees that handshake, want/pending, read/write, shutdown and close are all used and
 * that nothing reaches the pipe in clear. Bounded by a pass count, not by time. Then ws.h's own
 * plain TCP (ws_io_tcp) wrapped by a ws_io that counts bytes, over real loopback sockets, and
 * the server's uncopied sendmsg path taken on that built-in TCP only. */

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

/* ---- ws.h's own plain TCP, wrapped: a ws_io of the user's that counts what passes and hands
 * each call to ws_io_tcp(), on both ends of a real loopback TCP connection ---- */
typedef struct tp_count {
    void *sock;                /* ws_io_tcp's io: the socket */
    size_t in, out;            /* bytes read and written */
    int shutdowns, closes;
    char first[5];             /* the first bytes written: "GET " or "HTTP" */
} tp_count;
static ws_result tp_count_read(void *io, uint8_t *b, size_t cap, size_t *got) {
    tp_count *k = (tp_count *)io;
    ws_result rc = (ws_io_tcp()->read)(k->sock, b, cap, got);
    if (rc == WS_OK) k->in += *got;
    return rc;
}
static ws_result tp_count_write(void *io, const uint8_t *p, size_t n, size_t *put) {
    tp_count *k = (tp_count *)io;
    ws_result rc = (ws_io_tcp()->write)(k->sock, p, n, put);
    if (rc == WS_OK && k->out == 0 && *put >= 4) memcpy(k->first, p, 4);
    if (rc == WS_OK) k->out += *put;
    return rc;
}
static void tp_count_shutdown(void *io) { tp_count *k = (tp_count *)io; k->shutdowns++; (ws_io_tcp()->shutdown)(k->sock); }
static void tp_count_close(void *io) { tp_count *k = (tp_count *)io; k->closes++; (ws_io_tcp()->close)(k->sock); }

/* A connected loopback TCP pair (through a listener of the test's own, closed at once), both
 * ends non-blocking. 0 = done. (Windows: after ws_ctx_create, which starts Winsock.) */
static int tp_tcp_pair(ws__sock *a, ws__sock *b) {
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    ws__sock l = ws__socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    *a = *b = WS__INVALID_SOCK;
    if (l == WS__INVALID_SOCK) return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ws__bind(l, (struct sockaddr *)&sa, sizeof sa) == 0 && ws__listen(l, 1) == 0 &&
        ws__getsockname(l, (struct sockaddr *)&sa, &sl) == 0 &&
        (*a = ws__socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)) != WS__INVALID_SOCK &&
        ws__connect(*a, (struct sockaddr *)&sa, sizeof sa) == 0)   /* loopback: done at once */
        *b = ws__accept_sock(l, NULL, NULL);                      /* queued already */
    ws__sock_close(l);
    if (*b == WS__INVALID_SOCK) {
        if (*a != WS__INVALID_SOCK) ws__sock_close(*a);
        return -1;
    }
    ws__sock_setup(*a);
    ws__sock_setup(*b);
    return 0;
}

static void tp_count_ends(ws_io *io, tp_count *k, ws__sock s) {
    memset(k, 0, sizeof *k);
    k->sock = (void *)(intptr_t)s;
    *io = *ws_io_tcp();        /* the built-in's table, two calls replaced... */
    io->read = tp_count_read;  /* ...and all four passed on: shutdown and close as well */
    io->write = tp_count_write;
    io->shutdown = tp_count_shutdown;
    io->close = tp_count_close;
    io->io = k;
}

static void test_transport_wrap_tcp(void) {
    ws__sock cs, ss;
    tp_count ck, sk;
    ws_io cio, sio;
    ws_engine_opts o;
    ws_config cfg;
    tp_state st;
    ws_ctx *ctx;
    ws_conn *cc = NULL, *sc = NULL;
    int i;
    CHECK(ws_io_tcp() != NULL && ws_io_tcp()->read && ws_io_tcp()->write && ws_io_tcp()->close);
    CHECK(!ws_io_tcp()->handshake && !ws_io_tcp()->want && !ws_io_tcp()->pending);
    memset(&st, 0, sizeof st);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = tp_on_event;   /* the client sends tp_text, the server echoes, 4000 closes */
    cfg.user = &st;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    if (tp_tcp_pair(&cs, &ss) != 0) { CHECK(!"a loopback TCP connection"); ws_ctx_destroy(ctx); return; }
    tp_count_ends(&cio, &ck, cs);
    tp_count_ends(&sio, &sk, ss);
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.io = &sio;
    CHECK_EQ(ws_conn_adopt(ctx, (intptr_t)ss, &o, NULL, &sc), WS_OK);   /* polled through ss */
    o.server = 0;
    o.io = &cio;
    o.url = "ws://127.0.0.1/counted";
    CHECK_EQ(ws_conn_adopt(ctx, (intptr_t)cs, &o, NULL, &cc), WS_OK);
    CHECK(cc && cc->io != ws_io_tcp() && sc && sc->io != ws_io_tcp());   /* the wrappers, */
    CHECK(cc && !ws__is_tcp(cc));        /* so no sendmsg() past them (ws__send_direct) */
    for (i = 0; i < 2000 && (st.closes == 0 || st.server_closes == 0); i++) CHECK(ws_poll(ctx, 50) >= 0);
    CHECK(i < 2000);
    CHECK_EQ(st.opens, 2);
    CHECK_EQ(st.msgs, 1);
    CHECK_EQ(st.clean, 2);
    CHECK(memcmp(ck.first, "GET ", 4) == 0);    /* the client's upgrade request... */
    CHECK(memcmp(sk.first, "HTTP", 4) == 0);    /* ...and the server's 101 passed the wrappers */
    CHECK(ck.out > strlen(tp_text) && sk.out > strlen(tp_text));
    CHECK_EQ(ck.out, sk.in);                    /* every byte one side wrote, the other read */
    CHECK_EQ(sk.out, ck.in);
    CHECK_EQ(sk.shutdowns, 1);                  /* the server ends TCP first (RFC 6455 7.1.1) */
    CHECK_EQ(ck.closes, 1);
    CHECK_EQ(sk.closes, 1);
    ws_ctx_destroy(ctx);
    CHECK_EQ(ck.closes + sk.closes, 2);         /* closed once each, through the wrappers */
}

/* The server's fast path (frame header + payload in one sendmsg/WSASend, uncopied: no buffer)
 * is taken on ws.h's own plain TCP only; on a ws_io of the user's, wrapped or not, the bytes go
 * through the send queue and that ws_io. */
typedef struct tp_ds { int opens, msgs, bad; } tp_ds;
static uint8_t tp_ds_byte(size_t j) { return (uint8_t)(j * 7u + 3u); }
static void tp_ds_event(ws_conn *c, const ws_event *ev, void *user) {
    tp_ds *d = (tp_ds *)user;
    size_t j;
    (void)c;
    if (ev->type == WS_EV_OPEN) d->opens++;
    if (ev->type != WS_EV_MESSAGE) return;
    d->msgs++;
    if (ev->len != 1000) d->bad++;
    else for (j = 0; j < ev->len; j++) if (ev->data[j] != tp_ds_byte(j)) { d->bad++; break; }
}
static void test_transport_tcp_direct_send(void) {
    uint8_t msg[1000];
    ws__sock cs, ss, cs2, ss2;
    tp_count ck, sk2;
    ws_io cio, sio2;
    ws_engine_opts o;
    ws_config cfg;
    tp_ds d;
    ws_ctx *ctx;
    ws_conn *cc = NULL, *sc = NULL, *sc2 = NULL;
    size_t k, mem;
    int i;
    for (k = 0; k < sizeof msg; k++) msg[k] = tp_ds_byte(k);
    memset(&d, 0, sizeof d);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = tp_ds_event;
    cfg.user = &d;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    if (tp_tcp_pair(&cs, &ss) != 0) { CHECK(!"a loopback TCP connection"); ws_ctx_destroy(ctx); return; }
    if (tp_tcp_pair(&cs2, &ss2) != 0) {
        CHECK(!"a loopback TCP connection");
        ws__sock_close(cs); ws__sock_close(ss); ws_ctx_destroy(ctx);
        return;
    }
    tp_count_ends(&cio, &ck, cs);
    tp_count_ends(&sio2, &sk2, ss2);
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.upgraded = 1;                              /* open at once: no handshake */
    CHECK_EQ(ws_conn_adopt(ctx, (intptr_t)ss, &o, NULL, &sc), WS_OK);      /* ws.h's TCP */
    o.io = &sio2;
    CHECK_EQ(ws_conn_adopt(ctx, (intptr_t)ss2, &o, NULL, &sc2), WS_OK);    /* wrapped TCP */
    o.server = 0;
    o.io = &cio;
    CHECK_EQ(ws_conn_adopt(ctx, (intptr_t)cs, &o, NULL, &cc), WS_OK);
    CHECK(sc && sc->io == ws_io_tcp() && sc->io_arg == (void *)(intptr_t)ss && ws__is_tcp(sc));
    CHECK(sc2 && sc2->io != ws_io_tcp() && !ws__is_tcp(sc2));
    for (i = 0; i < 100 && d.opens < 3; i++) ws_poll(ctx, 10);
    CHECK_EQ(d.opens, 3);
    if (!sc || !sc2 || d.opens < 3) { ws_ctx_destroy(ctx); ws__sock_close(cs2); return; }
    mem = ctx->mem_used;
    CHECK_EQ(ws_conn_send(sc, WS_OP_BINARY, msg, sizeof msg), WS_OK);   /* sendmsg: no buffer */
    CHECK_EQ(ctx->mem_used, mem);
    CHECK(sc->tx == NULL);
    CHECK_EQ(ws_conn_send(sc2, WS_OP_BINARY, msg, sizeof msg), WS_OK);  /* the queue, then io */
    CHECK(ctx->mem_used > mem);
    CHECK_EQ(sk2.out, 4 + sizeof msg);          /* written through the wrapper at once */
    for (i = 0; i < 200 && d.msgs < 1; i++) ws_poll(ctx, 10);
    CHECK_EQ(d.msgs, 1);
    CHECK_EQ(d.bad, 0);
    CHECK_EQ(ck.in, 4 + sizeof msg);            /* header (2 + 2 length bytes) + payload */
    ws_ctx_destroy(ctx);
    CHECK_EQ(ck.closes + sk2.closes, 2);
    ws__sock_close(cs2);                         /* the far end of the wrapped server */
}

/* ---- the rest of a large frame read on: a read into the ctx's large buffer that ends inside
 * a frame (30,000 of a 60,008-byte frame) reads on in the same round while the rest comes in
 * (the sender is still writing it), so the frame completes where it was read, uncopied (the
 * second read lands right after the first); when nothing more comes, that read says WS_AGAIN
 * and the frame's start moves to a pooled buffer, giving the large one back (as before).
 * POSIX: poll() and MSG_PEEK on the test's own socket ---- */
#ifndef _WIN32
typedef struct tp_rd {
    void *sock;
    int reads, agains;
    const uint8_t *buf[8];     /* where each read was asked to put its bytes, and what it got */
    size_t got[8];
    ws__sock peer;             /* the far end: after the next read that gets bytes, feed_len */
    const uint8_t *feed;       /* bytes are written there and waited for (the rest "arrives"
                                * while the server is still reading) */
    size_t feed_len;
    uint8_t echo[60004 + 16];  /* the echo as the far end read it */
    size_t echo_len;
    int over;                  /* a broken ws_io: claims cap + over bytes read */
} tp_rd;
static int tp_rd_wait(ws__sock s, size_t n) {   /* until n bytes can be read from s: 0 */
    static uint8_t peek[65536];
    long i, k;
    for (i = 0; i < 100000; i++) {
        struct pollfd p;
        k = recv(s, (char *)peek, n, MSG_PEEK);
        if (k >= 0 && (size_t)k >= n) return 0;
        p.fd = s; p.events = POLLIN; p.revents = 0;
        (void)poll(&p, 1, 10);
    }
    return -1;
}
static int tp_rd_send(ws__sock s, ws__sock to, const uint8_t *p, size_t n) {   /* all, then arrived */
    size_t put = 0;
    long i, k;
    for (i = 0; i < 100000 && put < n; i++) {
        struct pollfd q;
        k = ws__sock_send(s, p + put, n - put);
        if (k > 0) { put += (size_t)k; continue; }
        q.fd = s; q.events = POLLOUT; q.revents = 0;
        (void)poll(&q, 1, 10);
    }
    return put == n ? tp_rd_wait(to, n) : -1;
}
static ws_result tp_rd_read(void *io, uint8_t *b, size_t cap, size_t *got) {
    tp_rd *k = (tp_rd *)io;
    ws_result rc = (ws_io_tcp()->read)(k->sock, b, cap, got);
    if (rc == WS_AGAIN) k->agains++;
    if (rc != WS_OK) return rc;
    if (k->over) *got = cap + (size_t)k->over;
    if (k->reads < 8) { k->buf[k->reads] = b; k->got[k->reads] = *got; }
    k->reads++;
    if (k->feed) {
        const uint8_t *f = k->feed;
        k->feed = NULL;
        if (tp_rd_send(k->peer, (ws__sock)(intptr_t)k->sock, f, k->feed_len)) return WS_ERR_IO;
    }
    return rc;
}
static ws_result tp_rd_write(void *io, const uint8_t *p, size_t n, size_t *put) {
    return (ws_io_tcp()->write)(((tp_rd *)io)->sock, p, n, put);
}
static void tp_rd_close(void *io) { (ws_io_tcp()->close)(((tp_rd *)io)->sock); }
static void tp_rd_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)user;
    if (ev->type == WS_EV_MESSAGE) (void)ws_conn_send(c, ev->opcode, ev->data, ev->len);
}
static void tp_rd_echo(ws_ctx *ctx, tp_rd *k) {   /* the echo (4 + 60,000 bytes) at the far end */
    int i;
    long n;
    k->echo_len = 0;
    for (i = 0; i < 2000 && k->echo_len < 60004; i++) {
        (void)ws_poll(ctx, 5);
        while ((n = ws__sock_recv(k->peer, k->echo + k->echo_len, sizeof k->echo - k->echo_len)) > 0)
            k->echo_len += (size_t)n;
    }
}
/* A server connection adopted over a loopback TCP pair (*cs its peer's end, *ss its own), its
 * reads and writes through k's wrappers, open. NULL (nothing left open) if that fails. */
static ws_conn *tp_rd_open(ws_ctx **pctx, tp_rd *k, ws__sock *cs, ws__sock *ss) {
    ws_io sio;
    ws_engine_opts o;
    ws_config cfg;
    ws_conn *sc = NULL;
    int i;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = tp_rd_event;
    *pctx = ws_ctx_create(&cfg);
    CHECK(*pctx != NULL);
    if (!*pctx) return NULL;
    if (tp_tcp_pair(cs, ss) != 0) { CHECK(!"a loopback TCP connection"); ws_ctx_destroy(*pctx); return NULL; }
    memset(k, 0, sizeof *k);
    k->sock = (void *)(intptr_t)*ss;
    k->peer = *cs;
    sio = *ws_io_tcp();
    sio.read = tp_rd_read; sio.write = tp_rd_write; sio.close = tp_rd_close; sio.shutdown = NULL;
    sio.io = k;
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.upgraded = 1;
    o.io = &sio;
    CHECK_EQ(ws_conn_adopt(*pctx, (intptr_t)*ss, &o, NULL, &sc), WS_OK);
    if (!sc) { ws_ctx_destroy(*pctx); ws__sock_close(*cs); return NULL; }
    for (i = 0; i < 200 && sc->state != WS__OPEN; i++) (void)ws_poll(*pctx, 5);   /* open in a pass */
    CHECK(sc->state == WS__OPEN);
    return sc;
}
static void test_transport_frame_rest_read_on(void) {
    static uint8_t fr[60008];
    static tp_rd k;
    const uint8_t mask[4] = { 0x5b, 0x0e, 0xc1, 0x72 };
    ws__sock cs, ss;
    ws_ctx *ctx;
    ws_conn *sc;
    ws__buf *big = NULL;
    size_t j;
    int i, round;
    sc = tp_rd_open(&ctx, &k, &cs, &ss);
    if (!sc) return;
    /* one binary frame, 60,000 bytes, masked */
    fr[0] = 0x82; fr[1] = 0x80 | 126; fr[2] = (uint8_t)(60000 >> 8); fr[3] = (uint8_t)(60000 & 255);
    memcpy(fr + 4, mask, 4);
    for (j = 0; j < 60000; j++) fr[8 + j] = (uint8_t)((j * 13 + (j >> 8)) ^ mask[j % 4]);
    for (round = 0; round < 2; round++) {
        /* the state after 64 KiB echoes: reads are large (rd_big), the 1 MiB buffer waits in big */
        if (!ctx->big) {
            CHECK(ws__buf_reserve_f(ctx, &big, (size_t)1 << 20, 0, 0));
            ws__buf_put(ctx, &big);
        }
        CHECK(ctx->big != NULL);
        ctx->rd_big = 1;
        k.reads = k.agains = 0;
        k.feed = round == 0 ? fr + 30000 : NULL;   /* round 0: the rest arrives during the read */
        k.feed_len = sizeof fr - 30000;
        CHECK_EQ(tp_rd_send(cs, ss, fr, 30000), 0);
        for (i = 0; i < 2000 && k.reads == 0; i++) (void)ws_poll(ctx, 5);
        CHECK(k.reads >= 1 && k.got[0] == 30000);
        if (round == 0) {
            CHECK_EQ(k.reads, 2);                           /* the rest, in the same round... */
            CHECK(k.buf[1] == k.buf[0] + 30000);            /* ...right after the start: uncopied */
            CHECK(k.got[1] == sizeof fr - 30000);
            CHECK(sc->rx == NULL && ctx->big != NULL);      /* done with the large buffer */
        } else {
            CHECK_EQ(k.reads, 1);
            CHECK(k.agains >= 1);                           /* it read on and found nothing */
            CHECK(sc->rx != NULL && sc->rx->cap <= WS_POOL_BUF_MAX && ws__buf_used(sc->rx) == 30000);
            CHECK(ctx->big != NULL);                        /* the large buffer went back */
            CHECK_EQ(tp_rd_send(cs, ss, fr + 30000, sizeof fr - 30000), 0);
        }
        tp_rd_echo(ctx, &k);
        CHECK_EQ(k.echo_len, 60004);
        CHECK(k.echo[0] == 0x82 && k.echo[1] == 126 && k.echo[2] == (uint8_t)(60000 >> 8));
        for (j = 0; j < 60000 && k.echo_len == 60004; j++)
            if (k.echo[4 + j] != (uint8_t)(j * 13 + (j >> 8))) { CHECK(!"the echo's bytes"); break; }
    }
    ws_ctx_destroy(ctx);
    ws__sock_close(cs);
}
/* ---- a large frame's bytes stay in the large buffer: a connection whose last frame was larger
 * than a pooled buffer reads the next one's start straight into ctx->big and keeps it there
 * (it went to a pooled buffer and was copied into big at the next read: 1 MiB echoes copied
 * 14 % of their bytes); and a frame's rest that fits in the room after its start is read
 * there (a frame's first 1,048,562 bytes were moved to the front to read the last 28); a
 * few bytes of a header still move out of the large buffer ---- */
static size_t tp_big_frame(uint8_t *fr, size_t n) {   /* a masked binary frame of n bytes */
    const uint8_t mask[4] = { 0x3c, 0xa1, 0x07, 0xe5 };
    size_t h = 4, j;
    fr[0] = 0x82; fr[1] = 0x80 | 127;   /* (n > 65535 here: the 8-byte length) */
    for (j = 0; j < 8; j++) fr[2 + j] = (uint8_t)((uint64_t)n >> (56 - 8 * j));
    h = 10;
    memcpy(fr + h, mask, 4);
    for (j = 0; j < n; j++) fr[h + 4 + j] = (uint8_t)((j * 7 + (j >> 9)) ^ mask[j % 4]);
    return h + 4 + n;
}
typedef struct tp_big_rx { uint8_t h[10]; size_t hn, need, plen, pos, got; int in_pl, bad; } tp_big_rx;
/* sends p[0..n) from the far end s while the loop runs, and reads the echoes (each payload
 * byte checked against tp_big_frame's) until r->got reaches `back` */
static void tp_big_pump(ws_ctx *ctx, ws__sock s, const uint8_t *p, size_t n, size_t back, tp_big_rx *r) {
    static uint8_t in[65536];
    size_t put = 0;
    int i;
    long k, j;
    for (i = 0; i < 20000 && (put < n || r->got < back); i++) {
        if (put < n && (k = ws__sock_send(s, p + put, n - put)) > 0) put += (size_t)k;
        (void)ws_poll(ctx, put < n ? 0 : 1);
        while ((k = ws__sock_recv(s, in, sizeof in)) > 0)
            for (j = 0; j < k; j++, r->got++) {
                if (r->in_pl) {
                    if (in[j] != (uint8_t)(r->pos * 7 + (r->pos >> 9))) r->bad = 1;
                    r->in_pl = ++r->pos < r->plen;
                    continue;
                }
                r->h[r->hn++] = in[j];
                if (r->hn == 2) r->need = (in[j] & 127) == 126 ? 4 : (in[j] & 127) == 127 ? 10 : 2;
                if (r->hn < 2 || r->hn < r->need) continue;
                r->plen = r->need == 2 ? (size_t)(r->h[1] & 127) : 0;
                for (r->pos = 2; r->need > 2 && r->pos < r->need; r->pos++) r->plen = r->plen << 8 | r->h[r->pos];
                r->hn = 0; r->pos = 0; r->in_pl = r->plen > 0;
            }
    }
}
static void test_transport_large_frame_in_big(void) {
    static uint8_t fr[1048576];
    static tp_rd k;
    tp_big_rx r;
    ws__sock cs, ss;
    ws_ctx *ctx;
    ws_conn *sc;
    ws__buf *big = NULL;
    size_t n, na, nb;
    int i;
    memset(&r, 0, sizeof r);
    sc = tp_rd_open(&ctx, &k, &cs, &ss);
    if (!sc) return;
    /* a 300,000-byte message, echoed: its buffer (larger than a pooled one) waits in big */
    n = tp_big_frame(fr, 300000);
    tp_big_pump(ctx, cs, fr, n, 300010, &r);
    CHECK(r.got == 300010 && !r.bad);
    CHECK(sc->rx == NULL && ctx->big != NULL);
    big = ctx->big;
    ctx->rd_big = 0;   /* (what 64 KiB echoes set: not what is tested here) */
    /* the next one's start: read into big, and it stays there */
    k.reads = 0;
    CHECK_EQ(tp_rd_send(cs, ss, fr, 20000), 0);
    for (i = 0; i < 2000 && k.reads == 0; i++) (void)ws_poll(ctx, 5);
    CHECK(big != NULL && k.reads >= 1 && k.buf[0] == WS__BDATA(big));
    CHECK(sc->rx == big && ws__buf_used(sc->rx) == 20000);
    tp_big_pump(ctx, cs, fr + 20000, n - 20000, 2 * 300010, &r);
    CHECK(r.got == 2 * 300010 && !r.bad);
    CHECK(sc->rx == NULL && ctx->big == big);
    /* a few bytes of a header (no frame yet) do not keep the large buffer */
    k.reads = 0;
    CHECK_EQ(tp_rd_send(cs, ss, fr, 5), 0);
    for (i = 0; i < 2000 && k.reads == 0; i++) (void)ws_poll(ctx, 5);
    CHECK(sc->rx != NULL && sc->rx != big && ws__buf_used(sc->rx) == 5 && ctx->big == big);
    tp_big_pump(ctx, cs, fr + 5, n - 5, 3 * 300010, &r);
    CHECK(r.got == 3 * 300010 && !r.bad);
    /* in a 1 MiB buffer, a 600,000-byte message, then 437,014 bytes of a 440,000-byte one
     * (11,548 bytes from the buffer's end): its last 3,000 are read where they belong */
    if (ctx->big) { ws__buf_free(ctx, ctx->big); ctx->big = NULL; }
    big = NULL;
    CHECK(ws__buf_reserve_f(ctx, &big, (size_t)1 << 20, 0, 0));
    if (!big) { ws_ctx_destroy(ctx); ws__sock_close(cs); return; }
    ws__buf_put(ctx, &big);
    big = ctx->big;
    CHECK(big != NULL && big->cap == (size_t)1 << 20);
    na = tp_big_frame(fr, 600000);
    nb = tp_big_frame(fr + na, 440000);
    tp_big_pump(ctx, cs, fr, na + nb - 3000, 3 * 300010 + 600010, &r);
    CHECK(r.got == 3 * 300010 + 600010 && !r.bad);
    CHECK(big != NULL && sc->rx == big && big->len == na + nb - 3000);
    k.reads = 0;
    tp_big_pump(ctx, cs, fr + na + nb - 3000, 3000, 3 * 300010 + 600010 + 440010, &r);
    CHECK(r.got == 3 * 300010 + 600010 + 440010 && !r.bad);
    CHECK(big != NULL && k.reads >= 1 && k.buf[0] == WS__BDATA(big) + na + nb - 3000);
    ws_ctx_destroy(ctx);
    ws__sock_close(cs);
}
/* A ws_io whose read says it got more than the room it was given: the connection ends with
 * WS_ERR_IO, and nothing is taken from past the buffer's end (ASan would say so). */
static void test_transport_read_overcount(void) {
    static tp_rd k;
    ws__sock cs, ss;
    ws_ctx *ctx;
    ws_conn *sc;
    int i;
    sc = tp_rd_open(&ctx, &k, &cs, &ss);
    if (!sc) return;
    CHECK_EQ(ws_conn_count(ctx), 1);
    k.over = 1;
    CHECK_EQ(tp_rd_send(cs, ss, (const uint8_t *)"\x82\x80\0\0\0\0", 6), 0);
    for (i = 0; i < 200 && ws_conn_count(ctx) > 0; i++) (void)ws_poll(ctx, 5);
    CHECK_EQ(ws_conn_count(ctx), 0);
    ws_ctx_destroy(ctx);
    ws__sock_close(cs);
}
#endif

/* ---- a send queue left with the last bytes of a large message, its peer slow: the bytes
 * move to a small buffer and the large one goes back to the ctx (ctx->big, which the next large
 * message reuses and 64 idle passes free), not kept with the connection until the peer reads.
 * Once the queue drains, the connection holds no buffer at all; the ctx's count of buffer
 * bytes (max_memory's) matches the buffers it has. Both roles (a client masks into its queue;
 * a server's queue on a ws_io of the user's is a copy too). ---- */
typedef struct tp_q { size_t hold, got, cap; int again; uint8_t *out; } tp_q;
static ws_result tp_q_write(void *io, const uint8_t *p, size_t n, size_t *put) {
    tp_q *q = (tp_q *)io;
    if (q->hold && q->got >= q->hold) { q->again++; return WS_AGAIN; }   /* the socket is full */
    if (q->hold) n = WS__MIN(n, q->hold - q->got);
    if (q->got < q->cap) memcpy(q->out + q->got, p, WS__MIN(n, q->cap - q->got));   /* (the close frame: counted) */
    q->got += n;
    *put = n;
    return WS_OK;
}
static ws_result tp_q_read(void *io, uint8_t *b, size_t cap, size_t *got) {
    (void)io; (void)b; (void)cap; (void)got;
    return WS_AGAIN;   /* the peer says nothing */
}
static void tp_q_event(ws_conn *c, const ws_event *ev, void *user) { (void)c; (void)ev; (void)user; }
static size_t tp_q_bytes(const ws_ctx *ctx, const ws_conn *c) {   /* what the ctx's buffers are */
    size_t n = 0;
    int i;
    for (i = 0; i < ctx->npool; i++) n += sizeof(ws__buf) + ctx->pool[i]->cap;
    if (ctx->big) n += sizeof(ws__buf) + ctx->big->cap;
    if (c->tx) n += sizeof(ws__buf) + c->tx->cap;
    if (c->rx) n += sizeof(ws__buf) + c->rx->cap;
    if (c->msg) n += sizeof(ws__buf) + c->msg->cap;
    return n;
}
static void test_transport_queue_gives_big_back(void) {
    const size_t n = (size_t)1 << 20, hl = 10;   /* + 4 mask bytes from a client */
    uint8_t *msg = (uint8_t *)malloc(n), *out = (uint8_t *)malloc(n + 14);
    int server, i;
    size_t j, bad;
    if (!msg || !out) { CHECK(!"memory"); free(msg); free(out); return; }
    for (j = 0; j < n; j++) msg[j] = (uint8_t)(j * 7 + (j >> 9));
    for (server = 0; server < 2; server++) {
        size_t total = n + hl + (server ? 0 : 4);
        ws_config cfg;
        ws_engine_opts o;
        ws_io io;
        tp_q q;
        ws_ctx *ctx;
        ws_conn *c = NULL;
        memset(&q, 0, sizeof q);
        q.out = out;
        q.cap = n + 14;
        memset(&cfg, 0, sizeof cfg);
        cfg.on_event = tp_q_event;
        ctx = ws_ctx_create(&cfg);
        if (!ctx) { CHECK(ctx != NULL); break; }
        memset(&io, 0, sizeof io);
        io.read = tp_q_read; io.write = tp_q_write; io.io = &q;
        memset(&o, 0, sizeof o);
        o.server = server;
        o.upgraded = 1;
        o.io = &io;
        CHECK_EQ(ws_conn_adopt(ctx, -1, &o, NULL, &c), WS_OK);
        if (!c) { ws_ctx_destroy(ctx); break; }
        for (i = 0; i < 100 && ws_conn_state(c) != WS_STATE_OPEN; i++) (void)ws_poll(ctx, 0);
        CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
        q.hold = total - 1000;   /* the peer takes all but the last 1000 bytes, then stalls */
        CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, msg, n), WS_OK);
        for (i = 0; i < 100 && !q.again; i++) (void)ws_poll(ctx, 0);
        CHECK(q.again > 0 && q.got == total - 1000);
        CHECK_EQ(ws__buf_used(c->tx), 1000);
        CHECK(c->tx != NULL && c->tx->cap <= WS_POOL_BUF_MAX);   /* not the 1 MiB it was in */
        if (c->tx && c->tx->cap > WS_POOL_BUF_MAX)
            printf("  %s: %lu bytes wait in a %lu-byte queue\n", server ? "server" : "client",
                   (unsigned long)ws__buf_used(c->tx), (unsigned long)c->tx->cap);
        CHECK_EQ(ctx->mem_used, tp_q_bytes(ctx, c));
        q.hold = 0;   /* the peer reads again */
        ws_conn_io_ready(c, WS_POLLOUT);
        for (i = 0; i < 100 && q.got < total; i++) (void)ws_poll(ctx, 0);
        CHECK_EQ(q.got, total);
        CHECK(c->tx == NULL && c->rx == NULL && c->msg == NULL);   /* drained: it holds none */
        CHECK_EQ(ctx->mem_used, tp_q_bytes(ctx, c));
        /* every byte arrived, in order: the header, then the payload (a client's masked) */
        CHECK_EQ(out[0], 0x82);
        CHECK_EQ(out[1], (server ? 0 : 0x80) | 127);
        for (j = 0, bad = 0; j < n; j++)
            bad += (uint8_t)(out[total - n + j] ^ (server ? 0 : out[hl + (j & 3)])) != msg[j];
        CHECK_EQ(bad, 0);
        ws_ctx_destroy(ctx);
    }
    free(msg);
    free(out);
}

/* An upgraded stream adopted with its peer's frames already in the socket when the loop first
 * looks (both poll() and epoll): OPEN first, then the message, then the peer's close; the bytes
 * are frames, never an HTTP head (once read as one under poll(): no OPEN, no CLOSE). */
typedef struct tp_early { int order[8], n, msg_ok, closes, errors; unsigned code; } tp_early;
static void tp_early_event(ws_conn *c, const ws_event *ev, void *user) {
    tp_early *e = (tp_early *)ws_conn_user(c);
    (void)user;
    if (e->n < 8) e->order[e->n++] = (int)ev->type;
    if (ev->type == WS_EV_MESSAGE) e->msg_ok = ev->len == 2 && memcmp(ev->data, "hi", 2) == 0;
    if (ev->type == WS_EV_ERROR) e->errors++;
    if (ev->type == WS_EV_CLOSE) { e->closes++; e->code = ev->close_code; }
}
static void test_transport_adopt_upgraded_early_frames(void) {
    /* a masked text frame "hi" and a masked close 1000, as a client sends them */
    static const uint8_t frames[] = { 0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2,
                                      0x88, 0x82, 5, 6, 7, 8, 0x03 ^ 5, 0xE8 ^ 6 };
    tp_early e;
    ws__sock cs, ss;
    ws_engine_opts o;
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *sc = NULL;
    uint8_t reply[16];
    int i;
    memset(&e, 0, sizeof e);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = tp_early_event;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    if (tp_tcp_pair(&cs, &ss) != 0) { CHECK(!"a loopback TCP connection"); ws_ctx_destroy(ctx); return; }
    CHECK_EQ((int)send(cs, (const char *)frames, (int)sizeof frames, 0), (int)sizeof frames);
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.upgraded = 1;
    CHECK_EQ(ws_conn_adopt(ctx, (intptr_t)ss, &o, &e, &sc), WS_OK);
    for (i = 0; i < 400 && !e.closes; i++) (void)ws_poll(ctx, 5);
    CHECK_EQ(e.closes, 1);
    CHECK_EQ(e.errors, 0);
    CHECK(e.n >= 3 && e.order[0] == WS_EV_OPEN && e.order[1] == WS_EV_MESSAGE);
    CHECK(e.msg_ok);
    CHECK_EQ(e.code, 1000);
    CHECK((int)recv(cs, (char *)reply, (int)sizeof reply, 0) >= 4 && reply[0] == 0x88);   /* the close echoed */
    ws_ctx_destroy(ctx);
    ws__sock_close(cs);
}

static void suite_transport(void) {
    RUN(test_transport_io_handshake);
    RUN(test_transport_io_partial_writes);
    RUN(test_transport_io_nothing_in_clear);
    RUN(test_transport_io_handshake_fails);
    RUN(test_transport_wrap_tcp);
    RUN(test_transport_tcp_direct_send);
    RUN_POSIX(test_transport_frame_rest_read_on, "poll() and MSG_PEEK");
    RUN_POSIX(test_transport_large_frame_in_big, "poll() and MSG_PEEK");
    RUN_POSIX(test_transport_read_overcount, "poll() and MSG_PEEK");
    RUN(test_transport_adopt_upgraded_early_frames);
    RUN(test_transport_queue_gives_big_back);
}
