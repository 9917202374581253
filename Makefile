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
TEST_SRC := ws.h tests/test.h $(wildcard tests/*.c)
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
EXAMPLES := $(filter-out build/glib_loop,$(EXAMPLES))
# examples/cluster_chat.c needs hiredis (libhiredis-dev): built when its header is found
HIREDIS ?= $(shell printf '\043include <hiredis/async.h>\n' | $(CC) -x c -fsyntax-only - 2>/dev/null && echo yes)
EXAMPLES := $(filter-out build/cluster_chat,$(EXAMPLES))
# examples/gtk_chat.c (GTK 3, libgtk-3-dev) and examples/qt_chat.cpp (Qt 5, qtbase5-dev): real windows
GTK3 ?= $(shell pkg-config --exists gtk+-3.0 2>/dev/null && echo yes)
QT5 ?= $(shell pkg-config --exists Qt5Widgets 2>/dev/null && echo yes)
EXAMPLES := $(filter-out build/gtk_chat,$(EXAMPLES))

all: test examples

# The README's test command: unit + loopback tests under ASan/UBSan, then the same under
# valgrind, then the portability checks (C++, C89 codec, exported names, Windows cross-build).
test: build/run_tests build/run_tests_vg build/attack test-cpp test-c89 test-clang check-symbols test-mingw test-neon examples \
      test-readme test-examples test-tcc
	./build/run_tests
	$(MAKE) --no-print-directory test-nonet
	./build/attack
ifneq ($(VALGRIND),)
	$(VALGRIND) -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    ./build/run_tests_vg
else
	@echo "SKIPPED: valgrind run (install: apt-get install valgrind)"; [ "$$CI" != true ]
endif
	$(MAKE) --no-print-directory engine-run
	$(MAKE) --no-print-directory threads-run
	$(MAKE) --no-print-directory cluster-test
	$(MAKE) --no-print-directory gui-test
	$(MAKE) --no-print-directory interop
	$(MAKE) --no-print-directory tls
	$(MAKE) --no-print-directory glib-run
	$(MAKE) --no-print-directory wine

build/run_tests: $(TEST_SRC) | build
	$(CC) $(CFLAGS) $(SAN) tests/run_tests.c -o $@ $(LDLIBS)

# the valgrind build uses ws_poll's portable poll() path (the ASan build: epoll on Linux)
build/run_tests_vg: $(TEST_SRC) | build
	$(CC) $(CFLAGS) -DWS_NO_EPOLL tests/run_tests.c -o $@ $(LDLIBS)

# The codec and engine tests again, built with WS_NO_NET (no socket headers at all, as firmware
# without BSD sockets builds it); the loopback and ws_conn_adopt tests need sockets and drop out.
build/run_tests_nonet: $(TEST_SRC) | build
	$(CC) $(CFLAGS) $(SAN) -DWS_NO_NET tests/run_tests.c -o $@
test-nonet: build/run_tests_nonet
	./build/run_tests_nonet
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
	CC="$(CC)" CXX="$(CXX)" CLANG="$(CLANG)" tests/readme_code.sh

# the example servers' command lines: bad ports refused, "address already in use", make demo PORT=N
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
	@for f in $(filter-out examples/glib_loop.c examples/threaded_server.c examples/cluster_chat.c examples/gtk_chat.c,$(wildcard examples/*.c)); do echo "$(MINGW) ... $$f"; $(MINGW) -std=c99 -Wall -Wextra -Wpedantic -Wshadow \
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
	$(FUZZ_CC) -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $< -o $@

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
build/tls_%: examples/tls_%.c ws.h build/tls.flags | build
	$(CC) $(CFLAGS) -DWS_USE_MBEDTLS $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS) $(LDLIBS)
build/wscat_tls: examples/wscat.c ws.h build/tls.flags | build
	$(CC) $(CFLAGS) -DWS_USE_MBEDTLS $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS) $(LDLIBS)
build/glib_loop: examples/glib_loop.c ws.h | build   # GLib's headers as system headers: no -W noise
	$(CC) $(CFLAGS) $(patsubst -I%,-isystem %,$(shell pkg-config --cflags glib-2.0)) $< -o $@ \
	    $(shell pkg-config --libs glib-2.0) $(LDLIBS)
build/loopback_memory: examples/loopback_memory.c ws.h | build   # WS_NO_NET: no sockets at all
	$(CC) $(CFLAGS) $(SAN) $< -o $@
build/%: examples/%.c ws.h | build
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

# examples/glib_loop.c for real: a GLib main loop against build/testee_server on 127.0.0.1;
# every message it sends must come back. No GLib: SKIPPED (a failure when CI=true).
glib-run: build/testee_server $(if $(GLIB),build/glib_loop)
ifneq ($(GLIB),)
	@./build/testee_server 0 > build/glib-run.log & pid=$$!; url=; \
	for i in 1 2 3 4 5 6 7 8 9 10; do url=$$(sed -n 's/.*listening on //p' build/glib-run.log); \
	    [ -n "$$url" ] && break; sleep 0.2; done; \
	./build/glib_loop "$$url" 3 > build/glib_loop.out; rc=$$?; kill $$pid; cat build/glib_loop.out; \
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
	$(CC) $(CFLAGS) -Wno-missing-prototypes $(patsubst -I%,-isystem %,$(shell pkg-config --cflags gtk+-3.0)) $< -o $@ \
	    $(shell pkg-config --libs gtk+-3.0) $(LDLIBS)
build/qt_chat: examples/qt_chat.cpp ws.h | build   # ws.h compiled as C++
	$(CXX) -std=c++11 -g -O1 -Wall -Wextra -Werror -fPIC $(patsubst -I%,-isystem %,$(shell pkg-config --cflags Qt5Widgets)) $< -o $@ \
	    $(shell pkg-config --libs Qt5Widgets) $(LDLIBS)
# Redis + three examples/cluster_chat.c instances + nginx, all on 127.0.0.1 (tests/cluster/run.sh)
cluster-test: $(if $(HIREDIS),build/cluster_chat) build/cluster_driver
	B=build tests/cluster/run.sh
build/cluster_chat: examples/cluster_chat.c ws.h | build
	$(CC) $(CFLAGS) -Wno-missing-prototypes $< -o $@ -lhiredis $(LDLIBS)
build/cluster_driver: tests/cluster/driver.c ws.h | build
	$(CC) $(CFLAGS) $(SAN) $< -o $@ $(LDLIBS)
# examples/threaded_server.c for real: 3 loops on one port (SO_REUSEPORT); 12 clients each send
# 50 messages and every client must get all 600, in order per sender (bench/fanout.c checks)
threads-run: build/threaded_server build/fanout
	@./build/threaded_server 0 3 60 > build/threads-run.log & pid=$$!; url=; \
	for i in $$(seq 1 100); do url=$$(sed -n 's/^listening on \([^ ]*\).*/\1/p' build/threads-run.log); \
	    [ -n "$$url" ] && break; sleep 0.1; done; \
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
interop: build/ws_peer build/chat_server node-deps
	tests/interop/run.sh

# The npm packages the Node and browser tests use (tests/package-lock.json), installed into
# tests/node_modules when npm is there and they are not; offline, those tests say SKIPPED.
node-deps:
	@if [ ! -d tests/node_modules ] && command -v npm >/dev/null 2>&1; then \
	    echo "npm --prefix tests ci"; npm --prefix tests ci --no-audit --no-fund --loglevel=error || \
	    echo "npm install failed: the Node and browser tests will be SKIPPED"; fi

build/ws_peer: tests/interop/ws_peer.c ws.h | build
	$(CC) $(CFLAGS) $(SAN) $< -o $@ $(LDLIBS)

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
# throwaway WINEPREFIX (build/wine-tls), e.g. `make tls-win MBEDTLS_WIN_DIR=/opt/mbedtls-win`.
WINE ?= $(or $(shell command -v wine 2>/dev/null),$(wildcard /usr/lib/wine/wine64))
tls-win: | build
	@[ -n "$(MBEDTLS_WIN_DIR)" ] || { echo "tls-win: set MBEDTLS_WIN_DIR to an mbedTLS built for mingw-w64"; exit 1; }
	@[ -n "$(MINGW)" ] && [ -n "$(WINE)" ] || { echo "tls-win: needs mingw-w64 and wine (apt-get install gcc-mingw-w64-x86-64 wine64)"; exit 1; }
	tests/tls/gen-certs.sh build/tls
	$(MINGW) -std=c99 -g -O1 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror -isystem $(MBEDTLS_WIN_DIR)/include \
	    tests/tls/win_system_ca.c -o build/win_system_ca.exe -L$(MBEDTLS_WIN_DIR)/lib \
	    -lmbedtls -lmbedx509 -lmbedcrypto -lws2_32 -lbcrypt -lcrypt32
	WINEPREFIX=$(CURDIR)/build/wine-tls WINEDEBUG=-all $(WINE) build/win_system_ca.exe

build/test_tls: tests/test_tls.c tests/test.h ws.h build/tls.flags | build
	$(CC) $(CFLAGS) $(SAN) $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS) $(LDLIBS)
build/test_tls_watch: tests/tls/watch.c tests/test_watch.c tests/test.h ws.h build/tls.flags | build   # wss:// via on_watch
	$(CC) $(CFLAGS) $(SAN) $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS) $(LDLIBS)
build/test_tls_vg: tests/test_tls.c tests/test.h ws.h build/tls.flags | build
	$(CC) $(CFLAGS) $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS) $(LDLIBS)
# the TLS programs are rebuilt when MBEDTLS_DIR / TLS_CFLAGS / TLS_LIBS change
build/tls.flags: FORCE | build
	@echo '$(TLS_CFLAGS) $(TLS_LIBS)' | cmp -s - $@ || echo '$(TLS_CFLAGS) $(TLS_LIBS)' > $@
FORCE:

build: ; mkdir -p build
clean: ; rm -rf build
.PHONY: FORCE tls-win wine test-readme test-examples test-tcc glib-run node-deps all test test-nonet test-cpp test-clang test-c89 check-symbols test-mingw fuzz clean examples demo interop tls tls-interop soak
