/* firmware_client_host.c - examples/firmware_client.c run on this machine over Debian's lwIP
 * (make firmware-client-run): lwIP starts in-process with a netif owning 127.0.0.1 (lwIP cannot
 * reach the kernel's sockets, so examples/testee_server.c runs here too: its own code, built
 * with TESTEE_NO_MAIN, as a second ws_ctx on lwIP's 127.0.0.1:9001). The example's loop
 * (app_step) and the server's share this thread:
 *   1. the client connects and its reports come back;
 *   2. the server goes away (its ctx destroyed: close 1001, then nothing listens);
 *   3. the client retries with backoff, the server comes back, the client is connected again and
 *      its reports come back again.
 * Every wait is bounded by a pass count that only catches hangs. Ends "N passed, N failed". */
#define APP_NO_TASK
#define APP_REPORT_MS 20
#include "../../examples/firmware_client.c"
#define TESTEE_NO_MAIN
#include "../../examples/testee_server.c"
#include "../test.h"
#include "lwip_up.h"

/* testee_server, on lwIP's 127.0.0.1:9001 */
static ws_ctx *h_server(void) { return testee_listen(9001, NULL); }

/* Runs both loops until cond holds (or 4000 passes of <= 10 ms each). */
#define H_UNTIL(cond) do { int i_; for (i_ = 0; i_ < 4000 && !(cond); i_++) { \
    app_step(&a, 5); if (srv) (void)ws_poll(srv, 5); } } while (0)

int main(void) {
    static app a;
    ws_ctx *srv;
    unsigned echoed;
    (void)t_only; (void)t_skip;
    if (lw_start() != 0) return 1;

    srv = h_server();
    CHECK(srv != NULL);
    CHECK_EQ(app_init(&a, "ws://127.0.0.1:9001/device"), 0);
    H_UNTIL(a.opens == 1 && a.echoed >= 5);
    CHECK_EQ(a.opens, 1);
    CHECK(a.echoed >= 5);
    t_pass += !t_bad; t_fail += t_bad; t_bad = 0;
    printf("phase 1: connected, %u reports echoed\n", a.echoed);

    ws_ctx_destroy(srv);   /* the server goes away */
    srv = NULL;
    H_UNTIL(a.closes >= 1 && !a.open);
    CHECK(a.closes >= 1);
    CHECK(a.conn != NULL);   /* a retry is scheduled: the connection object stays */
    t_pass += !t_bad; t_fail += t_bad; t_bad = 0;
    printf("phase 2: server gone, client waiting to retry\n");

    srv = h_server();      /* and comes back on the same port */
    CHECK(srv != NULL);
    echoed = a.echoed;
    H_UNTIL(a.opens == 2 && a.echoed >= echoed + 5);
    CHECK_EQ(a.opens, 2);
    CHECK(a.echoed >= echoed + 5);
    t_pass += !t_bad; t_fail += t_bad; t_bad = 0;
    printf("phase 3: reconnected, %u reports echoed in all\n", a.echoed);

    app_free(&a);
    if (srv) ws_ctx_destroy(srv);
    return t_summary();
}
