/* tcp_load.c - raw TCP load for tcp_echo.c, the counterpart of load.c: CONNS connections each
 * keep INFLIGHT messages of SIZE bytes in flight (a message is SIZE bytes of the stream; a new
 * one is sent for each SIZE bytes that come back). One thread, epoll. Checks that every byte
 * comes back as sent (the stream is a repeating pattern); prints load.c's RESULT line.
 *   tcp_load HOST:PORT CONNS INFLIGHT SIZE SECONDS [ws]
 * With SRV_PID=pid in the environment it also prints that process's CPU time (utime + stime
 * from /proc, in 1/CLK_TCK steps) per message over the measured seconds (after the warm-up:
 * connection set-up and first-touch page faults of the buffers are left out, for both servers).
 * With `ws` it speaks WebSocket to a ws.h echo server with the same loop and the same costs:
 * an upgrade per connection, then each message is one binary frame, masked once up front with
 * a fixed key (the stream repeats that frame); a message comes back as one unmasked frame.
 * So both servers get the same load generator, the same pace and the same batching: the
 * ws.h client (load.c) masks and copies every message and is slower than the server, which
 * then waits for it (more wake-ups and smaller reads per message than under tcp_load). */
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
static size_t g_size, g_txf, g_rxf;   /* ws: the frame's bytes each way (raw: SIZE) */
static unsigned char *g_pat, *g_rbuf, *g_tx, *g_rx;   /* ws: repeated masked frames, one reply */
static int g_bad, g_ws;

static size_t frame_head(unsigned char *h, size_t n, int masked) {
    size_t k = 2, i;
    h[0] = 0x82;   /* FIN, binary */
    if (n < 126) h[1] = (unsigned char)n;
    else if (n < 65536) { h[1] = 126; h[2] = (unsigned char)(n >> 8); h[3] = (unsigned char)n; k = 4; }
    else { h[1] = 127; for (i = 0; i < 8; i++) h[2 + i] = (unsigned char)((unsigned long long)n >> (56 - 8 * i)); k = 10; }
    if (masked) { h[1] |= 0x80; memcpy(h + k, "\x5a\xc3\x3c\xa5", 4); k += 4; }
    return k;
}
/* ws: g_tx = masked request frames back to back (>= 1 MiB + one frame), g_rx = one reply */
static int ws_frames(void) {
    unsigned char h[14];
    size_t hl = frame_head(h, g_size, 1), reps, r, i;
    g_txf = hl + g_size;
    reps = ((1u << 20) + g_txf) / g_txf + 1;
    g_tx = (unsigned char *)malloc(reps * g_txf);
    g_rx = (unsigned char *)malloc(g_size + 10);
    if (!g_tx || !g_rx) return -1;
    memcpy(g_tx, h, hl);
    for (i = 0; i < g_size; i++) g_tx[hl + i] = (unsigned char)((i % PAT) ^ h[hl - 4 + (i & 3)]);
    for (r = 1; r < reps; r++) memcpy(g_tx + r * g_txf, g_tx, g_txf);
    g_rxf = frame_head(g_rx, g_size, 0);
    for (i = 0; i < g_size; i++) g_rx[g_rxf + i] = (unsigned char)(i % PAT);
    g_rxf += g_size;
    return 0;
}
static int ws_upgrade(int fd) {   /* blocking: request, then the head of the 101 */
    static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    char buf[1024];
    size_t got = 0;
    if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1)) return -1;
    while (got < sizeof buf - 1) {   /* byte by byte: nothing after the head may be eaten */
        ssize_t k = recv(fd, buf + got, 1, 0);
        if (k <= 0) return -1;
        got++; buf[got] = '\0';
        if (got >= 4 && !memcmp(buf + got - 4, "\r\n\r\n", 4)) return strncmp(buf, "HTTP/1.1 101", 12) ? -1 : 0;
    }
    return -1;
}

static double now_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (double)t.tv_sec + (double)t.tv_nsec / 1e9; }
static double cpu_s(void) {
    struct rusage r; getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 + (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}
static long srv_ticks(void) {   /* SRV_PID's utime + stime, or -1 */
    const char *pid = getenv("SRV_PID");
    char path[64], buf[1024], *q;
    long ut = 0, st = 0;
    FILE *f;
    size_t n;
    if (!pid) return -1;
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    if (!(f = fopen(path, "r"))) return -1;
    n = fread(buf, 1, sizeof buf - 1, f); fclose(f); buf[n] = '\0';
    q = strrchr(buf, ')');   /* the fields after the command name: state is field 3 */
    if (!q || sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2) return -1;
    return ut + st;
}
static void set_ev(int ep, peer *p, unsigned ev) {
    struct epoll_event e;
    if (p->ev == ev) return;
    e.events = ev; e.data.ptr = p; p->ev = ev;
    epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &e);
}
static void pump(int ep, peer *p) {
    while (p->tx_left) {
        size_t off = (size_t)(p->sent % (g_ws ? g_txf : PAT)), n = (size_t)(p->tx_left < (1u << 20) ? p->tx_left : (1u << 20));
        ssize_t k = send(p->fd, (g_ws ? g_tx : g_pat) + off, n, MSG_NOSIGNAL);
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
    long s0 = -1;
    unsigned long long msgs = 0, total = 0;
    if (argc < 6) { fprintf(stderr, "usage: tcp_load HOST:PORT CONNS INFLIGHT SIZE SECONDS [ws]\n"); return 2; }
    snprintf(host, sizeof host, "%s", argv[1]);
    colon = strrchr(host, ':'); if (!colon) return 2; *colon = '\0';
    n = atoi(argv[2]); inflight = atoi(argv[3]); g_size = (size_t)atol(argv[4]); secs = atof(argv[5]);
    g_pat = (unsigned char *)malloc((1u << 20) + PAT); g_rbuf = (unsigned char *)malloc(1u << 20);
    peers = (peer *)calloc((size_t)n, sizeof *peers);
    if (!g_pat || !g_rbuf || !peers || n <= 0 || g_size == 0) return 2;
    g_ws = argc > 6 && !strcmp(argv[6], "ws");
    g_txf = g_rxf = g_size;
    if (g_ws && ws_frames()) return 2;
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
        if (g_ws && ws_upgrade(p->fd)) { fprintf(stderr, "upgrade failed\n"); return 1; }
        setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
        e.events = EPOLLIN; e.data.ptr = p; p->ev = EPOLLIN;
        epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &e);
        p->tx_left = (unsigned long long)inflight * g_txf;
    }
    printf("OPEN %d failed 0\n", n); fflush(stdout);
    for (i = 0; i < n; i++) pump(ep, &peers[i]);
    t0 = now_s(); t_end = t0 + 0.5 + secs;
    while (now_s() < t_end) {
        int k = epoll_wait(ep, evs, 256, 10), j;
        if (!measuring && now_s() - t0 >= 0.5) { measuring = 1; t0 = now_s(); c0 = cpu_s(); msgs = 0; s0 = srv_ticks(); }
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
                        for (q = 0; q < r; q += 61)
                            if (g_rbuf[q] != (g_ws ? g_rx[(p->recv + (unsigned long long)q) % g_rxf]
                                                   : (unsigned char)((p->recv + (unsigned long long)q) % PAT))) g_bad++;
                    }
                    p->recv += (unsigned long long)r;
                    m = p->recv / g_rxf - p->msgs;   /* messages completed by this read */
                    p->msgs += m; total += m; msgs += m;
                    p->tx_left += m * g_txf;
                    if (r < (1 << 19)) break;
                }
            }
            pump(ep, p);
        }
    }
    {
        double dt = now_s() - t0, cpu = cpu_s() - c0;
        long s1 = srv_ticks();
        char srv[64] = "";
        if (s0 >= 0 && s1 >= 0 && msgs)
            snprintf(srv, sizeof srv, " srv_us_per_msg %.3f", (double)(s1 - s0) * 1e6 / (double)sysconf(_SC_CLK_TCK) / (double)msgs);
        printf("RESULT conns %d inflight %d size %zu msgs/s %.0f MB/s %.2f load_cpu %.0f%% bad %d closed 0%s total %llu\n",
               n, inflight, g_size, (double)msgs / dt, (double)msgs * (double)g_size / dt / 1e6,
               100.0 * cpu / dt, g_bad, srv, total);
    }
    return g_bad ? 1 : 0;
}
