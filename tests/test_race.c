/* test_race.c - Happy Eyeballs (RFC 8305 section 5, ws_config.connect_race_ms): a client whose
 * host has several addresses dials the next one while the last is still connecting, keeps the
 * first to connect and closes the other. The addresses are the resolver's answer, replaced in
 * its place (as in test_loopback_connect_next_address: no name resolves that way here). A
 * "blackholed" address is a listener whose accept queue is full: it drops SYNs, so a connect
 * neither succeeds nor fails. Every check is on events and states; connect_timeout_ms is so
 * long that, without the race, the wait would hit LB_WAIT's hang limit instead. */
#if !defined(_WIN32) && !defined(WS_NO_THREADS) && defined(WS__RACE)
#include <sys/stat.h>
#include <fcntl.h>
#include "blackhole.h"

/* A port on ip that refuses connections (bound, not listening: nothing else takes it) */
static int hr_refuser(uint32_t ip, uint16_t *port) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(ip);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* ws_connect to url (a host name, or the proxy's name in o) with the resolver's answer
 * replaced (hr_answer); NULL when that cannot be done. */
static ws_conn *hr_connect_to(ws_ctx *ctx, const char *url, const ws_connect_opts *o,
                              const uint32_t *ip, const uint16_t *port, int n) {
    ws_conn *c = lb_connect(ctx, url, o);
    return c && hr_answer(c, ip, port, n) ? c : NULL;
}
static ws_conn *hr_connect(ws_ctx *ctx, const uint32_t *ip, const uint16_t *port, int n) {
    return hr_connect_to(ctx, "ws://localhost:1/", NULL, ip, port, n);
}
/* Which socket an fd number is: its inode (0: not open). A closed one never matches again,
 * even when its number is reused. */
static unsigned long hr_ino(int fd) {
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 ? (unsigned long)st.st_ino : 0;
}
static int hr_racing(ws_conn *c) { return ws__cl(c) && ws__cl(c)->race.ai != NULL; }
static void hr_remote_is(ws_conn *c, const char *ip) {
    char addr[64];
    CHECK_EQ(ws_conn_remote(c, addr, sizeof addr, NULL), WS_OK);
    CHECK(strncmp(addr, ip, strlen(ip)) == 0 && addr[strlen(ip)] == ':');
    if (strncmp(addr, ip, strlen(ip)) != 0) printf("  remote %s, not %s\n", addr, ip);
}

/* c opens (on ip), then closes cleanly when asked */
static void hr_opens_on(ws_ctx *ctx, ws_conn *c, lb_rec *r, const char *ip) {
    int ok;
    LB_WAIT(ok, ctx, NULL, r->opens == 1 || r->closes > 0);
    CHECK_EQ(r->opens, 1);
    CHECK_EQ(r->errors, 0);
    if (r->errors) printf("  error: %s\n", r->err_msg);
    if (!r->opens) return;
    hr_remote_is(c, ip);
    CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, NULL), WS_OK);
    LB_WAIT(ok, ctx, NULL, r->closes == 1);
}

/* The first address blackholed, the second serving: the second is dialled after
 * connect_race_ms (not at once) while the first is still connecting, and opens; the first's
 * socket is closed. One at a time, the first would have 60 s of connect_timeout_ms. */
static void test_race_blackholed_first(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_config cfg;
    ws_conn *c;
    ws_listener *l = NULL;
    lb_rec *r;
    int lfd, fill[4], nfill = 0, ok, f0;
    unsigned long i0;
    uint16_t port = 0, ports[2];
    uint32_t ips[2] = {0x7F000002, 0x7F000003};
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.connect_timeout_ms = 4 * LB_CAP_MS;
    ctx = lb_ctx(s, &cfg);
    if (!hr_blackhole(ips[0], &port, &lfd, fill, &nfill)) goto out;
    CHECK_EQ(ws_listen(ctx, "127.0.0.3", port, &l), WS_OK);
    ports[0] = ports[1] = port;
    if (!l || !(c = hr_connect(ctx, ips, ports, 2))) goto out;
    r = &s->rec[ws_conn_id(c) % LB_MAXC];
    f0 = (int)c->fd;
    i0 = hr_ino(f0);
    CHECK(i0 != 0);
    CHECK(!hr_racing(c));   /* not at once: after the delay */
    LB_WAIT(ok, ctx, NULL, hr_racing(c) || r->opens || r->closes);
    CHECK(hr_racing(c));    /* both in flight, the first still c's */
    CHECK_EQ(c->fd, f0);
    CHECK_EQ(c->state, WS__CONNECTING);
    LB_WAIT(ok, ctx, NULL, r->opens == 1 || r->closes > 0);
    CHECK(hr_ino(f0) != i0);   /* the loser's socket is closed */
    CHECK(!hr_racing(c));
    hr_opens_on(ctx, c, r, "127.0.0.3");
out:
    hr_close(lfd, fill, nfill);
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* Every address blackholed: both attempts run until connect_timeout_ms, then WS_ERR_TIMEOUT
 * naming the host; neither socket is left open. */
static void test_race_all_blackholed(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_config cfg;
    ws_conn *c;
    lb_rec *r;
    int lfd, fill[4], nfill = 0, ok, f0 = -1, f1 = -1;
    unsigned long i0 = 0, i1 = 0;
    uint16_t port = 0, ports[2];
    uint32_t ips[2] = {0x7F000002, 0x7F000002};
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.connect_timeout_ms = 1500;
    ctx = lb_ctx(s, &cfg);
    if (!hr_blackhole(ips[0], &port, &lfd, fill, &nfill)) goto out;
    ports[0] = ports[1] = port;
    if (!(c = hr_connect(ctx, ips, ports, 2))) goto out;   /* the same silent address twice */
    r = &s->rec[ws_conn_id(c) % LB_MAXC];
    f0 = (int)c->fd;
    i0 = hr_ino(f0);
    LB_WAIT(ok, ctx, NULL, hr_racing(c) || r->closes);
    CHECK(hr_racing(c));
    if (hr_racing(c)) { f1 = (int)ws__cl(c)->race.fd; i1 = hr_ino(f1); }
    CHECK(i1 != 0 && i1 != i0);
    LB_WAIT(ok, ctx, NULL, r->closes > 0);
    CHECK_EQ(r->opens, 0);
    CHECK_EQ(r->err_result, WS_ERR_TIMEOUT);
    CHECK(strstr(r->err_msg, "localhost: connect timed out") != NULL);
    if (!strstr(r->err_msg, "localhost: connect timed out")) printf("  error: %s\n", r->err_msg);
    CHECK(hr_ino(f0) != i0);
    CHECK(hr_ino(f1) != i1);
out:
    hr_close(lfd, fill, nfill);
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* The first address refuses: the next is dialled at once, not after connect_race_ms (here
 * longer than LB_WAIT's hang limit). */
static void test_race_refused_first(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_config cfg;
    ws_conn *c;
    ws_listener *l = NULL;
    int rfd;
    uint16_t ports[2];
    uint32_t ips[2] = {0x7F000002, 0x7F000001};
    char url[64];
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.connect_timeout_ms = 4 * LB_CAP_MS;
    cfg.connect_race_ms = 4 * LB_CAP_MS;
    ctx = lb_ctx(s, &cfg);
    rfd = hr_refuser(ips[0], &ports[0]);
    l = lb_listen(ctx, url);
    if (!l) goto out;
    ports[1] = (uint16_t)ws_listener_port(l);
    if (!(c = hr_connect(ctx, ips, ports, 2))) goto out;
    hr_opens_on(ctx, c, &s->rec[ws_conn_id(c) % LB_MAXC], "127.0.0.1");
out:
    if (rfd >= 0) close(rfd);
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* The second address (the racer) refuses while the first is silent: the third is dialled at
 * once, beside the first, and opens (else it would wait for the first's 60 s share). */
static void test_race_racer_refused(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_config cfg;
    ws_conn *c;
    ws_listener *l = NULL;
    int lfd, fill[4], nfill = 0, rfd;
    uint16_t port = 0, ports[3];
    uint32_t ips[3] = {0x7F000002, 0x7F000002, 0x7F000003};
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.connect_timeout_ms = 4 * LB_CAP_MS;
    ctx = lb_ctx(s, &cfg);
    rfd = hr_refuser(ips[1], &ports[1]);
    if (!hr_blackhole(ips[0], &port, &lfd, fill, &nfill)) goto out;
    CHECK_EQ(ws_listen(ctx, "127.0.0.3", port, &l), WS_OK);
    ports[0] = ports[2] = port;
    if (!l || !(c = hr_connect(ctx, ips, ports, 3))) goto out;
    hr_opens_on(ctx, c, &s->rec[ws_conn_id(c) % LB_MAXC], "127.0.0.3");
out:
    if (rfd >= 0) close(rfd);
    hr_close(lfd, fill, nfill);
    ws_ctx_destroy(ctx);
    lb_done(s);
}

/* Both addresses silent; once the second is in flight, the first's listener makes room (its
 * queue accepted and emptied): the first's retransmitted SYN gets in and the first wins,
 * though it started earlier; the racer is closed and the handshake runs on the first. */
static void test_race_first_wins_late(void) {
    lb_state *s = lb_new();
    ws_ctx *ctx;
    ws_config cfg;
    ws_conn *c;
    lb_rec *r;
    int lfd, fill[4], nfill = 0, lfd2 = -1, fill2[4], nfill2 = 0, ok, f1 = -1, i, acc = -1;
    unsigned long i1 = 0;
    uint16_t port = 0, port2 = 0, ports[2];
    uint32_t ips[2] = {0x7F000002, 0x7F000003};
    struct sockaddr_in me;
    socklen_t ml = sizeof me;
    int64_t end;
    if (!s) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.connect_timeout_ms = 4 * LB_CAP_MS;
    ctx = lb_ctx(s, &cfg);
    if (!hr_blackhole(ips[0], &port, &lfd, fill, &nfill)) goto out;
    if (!hr_blackhole(ips[1], &port2, &lfd2, fill2, &nfill2)) goto out;
    ports[0] = port;
    ports[1] = port2;
    if (!(c = hr_connect(ctx, ips, ports, 2))) goto out;
    r = &s->rec[ws_conn_id(c) % LB_MAXC];
    CHECK(getsockname((int)c->fd, (struct sockaddr *)&me, &ml) == 0);
    LB_WAIT(ok, ctx, NULL, hr_racing(c) || r->closes);
    CHECK(hr_racing(c));
    if (!hr_racing(c)) goto out;
    f1 = (int)ws__cl(c)->race.fd;
    i1 = hr_ino(f1);
    /* room in the first's queue: its fillers go (the pending one no longer retries) */
    for (i = 0; i < nfill; i++) close(fill[i]);
    nfill = 0;
    (void)ws__sock_nonblock(lfd);
    for (;;) { int a = accept(lfd, NULL, NULL); if (a < 0) break; close(a); }
    LB_WAIT(ok, ctx, NULL, c->state != WS__CONNECTING || r->closes);
    CHECK_EQ(c->state, WS__HANDSHAKE);
    CHECK_EQ(r->closes, 0);
    hr_remote_is(c, "127.0.0.2");
    CHECK(!hr_racing(c));
    CHECK(hr_ino(f1) != i1);   /* the racer's socket is closed */
    end = lb_ms() + LB_CAP_MS;   /* the first's connection is in the queue: it is ours */
    while (acc < 0 && lb_ms() < end) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        int a = accept(lfd, (struct sockaddr *)&peer, &pl);
        if (a >= 0 && peer.sin_port != me.sin_port) { close(a); continue; }   /* a late filler */
        acc = a;
        if (acc < 0) lb_poll(ctx, NULL);
    }
    CHECK(acc >= 0);
    if (acc >= 0) {   /* served by this ctx: the upgrade goes through, OPEN on the first */
        ws_engine_opts eo;
        memset(&eo, 0, sizeof eo);
        eo.server = 1;
        CHECK_EQ(ws_conn_adopt(ctx, acc, &eo, NULL, NULL), WS_OK);
        LB_WAIT(ok, ctx, NULL, r->opens == 1 || r->closes);
        CHECK_EQ(r->opens, 1);
        CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, NULL), WS_OK);
        LB_WAIT(ok, ctx, NULL, r->closes == 1);
    }
out:
    hr_close(lfd, fill, nfill);
    hr_close(lfd2, fill2, nfill2);
    ws_ctx_destroy(ctx);
    lb_done(s);
}

#ifndef WS_NO_PROXY
/* Through an HTTP proxy whose name has a blackholed address first and tinyproxy's second:
 * the proxy's addresses race, and CONNECT goes out on the winner only (tinyproxy's); the
 * tunnel opens and echoes. */
static void test_race_proxy(void) {
    lb_state *s = lb_new();
    tproxy p;
    ws_ctx *ctx = NULL;
    ws_config cfg;
    ws_connect_opts o;
    ws_conn *c;
    lb_rec *r;
    char url[64];
    int lfd = -1, fill[4], nfill = 0, ok;
    uint16_t port = 0, ports[2], rport = 0;
    uint32_t ips[2] = {0x7F000002, 0x7F000001};
    if (!s) return;
    if (!tproxy_start(&p, "test_race_proxy", NULL, NULL, 0)) { lb_done(s); return; }
    memset(&cfg, 0, sizeof cfg);
    cfg.connect_timeout_ms = 4 * LB_CAP_MS;
    ctx = lb_ctx(s, &cfg);
    s->echo = 1;
    if (!lb_listen(ctx, url) || !hr_blackhole(ips[0], &port, &lfd, fill, &nfill)) goto out;
    ports[0] = port;
    ports[1] = p.port;
    memset(&o, 0, sizeof o);
    o.proxy = "http://localhost:1/";
    if (!(c = hr_connect_to(ctx, url, &o, ips, ports, 2))) goto out;
    r = &s->rec[ws_conn_id(c) % LB_MAXC];
    LB_WAIT(ok, ctx, NULL, r->opens == 1 || r->closes > 0);
    CHECK_EQ(r->opens, 1);
    if (r->errors) printf("  error: %s\n", r->err_msg);
    if (!r->opens) goto out;
    CHECK_EQ(ws_conn_remote(c, url, sizeof url, &rport), WS_OK);
    CHECK_EQ(rport, p.port);   /* the socket is the proxy's */
    CHECK_EQ(ws_conn_send_text(c, "through the winner"), WS_OK);
    LB_WAIT(ok, ctx, NULL, r->msgs == 1);
    CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, NULL), WS_OK);
    LB_WAIT(ok, ctx, NULL, r->closes == 1);
out:
    hr_close(lfd, fill, nfill);
    if (ctx) ws_ctx_destroy(ctx);
    tproxy_stop(&p);
    lb_done(s);
}
#endif

#ifndef WS_NO_WATCH
/* The host's own loop (on_watch, test_watch.c's): it is told of the racer's socket (two
 * connects watched at once) and reports it through ws_socket_ready, which is how the second
 * address wins; every socket is unwatched while still open (checked here), the loser too. */
static int hr_unwatched_closed;
static void hr_watch(ws_ctx *ctx, intptr_t fd, int events, void *token, void **host, void *user) {
    if (!events && fcntl((int)fd, F_GETFD) < 0) hr_unwatched_closed++;
    hw_watch(ctx, fd, events, token, host, user);
}
static int hr_connecting(const hw_host *h) {   /* registrations waiting for a connect */
    int i, n = 0;
    for (i = 0; i < h->nreg; i++) n += h->reg[i].live && h->reg[i].events == WS_POLLOUT;
    return n;
}
static void test_race_host_loop(void) {
    static hw_host h;
    ws_ctx *ctx;
    ws_config cfg;
    ws_conn *c;
    ws_listener *l = NULL;
    int lfd, fill[4], nfill = 0, f0, most = 0;
    unsigned long i0;
    uint16_t port = 0, ports[2];
    uint32_t ips[2] = {0x7F000002, 0x7F000003};
    int64_t end;
    memset(&h, 0, sizeof h);
    h.timer_at = -1;
    hr_unwatched_closed = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = hw_event;
    cfg.on_watch = hr_watch;
    cfg.on_timer = hw_timer;
    cfg.user = &h;
    cfg.connect_timeout_ms = 4 * LB_CAP_MS;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    if (!hr_blackhole(ips[0], &port, &lfd, fill, &nfill)) goto out;
    CHECK_EQ(ws_listen(ctx, "127.0.0.3", port, &l), WS_OK);
    ports[0] = ports[1] = port;
    if (!l || !(c = hr_connect(ctx, ips, ports, 2))) goto out;
    f0 = (int)c->fd;
    i0 = hr_ino(f0);
    end = ws__now_ms() + LB_CAP_MS;
    while (h.opens < 2 && ws__now_ms() < end) {
        hw_pass(ctx, &h, 50);
        if (hr_connecting(&h) > most) most = hr_connecting(&h);
    }
    CHECK_EQ(h.opens, 2);   /* the client and its server side */
    CHECK_EQ(most, 2);
    CHECK(hr_ino(f0) != i0);
    if (h.last_client) hr_remote_is(h.last_client, "127.0.0.3");
out:
    ws_ctx_destroy(ctx);
    hr_close(lfd, fill, nfill);
    CHECK_EQ(h.bad, 0);
    CHECK_EQ(hr_unwatched_closed, 0);
    CHECK_EQ(h.adds, h.removes);
}
#endif

static void suite_race(void) {
    RUN(test_race_blackholed_first);
    RUN(test_race_all_blackholed);
    RUN(test_race_refused_first);
    RUN(test_race_racer_refused);
    RUN(test_race_first_wins_late);
#ifndef WS_NO_PROXY
    RUN(test_race_proxy);
#endif
#ifndef WS_NO_WATCH
    RUN(test_race_host_loop);
#endif
}
#else
static void suite_race(void) {}
#endif
