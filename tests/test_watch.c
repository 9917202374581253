/* test_watch.c - ws_config.on_watch / on_timer: a host loop written here (poll() over the
 * registrations it was told about, as GLib or Qt would keep them) drives client and server
 * connections through ws_socket_ready and ws_timer_fired. Checked: an echo and a clean close,
 * that the number of watch calls per message does not grow with the number of connections,
 * that a descriptor is always unwatched before it is closed (so a reused number is never
 * confused), that a connection dropped during a dispatch is never handed back, the host's
 * per-socket pointer, the wake-up call and timers. Bounded by pass counts and a wall-clock
 * hang guard, never by a window. */
#ifndef _WIN32
#include <poll.h>

#define HW_MAX 4096
typedef struct hw_reg { intptr_t fd; int events; void *token; int live; } hw_reg;
typedef struct hw_host {
    hw_reg  reg[HW_MAX];
    int     nreg, calls, adds, removes, bad, timer_calls;
    int64_t timer_at;          /* -1: none */
    /* events seen */
    int     opens, closes, msgs, clean, echo, drop_other;
    int     gone;              /* the ctx was destroyed (from a callback): no more calls */
    ws_conn *victim;           /* drop_other: dropped from the first message's callback */
    ws_conn *last_client;
} hw_host;

static hw_reg *hw_find_fd(hw_host *h, intptr_t fd) {
    int i;
    for (i = 0; i < h->nreg; i++) if (h->reg[i].live && h->reg[i].fd == fd) return &h->reg[i];
    return NULL;
}

static void hw_watch(ws_ctx *ctx, intptr_t fd, int events, void *token, void **host, void *user) {
    hw_host *h = (hw_host *)user;
    hw_reg *r = (hw_reg *)*host;
    (void)ctx;
    h->calls++;
    if (!r) {   /* first time: a new registration; the fd must not be watched already */
        if (!events || hw_find_fd(h, fd) || h->nreg >= HW_MAX) { h->bad++; return; }
        r = &h->reg[h->nreg++];
        r->fd = fd; r->token = token; r->live = 1;
        *host = r;
        h->adds++;
    } else if (r->fd != fd || r->token != token || !r->live) {
        h->bad++;   /* the host pointer came back for another socket */
        return;
    }
    r->events = events;
    if (!events) { r->live = 0; h->removes++; }
}

static void hw_timer(ws_ctx *ctx, int timeout_ms, void *user) {
    hw_host *h = (hw_host *)user;
    (void)ctx;
    h->timer_calls++;
    h->timer_at = timeout_ms < 0 ? -1 : ws__now_ms() + timeout_ms;
}

static void hw_event(ws_conn *c, const ws_event *ev, void *user) {
    hw_host *h = (hw_host *)user;
    switch (ev->type) {
    case WS_EV_OPEN: h->opens++; if (!ws_conn_is_server(c)) h->last_client = c; break;
    case WS_EV_MESSAGE:
        h->msgs++;
        if (h->drop_other && h->victim && h->victim != c) { ws_conn_drop(h->victim); h->victim = NULL; }
        if (ws_conn_is_server(c) && h->echo) CHECK_EQ(ws_conn_send(c, ev->opcode, ev->data, ev->len), WS_OK);
        break;
    case WS_EV_CLOSE: h->closes++; h->clean += ev->clean; break;
    default: break;
    }
}

/* One pass of the host loop: poll the live registrations until the host's timer, then hand
 * each ready one back (skipping any that ws.h unwatched meanwhile), then the timer. */
static void hw_pass(ws_ctx *ctx, hw_host *h, int max_wait) {
    static struct pollfd pf[HW_MAX];
    static hw_reg *who[HW_MAX];
    int i, n = 0, t = max_wait, rc;
    int64_t now = ws__now_ms();
    for (i = 0; i < h->nreg; i++) {
        if (!h->reg[i].live || !h->reg[i].events) continue;
        pf[n].fd = (int)h->reg[i].fd;
        pf[n].events = (short)(((h->reg[i].events & WS_POLLIN) ? POLLIN : 0) | ((h->reg[i].events & WS_POLLOUT) ? POLLOUT : 0));
        pf[n].revents = 0;
        who[n++] = &h->reg[i];
    }
    if (h->timer_at >= 0) t = (int)WS__MAX(0, WS__MIN((int64_t)t, h->timer_at - now));
    rc = poll(pf, (nfds_t)n, t);
    for (i = 0; rc > 0 && i < n && !h->gone; i++) {
        short r = pf[i].revents;
        if (!r || !who[i]->live) continue;   /* unwatched during this batch: never hand it back */
        ws_socket_ready(ctx, who[i]->token, ((r & POLLIN) ? WS_POLLIN : 0) | ((r & POLLOUT) ? WS_POLLOUT : 0) |
                                            ((r & POLLERR) ? WS_POLLERR : 0) | ((r & POLLHUP) ? WS_POLLHUP : 0));
    }
    if (!h->gone && h->timer_at >= 0 && ws__now_ms() >= h->timer_at) { h->timer_at = -1; ws_timer_fired(ctx); }
}

static ws_ctx *hw_ctx(hw_host *h) {
    ws_config cfg;
    memset(h, 0, sizeof *h);
    h->timer_at = -1;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = hw_event;
    cfg.on_watch = hw_watch;
    cfg.on_timer = hw_timer;
    cfg.max_pending = cfg.max_pending_per_addr = 2000;   /* 1001 handshakes at once from one address */
    cfg.user = h;
    return ws_ctx_create(&cfg);
}

/* Runs passes until cond holds; the wall clock only guards against a hang. */
#define HW_UNTIL(ctx, h, cond) do { int64_t end_ = ws__now_ms() + 20000; \
    while (!(cond) && ws__now_ms() < end_) { hw_pass((ctx), (h), 50); } \
    CHECK(cond); } while (0)

static void test_watch_echo_and_close(void) {
    static hw_host h;
    ws_ctx *ctx = hw_ctx(&h);
    ws_listener *l = NULL;
    ws_conn *c = NULL;
    if (!ctx) { CHECK(ctx != NULL); return; }
    h.echo = 1;
    CHECK_EQ(h.adds, 1);                       /* the wake-up channel */
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l), WS_OK);
    CHECK_EQ(h.adds, 2);
    CHECK_EQ(ws_connect(ctx, ws_listener_url(l), NULL, NULL, &c), WS_OK);
    CHECK(h.timer_at >= 0);                    /* work is due: the host was told to come back */
    HW_UNTIL(ctx, &h, h.opens == 2);
    CHECK_EQ(ws_conn_send_text(c, "through the host's loop"), WS_OK);
    HW_UNTIL(ctx, &h, h.msgs == 2);
    CHECK_EQ(ws_conn_close(c, 1000, "bye"), WS_OK);
    HW_UNTIL(ctx, &h, h.closes == 2);
    CHECK_EQ(h.clean, 2);
    CHECK_EQ(ws_ctx_wakeup(ctx), WS_OK);       /* the wake-up fd is the host's too */
    hw_pass(ctx, &h, 1000);
    ws_ctx_destroy(ctx);
    CHECK_EQ(h.bad, 0);
    CHECK_EQ(h.adds, h.removes);               /* everything unwatched, the wake-up too */
    CHECK(h.adds >= 4);
}

/* The watch calls for the same exchange on one connection do not grow with the number of
 * other (idle) connections: ws.h tells only what changed. */
static int hw_calls_per_exchange(int idle) {
    static hw_host h;
    ws_ctx *ctx = hw_ctx(&h);
    ws_listener *l = NULL;
    ws_conn *c = NULL;
    int i, before, calls;
    if (!ctx) { CHECK(ctx != NULL); return -1; }
    h.echo = 1;
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l), WS_OK);
    for (i = 0; i < idle; i++) CHECK_EQ(ws_connect(ctx, ws_listener_url(l), NULL, NULL, NULL), WS_OK);
    CHECK_EQ(ws_connect(ctx, ws_listener_url(l), NULL, NULL, &c), WS_OK);
    HW_UNTIL(ctx, &h, h.opens == 2 * (idle + 1));
    hw_pass(ctx, &h, 0);
    before = h.calls;
    for (i = 0; i < 20; i++) {
        int want = h.msgs + 2;
        CHECK_EQ(ws_conn_send_text(c, "ping-pong through the host"), WS_OK);
        HW_UNTIL(ctx, &h, h.msgs == want);
    }
    calls = h.calls - before;
    ws_ctx_destroy(ctx);
    CHECK_EQ(h.bad, 0);
    CHECK_EQ(h.adds, h.removes);
    return calls;
}
static void test_watch_cost_independent_of_conns(void) {
    int few = hw_calls_per_exchange(2);
    int many = hw_calls_per_exchange(1000);
    printf("  watch calls for 20 echoes: %d with 3 connections, %d with 1001\n", few, many);
    CHECK(few >= 0 && few <= 20 * 4);   /* at most a few per exchange (POLLOUT on and off) */
    CHECK(many <= few + 2);
}

/* Connections close and new ones reuse their descriptor numbers: the host always sees the
 * old one unwatched first (hw_watch counts a second add of a watched fd as bad). */
static void test_watch_fd_reuse(void) {
    static hw_host h;
    ws_ctx *ctx = hw_ctx(&h);
    ws_listener *l = NULL;
    int round;
    if (!ctx) { CHECK(ctx != NULL); return; }
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l), WS_OK);
    for (round = 0; round < 20; round++) {
        ws_conn *c = NULL;
        int closes = h.closes;
        CHECK_EQ(ws_connect(ctx, ws_listener_url(l), NULL, NULL, &c), WS_OK);
        HW_UNTIL(ctx, &h, h.opens == 2 * (round + 1));
        if (round % 2) ws_conn_drop(c); else CHECK_EQ(ws_conn_close(c, 1000, NULL), WS_OK);
        HW_UNTIL(ctx, &h, h.closes == closes + 2);
    }
    ws_ctx_destroy(ctx);
    CHECK_EQ(h.bad, 0);
    CHECK_EQ(h.adds, h.removes);
}

/* A callback drops another connection whose socket may be ready in the same batch: it is
 * unwatched at once, so the host never hands it back (ASan would catch a freed one). */
static void test_watch_drop_during_dispatch(void) {
    static hw_host h;
    ws_ctx *ctx = hw_ctx(&h);
    ws_listener *l = NULL;
    ws_conn *a = NULL, *b = NULL;
    if (!ctx) { CHECK(ctx != NULL); return; }
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l), WS_OK);
    CHECK_EQ(ws_connect(ctx, ws_listener_url(l), NULL, NULL, &a), WS_OK);
    CHECK_EQ(ws_connect(ctx, ws_listener_url(l), NULL, NULL, &b), WS_OK);
    HW_UNTIL(ctx, &h, h.opens == 4);
    h.echo = 1;
    h.drop_other = 1;
    h.victim = b;
    CHECK_EQ(ws_conn_send_text(a, "x"), WS_OK);   /* both echo: replies arrive together */
    CHECK_EQ(ws_conn_send_text(b, "y"), WS_OK);
    HW_UNTIL(ctx, &h, h.victim == NULL && h.closes >= 1);
    HW_UNTIL(ctx, &h, h.closes >= 2);             /* b, and its server side */
    ws_ctx_destroy(ctx);
    CHECK_EQ(h.bad, 0);
    CHECK_EQ(h.adds, h.removes);
    CHECK_EQ(h.closes, 4);
}

/* Heartbeat timers run through on_timer alone: a server pings, the client answers, and a
 * dead peer is found by its missing pong, with no socket activity to drive the loop. */
static void test_watch_timers(void) {
    static hw_host h;
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener *l = NULL;
    ws_conn *c = NULL;
    memset(&h, 0, sizeof h);
    h.timer_at = -1;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = hw_event;
    cfg.on_watch = hw_watch;
    cfg.on_timer = hw_timer;
    cfg.user = &h;
    cfg.idle_timeout_ms = 150;      /* closes a connection that receives nothing */
    ctx = ws_ctx_create(&cfg);
    if (!ctx) { CHECK(ctx != NULL); return; }
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l), WS_OK);
    CHECK_EQ(ws_connect(ctx, ws_listener_url(l), NULL, NULL, &c), WS_OK);
    HW_UNTIL(ctx, &h, h.opens == 2);
    CHECK(h.timer_at >= 0);          /* the idle timers are the host's timer now */
    HW_UNTIL(ctx, &h, h.closes == 2);
    ws_ctx_destroy(ctx);
    CHECK_EQ(h.bad, 0);
    CHECK(h.timer_calls >= 2);
}

static void test_watch_config_both_or_neither(void) {
    ws_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = hw_event;
    cfg.on_watch = hw_watch;
    CHECK(ws_ctx_create(&cfg) == NULL);
    cfg.on_watch = NULL;
    cfg.on_timer = hw_timer;
    CHECK(ws_ctx_create(&cfg) == NULL);
}
#endif

static void suite_watch(void) {
    RUN_POSIX(test_watch_echo_and_close, "a POSIX poll() host");
    RUN_POSIX(test_watch_cost_independent_of_conns, "a POSIX poll() host");
    RUN_POSIX(test_watch_fd_reuse, "a POSIX poll() host");
    RUN_POSIX(test_watch_drop_during_dispatch, "a POSIX poll() host");
    RUN_POSIX(test_watch_timers, "a POSIX poll() host");
    RUN_POSIX(test_watch_config_both_or_neither, "a POSIX poll() host");
}
