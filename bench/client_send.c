/* client_send.c - what a client's send costs on one core: ws_conn_send of binary messages
 * (4 KiB, 64 KiB, 1 MiB) on an open client connection of the sans-I/O engine, the output taken
 * at once (ws_engine_consume), so the time is the send path alone: the mask's random bytes, the
 * frame header, and the payload copied into the queue and masked (RFC 6455 5.3: a client may
 * not mask the caller's buffer in place). Each size is timed in 15 windows of CPU time; the
 * median and the best window are printed in GB per CPU-second, next to memcpy of the same
 * buffer (the least any copy costs).
 *   make -C bench build/client_send && bench/build/client_send [seconds per size]
 * Same-run comparison with another ws.h: build/client_send_old is this file built against
 * build/ws_old.h; run the two alternately:
 *   git show main:ws.h > bench/build/ws_old.h && make -C bench build/client_send build/client_send_old
 *   for i in 1 2 3; do bench/build/client_send; bench/build/client_send_old; done */
#include <stddef.h>
#include <stdint.h>
static int rnd(void *b, size_t n);
#define WS_RANDOM(b, n) rnd(b, n)   /* the mask's bytes: cheap, so the copy is what is timed */
#define WS_IMPLEMENTATION
#define WS_NO_NET
#ifdef CLIENT_SEND_OLD
#include "build/ws_old.h"
#else
#include "../ws.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOWS 15
static double now_s(void) {   /* CPU time: a busy machine only slows the run */
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
static int rnd(void *b, size_t n) {
    static uint32_t s = 2463534242u;
    uint8_t *p = (uint8_t *)b;
    while (n--) { s ^= s << 13; s ^= s >> 17; s ^= s << 5; *p++ = (uint8_t)s; }
    return 0;
}
static void on_event(ws_conn *c, const ws_event *ev, void *user) { (void)c; (void)ev; (void)user; }
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static volatile uint8_t g_sink;

int main(int argc, char **argv) {
    static const size_t sizes[] = {4096, 65536, 1u << 20};
    double secs = argc > 1 ? atof(argv[1]) : 0.6;
    ws_config cfg;
    ws_conn *cl, *sv;
    uint8_t *buf, *dst;
    size_t si;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.max_send_queue = 4u << 20;
    if (ws_engine_pair(&cfg, &cfg, &cl, &sv) != WS_OK) { fprintf(stderr, "pair failed\n"); return 1; }
    while (ws_engine_pump(cl, sv, 0)) {}
    if (ws_conn_state(cl) != WS_STATE_OPEN) { fprintf(stderr, "not open\n"); return 1; }
    buf = (uint8_t *)malloc(1u << 20); dst = (uint8_t *)malloc((1u << 20) + 64);
    if (!buf || !dst) return 1;
    for (si = 0; si < (1u << 20); si++) buf[si] = (uint8_t)(si * 31u);
    printf("client send, GB per CPU-second (median / best of %d windows)\n", WINDOWS);
    for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si], reps = 1, r;
        double send_t[WINDOWS], copy_t[WINDOWS], t0;
        int w;
        for (;;) {   /* a window of about secs / WINDOWS / 2 */
            t0 = now_s();
            for (r = 0; r < reps; r++) {
                if (ws_conn_send(cl, WS_OP_BINARY, buf, n) != WS_OK) { fprintf(stderr, "send failed\n"); return 1; }
                ws_engine_consume(cl, ws_engine_output(cl, NULL));
            }
            if (now_s() - t0 > secs / WINDOWS / 2) break;
            reps *= 2;
        }
        for (w = 0; w < WINDOWS; w++) {   /* windows interleaved with memcpy's */
            t0 = now_s();
            for (r = 0; r < reps; r++) {
                ws_conn_send(cl, WS_OP_BINARY, buf, n);
                ws_engine_consume(cl, ws_engine_output(cl, NULL));
            }
            send_t[w] = now_s() - t0;
            t0 = now_s();
            for (r = 0; r < reps; r++) { memcpy(dst + 14, buf, n); g_sink = dst[14 + (r % n)]; }
            copy_t[w] = now_s() - t0;
        }
        qsort(send_t, WINDOWS, sizeof(double), cmp);
        qsort(copy_t, WINDOWS, sizeof(double), cmp);
        printf("  %7zu B: send %6.1f / %6.1f   memcpy %6.1f / %6.1f\n", n,
               (double)(reps * n) / send_t[WINDOWS / 2] / 1e9, (double)(reps * n) / send_t[0] / 1e9,
               (double)(reps * n) / copy_t[WINDOWS / 2] / 1e9, (double)(reps * n) / copy_t[0] / 1e9);
    }
    ws_engine_destroy(cl);
    ws_engine_destroy(sv);
    free(buf); free(dst);
    return 0;
}
