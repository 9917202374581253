/* fuzz_http_request.c - libFuzzer target for the server side of the upgrade:
 * ws_http_parse_request and ws_http_check_request.   make fuzz
 * Input: bytes 0-1 pick max_bytes (byte 0 >= 0x40: no limit, else a big-endian 14-bit
 * limit); the rest is the request head. */
#define WS_IMPLEMENTATION
#define WS_NO_NET
#include "../../ws.h"
#include <string.h>

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

/* s lies inside buf[0..n) */
static int in_buf(ws_span s, const char *buf, size_t n) {
    return s.ptr >= buf && s.len <= n && (size_t)(s.ptr - buf) <= n - s.len;
}

static void check_head(const char *buf, size_t used, const ws_http_request *r) {
    size_t i;
    const char *q;
    REQUIRE(used >= 4 && memcmp(buf + used - 2, "\r\n", 2) == 0);
    REQUIRE(in_buf(r->method, buf, used) && r->method.len > 0 && r->method.ptr == buf);
    REQUIRE(in_buf(r->target, buf, used) && r->target.len > 0);
    q = (const char *)memchr(r->target.ptr, '?', r->target.len);   /* the first '?' starts the query */
    REQUIRE(r->path.len > 0 && r->path.ptr[0] == '/');
    if (r->target.ptr[0] == '/') {   /* origin-form: path [? query] */
        REQUIRE(r->path.ptr == r->target.ptr && r->path.len <= r->target.len);
    } else {   /* absolute-form (RFC 9112 3.2.2): http(s)://authority[/path][?query] */
        REQUIRE(r->target.len >= 8 && (r->target.ptr[0] | 0x20) == 'h');
        REQUIRE(memchr(r->target.ptr, '/', r->target.len) != NULL);
        if (!in_buf(r->path, buf, used))   /* no path in the URI: "/" */
            REQUIRE(r->path.len == 1 && r->path.ptr[0] == '/');
        else
            REQUIRE(r->path.ptr > r->target.ptr && r->path.ptr + r->path.len <= r->target.ptr + r->target.len);
    }
    if (r->query.ptr) {
        REQUIRE(in_buf(r->query, buf, used) && q && r->query.ptr == q + 1);
        REQUIRE(r->query.ptr + r->query.len == r->target.ptr + r->target.len);
        if (in_buf(r->path, buf, used)) REQUIRE(r->path.ptr + r->path.len == q);
    } else {
        REQUIRE(r->query.len == 0 && q == NULL);
        if (in_buf(r->path, buf, used)) REQUIRE(r->path.ptr + r->path.len == r->target.ptr + r->target.len);
    }
    REQUIRE(r->version_minor >= 0 && r->version_minor <= 9);
    REQUIRE(r->num_headers <= WS_MAX_HEADERS);
    for (i = 0; i < r->num_headers; i++) {
        ws_span nm = r->headers[i].name, v = r->headers[i].value;
        REQUIRE(in_buf(nm, buf, used) && in_buf(v, buf, used) && nm.len > 0);
        REQUIRE(nm.ptr[nm.len] == ':' && !memchr(nm.ptr, ':', nm.len));
        REQUIRE(!memchr(v.ptr, '\r', v.len) && !memchr(v.ptr, '\n', v.len));
        if (v.len) {
            REQUIRE(v.ptr[0] != ' ' && v.ptr[0] != '\t');
            REQUIRE(v.ptr[v.len - 1] != ' ' && v.ptr[v.len - 1] != '\t');
        }
    }
}

/* A prefix must agree with the full input: OK means the same head, an error the same
 * error; only AGAIN may turn into something else. */
static void check_prefix(const char *buf, size_t k, size_t max, ws_result full,
                         size_t full_used, const char *full_why) {
    ws_http_request r;
    size_t used = (size_t)-1;
    const char *why = NULL;
    ws_result rc = ws_http_parse_request(buf, k, max, &r, &used, &why);
    if (rc == WS_OK) REQUIRE(full == WS_OK && used == full_used && used <= k);
    else if (rc == WS_AGAIN) REQUIRE(full != WS_OK || k < full_used);
    else REQUIRE(rc == full && why == full_why);
    if (full == WS_OK && k >= full_used) REQUIRE(rc == WS_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ws_http_request r;
    const char *buf, *why = NULL;
    size_t len, max, used = (size_t)-1, k, step;
    ws_result rc;
    if (size < 2) return 0;
    max = data[0] >= 0x40 ? (size_t)-1 : ((size_t)data[0] << 8 | data[1]);
    buf = (const char *)data + 2;
    len = size - 2;

    rc = ws_http_parse_request(buf, len, max, &r, &used, &why);
    if (rc == WS_OK) {
        ws_span key = {NULL, 0};
        int status = 0;
        const char *why2 = NULL;
        REQUIRE(used <= len && used <= max);
        check_head(buf, used, &r);
        if (ws_http_check_request(&r, &key, &status, &why2) == WS_OK) {
            REQUIRE(status == 0 && in_buf(key, buf, used) && key.len == 24);
            /* RFC 9110 9.1: the method token is case-sensitive */
            REQUIRE(r.method.len == 3 && memcmp(r.method.ptr, "GET", 3) == 0);
            REQUIRE(r.version_minor >= 1);
        } else {
            REQUIRE(status == 400 || status == 426);
            /* the documented status for a method other than GET */
            if (r.method.len != 3 || memcmp(r.method.ptr, "GET", 3) != 0) REQUIRE(status == 400);
            REQUIRE(why2 != NULL && *why2 != '\0' && key.ptr == NULL);
        }
    } else if (rc == WS_AGAIN) {
        REQUIRE(len < max && used == (size_t)-1);
    } else {
        REQUIRE(rc == WS_ERR_HANDSHAKE || rc == WS_ERR_TOO_BIG);
        REQUIRE(why != NULL && *why != '\0' && used == (size_t)-1);
    }

    /* prefixes: every one for short inputs, about 64 spread out (plus the edges) otherwise */
    step = len <= 256 ? 1 : len / 64;
    for (k = 0; k < len; k += step) check_prefix(buf, k, max, rc, used, why);
    if (rc == WS_OK && used > 0) {
        check_prefix(buf, used - 1, max, rc, used, why);
        check_prefix(buf, used, max, rc, used, why);
    }
    return 0;
}
