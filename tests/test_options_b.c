/* test_options_b.c - the second private copy of ws.h (WS_STATIC) in build/test_options: it must
 * link beside test_options.c's copy (no clashing ws_ symbols) and work on its own. */
#define WS_STATIC
#define WS_NO_THREADS
#define WS_IMPLEMENTATION
#include "../ws.h"

int opt_b_check(void);
static void opt_b_on_event(ws_conn *c, const ws_event *ev, void *user) { (void)c; (void)ev; (void)user; }
int opt_b_check(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_listener *l = NULL;
    char key[29];
    int ok;
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, key);   /* RFC 6455 1.3 */
    ok = strcmp(key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_event = opt_b_on_event;
    ctx = ws_ctx_create(&cfg);
    if (!ctx) return 0;
    ok = ok && ws_listen(ctx, "127.0.0.1", 0, &l) == WS_OK && ws_listener_port(l) != 0;
    ok = ok && ws_poll(ctx, 0) >= 0;
    ws_ctx_destroy(ctx);
    return ok;
}
