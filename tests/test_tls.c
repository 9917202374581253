/* test_tls.c - wss:// tests: ws.h's TLS client against ws.h's TLS server in one loop, and the
 * failures (wrong CA, wrong host name, expired certificate, missing client certificate, plain
 * client on a TLS port, TLS client on a plain port, a peer that never answers).
 *   make tls     (builds with -DWS_USE_MBEDTLS, makes certificates with tests/tls/gen-certs.sh)
 *   ./build/test_tls [name-filter]      certificates from $WS_TLS_DIR, default build/tls
 * The last line printed is "N passed, N failed". */
#define WS_IMPLEMENTATION
#define WS_USE_MBEDTLS
#include "../ws.h"
#include "test.h"
#include "tinyproxy.h"

static char dir[512];
static char p_ca[600], p_other_ca[600], p_srv_crt[600], p_srv_key[600], p_srv_enc[600],
            p_wrong_crt[600], p_wrong_key[600], p_exp_crt[600], p_exp_key[600],
            p_cli_crt[600], p_cli_key[600], p_srv_der[600], p_ca_der[600], p_chain[600];

static void path(char *out, const char *name) { snprintf(out, 600, "%s/%s", dir, name); }

/* ---- one client connection's view ---- */
typedef struct tc {
    int      open, closed, errors, clean, http_status, bad_data;
    ws_result err, close_err;
    char     msg[512];
    char     text[64];        /* the last text message */
    size_t   nmsg, bytes;
    int      last_op;
    int64_t  t_end;
} tc;

static int srv_open, srv_msgs, srv_closed;
static int slow;          /* $TLS_SLOW (valgrind): longer limits, 10 connections instead of 50 */
/* Waits end on their event; HANG_MS only stops a test that hangs, so a loaded machine (ASan,
 * valgrind, other jobs) cannot fail one. A failure that must come "fast" is checked by its
 * name: a refused handshake is WS_ERR_TLS, never the handshake timeout's WS_ERR_TIMEOUT. */
#define HANG_MS (slow ? 300000 : 60000)
static char logbuf[8192];

static void t_log(int level, const char *msg, void *user) {
    size_t n = strlen(logbuf);
    (void)user;
    if (n + strlen(msg) + 8 < sizeof logbuf) snprintf(logbuf + n, sizeof logbuf - n, "%d %s\n", level, msg);
    if (getenv("TLS_VERBOSE")) printf("    log %d: %s\n", level, msg);
}

/* payload pattern: byte i of a message of length n */
static uint8_t pat(size_t i, size_t n) { return (uint8_t)(i * 7 + n + (i >> 12)); }

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    tc *t = (tc *)ws_conn_user(c);
    (void)user;
    if (ws_conn_is_server(c)) {
        if (ev->type == WS_EV_OPEN) srv_open++;
        if (ev->type == WS_EV_CLOSE) srv_closed++;
        if (ev->type == WS_EV_CLOSE && getenv("TLS_VERBOSE"))
            printf("    server CLOSE %u %d %s\n", (unsigned)ev->close_code, (int)ev->result, ev->msg ? ev->msg : "");
        if (ev->type == WS_EV_MESSAGE) {
            srv_msgs++;
            (void)ws_conn_send(c, ev->opcode, ev->data, ev->len);   /* echo */
        }
        return;
    }
    if (!t) return;
    switch (ev->type) {
    case WS_EV_OPEN: t->open++; break;
    case WS_EV_MESSAGE: {
        size_t i;
        t->nmsg++;
        t->bytes += ev->len;
        t->last_op = ev->opcode;
        if (ev->opcode == WS_OP_BINARY)
            for (i = 0; i < ev->len; i++) if (ev->data[i] != pat(i, ev->len)) { t->bad_data++; break; }
        if (ev->opcode == WS_OP_TEXT)
            snprintf(t->text, sizeof t->text, "%.*s", (int)WS__MIN(ev->len, (size_t)63), (const char *)ev->data);
        break;
    }
    case WS_EV_ERROR:
        t->errors++;
        t->err = ev->result;
        snprintf(t->msg, sizeof t->msg, "%s", ev->msg ? ev->msg : "(null)");
        t->http_status = ev->http_status;
        break;
    case WS_EV_CLOSE:
        t->closed++;
        t->clean = ev->clean;
        t->close_err = ev->result;
        t->t_end = ws__now_ms();
        break;
    default: break;
    }
}

static ws_ctx *mk_ctx(void) {
    ws_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.log = t_log;
    cfg.max_message = (size_t)32 << 20;
    /* no timer may end a test that is only slow: 50 handshakes at once, a ping queued behind
     * a 16 MiB echo (pong_timeout_ms counts from when the ping is queued), closes under valgrind */
    cfg.connect_timeout_ms = cfg.handshake_timeout_ms = HANG_MS / 2;
    cfg.close_timeout_ms = cfg.pong_timeout_ms = HANG_MS / 2;
    srv_open = srv_msgs = srv_closed = 0;
    logbuf[0] = '\0';
    return ws_ctx_create(&cfg);
}

/* Polls until *flag >= want or ms pass; returns the elapsed time. */
static int64_t run_until(ws_ctx *ctx, const int *flag, int want, int ms) {
    int64_t start = ws__now_ms(), end = start + ms;
    while (*flag < want && ws__now_ms() < end) ws_poll(ctx, 20);
    return ws__now_ms() - start;
}
static void run_for(ws_ctx *ctx, int ms) {
    int64_t end = ws__now_ms() + ms;
    while (ws__now_ms() < end) ws_poll(ctx, 10);
}
/* Polls until the log has words or ms pass. */
static void run_until_log(ws_ctx *ctx, const char *words, int ms) {
    int64_t end = ws__now_ms() + ms;
    while (!strstr(logbuf, words) && ws__now_ms() < end) ws_poll(ctx, 20);
}

static ws_tls_opts srv_opts(const char *crt, const char *key) {
    ws_tls_opts o;
    memset(&o, 0, sizeof o);
    o.cert_file = crt;
    o.key_file = key;
    return o;
}

static ws_listener *listen_tls(ws_ctx *ctx, const ws_tls_opts *o) {
    ws_listener *l = NULL;
    ws_result rc = ws_listen_tls(ctx, "127.0.0.1", 0, o, &l);
    CHECK_EQ(rc, WS_OK);
    if (rc != WS_OK) printf("  log: %s", logbuf);
    return l;
}

/* Connects to wss://HOST:port/ with opts; fills t; returns the conn. */
static ws_conn *connect_to(ws_ctx *ctx, const char *scheme, const char *host, uint16_t port,
                           const ws_tls_opts *tls, tc *t) {
    char url[128];
    ws_connect_opts co;
    ws_conn *c = NULL;
    ws_result rc;
    memset(&co, 0, sizeof co);
    co.tls = tls;
    snprintf(url, sizeof url, "%s://%s:%u/echo", scheme, host, (unsigned)port);
    rc = ws_connect(ctx, url, &co, t, &c);
    CHECK_EQ(rc, WS_OK);
    return c;
}

/* ---- the good paths ---- */
static void test_tls_echo_text_binary(void) {
    ws_ctx *ctx = mk_ctx();
    ws_tls_opts so = srv_opts(p_srv_crt, p_srv_key), co;
    ws_listener *l = listen_tls(ctx, &so);
    tc t;
    ws_conn *c;
    uint8_t bin[300];
    size_t i;
    memset(&t, 0, sizeof t);
    memset(&co, 0, sizeof co);
    co.ca_file = p_ca;
    CHECK(l && strncmp(ws_listener_url(l), "wss://127.0.0.1:", 16) == 0);
    c = connect_to(ctx, "wss", "localhost", ws_listener_port(l), &co, &t);
    run_until(ctx, &t.open, 1, HANG_MS);
    CHECK_EQ(t.open, 1);
    if (t.errors) printf("  error: %s\n", t.msg);
    CHECK_EQ(ws_conn_send_text(c, "hello over TLS"), WS_OK);
    run_until(ctx, (const int *)&t.nmsg, 1, HANG_MS);
    CHECK_EQ(t.nmsg, 1);
    CHECK_EQ(t.last_op, WS_OP_TEXT);
    CHECK_EQ(t.bytes, 14);
    CHECK_STR(t.text, "hello over TLS");
    CHECK_EQ(srv_msgs, 1);
    for (i = 0; i < sizeof bin; i++) bin[i] = pat(i, sizeof bin);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, bin, sizeof bin), WS_OK);
    run_until(ctx, (const int *)&t.nmsg, 2, HANG_MS);
    CHECK_EQ(t.nmsg, 2);
    CHECK_EQ(t.last_op, WS_OP_BINARY);
    CHECK_EQ(t.bytes, 14 + sizeof bin);
    CHECK_EQ(t.bad_data, 0);
    CHECK_EQ(srv_msgs, 2);
    /* close handshake over TLS, then close_notify */
    CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, "bye"), WS_OK);
    run_until(ctx, &t.closed, 1, HANG_MS);
    CHECK_EQ(t.closed, 1);
    CHECK_EQ(t.clean, 1);
    CHECK_EQ(t.close_err, WS_OK);
    ws_ctx_destroy(ctx);
}

static void big(size_t n) {
    ws_ctx *ctx = mk_ctx();
    ws_tls_opts so = srv_opts(p_srv_crt, p_srv_key), co;
    ws_listener *l = listen_tls(ctx, &so);
    tc t;
    ws_conn *c;
    uint8_t *buf = (uint8_t *)malloc(n);
    size_t i;
    int64_t ms;
    memset(&t, 0, sizeof t);
    memset(&co, 0, sizeof co);
    co.ca_file = p_ca;
    for (i = 0; i < n; i++) buf[i] = pat(i, n);
    c = connect_to(ctx, "wss", "localhost", ws_listener_port(l), &co, &t);
    run_until(ctx, &t.open, 1, HANG_MS);
    CHECK_EQ(t.open, 1);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, buf, n), WS_OK);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, buf, n), WS_OK);   /* two back to back */
    ms = run_until(ctx, (const int *)&t.nmsg, 2, HANG_MS);
    CHECK_EQ(t.nmsg, 2);
    CHECK_EQ(t.bytes, 2 * n);
    CHECK_EQ(srv_msgs, 2);
    CHECK_EQ(t.bad_data, 0);
    CHECK_EQ(t.errors, 0);
    if (t.errors) printf("  error: %s\n", t.msg);
    if (getenv("TLS_VERBOSE")) printf("    %zu bytes x2 echoed in %lld ms\n", n, (long long)ms);
    free(buf);
    ws_ctx_destroy(ctx);
}
static void test_tls_1mib(void) { big((size_t)1 << 20); }
static void test_tls_16mib(void) { big((size_t)16 << 20); }

static void test_tls_50_conns(void) {
    ws_ctx *ctx = mk_ctx();
    ws_tls_opts so = srv_opts(p_srv_crt, p_srv_key), co;
    ws_listener *l = listen_tls(ctx, &so);
    static tc t[50];
    ws_conn *c[50];
    int i, N = slow ? 10 : 50, opened = 0, got = 0, closed = 0;
    int64_t end;
    memset(t, 0, sizeof t);
    memset(&co, 0, sizeof co);
    co.ca_file = p_ca;
    /* an IP-literal URL: the certificate has IP:127.0.0.1, which mbedTLS matches from 3.5 on
     * (so it opens); before, it matches names only: a host-name mismatch. Never a hang. */
    connect_to(ctx, "wss", "127.0.0.1", ws_listener_port(l), &co, &t[0]);
    end = ws__now_ms() + HANG_MS;
    while (!t[0].open && !t[0].closed && ws__now_ms() < end) ws_poll(ctx, 20);
#if MBEDTLS_VERSION_NUMBER >= 0x03050000
    CHECK_EQ(t[0].open, 1);
    if (!t[0].open) printf("  error: %s\n", t[0].msg);
#else
    CHECK_EQ(t[0].open, 0);
    CHECK(strstr(t[0].msg, "host-name mismatch") != NULL);
#endif
    ws_ctx_destroy(ctx);

    /* with the name: all N open, echo, and close cleanly */
    co.server_name = "localhost";
    ctx = mk_ctx();
    l = listen_tls(ctx, &so);
    memset(t, 0, sizeof t);
    for (i = 0; i < N; i++) c[i] = connect_to(ctx, "wss", "127.0.0.1", ws_listener_port(l), &co, &t[i]);
    end = ws__now_ms() + HANG_MS;
    while (ws__now_ms() < end) {
        ws_poll(ctx, 20);
        for (opened = 0, i = 0; i < N; i++) opened += t[i].open;
        if (opened >= N) break;
    }
    CHECK_EQ(opened, N);
    CHECK_EQ(srv_open, N);
    for (i = 0; i < N; i++) if (t[i].open) (void)ws_conn_send_text(c[i], "ping from one of fifty");
    end = ws__now_ms() + HANG_MS;
    while (ws__now_ms() < end) {
        ws_poll(ctx, 20);
        for (got = 0, i = 0; i < N; i++) got += (int)t[i].nmsg;
        if (got >= N) break;
    }
    CHECK_EQ(got, N);
    ws_close_all(ctx, WS_CLOSE_NORMAL, NULL);
    end = ws__now_ms() + HANG_MS;
    while (ws__now_ms() < end) {
        ws_poll(ctx, 20);
        for (closed = 0, i = 0; i < N; i++) closed += t[i].closed;
        if (closed >= N) break;
    }
    CHECK_EQ(closed, N);
    for (i = 0; i < N; i++) if (!t[i].clean) { CHECK(t[i].clean); break; }
    ws_ctx_destroy(ctx);
}

static char *slurp(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    char *b;
    long len;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = (char *)malloc((size_t)len + 1);
    if (fread(b, 1, (size_t)len, f) != (size_t)len) len = 0;
    fclose(f);
    b[len] = '\0';
    *n = (size_t)len;
    return b;
}

/* certificates from memory: DER CA, PEM chain without a NUL, encrypted key; server_name */
static void test_tls_from_memory(void) {
    ws_ctx *ctx = mk_ctx();
    ws_tls_opts so, co;
    ws_listener *l;
    size_t n_ca, n_crt, n_key;
    char *ca = slurp(p_ca_der, &n_ca), *crt = slurp(p_chain, &n_crt), *key = slurp(p_srv_enc, &n_key);
    tc t;
    CHECK(ca && crt && key);
    memset(&so, 0, sizeof so);
    so.cert_mem = crt; so.cert_len = n_crt;          /* PEM, length without the NUL */
    so.key_mem = key; so.key_len = 0;                /* PEM string */
    so.key_password = "wrong";
    CHECK_EQ(ws_listen_tls(ctx, "127.0.0.1", 0, &so, &l), WS_ERR_TLS);   /* bad password */
    CHECK(strstr(logbuf, "private key") != NULL);
    so.key_password = "secret";
    l = listen_tls(ctx, &so);
    memset(&co, 0, sizeof co);
    memset(&t, 0, sizeof t);
    co.ca_mem = ca; co.ca_len = n_ca;               /* DER */
    co.server_name = "localhost";
    co.alpn = "http/1.1";
    connect_to(ctx, "wss", "127.0.0.1", ws_listener_port(l), &co, &t);
    run_until(ctx, &t.open, 1, HANG_MS);
    CHECK_EQ(t.open, 1);
    if (t.errors) printf("  error: %s\n", t.msg);
    ws_ctx_destroy(ctx);
    free(ca); free(crt); free(key);
}

/* server requires client certificates: with one it works, without it fails, named on both
 * sides and not by the timeout. Under TLS 1.2 the client's handshake fails; under TLS 1.3
 * (mbedTLS 3.6, 4.x) the client's handshake is over before the server refuses, so the refusal
 * comes as the first record after it: either way the client does not open and is told why. */
static void test_tls_client_cert(void) {
    ws_ctx *ctx = mk_ctx();
    ws_tls_opts so = srv_opts(p_srv_crt, p_srv_key), co;
    ws_listener *l;
    tc t1, t2;
    so.ca_file = p_ca;   /* => verify REQUIRED */
    l = listen_tls(ctx, &so);
    memset(&co, 0, sizeof co);
    memset(&t1, 0, sizeof t1);
    memset(&t2, 0, sizeof t2);
    co.ca_file = p_ca;
    co.cert_file = p_cli_crt;
    co.key_file = p_cli_key;
    connect_to(ctx, "wss", "localhost", ws_listener_port(l), &co, &t1);
    run_until(ctx, &t1.open, 1, HANG_MS);
    CHECK_EQ(t1.open, 1);
    if (t1.errors) printf("  error: %s\n", t1.msg);
    co.cert_file = co.key_file = NULL;
    connect_to(ctx, "wss", "localhost", ws_listener_port(l), &co, &t2);
    run_until(ctx, &t2.closed, 1, HANG_MS);
    CHECK_EQ(t2.open, 0);
    CHECK_EQ(t2.closed, 1);
    CHECK_EQ(t2.errors, 1);
    CHECK_EQ(t2.err, WS_ERR_TLS);                            /* named, not WS_ERR_TIMEOUT */
    CHECK_EQ(t2.close_err, WS_ERR_TLS);
    if (!strstr(t2.msg, "client certificate")) { printf("  client: %s\n", t2.msg); CHECK(0); }
    run_until_log(ctx, "client certificate missing", HANG_MS);   /* the server says why */
    CHECK(strstr(logbuf, "TLS client 127.0.0.1") != NULL && strstr(logbuf, "client certificate missing") != NULL);
    if (getenv("TLS_VERBOSE")) printf("    client: %s\n", t2.msg);
    ws_ctx_destroy(ctx);
}

/* ---- failures: each named, each fast ---- */
static void expect_fail(const char *crt, const char *key, const char *ca, const char *host,
                        const char *scheme, int plain_server, ws_result want, const char *words) {
    ws_ctx *ctx = mk_ctx();
    ws_tls_opts so = srv_opts(crt, key), co;
    ws_listener *l = NULL;
    tc t;
    if (plain_server) CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l), WS_OK);
    else l = listen_tls(ctx, &so);
    memset(&co, 0, sizeof co);
    memset(&t, 0, sizeof t);
    co.ca_file = ca;
    connect_to(ctx, scheme, host, l ? ws_listener_port(l) : 1, &co, &t);
    run_until(ctx, &t.closed, 1, HANG_MS);
    CHECK_EQ(t.open, 0);
    CHECK_EQ(t.closed, 1);
    CHECK_EQ(t.errors, 1);
    CHECK_EQ(t.err, want);                 /* named at once: not the handshake timeout */
    CHECK_EQ(t.close_err, want);
    if (!strstr(t.msg, words)) { printf("  msg \"%s\" lacks \"%s\"\n", t.msg, words); CHECK(0); }
    if (getenv("TLS_VERBOSE")) printf("    %s\n", t.msg);
    if (want == WS_ERR_HANDSHAKE) CHECK_EQ(t.http_status, 400);
    run_for(ctx, 50);
    ws_ctx_destroy(ctx);
}
static void test_tls_wrong_ca(void) {
    expect_fail(p_srv_crt, p_srv_key, p_other_ca, "localhost", "wss", 0, WS_ERR_TLS, "not trusted");
}
static void test_tls_wrong_host(void) {
    expect_fail(p_wrong_crt, p_wrong_key, p_ca, "localhost", "wss", 0, WS_ERR_TLS, "host-name mismatch");
}
static void test_tls_expired(void) {
    expect_fail(p_exp_crt, p_exp_key, p_ca, "localhost", "wss", 0, WS_ERR_TLS, "expired");
}
static void test_tls_plain_client_on_tls_port(void) {
    /* the server answers 400 "This port speaks TLS": the client says what to do */
    expect_fail(p_srv_crt, p_srv_key, NULL, "localhost", "ws", 0, WS_ERR_HANDSHAKE,
                "wants TLS (it answered HTTP 400 to plain HTTP): use wss://");
    CHECK(strstr(logbuf, "peer is not TLS") != NULL);   /* the server's log */
}
static void test_tls_tls_client_on_plain_port(void) {
    /* the plain server logs the ClientHello and answers 400: the client sees plain HTTP */
    expect_fail(NULL, NULL, p_ca, "localhost", "wss", 1, WS_ERR_TLS,
                "the server answered in plain HTTP (a ws:// port? use ws://)");
    if (!strstr(logbuf, "TLS handshake on a plain ws:// port")) { printf("  log: %s\n", logbuf); CHECK(0); }
}

/* a peer that accepts TCP and never says a word: handshake_timeout_ms ends it */
static void test_tls_silent_peer_times_out(void) {
    ws_ctx *ctx;
    ws_config cfg;
    ws_listener *l;
    ws_tls_opts co;
    tc t;
    int64_t t0;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.log = t_log;
    cfg.handshake_timeout_ms = 300;
    ctx = ws_ctx_create(&cfg);
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l), WS_OK);
    {   /* a second ctx owns the listener but is never polled: the kernel accepts for it */
        ws_ctx *silent = mk_ctx();
        ws_listener *sl;
        CHECK_EQ(ws_listen(silent, "127.0.0.1", 0, &sl), WS_OK);
        memset(&co, 0, sizeof co);
        memset(&t, 0, sizeof t);
        co.ca_file = p_ca;
        t0 = ws__now_ms();
        connect_to(ctx, "wss", "localhost", ws_listener_port(sl), &co, &t);
        run_until(ctx, &t.closed, 1, HANG_MS);
        CHECK_EQ(t.closed, 1);
        CHECK_EQ(t.err, WS_ERR_TIMEOUT);
        CHECK(t.t_end - t0 >= 300);   /* not before the timeout (a late one only waits longer) */
        ws_ctx_destroy(silent);
    }
    ws_ctx_destroy(ctx);
}

/* verify NONE connects without any CA; OPTIONAL connects and logs why it did not verify */
static void test_tls_verify_modes(void) {
    ws_ctx *ctx = mk_ctx();
    ws_tls_opts so = srv_opts(p_wrong_crt, p_wrong_key), co;
    ws_listener *l = listen_tls(ctx, &so);
    tc t1, t2;
    memset(&co, 0, sizeof co);
    memset(&t1, 0, sizeof t1);
    memset(&t2, 0, sizeof t2);
    co.verify = WS_TLS_VERIFY_NONE;
    connect_to(ctx, "wss", "localhost", ws_listener_port(l), &co, &t1);
    run_until(ctx, &t1.open, 1, HANG_MS);
    CHECK_EQ(t1.open, 1);
    co.verify = WS_TLS_VERIFY_OPTIONAL;
    co.ca_file = p_other_ca;
    connect_to(ctx, "wss", "localhost", ws_listener_port(l), &co, &t2);
    run_until(ctx, &t2.open, 1, HANG_MS);
    CHECK_EQ(t2.open, 1);
    CHECK(strstr(logbuf, "1 ws.h: TLS server 127.0.0.1") != NULL && strstr(logbuf, "OPTIONAL") != NULL);
    ws_ctx_destroy(ctx);
}

/* configuration errors are reported at once, named, with the file */
static void test_tls_config_errors(void) {
    ws_ctx *ctx = mk_ctx();
    ws_tls_opts o;
    ws_connect_opts co;
    ws_conn *c = NULL;
    memset(&o, 0, sizeof o);
    CHECK_EQ(ws_listen_tls(ctx, "127.0.0.1", 0, NULL, NULL), WS_ERR_ARG);
    CHECK_EQ(ws_listen_tls(ctx, "127.0.0.1", 0, &o, NULL), WS_ERR_TLS);   /* no certificate */
    CHECK(strstr(logbuf, "needs a certificate") != NULL);
    o.cert_file = "/nonexistent/cert.pem";
    o.key_file = p_srv_key;
    logbuf[0] = '\0';
    CHECK_EQ(ws_listen_tls(ctx, "127.0.0.1", 0, &o, NULL), WS_ERR_TLS);
    CHECK(strstr(logbuf, "/nonexistent/cert.pem") != NULL);
#ifdef MBEDTLS_ERR_PK_FILE_IO_ERROR
    CHECK(strstr(logbuf, "no such file, or not readable") != NULL);
#endif
    o.cert_file = p_srv_crt;
    o.key_file = NULL;
    CHECK_EQ(ws_listen_tls(ctx, "127.0.0.1", 0, &o, NULL), WS_ERR_TLS);   /* cert without key */
    o.key_file = p_wrong_key;
    logbuf[0] = '\0';
    CHECK_EQ(ws_listen_tls(ctx, "127.0.0.1", 0, &o, NULL), WS_ERR_TLS);   /* key of another cert */
    CHECK(strstr(logbuf, "do not go together") != NULL);
    o.key_file = p_srv_key;
    o.verify = WS_TLS_VERIFY_REQUIRED;   /* client certificates without a CA */
    CHECK_EQ(ws_listen_tls(ctx, "127.0.0.1", 0, &o, NULL), WS_ERR_TLS);
    memset(&o, 0, sizeof o);
    memset(&co, 0, sizeof co);
    o.ca_file = "/nonexistent/ca.pem";
    co.tls = &o;
    CHECK_EQ(ws_connect(ctx, "wss://localhost:1/", &co, NULL, &c), WS_ERR_TLS);
    CHECK(c == NULL);
    o.ca_file = p_ca;
    o.min_version = WS_TLS_1_3;
#if MBEDTLS_VERSION_NUMBER < 0x03000000 || !defined(MBEDTLS_SSL_PROTO_TLS1_3)
    CHECK_EQ(ws_connect(ctx, "wss://localhost:1/", &co, NULL, &c), WS_ERR_TLS);
    CHECK(strstr(logbuf, "TLS 1.3") != NULL);
#else
    CHECK_EQ(ws_connect(ctx, "wss://localhost:1/", &co, NULL, &c), WS_OK);   /* fails later */
#endif
    ws_ctx_destroy(ctx);
}

/* A TLS server (*sx) and one client of it (*cx), both open: the client's conn in *c, the
 * server's in *srv; tls12: the server offers TLS 1.2 only (3.x would pick 1.3). 1 = open. */
static int tls_pair(ws_ctx **sx, ws_ctx **cx, int tls12, tc *t, ws_conn **c, ws_conn **srv) {
    ws_tls_opts so = srv_opts(p_srv_crt, p_srv_key), co;
    ws_listener *l;
    int64_t end;
    *sx = mk_ctx();
    *cx = mk_ctx();
    *c = *srv = NULL;
    memset(t, 0, sizeof *t);
    l = listen_tls(*sx, &so);
    if (!l) return 0;
#if MBEDTLS_VERSION_NUMBER >= 0x03020000
    if (tls12) mbedtls_ssl_conf_max_tls_version(&l->tls->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
    (void)tls12;
    memset(&co, 0, sizeof co);
    co.ca_file = p_ca;
    *c = connect_to(*cx, "wss", "localhost", ws_listener_port(l), &co, t);
    end = ws__now_ms() + HANG_MS;
    while ((!t->open || !srv_open) && ws__now_ms() < end) { ws_poll(*sx, 5); ws_poll(*cx, 5); }
    CHECK_EQ(t->open, 1);
    *srv = ws_conn_next(*sx, NULL);
    CHECK(*srv != NULL);
    return *srv && *c && t->open;
}

/* Fills the server-to-client direction with raw bytes (small socket buffers, then byte by
 * byte): until the server's socket takes nothing more. Returns how many went. */
static size_t fill_socket(ws_conn *srv, ws_conn *c) {
    static char junk[65536];
    int small = 4096, i;
    long k;
    size_t n = 0;
    (void)setsockopt(srv->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    (void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    for (i = 0; i < 4096 && (k = send(srv->fd, junk, sizeof junk, MSG_DONTWAIT)) > 0; i++) n += (size_t)k;
    for (i = 0; i < 65536 && (k = send(srv->fd, junk, 1, MSG_DONTWAIT)) > 0; i++) n += (size_t)k;
    return n;
}

/* A close_notify that only partly fits in the socket (WANT_WRITE) is finished once the socket
 * takes it, then TCP is shut down: the conn must not keep asking for POLLOUT (a level-triggered
 * loop would spin at 100% CPU until close_timeout_ms). White-box: the server's send buffer is
 * filled with raw bytes and the client never reads them through ws.h. Checked by state, not by
 * counting loop passes in a time window: while close_notify waits the conn asks for POLLOUT
 * (ws__interest, what every loop flavour watches), once it is out it no longer does. */
static void test_tls_close_notify_want_write(void) {
    ws_ctx *sx, *cx;
    ws_conn *c, *srv;
    ws__tls_conn *st;
    tc t;
    char sink[65536];
    int64_t end;
    if (!tls_pair(&sx, &cx, 0, &t, &c, &srv)) goto out;
    (void)fill_socket(srv, c);
    srv->flags |= WS__F_SHUT;            /* as after our close frame went out */
    ws__flush(srv);
    ws__settle(srv);                     /* as the loop does after a flush */
    st = ws__tls_of(srv);
    CHECK(st != NULL && st->shut == 1);  /* close_notify is waiting for room */
    CHECK(ws__interest(srv) & WS_POLLOUT);
    end = ws__now_ms() + HANG_MS;
    do {                                 /* the client side drains its socket (raw) */
        while (recv(c->fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {}
        ws_poll(sx, 20);
        if (srv_closed) break;           /* (a timer closed it: srv is gone) */
        st = ws__tls_of(srv);
    } while (st && st->shut && ws__now_ms() < end);
    CHECK_EQ(srv_closed, 0);
    if (srv_closed) goto out;
    CHECK(st == NULL || st->shut == 0);  /* close_notify went out once there was room */
    CHECK(!(ws__interest(srv) & WS_POLLOUT));
out:
    ws_ctx_destroy(cx);
    ws_ctx_destroy(sx);
}

/* The peer's last record and its close_notify arrive together, and its TCP stays open (it
 * waits for ours): mbedTLS reads both in one go, so the socket never becomes readable again.
 * The connection must still end (1006, no clean close) as soon as the data is handled, not
 * hang until a timeout. Checked by state: once the message is in, a few passes that do not
 * wait must see the CLOSE (the close_notify is already in memory). */
static void test_tls_close_notify_with_data(void) {
    ws_ctx *sx, *cx;
    ws_conn *c, *srv;
    ws__tls_conn *st;
    tc t;
    int i;
    int64_t end;
    if (!tls_pair(&sx, &cx, 0, &t, &c, &srv)) goto out;
    CHECK_EQ(ws_conn_send_text(srv, "last"), WS_OK);   /* sent at once (not in a callback) */
    CHECK_EQ(ws_conn_queued(srv), 0);
    st = ws__tls_of(srv);
    CHECK(st != NULL);
    if (!st) goto out;
    CHECK_EQ(mbedtls_ssl_close_notify(&st->ssl), 0);  /* no FIN: the server's socket stays open */
    end = ws__now_ms() + HANG_MS;
    while (t.nmsg < 1 && !t.closed && ws__now_ms() < end) ws_poll(cx, 20);
    CHECK_EQ(t.nmsg, 1);
    CHECK(strcmp(t.text, "last") == 0);
    for (i = 0; i < 4 && !t.closed; i++) ws_poll(cx, 0);
    CHECK_EQ(t.closed, 1);
    CHECK_EQ(t.clean, 0);
out:
    ws_ctx_destroy(cx);
    ws_ctx_destroy(sx);
}

/* A peer that ends TCP without close_notify (many do; RFC 6455 frames make truncation
 * visible anyway) is a TCP end, as on ws://: in the open state WS_ERR_IO "closed without a
 * close frame", after the close handshake a clean close with no error. mbedTLS reports it as
 * MBEDTLS_ERR_SSL_CONN_EOF, which was taken for a TLS failure (WS_ERR_TLS, "TLS error"). */
static void test_tls_eof_without_close_notify(void) {
    int pass;
    for (pass = 0; pass < 2; pass++) {
        ws_ctx *sx, *cx;
        ws_conn *c, *srv;
        ws__tls_conn *st = NULL;
        tc t;
        if (tls_pair(&sx, &cx, 0, &t, &c, &srv)) st = ws__tls_of(srv);
        CHECK(st != NULL);
        if (!st) goto out;
        /* pass 1: the server's close frame (1000) first, straight through its TLS */
        if (pass) CHECK_EQ(mbedtls_ssl_write(&st->ssl, (const unsigned char *)"\x88\x02\x03\xe8", 4), 4);
        (void)shutdown(srv->fd, SHUT_WR);   /* FIN, no close_notify; the server is not polled again */
        run_until(cx, &t.closed, 1, HANG_MS);
        CHECK_EQ(t.closed, 1);
        if (pass) {
            CHECK_EQ(t.errors, 0);
            CHECK_EQ(t.clean, 1);
            CHECK_EQ(t.close_err, WS_OK);
        } else {
            CHECK_EQ(t.errors, 1);
            CHECK_EQ(t.err, WS_ERR_IO);
            CHECK_EQ(t.close_err, WS_ERR_IO);
            CHECK_EQ(t.clean, 0);
            if (!strstr(t.msg, "without a close frame")) { printf("  msg \"%s\"\n", t.msg); CHECK(0); }
        }
        if (t.errors && pass) printf("  pass %d error: %s\n", pass, t.msg);
    out:
        ws_ctx_destroy(cx);
        ws_ctx_destroy(sx);
    }
}

/* The peer sends its close frame and close_notify while our send queue is stuck (it stopped
 * reading, its TCP stays open): the close reply waits behind the queue (WS__F_EOF, as on
 * ws://, where poll stops watching for input). The end that mbedTLS read (pending() says 1
 * while it is unread) must not keep the conn on the pending list once it was handled, or the
 * loop would never sleep until close_timeout_ms. Checked by state: ws_pollfds' timeout is
 * not 0. (Holds: ws__readable returns at the EOF before it re-checks pending.) */
static void test_tls_close_notify_while_queued(void) {
    ws_ctx *sx, *cx;
    ws_conn *c, *srv;
    ws__tls_conn *ct = NULL;
    ws_pollfd fds[8];
    tc t;
    int i, tmo = 0, small = 4096;
    int64_t end;
    uint8_t *big = (uint8_t *)calloc(1, (size_t)4 << 20);
    static const unsigned char close_frame[] = { 0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8 };   /* masked, 1000 */
    if (tls_pair(&sx, &cx, 0, &t, &c, &srv)) ct = ws__tls_of(c);
    CHECK(ct != NULL && big != NULL);
    if (!ct || !big) goto out;
    (void)setsockopt(srv->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    (void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    CHECK_EQ(ws_conn_send(srv, WS_OP_BINARY, big, (size_t)4 << 20), WS_OK);   /* the client never reads it */
    for (i = 0; i < 20; i++) ws_poll(sx, 1);
    CHECK(ws_conn_queued(srv) > 0);
    /* the client's close frame and close_notify, through its TLS, and no FIN */
    CHECK_EQ(mbedtls_ssl_write(&ct->ssl, close_frame, sizeof close_frame), (int)sizeof close_frame);
    CHECK_EQ(mbedtls_ssl_close_notify(&ct->ssl), 0);
    end = ws__now_ms() + HANG_MS;
    while (!srv_closed && !(srv->flags & WS__F_EOF) && ws__now_ms() < end) ws_poll(sx, 20);
    CHECK_EQ(srv_closed, 0);
    if (srv_closed) { printf("  server closed: %s\n", logbuf); goto out; }
    CHECK(srv->flags & WS__F_EOF);   /* the close_notify was read; the reply waits */
    (void)ws_pollfds(sx, fds, 8, &tmo);
    CHECK(tmo != 0);                 /* nothing to do until the socket takes more */
    if (tmo == 0) {                  /* the old behaviour: it stays so */
        for (i = 0; i < 10; i++) ws_poll(sx, 0);
        (void)ws_pollfds(sx, fds, 8, &tmo);
        printf("  still pending after 10 passes: timeout %d\n", tmo);
    }
out:
    free(big);
    ws_ctx_destroy(cx);
    ws_ctx_destroy(sx);
}

/* mbedTLS sends some records by itself from inside mbedtls_ssl_read: refusing a peer's
 * renegotiation (a TLS 1.2 ClientHello or HelloRequest after the handshake) is a warning alert.
 * When the socket is full that alert waits in mbedTLS (out_left), and mbedtls_ssl_write then
 * only finishes it and returns the length it was given as if it had sent that: the bytes of
 * our next write were lost (the peer's stream broken). White-box: the server's socket is
 * filled with raw bytes, the client asks to renegotiate, the server's next message must still
 * arrive after the alert (TLS 1.2 record types are readable on the wire). */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#  define T_OUT_LEFT(s) ((s)->MBEDTLS_PRIVATE(out_left))
#else
#  define T_OUT_LEFT(s) ((s)->out_left)
#endif
static void test_tls_alert_before_data(void) {
#if defined(MBEDTLS_SSL_RENEGOTIATION) && defined(MBEDTLS_SSL_PROTO_TLS1_2)
    ws_ctx *sx, *cx;
    ws_conn *c, *srv;
    ws__tls_conn *st = NULL, *ct = NULL;
    tc t;
    static char junk[65536];
    static uint8_t in[65536];
    size_t njunk, got = 0, n = 0, off;
    int r, alerts = 0, data = 0, other = 0;
    long k;
    int64_t end;
    if (tls_pair(&sx, &cx, 1, &t, &c, &srv)) { st = ws__tls_of(srv); ct = ws__tls_of(c); }   /* renegotiation is 1.2's */
    CHECK(st != NULL && ct != NULL);
    if (!st || !ct) goto out;
    mbedtls_ssl_conf_renegotiation(&ct->cfg->conf, MBEDTLS_SSL_RENEGOTIATION_ENABLED);
    r = mbedtls_ssl_renegotiate(&ct->ssl);   /* the ClientHello goes out; the client is not polled again */
    if (r != MBEDTLS_ERR_SSL_WANT_READ) printf("  renegotiate: -0x%04x\n", (unsigned)-r);
    CHECK_EQ(r, MBEDTLS_ERR_SSL_WANT_READ);
    njunk = fill_socket(srv, c);
    end = ws__now_ms() + HANG_MS;            /* the server reads it: its alert cannot go out */
    while (!srv_closed && !T_OUT_LEFT(&st->ssl) && ws__now_ms() < end) ws_poll(sx, 20);
    CHECK_EQ(srv_closed, 0);
    if (srv_closed) goto out;
    CHECK(T_OUT_LEFT(&st->ssl) != 0);
    CHECK_EQ(ws_conn_send_text(srv, "after the alert"), WS_OK);
    /* the client takes the raw bytes, then what came after them, until the server has sent all */
    end = ws__now_ms() + HANG_MS;
    for (;;) {
        ws_poll(sx, 5);
        while (got < njunk && (k = recv(c->fd, junk, WS__MIN(sizeof junk, njunk - got), MSG_DONTWAIT)) > 0) got += (size_t)k;
        while (got == njunk && n < sizeof in && (k = recv(c->fd, in + n, sizeof in - n, MSG_DONTWAIT)) > 0) n += (size_t)k;
        if (got == njunk && !ws_conn_queued(srv) && !st->wlen && !T_OUT_LEFT(&st->ssl)) {
            ws_poll(sx, 5);
            while ((k = recv(c->fd, in + n, sizeof in - n, MSG_DONTWAIT)) > 0) n += (size_t)k;
            break;
        }
        if (srv_closed || ws__now_ms() > end) break;
    }
    CHECK_EQ(got, njunk);
    for (off = 0; off + 5 <= n; off += 5 + (size_t)(in[off + 3] << 8 | in[off + 4])) {
        if (in[off] == 21) alerts++;
        else if (in[off] == 23) data++;
        else other++;
    }
    CHECK_EQ(off, n);
    CHECK_EQ(alerts, 1);             /* no_renegotiation */
    CHECK_EQ(data, 1);               /* the message, in its own record */
    CHECK_EQ(other, 0);
out:
    ws_ctx_destroy(cx);
    ws_ctx_destroy(sx);
#endif
}

/* max_memory counts what mbedTLS allocates for a connection (its record buffers, ~2 x 16 KiB,
 * and its state: it does so with its own calloc, outside ws.h's buffers). A server past the
 * budget answers upgrades with 503, as for plain ws://; one was accepting TLS connections
 * without bound (each ~50 KiB) while its count showed a few KiB. Clients connect one after
 * another (so which ones fit does not depend on timing); closing one makes room again. A
 * client's own wss:// connection past its budget fails with WS_ERR_FULL. */
static void test_tls_max_memory(void) {
    ws_ctx *sx = mk_ctx(), *cx = mk_ctx(), *small = NULL;
    ws_tls_opts so = srv_opts(p_srv_crt, p_srv_key), co;
    ws_listener *l;
    ws_config cfg;
    ws_conn *c[8], *first = NULL;
    tc t[9], ts;
    int i, opened = 0, refused = 0;
    int64_t end;
    sx->cfg.max_memory = 200000;   /* (set after ws_ctx_create: the limit is read where it is used) */
    l = listen_tls(sx, &so);
    memset(&co, 0, sizeof co);
    memset(t, 0, sizeof t);
    co.ca_file = p_ca;
    for (i = 0; i < 8 && l; i++) {
        c[i] = connect_to(cx, "wss", "localhost", ws_listener_port(l), &co, &t[i]);
        end = ws__now_ms() + HANG_MS;
        while (!t[i].open && !t[i].closed && ws__now_ms() < end) { ws_poll(sx, 5); ws_poll(cx, 5); }
        if (t[i].open) { opened++; if (!first) first = c[i]; }
        else if (t[i].http_status == 503) refused++;
        else printf("  client %d: neither open nor 503: %s\n", i, t[i].msg);
    }
    printf("  %d opened, %d refused with 503 (max_memory 200000)\n", opened, refused);
    CHECK(opened >= 1);
    CHECK(opened <= 4);              /* ~50 KiB each: 4 at most in 200000 bytes */
    CHECK_EQ(opened + refused, 8);
    CHECK(sx->mem_used <= sx->cfg.max_memory + 100000);   /* the 503s' handshakes are gone */
    if (first) {                     /* one goes: there is room for another */
        int closed0 = srv_closed;
        CHECK_EQ(ws_conn_close(first, WS_CLOSE_NORMAL, NULL), WS_OK);
        end = ws__now_ms() + HANG_MS;
        while (srv_closed == closed0 && ws__now_ms() < end) { ws_poll(sx, 5); ws_poll(cx, 5); }
        (void)connect_to(cx, "wss", "localhost", ws_listener_port(l), &co, &t[8]);
        end = ws__now_ms() + HANG_MS;
        while (!t[8].open && !t[8].closed && ws__now_ms() < end) { ws_poll(sx, 5); ws_poll(cx, 5); }
        CHECK_EQ(t[8].open, 1);
    }
    /* a client: its budget has no room for TLS at all */
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.max_memory = 40000;
    small = ws_ctx_create(&cfg);
    memset(&ts, 0, sizeof ts);
    if (small && l) {
        (void)connect_to(small, "wss", "localhost", ws_listener_port(l), &co, &ts);
        end = ws__now_ms() + HANG_MS;
        while (!ts.open && !ts.closed && ws__now_ms() < end) { ws_poll(sx, 5); ws_poll(small, 5); }
        CHECK_EQ(ts.open, 0);
        CHECK_EQ(ts.closed, 1);
        CHECK_EQ(ts.err, WS_ERR_FULL);
        CHECK_EQ(ts.close_err, WS_ERR_FULL);
    }
    if (small) ws_ctx_destroy(small);
    ws_ctx_destroy(cx);
    ws_ctx_destroy(sx);
}

/* min_version WS_TLS_1_3 on both sides: TLS 1.3 is what runs, where mbedTLS has it; where it
 * has not, both sides refuse the setting at once, named. */
static void test_tls_min_version_13(void) {
    ws_ctx *ctx = mk_ctx();
    ws_tls_opts so = srv_opts(p_srv_crt, p_srv_key), co;
    ws_listener *l = NULL;
    ws_result rc;
    tc t;
    so.min_version = WS_TLS_1_3;
    memset(&co, 0, sizeof co);
    memset(&t, 0, sizeof t);
    co.ca_file = p_ca;
    co.min_version = WS_TLS_1_3;
    logbuf[0] = '\0';
    rc = ws_listen_tls(ctx, "127.0.0.1", 0, &so, &l);
#if MBEDTLS_VERSION_NUMBER >= 0x03020000 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
    CHECK_EQ(rc, WS_OK);
    if (l) {
        ws_conn *c = connect_to(ctx, "wss", "localhost", ws_listener_port(l), &co, &t);
        run_until(ctx, &t.open, 1, 30000);
        CHECK_EQ(t.open, 1);
        if (t.errors) printf("  error: %s\n", t.msg);
        if (t.open && c && ws__tls_of(c)) CHECK_STR(mbedtls_ssl_get_version(&ws__tls_of(c)->ssl), "TLSv1.3");
    }
#else
    CHECK_EQ(rc, WS_ERR_TLS);
    CHECK(strstr(logbuf, "TLS 1.3") != NULL);
    (void)t;
#endif
    so.min_version = 0x0302;   /* TLS 1.1: never offered */
    logbuf[0] = '\0';
    CHECK_EQ(ws_listen_tls(ctx, "127.0.0.1", 0, &so, NULL), WS_ERR_TLS);
    CHECK(strstr(logbuf, "min_version") != NULL);
    ws_ctx_destroy(ctx);
}

/* ALPN offered by both: the protocol both name is negotiated; the server certificate as a
 * DER file works like PEM. */
static void test_tls_alpn_and_der(void) {
    ws_ctx *ctx = mk_ctx();
    ws_tls_opts so = srv_opts(p_srv_der, p_srv_key), co;   /* DER certificate */
    ws_listener *l;
    ws_conn *c;
    tc t;
    so.alpn = "http/1.1";
    l = listen_tls(ctx, &so);
    memset(&co, 0, sizeof co);
    memset(&t, 0, sizeof t);
    co.ca_file = p_ca;
    co.alpn = "x-other, http/1.1";
    c = connect_to(ctx, "wss", "localhost", l ? ws_listener_port(l) : 1, &co, &t);
    run_until(ctx, &t.open, 1, 30000);
    CHECK_EQ(t.open, 1);
    if (t.errors) printf("  error: %s\n", t.msg);
    if (t.open && c && ws__tls_of(c)) {
        const char *p = mbedtls_ssl_get_alpn_protocol(&ws__tls_of(c)->ssl);
        CHECK_STR(p, "http/1.1");
    }
    ws_ctx_destroy(ctx);
}

/* With no CA given (no tls options at all, or options without one), a client verifies against
 * the system's CA store: the test CA is not in it, so the handshake fails as untrusted. */
static void test_tls_default_verify_system_cas(void) {
    int pass;
    for (pass = 0; pass < 2; pass++) {
        ws_ctx *ctx = mk_ctx();
        ws_tls_opts so = srv_opts(p_srv_crt, p_srv_key), co;
        ws_listener *l = listen_tls(ctx, &so);
        ws_connect_opts o;
        ws_conn *c = NULL;
        char url[96];
        tc t;
        ws_result rc;
        memset(&co, 0, sizeof co);
        memset(&o, 0, sizeof o);
        memset(&t, 0, sizeof t);
        o.tls = pass ? &co : NULL;   /* pass 1: options with server_name only, no CA */
        co.server_name = "localhost";
        snprintf(url, sizeof url, "wss://localhost:%u/", l ? (unsigned)ws_listener_port(l) : 1u);
        rc = ws_connect(ctx, url, &o, &t, &c);
        if (rc == WS_OK) {
            run_until(ctx, &t.closed, 1, 30000);
            CHECK_EQ(t.open, 0);
            CHECK_EQ(t.closed, 1);
            CHECK_EQ(t.err, WS_ERR_TLS);
            if (!strstr(t.msg, "not trusted")) { printf("  msg \"%s\" lacks \"not trusted\"\n", t.msg); CHECK(0); }
        } else {   /* no system CA bundle at all: refused at once, and said so */
            CHECK_EQ(rc, WS_ERR_TLS);
            CHECK(logbuf[0] != '\0');
            printf("  note: no system CA store here (%s)\n", logbuf);
        }
        CHECK_EQ(srv_open, 0);
        ws_ctx_destroy(ctx);
    }
}

/* wss:// through a real HTTP CONNECT proxy (tinyproxy, Basic auth): TLS runs inside the
 * tunnel, with SNI and the certificate check against the URL's host, not the proxy's */
static void test_tls_through_proxy(void) {
#ifndef _WIN32
    tproxy p;
    ws_ctx *ctx;
    ws_tls_opts so = srv_opts(p_srv_crt, p_srv_key), wo = srv_opts(p_wrong_crt, p_wrong_key), co;
    ws_listener *l, *lw;
    ws_connect_opts o;
    char url[128], proxy[64], addr[64];
    tc t, tw;
    ws_conn *c = NULL;
    uint16_t rport = 0;
    int wait = slow ? 60000 : 5000;
    if (!tproxy_start(&p, "test_tls_through_proxy", "alice", "s3cret", 0)) return;
    ctx = mk_ctx();
    l = listen_tls(ctx, &so);
    lw = listen_tls(ctx, &wo);
    memset(&co, 0, sizeof co);
    co.ca_file = p_ca;
    memset(&o, 0, sizeof o);
    o.tls = &co;
    o.proxy = proxy;
    snprintf(proxy, sizeof proxy, "http://alice:s3cret@127.0.0.1:%u", (unsigned)p.port);
    snprintf(url, sizeof url, "wss://localhost:%u/echo", l ? (unsigned)ws_listener_port(l) : 1u);
    memset(&t, 0, sizeof t);
    CHECK_EQ(ws_connect(ctx, url, &o, &t, &c), WS_OK);
    run_until(ctx, &t.open, 1, wait);
    CHECK_EQ(t.open, 1);
    if (t.errors) printf("  error: %s (HTTP %d)\n", t.msg, t.http_status);
    if (t.open) {
        CHECK_EQ(ws_conn_remote(c, addr, sizeof addr, &rport), WS_OK);
        CHECK_EQ(rport, p.port);   /* the socket is the proxy's */
        CHECK_EQ(ws_conn_send_text(c, "hello through the proxy"), WS_OK);
        run_until(ctx, (const int *)&t.nmsg, 1, wait);
        CHECK_EQ(t.nmsg, 1);
        CHECK_EQ(t.bytes, 23);
        CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, "bye"), WS_OK);
        run_until(ctx, &t.closed, 1, wait);
        CHECK_EQ(t.clean, 1);
    }
    /* a certificate for another name, behind the same proxy: the host check still holds */
    snprintf(url, sizeof url, "wss://localhost:%u/echo", lw ? (unsigned)ws_listener_port(lw) : 1u);
    memset(&tw, 0, sizeof tw);
    CHECK_EQ(ws_connect(ctx, url, &o, &tw, NULL), WS_OK);
    run_until(ctx, &tw.closed, 1, wait);
    CHECK_EQ(tw.open, 0);
    CHECK_EQ(tw.err, WS_ERR_TLS);
    CHECK(strstr(tw.msg, "host") != NULL);
    ws_ctx_destroy(ctx);
    tproxy_stop(&p);
#endif
}

#ifndef _WIN32
#include "blackhole.h"
/* wss:// to a host whose first address drops SYNs: its second wins the race (RFC 8305) and
 * TLS runs on that socket (SNI and the certificate check against the URL's host). One at a
 * time, the first address would have 2 x HANG_MS: past the wait below. */
static void test_tls_race(void) {
    ws_ctx *ctx = mk_ctx();
    ws_tls_opts so = srv_opts(p_srv_crt, p_srv_key), co;
    ws_listener *l = listen_tls(ctx, &so);
    ws_connect_opts o;
    ws_conn *c = NULL;
    tc t;
    int lfd = -1, fill[4], nfill = 0;
    uint16_t port = 0, ports[2];
    uint32_t ips[2] = {0x7F000002, 0x7F000001};
    char url[128];
    ctx->cfg.connect_timeout_ms = 4 * HANG_MS;
    if (!l || !hr_blackhole(ips[0], &port, &lfd, fill, &nfill)) goto out;
    ports[0] = port;
    ports[1] = (uint16_t)ws_listener_port(l);
    memset(&co, 0, sizeof co);
    co.ca_file = p_ca;
    memset(&o, 0, sizeof o);
    o.tls = &co;
    snprintf(url, sizeof url, "wss://localhost:%u/echo", (unsigned)ports[1]);
    memset(&t, 0, sizeof t);
    CHECK_EQ(ws_connect(ctx, url, &o, &t, &c), WS_OK);
    if (!c || !hr_answer(c, ips, ports, 2)) goto out;
    run_until(ctx, &t.open, 1, HANG_MS);
    CHECK_EQ(t.open, 1);
    if (t.errors) printf("  error: %s\n", t.msg);
    if (t.open) {
        CHECK_EQ(ws_conn_send_text(c, "raced"), WS_OK);
        run_until(ctx, (const int *)&t.nmsg, 1, HANG_MS);
        CHECK(strcmp(t.text, "raced") == 0);
        CHECK_EQ(ws_conn_close(c, WS_CLOSE_NORMAL, "bye"), WS_OK);
        run_until(ctx, &t.closed, 1, HANG_MS);
        CHECK_EQ(t.clean, 1);
    }
out:
    hr_close(lfd, fill, nfill);
    ws_ctx_destroy(ctx);
}
#endif

int main(int argc, char **argv) {
    const char *d = getenv("WS_TLS_DIR");
    t_only = argc > 1 ? argv[1] : NULL;
    slow = getenv("TLS_SLOW") != NULL;
    snprintf(dir, sizeof dir, "%s", d && *d ? d : "build/tls");
    path(p_ca, "ca.crt"); path(p_other_ca, "other-ca.crt");
    path(p_srv_crt, "server.crt"); path(p_srv_key, "server.key"); path(p_srv_enc, "server-enc.key");
    path(p_wrong_crt, "wronghost.crt"); path(p_wrong_key, "wronghost.key");
    path(p_exp_crt, "expired.crt"); path(p_exp_key, "expired.key");
    path(p_cli_crt, "client.crt"); path(p_cli_key, "client.key");
    path(p_srv_der, "server.der"); path(p_ca_der, "ca.der"); path(p_chain, "server-chain.crt");
    {   FILE *f = fopen(p_exp_crt, "r");
        if (!f) { printf("test_tls: no certificates in %s (run tests/tls/gen-certs.sh %s)\n", dir, dir); return 1; }
        fclose(f); }
    printf("test_tls: %s\n", MBEDTLS_VERSION_STRING_FULL);
    RUN(test_tls_echo_text_binary);
    RUN(test_tls_from_memory);
    RUN(test_tls_client_cert);
    RUN(test_tls_wrong_ca);
    RUN(test_tls_wrong_host);
    RUN(test_tls_expired);
    RUN(test_tls_plain_client_on_tls_port);
    RUN(test_tls_tls_client_on_plain_port);
    RUN(test_tls_silent_peer_times_out);
    RUN(test_tls_verify_modes);
    RUN(test_tls_config_errors);
    RUN(test_tls_1mib);
    RUN(test_tls_16mib);
    RUN(test_tls_50_conns);
    RUN(test_tls_close_notify_want_write);
    RUN(test_tls_close_notify_with_data);
    RUN(test_tls_eof_without_close_notify);
    RUN(test_tls_close_notify_while_queued);
    RUN(test_tls_alert_before_data);
    RUN(test_tls_max_memory);
    RUN(test_tls_min_version_13);
    RUN(test_tls_alpn_and_der);
    RUN(test_tls_default_verify_system_cas);
    RUN(test_tls_through_proxy);
#ifndef _WIN32
    RUN(test_tls_race);
#endif
    return t_summary();
}
