/* ws.h - v0.1.0 - WebSocket (RFC 6455) client + server in one file - MIT or public domain
 *   In exactly one .c file:  #define WS_IMPLEMENTATION  then  #include "ws.h"
 *   CONTENTS (search ">>tag"): >>api >>config >>random >>sha1 >>base64 >>utf8 >>frame >>close
 *                              >>url >>http >>platform >>conn >>engine >>deflate >>transport >>tls
 *                              >>client >>server >>poll
 *   The manual (>>doc: QUICK START, OPTIONS, EVENTS, OWNERSHIP, WHAT BLOCKS, LIMITS, GUI LOOPS,
 *   MEMORY, PLATFORMS) follows this comment; the LICENSE is at the end of this file. */
/* ==== >>doc ==== the manual ====

QUICK START
    #define WS_IMPLEMENTATION          (in one .c file, before any other #include there)
    #include "ws.h"
    #include <stdio.h>
    #include <string.h>

    static void on_event(ws_conn *c, const ws_event *ev, void *user) {
        if (ev->type == WS_EV_MESSAGE) ws_conn_send(c, ev->opcode, ev->data, ev->len);
    }
    int main(void) {
        ws_config cfg;
        memset(&cfg, 0, sizeof cfg);            zero = every default (C++ warns on = {0})
        cfg.on_event = on_event;
        ws_ctx *ctx = ws_ctx_create(&cfg);
        if (!ctx) return 1;
        if (ws_listen(ctx, "127.0.0.1", 9001, NULL) != WS_OK) {
            fprintf(stderr, "%s\n", ws_ctx_error(ctx));   why, e.g. "...: address already in use"
            return 1;
        }
        for (;;) ws_poll(ctx, 1000);            or ws_poll(ctx, 0) from a GUI timer
    }
  A client: ws_connect(ctx, "ws://host:port/path", NULL, NULL, &conn), then the same loop; send
  after WS_EV_OPEN. Small programs may use ws_connect_blocking. A call that fails at once
  (ws_listen, ws_connect...) returns the kind; ws_ctx_error(ctx) has the words.

OPTIONS (#define before the implementation include; default in brackets)
    WS_IMPLEMENTATION   compile the implementation into this file
    WS_STATIC           make every function static (a private copy per file)
    WS_API              storage class of the API [extern]
    WS_MALLOC(sz,u) WS_REALLOC(p,sz,u) WS_FREE(p,u)   all three or none [malloc...]; u is
                        ws_config.user (NULL in the resolver thread: must be thread-safe)
    WS_ASSERT(x)        [assert]; asserts only catch API misuse, never peer data
    WS_RANDOM(buf,len)  your CSPRNG, 0 on success [getrandom / arc4random / BCryptGenRandom]
    WS_MAX_HEADERS      header lines the HTTP parsers keep [32]
    WS_BUF_MIN          first size of a receive/send buffer [16384]
    WS_POOL_MAX         idle buffers a ctx keeps for reuse [16]
    WS_POOL_BUF_MAX     larger buffers are freed rather than pooled [262144]
    WS_NO_NET           no sockets and no ws_ctx: the pure codec (sha1 ... http) and the
                        protocol engine (ws_engine_*, ws_conn_send/close/state...)
    WS_LWIP             lwIP's sockets (lwip_*, lwip_poll), no threads/pipes; see PLATFORMS
    WS_NO_CLIENT, WS_NO_SERVER   leave out the client or the server (loop and engine)
    WS_NO_WAKEUP        no wake-up channel (ws_ctx_wakeup fails; posts run each pass)
    WS_NO_ERROR_TEXT    every reason and message string is "" (smaller firmware): ws_result_str,
                        why, ev->msg, ws_ctx_error, close reasons, HTTP reason phrases and bodies
    WS_NO_PROXY, WS_NO_TIMERS, WS_NO_WATCH, WS_NO_POST   leave out proxy CONNECT
                        (opts.proxy: WS_ERR_ARG), ws_timer_*, ws_watch_*, ws_ctx_post
    WS_NOW_MS()         monotonic milliseconds [clock_gettime / GetTickCount64 / sys_now]
    WS_NOW_MS32         your WS_NOW_MS() wraps at 2^32 though its type is wider: each ctx
                        extends it to 64 bits, as it does when the type has 32 bits
                        (HAL_GetTick's uint32_t) and for lwIP's sys_now; see PLATFORMS
    WS_NO_THREADS       resolve host names in ws_connect itself (blocks; see WHAT BLOCKS)
    WS_NO_EPOLL         Linux: ws_poll uses poll() instead of epoll (as on other systems;
                        automatic where the compiler mislays glibc's packed epoll_event: tcc)
    WS_USE_MBEDTLS      wss:// and ws_listen_tls through mbedTLS 2.28, 3.x or 4.x
    WS_USE_ZLIB         permessage-deflate (RFC 7692) through zlib (-lz): see ws_deflate_opts
    WS_NO_FEATURE_MACROS  do not define _DEFAULT_SOURCE/_POSIX_C_SOURCE (POSIX, see top)
    WS_DEBUG            freed conns are poisoned and kept aside (WS_DEBUG_QUARANTINE [1024]);
                        a freed ws_conn * given to the API fails an assertion

EVENTS (one callback per ctx; ev fields say which events set them)
    OPEN     handshake done. Server conns are invisible before it (no events for HTTP
             requests or refused upgrades); client conns get events from ws_connect on.
    MESSAGE  a whole message; text is valid UTF-8. With ws_config.fragments (or
             ws_conn_set_fragments) each fragment as it arrives, fin = 1 on the last.
    PING     already answered unless no_auto_pong.   PONG: a pong arrived.
    DRAINED  the send queue, after having to wait, is empty again (backpressure: retry what
             got WS_ERR_FULL; also once max_memory has room again, when that refused it;
             WS_ERR_TOO_BIG, larger than max_send_queue, never fits).
    ERROR    what went wrong (result, msg, http_status: the server's, or with WS_ERR_PROXY the
             HTTP proxy's); a CLOSE follows.
    CLOSE    exactly once per connection (attempt), always last: close_code (peer's, or the
             one we failed with, 1005 none, 1006 abnormal), reason, clean, result.
             reconnect_ms > 0: a reconnect is scheduled and the ws_conn stays valid.
  Callbacks may send, close, drop, connect, listen...; not ws_poll, ws_dispatch,
  ws_socket_ready, ws_connect_blocking (asserted; without asserts refused: ws_poll /
  ws_connect_blocking return WS_ERR_STATE, the others do nothing). ws_timer_fired and
  ws_ctx_destroy from a callback take effect as the ws.h call that ran it ends: its pass
  runs; the ctx is destroyed as by a direct call (a CLOSE for each connection). Till then
  ws_connect, ws_listen, ws_conn_adopt return WS_ERR_CLOSED, the rest works as usual. That
  call returns its usual result (ws_poll, ws_connect_blocking: WS_ERR_CLOSED), pointers it
  would hand out NULL: ctx is freed.
  A ws_io's read, write, shutdown and close, on_watch, on_timer and log count as callbacks.

ENGINE (sans-I/O: no ws_ctx, no sockets, your clock; also with WS_NO_NET)
    ws_engine_create(&cfg, &opts, user, &c)   client (opts.url) or server (opts.server = 1)
    ws_engine_feed(c, bytes, n, now_ms)       what arrived; events fire before it returns
    ws_engine_output(c, &p) + ws_engine_consume(c, n)   what to send (or opts.io->write)
    ws_engine_deadline(c) / ws_engine_tick(c, now_ms)   timeouts, heartbeat, work left over
    ws_engine_wants_eof(c), ws_engine_eof(c, now_ms)    the end of the stream, both ways
    ws_engine_destroy(c)   also from c's callbacks or ws_io: c is freed as the call returns
    ws_engine_pair + ws_engine_pump: a client and a server in memory
  Work on engines and loop connections alike: ws_conn_send, _send_text, _send_frame, _close,
  _drop, _state, _user, _set_user, _id, _is_server, _age_ms (engine: your clock), _protocol,
  _queued, _set_fragments. Need a ws_ctx: everything else (ws_conn_ctx returns NULL for an
  engine, ws_conn_remote WS_ERR_STATE). ws_conn_adopt hands a connected socket or a ws_io of
  yours to a ws_ctx. A stream upgraded elsewhere (opts.upgraded) compresses as agreed there:
  opts.extensions = the 101's Sec-WebSocket-Extensions value (WS_USE_ZLIB). Every transport
  is a ws_io: ws.h's plain TCP (ws_io_tcp(), its io the socket, for yours to wrap) and its
  mbedTLS (io: its per-connection state) as well.

OWNERSHIP
  The user owns ws_ctx; it owns every ws_conn, ws_listener, buffer and TLS object. Data given
  to ws_conn_send and strings in ws_config, ws_connect_opts, ws_reply are copied. ev->data,
  ev->reason and request spans are borrowed until the callback returns. A ws_conn * is valid
  until its WS_EV_CLOSE callback returns (unless reconnect_ms > 0); it is freed after the
  callback, never during one. To keep a connection longer (a GUI's current one), keep
  ws_conn_id(c): ws_conn_find(ctx, id) is NULL and ws_send_id fails with WS_ERR_CLOSED once
  it is closed; ids are never reused within a ctx. A ws_listener * lives until
  ws_listener_close, a ws_ctx * until ws_ctx_destroy (from a callback: see EVENTS).

WHAT BLOCKS
  Nothing but: ws_poll(ctx, t) waits up to t ms (t = 0 never waits); ws_connect_blocking;
  ws_listen resolves a host *name* with getaddrinfo (use a numeric address); with
  WS_NO_THREADS, ws_connect resolves host names in the caller's thread. Otherwise DNS runs on a
  short-lived detached thread per connect (numeric hosts need none), connect, TLS, upgrade,
  sends and closes all progress inside the loop. ws_ctx_wakeup and ws_ctx_post are the only
  thread-safe calls.

LIMITS AND DEFAULTS (ws_config; 0 = default)
    max_message 16 MiB   max_frame = max_message   max_handshake 8 KiB
    max_send_queue max_message + 64 KiB (WS_ERR_FULL beyond: retry after WS_EV_DRAINED;
                   a single send larger than it: WS_ERR_TOO_BIG; nothing is dropped silently)
    max_conns 1024 (then HTTP 503)   connect 10 s   handshake 10 s   close 5 s
    connect_race 250 ms: a host's next address is dialled while the last still connects
                   (RFC 8305 Happy Eyeballs, two in flight, the first to connect wins)
    ping_interval 30 s for servers, off for clients   pong_timeout 10 s   idle off
    max_pending 256 (<= max_conns / 2)   max_pending_per_addr 64   max_memory 256 MiB
  A frame or message over its limit is refused from its header (close 1009) without
  buffering it; a compressed one (WS_USE_ZLIB) is bounded by its inflated size, checked as it
  inflates (its wire size may exceed max_message by 1/16). Header too large: 431. Bad upgrade:
  400 (also with Content-Length or Transfer-Encoding); wrong version / not an upgrade: 426.
  Handshakes in progress beyond max_pending (or max_pending_per_addr from one address): the
  oldest is dropped. max_memory (all buffers of the ctx; WS_MEM_UNLIMITED = none) reached:
  upgrades get 503, a message that cannot be buffered closes with 1013, sends return
  WS_ERR_FULL. accept() out of descriptors: the listeners rest 50 ms .. 2 s (doubling) instead
  of spinning.

GUI LOOPS
  Simplest: call ws_poll(ctx, 0) from a timer or once per frame. To sleep in the host's own
  loop: ws_pollfds(ctx, fds, cap, &timeout) lists the sockets (WS_POLLIN/WS_POLLOUT, the
  values of Linux's POLLIN/POLLOUT) and the longest wait; watch them (GLib g_unix_fd_add,
  Qt QSocketNotifier, Win32 WSAEventSelect + MsgWaitForMultipleObjects), then
  ws_dispatch(ctx, fds, n) with revents set (n = 0 when only the timeout expired).
  Call ws_pollfds again before every wait: interest changes (POLLOUT only while bytes wait).
  Readiness is read as level-triggered (poll semantics): a socket still writable must be
  reported again. Edge-triggered sources (WSAEventSelect's FD_WRITE) need a re-check; see
  examples/win32_loop.c; examples/glib_loop.c is the GLib/GTK version (a GSource).
  Another thread may call ws_ctx_wakeup to make a waiting ws_poll return.
  Best for big hosts (libcurl's multi-socket style): set ws_config.on_watch and on_timer.
  ws.h then tells your loop only what changes: on_watch(ctx, fd, events, token, &host, user)
  to watch a socket, change its interest, or stop (events 0, always before the fd closes, so
  a reused number is never confused); on_timer(ctx, ms, user) when the next deadline moves
  (0: work is pending, e.g. after a send from your UI code). Your loop calls
  ws_socket_ready(ctx, token, revents) and ws_timer_fired(ctx); each costs O(1) in the number
  of connections. *host is yours per socket (a GSource tag, a QSocketNotifier *...). Never
  pass a token after its watch ended (drop it from a batch you are iterating). The wake-up
  channel is one of the watched sockets, so ws_ctx_wakeup works the same way.

MEMORY
  ws_conn is 200 bytes on x86-64 (rarely used members live in a block made on first use),
  plus a timer-heap slot and an id-table entry. An idle
  connection holds no buffer: receive and send buffers come from a per-ctx pool while bytes
  are in flight. A busy one holds its receive buffer (the largest frame in flight, from
  16 KiB; reads grow to WS_POOL_BUF_MAX while the socket has more and max_memory is under
  3/4 used, then to 1 MiB in the ctx's one large buffer for frames up to 64 KiB), its send queue, and a fragmented message being assembled; an upgrade head is read
  into a small buffer (from 1 KiB). Growth doubles, but never past the buffer's own limit or
  max_memory, which counts every buffer (pooled ones too) and zlib's streams; past half of it, buffers grow by a
  quarter, and receive buffers and send queues at most half full shrink to their bytes. No allocation per message in the
  steady state. permessage-deflate adds zlib's streams, made at the first compressed message:
  a compressor 2^(window_bits+2) + 2^(mem_level+9) bytes + ~6 KiB (262 KiB at 15/8), an
  inflater 2^peer_window_bits + ~7 KiB; none kept between messages with no_context_takeover /
  peer_no_context_takeover (one per ctx is shared). Timers sit in a heap and Linux waits with
  epoll, so a loop pass costs O(active connections), not O(open ones); ws_pollfds lists every
  socket.

PLATFORMS
  POSIX (Linux, macOS, BSD) and Windows (Winsock2, WSAPoll; link ws2_32 and bcrypt), IPv4
  and IPv6. Firmware: WS_LWIP (an RTOS with lwIP sockets, NO_SYS=0; define WS_RANDOM; host
  names resolve through lwip_getaddrinfo in ws_connect when LWIP_DNS), or WS_NO_NET and the
  engine over any TCP stack (lwIP's raw API in a NO_SYS superloop). README: "Firmware".
  The clock: WS_NOW_MS() must never go back. A 32-bit millisecond counter (lwIP's sys_now,
  HAL_GetTick, xTaskGetTickCount * portTICK_PERIOD_MS as a uint32_t) wraps after 49.7 days:
  each ctx extends it to 64 bits when WS_NOW_MS()'s type has 32 bits, or with WS_NOW_MS32
  (a cast to int64_t hides the width), provided ws.h reads it (any ws_poll, ws_dispatch...)
  at least once every 49.7 days. The engine's now_ms is yours: its timers
  compare modulo 2^32, so a wrapping 32-bit clock works there (ws_engine_deadline is on the
  scale of the last now_ms: wait deadline - now_ms); ws_conn_age_ms needs one that does not.
*/
#if defined(WS_IMPLEMENTATION) && !defined(_WIN32) && !defined(__APPLE__) && \
    !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE) && !defined(WS_NO_FEATURE_MACROS)
/* getaddrinfo, poll, syscall ... under -std=c99: must precede the first system header, so
 * include ws.h first in the .c file that defines WS_IMPLEMENTATION (or build with -std=gnu99
 * or -D_DEFAULT_SOURCE). */
#  define _DEFAULT_SOURCE 1
#  define _POSIX_C_SOURCE 200809L
#endif
#if defined(WS_IMPLEMENTATION) && defined(_WIN32) && !defined(_WIN32_WINNT)
#  define _WIN32_WINNT 0x0600   /* Vista+: WSAPoll, inet_ntop, GetTickCount64 */
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
    WS_ERR_TOO_BIG = -6,    /* frame/message/header over a limit: close 1009, HTTP 431;
                               a send larger than max_send_queue (it can never fit) */
    WS_ERR_HANDSHAKE = -7,  /* HTTP upgrade failed or was refused */
    WS_ERR_IO = -8,         /* socket error or peer vanished */
    WS_ERR_TLS = -9,        /* TLS failure, or TLS not compiled in */
    WS_ERR_CLOSED = -10,    /* connection is closing or closed */
    WS_ERR_URL = -11,       /* not a valid ws:// or wss:// URL */
    WS_ERR_DNS = -12,       /* host name did not resolve */
    WS_ERR_CONNECT = -13,   /* TCP connect failed (refused, unreachable) */
    WS_ERR_TIMEOUT = -14,   /* connect, handshake, pong or close timed out */
    WS_ERR_FULL = -15,      /* send queue (or the ctx's max_memory) would be exceeded; nothing
                               was queued; retry after WS_EV_DRAINED. A received message over
                               max_memory closes its connection with 1013 */
    WS_ERR_LIMIT = -16,     /* connection limit reached */
    WS_ERR_STATE = -17,     /* call not valid in the connection's current state */
    WS_ERR_ADDR_IN_USE = -18,/* ws_listen: the address and port are taken (another server) */
    WS_ERR_PROXY = -19      /* the HTTP proxy refused the tunnel, closed or sent garbage */
} ws_result;
WS_API const char *ws_result_str(ws_result r);   /* static string, never NULL */

/* ---- >>random: the platform's CSPRNG (getrandom, arc4random, BCryptGenRandom).
 * Firmware: #define WS_RANDOM(buf, len) to an expression of your own that fills buf and is
 * 0 on success. Returns WS_OK or WS_ERR_IO. Masks must be unpredictable (RFC 6455 10.3):
 * a WS_NO_NET build for a target with no known source and no WS_RANDOM (bare metal) still
 * compiles the codec and a server, but refuses to create a client (WS_ERR_ARG, said to the
 * log hook). */
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
 * TOO_BIG 1009, FULL (memory budget) 1013, anything else 1011 (WS_OK: 1000). */
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
    ws_span   method, target;  /* target as sent: path [? query], or an http(s) URI with them */
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
 * other than 13, or a plain request with no Upgrade header) and *why. An upgrade with
 * Content-Length or Transfer-Encoding is refused with 400 (no body: smuggling). *key gets the
 * Sec-WebSocket-Key (validated: base64 of 16 bytes). */
WS_API ws_result ws_http_check_request(const ws_http_request *req, ws_span *key, int *status,
                                       const char **why);
/* Client side: is res a valid answer to our upgrade with this key (24 chars) and the offered
 * subprotocols (comma list or NULL)? WS_OK with *protocol (ptr NULL if none) or
 * WS_ERR_HANDSHAKE with *why: status not 101, Upgrade/Connection missing, wrong accept,
 * a subprotocol we did not offer, an extension we did not offer. (A 1xx other than 101 is
 * interim, RFC 9110 15.2: parse the next head; ws.h's client skips them.) */
WS_API ws_result ws_http_check_response(const ws_http_response *res, const char *key,
                                        const char *offered_protocols, ws_span *protocol,
                                        const char **why);

/* Builders write into out[0..cap) with a NUL, set *len (without NUL) and return WS_OK, or
 * WS_ERR_ARG when cap is too small or an argument is invalid (CR/LF in a value, a malformed
 * extra header). extra_headers: NULL or "Name: value" lines separated by "\r\n" or "\n"; they
 * may not repeat a header the builder writes (Host, Upgrade, Connection, Sec-WebSocket-Key,
 * -Version, -Accept, -Extensions, Content-Length, Transfer-Encoding; Origin and
 * Sec-WebSocket-Protocol when given as arguments). Request targets: bytes >= 0x80, controls
 * and spaces in the path and query are sent percent-encoded. */
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
WS_API const char *ws_http_status_text(int status);   /* "Bad Request"...; "" if unknown (or WS_NO_ERROR_TEXT) */

/* ==== connections: events, settings, sending (>>conn >>engine), with or without sockets ====
 * A ws_conn is one WebSocket connection. It is owned either by a ws_ctx (the event loop below,
 * which moves its bytes over TCP, TLS or a ws_io of yours) or by you, as a sans-I/O engine
 * (ws_engine_create): you feed it received bytes and send what it outputs. The types, events
 * and ws_conn_* calls are the same for both; only the ws_ctx part needs sockets (WS_NO_NET
 * leaves it out). All calls on a connection happen on one thread. */
typedef struct ws_ctx      ws_ctx;       /* opaque */
typedef struct ws_conn     ws_conn;      /* opaque, owned by its ws_ctx (or yours: an engine) */
typedef struct ws_listener ws_listener;  /* opaque, owned by its ws_ctx */

typedef enum ws_event_type {
    WS_EV_OPEN = 1,    /* handshake done (client and server) */
    WS_EV_MESSAGE,     /* a whole message (or one fragment, in fragment mode); text is valid UTF-8 */
    WS_EV_PING,        /* a ping arrived; already answered with a pong unless no_auto_pong */
    WS_EV_PONG,        /* a pong arrived */
    WS_EV_DRAINED,     /* the send queue, after having to wait, is empty again */
    WS_EV_ERROR,       /* a local or protocol error; a WS_EV_CLOSE follows */
    WS_EV_CLOSE        /* always the last event of a connection (attempt) */
} ws_event_type;

enum { WS_STATE_CONNECTING = 0, WS_STATE_OPEN = 1, WS_STATE_CLOSING = 2, WS_STATE_CLOSED = 3 };

typedef struct ws_event {
    ws_event_type  type;
    int            opcode;      /* MESSAGE: WS_OP_TEXT or WS_OP_BINARY (of the whole message) */
    const uint8_t *data;        /* MESSAGE, PING, PONG: borrowed until the callback returns */
    size_t         len;
    int            fin;         /* MESSAGE: 1 = last (or only) fragment; always 1 unless fragments */
    uint16_t       close_code;  /* CLOSE: the peer's code, 1005 if it sent none, 1006 if the
                                   connection ended without a close frame from the peer */
    const char    *reason;      /* CLOSE: NUL-terminated, "" if none; borrowed until return */
    int            clean;       /* CLOSE: 1 = close frames went both ways before TCP closed */
    int            reconnect_ms;/* CLOSE: > 0 = a reconnect is scheduled and the conn stays valid */
    ws_result      result;      /* ERROR; CLOSE: the local error that ended it, WS_OK if none */
    const char    *msg;         /* ERROR, CLOSE: static text about result ("" if none) */
    int            http_status; /* ERROR during a client handshake: the server's HTTP status
                                   (WS_ERR_PROXY: the proxy's) */
} ws_event;

/* What an upgrade hook or HTTP handler answers. Strings and body are copied. */
typedef struct ws_reply {
    int         status;        /* on_upgrade: 0 = accept, else refuse with this HTTP status
                                  (300..999; others answer 500). on_http: 0 = 200 with a
                                  body, 404 without (200..999; others answer 500) */
    const char *protocol;      /* on_upgrade: the subprotocol to accept; must be one offered */
    const char *headers;       /* extra response header lines ("Name: value\r\n..."), or NULL */
    const char *content_type;  /* on_http (and refusals): default "text/plain; charset=utf-8" */
    const void *body;          /* on_http (and refusals): response body, or NULL */
    size_t      body_len;
} ws_reply;

/* ---- permessage-deflate (RFC 7692): #define WS_USE_ZLIB before including ws.h and link -lz;
 * without it these settings are ignored (no offer is made or accepted). A client offers it, a
 * server accepts the first acceptable offer; then messages of at least `threshold` bytes are
 * sent compressed (RSV1 on their first frame), compressed messages received are inflated, and
 * max_message bounds the *inflated* size. Memory per compressing connection: see MEMORY. */
typedef struct ws_deflate_opts {
    int enable;                  /* 1 = offer (client) / accept (server) permessage-deflate */
    int window_bits;             /* 9..15: our compressor's LZ77 window (2^n bytes); 0 = 15 */
    int peer_window_bits;        /* 8..15: the largest window the peer may use (our inflater's
                                    memory); 0 = 15. A server declines offers that cannot
                                    limit it (no client_max_window_bits in the offer) */
    int no_context_takeover;     /* 1 = our compressor starts afresh with every message: worse
                                    ratio, but no compressor is kept between messages */
    int peer_no_context_takeover;/* 1 = require the peer to do that (our inflater is not kept) */
    int mem_level;               /* 1..9: zlib memLevel of our compressor; 0 = 8 */
    int threshold;               /* messages shorter than this go uncompressed; 0 = 64,
                                    -1 = compress every message */
} ws_deflate_opts;
/* OR into ws_conn_send's / ws_broadcast's opcode: send this message uncompressed */
enum { WS_SEND_UNCOMPRESSED = 0x100 };

typedef struct ws_config {
    /* required: every event of every connection. May call send, close, connect; not ws_poll,
     * ws_dispatch (asserted; without asserts refused); ws_ctx_destroy: see >>doc EVENTS. */
    void (*on_event)(ws_conn *c, const ws_event *ev, void *user);
    /* server, optional: sees the upgrade request (method, path, query, headers, origin,
     * Sec-WebSocket-Protocol offers) before the 101; may choose a subprotocol or refuse (through
     * reply->status; ws_conn_close or ws_conn_drop there ends it with no answer and no event). */
    void (*on_upgrade)(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user);
    /* server, optional: answers plain HTTP requests (no Upgrade header) on the same port;
     * without it they get 426 Upgrade Required. The connection closes after the response
     * (ws_conn_drop there: closed at once, nothing sent). */
    void (*on_http)(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user);
    /* optional diagnostics (level 0 error, 1 warning, 2 info). Never required for errors. A
     * callback like on_event (ws_poll from it is refused). */
    void (*log)(int level, const char *msg, void *user);
    /* optional, both or neither: your event loop watches the sockets instead of ws_poll
     * (libcurl's multi-socket style). on_watch: watch fd for events (WS_POLLIN | WS_POLLOUT),
     * changed interest, or 0 = stop watching (always before fd is closed or reused). Pass token
     * to ws_socket_ready when fd is ready; *host is your pointer for this socket (NULL on the
     * first call; kept until the 0 call). on_timer: call ws_timer_fired in timeout_ms
     * (0 = as soon as you can; -1 = no timer, also from ws_ctx_destroy); each call replaces
     * the last. Only changes are told: O(1) per event, however many connections. Called from
     * ws.h calls on your thread: call ws_socket_ready from your loop afterwards, never from
     * inside them (asserted; without asserts ignored); ws_timer_fired from inside on_timer(0)
     * runs its pass as the ws.h call that called on_timer ends. */
    void (*on_watch)(ws_ctx *ctx, intptr_t fd, int events, void *token, void **host, void *user);
    void (*on_timer)(ws_ctx *ctx, int timeout_ms, void *user);
    void  *user;                 /* passed to every callback */
    size_t max_message;          /* bytes of one received message; 0 = 16 MiB */
    size_t max_frame;            /* bytes of one received frame; 0 = max_message */
    size_t max_handshake;        /* bytes of an HTTP upgrade head; 0 = 8192 */
    size_t max_send_queue;       /* bytes queued per connection; 0 = max_message + 64 KiB */
    int    max_conns;            /* server connections at once; 0 = 1024 (more: HTTP 503) */
    int    connect_timeout_ms;   /* DNS + TCP connect; 0 = 10000. A host with several
                                    addresses: tried IPv6, IPv4, IPv6... (RFC 8305 4), each
                                    but the last gets half the time left (ws_connect_blocking:
                                    of its timeout_ms if that ends first) */
    int    connect_race_ms;      /* the next address is dialled this long after the last
                                    while that one is still connecting (RFC 8305 5, Happy
                                    Eyeballs: two at most in flight, the first to connect
                                    wins); 0 = 250, at least 10; -1 = one at a time (always
                                    so with WS_LWIP) */
    int    handshake_timeout_ms; /* HTTP upgrade; 0 = 10000 */
    int    close_timeout_ms;     /* wait for the close handshake / TCP close; 0 = 5000 */
    int    ping_interval_ms;     /* 0 = 30000 for server connections, never for clients;
                                    -1 = never */
    int    pong_timeout_ms;      /* a ping unanswered this long drops the peer; 0 = 10000 */
    int    idle_timeout_ms;      /* close after this long without receiving; 0 = never */
    int    keepalive_ms;         /* clients: send an unsolicited pong this often; 0 = never */
    int    fragments;            /* 1 = deliver each fragment as it arrives (per ctx);
                                    max_frame bounds each, max_message only a message ended
                                    whole (all of it, after a switch back mid-message) */
    int    no_auto_pong;         /* 1 = do not answer pings (you see WS_EV_PING) */
    ws_deflate_opts deflate;     /* permessage-deflate for server conns and clients without
                                    their own (ws_connect_opts.deflate); off by default */
    int    reuse_port;           /* 1 = listeners share their port with other ctxs (threads,
                                    processes): SO_REUSEPORT, Linux and BSDs; the kernel
                                    spreads connections. Elsewhere ws_listen: WS_ERR_ARG */
    int    max_posts;            /* ws_ctx_post queue; 0 = 4096 (more: WS_ERR_FULL) */
    /* ctx-wide budget for receive buffers, message assembly, send queues and zlib (and ~50 KiB
     * per TLS connection), in bytes; 0 = 256 MiB, WS_MEM_UNLIMITED = none. When reached: new
     * upgrades get 503 (a wss:// client: WS_ERR_FULL), a message that cannot be buffered
     * closes its connection with 1013, sends fail with WS_ERR_FULL. */
    size_t max_memory;
    int    max_pending;          /* server handshakes in progress at once; 0 = 256 */
    int    max_pending_per_addr; /* ... from one remote address; 0 = 64 (behind a proxy,
                                    which is every client's address: raise it) */
} ws_config;
#define WS_MEM_UNLIMITED ((size_t)-1)   /* ws_config.max_memory: no budget */

/* ---- >>tls: wss:// through mbedTLS. #define WS_USE_MBEDTLS before including ws.h and link
 * -lmbedtls -lmbedx509 -lmbedcrypto; without it wss:// and ws_listen_tls give WS_ERR_TLS.
 * Certificates and keys are PEM (NUL-terminated or not) or DER, from a file or from memory
 * (memory: len 0 = a NUL-terminated PEM string); they are parsed (copied) when the client
 * connection or listener is created. Failures are named in WS_EV_ERROR's msg and the log hook
 * in mbedTLS's own words: not trusted, expired, host-name mismatch, handshake failure, peer is
 * not TLS. */
enum {   /* ws_tls_opts.verify */
    WS_TLS_VERIFY_DEFAULT = 0,   /* clients: REQUIRED; servers: NONE, or REQUIRED with a CA */
    WS_TLS_VERIFY_NONE = 1,      /* no peer certificate check (servers: none is asked for) */
    WS_TLS_VERIFY_OPTIONAL = 2,  /* checked; a failure is logged (level 1) but allowed */
    WS_TLS_VERIFY_REQUIRED = 3   /* a missing or failing peer certificate ends the handshake */
};
enum { WS_TLS_1_2 = 0x0303, WS_TLS_1_3 = 0x0304 };   /* ws_tls_opts.min_version */
typedef struct ws_tls_opts {
    const char *ca_file;         /* trusted CA certificates (PEM bundle or DER), or NULL */
    const void *ca_mem;          /* ... or from memory (ca_file wins), or NULL. Neither: a */
    size_t      ca_len;          /* client loads the system's (/etc/ssl/certs/..., Windows: ROOT) */
    const char *cert_file;       /* our certificate chain, leaf first (servers: required) */
    const void *cert_mem;
    size_t      cert_len;
    const char *key_file;        /* the private key of our certificate */
    const void *key_mem;
    size_t      key_len;
    const char *key_password;    /* for an encrypted key, or NULL */
    int         verify;          /* WS_TLS_VERIFY_...; 0 = default (see above) */
    int         min_version;     /* WS_TLS_1_2 or WS_TLS_1_3; 0 = TLS 1.2 */
    const char *alpn;            /* ALPN protocols to offer/accept, "http/1.1", or NULL */
    const char *server_name;     /* client: SNI and certificate name check; NULL = URL host */
} ws_tls_opts;

typedef struct ws_connect_opts {
    const char *origin;          /* Origin header, or NULL */
    const char *protocols;       /* offered subprotocols, "chat, superchat", or NULL */
    const char *headers;         /* extra request header lines, or NULL */
    int reconnect;               /* 1 = reconnect when the connection drops or fails */
    int reconnect_delay_ms;      /* first delay; 0 = 1000; doubles up to reconnect_max_ms;
                                  * each wait is 50-100 % of it, at random */
    int reconnect_max_ms;        /* 0 = 30000; at least reconnect_delay_ms */
    const ws_tls_opts *tls;      /* wss:// settings (copied); NULL = verify against the system CAs */
    /* HTTP CONNECT proxy for ws:// and wss:// (TLS runs inside the tunnel, checked against the
     * URL's host): "http://[user:password@]host[:port]" (port 80 if none; user and password
     * may be %-encoded; Basic auth), or NULL. Failures: WS_ERR_PROXY with the proxy's status
     * in ev->http_status; a silent proxy: WS_ERR_TIMEOUT within connect_timeout_ms.
     * Built with WS_NO_PROXY: ws_connect fails with WS_ERR_ARG. */
    const char *proxy;
    const ws_deflate_opts *deflate; /* permessage-deflate (copied); NULL = the ctx's cfg.deflate */
} ws_connect_opts;

/* ---- >>engine: one connection's protocol without sockets, clock or ws_ctx (sans-I/O) ----
 * You move the bytes: feed what arrives with ws_engine_feed, send what ws_engine_output gives
 * (or let ws_io.write take it), pass your clock in, and use the ws_conn_* calls below (send,
 * close, state...) as on a loop connection: the same engine, events, limits and close codes.
 * Builds with WS_NO_NET. Events go to cfg->on_event; a callback (and the ws_io) may send,
 * close, feed and destroy. Nothing here blocks or allocates beyond the connection's buffers. */
enum { WS_POLLIN = 1, WS_POLLOUT = 4, WS_POLLERR = 8, WS_POLLHUP = 16 };   /* readiness */
/* A transport: how a connection's bytes move. Every connection's is one: ws.h's plain TCP
 * (ws_io_tcp, io = the socket), its mbedTLS (io = its per-connection TLS state), or yours. */
typedef struct ws_io {
    /* Take up to len bytes: *put = how many (fewer is fine; more: taken as WS_ERR_IO). WS_OK;
     * WS_AGAIN = nothing now (for an engine: the rest waits in ws_engine_output; in a ws_ctx:
     * call ws_conn_io_ready when writable, or give an fd that polls writable); WS_ERR_IO = the
     * stream is broken.
     * It may feed another engine that answers into this one at once; data is valid until then.
     * Like every ws_io call it counts as a callback: an engine's own ws_engine_feed / _eof /
     * _destroy from it take effect once it returns. */
    ws_result (*write)(void *io, const uint8_t *data, size_t len, size_t *put);
    /* ws_ctx only (an engine is fed instead): read up to cap bytes. WS_OK (*got > 0; more
     * than cap: taken as WS_ERR_IO), WS_AGAIN (nothing yet), WS_ERR_CLOSED (the peer's EOF)
     * or WS_ERR_IO. */
    ws_result (*read)(void *io, uint8_t *buf, size_t cap, size_t *got);
    void      (*shutdown)(void *io);   /* optional: all output is sent; send EOF (TCP FIN) */
    void      (*close)(void *io);      /* optional: the connection is over; release the stream */
    void       *io;                    /* passed to each */
    /* ws_ctx only, optional: what a TLS layer of yours needs (as ws.h's mbedTLS transport).
     * handshake runs until WS_OK before the HTTP upgrade (WS_AGAIN: not done yet; an error
     * ends the connection; write may be called meanwhile: WS_AGAIN then); want tells the
     * poll interest it needs beyond the obvious (WS_POLLIN/WS_POLLOUT: e.g. to write in order
     * to read); pending counts decrypted bytes it holds that read can return without the fd. */
    ws_result (*handshake)(void *io);
    int       (*want)(void *io);
    size_t    (*pending)(void *io);
} ws_io;

typedef struct ws_engine_opts {
    int         server;     /* 1 = server role: reads the upgrade request, frames must be masked */
    int         upgraded;   /* 1 = the HTTP upgrade was done elsewhere: starts OPEN */
    const char *url;        /* client: Host and path of the upgrade request; NULL = ws://localhost/ */
    const ws_connect_opts *connect;   /* client: origin, protocols, headers, deflate (the rest
                                         is ignored) */
    const char *protocol;   /* upgraded: the subprotocol that was agreed, or NULL */
    const char *extensions; /* upgraded: the Sec-WebSocket-Extensions value that was agreed
                               ("permessage-deflate; server_no_context_takeover..."), or NULL;
                               cfg.deflate (client: connect->deflate if set) gives memLevel,
                               threshold... Another extension, bad parameters or no
                               WS_USE_ZLIB: WS_ERR_ARG */
    const void *head;       /* bytes already read from the stream (a request someone else */
    size_t      head_len;   /* read; frames after a 101), processed first; or NULL */
    const ws_io *io;        /* engine: NULL = output waits for ws_engine_output. ws_conn_adopt:
                               NULL = fd is a connected socket (plain TCP); else the transport */
    int64_t     now_ms;     /* engine: your clock now (any origin, milliseconds) */
} ws_engine_opts;

/* A connection that you own. cfg is copied (on_event required; ping_interval_ms,
 * pong_timeout_ms... apply on your clock). A client queues its upgrade request at once.
 * WS_OK (*out set), WS_ERR_ARG (no cfg, on_event or out; bad extensions; an o->io without
 * write), WS_ERR_URL, WS_ERR_NOMEM. */
WS_API ws_result ws_engine_create(const ws_config *cfg, const ws_engine_opts *o, void *conn_user,
                                  ws_conn **out);
/* Fires WS_EV_CLOSE if it has not fired (1006, or the close already agreed), frees c. From one
 * of c's callbacks or its ws_io (or a callback during ws_engine_pump): c stops at once (no more
 * input or events but CLOSE; calls on it fail) and is freed when the ws.h call running returns
 * (ws_engine_create: then WS_ERR_CLOSED, *out NULL). */
WS_API void      ws_engine_destroy(ws_conn *c);
/* Bytes received from the peer, any amount, split anywhere: events fire before it returns
 * (called from one of c's callbacks or its ws_io: once that returns; ws_engine_eof too). Input after a
 * close or failure is dropped. WS_OK, WS_ERR_NOMEM, WS_ERR_CLOSED
 * (c is CLOSED or its end was reported), WS_ERR_ARG. (A protocol error is not a result:
 * ERROR and CLOSE events say it.) */
WS_API ws_result ws_engine_feed(ws_conn *c, const void *data, size_t len, int64_t now_ms);
/* The peer closed its side of the stream (TCP EOF, the link went down): WS_EV_CLOSE fires,
 * clean if both close frames had been exchanged, else 1006. */
WS_API void      ws_engine_eof(ws_conn *c, int64_t now_ms);
/* The bytes waiting to be sent: *data (may be NULL; borrowed until the next call on c) and
 * how many. Send them, then ws_engine_consume the number the stream took (at most what
 * ws_engine_output said: more counts as all of it). */
WS_API size_t    ws_engine_output(const ws_conn *c, const uint8_t **data);
WS_API void      ws_engine_consume(ws_conn *c, size_t n);
/* 1 once all output is consumed and the engine is done writing (after the close handshake -
 * a server closes the TCP connection first, RFC 6455 7.1.1 - an HTTP answer or a failure):
 * shut the stream's sending side (or close it) and report its end with ws_engine_eof. */
WS_API int       ws_engine_wants_eof(const ws_conn *c);
/* The earliest time ws_engine_tick must run (handshake/close timeouts, heartbeat), on your
 * clock; 0 = no timer. ws_engine_tick runs the timers that are due at now_ms. One call does a
 * bounded amount of work (callbacks that keep feeding or sending make more); what is left
 * makes the deadline the last now_ms (or -1): tick again until it is in the future. From a
 * callback or the ws_io, ws_engine_tick only takes the clock. A clock that wraps at 2^32
 * works (timers compare modulo 2^32): wait deadline - the last now_ms. */
WS_API int64_t   ws_engine_deadline(const ws_conn *c);
WS_API void      ws_engine_tick(ws_conn *c, int64_t now_ms);
/* An in-memory pair for tests: a client and a server engine (their own configs; user is each
 * cfg's user), the client's upgrade request already queued. ws_engine_pump moves output both
 * ways (and EOFs) until nothing moves; returns the bytes moved. */
WS_API ws_result ws_engine_pair(const ws_config *client_cfg, const ws_config *server_cfg,
                                ws_conn **client, ws_conn **server);
WS_API size_t    ws_engine_pump(ws_conn *a, ws_conn *b, int64_t now_ms);

#ifndef WS_NO_NET
/* Copies cfg (NULL on_event, only one of on_watch/on_timer, or out of memory: NULL). */
WS_API ws_ctx *ws_ctx_create(const ws_config *cfg);
/* Closes listeners and connections (a 1001 close frame is attempted, not awaited); fires
 * WS_EV_CLOSE for each connection that has not had it. From a callback: done as the ws.h
 * call that ran it returns (>>doc EVENTS). */
WS_API void    ws_ctx_destroy(ws_ctx *ctx);
/* Thread-safe: makes a ws_poll that is waiting return. WS_OK (also when earlier wake-ups
 * still fill the channel: the next ws_poll returns at once), or WS_ERR_IO. */
WS_API ws_result ws_ctx_wakeup(ws_ctx *ctx);
/* Why the last ws_listen, ws_listen_tls, ws_connect or ws_connect_blocking on ctx that returned
 * an error failed, in words: "ws_connect: invalid URL: port out of range",
 * "ws_listen on 127.0.0.1:8080: address already in use". "" before any. Also given to the log
 * hook. Valid until the next of those calls. */
WS_API const char *ws_ctx_error(const ws_ctx *ctx);

/* Listen on host (numeric address, or a name resolved here with getaddrinfo: its first
 * address that binds, in the resolver's order, so "localhost" is ::1 or 127.0.0.1 as the
 * system orders them; NULL or "" = "0.0.0.0", all IPv4 interfaces; "::" all interfaces, IPv6
 * and IPv4 (IPV6_V6ONLY off, Windows too, so "0.0.0.0" on that port is then in use; IPv4
 * peers have their IPv4 addresses in ws_conn_remote)) and port (0 = a free one; outside
 * 0..65535: WS_ERR_ARG). *out (may be NULL) gets the listener. WS_OK, WS_ERR_ARG, WS_ERR_DNS,
 * WS_ERR_ADDR_IN_USE (another socket has that port), WS_ERR_IO (bind/listen failed otherwise),
 * WS_ERR_NOMEM; ws_ctx_error says more. */
#ifndef WS_NO_SERVER
WS_API ws_result ws_listen(ws_ctx *ctx, const char *host, int port, ws_listener **out);
/* The same for wss:// (TLS with tls's certificate and key; see ws_tls_opts). The handshake runs
 * in the loop, within handshake_timeout_ms. WS_ERR_TLS: unreadable certificate or key, or
 * built without WS_USE_MBEDTLS (ws_ctx_error says which); else as ws_listen. */
WS_API ws_result ws_listen_tls(ws_ctx *ctx, const char *host, int port,
                               const ws_tls_opts *tls, ws_listener **out);
#endif
WS_API uint16_t    ws_listener_port(const ws_listener *l);
/* A URL to dial from this machine: "ws://127.0.0.1:PORT/", "wss://...". A listener on all
 * interfaces gives the loopback address here (other machines dial one of this machine's). */
WS_API const char *ws_listener_url(const ws_listener *l);
/* The address it is bound to: "127.0.0.1:8080", "[::1]:8080", or for all interfaces
 * "0.0.0.0:8080" / "[::]:8080" */
WS_API const char *ws_listener_addr(const ws_listener *l);
WS_API int         ws_listener_any(const ws_listener *l);    /* 1: on all interfaces */
WS_API void        ws_listener_close(ws_listener *l);        /* stop accepting (again: no-op);
                                                             * its connections stay open */

#ifndef WS_NO_CLIENT
/* Start connecting to a ws:// or wss:// URL; events tell the rest (OPEN, or ERROR + CLOSE).
 * opts may be NULL. WS_OK, WS_ERR_URL (ws_ctx_error names the wrong part), WS_ERR_TLS (wss://
 * built without WS_USE_MBEDTLS, or unreadable opts->tls files: ws_ctx_error says which),
 * WS_ERR_ARG (also: opts->headers repeats a header ws.h writes, see ws_http_build_request, or
 * a header line, origin or protocols has a control byte; ws_ctx_error says which),
 * WS_ERR_NOMEM. May be called from a callback; from a CLOSE inside ws_ctx_destroy, or after
 * a ws_ctx_destroy from a callback (and so ws_listen, ws_conn_adopt) it fails: WS_ERR_CLOSED. */
WS_API ws_result ws_connect(ws_ctx *ctx, const char *url, const ws_connect_opts *opts,
                            void *conn_user, ws_conn **out);
/* BLOCKING, for small programs: ws_connect, then ws_poll until the connection is open or
 * failed (or timeout_ms passes; 0 = no limit). Other connections keep being served meanwhile.
 * WS_OK (*out set; already closing if the server closed at once: its CLOSE follows), a
 * ws_connect error, or why the attempt failed (WS_ERR_DNS, _CONNECT,
 * _TLS, _HANDSHAKE, _IO, _TIMEOUT...), with ws_ctx_error saying which step: "connect timed
 * out", "handshake timed out", "connection refused ...". Not from a callback (WS_ERR_STATE). */
WS_API ws_result ws_connect_blocking(ws_ctx *ctx, const char *url, const ws_connect_opts *opts,
                                     void *conn_user, int timeout_ms, ws_conn **out);
#endif

/* One loop pass: waits at most timeout_ms (0 = not at all, -1 = until something happens),
 * then handles sockets and timers. Returns the number of events delivered, or WS_ERR_IO
 * (the wait failed), WS_ERR_NOMEM, WS_ERR_ARG (ctx NULL), WS_ERR_CLOSED (a callback called
 * ws_ctx_destroy: ctx is freed now). Not from a callback (asserted; without asserts
 * WS_ERR_STATE, nothing done). */
WS_API int ws_poll(ws_ctx *ctx, int timeout_ms);
/* Foreign loops (GLib, Qt, Win32): ws_pollfds fills out[0..cap) with the sockets to watch
 * and *timeout_ms with the longest the host may wait (-1: no deadline; 0: work is pending).
 * Returns how many entries it needs: call again with more room when that exceeds cap. After
 * the host waited, ws_dispatch(ctx, fds, n) with revents set (any subset, n = 0 for timers). */
typedef struct ws_pollfd { intptr_t fd; short events, revents; } ws_pollfd;
WS_API size_t ws_pollfds(ws_ctx *ctx, ws_pollfd *out, size_t cap, int *timeout_ms);
WS_API void   ws_dispatch(ws_ctx *ctx, const ws_pollfd *fds, size_t n);
/* With ws_config.on_watch/on_timer: a watched socket is ready (revents: WS_POLLIN, WS_POLLOUT,
 * WS_POLLERR, WS_POLLHUP; token from on_watch, never one whose watch ended), or the timer
 * fired. Each handles what is due and returns. ws_socket_ready not from a callback (asserted;
 * else ignored); ws_timer_fired from one runs as the ws.h call running it ends. */
WS_API void   ws_socket_ready(ws_ctx *ctx, void *token, int revents);
WS_API void   ws_timer_fired(ws_ctx *ctx);

/* ---- the loop as the application's only loop: your descriptors, your timers, and work
 * handed over from other threads. All run on the loop's thread, inside ws_poll / ws_dispatch /
 * ws_socket_ready, and may call anything a WS_EV_ callback may. ---- */
typedef struct ws_watch ws_watch;   /* opaque, owned by its ws_ctx */
typedef struct ws_timer ws_timer;   /* opaque, owned by its ws_ctx */
/* Watch a descriptor of yours (a serial port, a database client's or broker's socket, a pipe):
 * fn(ctx, fd, revents, arg) when it is ready for events (WS_POLLIN | WS_POLLOUT; 0 = paused).
 * Level-triggered, like poll(). WS_OK, WS_ERR_ARG (also: epoll refuses the fd, e.g. a regular
 * file or one watched already; ws_ctx_error says so), WS_ERR_NOMEM. A watched fd closed without
 * ws_watch_remove: with epoll nothing fires again; with poll() fn gets WS_POLLERR once and the
 * watch pauses (remove it). */
#ifndef WS_NO_WATCH
WS_API ws_result ws_watch_fd(ws_ctx *ctx, intptr_t fd, int events,
                             void (*fn)(ws_ctx *ctx, intptr_t fd, int revents, void *arg),
                             void *arg, ws_watch **out);
WS_API void      ws_watch_set(ws_watch *w, int events);   /* a new interest (0 = pause) */
WS_API void      ws_watch_remove(ws_watch *w);   /* before you close the fd; also from fn */
#endif
/* fn(ctx, arg) once after ms (0 = in the next pass), then every repeat_ms if > 0. With out,
 * the timer lives until ws_timer_cancel (a fired one-shot can be started again with
 * ws_timer_again); with out NULL, a one-shot is freed once it ran. WS_OK, WS_ERR_ARG,
 * WS_ERR_NOMEM. Timers share the connections' heap: O(log n) each. */
#ifndef WS_NO_TIMERS
WS_API ws_result ws_timer_start(ws_ctx *ctx, int ms, int repeat_ms,
                                void (*fn)(ws_ctx *ctx, void *arg), void *arg, ws_timer **out);
WS_API void      ws_timer_again(ws_timer *t, int ms);   /* (re)arm: fires after ms */
WS_API void      ws_timer_cancel(ws_timer *t);          /* frees it; also from its fn */
#endif
/* Thread-safe, from any thread: fn(ctx, arg) runs on the loop's thread in its next pass,
 * in the order posted, and is never lost (posts still queued run in ws_ctx_destroy). A
 * bounded queue (ws_config.max_posts): WS_ERR_FULL when it is full (try again later),
 * WS_ERR_CLOSED once ws_ctx_destroy began, WS_ERR_ARG, WS_ERR_NOMEM (the allocator must then
 * be thread-safe). With WS_NO_THREADS: from the loop's thread only. */
#ifndef WS_NO_POST
WS_API ws_result ws_ctx_post(ws_ctx *ctx, void (*fn)(ws_ctx *ctx, void *arg), void *arg);
#endif

/* A stream that is already connected, as a connection of ctx: fd, a connected socket (client
 * side: o->url names the request; server side: accepted, o->head = bytes of the request that
 * were read already, o->upgraded = the 101 was sent already, o->extensions = what it
 * agreed), or o->io, your transport (copied; fd then is a descriptor to poll for it, or -1:
 * call ws_conn_io_ready when it can move bytes). ctx owns it from then on (and closes fd).
 * WS_OK, WS_ERR_ARG (also: o->io without read or write), WS_ERR_URL, WS_ERR_NOMEM (on an
 * error the caller keeps its stream). */
WS_API ws_result ws_conn_adopt(ws_ctx *ctx, intptr_t fd, const ws_engine_opts *o,
                               void *conn_user, ws_conn **out);
/* A ws_io without a pollable fd became readable (WS_POLLIN) and/or writable (WS_POLLOUT):
 * the loop reads/writes it in its next pass (ws_poll returns at once). */
WS_API void ws_conn_io_ready(ws_conn *c, int events);
/* ws.h's own plain TCP transport, the one its sockets use, to wrap in a ws_io of yours (to
 * count, log or throttle, passing each call on). Its io is the connected non-blocking socket
 * itself, (void *)(intptr_t)fd: read, write, shutdown (FIN), close (closes the socket); no
 * handshake, want or pending. (wss:// is ws.h's other built-in ws_io, over mbedTLS.) */
WS_API const ws_io *ws_io_tcp(void);
#endif /* WS_NO_NET */

/* Sending copies data and writes at once when the socket takes it; the rest waits in a queue
 * bounded by max_send_queue. opcode: WS_OP_TEXT (must be UTF-8), WS_OP_BINARY, WS_OP_PING,
 * WS_OP_PONG (<= 125 bytes). With permessage-deflate a message is compressed unless the opcode
 * has WS_SEND_UNCOMPRESSED ORed in (or it is under the threshold). WS_OK, WS_ERR_FULL (nothing queued: try again after
 * WS_EV_DRAINED), WS_ERR_TOO_BIG (len > max_send_queue: never fits), WS_ERR_STATE (not open),
 * WS_ERR_CLOSED (closing), WS_ERR_ARG, WS_ERR_UTF8, WS_ERR_NOMEM. */
WS_API ws_result ws_conn_send(ws_conn *c, int opcode, const void *data, size_t len);
WS_API ws_result ws_conn_send_text(ws_conn *c, const char *text);
/* A frame exactly as given (fin, rsv bits, any opcode incl. WS_OP_CONT for fragmented
 * sends): no checks beyond what can be encoded, never compressed (with permessage-deflate,
 * rsv 0 sends a message uncompressed). For tests and extensions. WS_OK, WS_ERR_ARG
 * (rsv > 7, opcode > 15), WS_ERR_FULL, WS_ERR_TOO_BIG, WS_ERR_STATE, WS_ERR_CLOSED,
 * WS_ERR_NOMEM. */
WS_API ws_result ws_conn_send_frame(ws_conn *c, int fin, int rsv, int opcode,
                                    const void *data, size_t len);
/* Graceful close: sends a close frame (code 0 = none; reason <= 123 bytes UTF-8), waits
 * for the peer's, then closes TCP (close_timeout_ms at most). No reconnect follows (also
 * from an ERROR callback, where a failure's own close code is kept). WS_OK, WS_ERR_ARG
 * (invalid code or reason), WS_ERR_CLOSED (already closing). */
WS_API ws_result ws_conn_close(ws_conn *c, uint16_t code, const char *reason);
/* Forced close: drops TCP now; WS_EV_CLOSE (1006) follows in the loop. */
WS_API void      ws_conn_drop(ws_conn *c);

WS_API int         ws_conn_state(const ws_conn *c);        /* WS_STATE_... */
WS_API void       *ws_conn_user(const ws_conn *c);
WS_API ws_ctx     *ws_conn_ctx(const ws_conn *c);          /* its context; NULL: an engine */
WS_API void        ws_conn_set_user(ws_conn *c, void *user);
WS_API uint64_t    ws_conn_id(const ws_conn *c);           /* unique in its ctx, from 1 */
WS_API int         ws_conn_is_server(const ws_conn *c);    /* 1 = accepted by a listener */
WS_API int64_t     ws_conn_age_ms(const ws_conn *c);       /* since accept / ws_connect / create */
/* The chosen subprotocol, "" if none; and the agreed Sec-WebSocket-Extensions value
 * ("permessage-deflate; ..."), "" if none. Both valid until c's CLOSE event returns (a
 * reconnecting client: until its next attempt). */
WS_API const char *ws_conn_protocol(const ws_conn *c);
WS_API const char *ws_conn_extensions(const ws_conn *c);
WS_API size_t      ws_conn_queued(const ws_conn *c);       /* bytes waiting to be sent */
WS_API void        ws_conn_set_fragments(ws_conn *c, int on);  /* per-connection override */
/* Remote address as "1.2.3.4:5678" or "[::1]:5678" into out (NUL-terminated, 64 is always
 * enough); *port_out (may be NULL). WS_OK, or WS_ERR_STATE before a socket is connected. */
WS_API ws_result   ws_conn_remote(const ws_conn *c, char *out, size_t cap, uint16_t *port_out);

#ifndef WS_NO_NET
WS_API size_t   ws_conn_count(const ws_ctx *ctx);                 /* open connections */
WS_API ws_conn *ws_conn_next(const ws_ctx *ctx, const ws_conn *prev); /* iterate; NULL starts */
/* Send to every open server connection except `except` (may be NULL). The opcodes and codes
 * of ws_conn_send: WS_OK, WS_ERR_ARG or WS_ERR_UTF8 (nothing sent), or the first per-connection
 * error (the others are still sent to); *sent (may be NULL) = how many took it. A peer whose
 * queue is full (WS_ERR_FULL: max_send_queue or max_memory) misses this message. Compressed
 * (permessage-deflate): once per window size among the peers, the same bytes to each. */
WS_API ws_result ws_broadcast(ws_ctx *ctx, int opcode, const void *data, size_t len,
                              const ws_conn *except, size_t *sent);
/* The same, choosing what happens to slow peers: *full (may be NULL) = how many missed the
 * message because their queue was full; with WS_BROADCAST_CLOSE_SLOW those are closed
 * (1013 "send queue full", then dropped after close_timeout_ms if they do not read). */
enum { WS_BROADCAST_CLOSE_SLOW = 1 };
WS_API ws_result ws_broadcast_ex(ws_ctx *ctx, int opcode, const void *data, size_t len,
                                 const ws_conn *except, int flags, size_t *sent, size_t *full);

/* ---- safe handles, for code that keeps a connection beyond a callback (a GUI's "current
 * connection"): keep ws_conn_id(c), not c. Lifetimes: a ws_conn * is valid from ws_connect
 * (clients) or WS_EV_OPEN (servers; on_upgrade/on_http see it earlier) until its WS_EV_CLOSE
 * callback returns (longer when reconnect_ms > 0); ids are never reused in a ctx. Build with
 * -DWS_DEBUG to make a use of a freed ws_conn * in the API an assertion failure (freed conns
 * are poisoned and kept aside until ws_ctx_destroy). */
/* The connection with this id, or NULL once it is closed (its WS_EV_CLOSE fired) or freed. */
WS_API ws_conn  *ws_conn_find(ws_ctx *ctx, uint64_t id);
/* ws_conn_send by id: WS_ERR_CLOSED when no open connection has that id; else as ws_conn_send. */
WS_API ws_result ws_send_id(ws_ctx *ctx, uint64_t id, int opcode, const void *data, size_t len);
/* Gracefully close every connection (e.g. to stop a server, with ws_listener_close). */
WS_API void ws_close_all(ws_ctx *ctx, uint16_t code, const char *reason);
#endif /* WS_NO_NET */

#ifdef __cplusplus
}
#endif
#endif /* WS_H_INCLUDED */

#if defined(WS_IMPLEMENTATION) && !defined(WS__IMPL_DONE)
#define WS__IMPL_DONE
/* ==== >>config ==== allocation, assertions, internal helpers ==== */
#include <string.h>
#if defined(__GLIBC__) && !defined(__USE_XOPEN2K) && !defined(WS_NO_NET)
#  error "ws.h: getaddrinfo/poll are hidden: in the .c file that defines WS_IMPLEMENTATION, include ws.h before any other header (or compile with -D_DEFAULT_SOURCE or -std=gnu99)"
#endif
#if defined(WS_STATIC) && defined(__GNUC__)
#  pragma GCC diagnostic push   /* a private copy need not use every function */
#  pragma GCC diagnostic ignored "-Wunused-function"
#endif
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
#ifdef WS_NO_ERROR_TEXT   /* firmware: reasons and messages become "" (a few KB less) */
#  define WS__T(s) ""
#  define WS__TEXT 0      /* 0: skip building texts (log lines) that would be all "" */
#else
#  define WS__T(s) s
#  define WS__TEXT 1
#endif
#if defined(__GNUC__)   /* helpers that a part switch (WS_NO_CLIENT...) may leave unused */
#  define WS__UNUSED __attribute__((unused))
#else
#  define WS__UNUSED
#endif
#define WS__MIN(a, b) ((a) < (b) ? (a) : (b))
#define WS__MAX(a, b) ((a) > (b) ? (a) : (b))

#ifdef __cplusplus
extern "C" {
#endif

WS_API const char *ws_result_str(ws_result r) {
    switch (r) {
    case WS_OK:            return WS__T("ok");
    case WS_AGAIN:         return WS__T("in progress (would block or needs more input)");
    case WS_ERR_ARG:       return WS__T("invalid argument");
    case WS_ERR_NOMEM:     return WS__T("out of memory");
    case WS_ERR_PROTOCOL:  return WS__T("WebSocket protocol error");
    case WS_ERR_UTF8:      return WS__T("invalid UTF-8 in text");
    case WS_ERR_TOO_BIG:   return WS__T("over a size limit");
    case WS_ERR_HANDSHAKE: return WS__T("WebSocket handshake failed");
    case WS_ERR_IO:        return WS__T("I/O error");
    case WS_ERR_TLS:       return WS__T("TLS error");
    case WS_ERR_CLOSED:    return WS__T("connection closed");
    case WS_ERR_URL:       return WS__T("invalid ws:// or wss:// URL");
    case WS_ERR_DNS:       return WS__T("host name lookup failed");
    case WS_ERR_CONNECT:   return WS__T("TCP connect failed");
    case WS_ERR_TIMEOUT:   return WS__T("timed out");
    case WS_ERR_FULL:      return WS__T("send queue or memory budget full");
    case WS_ERR_LIMIT:     return WS__T("connection limit reached");
    case WS_ERR_STATE:     return WS__T("not valid in the connection's state");
    case WS_ERR_ADDR_IN_USE: return WS__T("address already in use");
    case WS_ERR_PROXY:     return WS__T("HTTP proxy refused or failed the tunnel");
    }
    return WS__T("unknown ws_result");
}

static int ws__lower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }
static int ws__span_ieq(ws_span s, const char *z, size_t n) {
    size_t i;
    if (s.len != n) return 0;
    for (i = 0; i < n; i++)
        if (s.ptr[i] != z[i] && ws__lower((unsigned char)s.ptr[i]) != ws__lower((unsigned char)z[i])) return 0;
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
#elif defined(WS_NO_NET)   /* the codec and a server never need random bytes: ws_random fails, */
#  define WS__NO_RANDOM 1  /* and a client is refused (its masks must be unpredictable) */
WS_API ws_result ws_random(void *buf, size_t len) { (void)buf; (void)len; return WS_ERR_IO; }
#else
#  error "ws.h: no known random source on this platform; #define WS_RANDOM(buf, len)"
#endif

/* ==== >>sha1 ==== FIPS 180-4 section 6.1. Pure: no I/O, no allocation. ==== */
static uint32_t ws__rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
static uint32_t ws__be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

#define WS__SHA1_CH(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
#define WS__SHA1_PAR(b, c, d) ((b) ^ (c) ^ (d))
#define WS__SHA1_MAJ(b, c, d) (((b) & (c)) | ((d) & ((b) | (c))))
#if !defined(__OPTIMIZE_SIZE__)   /* -O1..-O3: five rounds per step, the variables renamed */
#  define WS__SHA1_FAST 1         /* instead of moved (~1,000 instructions fewer per block,  */
#  define WS__SHA1_R(a, b, c, d, e, f, k, i) \
    e += ws__rol(a, 5) + f(b, c, d) + (k) + w[i]; b = ws__rol(b, 30);
#  define WS__SHA1_ROUNDS(end, f, k) \
    for (; i < (end); i += 5) { \
        WS__SHA1_R(a, b, c, d, e, f, k, i)     WS__SHA1_R(e, a, b, c, d, f, k, i + 1) \
        WS__SHA1_R(d, e, a, b, c, f, k, i + 2) WS__SHA1_R(c, d, e, a, b, f, k, i + 3) \
        WS__SHA1_R(b, c, d, e, a, f, k, i + 4) \
    }
#else   /* -Os (firmware): one round per step, ~200 bytes smaller on a Cortex-M */
#  define WS__SHA1_FAST 0
#  define WS__SHA1_ROUNDS(end, f, k) \
    for (; i < (end); i++) { \
        t = ws__rol(a, 5) + f(b, c, d) + e + (k) + w[i]; \
        e = d; d = c; c = ws__rol(b, 30); b = a; a = t; \
    }
#endif
/* One loop per round function (no per-round test of which one applies). */
static void ws__sha1_rounds(uint32_t h[5], const uint32_t w[80]) {
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
#if !WS__SHA1_FAST
    uint32_t t;
#endif
    int i = 0;
    WS__SHA1_ROUNDS(20, WS__SHA1_CH, 0x5A827999u)
    WS__SHA1_ROUNDS(40, WS__SHA1_PAR, 0x6ED9EBA1u)
    WS__SHA1_ROUNDS(60, WS__SHA1_MAJ, 0x8F1BBCDCu)
    WS__SHA1_ROUNDS(80, WS__SHA1_PAR, 0xCA62C1D6u)
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}
static void ws__sha1_block(uint32_t h[5], const uint8_t *p) {
    uint32_t w[80];
    int i;
    for (i = 0; i < 16; i++) w[i] = ws__be32(p + 4 * i);
    for (; i < 80; i++) w[i] = ws__rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    ws__sha1_rounds(h, w);
}
#if WS__SHA1_FAST
/* The message schedule of the last block of every 60-byte message (a 24-character
 * Sec-WebSocket-Key and the GUID): only padding and the length (480 bits), so it is fixed.
 * ws_accept_key uses it instead of building and expanding that block. */
static const uint32_t ws__sha1_w60[80] = {
    0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u,
    0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x000001E0u,
    0x00000000u, 0x00000000u, 0x000003C0u, 0x00000000u, 0x00000000u, 0x00000780u, 0x00000000u, 0x000003C0u,
    0x00000F00u, 0x00000000u, 0x00000000u, 0x00001E00u, 0x00000000u, 0x00000CC0u, 0x00003C00u, 0x00000440u,
    0x00000000u, 0x00007800u, 0x00000F00u, 0x00003300u, 0x0000F000u, 0x00000F00u, 0x00000000u, 0x0001EF00u,
    0x00000000u, 0x0000CC00u, 0x0003C000u, 0x00004380u, 0x00000000u, 0x00078F00u, 0x0000FF00u, 0x00032680u,
    0x000F0000u, 0x0000F000u, 0x00003300u, 0x001EFF00u, 0x00000000u, 0x000CB800u, 0x003C0000u, 0x00040B00u,
    0x0000F000u, 0x0078FF00u, 0x000FF000u, 0x00338700u, 0x00F00000u, 0x000FC300u, 0x0000F000u, 0x01EFBB00u,
    0x00000000u, 0x00CC0000u, 0x03C0F000u, 0x00438000u, 0x00000000u, 0x078F0000u, 0x00FF0000u, 0x03269E00u,
    0x0F000000u, 0x00F0F000u, 0x00333C00u, 0x1EFF8800u, 0x00000000u, 0x0CB88800u, 0x3C00F000u, 0x040A4A00u
};
#endif

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

static void ws__sha1_digest(const uint32_t h[5], uint8_t digest[20]) {   /* big-endian words */
    int i;
#if WS__SHA1_FAST   /* a word's bytes at once: no variable shift (~190 instructions fewer) */
    for (i = 0; i < 5; i++) {
        digest[4 * i] = (uint8_t)(h[i] >> 24); digest[4 * i + 1] = (uint8_t)(h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(h[i] >> 8); digest[4 * i + 3] = (uint8_t)h[i];
    }
#else
    for (i = 0; i < 20; i++) digest[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
#endif
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
    ws__sha1_digest(s->h, digest);
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
    for (i = 0; i < n; i += 3) {   /* the last group may have 1 or 2 bytes: '=' pads it */
        size_t k = n - i;
        uint32_t v = ((uint32_t)p[i] << 16) | (k > 1 ? (uint32_t)p[i + 1] << 8 : 0) | (k > 2 ? p[i + 2] : 0);
        out[o++] = ws__b64[v >> 18];
        out[o++] = ws__b64[(v >> 12) & 63];
        out[o++] = k > 1 ? ws__b64[(v >> 6) & 63] : '=';
        out[o++] = k > 2 ? ws__b64[v & 63] : '=';
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
    uint32_t acc = 0;
    unsigned bits = 0;
    if (n % 4 || (!in && n)) return WS_ERR_ARG;
    if (n >= 1 && in[n - 1] == '=') pad++;
    if (n >= 2 && in[n - 2] == '=') pad++;
    if (n / 4 * 3 - pad > cap || (!out && n)) return WS_ERR_ARG;
    for (i = 0; i < n - pad; i++) {   /* '=' is allowed only as the final padding */
        int v = ws__b64val((unsigned char)in[i]);
        if (v < 0) return WS_ERR_ARG;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) { bits -= 8; o[olen++] = (uint8_t)(acc >> bits); }
    }
    if (acc & ((1u << bits) - 1)) return WS_ERR_ARG;   /* bits the padding drops must be 0 */
    if (out_len) *out_len = olen;
    return WS_OK;
}

/* A valid Sec-WebSocket-Key (RFC 6455 4.1: base64 of 16 bytes), as ws_base64_decode takes
 * it: 22 characters of the alphabet (the last one's 4 dropped bits 0), then "==". */
WS__UNUSED static int ws__key16(const char *k, size_t n) {
    int i, v = 0;
    if (n != 24 || k[22] != '=' || k[23] != '=') return 0;
    for (i = 0; i < 22 && (v = ws__b64val((unsigned char)k[i])) >= 0; i++) {}
    return i == 22 && !(v & 15);
}

WS_API void ws_accept_key(const char *key, size_t key_len, char out[29]) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint8_t digest[20];
    ws_sha1 s;
#if WS__SHA1_FAST
    if (key_len == 24) {   /* every valid key: one block built in place, the fixed last one */
        ws_sha1_init(&s);
        memcpy(s.buf, key, 24);
        memcpy(s.buf + 24, guid, 36);
        s.buf[60] = 0x80; s.buf[61] = s.buf[62] = s.buf[63] = 0;
        ws__sha1_block(s.h, s.buf);
        ws__sha1_rounds(s.h, ws__sha1_w60);
        ws__sha1_digest(s.h, digest);
    } else
#endif
    {
        ws_sha1_init(&s);
        ws_sha1_update(&s, key, key_len);
        ws_sha1_update(&s, guid, sizeof guid - 1);
        ws_sha1_final(&s, digest);
    }
    ws_base64_encode(digest, 20, out, 29, NULL);
}

WS_API void ws_client_key(const uint8_t random16[16], char out[25]) {
    ws_base64_encode(random16, 16, out, 25, NULL);
}

/* ==== >>utf8 ==== RFC 3629 validation, incremental, a word at a time over ASCII ==== */
/* ---- the vector path: whole 16-byte blocks checked at once (SSE2 on x86, NEON on AArch64),
 * ASCII 64 bytes at a time. Each block is read a second and third time one and two bytes
 * earlier (p1, p2: the byte before each byte, and the one before that; p3 for 4-byte text), and
 * checked with compares and saturating subtractions only (no tables): a byte is a continuation
 * exactly where a lead byte 1-3 places back requires one (p1 >= C0, p2 >= E0, p3 >= F0), C0/C1
 * and F5-FF never appear, and the byte after E0, ED, F0, F4 is narrowed as in the scalar code.
 * The 3- and 4-byte checks run only where such leads are near. A block with any error is left
 * to the scalar code, which finds the exact offset; so is the tail, from the last character
 * boundary. WS_NO_SIMD keeps the portable path. ---- */
#if !defined(WS_NO_SIMD) && (defined(__cplusplus) || (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L)) && \
    (defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2))
#  include <emmintrin.h>
#  define WS__UTF8_SIMD 1
typedef __m128i ws__v16;
#  define WS__V_LOAD(p)      _mm_loadu_si128((const __m128i *)(const void *)(p))
#  define WS__V_SET1(x)      _mm_set1_epi8((char)(x))
#  define WS__V_ZERO()       _mm_setzero_si128()
#  define WS__V_GT(a, b)     _mm_cmpgt_epi8(a, b)      /* signed bytes */
#  define WS__V_EQ(a, b)     _mm_cmpeq_epi8(a, b)
#  define WS__V_SUBU(a, b)   _mm_subs_epu8(a, b)       /* unsigned, saturating at 0 */
#  define WS__V_AND(a, b)    _mm_and_si128(a, b)
#  define WS__V_OR(a, b)     _mm_or_si128(a, b)
#  define WS__V_XOR(a, b)    _mm_xor_si128(a, b)
#  define WS__V_ANY(a)       (_mm_movemask_epi8(a) != 0)   /* a: a compare's 00/FF bytes */
/* a compare's bytes as bits, byte k at bit k; the top bit of each byte of v; >> WS__V_TOP3
 * leaves the bits of bytes 13-15 */
#  define WS__V_BITS(a)      ((uint64_t)(unsigned)_mm_movemask_epi8(a))
#  define WS__V_HIBITS(v)    ((uint64_t)(unsigned)_mm_movemask_epi8(v))
#  define WS__V_TOP3         13
#  define WS__V_STORE(p, a)  _mm_storeu_si128((__m128i *)(void *)(p), a)
#elif !defined(WS_NO_SIMD) && (defined(__aarch64__) || defined(_M_ARM64)) && !defined(__AARCH64EB__) && \
    (defined(__cplusplus) || (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L))
#  include <arm_neon.h>   /* little-endian only: WS__V_BITS counts lanes from the low end */
#  define WS__UTF8_SIMD 1
typedef int8x16_t ws__v16;
#  define WS__V_LOAD(p)      vreinterpretq_s8_u8(vld1q_u8((const uint8_t *)(p)))
#  define WS__V_SET1(x)      vreinterpretq_s8_u8(vdupq_n_u8((uint8_t)(x)))
#  define WS__V_ZERO()       vdupq_n_s8(0)
#  define WS__V_GT(a, b)     vreinterpretq_s8_u8(vcgtq_s8(a, b))
#  define WS__V_EQ(a, b)     vreinterpretq_s8_u8(vceqq_s8(a, b))
#  define WS__V_SUBU(a, b)   vreinterpretq_s8_u8(vqsubq_u8(vreinterpretq_u8_s8(a), vreinterpretq_u8_s8(b)))
#  define WS__V_AND(a, b)    vandq_s8(a, b)
#  define WS__V_OR(a, b)     vorrq_s8(a, b)
#  define WS__V_XOR(a, b)    veorq_s8(a, b)
#  define WS__V_ANY(a)       (vmaxvq_u8(vreinterpretq_u8_s8(a)) != 0)
/* four bits per byte (the usual shift-and-narrow in place of x86's movemask) */
#  define WS__V_BITS(a)      vget_lane_u64(vreinterpret_u64_u8(vshrn_n_u16(vreinterpretq_u16_s8(a), 4)), 0)
#  define WS__V_HIBITS(v)    WS__V_BITS(vreinterpretq_s8_u8(vcltzq_s8(v)))
#  define WS__V_TOP3         52
#  define WS__V_STORE(p, a)  vst1q_u8((uint8_t *)(p), vreinterpretq_u8_s8(a))
#endif

#ifdef WS__UTF8_SIMD
/* Validates whole blocks of p[0..n), which starts at a character boundary. Returns how many
 * bytes are valid and end at a character boundary: the scalar code goes on from there (an
 * error, if any, lies after it, within the next 16 + 3 bytes). */
static size_t ws__utf8_simd(const uint8_t *p, size_t n) {
    const ws__v16 zero = WS__V_ZERO(), c_m64 = WS__V_SET1(-64), c_fe = WS__V_SET1(0xFE);
    const ws__v16 c_c0 = WS__V_SET1(0xC0), c_bf = WS__V_SET1(0xBF), c_df = WS__V_SET1(0xDF);
    const ws__v16 c_ef = WS__V_SET1(0xEF), c_10 = WS__V_SET1(0x10), c_15 = WS__V_SET1(0x15);
    const ws__v16 c_e0 = WS__V_SET1(0xE0), c_ed = WS__V_SET1(0xED), c_f0 = WS__V_SET1(0xF0);
    const ws__v16 c_f4 = WS__V_SET1(0xF4), c_a0 = WS__V_SET1(0xA0), c_90 = WS__V_SET1(0x90);
    uint8_t first[19];                 /* block 0 with the three (ASCII) bytes before it */
    uint64_t hb = 0, b3 = 0, b4 = 0;   /* the previous block's bytes >= 80, >= E0, >= F0 */
    size_t i = 0, j;
    memset(first, 0, 3);
    memcpy(first + 3, p, 16);
    while (n - i >= 16) {
        const uint8_t *q;                        /* where p1..p3 are read from */
        ws__v16 v, p1, x, need, err;
        uint64_t h;
        if (!(hb >> WS__V_TOP3)) {               /* no character open: 64 bytes of ASCII? */
            for (; i + 64 <= n; i += 64) {
                ws__v16 a = WS__V_OR(WS__V_OR(WS__V_LOAD(p + i), WS__V_LOAD(p + i + 16)),
                                     WS__V_OR(WS__V_LOAD(p + i + 32), WS__V_LOAD(p + i + 48)));
                if (WS__V_HIBITS(a)) break;
            }
            if (n - i < 16) break;
        }
        v = WS__V_LOAD(p + i);
        h = WS__V_HIBITS(v);
        if (!h && !(hb >> WS__V_TOP3)) { hb = b3 = b4 = 0; i += 16; continue; }   /* ASCII */
        hb = h;
        q = i ? p + i : first + 3;
        p1 = WS__V_LOAD(q - 1);
        need = WS__V_SUBU(p1, c_bf);                            /* after C0-FF */
        err = WS__V_EQ(WS__V_AND(v, c_fe), c_c0);               /* C0, C1 */
        x = WS__V_SUBU(v, c_df);                                /* E0-FF: 1-20, else 0 */
        h = WS__V_BITS(WS__V_GT(x, zero));
        if (h | b3 >> WS__V_TOP3) {                             /* 3- and 4-byte characters */
            ws__v16 lt = WS__V_GT(c_a0, v), e0 = WS__V_EQ(p1, c_e0), ed = WS__V_EQ(p1, c_ed);
            need = WS__V_OR(need, WS__V_SUBU(WS__V_LOAD(q - 2), c_df));   /* 2 after E0-FF */
            /* after E0 at least A0, after ED at most 9F (lt: below A0) */
            err = WS__V_OR(err, WS__V_AND(WS__V_OR(e0, ed), WS__V_XOR(lt, ed)));
            b3 = h;
            h = WS__V_BITS(WS__V_GT(x, c_10));                  /* F0-FF */
            if (h | b4 >> WS__V_TOP3) {
                ws__v16 f0 = WS__V_EQ(p1, c_f0), f4 = WS__V_EQ(p1, c_f4);
                need = WS__V_OR(need, WS__V_SUBU(WS__V_LOAD(q - 3), c_ef));   /* 3 after F0-FF */
                err = WS__V_OR(err, WS__V_GT(x, c_15));         /* F5-FF */
                /* after F0 at least 90, after F4 at most 8F */
                err = WS__V_OR(err, WS__V_AND(WS__V_OR(f0, f4), WS__V_XOR(WS__V_GT(c_90, v), f4)));
            }
            b4 = h;
        } else {
            b3 = b4 = 0;
        }
        /* a continuation (80-BF) exactly where one is due */
        err = WS__V_OR(err, WS__V_EQ(WS__V_GT(c_m64, v), WS__V_EQ(need, zero)));
        if (WS__V_ANY(err)) break;               /* the scalar code says where */
        i += 16;
    }
    /* p[0..i) is checked, but a character may run on past i: back to where it starts */
    for (j = 1; j <= 3 && j <= i; j++) {
        uint8_t b = p[i - j];
        if ((b & 0xC0) == 0x80) continue;        /* a continuation: look further back */
        if (b >= 0xC0 && (size_t)(b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1) >= j) return i - j;
        break;
    }
    return i;
}
#endif

/* State: need = continuation bytes still expected; the next one must lie in [lo, hi]. The
 * narrowed first-continuation ranges (E0: A0-BF, ED: 80-9F, F0: 90-BF, F4: 80-8F) are what
 * rule out overlongs, surrogates and code points above U+10FFFF at the earliest byte. */
WS_API ws_result ws_utf8_feed(ws_utf8 *s, const void *data, size_t n, size_t *bad_at) {
    const uint8_t *p = (const uint8_t *)data;
    size_t i = 0;
    unsigned need = s->need, lo = s->lo, hi = s->hi;   /* locals: p may alias *s */
    while (i < n) {
        unsigned b = p[i];
        if (need) {                /* inside a character that began in an earlier feed */
            if (b < lo || b > hi) goto bad;
            need--; lo = 0x80; hi = 0xBF;
            i++;
            continue;
        }
#ifdef WS__UTF8_SIMD
        if (n - i >= 64) {         /* at a character boundary, with room for vectors */
            size_t k = ws__utf8_simd(p + i, n - i);
            if (k) { i += k; continue; }
        }
#endif
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
        lo = 0x80; hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) need = 1;
        else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            if (b == 0xE0) lo = 0xA0;           /* overlong */
            else if (b == 0xED) hi = 0x9F;      /* surrogates D800-DFFF */
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            if (b == 0xF0) lo = 0x90;           /* overlong */
            else if (b == 0xF4) hi = 0x8F;      /* above U+10FFFF */
        } else goto bad;                         /* 80-C1 (stray/overlong), F5-FF */
        i++;
        if (n - i >= need) {       /* the whole character is here: check it in one go */
            if (p[i] < lo || p[i] > hi) goto bad;
            if (need > 1 && (p[i + 1] & 0xC0) != 0x80) { i += 1; goto bad; }
            if (need > 2 && (p[i + 2] & 0xC0) != 0x80) { i += 2; goto bad; }
            i += need;
            need = 0;
        }
    }
    s->need = (uint8_t)need; s->lo = (uint8_t)lo; s->hi = (uint8_t)hi;
    return WS_OK;
bad:
    if (bad_at) *bad_at = i;
    s->need = (uint8_t)need; s->lo = (uint8_t)lo; s->hi = (uint8_t)hi;
    return WS_ERR_UTF8;
}

WS_API int ws_utf8_complete(const ws_utf8 *s) { return s->need == 0; }

WS_API ws_result ws_utf8_validate(const void *p, size_t n) {
    ws_utf8 s = {0, 0, 0};
    if (ws_utf8_feed(&s, p, n, NULL) != WS_OK || s.need) return WS_ERR_UTF8;
    return WS_OK;
}

/* ==== >>frame ==== Frame codec, RFC 6455 section 5. Pure: no I/O, no allocation. ==== */
/* A ws_frame in 16 bytes, not 24 (12 on a 32-bit target): what ws__frame_parse fills, the
 * frame a connection is receiving (ws_conn.fr). No mask bit: the role fixes it (WS_PARSE_MASKED
 * / _UNMASKED). The length is a size_t, so a 32-bit target does no 64-bit arithmetic per frame:
 * one that does not fit is (size_t)-1 (too big for any buffer; ws_frame_parse reads it again). */
typedef struct ws__rxf {
    uint8_t  fin, rsv, opcode;
    uint8_t  header_len;         /* 2..14 bytes */
    uint8_t  mask[4];            /* zero when unmasked */
    size_t   payload_len;
} ws__rxf;
/* ws_frame_parse into a ws__rxf: the engine parses straight into c->fr */
static ws_result ws__frame_parse(const uint8_t *buf, size_t len, unsigned flags, ws__rxf *f,
                                 size_t *need, const char **why) {
    const char *err;
    size_t hlen, i, plen;
    unsigned len7, masked;
    if (len < 1) { if (need) *need = 2; return WS_AGAIN; }
    f->fin = (uint8_t)(buf[0] >> 7);
    f->rsv = (uint8_t)((buf[0] >> 4) & 7);
    f->opcode = (uint8_t)(buf[0] & 15);
    /* RFC 6455 5.2: opcodes 3-7 and B-F are reserved; the connection MUST be failed */
    if ((f->opcode >= 3 && f->opcode <= 7) || f->opcode >= 0xB) { err = WS__T("reserved opcode"); goto bad; }
    /* 5.2: RSV bits MUST be 0 unless an extension defines them */
    if (f->rsv & ~(flags & WS_PARSE_RSV_MASK)) { err = WS__T("RSV bit set without an extension"); goto bad; }
    /* 5.5: control frames MUST NOT be fragmented */
    if ((f->opcode & 8) && !f->fin) { err = WS__T("fragmented control frame"); goto bad; }
    if (len < 2) { if (need) *need = 1; return WS_AGAIN; }
    masked = (unsigned)buf[1] >> 7;
    len7 = buf[1] & 127u;
    /* 5.5: control frames MUST have a payload of 125 bytes or less */
    if ((f->opcode & 8) && len7 > 125) { err = WS__T("control frame payload over 125 bytes"); goto bad; }
    /* 5.1: a server MUST fail on unmasked frames, a client on masked ones */
    if ((flags & WS_PARSE_MASKED) && !masked) { err = WS__T("client frame not masked"); goto bad; }
    if ((flags & WS_PARSE_UNMASKED) && masked) { err = WS__T("server frame masked"); goto bad; }
    hlen = (size_t)2 + (len7 == 126 ? 2u : len7 == 127 ? 8u : 0u) + (masked ? 4u : 0u);
    /* 5.2: a bad 64-bit length shows in its leading bytes: report it before all 8 arrive */
    if (len7 == 127 && len > 2 && (buf[2] >> 7)) { err = WS__T("64-bit length with the top bit set"); goto bad; }
    if (len7 == 127 && len >= 8 && !(buf[2] | buf[3] | buf[4] | buf[5] | buf[6] | buf[7])) {
        err = WS__T("non-minimal 64-bit length"); goto bad;   /* < 65536 whatever the last two are */
    }
    if (len < hlen - (masked ? 4 : 0)) {
        if (need) *need = hlen - len;
        return WS_AGAIN;
    }
    plen = len7;
    if (len7 == 126) {
        plen = ((size_t)buf[2] << 8) | buf[3];
        /* 5.2: "the minimal number of bytes MUST be used to encode the length" */
        if (plen < 126) { err = WS__T("non-minimal 16-bit length"); goto bad; }
    } else if (len7 == 127) {
        plen = 0;
        for (i = 0; i < 8; i++) plen = (plen << 8) | buf[2 + i];   /* checked above */
        if (sizeof plen < 8 && (buf[2] | buf[3] | buf[4] | buf[5])) plen = (size_t)-1;   /* >= 4 GiB */
    }
    if (len < hlen) { if (need) *need = hlen - len; return WS_AGAIN; }
    if (masked) memcpy(f->mask, buf + hlen - 4, 4);
    else memset(f->mask, 0, 4);
    f->header_len = (uint8_t)hlen;
    f->payload_len = plen;
    return WS_OK;
bad:
    if (why) *why = err;
    return WS_ERR_PROTOCOL;
}

WS_API ws_result ws_frame_parse(const uint8_t *buf, size_t len, unsigned flags, ws_frame *f,
                                size_t *need, const char **why) {
    ws__rxf r;
    ws_result rc;
    int i;
    memset(&r, 0, sizeof r);
    rc = ws__frame_parse(buf, len, flags, &r, need, why);
    f->fin = r.fin;
    f->rsv = r.rsv;
    f->opcode = r.opcode;
    f->masked = (uint8_t)(len > 1 ? buf[1] >> 7 : 0);
    memcpy(f->mask, r.mask, 4);
    f->header_len = r.header_len;
    f->payload_len = r.payload_len;
    if (sizeof r.payload_len < 8 && r.payload_len == (size_t)-1)   /* too long for a size_t */
        for (f->payload_len = 0, i = 0; i < 8; i++) f->payload_len = (f->payload_len << 8) | buf[2 + i];
    return rc;
}

/* A frame header: b0 = FIN|RSV|opcode, mask NULL = unmasked, the length len + hi * 2^32 (hi:
 * bits a size_t cannot hold, from ws_frame_encode on a 32-bit target). The engine calls it with a
 * size_t: no 64-bit arithmetic there. Returns the header's length, 2..14. */
#define WS__B0(fin, rsv, op) (((fin) ? 0x80u : 0u) | (unsigned)(rsv) << 4 | (unsigned)(op))   /* a header's first byte */
static size_t ws__frame_head(uint8_t out[14], unsigned b0, const uint8_t *mask, size_t len, uint32_t hi) {
    size_t n = 4;
    int i;
    out[0] = (uint8_t)b0;
    out[1] = (uint8_t)(mask ? 0x80 : 0);
    hi |= (uint32_t)(len >> 16 >> 16);   /* 0 where size_t has 32 bits */
    if (!hi && len < 126) {
        out[1] |= (uint8_t)len;
        n = 2;
    } else if (!hi && len <= 0xFFFF) {
        out[1] |= 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
    } else {
        out[1] |= 127;
        for (i = 0; i < 4; i++) {
            out[2 + i] = (uint8_t)(hi >> (24 - 8 * i));
            out[6 + i] = (uint8_t)(len >> (24 - 8 * i));   /* the low 32 bits */
        }
        n = 10;
    }
    if (mask) { memcpy(out + n, mask, 4); n += 4; }
    return n;
}

WS_API ws_result ws_frame_encode(ws_frame *f, uint8_t out[14]) {
    if (f->opcode > 15 || f->rsv > 7 || (f->payload_len >> 63)) return WS_ERR_ARG;
    f->header_len = ws__frame_head(out, WS__B0(f->fin, f->rsv, f->opcode),
                                   f->masked ? f->mask : NULL, (size_t)f->payload_len,
                                   (uint32_t)(f->payload_len >> 16 >> 16));
    return WS_OK;
}

/* dst[i] = src[i] ^ mask[(offset + i) % 4]: in place (dst == src) for ws_mask, or while a client
 * copies a payload into its queue (one pass instead of a copy and a pass). */
static void ws__mask_to(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t mask[4],
                        uint64_t offset) {
    uint8_t m[8];
    size_t i = 0, k;
    uint64_t w, mw;
    unsigned o = (unsigned)(offset & 3);
    if (!n) return;
    for (k = 0; k < 8; k++) m[k] = mask[(o + k) & 3];
    memcpy(&mw, m, 8);            /* the mask as it lines up with dst[0..8) */
#ifdef WS__UTF8_SIMD              /* 64 bytes per step (a 1 MiB frame: ~4x fewer cycles) */
    if (n >= 16) {
        uint8_t m16[16];
        ws__v16 v;
        memcpy(m16, m, 8); memcpy(m16 + 8, m, 8);
        v = WS__V_LOAD(m16);
        for (; i + 64 <= n; i += 64) {
            ws__v16 a = WS__V_LOAD(src + i), b = WS__V_LOAD(src + i + 16);
            ws__v16 c = WS__V_LOAD(src + i + 32), d = WS__V_LOAD(src + i + 48);
            WS__V_STORE(dst + i, WS__V_XOR(a, v)); WS__V_STORE(dst + i + 16, WS__V_XOR(b, v));
            WS__V_STORE(dst + i + 32, WS__V_XOR(c, v)); WS__V_STORE(dst + i + 48, WS__V_XOR(d, v));
        }
        for (; i + 16 <= n; i += 16) WS__V_STORE(dst + i, WS__V_XOR(WS__V_LOAD(src + i), v));
    }
#endif
    for (; i + 8 <= n; i += 8) {  /* memcpy: unaligned-safe, compiles to plain loads */
        memcpy(&w, src + i, 8);
        w ^= mw;
        memcpy(dst + i, &w, 8);
    }
    for (; i < n; i++) dst[i] = (uint8_t)(src[i] ^ m[i & 7]);
}

WS_API void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset) {
    ws__mask_to(p, p, n, mask, offset);
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
    case WS_ERR_FULL:     return WS_CLOSE_TRY_AGAIN;
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
    if (!url) { err = WS__T("no URL"); goto bad; }
    p = url; end = url + len;
    for (i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7F) {
            err = WS__T("space or control character in URL"); goto bad;
        }
    if (len >= 5 && ws__span_ieq(ws__span(p, 5), "ws://", 5)) p += 5;
    else if (len >= 6 && ws__span_ieq(ws__span(p, 6), "wss://", 6)) { u->secure = 1; p += 6; }
    else { err = WS__T("scheme is not ws:// or wss://"); goto bad; }
    for (auth_end = p; auth_end < end && !strchr("/?#", *auth_end); auth_end++)
        if (*auth_end == '@') { err = WS__T("user info (user@host) is not supported"); goto bad; }
    q = p;
    if (q < auth_end && *q == '[') {                /* RFC 3986 3.2.2 IP-literal */
        hs = ++q;
        while (q < auth_end && *q != ']') {
            if (!ws__is_hex(*q) && *q != ':' && *q != '.') { err = WS__T("invalid IPv6 literal"); goto bad; }
            q++;
        }
        if (q == auth_end) { err = WS__T("IPv6 literal without ']'"); goto bad; }
        he = q++;
        if (he == hs || !memchr(hs, ':', (size_t)(he - hs))) { err = WS__T("invalid IPv6 literal"); goto bad; }
        u->ipv6 = 1;
    } else {
        hs = q;
        while (q < auth_end && *q != ':') {
            if (!ws__is_alnum(*q) && !strchr("-._~!$&'()*+,;=", *q)) {
                err = WS__T("invalid character in host"); goto bad;
            }
            q++;
        }
        he = q;
    }
    if (he == hs) { err = WS__T("empty host"); goto bad; }
    u->host = ws__span(hs, (size_t)(he - hs));
    if (q < auth_end) {
        if (*q != ':') { err = WS__T("junk after the host"); goto bad; }
        if (++q == auth_end) { err = WS__T("empty port"); goto bad; }
        for (; q < auth_end; q++) {
            if (*q < '0' || *q > '9') { err = WS__T("port is not a number"); goto bad; }
            port = port * 10 + (unsigned long)(*q - '0');
            if (port > 65535) { err = WS__T("port out of range"); goto bad; }
        }
        if (port == 0) { err = WS__T("port 0"); goto bad; }
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
    if (q < end) { err = WS__T("fragment (#...) in a WebSocket URL"); goto bad; }
    return WS_OK;
bad:
    if (why) *why = err;
    return WS_ERR_URL;
}

/* ==== >>http ==== HTTP/1.1 upgrade: parse and build, both sides. Pure. ==== */
static int ws__is_tchar(int c) {   /* RFC 9110 5.6.2 token characters: ALPHA DIGIT !#$%&'*+-.^_`|~ */
    static const uint32_t t[4] = {0, 0x03FF6CFAu, 0xC7FFFFFEu, 0x57FFFFFFu};
    return (unsigned)c < 128 && (t[c >> 5] >> (c & 31)) & 1;
}

/* The header names ws.h reads or writes itself, and their lengths: one table for the checks
 * of both sides and for the extra-header rule (ws__put_extra). */
static const char *const ws__names[] = {
    "Upgrade", "Connection", "Content-Length", "Transfer-Encoding", "Sec-WebSocket-Accept",
    "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol", "Host", "Sec-WebSocket-Key",
    "Sec-WebSocket-Version", "Origin"
};
static const uint8_t ws__name_len[] = {7, 10, 14, 17, 20, 24, 22, 4, 17, 21, 6};
enum { WS__H_UPGRADE, WS__H_CONNECTION, WS__H_CLENGTH, WS__H_TENCODING, WS__H_ACCEPT,
       WS__H_EXTENSIONS, WS__H_PROTOCOL, WS__H_HOST, WS__H_KEY, WS__H_VERSION, WS__H_ORIGIN,
       WS__H_COUNT };
static int ws__name_index(ws_span name) {   /* its index in ws__names, or -1 */
    int i;
    for (i = 0; i < WS__H_COUNT; i++)
        if (name.len == ws__name_len[i] && ws__span_ieq(name, ws__names[i], name.len)) return i;
    return -1;
}

/* The first control character (< 0x20 or 0x7F) in buf[pos..len), or len: a word at a time
 * (a byte b < 0x20 borrows in w - 0x20.., b == 0x7F in (w ^ 0x7F..) - 0x01..; ~w drops bytes
 * >= 0x80; a borrow only marks bytes above a real hit, which the byte loop then finds). */
static size_t ws__ctl_find(const char *buf, size_t pos, size_t len) {
    const size_t ones = (size_t)-1 / 255;
    size_t w;
    for (; len - pos >= sizeof w; pos += sizeof w) {
        memcpy(&w, buf + pos, sizeof w);
        if (((w - ones * 0x20) | ((w ^ ones * 0x7F) - ones)) & ~w & ones * 0x80) break;
    }
    while (pos < len && (unsigned char)buf[pos] >= 0x20 && buf[pos] != 0x7F) pos++;
    return pos;
}

/* Header lines from buf[pos], through the empty line. */
static ws_result ws__http_headers(const char *buf, size_t len, size_t pos, ws_header *h,
                                  size_t *nh, size_t *used, const char **why) {
    size_t n = 0, ns, ne, vs, ve;
    for (;;) {
        if (pos >= len) return WS_AGAIN;
        if (buf[pos] == '\r') {
            if (pos + 1 >= len) return WS_AGAIN;
            if (buf[pos + 1] != '\n') { *why = WS__T("CR without LF"); return WS_ERR_HANDSHAKE; }
            *nh = n;
            *used = pos + 2;
            return WS_OK;
        }
        if (buf[pos] == ' ' || buf[pos] == '\t') {   /* RFC 9112 5.2: reject obs-fold */
            *why = WS__T("folded header line"); return WS_ERR_HANDSHAKE;
        }
        for (ns = pos; pos < len && ws__is_tchar((unsigned char)buf[pos]); pos++) {}
        if (pos >= len) return WS_AGAIN;
        if (buf[pos] != ':' || pos == ns) { *why = WS__T("malformed header name"); return WS_ERR_HANDSHAKE; }
        ne = pos++;
        while (pos < len && (buf[pos] == ' ' || buf[pos] == '\t')) pos++;
        for (vs = pos; (pos = ws__ctl_find(buf, pos, len)) < len && buf[pos] == '\t'; pos++) {}
        if (pos < len && buf[pos] != '\r') { *why = WS__T("control character in a header value"); return WS_ERR_HANDSHAKE; }
        if (pos + 1 >= len) return WS_AGAIN;
        if (buf[pos + 1] != '\n') { *why = WS__T("CR without LF"); return WS_ERR_HANDSHAKE; }
        for (ve = pos; ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'); ve--) {}
        if (n == WS_MAX_HEADERS) { *why = WS__T("too many header lines"); return WS_ERR_TOO_BIG; }
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

/* RFC 9112 3.2: a Host value (uri-host [":" port]) holds only the bytes of RFC 3986's
 * reg-name, IP-literal and port; any other (space, '/', '@', obs-text...) makes it invalid. */
static int ws__host_ok(ws_span v) {   /* ALPHA DIGIT -._~ !$&'()*+,;= % : [ ], from 0x20 */
    static const uint32_t t[3] = {0x2FFF7FF2u, 0xAFFFFFFEu, 0x47FFFFFEu};
    size_t i;
    for (i = 0; i < v.len; i++) {
        unsigned c = (unsigned char)v.ptr[i] - 0x20u;
        if (c >= 0x60 || !((t[c >> 5] >> (c & 31)) & 1)) return 0;
    }
    return 1;
}

/* RFC 6455 4.2.1: a target is a path ("/chat?x") or an absolute http(s) URI holding one (RFC
 * 9112 3.2.2 absolute-form, its authority a valid Host): its path [? query], or ptr NULL. */
static ws_span ws__target_path(ws_span t) {
    const char *p = t.ptr, *e = t.ptr + t.len, *a;
    if (*p == '/') return t;
    if (t.len < 8 || !ws__span_ieq(ws__span(p, 4), "http", 4)) return ws__span(NULL, 0);
    p += 4 + ((p[4] | 0x20) == 's');
    if (memcmp(p, "://", 3) != 0) return ws__span(NULL, 0);
    for (a = p += 3; p < e && *p != '/' && *p != '?'; p++) {}
    if (p == a || !ws__host_ok(ws__span(a, (size_t)(p - a)))) return ws__span(NULL, 0);
    return ws__span(p, (size_t)(e - p));
}

static ws_result ws__parse_request(const char *buf, size_t len, ws_http_request *r,
                                   size_t *used, const char **why) {
    size_t pos = 0, ts, i;
    ws_result rc;
    while (pos < len && ws__is_tchar((unsigned char)buf[pos])) pos++;
    if (pos >= len) return WS_AGAIN;
    if (pos == 0 || buf[pos] != ' ') { *why = WS__T("malformed request method"); return WS_ERR_HANDSHAKE; }
    r->method = ws__span(buf, pos);
    ts = ++pos;
    if (ts < len && buf[ts] != '/' && (buf[ts] | 0x20) != 'h') {   /* an early reject */
        *why = WS__T("request target is not a path (or an http(s) URI with one)"); return WS_ERR_HANDSHAKE;
    }
    while (pos < len && (unsigned char)buf[pos] > 0x20 && buf[pos] != 0x7F) pos++;
    if (pos >= len) return WS_AGAIN;
    if (buf[pos] != ' ' || pos == ts) { *why = WS__T("malformed request target"); return WS_ERR_HANDSHAKE; }
    r->target = ws__span(buf + ts, pos - ts);
    r->path = ws__target_path(r->target);
    if (!r->path.ptr) { *why = WS__T("request target is not a path (or an http(s) URI with one)"); return WS_ERR_HANDSHAKE; }
    r->query = ws__span(NULL, 0);
    for (i = 0; i < r->path.len; i++)
        if (r->path.ptr[i] == '?') {
            r->query = ws__span(r->path.ptr + i + 1, r->path.len - i - 1);
            r->path.len = i;
            break;
        }
    if (!r->path.len) r->path = ws__span("/", 1);   /* "http://host?q": the path is "/" */
    pos++;
    rc = ws__http_version(buf, len, pos, &r->version_minor);
    if (rc != WS_OK) { *why = WS__T("not an HTTP/1.x request"); return rc; }
    pos += 8;
    if (pos < len && buf[pos] != '\r') { *why = WS__T("malformed request line"); return WS_ERR_HANDSHAKE; }
    if (pos + 1 >= len) return WS_AGAIN;
    if (buf[pos] != '\r' || buf[pos + 1] != '\n') { *why = WS__T("malformed request line"); return WS_ERR_HANDSHAKE; }
    return ws__http_headers(buf, len, pos + 2, r->headers, &r->num_headers, used, why);
}

static ws_result ws__parse_response(const char *buf, size_t len, ws_http_response *r,
                                    size_t *used, const char **why) {
    size_t pos = 8, rs, i;
    ws_result rc = ws__http_version(buf, len, 0, &r->version_minor);
    if (rc != WS_OK) { *why = WS__T("not an HTTP/1.x response"); return rc; }
    for (i = 0; i < 5; i++, pos++) {   /* SP 3DIGIT SP */
        if (pos >= len) return WS_AGAIN;
        if (i == 0 || i == 4 ? buf[pos] != ' ' && !(i == 4 && buf[pos] == '\r')
                             : (buf[pos] < '0' || buf[pos] > '9')) {
            *why = WS__T("malformed status line"); return WS_ERR_HANDSHAKE;
        }
    }
    r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    if (buf[12] == '\r') pos = 12;     /* tolerate a missing reason phrase and its space */
    for (rs = pos; pos < len && buf[pos] != '\r'; pos++) {
        unsigned char c = (unsigned char)buf[pos];
        if ((c < 0x20 && c != '\t') || c == 0x7F) { *why = WS__T("control character in status line"); return WS_ERR_HANDSHAKE; }
    }
    if (pos + 1 >= len) return WS_AGAIN;
    if (buf[pos + 1] != '\n') { *why = WS__T("CR without LF"); return WS_ERR_HANDSHAKE; }
    r->reason = ws__span(buf + rs, pos - rs);
    return ws__http_headers(buf, len, pos + 2, r->headers, &r->num_headers, used, why);
}

WS_API ws_result ws_http_parse_request(const char *buf, size_t len, size_t max_bytes,
                                       ws_http_request *req, size_t *used, const char **why) {
    const char *w = "";
    size_t u = 0;
    ws_result rc = ws__parse_request(buf, WS__MIN(len, max_bytes), req, &u, &w);
    if (rc == WS_AGAIN && len >= max_bytes) { rc = WS_ERR_TOO_BIG; w = WS__T("request head too large"); }
    if (rc == WS_OK && used) *used = u;
    if (rc < WS_AGAIN && why) *why = w;
    return rc;
}

WS_API ws_result ws_http_parse_response(const char *buf, size_t len, size_t max_bytes,
                                        ws_http_response *res, size_t *used, const char **why) {
    const char *w = "";
    size_t u = 0;
    ws_result rc = ws__parse_response(buf, WS__MIN(len, max_bytes), res, &u, &w);
    if (rc == WS_AGAIN && len >= max_bytes) { rc = WS_ERR_TOO_BIG; w = WS__T("response head too large"); }
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

/* exact: subprotocol names compare case-sensitively (RFC 6455 4.1, 11.5); other tokens don't */
static int ws__list_has(ws_span list, const char *token, size_t token_len, int exact) {
    size_t i = 0, s, e;
    while (i < list.len) {
        while (i < list.len && (list.ptr[i] == ' ' || list.ptr[i] == '\t' || list.ptr[i] == ',')) i++;
        for (s = i; i < list.len && list.ptr[i] != ','; i++) {}
        for (e = i; e > s && (list.ptr[e - 1] == ' ' || list.ptr[e - 1] == '\t'); e--) {}
        if (e > s && (exact ? e - s == token_len && !memcmp(list.ptr + s, token, token_len)
                            : ws__span_ieq(ws__span(list.ptr + s, e - s), token, token_len)))
            return 1;
    }
    return 0;
}

WS_API int ws_list_has_token(ws_span list, const char *token, size_t token_len) {
    return ws__list_has(list, token, token_len, 0);
}

static int ws__headers_have(const ws_header *h, size_t n, const char *name, const char *token,
                            int exact) {
    size_t i, nl = strlen(name), tl = strlen(token);
    for (i = 0; i < n; i++)
        if (ws__span_ieq(h[i].name, name, nl) && ws__list_has(h[i].value, token, tl, exact)) return 1;
    return 0;
}

WS_API int ws_http_has_token(const ws_header *h, size_t n, const char *name, const char *token) {
    return ws__headers_have(h, n, name, token, 0);
}

/* One pass over a head's headers for the checks of both sides: per name of ws__names, how
 * many lines (2 = more than one) and the first one's value; tok bit 0: an Upgrade line lists
 * "websocket", bit 1: a Connection line lists "upgrade", bit 2: a non-empty Extensions line. */
typedef struct ws__hscan { ws_span v[WS__H_COUNT]; uint8_t n[WS__H_COUNT], tok; } ws__hscan;
static void ws__hscan_run(ws__hscan *s, const ws_header *h, size_t n) {
    size_t i;
    int k;
    memset(s, 0, sizeof *s);
    for (i = 0; i < n; i++) {
        if ((k = ws__name_index(h[i].name)) < 0) continue;
        if (!s->n[k]) s->v[k] = h[i].value;
        if (s->n[k] < 2) s->n[k]++;
        if (k <= WS__H_CONNECTION && ws__list_has(h[i].value, k ? "upgrade" : "websocket", k ? 7u : 9u, 0))
            s->tok |= (uint8_t)(1 << k);
        if (k == WS__H_EXTENSIONS && h[i].value.len) s->tok |= 4;
    }
}

WS_API ws_result ws_http_check_request(const ws_http_request *req, ws_span *key, int *status,
                                       const char **why) {
    ws__hscan s;
    ws_span v;
    const char *err;
    int st = 400;
    /* RFC 6455 4.2.1: GET, HTTP/1.1 or later, Host, Upgrade, Connection, Key, Version */
    /* RFC 9110 9.1: methods are case-sensitive */
    if (req->method.len != 3 || memcmp(req->method.ptr, "GET", 3) != 0) {
        err = WS__T("method is not GET"); goto bad;
    }
    if (req->version_minor < 1) { err = WS__T("HTTP/1.1 or later is required"); goto bad; }
    ws__hscan_run(&s, req->headers, req->num_headers);
    if (s.n[WS__H_HOST] != 1 || !ws__host_ok(s.v[WS__H_HOST])) {
        err = WS__T("missing, repeated or invalid Host header"); goto bad;
    }
    if (!s.n[WS__H_UPGRADE]) { st = 426; err = WS__T("not a WebSocket upgrade request"); goto bad; }
    /* RFC 9112 6.3: a body on an upgrade would be read as frames (request smuggling behind a
     * proxy that sees the body): refuse any Content-Length or Transfer-Encoding */
    if (s.n[WS__H_CLENGTH] || s.n[WS__H_TENCODING]) {
        err = WS__T("upgrade request with a body (Content-Length or Transfer-Encoding)"); goto bad;
    }
    if (!(s.tok & 1)) { err = WS__T("Upgrade header lacks 'websocket'"); goto bad; }
    if (!(s.tok & 2)) { err = WS__T("Connection header lacks 'Upgrade'"); goto bad; }
    v = s.v[WS__H_VERSION];
    /* RFC 6455 11.3.5: never more than once in a request; malformed (400) as for Key and Host */
    if (s.n[WS__H_VERSION] > 1) { err = WS__T("repeated Sec-WebSocket-Version"); goto bad; }
    if (!s.n[WS__H_VERSION] || !ws__span_ieq(v, "13", 2)) {
        st = 426; err = WS__T("Sec-WebSocket-Version is not 13"); goto bad;
    }
    v = s.v[WS__H_KEY];
    if (s.n[WS__H_KEY] != 1) { err = WS__T("missing or repeated Sec-WebSocket-Key"); goto bad; }
    if (!ws__key16(v.ptr, v.len)) {
        err = WS__T("Sec-WebSocket-Key is not base64 of 16 bytes"); goto bad;
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
    ws__hscan s;
    char expect[29];
    ws_span v, p;
    const char *err;
    if (protocol) *protocol = ws__span(NULL, 0);
    if (res->status != 101) { err = WS__T("server did not answer 101 Switching Protocols"); goto bad; }
    ws__hscan_run(&s, res->headers, res->num_headers);
    if (!(s.tok & 1)) { err = WS__T("response lacks Upgrade: websocket"); goto bad; }
    if (!(s.tok & 2)) { err = WS__T("response lacks Connection: Upgrade"); goto bad; }
    ws_accept_key(key, strlen(key), expect);
    v = s.v[WS__H_ACCEPT];
    if (s.n[WS__H_ACCEPT] != 1 || v.len != 28 || memcmp(v.ptr, expect, 28) != 0) {
        err = WS__T("wrong or missing Sec-WebSocket-Accept"); goto bad;
    }
    if (s.tok & 4) {   /* we offer none: any non-empty Extensions header fails */
        err = WS__T("server chose an extension that was not offered"); goto bad;
    }
    p = s.v[WS__H_PROTOCOL];
    if (s.n[WS__H_PROTOCOL]) {
        if (s.n[WS__H_PROTOCOL] > 1 || !p.len || memchr(p.ptr, ',', p.len)) { err = WS__T("server chose more than one subprotocol"); goto bad; }
        if (!offered_protocols || !ws__list_has(ws__span(offered_protocols, strlen(offered_protocols)), p.ptr, p.len, 1)) {
            err = WS__T("server chose a subprotocol that was not offered"); goto bad;
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
/* A control byte (CR, LF... not HT) in s[0..n) or before its NUL (s may be NULL): no header
 * value we were given may carry one. */
static int ws__ctl_in(const char *s, size_t n) {
    for (; s && n && *s; s++, n--)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7F) return 1;
    return 0;
}
static void ws__put_value(ws__out *o, const char *s) {
    if (ws__ctl_in(s, (size_t)-1)) { o->err = 2; return; }
    ws__puts(o, s);
}
static void ws__put_header(ws__out *o, const char *name, const char *value) {
    ws__puts(o, name);
    ws__puts(o, ": ");
    ws__put_value(o, value);
    ws__puts(o, "\r\n");
}
/* Bytes a request target may not carry raw (>= 0x80, controls, space): %XX (RFC 3986 2.1). */
static void ws__put_target(ws__out *o, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7F) {
            char t[3];
            t[0] = '%'; t[1] = hex[ch >> 4]; t[2] = hex[ch & 15];
            ws__put(o, t, 3);
        } else {
            ws__put(o, s + i, 1);
        }
    }
}
/* "Name: value" lines separated by \r\n or \n (a builder's extra headers): each checked and,
 * with o, re-emitted with CRLF. With WS__X_OWN in rules, a line
 * may not repeat a header ws.h writes itself (ws__names; a duplicate Host or Sec-WebSocket-Key
 * is header injection): Upgrade..Protocol on both sides (Protocol when one is chosen:
 * WS__X_PROTO); a request (WS__X_REQ) also owns Host, Key, Version, and Origin when it was
 * given one (WS__X_ORIGIN). Returns the reason for such a line, or for a malformed one (not
 * "Name: value", a control byte; o->err = 2 too), or NULL. */
#define WS__X_OWN 1u
#define WS__X_REQ 2u
#define WS__X_ORIGIN 4u
#define WS__X_PROTO 8u
static const char *ws__put_extra(ws__out *o, const char *extra, unsigned rules) {
    const char *line = extra, *e, *c, *end;
    int i;
    if (!extra) return NULL;
    for (; *line; line = *e ? e + 1 : e) {
        for (e = line; *e && *e != '\n'; e++) {}
        end = (e > line && e[-1] == '\r') ? e - 1 : e;
        for (c = line; c < end && ws__is_tchar((unsigned char)*c); c++) {}
        if ((rules & WS__X_OWN) && c > line && c < end && *c == ':' &&
            (i = ws__name_index(ws__span(line, (size_t)(c - line)))) >= 0 &&
            (i != WS__H_PROTOCOL || (rules & WS__X_PROTO)) && (i != WS__H_ORIGIN || (rules & WS__X_ORIGIN)) &&
            (i < WS__H_HOST || (rules & WS__X_REQ))) {
            if (o) o->err = 2;
            return WS__T("an extra header repeats one that ws.h writes (Host, Upgrade, Connection, "
                         "Sec-WebSocket-*, Origin, Content-Length, Transfer-Encoding)");
        }
        if (e == line) continue;
        if (c == line || c == end || *c != ':' || ws__ctl_in(c, (size_t)(end - c))) {
            if (o) o->err = 2;
            return WS__T("an extra header line is not \"Name: value\" (or has a control byte)");
        }
        if (o) { ws__put(o, line, (size_t)(end - line)); ws__puts(o, "\r\n"); }
    }
    return NULL;
}
/* The rule alone, over all lines: the first reason found, or NULL. */
WS__UNUSED static const char *ws__extra_check(const char *extra, int request, int origin, int protocols) {
    return ws__put_extra(NULL, extra, WS__X_OWN | (unsigned)request * WS__X_REQ | (unsigned)origin * WS__X_ORIGIN |
                                      (unsigned)protocols * WS__X_PROTO);
}
static ws_result ws__out_done(ws__out *o, size_t *len) {
    if (o->err || o->len >= o->cap) return WS_ERR_ARG;
    o->p[o->len] = '\0';
    if (len) *len = o->len;
    return WS_OK;
}
/* "host", "[v6]": a request's Host (its port only when not the default), and every address
 * with a port (ws__put_hostport: listeners, proxies, ws_conn_remote, error texts) */
static void ws__put_host(ws__out *o, const char *h, size_t n, int v6) {
    if (v6) ws__put(o, "[", 1);
    ws__put(o, h, n);
    if (v6) ws__put(o, "]", 1);
}
#ifndef WS_NO_NET   /* only >>client and >>server use it: unused (a warning) without them */
WS__UNUSED static void ws__utoa(char out[8], unsigned v) {   /* a port number */
    ws__out o;
    o.p = out; o.cap = 8; o.len = 0; o.err = 0;
    ws__putu(&o, v);
    (void)ws__out_done(&o, NULL);
}
#endif

WS_API ws_result ws_http_build_request(char *out, size_t cap, const ws_url *u, const char *key,
                                       const char *origin, const char *protocols,
                                       const char *extra_headers, size_t *len) {
    ws__out o;
    if (!out || !cap || !u || !key) return WS_ERR_ARG;
    o.p = out; o.cap = cap; o.len = 0; o.err = 0;
    ws__puts(&o, "GET ");
    if (u->path.len) ws__put_target(&o, u->path.ptr, u->path.len); else ws__puts(&o, "/");
    if (u->query.ptr) { ws__puts(&o, "?"); ws__put_target(&o, u->query.ptr, u->query.len); }
    ws__puts(&o, " HTTP/1.1\r\nHost: ");
    ws__put_host(&o, u->host.ptr, u->host.len, u->ipv6);
    if (u->port != (u->secure ? 443 : 80)) { ws__puts(&o, ":"); ws__putu(&o, u->port); }
    ws__puts(&o, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
    ws__put_header(&o, "Sec-WebSocket-Key", key);
    ws__puts(&o, "Sec-WebSocket-Version: 13\r\n");
    if (origin && *origin) ws__put_header(&o, "Origin", origin);
    if (protocols && *protocols) ws__put_header(&o, "Sec-WebSocket-Protocol", protocols);
    ws__put_extra(&o, extra_headers, WS__X_OWN | WS__X_REQ | (origin && *origin ? WS__X_ORIGIN : 0u) |
                                     (protocols && *protocols ? WS__X_PROTO : 0u));
    ws__puts(&o, "\r\n");
    return ws__out_done(&o, len);
}

WS_API ws_result ws_http_build_accept(char *out, size_t cap, const char *key, size_t key_len,
                                      const char *protocol, const char *extra_headers,
                                      size_t *len) {
    ws__out o;
    char accept[29];
    if (!out || !cap || !key) return WS_ERR_ARG;
    o.p = out; o.cap = cap; o.len = 0; o.err = 0;
    ws_accept_key(key, key_len, accept);
    ws__puts(&o, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: ");
    ws__put(&o, accept, 28);
    ws__puts(&o, "\r\n");
    if (protocol && *protocol) ws__put_header(&o, "Sec-WebSocket-Protocol", protocol);
    ws__put_extra(&o, extra_headers, WS__X_OWN | (protocol && *protocol ? WS__X_PROTO : 0u));
    ws__puts(&o, "\r\n");
    return ws__out_done(&o, len);
}

WS_API const char *ws_http_status_text(int status) {
    switch (status) {
    case 101: return WS__T("Switching Protocols");
    case 200: return WS__T("OK");
    case 204: return WS__T("No Content");
    case 301: return WS__T("Moved Permanently");
    case 302: return WS__T("Found");
    case 304: return WS__T("Not Modified");
    case 400: return WS__T("Bad Request");
    case 401: return WS__T("Unauthorized");
    case 403: return WS__T("Forbidden");
    case 404: return WS__T("Not Found");
    case 405: return WS__T("Method Not Allowed");
    case 408: return WS__T("Request Timeout");
    case 413: return WS__T("Content Too Large");
    case 426: return WS__T("Upgrade Required");
    case 429: return WS__T("Too Many Requests");
    case 431: return WS__T("Request Header Fields Too Large");
    case 500: return WS__T("Internal Server Error");
    case 501: return WS__T("Not Implemented");
    case 503: return WS__T("Service Unavailable");
    }
    return "";
}

/* Status line, Connection: close, Content-Type, Content-Length, extra headers, body. */
static void ws__build_response(ws__out *o, int status, const char *ctype, const char *headers,
                               const void *body, size_t body_len) {
    const char *text = ws_http_status_text(status);
    if (status < 100 || status > 999) o->err = 2;
    ws__puts(o, "HTTP/1.1 ");
    ws__putu(o, (unsigned long)(status < 0 ? 0 : status));
    ws__puts(o, " ");
    ws__puts(o, *text ? text : "Error");
    ws__puts(o, "\r\nConnection: close\r\nContent-Type: ");
    ws__put_value(o, ctype);
    ws__puts(o, "\r\n");
    if (status == 426) ws__puts(o, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    ws__puts(o, "Content-Length: ");
    ws__putu(o, (unsigned long)body_len);
    ws__puts(o, "\r\n");
    ws__put_extra(o, headers, 0);
    ws__puts(o, "\r\n");
    if (body_len) ws__put(o, (const char *)body, body_len);
}

WS_API ws_result ws_http_build_error(char *out, size_t cap, int status, const char *body,
                                     size_t *len) {
    ws__out o;
    char dflt[64];
    const char *text = ws_http_status_text(status);
    o.p = out; o.cap = cap; o.len = 0; o.err = (!out || !cap);
    if (!body) {   /* default body: the status text and a newline */
        size_t n = strlen(*text ? text : "Error");
        memcpy(dflt, *text ? text : "Error", n);
        dflt[n] = '\n'; dflt[n + 1] = '\0';
        body = dflt;
    }
    ws__build_response(&o, status, "text/plain; charset=utf-8", NULL, body, strlen(body));
    return ws__out_done(&o, len);
}

#ifndef WS_NO_NET
/* ==== >>platform ==== sockets, poll, clock, threads: the only OS #ifdefs ==== */
#if (defined(WS_NO_WAKEUP) || defined(WS_NO_CLIENT)) && !defined(WS_NO_THREADS)
#  define WS_NO_THREADS   /* threads only resolve for clients, and report through the wake-up */
#endif
#if defined(_WIN32)
#  include <winsock2.h>
#  include <ws2tcpip.h>
#  ifdef _MSC_VER
#    pragma comment(lib, "ws2_32")
#  endif
typedef SOCKET ws__sock;
#  define WS__INVALID_SOCK INVALID_SOCKET
#  define WS__SOCKLEN(n) ((int)(n))
typedef WSAPOLLFD ws__ospfd;
typedef HANDLE ws__thread;
typedef CRITICAL_SECTION ws__mutex;
static int  ws__os_poll(ws__ospfd *p, size_t n, int t) {   /* nothing to watch: wait, as poll() */
    if (!n) { Sleep(t < 0 ? INFINITE : (DWORD)t); return 0; }   /* (WSAPoll: WSAEINVAL at once) */
    return WSAPoll(p, (ULONG)n, t);
}
static int  ws__sock_errno(void) { return WSAGetLastError(); }
static int  ws__err_again(int e) { return e == WSAEWOULDBLOCK; }
static int  ws__err_intr(int e) { return e == WSAEINTR; }
WS__UNUSED static int  ws__err_nofd(int e) { return e == WSAEMFILE || e == WSAENOBUFS; }
WS__UNUSED static int  ws__err_inprogress(int e) { return e == WSAEWOULDBLOCK || e == WSAEINPROGRESS; }
static void ws__sock_close(ws__sock s) { closesocket(s); }
static int  ws__sock_nonblock(ws__sock s) {   /* and not inherited (POSIX: FD_CLOEXEC) */
    u_long on = 1;
    (void)SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);   /* sockets are inheritable by
        * default: a child of CreateProcess(bInheritHandles) would keep the port and the peers */
    return ioctlsocket(s, (long)FIONBIO, &on);
}
WS__UNUSED static ws__sock ws__sock_accept(ws__sock l, struct sockaddr *sa, int *sl, int *nb) {
    *nb = 0;
    return accept(l, sa, sl);
}
static long ws__sock_send(ws__sock s, const void *b, size_t n) {
    return send(s, (const char *)b, n > 0x40000000u ? 0x40000000 : (int)n, 0);
}
typedef WSABUF ws__iov;   /* one WSASend for frame headers and their payloads */
#  define WS__IOV(v, p, n) ((v).buf = (CHAR *)(p), (v).len = (n) > 0x40000000u ? 0x40000000u : (ULONG)(n))
static long ws__sock_sendv(ws__sock s, ws__iov *v, size_t n) {
    DWORD put = 0;
    return WSASend(s, v, (DWORD)n, &put, 0, NULL, NULL) == 0 ? (long)put : -1;
}
static long ws__sock_recv(ws__sock s, void *b, size_t n) {
    return recv(s, (char *)b, n > 0x40000000u ? 0x40000000 : (int)n, 0);
}
#  ifndef WS_NOW_MS
#    define WS_NOW_MS() ((int64_t)GetTickCount64())
#  endif
static int  ws__net_init(void) { WSADATA d; return WSAStartup(MAKEWORD(2, 2), &d) == 0 ? 0 : -1; }
static void ws__net_done(void) { WSACleanup(); }
/* WSAPoll before Windows 10 2004 (build 19041) never reports a failed connect (no POLLERR,
 * POLLHUP or POLLOUT): a connecting socket is also asked every WS__CONNECT_CHECK_MS through
 * select(), whose exceptfds does report it (ws__conn_timers). 1 = the connect failed. */
#  define WS__CONNECT_CHECK_MS 250
WS__UNUSED static int ws__connect_failed(ws__sock s) {
    fd_set e;
    struct timeval tv;
    tv.tv_sec = 0; tv.tv_usec = 0;
    e.fd_count = 1;
    e.fd_array[0] = s;
    return select(0, NULL, NULL, &e, &tv) == 1;
}
#  ifndef WS_NO_THREADS
static void ws__mutex_init(ws__mutex *m) { InitializeCriticalSection(m); }
static void ws__mutex_free(ws__mutex *m) { DeleteCriticalSection(m); }
static void ws__mutex_lock(ws__mutex *m) { EnterCriticalSection(m); }
static void ws__mutex_unlock(ws__mutex *m) { LeaveCriticalSection(m); }
static DWORD WINAPI ws__thread_main(LPVOID arg);
/* The resolver holds its own Winsock reference: a ws_ctx_destroy meanwhile may make the
 * process's last WSACleanup, which cancels every thread's calls and may unload the name
 * service providers under a running getaddrinfo. */
static DWORD WINAPI ws__thread_win(LPVOID arg) { DWORD r = ws__thread_main(arg); ws__net_done(); return r; }
static int ws__thread_start(void *arg) {   /* detached */
    HANDLE h;
    if (ws__net_init() != 0) return -1;
    h = CreateThread(NULL, 64 * 1024, ws__thread_win, arg, 0, NULL);
    if (!h) { ws__net_done(); return -1; }
    CloseHandle(h);
    return 0;
}
#  endif
#elif defined(WS_LWIP)
/* lwIP's BSD-style sockets (NO_SYS=0: an RTOS, or lwIP's Unix port), called by their lwip_*
 * names, so any LWIP_COMPAT_SOCKETS / LWIP_POSIX_SOCKETS_IO_NAMES setting works. Needs
 * LWIP_SOCKET and LWIP_SOCKET_POLL (the defaults). No threads (host names resolve in
 * ws_connect through lwip_getaddrinfo when LWIP_DNS, else only numeric addresses), no pipes
 * (the wake-up is a UDP socket pair, or nothing with WS_NO_WAKEUP), no epoll. */
#  include "lwip/opt.h"
#  include "lwip/sockets.h"
#  include "lwip/errno.h"
#  include "lwip/sys.h"
#  if LWIP_DNS
#    include "lwip/netdb.h"
#  endif
#  if !LWIP_SOCKET || !LWIP_SOCKET_POLL
#    error "ws.h: WS_LWIP needs LWIP_SOCKET and LWIP_SOCKET_POLL in lwipopts.h"
#  endif
#  ifndef WS_NO_THREADS
#    define WS_NO_THREADS
#  endif
#  ifndef WS_NO_EPOLL
#    define WS_NO_EPOLL
#  endif
typedef int ws__sock;
#  define WS__INVALID_SOCK (-1)
#  define WS__SOCKLEN(n) ((socklen_t)(n))
typedef struct pollfd ws__ospfd;
static int  ws__os_poll(ws__ospfd *p, size_t n, int t) { return lwip_poll(p, (nfds_t)n, t); }
static int  ws__sock_errno(void) { return errno; }
static int  ws__err_again(int e) { return e == EAGAIN || e == EWOULDBLOCK; }
static int  ws__err_intr(int e) { return e == EINTR; }
WS__UNUSED static int  ws__err_nofd(int e) { return e == ENFILE || e == ENOBUFS || e == ENOMEM; }
WS__UNUSED static int  ws__err_inprogress(int e) { return e == EINPROGRESS || e == EINTR; }
static void ws__sock_close(ws__sock s) { (void)lwip_close(s); }
static int  ws__sock_nonblock(ws__sock s) {
    int fl = lwip_fcntl(s, F_GETFL, 0);
    return fl < 0 || lwip_fcntl(s, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}
static long ws__sock_send(ws__sock s, const void *b, size_t n) { return (long)lwip_send(s, b, n, 0); }
static long ws__sock_recv(ws__sock s, void *b, size_t n) { return (long)lwip_recv(s, b, n, 0); }
WS__UNUSED static ws__sock ws__sock_accept(ws__sock l, struct sockaddr *sa, socklen_t *sl, int *nb) {
    *nb = 0;
    return lwip_accept(l, sa, sl);
}
#  define WS__LWIP 1
#  if !LWIP_IPV6
#    define WS__NO_IPV6 1
#  endif
#  ifndef WS_NOW_MS   /* lwIP's clock: u32_t milliseconds, wraps after 49.7 days */
#    define WS_NOW_MS() ((int64_t)sys_now())
#    define WS_NOW_MS32 1   /* each ctx extends it to 64 bits (ws__now_of) */
#  endif
static int  ws__net_init(void) { return 0; }
static void ws__net_done(void) {}
#  define ws__socket      lwip_socket
#  define ws__bind        lwip_bind
#  define ws__listen      lwip_listen
#  define ws__accept_sock lwip_accept
#  define ws__connect     lwip_connect
#  define ws__getsockname lwip_getsockname
#  define ws__getpeername lwip_getpeername
#  define ws__getsockopt  lwip_getsockopt
#  define ws__setsockopt  lwip_setsockopt
#  define ws__inet_ntop   lwip_inet_ntop
static void ws__sock_shutdown_wr(ws__sock s) { (void)lwip_shutdown(s, SHUT_WR); }
/* Addresses: numeric ones through lwip_inet_pton, names through lwip_getaddrinfo (LWIP_DNS). */
typedef struct ws__addrinfo {
    int ai_family;
    socklen_t ai_addrlen;
    struct sockaddr *ai_addr;
    struct ws__addrinfo *ai_next;
    struct sockaddr_storage ss;
} ws__addrinfo;
enum { WS__RES_NUMERIC = 1, WS__RES_PASSIVE = 2 };
static int ws__resolve(const char *host, const char *port, int flags, ws__addrinfo **res) {
    ws__addrinfo *a = (ws__addrinfo *)WS_MALLOC(sizeof *a, NULL);
    struct sockaddr_in *s4;
    unsigned p = 0;
    *res = NULL;
    if (!a) return -1;
    memset(a, 0, sizeof *a);
    s4 = (struct sockaddr_in *)(void *)&a->ss;
    while (*port >= '0' && *port <= '9') p = p * 10 + (unsigned)(*port++ - '0');
    a->ai_addr = (struct sockaddr *)(void *)&a->ss;
    if (lwip_inet_pton(AF_INET, host, &s4->sin_addr) == 1) a->ss.ss_family = AF_INET;
#  if LWIP_IPV6
    else if (lwip_inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)(void *)&a->ss)->sin6_addr) == 1)
        a->ss.ss_family = AF_INET6;
#  endif
#  if LWIP_DNS   /* blocks this thread until lwIP's resolver answers (see WHAT BLOCKS) */
    else if (!(flags & WS__RES_NUMERIC)) {
        struct addrinfo hints, *r = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        if (lwip_getaddrinfo(host, NULL, &hints, &r) == 0 && r && r->ai_addrlen <= sizeof a->ss)
            memcpy(&a->ss, r->ai_addr, r->ai_addrlen);
        if (r) lwip_freeaddrinfo(r);
    }
#  endif
    (void)flags;
    a->ai_family = a->ss.ss_family;
    if (a->ai_family == AF_INET) {
        s4->sin_port = htons((uint16_t)p);
        a->ai_addrlen = (socklen_t)sizeof *s4;
#  if LWIP_IPV6
    } else if (a->ai_family == AF_INET6) {
        ((struct sockaddr_in6 *)(void *)&a->ss)->sin6_port = htons((uint16_t)p);
        a->ai_addrlen = (socklen_t)sizeof(struct sockaddr_in6);
#  endif
    } else {   /* no address (or one of another family) */
        WS_FREE(a, NULL);
        return -1;
    }
    *res = a;
    return 0;
}
static void ws__resolve_free(ws__addrinfo *a) { WS_FREE(a, NULL); }
#  if !defined(WS_NO_WAKEUP) && !LWIP_NETIF_LOOPBACK
/* No loopback (lwIP's default LWIP_NETIF_LOOPBACK 0): a datagram to 127.0.0.1 would leave
 * through the default netif, never to come back. No wake-up then, as WS_NO_WAKEUP. */
static int ws__wake_pair(ws__sock *r, ws__sock *w) { (void)r; (void)w; return 0; }
#  elif !defined(WS_NO_WAKEUP)
/* The wake-up: a UDP socket on 127.0.0.1 (read by the loop) and one connected to it (written
 * by ws_ctx_wakeup): two sockets, so another thread never touches the loop's socket. */
static int ws__wake_pair(ws__sock *r, ws__sock *w) {
    struct sockaddr_in a;
    socklen_t al = (socklen_t)sizeof a;
    ws__sock rs = lwip_socket(AF_INET, SOCK_DGRAM, 0), ws = lwip_socket(AF_INET, SOCK_DGRAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (rs < 0 || ws < 0 || lwip_bind(rs, (struct sockaddr *)&a, al) != 0 ||
        lwip_getsockname(rs, (struct sockaddr *)&a, &al) != 0 ||
        lwip_connect(ws, (struct sockaddr *)&a, al) != 0 ||
        ws__sock_nonblock(rs) != 0 || ws__sock_nonblock(ws) != 0) {
        if (rs >= 0) ws__sock_close(rs);
        if (ws >= 0) ws__sock_close(ws);
        return -1;
    }
    *r = rs;
    *w = ws;
    return 0;
}
#  endif
#else
#  include <sys/types.h>
#  include <sys/socket.h>
#  include <sys/uio.h>
#  include <netinet/in.h>
#  include <netinet/tcp.h>
#  include <arpa/inet.h>
#  include <netdb.h>
#  include <poll.h>
#  include <fcntl.h>
#  include <unistd.h>
#  include <errno.h>
#  include <time.h>
#  if defined(__linux__)
#    include <sys/syscall.h>
#  endif
#  ifndef WS_NO_THREADS
#    include <pthread.h>
#  endif
typedef int ws__sock;
#  define WS__INVALID_SOCK (-1)
#  define WS__SOCKLEN(n) ((socklen_t)(n))
typedef struct pollfd ws__ospfd;
static int  ws__os_poll(ws__ospfd *p, size_t n, int t) { return poll(p, (nfds_t)n, t); }
static int  ws__sock_errno(void) { return errno; }
static int  ws__err_again(int e) { return e == EAGAIN || e == EWOULDBLOCK; }
static int  ws__err_intr(int e) { return e == EINTR; }
WS__UNUSED static int  ws__err_nofd(int e) { return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM; }
WS__UNUSED static int  ws__err_inprogress(int e) { return e == EINPROGRESS || e == EINTR; }
static void ws__sock_close(ws__sock s) { close(s); }
static int  ws__sock_nonblock(ws__sock s) {
    int fl = fcntl(s, F_GETFL, 0);
    if (fl < 0 || fcntl(s, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
    (void)fcntl(s, F_SETFD, FD_CLOEXEC);
    return 0;
}
#  ifdef MSG_NOSIGNAL   /* no SIGPIPE from a peer that vanished; SO_NOSIGPIPE on Apple */
#    define WS__SEND_FLAGS MSG_NOSIGNAL
#  else
#    define WS__SEND_FLAGS 0
#  endif
static long ws__sock_send(ws__sock s, const void *b, size_t n) { return (long)send(s, b, n, WS__SEND_FLAGS); }
#  ifdef MSG_MORE   /* Linux: the last bytes before close(): its FIN rides in their segment */
#    define WS__SEND_LAST 1
static long ws__sock_send_last(ws__sock s, const void *b, size_t n) { return (long)send(s, b, n, WS__SEND_FLAGS | MSG_MORE); }
#  endif
/* accept; *nb = 1 when the socket is already non-blocking and close-on-exec (Linux accept4,
 * through syscall(): no _GNU_SOURCE needed; 3 fcntl calls fewer per connection) */
WS__UNUSED static ws__sock ws__sock_accept(ws__sock l, struct sockaddr *sa, socklen_t *sl, int *nb) {
#  if defined(__linux__) && defined(SYS_accept4) && defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    long r = syscall(SYS_accept4, l, sa, sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (r >= 0 || errno != ENOSYS) { *nb = r >= 0; return (ws__sock)r; }
#  endif
    *nb = 0;
    return accept(l, sa, sl);
}
typedef struct iovec ws__iov;   /* one sendmsg for frame headers and their payloads */
#  define WS__IOV(v, p, n) ((v).iov_base = (void *)(p), (v).iov_len = (n))
static long ws__sock_sendv(ws__sock s, ws__iov *v, size_t n) {   /* n <= 255 */
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = v; m.msg_iovlen = (uint8_t)n;
    return (long)sendmsg(s, &m, WS__SEND_FLAGS);
}
static long ws__sock_recv(ws__sock s, void *b, size_t n) { return (long)recv(s, b, n, 0); }
#  ifndef WS_NOW_MS
static int64_t ws__clock_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
#    define WS_NOW_MS() ws__clock_ms()
#  endif
static int  ws__net_init(void) { return 0; }
static void ws__net_done(void) {}
#  ifndef WS_NO_THREADS
typedef pthread_mutex_t ws__mutex;
static void ws__mutex_init(ws__mutex *m) { pthread_mutex_init(m, NULL); }
static void ws__mutex_free(ws__mutex *m) { pthread_mutex_destroy(m); }
static void ws__mutex_lock(ws__mutex *m) { pthread_mutex_lock(m); }
static void ws__mutex_unlock(ws__mutex *m) { pthread_mutex_unlock(m); }
static void *ws__thread_main(void *arg);
static int ws__thread_start(void *arg) {   /* detached */
    pthread_t t;
    pthread_attr_t a;
    int rc;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 128 * 1024);
    rc = pthread_create(&t, &a, ws__thread_main, arg);
    pthread_attr_destroy(&a);
    return rc == 0 ? 0 : -1;
}
#  endif
#endif

/* WS_NOW_MS(): a monotonic clock in milliseconds (a hook: define it for your platform) */
static int64_t ws__now_ms(void) { return (int64_t)(WS_NOW_MS()); }
#ifdef WS_NOW_MS32   /* the clock wraps at 2^32: each ctx extends it (ws__now_of in >>config) */
#  define WS__NOW32 1
#else                 /* so does one whose type has 32 bits (HAL_GetTick's uint32_t) */
#  define WS__NOW32 (sizeof(WS_NOW_MS()) < sizeof(int64_t))
#endif

#ifndef WS__LWIP   /* the BSD socket calls, by the names this platform gives them */
#  define ws__socket      socket
#  define ws__bind        bind
#  define ws__listen      listen
#  define ws__accept_sock accept
#  define ws__connect     connect
#  define ws__getsockname getsockname
#  define ws__getpeername getpeername
#  define ws__getsockopt  getsockopt
#  define ws__setsockopt  setsockopt
#  define ws__inet_ntop   inet_ntop
static void ws__sock_shutdown_wr(ws__sock s) {
#  if defined(_WIN32)
    (void)shutdown(s, SD_SEND);
#  else
    (void)shutdown(s, SHUT_WR);
#  endif
}
typedef struct addrinfo ws__addrinfo;
enum { WS__RES_NUMERIC = 1, WS__RES_PASSIVE = 2 };
/* RFC 8305 section 4: the families take turns (IPv6, IPv4, IPv6... from the first one's), each
 * in the resolver's order, so that silent addresses of one family, each with half of the time
 * left (ws__client_try), do not leave the other only a sliver. In place: ai_next relinked (the
 * list is still freed from its new head). Returns 0. */
static int ws__ai_mix(ws__addrinfo **res) {
    ws__addrinfo *a, *p[2] = {NULL, NULL}, **t[2];
    int i, f = (*res)->ai_family;
    t[0] = &p[0];
    t[1] = &p[1];
    for (a = *res; a; a = a->ai_next) {   /* split: the first address's family, the others */
        i = a->ai_family != f;
        *t[i] = a;
        t[i] = &a->ai_next;
    }
    *t[0] = *t[1] = NULL;
    for (i = 0; p[0] || p[1]; i ^= 1)     /* merged taking turns */
        if (p[i]) { *res = p[i]; res = &p[i]->ai_next; p[i] = p[i]->ai_next; }
    return 0;
}
/* host:port to addresses; NUMERIC: no DNS; PASSIVE: for bind. 0 = done (free *res). */
static int ws__resolve(const char *host, const char *port, int flags, ws__addrinfo **res) {
    struct addrinfo hints;
    int rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = (flags & WS__RES_NUMERIC) ? AI_NUMERICHOST | AI_NUMERICSERV :
                     (flags & WS__RES_PASSIVE) ? AI_PASSIVE | AI_NUMERICSERV : AI_ADDRCONFIG;
    *res = NULL;
    rc = getaddrinfo(host, port, &hints, res);
    if (rc == 0 && *res) return flags ? 0 : ws__ai_mix(res);   /* a client's name: mixed */
    *res = NULL;
    /* AI_ADDRCONFIG does not count loopback addresses (RFC 3493): on Windows with no network,
     * "localhost" (or the PC's own name) finds nothing. Once more without it (not after
     * EAI_AGAIN: a DNS server that did not answer would be waited for twice). */
    if (hints.ai_flags != AI_ADDRCONFIG || rc == EAI_AGAIN) return -1;
    hints.ai_flags = 0;
    if (getaddrinfo(host, port, &hints, res) == 0 && *res) return ws__ai_mix(res);
    *res = NULL;
    return -1;
}
static void ws__resolve_free(ws__addrinfo *a) { freeaddrinfo(a); }
#endif

#ifndef WS_NO_WAKEUP
/* Wakes a waiting poll: one byte into the wake-up pipe/socket. Thread-safe. 0 = done. A full
 * channel (EAGAIN; Windows: WSAEWOULDBLOCK) is woken already: its bytes are waiting. */
static int ws__wake_signal(ws__sock w) {
#if defined(_WIN32) || defined(WS__LWIP)
    if (ws__sock_send(w, "w", 1) == 1) return 0;
#else
    ssize_t r;
    do { r = write(w, "w", 1); } while (r < 0 && errno == EINTR);
    if (r == 1) return 0;
#endif
    return ws__err_again(ws__sock_errno()) ? 0 : -1;
}
#else   /* WS_NO_WAKEUP: nothing can wake a waiting ws_poll; posts run at the end of a pass */
static int ws__wake_signal(ws__sock w) { (void)w; return -1; }
#endif

/* Why a connect or bind failed, in words (static strings: they end up in ws_event.msg). */
WS__UNUSED static const char *ws__sock_why(int e, int binding) {
#if defined(_WIN32)
    if (e == WSAECONNREFUSED) return WS__T("connection refused (nothing listens on that port)");
    if (e == WSAETIMEDOUT) return WS__T("connection timed out");
    if (e == WSAEHOSTUNREACH) return WS__T("host unreachable");
    if (e == WSAENETUNREACH) return WS__T("network unreachable");
    if (e == WSAEADDRINUSE) return WS__T("address already in use");
    if (e == WSAEACCES) return binding ? WS__T("permission denied (a port Windows reserves: netsh int ipv4 show "
                                               "excludedportrange protocol=tcp; or held exclusively)")
                                       : WS__T("permission denied");
    if (e == WSAEADDRNOTAVAIL) return WS__T("address not available on this machine");
    if (e == WSAEAFNOSUPPORT) return WS__T("address family not supported (is IPv6 off on this machine?)");
#else
    if (e == ECONNREFUSED) return WS__T("connection refused (nothing listens on that port)");
    if (e == ETIMEDOUT) return WS__T("connection timed out");
    if (e == EHOSTUNREACH) return WS__T("host unreachable");
    if (e == ENETUNREACH) return WS__T("network unreachable");
    if (e == EADDRINUSE) return WS__T("address already in use");
    if (e == EACCES) return binding ? WS__T("permission denied (ports below 1024 need privileges)")
                                    : WS__T("permission denied");
    if (e == EADDRNOTAVAIL) return WS__T("address not available on this machine");
    if (e == EAFNOSUPPORT) return WS__T("address family not supported (is IPv6 off on this machine?)");
#endif
    if (ws__err_nofd(e)) return WS__T("out of file descriptors or socket buffers");
    return binding ? WS__T("bind or listen failed") : WS__T("could not connect to any address of the host");
}

WS__UNUSED static int ws__err_addrinuse(int e) {   /* bind: another socket has that address and port */
#if defined(_WIN32)
    return e == WSAEADDRINUSE;
#else
    return e == EADDRINUSE;
#endif
}

static void ws__sock_setup2(ws__sock s, int nb) {   /* nb: non-blocking already */
    int one = 1;
    if (!nb) (void)ws__sock_nonblock(s);
    (void)ws__setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
#if defined(SO_NOSIGPIPE)
    (void)ws__setsockopt(s, SOL_SOCKET, SO_NOSIGPIPE, (const char *)&one, sizeof one);
#endif
}
static void ws__sock_setup(ws__sock s) { ws__sock_setup2(s, 0); }   /* every socket: non-blocking, no Nagle, no SIGPIPE */
#else   /* WS_NO_NET: the engine keeps an (always invalid) descriptor field */
typedef int ws__sock;
#  define WS__INVALID_SOCK (-1)
#endif /* WS_NO_NET */

/* ==== >>conn ==== the protocol engine: bytes in -> events out, calls -> bytes queued ==== */
/* Nothing in this section makes a syscall: input arrives in c->rx (ws_engine_feed, or the
 * reader in >>poll), output goes to c->tx, and a transport (>>transport, >>tls, a ws_io) or the
 * engine's user (ws_engine_output) moves the bytes. Time is ctx->now, set by the caller. */
#ifndef WS_BUF_MIN
#  define WS_BUF_MIN 16384          /* first size of a receive/send buffer */
#endif
#ifndef WS_POOL_MAX
#  define WS_POOL_MAX 16            /* idle buffers a ctx keeps for reuse */
#endif
#ifndef WS_POOL_BUF_MAX
#  define WS_POOL_BUF_MAX (256 * 1024)  /* larger buffers are freed, not pooled */
#endif

typedef struct ws__buf { size_t cap, off, len; } ws__buf;   /* bytes follow the header */
#define WS__BDATA(b) ((uint8_t *)((b) + 1))

enum {   /* ws_conn.state */
    WS__RESOLVING, WS__CONNECTING, WS__PROXY, WS__TLS, WS__HANDSHAKE, WS__OPEN, WS__CLOSING,
    WS__CLOSED, WS__WAITING      /* closed; a reconnect is due at c->deadline */
};
enum {   /* ws_conn.flags */
    WS__F_SERVER = 1 << 0, WS__F_OPENED = 1 << 1, WS__F_SENT_CLOSE = 1 << 2,
    WS__F_GOT_CLOSE = 1 << 3, WS__F_SHUT = 1 << 4,      /* shut TCP down once tx is sent */
    WS__F_WSHUT = 1 << 5,                               /* ... and did */
    WS__F_DEAD = 1 << 6, WS__F_FRAGS = 1 << 7, WS__F_FRAGS_SET = 1 << 8,
    WS__F_HAVE_FRAME = 1 << 9, WS__F_DRAIN_WAIT = 1 << 10, WS__F_DRAINED = 1 << 11,
    WS__F_USER_CLOSE = 1 << 12, WS__F_HTTP = 1 << 13,   /* plain HTTP: no events */
    WS__F_CLOSE_FIRED = 1 << 14, WS__F_ERR_FIRED = 1 << 15, WS__F_FAILED = 1 << 16,
    WS__F_BROKEN = 1 << 17,                             /* finish in the next dispatch */
    WS__F_REFUSE = 1 << 18,                             /* over max_conns: answer 503 */
    WS__F_PEND = 1 << 19,                               /* on the ctx's pending list */
    WS__F_FEED = 1 << 20,                               /* rx holds bytes not processed yet */
    WS__F_PREOPEN = 1 << 21,                            /* upgraded elsewhere: open it */
    WS__F_FLUSHING = 1 << 22,                           /* inside ws__flush (re-entry guard) */
#ifndef WS_NO_NET
    WS__F_HS = 1 << 23,                                 /* on the ctx's handshake list */
#else
    WS__F_HS = 0,                                       /* an engine is on no such list */
#endif
    WS__F_OWN_IO = 1 << 24,                             /* c->io is our copy of the user's */
    WS__F_ADDR4 = 1 << 25, WS__F_ADDR6 = 1 << 26,       /* raddr holds the peer's IPv4 / IPv6 address */
    WS__F_EOF = 1 << 27                                 /* the peer's EOF came: ends once tx is out */
};

typedef struct ws__client ws__client;
typedef struct ws__tls_cfg ws__tls_cfg;   /* >>tls: shared mbedTLS config, per listener/client */

enum { WS__K_CONN = 1, WS__K_LISTENER = 2, WS__K_WATCH = 3, WS__K_RACE = 4 };   /* an epoll data.ptr, owners[].o */
#define WS__POLLNVAL 64   /* poll()'s POLLNVAL, beside the WS_POLL* bits: the fd was closed */

/* A connection's own timers are kept as milliseconds modulo 2^32 (ws__t32_of, ws__t64): they
 * are never more than 2^31 ms (24 days, any int *_ms setting) away from ctx->now. */
typedef uint32_t ws__t32;
static ws__t32 ws__t32_of(int64_t t) { return (ws__t32)t ? (ws__t32)t : 1u; }   /* 0 = none */
/* An entry of the ctx's timer heap: a connection's timers (ws_conn.hn) or a ws_timer. Its key
 * is a ws__t32 too, at most 2^30 ms ahead (ws__heap_file), so while the loop runs at least
 * every 12 days all keys lie within 2^31 ms of each other and compare as differences. */
typedef struct ws__hnode {
    ws__t32  due;                /* the heap's key, ws__t32_of (0 = not scheduled) */
    uint32_t hidx;               /* bit 0: a ws_timer (first member of it), else a ws_conn's;
                                  * the rest (WS__HPOS): 1 + position in the heap, 0 = not in it */
} ws__hnode;
#define WS__HPOS(n) ((n)->hidx >> 1)

struct ws_conn {
    uint8_t   kind, state, msg_op;   /* kind first: see struct ws_listener */
    uint8_t   ereg;              /* the events registered with epoll (or on_watch) */
    uint8_t   iorev;             /* ws_conn_io_ready: WS_POLLIN/OUT to handle in the loop */
    ws_utf8   utf8;              /* (the small members first: no padding between them) */
    ws__rxf   fr;                /* the frame being received (WS__F_HAVE_FRAME) */
    uint16_t  close_code, rport;
    ws_result err;               /* the local error that ends the connection */
    ws_conn  *next, *prev;
    ws_conn  *pnext;             /* the ctx's pending list (WS__F_PEND) */
    ws_ctx   *ctx;
    /* How its bytes move: a ws_io (plain TCP in >>transport, mbedTLS in >>tls, or the user's
     * copy, WS__F_OWN_IO), called as (c->io->read)(c->io_arg, ...) - lwIP's compatibility
     * macros read/write/close/shutdown must not expand there. NULL: none (an engine's output
     * waits in tx; a client between attempts). io_arg: the ws_io's io (TCP: the socket). */
    const ws_io *io;
    void     *io_arg;
    struct ws__ext *x;           /* rarely used members, allocated on first use (ws__x) */
    void     *user;
    ws__buf  *rx, *tx, *msg;     /* NULL while idle: buffers come from the ctx pool */
    ws__t32   deadline, next_ping, pong_due, last_rx;   /* ws__t32_of: 0 = none */
    ws__hnode hn;                /* the ctx's timer heap: due = the earliest of the above */
    size_t    pdone;             /* payload bytes of fr already unmasked and checked */
    size_t    msg_len;           /* bytes of the fragmented message received so far */
#ifdef WS_USE_ZLIB
    struct ws__pmd *pmd;         /* >>deflate: permessage-deflate once agreed, else NULL */
#endif
    ws__sock  fd;
    uint32_t  flags;
    uint8_t   raddr[16];
    uint64_t  id;
    int64_t   created;
#ifdef WS_DEBUG
    uint32_t  magic;             /* WS__LIVE while allocated; WS_DEBUG checks it in the API */
#endif
};
/* ws_conn's rarely used members: an idle connection costs only its ws_conn. Made on first
 * use by ws__x (clients, server handshakes, TLS, on_watch, a subprotocol, a close reason, an
 * error text), freed by ws__x_trim when nothing in it is in use any more. */
typedef struct ws__ext {
    ws__client *cl;              /* client side only (ws__cl) */
    const char *err_msg;         /* static text for err (or msg_own); NULL: ws__err_msg */
    ws_conn  *hsnext, *hsprev;   /* the ctx's list of server handshakes, oldest first (WS__F_HS) */
    void     *hsock;             /* on_watch: the host's pointer for this socket */
    char     *protocol;          /* chosen subprotocol, or NULL */
    char     *close_reason;      /* from the peer's close frame, or NULL */
    char     *msg_own;           /* owned text behind err_msg (TLS errors), or NULL */
} ws__ext;
#define WS__LIVE  0x57534331u   /* "WSC1" */
#define WS__FREED 0xDDDDDDDDu
#ifndef WS_DEBUG_QUARANTINE
#  define WS_DEBUG_QUARANTINE 1024  /* WS_DEBUG: freed conns kept (poisoned) to catch late uses */
#endif
#ifdef WS_DEBUG   /* a freed ws_conn * passed to the API: an assertion, not silent corruption */
#  define WS__CHECK(c) WS_ASSERT(!(c) || ((c)->magic == WS__LIVE && "ws_conn used after it was freed (after its WS_EV_CLOSE)"))
#else
#  define WS__CHECK(c) ((void)0)
#endif

typedef struct ws__dns ws__dns;
/* RFC 8305 section 5 (Happy Eyeballs): a client's second connect in flight, beside c's own
 * (>>client, ws__race_start). Left out on lwIP: one address at a time there, as small as ever. */
#if !defined(WS_NO_NET) && !defined(WS__LWIP) && !defined(WS_NO_CLIENT)
#  define WS__RACE 1
typedef struct ws__race {
    uint8_t   kind, ereg;        /* WS__K_RACE (its fd's owner in the loop); events registered */
    ws__sock  fd;
    ws__t32   until;             /* its share of connect_timeout_ms ends */
    ws__addrinfo *ai;            /* its address (in the client's list); NULL = none in flight */
    ws_conn  *c;
    void     *hsock;             /* on_watch: the host's pointer for this socket */
} ws__race;
#endif
struct ws__client {
    char      *url;              /* owned copy; u's spans point into it */
    ws_url     u;
    char      *origin, *protocols, *headers;
    char       key[25];
    int        reconnect, delay_ms, max_ms, cur_ms, http_status;
    int        last_err;         /* the socket error of the last failed connect */
#ifndef WS_NO_NET
    ws__t32    end;              /* when connect_timeout_ms is up for this attempt */
    ws__addrinfo *ai, *ai_next;
    ws__dns   *dns;
#endif
#ifdef WS__RACE
    ws__t32    until, race_at;   /* c's own attempt's share ends; the next address starts (0: not) */
    ws__race   race;
#endif
    ws__tls_cfg *tls;            /* wss:// only */
    char      *proxy, *proxy_auth;   /* opts->proxy (owned; proxy_host points into it), Basic */
    ws_span    proxy_host;           /* ptr NULL = no proxy */
    uint16_t   proxy_port;
#ifdef WS_USE_ZLIB
    ws_deflate_opts deflate;     /* >>deflate: what to offer (from opts or the ctx) */
#endif
};

struct ws_listener {
    uint8_t      kind;           /* WS__K_LISTENER, at the same offset as ws_conn.kind */
    uint8_t      ereg;           /* registered with epoll */
    ws_listener *next;
    ws_ctx      *ctx;
    ws__sock     fd;
    uint16_t     port;
    uint8_t      any;            /* bound to 0.0.0.0 or :: (all interfaces) */
    uint8_t      nodelay;        /* Linux: TCP_NODELAY set here, so accepted sockets have it */
    char         url[64];
    char         addr[56];       /* the bound address, "0.0.0.0:8080" */
    ws__tls_cfg *tls;            /* ws_listen_tls only */
    void        *hsock;          /* on_watch: the host's pointer for this socket */
};

typedef struct ws__post { void (*fn)(ws_ctx *ctx, void *arg); void *arg; } ws__post;
/* A server's frame whose payload is the caller's memory: header here, payload not copied. */
typedef struct ws__outf { const uint8_t *p; size_t n; uint8_t h[14], hl; } ws__outf;
#define WS__OUT_MAX 8
struct ws_ctx {   /* the most used members first: Thumb-2 loads them with 16-bit instructions
                  * (offsets < 128), so cfg (132 B on 32-bit) comes after them, not first */
    ws_conn     *head, *tail;
    ws_listener *listeners;
    size_t       nopen, nserver;
    int64_t      now;
    int          in_cb, nevents, destroying, net_ok, nresolving;
    int          engine;         /* 1 = the private ctx of one ws_engine_create connection */
    ws_conn     *pend;           /* conns with work for the end of this dispatch */
    size_t       mem_used;       /* bytes of buffers (pooled ones too): max_memory's count */
    int          mem_full;       /* the last failed reservation hit max_memory */
    int          mem_wait;       /* 1: a send failed on max_memory with nothing queued (its
                                    DRAINED waits for budget); 3: a buffer went back since */
    int          dispatching;    /* inside a pass or a call holding ctx (ws__hold): the host's timer
                                    is set, a destroy asked for is done, at its end */
    ws_config    cfg;
    uint64_t     next_id;
    int64_t      timer_told;     /* on_timer: the due time last told (-1: none) */
    uint8_t      wake_reg;       /* on_watch: the wake-up channel is watched */
    uint8_t      fire;           /* ws_timer_fired from a callback: a pass as the call ends */
    void        *wake_host;
    const uint8_t *text_ok;      /* the text message being delivered: valid UTF-8 already */
    size_t       text_ok_len;
    ws__hnode  **heap;           /* timers: a binary min-heap of conns and ws_timers by due */
    size_t       hlen, hcap, nconns, ntimers;
    ws_listener *dead_listeners; /* closed; freed after the dispatch that may name them */
    int          epfd;           /* Linux: the epoll set ws_poll waits on; -1 = use poll() */
    ws_conn     *hold;           /* ws_connect_blocking's conn: not freed under it */
    ws__buf     *pool[WS_POOL_MAX];
    int          npool;
    ws__buf     *big;            /* one buffer above WS_POOL_BUF_MAX kept for the next one */
    int          big_idle;       /* passes since big was last taken: freed after 64 */
    uint8_t      rd_big;         /* reads fill WS_POOL_BUF_MAX buffers: a read starts in big */
    ws_conn     *outc;           /* whose frames ws__frames is delivering (echoes batch up) */
    uint8_t      outn;           /* outc's sends of what it is reading, not yet written: */
#if !defined(WS__LWIP) && !defined(WS_NO_NET)   /* lwIP and the engine alone: never used */
    ws__outf     out[WS__OUT_MAX];   /* (ws__send_direct, ws__out_flush) */
#endif
#ifndef WS_NO_NET
    struct ws__owner { void *o; intptr_t fd; short ev; } *owners;   /* what the last ws_pollfds listed */
    size_t       owner_cap, owner_len;
    ws__ospfd   *ospfds;
    size_t       ospfd_cap;
#endif
    ws__sock     wake_r, wake_w;
    uint8_t      rnd[64];
    size_t       rnd_left;
    char         err[WS__TEXT ? 200 : 1];   /* ws_ctx_error (WS_NO_ERROR_TEXT: always "") */
#ifdef WS_USE_ZLIB
    struct ws__pmd_shared *pmds; /* >>deflate: streams shared by no-context-takeover conns */
    unsigned long ndeflate;      /* >>deflate: messages compressed (tests, bench: one per broadcast) */
#endif
#ifndef WS_NO_NET
    ws_watch    *watches, *dead_watches;   /* ws_watch_fd; removed ones freed after the pass */
    ws_timer    *timers;         /* every ws_timer, for ws_ctx_destroy */
    ws__post    *posts;          /* ws_ctx_post's ring */
    size_t       post_cap, post_len;   /* posts[0..post_len) wait, oldest first */
    int          post_closed;
#  ifndef WS_NO_THREADS
    ws__mutex    post_mu;
#  endif
#endif
    ws_conn    **ids;            /* id -> conn: open addressing, linear probing (ws_conn_find) */
    size_t       ids_cap, ids_len;
#ifdef WS_DEBUG
    ws_conn     *quar[WS_DEBUG_QUARANTINE];   /* freed, poisoned conns: a ring */
    size_t       nquar;
#endif
    ws_conn     *hs_head, *hs_tail;   /* accepted conns not open yet (or answering HTTP) */
    size_t       npending;
    int64_t      accept_resume;  /* listeners paused (EMFILE...) until then; 0 = none */
    int          accept_backoff; /* ms of the last pause: doubles while it lasts */
    ws__buf     *later;          /* an engine: input fed from its own callback, for after it */
    int          later_eof;      /* ... and the stream's end (ws_engine_eof) after that input */
    ws__t32      hold_end;       /* when ws_connect_blocking gives up (0: no limit, no call) */
};

#ifdef WS_NO_SERVER   /* nothing is accepted: no handshake list, listeners never pause */
#  define WS__NO_SERVER 1
#  define WS__PAUSED(x) ((int64_t)0)
#else
#  define WS__NO_SERVER 0
#  define WS__PAUSED(x) ((x)->accept_resume)   /* listeners paused until then (0: not) */
#endif
#ifdef WS_NO_CLIENT   /* nothing is dialled: no reconnects */
#  define WS__NO_CLIENT 1
#else
#  define WS__NO_CLIENT 0
#endif
#ifdef WS_NO_NET   /* every ctx is an engine's: what only the loop needs is left out */
#  define WS__ENGINE(x) 1
#else
#  define WS__ENGINE(x) ((x)->engine)
#endif
static void *ws__alloc(ws_ctx *ctx, size_t n) { (void)ctx; return WS_MALLOC(n, ctx->cfg.user); }
static void *ws__realloc(ws_ctx *ctx, void *p, size_t n) { (void)ctx; return WS_REALLOC(p, n, ctx->cfg.user); }
static void  ws__free(ws_ctx *ctx, void *p) { (void)ctx; if (p) WS_FREE(p, ctx->cfg.user); }
static char *ws__strdup(ws_ctx *ctx, const char *s, size_t n) {
    char *d = (char *)ws__alloc(ctx, n + 1);
    if (d) { memcpy(d, s, n); d[n] = '\0'; }
    return d;
}
static int64_t ws__t64(const ws_ctx *ctx, ws__t32 t) {   /* a ws__t32 back on ctx->now's scale */
    return t ? ctx->now + (int32_t)(t - (ws__t32)ctx->now) : 0;   /* 0 stays 0 (none) */
}
#ifndef WS_NO_NET
/* ctx's clock. A 32-bit one (WS__NOW32: sys_now, HAL_GetTick wrap after 49.7 days) counts
 * only by its low 32 bits: ctx->now, the last reading, carries the high part and a reading
 * moves it on by the 32-bit difference, so ctx's clock never wraps while it is read at least
 * every 49.7 days. A 64-bit clock is taken as it is (the test is a constant). */
static int64_t ws__now_of(const ws_ctx *ctx) {
    if (!WS__NOW32) return ws__now_ms();
    return ctx->now + (uint32_t)((uint32_t)ws__now_ms() - (uint32_t)ctx->now);
}
static void ws__now_set(ws_ctx *ctx) { ctx->now = ws__now_of(ctx); }
#endif
/* Timers stay 32-bit on the way: ms from now as a ws__t32, and whether t has come (t != 0). */
static ws__t32 ws__t32_in(const ws_ctx *ctx, int ms) {
    ws__t32 t = (ws__t32)ctx->now + (ws__t32)ms;
    return t ? t : 1u;
}
static int ws__passed(const ws_ctx *ctx, ws__t32 t) { return (int32_t)((ws__t32)ctx->now - t) >= 0; }
static ws__ext *ws__x(ws_conn *c) {   /* c's extension block, made on first use; NULL = no memory */
    if (!c->x && (c->x = (ws__ext *)ws__alloc(c->ctx, sizeof *c->x)) != NULL) memset(c->x, 0, sizeof *c->x);
    return c->x;
}
static ws__client *ws__cl(const ws_conn *c) { return c->x ? c->x->cl : NULL; }
/* c's error text: one set with ws__set_msg, else the result code's own (no memory for c->x) */
static const char *ws__err_msg(const ws_conn *c) {
    return c->x && c->x->err_msg ? c->x->err_msg : c->err != WS_OK ? ws_result_str(c->err) : "";
}
static void ws__set_msg(ws_conn *c, const char *msg) {   /* msg: static text (or x->msg_own) */
    if (*msg ? ws__x(c) != NULL : c->x != NULL) c->x->err_msg = msg;
}
static void ws__x_trim(ws_conn *c) {   /* frees c->x when nothing in it is in use */
    ws__ext *x = c->x;
    if (x && !(c->flags & WS__F_HS) && !c->ctx->cfg.on_watch && !x->cl && !x->protocol &&
        !x->close_reason && !x->msg_own && (!x->err_msg || !*x->err_msg)) {
        ws__free(c->ctx, x);
        c->x = NULL;
    }
}

/* Work for the end of the current (or next) dispatch: a broken conn to finish, a DRAINED to
 * report, bytes queued from a callback, a dead conn to free. Costs nothing per idle conn. */
#ifndef WS_NO_NET
static void ws__timer_sync(ws_ctx *ctx);   /* >>poll: tell the host's timer (on_timer) */
#endif
static void ws__pend(ws_conn *c) {
    if (c->flags & WS__F_PEND) return;
    c->flags |= WS__F_PEND;
    c->pnext = c->ctx->pend;
    c->ctx->pend = c;
#ifndef WS_NO_NET
    if (c->ctx->cfg.on_timer && !c->ctx->dispatching) ws__timer_sync(c->ctx);   /* run it soon */
#endif
}
/* A public call that may run callbacks (events, the log, hooks, a ws_io, timers...) holds
 * its ctx (dispatching) from before the first one; ws__release (>>poll) ends it, and the
 * outermost call's end does what those callbacks asked for that could not happen under them:
 * ws_ctx_destroy (destroying 1), a ws_timer_fired's pass. Engines have ws__engine_run. */
#ifndef WS_NO_NET
static int ws__release(ws_ctx *ctx);   /* 1 = the ctx is gone: touch nothing of it after */
static ws_ctx *ws__hold(ws_ctx *ctx) { if (ctx) ctx->dispatching++; return ctx; }
static ws_ctx *ws__hold_c(const ws_conn *c) { return c && !c->ctx->engine ? ws__hold(c->ctx) : NULL; }
#else
#  define ws__release(ctx) ((void)(ctx), 0)
#  define ws__hold_c(c) ((ws_ctx *)NULL)
#endif
/* The handshake list: server conns from accept until open or gone, oldest first, so the
 * oldest can make room (max_pending, max_pending_per_addr; ws__hs_add in >>server). */
static void ws__hs_del(ws_conn *c) {
    ws_ctx *x = c->ctx;
    if (WS__NO_SERVER || !(c->flags & WS__F_HS)) return;   /* WS_NO_SERVER: no list */
    c->flags &= ~(uint32_t)WS__F_HS;
    if (c->x->hsprev) c->x->hsprev->x->hsnext = c->x->hsnext; else x->hs_head = c->x->hsnext;
    if (c->x->hsnext) c->x->hsnext->x->hsprev = c->x->hsprev; else x->hs_tail = c->x->hsprev;
    c->x->hsnext = c->x->hsprev = NULL;
    x->npending--;
    ws__x_trim(c);
}
static void ws__conn_reset(ws_conn *c);
/* >>deflate (RFC 7692), after >>engine; without WS_USE_ZLIB stubs that do nothing */
static unsigned  ws__pmd_rsv(const ws_conn *c);          /* RSV bits the peer may set */
static int       ws__pmd_rx(const ws_conn *c);           /* 1 = receiving a compressed message */
static ws_result ws__pmd_frame_check(ws_conn *c, const char **why);
static size_t    ws__pmd_slack(const ws_conn *c, size_t limit);
static void      ws__pmd_frame(ws_conn *c, int op, const uint8_t *p, size_t n, int fin);
#ifdef WS_USE_ZLIB
static ws_result ws__pmd_send(ws_conn *c, int op, const void *data, size_t len);
#endif
#ifndef WS_NO_CLIENT   /* the client's side of the negotiation */
static size_t    ws__pmd_offer(ws_conn *c, char *out, size_t cap);
static ws_result ws__pmd_answer(ws_conn *c, ws_http_response *res, const char **why);
#endif
#ifndef WS_NO_SERVER
static size_t    ws__pmd_accept(ws_conn *c, const ws_http_request *req, char *out, size_t cap);
#endif
static ws_result ws__pmd_agreed(ws_conn *c, const char *ext, const char **why);
static void      ws__pmd_free(ws_conn *c);
static void      ws__pmd_ctx_free(ws_ctx *ctx);
static ws_result ws__send(ws_conn *c, int fin, int rsv, int op, const void *data, size_t len);
#ifndef WS_NO_NET   /* what the engine calls in the layers above it, when they exist */
static void ws__unwatch(ws_conn *c);   /* >>poll: before its socket closes */
static void ws__epoll_set(ws_ctx *x, ws__sock fd, void *ptr, uint8_t *reg, uint8_t want);
static void ws__sched(ws_conn *c);
static void ws__cancel_retry(ws_conn *c);
static void ws__client_start(ws_conn *c);
static int  ws__client_next(ws_conn *c);    /* an address's time is up: the next one */
static void ws__client_reset(ws_conn *c);   /* + the attempt's DNS and socket */
static void ws__tls_cfg_release(ws_ctx *ctx, ws__tls_cfg *g);
static int  ws__send_direct(ws_conn *c, int fin, int rsv, int op, const void *data, size_t len);
static int  ws__is_tcp(const ws_conn *c);   /* >>transport: c is on ws.h's own plain TCP */
#ifdef WS__SEND_LAST
static ws_result ws__tcp_write_last(void *io, const uint8_t *buf, size_t len, size_t *put);
#endif
static void ws__out_flush(ws_ctx *ctx, const ws_conn *c);   /* c's batched echoes: write them */
static void ws__rd_unbig(ws_ctx *ctx, ws__buf **pb);   /* >>poll: a large buffer's few bytes move */
#define WS__OUT_FLUSH(ctx, c) do { if ((ctx)->outn) ws__out_flush(ctx, c); } while (0)
#else
#  define ws__client_reset ws__conn_reset
#  define ws__send_direct(c, fin, rsv, op, data, len) 0
#  define ws__is_tcp(c) 0
#  define WS__OUT_FLUSH(ctx, c) ((void)0)
#endif

static int ws__grow(ws_ctx *ctx, void **p, size_t *cap, size_t need, size_t elem) {
    size_t n = *cap ? *cap : 16;
    void *np;
    if (need <= *cap) return 1;
    while (n < need) n += n / 2;   /* 1.5x: the timer heap holds a slot per connection */
    np = ws__realloc(ctx, *p, n * elem);
    if (!np) return 0;
    *p = np;
    *cap = n;
    return 1;
}


/* Random bytes for masks, from a small cache refilled from ws_random (RFC 6455 10.3). */
static void ws__rand(ws_ctx *ctx, uint8_t *out, size_t n) {
    while (n) {
        size_t k;
        if (!ctx->rnd_left) {
            if (ws_random(ctx->rnd, sizeof ctx->rnd) != WS_OK) {
                /* no entropy: still vary the mask, never send a constant */
                size_t i;
                for (i = 0; i < sizeof ctx->rnd; i++)
                    ctx->rnd[i] = (uint8_t)(ctx->rnd[i] * 131u + (unsigned)ctx->now + i + ctx->next_id);
            }
            ctx->rnd_left = sizeof ctx->rnd;
        }
        k = WS__MIN(n, ctx->rnd_left);
        memcpy(out, ctx->rnd + sizeof ctx->rnd - ctx->rnd_left, k);
        ctx->rnd_left -= k; out += k; n -= k;
    }
}

/* ---- buffers: taken from the ctx pool when bytes arrive or wait, returned when empty ----
 * Every buffer byte (pooled ones too) counts in ctx->mem_used against the ctx-wide budget,
 * ws_config.max_memory: a reservation that would pass it fails with ctx->mem_full set. */
static size_t ws__max_memory(const ws_ctx *x) { return x->cfg.max_memory; }   /* ws__cfg_set */
static void ws__buf_free(ws_ctx *ctx, ws__buf *b) {
    ctx->mem_used -= sizeof(ws__buf) + b->cap;
    ws__free(ctx, b);
}
/* Large messages (1 MiB echoes) would get a fresh buffer each, and fresh memory costs a page
 * fault per 4 KiB, more than the copy itself: one large buffer is kept in ctx->big for the
 * next large need (if it and the pool fit in WS_POOL_MAX x WS_POOL_BUF_MAX, 4 MiB), and freed
 * after 64 passes of the loop that did not take it. */
static void ws__buf_put(ws_ctx *ctx, ws__buf **pb);
static int ws__buf_keep_big(ws_ctx *ctx, ws__buf *b) {
    size_t idle = 0;   /* kept only while it and the pool stay within what the pool may hold */
    int i;
    for (i = 0; i < ctx->npool; i++) idle += ctx->pool[i]->cap;
    if (ctx->destroying || b->cap > (size_t)WS_POOL_MAX * WS_POOL_BUF_MAX - WS__MIN(idle, (size_t)WS_POOL_MAX * WS_POOL_BUF_MAX))
        return 0;
    if (ctx->big && ctx->big->cap >= b->cap) return 0;
    if (ctx->big) ws__buf_free(ctx, ctx->big);
    ctx->big = b;
    ctx->big_idle = 0;
    return 1;
}
static int ws__buf_take_big(ws_ctx *ctx, ws__buf **pb, size_t need) {
    ws__buf *b = *pb, *big = ctx->big;
    if (!big || big->cap < need || (b && b->cap >= big->cap)) return 0;
    ctx->big = NULL;
    big->off = big->len = 0;
    if (b) {
        big->len = b->len - b->off;
        memcpy(WS__BDATA(big), WS__BDATA(b) + b->off, big->len);
        ws__buf_put(ctx, pb);
    }
    *pb = big;
    return 1;
}
#ifndef WS_NO_NET
static void ws__buf_big_pass(ws_ctx *ctx) {   /* at the end of each pass of the loop */
    if (ctx->big && ++ctx->big_idle > 64) { ws__buf_free(ctx, ctx->big); ctx->big = NULL; }
}
#endif
static void ws__buf_put(ws_ctx *ctx, ws__buf **pb) {
    ws__buf *b = *pb;
    if (!b) return;
    *pb = NULL;
    if (ctx->mem_wait) ctx->mem_wait = 3;   /* budget for a send that waits (ws__mem_wake) */
    if (b->cap > WS_POOL_BUF_MAX && ws__buf_keep_big(ctx, b)) return;
    if (ctx->npool < WS_POOL_MAX && b->cap <= WS_POOL_BUF_MAX && !ctx->destroying)
        ctx->pool[ctx->npool++] = b;
    else
        ws__buf_free(ctx, b);
}
/* May ctx's buffers grow from `old` to `now` bytes (headers included)? Idle pooled buffers
 * are given back first when that makes the difference. */
static int ws__mem_room(ws_ctx *ctx, size_t old, size_t now, int force) {
    size_t lim = ws__max_memory(ctx), base = ctx->mem_used - old;
    while (!force && now > lim - WS__MIN(base, lim) && (ctx->npool || ctx->big)) {
        if (ctx->npool) ws__buf_free(ctx, ctx->pool[--ctx->npool]);
        else { ws__buf_free(ctx, ctx->big); ctx->big = NULL; }   /* ws__buf_keep_big's */
        base = ctx->mem_used - old;
    }
    if (force || (base <= lim && now <= lim - base)) return 1;
    ctx->mem_full = 1;
    return 0;
}
WS__UNUSED static int ws__mem_full(const ws_ctx *ctx) {   /* no room left for another receive buffer */
    size_t lim = ws__max_memory(ctx);
    return ctx->mem_used >= lim || lim - ctx->mem_used < (size_t)WS_BUF_MIN;
}
/* The largest a single buffer needs to become: growth by doubling stops here (and at the
 * budget), so a buffer overshoots its limit by one reservation at most, never by 2x. */
static size_t ws__buf_lim(const ws_ctx *ctx);

enum { WS__B_SMALL = 1,   /* a fresh buffer of just `extra` bytes (handshakes), not WS_BUF_MIN */
       WS__B_FORCE = 2 }; /* counted but never refused: close frames, pongs, HTTP answers */

/* Makes room for `extra` more bytes at the end of *pb. 0 = out of memory, overflow, or the
 * ctx's max_memory budget (then ctx->mem_full = 1). lim: what this buffer may need at most
 * (its own limit), where growth by doubling stops; 0 = the largest of the ctx's limits. */
static int ws__buf_reserve_f(ws_ctx *ctx, ws__buf **pb, size_t extra, int flags, size_t lim) {
    ws__buf *b = *pb, *nb;
    size_t used, want, room;
    ctx->mem_full = 0;
    if (!b) {
        if (ctx->npool) b = ctx->pool[--ctx->npool];
        else {
            size_t cap = (flags & WS__B_SMALL) ? WS__MAX((size_t)256, extra) : WS__MAX((size_t)WS_BUF_MIN, extra);
            if (cap > (size_t)-1 - sizeof(ws__buf)) return 0;
            if (!ws__mem_room(ctx, 0, sizeof(ws__buf) + cap, flags & WS__B_FORCE)) return 0;
            b = (ws__buf *)ws__alloc(ctx, sizeof(ws__buf) + cap);
            if (!b) return 0;
            b->cap = cap;
            ctx->mem_used += sizeof(ws__buf) + cap;
        }
        b->off = b->len = 0;
        *pb = b;
    }
    if (b->cap - b->len >= extra) return 1;
    used = b->len - b->off;
    if (b->off) {   /* compaction first (memmove: as fast as memcpy when they do not overlap) */
        memmove(WS__BDATA(b), WS__BDATA(b) + b->off, used);
        b->off = 0; b->len = used;
        if (b->cap - used >= extra) return 1;
    }
    if (extra > (size_t)-1 / 2 - sizeof(ws__buf) - used) return 0;
    if (used + extra > WS_POOL_BUF_MAX && ws__buf_take_big(ctx, pb, used + extra)) return 1;
    want = b->cap * 2;                  /* doubling, but not past the limits */
    if (want > WS_POOL_BUF_MAX && used + extra <= WS_POOL_BUF_MAX) want = WS_POOL_BUF_MAX;   /* poolable */
    if (!lim) lim = ws__buf_lim(ctx);
    if (want > lim) want = lim;
    room = ws__max_memory(ctx) - WS__MIN(ws__max_memory(ctx), ctx->mem_used - b->cap);
    if (want > room) want = room;
    if (ctx->mem_used > ws__max_memory(ctx) / 2 && want > used + extra + (used + extra) / 4)
        want = used + extra + (used + extra) / 4;   /* past half the budget: a quarter, not 2x */
    if (want < used + extra) want = used + extra;
    if (!ws__mem_room(ctx, b->cap, want, flags & WS__B_FORCE)) return 0;
    nb = (ws__buf *)ws__realloc(ctx, b, sizeof(ws__buf) + want);
    if (!nb) return 0;
    ctx->mem_used = ctx->mem_used - nb->cap + want;
    nb->cap = want;
    *pb = nb;
    return 1;
}
static int ws__buf_reserve(ws_ctx *ctx, ws__buf **pb, size_t extra) {
    return ws__buf_reserve_f(ctx, pb, extra, 0, 0);
}
/* What a failed reservation means: the budget (WS_ERR_FULL) or the allocator (NOMEM). */
static ws_result ws__nomem(const ws_ctx *ctx) { return ctx->mem_full ? WS_ERR_FULL : WS_ERR_NOMEM; }

static size_t ws__buf_used(const ws__buf *b) { return b ? b->len - b->off : 0; }
#ifndef WS_NO_NET
/* Past half of max_memory, a buffer that holds (and awaits) at most half its size gives the
 * rest back: its bytes move to its start and it shrinks to them (at least WS_BUF_MIN), so a
 * mostly empty receive buffer or send queue does not keep budget that other connections need
 * (a 512 KiB buffer holding a frame's first 82 bytes). Below half, sizes stay (no regrowth). */
static void ws__buf_trim(ws_ctx *ctx, ws__buf **pb, size_t need) {
    ws__buf *b = *pb, *nb;
    size_t used = ws__buf_used(b), want;
    if (!b || ctx->mem_used <= ws__max_memory(ctx) / 2 || b->cap <= 2 * (size_t)WS_BUF_MIN ||
        used > b->cap / 2 || need > b->cap / 2)
        return;
    want = WS__MAX(WS__MAX(used, need), (size_t)WS_BUF_MIN);
    memmove(WS__BDATA(b), WS__BDATA(b) + b->off, used);
    b->off = 0; b->len = used;
    nb = (ws__buf *)ws__realloc(ctx, b, sizeof(ws__buf) + want);
    if (!nb) return;   /* b is still valid (and still counted) */
    ctx->mem_used -= nb->cap - want;
    nb->cap = want;
    *pb = nb;
    if (ctx->mem_wait) ctx->mem_wait = 3;   /* (ws__mem_wake) */
}
#endif

/* ---- events ---- */
static void ws__ev_init(ws_event *ev, ws_event_type t) {
    memset(ev, 0, sizeof *ev);
    ev->type = t;
    ev->fin = 1;
    ev->reason = "";
    ev->msg = "";
}
static void ws__emit(ws_conn *c, const ws_event *ev) {
    ws_ctx *ctx = c->ctx;
    ctx->in_cb++;
    ctx->cfg.on_event(c, ev, ctx->cfg.user);
    ctx->in_cb--;
    ctx->nevents++;
}
static int ws__visible(const ws_conn *c) {   /* does the user know this connection? */
    return !(c->flags & WS__F_SERVER) || (c->flags & WS__F_OPENED);
}
static void ws__log(ws_ctx *ctx, int level, const char *msg) {
    ctx->in_cb++;   /* a callback too: ws_poll from it would re-enter the call that logs */
    if (ctx->cfg.log) ctx->cfg.log(level, msg, ctx->cfg.user);
    ctx->in_cb--;
}
#ifndef WS_NO_NET   /* for ws_listen and ws_connect */
/* A call that fails at once says why: a + b + c (NULLs skipped, a leading "ws.h: " dropped,
 * cut to fit) is kept for ws_ctx_error and given to the log hook as an error. */
WS__UNUSED static void ws__ctx_err(ws_ctx *ctx, const char *a, const char *b, const char *c) {
    const char *part[3];
    char line[sizeof ctx->err + 8];
    size_t n = 0, i, k;
    if (!WS__TEXT) { ws__log(ctx, 0, ""); return; }   /* WS_NO_ERROR_TEXT: nothing to join */
    part[0] = a; part[1] = b; part[2] = c;
    if (a && strncmp(a, "ws.h: ", 6) == 0) part[0] = a + 6;
    for (i = 0; i < 3; i++) {
        if (!part[i]) continue;
        k = WS__MIN(strlen(part[i]), sizeof ctx->err - 1 - n);
        memcpy(ctx->err + n, part[i], k);
        n += k;
    }
    ctx->err[n] = '\0';
    memcpy(line, "ws.h: ", 6);
    memcpy(line + 6, ctx->err, n + 1);
    ws__log(ctx, 0, line);
}
#endif

/* ---- settings with their defaults (a zero in ws_config means "default") ----
 * The ctx's copy has the defaults filled in once (ws__cfg_set), except where a zero says more
 * than its default: max_frame (the error names the limit the user set), ping_interval_ms (its
 * default depends on the role), the server limits. */
static void ws__cfg_set(ws_ctx *ctx, const ws_config *cfg) {
    ws_config *d = &ctx->cfg;
    *d = *cfg;
    if (!d->max_message) d->max_message = (size_t)16 << 20;
    if (!d->max_handshake) d->max_handshake = 8192;
    if (!d->max_send_queue) d->max_send_queue = d->max_message + 65536;
    if (!d->max_memory) d->max_memory = (size_t)256 << 20;
    if (!d->close_timeout_ms) d->close_timeout_ms = 5000;
    if (!d->pong_timeout_ms) d->pong_timeout_ms = 10000;
    if (!d->handshake_timeout_ms) d->handshake_timeout_ms = 10000;
    if (!d->connect_timeout_ms) d->connect_timeout_ms = 10000;
}
static size_t ws__max_message(const ws_ctx *x) { return x->cfg.max_message; }
static size_t ws__max_frame(const ws_ctx *x) { return x->cfg.max_frame ? x->cfg.max_frame : ws__max_message(x); }
static size_t ws__max_handshake(const ws_ctx *x) { return x->cfg.max_handshake; }
static size_t ws__max_queue(const ws_ctx *x) { return x->cfg.max_send_queue; }
static size_t ws__buf_lim(const ws_ctx *x) {
    size_t m = WS__MAX(ws__max_queue(x), WS__MAX(ws__max_message(x), ws__max_frame(x)));
    return m > (size_t)-1 / 2 ? m : m + 2 * (size_t)WS_BUF_MIN;
}
#ifndef WS_NO_NET
static size_t ws__max_conns(const ws_ctx *x) { return x->cfg.max_conns > 0 ? (size_t)x->cfg.max_conns : 1024; }
static size_t ws__max_pending(const ws_ctx *x) {   /* never more than half of max_conns */
    size_t n = x->cfg.max_pending > 0 ? (size_t)x->cfg.max_pending : 256, half = ws__max_conns(x) / 2;
    return WS__MAX((size_t)1, x->cfg.max_pending > 0 ? n : WS__MIN(n, half));
}
static size_t ws__max_pending_addr(const ws_ctx *x) {
    size_t n = x->cfg.max_pending_per_addr > 0 ? (size_t)x->cfg.max_pending_per_addr : 64;
    return WS__MIN(n, ws__max_pending(x));
}
#endif
static int ws__ping_ms(const ws_conn *c) {
    int v = c->ctx->cfg.ping_interval_ms;
    if (v < 0) return 0;
    return v ? v : (c->flags & WS__F_SERVER) ? 30000 : 0;
}
/* The heartbeat's period: pings (ws__ping_ms), else a client's keepalive pongs; 0 = none. */
static int ws__beat_ms(const ws_conn *c, int ping) {
    int k = c->ctx->cfg.keepalive_ms;
    return ping ? ping : !(c->flags & WS__F_SERVER) && k > 0 ? k : 0;
}

/* ---- sending: frames are encoded (and masked by clients) straight into c->tx ---- */
static ws_result ws__queue_frame(ws_conn *c, int fin, int rsv, int op, const void *data,
                                 size_t len, int force) {
    ws_ctx *ctx = c->ctx;
    uint8_t *dst, mask[4];
    size_t hl;
    int masked = !(c->flags & WS__F_SERVER);   /* RFC 6455 5.3: clients mask */
    if (rsv < 0 || rsv > 7 || op < 0 || op > 15 || len > ((size_t)-1 >> 1)) return WS_ERR_ARG;
    WS__OUT_FLUSH(ctx, c);   /* batched echoes go first */
    if (!force && len > ws__max_queue(ctx)) return WS_ERR_TOO_BIG;   /* would never fit */
    if (!force && ws__buf_used(c->tx) + len > ws__max_queue(ctx)) return WS_ERR_FULL;
    if (masked) ws__rand(ctx, mask, 4);
    if (!ws__buf_reserve_f(ctx, &c->tx, len + 14, force ? WS__B_FORCE : 0,
                           ws__max_queue(ctx) + 14)) return ws__nomem(ctx);
    dst = WS__BDATA(c->tx) + c->tx->len;
    hl = ws__frame_head(dst, WS__B0(fin, rsv, op), masked ? mask : NULL, len, 0);
    if (masked) ws__mask_to(dst + hl, (const uint8_t *)data, len, mask, 0);
    else if (len) memcpy(dst + hl, data, len);
    c->tx->len += hl + len;
    return WS_OK;
}

static ws_result ws__queue_close(ws_conn *c, uint16_t code, const char *reason, size_t rlen) {
    uint8_t p[125];
    size_t n = 0;
    if (code) {
        p[0] = (uint8_t)(code >> 8); p[1] = (uint8_t)code;
        rlen = WS__MIN(rlen, (size_t)123);
        while (rlen && ws_utf8_validate(reason, rlen) != WS_OK) rlen--;  /* cut whole chars */
        if (rlen) memcpy(p + 2, reason, rlen);
        n = 2 + rlen;
    }
    c->flags |= WS__F_SENT_CLOSE;
    return ws__queue_frame(c, 1, 0, WS_OP_CLOSE, p, n, 1);
}

static void ws__start_closing(ws_conn *c) {
    c->state = WS__CLOSING;
    c->deadline = ws__t32_in(c->ctx, c->ctx->cfg.close_timeout_ms);
}

/* RFC 6455 7.1.7 "Fail the WebSocket Connection": report, send a close with the matching
 * code, process no more input, close TCP once the close frame is out. */
static void ws__fail(ws_conn *c, ws_result rc, const char *why) {
    ws_event ev;
    if (c->flags & WS__F_FAILED) return;
    c->flags |= WS__F_FAILED | WS__F_SHUT;
    /* no more input: a half-assembled message is moot; but a callback (c's MESSAGE, whose
     * ev->data may be c->msg, sending compressed) may be reading it: then its delivery or
     * c's end frees it */
    if (!c->ctx->in_cb) ws__buf_put(c->ctx, &c->msg);
    c->msg_op = 0;
    if (c->err == WS_OK) { c->err = rc; ws__set_msg(c, why); }
    if ((c->flags & WS__F_OPENED) && !(c->flags & WS__F_ERR_FIRED)) {   /* else: ws__finish */
        c->flags |= WS__F_ERR_FIRED;
        ws__ev_init(&ev, WS_EV_ERROR);
        ev.result = rc;
        ev.msg = why;
        ws__emit(c, &ev);
    }
    if (c->state == WS__OPEN || c->state == WS__CLOSING) {
        if (!(c->flags & WS__F_SENT_CLOSE)) {
            c->close_code = ws_result_close_code(rc);
            (void)ws__queue_close(c, c->close_code, why, strlen(why));
        }
        ws__start_closing(c);
    } else {
        c->flags |= WS__F_BROKEN;   /* before the handshake: just close */
        ws__pend(c);
    }
}

/* A buffer could not grow: over the ctx's max_memory, close 1013 "try again later"
 * (WS_ERR_FULL); the allocator failed: 1011. Input stops either way. */
static void ws__fail_nomem(ws_conn *c) {
    if (c->ctx->mem_full) ws__fail(c, WS_ERR_FULL, WS__T("memory budget (max_memory) reached"));
    else ws__fail(c, WS_ERR_NOMEM, WS__T("out of memory"));
}

/* ---- receiving frames (RFC 6455 5.4-5.6) ---- */
static ws_result ws__frame_check(ws_conn *c, const char **why) {
    ws_ctx *ctx = c->ctx;
    const ws__rxf *f = &c->fr;
    size_t slack, lim;
    int whole;
    ws_result rc = ws__pmd_frame_check(c, why);   /* RSV1: a compressed message (RFC 7692 6) */
    if (rc != WS_OK) return rc;
    if (f->opcode & 8) return WS_OK;   /* control: ws_frame_parse checked fin and length */
    if (f->opcode == WS_OP_CONT) {
        if (!c->msg_op) { *why = WS__T("continuation frame without a message to continue"); return WS_ERR_PROTOCOL; }
    } else {
        if (c->msg_op) { *why = WS__T("new data frame while a fragmented message is open"); return WS_ERR_PROTOCOL; }
        memset(&c->utf8, 0, sizeof c->utf8);
        c->msg_len = 0;
    }
    slack = ws__pmd_slack(c, ws__max_message(ctx));   /* deflate may grow incompressible data */
    /* name the limit the user set: the message one first (max_frame defaults to it) */
    lim = ws__max_message(ctx) + slack;   /* fragments delivered before a switch back count too */
    whole = !(c->flags & WS__F_FRAGS) || (c->msg && !ws__pmd_rx(c));   /* (assembled before
                                                                          * fragment mode was set) */
    if (whole && (c->msg_len > lim || f->payload_len > lim - c->msg_len)) {
        *why = WS__T("message larger than max_message"); return WS_ERR_TOO_BIG;
    }
    if (f->payload_len > ws__max_frame(ctx) + slack ||
        (sizeof f->payload_len < 8 && f->payload_len == (size_t)-1)) {   /* 32-bit: >= 4 GiB */
        *why = ctx->cfg.max_frame ? WS__T("frame larger than max_frame") : WS__T("frame larger than max_message");
        return WS_ERR_TOO_BIG;
    }
    return WS_OK;
}

static void ws__deliver(ws_conn *c, int op, const uint8_t *p, size_t n, int fin) {
    ws_event ev;
    ws__ev_init(&ev, WS_EV_MESSAGE);
    ev.opcode = op;
    ev.data = p;
    ev.len = n;
    ev.fin = fin;
    if (op == WS_OP_TEXT && fin && !(c->flags & WS__F_FRAGS)) {   /* echoing it: checked already */
        c->ctx->text_ok = p;
        c->ctx->text_ok_len = n;
    }
    ws__emit(c, &ev);
    c->ctx->text_ok = NULL;
}

static void ws__got_close(ws_conn *c, const uint8_t *p, size_t n) {
    const char *reason;
    size_t rlen;
    uint16_t code;
    ws_result rc = ws_close_parse(p, n, &code, &reason, &rlen);
    if (rc != WS_OK) {
        ws__fail(c, rc, rc == WS_ERR_UTF8 ? WS__T("invalid UTF-8 in the close reason")
                                          : WS__T("invalid close code or payload"));
        return;
    }
    c->flags |= WS__F_GOT_CLOSE;
    c->close_code = code;
    if (rlen && ws__x(c)) c->x->close_reason = ws__strdup(c->ctx, reason, rlen);
    if (!(c->flags & WS__F_SENT_CLOSE))   /* 5.5.1: reply, echoing the code */
        (void)ws__queue_close(c, code == WS_CLOSE_NO_STATUS ? 0 : code, NULL, 0);
    /* 7.1.1: the server closes TCP first; the client waits for it (close_timeout_ms) */
    if (c->flags & WS__F_SERVER) c->flags |= WS__F_SHUT;
    ws__start_closing(c);
}

static void ws__frame_done(ws_conn *c, uint8_t *p, size_t n) {
    ws_ctx *ctx = c->ctx;
    ws_event ev;
    int op = c->fr.opcode, fin = c->fr.fin;
    switch (op) {
    case WS_OP_PING:   /* 5.5.3: a peer that pings but never reads must not grow tx forever */
        if (!ctx->cfg.no_auto_pong && !(c->flags & WS__F_SENT_CLOSE) &&
            ws__buf_used(c->tx) <= ws__max_queue(ctx))   /* not forced: max_memory holds too */
            (void)ws__queue_frame(c, 1, 0, WS_OP_PONG, p, n, 0);
        ws__ev_init(&ev, WS_EV_PING);
        ev.data = p; ev.len = n;
        ws__emit(c, &ev);
        return;
    case WS_OP_PONG:
        c->pong_due = 0;
        ws__ev_init(&ev, WS_EV_PONG);
        ev.data = p; ev.len = n;
        ws__emit(c, &ev);
        return;
    case WS_OP_CLOSE:
        ws__got_close(c, p, n);
        return;
    default: break;
    }
    if (op == WS_OP_CONT) op = c->msg_op;
    if (ws__pmd_rx(c)) { ws__pmd_frame(c, op, p, n, fin); return; }   /* >>deflate */
    if (fin && op == WS_OP_TEXT && !ws_utf8_complete(&c->utf8)) {
        ws__fail(c, WS_ERR_UTF8, WS__T("text message ends inside a UTF-8 sequence"));
        return;
    }
    if ((c->flags & WS__F_FRAGS) && !c->msg) {  /* fragment mode: as they come (a message
                                                 * assembled before it was set ends whole) */
        c->msg_op = (uint8_t)(fin ? 0 : op);
        c->msg_len = fin ? 0 : c->msg_len + n;
        ws__deliver(c, op, p, n, fin);
    } else if (fin && !c->msg_len && !c->msg) { /* whole message in one frame: no copy */
        c->msg_op = 0;
        ws__deliver(c, op, p, n, 1);
    } else {                                    /* assemble fragments */
        if (n && !ws__buf_reserve_f(ctx, &c->msg, n, 0, ws__max_message(ctx))) { ws__fail_nomem(c); return; }
        if (n) { memcpy(WS__BDATA(c->msg) + c->msg->len, p, n); c->msg->len += n; }
        c->msg_len += n;
        c->msg_op = (uint8_t)op;
        if (fin) {
            c->msg_op = 0;
            c->msg_len = 0;
            if (c->msg) ws__deliver(c, op, WS__BDATA(c->msg) + c->msg->off, ws__buf_used(c->msg), 1);
            else ws__deliver(c, op, (const uint8_t *)"", 0, 1);
            ws__buf_put(ctx, &c->msg);
        }
    }
}

static int ws__reading(const ws_conn *c) {
    return (c->state == WS__OPEN || c->state == WS__CLOSING) &&
           !(c->flags & (WS__F_GOT_CLOSE | WS__F_FAILED | WS__F_DEAD | WS__F_BROKEN | WS__F_HTTP));
}

/* Parses and handles every complete frame in c->rx; unmasks and UTF-8-checks partial
 * payloads as they arrive, so bad text fails at once (Autobahn 6.4 "fail fast"). */
static void ws__frames(ws_conn *c) {
    unsigned pflags = ((c->flags & WS__F_SERVER) ? WS_PARSE_MASKED : WS_PARSE_UNMASKED) | ws__pmd_rsv(c);
    ws_conn *outc = c->ctx->outc;
    WS__OUT_FLUSH(c->ctx, NULL);
    c->ctx->outc = c;   /* echoes of these frames wait for the end of the read (ws__send_direct) */
    while (c->rx && ws__reading(c)) {
        ws__buf *b = c->rx;
        uint8_t *p = WS__BDATA(b) + b->off, *pl;
        size_t avail = b->len - b->off, have;
        int text;
        if (!(c->flags & WS__F_HAVE_FRAME)) {
            const char *why = "";
            ws_result rc = ws__frame_parse(p, avail, pflags, &c->fr, NULL, &why);
            if (rc == WS_AGAIN) break;
            if (rc == WS_OK) rc = ws__frame_check(c, &why);
            if (rc != WS_OK) { ws__fail(c, rc, why); break; }
            c->flags |= WS__F_HAVE_FRAME;
            c->pdone = 0;
        }
        pl = p + c->fr.header_len;
        have = avail - c->fr.header_len;
        if (have > c->fr.payload_len) have = (size_t)c->fr.payload_len;
        text = !ws__pmd_rx(c) &&   /* compressed text is checked once inflated */
               (c->fr.opcode == WS_OP_TEXT || (c->fr.opcode == WS_OP_CONT && c->msg_op == WS_OP_TEXT));
        if (have > c->pdone) {
            size_t from = (size_t)c->pdone;
            if (c->flags & WS__F_SERVER) ws_mask(pl + from, have - from, c->fr.mask, from);
            if (text && ws_utf8_feed(&c->utf8, pl + from, have - from, NULL) != WS_OK) {
                ws__fail(c, WS_ERR_UTF8, WS__T("invalid UTF-8 in a text message"));
                break;
            }
            c->pdone = have;
        }
        if (have < c->fr.payload_len) break;
        c->flags &= ~(uint32_t)WS__F_HAVE_FRAME;
        b->off += c->fr.header_len + have;
        ws__frame_done(c, pl, have);
    }
    WS__OUT_FLUSH(c->ctx, c);   /* before c->rx may move or go back to the pool */
    c->ctx->outc = outc;
    if (c->rx && (!ws__reading(c) || (c->rx->off == c->rx->len && !(c->flags & WS__F_HAVE_FRAME))))
        ws__buf_put(c->ctx, &c->rx);   /* idle (or done reading): hold no buffer */
}

static void ws__opened(ws_conn *c) {
    ws_ctx *ctx = c->ctx;
    ws_event ev;
    int beat = ws__beat_ms(c, ws__ping_ms(c));
    c->state = WS__OPEN;
    c->flags |= WS__F_OPENED;
    ws__hs_del(c);
    c->deadline = 0;
    c->last_rx = ws__t32_of(ctx->now);
    c->next_ping = beat ? ws__t32_in(ctx, beat) : 0;
    if (!(c->flags & WS__F_FRAGS_SET) && ctx->cfg.fragments) c->flags |= WS__F_FRAGS;
    ctx->nopen++;
    if (ws__cl(c)) ws__cl(c)->cur_ms = ws__cl(c)->delay_ms;   /* a success resets the backoff */
    ws__ev_init(&ev, WS_EV_OPEN);
    ws__emit(c, &ev);
}

/* ---- the server's side of the upgrade (RFC 6455 4.2) ---- */
#ifndef WS_NO_SERVER
static void ws__build_response(ws__out *o, int status, const char *ctype, const char *headers,
                               const void *body, size_t body_len);

/* Queues an HTTP response and closes after it: no WebSocket events for this conn. */
WS__UNUSED static void ws__respond(ws_conn *c, int status, const ws_reply *r, const char *why) {
    ws_ctx *ctx = c->ctx;
    const char *ctype = r && r->content_type ? r->content_type : "text/plain; charset=utf-8";
    const char *hdrs = r ? r->headers : NULL;
    const void *body = r && r->body ? r->body : why;
    size_t blen = r && r->body ? r->body_len : strlen(why);
    size_t need = 256 + strlen(ctype) + (hdrs ? strlen(hdrs) * 2 : 0) + blen;
    ws__out o;
    c->flags |= WS__F_HTTP | WS__F_SHUT;
    ws__start_closing(c);
    if (!ws__buf_reserve_f(ctx, &c->tx, need, WS__B_SMALL | WS__B_FORCE, 0)) { c->flags |= WS__F_BROKEN; ws__pend(c); return; }
    o.p = (char *)WS__BDATA(c->tx) + c->tx->len;
    o.cap = c->tx->cap - c->tx->len;
    o.len = 0; o.err = 0;
    ws__build_response(&o, status, ctype, hdrs, body, blen);
    if (o.err) {   /* the user's headers (or content type) were invalid, whatever the status */
        ws__log(ctx, 0, WS__T("ws.h: invalid status or headers in a ws_reply; answering 500"));
        o.len = 0; o.err = 0;
        ws__build_response(&o, 500, "text/plain", NULL, "invalid reply headers\n", 22);
    }
    c->tx->len += o.len;
}

#endif

/* Does c->rx begin with a TLS record (handshake 0x16 or alert 0x15, version 3.x) where an
 * HTTP head belongs? Then the peer speaks TLS: a wss:// client on a plain port, or the TLS
 * server of a ws:// client. (0 without texts: only the words depend on it.) */
WS__UNUSED static int ws__rx_is_tls(const ws_conn *c) {
    const uint8_t *p = WS__BDATA(c->rx) + c->rx->off;
    size_t n = ws__buf_used(c->rx);
    return WS__TEXT && n >= 1 && (p[0] == 0x16 || p[0] == 0x15) && (n < 2 || p[1] == 3);
}

/* An HTTP head is parsed again from its start when more of it arrives; a peer sending one
 * byte at a time would make that quadratic, so parse only the first bytes (garbage, such as a
 * TLS hello on a plain port, fails at once) and then whenever a line ends. c->pdone counts
 * the bytes already looked at (it is free until the frames start). */
WS__UNUSED static int ws__head_worth_parsing(ws_conn *c) {
    size_t have = ws__buf_used(c->rx), seen = (size_t)c->pdone;
    c->pdone = have;
    return seen == 0 || seen > have || have >= ws__max_handshake(c->ctx) ||   /* 431 at once */
           memchr(WS__BDATA(c->rx) + c->rx->off + seen, '\n', have - seen) != NULL;
}

#ifndef WS_NO_SERVER
static void ws__server_handshake(ws_conn *c) {
    ws_ctx *ctx = c->ctx;
    ws_http_request req;
    ws_reply reply;
    ws_span key;
    const char *why = "";
    size_t used = 0, need;
    int status = 400;
    ws_result rc;
    ws__out o;
    if (!c->rx || !ws__head_worth_parsing(c)) return;
    rc = ws_http_parse_request((const char *)WS__BDATA(c->rx) + c->rx->off, ws__buf_used(c->rx),
                               ws__max_handshake(ctx), &req, &used, &why);
    if (rc == WS_AGAIN) return;
    if (rc == WS_ERR_TOO_BIG) { ws__respond(c, 431, NULL, WS__T("request header too large\n")); return; }
    if (rc != WS_OK && ws__rx_is_tls(c)) {
        /* a wss:// or https:// client: an HTTP 400 tells it more than a bare close would (its
         * TLS layer sees "HTTP/" and can say "plain HTTP, use ws://"; curl: "wrong version") */
        ws__log(ctx, 1, WS__T("ws.h: a TLS handshake on a plain ws:// port (the client uses wss://): answered 400"));
        ws__respond(c, 400, NULL, WS__T("This port speaks plain HTTP, not TLS: use ws:// (or http://)\n"));
        return;
    }
    if (rc != WS_OK) { ws__respond(c, 400, NULL, why); return; }
    if (c->flags & WS__F_REFUSE) { ws__respond(c, 503, NULL, WS__T("too many connections\n")); return; }
    if (ws__mem_full(ctx)) {   /* the ctx's max_memory is spent: no new connections for now */
        ws__log(ctx, 1, WS__T("ws.h: max_memory reached: refusing an upgrade with 503"));
        ws__respond(c, 503, NULL, WS__T("server busy (memory budget)\n"));
        return;
    }
    rc = ws_http_check_request(&req, &key, &status, &why);
    memset(&reply, 0, sizeof reply);
    if (rc != WS_OK) {
        if (ctx->cfg.on_http && !ws_http_header(req.headers, req.num_headers, "Upgrade", NULL)) {
            c->flags |= WS__F_HTTP;   /* already: ws_conn_close from on_http must not cut the response */
            ctx->in_cb++;
            ctx->cfg.on_http(c, &req, &reply, ctx->cfg.user);
            ctx->in_cb--;
            if (c->flags & WS__F_BROKEN) return;   /* dropped from the handler: nothing is sent */
            if (!reply.status) reply.status = reply.body ? 200 : 404;
            if (reply.status < 200) reply.status = -1;   /* a 1xx (101!) cannot end a request: 500 */
            ws__respond(c, reply.status, &reply, reply.status == 404 ? WS__T("not found\n") : "");
        } else {
            ws__respond(c, status, NULL, why);
        }
        return;
    }
    if (ctx->cfg.on_upgrade) {
        ctx->in_cb++;
        ctx->cfg.on_upgrade(c, &req, &reply, ctx->cfg.user);
        ctx->in_cb--;
        if (c->flags & WS__F_BROKEN) return;   /* closed or dropped from the hook: never opens */
        if (reply.status) {   /* a refusal is an error status: a 101 or 2xx here is answered 500 */
            ws__respond(c, reply.status < 300 ? -1 : reply.status, &reply, WS__T("refused\n"));
            return;
        }
        if (reply.protocol && *reply.protocol &&
            !ws__headers_have(req.headers, req.num_headers, "Sec-WebSocket-Protocol", reply.protocol, 1)) {
            ws__log(ctx, 0, WS__T("ws.h: on_upgrade chose a subprotocol the client did not offer"));
            ws__respond(c, 500, NULL, WS__T("server chose a subprotocol that was not offered\n"));
            return;
        }
    }
    need = 512 + (reply.protocol ? strlen(reply.protocol) : 0) + (reply.headers ? 2 * strlen(reply.headers) : 0);
    if (!ws__buf_reserve_f(ctx, &c->tx, need, WS__B_SMALL | WS__B_FORCE, 0)) { c->flags |= WS__F_BROKEN; ws__pend(c); return; }
    o.p = (char *)WS__BDATA(c->tx) + c->tx->len;
    rc = ws_http_build_accept(o.p, c->tx->cap - c->tx->len, key.ptr, key.len, reply.protocol,
                              reply.headers, &o.len);
    if (rc != WS_OK) { ws__respond(c, 500, NULL, WS__T("invalid response headers from on_upgrade\n")); return; }
    o.len -= 2;   /* >>deflate: an extension answer goes before the final empty line */
    o.len += ws__pmd_accept(c, &req, o.p + o.len, c->tx->cap - c->tx->len - o.len - 2);
    memcpy(o.p + o.len, "\r\n", 2);
    c->tx->len += o.len + 2;
    if (reply.protocol && *reply.protocol && ws__x(c)) c->x->protocol = ws__strdup(ctx, reply.protocol, strlen(reply.protocol));
    c->rx->off += used;   /* frames the client sent right after its request stay in rx */
    ws__opened(c);
}

#else   /* WS_NO_SERVER: no server role (ws_engine_create and ws_conn_adopt refuse it) */
static void ws__server_handshake(ws_conn *c) { ws__fail(c, WS_ERR_ARG, WS__T("built with WS_NO_SERVER")); }
WS__UNUSED static void ws__respond(ws_conn *c, int status, const ws_reply *r, const char *why) {
    (void)status; (void)r;
    ws__fail(c, WS_ERR_ARG, why);
}
#endif

/* ---- the client's side of the upgrade ---- */
#ifndef WS_NO_CLIENT
/* Why a ws:// client's upgrade failed, when its server speaks TLS (a wss:// port): it answered
 * with a TLS record, or with a 400 whose body (as far as it came) names TLS, HTTPS or SSL
 * (ws.h's "This port speaks TLS", nginx's "plain HTTP request was sent to HTTPS port", Go's
 * and Apache's words). Else why, the parser's words. */
static const char *ws__upgrade_why(ws_conn *c, int status, size_t used, const char *why) {
    const char *p = (const char *)WS__BDATA(c->rx) + c->rx->off;
    size_t n = ws__buf_used(c->rx), i;
    if (!WS__TEXT || ws__cl(c)->u.secure) return why;   /* wss://: its TLS layer explains */
    if (ws__rx_is_tls(c)) return WS__T("the server answered in TLS: use wss://");
    for (i = used; status == 400 && i + 3 <= n; i++)
        if (!memcmp(p + i, "TLS", 3) || !memcmp(p + i, "SSL", 3) || (i + 5 <= n && !memcmp(p + i, "HTTPS", 5)))
            return WS__T("the server wants TLS: use wss://");
    return why;
}
static void ws__client_handshake(ws_conn *c) {
    ws_http_response res;
    ws_span proto;
    const char *why = "", *head;
    size_t used = 0, off = 0, max = ws__max_handshake(c->ctx);
    ws_result rc;
    if (!c->rx || !ws__head_worth_parsing(c)) return;
    head = (const char *)WS__BDATA(c->rx) + c->rx->off;
    for (;;) {   /* RFC 9110 15.2: a 1xx other than 101 is interim (100, 103...), its answer follows;
                  * all the heads together within max_handshake (re-read until the answer is in) */
        rc = ws_http_parse_response(head + off, ws__buf_used(c->rx) - off, max - off, &res, &used, &why);
        if (rc != WS_OK || res.status == 101 || res.status >= 200) break;
        off += used;
    }
    used += off;
    if (rc == WS_AGAIN) return;
    if (rc == WS_OK) {
        ws__cl(c)->http_status = res.status;
        rc = ws__pmd_answer(c, &res, &why);   /* >>deflate: checks and takes out our extension */
        if (rc == WS_OK) rc = ws_http_check_response(&res, ws__cl(c)->key, ws__cl(c)->protocols, &proto, &why);
    }
    if (rc != WS_OK) { ws__fail(c, WS_ERR_HANDSHAKE, ws__upgrade_why(c, ws__cl(c)->http_status, used, why)); return; }
    if (proto.ptr && ws__x(c)) c->x->protocol = ws__strdup(c->ctx, proto.ptr, proto.len);
    c->rx->off += used;
    ws__opened(c);
}

#else   /* WS_NO_CLIENT: no client role (ws_engine_create and ws_conn_adopt refuse it) */
static void ws__client_handshake(ws_conn *c) { (void)c; }
#endif

/* A stream upgraded elsewhere opens (once its ws_io's handshake is done): at the end of the
 * pass or call that adopted it, or, if its first frames are read before that (poll(), a
 * ws_io's handshake ending in a read), before they are. 1 = it was opened now. */
static int ws__preopen(ws_conn *c) {
    if (!(c->flags & WS__F_PREOPEN) || c->state != WS__HANDSHAKE) return 0;
    c->flags &= ~(uint32_t)WS__F_PREOPEN;
    ws__opened(c);
    return 1;
}

/* Everything that arrived in c->rx: the handshake, then frames. */
static void ws__conn_process(ws_conn *c) {
    if (c->state == WS__HANDSHAKE && !ws__preopen(c)) {
        if (c->flags & WS__F_SERVER) ws__server_handshake(c); else ws__client_handshake(c);
        if (c->state == WS__HANDSHAKE || (c->flags & WS__F_HTTP)) return;
    }
    ws__frames(c);
}

/* For tests and custom transports: append bytes to c->rx and process them. */
#if defined(__GNUC__)
__attribute__((unused))
#endif
static int ws__buf_add(ws_ctx *ctx, ws__buf **pb, const void *data, size_t n) {   /* 0 = no memory */
    if (!ws__buf_reserve(ctx, pb, n)) return 0;
    if (n) memcpy(WS__BDATA(*pb) + (*pb)->len, data, n);
    (*pb)->len += n;
    return 1;
}
WS__UNUSED static int ws__rx_put(ws_conn *c, const void *data, size_t n) { return ws__buf_add(c->ctx, &c->rx, data, n); }
static ws_result ws__conn_feed(ws_conn *c, const void *data, size_t n) {
    if (!ws__rx_put(c, data, n)) return WS_ERR_NOMEM;
    c->last_rx = ws__t32_of(c->ctx->now);   /* input counts against idle_timeout_ms, as in ws__readable */
    ws__conn_process(c);
    return WS_OK;
}

/* ---- the end of a connection, sending what is queued, timers ---- */
static void ws__due_min(const ws_ctx *ctx, ws__t32 *d, ws__t32 t) {   /* the earlier of *d and t */
    ws__t32 now = (ws__t32)ctx->now;
    if (t && (!*d || (int32_t)(t - now) < (int32_t)(*d - now))) *d = t;
}
static int64_t ws__due(const ws_conn *c) {
    const ws_ctx *ctx = c->ctx;
    ws__t32 d = c->deadline;
    int idle = ctx->cfg.idle_timeout_ms;
    if (c->flags & WS__F_DEAD) return 0;
    switch (c->state) {
    case WS__OPEN:
        ws__due_min(ctx, &d, c->next_ping);
        ws__due_min(ctx, &d, c->pong_due);
        if (idle > 0) ws__due_min(ctx, &d, ws__t32_of(c->last_rx + (ws__t32)idle));
        return ws__t64(ctx, d);
    case WS__CLOSED: return 0;
#ifdef WS__CONNECT_CHECK_MS
    case WS__CONNECTING:   /* Windows: is it refused? (ws__connect_failed) */
        ws__due_min(ctx, &d, ws__t32_of(ctx->now + WS__CONNECT_CHECK_MS));
        return ws__t64(ctx, d);
#endif
    default: return ws__t64(ctx, d);
    }
}
/* What c's ws_io needs beyond the obvious (WS_POLLIN/OUT: TLS writes in order to read...) */
static short ws__io_want(const ws_conn *c) {
    return (short)(c->io && c->io->want ? (c->io->want)(c->io_arg) & (WS_POLLIN | WS_POLLOUT) : 0);
}

/* The end of c's transport, whichever ws_io it is: the loop stops watching the descriptor
 * (on_watch hears of it before it closes), then io->close releases the stream (TCP: closes the
 * socket; a ws_io of the user's closes its own descriptor). Nothing reaches the ws_io after. */
static void ws__io_close(ws_conn *c) {
    const ws_io *io = c->io;
    void *arg = c->io_arg;
    uint32_t own = c->flags & WS__F_OWN_IO;
#ifndef WS_NO_NET
    if (!c->ctx->engine) ws__unwatch(c);
#endif
    c->io = NULL;
    c->io_arg = NULL;
    c->flags &= ~(uint32_t)WS__F_OWN_IO;   /* before close: what it calls sees no ws_io */
    c->ctx->in_cb++;   /* a ws_io's calls count as callbacks (see ws__flush) */
    if (io && io->close) (io->close)(arg);
    c->ctx->in_cb--;
    c->fd = WS__INVALID_SOCK;
    if (own) ws__free(c->ctx, (ws_io *)io);
}

static void ws__finish(ws_conn *c) {   /* the connection is over: close, report, maybe retry */
    ws__client *cl = ws__cl(c);
    ws_ctx *ctx = c->ctx;
    ws_event ev;
    int clean = (c->flags & WS__F_GOT_CLOSE) && (c->flags & WS__F_SENT_CLOSE) && c->err == WS_OK;
    int visible = ws__visible(c) && !(c->flags & WS__F_HTTP);
    if (c->state == WS__CLOSED || c->state == WS__WAITING) return;
    ws__io_close(c);
    if (c->flags & WS__F_OPENED) ctx->nopen--;
    ws__hs_del(c);
    c->state = WS__CLOSED;
    ws__ev_init(&ev, WS_EV_ERROR);   /* ERROR, then the same with CLOSE's members */
    ev.result = c->err;
    ev.msg = ws__err_msg(c);
    ev.http_status = cl ? cl->http_status : 0;
    if (visible && c->err != WS_OK && !(c->flags & WS__F_ERR_FIRED)) {
        c->flags |= WS__F_ERR_FIRED;
        ws__emit(c, &ev);
    }
    if (visible && !(c->flags & WS__F_CLOSE_FIRED)) {
        int retry = !WS__NO_CLIENT && !WS__ENGINE(ctx) && cl && cl->reconnect && !(c->flags & WS__F_USER_CLOSE) &&
                    !ctx->destroying;   /* an engine's stream cannot be dialled again */
        c->flags |= WS__F_CLOSE_FIRED;
        ev.type = WS_EV_CLOSE;
        ev.close_code = c->close_code ? c->close_code : (uint16_t)WS_CLOSE_ABNORMAL;
        if (!(c->flags & WS__F_GOT_CLOSE) && !(c->flags & WS__F_FAILED)) ev.close_code = WS_CLOSE_ABNORMAL;
        if (c->x && c->x->close_reason) ev.reason = c->x->close_reason;   /* freed after the event */
        ev.clean = clean;
        if (retry) {
            /* the delay's last half is random, so clients that one server lost do not all
             * come back in the same millisecond (and again at each doubling); 32 random bits,
             * so a delay above 2 x 65,535 ms is spread over all of its half too */
            uint8_t r[4];
            ws__rand(ctx, r, 4);
            ev.reconnect_ms = cl->cur_ms - (int)(((uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16 |
                                                  (uint32_t)r[3] << 24) % (uint32_t)(cl->cur_ms / 2 + 1));
            c->state = WS__WAITING;
            c->deadline = ws__t32_in(ctx, ev.reconnect_ms);
            cl->cur_ms = (int)WS__MIN((int64_t)cl->cur_ms * 2, (int64_t)cl->max_ms);
        }
        ws__emit(c, &ev);
    }
    ws__client_reset(c);
    if (c->state != WS__WAITING) { c->flags |= WS__F_DEAD; ws__pend(c); }
    else c->flags &= ~(uint32_t)WS__F_BROKEN;   /* else the timers never reach the retry */
}

static void ws__abort(ws_conn *c, ws_result rc, const char *why) {
    if (c->err == WS_OK) { c->err = rc; ws__set_msg(c, why); }
    ws__finish(c);
}

/* Can c write by itself (a socket or a ws_io)? An engine without a ws_io cannot: its bytes
 * wait in tx for ws_engine_output. */
static int ws__has_io(const ws_conn *c) { return c->io != NULL; }

/* A server on plain TCP whose close handshake is complete closes the socket in the pass that
 * sent its close frame instead of waiting for the client's FIN (RFC 6455 7.1.1: the server
 * closes first): a read and a wake-up fewer per connection. close() sends the FIN, so no
 * shutdown() before it. 1 = c closes now (its tx is sent). */
static int ws__close_due(const ws_conn *c) {   /* 1 = c closes once its tx is sent */
    const uint32_t all = WS__F_SERVER | WS__F_GOT_CLOSE | WS__F_SENT_CLOSE | WS__F_SHUT;
    return (c->flags & all) == all && ws__is_tcp(c) && !(c->flags & WS__F_HTTP);
}
static int ws__close_now(ws_conn *c) {
    if (!ws__close_due(c)) return 0;
    c->flags |= WS__F_BROKEN;
    ws__pend(c);
    return 1;
}

/* All of tx is sent: its buffer goes back, DRAINED is due if a send had to wait, and a
 * connection that is done writing shuts its sending side. */
static void ws__tx_done(ws_conn *c) {
    ws__buf_put(c->ctx, &c->tx);
    if (c->flags & WS__F_DRAIN_WAIT) {
        c->flags = (c->flags & ~(uint32_t)WS__F_DRAIN_WAIT) | WS__F_DRAINED;
        ws__pend(c);
    }
    if ((c->flags & WS__F_SHUT) && ws__has_io(c) &&   /* TLS: close_notify half out */
        (!(c->flags & WS__F_WSHUT) || (ws__io_want(c) & WS_POLLOUT))) {
        c->flags |= WS__F_WSHUT;   /* our close frame (or HTTP response) is out: FIN */
        c->ctx->in_cb++;
        if (!ws__close_now(c) && c->io->shutdown) (c->io->shutdown)(c->io_arg);
        c->ctx->in_cb--;
    }
    if (c->flags & WS__F_EOF) { c->flags |= WS__F_BROKEN; ws__pend(c); }   /* (ws__on_eof) */
}

/* A write may re-enter (a ws_io that feeds an engine which answers at once, back into c):
 * the inner flush leaves the sending to this one, which re-reads tx after each write (it may
 * have grown, moved, or gone with the connection). The write counts as a callback (in_cb):
 * what it calls on c's ctx waits (an engine's input, its destroy) or is refused (ws_poll). */
static void ws__flush(ws_conn *c) {
    ws__buf *b;
    ws_ctx *ctx = c->ctx;
    if (!ws__has_io(c) || (c->flags & WS__F_FLUSHING)) return;   /* sans-I/O: bytes stay in tx */
    WS__OUT_FLUSH(ctx, c);
    c->flags |= WS__F_FLUSHING;
    while ((b = c->tx) != NULL && b->off < b->len) {
        size_t put = 0, n = b->len - b->off;
        ws_result rc;
        ctx->in_cb++;
#ifdef WS__SEND_LAST
        rc = (ws__close_due(c) ? ws__tcp_write_last : c->io->write)(c->io_arg, WS__BDATA(b) + b->off, n, &put);
#else
        rc = (c->io->write)(c->io_arg, WS__BDATA(b) + b->off, n, &put);
#endif
        ctx->in_cb--;
        if (rc == WS_AGAIN || (rc == WS_OK && put == 0)) {
            c->flags = (c->flags & ~(uint32_t)WS__F_FLUSHING) | WS__F_DRAIN_WAIT;
#ifndef WS_NO_NET
            ws__rd_unbig(c->ctx, &c->tx);      /* a large message's last bytes: not in 1 MiB+ */
            ws__buf_trim(c->ctx, &c->tx, 0);   /* the rest waits: under pressure, in less */
#endif
            return;
        }
        if (put > n) rc = WS_ERR_IO;   /* a broken ws_io: never past the queue's end */
        if (rc != WS_OK) {
            if (c->err == WS_OK && !(c->flags & WS__F_GOT_CLOSE))   /* after the peer's close: no error */
                { c->err = rc; ws__set_msg(c, put > n ? WS__T("ws_io write reported more bytes than it was given")
                                                      : WS__T("send failed: connection lost")); }
            c->flags = (c->flags & ~(uint32_t)WS__F_FLUSHING) | WS__F_BROKEN;
            ws__pend(c);
            ws__buf_put(c->ctx, &c->tx);
            return;
        }
        if (!c->tx || !c->io) { c->flags &= ~(uint32_t)WS__F_FLUSHING; return; }   /* ended inside the write */
        c->tx->off += put;
    }
    c->flags &= ~(uint32_t)WS__F_FLUSHING;
    ws__tx_done(c);
}

static void ws__on_eof(ws_conn *c) {
    /* a peer that half-closed still reads: our last words (an HTTP answer, a close frame and
     * what was queued before it) go out first, then it ends (ws__tx_done) */
    if ((c->flags & WS__F_SHUT) && ws__buf_used(c->tx) && ws__has_io(c) && !WS__ENGINE(c->ctx)) {
        c->flags |= WS__F_EOF;   /* no more reading (ws__interest) */
        return;
    }
    if ((c->flags & WS__F_GOT_CLOSE) && (c->flags & WS__F_SENT_CLOSE)) { ws__finish(c); return; }
    if (c->flags & (WS__F_HTTP | WS__F_FAILED)) { ws__finish(c); return; }
    if (WS__TEXT && c->state == WS__HANDSHAKE && !c->pdone && ws__cl(c) && !ws__cl(c)->u.secure) {
        /* not a byte of an answer to a ws:// request: what TLS servers do with plain HTTP */
        ws__abort(c, WS_ERR_IO, WS__T("the server closed the connection without answering (a wss:// port? then use wss://)"));
        return;
    }
    ws__abort(c, WS_ERR_IO, c->state < WS__OPEN ? WS__T("connection closed during the handshake")
                                                : WS__T("connection closed without a close frame"));
}

#ifdef WS__CONNECT_CHECK_MS
static void ws__connect_ready(ws_conn *c);   /* >>poll */
#  ifdef WS__RACE
static void ws__race_io(ws__race *r, short rev);
#  endif
#endif
/* The timers of one connection at ctx->now; returns its next due time (0 = none). */
static int64_t ws__conn_timers(ws_conn *c) {
    ws_ctx *ctx = c->ctx;
    int64_t now = ctx->now;
    if (c->flags & WS__F_DEAD) return 0;
    if (c->flags & WS__F_BROKEN) { ws__finish(c); return 0; }
#ifndef WS_NO_NET
    if (c->state == WS__WAITING) {
        if (c->flags & WS__F_USER_CLOSE) { ws__cancel_retry(c); return 0; }
        if (!c->deadline || ws__passed(ctx, c->deadline)) ws__client_start(c);
        if (c->flags & WS__F_BROKEN) { ws__finish(c); return 0; }
        return ws__t64(ctx, c->deadline);
    }
#endif
    if (c->state == WS__CLOSED) return 0;
#if defined(WS__CONNECT_CHECK_MS) && !defined(WS_NO_CLIENT)
    if (c->state == WS__CONNECTING && c->fd != WS__INVALID_SOCK && ws__connect_failed(c->fd)) {
        ws__connect_ready(c);   /* the next address, or WS_ERR_CONNECT */
        return ws__due(c);
    }
#  ifdef WS__RACE   /* and the racer's */
    if (c->state == WS__CONNECTING && ws__cl(c)->race.ai && ws__connect_failed(ws__cl(c)->race.fd))
        ws__race_io(&ws__cl(c)->race, WS_POLLERR);
#  endif
#endif
    if (c->deadline && ws__passed(ctx, c->deadline)) {
#ifndef WS_NO_NET
        if (c->state == WS__CONNECTING && ws__client_next(c)) return ws__due(c);
#endif
        if (c->state < WS__OPEN)
            ws__abort(c, WS_ERR_TIMEOUT, c->state < WS__PROXY ? WS__T("connect timed out")
                      : c->state == WS__PROXY ? WS__T("the proxy did not answer within connect_timeout_ms")
                      : WS__T("handshake timed out"));
        else if ((c->flags & WS__F_GOT_CLOSE) && (c->flags & WS__F_SENT_CLOSE)) ws__finish(c);
        else   /* CLOSING: the peer never finished the close handshake */
            ws__abort(c, c->err != WS_OK ? c->err : WS_ERR_TIMEOUT, WS__T("close handshake timed out"));
        return 0;
    }
    if (c->state == WS__OPEN) {
        int idle = ctx->cfg.idle_timeout_ms;
        if (c->pong_due && ws__passed(ctx, c->pong_due)) {
            ws__abort(c, WS_ERR_TIMEOUT, WS__T("no pong within pong_timeout_ms: peer is gone"));
            return 0;
        }
        if (idle > 0 && (int32_t)((ws__t32)now - c->last_rx) >= idle) {
            (void)ws_conn_close(c, WS_CLOSE_GOING_AWAY, WS__T("idle timeout"));
            c->flags &= ~(uint32_t)WS__F_USER_CLOSE;
            return ws__t64(ctx, c->deadline);
        }
        if (c->next_ping && ws__passed(ctx, c->next_ping)) {
            int ping = ws__ping_ms(c);   /* 0: client keepalive, an unsolicited pong (RFC 6455 5.5.3) */
            (void)ws__queue_frame(c, 1, 0, ping ? WS_OP_PING : WS_OP_PONG, NULL, 0, 1);
            if (ping && !c->pong_due) c->pong_due = ws__t32_in(ctx, ctx->cfg.pong_timeout_ms);
            c->next_ping = ws__t32_in(ctx, ws__beat_ms(c, ping));
            ws__flush(c);
        }
    }
    return ws__due(c);
}

/* Forgets one attempt's buffers and strings (a client that reconnects starts afresh). */
static void ws__conn_reset(ws_conn *c) {
    ws_ctx *ctx = c->ctx;
    ws__buf_put(ctx, &c->rx);
    ws__buf_put(ctx, &c->tx);
    ws__buf_put(ctx, &c->msg);
    ws__pmd_free(c);   /* >>deflate: a new attempt negotiates afresh */
    if (c->x) {
        ws__free(ctx, c->x->protocol); c->x->protocol = NULL;
        ws__free(ctx, c->x->close_reason); c->x->close_reason = NULL;
        if (c->x->msg_own && c != ctx->hold) {   /* after WS_EV_CLOSE: err_msg must not dangle
                                                  * (ws_connect_blocking reads it: freed later) */
            if (c->x->err_msg == c->x->msg_own) c->x->err_msg = ws_result_str(c->err);
            ws__free(ctx, c->x->msg_own);
            c->x->msg_own = NULL;
        }
        ws__x_trim(c);
    }
}

/* ---- connections: made and freed ---- */
/* ---- ids -> conns (ws_conn_find, ws_send_id): a table at most 3/4 full ---- */
static size_t ws__id_slot(const ws_ctx *ctx, uint64_t id) {
    uint32_t h = (uint32_t)id * 0x9E3779B9u;   /* 32-bit: no 64-bit multiply (ids are sequential) */
    if (sizeof(size_t) < 8) return (size_t)(h >> 16 | h << 16) & (ctx->ids_cap - 1);
    return (size_t)((id * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (ctx->ids_cap - 1);
}
static void ws__id_put(ws_ctx *ctx, ws_conn *c) {   /* room is made by ws__id_room */
    size_t i = ws__id_slot(ctx, c->id);
    while (ctx->ids[i]) i = (i + 1) & (ctx->ids_cap - 1);
    ctx->ids[i] = c;
    ctx->ids_len++;
}
static int ws__id_room(ws_ctx *ctx) {   /* 0 = out of memory */
    ws_conn **old = ctx->ids;
    size_t i, ocap = ctx->ids_cap, ncap = ocap ? ocap * 2 : 64;
    if ((ctx->ids_len + 1) * 4 <= ocap * 3) return 1;
    ctx->ids = (ws_conn **)ws__alloc(ctx, ncap * sizeof *ctx->ids);
    if (!ctx->ids) { ctx->ids = old; return 0; }
    memset(ctx->ids, 0, ncap * sizeof *ctx->ids);
    ctx->ids_cap = ncap;
    ctx->ids_len = 0;
    for (i = 0; i < ocap; i++) if (old[i]) ws__id_put(ctx, old[i]);
    ws__free(ctx, old);
    return 1;
}
static ws_conn **ws__id_find(const ws_ctx *ctx, uint64_t id) {
    size_t i;
    if (!ctx->ids_cap) return NULL;
    for (i = ws__id_slot(ctx, id); ctx->ids[i]; i = (i + 1) & (ctx->ids_cap - 1))
        if (ctx->ids[i]->id == id) return &ctx->ids[i];
    return NULL;
}
static void ws__id_del(ws_ctx *ctx, uint64_t id) {   /* backward-shift deletion */
    ws_conn **p = ws__id_find(ctx, id);
    size_t i, j, m = ctx->ids_cap - 1;
    if (!p) return;
    i = (size_t)(p - ctx->ids);
    ctx->ids[i] = NULL;
    ctx->ids_len--;
    for (j = (i + 1) & m; ctx->ids[j]; j = (j + 1) & m) {
        size_t h = ws__id_slot(ctx, ctx->ids[j]->id);
        if (((j - h) & m) >= ((j - i) & m)) {   /* its home is at or before the hole */
            ctx->ids[i] = ctx->ids[j];
            ctx->ids[j] = NULL;
            i = j;
        }
    }
}

static void ws__ids_free(ws_ctx *ctx) {   /* the id table and (WS_DEBUG) the freed conns */
#ifdef WS_DEBUG
    size_t i;
    for (i = 0; i < WS__MIN(ctx->nquar, (size_t)WS_DEBUG_QUARANTINE); i++) ws__free(ctx, ctx->quar[i]);
    ctx->nquar = 0;
#endif
    ws__free(ctx, ctx->ids);
    ctx->ids = NULL;
    ctx->ids_cap = ctx->ids_len = 0;
}

static ws_conn *ws__conn_new(ws_ctx *ctx, int server) {
    ws_conn *c;
    /* room in the timer heap for every conn, so scheduling never fails */
    if (!WS__ENGINE(ctx) &&
        !ws__grow(ctx, (void **)&ctx->heap, &ctx->hcap, ctx->nconns + ctx->ntimers + 1,
                  sizeof(ws__hnode *))) return NULL;
    if (!WS__ENGINE(ctx) && !ws__id_room(ctx)) return NULL;   /* an engine's ctx has one conn */
    c = (ws_conn *)ws__alloc(ctx, sizeof *c);
    if (!c) return NULL;
    memset(c, 0, sizeof *c);
    c->ctx = ctx;
    if (ctx->cfg.on_watch && !ws__x(c)) { ws__free(ctx, c); return NULL; }   /* x->hsock */
#ifdef WS_DEBUG
    c->magic = WS__LIVE;
#endif
    c->kind = WS__K_CONN;
    ctx->nconns++;
    c->ctx = ctx;
    c->fd = WS__INVALID_SOCK;
    c->id = ++ctx->next_id;
    if (!WS__ENGINE(ctx)) ws__id_put(ctx, c);
    c->created = ctx->now;
    if (server) { c->flags = WS__F_SERVER; ctx->nserver++; }
    c->prev = ctx->tail;
    if (ctx->tail) ctx->tail->next = c; else ctx->head = c;
    ctx->tail = c;
    return c;
}

static void ws__conn_free(ws_conn *c) {
    ws_ctx *ctx = c->ctx;
    ws__client_reset(c);
#ifdef WS_NO_NET
    ws__io_close(c);   /* (ws__client_reset closes it with sockets) */
#endif
    ws__hs_del(c);
    c->flags |= WS__F_DEAD;
    if (ctx->outc == c) { ctx->outc = NULL; ctx->outn = 0; }
#ifndef WS_NO_NET
    ws__sched(c);   /* out of the timer heap */
#endif
    ctx->nconns--;
    if (c->prev) c->prev->next = c->next; else ctx->head = c->next;
    if (c->next) c->next->prev = c->prev; else ctx->tail = c->prev;
    if (c->flags & WS__F_SERVER) ctx->nserver--;
    if (ws__cl(c)) {
        ws__client *cl = c->x->cl;
        ws__free(ctx, cl->proxy);   /* (url, origin, protocols, headers: in cl's block) */
        ws__free(ctx, cl->proxy_auth);
#ifndef WS_NO_NET
        ws__tls_cfg_release(ctx, cl->tls);
#endif
        ws__free(ctx, cl);
        c->x->cl = NULL;
    }
    if (!WS__ENGINE(ctx)) ws__id_del(ctx, c->id);
    if (c->x) {   /* ws__conn_reset freed its strings */
        ws__free(ctx, c->x);
        c->x = NULL;
    }
#ifdef WS_DEBUG   /* poisoned and kept aside: a late use trips WS__CHECK (or reads garbage) */
    memset(c, 0xDD, sizeof *c);
    c->magic = WS__FREED;
    if (ctx->nquar >= WS_DEBUG_QUARANTINE) ws__free(ctx, ctx->quar[ctx->nquar % WS_DEBUG_QUARANTINE]);
    ctx->quar[ctx->nquar++ % WS_DEBUG_QUARANTINE] = c;
#else
    ws__free(ctx, c);
#endif
}

/* ==== >>engine ==== sending and closing (loop and engine alike), the sans-I/O API ==== */
/* Work a connection left for the end of the pass (loop) or of the API call (engine): the
 * opening of an upgraded stream, adopted bytes, a finish, DRAINED, what callbacks queued. */
static void ws__service_core(ws_conn *c) {
    if (c->flags & WS__F_BROKEN) { ws__finish(c); return; }
    (void)ws__preopen(c);
    if ((c->flags & WS__F_FEED) && c->state != WS__TLS) {   /* bytes handed over (opts.head) */
        c->flags &= ~(uint32_t)WS__F_FEED;
        if (c->state == WS__HANDSHAKE || ws__reading(c)) ws__conn_process(c);
    }
    if (c->flags & WS__F_DRAINED) {
        ws_event ev;
        c->flags &= ~(uint32_t)WS__F_DRAINED;
        if (c->state == WS__OPEN && ws__visible(c)) { ws__ev_init(&ev, WS_EV_DRAINED); ws__emit(c, &ev); }
    }
    if (ws__buf_used(c->tx) && c->state != WS__CONNECTING && c->state != WS__TLS &&
        ws__has_io(c) && !(c->flags & WS__F_DEAD))
        ws__flush(c);
    if (c->flags & WS__F_BROKEN) ws__finish(c);
}

/* Sends refused by max_memory with nothing queued wait for budget, not for their queue: once
 * a buffer went back since, each gets DRAINED (at the end of the pass) to try again. 1 = ctx
 * has pending work. */
static int ws__mem_wake(ws_ctx *ctx) {
    ws_conn *c;
    if (ctx->mem_wait == 3) {
        ctx->mem_wait = 0;
        for (c = ctx->head; c; c = c->next)
            if ((c->flags & WS__F_DRAIN_WAIT) && !ws__buf_used(c->tx) && c->state == WS__OPEN) {
                c->flags = (c->flags & ~(uint32_t)WS__F_DRAIN_WAIT) | WS__F_DRAINED;
                ws__pend(c);
            }
    }
    return ctx->pend != NULL;
}

static ws_result ws__engine_input(ws_conn *c, const uint8_t *p, size_t len);
static void ws__engine_free(ws_ctx *ctx);
/* An engine's "end of pass": after each of its API calls, unless inside its callback or its
 * ws_io (in_cb) or held (dispatching: inside ws_engine_pump, _tick...). Work in rounds, at
 * most 8 (a callback may keep producing work): what is left makes ws_engine_deadline say
 * "now". A ws_engine_destroy asked for meanwhile happens here. 1 = the engine is gone. */
static int ws__engine_run(ws_ctx *ctx) {
    int round;
    ws_conn *c = ctx->head;
    if (!WS__ENGINE(ctx) || ctx->in_cb) return 0;
    for (round = 0; !ctx->destroying && round < 8 && (ws__mem_wake(ctx) || ctx->later || ctx->later_eof); round++) {
        if (ctx->later || ctx->later_eof) {   /* fed (or ended) from a callback: now, in order */
            ws__buf *b = ctx->later;
            ctx->later = NULL;
            if (b) { (void)ws__engine_input(c, WS__BDATA(b) + b->off, ws__buf_used(b)); ws__buf_put(ctx, &b); }
            else {
                ctx->later_eof = 0;
                if (c->state != WS__CLOSED) { ws__buf_put(ctx, &c->rx); ws__on_eof(c); }
            }
        }
        if (ctx->pend) {   /* c: an engine's ctx has one conn */
            ctx->pend = NULL;
            c->flags &= ~(uint32_t)WS__F_PEND;
            if (!(c->flags & WS__F_DEAD)) ws__service_core(c);
        }
    }
    if (!ctx->destroying || ctx->dispatching) return 0;
    /* ws_engine_destroy: CLOSE if it has not fired, then free */
    ctx->in_cb++;    /* what its callbacks and ws_io call meanwhile waits (and is dropped) */
    if (c->state != WS__CLOSED) {
        if (c->state == WS__OPEN && !(c->flags & WS__F_SENT_CLOSE) && c->err == WS_OK) {   /* try, don't wait */
            (void)ws__queue_close(c, WS_CLOSE_GOING_AWAY, "", 0);
            ws__flush(c);
        }
        if (c->err == WS_OK && !(c->flags & WS__F_GOT_CLOSE)) { c->err = WS_ERR_CLOSED; ws__set_msg(c, WS__T("engine destroyed")); }
        c->flags |= WS__F_ERR_FIRED;   /* the close event says it all */
        ws__finish(c);
    }
    ws__engine_free(ctx);
    return 1;
}

/* Text we may send: valid UTF-8, which the message being delivered (an echo, a broadcast of
 * it) already is: checking it again would be half the cost of a text echo. */
static int ws__text_ok(const ws_ctx *ctx, const void *data, size_t len) {
    if (!data) return 1;   /* ws__send refuses NULL with a length */
    if ((const uint8_t *)data == ctx->text_ok && len == ctx->text_ok_len) return 1;
    return ws_utf8_validate(data, len) == WS_OK;
}

static ws_result ws__send(ws_conn *c, int fin, int rsv, int op, const void *data, size_t len) {
    ws_result rc;
    WS__CHECK(c);
    if (!c || (!data && len)) return WS_ERR_ARG;
    if (c->state != WS__OPEN) return c->state < WS__OPEN ? WS_ERR_STATE : WS_ERR_CLOSED;
    if (c->flags & (WS__F_SENT_CLOSE | WS__F_BROKEN | WS__F_DEAD | WS__F_FAILED)) return WS_ERR_CLOSED;   /* FAILED: its ERROR callback */
    if (ws__send_direct(c, fin, rsv, op, data, len)) rc = WS_OK;   /* no copy: >>transport */
    else {
        rc = ws__queue_frame(c, fin, rsv, op, data, len, 0);
        if (rc == WS_ERR_FULL && ws__buf_used(c->tx) && ws__has_io(c)) {
            ws__flush(c);   /* bytes held back for batching (below) do not make the queue full */
            if (!(c->flags & WS__F_BROKEN)) rc = ws__queue_frame(c, fin, rsv, op, data, len, 0);
        }
        /* Inside a callback the loop flushes when the callback returns (ws__conn_io,
         * ws_dispatch), so the replies to one read go out in one send() instead of one per
         * message; a batch is written at once when it reaches WS_BUF_MIN. */
        if (rc == WS_OK && ws__has_io(c) &&
            (!c->ctx->in_cb || ws__buf_used(c->tx) >= WS_BUF_MIN))
            ws__flush(c);
    }
    if (rc == WS_ERR_FULL) {   /* DRAINED: try again then */
        c->flags |= WS__F_DRAIN_WAIT;
        if (!ws__buf_used(c->tx)) c->ctx->mem_wait |= 1;   /* the budget: no queue to drain */
    }
    if (ws__buf_used(c->tx)) ws__pend(c);   /* the rest: at the end of the dispatch, or POLLOUT */
    ws__engine_run(c->ctx);
    return rc;
}

/* What ws_conn_send and ws_broadcast accept: a message or a ping/pong (RFC 6455 5.5). */
static ws_result ws__send_check(const ws_ctx *ctx, int opcode, const void *data, size_t len) {
    if (opcode == WS_OP_PING || opcode == WS_OP_PONG) return len > 125 ? WS_ERR_ARG : WS_OK;
    if (opcode == WS_OP_TEXT) return !ctx || ws__text_ok(ctx, data, len) ? WS_OK : WS_ERR_UTF8;
    return opcode == WS_OP_BINARY ? WS_OK : WS_ERR_ARG;
}

/* A whole message: compressed when permessage-deflate was agreed (>>deflate decides). */
static ws_result ws__send_msg(ws_conn *c, int opcode, const void *data, size_t len) {
    int op = opcode & ~WS_SEND_UNCOMPRESSED;
#ifdef WS_USE_ZLIB
    if (c && c->pmd && op == opcode && (op == WS_OP_TEXT || op == WS_OP_BINARY)) {
        ws_ctx *ctx = c->ctx;
        ws_result rc;
        ctx->dispatching += WS__ENGINE(ctx);   /* an engine: held, c stays to the end (its io may destroy it) */
        rc = ws__pmd_send(c, op, data, len);
        ctx->dispatching -= WS__ENGINE(ctx);
        ws__engine_run(ctx);   /* the end of the engine call (what the flushes there left) */
        return rc;
    }
#endif
    return ws__send(c, 1, 0, op, data, len);
}

WS_API ws_result ws_conn_send(ws_conn *c, int opcode, const void *data, size_t len) {
    ws_result rc;
    ws_ctx *ctx;
    WS__CHECK(c);   /* before c->ctx is read */
    rc = ws__send_check(c ? c->ctx : NULL, opcode & ~WS_SEND_UNCOMPRESSED, data, len);
    if (rc != WS_OK) return rc;
    ctx = ws__hold_c(c);   /* a write, on_timer: callbacks */
    rc = ws__send_msg(c, opcode, data, len);
    (void)ws__release(ctx);
    return rc;
}

WS_API ws_result ws_conn_send_text(ws_conn *c, const char *text) {
    return text ? ws_conn_send(c, WS_OP_TEXT, text, strlen(text)) : WS_ERR_ARG;
}

WS_API ws_result ws_conn_send_frame(ws_conn *c, int fin, int rsv, int opcode, const void *data, size_t len) {
    ws_ctx *ctx;
    ws_result rc;
    WS__CHECK(c);
    ctx = ws__hold_c(c);
    rc = ws__send(c, fin, rsv, opcode, data, len);
    (void)ws__release(ctx);
    return rc;
}

/* Closed or dropped from an ERROR callback: of a client that would reconnect (ws__finish
 * emits ERROR, then CLOSE): no retry, the CLOSE that follows is the final one; or of an open
 * conn that failed (ws__fail emits ERROR, then queues the close frame): that frame keeps the
 * failure's code (1002, 1007...), and no retry. 1 = it was. */
static int ws__stop_retry(ws_conn *c) {
    int failing = (c->flags & (WS__F_FAILED | WS__F_SENT_CLOSE | WS__F_DEAD)) == WS__F_FAILED &&
                  (c->state == WS__OPEN || c->state == WS__CLOSING);
    if (!failing && (c->state != WS__CLOSED || (c->flags & (WS__F_CLOSE_FIRED | WS__F_DEAD)) ||
                     !ws__cl(c) || !ws__cl(c)->reconnect))
        return 0;
    c->flags |= WS__F_USER_CLOSE;
    return 1;
}

WS_API ws_result ws_conn_close(ws_conn *c, uint16_t code, const char *reason) {
    size_t rlen = reason ? strlen(reason) : 0;
    ws_ctx *ctx;
    WS__CHECK(c);
    if (!c) return WS_ERR_ARG;
    if ((code && !ws_close_code_valid(code)) || rlen > 123 || (rlen && !code) ||
        (rlen && ws_utf8_validate(reason, rlen) != WS_OK))
        return WS_ERR_ARG;
    if (ws__stop_retry(c)) return WS_OK;
    if (c->state != WS__WAITING &&
        (c->state >= WS__CLOSED || (c->flags & (WS__F_SENT_CLOSE | WS__F_DEAD | WS__F_HTTP))))
        return WS_ERR_CLOSED;   /* HTTP: a close frame must not follow the response */
    c->flags |= WS__F_USER_CLOSE;   /* WAITING: no more retries, the final CLOSE comes from the loop */
    ctx = ws__hold_c(c);
    if (c->state < WS__OPEN) {   /* still connecting: give up the attempt */
        if (c->err == WS_OK) {   /* an error recorded already (a failed DNS...) stays */
            c->err = WS_ERR_CLOSED;
            ws__set_msg(c, WS__T("closed before the connection opened"));
            c->flags |= WS__F_ERR_FIRED;
        }
        c->flags |= WS__F_BROKEN;
    } else if (c->state != WS__WAITING) {
        (void)ws__queue_close(c, code, reason, rlen);
        ws__start_closing(c);
        if (ws__has_io(c) && !c->ctx->in_cb) ws__flush(c);
    }
    ws__pend(c);   /* new timer (close_timeout_ms) and poll interest */
    ws__engine_run(c->ctx);   /* an engine: CLOSE fires before this returns */
    (void)ws__release(ctx);
    return WS_OK;
}

WS_API void ws_conn_drop(ws_conn *c) {
    ws_ctx *ctx;
    WS__CHECK(c);
    if (c && c->state == WS__WAITING) { (void)ws_conn_close(c, 0, NULL); return; }   /* no retry */
    if (!c || c->state >= WS__CLOSED) { if (c) (void)ws__stop_retry(c); return; }
    c->flags |= WS__F_USER_CLOSE | WS__F_BROKEN;
    ctx = ws__hold_c(c);   /* on_timer */
    ws__pend(c);
    ws__engine_run(c->ctx);
    (void)ws__release(ctx);
}

WS_API int ws_conn_state(const ws_conn *c) {
    WS__CHECK(c);
    if (!c) return WS_STATE_CLOSED;
    switch (c->state) {
    case WS__RESOLVING: case WS__CONNECTING: case WS__PROXY: case WS__TLS: case WS__HANDSHAKE:
        return WS_STATE_CONNECTING;
    case WS__OPEN: return (c->flags & WS__F_SENT_CLOSE) ? WS_STATE_CLOSING : WS_STATE_OPEN;
    case WS__CLOSING: return WS_STATE_CLOSING;
    default: return WS_STATE_CLOSED;
    }
}
WS_API void *ws_conn_user(const ws_conn *c) { WS__CHECK(c); return c ? c->user : NULL; }
WS_API void ws_conn_set_user(ws_conn *c, void *user) { WS__CHECK(c); if (c) c->user = user; }
WS_API uint64_t ws_conn_id(const ws_conn *c) { WS__CHECK(c); return c ? c->id : 0; }
WS_API ws_ctx *ws_conn_ctx(const ws_conn *c) { WS__CHECK(c); return c && !WS__ENGINE(c->ctx) ? c->ctx : NULL; }
WS_API int ws_conn_is_server(const ws_conn *c) { WS__CHECK(c); return c && (c->flags & WS__F_SERVER) ? 1 : 0; }
WS_API int64_t ws_conn_age_ms(const ws_conn *c) {
    WS__CHECK(c);
    if (!c) return 0;
#ifndef WS_NO_NET
    if (!c->ctx->engine) return ws__now_of(c->ctx) - c->created;
#endif
    return c->ctx->now - c->created;   /* an engine: on its user's clock */
}
WS_API const char *ws_conn_protocol(const ws_conn *c) { WS__CHECK(c); return c && c->x && c->x->protocol ? c->x->protocol : ""; }
WS_API size_t ws_conn_queued(const ws_conn *c) { WS__CHECK(c); return c ? ws__buf_used(c->tx) : 0; }
WS_API void ws_conn_set_fragments(ws_conn *c, int on) {
    WS__CHECK(c);
    if (!c) return;
    c->flags = (c->flags & ~(uint32_t)WS__F_FRAGS) | WS__F_FRAGS_SET | (on ? (uint32_t)WS__F_FRAGS : 0u);
}

/* ---- clients: the URL and options, and the upgrade request (loop, adopt and engine) ---- */
#ifndef WS_NO_CLIENT
/* The client and its strings (url, origin, protocols, headers) are one allocation: the
 * strings follow the struct, so one check and one free cover them all. */
static size_t ws__slen(const char *s) { return s ? strlen(s) + 1 : 0; }
static char *ws__scopy(char **dst, char *p, const char *s) {   /* s (or NULL) to p; past it */
    size_t n = ws__slen(s);
    if (s) *dst = (char *)memcpy(p, s, n);
    return p + n;
}
static ws_result ws__client_new(ws_conn *c, const char *url, const ws_connect_opts *opts,
                                const char **why) {
    ws_ctx *ctx = c->ctx;
    ws_connect_opts none;
    ws__client *cl;
    char *p;
#ifdef WS__NO_RANDOM   /* a client's masks must be unpredictable (RFC 6455 10.3) */
    *why = WS__T("a client needs random bytes for its masks: #define WS_RANDOM(buf, len)");
    return WS_ERR_ARG;
#endif
    if (!opts) { memset(&none, 0, sizeof none); opts = &none; }
    if (!ws__x(c) || (cl = (ws__client *)ws__alloc(ctx, sizeof *cl + ws__slen(url) + ws__slen(opts->origin) +
                                                   ws__slen(opts->protocols) + ws__slen(opts->headers))) == NULL)
        return WS_ERR_NOMEM;
    memset(cl, 0, sizeof *cl);
    c->x->cl = cl;   /* freed with c, whatever fails below */
    p = ws__scopy(&cl->url, (char *)(cl + 1), url);
    p = ws__scopy(&cl->origin, p, opts->origin);
    p = ws__scopy(&cl->protocols, p, opts->protocols);
    (void)ws__scopy(&cl->headers, p, opts->headers);
#ifdef WS_USE_ZLIB
    cl->deflate = opts->deflate ? *opts->deflate : ctx->cfg.deflate;
#endif
    cl->reconnect = opts->reconnect;
    cl->delay_ms = opts->reconnect_delay_ms > 0 ? opts->reconnect_delay_ms : 1000;
    cl->max_ms = opts->reconnect_max_ms > 0 ? opts->reconnect_max_ms : 30000;
    if (cl->max_ms < cl->delay_ms) cl->max_ms = cl->delay_ms;   /* the waits never shrink */
    cl->cur_ms = cl->delay_ms;
    if (ws_url_parse(cl->url, strlen(url), &cl->u, why) != WS_OK) return WS_ERR_URL;
    if (cl->u.host.len >= 256) { *why = WS__T("host name longer than 255 bytes"); return WS_ERR_URL; }
    /* extra headers that would repeat ours (a second Host, key...): refused, with the reason */
    *why = ws__extra_check(cl->headers, 1, cl->origin && *cl->origin, cl->protocols && *cl->protocols);
    if (*why) return WS_ERR_ARG;
    if (ws__ctl_in(cl->origin, (size_t)-1) || ws__ctl_in(cl->protocols, (size_t)-1)) {
        *why = WS__T("opts->origin or opts->protocols has a control byte (CR, LF...)"); return WS_ERR_ARG;
    }
    *why = "";
    return WS_OK;
}

/* Queues the upgrade request with a fresh key (RFC 6455 4.1). Fails c when it cannot. */
static ws_result ws__client_request(ws_conn *c) {
    ws_ctx *ctx = c->ctx;
    ws__client *cl = c->x->cl;   /* a client's: ws__client_new made it */
    size_t need, len = 0;
    uint8_t rnd[16];
    ws__rand(ctx, rnd, 16);
    ws_client_key(rnd, cl->key);
    need = 768 + cl->u.path.len + cl->u.query.len + cl->u.host.len +
           (cl->origin ? strlen(cl->origin) : 0) + (cl->protocols ? strlen(cl->protocols) : 0) +
           (cl->headers ? 2 * strlen(cl->headers) : 0);
    if (!ws__buf_reserve(ctx, &c->tx, need)) { ws__fail(c, WS_ERR_NOMEM, WS__T("out of memory")); return WS_ERR_NOMEM; }
    if (ws_http_build_request((char *)WS__BDATA(c->tx) + c->tx->len, c->tx->cap - c->tx->len, &cl->u,
                              cl->key, cl->origin, cl->protocols, cl->headers, &len) != WS_OK) {
        ws__fail(c, WS_ERR_ARG, WS__T("invalid origin, protocols or extra headers"));
        return WS_ERR_ARG;
    }
    len -= 2;   /* >>deflate: an offer goes before the final empty line */
    len += ws__pmd_offer(c, (char *)WS__BDATA(c->tx) + c->tx->len + len, c->tx->cap - c->tx->len - len - 2);
    memcpy(WS__BDATA(c->tx) + c->tx->len + len, "\r\n", 2);
    c->tx->len += len + 2;
    return WS_OK;
}

#else
static ws_result ws__client_new(ws_conn *c, const char *url, const ws_connect_opts *opts,
                                const char **why) {
    (void)c; (void)url; (void)opts;
    *why = WS__T("built with WS_NO_CLIENT");
    return WS_ERR_ARG;
}
static ws_result ws__client_request(ws_conn *c) { (void)c; return WS_ERR_ARG; }
#endif

/* A stream handed over (an engine, ws_conn_adopt): its transport, role and starting state.
 * The opening of an upgraded stream and the head bytes wait for the end of the pass/call. */
static ws_result ws__conn_start(ws_conn *c, const ws_engine_opts *o, const char **why) {
    ws_ctx *ctx = c->ctx;
    ws_result rc;
    if (o->io) {   /* copied: the caller's ws_io may go once this returns */
        ws_io *io;
        if (!o->io->write || (!WS__ENGINE(ctx) && !o->io->read)) return WS_ERR_ARG;
        io = (ws_io *)ws__alloc(ctx, sizeof *io);
        if (!io) return WS_ERR_NOMEM;
        *io = *o->io;
        c->io = io;
        c->io_arg = io->io;
        c->flags |= WS__F_OWN_IO;
    }
    if (!(c->flags & WS__F_SERVER)) {
        rc = ws__client_new(c, o->url ? o->url : "ws://localhost/", o->connect, why);
        if (rc != WS_OK) return rc;
        ws__cl(c)->reconnect = 0;   /* a stream that was handed over cannot be dialled again */
    }
    c->state = c->io && c->io->handshake && !WS__ENGINE(ctx) ? WS__TLS : WS__HANDSHAKE;
    c->deadline = ws__t32_in(ctx, ctx->cfg.handshake_timeout_ms);
    if (o->upgraded) {
        if (o->protocol && *o->protocol &&
            (!ws__x(c) || !(c->x->protocol = ws__strdup(ctx, o->protocol, strlen(o->protocol))))) return WS_ERR_NOMEM;
        if (o->extensions && (rc = ws__pmd_agreed(c, o->extensions, why)) != WS_OK) return rc;
        c->flags |= WS__F_PREOPEN;
    } else if (!(c->flags & WS__F_SERVER) && (rc = ws__client_request(c)) != WS_OK) {
        return rc;
    }
    if (o->head && o->head_len) {
        if (!ws__rx_put(c, o->head, o->head_len)) return WS_ERR_NOMEM;
        c->flags |= WS__F_FEED;
    }
    ws__pend(c);
    return WS_OK;
}

/* ---- the engine API: a connection in a private ctx that has no sockets ---- */
static void ws__engine_free(ws_ctx *ctx) {
    ctx->destroying = 1;
    while (ctx->head) ws__conn_free(ctx->head);
    ws__pmd_ctx_free(ctx);
    while (ctx->npool) ws__free(ctx, ctx->pool[--ctx->npool]);
    if (ctx->big) ws__buf_free(ctx, ctx->big);
    if (ctx->later) ws__buf_free(ctx, ctx->later);
    ws__free(ctx, ctx->heap);
    ws__ids_free(ctx);
    WS_FREE(ctx, ctx->cfg.user);
}

WS_API ws_result ws_engine_create(const ws_config *cfg, const ws_engine_opts *o, void *conn_user,
                                  ws_conn **out) {
    ws_engine_opts none;
    ws_ctx *ctx;
    ws_conn *c;
    ws_result rc;
    const char *why = "";
    if (out) *out = NULL;
    if (!cfg || !cfg->on_event || !out) return WS_ERR_ARG;
    if (!o) { memset(&none, 0, sizeof none); o = &none; }
    ctx = (ws_ctx *)WS_MALLOC(sizeof *ctx, cfg->user);
    if (!ctx) return WS_ERR_NOMEM;
    memset(ctx, 0, sizeof *ctx);
    ws__cfg_set(ctx, cfg);
    ctx->engine = 1;
    ctx->now = o->now_ms;
#ifndef WS_NO_NET
    ctx->wake_r = ctx->wake_w = WS__INVALID_SOCK;
    ctx->epfd = -1;
#endif
    c = ws__conn_new(ctx, o->server);
    if (!c) { WS_FREE(ctx, cfg->user); return WS_ERR_NOMEM; }
    c->user = conn_user;
    rc = ws__conn_start(c, o, &why);
    if (rc != WS_OK) {
        if (*why) ws__log(ctx, 0, why);   /* a bad URL, a client without random bytes */
        ws__engine_free(ctx);
        return rc;
    }
    *out = c;
    if (ws__engine_run(ctx)) { *out = NULL; return WS_ERR_CLOSED; }   /* destroyed by its io */
    return WS_OK;   /* an upgraded stream opened; the head was processed; io took output */
}

/* From c's callback or ws_io (or held): c stops at once (no input, sends fail) and goes
 * once the engine call that is running returns (ws__engine_run). */
WS_API void ws_engine_destroy(ws_conn *c) {
    if (!c || !WS__ENGINE(c->ctx)) return;
    c->ctx->destroying = 1;
    c->flags |= WS__F_DEAD | WS__F_BROKEN;   /* no more input, sends or closes, never opens */
    (void)ws__engine_run(c->ctx);
}

/* Input in steps, so no buffer outgrows the frame being read. */
static ws_result ws__engine_input(ws_conn *c, const uint8_t *p, size_t len) {
    ws_result rc = WS_OK;
    while (len && rc == WS_OK) {
        size_t n = WS_BUF_MIN;
        if (c->state != WS__HANDSHAKE && !ws__reading(c)) break;   /* closing: input is dropped */
        if (c->flags & WS__F_HAVE_FRAME) {   /* the rest of a big frame in one step */
            size_t rest = (size_t)(c->fr.header_len + c->fr.payload_len) - ws__buf_used(c->rx);
            n = WS__MIN(WS__MAX(rest, (size_t)WS_BUF_MIN), (size_t)1 << 20);   /* (a size, not a limit) */
        }
        n = WS__MIN(n, len);
        rc = ws__conn_feed(c, p, n);
        if (rc != WS_OK) ws__fail(c, rc, WS__T("out of memory"));
        p += n;
        len -= n;
    }
    if (ws__buf_used(c->tx)) ws__pend(c);   /* what the input queued (101, pongs, close): a ws_io takes it */
    return rc;
}

WS_API ws_result ws_engine_feed(ws_conn *c, const void *data, size_t len, int64_t now_ms) {
    ws_ctx *ctx;
    ws_result rc;
    if (!c || !WS__ENGINE(c->ctx) || (!data && len)) return WS_ERR_ARG;
    ctx = c->ctx;
    ctx->now = now_ms;
    if (c->state == WS__CLOSED || ctx->destroying) return WS_ERR_CLOSED;
    if (ctx->in_cb || ctx->later || ctx->later_eof) {
        /* from c's callback or ws_io (a peer answering): after it returns, so ev->data and a
         * message being assembled stay as they are; behind input still waiting: in order */
        if (ctx->later_eof) return WS_ERR_CLOSED;
        rc = !len || ws__buf_add(ctx, &ctx->later, data, len) ? WS_OK : WS_ERR_NOMEM;
    } else rc = ws__engine_input(c, (const uint8_t *)data, len);
    (void)ws__engine_run(ctx);
    return rc;
}

WS_API void ws_engine_eof(ws_conn *c, int64_t now_ms) {
    if (!c || !WS__ENGINE(c->ctx)) return;
    c->ctx->now = now_ms;
    c->ctx->later_eof = 1;   /* now (ws__engine_run), or from c's callback: after it and its input */
    (void)ws__engine_run(c->ctx);
}

WS_API size_t ws_engine_output(const ws_conn *c, const uint8_t **data) {
    size_t n = c ? ws__buf_used(c->tx) : 0;
    if (data) *data = n ? WS__BDATA(c->tx) + c->tx->off : NULL;
    return n;
}

WS_API void ws_engine_consume(ws_conn *c, size_t n) {
    if (!c || !WS__ENGINE(c->ctx) || !c->tx) return;
    c->tx->off += WS__MIN(n, ws__buf_used(c->tx));
    if (c->tx->off == c->tx->len) ws__tx_done(c);
    (void)ws__engine_run(c->ctx);
}

WS_API int ws_engine_wants_eof(const ws_conn *c) {
    return c && (c->state == WS__CLOSED || ((c->flags & WS__F_SHUT) && !ws__buf_used(c->tx)));
}

WS_API int64_t ws_engine_deadline(const ws_conn *c) {
    const ws_ctx *ctx = c ? c->ctx : NULL;
    if (!c || c->state == WS__CLOSED) return 0;
    if (ctx->pend || ctx->later || ctx->later_eof)   /* work left over (ws__engine_run): now */
        return ctx->now ? ctx->now : -1;
    return ws__due(c);
}

WS_API void ws_engine_tick(ws_conn *c, int64_t now_ms) {
    ws_ctx *ctx;
    if (!c || !WS__ENGINE(c->ctx)) return;
    ctx = c->ctx;
    ctx->now = now_ms;
    if (ctx->in_cb) return;   /* from a callback or ws_io: the clock only (the deadline stays) */
    ctx->dispatching++;   /* held: c stays while its timers run (an idle close's io may destroy it) */
    (void)ws__conn_timers(c);
    ctx->dispatching--;
    (void)ws__engine_run(ctx);
}

WS_API ws_result ws_engine_pair(const ws_config *client_cfg, const ws_config *server_cfg,
                                ws_conn **client, ws_conn **server) {
    ws_engine_opts o;
    ws_result rc;
    if (client) *client = NULL;
    if (server) *server = NULL;
    if (!client || !server) return WS_ERR_ARG;
    memset(&o, 0, sizeof o);
    o.server = 1;
    rc = ws_engine_create(server_cfg, &o, NULL, server);
    if (rc != WS_OK) return rc;
    o.server = 0;
    rc = ws_engine_create(client_cfg, &o, NULL, client);
    if (rc != WS_OK) { ws_engine_destroy(*server); *server = NULL; }
    return rc;
}

/* One direction of ws_engine_pump: a copy first, so callbacks may send on either side. */
static size_t ws__pump1(ws_conn *from, ws_conn *to, int64_t now) {
    uint8_t chunk[4096];
    const uint8_t *p;
    size_t n = ws_engine_output(from, &p), moved = 0;
    if (n) {
        n = WS__MIN(n, sizeof chunk);
        memcpy(chunk, p, n);
        ws_engine_consume(from, n);
        if (to->state != WS__CLOSED) (void)ws_engine_feed(to, chunk, n, now);
        moved = n;
    }
    if (to->state != WS__CLOSED && ws_engine_wants_eof(from) && !ws_engine_output(from, NULL)) {
        ws_engine_eof(to, now);   /* from's side of the stream ends */
        moved++;
    }
    return moved;
}

WS_API size_t ws_engine_pump(ws_conn *a, ws_conn *b, int64_t now_ms) {
    size_t total = 0, moved;
    ws_ctx *x, *y;
    if (!a || !b || a == b || !WS__ENGINE(a->ctx) || !WS__ENGINE(b->ctx)) return 0;
    x = a->ctx;
    y = b->ctx;
    x->dispatching++;   /* held: a destroy from a callback waits until the pump stops */
    y->dispatching++;
    do {
        moved = ws__pump1(a, b, now_ms);
        moved += ws__pump1(b, a, now_ms);
        total += moved;
    } while (moved);
    x->dispatching--;
    y->dispatching--;
    (void)ws__engine_run(x);
    (void)ws__engine_run(y);
    return total;
}

#ifdef WS_NO_NET   /* an engine has no address; with sockets, see >>api */
WS_API ws_result ws_conn_remote(const ws_conn *c, char *out, size_t cap, uint16_t *port_out) {
    if (out && cap) out[0] = '\0';
    if (port_out) *port_out = 0;
    return c && out && cap ? WS_ERR_STATE : WS_ERR_ARG;
}
#endif
/* ==== >>deflate ==== permessage-deflate, RFC 7692: negotiation, deflate, inflate ==== */
/* Negotiation (7.1): a client offers one configuration; a server takes the first acceptable
 * offer and declines (skips) offers with unknown, repeated or invalid parameters (5.1). Our
 * compressor (d) uses at most the agreed window (zlib cannot deflate raw with a 256-byte window:
 * when 8 is agreed we just send uncompressed, which 7692 allows); our inflater (i) is sized
 * by the peer's agreed window (at least 9 bits: zlib peers use 9 when 8 was agreed). Streams
 * are created on first use; with no context takeover a conn keeps none between messages: it
 * borrows the ctx's shared compressor, and a one-frame message the shared inflater. */
#if defined(WS_USE_ZLIB)
#ifndef ZLIB_CONST
#  define ZLIB_CONST
#endif
#include <zlib.h>

typedef struct ws__pmd {
    z_stream d, i;               /* our compressor, our inflater: own streams (d_on, i_on) */
    uint8_t  d_on, i_on;
    uint8_t  d_bits;             /* our window, 9..15; 0 = the peer allows only 8: no compressing */
    uint8_t  i_bits;             /* the inflater's window, 9..15 */
    uint8_t  d_reset, i_reset;   /* no context takeover: each message starts afresh */
    uint8_t  rx;                 /* the message being received is compressed (RSV1) */
    uint8_t  i_shared;           /* ... and uses the ctx's shared inflater (one frame) */
    uint8_t  i_end;              /* the peer ended a DEFLATE stream (BFINAL): reset at the end */
    uint8_t  d_stale;            /* a broadcast's shared encoding went out: reset d before use */
    int      mem_level;
    size_t   threshold;          /* messages shorter than this go uncompressed */
    uint64_t rx_out;             /* inflated bytes of the message being received */
    char     ext[160];           /* the agreed Sec-WebSocket-Extensions value */
} ws__pmd;

typedef struct ws__pmd_shared {
    z_stream d, i;
    uint8_t  d_on, i_on;
    int      d_bits, d_mem;      /* the compressor's settings (re-made when another is asked) */
} ws__pmd_shared;

/* A Sec-WebSocket-Extensions element's permessage-deflate parameters (7.1). */
typedef struct ws__pmd_params {
    int snct, cnct;              /* server_/client_no_context_takeover: 1 = present */
    int smwb, cmwb;              /* server_/client_max_window_bits: 0 absent, -1 no value, 8..15 */
} ws__pmd_params;

/* zlib -> WS_MALLOC, counted in max_memory as buffers are (a size in front of each block):
 * a stream the budget cannot hold fails to start (Z_MEM_ERROR, ctx->mem_full set). */
typedef union ws__zhdr { size_t n; void *p; double d; uint64_t u; char pad[16]; } ws__zhdr;
static voidpf ws__zalloc(voidpf opaque, uInt items, uInt size) {
    ws_ctx *ctx = (ws_ctx *)opaque;
    ws__zhdr *h;
    size_t n;
    if (size && items > ((size_t)-1 - sizeof *h) / size) return Z_NULL;
    n = (size_t)items * size + sizeof *h;
    ctx->mem_full = 0;
    if (!ws__mem_room(ctx, 0, n, 0) || !(h = (ws__zhdr *)ws__alloc(ctx, n))) return Z_NULL;
    h->n = n;
    ctx->mem_used += n;
    return (voidpf)(h + 1);
}
static void ws__zfree(voidpf opaque, voidpf p) {
    ws_ctx *ctx = (ws_ctx *)opaque;
    ws__zhdr *h = (ws__zhdr *)p - 1;
    if (!p) return;
    ctx->mem_used -= h->n;
    if (ctx->mem_wait) ctx->mem_wait = 3;   /* budget for a send that waits (ws__mem_wake) */
    ws__free(ctx, h);
}
static void ws__zinit(ws_ctx *ctx, z_stream *s) {
    memset(s, 0, sizeof *s);
    s->zalloc = ws__zalloc;
    s->zfree = ws__zfree;
    s->opaque = (voidpf)ctx;
}

/* The next element of an extension list: *name and *params (after the name, ";..." or
 * empty). Quoted strings may hold commas. 0 = no more elements. */
static int ws__ext_next(ws_span *rest, ws_span *name, ws_span *params) {
    const char *p = rest->ptr, *e = rest->ptr + rest->len, *q;
    int quoted = 0;
    while (p < e && (*p == ' ' || *p == '\t' || *p == ',')) p++;
    if (p == e) return 0;
    for (q = p; q < e && ws__is_tchar((unsigned char)*q); q++) {}
    *name = ws__span(p, (size_t)(q - p));
    for (p = q; q < e && (quoted || *q != ','); q++) {
        if (*q == '"') quoted = !quoted;
        else if (*q == '\\' && quoted && q + 1 < e) q++;
    }
    *params = ws__span(p, (size_t)(q - p));
    rest->ptr = q;
    rest->len = (size_t)(e - q);
    return 1;
}

/* "8".."15" exactly (no sign, no leading zero): the window-bits value, else 0. */
static int ws__pmd_bits(const char *v, size_t n) {
    if (n == 1 && v[0] == '8') return 8;
    if (n == 1 && v[0] == '9') return 9;
    if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + (v[1] - '0');
    return 0;
}

/* Parses ";" param ["=" (token | quoted-string)] ... (RFC 6455 9.1, RFC 7692 7.1). 0 for
 * anything 7692 says to decline or fail on: an unknown or repeated parameter, a value where
 * none belongs, a window size that is not 8..15 (or missing in an answer), bad syntax. */
static int ws__pmd_parse(ws_span params, int answer, ws__pmd_params *o) {
    const char *p = params.ptr, *e = params.ptr + params.len;
    memset(o, 0, sizeof *o);
    for (;;) {
        const char *n0, *n1, *v0 = NULL;
        char val[8];
        size_t vl = 0;
        int *slot, bits;
        while (p < e && (*p == ' ' || *p == '\t')) p++;
        if (p == e) return 1;
        if (*p++ != ';') return 0;
        while (p < e && (*p == ' ' || *p == '\t')) p++;
        for (n0 = p; p < e && ws__is_tchar((unsigned char)*p); p++) {}
        n1 = p;
        if (n0 == n1) return 0;
        while (p < e && (*p == ' ' || *p == '\t')) p++;
        if (p < e && *p == '=') {
            p++;
            while (p < e && (*p == ' ' || *p == '\t')) p++;
            v0 = p;
            if (p < e && *p == '"') {   /* quoted: the unquoted text must be a token (7.1) */
                for (p++; p < e && *p != '"'; p++) {
                    if (*p == '\\' && p + 1 < e) p++;
                    if (vl >= sizeof val || !ws__is_tchar((unsigned char)*p)) return 0;
                    val[vl++] = *p;
                }
                if (p == e) return 0;
                p++;
            } else {
                for (; p < e && ws__is_tchar((unsigned char)*p); p++) {
                    if (vl >= sizeof val) return 0;
                    val[vl++] = *p;
                }
            }
            if (!vl) return 0;
            while (p < e && (*p == ' ' || *p == '\t')) p++;
        }
        if (ws__span_ieq(ws__span(n0, (size_t)(n1 - n0)), "server_no_context_takeover", 26)) slot = &o->snct;
        else if (ws__span_ieq(ws__span(n0, (size_t)(n1 - n0)), "client_no_context_takeover", 26)) slot = &o->cnct;
        else if (ws__span_ieq(ws__span(n0, (size_t)(n1 - n0)), "server_max_window_bits", 22)) slot = &o->smwb;
        else if (ws__span_ieq(ws__span(n0, (size_t)(n1 - n0)), "client_max_window_bits", 22)) slot = &o->cmwb;
        else return 0;
        if (*slot) return 0;   /* repeated */
        if (slot == &o->snct || slot == &o->cnct) {
            if (v0) return 0;
            *slot = 1;
            continue;
        }
        bits = v0 ? ws__pmd_bits(val, vl) : -1;
        if (!bits) return 0;
        /* a value is required, except in an offer's client_max_window_bits (7.1.2.2) */
        if (bits < 0 && (answer || slot == &o->smwb)) return 0;
        *slot = bits;
    }
}

/* ws_deflate_opts with the defaults filled in and the ranges enforced. */
static void ws__pmd_opts(const ws_deflate_opts *o, int *wb, int *pwb, int *mem, size_t *thr) {
    *wb = o->window_bits ? WS__MIN(WS__MAX(o->window_bits, 9), 15) : 15;
    *pwb = o->peer_window_bits ? WS__MIN(WS__MAX(o->peer_window_bits, 8), 15) : 15;
    *mem = o->mem_level ? WS__MIN(WS__MAX(o->mem_level, 1), 9) : 8;
    *thr = o->threshold < 0 ? 0 : o->threshold ? (size_t)o->threshold : 64;
}

static ws__pmd *ws__pmd_new(ws_conn *c, const ws_deflate_opts *o, int d_bits, int i_bits,
                            int d_reset, int i_reset) {
    int wb, pwb;
    ws__pmd *z = (ws__pmd *)ws__alloc(c->ctx, sizeof *z);
    if (!z) return NULL;
    memset(z, 0, sizeof *z);
    ws__pmd_opts(o, &wb, &pwb, &z->mem_level, &z->threshold);
    z->d_bits = (uint8_t)(d_bits == 8 ? 0 : d_bits);
    z->i_bits = (uint8_t)WS__MAX(i_bits, 9);
    z->d_reset = (uint8_t)d_reset;
    z->i_reset = (uint8_t)i_reset;
    ws__pmd_free(c);
    c->pmd = z;
    return z;
}

static void ws__pmd_free(ws_conn *c) {
    ws__pmd *z = c->pmd;
    if (!z) return;
    if (z->d_on) deflateEnd(&z->d);
    if (z->i_on) inflateEnd(&z->i);
    ws__free(c->ctx, z);
    c->pmd = NULL;
}

static void ws__pmd_ctx_free(ws_ctx *ctx) {
    ws__pmd_shared *sh = ctx->pmds;
    if (!sh) return;
    if (sh->d_on) deflateEnd(&sh->d);
    if (sh->i_on) inflateEnd(&sh->i);
    ws__free(ctx, sh);
    ctx->pmds = NULL;
}

static ws__pmd_shared *ws__pmd_shared_get(ws_ctx *ctx) {
    if (!ctx->pmds) {
        ctx->pmds = (ws__pmd_shared *)ws__alloc(ctx, sizeof *ctx->pmds);
        if (ctx->pmds) memset(ctx->pmds, 0, sizeof *ctx->pmds);
    }
    return ctx->pmds;
}

/* ---- negotiation ---- */
/* permessage-deflate as agreed in a (parsed from params, an answer's element) for c's role;
 * our settings o may only narrow it (a smaller window, resetting more often). */
static ws_result ws__pmd_take(ws_conn *c, const ws_deflate_opts *o, const ws__pmd_params *a,
                              ws_span params) {
    int server = (c->flags & WS__F_SERVER) != 0, wb, pwb, mem;
    int own = server ? a->smwb : a->cmwb, peer = server ? a->cmwb : a->smwb;   /* windows */
    size_t thr, k;
    ws__pmd *z;
    ws__pmd_opts(o, &wb, &pwb, &mem, &thr);
    z = ws__pmd_new(c, o, own > 0 ? WS__MIN(wb, own) : wb, peer > 0 ? peer : 15,
                    (server ? a->snct : a->cnct) || o->no_context_takeover, server ? a->cnct : a->snct);
    if (!z) return WS_ERR_NOMEM;
    k = WS__MIN(params.len, sizeof z->ext - 19);
    memcpy(z->ext, "permessage-deflate", 18);
    memcpy(z->ext + 18, params.ptr, k);
    z->ext[18 + k] = '\0';
    return WS_OK;
}

#ifndef WS_NO_CLIENT   /* the client's side of the negotiation */
/* Client: the offer, as a header line (0 = none). */
static size_t ws__pmd_offer(ws_conn *c, char *out, size_t cap) {
    const ws_deflate_opts *o = &ws__cl(c)->deflate;
    int wb, pwb, mem;
    size_t thr, len = 0;
    ws__out w;
    if (!o->enable) return 0;
    ws__pmd_opts(o, &wb, &pwb, &mem, &thr);
    w.p = out; w.cap = cap; w.len = 0; w.err = 0;
    ws__puts(&w, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits");
    if (wb < 15) { ws__puts(&w, "="); ws__putu(&w, (unsigned long)wb); }
    if (pwb < 15) { ws__puts(&w, "; server_max_window_bits="); ws__putu(&w, (unsigned long)pwb); }
    if (o->no_context_takeover) ws__puts(&w, "; client_no_context_takeover");
    if (o->peer_no_context_takeover) ws__puts(&w, "; server_no_context_takeover");
    ws__puts(&w, "\r\n");
    return ws__out_done(&w, &len) == WS_OK ? len : 0;
}

/* Client: checks the server's Sec-WebSocket-Extensions against our offer (7.1: anything we
 * did not offer fails the connection) and takes those headers out of res, so that
 * ws_http_check_response sees none. Without an offer, res is left alone. */
static ws_result ws__pmd_answer(ws_conn *c, ws_http_response *res, const char **why) {
    const ws_deflate_opts *o = &ws__cl(c)->deflate;
    ws__pmd_params a;
    ws_span rest, name, params, got = ws__span(NULL, 0);
    size_t i, k = 0, n = 0;
    int wb, pwb, mem;
    size_t thr;
    if (!o->enable || res->status != 101) return WS_OK;
    for (i = 0; i < res->num_headers; i++) {
        if (!ws__span_ieq(res->headers[i].name, "Sec-WebSocket-Extensions", 24)) {
            res->headers[k++] = res->headers[i];
            continue;
        }
        rest = res->headers[i].value;
        while (ws__ext_next(&rest, &name, &params)) {
            if (!ws__span_ieq(name, "permessage-deflate", 18)) {
                *why = WS__T("server chose an extension that was not offered"); return WS_ERR_HANDSHAKE;
            }
            if (n++) { *why = WS__T("server chose permessage-deflate twice"); return WS_ERR_HANDSHAKE; }
            got = params;
        }
    }
    res->num_headers = k;
    if (!n) return WS_OK;   /* declined: no compression */
    ws__pmd_opts(o, &wb, &pwb, &mem, &thr);
    if (!ws__pmd_parse(got, 1, &a)) {
        *why = WS__T("invalid permessage-deflate parameters in the answer"); return WS_ERR_HANDSHAKE;
    }
    if (pwb < 15 && (a.smwb <= 0 || a.smwb > pwb)) {   /* 7.1.2.1: must honour our limit */
        *why = WS__T("server_max_window_bits missing or above our offer"); return WS_ERR_HANDSHAKE;
    }
    if (o->peer_no_context_takeover && !a.snct) {     /* 7.1.1.1 */
        *why = WS__T("server_no_context_takeover not in the answer"); return WS_ERR_HANDSHAKE;
    }
    if (ws__pmd_take(c, o, &a, got) != WS_OK) { *why = WS__T("out of memory"); return WS_ERR_NOMEM; }
    return WS_OK;
}
#endif /* WS_NO_CLIENT */

#ifndef WS_NO_SERVER   /* the server's side of the negotiation */
/* Server: the answer to the first acceptable offer, as a header line (0 = none accepted). */
static size_t ws__pmd_accept(ws_conn *c, const ws_http_request *req, char *out, size_t cap) {
    const ws_deflate_opts *o = &c->ctx->cfg.deflate;
    ws__pmd_params a;
    ws_span rest, name, params;
    size_t i, len = 0, thr;
    int wb, pwb, mem;
    if (!o->enable) return 0;
    ws__pmd_opts(o, &wb, &pwb, &mem, &thr);
    for (i = 0; i < req->num_headers; i++) {
        if (!ws__span_ieq(req->headers[i].name, "Sec-WebSocket-Extensions", 24)) continue;
        rest = req->headers[i].value;
        while (ws__ext_next(&rest, &name, &params)) {
            int d_bits, i_bits, d_reset, i_reset;
            ws__pmd *z;
            ws__out w;
            if (!ws__span_ieq(name, "permessage-deflate", 18) || !ws__pmd_parse(params, 0, &a)) continue;
            if (pwb < 15 && !a.cmwb) continue;   /* cannot bound the client's window: decline */
            d_bits = a.smwb > 0 ? WS__MIN(wb, a.smwb) : wb;
            i_bits = a.cmwb > 0 ? WS__MIN(pwb, a.cmwb) : pwb;
            d_reset = a.snct || o->no_context_takeover;
            i_reset = a.cnct || o->peer_no_context_takeover;
            z = ws__pmd_new(c, o, d_bits, i_bits, d_reset, i_reset);
            if (!z) return 0;   /* out of memory: no compression */
            w.p = z->ext; w.cap = sizeof z->ext; w.len = 0; w.err = 0;
            ws__puts(&w, "permessage-deflate");
            if (d_reset) ws__puts(&w, "; server_no_context_takeover");
            if (i_reset) ws__puts(&w, "; client_no_context_takeover");
            if (a.smwb || d_bits < 15) { ws__puts(&w, "; server_max_window_bits="); ws__putu(&w, (unsigned long)d_bits); }
            if (a.cmwb && i_bits < 15) { ws__puts(&w, "; client_max_window_bits="); ws__putu(&w, (unsigned long)i_bits); }
            (void)ws__out_done(&w, NULL);
            w.p = out; w.cap = cap; w.len = 0; w.err = 0;
            ws__puts(&w, "Sec-WebSocket-Extensions: ");
            ws__puts(&w, z->ext);
            ws__puts(&w, "\r\n");
            if (ws__out_done(&w, &len) != WS_OK) { ws__pmd_free(c); return 0; }
            return len;
        }
    }
    return 0;
}
#endif /* WS_NO_SERVER */

/* A stream upgraded elsewhere (ws_engine_opts.extensions): ext is the 101's extension value;
 * our own settings may only narrow it (a smaller window, resetting more often). */
static ws_result ws__pmd_agreed(ws_conn *c, const char *ext, const char **why) {
    ws_span rest = ws__span(ext, strlen(ext)), name, params, got = ws__span(NULL, 0);
    ws__pmd_params a;
    int n = 0;
    while (ws__ext_next(&rest, &name, &params)) {
        if (!ws__span_ieq(name, "permessage-deflate", 18) || n++) {
            *why = WS__T("extensions: only one permessage-deflate can be agreed"); return WS_ERR_ARG;
        }
        got = params;
    }
    if (!n) return WS_OK;
    while (got.len && (got.ptr[got.len - 1] == ' ' || got.ptr[got.len - 1] == '\t')) got.len--;
    if (!ws__pmd_parse(got, 1, &a)) {
        *why = WS__T("extensions: invalid permessage-deflate parameters"); return WS_ERR_ARG;
    }
    return ws__pmd_take(c, ws__cl(c) ? &ws__cl(c)->deflate : &c->ctx->cfg.deflate, &a, got);
}

WS_API const char *ws_conn_extensions(const ws_conn *c) { return c && c->pmd ? c->pmd->ext : ""; }

/* ---- receiving (7.2.2) ---- */
static unsigned ws__pmd_rsv(const ws_conn *c) { return c->pmd ? WS_RSV1 : 0; }
static int ws__pmd_rx(const ws_conn *c) { return c->pmd && c->pmd->rx; }
static size_t ws__pmd_slack(const ws_conn *c, size_t limit) {
    /* incompressible data grows by 5 bytes per stored block, and a zlib compressor with a small
     * memLevel stores blocks of only a few hundred bytes: allow 1/16 more on the wire. The
     * inflated size is what max_message bounds, checked while inflating. */
    size_t s = ws__pmd_rx(c) && limit < (size_t)-1 / 2 ? limit / 16 + 64 : 0;
    return WS__MIN(s, (size_t)-1 - ws__max_frame(c->ctx));   /* max_frame + slack fits a size_t */
}

/* RFC 7692 6.1: RSV1 only on the first frame of a message, never on a control frame. */
static ws_result ws__pmd_frame_check(ws_conn *c, const char **why) {
    const ws__rxf *f = &c->fr;
    ws__pmd *z = c->pmd;
    if (!z) return WS_OK;   /* no extension: ws_frame_parse refused RSV bits */
    if (!(f->rsv & WS_RSV1)) {
        if (f->opcode == WS_OP_TEXT || f->opcode == WS_OP_BINARY) z->rx = 0;
        return WS_OK;
    }
    if (f->opcode & 8) { *why = WS__T("RSV1 set on a control frame"); return WS_ERR_PROTOCOL; }
    if (f->opcode == WS_OP_CONT) { *why = WS__T("RSV1 set on a continuation frame"); return WS_ERR_PROTOCOL; }
    if (c->msg_op) return WS_OK;   /* ws__frame_check refuses the new message */
    z->rx = 1;
    z->rx_out = 0;
    z->i_shared = (uint8_t)(f->fin && z->i_reset);   /* one frame, no takeover: borrow */
    return WS_OK;
}

static z_stream *ws__pmd_inflater(ws_conn *c) {
    ws__pmd *z = c->pmd;
    if (z->i_shared) {
        ws__pmd_shared *sh = ws__pmd_shared_get(c->ctx);
        if (!sh) return NULL;
        if (!sh->i_on) {
            ws__zinit(c->ctx, &sh->i);
            if (inflateInit2(&sh->i, -15) != Z_OK) return NULL;
            sh->i_on = 1;
        } else (void)inflateReset(&sh->i);   /* the last borrower may have failed mid-stream */
        return &sh->i;
    }
    if (!z->i_on) {
        ws__zinit(c->ctx, &z->i);
        if (inflateInit2(&z->i, -(int)z->i_bits) != Z_OK) return NULL;
        z->i_on = 1;
    }
    return &z->i;
}

/* Hands the inflated bytes to the user: the whole message at fin, or (fragment mode) a
 * piece. 0 = the connection failed or stopped reading meanwhile. */
static int ws__pmd_deliver(ws_conn *c, int op, int fin) {
    const uint8_t *p = c->msg ? WS__BDATA(c->msg) + c->msg->off : (const uint8_t *)"";
    if (fin && op == WS_OP_TEXT && !ws_utf8_complete(&c->utf8)) {
        ws__fail(c, WS_ERR_UTF8, WS__T("text message ends inside a UTF-8 sequence"));
        return 0;
    }
    ws__deliver(c, op, p, ws__buf_used(c->msg), fin);
    if (c->msg) c->msg->off = c->msg->len = 0;
    return !(c->flags & (WS__F_FAILED | WS__F_DEAD | WS__F_BROKEN));
}

/* A complete frame of a compressed message: inflate it (and at fin the 00 00 ff ff tail,
 * 7.2.2) into c->msg, checking UTF-8 and max_message on every chunk as it comes out, so a
 * "zip bomb" costs at most max_message bytes of output before it is refused (1009). */
static void ws__pmd_frame(ws_conn *c, int op, const uint8_t *p, size_t n, int fin) {
    static const uint8_t tail[4] = { 0, 0, 0xff, 0xff };
    ws_ctx *ctx = c->ctx;
    ws__pmd *z = c->pmd;
    size_t lim = ws__max_message(ctx), piece = ws__max_frame(ctx);
    int frags = (c->flags & WS__F_FRAGS) != 0, pass;
    z_stream *s = ws__pmd_inflater(c);
    if (!s) { ws__fail_nomem(c); return; }   /* max_memory (1013) or malloc (1011) */
    c->msg_op = (uint8_t)(fin ? 0 : op);
    c->msg_len = fin ? 0 : c->msg_len + n;   /* wire bytes: ws__frame_check bounds them */
    for (pass = 0; pass < 1 + fin; pass++) {
        const uint8_t *in = pass ? tail : p;
        size_t left = pass ? 4 : n;
        for (;;) {
            size_t room, got, want;
            uInt feed = (uInt)WS__MIN(left, (size_t)1 << 24);
            size_t rem = lim - (size_t)z->rx_out;   /* one byte more shows the limit is passed */
            int zr;
            rem = WS__MIN(rem, (size_t)1 << 30) + 1;
            want = WS__MIN(WS__MAX((size_t)feed * 4, (size_t)4096), rem);
            if (!ws__buf_reserve(ctx, &c->msg, want)) { ws__fail_nomem(c); return; }   /* 1013 or 1011 */
            room = WS__MIN(c->msg->cap - c->msg->len, rem);
            if (frags) room = WS__MIN(room, piece - ws__buf_used(c->msg));   /* pieces <= max_frame */
            s->next_in = in;
            s->avail_in = feed;
            s->next_out = WS__BDATA(c->msg) + c->msg->len;
            s->avail_out = (uInt)room;
            zr = inflate(s, Z_SYNC_FLUSH);
            got = room - s->avail_out;
            in += feed - s->avail_in;
            left -= feed - s->avail_in;
            if (zr == Z_MEM_ERROR) { ws__fail_nomem(c); return; }   /* its window, made on first use */
            if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
                ws__fail(c, WS_ERR_PROTOCOL, WS__T("invalid compressed data (permessage-deflate)"));
                return;
            }
            if (op == WS_OP_TEXT && got &&
                ws_utf8_feed(&c->utf8, WS__BDATA(c->msg) + c->msg->len, got, NULL) != WS_OK) {
                ws__fail(c, WS_ERR_UTF8, WS__T("invalid UTF-8 in a text message"));
                return;
            }
            c->msg->len += got;
            z->rx_out += got;
            if (z->rx_out > lim) { ws__fail(c, WS_ERR_TOO_BIG, WS__T("inflated message larger than max_message")); return; }
            if (zr == Z_STREAM_END) {   /* BFINAL (7.2.1, 7.2.3.4): what follows is a new stream */
                (void)inflateResetKeep(s);   /* same window (zlib >= 1.2.6 and zlib-ng export it) */
                z->i_end = 1;
            }
            if (frags && ws__buf_used(c->msg) >= piece && !ws__pmd_deliver(c, op, 0)) return;
            if (!left && s->avail_out) break;   /* all in, all out */
            if (zr == Z_BUF_ERROR && s->avail_out) break;   /* no progress possible */
        }
    }
    if (fin || (frags && ws__buf_used(c->msg))) {
        if (!ws__pmd_deliver(c, op, fin)) return;
    }
    if (!fin) return;
    ws__buf_put(ctx, &c->msg);
    if (z->i_reset || z->i_end) {   /* no context takeover: hold no inflater between messages */
        if (z->i_shared) (void)inflateReset(s);
        else if (z->i_reset) { inflateEnd(s); z->i_on = 0; }
        else (void)inflateResetKeep(s);   /* a stream ended: the next starts afresh, the window stays */
    }
    z->rx = z->i_shared = z->i_end = 0;
    z->rx_out = 0;
}

/* ---- sending (7.2.1) ---- */
/* The ctx's compressor (fresh or reset: no context), made for this window and memLevel. */
static z_stream *ws__pmd_shared_deflater(ws_ctx *ctx, int bits, int mem) {
    ws__pmd_shared *sh = ws__pmd_shared_get(ctx);
    if (!sh) return NULL;
    if (sh->d_on && (sh->d_bits != bits || sh->d_mem != mem)) {
        deflateEnd(&sh->d);
        sh->d_on = 0;
    }
    if (!sh->d_on) {
        ws__zinit(ctx, &sh->d);
        if (deflateInit2(&sh->d, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -bits, mem,
                         Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
        sh->d_on = 1;
        sh->d_bits = bits;
        sh->d_mem = mem;
    }
    return &sh->d;
}

static z_stream *ws__pmd_deflater(ws_conn *c) {
    ws__pmd *z = c->pmd;
    if (z->d_reset)   /* no context takeover: the ctx's compressor, reset after each use */
        return ws__pmd_shared_deflater(c->ctx, z->d_bits, z->mem_level);
    if (z->d_on && z->d_stale) (void)deflateReset(&z->d);   /* (ws__pmd_bcast) */
    z->d_stale = 0;
    if (!z->d_on) {
        ws__zinit(c->ctx, &z->d);
        if (deflateInit2(&z->d, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -(int)z->d_bits, z->mem_level,
                         Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
        z->d_on = 1;
    }
    return &z->d;
}

/* The queue limit, checked with the message's own length before it is compressed: larger than
 * the queue WS_ERR_TOO_BIG, no room now WS_ERR_FULL and DRAINED later (as uncompressed, ws__send). */
static ws_result ws__pmd_room(ws_conn *c, size_t len) {
    size_t max = ws__max_queue(c->ctx);
    if (len > max) return WS_ERR_TOO_BIG;   /* would never fit */
    if (ws__buf_used(c->tx) + len > max) {
        if (ws__buf_used(c->tx) && ws__has_io(c)) ws__flush(c);
        if (ws__buf_used(c->tx) + len > max) {
            c->flags |= WS__F_DRAIN_WAIT;   /* DRAINED: try again then (as ws__send) */
            return WS_ERR_FULL;
        }
    }
    return WS_OK;
}

/* No buffer for the compressed bytes: max_memory's (WS_ERR_FULL, DRAINED once it has room
 * again, as an uncompressed send) or malloc's (WS_ERR_NOMEM). */
static ws_result ws__pmd_nobuf(ws_conn *c, int full) {
    if (!full) return WS_ERR_NOMEM;
    c->flags |= WS__F_DRAIN_WAIT;
    if (!ws__buf_used(c->tx)) c->ctx->mem_wait |= 1;   /* the budget: no queue to drain */
    return WS_ERR_FULL;
}

/* len > 0 bytes through s into a pooled buffer *pb, the 00 00 ff ff tail of the sync flush
 * taken off (7.2.1). 1 = done; 0 = no buffer (s untouched); -1 = deflate failed (no buffer). */
static int ws__pmd_deflate(ws_ctx *ctx, z_stream *s, const void *data, size_t len, ws__buf **pb) {
    ws__buf *b = NULL;
    size_t cap = (size_t)deflateBound(s, (uLong)len) + 16;
    if (!ws__buf_reserve(ctx, &b, cap)) return 0;
    cap = WS__MIN(b->cap, (size_t)1 << 31);
    s->next_in = (const Bytef *)data;
    s->avail_in = (uInt)len;
    s->next_out = WS__BDATA(b);
    s->avail_out = (uInt)cap;
    ctx->ndeflate++;
    if (deflate(s, Z_SYNC_FLUSH) != Z_OK || s->avail_in || !s->avail_out) {
        ws__buf_put(ctx, &b);
        return -1;
    }
    b->len = cap - s->avail_out;
    if (b->len >= 4 && memcmp(WS__BDATA(b) + b->len - 4, "\0\0\xff\xff", 4) == 0) b->len -= 4;
    *pb = b;
    return 1;
}

/* Sends compressed bytes p[0..n) as a message (RSV1) that ws__pmd_room let in: one that
 * deflate made longer is queued even a little past max_send_queue. max_memory refuses it
 * (WS_ERR_FULL, DRAINED later, as uncompressed) unless keep: c's own compressor with context
 * takeover has seen it, so it must go (ws__pmd_send checked the budget before). */
static ws_result ws__pmd_put(ws_conn *c, int op, const uint8_t *p, size_t n, int keep) {
    ws_result rc = ws__send(c, 1, WS_RSV1, op, p, n);
    if (rc == WS_ERR_FULL && (keep || !c->ctx->mem_full)) {   /* deflate's overhead took it past the limit: it must still go */
        rc = ws__queue_frame(c, 1, WS_RSV1, op, p, n, 1);
        ws__pend(c);
        ws__engine_run(c->ctx);
    }
    return rc;
}

/* A whole message, compressed into a pooled scratch buffer and queued with RSV1. The queue
 * limit is checked first (ws__pmd_room): once the compressor has seen a message, the peer must
 * see it too. */
static ws_result ws__pmd_send(ws_conn *c, int op, const void *data, size_t len) {
    static const uint8_t empty[1] = { 0 };   /* 7.2.3.6: an empty message, compressed */
    ws_ctx *ctx = c->ctx;
    ws__pmd *z = c->pmd;
    ws__buf *b = NULL;
    z_stream *s;
    ws_result rc;
    int k;
    if (!z->d_bits || len < z->threshold || len > ((size_t)1 << 30) || (!data && len) ||
        c->state != WS__OPEN || (c->flags & (WS__F_SENT_CLOSE | WS__F_BROKEN | WS__F_DEAD | WS__F_FAILED)))
        return ws__send(c, 1, 0, op, data, len);   /* uncompressed, or the error it gives */
    if ((rc = ws__pmd_room(c, len)) != WS_OK) return rc;
    if (!z->d_reset && ws__buf_used(c->tx) && !ws__mem_room(ctx, 0, len, 0)) {   /* it will be queued: */
        c->flags |= WS__F_DRAIN_WAIT;   /* max_memory, checked before the compressor sees it (ws__pmd_put) */
        return WS_ERR_FULL;
    }
    if (!len) return ws__send(c, 1, WS_RSV1, op, empty, 1);
    s = ws__pmd_deflater(c);
    if (!s) return ctx->mem_full ? ws__send(c, 1, 0, op, data, len) : WS_ERR_NOMEM;   /* no budget for a
                                                                  * compressor: uncompressed (7692) */
    k = ws__pmd_deflate(ctx, s, data, len, &b);
    if (!k) return ws__pmd_nobuf(c, ctx->mem_full);
    if (k < 0) {
        if (!z->d_reset) { ws__fail(c, WS_ERR_NOMEM, WS__T("deflate failed")); return WS_ERR_CLOSED; }
        (void)deflateReset(s);
        return WS_ERR_NOMEM;
    }
    if (z->d_reset) (void)deflateReset(s);
    rc = ws__pmd_put(c, op, WS__BDATA(b), b->len, !z->d_reset);
    ws__buf_put(ctx, &b);
    if (rc != WS_OK && !z->d_reset)   /* the peer would inflate the next one without this one */
        ws__fail(c, rc, WS__T("a compressed message could not be queued"));
    return rc;
}

#ifndef WS_NO_NET
/* ---- broadcasting: one compression for all recipients (ws_broadcast) ----
 * A fresh compressor's output refers to nothing before it, so any peer's inflater takes it,
 * whatever that holds (context takeover or not), if its window is not above what the peer
 * accepted (server_max_window_bits, 7.1.2.1). So a broadcast compresses the message once per
 * window (and memLevel) among its recipients, with the ctx's shared compressor, and sends those
 * bytes to each: written straight from the one buffer where the queue is empty (ws__send),
 * copied into the queue where it is not. A peer with context takeover then holds the message
 * in its window while our compressor for it never saw it: its next back-references would point
 * at other bytes, so that compressor is reset before its next message (d_stale). Not once at
 * the smallest window among them: one peer's window 9 would cost the window-15 peers 20% more
 * bytes for a 4 KiB JSON text (50% for 64 KiB), while per window is at most 7 compressions,
 * however many recipients. */
#define WS__PMD_BC 8   /* windows 9..15 (one memLevel per ctx): never more than 7 */
typedef struct ws__pmd_bc {
    ws__buf *b[WS__PMD_BC];      /* the encodings; NULL = could not be made */
    uint8_t  bits[WS__PMD_BC], mem[WS__PMD_BC], full[WS__PMD_BC];   /* full: max_memory's NULL */
    int      n;
} ws__pmd_bc;

static ws_result ws__pmd_bcast(ws_conn *c, int opcode, const void *data, size_t len, ws__pmd_bc *bc) {
    ws_ctx *ctx = c->ctx;
    ws__pmd *z = c->pmd;
    ws_result rc;
    int i;
    if (!z || (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY) || !z->d_bits || !len || !data ||
        len < z->threshold || len > ((size_t)1 << 30) ||
        c->state != WS__OPEN || (c->flags & (WS__F_SENT_CLOSE | WS__F_BROKEN | WS__F_DEAD | WS__F_FAILED)))
        return ws__send_msg(c, opcode, data, len);   /* not compressed here: as ws_conn_send */
    for (i = 0; i < bc->n && (bc->bits[i] != z->d_bits || bc->mem[i] != z->mem_level); i++) {}
    if (i == WS__PMD_BC) return ws__pmd_send(c, opcode, data, len);
    if ((rc = ws__pmd_room(c, len)) != WS_OK) return rc;
    if (i == bc->n) {   /* the first recipient with this window: compress */
        z_stream *s = ws__pmd_shared_deflater(ctx, z->d_bits, z->mem_level);
        bc->b[i] = NULL;
        bc->bits[i] = z->d_bits;
        bc->mem[i] = (uint8_t)z->mem_level;
        bc->n++;
        if (s) {
            bc->full[i] = (uint8_t)(ws__pmd_deflate(ctx, s, data, len, &bc->b[i]) == 0 && ctx->mem_full);
            (void)deflateReset(s);
        } else bc->full[i] = (uint8_t)(ctx->mem_full ? 2 : 0);   /* 2: no budget for a compressor */
    }
    if (!bc->b[i] && bc->full[i] == 2) return ws__send_msg(c, opcode | WS_SEND_UNCOMPRESSED, data, len);
    if (!bc->b[i]) return ws__pmd_nobuf(c, bc->full[i]);
    rc = ws__pmd_put(c, opcode, WS__BDATA(bc->b[i]), bc->b[i]->len, 0);
    if (rc == WS_OK && !z->d_reset) z->d_stale = 1;
    return rc;
}
static void ws__pmd_bc_init(ws__pmd_bc *bc) { memset(bc, 0, sizeof *bc); }
static void ws__pmd_bc_end(ws_ctx *ctx, ws__pmd_bc *bc) {
    int i;
    for (i = 0; i < bc->n; i++) ws__buf_put(ctx, &bc->b[i]);
}
#endif /* WS_NO_NET */

#else   /* !WS_USE_ZLIB: no offer is made or accepted, RSV1 stays a protocol error */
static unsigned  ws__pmd_rsv(const ws_conn *c) { (void)c; return 0; }
static int       ws__pmd_rx(const ws_conn *c) { (void)c; return 0; }
static ws_result ws__pmd_frame_check(ws_conn *c, const char **why) { (void)c; (void)why; return WS_OK; }
static size_t    ws__pmd_slack(const ws_conn *c, size_t limit) { (void)c; (void)limit; return 0; }
static void      ws__pmd_frame(ws_conn *c, int op, const uint8_t *p, size_t n, int fin) {
    (void)c; (void)op; (void)p; (void)n; (void)fin;
}
#ifndef WS_NO_CLIENT
static size_t    ws__pmd_offer(ws_conn *c, char *out, size_t cap) { (void)c; (void)out; (void)cap; return 0; }
static ws_result ws__pmd_answer(ws_conn *c, ws_http_response *res, const char **why) {
    (void)c; (void)res; (void)why; return WS_OK;
}
#endif
#ifndef WS_NO_SERVER
static size_t    ws__pmd_accept(ws_conn *c, const ws_http_request *req, char *out, size_t cap) {
    (void)c; (void)req; (void)out; (void)cap; return 0;
}
#endif
static ws_result ws__pmd_agreed(ws_conn *c, const char *ext, const char **why) {
    (void)c;
    while (*ext == ' ' || *ext == '\t' || *ext == ',') ext++;
    if (!*ext) return WS_OK;
    *why = WS__T("extensions: built without WS_USE_ZLIB");
    return WS_ERR_ARG;
}
static void      ws__pmd_free(ws_conn *c) { (void)c; }
static void      ws__pmd_ctx_free(ws_ctx *ctx) { (void)ctx; }
WS_API const char *ws_conn_extensions(const ws_conn *c) { (void)c; return ""; }
typedef struct ws__pmd_bc { int n; } ws__pmd_bc;   /* ws_broadcast: one ws__send_msg each */
#define ws__pmd_bc_init(bc) ((void)(bc))
#define ws__pmd_bcast(c, opcode, data, len, bc) ws__send_msg(c, opcode, data, len)
#define ws__pmd_bc_end(ctx, bc) ((void)(bc))
#endif /* WS_USE_ZLIB */

#ifndef WS_NO_NET
/* ==== >>transport ==== how a connection's bytes move: plain TCP here, TLS in >>tls ==== */

/* ws.h's own plain TCP is a ws_io like any other (ws_io_tcp): its io is the connected,
 * non-blocking socket itself, (void *)(intptr_t)fd. */
#define WS__TCP_SOCK(io) ((ws__sock)(intptr_t)(io))
static ws_result ws__tcp_read(void *io, uint8_t *buf, size_t cap, size_t *got) {
    for (;;) {
        long n = ws__sock_recv(WS__TCP_SOCK(io), buf, cap);
        int e;
        if (n > 0) { *got = (size_t)n; return WS_OK; }
        if (n == 0) return WS_ERR_CLOSED;
        e = ws__sock_errno();
        if (ws__err_intr(e)) continue;
        return ws__err_again(e) ? WS_AGAIN : WS_ERR_IO;
    }
}
/* last: a server's last bytes (ws__close_due) go with MSG_MORE where there is one, and then
 * ws__close_now's close() sends them with the FIN in one segment, a packet fewer per connection */
static ws_result ws__tcp_write_f(void *io, const uint8_t *buf, size_t len, size_t *put, int last) {
    (void)last;   /* without MSG_MORE: one send for all */
    for (;;) {
#ifdef WS__SEND_LAST
        long n = last ? ws__sock_send_last(WS__TCP_SOCK(io), buf, len) : ws__sock_send(WS__TCP_SOCK(io), buf, len);
#else
        long n = ws__sock_send(WS__TCP_SOCK(io), buf, len);
#endif
        int e;
        if (n >= 0) { *put = (size_t)n; return WS_OK; }
        e = ws__sock_errno();
        if (ws__err_intr(e)) continue;
        return ws__err_again(e) ? WS_AGAIN : WS_ERR_IO;
    }
}
static ws_result ws__tcp_write(void *io, const uint8_t *buf, size_t len, size_t *put) {
    return ws__tcp_write_f(io, buf, len, put, 0);
}
#ifdef WS__SEND_LAST
static ws_result ws__tcp_write_last(void *io, const uint8_t *buf, size_t len, size_t *put) {
    return ws__tcp_write_f(io, buf, len, put, 1);
}
#endif
static void ws__tcp_shutdown(void *io) { ws__sock_shutdown_wr(WS__TCP_SOCK(io)); }
static void ws__tcp_close(void *io) {
    if (WS__TCP_SOCK(io) != WS__INVALID_SOCK) ws__sock_close(WS__TCP_SOCK(io));
}
static const ws_io ws__tcp_io = {
    ws__tcp_write, ws__tcp_read, ws__tcp_shutdown, ws__tcp_close, NULL, NULL, NULL, NULL
};
WS_API const ws_io *ws_io_tcp(void) { return &ws__tcp_io; }
static int ws__is_tcp(const ws_conn *c) { return c->io == &ws__tcp_io; }
/* c's transport becomes plain TCP over s (connected, or connecting: a client's attempt) */
static void ws__tcp_attach(ws_conn *c, ws__sock s) {
    c->fd = s;
    c->io = &ws__tcp_io;
    c->io_arg = (void *)(intptr_t)s;
}

/* A server's send on plain TCP with nothing queued: the frame header and the caller's payload
 * go out in one sendmsg/WSASend, unmasked and not copied; only what the socket does not take
 * is queued. Small sends inside a callback are left to the batching in ws__send (one send()
 * per batch); from WS_BUF_MIN up they go at once, except echoes: a send from inside the
 * message being delivered (it lies in c->rx, which stays put until ws__frames is done) waits
 * in ctx->out and the replies to one read go out together (ws__out_flush: one sendmsg for up
 * to WS__OUT_MAX frames, as raw TCP would send what it read). Any other output of c writes
 * them first, so the order holds. Clients mask, so they copy (the queue).
 * 1 = done (a failed write marks c BROKEN, as ws__flush does), 0 = take the queue path. */
#ifdef WS__LWIP   /* lwIP: the queue (one send per flush), as before */
static int ws__send_direct(ws_conn *c, int fin, int rsv, int op, const void *data, size_t len) {
    (void)c; (void)fin; (void)rsv; (void)op; (void)data; (void)len;
    return 0;
}
static void ws__out_flush(ws_ctx *ctx, const ws_conn *c) { (void)ctx; (void)c; }
#else
/* Writes frames f[0..nf) with one sendmsg/WSASend; 0 = nothing went (EAGAIN: queue them). */
static int ws__send_frames(ws_conn *c, const ws__outf *f, size_t nf, int queue_all) {
    ws__iov v[2 * WS__OUT_MAX];
    size_t i, put = 0, total = 0, nv = 2 * nf;
    for (i = 0; i < nf; i++) {
        WS__IOV(v[2 * i], f[i].h, f[i].hl);
        WS__IOV(v[2 * i + 1], f[i].p, f[i].n);
        /* WSASend takes at most 1 GiB of a buffer (WS__IOV): the frames after a larger payload
         * are queued, or they would go out inside its cut */
        if (f[i].n > 0x40000000u && nv == 2 * nf) nv = 2 * i + 2;
        total += f[i].hl + f[i].n;
    }
    for (;;) {
        int e;
        long n = ws__sock_sendv(c->fd, v, nv);
        if (n >= 0) { put = (size_t)n; break; }
        e = ws__sock_errno();
        if (ws__err_intr(e)) continue;
        if (ws__err_again(e)) { if (!queue_all) return 0; break; }   /* nothing went */
        if (c->err == WS_OK) { c->err = WS_ERR_IO; ws__set_msg(c, WS__T("send failed: connection lost")); }
        c->flags |= WS__F_BROKEN;
        ws__pend(c);
        return 1;
    }
    if (put < total) {   /* the socket is full: queue the rest, send it on POLLOUT */
        /* accepted already (WS_OK was returned): counted, not refused; only malloc can fail,
         * and then half a frame may be out: fatal */
        if (!ws__buf_reserve_f(c->ctx, &c->tx, total - put, WS__B_FORCE, 0)) {
            if (c->err == WS_OK) { c->err = WS_ERR_NOMEM; ws__set_msg(c, WS__T("out of memory")); }
            c->flags |= WS__F_BROKEN;
            ws__pend(c);
            return 1;
        }
        for (i = 0; i < nf; i++) {   /* each header and payload: skip what went, copy the rest */
            int k;
            for (k = 0; k < 2; k++) {
                const uint8_t *p = k ? f[i].p : f[i].h;
                size_t n = k ? f[i].n : f[i].hl, skip = WS__MIN(put, n);
                put -= skip;
                if (n > skip) memcpy(WS__BDATA(c->tx) + c->tx->len, p + skip, n - skip);
                c->tx->len += n - skip;
            }
        }
        c->flags |= WS__F_DRAIN_WAIT;
        ws__pend(c);
        return 1;
    }
    ws__tx_done(c);
    return 1;
}
static void ws__out_flush(ws_ctx *ctx, const ws_conn *c) {
    ws_conn *oc = ctx->outc;
    size_t n = ctx->outn;
    if (!n || (c && c != oc)) return;
    ctx->outn = 0;
    if (oc->fd != WS__INVALID_SOCK && !(oc->flags & (WS__F_DEAD | WS__F_BROKEN)))
        (void)ws__send_frames(oc, ctx->out, n, 1);
}
static int ws__send_direct(ws_conn *c, int fin, int rsv, int op, const void *data, size_t len) {
    ws_ctx *ctx = c->ctx;
    ws__outf o;
    uintptr_t a = (uintptr_t)data, b;
    if (!ws__is_tcp(c) || c->fd == WS__INVALID_SOCK || !(c->flags & WS__F_SERVER) ||
        ws__buf_used(c->tx) || (ctx->in_cb && len < WS_BUF_MIN) || len > ws__max_queue(ctx) ||
        rsv < 0 || rsv > 7 || op < 0 || op > 15)
        return 0;
    o.hl = (uint8_t)ws__frame_head(o.h, WS__B0(fin, rsv, op), NULL, len, 0);
    o.p = (const uint8_t *)data; o.n = len;
    b = c->rx ? (uintptr_t)WS__BDATA(c->rx) : 0;
    if (ctx->outc == c && ctx->in_cb && b && a >= b && a - b <= c->rx->len && len <= c->rx->len - (a - b)) {
        if (ctx->outn == WS__OUT_MAX) ws__out_flush(ctx, c);   /* an echo: batched */
        if (!ctx->outn && (ws__buf_used(c->tx) || (c->flags & WS__F_BROKEN)))
            return (c->flags & WS__F_BROKEN) != 0;
        ctx->out[ctx->outn++] = o;
        return 1;
    }
    ws__out_flush(ctx, c);   /* the echoes before this */
    if (c->flags & WS__F_BROKEN) return 1;
    if (ws__buf_used(c->tx)) return 0;
    return ws__send_frames(c, &o, 1, 0);
}
#endif

/* ==== >>tls ==== wss:// through mbedTLS (WS_USE_MBEDTLS): a second ws_io ==== */
/* One ws__tls_cfg (mbedtls_ssl_config, certificates, key, and before 4.x a CTR-DRBG seeded from
 * the platform's entropy) per listener or client connection, shared by reference count; each
 * connection adds only its mbedtls_ssl_context (mbedTLS itself allocates its record buffers,
 * ~2 x 16 KiB, with its own calloc). The BIO is the non-blocking socket: WANT_READ/WANT_WRITE
 * become WS_AGAIN plus poll interest (want), and plaintext mbedTLS already holds is reported by
 * pending(). Works with mbedTLS 2.28, 3.x (3.6 LTS) and 4.x; the differences sit behind
 * MBEDTLS_VERSION_NUMBER here: 3.x wants an RNG for key parsing and psa_crypto_init() for
 * TLS 1.3; 4.x is PSA only (psa_crypto_init() is its RNG: no entropy, CTR-DRBG or conf_rng). */
#if defined(WS_USE_MBEDTLS)
#include <mbedtls/version.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/pk.h>
#include <mbedtls/net_sockets.h>   /* MBEDTLS_ERR_NET_* codes only */
#include <mbedtls/error.h>
#if MBEDTLS_VERSION_NUMBER < 0x04000000
#  include <mbedtls/entropy.h>
#  include <mbedtls/ctr_drbg.h>
#  define WS__TLS_DRBG 1           /* our own CTR-DRBG: ws__tls_cfg.entropy and .drbg */
#endif
#if MBEDTLS_VERSION_NUMBER >= 0x04000000 || \
    (MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C))
#  include <psa/crypto.h>          /* 3.x: TLS 1.3 (and USE_PSA) need psa_crypto_init(); 4.x: all */
#  define WS__TLS_PSA 1
#endif
/* 3.x's key parsing and pair check take an RNG (for blinding); 2.28's and 4.x's do not */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && MBEDTLS_VERSION_NUMBER < 0x04000000
#  define WS__TLS_RNG(g) , mbedtls_ctr_drbg_random, &(g)->drbg
#else
#  define WS__TLS_RNG(g)
#endif
#if defined(_WIN32)
#  include <wincrypt.h>            /* the system ROOT store, for clients given no CA */
#  if defined(_MSC_VER)
#    pragma comment(lib, "crypt32")
#  endif
#endif

struct ws__tls_cfg {
    ws_ctx *ctx;
    int refs, server, verify, has_ca, has_cert;
    int sys_ca;                  /* client: ca holds the system's CAs (parsed once per ctx...) */
    struct ws__tls_cfg *ca_from; /* ... and shared: another client's, whose ca conf points to */
    char *server_name;           /* client override, or NULL */
    char *alpn_buf;              /* the ALPN names, NUL-separated; alpn[] points into it */
    const char *alpn[9];
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca, cert;
    mbedtls_pk_context key;
#if defined(WS__TLS_DRBG)
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
#endif
};

typedef struct ws__tls_conn {   /* the io of the mbedTLS ws_io (ws__tls_io) */
    mbedtls_ssl_context ssl;
    ws__tls_cfg *cfg;
    ws_conn *c;                  /* its connection: the socket (c->fd), errors, the role */
    size_t   wlen;               /* a write mbedTLS holds after WANT_WRITE: retry with this length */
    ws_result rerr;              /* read error seen after some bytes were returned */
    uint8_t  done;               /* handshake over */
    uint8_t  want;               /* WS_POLLIN / WS_POLLOUT the handshake waits for */
    uint8_t  more;               /* the last read stopped with its buffer full */
    uint8_t  shut;               /* close_notify is still partly unsent */
    uint8_t  got1, first;        /* the first byte the peer sent: is it TLS at all? */
    uint8_t  rx;                 /* application data has come since the handshake */
    uint8_t  oflush;             /* a read left mbedTLS's own record (an alert) half sent */
} ws__tls_conn;

static void ws__tls_strerror(int r, char *buf, size_t cap) {
#if defined(MBEDTLS_ERROR_C)
    mbedtls_strerror(r, buf, cap);
#else
    ws__out o;
    o.p = buf; o.cap = cap; o.len = 0; o.err = 0;
    ws__puts(&o, "mbedTLS error -0x");
    {   static const char hex[] = "0123456789ABCDEF";
        unsigned v = (unsigned)-r;
        char h[4];
        h[0] = hex[(v >> 12) & 15]; h[1] = hex[(v >> 8) & 15]; h[2] = hex[(v >> 4) & 15]; h[3] = hex[v & 15];
        ws__put(&o, h, 4); }
    (void)ws__out_done(&o, NULL);
#endif
}

/* Records a TLS failure: c->err and an owned copy of the text (WS_EV_ERROR's msg), and the log
 * hook with the peer's address. */
static void ws__tls_report(ws_conn *c, ws_result rc, int level, const char *text) {
    ws_ctx *ctx = c->ctx;
    char line[640], addr[64];
    ws__out o;
    if (level == 0 && c->err == WS_OK) {
        if (ws__x(c)) {
            ws__free(ctx, c->x->msg_own);
            c->x->msg_own = ws__strdup(ctx, text, strlen(text));
        }
        c->err = rc;
        ws__set_msg(c, c->x && c->x->msg_own ? c->x->msg_own : "TLS error");
    }
    if (ws_conn_remote(c, addr, sizeof addr, NULL) != WS_OK) strcpy(addr, "?");
    o.p = line; o.cap = sizeof line; o.len = 0; o.err = 0;
    ws__puts(&o, (c->flags & WS__F_SERVER) ? "ws.h: TLS client " : "ws.h: TLS server ");
    ws__puts(&o, addr);
    ws__puts(&o, ": ");
    ws__put(&o, text, WS__MIN(strlen(text), sizeof line - 128));
    if (ws__out_done(&o, NULL) == WS_OK) ws__log(ctx, level, line);
}

/* BIO callbacks: ctx is the ws__tls_conn; below it runs plain TCP over its conn's socket. */
static int ws__tls_send(void *p, const unsigned char *buf, size_t len) {
    ws__tls_conn *t = (ws__tls_conn *)p;
    size_t put = 0;
    ws_result rc = ws__tcp_write((void *)(intptr_t)t->c->fd, buf, WS__MIN(len, (size_t)0x40000000), &put);
    if (rc == WS_AGAIN) return MBEDTLS_ERR_SSL_WANT_WRITE;
    if (rc != WS_OK) return MBEDTLS_ERR_NET_SEND_FAILED;
    return (int)put;
}
static int ws__tls_recv(void *p, unsigned char *buf, size_t len) {
    ws__tls_conn *t = (ws__tls_conn *)p;
    size_t got = 0;
    ws_result rc = ws__tcp_read((void *)(intptr_t)t->c->fd, buf, WS__MIN(len, (size_t)0x40000000), &got);
    if (rc == WS_AGAIN) return MBEDTLS_ERR_SSL_WANT_READ;
    if (rc == WS_ERR_CLOSED) return 0;   /* EOF */
    if (rc != WS_OK) return MBEDTLS_ERR_NET_RECV_FAILED;
    if (!t->got1) { t->got1 = 1; t->first = buf[0]; }
    return (int)got;
}

static void ws__tls_cfg_release(ws_ctx *ctx, ws__tls_cfg *g) {
    if (!g || --g->refs > 0) return;
    mbedtls_ssl_config_free(&g->conf);
    ws__tls_cfg_release(ctx, g->ca_from);   /* (after the conf that pointed to its CAs) */
    mbedtls_x509_crt_free(&g->ca);
    mbedtls_x509_crt_free(&g->cert);
    mbedtls_pk_free(&g->key);
#if defined(WS__TLS_DRBG)
    mbedtls_ctr_drbg_free(&g->drbg);
    mbedtls_entropy_free(&g->entropy);
#endif
    ws__free(g->ctx, g->server_name);
    ws__free(g->ctx, g->alpn_buf);
    ws__free(g->ctx, g);
}

/* PEM in memory must end in a NUL that mbedTLS counts; DER (starts with 0x30, SEQUENCE) not. */
static const unsigned char *ws__tls_mem(ws_ctx *ctx, const void *mem, size_t len, size_t *n,
                                        unsigned char **copy) {
    const unsigned char *p = (const unsigned char *)mem;
    *copy = NULL;
    if (!len) { *n = strlen((const char *)mem) + 1; return p; }
    *n = len;
    if (p[0] == 0x30 || p[len - 1] == '\0') return p;
    *copy = (unsigned char *)ws__alloc(ctx, len + 1);
    if (!*copy) return NULL;
    memcpy(*copy, p, len);
    (*copy)[len] = '\0';
    *n = len + 1;
    return *copy;
}

static int ws__tls_load_crt(ws_ctx *ctx, mbedtls_x509_crt *crt, const char *file,
                            const void *mem, size_t len) {
    unsigned char *copy;
    const unsigned char *p;
    size_t n;
    int r;
    if (file) {
#if defined(MBEDTLS_FS_IO)
        return mbedtls_x509_crt_parse_file(crt, file);
#else
        return MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE;
#endif
    }
    p = ws__tls_mem(ctx, mem, len, &n, &copy);
    if (!p) return MBEDTLS_ERR_X509_ALLOC_FAILED;
    r = mbedtls_x509_crt_parse(crt, p, n);
    ws__free(ctx, copy);
    return r;
}

static int ws__tls_load_key(ws__tls_cfg *g, const ws_tls_opts *o) {
    const char *pw = o->key_password;
    unsigned char *copy;
    const unsigned char *p;
    size_t n;
    int r;
    if (o->key_file) {
#if !defined(MBEDTLS_FS_IO)
        return MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE;
#else
        return mbedtls_pk_parse_keyfile(&g->key, o->key_file, pw WS__TLS_RNG(g));
#endif
    }
    p = ws__tls_mem(g->ctx, o->key_mem, o->key_len, &n, &copy);
    if (!p) return MBEDTLS_ERR_PK_ALLOC_FAILED;
    r = mbedtls_pk_parse_key(&g->key, p, n, (const unsigned char *)pw, pw ? strlen(pw) : 0
                             WS__TLS_RNG(g));
    if (copy) { memset(copy, 0, n); ws__free(g->ctx, copy); }
    return r;
}

/* "what: mbedTLS's words" into err; returns WS_ERR_TLS. */
static ws_result ws__tls_cfg_err(char *err, size_t cap, const char *what, const char *name, int r) {
    char e[200];
    ws__out o;
    o.p = err; o.cap = cap; o.len = 0; o.err = 0;
    ws__puts(&o, "ws.h: TLS setup: ");
    ws__puts(&o, what);
    if (name) { ws__puts(&o, " "); ws__put(&o, name, WS__MIN(strlen(name), (size_t)120)); }
    if (r) { ws__tls_strerror(r, e, sizeof e); ws__puts(&o, ": "); ws__puts(&o, e); }
#ifdef MBEDTLS_ERR_PK_FILE_IO_ERROR   /* mbedTLS says "PK - Read/write of file failed" */
    if (r == MBEDTLS_ERR_PK_FILE_IO_ERROR) ws__puts(&o, " (no such file, or not readable)");
#endif
    if (ws__out_done(&o, NULL) != WS_OK && cap) err[cap - 1] = '\0';
    return WS_ERR_TLS;
}

/* The system's CA certificates, for clients given no CA: on Windows the ROOT store (the
 * user's, which includes the machine's; certificates mbedTLS cannot parse are skipped), else
 * the first bundle file that parses. 1 = some loaded. */
static int ws__tls_system_ca(mbedtls_x509_crt *ca) {
#if defined(_WIN32)
    HCERTSTORE st = CertOpenSystemStoreA((HCRYPTPROV_LEGACY)0, "ROOT");
    PCCERT_CONTEXT x = NULL;
    int n = 0;
    if (!st) return 0;
    while ((x = CertEnumCertificatesInStore(st, x)) != NULL)   /* frees the previous x */
        if ((x->dwCertEncodingType & X509_ASN_ENCODING) &&
            mbedtls_x509_crt_parse_der(ca, x->pbCertEncoded, x->cbCertEncoded) == 0) n++;
    (void)CertCloseStore(st, 0);
    return n > 0;
#elif defined(MBEDTLS_FS_IO)
    static const char *const paths[] = {
        "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem", "/usr/local/etc/ssl/cert.pem", NULL
    };
    int i;
    for (i = 0; paths[i]; i++)
        if (mbedtls_x509_crt_parse_file(ca, paths[i]) >= 0) return 1;
#else
    (void)ca;
#endif
    return 0;
}

/* The system's CAs that a client of ctx parsed already (200+ certificates, ~0.5 MB and ~15 ms
 * each time): a new client given no CA shares them, NULL when none has them. */
static ws__tls_cfg *ws__tls_sys_shared(ws_ctx *ctx) {
    ws_conn *c;
    for (c = ctx->head; c; c = c->next) {
        ws__tls_cfg *g = ws__cl(c) ? ws__cl(c)->tls : NULL;
        if (g && (g->sys_ca || g->ca_from)) return g->sys_ca ? g : g->ca_from;
    }
    return NULL;
}

WS__UNUSED static ws_result ws__tls_cfg_new(ws_ctx *ctx, const ws_tls_opts *o, int server, ws__tls_cfg **out,
                                 char *err, size_t cap) {
    ws_tls_opts none;
    ws__tls_cfg *g;
    ws_result rc = WS_ERR_TLS;
    int r, mode;
    *out = NULL;
    memset(&none, 0, sizeof none);
    if (!o) o = &none;
    g = (ws__tls_cfg *)ws__alloc(ctx, sizeof *g);
    if (!g) return WS_ERR_NOMEM;
    memset(g, 0, sizeof *g);
    g->ctx = ctx;
    g->refs = 1;
    g->server = server;
    mbedtls_ssl_config_init(&g->conf);
    mbedtls_x509_crt_init(&g->ca);
    mbedtls_x509_crt_init(&g->cert);
    mbedtls_pk_init(&g->key);
#if defined(WS__TLS_DRBG)
    mbedtls_entropy_init(&g->entropy);
    mbedtls_ctr_drbg_init(&g->drbg);
#endif
#if defined(WS__TLS_PSA)   /* once per process is enough; later calls return at once */
    if (psa_crypto_init() != PSA_SUCCESS) { rc = ws__tls_cfg_err(err, cap, "psa_crypto_init failed", NULL, 0); goto fail; }
#endif
#if defined(WS__TLS_DRBG)
    r = mbedtls_ctr_drbg_seed(&g->drbg, mbedtls_entropy_func, &g->entropy, (const unsigned char *)"ws.h", 4);
    if (r) { rc = ws__tls_cfg_err(err, cap, "seeding the random generator failed", NULL, r); goto fail; }
#endif
    r = mbedtls_ssl_config_defaults(&g->conf, server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (r) { rc = ws__tls_cfg_err(err, cap, "mbedtls_ssl_config_defaults failed", NULL, r); goto fail; }
#if defined(WS__TLS_DRBG)
    mbedtls_ssl_conf_rng(&g->conf, mbedtls_ctr_drbg_random, &g->drbg);
#endif
    /* trusted CAs */
    if (o->ca_file || o->ca_mem) {
        r = ws__tls_load_crt(ctx, &g->ca, o->ca_file, o->ca_mem, o->ca_len);
        if (r < 0) { rc = ws__tls_cfg_err(err, cap, "cannot load the CA certificates", o->ca_file, r); goto fail; }
        g->has_ca = 1;
    } else if (!server && (g->ca_from = ws__tls_sys_shared(ctx)) != NULL) {
        g->ca_from->refs++;
        g->has_ca = 1;
    } else if (!server) {
        g->has_ca = g->sys_ca = ws__tls_system_ca(&g->ca);
    }
    if (g->has_ca) mbedtls_ssl_conf_ca_chain(&g->conf, g->ca_from ? &g->ca_from->ca : &g->ca, NULL);
    /* our certificate and key */
    if ((o->cert_file || o->cert_mem) != (o->key_file || o->key_mem)) {
        rc = ws__tls_cfg_err(err, cap, "give both a certificate (cert_file/cert_mem) and its key (key_file/key_mem)", NULL, 0);
        goto fail;
    }
    if (o->cert_file || o->cert_mem) {
        r = ws__tls_load_crt(ctx, &g->cert, o->cert_file, o->cert_mem, o->cert_len);
        if (r < 0) { rc = ws__tls_cfg_err(err, cap, "cannot load the certificate", o->cert_file, r); goto fail; }
        if (r > 0) { rc = ws__tls_cfg_err(err, cap, "some certificates in the chain do not parse:", o->cert_file, 0); goto fail; }
        r = ws__tls_load_key(g, o);
        if (r) { rc = ws__tls_cfg_err(err, cap, "cannot load the private key", o->key_file, r); goto fail; }
        r = mbedtls_pk_check_pair(&g->cert.pk, &g->key WS__TLS_RNG(g));
        if (!r) r = mbedtls_ssl_conf_own_cert(&g->conf, &g->cert, &g->key);
        if (r) { rc = ws__tls_cfg_err(err, cap, "certificate and key do not go together", NULL, r); goto fail; }
        g->has_cert = 1;
    } else if (server) {
        rc = ws__tls_cfg_err(err, cap, "a TLS server needs a certificate and key (cert_file, key_file)", NULL, 0);
        goto fail;
    }
    /* verification */
    g->verify = o->verify ? o->verify : (!server || g->has_ca) ? WS_TLS_VERIFY_REQUIRED : WS_TLS_VERIFY_NONE;
    if (g->verify < WS_TLS_VERIFY_NONE || g->verify > WS_TLS_VERIFY_REQUIRED) {
        rc = ws__tls_cfg_err(err, cap, "invalid verify mode", NULL, 0);
        goto fail;
    }
    if (server && g->verify != WS_TLS_VERIFY_NONE && !g->has_ca) {
        rc = ws__tls_cfg_err(err, cap, "checking client certificates needs a CA (ca_file or ca_mem)", NULL, 0);
        goto fail;
    }
    mode = g->verify == WS_TLS_VERIFY_NONE ? MBEDTLS_SSL_VERIFY_NONE :
           g->verify == WS_TLS_VERIFY_OPTIONAL ? MBEDTLS_SSL_VERIFY_OPTIONAL : MBEDTLS_SSL_VERIFY_REQUIRED;
    mbedtls_ssl_conf_authmode(&g->conf, mode);
    /* protocol versions */
    if (o->min_version && o->min_version != WS_TLS_1_2 && o->min_version != WS_TLS_1_3) {
        rc = ws__tls_cfg_err(err, cap, "invalid min_version (WS_TLS_1_2 or WS_TLS_1_3)", NULL, 0);
        goto fail;
    }
#if MBEDTLS_VERSION_NUMBER >= 0x03020000
    /* 3.x has nothing below 1.2, so the defaults already start at 1.2; forcing 1.2 in a build
     * without MBEDTLS_SSL_PROTO_TLS1_2 would make mbedtls_ssl_setup fail (BAD_CONFIG) */
    if (o->min_version == WS_TLS_1_3) mbedtls_ssl_conf_min_tls_version(&g->conf, MBEDTLS_SSL_VERSION_TLS1_3);
#  if !defined(MBEDTLS_SSL_PROTO_TLS1_3)
    if (o->min_version == WS_TLS_1_3) { rc = ws__tls_cfg_err(err, cap, "this mbedTLS has no TLS 1.3", NULL, 0); goto fail; }
#  endif
#else
    if (o->min_version == WS_TLS_1_3) { rc = ws__tls_cfg_err(err, cap, "this mbedTLS has no TLS 1.3", NULL, 0); goto fail; }
    mbedtls_ssl_conf_min_version(&g->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
    /* ALPN: "a, b" -> {"a", "b", NULL} */
    if (o->alpn && *o->alpn) {
#if defined(MBEDTLS_SSL_ALPN)
        size_t n = strlen(o->alpn), i, k = 0;
        char *b = ws__strdup(ctx, o->alpn, n);
        if (!b) { rc = WS_ERR_NOMEM; goto fail; }
        g->alpn_buf = b;
        for (i = 0; i <= n; i++) {
            if (b[i] == ',' || b[i] == '\0') {
                size_t e = i, s0 = i;
                b[i] = '\0';
                while (s0 > 0 && b[s0 - 1] != '\0') s0--;
                while (b[s0] == ' ' || b[s0] == '\t') s0++;
                while (e > s0 && (b[e - 1] == ' ' || b[e - 1] == '\t')) b[--e] = '\0';
                if (e > s0) {
                    if (k == 8 || e - s0 > 255) { rc = ws__tls_cfg_err(err, cap, "alpn: at most 8 names of 1-255 bytes", NULL, 0); goto fail; }
                    g->alpn[k++] = b + s0;
                }
            }
        }
        g->alpn[k] = NULL;
        if (k && (r = mbedtls_ssl_conf_alpn_protocols(&g->conf, g->alpn)) != 0) {
            rc = ws__tls_cfg_err(err, cap, "alpn", NULL, r);
            goto fail;
        }
#else
        rc = ws__tls_cfg_err(err, cap, "alpn: this mbedTLS is built without MBEDTLS_SSL_ALPN", NULL, 0);
        goto fail;
#endif
    }
    if (!server && o->server_name && *o->server_name) {
        g->server_name = ws__strdup(ctx, o->server_name, strlen(o->server_name));
        if (!g->server_name) { rc = WS_ERR_NOMEM; goto fail; }
    }
    *out = g;
    return WS_OK;
fail:
    if (rc == WS_ERR_NOMEM) (void)ws__tls_cfg_err(err, cap, "out of memory", NULL, 0);
    ws__tls_cfg_release(ctx, g);
    return rc;
}

/* Why a handshake failed, in mbedTLS's words, with what it most likely means. */
static void ws__tls_explain(ws_conn *c, ws__tls_conn *t, int r, char *msg, size_t cap) {
    char e[160], info[320];
    uint32_t vf = mbedtls_ssl_get_verify_result(&t->ssl);
    const char *peer = (c->flags & WS__F_SERVER) ? "client" : "server";
    ws__out o;
    o.p = msg; o.cap = cap; o.len = 0; o.err = 0;
    ws__tls_strerror(r, e, sizeof e);
    if (t->got1 && t->first != 0x16 && t->first != 0x15) {   /* handshake or alert record */
        ws__puts(&o, "peer is not TLS: ");
        if (t->first == 'H') ws__puts(&o, "the server answered in plain HTTP (a ws:// port? use ws://)");
        else if (t->first >= 'A' && t->first <= 'Z') ws__puts(&o, "the client sent plain HTTP (use wss://)");
        else ws__puts(&o, "its first bytes are no TLS record");
    } else if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && vf && vf != (uint32_t)-1) {
        ws__puts(&o, peer);
        ws__puts(&o, (vf & MBEDTLS_X509_BADCERT_EXPIRED) ? " certificate expired" :
                     (vf & MBEDTLS_X509_BADCERT_CN_MISMATCH) ? " certificate host-name mismatch" :
                     (vf & MBEDTLS_X509_BADCERT_NOT_TRUSTED) ? " certificate not trusted" :
                     (vf & MBEDTLS_X509_BADCERT_MISSING) ? " certificate missing" :
                     " certificate rejected");
        if ((vf & MBEDTLS_X509_BADCERT_CN_MISMATCH) && !(c->flags & WS__F_SERVER) && ws__cl(c)) {
            ws__puts(&o, " (expected \"");
            if (t->cfg->server_name) ws__puts(&o, t->cfg->server_name);
            else ws__put(&o, ws__cl(c)->u.host.ptr, WS__MIN(ws__cl(c)->u.host.len, (size_t)100));
            ws__puts(&o, "\")");
        }
#if !defined(MBEDTLS_X509_REMOVE_INFO)
        if (mbedtls_x509_crt_verify_info(info, sizeof info, "", vf) > 0) {
            char *s;
            for (s = info; *s; s++) if (*s == '\n') *s = (s[1] ? ';' : '\0');
            ws__puts(&o, ": ");
            ws__puts(&o, info);
        }
#else
        (void)info;
#endif
        if ((vf & MBEDTLS_X509_BADCERT_NOT_TRUSTED) && !t->cfg->has_ca)
            ws__puts(&o, " (no CA certificates loaded: set ws_tls_opts.ca_file)");
#if defined(MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE)
    } else if (r == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE) {
        ws__puts(&o, "client certificate missing (this server requires one)");
#endif
    } else if (r == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
        ws__puts(&o, "handshake failure: the ");
        ws__puts(&o, peer);
        ws__puts(&o, (c->flags & WS__F_SERVER) ? " refused the handshake (does it trust our certificate?)"
                                               : " refused the handshake (does it require a client certificate, or reject ours?)");
    } else if (r == MBEDTLS_ERR_SSL_CONN_EOF || r == MBEDTLS_ERR_NET_RECV_FAILED ||
               r == MBEDTLS_ERR_NET_SEND_FAILED || r == MBEDTLS_ERR_NET_CONN_RESET) {
        ws__puts(&o, "handshake failure: the ");
        ws__puts(&o, peer);
        ws__puts(&o, " closed the connection");
        if (!(c->flags & WS__F_SERVER)) ws__puts(&o, " (does it require a client certificate, or reject ours?)");
    } else {
        ws__puts(&o, "handshake failure");
    }
    ws__puts(&o, " [");
    ws__puts(&o, e);
    ws__puts(&o, "]");
    if (ws__out_done(&o, NULL) != WS_OK && cap) msg[cap - 1] = '\0';
}

/* What a connection's TLS costs in max_memory (ctx->mem_used): mbedTLS allocates its record
 * buffers and state with its own calloc, so this is an estimate (measured with the default
 * configurations: 42 to 56 KiB a connection with 2.28, 3.6 and 4.0). */
#define WS__TLS_COST (sizeof(ws__tls_conn) + MBEDTLS_SSL_IN_CONTENT_LEN + MBEDTLS_SSL_OUT_CONTENT_LEN + 16384)

static void ws__tls_drop(ws__tls_conn *t) {   /* frees the per-connection TLS state */
    ws_ctx *ctx = t->c->ctx;
    ctx->mem_used -= WS__TLS_COST;
    mbedtls_ssl_free(&t->ssl);
    ws__tls_cfg_release(ctx, t->cfg);
    ws__free(ctx, t);
}

static ws_result ws__tls_handshake(void *io) {
    ws__tls_conn *t = (ws__tls_conn *)io;
    ws_conn *c = t->c;
    char msg[512];
    int r;
    for (;;) {
        r = mbedtls_ssl_handshake(&t->ssl);
        if (r == 0) break;
        if (r == MBEDTLS_ERR_SSL_WANT_READ) { t->want = WS_POLLIN; return WS_AGAIN; }
        if (r == MBEDTLS_ERR_SSL_WANT_WRITE) { t->want = WS_POLLOUT; return WS_AGAIN; }
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
        if (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) continue;   /* 3.6 TLS 1.3 */
#endif
        ws__tls_explain(c, t, r, msg, sizeof msg);
        if ((c->flags & WS__F_SERVER) && t->got1 && t->first >= 'A' && t->first <= 'Z') {
            /* plain HTTP on a TLS port: answer in plain HTTP so the client learns why */
            ws__tls_report(c, WS_ERR_TLS, 1, msg);
            ws__tls_drop(t);
            ws__tcp_attach(c, c->fd);
            ws__respond(c, 400, NULL, "This port speaks TLS: use wss:// (or https://)\n");
            return WS_AGAIN;   /* now CLOSING: the response goes out, then TCP closes */
        }
#if defined(MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE)
        if (r == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE)   /* tell the client, don't just hang up */
            (void)mbedtls_ssl_send_alert_message(&t->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                                 MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
#endif
        ws__tls_report(c, WS_ERR_TLS, 0, msg);
        return WS_ERR_TLS;
    }
    t->done = 1;
    t->want = 0;
    t->more = 1;   /* application data may have come with the last handshake record */
    if (mbedtls_ssl_get_verify_result(&t->ssl) != 0 && t->cfg->verify == WS_TLS_VERIFY_OPTIONAL) {
        uint32_t vf = mbedtls_ssl_get_verify_result(&t->ssl);
        ws__out o;
        o.p = msg; o.cap = sizeof msg; o.len = 0; o.err = 0;
        ws__puts(&o, "peer certificate not verified (verify is OPTIONAL, continuing)");
#if !defined(MBEDTLS_X509_REMOVE_INFO)
        {   char info[320];
            if (vf != (uint32_t)-1 && mbedtls_x509_crt_verify_info(info, sizeof info, " ", vf) > 0) {
                char *s;
                for (s = info; *s; s++) if (*s == '\n') *s = (s[1] ? ';' : '\0');
                ws__puts(&o, ":");
                ws__puts(&o, info);
            } }
#endif
        (void)vf;
        if (ws__out_done(&o, NULL) == WS_OK) ws__tls_report(c, WS_ERR_TLS, 1, msg);
    }
    return WS_OK;
}

/* A failure after the handshake: an error code for the loop and, for TLS errors, the words. */
static ws_result ws__tls_io_error(const ws__tls_conn *t, int r, const char *op) {
    ws_conn *c = t->c;
    char e[160], msg[384];
    int refused = 0;
    ws__out o;
    if (r == MBEDTLS_ERR_NET_RECV_FAILED || r == MBEDTLS_ERR_NET_SEND_FAILED ||
        r == MBEDTLS_ERR_NET_CONN_RESET)
        return WS_ERR_IO;
    ws__tls_strerror(r, e, sizeof e);
#if MBEDTLS_VERSION_NUMBER >= 0x03020000 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
    /* TLS 1.3: a client's handshake is over before the server has checked its certificate, so
     * a refusal arrives as the first record after it (mbedTLS 3.6 and 4.0 report the server's
     * alert as a MAC failure) */
    refused = !t->rx && !(c->flags & WS__F_SERVER) &&
              mbedtls_ssl_get_version_number(&t->ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
#endif
    o.p = msg; o.cap = sizeof msg; o.len = 0; o.err = 0;
    ws__puts(&o, refused ? "handshake failure: the server refused the connection right after the "
                           "TLS 1.3 handshake (does it require a client certificate, or reject ours?) ["
                         : op);
    ws__puts(&o, e);
    if (refused) ws__puts(&o, "]");
    if (ws__out_done(&o, NULL) == WS_OK) ws__tls_report(c, WS_ERR_TLS, 0, msg);
    return WS_ERR_TLS;
}

static ws_result ws__tls_read(void *io, uint8_t *buf, size_t cap, size_t *got) {
    ws__tls_conn *t = (ws__tls_conn *)io;
    size_t n = 0;
    int r;
    if (!t->done) return WS_AGAIN;
    t->more = 0;
    while (n < cap && t->rerr == WS_OK) {   /* drain what the socket has: poll won't say */
        r = mbedtls_ssl_read(&t->ssl, buf + n, WS__MIN(cap - n, (size_t)0x40000000));
        if (r > 0) { n += (size_t)r; t->rx = 1; continue; }
        if (r == MBEDTLS_ERR_SSL_WANT_WRITE && !t->wlen) t->oflush = 1;   /* (with wlen: ours) */
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) break;
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
        if (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) continue;
#endif
        if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) t->rerr = WS_ERR_CLOSED;
        else t->rerr = ws__tls_io_error(t, r, "receive failed: ");
    }
    if (n == cap) t->more = 1;
    if (n) { *got = n; return WS_OK; }
    return t->rerr != WS_OK ? t->rerr : WS_AGAIN;
}

/* A record mbedTLS made by itself inside mbedtls_ssl_read (refusing a renegotiation: an alert)
 * that the socket did not take goes out first: mbedtls_ssl_write and close_notify would only
 * finish it and return as if they had sent theirs (our bytes lost). A zero-length write
 * flushes it. 0 = out (or there was none), else mbedTLS's WANT_WRITE or error. */
static int ws__tls_oflush(ws__tls_conn *t) {
    int r;
    if (!t->oflush) return 0;
    r = mbedtls_ssl_write(&t->ssl, (const unsigned char *)"", 0);
    if (r >= 0) t->oflush = 0;
    return r >= 0 ? 0 : r;
}

static ws_result ws__tls_write(void *io, const uint8_t *buf, size_t len, size_t *put) {
    ws__tls_conn *t = (ws__tls_conn *)io;
    int r;
    if (!t->done) return WS_AGAIN;   /* queued bytes wait for the handshake */
    if (t->wlen && t->wlen <= len) len = t->wlen;   /* mbedTLS wants the same call again */
    r = ws__tls_oflush(t);
    if (!r) r = mbedtls_ssl_write(&t->ssl, buf, WS__MIN(len, (size_t)0x40000000));
    else if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) return WS_AGAIN;
    if (r >= 0) { t->wlen = 0; *put = (size_t)r; return WS_OK; }
    if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) { t->wlen = len; return WS_AGAIN; }
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
    if (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) { t->wlen = len; return WS_AGAIN; }
#endif
    return ws__tls_io_error(t, r, "send failed: ");
}

static int ws__tls_want(void *io) {
    const ws__tls_conn *t = (const ws__tls_conn *)io;
    if (!t->done) return t->want;
    return (t->wlen || t->shut) ? WS_POLLOUT : 0;
}

static size_t ws__tls_pending(void *io) {
    const ws__tls_conn *t = (const ws__tls_conn *)io;
    if (!t->done) return 0;
    if (t->rerr != WS_OK) return 1;   /* the end (close_notify, an error) read with the last bytes */
    return mbedtls_ssl_get_bytes_avail(&t->ssl) + t->more;
}

static void ws__tls_shutdown(void *io) {   /* close_notify, then FIN */
    ws__tls_conn *t = (ws__tls_conn *)io;
    if (t->done) {
        int r = ws__tls_oflush(t);
        if (!r) r = mbedtls_ssl_close_notify(&t->ssl);   /* again: flushes the rest of it */
        if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) { t->shut = 1; return; }
        t->shut = 0;
    }
    ws__tcp_shutdown((void *)(intptr_t)t->c->fd);
}

static void ws__tls_close(void *io) {   /* (the loop has stopped watching the socket) */
    ws__tls_conn *t = (ws__tls_conn *)io;
    ws__sock s = t->c->fd;
    if (t->shut && s != WS__INVALID_SOCK) (void)mbedtls_ssl_close_notify(&t->ssl);   /* best effort */
    ws__tls_drop(t);
    ws__tcp_close((void *)(intptr_t)s);
}

/* wss:// as a ws_io: io is the connection's ws__tls_conn (it owns the socket beneath) */
static const ws_io ws__tls_io = {
    ws__tls_write, ws__tls_read, ws__tls_shutdown, ws__tls_close, NULL,
    ws__tls_handshake, ws__tls_want, ws__tls_pending
};
/* c's TLS state, NULL when it is not on ws.h's mbedTLS transport */
WS__UNUSED static ws__tls_conn *ws__tls_of(const ws_conn *c) {
    return c->io == &ws__tls_io ? (ws__tls_conn *)c->io_arg : NULL;
}

/* Puts a connected socket under TLS with config g: WS_OK, WS_ERR_TLS (reported), WS_ERR_NOMEM,
 * or for a client WS_ERR_FULL (max_memory has no room: c fails with it; a server's is counted,
 * never refused: its upgrade is then answered 503, and max_pending bounds its handshakes). */
WS__UNUSED static ws_result ws__tls_attach(ws_conn *c, ws__tls_cfg *g) {
    ws__tls_conn *t;
    char host[256], msg[256];
    int r;
    c->ctx->mem_full = 0;
    if (!ws__mem_room(c->ctx, 0, WS__TLS_COST, (c->flags & WS__F_SERVER) != 0)) {
        ws__fail_nomem(c);   /* WS_ERR_FULL, named (the caller's own failure comes too late) */
        return WS_ERR_FULL;
    }
    t = (ws__tls_conn *)ws__alloc(c->ctx, sizeof *t);
    if (!t) return WS_ERR_NOMEM;
    memset(t, 0, sizeof *t);
    c->ctx->mem_used += WS__TLS_COST;
    mbedtls_ssl_init(&t->ssl);
    t->cfg = g;
    t->c = c;
    g->refs++;
    c->io = &ws__tls_io;   /* over the socket that plain TCP had (c->fd) */
    c->io_arg = t;
    t->want = (c->flags & WS__F_SERVER) ? WS_POLLIN : WS_POLLOUT;   /* clients speak first */
    r = mbedtls_ssl_setup(&t->ssl, &g->conf);
    if (r == 0 && !g->server) {   /* SNI and the name the certificate must carry */
        if (g->server_name) r = mbedtls_ssl_set_hostname(&t->ssl, g->server_name);
        else if (ws__cl(c)) {
            size_t n = WS__MIN(ws__cl(c)->u.host.len, sizeof host - 1);
            memcpy(host, ws__cl(c)->u.host.ptr, n);
            host[n] = '\0';
            r = mbedtls_ssl_set_hostname(&t->ssl, host);
        }
    }
    if (r != 0) {
        ws__out o;
        char e[160];
        ws__tls_strerror(r, e, sizeof e);
        o.p = msg; o.cap = sizeof msg; o.len = 0; o.err = 0;
        ws__puts(&o, "TLS setup failed: ");
        ws__puts(&o, e);
        if (ws__out_done(&o, NULL) == WS_OK) ws__tls_report(c, WS_ERR_TLS, 0, msg);
        return WS_ERR_TLS;   /* t is freed with the connection */
    }
    mbedtls_ssl_set_bio(&t->ssl, t, ws__tls_send, ws__tls_recv, NULL);
    return WS_OK;
}
#else   /* !WS_USE_MBEDTLS: nothing of mbedTLS is referenced */
static void ws__tls_cfg_release(ws_ctx *ctx, ws__tls_cfg *g) { (void)ctx; (void)g; }
WS__UNUSED static ws_result ws__tls_cfg_new(ws_ctx *ctx, const void *o, int server, ws__tls_cfg **out,
                                 char *err, size_t cap) {
    static const char m[] = WS__T("ws.h: wss:// needs TLS, but ws.h was built without WS_USE_MBEDTLS "
                                  "(#define it and link -lmbedtls -lmbedx509 -lmbedcrypto)");
    (void)ctx; (void)o; (void)server;
    *out = NULL;
    if (cap) { strncpy(err, m, cap - 1); err[cap - 1] = '\0'; }
    return WS_ERR_TLS;
}
WS__UNUSED static ws_result ws__tls_attach(ws_conn *c, ws__tls_cfg *g) { (void)c; (void)g; return WS_ERR_TLS; }
#endif /* WS_USE_MBEDTLS */

/* ==== >>client ==== DNS off the caller's thread, non-blocking connect, reconnect ==== */
/* A host name is resolved by getaddrinfo on a short-lived detached thread, which wakes the
 * loop when done (numeric addresses need no thread). With WS_NO_THREADS, getaddrinfo runs
 * in ws_connect itself and may block for as long as the resolver takes. */
struct ws__dns {
#ifndef WS_NO_THREADS
    ws__mutex mu;
#endif
    int refs, done, rc;
    ws__addrinfo *res;
    ws__sock wake;               /* the ctx's wake-up socket, used only while refs == 2 */
    char host[256], port[8];
};

WS__UNUSED static void ws__dns_free(ws__dns *d) {
    if (d->res) ws__resolve_free(d->res);
#ifndef WS_NO_THREADS
    ws__mutex_free(&d->mu);
#endif
    WS_FREE(d, NULL);   /* may run on the resolver thread: allocator must be thread-safe */
}

WS__UNUSED static void ws__dns_run(ws__dns *d) {
    d->rc = ws__resolve(d->host, d->port, 0, &d->res);
}

#ifndef WS_NO_CLIENT
#ifndef WS_NO_THREADS
#  if defined(_WIN32)
static DWORD WINAPI ws__thread_main(LPVOID arg)
#  else
static void *ws__thread_main(void *arg)
#  endif
{
    ws__dns *d = (ws__dns *)arg;
    int last;
    ws__dns_run(d);
    ws__mutex_lock(&d->mu);
    d->done = 1;
    last = --d->refs == 0;
    if (!last) (void)ws__wake_signal(d->wake);   /* under the lock: ctx is alive */
    ws__mutex_unlock(&d->mu);
    if (last) ws__dns_free(d);
    return 0;
}
#endif

#endif

static void ws__dns_release(ws_conn *c) {
#ifndef WS_NO_THREADS
    ws__dns *d = ws__cl(c) ? ws__cl(c)->dns : NULL;
    int last;
    if (!d) return;
    ws__cl(c)->dns = NULL;
    c->ctx->nresolving--;
    ws__mutex_lock(&d->mu);
    last = --d->refs == 0;
    ws__mutex_unlock(&d->mu);
    if (last) ws__dns_free(d);
#else   /* names resolve inside ws_connect: there is never a ws__dns to give back */
    (void)c;
#endif
}

#ifdef WS__RACE
static void ws__race_drop(ws_conn *c);   /* the second connect in flight, if any, closed */
#endif
static void ws__client_reset(ws_conn *c) {   /* forget one attempt's resources */
    ws__client *cl = ws__cl(c);
#ifdef WS__RACE
    ws__race_drop(c);
#endif
    ws__dns_release(c);
    if (cl && cl->ai) { ws__resolve_free(cl->ai); cl->ai = cl->ai_next = NULL; }
    ws__io_close(c);
    ws__conn_reset(c);
}

/* sa's address (4 or 16 bytes into ip) and port: WS__F_ADDR4, WS__F_ADDR6, or 0 (neither).
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d: an IPv4 peer of a dual-stack "::" listener)
 * is the IPv4 address it maps, as a listener on "0.0.0.0" would see that peer. */
static uint32_t ws__sa_split(const struct sockaddr *sa, uint8_t ip[16], uint16_t *port) {
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        memcpy(ip, &s4->sin_addr, 4);
        *port = ntohs(s4->sin_port);
        return WS__F_ADDR4;
    }
#ifndef WS__NO_IPV6   /* (lwIP without LWIP_IPV6: no sockaddr_in6, AF_INET6 is AF_UNSPEC) */
    if (sa->sa_family == AF_INET6) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        const uint8_t *a6 = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        *port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
        if (!memcmp(a6, mapped, 12)) { memcpy(ip, a6 + 12, 4); return WS__F_ADDR4; }
        memcpy(ip, a6, 16);
        return WS__F_ADDR6;
    }
#endif
    return 0;
}
static void ws__remote_from(ws_conn *c, const struct sockaddr *sa) {
    uint32_t f = ws__sa_split(sa, c->raddr, &c->rport);
    if (f) c->flags = (c->flags & ~(uint32_t)(WS__F_ADDR4 | WS__F_ADDR6)) | f;
}

/* "host:port", "[v6]:port": the one builder of addresses with a port (listeners, proxies,
 * ws_conn_remote, error texts) */
static void ws__put_hostport(ws__out *o, const char *h, size_t n, int v6, unsigned port) {
    ws__put_host(o, h, n, v6);
    ws__puts(o, ":");
    ws__putu(o, port);
}

#ifndef WS_NO_CLIENT
#ifndef WS_NO_PROXY
/* ---- HTTP CONNECT proxies (RFC 9110 9.3.6; Basic auth, RFC 7617): the pure parts ---- */
typedef struct ws__proxy_url {
    ws_span  user, pass;         /* still %-encoded; ptr NULL = no credentials */
    ws_span  host;               /* without the brackets of an IPv6 literal */
    uint16_t port;               /* given, or 80 */
} ws__proxy_url;

/* "http://[user[:password]@]host[:port][/]". WS_OK, or WS_ERR_URL with *why. The host and
 * port are read by ws_url_parse (as "ws://host:port": the same rules, default port 80). */
static ws_result ws__proxy_parse(const char *s, size_t n, ws__proxy_url *p, const char **why) {
    char tmp[5 + 264];           /* "ws://" + "[host]:port", host <= 255 bytes */
    ws_url u;
    size_t i, a = 7, e, at, colon;
    memset(p, 0, sizeof *p);
    *why = "";
    if (n < 7 || !ws__span_ieq(ws__span(s, 7), "http://", 7)) { *why = WS__T("a proxy URL starts with http://"); return WS_ERR_URL; }
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7F) { *why = WS__T("space or control character in the proxy URL"); return WS_ERR_URL; }
    for (e = a; e < n && s[e] != '/' && s[e] != '?' && s[e] != '#'; e++) {}
    if (e < n && !(s[e] == '/' && e + 1 == n)) { *why = WS__T("a proxy URL has no path, query or fragment"); return WS_ERR_URL; }
    for (at = e; at > a && s[at - 1] != '@'; at--) {}
    if (at > a) {   /* user info: user[:password]@ */
        for (colon = a; colon < at - 1 && s[colon] != ':'; colon++) {}
        p->user.ptr = s + a; p->user.len = colon - a;
        p->pass.ptr = s + colon; p->pass.len = 0;
        if (colon < at - 1) { p->pass.ptr = s + colon + 1; p->pass.len = at - 1 - colon - 1; }
    } else at = a;
    if (e - at > sizeof tmp - 5) { *why = WS__T("no proxy host, or one over 255 bytes"); return WS_ERR_URL; }
    memcpy(tmp, "ws://", 5);
    memcpy(tmp + 5, s + at, e - at);
    if (ws_url_parse(tmp, 5 + e - at, &u, why) != WS_OK) return WS_ERR_URL;
    if (u.host.len > 255) { *why = WS__T("no proxy host, or one over 255 bytes"); return WS_ERR_URL; }
    for (i = 0; !u.ipv6 && i < u.host.len; i++)   /* a name or IPv4 address: [A-Za-z0-9._-] */
        if (!ws__is_alnum((unsigned char)u.host.ptr[i]) && !strchr("-._", u.host.ptr[i]))
            { *why = WS__T("invalid character in the proxy host"); return WS_ERR_URL; }
    p->host.ptr = s + at + (u.host.ptr - (tmp + 5));
    p->host.len = u.host.len;
    p->port = u.port;
    return WS_OK;
}

static int ws__hexdig(int c) {
    return !ws__is_hex(c) ? -1 : c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
/* Appends the %-decoded span to o; o->err = 2 for a bad %XX escape. */
static void ws__put_pct(ws__out *o, ws_span s) {
    size_t i;
    for (i = 0; i < s.len; i++) {
        char ch = s.ptr[i];
        if (ch == '%') {
            int hi = i + 2 < s.len ? ws__hexdig((unsigned char)s.ptr[i + 1]) : -1;
            int lo = i + 2 < s.len ? ws__hexdig((unsigned char)s.ptr[i + 2]) : -1;
            if (hi < 0 || lo < 0) { o->err = 2; return; }
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        ws__put(o, &ch, 1);
    }
}

/* Basic credentials (RFC 7617) of a proxy URL with user info: base64 of the %-decoded
 * "user:password" into out[0..cap) (4 * (p->user.len + p->pass.len + 3) / 3 + 1 is enough);
 * tmp[0..tcap) (user.len + pass.len + 2) holds the decoded pair. WS_OK or WS_ERR_URL (*why). */
static ws_result ws__proxy_basic(const ws__proxy_url *p, char *tmp, size_t tcap, char *out,
                                 size_t cap, const char **why) {
    ws__out o;
    size_t n = 0;
    o.p = tmp; o.cap = tcap; o.len = 0; o.err = 0;
    ws__put_pct(&o, p->user);
    if (!o.err && memchr(tmp, ':', o.len)) o.err = 3;   /* RFC 7617 2: no colon in a user-id */
    ws__puts(&o, ":");
    ws__put_pct(&o, p->pass);
    if (o.err || ws__out_done(&o, &n) != WS_OK) {
        *why = o.err == 3 ? WS__T("a ':' in the proxy user name") : WS__T("bad %-escape in the proxy user or password");
        return WS_ERR_URL;
    }
    if (ws_base64_encode(tmp, n, out, cap, NULL) != WS_OK) { *why = WS__T("proxy credentials too long"); return WS_ERR_URL; }
    return WS_OK;
}

/* The CONNECT request for u's host and port (always named: RFC 9110 9.3.6), with
 * Proxy-Authorization when basic (base64 credentials) is not NULL. WS_OK or WS_ERR_ARG. */
static ws_result ws__proxy_request(char *out, size_t cap, const ws_url *u, const char *basic,
                                   size_t *len) {
    ws__out o;
    o.p = out; o.cap = cap; o.len = 0; o.err = (!out || !cap) ? 1 : 0;
    ws__puts(&o, "CONNECT ");
    ws__put_hostport(&o, u->host.ptr, u->host.len, u->ipv6, u->port);
    ws__puts(&o, " HTTP/1.1\r\nHost: ");
    ws__put_hostport(&o, u->host.ptr, u->host.len, u->ipv6, u->port);
    ws__puts(&o, "\r\n");
    if (basic) { ws__puts(&o, "Proxy-Authorization: Basic "); ws__put_value(&o, basic); ws__puts(&o, "\r\n"); }
    ws__puts(&o, "\r\n");
    return ws__out_done(&o, len);
}

/* The proxy's answer to CONNECT in buf[0..len), at most max bytes of head: WS_OK for a 2xx
 * (the tunnel is up; *used = the bytes of its head and of any 1xx before it), WS_AGAIN, or
 * WS_ERR_PROXY with *why and *status (the proxy's HTTP status; 0 if it sent none). The body
 * of a refusal is not read. authed: we sent credentials (a 407 then means wrong ones). */
static ws_result ws__proxy_response(const char *buf, size_t len, size_t max, int authed,
                                    int *status, size_t *used, const char **why) {
    ws_http_response res;
    size_t off = 0, n = 0;
    ws_result rc;
    *status = 0;
    *used = 0;
    for (;;) {
        rc = ws_http_parse_response(buf + off, len - off, max - off, &res, &n, why);
        if (rc == WS_AGAIN) return WS_AGAIN;
        if (rc == WS_ERR_TOO_BIG) {   /* no end within max, or too many lines before it */
            *why = len >= max ? WS__T("the proxy's response head is over max_handshake")
                              : WS__T("the proxy's response has more header lines than WS_MAX_HEADERS");
            return WS_ERR_PROXY;
        }
        if (rc != WS_OK) { *why = WS__T("malformed response from the proxy"); return WS_ERR_PROXY; }
        off += n;
        if (res.status >= 200 || off >= max) break;   /* 1xx: interim, the answer follows */
    }
    *status = res.status;
    if (res.status >= 200 && res.status < 300) { *used = off; return WS_OK; }
    if (res.status == 407 || res.status == 401)   /* tinyproxy answers wrong credentials with 401 */
        *why = authed ? WS__T("the proxy rejected the credentials")
                      : WS__T("the proxy requires authentication: give http://user:password@host:port");
    else if (res.status == 403) *why = WS__T("the proxy does not allow this host or port");
    else if (res.status >= 500) *why = WS__T("the proxy could not connect to the server");
    else *why = WS__T("the proxy refused the CONNECT request");
    return WS_ERR_PROXY;
}

/* ---- the tunnel: once TCP to the proxy is up, CONNECT goes out (state WS__PROXY) and its
 * answer is read into c->rx; a 2xx hands the socket to ws__client_connected, which starts TLS
 * (SNI and certificate check against the URL's host) or the upgrade as without a proxy. All
 * of it within connect_timeout_ms, and the answer's head within max_handshake. ---- */
static void ws__proxy_start(ws_conn *c) {
    ws__client *cl = ws__cl(c);
    size_t len = 0, need = 128 + 2 * cl->u.host.len + (cl->proxy_auth ? strlen(cl->proxy_auth) : 0);
    c->state = WS__PROXY;
    if (!ws__buf_reserve(c->ctx, &c->tx, need)) { ws__fail(c, WS_ERR_NOMEM, WS__T("out of memory")); return; }
    if (ws__proxy_request((char *)WS__BDATA(c->tx) + c->tx->len, c->tx->cap - c->tx->len, &cl->u,
                          cl->proxy_auth, &len) != WS_OK) {
        ws__fail(c, WS_ERR_ARG, WS__T("could not build the CONNECT request"));
        return;
    }
    c->tx->len += len;
    ws__pend(c);   /* sent in this pass, as in ws__client_connected */
}
#endif /* WS_NO_PROXY */

static void ws__client_connected(ws_conn *c) {
    ws_ctx *ctx = c->ctx;
    ws__client *cl = ws__cl(c);
#ifdef WS__RACE
    ws__race_drop(c);   /* the other attempt lost */
#endif
    if (cl->ai) { ws__resolve_free(cl->ai); cl->ai = cl->ai_next = NULL; }
#ifndef WS_NO_PROXY
    if (cl->proxy_host.ptr && c->state != WS__PROXY) {
        c->deadline = cl->end;   /* (ws__client_try) */
        ws__proxy_start(c);
        return;
    }
#endif
    if (ws__client_request(c) != WS_OK) return;
    if (cl->tls && ws__tls_attach(c, cl->tls) != WS_OK) { ws__fail(c, WS_ERR_TLS, WS__T("TLS setup failed")); return; }
    c->state = c->io->handshake ? WS__TLS : WS__HANDSHAKE;
    c->deadline = ws__t32_in(ctx, ctx->cfg.handshake_timeout_ms);
    /* send the request (or TLS hello) in this pass: an edge-triggered host (WSAEventSelect)
     * reports FD_CONNECT and FD_WRITE together and would not say "writable" again */
    ws__pend(c);
}

static void ws__flush(ws_conn *c);   /* >>poll */
#ifndef WS_NO_PROXY
/* >>poll calls this while WS__PROXY: send the rest of CONNECT, read and judge the answer. */
static void ws__proxy_io(ws_conn *c, short rev) {
    ws_ctx *ctx = c->ctx;
    size_t got, used = 0;
    const char *why = "";
    int status = 0;
    ws_result rc;
    ws__flush(c);
    if ((c->flags & WS__F_BROKEN) && c->err == WS_ERR_IO) {
        c->err = WS_ERR_PROXY;
        ws__set_msg(c, WS__T("the proxy closed the connection"));
    }
    if ((c->flags & WS__F_BROKEN) || !(rev & (WS_POLLIN | WS_POLLERR | WS_POLLHUP))) return;
    for (;;) {   /* until the socket is empty: ends within max_handshake bytes */
        got = 0;
        if (!ws__buf_reserve(ctx, &c->rx, 1024)) { ws__fail(c, WS_ERR_NOMEM, WS__T("out of memory")); return; }
        rc = (c->io->read)(c->io_arg, WS__BDATA(c->rx) + c->rx->len, c->rx->cap - c->rx->len, &got);
        if (got > c->rx->cap - c->rx->len) rc = WS_ERR_IO;   /* a broken ws_io: never past the buffer */
        if (rc == WS_AGAIN) return;
        if (rc != WS_OK) {
            ws__fail(c, WS_ERR_PROXY, rc == WS_ERR_CLOSED ? WS__T("the proxy closed the connection without answering")
                                                          : WS__T("the proxy closed (reset) the connection"));
            return;
        }
        c->rx->len += got;
        rc = ws__proxy_response((const char *)WS__BDATA(c->rx) + c->rx->off, ws__buf_used(c->rx),
                                ws__max_handshake(ctx), ws__cl(c)->proxy_auth != NULL, &status, &used, &why);
        if (rc == WS_AGAIN) continue;
        if (rc != WS_OK) { ws__cl(c)->http_status = status; ws__fail(c, WS_ERR_PROXY, why); return; }
        if (used != ws__buf_used(c->rx)) {   /* neither TLS nor the upgrade lets the server speak first */
            ws__fail(c, WS_ERR_PROXY, WS__T("the proxy sent bytes before the tunnel was used"));
            return;
        }
        ws__buf_put(ctx, &c->rx);
        ws__client_connected(c);   /* the tunnel is up */
        return;
    }
}
#else   /* WS_NO_PROXY: no connection is ever in WS__PROXY */
static void ws__proxy_io(ws_conn *c, short rev) { (void)c; (void)rev; }
#endif

/* An ev->msg that names a host: a, the host h, b, c2 (owned by c: msg_own); or fallback where
 * there are no texts, no memory, or an error is recorded already. */
static const char *ws__msg_host(ws_conn *c, const char *a, ws_span h, const char *b, const char *c2,
                                const char *fallback) {
    size_t na = strlen(a), nb = strlen(b), nc = strlen(c2);
    char *m;
    if (!WS__TEXT || !h.ptr || c->err != WS_OK || !ws__x(c) ||
        !(m = (char *)ws__alloc(c->ctx, na + h.len + nb + nc + 1)))
        return fallback;
    memcpy(m, a, na);
    memcpy(m + na, h.ptr, h.len);
    memcpy(m + na + h.len, b, nb);
    memcpy(m + na + h.len + nb, c2, nc + 1);
    ws__free(c->ctx, c->x->msg_own);
    return c->x->msg_own = m;
}
/* Why c could not connect, naming the host dialled: "HOST: why", or "proxy HOST: why" */
static const char *ws__client_why(ws_conn *c, const char *why) {
    ws__client *cl = ws__cl(c);
    if (!WS__TEXT) return why;
    return ws__msg_host(c, cl->proxy_host.ptr ? "proxy " : "", cl->proxy_host.ptr ? cl->proxy_host : cl->u.host,
                        ": ", why, why);
}

/* Dials the next resolved addresses until one connects (cl->last_err 0) or is connecting:
 * its address, and its socket in *s; NULL = none is left (cl->last_err: why the last failed). */
static ws__addrinfo *ws__client_dial(ws__client *cl, ws__sock *s) {
    ws__addrinfo *a;
    while ((a = cl->ai_next) != NULL) {
        cl->ai_next = a->ai_next;
        *s = ws__socket(a->ai_family, SOCK_STREAM, IPPROTO_TCP);
        if (*s == WS__INVALID_SOCK) { cl->last_err = ws__sock_errno(); continue; }
        ws__sock_setup(*s);
        cl->last_err = ws__connect(*s, a->ai_addr, WS__SOCKLEN(a->ai_addrlen)) == 0 ? 0 : ws__sock_errno();
        if (!cl->last_err || ws__err_inprogress(cl->last_err)) return a;
        ws__sock_close(*s);
    }
    return NULL;
}
/* How long an attempt may take: while other addresses wait, half of the time left before
 * connect_timeout_ms (curl's older rule), so an address that drops SYNs silently costs half
 * of it, not all; the last one gets the rest. */
static ws__t32 ws__client_share(const ws_conn *c) {
    ws__client *cl = ws__cl(c);
    int32_t left = (int32_t)(cl->end - (ws__t32)c->ctx->now);
    return cl->ai_next && left > 1 ? ws__t32_in(c->ctx, left / 2) : cl->end;
}

#ifdef WS__RACE
/* ---- RFC 8305 section 5 (Happy Eyeballs): while c's attempt is still connecting, the next
 * address is dialled connect_race_ms later (at once when an attempt fails) into cl->race, a
 * socket the loop watches beside c's (its own owner, WS__K_RACE: epoll, ws_pollfds and
 * on_watch see it). Two at most are in flight. The first to connect wins: the racer moves into
 * c (c's own closed), or c's closes the racer; TLS and a proxy's CONNECT start on the winner
 * only. An attempt's share (ws__client_share) ends it only while other addresses wait. ---- */
static int ws__race_ms(const ws_ctx *ctx) {   /* 0 = no racing */
    int v = ctx->cfg.connect_race_ms;
    return v < 0 ? 0 : v == 0 ? 250 : v < 10 ? 10 : v;   /* RFC 8305 5: at least 10 ms */
}
static void ws__race_drop(ws_conn *c) {
    ws__client *cl = ws__cl(c);
    ws__race *r = cl ? &cl->race : NULL;
    if (!r || !r->ai) return;
    ws__epoll_set(c->ctx, r->fd, r, &r->ereg, 0);   /* on_watch hears it before the close */
    r->ereg = 0;
    ws__sock_close(r->fd);
    r->ai = NULL;
}
/* The racer becomes c's attempt (closing c's own, if any): it connected, or c's failed. */
static void ws__race_move(ws_conn *c) {
    ws__client *cl = ws__cl(c);
    ws__race *r = &cl->race;
    ws__addrinfo *a = r->ai;
    ws__epoll_set(c->ctx, r->fd, r, &r->ereg, 0);   /* watched as c's from now on (ws__settle) */
    r->ereg = 0;
    r->ai = NULL;
    ws__io_close(c);
    ws__tcp_attach(c, r->fd);
    ws__remote_from(c, a->ai_addr);
    cl->until = r->until;
}
/* c's deadline while CONNECTING: the earliest of its attempts' shares and the racer's start;
 * once no address waits, every attempt in flight may take to connect_timeout_ms. */
static void ws__race_due(ws_conn *c) {
    ws__client *cl = ws__cl(c);
    if (c->state != WS__CONNECTING) return;
    if (!cl->ai_next) cl->until = cl->race.until = cl->end;
    c->deadline = cl->until;
    ws__due_min(c->ctx, &c->deadline, cl->race.ai ? cl->race.until : 0);
    ws__due_min(c->ctx, &c->deadline, cl->race_at);
}
/* The next address beside c's attempt: connecting (watched for POLLOUT), or connected at once
 * (it wins), or none left (c's attempt goes on alone). */
static void ws__race_start(ws_conn *c) {
    ws__client *cl = ws__cl(c);
    ws__race *r = &cl->race;
    cl->race_at = 0;
    if (r->ai || (r->ai = ws__client_dial(cl, &r->fd)) == NULL) return;
    r->kind = WS__K_RACE;
    r->c = c;
    r->ereg = 0;
    r->until = ws__client_share(c);
    if (!cl->last_err) { ws__race_move(c); ws__client_connected(c); return; }
    ws__epoll_set(c->ctx, r->fd, r, &r->ereg, WS_POLLOUT);
}
#endif

/* c has no socket: its racer moves in (and the next address starts at once), or the next
 * address is dialled; WS_ERR_CONNECT when none is left. */
static void ws__client_try(ws_conn *c) {
    ws__client *cl = ws__cl(c);
    ws__addrinfo *a;
    ws__sock s;
    const char *why;
#ifdef WS__RACE
    if (cl->race.ai) {
        ws__race_move(c);
        ws__race_start(c);
        ws__race_due(c);
        return;
    }
#endif
    if ((a = ws__client_dial(cl, &s)) != NULL) {
        ws__tcp_attach(c, s);
        ws__remote_from(c, a->ai_addr);
        if (!cl->last_err) { ws__client_connected(c); return; }
        c->state = WS__CONNECTING;
        c->deadline = ws__client_share(c);
#ifdef WS__RACE
        cl->until = c->deadline;
        cl->race_at = cl->ai_next && ws__race_ms(c->ctx) ? ws__t32_in(c->ctx, ws__race_ms(c->ctx)) : 0;
        ws__race_due(c);
#endif
        return;
    }
    /* ev->msg names the host (through a proxy: "proxy HOST: connection refused ...") */
    why = ws__sock_why(cl->last_err, 0);
    ws__fail(c, WS_ERR_CONNECT, ws__client_why(c, why));
}
/* ws__conn_timers: c's deadline came while CONNECTING. connect_timeout_ms is up (an error
 * naming the host), or an attempt's share (on to the next address), or the racer's start. */
static int ws__client_next(ws_conn *c) {
    ws__client *cl = ws__cl(c);
    if (ws__passed(c->ctx, cl->end)) {
        ws__abort(c, WS_ERR_TIMEOUT, ws__client_why(c, WS__T("connect timed out")));
        return 1;
    }
#ifdef WS__RACE
    if (cl->race.ai && ws__passed(c->ctx, cl->race.until)) { ws__race_drop(c); ws__race_start(c); }
    if (c->state == WS__CONNECTING && ws__passed(c->ctx, cl->until)) { ws__io_close(c); ws__client_try(c); }
    if (c->state == WS__CONNECTING && cl->race_at && ws__passed(c->ctx, cl->race_at)) ws__race_start(c);
    ws__race_due(c);
#else
    if (!cl->ai_next) return 0;
    ws__io_close(c);
    ws__client_try(c);
#endif
    return 1;
}

static void ws__client_resolved(ws_conn *c, int rc, ws__addrinfo *res) {
    if (rc != 0 || !res) {
        ws__client *cl = ws__cl(c);
        if (res) ws__resolve_free(res);
        /* ev->msg names the host looked up */
        ws__fail(c, WS_ERR_DNS, ws__msg_host(c, "no address found for ", cl->proxy_host.ptr ? cl->proxy_host : cl->u.host,
                                             "", "", WS__T("no address found for the host")));
        return;
    }
    ws__cl(c)->ai = ws__cl(c)->ai_next = res;
    ws__client_try(c);
}

/* ws_connect's opts->proxy: copied, parsed, and its credentials encoded once for all attempts.
 * WS_OK, WS_ERR_URL (ws_ctx_error says why) or WS_ERR_NOMEM (WS_NO_PROXY: WS_ERR_ARG). */
#ifndef WS_NO_PROXY
static ws_result ws__client_proxy(ws_conn *c, const char *url) {
    ws_ctx *ctx = c->ctx;
    ws__client *cl = ws__cl(c);
    ws__proxy_url p;
    const char *why = "";
    size_t n = strlen(url), tn, bn;
    char *tmp;
    ws_result rc;
    cl->proxy = ws__strdup(ctx, url, n);
    if (!cl->proxy) return WS_ERR_NOMEM;
    rc = ws__proxy_parse(cl->proxy, n, &p, &why);
    if (rc == WS_OK && p.user.ptr) {
        tn = p.user.len + p.pass.len + 2;
        bn = 4 * (tn / 3 + 1) + 1;
        tmp = (char *)ws__alloc(ctx, tn);
        cl->proxy_auth = (char *)ws__alloc(ctx, bn);
        rc = (tmp && cl->proxy_auth) ? ws__proxy_basic(&p, tmp, tn, cl->proxy_auth, bn, &why) : WS_ERR_NOMEM;
        if (tmp) { memset(tmp, 0, tn); ws__free(ctx, tmp); }   /* the plain password */
    }
    if (rc == WS_ERR_URL && WS__TEXT) ws__ctx_err(ctx, "ws_connect: invalid proxy URL: ", why, NULL);
    if (rc != WS_OK) return rc;
    cl->proxy_host = p.host;
    cl->proxy_port = p.port;
    return WS_OK;
}
#else
static ws_result ws__client_proxy(ws_conn *c, const char *url) {
    (void)url;
    ws__ctx_err(c->ctx, WS__T("ws_connect: opts->proxy: built with WS_NO_PROXY"), NULL, NULL);
    return WS_ERR_ARG;
}
#endif

static void ws__client_start(ws_conn *c) {
    ws_ctx *ctx = c->ctx;
    ws__client *cl = ws__cl(c);
    ws__dns *d;
    ws__addrinfo *res = NULL;
    char host[256], port[8];
    int rc;
    c->state = WS__RESOLVING;
    /* a new attempt: the last one's flags go, but not the pending list's (WS__F_PEND says c is
     * on it: cleared, a ws__pend would link c in twice and cut the list) */
    c->flags &= (uint32_t)(WS__F_FRAGS | WS__F_FRAGS_SET | WS__F_ADDR4 | WS__F_ADDR6 | WS__F_PEND);
    c->err = WS_OK;
    ws__set_msg(c, "");
    c->close_code = 0;
    c->msg_op = 0;
    c->msg_len = 0;
    c->pdone = 0;
    cl->http_status = 0;
    c->created = ctx->now;
    rc = ctx->cfg.connect_timeout_ms;   /* or what ws_connect_blocking has left, if less */
    if (ctx->hold_end && (!ctx->hold || ctx->hold == c)) {
        int32_t left = (int32_t)(ctx->hold_end - (ws__t32)ctx->now);
        if (left < rc) rc = left > 1 ? (int)left : 1;
    }
    c->deadline = cl->end = ws__t32_in(ctx, rc);
    {   ws_span h = cl->proxy_host.ptr ? cl->proxy_host : cl->u.host;   /* a proxy: resolve it */
        memcpy(host, h.ptr, h.len);
        host[h.len] = '\0';
        ws__utoa(port, cl->proxy_host.ptr ? cl->proxy_port : cl->u.port);
    }
    rc = ws__resolve(host, port, WS__RES_NUMERIC, &res);
#ifdef WS_NO_THREADS
    if (rc != 0) rc = ws__resolve(host, port, 0, &res);   /* blocking: see WS_NO_THREADS */
    (void)d;
#else
    if (rc != 0) {   /* a name: resolved on a thread, reported through the wake-up */
        d = (ws__dns *)WS_MALLOC(sizeof *d, NULL);
        if (!d) { ws__fail(c, WS_ERR_NOMEM, WS__T("out of memory")); return; }
        memset(d, 0, sizeof *d);
        memcpy(d->host, host, sizeof host);
        memcpy(d->port, port, sizeof port);
        d->wake = ctx->wake_w;
        ws__mutex_init(&d->mu);
        d->refs = 2;
        cl->dns = d;
        ctx->nresolving++;
        if (ws__thread_start(d) != 0) {
            d->refs = 1;
            ws__dns_release(c);
            ws__fail(c, WS_ERR_DNS, WS__T("could not start the resolver thread"));
        }
        return;
    }
#endif
    ws__client_resolved(c, rc, res);
}

/* Called by the loop while RESOLVING: has the resolver thread finished? (WS_NO_THREADS:
 * ws_connect resolved already) */
static void ws__client_poll_dns(ws_conn *c) {
#ifndef WS_NO_THREADS
    ws__dns *d = ws__cl(c) ? ws__cl(c)->dns : NULL;
    int done = 0, rc = 0;
    ws__addrinfo *res = NULL;
    if (!d) return;
    ws__mutex_lock(&d->mu);
    if (d->done) { done = 1; rc = d->rc; res = d->res; d->res = NULL; }
    ws__mutex_unlock(&d->mu);
    if (!done) return;
    ws__dns_release(c);
    ws__client_resolved(c, rc, res);
#else
    (void)c;
#endif
}

#else   /* WS_NO_CLIENT: nothing dials out; what the loop calls is empty */
static void ws__client_start(ws_conn *c) { (void)c; }
static int ws__client_next(ws_conn *c) { (void)c; return 0; }
static void ws__client_poll_dns(ws_conn *c) { (void)c; }
static void ws__proxy_io(ws_conn *c, short rev) { (void)c; (void)rev; }
#endif

/* ==== >>server ==== listening sockets and accepted connections ==== */
/* Into the handshake list (ws__hs_del in >>conn takes it out); its links are in c->x, which
 * the caller made. */
WS__UNUSED static void ws__hs_add(ws_conn *c) {
    ws_ctx *x = c->ctx;
    c->flags |= WS__F_HS;
    c->x->hsnext = NULL;
    c->x->hsprev = x->hs_tail;
    if (x->hs_tail) x->hs_tail->x->hsnext = c; else x->hs_head = c;
    x->hs_tail = c;
    x->npending++;
}
static void ws__readable(ws_conn *c);   /* >>poll */
static void ws__abort(ws_conn *c, ws_result rc, const char *why);
/* Room for one more handshake from c's address: when its address (max_pending_per_addr) or
 * all of them (max_pending) are at the limit, the oldest pending one is dropped. Silent or
 * slow peers (slowloris) thus hold a bounded share, and a newcomer always gets in. */
WS__UNUSED static void ws__hs_make_room(ws_ctx *ctx, const ws_conn *c) {
    ws_conn *p, *oldest = NULL;
    size_t same = 0;
    for (p = ctx->hs_head; p; p = p->x->hsnext)
        if (!((p->flags ^ c->flags) & (WS__F_ADDR4 | WS__F_ADDR6)) && !memcmp(p->raddr, c->raddr, sizeof p->raddr)) {
            if (!oldest) oldest = p;
            same++;
        }
    if (same < ws__max_pending_addr(ctx)) oldest = ctx->npending >= ws__max_pending(ctx) ? ctx->hs_head : NULL;
    if (oldest) {
        ws__log(ctx, 2, WS__T("ws.h: too many pending handshakes: dropping the oldest"));
        ws__abort(oldest, WS_ERR_LIMIT, WS__T("dropped: too many pending handshakes"));
    }
}

/* accept() failed for want of descriptors or buffers: stop watching the listeners for a
 * while (doubling, 50 ms .. 2 s) instead of spinning on a listener that stays readable. */
WS__UNUSED static void ws__accept_pause(ws_ctx *ctx) {
    ws_listener *l;
    ctx->accept_backoff = ctx->accept_backoff ? WS__MIN(ctx->accept_backoff * 2, 2000) : 50;
    ctx->accept_resume = ctx->now + ctx->accept_backoff;
    for (l = ctx->listeners; l; l = l->next) ws__epoll_set(ctx, l->fd, l, &l->ereg, 0);
    ws__log(ctx, 1, WS__T("ws.h: accept: out of file descriptors or buffers; pausing the listeners"));
}
static void ws__accept_resume(ws_ctx *ctx) {
    ws_listener *l;
    ctx->accept_resume = 0;
    for (l = ctx->listeners; l; l = l->next) ws__epoll_set(ctx, l->fd, l, &l->ereg, WS_POLLIN);
}

#ifndef WS_NO_SERVER
/* No memory for a connection: refuse it in HTTP without allocating (503), never drop TCP
 * silently. The request that already came is read first, so the close sends FIN, not RST. */
static void ws__refuse_nomem(ws__sock s) {
    static const char r[] = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                            "Content-Length: 0\r\n\r\n";
    char junk[512];
    int i;
    for (i = 0; i < 16 && ws__sock_recv(s, junk, sizeof junk) > 0; i++) {}
    (void)ws__sock_send(s, r, sizeof r - 1);
    ws__sock_shutdown_wr(s);
    ws__sock_close(s);
}

/* In a burst of accepts (a flood: WS__ACCEPT_HOLD or more in one pass) each request is read
 * right after its accept: it is often there already, and reading it before the next accepts
 * means a flood of newer ones cannot push an honest client out of the handshake list before
 * it is read. Fewer (a quiet server, or a few at a time) wait for the loop to report them
 * readable: their requests are rarely there yet (a client sends once its TCP handshake is
 * done, the server is woken before that), and a recv() that would find nothing is saved. */
#define WS__ACCEPT_HOLD 4
static void ws__accept_read(ws_conn *c) {
    if (c->state == WS__HANDSHAKE && !(c->flags & WS__F_BROKEN)) ws__readable(c);
}

static void ws__accept(ws_ctx *ctx, ws_listener *l) {
    int i, k, nh = 0;   /* held[0..nh): accepted, not read yet; -1: a burst, read at once */
    ws_conn *held[WS__ACCEPT_HOLD - 1];
    if (ctx->accept_resume) return;   /* paused (a poll list from before the pause) */
    for (i = 0; i < 64; i++) {   /* a bounded batch per pass: fairness */
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        ws_conn *c;
        int nb;
        ws__sock s = ws__sock_accept(l->fd, (struct sockaddr *)&ss, &sl, &nb);
        if (s == WS__INVALID_SOCK) {   /* EAGAIN, or a connection that went away */
            if (ws__err_nofd(ws__sock_errno())) ws__accept_pause(ctx);
            return;
        }
        if (i == 0 && ctx->accept_backoff) ctx->accept_backoff = 0;   /* recovered */
        if (ctx->nserver >= 2 * ws__max_conns(ctx) + 16) {
            ws__sock_close(s);                /* far over the limit: not even a 503 */
            continue;
        }
        if (!nb || !l->nodelay) ws__sock_setup2(s, nb);
        c = ws__conn_new(ctx, 1);
        if (c && !ws__x(c)) { ws__conn_free(c); c = NULL; }   /* the handshake list is in c->x */
        if (!c) { ws__refuse_nomem(s); ws__log(ctx, 0, WS__T("ws.h: out of memory accepting: 503")); continue; }
        ws__tcp_attach(c, s);
        ws__remote_from(c, (struct sockaddr *)&ss);
        ws__hs_make_room(ctx, c);
        ws__hs_add(c);
        c->state = WS__HANDSHAKE;
        c->deadline = ws__t32_in(ctx, ctx->cfg.handshake_timeout_ms);
        if (ctx->nserver > ws__max_conns(ctx))
            c->flags |= WS__F_REFUSE;
        if (l->tls && ws__tls_attach(c, l->tls) != WS_OK) c->flags |= WS__F_BROKEN;
        if (c->io->handshake) c->state = WS__TLS;
        ws__pend(c);   /* settles its poll interest and handshake timer */
        if (nh >= 0 && nh < WS__ACCEPT_HOLD - 1) { held[nh++] = c; continue; }
        for (k = 0; k < nh; k++) ws__accept_read(held[k]);   /* a burst: the held ones first */
        nh = -1;
        ws__accept_read(c);
    }
}

/* 1: an IPv6 socket takes IPv6 peers only (IPV6_V6ONLY; lwIP's default is 0, dual-stack) */
static int ws__v6only(ws__sock s) {
#if defined(IPV6_V6ONLY) && !defined(WS__NO_IPV6)
    int v = 0;
    socklen_t n = sizeof v;
    return ws__getsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, (char *)&v, &n) != 0 || v != 0;
#else
    (void)s;
    return 0;
#endif
}

/* l->port, l->addr, l->any and l->url from the bound address; for a wildcard the URL names
 * loopback (a URL to dial from this machine). */
static void ws__listener_name(ws_listener *l) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char addr[64], bound[64];
    static const uint8_t any[16] = {0};
    uint8_t ip[16] = {0};
    ws__out o;
    int v6;
    if (ws__getsockname(l->fd, (struct sockaddr *)&ss, &sl) != 0) return;
    v6 = ws__sa_split((struct sockaddr *)&ss, ip, &l->port) == WS__F_ADDR6;
    l->any = !memcmp(ip, any, v6 ? 16 : 4);
    if (!ws__inet_ntop(v6 ? AF_INET6 : AF_INET, ip, bound, sizeof bound)) strcpy(bound, v6 ? "::" : "0.0.0.0");
    strcpy(addr, !l->any ? bound : v6 ? "::1" : "127.0.0.1");
    o.p = l->url; o.cap = sizeof l->url; o.len = 0; o.err = 0;
    ws__puts(&o, "ws://");
    ws__put_hostport(&o, addr, strlen(addr), v6, l->port);
    ws__puts(&o, "/");
    (void)ws__out_done(&o, NULL);
    o.p = l->addr; o.cap = sizeof l->addr; o.len = 0; o.err = 0;
    ws__put_hostport(&o, bound, strlen(bound), v6, l->port);
    (void)ws__out_done(&o, NULL);
    if (l->any && WS__TEXT) {   /* the URL says loopback: tell that other machines can dial in too */
        char m[160];
        o.p = m; o.cap = sizeof m; o.len = 0; o.err = 0;
        ws__puts(&o, "ws.h: listening on ");
        ws__puts(&o, l->addr);
        ws__puts(&o, !v6 ? ", all IPv4 interfaces" : ws__v6only(l->fd) ? ", all IPv6 interfaces"
                                                   : ", all IPv4 and IPv6 interfaces");
        ws__puts(&o, " (from this machine: ");
        ws__put(&o, l->url + 5, strlen(l->url + 5) - 1);   /* "127.0.0.1:PORT" */
        ws__puts(&o, ")");
        if (ws__out_done(&o, NULL) == WS_OK) ws__log(l->ctx, 2, m);
    }
}

static ws_result ws__listen_on(ws_ctx *ctx, const char *host, int port, ws_listener **out) {
    ws__addrinfo *res = NULL, *a;
    ws_listener *l;
    char ps[8], where[300];
    ws__out o;
    ws__sock s = WS__INVALID_SOCK;
    int one = 1, e = 0, off = 0;
    if (out) *out = NULL;
    if (!ctx) return WS_ERR_ARG;
    if (ctx->destroying) return WS_ERR_CLOSED;   /* a CLOSE callback inside ws_ctx_destroy */
    if (port < 0 || port > 65535) {   /* not silently modulo 65536 */
        ws__ctx_err(ctx, WS__T("ws_listen: port out of range (0-65535; 0 = any free port)"), NULL, NULL);
        return WS_ERR_ARG;
    }
#if !defined(SO_REUSEPORT) || defined(_WIN32)
    if (ctx->cfg.reuse_port) {
        ws__ctx_err(ctx, WS__T("ws_listen: reuse_port needs SO_REUSEPORT, which this system lacks: "
                         "accept in one ctx and hand sockets to the others (ws_ctx_post + ws_conn_adopt)"),
                    NULL, NULL);
        return WS_ERR_ARG;
    }
#endif
    if (!host || !*host) host = "0.0.0.0";
    ws__utoa(ps, (unsigned)port);
    where[0] = '\0';
    if (WS__TEXT) {   /* "ws_listen on HOST:PORT: " */
        o.p = where; o.cap = sizeof where; o.len = 0; o.err = 0;
        ws__puts(&o, "ws_listen on ");
        ws__put_hostport(&o, host, WS__MIN(strlen(host), (size_t)200), strchr(host, ':') != NULL, (unsigned)port);
        ws__puts(&o, ": ");
        if (ws__out_done(&o, NULL) != WS_OK) strcpy(where, "ws_listen: ");
    }
    if (ws__resolve(host, ps, WS__RES_PASSIVE, &res) != 0) {
        ws__ctx_err(ctx, where, WS__T("the host does not resolve to an address"), NULL);
        return WS_ERR_DNS;
    }
    for (a = res; a; a = a->ai_next) {
        s = ws__socket(a->ai_family, SOCK_STREAM, IPPROTO_TCP);
        if (s == WS__INVALID_SOCK) { e = ws__sock_errno(); continue; }   /* (no IPv6 here: why) */
#if defined(IPV6_V6ONLY) && !defined(WS__LWIP)   /* (lwIP: 0 already) */
        /* "::" takes IPv4 peers too (as ::ffff:a.b.c.d), on every system: Windows (and Linux with
         * net.ipv6.bindv6only=1) would take IPv6 peers only. libuv and Node do the same. */
        if (a->ai_family == AF_INET6)
            (void)ws__setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&off, sizeof off);
#endif
#if !defined(_WIN32)   /* on Windows SO_REUSEADDR would allow port stealing */
        (void)ws__setsockopt(s, SOL_SOCKET, SO_REUSEADDR, (const char *)&one, sizeof one);
#endif
#if defined(SO_REUSEPORT) && !defined(_WIN32)
        if (ctx->cfg.reuse_port)   /* one listener per ctx (thread), the kernel spreads */
            (void)ws__setsockopt(s, SOL_SOCKET, SO_REUSEPORT, (const char *)&one, sizeof one);
#endif
        if (ws__bind(s, a->ai_addr, WS__SOCKLEN(a->ai_addrlen)) == 0 && ws__listen(s, 128) == 0) break;
        e = ws__sock_errno();
        ws__sock_close(s);
        s = WS__INVALID_SOCK;
    }
    ws__resolve_free(res);
    (void)one; (void)off;
    if (s == WS__INVALID_SOCK) {
        ws__ctx_err(ctx, where, ws__sock_why(e, 1), NULL);
        return ws__err_addrinuse(e) ? WS_ERR_ADDR_IN_USE : WS_ERR_IO;
    }
    (void)ws__sock_nonblock(s);
    l = (ws_listener *)ws__alloc(ctx, sizeof *l);
    if (!l) { ws__sock_close(s); return WS_ERR_NOMEM; }
    memset(l, 0, sizeof *l);
    l->ctx = ctx;
    l->kind = WS__K_LISTENER;
    l->fd = s;
#ifdef __linux__   /* accepted sockets inherit TCP_NODELAY: a setsockopt fewer per connection */
    l->nodelay = ws__setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one) == 0;
#endif
    ws__listener_name(l);
    if (!ctx->accept_resume) ws__epoll_set(ctx, l->fd, l, &l->ereg, WS_POLLIN);
    l->next = ctx->listeners;
    ctx->listeners = l;
    if (out) *out = l;
    return WS_OK;
}
static ws_result ws__listen_tls(ws_ctx *ctx, const char *host, int port,
                                const ws_tls_opts *tls, ws_listener **out);
/* ws_listen and ws_listen_tls: held (the log, on_watch run callbacks) */
static ws_result ws__listen_held(ws_ctx *ctx, const char *host, int port, const ws_tls_opts *tls,
                                 int secure, ws_listener **out) {
    ws_listener *l = NULL;
    ws_result rc = secure ? ws__listen_tls(ws__hold(ctx), host, port, tls, &l)
                          : ws__listen_on(ws__hold(ctx), host, port, &l);
    if (ws__release(ctx)) l = NULL;   /* ws_ctx_destroy from one of them: l went with ctx */
    if (out) *out = l;
    return rc;
}
WS_API ws_result ws_listen(ws_ctx *ctx, const char *host, int port, ws_listener **out) {
    return ws__listen_held(ctx, host, port, NULL, 0, out);
}
WS_API ws_result ws_listen_tls(ws_ctx *ctx, const char *host, int port,
                               const ws_tls_opts *tls, ws_listener **out) {
    return ws__listen_held(ctx, host, port, tls, 1, out);
}

static ws_result ws__listen_tls(ws_ctx *ctx, const char *host, int port,
                                const ws_tls_opts *tls, ws_listener **out) {
    ws__tls_cfg *g = NULL;
    ws_listener *l = NULL;
    char err[320];
    ws_result rc;
    size_t n;
    if (out) *out = NULL;
    if (!ctx || !tls) return WS_ERR_ARG;
    if (port < 0 || port > 65535) return ws__listen_on(ctx, host, port, out);   /* WS_ERR_ARG */
    rc = ws__tls_cfg_new(ctx, tls, 1, &g, err, sizeof err);
    if (rc != WS_OK) { ws__ctx_err(ctx, err, NULL, NULL); return rc; }
    rc = ws__listen_on(ctx, host, port, &l);
    if (rc != WS_OK) { ws__tls_cfg_release(ctx, g); return rc; }
    l->tls = g;
    n = strlen(l->url);
    if (n + 1 < sizeof l->url && n > 2) { memmove(l->url + 3, l->url + 2, n - 1); l->url[2] = 's'; }
    if (out) *out = l;
    return WS_OK;
}

#else   /* WS_NO_SERVER: no listeners, nothing to accept */
static void ws__accept(ws_ctx *ctx, ws_listener *l) { (void)ctx; (void)l; }
#endif

WS_API uint16_t ws_listener_port(const ws_listener *l) { return l ? l->port : 0; }
WS_API const char *ws_listener_url(const ws_listener *l) { return l ? l->url : ""; }
WS_API const char *ws_listener_addr(const ws_listener *l) { return l ? l->addr : ""; }
WS_API int ws_listener_any(const ws_listener *l) { return l ? l->any : 0; }
WS_API void ws_listener_close(ws_listener *l) {
    ws_listener **pp;
    ws_ctx *ctx;
    if (!l || WS__NO_SERVER) return;   /* WS_NO_SERVER: there is none */
    if (l->fd == WS__INVALID_SOCK) return;   /* closed already (ws_ctx_destroy's CLOSEs) */
    ctx = ws__hold(l->ctx);   /* on_watch */
    for (pp = &l->ctx->listeners; *pp; pp = &(*pp)->next)
        if (*pp == l) { *pp = l->next; break; }
    ws__epoll_set(l->ctx, l->fd, l, &l->ereg, 0);
    ws__sock_close(l->fd);
    l->fd = WS__INVALID_SOCK;
    ws__tls_cfg_release(l->ctx, l->tls);   /* its connections keep their own references */
    l->tls = NULL;
    l->next = l->ctx->dead_listeners;      /* freed after the dispatch that may still name it */
    l->ctx->dead_listeners = l;
    (void)ws__release(ctx);
}

/* ==== >>poll ==== the loop: epoll or poll(), the timer heap, pending work, foreign loops ==== */
struct ws_watch {                /* ws_watch_fd: a descriptor of the application's */
    uint8_t   kind;              /* WS__K_WATCH, at the same offset as ws_conn.kind */
    uint8_t   ereg, want, dead;
    ws_watch *next;
    ws_ctx   *ctx;
    ws__sock  fd;
    void    (*fn)(ws_ctx *ctx, intptr_t fd, int revents, void *arg);
    void     *arg;
    void     *hsock;             /* on_watch: the host's pointer for it */
};
struct ws_timer {                /* ws_timer_start: an application timer in the conns' heap */
    ws__hnode hn;                /* first: the heap's entry (hn.hidx bit 0 = 1) */
    ws_timer *next, *prev;       /* ctx->timers */
    ws_ctx   *ctx;
    void    (*fn)(ws_ctx *ctx, void *arg);
    void     *arg;
    int64_t   due;               /* hn's key is at most 2^30 ms ahead: then filed again */
    int       repeat_ms;
    uint8_t   autofree, running, cancelled;
};
/* A client waiting to reconnect was closed (ws_conn_close, ws_ctx_destroy): its last CLOSE
 * said a retry would follow, so it gets a final one. */
static void ws__cancel_retry(ws_conn *c) {
    ws_event ev;
    c->state = WS__CLOSED;
    c->flags |= WS__F_DEAD;
    ws__pend(c);
    ws__ev_init(&ev, WS_EV_CLOSE);
    ev.close_code = WS_CLOSE_ABNORMAL;
    ev.result = WS_ERR_CLOSED;
    ev.msg = WS__T("reconnect cancelled");
    ws__emit(c, &ev);
}

/* The bytes c's ws_io holds that a read returns without the descriptor (TLS's decrypted ones) */
static size_t ws__io_pending(const ws_conn *c) {
    return c->io && c->io->pending ? (c->io->pending)(c->io_arg) : 0;
}

/* How large reads grow while each fills its buffer: to WS_POOL_BUF_MAX, and once one filled
 * that, to 1 MiB (as raw TCP reads) in the ctx's one large buffer, ctx->big (if frames may be
 * that large, and these are not: a frame over 64 KiB is read as in the HAVE_FRAME case); then
 * each read starts in it, while reads into it fill WS_BUF_MIN. */
static size_t ws__rd_top(ws_ctx *ctx, const ws_conn *c, size_t full) {
    if (full < WS_POOL_BUF_MAX || full >= 2 * (size_t)WS_POOL_BUF_MAX || ws__max_frame(ctx) < WS_POOL_BUF_MAX ||
        ((c->flags & WS__F_HAVE_FRAME) && c->fr.payload_len > WS_POOL_BUF_MAX / 4))
        return WS_POOL_BUF_MAX;   /* large frames: read into big as each needs (above) */
    ctx->rd_big = 1;
    return (size_t)1 << 20;
}
/* A reader left with a partial frame in a large buffer: the few bytes (a 64 KiB frame's
 * start) move to a pooled (or fresh) one and the large one goes back for the next reader, when
 * no other is kept (a large partial frame stays where it is). So does a send queue whose
 * socket is full again with the last few bytes of a large message (ws__flush): a slow peer
 * does not keep a large buffer with its connection. */
static int ws__rd_moves(const ws_ctx *ctx, const ws__buf *b) {   /* would it move b's bytes? */
    return b && b->cap > WS_POOL_BUF_MAX && !ctx->big && ws__buf_used(b) <= WS_POOL_BUF_MAX / 4;
}
static void ws__rd_unbig(ws_ctx *ctx, ws__buf **pb) {
    ws__buf *b = *pb, *nb = NULL;
    size_t used = ws__buf_used(b);
    if (!ws__rd_moves(ctx, b)) return;
    /* a pooled buffer, or (none in the pool) a fresh one: the large one must not stay with
     * a few bytes while the budget is needed elsewhere (in ctx->big it is given back first) */
    if (!ws__buf_reserve_f(ctx, &nb, used, 0, 0)) return;
    nb->len = used;
    memcpy(WS__BDATA(nb), WS__BDATA(b) + b->off, used);
    ws__buf_put(ctx, pb);
    *pb = nb;
}

/* c's frame (or, between frames, its last one) is larger than a pooled buffer: it needs a
 * large one anyway, so the next frame's start is read into ctx->big and a large frame's start
 * stays where it is, instead of moving between a pooled buffer and big (1 MiB echoes: 13 %
 * of the bytes); a few bytes of a header still move (ws__rd_unbig) */
static int ws__rd_large(const ws_conn *c) { return c->fr.payload_len > WS_POOL_BUF_MAX; }

/* Would ws__rd_unbig copy c's partial frame out of the large buffer? Then one more recv is
 * cheaper than that copy (16 KiB to 64 KiB): the frame's rest is often on its way as the
 * round ends (its sender is still writing it) and completes where it is; if not, the recv
 * says WS_AGAIN and the bytes move as before. */
static int ws__rd_keep(const ws_ctx *ctx, const ws_conn *c) {
    return (c->flags & WS__F_HAVE_FRAME) && ws__rd_moves(ctx, c->rx) && ws__buf_used(c->rx) >= WS_BUF_MIN;
}

static void ws__readable(ws_conn *c) {
    ws_ctx *ctx = c->ctx;
    int i;
    size_t room = 0, full = 0;   /* full: the last read filled all of its room */
    for (i = 0; i < 16 && c->state != WS__CLOSED && c->io && !(c->flags & (WS__F_DEAD | WS__F_BROKEN)); i++) {
        size_t got = 0, want = WS_BUF_MIN;
        ws_result rc;
        uint8_t junk[2048];
        if (!(c->state == WS__OPEN || c->state == WS__HANDSHAKE || ws__reading(c))) {
            /* closing: input is read and dropped, without taking a buffer */
            ctx->in_cb++;   /* a ws_io's calls count as callbacks (ws__flush) */
            rc = (c->io->read)(c->io_arg, junk, sizeof junk, &got);
            ctx->in_cb--;
            want = sizeof junk;
            if (got > want) rc = WS_ERR_IO;   /* a broken ws_io (below) */
            if (rc == WS_OK) { c->last_rx = ws__t32_of(ctx->now); if (got < want / 2) break; continue; }
        } else {
            /* the ctx's reads are large, or c's frames are (ws__rd_large) */
            if (!c->rx && (ctx->rd_big || ws__rd_large(c)) && ctx->big && c->state == WS__OPEN)
                (void)ws__buf_take_big(ctx, &c->rx, 0);
            if (c->flags & WS__F_HAVE_FRAME) {   /* read the rest of a big frame in few calls */
                uint64_t rest = c->fr.header_len + c->fr.payload_len - ws__buf_used(c->rx);
                /* room for all of it at once (no doubling steps that copy), but for more
                 * than 1 MiB only once the peer has sent the first MiB */
                uint64_t lim = ws__buf_used(c->rx) >= ((size_t)1 << 20) ? rest : (uint64_t)1 << 20;
                want = (size_t)WS__MIN(WS__MAX(rest, (uint64_t)WS_BUF_MIN), lim);
                /* it fits in the room after its start: read there, without moving the start
                 * (up to 1 MiB) to the buffer's front for more room */
                if (c->rx && rest && rest <= c->rx->cap - c->rx->len) want = (size_t)rest;
            }
            /* the socket had more than the buffer took: read in bigger steps, a few frames
             * per read as raw TCP would (a buffer of up to WS_POOL_BUF_MAX, so it is pooled;
             * while a quarter of max_memory is free: a partial frame keeps its buffer). Past
             * that (4 x 64 KiB frames in flight are 40 bytes more than 256 KiB: a second
             * recv and sendmsg for the last one), up to 1 MiB in ctx->big, the one large
             * buffer the ctx keeps: the next reads start in it (ws__rd_big) */
            if (full && ws__buf_used(c->rx) + want < WS__MIN(2 * full, ws__rd_top(ctx, c, full)) &&
                ctx->mem_used < ws__max_memory(ctx) / 4 * 3)
                want = WS__MIN(2 * full, ws__rd_top(ctx, c, full)) - ws__buf_used(c->rx);
            if (c->state == WS__HANDSHAKE) {
                /* a head: small buffers, bounded by max_pending x max_handshake, not refused
                 * (a 503 must still be answerable when the budget is spent) */
                want = WS__MIN((size_t)1024, ws__max_handshake(ctx));
                if (!ws__buf_reserve_f(ctx, &c->rx, want, WS__B_SMALL | WS__B_FORCE,
                                       ws__max_handshake(ctx) + want)) {
                    ws__fail(c, WS_ERR_NOMEM, WS__T("out of memory")); ws__finish(c); return;
                }
            } else if (!ws__buf_reserve_f(ctx, &c->rx, want, 0,
                                          ws__max_frame(ctx) / 2 < (size_t)-1 / 2 - 2 * WS_BUF_MIN ?
                                          ws__max_frame(ctx) + 2 * WS_BUF_MIN : 0)) {
                int budget = ctx->mem_full;
                ws__buf_put(ctx, &c->rx);
                ws__fail_nomem(c);     /* the budget: close 1013, the others go on */
                /* malloc failed: the input's memory went back, so the close frame (1011) could
                 * be queued and goes out; only if even that failed, end TCP at once */
                if (!budget && !ws__buf_used(c->tx)) ws__finish(c);
                return;
            }
            room = c->rx->cap - c->rx->len;
            ctx->in_cb++;
            rc = (c->io->read)(c->io_arg, WS__BDATA(c->rx) + c->rx->len, room, &got);
            ctx->in_cb--;
            if (got > room) rc = WS_ERR_IO;   /* a ws_io that says it read more than it was given */
            full = got == room ? c->rx->cap : 0;
            if (rc == WS_OK && c->rx->cap > WS_POOL_BUF_MAX && c->rx->off == c->rx->len && got < WS_BUF_MIN)
                ctx->rd_big = 0;   /* reads starting in big got little: back to the pool */
        }
        if (rc == WS_AGAIN) break;
        if (rc == WS_ERR_CLOSED) { ws__buf_put(ctx, &c->rx); ws__on_eof(c); return; }
        if (rc == WS_ERR_IO && (c->flags & WS__F_GOT_CLOSE)) {   /* peer sent close, then reset */
            ws__buf_put(ctx, &c->rx); ws__finish(c); return;
        }
        if (rc != WS_OK) {
            ws__buf_put(ctx, &c->rx);
            ws__abort(c, rc, rc == WS_ERR_TLS ? WS__T("TLS error") : WS__T("receive failed: connection lost"));
            return;
        }
        c->last_rx = ws__t32_of(ctx->now);
        c->rx->len += got;
        if (c->state == WS__OPEN || c->state == WS__HANDSHAKE || ws__reading(c)) ws__conn_process(c);
        else c->rx->off = c->rx->len;   /* closing: input is read and dropped */
        if (c->rx && c->rx->off == c->rx->len && !(c->flags & WS__F_HAVE_FRAME)) ws__buf_put(ctx, &c->rx);
        /* the socket is probably empty (poll says so again if not; one recv fewer per wake-up
         * than reading on to EAGAIN): the read got less than half its room, or less than its
         * room and ended on a frame's end (3 x 64 KiB frames in 256 KiB: one recv, not two;
         * a frame's rest is read on, so its buffer is done with sooner); a ws_io without an
         * fd is woken once per ws_conn_io_ready, so it is read until it says WS_AGAIN; a
         * frame's start in the large buffer is read on (ws__rd_keep) */
        if ((got < room / 2 || (got < room && !c->rx)) && c->fd != WS__INVALID_SOCK && !ws__rd_keep(ctx, c))
            break;
    }
    if (i == 16 && c->fd == WS__INVALID_SOCK && c->io) {   /* more to read: in the next round */
        c->iorev = (uint8_t)(c->iorev | WS_POLLIN);
        ws__pend(c);
    }
    if (c->rx && c->rx->off == c->rx->len && !(c->flags & WS__F_HAVE_FRAME)) ws__buf_put(ctx, &c->rx);
    else if (c->rx) {
        if (!(c->flags & WS__F_HAVE_FRAME) || !ws__rd_large(c)) ws__rd_unbig(ctx, &c->rx);
        ws__buf_trim(ctx, &c->rx, (c->flags & WS__F_HAVE_FRAME) ? c->fr.header_len + c->fr.payload_len : 0);
    }
    if (c->fd != WS__INVALID_SOCK && ws__io_pending(c)) ws__pend(c);   /* TLS holds more */
}

#ifndef WS_NO_CLIENT
/* A connecting socket that polled ready: 0 = connected, -1 = not yet, else the error. */
static int ws__connect_status(ws__sock s) {
    int err = 0;
    socklen_t len = sizeof err;
    if (ws__getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0) err = 1;
    if (err == 0) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        /* a host may hand over a POLLOUT too early: no peer yet means still connecting */
        if (ws__getpeername(s, (struct sockaddr *)&ss, &sl) != 0) return -1;
    }
    return err;
}
static void ws__connect_ready(ws_conn *c) {   /* POLLOUT/ERR while CONNECTING */
    int err = ws__connect_status(c->fd);
    if (err < 0) return;
    if (err == 0) { ws__client_connected(c); return; }
    ws__cl(c)->last_err = err;
    ws__io_close(c);
    ws__client_try(c);
}
#ifdef WS__RACE
/* POLLOUT/ERR on c's racer (ws__race_start): it wins, or it failed and the next starts. */
static void ws__race_io(ws__race *r, short rev) {
    ws_conn *c = r->c;
    int err;
    if (!r->ai || c->state != WS__CONNECTING || (c->flags & (WS__F_DEAD | WS__F_BROKEN)) ||
        !(rev & (WS_POLLOUT | WS_POLLERR | WS_POLLHUP)) || (err = ws__connect_status(r->fd)) < 0)
        return;
    if (err == 0) {
        ws__race_move(c);
        ws__client_connected(c);
    } else {
        ws__cl(c)->last_err = err;
        ws__race_drop(c);
        ws__race_start(c);
        ws__race_due(c);
    }
}
#endif

#else
static void ws__connect_ready(ws_conn *c) { (void)c; }
#endif

static void ws__tls_step(ws_conn *c) {
    ws_result rc = c->io && c->io->handshake ? (c->io->handshake)(c->io_arg) : WS_OK;
    if (rc == WS_AGAIN) return;
    if (rc != WS_OK) { ws__abort(c, rc, WS__T("TLS handshake failed")); return; }
    c->state = WS__HANDSHAKE;
    if (c->flags & (WS__F_PREOPEN | WS__F_FEED)) ws__pend(c);   /* adopted: open / read the head */
}

static short ws__interest(const ws_conn *c) {
    short ev = 0;
    if (c->fd == WS__INVALID_SOCK || (c->flags & WS__F_DEAD)) return 0;
    switch (c->state) {
    case WS__CONNECTING: return WS_POLLOUT;
    case WS__PROXY: return (short)(WS_POLLIN | (ws__buf_used(c->tx) ? WS_POLLOUT : 0));
    case WS__TLS:   /* only what the TLS handshake waits for: queued bytes wait for it */
        return ws__io_want(c);
    case WS__HANDSHAKE: case WS__OPEN: case WS__CLOSING:
        ev = (c->flags & WS__F_EOF) ? 0 : WS_POLLIN;   /* (ws__on_eof) */
        if (ws__buf_used(c->tx)) ev |= WS_POLLOUT;
        return (short)(ev | ws__io_want(c));
    default: return 0;
    }
}

/* ---- timers: a binary min-heap of connections keyed by their earliest due time. Only
 * a conn's own events move its entry, so a loop pass costs O(active * log n), not O(n).
 * Due times may be early (last_rx moved on): the conn is then just filed again. ---- */
#define WS__CONN_OF(n) ((ws_conn *)(void *)((char *)(n) - offsetof(ws_conn, hn)))
static int ws__heap_le(const ws__hnode *a, const ws__hnode *b) { return (int32_t)(a->due - b->due) <= 0; }
static void ws__heap_set(ws_ctx *x, size_t i, ws__hnode *n) {
    x->heap[i] = n;
    n->hidx = (uint32_t)((i + 1) << 1) | (n->hidx & 1u);
}
static void ws__heap_up(ws_ctx *x, size_t i) {
    ws__hnode *n = x->heap[i];
    while (i) {
        size_t p = (i - 1) / 2;
        if (ws__heap_le(x->heap[p], n)) break;
        ws__heap_set(x, i, x->heap[p]);
        i = p;
    }
    ws__heap_set(x, i, n);
}
static void ws__heap_down(ws_ctx *x, size_t i) {
    ws__hnode *n = x->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, m;
        if (l >= x->hlen) break;
        m = (l + 1 < x->hlen && !ws__heap_le(x->heap[l], x->heap[l + 1])) ? l + 1 : l;
        if (ws__heap_le(n, x->heap[m])) break;
        ws__heap_set(x, i, x->heap[m]);
        i = m;
    }
    ws__heap_set(x, i, n);
}
static void ws__heap_remove(ws_ctx *x, ws__hnode *n) {
    size_t i = WS__HPOS(n) - 1;
    ws__hnode *last = x->heap[--x->hlen];
    n->hidx &= 1u;
    if (last != n) { ws__heap_set(x, i, last); ws__heap_up(x, i); ws__heap_down(x, WS__HPOS(last) - 1); }
}
/* Files n under due (0: takes it out). The heap has room: one slot per conn and ws_timer. */
static void ws__heap_file(ws_ctx *x, ws__hnode *n, int64_t t) {
    int32_t d = (int32_t)((ws__t32)t - (ws__t32)x->now);   /* |t - now| < 2^31 */
    ws__t32 due = t ? ws__t32_of((ws__t32)x->now + (ws__t32)WS__MIN(d, (int32_t)1 << 30)) : 0;   /* later: early */
    if (WS__HPOS(n)) {
        size_t i = WS__HPOS(n) - 1;
        if (due == n->due) return;
        if (!due) { ws__heap_remove(x, n); return; }
        n->due = due;
        ws__heap_up(x, i);
        ws__heap_down(x, WS__HPOS(n) - 1);
    } else if (due) {
        n->due = due;
        ws__heap_set(x, x->hlen++, n);
        ws__heap_up(x, x->hlen - 1);
    }
}
static void ws__sched(ws_conn *c) { ws__heap_file(c->ctx, &c->hn, ws__due(c)); }   /* c's timers */

/* ---- the host's own loop (ws_config.on_watch / on_timer): it is told what changes ---- */
static void **ws__host_slot(ws_ctx *x, void *owner) {   /* where the host's pointer lives */
    if (!owner) return &x->wake_host;
    if (*(const uint8_t *)owner == WS__K_LISTENER) return &((ws_listener *)owner)->hsock;
    if (*(const uint8_t *)owner == WS__K_WATCH) return &((ws_watch *)owner)->hsock;
#ifdef WS__RACE
    if (*(const uint8_t *)owner == WS__K_RACE) return &((ws__race *)owner)->hsock;
#endif
    return &((ws_conn *)owner)->x->hsock;   /* with on_watch every conn has its x */
}
static void ws__host_watch(ws_ctx *x, ws__sock fd, void *owner, uint8_t *reg, uint8_t want) {
    void **h = ws__host_slot(x, owner);
    x->in_cb++;   /* the host's hooks count as callbacks: ws_socket_ready / ws_timer_fired
                   * from inside them would re-enter a ws.h call (asserted) */
    x->cfg.on_watch(x, (intptr_t)fd, want, owner ? owner : (void *)x, h, x->cfg.user);
    x->in_cb--;
    *reg = want;
    if (!want) *h = NULL;
}
static int ws__timeout(ws_ctx *ctx);
/* Tells on_timer when the next pass is due, if that changed (0: pending work). */
static void ws__timer_sync(ws_ctx *ctx) {
    int64_t due;
    int t;
    if (!ctx->cfg.on_timer || ctx->engine || ctx->destroying) return;
    t = ws__timeout(ctx);
    due = t < 0 ? -1 : ctx->now + t;
    if (due == ctx->timer_told) return;   /* the host's timer fires then already */
    ctx->timer_told = due;
    ctx->in_cb++;
    ctx->cfg.on_timer(ctx, t, ctx->cfg.user);
    ctx->in_cb--;
}

/* ---- epoll (Linux): the kernel keeps the watch list, so a pass costs O(ready) ---- */
#if defined(__linux__) && !defined(WS_NO_EPOLL)
#  include <sys/epoll.h>
#  define WS__EPOLL 1
/* The kernel's struct epoll_event is packed on x86-64 (12 bytes, data at offset 4); glibc says
 * so with __attribute__((packed)), which some compilers ignore (tcc 0.9.27: 16 bytes). With the
 * wrong layout every event would carry a garbage pointer, so such builds use poll(). */
static int ws__epoll_usable(void) {
#if defined(__x86_64__)
    return sizeof(struct epoll_event) == 12;
#else
    return 1;
#endif
}
static void ws__epoll_set(ws_ctx *x, ws__sock fd, void *ptr, uint8_t *reg, uint8_t want) {
    struct epoll_event e;
    if (want == *reg) return;
    if (x->cfg.on_watch) { ws__host_watch(x, fd, ptr, reg, want); return; }
    if (x->epfd < 0) return;
    memset(&e, 0, sizeof e);
    e.events = ((want & WS_POLLIN) ? (uint32_t)EPOLLIN : 0u) | ((want & WS_POLLOUT) ? (uint32_t)EPOLLOUT : 0u);
    e.data.ptr = ptr;
    if (epoll_ctl(x->epfd, !*reg ? EPOLL_CTL_ADD : want ? EPOLL_CTL_MOD : EPOLL_CTL_DEL, fd, &e) == 0 || !want)
        *reg = want;
}
#else
static void ws__epoll_set(ws_ctx *x, ws__sock fd, void *ptr, uint8_t *reg, uint8_t want) {
    if (want != *reg && x->cfg.on_watch) ws__host_watch(x, fd, ptr, reg, want);
}
#endif
static void ws__watch(ws_conn *c) { ws__epoll_set(c->ctx, c->fd, c, &c->ereg, (uint8_t)ws__interest(c)); }
static void ws__unwatch(ws_conn *c) {
    if (c->fd != WS__INVALID_SOCK) ws__epoll_set(c->ctx, c->fd, c, &c->ereg, 0);
    c->ereg = 0;
}
/* After anything happened to c: its poll interest and its timer follow its new state. */
static void ws__settle(ws_conn *c) {
    ws__watch(c);
    ws__sched(c);
}

/* ---- the foreign-loop interface (and ws_poll without epoll) ---- */
static int ws__timeout(ws_ctx *ctx) {   /* how long the loop may sleep: -1 = no timer */
    int64_t due;
    if (ctx->pend) return 0;
    if (!ctx->hlen && !WS__PAUSED(ctx)) return -1;
    due = ctx->hlen ? ctx->now + (int32_t)(ctx->heap[0]->due - (ws__t32)ctx->now) : WS__PAUSED(ctx);
    if (WS__PAUSED(ctx) && WS__PAUSED(ctx) < due) due = WS__PAUSED(ctx);
    if (due <= ctx->now) return 0;
    return (int)WS__MIN(due - ctx->now, (int64_t)0x7FFFFFFF);
}

/* What the loop watches now, into ctx->owners (ws_pollfds and ws_poll list the same):
 * owners[i] is what entry i stands for: NULL (wake-up), a listener, a watch or a conn.
 * The number of entries, or (size_t)-1 when out of memory. */
static size_t ws__collect(ws_ctx *ctx) {
    size_t n = 0, ocap;
    ws_listener *l;
    ws_watch *w;
    ws_conn *c;
    ws__now_set(ctx);
    ocap = 1;
    for (l = ctx->listeners; l; l = l->next) ocap++;
    for (w = ctx->watches; w; w = w->next) ocap++;
    ocap += ctx->nconns;
    ctx->owner_len = 0;
    if (!ws__grow(ctx, (void **)&ctx->owners, &ctx->owner_cap, ocap, sizeof *ctx->owners)) return (size_t)-1;
#define WS__ADD(owner, sock, evs) do { \
        ctx->owners[n].o = (owner); ctx->owners[n].fd = (intptr_t)(sock); ctx->owners[n].ev = (short)(evs); n++; } while (0)
    if (ctx->wake_r != WS__INVALID_SOCK) WS__ADD(NULL, ctx->wake_r, WS_POLLIN);
    if (!WS__PAUSED(ctx))   /* paused listeners (out of descriptors) are not watched */
        for (l = ctx->listeners; l; l = l->next) WS__ADD((void *)l, l->fd, WS_POLLIN);
    for (w = ctx->watches; w; w = w->next) if (w->want) WS__ADD((void *)w, w->fd, w->want);
    for (c = ctx->head; c; c = c->next) {
        short ev = ws__interest(c);
        if (ev) WS__ADD((void *)c, c->fd, ev);
#ifdef WS__RACE   /* a client's second connect in flight: one entry more */
        if (ws__cl(c) && ws__cl(c)->race.ai) {
            if (!ws__grow(ctx, (void **)&ctx->owners, &ctx->owner_cap, ++ocap, sizeof *ctx->owners)) return (size_t)-1;
            WS__ADD((void *)&ws__cl(c)->race, ws__cl(c)->race.fd, WS_POLLOUT);
        }
#endif
    }
#undef WS__ADD
    ctx->owner_len = n;
    return n;
}
WS_API size_t ws_pollfds(ws_ctx *ctx, ws_pollfd *out, size_t cap, int *timeout_ms) {
    size_t n = ws__collect(ctx), i;
    if (n == (size_t)-1) {
        if (timeout_ms) *timeout_ms = 10;   /* out of memory: try again soon */
        return 0;
    }
    for (i = 0; i < n && i < cap; i++) {
        out[i].fd = ctx->owners[i].fd;
        out[i].events = ctx->owners[i].ev;
        out[i].revents = 0;
    }
    if (timeout_ms) *timeout_ms = ws__timeout(ctx);
    return n;
}

static void ws__run_posts(ws_ctx *ctx);
static void ws__wake_drain(ws_ctx *ctx) {
    char buf[64];
    ws_conn *c;
#if defined(_WIN32) || defined(WS__LWIP)
    while (ws__sock_recv(ctx->wake_r, buf, sizeof buf) > 0) {}
#else
    while (read(ctx->wake_r, buf, sizeof buf) > 0) {}
#endif
#ifndef WS_NO_THREADS
    if (ctx->nresolving)   /* a resolver thread may be done */
        for (c = ctx->head; c; c = c->next)
            if (c->state == WS__RESOLVING && ws__cl(c) && ws__cl(c)->dns) ws__pend(c);
#endif
    (void)c;
    ws__run_posts(ctx);
}

/* What a ready fd stands for: the last ws_pollfds' list, else a search. */
static void *ws__owner_of(ws_ctx *ctx, const ws_pollfd *p, size_t i, int *found) {
    size_t k;
    ws_conn *c;
    ws_listener *l;
    ws_watch *w;
    *found = 1;
    if (i < ctx->owner_len && ctx->owners[i].fd == p->fd) return ctx->owners[i].o;
    for (k = 0; k < ctx->owner_len; k++) if (ctx->owners[k].fd == p->fd) return ctx->owners[k].o;
    if (p->fd == (intptr_t)ctx->wake_r) return NULL;
    for (l = ctx->listeners; l; l = l->next) if ((intptr_t)l->fd == p->fd) return l;
    for (w = ctx->watches; w; w = w->next) if ((intptr_t)w->fd == p->fd) return w;
    for (c = ctx->head; c; c = c->next) {
        if ((intptr_t)c->fd == p->fd) return c;
#ifdef WS__RACE
        if (ws__cl(c) && ws__cl(c)->race.ai && (intptr_t)ws__cl(c)->race.fd == p->fd) return &ws__cl(c)->race;
#endif
    }
    *found = 0;
    return NULL;
}

static void ws__conn_io(ws_conn *c, short rev) {
    if (c->flags & WS__F_DEAD) return;
    if (c->state == WS__CONNECTING) {
        if (rev & (WS_POLLOUT | WS_POLLERR | WS_POLLHUP)) ws__connect_ready(c);
    } else if (c->state == WS__PROXY) {
        ws__proxy_io(c, rev);
    } else if (c->state == WS__TLS && (ws__tls_step(c), c->state == WS__TLS)) {
        ws__flush(c);
    } else {
        if (rev & (WS_POLLIN | WS_POLLERR | WS_POLLHUP)) ws__readable(c);
        if (c->state != WS__CLOSED && !(c->flags & WS__F_DEAD)) ws__flush(c);
    }
    if (c->fd != WS__INVALID_SOCK && !(c->flags & WS__F_DEAD) && ws__io_pending(c))
        ws__pend(c);   /* TLS: decrypted bytes wait without the socket being readable */
    if (c->flags & WS__F_BROKEN) ws__finish(c);
    ws__settle(c);
}

/* One ready fd: o is NULL (the wake-up channel), a listener or a conn. */
static void ws__ready(ws_ctx *ctx, void *o, short rev) {
    if (!o) ws__wake_drain(ctx);
    else if (*(const uint8_t *)o == WS__K_LISTENER) {
        ws_listener *l = (ws_listener *)o;
        if (l->fd != WS__INVALID_SOCK) ws__accept(ctx, l);
#ifndef WS_NO_WATCH
    } else if (*(const uint8_t *)o == WS__K_WATCH) {
        ws_watch *w = (ws_watch *)o;
        if (!w->dead && (rev & (w->want | WS_POLLERR | WS_POLLHUP))) {
            if (rev & WS__POLLNVAL) w->want = 0;   /* closed while watched: told once, then no
                                                    * longer polled (poll() would not wait) */
            ctx->in_cb++;
            w->fn(ctx, (intptr_t)w->fd, rev & ~WS__POLLNVAL, w->arg);
            ctx->in_cb--;
            ctx->nevents++;
        }
#endif
#ifdef WS__RACE
    } else if (*(const uint8_t *)o == WS__K_RACE) {
        ws__race_io((ws__race *)o, rev);
        ws__settle(((ws__race *)o)->c);
#endif
    } else ws__conn_io((ws_conn *)o, rev);
}

/* One conn from the pending list: DNS done, TLS to go on, a finish, DRAINED, queued bytes. */
static void ws__service(ws_conn *c) {
    if (c->state == WS__RESOLVING) ws__client_poll_dns(c);
    if (c->state == WS__TLS && ws__has_io(c) && !(c->flags & (WS__F_DEAD | WS__F_BROKEN))) {
        ws__tls_step(c);   /* start (or go on with) the TLS handshake without waiting */
        if (c->state == WS__TLS) ws__flush(c);
    }
    if (c->state == WS__WAITING && (c->flags & WS__F_USER_CLOSE)) { ws__cancel_retry(c); return; }
    if (c->flags & WS__F_BROKEN) { ws__finish(c); return; }
    if (c->iorev) {   /* ws_conn_io_ready: a ws_io without an fd can move bytes */
        short rev = (short)c->iorev;
        c->iorev = 0;
        ws__conn_io(c, rev);
    }
    if (c->fd != WS__INVALID_SOCK && ws__io_pending(c)) ws__readable(c);
    ws__service_core(c);   /* DRAINED, what callbacks and timers queued, a finish */
}

/* ---- application timers and descriptors (ws_timer_start, ws_watch_fd) ---- */
#ifndef WS_NO_TIMERS
static void ws__timer_free(ws_timer *t) {
    ws_ctx *ctx = t->ctx;
    if (WS__HPOS(&t->hn)) ws__heap_remove(ctx, &t->hn);
    if (t->prev) t->prev->next = t->next; else ctx->timers = t->next;
    if (t->next) t->next->prev = t->prev;
    ctx->ntimers--;
    ws__free(ctx, t);
}
static void ws__timer_run(ws_ctx *ctx, ws_timer *t) {   /* t is due and out of the heap */
    t->hn.due = 0;
    if (t->repeat_ms > 0) ws__heap_file(ctx, &t->hn, t->due = ctx->now + t->repeat_ms);
    t->running = 1;
    ctx->in_cb++;
    t->fn(ctx, t->arg);
    ctx->in_cb--;
    ctx->nevents++;
    t->running = 0;
    if (t->cancelled || (t->autofree && !WS__HPOS(&t->hn))) ws__timer_free(t);
}
static int ws__timer_file(ws_timer *t, int ms) {   /* 1 = ctx was destroyed (on_timer) */
    ws_ctx *ctx = t->ctx;
    if (!ctx->dispatching) ws__now_set(ctx);   /* (in a pass: the pass's clock) */
    ws__heap_file(ws__hold(ctx), &t->hn, t->due = ctx->now + ms > 0 ? ctx->now + ms : 1);
    return ws__release(ctx);   /* tells on_timer */
}

WS_API ws_result ws_timer_start(ws_ctx *ctx, int ms, int repeat_ms,
                                void (*fn)(ws_ctx *ctx, void *arg), void *arg, ws_timer **out) {
    ws_timer *t;
    if (out) *out = NULL;
    if (!ctx || !fn || ms < 0) return WS_ERR_ARG;
    /* one heap slot per conn and timer: filing never fails */
    if (!ws__grow(ctx, (void **)&ctx->heap, &ctx->hcap, ctx->nconns + ctx->ntimers + 1, sizeof(ws__hnode *)))
        return WS_ERR_NOMEM;
    t = (ws_timer *)ws__alloc(ctx, sizeof *t);
    if (!t) return WS_ERR_NOMEM;
    memset(t, 0, sizeof *t);
    t->hn.hidx = 1;   /* a ws_timer */
    t->ctx = ctx;
    t->fn = fn;
    t->arg = arg;
    t->repeat_ms = repeat_ms > 0 ? repeat_ms : 0;
    t->autofree = out == NULL;
    t->next = ctx->timers;
    if (ctx->timers) ctx->timers->prev = t;
    ctx->timers = t;
    ctx->ntimers++;
    if (ws__timer_file(t, ms)) t = NULL;   /* ws_ctx_destroy from on_timer: t went with ctx */
    if (out) *out = t;
    return WS_OK;
}
WS_API void ws_timer_again(ws_timer *t, int ms) {
    if (!t || t->cancelled || ms < 0) return;
    (void)ws__timer_file(t, ms);
}
WS_API void ws_timer_cancel(ws_timer *t) {
    if (!t || t->cancelled) return;
    if (t->running) {   /* from its own fn: freed when fn returns */
        t->cancelled = 1;
        if (WS__HPOS(&t->hn)) ws__heap_remove(t->ctx, &t->hn);
        return;
    }
    ws__timer_free(t);
}
#endif /* WS_NO_TIMERS */

#ifndef WS_NO_WATCH
WS_API ws_result ws_watch_fd(ws_ctx *ctx, intptr_t fd, int events,
                             void (*fn)(ws_ctx *ctx, intptr_t fd, int revents, void *arg),
                             void *arg, ws_watch **out) {
    ws_watch *w;
    if (out) *out = NULL;
    if (!ctx || !fn || fd < 0) return WS_ERR_ARG;
    w = (ws_watch *)ws__alloc(ctx, sizeof *w);
    if (!w) return WS_ERR_NOMEM;
    memset(w, 0, sizeof *w);
    w->kind = WS__K_WATCH;
    w->ctx = ctx;
    w->fd = (ws__sock)fd;
    w->fn = fn;
    w->arg = arg;
    w->next = ctx->watches;
    ctx->watches = w;
    ws__hold(ctx);   /* on_watch, the log */
    ws_watch_set(w, events);
#ifdef WS__EPOLL
    if (w->want && w->ereg != w->want && ctx->epfd >= 0 && !ctx->cfg.on_watch) {
        ws_watch_remove(w);   /* epoll refused it: it would never fire */
        ws__ctx_err(ctx, WS__T("ws_watch_fd: epoll refuses this fd (a regular file? watched already?)"), NULL, NULL);
        (void)ws__release(ctx);
        return WS_ERR_ARG;
    }
#endif
    if (ws__release(ctx)) w = NULL;   /* ws_ctx_destroy from on_watch: w went with ctx */
    if (out) *out = w;
    return WS_OK;
}
WS_API void ws_watch_set(ws_watch *w, int events) {
    ws_ctx *ctx;
    if (!w || w->dead) return;
    w->want = (uint8_t)(events & (WS_POLLIN | WS_POLLOUT));
    ctx = ws__hold(w->ctx);   /* on_watch */
    ws__epoll_set(ctx, w->fd, w, &w->ereg, w->want);
    (void)ws__release(ctx);
}
WS_API void ws_watch_remove(ws_watch *w) {
    ws_watch **pp;
    ws_ctx *ctx;
    if (!w || w->dead) return;
    ctx = ws__hold(w->ctx);   /* on_watch */
    w->dead = 1;
    ws__epoll_set(ctx, w->fd, w, &w->ereg, 0);
    for (pp = &ctx->watches; *pp; pp = &(*pp)->next)
        if (*pp == w) { *pp = w->next; break; }
    w->next = ctx->dead_watches;   /* freed after the pass that may still name it */
    ctx->dead_watches = w;
    (void)ws__release(ctx);
}
#endif /* WS_NO_WATCH */

/* ---- work handed over from other threads (ws_ctx_post): a bounded ring under a mutex ---- */
#ifndef WS_NO_THREADS
#  define WS__POST_LOCK(x) ws__mutex_lock(&(x)->post_mu)
#  define WS__POST_UNLOCK(x) ws__mutex_unlock(&(x)->post_mu)
#else
#  define WS__POST_LOCK(x) ((void)0)
#  define WS__POST_UNLOCK(x) ((void)0)
#endif
#ifndef WS_NO_POST
WS_API ws_result ws_ctx_post(ws_ctx *ctx, void (*fn)(ws_ctx *ctx, void *arg), void *arg) {
    ws_result rc = WS_OK;
    size_t max;
    int wake = 0;
    if (!ctx || !fn) return WS_ERR_ARG;
    max = ctx->cfg.max_posts > 0 ? (size_t)ctx->cfg.max_posts : 4096;
    WS__POST_LOCK(ctx);
    if (ctx->post_closed) rc = WS_ERR_CLOSED;
    else if (ctx->post_len >= max) rc = WS_ERR_FULL;
    else if (ctx->post_len == ctx->post_cap) {   /* grow */
        size_t ncap = WS__MIN(WS__MAX(ctx->post_cap * 2, (size_t)64), max);
        ws__post *np = (ws__post *)WS_REALLOC(ctx->posts, ncap * sizeof *np, ctx->cfg.user);
        if (!np) rc = WS_ERR_NOMEM;
        else { ctx->posts = np; ctx->post_cap = ncap; }
    }
    if (rc == WS_OK) {
        ws__post *e = &ctx->posts[ctx->post_len];
        e->fn = fn;
        e->arg = arg;
        wake = ctx->post_len++ == 0;   /* the first one wakes the loop; it runs them all */
    }
    WS__POST_UNLOCK(ctx);
    if (wake) (void)ws__wake_signal(ctx->wake_w);
    return rc;
}
/* Runs the posts queued now, in order (later ones: the next pass, woken again). They stay
 * in the array (a post may grow and move it: each is read under the lock) until all ran. */
static void ws__run_posts(ws_ctx *ctx) {
    size_t n, i;
    WS__POST_LOCK(ctx);
    n = ctx->post_len;
    WS__POST_UNLOCK(ctx);
    for (i = 0; i < n; i++) {
        ws__post e;
        WS__POST_LOCK(ctx);
        e = ctx->posts[i];
        WS__POST_UNLOCK(ctx);
        ctx->in_cb++;
        e.fn(ctx, e.arg);
        ctx->in_cb--;
        ctx->nevents++;
    }
    if (n) {
        WS__POST_LOCK(ctx);
        ctx->post_len -= n;
        memmove(ctx->posts, ctx->posts + n, ctx->post_len * sizeof *ctx->posts);
        n = ctx->post_len;   /* posted while these ran, and nobody woke us for them */
        WS__POST_UNLOCK(ctx);
        if (n) (void)ws__wake_signal(ctx->wake_w);
    }
}
#else   /* WS_NO_POST: nothing is ever queued */
static void ws__run_posts(ws_ctx *ctx) { (void)ctx; }
#endif

/* Frees the listeners and watches closed in a pass (kept while it could still name them). */
static void ws__free_dead(ws_ctx *ctx) {
    ws_listener *l;
    ws_watch *w;
    while ((l = ctx->dead_listeners) != NULL) { ctx->dead_listeners = l->next; ws__free(ctx, l); }
    while ((w = ctx->dead_watches) != NULL) { ctx->dead_watches = w->next; ws__free(ctx, w); }
}

/* The end of every dispatch: due timers, then pending work, then frees. */
static void ws__dispatch_end(ws_ctx *ctx) {
    ws_conn *c, *dead = NULL, **pp;
    int round;
    size_t budget = ctx->hlen;
    ws_listener *l;
#ifdef WS_NO_WAKEUP
    ws__run_posts(ctx);   /* no wake-up channel to run them from */
#endif
    if (WS__PAUSED(ctx) && ctx->now >= WS__PAUSED(ctx)) {   /* try accepting again */
        ws__accept_resume(ctx);
        for (l = ctx->listeners; l && !ctx->accept_resume; l = l->next) ws__accept(ctx, l);
    }
    /* due timers: each conn and ws_timer at most once per pass, so a timer can never spin */
    while (budget-- && ctx->hlen && (int32_t)(ctx->heap[0]->due - (ws__t32)ctx->now) <= 0) {
        ws__hnode *n = ctx->heap[0];
        ws__heap_remove(ctx, n);
#ifndef WS_NO_TIMERS
        if (n->hidx & 1u) {   /* a ws_timer: due, or at its key's 2^30 ms limit */
            ws_timer *t = (ws_timer *)(void *)n;
            if (t->due > ctx->now) ws__heap_file(ctx, n, t->due);
            else ws__timer_run(ctx, t);
            continue;
        }
#endif
        c = WS__CONN_OF(n);
        (void)ws__conn_timers(c);
        if (c->flags & WS__F_BROKEN) ws__finish(c);
        ws__settle(c);
    }
    /* pending work in rounds: what a round pends again (a TLS peer that keeps mbedTLS full)
     * waits for a later round, and after a few for the next pass, so nothing starves */
    for (round = 0; ws__mem_wake(ctx) && round < 4; round++) {
        ws_conn *list = ctx->pend;
        ctx->pend = NULL;
        while ((c = list) != NULL) {
            list = c->pnext;
            if (c->flags & WS__F_DEAD) { c->pnext = dead; dead = c; continue; }   /* keeps F_PEND */
            c->flags &= ~(uint32_t)WS__F_PEND;
            ws__service(c);
            ws__settle(c);
        }
    }
    for (pp = &ctx->pend; (c = *pp) != NULL;)   /* the dead are freed now, whatever the round */
        if (c->flags & WS__F_DEAD) { *pp = c->pnext; c->pnext = dead; dead = c; }
        else pp = &c->pnext;
    for (c = dead; c; c = dead) {   /* deferred free: never inside a callback */
        dead = c->pnext;
        if (c != ctx->hold) ws__conn_free(c);
    }
    ws__free_dead(ctx);
    ws__buf_big_pass(ctx);
    ctx->owner_len = 0;
}

/* The end of a call that held ctx (ws__hold). The outermost one (no callback running) does
 * what callbacks asked for meanwhile: the ws_ctx_destroy, then (host loops) tells on_timer
 * what changed and runs the pass of a ws_timer_fired from a callback (on_timer(0) answered at
 * once), at most 8 in a row, so a host that always answers at once still gets its loop back. */
static int ws__release(ws_ctx *ctx) {
    int passes = 0;
    if (!ctx) return 0;
    while (--ctx->dispatching == 0 && !ctx->in_cb) {
        ws__timer_sync(ctx);   /* (not once destroying) */
        if (ctx->destroying == 1) { ws_ctx_destroy(ctx); return 1; }
        if (!ctx->fire || passes++ == 8) break;
        ctx->fire = 0;
        ctx->dispatching++;
        ws__now_set(ctx);
        ws__dispatch_end(ctx);
    }
    return 0;
}

/* A pass over n ready entries: fds (ws_dispatch), or NULL: ws_poll's ctx->ospfds, which
 * are ctx->owners. The events it ran, or WS_ERR_CLOSED: ctx was destroyed (from a callback). */
static int ws__dispatch(ws_ctx *ctx, const ws_pollfd *fds, size_t n) {
    size_t i;
    int before = ctx->nevents;
    WS_ASSERT(!ctx->in_cb && "ws_dispatch/ws_poll called from a callback");
    if (ctx->in_cb) return WS_ERR_STATE;   /* (without asserts) re-entered: would corrupt the pass running */
    ws__now_set(ctx);
    ctx->dispatching++;
    for (i = 0; i < n; i++) {
        int found = 1;
        void *o;
        short r;
        if (fds) {
            if (!fds[i].revents) continue;
            o = ws__owner_of(ctx, &fds[i], i, &found);
            r = fds[i].revents;
        } else {
            r = ctx->ospfds[i].revents;
            if (!r) continue;
            o = ctx->owners[i].o;
            r = (short)(((r & POLLIN) ? WS_POLLIN : 0) | ((r & POLLOUT) ? WS_POLLOUT : 0) |
                        ((r & POLLERR) ? WS_POLLERR : 0) | ((r & POLLHUP) ? WS_POLLHUP : 0) |
                        ((r & POLLNVAL) ? WS_POLLERR | WS__POLLNVAL : 0));   /* a closed fd */
        }
        if (found) ws__ready(ctx, o, r);
    }
    ws__dispatch_end(ctx);
    before = ctx->nevents - before;
    return ws__release(ctx) ? WS_ERR_CLOSED : before;
}
WS_API void ws_dispatch(ws_ctx *ctx, const ws_pollfd *fds, size_t n) {
    (void)ws__dispatch(ctx, fds, fds ? n : 0);   /* fds NULL: nothing ready (a NULL of ws__dispatch's own is ws_poll's) */
}

/* on_watch / on_timer hosts: one ready socket, or the timer, then what is due. */
WS_API void ws_socket_ready(ws_ctx *ctx, void *token, int revents) {
    if (!ctx || !token) return;
    WS_ASSERT(!ctx->in_cb && "ws_socket_ready called from a callback");
    if (ctx->in_cb) return;   /* level-triggered: the host reports it again from its loop */
    ws__now_set(ctx);
    ctx->dispatching++;
    ws__ready(ctx, token == (void *)ctx ? NULL : token, (short)revents);
    ws__dispatch_end(ctx);
    (void)ws__release(ctx);
}
WS_API void ws_timer_fired(ws_ctx *ctx) {
    if (!ctx) return;
    ctx->timer_told = -2;   /* spent: the next sync tells it again */
    if (ctx->in_cb || ctx->dispatching) ctx->fire = 1;   /* from a callback (on_timer(0)):
                                                          * the pass runs as the call ends */
    else ws_dispatch(ctx, NULL, 0);
}

#ifdef WS__EPOLL
static int ws__poll_epoll(ws_ctx *ctx, int timeout_ms) {
    struct epoll_event ev[256];
    int t, n, i, before = ctx->nevents;
    ws__now_set(ctx);
    t = ws__timeout(ctx);
    if (timeout_ms >= 0 && (t < 0 || t > timeout_ms)) t = timeout_ms;
    n = epoll_wait(ctx->epfd, ev, (int)(sizeof ev / sizeof ev[0]), t);
    if (n < 0 && errno != EINTR) return WS_ERR_IO;
    ws__now_set(ctx);
    ctx->dispatching++;
    for (i = 0; i < n; i++) {
        uint32_t e = ev[i].events;
        ws__ready(ctx, ev[i].data.ptr, (short)(((e & EPOLLIN) ? WS_POLLIN : 0) |
                  ((e & EPOLLOUT) ? WS_POLLOUT : 0) | ((e & EPOLLERR) ? WS_POLLERR : 0) |
                  ((e & EPOLLHUP) ? WS_POLLHUP : 0)));
    }
    ws__dispatch_end(ctx);
    before = ctx->nevents - before;
    return ws__release(ctx) ? WS_ERR_CLOSED : before;
}
#endif

WS_API int ws_poll(ws_ctx *ctx, int timeout_ms) {
    size_t n, i;
    int t = -1, rc;
    if (!ctx) return WS_ERR_ARG;
    WS_ASSERT(!ctx->in_cb && "ws_poll called from a callback");
    if (ctx->in_cb) return WS_ERR_STATE;   /* (without asserts) nothing done */
#ifdef WS__EPOLL
    if (ctx->epfd >= 0) return ws__poll_epoll(ctx, timeout_ms);
#endif
    n = ws__collect(ctx);
    if (n == (size_t)-1) { n = 0; t = 10; }   /* out of memory: a short sleep, then the pass */
    else t = ws__timeout(ctx);
    if (!ws__grow(ctx, (void **)&ctx->ospfds, &ctx->ospfd_cap, n, sizeof(ws__ospfd))) return WS_ERR_NOMEM;
    if (timeout_ms >= 0 && (t < 0 || t > timeout_ms)) t = timeout_ms;
    for (i = 0; i < n; i++) {
        ctx->ospfds[i].fd = (ws__sock)ctx->owners[i].fd;
        ctx->ospfds[i].events = (short)(((ctx->owners[i].ev & WS_POLLIN) ? POLLIN : 0) |
                                        ((ctx->owners[i].ev & WS_POLLOUT) ? POLLOUT : 0));
        ctx->ospfds[i].revents = 0;
    }
    rc = ws__os_poll(ctx->ospfds, n, t);
    if (rc < 0 && !ws__err_intr(ws__sock_errno())) return WS_ERR_IO;
    return ws__dispatch(ctx, NULL, rc > 0 ? n : 0);
}

/* ---- the wake-up channel: a pipe (POSIX), a loopback UDP socket (Windows), two (lwIP) ---- */
static int ws__wake_open(ws_ctx *ctx) {
#if defined(WS_NO_WAKEUP)
    (void)ctx;
    return 0;
#elif defined(WS__LWIP)
    return ws__wake_pair(&ctx->wake_r, &ctx->wake_w);
#elif defined(_WIN32)
    struct sockaddr_in a;
    int al = sizeof a;
    ws__sock s = ws__socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    if (s == WS__INVALID_SOCK) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ws__bind(s, (struct sockaddr *)&a, sizeof a) != 0 || ws__getsockname(s, (struct sockaddr *)&a, &al) != 0 ||
        ws__connect(s, (struct sockaddr *)&a, sizeof a) != 0) { closesocket(s); return -1; }
    (void)ws__sock_nonblock(s);
    ctx->wake_r = ctx->wake_w = s;
    return 0;
#else
    int p[2];
    if (pipe(p) != 0) return -1;
    (void)ws__sock_nonblock(p[0]);
    (void)ws__sock_nonblock(p[1]);
    ctx->wake_r = p[0];
    ctx->wake_w = p[1];
    return 0;
#endif
}

WS_API ws_result ws_ctx_wakeup(ws_ctx *ctx) {
    return ctx && ws__wake_signal(ctx->wake_w) == 0 ? WS_OK : WS_ERR_IO;
}
WS_API const char *ws_ctx_error(const ws_ctx *ctx) { return ctx ? ctx->err : ""; }

/* ==== >>api implementation: contexts and connections ==== */
WS_API ws_ctx *ws_ctx_create(const ws_config *cfg) {
    ws_ctx *ctx;
    if (!cfg || !cfg->on_event || !cfg->on_watch != !cfg->on_timer) return NULL;
    ctx = (ws_ctx *)WS_MALLOC(sizeof *ctx, cfg->user);
    if (!ctx) return NULL;
    memset(ctx, 0, sizeof *ctx);
    ws__cfg_set(ctx, cfg);
    ws__now_set(ctx);
    ctx->wake_r = ctx->wake_w = WS__INVALID_SOCK;
    if (ws__net_init() != 0) { WS_FREE(ctx, cfg->user); return NULL; }
    ctx->net_ok = 1;
#ifndef WS_NO_THREADS
    ws__mutex_init(&ctx->post_mu);
#endif
    if (ws__wake_open(ctx) != 0) {
#ifndef WS_NO_THREADS
        ws__mutex_free(&ctx->post_mu);
#endif
        ws__net_done();
        WS_FREE(ctx, cfg->user);
        return NULL;
    }
    ctx->epfd = -1;
    ctx->timer_told = -2;
    if (cfg->on_watch) {   /* the host's loop watches the wake-up channel too */
        ws__hold(ctx);
        ws__epoll_set(ctx, ctx->wake_r, NULL, &ctx->wake_reg, WS_POLLIN);
        return ws__release(ctx) ? NULL : ctx;   /* NULL: destroyed from on_watch */
    }
#ifdef WS__EPOLL
    /* failing that, or where the compiler lays out epoll_event wrongly, ws_poll uses poll() */
    ctx->epfd = ws__epoll_usable() ? epoll_create1(EPOLL_CLOEXEC) : -1;
    if (ctx->epfd >= 0) {
        uint8_t reg = 0;
        ws__epoll_set(ctx, ctx->wake_r, NULL, &reg, WS_POLLIN);
        if (!reg && ctx->wake_r != WS__INVALID_SOCK) { close(ctx->epfd); ctx->epfd = -1; }
    }
#endif
    return ctx;
}

WS_API void ws_ctx_destroy(ws_ctx *ctx) {
    ws_conn *c;
    if (!ctx) return;
    if (ctx->in_cb || ctx->dispatching) {   /* from a callback: freeing it there would be a use */
        if (!ctx->destroying) ctx->destroying = 1;   /* after free; the call running it ends */
        return;                                      /* with it (ws__release) */
    }
    ctx->dispatching = 1;   /* held for good: what the CLOSE callbacks call never ends it */
    WS__POST_LOCK(ctx);
    ctx->post_closed = 1;   /* no more posts; those queued still run: none is lost */
    WS__POST_UNLOCK(ctx);
    ws__run_posts(ctx);
    ctx->destroying = 2;
    ws__now_set(ctx);
    while (ctx->listeners) ws_listener_close(ctx->listeners);
    for (c = ctx->head; c; c = c->next) {
        if (c->state == WS__OPEN && !(c->flags & WS__F_SENT_CLOSE)) {   /* try, don't wait */
            (void)ws__queue_close(c, WS_CLOSE_GOING_AWAY, "", 0);
            ws__flush(c);
        }
        if (c->state == WS__WAITING) ws__cancel_retry(c);
        else if (c->state != WS__CLOSED) {
            if (c->err == WS_OK && !(c->flags & WS__F_GOT_CLOSE)) { c->err = WS_ERR_CLOSED; ws__set_msg(c, WS__T("context destroyed")); }
            c->flags |= WS__F_ERR_FIRED;   /* the close event says it all */
            ws__finish(c);
        }
    }
    while (ctx->head) ws__conn_free(ctx->head);
    ws__pmd_ctx_free(ctx);
#ifndef WS_NO_TIMERS
    while (ctx->timers) ws__timer_free(ctx->timers);
#endif
#ifndef WS_NO_WATCH
    while (ctx->watches) ws_watch_remove(ctx->watches);
#endif
    ws__free_dead(ctx);
    if (ctx->posts) WS_FREE(ctx->posts, ctx->cfg.user);
#ifndef WS_NO_THREADS
    ws__mutex_free(&ctx->post_mu);
#endif
    while (ctx->npool) ws__free(ctx, ctx->pool[--ctx->npool]);
    if (ctx->big) ws__buf_free(ctx, ctx->big);
    ws__free(ctx, ctx->heap);
    ws__ids_free(ctx);
#ifdef WS__EPOLL
    if (ctx->epfd >= 0) close(ctx->epfd);
#endif
    ws__free(ctx, ctx->owners);
    ws__free(ctx, ctx->ospfds);
    ws__epoll_set(ctx, ctx->wake_r, NULL, &ctx->wake_reg, 0);   /* on_watch: stop first */
    if (ctx->cfg.on_timer && ctx->timer_told != -1) ctx->cfg.on_timer(ctx, -1, ctx->cfg.user);   /* and its timer */
    if (ctx->wake_r != WS__INVALID_SOCK) ws__sock_close(ctx->wake_r);
    if (ctx->wake_w != WS__INVALID_SOCK && ctx->wake_w != ctx->wake_r) ws__sock_close(ctx->wake_w);
    if (ctx->net_ok) ws__net_done();
    WS_FREE(ctx, ctx->cfg.user);
}

/* The end of ws_connect and ws_conn_adopt, which held ctx: c is NULL when a ws_ctx_destroy
 * from one of their callbacks took it with the ctx. */
static ws_result ws__made(ws_ctx *ctx, ws_result rc, ws_conn *c, ws_conn **out) {
    if (ws__release(ctx)) c = NULL;
    if (out) *out = c;
    return rc;
}

#ifndef WS_NO_CLIENT
static ws_result ws__connect_url(ws_ctx *ctx, const char *url, const ws_connect_opts *opts,
                                 void *conn_user, ws_conn **out) {
    ws_conn *c;
    ws__client *cl;
    ws_result rc;
    const char *why = "";
    if (out) *out = NULL;
    if (!ctx) return WS_ERR_ARG;
    if (ctx->destroying) return WS_ERR_CLOSED;   /* a CLOSE callback inside ws_ctx_destroy */
    if (!url) { ws__ctx_err(ctx, WS__T("ws_connect: no URL (NULL)"), NULL, NULL); return WS_ERR_ARG; }
    c = ws__conn_new(ctx, 0);
    if (!c) return WS_ERR_NOMEM;
    c->user = conn_user;
    rc = ws__client_new(c, url, opts, &why);
    if (rc != WS_OK) {   /* ws_ctx_error names the part of the URL that is wrong */
        ws__ctx_err(ctx, rc == WS_ERR_URL ? WS__T("ws_connect: invalid URL: ") : WS__T("ws_connect: "),
                    rc == WS_ERR_URL || (rc == WS_ERR_ARG && *why) ? why : ws_result_str(rc), NULL);
        ws__conn_free(c);
        return rc;
    }
    cl = ws__cl(c);
    if (opts && opts->proxy) {
        ws_result prc = ws__client_proxy(c, opts->proxy);
        if (prc != WS_OK) { ws__conn_free(c); return prc; }
    }
    if (cl->u.secure) {   /* >>tls: one mbedTLS config per client connection, for all attempts */
        char err[320];
        ws_result trc = ws__tls_cfg_new(ctx, opts ? opts->tls : NULL, 0, &cl->tls, err, sizeof err);
        if (trc != WS_OK) { ws__ctx_err(ctx, err, NULL, NULL); ws__conn_free(c); return trc; }
    }
    ws__now_set(ctx);
    ws__client_start(c);
    ws__pend(c);   /* its connect timer and poll interest; failures are reported from the loop */
    if (out) *out = c;
    return WS_OK;
}
WS_API ws_result ws_connect(ws_ctx *ctx, const char *url, const ws_connect_opts *opts,
                            void *conn_user, ws_conn **out) {
    ws_conn *c = NULL;
    ws_result rc = ws__connect_url(ws__hold(ctx), url, opts, conn_user, &c);   /* the log, on_timer... */
    return ws__made(ctx, rc, c, out);
}

WS_API ws_result ws_connect_blocking(ws_ctx *ctx, const char *url, const ws_connect_opts *opts,
                                     void *conn_user, int timeout_ms, ws_conn **out) {
    ws_conn *c = NULL;
    int64_t end;
    ws_result rc = ctx && ctx->in_cb ? WS_ERR_STATE : WS_OK;
    if (rc == WS_OK && ctx && timeout_ms > 0) {   /* an attempt's end (ws__client_start): the call's, if earlier */
        ws__now_set(ctx);
        ctx->hold_end = ws__t32_in(ctx, timeout_ms);
    }
    if (rc == WS_OK) rc = ws__connect_url(ws__hold(ctx), url, opts, conn_user, &c);   /* held to the end */
    if (out) *out = NULL;
    if (rc != WS_OK) {
        if (ctx && !ctx->in_cb) { ctx->hold_end = 0; (void)ws__release(ctx); }
        return rc;   /* ws_ctx_error: "ws_connect: ..."; STATE: its ws_poll would re-enter */
    }
    end = ws__now_of(ctx) + (timeout_ms > 0 ? timeout_ms : 0x7FFFFFFF);
    ctx->hold = c;   /* a failed attempt is freed inside ws_poll: keep it to read its error */
    while ((c->state < WS__OPEN || c->state == WS__WAITING) && ws__now_of(ctx) < end && !ctx->destroying) {
        if (ws_poll(ctx, (int)WS__MIN(end - ws__now_of(ctx), (int64_t)100)) < 0) break;
    }
    ctx->hold = NULL;
    ctx->hold_end = 0;
    if (ctx->destroying) { (void)ws__release(ctx); return WS_ERR_CLOSED; }   /* ws_ctx_destroy from a callback */
    /* open, or opened and already closing (the peer's close came with the 101): the caller
     * had WS_EV_OPEN, and c lives until its CLOSE */
    if (c->state == WS__OPEN || ((c->flags & WS__F_OPENED) && c->state == WS__CLOSING)) {
        if (ws__release(ctx)) return WS_ERR_CLOSED;
        if (out) *out = c;
        return WS_OK;
    }
    rc = c->err != WS_OK ? c->err : (c->flags & WS__F_OPENED) ? WS_ERR_CLOSED : WS_ERR_TIMEOUT;
    if (!(c->flags & WS__F_DEAD)) {   /* still trying (or waiting to retry): give up */
        /* which step ran out of time: DNS and TCP connect, or the TLS/HTTP handshake */
        const char *why = c->state == WS__TLS || c->state == WS__HANDSHAKE ? WS__T("handshake timed out")
                          : WS__T("connect timed out");
        c->flags |= WS__F_USER_CLOSE;
        if (c->state == WS__WAITING) ws__cancel_retry(c);
        else ws__abort(c, WS_ERR_TIMEOUT, why);
        ws__ctx_err(ctx, WS__T("ws_connect_blocking: "), c->x && c->x->err_msg && *c->x->err_msg ? c->x->err_msg : why, NULL);
        return ws__release(ctx) ? WS_ERR_CLOSED : rc;   /* now DEAD on the pending list: the next pass (or ws_ctx_destroy) frees it */
    }
    ws__ctx_err(ctx, WS__T("ws_connect_blocking: "), ws__err_msg(c)[0] ? ws__err_msg(c) : ws_result_str(rc), NULL);
    ws__conn_free(c);   /* died inside ws_poll: off the pending list, kept by ctx->hold */
    return ws__release(ctx) ? WS_ERR_CLOSED : rc;
}

#endif

static ws_result ws__conn_adopt(ws_ctx *ctx, intptr_t fd, const ws_engine_opts *o,
                                void *conn_user, ws_conn **out) {
    ws_engine_opts none;
    ws_conn *c;
    ws_result rc;
    const char *why = "";
    if (out) *out = NULL;
    if (!o) { memset(&none, 0, sizeof none); o = &none; }
    if (!ctx || (!o->io && fd < 0)) return WS_ERR_ARG;
    if (ctx->destroying) return WS_ERR_CLOSED;   /* a CLOSE callback inside ws_ctx_destroy */
    ws__now_set(ctx);
    c = ws__conn_new(ctx, o->server);
    if (!c) return WS_ERR_NOMEM;
    c->user = conn_user;
    if (!o->io) {   /* a connected socket: the loop's own TCP transport */
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        ws__tcp_attach(c, (ws__sock)fd);
        if (ws__getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0) ws__remote_from(c, (struct sockaddr *)&ss);
    }
    rc = ws__conn_start(c, o, &why);
    if (rc != WS_OK) {   /* the caller keeps its stream */
        ws_conn **pp = &ctx->pend;   /* off the pending list (a request that failed put it there) */
        while (*pp && *pp != c) pp = &(*pp)->pnext;
        if (*pp) *pp = c->pnext;
        if (rc == WS_ERR_URL) ws__log(ctx, 0, why);
        c->fd = WS__INVALID_SOCK;
        if (c->flags & WS__F_OWN_IO) ws__free(ctx, (ws_io *)c->io);
        c->flags &= ~(uint32_t)WS__F_OWN_IO;
        c->io = NULL;
        ws__conn_free(c);
        return rc;
    }
    if (!o->io) ws__sock_setup(c->fd);
    else if (fd >= 0) c->fd = (ws__sock)fd;   /* polled for the ws_io; closed by its close */
    if ((c->flags & WS__F_SERVER) && ctx->nserver > ws__max_conns(ctx)) c->flags |= WS__F_REFUSE;
    if (out) *out = c;
    return WS_OK;
}
WS_API ws_result ws_conn_adopt(ws_ctx *ctx, intptr_t fd, const ws_engine_opts *o,
                               void *conn_user, ws_conn **out) {
    ws_conn *c = NULL;
    ws_result rc = ws__conn_adopt(ws__hold(ctx), fd, o, conn_user, &c);   /* the log, on_watch... */
    return ws__made(ctx, rc, c, out);
}

WS_API void ws_conn_io_ready(ws_conn *c, int events) {
    ws_ctx *ctx;
    WS__CHECK(c);
    if (!c || c->ctx->engine || c->state >= WS__CLOSED) return;
    c->iorev = (uint8_t)(c->iorev | (events & (WS_POLLIN | WS_POLLOUT)));
    ctx = ws__hold(c->ctx);   /* on_timer */
    ws__pend(c);
    (void)ws__release(ctx);
}

WS_API ws_result ws_conn_remote(const ws_conn *c, char *out, size_t cap, uint16_t *port_out) {
    char a[48], t[80];
    ws__out o;
    WS__CHECK(c);
    if (!c || !out || !cap) return WS_ERR_ARG;
    if (!(c->flags & (WS__F_ADDR4 | WS__F_ADDR6))) { out[0] = '\0'; return WS_ERR_STATE; }
    if (!ws__inet_ntop(c->flags & WS__F_ADDR4 ? AF_INET : AF_INET6, (const void *)c->raddr, a, sizeof a)) strcpy(a, "?");
    o.p = t; o.cap = sizeof t; o.len = 0; o.err = 0;
    ws__put_hostport(&o, a, strlen(a), !(c->flags & WS__F_ADDR4), c->rport);
    (void)ws__out_done(&o, NULL);
    strncpy(out, t, cap - 1);
    out[cap - 1] = '\0';
    if (port_out) *port_out = c->rport;
    return WS_OK;
}

WS_API size_t ws_conn_count(const ws_ctx *ctx) { return ctx ? ctx->nopen : 0; }
WS_API ws_conn *ws_conn_next(const ws_ctx *ctx, const ws_conn *prev) {
    ws_conn *c = prev ? prev->next : ctx ? ctx->head : NULL;
    while (c && (c->state != WS__OPEN || (c->flags & (WS__F_DEAD | WS__F_SENT_CLOSE)))) c = c->next;
    return c;
}

WS_API ws_result ws_broadcast_ex(ws_ctx *ctx, int opcode, const void *data, size_t len,
                                 const ws_conn *except, int flags, size_t *sent, size_t *full) {
    ws_conn *c, *next;
    ws_result first = WS_OK, rc;
    size_t k = 0, nfull = 0;
    ws__pmd_bc bc;
    if (sent) *sent = 0;
    if (full) *full = 0;
    if (!ctx) return WS_ERR_ARG;
    rc = ws__send_check(ctx, opcode & ~WS_SEND_UNCOMPRESSED, data, len);   /* once: not a close frame, text is UTF-8 */
    if (rc != WS_OK) return rc;
    (void)except; (void)flags;
    ws__hold(ctx);   /* writes, closes: callbacks */
    ws__pmd_bc_init(&bc);   /* >>deflate: each compression made once, for all */
    for (c = WS__NO_SERVER ? NULL : ws_conn_next(ctx, NULL); c; c = next) {   /* server conns only */
        next = ws_conn_next(ctx, c);   /* closing c takes it out of the iteration */
        if (c == except || !(c->flags & WS__F_SERVER)) continue;
        rc = ws__pmd_bcast(c, opcode, data, len, &bc);
        if (rc == WS_OK) k++;
        else if (first == WS_OK) first = rc;
        if (rc == WS_ERR_FULL) {
            nfull++;
            if (flags & WS_BROADCAST_CLOSE_SLOW) (void)ws_conn_close(c, WS_CLOSE_TRY_AGAIN, WS__T("send queue full"));
        }
    }
    ws__pmd_bc_end(ctx, &bc);
    if (sent) *sent = k;
    if (full) *full = nfull;
    (void)ws__release(ctx);
    return first;
}

WS_API ws_result ws_broadcast(ws_ctx *ctx, int opcode, const void *data, size_t len,
                              const ws_conn *except, size_t *sent) {
    return ws_broadcast_ex(ctx, opcode, data, len, except, 0, sent, NULL);
}

WS_API ws_conn *ws_conn_find(ws_ctx *ctx, uint64_t id) {
    ws_conn **p = ctx ? ws__id_find(ctx, id) : NULL;
    if (!p || ((*p)->flags & WS__F_DEAD) || (*p)->state == WS__CLOSED) return NULL;
    return *p;
}

WS_API ws_result ws_send_id(ws_ctx *ctx, uint64_t id, int opcode, const void *data, size_t len) {
    ws_conn *c = ws_conn_find(ctx, id);
    if (!ctx) return WS_ERR_ARG;
    return c ? ws_conn_send(c, opcode, data, len) : WS_ERR_CLOSED;
}

WS_API void ws_close_all(ws_ctx *ctx, uint16_t code, const char *reason) {
    ws_conn *c;
    if (!ctx) return;
    ws__hold(ctx);
    for (c = ctx->head; c; c = c->next)
        if (c->state <= WS__OPEN || c->state == WS__WAITING) (void)ws_conn_close(c, code, reason);
    (void)ws__release(ctx);
}
#endif /* WS_NO_NET */

#ifdef __cplusplus
}
#endif
#if defined(WS_STATIC) && defined(__GNUC__)
#  pragma GCC diagnostic pop
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
