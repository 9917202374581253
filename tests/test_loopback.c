/* test_loopback.c - real ws.h clients and servers over 127.0.0.1 sockets in one process:
 * echo at every length boundary, size limits, many clients and broadcast, fragmentation,
 * ping/pong, the close handshake, heartbeats, timeouts, refusals, subprotocols, the
 * connection limit, backpressure, reconnect, connect errors, the wake-up call and the
 * foreign-loop interface. Nothing sleeps: each wait polls until a condition holds, capped
 * at LB_CAP_MS of wall-clock time (a timeout fails the test; it only catches hangs: no check
 * depends on how fast a loaded machine is). Every test ends by destroying
 * its contexts and checking that each connection got exactly one final WS_EV_CLOSE and no
 * event after it. */
#ifndef _WIN32
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>
#include <errno.h>
#include <time.h>
#include <pthread.h>
#endif

#define LB_CAP_MS 30000  /* longest any single wait may take: only catches a hang */
#define LB_MAXC   160    /* connection ids tracked per context */

/* ---- what one connection saw ---- */
typedef struct lb_rec {
    ws_conn  *c;
    int       server, opens, msgs, pings, pongs, drained, errors, closes, final_closes;
    int       after_close;          /* events after the final CLOSE: must stay 0 */
    int       close_code, clean, reconnect_ms, close_http, err_http, close_state, open_state;
    ws_result err_result, close_result;
    char      reason[128];
    uint8_t  *last;                 /* the last message (or fragment), copied */
    size_t    last_len, bytes;
    int       last_op, last_fin;
    uint8_t   ping[126], pong[126];
    size_t    ping_len, pong_len;
    int       frag_fin[8];          /* fragment mode: fin of each piece */
    size_t    frag_len[8];
    int       retry_ms[8];          /* reconnect_ms of each CLOSE */
    char      err_msg[96];          /* the ERROR event's msg */
} lb_rec;

typedef struct lb_state {
    lb_rec      rec[LB_MAXC];
    int         bad_id, events, upgrades, echo, echo_fail, refuse;
    const char *pick;               /* on_upgrade: subprotocol to choose */
    char        offered[64];        /* on_upgrade: Sec-WebSocket-Protocol as offered */
    ws_conn    *last_server;        /* the server connection that opened last */
} lb_state;

static int64_t lb_ms(void) { return ws__now_ms(); }

static lb_rec *lb_rec_of(lb_state *s, ws_conn *c) {
    uint64_t id = ws_conn_id(c);
    if (id == 0 || id >= LB_MAXC) { s->bad_id++; return NULL; }
    return &s->rec[id];
}

static void lb_on_event(ws_conn *c, const ws_event *ev, void *user) {
    lb_state *s = (lb_state *)user;
    lb_rec *r = lb_rec_of(s, c);
    size_t n;
    s->events++;
    if (!r) return;
    if (r->final_closes) r->after_close++;
    r->c = c;
    r->server = ws_conn_is_server(c);
    switch (ev->type) {
    case WS_EV_OPEN:
        r->opens++;
        r->open_state = ws_conn_state(c);
        if (r->server) s->last_server = c;
        break;
    case WS_EV_MESSAGE:
        if (r->msgs < 8) { r->frag_fin[r->msgs] = ev->fin; r->frag_len[r->msgs] = ev->len; }
        r->msgs++;
        r->bytes += ev->len;
        r->last_op = ev->opcode;
        r->last_fin = ev->fin;
        free(r->last);
        r->last = (uint8_t *)malloc(ev->len + 1);
        if (r->last && ev->len) memcpy(r->last, ev->data, ev->len);
        r->last_len = ev->len;
        if (s->echo && r->server && ev->fin && ws_conn_send(c, ev->opcode, ev->data, ev->len) != WS_OK)
            s->echo_fail++;
        break;
    case WS_EV_PING:
        r->pings++;
        n = ev->len < sizeof r->ping ? ev->len : sizeof r->ping;
        if (n) memcpy(r->ping, ev->data, n);
        r->ping_len = n;
        break;
    case WS_EV_PONG:
        r->pongs++;
        n = ev->len < sizeof r->pong ? ev->len : sizeof r->pong;
        if (n) memcpy(r->pong, ev->data, n);
        r->pong_len = n;
        break;
    case WS_EV_DRAINED:
        r->drained++;
        break;
    case WS_EV_ERROR:
        r->errors++;
        r->err_result = ev->result;
        r->err_http = ev->http_status;
        if (!ev->msg) s->bad_id++;
        else { strncpy(r->err_msg, ev->msg, sizeof r->err_msg - 1); r->err_msg[sizeof r->err_msg - 1] = '\0'; }
        break;
    case WS_EV_CLOSE:
        r->closes++;
        if (r->closes <= 8) r->retry_ms[r->closes - 1] = ev->reconnect_ms;
        if (ev->reconnect_ms <= 0) r->final_closes++;
        r->close_code = ev->close_code;
        r->clean = ev->clean;
        r->reconnect_ms = ev->reconnect_ms;
        r->close_result = ev->result;
        r->close_http = ev->http_status;
        r->close_state = ws_conn_state(c);
        if (!ev->reason || !ev->msg) s->bad_id++;
        else { strncpy(r->reason, ev->reason, sizeof r->reason - 1); r->reason[sizeof r->reason - 1] = '\0'; }
        break;
    }
}

static void lb_on_upgrade(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user) {
    lb_state *s = (lb_state *)user;
    ws_span v;
    (void)c;
    s->upgrades++;
    if (ws_http_header(req->headers, req->num_headers, "Sec-WebSocket-Protocol", &v) &&
        v.len < sizeof s->offered) {
        memcpy(s->offered, v.ptr, v.len);
        s->offered[v.len] = '\0';
    }
    if (s->refuse) {
        reply->status = s->refuse;
        reply->body = "go away\n";
        reply->body_len = 8;
    }
    if (s->pick) reply->protocol = s->pick;
}

static lb_state *lb_new(void) {
    lb_state *s = (lb_state *)calloc(1, sizeof(lb_state));
    CHECK(s != NULL);
    return s;
}

/* Every connection that had any event: one final CLOSE, nothing after it. Then frees s. */
static void lb_done(lb_state *s) {
    int i;
    if (!s) return;
    CHECK_EQ(s->bad_id, 0);
    CHECK_EQ(s->echo_fail, 0);
    for (i = 0; i < LB_MAXC; i++) {
        lb_rec *r = &s->rec[i];
        if (r->opens || r->closes || r->errors || r->msgs) {
            if (r->final_closes != 1 || r->after_close != 0)
                printf("  conn #%d: %d final close events, %d events after it\n", i, r->final_closes,
                       r->after_close);
            CHECK_EQ(r->final_closes, 1);
            CHECK_EQ(r->after_close, 0);
            CHECK_EQ(r->close_state, WS_STATE_CLOSED);
        }
        free(r->last);
    }
    free(s);
}

static ws_ctx *lb_ctx(lb_state *s, ws_config *cfg) {
    ws_config z;
    ws_ctx *ctx;
    if (!cfg) { memset(&z, 0, sizeof z); cfg = &z; }
    cfg->on_event = lb_on_event;
    cfg->on_upgrade = lb_on_upgrade;
    cfg->user = s;
    ctx = ws_ctx_create(cfg);
    CHECK(ctx != NULL);
    return ctx;
}

static ws_listener *lb_listen(ws_ctx *ctx, char *url) {
    ws_listener *l = NULL;
    ws_result rc = ws_listen(ctx, "127.0.0.1", 0, &l);
    CHECK_EQ(rc, WS_OK);
    CHECK(l != NULL);
    url[0] = '\0';
    if (l) {
        strcpy(url, ws_listener_url(l));
        CHECK(ws_listener_port(l) != 0);
        CHECK(strncmp(url, "ws://127.0.0.1:", 15) == 0);
    }
    return l;
}

static ws_conn *lb_connect(ws_ctx *ctx, const char *url, const ws_connect_opts *o) {
    ws_conn *c = NULL;
    ws_result rc = ws_connect(ctx, url, o, NULL, &c);
    CHECK_EQ(rc, WS_OK);
    CHECK(c != NULL);
    return c;
}

/* One loop pass over one or two contexts. */
static void lb_poll(ws_ctx *a, ws_ctx *b) {
    if (b) { CHECK(ws_poll(a, 2) >= 0); CHECK(ws_poll(b, 2) >= 0); }
    else CHECK(ws_poll(a, 10) >= 0);
}

/* Polls a (and b) until cond holds; ok = 0 and the test fails after LB_CAP_MS. */
#define LB_WAIT(ok, a, b, cond) do { int64_t lb_end_ = lb_ms() + LB_CAP_MS; (ok) = 1; \
    while (!(cond)) { if (lb_ms() > lb_end_) { (ok) = 0; t_bad = 1; \
        printf("  %s:%d: timed out waiting for %s\n", __FILE__, __LINE__, #cond); break; } \
        lb_poll((a), (b)); } (void)(ok); } while (0)

/* Polls a (and b) for ms milliseconds (to see that nothing happens). */
static void lb_idle(ws_ctx *a, ws_ctx *b, int ms) {
    int64_t end = lb_ms() + ms;
    while (lb_ms() < end) lb_poll(a, b);
}

/* n bytes of valid UTF-8 (ASCII with a 3-byte character in the middle) or binary. */
static void lb_fill(uint8_t *p, size_t n, int text, unsigned seed) {
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = text ? (uint8_t)('a' + (i * 7 + seed) % 26) : (uint8_t)((i * 131 + seed * 17 + (i >> 8)) & 0xFF);
    if (text && n >= 4) { p[n / 2] = 0xE2; p[n / 2 + 1] = 0x82; p[n / 2 + 2] = 0xAC; }   /* U+20AC */
}

/* ---- echo ---- */

/* An open server connection without a subprotocol costs only its ws_conn (c->x, the extension
 * block, is gone once the handshake is over; a client keeps its ws__client there), and Nagle
 * is off on both sides: set on the client's
 * socket, and on the server's either per accepted socket or (Linux) once on the listener,
 * which accepted sockets inherit. */
static int lb_nodelay(ws__sock fd) {
    int v = 0;
    socklen_t len = sizeof v;
    if (ws__getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, (char *)&v, &len) != 0) return -1;
    return v != 0;
}
static void test_loopback_idle_conn(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_conn *c;
    char url[64];
    int ok;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    lb_listen(ctx, url);
    c = lb_connect(ctx, url, NULL);
    LB_WAIT(ok, ctx, NULL, ws_conn_state(c) == WS_STATE_OPEN && s->last_server);
    if (ok) {
        CHECK_EQ(lb_nodelay(c->fd), 1);
        CHECK_EQ(lb_nodelay(s->last_server->fd), 1);
        CHECK(c->x != NULL && c->x->cl != NULL && c->x->hsnext == NULL);
        CHECK(s->last_server->x == NULL);
#if !defined(WS_DEBUG) && !defined(WS_USE_ZLIB)   /* (+ magic, + deflate state) */
        if (sizeof(void *) == 8) CHECK(sizeof(ws_conn) <= (sizeof(ws__sock) == 4 ? 200u : 208u));   /* one 208-byte malloc chunk (8 B SOCKET: 208) */
#endif
        CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, NULL), WS_OK);
        LB_WAIT(ok, ctx, NULL, ws_conn_count(ctx) == 0);
    }
    ws_ctx_destroy(ctx);
    lb_done(s);
}

static void test_loopback_echo_sizes(void) {
    static const size_t base[] = { 0, 1, 125, 126, 127, 65535, 65536, (size_t)1 << 20 };
    const size_t maxm = ((size_t)1 << 20) + 4099;
    lb_state *s = lb_new();
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c;
    lb_rec *cr, *sr;
    char url[64];
    uint8_t *buf = (uint8_t *)malloc(maxm + 1);
    size_t k, sizes[9];
    int op, ok, want = 0;
    if (!s || !buf) { free(buf); lb_done(s); return; }
    memset(&cfg, 0, sizeof cfg);
    cfg.max_message = maxm;
    s->echo = 1;
    ctx = lb_ctx(s, &cfg);
    lb_listen(ctx, url);
    c = lb_connect(ctx, url, NULL);
    cr = &s->rec[ws_conn_id(c)];
    CHECK_EQ(ws_conn_state(c), WS_STATE_CONNECTING);
    LB_WAIT(ok, ctx, NULL, cr->opens == 1 && s->last_server);
    if (!ok) goto out;
    sr = &s->rec[ws_conn_id(s->last_server)];
    memcpy(sizes, base, sizeof base);
    sizes[8] = maxm;
    for (k = 0; k < 9; k++) {
        for (op = WS_OP_TEXT; op <= WS_OP_BINARY; op++) {
            size_t n = sizes[k];
            lb_fill(buf, n, op == WS_OP_TEXT, (unsigned)(k * 2 + (size_t)op));
            CHECK_EQ(ws_conn_send(c, op, buf, n), WS_OK);
            want++;
            LB_WAIT(ok, ctx, NULL, cr->msgs == want);
            if (!ok) { printf("  size %lu op %d\n", (unsigned long)n, op); goto out; }
            CHECK_EQ(sr->msgs, want);
            CHECK_EQ(sr->last_op, op);
            CHECK_EQ(sr->last_len, n);
            CHECK_EQ(cr->last_op, op);
            CHECK_EQ(cr->last_len, n);
            CHECK_EQ(cr->last_fin, 1);
            if (cr->last_len == n && n) CHECK_MEM(cr->last, buf, n);
            if (sr->last_len == n && n) CHECK_MEM(sr->last, buf, n);
        }
    }
    CHECK_EQ(ws_conn_queued(c), 0);
    /* one byte over max_message: the server fails the connection with 1009 */
    lb_fill(buf, maxm + 1, 0, 99);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, buf, maxm + 1), WS_OK);
    LB_WAIT(ok, ctx, NULL, cr->closes == 1 && sr->closes == 1);
    CHECK_EQ(cr->msgs, want);
    CHECK_EQ(sr->msgs, want);
    CHECK_EQ(sr->errors, 1);
    CHECK_EQ(sr->err_result, WS_ERR_TOO_BIG);
    CHECK_EQ(sr->close_code, WS_CLOSE_TOO_BIG);
    CHECK_EQ(sr->close_result, WS_ERR_TOO_BIG);
    CHECK_EQ(cr->close_code, WS_CLOSE_TOO_BIG);
    CHECK_EQ(cr->errors, 0);
    CHECK_EQ(cr->clean, 1);
    CHECK_EQ(ws_conn_count(ctx), 0);
    /* over max_message in two fragments that are each small enough: 1009 as well */
    c = lb_connect(ctx, url, NULL);
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    s->last_server = NULL;
    LB_WAIT(ok, ctx, NULL, cr->opens == 1 && s->last_server);
    if (!ok) goto out;
    sr = &s->rec[ws_conn_id(s->last_server) % LB_MAXC];
    CHECK_EQ(ws_conn_send_frame(c, 0, 0, WS_OP_BINARY, buf, maxm / 2 + 1), WS_OK);
    CHECK_EQ(ws_conn_send_frame(c, 1, 0, WS_OP_CONT, buf, maxm / 2 + 1), WS_OK);
    LB_WAIT(ok, ctx, NULL, cr->closes == 1 && sr->closes == 1);
    CHECK_EQ(sr->msgs, 0);
    CHECK_EQ(sr->err_result, WS_ERR_TOO_BIG);
    CHECK_EQ(cr->close_code, WS_CLOSE_TOO_BIG);
out:
    ws_ctx_destroy(ctx);
    free(buf);
    lb_done(s);
}

/* ---- many clients ---- */

static int lb_sum(const lb_state *s, const uint64_t *ids, int n, int what) {
    int i, k = 0;
    for (i = 0; i < n; i++) {
        const lb_rec *r = &s->rec[ids[i] % LB_MAXC];
        k += what == 0 ? r->msgs : what == 1 ? r->closes : r->opens;
    }
    return k;
}

static void test_loopback_many_clients(void) {
    enum { N = 50 };
    lb_state *ss = lb_new(), *cs = lb_new();
    ws_ctx *sx = NULL, *cx = NULL;
    ws_conn *cl[N], *srv[N], *c;
    uint64_t cid[N], sid[N];
    char url[64], addr[64], msg[32], want[64];
    size_t sent = 0;
    int i, j, ok, nsrv = 0;
    int64_t age0;
    uint16_t rport = 0;
    ws_listener *l;
    if (!ss || !cs) { free(ss); free(cs); return; }
    ss->echo = 1;
    sx = lb_ctx(ss, NULL);
    cx = lb_ctx(cs, NULL);
    l = lb_listen(sx, url);
    for (i = 0; i < N; i++) { cl[i] = lb_connect(cx, url, NULL); cid[i] = ws_conn_id(cl[i]) % LB_MAXC; }
    CHECK_EQ(ws_conn_count(cx), 0);   /* none open yet */
    LB_WAIT(ok, sx, cx, ws_conn_count(cx) == N && ws_conn_count(sx) == N);
    if (!ok) goto out;
    CHECK_EQ(lb_sum(cs, cid, N, 2), N);
    /* ids unique in each ctx; ws_conn_next visits each open conn once */
    for (i = 0; i < N; i++) for (j = 0; j < i; j++) CHECK(ws_conn_id(cl[i]) != ws_conn_id(cl[j]));
    for (c = ws_conn_next(sx, NULL); c; c = ws_conn_next(sx, c)) {
        CHECK(nsrv < N);
        if (nsrv >= N) break;
        CHECK(ws_conn_is_server(c));
        sid[nsrv] = ws_conn_id(c) % LB_MAXC;
        srv[nsrv++] = c;
    }
    CHECK_EQ(nsrv, N);
    for (i = 0; i < nsrv; i++) for (j = 0; j < i; j++) CHECK(ws_conn_id(srv[i]) != ws_conn_id(srv[j]));
    /* remote addresses: the server sees 127.0.0.1:<ephemeral>, the client the listener */
    for (i = 0; i < nsrv; i++) {
        CHECK_EQ(ws_conn_remote(srv[i], addr, sizeof addr, &rport), WS_OK);
        CHECK(strncmp(addr, "127.0.0.1:", 10) == 0);
        CHECK(rport != 0 && rport != ws_listener_port(l));
        sprintf(want, "127.0.0.1:%u", (unsigned)rport);
        CHECK_STR(addr, want);
    }
    sprintf(want, "127.0.0.1:%u", (unsigned)ws_listener_port(l));
    CHECK_EQ(ws_conn_remote(cl[0], addr, sizeof addr, &rport), WS_OK);
    CHECK_STR(addr, want);
    CHECK_EQ(rport, ws_listener_port(l));
    CHECK_EQ(ws_conn_remote(cl[0], addr, 5, NULL), WS_OK);   /* truncated, terminated */
    CHECK_EQ(strlen(addr), 4);
    /* each client sends its own text and gets it back */
    for (i = 0; i < N; i++) {
        sprintf(msg, "hello from %d", i);
        CHECK_EQ(ws_conn_send_text(cl[i], msg), WS_OK);
    }
    LB_WAIT(ok, sx, cx, lb_sum(cs, cid, N, 0) == N);
    for (i = 0; i < N; i++) {
        lb_rec *r = &cs->rec[cid[i]];
        sprintf(msg, "hello from %d", i);
        CHECK_EQ(r->msgs, 1);
        CHECK_EQ(r->last_len, strlen(msg));
        if (r->last_len == strlen(msg)) CHECK_MEM(r->last, msg, strlen(msg));
    }
    /* broadcast to all, then to all but one */
    CHECK_EQ(ws_broadcast(sx, WS_OP_BINARY, "all", 3, NULL, &sent), WS_OK);
    CHECK_EQ(sent, N);
    LB_WAIT(ok, sx, cx, lb_sum(cs, cid, N, 0) == 2 * N);
    CHECK_EQ(ws_broadcast(sx, WS_OP_TEXT, "most", 4, srv[7], &sent), WS_OK);
    CHECK_EQ(sent, N - 1);
    CHECK_EQ(ws_broadcast(sx, WS_OP_TEXT, "\xff", 1, NULL, &sent), WS_ERR_UTF8);
    CHECK_EQ(ws_broadcast(cx, WS_OP_TEXT, "x", 1, NULL, &sent), WS_OK);   /* clients: none */
    CHECK_EQ(sent, 0);
    LB_WAIT(ok, sx, cx, lb_sum(cs, cid, N, 0) == 3 * N - 1);
    lb_idle(sx, cx, 20);
    CHECK_EQ(lb_sum(cs, cid, N, 0), 3 * N - 1);
    {   /* the one that missed it is the client behind srv[7] (whose hello names it) */
        const lb_rec *r7 = &ss->rec[sid[7]];
        int k = -1;
        char hello[32];
        if (r7->last && r7->last_len < sizeof hello) {
            memcpy(hello, r7->last, r7->last_len);
            hello[r7->last_len] = '\0';
            if (sscanf(hello, "hello from %d", &k) != 1) k = -1;
        }
        CHECK(k >= 0 && k < N);
        for (i = 0; i < N; i++) {
            lb_rec *r = &cs->rec[cid[i]];
            if (i == k) { CHECK_EQ(r->msgs, 2); CHECK_EQ(r->last_op, WS_OP_BINARY); CHECK_MEM(r->last, "all", 3); }
            else { CHECK_EQ(r->msgs, 3); CHECK_EQ(r->last_op, WS_OP_TEXT); CHECK_MEM(r->last, "most", 4); }
        }
    }
    CHECK_EQ(ss->rec[sid[7]].msgs, 1);   /* server conns got only the hello */
    /* ages grow */
    age0 = ws_conn_age_ms(cl[0]);
    CHECK(age0 >= 0);
    CHECK(ws_conn_age_ms(srv[0]) >= 0);
    LB_WAIT(ok, sx, cx, ws_conn_age_ms(cl[0]) > age0 + 5);
    /* clients close: every conn on both sides gets one CLOSE */
    ws_close_all(cx, WS_CLOSE_NORMAL, "done");
    LB_WAIT(ok, sx, cx, lb_sum(cs, cid, N, 1) == N && ws_conn_count(sx) == 0);
    for (i = 0; i < N; i++) {
        lb_rec *r = &cs->rec[cid[i]];
        CHECK_EQ(r->close_code, WS_CLOSE_NORMAL);
        CHECK_EQ(r->clean, 1);
    }
    for (i = 0; i < nsrv; i++) {
        lb_rec *r = &ss->rec[sid[i]];
        CHECK_STR(r->reason, "done");
    }
out:
    ws_ctx_destroy(sx);
    ws_ctx_destroy(cx);
    lb_done(ss);
    lb_done(cs);
}

/* A client and a server in one ctx, both open. Returns the client; *srv the server side. */
static ws_conn *lb_pair(ws_ctx *ctx, lb_state *s, const char *url, const ws_connect_opts *o,
                        ws_conn **srv) {
    ws_conn *c = lb_connect(ctx, url, o);
    int ok;
    *srv = NULL;
    s->last_server = NULL;
    if (!c) return NULL;
    LB_WAIT(ok, ctx, NULL, s->rec[ws_conn_id(c) % LB_MAXC].opens == 1 && s->last_server);
    if (!ok) return NULL;
    *srv = s->last_server;
    return c;
}

/* A server ctx (scfg) and a client ctx (ccfg) of their own (NULL = defaults), the client
 * connected to the server's listener and both sides open: returns the client (NULL if it did
 * not open; the test has failed then), *srv its server side. */
static ws_conn *lb_two(lb_state *ss, lb_state *cs, ws_config *scfg, ws_config *ccfg, ws_ctx **sx,
                       ws_ctx **cx, ws_conn **srv) {
    char url[64];
    ws_conn *c;
    int ok;
    *srv = NULL;
    *sx = lb_ctx(ss, scfg);
    *cx = lb_ctx(cs, ccfg);
    if (!*sx || !*cx) return NULL;
    lb_listen(*sx, url);
    ss->last_server = NULL;
    c = lb_connect(*cx, url, NULL);
    if (!c) return NULL;
    LB_WAIT(ok, *sx, *cx, cs->rec[ws_conn_id(c) % LB_MAXC].opens == 1 && ss->last_server);
    *srv = ss->last_server;
    return ok ? c : NULL;
}

/* ---- fragmentation ---- */

static void test_loopback_fragments(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_conn *c, *srv;
    lb_rec *cr, *sr;
    char url[64];
    int ok;
    static const char whole[] = "Hello, w\xc3\xb6rld";   /* the UTF-8 character is split */
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    lb_listen(ctx, url);
    c = lb_pair(ctx, s, url, NULL, &srv);
    if (!c) goto out;
    cr = &s->rec[ws_conn_id(c)];
    sr = &s->rec[ws_conn_id(srv)];
    CHECK_EQ(ws_conn_send_frame(c, 0, 0, WS_OP_TEXT, "Hel", 3), WS_OK);
    CHECK_EQ(ws_conn_send(c, WS_OP_PING, "p1", 2), WS_OK);
    CHECK_EQ(ws_conn_send_frame(c, 0, 0, WS_OP_CONT, "lo, w\xc3", 6), WS_OK);
    CHECK_EQ(ws_conn_send(c, WS_OP_PING, "p2", 2), WS_OK);
    CHECK_EQ(ws_conn_send_frame(c, 0, 0, WS_OP_CONT, "", 0), WS_OK);
    CHECK_EQ(ws_conn_send_frame(c, 1, 0, WS_OP_CONT, "\xb6rld", 4), WS_OK);
    LB_WAIT(ok, ctx, NULL, sr->msgs == 1 && cr->pongs == 2);
    CHECK_EQ(sr->pings, 2);
    CHECK_EQ(sr->last_op, WS_OP_TEXT);
    CHECK_EQ(sr->last_fin, 1);
    CHECK_EQ(sr->last_len, sizeof whole - 1);
    if (sr->last_len == sizeof whole - 1) CHECK_MEM(sr->last, whole, sizeof whole - 1);
    CHECK_EQ(cr->pong_len, 2);
    CHECK_MEM(cr->pong, "p2", 2);
    /* binary, from the server, in single-byte pieces */
    CHECK_EQ(ws_conn_send_frame(srv, 0, 0, WS_OP_BINARY, "\x00", 1), WS_OK);
    CHECK_EQ(ws_conn_send_frame(srv, 0, 0, WS_OP_CONT, "\x01", 1), WS_OK);
    CHECK_EQ(ws_conn_send_frame(srv, 1, 0, WS_OP_CONT, "\xff", 1), WS_OK);
    LB_WAIT(ok, ctx, NULL, cr->msgs == 1);
    CHECK_EQ(cr->last_op, WS_OP_BINARY);
    CHECK_EQ(cr->last_len, 3);
    if (cr->last_len == 3) CHECK_MEM(cr->last, "\x00\x01\xff", 3);
    /* fragment mode on the client (per connection): pieces as they come */
    ws_conn_set_fragments(c, 1);
    CHECK_EQ(ws_conn_send_frame(srv, 0, 0, WS_OP_TEXT, "ab", 2), WS_OK);
    CHECK_EQ(ws_conn_send_frame(srv, 1, 0, WS_OP_CONT, "cde", 3), WS_OK);
    LB_WAIT(ok, ctx, NULL, cr->msgs == 3);
    CHECK_EQ(cr->frag_fin[1], 0);
    CHECK_EQ(cr->frag_len[1], 2);
    CHECK_EQ(cr->frag_fin[2], 1);
    CHECK_EQ(cr->frag_len[2], 3);
    CHECK_EQ(cr->last_op, WS_OP_TEXT);
    CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, NULL), WS_OK);
    LB_WAIT(ok, ctx, NULL, cr->closes == 1 && sr->closes == 1);
    CHECK_EQ(sr->errors, 0);
    CHECK_EQ(cr->errors, 0);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* cfg.fragments: every fragment is an event, with the message's opcode and fin. */
static void test_loopback_fragments_cfg(void) {
    lb_state *ss = lb_new(), *cs = lb_new();
    ws_ctx *sx = NULL, *cx = NULL;
    ws_config cfg;
    ws_conn *c, *srv;
    lb_rec *cr, *sr = NULL;
    int ok;
    if (!ss || !cs) { free(ss); free(cs); return; }
    memset(&cfg, 0, sizeof cfg);
    cfg.fragments = 1;
    cfg.max_message = 4;   /* fragment mode: the message limit does not apply */
    c = lb_two(ss, cs, &cfg, NULL, &sx, &cx, &srv);
    if (!c) goto out;
    cr = &cs->rec[ws_conn_id(c) % LB_MAXC];
    sr = &ss->rec[ws_conn_id(srv) % LB_MAXC];
    CHECK_EQ(ws_conn_send_frame(c, 0, 0, WS_OP_TEXT, "one", 3), WS_OK);
    CHECK_EQ(ws_conn_send(c, WS_OP_PING, "x", 1), WS_OK);
    CHECK_EQ(ws_conn_send_frame(c, 0, 0, WS_OP_CONT, "two", 3), WS_OK);
    CHECK_EQ(ws_conn_send_frame(c, 1, 0, WS_OP_CONT, "thr", 3), WS_OK);
    LB_WAIT(ok, sx, cx, sr->msgs == 3 && cr->pongs == 1);
    CHECK_EQ(sr->frag_fin[0], 0);
    CHECK_EQ(sr->frag_fin[1], 0);
    CHECK_EQ(sr->frag_fin[2], 1);
    CHECK_EQ(sr->frag_len[0], 3);
    CHECK_EQ(sr->frag_len[2], 3);
    CHECK_EQ(sr->last_op, WS_OP_TEXT);
    CHECK_MEM(sr->last, "thr", 3);
    CHECK_EQ(sr->pings, 1);
    /* an unfragmented message is one event with fin = 1 */
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, "solo", 4), WS_OK);
    LB_WAIT(ok, sx, cx, sr->msgs == 4);
    CHECK_EQ(sr->last_fin, 1);
    CHECK_EQ(sr->last_op, WS_OP_BINARY);
    CHECK_EQ(sr->bytes, 13);
out:
    ws_ctx_destroy(cx);
    if (sr) CHECK_EQ(sr->closes, 0);   /* destroying the client ctx closes, not yet seen */
    ws_ctx_destroy(sx);
    lb_done(ss);
    lb_done(cs);
}

/* ---- ping / pong ---- */

static void test_loopback_ping_pong(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_conn *c, *srv;
    lb_rec *cr, *sr;
    char url[64];
    uint8_t big[125];
    int ok;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    lb_listen(ctx, url);
    c = lb_pair(ctx, s, url, NULL, &srv);
    if (!c) goto out;
    cr = &s->rec[ws_conn_id(c)];
    sr = &s->rec[ws_conn_id(srv)];
    CHECK_EQ(ws_conn_send(c, WS_OP_PING, "are you there", 13), WS_OK);
    LB_WAIT(ok, ctx, NULL, cr->pongs == 1);
    CHECK_EQ(sr->pings, 1);
    CHECK_EQ(sr->ping_len, 13);
    CHECK_EQ(cr->pong_len, 13);
    CHECK_MEM(cr->pong, "are you there", 13);
    lb_fill(big, sizeof big, 0, 5);
    CHECK_EQ(ws_conn_send(srv, WS_OP_PING, big, sizeof big), WS_OK);   /* the largest control frame */
    CHECK_EQ(ws_conn_send(srv, WS_OP_PING, big, 126), WS_ERR_ARG);
    LB_WAIT(ok, ctx, NULL, sr->pongs == 1);
    CHECK_EQ(cr->pings, 1);
    CHECK_EQ(sr->pong_len, sizeof big);
    CHECK_MEM(sr->pong, big, sizeof big);
    CHECK_EQ(ws_conn_send(c, WS_OP_PING, NULL, 0), WS_OK);             /* empty */
    LB_WAIT(ok, ctx, NULL, cr->pongs == 2);
    CHECK_EQ(cr->pong_len, 0);
    CHECK_EQ(ws_conn_send(c, WS_OP_PONG, "u", 1), WS_OK);              /* unsolicited: no reply */
    LB_WAIT(ok, ctx, NULL, sr->pongs == 2);
    lb_idle(ctx, NULL, 20);
    CHECK_EQ(cr->pongs, 2);
    CHECK_EQ(cr->msgs + sr->msgs, 0);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* ---- the close handshake, both directions, and the states on the way ---- */

static void test_loopback_close_both_ways(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_conn *c, *srv;
    lb_rec *cr, *sr;
    char url[64];
    int ok, dir;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    lb_listen(ctx, url);
    for (dir = 0; dir < 2; dir++) {
        ws_conn *closer, *peer;
        lb_rec *kr, *pr;
        c = lb_connect(ctx, url, NULL);
        CHECK_EQ(ws_conn_state(c), WS_STATE_CONNECTING);
        CHECK_EQ(ws_conn_send_text(c, "too early"), WS_ERR_STATE);
        s->last_server = NULL;
        cr = &s->rec[ws_conn_id(c) % LB_MAXC];
        LB_WAIT(ok, ctx, NULL, cr->opens == 1 && s->last_server);
        if (!ok) goto out;
        srv = s->last_server;
        sr = &s->rec[ws_conn_id(srv) % LB_MAXC];
        CHECK_EQ(cr->open_state, WS_STATE_OPEN);
        CHECK_EQ(sr->open_state, WS_STATE_OPEN);
        CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
        CHECK_EQ(ws_conn_state(srv), WS_STATE_OPEN);
        CHECK(!ws_conn_is_server(c));
        CHECK(ws_conn_is_server(srv));
        closer = dir ? srv : c;   peer = dir ? c : srv;
        kr = dir ? sr : cr;       pr = dir ? cr : sr;
        CHECK_EQ(ws_conn_close(closer, WS_CLOSE_INVALID_DATA, "bad"), WS_OK);
        CHECK_EQ(ws_conn_state(closer), WS_STATE_CLOSING);
        CHECK_EQ(ws_conn_close(closer, 4000, "again"), WS_ERR_CLOSED);
        CHECK_EQ(ws_conn_send_text(closer, "late"), WS_ERR_CLOSED);
        CHECK_EQ(ws_conn_count(ctx), 2);   /* still counted until closed */
        LB_WAIT(ok, ctx, NULL, kr->closes == 1 && pr->closes == 1);
        CHECK_EQ(kr->close_code, WS_CLOSE_INVALID_DATA);   /* the peer echoes the code */
        CHECK_EQ(pr->close_code, WS_CLOSE_INVALID_DATA);
        CHECK_STR(pr->reason, "bad");
        CHECK_EQ(kr->clean, 1);
        CHECK_EQ(pr->clean, 1);
        CHECK_EQ(kr->close_result, WS_OK);
        CHECK_EQ(pr->close_result, WS_OK);
        CHECK_EQ(kr->errors + pr->errors, 0);
        CHECK_EQ(kr->close_state, WS_STATE_CLOSED);
        CHECK_EQ(ws_conn_count(ctx), 0);
        (void)peer;
    }
    /* invalid arguments */
    c = lb_pair(ctx, s, url, NULL, &srv);
    if (!c) goto out;
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    CHECK_EQ(ws_conn_close(c, 1005, NULL), WS_ERR_ARG);     /* not for the wire */
    CHECK_EQ(ws_conn_close(c, 0, "reason without code"), WS_ERR_ARG);
    CHECK_EQ(ws_conn_close(c, 1000, "\xff"), WS_ERR_ARG);
    CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "\xc3", 1), WS_ERR_UTF8);
    CHECK_EQ(ws_conn_send(c, WS_OP_CLOSE, "", 0), WS_ERR_ARG);
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    /* no code at all: both sides see 1005 */
    CHECK_EQ(ws_conn_close(c, 0, NULL), WS_OK);
    sr = &s->rec[ws_conn_id(srv) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, cr->closes == 1 && sr->closes == 1);
    CHECK_EQ(cr->close_code, WS_CLOSE_NO_STATUS);
    CHECK_EQ(sr->close_code, WS_CLOSE_NO_STATUS);
    CHECK_EQ(cr->clean, 1);
    CHECK_EQ(sr->clean, 1);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* ---- heartbeat: a peer that never answers pings is dropped ---- */

static void test_loopback_heartbeat_timeout(void) {
    lb_state *ss = lb_new(), *cs = lb_new(), *ps = lb_new();
    ws_ctx *sx = NULL, *cx = NULL, *px = NULL;
    ws_config cfg;
    ws_conn *mute, *good;
    lb_rec *mr, *gr, *msr = NULL, *gsr;
    char url[64];
    int ok;
    int64_t t0;
    if (!ss || !cs || !ps) { free(ss); free(cs); free(ps); return; }
    memset(&cfg, 0, sizeof cfg);
    cfg.ping_interval_ms = 50;
    cfg.pong_timeout_ms = 1000;         /* the answering client has 1 s per pong, even loaded */
    sx = lb_ctx(ss, &cfg);
    memset(&cfg, 0, sizeof cfg);
    cfg.no_auto_pong = 1;
    cx = lb_ctx(cs, &cfg);
    px = lb_ctx(ps, NULL);              /* answers pings: must survive */
    lb_listen(sx, url);
    t0 = lb_ms();                       /* before the connect: the drop is >= 1050 ms later */
    mute = lb_connect(cx, url, NULL);
    mr = &cs->rec[ws_conn_id(mute) % LB_MAXC];
    LB_WAIT(ok, sx, cx, mr->opens == 1 && ss->last_server);
    if (!ok) goto out;
    msr = &ss->rec[ws_conn_id(ss->last_server) % LB_MAXC];
    ss->last_server = NULL;
    good = lb_connect(px, url, NULL);
    gr = &ps->rec[ws_conn_id(good) % LB_MAXC];
    LB_WAIT(ok, sx, px, gr->opens == 1 && ss->last_server);
    if (!ok) goto out;
    gsr = &ss->rec[ws_conn_id(ss->last_server) % LB_MAXC];
    {   /* poll all three until the mute client is gone on both sides */
        int64_t end = lb_ms() + LB_CAP_MS;
        while (!(msr->closes == 1 && mr->closes == 1) && lb_ms() < end) { lb_poll(sx, cx); lb_poll(px, NULL); }
        CHECK(msr->closes == 1 && mr->closes == 1);
    }
    CHECK(lb_ms() - t0 >= 1050);        /* not before ping_interval_ms + pong_timeout_ms */
    CHECK(mr->pings >= 1);
    CHECK_EQ(mr->pongs, 0);
    CHECK_EQ(msr->errors, 1);
    CHECK_EQ(msr->err_result, WS_ERR_TIMEOUT);
    CHECK_EQ(msr->close_result, WS_ERR_TIMEOUT);
    CHECK_EQ(msr->clean, 0);
    CHECK_EQ(mr->clean, 0);
    CHECK_EQ(mr->close_code, WS_CLOSE_ABNORMAL);
    /* the client that answers is still there after more than pong_timeout_ms of pings
     * (25 pings 50 ms apart: its pongs, not luck, kept it) */
    LB_WAIT(ok, sx, px, gr->pings >= 25 || gr->closes);
    CHECK(gr->pings >= 25);
    CHECK(gsr->pongs >= 24);            /* the server saw the answers */
    CHECK_EQ(gr->closes, 0);
    if (gr->closes == 0) CHECK_EQ(ws_conn_state(good), WS_STATE_OPEN);
    CHECK_EQ(ws_conn_count(sx), 1);
out:
    ws_ctx_destroy(sx);
    ws_ctx_destroy(cx);
    ws_ctx_destroy(px);
    lb_done(ss);
    lb_done(cs);
    lb_done(ps);
}

#ifndef _WIN32
/* ---- raw POSIX sockets standing in for a silent peer ---- */
static int lb_raw_connect(uint16_t port) {
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { close(fd); return -1; }
    return fd;
}

static int lb_raw_listen(uint16_t *port) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) { close(fd); return -1; }
    *port = ntohs(a.sin_port);
    (void)ws__sock_nonblock(fd);
    return fd;
}

/* 1 once the peer has closed (EOF or reset); bytes that arrive are appended to buf. */
static int lb_raw_closed(int fd, char *buf, size_t cap, size_t *len) {
    char tmp[512];
    for (;;) {
        ssize_t n = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
        if (n == 0) return 1;
        if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
        if (buf && *len + (size_t)n < cap) { memcpy(buf + *len, tmp, (size_t)n); *len += (size_t)n; buf[*len] = '\0'; }
    }
}

/* A peer that half-closes (shutdown(SHUT_WR): "nothing more from me") still gets the server's
 * last words: an HTTP answer (here a 426 to a request over half the first read's room), and a
 * message queued before the close handshake plus the close reply, though the EOF came while
 * they waited. Regression: the EOF ended the connection at once and the queued bytes were
 * dropped (no response at all; the message cut short, no close frame). */
static size_t lb_hc_len;
static void lb_hc_event(ws_conn *c, const ws_event *ev, void *user) {
    static uint8_t big[4 << 20];
    lb_on_event(c, ev, user);
    if (ev->type == WS_EV_OPEN && ws_conn_is_server(c)) {
        lb_fill(big, sizeof big, 0, 5);
        CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, sizeof big), WS_OK);
        lb_hc_len = sizeof big;
    }
}
static void test_loopback_half_close(void) {
    lb_state *s = lb_new();
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener *l;
    char url[64], req[2048], head[1024];
    size_t total, hl;
    int fd, ok, k;
    if (!s) return;
    for (k = 0; k < 2; k++) {
        memset(&cfg, 0, sizeof cfg);
        cfg.on_event = k ? lb_hc_event : lb_on_event;
        cfg.user = s;
        ctx = ws_ctx_create(&cfg);
        CHECK(ctx != NULL);
        l = ctx ? lb_listen(ctx, url) : NULL;
        if (!ctx || !l) break;
        fd = lb_raw_connect(ws_listener_port(l));
        CHECK(fd >= 0);
        if (fd < 0) break;
        if (!k) {   /* no Upgrade header, no on_http: 426 */
            sprintf(req, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: %0700d\r\n\r\n", 0);
        } else {    /* an upgrade, then at once a close frame (code 1000, mask 0) */
            sprintf(req, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
            memcpy(req + strlen(req), "\x88\x82\0\0\0\0\x03\xe8", 9);
        }
        CHECK_EQ(send(fd, req, strlen(req) + (k ? 8 : 0), 0), (long)(strlen(req) + (k ? 8 : 0)));
        CHECK_EQ(shutdown(fd, SHUT_WR), 0);
        if (k) LB_WAIT(ok, ctx, NULL, s->rec[1].closes ||   /* got the close (and the EOF) */
                       (s->rec[1].opens && ws_conn_state(s->rec[1].c) == WS_STATE_CLOSING));
        /* now read it all: the head, and for the upgrade the message and the close frame */
        total = 0; hl = 0; head[0] = '\0';
        {
            int64_t end = lb_ms() + LB_CAP_MS;
            uint8_t tail[16], buf[65536];
            int done = 0;
            memset(tail, 0, sizeof tail);
            while (!done && lb_ms() < end) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n == 0) done = 1;
                else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) done = 1;
                else if (n > 0) {
                    size_t i;
                    for (i = 0; i < (size_t)n; i++) {
                        if (total + i < sizeof head - 1) { head[total + i] = (char)buf[i]; head[total + i + 1] = '\0'; }
                        memmove(tail, tail + 1, sizeof tail - 1);
                        tail[sizeof tail - 1] = buf[i];
                    }
                    total += (size_t)n;
                } else lb_poll(ctx, NULL);
            }
            CHECK(done);
            CHECK(strstr(head, "\r\n\r\n") != NULL);
            if (strstr(head, "\r\n\r\n")) hl = (size_t)(strstr(head, "\r\n\r\n") + 4 - head);
            if (!k) {
                CHECK(strncmp(head, "HTTP/1.1 426 ", 13) == 0);
            } else {
                CHECK(strncmp(head, "HTTP/1.1 101 ", 13) == 0);
                CHECK_EQ(total, hl + 10 + lb_hc_len + 4);   /* 101, the 4 MiB frame, the close */
                CHECK(memcmp(tail + sizeof tail - 4, "\x88\x02\x03\xe8", 4) == 0);
            }
        }
        close(fd);
        LB_WAIT(ok, ctx, NULL, ws_conn_count(ctx) == 0 && ctx->nconns == 0);
        if (k) {
            CHECK_EQ(s->rec[1].closes, 1);
            CHECK_EQ(s->rec[1].clean, 1);
            CHECK_EQ(s->rec[1].close_code, 1000);
        }
        ws_ctx_destroy(ctx);
    }
    lb_done(s);
}

/* ws_conn_drop inside on_http: the loop closes TCP with nothing sent, as an engine does
 * (regression: the loop still sent the handler's response). */
static void lb_on_http_drop(ws_conn *c, const ws_http_request *req, ws_reply *reply, void *user) {
    (void)req; (void)user;
    ws_conn_drop(c);
    reply->status = 200;
    reply->body = "dropped";
    reply->body_len = 7;
}
static void test_loopback_drop_in_on_http(void) {
    static const char req[] = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    lb_state *s = lb_new();
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener *l;
    char url[64], got[1024];
    size_t len = 0;
    int fd, ok;
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_http = lb_on_http_drop;
    ctx = lb_ctx(s, &cfg);
    l = ctx ? lb_listen(ctx, url) : NULL;
    fd = l ? lb_raw_connect(ws_listener_port(l)) : -1;
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK_EQ(send(fd, req, sizeof req - 1, 0), (long)(sizeof req - 1));
        got[0] = '\0';
        LB_WAIT(ok, ctx, NULL, lb_raw_closed(fd, got, sizeof got, &len));
        CHECK_EQ(len, 0);                        /* closed with nothing sent */
        if (len) printf("  got: %.40s\n", got);
        close(fd);
        LB_WAIT(ok, ctx, NULL, ws_conn_count(ctx) == 0);
    }
    if (ctx) ws_ctx_destroy(ctx);
    lb_done(s);
}

/* An edge-triggered host (WSAEventSelect) reports "writable" once, with the connect: the
 * upgrade request must go out in that same ws_dispatch, not wait for another POLLOUT. */
static void test_loopback_connect_edge(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_conn *c;
    ws_pollfd fds[8];
    char url[64], req[2048];
    size_t rlen = 0, n, i;
    int lfd, afd = -1, t, got_out = 0, rounds;
    uint16_t port = 0;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    lfd = lb_raw_listen(&port);
    CHECK(lfd >= 0);
    if (lfd < 0) goto out;
    sprintf(url, "ws://127.0.0.1:%u/", (unsigned)port);
    c = lb_connect(ctx, url, NULL);
    if (!c) goto out;
    ws_dispatch(ctx, NULL, 0);   /* what ws_connect left pending, done before the connect ends */
    for (rounds = 0; rounds < 200 && !got_out; rounds++) {   /* until the connect completes */
        n = ws_pollfds(ctx, fds, 8, &t);
        CHECK(n <= 8);
        if (n > 8) break;
        for (i = 0; i < n; i++) {
            struct pollfd p;
            p.fd = (int)fds[i].fd;
            p.events = (short)(fds[i].events & WS_POLLOUT ? POLLOUT : POLLIN);
            p.revents = 0;
            (void)poll(&p, 1, fds[i].events & WS_POLLOUT ? 20 : 0);
            fds[i].revents = (short)((p.revents & POLLOUT) ? WS_POLLOUT : (p.revents & POLLIN) ? WS_POLLIN : 0);
            if ((intptr_t)fds[i].fd == (intptr_t)c->fd && (fds[i].revents & WS_POLLOUT)) got_out = 1;
        }
        ws_dispatch(ctx, fds, n);
    }
    CHECK(got_out);
    /* no further dispatch: the request must already be on the wire */
    for (rounds = 0; rounds < 100 && afd < 0; rounds++) {
        struct pollfd p;
        p.fd = lfd; p.events = POLLIN; p.revents = 0;
        (void)poll(&p, 1, 10);
        afd = accept(lfd, NULL, NULL);
    }
    CHECK(afd >= 0);
    for (rounds = 0; afd >= 0 && rounds < 100 && rlen < 4; rounds++) {
        struct pollfd p;
        p.fd = afd; p.events = POLLIN; p.revents = 0;
        (void)poll(&p, 1, 10);
        (void)lb_raw_closed(afd, req, sizeof req, &rlen);
    }
    CHECK(rlen >= 4 && memcmp(req, "GET ", 4) == 0);
out:
    if (afd >= 0) close(afd);
    if (lfd >= 0) close(lfd);
    ws_ctx_destroy(ctx);
    lb_done(s);
}

static void test_loopback_handshake_timeout(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_config cfg;
    ws_listener *l;
    ws_conn *c;
    lb_rec *cr;
    char url[64], req[2048];
    size_t rlen = 0;
    int fd, lfd, afd = -1, ok;
    uint16_t port = 0;
    int64_t t0;
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.handshake_timeout_ms = 100;
    ctx = lb_ctx(s, &cfg);
    /* a TCP client that never sends its request: the server hangs up after the timeout */
    l = lb_listen(ctx, url);
    fd = lb_raw_connect(ws_listener_port(l));
    CHECK(fd >= 0);
    if (fd < 0) goto out;
    t0 = lb_ms();
    LB_WAIT(ok, ctx, NULL, lb_raw_closed(fd, NULL, 0, NULL));
    CHECK(lb_ms() - t0 >= 90);
    CHECK_EQ(s->events, 0);             /* never opened: no events for it */
    CHECK_EQ(s->upgrades, 0);
    CHECK_EQ(ws_conn_count(ctx), 0);
    close(fd);
    /* a server that accepts and never answers: the client gives up after the timeout */
    lfd = lb_raw_listen(&port);
    CHECK(lfd >= 0);
    if (lfd < 0) goto out;
    sprintf(url, "ws://127.0.0.1:%u/silent", (unsigned)port);
    t0 = lb_ms();
    c = lb_connect(ctx, url, NULL);
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, (afd < 0 ? (afd = accept(lfd, NULL, NULL)) : afd) >= 0 &&
                           (lb_raw_closed(afd, req, sizeof req, &rlen) || 1) && cr->closes == 1);
    CHECK(lb_ms() - t0 >= 90);
    CHECK_EQ(cr->opens, 0);
    CHECK_EQ(cr->errors, 1);
    CHECK_EQ(cr->err_result, WS_ERR_TIMEOUT);
    CHECK_EQ(cr->close_result, WS_ERR_TIMEOUT);
    CHECK_EQ(cr->close_code, WS_CLOSE_ABNORMAL);
    CHECK_EQ(cr->clean, 0);
    CHECK_EQ(cr->close_http, 0);
    LB_WAIT(ok, ctx, NULL, lb_raw_closed(afd, req, sizeof req, &rlen));   /* the client hung up */
    CHECK(strncmp(req, "GET /silent HTTP/1.1\r\n", 22) == 0);
    if (afd >= 0) close(afd);
    close(lfd);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* A raw client's whole exchange: the request and a masked close in one write, then every byte
 * until the server hangs up: the 101 and the close echo (1000) arrive whole before the FIN
 * (on Linux that frame is sent with MSG_MORE right before close()), ten times over. */
static void test_loopback_raw_close_reply(void) {
    static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        "\x88\x82\x11\x22\x33\x44\x12\xca";   /* close 1000, masked */
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l;
    char url[64], got[1024];
    size_t len;
    int fd, ok, k;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    l = lb_listen(ctx, url);
    for (k = 0; k < 10; k++) {
        fd = lb_raw_connect(ws_listener_port(l));
        CHECK(fd >= 0);
        if (fd < 0) break;
        CHECK_EQ(send(fd, req, sizeof req - 1, 0), (long)(sizeof req - 1));
        len = 0; got[0] = '\0';
        LB_WAIT(ok, ctx, NULL, lb_raw_closed(fd, got, sizeof got, &len));
        close(fd);
        CHECK(len > 4 && strncmp(got, "HTTP/1.1 101 ", 13) == 0);
        CHECK(strstr(got, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != NULL);
        CHECK(len > 4 && memcmp(got + len - 4, "\x88\x02\x03\xe8", 4) == 0);
        CHECK(len > 8 && memcmp(got + len - 8, "\r\n\r\n", 4) == 0);
        LB_WAIT(ok, ctx, NULL, ws_conn_count(ctx) == 0);
    }
    ws_ctx_destroy(ctx);
    lb_done(s);
}
#endif

#ifndef _WIN32
/* ws__accept: in a burst (WS__ACCEPT_HOLD or more accepts in one pass) the requests already
 * there are read in the pass that accepts them (the 101 is out when that ws_poll returns); a lone
 * connection waits for the loop to report it readable (its request rarely came with it), and
 * is answered in a later pass. */
static void test_loopback_accept_burst(void) {
    static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l;
    char url[64], got[1024];
    size_t len;
    int fd[WS__ACCEPT_HOLD], n = WS__ACCEPT_HOLD, i, ok, k;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    l = lb_listen(ctx, url);
    for (i = 0; i < n; i++) {   /* connected and sent before the server looks: one batch */
        fd[i] = lb_raw_connect(ws_listener_port(l));
        CHECK(fd[i] >= 0);
        if (fd[i] >= 0) CHECK_EQ(send(fd[i], req, sizeof req - 1, 0), (long)(sizeof req - 1));
    }
    LB_WAIT(ok, ctx, NULL, ctx->nserver > 0);   /* (ws_conn_count: the open ones) */
    CHECK_EQ(ctx->nserver, n);
    CHECK_EQ(ws_conn_count(ctx), n);
    for (i = 0; i < n; i++) {   /* answered in that same pass */
        len = 0; got[0] = '\0';
        if (fd[i] >= 0) (void)lb_raw_closed(fd[i], got, sizeof got, &len);
        CHECK(strncmp(got, "HTTP/1.1 101 ", 13) == 0);
        if (fd[i] >= 0) close(fd[i]);
    }
    LB_WAIT(ok, ctx, NULL, ctx->nserver == 0);
    for (k = 0; k < 2; k++) {   /* one at a time: answered, but only in a later pass */
        int one = lb_raw_connect(ws_listener_port(l));
        CHECK(one >= 0);
        if (one < 0) break;
        CHECK_EQ(send(one, req, sizeof req - 1, 0), (long)(sizeof req - 1));
        LB_WAIT(ok, ctx, NULL, ctx->nserver > 0);
        len = 0; got[0] = '\0';
        (void)lb_raw_closed(one, got, sizeof got, &len);
        CHECK_EQ(len, 0);
        CHECK_EQ(ws_conn_count(ctx), 0);
        LB_WAIT(ok, ctx, NULL, (lb_raw_closed(one, got, sizeof got, &len), strstr(got, "\r\n\r\n") != NULL));
        CHECK(strncmp(got, "HTTP/1.1 101 ", 13) == 0);
        close(one);
        LB_WAIT(ok, ctx, NULL, ctx->nserver == 0);
    }
    ws_ctx_destroy(ctx);
    lb_done(s);
}
#endif

#ifdef __linux__
#include <sys/wait.h>
/* How many descriptors the epoll set epfd watches (/proc/self/fdinfo: a "tfd:" line each),
 * or -1 without /proc. */
static int lb_epoll_items(int epfd) {
    char path[64], line[256];
    FILE *f;
    int n = 0;
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", epfd);
    if (!(f = fopen(path, "r"))) return -1;
    while (fgets(line, sizeof line, f)) if (!strncmp(line, "tfd:", 4)) n++;
    fclose(f);
    return n;
}

/* A forked child holds copies of the server's sockets (fork without exec, or before exec:
 * close-on-exec does not help in between). The server's close() then does not end the
 * socket, and epoll keys its watch by the open file, not the descriptor: without the
 * EPOLL_CTL_DEL before close() the set would keep the socket with the freed ws_conn as its
 * pointer (a use after free on the next byte the client sends; ASan aborts). Checked: the
 * set shrinks back to what it watched before, the close reply reaches the client while the
 * child still holds the socket (sent with MSG_MORE, which no close() pushes out here: the
 * kernel sends it after ~200 ms), and the FIN when the child is gone. */
static void test_loopback_fork_shared_socket(void) {
    static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    static const char cl[] = "\x88\x82\x11\x22\x33\x44\x12\xca";   /* close 1000, masked */
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l;
    char url[64], got[1024];
    size_t len = 0;
    int fd, ok, before, gate[2], status = 0, eof = 0;
    pid_t pid;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    l = lb_listen(ctx, url);
    if (ctx->epfd < 0) { ws_ctx_destroy(ctx); lb_done(s); return; }   /* poll() build: no set */
    before = lb_epoll_items(ctx->epfd);
    CHECK(before > 0);
    fd = lb_raw_connect(ws_listener_port(l));
    CHECK(fd >= 0 && pipe(gate) == 0);
    if (fd < 0) { ws_ctx_destroy(ctx); lb_done(s); return; }
    CHECK_EQ(send(fd, req, sizeof req - 1, 0), (long)(sizeof req - 1));
    got[0] = '\0';
    LB_WAIT(ok, ctx, NULL, (lb_raw_closed(fd, got, sizeof got, &len), strstr(got, "\r\n\r\n") != NULL));
    CHECK_EQ(lb_epoll_items(ctx->epfd), before + 1);   /* the server's socket, waiting for frames */
    pid = fork();
    if (pid == 0) {   /* the child: holds every descriptor but the client's until the gate closes */
        char b;
        close(fd); close(gate[1]);
        while (read(gate[0], &b, 1) < 0 && errno == EINTR) {}
        _exit(0);
    }
    close(gate[0]);
    CHECK(pid > 0);
    CHECK_EQ(send(fd, cl, sizeof cl - 1, 0), (long)(sizeof cl - 1));
    len = 0; got[0] = '\0';
    LB_WAIT(ok, ctx, NULL, (eof = lb_raw_closed(fd, got, sizeof got, &len), len >= 4 || eof));
    CHECK_EQ(len, 4);
    CHECK(memcmp(got, "\x88\x02\x03\xe8", 4) == 0);   /* the close reply, though no FIN yet */
    CHECK(!eof);
    LB_WAIT(ok, ctx, NULL, ws_conn_count(ctx) == 0);
    CHECK_EQ(lb_epoll_items(ctx->epfd), before);   /* no watch left on the child's copy */
    CHECK_EQ(send(fd, "x", 1, 0), 1L);   /* wakes a stale watch, if there were one */
    lb_idle(ctx, NULL, 50);
    close(gate[1]);   /* the child goes, the socket's last copy with it: the FIN */
    if (pid > 0) CHECK_EQ(waitpid(pid, &status, 0), pid);
    len = 0;
    LB_WAIT(ok, ctx, NULL, lb_raw_closed(fd, got, sizeof got, &len));
    close(fd);
    ws_ctx_destroy(ctx);
    lb_done(s);
}
#endif

/* ---- the upgrade hook: refusal and subprotocols ---- */

static void test_loopback_refuse_and_protocol(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_conn *c, *srv;
    ws_connect_opts o;
    lb_rec *cr;
    char url[64];
    int ok;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    lb_listen(ctx, url);
    s->refuse = 403;
    c = lb_connect(ctx, url, NULL);
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, cr->closes == 1);
    CHECK_EQ(s->upgrades, 1);
    CHECK_EQ(cr->opens, 0);
    CHECK_EQ(cr->errors, 1);
    CHECK_EQ(cr->err_result, WS_ERR_HANDSHAKE);
    CHECK_EQ(cr->err_http, 403);
    CHECK_EQ(cr->close_http, 403);
    CHECK_EQ(cr->close_result, WS_ERR_HANDSHAKE);
    CHECK_EQ(cr->close_code, WS_CLOSE_ABNORMAL);
    CHECK(s->last_server == NULL);      /* the refused server conn is never seen */
    /* subprotocols: the client offers two, the hook picks the second */
    s->refuse = 0;
    s->pick = "b";
    memset(&o, 0, sizeof o);
    o.protocols = "a, b";
    c = lb_pair(ctx, s, url, &o, &srv);
    if (!c) goto out;
    CHECK_STR(s->offered, "a, b");
    CHECK_STR(ws_conn_protocol(c), "b");
    CHECK_STR(ws_conn_protocol(srv), "b");
    /* no pick: no protocol on either side */
    s->pick = NULL;
    c = lb_pair(ctx, s, url, &o, &srv);
    if (!c) goto out;
    CHECK_STR(ws_conn_protocol(c), "");
    CHECK_STR(ws_conn_protocol(srv), "");
    /* the hook picks one that was not offered: the server answers 500 */
    s->pick = "c";
    c = lb_connect(ctx, url, &o);
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, cr->closes == 1);
    CHECK_EQ(cr->opens, 0);
    CHECK_EQ(cr->close_http, 500);
    CHECK_EQ(cr->close_result, WS_ERR_HANDSHAKE);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* ---- max_conns: the third client gets 503 ---- */

static void test_loopback_conn_limit(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_config cfg;
    ws_conn *a, *b, *c, *srv;
    lb_rec *cr;
    char url[64];
    int ok;
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_conns = 2;
    ctx = lb_ctx(s, &cfg);
    lb_listen(ctx, url);
    a = lb_pair(ctx, s, url, NULL, &srv);
    b = lb_pair(ctx, s, url, NULL, &srv);
    if (!a || !b) goto out;
    c = lb_connect(ctx, url, NULL);
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, cr->closes == 1);
    CHECK_EQ(cr->opens, 0);
    CHECK_EQ(cr->errors, 1);
    CHECK_EQ(cr->err_http, 503);
    CHECK_EQ(cr->close_http, 503);
    CHECK_EQ(cr->close_result, WS_ERR_HANDSHAKE);
    CHECK_EQ(ws_conn_count(ctx), 4);    /* two pairs */
    CHECK_EQ(s->upgrades, 2);
    /* one leaves: there is room again */
    CHECK_EQ(ws_conn_close(a, WS_CLOSE_NORMAL, NULL), WS_OK);
    LB_WAIT(ok, ctx, NULL, ws_conn_count(ctx) == 2);
    c = lb_pair(ctx, s, url, NULL, &srv);
    CHECK(c != NULL);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* ---- backpressure: WS_ERR_FULL while the reader stalls, WS_EV_DRAINED after ---- */

static void test_loopback_backpressure(void) {
    enum { CHUNK = 65536 };
    lb_state *ss = lb_new(), *cs = lb_new();
    ws_ctx *sx = NULL, *cx = NULL;
    ws_config cfg;
    ws_conn *c, *srv;
    lb_rec *cr, *sr;
    uint8_t *chunk = (uint8_t *)malloc(CHUNK);
    size_t total = 0;
    int ok, i, full = 0, drained;
    ws_result rc = WS_OK;
    if (!ss || !cs || !chunk) { free(ss); free(cs); free(chunk); return; }
    lb_fill(chunk, CHUNK, 0, 3);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_send_queue = 4 * CHUNK;
    c = lb_two(ss, cs, &cfg, NULL, &sx, &cx, &srv);
    if (!c) goto out;
    cr = &cs->rec[ws_conn_id(c) % LB_MAXC];
    sr = &ss->rec[ws_conn_id(srv) % LB_MAXC];
    CHECK_EQ(ws_conn_send(srv, WS_OP_BINARY, chunk, 4 * CHUNK + 1), WS_ERR_TOO_BIG);   /* never fits */
    /* the client ctx is not polled: the kernel buffers fill, then the queue */
    for (i = 0; i < 4000; i++) {
        rc = ws_conn_send(srv, WS_OP_BINARY, chunk, CHUNK);
        if (rc != WS_OK) break;
        total += CHUNK;
        CHECK(ws_poll(sx, 0) >= 0);
    }
    CHECK_EQ(rc, WS_ERR_FULL);
    full = rc == WS_ERR_FULL;
    CHECK(ws_conn_queued(srv) > 0);
    CHECK(ws_conn_queued(srv) <= 4 * CHUNK);
    CHECK_EQ(cr->msgs, 0);
    if (!full) goto out;
    /* (DRAINED may have fired while the kernel buffers were still taking bytes) */
    drained = sr->drained;
    /* resume reading: everything arrives and the server hears it drained */
    LB_WAIT(ok, sx, cx, sr->drained > drained && cr->bytes == total);
    CHECK_EQ(ws_conn_queued(srv), 0);
    CHECK_EQ((size_t)cr->msgs * CHUNK, total);
    CHECK_MEM(cr->last, chunk, CHUNK);
    CHECK_EQ(ws_conn_send(srv, WS_OP_BINARY, chunk, CHUNK), WS_OK);
    LB_WAIT(ok, sx, cx, cr->bytes == total + CHUNK);
out:
    ws_ctx_destroy(sx);
    ws_ctx_destroy(cx);
    free(chunk);
    lb_done(ss);
    lb_done(cs);
}

/* ---- a server's sends go out uncopied (one sendmsg); only the unsent rest is queued ---- */

typedef struct lb_ds { int opens, msgs, bad, closes; } lb_ds;
static size_t lb_ds_len(int i) { return 100000 + (size_t)i * 7919; }
static uint8_t lb_ds_byte(int i, size_t j) { return (uint8_t)(j * 31u + (unsigned)i * 7u + (j >> 9)); }
static void lb_ds_event(ws_conn *c, const ws_event *ev, void *user) {
    lb_ds *d = (lb_ds *)user;
    size_t j;
    (void)c;
    if (ev->type == WS_EV_OPEN) d->opens++;
    if (ev->type == WS_EV_CLOSE) d->closes++;
    if (ev->type != WS_EV_MESSAGE) return;
    if (ev->len != lb_ds_len(d->msgs)) d->bad++;
    else for (j = 0; j < ev->len; j++) if (ev->data[j] != lb_ds_byte(d->msgs, j)) { d->bad++; break; }
    d->msgs++;
}
static void test_loopback_direct_send(void) {
    enum { N = 40 };
    lb_state *ss = lb_new();
    lb_ds d;
    ws_ctx *sx = NULL, *cx = NULL;
    ws_config cfg, ccfg;
    ws_conn *c, *srv;
    char url[64];
    uint8_t *buf = (uint8_t *)malloc(lb_ds_len(N));
    int ok, i;
    size_t j;
    if (!ss || !buf) { free(buf); lb_done(ss); return; }
    memset(&d, 0, sizeof d);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_send_queue = (size_t)64 << 20;
    sx = lb_ctx(ss, &cfg);
    memset(&ccfg, 0, sizeof ccfg);
    ccfg.on_event = lb_ds_event;
    ccfg.user = &d;
    cx = ws_ctx_create(&ccfg);
    CHECK(cx != NULL);
    if (!cx) goto out;
    lb_listen(sx, url);
    c = lb_connect(cx, url, NULL);
    CHECK(c != NULL);
    LB_WAIT(ok, sx, cx, d.opens == 1 && ss->last_server);
    if (!ok) goto out;
    srv = ss->last_server;
    /* the client is not polled: the socket fills during these sends, so writes stop at
     * arbitrary points (inside a header too, now and then) and the rest waits in the queue */
    for (i = 0; i < N; i++) {
        for (j = 0; j < lb_ds_len(i); j++) buf[j] = lb_ds_byte(i, j);
        CHECK_EQ(ws_conn_send(srv, WS_OP_BINARY, buf, lb_ds_len(i)), WS_OK);
        if (i % 3 == 0) CHECK(ws_poll(sx, 0) >= 0);
    }
    memset(buf, 0, lb_ds_len(N));   /* the caller's buffer is free once send returns */
    CHECK(ws_conn_queued(srv) > 0);
    LB_WAIT(ok, sx, cx, d.msgs == N);
    CHECK_EQ(d.bad, 0);
    CHECK_EQ(ws_conn_queued(srv), 0);
    CHECK_EQ(ws_conn_close(srv, WS_CLOSE_NORMAL, NULL), WS_OK);
    LB_WAIT(ok, sx, cx, d.closes == 1);
out:
    ws_ctx_destroy(sx);
    if (cx) ws_ctx_destroy(cx);
    free(buf);
    lb_done(ss);
}

/* ---- echoes from inside on_message batch up (one sendmsg per read), in order ---- */

typedef struct lb_eb { int opens, closes, msgs, bad, srv_msgs; uint16_t code; uint8_t *own; } lb_eb;
enum { LB_EB_N = 24, LB_EB_OWN = 20000 };
static size_t lb_eb_len(int i) { return 16384 + (size_t)((i * 40503) % 100000); }
static uint8_t lb_eb_byte(int i, size_t j) { return (uint8_t)(j * 13u + (unsigned)i * 101u + (j >> 11)); }
/* the server: echoes each message; after #1, 5, 9.. a small text (queued), after #2, 6, 10.. a
 * message from its own memory (sent at once: the echoes before it must go first); closes
 * after the last echo */
static void lb_eb_server(ws_conn *c, const ws_event *ev, void *user) {
    lb_eb *d = (lb_eb *)user;
    int i;
    if (ev->type != WS_EV_MESSAGE) return;
    i = d->srv_msgs++;
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, ev->data, ev->len), WS_OK);
    if (i % 4 == 1) CHECK_EQ(ws_conn_send_text(c, "after"), WS_OK);
    if (i % 4 == 2) {
        size_t j;
        for (j = 0; j < LB_EB_OWN; j++) d->own[j] = lb_eb_byte(1000 + i, j);
        CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, d->own, LB_EB_OWN), WS_OK);
        memset(d->own, 0, LB_EB_OWN);   /* the caller's buffer is free once send returns */
    }
    if (i == LB_EB_N - 1) CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, "done"), WS_OK);
}
/* the client: checks that the k-th message is the one expected at k */
static void lb_eb_client(ws_conn *c, const ws_event *ev, void *user) {
    lb_eb *d = (lb_eb *)user;
    int k, i, extra;
    size_t j, n;
    (void)c;
    if (ev->type == WS_EV_OPEN) d->opens++;
    if (ev->type == WS_EV_CLOSE) { d->closes++; d->code = ev->close_code; }
    if (ev->type != WS_EV_MESSAGE) return;
    k = d->msgs++;
    for (i = 0; i < LB_EB_N; i++) {   /* which message comes k-th: echo i, then its extra */
        extra = i % 4 == 1 || i % 4 == 2;
        if (k == 0) { extra = 0; break; }
        if (k == 1 && extra) { extra = 1; break; }
        k -= 1 + extra;
    }
    if (i == LB_EB_N) { d->bad++; return; }
    if (!extra) {
        n = lb_eb_len(i);
        if (ev->opcode != WS_OP_BINARY || ev->len != n) { d->bad++; return; }
        for (j = 0; j < n; j++) if (ev->data[j] != lb_eb_byte(i, j)) { d->bad++; return; }
    } else if (i % 4 == 1) {
        if (ev->opcode != WS_OP_TEXT || ev->len != 5 || memcmp(ev->data, "after", 5)) d->bad++;
    } else {
        if (ev->opcode != WS_OP_BINARY || ev->len != LB_EB_OWN) { d->bad++; return; }
        for (j = 0; j < LB_EB_OWN; j++) if (ev->data[j] != lb_eb_byte(1000 + i, j)) { d->bad++; return; }
    }
}
/* Two contexts of a test's own configs (whose client callback counts opens in *opens), a
 * listener on 127.0.0.1 and a client connected to it, open. NULL = failed (checked). */
static ws_conn *lb_own_pair(const ws_config *scfg, const ws_config *ccfg, const int *opens,
                            ws_ctx **sx, ws_ctx **cx) {
    ws_listener *l = NULL;
    ws_conn *c = NULL;
    char url[64];
    int ok;
    *sx = ws_ctx_create(scfg); *cx = ws_ctx_create(ccfg);
    CHECK(*sx && *cx);
    if (!*sx || !*cx) return NULL;
    CHECK_EQ(ws_listen(*sx, "127.0.0.1", 0, &l), WS_OK);
    if (!l) return NULL;
    snprintf(url, sizeof url, "%s", ws_listener_url(l));
    CHECK_EQ(ws_connect(*cx, url, NULL, NULL, &c), WS_OK);
    if (!c) return NULL;
    LB_WAIT(ok, *sx, *cx, *opens == 1);
    return ok ? c : NULL;
}
static void test_loopback_echo_batch(void) {
    lb_eb sd, cd;
    ws_ctx *sx = NULL, *cx = NULL;
    ws_config scfg, ccfg;
    ws_conn *c = NULL;
    uint8_t *buf = (uint8_t *)malloc(lb_eb_len(0) + 100000);
    int ok, i, round;
    size_t j;
    memset(&sd, 0, sizeof sd); memset(&cd, 0, sizeof cd);
    sd.own = (uint8_t *)malloc(LB_EB_OWN);
    if (!buf || !sd.own) { free(buf); free(sd.own); return; }
    memset(&scfg, 0, sizeof scfg); memset(&ccfg, 0, sizeof ccfg);
    scfg.on_event = lb_eb_server; scfg.user = &sd;
    ccfg.on_event = lb_eb_client; ccfg.user = &cd;
    c = lb_own_pair(&scfg, &ccfg, &cd.opens, &sx, &cx);
    if (!c) goto out;
    /* all messages back to back: the server reads several per read; the client is then left
     * alone while the server works, so its socket fills and writes stop part-way (the rest
     * queued), and only then polled */
    for (i = 0; i < LB_EB_N; i++) {
        for (j = 0; j < lb_eb_len(i); j++) buf[j] = lb_eb_byte(i, j);
        CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, buf, lb_eb_len(i)), WS_OK);
    }
    for (round = 0; round < 200 && sd.srv_msgs < LB_EB_N; round++) {
        CHECK(ws_poll(sx, 5) >= 0);
        if (round % 20 == 19) CHECK(ws_poll(cx, 0) >= 0);   /* the client's queue moves on */
    }
    LB_WAIT(ok, sx, cx, cd.closes == 1);
    CHECK_EQ(sd.srv_msgs, LB_EB_N);
    CHECK_EQ(cd.msgs, LB_EB_N + LB_EB_N / 2);   /* every echo, plus an extra after half */
    CHECK_EQ(cd.bad, 0);
    CHECK_EQ(cd.code, WS_CLOSE_NORMAL);
out:
    if (sx) ws_ctx_destroy(sx);
    if (cx) ws_ctx_destroy(cx);
    free(buf); free(sd.own);
}

/* ---- large reads: 64 KiB frames back to back fill 256 KiB reads, which then go on in the
 * ctx's one large buffer (4 frames + headers at once, as raw TCP reads); echoes intact and
 * in order, and the memory that stays is the pool's ---- */

typedef struct lb_br { int opens, msgs, bad; } lb_br;
enum { LB_BR_N = 24, LB_BR_LEN = 65536 };
static void lb_br_server(ws_conn *c, const ws_event *ev, void *user) {
    (void)user;
    if (ev->type == WS_EV_MESSAGE) CHECK_EQ(ws_conn_send(c, ev->opcode, ev->data, ev->len), WS_OK);
}
static void lb_br_client(ws_conn *c, const ws_event *ev, void *user) {
    lb_br *d = (lb_br *)user;
    size_t j;
    int k;
    (void)c;
    if (ev->type == WS_EV_OPEN) d->opens++;
    if (ev->type != WS_EV_MESSAGE) return;
    k = d->msgs++;
    if (ev->len != LB_BR_LEN) { d->bad++; return; }
    for (j = 0; j < LB_BR_LEN; j++) if (ev->data[j] != lb_eb_byte(k, j)) { d->bad++; return; }
}
static void test_loopback_big_reads(void) {
    lb_br cd;
    ws_ctx *sx = NULL, *cx = NULL;
    ws_config scfg, ccfg;
    ws_conn *c = NULL;
    uint8_t *buf = (uint8_t *)malloc(LB_BR_LEN);
    int ok, i, round, big_seen = 0;
    size_t j;
    memset(&cd, 0, sizeof cd);
    if (!buf) return;
    memset(&scfg, 0, sizeof scfg); memset(&ccfg, 0, sizeof ccfg);
    scfg.on_event = lb_br_server;
    ccfg.on_event = lb_br_client; ccfg.user = &cd;
    c = lb_own_pair(&scfg, &ccfg, &cd.opens, &sx, &cx);
    if (!c) goto out;
    for (i = 0; i < LB_BR_N; i++) {
        for (j = 0; j < LB_BR_LEN; j++) buf[j] = lb_eb_byte(i, j);
        CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, buf, LB_BR_LEN), WS_OK);
    }
    /* the client's queue moves in steps while the server reads what is there */
    for (round = 0; round < 4000 && cd.msgs < LB_BR_N; round++) {
        CHECK(ws_poll(cx, 0) >= 0);
        if (round % 4 == 3) {
            CHECK(ws_poll(sx, 5) >= 0);
            big_seen |= sx->rd_big;
        }
    }
    LB_WAIT(ok, sx, cx, cd.msgs == LB_BR_N);
    CHECK_EQ(cd.bad, 0);
    CHECK(big_seen);   /* a read filled 256 KiB: reads went on in the large buffer */
    CHECK(sx->mem_used <= (size_t)WS_POOL_MAX * WS_POOL_BUF_MAX);   /* the pool and big only */
out:
    if (sx) ws_ctx_destroy(sx);
    if (cx) ws_ctx_destroy(cx);
    free(buf);
}

/* ---- receive buffers give their memory back: a large buffer left holding a few bytes of a
 * frame (here the ctx's 1 MiB read buffer, taken for a read that got 82 bytes, with the pool
 * empty) moves them to a small one, so under a tight max_memory another client's large
 * message is still echoed (the large one is given back first) instead of closed with 1013 ---- */

static void test_loopback_rx_shrink(void) {
    lb_state *ss = lb_new(), *cs = lb_new();
    ws_config scfg;
    ws_ctx *sx = NULL, *cx = NULL;
    ws_conn *a = NULL, *b = NULL, *sa = NULL;
    ws__buf *big = NULL;
    char url[64];
    uint8_t fr[8 + 200], *msg = (uint8_t *)malloc(700000);
    const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
    size_t j;
    int ok;
    lb_rec *ra, *rb;   /* the clients' records (a conn may be freed when it closes) */
    if (!ss || !cs || !msg) { free(msg); lb_done(ss); lb_done(cs); return; }
    memset(&scfg, 0, sizeof scfg);
    scfg.max_memory = 1536 * 1024;   /* the 1 MiB buffer and a 700 KB message do not both fit */
    ss->echo = 1;
    sx = lb_ctx(ss, &scfg);
    cx = lb_ctx(cs, NULL);
    if (!sx || !cx) goto out;
    lb_listen(sx, url);
    a = lb_connect(cx, url, NULL);
    LB_WAIT(ok, sx, cx, a && cs->rec[ws_conn_id(a) % LB_MAXC].opens == 1 && ss->last_server);
    sa = ss->last_server;
    ra = a ? &cs->rec[ws_conn_id(a) % LB_MAXC] : NULL;
    b = lb_connect(cx, url, NULL);
    LB_WAIT(ok, sx, cx, b && cs->rec[ws_conn_id(b) % LB_MAXC].opens == 1 && ss->last_server != sa);
    rb = b ? &cs->rec[ws_conn_id(b) % LB_MAXC] : NULL;
    if (!ok || !sa || !ra || !rb) goto out;
    /* the state: reads are large (rd_big), the ctx's 1 MiB buffer waits in big, the pool is
     * empty (its buffers were given back to the budget) */
    while (sx->npool) ws__buf_free(sx, sx->pool[--sx->npool]);
    CHECK(ws__buf_reserve_f(sx, &big, (size_t)1 << 20, 0, 0));
    ws__buf_put(sx, &big);
    CHECK(sx->big != NULL);
    sx->rd_big = 1;
    /* a's first 82 bytes of a 200-byte binary frame, written on a's socket */
    fr[0] = 0x82; fr[1] = 0x80 | 126; fr[2] = 0; fr[3] = 200;
    memcpy(fr + 4, mask, 4);
    for (j = 0; j < 200; j++) fr[8 + j] = (uint8_t)((j * 7 + 3) ^ mask[j % 4]);
    CHECK_EQ(send(a->fd, (const char *)fr, 82, 0), 82);
    LB_WAIT(ok, sx, NULL, sa->rx && ws__buf_used(sa->rx) == 82);
    if (!ok) goto out;
    CHECK(sa->rx->cap <= WS_POOL_BUF_MAX);   /* was: the 1 MiB buffer, kept for 82 bytes */
    CHECK(sx->big != NULL && sx->big->cap >= ((size_t)1 << 20));   /* back, for reuse or the budget */
    /* b's 700 KB message: its buffer needs the budget that big holds */
    for (j = 0; j < 700000; j++) msg[j] = (uint8_t)(j * 131 + (j >> 9));
    CHECK_EQ(ws_conn_send(b, WS_OP_BINARY, msg, 700000), WS_OK);
    LB_WAIT(ok, sx, cx, rb->msgs == 1 || rb->closes);
    CHECK_EQ(rb->closes, 0);
    CHECK_EQ(rb->last_len, 700000);
    CHECK(rb->last && !memcmp(rb->last, msg, 700000));
    /* the rest of a's frame: its echo is whole */
    if (ra->closes) goto out;
    CHECK_EQ(send(a->fd, (const char *)fr + 82, sizeof fr - 82, 0), (long)(sizeof fr - 82));
    LB_WAIT(ok, sx, cx, ra->msgs == 1 || ra->closes);
    CHECK_EQ(ra->last_len, 200);
    for (j = 0; j < 200 && ra->last; j++)
        if (ra->last[j] != (uint8_t)(j * 7 + 3)) break;
    CHECK_EQ(j, 200);
    CHECK(sx->mem_used <= scfg.max_memory);
out:
    if (sx) ws_ctx_destroy(sx);
    if (cx) ws_ctx_destroy(cx);
    lb_done(ss); lb_done(cs);
    free(msg);
}

/* ---- a send queue that drains past half of max_memory shrinks to what it still holds: a
 * 600 KB message to a client that reads slowly (small socket buffers on both sides) ---- */
#ifndef _WIN32
static void test_loopback_tx_shrink(void) {
    lb_state *ss = lb_new(), *cs = lb_new();
    ws_config scfg;
    ws_ctx *sx = NULL, *cx = NULL;
    ws_conn *c = NULL, *srv = NULL;
    uint8_t *msg = (uint8_t *)malloc(600000);
    size_t j, cap0 = 0, low = 0;
    int sz = 16384;
    int64_t end;
    lb_rec *r;
    if (!ss || !cs || !msg) { free(msg); lb_done(ss); lb_done(cs); return; }
    memset(&scfg, 0, sizeof scfg);
    scfg.max_memory = (size_t)1 << 20;   /* 600 KB queued is past half of it */
    c = lb_two(ss, cs, &scfg, NULL, &sx, &cx, &srv);
    if (!c || !srv) goto out;
    r = &cs->rec[ws_conn_id(c) % LB_MAXC];
    CHECK_EQ(setsockopt(srv->fd, SOL_SOCKET, SO_SNDBUF, (const char *)&sz, sizeof sz), 0);
    CHECK_EQ(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, (const char *)&sz, sizeof sz), 0);
    for (j = 0; j < 600000; j++) msg[j] = (uint8_t)(j * 29 + (j >> 10));
    CHECK_EQ(ws_conn_send(srv, WS_OP_BINARY, msg, 600000), WS_OK);
    CHECK(srv->tx != NULL && ws__buf_used(srv->tx) > 300000);   /* most of it waits in the queue */
    if (!srv->tx) goto out;
    cap0 = low = srv->tx->cap;
    end = lb_ms() + LB_CAP_MS;
    while (r->msgs == 0 && !r->closes && lb_ms() < end) {
        lb_poll(sx, cx);
        if (srv->tx && srv->tx->cap < low) low = srv->tx->cap;
        /* after each write that left bytes waiting: no more than twice what it holds */
        if (srv->tx && sx->mem_used > scfg.max_memory / 2 && srv->tx->cap > 2 * (size_t)WS_BUF_MIN)
            CHECK(srv->tx->cap <= 2 * ws__buf_used(srv->tx));
    }
    CHECK_EQ(r->msgs, 1);
    CHECK_EQ(r->last_len, 600000);
    CHECK(r->last && !memcmp(r->last, msg, 600000));
    CHECK(low <= cap0 / 2);   /* it shrank on the way (was: kept cap0 until empty) */
    CHECK(srv->tx == NULL);
out:
    if (sx) ws_ctx_destroy(sx);
    if (cx) ws_ctx_destroy(cx);
    lb_done(ss); lb_done(cs);
    free(msg);
}
#endif

/* ---- reconnect after a server restart ---- */

static void test_loopback_reconnect(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l;
    ws_conn *c, *srv;
    ws_connect_opts o;
    lb_rec *cr, *sr;
    char url[64];
    uint16_t port;
    uint64_t sid1;
    int ok;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    l = lb_listen(ctx, url);
    port = ws_listener_port(l);
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 50;
    c = lb_pair(ctx, s, url, &o, &srv);
    if (!c) goto out;
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    sid1 = ws_conn_id(srv);
    /* the server goes away: listener closed, its connection dropped */
    ws_listener_close(l);
    ws_conn_drop(srv);
    LB_WAIT(ok, ctx, NULL, cr->closes == 1);
    if (!ok) goto out;
    sr = &s->rec[sid1 % LB_MAXC];
    CHECK_EQ(sr->closes, 1);
    CHECK_EQ(sr->close_code, WS_CLOSE_ABNORMAL);
    CHECK(cr->reconnect_ms > 0);
    CHECK(cr->reconnect_ms <= 50);
    CHECK_EQ(cr->final_closes, 0);
    CHECK_EQ(cr->close_code, WS_CLOSE_ABNORMAL);
    CHECK_EQ(cr->errors, 1);
    CHECK_EQ(cr->err_result, WS_ERR_IO);
    CHECK_EQ(ws_conn_count(ctx), 0);
    if (cr->final_closes) goto out;     /* c is gone */
    CHECK(ws_conn_send_text(c, "nobody") != WS_OK);   /* waiting to reconnect */
    CHECK_EQ(ws_conn_state(c), WS_STATE_CLOSED);
    /* the first retry finds nobody listening: refused, and the delay doubles */
    LB_WAIT(ok, ctx, NULL, cr->closes == 2);
    if (!ok || cr->final_closes) goto out;
    CHECK_EQ(cr->errors, 2);
    CHECK_EQ(cr->err_result, WS_ERR_CONNECT);
    CHECK_EQ(cr->close_result, WS_ERR_CONNECT);
    CHECK(cr->reconnect_ms >= 50 && cr->reconnect_ms <= 100);   /* 50-100 % of 100, at random */
    CHECK_EQ(cr->opens, 1);
    /* it comes back on the same port; the same ws_conn opens again */
    l = NULL;
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", port, &l), WS_OK);
    s->last_server = NULL;
    LB_WAIT(ok, ctx, NULL, cr->opens == 2 && s->last_server);
    if (!ok) goto out;
    CHECK(cr->c == c);
    CHECK(ws_conn_id(s->last_server) != sid1);
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    CHECK_EQ(ws_conn_send_text(c, "back"), WS_OK);
    sr = &s->rec[ws_conn_id(s->last_server) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, sr->msgs == 1);
    CHECK_MEM(sr->last, "back", 4);
    /* a close by the user does not reconnect */
    CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, "bye"), WS_OK);
    LB_WAIT(ok, ctx, NULL, cr->closes == 3 && sr->closes == 1);
    CHECK_EQ(cr->reconnect_ms, 0);
    CHECK_EQ(cr->clean, 1);
    lb_idle(ctx, NULL, 80);
    CHECK_EQ(cr->opens, 2);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* A client waiting to reconnect that is closed (or whose ctx is destroyed) gets a final CLOSE
 * (reconnect_ms 0, WS_ERR_CLOSED): its last CLOSE had promised a retry. */
static void test_loopback_reconnect_cancel(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l;
    ws_conn *c1, *c2;
    ws_connect_opts o;
    lb_rec *r1 = NULL, *r2 = NULL;
    char url[64];
    int ok;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    l = lb_listen(ctx, url);
    ws_listener_close(l);                 /* nobody listens on url now: refused */
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 60000;          /* the retry would be far away */
    c1 = lb_connect(ctx, url, &o);
    c2 = lb_connect(ctx, url, &o);
    if (!c1 || !c2) goto out;
    r1 = &s->rec[ws_conn_id(c1) % LB_MAXC];
    r2 = &s->rec[ws_conn_id(c2) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, r1->closes == 1 && r2->closes == 1);
    if (!ok || r1->final_closes || r2->final_closes) goto out;
    CHECK(r1->reconnect_ms >= 30000 && r1->reconnect_ms <= 60000);
    CHECK_EQ(ws_conn_close(c1, 0, NULL), WS_OK);
    LB_WAIT(ok, ctx, NULL, r1->closes == 2);
    CHECK_EQ(r1->final_closes, 1);
    CHECK_EQ(r1->reconnect_ms, 0);
    CHECK_EQ(r1->close_result, WS_ERR_CLOSED);
    CHECK_EQ(r1->close_code, WS_CLOSE_ABNORMAL);
    CHECK_EQ(r2->final_closes, 0);
    /* a blocking connect with reconnect keeps trying until its timeout, then gives up */
    c1 = NULL;
    CHECK_EQ(ws_connect_blocking(ctx, url, &o, NULL, 1000, &c1), WS_ERR_CONNECT);
    CHECK(c1 == NULL);
out:
    ws_ctx_destroy(ctx);
    if (r2 && r2->closes) { CHECK_EQ(r2->final_closes, 1); CHECK_EQ(r2->closes, 2); CHECK_EQ(r2->after_close, 0); }
    lb_done(s);
}

/* Reconnect delays have a random part (50-100 % of the delay): clients that one server lost
 * do not all dial again in the same millisecond. Six clients refused at once: each waits
 * within its range, and not all the same (equal by chance: about 1 in 30,000^5). */
static void test_loopback_reconnect_jitter(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l;
    ws_conn *c[6];
    ws_connect_opts o;
    char url[64];
    int ok = 1, i, differ = 0;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    l = lb_listen(ctx, url);
    ws_listener_close(l);                 /* nobody listens on url now: refused */
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 60000;
    for (i = 0; i < 6; i++) if (!(c[i] = lb_connect(ctx, url, &o))) goto out;
    for (i = 0; i < 6 && ok; i++) {
        lb_rec *r = &s->rec[ws_conn_id(c[i]) % LB_MAXC];
        LB_WAIT(ok, ctx, NULL, r->closes == 1);
    }
    if (!ok) goto out;
    for (i = 0; i < 6; i++) {
        lb_rec *r = &s->rec[ws_conn_id(c[i]) % LB_MAXC];
        CHECK_EQ(r->final_closes, 0);
        CHECK(r->reconnect_ms >= 30000 && r->reconnect_ms <= 60000);
        if (r->reconnect_ms != s->rec[ws_conn_id(c[0]) % LB_MAXC].reconnect_ms) differ = 1;
    }
    CHECK(differ);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* A long delay (reconnect_max_ms of minutes) is spread over all of its random half too: the
 * random part had 16 bits, so 1,000 s waited 934-1,000 s, never 500-934 s. Sixteen refused
 * clients: some wait below 85 % (all above has odds 0.3^16, 4e-9, with a uniform half). */
static void test_loopback_reconnect_jitter_long(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l;
    ws_conn *c[16];
    ws_connect_opts o;
    char url[64];
    int ok = 1, i, low = 0;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    l = lb_listen(ctx, url);
    ws_listener_close(l);                 /* nobody listens on url now: refused */
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 1000000;
    o.reconnect_max_ms = 1000000;
    for (i = 0; i < 16; i++) if (!(c[i] = lb_connect(ctx, url, &o))) goto out;
    for (i = 0; i < 16 && ok; i++) {
        lb_rec *r = &s->rec[ws_conn_id(c[i]) % LB_MAXC];
        LB_WAIT(ok, ctx, NULL, r->closes == 1);
    }
    if (!ok) goto out;
    for (i = 0; i < 16; i++) {
        lb_rec *r = &s->rec[ws_conn_id(c[i]) % LB_MAXC];
        CHECK(r->reconnect_ms >= 500000 && r->reconnect_ms <= 1000000);
        if (r->reconnect_ms < 850000) low++;
    }
    CHECK(low > 0);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* The back-off of a client whose every attempt is refused (nothing listens on its port):
 * the first n (<= 8) waits it announced (reconnect_ms of each CLOSE) in ms[], all refused
 * with WS_ERR_CONNECT, never opened; then the user closes it (a final CLOSE). 0 = ms[] set. */
static int lb_refused_waits(int delay_ms, int max_ms, int n, int *ms) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l;
    ws_conn *c;
    ws_connect_opts o;
    lb_rec *r;
    char url[64];
    int ok, i, rc = -1;
    if (!s) return -1;
    ctx = lb_ctx(s, NULL);
    l = lb_listen(ctx, url);
    ws_listener_close(l);                 /* every attempt is refused */
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = delay_ms;
    o.reconnect_max_ms = max_ms;
    c = lb_connect(ctx, url, &o);
    if (!c) goto out;
    r = &s->rec[ws_conn_id(c) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, r->closes >= n || r->final_closes);
    CHECK_EQ(r->final_closes, 0);
    CHECK_EQ(r->err_result, WS_ERR_CONNECT);
    CHECK_EQ(r->opens, 0);
    if (ok && !r->final_closes) rc = 0;
    for (i = 0; i < n; i++) ms[i] = r->retry_ms[i];
    CHECK_EQ(ws_conn_close(c, 0, NULL), WS_OK);
    LB_WAIT(ok, ctx, NULL, r->final_closes == 1);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
    return rc;
}

/* reconnect_max_ms below reconnect_delay_ms: the maximum is the delay, so the waits stay
 * 50-100 % of it (they used to drop to 50-100 % of the smaller maximum after the first). */
static void test_loopback_reconnect_max_below_delay(void) {
    int ms[4];
    if (lb_refused_waits(200, 100, 4, ms) != 0) return;
    CHECK(ms[0] >= 100 && ms[0] <= 200);
    CHECK(ms[1] >= 100 && ms[1] <= 200);
    CHECK(ms[2] >= 100 && ms[2] <= 200);
    /* (the old header: 50-100 after the first; all three at exactly 100 here: 1 in 10^6) */
    CHECK(ms[1] + ms[2] + ms[3] > 300);
}

/* ws_conn_drop on a client waiting to reconnect ends it like ws_conn_close does: a final
 * CLOSE, no more attempts. */
static void test_loopback_reconnect_drop(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l;
    ws_conn *c;
    ws_connect_opts o;
    lb_rec *r = NULL;
    char url[64];
    int ok;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    l = lb_listen(ctx, url);
    ws_listener_close(l);                 /* refused */
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 60000;
    c = lb_connect(ctx, url, &o);
    if (!c) goto out;
    r = &s->rec[ws_conn_id(c) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, r->closes == 1);
    if (!ok || r->final_closes) goto out;
    ws_conn_drop(c);
    LB_WAIT(ok, ctx, NULL, r->closes == 2);
    CHECK_EQ(r->final_closes, 1);
    CHECK_EQ(r->reconnect_ms, 0);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* IPv6: listen on ::1, connect to ws://[::1]:port/, echo, the remote address in brackets. */
static void test_loopback_ipv6(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l = NULL;
    ws_conn *c, *srv;
    lb_rec *cr, *sr;
    char url[80], addr[64];
    int ok;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    if (ws_listen(ctx, "::1", 0, &l) != WS_OK) {   /* a host without IPv6 loopback */
        SKIP("no ::1 on this machine (IPv6 loopback disabled)");
        goto out;
    }
    strcpy(url, ws_listener_url(l));
    CHECK(strncmp(url, "ws://[::1]:", 11) == 0);
    c = lb_pair(ctx, s, url, NULL, &srv);
    if (!c) goto out;
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    sr = &s->rec[ws_conn_id(srv) % LB_MAXC];
    CHECK_EQ(ws_conn_remote(srv, addr, sizeof addr, NULL), WS_OK);
    CHECK(strncmp(addr, "[::1]:", 6) == 0);
    CHECK_EQ(ws_conn_remote(c, addr, sizeof addr, NULL), WS_OK);
    CHECK(strncmp(addr, "[::1]:", 6) == 0);
    CHECK_EQ(ws_conn_send_text(c, "over v6"), WS_OK);
    LB_WAIT(ok, ctx, NULL, sr->msgs == 1);
    CHECK_EQ(sr->last_len, 7);
    CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, NULL), WS_OK);
    LB_WAIT(ok, ctx, NULL, cr->closes == 1 && sr->closes == 1);
    CHECK_EQ(cr->clean, 1);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* A 1 MiB message in 64-byte fragments (16,384 frames) arrives whole and intact. */
static void test_loopback_small_fragments(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_conn *c, *srv;
    lb_rec *sr;
    char url[64];
    uint8_t *msg;
    size_t n = (size_t)1 << 20, off;
    int ok;
    if (!s) return;
    msg = (uint8_t *)malloc(n);
    ctx = lb_ctx(s, NULL);
    lb_listen(ctx, url);
    c = lb_pair(ctx, s, url, NULL, &srv);
    if (!c || !msg) goto out;
    sr = &s->rec[ws_conn_id(srv) % LB_MAXC];
    lb_fill(msg, n, 0, 7);
    for (off = 0; off < n; off += 64)
        CHECK_EQ(ws_conn_send_frame(c, off + 64 >= n, 0, off ? WS_OP_CONT : WS_OP_BINARY, msg + off, 64), WS_OK);
    LB_WAIT(ok, ctx, NULL, sr->msgs == 1);
    CHECK_EQ(sr->last_len, n);
    if (sr->last_len == n) CHECK_MEM(sr->last, msg, n);
    CHECK_EQ(sr->errors, 0);
out:
    free(msg);
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* ---- connect errors ---- */

/* The platform's poll over nothing (ws_poll with WS_NO_WAKEUP and no socket open, e.g. a
 * client waiting to reconnect; or its list out of memory) waits and says "nothing ready", as
 * poll() does. WSAPoll refuses an empty set (WSAEINVAL): ws_poll returned WS_ERR_IO at once,
 * without the pass, so a reconnect timer never fired and the caller's loop spun. */
static void test_loopback_poll_empty(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws__ospfd p[1];
    if (!s) return;
    ctx = lb_ctx(s, NULL);   /* (Winsock started) */
    memset(p, 0, sizeof p);
    CHECK_EQ(ws__os_poll(p, 0, 1), 0);
    CHECK_EQ(ws__os_poll(p, 0, 0), 0);
    ws_ctx_destroy(ctx);
    lb_done(s);
}

#ifdef _WIN32
/* Sockets are inheritable by default on Windows: a child started with CreateProcess
 * (bInheritHandles TRUE: system(), _popen) would keep the listening port bound and the peers
 * connected after ws.h closed them. ws.h's sockets are not inherited (POSIX: FD_CLOEXEC).
 * (Wine creates every socket non-inheritable: this can only fail on real Windows.) */
static void test_loopback_sockets_not_inherited(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_conn *c;
    ws_pollfd fds[8];
    char url[64];
    size_t n, i;
    int t, ok;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    (void)lb_listen(ctx, url);
    c = lb_connect(ctx, url, NULL);
    LB_WAIT(ok, ctx, NULL, s->rec[ws_conn_id(c) % LB_MAXC].opens == 1);
    n = ws_pollfds(ctx, fds, 8, &t);   /* wake-up, listener, client, server side */
    CHECK(n >= 4 && n <= 8);
    for (i = 0; i < n && i < 8; i++) {
        DWORD fl = HANDLE_FLAG_INHERIT;
        CHECK(GetHandleInformation((HANDLE)fds[i].fd, &fl));
        CHECK_EQ(fl & HANDLE_FLAG_INHERIT, 0);
    }
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* WSAPoll before Windows 10 2004 never reports a refused connect (no POLLERR/POLLHUP/POLLOUT;
 * Wine's does, so this host loop plays the old one: it never polls the connecting socket).
 * The connection still fails with WS_ERR_CONNECT, long before connect_timeout_ms (ws.h asks
 * a connecting socket with select() too); before, it waited out the whole timeout. */
static void test_loopback_connect_refused_unreported(void) {
    lb_state *s = lb_new();
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener *l;
    ws_conn *c;
    lb_rec *cr;
    char url[64];
    ws_pollfd fds[8];
    WSAPOLLFD pf[8];
    size_t n, i, k, idx[8];
    int t;
    int64_t end;
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.connect_timeout_ms = 2 * LB_CAP_MS;   /* the wait below gives up first */
    ctx = lb_ctx(s, &cfg);
    l = lb_listen(ctx, url);
    ws_listener_close(l);                 /* nobody listens: refused */
    c = lb_connect(ctx, url, NULL);
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    end = lb_ms() + LB_CAP_MS;
    while (cr->closes == 0 && lb_ms() < end) {
        n = ws_pollfds(ctx, fds, 8, &t);
        CHECK(n <= 8);
        for (i = k = 0; i < n && i < 8; i++)   /* not the connecting socket (WS_POLLOUT alone) */
            if (fds[i].events & WS_POLLIN) {
                pf[k].fd = (SOCKET)fds[i].fd; pf[k].events = POLLIN; pf[k].revents = 0; idx[k++] = i;
            }
        if (t < 0 || t > 1000) t = 1000;
        if (k) { if (WSAPoll(pf, (ULONG)k, t) < 0) break; }
        for (i = 0; i < k; i++)
            fds[idx[i]].revents = (short)(pf[i].revents ? WS_POLLIN : 0);
        for (i = 0; i < n && i < 8; i++) if (!(fds[i].events & WS_POLLIN)) fds[i].revents = 0;
        ws_dispatch(ctx, fds, n < 8 ? n : 8);
    }
    CHECK_EQ(cr->closes, 1);
    CHECK_EQ(cr->err_result, WS_ERR_CONNECT);
    CHECK_EQ(cr->close_result, WS_ERR_CONNECT);
    ws_ctx_destroy(ctx);
    lb_done(s);
}
#endif

static void test_loopback_connect_errors(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l;
    ws_conn *c = (ws_conn *)&c;
    lb_rec *cr;
    char url[64];
    int ok;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    /* refused: a port that was just closed */
    l = lb_listen(ctx, url);
    ws_listener_close(l);
    c = lb_connect(ctx, url, NULL);
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    CHECK_EQ(s->events, 0);             /* nothing inside ws_connect */
    LB_WAIT(ok, ctx, NULL, cr->closes == 1);
    if (!ok) goto out;
    CHECK_EQ(cr->errors, 1);
    CHECK_EQ(cr->err_result, WS_ERR_CONNECT);
    CHECK_EQ(cr->close_result, WS_ERR_CONNECT);
    CHECK_EQ(cr->close_code, WS_CLOSE_ABNORMAL);
    CHECK_EQ(cr->opens, 0);
    /* synchronous failures: no conn, no events */
    s->events = 0;
    c = (ws_conn *)&c;
    CHECK_EQ(ws_connect(ctx, "http://127.0.0.1/", NULL, NULL, &c), WS_ERR_URL);
    CHECK(c == NULL);
    CHECK_EQ(ws_connect(ctx, "ws://", NULL, NULL, NULL), WS_ERR_URL);
    CHECK_EQ(ws_connect(ctx, "ws://host:99999/", NULL, NULL, NULL), WS_ERR_URL);
    CHECK_EQ(ws_connect(ctx, "ws://a b/", NULL, NULL, NULL), WS_ERR_URL);
    c = (ws_conn *)&c;
    CHECK_EQ(ws_connect(ctx, "wss://127.0.0.1:1/", NULL, NULL, &c), WS_ERR_TLS);
    CHECK(c == NULL);
    CHECK_EQ(ws_connect(ctx, NULL, NULL, NULL, NULL), WS_ERR_ARG);
    CHECK_EQ(ws_connect_blocking(ctx, "ftp://x/", NULL, NULL, 100, NULL), WS_ERR_URL);
    lb_idle(ctx, NULL, 10);
    CHECK_EQ(s->events, 0);
    /* a host name: resolved on the resolver thread */
    l = lb_listen(ctx, url);
    sprintf(url, "ws://localhost:%u/named", (unsigned)ws_listener_port(l));
    c = lb_connect(ctx, url, NULL);
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, cr->opens == 1 || cr->closes == 1);
    CHECK_EQ(cr->opens, 1);
    CHECK_EQ(cr->errors, 0);
    /* closed by the user before it opened: one CLOSE, no OPEN, no ERROR */
    c = lb_connect(ctx, url, NULL);
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, NULL), WS_OK);
    CHECK_EQ(s->rec[ws_conn_id(c) % LB_MAXC].closes, 0);   /* not inside the call */
    LB_WAIT(ok, ctx, NULL, cr->closes == 1);
    lb_idle(ctx, NULL, 20);
    CHECK_EQ(cr->opens, 0);
    CHECK_EQ(cr->errors, 0);
    CHECK_EQ(cr->closes, 1);
    CHECK_EQ(cr->close_result, WS_ERR_CLOSED);
    /* ws_connect_blocking: open, or the error */
    c = NULL;
    CHECK_EQ(ws_connect_blocking(ctx, ws_listener_url(l), NULL, NULL, LB_CAP_MS, &c), WS_OK);
    CHECK(c != NULL);
    if (c) CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    ws_listener_close(l);
    c = (ws_conn *)&c;
    CHECK_EQ(ws_connect_blocking(ctx, url, NULL, NULL, LB_CAP_MS, &c), WS_ERR_CONNECT);
    CHECK(c == NULL);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

#ifndef _WIN32
/* ---- ws_ctx_wakeup from another thread ---- */

static void *lb_wake_thread(void *arg) {
    struct timespec ts;
    ts.tv_sec = 0;
    ts.tv_nsec = 60 * 1000000L;   /* so that the main thread is inside ws_poll */
    nanosleep(&ts, NULL);
    (void)ws_ctx_wakeup((ws_ctx *)arg);
    return NULL;
}

static void test_loopback_wakeup(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    pthread_t th;
    int64_t t0, dt;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    t0 = lb_ms();
    CHECK_EQ(pthread_create(&th, NULL, lb_wake_thread, ctx), 0);
    CHECK_EQ(ws_poll(ctx, 60000), 0);
    dt = lb_ms() - t0;
    pthread_join(th, NULL);
    CHECK(dt >= 50);                    /* it did wait ... */
    CHECK(dt < 30000);                  /* ... and woke long before its timeout */
    /* a wake-up before the poll: returns at once, and the byte is consumed */
    CHECK_EQ(ws_ctx_wakeup(ctx), WS_OK);
    CHECK_EQ(ws_ctx_wakeup(ctx), WS_OK);
    t0 = lb_ms();
    CHECK_EQ(ws_poll(ctx, 60000), 0);
    CHECK(lb_ms() - t0 < 30000);
    t0 = lb_ms();
    CHECK_EQ(ws_poll(ctx, 40), 0);
    CHECK(lb_ms() - t0 >= 35);
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* ---- a foreign loop: ws_pollfds + poll() + ws_dispatch, never ws_poll ---- */

static void lb_foreign_step(ws_ctx *ctx) {
    ws_pollfd fds[16];
    struct pollfd os[16];
    int t = -1, rc;
    size_t n, i, need;
    need = ws_pollfds(ctx, fds, 1, &t);   /* too small: says how many it needs */
    n = ws_pollfds(ctx, fds, 16, &t);
    CHECK_EQ(need, n);
    CHECK(n >= 1 && n <= 16);
    if (n > 16) n = 16;
    if (t < 0 || t > 10) t = 10;
    for (i = 0; i < n; i++) {
        os[i].fd = (int)fds[i].fd;
        os[i].events = (short)(((fds[i].events & WS_POLLIN) ? POLLIN : 0) | ((fds[i].events & WS_POLLOUT) ? POLLOUT : 0));
        os[i].revents = 0;
    }
    rc = poll(os, (nfds_t)n, t);
    CHECK(rc >= 0);
    for (i = 0; i < n; i++) {
        short r = os[i].revents;
        fds[i].revents = (short)(((r & POLLIN) ? WS_POLLIN : 0) | ((r & POLLOUT) ? WS_POLLOUT : 0) |
                                 ((r & POLLERR) ? WS_POLLERR : 0) | ((r & POLLHUP) ? WS_POLLHUP : 0));
    }
    ws_dispatch(ctx, fds, rc > 0 ? n : 0);
}

#define LB_FWAIT(ok, ctx, cond) do { int64_t lb_end_ = lb_ms() + LB_CAP_MS; (ok) = 1; \
    while (!(cond)) { if (lb_ms() > lb_end_) { (ok) = 0; t_bad = 1; \
        printf("  %s:%d: timed out waiting for %s\n", __FILE__, __LINE__, #cond); break; } \
        lb_foreign_step(ctx); } (void)(ok); } while (0)

static void test_loopback_foreign_loop(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_config cfg;
    ws_conn *c, *srv;
    lb_rec *cr, *sr;
    char url[64];
    uint8_t *big = (uint8_t *)malloc(200000);
    int ok, t = 0;
    size_t n;
    if (!s || !big) { free(s); free(big); return; }
    memset(&cfg, 0, sizeof cfg);
    cfg.ping_interval_ms = 30;          /* timers must fire without ws_poll too */
    s->echo = 1;
    ctx = lb_ctx(s, &cfg);
    n = ws_pollfds(ctx, NULL, 0, &t);
    CHECK_EQ(n, 1);                     /* the wake-up channel */
    CHECK_EQ(t, -1);                    /* nothing to wait for */
    lb_listen(ctx, url);
    c = lb_connect(ctx, url, NULL);
    cr = &s->rec[ws_conn_id(c) % LB_MAXC];
    LB_FWAIT(ok, ctx, cr->opens == 1 && s->last_server);
    if (!ok) goto out;
    srv = s->last_server;
    sr = &s->rec[ws_conn_id(srv) % LB_MAXC];
    lb_fill(big, 200000, 1, 1);
    CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, big, 200000), WS_OK);
    LB_FWAIT(ok, ctx, cr->msgs == 1);
    CHECK_EQ(cr->last_len, 200000);
    if (cr->last_len == 200000) CHECK_MEM(cr->last, big, 200000);
    LB_FWAIT(ok, ctx, cr->pings >= 2 && sr->pongs >= 2);
    /* a timer deadline is reported while pings are due */
    n = ws_pollfds(ctx, NULL, 0, &t);
    CHECK_EQ(n, 4);                     /* wake-up, listener, two conns */
    CHECK(t >= 0 && t <= 30);
    CHECK_EQ(ws_conn_close(srv, 4321, "foreign"), WS_OK);
    LB_FWAIT(ok, ctx, cr->closes == 1 && sr->closes == 1);
    CHECK_EQ(cr->close_code, 4321);
    CHECK_STR(cr->reason, "foreign");
    CHECK_EQ(cr->clean, 1);
    CHECK_EQ(sr->clean, 1);
    LB_FWAIT(ok, ctx, ws_pollfds(ctx, NULL, 0, &t) == 2);   /* both conns are gone */
out:
    ws_ctx_destroy(ctx);
    free(big);
    lb_done(s);
}
#endif

#ifndef _WIN32
/* ws_connect_blocking that times out (a silent server: the TCP connect succeeds, no 101) frees
 * its conn; the next ws_poll must not find it on the pending list. Same for a reconnecting
 * client given up while it waits to retry. */
static void test_loopback_blocking_timeout_then_poll(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_connect_opts o;
    ws_conn *c = (ws_conn *)&c;
    char url[64];
    uint16_t port = 0;
    int fd, i;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    fd = lb_raw_listen(&port);
    CHECK(fd >= 0);
    if (fd < 0) goto out;
    sprintf(url, "ws://127.0.0.1:%u/", (unsigned)port);
    CHECK_EQ(ws_connect_blocking(ctx, url, NULL, NULL, 150, &c), WS_ERR_TIMEOUT);
    CHECK(c == NULL);
    for (i = 0; i < 3; i++) CHECK(ws_poll(ctx, 0) >= 0);
    close(fd);
    /* a refused port with reconnect: given up while WAITING */
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 60000;
    CHECK_EQ(ws_connect_blocking(ctx, url, &o, NULL, 1000, &c), WS_ERR_CONNECT);   /* 1 s: room
                                        for the refusal to arrive however loaded the machine is */
    for (i = 0; i < 3; i++) CHECK(ws_poll(ctx, 0) >= 0);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}
#endif

/* ---- ws_ctx_destroy with connections open: one CLOSE each ---- */

static void test_loopback_destroy_open(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_conn *c, *srv, *pending;
    ws_connect_opts o;
    char url[64];
    uint64_t ids[7];
    int i, ok, n = 0;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    lb_listen(ctx, url);
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    for (i = 0; i < 3; i++) {
        c = lb_pair(ctx, s, url, i == 2 ? &o : NULL, &srv);
        if (!c) goto out;
        ids[n++] = ws_conn_id(c);
        ids[n++] = ws_conn_id(srv);
    }
    CHECK_EQ(ws_conn_send_text(c, "in flight"), WS_OK);
    pending = lb_connect(ctx, url, NULL);   /* still connecting */
    ids[n++] = ws_conn_id(pending);
    CHECK_EQ(ws_conn_count(ctx), 6);
    ws_ctx_destroy(ctx);
    ctx = NULL;
    for (i = 0; i < n; i++) {
        lb_rec *r = &s->rec[ids[i] % LB_MAXC];
        CHECK_EQ(r->closes, 1);
        CHECK_EQ(r->reconnect_ms, 0);
        CHECK_EQ(r->close_state, WS_STATE_CLOSED);
    }
    (void)ok;
out:
    if (ctx) ws_ctx_destroy(ctx);
    lb_done(s);
}

/* ---- promises that had no test ---- */

/* The back-off doubles from reconnect_delay_ms and stops at reconnect_max_ms. */
static void test_loopback_reconnect_backoff_cap(void) {
    int ms[5];
    if (lb_refused_waits(20, 70, 5, ms) != 0) return;
    /* each wait is 50-100 % of the delay, at random (test_loopback_reconnect_jitter) */
    CHECK(ms[0] >= 10 && ms[0] <= 20);
    CHECK(ms[1] >= 20 && ms[1] <= 40);
    CHECK(ms[2] >= 35 && ms[2] <= 70);   /* 80 capped */
    CHECK(ms[3] >= 35 && ms[3] <= 70);
    CHECK(ms[4] >= 35 && ms[4] <= 70);
}

/* A client with ping_interval_ms drops a server that answers nothing (its pongs never come). */
static void test_loopback_client_heartbeat(void) {
    lb_state *ss = lb_new(), *cs = lb_new();
    ws_ctx *sx = NULL, *cx = NULL;
    ws_config scfg, ccfg;
    ws_conn *c, *srv;
    lb_rec *cr, *sr = NULL;
    int ok;
    int64_t t0;
    if (!ss || !cs) { free(ss); free(cs); return; }
    memset(&scfg, 0, sizeof scfg);
    scfg.no_auto_pong = 1;                /* the server sees pings and never answers */
    scfg.ping_interval_ms = -1;
    memset(&ccfg, 0, sizeof ccfg);
    ccfg.ping_interval_ms = 50;
    ccfg.pong_timeout_ms = 300;
    t0 = lb_ms();
    c = lb_two(ss, cs, &scfg, &ccfg, &sx, &cx, &srv);
    if (!c) goto out;
    cr = &cs->rec[ws_conn_id(c) % LB_MAXC];
    sr = &ss->rec[ws_conn_id(srv) % LB_MAXC];
    LB_WAIT(ok, sx, cx, cr->closes == 1 && sr->closes == 1);
    CHECK(lb_ms() - t0 >= 350);           /* not before ping_interval_ms + pong_timeout_ms */
    CHECK(sr->pings >= 1);                /* the client did ping (masked: the server took them) */
    CHECK_EQ(cr->pongs, 0);
    CHECK_EQ(cr->errors, 1);
    CHECK_EQ(cr->err_result, WS_ERR_TIMEOUT);
    CHECK(strstr(cr->err_msg, "pong") != NULL);
    CHECK_EQ(cr->close_result, WS_ERR_TIMEOUT);
    CHECK_EQ(cr->close_code, WS_CLOSE_ABNORMAL);
    CHECK_EQ(cr->clean, 0);
    CHECK_EQ(sr->close_code, WS_CLOSE_ABNORMAL);   /* the server saw the client go */
out:
    ws_ctx_destroy(cx);
    ws_ctx_destroy(sx);
    lb_done(ss);
    lb_done(cs);
}

/* A host name that cannot resolve (.invalid: RFC 6761, fails without asking the network). */
static void test_loopback_dns_failure(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_conn *c;
    ws_listener *l = (ws_listener *)&l;
    lb_rec *r;
    int ok;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    c = lb_connect(ctx, "ws://no-such-host.invalid:9/", NULL);
    if (!c) goto out;
    r = &s->rec[ws_conn_id(c) % LB_MAXC];
    CHECK_EQ(r->closes, 0);               /* nothing inside ws_connect */
    LB_WAIT(ok, ctx, NULL, r->closes == 1);
    CHECK_EQ(r->opens, 0);
    CHECK_EQ(r->errors, 1);
    CHECK_EQ(r->err_result, WS_ERR_DNS);
    CHECK_STR(r->err_msg, "no address found for no-such-host.invalid");   /* names the host */
    CHECK_EQ(r->close_result, WS_ERR_DNS);
    CHECK_EQ(r->close_code, WS_CLOSE_ABNORMAL);
    CHECK_EQ(ws_listen(ctx, "no-such-host.invalid", 0, &l), WS_ERR_DNS);
    CHECK(l == NULL);
    /* ws_connect_blocking's ws_ctx_error names it too (its text outlived the CLOSE event) */
    CHECK_EQ(ws_connect_blocking(ctx, "ws://no-such-host.invalid:9/", NULL, NULL, LB_CAP_MS, NULL), WS_ERR_DNS);
    CHECK(strstr(ws_ctx_error(ctx), "no address found for no-such-host.invalid") != NULL);
out:
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* ws_conn_close on a connecting client whose attempt has already failed (its DNS, recorded,
 * the CLOSE event not out yet: as when another connection's callback in the same pass closes
 * it): the CLOSE event keeps the first error (regression: it said WS_ERR_CLOSED). */
static void test_loopback_close_keeps_error(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_conn *c;
    lb_rec *r;
    int ok;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    c = lb_connect(ctx, "ws://no-such-host.invalid:9/", NULL);
    if (c) {
        r = &s->rec[ws_conn_id(c) % LB_MAXC];
        ws__fail(c, WS_ERR_DNS, "host name lookup failed");   /* internal: what the resolver's result does */
        CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, NULL), WS_OK);
        LB_WAIT(ok, ctx, NULL, r->closes == 1);
        CHECK_EQ(r->errors, 1);
        CHECK_EQ(r->err_result, WS_ERR_DNS);
        CHECK_EQ(r->close_result, WS_ERR_DNS);
        CHECK_EQ(r->close_code, WS_CLOSE_ABNORMAL);
    }
    ws_ctx_destroy(ctx);
    lb_done(s);
}

#ifndef _WIN32
/* The address a listener is bound to, as text ("0.0.0.0", "::", "127.0.0.1"...). */
static const char *lb_bound(const ws_listener *l, char *out, size_t cap) {
    struct sockaddr_storage a;
    socklen_t al = sizeof a;
    out[0] = '\0';
    if (!l || getsockname(l->fd, (struct sockaddr *)&a, &al) != 0) return out;
    if (a.ss_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)&a)->sin_addr, out, (socklen_t)cap);
    else inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a)->sin6_addr, out, (socklen_t)cap);
    return out;
}

/* ws_listen on NULL (all IPv4 interfaces), "::" (all IPv6), a host name, and a port in use. */
static void test_loopback_listen_hosts(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_listener *l = NULL, *l2 = (ws_listener *)&l2;
    ws_conn *c, *srv;
    char url[80], addr[64];
    uint16_t port;
    if (!s) return;
    ctx = lb_ctx(s, NULL);
    CHECK_EQ(ws_listen(ctx, NULL, 0, &l), WS_OK);   /* 0.0.0.0: reached here through 127.0.0.1 */
    CHECK_STR(lb_bound(l, addr, sizeof addr), "0.0.0.0");
    if (l) {
        port = ws_listener_port(l);
        CHECK(port != 0);
        sprintf(url, "ws://127.0.0.1:%u/any", (unsigned)port);
        c = lb_pair(ctx, s, url, NULL, &srv);
        CHECK(c != NULL);
        /* the same port again: in use */
        CHECK_EQ(ws_listen(ctx, NULL, port, &l2), WS_ERR_ADDR_IN_USE);
        CHECK(l2 == NULL);
        l2 = (ws_listener *)&l2;
        CHECK_EQ(ws_listen(ctx, "127.0.0.1", port, &l2), WS_ERR_ADDR_IN_USE);
        CHECK(l2 == NULL);
    }
    l = NULL;
    CHECK_EQ(ws_listen(ctx, "localhost", 0, &l), WS_OK);   /* a name, resolved here */
    lb_bound(l, addr, sizeof addr);
    CHECK(strcmp(addr, "127.0.0.1") == 0 || strcmp(addr, "::1") == 0);
    if (l) {
        CHECK(strncmp(ws_listener_url(l), "ws://127.0.0.1:", 15) == 0 ||
              strncmp(ws_listener_url(l), "ws://[::1]:", 11) == 0);
        c = lb_pair(ctx, s, ws_listener_url(l), NULL, &srv);
        CHECK(c != NULL);
    }
    l = NULL;
    if (ws_listen(ctx, "::1", 0, &l) != WS_OK) {
        SKIP("the \"::\" case: no ::1 on this machine (IPv6 loopback disabled)");
    } else {
        ws_listener_close(l);
        l = NULL;
        CHECK_EQ(ws_listen(ctx, "::", 0, &l), WS_OK);       /* all IPv6 interfaces */
        CHECK_STR(lb_bound(l, addr, sizeof addr), "::");
        if (l) {
            sprintf(url, "ws://[::1]:%u/v6", (unsigned)ws_listener_port(l));
            c = lb_pair(ctx, s, url, NULL, &srv);
            CHECK(c != NULL);
        }
    }
    ws_ctx_destroy(ctx);
    lb_done(s);
}
#endif

/* Replies queued inside callbacks go out in one send() per batch: the client's ten messages
 * sent from its OPEN callback, and the server's ten echoes of them. Counted by a transport
 * that wraps plain TCP. */
static int lb_bw_writes[2], lb_bw_reads[2], lb_bw_msgs[2], lb_bw_open, lb_bw_base;
static void *lb_bw_srv_sock;   /* the server conn's io (its socket): which side a call is for */
static ws_result lb_count_read(void *io, uint8_t *buf, size_t cap, size_t *got) {
    ws_result rc = (ws_io_tcp()->read)(io, buf, cap, got);
    if (rc == WS_OK) lb_bw_reads[io == lb_bw_srv_sock]++;
    return rc;
}
static ws_result lb_count_write(void *io, const uint8_t *buf, size_t len, size_t *put) {
    lb_bw_writes[io == lb_bw_srv_sock]++;
    return (ws_io_tcp()->write)(io, buf, len, put);
}
static ws_io lb_count_io;
static void lb_batch_event(ws_conn *c, const ws_event *ev, void *user) {
    int srv = ws_conn_is_server(c), i;
    char m[32];
    (void)user;
    if (ev->type == WS_EV_OPEN) {
        CHECK(c->io == ws_io_tcp());
        if (srv) lb_bw_srv_sock = c->io_arg;
        c->io = &lb_count_io;   /* the same socket (io_arg), counted */
        if (!srv) {
            lb_bw_open = 1;
            for (i = 0; i < 10; i++) { sprintf(m, "batch %d", i); CHECK_EQ(ws_conn_send_text(c, m), WS_OK); }
        }
    }
    if (ev->type == WS_EV_MESSAGE) {
        if (srv && !lb_bw_msgs[srv]) lb_bw_base = lb_bw_writes[1];   /* the 101 went before */
        lb_bw_msgs[srv]++;
        if (srv) CHECK_EQ(ws_conn_send(c, ev->opcode, ev->data, ev->len), WS_OK);
    }
}
static void test_loopback_send_batching(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener *l = NULL;
    ws_conn *c = NULL;
    int ok;
    lb_count_io = *ws_io_tcp();
    lb_count_io.read = lb_count_read;
    lb_count_io.write = lb_count_write;
    memset(lb_bw_writes, 0, sizeof lb_bw_writes);
    memset(lb_bw_reads, 0, sizeof lb_bw_reads);
    memset(lb_bw_msgs, 0, sizeof lb_bw_msgs);
    lb_bw_open = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = lb_batch_event;
    ctx = ws_ctx_create(&cfg);
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l), WS_OK);
    if (!l) goto out;
    CHECK_EQ(ws_connect(ctx, ws_listener_url(l), NULL, NULL, &c), WS_OK);
    LB_WAIT(ok, ctx, NULL, lb_bw_msgs[0] == 10);
    if (!ok) goto out;
    CHECK_EQ(lb_bw_msgs[1], 10);
    CHECK_EQ(lb_bw_writes[0], 1);         /* ten messages from one callback: one send() */
    CHECK(lb_bw_reads[1] >= 1);
    /* echoes: one send() per read that brought messages (one read, unless TCP split them) */
    CHECK(lb_bw_writes[1] - lb_bw_base >= 1);
    CHECK(lb_bw_writes[1] - lb_bw_base <= lb_bw_reads[1]);
    if (lb_bw_writes[1] - lb_bw_base > lb_bw_reads[1] || lb_bw_writes[0] != 1)
        printf("  client %d send(), server %d recv() %d send()\n", lb_bw_writes[0], lb_bw_reads[1],
               lb_bw_writes[1] - lb_bw_base);
out:
    ws_ctx_destroy(ctx);
}

#ifndef _WIN32
/* connect_timeout_ms: a listener whose accept queue is full drops SYNs, so the TCP connect
 * neither succeeds nor fails: the client gives up after connect_timeout_ms. */
static void test_loopback_connect_timeout(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_config cfg;
    ws_conn *c;
    lb_rec *r;
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int lfd, fill[4], i, ok, nfill = 0;
    int64_t t0;
    char url[64];
    for (i = 0; i < 4; i++) fill[i] = -1;
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.connect_timeout_ms = 300;
    ctx = lb_ctx(s, &cfg);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 0) == 0 &&
          getsockname(lfd, (struct sockaddr *)&a, &al) == 0);
    /* fill the accept queue (never accepted): connect until one stays pending */
    for (i = 0; i < 4; i++) {
        struct pollfd p;
        fill[i] = socket(AF_INET, SOCK_STREAM, 0);
        (void)ws__sock_nonblock(fill[i]);
        (void)connect(fill[i], (struct sockaddr *)&a, sizeof a);
        p.fd = fill[i]; p.events = POLLOUT; p.revents = 0;
        nfill++;
        /* the first one must get in (the queue is empty: a hang guard only); a later one that
         * hangs for 1 s has found the queue full (a slow one just means one more round) */
        if (poll(&p, 1, i == 0 ? 30000 : 1000) == 0) break;
    }
    CHECK(i >= 1 && i < 4);
    if (i == 4) { SKIP("could not fill a listen queue on this system"); goto out; }
    sprintf(url, "ws://127.0.0.1:%u/", (unsigned)ntohs(a.sin_port));
    t0 = lb_ms();
    c = lb_connect(ctx, url, NULL);
    if (!c) goto out;
    r = &s->rec[ws_conn_id(c) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, r->closes == 1);
    CHECK(lb_ms() - t0 >= 300);           /* not before connect_timeout_ms */
    CHECK_EQ(r->opens, 0);
    CHECK_EQ(r->errors, 1);
    CHECK_EQ(r->err_result, WS_ERR_TIMEOUT);
    CHECK(strstr(r->err_msg, "connect") != NULL);
    if (!strstr(r->err_msg, "connect")) printf("  error: %s\n", r->err_msg);
    CHECK_EQ(r->close_code, WS_CLOSE_ABNORMAL);
out:
    for (i = 0; i < nfill; i++) close(fill[i]);
    if (lfd >= 0) close(lfd);
    ws_ctx_destroy(ctx);
    lb_done(s);
}
#endif

#if !defined(_WIN32) && !defined(WS_NO_THREADS)
/* The next-address tests' set-up: a listener on 127.0.0.2 whose accept queue is full (it drops
 * SYNs silently), ws.h's on 127.0.0.3 on the same port, and the resolver's answer for
 * 127.0.0.2 (once per socket type) with every entry after the first made 127.0.0.3: *res
 * (the caller's). 0 = ready; else skipped or failed (said), *res NULL. lb_silent_close after. */
typedef struct lb_silent { int lfd, fill[4], nfill; char port[8]; } lb_silent;
static int lb_silent_open(lb_silent *z, ws_ctx *ctx, struct addrinfo **res) {
    ws_listener *l = NULL;
    struct sockaddr_in a;
    struct addrinfo hints, *ai;
    socklen_t al = sizeof a;
    int i, naddr = 0;
    *res = NULL;
    z->nfill = 0;
    for (i = 0; i < 4; i++) z->fill[i] = -1;
    z->lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7F000002);   /* 127.0.0.2 */
    CHECK(z->lfd >= 0 && bind(z->lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(z->lfd, 0) == 0 &&
          getsockname(z->lfd, (struct sockaddr *)&a, &al) == 0);
    for (i = 0; i < 4; i++) {   /* the accept queue filled (as in test_loopback_connect_timeout) */
        struct pollfd p;
        z->fill[i] = socket(AF_INET, SOCK_STREAM, 0);
        (void)ws__sock_nonblock(z->fill[i]);
        (void)connect(z->fill[i], (struct sockaddr *)&a, sizeof a);
        p.fd = z->fill[i]; p.events = POLLOUT; p.revents = 0;
        z->nfill++;
        if (poll(&p, 1, i == 0 ? 30000 : 1000) == 0) break;
    }
    CHECK(i >= 1 && i < 4);
    if (i == 4) { SKIP("could not fill a listen queue on this system"); return -1; }
    CHECK_EQ(ws_listen(ctx, "127.0.0.3", ntohs(a.sin_port), &l), WS_OK);
    if (!l) return -1;
    sprintf(z->port, "%u", (unsigned)ntohs(a.sin_port));
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    CHECK(getaddrinfo("127.0.0.2", z->port, &hints, res) == 0 && *res);
    for (ai = *res; ai; ai = ai->ai_next, naddr++)
        if (naddr) ((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr.s_addr = htonl(0x7F000003);
    CHECK(naddr >= 2);
    if (naddr < 2) { if (*res) freeaddrinfo(*res); *res = NULL; return -1; }
    return 0;
}
static void lb_silent_close(lb_silent *z) {
    int i;
    for (i = 0; i < z->nfill; i++) close(z->fill[i]);
    if (z->lfd >= 0) close(z->lfd);
}

/* A host name with several addresses, the first of which drops SYNs silently (a listener on
 * 127.0.0.2 whose accept queue is full), the second serving (ws.h's on 127.0.0.3, same port):
 * the attempt on the first ends after its share of connect_timeout_ms (half: see
 * ws__client_try) and the connection opens on the second, well inside connect_timeout_ms (which
 * alone used to go to the first address: the connection failed with WS_ERR_TIMEOUT). The
 * address list is the resolver's answer, given in its place (no name resolves that way here):
 * getaddrinfo of 127.0.0.2 lists it once per socket type, the later entries are made 127.0.0.3. */
static void test_loopback_connect_next_address(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_config cfg;
    ws_conn *c;
    lb_rec *r;
    lb_silent z;
    struct addrinfo *res = NULL;
    int ok;
    char url[64], addr[64];
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.connect_timeout_ms = 6000;   /* 3 s for the silent address, 3 s for the next */
    ctx = lb_ctx(s, &cfg);
    if (lb_silent_open(&z, ctx, &res) != 0) goto out;
    sprintf(url, "ws://localhost:%s/", z.port);
    c = lb_connect(ctx, url, NULL);   /* a name: resolved on a thread, whose answer is replaced */
    if (!c) { freeaddrinfo(res); goto out; }
    CHECK_EQ(c->state, WS__RESOLVING);
    ws__dns_release(c);
    ws__client_resolved(c, 0, res);   /* takes res */
    CHECK_EQ(c->state, WS__CONNECTING);
    r = &s->rec[ws_conn_id(c) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, r->opens == 1 || r->closes > 0);
    CHECK_EQ(r->opens, 1);
    CHECK_EQ(r->errors, 0);
    if (r->errors) printf("  error: %s\n", r->err_msg);
    if (r->opens) {
        CHECK_EQ(ws_conn_remote(c, addr, sizeof addr, NULL), WS_OK);
        CHECK(strncmp(addr, "127.0.0.3:", 10) == 0);
        CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, NULL), WS_OK);
        LB_WAIT(ok, ctx, NULL, r->closes == 1);
    }
out:
    lb_silent_close(&z);
    ws_ctx_destroy(ctx);
    lb_done(s);
}
#endif

#if !defined(_WIN32) && !defined(WS_NO_THREADS) && !defined(WS_NO_TIMERS)
/* ws_connect_blocking's timer: the resolver's answer for its conn replaced by lb_swap's list
 * (the first pass runs timers before it looks at the resolver) */
typedef struct lb_swap { struct addrinfo *res; int done; } lb_swap;
static void lb_swap_answer(ws_ctx *ctx, void *arg) {
    lb_swap *w = (lb_swap *)arg;
    ws_conn *c = ctx->hold;
    CHECK(c && c->state == WS__RESOLVING);
    if (!c || c->state != WS__RESOLVING) return;
    ws__dns_release(c);
    ws__client_resolved(c, 0, w->res);   /* takes res */
    w->res = NULL;
    w->done = 1;
}
/* As test_loopback_connect_next_address, through ws_connect_blocking with a timeout (4 s) well
 * below connect_timeout_ms (60 s): the first address's share is half of what the call has, not
 * of connect_timeout_ms (30 s: the call gave up on the first address with WS_ERR_TIMEOUT). */
static void test_loopback_blocking_next_address(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_config cfg;
    ws_conn *c = NULL;
    lb_rec *r;
    lb_swap w;
    lb_silent z;
    int ok;
    char url[64], addr[64];
    ws_result rc;
    memset(&w, 0, sizeof w);
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.connect_timeout_ms = 60000;
    ctx = lb_ctx(s, &cfg);
    if (lb_silent_open(&z, ctx, &w.res) != 0) goto out;
    CHECK_EQ(ws_timer_start(ctx, 0, 0, lb_swap_answer, &w, NULL), WS_OK);
    sprintf(url, "ws://localhost:%s/", z.port);
    rc = ws_connect_blocking(ctx, url, NULL, NULL, 4000, &c);
    CHECK_EQ(w.done, 1);
    CHECK_EQ(rc, WS_OK);
    if (rc != WS_OK) printf("  error: %s\n", ws_ctx_error(ctx));
    if (rc == WS_OK && c) {
        r = &s->rec[ws_conn_id(c) % LB_MAXC];
        CHECK_EQ(ws_conn_remote(c, addr, sizeof addr, NULL), WS_OK);
        CHECK(strncmp(addr, "127.0.0.3:", 10) == 0);
        CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, NULL), WS_OK);
        LB_WAIT(ok, ctx, NULL, r->closes == 1);
    }
out:
    if (w.res) freeaddrinfo(w.res);
    lb_silent_close(&z);
    ws_ctx_destroy(ctx);
    lb_done(s);
}
#endif

/* RFC 8305 section 4: ws__ai_mix interleaves the resolver's answer by family (from the first
 * address's), each family keeping its order, on a hand-built list (fam: '6' or '4' per node). */
static void lb_mix_check(const char *fam, const char *want) {
    struct addrinfo n[8], *head = NULL;
    char got[9];
    size_t i, k = strlen(fam);
    memset(n, 0, sizeof n);
    for (i = 0; i < k; i++) {
        n[i].ai_family = fam[i] == '6' ? AF_INET6 : AF_INET;
        n[i].ai_protocol = (int)i;   /* the node's place in the answer */
        n[i].ai_next = i + 1 < k ? &n[i + 1] : NULL;
    }
    head = &n[0];
    CHECK_EQ(ws__ai_mix(&head), 0);
    for (i = 0; head && i < 8; head = head->ai_next, i++)
        got[i] = head->ai_family == AF_INET6 ? '6' : '4';
    got[i] = '\0';
    CHECK(strcmp(got, want) == 0);
    if (strcmp(got, want) != 0) printf("  %s -> %s, not %s\n", fam, got, want);
}
static void test_loopback_address_interleave(void) {
    struct addrinfo n[5], *head = &n[0], *a;
    int i, order[5], want[5] = {0, 3, 1, 4, 2};
    lb_mix_check("66644", "64646");
    lb_mix_check("446", "464");
    lb_mix_check("6444", "6444");
    lb_mix_check("4", "4");
    lb_mix_check("666", "666");
    lb_mix_check("44", "44");
    lb_mix_check("4646", "4646");
    lb_mix_check("6446", "6464");
    /* each family in its own order: 6a 6b 6c 4a 4b -> 6a 4a 6b 4b 6c, and every node once */
    memset(n, 0, sizeof n);
    for (i = 0; i < 5; i++) {
        n[i].ai_family = i < 3 ? AF_INET6 : AF_INET;
        n[i].ai_protocol = i;
        n[i].ai_next = i < 4 ? &n[i + 1] : NULL;
    }
    CHECK_EQ(ws__ai_mix(&head), 0);
    for (i = 0, a = head; a && i < 5; a = a->ai_next, i++) order[i] = a->ai_protocol;
    CHECK_EQ(i, 5);
    CHECK(a == NULL);
    for (i = 0; i < 5; i++) CHECK_EQ(order[i], want[i]);
}

static void suite_loopback(void) {
    RUN(test_loopback_echo_sizes);
    RUN(test_loopback_idle_conn);
    RUN(test_loopback_many_clients);
    RUN(test_loopback_fragments);
    RUN(test_loopback_fragments_cfg);
    RUN(test_loopback_ping_pong);
    RUN(test_loopback_close_both_ways);
    RUN(test_loopback_heartbeat_timeout);
    RUN_POSIX(test_loopback_handshake_timeout, "raw POSIX sockets as a silent peer");
    RUN_POSIX(test_loopback_raw_close_reply, "raw POSIX sockets as the client");
    RUN_POSIX(test_loopback_accept_burst, "raw POSIX sockets as the clients");
#ifdef __linux__
    RUN(test_loopback_fork_shared_socket);
#endif
    RUN_POSIX(test_loopback_connect_edge, "raw POSIX sockets as a silent peer");
    RUN_POSIX(test_loopback_half_close, "raw POSIX sockets as the peer");
    RUN_POSIX(test_loopback_drop_in_on_http, "raw POSIX sockets as the peer");
    RUN(test_loopback_refuse_and_protocol);
    RUN(test_loopback_conn_limit);
    RUN(test_loopback_backpressure);
    RUN(test_loopback_direct_send);
    RUN(test_loopback_echo_batch);
    RUN(test_loopback_big_reads);
    RUN(test_loopback_rx_shrink);
    RUN_POSIX(test_loopback_tx_shrink, "SO_SNDBUF / SO_RCVBUF as Linux sizes them");
    RUN(test_loopback_reconnect);
    RUN(test_loopback_reconnect_cancel);
    RUN(test_loopback_reconnect_jitter);
    RUN(test_loopback_reconnect_max_below_delay);
    RUN(test_loopback_reconnect_jitter_long);
    RUN(test_loopback_reconnect_drop);
    RUN(test_loopback_ipv6);
    RUN(test_loopback_small_fragments);
    RUN(test_loopback_connect_errors);
    RUN(test_loopback_address_interleave);
    RUN(test_loopback_poll_empty);
#ifdef _WIN32
    RUN(test_loopback_connect_refused_unreported);
    RUN(test_loopback_sockets_not_inherited);
#endif
    RUN_POSIX(test_loopback_wakeup, "pthreads");
    RUN_POSIX(test_loopback_foreign_loop, "POSIX poll() as the host loop");
    RUN_POSIX(test_loopback_blocking_timeout_then_poll, "raw POSIX sockets as a silent peer");
    RUN(test_loopback_destroy_open);
    RUN(test_loopback_reconnect_backoff_cap);
    RUN(test_loopback_client_heartbeat);
    RUN(test_loopback_dns_failure);
    RUN(test_loopback_close_keeps_error);
    RUN(test_loopback_send_batching);
#ifndef _WIN32
    RUN(test_loopback_listen_hosts);
    RUN(test_loopback_connect_timeout);
#ifndef WS_NO_THREADS
    RUN(test_loopback_connect_next_address);
#endif
#if !defined(_WIN32) && !defined(WS_NO_THREADS) && !defined(WS_NO_TIMERS)
    RUN(test_loopback_blocking_next_address);
#endif
#endif
}
