#!/usr/bin/env bash
# run.sh - ws.h on Windows for real, under Wine (`make wine`, part of `make test`):
#   1. the unit, engine and loopback tests (tests/run_tests.c) built with mingw-w64 and run as
#      build/win/run_tests.exe; the tests that need POSIX print "not on Windows: NAME (why)";
#   2. tests/interop/ws_peer.c built for Windows as a server under Wine, with the Linux
#      build/ws_peer as client running every interop scenario against it;
#   3. the Linux build/ws_peer as server, with the Windows ws_peer.exe as client (one Wine
#      process per scenario), and examples/win32_loop.exe (a real Win32 message loop) against
#      the Linux build/testee_server.
# Not on Windows here: the TLS tests (no mbedTLS for mingw-w64 in Debian) and the fuzzers.
# Wine runs with WINEDEBUG=-all in its own prefix, build/wine (made on first use; later runs
# reuse it; `make clean` removes it), with one wineserver for the whole run, stopped at the end.
# Prints "ok - ..." / "FAIL - ..." per check, then "N passed, N failed". Needs wine64 (Debian
# package wine64) and x86_64-w64-mingw32-gcc; without them: SKIPPED (a failure under CI=true).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
WINE=${WINE:-$(command -v wine64 || command -v wine || ls /usr/lib/wine/wine64 2>/dev/null)}
WINESERVER=${WINESERVER:-$(command -v wineserver || ls /usr/lib/wine/wineserver64 /usr/lib/wine/wineserver 2>/dev/null | head -1)}
LOGS=$BUILD/wine-logs
BUDGET=${WINE_BUDGET:-600}   # seconds for the whole run (Wine starts slowly on a loaded machine)
pass=0 fail=0 SRV_PID= start=$(date +%s)

skip_all() {
    echo "************************************************************************"
    echo "SKIPPED: Windows tests under Wine: $*"
    echo "************************************************************************"
    [ "${CI:-}" != true ]
    exit $?
}
[ -n "$WINE" ] && [ -x "$WINE" ] || skip_all "no wine64 (install: apt-get install wine64)"
[ -n "$WINESERVER" ] && [ -x "$WINESERVER" ] || skip_all "no wineserver (install: apt-get install wine64)"
for f in run_tests.exe ws_peer.exe; do
    [ -f "$BUILD/win/$f" ] || skip_all "$BUILD/win/$f not built (needs x86_64-w64-mingw32-gcc: apt-get install gcc-mingw-w64-x86-64)"
done

export WINEPREFIX=$PWD/$BUILD/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="   # no Mono/Gecko
unset DISPLAY WAYLAND_DISPLAY   # nothing here opens a window
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log
trap '[ -n "$SRV_PID" ] && kill -TERM "$SRV_PID" 2>/dev/null; "$WINESERVER" -k 2>/dev/null' EXIT
trap 'exit 130' INT TERM

ok()  { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
left() { echo $((start + BUDGET - $(date +%s))); }

# The prefix's first start (wineboot) takes the longest. Its output goes to a file: Wine's
# services inherit it and would otherwise hold a pipe (make test | tee) open.
"$WINESERVER" -k 2>/dev/null   # a wineserver left over from an interrupted run
t0=$(date +%s)
fresh=; [ -f "$WINEPREFIX/system.reg" ] || fresh=" (a fresh prefix)"
"$WINESERVER" -p < /dev/null > /dev/null 2>&1
timeout 300 "$WINE" wineboot --init < /dev/null > "$LOGS/wineboot.log" 2>&1
echo "== $("$WINE" --version 2>/dev/null) in $WINEPREFIX: first start $(( $(date +%s) - t0 )) s$fresh"

# Counts a log's ok/FAIL lines under a label.
tally() {   # label logfile
    local line
    while IFS= read -r line; do
        line=${line%$'\r'}
        case $line in
            "ok - "*) pass=$((pass + 1)); echo "ok - [$1] ${line#ok - }" ;;
            "FAIL - "*) fail=$((fail + 1)); echo "FAIL - [$1] ${line#FAIL - }" ;;
        esac
    done < "$2"
}

# One ws_peer client scenario (bounded); vanish-send ends by killing itself (137).
client() {   # label name expected-status cmd...
    local label=$1 name=$2 want=$3 log=$LOGS/$2.log rc t
    shift 3
    t=$(left); [ "$t" -gt 120 ] && t=120
    if [ "$t" -lt 10 ]; then bad "[$label] $name: not run, the $BUDGET s budget is spent"; return; fi
    { timeout -k 5 "$t" "$@" < /dev/null > "$log" 2>&1; rc=$?; } 2>/dev/null
    tally "$label" "$log"
    if [ $rc = 124 ] || [ $rc = 137 -a "$want" != 137 ]; then bad "[$label] $name timed out or was killed; see $log"
    elif [ "$rc" != "$want" ] && ! grep -q '^FAIL - ' "$log"; then bad "[$label] $name exited with $rc; see $log"; tail -5 "$log"
    elif ! grep -q '^ok - \|^FAIL - ' "$log"; then bad "[$label] $name ran no check; see $log"; tail -5 "$log"
    fi
}

# Starts a server in the background; SRV_PID, SRV_URL from the URL it prints (Wine: slowly).
server() {   # name cmd...
    local log=$LOGS/$1.log i
    shift
    timeout --foreground -k 5 "$(left)" "$@" < /dev/null > "$log" 2>&1 &
    SRV_PID=$! SRV_URL=
    for i in $(seq 1200); do   # at most 120 s: Wine's start on a loaded machine
        SRV_URL=$(grep -Eo 'ws://127\.0\.0\.1:[0-9]+' "$log" 2>/dev/null | head -1)
        [ -n "$SRV_URL" ] && return 0
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}
stop_server() {   # label name
    if kill -0 "$SRV_PID" 2>/dev/null; then ok "[$1] the server was still up at the end"
    else bad "[$1] the server had exited; see $LOGS/$2.log"; tail -10 "$LOGS/$2.log"; fi
    kill -TERM "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null
    SRV_PID=
    tally "$1" "$LOGS/$2.log"
}

# ---- 1. the test suite as a Windows program ----
echo "== build/win/run_tests.exe under Wine"
t0=$(date +%s)
timeout -k 5 "$(left)" "$WINE" "$BUILD/win/run_tests.exe" < /dev/null > "$LOGS/run_tests.log" 2>&1
rc=$?
# its own lines (failures, skips, the list of POSIX-only tests) and its summary, which .ci/run
# adds to the total like any test program's
tr -d '\r' < "$LOGS/run_tests.log" | grep -E '^(  |FAIL |[0-9]+ )'
summary=$(tr -d '\r' < "$LOGS/run_tests.log" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
if [ $rc = 0 ] && [ -n "$summary" ]; then echo "run_tests.exe under Wine: $(( $(date +%s) - t0 )) s"
else bad "run_tests.exe exited with $rc (${summary:-no summary line}); see $LOGS/run_tests.log"; fi

# ---- 2. a Windows server, Linux clients ----
SCENARIOS="messages fragments ping close-client close-empty close-server concurrent subprotocol refused vanish-recv"
if [ ! -x "$BUILD/ws_peer" ]; then
    bad "$BUILD/ws_peer (Linux) is not built (make build/ws_peer)"
elif server win-server "$WINE" "$BUILD/win/ws_peer.exe" server; then
    echo "== Linux ws_peer clients -> Windows ws_peer.exe server at $SRV_URL"
    n=0
    for s in $SCENARIOS; do
        n=$((n + 1))
        client "Linux client -> Windows server" "linux-client-$s" 0 "$BUILD/ws_peer" client "$SRV_URL" "$s" "lw$n-$$"
    done
    client "Linux client -> Windows server" linux-client-vanish-send 137 "$BUILD/ws_peer" client "$SRV_URL" vanish-send "lwv-$$"
    client "Linux client -> Windows server" linux-client-vanish-check 0 "$BUILD/ws_peer" client "$SRV_URL" vanish-check "lwv-$$"
    stop_server "Windows ws_peer.exe server" win-server
else
    bad "[Windows server] ws_peer.exe server did not start under Wine"; tail -20 "$LOGS/win-server.log"
    kill -TERM "$SRV_PID" 2>/dev/null; SRV_PID=
fi

# ---- 3. a Linux server, Windows clients ----
if server linux-server "$BUILD/ws_peer" server; then
    echo "== Windows ws_peer.exe clients -> Linux ws_peer server at $SRV_URL"
    n=0
    for s in messages fragments ping close-server concurrent refused; do
        n=$((n + 1))
        client "Windows client -> Linux server" "win-client-$s" 0 "$WINE" "$BUILD/win/ws_peer.exe" client "$SRV_URL" "$s" "wl$n-$$"
    done
    stop_server "Linux ws_peer server" linux-server
else
    bad "[Linux server] build/ws_peer server did not start"; tail -20 "$LOGS/linux-server.log"
fi
if [ -f "$BUILD/win/win32_loop.exe" ] && [ -x "$BUILD/testee_server" ] && server testee "$BUILD/testee_server" 0; then
    echo "== examples/win32_loop.exe (a Win32 message loop) -> Linux testee_server at $SRV_URL"
    timeout -k 5 120 "$WINE" "$BUILD/win/win32_loop.exe" "$SRV_URL" 2 < /dev/null > "$LOGS/win32_loop.log" 2>&1
    rc=$?
    got=$(tr -d '\r' < "$LOGS/win32_loop.log" | grep -c '^< tick ')
    if [ $rc = 0 ] && [ "$got" -ge 2 ] && tr -d '\r' < "$LOGS/win32_loop.log" | grep -q '^closed, code 1000$'; then
        ok "[win32_loop.exe -> Linux server] $got ticks echoed, closed with 1000"
    else
        bad "[win32_loop.exe -> Linux server] exit $rc, $got ticks echoed; see $LOGS/win32_loop.log"; tail -5 "$LOGS/win32_loop.log"
    fi
    kill -TERM "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=
else
    bad "[win32_loop.exe] $BUILD/win/win32_loop.exe or $BUILD/testee_server missing, or the server did not start"
fi

echo "Not on Windows here: the TLS tests (no mbedTLS for mingw-w64 in Debian), the fuzzers, the Node/Python/browser peers."
echo "wine: $(( $(date +%s) - start )) s; logs in $LOGS/"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
