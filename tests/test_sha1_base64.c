/* test_sha1_base64.c - SHA-1 (FIPS 180), Base64 (RFC 4648), handshake keys (RFC 6455 1.3). */

static void t_hex(const uint8_t *d, size_t n, char *out) {
    static const char hx[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) { out[2 * i] = hx[d[i] >> 4]; out[2 * i + 1] = hx[d[i] & 15]; }
    out[2 * n] = 0;
}

static void test_sha1_vectors(void) {
    uint8_t d[20];
    char hex[41];
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

static void suite_sha1_base64(void) {
    RUN(test_sha1_vectors);
    RUN(test_sha1_million_a);
    RUN(test_base64_rfc4648);
    RUN(test_accept_key_rfc6455);
}
