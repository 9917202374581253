/* peer.c - the scripted peer of tests/gui/run.sh: a ws.h client (reconnecting) in the same
 * chat as the GUI example; each time it hears "gui: ready" after its last hello was answered
 * by a new connection of the GUI, it says "hello from the peer N" (N = 1, 2). Runs until killed
 * (at most 120 s). */
#define WS_IMPLEMENTATION
#include "../../ws.h"
#include <stdio.h>
#include <string.h>

static int said, last_said_at_open = -1, opens;

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    char line[64], got[256];
    (void)user;
    if (ev->type == WS_EV_OPEN) opens++;
    if (ev->type != WS_EV_MESSAGE || ev->len >= sizeof got) return;
    memcpy(got, ev->data, ev->len);
    got[ev->len] = '\0';
    if (!strstr(got, "gui: ready")) return;
    /* one hello per server life: the first "ready" after (re)connecting */
    if (said < 2 && last_said_at_open != opens) {
        int n = snprintf(line, sizeof line, "hello from the peer %d", ++said);
        last_said_at_open = opens;
        (void)ws_conn_send(c, WS_OP_TEXT, line, (size_t)n);
        printf("peer said %d\n", said);
        fflush(stdout);
    }
}

int main(int argc, char **argv) {
    ws_config cfg;
    ws_connect_opts o;
    ws_ctx *ctx;
    int64_t end;
    if (argc < 2) return 2;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    ctx = ws_ctx_create(&cfg);
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 200;
    o.reconnect_max_ms = 1000;
    if (!ctx || ws_connect(ctx, argv[1], &o, NULL, NULL) != WS_OK) return 1;
    end = ws__now_ms() + 120000;
    while (ws__now_ms() < end) ws_poll(ctx, 200);
    ws_ctx_destroy(ctx);
    return 0;
}
