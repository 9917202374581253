/* gui_loop.c - ws.h inside a program that already has a loop (a game, a GUI): a fake 60 Hz
 * frame loop connects as a client, sends a message each second and prints what arrives,
 * never blocking on the network. Two ways to drive ws.h from such a loop:
 *   poll  (default): once per frame, ws_poll(ctx, 0) - no waiting, just work that is ready.
 *   split: ws_pollfds hands over the sockets and a deadline; the host waits on them with its
 *          own poll (here until the next frame is due, so replies are handled at once, between
 *          frames) and then calls ws_dispatch. GLib, Qt or a Win32 loop would watch the same fds.
 *   make examples && ./build/testee_server 9001 &  ./build/gui_loop ws://127.0.0.1:9001/ 5 split
 * Usage: gui_loop URL [SECONDS=5] [poll|split] */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
typedef WSAPOLLFD os_pollfd;
#  define OS_POLL(p, n, ms) WSAPoll((p), (ULONG)(n), (ms))
#  define OS_SOCK(fd) ((SOCKET)(fd))
static int64_t now_ms(void) { return (int64_t)GetTickCount64(); }
static void sleep_ms(int64_t ms) { Sleep((DWORD)ms); }
#else
#  include <poll.h>
#  include <time.h>
typedef struct pollfd os_pollfd;
#  define OS_POLL(p, n, ms) poll((p), (nfds_t)(n), (ms))
#  define OS_SOCK(fd) ((int)(fd))
static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
static void sleep_ms(int64_t ms) {
    struct timespec t;
    t.tv_sec = (time_t)(ms / 1000);
    t.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&t, NULL);
}
#endif

static int closed, failed;   /* failed: an error ended the connection */
static long frame;

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)c; (void)user;
    switch (ev->type) {
    case WS_EV_OPEN: printf("frame %ld: connected\n", frame); break;
    case WS_EV_MESSAGE:
        if (ev->opcode == WS_OP_TEXT) printf("frame %ld: < %.*s\n", frame, (int)ev->len, (const char *)ev->data);
        else printf("frame %ld: < [binary %lu bytes]\n", frame, (unsigned long)ev->len);
        break;
    case WS_EV_ERROR:
        printf("frame %ld: error: %s (%s)\n", frame, ws_result_str(ev->result), ev->msg);
        failed = 1;
        break;
    case WS_EV_CLOSE: printf("frame %ld: closed, code %u\n", frame, ev->close_code); closed = 1; break;
    default: break;
    }
    fflush(stdout);
}

/* The split form: the host's own wait on ws.h's sockets, for at most max_wait ms. */
static void split_pass(ws_ctx *ctx, int max_wait) {
    static ws_pollfd fds[64];
    static os_pollfd os[64];
    int wait;
    size_t n = ws_pollfds(ctx, fds, 64, &wait), i;
    if (n > 64) n = 64;   /* a real host would grow its arrays; one client needs 2 */
    if (wait < 0 || wait > max_wait) wait = max_wait;
    for (i = 0; i < n; i++) {
        os[i].fd = OS_SOCK(fds[i].fd);
        os[i].events = (short)(((fds[i].events & WS_POLLIN) ? POLLIN : 0) |
                               ((fds[i].events & WS_POLLOUT) ? POLLOUT : 0));
        os[i].revents = 0;
    }
    if (OS_POLL(os, n, wait) < 0) { sleep_ms(wait); n = 0; }   /* e.g. EINTR: timers only */
    for (i = 0; i < n; i++) {
        short r = os[i].revents;
        fds[i].revents = (short)(((r & POLLIN) ? WS_POLLIN : 0) | ((r & POLLOUT) ? WS_POLLOUT : 0) |
                                 ((r & POLLERR) ? WS_POLLERR : 0) | ((r & POLLHUP) ? WS_POLLHUP : 0));
    }
    ws_dispatch(ctx, fds, n);
}

int main(int argc, char **argv) {
    ws_config cfg = {0};
    ws_ctx *ctx;
    ws_conn *conn;
    ws_result rc;
    int64_t start, next_frame, next_send;
    long seconds = argc > 2 ? strtol(argv[2], NULL, 10) : 5, sent = 0, last_frames = 0;
    int split = argc > 3 && strcmp(argv[3], "split") == 0, closing = 0;
    int help = argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));   /* asked for */
    if (argc > 3 && !split && strcmp(argv[3], "poll") != 0) seconds = 0;   /* unknown mode */
    if (help || argc < 2 || argc > 4 || seconds <= 0) {   /* --help: stdout, 0; a mistake: stderr, 2 */
        fprintf(help ? stdout : stderr, "usage: %s URL [SECONDS] [poll|split]\n", argv[0]);
        return help ? 0 : 2;
    }
    cfg.on_event = on_event;
    ctx = ws_ctx_create(&cfg);
    if (!ctx) { fprintf(stderr, "ws_ctx_create failed\n"); return 1; }
    rc = ws_connect(ctx, argv[1], NULL, NULL, &conn);   /* never blocks: OPEN comes later */
    if (rc != WS_OK) {   /* ws_ctx_error names the part of the URL that is wrong */
        fprintf(stderr, "%s\nusage: %s URL [SECONDS] [poll|split]\n", ws_ctx_error(ctx), argv[0]);
        ws_ctx_destroy(ctx);
        return 1;
    }
    printf("%s mode, %ld s\n", split ? "split" : "poll", seconds);
    start = next_frame = next_send = now_ms();
    while (!closed) {
        int64_t now = now_ms();
        if (now < next_frame) {   /* idle until the next frame: sleep, or wait on the sockets */
            if (split) split_pass(ctx, (int)(next_frame - now));
            else sleep_ms(next_frame - now);
            continue;
        }
        frame++;
        next_frame = start + frame * 1000 / 60;   /* 60 Hz without drift */
        if (!split && ws_poll(ctx, 0) < 0) { fprintf(stderr, "ws_poll failed\n"); break; }
        if (split) split_pass(ctx, 0);
        /* ... the frame's real work (input, drawing) would go here ... */
        if (now >= next_send && !closing && ws_conn_state(conn) == WS_STATE_OPEN) {
            char text[128];
            snprintf(text, sizeof text, "tick %ld at frame %ld (%ld frames since the last tick)",
                     ++sent, frame, frame - last_frames);
            last_frames = frame;
            rc = ws_conn_send_text(conn, text);
            if (rc != WS_OK) printf("send: %s\n", ws_result_str(rc));
            next_send += 1000;
        }
        if (!closing && now - start >= seconds * 1000) {
            closing = 1;
            rc = ws_conn_close(conn, WS_CLOSE_NORMAL, "bye");   /* WS_EV_CLOSE ends the loop */
            if (rc != WS_OK) { printf("close: %s\n", ws_result_str(rc)); break; }
        }
    }
    ws_ctx_destroy(ctx);
    return closed && !failed ? 0 : 1;
}
