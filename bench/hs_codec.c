/* hs_codec.c - the server's side of an upgrade in the codec alone, N times: parse the request
 * hs_load sends (ws_http_parse_request), check it (ws_http_check_request), build the 101
 * (ws_http_build_accept: SHA-1 and base64). No sockets. Prints ns per upgrade; under callgrind
 * (valgrind --tool=callgrind build/hs_codec 10000) total Ir / N is the codec's instructions per
 * upgrade. Built -O2 by the Makefile.
 *   hs_codec [N]   (default 1000000) */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char g_req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1:23228\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

int main(int argc, char **argv) {
    long i, n = argc > 1 ? atol(argv[1]) : 1000000;
    unsigned long sum = 0;
    char out[512];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
        ws_http_request req;
        size_t used, len;
        ws_span key;
        int st;
        const char *why;
        if (ws_http_parse_request(g_req, sizeof g_req - 1, 8192, &req, &used, &why) != WS_OK ||
            ws_http_check_request(&req, &key, &st, &why) != WS_OK ||
            ws_http_build_accept(out, sizeof out, key.ptr, key.len, NULL, NULL, &len) != WS_OK) {
            fprintf(stderr, "upgrade failed\n");
            return 1;
        }
        sum += len + (unsigned char)out[len - 3];   /* keeps the work */
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%ld upgrades, %.1f ns each (check %lu)\n", n,
           ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)(n ? n : 1), sum);
    return 0;
}
