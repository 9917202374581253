/* ws.h - v0.1.0 - WebSocket (RFC 6455) client + server in one file - MIT or public domain
 *   In exactly one .c file:  #define WS_IMPLEMENTATION  then  #include "ws.h"
 *   CONTENTS (search ">>tag"): >>api >>config >>random >>sha1 >>base64 >>utf8 >>frame >>close
 *                              >>url >>http
 *   OPTIONS, QUICK START, LIMITS, LICENSE -> end of file */
#if defined(WS_IMPLEMENTATION) && !defined(_WIN32) && !defined(__APPLE__) && \
    !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE) && !defined(WS_NO_FEATURE_MACROS)
/* getaddrinfo, poll, syscall ... under -std=c99: must precede the first system header, so
 * include ws.h first in the .c file that defines WS_IMPLEMENTATION (or build with -std=gnu99
 * or -D_DEFAULT_SOURCE). */
#  define _DEFAULT_SOURCE 1
#  define _POSIX_C_SOURCE 200809L
#endif
#ifndef WS_H_INCLUDED /* ==== >>api ==== declared in the implementation's order ==== */
#define WS_H_INCLUDED
#include <stddef.h>
#include <stdint.h>

#if !defined(WS_API) && defined(WS_STATIC)
#  define WS_API static               /* a private copy per .c file (stb's STBIDEF) */
#elif !defined(WS_API)
#  define WS_API extern
#endif
#ifndef WS_MAX_HEADERS                /* header lines kept by the HTTP parsers */
#  define WS_MAX_HEADERS 32
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- results: every function that can fail returns one of these ---- */
typedef enum ws_result {
    WS_OK = 0,
    WS_AGAIN = -1,          /* not an error: need more input, or would block */
    WS_ERR_ARG = -2,        /* invalid argument (or malformed input to a pure helper) */
    WS_ERR_NOMEM = -3,      /* allocation failed */
    WS_ERR_PROTOCOL = -4,   /* peer broke RFC 6455: close 1002 */
    WS_ERR_UTF8 = -5,       /* invalid UTF-8 in text or close reason: close 1007 */
    WS_ERR_TOO_BIG = -6,    /* frame/message/header over a limit: close 1009, HTTP 431 */
    WS_ERR_HANDSHAKE = -7,  /* HTTP upgrade failed or was refused */
    WS_ERR_IO = -8,         /* socket error or peer vanished */
    WS_ERR_TLS = -9,        /* TLS failure, or TLS not compiled in */
    WS_ERR_CLOSED = -10,    /* connection is closing or closed */
    WS_ERR_URL = -11,       /* not a valid ws:// or wss:// URL */
    WS_ERR_DNS = -12,       /* host name did not resolve */
    WS_ERR_CONNECT = -13,   /* TCP connect failed (refused, unreachable) */
    WS_ERR_TIMEOUT = -14,   /* connect, handshake, pong or close timed out */
    WS_ERR_FULL = -15,      /* send queue would exceed its limit; nothing was queued */
    WS_ERR_LIMIT = -16,     /* connection limit reached */
    WS_ERR_STATE = -17      /* call not valid in the connection's current state */
} ws_result;
WS_API const char *ws_result_str(ws_result r);   /* static string, never NULL */

/* ---- >>random: the platform's CSPRNG (getrandom, arc4random, BCryptGenRandom).
 * Firmware: #define WS_RANDOM(buf, len) to an expression of your own that fills buf and is
 * 0 on success. Returns WS_OK or WS_ERR_IO. Masks must be unpredictable (RFC 6455 10.3). */
WS_API ws_result ws_random(void *buf, size_t len);

/* ---- >>sha1: FIPS 180-4 SHA-1, incremental ---- */
typedef struct ws_sha1 { uint32_t h[5]; uint64_t len; uint8_t buf[64]; } ws_sha1;
WS_API void ws_sha1_init(ws_sha1 *s);
WS_API void ws_sha1_update(ws_sha1 *s, const void *data, size_t len);
WS_API void ws_sha1_final(ws_sha1 *s, uint8_t digest[20]);
WS_API void ws_sha1_sum(const void *data, size_t len, uint8_t digest[20]);   /* one shot */

/* ---- >>base64: RFC 4648 section 4 (standard alphabet, '=' padding) ---- */
/* Encodes n bytes into out and NUL-terminates. cap must be >= 4*ceil(n/3) + 1.
 * *out_len (may be NULL) gets the length without the NUL. Returns WS_OK or WS_ERR_ARG. */
WS_API ws_result ws_base64_encode(const void *in, size_t n, char *out, size_t cap, size_t *out_len);
/* Strict decode: length a multiple of 4, padding only at the end, no whitespace, unused bits
 * zero (so each byte string has exactly one encoding). Returns WS_OK, or WS_ERR_ARG for
 * malformed input or cap too small. */
WS_API ws_result ws_base64_decode(const char *in, size_t n, void *out, size_t cap, size_t *out_len);

/* ---- handshake keys (RFC 6455 section 4) ---- */
/* out = base64(sha1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), 28 chars + NUL. */
WS_API void ws_accept_key(const char *key, size_t key_len, char out[29]);
/* out = base64 of 16 random bytes (from ws_random or your own), 24 chars + NUL. */
WS_API void ws_client_key(const uint8_t random16[16], char out[25]);

/* ---- >>utf8: incremental validation (RFC 3629: no overlongs, surrogates, > U+10FFFF) ---- */
typedef struct ws_utf8 { uint8_t need, lo, hi; } ws_utf8;  /* zero = at a character boundary */
/* Validates n more bytes. WS_OK: valid so far (possibly inside a character; see complete).
 * WS_ERR_UTF8: *bad_at (may be NULL) = offset in p of the first byte that cannot be part of
 * any valid text; the state is then undefined until reset to zero. */
WS_API ws_result ws_utf8_feed(ws_utf8 *s, const void *p, size_t n, size_t *bad_at);
WS_API int       ws_utf8_complete(const ws_utf8 *s);          /* 1 = not inside a character */
WS_API ws_result ws_utf8_validate(const void *p, size_t n);   /* whole text: WS_OK or WS_ERR_UTF8 */

/* ---- >>frame: RFC 6455 section 5 frame header codec ---- */
enum {
    WS_OP_CONT = 0x0, WS_OP_TEXT = 0x1, WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8, WS_OP_PING = 0x9, WS_OP_PONG = 0xA
};
enum {                         /* ws_frame.rsv bits */
    WS_RSV1 = 4, WS_RSV2 = 2, WS_RSV3 = 1
};
enum {                         /* ws_frame_parse flags */
    WS_PARSE_MASKED = 0x100,   /* we are a server: every frame must be masked */
    WS_PARSE_UNMASKED = 0x200, /* we are a client: no frame may be masked */
    WS_PARSE_RSV_MASK = 0x7    /* low bits: the RSV bits an extension allows (WS_RSV1...) */
};
typedef struct ws_frame {
    uint8_t  fin;              /* 1 = last frame of the message */
    uint8_t  rsv;              /* WS_RSV1 | WS_RSV2 | WS_RSV3 */
    uint8_t  opcode;           /* WS_OP_... */
    uint8_t  masked;           /* 1 = mask[] applies to the payload */
    uint8_t  mask[4];
    size_t   header_len;       /* 2..14 bytes */
    uint64_t payload_len;      /* < 2^63 */
} ws_frame;
/* Decodes the header at buf. Returns WS_OK (f filled, payload starts at buf + f->header_len),
 * WS_AGAIN (*need, may be NULL, = the least number of further bytes to try again with), or
 * WS_ERR_PROTOCOL (*why, may be NULL, = static reason) for: a reserved opcode, RSV bits not in
 * flags, a fragmented or >125-byte control frame, a non-minimal length, a 64-bit length with
 * the top bit set, or masking that contradicts WS_PARSE_MASKED / WS_PARSE_UNMASKED.
 * Errors are reported as soon as the bytes that show them are present. */
WS_API ws_result ws_frame_parse(const uint8_t *buf, size_t len, unsigned flags, ws_frame *f,
                                size_t *need, const char **why);
/* Encodes f's fin, rsv, opcode, masked, mask and payload_len (shortest length form) into out
 * and sets f->header_len. Anything encodable is allowed (custom frames are the caller's
 * business); WS_ERR_ARG for opcode > 15, rsv > 7 or payload_len >= 2^63. */
WS_API ws_result ws_frame_encode(ws_frame *f, uint8_t out[14]);
/* XORs p[0..n) with mask, as if p started at byte `offset` of the payload. Its own inverse. */
WS_API void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset);

/* ---- >>close: close codes (RFC 6455 7.4) ---- */
enum {
    WS_CLOSE_NORMAL = 1000, WS_CLOSE_GOING_AWAY = 1001, WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003, WS_CLOSE_NO_STATUS = 1005, WS_CLOSE_ABNORMAL = 1006,
    WS_CLOSE_INVALID_DATA = 1007, WS_CLOSE_POLICY = 1008, WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_EXTENSION = 1010, WS_CLOSE_INTERNAL = 1011, WS_CLOSE_RESTART = 1012,
    WS_CLOSE_TRY_AGAIN = 1013, WS_CLOSE_BAD_GATEWAY = 1014, WS_CLOSE_TLS = 1015
};
/* 1 if code may be sent in a close frame: 1000-1003, 1007-1014, 3000-4999. */
WS_API int ws_close_code_valid(unsigned code);
/* Parses a close frame payload. Empty: *code = 1005, reason "". One byte, a code not valid on
 * the wire: WS_ERR_PROTOCOL. A reason that is not UTF-8: WS_ERR_UTF8. The reason is
 * borrowed from p and is not NUL-terminated. */
WS_API ws_result ws_close_parse(const uint8_t *p, size_t n, uint16_t *code,
                                const char **reason, size_t *reason_len);
/* The close code that tells the peer about a local error: PROTOCOL 1002, UTF8 1007,
 * TOO_BIG 1009, anything else 1011 (WS_OK: 1000). */
WS_API uint16_t ws_result_close_code(ws_result r);

/* ---- >>url: ws:// and wss:// (RFC 6455 3) ---- */
typedef struct ws_span { const char *ptr; size_t len; } ws_span;  /* borrowed, not NUL-terminated */
typedef struct ws_url {
    int      secure;           /* 1 for wss:// */
    ws_span  host;             /* without the brackets of an IPv6 literal */
    int      ipv6;             /* 1 if host was a [bracketed] literal */
    uint16_t port;             /* given, or 80 / 443 */
    int      port_given;       /* 1 if the URL named a port */
    ws_span  path;             /* "" when the URL has none: send "/" */
    ws_span  query;            /* after '?', without it; ptr NULL when there is no '?' */
} ws_url;
/* Returns WS_OK or WS_ERR_URL (*why, may be NULL, says what is wrong): another scheme, user
 * info, an empty or invalid host, a bad port, a fragment, spaces or control characters. */
WS_API ws_result ws_url_parse(const char *url, size_t len, ws_url *u, const char **why);

/* ---- >>http: HTTP/1.1 upgrade, both sides (RFC 6455 4, RFC 9110/9112) ---- */
typedef struct ws_header { ws_span name, value; } ws_header;
typedef struct ws_http_request {
    ws_span   method, target;  /* target = path [? query] as sent */
    ws_span   path, query;     /* query: ptr NULL when there is no '?' */
    int       version_minor;   /* HTTP/1.x */
    size_t    num_headers;
    ws_header headers[WS_MAX_HEADERS];   /* in order, repeats kept, values trimmed */
} ws_http_request;
typedef struct ws_http_response {
    int       status, version_minor;
    ws_span   reason;
    size_t    num_headers;
    ws_header headers[WS_MAX_HEADERS];
} ws_http_response;

/* Parse an HTTP/1.x request head from buf[0..len). Spans point into buf.
 * WS_OK: *used = bytes of the head, through the empty line.
 * WS_AGAIN: valid so far but incomplete (and under max_bytes).
 * WS_ERR_TOO_BIG: no end within max_bytes, or more than WS_MAX_HEADERS lines (send 431).
 * WS_ERR_HANDSHAKE: malformed, seen as early as possible (send 400); *why (may be NULL). */
WS_API ws_result ws_http_parse_request(const char *buf, size_t len, size_t max_bytes,
                                       ws_http_request *req, size_t *used, const char **why);
/* Same for a response head (the client side of the upgrade). */
WS_API ws_result ws_http_parse_response(const char *buf, size_t len, size_t max_bytes,
                                        ws_http_response *res, size_t *used, const char **why);
/* Header lookup, case-insensitive. Returns how many headers have that name; *value (may be
 * NULL) gets the first. */
WS_API size_t ws_http_header(const ws_header *h, size_t n, const char *name, ws_span *value);
/* 1 if any header called name has token in its comma-separated list (case-insensitive). */
WS_API int ws_http_has_token(const ws_header *h, size_t n, const char *name, const char *token);
/* 1 if token is in the comma-separated list (case-insensitive, OWS trimmed). */
WS_API int ws_list_has_token(ws_span list, const char *token, size_t token_len);

/* Server side: is req a valid WebSocket upgrade? WS_OK, or WS_ERR_HANDSHAKE with *status
 * (400 Bad Request, also for a method other than GET; 426 Upgrade Required for a version
 * other than 13, or a plain request with no Upgrade header) and *why. *key gets the
 * Sec-WebSocket-Key (validated: base64 of 16 bytes). */
WS_API ws_result ws_http_check_request(const ws_http_request *req, ws_span *key, int *status,
                                       const char **why);
/* Client side: is res a valid answer to our upgrade with this key (24 chars) and the offered
 * subprotocols (comma list or NULL)? WS_OK with *protocol (ptr NULL if none) or
 * WS_ERR_HANDSHAKE with *why: status not 101, Upgrade/Connection missing, wrong accept,
 * a subprotocol we did not offer, an extension we did not offer. */
WS_API ws_result ws_http_check_response(const ws_http_response *res, const char *key,
                                        const char *offered_protocols, ws_span *protocol,
                                        const char **why);

/* Builders write into out[0..cap) with a NUL, set *len (without NUL) and return WS_OK, or
 * WS_ERR_ARG when cap is too small or an argument is invalid (CR/LF in a value, a malformed
 * extra header). extra_headers: NULL or "Name: value" lines separated by "\r\n" or "\n". */
WS_API ws_result ws_http_build_request(char *out, size_t cap, const ws_url *u, const char *key,
                                       const char *origin, const char *protocols,
                                       const char *extra_headers, size_t *len);
/* 101 Switching Protocols with the accept value of key; protocol may be NULL. */
WS_API ws_result ws_http_build_accept(char *out, size_t cap, const char *key, size_t key_len,
                                      const char *protocol, const char *extra_headers,
                                      size_t *len);
/* An error response with Connection: close and a short text body (426 adds
 * Sec-WebSocket-Version: 13). status must be 100..999. */
WS_API ws_result ws_http_build_error(char *out, size_t cap, int status, const char *body,
                                     size_t *len);
WS_API const char *ws_http_status_text(int status);   /* "Bad Request"...; "" if unknown */

#ifdef __cplusplus
}
#endif
#endif /* WS_H_INCLUDED */

#if defined(WS_IMPLEMENTATION) && !defined(WS__IMPL_DONE)
#define WS__IMPL_DONE
/* ==== >>config ==== allocation, assertions, internal helpers ==== */
#include <string.h>
#if defined(WS_MALLOC) != defined(WS_FREE) || defined(WS_MALLOC) != defined(WS_REALLOC)
#  error "ws.h: define all of WS_MALLOC, WS_REALLOC, WS_FREE, or none"
#endif
#ifndef WS_MALLOC
#  include <stdlib.h>
#  define WS_MALLOC(sz, u)     malloc(sz)
#  define WS_REALLOC(p, sz, u) realloc(p, sz)
#  define WS_FREE(p, u)        free(p)
#endif
#ifndef WS_ASSERT
#  include <assert.h>
#  define WS_ASSERT(x) assert(x)
#endif
#define WS__MIN(a, b) ((a) < (b) ? (a) : (b))
#define WS__MAX(a, b) ((a) > (b) ? (a) : (b))

#ifdef __cplusplus
extern "C" {
#endif

WS_API const char *ws_result_str(ws_result r) {
    switch (r) {
    case WS_OK:            return "ok";
    case WS_AGAIN:         return "in progress (would block or needs more input)";
    case WS_ERR_ARG:       return "invalid argument";
    case WS_ERR_NOMEM:     return "out of memory";
    case WS_ERR_PROTOCOL:  return "WebSocket protocol error";
    case WS_ERR_UTF8:      return "invalid UTF-8 in text";
    case WS_ERR_TOO_BIG:   return "over a size limit";
    case WS_ERR_HANDSHAKE: return "WebSocket handshake failed";
    case WS_ERR_IO:        return "I/O error";
    case WS_ERR_TLS:       return "TLS error";
    case WS_ERR_CLOSED:    return "connection closed";
    case WS_ERR_URL:       return "invalid ws:// or wss:// URL";
    case WS_ERR_DNS:       return "host name lookup failed";
    case WS_ERR_CONNECT:   return "TCP connect failed";
    case WS_ERR_TIMEOUT:   return "timed out";
    case WS_ERR_FULL:      return "send queue full";
    case WS_ERR_LIMIT:     return "connection limit reached";
    case WS_ERR_STATE:     return "not valid in the connection's state";
    }
    return "unknown ws_result";
}

static int ws__lower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }
static int ws__span_ieq(ws_span s, const char *z, size_t n) {
    size_t i;
    if (s.len != n) return 0;
    for (i = 0; i < n; i++)
        if (ws__lower((unsigned char)s.ptr[i]) != ws__lower((unsigned char)z[i])) return 0;
    return 1;
}

/* ==== >>random ==== the platform's CSPRNG; WS_RANDOM(buf, len) replaces it ==== */
#if defined(WS_RANDOM)
WS_API ws_result ws_random(void *buf, size_t len) {
    return (WS_RANDOM(buf, len)) == 0 ? WS_OK : WS_ERR_IO;
}
#elif defined(_WIN32)
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  include <windows.h>
#  include <bcrypt.h>
#  ifdef _MSC_VER
#    pragma comment(lib, "bcrypt")
#  endif
WS_API ws_result ws_random(void *buf, size_t len) {
    while (len > 0) {   /* BCryptGenRandom takes a ULONG length */
        ULONG chunk = len > 0x10000000u ? 0x10000000u : (ULONG)len;
        if (BCryptGenRandom(NULL, (PUCHAR)buf, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return WS_ERR_IO;
        buf = (unsigned char *)buf + chunk;
        len -= chunk;
    }
    return WS_OK;
}
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
      defined(__NetBSD__) || defined(__DragonFly__)
#  include <stdlib.h>
WS_API ws_result ws_random(void *buf, size_t len) { arc4random_buf(buf, len); return WS_OK; }
#elif defined(__linux__) || defined(__unix__)
#  include <errno.h>
#  include <fcntl.h>
#  include <unistd.h>
#  if defined(__linux__)
#    include <sys/syscall.h>
#  endif
WS_API ws_result ws_random(void *buf, size_t len) {
    unsigned char *p = (unsigned char *)buf;
    int fd;
#  if defined(__linux__) && defined(SYS_getrandom)
    while (len > 0) {       /* getrandom(2) via syscall: no _GNU_SOURCE or glibc 2.25 needed */
        long r = syscall(SYS_getrandom, p, len, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            break;          /* ENOSYS on old kernels: fall back to /dev/urandom */
        }
        p += r;
        len -= (size_t)r;
    }
    if (len == 0) return WS_OK;
#  endif
    fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0) return WS_ERR_IO;
    while (len > 0) {
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { close(fd); return WS_ERR_IO; }
        p += r;
        len -= (size_t)r;
    }
    close(fd);
    return WS_OK;
}
#else
#  error "ws.h: no known random source on this platform; #define WS_RANDOM(buf, len)"
#endif

/* ==== >>sha1 ==== FIPS 180-4 section 6.1. Pure: no I/O, no allocation. ==== */
static uint32_t ws__rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
static uint32_t ws__be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void ws__sha1_block(uint32_t h[5], const uint8_t *p) {
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f, k, t;
    int i;
    for (i = 0; i < 16; i++) w[i] = ws__be32(p + 4 * i);
    for (i = 16; i < 80; i++) w[i] = ws__rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (i = 0; i < 80; i++) {
        if (i < 20)      { f = (b & c) | (~b & d);          k = 0x5A827999u; }
        else if (i < 40) { f = b ^ c ^ d;                   k = 0x6ED9EBA1u; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDCu; }
        else             { f = b ^ c ^ d;                   k = 0xCA62C1D6u; }
        t = ws__rol(a, 5) + f + e + k + w[i];
        e = d; d = c; c = ws__rol(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

WS_API void ws_sha1_init(ws_sha1 *s) {
    s->h[0] = 0x67452301u; s->h[1] = 0xEFCDAB89u; s->h[2] = 0x98BADCFEu;
    s->h[3] = 0x10325476u; s->h[4] = 0xC3D2E1F0u;
    s->len = 0;
}

WS_API void ws_sha1_update(ws_sha1 *s, const void *data, size_t len) {
    const uint8_t *p = (const uint8_t *)data;
    size_t used = (size_t)(s->len & 63);
    s->len += len;
    if (used) {
        size_t take = WS__MIN(64 - used, len);
        memcpy(s->buf + used, p, take);
        p += take; len -= take; used += take;
        if (used < 64) return;
        ws__sha1_block(s->h, s->buf);
    }
    for (; len >= 64; p += 64, len -= 64) ws__sha1_block(s->h, p);
    if (len) memcpy(s->buf, p, len);
}

WS_API void ws_sha1_final(ws_sha1 *s, uint8_t digest[20]) {
    uint64_t bits = s->len * 8;
    size_t used = (size_t)(s->len & 63);
    int i;
    s->buf[used++] = 0x80;
    if (used > 56) {
        memset(s->buf + used, 0, 64 - used);
        ws__sha1_block(s->h, s->buf);
        used = 0;
    }
    memset(s->buf + used, 0, 56 - used);
    for (i = 0; i < 8; i++) s->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    ws__sha1_block(s->h, s->buf);
    for (i = 0; i < 20; i++) digest[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

WS_API void ws_sha1_sum(const void *data, size_t len, uint8_t digest[20]) {
    ws_sha1 s;
    ws_sha1_init(&s);
    ws_sha1_update(&s, data, len);
    ws_sha1_final(&s, digest);
}

/* ==== >>base64 ==== RFC 4648 section 4. Pure: no I/O, no allocation. ==== */
static const char ws__b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

WS_API ws_result ws_base64_encode(const void *in, size_t n, char *out, size_t cap,
                                  size_t *out_len) {
    const uint8_t *p = (const uint8_t *)in;
    size_t need, o = 0, i;
    if (n > ((size_t)-1 / 4) * 3 - 3 || (!in && n) || !out) return WS_ERR_ARG;
    need = (n + 2) / 3 * 4;
    if (cap < need + 1) return WS_ERR_ARG;
    for (i = 0; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
        out[o++] = ws__b64[v >> 18];        out[o++] = ws__b64[(v >> 12) & 63];
        out[o++] = ws__b64[(v >> 6) & 63];  out[o++] = ws__b64[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = ws__b64[v >> 18]; out[o++] = ws__b64[(v >> 12) & 63];
        out[o++] = '='; out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8);
        out[o++] = ws__b64[v >> 18]; out[o++] = ws__b64[(v >> 12) & 63];
        out[o++] = ws__b64[(v >> 6) & 63]; out[o++] = '=';
    }
    out[o] = '\0';
    if (out_len) *out_len = o;
    return WS_OK;
}

static int ws__b64val(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

WS_API ws_result ws_base64_decode(const char *in, size_t n, void *out, size_t cap,
                                  size_t *out_len) {
    uint8_t *o = (uint8_t *)out;
    size_t i, olen = 0, pad = 0;
    if (n % 4 || (!in && n)) return WS_ERR_ARG;
    if (n >= 1 && in[n - 1] == '=') pad++;
    if (n >= 2 && in[n - 2] == '=') pad++;
    if (n / 4 * 3 - pad > cap || (!out && n)) return WS_ERR_ARG;
    for (i = 0; i < n; i += 4) {
        int last = i + 4 == n, v[4], k;
        uint32_t w;
        for (k = 0; k < 4; k++) {
            v[k] = ws__b64val((unsigned char)in[i + (size_t)k]);
            if (v[k] < 0) {   /* '=' is allowed only as the final padding */
                if (!(last && in[i + (size_t)k] == '=' && k >= 4 - (int)pad)) return WS_ERR_ARG;
                v[k] = 0;
            }
        }
        w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) | (uint32_t)v[3];
        o[olen++] = (uint8_t)(w >> 16);
        if (last && pad == 2) { if (w & 0xFFFF) return WS_ERR_ARG; break; }
        o[olen++] = (uint8_t)(w >> 8);
        if (last && pad == 1) { if (w & 0xFF) return WS_ERR_ARG; break; }
        o[olen++] = (uint8_t)w;
    }
    if (out_len) *out_len = olen;
    return WS_OK;
}

WS_API void ws_accept_key(const char *key, size_t key_len, char out[29]) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint8_t digest[20];
    ws_sha1 s;
    ws_sha1_init(&s);
    ws_sha1_update(&s, key, key_len);
    ws_sha1_update(&s, guid, sizeof guid - 1);
    ws_sha1_final(&s, digest);
    ws_base64_encode(digest, 20, out, 29, NULL);
}

WS_API void ws_client_key(const uint8_t random16[16], char out[25]) {
    ws_base64_encode(random16, 16, out, 25, NULL);
}

/* ==== >>utf8 ==== RFC 3629 validation, incremental, a word at a time over ASCII ==== */
/* State: need = continuation bytes still expected; the next one must lie in [lo, hi]. The
 * narrowed first-continuation ranges (E0: A0-BF, ED: 80-9F, F0: 90-BF, F4: 80-8F) are what
 * rule out overlongs, surrogates and code points above U+10FFFF at the earliest byte. */
WS_API ws_result ws_utf8_feed(ws_utf8 *s, const void *data, size_t n, size_t *bad_at) {
    const uint8_t *p = (const uint8_t *)data;
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        if (s->need) {
            if (b < s->lo || b > s->hi) goto bad;
            s->need--; s->lo = 0x80; s->hi = 0xBF;
            i++;
            continue;
        }
        if (b < 0x80) {            /* ASCII run: skip 8 bytes at a time */
            i++;
            while (n - i >= 8) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (w & (((uint64_t)0x80808080 << 32) | 0x80808080)) break;
                i += 8;
            }
            continue;
        }
        s->lo = 0x80; s->hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) s->need = 1;
        else if (b >= 0xE0 && b <= 0xEF) {
            s->need = 2;
            if (b == 0xE0) s->lo = 0xA0;        /* overlong */
            else if (b == 0xED) s->hi = 0x9F;   /* surrogates D800-DFFF */
        } else if (b >= 0xF0 && b <= 0xF4) {
            s->need = 3;
            if (b == 0xF0) s->lo = 0x90;        /* overlong */
            else if (b == 0xF4) s->hi = 0x8F;   /* above U+10FFFF */
        } else goto bad;                         /* 80-C1 (stray/overlong), F5-FF */
        i++;
    }
    return WS_OK;
bad:
    if (bad_at) *bad_at = i;
    return WS_ERR_UTF8;
}

WS_API int ws_utf8_complete(const ws_utf8 *s) { return s->need == 0; }

WS_API ws_result ws_utf8_validate(const void *p, size_t n) {
    ws_utf8 s = {0, 0, 0};
    if (ws_utf8_feed(&s, p, n, NULL) != WS_OK || s.need) return WS_ERR_UTF8;
    return WS_OK;
}

/* ==== >>frame ==== Frame codec, RFC 6455 section 5. Pure: no I/O, no allocation. ==== */
WS_API ws_result ws_frame_parse(const uint8_t *buf, size_t len, unsigned flags, ws_frame *f,
                                size_t *need, const char **why) {
    const char *err;
    size_t hlen, i;
    uint64_t plen;
    unsigned len7;
    if (len < 1) { if (need) *need = 2; return WS_AGAIN; }
    f->fin = (uint8_t)(buf[0] >> 7);
    f->rsv = (uint8_t)((buf[0] >> 4) & 7);
    f->opcode = (uint8_t)(buf[0] & 15);
    /* RFC 6455 5.2: opcodes 3-7 and B-F are reserved; the connection MUST be failed */
    if ((f->opcode >= 3 && f->opcode <= 7) || f->opcode >= 0xB) { err = "reserved opcode"; goto bad; }
    /* 5.2: RSV bits MUST be 0 unless an extension defines them */
    if (f->rsv & ~(flags & WS_PARSE_RSV_MASK)) { err = "RSV bit set without an extension"; goto bad; }
    /* 5.5: control frames MUST NOT be fragmented */
    if ((f->opcode & 8) && !f->fin) { err = "fragmented control frame"; goto bad; }
    if (len < 2) { if (need) *need = 1; return WS_AGAIN; }
    f->masked = (uint8_t)(buf[1] >> 7);
    len7 = buf[1] & 127u;
    /* 5.5: control frames MUST have a payload of 125 bytes or less */
    if ((f->opcode & 8) && len7 > 125) { err = "control frame payload over 125 bytes"; goto bad; }
    /* 5.1: a server MUST fail on unmasked frames, a client on masked ones */
    if ((flags & WS_PARSE_MASKED) && !f->masked) { err = "client frame not masked"; goto bad; }
    if ((flags & WS_PARSE_UNMASKED) && f->masked) { err = "server frame masked"; goto bad; }
    hlen = (size_t)2 + (len7 == 126 ? 2u : len7 == 127 ? 8u : 0u) + (f->masked ? 4u : 0u);
    /* 5.2: a bad 64-bit length shows in its leading bytes: report it before all 8 arrive */
    if (len7 == 127 && len > 2 && (buf[2] >> 7)) { err = "64-bit length with the top bit set"; goto bad; }
    if (len7 == 127 && len >= 8 && !(buf[2] | buf[3] | buf[4] | buf[5] | buf[6] | buf[7])) {
        err = "non-minimal 64-bit length"; goto bad;   /* < 65536 whatever the last two are */
    }
    if (len < hlen - (f->masked ? 4 : 0)) {
        if (need) *need = hlen - len;
        return WS_AGAIN;
    }
    plen = len7;
    if (len7 == 126) {
        plen = ((uint64_t)buf[2] << 8) | buf[3];
        /* 5.2: "the minimal number of bytes MUST be used to encode the length" */
        if (plen < 126) { err = "non-minimal 16-bit length"; goto bad; }
    } else if (len7 == 127) {
        plen = 0;
        for (i = 0; i < 8; i++) plen = (plen << 8) | buf[2 + i];   /* checked above */
    }
    if (len < hlen) { if (need) *need = hlen - len; return WS_AGAIN; }
    if (f->masked) memcpy(f->mask, buf + hlen - 4, 4);
    else memset(f->mask, 0, 4);
    f->header_len = hlen;
    f->payload_len = plen;
    return WS_OK;
bad:
    if (why) *why = err;
    return WS_ERR_PROTOCOL;
}

WS_API ws_result ws_frame_encode(ws_frame *f, uint8_t out[14]) {
    size_t n = 2;
    int i;
    if (f->opcode > 15 || f->rsv > 7 || (f->payload_len >> 63)) return WS_ERR_ARG;
    out[0] = (uint8_t)((f->fin ? 0x80 : 0) | (f->rsv << 4) | f->opcode);
    out[1] = (uint8_t)(f->masked ? 0x80 : 0);
    if (f->payload_len < 126) {
        out[1] |= (uint8_t)f->payload_len;
    } else if (f->payload_len <= 0xFFFF) {
        out[1] |= 126;
        out[2] = (uint8_t)(f->payload_len >> 8);
        out[3] = (uint8_t)f->payload_len;
        n = 4;
    } else {
        out[1] |= 127;
        for (i = 0; i < 8; i++) out[2 + i] = (uint8_t)(f->payload_len >> (56 - 8 * i));
        n = 10;
    }
    if (f->masked) { memcpy(out + n, f->mask, 4); n += 4; }
    f->header_len = n;
    return WS_OK;
}

WS_API void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset) {
    uint8_t m[8];
    size_t i = 0, k;
    uint64_t w, mw;
    unsigned o = (unsigned)(offset & 3);
    if (!n) return;
    for (k = 0; k < 8; k++) m[k] = mask[(o + k) & 3];
    memcpy(&mw, m, 8);            /* the mask as it lines up with p[0..8) */
    for (; i + 8 <= n; i += 8) {  /* memcpy: unaligned-safe, compiles to plain loads */
        memcpy(&w, p + i, 8);
        w ^= mw;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++) p[i] ^= m[i & 7];
}

/* ==== >>close ==== close codes and payloads, RFC 6455 5.5.1 and 7.4 ==== */
WS_API int ws_close_code_valid(unsigned code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

WS_API ws_result ws_close_parse(const uint8_t *p, size_t n, uint16_t *code,
                                const char **reason, size_t *reason_len) {
    *reason = "";
    *reason_len = 0;
    if (n == 0) { *code = WS_CLOSE_NO_STATUS; return WS_OK; }
    if (n == 1) return WS_ERR_PROTOCOL;          /* 5.5.1: a code is two bytes */
    *code = (uint16_t)((p[0] << 8) | p[1]);
    if (!ws_close_code_valid(*code)) return WS_ERR_PROTOCOL;
    if (ws_utf8_validate(p + 2, n - 2) != WS_OK) return WS_ERR_UTF8;
    *reason = (const char *)p + 2;
    *reason_len = n - 2;
    return WS_OK;
}

WS_API uint16_t ws_result_close_code(ws_result r) {
    switch (r) {
    case WS_OK:           return WS_CLOSE_NORMAL;
    case WS_ERR_PROTOCOL: return WS_CLOSE_PROTOCOL;
    case WS_ERR_UTF8:     return WS_CLOSE_INVALID_DATA;
    case WS_ERR_TOO_BIG:  return WS_CLOSE_TOO_BIG;
    default:              return WS_CLOSE_INTERNAL;
    }
}

/* ==== >>url ==== ws:// and wss:// URLs, RFC 6455 3 and RFC 3986. Pure. ==== */
static ws_span ws__span(const char *p, size_t n) { ws_span s; s.ptr = p; s.len = n; return s; }
static int ws__is_alnum(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
static int ws__is_hex(int c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

WS_API ws_result ws_url_parse(const char *url, size_t len, ws_url *u, const char **why) {
    const char *p, *end, *hs, *he, *auth_end, *q, *err;
    unsigned long port = 0;
    size_t i;
    memset(u, 0, sizeof *u);
    if (!url) { err = "no URL"; goto bad; }
    p = url; end = url + len;
    for (i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7F) {
            err = "space or control character in URL"; goto bad;
        }
    if (len >= 5 && ws__span_ieq(ws__span(p, 5), "ws://", 5)) p += 5;
    else if (len >= 6 && ws__span_ieq(ws__span(p, 6), "wss://", 6)) { u->secure = 1; p += 6; }
    else { err = "scheme is not ws:// or wss://"; goto bad; }
    for (auth_end = p; auth_end < end && !strchr("/?#", *auth_end); auth_end++)
        if (*auth_end == '@') { err = "user info (user@host) is not supported"; goto bad; }
    q = p;
    if (q < auth_end && *q == '[') {                /* RFC 3986 3.2.2 IP-literal */
        hs = ++q;
        while (q < auth_end && *q != ']') {
            if (!ws__is_hex(*q) && *q != ':' && *q != '.') { err = "invalid IPv6 literal"; goto bad; }
            q++;
        }
        if (q == auth_end) { err = "IPv6 literal without ']'"; goto bad; }
        he = q++;
        if (he == hs || !memchr(hs, ':', (size_t)(he - hs))) { err = "invalid IPv6 literal"; goto bad; }
        u->ipv6 = 1;
    } else {
        hs = q;
        while (q < auth_end && *q != ':') {
            if (!ws__is_alnum(*q) && !strchr("-._~!$&'()*+,;=", *q)) {
                err = "invalid character in host"; goto bad;
            }
            q++;
        }
        he = q;
    }
    if (he == hs) { err = "empty host"; goto bad; }
    u->host = ws__span(hs, (size_t)(he - hs));
    if (q < auth_end) {
        if (*q != ':') { err = "junk after the host"; goto bad; }
        if (++q == auth_end) { err = "empty port"; goto bad; }
        for (; q < auth_end; q++) {
            if (*q < '0' || *q > '9') { err = "port is not a number"; goto bad; }
            port = port * 10 + (unsigned long)(*q - '0');
            if (port > 65535) { err = "port out of range"; goto bad; }
        }
        if (port == 0) { err = "port 0"; goto bad; }
        u->port_given = 1;
    } else {
        port = u->secure ? 443 : 80;
    }
    u->port = (uint16_t)port;
    p = auth_end;
    for (q = p; q < end && *q != '?' && *q != '#'; q++) {}
    u->path = ws__span(p, (size_t)(q - p));
    if (q < end && *q == '?') {
        p = ++q;
        while (q < end && *q != '#') q++;
        u->query = ws__span(p, (size_t)(q - p));
    }
    /* RFC 6455 3: "Fragment identifiers are meaningless ... MUST NOT be used" */
    if (q < end) { err = "fragment (#...) in a WebSocket URL"; goto bad; }
    return WS_OK;
bad:
    if (why) *why = err;
    return WS_ERR_URL;
}

/* ==== >>http ==== HTTP/1.1 upgrade: parse and build, both sides. Pure. ==== */
static int ws__is_tchar(int c) {   /* RFC 9110 5.6.2 token characters */
    return ws__is_alnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Header lines from buf[pos], through the empty line. */
static ws_result ws__http_headers(const char *buf, size_t len, size_t pos, ws_header *h,
                                  size_t *nh, size_t *used, const char **why) {
    size_t n = 0, ns, ne, vs, ve;
    for (;;) {
        if (pos >= len) return WS_AGAIN;
        if (buf[pos] == '\r') {
            if (pos + 1 >= len) return WS_AGAIN;
            if (buf[pos + 1] != '\n') { *why = "CR without LF"; return WS_ERR_HANDSHAKE; }
            *nh = n;
            *used = pos + 2;
            return WS_OK;
        }
        if (buf[pos] == ' ' || buf[pos] == '\t') {   /* RFC 9112 5.2: reject obs-fold */
            *why = "folded header line"; return WS_ERR_HANDSHAKE;
        }
        for (ns = pos; pos < len && ws__is_tchar((unsigned char)buf[pos]); pos++) {}
        if (pos >= len) return WS_AGAIN;
        if (buf[pos] != ':' || pos == ns) { *why = "malformed header name"; return WS_ERR_HANDSHAKE; }
        ne = pos++;
        while (pos < len && (buf[pos] == ' ' || buf[pos] == '\t')) pos++;
        for (vs = pos; pos < len && buf[pos] != '\r'; pos++) {
            unsigned char c = (unsigned char)buf[pos];
            if ((c < 0x20 && c != '\t') || c == 0x7F) {
                *why = "control character in a header value"; return WS_ERR_HANDSHAKE;
            }
        }
        if (pos + 1 >= len) return WS_AGAIN;
        if (buf[pos + 1] != '\n') { *why = "CR without LF"; return WS_ERR_HANDSHAKE; }
        for (ve = pos; ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'); ve--) {}
        if (n == WS_MAX_HEADERS) { *why = "too many header lines"; return WS_ERR_TOO_BIG; }
        h[n].name = ws__span(buf + ns, ne - ns);
        h[n].value = ws__span(buf + vs, ve - vs);
        n++;
        pos += 2;
    }
}

/* "HTTP/1.x" at buf[pos]: WS_OK with *minor, WS_AGAIN, or WS_ERR_HANDSHAKE. */
static ws_result ws__http_version(const char *buf, size_t len, size_t pos, int *minor) {
    static const char v[] = "HTTP/1.";
    size_t i;
    for (i = 0; i < 8; i++) {
        if (pos + i >= len) return WS_AGAIN;
        if (i < 7 ? buf[pos + i] != v[i] : (buf[pos + i] < '0' || buf[pos + i] > '9'))
            return WS_ERR_HANDSHAKE;
    }
    *minor = buf[pos + 7] - '0';
    return WS_OK;
}

static ws_result ws__parse_request(const char *buf, size_t len, ws_http_request *r,
                                   size_t *used, const char **why) {
    size_t pos = 0, ts, i;
    ws_result rc;
    while (pos < len && ws__is_tchar((unsigned char)buf[pos])) pos++;
    if (pos >= len) return WS_AGAIN;
    if (pos == 0 || buf[pos] != ' ') { *why = "malformed request method"; return WS_ERR_HANDSHAKE; }
    r->method = ws__span(buf, pos);
    ts = ++pos;
    if (ts < len && buf[ts] != '/') { *why = "request target must start with '/'"; return WS_ERR_HANDSHAKE; }
    while (pos < len && (unsigned char)buf[pos] > 0x20 && buf[pos] != 0x7F) pos++;
    if (pos >= len) return WS_AGAIN;
    if (buf[pos] != ' ' || pos == ts) { *why = "malformed request target"; return WS_ERR_HANDSHAKE; }
    if (buf[ts] != '/') { *why = "request target must start with '/'"; return WS_ERR_HANDSHAKE; }
    r->target = ws__span(buf + ts, pos - ts);
    r->path = r->target;
    r->query = ws__span(NULL, 0);
    for (i = 0; i < r->target.len; i++)
        if (r->target.ptr[i] == '?') {
            r->path.len = i;
            r->query = ws__span(r->target.ptr + i + 1, r->target.len - i - 1);
            break;
        }
    pos++;
    rc = ws__http_version(buf, len, pos, &r->version_minor);
    if (rc != WS_OK) { *why = "not an HTTP/1.x request"; return rc; }
    pos += 8;
    if (pos < len && buf[pos] != '\r') { *why = "malformed request line"; return WS_ERR_HANDSHAKE; }
    if (pos + 1 >= len) return WS_AGAIN;
    if (buf[pos] != '\r' || buf[pos + 1] != '\n') { *why = "malformed request line"; return WS_ERR_HANDSHAKE; }
    return ws__http_headers(buf, len, pos + 2, r->headers, &r->num_headers, used, why);
}

static ws_result ws__parse_response(const char *buf, size_t len, ws_http_response *r,
                                    size_t *used, const char **why) {
    size_t pos = 8, rs, i;
    ws_result rc = ws__http_version(buf, len, 0, &r->version_minor);
    if (rc != WS_OK) { *why = "not an HTTP/1.x response"; return rc; }
    for (i = 0; i < 5; i++, pos++) {   /* SP 3DIGIT SP */
        if (pos >= len) return WS_AGAIN;
        if (i == 0 || i == 4 ? buf[pos] != ' ' && !(i == 4 && buf[pos] == '\r')
                             : (buf[pos] < '0' || buf[pos] > '9')) {
            *why = "malformed status line"; return WS_ERR_HANDSHAKE;
        }
    }
    r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    if (buf[12] == '\r') pos = 12;     /* tolerate a missing reason phrase and its space */
    for (rs = pos; pos < len && buf[pos] != '\r'; pos++) {
        unsigned char c = (unsigned char)buf[pos];
        if ((c < 0x20 && c != '\t') || c == 0x7F) { *why = "control character in status line"; return WS_ERR_HANDSHAKE; }
    }
    if (pos + 1 >= len) return WS_AGAIN;
    if (buf[pos + 1] != '\n') { *why = "CR without LF"; return WS_ERR_HANDSHAKE; }
    r->reason = ws__span(buf + rs, pos - rs);
    return ws__http_headers(buf, len, pos + 2, r->headers, &r->num_headers, used, why);
}

WS_API ws_result ws_http_parse_request(const char *buf, size_t len, size_t max_bytes,
                                       ws_http_request *req, size_t *used, const char **why) {
    const char *w = "";
    size_t u = 0;
    ws_result rc = ws__parse_request(buf, WS__MIN(len, max_bytes), req, &u, &w);
    if (rc == WS_AGAIN && len >= max_bytes) { rc = WS_ERR_TOO_BIG; w = "request head too large"; }
    if (rc == WS_OK && used) *used = u;
    if (rc < WS_AGAIN && why) *why = w;
    return rc;
}

WS_API ws_result ws_http_parse_response(const char *buf, size_t len, size_t max_bytes,
                                        ws_http_response *res, size_t *used, const char **why) {
    const char *w = "";
    size_t u = 0;
    ws_result rc = ws__parse_response(buf, WS__MIN(len, max_bytes), res, &u, &w);
    if (rc == WS_AGAIN && len >= max_bytes) { rc = WS_ERR_TOO_BIG; w = "response head too large"; }
    if (rc == WS_OK && used) *used = u;
    if (rc < WS_AGAIN && why) *why = w;
    return rc;
}

WS_API size_t ws_http_header(const ws_header *h, size_t n, const char *name, ws_span *value) {
    size_t i, count = 0, nl = strlen(name);
    for (i = 0; i < n; i++)
        if (ws__span_ieq(h[i].name, name, nl)) {
            if (count++ == 0 && value) *value = h[i].value;
        }
    return count;
}

WS_API int ws_list_has_token(ws_span list, const char *token, size_t token_len) {
    size_t i = 0, s, e;
    while (i < list.len) {
        while (i < list.len && (list.ptr[i] == ' ' || list.ptr[i] == '\t' || list.ptr[i] == ',')) i++;
        for (s = i; i < list.len && list.ptr[i] != ','; i++) {}
        for (e = i; e > s && (list.ptr[e - 1] == ' ' || list.ptr[e - 1] == '\t'); e--) {}
        if (e > s && ws__span_ieq(ws__span(list.ptr + s, e - s), token, token_len)) return 1;
    }
    return 0;
}

WS_API int ws_http_has_token(const ws_header *h, size_t n, const char *name, const char *token) {
    size_t i, nl = strlen(name), tl = strlen(token);
    for (i = 0; i < n; i++)
        if (ws__span_ieq(h[i].name, name, nl) && ws_list_has_token(h[i].value, token, tl)) return 1;
    return 0;
}

WS_API ws_result ws_http_check_request(const ws_http_request *req, ws_span *key, int *status,
                                       const char **why) {
    const ws_header *h = req->headers;
    size_t n = req->num_headers, klen = 0;
    ws_span v;
    uint8_t raw[18];
    const char *err;
    int st = 400;
    /* RFC 6455 4.2.1: GET, HTTP/1.1 or later, Host, Upgrade, Connection, Key, Version */
    /* RFC 9110 9.1: methods are case-sensitive */
    if (req->method.len != 3 || memcmp(req->method.ptr, "GET", 3) != 0) {
        err = "method is not GET"; goto bad;
    }
    if (req->version_minor < 1) { err = "HTTP/1.1 or later is required"; goto bad; }
    if (ws_http_header(h, n, "Host", NULL) != 1) { err = "missing or repeated Host header"; goto bad; }
    if (!ws_http_header(h, n, "Upgrade", NULL)) { st = 426; err = "not a WebSocket upgrade request"; goto bad; }
    if (!ws_http_has_token(h, n, "Upgrade", "websocket")) { err = "Upgrade header lacks 'websocket'"; goto bad; }
    if (!ws_http_has_token(h, n, "Connection", "upgrade")) { err = "Connection header lacks 'Upgrade'"; goto bad; }
    if (ws_http_header(h, n, "Sec-WebSocket-Version", &v) != 1 || !ws__span_ieq(v, "13", 2)) {
        st = 426; err = "Sec-WebSocket-Version is not 13"; goto bad;
    }
    if (ws_http_header(h, n, "Sec-WebSocket-Key", &v) != 1) { err = "missing or repeated Sec-WebSocket-Key"; goto bad; }
    if (v.len != 24 || ws_base64_decode(v.ptr, v.len, raw, sizeof raw, &klen) != WS_OK || klen != 16) {
        err = "Sec-WebSocket-Key is not base64 of 16 bytes"; goto bad;
    }
    if (key) *key = v;
    return WS_OK;
bad:
    if (status) *status = st;
    if (why) *why = err;
    return WS_ERR_HANDSHAKE;
}

WS_API ws_result ws_http_check_response(const ws_http_response *res, const char *key,
                                        const char *offered_protocols, ws_span *protocol,
                                        const char **why) {
    const ws_header *h = res->headers;
    size_t n = res->num_headers, np;
    char expect[29];
    ws_span v, p;
    const char *err;
    if (protocol) *protocol = ws__span(NULL, 0);
    if (res->status != 101) { err = "server did not answer 101 Switching Protocols"; goto bad; }
    if (!ws_http_has_token(h, n, "Upgrade", "websocket")) { err = "response lacks Upgrade: websocket"; goto bad; }
    if (!ws_http_has_token(h, n, "Connection", "upgrade")) { err = "response lacks Connection: Upgrade"; goto bad; }
    ws_accept_key(key, strlen(key), expect);
    if (ws_http_header(h, n, "Sec-WebSocket-Accept", &v) != 1 || !ws__span_ieq(v, expect, 28) ||
        memcmp(v.ptr, expect, 28) != 0) {
        err = "wrong or missing Sec-WebSocket-Accept"; goto bad;
    }
    for (np = 0; np < n; np++)   /* we offer none: any non-empty Extensions header fails */
        if (ws__span_ieq(h[np].name, "Sec-WebSocket-Extensions", 24) && h[np].value.len) {
            err = "server chose an extension that was not offered"; goto bad;
        }
    np = ws_http_header(h, n, "Sec-WebSocket-Protocol", &p);
    if (np) {
        if (np > 1 || !p.len || memchr(p.ptr, ',', p.len)) { err = "server chose more than one subprotocol"; goto bad; }
        if (!offered_protocols || !ws_list_has_token(ws__span(offered_protocols, strlen(offered_protocols)), p.ptr, p.len)) {
            err = "server chose a subprotocol that was not offered"; goto bad;
        }
        if (protocol) *protocol = p;
    }
    return WS_OK;
bad:
    if (why) *why = err;
    return WS_ERR_HANDSHAKE;
}

/* A bounded writer: err = 1 when out of room, 2 for an invalid argument. */
typedef struct ws__out { char *p; size_t cap, len; int err; } ws__out;
static void ws__put(ws__out *o, const char *s, size_t n) {
    if (o->err) return;
    if (n >= o->cap - o->len) { o->err = 1; return; }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}
static void ws__puts(ws__out *o, const char *s) { ws__put(o, s, strlen(s)); }
static void ws__putu(ws__out *o, unsigned long v) {
    char t[24];
    size_t i = sizeof t;
    do { t[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    ws__put(o, t + i, sizeof t - i);
}
/* A header value we were given: no CR, LF or other control characters. */
static void ws__put_value(ws__out *o, const char *s) {
    const char *c;
    for (c = s; *c; c++)
        if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7F) { o->err = 2; return; }
    ws__puts(o, s);
}
static void ws__put_header(ws__out *o, const char *name, const char *value) {
    ws__puts(o, name);
    ws__puts(o, ": ");
    ws__put_value(o, value);
    ws__puts(o, "\r\n");
}
/* "Name: value" lines separated by \r\n or \n, each checked, re-emitted with CRLF. */
static void ws__put_extra(ws__out *o, const char *extra) {
    const char *line = extra, *e, *c;
    if (!extra) return;
    while (*line) {
        for (e = line; *e && *e != '\n'; e++) {}
        c = line;
        if (e > line) {
            const char *end = (e[-1] == '\r') ? e - 1 : e;
            while (c < end && ws__is_tchar((unsigned char)*c)) c++;
            if (c == line || c == end || *c != ':') { o->err = 2; return; }
            for (; c < end; c++)
                if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7F) { o->err = 2; return; }
            if (end > line) { ws__put(o, line, (size_t)(end - line)); ws__puts(o, "\r\n"); }
        }
        line = *e ? e + 1 : e;
    }
}
static ws_result ws__out_done(ws__out *o, size_t *len) {
    if (o->err || o->len >= o->cap) return WS_ERR_ARG;
    o->p[o->len] = '\0';
    if (len) *len = o->len;
    return WS_OK;
}

WS_API ws_result ws_http_build_request(char *out, size_t cap, const ws_url *u, const char *key,
                                       const char *origin, const char *protocols,
                                       const char *extra_headers, size_t *len) {
    ws__out o;
    o.p = out; o.cap = cap; o.len = 0; o.err = (!out || !cap || !u || !key) ? 1 : 0;
    ws__puts(&o, "GET ");
    if (u && u->path.len) ws__put(&o, u->path.ptr, u->path.len); else ws__puts(&o, "/");
    if (u && u->query.ptr) { ws__puts(&o, "?"); ws__put(&o, u->query.ptr, u->query.len); }
    ws__puts(&o, " HTTP/1.1\r\nHost: ");
    if (u && u->ipv6) ws__puts(&o, "[");
    if (u) ws__put(&o, u->host.ptr, u->host.len);
    if (u && u->ipv6) ws__puts(&o, "]");
    if (u && u->port != (u->secure ? 443 : 80)) { ws__puts(&o, ":"); ws__putu(&o, u->port); }
    ws__puts(&o, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
    if (key) ws__put_header(&o, "Sec-WebSocket-Key", key);
    ws__puts(&o, "Sec-WebSocket-Version: 13\r\n");
    if (origin && *origin) ws__put_header(&o, "Origin", origin);
    if (protocols && *protocols) ws__put_header(&o, "Sec-WebSocket-Protocol", protocols);
    ws__put_extra(&o, extra_headers);
    ws__puts(&o, "\r\n");
    return ws__out_done(&o, len);
}

WS_API ws_result ws_http_build_accept(char *out, size_t cap, const char *key, size_t key_len,
                                      const char *protocol, const char *extra_headers,
                                      size_t *len) {
    ws__out o;
    char accept[29];
    o.p = out; o.cap = cap; o.len = 0; o.err = (!out || !cap || !key) ? 1 : 0;
    if (key) ws_accept_key(key, key_len, accept);
    ws__puts(&o, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: ");
    if (key) ws__put(&o, accept, 28);
    ws__puts(&o, "\r\n");
    if (protocol && *protocol) ws__put_header(&o, "Sec-WebSocket-Protocol", protocol);
    ws__put_extra(&o, extra_headers);
    ws__puts(&o, "\r\n");
    return ws__out_done(&o, len);
}

WS_API const char *ws_http_status_text(int status) {
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    }
    return "";
}

WS_API ws_result ws_http_build_error(char *out, size_t cap, int status, const char *body,
                                     size_t *len) {
    ws__out o;
    const char *text = ws_http_status_text(status);
    o.p = out; o.cap = cap; o.len = 0; o.err = (!out || !cap || status < 100 || status > 999);
    ws__puts(&o, "HTTP/1.1 ");
    ws__putu(&o, (unsigned long)(status < 0 ? 0 : status));
    ws__puts(&o, " ");
    ws__puts(&o, *text ? text : "Error");
    ws__puts(&o, "\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n");
    if (status == 426) ws__puts(&o, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    ws__puts(&o, "Content-Length: ");
    if (!body) {
        ws__putu(&o, (unsigned long)strlen(*text ? text : "Error") + 1);
        ws__puts(&o, "\r\n\r\n");
        ws__puts(&o, *text ? text : "Error");
        ws__puts(&o, "\n");
    } else {
        ws__putu(&o, (unsigned long)strlen(body));
        ws__puts(&o, "\r\n\r\n");
        ws__puts(&o, body);
    }
    return ws__out_done(&o, len);
}

#ifdef __cplusplus
}
#endif
#endif /* WS_IMPLEMENTATION */

/*
This software is available under 2 licenses -- choose whichever you prefer.
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 the ws.h authors
Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain.
Anyone is free to copy, modify, publish, use, compile, sell, or distribute this
software, either in source code form or as a compiled binary, for any purpose,
commercial or non-commercial, and by any means.
In jurisdictions that recognize copyright laws, the author or authors of this
software dedicate any and all copyright interest in the software to the public
domain. We make this dedication for the benefit of the public at large and to
the detriment of our heirs and successors. We intend this dedication to be an
overt act of relinquishment in perpetuity of all present and future rights to
this software under copyright law.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN
ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------
*/
