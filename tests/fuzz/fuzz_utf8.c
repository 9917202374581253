/* fuzz_utf8.c - libFuzzer target for the UTF-8 validator: ws_utf8_validate against
 * ws_utf8_feed in two pieces, and both against a slow reference.   make fuzz
 * Input: bytes 0-1 pick the split position (mod the length + 1); the rest is the text. */
#define WS_IMPLEMENTATION
#define WS_NO_NET
#include "../../ws.h"
#include <string.h>

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

/* Reference, written from RFC 3629 independently of ws.h's range table: a partial sequence
 * is viable iff some scalar value (0..10FFFF minus D800..DFFF) has an encoding of the length
 * its lead byte announces that starts with those bytes. */
static int viable(const uint8_t *s, size_t m, size_t want) {
    static const uint32_t lo_of[5] = {0, 0, 0x80, 0x800, 0x10000};
    static const uint32_t hi_of[5] = {0, 0x7F, 0x7FF, 0xFFFF, 0x10FFFF};
    uint32_t lo, hi;
    size_t i, free_bits;
    lo = want == 1 ? s[0] : (uint32_t)(s[0] & (0x7F >> want));
    for (i = 1; i < m; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        lo = (lo << 6) | (s[i] & 0x3Fu);
    }
    free_bits = 6 * (want - m);
    lo <<= free_bits;
    hi = lo + (((uint32_t)1 << free_bits) - 1);      /* every completion: [lo, hi] */
    if (hi < lo_of[want] || lo > hi_of[want]) return 0;
    if (lo < lo_of[want]) lo = lo_of[want];
    if (hi > hi_of[want]) hi = hi_of[want];
    if (want == 3 && lo >= 0xD800 && hi <= 0xDFFF) return 0;   /* surrogates only */
    return 1;
}

/* The offset of the first byte that cannot be part of valid text, or n. *open_at_split and
 * *open_at_end = bytes of an unfinished sequence before p[split] and at the end. */
static size_t ref_check(const uint8_t *p, size_t n, size_t split, size_t *open_at_split,
                        size_t *open_at_end) {
    uint8_t seq[4];
    size_t i, m = 0, want = 0;
    *open_at_split = 0;
    for (i = 0; i < n; i++) {
        if (i == split) *open_at_split = m;
        if (m == 0) {
            uint8_t b = p[i];
            want = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3
                 : (b & 0xF8) == 0xF0 ? 4 : 0;
            if (!want) return i;
        }
        seq[m++] = p[i];
        if (!viable(seq, m, want)) return i;
        if (m == want) m = 0;
    }
    if (split >= n) *open_at_split = m;
    *open_at_end = m;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *p;
    size_t n, split, bad, open_split = 0, open_end = 0, at;
    ws_utf8 s;
    ws_result r1, r2;
    if (size < 2) return 0;
    p = data + 2;
    n = size - 2;
    split = ((size_t)data[0] << 8 | data[1]) % (n + 1);
    bad = ref_check(p, n, split, &open_split, &open_end);

    REQUIRE(ws_utf8_validate(p, n) == (bad == n && open_end == 0 ? WS_OK : WS_ERR_UTF8));

    memset(&s, 0, sizeof s);
    at = (size_t)-1;
    r1 = ws_utf8_feed(&s, p, split, &at);
    if (bad < split) {
        REQUIRE(r1 == WS_ERR_UTF8 && at == bad);
        return 0;
    }
    REQUIRE(r1 == WS_OK && at == (size_t)-1);
    REQUIRE(ws_utf8_complete(&s) == (open_split == 0));
    r2 = ws_utf8_feed(&s, p + split, n - split, &at);
    if (bad < n) {
        REQUIRE(r2 == WS_ERR_UTF8 && at == bad - split);
    } else {
        REQUIRE(r2 == WS_OK && at == (size_t)-1);
        REQUIRE(ws_utf8_complete(&s) == (open_end == 0));
    }
    /* NULL bad_at is allowed */
    memset(&s, 0, sizeof s);
    REQUIRE(ws_utf8_feed(&s, p, n, NULL) == (bad < n ? WS_ERR_UTF8 : WS_OK));
    return 0;
}
