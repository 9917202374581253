# ws.h - build, test and fuzz.   make test  |  make examples  |  make fuzz  |  make clean
CC      ?= cc
CXX     ?= c++
CFLAGS  ?= -std=c99 -g -O1 -Wall -Wextra -Wpedantic -Wshadow -Wundef -Wconversion \
           -Wstrict-prototypes -Wmissing-prototypes -Werror
SAN     ?= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDLIBS  += $(if $(filter Windows_NT,$(OS)),-lws2_32 -lbcrypt,-lpthread)
VALGRIND ?= $(shell command -v valgrind 2>/dev/null)
MINGW   ?= $(shell command -v x86_64-w64-mingw32-gcc 2>/dev/null)
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 10
FUZZERS := $(patsubst tests/fuzz/%.c,build/%,$(wildcard tests/fuzz/fuzz_*.c))
TEST_SRC := ws.h $(wildcard tests/*.h) $(wildcard tests/*.c)
EXAMPLES := $(patsubst examples/%.c,build/%,$(wildcard examples/*.c))
# wss:// needs mbedTLS (WS_USE_MBEDTLS): found when <mbedtls/ssl.h> compiles. The system's by
# default; MBEDTLS_DIR=/path (its include/ and lib/, e.g. a cmake --install prefix) picks another,
# e.g. `make tls MBEDTLS_DIR=/opt/mbedtls-3.6` (2.28, 3.x and 4.x all link the same three libraries)
MBEDTLS_DIR ?=
TLS_CFLAGS ?= $(if $(MBEDTLS_DIR),-isystem $(MBEDTLS_DIR)/include)
TLS_LIBS ?= $(if $(MBEDTLS_DIR),-L$(MBEDTLS_DIR)/lib -Wl$(comma)-rpath$(comma)$(MBEDTLS_DIR)/lib) \
            -lmbedtls -lmbedx509 -lmbedcrypto
comma := ,
MBEDTLS ?= $(shell printf '\043include <mbedtls/ssl.h>\n' | $(CC) $(TLS_CFLAGS) -x c -fsyntax-only - 2>/dev/null && echo yes)
# the directory holding mbedtls/ (and psa/): test-mingw compiles ws.h's Windows TLS code against it
MBEDTLS_INC ?= $(if $(MBEDTLS_DIR),$(MBEDTLS_DIR)/include,$(patsubst %/mbedtls/ssl.h,%,$(shell printf \
    '\043include <mbedtls/ssl.h>\n' | $(CC) -M -x c - 2>/dev/null | tr ' ' '\n' | grep -m1 '/mbedtls/ssl.h$$')))
TLS_EXAMPLES := $(patsubst examples/%.c,build/%,$(wildcard examples/tls_*.c)) build/wscat_tls
EXAMPLES := $(filter-out $(TLS_EXAMPLES),$(EXAMPLES))
# examples/glib_loop.c needs GLib (libglib2.0-dev): built when pkg-config finds glib-2.0
GLIB ?= $(shell pkg-config --exists glib-2.0 2>/dev/null && echo yes)
# permessage-deflate needs zlib (zlib1g-dev): found when <zlib.h> compiles; then the examples
# are built with -DWS_USE_ZLIB -lz and make test runs the deflate tests (test-zlib)
ZLIB ?= $(shell printf '\043include <zlib.h>\n' | $(CC) -x c -fsyntax-only - 2>/dev/null && echo yes)
ZLIB_FLAGS := $(if $(ZLIB),-DWS_USE_ZLIB)
ZLIB_LIBS := $(if $(ZLIB),-lz)
EXAMPLES := $(filter-out build/glib_loop,$(EXAMPLES))
# examples/cluster_chat.c needs hiredis (libhiredis-dev): built when its header is found
HIREDIS ?= $(shell printf '\043include <hiredis/async.h>\n' | $(CC) -x c -fsyntax-only - 2>/dev/null && echo yes)
EXAMPLES := $(filter-out build/cluster_chat,$(EXAMPLES))
# examples/gtk_chat.c (GTK 3, libgtk-3-dev) and examples/qt_chat.cpp (Qt 5, qtbase5-dev): real windows
GTK3 ?= $(shell pkg-config --exists gtk+-3.0 2>/dev/null && echo yes)
QT5 ?= $(shell pkg-config --exists Qt5Widgets 2>/dev/null && echo yes)
EXAMPLES := $(filter-out build/gtk_chat,$(EXAMPLES))
# examples/firmware_client.c (WS_LWIP) and lwip_raw_client.c (lwIP's raw API) are for lwIP:
# make firmware and make lwip build and run them
EXAMPLES := $(filter-out build/firmware_client build/lwip_raw_client,$(EXAMPLES))

all: test examples

# The README's test command: unit + loopback tests under ASan/UBSan (the epoll loop, then the
# poll() loop), the compile-time options, then the tests under valgrind, then the portability
# checks (C++, C89 codec, exported names, Windows cross-build).
test: build/run_tests build/run_tests_poll build/run_tests_vg build/run_tests_ndebug build/test_options build/attack test-cpp test-c89 \
      test-clang check-symbols test-mingw test-neon examples test-readme test-examples test-tcc
	./build/run_tests
	./build/run_tests_poll
	./build/run_tests_ndebug engine
	./build/run_tests_ndebug ndebug
	$(MAKE) --no-print-directory test-options
	$(MAKE) --no-print-directory test-nonet
	$(MAKE) --no-print-directory test-minimal
	$(MAKE) --no-print-directory test-clock
	./build/attack
ifneq ($(VALGRIND),)
	$(VALGRIND) -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    ./build/run_tests_vg
else
	@echo "SKIPPED: valgrind run (install: apt-get install valgrind)"; [ "$$CI" != true ]
endif
	$(MAKE) --no-print-directory test-zlib
	$(MAKE) --no-print-directory engine-run
	$(MAKE) --no-print-directory threads-run
	$(MAKE) --no-print-directory cluster-test
	$(MAKE) --no-print-directory gui-test
	$(MAKE) --no-print-directory interop
	$(MAKE) --no-print-directory tls
	$(MAKE) --no-print-directory glib-run
	$(MAKE) --no-print-directory wine
	$(MAKE) --no-print-directory test-switches
	$(MAKE) --no-print-directory test-pool
	$(MAKE) --no-print-directory lwip
	$(MAKE) --no-print-directory firmware

build/run_tests: $(TEST_SRC) | build
	$(CC) $(CFLAGS) $(SAN) tests/run_tests.c -o $@ $(LDLIBS)

# the same under ASan with ws_poll's portable poll() path (run_tests: epoll on Linux); the
# valgrind build uses poll() too
build/run_tests_poll: $(TEST_SRC) | build
	$(CC) $(CFLAGS) $(SAN) -DWS_NO_EPOLL tests/run_tests.c -o $@ $(LDLIBS)
build/run_tests_vg: $(TEST_SRC) | build
	$(CC) $(CFLAGS) -DWS_NO_EPOLL tests/run_tests.c -o $@ $(LDLIBS)
# without asserts (NDEBUG, as release and firmware builds are): API misuse that a debug build
# asserts is refused safely (test_cb_ndebug_reentry); the engine tests again
build/run_tests_ndebug: $(TEST_SRC) | build
	$(CC) $(CFLAGS) $(SAN) -DNDEBUG tests/run_tests.c -o $@ $(LDLIBS)

# tests/test_options.c: WS_MALLOC hooks (and every allocation failing in turn), WS_RANDOM,
# WS_STATIC (two private copies in one program: no ws_ symbol exported) and WS_NO_THREADS
build/test_options: tests/test_options.c tests/test_options_b.c tests/test.h ws.h | build
	$(CC) $(CFLAGS) $(SAN) tests/test_options.c tests/test_options_b.c -o $@ $(LDLIBS)
test-options: build/test_options
	./build/test_options
	@bad=$$(nm build/test_options | awk '$$2 ~ /^[TDBRC]$$/ && $$3 ~ /^ws_/ {print $$3}'); \
	if [ -n "$$bad" ]; then echo "WS_STATIC: exported ws_ symbols: $$bad"; exit 1; fi; \
	echo "test-options: WS_STATIC exports no ws_ symbol"
# The codec and engine tests again, built with WS_NO_NET (no socket headers at all, as firmware
# without BSD sockets builds it) and -Os as firmware is (SHA-1's -Os body: test_sha1_vectors);
# the loopback and ws_conn_adopt tests need sockets and drop out.
build/run_tests_nonet: $(TEST_SRC) | build
	$(CC) $(CFLAGS) -Os $(SAN) -DWS_NO_NET tests/run_tests.c -o $@
test-nonet: build/run_tests_nonet
	./build/run_tests_nonet
# The same suite with the optional subsystems switched off (WS_NO_PROXY, WS_NO_TIMERS,
# WS_NO_WATCH, WS_NO_POST: the "minimal" firmware build of tests/firmware/size.sh): everything
# else still passes, and the tests of what was left out drop out (a proxy is refused at once).
MIN_SWITCHES := -DWS_NO_PROXY -DWS_NO_TIMERS -DWS_NO_WATCH -DWS_NO_POST
build/run_tests_min: $(TEST_SRC) | build
	$(CC) $(CFLAGS) $(SAN) $(MIN_SWITCHES) tests/run_tests.c -o $@ $(LDLIBS)
test-minimal: build/run_tests_min
	./build/run_tests_min
# tests/test_clock.c: a 32-bit millisecond clock (WS_NOW_MS32, as lwIP's sys_now) that wraps
# under timers, the accept pause, pings, idle timeout, reconnect and the engine; then with poll()
# and a bare uint32_t WS_NOW_MS() (its width seen, no WS_NOW_MS32: T_AUTO).
.PHONY: test-clock
test-clock: | build
	$(CC) $(CFLAGS) $(SAN) tests/test_clock.c -o build/test_clock $(LDLIBS)
	./build/test_clock
	$(CC) $(CFLAGS) $(SAN) -DWS_NO_EPOLL -DT_AUTO tests/test_clock.c -o build/test_clock_poll $(LDLIBS)
	./build/test_clock_poll
# tests/attack.c: the server under attack (slowloris, silent sockets, fd exhaustion, memory
# pressure, malformed heads, use after close) in child processes; no sanitizers (they would
# distort the RSS and CPU it asserts), WS_DEBUG on. POSIX only.
build/attack: tests/attack.c tests/test.h ws.h | build
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

# Not in CI: clients churning with random sizes and abrupt resets for SOAK_SECONDS (60),
# every echoed byte checked, RSS and descriptors reported at the start and the end.
SOAK_SECONDS ?= 60
soak: build/soak
	SOAK_SECONDS=$(SOAK_SECONDS) ./build/soak
build/soak: tests/soak.c ws.h | build
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)
# permessage-deflate (tests/test_deflate.c): the whole suite again with -DWS_USE_ZLIB -lz under
# ASan/UBSan, the deflate tests under valgrind (zlib's reads of what ws.h hands it), the header
# with zlib as C++ and with clang. No zlib: SKIPPED (a failure when CI=true).
test-zlib: | build
ifneq ($(ZLIB),)
	$(MAKE) --no-print-directory build/run_tests_zlib
	$(CXX) -x c++ -std=c++11 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror -fsyntax-only \
	    -DWS_USE_ZLIB -DWS_IMPLEMENTATION ws.h
	./build/run_tests_zlib
ifneq ($(VALGRIND),)
	$(MAKE) --no-print-directory build/run_tests_zlib_vg
	$(VALGRIND) -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    ./build/run_tests_zlib_vg deflate
endif
else
	@echo "************************************************************************"
	@echo "SKIPPED: permessage-deflate tests: zlib headers not found"
	@echo "         (apt-get install zlib1g-dev)"
	@echo "************************************************************************"
	@[ "$$CI" != true ]
endif

build/run_tests_zlib: $(TEST_SRC) | build
	$(CC) $(CFLAGS) $(SAN) -DWS_USE_ZLIB tests/run_tests.c -o $@ -lz $(LDLIBS)
build/run_tests_zlib_vg: $(TEST_SRC) | build
	$(CC) $(CFLAGS) -DWS_NO_EPOLL -DWS_USE_ZLIB tests/run_tests.c -o $@ -lz $(LDLIBS)

test-cpp: | build                         # the header compiles as C++, warning-free
	$(CXX) -x c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only tests/compile_cpp.cpp

CLANG ?= $(shell command -v clang 2>/dev/null)
test-clang: | build                       # clang too: the whole header, every warning an error
ifneq ($(CLANG),)
	$(CLANG) -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror -fsyntax-only \
	    -DWS_IMPLEMENTATION -x c ws.h
else
	@echo "SKIPPED: clang build (install: apt-get install clang)"; [ "$$CI" != true ]
endif

# every ```c block of README.md compiles warning-free: C99 with gcc and clang, C++ with g++
# (programs are linked, fragments compiled in a wrapper; see tests/readme_code.sh)
test-readme: | build
	CC="$(CC)" CXX="$(CXX)" CLANG="$(CLANG)" ARM_CC="$(ARM_CC)" LWIP_INC="$(LWIP_INC)" tests/readme_code.sh

# the examples' command lines: bad ports refused, "address already in use", make demo PORT=N,
# the client's errors (no server, not ws://, wss:// without TLS) said once
test-examples: examples
	tests/examples_cli.sh

# Tiny C Compiler (Debian: tcc 0.9.27): a loopback echo built with it; ws.h must notice that
# tcc lays out glibc's packed struct epoll_event wrongly and use poll() instead.
TCC ?= $(shell command -v tcc 2>/dev/null)
test-tcc: | build
ifneq ($(TCC),)
	$(TCC) tests/tcc_echo.c -o build/tcc_echo $(LDLIBS)
	./build/tcc_echo
else
	@echo "************************************************************************"
	@echo "SKIPPED: tcc build and loopback echo: tcc not found (apt-get install tcc)"
	@echo "************************************************************************"
	@[ "$$CI" != true ]
endif

test-c89: | build                         # the pure layers stay C89-clean
	$(CC) -std=c89 -pedantic -Wall -Werror -fsyntax-only -DWS_NO_NET -DWS_IMPLEMENTATION -x c ws.h

check-symbols: | build                    # every exported name starts with ws_
	$(CC) -std=c99 -c -x c -DWS_IMPLEMENTATION ws.h -o build/ws.o
	@bad=$$(nm build/ws.o | awk '$$2 ~ /^[TDBRC]$$/ {print $$3}' | grep -v '^ws_'); \
	if [ -n "$$bad" ]; then echo "exported names without ws_: $$bad"; exit 1; fi; \
	echo "check-symbols: every exported symbol starts with ws_"

test-mingw: | build                       # Windows: the header cross-compiles warning-free
ifneq ($(MINGW),)
	$(MINGW) -std=c99 -Wall -Wextra -Wpedantic -Werror -c -x c -DWS_IMPLEMENTATION ws.h -o build/ws_win.o
	$(MINGW) -std=c99 -Wall -Wextra -Wpedantic -Werror -c -x c -DWS_IMPLEMENTATION -DWS_NO_THREADS ws.h -o build/ws_win_nt.o
	@if [ -n "$(MBEDTLS_INC)" ]; then rm -rf build/win-inc && mkdir -p build/win-inc && \
	    for d in mbedtls psa tf-psa-crypto; do [ ! -d $(MBEDTLS_INC)/$$d ] || ln -s $(MBEDTLS_INC)/$$d build/win-inc/$$d; done; \
	    echo "$(MINGW) ... -DWS_USE_MBEDTLS ws.h (the Windows TLS code, against $(MBEDTLS_INC)'s headers)"; \
	    $(MINGW) -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror -c -x c -DWS_IMPLEMENTATION \
	        -DWS_USE_MBEDTLS -isystem build/win-inc ws.h -o build/ws_win_tls.o || exit 1; \
	else echo "SKIPPED: Windows TLS cross-build: mbedTLS headers not found (apt-get install libmbedtls-dev)"; fi
	@# (threaded_server.c: POSIX threads and SO_REUSEPORT; on Windows see README "Scaling out")
	@for f in $(filter-out examples/glib_loop.c examples/threaded_server.c examples/cluster_chat.c examples/gtk_chat.c examples/firmware_client.c examples/lwip_raw_client.c,$(wildcard examples/*.c)); do echo "$(MINGW) ... $$f"; $(MINGW) -std=c99 -Wall -Wextra -Wpedantic -Wshadow \
	    -Wconversion -Werror $$f -o build/$$(basename $$f .c).exe -lws2_32 -lbcrypt -lgdi32 || exit 1; done
else
	@echo "SKIPPED: Windows cross-build (install: apt-get install gcc-mingw-w64-x86-64)"; [ "$$CI" != true ]
endif

# Windows for real (tests/wine/run.sh): the test suite built with mingw-w64 and run under Wine
# (wine64, WINEDEBUG=-all, its own prefix in build/wine), tests/interop/ws_peer.c as a Windows
# server for Linux clients and as a Windows client of a Linux server, examples/win32_loop.exe
# against build/testee_server. No wine or mingw-w64: SKIPPED (a failure when CI=true).
WINE ?= $(shell command -v wine64 2>/dev/null || command -v wine 2>/dev/null || ls /usr/lib/wine/wine64 2>/dev/null)
WIN_CFLAGS ?= -std=c99 -g -O1 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror
wine: build/ws_peer build/testee_server \
      $(if $(and $(MINGW),$(WINE)),build/win/run_tests.exe build/win/ws_peer.exe build/win/win32_loop.exe)
	WINE="$(WINE)" tests/wine/run.sh
build/win/run_tests.exe: $(TEST_SRC) | build
	@mkdir -p build/win
	$(MINGW) $(WIN_CFLAGS) tests/run_tests.c -o $@ -lws2_32 -lbcrypt
build/win/ws_peer.exe: tests/interop/ws_peer.c ws.h | build   # clock_gettime: winpthreads, static
	@mkdir -p build/win
	$(MINGW) $(WIN_CFLAGS) $< -o $@ -static -lws2_32 -lbcrypt -lpthread
build/win/%.exe: examples/%.c ws.h | build
	@mkdir -p build/win
	$(MINGW) $(WIN_CFLAGS) $< -o $@ -lws2_32 -lbcrypt

# libFuzzer targets in tests/fuzz/, each run for FUZZ_SECONDS (CI uses 60). New inputs go to
# build/corpus/<target>; tests/fuzz/corpus/<target> (if present) is read-only seed input, and
# tests/fuzz/<name>.dict a dictionary (fuzz_http_request: http_request.dict, else http.dict).
# Crash inputs land in build/ (reproduce: build/fuzz_<target> build/crash-...).
FUZZ_FLAGS ?= -timeout=10 -rss_limit_mb=2048
fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do t=$$(basename $$f); echo "== $$t ($(FUZZ_SECONDS) s)"; \
	    mkdir -p build/corpus/$$t; seeds=; dict=; d=$${t#fuzz_}; \
	    [ -d tests/fuzz/corpus/$$t ] && seeds=tests/fuzz/corpus/$$t; \
	    for c in $$d $${d%%_*}; do [ -f tests/fuzz/$$c.dict ] && dict=-dict=tests/fuzz/$$c.dict && break; done; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=build/ $(FUZZ_FLAGS) \
	        $$dict build/corpus/$$t $$seeds 2>build/$$t.log || { tail -50 build/$$t.log; exit 1; }; \
	    awk '/^#[0-9]/ { for (i = 1; i < NF; i++) { if ($$i == "cov:") c = $$(i+1); \
	        if ($$i == "corp:") k = $$(i+1) } } /^Done/ { r = $$2; s = $$5 } \
	        /average_exec_per_sec/ { e = $$2 } END { printf "   %s runs in %s s, %s exec/s, cov %s, corpus %s\n", \
	        r, s, e, c, k }' build/$$t.log; done; \
	echo "fuzz: $(words $(FUZZERS)) targets ran clean"

build/fuzz_%: tests/fuzz/fuzz_%.c ws.h | build
	$(FUZZ_CC) -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    $(ZLIB_FLAGS) $< -o $@ $(ZLIB_LIBS)
build/fuzz_deflate: tests/fuzz/fuzz_conn.c   # fuzz_conn's harness with permessage-deflate

# examples/NAME.c -> build/NAME, each a whole program (it defines WS_IMPLEMENTATION itself).
# TLS variants (examples/tls_*.c, and wscat as build/wscat_tls) only when mbedTLS is installed.
examples: $(EXAMPLES) $(if $(MBEDTLS),$(TLS_EXAMPLES)) $(if $(GLIB),build/glib_loop) $(if $(HIREDIS),build/cluster_chat) \
          $(if $(GTK3),build/gtk_chat) $(if $(QT5),build/qt_chat)
ifeq ($(MBEDTLS),)
	@echo "SKIPPED: TLS examples ($(notdir $(TLS_EXAMPLES))): mbedTLS headers not found (apt-get install libmbedtls-dev)"
endif
ifeq ($(GLIB),)
	@echo "SKIPPED: glib_loop: glib-2.0 not found by pkg-config (apt-get install libglib2.0-dev)"
endif
ifeq ($(ZLIB),)
	@echo "NOTE: examples built without permessage-deflate: zlib headers not found (apt-get install zlib1g-dev)"
endif
build/tls_%: examples/tls_%.c ws.h build/tls.flags | build
	$(CC) $(CFLAGS) -DWS_USE_MBEDTLS $(TLS_CFLAGS) $(ZLIB_FLAGS) $< -o $@ $(TLS_LIBS) $(ZLIB_LIBS) $(LDLIBS)
build/wscat_tls: examples/wscat.c ws.h build/tls.flags | build
	$(CC) $(CFLAGS) -DWS_USE_MBEDTLS $(TLS_CFLAGS) $(ZLIB_FLAGS) $< -o $@ $(TLS_LIBS) $(ZLIB_LIBS) $(LDLIBS)
build/glib_loop: examples/glib_loop.c ws.h | build   # GLib's headers as system headers: no -W noise
	$(CC) $(CFLAGS) $(ZLIB_FLAGS) $(patsubst -I%,-isystem %,$(shell pkg-config --cflags glib-2.0)) $< -o $@ \
	    $(shell pkg-config --libs glib-2.0) $(ZLIB_LIBS) $(LDLIBS)
build/loopback_memory: examples/loopback_memory.c ws.h | build   # WS_NO_NET: no sockets at all
	$(CC) $(CFLAGS) $(SAN) $< -o $@
build/%: examples/%.c ws.h | build
	$(CC) $(CFLAGS) $(ZLIB_FLAGS) $< -o $@ $(ZLIB_LIBS) $(LDLIBS)

# examples/glib_loop.c for real: a GLib main loop against build/testee_server on 127.0.0.1;
# every message it sends must come back (it closes 3 s after it opened; the time limits only
# catch a hang). No GLib: SKIPPED (a failure when CI=true).
glib-run: build/testee_server $(if $(GLIB),build/glib_loop)
ifneq ($(GLIB),)
	@./build/testee_server 0 > build/glib-run.log & pid=$$!; url=; \
	for i in $$(seq 300); do url=$$(sed -n 's/.*listening on //p' build/glib-run.log); \
	    [ -n "$$url" ] && break; kill -0 $$pid 2>/dev/null || break; sleep 0.1; done; \
	[ -n "$$url" ] || { echo "glib-run: testee_server did not start"; cat build/glib-run.log; kill $$pid; exit 1; }; \
	timeout -k 5 120 ./build/glib_loop "$$url" 3 > build/glib_loop.out; rc=$$?; kill $$pid; cat build/glib_loop.out; \
	[ $$rc = 0 ] && awk '/^sent/ { s = $$2 + 0; r = $$4 + 0 } END { exit !(s > 0 && s == r) }' build/glib_loop.out \
	    && echo "glib-run: every message came back through the GLib loop"
else
	@echo "SKIPPED: glib_loop run: glib-2.0 not found (apt-get install libglib2.0-dev)"; [ "$$CI" != true ]
endif

.PHONY: engine-run threads-run cluster-test gui-test screenshots test-neon
# the UTF-8 suite on AArch64 (ws.h's NEON path) under qemu-user
AARCH64_CC ?= $(shell command -v aarch64-linux-gnu-gcc 2>/dev/null)
QEMU_AARCH64 ?= $(shell command -v qemu-aarch64 2>/dev/null)
test-neon: | build
ifeq ($(and $(AARCH64_CC),$(QEMU_AARCH64)),)
	@echo "SKIPPED: NEON UTF-8 path: needs aarch64-linux-gnu-gcc and qemu-aarch64 (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)"; [ "$$CI" != true ]
else
	$(AARCH64_CC) -std=c99 -O2 -Wall -Wextra -Wconversion -Werror -static tests/simd/utf8_neon.c -o build/utf8_neon
	$(QEMU_AARCH64) build/utf8_neon
endif
screenshots: gui-test                     # refresh the README's pictures (docs/*.png)
	mkdir -p docs && cp build/gtk_chat.png build/qt_chat.png docs/ && { [ ! -f build/win32_chat.png ] || cp build/win32_chat.png docs/; }
# the GUI examples in real windows under Xvfb (tests/gui/run.sh); screenshots in build/*.png
gui-test: build/threaded_server build/gui_peer $(if $(GTK3),build/gtk_chat) $(if $(QT5),build/qt_chat) \
          $(if $(MINGW),build/win32_chat.exe)
	B=build tests/gui/run.sh
build/win32_chat.exe: examples/win32_chat.c ws.h | build
	$(MINGW) -std=c99 -Wall -Wextra -Wpedantic -Werror $< -o $@ -lws2_32 -lbcrypt -lgdi32
build/gui_peer: tests/gui/peer.c ws.h | build
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)
build/gtk_chat: examples/gtk_chat.c ws.h | build   # GTK's headers as system headers: no -W noise
	$(CC) $(CFLAGS) $(ZLIB_FLAGS) -Wno-missing-prototypes $(patsubst -I%,-isystem %,$(shell pkg-config --cflags gtk+-3.0)) $< -o $@ \
	    $(shell pkg-config --libs gtk+-3.0) $(ZLIB_LIBS) $(LDLIBS)
build/qt_chat: examples/qt_chat.cpp ws.h | build   # ws.h compiled as C++
	$(CXX) -std=c++11 -g -O1 -Wall -Wextra -Werror -fPIC $(ZLIB_FLAGS) $(patsubst -I%,-isystem %,$(shell pkg-config --cflags Qt5Widgets)) $< -o $@ \
	    $(shell pkg-config --libs Qt5Widgets) $(ZLIB_LIBS) $(LDLIBS)
# Redis + three examples/cluster_chat.c instances + nginx, all on 127.0.0.1 (tests/cluster/run.sh)
cluster-test: $(if $(HIREDIS),build/cluster_chat) build/cluster_driver
	B=build tests/cluster/run.sh
build/cluster_chat: examples/cluster_chat.c ws.h | build
	$(CC) $(CFLAGS) $(ZLIB_FLAGS) -Wno-missing-prototypes $< -o $@ -lhiredis $(ZLIB_LIBS) $(LDLIBS)
build/cluster_driver: tests/cluster/driver.c ws.h | build
	$(CC) $(CFLAGS) $(SAN) $< -o $@ $(LDLIBS)
# examples/threaded_server.c for real: 3 loops on one port (SO_REUSEPORT); 12 clients each send
# 50 messages and every client must get all 600, in order per sender (bench/fanout.c checks)
threads-run: build/threaded_server build/fanout
	@./build/threaded_server 0 3 60 > build/threads-run.log & pid=$$!; url=; \
	for i in $$(seq 1 600); do url=$$(sed -n 's/^listening on \([^ ]*\).*/\1/p' build/threads-run.log); \
	    [ -n "$$url" ] && break; kill -0 $$pid 2>/dev/null || break; sleep 0.1; done; \
	./build/fanout "$$url" 12 50; rc=$$?; kill $$pid; wait $$pid 2>/dev/null; exit $$rc
build/fanout: bench/fanout.c ws.h | build
	$(CC) $(CFLAGS) $(SAN) -Wno-missing-prototypes $< -o $@ $(LDLIBS)
engine-run: build/loopback_memory         # the engine alone: client + server through memory
	./build/loopback_memory && echo "1 passed, 0 failed"

PORT ?= 8080
demo: build/chat_server                   # the README's demo: prints the URL to open (PORT=N)
	./build/chat_server $(PORT)

# Real peers (tests/interop/run.sh): Python websockets and Node ws, each as client and server
# of ws.h, and headless Chromium on the chat example. Needs python3-websockets, nodejs, npm,
# chromium and `npm --prefix tests ci`; a missing peer is SKIPPED (a failure when CI=true).
# With zlib, ws_peer and chat_server speak permessage-deflate and run.sh adds those checks.
interop: build/ws_peer build/chat_server node-deps
	ZLIB=$(ZLIB) tests/interop/run.sh

# The npm packages the Node and browser tests use (tests/package-lock.json), installed into
# tests/node_modules when npm is there and they are not; offline, those tests say SKIPPED.
node-deps:
	@if [ ! -d tests/node_modules ] && command -v npm >/dev/null 2>&1; then \
	    echo "npm --prefix tests ci"; npm --prefix tests ci --no-audit --no-fund --loglevel=error || \
	    echo "npm install failed: the Node and browser tests will be SKIPPED"; fi

build/ws_peer: tests/interop/ws_peer.c ws.h | build
	$(CC) $(CFLAGS) $(SAN) $(ZLIB_FLAGS) $< -o $@ $(ZLIB_LIBS) $(LDLIBS)

# wss:// through mbedTLS: tests/test_tls.c (-DWS_USE_MBEDTLS) under ASan/UBSan, then under
# valgrind (TLS_SLOW: longer limits, fewer connections); the header with TLS as C++; test
# certificates from tests/tls/gen-certs.sh (openssl) in build/tls. No mbedTLS or openssl:
# SKIPPED (a failure when CI=true).
OPENSSL ?= $(shell command -v openssl 2>/dev/null)
tls: | build
ifneq ($(and $(MBEDTLS),$(OPENSSL)),)
	$(MAKE) --no-print-directory build/test_tls build/test_tls_vg
	tests/tls/gen-certs.sh build/tls
	$(CXX) -x c++ -std=c++11 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror -fsyntax-only \
	    -DWS_USE_MBEDTLS $(TLS_CFLAGS) -DWS_IMPLEMENTATION ws.h
	./build/test_tls
	$(MAKE) --no-print-directory build/test_tls_watch && ./build/test_tls_watch build/tls
  ifneq ($(VALGRIND),)
	TLS_SLOW=1 $(VALGRIND) -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    ./build/test_tls_vg
  else
	@echo "SKIPPED: TLS tests under valgrind (install: apt-get install valgrind)"; [ "$$CI" != true ]
  endif
	$(MAKE) --no-print-directory tls-interop
else
	@echo "************************************************************************"
	@echo "SKIPPED: TLS tests (wss://): need mbedTLS and openssl"
	@echo "         (apt-get install libmbedtls-dev openssl)"
	@echo "************************************************************************"
	@[ "$$CI" != true ]
endif

# build/tls_echo_server against Python websockets over ssl, Node ws over TLS and headless
# Chromium (tests/tls/interop.sh; a missing peer is SKIPPED, a failure under CI=true)
tls-interop: build/tls_echo_server node-deps
	tests/tls/interop.sh

# Windows: a client given no CA verifies against the system ROOT store (tests/tls/win_system_ca.c),
# cross-built with mingw-w64 against an mbedTLS built for Windows (MBEDTLS_WIN_DIR: its include/
# and lib/; Debian has none, so this is not part of `make test`) and run under Wine in a
# throwaway WINEPREFIX (build/wine-tls; WINE as for `make wine`), e.g.
# `make tls-win MBEDTLS_WIN_DIR=/opt/mbedtls-win`.
tls-win: | build
	@[ -n "$(MBEDTLS_WIN_DIR)" ] || { echo "tls-win: set MBEDTLS_WIN_DIR to an mbedTLS built for mingw-w64"; exit 1; }
	@[ -n "$(MINGW)" ] && [ -n "$(WINE)" ] || { echo "tls-win: needs mingw-w64 and wine (apt-get install gcc-mingw-w64-x86-64 wine64)"; exit 1; }
	tests/tls/gen-certs.sh build/tls
	$(MINGW) -std=c99 -g -O1 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror -isystem $(MBEDTLS_WIN_DIR)/include \
	    tests/tls/win_system_ca.c -o build/win_system_ca.exe -L$(MBEDTLS_WIN_DIR)/lib \
	    -lmbedtls -lmbedx509 -lmbedcrypto -lws2_32 -lbcrypt -lcrypt32
	WINEPREFIX=$(CURDIR)/build/wine-tls WINEDEBUG=-all $(WINE) build/win_system_ca.exe

build/test_tls: tests/test_tls.c tests/test.h tests/blackhole.h ws.h build/tls.flags | build
	$(CC) $(CFLAGS) $(SAN) $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS) $(LDLIBS)
build/test_tls_watch: tests/tls/watch.c tests/test_watch.c tests/test.h ws.h build/tls.flags | build   # wss:// via on_watch
	$(CC) $(CFLAGS) $(SAN) $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS) $(LDLIBS)
build/test_tls_vg: tests/test_tls.c tests/test.h ws.h build/tls.flags | build
	$(CC) $(CFLAGS) $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS) $(LDLIBS)
# the TLS programs are rebuilt when MBEDTLS_DIR / TLS_CFLAGS / TLS_LIBS change
build/tls.flags: FORCE | build
	@echo '$(TLS_CFLAGS) $(TLS_LIBS)' | cmp -s - $@ || echo '$(TLS_CFLAGS) $(TLS_LIBS)' > $@
FORCE:

# Firmware (tests/firmware, README "Firmware"): the codec and engine suites cross-built with
# arm-none-eabi-gcc + newlib for a Cortex-M4 (QEMU mps2-an386) and a Cortex-M3 (mps2-an385) and
# run under qemu-system-arm with semihosting; ws.h with WS_LWIP compiled for the M4 against
# lwIP's own socket headers in every LWIP_COMPAT_SOCKETS x LWIP_POSIX_SOCKETS_IO_NAMES setting,
# alone and with each part switch; then the size table (tests/firmware/size.sh; FW_STRICT=1
# fails over budget). Without the tools: SKIPPED (a failure when CI=true).
ARM_CC   ?= $(shell command -v arm-none-eabi-gcc 2>/dev/null)
QEMU_ARM ?= $(shell command -v qemu-system-arm 2>/dev/null)
LWIP_INC ?= $(shell pkg-config --variable=includedir lwip 2>/dev/null)
FW_FLAGS := -std=c99 -mthumb -Os -g -Wall -Wextra -Wpedantic -Wshadow -Wundef -Wconversion -Werror
FW_LWIP_FLAGS := $(FW_FLAGS) -mcpu=cortex-m4 -ffunction-sections -fdata-sections -Itests/firmware/lwip -I$(LWIP_INC)
FW_SWITCHES := "" -DWS_NO_CLIENT -DWS_NO_SERVER -DWS_NO_WAKEUP -DWS_NO_ERROR_TEXT \
    "-DWS_NO_CLIENT -DWS_NO_WAKEUP -DWS_NO_ERROR_TEXT" "-DWS_NO_SERVER -DWS_NO_WAKEUP -DWS_NO_ERROR_TEXT" \
    "$(MIN_SWITCHES)" "$(MIN_SWITCHES) -DWS_NO_SERVER -DWS_NO_WAKEUP -DWS_NO_ERROR_TEXT"
firmware: | build
ifneq ($(and $(ARM_CC),$(QEMU_ARM),$(LWIP_INC)),)
	@mkdir -p build/firmware
	@# fw_tests: the codec and engine suites; fw_norandom: a build without WS_RANDOM (codec and
	@# server work, a client is refused)
	@set -e; for t in cortex-m4:mps2-an386:fw_tests cortex-m3:mps2-an385:fw_tests cortex-m4:mps2-an386:fw_norandom; do \
	    cpu=$${t%%:*}; board=$${t#*:}; prog=$${board#*:}; board=$${board%%:*}; out=build/firmware/$${prog}_$$cpu; \
	    echo "== $$prog on $$cpu ($$board, QEMU)"; rc=0; \
	    $(ARM_CC) $(FW_FLAGS) -mcpu=$$cpu -DWS_NO_NET -DT_NO_MMAP -DWS_FW_CPU='"'$$cpu'"' -nostartfiles \
	        -T tests/firmware/mps2.ld --specs=rdimon.specs tests/firmware/startup.c tests/firmware/$$prog.c \
	        -o $$out.elf; \
	    timeout 600 $(QEMU_ARM) -M $$board -nographic -monitor none -serial none \
	        -semihosting-config enable=on,target=native -kernel $$out.elf > $$out.log || rc=$$?; tail -1 $$out.log; \
	    if [ $$rc != 0 ]; then cat $$out.log; echo "$$prog failed on $$cpu (exit $$rc)"; exit 1; fi; done
	@echo "== ws.h with WS_LWIP for cortex-m4: LWIP_COMPAT_SOCKETS x LWIP_POSIX_SOCKETS_IO_NAMES x switches"
	@printf 'static int fw_random(void *b, unsigned long n) { (void)b; (void)n; return 0; }\n#define WS_RANDOM(b, n) fw_random(b, n)\n#define WS_IMPLEMENTATION\n#include "../../ws.h"\n' > build/firmware/lwip_ws.c
	@set -e; n=0; for c in 0 1 2; do for io in 0 1; do for sw in $(FW_SWITCHES); do n=$$((n + 1)); \
	    $(ARM_CC) $(FW_LWIP_FLAGS) -DWS_LWIP -DT_COMPAT=$$c -DT_IO_NAMES=$$io $$sw -c build/firmware/lwip_ws.c \
	        -o build/firmware/lwip_ws.o || { echo "failed: COMPAT=$$c IO_NAMES=$$io $$sw"; exit 1; }; \
	    done; done; done; echo "   $$n builds (6 lwIP settings x each switch set): warning-free"
	@# lwIP's defaults for the rest too (no DNS, no IPv6: no sockaddr_in6, AF_INET6 is AF_UNSPEC)
	$(ARM_CC) $(FW_LWIP_FLAGS) -DWS_LWIP -DT_LWIP_DEFAULTS -c build/firmware/lwip_ws.c -o build/firmware/lwip_ws.o
	$(ARM_CC) $(FW_LWIP_FLAGS) -DWS_LWIP -c examples/firmware_client.c -o build/firmware/firmware_client.o
	$(ARM_CC) $(FW_LWIP_FLAGS) -DWS_NO_SERVER -c examples/lwip_raw_client.c -o build/firmware/lwip_raw_client.o
	@LWIP_INC=$(LWIP_INC) ARM_CC=$(ARM_CC) SIZE_FLAGS=-DWS_NO_ERROR_TEXT tests/firmware/size.sh build/firmware
else
	@echo "************************************************************************"
	@echo "SKIPPED: firmware (Cortex-M under QEMU, lwIP, sizes): need arm-none-eabi-gcc,"
	@echo "         qemu-system-arm and lwIP's headers (apt-get install gcc-arm-none-eabi"
	@echo "         libnewlib-arm-none-eabi qemu-system-arm liblwip-dev)"
	@echo "************************************************************************"
	@[ "$$CI" != true ]
endif

# ws.h over a real lwIP stack (tests/lwip): Debian's liblwip-dev (lwIP's Unix port). The header
# with WS_LWIP compiles warning-free (gcc and clang) with every LWIP_COMPAT_SOCKETS x
# LWIP_POSIX_SOCKETS_IO_NAMES setting (tests/lwip/opts/lwipopts.h) and each part switch; then
# tests/lwip/test_lwip.c runs a ws.h server and client over lwIP's own sockets on 127.0.0.1;
# then examples/firmware_client.c and examples/lwip_raw_client.c (raw API + engine) run over it.
# The part switches also compile alone and together on this host's sockets. No liblwip-dev:
# SKIPPED (a failure when CI=true).
SWITCHES := "" -DWS_NO_CLIENT -DWS_NO_SERVER -DWS_NO_WAKEUP -DWS_NO_THREADS -DWS_NO_ERROR_TEXT -DWS_NO_NET \
    "-DWS_NO_CLIENT -DWS_NO_SERVER" "-DWS_NO_CLIENT -DWS_NO_WAKEUP -DWS_NO_ERROR_TEXT" \
    "-DWS_NO_SERVER -DWS_NO_THREADS -DWS_NO_ERROR_TEXT" "-DWS_NO_NET -DWS_NO_CLIENT -DWS_NO_ERROR_TEXT" \
    "-DWS_NO_NET -DWS_NO_SERVER" -DWS_NO_PROXY -DWS_NO_TIMERS -DWS_NO_WATCH -DWS_NO_POST \
    "$(MIN_SWITCHES) -DWS_NO_SERVER -DWS_NO_WAKEUP -DWS_NO_ERROR_TEXT" \
    "$(MIN_SWITCHES) -DWS_NO_CLIENT -DWS_NO_THREADS" "$(MIN_SWITCHES) -DWS_NO_NET"
LWIP_SWITCHES := "" "-DWS_NO_CLIENT -DWS_NO_WAKEUP -DWS_NO_ERROR_TEXT" "-DWS_NO_SERVER -DWS_NO_THREADS" \
    "$(MIN_SWITCHES) -DWS_NO_SERVER -DWS_NO_WAKEUP"
# Some of them again with permessage-deflate (WS_USE_ZLIB), wss:// (WS_USE_MBEDTLS) and both,
# when zlib's and mbedTLS's headers are found (SKIPPED without: a failure when CI=true). gcc's
# -fsyntax-only skips -Wunused-function; clang's does not.
USE_SWITCHES := "" -DWS_NO_CLIENT -DWS_NO_SERVER "-DWS_NO_CLIENT -DWS_NO_SERVER" -DWS_NO_ERROR_TEXT \
    "-DWS_NO_NET -DWS_NO_SERVER" "-DWS_NO_NET -DWS_NO_CLIENT -DWS_NO_ERROR_TEXT" \
    "$(MIN_SWITCHES) -DWS_NO_SERVER -DWS_NO_WAKEUP -DWS_NO_ERROR_TEXT" "$(MIN_SWITCHES) -DWS_NO_CLIENT -DWS_NO_THREADS"
USES := $(if $(ZLIB),-DWS_USE_ZLIB) $(if $(MBEDTLS),"-DWS_USE_MBEDTLS $(TLS_CFLAGS)") \
    $(if $(and $(ZLIB),$(MBEDTLS)),"-DWS_USE_ZLIB -DWS_USE_MBEDTLS $(TLS_CFLAGS)")
SW_FLAGS := -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wundef -Wconversion -Werror -fsyntax-only -DWS_IMPLEMENTATION
test-switches:                            # each part switch, alone and combined: warning-free
	@set -e; n=0; for sw in $(SWITCHES); do for cc in $(CC) $(CLANG); do n=$$((n + 1)); \
	    $$cc $(SW_FLAGS) $$sw -x c ws.h || { echo "failed: $$cc $$sw"; exit 1; }; done; \
	    $(CXX) -x c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -DWS_IMPLEMENTATION $$sw ws.h; done; \
	for u in $(USES); do for sw in $(USE_SWITCHES); do for cc in $(CC) $(CLANG); do n=$$((n + 1)); \
	    $$cc $(SW_FLAGS) $$u $$sw -x c ws.h || { echo "failed: $$cc $$u $$sw"; exit 1; }; done; \
	    $(CXX) -x c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -DWS_IMPLEMENTATION $$u $$sw ws.h \
	        || { echo "failed: $(CXX) $$u $$sw"; exit 1; }; done; done; \
	echo "test-switches: $$n builds (gcc, clang) and C++, warning-free (with:$(if $(ZLIB), WS_USE_ZLIB)$(if $(MBEDTLS), WS_USE_MBEDTLS))"
ifeq ($(ZLIB),)
	@echo "SKIPPED: test-switches with WS_USE_ZLIB: zlib's headers not found (apt-get install zlib1g-dev)"; [ "$$CI" != true ]
endif
ifeq ($(MBEDTLS),)
	@echo "SKIPPED: test-switches with WS_USE_MBEDTLS: mbedTLS's headers not found (apt-get install libmbedtls-dev)"; [ "$$CI" != true ]
endif
lwip: | build
ifneq ($(LWIP_INC),)
	@set -e; n=0; for c in 0 1 2; do for io in 0 1; do for sw in $(LWIP_SWITCHES); do \
	    for cc in $(CC) $(CLANG); do n=$$((n + 1)); $$cc $(SW_FLAGS) -DWS_LWIP -DT_COMPAT=$$c -DT_IO_NAMES=$$io \
	        -DT_SYSTEM_LWIPOPTS='"$(LWIP_INC)/lwipopts.h"' -Itests/lwip/opts -I$(LWIP_INC) $$sw -x c ws.h \
	        || { echo "failed: $$cc COMPAT=$$c IO_NAMES=$$io $$sw"; exit 1; }; done; done; done; done; \
	echo "lwip: $$n builds against $(LWIP_INC) (COMPAT 0/1/2 x IO_NAMES 0/1 x 4 switch sets): warning-free"
	$(CC) $(CFLAGS) $(SAN) -I$(LWIP_INC) tests/lwip/test_lwip.c -o build/test_lwip -llwip $(LDLIBS)
	timeout 300 ./build/test_lwip
	$(CC) $(CFLAGS) $(SAN) -Itests/lwip/opts -DT_SYSTEM_LWIPOPTS='"$(LWIP_INC)/lwipopts.h"' -DT_NETIF_LOOPBACK=0 \
	    -I$(LWIP_INC) tests/lwip/test_lwip_noloop.c -o build/test_lwip_noloop -llwip $(LDLIBS)
	timeout 300 ./build/test_lwip_noloop
	$(MAKE) --no-print-directory firmware-client-run
	$(CC) $(CFLAGS) $(SAN) -I$(LWIP_INC) tests/lwip/raw_client_host.c tests/lwip/raw_server_part.c \
	    -o build/raw_client_host -llwip $(LDLIBS)
	timeout 300 ./build/raw_client_host
else
	@echo "SKIPPED: ws.h over lwIP: lwIP's headers not found (apt-get install liblwip-dev)"; [ "$$CI" != true ]
endif

# Fixed memory (tests/test_pool.c): the server's allocator capped like a static pool; RAM per
# connection printed; out of memory = a named send error, close 1011, HTTP 503 - never a silent drop.
test-pool: | build
	$(CC) $(CFLAGS) $(SAN) tests/test_pool.c -o build/test_pool $(LDLIBS)
	./build/test_pool

# examples/firmware_client.c on this machine over Debian's lwIP, against examples/testee_server.c
# (tests/lwip/firmware_client_host.c, the server's own code in the same process on lwIP's
# 127.0.0.1): connect, server gone, reconnect with backoff.
firmware-client-run: | build
	$(CC) $(CFLAGS) $(SAN) -DWS_LWIP -I$(LWIP_INC) tests/lwip/firmware_client_host.c \
	    -o build/firmware_client_host -llwip $(LDLIBS)
	timeout 300 ./build/firmware_client_host

build: ; mkdir -p build
clean: ; rm -rf build
.PHONY: FORCE tls-win wine test-readme test-examples test-tcc glib-run node-deps all test test-nonet test-minimal test-cpp test-clang test-c89 check-symbols test-mingw fuzz clean examples demo interop tls tls-interop soak test-zlib test-options firmware firmware-client-run lwip test-pool test-switches
