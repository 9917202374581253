/* test.h - the tiny test harness for ws.h (see run_tests.c). Every CHECK failure prints its
 * file and line; the runner ends with one line "N passed, N failed". */
#ifndef WS_TEST_H
#define WS_TEST_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_pass, t_fail, t_bad, t_skip, t_skipped;   /* t_skip: this test was SKIPPED */
static const char *t_only;   /* argv[1]: run only tests whose name contains it */
static const char *t_name;   /* the test running now */

#define CHECK(c) do { if (!(c)) { t_bad = 1; \
    printf("  %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #c); } } while (0)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ != b_) { t_bad = 1; printf("  %s:%d: %s == %s (%lld != %lld)\n", \
    __FILE__, __LINE__, #a, #b, a_, b_); } } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) { t_bad = 1; printf("  %s:%d: %s == \"%s\" (got \"%s\")\n", \
    __FILE__, __LINE__, #a, b_ ? b_ : "(null)", a_ ? a_ : "(null)"); } } while (0)
#define CHECK_MEM(a, b, n) do { if (memcmp((a), (b), (n)) != 0) { t_bad = 1; \
    printf("  %s:%d: memory %s != %s\n", __FILE__, __LINE__, #a, #b); } } while (0)
/* A test that cannot run here says why and returns: it counts as neither passed nor failed
 * (under CI=true as failed: CI must run everything). Setting t_skip = 1 does the same. */
#define SKIP(why) do { t_skip = 1; printf("SKIPPED: %s: %s\n", t_name, (why)); } while (0)
static int t_ci(void) { const char *ci = getenv("CI"); return ci && strcmp(ci, "true") == 0; }
#define RUN(fn) do { if (t_only && !strstr(#fn, t_only)) break; t_bad = t_skip = 0; t_name = #fn; \
    fn(); \
    if (t_bad) { t_fail++; printf("FAIL %s\n", #fn); } \
    else if (t_skip && t_ci()) { t_fail++; printf("FAIL %s (skipped under CI=true)\n", #fn); } \
    else if (t_skip) t_skipped++; \
    else t_pass++; } while (0)

/* A test that needs POSIX (raw sockets, pthreads, pipes, fork): on Windows it is not built,
 * and says so instead of running (not a failure, not a pass). */
static int t_notwin;
#ifdef _WIN32
#  define RUN_POSIX(fn, why) do { if (t_only && !strstr(#fn, t_only)) break; t_notwin++; \
    printf("  not on Windows: %s (%s)\n", #fn, why); } while (0)
#else
#  define RUN_POSIX(fn, why) RUN(fn)
#endif

static int t_summary(void) {
    if (t_notwin) printf("%d tests not built for Windows (POSIX only; listed above)\n", t_notwin);
    if (t_skipped) printf("SKIPPED: %d test(s) did not run (not counted as passed; see above)\n", t_skipped);
    printf("%d passed, %d failed\n", t_pass, t_fail);
    return t_fail != 0;
}

/* Deterministic PRNG for randomized tests (xorshift64*): fixed seeds, repeatable failures. */
static unsigned long long t_rng_state = 0x9E3779B97F4A7C15ull;
#if defined(__GNUC__)
__attribute__((unused))
#endif
static unsigned t_rand(void) {
    t_rng_state ^= t_rng_state >> 12;
    t_rng_state ^= t_rng_state << 25;
    t_rng_state ^= t_rng_state >> 27;
    return (unsigned)((t_rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
#endif
