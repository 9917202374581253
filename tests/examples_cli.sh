#!/usr/bin/env bash
# examples_cli.sh - the example servers' command lines: a port out of range or not a number is
# an error (exit 2, nothing listens; never 99999 -> 34463), a port in use says "address already
# in use", and `make demo PORT=N` reaches chat_server. Needs the examples built (make examples).
# Only 127.0.0.1; every process under timeout. Prints "ok - ..."/"FAIL - ..." and
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
pass=0 fail=0 pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null' EXIT
ok()  { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }

expect() {   # want-status want-text label cmd...
    local want=$1 text=$2 label=$3 out rc
    shift 3
    out=$(timeout 60 "$@" 2>&1 < /dev/null); rc=$?
    if [ "$rc" = "$want" ] && printf '%s' "$out" | grep -qF -- "$text"; then ok "$label"
    else bad "$label: status $rc (want $want), output: $out"; fi
}

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
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
