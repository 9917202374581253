/* tls_echo_server.c - a wss:// echo server: ws.h over mbedTLS, one poll loop, no threads.
 *   make examples      (builds build/tls_echo_server when mbedTLS is installed:
 *                       apt-get install libmbedtls-dev; it is compiled with -DWS_USE_MBEDTLS
 *                       and linked with -lmbedtls -lmbedx509 -lmbedcrypto)
 *   ./build/tls_echo_server PORT CERT_PEM KEY_PEM [CA_PEM]
 * Echoes every message. With CA_PEM, clients must present a certificate signed by that CA.
 * Test certificates: tests/tls/gen-certs.sh build/tls, then
 *   ./build/tls_echo_server 9443 build/tls/server.crt build/tls/server.key
 *   and connect any WebSocket client that trusts build/tls/ca.crt to wss://localhost:9443/
 * (KEY_PASSWORD in the environment decrypts an encrypted key.)
 * Built without WS_USE_MBEDTLS it still compiles, and says so when it starts. */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int listening;   /* before: ws_listen_tls's own failure is printed from ws_ctx_error */
static void on_log(int level, const char *msg, void *user) {
    (void)user;
    if (listening) fprintf(stderr, "%s %s\n", level == 0 ? "error:" : level == 1 ? "warning:" : "info:", msg);
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    char addr[64];
    (void)user;
    switch (ev->type) {
    case WS_EV_OPEN:
        ws_conn_remote(c, addr, sizeof addr, NULL);
        printf("open   #%llu from %s\n", (unsigned long long)ws_conn_id(c), addr);
        break;
    case WS_EV_MESSAGE:
        if (ws_conn_send(c, ev->opcode, ev->data, ev->len) != WS_OK)
            printf("echo to #%llu failed\n", (unsigned long long)ws_conn_id(c));
        break;
    case WS_EV_ERROR:
        printf("error  #%llu: %s (%s)\n", (unsigned long long)ws_conn_id(c), ev->msg,
               ws_result_str(ev->result));
        break;
    case WS_EV_CLOSE:
        printf("close  #%llu: code %u%s%s\n", (unsigned long long)ws_conn_id(c), ev->close_code,
               ev->reason[0] ? ", reason: " : "", ev->reason);
        break;
    default: break;
    }
}

int main(int argc, char **argv) {
    ws_config cfg;
    ws_tls_opts tls;
    ws_ctx *ctx;
    ws_listener *l;
    ws_result rc;
    char *end = NULL;
    long port;
    int help = argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));   /* asked for */
    if (help || argc < 4 || argc > 5) {   /* --help: stdout, 0; a mistake: stderr, 2 */
        fprintf(help ? stdout : stderr, "usage: %s PORT CERT_PEM KEY_PEM [CA_PEM]\n"
                "  CA_PEM: require client certificates signed by this CA\n", argv[0]);
        return help ? 0 : 2;
    }
    port = strtol(argv[1], &end, 10);   /* not atoi: "99999" is no port */
    if (end == argv[1] || *end || port < 0 || port > 65535) {
        fprintf(stderr, "%s: PORT is 0-65535 (0: any free one), not %s\n", argv[0], argv[1]);
        return 2;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.log = on_log;              /* TLS failures of clients that never opened land here */
    memset(&tls, 0, sizeof tls);
    tls.cert_file = argv[2];       /* the chain, leaf first */
    tls.key_file = argv[3];
    tls.key_password = getenv("KEY_PASSWORD");
    if (argc > 4) tls.ca_file = argv[4];   /* a CA makes client certificates REQUIRED */
    ctx = ws_ctx_create(&cfg);
    if (!ctx) { fprintf(stderr, "ws_ctx_create failed\n"); return 1; }
    rc = ws_listen_tls(ctx, "127.0.0.1", (int)port, &tls, &l);
    if (rc != WS_OK) {   /* why: the file, mbedTLS's words, "address already in use" */
        fprintf(stderr, "%s\n", ws_ctx_error(ctx)[0] ? ws_ctx_error(ctx) : ws_result_str(rc));
        ws_ctx_destroy(ctx);
        return 1;
    }
    listening = 1;
    /* the test certificate names "localhost" (mbedTLS 2.28 checks no IP addresses) */
    printf("TLS echo server on wss://localhost:%u/ (%s)%s\n", (unsigned)ws_listener_port(l),
           ws_listener_url(l), argc > 4 ? ", client certificates required" : "");
    fflush(stdout);
    for (;;) {
        if (ws_poll(ctx, 1000) < 0) { fprintf(stderr, "ws_poll failed\n"); break; }
        fflush(stdout);
    }
    ws_ctx_destroy(ctx);
    return 0;
}
