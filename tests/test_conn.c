/* test_conn.c - the protocol engine (>>conn) driven byte by byte without sockets: a conn made by
 * ws__conn_new has no socket, so everything it sends stays in c->tx, where these tests parse it.
 * Each rule is checked by the close code the engine queues, the events it fires and their order
 * (every test ends in cn_end, which checks that CLOSE fires exactly once, last, after ERROR). */

/* ---- recorded events ---- */
#define CN_MAX_EV 64
typedef struct cn_ev {
    const void *conn;
    int type, opcode, fin, clean, http_status;
    size_t len;
    uint32_t sum;              /* FNV-1a of all ev->data bytes */
    uint8_t data[512];         /* the first bytes of ev->data */
    unsigned close_code;
    char reason[128];
    ws_result result;
} cn_ev;
static cn_ev cn_evs[CN_MAX_EV];
static int cn_nev, cn_overflow;
static int cn_echo;            /* 1: the callback sends each message back, then closes on "bye" */
static ws_result cn_echo_rc[8];
static int cn_necho;

static uint32_t cn_fnv(const uint8_t *p, size_t n) {
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static void cn_on_event(ws_conn *c, const ws_event *ev, void *user) {
    cn_ev *e;
    (void)user;
    if (cn_nev >= CN_MAX_EV) { cn_overflow = 1; return; }
    e = &cn_evs[cn_nev++];
    memset(e, 0, sizeof *e);
    e->conn = c;
    e->type = (int)ev->type;
    e->opcode = ev->opcode;
    e->fin = ev->fin;
    e->clean = ev->clean;
    e->http_status = ev->http_status;
    e->len = ev->len;
    if (ev->len) {
        memcpy(e->data, ev->data, WS__MIN(ev->len, sizeof e->data));
        e->sum = cn_fnv(ev->data, ev->len);
    }
    e->close_code = ev->close_code;
    strncpy(e->reason, ev->reason ? ev->reason : "(null)", sizeof e->reason - 1);
    e->result = ev->result;
    if (cn_echo && ev->type == WS_EV_MESSAGE) {
        ws_result rc = ws_conn_send(c, ev->opcode, ev->data, ev->len);
        if (cn_necho < 8) cn_echo_rc[cn_necho++] = rc;
        if (ev->len == 3 && memcmp(ev->data, "bye", 3) == 0)
            CHECK_EQ(ws_conn_close(c, 4001, "done"), WS_OK);
    }
}

static int cn_count(int type) {
    int i, n = 0;
    for (i = 0; i < cn_nev; i++) n += cn_evs[i].type == type;
    return n;
}
static const cn_ev *cn_find(int type, int nth) {   /* the nth (0-based) event of this type */
    int i;
    for (i = 0; i < cn_nev; i++)
        if (cn_evs[i].type == type && nth-- == 0) return &cn_evs[i];
    return NULL;
}
static const cn_ev *cn_last(void) { return cn_nev ? &cn_evs[cn_nev - 1] : NULL; }

/* ---- contexts and connections ---- */
#define CN_T0 1000000
static ws_ctx *cn_ctx(const ws_config *cfg) {
    ws_config c;
    ws_ctx *ctx;
    if (cfg) c = *cfg; else memset(&c, 0, sizeof c);
    c.on_event = cn_on_event;
    cn_nev = 0;
    cn_overflow = 0;
    cn_echo = 0;
    cn_necho = 0;
    ctx = ws_ctx_create(&c);
    if (ctx) ctx->now = CN_T0;   /* a fixed clock: timers are deterministic */
    return ctx;
}

/* Destroys ctx, then checks the event rules for every connection that had events: at most one
 * OPEN (first), at most one ERROR (before CLOSE), exactly one CLOSE and nothing after it. */
static void cn_end(ws_ctx *ctx) {
    int i, j;
    ws_ctx_destroy(ctx);
    CHECK(!cn_overflow);
    for (i = 0; i < cn_nev; i++) {
        const void *c = cn_evs[i].conn;
        int seen = 0, open = 0, err = 0, close = 0, after_close = 0, err_after_close = 0;
        for (j = 0; j < i; j++) seen |= cn_evs[j].conn == c;
        if (seen) continue;
        for (j = i; j < cn_nev; j++) {
            if (cn_evs[j].conn != c) continue;
            if (close) { after_close++; if (cn_evs[j].type == WS_EV_ERROR) err_after_close++; }
            if (cn_evs[j].type == WS_EV_OPEN) { CHECK_EQ(err + close, 0); open++; }
            if (cn_evs[j].type == WS_EV_ERROR) err++;
            if (cn_evs[j].type == WS_EV_CLOSE) close++;
        }
        CHECK(open <= 1);
        CHECK(err <= 1);
        CHECK_EQ(close, 1);
        CHECK_EQ(after_close, 0);
        CHECK_EQ(err_after_close, 0);
    }
}

static ws_conn *cn_open(ws_ctx *ctx, int server) {
    ws_conn *c = ws__conn_new(ctx, server);
    c->state = WS__HANDSHAKE;
    ws__opened(c);
    return c;
}

/* Encodes one frame; masked frames use the RFC 6455 5.7 mask. Returns its length. */
static size_t cn_frame(uint8_t *out, int fin, int rsv, int op, int masked, const void *p, size_t n) {
    static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
    ws_frame f;
    memset(&f, 0, sizeof f);
    f.fin = (uint8_t)fin;
    f.rsv = (uint8_t)rsv;
    f.opcode = (uint8_t)op;
    f.masked = (uint8_t)masked;
    memcpy(f.mask, mask, 4);
    f.payload_len = n;
    if (ws_frame_encode(&f, out) != WS_OK) return 0;
    if (n) memcpy(out + f.header_len, p, n);
    if (masked) ws_mask(out + f.header_len, n, f.mask, 0);
    return f.header_len + n;
}
/* A frame as c's peer sends it: masked towards a server, unmasked towards a client. */
static size_t cn_pframe(const ws_conn *c, uint8_t *out, int fin, int op, const void *p, size_t n) {
    return cn_frame(out, fin, 0, op, (c->flags & WS__F_SERVER) != 0, p, n);
}

/* mode 0: whole; -1: byte by byte; k > 0: two feeds split at k. */
static void cn_feed(ws_conn *c, const uint8_t *p, size_t n, long mode) {
    size_t i, k = mode > 0 ? (size_t)mode : 0;
    if (mode < 0) {
        for (i = 0; i < n; i++) CHECK_EQ(ws__conn_feed(c, p + i, 1), WS_OK);
    } else if (k > 0 && k < n) {
        CHECK_EQ(ws__conn_feed(c, p, k), WS_OK);
        CHECK_EQ(ws__conn_feed(c, p + k, n - k), WS_OK);
    } else {
        CHECK_EQ(ws__conn_feed(c, p, n), WS_OK);
    }
}
static void cn_feed_frame(ws_conn *c, int fin, int op, const void *p, size_t n) {
    static uint8_t buf[256 + 14];
    size_t len;
    if (n > 256) { CHECK(0); return; }
    len = cn_pframe(c, buf, fin, op, p, n);
    CHECK_EQ(ws__conn_feed(c, buf, len), WS_OK);
}

static const uint8_t *cn_memmem(const uint8_t *h, size_t hn, const char *needle, size_t n) {
    size_t i;
    for (i = 0; n <= hn && i <= hn - n; i++)
        if (memcmp(h + i, needle, n) == 0) return h + i;
    return NULL;
}

static size_t cn_tx_used(const ws_conn *c) { return ws__buf_used(c->tx); }
static void cn_tx_drain(ws_conn *c) { if (c->tx) c->tx->off = c->tx->len; }
static const char *cn_tx_str(const ws_conn *c, char *out, size_t cap) {  /* tx as a string */
    size_t n = WS__MIN(cn_tx_used(c), cap - 1);
    if (n) memcpy(out, WS__BDATA(c->tx) + c->tx->off, n);
    out[n] = '\0';
    return out;
}

/* Pops the next frame c queued: header into f, unmasked payload into pl (up to cap bytes).
 * 0 if no whole frame is queued. Any RSV bits and either masking are accepted. */
static int cn_pop(ws_conn *c, ws_frame *f, uint8_t *pl, size_t cap, size_t *n) {
    uint8_t *p;
    size_t avail, k;
    if (!c->tx) return 0;
    p = WS__BDATA(c->tx) + c->tx->off;
    avail = ws__buf_used(c->tx);
    if (ws_frame_parse(p, avail, WS_PARSE_RSV_MASK, f, NULL, NULL) != WS_OK) return 0;
    if (avail - f->header_len < f->payload_len) return 0;
    k = (size_t)WS__MIN(f->payload_len, (uint64_t)cap);
    memcpy(pl, p + f->header_len, k);
    if (f->masked) ws_mask(pl, k, f->mask, 0);
    *n = (size_t)f->payload_len;
    c->tx->off += f->header_len + (size_t)f->payload_len;
    return 1;
}
/* Pops the next frame, which must be a close: its code (0 for an empty payload), -1 if the next
 * frame is not a close or nothing is queued. reason (may be NULL) gets the reason text. */
static int cn_pop_close(ws_conn *c, char reason[126]) {
    ws_frame f;
    uint8_t pl[126];
    size_t n = 0;
    if (reason) reason[0] = '\0';
    if (!cn_pop(c, &f, pl, sizeof pl, &n) || f.opcode != WS_OP_CLOSE || !f.fin || n == 1 || n > 125)
        return -1;
    if (f.masked != !(c->flags & WS__F_SERVER)) return -1;   /* clients mask, servers don't */
    if (reason && n > 2) { memcpy(reason, pl + 2, n - 2); reason[n - 2] = '\0'; }
    return n ? (pl[0] << 8) | pl[1] : 0;
}

/* ======================================================================================== */
/* ---- data frames ---- */
static void test_conn_data_whole(void) {
    static uint8_t big[70000], buf[70000 + 14];
    int server;
    long mode;
    size_t i, n;
    for (i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7 + (i >> 8));
    for (server = 0; server <= 1; server++) {
        for (mode = -1; mode <= 0; mode++) {
            ws_ctx *ctx = cn_ctx(NULL);
            ws_conn *c = cn_open(ctx, server);
            n = cn_pframe(c, buf, 1, WS_OP_TEXT, "Hello", 5);
            CHECK_EQ(n, 5 + (server ? 6 : 2));
            cn_feed(c, buf, n, mode);
            n = cn_pframe(c, buf, 1, WS_OP_BINARY, big, 200);     /* 16-bit length */
            cn_feed(c, buf, n, mode);
            n = cn_pframe(c, buf, 1, WS_OP_BINARY, big, sizeof big);  /* 64-bit length */
            cn_feed(c, buf, n, mode);
            CHECK_EQ(cn_nev, 4);
            CHECK_EQ(cn_evs[0].type, WS_EV_OPEN);
            CHECK_EQ(cn_evs[1].type, WS_EV_MESSAGE);
            CHECK_EQ(cn_evs[1].opcode, WS_OP_TEXT);
            CHECK_EQ(cn_evs[1].fin, 1);
            CHECK_EQ(cn_evs[1].len, 5);
            CHECK_MEM(cn_evs[1].data, "Hello", 5);
            CHECK_EQ(cn_evs[2].opcode, WS_OP_BINARY);
            CHECK_EQ(cn_evs[2].len, 200);
            CHECK_MEM(cn_evs[2].data, big, 200);
            CHECK_EQ(cn_evs[3].opcode, WS_OP_BINARY);
            CHECK_EQ(cn_evs[3].len, sizeof big);
            CHECK_EQ(cn_evs[3].sum, cn_fnv(big, sizeof big));
            CHECK_EQ(cn_tx_used(c), 0);            /* nothing to answer */
            CHECK_EQ(c->state, WS__OPEN);
            CHECK(c->rx == NULL);                  /* idle: the buffer went back */
            cn_end(ctx);
        }
    }
}

/* A big text frame after a small one, arriving in chunks: the receive buffer is compacted and
 * grown while the payload is half unmasked and half UTF-8-checked. */
static void test_conn_big_text_chunks(void) {
    static uint8_t text[40000], in[40100];
    size_t i, n, chunk;
    int server;
    for (i = 0; i < sizeof text; i += 2) { text[i] = 0xc3; text[i + 1] = (uint8_t)(0xa0 + i % 32); }
    for (server = 0; server <= 1; server++) {
        for (chunk = 997; chunk <= 16385; chunk += 15388) {
            ws_ctx *ctx = cn_ctx(NULL);
            ws_conn *c = cn_open(ctx, server);
            n = cn_pframe(c, in, 1, WS_OP_BINARY, "0123456789", 10);
            n += cn_pframe(c, in + n, 1, WS_OP_TEXT, text, sizeof text);
            n += cn_pframe(c, in + n, 1, WS_OP_TEXT, "end", 3);
            for (i = 0; i < n; i += chunk) CHECK_EQ(ws__conn_feed(c, in + i, WS__MIN(chunk, n - i)), WS_OK);
            CHECK_EQ(cn_count(WS_EV_MESSAGE), 3);
            if (cn_nev == 4) {
                CHECK_EQ(cn_evs[2].len, sizeof text);
                CHECK_EQ(cn_evs[2].sum, cn_fnv(text, sizeof text));
                CHECK_EQ(cn_evs[3].len, 3);
                CHECK_MEM(cn_evs[3].data, "end", 3);
            }
            CHECK_EQ(cn_count(WS_EV_ERROR), 0);
            CHECK(c->rx == NULL);
            cn_end(ctx);
        }
    }
}

/* The callback answers from inside the event (data borrowed from the receive buffer). */
static void test_conn_echo_from_callback(void) {
    int server;
    for (server = 0; server <= 1; server++) {
        ws_ctx *ctx = cn_ctx(NULL);
        ws_conn *c = cn_open(ctx, server);
        uint8_t in[128], pl[16];
        size_t n, len = 0;
        ws_frame f;
        cn_echo = 1;
        n = cn_pframe(c, in, 1, WS_OP_TEXT, "one", 3);
        n += cn_pframe(c, in + n, 0, WS_OP_BINARY, "t", 1);
        n += cn_pframe(c, in + n, 1, WS_OP_CONT, "wo", 2);
        n += cn_pframe(c, in + n, 1, WS_OP_TEXT, "bye", 3);
        n += cn_pframe(c, in + n, 1, WS_OP_TEXT, "after", 5);  /* still delivered: no close yet */
        cn_feed(c, in, n, 0);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 4);
        CHECK_EQ(cn_necho, 4);
        CHECK_EQ(cn_echo_rc[0], WS_OK);
        CHECK_EQ(cn_echo_rc[1], WS_OK);
        CHECK_EQ(cn_echo_rc[2], WS_OK);
        CHECK_EQ(cn_echo_rc[3], WS_ERR_CLOSED);     /* we sent our close */
        CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_TEXT && len == 3);
        CHECK_MEM(pl, "one", 3);
        CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_BINARY && len == 3);
        CHECK_MEM(pl, "two", 3);
        CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_TEXT && len == 3);
        CHECK_MEM(pl, "bye", 3);
        {
            char reason[126];
            CHECK_EQ(cn_pop_close(c, reason), 4001);
            CHECK_STR(reason, "done");
        }
        CHECK_EQ(cn_tx_used(c), 0);                 /* "after": no echo once closing */
        CHECK_EQ(c->state, WS__CLOSING);
        cn_end(ctx);
    }
}

static void test_conn_zero_length(void) {
    int server;
    for (server = 0; server <= 1; server++) {
        ws_ctx *ctx = cn_ctx(NULL);
        ws_conn *c = cn_open(ctx, server);
        cn_feed_frame(c, 1, WS_OP_TEXT, "", 0);
        cn_feed_frame(c, 1, WS_OP_BINARY, "", 0);
        cn_feed_frame(c, 0, WS_OP_TEXT, "", 0);    /* fragmented, all empty */
        cn_feed_frame(c, 0, WS_OP_CONT, "", 0);
        cn_feed_frame(c, 1, WS_OP_CONT, "", 0);
        cn_feed_frame(c, 0, WS_OP_BINARY, "", 0);  /* empty first fragment, then data */
        cn_feed_frame(c, 1, WS_OP_CONT, "xy", 2);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 4);
        CHECK_EQ(cn_evs[1].opcode, WS_OP_TEXT);   CHECK_EQ(cn_evs[1].len, 0);
        CHECK_EQ(cn_evs[2].opcode, WS_OP_BINARY); CHECK_EQ(cn_evs[2].len, 0);
        CHECK_EQ(cn_evs[3].opcode, WS_OP_TEXT);   CHECK_EQ(cn_evs[3].len, 0);
        CHECK_EQ(cn_evs[3].fin, 1);
        CHECK_EQ(cn_evs[4].opcode, WS_OP_BINARY); CHECK_EQ(cn_evs[4].len, 2);
        CHECK_MEM(cn_evs[4].data, "xy", 2);
        CHECK_EQ(cn_tx_used(c), 0);
        cn_end(ctx);
    }
}

/* TEXT "Hel", PING "p", CONT "lo ", PONG "q", CONT "wörld" (fin): reassembled at every split. */
static size_t cn_fragmented_input(const ws_conn *c, uint8_t *buf) {
    size_t n = 0;
    n += cn_pframe(c, buf + n, 0, WS_OP_TEXT, "Hel", 3);
    n += cn_pframe(c, buf + n, 1, WS_OP_PING, "p", 1);
    n += cn_pframe(c, buf + n, 0, WS_OP_CONT, "lo ", 3);
    n += cn_pframe(c, buf + n, 1, WS_OP_PONG, "q", 1);
    n += cn_pframe(c, buf + n, 1, WS_OP_CONT, "w\xc3\xb6rld", 6);
    return n;
}

static void test_conn_fragmented(void) {
    uint8_t buf[128], pl[8];
    size_t n = 0, len = 0;
    long mode;
    int server;
    ws_frame f;
    for (server = 0; server <= 1; server++) {
        for (mode = -1; mode < 60; mode++) {
            ws_ctx *ctx = cn_ctx(NULL);
            ws_conn *c = cn_open(ctx, server);
            n = cn_fragmented_input(c, buf);
            if (mode > 0 && (size_t)mode >= n) { cn_end(ctx); break; }
            cn_feed(c, buf, n, mode);
            CHECK_EQ(cn_nev, 4);
            CHECK_EQ(cn_evs[1].type, WS_EV_PING);
            CHECK_EQ(cn_evs[1].len, 1);
            CHECK_EQ(cn_evs[1].data[0], 'p');
            CHECK_EQ(cn_evs[2].type, WS_EV_PONG);
            CHECK_EQ(cn_evs[2].data[0], 'q');
            CHECK_EQ(cn_evs[3].type, WS_EV_MESSAGE);
            CHECK_EQ(cn_evs[3].opcode, WS_OP_TEXT);
            CHECK_EQ(cn_evs[3].fin, 1);
            CHECK_EQ(cn_evs[3].len, 12);
            CHECK_MEM(cn_evs[3].data, "Hello w\xc3\xb6rld", 12);
            CHECK(cn_pop(c, &f, pl, sizeof pl, &len));   /* the automatic pong */
            CHECK_EQ(f.opcode, WS_OP_PONG);
            CHECK_EQ(len, 1);
            CHECK_EQ(pl[0], 'p');
            CHECK_EQ(cn_tx_used(c), 0);
            CHECK(c->msg == NULL);
            CHECK_EQ(c->msg_op, 0);
            cn_end(ctx);
        }
    }
}

static void test_conn_fragment_mode(void) {
    uint8_t buf[128];
    size_t n;
    int how;
    for (how = 0; how < 3; how++) {   /* cfg.fragments; ws_conn_set_fragments(1); override to 0 */
        ws_config cfg;
        ws_ctx *ctx;
        ws_conn *c;
        memset(&cfg, 0, sizeof cfg);
        cfg.fragments = how != 1;
        ctx = cn_ctx(&cfg);
        c = ws__conn_new(ctx, 1);
        c->state = WS__HANDSHAKE;
        if (how == 1) ws_conn_set_fragments(c, 1);
        if (how == 2) ws_conn_set_fragments(c, 0);
        ws__opened(c);
        n = cn_fragmented_input(c, buf);
        cn_feed(c, buf, n, -1);
        if (how == 2) {
            CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
            CHECK_EQ(cn_find(WS_EV_MESSAGE, 0)->len, 12);
        } else {
            const cn_ev *m0 = cn_find(WS_EV_MESSAGE, 0), *m1 = cn_find(WS_EV_MESSAGE, 1),
                        *m2 = cn_find(WS_EV_MESSAGE, 2);
            CHECK_EQ(cn_count(WS_EV_MESSAGE), 3);
            CHECK_EQ(cn_nev, 6);
            if (m0 && m1 && m2) {
                CHECK_EQ(m0->opcode, WS_OP_TEXT); CHECK_EQ(m0->fin, 0);
                CHECK_EQ(m0->len, 3); CHECK_MEM(m0->data, "Hel", 3);
                CHECK_EQ(m1->opcode, WS_OP_TEXT); CHECK_EQ(m1->fin, 0);
                CHECK_EQ(m1->len, 3); CHECK_MEM(m1->data, "lo ", 3);
                CHECK_EQ(m2->opcode, WS_OP_TEXT); CHECK_EQ(m2->fin, 1);
                CHECK_EQ(m2->len, 6); CHECK_MEM(m2->data, "w\xc3\xb6rld", 6);
            }
            cn_tx_drain(c);                                 /* the pong */
            /* a UTF-8 character split across fragments is delivered as it comes */
            cn_feed_frame(c, 0, WS_OP_TEXT, "\xe2", 1);
            cn_feed_frame(c, 1, WS_OP_CONT, "\x82\xac", 2);
            CHECK_EQ(cn_count(WS_EV_MESSAGE), 5);
            CHECK_EQ(cn_last()->fin, 1);
            CHECK_EQ(cn_last()->opcode, WS_OP_TEXT);
            /* ... but a message that ends inside one still fails */
            cn_feed_frame(c, 0, WS_OP_TEXT, "a", 1);
            cn_feed_frame(c, 1, WS_OP_CONT, "\xe2\x82", 2);
            CHECK_EQ(cn_count(WS_EV_MESSAGE), 6);
            CHECK_EQ(cn_pop_close(c, NULL), 1007);
        }
        cn_end(ctx);
    }
}

/* ---- protocol violations: each one fails the connection with a close code ---- */
/* Opens a conn, feeds in (whole, byte by byte, and split in two at a few places) and checks
 * the close code queued, the ERROR event, that no message got out, and that later frames are
 * ignored. msgs = messages expected before the failure. */
static void cn_expect_fail(int server, const uint8_t *in, size_t n, int code, ws_result rc, int msgs) {
    long mode;
    for (mode = -1; mode <= (long)n && mode < 24; mode++) {
        ws_ctx *ctx = cn_ctx(NULL);
        ws_conn *c = cn_open(ctx, server);
        const cn_ev *e;
        char reason[126];
        cn_feed(c, in, n, mode);
        CHECK_EQ(cn_pop_close(c, reason), code);
        CHECK(reason[0] != '\0');                 /* the why, for the peer's logs */
        CHECK_EQ(cn_tx_used(c), 0);                /* and nothing else */
        CHECK_EQ(cn_count(WS_EV_MESSAGE), msgs);
        CHECK_EQ(cn_count(WS_EV_ERROR), 1);
        e = cn_find(WS_EV_ERROR, 0);
        if (e) CHECK_EQ(e->result, rc);
        CHECK_EQ(c->state, WS__CLOSING);
        CHECK(c->flags & WS__F_SHUT);
        CHECK(c->rx == NULL);                      /* no more input is kept */
        cn_feed_frame(c, 1, WS_OP_TEXT, "late", 4);
        cn_feed_frame(c, 1, WS_OP_PING, "late", 4);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), msgs);
        CHECK_EQ(cn_count(WS_EV_PING), 0);
        CHECK_EQ(cn_tx_used(c), 0);
        ws__finish(c);                             /* the peer closes TCP */
        e = cn_last();
        CHECK(e && e->type == WS_EV_CLOSE);
        if (e) {
            CHECK_EQ(e->close_code, code);
            CHECK_EQ(e->result, rc);
            CHECK_EQ(e->clean, 0);
        }
        CHECK_EQ(cn_nev, msgs + 3);                /* OPEN, messages, ERROR, CLOSE */
        cn_end(ctx);
    }
}

static void test_conn_bad_continuation(void) {
    uint8_t b[64];
    size_t n;
    int server;
    for (server = 0; server <= 1; server++) {
        n = cn_frame(b, 1, 0, WS_OP_CONT, server, "abc", 3);    /* nothing to continue */
        cn_expect_fail(server, b, n, 1002, WS_ERR_PROTOCOL, 0);
        n = cn_frame(b, 1, 0, WS_OP_TEXT, server, "ok", 2);     /* a whole message ended it */
        n += cn_frame(b + n, 0, 0, WS_OP_CONT, server, "x", 1);
        cn_expect_fail(server, b, n, 1002, WS_ERR_PROTOCOL, 1);
        n = cn_frame(b, 0, 0, WS_OP_TEXT, server, "ab", 2);     /* new TEXT inside a message */
        n += cn_frame(b + n, 1, 0, WS_OP_TEXT, server, "cd", 2);
        cn_expect_fail(server, b, n, 1002, WS_ERR_PROTOCOL, 0);
        n = cn_frame(b, 0, 0, WS_OP_BINARY, server, "ab", 2);   /* new BINARY inside one */
        n += cn_frame(b + n, 0, 0, WS_OP_CONT, server, "cd", 2);
        n += cn_frame(b + n, 1, 0, WS_OP_BINARY, server, "ef", 2);
        cn_expect_fail(server, b, n, 1002, WS_ERR_PROTOCOL, 0);
    }
}

static void test_conn_bad_header(void) {
    static const int reserved[] = { 3, 4, 5, 6, 7, 11, 12, 13, 14, 15 };
    uint8_t b[300], big[126];
    size_t n, i;
    int server;
    memset(big, 'x', sizeof big);
    for (server = 0; server <= 1; server++) {
        for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
            n = cn_frame(b, 1, 0, reserved[i], server, "abc", 3);
            cn_expect_fail(server, b, n, 1002, WS_ERR_PROTOCOL, 0);
        }
        for (i = 1; i <= 4; i <<= 1) {   /* RSV3, RSV2, RSV1: no extension was agreed */
            n = cn_frame(b, 1, (int)i, WS_OP_TEXT, server, "abc", 3);
            cn_expect_fail(server, b, n, 1002, WS_ERR_PROTOCOL, 0);
        }
        n = cn_frame(b, 1, 0, WS_OP_TEXT, !server, "abc", 3);   /* masking wrong for the role */
        cn_expect_fail(server, b, n, 1002, WS_ERR_PROTOCOL, 0);
        n = cn_frame(b, 1, 0, WS_OP_PING, server, big, 126);    /* control frame > 125 */
        cn_expect_fail(server, b, 4, 1002, WS_ERR_PROTOCOL, 0); /* header alone: fails at once */
        cn_expect_fail(server, b, n, 1002, WS_ERR_PROTOCOL, 0);
        n = cn_frame(b, 0, 0, WS_OP_PING, server, "p", 1);      /* fragmented control frames */
        cn_expect_fail(server, b, n, 1002, WS_ERR_PROTOCOL, 0);
        n = cn_frame(b, 0, 0, WS_OP_CLOSE, server, "\x03\xe8", 2);
        cn_expect_fail(server, b, n, 1002, WS_ERR_PROTOCOL, 0);
        n = cn_frame(b, 0, 0, WS_OP_TEXT, server, "ab", 2);     /* ... also inside a message */
        n += cn_frame(b + n, 0, 0, WS_OP_PONG, server, "", 0);
        cn_expect_fail(server, b, n, 1002, WS_ERR_PROTOCOL, 0);
    }
}

/* ---- UTF-8 ---- */
static void test_conn_utf8(void) {
    uint8_t b[300];
    size_t n;
    int server;
    for (server = 0; server <= 1; server++) {
        n = cn_frame(b, 1, 0, WS_OP_TEXT, server, "ab\xff", 3);
        cn_expect_fail(server, b, n, 1007, WS_ERR_UTF8, 0);
        n = cn_frame(b, 1, 0, WS_OP_TEXT, server, "\xed\xa0\x80", 3);   /* a surrogate */
        cn_expect_fail(server, b, n, 1007, WS_ERR_UTF8, 0);
        n = cn_frame(b, 1, 0, WS_OP_TEXT, server, "a\xe2\x82", 3);      /* ends inside a char */
        cn_expect_fail(server, b, n, 1007, WS_ERR_UTF8, 0);
        n = cn_frame(b, 0, 0, WS_OP_TEXT, server, "a\xe2", 2);          /* ... of a fragment */
        n += cn_frame(b + n, 1, 0, WS_OP_CONT, server, "\x82", 1);
        cn_expect_fail(server, b, n, 1007, WS_ERR_UTF8, 0);
        n = cn_frame(b, 0, 0, WS_OP_TEXT, server, "\xe2", 1);           /* split char: fine, */
        n += cn_frame(b + n, 0, 0, WS_OP_CONT, server, "\x82\xac", 2);
        n += cn_frame(b + n, 1, 0, WS_OP_CONT, server, "", 0);
        n += cn_frame(b + n, 1, 0, WS_OP_TEXT, server, "\xc0\xaf", 2);  /* then an overlong */
        cn_expect_fail(server, b, n, 1007, WS_ERR_UTF8, 1);
        n = cn_frame(b, 1, 0, WS_OP_BINARY, server, "\xff\xfe", 2);     /* binary: any bytes */
        n += cn_frame(b + n, 1, 0, WS_OP_TEXT, server, "\xf4\x90\x80\x80", 4);  /* > U+10FFFF */
        cn_expect_fail(server, b, n, 1007, WS_ERR_UTF8, 1);
    }
}

/* Fail fast: the close goes out at the first bad fragment, and inside a frame whose payload
 * has only partly arrived. */
static void test_conn_utf8_fail_fast(void) {
    uint8_t b[300];
    size_t n, i;
    int server;
    for (server = 0; server <= 1; server++) {
        ws_ctx *ctx = cn_ctx(NULL);
        ws_conn *c = cn_open(ctx, server);
        cn_feed_frame(c, 0, WS_OP_TEXT, "good", 4);
        CHECK_EQ(cn_tx_used(c), 0);
        cn_feed_frame(c, 0, WS_OP_CONT, "b\xc3\x28", 3);   /* bad, and not the last fragment */
        CHECK_EQ(cn_pop_close(c, NULL), 1007);
        CHECK_EQ(cn_count(WS_EV_ERROR), 1);
        cn_feed_frame(c, 1, WS_OP_CONT, "end", 3);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 0);
        CHECK_EQ(cn_tx_used(c), 0);
        cn_end(ctx);

        ctx = cn_ctx(NULL);
        c = cn_open(ctx, server);
        memset(b, 0, sizeof b);
        memcpy(b + 100, "\xf8", 1);                   /* byte 100 of 200 can't be UTF-8 */
        for (i = 0; i < 200; i++) if (i != 100) b[i] = 'a';
        {
            uint8_t fr[220];
            n = cn_frame(fr, 1, 0, WS_OP_TEXT, server, b, 200);
            for (i = 0; i < n; i++) {
                CHECK_EQ(ws__conn_feed(c, fr + i, 1), WS_OK);
                if (cn_tx_used(c)) break;
            }
            CHECK_EQ(i, n - 200 + 100);               /* exactly at the bad byte */
            CHECK_EQ(cn_pop_close(c, NULL), 1007);
            CHECK_EQ(cn_count(WS_EV_ERROR), 1);
            CHECK_EQ(c->state, WS__CLOSING);
        }
        cn_end(ctx);
    }
}

/* ---- size limits: 1009 as soon as the header shows it ---- */
static void test_conn_limits(void) {
    ws_config cfg;
    uint8_t b[300], pay[200];
    size_t n;
    int server, which;
    memset(pay, 'z', sizeof pay);
    for (server = 0; server <= 1; server++) {
        for (which = 0; which < 4; which++) {
            ws_ctx *ctx;
            ws_conn *c;
            memset(&cfg, 0, sizeof cfg);
            if (which == 0) cfg.max_frame = 100;
            else cfg.max_message = 100;
            ctx = cn_ctx(&cfg);
            c = cn_open(ctx, server);
            cn_feed_frame(c, 1, WS_OP_BINARY, pay, 100);   /* at the limit: fine */
            CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
            if (which == 2) {       /* 60 + 60 in fragments: the second header fails */
                cn_feed_frame(c, 0, WS_OP_TEXT, pay, 60);
                n = cn_pframe(c, b, 1, WS_OP_CONT, pay, 60);
            } else if (which == 3) { /* a 2^62-byte frame: no allocation is tried */
                n = cn_pframe(c, b, 1, WS_OP_BINARY, pay, 0);
                b[1] = (uint8_t)((b[1] & 0x80) | 127);
                memset(b + 2, 0, 8);
                b[2] = 0x40;
                if (server) memset(b + 10, 1, 4);
                n = server ? 14 : 10;
            } else {
                n = cn_pframe(c, b, 1, WS_OP_BINARY, pay, 101);
            }
            if (which != 3) n = server ? 6 : 2;            /* feed the header only */
            CHECK_EQ(ws__conn_feed(c, b, n), WS_OK);
            CHECK_EQ(cn_pop_close(c, NULL), 1009);
            CHECK_EQ(cn_count(WS_EV_ERROR), 1);
            if (cn_find(WS_EV_ERROR, 0)) CHECK_EQ(cn_find(WS_EV_ERROR, 0)->result, WS_ERR_TOO_BIG);
            CHECK(c->rx == NULL);                          /* no payload is buffered */
            if (which != 2) CHECK(c->msg == NULL);
            CHECK_EQ(ws__conn_feed(c, pay, sizeof pay), WS_OK);  /* the payload: dropped */
            CHECK(c->rx == NULL);
            CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
            cn_end(ctx);
        }
    }
}

/* ---- ping and pong ---- */
static void test_conn_ping_pong(void) {
    uint8_t pay[125], pl[126];
    size_t i, len = 0;
    int server, noauto;
    ws_frame f;
    for (i = 0; i < sizeof pay; i++) pay[i] = (uint8_t)(i * 3);
    for (server = 0; server <= 1; server++) {
        for (noauto = 0; noauto <= 1; noauto++) {
            ws_config cfg;
            ws_ctx *ctx;
            ws_conn *c;
            memset(&cfg, 0, sizeof cfg);
            cfg.no_auto_pong = noauto;
            ctx = cn_ctx(&cfg);
            c = cn_open(ctx, server);
            cn_feed_frame(c, 1, WS_OP_PING, pay, 125);
            cn_feed_frame(c, 1, WS_OP_PING, "", 0);
            cn_feed_frame(c, 1, WS_OP_PONG, "hb", 2);
            CHECK_EQ(cn_nev, 4);
            CHECK_EQ(cn_evs[1].type, WS_EV_PING);
            CHECK_EQ(cn_evs[1].len, 125);
            CHECK_MEM(cn_evs[1].data, pay, 125);
            CHECK_EQ(cn_evs[2].type, WS_EV_PING);
            CHECK_EQ(cn_evs[2].len, 0);
            CHECK_EQ(cn_evs[3].type, WS_EV_PONG);
            CHECK_EQ(cn_evs[3].len, 2);
            CHECK_MEM(cn_evs[3].data, "hb", 2);
            if (noauto) {
                CHECK_EQ(cn_tx_used(c), 0);
            } else {
                CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
                CHECK_EQ(f.opcode, WS_OP_PONG);
                CHECK_EQ(f.fin, 1);
                CHECK_EQ(f.masked, !server);
                CHECK_EQ(len, 125);
                CHECK_MEM(pl, pay, 125);
                CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
                CHECK_EQ(f.opcode, WS_OP_PONG);
                CHECK_EQ(len, 0);
                CHECK_EQ(cn_tx_used(c), 0);
            }
            cn_end(ctx);
        }
    }
}

/* ---- the close handshake ---- */
static void test_conn_peer_close(void) {
    int server;
    for (server = 0; server <= 1; server++) {
        ws_ctx *ctx = cn_ctx(NULL);
        ws_conn *c = cn_open(ctx, server);
        char reason[126];
        const cn_ev *e;
        cn_feed_frame(c, 1, WS_OP_CLOSE, "\x0f\xa0going", 7);   /* 4000 "going" */
        CHECK_EQ(cn_pop_close(c, reason), 4000);                /* echoed */
        CHECK_EQ(cn_tx_used(c), 0);
        CHECK_EQ(c->state, WS__CLOSING);
        CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSING);
        CHECK(c->flags & WS__F_GOT_CLOSE);
        CHECK(c->flags & WS__F_SENT_CLOSE);
        CHECK_EQ((c->flags & WS__F_SHUT) != 0, server);   /* 7.1.1: the server closes TCP */
        CHECK_EQ(cn_count(WS_EV_CLOSE), 0);                /* not before TCP closes */
        CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "x", 1), WS_ERR_CLOSED);
        CHECK_EQ(ws_conn_close(c, 1000, NULL), WS_ERR_CLOSED);
        cn_feed_frame(c, 1, WS_OP_TEXT, "late", 4);         /* after a close: ignored */
        cn_feed_frame(c, 1, WS_OP_PING, "late", 4);
        CHECK_EQ(cn_tx_used(c), 0);
        CHECK_EQ(cn_nev, 1);
        if (server) {
            ws__finish(c);                                  /* the TCP close */
        } else {                                            /* the server never closes TCP */
            ctx->now = c->deadline - 1;
            CHECK_EQ(ws__conn_timers(c), c->deadline);
            CHECK_EQ(cn_nev, 1);
            ctx->now = c->deadline;
            CHECK_EQ(ws__conn_timers(c), 0);
        }
        e = cn_last();
        CHECK(e && e->type == WS_EV_CLOSE);
        if (e) {
            CHECK_EQ(e->close_code, 4000);
            CHECK_STR(e->reason, "going");
            CHECK_EQ(e->clean, 1);
            CHECK_EQ(e->result, WS_OK);
        }
        cn_end(ctx);
    }
}

static void test_conn_peer_close_empty(void) {
    int server;
    for (server = 0; server <= 1; server++) {
        ws_ctx *ctx = cn_ctx(NULL);
        ws_conn *c = cn_open(ctx, server);
        uint8_t b[32];
        size_t n;
        n = cn_pframe(c, b, 1, WS_OP_CLOSE, "", 0);
        n += cn_pframe(c, b + n, 1, WS_OP_TEXT, "after", 5);   /* same bytes: ignored */
        cn_feed(c, b, n, 0);
        CHECK_EQ(cn_pop_close(c, NULL), 0);                   /* an empty close back */
        CHECK_EQ(cn_tx_used(c), 0);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 0);
        ws__finish(c);
        CHECK_EQ(cn_count(WS_EV_CLOSE), 1);
        if (cn_last()) {
            CHECK_EQ(cn_last()->close_code, 1005);
            CHECK_STR(cn_last()->reason, "");
            CHECK_EQ(cn_last()->clean, 1);
        }
        cn_end(ctx);
    }
}

static void test_conn_peer_close_invalid(void) {
    static const unsigned bad[] = { 1005, 1006, 1015, 0, 999, 1004, 1016, 1100, 2000, 2999, 5000, 65535 };
    static const unsigned good[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                     1012, 1013, 1014, 3000, 4999 };
    uint8_t b[64], p[8];
    size_t i, n;
    int server;
    for (server = 0; server <= 1; server++) {
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            p[0] = (uint8_t)(bad[i] >> 8); p[1] = (uint8_t)bad[i];
            n = cn_frame(b, 1, 0, WS_OP_CLOSE, server, p, 2);
            cn_expect_fail(server, b, n, 1002, WS_ERR_PROTOCOL, 0);
        }
        n = cn_frame(b, 1, 0, WS_OP_CLOSE, server, "\x03", 1);        /* 1-byte payload */
        cn_expect_fail(server, b, n, 1002, WS_ERR_PROTOCOL, 0);
        n = cn_frame(b, 1, 0, WS_OP_CLOSE, server, "\x03\xe8ok\xff", 5);  /* reason not UTF-8 */
        cn_expect_fail(server, b, n, 1007, WS_ERR_UTF8, 0);
        for (i = 0; i < sizeof good / sizeof good[0]; i++) {
            ws_ctx *ctx = cn_ctx(NULL);
            ws_conn *c = cn_open(ctx, server);
            p[0] = (uint8_t)(good[i] >> 8); p[1] = (uint8_t)good[i];
            cn_feed_frame(c, 1, WS_OP_CLOSE, p, 2);
            CHECK_EQ(cn_pop_close(c, NULL), (int)good[i]);
            CHECK_EQ(cn_count(WS_EV_ERROR), 0);
            cn_end(ctx);
        }
    }
}

static void test_conn_local_close(void) {
    static const unsigned bad[] = { 1004, 1005, 1006, 1015, 999, 2999, 5000 };
    char r124[125], r123[124];
    int server;
    size_t i;
    memset(r124, 'r', 124); r124[124] = '\0';
    memset(r123, 'r', 123); r123[123] = '\0';
    for (server = 0; server <= 1; server++) {
        ws_ctx *ctx = cn_ctx(NULL);
        ws_conn *c = cn_open(ctx, server);
        char reason[126];
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
            CHECK_EQ(ws_conn_close(c, (uint16_t)bad[i], NULL), WS_ERR_ARG);
        CHECK_EQ(ws_conn_close(c, 1000, r124), WS_ERR_ARG);      /* reason > 123 bytes */
        CHECK_EQ(ws_conn_close(c, 0, "why"), WS_ERR_ARG);        /* reason without a code */
        CHECK_EQ(ws_conn_close(c, 1000, "bad\xc3"), WS_ERR_ARG); /* not UTF-8 */
        CHECK_EQ(cn_tx_used(c), 0);                               /* nothing was queued */
        CHECK_EQ(c->state, WS__OPEN);
        CHECK_EQ(ws_conn_close(c, 1000, r123), WS_OK);
        CHECK_EQ(cn_pop_close(c, reason), 1000);
        CHECK_STR(reason, r123);
        CHECK_EQ(c->state, WS__CLOSING);
        CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSING);
        CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, "x", 1), WS_ERR_CLOSED);
        CHECK_EQ(ws_conn_send(c, WS_OP_PING, "", 0), WS_ERR_CLOSED);
        CHECK_EQ(ws_conn_send_frame(c, 1, 0, WS_OP_TEXT, "x", 1), WS_ERR_CLOSED);
        CHECK_EQ(ws_conn_close(c, 1000, "again"), WS_ERR_CLOSED);
        /* the peer may still send data before its close: it is delivered; pings not answered */
        cn_feed_frame(c, 1, WS_OP_TEXT, "still", 5);
        cn_feed_frame(c, 1, WS_OP_PING, "p", 1);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
        CHECK_EQ(cn_tx_used(c), 0);
        cn_feed_frame(c, 1, WS_OP_CLOSE, "\x03\xe8", 2);          /* its reply */
        CHECK_EQ(cn_tx_used(c), 0);                               /* no second close */
        CHECK(c->flags & WS__F_GOT_CLOSE);
        ws__finish(c);
        CHECK(cn_last() && cn_last()->type == WS_EV_CLOSE);
        if (cn_last()) { CHECK_EQ(cn_last()->clean, 1); CHECK_EQ(cn_last()->close_code, 1000); }
        cn_end(ctx);

        ctx = cn_ctx(NULL);                                       /* code 0: empty close */
        c = cn_open(ctx, server);
        CHECK_EQ(ws_conn_close(c, 0, NULL), WS_OK);
        CHECK_EQ(cn_pop_close(c, NULL), 0);
        cn_end(ctx);
    }
}

static void test_conn_close_timeout(void) {
    int server;
    for (server = 0; server <= 1; server++) {
        ws_config cfg;
        ws_ctx *ctx;
        ws_conn *c;
        int64_t dl;
        memset(&cfg, 0, sizeof cfg);
        cfg.close_timeout_ms = 2000;
        cfg.ping_interval_ms = -1;
        ctx = cn_ctx(&cfg);
        c = cn_open(ctx, server);
        CHECK_EQ(ws_conn_close(c, 1001, "bye"), WS_OK);
        dl = c->deadline;
        CHECK_EQ(dl, CN_T0 + 2000);
        ctx->now = dl - 1;
        CHECK_EQ(ws__conn_timers(c), dl);
        CHECK_EQ(cn_count(WS_EV_CLOSE), 0);
        ctx->now = dl;
        CHECK_EQ(ws__conn_timers(c), 0);
        CHECK_EQ(cn_count(WS_EV_CLOSE), 1);
        if (cn_last()) {
            CHECK_EQ(cn_last()->type, WS_EV_CLOSE);
            CHECK_EQ(cn_last()->clean, 0);
            CHECK_EQ(cn_last()->close_code, 1006);
            CHECK_EQ(cn_last()->result, WS_ERR_TIMEOUT);
        }
        CHECK_EQ(c->state, WS__CLOSED);
        ws__finish(c);                               /* again: nothing more */
        CHECK_EQ(cn_count(WS_EV_CLOSE), 1);
        cn_end(ctx);
    }
}

/* ERROR then CLOSE, each exactly once, even when finish is called again and ctx destroyed. */
static void test_conn_close_once(void) {
    ws_ctx *ctx = cn_ctx(NULL);
    ws_conn *c = cn_open(ctx, 1), *d = cn_open(ctx, 0);
    cn_feed_frame(c, 1, WS_OP_CONT, "x", 1);
    cn_feed_frame(c, 1, WS_OP_CONT, "x", 1);
    ws__finish(c);
    ws__finish(c);
    CHECK_EQ(ws__conn_timers(c), 0);
    CHECK_EQ(cn_nev, 4);                          /* OPEN c, OPEN d, ERROR c, CLOSE c */
    CHECK_EQ(cn_evs[2].type, WS_EV_ERROR);
    CHECK_EQ(cn_evs[3].type, WS_EV_CLOSE);
    CHECK_EQ(cn_evs[3].close_code, 1002);
    CHECK_EQ(cn_evs[3].result, WS_ERR_PROTOCOL);
    CHECK(cn_evs[3].conn == (void *)c);
    CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "x", 1), WS_ERR_CLOSED);
    CHECK_EQ(ws_conn_count(ctx), 1);
    cn_end(ctx);                                  /* d gets its one CLOSE here */
    CHECK_EQ(cn_nev, 5);
    CHECK_EQ(cn_evs[4].type, WS_EV_CLOSE);
    CHECK(cn_evs[4].conn == (void *)d);
    CHECK_EQ(cn_evs[4].clean, 0);
}

/* ---- heartbeat ---- */
static void test_conn_heartbeat(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c;
    ws_frame f;
    uint8_t pl[8];
    size_t len = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.ping_interval_ms = 1000;
    cfg.pong_timeout_ms = 500;
    ctx = cn_ctx(&cfg);                 /* no pong: dropped */
    c = cn_open(ctx, 1);
    ctx->now = CN_T0 + 999;
    CHECK_EQ(ws__conn_timers(c), CN_T0 + 1000);
    CHECK_EQ(cn_tx_used(c), 0);
    ctx->now = CN_T0 + 1000;
    CHECK_EQ(ws__conn_timers(c), CN_T0 + 1500);
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
    CHECK_EQ(f.opcode, WS_OP_PING);
    CHECK_EQ(f.masked, 0);
    CHECK_EQ(cn_tx_used(c), 0);
    CHECK_EQ(c->state, WS__OPEN);
    ctx->now = CN_T0 + 1499;
    CHECK_EQ(ws__conn_timers(c), CN_T0 + 1500);
    CHECK_EQ(cn_count(WS_EV_CLOSE), 0);
    ctx->now = CN_T0 + 1500;
    CHECK_EQ(ws__conn_timers(c), 0);
    CHECK_EQ(cn_nev, 3);
    CHECK_EQ(cn_evs[1].type, WS_EV_ERROR);
    CHECK_EQ(cn_evs[1].result, WS_ERR_TIMEOUT);
    CHECK_EQ(cn_evs[2].type, WS_EV_CLOSE);
    CHECK_EQ(cn_evs[2].result, WS_ERR_TIMEOUT);
    CHECK_EQ(cn_evs[2].clean, 0);
    CHECK_EQ(cn_evs[2].close_code, 1006);
    cn_end(ctx);

    ctx = cn_ctx(&cfg);                 /* pongs in time keep it */
    c = cn_open(ctx, 1);
    ctx->now = CN_T0 + 1000;
    (void)ws__conn_timers(c);
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_PING);
    ctx->now = CN_T0 + 1400;
    cn_feed_frame(c, 1, WS_OP_PONG, "", 0);
    CHECK_EQ(ws__conn_timers(c), CN_T0 + 2000);
    ctx->now = CN_T0 + 1900;
    CHECK_EQ(ws__conn_timers(c), CN_T0 + 2000);
    ctx->now = CN_T0 + 2000;
    CHECK_EQ(ws__conn_timers(c), CN_T0 + 2500);
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_PING);
    ctx->now = CN_T0 + 2499;
    cn_feed_frame(c, 1, WS_OP_PONG, "", 0);
    ctx->now = CN_T0 + 2999;
    CHECK_EQ(ws__conn_timers(c), CN_T0 + 3000);
    CHECK_EQ(c->state, WS__OPEN);
    CHECK_EQ(cn_count(WS_EV_PONG), 2);
    CHECK_EQ(cn_count(WS_EV_CLOSE), 0);
    cn_end(ctx);

    memset(&cfg, 0, sizeof cfg);        /* servers ping every 30 s by default, clients never */
    ctx = cn_ctx(&cfg);
    c = cn_open(ctx, 1);
    {
        ws_conn *cl = cn_open(ctx, 0);
        ctx->now = CN_T0 + 29999;
        (void)ws__conn_timers(c);
        CHECK_EQ(cn_tx_used(c), 0);
        ctx->now = CN_T0 + 30000;
        (void)ws__conn_timers(c);
        CHECK_EQ(ws__conn_timers(cl), 0);
        CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_PING);
        CHECK_EQ(cn_tx_used(cl), 0);
    }
    cn_end(ctx);
}

static void test_conn_idle_timeout(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c;
    char reason[126];
    int server;
    for (server = 0; server <= 1; server++) {
        memset(&cfg, 0, sizeof cfg);
        cfg.ping_interval_ms = -1;
        cfg.idle_timeout_ms = 2000;
        ctx = cn_ctx(&cfg);
        c = cn_open(ctx, server);
        ctx->now = CN_T0 + 1500;
        cn_feed_frame(c, 1, WS_OP_TEXT, "hi", 2);    /* input resets the idle clock */
        CHECK_EQ(ws__conn_timers(c), CN_T0 + 3500);
        ctx->now = CN_T0 + 3499;
        CHECK_EQ(ws__conn_timers(c), CN_T0 + 3500);
        CHECK_EQ(cn_tx_used(c), 0);
        CHECK_EQ(c->state, WS__OPEN);
        ctx->now = CN_T0 + 3500;
        (void)ws__conn_timers(c);
        CHECK_EQ(cn_pop_close(c, reason), 1001);
        CHECK_STR(reason, "idle timeout");
        CHECK_EQ(c->state, WS__CLOSING);
        cn_feed_frame(c, 1, WS_OP_CLOSE, "\x03\xe9", 2);
        CHECK_EQ(cn_tx_used(c), 0);
        ws__finish(c);
        if (cn_last()) {
            CHECK_EQ(cn_last()->type, WS_EV_CLOSE);
            CHECK_EQ(cn_last()->close_code, 1001);
            CHECK_EQ(cn_last()->clean, 1);
        }
        cn_end(ctx);
    }
}

static void test_conn_keepalive(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c, *s;
    ws_frame f;
    uint8_t pl[8];
    size_t len = 1;
    memset(&cfg, 0, sizeof cfg);
    cfg.keepalive_ms = 700;
    ctx = cn_ctx(&cfg);
    c = cn_open(ctx, 0);
    s = cn_open(ctx, 1);   /* servers ping (30 s default) instead */
    ctx->now = CN_T0 + 699;
    CHECK_EQ(ws__conn_timers(c), CN_T0 + 700);
    CHECK_EQ(cn_tx_used(c), 0);
    ctx->now = CN_T0 + 700;
    CHECK_EQ(ws__conn_timers(c), CN_T0 + 1400);
    CHECK_EQ(ws__conn_timers(s), CN_T0 + 30000);
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
    CHECK_EQ(f.opcode, WS_OP_PONG);
    CHECK_EQ(f.masked, 1);
    CHECK_EQ(len, 0);
    CHECK_EQ(cn_tx_used(c), 0);
    CHECK_EQ(cn_tx_used(s), 0);
    CHECK_EQ(c->pong_due, 0);            /* a keepalive expects no answer */
    ctx->now = CN_T0 + 1400;
    (void)ws__conn_timers(c);
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_PONG);
    ctx->now = CN_T0 + 100000;           /* no answer ever: still open */
    (void)ws__conn_timers(c);
    CHECK_EQ(c->state, WS__OPEN);
    CHECK_EQ(cn_count(WS_EV_CLOSE), 0);
    cn_end(ctx);
}

/* ---- sending ---- */
static void test_conn_send_checks(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c, *pre;
    uint8_t big[126], pl[128];
    size_t len = 0;
    ws_frame f;
    memset(big, 'b', sizeof big);
    memset(&cfg, 0, sizeof cfg);
    ctx = cn_ctx(&cfg);
    c = cn_open(ctx, 1);
    CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "ab\xff", 3), WS_ERR_UTF8);
    CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "\xe2\x82", 2), WS_ERR_UTF8);
    CHECK_EQ(ws_conn_send(c, WS_OP_PING, big, 126), WS_ERR_ARG);
    CHECK_EQ(ws_conn_send(c, WS_OP_PONG, big, 126), WS_ERR_ARG);
    CHECK_EQ(ws_conn_send(c, WS_OP_CLOSE, "", 0), WS_ERR_ARG);
    CHECK_EQ(ws_conn_send(c, WS_OP_CONT, "a", 1), WS_ERR_ARG);
    CHECK_EQ(ws_conn_send(c, 3, "a", 1), WS_ERR_ARG);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, NULL, 1), WS_ERR_ARG);
    CHECK_EQ(cn_tx_used(c), 0);
    CHECK_EQ(ws_conn_send(c, WS_OP_PING, big, 125), WS_OK);
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
    CHECK_EQ(f.opcode, WS_OP_PING);
    CHECK_EQ(len, 125);
    ctx->cfg.max_send_queue = 100;
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 60), WS_OK);
    CHECK_EQ(cn_tx_used(c), 62);
    CHECK_EQ(ws_conn_queued(c), 62);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 60), WS_ERR_FULL);   /* 122 > 100 */
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 101), WS_ERR_TOO_BIG);   /* never fits */
    CHECK_EQ(cn_tx_used(c), 62);                                      /* nothing added */
    CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "x", 1), WS_OK);             /* what fits, fits */
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
    CHECK_EQ(f.opcode, WS_OP_BINARY);
    CHECK_EQ(len, 60);
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
    CHECK_EQ(f.opcode, WS_OP_TEXT);
    CHECK_EQ(f.masked, 0);                                            /* servers don't mask */
    CHECK_EQ(len, 1);
    CHECK_EQ(pl[0], 'x');
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 98), WS_OK);          /* queue empty again */
    pre = ws__conn_new(ctx, 1);                                       /* not open yet */
    CHECK_EQ(ws_conn_send(pre, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
    CHECK_EQ(cn_tx_used(pre), 0);
    cn_end(ctx);
}

static void test_conn_send_client_masks(void) {
    ws_ctx *ctx = cn_ctx(NULL);
    ws_conn *c = cn_open(ctx, 0);
    uint8_t pl[2][64], masks[8][4];
    size_t len = 0;
    int i, j, same = 0;
    ws_frame f;
    for (i = 0; i < 8; i++) {
        CHECK_EQ(ws_conn_send_text(c, "masked payload"), WS_OK);
        CHECK(cn_memmem(WS__BDATA(c->tx) + c->tx->off, cn_tx_used(c), "masked", 6) == NULL);
        CHECK(cn_pop(c, &f, pl[i & 1], sizeof pl[0], &len));
        CHECK_EQ(f.masked, 1);
        CHECK_EQ(f.fin, 1);
        CHECK_EQ(f.opcode, WS_OP_TEXT);
        CHECK_EQ(len, 14);
        CHECK_MEM(pl[i & 1], "masked payload", 14);
        memcpy(masks[i], f.mask, 4);
        for (j = 0; j < i; j++) same += memcmp(masks[i], masks[j], 4) == 0;
    }
    CHECK_EQ(same, 0);                          /* a fresh mask per frame */
    cn_end(ctx);
}

static void test_conn_send_frame(void) {
    int server;
    for (server = 0; server <= 1; server++) {
        ws_ctx *ctx = cn_ctx(NULL);
        ws_conn *c = cn_open(ctx, server);
        uint8_t pl[16];
        size_t len = 0;
        ws_frame f;
        CHECK_EQ(ws_conn_send_frame(c, 0, WS_RSV1 | WS_RSV3, WS_OP_TEXT, "ab", 2), WS_OK);
        CHECK_EQ(ws_conn_send_frame(c, 0, 0, WS_OP_CONT, "cd", 2), WS_OK);
        CHECK_EQ(ws_conn_send_frame(c, 1, WS_RSV2, WS_OP_CONT, "", 0), WS_OK);
        CHECK_EQ(ws_conn_send_frame(c, 1, 0, 0xB, "r", 1), WS_OK);   /* a reserved opcode */
        CHECK_EQ(ws_conn_send_frame(c, 1, 8, WS_OP_TEXT, "", 0), WS_ERR_ARG);
        CHECK_EQ(ws_conn_send_frame(c, 1, 0, 16, "", 0), WS_ERR_ARG);
        if (c->tx) {   /* the first header byte, exactly */
            CHECK_EQ(WS__BDATA(c->tx)[c->tx->off], 0x51);
            CHECK_EQ(WS__BDATA(c->tx)[c->tx->off + 1], server ? 0x02 : 0x82);
        }
        CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
        CHECK_EQ(f.fin, 0); CHECK_EQ(f.rsv, WS_RSV1 | WS_RSV3); CHECK_EQ(f.opcode, WS_OP_TEXT);
        CHECK_EQ(f.masked, !server);
        CHECK_EQ(len, 2); CHECK_MEM(pl, "ab", 2);
        CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
        CHECK_EQ(f.fin, 0); CHECK_EQ(f.rsv, 0); CHECK_EQ(f.opcode, WS_OP_CONT);
        CHECK_EQ(len, 2); CHECK_MEM(pl, "cd", 2);
        CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
        CHECK_EQ(f.fin, 1); CHECK_EQ(f.rsv, WS_RSV2); CHECK_EQ(f.opcode, WS_OP_CONT);
        CHECK_EQ(len, 0);
        CHECK_EQ(cn_tx_used(c), server ? 3 : 7);   /* 0xB: ws_frame_parse won't, so by hand */
        if (c->tx && cn_tx_used(c) >= 3) {
            uint8_t *p = WS__BDATA(c->tx) + c->tx->off;
            CHECK_EQ(p[0], 0x8B);
            CHECK_EQ(p[1], server ? 0x01 : 0x81);
            if (!server) ws_mask(p + 6, 1, p + 2, 0);
            CHECK_EQ(p[server ? 2 : 6], 'r');
        }
        cn_end(ctx);
    }
}

/* ---- the server's handshake ---- */
static const char cn_req[] =
    "GET /chat?room=1 HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

static ws_conn *cn_server_hs(ws_ctx *ctx) {
    ws_conn *c = ws__conn_new(ctx, 1);
    c->state = WS__HANDSHAKE;
    c->deadline = ctx->now + 10000;
    return c;
}

/* Checks that tx holds exactly one valid 101 for cn_req and consumes it. */
static void cn_check_101(ws_conn *c, const char *protocol) {
    char out[1024];
    ws_http_response res;
    ws_span proto;
    size_t used = 0;
    cn_tx_str(c, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 101 ", 13) == 0);
    CHECK(strstr(out, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != NULL);
    CHECK_EQ(ws_http_parse_response(out, strlen(out), 8192, &res, &used, NULL), WS_OK);
    CHECK_EQ(used, strlen(out));               /* nothing after the head */
    CHECK_EQ(ws_http_check_response(&res, "dGhlIHNhbXBsZSBub25jZQ==", "chat, superchat", &proto, NULL), WS_OK);
    if (protocol) CHECK(proto.len == strlen(protocol) && memcmp(proto.ptr, protocol, proto.len) == 0);
    else CHECK(proto.ptr == NULL);
    cn_tx_drain(c);
}

static void test_conn_server_handshake_splits(void) {
    size_t n = strlen(cn_req);
    long mode;
    for (mode = -1; mode < (long)n; mode++) {
        ws_ctx *ctx = cn_ctx(NULL);
        ws_conn *c = cn_server_hs(ctx);
        cn_feed(c, (const uint8_t *)cn_req, n, mode);
        CHECK_EQ(c->state, WS__OPEN);
        CHECK_EQ(cn_nev, 1);
        CHECK_EQ(cn_evs[0].type, WS_EV_OPEN);
        CHECK_EQ(c->deadline, 0);
        CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
        CHECK_STR(ws_conn_protocol(c), "");
        cn_check_101(c, NULL);
        CHECK(c->rx == NULL);
        if (t_bad) { printf("  (split mode %ld)\n", mode); cn_end(ctx); break; }
        cn_end(ctx);
    }
}

static void test_conn_server_handshake_then_frame(void) {
    uint8_t in[512];
    size_t n = strlen(cn_req), fl;
    long mode;
    memcpy(in, cn_req, n);
    fl = cn_frame(in + n, 1, 0, WS_OP_TEXT, 1, "first!", 6);
    fl += cn_frame(in + n + fl, 1, 0, WS_OP_PING, 1, "p", 1);
    n += fl;
    for (mode = -1; mode < (long)n; mode++) {
        ws_ctx *ctx = cn_ctx(NULL);
        ws_conn *c = cn_server_hs(ctx);
        ws_frame f;
        uint8_t pl[4];
        size_t len = 0;
        cn_feed(c, in, n, mode);
        CHECK_EQ(cn_nev, 3);
        CHECK_EQ(cn_evs[0].type, WS_EV_OPEN);
        CHECK_EQ(cn_evs[1].type, WS_EV_MESSAGE);
        CHECK_EQ(cn_evs[1].len, 6);
        CHECK_MEM(cn_evs[1].data, "first!", 6);
        CHECK_EQ(cn_evs[2].type, WS_EV_PING);
        if (c->tx) {   /* the 101, then the pong */
            uint8_t *p = WS__BDATA(c->tx) + c->tx->off;
            size_t used = cn_tx_used(c);
            const uint8_t *end = cn_memmem(p, used, "\r\n\r\n", 4);
            CHECK(end != NULL);
            if (end) c->tx->off += (size_t)(end + 4 - p);
            CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_PONG && len == 1);
        }
        CHECK_EQ(cn_tx_used(c), 0);
        if (t_bad) { printf("  (split mode %ld)\n", mode); cn_end(ctx); break; }
        cn_end(ctx);
    }
}

/* on_upgrade / on_http hooks driven by these */
static int cn_hook_status, cn_hook_calls;
static const char *cn_hook_proto, *cn_hook_headers, *cn_hook_body;
static char cn_hook_path[64];
static void cn_on_upgrade(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user) {
    (void)c; (void)user;
    cn_hook_calls++;
    snprintf(cn_hook_path, sizeof cn_hook_path, "%.*s", (int)req->path.len, req->path.ptr);
    reply->status = cn_hook_status;
    reply->protocol = cn_hook_proto;
    reply->headers = cn_hook_headers;
    if (cn_hook_body) { reply->body = cn_hook_body; reply->body_len = strlen(cn_hook_body); }
}
static void cn_hooks(const char *proto, const char *headers, int status, const char *body) {
    cn_hook_status = status; cn_hook_proto = proto; cn_hook_headers = headers; cn_hook_body = body;
    cn_hook_calls = 0;
    cn_hook_path[0] = '\0';
}

static void test_conn_server_on_upgrade(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c;
    char out[1024];
    memset(&cfg, 0, sizeof cfg);
    cfg.on_upgrade = cn_on_upgrade;

    cn_hooks("superchat", "X-Test: 1\r\nX-Other: two", 0, NULL);   /* accept, subprotocol */
    ctx = cn_ctx(&cfg);
    c = cn_server_hs(ctx);
    cn_feed(c, (const uint8_t *)cn_req, strlen(cn_req), 0);
    CHECK_EQ(cn_hook_calls, 1);
    CHECK_STR(cn_hook_path, "/chat");
    CHECK_EQ(cn_count(WS_EV_OPEN), 1);
    CHECK_STR(ws_conn_protocol(c), "superchat");
    cn_tx_str(c, out, sizeof out);
    CHECK(strstr(out, "\r\nSec-WebSocket-Protocol: superchat\r\n") != NULL);
    CHECK(strstr(out, "\r\nX-Test: 1\r\n") != NULL);
    CHECK(strstr(out, "\r\nX-Other: two\r\n") != NULL);
    cn_check_101(c, "superchat");
    cn_end(ctx);

    cn_hooks("other", NULL, 0, NULL);                 /* a protocol not offered: 500 */
    ctx = cn_ctx(&cfg);
    c = cn_server_hs(ctx);
    cn_feed(c, (const uint8_t *)cn_req, strlen(cn_req), 0);
    CHECK(strncmp(cn_tx_str(c, out, sizeof out), "HTTP/1.1 500 ", 13) == 0);
    CHECK_EQ(cn_nev, 0);
    cn_end(ctx);
    CHECK_EQ(cn_nev, 0);

    cn_hooks(NULL, "X-Why: policy", 403, "go away\n");   /* refused */
    ctx = cn_ctx(&cfg);
    c = cn_server_hs(ctx);
    {
        uint8_t in[512];
        size_t n = strlen(cn_req);
        memcpy(in, cn_req, n);
        n += cn_frame(in + n, 1, 0, WS_OP_TEXT, 1, "no", 2);   /* never read as a frame */
        cn_feed(c, in, n, -1);
    }
    cn_tx_str(c, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 403 ", 13) == 0);
    CHECK(strstr(out, "\r\nX-Why: policy\r\n") != NULL);
    CHECK(strstr(out, "\r\nConnection: close\r\n") != NULL);
    CHECK(strstr(out, "\r\nContent-Length: 8\r\n") != NULL);
    CHECK(strlen(out) > 12 && strcmp(out + strlen(out) - 12, "\r\n\r\ngo away\n") == 0);
    CHECK(strstr(out, "Sec-WebSocket-Accept") == NULL);
    CHECK(c->flags & WS__F_HTTP);
    CHECK(c->flags & WS__F_SHUT);
    CHECK(!(c->flags & WS__F_OPENED));
    CHECK_EQ(cn_hook_calls, 1);
    CHECK_EQ(cn_nev, 0);
    ws__finish(c);
    CHECK_EQ(cn_nev, 0);                                   /* no events for plain HTTP */
    cn_end(ctx);
}

static void cn_on_http(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user) {
    (void)c; (void)user;
    cn_hook_calls++;
    snprintf(cn_hook_path, sizeof cn_hook_path, "%.*s", (int)req->path.len, req->path.ptr);
    if (strcmp(cn_hook_path, "/hello") == 0) {
        reply->status = 200;
        reply->content_type = "text/html";
        reply->body = "<p>hi</p>";
        reply->body_len = 9;
    }
}

static void test_conn_server_plain_http(void) {
    static const char get[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char get404[] = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c;
    char out[1024];
    memset(&cfg, 0, sizeof cfg);
    cfg.on_http = cn_on_http;
    cn_hooks(NULL, NULL, 0, NULL);
    ctx = cn_ctx(&cfg);
    c = cn_server_hs(ctx);
    cn_feed(c, (const uint8_t *)get, strlen(get), -1);
    cn_tx_str(c, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
    CHECK(strstr(out, "\r\nContent-Type: text/html\r\n") != NULL);
    CHECK(strstr(out, "\r\nContent-Length: 9\r\n") != NULL);
    CHECK(strlen(out) > 13 && strcmp(out + strlen(out) - 13, "\r\n\r\n<p>hi</p>") == 0);
    CHECK_EQ(cn_hook_calls, 1);
    CHECK(c->flags & WS__F_HTTP);
    CHECK_EQ(cn_nev, 0);
    cn_end(ctx);
    CHECK_EQ(cn_nev, 0);

    ctx = cn_ctx(&cfg);                          /* handler leaves status 0: 404 */
    c = cn_server_hs(ctx);
    cn_feed(c, (const uint8_t *)get404, strlen(get404), 0);
    CHECK(strncmp(cn_tx_str(c, out, sizeof out), "HTTP/1.1 404 ", 13) == 0);
    cn_end(ctx);

    ctx = cn_ctx(NULL);                          /* no on_http: 426 */
    c = cn_server_hs(ctx);
    cn_feed(c, (const uint8_t *)get, strlen(get), 0);
    cn_tx_str(c, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 426 ", 13) == 0);
    CHECK(strstr(out, "\r\nSec-WebSocket-Version: 13\r\n") != NULL);
    CHECK(c->flags & WS__F_HTTP);
    CHECK_EQ(cn_nev, 0);
    cn_end(ctx);
    CHECK_EQ(cn_nev, 0);
}

static void cn_expect_status(const ws_config *cfg, const char *in, size_t n, int status, int refuse) {
    ws_ctx *ctx = cn_ctx(cfg);
    ws_conn *c = cn_server_hs(ctx);
    char out[1024], want[16];
    if (refuse) c->flags |= WS__F_REFUSE;
    cn_feed(c, (const uint8_t *)in, n, 0);
    snprintf(want, sizeof want, "HTTP/1.1 %d ", status);
    cn_tx_str(c, out, sizeof out);
    CHECK(strncmp(out, want, strlen(want)) == 0);
    if (strncmp(out, want, strlen(want)) != 0) printf("  expected %d, got: %.40s\n", status, out);
    CHECK(strstr(out, "\r\nConnection: close\r\n") != NULL);
    CHECK(c->flags & WS__F_HTTP);
    CHECK(c->flags & WS__F_SHUT);
    CHECK_EQ(c->state, WS__CLOSING);
    CHECK_EQ(cn_nev, 0);
    cn_end(ctx);
    CHECK_EQ(cn_nev, 0);
}

/* A head that never ends a line, sent byte by byte, is cut off at max_handshake (431), not
 * kept growing: heads are re-parsed only at line ends, but never past the limit. */
/* A peer that pings and never reads cannot grow our send queue past max_send_queue with
 * automatic pongs (RFC 6455 5.5.3 lets us answer only some); broadcast takes only data
 * opcodes and pings/pongs within 125 bytes. */
static void test_conn_ping_flood_bounded(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c;
    uint8_t payload[125];
    size_t sent = 99;
    int i;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_send_queue = 300;
    memset(payload, 'p', sizeof payload);
    ctx = cn_ctx(&cfg);
    c = cn_open(ctx, 1);
    for (i = 0; i < 50; i++) cn_feed_frame(c, 1, WS_OP_PING, payload, sizeof payload);
    CHECK(cn_tx_used(c) > 0);
    CHECK(cn_tx_used(c) <= 300 + 125 + 14);
    CHECK_EQ(ws_broadcast(ctx, WS_OP_CLOSE, "", 0, NULL, &sent), WS_ERR_ARG);
    CHECK_EQ(sent, 0);
    CHECK_EQ(ws_broadcast(ctx, WS_OP_CONT, "x", 1, NULL, NULL), WS_ERR_ARG);
    CHECK_EQ(ws_broadcast(ctx, WS_OP_PING, payload, 126, NULL, NULL), WS_ERR_ARG);
    cn_end(ctx);
}

static void test_conn_server_head_without_newline(void) {
    static char big[600];
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c;
    char out[256];
    size_t i;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_handshake = 256;
    memcpy(big, "GET /", 5);
    memset(big + 5, 'a', sizeof big - 5);
    ctx = cn_ctx(&cfg);
    c = cn_server_hs(ctx);
    for (i = 0; i < sizeof big && !(c->flags & WS__F_HTTP); i++) {
        CHECK_EQ(ws__conn_feed(c, big + i, 1), WS_OK);
        CHECK(ws__buf_used(c->rx) <= 256);
    }
    CHECK(c->flags & WS__F_HTTP);
    CHECK(i <= 257);
    cn_tx_str(c, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 431 ", 13) == 0);
    cn_end(ctx);
}

static void test_conn_server_bad_requests(void) {
    static char big[600];
    ws_config cfg;
    const char *r;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_handshake = 256;
    memcpy(big, "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ", 32);
    memset(big + 32, 'a', sizeof big - 32);
    cn_expect_status(&cfg, big, sizeof big, 431, 0);          /* head over max_handshake */
    cn_expect_status(&cfg, big, 257, 431, 0);
    r = "GARBAGE\r\n\r\n";
    cn_expect_status(NULL, r, strlen(r), 400, 0);
    r = "GET / HTTP/1.1\r\nHost x\r\n\r\n";                     /* a header without ':' */
    cn_expect_status(NULL, r, strlen(r), 400, 0);
    r = "POST /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    cn_expect_status(NULL, r, strlen(r), 400, 0);
    r = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n";
    cn_expect_status(NULL, r, strlen(r), 400, 0);
    r = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
    cn_expect_status(NULL, r, strlen(r), 426, 0);
    cn_expect_status(NULL, cn_req, strlen(cn_req), 503, 1);   /* over max_conns */
}

static void test_conn_server_handshake_timeout(void) {
    ws_ctx *ctx = cn_ctx(NULL);
    ws_conn *c = cn_server_hs(ctx);
    cn_feed(c, (const uint8_t *)cn_req, 40, 0);
    ctx->now = c->deadline - 1;
    CHECK_EQ(ws__conn_timers(c), c->deadline);
    CHECK_EQ(c->state, WS__HANDSHAKE);
    ctx->now = c->deadline;
    CHECK_EQ(ws__conn_timers(c), 0);
    CHECK_EQ(c->state, WS__CLOSED);
    CHECK(c->flags & WS__F_DEAD);
    CHECK_EQ(c->err, WS_ERR_TIMEOUT);
    CHECK_EQ(cn_nev, 0);          /* the user never knew this connection */
    cn_end(ctx);
    CHECK_EQ(cn_nev, 0);
}

/* ---- the client's handshake: we build the request's key ourselves ---- */
static ws_conn *cn_client_hs(ws_ctx *ctx, const char *protocols) {
    ws_conn *c = ws__conn_new(ctx, 0);
    ws__client *cl = (ws__client *)ws__alloc(ctx, sizeof *cl);
    memset(cl, 0, sizeof *cl);
    memcpy(cl->key, "dGhlIHNhbXBsZSBub25jZQ==", 25);
    if (protocols) cl->protocols = ws__strdup(ctx, protocols, strlen(protocols));
    c->cl = cl;
    c->state = WS__HANDSHAKE;
    c->deadline = ctx->now + 10000;
    return c;
}

static void test_conn_client_handshake(void) {
    static const char ok[] =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n";
    static const char wrong[] =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n";
    static const char refused[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    uint8_t in[512];
    size_t n = strlen(ok);
    long mode;
    memcpy(in, ok, n);
    n += cn_frame(in + n, 1, 0, WS_OP_TEXT, 0, "welcome", 7);
    for (mode = -1; mode < (long)n; mode++) {
        ws_ctx *ctx = cn_ctx(NULL);
        ws_conn *c = cn_client_hs(ctx, "chat, superchat");
        cn_feed(c, in, n, mode);
        CHECK_EQ(c->state, WS__OPEN);
        CHECK_EQ(cn_nev, 2);
        CHECK_EQ(cn_evs[0].type, WS_EV_OPEN);
        CHECK_EQ(cn_evs[1].type, WS_EV_MESSAGE);
        CHECK_EQ(cn_evs[1].len, 7);
        CHECK_MEM(cn_evs[1].data, "welcome", 7);
        CHECK_STR(ws_conn_protocol(c), "chat");
        CHECK_EQ(cn_tx_used(c), 0);
        if (t_bad) { printf("  (split mode %ld)\n", mode); cn_end(ctx); break; }
        cn_end(ctx);
    }
    for (mode = 0; mode < 2; mode++) {
        const char *r = mode ? refused : wrong;
        ws_ctx *ctx = cn_ctx(NULL);
        ws_conn *c = cn_client_hs(ctx, NULL);
        cn_feed(c, (const uint8_t *)r, strlen(r), 0);
        CHECK(c->state != WS__OPEN);
        CHECK_EQ(cn_count(WS_EV_OPEN), 0);
        CHECK_EQ(cn_nev, 0);                    /* ERROR and CLOSE come from the loop, */
        CHECK_EQ(ws__conn_timers(c), 0);        /* with the HTTP status */
        CHECK_EQ(cn_nev, 2);
        if (cn_nev == 2) {
            CHECK_EQ(cn_evs[0].type, WS_EV_ERROR);
            CHECK_EQ(cn_evs[0].result, WS_ERR_HANDSHAKE);
            CHECK_EQ(cn_evs[1].type, WS_EV_CLOSE);
            CHECK_EQ(cn_evs[1].result, WS_ERR_HANDSHAKE);
            CHECK_EQ(cn_evs[1].close_code, 1006);
            CHECK_EQ(cn_evs[1].http_status, mode ? 403 : 101);
        }
        cn_end(ctx);
    }
}

static void suite_conn(void) {
    RUN(test_conn_data_whole);
    RUN(test_conn_big_text_chunks);
    RUN(test_conn_echo_from_callback);
    RUN(test_conn_zero_length);
    RUN(test_conn_fragmented);
    RUN(test_conn_fragment_mode);
    RUN(test_conn_bad_continuation);
    RUN(test_conn_bad_header);
    RUN(test_conn_utf8);
    RUN(test_conn_utf8_fail_fast);
    RUN(test_conn_limits);
    RUN(test_conn_ping_pong);
    RUN(test_conn_peer_close);
    RUN(test_conn_peer_close_empty);
    RUN(test_conn_peer_close_invalid);
    RUN(test_conn_local_close);
    RUN(test_conn_close_timeout);
    RUN(test_conn_close_once);
    RUN(test_conn_heartbeat);
    RUN(test_conn_idle_timeout);
    RUN(test_conn_keepalive);
    RUN(test_conn_send_checks);
    RUN(test_conn_send_client_masks);
    RUN(test_conn_send_frame);
    RUN(test_conn_server_handshake_splits);
    RUN(test_conn_server_handshake_then_frame);
    RUN(test_conn_server_on_upgrade);
    RUN(test_conn_server_plain_http);
    RUN(test_conn_server_bad_requests);
    RUN(test_conn_server_head_without_newline);
    RUN(test_conn_ping_flood_bounded);
    RUN(test_conn_server_handshake_timeout);
    RUN(test_conn_client_handshake);
}
