/* test_http.c */

static void suite_http(void) {
}
