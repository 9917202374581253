/* gtk_chat.c - a GTK 3 chat client window driven by ws.h's registration interface
 * (ws_config.on_watch / on_timer): GLib's own main loop watches ws.h's sockets (g_unix_fd_add)
 * and runs its timer (g_timeout_add); ws.h tells it only what changes. A message list, an
 * entry, the connection state; the client reconnects by itself (shown, with a spinner that
 * keeps the window repainting meanwhile).
 *   ./build/gtk_chat ws://127.0.0.1:9001/          (make examples builds it when GTK 3 is found)
 *   by hand: cc -std=c99 examples/gtk_chat.c -o gtk_chat $(pkg-config --cflags --libs gtk+-3.0)
 *            (Debian: apt-get install libgtk-3-dev)
 * With WS_GUI_TEST=PREFIX set it runs the scripted check of tests/gui/run.sh: it says "ready"
 * (every 500 ms while waiting), expects "hello from the peer 1" and, after the server went
 * away and came back, "hello from the peer 2"; then reads its own message list back, saves
 * PREFIX.png and prints "N passed, N failed". */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <gtk/gtk.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>

typedef struct watch { guint id; void *token; } watch;   /* ws.h's *host for each socket */
static struct {
    ws_ctx *ctx;
    ws_conn *conn;
    GtkWidget *win, *status, *spinner, *entry;
    GtkTextBuffer *log;
    guint timer;                          /* ws.h's timer as a GLib source */
    const char *test;                     /* WS_GUI_TEST */
    int peer, down, frames_down, checks_failed;
} A;

/* ---- ws.h on GLib's main loop ---- */
static gboolean on_fd(gint fd, GIOCondition cond, gpointer p) {
    watch *w = (watch *)p;
    (void)fd;
    ws_socket_ready(A.ctx, w->token, ((cond & G_IO_IN) ? WS_POLLIN : 0) | ((cond & G_IO_OUT) ? WS_POLLOUT : 0) |
                                     ((cond & G_IO_ERR) ? WS_POLLERR : 0) | ((cond & G_IO_HUP) ? WS_POLLHUP : 0));
    return G_SOURCE_CONTINUE;   /* (if ws.h stopped this watch meanwhile, GLib ignores it) */
}
static void on_watch(ws_ctx *ctx, intptr_t fd, int events, void *token, void **host, void *user) {
    watch *w = (watch *)*host;
    (void)ctx; (void)user;
    if (w) g_source_remove(w->id);
    if (!events) { g_free(w); return; }   /* always before ws.h closes fd */
    if (!w) { w = g_new0(watch, 1); *host = w; }
    w->token = token;
    w->id = g_unix_fd_add((gint)fd, (GIOCondition)(((events & WS_POLLIN) ? G_IO_IN : 0) |
                          ((events & WS_POLLOUT) ? G_IO_OUT : 0) | G_IO_ERR | G_IO_HUP), on_fd, w);
}
static gboolean on_timeout(gpointer p) { (void)p; A.timer = 0; ws_timer_fired(A.ctx); return G_SOURCE_REMOVE; }
static void on_timer(ws_ctx *ctx, int ms, void *user) {
    (void)ctx; (void)user;
    if (A.timer) g_source_remove(A.timer);
    A.timer = ms < 0 ? 0 : g_timeout_add((guint)ms, on_timeout, NULL);
}

/* ---- the window ---- */
static void append(const char *text) {
    GtkTextIter end;
    gtk_text_buffer_get_end_iter(A.log, &end);
    gtk_text_buffer_insert(A.log, &end, text, -1);
    gtk_text_buffer_insert(A.log, &end, "\n", 1);
}
static void set_status(const char *s, int busy) {
    gtk_label_set_text(GTK_LABEL(A.status), s);
    if (busy) gtk_spinner_start(GTK_SPINNER(A.spinner)); else gtk_spinner_stop(GTK_SPINNER(A.spinner));
}
static void on_send(GtkEntry *e, gpointer p) {
    const char *t = gtk_entry_get_text(e);
    char line[600];
    (void)p;
    if (!*t || ws_conn_send_text(A.conn, t) != WS_OK) return;
    snprintf(line, sizeof line, "me: %s", t);
    append(line);
    gtk_entry_set_text(e, "");
}
static gboolean on_frame(GtkWidget *w, GdkFrameClock *clock, gpointer p) {
    (void)w; (void)clock; (void)p;
    if (A.down) A.frames_down++;   /* the window kept painting while the server was away */
    return G_SOURCE_CONTINUE;
}

/* ---- the scripted check (WS_GUI_TEST) ---- */
static void check(int ok, const char *what) { printf("%s %s\n", ok ? "ok" : "FAIL", what); if (!ok) A.checks_failed++; }
static gboolean finish_test(gpointer p) {
    GtkTextIter a, b;
    char *all, png[512];
    GdkWindow *gw = gtk_widget_get_window(A.win);
    GdkPixbuf *shot = gdk_pixbuf_get_from_window(gw, 0, 0, gdk_window_get_width(gw), gdk_window_get_height(gw));
    (void)p;
    gtk_text_buffer_get_bounds(A.log, &a, &b);
    all = gtk_text_buffer_get_text(A.log, &a, &b, FALSE);   /* read back through GTK itself */
    check(strstr(all, "hello from the peer 1") != NULL, "the peer's first message is in the window");
    check(strstr(all, "hello from the peer 2") != NULL, "the message after the reconnect is in the window");
    check(strstr(all, "reconnecting") != NULL, "the window said it was reconnecting");
    printf("  frames painted while the server was down: %d\n", A.frames_down);
    check(A.frames_down > 0, "the window kept repainting while the server was down");
    snprintf(png, sizeof png, "%s.png", A.test);
    check(shot && gdk_pixbuf_save(shot, png, "png", NULL, NULL), "screenshot saved");
    printf("%d passed, %d failed\n", 5 - A.checks_failed, A.checks_failed);
    fflush(stdout);
    g_free(all);
    if (shot) g_object_unref(shot);
    gtk_main_quit();
    return G_SOURCE_REMOVE;
}
static void say_ready(ws_ctx *ctx, void *p) { (void)ctx; (void)p; if (A.peer < 2) (void)ws_conn_send_text(A.conn, "gui: ready"); }
static gboolean test_timeout(gpointer p) { (void)p; printf("FAIL the scripted check did not finish\n0 passed, 1 failed\n"); exit(1); }

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    char line[600];
    (void)c; (void)user;
    switch (ev->type) {
    case WS_EV_OPEN: set_status("open", 0); append("* connected"); A.down = 0; break;
    case WS_EV_MESSAGE:
        snprintf(line, sizeof line, "%.*s", (int)ev->len, (const char *)ev->data);
        if (A.test && !strncmp(line, "gui: ", 5)) break;   /* our own "ready" coming back */
        append(line);
        if (A.test && strstr(line, "hello from the peer ")) {
            A.peer++;
            printf("GOT %d\n", A.peer);   /* tests/gui/run.sh takes the server down after 1 */
            fflush(stdout);
            if (A.peer == 2) g_timeout_add(300, finish_test, NULL);   /* let it paint first */
        }
        break;
    case WS_EV_CLOSE:
        if (ev->reconnect_ms > 0) {
            snprintf(line, sizeof line, "reconnecting in %d ms (%s)", ev->reconnect_ms, ev->msg[0] ? ev->msg : "closed");
            set_status(line, 1);
            append("* disconnected: reconnecting");
            if (!A.down && A.test) { printf("DOWN\n"); fflush(stdout); }
            A.down = 1;
        } else { set_status("closed", 0); append("* closed"); }
        break;
    default: break;
    }
}

int main(int argc, char **argv) {
    ws_config cfg;
    ws_connect_opts o;
    GtkWidget *box, *top, *scroll, *view;
    int help = argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));   /* asked for */
    if (help || argc < 2) {   /* --help: stdout, 0; a mistake: stderr, 2 */
        fprintf(help ? stdout : stderr, "usage: %s ws://host:port/path\n", argv[0]);
        return help ? 0 : 2;
    }
    gtk_init(&argc, &argv);
    A.test = getenv("WS_GUI_TEST");
    A.win = gtk_window_new(GTK_WINDOW_TOPLEVEL);
    gtk_window_set_title(GTK_WINDOW(A.win), "ws.h chat (GTK)");
    gtk_window_set_default_size(GTK_WINDOW(A.win), 420, 300);
    box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
    top = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    A.spinner = gtk_spinner_new();
    A.status = gtk_label_new("connecting");
    gtk_box_pack_start(GTK_BOX(top), A.spinner, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(top), A.status, FALSE, FALSE, 0);
    view = gtk_text_view_new();
    gtk_text_view_set_editable(GTK_TEXT_VIEW(view), FALSE);
    A.log = gtk_text_view_get_buffer(GTK_TEXT_VIEW(view));
    scroll = gtk_scrolled_window_new(NULL, NULL);
    gtk_container_add(GTK_CONTAINER(scroll), view);
    A.entry = gtk_entry_new();
    g_signal_connect(A.entry, "activate", G_CALLBACK(on_send), NULL);
    gtk_box_pack_start(GTK_BOX(box), top, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), scroll, TRUE, TRUE, 0);
    gtk_box_pack_start(GTK_BOX(box), A.entry, FALSE, FALSE, 0);
    gtk_container_set_border_width(GTK_CONTAINER(box), 8);
    gtk_container_add(GTK_CONTAINER(A.win), box);
    g_signal_connect(A.win, "destroy", G_CALLBACK(gtk_main_quit), NULL);
    gtk_widget_add_tick_callback(A.win, on_frame, NULL, NULL);
    gtk_widget_show_all(A.win);
    set_status("connecting", 1);

    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.on_watch = on_watch;   /* GLib's loop watches ws.h's sockets: no polling timer */
    cfg.on_timer = on_timer;
    A.ctx = ws_ctx_create(&cfg);
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 250;
    o.reconnect_max_ms = 2000;
    if (!A.ctx || ws_connect(A.ctx, argv[1], &o, NULL, &A.conn) != WS_OK) {
        fprintf(stderr, "%s\n", A.ctx ? ws_ctx_error(A.ctx) : "out of memory");   /* why, in words */
        return 1;
    }
    if (A.test) {
        (void)ws_timer_start(A.ctx, 500, 500, say_ready, NULL, NULL);
        g_timeout_add_seconds(60, test_timeout, NULL);   /* a hang guard */
    }
    gtk_main();
    ws_ctx_destroy(A.ctx);
    return A.checks_failed != 0;
}
