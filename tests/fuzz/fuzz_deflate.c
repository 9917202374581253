/* fuzz_deflate.c - libFuzzer target for the protocol engine with permessage-deflate (built with
 * or client connection is fed the input in chunks, replies are taken from its send queue, and
 * whatever arrives must never crash, hang, leak or break the event rules.
 *   make fuzz   (or: build/fuzz_deflate [corpus dir])
 * Input: byte 0 picks the role and settings (bit 0: client, bit 1: fragment mode, bit 2:
 * small limits, bit 3: no auto pong, bit 4: echo every message, bit 5: close from the
 * callback, bit 6: permessage-deflate, bit 7: ... without context takeover); byte 1 seeds the
 * chunk sizes (and the client's inflater window); the rest is what the peer sends. A server
 * starts in the HTTP handshake (its request may offer permessage-deflate); a client starts
 * open (its handshake is fuzz_http_response's), with permessage-deflate already agreed when
 * bit 6 is set. Built with -DWS_USE_ZLIB -lz when zlib is there: then inflate is fuzzed. */
#define WS_IMPLEMENTATION
#include "../../ws.h"
#include <stdlib.h>
#include <string.h>

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

typedef struct fz_state {
    int opens, closes, errors, after_close, echo, close_in_cb, frags;
} fz_state;

static void fz_event(ws_conn *c, const ws_event *ev, void *user) {
    fz_state *s = (fz_state *)user;
    if (s->closes) s->after_close++;
    switch (ev->type) {
    case WS_EV_OPEN: s->opens++; break;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ws_config cfg;
    fz_state st;
    ws_ctx *ctx;
    ws_conn *c;
    size_t off = 2;
    unsigned seed;
    if (size < 2) return 0;
    memset(&cfg, 0, sizeof cfg);
    memset(&st, 0, sizeof st);
    cfg.on_event = fz_event;
    cfg.user = &st;
    cfg.fragments = st.frags = (data[0] >> 1) & 1;
    if (data[0] & 4) { cfg.max_message = 300; cfg.max_handshake = 200; }
    cfg.no_auto_pong = (data[0] >> 3) & 1;
    cfg.deflate.enable = (data[0] >> 6) & 1;
    cfg.deflate.threshold = -1;
    cfg.deflate.no_context_takeover = cfg.deflate.peer_no_context_takeover = (data[0] >> 7) & 1;
    st.echo = (data[0] >> 4) & 1;
    st.close_in_cb = (data[0] >> 5) & 1;
    seed = data[1];
    ctx = ws_ctx_create(&cfg);
    REQUIRE(ctx != NULL);
    c = ws__conn_new(ctx, !(data[0] & 1));
    REQUIRE(c != NULL);
    if (data[0] & 1) ws__opened(c);        /* a client past its handshake */
    else c->state = WS__HANDSHAKE;         /* a server waiting for the request */
#ifdef WS_USE_ZLIB
    if ((data[0] & 1) && cfg.deflate.enable)   /* ... that agreed on permessage-deflate */
        REQUIRE(ws__pmd_new(c, &cfg.deflate, 15, 8 + (data[1] & 7), data[0] >> 7, data[0] >> 7) != NULL);
#endif
    while (off < size && c->state != WS__CLOSED && !(c->flags & WS__F_DEAD)) {
        size_t n = 1 + (seed % 97);
        seed = seed * 1103515245u + 12345u;
        if (n > size - off) n = size - off;
        REQUIRE(ws__conn_feed(c, data + off, n) == WS_OK);
        off += n;
        if (c->tx) c->tx->off = c->tx->len;   /* the peer "reads" our replies */
        /* small limits: nothing beyond one frame header + max_frame (+ a chunk) is kept */
        if (cfg.max_message) REQUIRE(ws__buf_used(c->rx) <= 300 + 14 + 97 + 64);   /* + deflate's */
        if (cfg.max_message) REQUIRE(ws__buf_used(c->msg) <= 300 + 1);   /* inflated: checked as it grows */
    }
    if (c->flags & WS__F_BROKEN) ws__finish(c);
    ws_ctx_destroy(ctx);                   /* fires the CLOSE that is still due */
    REQUIRE(st.closes <= 1 && st.after_close == 0);
    REQUIRE(st.opens <= 1);
    if (st.opens) REQUIRE(st.closes == 1);
    return 0;
}
