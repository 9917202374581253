/* cluster_chat.c - the chat server as one instance of a cluster: several instances behind a
 * WebSocket load balancer (nginx) share their messages through Redis pub/sub. A client's line
 * is published on the Redis channel; every instance (this one too) receives it and passes it
 * to its own clients, all but the sender, as "INSTANCE#id: text" (who said what). Redis is
 * driven through hiredis's async API on ws.h's own loop (ws_watch_fd, ws_timer_start): one
 * thread, one loop. If Redis goes away, the instance reconnects and subscribes again every
 * second; lines sent meanwhile are refused ("* not delivered") rather than lost silently.
 * GET /health says "subscribed" or "down" (for load balancers and tests).
 *   ./build/cluster_chat PORT REDIS_PORT [NAME]      (Redis on 127.0.0.1; needs libhiredis-dev)
 * See the README's "Scaling out" for the nginx configuration and tests/cluster/run.sh. */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHANNEL "ws.h-chat"
typedef struct rlink { redisAsyncContext *ac; ws_watch *w; int events; } rlink;

static ws_ctx *ctx;
static const char *name = "chat";
static int redis_port;
static redisAsyncContext *pub, *sub;   /* a subscribed connection cannot publish */
static int subscribed, retry_armed;

/* ---- hiredis's event hooks on ws.h's loop ---- */
static void rl_io(ws_ctx *x, intptr_t fd, int rev, void *arg) {
    rlink *l = (rlink *)arg;
    (void)x; (void)fd;
    if (l->ac && (rev & (WS_POLLIN | WS_POLLERR | WS_POLLHUP))) redisAsyncHandleRead(l->ac);
    if (l->ac && (rev & WS_POLLOUT)) redisAsyncHandleWrite(l->ac);   /* (ac is NULL once freed) */
}
static void rl_set(void *p, int ev, int on) {
    rlink *l = (rlink *)p;
    l->events = on ? (l->events | ev) : (l->events & ~ev);
    ws_watch_set(l->w, l->events);
}
static void rl_add_read(void *p) { rl_set(p, WS_POLLIN, 1); }
static void rl_del_read(void *p) { rl_set(p, WS_POLLIN, 0); }
static void rl_add_write(void *p) { rl_set(p, WS_POLLOUT, 1); }
static void rl_del_write(void *p) { rl_set(p, WS_POLLOUT, 0); }
static void rl_free(ws_ctx *x, void *p) { (void)x; free(p); }
static void rl_cleanup(void *p) {   /* hiredis frees its context: stop watching its fd */
    rlink *l = (rlink *)p;
    ws_watch_remove(l->w);
    l->ac = NULL;
    (void)ws_timer_start(ctx, 0, 0, rl_free, l, NULL);   /* after the callback that may use l */
}
static redisAsyncContext *rl_connect(void) {
    redisAsyncContext *ac = redisAsyncConnect("127.0.0.1", redis_port);
    rlink *l;
    if (!ac) return NULL;
    if (ac->err || !(l = (rlink *)calloc(1, sizeof *l))) { redisAsyncFree(ac); return NULL; }
    l->ac = ac;
    if (ws_watch_fd(ctx, ac->c.fd, 0, rl_io, l, &l->w) != WS_OK) { free(l); redisAsyncFree(ac); return NULL; }
    ac->ev.data = l;
    ac->ev.addRead = rl_add_read;
    ac->ev.delRead = rl_del_read;
    ac->ev.addWrite = rl_add_write;
    ac->ev.delWrite = rl_del_write;
    ac->ev.cleanup = rl_cleanup;
    return ac;
}

/* ---- Redis: connect, subscribe, and again when it goes away ---- */
static void redis_up(ws_ctx *x, void *arg);
static void schedule_retry(void) {
    if (!retry_armed) { retry_armed = 1; (void)ws_timer_start(ctx, 1000, 0, redis_up, NULL, NULL); }
}
static void on_connect(const redisAsyncContext *ac, int status) {
    if (status != REDIS_OK) {   /* hiredis frees ac after this */
        if (ac == pub) pub = NULL;
        if (ac == sub) { sub = NULL; subscribed = 0; }
        schedule_retry();
    }
}
static void on_disconnect(const redisAsyncContext *ac, int status) {
    (void)status;
    if (ac == pub) pub = NULL;
    if (ac == sub) { sub = NULL; subscribed = 0; }
    printf("%s: Redis connection lost\n", name);
    fflush(stdout);
    schedule_retry();
}
static void on_channel(redisAsyncContext *ac, void *r, void *priv) {
    redisReply *m = (redisReply *)r;
    char from[80];
    unsigned long long sender = 0;
    const char *text;
    size_t flen;
    ws_conn *c;
    (void)ac; (void)priv;
    if (!m || m->type != REDIS_REPLY_ARRAY || m->elements != 3 || m->element[0]->type != REDIS_REPLY_STRING) return;
    if (!strcmp(m->element[0]->str, "subscribe")) { subscribed = 1; printf("%s: subscribed\n", name); fflush(stdout); return; }
    if (strcmp(m->element[0]->str, "message") != 0 || m->element[2]->type != REDIS_REPLY_STRING) return;
    /* payload: "INSTANCE#ID: text"; the sender is skipped on its own instance */
    text = strstr(m->element[2]->str, ": ");
    if (!text) return;
    flen = (size_t)(text - m->element[2]->str);
    if (flen >= sizeof from) return;
    memcpy(from, m->element[2]->str, flen);
    from[flen] = '\0';
    if (!strncmp(from, name, strlen(name)) && from[strlen(name)] == '#') sender = strtoull(from + strlen(name) + 1, NULL, 10);
    for (c = ws_conn_next(ctx, NULL); c; c = ws_conn_next(ctx, c))
        if (ws_conn_id(c) != sender)
            (void)ws_conn_send(c, WS_OP_TEXT, m->element[2]->str, (size_t)m->element[2]->len);
}
static void redis_up(ws_ctx *x, void *arg) {
    (void)x; (void)arg;
    retry_armed = 0;
    if (!pub && (pub = rl_connect()) != NULL) {
        redisAsyncSetConnectCallback(pub, on_connect);
        redisAsyncSetDisconnectCallback(pub, on_disconnect);
    }
    if (!sub && (sub = rl_connect()) != NULL) {
        redisAsyncSetConnectCallback(sub, on_connect);
        redisAsyncSetDisconnectCallback(sub, on_disconnect);
        redisAsyncCommand(sub, on_channel, NULL, "SUBSCRIBE " CHANNEL);
    }
    if (!pub || !sub) schedule_retry();
}

/* ---- the WebSocket side ---- */
static int span_is(ws_span s, const char *t) { return s.len == strlen(t) && !memcmp(s.ptr, t, s.len); }
static void on_http(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user) {
    static const char up[] = "subscribed\n", down[] = "down\n";
    (void)c; (void)user;
    if (!span_is(req->path, "/health")) return;   /* 404 */
    reply->status = subscribed && pub ? 200 : 503;
    reply->body = subscribed && pub ? up : down;
    reply->body_len = subscribed && pub ? sizeof up - 1 : sizeof down - 1;
}
static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    char line[96];
    (void)user;
    if (ev->type != WS_EV_MESSAGE || ev->opcode != WS_OP_TEXT) return;
    if (!pub || !subscribed) {
        (void)ws_conn_send_text(c, "* not delivered: the message broker is down");
        return;
    }
    snprintf(line, sizeof line, "%s#%llu: ", name, (unsigned long long)ws_conn_id(c));
    redisAsyncCommand(pub, NULL, NULL, "PUBLISH " CHANNEL " %s%b", line, ev->data, ev->len);
}

int main(int argc, char **argv) {
    ws_config cfg;
    ws_listener *l;
    long port = argc > 2 ? strtol(argv[1], NULL, 10) : -1, rport = argc > 2 ? strtol(argv[2], NULL, 10) : -1;
    int help = argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));   /* asked for */
    if (help || port < 0 || port > 65535 || rport < 1 || rport > 65535 || argc > 4) {
        /* --help: stdout, 0; a mistake: stderr, 2 */
        fprintf(help ? stdout : stderr, "usage: %s PORT REDIS_PORT [NAME]\n", argv[0]);
        return help ? 0 : 2;
    }
    redis_port = (int)rport;
    if (argc > 3) name = argv[3];
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.on_http = on_http;
    cfg.max_message = 64 * 1024;
    ctx = ws_ctx_create(&cfg);
    if (!ctx || ws_listen(ctx, "127.0.0.1", (int)port, &l) != WS_OK) {
        fprintf(stderr, "%s: %s\n", name, ctx ? ws_ctx_error(ctx) : "out of memory");
        return 1;
    }
    redis_up(ctx, NULL);
    printf("%s: listening on %s\n", name, ws_listener_url(l));
    fflush(stdout);
    for (;;) if (ws_poll(ctx, -1) < 0) break;
    return 1;
}
