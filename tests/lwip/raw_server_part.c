/* raw_server_part.c - examples/testee_server.c over lwIP's sockets (WS_LWIP), as its own
 * translation unit (WS_STATIC), for tests/lwip/raw_client_host.c: that one's ws.h is built
 * with WS_NO_NET, and one file cannot hold both. */
#define WS_STATIC
#define WS_LWIP
#define TESTEE_NO_MAIN
#include "../../examples/testee_server.c"
void *h_srv_start(int port);
int h_srv_poll(void *srv, int ms);
void h_srv_stop(void *srv);
void *h_srv_start(int port) { return testee_listen(port, NULL); }
int h_srv_poll(void *srv, int ms) { return ws_poll((ws_ctx *)srv, ms); }
void h_srv_stop(void *srv) { ws_ctx_destroy((ws_ctx *)srv); }
