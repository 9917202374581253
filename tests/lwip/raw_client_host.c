/* raw_client_host.c - examples/lwip_raw_client.c (the bare-metal shape: lwIP's raw TCP API and
 * ws.h's engine, WS_NO_NET) run on this machine over Debian's lwIP (make lwip): lwIP starts
 * in-process with a netif owning 127.0.0.1, examples/testee_server.c listens on lwIP's
 * 127.0.0.1:9001 (tests/lwip/raw_server_part.c), and the superloop below steps the client (under
 * lwIP's core lock: this lwIP has a tcpip thread, a NO_SYS=1 board has not) and the server
 * in turn. The client greets, gets three echoes, closes with 1000. Every wait is a pass count
 * that only catches hangs. Ends "N passed, N failed". */
#define _DEFAULT_SOURCE 1
#define WS_STATIC
#include "../../examples/lwip_raw_client.c"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "lwip_up.h"

void *h_srv_start(int port);
int h_srv_poll(void *srv, int ms);
void h_srv_stop(void *srv);

int board_rng(void *buf, size_t len) {   /* a test: any bytes will do */
    size_t i;
    for (i = 0; i < len; i++) ((uint8_t *)buf)[i] = (uint8_t)rand();
    return 0;
}
uint32_t board_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

static int pass, fail;
static void check(int ok, const char *what) {
    printf("%s - %s\n", ok ? "ok" : "FAIL", what);
    if (ok) pass++; else fail++;
}

int main(void) {
    static raw_app a;
    ip_addr_t ip;
    void *srv;
    int i, rc, done = 0;
    if (lw_start() != 0) return 1;
    srv = h_srv_start(9001);
    check(srv != NULL, "testee_server listens on lwIP's 127.0.0.1:9001");
    if (!srv) { printf("%d passed, %d failed\n", pass, fail + 1); return 1; }
    IP_ADDR4(&ip, 127, 0, 0, 1);
    LOCK_TCPIP_CORE();
    rc = raw_start(&a, &ip, 9001, "ws://127.0.0.1:9001/device");
    UNLOCK_TCPIP_CORE();
    check(rc == 0, "raw_start: tcp_connect");
    for (i = 0; rc == 0 && i < 4000 && !done; i++) {
        LOCK_TCPIP_CORE();
        raw_step(&a);
        done = raw_done(&a);
        UNLOCK_TCPIP_CORE();
        (void)h_srv_poll(srv, 5);
    }
    check(done, "the client's connection ended");
    check(a.received == 3, "three echoes came back");
    check(a.ev_close == 1000 && a.ev_result == WS_OK, "closed with 1000, no error");
    printf("  received %u, close code %u, result %d, passes %d\n", a.received, a.ev_close, (int)a.ev_result, i);
    h_srv_stop(srv);
    printf("%d passed, %d failed\n", pass, fail);
    return fail != 0;
}
