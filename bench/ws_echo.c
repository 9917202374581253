/* ws_echo.c - ws.h echo server for the benchmarks. Counts heap bytes through WS_MALLOC /
 * WS_REALLOC / WS_FREE; SIGUSR1 prints "heap <live bytes> <live blocks> conns <n>".
 * The count is malloc_usable_size of each block (glibc): no header of its own, so the server's
 * RSS is what ws.h costs, and the count is what the allocator hands out (>= what was asked).
 *   ws_echo PORT */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
static size_t g_live, g_blocks;
static void *bh_malloc(size_t n) {
    void *p = malloc(n);
    if (p) { g_live += malloc_usable_size(p); g_blocks++; }
    return p;
}
static void bh_free(void *p) {
    if (!p) return;
    g_live -= malloc_usable_size(p); g_blocks--;
    free(p);
}
static void *bh_realloc(void *p, size_t n) {
    size_t old;
    void *np;
    if (!p) return bh_malloc(n);
    old = malloc_usable_size(p);
    np = realloc(p, n);
    if (!np) return NULL;
    g_live = g_live - old + malloc_usable_size(np);
    return np;
}
#define WS_MALLOC(sz, u)     bh_malloc(sz)
#define WS_REALLOC(p, sz, u) bh_realloc(p, sz)
#define WS_FREE(p, u)        bh_free(p)
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t g_report, g_stop;
static unsigned long long g_msgs;
static void on_usr1(int s) { (void)s; g_report = 1; }
static void on_term(int s) { (void)s; g_stop = 1; }

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)user;
    if (ev->type == WS_EV_MESSAGE && ++g_msgs) (void)ws_conn_send(c, ev->opcode, ev->data, ev->len);
}

int main(int argc, char **argv) {
    ws_config cfg;
    ws_ctx *ctx;
    uint16_t port = (uint16_t)(argc > 1 ? atoi(argv[1]) : 9001);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.max_conns = 30000;
    cfg.ping_interval_ms = -1;    /* like the other servers: no keep-alive pings */
    cfg.max_pending_per_addr = 256;   /* the load generator's 100 handshakes at a time come
                                       * from one address: none dropped (default 64) */
    signal(SIGUSR1, on_usr1);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    ctx = ws_ctx_create(&cfg);
    if (!ctx || ws_listen(ctx, "127.0.0.1", port, NULL) != WS_OK) { fprintf(stderr, "listen failed\n"); return 1; }
    printf("ready\n"); fflush(stdout);
    while (!g_stop) {
        if (ws_poll(ctx, 100) < 0) break;
        if (g_report) {
            g_report = 0;
            printf("heap %zu %zu conns %zu msgs %llu\n", g_live, g_blocks, ws_conn_count(ctx), g_msgs);
            fflush(stdout);
        }
    }
    printf("msgs %llu\n", g_msgs);
    ws_ctx_destroy(ctx);
    return 0;
}
