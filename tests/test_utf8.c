/* test_utf8.c - UTF-8 validation (RFC 3629 section 3-4), checked against Markus Kuhn's decoder
 * stress test and against a code-point reference decoder written here from the RFC.
 * Every case is fed whole, byte by byte, and split at every offset (one and two cuts). */

/* ---- reference: is s[0..m) the start of one well-formed UTF-8 sequence? (RFC 3629 3)
 * The bytes fix the high bits of the code point; the rest are free. The prefix is good iff that
 * range of code points meets the scalar values the sequence length may encode: at least
 * 0x80/0x800/0x10000 (no overlongs), at most U+10FFFF, and not only surrogates D800-DFFF. */
static int u8ref_len(unsigned b) {
    return b < 0x80 ? 1 : b < 0xC0 ? 0 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : b < 0xF8 ? 4 : 0;
}

static int u8ref_prefix_ok(const uint8_t *s, size_t m) {
    static const unsigned long min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    int L = u8ref_len(s[0]);
    unsigned long cp, lo, hi;
    size_t k;
    if (L <= 1) return L;
    cp = s[0] & (0x7Fu >> L);
    for (k = 1; k < m; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3Fu);
    }
    lo = cp << (6 * ((size_t)L - m));
    hi = lo | ((1ul << (6 * ((size_t)L - m))) - 1);
    if (lo < min_cp[L]) lo = min_cp[L];
    if (hi > 0x10FFFF) hi = 0x10FFFF;
    return lo <= hi && !(lo >= 0xD800 && hi <= 0xDFFF);
}

/* *bad = offset of the first byte after which no continuation can be valid, or -1.
 * *complete = 1 if the text ends at a character boundary. */
static void u8ref(const uint8_t *p, size_t n, long *bad, int *complete) {
    size_t j, start = 0, m = 0;
    *bad = -1;
    for (j = 0; j < n; j++) {
        if (m == 0) start = j;
        m++;
        if (!u8ref_prefix_ok(p + start, m)) { *bad = (long)j; *complete = 0; return; }
        if ((int)m == u8ref_len(p[start])) m = 0;
    }
    *complete = m == 0;
}

/* Encodes cp in exactly L bytes (L = 1..6, the pre-2003 scheme: overlongs, surrogates and
 * 5/6-byte forms included) - a generator for invalid text, not a validator. */
static size_t u8enc(unsigned long cp, int L, uint8_t *out) {
    static const uint8_t lead[7] = {0, 0, 0xC0, 0xE0, 0xF0, 0xF8, 0xFC};
    int k;
    if (L == 1) { out[0] = (uint8_t)cp; return 1; }
    for (k = L - 1; k > 0; k--) { out[k] = (uint8_t)(0x80 | (cp & 0x3F)); cp >>= 6; }
    out[0] = (uint8_t)(lead[L] | cp);
    return (size_t)L;
}

static int u8enc_len(unsigned long cp) {
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* ---- driving ws_utf8_feed ---- */

/* Feeds p in pieces [0, cuts[0]), [cuts[0], cuts[1]) ... [cuts[k-1], n). The piece holding
 * byte `bad` must fail with *bad_at relative to that piece; every other piece must pass, and
 * ws_utf8_complete must agree with the reference after each one. */
static void u8_pieces(const uint8_t *p, size_t n, const size_t *cuts, size_t k, long bad) {
    ws_utf8 s;
    size_t start = 0, end, i, at;
    long rb;
    int rc;
    ws_result r;
    memset(&s, 0, sizeof s);
    for (i = 0; i <= k && !t_bad; i++, start = end) {
        end = i < k ? cuts[i] : n;
        at = (size_t)-1;
        r = ws_utf8_feed(&s, p + start, end - start, &at);
        if (bad >= 0 && (size_t)bad < end) {
            CHECK_EQ(r, WS_ERR_UTF8);
            CHECK_EQ(at, (size_t)bad - start);
            return;
        }
        CHECK_EQ(r, WS_OK);
        CHECK_EQ(at, (size_t)-1);                 /* untouched on success */
        u8ref(p, end, &rb, &rc);
        CHECK_EQ(ws_utf8_complete(&s), rc);
    }
}

static void u8_splits(const uint8_t *p, size_t n, long bad, int all_pairs) {
    size_t cuts[256], i, j;
    CHECK(n < 256);
    u8_pieces(p, n, NULL, 0, bad);                          /* whole */
    for (i = 0; i + 1 < n; i++) cuts[i] = i + 1;
    u8_pieces(p, n, cuts, n ? n - 1 : 0, bad);              /* byte by byte */
    for (i = 0; i <= n && !t_bad; i++) {                    /* one cut, empty pieces too */
        cuts[0] = i;
        u8_pieces(p, n, cuts, 1, bad);
        for (j = i; all_pairs && j <= n && !t_bad; j++) {  /* two cuts */
            cuts[1] = j;
            u8_pieces(p, n, cuts, 2, bad);
        }
    }
}

/* One case: bad = offset of the first bad byte (-1: none); complete = ends on a boundary.
 * Also checked behind ASCII prefixes of every length 0..9 and with ASCII after it. */
static void u8_case(const void *text, size_t n, long bad, int complete) {
    const uint8_t *p = (const uint8_t *)text;
    uint8_t buf[300];
    long rb;
    int rc;
    size_t k;
    ws_utf8 s;
    u8ref(p, n, &rb, &rc);               /* the reference agrees with the hand-written answer */
    CHECK_EQ(rb, bad);
    if (bad < 0) CHECK_EQ(rc, complete);
    CHECK_EQ(ws_utf8_validate(p, n), bad < 0 && complete ? WS_OK : WS_ERR_UTF8);
    memset(&s, 0, sizeof s);             /* bad_at may be NULL */
    CHECK_EQ(ws_utf8_feed(&s, p, n, NULL), bad < 0 ? WS_OK : WS_ERR_UTF8);
    u8_splits(p, n, bad, 1);
    CHECK(n + 30 < sizeof buf);
    for (k = 0; k < 10 && !t_bad; k++) {
        memcpy(buf, "0123456789", k);
        memcpy(buf + k, p, n);
        u8_splits(buf, k + n, bad < 0 ? -1 : bad + (long)k, 0);
        if (bad >= 0) continue;
        memset(buf + k + n, 'x', 20);    /* ASCII after: bad where a sequence was cut short */
        u8ref(buf, k + n + 20, &rb, &rc);
        CHECK_EQ(rb, complete ? -1 : (long)(k + n));
        u8_splits(buf, k + n + 20, rb, 0);
    }
}

#define U8_OK(lit)        u8_case(lit, sizeof(lit) - 1, -1, 1)
#define U8_SHORT(lit)     u8_case(lit, sizeof(lit) - 1, -1, 0)   /* valid but truncated */
#define U8_BAD(lit, at)   u8_case(lit, sizeof(lit) - 1, at, 0)

/* ---- Kuhn section 1 and 2: correct text and boundary conditions ---- */
static void test_utf8_kuhn_greek(void) {
    U8_OK("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5");   /* kosme */
    U8_OK("");
    U8_OK("Hello, world");
}

static void test_utf8_first_of_each_length(void) {
    U8_OK("\x00");                        /* U+0000 */
    U8_OK("\xC2\x80");                    /* U+0080 */
    U8_OK("\xE0\xA0\x80");                /* U+0800 */
    U8_OK("\xF0\x90\x80\x80");            /* U+10000 */
}

static void test_utf8_last_of_each_length(void) {
    U8_OK("\x7F");                        /* U+007F */
    U8_OK("\xDF\xBF");                    /* U+07FF */
    U8_OK("\xEF\xBF\xBF");                /* U+FFFF: a noncharacter, but valid UTF-8 */
    U8_BAD("\xF7\xBF\xBF\xBF", 0);        /* U+1FFFFF: F7 can start nothing valid */
}

static void test_utf8_other_boundaries(void) {
    U8_OK("\xED\x9F\xBF");                /* U+D7FF */
    U8_OK("\xEE\x80\x80");                /* U+E000 */
    U8_OK("\xEF\xBF\xBD");                /* U+FFFD */
    U8_OK("\xF4\x8F\xBF\xBF");            /* U+10FFFF */
    U8_BAD("\xF4\x90\x80\x80", 1);        /* U+110000 */
    U8_BAD("\xF4\x90", 1);
    U8_BAD("\xF4\xBF\xBF\xBF", 1);
}

static void test_utf8_five_and_six_byte_forms(void) {
    U8_BAD("\xF8\x88\x80\x80\x80", 0);                /* first 5-byte: U+200000 */
    U8_BAD("\xFC\x84\x80\x80\x80\x80", 0);            /* first 6-byte: U+4000000 */
    U8_BAD("\xFB\xBF\xBF\xBF\xBF", 0);                /* last 5-byte: U+3FFFFFF */
    U8_BAD("\xFD\xBF\xBF\xBF\xBF\xBF", 0);            /* last 6-byte: U+7FFFFFFF */
}

/* ---- Kuhn section 3: malformed sequences ---- */
static void test_utf8_lone_continuations(void) {
    uint8_t all[64];
    unsigned b;
    U8_BAD("\x80", 0);
    U8_BAD("\xBF", 0);
    U8_BAD("\x80\xBF", 0);
    U8_BAD("\x80\xBF\x80", 0);
    U8_BAD("\x80\xBF\x80\xBF\x80\xBF\x80", 0);
    U8_BAD("a\x80", 1);
    U8_BAD("\xC2\x80\x80", 2);            /* one continuation too many */
    U8_BAD("\xE2\x82\xAC\xBF", 3);
    for (b = 0x80; b <= 0xBF; b++) all[b - 0x80] = (uint8_t)b;
    u8_case(all, sizeof all, 0, 0);       /* all 64 continuation bytes */
    for (b = 0x80; b <= 0xBF; b++) u8_case(all + (b - 0x80), 1, 0, 0);
}

static void test_utf8_lonely_start_bytes(void) {
    uint8_t two[2];
    unsigned b;
    for (b = 0xC0; b <= 0xFF; b++) {      /* each start byte followed by a space */
        two[0] = (uint8_t)b; two[1] = ' ';
        u8_case(two, 2, b >= 0xC2 && b <= 0xF4 ? 1 : 0, 0);
    }
}

static void test_utf8_truncated(void) {           /* last continuation byte missing */
    U8_SHORT("\xC2");                             /* U+0080 */
    U8_SHORT("\xE0\xA0");                         /* U+0800 */
    U8_SHORT("\xF0\x90\x80");                     /* U+10000 */
    U8_SHORT("\xDF");                             /* U+07FF */
    U8_SHORT("\xEF\xBF");                         /* U+FFFF */
    U8_SHORT("\xF4\x8F\xBF");                     /* U+10FFFF */
    U8_SHORT("\xE2\x82");
    U8_SHORT("\xF0");
    U8_SHORT("\xF4");
    U8_SHORT("ab\xED\x9F");
    U8_BAD("\xF8\x88\x80\x80", 0);
    U8_BAD("\xFC\x84\x80\x80\x80", 0);
    U8_BAD("\xF7\xBF\xBF", 0);
    U8_BAD("\xFB\xBF\xBF\xBF", 0);
    U8_BAD("\xFD\xBF\xBF\xBF\xBF", 0);
    U8_BAD("\xC3" "A", 1);                        /* cut short by ASCII */
    U8_BAD("\xE2\x82" "A", 2);
    U8_BAD("\xF0\x9F\x98" "\xF0\x9F\x98\x80", 3); /* cut short by a new start byte */
}

static void test_utf8_truncated_concatenated(void) {  /* Kuhn 3.4 */
    U8_BAD("\xC2\xE0\xA0\xF0\x90\x80\xF8\x88\x80\x80\xFC\x84\x80\x80\x80"
           "\xDF\xEF\xBF\xF7\xBF\xBF\xFB\xBF\xBF\xBF\xFD\xBF\xBF\xBF\xBF", 1);
    U8_BAD("\xDF\xEF\xBF", 1);
}

static void test_utf8_impossible_bytes(void) {    /* Kuhn 3.5: F5-FF never appear */
    uint8_t b1[1];
    unsigned b;
    U8_BAD("\xFE", 0);
    U8_BAD("\xFF", 0);
    U8_BAD("\xFE\xFE\xFF\xFF", 0);
    for (b = 0xF5; b <= 0xFF; b++) { b1[0] = (uint8_t)b; u8_case(b1, 1, 0, 0); }
    U8_BAD("ok\xF5\x80\x80\x80", 2);
}

static void test_utf8_c0_c1(void) {               /* C0, C1 only start overlong 2-byte forms */
    uint8_t two[2];
    unsigned b;
    for (b = 0x80; b <= 0xBF; b++) {
        two[1] = (uint8_t)b;
        two[0] = 0xC0; u8_case(two, 2, 0, 0);
        two[0] = 0xC1; u8_case(two, 2, 0, 0);
        two[0] = 0xC2; u8_case(two, 2, -1, 1);
    }
    U8_BAD("\xC0", 0);
    U8_BAD("\xC1", 0);
}

/* ---- Kuhn section 4: overlong sequences ---- */
static void test_utf8_overlong_slash(void) {      /* U+002F */
    U8_BAD("\xC0\xAF", 0);
    U8_BAD("\xE0\x80\xAF", 1);
    U8_BAD("\xF0\x80\x80\xAF", 1);
    U8_BAD("\xF8\x80\x80\x80\xAF", 0);
    U8_BAD("\xFC\x80\x80\x80\x80\xAF", 0);
}

static void test_utf8_overlong_maximal(void) {    /* the largest overlong of each length */
    U8_BAD("\xC1\xBF", 0);                        /* U+007F */
    U8_BAD("\xE0\x9F\xBF", 1);                    /* U+07FF */
    U8_BAD("\xF0\x8F\xBF\xBF", 1);                /* U+FFFF */
    U8_BAD("\xF8\x87\xBF\xBF\xBF", 0);            /* U+1FFFFF */
    U8_BAD("\xFC\x83\xBF\xBF\xBF\xBF", 0);        /* U+3FFFFFF */
}

static void test_utf8_overlong_nul(void) {
    U8_BAD("\xC0\x80", 0);
    U8_BAD("\xE0\x80\x80", 1);
    U8_BAD("\xF0\x80\x80\x80", 1);
    U8_BAD("\xF8\x80\x80\x80\x80", 0);
    U8_BAD("\xFC\x80\x80\x80\x80\x80", 0);
}

/* ---- Kuhn section 5: surrogates (RFC 3629 3: D800-DFFF are not characters) ---- */
static void test_utf8_single_surrogates(void) {
    U8_BAD("\xED\xA0\x80", 1);                    /* U+D800 */
    U8_BAD("\xED\xAD\xBF", 1);                    /* U+DB7F */
    U8_BAD("\xED\xAE\x80", 1);                    /* U+DB80 */
    U8_BAD("\xED\xAF\xBF", 1);                    /* U+DBFF */
    U8_BAD("\xED\xB0\x80", 1);                    /* U+DC00 */
    U8_BAD("\xED\xBE\x80", 1);                    /* U+DF80 */
    U8_BAD("\xED\xBF\xBF", 1);                    /* U+DFFF */
    U8_BAD("\xED\xA0", 1);
}

static void test_utf8_paired_surrogates(void) {
    U8_BAD("\xED\xA0\x80\xED\xB0\x80", 1);        /* U+D800 U+DC00 */
    U8_BAD("\xED\xA0\x80\xED\xBF\xBF", 1);
    U8_BAD("\xED\xAD\xBF\xED\xB0\x80", 1);
    U8_BAD("\xED\xAD\xBF\xED\xBF\xBF", 1);
    U8_BAD("\xED\xAE\x80\xED\xB0\x80", 1);
    U8_BAD("\xED\xAE\x80\xED\xBF\xBF", 1);
    U8_BAD("\xED\xAF\xBF\xED\xB0\x80", 1);
    U8_BAD("\xED\xAF\xBF\xED\xBF\xBF", 1);        /* U+DBFF U+DFFF */
    U8_BAD("x\xED\xA0\x80\xED\xB0\x80", 2);
}

static void test_utf8_noncharacters_valid(void) { /* Kuhn 5.3: noncharacters are valid UTF-8 */
    U8_OK("\xEF\xBF\xBE");                        /* U+FFFE */
    U8_OK("\xEF\xBF\xBF");                        /* U+FFFF */
    U8_OK("\xEF\xB7\x90");                        /* U+FDD0 */
    U8_OK("\xEF\xB7\xAF");                        /* U+FDEF */
    U8_OK("\xF0\x9F\xBF\xBE\xF0\x9F\xBF\xBF");    /* U+1FFFE U+1FFFF */
    U8_OK("\xF4\x8F\xBF\xBE");                    /* U+10FFFE */
}

static void test_utf8_brief_examples(void) {
    U8_BAD("\xED\xA0\x80", 1);
    U8_BAD("\xF4\x90", 1);
    U8_BAD("ab\xC0", 2);
}

/* ---- across feeds: the error offset is within the feed that failed ---- */
static void test_utf8_bad_at_across_feeds(void) {
    ws_utf8 s;
    size_t at = 99;
    memset(&s, 0, sizeof s);
    CHECK_EQ(ws_utf8_feed(&s, "abc\xED", 4, &at), WS_OK);
    CHECK_EQ(ws_utf8_complete(&s), 0);
    CHECK_EQ(ws_utf8_feed(&s, "\xA0\x80", 2, &at), WS_ERR_UTF8);
    CHECK_EQ(at, 0);
    memset(&s, 0, sizeof s);
    CHECK_EQ(ws_utf8_feed(&s, "\xF0\x9F", 2, &at), WS_OK);
    CHECK_EQ(ws_utf8_feed(&s, "", 0, &at), WS_OK);
    CHECK_EQ(ws_utf8_feed(&s, "\x98", 1, &at), WS_OK);
    CHECK_EQ(ws_utf8_complete(&s), 0);
    CHECK_EQ(ws_utf8_feed(&s, "\x80zz\xFF", 4, &at), WS_ERR_UTF8);
    CHECK_EQ(at, 3);
    memset(&s, 0, sizeof s);                      /* reset to zero: usable again */
    CHECK_EQ(ws_utf8_feed(&s, "\xE2\x82\xAC", 3, &at), WS_OK);
    CHECK_EQ(ws_utf8_complete(&s), 1);
}

static void test_utf8_complete_states(void) {
    ws_utf8 s;
    static const char *starts[] = {"\xC2", "\xE0", "\xE0\xA0", "\xED", "\xED\x9F", "\xF0",
                                   "\xF0\x90", "\xF0\x90\x80", "\xF4", "\xF4\x8F\xBF"};
    size_t i;
    memset(&s, 0, sizeof s);
    CHECK_EQ(ws_utf8_complete(&s), 1);            /* zero = boundary */
    for (i = 0; i < sizeof starts / sizeof *starts; i++) {
        memset(&s, 0, sizeof s);
        CHECK_EQ(ws_utf8_feed(&s, starts[i], strlen(starts[i]), NULL), WS_OK);
        CHECK_EQ(ws_utf8_complete(&s), 0);
        CHECK_EQ(ws_utf8_validate(starts[i], strlen(starts[i])), WS_ERR_UTF8);
    }
}

/* ---- exhaustive: every scalar value, every 2-byte string ---- */
static void test_utf8_every_code_point(void) {
    uint8_t b[4];
    unsigned long cp;
    size_t n, at;
    ws_utf8 s;
    for (cp = 0; cp <= 0x10FFFF && !t_bad; cp++) {
        int sur = cp >= 0xD800 && cp <= 0xDFFF;
        n = u8enc(cp, u8enc_len(cp), b);
        memset(&s, 0, sizeof s);
        at = 0;
        CHECK_EQ(ws_utf8_feed(&s, b, n, &at), sur ? WS_ERR_UTF8 : WS_OK);
        if (sur) CHECK_EQ(at, 1);
        else CHECK_EQ(ws_utf8_complete(&s), 1);
        CHECK_EQ(ws_utf8_validate(b, n), sur ? WS_ERR_UTF8 : WS_OK);
    }
}

static void test_utf8_every_overlong(void) {      /* each code point in every longer form */
    uint8_t b[6];
    unsigned long cp;
    int L;
    size_t n, at;
    ws_utf8 s;
    for (cp = 0; cp < 0x10000 && !t_bad; cp += (cp < 0x1000 ? 1 : 61)) {
        for (L = u8enc_len(cp) + 1; L <= 6; L++) {
            n = u8enc(cp, L, b);
            memset(&s, 0, sizeof s);
            CHECK_EQ(ws_utf8_feed(&s, b, n, &at), WS_ERR_UTF8);
            CHECK_EQ(at, b[0] == 0xE0 || b[0] == 0xF0 ? 1 : 0);
            CHECK_EQ(ws_utf8_validate(b, n), WS_ERR_UTF8);
        }
    }
}

static void test_utf8_every_two_bytes(void) {
    uint8_t b[2];
    unsigned v;
    long rb;
    int rc;
    size_t at;
    ws_utf8 s;
    for (v = 0; v < 65536 && !t_bad; v++) {
        b[0] = (uint8_t)(v >> 8); b[1] = (uint8_t)v;
        u8ref(b, 2, &rb, &rc);
        memset(&s, 0, sizeof s);
        at = 7;
        CHECK_EQ(ws_utf8_feed(&s, b, 2, &at), rb < 0 ? WS_OK : WS_ERR_UTF8);
        if (rb >= 0) CHECK_EQ(at, rb);
        else CHECK_EQ(ws_utf8_complete(&s), rc);
        CHECK_EQ(ws_utf8_validate(b, 2), rb < 0 && rc ? WS_OK : WS_ERR_UTF8);
    }
}

/* ---- the 8-bytes-at-a-time ASCII path: a bad or multi-byte char at every position ---- */
static void u8_ascii_run(size_t align, size_t pos, size_t tail, const char *ins, long bad_in) {
    uint8_t buf[128], *p = buf + align;
    size_t m = strlen(ins), n = pos + m + tail, at = 0;
    long bad = bad_in < 0 ? -1 : (long)pos + bad_in;
    ws_utf8 s;
    ws_result r;
    size_t i;
    for (i = 0; i < pos; i++) p[i] = (uint8_t)(0x20 + (i * 7) % 0x5F);  /* printable ASCII */
    memcpy(p + pos, ins, m);
    memset(p + pos + m, 0x7F, tail);
    memset(&s, 0, sizeof s);
    r = ws_utf8_feed(&s, p, n, &at);
    CHECK_EQ(r, bad < 0 ? WS_OK : WS_ERR_UTF8);
    if (bad >= 0) CHECK_EQ(at, bad);
    else CHECK_EQ(ws_utf8_complete(&s), 1);
    CHECK_EQ(ws_utf8_validate(p, n), bad < 0 ? WS_OK : WS_ERR_UTF8);
    if (pos < 8) u8_splits(p, n, bad, 0);
}

static void test_utf8_ascii_fast_path(void) {
    static const char *ins[] = {"\x80", "\xFF", "\xC0\x80", "\xED\xA0\x80", "\xC3\x41",
                                "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\x7F"};
    static const long bad[] = {0, 0, 0, 1, 1, -1, -1, -1, -1};
    size_t align, pos, tail, k;
    for (k = 0; k < sizeof ins / sizeof *ins; k++)
        for (align = 0; align < 8; align++)
            for (pos = 0; pos <= 40 && !t_bad; pos++)
                for (tail = 0; tail <= 17; tail += (tail < 9 ? 1 : 8))
                    u8_ascii_run(align, pos, tail, ins[k], bad[k]);
}

static void test_utf8_ascii_truncated_end(void) {  /* a long ASCII run, then a cut character */
    uint8_t buf[64];
    size_t n;
    ws_utf8 s;
    for (n = 0; n < 50; n++) {
        memset(buf, 'a', n);
        buf[n] = 0xE2; buf[n + 1] = 0x82;
        memset(&s, 0, sizeof s);
        CHECK_EQ(ws_utf8_feed(&s, buf, n + 2, NULL), WS_OK);
        CHECK_EQ(ws_utf8_complete(&s), 0);
        CHECK_EQ(ws_utf8_validate(buf, n + 2), WS_ERR_UTF8);
        CHECK_EQ(ws_utf8_feed(&s, "\xAC", 1, NULL), WS_OK);
        CHECK_EQ(ws_utf8_complete(&s), 1);
    }
}

/* ---- randomized against the reference (fixed seed) ---- */
static uint8_t u8_rand_byte(void) {
    static const uint8_t pick[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
                                   0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0,
                                   0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFC, 0xFE, 0xFF};
    unsigned r = t_rand() % 8;
    if (r < 3) return (uint8_t)(t_rand() & 0x7F);
    if (r < 5) return (uint8_t)(0x80 | (t_rand() & 0x3F));
    if (r < 7) return pick[t_rand() % sizeof pick];
    return (uint8_t)t_rand();
}

static size_t u8_rand_text(uint8_t *b, size_t cap) {  /* valid text, sometimes damaged */
    size_t n = 0, want = t_rand() % (cap - 8);
    unsigned long cp;
    while (n < want) {
        unsigned r = t_rand() % 4;
        cp = r == 0 ? t_rand() % 0x80 : r == 1 ? t_rand() % 0x800 : r == 2 ? t_rand() % 0x10000
                    : t_rand() % 0x110000;
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        n += u8enc(cp, u8enc_len(cp), b + n);
    }
    if (n && t_rand() % 2) b[t_rand() % n] = u8_rand_byte();
    if (n && t_rand() % 4 == 0) n -= t_rand() % 4 % (n + 1);
    return n;
}

/* b[0..n) whole through ws_utf8_validate and ws_utf8_feed: both agree with the reference
 * u8ref. Returns the reference's failure offset (-1: none), for the pieces that follow. */
static long u8_whole_vs_reference(const uint8_t *b, size_t n) {
    ws_utf8 s;
    size_t at = (size_t)-1;
    long rb;
    int rc;
    u8ref(b, n, &rb, &rc);
    CHECK_EQ(ws_utf8_validate(b, n), rb < 0 && rc ? WS_OK : WS_ERR_UTF8);
    memset(&s, 0, sizeof s);
    CHECK_EQ(ws_utf8_feed(&s, b, n, &at), rb < 0 ? WS_OK : WS_ERR_UTF8);
    if (rb >= 0) CHECK_EQ(at, rb);
    else CHECK_EQ(ws_utf8_complete(&s), rc);
    return rb;
}

static void test_utf8_random_vs_reference(void) {
    uint8_t b[96];
    size_t n, i, cut;
    long rb;
    int iter;
    t_rng_state = 0x5EED0001u;
    for (iter = 0; iter < 20000 && !t_bad; iter++) {
        if (iter % 2) {
            n = t_rand() % 64;
            for (i = 0; i < n; i++) b[i] = u8_rand_byte();
        } else {
            n = u8_rand_text(b, sizeof b);
        }
        rb = u8_whole_vs_reference(b, n);
        cut = n ? t_rand() % (n + 1) : 0;
        u8_pieces(b, n, &cut, 1, rb);
    }
}

/* Long texts (64 B - 4 KiB), so the vector path (ws__utf8_simd, 16-byte blocks, 64-byte ASCII
 * steps) and its hand-over to the scalar code run: every kind of character, long ASCII runs,
 * each class of damage at any offset; whole and in pieces, against the reference. */
static size_t u8_long_text(uint8_t *b, size_t cap) {
    size_t n = 0, want = 64 + t_rand() % (cap - 64 - 8);
    int mode = (int)(t_rand() % 4);   /* mostly ASCII, 2-byte, 3-byte, mixed */
    while (n < want) {
        unsigned long cp;
        unsigned r = t_rand() % 16;
        if (r < 2 && mode != 1 && mode != 2) {   /* an ASCII run, often long */
            size_t run = 1 + t_rand() % 100, j;
            for (j = 0; j < run && n < want; j++) b[n++] = (uint8_t)(0x20 + t_rand() % 0x5F);
            continue;
        }
        cp = mode == 1 ? 0x80 + t_rand() % 0x780 : mode == 2 ? 0x800 + t_rand() % 0xF800
           : (r % 4 == 0 ? t_rand() % 0x80 : r % 4 == 1 ? t_rand() % 0x800 : r % 4 == 2 ? t_rand() % 0x10000
                         : 0x10000 + t_rand() % 0x100000);
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        n += u8enc(cp, u8enc_len(cp), b + n);
    }
    return n;
}
static void test_utf8_long_vs_reference(void) {
    static uint8_t b[4096 + 8];
    size_t n, cuts[3];
    long rb;
    int iter, d;
    t_rng_state = 0x5EED0002u;
    for (iter = 0; iter < 3000 && !t_bad; iter++) {
        n = u8_long_text(b, 4096);
        for (d = (int)(t_rand() % 3); d > 0; d--) {   /* 0-2 damages */
            size_t where = t_rand() % n;
            switch (t_rand() % 4) {
            case 0: b[where] = u8_rand_byte(); break;
            case 1: b[where] = (uint8_t)(0x80 | (t_rand() & 0x3F)); break;   /* a stray continuation */
            case 2: b[where] = (uint8_t)"\xC0\xC1\xF5\xFF\xE0\xED\xF0\xF4"[t_rand() % 8]; break;
            default: n = where; break;                    /* cut inside a character */
            }
        }
        rb = u8_whole_vs_reference(b, n);
        cuts[0] = t_rand() % (n + 1);
        cuts[1] = cuts[0] + t_rand() % (n - cuts[0] + 1);
        cuts[2] = cuts[1] + t_rand() % (n - cuts[1] + 1);
        u8_pieces(b, n, cuts, 3, rb);
    }
}

/* The vector path's block edges: a lead byte with a narrowed or forbidden follower (E0, ED, F0,
 * F4, C0, C1, F5-FF, and ordinary C2/E1/F1 leads) at every offset of the first four 16-byte
 * blocks of ASCII, 2-, 3- and 4-byte text, followed by each edge value of the next byte and
 * a complete or a cut continuation: the result and the failure offset equal the reference's,
 * whole and fed in two pieces cut right after the lead. */
static void test_utf8_vector_block_edges(void) {
    static const uint8_t leads[] = {0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF1, 0xF4, 0xF5, 0xFF};
    static const uint8_t next[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC2, 0xE1, 0xF1};
    static const unsigned long fill[4] = {'a', 0x436, 0x4E2D, 0x1F600};
    uint8_t b[200];
    size_t li, ni, n, at, off, cut;
    long rb;
    int rc, mode, tail;
    ws_utf8 s;
    for (mode = 0; mode < 4 && !t_bad; mode++)
        for (off = 0; off < 66 && !t_bad; off++)
            for (li = 0; li < sizeof leads; li++)
                for (ni = 0; ni < sizeof next; ni++)
                    for (tail = 0; tail < 2; tail++) {
                        n = 0;
                        while (n < off) n += u8enc(n + 4 <= off ? fill[mode] : 'a', n + 4 <= off ? u8enc_len(fill[mode]) : 1, b + n);
                        b[n++] = leads[li];
                        b[n++] = next[ni];
                        if (tail) { b[n++] = 0xBF; b[n++] = 0x80; }   /* the rest of a 3/4-byte character, or stray */
                        while (n < 150) n += u8enc(fill[mode], u8enc_len(fill[mode]), b + n);
                        u8ref(b, n, &rb, &rc);
                        CHECK_EQ(ws_utf8_validate(b, n), rb < 0 && rc ? WS_OK : WS_ERR_UTF8);
                        memset(&s, 0, sizeof s);
                        at = (size_t)-1;
                        CHECK_EQ(ws_utf8_feed(&s, b, n, &at), rb < 0 ? WS_OK : WS_ERR_UTF8);
                        if (rb >= 0) CHECK_EQ(at, (size_t)rb);
                        cut = off + 1;
                        u8_pieces(b, n, &cut, 1, rb);
                        if (t_bad) { printf("  mode %d offset %zu lead %02X next %02X tail %d\n", mode, off, leads[li], next[ni], tail); return; }
                    }
}

static void suite_utf8(void) {
    RUN(test_utf8_kuhn_greek);
    RUN(test_utf8_first_of_each_length);
    RUN(test_utf8_last_of_each_length);
    RUN(test_utf8_other_boundaries);
    RUN(test_utf8_five_and_six_byte_forms);
    RUN(test_utf8_lone_continuations);
    RUN(test_utf8_lonely_start_bytes);
    RUN(test_utf8_truncated);
    RUN(test_utf8_truncated_concatenated);
    RUN(test_utf8_impossible_bytes);
    RUN(test_utf8_c0_c1);
    RUN(test_utf8_overlong_slash);
    RUN(test_utf8_overlong_maximal);
    RUN(test_utf8_overlong_nul);
    RUN(test_utf8_single_surrogates);
    RUN(test_utf8_paired_surrogates);
    RUN(test_utf8_noncharacters_valid);
    RUN(test_utf8_brief_examples);
    RUN(test_utf8_bad_at_across_feeds);
    RUN(test_utf8_complete_states);
    RUN(test_utf8_every_code_point);
    RUN(test_utf8_every_overlong);
    RUN(test_utf8_every_two_bytes);
    RUN(test_utf8_ascii_fast_path);
    RUN(test_utf8_ascii_truncated_end);
    RUN(test_utf8_random_vs_reference);
    RUN(test_utf8_long_vs_reference);
    RUN(test_utf8_vector_block_edges);
}
