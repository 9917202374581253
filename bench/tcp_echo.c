/* tcp_echo.c - raw TCP echo server, the baseline for "server CPU per message relative to raw
 * TCP moving the same bytes". One thread, epoll (level-triggered), Nagle off, 127.0.0.1 only.
 * Reads up to 1 MiB per recv (what ws.h reads at most for a large frame, WS_BUF_MIN = 16 KiB
 * otherwise does not matter here: the reads are as large as the socket has); writes back at
 * once; what the socket does not take is queued and the connection stops reading until the
 * queue is sent.   tcp_echo PORT      (prints "ready"; SIGTERM ends it)
 *   tcp_echo PORT hs   the handshake baseline for hs_load.c: the least a server must do for
 *                      the exchange: answer the request with a canned 101, the close frame with
 *                      a close frame (MSG_MORE: the FIN rides in its segment), then close (accept4, epoll ADD, recv, send, recv, send,
 *                      close; Nagle off through the listener, which accepted sockets inherit) */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#define RBUF (1u << 20)
typedef struct conn { int fd, st; unsigned char *q; size_t qoff, qlen, qcap; } conn;
static volatile sig_atomic_t g_stop;
static void on_term(int s) { (void)s; g_stop = 1; }

static void close_conn(int ep, conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd); free(c->q); free(c);
}
static int queue(conn *c, const unsigned char *p, size_t n) {
    if (c->qlen + n > c->qcap) {
        size_t cap = c->qlen + n;
        unsigned char *nq = (unsigned char *)realloc(c->q, cap);
        if (!nq) return -1;
        c->q = nq; c->qcap = cap;
    }
    memcpy(c->q + c->qlen, p, n); c->qlen += n;
    return 0;
}
static void want(int ep, conn *c, unsigned ev) {
    struct epoll_event e;
    e.events = ev; e.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}
/* 0 = ok, -1 = close */
static int flush(int ep, conn *c) {
    while (c->qoff < c->qlen) {
        ssize_t n = send(c->fd, c->q + c->qoff, c->qlen - c->qoff, MSG_NOSIGNAL);
        if (n < 0) { if (errno == EINTR) continue; if (errno == EAGAIN) return 0; return -1; }
        c->qoff += (size_t)n;
    }
    c->qoff = c->qlen = 0;
    want(ep, c, EPOLLIN);
    return 0;
}
static int readable(int ep, conn *c, unsigned char *buf) {
    for (;;) {
        ssize_t n = recv(c->fd, buf, RBUF, 0), w = 0;
        if (n == 0) return -1;
        if (n < 0) { if (errno == EINTR) continue; return errno == EAGAIN ? 0 : -1; }
        while (w < n) {
            ssize_t k = send(c->fd, buf + w, (size_t)(n - w), MSG_NOSIGNAL);
            if (k < 0) { if (errno == EINTR) continue; if (errno == EAGAIN) break; return -1; }
            w += k;
        }
        if (w < n) {   /* the socket is full: keep the rest, wait for POLLOUT, stop reading */
            if (queue(c, buf + w, (size_t)(n - w))) return -1;
            want(ep, c, EPOLLOUT);
            return 0;
        }
        if ((size_t)n < RBUF / 2) return 0;
    }
}

static const char g_101[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
/* hs mode: 0 = wait, -1 = close (done or failed) */
static int hs_readable(conn *c, unsigned char *buf) {
    static const unsigned char cl[4] = {0x88, 0x02, 0x03, 0xe8};
    ssize_t n = recv(c->fd, buf, 4096, 0);
    if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n == 0) return -1;
    if (c->st == 0) {   /* the request comes in one segment here */
        if (n < 4 || memcmp(buf + n - 4, "\r\n\r\n", 4)) return -1;
        c->st = 1;
        return send(c->fd, g_101, sizeof g_101 - 1, MSG_NOSIGNAL) == (ssize_t)sizeof g_101 - 1 ? 0 : -1;
    }
    if (n == 8 && buf[0] == 0x88) (void)send(c->fd, cl, sizeof cl, MSG_NOSIGNAL | MSG_MORE);   /* FIN rides along */
    return -1;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 9002, one = 1, ep, lfd;
    int hs = argc > 2 && !strcmp(argv[2], "hs");
    struct sockaddr_in a;
    struct epoll_event e, evs[256];
    unsigned char *buf = (unsigned char *)malloc(RBUF);
    signal(SIGTERM, on_term); signal(SIGINT, on_term);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (hs) setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET; a.sin_port = htons((uint16_t)port); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!buf || bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 1024)) { perror("listen"); return 1; }
    ep = epoll_create1(0);
    e.events = EPOLLIN; e.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
    printf("ready\n"); fflush(stdout);
    while (!g_stop) {
        int n = epoll_wait(ep, evs, 256, 100), i;
        for (i = 0; i < n; i++) {
            conn *c = (conn *)evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c = (conn *)calloc(1, sizeof *c);
                    if (!c) { close(fd); continue; }
                    c->fd = fd;
                    if (!hs) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    e.events = EPOLLIN; e.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            if (hs) { if (hs_readable(c, buf)) { close(c->fd); free(c); } continue; }
            if (evs[i].events & EPOLLOUT) { if (flush(ep, c)) { close_conn(ep, c); continue; } }
            else if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) { if (readable(ep, c, buf)) close_conn(ep, c); }
        }
    }
    close(lfd); close(ep); free(buf);
    return 0;
}
