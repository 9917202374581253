/* loopback_memory.c - a WebSocket client and server talking through memory: no sockets, no
 * ws_ctx, built with WS_NO_NET. The protocol engine alone (ws_engine_*), as firmware, a test
 * harness or a custom transport uses it: the client sends text, binary, a fragmented message and
 * a ping, then closes with a code and a reason; the server echoes every message. Everything
 * received is checked; the program exits 0 only when all of it matched, else it says what differed.
 *   cc -std=c99 -DWS_NO_NET examples/loopback_memory.c -o loopback_memory && ./loopback_memory */
#define WS_NO_NET
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <string.h>

static const char *expect[] = { "hello", "\x01\x02\x03", "one message, three frames" };
static int got, pongs, fails, closes, server_closed;
static uint16_t close_code;

static void fail(const char *what) { printf("FAIL: %s\n", what); fails++; }

static void on_server(ws_conn *c, const ws_event *ev, void *user) {
    (void)user;
    if (ev->type == WS_EV_MESSAGE && ws_conn_send(c, ev->opcode, ev->data, ev->len) != WS_OK)
        fail("server could not echo");
    if (ev->type == WS_EV_CLOSE) {
        server_closed++;
        if (ev->close_code != 4001 || strcmp(ev->reason, "done") != 0 || !ev->clean)
            fail("server saw the wrong close code or reason");
    }
}

static void on_client(ws_conn *c, const ws_event *ev, void *user) {
    (void)c; (void)user;
    switch (ev->type) {
    case WS_EV_MESSAGE: {
        const char *want = got < 3 ? expect[got] : "";
        int op = got == 1 ? WS_OP_BINARY : WS_OP_TEXT;
        if (ev->len != strlen(want) || memcmp(ev->data, want, ev->len) != 0 || ev->opcode != op)
            fail("echo differs from what was sent");
        got++;
        break;
    }
    case WS_EV_PONG:
        if (ev->len != 4 || memcmp(ev->data, "ping", 4) != 0) fail("pong payload differs");
        pongs++;
        break;
    case WS_EV_ERROR: printf("client error: %s\n", ev->msg); fails++; break;
    case WS_EV_CLOSE:
        closes++;
        close_code = ev->close_code;
        if (!ev->clean) fail("close was not clean");
        break;
    default: break;
    }
}

int main(void) {
    ws_config ccfg, scfg;
    ws_conn *client, *server;
    int64_t now = 0;   /* our own clock: milliseconds from anywhere */
    memset(&ccfg, 0, sizeof ccfg);
    memset(&scfg, 0, sizeof scfg);
    ccfg.on_event = on_client;
    scfg.on_event = on_server;
    if (ws_engine_pair(&ccfg, &scfg, &client, &server) != WS_OK) { printf("FAIL: out of memory\n"); return 1; }
    ws_engine_pump(client, server, now);   /* request and 101: both are open now */
    if (ws_conn_state(client) != WS_STATE_OPEN) fail("client did not open");

    if (ws_conn_send_text(client, expect[0]) != WS_OK) fail("send text");
    if (ws_conn_send(client, WS_OP_BINARY, expect[1], 3) != WS_OK) fail("send binary");
    if (ws_conn_send_frame(client, 0, 0, WS_OP_TEXT, "one message, ", 13) != WS_OK ||
        ws_conn_send_frame(client, 0, 0, WS_OP_CONT, "three ", 6) != WS_OK ||
        ws_conn_send_frame(client, 1, 0, WS_OP_CONT, "frames", 6) != WS_OK) fail("send fragments");
    if (ws_conn_send(client, WS_OP_PING, "ping", 4) != WS_OK) fail("send ping");
    now += 10;
    ws_engine_pump(client, server, now);

    if (ws_conn_close(client, 4001, "done") != WS_OK) fail("close");
    now += 10;
    ws_engine_pump(client, server, now);   /* close frames both ways, then the server ends TCP */

    if (got != 3) fail("not every message came back");
    if (pongs != 1) fail("no pong");
    if (closes != 1 || close_code != 4001)   /* the server echoes the code (RFC 6455 5.5.1) */
        fail("client's close event differs");
    if (!server_closed) fail("the server saw no close");
    if (ws_conn_state(client) != WS_STATE_CLOSED || ws_conn_state(server) != WS_STATE_CLOSED)
        fail("not both closed");
    ws_engine_destroy(client);
    ws_engine_destroy(server);
    printf("%s: %d messages echoed, %d pong, closed with %u\n", fails ? "FAILED" : "ok",
           got, pongs, (unsigned)close_code);
    return fails ? 1 : 0;
}
