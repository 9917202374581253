/* test_options.c - the compile-time options built and run: WS_MALLOC/WS_REALLOC/WS_FREE hooks
 * (every allocation goes through them, each with its user pointer, and all are freed), out of
 * memory (the Nth allocation fails, for every N a whole echo run makes: no crash, no leak, no
 * hang, every connection still gets its one CLOSE), WS_RANDOM (masks come from it; a failing
 * one does not stop the connection), WS_STATIC (two private copies of ws.h in one program:
 * tests/test_options_b.c is the second) and WS_NO_THREADS (a host name resolved in
 * ws_connect itself). `make test` builds it with all four under ASan (build/test_options).
 * The last line printed is "N passed, N failed". */
#define _DEFAULT_SOURCE 1            /* the hooks need headers before ws.h: what ws.h would set */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the hooks: a counting allocator that can fail its Nth call ---- */
static long opt_live, opt_calls, opt_fail_at, opt_failed, opt_bad_user;
static void *opt_user_seen;
static int opt_user_tag;   /* &opt_user_tag is the cfg.user of every ctx here */
static void opt_note_user(void *u) { if (u && u != (void *)&opt_user_tag) opt_bad_user++; }
static void *opt_malloc(size_t n, void *u) {
    void *p;
    opt_note_user(u);
    if (u) opt_user_seen = u;
    if (++opt_calls == opt_fail_at) { opt_failed++; return NULL; }
    p = malloc(n);
    if (p) opt_live++;
    return p;
}
static void *opt_realloc(void *p, size_t n, void *u) {
    void *q;
    opt_note_user(u);
    if (++opt_calls == opt_fail_at) { opt_failed++; return NULL; }
    q = realloc(p, n);
    if (q && !p) opt_live++;
    return q;
}
static void opt_free(void *p, void *u) {
    opt_note_user(u);
    if (p) { opt_live--; free(p); }
}
#define WS_MALLOC(sz, u)     opt_malloc((sz), (u))
#define WS_REALLOC(p, sz, u) opt_realloc((p), (sz), (u))
#define WS_FREE(p, u)        opt_free((p), (u))

/* ---- WS_RANDOM: a known pattern, counted, that can be made to fail ---- */
static long opt_rand_calls;
static int opt_rand_fail;
static int opt_random(void *buf, size_t len) {
    size_t i;
    opt_rand_calls++;
    if (opt_rand_fail) return -1;
    for (i = 0; i < len; i++) ((unsigned char *)buf)[i] = (unsigned char)(0xA5 ^ (i * 29) ^ (size_t)opt_rand_calls);
    return 0;
}
#define WS_RANDOM(buf, len) opt_random((buf), (len))

/* ---- getaddrinfo as Windows answers on a PC with no network (opt_offline): AI_ADDRCONFIG
 * does not count loopback addresses, so such a lookup finds nothing, even "localhost" ---- */
#ifndef _WIN32
#  define getaddrinfo opt_getaddrinfo
#  define T_OFFLINE 1
#endif

#define WS_STATIC
#define WS_NO_THREADS
#define WS_IMPLEMENTATION
#include "../ws.h"
#include "test.h"

int opt_b_check(void);   /* tests/test_options_b.c: the other private copy */

#ifdef T_OFFLINE
#  undef getaddrinfo
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res);
static int opt_offline;
static long opt_lookups;
int opt_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
    opt_lookups++;
    if (opt_offline && hints && (hints->ai_flags & AI_ADDRCONFIG)) { *res = NULL; return EAI_NONAME; }
    return getaddrinfo(node, service, hints, res);
}
#endif

/* ---- one echo run: a client and a server in one ctx over 127.0.0.1 ---- */
typedef struct opt_run {
    int opens, msgs, closes, errors, after_close, srv_closes, echoed;
    ws_conn *cl;
} opt_run;

static void opt_on_event(ws_conn *c, const ws_event *ev, void *user) {
    opt_run *r = (opt_run *)ws_conn_user(c);
    (void)user;
    if (ws_conn_is_server(c)) {
        if (ev->type == WS_EV_MESSAGE && ws_conn_send(c, ev->opcode, ev->data, ev->len) != WS_OK)
            (void)ws_conn_close(c, WS_CLOSE_INTERNAL, "no room");
        return;
    }
    if (!r) return;
    if (r->closes) r->after_close++;
    switch (ev->type) {
    case WS_EV_OPEN:
        r->opens++;
        if (ws_conn_send_text(c, "through the hooks") != WS_OK) (void)ws_conn_close(c, WS_CLOSE_INTERNAL, NULL);
        break;
    case WS_EV_MESSAGE:
        r->msgs++;
        r->echoed = ev->len == 17 && memcmp(ev->data, "through the hooks", 17) == 0;
        (void)ws_conn_close(c, WS_CLOSE_NORMAL, "done");
        break;
    case WS_EV_ERROR: r->errors++; break;
    case WS_EV_CLOSE: r->closes++; break;
    default: break;
    }
}

/* Returns 1 if the whole echo worked; 0 if something failed cleanly. A hang fails the test. */
static int opt_echo(const char *host, opt_run *r) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener *l = NULL;
    char url[96];
    int64_t end;
    memset(&cfg, 0, sizeof cfg);
    memset(r, 0, sizeof *r);
    cfg.on_event = opt_on_event;
    cfg.user = &opt_user_tag;
    ctx = ws_ctx_create(&cfg);
    if (!ctx) return 0;
    if (ws_listen(ctx, "127.0.0.1", 0, &l) != WS_OK) { ws_ctx_destroy(ctx); return 0; }
    snprintf(url, sizeof url, "ws://%s:%u/opt", host, (unsigned)ws_listener_port(l));
    if (ws_connect(ctx, url, NULL, r, &r->cl) != WS_OK) { ws_ctx_destroy(ctx); return 0; }
    end = ws__now_ms() + 20000;   /* only a hang guard */
    while (!r->closes && ws__now_ms() < end) (void)ws_poll(ctx, 20);
    if (!r->closes) { printf("  hang: no CLOSE in 20 s (allocation %ld failed)\n", opt_fail_at); CHECK(0); }
    ws_ctx_destroy(ctx);
    CHECK_EQ(r->after_close, 0);
    return r->opens == 1 && r->echoed && r->closes == 1 && r->errors == 0;
}

static void test_opt_hooks(void) {
    opt_run r;
    opt_calls = opt_live = opt_bad_user = 0;
    opt_user_seen = NULL;
    opt_fail_at = 0;
    CHECK(opt_echo("127.0.0.1", &r));
    CHECK(opt_calls > 3);                       /* ws.h allocated through the hooks ... */
    CHECK_EQ(opt_live, 0);                      /* ... and gave every byte back */
    CHECK(opt_user_seen == (void *)&opt_user_tag);   /* with cfg.user */
    CHECK_EQ(opt_bad_user, 0);
}

/* WS_NO_THREADS: a host name is resolved inside ws_connect; the echo works. */
static void test_opt_no_threads_name(void) {
    opt_run r;
    opt_fail_at = 0;
    CHECK(opt_echo("localhost", &r));
    CHECK_EQ(opt_live, 0);
}

/* ws://localhost on a PC with no network (Windows: AI_ADDRCONFIG finds nothing, see
 * opt_getaddrinfo): the lookup is made again without AI_ADDRCONFIG and the echo works. */
static void test_opt_localhost_offline(void) {
#ifdef T_OFFLINE
    opt_run r;
    opt_fail_at = 0;
    opt_offline = 1;
    opt_lookups = 0;
    CHECK(opt_echo("localhost", &r));
    opt_offline = 0;
    CHECK(opt_lookups >= 2);   /* went through the stand-in */
    CHECK_EQ(opt_live, 0);
#endif
}

/* The Nth allocation fails, for each N up to what a whole run makes (and a few more). */
static void test_opt_out_of_memory(void) {
    opt_run r;
    long total, n, ok_runs = 0, clean_fails = 0;
    int pass;
    for (pass = 0; pass < 2; pass++) {   /* IP literal, then a host name */
        const char *host = pass ? "localhost" : "127.0.0.1";
        opt_fail_at = 0;
        opt_calls = 0;
        CHECK(opt_echo(host, &r));
        total = opt_calls;
        CHECK(total > 3);
        for (n = 1; n <= total + 2; n++) {
            opt_calls = opt_live = opt_failed = 0;
            opt_fail_at = n;
            if (opt_echo(host, &r)) ok_runs++;
            else clean_fails++;
            if (opt_live != 0) { printf("  %s: allocation %ld failed: %ld blocks not freed\n", host, n, opt_live); CHECK(0); }
            if (n <= total) CHECK_EQ(opt_failed, 1);   /* the failure did happen */
        }
    }
    opt_fail_at = 0;
    CHECK(clean_fails > 0);                    /* some runs did fail, and cleanly */
    if (getenv("OPT_VERBOSE")) printf("  %ld runs still echoed, %ld failed cleanly\n", ok_runs, clean_fails);
}

/* ws_conn_adopt of a client stream, the Nth allocation failing: each refused adopt leaves
 * nothing behind (a connection whose request could not be queued was once left on the pending
 * list after being freed: a use after free in the next ws_poll, which ASan shows), and the
 * caller keeps its stream. */
static void test_opt_adopt_out_of_memory(void) {
    ws_config cfg;
    ws_engine_opts o;
    long n, total = 0, refused = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = opt_on_event;
    cfg.user = &opt_user_tag;
    for (n = 0; n <= total + 2; n++) {
        opt_run r;
        ws_ctx *ctx;
        ws_conn *c = NULL;
        int sv[2], i;
        ws_result rc;
        memset(&r, 0, sizeof r);
        opt_fail_at = 0;
        opt_calls = opt_live = 0;
        ctx = ws_ctx_create(&cfg);
        if (!ctx) { CHECK(0); return; }
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) { CHECK(0); ws_ctx_destroy(ctx); return; }
        memset(&o, 0, sizeof o);
        o.url = "ws://localhost/";
        opt_calls = 0;
        opt_fail_at = n;               /* 0: the run that counts the allocations */
        rc = ws_conn_adopt(ctx, sv[0], &o, &r, &c);
        if (n == 0) total = opt_calls;
        opt_fail_at = 0;
        if (rc != WS_OK) { refused++; CHECK(c == NULL); }
        for (i = 0; i < 3; i++) (void)ws_poll(ctx, 0);
        ws_ctx_destroy(ctx);
        if (opt_live != 0) { printf("  adopt, allocation %ld failed: %ld blocks not freed\n", n, opt_live); CHECK(0); }
        if (rc != WS_OK) CHECK_EQ(write(sv[1], "x", 1), 1);   /* still the caller's */
        close(sv[0]);
        close(sv[1]);
    }
    CHECK(total > 2);
    CHECK(refused > 0);
}

static void test_opt_random(void) {
    unsigned char b[8];
    opt_run r;
    long before;
    opt_rand_fail = 0;
    before = opt_rand_calls;
    CHECK_EQ(ws_random(b, sizeof b), WS_OK);
    CHECK_EQ(opt_rand_calls, before + 1);
    CHECK_EQ(b[1], (unsigned char)(0xA5 ^ 29 ^ (size_t)opt_rand_calls));
    before = opt_rand_calls;
    CHECK(opt_echo("127.0.0.1", &r));          /* the client's key and masks */
    CHECK(opt_rand_calls > before);
    opt_rand_fail = 1;                          /* no entropy: WS_ERR_IO, and masks still vary */
    CHECK_EQ(ws_random(b, sizeof b), WS_ERR_IO);
    CHECK(opt_echo("127.0.0.1", &r));
    opt_rand_fail = 0;
}

/* WS_STATIC: the other file's private copy works beside this one */
static void test_opt_static(void) {
    CHECK_EQ(opt_b_check(), 1);
    CHECK_STR(ws_result_str(WS_ERR_DNS), "host name lookup failed");
}

int main(int argc, char **argv) {
    t_only = argc > 1 ? argv[1] : NULL;
    RUN(test_opt_hooks);
    RUN(test_opt_no_threads_name);
    RUN(test_opt_localhost_offline);
    RUN(test_opt_random);
    RUN(test_opt_static);
    RUN(test_opt_out_of_memory);
    RUN(test_opt_adopt_out_of_memory);
    return t_summary();
}
