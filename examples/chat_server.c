/* chat_server.c - a browser chat on one port: GET / serves the page (cfg.on_http), WebSocket
 * upgrades are taken on /chat only (cfg.on_upgrade refuses other paths with 404), and every
 * message goes to all the other clients (ws_broadcast).
 *   make demo        (or: make examples && ./build/chat_server 8080)
 *   then open http://127.0.0.1:8080/ in two browser tabs and type in either. */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char page[] =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>ws.h chat</title>\n"
    "<style>body{font:15px sans-serif;max-width:40em;margin:2em auto}"
    "#log{border:1px solid #aaa;height:20em;overflow-y:auto;padding:.5em;white-space:pre-wrap}"
    "#msg{width:30em}</style></head><body>\n"
    "<h1>ws.h chat</h1><p>connection: <b id=\"status\">connecting</b></p>\n"
    "<div id=\"log\"></div>\n"
    "<form id=\"form\"><input id=\"msg\" autocomplete=\"off\" autofocus>"
    " <button id=\"send\" type=\"submit\">Send</button></form>\n"
    "<script>\n"
    "const statusEl = document.getElementById('status'), logEl = document.getElementById('log');\n"
    "const msg = document.getElementById('msg');\n"
    "function show(text) {\n"
    "  const line = document.createElement('div'); line.textContent = text;\n"
    "  logEl.appendChild(line); logEl.scrollTop = logEl.scrollHeight;\n"
    "}\n"
    "const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat');\n"
    "ws.onopen = () => { statusEl.textContent = 'open'; };\n"
    "ws.onclose = (e) => { statusEl.textContent = 'closed'; show('* closed (' + e.code + ')'); };\n"
    "ws.onerror = () => { statusEl.textContent = 'error'; };\n"
    "ws.onmessage = (e) => show(typeof e.data === 'string' ? e.data : '[binary]');\n"
    "document.getElementById('form').onsubmit = (e) => {\n"
    "  e.preventDefault();\n"
    "  if (!msg.value || ws.readyState !== WebSocket.OPEN) return;\n"
    "  ws.send(msg.value); show('me: ' + msg.value); msg.value = '';\n"
    "};\n"
    "</script></body></html>\n";

static ws_ctx *ctx;   /* on_event needs it for ws_broadcast */

static int span_is(ws_span s, const char *text) {
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

static void on_http(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user) {
    (void)c; (void)user;
    if (!span_is(req->method, "GET") || !span_is(req->path, "/")) return;   /* status 0: 404 */
    reply->status = 200;
    reply->content_type = "text/html; charset=utf-8";
    reply->body = page;
    reply->body_len = sizeof page - 1;
}

static void on_upgrade(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user) {
    (void)c; (void)user;
    if (!span_is(req->path, "/chat")) reply->status = 404;
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    unsigned long long id = (unsigned long long)ws_conn_id(c);
    char addr[64];
    size_t sent = 0;
    ws_result rc;
    (void)user;
    switch (ev->type) {
    case WS_EV_OPEN:
        if (ws_conn_remote(c, addr, sizeof addr, NULL) != WS_OK) strcpy(addr, "?");
        printf("#%llu joined from %s (%lu online)%s%s\n", id, addr, (unsigned long)ws_conn_count(ctx),
               *ws_conn_extensions(c) ? ", extensions: " : "", ws_conn_extensions(c));
        break;
    case WS_EV_MESSAGE:
        if (ev->opcode == WS_OP_TEXT) printf("#%llu says: %.*s\n", id, (int)ev->len, (const char *)ev->data);
        else printf("#%llu sent %lu bytes of binary\n", id, (unsigned long)ev->len);
        rc = ws_broadcast(ctx, ev->opcode, ev->data, ev->len, c, &sent);
        if (rc != WS_OK) printf("  broadcast: %s (%lu got it)\n", ws_result_str(rc), (unsigned long)sent);
        break;
    case WS_EV_ERROR:
        printf("#%llu error: %s (%s)\n", id, ws_result_str(ev->result), ev->msg);
        break;
    case WS_EV_CLOSE:
        printf("#%llu left: code %u%s%s\n", id, ev->close_code, ev->reason[0] ? ", " : "", ev->reason);
        break;
    default: break;
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    ws_config cfg = {0};
    ws_listener *l;
    ws_result rc;
    long port = argc > 1 ? strtol(argv[1], NULL, 10) : 8080;
    if (port < 0 || port > 65535) { fprintf(stderr, "usage: %s [PORT]\n", argv[0]); return 2; }
    cfg.on_event = on_event;
    cfg.on_http = on_http;
    cfg.on_upgrade = on_upgrade;
    cfg.max_message = 64 * 1024;   /* a chat line, not a file (inflated, when compressed) */
    cfg.deflate.enable = 1;        /* permessage-deflate when built with WS_USE_ZLIB -lz */
    ctx = ws_ctx_create(&cfg);
    if (!ctx) { fprintf(stderr, "ws_ctx_create failed\n"); return 1; }
    rc = ws_listen(ctx, "127.0.0.1", (uint16_t)port, &l);
    if (rc != WS_OK) {
        fprintf(stderr, "listen on port %ld: %s\n", port, ws_result_str(rc));
        ws_ctx_destroy(ctx);
        return 1;
    }
    printf("chat server: open http://127.0.0.1:%u/ in two browser tabs\n", ws_listener_port(l));
    fflush(stdout);
    for (;;) {
        if (ws_poll(ctx, -1) < 0) { fprintf(stderr, "ws_poll failed\n"); break; }
    }
    ws_ctx_destroy(ctx);
    return 1;
}
