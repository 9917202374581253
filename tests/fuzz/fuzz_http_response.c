/* fuzz_http_response.c - libFuzzer target for the client side of the upgrade:
 * ws_http_parse_response and ws_http_check_response.   make fuzz
 * Input: the response head. The key is RFC 6455 1.3's, the offer "chat, superchat". */
#define WS_IMPLEMENTATION
#define WS_NO_NET
#include "../../ws.h"
#include <string.h>

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
static const char accept_value[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

static int in_buf(ws_span s, const char *buf, size_t n) {
    return s.ptr >= buf && s.len <= n && (size_t)(s.ptr - buf) <= n - s.len;
}

static int span_ieq(ws_span s, const char *z) {
    size_t i, n = strlen(z);
    if (s.len != n) return 0;
    for (i = 0; i < n; i++) {
        int a = (unsigned char)s.ptr[i], b = (unsigned char)z[i];
        if (a >= 'A' && a <= 'Z') a += 32;
        if (b >= 'A' && b <= 'Z') b += 32;
        if (a != b) return 0;
    }
    return 1;
}

static void check_head(const char *buf, size_t used, const ws_http_response *r) {
    size_t i;
    REQUIRE(used >= 4 && memcmp(buf + used - 2, "\r\n", 2) == 0);
    REQUIRE(memcmp(buf, "HTTP/1.", 7) == 0 && r->version_minor == buf[7] - '0');
    REQUIRE(r->status >= 0 && r->status <= 999);
    REQUIRE(r->status == (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0'));
    REQUIRE(in_buf(r->reason, buf, used));
    REQUIRE(!memchr(r->reason.ptr, '\r', r->reason.len) && !memchr(r->reason.ptr, '\n', r->reason.len));
    REQUIRE(r->num_headers <= WS_MAX_HEADERS);
    for (i = 0; i < r->num_headers; i++) {
        ws_span nm = r->headers[i].name, v = r->headers[i].value;
        REQUIRE(in_buf(nm, buf, used) && in_buf(v, buf, used) && nm.len > 0);
        REQUIRE(nm.ptr[nm.len] == ':' && !memchr(nm.ptr, ':', nm.len));
        REQUIRE(!memchr(v.ptr, '\r', v.len) && !memchr(v.ptr, '\n', v.len));
    }
}

static void check_prefix(const char *buf, size_t k, ws_result full, size_t full_used,
                         const char *full_why) {
    ws_http_response r;
    size_t used = (size_t)-1;
    const char *why = NULL;
    ws_result rc = ws_http_parse_response(buf, k, (size_t)-1, &r, &used, &why);
    if (rc == WS_OK) REQUIRE(full == WS_OK && used == full_used && used <= k);
    else if (rc == WS_AGAIN) REQUIRE(full != WS_OK || k < full_used);
    else REQUIRE(rc == full && why == full_why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ws_http_response r;
    const char *buf = (const char *)data, *why = NULL;
    size_t used = (size_t)-1, k, step;
    ws_result rc;

    rc = ws_http_parse_response(buf, size, (size_t)-1, &r, &used, &why);
    if (rc == WS_OK) {
        ws_span proto = {buf, 1}, v;
        const char *why2 = NULL;
        REQUIRE(used <= size);
        check_head(buf, used, &r);
        if (ws_http_check_response(&r, key, "chat, superchat", &proto, &why2) == WS_OK) {
            REQUIRE(r.status == 101);
            REQUIRE(ws_http_header(r.headers, r.num_headers, "Sec-WebSocket-Accept", &v) == 1);
            REQUIRE(v.len == 28 && memcmp(v.ptr, accept_value, 28) == 0);
            REQUIRE(ws_http_has_token(r.headers, r.num_headers, "Upgrade", "websocket"));
            REQUIRE(ws_http_has_token(r.headers, r.num_headers, "Connection", "Upgrade"));
            if (proto.ptr) {
                REQUIRE(in_buf(proto, buf, used));
                REQUIRE(span_ieq(proto, "chat") || span_ieq(proto, "superchat"));
                REQUIRE(ws_http_header(r.headers, r.num_headers, "Sec-WebSocket-Protocol", NULL) == 1);
                /* nothing offered: a chosen subprotocol is refused */
                REQUIRE(ws_http_check_response(&r, key, NULL, NULL, &why2) == WS_ERR_HANDSHAKE);
            } else {
                REQUIRE(proto.len == 0);
                REQUIRE(ws_http_check_response(&r, key, NULL, NULL, NULL) == WS_OK);
            }
            /* another key must not be accepted */
            REQUIRE(ws_http_check_response(&r, "x3JJHMbDL1EzLkh9GBhXDw==", "chat, superchat",
                                           NULL, &why2) == WS_ERR_HANDSHAKE);
        } else {
            REQUIRE(why2 != NULL && *why2 != '\0' && proto.ptr == NULL);
        }
    } else if (rc == WS_AGAIN) {
        REQUIRE(used == (size_t)-1);
    } else {
        REQUIRE(rc == WS_ERR_HANDSHAKE || rc == WS_ERR_TOO_BIG);
        REQUIRE(why != NULL && *why != '\0' && used == (size_t)-1);
    }

    step = size <= 256 ? 1 : size / 64;
    for (k = 0; k < size; k += step) check_prefix(buf, k, rc, used, why);
    if (rc == WS_OK && used > 0) check_prefix(buf, used - 1, rc, used, why);
    /* and a size limit: TOO_BIG exactly when the head does not end within it */
    if (size >= 1) {
        size_t max = (size_t)data[0] * 2, u2 = 0;
        ws_result rc2 = ws_http_parse_response(buf, size, max, &r, &u2, NULL);
        if (rc == WS_OK && used <= max) REQUIRE(rc2 == WS_OK && u2 == used);
        else if (rc == WS_OK || (rc == WS_AGAIN && size >= max)) REQUIRE(rc2 == WS_ERR_TOO_BIG);
        else if (rc2 == WS_OK) REQUIRE(0);
    }
    return 0;
}
