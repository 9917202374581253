/* io_count.c - LD_PRELOAD for an echo server: what its reads, writes and large copies did, written
 * to IO_COUNT_OUT (default stderr) when SIGTERM ends it (the server's own SIGTERM handler is
 * replaced at its first recv: counting is for benchmark runs only).
 *   recv:    calls, how many said EAGAIN, how many filled all the room asked, bytes, a
 *            histogram of each read's size in halves of IO_COUNT_MSG bytes (default 65550: a
 *            64 KiB message's frame; the last bucket is ">= 3.5 frames"), and how many asked
 *            for at most 256 KiB (ws.h: into a pooled buffer) or more (its large one)
 *   sendmsg: calls, partial, EAGAIN, iovecs, bytes
 *   copies:  memcpy/memmove calls of >= 4096 bytes (through the PLT: a library's own copies,
 *            not the kernel's), count and bytes, per caller (file+offset; `gdb -batch -ex
 *            'info line *0xOFFSET' build/ws_echo` names the line)
 *   allocs:  malloc/realloc of >= 64 KiB (fresh memory), and reallocs that moved a block of
 *            >= 4 KiB (the allocator's own copy, which the count above does not see)
 * Cheap enough not to change the pattern (strace does). Used for the 64 KiB echo's copies of
 * partial frames (bench/RESULTS.md, 2026-11-30 h15c):
 *   LD_PRELOAD=build/io_count.so IO_COUNT_OUT=ws.cnt build/ws_echo 9001 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <malloc.h>

static unsigned long n_small, n_small_again, n_recv, n_again, n_full, n_sendmsg, n_spart, n_sagain, n_iov, n_copy, n_big, n_rmove;
static unsigned long long b_recv, b_send, b_copy, b_big, b_rmove;
static unsigned long hist[8];
static void *ra_tab[64];
static unsigned long ra_n[64];
static unsigned long long ra_b[64];

static void ra_add(void *ra, size_t n) {
    int i;
    n_copy++; b_copy += n;
    for (i = 0; i < 64; i++)
        if (ra_tab[i] == ra || !ra_tab[i]) { ra_tab[i] = ra; ra_n[i]++; ra_b[i] += n; return; }
}
static void dump(void) {
    const char *out = getenv("IO_COUNT_OUT");
    FILE *f = out ? fopen(out, "w") : stderr;
    int i;
    if (!f) return;
    fprintf(f, "recv %lu again %lu full %lu bytes %llu | sendmsg %lu partial %lu again %lu iov %lu bytes %llu"
               " | copies %lu bytes %llu\nrecv sizes (half frames):", n_recv, n_again, n_full, b_recv,
            n_sendmsg, n_spart, n_sagain, n_iov, b_send, n_copy, b_copy);
    for (i = 0; i < 8; i++) fprintf(f, " %lu", hist[i]);
    fprintf(f, "\n");
    for (i = 0; i < 64 && ra_tab[i]; i++) {
        Dl_info d;
        if (!dladdr(ra_tab[i], &d) || !d.dli_fname) continue;
        fprintf(f, "copy from %s+0x%lx n %lu bytes %llu\n", d.dli_fname,
                (unsigned long)((char *)ra_tab[i] - (char *)d.dli_fbase) - 1, ra_n[i], ra_b[i]);
    }
    fprintf(f, "recv asking <= 256 KiB %lu (EAGAIN %lu), more %lu (EAGAIN %lu)\n", n_small, n_small_again,
            n_recv - n_small, n_again - n_small_again);
    fprintf(f, "large allocations %lu bytes %llu | reallocs that moved %lu bytes %llu\n", n_big, b_big,
            n_rmove, b_rmove);
    if (f != stderr) fclose(f);
}
static void on_term(int s) { (void)s; dump(); _exit(0); }

ssize_t recv(int fd, void *b, size_t n, int fl) {
    static ssize_t (*real)(int, void *, size_t, int);
    static size_t msg;
    ssize_t r;
    if (!real) {
        real = (ssize_t (*)(int, void *, size_t, int))dlsym(RTLD_NEXT, "recv");
        msg = getenv("IO_COUNT_MSG") ? (size_t)atol(getenv("IO_COUNT_MSG")) : 65550;
        if (!msg) msg = 65550;
        signal(SIGTERM, on_term);
    }
    r = real(fd, b, n, fl);
    n_recv++;
    if (n <= 262144) n_small++;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { n_again++; if (n <= 262144) n_small_again++; }
    if (r > 0) {
        size_t k = (size_t)r * 2 / msg;
        b_recv += (unsigned long long)r;
        if ((size_t)r == n) n_full++;
        hist[k > 7 ? 7 : k]++;
    }
    return r;
}
ssize_t sendmsg(int fd, const struct msghdr *m, int fl) {
    static ssize_t (*real)(int, const struct msghdr *, int);
    size_t want = 0, i;
    ssize_t r;
    if (!real) real = (ssize_t (*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
    for (i = 0; i < m->msg_iovlen; i++) want += m->msg_iov[i].iov_len;
    r = real(fd, m, fl);
    n_sendmsg++; n_iov += m->msg_iovlen;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) n_sagain++;
    if (r >= 0) { b_send += (unsigned long long)r; if ((size_t)r < want) n_spart++; }
    return r;
}
void *memcpy(void *d, const void *s, size_t n) {
    static void *(*real)(void *, const void *, size_t);
    if (!real) real = (void *(*)(void *, const void *, size_t))dlsym(RTLD_NEXT, "memcpy");
    if (n >= 4096) ra_add(__builtin_return_address(0), n);
    return real(d, s, n);
}
void *memmove(void *d, const void *s, size_t n) {
    static void *(*real)(void *, const void *, size_t);
    if (!real) real = (void *(*)(void *, const void *, size_t))dlsym(RTLD_NEXT, "memmove");
    if (n >= 4096) ra_add(__builtin_return_address(0), n);
    return real(d, s, n);
}
/* Allocations of >= 64 KiB (fresh memory: page faults unless the allocator reuses it) and
 * reallocs of >= 4 KiB that moved the block (a copy inside the allocator, which the memcpy
 * count above does not see: glibc's own calls do not go through the PLT). */
void *__libc_malloc(size_t);
void *__libc_realloc(void *, size_t);
void *malloc(size_t n) {
    void *p = __libc_malloc(n);
    if (n >= 65536) { n_big++; b_big += n; }
    return p;
}
void *realloc(void *old, size_t n) {
    size_t had = old ? malloc_usable_size(old) : 0;
    void *p = __libc_realloc(old, n);
    if (!old && n >= 65536) { n_big++; b_big += n; }
    if (old && p && p != old && had >= 4096) { n_rmove++; b_rmove += had < n ? had : n; }
    return p;
}
