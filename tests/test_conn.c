/* test_conn.c - every protocol rule through the public engine API (>>engine): each connection is
 * a ws_engine_create'd engine on a fixed clock (opts.now_ms), fed with ws_engine_feed; what it
 * sends is read with ws_engine_output / ws_engine_consume and parsed with ws_frame_parse; timers
 * run through ws_engine_deadline / ws_engine_tick; the peer closing TCP is ws_engine_eof.
 * Each rule is checked by the close code the engine queues, the events it fires and their order
 * (every scenario ends in cn_end, which checks that CLOSE fires exactly once, last, after ERROR).
 * Each scenario runs three ways (cn_ways): every input fed whole, byte by byte, and split in two
 * at every offset (long inputs: at a sample of offsets), and the three event sequences must be
 * the same. A few checks read an internal where no public call can show the property (which
 * buffers the engine holds); each says why. */

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

/* The whole run's events in short, for cn_ways to compare between the ways of feeding. */
typedef struct cn_tr {
    int who, type, opcode, fin, clean, http_status;
    size_t len;
    uint32_t sum, rsum;
    unsigned close_code;
    ws_result result;
} cn_tr;
#define CN_MAX_TR 4096
static cn_tr cn_trace[CN_MAX_TR], cn_ref[CN_MAX_TR];
static int cn_ntr, cn_nref, cn_tr_over;

/* ---- the engines of one scenario, their clock and how input is fed ---- */
#define CN_T0 1000000
#define CN_MAXC 8
static ws_config cn_cfg;
static ws_conn *cn_conns[CN_MAXC];
static int cn_nconns;
static int64_t cn_now;
static long cn_mode;           /* cn_feed: 0 = whole, -1 = byte by byte, k > 0 = split at k */
static size_t cn_maxfeed;      /* the longest input cn_feed saw in this run */

static uint32_t cn_fnv(const uint8_t *p, size_t n) {
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static int cn_who(const ws_conn *c) {
    int i;
    for (i = 0; i < cn_nconns; i++) if (cn_conns[i] == c) return i;
    return -1;
}

static void cn_on_event(ws_conn *c, const ws_event *ev, void *user) {
    cn_ev *e;
    (void)user;
    if (cn_ntr < CN_MAX_TR) {
        cn_tr *t = &cn_trace[cn_ntr++];
        memset(t, 0, sizeof *t);
        t->who = cn_who(c);
        t->type = (int)ev->type; t->opcode = ev->opcode; t->fin = ev->fin; t->clean = ev->clean;
        t->http_status = ev->http_status; t->len = ev->len;
        t->sum = ev->len ? cn_fnv(ev->data, ev->len) : 0;
        t->rsum = ev->reason ? cn_fnv((const uint8_t *)ev->reason, strlen(ev->reason)) : 1;
        t->close_code = ev->close_code; t->result = ev->result;
    } else {
        cn_tr_over = 1;
    }
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

/* Starts a scenario: its engines get cfg (NULL = defaults) and a fixed clock at CN_T0. */
static void cn_begin(const ws_config *cfg) {
    if (cfg) cn_cfg = *cfg; else memset(&cn_cfg, 0, sizeof cn_cfg);
    cn_cfg.on_event = cn_on_event;
    cn_nev = 0;
    cn_overflow = 0;
    cn_echo = 0;
    cn_necho = 0;
    cn_nconns = 0;
    cn_now = CN_T0;
}

/* An engine of the scenario; o->now_ms is set to the scenario's clock. */
static ws_conn *cn_make(ws_engine_opts *o) {
    ws_conn *c = NULL;
    o->now_ms = cn_now;
    CHECK_EQ(ws_engine_create(&cn_cfg, o, NULL, &c), WS_OK);
    if (c && cn_nconns < CN_MAXC) cn_conns[cn_nconns++] = c;
    CHECK(c != NULL);
    return c;
}
/* An open connection (the upgrade happened elsewhere): OPEN fires inside ws_engine_create. */
static ws_conn *cn_open(int server) {
    ws_engine_opts o;
    memset(&o, 0, sizeof o);
    o.server = server;
    o.upgraded = 1;
    return cn_make(&o);
}

/* Destroys the scenario's engines, then checks the event rules for every connection that had
 * events: at most one OPEN (first), at most one ERROR (before CLOSE), exactly one CLOSE and
 * nothing after it. */
static void cn_end(void) {
    int i, j;
    for (i = 0; i < cn_nconns; i++) ws_engine_destroy(cn_conns[i]);
    cn_nconns = 0;
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

/* Runs the timers due at now on c's clock; returns its next deadline (0 = none). */
static int64_t cn_tick(ws_conn *c, int64_t now) {
    cn_now = now;
    ws_engine_tick(c, now);
    return ws_engine_deadline(c);
}
/* The peer closes its side of the stream (TCP FIN). */
static void cn_eof(ws_conn *c) { ws_engine_eof(c, cn_now); }

/* The next split point after k for inputs up to max bytes: every offset of inputs up to 600
 * bytes; of longer ones the first and last 128 offsets and 64 spread between them. */
static size_t cn_next_split(size_t k, size_t max) {
    size_t step;
    if (max <= 600 || k < 128 || k + 129 >= max) return k + 1;
    step = (max - 256) / 64;
    return WS__MIN(k + step, max - 128);
}

/* The three ways: the scenario runs with every input whole (its events are the reference),
 * then byte by byte, then split at each offset; each run must fire the same events. */
static void cn_ways(void (*scenario)(void)) {
    size_t k = 0, max;
    int i;
    cn_mode = 0; cn_ntr = 0; cn_tr_over = 0; cn_maxfeed = 0;
    scenario();
    CHECK(!cn_tr_over);
    memcpy(cn_ref, cn_trace, (size_t)cn_ntr * sizeof cn_trace[0]);
    cn_nref = cn_ntr;
    max = cn_maxfeed;
    if (t_bad) { printf("  (fed whole)\n"); return; }
    for (;;) {
        cn_mode = k == 0 ? -1 : (long)k;
        cn_ntr = 0;
        scenario();
        CHECK_EQ(cn_ntr, cn_nref);
        for (i = 0; i < cn_ntr && i < cn_nref; i++) {
            const cn_tr *a = &cn_trace[i], *b = &cn_ref[i];
            if (a->who != b->who || a->type != b->type || a->opcode != b->opcode ||
                a->fin != b->fin || a->clean != b->clean || a->http_status != b->http_status ||
                a->len != b->len || a->sum != b->sum || a->rsum != b->rsum ||
                a->close_code != b->close_code || a->result != b->result) {
                printf("  event %d differs from the whole-input run (type %d vs %d)\n", i, a->type, b->type);
                t_bad = 1;
                break;
            }
        }
        if (t_bad) {
            if (k) printf("  (split at %lu)\n", (unsigned long)k); else printf("  (byte by byte)\n");
            break;
        }
        k = cn_next_split(k, max);
        if (k >= max) break;
    }
    cn_mode = 0;
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
    return cn_frame(out, fin, 0, op, ws_conn_is_server(c), p, n);
}

/* Feeds p[0..n) the run's way (cn_mode): whole, byte by byte, or in two parts split at k. */
static void cn_feed(ws_conn *c, const uint8_t *p, size_t n) {
    size_t i, k = cn_mode > 0 ? (size_t)cn_mode : 0;
    if (n > cn_maxfeed) cn_maxfeed = n;
    if (cn_mode < 0) {
        for (i = 0; i < n; i++) CHECK_EQ(ws_engine_feed(c, p + i, 1, cn_now), WS_OK);
    } else if (k > 0 && k < n) {
        CHECK_EQ(ws_engine_feed(c, p, k, cn_now), WS_OK);
        CHECK_EQ(ws_engine_feed(c, p + k, n - k, cn_now), WS_OK);
    } else {
        CHECK_EQ(ws_engine_feed(c, p, n, cn_now), WS_OK);
    }
}
static void cn_feed_frame(ws_conn *c, int fin, int op, const void *p, size_t n) {
    static uint8_t buf[256 + 14];
    size_t len;
    if (n > 256) { CHECK(0); return; }
    len = cn_pframe(c, buf, fin, op, p, n);
    cn_feed(c, buf, len);
}

static const uint8_t *cn_memmem(const uint8_t *h, size_t hn, const char *needle, size_t n) {
    size_t i;
    for (i = 0; n <= hn && i <= hn - n; i++)
        if (memcmp(h + i, needle, n) == 0) return h + i;
    return NULL;
}

/* What c has to send, as ws_engine_output shows it. */
static size_t cn_tx_used(const ws_conn *c) { return ws_engine_output(c, NULL); }
static void cn_tx_drain(ws_conn *c) { ws_engine_consume(c, ws_engine_output(c, NULL)); }
static const char *cn_tx_str(const ws_conn *c, char *out, size_t cap) {  /* output as a string */
    const uint8_t *p;
    size_t n = WS__MIN(ws_engine_output(c, &p), cap - 1);
    if (n) memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* Takes the next frame c sends: header into f, unmasked payload into pl (up to cap bytes).
 * 0 if no whole frame is waiting. Any RSV bits and either masking are accepted. */
static int cn_pop(ws_conn *c, ws_frame *f, uint8_t *pl, size_t cap, size_t *n) {
    const uint8_t *p;
    size_t avail = ws_engine_output(c, &p), k;
    if (!avail || ws_frame_parse(p, avail, WS_PARSE_RSV_MASK, f, NULL, NULL) != WS_OK) return 0;
    if (avail - f->header_len < f->payload_len) return 0;
    k = (size_t)WS__MIN(f->payload_len, (uint64_t)cap);
    memcpy(pl, p + f->header_len, k);
    if (f->masked) ws_mask(pl, k, f->mask, 0);
    *n = (size_t)f->payload_len;
    ws_engine_consume(c, f->header_len + (size_t)f->payload_len);
    return 1;
}
/* Takes the next frame, which must be a close: its code (0 for an empty payload), -1 if the next
 * frame is not a close or nothing is waiting. reason (may be NULL) gets the reason text. */
static int cn_pop_close(ws_conn *c, char reason[126]) {
    ws_frame f;
    uint8_t pl[126];
    size_t n = 0;
    if (reason) reason[0] = '\0';
    if (!cn_pop(c, &f, pl, sizeof pl, &n) || f.opcode != WS_OP_CLOSE || !f.fin || n == 1 || n > 125)
        return -1;
    if (f.masked != !ws_conn_is_server(c)) return -1;   /* clients mask, servers don't */
    if (reason && n > 2) { memcpy(reason, pl + 2, n - 2); reason[n - 2] = '\0'; }
    return n ? (pl[0] << 8) | pl[1] : 0;
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

/* A server engine waiting for the upgrade request. */
static ws_conn *cn_server_hs(void) {
    ws_engine_opts o;
    memset(&o, 0, sizeof o);
    o.server = 1;
    return cn_make(&o);
}

/* Checks that c's output holds exactly one valid 101 for cn_req and consumes it. */
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

/* ======================================================================================== */
/* ---- data frames ---- */
static void cn_data_whole(void) {
    static uint8_t big[70000], buf[70000 + 14];
    int server;
    size_t i, n;
    for (i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7 + (i >> 8));
    for (server = 0; server <= 1; server++) {
        ws_conn *c;
        cn_begin(NULL);
        c = cn_open(server);
        n = cn_pframe(c, buf, 1, WS_OP_TEXT, "Hello", 5);
        CHECK_EQ(n, 5 + (server ? 6 : 2));
        cn_feed(c, buf, n);
        n = cn_pframe(c, buf, 1, WS_OP_BINARY, big, 200);     /* 16-bit length */
        cn_feed(c, buf, n);
        n = cn_pframe(c, buf, 1, WS_OP_BINARY, big, sizeof big);  /* 64-bit length */
        cn_feed(c, buf, n);
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
        CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
        CHECK_EQ(ws_engine_wants_eof(c), 0);
        CHECK(c->rx == NULL);   /* internal: idle, the receive buffer went back (no API shows it) */
        cn_end();
    }
}
static void test_conn_data_whole(void) { cn_ways(cn_data_whole); }

/* A big text frame after a small one, arriving in chunks: the receive buffer is compacted and
 * grown while the payload is half unmasked and half UTF-8-checked. (The chunks are this test's
 * own splits, so it is not run three ways.) */
static void test_conn_big_text_chunks(void) {
    static uint8_t text[40000], in[40100];
    size_t i, n, chunk;
    int server;
    for (i = 0; i < sizeof text; i += 2) { text[i] = 0xc3; text[i + 1] = (uint8_t)(0xa0 + i % 32); }
    for (server = 0; server <= 1; server++) {
        for (chunk = 997; chunk <= 16385; chunk += 15388) {
            ws_conn *c;
            cn_begin(NULL);
            c = cn_open(server);
            n = cn_pframe(c, in, 1, WS_OP_BINARY, "0123456789", 10);
            n += cn_pframe(c, in + n, 1, WS_OP_TEXT, text, sizeof text);
            n += cn_pframe(c, in + n, 1, WS_OP_TEXT, "end", 3);
            for (i = 0; i < n; i += chunk)
                CHECK_EQ(ws_engine_feed(c, in + i, WS__MIN(chunk, n - i), cn_now), WS_OK);
            CHECK_EQ(cn_count(WS_EV_MESSAGE), 3);
            CHECK_EQ(cn_nev, 4);                   /* OPEN and the three messages, nothing else */
            CHECK(cn_find(WS_EV_MESSAGE, 1) && cn_find(WS_EV_MESSAGE, 1)->len == sizeof text &&
                  cn_find(WS_EV_MESSAGE, 1)->sum == cn_fnv(text, sizeof text));
            CHECK(cn_find(WS_EV_MESSAGE, 2) && cn_find(WS_EV_MESSAGE, 2)->len == 3 &&
                  memcmp(cn_find(WS_EV_MESSAGE, 2)->data, "end", 3) == 0);
            CHECK_EQ(cn_count(WS_EV_ERROR), 0);
            CHECK(c->rx == NULL);   /* internal: no buffer held between messages */
            cn_end();
        }
    }
}

/* The callback answers from inside the event (data borrowed from the receive buffer). */
static void cn_echo_from_callback(void) {
    int server;
    for (server = 0; server <= 1; server++) {
        ws_conn *c;
        uint8_t in[128], pl[16];
        size_t n, len = 0;
        ws_frame f;
        cn_begin(NULL);
        c = cn_open(server);
        cn_echo = 1;
        n = cn_pframe(c, in, 1, WS_OP_TEXT, "one", 3);
        n += cn_pframe(c, in + n, 0, WS_OP_BINARY, "t", 1);
        n += cn_pframe(c, in + n, 1, WS_OP_CONT, "wo", 2);
        n += cn_pframe(c, in + n, 1, WS_OP_TEXT, "bye", 3);
        n += cn_pframe(c, in + n, 1, WS_OP_TEXT, "after", 5);  /* still delivered: no close yet */
        cn_feed(c, in, n);
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
        CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSING);
        cn_end();
    }
}
static void test_conn_echo_from_callback(void) { cn_ways(cn_echo_from_callback); }

static void cn_zero_length(void) {
    int server;
    for (server = 0; server <= 1; server++) {
        ws_conn *c;
        cn_begin(NULL);
        c = cn_open(server);
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
        cn_end();
    }
}
static void test_conn_zero_length(void) { cn_ways(cn_zero_length); }

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

static void cn_fragmented(void) {
    uint8_t buf[128], pl[8];
    size_t n = 0, len = 0;
    int server;
    ws_frame f;
    for (server = 0; server <= 1; server++) {
        ws_conn *c;
        cn_begin(NULL);
        c = cn_open(server);
        n = cn_fragmented_input(c, buf);
        cn_feed(c, buf, n);
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
        CHECK(c->msg == NULL);   /* internal: the assembly buffer went back after the message */
        cn_feed_frame(c, 1, WS_OP_BINARY, "z", 1);   /* no message is still open: a new one */
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 2);          /* is fine (inside one it is 1002) */
        CHECK_EQ(cn_count(WS_EV_ERROR), 0);
        cn_end();
    }
}
static void test_conn_fragmented(void) { cn_ways(cn_fragmented); }

static void cn_fragment_mode(void) {
    uint8_t buf[128];
    size_t n;
    int how;
    for (how = 0; how < 3; how++) {   /* cfg.fragments; ws_conn_set_fragments(1); override to 0 */
        ws_config cfg;
        ws_conn *c;
        memset(&cfg, 0, sizeof cfg);
        cfg.fragments = how != 1;
        cn_begin(&cfg);
        c = cn_server_hs();            /* the override is set before the connection opens */
        if (how == 1) ws_conn_set_fragments(c, 1);
        if (how == 2) ws_conn_set_fragments(c, 0);
        cn_feed(c, (const uint8_t *)cn_req, strlen(cn_req));
        cn_check_101(c, NULL);
        n = cn_fragmented_input(c, buf);
        cn_feed(c, buf, n);
        if (how == 2) {
            CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
            if (cn_find(WS_EV_MESSAGE, 0)) CHECK_EQ(cn_find(WS_EV_MESSAGE, 0)->len, 12);
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
        cn_end();
    }
}
static void test_conn_fragment_mode(void) { cn_ways(cn_fragment_mode); }

/* ws_conn_set_fragments while a message is being assembled (between its fragments): that
 * message still ends whole, the switch applies from the next one (regression: its first
 * fragments, held for assembly, were never delivered, and were put in front of a later one). */
static void test_conn_fragment_mode_switch(void) {
    ws_conn *c;
    const cn_ev *m;
    cn_begin(NULL);
    c = cn_open(1);
    cn_feed_frame(c, 0, WS_OP_TEXT, "ab", 2);
    ws_conn_set_fragments(c, 1);
    cn_feed_frame(c, 1, WS_OP_CONT, "cd", 2);
    CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
    m = cn_find(WS_EV_MESSAGE, 0);
    if (m) { CHECK_EQ(m->fin, 1); CHECK_EQ(m->len, 4); CHECK_MEM(m->data, "abcd", 4); }
    cn_feed_frame(c, 0, WS_OP_BINARY, "ef", 2);   /* fragment mode now */
    m = cn_find(WS_EV_MESSAGE, 1);
    CHECK(m != NULL);
    if (m) { CHECK_EQ(m->fin, 0); CHECK_EQ(m->len, 2); CHECK_MEM(m->data, "ef", 2); }
    ws_conn_set_fragments(c, 0);                  /* back, in the middle of one: its rest */
    cn_feed_frame(c, 1, WS_OP_CONT, "gh", 2);
    m = cn_find(WS_EV_MESSAGE, 2);
    CHECK(m != NULL);
    if (m) { CHECK_EQ(m->fin, 1); CHECK_EQ(m->len, 2); CHECK_MEM(m->data, "gh", 2); }
    cn_feed_frame(c, 1, WS_OP_TEXT, "Q", 1);
    m = cn_find(WS_EV_MESSAGE, 3);
    CHECK(m != NULL);
    if (m) { CHECK_EQ(m->fin, 1); CHECK_EQ(m->len, 1); CHECK_MEM(m->data, "Q", 1); }
    CHECK_EQ(cn_count(WS_EV_MESSAGE), 4);
    CHECK_EQ(cn_count(WS_EV_ERROR), 0);
    cn_end();
}

/* Back from fragment mode in the middle of a message already over max_message: the rest is
 * refused (1009), the bytes delivered as fragments count (regression: max_message minus them
 * wrapped round, and the rest was taken, bounded by nothing but max_memory). */
static void test_conn_fragment_mode_switch_limit(void) {
    ws_config cfg;
    ws_conn *c;
    const cn_ev *e;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_message = 4;
    cn_begin(&cfg);
    c = cn_open(1);
    ws_conn_set_fragments(c, 1);
    cn_feed_frame(c, 0, WS_OP_BINARY, "abc", 3);
    cn_feed_frame(c, 0, WS_OP_CONT, "def", 3);    /* 6 bytes so far, as fragments: fine */
    CHECK_EQ(cn_count(WS_EV_MESSAGE), 2);
    ws_conn_set_fragments(c, 0);
    cn_feed_frame(c, 1, WS_OP_CONT, "g", 1);
    CHECK_EQ(cn_pop_close(c, NULL), WS_CLOSE_TOO_BIG);
    CHECK_EQ(cn_count(WS_EV_MESSAGE), 2);
    CHECK_EQ(cn_count(WS_EV_ERROR), 1);
    e = cn_find(WS_EV_ERROR, 0);
    if (e) CHECK_EQ(e->result, WS_ERR_TOO_BIG);
    cn_end();
}

/* ---- protocol violations: each one fails the connection with a close code ---- */
/* Opens a conn, feeds in (the run's way: cn_ways feeds it whole, byte by byte and split at
 * every offset) and checks the close code queued, the ERROR event, that no message got out,
 * and that later frames are ignored. msgs = messages expected before the failure. */
static void cn_check_fail(ws_conn *c, const uint8_t *in, size_t n, int code, ws_result rc, int msgs);
static void cn_expect_fail(int server, const uint8_t *in, size_t n, int code, ws_result rc, int msgs) {
    cn_begin(NULL);
    cn_check_fail(cn_open(server), in, n, code, rc, msgs);
}
/* The same for an open conn c of a scenario begun by the caller (test_deflate.c: one that
 * agreed on permessage-deflate). */
static void cn_check_fail(ws_conn *c, const uint8_t *in, size_t n, int code, ws_result rc, int msgs) {
    const cn_ev *e;
    char reason[126];
    cn_feed(c, in, n);
    CHECK_EQ(cn_pop_close(c, reason), code);
    CHECK(reason[0] != '\0');                 /* the why, for the peer's logs */
    CHECK_EQ(cn_tx_used(c), 0);                /* and nothing else */
    CHECK_EQ(cn_count(WS_EV_MESSAGE), msgs);
    CHECK_EQ(cn_count(WS_EV_ERROR), 1);
    e = cn_find(WS_EV_ERROR, 0);
    if (e) CHECK_EQ(e->result, rc);
    CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSING);
    CHECK_EQ(ws_engine_wants_eof(c), 1);       /* the close is out: done writing */
    CHECK(c->rx == NULL);                      /* internal: no more input is kept */
    cn_feed_frame(c, 1, WS_OP_TEXT, "late", 4);
    cn_feed_frame(c, 1, WS_OP_PING, "late", 4);
    CHECK_EQ(cn_count(WS_EV_MESSAGE), msgs);
    CHECK_EQ(cn_count(WS_EV_PING), 0);
    CHECK_EQ(cn_tx_used(c), 0);
    cn_eof(c);                                 /* the peer closes TCP */
    e = cn_last();
    CHECK(e && e->type == WS_EV_CLOSE);
    if (e) {
        CHECK_EQ(e->close_code, code);
        CHECK_EQ(e->result, rc);
        CHECK_EQ(e->clean, 0);
    }
    CHECK_EQ(cn_nev, msgs + 3);                /* OPEN, messages, ERROR, CLOSE */
    CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSED);
    CHECK_EQ(ws_engine_feed(c, "x", 1, cn_now), WS_ERR_CLOSED);
    CHECK_EQ(ws_engine_deadline(c), 0);
    cn_end();
}

static void cn_bad_continuation(void) {
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
static void test_conn_bad_continuation(void) { cn_ways(cn_bad_continuation); }

static void cn_bad_header(void) {
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
static void test_conn_bad_header(void) { cn_ways(cn_bad_header); }

/* ---- UTF-8 ---- */
static void cn_utf8(void) {
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
static void test_conn_utf8(void) { cn_ways(cn_utf8); }

/* Fail fast: the close goes out at the first bad fragment, and inside a frame whose payload
 * has only partly arrived (the second half feeds byte by byte on purpose: which byte fails). */
static void cn_utf8_fail_fast(void) {
    uint8_t b[300];
    size_t n, i;
    int server;
    for (server = 0; server <= 1; server++) {
        ws_conn *c;
        cn_begin(NULL);
        c = cn_open(server);
        cn_feed_frame(c, 0, WS_OP_TEXT, "good", 4);
        CHECK_EQ(cn_tx_used(c), 0);
        cn_feed_frame(c, 0, WS_OP_CONT, "b\xc3\x28", 3);   /* bad, and not the last fragment */
        CHECK_EQ(cn_pop_close(c, NULL), 1007);
        CHECK_EQ(cn_count(WS_EV_ERROR), 1);
        cn_feed_frame(c, 1, WS_OP_CONT, "end", 3);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 0);
        CHECK_EQ(cn_tx_used(c), 0);
        cn_end();

        cn_begin(NULL);
        c = cn_open(server);
        memset(b, 0, sizeof b);
        memcpy(b + 100, "\xf8", 1);                   /* byte 100 of 200 can't be UTF-8 */
        for (i = 0; i < 200; i++) if (i != 100) b[i] = 'a';
        {
            uint8_t fr[220];
            n = cn_frame(fr, 1, 0, WS_OP_TEXT, server, b, 200);
            for (i = 0; i < n; i++) {
                CHECK_EQ(ws_engine_feed(c, fr + i, 1, cn_now), WS_OK);
                if (cn_tx_used(c)) break;
            }
            CHECK_EQ(i, n - 200 + 100);               /* exactly at the bad byte */
            CHECK_EQ(cn_pop_close(c, NULL), 1007);
            CHECK_EQ(cn_count(WS_EV_ERROR), 1);
            CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSING);
        }
        cn_end();
    }
}
static void test_conn_utf8_fail_fast(void) { cn_ways(cn_utf8_fail_fast); }

/* ---- size limits: 1009 as soon as the header shows it ---- */
static void cn_limits(void) {
    ws_config cfg;
    uint8_t b[300], pay[200];
    size_t n;
    int server, which;
    memset(pay, 'z', sizeof pay);
    for (server = 0; server <= 1; server++) {
        for (which = 0; which < 4; which++) {
            ws_conn *c;
            memset(&cfg, 0, sizeof cfg);
            if (which == 0) cfg.max_frame = 100;
            else cfg.max_message = 100;
            cn_begin(&cfg);
            c = cn_open(server);
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
            cn_feed(c, b, n);
            CHECK_EQ(cn_pop_close(c, NULL), 1009);
            CHECK_EQ(cn_count(WS_EV_ERROR), 1);
            if (cn_find(WS_EV_ERROR, 0)) CHECK_EQ(cn_find(WS_EV_ERROR, 0)->result, WS_ERR_TOO_BIG);
            /* internal (no API shows what the engine holds): no payload is buffered */
            CHECK(c->rx == NULL);
            if (which != 2) CHECK(c->msg == NULL);
            cn_feed(c, pay, sizeof pay);                   /* the payload: dropped */
            CHECK(c->rx == NULL);
            CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
            cn_end();
        }
    }
}
static void test_conn_limits(void) { cn_ways(cn_limits); }

/* ---- ping and pong ---- */
static void cn_ping_pong(void) {
    uint8_t pay[125], pl[126];
    size_t i, len = 0;
    int server, noauto;
    ws_frame f;
    for (i = 0; i < sizeof pay; i++) pay[i] = (uint8_t)(i * 3);
    for (server = 0; server <= 1; server++) {
        for (noauto = 0; noauto <= 1; noauto++) {
            ws_config cfg;
            ws_conn *c;
            memset(&cfg, 0, sizeof cfg);
            cfg.no_auto_pong = noauto;
            cn_begin(&cfg);
            c = cn_open(server);
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
            cn_end();
        }
    }
}
static void test_conn_ping_pong(void) { cn_ways(cn_ping_pong); }

/* ---- the close handshake ---- */
static void cn_peer_close(void) {
    int server;
    for (server = 0; server <= 1; server++) {
        ws_conn *c;
        char reason[126];
        const cn_ev *e;
        int64_t dl;
        cn_begin(NULL);
        c = cn_open(server);
        cn_feed_frame(c, 1, WS_OP_CLOSE, "\x0f\xa0going", 7);   /* 4000 "going" */
        CHECK_EQ(cn_pop_close(c, reason), 4000);                /* echoed */
        CHECK_EQ(cn_tx_used(c), 0);
        CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSING);
        CHECK_EQ(ws_engine_wants_eof(c), server);          /* 7.1.1: the server closes TCP */
        CHECK_EQ(cn_count(WS_EV_CLOSE), 0);                /* not before TCP closes */
        CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "x", 1), WS_ERR_CLOSED);
        CHECK_EQ(ws_conn_close(c, 1000, NULL), WS_ERR_CLOSED);   /* both closes went already */
        cn_feed_frame(c, 1, WS_OP_TEXT, "late", 4);         /* after a close: ignored */
        cn_feed_frame(c, 1, WS_OP_PING, "late", 4);
        CHECK_EQ(cn_tx_used(c), 0);
        CHECK_EQ(cn_nev, 1);
        if (server) {
            cn_eof(c);                                      /* the TCP close */
        } else {                                            /* the server never closes TCP */
            dl = ws_engine_deadline(c);
            CHECK_EQ(dl, CN_T0 + 5000);                     /* close_timeout_ms */
            CHECK_EQ(cn_tick(c, dl - 1), dl);
            CHECK_EQ(cn_nev, 1);
            CHECK_EQ(cn_tick(c, dl), 0);
        }
        e = cn_last();
        CHECK(e && e->type == WS_EV_CLOSE);
        if (e) {
            CHECK_EQ(e->close_code, 4000);
            CHECK_STR(e->reason, "going");
            CHECK_EQ(e->clean, 1);                          /* both close frames went */
            CHECK_EQ(e->result, WS_OK);
        }
        CHECK_EQ(ws_engine_wants_eof(c), 1);
        cn_end();
    }
}
static void test_conn_peer_close(void) { cn_ways(cn_peer_close); }

static void cn_peer_close_empty(void) {
    int server;
    for (server = 0; server <= 1; server++) {
        ws_conn *c;
        uint8_t b[32];
        size_t n;
        cn_begin(NULL);
        c = cn_open(server);
        n = cn_pframe(c, b, 1, WS_OP_CLOSE, "", 0);
        n += cn_pframe(c, b + n, 1, WS_OP_TEXT, "after", 5);   /* same bytes: ignored */
        cn_feed(c, b, n);
        CHECK_EQ(cn_pop_close(c, NULL), 0);                   /* an empty close back */
        CHECK_EQ(cn_tx_used(c), 0);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 0);
        cn_eof(c);
        CHECK_EQ(cn_count(WS_EV_CLOSE), 1);
        if (cn_last()) {
            CHECK_EQ(cn_last()->close_code, 1005);
            CHECK_STR(cn_last()->reason, "");
            CHECK_EQ(cn_last()->clean, 1);
        }
        cn_end();
    }
}
static void test_conn_peer_close_empty(void) { cn_ways(cn_peer_close_empty); }

static void cn_peer_close_invalid(void) {
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
            ws_conn *c;
            cn_begin(NULL);
            c = cn_open(server);
            p[0] = (uint8_t)(good[i] >> 8); p[1] = (uint8_t)good[i];
            cn_feed_frame(c, 1, WS_OP_CLOSE, p, 2);
            CHECK_EQ(cn_pop_close(c, NULL), (int)good[i]);
            CHECK_EQ(cn_count(WS_EV_ERROR), 0);
            cn_end();
        }
    }
}
static void test_conn_peer_close_invalid(void) { cn_ways(cn_peer_close_invalid); }

static void cn_local_close(void) {
    static const unsigned bad[] = { 1004, 1005, 1006, 1015, 999, 2999, 5000 };
    char r124[125], r123[124];
    int server;
    size_t i;
    memset(r124, 'r', 124); r124[124] = '\0';
    memset(r123, 'r', 123); r123[123] = '\0';
    for (server = 0; server <= 1; server++) {
        ws_conn *c;
        char reason[126];
        cn_begin(NULL);
        c = cn_open(server);
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
            CHECK_EQ(ws_conn_close(c, (uint16_t)bad[i], NULL), WS_ERR_ARG);
        CHECK_EQ(ws_conn_close(c, 1000, r124), WS_ERR_ARG);      /* reason > 123 bytes */
        CHECK_EQ(ws_conn_close(c, 0, "why"), WS_ERR_ARG);        /* reason without a code */
        CHECK_EQ(ws_conn_close(c, 1000, "bad\xc3"), WS_ERR_ARG); /* not UTF-8 */
        CHECK_EQ(cn_tx_used(c), 0);                               /* nothing was queued */
        CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
        CHECK_EQ(ws_conn_close(c, 1000, r123), WS_OK);
        CHECK_EQ(cn_pop_close(c, reason), 1000);
        CHECK_STR(reason, r123);
        CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSING);
        CHECK_EQ(ws_engine_wants_eof(c), 0);                      /* waits for the peer's close */
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
        CHECK_EQ(ws_engine_wants_eof(c), server);                 /* got it: a server ends TCP */
        cn_eof(c);
        CHECK(cn_last() && cn_last()->type == WS_EV_CLOSE);
        if (cn_last()) { CHECK_EQ(cn_last()->clean, 1); CHECK_EQ(cn_last()->close_code, 1000); }
        cn_end();

        cn_begin(NULL);                                           /* code 0: empty close */
        c = cn_open(server);
        CHECK_EQ(ws_conn_close(c, 0, NULL), WS_OK);
        CHECK_EQ(cn_pop_close(c, NULL), 0);
        cn_end();
    }
}
static void test_conn_local_close(void) { cn_ways(cn_local_close); }

static void cn_close_timeout(void) {
    int server;
    for (server = 0; server <= 1; server++) {
        ws_config cfg;
        ws_conn *c;
        int64_t dl;
        memset(&cfg, 0, sizeof cfg);
        cfg.close_timeout_ms = 2000;
        cfg.ping_interval_ms = -1;
        cn_begin(&cfg);
        c = cn_open(server);
        CHECK_EQ(ws_engine_deadline(c), 0);          /* open, no heartbeat: no timer */
        CHECK_EQ(ws_conn_close(c, 1001, "bye"), WS_OK);
        dl = ws_engine_deadline(c);
        CHECK_EQ(dl, CN_T0 + 2000);
        CHECK_EQ(cn_tick(c, dl - 1), dl);
        CHECK_EQ(cn_count(WS_EV_CLOSE), 0);
        CHECK_EQ(cn_tick(c, dl), 0);
        CHECK_EQ(cn_count(WS_EV_CLOSE), 1);
        if (cn_last()) {
            CHECK_EQ(cn_last()->type, WS_EV_CLOSE);
            CHECK_EQ(cn_last()->clean, 0);
            CHECK_EQ(cn_last()->close_code, 1006);
            CHECK_EQ(cn_last()->result, WS_ERR_TIMEOUT);
        }
        CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSED);
        cn_eof(c);                                   /* again: nothing more */
        cn_tick(c, dl + 1);
        CHECK_EQ(cn_count(WS_EV_CLOSE), 1);
        cn_end();
    }
}
static void test_conn_close_timeout(void) { cn_ways(cn_close_timeout); }

/* ERROR then CLOSE, each exactly once, even when the end is reported again and the engines are
 * destroyed. */
static void cn_close_once(void) {
    ws_conn *c, *d;
    cn_begin(NULL);
    c = cn_open(1);
    d = cn_open(0);
    cn_feed_frame(c, 1, WS_OP_CONT, "x", 1);
    cn_feed_frame(c, 1, WS_OP_CONT, "x", 1);
    cn_eof(c);
    cn_eof(c);
    CHECK_EQ(cn_tick(c, CN_T0 + 100000), 0);
    CHECK_EQ(cn_nev, 4);                          /* OPEN c, OPEN d, ERROR c, CLOSE c */
    CHECK_EQ(cn_evs[2].type, WS_EV_ERROR);
    CHECK_EQ(cn_evs[3].type, WS_EV_CLOSE);
    CHECK_EQ(cn_evs[3].close_code, 1002);
    CHECK_EQ(cn_evs[3].result, WS_ERR_PROTOCOL);
    CHECK(cn_evs[3].conn == (void *)c);
    CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "x", 1), WS_ERR_CLOSED);
    CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSED);  /* (a loop test counts conns: ws_conn_count) */
    CHECK_EQ(ws_conn_state(d), WS_STATE_OPEN);
    cn_end();                                     /* d gets its one CLOSE here */
    CHECK_EQ(cn_nev, 5);
    CHECK_EQ(cn_evs[4].type, WS_EV_CLOSE);
    CHECK(cn_evs[4].conn == (void *)d);
    CHECK_EQ(cn_evs[4].clean, 0);
}
static void test_conn_close_once(void) { cn_ways(cn_close_once); }

/* ---- heartbeat ---- */
static void cn_heartbeat(void) {
    ws_config cfg;
    ws_conn *c;
    ws_frame f;
    uint8_t pl[8];
    size_t len = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.ping_interval_ms = 1000;
    cfg.pong_timeout_ms = 500;
    cn_begin(&cfg);                      /* no pong: dropped */
    c = cn_open(1);
    CHECK_EQ(ws_engine_deadline(c), CN_T0 + 1000);
    CHECK_EQ(cn_tick(c, CN_T0 + 999), CN_T0 + 1000);
    CHECK_EQ(cn_tx_used(c), 0);
    CHECK_EQ(cn_tick(c, CN_T0 + 1000), CN_T0 + 1500);
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
    CHECK_EQ(f.opcode, WS_OP_PING);
    CHECK_EQ(f.masked, 0);
    CHECK_EQ(cn_tx_used(c), 0);
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    CHECK_EQ(cn_tick(c, CN_T0 + 1499), CN_T0 + 1500);
    CHECK_EQ(cn_count(WS_EV_CLOSE), 0);
    CHECK_EQ(cn_tick(c, CN_T0 + 1500), 0);
    CHECK_EQ(cn_nev, 3);
    CHECK_EQ(cn_evs[1].type, WS_EV_ERROR);
    CHECK_EQ(cn_evs[1].result, WS_ERR_TIMEOUT);
    CHECK_EQ(cn_evs[2].type, WS_EV_CLOSE);
    CHECK_EQ(cn_evs[2].result, WS_ERR_TIMEOUT);
    CHECK_EQ(cn_evs[2].clean, 0);
    CHECK_EQ(cn_evs[2].close_code, 1006);
    CHECK_EQ(ws_engine_wants_eof(c), 1);
    cn_end();

    cn_begin(&cfg);                      /* pongs in time keep it */
    c = cn_open(1);
    (void)cn_tick(c, CN_T0 + 1000);
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_PING);
    cn_now = CN_T0 + 1400;
    cn_feed_frame(c, 1, WS_OP_PONG, "", 0);
    CHECK_EQ(cn_tick(c, cn_now), CN_T0 + 2000);
    CHECK_EQ(cn_tick(c, CN_T0 + 1900), CN_T0 + 2000);
    CHECK_EQ(cn_tick(c, CN_T0 + 2000), CN_T0 + 2500);
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_PING);
    cn_now = CN_T0 + 2499;
    cn_feed_frame(c, 1, WS_OP_PONG, "", 0);
    CHECK_EQ(cn_tick(c, CN_T0 + 2999), CN_T0 + 3000);
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    CHECK_EQ(cn_count(WS_EV_PONG), 2);
    CHECK_EQ(cn_count(WS_EV_CLOSE), 0);
    cn_end();

    memset(&cfg, 0, sizeof cfg);         /* servers ping every 30 s by default, clients never */
    cn_begin(&cfg);
    c = cn_open(1);
    {
        ws_conn *cl = cn_open(0);
        CHECK_EQ(ws_engine_deadline(cl), 0);
        (void)cn_tick(c, CN_T0 + 29999);
        CHECK_EQ(cn_tx_used(c), 0);
        (void)cn_tick(c, CN_T0 + 30000);
        CHECK_EQ(cn_tick(cl, CN_T0 + 30000), 0);
        CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_PING);
        CHECK_EQ(cn_tx_used(cl), 0);
    }
    cn_end();
}
static void test_conn_heartbeat(void) { cn_ways(cn_heartbeat); }

static void cn_idle_timeout(void) {
    ws_config cfg;
    ws_conn *c;
    char reason[126];
    int server;
    for (server = 0; server <= 1; server++) {
        memset(&cfg, 0, sizeof cfg);
        cfg.ping_interval_ms = -1;
        cfg.idle_timeout_ms = 2000;
        cn_begin(&cfg);
        c = cn_open(server);
        cn_now = CN_T0 + 1500;
        cn_feed_frame(c, 1, WS_OP_TEXT, "hi", 2);    /* input resets the idle clock */
        CHECK_EQ(cn_tick(c, cn_now), CN_T0 + 3500);
        CHECK_EQ(cn_tick(c, CN_T0 + 3499), CN_T0 + 3500);
        CHECK_EQ(cn_tx_used(c), 0);
        CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
        (void)cn_tick(c, CN_T0 + 3500);
        CHECK_EQ(cn_pop_close(c, reason), 1001);
        CHECK_STR(reason, "idle timeout");
        CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSING);
        cn_feed_frame(c, 1, WS_OP_CLOSE, "\x03\xe9", 2);
        CHECK_EQ(cn_tx_used(c), 0);
        cn_eof(c);
        if (cn_last()) {
            CHECK_EQ(cn_last()->type, WS_EV_CLOSE);
            CHECK_EQ(cn_last()->close_code, 1001);
            CHECK_EQ(cn_last()->clean, 1);
        }
        cn_end();
    }
}
static void test_conn_idle_timeout(void) { cn_ways(cn_idle_timeout); }

static void cn_keepalive(void) {
    ws_config cfg;
    ws_conn *c, *s;
    ws_frame f;
    uint8_t pl[8];
    size_t len = 1;
    memset(&cfg, 0, sizeof cfg);
    cfg.keepalive_ms = 700;
    cfg.pong_timeout_ms = 100;           /* had a keepalive expected an answer: due at +800 */
    cn_begin(&cfg);
    c = cn_open(0);
    s = cn_open(1);   /* servers ping (30 s default) instead */
    CHECK_EQ(cn_tick(c, CN_T0 + 699), CN_T0 + 700);
    CHECK_EQ(cn_tx_used(c), 0);
    CHECK_EQ(cn_tick(c, CN_T0 + 700), CN_T0 + 1400);   /* the next one; no pong is awaited */
    CHECK_EQ(cn_tick(s, CN_T0 + 700), CN_T0 + 30000);
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
    CHECK_EQ(f.opcode, WS_OP_PONG);
    CHECK_EQ(f.masked, 1);
    CHECK_EQ(len, 0);
    CHECK_EQ(cn_tx_used(c), 0);
    CHECK_EQ(cn_tx_used(s), 0);
    (void)cn_tick(c, CN_T0 + 1400);
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_PONG);
    (void)cn_tick(c, CN_T0 + 100000);    /* no answer ever: still open */
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    CHECK_EQ(cn_count(WS_EV_CLOSE), 0);
    cn_end();
}
static void test_conn_keepalive(void) { cn_ways(cn_keepalive); }

/* ---- sending ---- */
static void cn_send_checks(void) {
    ws_config cfg;
    ws_conn *c, *pre;
    uint8_t big[126], pl[128];
    size_t len = 0;
    ws_frame f;
    memset(big, 'b', sizeof big);
    memset(&cfg, 0, sizeof cfg);
    cn_begin(&cfg);
    c = cn_open(1);
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
    cn_end();

    cfg.max_send_queue = 100;
    cn_begin(&cfg);
    c = cn_open(1);
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
    pre = cn_server_hs();                                             /* not open yet */
    CHECK_EQ(ws_conn_send(pre, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
    CHECK_EQ(cn_tx_used(pre), 0);
    cn_end();
}
static void test_conn_send_checks(void) { cn_ways(cn_send_checks); }

static void cn_send_client_masks(void) {
    ws_conn *c;
    uint8_t pl[2][64], masks[8][4];
    size_t len = 0;
    int i, j, same = 0;
    ws_frame f;
    cn_begin(NULL);
    c = cn_open(0);
    for (i = 0; i < 8; i++) {
        const uint8_t *out;
        size_t n;
        CHECK_EQ(ws_conn_send_text(c, "masked payload"), WS_OK);
        n = ws_engine_output(c, &out);
        CHECK(cn_memmem(out, n, "masked", 6) == NULL);
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
    cn_end();
}
static void test_conn_send_client_masks(void) { cn_ways(cn_send_client_masks); }

/* A client masks while it copies into its queue: every length through the vector steps and
 * tails, from sources at each alignment, arrives whole, and the caller's bytes stay as they were. */
static void test_conn_send_client_mask_copy(void) {
    static uint8_t src[70000 + 8], keep[70000 + 8], pl[70000];
    static const size_t big[] = {1000, 4097, 65535, 65536, 70000};
    ws_conn *c;
    ws_frame f;
    size_t n, al, len, i;
    cn_begin(NULL);
    c = cn_open(0);
    for (i = 0; i < sizeof src; i++) src[i] = (uint8_t)(i * 7 + (i >> 8));
    memcpy(keep, src, sizeof src);
    for (n = 0; n < 200 + sizeof big / sizeof big[0] && !t_bad; n++)
        for (al = 0; al < 8 && !t_bad; al++) {
            size_t k = n < 200 ? n : big[n - 200];
            CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, src + al, k), WS_OK);
            len = 0;
            CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
            CHECK_EQ(f.masked, 1);
            CHECK_EQ(len, k);
            CHECK_MEM(pl, src + al, k);
        }
    CHECK_MEM(src, keep, sizeof src);           /* the source is read, never masked in place */
    cn_end();
}

static void cn_send_frame(void) {
    int server;
    for (server = 0; server <= 1; server++) {
        ws_conn *c;
        uint8_t pl[16];
        const uint8_t *out;
        size_t len = 0;
        ws_frame f;
        cn_begin(NULL);
        c = cn_open(server);
        CHECK_EQ(ws_conn_send_frame(c, 0, WS_RSV1 | WS_RSV3, WS_OP_TEXT, "ab", 2), WS_OK);
        CHECK_EQ(ws_conn_send_frame(c, 0, 0, WS_OP_CONT, "cd", 2), WS_OK);
        CHECK_EQ(ws_conn_send_frame(c, 1, WS_RSV2, WS_OP_CONT, "", 0), WS_OK);
        CHECK_EQ(ws_conn_send_frame(c, 1, 0, 0xB, "r", 1), WS_OK);   /* a reserved opcode */
        CHECK_EQ(ws_conn_send_frame(c, 1, 8, WS_OP_TEXT, "", 0), WS_ERR_ARG);
        CHECK_EQ(ws_conn_send_frame(c, 1, 0, 16, "", 0), WS_ERR_ARG);
        if (ws_engine_output(c, &out) >= 2) {   /* the first header byte, exactly */
            CHECK_EQ(out[0], 0x51);
            CHECK_EQ(out[1], server ? 0x02 : 0x82);
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
        if (ws_engine_output(c, &out) >= 3) {
            uint8_t p[8];
            memcpy(p, out, WS__MIN(cn_tx_used(c), sizeof p));
            CHECK_EQ(p[0], 0x8B);
            CHECK_EQ(p[1], server ? 0x01 : 0x81);
            if (!server) ws_mask(p + 6, 1, p + 2, 0);
            CHECK_EQ(p[server ? 2 : 6], 'r');
        }
        cn_end();
    }
}
static void test_conn_send_frame(void) { cn_ways(cn_send_frame); }

/* ---- the server's handshake ---- */
static void cn_server_handshake_splits(void) {
    size_t n = strlen(cn_req);
    ws_conn *c;
    cn_begin(NULL);
    c = cn_server_hs();
    CHECK_EQ(ws_engine_deadline(c), CN_T0 + 10000);   /* handshake_timeout_ms */
    CHECK_EQ(ws_conn_state(c), WS_STATE_CONNECTING);
    cn_feed(c, (const uint8_t *)cn_req, n);
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    CHECK_EQ(cn_nev, 1);
    CHECK_EQ(cn_evs[0].type, WS_EV_OPEN);
    CHECK_EQ(ws_engine_deadline(c), CN_T0 + 30000);   /* no handshake timer: the heartbeat's */
    CHECK_STR(ws_conn_protocol(c), "");
    cn_check_101(c, NULL);
    CHECK(c->rx == NULL);   /* internal: the request's bytes are not kept */
    cn_end();
}
static void test_conn_server_handshake_splits(void) { cn_ways(cn_server_handshake_splits); }

static void cn_server_handshake_then_frame(void) {
    uint8_t in[512];
    size_t n = strlen(cn_req), fl;
    ws_conn *c;
    ws_frame f;
    uint8_t pl[4];
    size_t len = 0;
    memcpy(in, cn_req, n);
    fl = cn_frame(in + n, 1, 0, WS_OP_TEXT, 1, "first!", 6);
    fl += cn_frame(in + n + fl, 1, 0, WS_OP_PING, 1, "p", 1);
    n += fl;
    cn_begin(NULL);
    c = cn_server_hs();
    cn_feed(c, in, n);
    CHECK_EQ(cn_nev, 3);
    CHECK_EQ(cn_evs[0].type, WS_EV_OPEN);
    CHECK_EQ(cn_evs[1].type, WS_EV_MESSAGE);
    CHECK_EQ(cn_evs[1].len, 6);
    CHECK_MEM(cn_evs[1].data, "first!", 6);
    CHECK_EQ(cn_evs[2].type, WS_EV_PING);
    {   /* the 101, then the pong */
        const uint8_t *p;
        size_t used = ws_engine_output(c, &p);
        const uint8_t *end = used ? cn_memmem(p, used, "\r\n\r\n", 4) : NULL;
        CHECK(end != NULL);
        if (end) ws_engine_consume(c, (size_t)(end + 4 - p));
        CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_PONG && len == 1);
    }
    CHECK_EQ(cn_tx_used(c), 0);
    cn_end();
}
static void test_conn_server_handshake_then_frame(void) { cn_ways(cn_server_handshake_then_frame); }

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

/* An HTTP answer instead of an upgrade: the engine is done writing once it is out (wants the
 * EOF), a close frame may not follow it, and the connection never opened. */
static void cn_check_http_only(ws_conn *c) {
    CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSING);
    CHECK_EQ(ws_conn_close(c, 1000, NULL), WS_ERR_CLOSED);     /* plain HTTP: no close frame */
    CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "x", 1), WS_ERR_CLOSED);
    CHECK_EQ(ws_engine_wants_eof(c), 0);                       /* not before it is sent */
    cn_tx_drain(c);
    CHECK_EQ(ws_engine_wants_eof(c), 1);
    CHECK_EQ(cn_count(WS_EV_OPEN), 0);
}

static void cn_server_on_upgrade(void) {
    ws_config cfg;
    ws_conn *c;
    char out[1024];
    memset(&cfg, 0, sizeof cfg);
    cfg.on_upgrade = cn_on_upgrade;

    cn_hooks("superchat", "X-Test: 1\r\nX-Other: two", 0, NULL);   /* accept, subprotocol */
    cn_begin(&cfg);
    c = cn_server_hs();
    cn_feed(c, (const uint8_t *)cn_req, strlen(cn_req));
    CHECK_EQ(cn_hook_calls, 1);
    CHECK_STR(cn_hook_path, "/chat");
    CHECK_EQ(cn_count(WS_EV_OPEN), 1);
    CHECK_STR(ws_conn_protocol(c), "superchat");
    cn_tx_str(c, out, sizeof out);
    CHECK(strstr(out, "\r\nSec-WebSocket-Protocol: superchat\r\n") != NULL);
    CHECK(strstr(out, "\r\nX-Test: 1\r\n") != NULL);
    CHECK(strstr(out, "\r\nX-Other: two\r\n") != NULL);
    cn_check_101(c, "superchat");
    cn_end();

    cn_hooks("other", NULL, 0, NULL);                 /* a protocol not offered: 500 */
    cn_begin(&cfg);
    c = cn_server_hs();
    cn_feed(c, (const uint8_t *)cn_req, strlen(cn_req));
    CHECK(strncmp(cn_tx_str(c, out, sizeof out), "HTTP/1.1 500 ", 13) == 0);
    CHECK_EQ(cn_nev, 0);
    cn_end();
    CHECK_EQ(cn_nev, 0);

    cn_hooks(NULL, "X-Why: policy", 403, "go away\n");   /* refused */
    cn_begin(&cfg);
    c = cn_server_hs();
    {
        uint8_t in[512];
        size_t n = strlen(cn_req);
        memcpy(in, cn_req, n);
        n += cn_frame(in + n, 1, 0, WS_OP_TEXT, 1, "no", 2);   /* never read as a frame */
        cn_feed(c, in, n);
    }
    cn_tx_str(c, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 403 ", 13) == 0);
    CHECK(strstr(out, "\r\nX-Why: policy\r\n") != NULL);
    CHECK(strstr(out, "\r\nConnection: close\r\n") != NULL);
    CHECK(strstr(out, "\r\nContent-Length: 8\r\n") != NULL);
    CHECK(strlen(out) > 12 && strcmp(out + strlen(out) - 12, "\r\n\r\ngo away\n") == 0);
    CHECK(strstr(out, "Sec-WebSocket-Accept") == NULL);
    cn_check_http_only(c);
    CHECK_EQ(cn_hook_calls, 1);
    CHECK_EQ(cn_nev, 0);
    cn_eof(c);
    CHECK_EQ(cn_nev, 0);                                   /* no events for plain HTTP */
    CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSED);
    cn_end();
}
static void test_conn_server_on_upgrade(void) { cn_ways(cn_server_on_upgrade); }

/* A refusal whose reply headers are malformed is answered with a whole 500 of ws.h's own, also
 * when the refusal itself was a 500 (regression: that one went out cut short after the last
 * good header, without the head's end or the body, and the client waited for the rest). */
static void test_conn_server_refusal_bad_headers(void) {
    ws_config cfg;
    ws_conn *c;
    char out[1024];
    int k;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_upgrade = cn_on_upgrade;
    for (k = 0; k < 2; k++) {
        ws_http_response res;
        size_t used = 0;
        cn_hooks(NULL, "X-Good: 1\r\nno colon here", k ? 500 : 403, "refused\n");
        cn_begin(&cfg);
        c = cn_server_hs();
        cn_feed(c, (const uint8_t *)cn_req, strlen(cn_req));
        cn_tx_str(c, out, sizeof out);
        CHECK_EQ(ws_http_parse_response(out, strlen(out), 4096, &res, &used, NULL), WS_OK);
        CHECK_EQ(res.status, 500);
        CHECK(strstr(out, "X-Good") == NULL);
        CHECK(strstr(out, "\r\nContent-Length: 22\r\n") != NULL);
        CHECK_EQ(strlen(out) - used, 22);                      /* the body, all of it */
        cn_check_http_only(c);
        CHECK_EQ(cn_nev, 0);
        cn_end();
    }
}

/* A refusal from on_upgrade must be an error status, and on_http's answer a final one: a 101
 * (without the handshake's headers) or a 2xx to an upgrade, or a 1xx from on_http, is answered
 * 500 (regression: they went out as given). 300 and up pass. */
static void cn_on_http_status(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user) {
    (void)c; (void)req; (void)user;
    cn_hook_calls++;
    reply->status = cn_hook_status;
}
static void test_conn_server_reply_status(void) {
    static const char get[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    static const int st[] = { 101, 200, 299, 300, 100, 101, 199, 200 }, want[] = { 500, 500, 500, 300, 500, 500, 500, 200 };
    ws_config cfg;
    ws_conn *c;
    char out[1024];
    int k;
    for (k = 0; k < 8; k++) {
        ws_http_response res;
        size_t used = 0;
        memset(&cfg, 0, sizeof cfg);
        if (k < 4) cfg.on_upgrade = cn_on_upgrade;
        else cfg.on_http = cn_on_http_status;
        cn_hooks(NULL, NULL, st[k], "no\n");
        cn_begin(&cfg);
        c = cn_server_hs();
        if (k < 4) cn_feed(c, (const uint8_t *)cn_req, strlen(cn_req));
        else cn_feed(c, (const uint8_t *)get, strlen(get));
        CHECK_EQ(cn_hook_calls, 1);
        cn_tx_str(c, out, sizeof out);
        CHECK_EQ(ws_http_parse_response(out, strlen(out), 4096, &res, &used, NULL), WS_OK);
        CHECK_EQ(res.status, want[k]);
        CHECK(strstr(out, "Sec-WebSocket-Accept") == NULL);
        cn_check_http_only(c);
        CHECK_EQ(cn_nev, 0);
        cn_end();
    }
}

/* ws_conn_close or ws_conn_drop on the connection being upgraded, from on_upgrade (or
 * ws_close_all reaching it there): it never opens (regression: OPEN fired after the close,
 * with sends failing, and the loop sent the 101 before cutting TCP). No events, no 101. */
static int cn_up_how;
static ws_result cn_up_rc;
static void cn_on_upgrade_close(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user) {
    (void)req; (void)reply; (void)user;
    cn_hook_calls++;
    if (cn_up_how == 0) cn_up_rc = ws_conn_close(c, WS_CLOSE_NORMAL, "not you");
    else { ws_conn_drop(c); cn_up_rc = WS_OK; }
}
static void cn_server_close_in_on_upgrade(void) {
    ws_config cfg;
    ws_conn *c;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_upgrade = cn_on_upgrade_close;
    for (cn_up_how = 0; cn_up_how < 2; cn_up_how++) {
        cn_hooks(NULL, NULL, 0, NULL);
        cn_begin(&cfg);
        c = cn_server_hs();
        cn_feed(c, (const uint8_t *)cn_req, strlen(cn_req));
        CHECK_EQ(cn_hook_calls, 1);
        CHECK_EQ(cn_up_rc, WS_OK);
        CHECK_EQ(cn_count(WS_EV_OPEN), 0);
        CHECK_EQ(cn_nev, 0);                       /* never opened: no events at all */
        CHECK_EQ(cn_tx_used(c), 0);                /* no 101 */
        CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSED);
        CHECK_EQ(ws_engine_wants_eof(c), 1);
        CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "x", 1), WS_ERR_CLOSED);
        cn_end();
        CHECK_EQ(cn_nev, 0);
    }
}
static void test_conn_server_close_in_on_upgrade(void) { cn_ways(cn_server_close_in_on_upgrade); }

static ws_result cn_http_close_rc;
static void cn_on_http(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user) {
    (void)user;
    cn_hook_calls++;
    snprintf(cn_hook_path, sizeof cn_hook_path, "%.*s", (int)req->path.len, req->path.ptr);
    /* a close frame must never follow (or precede) an HTTP response */
    cn_http_close_rc = ws_conn_close(c, WS_CLOSE_NORMAL, "not a websocket");
    if (strcmp(cn_hook_path, "/hello") == 0) {
        reply->status = 200;
        reply->content_type = "text/html";
        reply->body = "<p>hi</p>";
        reply->body_len = 9;
    }
}

static void cn_server_plain_http(void) {
    static const char get[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char get404[] = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
    ws_config cfg;
    ws_conn *c;
    char out[1024];
    memset(&cfg, 0, sizeof cfg);
    cfg.on_http = cn_on_http;
    cn_hooks(NULL, NULL, 0, NULL);
    cn_begin(&cfg);
    c = cn_server_hs();
    cn_feed(c, (const uint8_t *)get, strlen(get));
    cn_tx_str(c, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
    CHECK(strstr(out, "\r\nContent-Type: text/html\r\n") != NULL);
    CHECK(strstr(out, "\r\nContent-Length: 9\r\n") != NULL);
    CHECK(strlen(out) > 13 && strcmp(out + strlen(out) - 13, "\r\n\r\n<p>hi</p>") == 0);
    CHECK_EQ(cn_hook_calls, 1);
    CHECK_EQ(cn_http_close_rc, WS_ERR_CLOSED);  /* ws_conn_close inside on_http: refused ... */
    {
        char again[1024];
        CHECK_STR(cn_tx_str(c, again, sizeof again), out);   /* ... nothing was queued after the body */
    }
    cn_check_http_only(c);                       /* (and after it: refused too) */
    CHECK_EQ(cn_nev, 0);
    cn_end();
    CHECK_EQ(cn_nev, 0);

    cn_begin(&cfg);                              /* handler leaves status 0: 404 */
    c = cn_server_hs();
    cn_feed(c, (const uint8_t *)get404, strlen(get404));
    CHECK(strncmp(cn_tx_str(c, out, sizeof out), "HTTP/1.1 404 ", 13) == 0);
    cn_end();

    cn_begin(NULL);                              /* no on_http: 426 */
    c = cn_server_hs();
    cn_feed(c, (const uint8_t *)get, strlen(get));
    cn_tx_str(c, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 426 ", 13) == 0);
    CHECK(strstr(out, "\r\nSec-WebSocket-Version: 13\r\n") != NULL);
    cn_check_http_only(c);
    CHECK_EQ(cn_nev, 0);
    cn_end();
    CHECK_EQ(cn_nev, 0);
}
static void test_conn_server_plain_http(void) { cn_ways(cn_server_plain_http); }

/* ws_conn_drop inside on_http: TCP closes at once, nothing is sent (regression: the loop still
 * queued the response after it). The engine: nothing to send, the EOF wanted, no events. */
static void cn_on_http_drop(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user) {
    (void)req; (void)user;
    cn_hook_calls++;
    ws_conn_drop(c);
    reply->status = 200;
    reply->body = "dropped";
    reply->body_len = 7;
}
static void cn_server_drop_in_on_http(void) {
    static const char get[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    ws_config cfg;
    ws_conn *c;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_http = cn_on_http_drop;
    cn_hooks(NULL, NULL, 0, NULL);
    cn_begin(&cfg);
    c = cn_server_hs();
    cn_feed(c, (const uint8_t *)get, strlen(get));
    CHECK_EQ(cn_hook_calls, 1);
    CHECK_EQ(cn_tx_used(c), 0);                    /* no response */
    CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSED);
    CHECK_EQ(ws_engine_wants_eof(c), 1);
    CHECK_EQ(cn_nev, 0);
    cn_end();
    CHECK_EQ(cn_nev, 0);
}
static void test_conn_server_drop_in_on_http(void) { cn_ways(cn_server_drop_in_on_http); }

static void cn_expect_status(const ws_config *cfg, const char *in, size_t n, int status, int refuse) {
    ws_conn *c;
    char out[1024], want[16];
    cn_begin(cfg);
    c = cn_server_hs();
    /* internal: over max_conns is the loop's count (tested for real in test_loopback's
     * max_conns test); the flag is what ws_conn_adopt / the listener set */
    if (refuse) c->flags |= WS__F_REFUSE;
    cn_feed(c, (const uint8_t *)in, n);
    snprintf(want, sizeof want, "HTTP/1.1 %d ", status);
    cn_tx_str(c, out, sizeof out);
    CHECK(strncmp(out, want, strlen(want)) == 0);
    if (strncmp(out, want, strlen(want)) != 0) printf("  expected %d, got: %.40s\n", status, out);
    CHECK(strstr(out, "\r\nConnection: close\r\n") != NULL);
    cn_check_http_only(c);
    CHECK_EQ(cn_nev, 0);
    cn_end();
    CHECK_EQ(cn_nev, 0);
}

/* A peer that pings and never reads cannot grow our send queue past max_send_queue with
 * automatic pongs (RFC 6455 5.5.3 lets us answer only some); broadcast takes only data
 * opcodes and pings/pongs within 125 bytes. */
static void cn_ping_flood_bounded(void) {
    ws_config cfg;
    ws_conn *c;
    uint8_t payload[125];
    int i;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_send_queue = 300;
    memset(payload, 'p', sizeof payload);
    cn_begin(&cfg);
    c = cn_open(1);
    for (i = 0; i < 50; i++) cn_feed_frame(c, 1, WS_OP_PING, payload, sizeof payload);
    CHECK(cn_tx_used(c) > 0);
    CHECK(cn_tx_used(c) <= 300 + 125 + 14);
    CHECK_EQ(cn_count(WS_EV_PING), 50);        /* every ping is still reported ... */
    CHECK_EQ(cn_count(WS_EV_ERROR) + cn_count(WS_EV_CLOSE), 0);
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN); /* ... and the connection stays open */
    {   /* what is queued is whole pongs echoing the pings' payload */
        ws_frame f;
        uint8_t pl[125];
        size_t len = 0, pongs = 0;
        while (cn_tx_used(c) && cn_pop(c, &f, pl, sizeof pl, &len)) {
            CHECK_EQ(f.opcode, WS_OP_PONG);
            CHECK_EQ(len, sizeof payload);
            CHECK_MEM(pl, payload, sizeof payload);
            pongs++;
        }
        CHECK(pongs >= 1 && pongs <= 3);
        CHECK_EQ(cn_tx_used(c), 0);
    }
    /* with room again (the queue was sent), the next ping is answered */
    cn_feed_frame(c, 1, WS_OP_PING, "again", 5);
    {
        ws_frame f;
        uint8_t pl[16];
        size_t len = 0;
        CHECK(cn_pop(c, &f, pl, sizeof pl, &len) && f.opcode == WS_OP_PONG && len == 5 &&
              memcmp(pl, "again", 5) == 0);
    }
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
#ifndef WS_NO_NET
    {   /* ws_broadcast is the loop's (a ws_ctx): its argument checks need no connection */
        ws_ctx *ctx = ws_ctx_create(&cn_cfg);
        size_t sent = 99;
        CHECK(ctx != NULL);
        if (ctx) {
            CHECK_EQ(ws_broadcast(ctx, WS_OP_CLOSE, "", 0, NULL, &sent), WS_ERR_ARG);
            CHECK_EQ(sent, 0);
            CHECK_EQ(ws_broadcast(ctx, WS_OP_CONT, "x", 1, NULL, NULL), WS_ERR_ARG);
            CHECK_EQ(ws_broadcast(ctx, WS_OP_PING, payload, 126, NULL, NULL), WS_ERR_ARG);
            ws_ctx_destroy(ctx);
        }
    }
#endif
    cn_end();
}
static void test_conn_ping_flood_bounded(void) { cn_ways(cn_ping_flood_bounded); }

/* A head that never ends a line, sent byte by byte, is cut off at max_handshake (431), not
 * kept growing: heads are re-parsed only at line ends, but never past the limit. (Byte by
 * byte on purpose: the test is about where it stops.) */
static void test_conn_server_head_without_newline(void) {
    static char big[600];
    ws_config cfg;
    ws_conn *c;
    char out[256];
    size_t i;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_handshake = 256;
    memcpy(big, "GET /", 5);
    memset(big + 5, 'a', sizeof big - 5);
    cn_begin(&cfg);
    c = cn_server_hs();
    for (i = 0; i < sizeof big && !cn_tx_used(c); i++) {
        CHECK_EQ(ws_engine_feed(c, big + i, 1, cn_now), WS_OK);
        CHECK(ws__buf_used(c->rx) <= 256);   /* internal: how much of the head is held */
    }
    CHECK(i <= 257);
    cn_tx_str(c, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 431 ", 13) == 0);
    cn_check_http_only(c);
    cn_end();
}

static void cn_server_bad_requests(void) {
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
static void test_conn_server_bad_requests(void) { cn_ways(cn_server_bad_requests); }

static void cn_server_handshake_timeout(void) {
    ws_conn *c;
    int64_t dl;
    cn_begin(NULL);
    c = cn_server_hs();
    cn_feed(c, (const uint8_t *)cn_req, 40);
    dl = ws_engine_deadline(c);
    CHECK_EQ(dl, CN_T0 + 10000);
    CHECK_EQ(cn_tick(c, dl - 1), dl);
    CHECK_EQ(ws_conn_state(c), WS_STATE_CONNECTING);
    CHECK_EQ(cn_tick(c, dl), 0);
    CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSED);
    CHECK_EQ(ws_engine_wants_eof(c), 1);
    CHECK_EQ(c->err, WS_ERR_TIMEOUT);   /* internal: a conn the user never saw has no event */
    CHECK_EQ(cn_nev, 0);          /* the user never knew this connection */
    cn_end();
    CHECK_EQ(cn_nev, 0);
}
static void test_conn_server_handshake_timeout(void) { cn_ways(cn_server_handshake_timeout); }

/* ---- the client's handshake: the engine's own request, answered with its key ---- */
static ws_conn *cn_client_hs(const char *protocols, char key[25]) {
    ws_engine_opts o;
    ws_connect_opts co;
    ws_conn *c;
    ws_http_request req;
    ws_span k;
    const uint8_t *p;
    size_t n, used = 0;
    memset(&o, 0, sizeof o);
    memset(&co, 0, sizeof co);
    co.protocols = protocols;
    o.url = "ws://example.com:8080/chat?x=1";
    o.connect = &co;
    c = cn_make(&o);
    key[0] = '\0';
    if (!c) return NULL;
    CHECK_EQ(ws_engine_deadline(c), CN_T0 + 10000);
    n = ws_engine_output(c, &p);   /* the upgrade request, queued at once */
    CHECK_EQ(ws_http_parse_request((const char *)p, n, 8192, &req, &used, NULL), WS_OK);
    CHECK_EQ(used, n);
    CHECK(req.target.len == 9 && memcmp(req.target.ptr, "/chat?x=1", 9) == 0);
    CHECK(ws_http_header(req.headers, req.num_headers, "Host", &k) == 1 &&
          k.len == 16 && memcmp(k.ptr, "example.com:8080", 16) == 0);
    CHECK_EQ(ws_http_header(req.headers, req.num_headers, "Sec-WebSocket-Protocol", NULL), protocols ? 1 : 0);
    CHECK_EQ(ws_http_check_request(&req, &k, NULL, NULL), WS_OK);
    if (k.len == 24) { memcpy(key, k.ptr, 24); key[24] = '\0'; }
    cn_tx_drain(c);
    return c;
}
/* The server's 101 for key, with an optional subprotocol, into out; returns its length. */
static size_t cn_101(char *out, size_t cap, const char *key, const char *proto) {
    size_t len = 0;
    CHECK_EQ(ws_http_build_accept(out, cap, key, strlen(key), proto, NULL, &len), WS_OK);
    return len;
}

static void cn_client_handshake(void) {
    static const char wrong[] =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n";
    static const char refused[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    char in[512], key[25];
    size_t n;
    int mode;
    ws_conn *c;
    cn_begin(NULL);
    c = cn_client_hs("chat, superchat", key);
    n = cn_101(in, sizeof in, key, "chat");
    n += cn_frame((uint8_t *)in + n, 1, 0, WS_OP_TEXT, 0, "welcome", 7);
    cn_feed(c, (const uint8_t *)in, n);
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    CHECK_EQ(cn_nev, 2);
    CHECK_EQ(cn_evs[0].type, WS_EV_OPEN);
    CHECK_EQ(cn_evs[1].type, WS_EV_MESSAGE);
    CHECK_EQ(cn_evs[1].len, 7);
    CHECK_MEM(cn_evs[1].data, "welcome", 7);
    CHECK_STR(ws_conn_protocol(c), "chat");
    CHECK_EQ(cn_tx_used(c), 0);
    CHECK_EQ(ws_engine_deadline(c), 0);     /* clients: no heartbeat by default */
    cn_end();
    for (mode = 0; mode < 3; mode++) {
        const char *r = mode == 1 ? refused : wrong;
        cn_begin(NULL);
        c = cn_client_hs(NULL, key);
        if (mode == 2) {   /* a subprotocol that was not offered */
            n = cn_101(in, sizeof in, key, "chat");
            r = in;
        }
        cn_feed(c, (const uint8_t *)r, strlen(r));
        CHECK(ws_conn_state(c) != WS_STATE_OPEN);
        CHECK_EQ(cn_count(WS_EV_OPEN), 0);
        CHECK_EQ(cn_nev, 2);                    /* ERROR and CLOSE, with the HTTP status */
        CHECK_EQ(ws_engine_deadline(c), 0);
        CHECK_EQ(ws_engine_wants_eof(c), 1);
        if (cn_nev == 2) {
            CHECK_EQ(cn_evs[0].type, WS_EV_ERROR);
            CHECK_EQ(cn_evs[0].result, WS_ERR_HANDSHAKE);
            CHECK_EQ(cn_evs[1].type, WS_EV_CLOSE);
            CHECK_EQ(cn_evs[1].result, WS_ERR_HANDSHAKE);
            CHECK_EQ(cn_evs[1].close_code, 1006);
            CHECK_EQ(cn_evs[1].http_status, mode == 1 ? 403 : 101);
        }
        cn_end();
    }
}
static void test_conn_client_handshake(void) { cn_ways(cn_client_handshake); }

static void suite_conn(void) {
    RUN(test_conn_data_whole);
    RUN(test_conn_big_text_chunks);
    RUN(test_conn_echo_from_callback);
    RUN(test_conn_zero_length);
    RUN(test_conn_fragmented);
    RUN(test_conn_fragment_mode);
    RUN(test_conn_fragment_mode_switch);
    RUN(test_conn_fragment_mode_switch_limit);
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
    RUN(test_conn_send_client_mask_copy);
    RUN(test_conn_send_frame);
    RUN(test_conn_server_handshake_splits);
    RUN(test_conn_server_handshake_then_frame);
    RUN(test_conn_server_on_upgrade);
    RUN(test_conn_server_refusal_bad_headers);
    RUN(test_conn_server_reply_status);
    RUN(test_conn_server_drop_in_on_http);
    RUN(test_conn_server_close_in_on_upgrade);
    RUN(test_conn_server_plain_http);
    RUN(test_conn_server_bad_requests);
    RUN(test_conn_server_head_without_newline);
    RUN(test_conn_ping_flood_bounded);
    RUN(test_conn_server_handshake_timeout);
    RUN(test_conn_client_handshake);
}
