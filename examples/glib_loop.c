/* glib_loop.c - ws.h inside a GLib main loop, as in any GTK app (GTK runs the same default
 * GMainContext, so attach the source below there and nothing else changes). A custom GSource
 * is ws.h's foreign-loop interface in GLib's terms: prepare() calls ws_pollfds and keeps the
 * source's unix fds in step with the list (add, modify, remove) and returns its deadline;
 * check() says whether a fd is ready or the deadline passed; dispatch() reads revents with
 * g_source_query_unix_fd and calls ws_dispatch. The client connects, sends a message each
 * second from a g_timeout_add callback, prints what arrives and closes SECONDS after it opened.
 * ws_ctx_wakeup from another thread wakes this loop too (its pipe is one of the fds).
 * Needs GLib (Debian: libglib2.0-dev); make examples builds it when pkg-config finds it.
 *   make examples && ./build/testee_server 9001 &  ./build/glib_loop ws://127.0.0.1:9001/ 5
 * Usage: glib_loop URL [SECONDS=5] */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {           /* allocated by g_source_new, base first */
    GSource    base;
    ws_ctx    *ctx;
    ws_pollfd *fds[2];        /* the last ws_pollfds list and the next one, swapped */
    gpointer  *tags[2];       /* GLib's tag for each entry */
    size_t     cap, n;
    int        cur;           /* fds[cur][0..n) is what GLib watches now */
    gint64     deadline;      /* monotonic us; -1: none */
} WsSource;

static GIOCondition to_glib(short ev) {
    return (GIOCondition)(((ev & WS_POLLIN) ? G_IO_IN : 0) | ((ev & WS_POLLOUT) ? G_IO_OUT : 0));
}

static gboolean ws_prepare(GSource *g, gint *timeout) {
    WsSource *s = (WsSource *)g;
    int nx = !s->cur, t;
    size_t n, i, k;
    while ((n = ws_pollfds(s->ctx, s->fds[nx], s->cap, &t)) > s->cap) {   /* more room */
        s->fds[0] = g_renew(ws_pollfd, s->fds[0], n); s->fds[1] = g_renew(ws_pollfd, s->fds[1], n);
        s->tags[0] = g_renew(gpointer, s->tags[0], n); s->tags[1] = g_renew(gpointer, s->tags[1], n);
        s->cap = n;
    }
    for (i = 0; i < n; i++) {   /* keep each fd that stays (same order, so usually k == i) */
        ws_pollfd *p = &s->fds[nx][i];
        s->tags[nx][i] = NULL;
        for (k = 0; k < s->n; k++) {
            size_t j = (i + k) % s->n;
            if (s->tags[s->cur][j] && s->fds[s->cur][j].fd == p->fd) {
                if (s->fds[s->cur][j].events != p->events)
                    g_source_modify_unix_fd(g, s->tags[s->cur][j], to_glib(p->events));
                s->tags[nx][i] = s->tags[s->cur][j];
                s->tags[s->cur][j] = NULL;
                break;
            }
        }
        if (!s->tags[nx][i]) s->tags[nx][i] = g_source_add_unix_fd(g, (gint)p->fd, to_glib(p->events));
    }
    for (k = 0; k < s->n; k++)   /* sockets ws.h no longer lists */
        if (s->tags[s->cur][k]) g_source_remove_unix_fd(g, s->tags[s->cur][k]);
    s->cur = nx;
    s->n = n;
    s->deadline = t < 0 ? -1 : g_get_monotonic_time() + (gint64)t * 1000;
    *timeout = t;
    return t == 0;   /* 0: ws.h has work now */
}

static gboolean ws_check(GSource *g) {
    WsSource *s = (WsSource *)g;
    size_t i;
    for (i = 0; i < s->n; i++)
        if (g_source_query_unix_fd(g, s->tags[s->cur][i])) return TRUE;
    return s->deadline >= 0 && g_get_monotonic_time() >= s->deadline;
}

static gboolean ws_dispatch_cb(GSource *g, GSourceFunc cb, gpointer data) {
    WsSource *s = (WsSource *)g;
    size_t i;
    (void)cb; (void)data;
    for (i = 0; i < s->n; i++) {
        GIOCondition r = g_source_query_unix_fd(g, s->tags[s->cur][i]);
        s->fds[s->cur][i].revents = (short)(((r & G_IO_IN) ? WS_POLLIN : 0) | ((r & G_IO_OUT) ? WS_POLLOUT : 0) |
                                            ((r & (G_IO_ERR | G_IO_NVAL)) ? WS_POLLERR : 0) |
                                            ((r & G_IO_HUP) ? WS_POLLHUP : 0));
    }
    ws_dispatch(s->ctx, s->fds[s->cur], s->n);   /* sockets, then due timers */
    return G_SOURCE_CONTINUE;
}

static void ws_finalize(GSource *g) {
    WsSource *s = (WsSource *)g;
    g_free(s->fds[0]); g_free(s->fds[1]); g_free(s->tags[0]); g_free(s->tags[1]);
}

static GSourceFuncs ws_funcs = { ws_prepare, ws_check, ws_dispatch_cb, ws_finalize, NULL, NULL };

static GMainLoop *loop;
static ws_conn *conn;
static int failed, closing;
static long sent, received, seconds;
static gboolean stop(gpointer user);

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)c; (void)user;
    switch (ev->type) {
    case WS_EV_OPEN: printf("connected\n"); g_timeout_add((guint)seconds * 1000, stop, NULL); break;
    case WS_EV_MESSAGE: received++; printf("< %.*s\n", (int)ev->len, (const char *)ev->data); break;
    case WS_EV_ERROR: printf("error: %s (%s)\n", ws_result_str(ev->result), ev->msg); failed = 1; break;
    case WS_EV_CLOSE: printf("closed, code %u\n", ev->close_code); g_main_loop_quit(loop); break;
    default: break;
    }
    fflush(stdout);
}

static gboolean tick(gpointer user) {   /* every second, from GLib's own timer */
    char text[64];
    ws_result rc;
    (void)user;
    if (closing) return G_SOURCE_REMOVE;
    if (ws_conn_state(conn) != WS_STATE_OPEN) return G_SOURCE_CONTINUE;
    snprintf(text, sizeof text, "tick %ld", ++sent);
    if ((rc = ws_conn_send_text(conn, text)) != WS_OK) printf("send: %s\n", ws_result_str(rc));
    return G_SOURCE_CONTINUE;
}

static gboolean stop(gpointer user) {
    ws_result rc = ws_conn_close(conn, WS_CLOSE_NORMAL, "bye");   /* WS_EV_CLOSE quits the loop */
    (void)user;
    closing = 1;
    if (rc != WS_OK) { printf("close: %s\n", ws_result_str(rc)); failed = 1; g_main_loop_quit(loop); }
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv) {
    ws_config cfg = {0};
    ws_ctx *ctx;
    GSource *src;
    ws_result rc;
    int help = argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));   /* asked for */
    seconds = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
    if (help || argc < 2 || argc > 3 || seconds <= 0 || seconds > 86400) {   /* --help: stdout, 0; a mistake: stderr, 2 */
        fprintf(help ? stdout : stderr, "usage: %s URL [SECONDS]\n", argv[0]);
        return help ? 0 : 2;
    }
    cfg.on_event = on_event;
    ctx = ws_ctx_create(&cfg);
    if (!ctx) { fprintf(stderr, "ws_ctx_create failed\n"); return 1; }
    rc = ws_connect(ctx, argv[1], NULL, NULL, &conn);   /* never blocks: OPEN comes later */
    if (rc != WS_OK) {   /* ws_ctx_error names the part of the URL that is wrong */
        fprintf(stderr, "%s\nusage: %s URL [SECONDS]\n", ws_ctx_error(ctx), argv[0]);
        ws_ctx_destroy(ctx);
        return 1;
    }
    loop = g_main_loop_new(NULL, FALSE);   /* NULL: the default context, GTK's too */
    src = g_source_new(&ws_funcs, sizeof(WsSource));
    ((WsSource *)src)->ctx = ctx;
    g_source_attach(src, NULL);
    g_timeout_add(1000, tick, NULL);   /* stop() is armed by WS_EV_OPEN */
    g_main_loop_run(loop);
    printf("sent %ld, received %ld\n", sent, received);
    g_source_destroy(src);   /* the fds leave GLib before ws.h closes them */
    g_source_unref(src);
    g_main_loop_unref(loop);
    ws_ctx_destroy(ctx);
    return failed ? 1 : 0;
}
