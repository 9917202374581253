/* fw_tests.c - the codec test suites of tests/run_tests.c on a Cortex-M under QEMU (newlib,
 * semihosting; see startup.c and `make firmware`). WS_NO_NET: no sockets. T_NO_MMAP: no guard
 * pages (the inputs sit at the end of a static buffer instead). Ends "N passed, N failed".
 * The engine suite runs over the in-memory pair (ws_engine_pair). */
#include <stddef.h>
#include <stdint.h>
/* A test generator in place of a board's CSPRNG (WS_RANDOM is required for a client here:
 * fw_norandom.c checks the build without it). Not for real firmware: predictable. */
static uint32_t fw_rng_state = 0x9E3779B9u;
static int fw_test_random(void *buf, size_t len) {
    uint8_t *p = (uint8_t *)buf;
    while (len--) {
        fw_rng_state ^= fw_rng_state << 13; fw_rng_state ^= fw_rng_state >> 17; fw_rng_state ^= fw_rng_state << 5;
        *p++ = (uint8_t)(fw_rng_state >> 24);
    }
    return 0;
}
#define WS_RANDOM(buf, len) fw_test_random(buf, len)
#define WS_IMPLEMENTATION
#include "../../ws.h"
#include "../test.h"

#include "../test_sha1_base64.c"
#include "../test_utf8.c"
#include "../test_frame.c"
#include "../test_http.c"
#include "../test_fw_engine.c"

int main(void) {
    printf("ws.h tests on %s\n", WS_FW_CPU);
    suite_sha1_base64();
    suite_utf8();
    suite_frame();
    suite_http();
    suite_fw_engine();
    return t_summary();
}
