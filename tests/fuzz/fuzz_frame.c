/* fuzz_frame.c - libFuzzer target for the frame codec: ws_frame_parse, ws_frame_encode,
 * ws_mask, ws_close_parse.   make fuzz   (or: build/fuzz_frame [corpus dir])
 * Input: byte 0 picks the parse flags (bits 0-2: allowed RSV bits, bit 3: WS_PARSE_MASKED,
 * bit 4: WS_PARSE_UNMASKED) and the ws_mask offset; the rest is the frame. */
#define WS_IMPLEMENTATION
#define WS_NO_NET
#include "../../ws.h"
#include <stdlib.h>
#include <string.h>

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)
static const uint8_t rfc_mask[4] = {0x37, 0xfa, 0x21, 0x3d};   /* RFC 6455 5.7 */

/* Every prefix buf[0..k) must agree with the full parse: once OK or an error, always the
 * same; AGAIN with need n means no OK before k + n bytes (an error may show up sooner). */
static void check_prefixes(const uint8_t *buf, size_t len, unsigned flags) {
    ws_frame f, g;
    size_t need = 0, k, lim = len < 16 ? len : 16, again_until = 0;
    const char *why = NULL, *why2;
    ws_result rc, prev = WS_AGAIN;
    for (k = 0; k <= lim; k++) {
        need = 0; why2 = NULL;
        rc = ws_frame_parse(buf, k, flags, &g, &need, &why2);
        if (k < again_until) REQUIRE(rc != WS_OK);   /* an error may show up earlier */
        if (prev == WS_OK) {
            REQUIRE(rc == WS_OK && g.header_len == f.header_len &&
                    g.payload_len == f.payload_len && memcmp(g.mask, f.mask, 4) == 0);
        } else if (prev != WS_AGAIN) {
            REQUIRE(rc == prev && why2 == why);
        }
        if (rc == WS_AGAIN) {
            REQUIRE(need > 0 && need <= 14 && k + need <= 14);
            again_until = k + need;
        } else if (rc == WS_OK) {
            if (prev != WS_OK) f = g;
            REQUIRE(g.header_len <= k);
        } else {
            REQUIRE(rc == WS_ERR_PROTOCOL && why2 != NULL && *why2 != '\0');
            why = why2;
        }
        prev = rc;
    }
}

static void check_mask(const uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset) {
    uint8_t *a, *b;
    size_t i, cut;
    if (n == 0) { ws_mask(NULL, 0, mask, offset); return; }
    a = (uint8_t *)malloc(n);
    b = (uint8_t *)malloc(n);
    REQUIRE(a && b);
    memcpy(a, p, n);
    ws_mask(a, n, mask, offset);
    for (i = 0; i < n; i++) REQUIRE(a[i] == (uint8_t)(p[i] ^ mask[(offset + i) & 3]));
    /* in two pieces, the second continuing at offset + cut */
    cut = (size_t)(offset % (n + 1));
    memcpy(b, p, n);
    ws_mask(b, cut, mask, offset);
    ws_mask(b + cut, n - cut, mask, offset + cut);
    REQUIRE(memcmp(a, b, n) == 0);
    ws_mask(a, n, mask, offset);   /* its own inverse */
    REQUIRE(memcmp(a, p, n) == 0);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ws_frame f, e;
    uint8_t hdr[14];
    size_t need = 0, n;
    const char *why = NULL;
    unsigned flags;
    uint64_t offset;
    ws_result rc;
    if (size < 1) return 0;
    flags = (data[0] & 7u) | ((data[0] & 8u) ? (unsigned)WS_PARSE_MASKED : 0u) |
            ((data[0] & 16u) ? (unsigned)WS_PARSE_UNMASKED : 0u);
    offset = (uint64_t)(data[0] >> 5) * 0x3FFFFFFFFFFFFFFFu;   /* small, and near 2^64 */
    data++; size--;

    rc = ws_frame_parse(data, size, flags, &f, &need, &why);
    if (rc == WS_OK) {
        REQUIRE(f.header_len >= 2 && f.header_len <= 14 && f.header_len <= size);
        REQUIRE((f.payload_len >> 63) == 0);
        REQUIRE(f.fin <= 1 && f.masked <= 1 && f.opcode <= 15 && f.rsv <= 7);
        REQUIRE((f.rsv & ~flags & 7u) == 0);
        REQUIRE(f.opcode <= 2 || (f.opcode >= 8 && f.opcode <= 10));
        if (f.opcode & 8) REQUIRE(f.fin == 1 && f.payload_len <= 125);
        if (flags & WS_PARSE_MASKED) REQUIRE(f.masked);
        if (flags & WS_PARSE_UNMASKED) REQUIRE(!f.masked);
        if (!f.masked) REQUIRE(memcmp(f.mask, "\0\0\0\0", 4) == 0);
        /* re-encoding gives back exactly the header bytes (lengths are minimal) */
        e = f;
        e.header_len = 0;
        memset(hdr, 0xEE, sizeof hdr);
        REQUIRE(ws_frame_encode(&e, hdr) == WS_OK);
        REQUIRE(e.header_len == f.header_len && memcmp(hdr, data, f.header_len) == 0);
        /* mask whatever payload bytes are here */
        n = size - f.header_len;
        if (n > f.payload_len) n = (size_t)f.payload_len;
        check_mask(data + f.header_len, n, f.masked ? f.mask : rfc_mask, offset);
        if (f.opcode == WS_OP_CLOSE && n == f.payload_len) {
            uint16_t code = 0;
            const char *reason = NULL;
            size_t rlen = 0;
            rc = ws_close_parse(data + f.header_len, n, &code, &reason, &rlen);
            REQUIRE(reason != NULL);
            if (rc == WS_OK) {
                REQUIRE(n == 0 ? code == WS_CLOSE_NO_STATUS && rlen == 0
                               : ws_close_code_valid(code) && rlen == n - 2 &&
                                 reason == (const char *)data + f.header_len + 2);
            } else {
                REQUIRE(rc == WS_ERR_PROTOCOL || rc == WS_ERR_UTF8);
                REQUIRE(rlen == 0);
            }
        }
    } else if (rc == WS_AGAIN) {
        REQUIRE(need > 0 && size + need <= 14);
    } else {
        REQUIRE(rc == WS_ERR_PROTOCOL && why != NULL);
    }
    check_prefixes(data, size, flags);

    /* the encoder round-trips anything it accepts, through the parser */
    if (size >= 14) {
        memset(&e, 0, sizeof e);
        e.fin = (uint8_t)(data[0] >> 7);
        e.rsv = (uint8_t)((data[0] >> 4) & 7);
        e.opcode = (uint8_t)(data[0] & 15);
        e.masked = (uint8_t)(data[1] & 1);
        memcpy(e.mask, data + 2, 4);
        memcpy(&e.payload_len, data + 6, 8);
        if (data[1] & 2) e.payload_len &= 0xFFFF;
        if (data[1] & 4) e.payload_len &= 0xFF;
        rc = ws_frame_encode(&e, hdr);
        if ((e.payload_len >> 63) != 0) {
            REQUIRE(rc == WS_ERR_ARG);
        } else {
            REQUIRE(rc == WS_OK && e.header_len >= 2 && e.header_len <= 14);
            need = 0;
            rc = ws_frame_parse(hdr, e.header_len, 7, &f, &need, &why);
            if (rc == WS_OK) {
                REQUIRE(f.header_len == e.header_len && f.payload_len == e.payload_len &&
                        f.fin == e.fin && f.rsv == e.rsv && f.opcode == e.opcode &&
                        f.masked == e.masked && (!f.masked || memcmp(f.mask, e.mask, 4) == 0));
            } else {   /* only frames the protocol forbids are refused */
                REQUIRE(rc == WS_ERR_PROTOCOL);
                REQUIRE((e.opcode >= 3 && e.opcode <= 7) || e.opcode >= 11 ||
                        ((e.opcode & 8) && (!e.fin || e.payload_len > 125)));
            }
        }
    }
    return 0;
}
