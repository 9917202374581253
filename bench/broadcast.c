/* broadcast.c - server CPU per ws_broadcast of a text message to N permessage-deflate clients
 * on 127.0.0.1. The process forks: the child holds the N clients (one ws_ctx, pinned to core 1
 * when there is one), each inflating every message, checking it byte for byte against the same
 * generator and answering a 1-byte ack; the parent is the server (core 0): B times it broadcasts
 * a new JSON-like message of SIZE bytes (each one different, as real broadcasts are: with
 * context takeover an identical one would compress to almost nothing), then polls until all N
 * acks are in. Printed per broadcast: the server's CPU inside ws_broadcast (thread CPU time:
 * compressing, plus the sendmsg of each recipient) and its whole CPU (getrusage: also reading
 * the acks and the loop).
 *   broadcast N SIZE B [MODE]    MODE: deflate (context takeover, the default) | nct
 *                                (server_no_context_takeover) | off (no compression)
 * Built against ../ws.h (build/broadcast) and build/ws_old.h (build/broadcast_old, -DBCAST_OLD)
 * for a same-run A/B: bench/broadcast.sh. Exit status 0 only if every client got every message.
 * Instructions (noise-free): valgrind --tool=callgrind --toggle-collect=measured_broadcast
 * build/broadcast 100 4096 3 (the parent's callgrind.out.PID; the child's counts nothing). */
#define _GNU_SOURCE
#define WS_IMPLEMENTATION
#define WS_USE_ZLIB
#ifdef BCAST_OLD
#include "build/ws_old.h"
#define WHO "old"
#else
#include "../ws.h"
#define WHO "new"
#endif
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int nconn, nopen, closed;
static long size, acks, bad, got;
static char *msg;

/* Message i: JSON records whose numbers depend on i (compresses about 3-4x). */
static void make_msg(long i) {
    unsigned s = (unsigned)(i + 1) * 2654435761u;
    long n = 0;
    while (n < size) {
        char rec[160];
        int k;
        s = s * 1103515245u + 12345u;
        k = snprintf(rec, sizeof rec, "{\"id\":%ld,\"user\":\"user-%u\",\"x\":%u,\"y\":%u,\"status\":\"online\"},",
                     i * 1000 + n, (s >> 8) % 1000, (s >> 4) % 100000, (s >> 12) % 100000);
        if (k > size - n) k = (int)(size - n);
        memcpy(msg + n, rec, (size_t)k);
        n += k;
    }
}

static void on_client(ws_conn *c, const ws_event *ev, void *user) {
    (void)user;
    if (ev->type == WS_EV_OPEN) nopen++;
    else if (ev->type == WS_EV_CLOSE) closed++;
    else if (ev->type == WS_EV_MESSAGE) {
        long i = (long)(intptr_t)ws_conn_user(c) - 2;   /* the two warm-up messages: -2, -1 */
        make_msg(i);   /* (the checking costs the client, not the server) */
        if (ev->len != (size_t)size || memcmp(ev->data, msg, (size_t)size) != 0) bad++;
        got++;
        ws_conn_set_user(c, (void *)(intptr_t)(i + 3));
        (void)ws_conn_send(c, WS_OP_BINARY, "k", 1);
    }
}
static void on_server(ws_conn *c, const ws_event *ev, void *user) {
    (void)c; (void)user;
    if (ev->type == WS_EV_MESSAGE) acks++;
}

static void pin(int cpu) {
    cpu_set_t set;
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set);
}
static double thread_cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
/* The measured broadcasts go through here (not the warm-ups): under callgrind,
 * --toggle-collect=measured_broadcast counts their instructions alone. */
__attribute__((noinline, noclone)) static ws_result measured_broadcast(ws_ctx *ctx, size_t *sent) {
    return ws_broadcast(ctx, WS_OP_TEXT, msg, (size_t)size, NULL, sent);
}
static double wall(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
static double proc_cpu(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 +
           (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}

static int clients(const char *url, const ws_deflate_opts *d, long nb) {
    ws_config cfg;
    ws_ctx *ctx;
    int i;
    pin(1);
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_client;
    cfg.ping_interval_ms = -1;
    cfg.deflate = *d;
    ctx = ws_ctx_create(&cfg);
    if (!ctx) return 1;
    for (i = 0; i < nconn; i++)
        if (ws_connect(ctx, url, NULL, NULL, NULL) != WS_OK) return 1;
    while (closed < nconn) ws_poll(ctx, 1000);   /* the server closes them when it is done */
    ws_ctx_destroy(ctx);
    if (bad || got != (long)nopen * (nb + 2)) {
        fprintf(stderr, "clients: %ld bad, %ld of %ld messages\n", bad, got, (long)nopen * (nb + 2));
        return 1;
    }
    return 0;
}

/* Bytes on the wire per message, the tradeoff: each message from a fresh compressor (one
 * compression for all; what no_context_takeover sends anyway) against one compressor kept
 * across the messages (context takeover, one compression per recipient), window 15, level 6. */
static void wire_sizes(long nb, double *fresh, double *kept) {
    z_stream f, k;
    uint8_t *out = (uint8_t *)malloc((size_t)size * 2 + 64);
    long i;
    memset(&f, 0, sizeof f);
    memset(&k, 0, sizeof k);
    *fresh = *kept = 0;
    if (!out || deflateInit2(&f, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK ||
        deflateInit2(&k, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return;
    for (i = -2; i < nb; i++) {
        int w;
        make_msg(i);
        for (w = 0; w < 2; w++) {
            z_stream *s = w ? &k : &f;
            s->next_in = (const Bytef *)msg;
            s->avail_in = (uInt)size;
            s->next_out = out;
            s->avail_out = (uInt)(size * 2 + 64);
            (void)deflate(s, Z_SYNC_FLUSH);
            if (i >= 0) *(w ? kept : fresh) += (double)(size * 2 + 64 - (long)s->avail_out - 4) / (double)nb;
        }
        (void)deflateReset(&f);
    }
    deflateEnd(&f);
    deflateEnd(&k);
    free(out);
}

int main(int argc, char **argv) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener *l;
    ws_conn *c;
    char url[64], ext[160] = "";
    const char *mode = argc > 4 ? argv[4] : "deflate";
    long nb, i;
    double in_bc = 0, p0 = 0, t, fresh, kept;
    int st = 1;
    pid_t kid;
    if (argc < 4) { fprintf(stderr, "usage: %s N SIZE B [deflate|nct|off]\n", argv[0]); return 2; }
    nconn = atoi(argv[1]);
    size = atol(argv[2]);
    nb = atol(argv[3]);
    if (nconn < 1 || size < 1 || nb < 1 || !(msg = (char *)malloc((size_t)size))) return 2;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_server;
    cfg.ping_interval_ms = -1;
    cfg.max_pending = cfg.max_pending_per_addr = nconn + 16;
    cfg.max_conns = nconn + 16;
    cfg.deflate.enable = strcmp(mode, "off") != 0;
    cfg.deflate.no_context_takeover = !strcmp(mode, "nct");
    ctx = ws_ctx_create(&cfg);
    if (!ctx || ws_listen(ctx, "127.0.0.1", 0, &l) != WS_OK) return 1;
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)ws_listener_port(l));
    fflush(stdout);
    kid = fork();
    if (kid == 0) {
        ws_deflate_opts d = cfg.deflate;
        d.no_context_takeover = 0;
        _exit(clients(url, &d, nb));
    }
    if (kid < 0) return 1;
    pin(0);
    t = wall() + 60;   /* bounds: a minute of waiting for the clients */
    while (ws_conn_count(ctx) < (size_t)nconn && wall() < t) ws_poll(ctx, 100);
    if (ws_conn_count(ctx) < (size_t)nconn) { fprintf(stderr, "only %zu clients\n", ws_conn_count(ctx)); kill(kid, SIGKILL); return 1; }
    c = ws_conn_next(ctx, NULL);
    if (c) snprintf(ext, sizeof ext, "%s", ws_conn_extensions(c));
    for (i = -2; i < nb; i++) {   /* two to warm up (streams made, buffers grown): not counted */
        size_t sent = 0;
        make_msg(i);
        acks = 0;
        t = thread_cpu();
        if ((i < 0 ? ws_broadcast(ctx, WS_OP_TEXT, msg, (size_t)size, NULL, &sent) : measured_broadcast(ctx, &sent)) != WS_OK ||
            sent != (size_t)nconn) {
            fprintf(stderr, "broadcast %ld: sent to %zu\n", i, sent);
            break;
        }
        if (i >= 0) in_bc += thread_cpu() - t;
        t = wall() + 60;
        while (acks < nconn && wall() < t) ws_poll(ctx, 1000);
        if (acks < nconn) { fprintf(stderr, "broadcast %ld: %ld acks\n", i, acks); break; }
        if (i == -1) p0 = proc_cpu();
    }
    p0 = proc_cpu() - p0;
    ws_ctx_destroy(ctx);   /* closes the clients: the child exits */
    waitpid(kid, &st, 0);
    if (i < nb || !WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "FAILED\n"); return 1; }
    wire_sizes(nb, &fresh, &kept);
    printf("ws.h %s %-7s %d clients x %6ld B: %9.1f us CPU in ws_broadcast, %9.1f us server CPU per broadcast (%ld broadcasts; %s; "
           "zlib: %.0f B fresh, %.0f B with context)\n",
           WHO, mode, nconn, size, in_bc * 1e6 / (double)nb, p0 * 1e6 / (double)nb, nb, *ext ? ext : "uncompressed",
           fresh, kept);
    return 0;
}
