/* chat_server.c - a browser chat on one port: GET / serves the page (cfg.on_http), WebSocket
 * upgrades are taken on /chat only (cfg.on_upgrade refuses other paths with 404), and every
 * line goes to everyone with its sender's name (ws_broadcast; per-connection data through
 * ws_conn_set_user): "#3" until the user picks one with "/nick NAME".
 *   make demo        (or: make examples && ./build/chat_server 8080; make demo PORT=8081)
 *   then open http://127.0.0.1:8080/ in two browser tabs and type in either. */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define USAGE "usage: %s [PORT]: 0-65535 (0: any free port; default 8080)\n"

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
    "const [statusEl, logEl, msg] = ['status', 'log', 'msg'].map((id) => document.getElementById(id));\n"
    "function show(text) {\n"
    "  const line = document.createElement('div'); line.textContent = text;\n"
    "  logEl.appendChild(line); logEl.scrollTop = logEl.scrollHeight;\n"
    "}\n"
    "const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat');\n"
    "ws.onopen = () => { statusEl.textContent = 'open'; };\n"
    "ws.onclose = (e) => { statusEl.textContent = 'closed'; show('* closed (' + e.code + ')'); };\n"
    "ws.onerror = () => { statusEl.textContent = 'error'; };\n"
    "ws.onmessage = (e) => show(typeof e.data === 'string' ? e.data : '[binary]');\n"
    "document.getElementById('form').onsubmit = (e) => {   // the server sends it back, named\n"
    "  e.preventDefault();\n"
    "  if (msg.value && ws.readyState === WebSocket.OPEN) { ws.send(msg.value); msg.value = ''; }\n"
    "};\n"
    "</script></body></html>\n";

static ws_ctx *ctx;   /* on_event needs it for ws_broadcast */
typedef struct chatter { char name[32]; } chatter;   /* per connection: ws_conn_user(c) */

/* Sends "text" (or "who: text" when who is not NULL) to every connection but `except`. */
static void tell_all(const char *who, const char *text, size_t len, const ws_conn *except) {
    size_t n = who ? strlen(who) + 2 : 0, sent = 0;
    char *line = (char *)malloc(n + len + 1);
    ws_result rc;
    if (!line) return;
    if (who) { strcpy(line, who); strcat(line, ": "); }
    memcpy(line + n, text, len);   /* a slow reader's full queue: it misses this line */
    rc = ws_broadcast(ctx, WS_OP_TEXT, line, n + len, except, &sent);
    if (rc != WS_OK) printf("  broadcast: %s (%lu got it)\n", ws_result_str(rc), (unsigned long)sent);
    free(line);
}

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
    chatter *u = (chatter *)ws_conn_user(c);
    char addr[64], note[128];
    (void)user;
    switch (ev->type) {
    case WS_EV_OPEN:
        if (ws_conn_remote(c, addr, sizeof addr, NULL) != WS_OK) strcpy(addr, "?");
        printf("#%llu joined from %s (%lu online)\n", id, addr, (unsigned long)ws_conn_count(ctx));
        u = (chatter *)calloc(1, sizeof *u);
        if (!u) { ws_conn_close(c, WS_CLOSE_TRY_AGAIN, "out of memory"); break; }
        sprintf(u->name, "#%llu", id);
        ws_conn_set_user(c, u);
        sprintf(note, "* you are %s (%lu online); /nick NAME picks a name", u->name,
                (unsigned long)ws_conn_count(ctx));
        ws_conn_send_text(c, note);
        sprintf(note, "* %s joined", u->name);
        tell_all(NULL, note, strlen(note), c);
        break;
    case WS_EV_MESSAGE:
        if (!u) break;
        if (ev->opcode != WS_OP_TEXT) {
            printf("%s sent %lu bytes of binary\n", u->name, (unsigned long)ev->len);
            ws_broadcast(ctx, ev->opcode, ev->data, ev->len, c, NULL);
        } else if (ev->len > 6 && ev->len < 6 + sizeof u->name && !memcmp(ev->data, "/nick ", 6)) {
            sprintf(note, "* %s is now %.*s", u->name, (int)ev->len - 6, (const char *)ev->data + 6);
            memcpy(u->name, ev->data + 6, ev->len - 6);   /* text: valid UTF-8 already */
            u->name[ev->len - 6] = '\0';
            printf("#%llu is now %s\n", id, u->name);
            tell_all(NULL, note, strlen(note), NULL);
        } else {
            printf("#%llu says: %.*s\n", id, (int)ev->len, (const char *)ev->data);
            tell_all(u->name, (const char *)ev->data, ev->len, NULL);   /* to the sender too */
        }
        break;
    case WS_EV_ERROR: printf("#%llu error: %s (%s)\n", id, ws_result_str(ev->result), ev->msg); break;
    case WS_EV_CLOSE:
        printf("#%llu left: code %u%s%s\n", id, ev->close_code, ev->reason[0] ? ", " : "", ev->reason);
        if (u) {   /* server conns get events only once open: u was made at OPEN */
            sprintf(note, "* %s left", u->name);
            free(u);
            tell_all(NULL, note, strlen(note), c);
        }
        break;
    default: break;
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    ws_config cfg = {0};
    ws_listener *l = NULL;  char *end = NULL;
    ws_result rc;
    long port = argc > 1 ? strtol(argv[1], &end, 10) : 8080;
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        return printf(USAGE, argv[0]), 0;   /* asked for: stdout, status 0 */
    if (argc > 2 || (argc > 1 && (end == argv[1] || *end || port < 0 || port > 65535)))   /* stderr, 2 */
        return fprintf(stderr, "%s: %s\n" USAGE, argv[0], argc > 2 ? "too many arguments" : "not a port", argv[0]), 2;
    cfg.on_event = on_event;
    cfg.on_http = on_http;
    cfg.on_upgrade = on_upgrade;
    cfg.max_message = 64 * 1024;   /* a chat line, not a file */
    cfg.deflate.enable = 1;        /* compress when built with WS_USE_ZLIB -lz */
    ctx = ws_ctx_create(&cfg);
    if (!ctx) { fprintf(stderr, "ws_ctx_create failed\n"); return 1; }
    rc = ws_listen(ctx, "127.0.0.1", (int)port, &l);
    if (rc != WS_OK) {   /* e.g. "ws_listen on 127.0.0.1:8080: address already in use" */
        fprintf(stderr, "chat server: %s\n", ws_ctx_error(ctx));
        if (rc == WS_ERR_ADDR_IN_USE)
            fprintf(stderr, "another program uses port %ld: try %s %ld (or make demo PORT=%ld)\n",
                    port, argv[0], port + 1, port + 1);
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
