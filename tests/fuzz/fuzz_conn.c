/* fuzz_conn.c - libFuzzer target for the public protocol engine (ws_engine_*, built with
 * WS_NO_NET: no sockets at all): a server or client engine is fed the input in chunks on an
 * advancing fake clock (ws_engine_tick when a deadline is due), its output is taken with
 * ws_engine_output/consume or pushed to a ws_io that takes some, all or none of it, and the
 * stream ends with ws_engine_eof. Whatever arrives must never crash, hang, leak or break the
 * event rules, and everything the engine sends must be a valid HTTP head and valid frames.
 *   make fuzz   (or: build/fuzz_conn [corpus dir])
 * Input: byte 0 picks the role and settings (bit 0: client, bit 1: fragment mode, bit 2:
 * small limits, bit 3: no auto pong, bit 4: echo every message, bit 5: close from the
 * callback, bit 6: a client does its handshake (its request from ws_engine_create, the input
 * starts with the response; the key is fixed: see WS_RANDOM) / a server starts upgraded, bit 7:
 * output pushed through a ws_io); byte 1 seeds the chunk sizes, the clock steps and how much
 * the ws_io takes; the rest is what the peer sends. Without bit 6 a client starts open and a
 * server reads the HTTP upgrade first.
 * fuzz_deflate.c is this target with FZ_DEFLATE: byte 2 then sets permessage-deflate (bit 0:
 * on, bit 1: our no_context_takeover, bit 2: the peer's, bits 3-5: our window 8 + n and the
 * peer's 15 - n, bit 6: compress every message (else the default threshold), bit 7: memLevel
 * 1): offered and accepted in a handshake, or agreed already (ws_engine_opts.extensions) when
 * the engine starts upgraded; the rest is what the peer sends. Everything we send compressed
 * must inflate (zlib, our agreed window, context kept) to what a message may hold. */
#define WS_NO_NET
/* a fixed "random" source: the client's key is AAAAAAAAAAAAAAAAAAAAAA==, so a fuzzed response
 * can carry its accept value (ICX+Yqv66kxgM0FcWaLWlFLwTAI=, as in the corpus) */
#define WS_RANDOM(buf, len) (memset((buf), 0, (len)), 0)
#define WS_IMPLEMENTATION
#include <string.h>
#include "../../ws.h"
#include <stdio.h>
#include <stdlib.h>

#if defined(FZ_DEFLATE) && defined(WS_USE_ZLIB)
#include <zlib.h>
#define FZ_ZLIB 1
#endif

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)
#define FZ_OUT_MAX (1 << 20)   /* output kept for the final check */

typedef struct fz_state {
    int opens, closes, errors, after_close, echo, close_in_cb, frags, server;
    char ext[160];             /* the extensions agreed (at OPEN) */
    unsigned seed;
    uint8_t *out;              /* everything the engine sent (up to FZ_OUT_MAX) */
    size_t out_len;
    int out_cut;               /* 1 = more was sent than kept */
} fz_state;

static uint8_t fz_out[FZ_OUT_MAX];   /* static: a 1 MiB malloc per run costs page faults */

static unsigned fz_next(fz_state *s) { s->seed = s->seed * 1103515245u + 12345u; return s->seed >> 8; }

static void fz_keep(fz_state *s, const uint8_t *p, size_t n) {
    if (s->out_cut || s->out_len + n > FZ_OUT_MAX) { s->out_cut = 1; return; }
    memcpy(s->out + s->out_len, p, n);
    s->out_len += n;
}

static void fz_event(ws_conn *c, const ws_event *ev, void *user) {
    fz_state *s = (fz_state *)user;
    if (s->closes) s->after_close++;
    REQUIRE(ws_conn_ctx(c) == NULL);
    switch (ev->type) {
    case WS_EV_OPEN:
        s->opens++;
        REQUIRE(ws_conn_state(c) == WS_STATE_OPEN);
        strncpy(s->ext, ws_conn_extensions(c), sizeof s->ext - 1);
        break;
    case WS_EV_MESSAGE:
        REQUIRE(ev->opcode == WS_OP_TEXT || ev->opcode == WS_OP_BINARY);
        REQUIRE(ev->len == 0 || ev->data != NULL);
        /* whole text messages are valid UTF-8 (fragments may split a character) */
        if (ev->opcode == WS_OP_TEXT && !s->frags) REQUIRE(ws_utf8_validate(ev->data, ev->len) == WS_OK);
        if (s->echo) (void)ws_conn_send(c, ev->opcode, ev->data, ev->len);
        if (s->close_in_cb) (void)ws_conn_close(c, WS_CLOSE_NORMAL, "bye");
        break;
    case WS_EV_PING: case WS_EV_PONG: REQUIRE(ev->len <= 125); break;
    case WS_EV_ERROR: s->errors++; REQUIRE(ev->msg != NULL && ev->result < 0); break;
    case WS_EV_CLOSE: s->closes++; REQUIRE(ev->reason != NULL && ev->msg != NULL); break;
    default: break;
    }
}

/* The ws_io: takes all, some or none of what it is offered. */
static ws_result fz_write(void *io, const uint8_t *data, size_t len, size_t *put) {
    fz_state *s = (fz_state *)io;
    unsigned r = fz_next(s) % 4;
    REQUIRE(len > 0 && data != NULL);
    if (r == 0) { *put = 0; return WS_AGAIN; }
    *put = r == 1 ? len : 1 + fz_next(s) % len;
    fz_keep(s, data, *put);
    return WS_OK;
}

/* Takes some of the waiting output, as a peer reading slowly would. */
static void fz_drain(ws_conn *c, fz_state *s, int all) {
    const uint8_t *p;
    size_t n = ws_engine_output(c, &p);
    if (!n) return;
    REQUIRE(p != NULL && ws_conn_queued(c) == n);
    if (!all) n = (size_t)(fz_next(s) % 3 == 0 ? 0 : 1 + fz_next(s) % n);
    fz_keep(s, p, n);
    ws_engine_consume(c, n);
}

#ifdef FZ_ZLIB
/* Our compressor's agreed window: server_ (we serve) or client_max_window_bits, else 15. */
static int fz_our_bits(const fz_state *s) {
    const char *k = strstr(s->ext, s->server ? "server_max_window_bits=" : "client_max_window_bits=");
    if (!k) return 15;   /* (or written another way: then zlib's largest, which reads any) */
    k += 23;
    return atoi(k + (*k == '"'));
}
/* A compressed message we sent inflates (our window, the context kept from the last one) to
 * valid UTF-8 if it is text. */
static void fz_inflate(z_stream *z, int text, const uint8_t *p, size_t n) {
    static const uint8_t tail[4] = { 0, 0, 0xff, 0xff };
    static uint8_t out[1 << 16];
    ws_utf8 u;
    int pass, zr = Z_OK;
    memset(&u, 0, sizeof u);
    for (pass = 0; pass < 2; pass++) {
        z->next_in = pass ? tail : p;
        z->avail_in = (uInt)(pass ? 4 : n);
        do {
            z->next_out = out;
            z->avail_out = sizeof out;
            zr = inflate(z, Z_SYNC_FLUSH);
            REQUIRE(zr == Z_OK || zr == Z_BUF_ERROR);   /* valid, never ended (no BFINAL) */
            if (text) REQUIRE(ws_utf8_feed(&u, out, sizeof out - z->avail_out, NULL) == WS_OK);
        } while (zr == Z_OK && (z->avail_in || !z->avail_out));
    }
    if (text) REQUIRE(ws_utf8_complete(&u));
}
#endif

/* Everything the engine sent: an HTTP head (the client's request or the server's answer; a
 * server that answered anything but 101 sent nothing else), then whole, valid frames, masked
 * exactly when we are the client, control frames within 125 bytes; with permessage-deflate
 * RSV1 only on whole data messages, which inflate. */
static void fz_check_output(fz_state *s, int upgraded) {
    uint8_t *p = s->out;
    size_t n = s->out_len;
    unsigned rsv = s->ext[0] ? WS_RSV1 : 0;
#ifdef FZ_ZLIB
    z_stream z;
    int bits = rsv ? fz_our_bits(s) : 15;
    memset(&z, 0, sizeof z);
    REQUIRE(inflateInit2(&z, -(bits < 9 ? 9 : bits)) == Z_OK);
#endif
    if (s->out_cut) goto done;
    if (!upgraded && n) {
        size_t used = 0;
        ws_result rc;
        if (s->server) {
            ws_http_response res;
            rc = ws_http_parse_response((const char *)p, n, 1 << 16, &res, &used, NULL);
            if (rc == WS_OK && res.status != 101) { REQUIRE(used <= n); goto done; }   /* + body */
        } else {
            ws_http_request req;
            rc = ws_http_parse_request((const char *)p, n, 1 << 16, &req, &used, NULL);
        }
        REQUIRE(rc == WS_OK || rc == WS_AGAIN);
        if (rc == WS_AGAIN) goto done;   /* cut short by a slow reader */
        p += used; n -= used;
    }
    while (n) {
        ws_frame f;
        ws_result rc = ws_frame_parse(p, n, (s->server ? WS_PARSE_UNMASKED : WS_PARSE_MASKED) | rsv, &f, NULL, NULL);
        if (rc == WS_AGAIN) break;   /* the last frame was only partly taken */
        REQUIRE(rc == WS_OK);
        if (n - f.header_len < f.payload_len) break;
        if (f.masked) ws_mask((uint8_t *)p + f.header_len, (size_t)f.payload_len, f.mask, 0);
        if (f.rsv) {   /* compressed: a whole message, never with an agreed window of 8 */
            REQUIRE(f.fin && (f.opcode == WS_OP_TEXT || f.opcode == WS_OP_BINARY));
#ifdef FZ_ZLIB
            REQUIRE(bits > 8);
            fz_inflate(&z, f.opcode == WS_OP_TEXT, p + f.header_len, (size_t)f.payload_len);
#endif
        } else if (f.opcode == WS_OP_TEXT) {   /* we send only whole, valid text (the callback's echo) */
            REQUIRE(f.fin && ws_utf8_validate(p + f.header_len, (size_t)f.payload_len) == WS_OK);
        }
        if (f.opcode == WS_OP_CLOSE) {
            uint16_t code;
            const char *r;
            size_t rl;
            REQUIRE(ws_close_parse(p + f.header_len, (size_t)f.payload_len, &code, &r, &rl) == WS_OK);
        }
        REQUIRE(f.opcode == WS_OP_TEXT || f.opcode == WS_OP_BINARY || (f.opcode & 8));
        p += f.header_len + (size_t)f.payload_len;
        n -= f.header_len + (size_t)f.payload_len;
    }
done:
#ifdef FZ_ZLIB
    inflateEnd(&z);
#endif
    return;
}

#ifdef FZ_DEFLATE
/* Byte d of the input: the permessage-deflate settings, and for an engine that starts
 * upgraded the agreement (written into ext). */
static void fz_deflate(uint8_t d, int server, ws_config *cfg, char *ext, size_t cap) {
    int own = 8 + ((d >> 3) & 7), peer = 15 - ((d >> 3) & 7);
    cfg->deflate.enable = d & 1;
    cfg->deflate.no_context_takeover = (d >> 1) & 1;
    cfg->deflate.peer_no_context_takeover = (d >> 2) & 1;
    cfg->deflate.window_bits = own;
    cfg->deflate.peer_window_bits = peer;
    cfg->deflate.threshold = (d >> 6) & 1 ? -1 : 0;
    cfg->deflate.mem_level = (d >> 7) & 1 ? 1 : 0;
    ext[0] = '\0';
    if (d & 1)
        snprintf(ext, cap, "permessage-deflate%s%s; %s_max_window_bits=%d; %s_max_window_bits=%d",
                 (d >> (server ? 1 : 2)) & 1 ? "; server_no_context_takeover" : "",
                 (d >> (server ? 2 : 1)) & 1 ? "; client_no_context_takeover" : "",
                 server ? "server" : "client", own, server ? "client" : "server", peer);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ws_config cfg;
    ws_engine_opts o;
    ws_io io;
    fz_state st;
    ws_conn *c = NULL;
    size_t off = 2;
    int64_t now = 1000;
    int client, upgraded, push;
#ifdef FZ_DEFLATE
    char ext[160];
    if (size < 3) return 0;
    off = 3;
#endif
    if (size < 2) return 0;
    memset(&cfg, 0, sizeof cfg);
    memset(&st, 0, sizeof st);
    memset(&o, 0, sizeof o);
    client = data[0] & 1;
    upgraded = client ? !((data[0] >> 6) & 1) : (data[0] >> 6) & 1;
    push = (data[0] >> 7) & 1;
    cfg.on_event = fz_event;
    cfg.user = &st;
    cfg.fragments = st.frags = (data[0] >> 1) & 1;
    if (data[0] & 4) { cfg.max_message = 300; cfg.max_handshake = 200; cfg.max_send_queue = 400; }
    cfg.no_auto_pong = (data[0] >> 3) & 1;
    cfg.ping_interval_ms = 700;
    cfg.pong_timeout_ms = 300;
    cfg.close_timeout_ms = 500;
    cfg.handshake_timeout_ms = 900;
    cfg.idle_timeout_ms = (data[1] & 1) ? 1500 : 0;
    cfg.keepalive_ms = (data[1] & 2) ? 400 : 0;
    st.echo = (data[0] >> 4) & 1;
    st.close_in_cb = (data[0] >> 5) & 1;
    st.server = !client;
    st.seed = data[1];
    st.out = fz_out;
    memset(&io, 0, sizeof io);
    io.write = fz_write;
    io.io = &st;
    o.server = !client;
    o.upgraded = upgraded;
    o.url = "ws://example.com/chat";
    o.io = push ? &io : NULL;
    o.now_ms = now;
#ifdef FZ_DEFLATE
    fz_deflate(data[2], !client, &cfg, ext, sizeof ext);
#ifdef WS_USE_ZLIB
    o.extensions = ext;
#endif
#endif
    REQUIRE(ws_engine_create(&cfg, &o, NULL, &c) == WS_OK && c != NULL);
    REQUIRE(ws_conn_ctx(c) == NULL && ws_conn_is_server(c) == !client);
    while (off < size && ws_conn_state(c) != WS_STATE_CLOSED) {
        size_t n = 1 + fz_next(&st) % 97;
        int64_t dl;
        if (n > size - off) n = size - off;
        REQUIRE(ws_engine_feed(c, data + off, n, now) == WS_OK);
        off += n;
        fz_drain(c, &st, 0);
        /* small limits: nothing beyond one frame header + max_frame (+ a chunk) is kept */
        if (cfg.max_message) REQUIRE(ws__buf_used(c->rx) <= 300 + 14 + 97 + 64 * (*ws_conn_extensions(c) != 0));   /* + deflate's */
        if (cfg.max_message) REQUIRE(ws__buf_used(c->msg) <= 300 + 1);   /* inflated: checked as it grows */
        now += (int64_t)(fz_next(&st) % 300);   /* the clock moves; timers run when due */
        dl = ws_engine_deadline(c);
        if (dl && now >= dl) ws_engine_tick(c, now);
        if (push && fz_next(&st) % 4 == 0) (void)ws_conn_send(c, WS_OP_PING, "hb", 2);   /* a flush */
    }
    fz_drain(c, &st, 1);
    if (ws_conn_state(c) != WS_STATE_CLOSED) ws_engine_tick(c, now + 100000);   /* timeouts */
    fz_drain(c, &st, 1);
    ws_engine_eof(c, now + 100001);   /* the stream ends: CLOSE is due now */
    REQUIRE(ws_conn_state(c) == WS_STATE_CLOSED && ws_engine_wants_eof(c));
    REQUIRE(ws_engine_deadline(c) == 0);
    REQUIRE(ws_engine_feed(c, "x", 1, now) == WS_ERR_CLOSED);
    if (client || st.opens) REQUIRE(st.closes == 1);
    fz_drain(c, &st, 1);
    ws_engine_destroy(c);             /* nothing more fires */
    REQUIRE(st.closes <= 1 && st.after_close == 0);
    REQUIRE(st.opens <= 1);
    if (st.opens || client) REQUIRE(st.closes == 1);
    if (!st.opens && !client) REQUIRE(st.closes == 0 && st.errors == 0);   /* never visible */
    fz_check_output(&st, upgraded);
    return 0;
}
