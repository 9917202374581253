#!/usr/bin/env bash
# tests/cluster/run.sh - a cluster on well-known parts, on 127.0.0.1 only: Redis, three
# examples/cluster_chat.c instances and nginx as the WebSocket load balancer (least_conn) in
# front of them; tests/cluster/driver.c runs 9 chat clients through nginx. Checked: every
# client gets every other client's lines exactly once and in order per sender; after one
# instance is killed its clients reconnect through nginx to the others and the chat goes on;
# after Redis restarts the instances subscribe again and the chat goes on.
#   make cluster-test   (needs redis-server, nginx, libhiredis-dev; .ci/run installs them)
# Ends with "N passed, N failed". A missing tool: SKIPPED (a failure when CI=true).
set -u
B=${B:-build}
dir=$B/cluster
for t in redis-server redis-cli nginx; do
    command -v "$t" > /dev/null || [ -x "/usr/sbin/$t" ] || {
        echo "SKIPPED: cluster test: $t not found (apt-get install redis-server nginx libhiredis-dev)"
        [ "${CI:-}" != true ]; exit; }
done
[ -x "$B/cluster_chat" ] && [ -x "$B/cluster_driver" ] || {
    echo "SKIPPED: cluster test: $B/cluster_chat not built (apt-get install libhiredis-dev)"
    [ "${CI:-}" != true ]; exit; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
rm -rf "$dir"; mkdir -p "$dir/tmp" "$dir/logs"
pids=()
cleanup() {   # TERM first: nginx's master then stops its workers (a KILLed master leaves them)
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
    sleep 0.5
    for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done
    wait 2> /dev/null
}
trap cleanup EXIT
passed=0; failed=0
check() { if [ "$1" = 0 ]; then echo "ok $2"; passed=$((passed + 1)); else echo "FAIL $2"; failed=$((failed + 1)); fi; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; exit; }

port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
pick_port() { local p; while :; do p=$((20000 + RANDOM % 40000)); port_free "$p" && { echo "$p"; return; }; done; }
wait_until() {   # wait_until SECONDS CMD...: a hang guard, polled every 0.1 s
    local end=$((SECONDS + $1)); shift
    until "$@"; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.1; done
}
health() {   # health PORT: the instance says it is subscribed to Redis
    local r
    exec 3<> "/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
    r=$(timeout 2 cat <&3); exec 3<&-
    [[ "$r" == *subscribed* ]]
}
redis_up() { redis-cli -h 127.0.0.1 -p "$RP" ping 2> /dev/null | grep -q PONG; }
start_redis() {
    redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        > "$dir/logs/redis.log" 2>&1 & pids+=($!); redis_pid=$!
}

RP=$(pick_port)
start_redis
wait_until 10 redis_up; check $? "redis-server answers on 127.0.0.1:$RP"
declare -A ipid
ports=()
for name in A B C; do
    p=$(pick_port); ports+=("$p")
    "$B/cluster_chat" "$p" "$RP" "$name" > "$dir/logs/$name.log" 2>&1 & pids+=($!); ipid[$name]=$!
done
ok=0; for p in "${ports[@]}"; do wait_until 10 health "$p" || ok=1; done
check $ok "three instances subscribed to Redis"

NP=$(pick_port)
cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $PWD/$dir/nginx.pid;
error_log $PWD/$dir/logs/nginx-error.log warn;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path $PWD/$dir/tmp/body;
    proxy_temp_path $PWD/$dir/tmp/proxy;
    fastcgi_temp_path $PWD/$dir/tmp/fastcgi;
    uwsgi_temp_path $PWD/$dir/tmp/uwsgi;
    scgi_temp_path $PWD/$dir/tmp/scgi;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    upstream chat {
        least_conn;
        server 127.0.0.1:${ports[0]} max_fails=1 fail_timeout=30s;
        server 127.0.0.1:${ports[1]} max_fails=1 fail_timeout=30s;
        server 127.0.0.1:${ports[2]} max_fails=1 fail_timeout=30s;
    }
    server {
        listen 127.0.0.1:$NP;
        location / {
            proxy_pass http://chat;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header Host \$host;
            proxy_read_timeout 1h;
        }
    }
}
CONF
"$NGINX" -p "$PWD/$dir" -c "$PWD/$dir/nginx.conf" > "$dir/logs/nginx.log" 2>&1 & pids+=($!)
wait_until 10 bash -c "! (exec 3<> /dev/tcp/127.0.0.1/$NP) 2> /dev/null && exit 1 || exit 0"
check $? "nginx listens on 127.0.0.1:$NP"

coproc DRV { "$B/cluster_driver" "ws://127.0.0.1:$NP/chat" 9; }
pids+=($DRV_PID)
ask() {   # ask COMMAND EXPECTED-PREFIX: one line back from the driver (30 s hang guard)
    local line
    echo "$1" >&"${DRV[1]}"
    if ! read -r -t 30 line <&"${DRV[0]}"; then check 1 "$1: no answer from the driver"; return; fi
    [[ "$line" == *" ok" ]]; check $? "$line"
}
ask "open"
ask "round 1 20"
kill -9 "${ipid[B]}"; wait "${ipid[B]}" 2> /dev/null
ask "reconnected"
ask "round 2 20"
kill -9 "$redis_pid"; wait "$redis_pid" 2> /dev/null
start_redis
wait_until 10 redis_up; check $? "Redis restarted"
ok=0; for p in "${ports[0]}" "${ports[2]}"; do wait_until 20 health "$p" || ok=1; done
check $ok "the instances subscribed again"
ask "round 3 20"
echo quit >&"${DRV[1]}"
read -r -t 30 line <&"${DRV[0]}" && echo "driver: $line"
finish
