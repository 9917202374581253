/* test_engine.c - what the public engine API adds beyond the protocol rules (test_conn.c):
 * the in-memory pair (ws_engine_pair + ws_engine_pump) end to end, pull and push output (a
 * ws_io that takes some, none or all), DRAINED after WS_ERR_FULL, when an engine wants the
 * stream's end, timers on a fake clock, head bytes and already-upgraded streams, destroy,
 * callbacks acting on the other engine of a pair, error returns; and, with sockets,
 * ws_conn_adopt: a socketpair adopted on both sides of a ws_ctx, and a ws_io without a
 * descriptor wired between two loop connections in memory, driven with ws_conn_io_ready. */

#if !defined(WS_NO_NET) && !defined(_WIN32)
#include <sys/socket.h>
#include <poll.h>
#include <unistd.h>
#define EN_SOCKETS 1
#endif

/* ---- what one side saw ---- */
#define EN_MAXM 32
typedef struct en_side {
    int opens, msgs, pings, pongs, drained, errors, closes, after_close;
    int op[EN_MAXM], fin[EN_MAXM];
    size_t len[EN_MAXM];
    uint32_t sum[EN_MAXM];
    uint8_t ping[126], pong[126];
    size_t ping_len, pong_len;
    unsigned close_code;
    char reason[128];
    int clean, http_status;
    ws_result close_result, err_result;
    /* what the callback does */
    int echo;                  /* send every message back */
    ws_conn *other;            /* the pair's other engine, for callbacks that act on it */
    int cross;                 /* 1: on "poke" send on the other engine; on "shut" close it */
    int cross_sent;
    ws_conn **track;           /* set to NULL at CLOSE (a loop conn is freed after it) */
} en_side;

static void en_on_event(ws_conn *c, const ws_event *ev, void *user) {
    en_side *s = (en_side *)user;
    if (s->closes) s->after_close++;
    switch (ev->type) {
    case WS_EV_OPEN: s->opens++; break;
    case WS_EV_MESSAGE:
        if (s->msgs < EN_MAXM) {
            s->op[s->msgs] = ev->opcode; s->fin[s->msgs] = ev->fin; s->len[s->msgs] = ev->len;
            s->sum[s->msgs] = ev->len ? cn_fnv(ev->data, ev->len) : 0;
        }
        s->msgs++;
        if (s->echo) CHECK_EQ(ws_conn_send(c, ev->opcode, ev->data, ev->len), WS_OK);
        if (s->cross && s->other && ev->len == 4 && memcmp(ev->data, "poke", 4) == 0) {
            CHECK_EQ(ws_conn_send_text(s->other, "from the other side"), WS_OK);
            s->cross_sent++;
        }
        if (s->cross && s->other && ev->len == 4 && memcmp(ev->data, "shut", 4) == 0)
            CHECK_EQ(ws_conn_close(s->other, 4002, "closed by the peer's callback"), WS_OK);
        break;
    case WS_EV_PING: s->pings++; s->ping_len = ev->len; if (ev->len) memcpy(s->ping, ev->data, ev->len); break;
    case WS_EV_PONG: s->pongs++; s->pong_len = ev->len; if (ev->len) memcpy(s->pong, ev->data, ev->len); break;
    case WS_EV_DRAINED: s->drained++; break;
    case WS_EV_ERROR: s->errors++; s->err_result = ev->result; s->http_status = ev->http_status; break;
    case WS_EV_CLOSE:
        s->closes++;
        s->close_code = ev->close_code;
        strncpy(s->reason, ev->reason, sizeof s->reason - 1);
        s->reason[sizeof s->reason - 1] = '\0';
        s->clean = ev->clean;
        s->close_result = ev->result;
        if (!s->http_status) s->http_status = ev->http_status;
        if (s->track) *s->track = NULL;
        break;
    default: break;
    }
}

static void en_cfg(ws_config *cfg, en_side *s) {
    memset(cfg, 0, sizeof *cfg);
    memset(s, 0, sizeof *s);
    cfg->on_event = en_on_event;
    cfg->user = s;
}

/* A pair, pumped until both are open. */
static void en_pair(ws_config *ccfg, ws_config *scfg, ws_conn **c, ws_conn **s, int64_t now) {
    CHECK_EQ(ws_engine_pair(ccfg, scfg, c, s), WS_OK);
    CHECK(*c && *s);
    if (!*c || !*s) return;
    CHECK_EQ(ws_conn_state(*c), WS_STATE_CONNECTING);
    CHECK_EQ(ws_conn_state(*s), WS_STATE_CONNECTING);
    CHECK(ws_engine_pump(*c, *s, now) > 0);
    CHECK_EQ(ws_conn_state(*c), WS_STATE_OPEN);
    CHECK_EQ(ws_conn_state(*s), WS_STATE_OPEN);
}

/* Moves all of from's output into to (no EOF). */
static void en_move(ws_conn *from, ws_conn *to, int64_t now) {
    const uint8_t *p;
    size_t n = ws_engine_output(from, &p);
    uint8_t *copy = n ? (uint8_t *)malloc(n) : NULL;
    if (n && !copy) { CHECK(0); return; }
    if (n) memcpy(copy, p, n);
    ws_engine_consume(from, n);
    CHECK_EQ(ws_engine_output(from, NULL), 0);
    if (n) CHECK_EQ(ws_engine_feed(to, copy, n, now), WS_OK);
    free(copy);
}

/* ---- the pair end to end ---- */
static void test_engine_pair_roundtrip(void) {
    static const size_t sizes[] = { 0, 1, 125, 126, 127, 65535, 65536, 65537, (size_t)1 << 20 };
    ws_config ccfg, scfg;
    en_side cs, ss;
    ws_conn *c = NULL, *s = NULL;
    uint8_t *buf = (uint8_t *)malloc(((size_t)1 << 20) + 1);
    size_t i, k;
    int64_t now = 500;
    en_cfg(&ccfg, &cs);
    en_cfg(&scfg, &ss);
    ss.echo = 1;
    if (!buf) { CHECK(0); return; }
    for (i = 0; i < ((size_t)1 << 20); i++) buf[i] = (uint8_t)('a' + i % 26);
    en_pair(&ccfg, &scfg, &c, &s, now);
    if (!c || !s) { free(buf); return; }
    CHECK_EQ(cs.opens, 1);
    CHECK_EQ(ss.opens, 1);
    CHECK_EQ(ws_conn_is_server(s), 1);
    CHECK_EQ(ws_conn_is_server(c), 0);
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {   /* client -> server -> echo */
        int op = k % 2 ? WS_OP_BINARY : WS_OP_TEXT;
        CHECK_EQ(ws_conn_send(c, op, buf, sizes[k]), WS_OK);
        ws_engine_pump(c, s, ++now);
        CHECK_EQ(ss.msgs, (int)k + 1);
        CHECK_EQ(cs.msgs, (int)k + 1);
        if (cs.msgs == (int)k + 1) {
            CHECK_EQ(ss.len[k], sizes[k]);
            CHECK_EQ(cs.len[k], sizes[k]);
            CHECK_EQ(cs.op[k], op);
            CHECK_EQ(cs.sum[k], sizes[k] ? cn_fnv(buf, sizes[k]) : 0);
        }
    }
    ss.echo = 0;                                              /* server -> client, 1 MiB */
    buf[12345] = 0xff;
    CHECK_EQ(ws_conn_send(s, WS_OP_BINARY, buf, (size_t)1 << 20), WS_OK);
    ws_engine_pump(c, s, ++now);
    CHECK_EQ(cs.msgs, 10);
    if (cs.msgs == 10) { CHECK_EQ(cs.len[9], (size_t)1 << 20); CHECK_EQ(cs.sum[9], cn_fnv(buf, (size_t)1 << 20)); }
    /* fragments: one message of three frames, a ping in between */
    CHECK_EQ(ws_conn_send_frame(c, 0, 0, WS_OP_TEXT, "frag-", 5), WS_OK);
    CHECK_EQ(ws_conn_send_frame(c, 0, 0, WS_OP_CONT, "ment", 4), WS_OK);
    CHECK_EQ(ws_conn_send(c, WS_OP_PING, "c-ping", 6), WS_OK);
    CHECK_EQ(ws_conn_send_frame(c, 1, 0, WS_OP_CONT, "ed", 2), WS_OK);
    ws_engine_pump(c, s, ++now);
    CHECK_EQ(ss.msgs, 10);
    if (ss.msgs == 10) {
        CHECK_EQ(ss.op[9], WS_OP_TEXT); CHECK_EQ(ss.fin[9], 1);
        CHECK_EQ(ss.len[9], 11); CHECK_EQ(ss.sum[9], cn_fnv((const uint8_t *)"frag-mented", 11));
    }
    CHECK_EQ(ss.pings, 1);
    CHECK(ss.ping_len == 6 && memcmp(ss.ping, "c-ping", 6) == 0);
    CHECK_EQ(cs.pongs, 1);                                    /* answered automatically */
    CHECK(cs.pong_len == 6 && memcmp(cs.pong, "c-ping", 6) == 0);
    CHECK_EQ(ws_conn_send(s, WS_OP_PING, "s-ping", 6), WS_OK);   /* and the other way */
    ws_engine_pump(c, s, ++now);
    CHECK_EQ(cs.pings, 1);
    CHECK(cs.ping_len == 6 && memcmp(cs.ping, "s-ping", 6) == 0);
    CHECK_EQ(ss.pongs, 1);
    CHECK(ss.pong_len == 6 && memcmp(ss.pong, "s-ping", 6) == 0);
    /* the client closes with a code and a reason */
    CHECK_EQ(ws_conn_close(c, 4001, "client bye"), WS_OK);
    ws_engine_pump(c, s, ++now);
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(ss.close_code, 4001);
    CHECK_STR(ss.reason, "client bye");
    CHECK_EQ(ss.clean, 1);
    CHECK_EQ(ss.close_result, WS_OK);
    CHECK_EQ(cs.closes, 1);
    CHECK_EQ(cs.close_code, 4001);                            /* the server echoed the code */
    CHECK_EQ(cs.clean, 1);
    CHECK_EQ(cs.errors + ss.errors, 0);
    CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSED);
    CHECK_EQ(ws_conn_state(s), WS_STATE_CLOSED);
    CHECK_EQ(ws_engine_wants_eof(c), 1);
    CHECK_EQ(ws_engine_wants_eof(s), 1);
    CHECK_EQ(ws_engine_pump(c, s, ++now), 0);                 /* nothing moves any more */
    ws_engine_destroy(c);
    ws_engine_destroy(s);
    CHECK_EQ(cs.closes, 1);                                   /* destroy fires nothing more */
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(cs.after_close + ss.after_close, 0);
    free(buf);
}

/* The server closes with a code and a reason; each step checks who wants the stream's end. */
static void test_engine_pair_server_close(void) {
    ws_config ccfg, scfg;
    en_side cs, ss;
    ws_conn *c = NULL, *s = NULL;
    int64_t now = 100;
    en_cfg(&ccfg, &cs);
    en_cfg(&scfg, &ss);
    en_pair(&ccfg, &scfg, &c, &s, now);
    if (!c || !s) return;
    CHECK_EQ(ws_conn_close(s, 1001, "server going"), WS_OK);
    CHECK_EQ(ws_conn_state(s), WS_STATE_CLOSING);
    CHECK_EQ(ws_engine_wants_eof(s), 0);          /* waits for the client's close */
    en_move(s, c, now);                           /* the client gets it and answers */
    CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSING);
    CHECK_EQ(ws_engine_wants_eof(c), 0);          /* 7.1.1: the client waits for the server */
    CHECK_EQ(cs.closes, 0);
    en_move(c, s, now);                           /* the server has both: it ends the stream */
    CHECK_EQ(ws_engine_wants_eof(s), 1);
    CHECK_EQ(ws_engine_wants_eof(c), 0);
    CHECK_EQ(ss.closes, 0);                       /* CLOSE comes with the end of the stream */
    ws_engine_eof(c, now);                        /* the server's FIN reaches the client */
    CHECK_EQ(cs.closes, 1);
    CHECK_EQ(cs.close_code, 1001);
    CHECK_STR(cs.reason, "server going");
    CHECK_EQ(cs.clean, 1);
    CHECK_EQ(ws_engine_wants_eof(c), 1);
    ws_engine_eof(s, now);                        /* and the client's reaches the server */
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(ss.close_code, 1001);
    CHECK_STR(ss.reason, "");                     /* the client echoed the code alone */
    CHECK_EQ(ss.clean, 1);
    ws_engine_destroy(c);
    ws_engine_destroy(s);
    CHECK_EQ(cs.closes + ss.closes, 2);
}

/* ws_engine_wants_eof after a client's close, an HTTP refusal and a failure. */
static void test_engine_wants_eof(void) {
    static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ws_config ccfg, scfg;
    en_side cs, ss;
    ws_conn *c = NULL, *s = NULL;
    ws_engine_opts o;
    uint8_t fr[16];
    size_t n;
    en_cfg(&ccfg, &cs);
    en_cfg(&scfg, &ss);
    en_pair(&ccfg, &scfg, &c, &s, 0);             /* client close */
    if (!c || !s) return;
    CHECK_EQ(ws_engine_wants_eof(c), 0);
    CHECK_EQ(ws_engine_wants_eof(s), 0);
    CHECK_EQ(ws_conn_close(c, 1000, NULL), WS_OK);
    CHECK_EQ(ws_engine_wants_eof(c), 0);
    en_move(c, s, 0);
    CHECK_EQ(ws_engine_wants_eof(s), 0);          /* its answer is not sent yet */
    CHECK(ws_engine_output(s, NULL) > 0);
    en_move(s, c, 0);
    CHECK_EQ(ws_engine_wants_eof(s), 1);          /* now: the server closes TCP first */
    CHECK_EQ(ws_engine_wants_eof(c), 0);
    ws_engine_eof(c, 0);
    ws_engine_eof(s, 0);
    CHECK(cs.clean && ss.clean);
    ws_engine_destroy(c);
    ws_engine_destroy(s);

    en_cfg(&scfg, &ss);                           /* an HTTP refusal */
    memset(&o, 0, sizeof o);
    o.server = 1;
    CHECK_EQ(ws_engine_create(&scfg, &o, NULL, &s), WS_OK);
    CHECK_EQ(ws_engine_feed(s, get, strlen(get), 0), WS_OK);
    CHECK(ws_engine_output(s, NULL) > 0);
    CHECK_EQ(ws_engine_wants_eof(s), 0);
    ws_engine_consume(s, 10);
    CHECK_EQ(ws_engine_wants_eof(s), 0);
    ws_engine_consume(s, ws_engine_output(s, NULL));
    CHECK_EQ(ws_engine_wants_eof(s), 1);
    ws_engine_eof(s, 0);
    CHECK_EQ(ss.opens + ss.errors + ss.closes, 0);   /* never a WebSocket: no events */
    ws_engine_destroy(s);
    CHECK_EQ(ss.closes, 0);

    en_cfg(&scfg, &ss);                           /* a failure (an unmasked frame to a server) */
    o.upgraded = 1;
    CHECK_EQ(ws_engine_create(&scfg, &o, NULL, &s), WS_OK);
    n = cn_frame(fr, 1, 0, WS_OP_TEXT, 0, "x", 1);
    CHECK_EQ(ws_engine_feed(s, fr, n, 0), WS_OK);
    CHECK_EQ(ss.errors, 1);
    CHECK_EQ(ss.err_result, WS_ERR_PROTOCOL);
    CHECK_EQ(ws_engine_wants_eof(s), 0);          /* the 1002 close is still to be sent */
    CHECK_EQ(cn_pop_close(s, NULL), 1002);
    CHECK_EQ(ws_engine_wants_eof(s), 1);
    CHECK_EQ(ss.closes, 0);
    ws_engine_eof(s, 0);
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(ss.close_code, 1002);
    ws_engine_destroy(s);
    CHECK_EQ(ss.closes, 1);
}

/* ---- push mode: a ws_io takes what it can; the rest waits in ws_engine_output ---- */
typedef struct en_io {
    uint8_t got[4096];
    size_t len, budget;        /* budget: bytes it takes before saying WS_AGAIN */
    int fail, shutdowns, closes, calls;
} en_io;
static ws_result en_io_write(void *p, const uint8_t *data, size_t len, size_t *put) {
    en_io *io = (en_io *)p;
    size_t n = WS__MIN(len, io->budget);
    io->calls++;
    if (io->fail) return WS_ERR_IO;
    if (!n) return WS_AGAIN;
    n = WS__MIN(n, sizeof io->got - io->len);
    memcpy(io->got + io->len, data, n);
    io->len += n;
    io->budget -= n;
    *put = n;
    return WS_OK;
}
static void en_io_shutdown(void *p) { ((en_io *)p)->shutdowns++; }
static void en_io_close(void *p) { ((en_io *)p)->closes++; }

/* An open (upgraded) engine over a ws_io of these calls (NULL: none) on io, its clock at
 * now_ms; NULL if ws_engine_create failed (a failed check). */
static ws_conn *en_io_engine(ws_config *cfg, int server, ws_result (*wr)(void *, const uint8_t *, size_t, size_t *),
                             void (*sd)(void *), void (*cl)(void *), void *io, int64_t now_ms) {
    ws_engine_opts o;
    ws_io w;
    ws_conn *c = NULL;
    memset(&w, 0, sizeof w);
    w.write = wr;
    w.shutdown = sd;
    w.close = cl;
    w.io = io;
    memset(&o, 0, sizeof o);
    o.server = server;
    o.upgraded = 1;
    o.io = &w;                                    /* copied: w may go now */
    o.now_ms = now_ms;
    CHECK_EQ(ws_engine_create(cfg, &o, NULL, &c), WS_OK);
    return c;
}
static ws_conn *en_push_engine(ws_config *cfg, en_io *io, int server) {
    return en_io_engine(cfg, server, en_io_write, en_io_shutdown, en_io_close, io, 0);
}

static void test_engine_push_mode(void) {
    ws_config cfg;
    en_side ss;
    en_io io;
    ws_conn *s;
    uint8_t msg[100], all[512], pl[128];
    const uint8_t *p;
    size_t n, alln;
    ws_frame f;
    memset(msg, 'm', sizeof msg);
    memset(&io, 0, sizeof io);
    en_cfg(&cfg, &ss);
    cfg.ping_interval_ms = -1;
    io.budget = 10;                               /* takes 10 bytes, then WS_AGAIN */
    s = en_push_engine(&cfg, &io, 1);
    if (!s) return;
    CHECK_EQ(ss.opens, 1);
    CHECK_EQ(ws_conn_send(s, WS_OP_BINARY, msg, 100), WS_OK);
    CHECK_EQ(io.len, 10);
    n = ws_engine_output(s, &p);
    CHECK_EQ(n, 102 - 10);                        /* the rest, in order */
    CHECK_EQ(ws_conn_queued(s), n);
    CHECK_EQ(ws_engine_wants_eof(s), 0);
    CHECK_EQ(ws_conn_send(s, WS_OP_BINARY, msg, 50), WS_OK);   /* the ws_io says WS_AGAIN */
    CHECK_EQ(io.len, 10);
    CHECK_EQ(ws_engine_output(s, &p), 92 + 52);
    memcpy(all, io.got, io.len);                  /* what it took, then what we take */
    n = ws_engine_output(s, &p);
    memcpy(all + io.len, p, n);
    alln = io.len + n;
    CHECK_EQ(ss.drained, 0);
    ws_engine_consume(s, n);
    CHECK_EQ(ss.drained, 1);                      /* a send had to wait: DRAINED once empty */
    CHECK_EQ(alln, 102 + 52);
    CHECK_EQ(ws_frame_parse(all, alln, WS_PARSE_UNMASKED, &f, NULL, NULL), WS_OK);
    CHECK(f.opcode == WS_OP_BINARY && f.payload_len == 100 && f.header_len == 2);
    CHECK_EQ(ws_frame_parse(all + 102, alln - 102, WS_PARSE_UNMASKED, &f, NULL, NULL), WS_OK);
    CHECK(f.opcode == WS_OP_BINARY && f.payload_len == 50);
    io.len = 0;                                   /* a ws_io that takes everything */
    io.budget = 1000;
    CHECK_EQ(ws_conn_send_text(s, "all at once"), WS_OK);
    CHECK_EQ(io.len, 13);
    CHECK_EQ(ws_engine_output(s, NULL), 0);
    CHECK_EQ(ss.drained, 1);
    /* the peer closes: the answer goes through the ws_io, then it is shut down */
    io.len = 0;
    n = cn_frame(pl, 1, 0, WS_OP_CLOSE, 1, "\x03\xe8", 2);
    CHECK_EQ(ws_engine_feed(s, pl, n, 0), WS_OK);
    CHECK_EQ(io.len, 4);
    CHECK(io.len == 4 && io.got[0] == 0x88 && io.got[2] == 0x03 && io.got[3] == 0xe8);
    CHECK_EQ(io.shutdowns, 1);
    CHECK_EQ(ws_engine_wants_eof(s), 1);
    CHECK_EQ(io.closes, 0);
    ws_engine_eof(s, 0);
    CHECK_EQ(io.closes, 1);                       /* the stream is released at the end */
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(ss.clean, 1);
    ws_engine_destroy(s);
    CHECK_EQ(io.closes, 1);

    memset(&io, 0, sizeof io);                    /* a client's frames through it are masked */
    en_cfg(&cfg, &ss);
    io.budget = 1000;
    s = en_push_engine(&cfg, &io, 0);
    if (!s) return;
    CHECK_EQ(ws_conn_send_text(s, "masked"), WS_OK);
    CHECK_EQ(io.len, 12);
    CHECK_EQ(ws_frame_parse(io.got, io.len, WS_PARSE_MASKED, &f, NULL, NULL), WS_OK);
    ws_engine_destroy(s);                         /* tries a 1001 close through the ws_io */
    CHECK_EQ(io.len, 12 + 6 + 2);
    CHECK_EQ(ws_frame_parse(io.got + 12, io.len - 12, WS_PARSE_MASKED, &f, NULL, NULL), WS_OK);
    CHECK(f.opcode == WS_OP_CLOSE && f.payload_len == 2);
    CHECK_EQ(io.closes, 1);
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(ss.close_result, WS_ERR_CLOSED);

    memset(&io, 0, sizeof io);   /* what input queues is pushed by ws_engine_feed (regression:
                                    the 101 and the pong waited for the next call) */
    en_cfg(&cfg, &ss);
    io.budget = 4096;
    {
        ws_engine_opts o;
        ws_io w;
        uint8_t in[300];
        size_t m = strlen(cn_req);
        memset(&w, 0, sizeof w);
        w.write = en_io_write;
        w.io = &io;
        memset(&o, 0, sizeof o);
        o.server = 1;
        o.io = &w;
        CHECK_EQ(ws_engine_create(&cfg, &o, NULL, &s), WS_OK);
        if (!s) return;
        memcpy(in, cn_req, m);
        m += cn_frame(in + m, 1, 0, WS_OP_PING, 1, "pp", 2);
        CHECK_EQ(ws_engine_feed(s, in, m, 0), WS_OK);
        CHECK_EQ(ss.opens, 1);
        CHECK_EQ(ws_engine_output(s, NULL), 0);   /* all of it went to the ws_io */
        CHECK(io.len > 4 && memcmp(io.got, "HTTP/1.1 101 ", 13) == 0);
        CHECK(io.len > 4 && memcmp(io.got + io.len - 4, "\x8a\x02pp", 4) == 0);
        ws_engine_destroy(s);
    }

    memset(&io, 0, sizeof io);                    /* a broken stream */
    en_cfg(&cfg, &ss);
    io.fail = 1;
    s = en_push_engine(&cfg, &io, 1);
    if (!s) return;
    CHECK_EQ(ws_conn_send_text(s, "lost"), WS_OK);   /* queued; the write fails */
    CHECK_EQ(ss.errors, 1);
    CHECK_EQ(ss.err_result, WS_ERR_IO);
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(ss.close_code, 1006);
    CHECK_EQ(ws_conn_state(s), WS_STATE_CLOSED);
    CHECK_EQ(io.closes, 1);
    CHECK_EQ(ws_conn_send_text(s, "more"), WS_ERR_CLOSED);
    ws_engine_destroy(s);
    CHECK_EQ(ss.closes, 1);
}

/* A ws_io whose write says it wrote more than it was given: the connection fails with WS_ERR_IO
 * and a message, and the queue's offset never passes its end (regression: taken as sent, the
 * offset past the queue's end, and the connection went on as if nothing was wrong). */
static ws_result en_io_write_over(void *p, const uint8_t *data, size_t len, size_t *put) {
    ws_result rc = en_io_write(p, data, len, put);
    if (rc == WS_OK) *put += 3;
    return rc;
}
static void test_engine_push_overcount(void) {
    ws_config cfg;
    en_side ss;
    en_io io;
    ws_conn *s;
    memset(&io, 0, sizeof io);
    en_cfg(&cfg, &ss);
    cfg.ping_interval_ms = -1;
    io.budget = 4096;
    s = en_io_engine(&cfg, 1, en_io_write_over, NULL, en_io_close, &io, 0);
    if (!s) return;
    CHECK_EQ(ws_conn_send_text(s, "too many"), WS_OK);   /* queued; the write over-reports */
    CHECK_EQ(ss.errors, 1);
    CHECK_EQ(ss.err_result, WS_ERR_IO);
    CHECK_EQ(ws_engine_output(s, NULL), 0);
    CHECK_EQ(ws_conn_queued(s), 0);
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(ss.close_result, WS_ERR_IO);
    CHECK_EQ(ws_conn_state(s), WS_STATE_CLOSED);
    CHECK_EQ(ws_conn_send_text(s, "more"), WS_ERR_CLOSED);
    ws_engine_destroy(s);
    CHECK_EQ(ss.closes, 1);
}

/* Two push engines wired directly (each ws_io.write feeds the other engine), the server's
 * callback answering at once: writes re-enter the engine that is writing (regression: the
 * inner flush sent the same bytes again, without end). */
static ws_conn *en_wired[2];
static ws_result en_wire_write(void *p, const uint8_t *data, size_t len, size_t *put) {
    ws_conn *to = en_wired[*(const int *)p];
    *put = len;
    if (to) CHECK_EQ(ws_engine_feed(to, data, len, 0), WS_OK);
    return WS_OK;
}
static void en_on_wired(ws_conn *c, const ws_event *ev, void *user) {
    en_on_event(c, ev, user);
    if (ev->type == WS_EV_MESSAGE && ws_conn_is_server(c))
        CHECK_EQ(ws_conn_send(c, WS_OP_PING, "re", 2), WS_OK);
}
static void test_engine_push_reentry(void) {
    static const int to_server = 1, to_client = 0;
    static uint8_t big[16384 - 14];   /* fills the client's first send buffer */
    ws_config ccfg, scfg;
    en_side cs, ss;
    int i;
    for (i = 0; i < (int)sizeof big; i++) big[i] = (uint8_t)i;
    en_cfg(&ccfg, &cs);
    en_cfg(&scfg, &ss);
    ccfg.on_event = scfg.on_event = en_on_wired;
    en_wired[1] = en_io_engine(&scfg, 1, en_wire_write, NULL, NULL, (void *)&to_client, 0);
    en_wired[0] = en_io_engine(&ccfg, 0, en_wire_write, NULL, NULL, (void *)&to_server, 0);
    if (!en_wired[0] || !en_wired[1]) return;
    for (i = 0; i < 3; i++) CHECK_EQ(ws_conn_send(en_wired[0], WS_OP_BINARY, big, sizeof big), WS_OK);
    CHECK_EQ(ss.msgs, 3);                         /* each once */
    CHECK(ss.msgs == 3 && ss.len[2] == sizeof big && ss.sum[2] == cn_fnv(big, sizeof big));
    CHECK_EQ(cs.pings, 3);
    CHECK_EQ(ss.pongs, 3);
    CHECK_EQ(ws_engine_output(en_wired[0], NULL), 0);
    CHECK_EQ(ws_engine_output(en_wired[1], NULL), 0);
    CHECK_EQ(ws_conn_close(en_wired[0], 1000, "wired"), WS_OK);   /* the close handshake too */
    CHECK_EQ(ws_engine_wants_eof(en_wired[1]), 1);
    ws_engine_eof(en_wired[0], 0);
    ws_engine_eof(en_wired[1], 0);
    CHECK(cs.closes == 1 && ss.closes == 1 && cs.clean && ss.clean);
    CHECK_STR(ss.reason, "wired");
    ws_engine_destroy(en_wired[0]);
    ws_engine_destroy(en_wired[1]);
    en_wired[0] = en_wired[1] = NULL;
}

/* WS_EV_DRAINED: after a send was refused with WS_ERR_FULL, once the output is consumed. */
static void test_engine_drained(void) {
    ws_config cfg;
    en_side ss;
    ws_conn *s;
    ws_engine_opts o;
    uint8_t big[60];
    memset(big, 'd', sizeof big);
    en_cfg(&cfg, &ss);
    cfg.max_send_queue = 100;
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.upgraded = 1;
    CHECK_EQ(ws_engine_create(&cfg, &o, NULL, &s), WS_OK);
    if (!s) return;
    CHECK_EQ(ws_conn_send(s, WS_OP_BINARY, big, 60), WS_OK);
    cn_tx_drain(s);
    CHECK_EQ(ss.drained, 0);                      /* nothing had to wait */
    CHECK_EQ(ws_conn_send(s, WS_OP_BINARY, big, 60), WS_OK);
    CHECK_EQ(ws_conn_send(s, WS_OP_BINARY, big, 60), WS_ERR_FULL);
    ws_engine_consume(s, 30);
    CHECK_EQ(ss.drained, 0);                      /* not empty yet */
    ws_engine_consume(s, 1000);                   /* more than there is: all of it */
    CHECK_EQ(ws_engine_output(s, NULL), 0);
    CHECK_EQ(ss.drained, 1);
    CHECK_EQ(ws_conn_send(s, WS_OP_BINARY, big, 60), WS_OK);
    cn_tx_drain(s);
    CHECK_EQ(ss.drained, 1);                      /* once per refusal */
    ws_engine_destroy(s);
}

/* ---- timers on a fake clock (any origin) ---- */
static void test_engine_timers(void) {
    const int64_t t0 = (int64_t)1 << 40;
    ws_config ccfg, scfg;
    en_side cs, ss;
    ws_conn *c = NULL, *s = NULL;
    ws_engine_opts o;
    en_cfg(&ccfg, &cs);                           /* a client's handshake timeout */
    ccfg.handshake_timeout_ms = 3000;
    memset(&o, 0, sizeof o);
    o.now_ms = -50000;
    CHECK_EQ(ws_engine_create(&ccfg, &o, NULL, &c), WS_OK);
    if (!c) return;
    CHECK_EQ(ws_engine_deadline(c), -47000);
    ws_engine_tick(c, -47001);
    CHECK_EQ(cs.closes, 0);
    ws_engine_tick(c, -47000);
    CHECK_EQ(cs.errors, 1);
    CHECK_EQ(cs.err_result, WS_ERR_TIMEOUT);
    CHECK_EQ(cs.closes, 1);
    CHECK_EQ(cs.close_code, 1006);
    CHECK_EQ(ws_engine_deadline(c), 0);
    CHECK_EQ(ws_engine_wants_eof(c), 1);
    ws_engine_destroy(c);

    en_cfg(&ccfg, &cs);                           /* close timeout: the peer never answers */
    en_cfg(&scfg, &ss);
    ccfg.close_timeout_ms = 700;
    en_pair(&ccfg, &scfg, &c, &s, t0);
    if (!c || !s) return;
    CHECK_EQ(ws_conn_close(c, 1000, "bye"), WS_OK);
    CHECK_EQ(ws_engine_deadline(c), t0 + 700);
    ws_engine_tick(c, t0 + 699);
    CHECK_EQ(cs.closes, 0);
    ws_engine_tick(c, t0 + 700);
    CHECK_EQ(cs.closes, 1);
    CHECK_EQ(cs.close_result, WS_ERR_TIMEOUT);
    CHECK_EQ(cs.clean, 0);
    ws_engine_destroy(c);
    ws_engine_destroy(s);

    en_cfg(&ccfg, &cs);                           /* heartbeat: ping interval + pong timeout */
    en_cfg(&scfg, &ss);
    scfg.ping_interval_ms = 1000;
    scfg.pong_timeout_ms = 400;
    en_pair(&ccfg, &scfg, &c, &s, t0);
    if (!c || !s) return;
    CHECK_EQ(ws_engine_deadline(s), t0 + 1000);
    CHECK_EQ(ws_engine_deadline(c), 0);           /* clients don't ping by default */
    ws_engine_tick(s, t0 + 1000);                 /* the ping goes out; a pong is due by +1400 */
    CHECK_EQ(ws_engine_deadline(s), t0 + 1400);
    ws_engine_pump(c, s, t0 + 1100);              /* answered in time */
    CHECK_EQ(cs.pings, 1);
    CHECK_EQ(ss.pongs, 1);
    CHECK_EQ(ws_engine_deadline(s), t0 + 2000);
    ws_engine_tick(s, t0 + 2000);                 /* the next ping: never answered */
    CHECK(ws_engine_output(s, NULL) > 0);
    ws_engine_tick(s, t0 + 2399);
    CHECK_EQ(ss.closes, 0);
    ws_engine_tick(s, t0 + 2400);
    CHECK_EQ(ss.errors, 1);
    CHECK_EQ(ss.err_result, WS_ERR_TIMEOUT);
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(ss.close_code, 1006);
    CHECK_EQ(ws_engine_wants_eof(s), 1);
    ws_engine_pump(c, s, t0 + 2500);              /* the client learns the stream ended */
    CHECK_EQ(cs.closes, 1);
    CHECK_EQ(cs.clean, 0);
    ws_engine_destroy(c);
    ws_engine_destroy(s);
}

/* A connection's timers are kept modulo 2^32 ms around the clock: they stay right across the
 * wrap and over a lifetime of many wraps (here ~6 x 2^32 ms), with any origin. */
static void test_engine_timers_wrap(void) {
    const int64_t t0 = ((int64_t)1 << 32) - 300, iv = (int64_t)1 << 30;
    ws_config ccfg, scfg;
    en_side cs, ss;
    ws_conn *c = NULL, *s = NULL;
    int64_t now = t0;
    int i;
    en_cfg(&ccfg, &cs);
    en_cfg(&scfg, &ss);
    scfg.ping_interval_ms = (int)iv;
    scfg.pong_timeout_ms = 400;
    scfg.idle_timeout_ms = (int)(2 * iv + 1000);   /* > the ping interval: pongs keep it open */
    en_pair(&ccfg, &scfg, &c, &s, t0);
    if (!c || !s) return;
    for (i = 0; i < 24; i++) {
        CHECK_EQ(ws_engine_deadline(s), now + iv);
        now += iv;
        ws_engine_tick(s, now - 1);
        CHECK_EQ(cs.pings, i);
        ws_engine_tick(s, now);                    /* the ping; a pong is due by now + 400 */
        CHECK_EQ(ws_engine_deadline(s), now + 400);
        ws_engine_pump(c, s, now + 100);
        CHECK_EQ(cs.pings, i + 1);
        CHECK_EQ(ss.pongs, i + 1);
        if (ss.closes) break;
    }
    CHECK_EQ(ss.closes, 0);
    CHECK_EQ(ws_engine_deadline(s), now + iv);
    ws_engine_tick(s, now + iv);                   /* this ping is never answered */
    ws_engine_tick(s, now + iv + 399);
    CHECK_EQ(ss.closes, 0);
    ws_engine_tick(s, now + iv + 400);
    CHECK_EQ(ss.err_result, WS_ERR_TIMEOUT);
    CHECK_EQ(ss.closes, 1);
    ws_engine_destroy(c);
    ws_engine_destroy(s);
}

/* ---- head bytes and upgraded streams ---- */
static void test_engine_head(void) {
    ws_config cfg;
    en_side ss;
    ws_conn *c = NULL;
    ws_engine_opts o;
    uint8_t in[512];
    size_t n = strlen(cn_req), fl;
    char out[512];
    memcpy(in, cn_req, n);
    fl = cn_frame(in + n, 1, 0, WS_OP_TEXT, 1, "after the request", 17);
    n += fl;
    n += cn_frame(in + n, 1, 0, WS_OP_BINARY, 1, "split", 5);
    /* a request someone else read, a frame, and half of another */
    en_cfg(&cfg, &ss);
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.head = in;
    o.head_len = n - 5;
    CHECK_EQ(ws_engine_create(&cfg, &o, NULL, &c), WS_OK);
    if (!c) return;
    CHECK_EQ(ss.opens, 1);                        /* all of it handled inside create */
    CHECK_EQ(ss.msgs, 1);
    CHECK(ss.msgs && ss.len[0] == 17);
    CHECK(strncmp(cn_tx_str(c, out, sizeof out), "HTTP/1.1 101 ", 13) == 0);
    CHECK_EQ(ws_engine_feed(c, in + n - 5, 5, 0), WS_OK);   /* the rest, from the stream */
    CHECK_EQ(ss.msgs, 2);
    CHECK(ss.msgs == 2 && ss.len[1] == 5 && ss.op[1] == WS_OP_BINARY);
    ws_engine_destroy(c);

    /* upgraded elsewhere, with the agreed protocol; the head holds frames */
    en_cfg(&cfg, &ss);
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.upgraded = 1;
    o.protocol = "chat";
    o.head = in + strlen(cn_req);
    o.head_len = fl;
    CHECK_EQ(ws_engine_create(&cfg, &o, NULL, &c), WS_OK);
    if (!c) return;
    CHECK_EQ(ss.opens, 1);
    CHECK_EQ(ss.msgs, 1);
    CHECK_STR(ws_conn_protocol(c), "chat");
    CHECK_EQ(ws_engine_output(c, NULL), 0);       /* no 101: it was sent already */
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    ws_engine_destroy(c);

    /* a client whose 101 was read elsewhere: frames after it, no request sent */
    en_cfg(&cfg, &ss);
    memset(&o, 0, sizeof o);
    o.upgraded = 1;
    n = cn_frame(in, 1, 0, WS_OP_TEXT, 0, "hello client", 12);
    o.head = in;
    o.head_len = n;
    CHECK_EQ(ws_engine_create(&cfg, &o, NULL, &c), WS_OK);
    if (!c) return;
    CHECK_EQ(ss.opens, 1);
    CHECK(ss.msgs == 1 && ss.len[0] == 12);
    CHECK_EQ(ws_engine_output(c, NULL), 0);
    CHECK_STR(ws_conn_protocol(c), "");
    ws_engine_destroy(c);
}

/* ---- destroy fires CLOSE exactly once ---- */
static void test_engine_destroy(void) {
    ws_config ccfg, scfg;
    en_side cs, ss;
    ws_conn *c = NULL, *s = NULL;
    en_cfg(&ccfg, &cs);
    en_cfg(&scfg, &ss);
    en_pair(&ccfg, &scfg, &c, &s, 0);
    if (!c || !s) return;
    ws_engine_destroy(c);                         /* open: CLOSE 1006, not clean */
    CHECK_EQ(cs.closes, 1);
    CHECK_EQ(cs.close_code, 1006);
    CHECK_EQ(cs.clean, 0);
    CHECK_EQ(cs.close_result, WS_ERR_CLOSED);
    CHECK_EQ(cs.errors, 0);                       /* the close event says it all */
    ws_engine_eof(s, 0);
    CHECK_EQ(ss.closes, 1);
    ws_engine_destroy(s);                         /* closed already: nothing more */
    CHECK_EQ(ss.closes, 1);

    en_cfg(&ccfg, &cs);                           /* the close was agreed, the stream not ended */
    en_cfg(&scfg, &ss);
    en_pair(&ccfg, &scfg, &c, &s, 0);
    if (!c || !s) return;
    CHECK_EQ(ws_conn_close(c, 4005, "agreed"), WS_OK);
    en_move(c, s, 0);
    en_move(s, c, 0);
    CHECK_EQ(cs.closes + ss.closes, 0);
    ws_engine_destroy(c);
    ws_engine_destroy(s);
    CHECK_EQ(cs.closes, 1);
    CHECK_EQ(cs.clean, 1);
    CHECK_EQ(cs.close_code, 4005);
    CHECK_EQ(cs.close_result, WS_OK);
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(ss.clean, 1);
    CHECK_STR(ss.reason, "agreed");

    en_cfg(&ccfg, &cs);                           /* a client still in its handshake */
    CHECK_EQ(ws_engine_create(&ccfg, NULL, NULL, &c), WS_OK);
    ws_engine_destroy(c);
    CHECK_EQ(cs.closes, 1);
    CHECK_EQ(cs.opens, 0);
}

/* ---- callbacks that act on the other engine of the pair while it is pumped ---- */
static void test_engine_cross_callbacks(void) {
    ws_config ccfg, scfg;
    en_side cs, ss;
    ws_conn *c = NULL, *s = NULL;
    int i;
    en_cfg(&ccfg, &cs);
    en_cfg(&scfg, &ss);
    en_pair(&ccfg, &scfg, &c, &s, 0);
    if (!c || !s) return;
    ss.cross = 1; ss.other = c;                   /* the server's callback sends on the client */
    cs.cross = 1; cs.other = s;                   /* and the client's on the server */
    cs.echo = 1;
    for (i = 0; i < 3; i++) CHECK_EQ(ws_conn_send_text(c, "poke"), WS_OK);
    ws_engine_pump(c, s, 1);
    /* each poke: the server's callback made the client send "from the other side"; the
     * server got those; the client echoed nothing (it received nothing yet) */
    CHECK_EQ(ss.cross_sent, 3);
    CHECK_EQ(ss.msgs, 6);
    CHECK(ss.msgs == 6 && ss.len[5] == 19);
    CHECK_EQ(ws_conn_send_text(s, "poke"), WS_OK);   /* the client's callback sends on the server */
    ws_engine_pump(c, s, 2);
    CHECK_EQ(cs.cross_sent, 1);
    /* the client got "poke" and (sent by its own callback through the server) "from the other
     * side", and echoed both; the echoed "poke" made the server's callback send once more */
    CHECK_EQ(cs.msgs, 2);
    CHECK_EQ(ss.cross_sent, 4);
    CHECK_EQ(ss.msgs, 9);
    CHECK_EQ(ws_conn_send_text(c, "shut"), WS_OK);   /* the server's callback closes the client */
    ws_engine_pump(c, s, 3);
    CHECK_EQ(cs.closes, 1);
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(ss.close_code, 4002);
    CHECK_STR(ss.reason, "closed by the peer's callback");
    CHECK(cs.clean && ss.clean);
    CHECK_EQ(cs.errors + ss.errors, 0);
    CHECK_EQ(cs.after_close + ss.after_close, 0);
    ws_engine_destroy(c);
    ws_engine_destroy(s);
}

/* ---- an engine's connection: no ctx, the caller's clock ---- */
static void test_engine_conn_calls(void) {
    ws_config cfg;
    en_side ss;
    ws_conn *c = NULL;
    ws_engine_opts o;
    char addr[64];
    uint16_t port = 7;
    uint8_t fr[16];
    en_cfg(&cfg, &ss);
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.upgraded = 1;
    o.now_ms = 5000;
    CHECK_EQ(ws_engine_create(&cfg, &o, (void *)&o, &c), WS_OK);
    if (!c) return;
    CHECK(ws_conn_ctx(c) == NULL);
    CHECK(ws_conn_user(c) == (void *)&o);
    CHECK_EQ(ws_conn_id(c), 1);
    CHECK_EQ(ws_conn_age_ms(c), 0);
    CHECK_EQ(ws_engine_feed(c, "", 0, 7500), WS_OK);
    CHECK_EQ(ws_conn_age_ms(c), 2500);            /* on the engine's clock */
    ws_engine_tick(c, 9000);
    CHECK_EQ(ws_conn_age_ms(c), 4000);
    CHECK_EQ(ws_conn_remote(c, addr, sizeof addr, &port), WS_ERR_STATE);   /* no address */
    CHECK_STR(addr, "");
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    /* after the close, sends and closes say WS_ERR_CLOSED; after the end, feeding too */
    CHECK_EQ(ws_conn_close(c, 1000, NULL), WS_OK);
    CHECK_EQ(ws_conn_close(c, 1000, NULL), WS_ERR_CLOSED);
    CHECK_EQ(ws_conn_send_text(c, "x"), WS_ERR_CLOSED);
    CHECK_EQ(ws_engine_feed(c, fr, cn_frame(fr, 1, 0, WS_OP_CLOSE, 1, "", 0), 9001), WS_OK);
    cn_tx_drain(c);
    CHECK_EQ(ws_engine_wants_eof(c), 1);
    ws_engine_eof(c, 9002);
    CHECK_EQ(ss.closes, 1);
    CHECK_EQ(ws_engine_feed(c, "x", 1, 9003), WS_ERR_CLOSED);
    CHECK_EQ(ws_conn_send_text(c, "x"), WS_ERR_CLOSED);
    CHECK_EQ(ws_conn_close(c, 1000, NULL), WS_ERR_CLOSED);
    ws_engine_eof(c, 9004);                       /* twice: nothing more */
    ws_engine_tick(c, 9005);
    CHECK_EQ(ss.closes, 1);
    ws_engine_destroy(c);
    CHECK_EQ(ss.closes, 1);
}

/* ws_conn_close before the connection opened gives the attempt up: CLOSE fires before it
 * returns, as events do after every engine call (regression: it waited for the next call). */
static void test_engine_close_before_open(void) {
    ws_config cfg;
    en_side cs;
    ws_conn *c = NULL;
    en_cfg(&cfg, &cs);
    CHECK_EQ(ws_engine_create(&cfg, NULL, NULL, &c), WS_OK);
    if (!c) return;
    CHECK(ws_engine_output(c, NULL) > 0);         /* the request */
    CHECK_EQ(ws_conn_close(c, 1000, NULL), WS_OK);
    CHECK_EQ(cs.closes, 1);
    CHECK_EQ(cs.close_result, WS_ERR_CLOSED);
    CHECK_EQ(cs.errors, 0);
    CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSED);
    CHECK_EQ(ws_engine_wants_eof(c), 1);
    CHECK_EQ(ws_engine_deadline(c), 0);
    ws_engine_destroy(c);
    CHECK_EQ(cs.closes, 1);
}

static void en_log_count(int level, const char *msg, void *user) {
    (void)level; (void)msg;
    ++*(int *)user;
}

static void test_engine_errors(void) {
    ws_config cfg, nocb;
    en_side ss;
    ws_conn *c = (ws_conn *)&cfg, *d = NULL;
    ws_engine_opts o;
    const uint8_t *p = (const uint8_t *)"x";
    int logs = 0;
    en_cfg(&cfg, &ss);
    memset(&nocb, 0, sizeof nocb);
    CHECK_EQ(ws_engine_create(NULL, NULL, NULL, &c), WS_ERR_ARG);
    CHECK(c == NULL);                             /* *out is cleared */
    CHECK_EQ(ws_engine_create(&nocb, NULL, NULL, &c), WS_ERR_ARG);
    CHECK_EQ(ws_engine_create(&cfg, NULL, NULL, NULL), WS_ERR_ARG);
    memset(&o, 0, sizeof o);
    {
        static const char *bad[] = { "http://example.com/", "ws://", "ws://exa mple.com/",
                                     "ws://example.com:99999/", "ws://example.com/#frag" };
        size_t i;
        ws_config lc = cfg;
        lc.log = en_log_count;
        lc.user = &logs;                          /* (also the allocator's user: unused) */
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            c = (ws_conn *)&cfg;
            o.url = bad[i];
            CHECK_EQ(ws_engine_create(&lc, &o, NULL, &c), WS_ERR_URL);
            CHECK(c == NULL);
        }
        CHECK_EQ(logs, 5);                        /* each says why */
        o.url = NULL;
    }
#ifndef WS_USE_ZLIB   /* agreed extensions need WS_USE_ZLIB (test_deflate.c tests them) */
    o.upgraded = 1;
    o.extensions = "permessage-deflate";
    c = (ws_conn *)&cfg;
    CHECK_EQ(ws_engine_create(&cfg, &o, NULL, &c), WS_ERR_ARG);
    CHECK(c == NULL);
    o.upgraded = 0;
    o.extensions = NULL;
#endif
    CHECK_EQ(ws_engine_pair(NULL, &cfg, &c, &d), WS_ERR_ARG);
    CHECK(c == NULL && d == NULL);
    CHECK_EQ(ws_engine_pair(&cfg, &cfg, NULL, &d), WS_ERR_ARG);
    /* NULL engines: harmless */
    CHECK_EQ(ws_engine_feed(NULL, "x", 1, 0), WS_ERR_ARG);
    ws_engine_eof(NULL, 0);
    ws_engine_tick(NULL, 0);
    ws_engine_consume(NULL, 5);
    ws_engine_destroy(NULL);
    CHECK_EQ(ws_engine_output(NULL, &p), 0);
    CHECK(p == NULL);
    CHECK_EQ(ws_engine_wants_eof(NULL), 0);
    CHECK_EQ(ws_engine_deadline(NULL), 0);
    CHECK_EQ(ws_engine_pump(NULL, NULL, 0), 0);
    CHECK_EQ(ws_conn_send_text(NULL, "x"), WS_ERR_ARG);
    CHECK_EQ(ws_conn_close(NULL, 1000, NULL), WS_ERR_ARG);
    CHECK(ws_conn_ctx(NULL) == NULL);
    CHECK_EQ(ws_conn_age_ms(NULL), 0);
    o.server = 1;
    o.upgraded = 1;
    CHECK_EQ(ws_engine_create(&cfg, &o, NULL, &c), WS_OK);
    if (!c) return;
    CHECK_EQ(ws_engine_feed(c, NULL, 3, 0), WS_ERR_ARG);
    CHECK_EQ(ws_engine_feed(c, NULL, 0, 0), WS_OK);
    CHECK_EQ(ws_engine_pump(c, NULL, 0), 0);
    CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, NULL, 2), WS_ERR_ARG);
    CHECK_EQ(ws_conn_close(c, 1000, "\xff"), WS_ERR_ARG);
#ifdef EN_SOCKETS
    {   /* engine calls refuse a loop connection; ws_conn_io_ready ignores an engine */
        ws_ctx *ctx = ws_ctx_create(&cfg);
        ws_conn *lc = NULL;
        ws_engine_opts lo;
        int sv[2];
        CHECK(ctx != NULL);
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        memset(&lo, 0, sizeof lo);
        lo.server = 1;
        lo.upgraded = 1;
        CHECK_EQ(ws_conn_adopt(ctx, -1, &lo, NULL, &lc), WS_ERR_ARG);   /* neither fd nor io */
        CHECK_EQ(ws_conn_adopt(NULL, sv[0], &lo, NULL, &lc), WS_ERR_ARG);
        CHECK_EQ(ws_conn_adopt(ctx, sv[0], &lo, NULL, &lc), WS_OK);
        if (lc) {
            CHECK_EQ(ws_engine_feed(lc, "x", 1, 0), WS_ERR_ARG);
            CHECK_EQ(ws_engine_pump(c, lc, 0), 0);
            ws_engine_tick(lc, 0);
            ws_engine_eof(lc, 0);
            ws_engine_destroy(lc);                /* not an engine: ignored */
            CHECK(ws_conn_ctx(lc) == ctx);
        }
        ws_conn_io_ready(c, WS_POLLIN);
        CHECK_EQ(ss.closes, 0);
        ws_ctx_destroy(ctx);                      /* closes sv[0] */
        close(sv[1]);
    }
#endif
    ws_engine_destroy(c);
    CHECK_EQ(ss.closes, 1);
}

#ifdef EN_SOCKETS
/* ---- ws_conn_adopt: streams handed to a ws_ctx ---- */
static void en_on_conn_user(ws_conn *c, const ws_event *ev, void *user) {
    (void)user;
    en_on_event(c, ev, ws_conn_user(c));
}

/* Both ends of a socketpair adopted by one ctx: the client side with a URL (its request goes
 * out in the loop), the server side after someone else read the request's first bytes. */
static void test_engine_adopt_socketpair(void) {
    ws_config cfg;
    en_side cs, ss;
    ws_ctx *ctx;
    ws_conn *cl = NULL, *sv = NULL;
    ws_engine_opts o;
    int fds[2], i;
    char head[32];
    struct pollfd pfd;
    memset(&cfg, 0, sizeof cfg);
    memset(&cs, 0, sizeof cs);
    memset(&ss, 0, sizeof ss);
    cfg.on_event = en_on_conn_user;
    ss.echo = 1;
    cs.track = &cl;
    ss.track = &sv;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    memset(&o, 0, sizeof o);
    o.url = "ws://example.com/adopted";
    CHECK_EQ(ws_conn_adopt(ctx, fds[0], &o, &cs, &cl), WS_OK);
    CHECK(cl != NULL && ws_conn_ctx(cl) == ctx);
    for (i = 0; i < 500; i++) {                   /* the loop writes the request */
        ws_poll(ctx, 10);
        pfd.fd = fds[1]; pfd.events = POLLIN; pfd.revents = 0;
        if (poll(&pfd, 1, 0) > 0) break;
    }
    CHECK_EQ(recv(fds[1], head, 20, 0), 20);      /* read elsewhere: the first 20 bytes */
    CHECK(memcmp(head, "GET /adopted HTTP/1.", 20) == 0);
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.head = head;
    o.head_len = 20;
    CHECK_EQ(ws_conn_adopt(ctx, fds[1], &o, &ss, &sv), WS_OK);
    CHECK(sv != NULL && ws_conn_is_server(sv));
    for (i = 0; i < 500 && !(cs.opens && ss.opens); i++) ws_poll(ctx, 10);
    CHECK_EQ(cs.opens, 1);
    CHECK_EQ(ss.opens, 1);
    if (cl) CHECK_EQ(ws_conn_send_text(cl, "through a socketpair"), WS_OK);
    for (i = 0; i < 500 && !cs.msgs; i++) ws_poll(ctx, 10);
    CHECK_EQ(ss.msgs, 1);
    CHECK(cs.msgs == 1 && cs.len[0] == 20);
    if (cl) CHECK_EQ(ws_conn_close(cl, 4003, "done"), WS_OK);
    for (i = 0; i < 500 && !(cs.closes && ss.closes); i++) ws_poll(ctx, 10);
    CHECK_EQ(cs.closes, 1);
    CHECK_EQ(ss.closes, 1);
    CHECK(cs.clean && ss.clean);
    CHECK_EQ(ss.close_code, 4003);
    CHECK_STR(ss.reason, "done");
    CHECK_EQ(cs.errors + ss.errors, 0);
    ws_ctx_destroy(ctx);                          /* closed both descriptors */
    CHECK_EQ(cs.closes + ss.closes, 2);
    CHECK_EQ(cs.after_close + ss.after_close, 0);
}

/* ---- a ws_io without a descriptor: two loop conns wired through memory pipes ---- */
typedef struct en_pipe { uint8_t buf[4096]; size_t off, len; int shut; } en_pipe;
typedef struct en_end {
    en_pipe *in, *out;
    struct en_end *peer;
    ws_conn *conn;             /* NULL once its CLOSE fired */
    int closes, shutdowns, agains;
} en_end;
static void en_wake(en_end *e, int events) { if (e->conn) ws_conn_io_ready(e->conn, events); }
static ws_result en_end_write(void *p, const uint8_t *data, size_t len, size_t *put) {
    en_end *e = (en_end *)p;
    en_pipe *o = e->out;
    size_t room;
    if (o->off == o->len) o->off = o->len = 0;
    room = sizeof o->buf - o->len;
    if (!room) { e->agains++; return WS_AGAIN; }   /* the reader makes room, then wakes us */
    *put = WS__MIN(len, room);
    memcpy(o->buf + o->len, data, *put);
    o->len += *put;
    en_wake(e->peer, WS_POLLIN);
    return WS_OK;
}
static ws_result en_end_read(void *p, uint8_t *buf, size_t cap, size_t *got) {
    en_end *e = (en_end *)p;
    en_pipe *i = e->in;
    size_t n = i->len - i->off;
    if (!n) return i->shut ? WS_ERR_CLOSED : WS_AGAIN;
    *got = WS__MIN(n, cap);
    memcpy(buf, i->buf + i->off, *got);
    i->off += *got;
    en_wake(e->peer, WS_POLLOUT);                 /* room again for the writer */
    return WS_OK;
}
static void en_end_shutdown(void *p) {
    en_end *e = (en_end *)p;
    e->shutdowns++;
    e->out->shut = 1;
    en_wake(e->peer, WS_POLLIN);
}
static void en_end_close(void *p) {
    en_end *e = (en_end *)p;
    e->closes++;
    e->out->shut = 1;
    en_wake(e->peer, WS_POLLIN);
}

static void test_engine_adopt_io(void) {
    static en_pipe ab, ba;
    static uint8_t big[100000];
    ws_config cfg;
    en_side cs, ss;
    en_end a, b;
    ws_ctx *ctx;
    ws_engine_opts o;
    ws_io io;
    int i;
    size_t k;
    for (k = 0; k < sizeof big; k++) big[k] = (uint8_t)(k * 13);
    memset(&ab, 0, sizeof ab);
    memset(&ba, 0, sizeof ba);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.in = &ba; a.out = &ab; a.peer = &b;
    b.in = &ab; b.out = &ba; b.peer = &a;
    memset(&cfg, 0, sizeof cfg);
    memset(&cs, 0, sizeof cs);
    memset(&ss, 0, sizeof ss);
    cfg.on_event = en_on_conn_user;
    ss.echo = 1;
    cs.track = &a.conn;
    ss.track = &b.conn;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    memset(&io, 0, sizeof io);
    io.write = en_end_write;
    io.read = en_end_read;
    io.shutdown = en_end_shutdown;
    io.close = en_end_close;
    memset(&o, 0, sizeof o);
    o.io = &io;
    o.url = "ws://memory/";
    io.io = &a;
    CHECK_EQ(ws_conn_adopt(ctx, -1, &o, &cs, &a.conn), WS_OK);   /* client */
    o.server = 1;
    o.url = NULL;
    io.io = &b;
    CHECK_EQ(ws_conn_adopt(ctx, -1, &o, &ss, &b.conn), WS_OK);   /* server */
    for (i = 0; i < 10000 && !(cs.opens && ss.opens); i++) ws_poll(ctx, 0);
    CHECK_EQ(cs.opens, 1);
    CHECK_EQ(ss.opens, 1);
    if (a.conn) CHECK_EQ(ws_conn_send(a.conn, WS_OP_BINARY, big, sizeof big), WS_OK);
    for (i = 0; i < 10000 && !cs.msgs; i++) ws_poll(ctx, 0);
    CHECK_EQ(ss.msgs, 1);
    CHECK_EQ(cs.msgs, 1);
    if (cs.msgs == 1) { CHECK_EQ(cs.len[0], sizeof big); CHECK_EQ(cs.sum[0], cn_fnv(big, sizeof big)); }
    CHECK(a.agains + b.agains > 0);               /* the 4 KiB pipes filled up on the way */
    if (b.conn) CHECK_EQ(ws_conn_close(b.conn, 1001, "server done"), WS_OK);
    for (i = 0; i < 10000 && !(cs.closes && ss.closes); i++) ws_poll(ctx, 0);
    CHECK_EQ(cs.closes, 1);
    CHECK_EQ(ss.closes, 1);
    CHECK(cs.clean && ss.clean);
    CHECK_EQ(cs.close_code, 1001);
    CHECK_STR(cs.reason, "server done");
    CHECK_EQ(b.shutdowns, 1);                     /* the server ended its side first */
    CHECK_EQ(a.closes, 1);
    CHECK_EQ(b.closes, 1);
    CHECK_EQ(cs.errors + ss.errors, 0);
    ws_ctx_destroy(ctx);
    CHECK_EQ(cs.closes + ss.closes, 2);
    CHECK_EQ(a.closes + b.closes, 2);
}
#endif

/* ws_engine_feed and ws_engine_eof from the engine's own callback (a ws_io's peer answering
 * at once): the input waits until the callback returns, so ev->data stays as it is during the
 * callback, a fragmented message being assembled is not cut, events do not nest and CLOSE
 * comes last (regression: the fed frames were processed inside the callback, and the message
 * they started lost its first fragment). */
typedef struct en_fcb {
    ws_conn *c;
    const uint8_t *feed;       /* fed from the next MESSAGE callback, then NULL */
    size_t feed_len;
    int eof;                   /* ws_engine_eof from the next MESSAGE callback */
    int depth, nested, msgs, closes, after_close;
    size_t len[5];
    uint32_t sum[5];
} en_fcb;
static void en_on_fcb(ws_conn *c, const ws_event *ev, void *user) {
    en_fcb *f = (en_fcb *)user;
    if (f->depth++) f->nested++;
    if (f->closes) f->after_close++;
    if (ev->type == WS_EV_MESSAGE) {
        uint32_t before = ev->len ? cn_fnv(ev->data, ev->len) : 0;
        if (f->msgs < 5) { f->len[f->msgs] = ev->len; f->sum[f->msgs] = before; }
        f->msgs++;
        if (f->feed) {
            const uint8_t *p = f->feed;
            int msgs = f->msgs;
            f->feed = NULL;
            CHECK_EQ(ws_engine_feed(c, p, f->feed_len, 0), WS_OK);
            CHECK_EQ(f->msgs, msgs);               /* nothing of it yet */
        }
        if (f->eof) {
            f->eof = 0;
            ws_engine_eof(c, 0);
            CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);   /* the end comes after this callback */
            CHECK_EQ(ws_engine_feed(c, "x", 1, 0), WS_ERR_CLOSED);   /* input after the end */
        }
        CHECK_EQ(ev->len ? cn_fnv(ev->data, ev->len) : 0, before);   /* still the message */
    }
    if (ev->type == WS_EV_CLOSE) f->closes++;
    f->depth--;
}
static void test_engine_feed_from_callback(void) {
    static uint8_t in[20000], later[2 * 20000], big[20000];
    ws_config cfg;
    ws_engine_opts o;
    en_fcb f;
    size_t n = 0, ln = 0, i;
    for (i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7 + 1);
    memset(&cfg, 0, sizeof cfg);
    memset(&o, 0, sizeof o);
    memset(&f, 0, sizeof f);
    cfg.on_event = en_on_fcb;
    cfg.user = &f;
    o.server = 1;
    o.upgraded = 1;
    /* a fragmented message; its callback feeds the first fragment of the next one */
    CHECK_EQ(ws_engine_create(&cfg, &o, NULL, &f.c), WS_OK);
    if (!f.c) return;
    n += cn_frame(in + n, 0, 0, WS_OP_BINARY, 1, "ab", 2);
    n += cn_frame(in + n, 1, 0, WS_OP_CONT, 1, "cd", 2);
    ln = cn_frame(later, 0, 0, WS_OP_BINARY, 1, "XY", 2);
    f.feed = later; f.feed_len = ln;
    CHECK_EQ(ws_engine_feed(f.c, in, n, 0), WS_OK);
    CHECK_EQ(f.msgs, 1);
    n = cn_frame(in, 1, 0, WS_OP_CONT, 1, "Z", 1);
    CHECK_EQ(ws_engine_feed(f.c, in, n, 0), WS_OK);
    CHECK_EQ(f.msgs, 2);
    CHECK(f.msgs == 2 && f.len[1] == 3 && f.sum[1] == cn_fnv((const uint8_t *)"XYZ", 3));
    /* a message and a frame's start fill the receive buffer; the callback feeds more than fits
     * there (the buffer must not move or compact under ev->data), then the stream's end */
    n = cn_frame(in, 1, 0, WS_OP_BINARY, 1, big, 12000);      /* 12,008 bytes */
    n += cn_frame(in + n, 1, 0, WS_OP_BINARY, 1, big, 4000);  /* 4,008 */
    memcpy(later, in + 14008, n - 14008);         /* the second frame's last 2,008 bytes */
    ln = n - 14008;
    ln += cn_frame(later + ln, 1, 0, WS_OP_BINARY, 1, big, sizeof big);
    f.feed = later; f.feed_len = ln;
    f.eof = 1;
    CHECK_EQ(ws_engine_feed(f.c, in, 14008, 0), WS_OK);
    CHECK_EQ(f.msgs, 5);
    CHECK(f.msgs == 5 && f.len[2] == 12000 && f.sum[2] == cn_fnv(big, 12000));
    CHECK(f.msgs == 5 && f.len[3] == 4000 && f.sum[3] == cn_fnv(big, 4000));
    CHECK(f.msgs == 5 && f.len[4] == sizeof big && f.sum[4] == cn_fnv(big, sizeof big));
    CHECK_EQ(f.closes, 1);
    CHECK_EQ(f.nested, 0);
    CHECK_EQ(f.after_close, 0);
    CHECK_EQ(ws_conn_state(f.c), WS_STATE_CLOSED);
    ws_engine_destroy(f.c);
}

#ifdef EN_SOCKETS
/* ws_conn_adopt of a client stream with an Origin that has a CR LF in it: WS_ERR_ARG, the
 * caller keeps its socket, and nothing of the connection is left in the ctx. (The request used
 * to fail only when built, after the connection was on the pending list: a use after free in
 * the next ws_poll; now the Origin is refused before. test_options' adopt_out_of_memory
 * covers a request that cannot be queued.) */
static void test_engine_adopt_bad_request(void) {
    ws_config cfg;
    en_side ss;
    ws_engine_opts o;
    ws_connect_opts co;
    ws_ctx *ctx;
    ws_conn *c = NULL;
    int sv[2], i;
    char b;
    en_cfg(&cfg, &ss);
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) { CHECK(0); ws_ctx_destroy(ctx); return; }
    memset(&o, 0, sizeof o);
    memset(&co, 0, sizeof co);
    co.origin = "http://a\r\nX-Injected: 1";
    o.url = "ws://localhost/";
    o.connect = &co;
    CHECK_EQ(ws_conn_adopt(ctx, sv[0], &o, NULL, &c), WS_ERR_ARG);
    CHECK(c == NULL);
    for (i = 0; i < 3; i++) CHECK(ws_poll(ctx, 0) >= 0);
    CHECK_EQ(ss.opens + ss.errors + ss.closes, 0);
    CHECK_EQ(ws_conn_count(ctx), 0);
    ws_ctx_destroy(ctx);
    CHECK_EQ(write(sv[1], "x", 1), 1);           /* still the caller's, still open */
    CHECK_EQ(read(sv[0], &b, 1), 1);
    close(sv[0]);
    close(sv[1]);
}
#endif

/* ---- ws_engine_destroy from inside the engine: its ws_io and its callbacks ----
 * A transport that tears the engine down from its own write (a write error), close or
 * shutdown, or a callback that destroys it (CLOSE is the usual place): the engine stops at
 * once and is freed when the engine call that is running returns, CLOSE fired exactly once
 * (regression: from ws_io.write, the flush went on in the freed engine, a heap use after
 * free; from a callback it failed an assertion, and without asserts it was one too). */
typedef struct en_kill {
    ws_conn *c;
    int on_write, on_close, on_shutdown, on_msg, on_event_type;   /* when to destroy */
    int writes, closes, msgs, close_events, after_close, calls_failed;
} en_kill;
#define EN_KILLED(k) do { CHECK_EQ((k).close_events, 1); CHECK_EQ((k).after_close, 0); } while (0)
static void en_kill_now(en_kill *k) {
    ws_conn *c = k->c;
    if (!c) return;
    ws_engine_destroy(c);
    ws_engine_destroy(c);   /* twice: still one destroy */
    /* c stays valid until the engine call returns; everything on it fails or waits */
    if (ws_conn_send_text(c, "after") != WS_ERR_CLOSED) k->calls_failed++;
    if (ws_conn_close(c, 1000, NULL) != WS_ERR_CLOSED) k->calls_failed++;
    if (ws_engine_feed(c, "x", 1, 0) != WS_ERR_CLOSED) k->calls_failed++;
    ws_engine_tick(c, 0);
    ws_engine_eof(c, 0);
    ws_engine_consume(c, 10);
    ws_conn_drop(c);
}
static ws_result en_kill_write(void *p, const uint8_t *data, size_t len, size_t *put) {
    en_kill *k = (en_kill *)p;
    (void)data;
    k->writes++;
    *put = len;
    if (k->on_write && k->writes == k->on_write) { en_kill_now(k); return WS_ERR_IO; }
    return WS_OK;
}
static void en_kill_close(void *p) {
    en_kill *k = (en_kill *)p;
    k->closes++;
    if (k->on_close) en_kill_now(k);
}
static void en_kill_shutdown(void *p) {
    en_kill *k = (en_kill *)p;
    if (k->on_shutdown) en_kill_now(k);
}
static void en_kill_event(ws_conn *c, const ws_event *ev, void *user) {
    en_kill *k = (en_kill *)user;
    (void)c;
    if (k->close_events) k->after_close++;
    if (ev->type == WS_EV_MESSAGE) k->msgs++;
    if (ev->type == WS_EV_CLOSE) k->close_events++;
    if ((int)ev->type == k->on_event_type || (ev->type == WS_EV_MESSAGE && k->msgs == k->on_msg))
        en_kill_now(k);
}
/* an engine over en_kill's ws_io: server (upgraded, open) or client (its request goes out) */
static ws_result en_kill_engine(en_kill *k, int server) {
    ws_engine_opts o;
    ws_config cfg;
    ws_io w;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = en_kill_event;
    cfg.user = k;
    memset(&w, 0, sizeof w);
    w.write = en_kill_write;
    w.close = en_kill_close;
    w.shutdown = en_kill_shutdown;
    w.io = k;
    memset(&o, 0, sizeof o);
    o.server = server;
    o.upgraded = server;
    o.io = &w;                                    /* cfg and w are copied */
    return ws_engine_create(&cfg, &o, NULL, &k->c);
}
/* the server engine, open: 1, or 0 (a failed check) */
static int en_kill_server(en_kill *k) {
    CHECK_EQ(en_kill_engine(k, 1), WS_OK);
    return k->c != NULL;
}
static void test_engine_destroy_from_io(void) {
    en_kill k;
    uint8_t in[64];
    size_t n;
    /* from ws_io.write, inside ws_conn_send */
    memset(&k, 0, sizeof k);
    k.on_write = 1;
    if (!en_kill_server(&k)) return;
    CHECK_EQ(ws_conn_send_text(k.c, "hello"), WS_OK);   /* accepted, then the stream broke */
    EN_KILLED(k);                                 /* CLOSE once, last */
    CHECK_EQ(k.closes, 1);                        /* the stream released once */
    CHECK_EQ(k.calls_failed, 0);
    /* from ws_io.write inside ws_engine_create (a client's request): *out NULL */
    memset(&k, 0, sizeof k);
    k.on_write = 1;
    CHECK_EQ(en_kill_engine(&k, 0), WS_ERR_CLOSED);
    CHECK(k.c == NULL);
    EN_KILLED(k);
    CHECK_EQ(k.closes, 1);
    /* from ws_io.write of the pong the engine answers a ping with (inside ws_engine_feed) */
    memset(&k, 0, sizeof k);
    k.on_write = 1;
    if (!en_kill_server(&k)) return;
    n = cn_frame(in, 1, 0, WS_OP_PING, 1, "p", 1);
    n += cn_frame(in + n, 1, 0, WS_OP_TEXT, 1, "never", 5);
    CHECK_EQ(ws_engine_feed(k.c, in, n, 0), WS_OK);
    CHECK(k.msgs <= 1);
    EN_KILLED(k);
    /* from ws_io.write of a heartbeat ping (inside ws_engine_tick) */
    memset(&k, 0, sizeof k);
    k.on_write = 1;
    if (!en_kill_server(&k)) return;
    ws_engine_tick(k.c, ws_engine_deadline(k.c));
    CHECK_EQ(k.writes, 1);
    EN_KILLED(k);
    /* from ws_io.write of the close frame (inside ws_conn_close), and from ws_io.shutdown */
    memset(&k, 0, sizeof k);
    k.on_write = 1;
    if (!en_kill_server(&k)) return;
    CHECK_EQ(ws_conn_close(k.c, 1000, "bye"), WS_OK);
    EN_KILLED(k);
    memset(&k, 0, sizeof k);
    k.on_shutdown = 1;
    if (!en_kill_server(&k)) return;
    n = cn_frame(in, 1, 0, WS_OP_CLOSE, 1, "\x03\xe8", 2);
    CHECK_EQ(ws_engine_feed(k.c, in, n, 0), WS_OK);   /* the answer goes out, then shutdown */
    EN_KILLED(k);
    CHECK_EQ(k.closes, 1);
    /* from ws_io.close (the stream released at the end: inside ws_engine_eof) */
    memset(&k, 0, sizeof k);
    k.on_close = 1;
    if (!en_kill_server(&k)) return;
    ws_engine_eof(k.c, 0);
    EN_KILLED(k);
    CHECK_EQ(k.closes, 1);
    CHECK_EQ(k.calls_failed, 0);
}
static void test_engine_destroy_from_callback(void) {
    en_kill k;
    uint8_t in[64];
    size_t n;
    /* from the first MESSAGE of two in one read: the second is not delivered */
    memset(&k, 0, sizeof k);
    k.on_msg = 1;
    k.on_event_type = -1;
    if (!en_kill_server(&k)) return;
    n = cn_frame(in, 1, 0, WS_OP_TEXT, 1, "one", 3);
    n += cn_frame(in + n, 1, 0, WS_OP_TEXT, 1, "two", 3);
    CHECK_EQ(ws_engine_feed(k.c, in, n, 0), WS_OK);
    CHECK_EQ(k.msgs, 1);
    EN_KILLED(k);
    CHECK_EQ(k.closes, 1);
    CHECK_EQ(k.writes, 1);                        /* the 1001 close frame was tried */
    CHECK_EQ(k.calls_failed, 0);
    /* from CLOSE (the peer closed): the usual place */
    memset(&k, 0, sizeof k);
    k.on_event_type = WS_EV_CLOSE;
    if (!en_kill_server(&k)) return;
    n = cn_frame(in, 1, 0, WS_OP_CLOSE, 1, "\x03\xe8", 2);
    CHECK_EQ(ws_engine_feed(k.c, in, n, 0), WS_OK);
    ws_engine_eof(k.c, 0);                        /* CLOSE fires here; destroyed in it */
    EN_KILLED(k);
    CHECK_EQ(k.closes, 1);
    /* from CLOSE inside ws_engine_destroy itself: nothing more */
    memset(&k, 0, sizeof k);
    k.on_event_type = WS_EV_CLOSE;
    if (!en_kill_server(&k)) return;
    ws_engine_destroy(k.c);
    EN_KILLED(k);
    CHECK_EQ(k.closes, 1);
}
/* ws_engine_pump with a callback destroying either engine: the pump stops, both are safe */
static ws_conn *en_pk[2];
static int en_pk_closes;
static void en_pk_event(ws_conn *c, const ws_event *ev, void *user) {
    int i = *(int *)user;
    if (ev->type == WS_EV_CLOSE) { en_pk_closes++; if (en_pk[i] == c) en_pk[i] = NULL; }
    if (ev->type == WS_EV_MESSAGE && en_pk[i]) {
        ws_conn *victim = en_pk[memcmp(ev->data, "self", 4) == 0 ? i : !i];
        if (victim) ws_engine_destroy(victim);
    }
}
static void test_engine_destroy_in_pump(void) {
    static int ids[2] = { 0, 1 };
    ws_config ccfg, scfg;
    int round;
    for (round = 0; round < 2; round++) {
        memset(&ccfg, 0, sizeof ccfg);
        memset(&scfg, 0, sizeof scfg);
        ccfg.on_event = scfg.on_event = en_pk_event;
        ccfg.user = &ids[0];
        scfg.user = &ids[1];
        en_pk_closes = 0;
        CHECK_EQ(ws_engine_pair(&ccfg, &scfg, &en_pk[0], &en_pk[1]), WS_OK);
        if (!en_pk[0] || !en_pk[1]) return;
        (void)ws_engine_pump(en_pk[0], en_pk[1], 0);
        /* round 0: the server destroys itself ("self"), round 1 the client ("peer") */
        CHECK_EQ(ws_conn_send_text(en_pk[0], round ? "peer" : "self"), WS_OK);
        (void)ws_engine_pump(en_pk[0], en_pk[1], 0);
        CHECK(en_pk[round ? 0 : 1] == NULL);      /* gone, its CLOSE fired */
        CHECK(en_pk[round ? 1 : 0] != NULL);
        if (en_pk[0]) ws_engine_destroy(en_pk[0]);
        if (en_pk[1]) ws_engine_destroy(en_pk[1]);
        CHECK_EQ(en_pk_closes, 2);
    }
}

/* ws_engine_tick from a callback or the ws_io runs no timers there (it takes the clock): a
 * connection dropped in its MESSAGE callback ends after that callback, not inside it, and a
 * ws_io whose close ticks does not finish the connection a second time inside its own end.
 * (Regression: the timers finished it there: CLOSE fired inside MESSAGE; inside io.close the
 * nested end freed the ws_io's copy as NULL and the real one leaked.) */
typedef struct en_tk { ws_conn *c; int closes, in_msg, nested; } en_tk;
static void en_tk_event(ws_conn *c, const ws_event *ev, void *user) {
    en_tk *t = (en_tk *)user;
    if (ev->type == WS_EV_CLOSE) { t->closes++; if (t->in_msg) t->nested++; }
    if (ev->type == WS_EV_MESSAGE) {
        t->in_msg = 1;
        ws_conn_drop(c);
        ws_engine_tick(c, 1000000);
        t->in_msg = 0;
    }
}
static ws_result en_tk_write(void *p, const uint8_t *data, size_t len, size_t *put) {
    (void)p; (void)data;
    *put = len;
    return WS_OK;
}
static void en_tk_close(void *p) {
    en_tk *t = (en_tk *)p;
    ws_engine_tick(t->c, 2000000);
    ws_conn_drop(t->c);
}
static void test_engine_tick_from_callback(void) {
    ws_config cfg;
    en_tk t;
    uint8_t in[32];
    size_t n;
    memset(&t, 0, sizeof t);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = en_tk_event;
    cfg.user = &t;
    t.c = en_io_engine(&cfg, 1, en_tk_write, NULL, en_tk_close, &t, 0);
    if (!t.c) return;
    n = cn_frame(in, 1, 0, WS_OP_TEXT, 1, "hi", 2);
    CHECK_EQ(ws_engine_feed(t.c, in, n, 0), WS_OK);
    CHECK_EQ(t.closes, 1);                        /* after the callback, once */
    CHECK_EQ(t.nested, 0);
    CHECK_EQ(ws_conn_state(t.c), WS_STATE_CLOSED);
    ws_engine_destroy(t.c);
    CHECK_EQ(t.closes, 1);
}

/* Work that callbacks keep making: each message's callback feeds the next one (as a ws_io
 * wired to a peer that answers at once does). One engine call does a bounded amount of it;
 * while some is left ws_engine_deadline says "now", so an app that ticks when the deadline
 * passes gets it all, in the order it was fed, its own input included. (Regression: one call
 * worked until no callback fed any more: without end for a conversation that never ends.)
 * And a DRAINED producer over a ws_io that takes a few bytes per call. */
typedef struct en_prod {
    ws_conn *c;
    int left, sent, feeds, fed, msgs, order_ok, phase;
    size_t got;
} en_prod;
static ws_result en_prod_write(void *p, const uint8_t *data, size_t len, size_t *put) {
    en_prod *e = (en_prod *)p;
    (void)data;
    *put = len < 7 ? len : 7;   /* a few bytes per call */
    e->got += *put;
    return WS_OK;
}
static void en_prod_more(en_prod *e) {
    while (e->left > 0) {
        ws_result rc = ws_conn_send(e->c, WS_OP_BINARY, "0123456789", 10);
        if (rc == WS_ERR_FULL) break;
        CHECK_EQ(rc, WS_OK);
        e->left--;
        e->sent++;
    }
}
static ws_result en_prod_feed(en_prod *e) {   /* the next message: letters in feeding order */
    uint8_t f[16], ch = (uint8_t)('a' + e->fed++ % 26);
    return ws_engine_feed(e->c, f, cn_frame(f, 1, 0, WS_OP_TEXT, 1, &ch, 1), 5000);
}
static void en_prod_event(ws_conn *c, const ws_event *ev, void *user) {
    en_prod *e = (en_prod *)user;
    (void)c;
    if (ev->type == WS_EV_DRAINED) en_prod_more(e);
    if (ev->type == WS_EV_MESSAGE && !e->phase) en_prod_more(e);   /* a request starts it */
    else if (ev->type == WS_EV_MESSAGE) {
        if (ev->len != 1 || ev->data[0] != (uint8_t)('a' + e->msgs % 26)) e->order_ok = 0;
        e->msgs++;
        if (e->feeds > 0) {   /* each message feeds the next one from its callback */
            e->feeds--;
            CHECK_EQ(en_prod_feed(e), WS_OK);
        }
    }
}
static void test_engine_work_left(void) {
    ws_config cfg;
    en_prod e;
    int64_t now = 5000, d;
    int ticks;
    uint8_t f[16];
    memset(&e, 0, sizeof e);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = en_prod_event;
    cfg.user = &e;
    cfg.max_send_queue = 36;   /* three 12-byte frames */
    e.c = en_io_engine(&cfg, 1, en_prod_write, NULL, NULL, &e, now);
    if (!e.c) return;
    e.left = 200;   /* a producer: all out within the call */
    CHECK_EQ(ws_engine_feed(e.c, f, cn_frame(f, 1, 0, WS_OP_TEXT, 1, "go", 2), now), WS_OK);
    CHECK_EQ(e.sent, 200);
    CHECK_EQ(e.got, 200 * 12);
    CHECK(ws_engine_deadline(e.c) > now);         /* nothing left: the heartbeat's */
    e.order_ok = 1;
    e.phase = 1;
    e.feeds = 5000;
    CHECK_EQ(en_prod_feed(&e), WS_OK);
    CHECK(e.msgs > 0 && e.msgs < 100);            /* bounded work per call */
    d = ws_engine_deadline(e.c);
    CHECK(d != 0 && d <= now);                    /* ... and the rest is due now */
    CHECK_EQ(en_prod_feed(&e), WS_OK);            /* the app's own input: behind what waits */
    for (ticks = 0; ticks < 10000 && (d = ws_engine_deadline(e.c)) != 0 && d <= now; ticks++)
        ws_engine_tick(e.c, now);
    CHECK_EQ(e.msgs, 5002);
    CHECK_EQ(e.order_ok, 1);
    CHECK(ws_engine_deadline(e.c) > now);
    ws_engine_destroy(e.c);
}

/* The wrong scheme, said in words one can act on. A ws:// client whose server speaks TLS (a
 * wss:// port): a TLS record for an answer, a 400 whose body names TLS/HTTPS/SSL, or a close
 * before any answer; other failures keep their own words. A plain server that gets a TLS
 * ClientHello logs it and answers 400 in plain HTTP (what a TLS client can recognise). */
typedef struct en_sch { int errors, closes; ws_result err, close_err; char msg[200], log[200]; } en_sch;
static void en_sch_event(ws_conn *c, const ws_event *ev, void *user) {
    en_sch *e = (en_sch *)user;
    (void)c;
    if (ev->type == WS_EV_ERROR) { e->errors++; e->err = ev->result; snprintf(e->msg, sizeof e->msg, "%s", ev->msg); }
    if (ev->type == WS_EV_CLOSE) { e->closes++; e->close_err = ev->result; }
}
static void en_sch_log(int level, const char *msg, void *user) {
    (void)level;
    snprintf(((en_sch *)user)->log, sizeof ((en_sch *)user)->log, "%s", msg);
}
/* a client of url is answered (then the stream ends if eof): its error and the words in it */
static void en_sch_client(const char *url, const char *answer, size_t n, int eof, ws_result want,
                          const char *words) {
    ws_config cfg;
    ws_engine_opts o;
    ws_conn *c = NULL;
    en_sch e;
    memset(&e, 0, sizeof e);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = en_sch_event;
    cfg.user = &e;
    memset(&o, 0, sizeof o);
    o.url = url;
    CHECK_EQ(ws_engine_create(&cfg, &o, NULL, &c), WS_OK);
    if (!c) return;
    if (n) (void)ws_engine_feed(c, answer, n, 0);
    if (eof) ws_engine_eof(c, 0);
    CHECK_EQ(e.errors, 1);
    CHECK_EQ(e.closes, 1);
    CHECK_EQ(e.err, want);
    CHECK_EQ(e.close_err, want);
    if (WS__TEXT && !strstr(e.msg, words)) { printf("  %s: \"%s\" lacks \"%s\"\n", url, e.msg, words); CHECK(0); }
    if (!strstr(words, "wss://") && strstr(e.msg, "wss://")) { printf("  %s %.12s: \"%s\"\n", url, answer, e.msg); CHECK(0); }
    ws_engine_destroy(c);
}
static void test_engine_wrong_scheme(void) {
    static const char alert[] = "\x15\x03\x03\x00\x02\x02\x28";       /* handshake_failure */
    static const char hello[] = "\x16\x03\x01\x00\x2e\x01\x00\x00\x2a\x03\x03";   /* a ClientHello */
    static const char wsh[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                              "Content-Length: 47\r\nConnection: close\r\n\r\n"
                              "This port speaks TLS: use wss:// (or https://)\n";
    static const char nginx[] = "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 100\r\n\r\n"
                                "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title>";
    static const char other[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 9\r\n\r\nno Host\r\n";
    ws_config cfg;
    ws_engine_opts o;
    ws_conn *s = NULL;
    en_sch e;
    const uint8_t *out = NULL;
    size_t n;
    en_sch_client("ws://localhost/", alert, sizeof alert - 1, 0, WS_ERR_HANDSHAKE, "the server answered in TLS: use wss://");
    en_sch_client("ws://localhost/", hello, 1, 0, WS_ERR_HANDSHAKE, "the server answered in TLS: use wss://");
    en_sch_client("ws://localhost/", wsh, sizeof wsh - 1, 0, WS_ERR_HANDSHAKE, "the server wants TLS: use wss://");
    en_sch_client("ws://localhost/", nginx, sizeof nginx - 1, 0, WS_ERR_HANDSHAKE, "the server wants TLS: use wss://");
    en_sch_client("ws://localhost/", "", 0, 1, WS_ERR_IO, "the server closed the connection without answering (a wss:// port? then use wss://)");
    /* other failures keep their words: no TLS named, no scheme advised */
    en_sch_client("ws://localhost/", other, sizeof other - 1, 0, WS_ERR_HANDSHAKE, "101");
    en_sch_client("ws://localhost/", "HTTP/1.1 1", 10, 1, WS_ERR_IO, "closed during the handshake");
    en_sch_client("ws://localhost/", "junk\r\n", 6, 0, WS_ERR_HANDSHAKE, "");
    en_sch_client("wss://localhost/", alert, sizeof alert - 1, 0, WS_ERR_HANDSHAKE, "");   /* over a TLS of its own */
    en_sch_client("wss://localhost/", "", 0, 1, WS_ERR_IO, "closed during the handshake");

    memset(&e, 0, sizeof e);   /* the plain server: a ClientHello is logged, answered 400 */
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = en_sch_event;
    cfg.log = en_sch_log;
    cfg.user = &e;
    memset(&o, 0, sizeof o);
    o.server = 1;
    CHECK_EQ(ws_engine_create(&cfg, &o, NULL, &s), WS_OK);
    if (!s) return;
    CHECK_EQ(ws_engine_feed(s, hello, sizeof hello - 1, 0), WS_OK);
    n = ws_engine_output(s, &out);
    CHECK(n > 12 && memcmp(out, "HTTP/1.1 400", 12) == 0);
    if (WS__TEXT) {
        CHECK(n > 12 && cn_memmem(out, n, "not TLS: use ws://", 18) != NULL);
        if (!strstr(e.log, "TLS handshake on a plain ws:// port")) { printf("  log: \"%s\"\n", e.log); CHECK(0); }
    }
    CHECK_EQ(e.errors + e.closes, 0);   /* no events: it never was a WebSocket */
    ws_engine_consume(s, n);
    CHECK_EQ(ws_engine_wants_eof(s), 1);
    ws_engine_destroy(s);
}

/* RFC 9110 15.2: a client MUST parse 1xx answers before the final one. 100 and 103 (Early
 * Hints) before the 101 are skipped, fed whole and byte by byte; the frames after the 101
 * still arrive. Interim heads count in max_handshake together; a 1xx then a 200 fails (200). */
static void en_interim_client(const char *interim, size_t max_hs, size_t step, int want_open, int want_status) {
    ws_config ccfg, scfg;
    en_side cs, ss;
    ws_conn *c = NULL, *s = NULL;
    const uint8_t *p;
    size_t n, i, k;
    uint8_t *wire;
    en_cfg(&ccfg, &cs);
    en_cfg(&scfg, &ss);
    ccfg.max_handshake = max_hs;
    CHECK_EQ(ws_engine_pair(&ccfg, &scfg, &c, &s), WS_OK);
    if (!c || !s) return;
    en_move(c, s, 0);                       /* the request; the server answers 101 */
    CHECK_EQ(ws_conn_state(s), WS_STATE_OPEN);
    CHECK_EQ(ws_conn_send_text(s, "after the 101"), WS_OK);
    n = ws_engine_output(s, &p);
    k = strlen(interim);
    wire = (uint8_t *)malloc(k + n);
    if (!wire) { CHECK(0); return; }
    memcpy(wire, interim, k);
    memcpy(wire + k, p, n);
    ws_engine_consume(s, n);
    for (i = 0; i < k + n && cs.closes == 0; i += step)
        CHECK_EQ(ws_engine_feed(c, wire + i, WS__MIN(step, k + n - i), 0), WS_OK);
    free(wire);
    if (want_open) {
        CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
        CHECK_EQ(cs.opens, 1);
        CHECK_EQ(cs.msgs, 1);
        CHECK(cs.msgs == 1 && cs.len[0] == 13);
    } else {
        CHECK_EQ(cs.opens, 0);
        CHECK_EQ(cs.closes, 1);
        CHECK_EQ(cs.close_result, WS_ERR_HANDSHAKE);
        CHECK_EQ(cs.http_status, want_status);
    }
    ws_engine_destroy(c);
    ws_engine_destroy(s);
}
static void test_engine_client_interim_1xx(void) {
    static const char two[] = "HTTP/1.1 100 Continue\r\n\r\n"
                              "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n";
    char many[40 * 25 + 1];
    size_t i;
    en_interim_client(two, 0, 4096, 1, 0);
    en_interim_client(two, 0, 1, 1, 0);
    en_interim_client(two, 0, 7, 1, 0);
    en_interim_client("HTTP/1.1 199 Whatever\r\n\r\n", 0, 3, 1, 0);
    for (i = 0; i < 40; i++) memcpy(many + 25 * i, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    many[sizeof many - 1] = '\0';
    en_interim_client(many, 2048, 4096, 1, 0);         /* 1,000 B of interim heads + the 101 fit */
    en_interim_client(many, 512, 4096, 0, 0);          /* they do not fit: the head is too large */
    en_interim_client(many, 512, 1, 0, 0);
    en_interim_client("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 4096, 0, 200);
}

static void suite_engine(void) {
    RUN(test_engine_pair_roundtrip);
    RUN(test_engine_pair_server_close);
    RUN(test_engine_wants_eof);
    RUN(test_engine_push_mode);
    RUN(test_engine_wrong_scheme);
    RUN(test_engine_client_interim_1xx);
    RUN(test_engine_push_overcount);
    RUN(test_engine_push_reentry);
    RUN(test_engine_drained);
    RUN(test_engine_timers);
    RUN(test_engine_timers_wrap);
    RUN(test_engine_head);
    RUN(test_engine_destroy);
    RUN(test_engine_cross_callbacks);
    RUN(test_engine_conn_calls);
    RUN(test_engine_close_before_open);
    RUN(test_engine_errors);
    RUN(test_engine_feed_from_callback);
    RUN(test_engine_destroy_from_io);
    RUN(test_engine_destroy_from_callback);
    RUN(test_engine_destroy_in_pump);
    RUN(test_engine_work_left);
    RUN(test_engine_tick_from_callback);
#ifdef EN_SOCKETS
    RUN(test_engine_adopt_socketpair);
    RUN(test_engine_adopt_bad_request);
    RUN(test_engine_adopt_io);
#endif
}
