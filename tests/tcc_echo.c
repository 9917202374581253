/* tcc_echo.c - a small loopback echo built by other compilers (make test-tcc: tcc 0.9.27):
 * a server and a client in one ws_ctx on 127.0.0.1, messages of every length class echoed
 * back, then a clean close. It checks that ws.h picked a wait it can use: with tcc on x86-64,
 * glibc's packed struct epoll_event is laid out wrongly, so poll() must have been chosen.
 * Ends with "N passed, N failed"; every wait is capped (10 s), nothing sleeps. */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int pass, fail, opened, closed, got, clean;
static size_t got_len;
static unsigned char got_sum;

static void check(int ok, const char *what) {
    if (ok) pass++; else fail++;
    printf("%s - %s\n", ok ? "ok" : "FAIL", what);
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    size_t i;
    (void)user;
    if (ev->type == WS_EV_OPEN && !ws_conn_is_server(c)) opened = 1;
    if (ev->type == WS_EV_MESSAGE) {
        if (ws_conn_is_server(c)) { ws_conn_send(c, ev->opcode, ev->data, ev->len); return; }
        got++;
        got_len = ev->len;
        got_sum = 0;
        for (i = 0; i < ev->len; i++) got_sum = (unsigned char)(got_sum + ev->data[i]);
    }
    if (ev->type == WS_EV_CLOSE && !ws_conn_is_server(c)) { closed = 1; clean = ev->clean; }
}

static int wait_for(ws_ctx *ctx, const int *flag, int want) {
    int64_t end = ws__now_ms() + 10000;   /* only catches a hang */
    while (*flag < want && ws__now_ms() < end) ws_poll(ctx, 10);
    return *flag >= want;
}

int main(void) {
    static const size_t sizes[] = { 0, 1, 125, 126, 65535, 65536, 300000 };
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener *l = NULL;
    ws_conn *c = NULL;
    unsigned char *buf = (unsigned char *)malloc(300000), sum;
    size_t k, i;
    char what[80];
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    ctx = ws_ctx_create(&cfg);
    check(ctx != NULL && buf != NULL, "ws_ctx_create");
    if (!ctx || !buf) return 1;
#if defined(WS__EPOLL)
    check((ctx->epfd >= 0) == ws__epoll_usable(), "epoll only where its layout is right");
#  if defined(__TINYC__) && defined(__x86_64__)
    check(ctx->epfd < 0, "tcc on x86-64: poll() chosen, not epoll");
#  endif
#endif
    check(ws_listen(ctx, "127.0.0.1", 0, &l) == WS_OK, "ws_listen 127.0.0.1:0");
    check(l && ws_connect(ctx, ws_listener_url(l), NULL, NULL, &c) == WS_OK, "ws_connect");
    check(wait_for(ctx, &opened, 1), "client open");
    for (k = 0; opened && k < sizeof sizes / sizeof sizes[0]; k++) {
        for (i = 0, sum = 0; i < sizes[k]; i++) { buf[i] = (unsigned char)(i * 7 + k); sum = (unsigned char)(sum + buf[i]); }
        sprintf(what, "echo of %lu bytes", (unsigned long)sizes[k]);
        check(ws_conn_send(c, WS_OP_BINARY, buf, sizes[k]) == WS_OK &&
              wait_for(ctx, &got, (int)k + 1) && got_len == sizes[k] && got_sum == sum, what);
    }
    check(opened && ws_conn_close(c, WS_CLOSE_NORMAL, "bye") == WS_OK && wait_for(ctx, &closed, 1) && clean,
          "clean close");
    ws_ctx_destroy(ctx);
    free(buf);
    printf("%d passed, %d failed\n", pass, fail);
    return fail != 0;
}
