/* tcp_load.c - raw TCP load for tcp_echo.c, the counterpart of load.c: CONNS connections each
 * keep INFLIGHT messages of SIZE bytes in flight (a message is SIZE bytes of the stream; a new
 * one is sent for each SIZE bytes that come back). One thread, epoll. Checks that every byte
 * comes back as sent (the stream is a repeating pattern); prints load.c's RESULT line.
 *   tcp_load HOST:PORT CONNS INFLIGHT SIZE SECONDS */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAT 251u   /* the stream is byte i = i % PAT */
typedef struct peer { int fd; unsigned ev; unsigned long long tx_left, sent, recv, msgs; } peer;
static size_t g_size;
static unsigned char *g_pat, *g_rbuf;
static int g_bad;

static double now_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (double)t.tv_sec + (double)t.tv_nsec / 1e9; }
static double cpu_s(void) {
    struct rusage r; getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 + (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}
static void set_ev(int ep, peer *p, unsigned ev) {
    struct epoll_event e;
    if (p->ev == ev) return;
    e.events = ev; e.data.ptr = p; p->ev = ev;
    epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &e);
}
static void pump(int ep, peer *p) {
    while (p->tx_left) {
        size_t off = (size_t)(p->sent % PAT), n = (size_t)(p->tx_left < (1u << 20) ? p->tx_left : (1u << 20));
        ssize_t k = send(p->fd, g_pat + off, n, MSG_NOSIGNAL);
        if (k < 0) { if (errno == EINTR) continue; if (errno != EAGAIN) g_bad++; break; }
        p->sent += (unsigned long long)k; p->tx_left -= (unsigned long long)k;
    }
    set_ev(ep, p, EPOLLIN | (p->tx_left ? EPOLLOUT : 0u));
}

int main(int argc, char **argv) {
    peer *peers;
    int ep, n, i, inflight, one = 1, measuring = 0;
    char host[64], *colon;
    struct sockaddr_in a;
    struct epoll_event evs[256];
    double secs, t0, c0 = 0, t_end;
    unsigned long long msgs = 0, total = 0;
    if (argc < 6) { fprintf(stderr, "usage: tcp_load HOST:PORT CONNS INFLIGHT SIZE SECONDS\n"); return 2; }
    snprintf(host, sizeof host, "%s", argv[1]);
    colon = strrchr(host, ':'); if (!colon) return 2; *colon = '\0';
    n = atoi(argv[2]); inflight = atoi(argv[3]); g_size = (size_t)atol(argv[4]); secs = atof(argv[5]);
    g_pat = (unsigned char *)malloc((1u << 20) + PAT); g_rbuf = (unsigned char *)malloc(1u << 20);
    peers = (peer *)calloc((size_t)n, sizeof *peers);
    if (!g_pat || !g_rbuf || !peers || n <= 0 || g_size == 0) return 2;
    for (i = 0; i < (int)((1u << 20) + PAT); i++) g_pat[i] = (unsigned char)(i % PAT);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET; a.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return 2;
    ep = epoll_create1(0);
    for (i = 0; i < n; i++) {   /* blocking connect, then non-blocking */
        struct epoll_event e;
        peer *p = &peers[i];
        p->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(p->fd, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
        setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
        e.events = EPOLLIN; e.data.ptr = p; p->ev = EPOLLIN;
        epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &e);
        p->tx_left = (unsigned long long)inflight * g_size;
    }
    printf("OPEN %d failed 0\n", n); fflush(stdout);
    for (i = 0; i < n; i++) pump(ep, &peers[i]);
    t0 = now_s(); t_end = t0 + 0.5 + secs;
    while (now_s() < t_end) {
        int k = epoll_wait(ep, evs, 256, 10), j;
        if (!measuring && now_s() - t0 >= 0.5) { measuring = 1; t0 = now_s(); c0 = cpu_s(); msgs = 0; }
        for (j = 0; j < k; j++) {
            peer *p = (peer *)evs[j].data.ptr;
            if (evs[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    ssize_t r = recv(p->fd, g_rbuf, 1u << 20, 0);
                    unsigned long long m;
                    if (r == 0) { g_bad++; close(p->fd); return 1; }
                    if (r < 0) { if (errno == EINTR) continue; if (errno != EAGAIN) { g_bad++; return 1; } break; }
                    if ((p->msgs & 15) == 0) {   /* check a sample of the stream */
                        ssize_t q;
                        for (q = 0; q < r; q += 61) if (g_rbuf[q] != (unsigned char)((p->recv + (unsigned long long)q) % PAT)) g_bad++;
                    }
                    p->recv += (unsigned long long)r;
                    m = p->recv / g_size - p->msgs;   /* messages completed by this read */
                    p->msgs += m; total += m; msgs += m;
                    p->tx_left += m * g_size;
                    if (r < (1 << 19)) break;
                }
            }
            pump(ep, p);
        }
    }
    {
        double dt = now_s() - t0, cpu = cpu_s() - c0;
        printf("RESULT conns %d inflight %d size %zu msgs/s %.0f MB/s %.2f load_cpu %.0f%% bad %d closed 0 total %llu\n",
               n, inflight, g_size, (double)msgs / dt, (double)msgs * (double)g_size / dt / 1e6,
               100.0 * cpu / dt, g_bad, total);
    }
    return g_bad ? 1 : 0;
}
