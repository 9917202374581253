/* test_frame.c - frame header codec (RFC 6455 5.2), masking (5.3), the 5.7 examples, and close
 * codes and payloads (5.5.1, 7.4). Every header is parsed whole and at every prefix length, each
 * prefix copied to just before a PROT_NONE page (POSIX) so that any over-read crashes. */
#if !defined(_WIN32) && !defined(T_NO_MMAP)   /* T_NO_MMAP: firmware (tests/firmware) */
#  include <sys/mman.h>
#  include <unistd.h>
#endif

/* ---- the guard page: fr_place(src, n) returns a copy of src that ends where memory ends ---- */
static uint8_t *fr_guard_base;   /* two pages: read-write, then PROT_NONE */
static size_t fr_guard_page;
static uint8_t fr_fallback[1 << 17];

static void fr_guard_open(void) {
#if !defined(_WIN32) && !defined(T_NO_MMAP)
    void *m;
    fr_guard_page = (size_t)sysconf(_SC_PAGESIZE);
    m = mmap(NULL, 2 * fr_guard_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return;
    if (mprotect((uint8_t *)m + fr_guard_page, fr_guard_page, PROT_NONE) != 0) {
        munmap(m, 2 * fr_guard_page);
        return;
    }
    fr_guard_base = (uint8_t *)m;
#endif
}

static void fr_guard_close(void) {
#if !defined(_WIN32) && !defined(T_NO_MMAP)
    if (fr_guard_base) munmap(fr_guard_base, 2 * fr_guard_page);
    fr_guard_base = NULL;
#endif
}

static uint8_t *fr_place(const uint8_t *src, size_t n) {
    uint8_t *p;
    if (fr_guard_base && n <= fr_guard_page) p = fr_guard_base + fr_guard_page - n;
    else p = fr_fallback + sizeof fr_fallback - n;
    if (n) memcpy(p, src, n);
    return p;
}

/* ---- helpers ---- */
static ws_frame fr_make(int fin, int rsv, int opcode, const uint8_t *mask, uint64_t len) {
    ws_frame f;
    memset(&f, 0, sizeof f);
    f.fin = (uint8_t)fin; f.rsv = (uint8_t)rsv; f.opcode = (uint8_t)opcode;
    f.masked = mask != NULL;
    if (mask) memcpy(f.mask, mask, 4);
    f.payload_len = len;
    return f;
}

static void fr_check_same(const ws_frame *got, const ws_frame *want, size_t hlen) {
    CHECK_EQ(got->fin, want->fin);
    CHECK_EQ(got->rsv, want->rsv);
    CHECK_EQ(got->opcode, want->opcode);
    CHECK_EQ(got->masked, want->masked);
    if (want->masked) CHECK_MEM(got->mask, want->mask, 4);
    CHECK_EQ(got->header_len, hlen);
    CHECK(got->payload_len == want->payload_len);
}

/* The least header length that the first L bytes of a valid header h[0..n) allow. */
static size_t fr_need(size_t L, size_t n) { return L < 2 ? 2 - L : n - L; }

/* h[0..n) is one whole valid header. Every prefix must give WS_AGAIN with the exact *need
 * (never past the header's end), the whole header WS_OK with f == want, and trailing payload
 * bytes must not matter. A reader that adds *need bytes at a time must land on n exactly. */
static void fr_accept(const uint8_t *h, size_t n, unsigned flags, const ws_frame *want) {
    uint8_t buf[40];
    ws_frame f;
    size_t L, need;
    const char *why;
    CHECK(n >= 2 && n <= 14);
    for (L = 0; L < n && !t_bad; L++) {
        need = 0;
        CHECK_EQ(ws_frame_parse(fr_place(h, L), L, flags, &f, &need, &why), WS_AGAIN);
        CHECK_EQ(need, fr_need(L, n));
        CHECK_EQ(ws_frame_parse(fr_place(h, L), L, flags, &f, NULL, NULL), WS_AGAIN);
    }
    for (L = 0; L < n; L += need) {
        need = 0;
        if (ws_frame_parse(fr_place(h, L), L, flags, &f, &need, NULL) != WS_AGAIN) break;
        CHECK(need >= 1 && L + need <= n);
    }
    CHECK_EQ(L, n);
    memset(&f, 0xAA, sizeof f);
    CHECK_EQ(ws_frame_parse(fr_place(h, n), n, flags, &f, NULL, NULL), WS_OK);
    fr_check_same(&f, want, n);
    memcpy(buf, h, n);
    memset(buf + n, 0xFF, sizeof buf - n);          /* payload follows: still just the header */
    memset(&f, 0, sizeof f);
    CHECK_EQ(ws_frame_parse(buf, sizeof buf, flags, &f, NULL, NULL), WS_OK);
    fr_check_same(&f, want, n);
}

/* h[0..n) is bad, and its first `at` bytes already show it: shorter prefixes are WS_AGAIN, and
 * every prefix of length >= at is WS_ERR_PROTOCOL with a reason. */
static void fr_reject(const uint8_t *h, size_t n, unsigned flags, size_t at) {
    ws_frame f;
    size_t L, need;
    const char *why;
    for (L = 0; L <= n && !t_bad; L++) {
        need = 0; why = NULL;
        if (L < at) {
            CHECK_EQ(ws_frame_parse(fr_place(h, L), L, flags, &f, &need, &why), WS_AGAIN);
            CHECK(need >= 1);
            continue;
        }
        CHECK_EQ(ws_frame_parse(fr_place(h, L), L, flags, &f, &need, &why), WS_ERR_PROTOCOL);
        CHECK(why != NULL && why[0] != 0);
        CHECK_EQ(ws_frame_parse(fr_place(h, L), L, flags, &f, NULL, NULL), WS_ERR_PROTOCOL);
    }
}

/* Encoding want gives exactly h[0..n) (header_len = n); parsing h gives want back. */
static void fr_roundtrip_vector(const uint8_t *h, size_t n, const ws_frame *want) {
    ws_frame e = *want;
    uint8_t out[14];
    unsigned flags = want->masked ? WS_PARSE_MASKED : WS_PARSE_UNMASKED;
    e.header_len = 0;
    CHECK_EQ(ws_frame_encode(&e, out), WS_OK);
    CHECK_EQ(e.header_len, n);
    CHECK_MEM(out, h, n);
    fr_accept(h, n, 0, want);
    fr_accept(h, n, flags, want);
}

#define FR_BYTES(...) static const uint8_t h[] = {__VA_ARGS__}

/* ---- RFC 6455 5.7 examples ---- */
static void test_frame_rfc_hello_unmasked(void) {
    FR_BYTES(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f);
    ws_frame want = fr_make(1, 0, WS_OP_TEXT, NULL, 5), f;
    fr_roundtrip_vector(h, 2, &want);
    CHECK_EQ(ws_frame_parse(h, sizeof h, 0, &f, NULL, NULL), WS_OK);
    CHECK_MEM(h + f.header_len, "Hello", 5);
}

static void test_frame_rfc_hello_masked(void) {
    FR_BYTES(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58);
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    ws_frame want = fr_make(1, 0, WS_OP_TEXT, key, 5), f;
    uint8_t pay[5];
    fr_roundtrip_vector(h, 6, &want);
    CHECK_EQ(ws_frame_parse(h, sizeof h, WS_PARSE_MASKED, &f, NULL, NULL), WS_OK);
    memcpy(pay, h + f.header_len, 5);
    ws_mask(pay, 5, f.mask, 0);
    CHECK_MEM(pay, "Hello", 5);
}

static void test_frame_rfc_fragmented(void) {
    FR_BYTES(0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f);
    ws_frame first = fr_make(0, 0, WS_OP_TEXT, NULL, 3), last = fr_make(1, 0, WS_OP_CONT, NULL, 2);
    ws_frame f;
    fr_roundtrip_vector(h, 2, &first);
    fr_roundtrip_vector(h + 5, 2, &last);
    CHECK_EQ(ws_frame_parse(h, sizeof h, 0, &f, NULL, NULL), WS_OK);
    CHECK_MEM(h + 2, "Hel", 3);
    CHECK_EQ(ws_frame_parse(h + 5, sizeof h - 5, 0, &f, NULL, NULL), WS_OK);
    CHECK_MEM(h + 7, "lo", 2);
}

static void test_frame_rfc_ping_pong(void) {
    static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const uint8_t pong[] = {0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const uint8_t mpong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    ws_frame wping = fr_make(1, 0, WS_OP_PING, NULL, 5), wpong = fr_make(1, 0, WS_OP_PONG, NULL, 5);
    ws_frame wmpong = fr_make(1, 0, WS_OP_PONG, mpong + 2, 5);
    fr_roundtrip_vector(ping, 2, &wping);
    fr_roundtrip_vector(pong, 2, &wpong);
    fr_roundtrip_vector(mpong, 6, &wmpong);
}

static void test_frame_rfc_256_binary(void) {
    FR_BYTES(0x82, 0x7E, 0x01, 0x00);
    ws_frame want = fr_make(1, 0, WS_OP_BINARY, NULL, 256);
    fr_roundtrip_vector(h, sizeof h, &want);
}

static void test_frame_rfc_64k_binary(void) {
    FR_BYTES(0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00);
    ws_frame want = fr_make(1, 0, WS_OP_BINARY, NULL, 65536);
    fr_roundtrip_vector(h, sizeof h, &want);
}

static void test_frame_masked_64bit_header(void) {   /* the longest header: 14 bytes */
    FR_BYTES(0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4);
    ws_frame want = fr_make(1, 0, WS_OP_BINARY, h + 10, ((uint64_t)1 << 63) - 1);
    fr_roundtrip_vector(h, sizeof h, &want);
}

static void test_frame_length_boundaries_parse(void) {
    FR_BYTES(0x82, 0x7D, 0x82, 0x7E, 0x00, 0x7E, 0x82, 0x7E, 0xFF, 0xFF,
             0x89, 0xFD, 9, 8, 7, 6, 0x80, 0x00);
    ws_frame w125 = fr_make(1, 0, WS_OP_BINARY, NULL, 125), w126 = fr_make(1, 0, 2, NULL, 126);
    ws_frame w65535 = fr_make(1, 0, 2, NULL, 65535), wping = fr_make(1, 0, WS_OP_PING, h + 12, 125);
    ws_frame wempty = fr_make(1, 0, WS_OP_CONT, NULL, 0);
    fr_roundtrip_vector(h, 2, &w125);
    fr_roundtrip_vector(h + 2, 4, &w126);
    fr_roundtrip_vector(h + 6, 4, &w65535);
    fr_roundtrip_vector(h + 10, 6, &wping);      /* a control frame may carry 125 bytes */
    fr_roundtrip_vector(h + 16, 2, &wempty);
}

/* ---- rejections (RFC 6455 5.2, 5.5, 5.1), each reported as soon as the bytes show it ---- */
static void test_frame_reject_reserved_data_opcodes(void) {
    uint8_t h[2];
    int op, fin;
    for (op = 3; op <= 7; op++)
        for (fin = 0; fin < 2; fin++) {
            h[0] = (uint8_t)(fin << 7 | op); h[1] = 0x00;
            fr_reject(h, 2, 0, 1);
            fr_reject(h, 2, WS_PARSE_RSV_MASK, 1);
        }
}

static void test_frame_reject_reserved_control_opcodes(void) {
    uint8_t h[2];
    int op;
    for (op = 0xB; op <= 0xF; op++) {
        h[0] = (uint8_t)(0x80 | op); h[1] = 0x00;
        fr_reject(h, 2, 0, 1);
        fr_reject(h, 2, WS_PARSE_RSV_MASK | WS_PARSE_UNMASKED, 1);
    }
}

static void test_frame_reject_rsv_without_extension(void) {
    uint8_t h[2];
    int rsv;
    for (rsv = 1; rsv <= 7; rsv++) {
        h[0] = (uint8_t)(0x81 | rsv << 4); h[1] = 0x00;
        fr_reject(h, 2, 0, 1);
        fr_reject(h, 2, (unsigned)(~rsv & 7), 1);   /* the other bits allowed: still bad */
    }
}

static void test_frame_rsv_allowed_by_flags(void) {
    uint8_t h[2];
    ws_frame f;
    int rsv;
    unsigned allow;
    for (rsv = 0; rsv <= 7; rsv++)
        for (allow = 0; allow <= 7; allow++) {
            h[0] = (uint8_t)(0x82 | rsv << 4); h[1] = 0x03;
            if (rsv & ~(int)allow) { fr_reject(h, 2, allow, 1); continue; }
            f = fr_make(1, rsv, WS_OP_BINARY, NULL, 3);
            fr_accept(h, 2, allow, &f);
        }
    h[0] = 0xC1; h[1] = 0x00;
    f = fr_make(1, WS_RSV1, WS_OP_TEXT, NULL, 0);
    fr_accept(h, 2, WS_RSV1, &f);
    fr_reject(h, 2, WS_RSV2 | WS_RSV3, 1);
}

static void test_frame_reject_fragmented_control(void) {
    static const uint8_t ops[] = {WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG};
    uint8_t h[2];
    size_t i;
    for (i = 0; i < 3; i++) {
        h[0] = ops[i]; h[1] = 0x00;             /* FIN clear */
        fr_reject(h, 2, 0, 1);
    }
}

static void test_frame_reject_control_len_126(void) {
    static const uint8_t ops[] = {WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG};
    uint8_t h[4];
    size_t i;
    for (i = 0; i < 3; i++) {
        h[0] = (uint8_t)(0x80 | ops[i]); h[1] = 0x7E; h[2] = 0x00; h[3] = 0x7E;
        fr_reject(h, 4, 0, 2);
        h[1] = 0xFE;                            /* masked too */
        fr_reject(h, 4, WS_PARSE_MASKED, 2);
    }
}

static void test_frame_reject_control_len_127(void) {
    static const uint8_t ops[] = {WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG};
    uint8_t h[10] = {0, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0};
    size_t i;
    for (i = 0; i < 3; i++) {
        h[0] = (uint8_t)(0x80 | ops[i]);
        fr_reject(h, 10, 0, 2);
    }
}

static void test_frame_reject_nonminimal_16bit(void) {
    static const uint8_t lens[] = {0x00, 0x01, 0x7D};
    uint8_t h[4] = {0x82, 0x7E, 0x00, 0x00}, m[8] = {0x82, 0xFE, 0x00, 0x00, 1, 2, 3, 4};
    size_t i;
    for (i = 0; i < 3; i++) {
        h[3] = lens[i]; m[3] = lens[i];
        fr_reject(h, 4, 0, 4);
        fr_reject(m, 8, WS_PARSE_MASKED, 4);    /* before the mask arrives */
    }
}

static void test_frame_reject_nonminimal_64bit(void) {
    /* bytes 2..7 all zero already say the length is < 65536 */
    uint8_t h[10] = {0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0x00, 0x00};
    uint8_t m[14] = {0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 1, 2, 3, 4};
    fr_reject(h, 10, 0, 8);
    h[9] = 0x7D; fr_reject(h, 10, 0, 8);
    h[8] = 0xFF; h[9] = 0xFF; fr_reject(h, 10, 0, 8);
    fr_reject(m, 14, WS_PARSE_MASKED, 8);
}

static void test_frame_reject_64bit_top_bit(void) {
    uint8_t h[10] = {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0};
    fr_reject(h, 10, 0, 3);                     /* the first length byte shows it */
    memset(h + 2, 0xFF, 8);
    fr_reject(h, 10, 0, 3);
}

static void test_frame_reject_masked_for_client(void) {
    FR_BYTES(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d);
    fr_reject(h, sizeof h, WS_PARSE_UNMASKED, 2);
}

static void test_frame_reject_unmasked_for_server(void) {
    FR_BYTES(0x82, 0x7E, 0x01, 0x00);
    fr_reject(h, 2, WS_PARSE_MASKED, 2);
    fr_reject(h, sizeof h, WS_PARSE_MASKED, 2);
}

/* ---- ws_frame_encode ---- */
static void fr_encode_expect(uint64_t len, int masked, const uint8_t *want, size_t n) {
    static const uint8_t key[4] = {0xDE, 0xAD, 0xBE, 0xEF};
    ws_frame f = fr_make(1, 0, WS_OP_BINARY, masked ? key : NULL, len);
    uint8_t out[14], exp[14];
    memcpy(exp, want, n);
    if (masked) { exp[1] |= 0x80; memcpy(exp + n, key, 4); }   /* MASK bit, then the key */
    memset(out, 0xCC, sizeof out);
    CHECK_EQ(ws_frame_encode(&f, out), WS_OK);
    CHECK_EQ(f.header_len, n + (masked ? 4 : 0));
    CHECK_MEM(out, exp, f.header_len);
    fr_accept(out, f.header_len, masked ? WS_PARSE_MASKED : WS_PARSE_UNMASKED, &f);
}

static void test_frame_encode_length_boundaries(void) {
    static const uint8_t e0[] = {0x82, 0x00}, e125[] = {0x82, 0x7D}, e126[] = {0x82, 0x7E, 0, 126};
    static const uint8_t e65535[] = {0x82, 0x7E, 0xFF, 0xFF};
    static const uint8_t e65536[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0};
    static const uint8_t emax[] = {0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    static const uint8_t e2_32[] = {0x82, 0x7F, 0, 0, 0, 1, 0, 0, 0, 0};
    int m;
    for (m = 0; m < 2; m++) {
        fr_encode_expect(0, m, e0, 2);
        fr_encode_expect(125, m, e125, 2);
        fr_encode_expect(126, m, e126, 4);
        fr_encode_expect(65535, m, e65535, 4);
        fr_encode_expect(65536, m, e65536, 10);
        fr_encode_expect((uint64_t)1 << 32, m, e2_32, 10);
        fr_encode_expect(((uint64_t)1 << 63) - 1, m, emax, 10);
    }
}

static void test_frame_encode_first_byte(void) {
    ws_frame f;
    uint8_t out[14];
    int fin, rsv, op;
    for (fin = 0; fin < 2; fin++)
        for (rsv = 0; rsv < 8; rsv++)
            for (op = 0; op < 16; op++) {
                f = fr_make(fin, rsv, op, NULL, 1);
                CHECK_EQ(ws_frame_encode(&f, out), WS_OK);
                CHECK_EQ(out[0], fin << 7 | rsv << 4 | op);
                CHECK_EQ(out[1], 1);
                CHECK_EQ(f.header_len, 2);
            }
}

static void test_frame_encode_bad_args(void) {
    ws_frame f;
    uint8_t out[14];
    f = fr_make(1, 0, 16, NULL, 0);   CHECK_EQ(ws_frame_encode(&f, out), WS_ERR_ARG);
    f = fr_make(1, 0, 255, NULL, 0);  CHECK_EQ(ws_frame_encode(&f, out), WS_ERR_ARG);
    f = fr_make(1, 8, 1, NULL, 0);    CHECK_EQ(ws_frame_encode(&f, out), WS_ERR_ARG);
    f = fr_make(1, 255, 1, NULL, 0);  CHECK_EQ(ws_frame_encode(&f, out), WS_ERR_ARG);
    f = fr_make(1, 0, 2, NULL, (uint64_t)1 << 63);
    CHECK_EQ(ws_frame_encode(&f, out), WS_ERR_ARG);
    f = fr_make(1, 0, 2, NULL, ~(uint64_t)0);
    CHECK_EQ(ws_frame_encode(&f, out), WS_ERR_ARG);
    f = fr_make(1, 7, 15, NULL, ((uint64_t)1 << 63) - 1);   /* the largest legal values */
    CHECK_EQ(ws_frame_encode(&f, out), WS_OK);
}

static void test_frame_encode_custom_then_reject(void) {  /* encodable, but not parseable */
    ws_frame f;
    uint8_t out[14];
    int op;
    for (op = 3; op < 16; op++) {
        if (op >= 8 && op <= 10) continue;
        f = fr_make(1, 0, op, NULL, 0);
        CHECK_EQ(ws_frame_encode(&f, out), WS_OK);
        fr_reject(out, f.header_len, 0, 1);
    }
    f = fr_make(0, 0, WS_OP_PING, NULL, 0);
    CHECK_EQ(ws_frame_encode(&f, out), WS_OK);
    fr_reject(out, f.header_len, 0, 1);
    f = fr_make(1, 0, WS_OP_CLOSE, NULL, 126);
    CHECK_EQ(ws_frame_encode(&f, out), WS_OK);
    fr_reject(out, f.header_len, 0, 2);
}

static uint64_t fr_rand_len(int control) {
    static const uint64_t edge[] = {0, 1, 124, 125, 126, 127, 255, 256, 65534, 65535, 65536,
                                    65537, 0xFFFFFFFFu, 0x100000000u};
    unsigned r = t_rand() % 6;
    uint64_t v;
    if (control) return t_rand() % 126;
    if (r == 0) return edge[t_rand() % (sizeof edge / sizeof *edge)];
    if (r == 1) return t_rand() % 126;
    if (r == 2) return 126 + t_rand() % (65536 - 126);
    v = ((uint64_t)t_rand() << 32 | t_rand()) >> (t_rand() % 64);
    return r == 3 ? ((uint64_t)1 << 63) - 1 - (t_rand() % 1000) : v & (((uint64_t)1 << 63) - 1);
}

static void fr_random_one(void) {
    static const uint8_t ops[] = {0, 1, 2, 8, 9, 10};
    uint8_t key[4], out[14];
    int op = ops[t_rand() % 6], control = op >= 8, masked = (int)(t_rand() & 1);
    ws_frame f, g;
    unsigned r = t_rand();
    memcpy(key, &r, 4);
    f = fr_make(control ? 1 : (int)(t_rand() & 1), (int)(t_rand() % 8), op,
                masked ? key : NULL, fr_rand_len(control));
    CHECK_EQ(ws_frame_encode(&f, out), WS_OK);
    CHECK_EQ(f.header_len, (masked ? 6u : 2u) + (f.payload_len < 126 ? 0u
                           : f.payload_len < 65536 ? 2u : 8u));
    CHECK_EQ(ws_frame_parse(out, f.header_len, 7 | (masked ? WS_PARSE_MASKED : WS_PARSE_UNMASKED),
                            &g, NULL, NULL), WS_OK);
    fr_check_same(&g, &f, f.header_len);
    CHECK_EQ(ws_frame_parse(out, f.header_len, 7 | (masked ? WS_PARSE_UNMASKED : WS_PARSE_MASKED),
                            &g, NULL, NULL), WS_ERR_PROTOCOL);
    CHECK_EQ(ws_frame_parse(out, f.header_len, 0, &g, NULL, NULL), f.rsv ? WS_ERR_PROTOCOL : WS_OK);
    if (t_rand() % 16 == 0) fr_accept(out, f.header_len, 7, &f);
}

static void test_frame_random_roundtrip(void) {
    int i;
    t_rng_state = 0xF4A3E5EEDu;
    for (i = 0; i < 20000 && !t_bad; i++) fr_random_one();
}

/* ---- ws_mask (RFC 6455 5.3: octet i XOR mask[i mod 4]) ---- */
static void fr_mask_ref(uint8_t *p, size_t n, const uint8_t *key, uint64_t off) {
    size_t i;
    for (i = 0; i < n; i++) p[i] ^= key[(off + i) % 4];
}

static void fr_fill(uint8_t *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) p[i] = (uint8_t)t_rand();
}

static void test_frame_mask_rfc_vector(void) {
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t p[5];
    memcpy(p, "Hello", 5);
    ws_mask(p, 5, key, 0);
    CHECK_MEM(p, "\x7f\x9f\x4d\x51\x58", 5);
    ws_mask(p, 5, key, 0);
    CHECK_MEM(p, "Hello", 5);
}

/* every length 0..200 (the vector path's 64- and 16-byte steps and the tails), offset 0..7
 * (and huge), alignment 0..7; bytes around p untouched */
static void test_frame_mask_vs_reference(void) {
    static const uint64_t big[] = {0xFFFFFFFFu, 0x100000001u, ~(uint64_t)0};
    uint8_t key[4], a[224], b[224], orig[224];
    size_t n, al, o;
    uint64_t off;
    t_rng_state = 0x3A5C0001u;
    for (n = 0; n <= 200; n++)
        for (al = 0; al < 8; al++)
            for (o = 0; o < 11 && !t_bad; o++) {
                off = o < 8 ? o : big[o - 8];
                fr_fill(key, 4); fr_fill(orig, sizeof orig);
                memcpy(a, orig, sizeof a); memcpy(b, orig, sizeof b);
                ws_mask(a + 8 + al, n, key, off);
                fr_mask_ref(b + 8 + al, n, key, off);
                CHECK_MEM(a, b, sizeof a);
                ws_mask(a + 8 + al, n, key, off);     /* its own inverse */
                CHECK_MEM(a, orig, sizeof a);
            }
}

static void test_frame_mask_in_pieces(void) {
    uint8_t key[4], whole[100], parts[100];
    size_t n, k, j;
    uint64_t off;
    t_rng_state = 0x3A5C0002u;
    for (n = 0; n <= 100; n += 3)
        for (k = 0; k <= n && !t_bad; k++) {
            fr_fill(key, 4); fr_fill(whole, n);
            memcpy(parts, whole, n);
            off = t_rand() % 8;
            j = k + (n - k) / 2;
            ws_mask(whole, n, key, off);
            ws_mask(parts, k, key, off);                        /* three running pieces */
            ws_mask(parts + k, j - k, key, off + k);
            ws_mask(parts + j, n - j, key, off + j);
            CHECK_MEM(parts, whole, n);
        }
}

/* ---- close codes and payloads (RFC 6455 5.5.1, 7.4) ---- */
static int fr_code_rule(unsigned c) {
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

static void test_close_code_valid_all(void) {
    unsigned c;
    for (c = 0; c < 65536; c++) CHECK_EQ(ws_close_code_valid(c), fr_code_rule(c));
    CHECK_EQ(ws_close_code_valid(65536 + 1000), 0);
    CHECK_EQ(ws_close_code_valid(~0u), 0);
    CHECK_EQ(ws_close_code_valid(WS_CLOSE_NO_STATUS), 0);     /* never on the wire */
    CHECK_EQ(ws_close_code_valid(WS_CLOSE_ABNORMAL), 0);
    CHECK_EQ(ws_close_code_valid(WS_CLOSE_TLS), 0);
}

static void test_close_parse_empty(void) {
    uint16_t code = 0;
    const char *reason = NULL;
    size_t rlen = 99;
    CHECK_EQ(ws_close_parse(fr_place(NULL, 0), 0, &code, &reason, &rlen), WS_OK);
    CHECK_EQ(code, 1005);
    CHECK(reason != NULL);
    CHECK_EQ(rlen, 0);
}

static void test_close_parse_one_byte(void) {
    uint16_t code;
    const char *reason;
    size_t rlen;
    uint8_t b[1] = {0x03};
    CHECK_EQ(ws_close_parse(fr_place(b, 1), 1, &code, &reason, &rlen), WS_ERR_PROTOCOL);
    b[0] = 0xE8;
    CHECK_EQ(ws_close_parse(fr_place(b, 1), 1, &code, &reason, &rlen), WS_ERR_PROTOCOL);
}

static void test_close_parse_every_code(void) {
    uint16_t code;
    const char *reason;
    size_t rlen;
    uint8_t b[2];
    unsigned c;
    for (c = 0; c < 65536; c++) {
        b[0] = (uint8_t)(c >> 8); b[1] = (uint8_t)c;
        code = 0;
        CHECK_EQ(ws_close_parse(b, 2, &code, &reason, &rlen),
                 fr_code_rule(c) ? WS_OK : WS_ERR_PROTOCOL);
        if (fr_code_rule(c)) { CHECK_EQ(code, c); CHECK_EQ(rlen, 0); }
    }
}

static void test_close_parse_invalid_codes(void) {
    static const unsigned bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
    uint8_t b[6] = {0, 0, 'b', 'y', 'e', '!'};
    uint16_t code;
    const char *reason;
    size_t rlen, i;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        b[0] = (uint8_t)(bad[i] >> 8); b[1] = (uint8_t)bad[i];
        CHECK_EQ(ws_close_parse(fr_place(b, 2), 2, &code, &reason, &rlen), WS_ERR_PROTOCOL);
        CHECK_EQ(ws_close_parse(fr_place(b, 6), 6, &code, &reason, &rlen), WS_ERR_PROTOCOL);
    }
}

static void test_close_parse_bad_utf8_reason(void) {
    static const char *bad[] = {"\xC0\xAF", "\xED\xA0\x80", "ok\xE2\x82", "\xFF", "\x80", "\xF4\x90\x80\x80"};
    uint8_t b[16] = {0x03, 0xE8};
    uint16_t code;
    const char *reason;
    size_t rlen, i, n;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        n = strlen(bad[i]);
        memcpy(b + 2, bad[i], n);
        CHECK_EQ(ws_close_parse(fr_place(b, n + 2), n + 2, &code, &reason, &rlen), WS_ERR_UTF8);
    }
}

static void test_close_parse_valid_reason(void) {
    static const uint8_t b[] = {0x0F, 0xA0, 'b', 'y', 'e', ' ', 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80};
    uint16_t code = 0;
    const char *reason = NULL;
    size_t rlen = 0;
    const uint8_t *p = fr_place(b, sizeof b);
    CHECK_EQ(ws_close_parse(p, sizeof b, &code, &reason, &rlen), WS_OK);
    CHECK_EQ(code, 4000);
    CHECK(reason == (const char *)p + 2);                  /* borrowed from the payload */
    CHECK_EQ(rlen, sizeof b - 2);
    CHECK_MEM(reason, b + 2, rlen);
    p = fr_place(b, 2);
    CHECK_EQ(ws_close_parse(p, 2, &code, &reason, &rlen), WS_OK);
    CHECK_EQ(rlen, 0);
}

static void test_close_result_code_mapping(void) {
    static const ws_result other[] = {WS_AGAIN, WS_ERR_ARG, WS_ERR_NOMEM, WS_ERR_HANDSHAKE,
                                      WS_ERR_IO, WS_ERR_TLS, WS_ERR_CLOSED, WS_ERR_TIMEOUT,
                                      WS_ERR_STATE};
    size_t i;
    CHECK_EQ(ws_result_close_code(WS_OK), 1000);
    CHECK_EQ(ws_result_close_code(WS_ERR_PROTOCOL), 1002);
    CHECK_EQ(ws_result_close_code(WS_ERR_UTF8), 1007);
    CHECK_EQ(ws_result_close_code(WS_ERR_TOO_BIG), 1009);
    CHECK_EQ(ws_result_close_code(WS_ERR_FULL), 1013);    /* memory budget: try again later */
    for (i = 0; i < sizeof other / sizeof *other; i++)
        CHECK_EQ(ws_result_close_code(other[i]), 1011);
    for (i = 0; i <= 20; i++)                               /* always sendable */
        CHECK(ws_close_code_valid(ws_result_close_code((ws_result)(0 - (int)i))));
}

static void suite_frame(void) {
    fr_guard_open();
    RUN(test_frame_rfc_hello_unmasked);
    RUN(test_frame_rfc_hello_masked);
    RUN(test_frame_rfc_fragmented);
    RUN(test_frame_rfc_ping_pong);
    RUN(test_frame_rfc_256_binary);
    RUN(test_frame_rfc_64k_binary);
    RUN(test_frame_masked_64bit_header);
    RUN(test_frame_length_boundaries_parse);
    RUN(test_frame_reject_reserved_data_opcodes);
    RUN(test_frame_reject_reserved_control_opcodes);
    RUN(test_frame_reject_rsv_without_extension);
    RUN(test_frame_rsv_allowed_by_flags);
    RUN(test_frame_reject_fragmented_control);
    RUN(test_frame_reject_control_len_126);
    RUN(test_frame_reject_control_len_127);
    RUN(test_frame_reject_nonminimal_16bit);
    RUN(test_frame_reject_nonminimal_64bit);
    RUN(test_frame_reject_64bit_top_bit);
    RUN(test_frame_reject_masked_for_client);
    RUN(test_frame_reject_unmasked_for_server);
    RUN(test_frame_encode_length_boundaries);
    RUN(test_frame_encode_first_byte);
    RUN(test_frame_encode_bad_args);
    RUN(test_frame_encode_custom_then_reject);
    RUN(test_frame_random_roundtrip);
    RUN(test_frame_mask_rfc_vector);
    RUN(test_frame_mask_vs_reference);
    RUN(test_frame_mask_in_pieces);
    RUN(test_close_code_valid_all);
    RUN(test_close_parse_empty);
    RUN(test_close_parse_one_byte);
    RUN(test_close_parse_every_code);
    RUN(test_close_parse_invalid_codes);
    RUN(test_close_parse_bad_utf8_reason);
    RUN(test_close_parse_valid_reason);
    RUN(test_close_result_code_mapping);
    fr_guard_close();
}
