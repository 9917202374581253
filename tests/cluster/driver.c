/* driver.c - chat clients for tests/cluster/run.sh: K clients (auto-reconnect) on one ws.h
 * loop, connected through the load balancer. It reads commands on stdin (watched in the same
 * loop with ws_watch_fd) and answers each with one line:
 *   open       wait until all K clients are open (after a reconnect: again)   -> "open ok|FAIL"
 *   round R M  every client sends M lines "cI:R:S"; each client must receive the other
 *              clients' M lines of round R exactly once and in order per sender -> "round R ok|FAIL ..."
 *   reconnected  wait until some clients reconnected and all are open again -> "reconnected N ok"
 *   quit       close everything, print "N passed, N failed", exit
 * Lines arrive as "INSTANCE#id: cI:R:S" (the cluster names who said it). */
#define WS_IMPLEMENTATION
#include "../../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXK 64
typedef struct cl { ws_conn *c; int open, opens, next[MAXK], got, dup, gap; } cl;
static cl cls[MAXK];
static int K, round_no = -1, per, passed, failed, quit, cmd_busy;
static int64_t deadline;
static char cmd[128];
static size_t cmd_len;

static int64_t now_ms(void) { return ws__now_ms(); }
static void result(int ok, const char *what) {
    printf("%s %s\n", what, ok ? "ok" : "FAIL");
    fflush(stdout);
    if (ok) passed++; else failed++;
    cmd_busy = 0;
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    cl *k = (cl *)ws_conn_user(c);
    int from, r, s;
    const char *p;
    (void)user;
    if (ev->type == WS_EV_OPEN) { k->open = 1; k->opens++; }
    if (ev->type == WS_EV_CLOSE) k->open = 0;
    if (ev->type != WS_EV_MESSAGE) return;
    p = (const char *)memchr(ev->data, ':', ev->len);   /* skip "INSTANCE#id" */
    if (!p || sscanf(p + 1, " c%d:%d:%d", &from, &r, &s) != 3 || from < 0 || from >= K) return;
    if (r != round_no) return;                /* another round's: not counted */
    if (s < k->next[from]) k->dup++;
    else if (s > k->next[from]) k->gap++;
    else { k->next[from]++; k->got++; }
}

static int reconnects(void) { int i, n = 0; for (i = 0; i < K; i++) n += cls[i].opens > 1; return n; }
static int all_open(void) { int i; for (i = 0; i < K; i++) if (!cls[i].open) return 0; return 1; }
static int round_done(void) {
    int i;
    for (i = 0; i < K; i++) if (cls[i].got < (K - 1) * per || cls[i].dup || cls[i].gap) return 0;
    return 1;
}

static void start_round(int r, int m) {
    int i, j;
    char line[64];
    round_no = r;
    per = m;
    for (i = 0; i < K; i++) { memset(cls[i].next, 0, sizeof cls[i].next); cls[i].got = cls[i].dup = cls[i].gap = 0; }
    for (j = 0; j < m; j++)
        for (i = 0; i < K; i++) {
            int n = snprintf(line, sizeof line, "c%d:%d:%d", i, r, j);
            if (ws_conn_send(cls[i].c, WS_OP_TEXT, line, (size_t)n) != WS_OK) cls[i].gap++;
        }
}

static void on_stdin(ws_ctx *x, intptr_t fd, int rev, void *arg) {
    char b[128];
    ssize_t n = read((int)fd, b, sizeof b);
    ssize_t i;
    (void)x; (void)rev; (void)arg;
    if (n <= 0) { quit = 1; return; }
    for (i = 0; i < n; i++) {
        int r, m;
        if (b[i] != '\n') { if (cmd_len < sizeof cmd - 1) cmd[cmd_len++] = b[i]; continue; }
        cmd[cmd_len] = '\0';
        cmd_len = 0;
        deadline = now_ms() + 20000;   /* a hang guard, not a measurement */
        if (!strcmp(cmd, "open")) cmd_busy = 1;
        else if (sscanf(cmd, "round %d %d", &r, &m) == 2) { start_round(r, m); cmd_busy = 2; }
        else if (!strcmp(cmd, "reconnected")) cmd_busy = 3;
        else if (!strcmp(cmd, "quit")) quit = 1;
    }
}

int main(int argc, char **argv) {
    ws_config cfg;
    ws_connect_opts o;
    ws_ctx *ctx;
    int i;
    if (argc < 3 || (K = atoi(argv[2])) < 2 || K > MAXK) { fprintf(stderr, "usage: %s URL K\n", argv[0]); return 2; }
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    ctx = ws_ctx_create(&cfg);
    if (!ctx) return 1;
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 100;
    o.reconnect_max_ms = 500;
    for (i = 0; i < K; i++)
        if (ws_connect(ctx, argv[1], &o, &cls[i], &cls[i].c) != WS_OK) { fprintf(stderr, "bad URL\n"); return 1; }
    if (ws_watch_fd(ctx, 0, WS_POLLIN, on_stdin, NULL, NULL) != WS_OK) return 1;
    while (!quit) {
        (void)ws_poll(ctx, 50);
        if (cmd_busy == 1 && all_open()) result(1, "open");
        else if (cmd_busy == 3 && all_open() && reconnects() > 0) {
            char w[48];
            snprintf(w, sizeof w, "reconnected %d", reconnects());
            result(1, w);
        }
        else if (cmd_busy == 2 && round_done()) { char w[32]; snprintf(w, sizeof w, "round %d", round_no); result(1, w); }
        else if (cmd_busy && now_ms() > deadline) {
            char w[160];
            int got = 0, dup = 0, gap = 0, open = 0;
            for (i = 0; i < K; i++) { got += cls[i].got; dup += cls[i].dup; gap += cls[i].gap; open += cls[i].open; }
            snprintf(w, sizeof w, "%s (open %d/%d, received %d of %d, %d duplicates, %d out of order)",
                     cmd_busy == 1 ? "open" : cmd_busy == 3 ? "reconnected" : "round", open, K, got, K * (K - 1) * per, dup, gap);
            result(0, w);
        }
    }
    ws_ctx_destroy(ctx);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
