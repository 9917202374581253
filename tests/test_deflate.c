/* test_deflate.c - permessage-deflate (RFC 7692), built only with -DWS_USE_ZLIB (make test-zlib),
 * through the public engine as test_conn.c tests the other rules (its cn_* helpers: each
 * scenario fed whole, byte by byte and split at every offset, the event sequences compared):
 * negotiation on both sides (every parameter, several offers, what must be declined or must
 * fail), streams upgraded elsewhere with agreed parameters (ws_engine_opts.extensions, also
 * through ws_conn_adopt), the RFC 7692 7.2.3 examples, the agreed window sizes both ways, the
 * RSV1 rules, corrupt data, an inflation bomb against max_message, fragmented compressed
 * messages both ways, context takeover kept and reset, the send threshold and
 * WS_SEND_UNCOMPRESSED, an engine pair in every setting, and a round trip over 127.0.0.1.
 * Peers are either a second engine or zlib itself (df_compress, df_inflate). One test reads
 * internals (test_deflate_streams): which zlib streams a connection keeps shows only in memory. */
#include <zlib.h>

static const ws_deflate_opts df_on = { 1, 0, 0, 0, 0, 0, -1 };   /* everything compressed */
#define DF_X "Sec-WebSocket-Extensions: "

/* ---- zlib as the peer ---- */
/* A reference compressor: raw DEFLATE with a window of 2^bits, sync flush, the 00 00 ff ff tail
 * taken off (7.2.1). With s (deflateInit2'ed by df_zinit) the context is kept between calls. */
static void df_zinit(z_stream *s, int bits) {
    memset(s, 0, sizeof *s);
    CHECK_EQ(deflateInit2(s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
}
static size_t df_zmsg(z_stream *s, const void *in, size_t n, uint8_t *out, size_t cap) {
    size_t len;
    s->next_in = (Bytef *)(uintptr_t)in;
    s->avail_in = (uInt)n;
    s->next_out = out;
    s->avail_out = (uInt)cap;
    CHECK_EQ(deflate(s, Z_SYNC_FLUSH), Z_OK);
    CHECK(s->avail_out > 0 && s->avail_in == 0);
    len = cap - s->avail_out;
    CHECK(len >= 4 && memcmp(out + len - 4, "\0\0\xff\xff", 4) == 0);
    return len - 4;
}
static size_t df_compress(const void *in, size_t n, uint8_t *out, size_t cap, int bits) {
    z_stream s;
    size_t len;
    df_zinit(&s, bits);
    len = df_zmsg(&s, in, n, out, cap);
    deflateEnd(&s);
    return len;
}
/* Inflates one message as a peer with a window of exactly 2^bits: one output byte per call, so
 * zlib must take every back-reference from its window (a larger output buffer would let it
 * reach further back). The length, or -1 if zlib refuses the data. */
static long df_inflate(const uint8_t *p, size_t n, int bits, uint8_t *out, size_t cap) {
    static const uint8_t tail[4] = { 0, 0, 0xff, 0xff };
    z_stream s;
    size_t got = 0;
    int pass, zr = Z_OK;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -bits) != Z_OK) return -1;
    for (pass = 0; pass < 2 && zr == Z_OK; pass++) {
        s.next_in = (Bytef *)(uintptr_t)(pass ? tail : p);
        s.avail_in = (uInt)(pass ? 4 : n);
        while (got < cap) {
            s.next_out = out + got;
            s.avail_out = 1;
            zr = inflate(&s, Z_SYNC_FLUSH);
            got += 1 - s.avail_out;
            if (zr == Z_BUF_ERROR) { zr = Z_OK; break; }   /* all input taken, all output out */
            if (zr != Z_OK) break;                          /* the end (BFINAL), or bad data */
        }
    }
    inflateEnd(&s);
    return zr == Z_OK || zr == Z_STREAM_END ? (long)got : -1;
}

/* n pseudo-random bytes, then the same again: compresses only by a reference n bytes back. */
static void df_twice(uint8_t *p, size_t n) {
    size_t i;
    unsigned long long st = 0x12345678ull;
    for (i = 0; i < n; i++) { st = st * 6364136223846793005ull + 1442695040888963407ull; p[i] = (uint8_t)(st >> 33); }
    memcpy(p + n, p, n);
}

/* ---- engines for the scenarios (test_conn.c's cn_begin / cn_make / cn_feed / cn_end) ---- */
/* A ws_config whose engines compress every message (df_on). */
static void df_cfg(ws_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->deflate = df_on;
}
static void df_begin(void) {
    ws_config cfg;
    df_cfg(&cfg);
    cn_begin(&cfg);
}
/* An open engine of the scenario whose upgrade, done elsewhere, agreed on ext. */
static ws_conn *df_open(int server, const char *ext) {
    ws_engine_opts o;
    ws_conn *c;
    memset(&o, 0, sizeof o);
    o.server = server;
    o.upgraded = 1;
    o.extensions = ext;
    c = cn_make(&o);
    if (c) CHECK_STR(ws_conn_extensions(c), ext);
    return c;
}
/* What from has to send, fed to to (the run's way). */
static void df_move(ws_conn *from, ws_conn *to) {
    const uint8_t *p;
    size_t n = ws_engine_output(from, &p);
    uint8_t *copy = n ? (uint8_t *)malloc(n) : NULL;
    if (!n || !copy) return;
    memcpy(copy, p, n);
    ws_engine_consume(from, n);
    cn_feed(to, copy, n);
    free(copy);
}
/* The header of the first frame c has to send (any RSV bits). */
static int df_peek(const ws_conn *c, ws_frame *f) {
    const uint8_t *p;
    size_t n = ws_engine_output(c, &p);
    return n && ws_frame_parse(p, n, WS_PARSE_RSV_MASK, f, NULL, NULL) == WS_OK;
}

/* ---- negotiation: one parameter list as an offer (server), as an answer (client) and as an
 * agreement made elsewhere (ws_engine_opts.extensions) ---- */
static const struct { const char *p, *answer; int ok; } df_params[] = {
    /* p: the parameters after "permessage-deflate"; answer: the server's answer to them as an
     * offer (NULL = declined); ok: 1 = valid as an answer / agreement */
    { "", "permessage-deflate", 1 },
    { "; client_max_window_bits", "permessage-deflate", 0 },   /* a value is required in an answer */
    { ";client_max_window_bits=10", "permessage-deflate; client_max_window_bits=10", 1 },
    { " ; server_max_window_bits = 8 ; client_no_context_takeover",
      "permessage-deflate; client_no_context_takeover; server_max_window_bits=8", 1 },
    { "; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; "
      "client_max_window_bits=9", "permessage-deflate; server_no_context_takeover; "
      "client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=9", 1 },
    { "; server_max_window_bits=\"12\"", "permessage-deflate; server_max_window_bits=12", 1 },
    { "; Server_No_Context_Takeover", "permessage-deflate; server_no_context_takeover", 1 },
    { "; server_max_window_bits", NULL, 0 },                  /* ... and always for the server's */
    { "; server_max_window_bits=7", NULL, 0 },
    { "; server_max_window_bits=16", NULL, 0 },
    { "; server_max_window_bits=08", NULL, 0 },
    { "; server_max_window_bits=1x", NULL, 0 },
    { "; server_max_window_bits=\"1 2\"", NULL, 0 },
    { "; server_max_window_bits=\"12", NULL, 0 },
    { "; server_max_window_bits=\"\"", NULL, 0 },
    { "; server_max_window_bits=", NULL, 0 },
    { "; client_no_context_takeover=1", NULL, 0 },           /* no value allowed */
    { "; server_no_context_takeover=yes", NULL, 0 },
    { "; client_no_context_takeover; client_no_context_takeover", NULL, 0 },   /* repeated */
    { "; server_no_context_takeover; server_no_context_takeover", NULL, 0 },
    { "; client_max_window_bits=10; client_max_window_bits", NULL, 0 },
    { "; x_unknown", NULL, 0 },
    { "; x=1", NULL, 0 },
    { ";", NULL, 0 },
    { " junk", NULL, 0 },
};

/* A server engine (deflate settings o) reads an upgrade request with these extension header
 * lines; want = the extension it must answer, NULL = none. */
static void df_server_case(const ws_deflate_opts *o, const char *ext_headers, const char *want) {
    char req[1024], out[1024], line[256];
    ws_config cfg;
    ws_conn *c;
    ws_http_response res;
    size_t used = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.deflate = *o;
    cn_begin(&cfg);
    c = cn_server_hs();
    snprintf(req, sizeof req, "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n%s\r\n", ext_headers);
    cn_feed(c, (const uint8_t *)req, strlen(req));
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    cn_tx_str(c, out, sizeof out);
    CHECK_EQ(ws_http_parse_response(out, strlen(out), 8192, &res, &used, NULL), WS_OK);
    CHECK(res.status == 101 && used == strlen(out));   /* one head, nothing after it */
    CHECK_EQ(ws_http_header(res.headers, res.num_headers, "Sec-WebSocket-Extensions", NULL), want ? 1 : 0);
    if (want) {
        snprintf(line, sizeof line, "\r\n" DF_X "%s\r\n", want);
        CHECK(strstr(out, line) != NULL);
    }
    CHECK_STR(ws_conn_extensions(c), want ? want : "");
    if (t_bad) printf("  (offer \"%s\", answer \"%s\")\n", ext_headers, out);
    cn_end();
}

/* A client engine (deflate settings o, through ws_connect_opts.deflate) gets a 101 with these
 * extension header lines. ok: 0 = the handshake fails, 1 = open without compression, 2 = with. */
static void df_client_case(const ws_deflate_opts *o, const char *ext_headers, int ok) {
    char in[1024], key[25];
    ws_config cfg;
    ws_conn *c;
    size_t n;
    memset(&cfg, 0, sizeof cfg);
    cfg.deflate = *o;   /* a client without its own ws_connect_opts.deflate takes the cfg's */
    cn_begin(&cfg);
    c = cn_client_hs(NULL, key);
    n = cn_101(in, sizeof in - 512, key, NULL) - 2;   /* the extension lines before the end */
    n += (size_t)snprintf(in + n, 512, "%s\r\n", ext_headers);
    cn_feed(c, (const uint8_t *)in, n);
    if (ok) {
        CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
        CHECK_EQ(cn_count(WS_EV_OPEN), 1);
        CHECK_EQ(ok == 2, ws_conn_extensions(c)[0] != '\0');
    } else {
        CHECK(ws_conn_state(c) != WS_STATE_OPEN);
        CHECK_EQ(cn_count(WS_EV_OPEN), 0);
        CHECK(cn_find(WS_EV_ERROR, 0) && cn_find(WS_EV_ERROR, 0)->result == WS_ERR_HANDSHAKE);
        CHECK_STR(ws_conn_extensions(c), "");
    }
    if (t_bad) printf("  (answer \"%s\")\n", ext_headers);
    cn_end();
}

static void df_params_scenario(void) {
    size_t i;
    for (i = 0; i < sizeof df_params / sizeof df_params[0] && !t_bad; i++) {
        char h[256], ext[200];
        ws_engine_opts o;
        ws_conn *c = NULL;
        ws_result rc;
        snprintf(ext, sizeof ext, "permessage-deflate%s", df_params[i].p);
        snprintf(h, sizeof h, DF_X "%s\r\n", ext);
        df_server_case(&df_on, h, df_params[i].answer);
        df_client_case(&df_on, h, df_params[i].ok ? 2 : 0);
        if (t_bad) printf("  (parameters \"%s\")\n", df_params[i].p);
        df_begin();   /* the same as an agreement made elsewhere */
        memset(&o, 0, sizeof o);
        o.upgraded = 1;
        o.extensions = ext;
        o.server = (int)i & 1;
        rc = ws_engine_create(&cn_cfg, &o, NULL, &c);
        CHECK_EQ(rc, df_params[i].ok ? WS_OK : WS_ERR_ARG);
        if (c) CHECK_STR(ws_conn_extensions(c), ext);
        else CHECK_EQ(df_params[i].ok, 0);
        ws_engine_destroy(c);
        if (t_bad) printf("  (agreed \"%s\")\n", ext);
        cn_end();
    }
}
static void test_deflate_params(void) { cn_ways(df_params_scenario); }

static void df_server_scenario(void) {
    static const struct { int wb, pwb, nct, off; const char *offer, *want; } v[] = {
        /* several offers: the first acceptable one wins; unknown extensions are ignored */
        { 0, 0, 0, 0, DF_X "x-webkit-deflate-frame, permessage-deflate; foo, permessage-deflate; "
          "server_max_window_bits=11, permessage-deflate\r\n", "permessage-deflate; server_max_window_bits=11" },
        { 0, 0, 0, 0, DF_X "foo\r\n" DF_X "permessage-deflate; client_max_window_bits=9\r\n",
          "permessage-deflate; client_max_window_bits=9" },
        { 0, 0, 0, 0, DF_X "permessage-deflate; a=\"x,y\", permessage-deflate\r\n", "permessage-deflate" },
        { 0, 0, 0, 0, DF_X "deflate-frame\r\n", NULL },
        { 0, 0, 0, 0, "", NULL },
        { 0, 0, 0, 1, DF_X "permessage-deflate\r\n", NULL },   /* not enabled */
        /* our own limits */
        { 11, 0, 0, 0, DF_X "permessage-deflate\r\n", "permessage-deflate; server_max_window_bits=11" },
        { 11, 0, 0, 0, DF_X "permessage-deflate; server_max_window_bits=9\r\n",
          "permessage-deflate; server_max_window_bits=9" },
        { 0, 10, 0, 0, DF_X "permessage-deflate\r\n", NULL },   /* cannot limit the client: declined */
        { 0, 10, 0, 0, DF_X "permessage-deflate; client_max_window_bits\r\n",
          "permessage-deflate; client_max_window_bits=10" },
        { 0, 10, 0, 0, DF_X "permessage-deflate; client_max_window_bits=12\r\n",
          "permessage-deflate; client_max_window_bits=10" },
        { 0, 10, 0, 0, DF_X "permessage-deflate; client_max_window_bits=9\r\n",
          "permessage-deflate; client_max_window_bits=9" },
        { 0, 0, 1, 0, DF_X "permessage-deflate\r\n",
          "permessage-deflate; server_no_context_takeover; client_no_context_takeover" },
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0] && !t_bad; i++) {
        ws_deflate_opts o = df_on;
        o.enable = !v[i].off;
        o.window_bits = v[i].wb;
        o.peer_window_bits = v[i].pwb;
        o.no_context_takeover = o.peer_no_context_takeover = v[i].nct;
        df_server_case(&o, v[i].offer, v[i].want);
    }
}
static void test_deflate_server_negotiation(void) { cn_ways(df_server_scenario); }

/* The client's offer: what ws_connect_opts.deflate (or else cfg.deflate) asks for. */
static void test_deflate_client_offer(void) {
    static const struct { int cfg_on, own, wb, pwb, nct; const char *want; } v[] = {
        { 1, 0, 0, 0, 0, "permessage-deflate; client_max_window_bits" },
        { 0, 1, 0, 0, 0, "permessage-deflate; client_max_window_bits" },   /* its own */
        { 1, 1, 10, 9, 1, "permessage-deflate; client_max_window_bits=10; server_max_window_bits=9; "
          "client_no_context_takeover; server_no_context_takeover" },
        { 0, 0, 0, 0, 0, NULL },
        { 1, -1, 0, 0, 0, NULL },   /* its own says off: no offer */
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        ws_config cfg;
        ws_engine_opts o;
        ws_connect_opts co;
        ws_deflate_opts d = df_on;
        ws_http_request req;
        ws_span k;
        const uint8_t *p;
        size_t n, used = 0;
        ws_conn *c;
        memset(&cfg, 0, sizeof cfg);
        if (v[i].cfg_on) cfg.deflate = df_on;
        cn_begin(&cfg);
        memset(&o, 0, sizeof o);
        memset(&co, 0, sizeof co);
        d.enable = v[i].own > 0;
        d.window_bits = v[i].wb;
        d.peer_window_bits = v[i].pwb;
        d.no_context_takeover = d.peer_no_context_takeover = v[i].nct;
        if (v[i].own) co.deflate = &d;
        o.connect = &co;
        c = cn_make(&o);
        n = ws_engine_output(c, &p);
        CHECK_EQ(ws_http_parse_request((const char *)p, n, 8192, &req, &used, NULL), WS_OK);
        CHECK_EQ(used, n);
        CHECK_EQ(ws_http_header(req.headers, req.num_headers, "Sec-WebSocket-Extensions", &k), v[i].want ? 1 : 0);
        if (v[i].want) CHECK(k.len == strlen(v[i].want) && memcmp(k.ptr, v[i].want, k.len) == 0);
        /* internal: the request buffer always has room, so only a direct call shows that an
         * offer that does not fit is left out whole */
        {
            char buf[32];
            CHECK_EQ(ws__pmd_offer(c, buf, 20), 0);
        }
        if (t_bad) { printf("  (case %u)\n", (unsigned)i); cn_end(); return; }
        cn_end();
    }
}

/* The server's answer as the client checks it (7.1: anything not offered fails). */
static void df_client_scenario(void) {
    ws_deflate_opts o = df_on, off;
    memset(&off, 0, sizeof off);
    df_client_case(&o, "", 1);   /* declined: open, uncompressed */
    df_client_case(&o, DF_X "permessage-deflate\r\n", 2);
    df_client_case(&o, DF_X "permessage-deflate; server_no_context_takeover\r\n", 2);
    df_client_case(&o, DF_X "permessage-deflate; client_no_context_takeover\r\n", 2);
    df_client_case(&o, DF_X "permessage-deflate; server_max_window_bits=8\r\n", 2);
    df_client_case(&o, DF_X "permessage-deflate; client_max_window_bits=8\r\n", 2);
    df_client_case(&o, DF_X "Permessage-Deflate ; Client_Max_Window_Bits=\"9\"\r\n", 2);
    /* not offered, twice, another extension */
    df_client_case(&off, DF_X "permessage-deflate\r\n", 0);
    df_client_case(&o, DF_X "x-foo\r\n", 0);
    df_client_case(&o, DF_X "permessage-deflate, permessage-deflate\r\n", 0);
    df_client_case(&o, DF_X "permessage-deflate\r\n" DF_X "permessage-deflate\r\n", 0);
    df_client_case(&o, DF_X "permessage-deflate, x-foo\r\n", 0);
    /* what we asked for must be in the answer */
    o.peer_window_bits = 10;
    df_client_case(&o, DF_X "permessage-deflate; server_max_window_bits=10\r\n", 2);
    df_client_case(&o, DF_X "permessage-deflate; server_max_window_bits=9\r\n", 2);
    df_client_case(&o, DF_X "permessage-deflate\r\n", 0);
    df_client_case(&o, DF_X "permessage-deflate; server_max_window_bits=11\r\n", 0);
    o.peer_window_bits = 0;
    o.peer_no_context_takeover = 1;
    df_client_case(&o, DF_X "permessage-deflate; server_no_context_takeover\r\n", 2);
    df_client_case(&o, DF_X "permessage-deflate\r\n", 0);
}
static void test_deflate_client_negotiation(void) { cn_ways(df_client_scenario); }

/* What a client does with what the server answered: compresses within client_max_window_bits
 * (checked by zlib with exactly that window), keeps its context (a second "Hello" is a
 * reference back), and refuses a reference back from a server that agreed to reset. */
static void df_client_agreed(void) {
    static const uint8_t m1[] = { 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };
    static const uint8_t m2[] = { 0xf2, 0x00, 0x11, 0x00, 0x00 };
    static uint8_t msg[2 * 3000], out[2 * 3000], z[8000];
    char in[1024], key[25];
    ws_frame f;
    ws_conn *c;
    size_t n;
    int k;
    df_twice(msg, 3000);
    df_begin();
    c = cn_client_hs(NULL, key);
    n = cn_101(in, sizeof in - 256, key, NULL) - 2;
    n += (size_t)snprintf(in + n, 256, DF_X "permessage-deflate; server_no_context_takeover; "
                          "client_max_window_bits=10; server_max_window_bits=12\r\n\r\n");
    cn_feed(c, (const uint8_t *)in, n);
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    CHECK_STR(ws_conn_extensions(c), "permessage-deflate; server_no_context_takeover; "
              "client_max_window_bits=10; server_max_window_bits=12");
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, msg, sizeof msg), WS_OK);
    CHECK(cn_pop(c, &f, z, sizeof z, &n) && f.rsv == WS_RSV1);
    CHECK(df_inflate(z, n, 10, out, sizeof out) == (long)sizeof msg && memcmp(out, msg, sizeof msg) == 0);
    for (k = 0; k < 2; k++) {
        CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "Hello", 5), WS_OK);
        CHECK(cn_pop(c, &f, z, sizeof z, &n) && f.rsv == WS_RSV1);
        if (k) CHECK(n < sizeof m1);   /* a reference back: the context was kept */
        else CHECK(n > 0 && n <= sizeof m1);
    }
    n = cn_frame((uint8_t *)in, 1, 4, WS_OP_TEXT, 0, m1, sizeof m1);
    n += cn_frame((uint8_t *)in + n, 1, 4, WS_OP_TEXT, 0, m2, sizeof m2);
    cn_check_fail(c, (const uint8_t *)in, n, 1002, WS_ERR_PROTOCOL, 1);
}
static void test_deflate_client_agreed(void) { cn_ways(df_client_agreed); }

/* ws_engine_opts.extensions: what may be given, and that it is ignored before an upgrade. */
static void test_deflate_agreed_opts(void) {
    static const char *bad[] = { "x-foo", "permessage-deflate, permessage-deflate", "permessage-deflate, x-foo",
                                 "x-foo, permessage-deflate", "permessage-deflate; foo" };
    ws_engine_opts o;
    ws_conn *c;
    size_t i;
    df_begin();
    memset(&o, 0, sizeof o);
    o.upgraded = 1;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = (ws_conn *)&o;
        o.extensions = bad[i];
        CHECK_EQ(ws_engine_create(&cn_cfg, &o, NULL, &c), WS_ERR_ARG);
        CHECK(c == NULL);
    }
    o.extensions = "";        /* nothing agreed, as NULL */
    c = cn_make(&o);
    CHECK_STR(ws_conn_extensions(c), "");
    o.extensions = " permessage-deflate ";
    c = cn_make(&o);
    CHECK_STR(ws_conn_extensions(c), "permessage-deflate");
    o.upgraded = 0;           /* only for upgraded streams: a server negotiates as usual */
    o.server = 1;
    o.extensions = "x-foo";
    c = cn_make(&o);
    cn_feed(c, (const uint8_t *)cn_req, sizeof cn_req - 1);
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    CHECK_STR(ws_conn_extensions(c), "");
    cn_end();
}

/* ---- the agreed windows ---- */

/* Our compressor stays within the window the peer allows (server_max_window_bits for a server,
 * client_max_window_bits for a client); 8 agreed: messages go uncompressed (zlib has no 256-byte
 * raw window; 7692 allows sending uncompressed). */
static void df_window_ours(void) {
    static uint8_t msg[2 * 3000], out[2 * 3000], z[8000];
    static const int bits[] = { 8, 9, 10, 11, 12, 15 };
    size_t i, n;
    int server;
    df_twice(msg, 3000);
    for (server = 0; server <= 1; server++) {
        for (i = 0; i < sizeof bits / sizeof bits[0]; i++) {
            char ext[96];
            ws_frame f;
            ws_conn *c;
            df_begin();
            snprintf(ext, sizeof ext, "permessage-deflate; %s_max_window_bits=%d", server ? "server" : "client", bits[i]);
            c = df_open(server, ext);
            CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, msg, sizeof msg), WS_OK);
            CHECK(cn_pop(c, &f, z, sizeof z, &n));
            CHECK_EQ(f.rsv, bits[i] == 8 ? 0 : WS_RSV1);
            if (bits[i] == 8) CHECK(n == sizeof msg && memcmp(z, msg, n) == 0);
            else CHECK(df_inflate(z, n, bits[i], out, sizeof out) == (long)sizeof msg && memcmp(out, msg, sizeof msg) == 0);
            if (bits[i] == 15) CHECK(n < sizeof msg * 3 / 4);   /* the repeat was found */
            if (t_bad) { printf("  (%s, %d bits)\n", ext, bits[i]); cn_end(); return; }
            cn_end();
        }
    }
}
static void test_deflate_window_ours(void) {
    static uint8_t msg[2 * 3000], out[2 * 3000], z[8000];
    size_t n;
    /* the check can fail: with a 2^15 window zlib refers 3000 bytes back, which a 2^10 one lacks */
    df_twice(msg, 3000);
    n = df_compress(msg, sizeof msg, z, sizeof z, 15);
    CHECK_EQ(df_inflate(z, n, 10, out, sizeof out), -1);
    CHECK_EQ(df_inflate(z, n, 12, out, sizeof out), (long)sizeof msg);
    cn_ways(df_window_ours);
}

/* Our inflater keeps the window the peer may use, across messages (context takeover): the
 * second message is the first again, references 2^bits - 300 bytes back (as far as zlib's
 * compressor reaches: its window less 262 bytes of lookahead). */
static uint8_t df_win_in[6][2][34000];   /* [window][server]: the peer's two frames */
static size_t df_win_len[6][2];
static const int df_win_bits[6] = { 9, 10, 11, 12, 13, 15 };
static void df_window_peer(void) {
    size_t w;
    int server;
    for (w = 0; w < 6; w++) {
        for (server = 0; server <= 1; server++) {
            size_t half = ((size_t)1 << df_win_bits[w]) - 300;
            char ext[96];
            ws_conn *c;
            df_begin();
            snprintf(ext, sizeof ext, "permessage-deflate; %s_max_window_bits=%d", server ? "client" : "server", df_win_bits[w]);
            c = df_open(server, ext);
            cn_feed(c, df_win_in[w][server], df_win_len[w][server]);
            CHECK_EQ(cn_count(WS_EV_MESSAGE), 2);
            CHECK_EQ(cn_count(WS_EV_ERROR), 0);
            CHECK(cn_find(WS_EV_MESSAGE, 1) && cn_find(WS_EV_MESSAGE, 1)->len == half &&
                  cn_find(WS_EV_MESSAGE, 1)->sum == cn_find(WS_EV_MESSAGE, 0)->sum);
            if (t_bad) { printf("  (%s)\n", ext); cn_end(); return; }
            cn_end();
        }
    }
}
static void test_deflate_window_peer(void) {
    static uint8_t msg[2 * 40000], z[40000 + 1000];
    size_t w;
    int server;
    for (w = 0; w < 6; w++) {
        size_t half = ((size_t)1 << df_win_bits[w]) - 300;
        for (server = 0; server <= 1; server++) {
            z_stream s;
            uint8_t *in = df_win_in[w][server];
            size_t n = 0, zl;
            df_twice(msg, half);
            df_zinit(&s, df_win_bits[w]);
            zl = df_zmsg(&s, msg, half, z, sizeof z);
            n += cn_frame(in + n, 1, 4, WS_OP_BINARY, server, z, zl);
            zl = df_zmsg(&s, msg + half, half, z, sizeof z);
            CHECK(zl < half / 20);   /* all of it references back */
            n += cn_frame(in + n, 1, 4, WS_OP_BINARY, server, z, zl);
            deflateEnd(&s);
            df_win_len[w][server] = n;
        }
    }
    cn_ways(df_window_peer);
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
/* The peer's no-context-takeover for role server (0/1): the agreement that makes us reset. */
static const char *df_peer_resets(int server) {
    return server ? "permessage-deflate; client_no_context_takeover" : "permessage-deflate; server_no_context_takeover";
}

static void df_rfc_examples(void) {
    static const uint8_t m1[] = { 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };
    static const uint8_t m2[] = { 0xf2, 0x00, 0x11, 0x00, 0x00 };
    size_t v;
    int server, reset, i;
    for (v = 0; v < sizeof df_vecs / sizeof df_vecs[0]; v++) {
        const df_vec *d = &df_vecs[v];
        for (server = 0; server <= 1; server++) {
            for (reset = 0; reset <= 1; reset++) {
                uint8_t in[128];
                size_t n = 0;
                ws_conn *c;
                for (i = 0; i < d->nframes; i++)
                    n += cn_frame(in + n, d->fin[i], d->rsv[i], d->op[i], server, d->p[i], d->len[i]);
                memcpy(in + n, in, n);   /* the same message twice: the second must inflate too */
                n *= 2;
                df_begin();
                c = df_open(server, reset ? df_peer_resets(server) : "permessage-deflate");
                cn_feed(c, in, n);
                CHECK_EQ(cn_count(WS_EV_MESSAGE), 2);
                for (i = 0; i < 2; i++) {
                    const cn_ev *e = cn_find(WS_EV_MESSAGE, i);
                    CHECK(e && e->opcode == WS_OP_TEXT && e->len == 5 && memcmp(e->data, "Hello", 5) == 0);
                }
                CHECK_EQ(cn_count(WS_EV_ERROR), 0);
                if (t_bad) { printf("  (%s, server %d, reset %d)\n", d->name, server, reset); cn_end(); return; }
                cn_end();
            }
        }
    }
    /* 7.2.3.2: the second "Hello" refers back to the first (context takeover); a peer that
     * agreed to reset may not do that: 1002 */
    for (server = 0; server <= 1; server++) {
        for (reset = 0; reset <= 1; reset++) {
            uint8_t in[64];
            size_t n = cn_frame(in, 1, 4, WS_OP_TEXT, server, m1, sizeof m1);
            ws_conn *c;
            n += cn_frame(in + n, 1, 4, WS_OP_TEXT, server, m2, sizeof m2);
            df_begin();
            c = df_open(server, reset ? df_peer_resets(server) : "permessage-deflate");
            if (reset) {
                cn_check_fail(c, in, n, 1002, WS_ERR_PROTOCOL, 1);
                continue;   /* (cn_check_fail ended the scenario) */
            }
            cn_feed(c, in, n);
            CHECK_EQ(cn_count(WS_EV_MESSAGE), 2);
            CHECK(cn_find(WS_EV_MESSAGE, 1) && cn_find(WS_EV_MESSAGE, 1)->len == 5 &&
                  memcmp(cn_find(WS_EV_MESSAGE, 1)->data, "Hello", 5) == 0);
            cn_end();
        }
    }
    /* 7.2.3.6: an empty message, as one 00 byte and as no payload at all */
    for (server = 0; server <= 1; server++) {
        uint8_t in[32];
        size_t n = cn_frame(in, 1, 4, WS_OP_TEXT, server, "", 1);
        ws_conn *c;
        n += cn_frame(in + n, 1, 4, WS_OP_BINARY, server, NULL, 0);
        df_begin();
        c = df_open(server, "permessage-deflate");
        cn_feed(c, in, n);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 2);
        CHECK(cn_find(WS_EV_MESSAGE, 1) && cn_find(WS_EV_MESSAGE, 0)->len == 0 && cn_find(WS_EV_MESSAGE, 1)->len == 0);
        CHECK_EQ(cn_count(WS_EV_ERROR), 0);
        cn_end();
    }
}
static void test_deflate_rfc_examples(void) { cn_ways(df_rfc_examples); }

/* Our compressor produces the RFC's bytes: "Hello" = f2 48 cd c9 c9 07 00 with RSV1, and with
 * context takeover the second "Hello" = f2 00 11 00 00; without, the first bytes again. An
 * empty message is one 00 byte (7.2.3.6). Clients mask: payloads compared unmasked. */
static void df_send_rfc_bytes(void) {
    static const uint8_t m1[] = { 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };
    static const uint8_t m2[] = { 0xf2, 0x00, 0x11, 0x00, 0x00 };
    int reset, server, k;
    for (server = 0; server <= 1; server++) {
        for (reset = 0; reset <= 1; reset++) {
            ws_conn *c;
            ws_frame f;
            uint8_t pl[64];
            size_t n = 0;
            df_begin();
            c = df_open(server, !reset ? "permessage-deflate" : server ? "permessage-deflate; server_no_context_takeover"
                                                                      : "permessage-deflate; client_no_context_takeover");
            for (k = 0; k < 2; k++) {
                CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "Hello", 5), WS_OK);
                CHECK(cn_pop(c, &f, pl, sizeof pl, &n) && f.fin && f.rsv == WS_RSV1 && f.opcode == WS_OP_TEXT);
                if (k && !reset) CHECK(n == sizeof m2 && memcmp(pl, m2, n) == 0);
                else CHECK(n == sizeof m1 && memcmp(pl, m1, n) == 0);
            }
            if (server) {   /* servers don't mask: the whole frame is the RFC's */
                static const uint8_t frame[] = { 0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };
                const uint8_t *p;
                CHECK_EQ(ws_conn_send(c, WS_OP_TEXT | WS_SEND_UNCOMPRESSED, "x", 1), WS_OK);
                cn_tx_drain(c);
                if (reset) {
                    CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "Hello", 5), WS_OK);
                    CHECK(ws_engine_output(c, &p) == sizeof frame && memcmp(p, frame, sizeof frame) == 0);
                    cn_tx_drain(c);
                }
            }
            CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, "", 0), WS_OK);
            CHECK(cn_pop(c, &f, pl, sizeof pl, &n) && f.rsv == WS_RSV1 && n == 1 && pl[0] == 0);
            if (t_bad) { printf("  (server %d, reset %d)\n", server, reset); cn_end(); return; }
            cn_end();
        }
    }
}
static void test_deflate_send_rfc_bytes(void) { cn_ways(df_send_rfc_bytes); }

/* ---- RFC 7692 6.1: RSV1 only on the first frame of a data message, never on control ---- */
static void df_expect_close(int server, const uint8_t *in, size_t n, int code, ws_result rc, int msgs) {
    df_begin();
    cn_check_fail(df_open(server, "permessage-deflate"), in, n, code, rc, msgs);
}

static void df_rsv_rules(void) {
    uint8_t in[256], z[64];
    size_t n, zl = df_compress("Hello", 5, z, sizeof z, 15);
    ws_conn *c;
    /* RSV1 on a ping, on a pong, on a close, on a continuation; RSV2, RSV3 */
    n = cn_frame(in, 1, 4, WS_OP_PING, 1, "x", 1);
    df_expect_close(1, in, n, 1002, WS_ERR_PROTOCOL, 0);
    n = cn_frame(in, 1, 4, WS_OP_PONG, 0, "x", 1);
    df_expect_close(0, in, n, 1002, WS_ERR_PROTOCOL, 0);
    n = cn_frame(in, 1, 4, WS_OP_CLOSE, 0, "\x03\xe8", 2);
    df_expect_close(0, in, n, 1002, WS_ERR_PROTOCOL, 0);
    n = cn_frame(in, 0, 4, WS_OP_TEXT, 1, z, 2);
    n += cn_frame(in + n, 1, 4, WS_OP_CONT, 1, z + 2, zl - 2);
    df_expect_close(1, in, n, 1002, WS_ERR_PROTOCOL, 0);
    n = cn_frame(in, 1, 2, WS_OP_TEXT, 1, "a", 1);
    df_expect_close(1, in, n, 1002, WS_ERR_PROTOCOL, 0);
    n = cn_frame(in, 1, 5, WS_OP_TEXT, 1, z, zl);
    df_expect_close(1, in, n, 1002, WS_ERR_PROTOCOL, 0);
    /* a new compressed message while one is still open */
    n = cn_frame(in, 0, 4, WS_OP_TEXT, 0, z, 2);
    n += cn_frame(in + n, 1, 4, WS_OP_TEXT, 0, z, zl);
    df_expect_close(0, in, n, 1002, WS_ERR_PROTOCOL, 0);
    /* RSV1 where nothing was agreed: a protocol error */
    df_begin();
    n = cn_frame(in, 1, 4, WS_OP_TEXT, 1, z, zl);
    cn_check_fail(cn_open(1), in, n, 1002, WS_ERR_PROTOCOL, 0);
    /* without RSV1 a message is plain, even with the extension; a ping between the frames of
     * a compressed message is answered with a plain pong */
    {
        ws_frame f;
        uint8_t pl[64];
        size_t pn = 0;
        df_begin();
        c = df_open(1, "permessage-deflate");
        n = cn_frame(in, 1, 0, WS_OP_BINARY, 1, "plain", 5);
        n += cn_frame(in + n, 0, 4, WS_OP_TEXT, 1, z, 3);
        n += cn_frame(in + n, 1, 0, WS_OP_PING, 1, "pi", 2);
        n += cn_frame(in + n, 1, 0, WS_OP_CONT, 1, z + 3, zl - 3);
        cn_feed(c, in, n);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 2);
        CHECK(cn_find(WS_EV_MESSAGE, 0)->len == 5 && memcmp(cn_find(WS_EV_MESSAGE, 0)->data, "plain", 5) == 0 &&
              cn_find(WS_EV_MESSAGE, 0)->opcode == WS_OP_BINARY);
        CHECK(cn_find(WS_EV_MESSAGE, 1) && cn_find(WS_EV_MESSAGE, 1)->len == 5 &&
              memcmp(cn_find(WS_EV_MESSAGE, 1)->data, "Hello", 5) == 0);
        CHECK(cn_pop(c, &f, pl, sizeof pl, &pn) && f.opcode == WS_OP_PONG && f.rsv == 0 && pn == 2);
        /* control frames we send are never compressed, whatever their size */
        CHECK_EQ(ws_conn_send(c, WS_OP_PING, "0123456789012345678901234567890123456789", 40), WS_OK);
        CHECK(cn_pop(c, &f, pl, sizeof pl, &pn) && f.opcode == WS_OP_PING && f.rsv == 0 && pn == 40);
        CHECK_EQ(ws_conn_send(c, WS_OP_PONG, "0123456789012345678901234567890123456789", 40), WS_OK);
        CHECK(cn_pop(c, &f, pl, sizeof pl, &pn) && f.opcode == WS_OP_PONG && f.rsv == 0 && pn == 40);
        CHECK_EQ(ws_conn_close(c, 1000, "bye bye bye bye bye bye bye bye bye bye"), WS_OK);
        CHECK(cn_pop(c, &f, pl, sizeof pl, &pn) && f.opcode == WS_OP_CLOSE && f.rsv == 0 && pn == 41);
        cn_end();
    }
}
static void test_deflate_rsv_rules(void) { cn_ways(df_rsv_rules); }

/* ---- bad data: corrupt DEFLATE (1002), invalid UTF-8 inside (1007), never delivered ---- */
static void df_corrupt(void) {
    static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x00 };
    uint8_t in[256], z[64];
    size_t n, zl;
    int frags;
    n = cn_frame(in, 1, 4, WS_OP_BINARY, 1, junk, sizeof junk);
    df_expect_close(1, in, n, 1002, WS_ERR_PROTOCOL, 0);
    n = cn_frame(in, 1, 4, WS_OP_BINARY, 0, "\x07\x00", 2);      /* a reserved block type (BTYPE 11) */
    df_expect_close(0, in, n, 1002, WS_ERR_PROTOCOL, 0);
    n = cn_frame(in, 1, 4, WS_OP_BINARY, 0, "\xf2\x00\x11\x00\x00", 5);   /* a distance before the start */
    df_expect_close(0, in, n, 1002, WS_ERR_PROTOCOL, 0);
    zl = df_compress("ok \xc3\x28 no", 8, z, sizeof z, 15);   /* invalid UTF-8 */
    n = cn_frame(in, 1, 4, WS_OP_TEXT, 1, z, zl);
    df_expect_close(1, in, n, 1007, WS_ERR_UTF8, 0);
    zl = df_compress("cut \xe2\x82", 6, z, sizeof z, 15);     /* ends inside a character */
    n = cn_frame(in, 1, 4, WS_OP_TEXT, 1, z, zl);
    df_expect_close(1, in, n, 1007, WS_ERR_UTF8, 0);
    zl = df_compress("\xc3\x28", 2, z, sizeof z, 15);         /* binary: not checked */
    n = cn_frame(in, 1, 4, WS_OP_BINARY, 1, z, zl);
    n += cn_frame(in + n, 1, 4, WS_OP_BINARY, 1, junk, sizeof junk);
    df_expect_close(1, in, n, 1002, WS_ERR_PROTOCOL, 1);
    /* corrupt in the second fragment, whole messages or fragments delivered as they come */
    for (frags = 0; frags <= 1; frags++) {
        ws_config cfg;
        df_cfg(&cfg);
        cfg.fragments = frags;
        cn_begin(&cfg);
        zl = df_compress("Hello Hello", 11, z, sizeof z, 15);
        n = cn_frame(in, 0, 4, WS_OP_TEXT, 1, z, zl);
        n += cn_frame(in + n, 1, 0, WS_OP_CONT, 1, junk, sizeof junk);
        cn_check_fail(df_open(1, "permessage-deflate"), in, n, 1002, WS_ERR_PROTOCOL, frags);
    }
}
static void test_deflate_corrupt(void) { cn_ways(df_corrupt); }

/* ---- BFINAL inside a message (7.2.1: blocks with BFINAL 1 may be used; 7.2.3.4: as a flush):
 * the next block starts a new DEFLATE stream over the same LZ77 window, so the rest of the
 * message must still be inflated (it was dropped: "Hel" for "Hello") and later messages may
 * still refer back (context takeover; the window was lost: 1002) ---- */
/* Raw DEFLATE of in with Z_FINISH (ends with BFINAL 1) or Z_SYNC_FLUSH (tail taken off), its
 * window primed with dict (what the peer's window holds). */
static size_t df_zstream(const char *dict, const char *in, int finish, uint8_t *out, size_t cap) {
    z_stream s;
    size_t len;
    df_zinit(&s, 15);
    if (dict) CHECK_EQ(deflateSetDictionary(&s, (const Bytef *)dict, (uInt)strlen(dict)), Z_OK);
    s.next_in = (Bytef *)(uintptr_t)in;
    s.avail_in = (uInt)strlen(in);
    s.next_out = out;
    s.avail_out = (uInt)cap;
    CHECK_EQ(deflate(&s, finish ? Z_FINISH : Z_SYNC_FLUSH), finish ? Z_STREAM_END : Z_OK);
    len = cap - s.avail_out;
    deflateEnd(&s);
    if (!finish) { CHECK(len >= 4 && memcmp(out + len - 4, "\0\0\xff\xff", 4) == 0); len -= 4; }
    return len;
}
static void df_bfinal(void) {
    static const char *want[3] = { "Hello Hello", " world", "Hello Hello world" };
    uint8_t in[512], z[256];
    size_t n, zl, k;
    int frags, split, i;
    for (frags = 0; frags <= 1; frags++) {
        for (split = 0; split <= 1; split++) {
            ws_config cfg;
            ws_conn *c;
            df_cfg(&cfg);
            cfg.fragments = frags;
            cn_begin(&cfg);
            c = df_open(1, "permessage-deflate");
            /* message 1: "Hello " ends its stream (BFINAL), "Hello" (a reference back) follows */
            k = df_zstream(NULL, "Hello ", 1, z, sizeof z);
            zl = k + df_zstream("Hello ", "Hello", 0, z + k, sizeof z - k);
            n = cn_frame(in, !split, 4, WS_OP_TEXT, 1, z, split ? k : zl);
            if (split) n += cn_frame(in + n, 1, 0, WS_OP_CONT, 1, z + k, zl - k);
            /* message 2: " world" ends with BFINAL and no 0x00 after it (7.2.3.4 has one) */
            zl = df_zstream("Hello Hello", " world", 1, z, sizeof z);
            n += cn_frame(in + n, 1, 4, WS_OP_TEXT, 1, z, zl);
            /* message 3: all of it, from the window (context takeover) */
            zl = df_zstream("Hello Hello world", "Hello Hello world", 0, z, sizeof z);
            n += cn_frame(in + n, 1, 4, WS_OP_TEXT, 1, z, zl);
            cn_feed(c, in, n);
            CHECK_EQ(cn_count(WS_EV_ERROR), 0);
            {   /* the messages, their fragments joined */
                char got[3][64];
                size_t gl[3] = { 0, 0, 0 };
                int j, m = 0;
                for (j = 0; j < cn_nev && m < 3; j++) {
                    if (cn_evs[j].type != WS_EV_MESSAGE) continue;
                    if (gl[m] + cn_evs[j].len <= sizeof got[m]) memcpy(got[m] + gl[m], cn_evs[j].data, cn_evs[j].len);
                    gl[m] += cn_evs[j].len;
                    m += cn_evs[j].fin;
                }
                CHECK_EQ(m, 3);
                for (i = 0; i < 3; i++) {
                    CHECK(gl[i] == strlen(want[i]) && memcmp(got[i], want[i], gl[i]) == 0);
                    if (t_bad) printf("  (message %d, frags %d, split %d: %lu bytes)\n", i + 1, frags, split, (unsigned long)gl[i]);
                }
            }
            cn_end();
            if (t_bad) return;
        }
    }
}
static void test_deflate_bfinal(void) { cn_ways(df_bfinal); }

/* ---- max_message bounds the inflated size, checked while inflating ---- */
static uint8_t df_big[1 << 22], df_z[1 << 16], df_in[3][(1 << 16) + 14];
static size_t df_inlen[3];
static void df_bomb(void) {
    int frags;
    ws_config cfg;
    ws_conn *c;
    for (frags = 0; frags <= 1; frags++) {   /* 4 MiB of zeros in a few KiB */
        df_cfg(&cfg);
        cfg.max_message = 65536;
        cfg.fragments = frags;
        cn_begin(&cfg);
        c = df_open(1, "permessage-deflate");
        /* fragment mode: one 64 KiB piece, no fin, then 1009 */
        cn_check_fail(c, df_in[0], df_inlen[0], 1009, WS_ERR_TOO_BIG, frags);
        if (frags) CHECK(cn_find(WS_EV_MESSAGE, 0) && cn_find(WS_EV_MESSAGE, 0)->len == 65536 &&
                         !cn_find(WS_EV_MESSAGE, 0)->fin);
    }
    /* exactly at the limit is fine, one byte more is not */
    df_cfg(&cfg);
    cfg.max_message = 65536;
    cn_begin(&cfg);
    c = df_open(1, "permessage-deflate");
    cn_feed(c, df_in[1], df_inlen[1]);
    CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
    CHECK(cn_find(WS_EV_MESSAGE, 0) && cn_find(WS_EV_MESSAGE, 0)->len == 65536);
    cn_check_fail(c, df_in[0], df_inlen[0], 1009, WS_ERR_TOO_BIG, 1);
    /* incompressible data at max_message: a little longer on the wire, still accepted */
    df_cfg(&cfg);
    cfg.max_message = 60000;
    cn_begin(&cfg);
    c = df_open(0, "permessage-deflate");
    cn_feed(c, df_in[2], df_inlen[2]);
    CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
    CHECK(cn_find(WS_EV_MESSAGE, 0) && cn_find(WS_EV_MESSAGE, 0)->len == 60000 &&
          cn_find(WS_EV_MESSAGE, 0)->sum == cn_fnv(df_big + 100000, 60000));
    CHECK_EQ(cn_count(WS_EV_ERROR), 0);
    cn_end();
}
static void test_deflate_bomb(void) {
    size_t zl, i;
    memset(df_big, 0, sizeof df_big);
    zl = df_compress(df_big, sizeof df_big, df_z, sizeof df_z, 15);
    CHECK(zl < 8192);
    df_inlen[0] = cn_frame(df_in[0], 1, 4, WS_OP_BINARY, 1, df_z, zl);
    zl = df_compress(df_big, 65536, df_z, sizeof df_z, 15);
    df_inlen[1] = cn_frame(df_in[1], 1, 4, WS_OP_BINARY, 1, df_z, zl);
    for (i = 100000; i < 160000; i++) df_big[i] = (uint8_t)t_rand();
    zl = df_compress(df_big + 100000, 60000, df_z, sizeof df_z, 15);
    CHECK(zl > 60000);
    df_inlen[2] = cn_frame(df_in[2], 1, 4, WS_OP_BINARY, 0, df_z, zl);
    cn_ways(df_bomb);
}

/* A bomb under a max_memory smaller than max_message: the budget stops it as it inflates, and
 * the close says so (1013 WS_ERR_FULL, as for an uncompressed message that cannot be buffered;
 * it was 1011 WS_ERR_NOMEM, "out of memory"). */
static uint8_t df_bb_in[(1 << 13) + 14];
static size_t df_bb_len;
static void df_bomb_budget(void) {
    int frags;
    for (frags = 0; frags <= 1; frags++) {
        ws_config cfg;
        df_cfg(&cfg);
        cfg.max_memory = (size_t)512 << 10;   /* max_message stays 16 MiB */
        cfg.fragments = frags;
        cn_begin(&cfg);
        cn_check_fail(df_open(1, "permessage-deflate"), df_bb_in, df_bb_len, 1013, WS_ERR_FULL, 0);
    }
}
static void test_deflate_bomb_budget(void) {
    static uint8_t zeros[1 << 22], z[1 << 13];
    size_t zl = df_compress(zeros, sizeof zeros, z, sizeof z, 15);   /* 4 MiB in ~4 KiB */
    df_bb_len = cn_frame(df_bb_in, 1, 4, WS_OP_BINARY, 1, z, zl);
    cn_ways(df_bomb_budget);
}

/* zlib's streams count in max_memory (they were outside it: 1024 peers could make a server
 * hold ~40 KiB of inflater each, and sends to them a 262 KiB compressor each, past the
 * budget). An inflater the budget cannot hold closes with 1013; one for a small agreed window
 * fits. A compressor it cannot hold: the message goes uncompressed (7692 allows that); a
 * small one fits and compresses. */
static void df_zlib_budget(void) {
    static const char *hello = "Hello Hello Hello Hello Hello";
    static const char *rx_ext[2] = { "permessage-deflate", "permessage-deflate; client_max_window_bits=9" };
    static const char *tx_ext[2] = { "permessage-deflate", "permessage-deflate; server_no_context_takeover" };
    uint8_t in[128], z[64], out[64];
    size_t n, zl = df_compress(hello, strlen(hello), z, sizeof z, 9);
    ws_config cfg;
    ws_frame f;
    ws_conn *c;
    int k, small;
    for (k = 0; k < 2; k++) {   /* receiving: a window-15 inflater (~39 KiB) does not fit */
        df_cfg(&cfg);
        cfg.max_memory = (size_t)64 << 10;
        cn_begin(&cfg);
        c = df_open(1, rx_ext[k]);
        n = cn_frame(in, 1, 4, WS_OP_TEXT, 1, z, zl);
        if (!k) { cn_check_fail(c, in, n, 1013, WS_ERR_FULL, 0); continue; }
        cn_feed(c, in, n);
        CHECK(cn_last() && cn_last()->type == WS_EV_MESSAGE && cn_last()->len == strlen(hello));
        CHECK(c->ctx->mem_used <= cfg.max_memory);
        cn_end();
    }
    for (k = 0; k < 4; k++) {   /* sending: a 15/8 compressor (~262 KiB) does not fit, 9/1 does */
        small = k >= 2;
        df_cfg(&cfg);
        cfg.max_memory = (size_t)128 << 10;
        if (small) { cfg.deflate.window_bits = 9; cfg.deflate.mem_level = 1; }
        cn_begin(&cfg);
        c = df_open(1, tx_ext[k & 1]);
        CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, hello, strlen(hello)), WS_OK);
        CHECK(cn_pop(c, &f, z, sizeof z, &n));
        CHECK_EQ(f.rsv, small ? WS_RSV1 : 0);
        if (small) CHECK(df_inflate(z, n, 9, out, sizeof out) == (long)strlen(hello) && memcmp(out, hello, strlen(hello)) == 0);
        else CHECK(n == strlen(hello) && memcmp(z, hello, n) == 0);
        CHECK(c->ctx->mem_used <= cfg.max_memory);
        CHECK_EQ(cn_count(WS_EV_ERROR), 0);
        if (t_bad) printf("  (send case %d)\n", k);
        cn_end();
    }
}
static void test_deflate_zlib_budget(void) { cn_ways(df_zlib_budget); }

/* ---- fragmented compressed messages received, both delivery modes, both roles ---- */
static uint8_t df_fmsg[20000], df_fin[2][26000];
static size_t df_finlen[2];
static void df_fragmented_rx(void) {
    int frags, server, j;
    for (server = 0; server <= 1; server++) {
        for (frags = 0; frags <= 1; frags++) {
            size_t total = 0;
            ws_config cfg;
            int fins = 0;
            df_cfg(&cfg);
            cfg.fragments = frags;
            cfg.max_frame = 4096;   /* fragment mode: pieces of at most max_frame */
            cn_begin(&cfg);
            cn_feed(df_open(server, "permessage-deflate"), df_fin[server], df_finlen[server]);
            for (j = 0; j < cn_nev; j++) {
                if (cn_evs[j].type != WS_EV_MESSAGE) continue;
                CHECK_EQ(cn_evs[j].opcode, WS_OP_TEXT);
                CHECK(cn_evs[j].len <= (frags ? 4096 : sizeof df_fmsg));
                if (cn_evs[j].len) CHECK_MEM(cn_evs[j].data, df_fmsg + total, WS__MIN(cn_evs[j].len, 512));
                total += cn_evs[j].len;
                fins += cn_evs[j].fin;
            }
            CHECK_EQ(total, sizeof df_fmsg);
            CHECK_EQ(fins, 1);
            CHECK(cn_last() && cn_last()->type == WS_EV_MESSAGE && cn_last()->fin);
            if (!frags) CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
            CHECK_EQ(cn_count(WS_EV_ERROR), 0);
            if (t_bad) { printf("  (server %d, frags %d)\n", server, frags); cn_end(); return; }
            cn_end();
        }
    }
}
static void test_deflate_fragmented_rx(void) {
    static uint8_t z[24000];
    size_t zl, i, k, off;
    int server;
    for (i = 0; i < sizeof df_fmsg; i++) df_fmsg[i] = (uint8_t)("{\"k\": \"value\", \"n\": 12345}\n"[i % 28]);
    zl = df_compress(df_fmsg, sizeof df_fmsg, z, sizeof z, 15);
    for (server = 0; server <= 1; server++) {
        size_t n = 0;
        for (k = 0, off = 0; off < zl; k++) {   /* frames of 1, 2, 4, ... bytes */
            size_t len = WS__MIN((size_t)1 << k, zl - off);
            n += cn_frame(df_fin[server] + n, off + len == zl, k ? 0 : 4, k ? WS_OP_CONT : WS_OP_TEXT, server, z + off, len);
            off += len;
        }
        df_finlen[server] = n;
    }
    cn_ways(df_fragmented_rx);
}

/* A compressed message sent in fragments by hand (ws_conn_send_frame): RSV1 on the first. */
static void df_fragmented_tx(void) {
    static uint8_t msg[5000], z[6000];
    size_t zl, i, off = 0;
    ws_conn *cl, *sv;
    for (i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)('a' + i % 7);
    zl = df_compress(msg, sizeof msg, z, sizeof z, 15);
    df_begin();
    cl = df_open(0, "permessage-deflate");
    sv = df_open(1, "permessage-deflate");
    while (off < zl) {
        size_t len = WS__MIN((size_t)7, zl - off);
        CHECK_EQ(ws_conn_send_frame(cl, off + len == zl, off ? 0 : WS_RSV1, off ? WS_OP_CONT : WS_OP_BINARY,
                                    z + off, len), WS_OK);
        off += len;
    }
    df_move(cl, sv);
    CHECK_EQ(cn_count(WS_EV_MESSAGE), 1);
    CHECK(cn_last() && cn_last()->len == sizeof msg && cn_last()->sum == cn_fnv(msg, sizeof msg));
    cn_end();
}
static void test_deflate_fragmented_tx(void) { cn_ways(df_fragmented_tx); }

/* Sending respects max_send_queue before compressing, with the codes of an uncompressed send
 * (larger than the queue: WS_ERR_TOO_BIG; no room now: WS_ERR_FULL): a refused message never
 * reaches the compressor, whose context must hold only what the peer saw (the next inflates). */
static void df_send_queue(void) {
    static uint8_t big[40000];
    ws_config cfg;
    ws_conn *c, *peer;
    int k;
    df_cfg(&cfg);
    cfg.max_send_queue = 30000;
    cn_begin(&cfg);
    c = df_open(1, "permessage-deflate");
    peer = df_open(0, "permessage-deflate");
    for (k = 0; k < 2; k++) {
        memset(big, 'a' + k, sizeof big);
        CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, sizeof big), WS_ERR_TOO_BIG);
        CHECK_EQ(ws_conn_send(c, WS_OP_BINARY | WS_SEND_UNCOMPRESSED, big, 25000), WS_OK);
        CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big + 1, 20000), WS_ERR_FULL);
        df_move(c, peer);
        memset(big, 'x' + k, sizeof big);
        CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 20000), WS_OK);
        CHECK(cn_tx_used(c) < 1000);
        df_move(c, peer);
        CHECK(cn_last() && cn_last()->type == WS_EV_MESSAGE && cn_last()->len == 20000 &&
              cn_last()->sum == cn_fnv(big, 20000));
    }
    CHECK_EQ(cn_count(WS_EV_ERROR), 0);
    CHECK_EQ(ws_conn_state(c), WS_STATE_OPEN);
    cn_end();
}
static void test_deflate_send_queue(void) { cn_ways(df_send_queue); }

/* A compressed send refused with WS_ERR_FULL is followed by WS_EV_DRAINED once the queue is
 * taken, as an uncompressed one is (the queue limit is checked before compressing). */
static void df_full_drained(void) {
    static uint8_t big[1000];
    ws_config cfg;
    ws_conn *c, *peer;
    df_cfg(&cfg);
    cfg.max_send_queue = 1000;
    cn_begin(&cfg);
    c = df_open(1, "permessage-deflate");
    peer = df_open(0, "permessage-deflate");
    memset(big, 'q', sizeof big);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY | WS_SEND_UNCOMPRESSED, big, 900), WS_OK);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 200), WS_ERR_FULL);
    CHECK_EQ(cn_count(WS_EV_DRAINED), 0);
    df_move(c, peer);
    CHECK_EQ(cn_count(WS_EV_DRAINED), 1);
    CHECK_EQ(ws_conn_send(c, WS_OP_BINARY, big, 200), WS_OK);
    df_move(c, peer);
    CHECK(cn_last() && cn_last()->type == WS_EV_MESSAGE && cn_last()->len == 200);
    cn_end();
}
static void test_deflate_full_drained(void) { cn_ways(df_full_drained); }

/* ---- which zlib streams a connection keeps (internal: only memory shows it, MEMORY in the
 * manual promises it): none before the first compressed message; with context takeover its
 * own compressor and inflater stay; without, it keeps none between messages (the ctx's shared
 * compressor, the shared inflater for one-frame messages, its own freed after a fragmented one) */
static void test_deflate_streams(void) {
    uint8_t in[64], z[64];
    size_t n, zl = df_compress("Hello", 5, z, sizeof z, 15);
    int reset;
    for (reset = 0; reset <= 1; reset++) {
        ws_conn *c;
        df_begin();
        c = df_open(1, reset ? "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
                             : "permessage-deflate");
        CHECK(!c->pmd->d_on && !c->pmd->i_on && !c->ctx->pmds);   /* lazily */
        CHECK_EQ(ws_conn_send(c, WS_OP_TEXT, "Hello", 5), WS_OK);
        CHECK_EQ(c->pmd->d_on, !reset);
        CHECK_EQ(c->ctx->pmds != NULL && c->ctx->pmds->d_on, reset);
        n = cn_frame(in, 1, 4, WS_OP_TEXT, 1, z, zl);
        cn_feed(c, in, n);
        CHECK_EQ(c->pmd->i_on, !reset);
        CHECK_EQ(c->ctx->pmds != NULL && c->ctx->pmds->i_on, reset);
        n = cn_frame(in, 0, 4, WS_OP_TEXT, 1, z, 2);
        n += cn_frame(in + n, 1, 0, WS_OP_CONT, 1, z + 2, zl - 2);
        cn_feed(c, in, n);
        CHECK_EQ(c->pmd->i_on, !reset);
        CHECK_EQ(cn_count(WS_EV_MESSAGE), 2);
        CHECK(c->msg == NULL);
        cn_end();
    }
    {   /* a bomb: inflating stops one byte past max_message, and nothing of it is kept */
        static uint8_t zeros[1 << 20], bz[4096], bin[4096 + 14];
        ws_config cfg;
        ws_conn *c;
        size_t bl = df_compress(zeros, sizeof zeros, bz, sizeof bz, 15);
        df_cfg(&cfg);
        cfg.max_message = 65536;
        cn_begin(&cfg);
        c = df_open(1, "permessage-deflate");
        n = cn_frame(bin, 1, 4, WS_OP_BINARY, 1, bz, bl);
        cn_feed(c, bin, n);
        CHECK_EQ(cn_pop_close(c, NULL), 1009);
        CHECK(c->pmd->rx_out <= 65536 + 1);
        CHECK(c->msg == NULL);
        cn_end();
    }
}

/* ---- two engines negotiating every setting, then messages of 0 B..64 KiB both ways ---- */
/* A client (its own deflate settings co) and a server (the scenario's cfg.deflate), opened
 * through their handshake. */
static void df_pair(const ws_deflate_opts *co, ws_conn **cl, ws_conn **sv) {
    ws_engine_opts o;
    ws_connect_opts cc;
    memset(&o, 0, sizeof o);
    o.server = 1;
    *sv = cn_make(&o);
    memset(&o, 0, sizeof o);
    memset(&cc, 0, sizeof cc);
    cc.deflate = co;
    o.connect = &cc;
    *cl = cn_make(&o);
    df_move(*cl, *sv);
    df_move(*sv, *cl);
    CHECK_EQ(ws_conn_state(*cl), WS_STATE_OPEN);
    CHECK_EQ(ws_conn_state(*sv), WS_STATE_OPEN);
    CHECK_STR(ws_conn_extensions(*cl), ws_conn_extensions(*sv));
}

static void test_deflate_roundtrip(void) {
    static uint8_t big[65536 + 2];
    static const size_t sizes[] = { 0, 1, 5, 63, 64, 1000, 65536 };
    static const int setups[][5] = {   /* client window, server window, client reset, server reset, threshold */
        { 15, 15, 0, 0, -1 }, { 9, 9, 0, 0, -1 }, { 15, 10, 1, 0, -1 }, { 12, 15, 0, 1, -1 },
        { 9, 9, 1, 1, -1 }, { 15, 15, 0, 0, 0 }, { 15, 15, 0, 0, 1000 },
    };
    static const char *exts[] = {
        "permessage-deflate", "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
        "permessage-deflate; client_no_context_takeover; server_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover; client_max_window_bits=12",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; "
        "client_max_window_bits=9", "permessage-deflate", "permessage-deflate",
    };
    size_t s, i;
    for (i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i % 251 < 128 ? 'a' + i % 26 : 'A' + (i >> 8) % 26);
    for (s = 0; s < sizeof setups / sizeof setups[0]; s++) {
        const int *u = setups[s];
        ws_deflate_opts co = df_on;
        ws_config cfg;
        ws_conn *cl, *sv;
        int round;
        df_cfg(&cfg);
        cfg.deflate.window_bits = u[1];
        cfg.deflate.no_context_takeover = u[3];
        cfg.deflate.threshold = u[4];
        cfg.deflate.mem_level = 1 + (int)s % 9;
        co.window_bits = u[0];
        co.no_context_takeover = u[2];
        co.threshold = u[4];
        co.mem_level = 9 - (int)s % 9;
        cn_begin(&cfg);
        df_pair(&co, &cl, &sv);
        CHECK_STR(ws_conn_extensions(sv), exts[s]);
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
                    CHECK(df_peek(a, &f));
                    CHECK_EQ(f.rsv, sizes[i] >= thr ? WS_RSV1 : 0);
                    if (sizes[i] >= 1000 && sizes[i] >= thr) CHECK(f.payload_len < sizes[i] / 2);
                    df_move(a, b);
                    CHECK_EQ(cn_count(WS_EV_MESSAGE), before + 1);
                    e = cn_last();
                    CHECK(e && e->type == WS_EV_MESSAGE && e->conn == b && e->opcode == op && e->len == sizes[i]);
                    if (e && sizes[i]) CHECK(e->sum == cn_fnv(big + round, sizes[i]));
                    /* one uncompressed on request, in between */
                    CHECK_EQ(ws_conn_send(a, op | WS_SEND_UNCOMPRESSED, big, 100), WS_OK);
                    CHECK(df_peek(a, &f) && f.rsv == 0);
                    df_move(a, b);
                    CHECK(cn_last() && cn_last()->len == 100 && cn_last()->sum == cn_fnv(big, 100));
                    if (t_bad) break;
                }
                if (cn_nev > CN_MAX_EV - 8) cn_nev = 0;
            }
        }
        CHECK_EQ(cn_count(WS_EV_ERROR), 0);
        if (t_bad) { printf("  (setup %u)\n", (unsigned)s); cn_end(); return; }
        cn_end();
    }
}

/* ---- ws_engine_pair: compression on or off, through memory ---- */
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

#ifdef EN_SOCKETS   /* (test_engine.c) */
/* ---- ws_conn_adopt of a stream upgraded elsewhere, with the agreed parameters: the loop's
 * conn compresses and inflates; its peer is an engine that agreed the same, fed from the
 * socket by hand ---- */
static void test_deflate_adopt_upgraded(void) {
    static uint8_t msg[50000];
    static uint8_t buf[65536];
    ws_config cfg;
    ws_engine_opts o;
    ws_ctx *ctx;
    ws_conn *sv = NULL, *cl;
    int fds[2], i;
    size_t got = 0;
    for (i = 0; i < (int)sizeof msg; i++) msg[i] = (uint8_t)("abcabcabd"[i % 9]);
    df_begin();
    cl = df_open(0, "permessage-deflate; server_no_context_takeover");
    df_cfg(&cfg);
    cfg.on_event = cn_on_event;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) { cn_end(); return; }
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.upgraded = 1;
    o.extensions = "permessage-deflate; server_no_context_takeover";
    CHECK_EQ(ws_conn_adopt(ctx, fds[0], &o, NULL, &sv), WS_OK);
    if (sv) CHECK_STR(ws_conn_extensions(sv), "permessage-deflate; server_no_context_takeover");
    for (i = 0; i < 500 && sv && ws_conn_state(sv) != WS_STATE_OPEN; i++) ws_poll(ctx, 10);   /* opens in the loop */
    if (sv) CHECK_EQ(ws_conn_send(sv, WS_OP_TEXT, msg, sizeof msg), WS_OK);
    for (i = 0; i < 500; i++) {   /* what the loop wrote: one small compressed frame */
        ws_frame f;
        long r;
        ws_poll(ctx, 10);
        r = (long)recv(fds[1], buf + got, sizeof buf - got, MSG_DONTWAIT);
        if (r > 0) got += (size_t)r;
        if (ws_frame_parse(buf, got, WS_PARSE_RSV_MASK, &f, NULL, NULL) == WS_OK &&
            got >= f.header_len + f.payload_len) break;
    }
    CHECK(got > 2 && got < 1000 && buf[0] == 0xc1);   /* fin, RSV1, text */
    cn_feed(cl, buf, got);
    CHECK(cn_last() && cn_last()->type == WS_EV_MESSAGE && cn_last()->conn == cl &&
          cn_last()->len == sizeof msg && cn_last()->sum == cn_fnv(msg, sizeof msg));
    CHECK_EQ(ws_conn_send(cl, WS_OP_BINARY, msg, sizeof msg), WS_OK);   /* and back, compressed */
    got = ws_engine_output(cl, NULL);
    CHECK(got < 1000);
    {
        const uint8_t *p;
        got = ws_engine_output(cl, &p);
        CHECK_EQ(send(fds[1], p, got, 0), (long)got);
        ws_engine_consume(cl, got);
    }
    for (i = 0; i < 500 && cn_count(WS_EV_MESSAGE) < 2; i++) ws_poll(ctx, 10);
    CHECK(cn_last() && cn_last()->type == WS_EV_MESSAGE && cn_last()->conn == sv &&
          cn_last()->len == sizeof msg && cn_last()->sum == cn_fnv(msg, sizeof msg));
    CHECK_EQ(cn_count(WS_EV_ERROR), 0);
    ws_ctx_destroy(ctx);
    close(fds[1]);
    cn_end();
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
#endif

#ifndef WS_NO_NET   /* ws_broadcast is the loop's: test_budget.c's bg_ctx / bg_open conns */
/* ---- ws_broadcast: one compression per window among the recipients, the same bytes to each,
 * and a compressor with context takeover reset after a broadcast passed it by ---- */
/* An open server conn of ctx that agreed ext (no socket: what it sends stays in its queue). */
static ws_conn *df_bg_open(ws_ctx *ctx, const char *ext) {
    const char *why = "";
    ws_conn *c = bg_open(ctx);
    CHECK_EQ(ws__pmd_agreed(c, ext, &why), WS_OK);
    return c;
}
/* The one frame server conn s has queued: its header and payload. 0 = none, or more. */
static int df_bg_frame(const ws_conn *s, ws_frame *f, const uint8_t **pl) {
    size_t n = ws__buf_used(s->tx);
    const uint8_t *p = n ? WS__BDATA(s->tx) + s->tx->off : NULL;
    if (!p || ws_frame_parse(p, n, WS_PARSE_RSV_MASK, f, NULL, NULL) != WS_OK) return 0;
    *pl = p + f->header_len;
    return f->header_len + f->payload_len == n;
}
/* What s queued, fed to its client engine cl (then gone from s's queue): cl's last event must
 * be that message, exactly. */
static void df_bg_move(ws_conn *s, ws_conn *cl, const void *msg, size_t n) {
    const cn_ev *e;
    int before = cn_count(WS_EV_MESSAGE);
    if (ws__buf_used(s->tx)) cn_feed(cl, WS__BDATA(s->tx) + s->tx->off, ws__buf_used(s->tx));
    bg_drain(s);
    e = cn_last();
    CHECK_EQ(cn_count(WS_EV_MESSAGE), before + 1);
    CHECK(e && e->type == WS_EV_MESSAGE && e->conn == cl && e->len == n &&
          e->sum == (n ? cn_fnv((const uint8_t *)msg, n) : 0));
}
/* n pseudo-random bytes from seed */
static void df_rand(uint8_t *p, size_t n, unsigned long long st) {
    size_t i;
    for (i = 0; i < n; i++) { st = st * 6364136223846793005ull + 1442695040888963407ull; p[i] = (uint8_t)(st >> 33); }
}

/* Five deflate clients (windows 15, 15, 10, 10, 9; with and without context takeover) and one
 * without: one compression per window, the same bytes for a window's recipients, each inflates
 * with exactly its window (a larger one would reach too far back) and gets the message; the
 * takeover conns make no compressor of their own; then except, text, WS_SEND_UNCOMPRESSED,
 * short and empty messages (the threshold), and per-connection sends after the broadcasts. */
static void test_deflate_broadcast(void) {
    static const char *exts[6] = {
        "permessage-deflate", "permessage-deflate; server_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10",
        "permessage-deflate; server_max_window_bits=9", "" };
    static const int bits[6] = { 15, 15, 10, 10, 9, 0 };
    static uint8_t m[8000], out[9000], text[5000];
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *sv[6], *cl[6];
    size_t sent = 99, plen[6], i;
    const uint8_t *pl[6];
    unsigned long d0;
    int k, round;
    memset(&cfg, 0, sizeof cfg);
    cfg.deflate.enable = 1;   /* the default threshold: 64 bytes */
    ctx = bg_ctx(&cfg);
    if (!ctx) return;
    cn_mode = 0;
    for (k = 0; k < 6; k++) { sv[k] = df_bg_open(ctx, exts[k]); cl[k] = df_open(0, exts[k]); }
    /* repeats 600 bytes back (a 1 KiB window reaches it) and 3000 back (4 KiB and up) */
    df_rand(m, 600, 1);
    memcpy(m + 600, m, 600);
    df_rand(m + 1200, 3000, 2);
    memcpy(m + 4200, m + 1200, 3000);
    df_rand(m + 7200, 800, 3);
    for (i = 0; i < sizeof text; i++) text[i] = (uint8_t)("{\"n\": 12345, \"name\": \"caf\xc3\xa9\"}, "[i % 32]);
    d0 = ctx->ndeflate;
    CHECK_EQ(ws_broadcast(ctx, WS_OP_BINARY, m, sizeof m, NULL, &sent), WS_OK);
    CHECK_EQ(sent, 6);
    CHECK_EQ(ctx->ndeflate - d0, 3);   /* windows 15, 10 and 9: one compression each */
    for (k = 0; k < 6; k++) {
        ws_frame f;
        pl[k] = NULL;
        plen[k] = 0;
        CHECK(df_bg_frame(sv[k], &f, &pl[k]));
        if (!pl[k]) continue;
        plen[k] = (size_t)f.payload_len;
        CHECK_EQ(f.rsv, bits[k] ? WS_RSV1 : 0);
        if (bits[k]) {
            long got = df_inflate(pl[k], plen[k], bits[k], out, sizeof out);
            CHECK_EQ(got, (long)sizeof m);
            CHECK(got == (long)sizeof m && memcmp(out, m, sizeof m) == 0);
        } else {
            CHECK(plen[k] == sizeof m && memcmp(pl[k], m, sizeof m) == 0);
        }
    }
    for (k = 1; k < 4; k += 2)   /* a window's recipients: the same bytes, takeover or not */
        CHECK(pl[k] && pl[k - 1] && plen[k] == plen[k - 1] && memcmp(pl[k], pl[k - 1], plen[k]) == 0);
    CHECK(plen[0] < plen[2] && plen[2] < plen[4]);   /* each window as large as its peer allows */
    CHECK(!sv[0]->pmd->d_on && !sv[2]->pmd->d_on && !sv[4]->pmd->d_on);   /* no compressor each */
    for (k = 0; k < 6; k++) df_bg_move(sv[k], cl[k], m, sizeof m);
    for (round = 0; round < 2; round++) {
        cn_nev = 0;
        d0 = ctx->ndeflate;
        CHECK_EQ(ws_broadcast(ctx, WS_OP_TEXT, text, sizeof text, sv[1], &sent), WS_OK);
        CHECK_EQ(sent, 5);
        CHECK_EQ(ctx->ndeflate - d0, 3);
        CHECK_EQ(ws__buf_used(sv[1]->tx), 0);   /* except */
        for (k = 0; k < 6; k++) {
            ws_frame f;
            const uint8_t *p;
            if (k == 1) continue;
            CHECK(df_bg_frame(sv[k], &f, &p) && f.rsv == (bits[k] ? WS_RSV1 : 0));
            if (bits[k]) CHECK(f.payload_len < sizeof text / 10);
            df_bg_move(sv[k], cl[k], text, sizeof text);
        }
        /* each conn's own messages after the broadcasts: its compressor (reset) and the
         * client's inflater (which holds the broadcasts) agree */
        for (k = 0; k < 6; k++) {
            CHECK_EQ(ws_conn_send(sv[k], WS_OP_BINARY, m, sizeof m), WS_OK);
            df_bg_move(sv[k], cl[k], m, sizeof m);
            CHECK_EQ(ws_conn_send(sv[k], WS_OP_TEXT, text, sizeof text), WS_OK);
            df_bg_move(sv[k], cl[k], text, sizeof text);
        }
        cn_nev = 0;
        d0 = ctx->ndeflate;   /* not compressed: on request, and below the threshold (64) */
        CHECK_EQ(ws_broadcast(ctx, WS_OP_BINARY | WS_SEND_UNCOMPRESSED, m, sizeof m, NULL, &sent), WS_OK);
        CHECK_EQ(sent, 6);
        for (k = 0; k < 6; k++) {
            ws_frame f;
            const uint8_t *p;
            CHECK(df_bg_frame(sv[k], &f, &p) && f.rsv == 0 && f.payload_len == sizeof m);
            df_bg_move(sv[k], cl[k], m, sizeof m);
        }
        CHECK_EQ(ws_broadcast(ctx, WS_OP_TEXT, text, 63, NULL, &sent), WS_OK);
        for (k = 0; k < 6; k++) {
            ws_frame f;
            const uint8_t *p;
            CHECK(df_bg_frame(sv[k], &f, &p) && f.rsv == 0 && f.payload_len == 63);
            df_bg_move(sv[k], cl[k], text, 63);
        }
        CHECK_EQ(ws_broadcast(ctx, WS_OP_BINARY, "", 0, NULL, &sent), WS_OK);
        CHECK_EQ(sent, 6);
        for (k = 0; k < 6; k++) df_bg_move(sv[k], cl[k], "", 0);
        CHECK_EQ(ctx->ndeflate - d0, 0);
    }
    CHECK_EQ(cn_count(WS_EV_ERROR), 0);
    cn_nev = 0;
    bg_end(ctx);
    cn_end();
}

/* A client that keeps its inflater's context: its own message, a broadcast (a shared encoding
 * its server-side compressor never saw), then its own message again, which repeats the first:
 * unless that compressor was reset, it refers 2000 bytes back, where the client's window holds
 * the broadcast, and the client inflates the wrong bytes. After the reset the context is kept
 * again (the message once more: a few bytes). */
static void test_deflate_broadcast_takeover(void) {
    static uint8_t a[2000], b[2000];
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *sv, *cl;
    size_t sent = 0;
    int round;
    df_cfg(&cfg);
    ctx = bg_ctx(&cfg);
    if (!ctx) return;
    cn_mode = 0;
    sv = df_bg_open(ctx, "permessage-deflate");
    cl = df_open(0, "permessage-deflate");
    df_rand(a, sizeof a, 11);
    df_rand(b, sizeof b, 12);
    for (round = 0; round < 3; round++) {
        ws_frame f;
        const uint8_t *p;
        cn_nev = 0;
        CHECK_EQ(ws_conn_send(sv, WS_OP_BINARY, a, sizeof a), WS_OK);
        df_bg_move(sv, cl, a, sizeof a);
        CHECK_EQ(ws_broadcast(ctx, WS_OP_BINARY, b, sizeof b, NULL, &sent), WS_OK);
        CHECK_EQ(sent, 1);
        df_bg_move(sv, cl, b, sizeof b);
        CHECK_EQ(sv->pmd->d_stale, 1);
        CHECK_EQ(ws_conn_send(sv, WS_OP_BINARY, a, sizeof a), WS_OK);
        df_bg_move(sv, cl, a, sizeof a);
        CHECK_EQ(ws_conn_send(sv, WS_OP_BINARY, a, sizeof a), WS_OK);
        CHECK(df_bg_frame(sv, &f, &p) && f.rsv == WS_RSV1 && f.payload_len < 50);
        df_bg_move(sv, cl, a, sizeof a);
    }
    CHECK_EQ(cn_count(WS_EV_ERROR), 0);
    cn_nev = 0;
    bg_end(ctx);
    cn_end();
}

/* The queue rules of ws_broadcast_ex hold with compression: a full queue misses the message
 * (WS_ERR_FULL, *full) before anything is compressed for it, WS_BROADCAST_CLOSE_SLOW closes it,
 * larger than max_send_queue is WS_ERR_TOO_BIG, and none of this compresses or disturbs the
 * others: they get the message, their compressors stay in step. */
static void test_deflate_broadcast_slow(void) {
    static uint8_t big[8192], msg[4000];
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *sv[3], *cl[3];
    size_t sent = 99, full = 99;
    unsigned long d0;
    int k;
    df_cfg(&cfg);
    cfg.max_send_queue = 10000;
    ctx = bg_ctx(&cfg);
    if (!ctx) return;
    cn_mode = 0;
    for (k = 0; k < 3; k++) {
        const char *ext = k == 2 ? "permessage-deflate; server_no_context_takeover" : "permessage-deflate";
        sv[k] = df_bg_open(ctx, ext);
        cl[k] = df_open(0, ext);
    }
    df_rand(msg, 1000, 5);
    memcpy(msg + 1000, msg, 1000);
    memcpy(msg + 2000, msg, 2000);
    CHECK_EQ(ws_conn_send(sv[1], WS_OP_BINARY | WS_SEND_UNCOMPRESSED, big, sizeof big), WS_OK);   /* does not read */
    d0 = ctx->ndeflate;
    CHECK_EQ(ws_broadcast_ex(ctx, WS_OP_BINARY, msg, sizeof msg, NULL, 0, &sent, &full), WS_ERR_FULL);
    CHECK_EQ(sent, 2);
    CHECK_EQ(full, 1);
    CHECK_EQ(ctx->ndeflate - d0, 1);
    CHECK_EQ(ws_conn_state(sv[1]), WS_STATE_OPEN);
    CHECK_EQ(sv[1]->pmd->d_stale, 0);   /* it missed it */
    df_bg_move(sv[0], cl[0], msg, sizeof msg);
    df_bg_move(sv[2], cl[2], msg, sizeof msg);
    CHECK_EQ(ws_broadcast_ex(ctx, WS_OP_BINARY, big, 10001, NULL, 0, &sent, &full), WS_ERR_TOO_BIG);
    CHECK_EQ(sent, 0);
    CHECK_EQ(full, 0);
    CHECK_EQ(ctx->ndeflate - d0, 1);
    CHECK_EQ(ws_conn_send(sv[0], WS_OP_BINARY | WS_SEND_UNCOMPRESSED, big, sizeof big), WS_OK);
    CHECK_EQ(ws_conn_send(sv[2], WS_OP_BINARY | WS_SEND_UNCOMPRESSED, big, sizeof big), WS_OK);
    CHECK_EQ(ws_broadcast_ex(ctx, WS_OP_BINARY, msg, sizeof msg, NULL, 0, &sent, &full), WS_ERR_FULL);
    CHECK_EQ(sent, 0);
    CHECK_EQ(full, 3);
    CHECK_EQ(ctx->ndeflate - d0, 1);   /* nobody to send it to: not compressed */
    df_bg_move(sv[0], cl[0], big, sizeof big);
    df_bg_move(sv[2], cl[2], big, sizeof big);
    CHECK_EQ(ws_broadcast_ex(ctx, WS_OP_BINARY, msg, sizeof msg, NULL, WS_BROADCAST_CLOSE_SLOW, &sent, &full), WS_ERR_FULL);
    CHECK_EQ(sent, 2);
    CHECK_EQ(full, 1);
    CHECK_EQ(ctx->ndeflate - d0, 2);
    CHECK_EQ(ws_conn_state(sv[1]), WS_STATE_CLOSING);   /* 1013 queued behind its backlog */
    df_bg_move(sv[0], cl[0], msg, sizeof msg);
    df_bg_move(sv[2], cl[2], msg, sizeof msg);
    for (k = 0; k < 3; k += 2) {   /* their own messages still inflate */
        CHECK_EQ(ws_conn_send(sv[k], WS_OP_BINARY, msg, sizeof msg), WS_OK);
        df_bg_move(sv[k], cl[k], msg, sizeof msg);
    }
    CHECK_EQ(cn_count(WS_EV_ERROR), 0);
    cn_nev = 0;
    bg_end(ctx);
    cn_end();
}
#ifdef EN_SOCKETS
/* A server connection over a new socketpair (fds[0] its end, fds[1] the peer's), adopted as
 * already upgraded with these extensions (NULL on failure, counted). */
static ws_conn *df_adopt(ws_ctx *ctx, int fds[2], const char *exts) {
    ws_engine_opts o;
    ws_conn *c = NULL;
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.upgraded = 1;
    o.extensions = exts;
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    CHECK_EQ(ws_conn_adopt(ctx, fds[0], &o, NULL, &c), WS_OK);
    return c;
}
/* Over sockets (adopted socketpairs): the recipient whose queue is empty gets the shared
 * encoding written straight from the one buffer, the one whose socket is full gets it copied
 * into its queue behind what waits; both inflate it, and their own messages after it. */
static void test_deflate_broadcast_sockets(void) {
    static uint8_t m[65536], filler[65536], buf[65536];
    static const char *exts[2] = { "permessage-deflate", "permessage-deflate; server_no_context_takeover" };
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *sv[2] = { NULL, NULL }, *cl[2];
    int fds[2][2], k, i, nmsg[2] = { 0, 0 }, want[2] = { 2, 2 };
    uint32_t last[2][2] = { { 0, 0 }, { 0, 0 } };
    size_t sent = 0;
    unsigned long d0;
    df_begin();
    cn_mode = 0;
    df_cfg(&cfg);
    cfg.on_event = cn_on_event;
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) { cn_end(); return; }
    for (k = 0; k < 2; k++) {
        sv[k] = df_adopt(ctx, fds[k], exts[k]);
        cl[k] = df_open(0, exts[k]);
    }
    for (i = 0; i < 500 && sv[0] && sv[1] && (ws_conn_state(sv[0]) != WS_STATE_OPEN ||
                                              ws_conn_state(sv[1]) != WS_STATE_OPEN); i++)
        ws_poll(ctx, 10);
    if (!sv[0] || !sv[1] || ws_conn_state(sv[0]) != WS_STATE_OPEN || ws_conn_state(sv[1]) != WS_STATE_OPEN) {
        CHECK(0);
        ws_ctx_destroy(ctx);
        cn_end();
        return;
    }
    df_rand(m, 4096, 21);
    for (i = 1; i < 16; i++) memcpy(m + 4096 * i, m, 4096);
    df_rand(filler, sizeof filler, 22);
    for (i = 0; i < 256 && !ws_conn_queued(sv[0]); i++) {   /* sv[0]'s peer does not read yet */
        CHECK_EQ(ws_conn_send(sv[0], WS_OP_BINARY | WS_SEND_UNCOMPRESSED, filler, sizeof filler), WS_OK);
        want[0]++;
    }
    CHECK(ws_conn_queued(sv[0]) > 0);
    d0 = ctx->ndeflate;
    CHECK_EQ(ws_broadcast(ctx, WS_OP_BINARY, m, sizeof m, NULL, &sent), WS_OK);
    CHECK_EQ(sent, 2);
    CHECK_EQ(ctx->ndeflate - d0, 1);
    CHECK_EQ(ws_conn_queued(sv[1]), 0);   /* written at once */
    for (k = 0; k < 2; k++) CHECK_EQ(ws_conn_send(sv[k], WS_OP_BINARY, m, sizeof m), WS_OK);
    for (i = 0; i < 5000 && (nmsg[0] < want[0] || nmsg[1] < want[1]); i++) {
        ws_poll(ctx, i < 10 ? 0 : 10);
        for (k = 0; k < 2; k++) {
            long r = (long)recv(fds[k][1], buf, sizeof buf, MSG_DONTWAIT);
            int e0 = cn_nev, j;
            if (r <= 0) continue;
            cn_feed(cl[k], buf, (size_t)r);
            for (j = e0; j < cn_nev; j++) {
                if (cn_evs[j].type != WS_EV_MESSAGE || cn_evs[j].conn != cl[k]) continue;
                nmsg[k]++;
                last[k][0] = last[k][1];
                last[k][1] = cn_evs[j].sum;
            }
            if (cn_nev > CN_MAX_EV / 2) cn_nev = 0;
        }
    }
    for (k = 0; k < 2; k++) {
        CHECK_EQ(nmsg[k], want[k]);
        CHECK_EQ(last[k][0], cn_fnv(m, sizeof m));   /* the broadcast */
        CHECK_EQ(last[k][1], cn_fnv(m, sizeof m));   /* and its own, after it */
    }
    CHECK_EQ(cn_count(WS_EV_ERROR), 0);
    cn_nev = 0;
    ws_ctx_destroy(ctx);
    for (k = 0; k < 2; k++) close(fds[k][1]);
    cn_end();
}
#endif
/* max_memory holds for compressed sends too: a send or broadcast refused by the budget was
 * queued anyway (ws__pmd_put forced it as if deflate's overhead had passed max_send_queue),
 * so four peers that do not read held 4.2 MB against a 1 MiB budget. Incompressible 32 KiB
 * messages until each is refused, with and without context takeover. */
#ifdef EN_SOCKETS
static void df_budget_event(ws_conn *c, const ws_event *ev, void *user) { (void)c; (void)ev; (void)user; }
static void test_deflate_budget_sockets(void) {
    static uint8_t m[32768];
    static const char *exts[2] = { "permessage-deflate; server_no_context_takeover", "permessage-deflate" };
    int e, b, k, i, full, fds[4][2];
    df_rand(m, sizeof m, 31);
    for (e = 0; e < 2; e++) for (b = 0; b < 2; b++) {
        ws_config cfg;
        ws_ctx *ctx;
        ws_conn *sv[4] = { NULL, NULL, NULL, NULL };
        df_cfg(&cfg);
        cfg.on_event = df_budget_event;
        cfg.max_memory = (size_t)1 << 20;
        cfg.max_message = (size_t)1 << 20;   /* each queue: up to 1 MiB + 64 KiB */
        ctx = ws_ctx_create(&cfg);
        CHECK(ctx != NULL);
        if (!ctx) return;
        for (k = 0; k < 4; k++) sv[k] = df_adopt(ctx, fds[k], exts[e]);
        for (i = 0; i < 20; i++) ws_poll(ctx, 0);
        for (k = 0; k < 4; k++) CHECK(sv[k] && ws_conn_state(sv[k]) == WS_STATE_OPEN);
        for (i = 0, full = 0; i < 400 && !full; i++) {
            size_t nf = 0;
            if (b) { (void)ws_broadcast_ex(ctx, WS_OP_BINARY, m, sizeof m, NULL, 0, NULL, &nf); full = nf == 4; }
            else full = ws_conn_send(sv[0], WS_OP_BINARY, m, sizeof m) == WS_ERR_FULL;
        }
        CHECK(full);
        CHECK(ctx->mem_used <= cfg.max_memory);
        if (ctx->mem_used > cfg.max_memory) printf("  %s, %s: %lu bytes\n", exts[e], b ? "broadcast" : "send", (unsigned long)ctx->mem_used);
        ws_ctx_destroy(ctx);
        for (k = 0; k < 4; k++) close(fds[k][1]);
    }
}
/* A compressed send with no budget left for the compressed bytes (another peer's queue holds
 * max_memory) fails with WS_ERR_FULL, and DRAINED comes once the budget has room, as for an
 * uncompressed one (it said WS_ERR_NOMEM and no DRAINED: the sender had nothing to wait for). */
static ws_conn *df_nobuf_conn;
static int df_nobuf_drained;
static void df_nobuf_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)user;
    if (ev->type == WS_EV_DRAINED && c == df_nobuf_conn) df_nobuf_drained++;
}
static void test_deflate_budget_nobuf(void) {
    static uint8_t m[32768], buf[65536];
    ws_config cfg;
    ws_ctx *ctx;
    ws_conn *sv[2] = { NULL, NULL };
    int k, i, fds[2][2];
    ws_result rc = WS_OK;
    df_rand(m, sizeof m, 32);
    df_cfg(&cfg);
    cfg.on_event = df_nobuf_event;
    cfg.max_memory = (size_t)1 << 20;
    cfg.max_message = (size_t)4 << 20;   /* the queue limit is not what refuses */
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    for (k = 0; k < 2; k++) sv[k] = df_adopt(ctx, fds[k], "permessage-deflate; server_no_context_takeover");
    for (i = 0; i < 20; i++) ws_poll(ctx, 0);
    for (k = 0; k < 2; k++) CHECK(sv[k] && ws_conn_state(sv[k]) == WS_STATE_OPEN);
    df_nobuf_conn = sv[1];
    df_nobuf_drained = 0;
    CHECK_EQ(ws_conn_send(sv[1], WS_OP_BINARY, m, sizeof m), WS_OK);   /* the compressor exists: its */
    for (i = 0; i < 20; i++) ws_poll(ctx, 0);   /* memory is in the budget (else sends go plain) */
    for (i = 0; i < 400 && rc == WS_OK; i++)   /* sv[0]'s peer does not read: the budget fills */
        rc = ws_conn_send(sv[0], WS_OP_BINARY | WS_SEND_UNCOMPRESSED, m, sizeof m);
    CHECK_EQ(rc, WS_ERR_FULL);
    CHECK_EQ(ws_conn_send(sv[1], WS_OP_BINARY, m, sizeof m), WS_ERR_FULL);
    CHECK_EQ(ws_broadcast(ctx, WS_OP_BINARY, m, sizeof m, sv[0], NULL), WS_ERR_FULL);
    for (i = 0; i < 2000 && !df_nobuf_drained; i++) {   /* sv[0]'s peer reads now */
        while (recv(fds[0][1], buf, sizeof buf, MSG_DONTWAIT) > 0) {}
        ws_poll(ctx, 0);
    }
    CHECK_EQ(df_nobuf_drained, 1);
    CHECK_EQ(ws_conn_send(sv[1], WS_OP_BINARY, m, sizeof m), WS_OK);
    ws_ctx_destroy(ctx);
    for (k = 0; k < 2; k++) close(fds[k][1]);
}
/* A broadcast whose compressor the budget cannot hold (zlib's streams count in max_memory)
 * reaches every peer uncompressed, as a send does (it went compressed, outside the budget). */
static void test_deflate_budget_broadcast(void) {
    static const char hello[] = "Hello Hello Hello Hello Hello";
    uint8_t buf[256];
    ws_config cfg;
    ws_ctx *ctx;
    int k, i, fds[2][2];
    size_t sent = 0;
    df_cfg(&cfg);
    cfg.on_event = df_budget_event;
    cfg.max_memory = (size_t)128 << 10;   /* a 15/8 compressor takes ~262 KiB */
    ctx = ws_ctx_create(&cfg);
    CHECK(ctx != NULL);
    if (!ctx) return;
    for (k = 0; k < 2; k++)
        CHECK(df_adopt(ctx, fds[k], k ? "permessage-deflate; server_no_context_takeover" : "permessage-deflate") != NULL);
    for (i = 0; i < 20; i++) ws_poll(ctx, 0);
    CHECK_EQ(ws_broadcast(ctx, WS_OP_TEXT, hello, sizeof hello - 1, NULL, &sent), WS_OK);
    CHECK_EQ(sent, 2);
    for (i = 0; i < 20; i++) ws_poll(ctx, 0);
    for (k = 0; k < 2; k++) {
        ws_frame f;
        ssize_t n = recv(fds[k][1], buf, sizeof buf, MSG_DONTWAIT);
        CHECK(n > 0 && ws_frame_parse(buf, (size_t)n, WS_PARSE_RSV_MASK, &f, NULL, NULL) == WS_OK);
        CHECK(f.rsv == 0 && f.payload_len == sizeof hello - 1 && (size_t)n == f.header_len + sizeof hello - 1);
        CHECK(n > 0 && memcmp(buf + f.header_len, hello, sizeof hello - 1) == 0);
    }
    CHECK(ctx->mem_used <= cfg.max_memory);
    ws_ctx_destroy(ctx);
    for (k = 0; k < 2; k++) close(fds[k][1]);
}
#endif
#endif /* WS_NO_NET */

static void suite_deflate(void) {
    RUN(test_deflate_params);
    RUN(test_deflate_server_negotiation);
    RUN(test_deflate_client_offer);
    RUN(test_deflate_client_negotiation);
    RUN(test_deflate_client_agreed);
    RUN(test_deflate_agreed_opts);
    RUN(test_deflate_window_ours);
    RUN(test_deflate_window_peer);
    RUN(test_deflate_rfc_examples);
    RUN(test_deflate_send_rfc_bytes);
    RUN(test_deflate_rsv_rules);
    RUN(test_deflate_corrupt);
    RUN(test_deflate_bfinal);
    RUN(test_deflate_bomb);
    RUN(test_deflate_bomb_budget);
    RUN(test_deflate_zlib_budget);
    RUN(test_deflate_fragmented_rx);
    RUN(test_deflate_fragmented_tx);
    RUN(test_deflate_send_queue);
    RUN(test_deflate_full_drained);
    RUN(test_deflate_streams);
    RUN(test_deflate_roundtrip);
    RUN(test_deflate_engine_pair);
#ifndef WS_NO_NET
    RUN(test_deflate_broadcast);
    RUN(test_deflate_broadcast_takeover);
    RUN(test_deflate_broadcast_slow);
#ifdef EN_SOCKETS
    RUN(test_deflate_broadcast_sockets);
    RUN(test_deflate_budget_sockets);
    RUN(test_deflate_budget_nobuf);
    RUN(test_deflate_budget_broadcast);
#endif
#endif
#ifdef EN_SOCKETS
    RUN(test_deflate_adopt_upgraded);
    RUN(test_deflate_loopback);
#endif
}
