#!/usr/bin/env bash
# examples_cli.sh - the example servers' command lines: a port out of range or not a number is
# an error (exit 2, nothing listens; never 99999 -> 34463), a port in use says "address already
# in use", and `make demo PORT=N` reaches chat_server. The client (wscat): a URL that is not
# ws://, no server, wss:// in the build without TLS each exit 1 with the reason said once, and
# an echo through testee_server. Needs the examples built (make examples).
# Only 127.0.0.1; every process under timeout. Prints "ok - ..."/"FAIL - ..." and
# "N passed, N failed". Every example with arguments: --help (or -h) prints its usage on
# stdout and exits 0; a wrong argument prints it on stderr and exits 2.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
pass=0 fail=0 pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null' EXIT
ok()  { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }

lines() {   # want-lines label cmd...: an error said once, not by the log hook and again by the
    local want=$1 label=$2 out n   # program in other words
    shift 2
    out=$(timeout 60 "$@" 2>&1 < /dev/null)
    n=$(printf '%s\n' "$out" | wc -l)
    if [ "$n" = "$want" ]; then ok "$label: $want line(s)"
    else bad "$label: $n lines (want $want): $out"; fi
}

expect() {   # want-status want-text label cmd...
    local want=$1 text=$2 label=$3 out rc
    shift 3
    out=$(timeout 60 "$@" 2>&1 < /dev/null); rc=$?
    if [ "$rc" = "$want" ] && printf '%s' "$out" | grep -qF -- "$text"; then ok "$label"
    else bad "$label: status $rc (want $want), output: $out"; fi
}

usage() {   # want-status label cmd...: --help asked for: usage on stdout, nothing on stderr,
    local want=$1 label=$2 rc o e   # status 0; a wrong argument: usage on stderr only, status 2
    shift 2
    timeout 60 "$@" > "$B/cli.out" 2> "$B/cli.err" < /dev/null; rc=$?
    o=$(cat "$B/cli.out"); e=$(cat "$B/cli.err")
    if [ "$want" = 0 ]; then set -- "$o" "$e"; else set -- "$e" "$o"; fi
    if [ "$rc" = "$want" ] && printf '%s' "$1" | grep -q '^usage: ' && [ -z "$2" ]; then ok "$label"
    else bad "$label: status $rc (want $want), stdout: $o, stderr: $e"; fi
}
# each example that takes arguments: --help and -h, then a wrong argument (gtk_chat and
# qt_chat check theirs before the toolkit starts: no display needed)
for x in echo_server:abc chat_server:abc testee_server:80x threaded_server:abc tls_echo_server:1 \
         wscat:--bogus wscat_tls: gui_loop: glib_loop: testee_client:ws://127.0.0.1:1 gtk_chat: \
         qt_chat: cluster_chat:; do
    e=${x%%:*} arg=${x#*:}
    [ -x "$B/$e" ] || continue
    usage 0 "$e --help: usage on stdout, status 0" "$B/$e" --help
    usage 0 "$e -h: usage on stdout, status 0" "$B/$e" -h
    usage 2 "$e ${arg:-(no arguments)}: usage on stderr, status 2" "$B/$e" $arg
done
usage 2 "echo_server 1 2 3: too many arguments" "$B/echo_server" 1 2 3
usage 2 "gui_loop URL 5 sideways: not a mode" "$B/gui_loop" ws://127.0.0.1:1/ 5 sideways

for p in 99999 65536 -1 abc 80x; do
    expect 2 "0-65535" "echo_server $p: refused" "$B/echo_server" "$p"
    expect 2 "0-65535" "chat_server $p: refused" "$B/chat_server" "$p"
    expect 2 "0-65535" "testee_server $p: refused" "$B/testee_server" "$p"
done
expect 2 "0-65535" "threaded_server 99999: refused" "$B/threaded_server" 99999
if [ -x "$B/tls_echo_server" ]; then
    expect 2 "0-65535" "tls_echo_server 99999: refused" "$B/tls_echo_server" 99999 a.crt a.key
fi

# a port in use: each example names the cause; make demo PORT=N passes the port on
timeout 60 "$B/testee_server" 0 > "$B/examples_cli.log" 2>&1 &
pid=$!
port=
for i in $(seq 100); do
    port=$(sed -n 's|.*ws://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$B/examples_cli.log")
    [ -n "$port" ] && break
    sleep 0.1
done
if [ -z "$port" ]; then
    bad "testee_server 0 did not start: $(cat "$B/examples_cli.log")"
else
    expect 1 "127.0.0.1:$port: address already in use" "echo_server on a port in use" "$B/echo_server" "$port"
    expect 1 "address already in use" "testee_server on a port in use" "$B/testee_server" "$port"
    expect 1 "address already in use" "chat_server on a port in use" "$B/chat_server" "$port"
    expect 1 "address already in use" "threaded_server on a port in use" "$B/threaded_server" "$port" 1 1
    expect 2 "127.0.0.1:$port: address already in use" "make demo PORT=$port" \
        make --no-print-directory demo PORT="$port"
    expect 2 "make demo PORT=$((port + 1))" "chat_server suggests another port" \
        make --no-print-directory demo PORT="$port"
    out=$(printf 'hello\n' | timeout 60 "$B/wscat" "ws://127.0.0.1:$port/" 2>&1); rc=$?
    if [ $rc = 0 ] && printf '%s' "$out" | grep -qx '< hello'; then ok "wscat: an echo through testee_server"
    else bad "wscat echo: status $rc, output: $out"; fi
fi

# the client's errors: exit 1, the reason said once (port 1: nothing listens there)
expect 1 "scheme is not ws:// or wss://" "wscat without ws://" "$B/wscat" 127.0.0.1:9001
lines 1 "wscat without ws://" "$B/wscat" 127.0.0.1:9001
expect 1 "port out of range" "wscat ws://127.0.0.1:99999/" "$B/wscat" ws://127.0.0.1:99999/
expect 1 "connection refused" "wscat with no server" "$B/wscat" ws://127.0.0.1:1/
lines 2 "wscat with no server (the error, then the close)" "$B/wscat" ws://127.0.0.1:1/
expect 1 "invalid proxy URL" "wscat --proxy bad://x" "$B/wscat" --proxy bad://x ws://127.0.0.1:1/
expect 1 "build/wscat_tls" "wscat wss:// built without TLS points to wscat_tls" "$B/wscat" wss://127.0.0.1:1/
lines 2 "wscat wss:// built without TLS (why, then where to go)" "$B/wscat" wss://127.0.0.1:1/
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
