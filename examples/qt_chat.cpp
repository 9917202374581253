/* qt_chat.cpp - the chat client window in Qt 5 (ws.h compiled as C++), driven by ws.h's
 * registration interface: a QSocketNotifier per socket and direction and one single-shot
 * QTimer, told only what changes (ws_config.on_watch / on_timer). A message list, an entry, the
 * connection state; it reconnects by itself, and a busy bar keeps the window painting meanwhile.
 *   ./build/qt_chat ws://127.0.0.1:9001/          (make examples builds it when Qt 5 is found)
 *   by hand: g++ -std=c++11 -fPIC examples/qt_chat.cpp -o qt_chat $(pkg-config --cflags --libs Qt5Widgets)
 *            (Qt 5 refuses code built without -fPIC; Debian: apt-get install qtbase5-dev)
 * WS_GUI_TEST=PREFIX: the scripted check of tests/gui/run.sh (see examples/gtk_chat.c). */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <QApplication>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QSocketNotifier>
#include <QTimer>
#include <QVBoxLayout>
#include <QWidget>
#include <cstdio>
#include <cstdlib>
#include <cstring>

struct Watch { QSocketNotifier *rd, *wr; void *token; };   // ws.h's *host for each socket
static struct {
    ws_ctx *ctx = nullptr;
    ws_conn *conn = nullptr;
    QWidget *win = nullptr;
    QLabel *status = nullptr;
    QListWidget *list = nullptr;
    QProgressBar *busy = nullptr;
    QTimer *timer = nullptr;
    const char *test = nullptr;
    int peer = 0, down = 0, paints_down = 0, failed = 0;
} A;

// ---- ws.h on Qt's event loop ----
static void on_watch(ws_ctx *, intptr_t fd, int events, void *token, void **host, void *) {
    Watch *w = static_cast<Watch *>(*host);
    if (!events) {   // always before ws.h closes fd: unregister now, delete later
        if (w) { w->rd->setEnabled(false); w->wr->setEnabled(false); w->rd->deleteLater(); w->wr->deleteLater(); delete w; }
        return;
    }
    if (!w) {
        w = new Watch;
        w->token = token;
        w->rd = new QSocketNotifier((qintptr)fd, QSocketNotifier::Read);
        w->wr = new QSocketNotifier((qintptr)fd, QSocketNotifier::Write);
        QObject::connect(w->rd, &QSocketNotifier::activated, [token]() { ws_socket_ready(A.ctx, token, WS_POLLIN); });
        QObject::connect(w->wr, &QSocketNotifier::activated, [token]() { ws_socket_ready(A.ctx, token, WS_POLLOUT); });
        *host = w;
    }
    w->rd->setEnabled((events & WS_POLLIN) != 0);
    w->wr->setEnabled((events & WS_POLLOUT) != 0);
}
static void on_timer(ws_ctx *, int ms, void *) {
    if (ms < 0) A.timer->stop(); else A.timer->start(ms);
}

// ---- the scripted check (WS_GUI_TEST) ----
struct PaintCounter : QObject {   // counts the busy bar's paints while the server is away
    bool eventFilter(QObject *o, QEvent *e) override {
        if (e->type() == QEvent::Paint && A.down) A.paints_down++;
        return QObject::eventFilter(o, e);
    }
};
static void check(bool ok, const char *what) { std::printf("%s %s\n", ok ? "ok" : "FAIL", what); if (!ok) A.failed++; }
static void finish_test() {
    QString all;
    for (int i = 0; i < A.list->count(); i++) all += A.list->item(i)->text() + "\n";   // read back through Qt
    check(all.contains("hello from the peer 1"), "the peer's first message is in the window");
    check(all.contains("hello from the peer 2"), "the message after the reconnect is in the window");
    check(all.contains("reconnecting"), "the window said it was reconnecting");
    std::printf("  paints while the server was down: %d\n", A.paints_down);
    check(A.paints_down > 0, "the window kept repainting while the server was down");
    check(A.win->grab().save(QString(A.test) + ".png"), "screenshot saved");
    std::printf("%d passed, %d failed\n", 5 - A.failed, A.failed);
    std::fflush(stdout);
    QApplication::quit();
}
static void say_ready(ws_ctx *, void *) { if (A.peer < 2) ws_conn_send_text(A.conn, "gui: ready"); }

static void on_event(ws_conn *, const ws_event *ev, void *) {
    char line[600];
    switch (ev->type) {
    case WS_EV_OPEN: A.status->setText("open"); A.busy->hide(); A.list->addItem("* connected"); A.down = 0; break;
    case WS_EV_MESSAGE:
        std::snprintf(line, sizeof line, "%.*s", (int)ev->len, (const char *)ev->data);
        if (A.test && !std::strncmp(line, "gui: ", 5)) break;   // our own "ready" coming back
        A.list->addItem(QString::fromUtf8(line));
        if (A.test && std::strstr(line, "hello from the peer ")) {
            std::printf("GOT %d\n", ++A.peer);
            std::fflush(stdout);
            if (A.peer == 2) QTimer::singleShot(300, finish_test);   // let it paint first
        }
        break;
    case WS_EV_CLOSE:
        if (ev->reconnect_ms > 0) {
            std::snprintf(line, sizeof line, "reconnecting in %d ms (%s)", ev->reconnect_ms, ev->msg[0] ? ev->msg : "closed");
            A.status->setText(line);
            A.busy->show();
            A.list->addItem("* disconnected: reconnecting");
            if (!A.down && A.test) { std::printf("DOWN\n"); std::fflush(stdout); }
            A.down = 1;
        } else { A.status->setText("closed"); A.busy->hide(); A.list->addItem("* closed"); }
        break;
    default: break;
    }
}

int main(int argc, char **argv) {
    int help = argc > 1 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"));   /* asked for */
    if (help || argc < 2) {   /* --help: stdout, 0; a mistake: stderr, 2 */
        std::fprintf(help ? stdout : stderr, "usage: %s ws://host:port/path\n", argv[0]);
        return help ? 0 : 2;
    }
    QApplication app(argc, argv);
    A.test = std::getenv("WS_GUI_TEST");
    QWidget win;
    QVBoxLayout box(&win);
    QLabel status("connecting");
    QProgressBar busy;
    QListWidget list;
    QLineEdit entry;
    QTimer timer;
    PaintCounter counter;
    busy.setRange(0, 0);   // indeterminate: it animates while shown
    box.addWidget(&status);
    box.addWidget(&busy);
    box.addWidget(&list);
    box.addWidget(&entry);
    win.setWindowTitle("ws.h chat (Qt)");
    win.resize(420, 300);
    A.win = &win; A.status = &status; A.list = &list; A.busy = &busy; A.timer = &timer;
    busy.installEventFilter(&counter);
    timer.setSingleShot(true);
    QObject::connect(&timer, &QTimer::timeout, []() { ws_timer_fired(A.ctx); });
    QObject::connect(&entry, &QLineEdit::returnPressed, [&entry]() {
        QByteArray t = entry.text().toUtf8();
        if (t.isEmpty() || ws_conn_send_text(A.conn, t.constData()) != WS_OK) return;
        A.list->addItem("me: " + entry.text());
        entry.clear();
    });
    win.show();

    ws_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.on_watch = on_watch;   // Qt's loop watches ws.h's sockets: no polling timer
    cfg.on_timer = on_timer;
    A.ctx = ws_ctx_create(&cfg);
    ws_connect_opts o;
    std::memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 250;
    o.reconnect_max_ms = 2000;
    if (!A.ctx || ws_connect(A.ctx, argv[1], &o, nullptr, &A.conn) != WS_OK) {
        std::fprintf(stderr, "%s\n", A.ctx ? ws_ctx_error(A.ctx) : "out of memory");   /* why, in words */
        return 1;
    }
    if (A.test) {
        ws_timer_start(A.ctx, 500, 500, say_ready, nullptr, nullptr);
        QTimer::singleShot(60000, []() { std::printf("FAIL the scripted check did not finish\n0 passed, 1 failed\n"); std::exit(1); });
    }
    int rc = app.exec();
    ws_ctx_destroy(A.ctx);
    return rc != 0 || A.failed != 0;
}
