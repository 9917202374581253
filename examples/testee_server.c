/* testee_server.c - a server for conformance suites (Autobahn's fuzzingclient and the like):
 * echoes every text and binary message unchanged, on any path, up to 64 MiB.
 *   make examples && ./build/testee_server 9001
 *   then point the suite at ws://127.0.0.1:9001
 * With TESTEE_NO_MAIN it is a part of another program: testee_listen starts the same server
 * in that program's thread (tests/lwip/firmware_client_host.c runs it over lwIP). */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    ws_result rc;
    (void)user;
    if (ev->type != WS_EV_MESSAGE) return;
    rc = ws_conn_send(c, ev->opcode, ev->data, ev->len);
    if (rc != WS_OK) {   /* e.g. WS_ERR_CLOSED: the peer is already closing; nothing to do */
        fprintf(stderr, "echo to #%llu: %s\n", (unsigned long long)ws_conn_id(c), ws_result_str(rc));
    }
}

/* The echo server on 127.0.0.1:port (0: any free port), run by ws_poll on the returned ctx;
 * NULL when it cannot listen (stderr says why). */
static ws_ctx *testee_listen(int port, ws_listener **l) {
    ws_config cfg = {0};
    ws_ctx *ctx;
    ws_result rc;
    cfg.on_event = on_event;
    cfg.max_message = (size_t)64 << 20;   /* the suites send up to 16 MiB; leave room */
    cfg.deflate.enable = 1;               /* accept permessage-deflate (built with WS_USE_ZLIB) */
    cfg.deflate.threshold = -1;           /* and compress every message, as the suites expect */
    ctx = ws_ctx_create(&cfg);
    if (!ctx) { fprintf(stderr, "ws_ctx_create failed\n"); return NULL; }
    rc = ws_listen(ctx, "127.0.0.1", port, l);
    if (rc != WS_OK) {
        fprintf(stderr, "%s\n", ws_ctx_error(ctx)[0] ? ws_ctx_error(ctx) : ws_result_str(rc));
        ws_ctx_destroy(ctx);
        return NULL;
    }
    return ctx;
}

#ifndef TESTEE_NO_MAIN
#define USAGE "usage: %s [PORT]: PORT 0-65535 (0: any free one; default 9001)\n"
int main(int argc, char **argv) {
    ws_ctx *ctx;
    ws_listener *l;
    char *end = NULL;
    long port = argc > 1 ? strtol(argv[1], &end, 10) : 9001;
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        return printf(USAGE, argv[0]), 0;   /* asked for: stdout, status 0 */
    if (argc > 2 || (argc > 1 && (end == argv[1] || *end || port < 0 || port > 65535))) {
        fprintf(stderr, "%s: %s\n" USAGE, argv[0], argc > 2 ? "too many arguments" : "not a port", argv[0]);
        return 2;   /* a mistake: stderr, status 2 */
    }
    ctx = testee_listen((int)port, &l);
    if (!ctx) return 1;
    printf("testee server listening on %s\n", ws_listener_url(l));
    fflush(stdout);
    for (;;) {
        if (ws_poll(ctx, -1) < 0) { fprintf(stderr, "ws_poll failed\n"); break; }
    }
    ws_ctx_destroy(ctx);
    return 1;
}
#endif
