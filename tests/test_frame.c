/* test_frame.c */

static void suite_frame(void) {
}
