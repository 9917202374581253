/* engine.c - hot-path driver for callgrind (instruction counts are repeatable on a noisy
 * machine). Feeds bytes straight into a server connection's engine (no sockets), in 16 KiB
 * chunks as a socket read would deliver them. Phases (each a function, so
 *   valgrind --tool=callgrind --toggle-collect='phase_*' build/engine
 * counts them alone; `callgrind_annotate --inclusive=yes` gives the cost of each):
 *   phase_text_1k     1 MiB of masked 1 KiB text frames (~5% 2-4 byte UTF-8): parse, unmask,
 *                     validate, deliver
 *   phase_binary_64k  1 MiB of masked 64 KiB binary frames: parse, unmask, deliver
 *   phase_echo_32     10,000 masked 32-byte binary messages, each echoed with ws_conn_send
 *   phase_echo_1k     1,000 masked 1 KiB text messages, each echoed with ws_conn_send
 *   phase_utf8_1m     ws_utf8_validate over 1 MiB of the same text
 *   phase_mask_1m     ws_mask over 1 MiB
 * Checks: message counts, lengths and a checksum of every delivered payload. */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>

#define MIB (1u << 20)
static size_t g_msgs, g_bytes, g_echo;
static uint32_t g_sum;
static uint8_t *g_plain;   /* the unmasked payload stream, for checking */

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    size_t i;
    (void)user;
    if (ev->type != WS_EV_MESSAGE) return;
    g_msgs++;
    for (i = 0; i < ev->len; i += 61) g_sum = g_sum * 31u + ev->data[i];   /* sampled */
    g_bytes += ev->len;
    if (g_echo && ws_conn_send(c, ev->opcode, ev->data, ev->len) != WS_OK) { fprintf(stderr, "send failed\n"); exit(1); }
}

/* frames of `size` bytes, opcode op, masked, whose payloads concatenate to g_plain[0..total) */
static uint8_t *make_frames(size_t size, int op, size_t total, size_t *out_len) {
    size_t nf = total / size, i, pos = 0;
    uint8_t *buf = (uint8_t *)malloc(nf * (size + 14)), *p = buf;
    for (i = 0; i < nf; i++) {
        ws_frame f = {0};
        uint8_t hdr[14];
        f.fin = 1; f.opcode = (uint8_t)op; f.masked = 1; f.payload_len = size;
        f.mask[0] = (uint8_t)(i * 13 + 1); f.mask[1] = 0x5a; f.mask[2] = (uint8_t)i; f.mask[3] = 0xc3;
        ws_frame_encode(&f, hdr);
        memcpy(p, hdr, f.header_len); p += f.header_len;
        memcpy(p, g_plain + pos, size);
        ws_mask(p, size, f.mask, 0);
        p += size; pos += size;
    }
    *out_len = (size_t)(p - buf);
    return buf;
}

static void make_text(size_t n) {   /* ASCII with a 2-, 3- or 4-byte character every ~64 bytes */
    static const char *mb[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80" };
    size_t i = 0, k = 0;
    g_plain = (uint8_t *)malloc(n);
    while (i < n) {
        if (k % 64 == 63) {
            const char *s = mb[(k / 64) % 3];
            size_t l = strlen(s);
            if (i % 1024 + l <= 1024 && i + l <= n) { memcpy(g_plain + i, s, l); i += l; k++; continue; }
        }
        g_plain[i++] = (uint8_t)('a' + k % 26);
        k++;
    }
}

static ws_conn *new_conn(ws_ctx *ctx) {
    ws_conn *c = ws__conn_new(ctx, 1);
    c->state = WS__OPEN;
    c->flags |= WS__F_OPENED;
    return c;
}

static void feed(ws_conn *c, const uint8_t *buf, size_t len) {
    size_t off = 0;
    while (off < len) {
        size_t n = len - off < 16384 ? len - off : 16384;
        if (ws__conn_feed(c, buf + off, n) != WS_OK) { fprintf(stderr, "feed failed\n"); exit(1); }
        off += n;
        if (c->tx) { c->tx->off = c->tx->len; ws__buf_put(c->ctx, &c->tx); }   /* "sent" */
    }
}

__attribute__((noipa)) static void phase_text_1k(ws_conn *c, const uint8_t *b, size_t n) { feed(c, b, n); }
__attribute__((noipa)) static void phase_binary_64k(ws_conn *c, const uint8_t *b, size_t n) { feed(c, b, n); }
__attribute__((noipa)) static void phase_echo_32(ws_conn *c, const uint8_t *b, size_t n) { feed(c, b, n); }
__attribute__((noipa)) static void phase_echo_1k(ws_conn *c, const uint8_t *b, size_t n) { feed(c, b, n); }
__attribute__((noipa)) static int phase_utf8_1m(const uint8_t *b, size_t n) { return ws_utf8_validate(b, n); }
__attribute__((noipa)) static void phase_mask_1m(uint8_t *b, size_t n) {
    static const uint8_t m[4] = { 1, 2, 3, 4 };
    ws_mask(b, n, m, 0);
}

static uint32_t sum_of(size_t size, size_t total) {   /* expected sampled checksum */
    uint32_t s = 0;
    size_t f, i;
    for (f = 0; f < total / size; f++)
        for (i = 0; i < size; i += 61) s = s * 31u + g_plain[f * size + i];
    return s;
}

static int check(const char *what, size_t msgs, size_t size) {
    uint32_t want = sum_of(size, msgs * size);
    int ok = g_msgs == msgs && g_bytes == msgs * size && g_sum == want;
    printf("%-16s %zu messages of %zu bytes: %s\n", what, g_msgs, size, ok ? "ok" : "MISMATCH");
    g_msgs = g_bytes = 0; g_sum = 0;
    return ok;
}

int main(void) {
    ws_config cfg;
    ws_ctx *ctx;
    uint8_t *t1k, *b64k, *e32, *e1k, *copy;
    size_t n1, n2, n3, n4;
    int ok = 1;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    ctx = ws_ctx_create(&cfg);
    make_text(MIB);
    if (ws_utf8_validate(g_plain, MIB) != WS_OK) { fprintf(stderr, "bad test text\n"); return 1; }
    t1k = make_frames(1024, WS_OP_TEXT, MIB, &n1);
    b64k = make_frames(65536, WS_OP_BINARY, MIB, &n2);
    e32 = make_frames(32, WS_OP_BINARY, 10000 * 32, &n3);
    e1k = make_frames(1024, WS_OP_TEXT, 1000 * 1024, &n4);
    copy = (uint8_t *)malloc(MIB);
    memcpy(copy, g_plain, MIB);

    phase_text_1k(new_conn(ctx), t1k, n1);      ok &= check("text_1k", 1024, 1024);
    phase_binary_64k(new_conn(ctx), b64k, n2);  ok &= check("binary_64k", 16, 65536);
    g_echo = 1;
    phase_echo_32(new_conn(ctx), e32, n3);      ok &= check("echo_32", 10000, 32);
    phase_echo_1k(new_conn(ctx), e1k, n4);      ok &= check("echo_1k", 1000, 1024);
    g_echo = 0;
    ok &= phase_utf8_1m(copy, MIB) == WS_OK;
    phase_mask_1m(copy, MIB);
    ok &= copy[0] == (g_plain[0] ^ 1);
    printf("engine: %s\n", ok ? "all checks passed" : "FAILED");
    ws_ctx_destroy(ctx);
    free(t1k); free(b64k); free(e32); free(e1k); free(copy); free(g_plain);
    return ok ? 0 : 1;
}
