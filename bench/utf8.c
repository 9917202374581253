/* utf8.c - UTF-8 validation speed on 64 KiB buffers, one core: ASCII, 2-byte text (Cyrillic),
 * 3-byte text (CJK), Korean (3-byte, leads EA-ED: ED's narrowed second byte is checked), mixed
 * 1-4 byte, next to memcpy of the same buffer. Each kind is timed in 15 windows of CPU time;
 * the median and the best window are printed in GB per CPU-second (on a shared VM the best
 * window is the machine's speed, the median what the neighbours left of it).
 *   make -C bench            build/utf8 (the vector path) and build/utf8_portable (WS_NO_SIMD)
 *   build/utf8 [seconds per kind]
 * Same-run comparison with another ws.h (both validators in one process, their windows
 * interleaved, so a change of load hits both alike):
 *   git show main:ws.h > bench/build/ws_old.h && make -C bench build/utf8_ab && bench/build/utf8_ab */
#ifndef UTF8_AB_PART
#define WS_IMPLEMENTATION
#define WS_NO_NET
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SZ (64 * 1024)
#define WINDOWS 15
static double now_s(void) {   /* CPU time: a busy machine only slows the run */
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
static size_t enc(unsigned long cp, uint8_t *o) {
    if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { o[0] = (uint8_t)(0xC0 | cp >> 6); o[1] = (uint8_t)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) { o[0] = (uint8_t)(0xE0 | cp >> 12); o[1] = (uint8_t)(0x80 | (cp >> 6 & 63)); o[2] = (uint8_t)(0x80 | (cp & 63)); return 3; }
    o[0] = (uint8_t)(0xF0 | cp >> 18); o[1] = (uint8_t)(0x80 | (cp >> 12 & 63)); o[2] = (uint8_t)(0x80 | (cp >> 6 & 63)); o[3] = (uint8_t)(0x80 | (cp & 63)); return 4;
}
enum { KINDS = 5 };
static const char *const kind_name[KINDS] = {"ASCII", "2-byte (Cyrillic)", "3-byte (CJK)", "3-byte (Korean)", "mixed 1-4 byte"};
static size_t fill(uint8_t *b, int kind) {   /* text of that kind, with spaces and punctuation */
    size_t n = 0;
    unsigned s = 12345;
    while (n < SZ - 8) {
        unsigned long cp, r;
        s = s * 1103515245u + 12345u;
        r = s >> 16;
        if (kind == 0) cp = 0x20 + r % 0x5F;
        else if (kind == 1) cp = r % 7 == 0 ? ' ' : 0x430 + r % 32;                 /* Cyrillic */
        else if (kind == 2) cp = r % 11 == 0 ? 0x3002 : 0x4E00 + r % 0x5000;         /* CJK */
        else if (kind == 3) cp = r % 5 == 0 ? ' ' : 0xAC00 + r % 11172;              /* Hangul */
        else cp = r % 4 == 0 ? 0x20 + (s >> 18) % 0x5F : r % 4 == 1 ? 0xE9 : r % 4 == 2 ? 0x20AC : 0x1F600;
        n += enc(cp, b + n);
    }
    return n;
}
static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
typedef int (*validator)(const uint8_t *p, size_t n);   /* 1 = valid */
static int v_this(const uint8_t *p, size_t n) { return ws_utf8_validate(p, n) == WS_OK; }
#ifndef UTF8_AB
static int v_memcpy(const uint8_t *p, size_t n) {
    static uint8_t dst[SZ];
    memcpy(dst, p, n);
    return dst[n / 2] != 0xFF;
}
#endif
/* Times the validators in turn, WINDOWS times each; gbs[v][w] = GB per CPU-second */
static void run(validator *v, int nv, const uint8_t *b, size_t n, double window, double gbs[][WINDOWS]) {
    int w, k, j;
    for (w = 0; w < WINDOWS; w++)
        for (k = 0; k < nv; k++) {
            size_t iters = 0;
            double t0 = now_s(), t;
            volatile int sink = 0;
            do {
                for (j = 0; j < 16; j++) sink += v[k](b, n);
                iters += 16;
            } while ((t = now_s() - t0) < window);
            if (sink != (int)iters) { printf("validator %d says a text is invalid\n", k); exit(1); }
            gbs[k][w] = (double)n * (double)iters / t / 1e9;
        }
    for (k = 0; k < nv; k++) qsort(gbs[k], WINDOWS, sizeof gbs[k][0], cmp_d);
}
#ifdef UTF8_AB
int utf8_old_validate(const uint8_t *p, size_t n);   /* utf8_ab_old.c: the other ws.h */
#endif
#ifdef WS__UTF8_SIMD
static const char path_name[] = "vector (SSE2/NEON)";
#else
static const char path_name[] = "portable";
#endif
int main(int argc, char **argv) {
    static uint8_t b[SZ];
    double secs = argc > 1 ? atof(argv[1]) : 0.5, gbs[2][WINDOWS];
    int kind;
#ifdef UTF8_AB
    validator v[2] = {utf8_old_validate, v_this};
    printf("# same run, windows interleaved: old = bench/build/ws_old.h, new = ../ws.h; %s path, 64 KiB buffers,\n"
           "# %d windows of %.3f CPU-s per kind and validator; GB/s median (best)\n",
           path_name, WINDOWS, secs / WINDOWS);
    for (kind = 0; kind < KINDS; kind++) {
        size_t n = fill(b, kind);
        run(v, 2, b, n, secs / WINDOWS, gbs);
        printf("%-20s old %6.2f (%6.2f)  new %6.2f (%6.2f)  new/old %.2f (%.2f)\n", kind_name[kind],
               gbs[0][WINDOWS / 2], gbs[0][WINDOWS - 1], gbs[1][WINDOWS / 2], gbs[1][WINDOWS - 1],
               gbs[1][WINDOWS / 2] / gbs[0][WINDOWS / 2], gbs[1][WINDOWS - 1] / gbs[0][WINDOWS - 1]);
    }
#else
    printf("# %s path, 64 KiB buffers, %d windows of %.3f CPU-s per kind; GB/s median (best)\n",
           path_name, WINDOWS, secs / WINDOWS);
    for (kind = -1; kind < KINDS; kind++) {
        validator v = kind < 0 ? v_memcpy : v_this;
        size_t n = fill(b, kind < 0 ? 0 : kind);
        run(&v, 1, b, n, secs / WINDOWS, gbs);
        printf("%-20s %6.2f GB/s (%6.2f)\n", kind < 0 ? "memcpy" : kind_name[kind], gbs[0][WINDOWS / 2], gbs[0][WINDOWS - 1]);
    }
#endif
    return 0;
}
#else   /* UTF8_AB_PART: the other ws.h's validator, every ws.h function private to this file */
#define WS_IMPLEMENTATION
#define WS_NO_NET
#define WS_API static
#include "build/ws_old.h"
int utf8_old_validate(const uint8_t *p, size_t n);
int utf8_old_validate(const uint8_t *p, size_t n) { return ws_utf8_validate(p, n) == WS_OK; }
#endif
