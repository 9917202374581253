/* lws_echo.c - libwebsockets (4.1) echo server for the benchmarks, in the style of lws's
 * minimal-ws-server-echo: each received fragment is queued (malloc) and written back with
 * the same first/final flags when the socket is writable.   lws_echo PORT */
#include <libwebsockets.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

typedef struct msg { struct msg *next; size_t len; int flags; unsigned char buf[]; } msg;
typedef struct pss { msg *head, *tail; } pss;
static volatile sig_atomic_t g_stop;
static void on_term(int s) { (void)s; g_stop = 1; }

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    pss *p = (pss *)user;
    msg *m;
    switch (reason) {
    case LWS_CALLBACK_RECEIVE: {
        int first = lws_is_first_fragment(wsi), fin = lws_is_final_fragment(wsi);
        int bin = lws_frame_is_binary(wsi);
        m = (msg *)malloc(sizeof *m + LWS_PRE + len);
        if (!m) return -1;
        memcpy(m->buf + LWS_PRE, in, len);
        m->len = len;
        m->flags = (int)lws_write_ws_flags(bin ? LWS_WRITE_BINARY : LWS_WRITE_TEXT, first, fin);
        m->next = NULL;
        if (p->tail) p->tail->next = m; else p->head = m;
        p->tail = m;
        lws_callback_on_writable(wsi);
        break;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        m = p->head;
        if (!m) break;
        if (lws_write(wsi, m->buf + LWS_PRE, m->len, (enum lws_write_protocol)m->flags) < (int)m->len) return -1;
        p->head = m->next;
        if (!p->head) p->tail = NULL;
        free(m);
        if (p->head) lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLOSED:
        while ((m = p->head)) { p->head = m->next; free(m); }
        p->tail = NULL;
        break;
    default: break;
    }
    return 0;
}

static struct lws_protocols protocols[] = {
    { "echo", cb, sizeof(pss), 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

int main(int argc, char **argv) {
    struct lws_context_creation_info info;
    struct lws_context *ctx;
    memset(&info, 0, sizeof info);
    lws_set_log_level(LLL_ERR, NULL);
    info.port = argc > 1 ? atoi(argv[1]) : 9001;
    info.iface = "127.0.0.1";
    info.protocols = protocols;   /* the first protocol takes connections without a subprotocol */
    ctx = lws_create_context(&info);
    if (!ctx) return 1;
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    printf("ready\n"); fflush(stdout);
    while (!g_stop && lws_service(ctx, 0) >= 0) {}
    lws_context_destroy(ctx);
    return 0;
}
