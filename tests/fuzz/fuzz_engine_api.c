/* fuzz_engine_api.c - libFuzzer target for the engine API called in any order: a client and a
 * server engine (WS_NO_NET), each with or without a ws_io, driven by a byte-coded script of
 * calls (pump some bytes, send, close, drop, feed garbage, consume more than there is, tick,
 * end the stream, switch fragment mode, destroy one side...), and callbacks that make such
 * calls too (send, close, drop, feed, end and destroy their own engine, act on the other one),
 * as do the ws_io's write, shutdown and close (a destroy there is deferred: the engine goes
 * when the outermost engine call on it returns, which fz_api tracks). Whatever
 * the order: no crash, leak or hang; each engine's CLOSE fires exactly once (at the latest in
 * ws_engine_destroy; a server's only once it opened) and last, OPEN at most once and before any message; calls after CLOSE
 * fail with an error.   make fuzz   (or: build/fuzz_engine_api [corpus dir])
 * Input: byte 0 bit 0-1: each side has a ws_io, bit 2: small limits, bit 3: fragment mode,
 * bit 4: start upgraded; the rest is the script (see fz_op, fz_cb_op). */
#define WS_NO_NET
#define WS_RANDOM(buf, len) (memset((buf), 0, (len)), 0)
#define WS_IMPLEMENTATION
#include <string.h>
#include "../../ws.h"
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

typedef struct fz_side {
    ws_conn *c;
    int opens, closes, after_close, msgs, depth, gone;
    int api, kill;             /* engine calls on it running; ws_engine_destroy was called */
    uint8_t pipe[1 << 12];     /* what a ws_io took, for the other side */
    size_t pipe_len;
} fz_side;

static fz_side fz_s[2];
static const uint8_t *fz_p;
static size_t fz_n;
static int64_t fz_now;

static unsigned fz_byte(void) {
    if (!fz_n) return 0;
    fz_n--;
    return *fz_p++;
}

/* Every engine call on side i goes through FZ_API: once the outermost one returns after a
 * ws_engine_destroy (called there, or from a callback or ws_io inside it), the engine is gone. */
static void fz_left(int i) {
    fz_side *s = &fz_s[i];
    if (--s->api || !s->kill || !s->c) return;
    s->c = NULL;
    s->gone = 1;
    REQUIRE(s->closes == (i == 0 || s->opens));   /* CLOSE fired (a server's: once it opened) */
}
#define FZ_API(i, call) do { fz_s[i].api++; call; fz_left(i); } while (0)
static void fz_call(int i, unsigned op, int in_cb);
static int fz_io_depth;
/* A ws_io call may make an engine call too (script byte 0xF0..0xFF): on its own side or the
 * other one, any of fz_call's, destroy included. */
static void fz_io_calls(fz_side *s) {
    unsigned op;
    if (!fz_n || (fz_p[0] & 0xF0) != 0xF0 || fz_io_depth > 1) return;
    op = fz_byte();
    fz_io_depth++;
    fz_call((op & 8) ? !(int)(s - fz_s) : (int)(s - fz_s), fz_byte() & 15, 1);
    fz_io_depth--;
}

/* The ws_io: takes what fits in the side's pipe (sometimes nothing). */
static ws_result fz_write(void *io, const uint8_t *data, size_t len, size_t *put) {
    fz_side *s = (fz_side *)io;
    size_t room = sizeof s->pipe - s->pipe_len;
    REQUIRE(len > 0 && data != NULL);
    if (!room || (fz_n && (fz_p[0] & 7) == 0)) { *put = 0; fz_io_calls(s); return WS_AGAIN; }
    *put = len < room ? len : room;
    memcpy(s->pipe + s->pipe_len, data, *put);
    s->pipe_len += *put;
    fz_io_calls(s);   /* after the copy: data is valid until a call that answers into it */
    return WS_OK;
}
static void fz_io_end(void *io) { fz_io_calls((fz_side *)io); }   /* shutdown and close */

/* Moves up to max bytes of side i's output (its pipe, or ws_engine_output) into the other. */
static void fz_move(int i, size_t max) {
    fz_side *s = &fz_s[i], *t = &fz_s[!i];
    uint8_t tmp[1 << 12];
    size_t n;
    if (!s->c) return;
    if (s->pipe_len) {
        n = s->pipe_len < max ? s->pipe_len : max;
        memcpy(tmp, s->pipe, n);
        memmove(s->pipe, s->pipe + n, s->pipe_len - n);
        s->pipe_len -= n;
        if (t->c) FZ_API(!i, (void)ws_engine_feed(t->c, tmp, n, fz_now));
        return;
    }
    {
        const uint8_t *p;
        n = ws_engine_output(s->c, &p);
        if (n > max) n = max;
        if (n > sizeof tmp) n = sizeof tmp;
        if (n) memcpy(tmp, p, n);
        FZ_API(i, ws_engine_consume(s->c, n));
        if (n && t->c) FZ_API(!i, (void)ws_engine_feed(t->c, tmp, n, fz_now));
        if (t->c && s->c && !n && ws_engine_wants_eof(s->c) && !ws_engine_output(s->c, NULL) && !s->pipe_len)
            FZ_API(!i, ws_engine_eof(t->c, fz_now));
    }
}

static const char fz_text[] = "h\xc3\xa9llo w\xc3\xb6rld, a text message of some length";

/* One call on side i (from the script or from a callback of side `self`, -1: none). */
static void fz_call(int i, unsigned op, int in_cb) {
    fz_side *s = &fz_s[i];
    uint8_t junk[64];
    size_t n, k;
    ws_result rc = WS_OK;
    int closed = s->closes;   /* calls after CLOSE fail */
    (void)in_cb;
    if (!s->c) return;
    switch (op) {
    case 0: fz_move(i, 1 + fz_byte() * 17u); break;
    case 1:
        n = fz_byte() % sizeof fz_text;
        FZ_API(i, rc = ws_conn_send(s->c, WS_OP_TEXT, fz_text, n));
        REQUIRE(rc == WS_OK || rc < WS_AGAIN);
        if (closed) REQUIRE(rc != WS_OK);
        break;
    case 2: {
        static uint8_t big[70000];
        n = (size_t)fz_byte() * 271u;
        FZ_API(i, rc = ws_conn_send(s->c, WS_OP_BINARY, big, n));
        if (closed) REQUIRE(rc != WS_OK);
        break;
    }
    case 3:
        n = fz_byte() & 1 ? 1000 : 4001;
        FZ_API(i, rc = ws_conn_close(s->c, (uint16_t)n, "bye"));
        if (closed) REQUIRE(rc != WS_OK);
        break;
    case 4: FZ_API(i, ws_conn_drop(s->c)); break;
    case 5:
        n = fz_byte() & 1;
        k = fz_byte() & 15;
        FZ_API(i, (void)ws_conn_send_frame(s->c, (int)n, 0, (int)k, "frag", 4));
        break;
    case 6:   /* garbage into side i */
        n = fz_byte() % sizeof junk;
        for (k = 0; k < n; k++) junk[k] = (uint8_t)fz_byte();
        FZ_API(i, (void)ws_engine_feed(s->c, junk, n, fz_now));
        break;
    case 7: n = (size_t)fz_byte() * 1000u; FZ_API(i, ws_engine_consume(s->c, n)); break;
    case 8: fz_now += fz_byte() * 250; FZ_API(i, ws_engine_tick(s->c, fz_now)); break;
    case 9: FZ_API(i, ws_engine_eof(s->c, fz_now)); break;
    case 10: n = fz_byte() & 1; FZ_API(i, ws_conn_set_fragments(s->c, (int)n)); break;
    case 11: FZ_API(i, (void)ws_conn_send(s->c, WS_OP_PING, "p", 1)); break;
    case 12:
        FZ_API(i, (void)ws_engine_feed(s->c, NULL, 0, fz_now));
        if (s->c) (void)ws_engine_deadline(s->c);
        break;
    case 13:   /* destroy: from a callback or ws_io it waits for the outermost call to return */
        s->kill = 1;
        FZ_API(i, ws_engine_destroy(s->c));
        break;
    default: break;
    }
}

static uint32_t fz_sum(const uint8_t *p, size_t n) {
    uint32_t h = 2166136261u;
    while (n--) h = (h ^ *p++) * 16777619u;
    return h;
}

static void fz_event(ws_conn *c, const ws_event *ev, void *user) {
    fz_side *s = (fz_side *)user;
    int i = (int)(s - fz_s);
    unsigned op;
    REQUIRE(s->c == c || s->c == NULL);
    if (s->closes) s->after_close++;
    REQUIRE(!s->after_close);
    switch (ev->type) {
    case WS_EV_OPEN: s->opens++; REQUIRE(s->opens == 1); break;
    case WS_EV_MESSAGE: s->msgs++; REQUIRE(s->opens == 1 && (ev->len == 0 || ev->data)); break;
    case WS_EV_CLOSE: s->closes++; break;
    default: break;
    }
    if (s->depth > 3 || !s->c) return;
    s->depth++;
    op = fz_byte();   /* the callback's own calls: on itself (bit 4 clear) or on the other side */
    if (op & 0x80) {
        uint32_t sum = fz_sum(ev->data, ev->len);
        fz_call((op & 0x10) ? !i : i, op & 15, 1);
        REQUIRE(fz_sum(ev->data, ev->len) == sum);   /* borrowed data stays as it is meanwhile */
    }
    s->depth--;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ws_config cfg[2];
    ws_engine_opts o;
    ws_io io[2];
    ws_result rc;
    unsigned mode;
    int i, steps;
    if (size < 1) return 0;
    mode = data[0];
    fz_p = data + 1;
    fz_n = size - 1;
    fz_now = 1000;
    memset(fz_s, 0, sizeof fz_s);
    for (i = 0; i < 2; i++) {
        memset(&cfg[i], 0, sizeof cfg[i]);
        cfg[i].on_event = fz_event;
        cfg[i].user = &fz_s[i];
        cfg[i].fragments = (mode >> 3) & 1;
        if (mode & 4) { cfg[i].max_message = 3000; cfg[i].max_send_queue = 5000; cfg[i].max_memory = 100000; }
        memset(&io[i], 0, sizeof io[i]);
        io[i].write = fz_write;
        io[i].shutdown = io[i].close = fz_io_end;
        io[i].io = &fz_s[i];
        memset(&o, 0, sizeof o);
        o.server = i;             /* side 0: the client, side 1: the server */
        o.upgraded = (mode >> 4) & 1;
        o.io = (mode >> i) & 1 ? &io[i] : NULL;
        o.now_ms = fz_now;
        FZ_API(i, rc = ws_engine_create(&cfg[i], &o, NULL, &fz_s[i].c));
        if (rc != WS_OK) {   /* (WS_ERR_CLOSED: its ws_io destroyed it) */
            REQUIRE(fz_s[i].c == NULL);
            if (fz_s[!i].c) FZ_API(!i, ws_engine_destroy(fz_s[!i].c));
            return 0;
        }
    }
    for (steps = 0; fz_n && steps < 4096; steps++) {
        unsigned op = fz_byte();
        fz_call((int)(op >> 7), op & 15, 0);
        for (i = 0; i < 2; i++) REQUIRE(fz_s[i].closes <= 1 && fz_s[i].opens <= 1);
    }
    for (i = 0; i < 2; i++) {
        REQUIRE(fz_s[i].api == 0);
        if (fz_s[i].c) { fz_s[i].kill = 1; FZ_API(i, ws_engine_destroy(fz_s[i].c)); }
        REQUIRE(fz_s[i].c == NULL);
        /* a server is seen from its OPEN on (no events for a refused upgrade) */
        REQUIRE(fz_s[i].closes == (i == 0 || fz_s[i].opens) && fz_s[i].after_close == 0);
    }
    return 0;
}
