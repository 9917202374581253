/* test_apploop.c - the loop as the application's only loop: ws_timer_start (order, repeat,
 * cancel, again, freed one-shots), ws_watch_fd on a pipe (ready, paused, removed from its own
 * callback), ws_ctx_post (order per thread, none lost from four threads, a bounded queue,
 * posts still queued run in ws_ctx_destroy) and reuse_port (two ctxs in two threads on one
 * port). Order and counts are checked, never durations; wall-clock limits only catch hangs. */
#ifndef _WIN32
#include <pthread.h>
#include <unistd.h>

typedef struct al_state { int order[16], n, fired_a, again_left, repeat_left, cancelled_fired; ws_timer *rep; } al_state;
#if !defined(WS_NO_TIMERS) || !defined(WS_NO_WATCH) || !defined(WS_NO_POST)
static void al_nop(ws_conn *c, const ws_event *ev, void *u) { (void)c; (void)ev; (void)u; }
static ws_ctx *al_ctx(void *user) {
    ws_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = al_nop;
    cfg.user = user;
    return ws_ctx_create(&cfg);
}
#define AL_UNTIL(ctx, cond) do { int64_t end_ = ws__now_ms() + 20000; \
    while (!(cond) && ws__now_ms() < end_) { (void)ws_poll((ctx), 50); } \
    CHECK(cond); } while (0)

#endif

#ifndef WS_NO_TIMERS   /* test-minimal: the switched-off parts drop out */
static al_state *al_cur;
static void al_mark1(ws_ctx *x, void *a) { (void)x; al_cur->order[al_cur->n++ & 15] = (int)(intptr_t)a; }
static void al_rep(ws_ctx *x, void *a) {
    (void)x; (void)a;
    if (--al_cur->repeat_left == 0) ws_timer_cancel(al_cur->rep);   /* from its own fn */
}
static void al_never(ws_ctx *x, void *a) { (void)x; (void)a; al_cur->cancelled_fired++; }

static void test_apploop_timers(void) {
    static al_state st;
    ws_ctx *ctx = al_ctx(&st);
    ws_timer *t[3], *gone = NULL;
    int64_t due[4];
    int k;
    if (!ctx) { CHECK(ctx != NULL); return; }
    memset(&st, 0, sizeof st);
    al_cur = &st;
    /* fire in due order, whatever the order of starting (dues are read back: the clock moves
     * between the calls, so the test compares with what was filed, not with the ms given) */
    CHECK_EQ(ws_timer_start(ctx, 60, 0, al_mark1, (void *)(intptr_t)1, &t[0]), WS_OK);
    CHECK_EQ(ws_timer_start(ctx, 20, 0, al_mark1, (void *)(intptr_t)2, &t[1]), WS_OK);
    CHECK_EQ(ws_timer_start(ctx, 40, 0, al_mark1, (void *)(intptr_t)3, &t[2]), WS_OK);
    for (k = 0; k < 3; k++) due[k + 1] = t[k]->due;
    CHECK_EQ(ws_timer_start(ctx, 30, 0, al_never, NULL, &gone), WS_OK);
    ws_timer_cancel(gone);                       /* cancelled before it was due: never runs */
    /* beyond the heap key's reach (2^30 ms): filed at that limit, and when the limit comes
     * (made to come now here) filed again, not run */
    CHECK_EQ(ws_timer_start(ctx, 0x7fffffff, 0, al_never, NULL, &gone), WS_OK);
    CHECK_EQ(gone->due - ctx->now, 0x7fffffff);
    CHECK_EQ(ws__t64(ctx, gone->hn.due) - ctx->now, (int64_t)1 << 30);
    ws__heap_file(ctx, &gone->hn, ctx->now);
    (void)ws_poll(ctx, 0);
    CHECK(WS__HPOS(&gone->hn) != 0 && ws__t64(ctx, gone->hn.due) > ctx->now);
    ws_timer_cancel(gone);
    st.repeat_left = 5;
    CHECK_EQ(ws_timer_start(ctx, 1, 1, al_rep, NULL, &st.rep), WS_OK);
    AL_UNTIL(ctx, st.n == 3 && st.repeat_left == 0);
    CHECK(due[st.order[0]] <= due[st.order[1]] && due[st.order[1]] <= due[st.order[2]]);
    CHECK(st.order[0] != st.order[1] && st.order[1] != st.order[2] && st.order[0] != st.order[2]);
    CHECK_EQ(st.cancelled_fired, 0);
    CHECK_EQ(st.repeat_left, 0);                 /* ran exactly 5 times, then cancelled itself */
    ws_timer_again(t[1], 0);                     /* a kept one-shot fires again */
    AL_UNTIL(ctx, st.n == 4);
    CHECK_EQ(st.order[3], 2);
    CHECK_EQ(ctx->ntimers, 3);                   /* the kept ones; the repeating one cancelled itself */
    CHECK_EQ(ws_timer_start(ctx, 0, 0, al_mark1, (void *)(intptr_t)9, NULL), WS_OK);
    CHECK_EQ(ctx->ntimers, 4);
    AL_UNTIL(ctx, st.n == 5);
    CHECK_EQ(st.order[4], 9);
    CHECK_EQ(ctx->ntimers, 3);                   /* a one-shot started without out is freed */
    ws_ctx_destroy(ctx);                         /* frees the kept ones (ASan: no leak) */
}

#endif

#ifndef WS_NO_WATCH
typedef struct al_pipe { int hits, remove_at; ws_watch *w; int fd; } al_pipe;
static void al_on_fd(ws_ctx *x, intptr_t fd, int rev, void *arg) {
    al_pipe *p = (al_pipe *)arg;
    char b[16];
    (void)x;
    CHECK(rev & WS_POLLIN);
    CHECK_EQ(fd, p->fd);
    if (read((int)fd, b, sizeof b) > 0) p->hits++;
    if (p->hits == p->remove_at) ws_watch_remove(p->w);   /* from its own callback */
}
static void test_apploop_watch_fd(void) {
    static al_pipe p;
    int fds[2], i;
    ws_ctx *ctx = al_ctx(NULL);
    if (!ctx) { CHECK(ctx != NULL); return; }
    CHECK_EQ(pipe(fds), 0);
    memset(&p, 0, sizeof p);
    p.fd = fds[0];
    p.remove_at = 3;
    CHECK_EQ(ws_watch_fd(ctx, fds[0], WS_POLLIN, al_on_fd, &p, &p.w), WS_OK);
    CHECK_EQ(write(fds[1], "a", 1), 1);
    AL_UNTIL(ctx, p.hits == 1);
    ws_watch_set(p.w, 0);                        /* paused: readable, but not reported */
    CHECK_EQ(write(fds[1], "b", 1), 1);
    for (i = 0; i < 5; i++) (void)ws_poll(ctx, 0);
    CHECK_EQ(p.hits, 1);
    ws_watch_set(p.w, WS_POLLIN);                /* resumed: the waiting byte is seen */
    AL_UNTIL(ctx, p.hits == 2);
    CHECK_EQ(write(fds[1], "c", 1), 1);
    AL_UNTIL(ctx, p.hits == 3);                  /* ...and the watch removes itself */
    CHECK_EQ(write(fds[1], "d", 1), 1);
    for (i = 0; i < 5; i++) (void)ws_poll(ctx, 0);
    CHECK_EQ(p.hits, 3);
    CHECK(ctx->watches == NULL);
    ws_ctx_destroy(ctx);
    close(fds[0]);
    close(fds[1]);
    CHECK_EQ(ws_watch_fd(NULL, 0, WS_POLLIN, al_on_fd, &p, NULL), WS_ERR_ARG);
}

/* A watched fd closed without ws_watch_remove (a user's mistake): with epoll the kernel drops
 * it and nothing fires; with poll() (WS_NO_EPOLL, Windows, lwIP) its POLLNVAL comes back at
 * once from every wait, so the loop would spin: the watch is told once (WS_POLLERR) and is
 * no longer polled; ws_watch_set or ws_watch_remove still work on it. */
static int al_closed_calls, al_closed_rev;
static void al_on_closed(ws_ctx *x, intptr_t fd, int rev, void *arg) {
    (void)x; (void)fd; (void)arg;
    al_closed_calls++;
    al_closed_rev = rev;
}
static void test_apploop_watch_closed_fd(void) {
    int fds[2], i, t;
    ws_pollfd pf[8];
    ws_watch *w = NULL;
    size_t before, after;
    ws_ctx *ctx = al_ctx(NULL);
    if (!ctx) { CHECK(ctx != NULL); return; }
    CHECK_EQ(pipe(fds), 0);
    al_closed_calls = al_closed_rev = 0;
    CHECK_EQ(ws_watch_fd(ctx, fds[0], WS_POLLIN, al_on_closed, NULL, &w), WS_OK);
    before = ws_pollfds(ctx, pf, 8, &t);
    close(fds[0]);                               /* without ws_watch_remove */
    for (i = 0; i < 5; i++) (void)ws_poll(ctx, 0);
    after = ws_pollfds(ctx, pf, 8, &t);
#if defined(__linux__) && !defined(WS_NO_EPOLL)
    if (ctx->epfd >= 0) { CHECK_EQ(al_closed_calls, 0); CHECK_EQ(after, before); }
    else
#endif
    {
        CHECK_EQ(al_closed_calls, 1);            /* told once ... */
        CHECK_EQ(al_closed_rev, WS_POLLERR);
        CHECK_EQ(after, before - 1);             /* ... and no longer polled */
    }
    ws_watch_remove(w);
    ws_ctx_destroy(ctx);
    close(fds[1]);
}

#if defined(__linux__) && !defined(WS_NO_EPOLL)
/* epoll refuses a regular file and a second watch of the same fd: ws_watch_fd says so
 * (WS_ERR_ARG, ws_ctx_error) instead of a watch that would never fire. */
static void test_apploop_watch_refused(void) {
    static al_pipe p;
    int fds[2];
    ws_watch *w = NULL, *w2 = (ws_watch *)&p;
    FILE *f = tmpfile();
    ws_ctx *ctx = al_ctx(NULL);
    if (!ctx || !f) { CHECK(ctx != NULL && f != NULL); if (ctx) ws_ctx_destroy(ctx); if (f) fclose(f); return; }
    if (ctx->epfd < 0) { ws_ctx_destroy(ctx); fclose(f); return; }   /* a poll() build */
    CHECK_EQ(ws_watch_fd(ctx, fileno(f), WS_POLLIN, al_on_fd, &p, &w2), WS_ERR_ARG);
    CHECK(w2 == NULL);
    CHECK(strstr(ws_ctx_error(ctx), "epoll refuses") != NULL);
    CHECK_EQ(pipe(fds), 0);
    CHECK_EQ(ws_watch_fd(ctx, fds[0], WS_POLLIN, al_on_fd, &p, &w), WS_OK);
    CHECK_EQ(ws_watch_fd(ctx, fds[0], WS_POLLIN, al_on_fd, &p, &w2), WS_ERR_ARG);
    CHECK_EQ(ws_watch_fd(ctx, fds[1], 0, al_on_fd, &p, &w2), WS_OK);   /* nothing asked yet: fine */
    ws_ctx_destroy(ctx);                         /* frees them all (ASan: no leak) */
    close(fds[0]);
    close(fds[1]);
    fclose(f);
}
#endif

#endif

#ifndef WS_NO_POST
/* ---- posts ---- */
#define AL_THREADS 4
#define AL_PER 5000
typedef struct al_posts { int last[AL_THREADS], got, bad, full; ws_ctx *ctx; int stop; } al_posts;
static al_posts al_p;
static void al_post_fn(ws_ctx *x, void *arg) {
    intptr_t v = (intptr_t)arg;
    int t = (int)(v / AL_PER), seq = (int)(v % AL_PER);
    (void)x;
    if (t < 0 || t >= AL_THREADS || seq != al_p.last[t] + 1) al_p.bad++;   /* in order, none lost */
    else al_p.last[t] = seq;
    al_p.got++;
}
static void *al_producer(void *arg) {
    int t = (int)(intptr_t)arg, i;
    for (i = 0; i < AL_PER; i++) {
        ws_result rc;
        while ((rc = ws_ctx_post(al_p.ctx, al_post_fn, (void *)(intptr_t)(t * AL_PER + i))) == WS_ERR_FULL)
            sched_yield();                       /* back-pressure: try again */
        if (rc != WS_OK) { __sync_fetch_and_add(&al_p.full, 1000000); break; }
    }
    return NULL;
}
static void test_apploop_post_threads(void) {
    ws_config cfg;
    pthread_t th[AL_THREADS];
    int i;
    memset(&al_p, 0, sizeof al_p);
    for (i = 0; i < AL_THREADS; i++) al_p.last[i] = -1;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = al_nop;
    cfg.max_posts = 64;                          /* small: producers meet WS_ERR_FULL */
    al_p.ctx = ws_ctx_create(&cfg);
    if (!al_p.ctx) { CHECK(al_p.ctx != NULL); return; }
    for (i = 0; i < AL_THREADS; i++) CHECK_EQ(pthread_create(&th[i], NULL, al_producer, (void *)(intptr_t)i), 0);
    AL_UNTIL(al_p.ctx, al_p.got == AL_THREADS * AL_PER);
    for (i = 0; i < AL_THREADS; i++) pthread_join(th[i], NULL);
    CHECK_EQ(al_p.bad, 0);
    CHECK_EQ(al_p.full, 0);
    for (i = 0; i < AL_THREADS; i++) CHECK_EQ(al_p.last[i], AL_PER - 1);
    ws_ctx_destroy(al_p.ctx);
}

static int al_seq[8], al_nseq;
static ws_result al_late_rc;
static void al_rec(ws_ctx *x, void *arg) { (void)x; if (al_nseq < 8) al_seq[al_nseq++] = (int)(intptr_t)arg; }
static void al_post_late(ws_ctx *x, void *arg) { (void)arg; al_late_rc = ws_ctx_post(x, al_rec, (void *)(intptr_t)99); }
static void test_apploop_post_bounded(void) {
    ws_config cfg;
    ws_ctx *ctx;
    int i;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = al_nop;
    cfg.max_posts = 3;
    ctx = ws_ctx_create(&cfg);
    if (!ctx) { CHECK(ctx != NULL); return; }
    al_nseq = 0;
    for (i = 0; i < 3; i++) CHECK_EQ(ws_ctx_post(ctx, al_rec, (void *)(intptr_t)i), WS_OK);
    CHECK_EQ(ws_ctx_post(ctx, al_rec, (void *)(intptr_t)3), WS_ERR_FULL);   /* nothing queued */
    CHECK_EQ(ws_ctx_post(ctx, NULL, NULL), WS_ERR_ARG);
    AL_UNTIL(ctx, al_nseq == 3);
    CHECK(al_seq[0] == 0 && al_seq[1] == 1 && al_seq[2] == 2);
    /* queued when the ctx is destroyed: still run, in order; a post from inside is refused */
    CHECK_EQ(ws_ctx_post(ctx, al_rec, (void *)(intptr_t)4), WS_OK);
    CHECK_EQ(ws_ctx_post(ctx, al_post_late, NULL), WS_OK);
    ws_ctx_destroy(ctx);
    CHECK_EQ(al_nseq, 4);
    CHECK_EQ(al_seq[3], 4);
    CHECK_EQ(al_late_rc, WS_ERR_CLOSED);
}

/* ---- two ctxs, two threads, one port ---- */
typedef struct al_srv { ws_ctx *ctx; int opens, stop; pthread_t th; } al_srv;
static void al_srv_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)c;
    if (ev->type == WS_EV_OPEN) ((al_srv *)user)->opens++;
}
static void al_srv_stop(ws_ctx *x, void *arg) { (void)x; ((al_srv *)arg)->stop = 1; }
static void *al_srv_main(void *arg) {
    al_srv *s = (al_srv *)arg;
    int64_t end = ws__now_ms() + 30000;
    while (!s->stop && ws__now_ms() < end) (void)ws_poll(s->ctx, 100);
    return NULL;
}
static void test_apploop_reuse_port(void) {
    static al_srv srv[2];
    ws_config cfg;
    ws_listener *l = NULL;
    ws_ctx *cl;
    char url[64];
    int i, opened = 0, n = 40;
    static lb_state cls;
    memset(srv, 0, sizeof srv);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = al_srv_event;
    cfg.reuse_port = 1;
    for (i = 0; i < 2; i++) {
        cfg.user = &srv[i];
        srv[i].ctx = ws_ctx_create(&cfg);
        if (!srv[i].ctx) { CHECK(0); return; }
    }
    CHECK_EQ(ws_listen(srv[0].ctx, "127.0.0.1", 0, &l), WS_OK);
    CHECK_EQ(ws_listen(srv[1].ctx, "127.0.0.1", ws_listener_port(l), NULL), WS_OK);   /* same port */
    {   /* without reuse_port the same bind is refused */
        ws_config plain = cfg;
        ws_ctx *x;
        plain.reuse_port = 0;
        x = ws_ctx_create(&plain);
        CHECK(x != NULL);
        if (x) { CHECK_EQ(ws_listen(x, "127.0.0.1", ws_listener_port(l), NULL), WS_ERR_ADDR_IN_USE); ws_ctx_destroy(x); }
    }
    snprintf(url, sizeof url, "%s", ws_listener_url(l));
    for (i = 0; i < 2; i++) CHECK_EQ(pthread_create(&srv[i].th, NULL, al_srv_main, &srv[i]), 0);
    memset(&cls, 0, sizeof cls);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = lb_on_event;
    cfg.user = &cls;
    cl = ws_ctx_create(&cfg);
    CHECK(cl != NULL);
    if (cl) {
        int64_t end = ws__now_ms() + 20000;
        for (i = 0; i < n; i++) CHECK_EQ(ws_connect(cl, url, NULL, NULL, NULL), WS_OK);
        while (opened < n && ws__now_ms() < end) {
            int k;
            (void)ws_poll(cl, 50);
            for (k = opened = 0; k < LB_MAXC; k++) opened += cls.rec[k].opens;
        }
        CHECK_EQ(opened, n);
    }
    for (i = 0; i < 2; i++) { CHECK_EQ(ws_ctx_post(srv[i].ctx, al_srv_stop, &srv[i]), WS_OK); pthread_join(srv[i].th, NULL); }
    printf("  reuse_port: %d and %d of %d connections per ctx\n", srv[0].opens, srv[1].opens, n);
    CHECK_EQ(srv[0].opens + srv[1].opens, n);
    CHECK(srv[0].opens > 0 && srv[1].opens > 0);   /* the kernel spread them (by source port) */
    if (cl) ws_ctx_destroy(cl);
    for (i = 0; i < 2; i++) ws_ctx_destroy(srv[i].ctx);
}
#endif
#endif /* WS_NO_POST */

static void suite_apploop(void) {
#ifndef WS_NO_TIMERS
    RUN_POSIX(test_apploop_timers, "pthreads and pipes");
#endif
#ifndef WS_NO_WATCH
    RUN_POSIX(test_apploop_watch_fd, "pthreads and pipes");
    RUN_POSIX(test_apploop_watch_closed_fd, "pipes");
#if defined(__linux__) && !defined(WS_NO_EPOLL)
    RUN(test_apploop_watch_refused);
#endif
#endif
#ifndef WS_NO_POST
    RUN_POSIX(test_apploop_post_threads, "pthreads and pipes");
    RUN_POSIX(test_apploop_post_bounded, "pthreads and pipes");
#if defined(SO_REUSEPORT) || defined(_WIN32)
    RUN_POSIX(test_apploop_reuse_port, "SO_REUSEPORT");
#endif
#endif
}
