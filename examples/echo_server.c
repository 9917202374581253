/* echo_server.c - the smallest useful ws.h server: echoes every message back.
 *   make examples && ./build/echo_server 9001
 *   then connect any WebSocket client to ws://127.0.0.1:9001/
 *   ./build/echo_server 9001 0.0.0.0     (all IPv4 interfaces; "::" for IPv6) */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define USAGE "usage: %s [PORT [HOST]]: PORT 0-65535 (0: any free one; default 9001)\n"

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
    char *end = NULL;
    long port = argc > 1 ? strtol(argv[1], &end, 10) : 9001;   /* not atoi: "99999" is no port */
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        return printf(USAGE, argv[0]), 0;   /* asked for: stdout, status 0 */
    if (argc > 3 || (argc > 1 && (end == argv[1] || *end || port < 0 || port > 65535))) {
        fprintf(stderr, "%s: %s\n" USAGE, argv[0], argc > 3 ? "too many arguments" : "not a port", argv[0]);
        return 2;   /* a mistake: stderr, status 2 */
    }
    cfg.on_event = on_event;
    ctx = ws_ctx_create(&cfg);
    if (!ctx) { fprintf(stderr, "ws_ctx_create failed\n"); return 1; }
    if (ws_listen(ctx, argc > 2 ? argv[2] : "127.0.0.1", (int)port, &l) != WS_OK) {
        fprintf(stderr, "%s\n", ws_ctx_error(ctx));   /* what failed, e.g. "address already in use" */
        return 1;
    }
    if (ws_listener_any(l))   /* the URL is for this machine; others use one of its addresses */
        printf("echo server on all interfaces (%s); from here: %s\n", ws_listener_addr(l), ws_listener_url(l));
    else
        printf("echo server on %s\n", ws_listener_url(l));
    fflush(stdout);
    for (;;) {
        if (ws_poll(ctx, 1000) < 0) { fprintf(stderr, "ws_poll failed\n"); break; }
        fflush(stdout);
    }
    ws_ctx_destroy(ctx);
    return 0;
}
