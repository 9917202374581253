/* fuzz_loop_read.c - libFuzzer target for the loop's read path (ws__readable, the receive
 * buffers, the pool and the ctx's large buffer under max_memory, ws__rd_keep/_unbig): an
 * upgraded server connection adopted into a ws_ctx with a ws_io whose descriptor always polls
 * readable (a socketpair with a byte waiting) and whose read hands out a stream of valid
 * frames in chunks the input chooses (or WS_AGAIN, or the end). Every message must arrive
 * whole and unchanged, in order; a limit may close the connection (1009, 1013), but only
 * after the messages before it; no crash, leak or hang.   make fuzz
 * Input: byte 0 bits 0-1: max_memory (256 MiB, 4 MiB, 1 MiB, 300 KiB), bit 2: max_message
 * 200 KiB, bit 3: fragment mode; then messages, 3 bytes each until a 0xFF: size class and
 * fragments; then read sizes, 2 bytes each (0: WS_AGAIN once; top bit: all that fits, as
 * after the last). */
#define WS_IMPLEMENTATION
#include <string.h>
#include "../../ws.h"
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)
#define FZ_MAXM 64
#define FZ_STREAM (6 << 20)

static uint8_t fz_stream[FZ_STREAM];
static size_t fz_len, fz_pos;
static uint32_t fz_want[FZ_MAXM];      /* each message's hash and length */
static size_t fz_want_len[FZ_MAXM];
static int fz_nmsg, fz_got, fz_closes, fz_code, fz_frags;
static uint32_t fz_acc;                 /* fragment mode: the message so far */
static size_t fz_acc_len;
static const uint8_t *fz_rd;           /* read sizes */
static size_t fz_rd_n;

static uint32_t fz_hash(uint32_t h, const uint8_t *p, size_t n) {
    while (n--) h = (h ^ *p++) * 16777619u;
    return h;
}

static void fz_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)c; (void)user;
    REQUIRE(!fz_closes);
    if (ev->type == WS_EV_MESSAGE) {
        fz_acc = fz_hash(fz_acc_len ? fz_acc : 2166136261u, ev->data, ev->len);
        fz_acc_len += ev->len;
        if (!ev->fin) { REQUIRE(fz_frags); return; }
        REQUIRE(fz_got < fz_nmsg);
        REQUIRE(fz_acc_len == fz_want_len[fz_got]);
        REQUIRE(fz_acc_len == 0 || fz_acc == fz_want[fz_got]);
        fz_got++;
        fz_acc_len = 0;
    } else if (ev->type == WS_EV_CLOSE) {
        fz_closes++;
        fz_code = ev->close_code;
    }
}

static ws_result fz_read(void *io, uint8_t *buf, size_t cap, size_t *got) {
    size_t n;
    (void)io;
    if (fz_pos == fz_len) return WS_ERR_CLOSED;   /* the stream's end */
    if (fz_rd_n >= 2) {
        n = (size_t)fz_rd[0] << 8 | fz_rd[1];
        fz_rd += 2; fz_rd_n -= 2;
        if (!n) return WS_AGAIN;
        n = (n & 0x8000) ? cap : n * 37 % 70000 + 1;   /* all that fits: reads grow (rd_big) */
    } else {
        n = cap;
    }
    if (n > cap) n = cap;
    if (n > fz_len - fz_pos) n = fz_len - fz_pos;
    memcpy(buf, fz_stream + fz_pos, n);
    fz_pos += n;
    *got = n;
    return WS_OK;
}
static ws_result fz_write(void *io, const uint8_t *data, size_t len, size_t *put) {
    (void)io; (void)data;
    *put = len;
    return WS_OK;
}

/* One frame, masked (to a server), its payload from seed. */
static void fz_frame(int fin, int op, size_t n, uint32_t seed, uint32_t *h) {
    static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
    uint8_t *p = fz_stream + fz_len;
    size_t i, hl;
    p[0] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (n < 126) { p[1] = (uint8_t)(0x80 | n); hl = 2; }
    else if (n < 65536) { p[1] = 0x80 | 126; p[2] = (uint8_t)(n >> 8); p[3] = (uint8_t)n; hl = 4; }
    else {
        p[1] = 0x80 | 127;
        for (i = 0; i < 8; i++) p[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        hl = 10;
    }
    memcpy(p + hl, mask, 4);
    hl += 4;
    for (i = 0; i < n; i++) {
        uint8_t b = (uint8_t)((seed + i * 7 + (i >> 9)) & 0x7F);   /* ASCII: valid as text too */
        *h = (*h ^ b) * 16777619u;
        p[hl + i] = (uint8_t)(b ^ mask[i & 3]);
    }
    fz_len += hl + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const size_t mem[4] = { 0, 4 << 20, 1 << 20, 300 << 10 };
    static const size_t sizes[8] = { 0, 100, 1000, 16000, 65536, 200000, 1100000, 2500000 };
    ws_config cfg;
    ws_engine_opts o;
    ws_io io;
    ws_ctx *ctx;
    ws_conn *c = NULL;
    size_t i = 1;
    int sv[2], k;
    if (size < 1) return 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = fz_event;
    cfg.max_memory = mem[data[0] & 3];
    if (data[0] & 4) cfg.max_message = 200 << 10;
    fz_frags = cfg.fragments = (data[0] >> 3) & 1;
    fz_len = fz_pos = 0;
    fz_nmsg = fz_got = fz_closes = fz_code = 0;
    fz_acc_len = 0;
    while (i + 3 <= size && data[i] != 0xFF && fz_nmsg < FZ_MAXM) {   /* the messages */
        size_t n = sizes[data[i] & 7] + (size_t)data[i + 1] * 13u, left;
        int parts = 1 + (data[i + 2] & 3), op = (data[i] & 8) ? WS_OP_TEXT : WS_OP_BINARY;
        uint32_t h = 2166136261u;
        if (fz_len + n + 14 * 4 + 200 > FZ_STREAM) break;
        left = n;
        for (k = 0; k < parts; k++) {
            size_t part = k == parts - 1 ? left : left / 2;
            fz_frame(k == parts - 1, k ? WS_OP_CONT : op, part, (uint32_t)(n + (size_t)k * part), &h);
            if ((data[i + 2] & 4) && k == 0) fz_frame(1, WS_OP_PING, 3, 1, &(uint32_t){0});
            left -= part;
        }
        fz_want[fz_nmsg] = h;
        fz_want_len[fz_nmsg++] = n;
        i += 3;
    }
    fz_rd = data + i + (i < size);
    fz_rd_n = size - (i + (i < size));
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 0;
    if (write(sv[1], "x", 1) != 1) { close(sv[0]); close(sv[1]); return 0; }
    ctx = ws_ctx_create(&cfg);
    REQUIRE(ctx != NULL);
    memset(&io, 0, sizeof io);
    io.read = fz_read;
    io.write = fz_write;
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.upgraded = 1;
    o.io = &io;
    REQUIRE(ws_conn_adopt(ctx, sv[0], &o, NULL, &c) == WS_OK);
    for (k = 0; k < 100000 && !fz_closes; k++) (void)ws_poll(ctx, 0);
    REQUIRE(fz_closes == 1);
    if (fz_code == 1009 || fz_code == 1013) REQUIRE(fz_got <= fz_nmsg);
    else REQUIRE(fz_got == fz_nmsg);   /* all of them, then the end (1006) */
    ws_ctx_destroy(ctx);
    close(sv[0]);   /* (io has no close: the descriptor stays ours) */
    close(sv[1]);
    return 0;
}
