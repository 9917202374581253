/* utf8_neon.c - the UTF-8 suite (tests/test_utf8.c) built for AArch64, where ws.h's NEON path
 * is chosen, and run under qemu-aarch64 by make test-neon: the vector path on ARM is checked
 * against the same reference as on x86-64 (long random texts, every kind of damage). */
#define WS_IMPLEMENTATION
#define WS_NO_NET
#include "../../ws.h"
#include "../test.h"
#include "../test_utf8.c"
int main(int argc, char **argv) {
    t_only = argc > 1 ? argv[1] : NULL;
#ifndef WS__UTF8_SIMD
    printf("FAIL: no vector path was chosen\n0 passed, 1 failed\n"); return 1;
#endif
    suite_utf8();
    return t_summary();
}
