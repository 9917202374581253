/* win32_chat.c - the chat client as a Win32 window (a list, an edit box, the state), driven by
 * ws.h's registration interface: WSAAsyncSelect posts a window message per socket event and
 * SetTimer runs ws.h's timer, both told only what changes (ws_config.on_watch / on_timer). It
 * reconnects by itself; a small bar turns in the corner meanwhile (the window keeps painting).
 * FD_WRITE is an edge (Winsock reports it once, then only after a send would have blocked),
 * so when ws.h asks for WS_POLLOUT a zero-timeout WSAPoll checks whether it is writable now.
 *   x86_64-w64-mingw32-gcc -std=c99 examples/win32_chat.c -o win32_chat.exe -lws2_32 -lbcrypt -lgdi32
 *   win32_chat.exe ws://127.0.0.1:9001/        (make gui-test runs it under Wine when installed)
 * WS_GUI_TEST=PREFIX: the scripted check of tests/gui/run.sh (see examples/gtk_chat.c); the
 * screenshot is PREFIX.bmp. On other systems it only prints "Windows only". */
#ifdef _WIN32
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _MSC_VER
#  pragma comment(lib, "user32")
#  pragma comment(lib, "gdi32")
#endif

enum { WM_WSSOCK = WM_APP + 1, WM_WSNOW, ID_EDIT = 100, T_WS = 1, T_SPIN = 2, T_READY = 3, T_FINISH = 4 };
typedef struct watch { SOCKET s; void *token; int used; } watch;   /* ws.h's *host */
static watch watches[64];
static HWND win, list, edit, status;
static ws_ctx *ctx;
static ws_conn *conn;
static const char *test;
static int peer, down, spin, paints_down, failed;

/* ---- ws.h on the Win32 message loop ---- */
static void on_watch(ws_ctx *x, intptr_t fd, int events, void *token, void **host, void *user) {
    watch *w = (watch *)*host;
    long ev = FD_CLOSE;
    int i;
    (void)x; (void)user;
    if (!w) {
        for (i = 0; i < 64 && watches[i].used; i++) {}
        if (i == 64) return;
        w = &watches[i];
        w->used = 1;
        w->s = (SOCKET)fd;
        w->token = token;
        *host = w;
    }
    if (!events) { WSAAsyncSelect(w->s, win, 0, 0); w->used = 0; return; }   /* before fd closes */
    if (events & WS_POLLIN) ev |= FD_READ | FD_ACCEPT;
    if (events & WS_POLLOUT) {
        WSAPOLLFD p;
        ev |= FD_WRITE | FD_CONNECT;
        p.fd = w->s; p.events = POLLWRNORM; p.revents = 0;
        if (WSAPoll(&p, 1, 0) == 1 && (p.revents & POLLWRNORM)) PostMessage(win, WM_WSSOCK, (WPARAM)w->s, FD_WRITE);
    }
    WSAAsyncSelect(w->s, win, WM_WSSOCK, ev);
}
static void on_timer(ws_ctx *x, int ms, void *user) {
    (void)x; (void)user;
    KillTimer(win, T_WS);
    if (ms == 0) PostMessage(win, WM_WSNOW, 0, 0);
    else if (ms > 0) SetTimer(win, T_WS, (UINT)ms, NULL);
}
static void socket_event(SOCKET s, LPARAM lp) {
    int i, ev = WSAGETSELECTEVENT(lp), rev = 0;
    for (i = 0; i < 64 && !(watches[i].used && watches[i].s == s); i++) {}
    if (i == 64) return;   /* a message for a socket that is no longer watched */
    if (ev & (FD_READ | FD_ACCEPT | FD_CLOSE)) rev |= WS_POLLIN;
    if (ev & (FD_WRITE | FD_CONNECT)) rev |= WS_POLLOUT;
    if (WSAGETSELECTERROR(lp)) rev |= WS_POLLERR;
    ws_socket_ready(ctx, watches[i].token, rev);
}

/* ---- the window ---- */
static void add_line(const char *t) { SendMessageA(list, LB_ADDSTRING, 0, (LPARAM)t); }
static void check(int ok, const char *what) { printf("%s %s\n", ok ? "ok" : "FAIL", what); if (!ok) failed++; }
static int save_bmp(const char *path) {   /* the window as a 24-bit BMP, through GDI */
    RECT r;
    HDC wdc, mdc;
    HBITMAP bm;
    BITMAPINFOHEADER bi;
    BITMAPFILEHEADER bf;
    unsigned char *px;
    int w, h, ok = 0;
    size_t stride;
    FILE *f;
    GetClientRect(win, &r);
    w = r.right; h = r.bottom;
    stride = ((size_t)w * 3 + 3) & ~(size_t)3;
    wdc = GetDC(win); mdc = CreateCompatibleDC(wdc); bm = CreateCompatibleBitmap(wdc, w, h);
    SelectObject(mdc, bm);
    BitBlt(mdc, 0, 0, w, h, wdc, 0, 0, SRCCOPY);
    memset(&bi, 0, sizeof bi);
    bi.biSize = sizeof bi; bi.biWidth = w; bi.biHeight = h; bi.biPlanes = 1; bi.biBitCount = 24;
    px = (unsigned char *)malloc(stride * (size_t)h);
    if (px && GetDIBits(mdc, bm, 0, (UINT)h, px, (BITMAPINFO *)&bi, DIB_RGB_COLORS) && (f = fopen(path, "wb")) != NULL) {
        memset(&bf, 0, sizeof bf);
        bf.bfType = 0x4D42;
        bf.bfOffBits = sizeof bf + sizeof bi;
        bf.bfSize = (DWORD)(bf.bfOffBits + stride * (size_t)h);
        ok = fwrite(&bf, sizeof bf, 1, f) == 1 && fwrite(&bi, sizeof bi, 1, f) == 1 &&
             fwrite(px, stride * (size_t)h, 1, f) == 1;
        fclose(f);
    }
    free(px); DeleteObject(bm); DeleteDC(mdc); ReleaseDC(win, wdc);
    return ok;
}
static void finish_test(void) {
    char all[4096] = "", item[512], path[512];
    int i, n = (int)SendMessageA(list, LB_GETCOUNT, 0, 0);
    for (i = 0; i < n; i++)   /* read back through the list box itself */
        if (SendMessageA(list, LB_GETTEXTLEN, (WPARAM)i, 0) < (LRESULT)sizeof item) {
            SendMessageA(list, LB_GETTEXT, (WPARAM)i, (LPARAM)item);
            strncat(all, item, sizeof all - strlen(all) - 2);
            strcat(all, "\n");
        }
    check(strstr(all, "hello from the peer 1") != NULL, "the peer's first message is in the window");
    check(strstr(all, "hello from the peer 2") != NULL, "the message after the reconnect is in the window");
    check(strstr(all, "reconnecting") != NULL, "the window said it was reconnecting");
    printf("  paints while the server was down: %d\n", paints_down);
    check(paints_down > 0, "the window kept repainting while the server was down");
    snprintf(path, sizeof path, "%s.bmp", test);
    check(save_bmp(path), "screenshot saved");
    printf("%d passed, %d failed\n", 5 - failed, failed);
    fflush(stdout);
    PostQuitMessage(0);
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    char line[600];
    (void)c; (void)user;
    switch (ev->type) {
    case WS_EV_OPEN: SetWindowTextA(status, "open"); add_line("* connected"); down = 0; KillTimer(win, T_SPIN); InvalidateRect(win, NULL, TRUE); break;
    case WS_EV_MESSAGE:
        snprintf(line, sizeof line, "%.*s", (int)ev->len, (const char *)ev->data);
        if (test && !strncmp(line, "gui: ", 5)) break;   /* our own "ready" coming back */
        add_line(line);
        if (test && strstr(line, "hello from the peer ")) {
            printf("GOT %d\n", ++peer);
            fflush(stdout);
            if (peer == 2) SetTimer(win, T_FINISH, 300, NULL);   /* let it paint first */
        }
        break;
    case WS_EV_CLOSE:
        if (ev->reconnect_ms > 0) {
            snprintf(line, sizeof line, "reconnecting in %d ms (%s)", ev->reconnect_ms, ev->msg[0] ? ev->msg : "closed");
            SetWindowTextA(status, line);
            add_line("* disconnected: reconnecting");
            if (!down && test) { printf("DOWN\n"); fflush(stdout); }
            if (!down) SetTimer(win, T_SPIN, 100, NULL);
            down = 1;
        } else { SetWindowTextA(status, "closed"); add_line("* closed"); }
        break;
    default: break;
    }
}

static LRESULT CALLBACK wnd(HWND h, UINT m, WPARAM wp, LPARAM lp) {
    switch (m) {
    case WM_WSSOCK: socket_event((SOCKET)wp, lp); return 0;
    case WM_WSNOW: ws_timer_fired(ctx); return 0;
    case WM_TIMER:
        if (wp == T_WS) { KillTimer(h, T_WS); ws_timer_fired(ctx); }
        else if (wp == T_SPIN) { spin++; InvalidateRect(h, NULL, FALSE); }
        else if (wp == T_READY && peer < 2) (void)ws_conn_send_text(conn, "gui: ready");
        else if (wp == T_FINISH) { KillTimer(h, T_FINISH); finish_test(); }
        return 0;
    case WM_PAINT: {
        PAINTSTRUCT ps;
        HDC dc = BeginPaint(h, &ps);
        if (down) {   /* a turning bar while reconnecting */
            static const char bars[] = "|/-\\";
            TextOutA(dc, 390, 8, &bars[spin % 4], 1);
            paints_down++;
        }
        EndPaint(h, &ps);
        return 0;
    }
    case WM_COMMAND:
        if (LOWORD(wp) == IDOK) {   /* Enter in the edit box */
            char t[512], line[600];
            GetWindowTextA(edit, t, sizeof t);
            if (t[0] && ws_conn_send_text(conn, t) == WS_OK) {
                snprintf(line, sizeof line, "me: %s", t);
                add_line(line);
                SetWindowTextA(edit, "");
            }
        }
        return 0;
    case WM_DESTROY: PostQuitMessage(0); return 0;
    default: return DefWindowProcA(h, m, wp, lp);
    }
}

int main(int argc, char **argv) {
    WNDCLASSA wc;
    MSG msg;
    ws_config cfg;
    ws_connect_opts o;
    HINSTANCE inst = GetModuleHandleA(NULL);
    int help = argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));   /* asked for */
    if (help || argc < 2) {   /* --help: stdout, 0; a mistake: stderr, 2 */
        fprintf(help ? stdout : stderr, "usage: %s ws://host:port/path\n", argv[0]);
        return help ? 0 : 2;
    }
    test = getenv("WS_GUI_TEST");
    memset(&wc, 0, sizeof wc);
    wc.lpfnWndProc = wnd;
    wc.hInstance = inst;
    wc.hCursor = LoadCursor(NULL, IDC_ARROW);
    wc.hbrBackground = (HBRUSH)(COLOR_BTNFACE + 1);
    wc.lpszClassName = "wshchat";
    RegisterClassA(&wc);
    win = CreateWindowA("wshchat", "ws.h chat (Win32)", WS_OVERLAPPEDWINDOW | WS_VISIBLE,
                        CW_USEDEFAULT, CW_USEDEFAULT, 440, 340, NULL, NULL, inst, NULL);
    status = CreateWindowA("STATIC", "connecting", WS_CHILD | WS_VISIBLE, 8, 8, 370, 20, win, NULL, inst, NULL);
    list = CreateWindowA("LISTBOX", "", WS_CHILD | WS_VISIBLE | WS_BORDER | WS_VSCROLL, 8, 32, 408, 220, win, NULL, inst, NULL);
    edit = CreateWindowA("EDIT", "", WS_CHILD | WS_VISIBLE | WS_BORDER | ES_AUTOHSCROLL, 8, 258, 408, 24, win, (HMENU)ID_EDIT, inst, NULL);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.on_watch = on_watch;   /* the message loop watches ws.h's sockets: no polling timer */
    cfg.on_timer = on_timer;
    ctx = ws_ctx_create(&cfg);
    memset(&o, 0, sizeof o);
    o.reconnect = 1;
    o.reconnect_delay_ms = 250;
    o.reconnect_max_ms = 2000;
    if (!ctx || ws_connect(ctx, argv[1], &o, NULL, &conn) != WS_OK) {
        fprintf(stderr, "%s\n", ctx ? ws_ctx_error(ctx) : "out of memory");   /* why, in words */
        return 1;
    }
    if (test) SetTimer(win, T_READY, 500, NULL);
    while (GetMessageA(&msg, NULL, 0, 0) > 0) {
        if (IsDialogMessageA(win, &msg)) continue;   /* Enter in the edit box -> IDOK */
        TranslateMessage(&msg);
        DispatchMessageA(&msg);
    }
    ws_ctx_destroy(ctx);
    return failed != 0;
}
#else
#include <stdio.h>
int main(void) { puts("Windows only (cross-build it with mingw-w64; make gui-test runs it under Wine)"); return 0; }
#endif
