/* test_lwip.c - ws.h's socket layer over a real lwIP stack, not the kernel's: Debian's
 * liblwip-dev (lwIP's Unix port, NO_SYS=0, lwip_poll) started in this process with one netif
 * that owns 127.0.0.1 (lwIP then loops the traffic back itself). A ws.h server and client in one
 * ws_ctx built with WS_LWIP: handshake, echo of 0 B .. 1 MiB, ping/pong, close with a code and
 * a reason, a dropped connection that reconnects, the wake-up. Ends "N passed, N failed".
 *   make lwip   (cc -DWS_LWIP -I/usr/include/lwip tests/lwip/test_lwip.c -llwip) */
#define WS_LWIP
#define WS_IMPLEMENTATION
#include "../../ws.h"
#include "../test.h"
#include "lwip_up.h"   /* lwIP in this process: one netif with 127.0.0.1/8 */
#include "lwip/init.h"

/* ---- one ws_ctx: a server that echoes, a client that records ---- */
typedef struct t_peer {
    int opens, msgs, pongs, closes, errors, clean, reconnect_ms;
    unsigned close_code;
    char reason[64];
    size_t last_len;
    int last_ok;
    ws_conn *conn;
} t_peer;
static t_peer t_srv, t_cli;

static int t_pattern_ok(const uint8_t *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) if (p[i] != (uint8_t)(i * 13u + n)) return 0;
    return 1;
}

static void t_on_event(ws_conn *c, const ws_event *ev, void *user) {
    t_peer *p = ws_conn_is_server(c) ? &t_srv : &t_cli;
    (void)user;
    switch (ev->type) {
    case WS_EV_OPEN: p->opens++; p->conn = c; break;
    case WS_EV_MESSAGE:
        p->msgs++;
        p->last_len = ev->len;
        p->last_ok = t_pattern_ok(ev->data, ev->len);
        if (p == &t_srv) (void)ws_conn_send(c, ev->opcode, ev->data, ev->len);
        break;
    case WS_EV_PONG: p->pongs++; break;
    case WS_EV_ERROR: p->errors++; break;
    case WS_EV_CLOSE:
        p->closes++;
        p->clean = ev->clean;
        p->close_code = ev->close_code;
        p->reconnect_ms = ev->reconnect_ms;
        strncpy(p->reason, ev->reason, sizeof p->reason - 1);
        if (p->conn == c) p->conn = NULL;
        break;
    default: break;
    }
}

/* Polls until *what reaches want: at most 3000 passes of <= 20 ms (catches hangs only). */
static int t_until(ws_ctx *ctx, const int *what, int want) {
    int i;
    for (i = 0; i < 3000 && *what < want; i++) (void)ws_poll(ctx, 20);
    return *what >= want;
}

static ws_ctx *t_ctx;
static char t_url[64];

static void test_lwip_echo_ping_close(void) {
    static const size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 300000, 1 << 20};
    static uint8_t buf[1 << 20];
    ws_conn *c = NULL;
    size_t k, i;
    memset(&t_cli, 0, sizeof t_cli);
    memset(&t_srv, 0, sizeof t_srv);
    CHECK_EQ(ws_connect(t_ctx, t_url, NULL, NULL, &c), WS_OK);
    CHECK(t_until(t_ctx, &t_cli.opens, 1));
    CHECK(t_until(t_ctx, &t_srv.opens, 1));
    for (k = 0; k < sizeof sizes / sizeof sizes[0] && c; k++) {
        size_t n = sizes[k];
        for (i = 0; i < n; i++) buf[i] = (uint8_t)(i * 13u + n);
        CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, buf, n), WS_OK);
        CHECK(t_until(t_ctx, &t_cli.msgs, (int)k + 1));
        CHECK_EQ(t_cli.last_len, n);
        CHECK(t_cli.last_ok);
    }
    CHECK_EQ(ws_conn_send(c, WS_OP_PING, "hi", 2), WS_OK);
    CHECK(t_until(t_ctx, &t_cli.pongs, 1));
    CHECK_EQ(ws_conn_close(c, 4001, "bye"), WS_OK);
    CHECK(t_until(t_ctx, &t_cli.closes, 1));
    CHECK(t_until(t_ctx, &t_srv.closes, 1));
    CHECK_EQ(t_srv.close_code, 4001);
    CHECK_STR(t_srv.reason, "bye");
    CHECK_EQ(t_cli.close_code, 4001);
    CHECK(t_cli.clean);
    CHECK_EQ(t_cli.errors + t_srv.errors, 0);
}

static void test_lwip_reconnect(void) {
    ws_connect_opts o;
    ws_conn *c = NULL;
    memset(&t_cli, 0, sizeof t_cli);
    memset(&t_srv, 0, sizeof t_srv);
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 20;
    CHECK_EQ(ws_connect(t_ctx, t_url, &o, NULL, &c), WS_OK);
    CHECK(t_until(t_ctx, &t_srv.opens, 1));
    CHECK(t_until(t_ctx, &t_cli.opens, 1));
    if (t_srv.conn) ws_conn_drop(t_srv.conn);   /* the server goes away abruptly */
    CHECK(t_until(t_ctx, &t_cli.closes, 1));
    CHECK_EQ(t_cli.close_code, 1006);
    CHECK(t_cli.reconnect_ms > 0);
    CHECK(t_until(t_ctx, &t_cli.opens, 2));      /* and the client is back */
    CHECK_EQ(ws_conn_send_text(c, ""), WS_OK);
    CHECK(t_until(t_ctx, &t_cli.msgs, 1));
    CHECK_EQ(ws_conn_close(c, 1000, NULL), WS_OK);
    CHECK(t_until(t_ctx, &t_cli.closes, 2));
    CHECK_EQ(t_cli.reconnect_ms, 0);             /* closed by us: no retry */
}

static void test_lwip_wakeup(void) {
    int64_t t0 = ws__now_ms();
    CHECK_EQ(ws_ctx_wakeup(t_ctx), WS_OK);
    CHECK(ws_poll(t_ctx, 60000) >= 0);         /* returns at once; the limit only catches a hang */
    CHECK(ws__now_ms() - t0 < 30000);
}

int main(int argc, char **argv) {
    ws_config cfg;
    ws_listener *l = NULL;
    t_only = argc > 1 ? argv[1] : NULL;
    if (lw_start() != 0) return 1;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = t_on_event;
    cfg.max_message = 2 << 20;
    t_ctx = ws_ctx_create(&cfg);
    if (!t_ctx || ws_listen(t_ctx, "127.0.0.1", 0, &l) != WS_OK) {
        printf("FAIL: no ws_ctx or no listener on lwIP's 127.0.0.1\n0 passed, 1 failed\n");
        return 1;
    }
    snprintf(t_url, sizeof t_url, "%s", ws_listener_url(l));
    printf("ws.h over lwIP %s: listening on %s\n", LWIP_VERSION_STRING, t_url);
    RUN(test_lwip_echo_ping_close);
    RUN(test_lwip_reconnect);
    RUN(test_lwip_wakeup);
    ws_ctx_destroy(t_ctx);
    return t_summary();
}
