/* test_usage.c - what a newcomer meets first: error codes and texts that say what happened
 * (a send that can never fit, a port out of range or in use, an oversized message, a timed-out
 * handshake, a malformed URL, a wildcard listener) and the poll() fallback where epoll cannot
 * be used. Uses the helpers of test_conn.c (cn_) and test_loopback.c (lb_). */

/* ---- a send larger than max_send_queue can never fit: WS_ERR_TOO_BIG, not WS_ERR_FULL ---- */

static void test_usage_send_too_big(void) {
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c;
    uint8_t big[128], pl[128];
    size_t len = 0, sent = 99;
    ws_frame f;
    memset(big, 'b', sizeof big);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_send_queue = 100;
    ctx = cn_ctx(&cfg);
    c = cn_open(ctx, 1);
    /* an empty queue takes up to max_send_queue payload bytes */
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 100), WS_OK);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 1), WS_ERR_FULL);         /* later, after DRAINED */
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 101), WS_ERR_TOO_BIG);    /* never */
    CHECK_EQ(ws_conn_send_frame(c, 1, 0, WS_OP_TEXT, big, 101), WS_ERR_TOO_BIG);
    CHECK_EQ(ws_broadcast(ctx, WS_OP_BINARY, big, 101, NULL, &sent), WS_ERR_TOO_BIG);
    CHECK_EQ(sent, 0);
    CHECK(cn_pop(c, &f, pl, sizeof pl, &len));
    CHECK_EQ(len, 100);
    CHECK_EQ(cn_tx_used(c), 0);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 101), WS_ERR_TOO_BIG);    /* empty: still never */
    CHECK_EQ(cn_tx_used(c), 0);                                           /* nothing queued */
    CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, big, 100), WS_OK);
    CHECK_STR(ws_result_str(WS_ERR_TOO_BIG), "over a size limit");
    cn_end(ctx);
}

static void suite_usage(void) {
    RUN(test_usage_send_too_big);
}
