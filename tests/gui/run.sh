#!/usr/bin/env bash
# tests/gui/run.sh - the GUI examples in real windows under Xvfb, against a broadcast server
# (examples/threaded_server.c, one loop) and a scripted peer (tests/gui/peer.c): the peer's
# message must appear in the window; then the server goes away (the window must keep
# repainting and say it reconnects), comes back on the same port, and the peer's next message
# must appear too. Each GUI example checks its own window through the toolkit and saves a
# screenshot to build/<example>.png.
#   make gui-test   (needs xvfb; GTK 3 and/or Qt 5 dev packages; .ci/run installs them)
# Ends with "N passed, N failed". Nothing to run (no Xvfb, no toolkit): SKIPPED (failure under CI).
set -u
B=${B:-build}
passed=0; failed=0; ran=0
check() { if [ "$1" = 0 ]; then echo "ok $2"; passed=$((passed + 1)); else echo "FAIL $2"; failed=$((failed + 1)); fi; }
command -v xvfb-run > /dev/null || { echo "SKIPPED: GUI tests: xvfb-run not found (apt-get install xvfb xauth)"; [ "${CI:-}" != true ]; exit; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done; wait 2> /dev/null; }
trap cleanup EXIT
wait_for() {   # wait_for FILE PATTERN SECONDS: a hang guard
    local end=$((SECONDS + $3))
    until grep -q "$2" "$1" 2> /dev/null; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.1; done
}

run_gui() {   # run_gui NAME SHOT-EXT COMMAND...
    local name=$1 ext=$2 log=$B/gui-$1 url port spid; shift 2
    ran=$((ran + 1))
    rm -f "$log".*
    "$B/threaded_server" 0 1 > "$log.server" 2>&1 & spid=$!; pids+=($spid)
    wait_for "$log.server" "^listening on" 10 || { check 1 "$name: server started"; return; }
    url=$(sed -n 's/^listening on \([^ ]*\).*/\1/p' "$log.server"); port=${url##*:}; port=${port%%/*}
    "$B/gui_peer" "$url" > "$log.peer" 2>&1 & pids+=($!)
    WS_GUI_TEST="$B/$name" QT_QPA_PLATFORM=xcb timeout 150 xvfb-run -a -s "-screen 0 800x600x24" "$@" "$url" > "$log.out" 2>&1 &
    local gpid=$!; pids+=($gpid)
    wait_for "$log.out" "^GOT 1" 100; check $? "$name: the peer's message reached the window"
    kill "$spid"; wait "$spid" 2> /dev/null
    wait_for "$log.out" "^DOWN" 20; check $? "$name: the window noticed the server went away"
    "$B/threaded_server" "$port" 1 > "$log.server2" 2>&1 & pids+=($!)   # the same port again
    wait "$gpid"; check $? "$name: the window's own checks (below)"
    grep -v -e '^wine: ' -e 'XDG_RUNTIME_DIR' "$log.out" | sed 's/^/    /'
    [ -s "$B/$name.$ext" ]; check $? "$name: screenshot $B/$name.$ext"
    if [ "$ext" = bmp ] && command -v convert > /dev/null; then convert "$B/$name.bmp" "$B/$name.png"; fi
}
[ -x "$B/gtk_chat" ] && run_gui gtk_chat png "$B/gtk_chat"
[ -x "$B/qt_chat" ] && run_gui qt_chat png "$B/qt_chat"
# the Win32 window: cross-built by test-mingw, run under Wine (its own prefix under build/)
WINE=$(command -v wine64 || command -v wine || { [ -x /usr/lib/wine/wine64 ] && echo /usr/lib/wine/wine64; } || true)
if [ -f "$B/win32_chat.exe" ] && [ -n "$WINE" ]; then
    export WINEPREFIX=$PWD/$B/wineprefix WINEDEBUG=-all
    run_gui win32_chat bmp "$WINE" "$B/win32_chat.exe"
elif [ -f "$B/win32_chat.exe" ]; then
    echo "SKIPPED: the Win32 window: wine not found (apt-get install wine64)"; [ "${CI:-}" != true ] || failed=$((failed + 1))
fi
if [ "$ran" = 0 ]; then
    echo "SKIPPED: GUI tests: neither GTK 3 nor Qt 5 found (apt-get install libgtk-3-dev qtbase5-dev)"
    [ "${CI:-}" != true ]; exit
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
