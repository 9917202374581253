/* win_system_ca.c - Windows: a wss:// client given no CA verifies the server against the
 * system ROOT store. Built with mingw-w64 against an mbedTLS built for Windows and run under
 * Wine (`make tls-win MBEDTLS_WIN_DIR=...`, see the Makefile); not part of `make test`, since
 * Debian has no mbedTLS for mingw. It changes the ROOT store, so it runs only under Wine (in a
 * throwaway WINEPREFIX): the test CA is added to the current user's ROOT store, and removed.
 *   1. the store loads: at least one certificate parses (Wine copies the host's CA bundle)
 *   2. test CA not in the store: the client without ca_file fails with "not trusted"
 *   3. test CA in the store: the same client opens
 * Certificates from tests/tls/gen-certs.sh in $WS_TLS_DIR (default build/tls).
 * The last line printed is "N passed, N failed". */
#define WS_IMPLEMENTATION
#define WS_USE_MBEDTLS
#include "../../ws.h"
#include "../test.h"

static char dir[512];
static int opened, closed;
static ws_result err;
static char msg[512];

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)user;
    if (ws_conn_is_server(c)) return;
    if (ev->type == WS_EV_OPEN) opened++;
    if (ev->type == WS_EV_ERROR) { err = ev->result; snprintf(msg, sizeof msg, "%s", ev->msg ? ev->msg : ""); }
    if (ev->type == WS_EV_CLOSE) closed++;
}

static void t_path(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", dir, name); }

/* Connects wss://localhost:port with no CA (the system store) and waits for open or close. */
static void connect_no_ca(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_tls_opts so, co;
    ws_connect_opts o;
    ws_listener *l = NULL;
    ws_conn *c = NULL;
    char crt[600], key[600], url[64];
    int64_t end;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = on_event;
    cfg.handshake_timeout_ms = 60000;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    t_path(crt, sizeof crt, "server.crt");
    t_path(key, sizeof key, "server.key");
    memset(&so, 0, sizeof so);
    so.cert_file = crt;
    so.key_file = key;
    CHECK_EQ(ws_listen_tls(ctx, "127.0.0.1", 0, &so, &l), WS_OK);
    memset(&co, 0, sizeof co);   /* no CA: the ROOT store */
    memset(&o, 0, sizeof o);
    o.tls = &co;
    opened = closed = 0; err = WS_OK; msg[0] = '\0';
    snprintf(url, sizeof url, "wss://localhost:%u/", l ? (unsigned)ws_listener_port(l) : 1u);
    CHECK_EQ(ws_connect(ctx, url, &o, NULL, &c), WS_OK);
    end = ws__now_ms() + 120000;   /* only catches a hang */
    while (!opened && !closed && ws__now_ms() < end) ws_poll(ctx, 20);
    ws_ctx_destroy(ctx);
}

static unsigned char *slurp(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    unsigned char *b;
    long len;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = (unsigned char *)malloc((size_t)len + 1);
    if (b && fread(b, 1, (size_t)len, f) != (size_t)len) len = 0;
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void test_win_root_store_loads(void) {
    mbedtls_x509_crt ca;
    const mbedtls_x509_crt *p;
    int n = 0;
    mbedtls_x509_crt_init(&ca);
#if defined(WS__TLS_PSA)
    CHECK_EQ(psa_crypto_init(), PSA_SUCCESS);   /* as ws__tls_cfg_new does (4.x parses keys with PSA) */
#endif
    CHECK_EQ(ws__tls_system_ca(&ca), 1);
    for (p = &ca; p && p->raw.len; p = p->next) n++;
    printf("  %d certificates from the ROOT store\n", n);
    CHECK(n > 0);
    mbedtls_x509_crt_free(&ca);
}

/* Adds (add = 1) or removes the certificate der to/from the current user's ROOT store. 1 = done. */
static int store_ca(const unsigned char *der, size_t n, int add) {
    HCERTSTORE st = CertOpenStore(CERT_STORE_PROV_SYSTEM_A, 0, (HCRYPTPROV_LEGACY)0,
                                  CERT_SYSTEM_STORE_CURRENT_USER, "ROOT");
    PCCERT_CONTEXT x = NULL, found = NULL;
    int ok;
    if (!st) return 0;
    if (add) {
        ok = CertAddEncodedCertificateToStore(st, X509_ASN_ENCODING, der, (DWORD)n,
                                              CERT_STORE_ADD_REPLACE_EXISTING, NULL) != 0;
    } else {
        while (!found && (x = CertEnumCertificatesInStore(st, x)) != NULL)
            if (x->cbCertEncoded == n && memcmp(x->pbCertEncoded, der, n) == 0) {
                found = CertDuplicateCertificateContext(x);
                CertFreeCertificateContext(x);
            }
        ok = !found || CertDeleteCertificateFromStore(found);   /* (it frees found) */
    }
    if (!CertControlStore(st, 0, CERT_STORE_CTRL_COMMIT, NULL)) ok = 0;   /* Wine needs it for a delete */
    return CertCloseStore(st, 0) && ok;
}

static void test_win_root_store_verifies(void) {
    char p_der[600];
    size_t n = 0;
    unsigned char *der;
    t_path(p_der, sizeof p_der, "ca.der");
    der = slurp(p_der, &n);
    CHECK(der != NULL && n > 0);
    if (!der) return;
    CHECK(store_ca(der, n, 0));                    /* left over from an interrupted run */
    connect_no_ca();                               /* 2: the test CA is not trusted */
    CHECK_EQ(opened, 0);
    CHECK_EQ(closed, 1);
    CHECK_EQ(err, WS_ERR_TLS);
    if (!strstr(msg, "not trusted")) { printf("  msg: %s\n", msg); CHECK(0); }
    CHECK(store_ca(der, n, 1));
    connect_no_ca();                               /* 3: now it is */
    CHECK_EQ(opened, 1);
    if (!opened) printf("  msg: %s\n", msg);
    CHECK(store_ca(der, n, 0));
    connect_no_ca();                               /* and no longer */
    CHECK_EQ(opened, 0);
    CHECK_EQ(err, WS_ERR_TLS);
    free(der);
}

int main(int argc, char **argv) {
    const char *d = getenv("WS_TLS_DIR");
    HMODULE nt = GetModuleHandleA("ntdll.dll");
    t_only = argc > 1 ? argv[1] : NULL;
    snprintf(dir, sizeof dir, "%s", d && *d ? d : "build/tls");
    printf("win_system_ca: %s\n", MBEDTLS_VERSION_STRING_FULL);
    if (!nt || !GetProcAddress(nt, "wine_get_version")) {
        printf("win_system_ca: not under Wine: refusing to change this machine's ROOT store\n");
        printf("0 passed, 1 failed\n");
        return 1;
    }
    RUN(test_win_root_store_loads);
    RUN(test_win_root_store_verifies);
    return t_summary();
}
