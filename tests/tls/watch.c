/* watch.c - wss:// through the registration interface (ws_config.on_watch / on_timer): the
 * poll() host of tests/test_watch.c drives a TLS server and TLS clients of one ctx. Messages
 * of 1 MiB arrive as many TLS records, so mbedTLS holds decrypted bytes that no socket event
 * announces: they must be processed anyway (ws.h asks the host for an immediate timer). Also
 * a burst of small echoes and a clean close. Certificates from tests/tls/gen-certs.sh.
 *   make tls      (or: build/test_tls_watch [certificate dir, default build/tls])
 * The last line printed is "N passed, N failed". */
#define WS_IMPLEMENTATION
#define WS_USE_MBEDTLS
#include "../../ws.h"
#include "../test.h"
#include "../test_watch.c"

typedef struct tw { hw_host h; int opens, closes, clean, msgs, bad; size_t bytes; } tw;
static tw T;
static uint8_t pat(size_t i, size_t n) { return (uint8_t)(i * 13 + n); }

static void tw_event(ws_conn *c, const ws_event *ev, void *user) {
    size_t i;
    (void)user;
    switch (ev->type) {
    case WS_EV_OPEN: T.opens++; break;
    case WS_EV_MESSAGE:
        if (ws_conn_is_server(c)) { CHECK_EQ(ws_conn_send(c, ev->opcode, ev->data, ev->len), WS_OK); break; }
        T.msgs++;
        T.bytes += ev->len;
        for (i = 0; i < ev->len; i++) if (ev->data[i] != pat(i, ev->len)) { T.bad++; break; }
        break;
    case WS_EV_CLOSE: T.closes++; T.clean += ev->clean; break;
    default: break;
    }
}

static void test_tls_watch(const char *dir) {
    char ca[600], crt[600], key[600];
    ws_config cfg;
    ws_tls_opts so, co;
    ws_connect_opts o;
    ws_listener *l = NULL;
    ws_conn *c[3];
    ws_ctx *ctx;
    static uint8_t big[1 << 20];
    size_t i, sizes[] = {0, 1, 125, 65536, 1 << 20};
    int k, round;
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    snprintf(crt, sizeof crt, "%s/server.crt", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    memset(&T, 0, sizeof T);
    T.h.timer_at = -1;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = tw_event;
    cfg.on_watch = hw_watch;
    cfg.on_timer = hw_timer;
    cfg.user = &T.h;
    ctx = ws_ctx_create(&cfg);
    if (!ctx) { CHECK(ctx != NULL); return; }
    memset(&so, 0, sizeof so);
    so.cert_file = crt;
    so.key_file = key;
    CHECK_EQ(ws_listen_tls(ctx, "127.0.0.1", 0, &so, &l), WS_OK);
    if (!l) { ws_ctx_destroy(ctx); return; }
    memset(&co, 0, sizeof co);
    co.ca_file = ca;
    co.server_name = "localhost";
    memset(&o, 0, sizeof o);
    o.tls = &co;
    for (k = 0; k < 3; k++) CHECK_EQ(ws_connect(ctx, ws_listener_url(l), &o, NULL, &c[k]), WS_OK);
    HW_UNTIL(ctx, &T.h, T.opens == 6);
    for (round = 0; round < 2; round++)   /* every size from every client, twice */
        for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t n = sizes[i], j;
            int want = T.msgs + 3;
            for (j = 0; j < n; j++) big[j] = pat(j, n);
            for (k = 0; k < 3; k++) CHECK_EQ(ws_conn_send(c[k], WS_OP_BINARY, big, n), WS_OK);
            HW_UNTIL(ctx, &T.h, T.msgs == want);
        }
    {   /* a burst of small echoes */
        int want = T.msgs + 300;
        for (i = 0; i < 40; i++) big[i] = pat(i, 40);
        for (k = 0; k < 300; k++) CHECK_EQ(ws_conn_send(c[k % 3], WS_OP_BINARY, big, 40), WS_OK);
        HW_UNTIL(ctx, &T.h, T.msgs == want);
    }
    CHECK_EQ(T.bad, 0);
    for (k = 0; k < 3; k++) CHECK_EQ(ws_conn_close(c[k], 1000, "done"), WS_OK);
    HW_UNTIL(ctx, &T.h, T.closes == 6);
    CHECK_EQ(T.clean, 6);
    ws_ctx_destroy(ctx);
    CHECK_EQ(T.h.bad, 0);
    CHECK_EQ(T.h.adds, T.h.removes);
    printf("  %d messages, %lu bytes echoed over wss:// through the host's loop\n", T.msgs, (unsigned long)T.bytes);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "build/tls";
    t_bad = 0;
    test_tls_watch(dir);
    if (t_bad) { t_fail++; printf("FAIL test_tls_watch\n"); } else t_pass++;
    (void)suite_watch;
    return t_summary();
}
