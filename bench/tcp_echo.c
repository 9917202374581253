/* tcp_echo.c - raw TCP echo server, the baseline for "server CPU per message relative to raw
 * TCP moving the same bytes". One thread, epoll (level-triggered), Nagle off, 127.0.0.1 only.
 * Reads up to 1 MiB per recv (what ws.h reads at most for a large frame, WS_BUF_MIN = 16 KiB
 * otherwise does not matter here: the reads are as large as the socket has); writes back at
 * once; what the socket does not take is queued and the connection stops reading until the
 * queue is sent.   tcp_echo PORT      (prints "ready"; SIGTERM ends it)
 *   tcp_echo PORT hs   the handshake baseline for hs_load.c: the least a server must do for
 *                      the exchange: answer the request with a canned 101, the close frame with
 *                      a close frame (MSG_MORE: the FIN rides in its segment), then close (accept4, epoll ADD, recv, send, recv, send,
 *                      close; Nagle off through the listener, which accepted sockets inherit)
 *   tcp_echo PORT ws   the floor for a WebSocket echo (tcp_load ... ws): the least any WebSocket
 *                      server must add to the raw echo: a canned 101 for the upgrade, then each
 *                      read's frames unmasked in place (ws.h's ws_mask) and echoed as unmasked
 *                      frames with one sendmsg per read (reply headers + payloads from the read
 *                      buffer, as ws.h sends them); no checks, no limits, no events */
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
#include <sys/uio.h>
#define WS_NO_NET            /* ws_mask only */
#define WS_IMPLEMENTATION
#include "../ws.h"

#define RBUF (1u << 20)
typedef struct conn { int fd, st; unsigned char *q; size_t qoff, qlen, qcap;
                     unsigned char h[14]; size_t hl; unsigned long long left, moff; } conn;   /* ws mode: the frame being read */
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
static int g_wsmode;
static int ws_upgrade(conn *c, unsigned char *buf);
static int ws_readable(int ep, conn *c, unsigned char *buf, ssize_t n);
static int readable(int ep, conn *c, unsigned char *buf) {
    if (g_wsmode && !c->st) return ws_upgrade(c, buf);
    for (;;) {
        ssize_t n = recv(c->fd, buf, RBUF, 0), w = 0;
        if (n == 0) return -1;
        if (n < 0) { if (errno == EINTR) continue; return errno == EAGAIN ? 0 : -1; }
        if (g_wsmode) {
            if (ws_readable(ep, c, buf, n)) return -1;
            if (c->qlen || (size_t)n < RBUF / 2) return 0;
            continue;
        }
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

/* ws mode: one sendmsg of iovecs (reply headers in oh, payloads in the read buffer); what the
 * socket does not take is queued. 0 = ok, -1 = close */
#define WS_IOV 256
static struct iovec g_iov[WS_IOV];
static unsigned char g_oh[WS_IOV / 2][10];
static int g_niov, g_noh;
static int ws_send(int ep, conn *c) {
    struct msghdr m;
    ssize_t k;
    int i;
    if (!g_niov) return 0;
    memset(&m, 0, sizeof m);
    m.msg_iov = g_iov; m.msg_iovlen = (size_t)g_niov;
    if (c->qlen) k = 0;   /* already queueing: keep the order */
    else for (;;) {
        k = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (k >= 0) break;
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return -1;
        k = 0; break;
    }
    for (i = 0; i < g_niov; i++) {   /* queue what did not go */
        size_t n = g_iov[i].iov_len, skip = (size_t)k < n ? (size_t)k : n;
        k -= (ssize_t)skip;
        if (n > skip && queue(c, (unsigned char *)g_iov[i].iov_base + skip, n - skip)) return -1;
    }
    if (c->qlen) want(ep, c, EPOLLOUT);
    g_niov = g_noh = 0;
    return 0;
}
static void ws_out(const void *p, size_t n) { g_iov[g_niov].iov_base = (void *)p; g_iov[g_niov].iov_len = n; g_niov++; }
static int ws_readable(int ep, conn *c, unsigned char *buf, ssize_t n) {
    ssize_t i = 0;
    g_niov = g_noh = 0;   /* nothing left from a connection that failed mid-read */
    while (i < n) {
        if (!c->left) {   /* header bytes: 2, + 2 or 8 of length, + 4 of mask */
            size_t need = 2;
            c->h[c->hl++] = buf[i++];
            if (c->hl >= 2) need = 2 + ((c->h[1] & 127) == 126 ? 2 : (c->h[1] & 127) == 127 ? 8 : 0) + 4;
            if (c->hl < need) continue;
            {
                unsigned long long len = c->h[1] & 127;
                unsigned char *o;
                size_t j, ol;
                if (len == 126) len = (unsigned long long)c->h[2] << 8 | c->h[3];
                else if (len == 127) for (len = 0, j = 2; j < 10; j++) len = len << 8 | c->h[j];
                if (g_niov + 2 > WS_IOV && ws_send(ep, c)) return -1;
                o = g_oh[g_noh++];
                o[0] = c->h[0];
                if (len < 126) { o[1] = (unsigned char)len; ol = 2; }
                else if (len < 65536) { o[1] = 126; o[2] = (unsigned char)(len >> 8); o[3] = (unsigned char)len; ol = 4; }
                else { o[1] = 127; for (j = 0; j < 8; j++) o[2 + j] = (unsigned char)(len >> (56 - 8 * j)); ol = 10; }
                ws_out(o, ol);
                c->left = len; c->moff = 0; c->hl = 0;
                memmove(c->h, c->h + need - 4, 4);   /* the mask, at h[0..4) while the payload lasts */
            }
            continue;
        }
        {
            size_t k = (size_t)(n - i) < c->left ? (size_t)(n - i) : (size_t)c->left;
            ws_mask(buf + i, k, c->h, c->moff);
            if (g_niov + 2 > WS_IOV && ws_send(ep, c)) return -1;
            ws_out(buf + i, k);
            c->left -= k; c->moff += k; i += (ssize_t)k;
        }
    }
    return ws_send(ep, c);
}

static const char g_101[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
static int ws_upgrade(conn *c, unsigned char *buf) {   /* ws mode: the request in one read here */
    ssize_t n = recv(c->fd, buf, 4096, 0);
    if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n < 4 || memcmp(buf + n - 4, "\r\n\r\n", 4)) return -1;
    c->st = 1;
    return send(c->fd, g_101, sizeof g_101 - 1, MSG_NOSIGNAL) == (ssize_t)sizeof g_101 - 1 ? 0 : -1;
}
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
    g_wsmode = argc > 2 && !strcmp(argv[2], "ws");
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
