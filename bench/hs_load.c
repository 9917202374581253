/* hs_load.c - raw handshake churn client: the same bytes for ws_echo and for tcp_echo's "hs"
 * mode, so server CPU per handshake can be set against a raw TCP server doing the least the
 * exchange needs. CONNS at a time: connect, send an upgrade request (a fixed key), read the
 * 101 and check its Sec-WebSocket-Accept, send a masked close frame (1000), read the 4-byte
 * close reply, wait for the server's FIN, close; then the next one on that slot.
 * One thread, epoll, no library. Prints load.c's RESULT line (total = handshakes done).
 *   hs_load HOST:PORT CONNS SECONDS */
#define _GNU_SOURCE
#include <errno.h>
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

static const char g_req_fmt[] = "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
static const char g_accept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";   /* RFC 6455 1.3's example */
static const unsigned char g_close[8] = {0x88, 0x82, 0x11, 0x22, 0x33, 0x44, 0x03 ^ 0x11, 0xe8 ^ 0x22};
static const unsigned char g_close_reply[4] = {0x88, 0x02, 0x03, 0xe8};
typedef struct peer { int fd, st; size_t got; char buf[512]; } peer;   /* st 0 connecting, 1 101, 2 close, 3 FIN */
static char g_req[256];
static size_t g_req_len;
static struct sockaddr_in g_addr;
static int g_bad;

static double now_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (double)t.tv_sec + (double)t.tv_nsec / 1e9; }
static double cpu_s(void) {
    struct rusage r; getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 + (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}
static int start(int ep, peer *p) {
    struct epoll_event e;
    int one = 1;
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (p->fd < 0) return -1;
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    p->st = 0; p->got = 0;
    if (connect(p->fd, (struct sockaddr *)&g_addr, sizeof g_addr) && errno != EINPROGRESS) { close(p->fd); return -1; }
    e.events = EPOLLOUT | EPOLLIN; e.data.ptr = p;
    return epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &e);
}
/* 1 = this handshake is done (the slot is free), 0 = wait, -1 = failed */
static int step(peer *p) {
    ssize_t r;
    if (p->st == 0) {
        int err = 0; socklen_t l = sizeof err;
        getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) return -1;
        if (send(p->fd, g_req, g_req_len, MSG_NOSIGNAL) != (ssize_t)g_req_len) return -1;
        p->st = 1;
        return 0;
    }
    for (;;) {
        r = recv(p->fd, p->buf + p->got, sizeof p->buf - 1 - p->got, 0);
        if (r < 0) return errno == EAGAIN ? 0 : -1;
        if (r == 0) return p->st == 3 ? 1 : -1;
        p->got += (size_t)r;
        p->buf[p->got] = '\0';
        if (p->st == 1) {
            char *end = strstr(p->buf, "\r\n\r\n");
            if (!end) { if (p->got >= sizeof p->buf - 1) return -1; continue; }
            if (strncmp(p->buf, "HTTP/1.1 101 ", 13) || !strstr(p->buf, g_accept) || end + 4 != p->buf + p->got) return -1;
            if (send(p->fd, g_close, sizeof g_close, MSG_NOSIGNAL) != (ssize_t)sizeof g_close) return -1;
            p->st = 2; p->got = 0;
        } else if (p->st == 2) {
            if (p->got < 4) continue;
            if (p->got != 4 || memcmp(p->buf, g_close_reply, 4)) return -1;
            p->st = 3; p->got = 0;
        } else return -1;   /* bytes after the close frame */
    }
}

int main(int argc, char **argv) {
    peer *peers;
    int ep, n, i, measuring = 0;
    char host[64], *colon;
    struct epoll_event evs[256];
    double secs, t0, c0 = 0, t_end;
    unsigned long long done = 0, total = 0;
    if (argc < 4) { fprintf(stderr, "usage: hs_load HOST:PORT CONNS SECONDS\n"); return 2; }
    snprintf(host, sizeof host, "%s", argv[1]);
    colon = strrchr(host, ':'); if (!colon) return 2;
    g_req_len = (size_t)snprintf(g_req, sizeof g_req, g_req_fmt, host);
    *colon = '\0';
    n = atoi(argv[2]); secs = atof(argv[3]);
    peers = (peer *)calloc((size_t)n, sizeof *peers);
    if (!peers || n <= 0) return 2;
    g_addr.sin_family = AF_INET; g_addr.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &g_addr.sin_addr) != 1) return 2;
    ep = epoll_create1(0);
    for (i = 0; i < n; i++) if (start(ep, &peers[i])) { perror("connect"); return 1; }
    printf("OPEN %d failed 0\n", n); fflush(stdout);
    t0 = now_s(); t_end = t0 + 0.5 + secs;
    while (now_s() < t_end && g_bad < 100) {
        int k = epoll_wait(ep, evs, 256, 10), j;
        if (!measuring && now_s() - t0 >= 0.5) { measuring = 1; t0 = now_s(); c0 = cpu_s(); done = 0; }
        for (j = 0; j < k; j++) {
            peer *p = (peer *)evs[j].data.ptr;
            int rc = step(p);
            if (rc == 0 && p->st == 1) {   /* connected: from now on only reads */
                struct epoll_event e;
                e.events = EPOLLIN; e.data.ptr = p;
                epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &e);
            }
            if (rc == 0) continue;
            if (rc < 0) g_bad++; else { done++; total++; }
            close(p->fd);
            if (start(ep, p)) { perror("connect"); return 1; }
        }
    }
    {
        double dt = now_s() - t0, cpu = cpu_s() - c0;
        printf("RESULT handshakes conns %d hs/s %.0f load_cpu %.0f%% failed %d total %llu\n",
               n, (double)done / dt, 100.0 * cpu / dt, g_bad, total);
    }
    return g_bad ? 1 : 0;
}
