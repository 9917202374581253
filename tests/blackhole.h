/* blackhole.h - for tests of a client's connect over several addresses (test_race.c,
 * test_tls.c): a listener that drops SYNs, and a resolver's answer given in its place (no name
 * resolves to chosen loopback addresses here). POSIX; include after ws.h (with its
 * implementation: it reaches the client's internals) and test.h. */
#ifndef WS_TEST_BLACKHOLE_H
#define WS_TEST_BLACKHOLE_H
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>

/* A listener on ip:port (port 0: any) whose accept queue is full, so it drops SYNs: a
 * connect to it neither succeeds nor fails; *lfd and the fillers of its queue
 * fill[0..*nfill) are the caller's to close. 1 = done, 0 = this system did not fill it. */
static int hr_blackhole(uint32_t ip, uint16_t *port, int *lfd, int fill[4], int *nfill) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int i;
    *nfill = 0;
    *lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(ip);
    a.sin_port = htons(*port);
    CHECK(*lfd >= 0 && bind(*lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(*lfd, 0) == 0 &&
          getsockname(*lfd, (struct sockaddr *)&a, &al) == 0);
    *port = ntohs(a.sin_port);
    for (i = 0; i < 4; i++) {   /* connect until one stays pending: the queue is full */
        struct pollfd p;
        fill[i] = socket(AF_INET, SOCK_STREAM, 0);
        (void)ws__sock_nonblock(fill[i]);
        (void)connect(fill[i], (struct sockaddr *)&a, sizeof a);
        p.fd = fill[i]; p.events = POLLOUT; p.revents = 0;
        (*nfill)++;
        if (poll(&p, 1, i == 0 ? 30000 : 1000) == 0) return 1;
    }
    SKIP("could not fill a listen queue on this system");
    return 0;
}
static void hr_close(int lfd, const int *fill, int nfill) {
    int i;
    for (i = 0; i < nfill; i++) close(fill[i]);
    if (lfd >= 0) close(lfd);
}
/* c (RESOLVING a host name on the resolver thread) is given ip[i]:port[i], i < n, as the
 * resolver's answer instead (getaddrinfo of a numeric address lists it once per socket type:
 * entries past n repeat the last). 1 = c is CONNECTING to ip[0]; 0 = SKIPPED (a shorter list). */
static int hr_answer(ws_conn *c, const uint32_t *ip, const uint16_t *port, int n) {
    struct addrinfo hints, *res = NULL, *ai;
    int i = 0;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_flags = AI_NUMERICHOST;
    CHECK(getaddrinfo("127.0.0.1", NULL, &hints, &res) == 0 && res);
    for (ai = res; ai; ai = ai->ai_next, i++) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ai->ai_addr;
        s4->sin_addr.s_addr = htonl(ip[i < n ? i : n - 1]);
        s4->sin_port = htons(port[i < n ? i : n - 1]);
    }
    if (i < n) {
        SKIP("getaddrinfo lists a numeric address fewer times than this test needs");
        if (res) freeaddrinfo(res);
        return 0;
    }
    CHECK_EQ(c->state, WS__RESOLVING);
    ws__dns_release(c);
    ws__client_resolved(c, 0, res);   /* takes res */
    CHECK_EQ(c->state, WS__CONNECTING);
    return c->state == WS__CONNECTING;
}
#endif
