/* test_fw_engine.c - the public sans-I/O engine (ws_engine_*) over the in-memory pair: no sockets,
 * no ws_ctx, so it also runs on a Cortex-M under QEMU (tests/firmware, WS_NO_NET). Handshake,
 * echo of 0 B .. 256 KiB, fragments, ping/pong, close with code and reason, the error closes
 * (1002, 1007, 1009) from bytes fed to a server, EOF without a close, and the handshake timer. */

typedef struct fe_side {
    int opens, msgs, pongs, errors, closes, clean;
    unsigned close_code;
    char reason[64];
    ws_result result;
    size_t last_len;
    int last_op, bad_data;
    int echo;                  /* 1: send every message back */
} fe_side;

static void fe_on_event(ws_conn *c, const ws_event *ev, void *user) {
    fe_side *s = (fe_side *)user;
    size_t i;
    switch (ev->type) {
    case WS_EV_OPEN: s->opens++; break;
    case WS_EV_MESSAGE:
        s->msgs++;
        s->last_len = ev->len;
        s->last_op = ev->opcode;
        for (i = 0; i < ev->len; i++)   /* every message is the pattern (byte i = i * 7 + len) */
            if (ev->data[i] != (uint8_t)(i * 7u + ev->len)) { s->bad_data = 1; break; }
        if (s->echo && ws_conn_send(c, ev->opcode, ev->data, ev->len) != WS_OK) s->bad_data = 1;
        break;
    case WS_EV_PONG: s->pongs++; break;
    case WS_EV_ERROR: s->errors++; s->result = ev->result; break;
    case WS_EV_CLOSE:
        s->closes++;
        s->clean = ev->clean;
        s->close_code = ev->close_code;
        strncpy(s->reason, ev->reason, sizeof s->reason - 1);
        break;
    default: break;
    }
}

static ws_config fe_cfg(fe_side *s) {
    ws_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = fe_on_event;
    cfg.user = s;
    cfg.max_message = 1 << 20;
    return cfg;
}

/* A connected pair: both open after one pump. Returns 0 if that failed. */
static int fe_pair(fe_side *cs, fe_side *ss, ws_conn **cl, ws_conn **sv) {
    ws_config cc = fe_cfg(cs), sc = fe_cfg(ss);
    memset(cs, 0, sizeof *cs);
    memset(ss, 0, sizeof *ss);
    ss->echo = 1;
    if (ws_engine_pair(&cc, &sc, cl, sv) != WS_OK) return 0;
    ws_engine_pump(*cl, *sv, 0);
    return ws_conn_state(*cl) == WS_STATE_OPEN && ws_conn_state(*sv) == WS_STATE_OPEN &&
           cs->opens == 1 && ss->opens == 1;
}

static void test_fwe_echo_sizes(void) {
    static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 65537, 256 * 1024};
    static uint8_t buf[256 * 1024];
    fe_side cs, ss;
    ws_conn *cl, *sv;
    size_t k, i;
    CHECK(fe_pair(&cs, &ss, &cl, &sv));
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        for (i = 0; i < n; i++) buf[i] = (uint8_t)(i * 7u + n);
        CHECK_EQ(ws_conn_send(cl, WS_OP_BINARY, buf, n), WS_OK);
        ws_engine_pump(cl, sv, 1);
        CHECK_EQ(cs.msgs, (int)k + 1);
        CHECK_EQ(cs.last_len, n);
        CHECK_EQ(cs.last_op, WS_OP_BINARY);
    }
    CHECK(!cs.bad_data && !ss.bad_data);
    CHECK_EQ(ws_conn_close(cl, 4000, "bye"), WS_OK);
    ws_engine_pump(cl, sv, 2);
    CHECK_EQ(cs.closes, 1);
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(ss.close_code, 4000);
    CHECK_STR(ss.reason, "bye");
    CHECK(cs.clean && ss.clean);
    CHECK_EQ(ws_conn_state(cl), WS_STATE_CLOSED);
    ws_engine_destroy(cl);
    ws_engine_destroy(sv);
}

static void test_fwe_fragments_ping(void) {
    fe_side cs, ss;
    ws_conn *cl, *sv;
    static const uint8_t big[126];
    uint8_t m[6];
    size_t i;
    CHECK(fe_pair(&cs, &ss, &cl, &sv));
    for (i = 0; i < 6; i++) m[i] = (uint8_t)(i * 7u + 6);
    CHECK_EQ(ws_conn_send_frame(cl, 0, 0, WS_OP_BINARY, m, 2), WS_OK);
    CHECK_EQ(ws_conn_send(cl, WS_OP_PING, "p", 1), WS_OK);   /* between fragments (5.4) */
    CHECK_EQ(ws_conn_send_frame(cl, 0, 0, WS_OP_CONT, m + 2, 2), WS_OK);
    CHECK_EQ(ws_conn_send_frame(cl, 1, 0, WS_OP_CONT, m + 4, 2), WS_OK);
    ws_engine_pump(cl, sv, 1);
    CHECK_EQ(ss.msgs, 1);
    CHECK_EQ(ss.last_len, 6);
    CHECK_EQ(cs.pongs, 1);
    CHECK_EQ(cs.msgs, 1);
    CHECK(!ss.bad_data && !cs.bad_data);
    /* send errors have names */
    CHECK_EQ(ws_conn_send(cl, WS_OP_TEXT, "\xff", 1), WS_ERR_UTF8);
    CHECK_EQ(ws_conn_send(cl, WS_OP_PING, big, sizeof big), WS_ERR_ARG);   /* > 125 bytes */
    CHECK_EQ(ws_conn_close(cl, 1000, NULL), WS_OK);
    CHECK_EQ(ws_conn_send(cl, WS_OP_TEXT, "x", 1), WS_ERR_CLOSED);
    ws_engine_pump(cl, sv, 2);
    CHECK_EQ(cs.close_code, 1000);
    ws_engine_destroy(cl);
    ws_engine_destroy(sv);
}

/* Bytes fed straight to an open server: each bad frame closes with its code. */
static void test_fwe_error_closes(void) {
    static const struct { const char *bytes; size_t n; unsigned code; } cases[] = {
        {"\x81\x01" "a", 3, 1002},                          /* not masked */
        {"\x83\x80\x00\x00\x00\x00", 6, 1002},              /* reserved opcode */
        {"\x81\x81\x00\x00\x00\x00\xff", 7, 1007},          /* text that is not UTF-8 */
        {"\x82\xff\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00", 14, 1009},  /* 16 MiB */
        {"\x82\xff\x00\x00\x00\x01\x00\x00\x00\x10\x00\x00\x00\x00", 14, 1009},  /* 4 GiB + 16: */
        {"\x82\xff\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00", 14, 1009},  /* not 16 or 0 */
    };
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fe_side cs, ss;
        ws_conn *cl, *sv;
        const uint8_t *out;
        size_t n;
        CHECK(fe_pair(&cs, &ss, &cl, &sv));
        CHECK_EQ(ws_engine_feed(sv, cases[k].bytes, cases[k].n, 1), WS_OK);
        n = ws_engine_output(sv, &out);   /* the server's close frame: 0x88, len, code */
        CHECK(n >= 4);
        if (n >= 4) {
            CHECK_EQ(out[0], 0x88);
            CHECK_EQ(((unsigned)out[2] << 8) | out[3], cases[k].code);
        }
        CHECK_EQ(ss.errors, 1);
        ws_engine_destroy(cl);
        ws_engine_destroy(sv);
        CHECK_EQ(ss.closes, 1);
    }
}

static void test_fwe_eof_and_timer(void) {
    fe_side cs, ss;
    ws_conn *cl, *sv;
    ws_config cc, sc;
    int64_t dl;
    CHECK(fe_pair(&cs, &ss, &cl, &sv));
    ws_engine_eof(sv, 5);   /* TCP ended without a close frame: 1006, not clean */
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(ss.close_code, 1006);
    CHECK(!ss.clean);
    ws_engine_destroy(cl);
    ws_engine_destroy(sv);
    /* a server that never gets the request: the handshake timer ends it (no events: the user
     * never saw it open) */
    memset(&ss, 0, sizeof ss);
    memset(&cs, 0, sizeof cs);
    cc = fe_cfg(&cs);
    sc = fe_cfg(&ss);
    sc.handshake_timeout_ms = 1000;
    CHECK_EQ(ws_engine_pair(&cc, &sc, &cl, &sv), WS_OK);
    dl = ws_engine_deadline(sv);
    CHECK(dl > 0 && dl <= 1000);
    ws_engine_tick(sv, dl - 1);
    CHECK(ws_conn_state(sv) != WS_STATE_CLOSED);
    ws_engine_tick(sv, dl);
    CHECK_EQ(ss.closes, 0);
    CHECK_EQ(ws_conn_state(sv), WS_STATE_CLOSED);
    ws_engine_destroy(cl);
    ws_engine_destroy(sv);
}

static void suite_fw_engine(void) {
    RUN(test_fwe_echo_sizes);
    RUN(test_fwe_fragments_ping);
    RUN(test_fwe_error_closes);
    RUN(test_fwe_eof_and_timer);
}
