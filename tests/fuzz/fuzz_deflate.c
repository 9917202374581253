/* fuzz_deflate.c - libFuzzer target: fuzz_conn.c's harness (the public engine, both roles,
 * handshakes, pushed output, an advancing clock) with permessage-deflate negotiated or agreed
 * as byte 2 of the input says (see fuzz_conn.c), so the inflate path, the RSV1 rules and the
 * negotiation get fuzzed; with -DWS_USE_ZLIB -lz (make fuzz adds them when zlib is there),
 * else it runs as fuzz_conn with compression off.
 *   make fuzz   (or: build/fuzz_deflate [corpus dir]) */
#define FZ_DEFLATE 1
#include "fuzz_conn.c"
