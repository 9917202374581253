/* win32_loop.c - ws.h inside a Win32 message loop, never blocking it. Each pass: ws_pollfds
 * lists the sockets and a deadline; WSAEventSelect ties every socket to one shared event
 * (WS_POLLIN -> FD_READ|FD_ACCEPT, WS_POLLOUT -> FD_WRITE|FD_CONNECT, always FD_CLOSE);
 * MsgWaitForMultipleObjects waits for that event, a window message or the deadline; then
 * WSAEnumNetworkEvents turns each socket's record into revents for ws_dispatch, and
 * PeekMessage/DispatchMessage runs the window messages - here SetTimer callbacks that send a
 * message each second and close after SECONDS. A GUI does the same with its windows.
 * FD_WRITE is an edge: Winsock records it at connect and then only after a send failed with
 * WSAEWOULDBLOCK, but ws.h asks for writability like poll() does (e.g. right after connect,
 * to send its upgrade request). So before waiting, a zero-timeout WSAPoll asks whether the
 * sockets that want WS_POLLOUT are writable now; if one is, there is no wait. Otherwise a
 * send has failed and FD_WRITE (or FD_CONNECT) will wake the loop. Every socket is selected
 * again each pass: interest changes, and a closed socket's handle may come back as a new one.
 * Verified: cross-compiles warning-free with mingw-w64 (make test-mingw); run under Wine 8
 * against testee_server (127.0.0.1 and localhost, refused port, 16 MB messages). Not verified:
 * a run on real Windows. On other systems it only prints "Windows only".
 *   x86_64-w64-mingw32-gcc -std=c99 examples/win32_loop.c -o win32_loop.exe -lws2_32 -lbcrypt
 *   testee_server.exe 9001   and then   win32_loop.exe ws://127.0.0.1:9001/ 5
 * Usage: win32_loop URL [SECONDS=5] */
#ifdef _WIN32
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _MSC_VER
#  pragma comment(lib, "user32")
#endif

static ws_conn *conn;
static int failed, closing, done;
static long sent;

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)c; (void)user;
    switch (ev->type) {
    case WS_EV_OPEN: printf("connected\n"); break;
    case WS_EV_MESSAGE: printf("< %.*s\n", (int)ev->len, (const char *)ev->data); break;
    case WS_EV_ERROR: printf("error: %s (%s)\n", ws_result_str(ev->result), ev->msg); failed = 1; break;
    case WS_EV_CLOSE: printf("closed, code %u\n", ev->close_code); done = 1; break;
    default: break;
    }
    fflush(stdout);
}

static void CALLBACK on_tick(HWND w, UINT msg, UINT_PTR id, DWORD ms) {   /* each second */
    char text[64];
    ws_result rc;
    (void)w; (void)msg; (void)id; (void)ms;
    if (closing || ws_conn_state(conn) != WS_STATE_OPEN) return;
    snprintf(text, sizeof text, "tick %ld", ++sent);
    rc = ws_conn_send_text(conn, text);
    if (rc != WS_OK) printf("send: %s\n", ws_result_str(rc));
}

static void CALLBACK on_stop(HWND w, UINT msg, UINT_PTR id, DWORD ms) {
    ws_result rc;
    (void)msg; (void)ms;
    KillTimer(w, id);
    closing = 1;
    rc = ws_conn_close(conn, WS_CLOSE_NORMAL, "bye");   /* WS_EV_CLOSE ends the loop */
    if (rc != WS_OK) { printf("close: %s\n", ws_result_str(rc)); failed = done = 1; }
}

static short revents_of(const WSANETWORKEVENTS *ne) {
    long e = ne->lNetworkEvents;
    short r = (short)(((e & (FD_READ | FD_ACCEPT | FD_CLOSE)) ? WS_POLLIN : 0) |
                      ((e & (FD_WRITE | FD_CONNECT)) ? WS_POLLOUT : 0));
    if (((e & FD_CONNECT) && ne->iErrorCode[FD_CONNECT_BIT]) || ((e & FD_CLOSE) && ne->iErrorCode[FD_CLOSE_BIT]))
        r = (short)(r | WS_POLLERR);
    return r;
}

int main(int argc, char **argv) {
    ws_config cfg = {0};
    ws_ctx *ctx;
    ws_result rc;
    WSAEVENT ev;
    ws_pollfd *fds = NULL;
    WSAPOLLFD *wp = NULL;   /* the sockets that want WS_POLLOUT, */
    size_t *wi = NULL;      /* and their index in fds */
    size_t cap = 0, n, i, m;
    long seconds = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
    int help = argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));   /* asked for */
    if (help || argc < 2 || argc > 3 || seconds <= 0 || seconds > 86400) {   /* --help: stdout, 0; a mistake: stderr, 2 */
        fprintf(help ? stdout : stderr, "usage: %s URL [SECONDS]\n", argv[0]);
        return help ? 0 : 2;
    }
    cfg.on_event = on_event;
    ctx = ws_ctx_create(&cfg);   /* calls WSAStartup */
    if (!ctx) { fprintf(stderr, "ws_ctx_create failed\n"); return 1; }
    ev = WSACreateEvent();
    if (ev == WSA_INVALID_EVENT) { fprintf(stderr, "WSACreateEvent: %d\n", WSAGetLastError()); ws_ctx_destroy(ctx); return 1; }
    rc = ws_connect(ctx, argv[1], NULL, NULL, &conn);   /* never blocks: OPEN comes later */
    if (rc != WS_OK || !SetTimer(NULL, 0, 1000, on_tick) || !SetTimer(NULL, 0, (UINT)seconds * 1000u, on_stop)) {
        fprintf(stderr, "%s: %s\n", argv[1], rc != WS_OK ? ws_result_str(rc) : "SetTimer failed");
        WSACloseEvent(ev);
        ws_ctx_destroy(ctx);
        return 1;
    }
    while (!done) {
        int timeout;
        MSG msg;
        DWORD r;
        while ((n = ws_pollfds(ctx, fds, cap, &timeout)) > cap) {   /* more room */
            ws_pollfd *f = (ws_pollfd *)realloc(fds, n * sizeof *fds);
            WSAPOLLFD *p = f ? (WSAPOLLFD *)realloc(wp, n * sizeof *wp) : NULL;
            size_t *x = p ? (size_t *)realloc(wi, n * sizeof *wi) : NULL;
            if (f) fds = f;
            if (p) wp = p;
            if (!x) { fprintf(stderr, "out of memory\n"); failed = done = 1; break; }
            wi = x;
            cap = n;
        }
        if (done) break;
        for (i = m = 0; i < n; i++) {
            long want = FD_CLOSE | ((fds[i].events & WS_POLLIN) ? FD_READ | FD_ACCEPT : 0) |
                        ((fds[i].events & WS_POLLOUT) ? FD_WRITE | FD_CONNECT : 0);
            if (WSAEventSelect((SOCKET)fds[i].fd, ev, want) != 0)
                printf("WSAEventSelect: %d\n", WSAGetLastError());   /* that socket sees no events */
            fds[i].revents = 0;
            if (fds[i].events & WS_POLLOUT) { wp[m].fd = (SOCKET)fds[i].fd; wp[m].events = POLLWRNORM; wi[m++] = i; }
        }
        if (m && WSAPoll(wp, (ULONG)m, 0) > 0)   /* writable now (or failed): no waiting */
            for (i = 0; i < m; i++)
                if (wp[i].revents & (POLLWRNORM | POLLERR | POLLHUP)) {
                    fds[wi[i]].revents = (short)(WS_POLLOUT | ((wp[i].revents & POLLWRNORM) ? 0 : WS_POLLERR));
                    timeout = 0;
                }
        r = MsgWaitForMultipleObjects(1, &ev, FALSE, timeout < 0 ? INFINITE : (DWORD)timeout, QS_ALLINPUT);
        if (r == WAIT_FAILED) { fprintf(stderr, "MsgWaitForMultipleObjects: %lu\n", GetLastError()); failed = 1; break; }
        if (!WSAResetEvent(ev)) printf("WSAResetEvent: %d\n", WSAGetLastError());   /* before reading */
        for (i = 0; i < n; i++) {
            WSANETWORKEVENTS ne;
            if (WSAEnumNetworkEvents((SOCKET)fds[i].fd, NULL, &ne) == 0) fds[i].revents |= revents_of(&ne);
            else fds[i].revents |= WS_POLLERR;   /* not expected: let ws.h find out */
        }
        ws_dispatch(ctx, fds, n);   /* sockets, then due timers */
        while (!done && PeekMessage(&msg, NULL, 0, 0, PM_REMOVE)) {   /* drain: MsgWait sees new input only */
            if (msg.message == WM_QUIT) { done = 1; break; }
            TranslateMessage(&msg);
            DispatchMessage(&msg);   /* WM_TIMER -> on_tick / on_stop */
        }
    }
    free(fds);
    free(wp);
    free(wi);
    WSACloseEvent(ev);
    ws_ctx_destroy(ctx);
    return failed ? 1 : 0;
}
#else
#include <stdio.h>
int main(void) {
    printf("win32_loop: Windows only (see examples/glib_loop.c or gui_loop.c)\n");
    return 0;
}
#endif
