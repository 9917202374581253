/* load.c - WebSocket echo load generator built on ws.h (one ws_ctx, one thread).
 *   load URL CONNS INFLIGHT SIZE SECONDS      throughput: each connection keeps INFLIGHT
 *                                             binary messages of SIZE bytes in flight
 *   load URL CONNS 0 0 SECONDS                idle: open CONNS connections, print "OPEN n",
 *                                             hold them SECONDS, exit
 *   load URL CONNS -1 0 SECONDS               handshakes: CONNS at a time connect, upgrade,
 *                                             close (1000) and reconnect; counts the opens
 * Every echo is checked for length and sequence number (bytes 0..7); every 16th echo is
 * compared byte for byte. Prints one "RESULT ..." line; exit status 1 on any mismatch. */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

typedef struct peer { uint64_t sent, recv; int open; } peer;
static uint8_t *g_msg;
static size_t g_size;
static int g_inflight, g_measuring, g_bad;
static size_t g_opened, g_failed, g_closed;
static uint64_t g_msgs, g_bytes, g_total;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
static double cpu_s(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 +
           (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}
static void fill(uint8_t *p, uint64_t seq) {      /* bytes 0..7 = seq; the rest is fixed */
    memcpy(p, &seq, g_size < 8 ? g_size : 8);
}
static void send_one(ws_conn *c, peer *p) {
    fill(g_msg, p->sent);
    if (ws_conn_send(c, WS_OP_BINARY, g_msg, g_size) == WS_OK) p->sent++;
    else g_bad++;
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    peer *p = (peer *)ws_conn_user(c);
    int i;
    (void)user;
    switch (ev->type) {
    case WS_EV_OPEN:
        p->open = 1; g_opened++;
        if (g_inflight < 0) { g_total++; (void)ws_conn_close(c, WS_CLOSE_NORMAL, NULL); break; }
        for (i = 0; i < g_inflight; i++) send_one(c, p);
        break;
    case WS_EV_MESSAGE: {
        uint64_t seq = 0;
        if (ev->len != g_size) { g_bad++; break; }
        memcpy(&seq, ev->data, g_size < 8 ? g_size : 8);
        if (g_size >= 8 && seq != p->recv) g_bad++;
        if ((p->recv & 15) == 0 && g_size > 8 && memcmp(ev->data + 8, g_msg + 8, g_size - 8)) g_bad++;
        p->recv++; g_total++;
        if (g_measuring) { g_msgs++; g_bytes += ev->len; }
        send_one(c, p);
        break;
    }
    case WS_EV_CLOSE:
        if (g_inflight < 0) {   /* handshake churn: the next one on this slot */
            if (!p->open) g_failed++;
            p->open = 0; p->sent = 1;   /* sent = 1: reconnect in main */
            break;
        }
        if (p->open) g_closed++; else g_failed++;
        p->open = 0;
        break;
    default: break;
    }
}

int main(int argc, char **argv) {
    ws_config cfg;
    ws_ctx *ctx;
    peer *peers;
    size_t n, started = 0, i;
    double secs, t0, t_end, c0 = 0, m0 = 0;
    if (argc < 6) { fprintf(stderr, "usage: load URL CONNS INFLIGHT SIZE SECONDS\n"); return 2; }
    n = (size_t)atol(argv[2]);
    g_inflight = atoi(argv[3]);
    g_size = (size_t)atol(argv[4]);
    secs = atof(argv[5]);
    g_msg = (uint8_t *)malloc(g_size + 8);
    for (i = 0; i < g_size + 8; i++) g_msg[i] = (uint8_t)(i * 7 + 1);
    peers = (peer *)calloc(n, sizeof *peers);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.handshake_timeout_ms = 60000;
    cfg.connect_timeout_ms = 60000;
    ctx = ws_ctx_create(&cfg);
    if (!ctx || !g_msg || !peers) return 2;
    /* connect, at most 100 handshakes outstanding (listen backlogs are small) */
    t0 = now_s();
    while (g_opened + g_failed < n && now_s() - t0 < 120) {
        while (started < n && started - g_opened - g_failed < 100) {
            if (ws_connect(ctx, argv[1], NULL, &peers[started], NULL) != WS_OK) { g_failed++; }
            started++;
        }
        if (ws_poll(ctx, 50) < 0) break;
    }
    printf("OPEN %zu failed %zu in %.2f s\n", g_opened, g_failed, now_s() - t0);
    fflush(stdout);
    if (!g_opened) return 1;
    t0 = now_s();
    if (g_inflight > 0) {                      /* 0.5 s warm-up, then measure */
        while (now_s() - t0 < 0.5) ws_poll(ctx, 10);
        g_measuring = 1; t0 = now_s(); c0 = cpu_s(); m0 = 0;
    }
    t_end = t0 + secs;
    if (g_inflight < 0) {   /* handshakes per second until t_end */
        double c1 = cpu_s();
        g_total = 0;
        while (now_s() < t_end) {
            for (i = 0; i < n; i++)
                if (peers[i].sent) { peers[i].sent = 0; if (ws_connect(ctx, argv[1], NULL, &peers[i], NULL) != WS_OK) g_failed++; }
            ws_poll(ctx, 10);
        }
        printf("RESULT handshakes conns %zu hs/s %.0f load_cpu %.0f%% failed %zu total %llu\n", n,
               (double)g_total / (now_s() - t0), 100.0 * (cpu_s() - c1) / (now_s() - t0), g_failed,
               (unsigned long long)g_opened);   /* total: every open, for server CPU / handshake */
        fflush(stdout);
        return g_failed ? 1 : 0;
    }
    while (now_s() < t_end) ws_poll(ctx, 10);
    if (g_inflight > 0) {
        double dt = now_s() - t0, cpu = cpu_s() - c0;
        (void)m0;
        printf("RESULT conns %zu inflight %d size %zu msgs/s %.0f MB/s %.2f load_cpu %.0f%% bad %d closed %zu total %llu\n",
               g_opened, g_inflight, g_size, (double)g_msgs / dt, (double)g_bytes / dt / 1e6,
               100.0 * cpu / dt, g_bad, g_closed, (unsigned long long)g_total);
    } else {
        printf("RESULT idle conns %zu closed %zu\n", g_opened - g_closed, g_closed);
    }
    fflush(stdout);
    ws_ctx_destroy(ctx);
    free(peers); free(g_msg);
    return g_bad || g_closed ? 1 : 0;
}
