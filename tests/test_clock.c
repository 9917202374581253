/* test_clock.c - a clock that wraps: WS_NOW_MS() is a u32_t millisecond counter the test sets
 * (like lwIP's sys_now(), HAL_GetTick), with WS_NOW_MS32 (lwIP's default clock sets it). Each
 * test starts the clock a few seconds before 2^32 and moves it across the wrap: ws_timer (one-shot
 * and repeating), the accept pause, ws_conn_age_ms, a server's pings, a client's idle timeout,
 * reconnect backoff and ws_connect_blocking's timeout over loopback, and the engine fed a
 * wrapping now_ms. Nothing sleeps: ws_poll runs with timeout 0 (ws_connect_blocking waits for
 * I/O at most 100 ms a turn) and the time is what the test says, not the wall clock. Built with -DT_AUTO the hook is the
 * bare uint32_t (no WS_NOW_MS32: ws.h sees its width); with -DT_CLOCK64 (a cast to int64_t and
 * no WS_NOW_MS32: the clock taken as it comes) it shows what breaks without the extension.
 * The last line printed is "N passed, N failed". */
#define _DEFAULT_SOURCE 1            /* the hook needs <stdint.h> before ws.h: what ws.h would set */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
static uint32_t clk;        /* the "hardware" counter: milliseconds modulo 2^32 */
static uint32_t clk_step;   /* added at each reading (0: the clock moves when the test says) */
static uint32_t clk_read(void) { return clk += clk_step; }
#ifdef T_AUTO
#  define WS_NOW_MS() clk_read()                /* a uint32_t as it is (HAL_GetTick): ws.h sees the width */
#else
#  define WS_NOW_MS() ((int64_t)clk_read())     /* as lwIP's default, which sets WS_NOW_MS32 */
#  ifndef T_CLOCK64
#    define WS_NOW_MS32 1
#  endif
#endif
#define WS_IMPLEMENTATION
#include "../ws.h"
#include "test.h"

#define T_WRAP(ms) ((uint32_t)0 - (uint32_t)(ms))   /* ms before the wrap */

static int c_fired, c_opens, c_closes, c_pongs, c_retry;
static int c_retry_ms;   /* the wait the last CLOSE announced (50-100 % of the delay) */
static uint16_t c_code;
static void c_reset(void) { c_fired = c_opens = c_closes = c_pongs = c_retry = 0; c_code = 0; }
static void c_on_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)c; (void)user;
    if (ev->type == WS_EV_OPEN) c_opens++;
    if (ev->type == WS_EV_PONG) c_pongs++;
    if (ev->type == WS_EV_CLOSE) { c_closes++; c_code = ev->close_code; if (ev->reconnect_ms > 0) { c_retry++; c_retry_ms = ev->reconnect_ms; } }
}
static void c_tick(ws_ctx *ctx, void *arg) { (void)ctx; (void)arg; c_fired++; }
static ws_config *c_ctx(ws_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->on_event = c_on_event;
    return cfg;
}
static void c_polls(ws_ctx *ctx, int n) { while (n-- > 0) (void)ws_poll(ctx, 0); }
static int c_timeout(ws_ctx *ctx) {   /* how long the loop would sleep now */
    ws_pollfd fds[16];
    int t = -2;
    (void)ws_pollfds(ctx, fds, 16, &t);
    return t;
}

#ifndef WS_NO_TIMERS
/* A 10 s timer started 5 s before the wrap fires 10 s later, not 49.7 days later; the loop
 * sleeps until then instead of spinning with a zero timeout. */
static void test_clock_timer_across_wrap(void) {
    ws_config cfg;
    ws_ctx *ctx;
    c_reset();
    clk = T_WRAP(5000);
    ctx = ws_ctx_create(c_ctx(&cfg));
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(ws_timer_start(ctx, 10000, 0, c_tick, NULL, NULL), WS_OK);
    c_polls(ctx, 2);
    CHECK_EQ(c_timeout(ctx), 10000);
    clk += 6000;   /* 1000 ms after the wrap */
    c_polls(ctx, 3);
    CHECK_EQ(c_fired, 0);
    CHECK_EQ(c_timeout(ctx), 4000);
    clk += 3999;
    c_polls(ctx, 2);
    CHECK_EQ(c_fired, 0);
    clk += 1;
    c_polls(ctx, 2);
    CHECK_EQ(c_fired, 1);
    CHECK_EQ(c_timeout(ctx), -1);
    ws_ctx_destroy(ctx);
}
/* A repeating 3 s timer keeps its beat through the wrap. */
static void test_clock_repeat_across_wrap(void) {
    ws_config cfg;
    ws_ctx *ctx;
    int i;
    c_reset();
    clk = T_WRAP(10000);
    ctx = ws_ctx_create(c_ctx(&cfg));
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(ws_timer_start(ctx, 3000, 3000, c_tick, NULL, NULL), WS_OK);
    for (i = 0; i < 20; i++) { clk += 1000; c_polls(ctx, 2); }   /* 20 s: 6 beats */
    CHECK_EQ(c_fired, 6);
    CHECK_EQ(c_timeout(ctx), 1000);
    ws_ctx_destroy(ctx);
}
#endif

#ifndef WS_NO_SERVER
/* Listeners paused for want of descriptors (ws__accept_pause) just before the wrap resume 50 ms
 * later. */
static void test_clock_accept_pause_across_wrap(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener *l = NULL;
    ws_pollfd fds[8];
    int t = -2;
    size_t n, i, listed = 0;
    c_reset();
    clk = T_WRAP(20);
    ctx = ws_ctx_create(c_ctx(&cfg));
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l), WS_OK);
    ws__accept_pause(ctx);
    CHECK_EQ(c_timeout(ctx), 50);
    clk += 60;   /* 40 ms after the wrap */
    c_polls(ctx, 2);
    CHECK_EQ(ctx->accept_resume, 0);
    n = ws_pollfds(ctx, fds, 8, &t);
    for (i = 0; i < n && i < 8; i++) if (l && fds[i].fd == (intptr_t)l->fd) listed = 1;
    CHECK_EQ(listed, 1);
    CHECK_EQ(t, -1);
    ws_ctx_destroy(ctx);
}
#endif

#if !defined(WS_NO_SERVER) && !defined(WS_NO_CLIENT)
static ws_conn *c_pair(ws_ctx *ctx, ws_conn **cl) {   /* a client of ctx's own listener, open */
    ws_listener *l = NULL;
    char url[64];
    int i;
    *cl = NULL;
    if (ws_listen(ctx, "127.0.0.1", 0, &l) != WS_OK) return NULL;
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)ws_listener_port(l));
    if (ws_connect(ctx, url, NULL, NULL, cl) != WS_OK) return NULL;
    for (i = 0; i < 1000 && c_opens < 2; i++) (void)ws_poll(ctx, 0);
    return ctx->head;
}
/* ws_conn_age_ms counts on through the wrap. */
static void test_clock_age_across_wrap(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *cl;
    c_reset();
    clk = T_WRAP(100);
    ctx = ws_ctx_create(c_ctx(&cfg));
    CHECK(ctx != NULL);
    if (!ctx) return;
    c_pair(ctx, &cl);
    CHECK_EQ(c_opens, 2);
    CHECK_EQ(ws_conn_age_ms(cl), 0);
    clk += 300;
    CHECK_EQ(ws_conn_age_ms(cl), 300);
    c_polls(ctx, 2);
    CHECK_EQ(ws_conn_age_ms(cl), 300);
    ws_ctx_destroy(ctx);
}
/* A server pings every second through the wrap and the pongs come back; nobody times out. */
static void test_clock_pings_across_wrap(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *cl;
    int i;
    c_reset();
    clk = T_WRAP(5500);
    c_ctx(&cfg);
    cfg.ping_interval_ms = 1000;
    cfg.pong_timeout_ms = 500;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    c_pair(ctx, &cl);
    CHECK_EQ(c_opens, 2);
    for (i = 0; i < 40; i++) { clk += 250; c_polls(ctx, 4); }   /* 10 s */
    CHECK_EQ(c_pongs, 20);   /* both sides ping (ping_interval_ms is set) */
    CHECK_EQ(c_closes, 0);
    ws_ctx_destroy(ctx);
}
/* A client's idle_timeout_ms (2 s, nothing received) ends it 2 s after the last input, across
 * the wrap: not at once, not never. */
static void test_clock_idle_across_wrap(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *cl;
    int i;
    c_reset();
    clk = T_WRAP(1000);
    c_ctx(&cfg);
    cfg.ping_interval_ms = -1;
    cfg.idle_timeout_ms = 2000;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    c_pair(ctx, &cl);
    CHECK_EQ(c_opens, 2);
    for (i = 0; i < 19; i++) { clk += 100; c_polls(ctx, 2); }
    CHECK_EQ(c_closes, 0);
    clk += 100;
    c_polls(ctx, 20);
    CHECK_EQ(c_closes, 2);
    CHECK_EQ(c_code, WS_CLOSE_GOING_AWAY);
    ws_ctx_destroy(ctx);
}
/* A client that cannot connect retries after the wait its CLOSE announced (50-100 % of 1 s,
 * then of 2 s: the second wait spans the wrap), not a millisecond earlier. */
static void test_clock_reconnect_across_wrap(void) {
    ws_config cfg;
    ws_connect_opts o;
    ws_ctx *ctx;
    ws_listener *l = NULL;
    ws_conn *cl = NULL;
    char url[64];
    int i;
    c_reset();
    clk = T_WRAP(1500);
    ctx = ws_ctx_create(c_ctx(&cfg));
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l), WS_OK);   /* a port nobody listens on after */
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)ws_listener_port(l));
    ws_listener_close(l);
    c_polls(ctx, 2);
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 1000;
    CHECK_EQ(ws_connect(ctx, url, &o, NULL, &cl), WS_OK);
    for (i = 0; i < 1000 && c_retry < 1; i++) (void)ws_poll(ctx, 0);   /* refused */
    CHECK_EQ(c_retry, 1);
    CHECK(c_retry_ms >= 500 && c_retry_ms <= 1000);
    clk += (uint32_t)c_retry_ms - 1;
    c_polls(ctx, 5);
    CHECK_EQ(c_retry, 1);
    clk += 1;   /* after the wrap: the second attempt */
    for (i = 0; i < 1000 && c_retry < 2; i++) (void)ws_poll(ctx, 0);
    CHECK_EQ(c_retry, 2);
    CHECK(c_retry_ms >= 1000 && c_retry_ms <= 2000);
    clk += (uint32_t)c_retry_ms - 1;
    c_polls(ctx, 5);
    CHECK_EQ(c_retry, 2);
    clk += 1;
    for (i = 0; i < 1000 && c_retry < 3; i++) (void)ws_poll(ctx, 0);
    CHECK_EQ(c_retry, 3);
    ws_ctx_destroy(ctx);
}
#endif

#if !defined(WS_NO_CLIENT) && !defined(_WIN32)
/* ws_connect_blocking's own timeout (2 s) ends it across the wrap, before the handshake's
 * (30 s): a server that accepts TCP and never answers. The clock moves 50 ms a reading. */
static void test_clock_connect_blocking_across_wrap(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c = NULL;
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    char url[64];
    uint32_t t0;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    c_reset();
    CHECK(s >= 0);
    if (s < 0) return;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    CHECK_EQ(listen(s, 4), 0);
    CHECK_EQ(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)ntohs(sa.sin_port));
    clk = T_WRAP(1000);
    c_ctx(&cfg);
    cfg.handshake_timeout_ms = 30000;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (ctx) {
        t0 = clk;
        clk_step = 50;
        CHECK_EQ(ws_connect_blocking(ctx, url, NULL, NULL, 2000, &c), WS_ERR_TIMEOUT);
        clk_step = 0;
        CHECK((uint32_t)(clk - t0) >= 2000 && (uint32_t)(clk - t0) < 5000);
        ws_ctx_destroy(ctx);
    }
    close(s);
}
#endif

/* The engine takes the application's clock as it comes: a u32_t counter widened to int64_t
 * (it goes from 2^32 - 1 to 0). Its timers compare modulo 2^32, and ws_engine_deadline is on
 * the scale of the last now_ms: wait deadline - now_ms. Pings go on through the wrap. */
static void test_clock_engine_wrapping_now(void) {
    ws_config ccfg, scfg;
    ws_conn *cl = NULL, *sv = NULL;
    uint32_t now = T_WRAP(3000), given;
    int64_t wait;
    int i;
    c_reset();
    c_ctx(&ccfg);
    c_ctx(&scfg);
    scfg.ping_interval_ms = 1000;
    scfg.pong_timeout_ms = 500;
    CHECK_EQ(ws_engine_pair(&ccfg, &scfg, &cl, &sv), WS_OK);
    if (!cl || !sv) return;
    (void)ws_engine_pump(cl, sv, (int64_t)now);
    CHECK_EQ(c_opens, 2);
    given = now;
    wait = ws_engine_deadline(sv) - (int64_t)given;   /* ms from the now_ms last given */
    CHECK_EQ(wait, 1000);
    for (i = 0; i < 65; i++) {   /* 6.5 s in 100 ms steps, ticking only when the deadline says */
        now += 100;
        if ((int64_t)(uint32_t)(now - given) >= wait) {
            ws_engine_tick(sv, (int64_t)now);
            (void)ws_engine_pump(cl, sv, (int64_t)now);
            given = now;
            wait = ws_engine_deadline(sv) - (int64_t)given;
            CHECK(wait > 0 && wait <= 1001);   /* 1001: a timer due at 0 mod 2^32 is kept as 1 */
        }
    }
    CHECK_EQ(c_pongs, 6);
    CHECK_EQ(c_closes, 0);
    ws_engine_destroy(cl);
    ws_engine_destroy(sv);
}

int main(int argc, char **argv) {
    t_only = argc > 1 ? argv[1] : NULL;
#ifndef WS_NO_TIMERS
    RUN(test_clock_timer_across_wrap);
    RUN(test_clock_repeat_across_wrap);
#endif
#ifndef WS_NO_SERVER
    RUN(test_clock_accept_pause_across_wrap);
#endif
#if !defined(WS_NO_SERVER) && !defined(WS_NO_CLIENT)
    RUN(test_clock_age_across_wrap);
    RUN(test_clock_pings_across_wrap);
    RUN(test_clock_idle_across_wrap);
    RUN(test_clock_reconnect_across_wrap);
#endif
#if !defined(WS_NO_CLIENT) && !defined(_WIN32)
    RUN(test_clock_connect_blocking_across_wrap);
#endif
    RUN(test_clock_engine_wrapping_now);
    return t_summary();
}
