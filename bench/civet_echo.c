/* civet_echo.c - civetweb (1.15) echo server for the benchmarks. civetweb serves each
 * connection on its own worker thread, so THREADS must be >= the connections wanted.
 *   civet_echo PORT [THREADS] */
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;
static void on_term(int s) { (void)s; g_stop = 1; }

static int on_data(struct mg_connection *c, int flags, char *data, size_t len, void *u) {
    int op = flags & 0xf;
    (void)u;
    if (op == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE) return 0;
    if (op == MG_WEBSOCKET_OPCODE_TEXT || op == MG_WEBSOCKET_OPCODE_BINARY ||
        op == MG_WEBSOCKET_OPCODE_CONTINUATION)
        mg_websocket_write(c, op, data, len);
    return 1;
}

int main(int argc, char **argv) {
    char port[64], threads[16];
    const char *opts[] = { "listening_ports", port, "num_threads", threads,
                           "enable_keep_alive", "yes", "tcp_nodelay", "1", NULL };
    struct mg_callbacks cbs = {0};
    struct mg_context *ctx;
    snprintf(port, sizeof port, "127.0.0.1:%s", argc > 1 ? argv[1] : "9001");
    snprintf(threads, sizeof threads, "%s", argc > 2 ? argv[2] : "128");
    mg_init_library(0);
    ctx = mg_start(&cbs, NULL, opts);
    if (!ctx) { fprintf(stderr, "mg_start failed\n"); return 1; }
    mg_set_websocket_handler(ctx, "/", NULL, NULL, on_data, NULL, NULL);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    printf("ready\n"); fflush(stdout);
    while (!g_stop) usleep(100000);
    mg_stop(ctx);
    return 0;
}
