/* fuzz_url.c - libFuzzer target for ws_url_parse and ws_http_build_request, with the
 * built request parsed back by ws_http_parse_request (bytes a target may not carry raw come
 * back %-encoded).   make fuzz
 * Input: byte 0 picks the small output buffer's size (0..255); the rest is the URL. */
#define WS_IMPLEMENTATION
#define WS_NO_NET
#include "../../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";

static int in_buf(ws_span s, const char *buf, size_t n) {
    return s.ptr >= buf && s.len <= n && (size_t)(s.ptr - buf) <= n - s.len;
}

static int span_eq(ws_span s, const char *p, size_t n) {
    return s.len == n && memcmp(s.ptr, p, n) == 0;
}

/* s is p[0..n) as a request target carries it: bytes <= 0x20 and >= 0x7F as %XX (uppercase). */
static int span_eq_target(ws_span s, const char *p, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    size_t i, k = 0;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch <= 0x20 || ch >= 0x7F) {
            if (k + 3 > s.len || s.ptr[k] != '%' || s.ptr[k + 1] != hex[ch >> 4] || s.ptr[k + 2] != hex[ch & 15])
                return 0;
            k += 3;
        } else {
            if (k >= s.len || s.ptr[k] != p[i]) return 0;
            k++;
        }
    }
    return k == s.len;
}

/* The request we built must parse back to the same target, Host and key. */
static void check_request(const char *out, size_t len, const ws_url *u) {
    ws_http_request r;
    ws_span v, k;
    size_t used = 0, n;
    int status = 0;
    char host[16];
    ws_result rc = ws_http_parse_request(out, len, (size_t)-1, &r, &used, NULL);
    REQUIRE(rc == WS_OK && used == len);
    REQUIRE(ws_http_check_request(&r, &k, &status, NULL) == WS_OK);
    REQUIRE(span_eq(k, key, 24));
    if (u->path.len) REQUIRE(span_eq_target(r.path, u->path.ptr, u->path.len));
    else REQUIRE(span_eq(r.path, "/", 1));
    if (u->query.ptr) REQUIRE(r.query.ptr && span_eq_target(r.query, u->query.ptr, u->query.len));
    else REQUIRE(r.query.ptr == NULL);
    REQUIRE(ws_http_header(r.headers, r.num_headers, "Host", &v) == 1);
    n = u->host.len + (u->ipv6 ? 2 : 0);
    REQUIRE(v.len >= n && memcmp(v.ptr + (u->ipv6 ? 1 : 0), u->host.ptr, u->host.len) == 0);
    if (u->ipv6) REQUIRE(v.ptr[0] == '[' && v.ptr[n - 1] == ']');
    if (u->port == (u->secure ? 443 : 80)) {
        REQUIRE(v.len == n);
    } else {
        snprintf(host, sizeof host, ":%u", (unsigned)u->port);
        REQUIRE(span_eq(ws__span(v.ptr + n, v.len - n), host, strlen(host)));
    }
    REQUIRE(ws_http_has_token(r.headers, r.num_headers, "Sec-WebSocket-Protocol", "superchat"));
    REQUIRE(ws_http_header(r.headers, r.num_headers, "X-B", &v) == 1 && span_eq(v, "2", 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ws_url u;
    const char *url, *why = NULL;
    char *small, *big;
    size_t n, scap, bcap, slen = (size_t)-1, blen = (size_t)-1, i;
    ws_result rc;
    if (size < 1) return 0;
    scap = data[0];
    url = (const char *)data + 1;
    n = size - 1;

    rc = ws_url_parse(url, n, &u, &why);
    if (rc != WS_OK) {
        REQUIRE(rc == WS_ERR_URL && why != NULL && *why != '\0');
        return 0;
    }
    REQUIRE(in_buf(u.host, url, n) && u.host.len > 0);
    REQUIRE(in_buf(u.path, url, n));
    REQUIRE(u.path.len == 0 || u.path.ptr[0] == '/');
    if (u.query.ptr) REQUIRE(in_buf(u.query, url, n) && u.query.ptr[-1] == '?');
    else REQUIRE(u.query.len == 0);
    REQUIRE(u.port != 0 && (u.port_given || u.port == (u.secure ? 443 : 80)));
    REQUIRE(u.secure == (url[2] == 's' || url[2] == 'S'));
    if (u.ipv6) REQUIRE(u.host.ptr[-1] == '[' && u.host.ptr[u.host.len] == ']');
    for (i = 0; i < n; i++)
        REQUIRE((unsigned char)url[i] > 0x20 && url[i] != 0x7F && url[i] != '#');
    REQUIRE(memchr(u.host.ptr, '@', u.host.len) == NULL);

    /* exact-size heap buffers, so ASan sees any write past cap */
    bcap = 3 * n + 512;   /* a target byte may go out as %XX */
    big = (char *)malloc(bcap);
    small = (char *)malloc(scap ? scap : 1);
    REQUIRE(big && small);
    rc = ws_http_build_request(big, bcap, &u, key, "http://example.com", "chat, superchat",
                               "X-A: 1\r\nX-B: 2\n", &blen);
    REQUIRE(rc == WS_OK && blen < bcap && big[blen] == '\0' && strlen(big) == blen);
    check_request(big, blen, &u);
    rc = ws_http_build_request(small, scap, &u, key, "http://example.com", "chat, superchat",
                               "X-A: 1\r\nX-B: 2\n", &slen);
    if (rc == WS_OK) REQUIRE(slen == blen && memcmp(small, big, blen + 1) == 0);
    else REQUIRE(rc == WS_ERR_ARG && scap <= blen && slen == (size_t)-1);
    free(big);
    free(small);
    return 0;
}
