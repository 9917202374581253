#!/usr/bin/env bash
# run.sh - ws.h against real peers: Python websockets and Node ws, each as client of a ws.h
# server and as server for a ws.h client, then a real browser (headless Chromium) on the chat
# example. `make interop` builds build/ws_peer (ASan+UBSan) and build/chat_server, then runs it.
# Only 127.0.0.1, ports chosen by the OS, every process under `timeout`. Prints one line per
# check ("ok - ..." / "FAIL - ..."), then "N passed, N failed"; exits 1 on any failure. A peer
# that is missing is SKIPPED loudly, and under CI=true a skip counts as a failure.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
PEER=$BUILD/ws_peer
PY=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-$(command -v node || echo /usr/bin/node)}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
# ws_peer and chat_server are built with permessage-deflate (WS_USE_ZLIB) when zlib is there
ZLIB=${ZLIB:-$(printf '#include <zlib.h>\n' | ${CC:-cc} -x c -fsyntax-only - 2>/dev/null && echo yes)}
export CHAT_SERVER_FLAGS=${CHAT_SERVER_FLAGS:-$([ "$ZLIB" = yes ] && echo -DWS_USE_ZLIB)}
LOGS=$BUILD/interop
BUDGET=${INTEROP_BUDGET:-900}   # seconds for the whole run, a hang guard: a normal run takes about 90 with
                                # compression (6 min seen on a loaded 2-core machine)
SCENARIOS="messages fragments ping close-client close-empty close-server concurrent subprotocol
           refused vanish-recv vanish-send"
pass=0 fail=0 skip=0 SRV_PID=
start=$(date +%s)
mkdir -p "$LOGS"
# Two runs at once (two `make test`s in one tree) would share logs: the second one waits.
if command -v flock > /dev/null; then
    exec 9> "$BUILD/interop.lock"
    flock -w 300 9 || echo "warning: another interop run holds $BUILD/interop.lock; going ahead"
fi
rm -f "$LOGS"/*.log
# A run that is interrupted leaves no server behind.
trap '[ -n "$SRV_PID" ] && kill -TERM "$SRV_PID" 2>/dev/null' EXIT
trap 'exit 130' INT TERM

ok()   { pass=$((pass + 1)); echo "ok - $*"; }
bad()  { fail=$((fail + 1)); echo "FAIL - $*"; }
skipped() {
    skip=$((skip + 1)); echo "SKIPPED: $*"
    if [ "${CI:-}" = true ]; then bad "skipped under CI=true: $*"; fi
}

# Counts the ok/FAIL lines of a log, echoing them with a label.
tally() {   # label logfile
    local line
    while IFS= read -r line; do
        case $line in
            "ok - "*) pass=$((pass + 1)); echo "ok - [$1] ${line#ok - }" ;;
            "FAIL - "*) fail=$((fail + 1)); echo "FAIL - [$1] ${line#FAIL - }" ;;
        esac
    done < "$2"
}

# Runs one client scenario (bounded by timeout) and counts its checks. vanish-send must end
# by SIGKILL (137): it kills itself mid-message.
# The whole run has a time budget (a hung peer must not stretch it): once it is spent, the
# remaining scenarios fail without running.
client() {   # label log-name expected-status cmd...
    local label=$1 name=$2 log=$LOGS/$2.log want=$3 rc left
    shift 3
    left=$((start + BUDGET - $(date +%s)))
    if [ $left -lt 5 ]; then bad "[$label] $name: not run, the ${BUDGET} s budget is spent"; return; fi
    [ $left -gt 60 ] && left=60
    { timeout -k 5 $left "$@" > "$log" 2>&1; rc=$?; } 2>/dev/null   # no "Killed" notice
    tally "$label" "$log"
    if [ $rc = 124 ] || [ $rc = 137 -a "$want" != 137 ]; then
        bad "[$label] timed out or was killed (status $rc); see $log"
    elif [ "$rc" != "$want" ] && ! grep -q '^FAIL - ' "$log"; then
        bad "[$label] exited with status $rc but reported no failure; see $log"; tail -5 "$log"
    elif ! grep -q '^ok - \|^FAIL - ' "$log"; then
        bad "[$label] ran no check; see $log"
    fi
}

# Starts a server in the background; sets SRV_PID and SRV_URL from the line it prints.
server() {   # log-name cmd...
    local log=$LOGS/$1.log i port
    shift
    # --foreground: SIGTERM goes to the server once (not again to a process group)
    timeout --foreground -k 5 600 "$@" > "$log" 2>&1 &
    SRV_PID=$! SRV_URL=
    for i in $(seq 600); do   # up to 60 s (a hang guard): it breaks as soon as the URL is there
        SRV_URL=$(grep -Eo '(ws|http)://127\.0\.0\.1:[0-9]+' "$log" 2>/dev/null | head -1)
        port=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$log" 2>/dev/null | head -1)
        [ -n "$port" ] && SRV_URL=ws://127.0.0.1:$port
        [ -n "$SRV_URL" ] && return 0
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}

# Stops the server and checks that it ended well (ws_peer: exit 0, so no ASan/LSan report;
# chat_server has no signal handler: 143).
stop_server() {   # label log-name [expected-status]
    local rc
    kill -TERM "$SRV_PID" 2>/dev/null
    wait "$SRV_PID"
    rc=$?
    SRV_PID=
    tally "$1" "$LOGS/$2.log"
    if [ $rc = "${3:-0}" ]; then ok "[$1] server was still up at the end and stopped on SIGTERM"
    else bad "[$1] server exited with status $rc; see $LOGS/$2.log"; tail -20 "$LOGS/$2.log"; fi
}

# One peer in both roles. name: py or node; cmd: how to run its script.
pair() {   # name cmd...
    local name=$1 s nonce n=0
    shift
    # the peer as client of a ws.h server
    if server "wsh-server-for-$name" "$PEER" server; then
        for s in $SCENARIOS; do
            n=$((n + 1)); nonce=$name-c$n-$$
            if [ "$s" = vanish-send ]; then
                client "$name client -> ws.h server" "$name-client-$s" 137 "$@" client "$SRV_URL" "$s" "$nonce"
                client "$name client -> ws.h server" "$name-client-vanish-check" 0 "$@" client "$SRV_URL" vanish-check "$nonce"
            else
                client "$name client -> ws.h server" "$name-client-$s" 0 "$@" client "$SRV_URL" "$s" "$nonce"
            fi
        done
        stop_server "ws.h server for $name" "wsh-server-for-$name"
    else
        bad "[$name client -> ws.h server] the ws.h server did not start"; cat "$LOGS/wsh-server-for-$name.log"
    fi
    # the peer as server for a ws.h client
    if server "$name-server" "$@" server; then
        for s in $SCENARIOS; do
            n=$((n + 1)); nonce=$name-s$n-$$
            if [ "$s" = vanish-send ]; then
                client "ws.h client -> $name server" "wsh-client-$name-$s" 137 "$PEER" client "$SRV_URL" "$s" "$nonce"
                client "ws.h client -> $name server" "wsh-client-$name-vanish-check" 0 "$PEER" client "$SRV_URL" vanish-check "$nonce"
            else
                client "ws.h client -> $name server" "wsh-client-$name-$s" 0 "$PEER" client "$SRV_URL" "$s" "$nonce"
            fi
        done
        stop_server "$name server" "$name-server"
    else
        bad "[ws.h client -> $name server] the $name server did not start"; cat "$LOGS/$name-server.log"
    fi
}

# permessage-deflate (ws_peer built with WS_USE_ZLIB): the peer as client of a ws.h server that
# accepts it, and ws.h as client of the peer's server, with context takeover and 15-bit windows
# (deflate) and without, with 9-bit windows (deflate-nct).
deflate_pair() {   # name cmd...
    local name=$1 mode
    shift
    for mode in deflate deflate-nct; do
        if server "wsh-$mode-server-for-$name" env WS_PEER_DEFLATE=$mode "$PEER" server; then
            client "$name client -> ws.h server, $mode" "$name-client-$mode" 0 "$@" client "$SRV_URL" $mode
            stop_server "ws.h $mode server for $name" "wsh-$mode-server-for-$name"
        else
            bad "[$name client -> ws.h server, $mode] the ws.h server did not start"
        fi
    done
    if server "$name-deflate-server" env PEER_DEFLATE=1 "$@" server; then
        for mode in deflate deflate-nct; do
            client "ws.h client -> $name server, $mode" "wsh-client-$name-$mode" 0 \
                env WS_PEER_DEFLATE=$mode "$PEER" client "$SRV_URL" $mode
        done
        stop_server "$name deflate server" "$name-deflate-server"
    else
        bad "[ws.h client -> $name server, deflate] the $name server did not start"
    fi
}

if [ ! -x "$PEER" ]; then
    bad "$PEER is not built (run: make interop)"
else
    if "$PY" -c 'import websockets' 2>/dev/null; then
        echo "== Python websockets $("$PY" -c 'import websockets; print(websockets.__version__)')"
        pair py "$PY" tests/interop/peer.py
        if [ "$ZLIB" = yes ]; then deflate_pair py "$PY" tests/interop/peer.py
        else skipped "permessage-deflate with Python websockets: no zlib headers (install: apt-get install zlib1g-dev)"; fi
    else
        skipped "Python websockets tests: $PY cannot import websockets (install: apt-get install python3-websockets)"
    fi
    if [ -x "$NODE" ] && [ -f tests/node_modules/ws/package.json ]; then
        echo "== Node $("$NODE" --version), ws $("$NODE" -p 'require("./tests/node_modules/ws/package.json").version')"
        pair node "$NODE" tests/interop/peer.js
        if [ "$ZLIB" = yes ]; then deflate_pair node "$NODE" tests/interop/peer.js
        else skipped "permessage-deflate with Node ws: no zlib headers (install: apt-get install zlib1g-dev)"; fi
    else
        skipped "Node ws tests: node or tests/node_modules/ws missing (install: apt-get install nodejs npm && npm --prefix tests ci)"
    fi
fi

# ---- a real browser: two Chromium pages chat through examples/chat_server ----
if [ ! -x "$CHROMIUM" ] || [ ! -x "$NODE" ] || [ ! -f tests/node_modules/playwright-core/package.json ]; then
    skipped "browser test: needs $CHROMIUM, node and tests/node_modules/playwright-core (install: apt-get install chromium nodejs npm && npm --prefix tests ci)"
elif [ ! -x "$BUILD/chat_server" ]; then
    bad "[browser] $BUILD/chat_server is not built (run: make interop)"
else
    echo "== Chromium $("$CHROMIUM" --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1), playwright-core $("$NODE" -p 'require("./tests/node_modules/playwright-core/package.json").version')"
    if server chat-server "$BUILD/chat_server" 0; then
        client "browser -> chat_server" browser 0 "$NODE" tests/interop/browser.js "$SRV_URL/" \
            "$LOGS/chat-server.log" "$BUILD/interop-browser.png"
        stop_server "chat_server" chat-server 143
    else
        bad "[browser] chat_server did not start"; cat "$LOGS/chat-server.log"
    fi
fi

echo "interop: $(( $(date +%s) - start )) s; logs in $LOGS/"
[ $skip -gt 0 ] && echo "SKIPPED: $skip part(s) of the interop tests did not run (see SKIPPED lines above)"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
