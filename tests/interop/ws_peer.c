/* ws_peer.c - the ws.h side of the interop tests: real peers (Python websockets, Node ws)
 * talk to it and tests/interop/run.sh counts what both sides report.
 *   ws_peer server                        127.0.0.1, port chosen by the OS; prints
 *                                         "listening on ws://127.0.0.1:PORT/"; SIGTERM ends it
 *   ws_peer client BASE SCENARIO [NONCE]  runs one scenario against BASE = ws://127.0.0.1:PORT
 * Every check prints "ok - ..." or "FAIL - ..."; every wait is bounded; exit 1 on a FAIL.
 * Scenarios (peer.py and peer.js run the same ones): messages fragments ping close-client
 * close-empty close-server concurrent subprotocol refused vanish-recv vanish-send vanish-check,
 * and with permessage-deflate (built with WS_USE_ZLIB; the environment variable
 * WS_PEER_DEFLATE=deflate or deflate-nct switches it on for ws_peer's client and server):
 * deflate (context takeover, 15-bit windows) and deflate-nct (no context takeover either way,
 * 9-bit windows): messages of 0 B to 16 MiB both ways, text and binary, and fragmented.
 * Paths a server serves (peer.py and peer.js serve the same):
 *   /echo            echoes each message      /frag  echoes each message as 3 fragments with
 *   /ping            pings "srv-ping"; sends "got-pong:<payload>" on the pong   a ping inside
 *   /proto           accepts subprotocol v1.chat if offered, sends "proto:<chosen>"
 *   /refuse          403 from the upgrade hook /stats sends "open:<open connections>"
 *   /vanish-recv     starts a 16 MiB message, drops TCP after a few MiB or when the client
 *                    stops reading (the peer clients pause for a second so it must stall)
 *   /close-server/N  closes with 4002 "bye from server"
 *   /vanish-send/N   stops reading for a second (so the sender's queue stalls), then records
 *   /<other>/N       records how the connection ended under the name N
 *   /report/N        sends that record "code=C clean=0|1 reason=R" (or "none"), closes 1000 */
#define WS_IMPLEMENTATION
#include "../../ws.h"
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BIG ((size_t)16 << 20)
#define NCONC 50

static ws_ctx *ctx;
static int failures;
static const char *scen = "server";
static volatile sig_atomic_t stop;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + (int64_t)(ts.tv_nsec / 1000000);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void check(int cond, const char *fmt, ...) {
    va_list ap;
    printf("%s - ws.h %s: ", cond ? "ok" : "FAIL", scen);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (!cond) failures++;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
    return p;
}

/* n random bytes; text = printable ASCII plus some UTF-8 (whole characters, n exact) */
static unsigned char *payload(size_t n, int text) {
    unsigned char *p = (unsigned char *)xmalloc(n);
    size_t i;
    if (n && ws_random(p, n) != WS_OK) { fprintf(stderr, "ws_random failed\n"); exit(2); }
    if (text) {
        for (i = 0; i < n; i++) p[i] = (unsigned char)(' ' + p[i] % 95);
        for (i = 0; i + 2 <= n && i < 64; i += 8) { p[i] = 0xC3; p[i + 1] = 0xA9; }   /* e-acute */
    }
    return p;
}

/* ---- client side: one record per connection, filled in by the callback ---- */
typedef struct peer {
    ws_conn *c;                  /* NULL after WS_EV_CLOSE */
    int opened, closed, errored, clean, http_status, nmsg, nping, npong, msg_op;
    ws_result err;
    uint16_t code;
    char reason[128], proto[64], ping[128], pong[128];
    unsigned char *msg;          /* the last message, NUL-terminated copy */
    size_t msg_len;
} peer;

static void client_event(ws_conn *c, const ws_event *ev) {
    peer *p = (peer *)ws_conn_user(c);
    if (!p) return;
    switch (ev->type) {
    case WS_EV_OPEN:
        p->opened = 1;
        snprintf(p->proto, sizeof p->proto, "%s", ws_conn_protocol(c));
        break;
    case WS_EV_MESSAGE:
        free(p->msg);
        p->msg = (unsigned char *)xmalloc(ev->len + 1);
        if (ev->len) memcpy(p->msg, ev->data, ev->len);
        p->msg[ev->len] = 0;
        p->msg_len = ev->len;
        p->msg_op = ev->opcode;
        p->nmsg++;
        break;
    case WS_EV_PING:
        snprintf(p->ping, sizeof p->ping, "%.*s", (int)ev->len, (const char *)ev->data);
        p->nping++;
        break;
    case WS_EV_PONG:
        snprintf(p->pong, sizeof p->pong, "%.*s", (int)ev->len, (const char *)ev->data);
        p->npong++;
        break;
    case WS_EV_ERROR:
        p->errored++;
        p->err = ev->result;
        p->http_status = ev->http_status;
        break;
    case WS_EV_CLOSE:
        p->closed = 1;
        p->code = ev->close_code;
        p->clean = ev->clean;
        if (!p->err) p->err = ev->result;
        snprintf(p->reason, sizeof p->reason, "%s", ev->reason);
        p->c = NULL;
        break;
    default: break;
    }
}

/* Polls until cond holds or ms pass (bounded: never a bare for (;;)). */
#define WAIT(cond, ms) do { int64_t end_ = now_ms() + (ms); \
        while (!(cond) && now_ms() < end_) (void)ws_poll(ctx, 20); } while (0)

static char base[256];

static ws_result start(peer *p, const char *path, const char *protocols) {
    char url[512];
    ws_connect_opts o;
    ws_result rc;
    memset(&o, 0, sizeof o);   /* deflate: the ctx's (WS_PEER_DEFLATE) */
    o.protocols = protocols;
    memset(p, 0, sizeof *p);
    snprintf(url, sizeof url, "%s%s", base, path);
    rc = ws_connect(ctx, url, &o, p, &p->c);
    if (rc != WS_OK) { p->closed = 1; check(0, "ws_connect(%s): %s", url, ws_result_str(rc)); }
    return rc;
}

static int open_conn(peer *p, const char *path, const char *protocols) {
    if (start(p, path, protocols) != WS_OK) return 0;
    WAIT(p->opened || p->closed, 10000);
    check(p->opened, "connected to %s%s", base, path);
    return p->opened;
}

static void close_conn(peer *p, uint16_t code, const char *what) {
    if (p->c) {
        ws_result rc = ws_conn_close(p->c, code, NULL);
        if (rc != WS_OK) check(0, "%s: ws_conn_close: %s", what, ws_result_str(rc));
    }
    WAIT(p->closed, 10000);
    check(p->closed && p->clean && p->code == code, "%s: closed cleanly with %u (got %u, clean %d)",
          what, code, p->code, p->clean);
    free(p->msg);
    p->msg = NULL;
}

/* Sends data, waits for the echo and compares it byte for byte. */
static void echo_check(peer *p, int op, const unsigned char *data, size_t n, const char *what) {
    int before = p->nmsg;
    ws_result rc = ws_conn_send(p->c, op, data, n);
    if (rc != WS_OK) { check(0, "%s: ws_conn_send: %s", what, ws_result_str(rc)); return; }
    WAIT(p->nmsg > before || p->closed, 10000);
    check(p->nmsg > before && p->msg_op == (op & ~WS_SEND_UNCOMPRESSED) && p->msg_len == n && (!n || !memcmp(p->msg, data, n)),
          "%s echoed intact (%s, %lu bytes)", what, p->nmsg > before ? "received" : "nothing back",
          (unsigned long)p->msg_len);
}

/* The record a server keeps about /<kind>/<nonce>; retried while it says "none". */
static void report(const char *nonce, char *out, size_t cap) {
    char path[128];
    peer p;
    int i;
    snprintf(out, cap, "none");
    snprintf(path, sizeof path, "/report/%s", nonce);
    for (i = 0; i < 30 && !strcmp(out, "none"); i++) {
        if (i) { int64_t t = now_ms() + 100; while (now_ms() < t) (void)ws_poll(ctx, 20); }
        if (start(&p, path, NULL) != WS_OK) return;
        WAIT(p.nmsg || p.closed, 5000);
        if (p.nmsg) snprintf(out, cap, "%s", (const char *)p.msg);
        WAIT(p.closed, 5000);
        free(p.msg);
    }
}

static void sc_messages(void) {
    static const size_t sizes[] = { 0, 1, 125, 126, 127, 65535, 65536, (size_t)1 << 20, BIG };
    static const char utf8[] = "h\xC3\xA9llo w\xC3\xB6rld \xE2\x82\xAC \xF0\x9F\x98\x80 \xE4\xB8\xAD\xE6\x96\x87";
    char what[64];
    size_t i;
    int t;
    peer p;
    if (!open_conn(&p, "/echo", NULL)) return;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (t = 1; t >= 0; t--) {
            unsigned char *d = payload(sizes[i], t);
            snprintf(what, sizeof what, "%s message of %lu bytes", t ? "text" : "binary", (unsigned long)sizes[i]);
            echo_check(&p, t ? WS_OP_TEXT : WS_OP_BINARY, d, sizes[i], what);
            free(d);
        }
    }
    echo_check(&p, WS_OP_TEXT, (const unsigned char *)utf8, strlen(utf8), "UTF-8 text");
    close_conn(&p, 1000, "messages");
}

/* Sends d as 4 frames: [0,a) with a ping after it, [a,b), [b,n), and an empty final one. */
static void send_fragments(peer *p, int op, const unsigned char *d, size_t n, size_t a, size_t b) {
    ws_result rc = ws_conn_send_frame(p->c, 0, 0, op, d, a);
    if (rc == WS_OK) rc = ws_conn_send(p->c, WS_OP_PING, "mid-frag", 8);
    if (rc == WS_OK) rc = ws_conn_send_frame(p->c, 0, 0, WS_OP_CONT, d + a, b - a);
    if (rc == WS_OK) rc = ws_conn_send_frame(p->c, 0, 0, WS_OP_CONT, d + b, n - b);
    if (rc == WS_OK) rc = ws_conn_send_frame(p->c, 1, 0, WS_OP_CONT, "", 0);
    if (rc != WS_OK) check(0, "ws_conn_send_frame: %s", ws_result_str(rc));
}

static void sc_fragments(void) {
    /* split inside the 2-byte e-acute, the 3-byte euro sign and the 4-byte emoji */
    static const char text[] = "fragmented h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80 done";
    size_t n = strlen(text), bn = 300000;
    unsigned char *bin;
    int before;
    peer p;
    if (!open_conn(&p, "/frag", NULL)) return;
    before = p.nmsg;
    send_fragments(&p, WS_OP_TEXT, (const unsigned char *)text, n, 13, 20);
    WAIT(p.nmsg > before || p.closed, 10000);
    check(p.npong == 1 && !strcmp(p.pong, "mid-frag"), "pong for the ping sent between fragments");
    check(p.nmsg > before && p.msg_op == WS_OP_TEXT && p.msg_len == n && !memcmp(p.msg, text, n),
          "text sent in 4 fragments (split inside UTF-8 characters) came back intact");
    check(p.nping >= 1 && !strcmp(p.ping, "mid-frag"),
          "the peer's reply arrived in fragments with a ping between them (%d pings)", p.nping);
    bin = payload(bn, 0);
    before = p.nmsg;
    send_fragments(&p, WS_OP_BINARY, bin, bn, 1, 150000);
    WAIT(p.nmsg > before || p.closed, 10000);
    check(p.nmsg > before && p.msg_op == WS_OP_BINARY && p.msg_len == bn && !memcmp(p.msg, bin, bn),
          "binary sent in 4 fragments came back intact");
    free(bin);
    close_conn(&p, 1000, "fragments");
}

static void sc_ping(void) {
    peer p;
    ws_result rc;
    if (!open_conn(&p, "/ping", NULL)) return;
    rc = ws_conn_send(p.c, WS_OP_PING, "cli-ping", 8);
    check(rc == WS_OK, "ping sent: %s", ws_result_str(rc));
    WAIT((p.npong && p.nmsg) || p.closed, 10000);
    check(p.npong == 1 && !strcmp(p.pong, "cli-ping"), "pong with our payload (\"%s\")", p.pong);
    check(p.nping >= 1 && !strcmp(p.ping, "srv-ping"), "the peer's ping arrived (\"%s\")", p.ping);
    check(p.nmsg == 1 && !strcmp((const char *)p.msg, "got-pong:srv-ping"),
          "the peer got our automatic pong (\"%s\")", p.msg ? (const char *)p.msg : "");
    close_conn(&p, 1000, "ping");
}

static void sc_close_client(const char *nonce) {
    char path[128], rec[256];
    peer p;
    ws_result rc;
    snprintf(path, sizeof path, "/close-client/%s", nonce);
    if (!open_conn(&p, path, NULL)) return;
    rc = ws_conn_close(p.c, 4001, "bye from client");
    check(rc == WS_OK, "ws_conn_close(4001): %s", ws_result_str(rc));
    WAIT(p.closed, 10000);
    check(p.closed && p.clean && p.code == 4001 && !p.errored,
          "close handshake completed, the peer echoed 4001 (code %u, clean %d)", p.code, p.clean);
    report(nonce, rec, sizeof rec);
    check(!strcmp(rec, "code=4001 clean=1 reason=bye from client"),
          "the peer saw code 4001 and our reason (\"%s\")", rec);
}

static void sc_close_empty(const char *nonce) {   /* a close frame without a status code */
    char path[128], rec[256];
    peer p;
    ws_result rc;
    snprintf(path, sizeof path, "/close-empty/%s", nonce);
    if (!open_conn(&p, path, NULL)) return;
    rc = ws_conn_close(p.c, 0, NULL);
    check(rc == WS_OK, "ws_conn_close(0): %s", ws_result_str(rc));
    WAIT(p.closed, 10000);
    check(p.closed && p.clean && p.code == 1005 && !p.errored,
          "close handshake completed, the peer's empty close reads as 1005 (code %u, clean %d)", p.code, p.clean);
    report(nonce, rec, sizeof rec);
    check(!strcmp(rec, "code=1005 clean=1 reason="), "the peer saw no status: 1005 (\"%s\")", rec);
}

static void sc_close_server(const char *nonce) {
    char path[128], rec[256];
    peer p;
    snprintf(path, sizeof path, "/close-server/%s", nonce);
    if (!open_conn(&p, path, NULL)) return;
    WAIT(p.closed, 10000);
    check(p.closed && p.clean && p.code == 4002 && !strcmp(p.reason, "bye from server") && !p.errored,
          "the peer's close arrived: code %u, reason \"%s\", clean %d", p.code, p.reason, p.clean);
    report(nonce, rec, sizeof rec);
    check(!strncmp(rec, "code=4002 clean=1", 17), "the peer saw our echo of 4002 (\"%s\")", rec);
}

/* How many of ps[NCONC] are done: what 0 = opened, 1 = got a message, 2 = closed. */
static int count(const peer *ps, int what) {
    int i, n = 0;
    for (i = 0; i < NCONC; i++)
        n += ps[i].closed || (what == 0 && ps[i].opened) || (what == 1 && ps[i].nmsg);
    return n;
}

static void sc_concurrent(void) {
    static peer ps[NCONC];
    peer st;
    char msg[64];
    int i, opened = 0, good = 0, clean = 0;
    unsigned long n = 0;
    for (i = 0; i < NCONC; i++) (void)start(&ps[i], "/echo", NULL);
    WAIT(count(ps, 0) == NCONC, 15000);
    for (i = 0; i < NCONC; i++) opened += ps[i].opened && !ps[i].closed;
    check(opened == NCONC, "%d of %d connections open at once", opened, NCONC);
    if (open_conn(&st, "/stats", NULL)) {
        WAIT(st.nmsg || st.closed, 5000);
        if (st.nmsg) n = strtoul((const char *)st.msg + 5, NULL, 10);
        check(n >= NCONC + 1, "the peer counts %lu open connections (\"%s\")", n, st.msg ? (const char *)st.msg : "");
        close_conn(&st, 1000, "concurrent: stats connection");
    }
    for (i = 0; i < NCONC; i++) {
        snprintf(msg, sizeof msg, "hello from connection %d", i);
        if (ps[i].c) (void)ws_conn_send_text(ps[i].c, msg);
    }
    WAIT(count(ps, 1) == NCONC, 15000);
    for (i = 0; i < NCONC; i++) {
        snprintf(msg, sizeof msg, "hello from connection %d", i);
        good += ps[i].nmsg == 1 && !strcmp((const char *)ps[i].msg, msg);
        if (ps[i].c) (void)ws_conn_close(ps[i].c, 1000, NULL);
    }
    check(good == NCONC, "%d of %d got their own message echoed", good, NCONC);
    WAIT(count(ps, 2) == NCONC, 15000);
    for (i = 0; i < NCONC; i++) { clean += ps[i].closed && ps[i].clean && ps[i].code == 1000; free(ps[i].msg); }
    check(clean == NCONC, "%d of %d closed cleanly with 1000", clean, NCONC);
}

static void sc_subprotocol(void) {
    peer p;
    if (!open_conn(&p, "/proto", "v2.chat, v1.chat")) return;
    check(!strcmp(p.proto, "v1.chat"), "offered \"v2.chat, v1.chat\", the peer chose \"%s\"", p.proto);
    WAIT(p.nmsg || p.closed, 5000);
    check(p.nmsg == 1 && !strcmp((const char *)p.msg, "proto:v1.chat"), "the peer agrees (\"%s\")",
          p.msg ? (const char *)p.msg : "");
    close_conn(&p, 1000, "subprotocol");
}

static void sc_refused(void) {
    peer p;
    if (start(&p, "/refuse", NULL) != WS_OK) return;
    WAIT(p.closed, 10000);
    check(p.closed && !p.opened && p.errored == 1 && p.err == WS_ERR_HANDSHAKE && p.http_status == 403,
          "refused: WS_EV_ERROR %s with http_status %d, then WS_EV_CLOSE", ws_result_str(p.err), p.http_status);
}

static void sc_vanish_recv(void) {
    peer p;
    int64_t t0;
    if (!open_conn(&p, "/vanish-recv", NULL)) return;
    t0 = now_ms();
    WAIT(p.closed, 15000);
    check(p.closed && !p.clean && p.code == 1006 && p.err == WS_ERR_IO && p.nmsg == 0,
          "peer vanished mid-message: code %u, clean %d, %s, %d messages, after %ld ms", p.code,
          p.clean, ws_result_str(p.err), p.nmsg, (long)(now_ms() - t0));
}

static void sc_vanish_send(const char *nonce) {
    char path[128];
    unsigned char *d = payload(BIG, 0);
    size_t q;
    int i, stalled = 0;
    peer p;
    ws_result rc;
    snprintf(path, sizeof path, "/vanish-send/%s", nonce);
    if (!open_conn(&p, path, NULL)) { free(d); return; }
    rc = ws_conn_send(p.c, WS_OP_BINARY, d, BIG);
    free(d);
    check(rc == WS_OK, "16 MiB message queued: %s", ws_result_str(rc));
    /* the peer stops reading for a second (see its vanish-send path), so the queue stalls
     * part way: wait for a quarter of the message to leave, or for the queue to stall */
    for (i = 0; i < 500 && !p.closed; i++) {
        size_t before = ws_conn_queued(p.c);
        (void)ws_poll(ctx, 20);
        if (p.closed || ws_conn_queued(p.c) <= BIG / 4 * 3) break;
        stalled = before == ws_conn_queued(p.c) && before < BIG ? stalled + 1 : 0;
        if (stalled == 10) break;
    }
    q = p.closed ? 0 : ws_conn_queued(p.c);
    check(q > 0 && q < BIG, "vanishing (SIGKILL) with %lu of %lu bytes unsent", (unsigned long)q,
          (unsigned long)BIG);
    fflush(stdout);
#ifdef _WIN32   /* (tests/wine/run.sh builds this file for Windows) */
    TerminateProcess(GetCurrentProcess(), 137);
#else
    kill(getpid(), SIGKILL);
#endif
}

static void sc_vanish_check(const char *nonce) {
    char rec[256];
    report(nonce, rec, sizeof rec);
    check(!strncmp(rec, "code=1006 clean=0", 17), "the peer saw the connection end uncleanly (\"%s\")", rec);
}

#ifdef WS_USE_ZLIB
#include <zlib.h>
/* A compressed message sent by hand in 3 fragments, RSV1 on the first (RFC 7692 6.1). Only
 * with client_no_context_takeover: ws.h's own compressor never sees it. */
static void send_compressed_fragments(peer *p, const unsigned char *d, size_t n) {
    z_stream z;
    unsigned char *out = (unsigned char *)xmalloc(n + n / 100 + 64);
    size_t len, a, b;
    ws_result rc;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, -9, 8, Z_DEFAULT_STRATEGY) != Z_OK) { check(0, "deflateInit2"); free(out); return; }
    z.next_in = (unsigned char *)(size_t)d;   /* zlib 1.2 without ZLIB_CONST: not written */
    z.avail_in = (unsigned)n;
    z.next_out = out;
    z.avail_out = (unsigned)(n + n / 100 + 64);
    if (deflate(&z, Z_SYNC_FLUSH) != Z_OK) check(0, "deflate");
    len = (size_t)(z.next_out - out) - 4;   /* without the 00 00 ff ff tail */
    deflateEnd(&z);
    a = len / 3; b = len / 3 * 2;
    rc = ws_conn_send_frame(p->c, 0, WS_RSV1, WS_OP_BINARY, out, a);
    if (rc == WS_OK) rc = ws_conn_send(p->c, WS_OP_PING, "mid-frag", 8);
    if (rc == WS_OK) rc = ws_conn_send_frame(p->c, 0, 0, WS_OP_CONT, out + a, b - a);
    if (rc == WS_OK) rc = ws_conn_send_frame(p->c, 1, 0, WS_OP_CONT, out + b, len - b);
    if (rc != WS_OK) check(0, "ws_conn_send_frame: %s", ws_result_str(rc));
    free(out);
}
#endif

/* permessage-deflate agreed (WS_PEER_DEFLATE=deflate or deflate-nct), then messages of every
 * kind through /echo, and fragments through /frag (the peer compresses its fragmented echo). */
static void sc_deflate(int nct) {
#ifdef WS_USE_ZLIB
    static const size_t sizes[] = { 0, 1, 100, 65536, BIG };
    const char *ext;
    char what[96];
    size_t i, n;
    int t, before;
    unsigned char *d;
    peer p;
    if (!open_conn(&p, "/echo", NULL)) return;
    ext = ws_conn_extensions(p.c);
    check(!strncmp(ext, "permessage-deflate", 18), "permessage-deflate agreed (\"%s\")", ext);
    if (nct) check(strstr(ext, "server_no_context_takeover") && strstr(ext, "client_no_context_takeover") &&
                   strstr(ext, "server_max_window_bits=9") && strstr(ext, "client_max_window_bits=9"),
                   "no context takeover and 9-bit windows agreed");
    for (i = 0; i < sizeof sizes / sizeof sizes[0] - (size_t)nct; i++) {   /* 16 MiB: once is enough */
        for (t = 1; t >= 0; t--) {
            d = payload(sizes[i], t);
            snprintf(what, sizeof what, "compressed %s message of %lu bytes", t ? "text" : "binary",
                     (unsigned long)sizes[i]);
            echo_check(&p, t ? WS_OP_TEXT : WS_OP_BINARY, d, sizes[i], what);
            free(d);
        }
    }
    n = 1 << 20;   /* JSON-like: compresses well, and with context takeover better still */
    d = (unsigned char *)xmalloc(n);
    for (i = 0; i < n; i++) d[i] = (unsigned char)"{\"id\":12345,\"name\":\"sensor\",\"v\":[1,2,3]},"[i % 41];
    for (t = 0; t < 3; t++) echo_check(&p, WS_OP_TEXT, d, n, "compressible 1 MiB JSON text");
    echo_check(&p, WS_OP_TEXT | WS_SEND_UNCOMPRESSED, d, 1000, "uncompressed (WS_SEND_UNCOMPRESSED) text");
    free(d);
    close_conn(&p, 1000, "deflate");
    if (!open_conn(&p, "/frag", NULL)) return;
    for (t = 1; t >= 0; t--) {
        n = t ? 50000 : 300000;
        d = payload(n, t);
        before = p.nmsg;
        send_fragments(&p, t ? WS_OP_TEXT : WS_OP_BINARY, d, n, 1, n / 2);
        WAIT(p.nmsg > before || p.closed, 10000);
        check(p.nmsg > before && p.msg_len == n && !memcmp(p.msg, d, n),
              "%s in fragments, echoed compressed in fragments with a ping inside, intact",
              t ? "text" : "binary");
        free(d);
    }
    if (nct) {
        n = 200000;
        d = (unsigned char *)xmalloc(n);
        for (i = 0; i < n; i++) d[i] = (unsigned char)((unsigned char)"fragments of a compressed message "[i % 34] + (i >> 15));
        before = p.nmsg;
        send_compressed_fragments(&p, d, n);
        WAIT(p.nmsg > before || p.closed, 10000);
        check(p.nmsg > before && p.msg_len == n && !memcmp(p.msg, d, n),
              "a compressed message sent in 3 fragments (RSV1 on the first) came back intact");
        free(d);
    }
    close_conn(&p, 1000, "deflate fragments");
#else
    (void)nct;
    check(0, "ws_peer was built without WS_USE_ZLIB");
#endif
}

static int run_client(const char *url, const char *scenario, const char *nonce) {
    snprintf(base, sizeof base, "%s", url);
    if (base[0] && base[strlen(base) - 1] == '/') base[strlen(base) - 1] = '\0';
    scen = scenario;
    if (!strcmp(scenario, "messages")) sc_messages();
    else if (!strcmp(scenario, "fragments")) sc_fragments();
    else if (!strcmp(scenario, "ping")) sc_ping();
    else if (!strcmp(scenario, "close-client")) sc_close_client(nonce);
    else if (!strcmp(scenario, "close-empty")) sc_close_empty(nonce);
    else if (!strcmp(scenario, "close-server")) sc_close_server(nonce);
    else if (!strcmp(scenario, "concurrent")) sc_concurrent();
    else if (!strcmp(scenario, "subprotocol")) sc_subprotocol();
    else if (!strcmp(scenario, "refused")) sc_refused();
    else if (!strcmp(scenario, "vanish-recv")) sc_vanish_recv();
    else if (!strcmp(scenario, "vanish-send")) sc_vanish_send(nonce);
    else if (!strcmp(scenario, "vanish-check")) sc_vanish_check(nonce);
    else if (!strcmp(scenario, "deflate")) sc_deflate(0);
    else if (!strcmp(scenario, "deflate-nct")) sc_deflate(1);
    else { fprintf(stderr, "unknown scenario %s\n", scenario); return 2; }
    return failures ? 1 : 0;
}

/* ---- server side ---- */
enum { P_ECHO = 1, P_FRAG, P_PING, P_PROTO, P_STATS, P_VANISH, P_CLOSE_SERVER, P_RECORD, P_REPORT };
typedef struct sconn { int kind, vanishing, stalled; size_t queued; char nonce[64]; } sconn;
static struct { char nonce[64], text[200]; } records[256];
static int nrecords;

static int path_is(ws_span path, const char *p, ws_span *rest) {
    size_t n = strlen(p);
    if (path.len < n || memcmp(path.ptr, p, n)) return 0;
    if (path.len == n) { rest->ptr = path.ptr + n; rest->len = 0; return 1; }
    if (path.ptr[n] != '/') return 0;
    rest->ptr = path.ptr + n + 1;
    rest->len = path.len - n - 1;
    return 1;
}

static void on_upgrade(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user) {
    sconn s;
    ws_span rest;
    (void)user;
    memset(&s, 0, sizeof s);
    rest.ptr = ""; rest.len = 0;
    if (path_is(req->path, "/echo", &rest)) s.kind = P_ECHO;
    else if (path_is(req->path, "/frag", &rest)) s.kind = P_FRAG;
    else if (path_is(req->path, "/ping", &rest)) s.kind = P_PING;
    else if (path_is(req->path, "/proto", &rest)) s.kind = P_PROTO;
    else if (path_is(req->path, "/stats", &rest)) s.kind = P_STATS;
    else if (path_is(req->path, "/vanish-recv", &rest)) s.kind = P_VANISH;
    else if (path_is(req->path, "/close-server", &rest)) s.kind = P_CLOSE_SERVER;
    else if (path_is(req->path, "/report", &rest)) s.kind = P_REPORT;
    else if (path_is(req->path, "/refuse", &rest)) {
        reply->status = 403;
        reply->body = "refused by on_upgrade\n";
        reply->body_len = strlen("refused by on_upgrade\n");
        return;
    } else if (req->path.len > 1 && memchr(req->path.ptr + 1, '/', req->path.len - 1)) {
        const char *sl = (const char *)memchr(req->path.ptr + 1, '/', req->path.len - 1);
        s.kind = P_RECORD;
        rest.ptr = sl + 1;
        rest.len = req->path.len - (size_t)(sl + 1 - req->path.ptr);
    } else { reply->status = 404; return; }
    if (rest.len >= sizeof s.nonce) { reply->status = 414; return; }
    memcpy(s.nonce, rest.ptr, rest.len);
    if (s.kind == P_PROTO && ws_http_has_token(req->headers, req->num_headers, "Sec-WebSocket-Protocol", "v1.chat"))
        reply->protocol = "v1.chat";
    ws_conn_set_user(c, memcpy(xmalloc(sizeof s), &s, sizeof s));
}

static void record(const sconn *s, const ws_event *ev) {
    int i;
    if (!s->nonce[0] || s->kind == P_REPORT) return;
    for (i = 0; i < nrecords && strcmp(records[i].nonce, s->nonce); i++) {}
    if (i == nrecords) {
        if (nrecords == (int)(sizeof records / sizeof records[0])) return;
        nrecords++;
    }
    snprintf(records[i].nonce, sizeof records[i].nonce, "%s", s->nonce);
    snprintf(records[i].text, sizeof records[i].text, "code=%u clean=%d reason=%s", ev->close_code,
             ev->clean, ev->reason);
}

static void send_or_say(ws_conn *c, ws_result rc, const char *what) {
    if (rc != WS_OK) printf("ws_peer server: #%llu %s: %s\n", (unsigned long long)ws_conn_id(c), what, ws_result_str(rc));
}

static void server_event(ws_conn *c, const ws_event *ev) {
    sconn *s = (sconn *)ws_conn_user(c);
    char buf[256];
    int i;
    if (!s) return;
    switch (ev->type) {
    case WS_EV_OPEN:
        if (s->kind == P_PING) send_or_say(c, ws_conn_send(c, WS_OP_PING, "srv-ping", 8), "ping");
        else if (s->kind == P_PROTO) {
            snprintf(buf, sizeof buf, "proto:%s", ws_conn_protocol(c));
            send_or_say(c, ws_conn_send_text(c, buf), "send");
        } else if (s->kind == P_STATS) {
            snprintf(buf, sizeof buf, "open:%lu", (unsigned long)ws_conn_count(ctx));
            send_or_say(c, ws_conn_send_text(c, buf), "send");
        } else if (s->kind == P_CLOSE_SERVER) {
            send_or_say(c, ws_conn_close(c, 4002, "bye from server"), "close");
        } else if (s->kind == P_REPORT) {
            for (i = 0; i < nrecords && strcmp(records[i].nonce, s->nonce); i++) {}
            send_or_say(c, ws_conn_send_text(c, i < nrecords ? records[i].text : "none"), "send");
            send_or_say(c, ws_conn_close(c, 1000, NULL), "close");
        } else if (s->kind == P_VANISH) {
            unsigned char *d = payload(BIG, 0);
            send_or_say(c, ws_conn_send(c, WS_OP_BINARY, d, BIG), "send");
            free(d);
            s->vanishing = 1;
        }
        break;
    case WS_EV_MESSAGE:
        if (s->kind == P_ECHO) send_or_say(c, ws_conn_send(c, ev->opcode, ev->data, ev->len), "echo");
        else if (s->kind == P_FRAG) {   /* 3 fragments, cut anywhere (even inside UTF-8), a ping inside */
            size_t a = ev->len / 3, b = ev->len / 3 * 2;
            ws_result rc = ws_conn_send_frame(c, 0, 0, ev->opcode, ev->data, a);
            if (rc == WS_OK) rc = ws_conn_send(c, WS_OP_PING, "mid-frag", 8);
            if (rc == WS_OK) rc = ws_conn_send_frame(c, 0, 0, WS_OP_CONT, ev->data + a, b - a);
            if (rc == WS_OK) rc = ws_conn_send_frame(c, 1, 0, WS_OP_CONT, ev->data + b, ev->len - b);
            send_or_say(c, rc, "fragmented echo");
        }
        break;
    case WS_EV_PONG:
        if (s->kind == P_PING) {
            snprintf(buf, sizeof buf, "got-pong:%.*s", (int)ev->len, (const char *)ev->data);
            send_or_say(c, ws_conn_send_text(c, buf), "send");
        }
        break;
    case WS_EV_CLOSE:
        record(s, ev);
        free(s);
        ws_conn_set_user(c, NULL);
        break;
    default: break;
    }
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)user;
    if (ws_conn_is_server(c)) server_event(c, ev); else client_event(c, ev);
}

static void on_signal(int sig) { (void)sig; stop = 1; }

static int run_server(void) {
    ws_listener *l;
    ws_result rc = ws_listen(ctx, "127.0.0.1", 0, &l);
    int64_t end = now_ms() + 15 * 60 * 1000;   /* run.sh stops it long before */
    if (rc != WS_OK) { fprintf(stderr, "ws_listen: %s\n", ws_result_str(rc)); return 1; }
    printf("listening on %s\n", ws_listener_url(l));
    fflush(stdout);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!stop && now_ms() < end) {
        ws_conn *c;
        if (ws_poll(ctx, 50) < 0) { fprintf(stderr, "ws_poll failed\n"); return 1; }
        for (c = ws_conn_next(ctx, NULL); c; c = ws_conn_next(ctx, c)) {
            sconn *s = (sconn *)ws_conn_user(c);
            size_t q = ws_conn_queued(c);
            if (!s || !s->vanishing) continue;
            s->stalled = q == s->queued && q < BIG ? s->stalled + 1 : 0;   /* ~50 ms a pass */
            s->queued = q;
            if (q > BIG / 4 * 3 && s->stalled < 4) continue;
            s->vanishing = 0;   /* part of the message is out, most of it is not: vanish */
            if (!ws_conn_queued(c)) check(0, "vanish-recv: all 16 MiB left before it could vanish");
            ws_conn_drop(c);
        }
        fflush(stdout);
    }
    return failures ? 1 : 0;
}

static void on_log(int level, const char *msg, void *user) {
    (void)user;
    fprintf(stderr, "ws.h log %d: %s\n", level, msg);
}

int main(int argc, char **argv) {
    ws_config cfg;
    int rc;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.on_upgrade = on_upgrade;
    cfg.log = on_log;
    if (getenv("WS_PEER_DEFLATE")) {   /* permessage-deflate for this process, client and server */
        cfg.deflate.enable = 1;
        cfg.deflate.threshold = -1;     /* even 0- and 1-byte messages */
        if (!strcmp(getenv("WS_PEER_DEFLATE"), "deflate-nct")) {
            cfg.deflate.window_bits = cfg.deflate.peer_window_bits = 9;
            cfg.deflate.no_context_takeover = cfg.deflate.peer_no_context_takeover = 1;
        }
    }
    if (argc == 2 && !strcmp(argv[1], "server")) {
        if (!(ctx = ws_ctx_create(&cfg))) return 2;
        rc = run_server();
    } else if ((argc == 4 || argc == 5) && !strcmp(argv[1], "client")) {
        if (!(ctx = ws_ctx_create(&cfg))) return 2;
        rc = run_client(argv[2], argv[3], argc == 5 ? argv[4] : "n");
    } else {
        fprintf(stderr, "usage: %s server | client ws://127.0.0.1:PORT SCENARIO [NONCE]\n", argv[0]);
        return 2;
    }
    ws_ctx_destroy(ctx);
    return rc;
}
