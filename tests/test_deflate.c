/* test_deflate.c - permessage-deflate (RFC 7692), built only with -DWS_USE_ZLIB (make test-zlib):
 * the parameter parser, negotiation on both sides (every parameter, several offers, what must
 * be declined or must fail), the RFC 7692 7.2.3 examples fed whole, byte by byte and split at
 * every offset, the RSV1 rules, corrupt data, an inflation bomb against max_message, fragmented
 * compressed messages both ways, context takeover kept and reset, shared streams, the send
 * threshold and WS_SEND_UNCOMPRESSED, and a real round trip over 127.0.0.1. Uses test_conn.c's
 * helpers (cn_*): a conn without a socket keeps what it sends in c->tx. */

/* The engine's internals as test_conn.c used them before the engine was public: a loop ctx's
 * connections without sockets (these tests need ws__pmd_* and the ctx-wide deflate state). */
static ws_ctx *ocn_ctx(const ws_config *cfg) {
    ws_config c;
    ws_ctx *ctx;
    if (cfg) c = *cfg; else memset(&c, 0, sizeof c);
    c.on_event = cn_on_event;
    cn_nev = 0;
    cn_overflow = 0;
    cn_echo = 0;
    cn_necho = 0;
    ctx = ws_ctx_create(&c);
    if (ctx) ctx->now = CN_T0;   /* a fixed clock: timers are deterministic */
    return ctx;
}

static void ocn_end(ws_ctx *ctx) {
    int i, j;
    ws_ctx_destroy(ctx);
    CHECK(!cn_overflow);
    for (i = 0; i < cn_nev; i++) {
        const void *c = cn_evs[i].conn;
        int seen = 0, open = 0, err = 0, close = 0, after_close = 0, err_after_close = 0;
        for (j = 0; j < i; j++) seen |= cn_evs[j].conn == c;
        if (seen) continue;
        for (j = i; j < cn_nev; j++) {
            if (cn_evs[j].conn != c) continue;
            if (close) { after_close++; if (cn_evs[j].type == WS_EV_ERROR) err_after_close++; }
            if (cn_evs[j].type == WS_EV_OPEN) { CHECK_EQ(err + close, 0); open++; }
            if (cn_evs[j].type == WS_EV_ERROR) err++;
            if (cn_evs[j].type == WS_EV_CLOSE) close++;
        }
        CHECK(open <= 1);
        CHECK(err <= 1);
        CHECK_EQ(close, 1);
        CHECK_EQ(after_close, 0);
        CHECK_EQ(err_after_close, 0);
    }
}

static ws_conn *ocn_open(ws_ctx *ctx, int server) {
    ws_conn *c = ws__conn_new(ctx, server);
    c->state = WS__HANDSHAKE;
    ws__opened(c);
    return c;
}

static void ocn_feed(ws_conn *c, const uint8_t *p, size_t n, long mode) {
    size_t i, k = mode > 0 ? (size_t)mode : 0;
    if (mode < 0) {
        for (i = 0; i < n; i++) CHECK_EQ(ws__conn_feed(c, p + i, 1), WS_OK);
    } else if (k > 0 && k < n) {
        CHECK_EQ(ws__conn_feed(c, p, k), WS_OK);
        CHECK_EQ(ws__conn_feed(c, p + k, n - k), WS_OK);
    } else {
        CHECK_EQ(ws__conn_feed(c, p, n), WS_OK);
    }
}

static size_t ocn_tx_used(const ws_conn *c) { return ws__buf_used(c->tx); }

static void ocn_tx_drain(ws_conn *c) { if (c->tx) c->tx->off = c->tx->len; }

static const char *ocn_tx_str(const ws_conn *c, char *out, size_t cap) {  /* tx as a string */
    size_t n = WS__MIN(ocn_tx_used(c), cap - 1);
    if (n) memcpy(out, WS__BDATA(c->tx) + c->tx->off, n);
    out[n] = '\0';
    return out;
}

static int ocn_pop(ws_conn *c, ws_frame *f, uint8_t *pl, size_t cap, size_t *n) {
    uint8_t *p;
    size_t avail, k;
    if (!c->tx) return 0;
    p = WS__BDATA(c->tx) + c->tx->off;
    avail = ws__buf_used(c->tx);
    if (ws_frame_parse(p, avail, WS_PARSE_RSV_MASK, f, NULL, NULL) != WS_OK) return 0;
    if (avail - f->header_len < f->payload_len) return 0;
    k = (size_t)WS__MIN(f->payload_len, (uint64_t)cap);
    memcpy(pl, p + f->header_len, k);
    if (f->masked) ws_mask(pl, k, f->mask, 0);
    *n = (size_t)f->payload_len;
    c->tx->off += f->header_len + (size_t)f->payload_len;
    return 1;
}

static int ocn_pop_close(ws_conn *c, char reason[126]) {
    ws_frame f;
    uint8_t pl[126];
    size_t n = 0;
    if (reason) reason[0] = '\0';
    if (!ocn_pop(c, &f, pl, sizeof pl, &n) || f.opcode != WS_OP_CLOSE || !f.fin || n == 1 || n > 125)
        return -1;
    if (f.masked != !(c->flags & WS__F_SERVER)) return -1;   /* clients mask, servers don't */
    if (reason && n > 2) { memcpy(reason, pl + 2, n - 2); reason[n - 2] = '\0'; }
    return n ? (pl[0] << 8) | pl[1] : 0;
}

static ws_conn *ocn_server_hs(ws_ctx *ctx) {
    ws_conn *c = ws__conn_new(ctx, 1);
    c->state = WS__HANDSHAKE;
    c->deadline = ws__t32_of(ctx->now + 10000);
    return c;
}

static ws_conn *ocn_client_hs(ws_ctx *ctx, const char *protocols) {
    ws_conn *c = ws__conn_new(ctx, 0);
    ws__client *cl = (ws__client *)ws__alloc(ctx, sizeof *cl);
    memset(cl, 0, sizeof *cl);
    memcpy(cl->key, "dGhlIHNhbXBsZSBub25jZQ==", 25);
    if (protocols) cl->protocols = ws__strdup(ctx, protocols, strlen(protocols));
    CHECK(ws__x(c) != NULL);
    if (c->x) c->x->cl = cl;
    c->state = WS__HANDSHAKE;
    c->deadline = ws__t32_of(ctx->now + 10000);
    return c;
}

#include <zlib.h>

/* ---- a reference compressor: raw DEFLATE, sync flush, the 00 00 ff ff tail taken off ---- */
static size_t df_compress(const void *in, size_t n, uint8_t *out, size_t cap, int bits) {
    z_stream s;
    size_t len;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    s.next_in = (const Bytef *)in;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    CHECK_EQ(deflate(&s, Z_SYNC_FLUSH), Z_OK);
    CHECK(s.avail_out > 0);
    len = cap - s.avail_out;
    deflateEnd(&s);
    CHECK(len >= 4 && memcmp(out + len - 4, "\0\0\xff\xff", 4) == 0);
    return len - 4;
}
static const ws_deflate_opts df_on = { 1, 0, 0, 0, 0, 0, -1 };   /* everything compressed */

/* An open conn with permessage-deflate as negotiated with these settings. */
static ws_conn *df_open(ws_ctx *ctx, int server, int d_bits, int i_bits, int d_reset, int i_reset) {
    ws_conn *c = ocn_open(ctx, server);
    ws__pmd *z = ws__pmd_new(c, &df_on, d_bits, i_bits, d_reset, i_reset);
    CHECK(z != NULL);
    if (z) strcpy(z->ext, "permessage-deflate");
    return c;
}

/* ---- the parser ---- */
static void test_deflate_parse(void) {
    static const struct { const char *p; int answer, ok, snct, cnct, smwb, cmwb; } v[] = {
        { "", 0, 1, 0, 0, 0, 0 },
        { "; client_max_window_bits", 0, 1, 0, 0, 0, -1 },
        { ";client_max_window_bits=10", 0, 1, 0, 0, 0, 10 },
        { " ; server_max_window_bits = 8 ; client_no_context_takeover", 0, 1, 0, 1, 8, 0 },
        { "; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; "
          "client_max_window_bits=9", 0, 1, 1, 1, 15, 9 },
        { "; server_max_window_bits=\"12\"", 0, 1, 0, 0, 12, 0 },
        { "; Server_No_Context_Takeover", 0, 1, 1, 0, 0, 0 },
        { "; client_max_window_bits", 1, 0, 0, 0, 0, 0 },          /* a value is required in an answer */
        { "; server_max_window_bits", 0, 0, 0, 0, 0, 0 },          /* ... and always for the server's */
        { "; server_max_window_bits=7", 0, 0, 0, 0, 0, 0 },
        { "; server_max_window_bits=16", 0, 0, 0, 0, 0, 0 },
        { "; server_max_window_bits=08", 0, 0, 0, 0, 0, 0 },
        { "; server_max_window_bits=1x", 0, 0, 0, 0, 0, 0 },
        { "; server_max_window_bits=\"1 2\"", 0, 0, 0, 0, 0, 0 },
        { "; server_max_window_bits=\"12", 0, 0, 0, 0, 0, 0 },
        { "; client_no_context_takeover=1", 0, 0, 0, 0, 0, 0 },    /* no value allowed */
        { "; client_no_context_takeover; client_no_context_takeover", 0, 0, 0, 0, 0, 0 },
        { "; client_max_window_bits=10; client_max_window_bits", 0, 0, 0, 0, 0, 0 },
        { "; x_unknown", 0, 0, 0, 0, 0, 0 },
        { ";", 0, 0, 0, 0, 0, 0 },
        { "; server_max_window_bits=", 0, 0, 0, 0, 0, 0 },
        { "junk", 0, 0, 0, 0, 0, 0 },
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        ws__pmd_params a;
        int ok = ws__pmd_parse(ws__span(v[i].p, strlen(v[i].p)), v[i].answer, &a);
        CHECK_EQ(ok, v[i].ok);
        if (ok && v[i].ok) {
            CHECK_EQ(a.snct, v[i].snct);
            CHECK_EQ(a.cnct, v[i].cnct);
            CHECK_EQ(a.smwb, v[i].smwb);
            CHECK_EQ(a.cmwb, v[i].cmwb);
        }
        if (t_bad) { printf("  (case %u: \"%s\")\n", (unsigned)i, v[i].p); break; }
    }
}

/* ---- the server's side of the negotiation ---- */
static void df_server_case(const ws_deflate_opts *o, const char *ext_headers, const char *want) {
    char req[1024], out[1024];
    const char *h;
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c;
    memset(&cfg, 0, sizeof cfg);
    cfg.deflate = *o;
    ctx = ocn_ctx(&cfg);
    c = ocn_server_hs(ctx);
    snprintf(req, sizeof req, "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n%s\r\n", ext_headers);
    ocn_feed(c, (const uint8_t *)req, strlen(req), 0);
    CHECK_EQ(c->state, WS__OPEN);
    ocn_tx_str(c, out, sizeof out);
    h = strstr(out, "Sec-WebSocket-Extensions: ");
    if (want) {
        char line[256];
        snprintf(line, sizeof line, "\r\nSec-WebSocket-Extensions: %s\r\n", want);
        CHECK(strstr(out, line) != NULL);
        CHECK(c->pmd != NULL);
        CHECK_STR(ws_conn_extensions(c), want);
    } else {
        CHECK(h == NULL);
        CHECK(c->pmd == NULL);
        CHECK_STR(ws_conn_extensions(c), "");
    }
    CHECK(strlen(out) > 4 && strcmp(out + strlen(out) - 4, "\r\n\r\n") == 0);
    CHECK(strstr(out, "\r\n\r\n") == out + strlen(out) - 4);
    if (t_bad) printf("  (offer \"%s\", answer \"%s\")\n", ext_headers, out);
    ocn_end(ctx);
}

static void test_deflate_server_negotiation(void) {
    ws_deflate_opts o = df_on, off;
    memset(&off, 0, sizeof off);
#define X "Sec-WebSocket-Extensions: "
    df_server_case(&o, X "permessage-deflate\r\n", "permessage-deflate");
    df_server_case(&o, X "permessage-deflate; client_max_window_bits\r\n", "permessage-deflate");
    df_server_case(&o, X "permessage-deflate; client_max_window_bits=10\r\n",
                   "permessage-deflate; client_max_window_bits=10");
    df_server_case(&o, X "permessage-deflate; server_max_window_bits=10\r\n",
                   "permessage-deflate; server_max_window_bits=10");
    df_server_case(&o, X "permessage-deflate; server_max_window_bits=15\r\n",
                   "permessage-deflate; server_max_window_bits=15");
    df_server_case(&o, X "permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n",
                   "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    /* several offers: the first acceptable one wins; unknown extensions are ignored */
    df_server_case(&o, X "x-webkit-deflate-frame, permessage-deflate; foo, permessage-deflate; "
                   "server_max_window_bits=11, permessage-deflate\r\n",
                   "permessage-deflate; server_max_window_bits=11");
    df_server_case(&o, X "foo\r\n" X "permessage-deflate; client_max_window_bits=9\r\n",
                   "permessage-deflate; client_max_window_bits=9");
    df_server_case(&o, X "permessage-deflate; a=\"x,y\", permessage-deflate\r\n", "permessage-deflate");
    /* declined (5.1): invalid, repeated or unknown parameters; no other offer */
    df_server_case(&o, X "permessage-deflate; server_max_window_bits\r\n", NULL);
    df_server_case(&o, X "permessage-deflate; server_max_window_bits=16\r\n", NULL);
    df_server_case(&o, X "permessage-deflate; client_no_context_takeover; client_no_context_takeover\r\n", NULL);
    df_server_case(&o, X "permessage-deflate; server_no_context_takeover=yes\r\n", NULL);
    df_server_case(&o, X "deflate-frame\r\n", NULL);
    df_server_case(&o, "", NULL);
    df_server_case(&off, X "permessage-deflate\r\n", NULL);   /* not enabled */
    /* our own limits */
    o.window_bits = 11;
    df_server_case(&o, X "permessage-deflate\r\n", "permessage-deflate; server_max_window_bits=11");
    df_server_case(&o, X "permessage-deflate; server_max_window_bits=9\r\n",
                   "permessage-deflate; server_max_window_bits=9");
    o.window_bits = 0;
    o.peer_window_bits = 10;
    df_server_case(&o, X "permessage-deflate\r\n", NULL);   /* cannot limit the client: declined */
    df_server_case(&o, X "permessage-deflate; client_max_window_bits\r\n",
                   "permessage-deflate; client_max_window_bits=10");
    df_server_case(&o, X "permessage-deflate; client_max_window_bits=12\r\n",
                   "permessage-deflate; client_max_window_bits=10");
    df_server_case(&o, X "permessage-deflate; client_max_window_bits=9\r\n",
                   "permessage-deflate; client_max_window_bits=9");
    o.peer_window_bits = 0;
    o.no_context_takeover = 1;
    o.peer_no_context_takeover = 1;
    df_server_case(&o, X "permessage-deflate\r\n",
                   "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
#undef X
}

/* A server that may compress with a window of 8 only: it sends uncompressed (7692 allows it). */
static void test_deflate_window8_uncompressed(void) {
    ws_ctx *ctx = ocn_ctx(NULL);
    ws_conn *c = df_open(ctx, 1, 8, 15, 0, 0);
    ws_frame f;
    uint8_t pl[64];
    size_t n = 0;
    CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "Hello Hello Hello", 17), WS_OK);
    CHECK(ocn_pop(c, &f, pl, sizeof pl, &n) && f.rsv == 0 && n == 17 && memcmp(pl, "Hello Hello Hello", 17) == 0);
    CHECK(c->pmd->d_on == 0);
    ocn_end(ctx);
}

/* ---- the client's side ---- */
static ws_conn *df_client(ws_ctx *ctx, const ws_deflate_opts *o) {
    ws_conn *c = ocn_client_hs(ctx, NULL);
    if (o) ws__cl(c)->deflate = *o;
    return c;
}
static void df_client_case(const ws_deflate_opts *o, const char *ext, int ok) {
    char res[512];
    ws_ctx *ctx = ocn_ctx(NULL);
    ws_conn *c = df_client(ctx, o);
    snprintf(res, sizeof res, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n%s\r\n", ext);
    ocn_feed(c, (const uint8_t *)res, strlen(res), 0);
    if (ok) {
        CHECK_EQ(c->state, WS__OPEN);
        CHECK_EQ(cn_count(WS_EV_OPEN), 1);
        CHECK_EQ(ok > 1, c->pmd != NULL);
    } else {
        CHECK(c->state != WS__OPEN);
        CHECK_EQ(c->err, WS_ERR_HANDSHAKE);
        CHECK(c->pmd == NULL || c->state != WS__OPEN);
    }
    if (t_bad) printf("  (answer \"%s\": %s)\n", ext, ws__err_msg(c));
    ocn_end(ctx);
}

static void test_deflate_client_negotiation(void) {
    ws_deflate_opts o = df_on, off;
    char buf[512];
    size_t n;
    ws_ctx *ctx;
    ws_conn *c;
    memset(&off, 0, sizeof off);
    /* the offer */
    ctx = ocn_ctx(NULL);
    c = df_client(ctx, &o);
    n = ws__pmd_offer(c, buf, sizeof buf);
    CHECK_STR(buf, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
    CHECK_EQ(n, strlen(buf));
    o.window_bits = 10; o.peer_window_bits = 9; o.no_context_takeover = 1; o.peer_no_context_takeover = 1;
    ws__cl(c)->deflate = o;
    n = ws__pmd_offer(c, buf, sizeof buf);
    CHECK_STR(buf, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10; "
              "server_max_window_bits=9; client_no_context_takeover; server_no_context_takeover\r\n");
    CHECK_EQ(ws__pmd_offer(c, buf, 20), 0);   /* no room: no offer rather than half of one */
    ws__cl(c)->deflate = off;
    CHECK_EQ(ws__pmd_offer(c, buf, sizeof buf), 0);
    ocn_end(ctx);
    o = df_on;
#define X "Sec-WebSocket-Extensions: "
    /* answers that open the connection: 1 = without compression, 2 = with */
    df_client_case(&o, "", 1);
    df_client_case(&o, X "permessage-deflate\r\n", 2);
    df_client_case(&o, X "permessage-deflate; server_no_context_takeover\r\n", 2);
    df_client_case(&o, X "permessage-deflate; client_no_context_takeover\r\n", 2);
    df_client_case(&o, X "permessage-deflate; server_max_window_bits=8\r\n", 2);
    df_client_case(&o, X "permessage-deflate; client_max_window_bits=8\r\n", 2);
    df_client_case(&o, X "Permessage-Deflate ; Client_Max_Window_Bits=\"9\"\r\n", 2);
    /* answers that fail it: not offered, twice, invalid or unknown parameters */
    df_client_case(&off, X "permessage-deflate\r\n", 0);
    df_client_case(&o, X "x-foo\r\n", 0);
    df_client_case(&o, X "permessage-deflate, permessage-deflate\r\n", 0);
    df_client_case(&o, X "permessage-deflate\r\n" X "permessage-deflate\r\n", 0);
    df_client_case(&o, X "permessage-deflate, x-foo\r\n", 0);
    df_client_case(&o, X "permessage-deflate; client_max_window_bits\r\n", 0);
    df_client_case(&o, X "permessage-deflate; server_max_window_bits=16\r\n", 0);
    df_client_case(&o, X "permessage-deflate; server_max_window_bits=\"\"\r\n", 0);
    df_client_case(&o, X "permessage-deflate; x=1\r\n", 0);
    df_client_case(&o, X "permessage-deflate; server_no_context_takeover; server_no_context_takeover\r\n", 0);
    /* what we asked for must be in the answer */
    o.peer_window_bits = 10;
    df_client_case(&o, X "permessage-deflate; server_max_window_bits=10\r\n", 2);
    df_client_case(&o, X "permessage-deflate; server_max_window_bits=9\r\n", 2);
    df_client_case(&o, X "permessage-deflate\r\n", 0);
    df_client_case(&o, X "permessage-deflate; server_max_window_bits=11\r\n", 0);
    o.peer_window_bits = 0;
    o.peer_no_context_takeover = 1;
    df_client_case(&o, X "permessage-deflate; server_no_context_takeover\r\n", 2);
    df_client_case(&o, X "permessage-deflate\r\n", 0);
#undef X
    /* what was agreed */
    {
        static const char res[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
            "client_max_window_bits=10; server_max_window_bits=12\r\n\r\n";
        o = df_on;
        o.window_bits = 12;
        ctx = ocn_ctx(NULL);
        c = df_client(ctx, &o);
        ocn_feed(c, (const uint8_t *)res, strlen(res), 0);
        CHECK_EQ(c->state, WS__OPEN);
        CHECK(c->pmd != NULL);
        if (c->pmd) {
            CHECK_EQ(c->pmd->d_bits, 10);
            CHECK_EQ(c->pmd->i_bits, 12);
            CHECK_EQ(c->pmd->i_reset, 1);
            CHECK_EQ(c->pmd->d_reset, 0);
        }
        CHECK_STR(ws_conn_extensions(c), "permessage-deflate; server_no_context_takeover; "
                  "client_max_window_bits=10; server_max_window_bits=12");
        ocn_end(ctx);
    }
}

/* ---- RFC 7692 7.2.3: the examples, received whole, byte by byte and split everywhere ---- */
typedef struct df_vec { const char *name; int nframes; uint8_t fin[2], rsv[2], op[2]; size_t len[2]; uint8_t p[2][16]; } df_vec;
static const df_vec df_vecs[] = {
    { "7.2.3.1 one frame", 1, {1}, {4}, {1}, {7}, {{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}} },
    { "7.2.3.1 two fragments", 2, {0, 1}, {4, 0}, {1, 0}, {3, 4},
      {{0xf2, 0x48, 0xcd}, {0xc9, 0xc9, 0x07, 0x00}} },
    { "7.2.3.3 stored block", 1, {1}, {4}, {1}, {11},
      {{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}} },
    { "7.2.3.4 BFINAL set", 1, {1}, {4}, {1}, {8}, {{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}} },
    { "7.2.3.5 two blocks", 1, {1}, {4}, {1}, {13},
      {{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}} },
};

static void test_deflate_rfc_examples(void) {
    size_t v;
    for (v = 0; v < sizeof df_vecs / sizeof df_vecs[0]; v++) {
        const df_vec *d = &df_vecs[v];
        int server;
        for (server = 0; server <= 1; server++) {
            uint8_t in[128];
            size_t n = 0;
            long mode;
            int i;
            for (i = 0; i < d->nframes; i++)
                n += cn_frame(in + n, d->fin[i], d->rsv[i], d->op[i], server, d->p[i], d->len[i]);
            /* the same message twice: with context takeover the second must still inflate */
            memcpy(in + n, in, n);
            n *= 2;
            for (mode = -1; mode < (long)n; mode++) {
                ws_ctx *ctx = ocn_ctx(NULL);
                ws_conn *c = df_open(ctx, server, 15, 15, 0, d == &df_vecs[3]);
                ocn_feed(c, in, n, mode);
                CHECK_EQ(cn_count(WS_EV_MESSAGE), 2);
                for (i = 0; i < 2; i++) {
                    const cn_ev *e = cn_find(WS_EV_MESSAGE, i);
                    CHECK(e && e->opcode == WS_OP_TEXT && e->len == 5 && memcmp(e->data, "Hello", 5) == 0);
                }
                CHECK_EQ(cn_count(WS_EV_ERROR), 0);
                CHECK(c->msg == NULL);
                if (t_bad) { printf("  (%s, server %d, split %ld)\n", d->name, server, mode); ocn_end(ctx); return; }
                ocn_end(ctx);
            }
        }
    }
    {   /* 7.2.3.2: the second "Hello" refers back to the first (context takeover) */
        static const uint8_t m1[] = { 0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };
        static const uint8_t m2[] = { 0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00 };
        ws_ctx *ctx = ocn_ctx(NULL);
        ws_conn *c = df_open(ctx, 0, 15, 15, 0, 0);
        ocn_feed(c, m1, sizeof m1, 0);
        ocn_feed(c, m2, sizeof m2, -1);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 2);
        CHECK(cn_evs[1].len == 5 && memcmp(cn_evs[1].data, "Hello", 5) == 0);
        ocn_end(ctx);
        /* and the peer that resets (server_no_context_takeover) may not refer back */
        ctx = ocn_ctx(NULL);
        c = df_open(ctx, 0, 15, 15, 0, 1);
        ocn_feed(c, m1, sizeof m1, 0);
        ocn_feed(c, m2, sizeof m2, 0);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
        CHECK_EQ(c->close_code, 1002);
        ocn_end(ctx);
    }
}

/* Our compressor produces the RFC's bytes: "Hello" = c1 07 f2 48 cd c9 c9 07 00, and with
 * context takeover the second "Hello" = c1 05 f2 00 11 00 00; without, the first bytes again. */
static void test_deflate_send_rfc_bytes(void) {
    static const uint8_t m1[] = { 0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };
    static const uint8_t m2[] = { 0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00 };
    int reset;
    for (reset = 0; reset <= 1; reset++) {
        ws_ctx *ctx = ocn_ctx(NULL);
        ws_conn *c = df_open(ctx, 1, 15, 15, reset, 0);
        CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "Hello", 5), WS_OK);
        CHECK_EQ(ocn_tx_used(c), sizeof m1);
        if (ocn_tx_used(c) == sizeof m1) CHECK_MEM(WS__BDATA(c->tx) + c->tx->off, m1, sizeof m1);
        ocn_tx_drain(c);
        CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "Hello", 5), WS_OK);
        if (reset) {
            CHECK_EQ(ocn_tx_used(c), sizeof m1);
            if (ocn_tx_used(c) == sizeof m1) CHECK_MEM(WS__BDATA(c->tx) + c->tx->off, m1, sizeof m1);
            CHECK(c->pmd->d_on == 0 && ctx->pmds && ctx->pmds->d_on);   /* the shared one */
        } else {
            CHECK_EQ(ocn_tx_used(c), sizeof m2);
            if (ocn_tx_used(c) == sizeof m2) CHECK_MEM(WS__BDATA(c->tx) + c->tx->off, m2, sizeof m2);
            CHECK(c->pmd->d_on == 1);
        }
        ocn_tx_drain(c);
        ocn_end(ctx);
    }
}

/* ---- RFC 7692 6.1: RSV1 only on the first frame of a data message ---- */
static void df_expect_close(int server, const uint8_t *in, size_t n, int code, int msgs) {
    ws_ctx *ctx = ocn_ctx(NULL);
    ws_conn *c = df_open(ctx, server, 15, 15, 0, 0);
    ocn_feed(c, in, n, 0);
    CHECK_EQ(ocn_pop_close(c, NULL), code);
    CHECK_EQ(cn_count(WS_EV_MESSAGE), msgs);
    CHECK_EQ(cn_count(WS_EV_ERROR), 1);
    CHECK(c->state != WS__OPEN);
    ocn_end(ctx);
}

static void test_deflate_rsv_rules(void) {
    uint8_t in[256], z[64];
    size_t n, zl = df_compress("Hello", 5, z, sizeof z, 15);
    /* RSV1 on a ping, on a pong, on a close, on a continuation; RSV2, RSV3 */
    n = cn_frame(in, 1, 4, WS_OP_PING, 1, "x", 1);
    df_expect_close(1, in, n, 1002, 0);
    n = cn_frame(in, 1, 4, WS_OP_PONG, 0, "x", 1);
    df_expect_close(0, in, n, 1002, 0);
    n = cn_frame(in, 1, 4, WS_OP_CLOSE, 0, "\x03\xe8", 2);
    df_expect_close(0, in, n, 1002, 0);
    n = cn_frame(in, 0, 4, WS_OP_TEXT, 1, z, 2);
    n += cn_frame(in + n, 1, 4, WS_OP_CONT, 1, z + 2, zl - 2);
    df_expect_close(1, in, n, 1002, 0);
    n = cn_frame(in, 1, 2, WS_OP_TEXT, 1, "a", 1);
    df_expect_close(1, in, n, 1002, 0);
    n = cn_frame(in, 1, 5, WS_OP_TEXT, 1, z, zl);
    df_expect_close(1, in, n, 1002, 0);
    /* RSV1 where nothing was agreed: as before, a protocol error */
    {
        ws_ctx *ctx = ocn_ctx(NULL);
        ws_conn *c = ocn_open(ctx, 1);
        n = cn_frame(in, 1, 4, WS_OP_TEXT, 1, z, zl);
        ocn_feed(c, in, n, 0);
        CHECK_EQ(ocn_pop_close(c, NULL), 1002);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 0);
        ocn_end(ctx);
    }
    /* without RSV1 a message is plain, even with the extension; a ping between the frames of
     * a compressed message is answered with a plain pong */
    {
        ws_ctx *ctx = ocn_ctx(NULL);
        ws_conn *c = df_open(ctx, 1, 15, 15, 0, 0);
        ws_frame f;
        uint8_t pl[16];
        size_t pn = 0;
        n = cn_frame(in, 1, 0, WS_OP_BINARY, 1, "plain", 5);
        n += cn_frame(in + n, 0, 4, WS_OP_TEXT, 1, z, 3);
        n += cn_frame(in + n, 1, 0, WS_OP_PING, 1, "pi", 2);
        n += cn_frame(in + n, 1, 0, WS_OP_CONT, 1, z + 3, zl - 3);
        ocn_feed(c, in, n, -1);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 2);
        CHECK(cn_find(WS_EV_MESSAGE, 0)->len == 5 && memcmp(cn_find(WS_EV_MESSAGE, 0)->data, "plain", 5) == 0 &&
              cn_find(WS_EV_MESSAGE, 0)->opcode == WS_OP_BINARY);
        CHECK(cn_find(WS_EV_MESSAGE, 1) && cn_find(WS_EV_MESSAGE, 1)->len == 5 &&
              memcmp(cn_find(WS_EV_MESSAGE, 1)->data, "Hello", 5) == 0);
        CHECK(ocn_pop(c, &f, pl, sizeof pl, &pn) && f.opcode == WS_OP_PONG && f.rsv == 0 && pn == 2);
        /* control frames we send are never compressed */
        CHECK_EQ(ws_conn_send(c, WS_OP_PING, "0123456789012345678901234567890123456789", 40), WS_OK);
        CHECK(ocn_pop(c, &f, pl, sizeof pl, &pn) && f.opcode == WS_OP_PING && f.rsv == 0 && pn == 40);
        CHECK_EQ(ws_conn_close(c, 1000, "bye bye bye bye bye bye bye bye bye bye"), WS_OK);
        CHECK(ocn_pop(c, &f, pl, sizeof pl, &pn) && f.opcode == WS_OP_CLOSE && f.rsv == 0);
        ocn_end(ctx);
    }
}

/* ---- bad data: corrupt DEFLATE (1002), invalid UTF-8 inside (1007), never delivered ---- */
static void test_deflate_corrupt(void) {
    static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x00 };
    uint8_t in[256], z[64];
    size_t n, zl;
    n = cn_frame(in, 1, 4, WS_OP_BINARY, 1, junk, sizeof junk);
    df_expect_close(1, in, n, 1002, 0);
    /* a reserved block type (BTYPE 11) */
    n = cn_frame(in, 1, 4, WS_OP_BINARY, 0, "\x07\x00", 2);
    df_expect_close(0, in, n, 1002, 0);
    /* a distance too far back for the data seen */
    n = cn_frame(in, 1, 4, WS_OP_BINARY, 0, "\xf2\x00\x11\x00\x00", 5);
    df_expect_close(0, in, n, 1002, 0);
    zl = df_compress("ok \xc3\x28 no", 8, z, sizeof z, 15);   /* invalid UTF-8 */
    n = cn_frame(in, 1, 4, WS_OP_TEXT, 1, z, zl);
    df_expect_close(1, in, n, 1007, 0);
    zl = df_compress("cut \xe2\x82", 6, z, sizeof z, 15);     /* ends inside a character */
    n = cn_frame(in, 1, 4, WS_OP_TEXT, 1, z, zl);
    df_expect_close(1, in, n, 1007, 0);
    zl = df_compress("\xc3\x28", 2, z, sizeof z, 15);         /* binary: not checked */
    n = cn_frame(in, 1, 4, WS_OP_BINARY, 1, z, zl);
    n += cn_frame(in + n, 1, 4, WS_OP_BINARY, 1, junk, sizeof junk);
    df_expect_close(1, in, n, 1002, 1);
}

/* ---- max_message bounds the inflated size, checked while inflating ---- */
static void test_deflate_bomb(void) {
    static uint8_t zeros[1 << 22], z[1 << 16], in[(1 << 16) + 14];
    size_t zl = df_compress(zeros, sizeof zeros, z, sizeof z, 15), n;
    int frags;
    CHECK(zl < 8192);   /* 4 MiB of zeros: a few KiB on the wire */
    for (frags = 0; frags <= 1; frags++) {
        ws_config cfg;
        ws_ctx *ctx;
        ws_conn *c;
        memset(&cfg, 0, sizeof cfg);
        cfg.max_message = 65536;
        cfg.fragments = frags;
        ctx = ocn_ctx(&cfg);
        c = df_open(ctx, 1, 15, 15, 0, 0);
        n = cn_frame(in, 1, 4, WS_OP_BINARY, 1, z, zl);
        ocn_feed(c, in, n, 0);
        CHECK_EQ(ocn_pop_close(c, NULL), 1009);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), frags);   /* fragment mode: one 64 KiB piece, no fin */
        if (frags) CHECK(cn_find(WS_EV_MESSAGE, 0)->len == 65536 && !cn_find(WS_EV_MESSAGE, 0)->fin);
        CHECK(c->pmd->rx_out <= 65536 + 1);      /* inflating stopped at the limit */
        CHECK(c->msg == NULL);
        ocn_end(ctx);
    }
    {   /* just under the limit is fine, exactly at it too */
        ws_config cfg;
        ws_ctx *ctx;
        ws_conn *c;
        memset(&cfg, 0, sizeof cfg);
        cfg.max_message = 65536;
        ctx = ocn_ctx(&cfg);
        c = df_open(ctx, 1, 15, 15, 0, 0);
        zl = df_compress(zeros, 65536, z, sizeof z, 15);
        n = cn_frame(in, 1, 4, WS_OP_BINARY, 1, z, zl);
        ocn_feed(c, in, n, 0);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
        CHECK_EQ(cn_find(WS_EV_MESSAGE, 0)->len, 65536);
        zl = df_compress(zeros, 65537, z, sizeof z, 15);
        n = cn_frame(in, 1, 4, WS_OP_BINARY, 1, z, zl);
        ocn_feed(c, in, n, 0);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
        CHECK_EQ(ocn_pop_close(c, NULL), 1009);
        ocn_end(ctx);
    }
    {   /* incompressible data at max_message: a little longer on the wire, still accepted */
        ws_config cfg;
        ws_ctx *ctx;
        ws_conn *c;
        size_t i;
        uint8_t *rnd = zeros;
        memset(&cfg, 0, sizeof cfg);
        cfg.max_message = 60000;
        ctx = ocn_ctx(&cfg);
        c = df_open(ctx, 1, 15, 15, 0, 0);
        for (i = 0; i < 60000; i++) rnd[i] = (uint8_t)t_rand();
        zl = df_compress(rnd, 60000, z, sizeof z, 15);
        CHECK(zl > 60000);
        n = cn_frame(in, 1, 4, WS_OP_BINARY, 1, z, zl);
        ocn_feed(c, in, n, 0);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
        CHECK(cn_find(WS_EV_MESSAGE, 0)->len == 60000 && cn_find(WS_EV_MESSAGE, 0)->sum == cn_fnv(rnd, 60000));
        ocn_end(ctx);
        memset(zeros, 0, sizeof zeros);
    }
}

/* ---- fragmented compressed messages received, both delivery modes ---- */
static void test_deflate_fragmented_rx(void) {
    static uint8_t msg[20000], z[24000], in[26000];
    size_t zl, i, n;
    int frags, server;
    for (i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)("{\"k\": \"value\", \"n\": 12345}\n"[i % 28]);
    zl = df_compress(msg, sizeof msg, z, sizeof z, 15);
    for (server = 0; server <= 1; server++) {
        for (frags = 0; frags <= 1; frags++) {
            size_t k, off = 0, total = 0;
            ws_config cfg;
            ws_ctx *ctx;
            ws_conn *c;
            int fins = 0, j;
            memset(&cfg, 0, sizeof cfg);
            cfg.fragments = frags;
            cfg.max_frame = 4096;   /* fragment mode: pieces of at most max_frame */
            ctx = ocn_ctx(&cfg);
            c = df_open(ctx, server, 15, 15, 0, 0);
            n = 0;
            for (k = 0; off < zl; k++) {   /* frames of 1, 2, 4, ... bytes */
                size_t len = WS__MIN((size_t)1 << k, zl - off);
                n += cn_frame(in + n, off + len == zl, k ? 0 : 4, k ? WS_OP_CONT : WS_OP_TEXT, server, z + off, len);
                off += len;
            }
            ocn_feed(c, in, n, frags ? -1 : 0);
            for (j = 0; j < cn_nev; j++) {
                if (cn_evs[j].type != WS_EV_MESSAGE) continue;
                CHECK_EQ(cn_evs[j].opcode, WS_OP_TEXT);
                CHECK(cn_evs[j].len <= (frags ? 4096 : sizeof msg));
                if (t_bad) printf("  len %u\n", (unsigned)cn_evs[j].len);
                if (cn_evs[j].len) CHECK_MEM(cn_evs[j].data, msg + total, WS__MIN(cn_evs[j].len, 512));
                total += cn_evs[j].len;
                fins += cn_evs[j].fin;
            }
            CHECK_EQ(total, sizeof msg);
            CHECK_EQ(fins, 1);
            CHECK(cn_last()->type == WS_EV_MESSAGE && cn_last()->fin);
            if (!frags) CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
            CHECK_EQ(cn_count(WS_EV_ERROR), 0);
            if (t_bad) printf("  (server %d, frags %d)\n", server, frags);
            ocn_end(ctx);
        }
    }
}

/* ---- the two engines talking: every setting, sizes 0/1/small/64 KiB, text and binary ---- */
static void df_pump(ws_conn *from, ws_conn *to) {   /* what from queued, into to */
    if (!from->tx || !ws__buf_used(from->tx)) return;
    ocn_feed(to, WS__BDATA(from->tx) + from->tx->off, ws__buf_used(from->tx), 0);
    ocn_tx_drain(from);
}

static void test_deflate_roundtrip(void) {
    static uint8_t big[65536 + 2];
    static const size_t sizes[] = { 0, 1, 5, 63, 64, 1000, 65536 };
    static const int setups[][5] = {   /* client d_bits, server d_bits, client reset, server reset, threshold */
        { 15, 15, 0, 0, -1 }, { 9, 9, 0, 0, -1 }, { 15, 10, 1, 0, -1 }, { 12, 15, 0, 1, -1 },
        { 9, 9, 1, 1, -1 }, { 15, 15, 0, 0, 0 }, { 15, 15, 0, 0, 1000 },
    };
    size_t s, i;
    for (i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i % 251 < 128 ? 'a' + i % 26 : 'A' + (i >> 8) % 26);
    for (s = 0; s < sizeof setups / sizeof setups[0]; s++) {
        const int *u = setups[s];
        ws_deflate_opts o = df_on;
        ws_ctx *ctx = ocn_ctx(NULL);
        ws_conn *cl, *sv;
        int round, mem;
        o.threshold = u[4];
        mem = 1 + (int)s % 9;
        o.mem_level = mem;
        cl = ocn_open(ctx, 0);
        sv = ocn_open(ctx, 1);
        CHECK(ws__pmd_new(cl, &o, u[0], u[1], u[2], u[3]) != NULL);
        CHECK(ws__pmd_new(sv, &o, u[1], u[0], u[3], u[2]) != NULL);
        for (round = 0; round < 2; round++) {
            for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                int dir;
                for (dir = 0; dir <= 1; dir++) {
                    ws_conn *a = dir ? sv : cl, *b = dir ? cl : sv;
                    int op = (i & 1) ? WS_OP_BINARY : WS_OP_TEXT;
                    size_t thr = u[4] < 0 ? 0 : u[4] ? (size_t)u[4] : 64;
                    ws_frame f;
                    int before = cn_count(WS_EV_MESSAGE);
                    const cn_ev *e;
                    CHECK_EQ(ws_conn_send(a, op, big + round, sizes[i]), WS_OK);
                    if (t_bad) { printf("  (%s / %s)\n", ws__err_msg(a), ws__err_msg(b)); ocn_end(ctx); return; }
                    CHECK(a->tx && ws_frame_parse(WS__BDATA(a->tx) + a->tx->off, ws__buf_used(a->tx),
                                                  WS_PARSE_RSV_MASK, &f, NULL, NULL) == WS_OK);
                    CHECK_EQ(f.rsv, sizes[i] >= thr ? 4 : 0);
                    if (sizes[i] >= 1000 && sizes[i] >= thr) CHECK(f.payload_len < sizes[i] / 2);
                    df_pump(a, b);
                    CHECK_EQ(cn_count(WS_EV_MESSAGE), before + 1);
                    e = cn_last();
                    CHECK(e->type == WS_EV_MESSAGE && e->conn == b && e->opcode == op && e->len == sizes[i]);
                    if (sizes[i]) CHECK(e->sum == cn_fnv(big + round, sizes[i]));
                    /* one uncompressed on request, in between */
                    CHECK_EQ(ws_conn_send(a, op | WS_SEND_UNCOMPRESSED, big, 100), WS_OK);
                    CHECK(ws_frame_parse(WS__BDATA(a->tx) + a->tx->off, ws__buf_used(a->tx),
                                         WS_PARSE_RSV_MASK, &f, NULL, NULL) == WS_OK && f.rsv == 0);
                    df_pump(a, b);
                    CHECK(cn_last()->len == 100 && cn_last()->sum == cn_fnv(big, 100));
                }
                if (cn_nev > CN_MAX_EV - 8) cn_nev = 0;
            }
        }
        /* no context takeover: nothing kept between messages */
        if (u[2]) CHECK(!cl->pmd->d_on && !sv->pmd->i_on);
        if (u[3]) CHECK(!sv->pmd->d_on && !cl->pmd->i_on);
        CHECK_EQ(cn_count(WS_EV_ERROR), 0);
        if (t_bad) { printf("  (setup %u)\n", (unsigned)s); ocn_end(ctx); return; }
        ocn_end(ctx);
    }
}

/* A compressed message sent in fragments by hand (ws_conn_send_frame): RSV1 on the first. */
static void test_deflate_fragmented_tx(void) {
    static uint8_t msg[5000], z[6000];
    size_t zl, i, off = 0;
    ws_ctx *ctx = ocn_ctx(NULL);
    ws_conn *cl = df_open(ctx, 0, 15, 15, 0, 0), *sv = df_open(ctx, 1, 15, 15, 0, 0);
    for (i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)('a' + i % 7);
    zl = df_compress(msg, sizeof msg, z, sizeof z, 15);
    while (off < zl) {
        size_t len = WS__MIN((size_t)7, zl - off);
        CHECK_EQ(ws_conn_send_frame(cl, off + len == zl, off ? 0 : WS_RSV1, off ? WS_OP_CONT : WS_OP_BINARY,
                                    z + off, len), WS_OK);
        off += len;
    }
    df_pump(cl, sv);
    CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
    CHECK(cn_last()->len == sizeof msg && cn_last()->sum == cn_fnv(msg, sizeof msg));
    ocn_end(ctx);
}

/* Sending respects max_send_queue before compressing (the compressor's context must only
 * see what the peer will see). */
static void test_deflate_send_queue(void) {
    static uint8_t big[40000];
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *c;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_send_queue = 30000;
    ctx = ocn_ctx(&cfg);
    c = df_open(ctx, 1, 15, 15, 0, 0);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, sizeof big), WS_ERR_FULL);   /* refused before deflate */
    CHECK(!c->pmd->d_on);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 20000), WS_OK);
    CHECK(ocn_tx_used(c) < 1000);
    CHECK(ws_conn_state(c) == WS_STATE_OPEN);
    ocn_end(ctx);
}

/* ---- over real sockets: ws_connect and ws_listen negotiate, then messages both ways ---- */
typedef struct df_lb { int opened, msgs, closes; size_t bytes; uint32_t sum; char ext[160]; } df_lb;
static void df_lb_event(ws_conn *c, const ws_event *ev, void *user) {
    df_lb *s = (df_lb *)user;
    if (ev->type == WS_EV_OPEN && !ws_conn_is_server(c)) {
        s->opened++;
        strncpy(s->ext, ws_conn_extensions(c), sizeof s->ext - 1);
    }
    if (ev->type == WS_EV_MESSAGE) {
        if (ws_conn_is_server(c)) (void)ws_conn_send(c, ev->opcode, ev->data, ev->len);   /* echo */
        else { s->msgs++; s->bytes += ev->len; s->sum ^= cn_fnv(ev->data, ev->len); }
    }
    if (ev->type == WS_EV_CLOSE) s->closes++;
}
static void test_deflate_loopback(void) {
    static uint8_t big[1 << 20];
    ws_config cfg;
    ws_connect_opts co;
    ws_deflate_opts cd = df_on;
    ws_ctx *ctx;
    ws_listener *l = NULL;
    ws_conn *c = NULL;
    df_lb st;
    uint32_t want = 0;
    size_t i, wbytes = 0;
    int64_t end;
    memset(&st, 0, sizeof st);
    memset(&cfg, 0, sizeof cfg);
    memset(&co, 0, sizeof co);
    for (i = 0; i < sizeof big; i++) big[i] = (uint8_t)((unsigned char)"the quick brown fox "[i % 20] ^ (i >> 12));
    cfg.on_event = df_lb_event;
    cfg.user = &st;
    cfg.deflate = df_on;
    cfg.deflate.no_context_takeover = 1;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(ws_listen(ctx, "127.0.0.1", 0, &l), WS_OK);
    cd.window_bits = 10;
    cd.peer_window_bits = 11;
    co.deflate = &cd;
    if (l) {
        char url[64];
        snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)ws_listener_port(l));
        CHECK_EQ(ws_connect_blocking(ctx, url, &co, NULL, 5000, &c), WS_OK);
    }
    CHECK_STR(st.ext, "permessage-deflate; server_no_context_takeover; server_max_window_bits=11; "
              "client_max_window_bits=10");
    if (c) {
        static const size_t sizes[] = { 0, 1, 100, 65536, sizeof big };
        for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            CHECK_EQ(ws_conn_send(c, (i & 1) ? WS_OP_TEXT : WS_OP_BINARY, big, sizes[i]), WS_OK);
            want ^= cn_fnv(big, sizes[i]);
            wbytes += sizes[i];
        }
        end = ws__now_ms() + 10000;
        while (st.msgs < 5 && ws__now_ms() < end) ws_poll(ctx, 50);
        CHECK_EQ(st.msgs, 5);
        CHECK_EQ(st.bytes, wbytes);
        CHECK_EQ(st.sum, want);
    }
    ws_ctx_destroy(ctx);
    CHECK_EQ(st.closes, 2);
}

/* ---- the public sans-I/O engine: a pair negotiates and compresses through memory ---- */
typedef struct df_eng { int msgs; size_t len; uint32_t sum; } df_eng;
static void df_eng_event(ws_conn *c, const ws_event *ev, void *user) {
    df_eng *e = (df_eng *)user;
    (void)c;
    if (ev->type == WS_EV_MESSAGE) { e->msgs++; e->len = ev->len; e->sum = cn_fnv(ev->data, ev->len); }
}
static void test_deflate_engine_pair(void) {
    static uint8_t msg[100000];
    ws_config cc, sc;
    df_eng ce, se;
    ws_conn *cl = NULL, *sv = NULL;
    size_t i, moved;
    int on;
    for (i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)("{\"id\": 1, \"name\": \"x\"}, "[i % 24]);
    for (on = 0; on <= 1; on++) {
        memset(&cc, 0, sizeof cc); memset(&sc, 0, sizeof sc);
        memset(&ce, 0, sizeof ce); memset(&se, 0, sizeof se);
        cc.on_event = sc.on_event = df_eng_event;
        cc.user = &ce; sc.user = &se;
        cc.deflate.enable = on;
        sc.deflate.enable = 1;
        CHECK_EQ(ws_engine_pair(&cc, &sc, &cl, &sv), WS_OK);
        if (!cl || !sv) return;
        (void)ws_engine_pump(cl, sv, 0);
        CHECK_STR(ws_conn_extensions(cl), on ? "permessage-deflate" : "");
        CHECK_STR(ws_conn_extensions(sv), on ? "permessage-deflate" : "");
        CHECK_EQ(ws_conn_send(cl, WS_OP_TEXT, msg, sizeof msg), WS_OK);
        moved = ws_engine_pump(cl, sv, 0);
        CHECK(on ? moved < sizeof msg / 20 : moved > sizeof msg);
        CHECK(se.msgs == 1 && se.len == sizeof msg && se.sum == cn_fnv(msg, sizeof msg));
        CHECK_EQ(ws_conn_send(sv, WS_OP_BINARY, msg, sizeof msg), WS_OK);
        (void)ws_engine_pump(cl, sv, 0);
        CHECK(ce.msgs == 1 && ce.len == sizeof msg && ce.sum == cn_fnv(msg, sizeof msg));
        ws_engine_destroy(cl);
        ws_engine_destroy(sv);
    }
}

static void suite_deflate(void) {
    RUN(test_deflate_parse);
    RUN(test_deflate_server_negotiation);
    RUN(test_deflate_window8_uncompressed);
    RUN(test_deflate_client_negotiation);
    RUN(test_deflate_rfc_examples);
    RUN(test_deflate_send_rfc_bytes);
    RUN(test_deflate_rsv_rules);
    RUN(test_deflate_corrupt);
    RUN(test_deflate_bomb);
    RUN(test_deflate_fragmented_rx);
    RUN(test_deflate_roundtrip);
    RUN(test_deflate_fragmented_tx);
    RUN(test_deflate_send_queue);
    RUN(test_deflate_loopback);
    RUN(test_deflate_engine_pair);
}
