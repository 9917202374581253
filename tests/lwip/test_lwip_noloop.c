/* test_lwip_noloop.c - ws.h over lwIP built with lwIP's default LWIP_NETIF_LOOPBACK 0: a
 * datagram to 127.0.0.1 would leave through the default netif and never come back, so ws.h
 * makes no wake-up pair (two sockets saved; ws_ctx_wakeup fails, as with WS_NO_WAKEUP)
 * instead of one that sends to the network. Debian's liblwip is built with 1: this program
 * uses no struct netif (whose layout the option changes), only sockets, with no netif at all.
 *   make lwip   (cc -DWS_LWIP -Itests/lwip/opts -DT_NETIF_LOOPBACK=0 ... -llwip) */
#define WS_LWIP
#define WS_IMPLEMENTATION
#include "../../ws.h"
#include "../test.h"
#include "lwip/tcpip.h"
#include "lwip/init.h"

static sys_sem_t t_ready;
static void t_up(void *arg) { (void)arg; sys_sem_signal(&t_ready); }
static void t_on_event(ws_conn *c, const ws_event *ev, void *user) { (void)c; (void)ev; (void)user; }

static void test_lwip_noloop_no_wake_pair(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_pollfd fds[4];
    int t = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = t_on_event;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(ws_pollfds(ctx, fds, 4, &t), 0);   /* no wake-up socket to watch */
    CHECK_EQ(ws_ctx_wakeup(ctx), WS_ERR_IO);     /* as WS_NO_WAKEUP */
    CHECK(ws_poll(ctx, 0) >= 0);
    ws_ctx_destroy(ctx);
}

int main(int argc, char **argv) {
    t_only = argc > 1 ? argv[1] : NULL;
    if (sys_sem_new(&t_ready, 0) != ERR_OK) { printf("sys_sem_new failed\n0 passed, 1 failed\n"); return 1; }
    tcpip_init(t_up, NULL);
    sys_arch_sem_wait(&t_ready, 0);
    printf("ws.h over lwIP %s with LWIP_NETIF_LOOPBACK %d\n", LWIP_VERSION_STRING, LWIP_NETIF_LOOPBACK);
    RUN(test_lwip_noloop_no_wake_pair);
    return t_summary();
}
