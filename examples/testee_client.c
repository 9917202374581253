/* testee_client.c - the client side of a conformance run (Autobahn's fuzzingserver protocol):
 * asks BASE_URL/getCaseCount how many cases there are, runs each case at
 * BASE_URL/runCase?case=N&agent=AGENT by echoing every message until the server closes, then
 * has the report written via BASE_URL/updateReports?agent=AGENT. One connection at a time, all
 * in one ws_ctx; each connection is freed after its WS_EV_CLOSE.
 *   wstest -m fuzzingserver    (or any server that speaks this protocol), then
 *   make examples && ./build/testee_client ws://127.0.0.1:9001 ws.h
 * AGENT goes into the URL as is: keep it to letters, digits, '.', '-' and '_'. */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { COUNT, ECHO, REPORT };
static int mode, closed, failed;
static long case_count = -1;

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    char num[32];
    ws_result rc;
    (void)user;
    switch (ev->type) {
    case WS_EV_MESSAGE:
        if (mode == COUNT && ev->opcode == WS_OP_TEXT && ev->len < sizeof num) {
            memcpy(num, ev->data, ev->len);
            num[ev->len] = '\0';
            case_count = strtol(num, NULL, 10);
        } else if (mode == ECHO) {
            rc = ws_conn_send(c, ev->opcode, ev->data, ev->len);
            if (rc != WS_OK && rc != WS_ERR_CLOSED) fprintf(stderr, "  echo: %s\n", ws_result_str(rc));
        }
        break;
    case WS_EV_ERROR:   /* in a case this may be the expected outcome (e.g. invalid UTF-8) */
        if (ev->http_status) fprintf(stderr, "  HTTP %d: ", ev->http_status);
        fprintf(stderr, "  %s (%s)\n", ws_result_str(ev->result), ev->msg);
        if (mode != ECHO) failed = 1;
        break;
    case WS_EV_CLOSE: closed = 1; break;
    default: break;
    }
}

/* Connects to base + rest and serves it until its WS_EV_CLOSE. 0 on success. */
static int run(ws_ctx *ctx, const char *base, const char *rest, int m) {
    char url[1024];
    ws_result rc;
    time_t start;
    if (snprintf(url, sizeof url, "%s%s", base, rest) >= (int)sizeof url) {
        fprintf(stderr, "URL too long\n");
        return -1;
    }
    mode = m;
    closed = 0;
    rc = ws_connect(ctx, url, NULL, NULL, NULL);
    if (rc != WS_OK) { fprintf(stderr, "%s: %s\n", url, ws_result_str(rc)); return -1; }
    start = time(NULL);
    while (!closed) {
        if (ws_poll(ctx, 1000) < 0) { fprintf(stderr, "ws_poll failed\n"); return -1; }
        if (m == COUNT && case_count < 0 && time(NULL) - start > 10) {   /* not a suite server */
            fprintf(stderr, "no case count within 10 s: does %s speak the fuzzingserver protocol?\n", base);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    ws_config cfg = {0};
    ws_ctx *ctx;
    char base[512], rest[512];
    size_t n;
    long i;
    int help = argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));   /* asked for */
    if (help || argc != 3) {   /* --help: stdout, 0; a mistake: stderr, 2 */
        fprintf(help ? stdout : stderr, "usage: %s BASE_URL AGENT\n", argv[0]);
        return help ? 0 : 2;
    }
    n = strlen(argv[1]);
    if (n >= sizeof base || strlen(argv[2]) > 400) { fprintf(stderr, "argument too long\n"); return 2; }
    memcpy(base, argv[1], n + 1);
    if (n && base[n - 1] == '/') base[n - 1] = '\0';   /* we add the slashes */
    cfg.on_event = on_event;
    cfg.max_message = (size_t)64 << 20;   /* the suites go up to 16 MiB */
    cfg.deflate.enable = 1;               /* offer permessage-deflate (built with WS_USE_ZLIB) */
    cfg.deflate.threshold = -1;
    ctx = ws_ctx_create(&cfg);
    if (!ctx) { fprintf(stderr, "ws_ctx_create failed\n"); return 1; }
    if (run(ctx, base, "/getCaseCount", COUNT) != 0 || failed || case_count < 0) {
        fprintf(stderr, "could not get the case count from %s\n", base);
        ws_ctx_destroy(ctx);
        return 1;
    }
    printf("%ld cases\n", case_count);
    for (i = 1; i <= case_count; i++) {
        printf("case %ld/%ld\n", i, case_count);
        fflush(stdout);
        snprintf(rest, sizeof rest, "/runCase?case=%ld&agent=%s", i, argv[2]);
        if (run(ctx, base, rest, ECHO) != 0) { ws_ctx_destroy(ctx); return 1; }
    }
    snprintf(rest, sizeof rest, "/updateReports?agent=%s", argv[2]);
    if (run(ctx, base, rest, REPORT) != 0 || failed) {
        fprintf(stderr, "updateReports failed\n");
        ws_ctx_destroy(ctx);
        return 1;
    }
    printf("done: reports updated\n");
    ws_ctx_destroy(ctx);
    return 0;
}
