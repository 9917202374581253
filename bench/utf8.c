/* utf8.c - UTF-8 validation speed on 64 KiB buffers, one core: ASCII, 2-byte text (Cyrillic),
 * 3-byte text (CJK), mixed, next to memcpy of the same buffer; speeds are per CPU-second. Build it twice to compare the
 * vector path with the portable one:  make -C bench  (build/utf8 and build/utf8_portable). */
#define WS_IMPLEMENTATION
#define WS_NO_NET
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SZ (64 * 1024)
static double now_s(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);   /* CPU time: a busy machine only slows the run */ return (double)t.tv_sec + (double)t.tv_nsec / 1e9; }
static size_t enc(unsigned long cp, uint8_t *o) {
    if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { o[0] = (uint8_t)(0xC0 | cp >> 6); o[1] = (uint8_t)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) { o[0] = (uint8_t)(0xE0 | cp >> 12); o[1] = (uint8_t)(0x80 | (cp >> 6 & 63)); o[2] = (uint8_t)(0x80 | (cp & 63)); return 3; }
    o[0] = (uint8_t)(0xF0 | cp >> 18); o[1] = (uint8_t)(0x80 | (cp >> 12 & 63)); o[2] = (uint8_t)(0x80 | (cp >> 6 & 63)); o[3] = (uint8_t)(0x80 | (cp & 63)); return 4;
}
static size_t fill(uint8_t *b, int kind) {   /* text of that kind, with spaces and punctuation */
    size_t n = 0;
    unsigned s = 12345;
    while (n < SZ - 8) {
        unsigned long cp;
        s = s * 1103515245u + 12345u;
        if (kind == 0) cp = 0x20 + (s >> 16) % 0x5F;
        else if (kind == 1) cp = (s >> 16) % 7 == 0 ? ' ' : 0x430 + (s >> 16) % 32;   /* Cyrillic */
        else if (kind == 2) cp = (s >> 16) % 11 == 0 ? 0x3002 : 0x4E00 + (s >> 16) % 0x5000; /* CJK */
        else cp = (s >> 16) % 4 == 0 ? 0x20 + (s >> 18) % 0x5F : (s >> 16) % 4 == 1 ? 0xE9 : (s >> 16) % 4 == 2 ? 0x20AC : 0x1F600;
        n += enc(cp, b + n);
    }
    return n;
}
int main(int argc, char **argv) {
    static uint8_t b[SZ], dst[SZ];
    static const char *name[] = {"ASCII", "2-byte (Cyrillic)", "3-byte (CJK)", "mixed 1-4 byte"};
    double secs = argc > 1 ? atof(argv[1]) : 0.5;
    int kind;
    printf("# %s path, 64 KiB buffers, %.1f s each\n",
#ifdef WS__UTF8_SIMD
           "vector (SSE2/NEON)"
#else
           "portable"
#endif
           , secs);
    for (kind = -1; kind < 4; kind++) {
        size_t n = fill(b, kind < 0 ? 0 : kind), iters = 0;
        double t0 = now_s(), t;
        volatile int sink = 0;
        do {
            int k;
            for (k = 0; k < 64; k++) {
                if (kind < 0) { memcpy(dst, b, n); sink += dst[k] == 0; }
                else sink += ws_utf8_validate(b, n);
            }
            iters += 64;
        } while ((t = now_s() - t0) < secs);
        printf("%-20s %6.2f GB/s%s\n", kind < 0 ? "memcpy" : name[kind], (double)n * (double)iters / t / 1e9, sink ? " (invalid!)" : "");
    }
    return 0;
}
