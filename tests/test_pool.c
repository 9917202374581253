/* test_pool.c - fixed memory: the server's ws_ctx allocates from a capped pool (WS_MALLOC with
 * the ctx's user pointer, as firmware points it at a static pool of a few KB; WS_BUF_MIN 512),
 * the client's has no cap. Measures the RAM a connection takes (printed for the README), then
 * runs the pool dry: a send fails with WS_ERR_NOMEM (named), a message that no longer fits closes
 * the connection with 1011 (not a silent TCP drop), a new connection gets HTTP 503 or is closed
 * at once, and the server keeps serving once memory is back. Ends "N passed, N failed".
 *   make test-pool */
#include <stddef.h>   /* (ws.h before any libc header: see its top) */
typedef struct tp_pool { size_t cap, used, peak; unsigned fails; } tp_pool;
static void *tp_alloc(size_t n, void *u);
static void *tp_realloc(void *p, size_t n, void *u);
static void  tp_free(void *p, void *u);
#define WS_MALLOC(sz, u)     tp_alloc(sz, u)
#define WS_REALLOC(p, sz, u) tp_realloc(p, sz, u)
#define WS_FREE(p, u)        tp_free(p, u)
#define WS_BUF_MIN 512
#define WS_POOL_MAX 2
#define WS_IMPLEMENTATION
#include "../ws.h"
#include "test.h"   /* stdlib.h, string.h, stdio.h */

/* Each block carries its size; a NULL u (the resolver) is not counted. */
typedef union tp_hdr { size_t n; long double align_; void *p_; } tp_hdr;
static void *tp_alloc(size_t n, void *u) {
    tp_pool *p = (tp_pool *)u;
    tp_hdr *h;
    if (p && p->used + n > p->cap) { p->fails++; return NULL; }
    h = (tp_hdr *)malloc(sizeof *h + n);
    if (!h) return NULL;
    h->n = n;
    if (p) { p->used += n; if (p->used > p->peak) p->peak = p->used; }
    return h + 1;
}
static void tp_free(void *q, void *u) {
    tp_pool *p = (tp_pool *)u;
    tp_hdr *h;
    if (!q) return;
    h = (tp_hdr *)q - 1;
    if (p) p->used -= h->n;
    free(h);
}
static void *tp_realloc(void *q, size_t n, void *u) {
    void *r;
    if (!q) return tp_alloc(n, u);
    r = tp_alloc(n, u);
    if (!r) return NULL;
    memcpy(r, q, WS__MIN(n, ((tp_hdr *)q - 1)->n));
    tp_free(q, u);
    return r;
}

/* ---- one server (capped) and clients (uncapped) on 127.0.0.1 ---- */
typedef struct tp_side {
    tp_pool pool;              /* first: the ctx's user pointer is this struct */
    int opens, msgs, closes, errors, http_status;
    unsigned close_code;
    ws_conn *last;
} tp_side;
static tp_side tp_srv, tp_cli;

static void tp_on_event(ws_conn *c, const ws_event *ev, void *user) {
    tp_side *s = (tp_side *)user;
    switch (ev->type) {
    case WS_EV_OPEN: s->opens++; s->last = c; break;
    case WS_EV_MESSAGE: s->msgs++; break;
    case WS_EV_ERROR: s->errors++; if (ev->http_status) s->http_status = ev->http_status; break;
    case WS_EV_CLOSE: s->closes++; s->close_code = ev->close_code; break;
    default: break;
    }
}
static ws_ctx *tp_sctx, *tp_cctx;
static void tp_spin(const int *what, int want) {
    int i;
    for (i = 0; i < 2000 && *what < want; i++) { (void)ws_poll(tp_sctx, 2); (void)ws_poll(tp_cctx, 2); }
}

static void test_pool_ram_and_exhaustion(void) {
    ws_config sc, cc;
    ws_listener *l = NULL;
    ws_conn *a = NULL, *b = NULL;
    size_t fixed, idle1, idle2, per_conn;
    static uint8_t big[64 * 1024];
    ws_result rc;
    int i, closes;
    memset(&sc, 0, sizeof sc);
    memset(&cc, 0, sizeof cc);
    sc.on_event = cc.on_event = tp_on_event;
    sc.user = &tp_srv;
    cc.user = &tp_cli;
    sc.max_message = 2048;
    tp_srv.pool.cap = 1 << 20;
    tp_cli.pool.cap = (size_t)1 << 30;
    tp_sctx = ws_ctx_create(&sc);
    tp_cctx = ws_ctx_create(&cc);
    CHECK(tp_sctx && tp_cctx);
    if (!tp_sctx || !tp_cctx) return;
    CHECK_EQ(ws_listen(tp_sctx, "127.0.0.1", 0, &l), WS_OK);
    fixed = tp_srv.pool.used;
    CHECK_EQ(ws_connect(tp_cctx, ws_listener_url(l), NULL, NULL, &a), WS_OK);
    tp_spin(&tp_srv.opens, 1);
    tp_spin(&tp_cli.opens, 1);
    for (i = 0; i < 20; i++) { (void)ws_poll(tp_sctx, 1); (void)ws_poll(tp_cctx, 1); }
    idle1 = tp_srv.pool.used;
    /* 16 more: the average (a table that doubles, or the buffer pool that fills up to
     * WS_POOL_MAX, would make one connection's difference misleading) */
    for (i = 0; i < 16; i++) CHECK_EQ(ws_connect(tp_cctx, ws_listener_url(l), NULL, NULL, &b), WS_OK);
    tp_spin(&tp_srv.opens, 17);
    for (i = 0; i < 20; i++) { (void)ws_poll(tp_sctx, 1); (void)ws_poll(tp_cctx, 1); }
    idle2 = tp_srv.pool.used;
    per_conn = (idle2 - idle1) / 16;
    printf("  RAM (server ctx, WS_BUF_MIN 512): ctx + listener %lu B, idle connection %lu B, "
           "peak so far %lu B\n", (unsigned long)fixed, (unsigned long)per_conn,
           (unsigned long)tp_srv.pool.peak);
    CHECK(per_conn > 0 && per_conn < 2048);

    /* the pool is full: a send that needs memory fails with a named error. (A server's send
     * on plain TCP may need none: it goes out in one sendmsg, uncopied. A client's is masked
     * into its queue, so the client's pool is the one that runs dry here.) */
    tp_srv.pool.cap = tp_srv.pool.used;
    tp_cli.pool.cap = tp_cli.pool.used;
    rc = ws_conn_send(b, WS_OP_BINARY, big, sizeof big);   /* more than any buffer it holds */
    CHECK_EQ(rc, WS_ERR_NOMEM);
    CHECK_STR(ws_result_str(rc), "out of memory");
    tp_cli.pool.cap = (size_t)1 << 30;

    /* a message that no longer fits: the server closes with 1011, the client is told */
    CHECK_EQ(ws_conn_send(b, WS_OP_BINARY, big, 1800), WS_OK);
    tp_spin(&tp_cli.closes, 1);
    CHECK_EQ(tp_cli.closes, 1);
    CHECK_EQ(tp_cli.close_code, 1011);
    CHECK(tp_srv.pool.fails > 0);

    /* no room for another connection: HTTP 503, not a silent drop */
    {
        ws_conn *d = NULL;
        tp_cli.errors = tp_cli.http_status = 0;
        closes = tp_cli.closes;
        tp_srv.pool.cap = tp_srv.pool.used;
        CHECK_EQ(ws_connect(tp_cctx, ws_listener_url(l), NULL, NULL, &d), WS_OK);
        tp_spin(&tp_cli.closes, closes + 1);
        CHECK_EQ(tp_cli.closes, closes + 1);
        CHECK_EQ(tp_cli.http_status, 503);
    }

    /* room again: the other connection still works */
    tp_srv.pool.cap = 1 << 20;
    CHECK_EQ(ws_conn_send(a, WS_OP_TEXT, "still here", 10), WS_OK);
    tp_spin(&tp_srv.msgs, 1);
    CHECK_EQ(tp_srv.msgs, 1);
    ws_ctx_destroy(tp_cctx);
    ws_ctx_destroy(tp_sctx);
    CHECK_EQ(tp_srv.pool.used, 0);   /* everything went back */
}

int main(int argc, char **argv) {
    t_only = argc > 1 ? argv[1] : NULL;
    RUN(test_pool_ram_and_exhaustion);
    return t_summary();
}
