/* lwip_up.h - lwIP started in this process (Debian's liblwip-dev, the Unix port: NO_SYS=0,
 * a tcpip thread) with one netif that owns 127.0.0.1/8, up and the default: lwIP then loops
 * the traffic to 127.0.0.1 back itself. Shared by the programs of tests/lwip that run over it
 * (test_lwip.c, firmware_client_host.c, raw_client_host.c). */
#include <stdio.h>
#include "lwip/tcpip.h"
#include "lwip/netif.h"

static struct netif lw_netif;
static sys_sem_t lw_ready;

static err_t lw_netif_output(struct netif *n, struct pbuf *p, const ip4_addr_t *a) {
    (void)n; (void)p; (void)a;
    return ERR_OK;   /* never reached: traffic to 127.0.0.1 goes through netif_loop_output */
}
static err_t lw_netif_init(struct netif *n) {
    n->name[0] = 'l';
    n->name[1] = 'o';
    n->mtu = 1500;
    n->output = lw_netif_output;
    return ERR_OK;
}
static void lw_netif_up(void *arg) {   /* runs on lwIP's tcpip thread */
    ip4_addr_t ip, mask, gw;
    (void)arg;
    IP4_ADDR(&ip, 127, 0, 0, 1);
    IP4_ADDR(&mask, 255, 0, 0, 0);
    IP4_ADDR(&gw, 0, 0, 0, 0);
    netif_add(&lw_netif, &ip, &mask, &gw, NULL, lw_netif_init, tcpip_input);
    netif_set_default(&lw_netif);
    netif_set_link_up(&lw_netif);
    netif_set_up(&lw_netif);
    sys_sem_signal(&lw_ready);
}

/* Starts lwIP and returns once the netif is up: 0, or -1 (it says so, and a failed test). */
static int lw_start(void) {
    if (sys_sem_new(&lw_ready, 0) != ERR_OK) { printf("lwIP: sys_sem_new failed\n0 passed, 1 failed\n"); return -1; }
    tcpip_init(lw_netif_up, NULL);
    sys_arch_sem_wait(&lw_ready, 0);
    return 0;
}
