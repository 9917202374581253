/* fanout.c - drives a broadcast server (examples/threaded_server.c): CONNS clients on one
 * ws_ctx each send MSGS text messages; every client must receive every message exactly once
 * (C * M each), and in order per sender. Prints deliveries per second and checks.
 *   fanout URL CONNS MSGS [WINDOW]   WINDOW = messages a client keeps unconfirmed (default 4)
 * Exit status 0 only when everything arrived; the last line is "N passed, N failed" (1 check). */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct cl { ws_conn *c; int id, sent, own_back, open; long got; int *next; } cl;
static cl *cls;
static int nconn, nmsg, window, nopen, bad, closed;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
static void send_next(cl *k) {
    char b[32];
    int n;
    if (k->sent >= nmsg) return;
    n = snprintf(b, sizeof b, "%d:%d", k->id, k->sent);
    if (ws_conn_send(k->c, WS_OP_TEXT, b, (size_t)n) == WS_OK) k->sent++;
}
static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    cl *k = (cl *)ws_conn_user(c);
    (void)user;
    if (ev->type == WS_EV_OPEN) { k->open = 1; nopen++; }
    else if (ev->type == WS_EV_MESSAGE) {
        int from = -1, seq = -1;
        char b[32];
        size_t n = ev->len < sizeof b - 1 ? ev->len : sizeof b - 1;
        memcpy(b, ev->data, n);
        b[n] = '\0';
        if (sscanf(b, "%d:%d", &from, &seq) != 2 || from < 0 || from >= nconn || seq != k->next[from]) bad++;
        else k->next[from]++;
        k->got++;
        if (from == k->id) { k->own_back++; send_next(k); }   /* our own came back: one more */
    } else if (ev->type == WS_EV_CLOSE) {
        closed++;
        if (k->open && k->got < (long)nconn * nmsg) bad++;
    }
}

int main(int argc, char **argv) {
    ws_config cfg;
    ws_ctx *ctx;
    double t0, t1, end;
    long total = 0, want;
    int i, j, ok;
    if (argc < 4) { fprintf(stderr, "usage: %s URL CONNS MSGS [WINDOW]\n", argv[0]); return 2; }
    nconn = atoi(argv[2]);
    nmsg = atoi(argv[3]);
    window = argc > 4 ? atoi(argv[4]) : 4;
    if (nconn < 1 || nmsg < 1 || window < 1) return 2;
    cls = (cl *)calloc((size_t)nconn, sizeof *cls);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.max_send_queue = 64u << 20;
    ctx = ws_ctx_create(&cfg);
    if (!ctx || !cls) return 1;
    for (i = 0; i < nconn; i++) {
        cls[i].id = i;
        cls[i].next = (int *)calloc((size_t)nconn, sizeof(int));
        if (ws_connect(ctx, argv[1], NULL, &cls[i], &cls[i].c) != WS_OK) { fprintf(stderr, "connect failed\n"); return 1; }
    }
    end = now_s() + 30;
    while (nopen < nconn && closed == 0 && now_s() < end) ws_poll(ctx, 100);
    if (nopen < nconn) { printf("only %d of %d connected\n0 passed, 1 failed\n", nopen, nconn); return 1; }
    t0 = now_s();
    for (i = 0; i < nconn; i++) for (j = 0; j < window; j++) send_next(&cls[i]);
    want = (long)nconn * nconn * nmsg;
    end = t0 + 120;
    while (now_s() < end) {
        ws_poll(ctx, 100);
        for (i = 0, total = 0; i < nconn; i++) total += cls[i].got;
        if (total >= want || closed) break;
    }
    t1 = now_s();
    ok = total == want && bad == 0 && closed == 0;
    printf("fanout: %d clients x %d messages: %ld of %ld deliveries in %.3f s = %.0f deliveries/s%s\n",
           nconn, nmsg, total, want, t1 - t0, (double)total / (t1 - t0), bad ? " (out of order or lost!)" : "");
    printf("%d passed, %d failed\n", ok, !ok);
    ws_ctx_destroy(ctx);
    for (i = 0; i < nconn; i++) free(cls[i].next);
    free(cls);
    return ok ? 0 : 1;
}
