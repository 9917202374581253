/* lwip_raw_client.c - the bare-metal shape: a WebSocket client in a superloop over lwIP's raw
 * TCP API (NO_SYS=1: no sockets, no threads), ws.h's protocol engine (WS_NO_NET) doing the
 * WebSocket part. lwIP hands over what arrives (tcp_recv: ws_engine_feed); what the engine has
 * to send is copied into lwIP's send buffer as room allows (ws_engine_output, tcp_write with
 * TCP_WRITE_FLAG_COPY, ws_engine_consume what it took), again when acknowledged bytes free room
 * (tcp_sent). It sends a greeting, counts the messages that come back, and closes after three.
 *   arm-none-eabi-gcc -std=c99 -mcpu=cortex-m0plus -mthumb -Os -DWS_NO_SERVER
 *       -I<dir of lwipopts.h> -I<lwip>/src/include -c examples/lwip_raw_client.c
 *   (make lwip compiles it and runs it, tests/lwip/raw_client_host.c, over Debian's lwIP)
 * The board gives board_rng (RFC 6455 masks) and board_ms (milliseconds). Superloop: after
 * the netif is up, raw_start(&a, ip, port, "ws://HOST:PORT/path"); then on every pass
 * sys_check_timeouts() and raw_step(&a); raw_done(&a) when it ended. */
#include <stddef.h>
#include <stdint.h>
int board_rng(void *buf, size_t len);   /* yours: 0 = filled */
uint32_t board_ms(void);                 /* yours: a millisecond clock (may wrap) */
#define WS_RANDOM(buf, len) board_rng(buf, len)
#define WS_NO_NET
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <string.h>
#include "lwip/tcp.h"

typedef struct raw_app {
    struct tcp_pcb *pcb;
    ws_conn *c;
    const char *url;
    unsigned received;
    int shut, ended;                     /* our FIN sent; closed (see ev_close, ev_result) */
    unsigned ev_close;
    ws_result ev_result;
} raw_app;

static int64_t raw_now(void) {           /* board_ms widened to 64 bits across its wraps */
    static uint32_t last;
    static int64_t high;
    uint32_t t = board_ms();
    if (t < last) high += (int64_t)1 << 32;
    last = t;
    return high + t;
}

static void raw_flush(raw_app *a) {      /* engine output -> lwIP, as much as fits now */
    const uint8_t *p;
    size_t n;
    if (!a->pcb || !a->c) return;
    n = ws_engine_output(a->c, &p);
    if (n > tcp_sndbuf(a->pcb)) n = tcp_sndbuf(a->pcb);
    if (n > 0xffff) n = 0xffff;
    if (n && tcp_write(a->pcb, p, (u16_t)n, TCP_WRITE_FLAG_COPY) == ERR_OK) {
        ws_engine_consume(a->c, n);      /* lwIP copied it: the engine may forget it */
        tcp_output(a->pcb);
    }
    if (ws_engine_wants_eof(a->c) && !a->shut) { a->shut = 1; tcp_shutdown(a->pcb, 0, 1); }   /* our FIN */
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    raw_app *a = (raw_app *)user;
    if (ev->type == WS_EV_OPEN) ws_conn_send_text(c, "hello from the device");
    if (ev->type == WS_EV_MESSAGE && ++a->received < 3) ws_conn_send_text(c, "again");
    if (ev->type == WS_EV_MESSAGE && a->received == 3) ws_conn_close(c, WS_CLOSE_NORMAL, "done");
    if (ev->type == WS_EV_CLOSE) { a->ended = 1; a->ev_close = ev->close_code; a->ev_result = ev->result; }
}

static err_t raw_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
    raw_app *a = (raw_app *)arg;
    struct pbuf *q;
    (void)err;
    if (!p) {                            /* the server closed: the stream has ended */
        ws_engine_eof(a->c, raw_now());
        tcp_arg(pcb, NULL);
        tcp_close(pcb);
        a->pcb = NULL;
        return ERR_OK;
    }
    for (q = p; q; q = q->next) ws_engine_feed(a->c, q->payload, q->len, raw_now());
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    raw_flush(a);                        /* answers, sends from the callbacks */
    return ERR_OK;
}
static err_t raw_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
    (void)pcb; (void)len;
    raw_flush((raw_app *)arg);           /* room came free */
    return ERR_OK;
}
static void raw_err(void *arg, err_t err) {   /* lwIP freed the pcb already */
    raw_app *a = (raw_app *)arg;
    (void)err;
    if (!a) return;
    a->pcb = NULL;
    if (a->c) ws_engine_eof(a->c, raw_now());
    else a->ended = 1;                   /* the TCP connect failed */
}
static err_t raw_connected(void *arg, struct tcp_pcb *pcb, err_t err) {
    raw_app *a = (raw_app *)arg;
    ws_config cfg;
    ws_engine_opts o;
    (void)pcb; (void)err;
    memset(&cfg, 0, sizeof cfg);
    memset(&o, 0, sizeof o);
    cfg.on_event = on_event;
    cfg.user = a;
    o.url = a->url;                      /* the Host and path of the upgrade request */
    o.now_ms = raw_now();
    if (ws_engine_create(&cfg, &o, NULL, &a->c) != WS_OK) { tcp_abort(a->pcb); a->pcb = NULL; a->ended = 1; return ERR_ABRT; }
    raw_flush(a);                        /* the upgrade request */
    return ERR_OK;
}

/* Connects; 0, or -1 when lwIP has no pcb or refuses at once. */
int raw_start(raw_app *a, const ip_addr_t *ip, u16_t port, const char *url);
int raw_start(raw_app *a, const ip_addr_t *ip, u16_t port, const char *url) {
    memset(a, 0, sizeof *a);
    a->url = url;
    if ((a->pcb = tcp_new()) == NULL) return -1;
    tcp_arg(a->pcb, a);
    tcp_recv(a->pcb, raw_recv);
    tcp_sent(a->pcb, raw_sent);
    tcp_err(a->pcb, raw_err);
    if (tcp_connect(a->pcb, ip, port, raw_connected) != ERR_OK) { tcp_abort(a->pcb); a->pcb = NULL; return -1; }
    return 0;
}
/* Every pass of the superloop: the engine's timers (handshake, close, ping), then output. */
void raw_step(raw_app *a);
void raw_step(raw_app *a) {
    int64_t due = a->c ? ws_engine_deadline(a->c) : 0;
    if (due && raw_now() >= due) ws_engine_tick(a->c, raw_now());
    raw_flush(a);
}
/* Frees the engine once its CLOSE fired (never from its callbacks). 1 = it ended. */
int raw_done(raw_app *a);
int raw_done(raw_app *a) {
    if (!a->ended) return 0;
    if (a->c) { ws_engine_destroy(a->c); a->c = NULL; }
    if (a->pcb) { tcp_arg(a->pcb, NULL); tcp_close(a->pcb); a->pcb = NULL; }
    return 1;
}
