/* test_sha1_base64.c - SHA-1 (FIPS 180), Base64 (RFC 4648), handshake keys (RFC 6455 1.3). */

static void t_hex(const uint8_t *d, size_t n, char *out) {
    static const char hx[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) { out[2 * i] = hx[d[i] >> 4]; out[2 * i + 1] = hx[d[i] & 15]; }
    out[2 * n] = 0;
}

/* ws.h compiles one of two round bodies: five rounds per step (-O1..-O3), or one (-Os, the
 * firmware's size): make test runs these vectors through both (run_tests_nonet is built -Os). */
static void test_sha1_vectors(void) {
    uint8_t d[20];
    char hex[41];
    printf("  SHA-1: the %s body\n", WS__SHA1_FAST ? "five-round (speed)" : "one-round (-Os)");
    ws_sha1_sum("abc", 3, d); t_hex(d, 20, hex);
    CHECK_STR(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    ws_sha1_sum("", 0, d); t_hex(d, 20, hex);
    CHECK_STR(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    ws_sha1_sum("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d); t_hex(d, 20, hex);
    CHECK_STR(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

static void test_sha1_million_a(void) {
    ws_sha1 s;
    uint8_t d[20], chunk[1000];
    char hex[41];
    int i;
    memset(chunk, 'a', sizeof chunk);
    ws_sha1_init(&s);
    for (i = 0; i < 1000; i++) ws_sha1_update(&s, chunk, sizeof chunk);
    ws_sha1_final(&s, d); t_hex(d, 20, hex);
    CHECK_STR(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void test_base64_rfc4648(void) {
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char enc[16], dec[16];
    size_t i, n;
    for (i = 0; i < 7; i++) {
        CHECK_EQ(ws_base64_encode(in[i], strlen(in[i]), enc, sizeof enc, &n), WS_OK);
        CHECK_STR(enc, out[i]);
        CHECK_EQ(n, strlen(out[i]));
        CHECK_EQ(ws_base64_decode(out[i], strlen(out[i]), dec, sizeof dec, &n), WS_OK);
        CHECK_EQ(n, strlen(in[i]));
        CHECK_MEM(dec, in[i], n);
    }
}

static void test_accept_key_rfc6455(void) {
    char out[29];
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
    CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/* ws_accept_key's 24-character path (a fixed last block, -O1..-O3) against the SHA-1 of the
 * same 60 bytes through ws_sha1_update, for keys of every byte value and of other lengths. */
static void test_accept_key_paths(void) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char key[40], out[29], want[29];
    uint8_t d[20];
    ws_sha1 s;
    size_t len, i;
    unsigned r = 12345;
    for (len = 0; len < sizeof key; len++)
        for (i = 0; i < 40; i++) {
            size_t j;
            for (j = 0; j < len; j++) { r = r * 1103515245u + 12345u; key[j] = (char)(r >> 16); }
            ws_sha1_init(&s);
            ws_sha1_update(&s, key, len);
            ws_sha1_update(&s, guid, 36);
            ws_sha1_final(&s, d);
            CHECK_EQ(ws_base64_encode(d, 20, want, sizeof want, NULL), WS_OK);
            ws_accept_key(key, len, out);
            CHECK_STR(out, want);
        }
}

/* RFC 4648 3.3/3.5 and the ws.h contract: one encoding per byte string, nothing else. */
static void test_base64_strict(void) {
    static const char *bad[] = {
        "Z", "Zg", "Zg=", "Zm9vY", "Zm9vYg=", "Zm9vYmE",            /* length not 4k */
        "Zg==Zm9v", "Zg=aZm9v", "Z===", "====", "=m9v", "Zm=v",    /* '=' not at the end */
        "Zg=a", "Zm9vZ=g=", "Zm9vZg=\x3d\x3d\x3d\x3d",
        "Zm9-", "Zm9_", "Zm.v", "Zm9\x80", "Zm9\xff", "Zm9:",     /* outside the alphabet */
        "Zm9 ", " m9v", "Zm\r\n", "Zm9vYmF\n", "\tm9v",             /* whitespace */
        "Zh==", "Zm9=", "AB==", "AAB=", "Zm9vYh==", "Zm9vYmF="      /* unused bits not zero */
    };
    char out[32];
    size_t i, n;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = 777;
        if (ws_base64_decode(bad[i], strlen(bad[i]), out, sizeof out, &n) != WS_ERR_ARG) {
            t_bad = 1;
            printf("  decode accepted bad input %lu: \"%s\"\n", (unsigned long)i, bad[i]);
        }
    }
    /* a NUL inside the given length is a bad character, not an end */
    CHECK_EQ(ws_base64_decode("Zm\0v", 4, out, sizeof out, &n), WS_ERR_ARG);
    CHECK_EQ(ws_base64_decode("Zm9vZg==", 7, out, sizeof out, &n), WS_ERR_ARG);
    /* canonical neighbours of the bad unused-bit cases still decode */
    CHECK_EQ(ws_base64_decode("Zg==", 4, out, sizeof out, &n), WS_OK);
    CHECK_EQ(n, 1);
    CHECK_EQ(ws_base64_decode("Zm8=", 4, out, sizeof out, &n), WS_OK);
    CHECK_EQ(n, 2);
    CHECK_MEM(out, "fo", 2);
}

static void test_base64_cap(void) {
    static const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char out[16], dec[16];
    size_t n, cap, len;
    for (n = 0; n <= 6; n++) {
        for (cap = 0; cap <= strlen(enc[n]); cap++) {   /* room for the NUL is required */
            memset(out, '#', sizeof out);
            CHECK_EQ(ws_base64_encode("foobar", n, out, cap, &len), WS_ERR_ARG);
            CHECK_EQ(out[cap], '#');
        }
        CHECK_EQ(ws_base64_encode("foobar", n, out, cap, &len), WS_OK);
        CHECK_STR(out, enc[n]);
        for (cap = 0; cap < n; cap++) {
            memset(dec, '#', sizeof dec);
            CHECK_EQ(ws_base64_decode(enc[n], strlen(enc[n]), dec, cap, &len), WS_ERR_ARG);
            CHECK_EQ(dec[cap], '#');
        }
        CHECK_EQ(ws_base64_decode(enc[n], strlen(enc[n]), dec, n, &len), WS_OK);
        CHECK_EQ(len, n);
        CHECK_MEM(dec, "foobar", n);
    }
}

static int t_is_b64char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* The shape RFC 4648 4 requires: 4*ceil(n/3) characters, padding only to fill the last quad. */
static void t_check_b64_shape(const char *e, size_t n) {
    size_t i, len = strlen(e), pad = (3 - n % 3) % 3;
    CHECK_EQ(len, (n + 2) / 3 * 4);
    for (i = 0; i < len; i++) CHECK(i >= len - pad ? e[i] == '=' : t_is_b64char(e[i]));
}

static void test_base64_random(void) {
    uint8_t in[200], dec[200];
    char enc[300];
    size_t n, len, i;
    int iter;
    t_rng_state = 0x0123456789ABCDEFull;
    for (iter = 0; iter < 2000; iter++) {
        n = t_rand() % sizeof in;
        for (i = 0; i < n; i++) in[i] = (uint8_t)t_rand();
        CHECK_EQ(ws_base64_encode(in, n, enc, sizeof enc, &len), WS_OK);
        CHECK_EQ(len, strlen(enc));
        t_check_b64_shape(enc, n);
        CHECK_EQ(ws_base64_decode(enc, len, dec, n, &len), WS_OK);   /* exact cap is enough */
        CHECK_EQ(len, n);
        CHECK_MEM(dec, in, n);
        if (t_bad) { printf("    iteration %d, %lu bytes\n", iter, (unsigned long)n); return; }
    }
}

static void test_client_key(void) {
    uint8_t rnd[16], dec[20];
    char key[25], acc[29];
    size_t n;
    int iter, i;
    t_rng_state = 42;
    for (iter = 0; iter < 200; iter++) {
        for (i = 0; i < 16; i++) rnd[i] = (uint8_t)t_rand();
        memset(key, '#', sizeof key);
        ws_client_key(rnd, key);
        CHECK_EQ(strlen(key), 24);
        t_check_b64_shape(key, 16);
        CHECK_EQ(ws_base64_decode(key, 24, dec, sizeof dec, &n), WS_OK);
        CHECK_EQ(n, 16);
        CHECK_MEM(dec, rnd, 16);
        ws_accept_key(key, 24, acc);    /* base64 of a 20-byte SHA-1 */
        CHECK_EQ(strlen(acc), 28);
        t_check_b64_shape(acc, 20);
    }
    ws_client_key((const uint8_t *)"the sample nonce", key);   /* RFC 6455 4.1 example */
    CHECK_STR(key, "dGhlIHNhbXBsZSBub25jZQ==");
}

static void suite_sha1_base64(void) {
    RUN(test_sha1_vectors);
    RUN(test_sha1_million_a);
    RUN(test_base64_rfc4648);
    RUN(test_accept_key_rfc6455);
    RUN(test_accept_key_paths);
    RUN(test_base64_strict);
    RUN(test_base64_cap);
    RUN(test_base64_random);
    RUN(test_client_key);
}
