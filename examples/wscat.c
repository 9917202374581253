/* wscat.c - a command-line client: prints what arrives, sends each line of stdin as a text
 * message, and at end of input closes with 1000. Shows the split loop: ws_pollfds + your own
 * poll() that also watches stdin + ws_dispatch, so a slow typist never blocks the socket.
 * (Windows: a reader thread hands lines over and calls ws_ctx_wakeup, one of the two thread-safe
 * calls with ws_ctx_post.)
 *   make examples && ./build/testee_server 9001 &  ./build/wscat ws://127.0.0.1:9001/
 *   printf 'hello\nworld\n' | ./build/wscat ws://127.0.0.1:9001/
 *   ./build/wscat_tls --ca ca.pem wss://localhost:9443/     (the mbedTLS build of this file)
 *   ./build/wscat --proxy http://user:password@127.0.0.1:3128 ws://echo.example/   (HTTP CONNECT) */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <poll.h>
#  include <unistd.h>
#endif

static int done, failed;   /* done: WS_EV_CLOSE arrived; failed: exit status 1 */
static ws_conn *conn;

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)c; (void)user;
    switch (ev->type) {
    case WS_EV_OPEN: fprintf(stderr, "connected (end input with Ctrl-D to close)\n"); break;
    case WS_EV_MESSAGE:
        if (ev->opcode == WS_OP_TEXT) printf("< %.*s\n", (int)ev->len, (const char *)ev->data);
        else printf("< [binary %lu bytes]\n", (unsigned long)ev->len);
        fflush(stdout);
        break;
    case WS_EV_ERROR:   /* the kind (ws_result_str), then why (ev->msg) */
        if (ev->http_status)
            fprintf(stderr, "error: %s: HTTP %d %s (%s)\n", ws_result_str(ev->result), ev->http_status,
                    ws_http_status_text(ev->http_status), ev->msg);
        else fprintf(stderr, "error: %s: %s\n", ws_result_str(ev->result), ev->msg);
        failed = 1;
        break;
    case WS_EV_CLOSE:
        fprintf(stderr, "closed: code %u%s%s\n", ev->close_code, ev->reason[0] ? ", " : "", ev->reason);
        done = 1;
        break;
    default: break;
    }
}

/* Diagnostics. A client's errors also come as ERROR events or in ws_ctx_error, printed
 * there; warnings (--verify optional: a certificate that failed its check) only come here. */
static void on_log(int level, const char *msg, void *user) {
    (void)user;
    if (level > 0) fprintf(stderr, "%s: %s\n", level == 1 ? "warning" : "info", msg);
}

static void send_line(char *line, size_t len) {   /* one line of input, without its newline */
    ws_result rc;
    if (len && line[len - 1] == '\r') len--;
    rc = ws_conn_send(conn, WS_OP_TEXT, line, len);
    if (rc != WS_OK) fprintf(stderr, "send: %s\n", ws_result_str(rc));
}

static void input_ended(void) {
    ws_result rc = ws_conn_close(conn, WS_CLOSE_NORMAL, NULL);
    if (rc != WS_OK) fprintf(stderr, "close: %s\n", ws_result_str(rc));
}

#ifdef _WIN32
static char w_line[65536];
static volatile LONG w_state;   /* 0 = empty, 1 = w_line holds a line, 2 = end of input */
static HANDLE w_taken;          /* set by the loop when it has sent w_line */
static DWORD WINAPI reader(LPVOID ctx) {
    for (;;) {
        int eof = !fgets(w_line, sizeof w_line, stdin);
        InterlockedExchange(&w_state, eof ? 2 : 1);
        (void)ws_ctx_wakeup((ws_ctx *)ctx);
        if (eof) return 0;
        WaitForSingleObject(w_taken, INFINITE);
    }
}
static void loop(ws_ctx *ctx) {
    int reading = 0;
    w_taken = CreateEventA(NULL, FALSE, FALSE, NULL);
    while (!done) {
        if (ws_poll(ctx, -1) < 0) { fprintf(stderr, "ws_poll failed\n"); failed = 1; return; }
        if (!reading && !done && ws_conn_state(conn) == WS_STATE_OPEN) {
            if (!w_taken || !CreateThread(NULL, 0, reader, ctx, 0, NULL)) {
                fprintf(stderr, "cannot start the stdin thread\n"); failed = 1; return;
            }
            reading = 1;
        }
        if (w_state == 1) {
            send_line(w_line, strcspn(w_line, "\n"));
            InterlockedExchange(&w_state, 0);
            SetEvent(w_taken);
        } else if (w_state == 2) { input_ended(); InterlockedExchange(&w_state, 3); }
    }
}
#else
static void loop(ws_ctx *ctx) {
    static char line[65536];   /* a longer line goes out in pieces */
    struct pollfd pfd[64];
    ws_pollfd wfd[63];
    size_t len = 0, n, i;
    int stdin_open = 1, timeout;
    while (!done) {
        n = ws_pollfds(ctx, wfd, 63, &timeout);   /* one connection: never more than a few */
        if (n > 63) { fprintf(stderr, "too many sockets\n"); failed = 1; return; }
        for (i = 0; i < n; i++) {
            pfd[i].fd = (int)wfd[i].fd;
            pfd[i].events = (short)(((wfd[i].events & WS_POLLIN) ? POLLIN : 0) |
                                    ((wfd[i].events & WS_POLLOUT) ? POLLOUT : 0));
        }
        pfd[n].fd = stdin_open && ws_conn_state(conn) == WS_STATE_OPEN ? 0 : -1;   /* -1: ignored */
        pfd[n].events = POLLIN;
        if (poll(pfd, (nfds_t)n + 1, timeout) < 0) { perror("poll"); failed = 1; return; }
        for (i = 0; i < n; i++) {
            short r = pfd[i].revents;
            wfd[i].revents = (short)(((r & POLLIN) ? WS_POLLIN : 0) | ((r & POLLOUT) ? WS_POLLOUT : 0) |
                                     ((r & POLLERR) ? WS_POLLERR : 0) | ((r & POLLHUP) ? WS_POLLHUP : 0));
        }
        ws_dispatch(ctx, wfd, n);   /* sockets and timers; events arrive in on_event */
        if (pfd[n].fd == 0 && pfd[n].revents && !done) {
            ssize_t got = read(0, line + len, sizeof line - len);
            char *nl;
            if (got <= 0) {   /* end of input: send what is left, then close */
                if (len) send_line(line, len);
                stdin_open = 0;
                input_ended();
                continue;
            }
            len += (size_t)got;
            while ((nl = memchr(line, '\n', len)) != NULL) {
                send_line(line, (size_t)(nl - line));
                len -= (size_t)(nl - line) + 1;
                memmove(line, nl + 1, len);
            }
            if (len == sizeof line) { send_line(line, len); len = 0; }
        }
    }
}
#endif

int main(int argc, char **argv) {
    ws_config cfg = {0};
    ws_connect_opts opts = {0};
    ws_tls_opts tls = {0};
    ws_ctx *ctx;
    ws_result rc;
    int i;
    for (i = 1; i + 1 < argc && argv[i][0] == '-'; i += 2) {   /* options take one value */
        if (!strcmp(argv[i], "--ca")) tls.ca_file = argv[i + 1];
        else if (!strcmp(argv[i], "--verify")) tls.verify = !strcmp(argv[i + 1], "none") ? WS_TLS_VERIFY_NONE
                                             : !strcmp(argv[i + 1], "optional") ? WS_TLS_VERIFY_OPTIONAL
                                             : !strcmp(argv[i + 1], "required") ? WS_TLS_VERIFY_REQUIRED : -1;
        else if (!strcmp(argv[i], "--server-name")) tls.server_name = argv[i + 1];
        else if (!strcmp(argv[i], "--protocol")) opts.protocols = argv[i + 1];
        else if (!strcmp(argv[i], "--header")) opts.headers = argv[i + 1];
        else if (!strcmp(argv[i], "--proxy")) opts.proxy = argv[i + 1];
        else break;
    }
    if (i != argc - 1 || argv[i][0] == '-' || tls.verify < 0) {   /* --help: stdout, 0; else stderr, 2 */
        int help = argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
        fprintf(help ? stdout : stderr, "usage: %s [--ca CA.pem] [--verify none|optional|required] [--server-name NAME]\n"
                        "       [--protocol LIST] [--header 'Name: value'] [--proxy http://[user:pw@]host:port]\n"
                        "       ws://host:port/path | wss://...\n",
                argv[0]);
        return help ? 0 : 2;
    }
    opts.tls = &tls;   /* used by wss:// URLs (build with -DWS_USE_MBEDTLS: make examples) */
    cfg.on_event = on_event;
    cfg.log = on_log;
    ctx = ws_ctx_create(&cfg);
    if (!ctx) { fprintf(stderr, "ws_ctx_create failed\n"); return 1; }
    rc = ws_connect(ctx, argv[i], &opts, NULL, &conn);   /* the outcome comes as events */
    if (rc != WS_OK) {   /* what can be known at once: ws_ctx_error says why */
        fprintf(stderr, "%s: %s\n", argv[0], ws_ctx_error(ctx)[0] ? ws_ctx_error(ctx) : ws_result_str(rc));
#ifndef WS_USE_MBEDTLS
        if (rc == WS_ERR_TLS) fprintf(stderr, "  (for wss://, use build/wscat_tls: make examples builds it when "
                                              "mbedTLS is installed, apt-get install libmbedtls-dev)\n");
#endif
        ws_ctx_destroy(ctx);
        return 1;
    }
    loop(ctx);
    ws_ctx_destroy(ctx);
    return failed;
}
