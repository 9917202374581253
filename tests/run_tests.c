/* run_tests.c - unity build of every unit and loopback test: reaches ws.h's static helpers.
 *   make test            (or: ./build/run_tests [name-filter])
 * The last line printed is "N passed, N failed"; the exit status is 0 only if none failed. */
#define WS_IMPLEMENTATION
#include "../ws.h"
#include "test.h"

#include "test_sha1_base64.c"
#include "test_utf8.c"
#include "test_frame.c"
#include "test_http.c"
#include "test_conn.c"
#include "test_engine.c"
#include "test_fw_engine.c"
#ifndef WS_NO_NET
#include "test_loopback.c"
#include "test_transport.c"
#include "test_watch.c"
#include "test_apploop.c"
#include "test_usage.c"
#include "test_proxy.c"
#include "test_budget.c"
#include "test_callbacks.c"
#include "test_platform.c"
#include "test_race.c"
#endif
#ifdef WS_USE_ZLIB   /* make test-zlib: permessage-deflate (engine tests; loopback ones with sockets) */
#include "test_deflate.c"
#endif

int main(int argc, char **argv) {
    t_only = argc > 1 ? argv[1] : NULL;
    suite_sha1_base64();
    suite_utf8();
    suite_frame();
    suite_http();
    suite_conn();
    suite_engine();
    suite_fw_engine();
#ifndef WS_NO_NET   /* make test-nonet: the codec and engine tests, built without sockets */
    suite_loopback();
    suite_transport();
    suite_watch();
    suite_apploop();
    suite_usage();
    suite_proxy();
    suite_budget();
    suite_callbacks();
    suite_platform();
    suite_race();
#endif
#ifdef WS_USE_ZLIB
    suite_deflate();
#endif
    return t_summary();
}
