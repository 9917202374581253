/* echo_server.c - the smallest useful ws.h server: echoes every message back.
 *   make examples && ./build/echo_server 9001
 *   then connect any WebSocket client to ws://127.0.0.1:9001/ */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    char addr[64];
    (void)user;
    switch (ev->type) {
    case WS_EV_OPEN:
        ws_conn_remote(c, addr, sizeof addr, NULL);
        printf("open   #%llu from %s\n", (unsigned long long)ws_conn_id(c), addr);
        break;
    case WS_EV_MESSAGE:
        if (ws_conn_send(c, ev->opcode, ev->data, ev->len) != WS_OK)
            printf("echo to #%llu failed\n", (unsigned long long)ws_conn_id(c));
        break;
    case WS_EV_ERROR:
        printf("error  #%llu: %s (%s)\n", (unsigned long long)ws_conn_id(c), ev->msg,
               ws_result_str(ev->result));
        break;
    case WS_EV_CLOSE:
        printf("close  #%llu: code %u%s%s\n", (unsigned long long)ws_conn_id(c), ev->close_code,
               ev->reason[0] ? ", reason: " : "", ev->reason);
        break;
    default: break;
    }
}

int main(int argc, char **argv) {
    ws_config cfg = {0};
    ws_ctx *ctx;
    ws_listener *l;
    ws_result rc;
    uint16_t port = (uint16_t)(argc > 1 ? atoi(argv[1]) : 9001);
    cfg.on_event = on_event;
    ctx = ws_ctx_create(&cfg);
    if (!ctx) { fprintf(stderr, "ws_ctx_create failed\n"); return 1; }
    rc = ws_listen(ctx, "127.0.0.1", port, &l);
    if (rc != WS_OK) { fprintf(stderr, "listen on port %u: %s\n", port, ws_result_str(rc)); return 1; }
    printf("echo server on %s\n", ws_listener_url(l));
    fflush(stdout);
    for (;;) {
        if (ws_poll(ctx, 1000) < 0) { fprintf(stderr, "ws_poll failed\n"); break; }
        fflush(stdout);
    }
    ws_ctx_destroy(ctx);
    return 0;
}
