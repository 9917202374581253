/* firmware_client.c - a device's WebSocket client on lwIP, as an RTOS task (FreeRTOS + lwIP
 * with NO_SYS=0): it connects, reports a reading every APP_REPORT_MS, keeps the link checked with
 * pings (a server that vanishes without a word is noticed within ping + pong timeout), and when
 * the server goes away it reconnects with backoff (1 s, doubling up to 30 s), forever.
 *   Cortex-M4 (make firmware builds it):
 *     arm-none-eabi-gcc -std=c99 -mcpu=cortex-m4 -mthumb -Os -DWS_LWIP -I<your lwipopts.h dir>
 *         -I<lwip>/src/include -c examples/firmware_client.c
 *   Host, over Debian's lwIP (make firmware-client-run): tests/lwip/firmware_client_host.c
 * The board gives random bytes (RFC 6455 masks) and, if lwIP's sys_now() wraps for you, a clock:
 * WS_RANDOM(buf, len) and WS_NOW_MS() below. FreeRTOS: xTaskCreate(app_task, "ws", 1024, NULL,
 * tskIDLE_PRIORITY + 2, NULL) after lwIP is up (tcpip_init, netif, DHCP). */
#if !defined(__unix__) && !defined(WS_RANDOM)
#  include <stddef.h>
int board_random(void *buf, size_t len);   /* your hardware RNG: 0 = filled */
#  define WS_RANDOM(buf, len) board_random(buf, len)
#endif
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <string.h>

#ifndef APP_URL
#  define APP_URL "ws://192.168.1.10:9001/device"
#endif
#ifndef APP_REPORT_MS
#  define APP_REPORT_MS 5000
#endif

typedef struct app {
    ws_ctx  *ctx;
    ws_conn *conn;         /* stays valid across reconnects */
    int      open;
    unsigned opens, closes, sent, echoed;
    int64_t  next_report;
} app;

static void app_on_event(ws_conn *c, const ws_event *ev, void *user) {
    app *a = (app *)ws_conn_user(c);
    (void)user;
    switch (ev->type) {
    case WS_EV_OPEN:
        a->open = 1;
        a->opens++;
        printf("app: connected (%u)\n", a->opens);
        (void)ws_conn_send_text(c, "{\"hello\":\"device-1\"}");
        break;
    case WS_EV_MESSAGE:   /* commands from the server would be handled here */
        a->echoed++;
        break;
    case WS_EV_ERROR:
        printf("app: %s: %s\n", ws_result_str(ev->result), ev->msg);
        break;
    case WS_EV_CLOSE:
        a->open = 0;
        a->closes++;
        if (ev->reconnect_ms > 0) printf("app: link lost (%u), retry in %d ms\n", ev->close_code, ev->reconnect_ms);
        else { printf("app: closed (%u)\n", ev->close_code); a->conn = NULL; }
        break;
    default: break;
    }
}

/* Once, after lwIP is up. 0 = started (the connection comes up in app_step). */
static int app_init(app *a, const char *url) {
    ws_config cfg;
    ws_connect_opts o;
    memset(a, 0, sizeof *a);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = app_on_event;
    cfg.max_message = 4096;         /* small device, small messages: bounds RAM per message */
    cfg.ping_interval_ms = 10000;   /* clients don't ping by default: we want to know */
    cfg.pong_timeout_ms = 5000;
    memset(&o, 0, sizeof o);
    o.reconnect = 1;                /* also when the first attempt fails */
    o.reconnect_delay_ms = 1000;
    o.reconnect_max_ms = 30000;
    a->ctx = ws_ctx_create(&cfg);
    if (!a->ctx) return -1;
    if (ws_connect(a->ctx, url, &o, a, &a->conn) != WS_OK) {
        ws_ctx_destroy(a->ctx);
        a->ctx = NULL;
        return -1;
    }
    return 0;
}

/* One pass of the task's loop: waits for the network at most wait_ms. */
static void app_step(app *a, int wait_ms) {
    int64_t now;
    if (ws_poll(a->ctx, wait_ms) < 0) return;
    now = (int64_t)(WS_NOW_MS());
    if (a->open && a->conn && now >= a->next_report) {
        char msg[48];
        ws_result rc;
        snprintf(msg, sizeof msg, "{\"t\":%lld,\"temp\":21.5}", (long long)now);
        rc = ws_conn_send_text(a->conn, msg);   /* WS_ERR_FULL: the link is slow; skip one */
        if (rc == WS_OK) a->sent++;
        a->next_report = now + APP_REPORT_MS;
    }
}

static void app_free(app *a) {
    if (a->ctx) ws_ctx_destroy(a->ctx);   /* a 1001 close frame is attempted */
    a->ctx = NULL;
}

#ifndef APP_NO_TASK
void app_task(void *arg);
void app_task(void *arg) {   /* the RTOS task: never returns */
    static app a;
    (void)arg;
    while (app_init(&a, APP_URL) != 0) {   /* out of memory or a bad URL: wait, try again */
        app_free(&a);
        sys_msleep(1000);
    }
    for (;;) app_step(&a, 100);
}
#endif
