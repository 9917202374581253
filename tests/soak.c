/* soak.c - a long run, not part of make test: many clients churn against a server in one ctx,
 * sending messages of random sizes (0 .. 1 MiB) and checking every echoed byte; some end with
 * an abrupt TCP reset, some with a close handshake, and each is replaced at once.
 *   make soak                      (SOAK_SECONDS=60 SOAK_CLIENTS=64 by default)
 * Prints RSS and open descriptors at the start and the end; exits 1 on a wrong byte, a lost
 * message, or descriptors that were not given back. */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>

typedef struct sk_client { uint64_t seed; size_t len; int waiting; } sk_client;
static struct {
    int64_t end;
    int clients, live;
    char url[80];
    unsigned long long msgs, bytes, bad, resets, closes, opened, failed;
    uint64_t rng;
} sk;

static uint64_t sk_next(uint64_t *s) { *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27; return *s * 0x2545F4914F6CDD1DULL; }
static void sk_fill(uint8_t *p, size_t n, uint64_t seed) {
    size_t i;
    for (i = 0; i < n; i++) { if (!(i & 7)) sk_next(&seed); p[i] = (uint8_t)(seed >> ((i & 7) * 8)); }
}
static long sk_rss_kb(void) {
    long a = 0, r = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &a, &r) != 2) r = 0;
    fclose(f);
    return r * 4;
}
static int sk_fds(void) { int fd, n = 0; for (fd = 0; fd < 65536; fd++) if (fcntl(fd, F_GETFD) != -1) n++; return n; }

static uint8_t sk_buf[1 << 20], sk_chk[1 << 20];

static void sk_send(ws_conn *c, sk_client *k) {
    uint64_t r = sk_next(&sk.rng);
    k->len = (r & 15) == 0 ? (size_t)(r >> 12) % sizeof sk_buf : (size_t)(r >> 12) % 2048;
    k->seed = sk_next(&sk.rng) | 1;
    sk_fill(sk_buf, k->len, k->seed);
    if (ws_conn_send(c, WS_OP_BINARY, sk_buf, k->len) == WS_OK) k->waiting = 1;
    else { sk.failed++; ws_conn_drop(c); }
}
static void sk_connect(ws_ctx *ctx);
static void sk_event(ws_conn *c, const ws_event *ev, void *user) {
    sk_client *k = (sk_client *)ws_conn_user(c);
    (void)user;
    if (ws_conn_is_server(c)) {   /* the echo server */
        if (ev->type == WS_EV_MESSAGE && ws_conn_send(c, ev->opcode, ev->data, ev->len) != WS_OK) sk.failed++;
        return;
    }
    switch (ev->type) {
    case WS_EV_OPEN: sk.opened++; sk_send(c, k); break;
    case WS_EV_MESSAGE:
        sk_fill(sk_chk, k->len, k->seed);
        if (!k->waiting || ev->len != k->len || memcmp(ev->data, sk_chk, ev->len) != 0) sk.bad++;
        k->waiting = 0;
        sk.msgs++; sk.bytes += ev->len;
        if (ws__now_ms() >= sk.end) { (void)ws_conn_close(c, 1000, "done"); break; }
        switch (sk_next(&sk.rng) % 40) {
        case 0: {   /* abrupt: RST instead of FIN */
            struct linger lg;
            lg.l_onoff = 1; lg.l_linger = 0;
            (void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            sk.resets++;
            ws_conn_drop(c);
            break;
        }
        case 1: sk.closes++; (void)ws_conn_close(c, 1000, "bye"); break;
        default: sk_send(c, k);
        }
        break;
    case WS_EV_CLOSE:
        if (k->waiting && ev->result == WS_OK && ev->clean) sk.bad++;   /* a clean end lost a reply */
        free(k);
        sk.live--;
        if (ws__now_ms() < sk.end) sk_connect(ws_conn_ctx(c));
        break;
    default: break;
    }
}
static void sk_connect(ws_ctx *ctx) {
    sk_client *k = (sk_client *)calloc(1, sizeof *k);
    if (k && ws_connect(ctx, sk.url, NULL, k, NULL) == WS_OK) sk.live++;
    else { free(k); sk.failed++; }
}

int main(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener *l;
    const char *e;
    int secs = (e = getenv("SOAK_SECONDS")) ? atoi(e) : 60, i, fds0, fds1;
    long rss0, rss1;
    int64_t guard;
    signal(SIGPIPE, SIG_IGN);
    sk.clients = (e = getenv("SOAK_CLIENTS")) ? atoi(e) : 64;
    sk.rng = 0x1234567887654321ULL;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = sk_event;
    ctx = ws_ctx_create(&cfg);
    if (!ctx || ws_listen(ctx, "127.0.0.1", 0, &l) != WS_OK) return 1;
    snprintf(sk.url, sizeof sk.url, "%s", ws_listener_url(l));
    fds0 = sk_fds(); rss0 = sk_rss_kb();
    printf("soak: %d s, %d clients on %s; start: RSS %ld KiB, %d fds\n", secs, sk.clients, sk.url, rss0, fds0);
    sk.end = ws__now_ms() + (int64_t)secs * 1000;
    for (i = 0; i < sk.clients; i++) sk_connect(ctx);
    guard = sk.end + 30000;
    while ((sk.live > 0 || ws_conn_count(ctx) > 0) && ws__now_ms() < guard) (void)ws_poll(ctx, 100);
    for (i = 0; i < 20; i++) (void)ws_poll(ctx, 10);   /* the last frees */
    fds1 = sk_fds(); rss1 = sk_rss_kb();
    printf("soak: %llu messages, %llu bytes checked, %llu wrong, %llu resets, %llu closes, %llu opens, "
           "%llu failed sends/connects, %d still live\n", sk.msgs, sk.bytes, sk.bad, sk.resets, sk.closes,
           sk.opened, sk.failed, sk.live);
    printf("soak: end: RSS %ld KiB (start %ld), %d fds (start %d), buffers %lu B\n", rss1, rss0, fds1,
           fds0, (unsigned long)ctx->mem_used);
    ws_ctx_destroy(ctx);
    return sk.bad || sk.live || fds1 > fds0 || sk.msgs == 0;
}
