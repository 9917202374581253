/* fw_norandom.c - a bare-metal build without WS_RANDOM (newlib has no random source ws.h knows):
 * the codec and a server engine work, a client engine is refused with WS_ERR_ARG and a log line
 * naming WS_RANDOM (its masks would be predictable), ws_random fails. Cortex-M4 under QEMU
 * (make firmware). Ends "N passed, N failed". */
#define WS_IMPLEMENTATION
#include "../../ws.h"
#include "../test.h"

static int nr_events;
static char nr_log[160];
static void nr_on_event(ws_conn *c, const ws_event *ev, void *user) { (void)c; (void)ev; (void)user; nr_events++; }
static void nr_on_log(int level, const char *msg, void *user) {
    (void)level; (void)user;
    strncpy(nr_log, msg, sizeof nr_log - 1);
}

static void test_norandom_client_refused(void) {
    ws_config cfg;
    ws_engine_opts o;
    ws_conn *c = (ws_conn *)&cfg;   /* must come back NULL */
    memset(&cfg, 0, sizeof cfg);
    memset(&o, 0, sizeof o);
    cfg.on_event = nr_on_event;
    cfg.log = nr_on_log;
    o.url = "ws://127.0.0.1/";
    CHECK_EQ(ws_engine_create(&cfg, &o, NULL, &c), WS_ERR_ARG);
    CHECK(c == NULL);
    CHECK(strstr(nr_log, "WS_RANDOM") != NULL);
    CHECK_EQ(nr_events, 0);
}

static void test_norandom_server_works(void) {
    static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    ws_config cfg;
    ws_engine_opts o;
    ws_conn *s = NULL;
    const uint8_t *out;
    size_t n;
    memset(&cfg, 0, sizeof cfg);
    memset(&o, 0, sizeof o);
    cfg.on_event = nr_on_event;
    o.server = 1;
    CHECK_EQ(ws_engine_create(&cfg, &o, NULL, &s), WS_OK);
    if (!s) return;
    CHECK_EQ(ws_engine_feed(s, req, sizeof req - 1, 0), WS_OK);
    n = ws_engine_output(s, &out);
    CHECK(n > 12 && memcmp(out, "HTTP/1.1 101", 12) == 0);
    CHECK(n > 0 && strstr((const char *)out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != NULL);
    CHECK_EQ(ws_conn_state(s), WS_STATE_OPEN);
    ws_engine_destroy(s);
}

static void test_norandom_ws_random_fails(void) {
    uint8_t b[4] = {0};
    char key[29];
    CHECK_EQ(ws_random(b, sizeof b), WS_ERR_IO);
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, key);   /* the codec needs none */
    CHECK(strcmp(key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
}

int main(void) {
    printf("ws.h without WS_RANDOM on %s\n", WS_FW_CPU);
    RUN(test_norandom_client_refused);
    RUN(test_norandom_server_works);
    RUN(test_norandom_ws_random_fails);
    return t_summary();
}
