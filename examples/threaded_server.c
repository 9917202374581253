/* threaded_server.c - one ws.h loop per thread on one port: each thread owns a ws_ctx that
 * listens with reuse_port (SO_REUSEPORT: the kernel spreads new connections over the
 * threads). A text message from any client goes to every client of every thread: its own
 * thread broadcasts it at once and hands a shared copy to the others with ws_ctx_post, which
 * runs on their loop threads (ws.h's connections are only ever touched by their own thread).
 *   ./build/threaded_server [port [threads [seconds]]]    (defaults 9001, 2, 0 = forever)
 * Linux and the BSDs (SO_REUSEPORT). On Windows: accept in one ctx and hand each socket to a
 * worker ctx with ws_ctx_post + ws_conn_adopt (see the README's "Scaling out"). */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 64
#define USAGE "usage: %s [port 0-65535 [threads 1-%d [seconds]]]\n"
typedef struct worker { ws_ctx *ctx; pthread_t th; int id; unsigned long msgs, dropped; } worker;
typedef struct shared_msg { int refs; int op; size_t len; uint8_t data[1]; } shared_msg;

static worker workers[MAX_THREADS];
static int nworkers;
static long run_seconds;

static void release(shared_msg *m) {   /* the last loop to deliver it frees it */
    if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0) free(m);
}
static void deliver(ws_ctx *ctx, void *arg) {   /* runs on the receiving worker's thread */
    shared_msg *m = (shared_msg *)arg;
    (void)ws_broadcast(ctx, m->op, m->data, m->len, NULL, NULL);
    release(m);
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    worker *w = (worker *)user;
    shared_msg *m;
    int i;
    if (ev->type != WS_EV_MESSAGE) return;
    w->msgs++;
    (void)ws_broadcast(ws_conn_ctx(c), ev->opcode, ev->data, ev->len, NULL, NULL);   /* ours */
    if (nworkers < 2) return;
    m = (shared_msg *)malloc(sizeof *m + ev->len);
    if (!m) { w->dropped++; return; }
    m->refs = nworkers - 1;
    m->op = ev->opcode;
    m->len = ev->len;
    memcpy(m->data, ev->data, ev->len);
    for (i = 0; i < nworkers; i++) {
        if (&workers[i] == w) continue;
        if (ws_ctx_post(workers[i].ctx, deliver, m) != WS_OK) {
            w->dropped++;   /* that loop's queue is full (max_posts): it misses this one */
            release(m);
        }
    }
}

static void *run(void *arg) {
    worker *w = (worker *)arg;
    time_t end = run_seconds > 0 ? time(NULL) + run_seconds : 0;
    while (!end || time(NULL) < end) (void)ws_poll(w->ctx, 200);
    return NULL;
}

int main(int argc, char **argv) {
    char *end1 = NULL, *end2 = NULL, *end3 = NULL;   /* not atoi: "9001x" is no port */
    long port = argc > 1 ? strtol(argv[1], &end1, 10) : 9001;
    long n = argc > 2 ? strtol(argv[2], &end2, 10) : 2;
    ws_config cfg;
    ws_listener *l = NULL;
    int i;
    run_seconds = argc > 3 ? strtol(argv[3], &end3, 10) : 0;
    if (port < 0 || port > 65535 || n < 1 || n > MAX_THREADS || run_seconds < 0 ||
        (end1 && (end1 == argv[1] || *end1)) || (end2 && (end2 == argv[2] || *end2)) ||
        (end3 && (end3 == argv[3] || *end3)) || argc > 4) {
        if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
            return printf(USAGE, argv[0], MAX_THREADS), 0;   /* asked for: stdout, status 0 */
        fprintf(stderr, USAGE, argv[0], MAX_THREADS);          /* a mistake: stderr, status 2 */
        return 2;
    }
    nworkers = (int)n;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.reuse_port = 1;          /* every worker listens on the same port */
    cfg.max_posts = 1 << 16;
    for (i = 0; i < nworkers; i++) {
        ws_result rc;
        workers[i].id = i;
        cfg.user = &workers[i];
        workers[i].ctx = ws_ctx_create(&cfg);
        if (!workers[i].ctx) { fprintf(stderr, "out of memory\n"); return 1; }
        /* the first picks the port (port 0: a free one), the others join it */
        rc = ws_listen(workers[i].ctx, "127.0.0.1", (int)(i ? ws_listener_port(l) : port), i ? NULL : &l);
        if (rc != WS_OK) { fprintf(stderr, "%s\n", ws_ctx_error(workers[i].ctx)); return 1; }
    }
    printf("listening on %s with %d threads\n", ws_listener_url(l), nworkers);
    fflush(stdout);
    for (i = 0; i < nworkers; i++)
        if (pthread_create(&workers[i].th, NULL, run, &workers[i]) != 0) { fprintf(stderr, "thread\n"); return 1; }
    for (i = 0; i < nworkers; i++) pthread_join(workers[i].th, NULL);   /* until `seconds` */
    for (i = 0; i < nworkers; i++) {
        printf("thread %d: %lu messages received, %lu copies dropped\n", i, workers[i].msgs, workers[i].dropped);
        ws_ctx_destroy(workers[i].ctx);   /* runs posts still queued: their copies are freed */
    }
    return 0;
}
