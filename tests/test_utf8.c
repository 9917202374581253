/* test_utf8.c */

static void suite_utf8(void) {
}
