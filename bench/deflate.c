/* deflate.c - permessage-deflate cost: CPU per message and bytes on the wire for a JSON-like
 * 1 KiB message, with and without compression. One process holds an echo server and a client
 * on 127.0.0.1 (one ws_ctx); the client keeps INFLIGHT messages in flight until N echoes came
 * back. CPU = getrusage of the process / N (both ends: compress + inflate twice per echo).
 * Wire = the same N echoes through an in-memory engine pair (ws_engine_pump counts the
 * bytes, frame headers and masks included) / (2 N): per message, one direction.
 *   deflate N INFLIGHT MODE      MODE: off | deflate | deflate-nct | deflate-w10
 * bench/deflate_node.js does the same with Node ws; bench/deflate.sh runs both. */
#define WS_IMPLEMENTATION
#define WS_USE_ZLIB
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static long target, sent, got, bad;
static ws_conn *client;
static char msg[2048];

/* The same message generator as deflate_node.js: fields that vary per message. */
static size_t make_msg(long i) {
    unsigned s = (unsigned)i * 2654435761u;
    int n, k;
    n = snprintf(msg, sizeof msg, "{\"id\":%ld,\"ts\":%ld,\"user\":\"user-%u\",\"event\":\"position_update\","
                 "\"status\":\"online\",\"values\":[", i, 1700000000000L + i * 37, s % 1000);
    for (k = 0; k < 60; k++) {
        s = s * 1103515245u + 12345u;
        n += snprintf(msg + n, sizeof msg - (size_t)n, "%s%u", k ? "," : "", (s >> 8) % 100000);
    }
    n += snprintf(msg + n, sizeof msg - (size_t)n, "],\"tags\":[\"alpha\",\"beta\",\"gamma\"],\"note\":\"");
    while (n < 1022) msg[n++] = (char)('a' + (s = s * 1103515245u + 12345u, (s >> 16) % 26));
    msg[n++] = '"'; msg[n++] = '}';
    return (size_t)n;
}

static void send_one(void) {
    size_t n = make_msg(sent++);
    if (ws_conn_send(client, WS_OP_TEXT, msg, n) != WS_OK) bad++;
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)user;
    if (ev->type != WS_EV_MESSAGE) return;
    if (ws_conn_is_server(c)) { (void)ws_conn_send(c, ev->opcode, ev->data, ev->len); return; }
    if (ev->len != 1024) bad++;
    got++;
    if (sent < target) send_one();
}

static double cpu_s(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 +
           (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    ws_config cfg;
    ws_listener *l;
    char url[64];
    const char *mode = argc > 3 ? argv[3] : "deflate";
    long inflight = argc > 2 ? atol(argv[2]) : 16, i;
    double c0, wire;
    ws_conn *pc, *ps;
    target = argc > 1 ? atol(argv[1]) : 100000;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.ping_interval_ms = -1;
    if (strcmp(mode, "off") != 0) {
        cfg.deflate.enable = 1;
        cfg.deflate.threshold = -1;
        if (!strcmp(mode, "deflate-nct")) cfg.deflate.no_context_takeover = cfg.deflate.peer_no_context_takeover = 1;
        if (!strcmp(mode, "deflate-w10")) cfg.deflate.window_bits = cfg.deflate.peer_window_bits = 10;
    }
    ws_ctx *ctx = ws_ctx_create(&cfg);
    if (!ctx || ws_listen(ctx, "127.0.0.1", 0, &l) != WS_OK) return 1;
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)ws_listener_port(l));
    if (ws_connect_blocking(ctx, url, NULL, NULL, 5000, &client) != WS_OK) return 1;
    make_msg(0);
    if (strlen(msg) != 1024) { fprintf(stderr, "message is %zu bytes\n", strlen(msg)); return 1; }
    c0 = cpu_s();
    for (i = 0; i < inflight && sent < target; i++) send_one();
    while (got < target && !bad) if (ws_poll(ctx, 1000) < 0) break;
    c0 = (cpu_s() - c0) * 1e6 / (double)got;
    /* the bytes: the same messages and echoes through memory */
    wire = 0;
    if (ws_engine_pair(&cfg, &cfg, &pc, &ps) == WS_OK) {
        (void)ws_engine_pump(pc, ps, 0);
        for (i = 0; i < target; i++) {
            size_t n = make_msg(i);
            (void)ws_conn_send(pc, WS_OP_TEXT, msg, n);
            wire += (double)ws_engine_pump(pc, ps, 0);   /* the server echoes it */
        }
        ws_engine_destroy(pc);
        ws_engine_destroy(ps);
    }
    printf("ws.h    %-12s %ld echoes: %6.2f us CPU per message (both ends), %6.1f bytes on the wire per message (%s)\n",
           mode, target, c0, wire / (2.0 * (double)target),
           *ws_conn_extensions(client) ? ws_conn_extensions(client) : "uncompressed");
    ws_ctx_destroy(ctx);
    return bad ? 1 : 0;
}
