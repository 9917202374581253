#!/bin/sh
# run.sh - ws.h vs libwebsockets / websocketpp / civetweb echo servers. See README.md.
#   bench/run.sh [throughput] [memory] [mixed] [callgrind]      (default: all four)
#   bench/run.sh rawtcp      ws.h vs raw TCP echo, server CPU per message (RAWTCP, RAWLOAD knobs)
#   bench/run.sh rawpair     the same, each server and tcp_echo at once (both on core 0, each
#                            under its own tcp_load on core 1): per-repetition ratios over the same
#                            seconds; RAWSERVERS may name "floor" (tcp_echo PORT ws: the upgrade and
#                            the unmasking any WebSocket echo needs, nothing else); RAWCC=cubic gives
#                            every server's listening socket that congestion control (build/cc_shim.so)
#   bench/run.sh abpair      two servers (RAWSERVERS' first two, e.g. "ws main") at once, each under its
#                            own tcp_load, the first started alternating: ratios over the same seconds
#   bench/run.sh handshake   ws.h server CPU per handshake, and against a raw TCP server doing the
#                            same exchange (tcp_echo PORT hs, hs_load client) (HSCONNS, HSSERVERS)
#   bench/run.sh hscount     the same servers' system calls (perf) and user-space instructions
#                            (callgrind) per handshake
#   bench/run.sh hspair      as handshake, each server at once with tcp_echo hs (both on core 0,
#                            each under its own hs_load on core 1): ratios over the same seconds
# Knobs (environment): REPS=3 DUR=3 CONNS=32 INFLIGHT=8 SIZES="32 1024 65536" IDLE=10000
#   BUSY=100 SERVERS="ws lws wspp civet" OUT=build/results
# Everything binds 127.0.0.1 only and every process is bounded by `timeout`.
set -u
cd "$(dirname "$0")"
REPS=${REPS:-3}; DUR=${DUR:-3}; CONNS=${CONNS:-32}; INFLIGHT=${INFLIGHT:-8}
SIZES=${SIZES:-"32 1024 65536"}; IDLE=${IDLE:-10000}; BUSY=${BUSY:-100}
SERVERS=${SERVERS:-"ws lws wspp civet"}; OUT=${OUT:-build/results}
RAWTCP=${RAWTCP:-"16:100x10 65536:32x4 1048576:8x2"}   # SIZE:CONNSxINFLIGHT for rawtcp
HSCONNS=${HSCONNS:-20}
HSSERVERS=${HSSERVERS:-"ws wsraw tcp"}   # handshake: ws (ws_echo under load), wsraw (under hs_load),
                                         # tcp (tcp_echo hs), or NAME: build/NAME_echo under hs_load
RAWSERVERS=${RAWSERVERS:-"ws tcp"}   # rawtcp: build/NAME_echo for each (e.g. a saved older ws_echo)
RAWCC=${RAWCC:-}   # rawtcp, rawpair: a TCP congestion control for the servers' sockets (LD_PRELOAD cc_shim)
RAWLOAD=${RAWLOAD:-tcp_load}   # rawtcp: who loads ws.h: tcp_load (its ws mode, the same loop
                               # as for tcp_echo) or load (the ws.h client, slower than the server)
WHAT=${*:-"throughput memory mixed callgrind"}
B=build
make -s all >/dev/null || exit 1
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)" 2>/dev/null; ulimit -n 30000 2>/dev/null
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    PIN_S="taskset -c 0"; PIN_L="taskset -c 1"; else PIN_S=""; PIN_L=""; fi
HZ=$(getconf CLK_TCK)

free_port() {   # a port nobody listens on (the machine is shared)
    p=$(( 20000 + ($$ + ${1:-0}) % 20000 ))
    while ss -ltn 2>/dev/null | grep -q ":$p "; do p=$((p + 1)); done
    echo $p
}
have() { [ -x "$B/$1_echo" ]; }
rss_kb() { awk '/^VmRSS/ {print $2}' /proc/$1/status; }
cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
# start_server NAME PORT [CIVET_THREADS]: sets SPID, waits for "ready"
start_server() {
    log=$OUT/server_$1.log
    case $1 in
    civet) $PIN_S timeout 900 $B/civet_echo $2 "${3:-128}" >"$log" 2>&1 & ;;
    floor) env $SRV_ENV $PIN_S timeout 900 $B/tcp_echo $2 ws >"$log" 2>&1 & ;;
    *)     env $SRV_ENV $PIN_S timeout 900 $B/$1_echo $2 >"$log" 2>&1 & ;;
    esac
    SPID=$!
    # timeout's child is the server
    for i in $(seq 1 100); do grep -q ready "$log" 2>/dev/null && break; sleep 0.1; done
    SPID=$(pgrep -P $SPID | head -1)
}
stop_server() { kill -TERM $SPID 2>/dev/null; for i in $(seq 1 50); do kill -0 $SPID 2>/dev/null || break; sleep 0.1; done; kill -KILL $SPID 2>/dev/null; wait 2>/dev/null; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

throughput() {
    f=$OUT/throughput.txt; : >"$f"
    for rep in $(seq 1 "$REPS"); do
        for s in $SERVERS; do
            have $s || continue
            port=$(free_port); start_server $s $port
            for size in $SIZES; do
                t0=$(cpu_ticks $SPID); w0=$(date +%s.%N)
                r=$($PIN_L timeout $((DUR + 30)) $B/load ws://127.0.0.1:$port/ $CONNS $INFLIGHT $size $DUR | grep RESULT)
                t1=$(cpu_ticks $SPID); w1=$(date +%s.%N)
                scpu=$(echo "$t0 $t1 $w0 $w1 $HZ" | awk '{printf "%.0f", 100 * ($2 - $1) / $5 / ($4 - $3)}')
                [ -n "$r" ] && echo "rep $rep server $s $r server_cpu $scpu%" | tee -a "$f"
            done
            stop_server
        done
    done
    echo; echo "== throughput: median of $REPS, $CONNS conns x $INFLIGHT in flight, binary echo, ${DUR}s"
    printf "%-6s %7s %10s %9s %8s %8s %11s  %s\n" server size msgs/s MB/s srv_cpu load_cpu msgs/srv-cpu-s "ws/x msgs/s | ws/x msgs per CPU-s (per-rep ratios, median)"
    for size in $SIZES; do for s in $SERVERS; do
        grep -q "server $s .* size $size " "$f" || continue
        m=$(grep "server $s .* size $size " "$f" | awk '{for(i=1;i<NF;i++) if($i=="msgs/s") print $(i+1)}' | median)
        mb=$(grep "server $s .* size $size " "$f" | awk '{for(i=1;i<NF;i++) if($i=="MB/s") print $(i+1)}' | median)
        sc=$(grep "server $s .* size $size " "$f" | awk '{print $NF}' | tr -d % | median)
        lc=$(grep "server $s .* size $size " "$f" | awk '{for(i=1;i<NF;i++) if($i=="load_cpu") print $(i+1)}' | tr -d % | median)
        ratio=$(for rep in $(seq 1 "$REPS"); do
            a=$(grep "rep $rep server ws .* size $size " "$f" | awk '{for(i=1;i<NF;i++) if($i=="msgs/s") print $(i+1)}')
            b=$(grep "rep $rep server $s .* size $size " "$f" | awk '{for(i=1;i<NF;i++) if($i=="msgs/s") print $(i+1)}')
            [ -n "$a" ] && [ -n "$b" ] && echo "$a $b" | awk '{printf "%.2f\n", $1 / $2}'; done | median)
        eff=$(grep "server $s .* size $size " "$f" | awk '{for(i=1;i<NF;i++) if($i=="msgs/s") m=$(i+1); c=$NF; sub("%","",c); if (c > 0) printf "%.0f\n", m * 100 / c}' | median)
        ratio2=$(for rep in $(seq 1 "$REPS"); do
            a=$(grep "rep $rep server ws .* size $size " "$f" | awk '{for(i=1;i<NF;i++) if($i=="msgs/s") m=$(i+1); c=$NF; sub("%","",c); print m / (c + 0.001)}')
            b=$(grep "rep $rep server $s .* size $size " "$f" | awk '{for(i=1;i<NF;i++) if($i=="msgs/s") m=$(i+1); c=$NF; sub("%","",c); print m / (c + 0.001)}')
            [ -n "$a" ] && [ -n "$b" ] && echo "$a $b" | awk '{printf "%.2f\n", $1 / $2}'; done | median)
        printf "%-6s %7s %10s %9s %7s%% %7s%% %11s    %s | %s\n" $s $size $m $mb $sc $lc $eff $ratio $ratio2
    done; done
}

SRV_ENV=""
[ -n "$RAWCC" ] && SRV_ENV="LD_PRELOAD=$PWD/$B/cc_shim.so BENCH_CC=$RAWCC"   # rawtcp, rawpair only
rawtcp() {  # server CPU per echoed message: ws.h vs a raw TCP echo (tcp_echo.c) moving the same bytes
    f=$OUT/rawtcp.txt; : >"$f"
    for rep in $(seq 1 "$REPS"); do for spec in $RAWTCP; do
        size=${spec%%:*}; rest=${spec#*:}; nc=${rest%%x*}; inf=${rest#*x}
        for s in $RAWSERVERS; do   # interleaved: each repetition runs every server once
            port=$(free_port $([ $s = tcp ] && echo 7)); start_server $s $port
            t0=$(cpu_ticks $SPID)
            if [ $s = tcp ]; then r=$(SRV_PID=$SPID $PIN_L timeout $((DUR + 30)) $B/tcp_load 127.0.0.1:$port $nc $inf $size $DUR | grep RESULT)
            elif [ "$RAWLOAD" = tcp_load ]; then r=$(SRV_PID=$SPID $PIN_L timeout $((DUR + 30)) $B/tcp_load 127.0.0.1:$port $nc $inf $size $DUR ws | grep RESULT)
            else r=$($PIN_L timeout $((DUR + 30)) $B/load ws://127.0.0.1:$port/ $nc $inf $size $DUR | grep RESULT); fi
            t1=$(cpu_ticks $SPID); stop_server
            tot=$(echo "$r" | awk '{print $NF}')
            # us_per_msg: the measured seconds only (tcp_load's srv_us_per_msg: after its 0.5 s
            # warm-up); whole_run: from before the load connected to its end, over every message
            whole=$(echo "$t0 $t1 $HZ $tot" | awk '{printf "%.3f", ($2 - $1) * 1e6 / $3 / $4}')
            win=$(echo "$r" | awk '{for (i = 1; i < NF; i++) if ($i == "srv_us_per_msg") print $(i + 1)}')
            [ "$RAWLOAD" = tcp_load ] || win=""   # load.c has no window figure: whole runs for all
            [ -n "$r" ] && echo "rep $rep server $s size $size conns $nc inflight $inf total $tot server_ticks $((t1 - t0)) whole_run $whole us_per_msg ${win:-$whole}" | tee -a "$f"
        done
    done; done
    echo; echo "== rawtcp (ws.h loaded by $RAWLOAD): server CPU us per echoed message, median of $REPS; ratio = x / tcp per repetition, median"
    for spec in $RAWTCP; do size=${spec%%:*}
        t=$(grep " server tcp size $size " "$f" | awk '{print $NF}' | median)
        for s in $RAWSERVERS; do [ $s = tcp ] && continue
            w=$(grep " server $s size $size " "$f" | awk '{print $NF}' | median)
            ratio=$(for rep in $(seq 1 "$REPS"); do
                a=$(grep "rep $rep server $s size $size " "$f" | awk '{print $NF}'); b=$(grep "rep $rep server tcp size $size " "$f" | awk '{print $NF}')
                [ -n "$a" ] && [ -n "$b" ] && echo "$a $b" | awk '{printf "%.3f\n", $1 / $2}'; done | median)
            printf "size %8s (%s)  %s %9s us  tcp %9s us  %s/tcp %s\n" $size "${spec#*:}" $s "$w" "$t" $s "$ratio"
        done
    done
}

rawpair() {   # as rawtcp, but each server runs at the same time as tcp_echo (same core, same seconds)
    f=$OUT/rawpair.txt; : >"$f"
    for rep in $(seq 1 "$REPS"); do for spec in $RAWTCP; do
        size=${spec%%:*}; rest=${spec#*:}; nc=${rest%%x*}; inf=${rest#*x}
        for s in $RAWSERVERS; do [ $s = tcp ] && continue
            pa=$(free_port 3); start_server $s $pa; sa=$SPID
            pb=$(free_port 7); [ $pb = $pa ] && pb=$((pa + 1)); start_server tcp $pb; sb=$SPID
            SRV_PID=$sa $PIN_L timeout $((DUR + 30)) $B/tcp_load 127.0.0.1:$pa $nc $inf $size $DUR ws >"$OUT/pair_a.log" 2>&1 & la=$!
            SRV_PID=$sb $PIN_L timeout $((DUR + 30)) $B/tcp_load 127.0.0.1:$pb $nc $inf $size $DUR >"$OUT/pair_b.log" 2>&1 & lb=$!
            wait $la $lb
            kill -TERM $sa 2>/dev/null; SPID=$sb; stop_server   # its wait takes both
            a=$(awk '/RESULT/ {for (i = 1; i < NF; i++) if ($i == "srv_us_per_msg") print $(i + 1)}' "$OUT/pair_a.log")
            b=$(awk '/RESULT/ {for (i = 1; i < NF; i++) if ($i == "srv_us_per_msg") print $(i + 1)}' "$OUT/pair_b.log")
            [ -n "$a" ] && [ -n "$b" ] && echo "rep $rep server $s size $size conns $nc inflight $inf us_per_msg $a tcp $b ratio $(echo "$a $b" | awk '{printf "%.3f", $1 / $2}')" | tee -a "$f"
        done
    done; done
    echo; echo "== rawpair (each server at once with tcp_echo${RAWCC:+, congestion control $RAWCC}): server CPU us per message, median of $REPS"
    for spec in $RAWTCP; do size=${spec%%:*}; for s in $RAWSERVERS; do [ $s = tcp ] && continue
        grep -q " server $s size $size " "$f" || continue
        printf "size %8s (%s)  %s %9s us  tcp %9s us  %s/tcp %s\n" $size "${spec#*:}" $s \
            "$(grep " server $s size $size " "$f" | awk '{print $(NF - 4)}' | median)" \
            "$(grep " server $s size $size " "$f" | awk '{print $(NF - 2)}' | median)" $s \
            "$(grep " server $s size $size " "$f" | awk '{print $NF}' | median)"
    done; done
}

abpair() {   # the first two of RAWSERVERS at once, as rawpair runs each with tcp_echo (same core, each
             # under its own tcp_load), which one starts first alternating per repetition: the ratio
             # first/second per repetition over the same seconds, median (an A/A calibration: a copy
             # of one binary under a second name, e.g. cp build/ws_echo build/ws2_echo)
    set -- $RAWSERVERS; x=$1; y=${2:-tcp}
    f=$OUT/abpair.txt; : >"$f"
    for rep in $(seq 1 "$REPS"); do for spec in $RAWTCP; do
        size=${spec%%:*}; rest=${spec#*:}; nc=${rest%%x*}; inf=${rest#*x}
        if [ $((rep % 2)) = 1 ]; then a=$x; b=$y; else a=$y; b=$x; fi
        pa=$(free_port 3); start_server $a $pa; sa=$SPID
        pb=$(free_port 7); [ $pb = $pa ] && pb=$((pa + 1)); start_server $b $pb; sb=$SPID
        SRV_PID=$sa $PIN_L timeout $((DUR + 30)) $B/tcp_load 127.0.0.1:$pa $nc $inf $size $DUR $([ $a = tcp ] || echo ws) >"$OUT/ab_$a.log" 2>&1 & la=$!
        SRV_PID=$sb $PIN_L timeout $((DUR + 30)) $B/tcp_load 127.0.0.1:$pb $nc $inf $size $DUR $([ $b = tcp ] || echo ws) >"$OUT/ab_$b.log" 2>&1 & lb=$!
        wait $la $lb
        kill -TERM $sa 2>/dev/null; SPID=$sb; stop_server
        u=$(awk '/RESULT/ {for (i = 1; i < NF; i++) if ($i == "srv_us_per_msg") print $(i + 1)}' "$OUT/ab_$x.log")
        v=$(awk '/RESULT/ {for (i = 1; i < NF; i++) if ($i == "srv_us_per_msg") print $(i + 1)}' "$OUT/ab_$y.log")
        [ -n "$u" ] && [ -n "$v" ] && echo "rep $rep size $size first $a $x $u $y $v ratio $(echo "$u $v" | awk '{printf "%.3f", $1 / $2}')" | tee -a "$f"
    done; done
    echo; echo "== abpair ($x and $y at once${RAWCC:+, congestion control $RAWCC}): $x / $y server CPU per message, median of $REPS (min-max)"
    for spec in $RAWTCP; do size=${spec%%:*}
        grep " size $size " "$f" | awk '{print $NF}' | sort -n | awk -v s="$size (${spec#*:})" \
            '{a[NR] = $1} END {if (NR) printf "size %s  %s (%s-%s)\n", s, a[int((NR + 1) / 2)], a[1], a[NR]}'
    done
}

handshake() {   # server CPU per handshake: connect, upgrade, close handshake, TCP close (HSCONNS at a time)
    # ws = ws_echo under load (a ws.h client); wsraw / tcp = ws_echo / tcp_echo's "hs" mode (the
    # least a server must do for the same bytes) under hs_load, one raw client for both
    # (any other NAME in HSSERVERS: build/NAME_echo under hs_load, e.g. a saved older ws_echo)
    f=$OUT/handshake.txt; : >"$f"
    for rep in $(seq 1 "$REPS"); do for s in $HSSERVERS; do
        port=$(free_port $([ $s = tcp ] && echo 7))
        case $s in
        tcp) $PIN_S timeout 900 $B/tcp_echo $port hs >"$OUT/server_tcp.log" 2>&1 & SPID=$!; sleep 0.3; SPID=$(pgrep -P $SPID | head -1) ;;
        ws|wsraw) start_server ws $port ;;
        *) start_server $s $port ;;
        esac
        t0=$(cpu_ticks $SPID)
        if [ $s = ws ]; then r=$($PIN_L timeout $((DUR + 30)) $B/load ws://127.0.0.1:$port/ $HSCONNS -1 0 $DUR | grep RESULT)
        else r=$($PIN_L timeout $((DUR + 30)) $B/hs_load 127.0.0.1:$port $HSCONNS $DUR | grep RESULT); fi
        t1=$(cpu_ticks $SPID); stop_server
        tot=$(echo "$r" | awk '{print $NF}')
        [ -n "$r" ] && echo "rep $rep server $s $r server_ticks $((t1 - t0)) us_per_handshake $(echo "$t0 $t1 $HZ $tot" | awk '{printf "%.1f", ($2 - $1) * 1e6 / $3 / $4}')" | tee -a "$f"
    done; done
    echo; echo "== handshake: server CPU us per handshake ($HSCONNS at a time), median of $REPS"
    for s in $HSSERVERS; do printf "%-6s %8s us\n" $s "$(grep " server $s " "$f" | awk '{print $NF}' | median)"; done
    for s in $HSSERVERS; do [ $s = tcp ] || [ $s = ws ] && continue
        ratio=$(for rep in $(seq 1 "$REPS"); do
            a=$(grep "rep $rep server $s " "$f" | awk '{print $NF}'); b=$(grep "rep $rep server tcp " "$f" | awk '{print $NF}')
            [ -n "$a" ] && [ -n "$b" ] && echo "$a $b" | awk '{printf "%.3f\n", $1 / $2}'; done | median)
        echo "$s / raw TCP (same hs_load client, per-repetition ratios, median): $ratio"
    done
}

hspair() {   # as handshake, but each server runs at the same time as tcp_echo hs (both on core 0,
    # each under its own hs_load on core 1): per-repetition ratios over the same seconds
    f=$OUT/hspair.txt; : >"$f"
    for rep in $(seq 1 "$REPS"); do for s in $HSSERVERS; do [ $s = tcp ] || [ $s = ws ] && continue
        pa=$(free_port 3); case $s in wsraw) start_server ws $pa ;; *) start_server $s $pa ;; esac; sa=$SPID
        pb=$(free_port 7); [ $pb = $pa ] && pb=$((pa + 1))
        $PIN_S timeout 900 $B/tcp_echo $pb hs >"$OUT/server_tcp.log" 2>&1 & sb=$!; sleep 0.3; sb=$(pgrep -P $sb | head -1)
        ta0=$(cpu_ticks $sa); tb0=$(cpu_ticks $sb)
        $PIN_L timeout $((DUR + 30)) $B/hs_load 127.0.0.1:$pa $HSCONNS $DUR >"$OUT/pair_a.log" 2>&1 & la=$!
        $PIN_L timeout $((DUR + 30)) $B/hs_load 127.0.0.1:$pb $HSCONNS $DUR >"$OUT/pair_b.log" 2>&1 & lb=$!
        wait $la $lb
        ta1=$(cpu_ticks $sa); tb1=$(cpu_ticks $sb)
        kill -TERM $sa 2>/dev/null; SPID=$sb; stop_server
        na=$(awk '/RESULT/ {print $NF}' "$OUT/pair_a.log"); nb=$(awk '/RESULT/ {print $NF}' "$OUT/pair_b.log")
        [ -n "$na" ] && [ -n "$nb" ] && echo "$ta0 $ta1 $na $tb0 $tb1 $nb $HZ" | awk -v r=$rep -v s=$s '{
            a = ($2 - $1) * 1e6 / $7 / $3; b = ($5 - $4) * 1e6 / $7 / $6
            printf "rep %d server %s hs %d us_per_handshake %.1f tcp_hs %d tcp %.1f ratio %.3f\n", r, s, $3, a, $6, b, a / b }' | tee -a "$f"
    done; done
    echo; echo "== hspair (each server at once with tcp_echo hs): server CPU us per handshake, median of $REPS"
    for s in $HSSERVERS; do [ $s = tcp ] || [ $s = ws ] && continue
        grep -q " server $s " "$f" || continue
        printf "%-6s %8s us  tcp %8s us  %s/tcp %s\n" $s "$(grep " server $s " "$f" | awk '{print $8}' | median)" \
            "$(grep " server $s " "$f" | awk '{print $12}' | median)" $s "$(grep " server $s " "$f" | awk '{print $NF}' | median)"
    done
}

memory() {
    f=$OUT/memory.txt; : >"$f"
    for rep in $(seq 1 "$REPS"); do for s in $SERVERS; do
        have $s || continue
        # idle: IDLE connections that send nothing
        port=$(free_port); start_server $s $port $((IDLE + 100)); sleep 1
        r0=$(rss_kb $SPID); heap0=""
        [ $s = ws ] && { kill -USR1 $SPID; sleep 0.3; heap0=$(grep heap "$OUT/server_ws.log" | tail -1 | awk '{print $2}'); }
        $PIN_L timeout 180 $B/load ws://127.0.0.1:$port/ $IDLE 0 0 8 >"$OUT/idle.log" 2>&1 &
        lp=$!
        for i in $(seq 1 600); do grep -q OPEN "$OUT/idle.log" && break; sleep 0.2; done
        sleep 2; r1=$(rss_kb $SPID); n=$(awk '/OPEN/ {print $2}' "$OUT/idle.log")
        heap=""
        [ $s = ws ] && { kill -USR1 $SPID; sleep 0.3; h1=$(grep heap "$OUT/server_ws.log" | tail -1 | awk '{print $2}'); heap=" heap_B_per_conn $(( (h1 - heap0) / n ))"; }
        wait $lp; stop_server
        echo "rep $rep server $s idle conns $n rss0_kB $r0 rss_kB $r1 rss_B_per_conn $(( (r1 - r0) * 1024 / n ))$heap" | tee -a "$f"
        # busy: BUSY connections echoing 1 KiB / 64 KiB messages, RSS sampled mid-run
        for size in 1024 65536; do
            port=$(free_port); start_server $s $port $((BUSY + 100)); sleep 0.5
            r0=$(rss_kb $SPID)
            $PIN_L timeout 60 $B/load ws://127.0.0.1:$port/ $BUSY $INFLIGHT $size 4 >"$OUT/busy.log" 2>&1 &
            lp=$!; sleep 3; r1=$(rss_kb $SPID); heap=""
            [ $s = ws ] && { kill -USR1 $SPID; sleep 0.2; h1=$(grep heap "$OUT/server_ws.log" | tail -1 | awk '{print $2}'); heap=" heap_B_per_conn $(( h1 / BUSY ))"; }
            wait $lp; stop_server
            echo "rep $rep server $s busy size $size conns $BUSY rss0_kB $r0 rss_kB $r1 rss_B_per_conn $(( (r1 - r0) * 1024 / BUSY ))$heap" | tee -a "$f"
        done
    done; done
    echo; echo "== memory: median of $REPS (server RSS delta / connections; ws: also its own heap)"
    for kind in "idle" "busy size 1024" "busy size 65536"; do for s in $SERVERS; do
        grep -q "server $s $kind " "$f" || continue
        m=$(grep "server $s $kind " "$f" | awk '{for(i=1;i<NF;i++) if($i=="rss_B_per_conn") print $(i+1)}' | median)
        h=$(grep "server $s $kind " "$f" | awk '{for(i=1;i<NF;i++) if($i=="heap_B_per_conn") print $(i+1)}' | median)
        b=$(grep "server $s $kind " "$f" | awk '{for(i=1;i<NF;i++) if($i=="rss0_kB") print $(i+1)}' | median)
        printf "%-16s %-6s RSS B/conn %8s   baseline RSS %7s kB   %s\n" "$kind" $s $m $b "${h:+heap B/conn $h}"
    done; done
}

mixed() {   # throughput of CONNS busy connections while IDLE idle ones are open (loop scaling)
    f=$OUT/mixed.txt; : >"$f"
    for rep in $(seq 1 "$REPS"); do for s in $SERVERS; do
        have $s || continue
        [ $s = civet ] && continue   # a thread per connection: skipped here
        port=$(free_port); start_server $s $port; sleep 0.5
        $PIN_L timeout 120 $B/load ws://127.0.0.1:$port/ $IDLE 0 0 $((DUR + 6)) >"$OUT/idle.log" 2>&1 &
        lp=$!
        for i in $(seq 1 600); do grep -q OPEN "$OUT/idle.log" && break; sleep 0.2; done
        r=$($PIN_L timeout $((DUR + 30)) $B/load ws://127.0.0.1:$port/ $CONNS $INFLIGHT 32 $DUR | grep RESULT)
        echo "rep $rep server $s idle $IDLE $r" | tee -a "$f"
        wait $lp; stop_server
    done; done
    echo; echo "== mixed: $CONNS busy conns x $INFLIGHT (32 B) beside $IDLE idle ones, median msgs/s"
    for s in $SERVERS; do grep -q "server $s " "$f" || continue
        printf "%-6s %10s\n" $s $(grep "server $s " "$f" | awk '{for(i=1;i<NF;i++) if($i=="msgs/s") print $(i+1)}' | median); done
}

# The noise-free cross-checks of `handshake`: per handshake (hs_load, HSCONNS at a time, DUR s)
# the server's system calls (perf stat on the syscalls:sys_enter_* tracepoints; needs root or
# perf_event_paranoid <= -1) and its user-space instructions (callgrind), for each server of
# HSSERVERS but ws (wsraw = build/ws_echo, tcp = tcp_echo hs, NAME = build/NAME_echo).
hscount() {
    f=$OUT/hscount.txt; : >"$f"
    for s in $HSSERVERS; do [ $s = ws ] && continue
        case $s in tcp) cmd="$B/tcp_echo PORT hs" ;; wsraw) cmd="$B/ws_echo PORT" ;; *) cmd="$B/${s}_echo PORT" ;; esac
        port=$(free_port $([ $s = tcp ] && echo 7))
        if command -v perf >/dev/null; then
            $PIN_S timeout 120 $(echo "$cmd" | sed "s/PORT/$port/") >/dev/null 2>&1 & sp=$!
            sleep 0.5; pid=$(pgrep -P $sp | head -1); pid=${pid:-$sp}
            perf stat -e 'syscalls:sys_enter_*' -p $pid -o $OUT/hscount_perf_$s.txt -- sleep $((DUR + 1)) & pp=$!
            tot=$($PIN_L timeout $((DUR + 30)) $B/hs_load 127.0.0.1:$port $HSCONNS $DUR | awk '/RESULT/ {print $NF}')
            wait $pp; kill -TERM $pid 2>/dev/null; wait $sp 2>/dev/null
            awk -v n="${tot:-0}" -v s=$s '$1 ~ /^[0-9,]+$/ && $2 ~ /sys_enter/ {gsub(",", "", $1); sub("syscalls:sys_enter_", "", $2)
                if ($1 > 0 && n > 0) { l = l sprintf(" %s %.2f", $2, $1 / n); t += $1 / n } }
                END {printf "%s syscalls per handshake (%d handshakes): total %.2f:%s\n", s, n, t, l}' $OUT/hscount_perf_$s.txt | tee -a "$f"
        fi
        if command -v valgrind >/dev/null; then
            port=$((port + 1))
            timeout 120 valgrind --tool=callgrind --callgrind-out-file=$OUT/cg.hs_$s $(echo "$cmd" | sed "s/PORT/$port/") >/dev/null 2>&1 & vp=$!
            sleep 3
            tot=$($PIN_L timeout $((DUR + 30)) $B/hs_load 127.0.0.1:$port $HSCONNS $DUR | awk '/RESULT/ {print $NF}')
            kill -TERM $(pgrep -P $vp) 2>/dev/null; wait $vp 2>/dev/null
            ir=$(callgrind_annotate $OUT/cg.hs_$s 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
            [ -n "$ir" ] && [ "${tot:-0}" -gt 0 ] && echo "$s user-space Ir per handshake: $((ir / tot)) ($tot handshakes)" | tee -a "$f"
        fi
    done
}

callgrind() {
    command -v valgrind >/dev/null || { echo "callgrind: SKIPPED (no valgrind)"; return; }
    f=$OUT/callgrind.txt; : >"$f"
    valgrind --tool=callgrind --toggle-collect='phase_*' --callgrind-out-file=$OUT/cg.engine $B/engine >>"$f" 2>/dev/null
    echo "== engine phases (Ir, inclusive)" | tee -a "$f"
    callgrind_annotate --inclusive=yes $OUT/cg.engine 2>/dev/null | grep 'engine.c:phase_' | tee -a "$f"
    echo "== engine, self cost per function (all phases)" | tee -a "$f"
    callgrind_annotate $OUT/cg.engine 2>/dev/null | sed -n '/file:function/,/Auto-annotated/p' | grep -E '^ *[0-9,]+ ' | head -14 | tee -a "$f"
    # whole servers under callgrind: user-space instructions per echoed message (32 B)
    echo "== servers: user-space Ir per echoed 32 B message (incl. libraries; $CONNS conns x $INFLIGHT)" | tee -a "$f"
    for s in $SERVERS; do
        have $s || continue
        [ $s = civet ] && continue   # thread per connection: not comparable under valgrind
        port=$(free_port); log=$OUT/cg_server_$s.log
        timeout 120 valgrind --tool=callgrind --callgrind-out-file=$OUT/cg.$s $B/${s}_echo $port >"$log" 2>&1 &
        vp=$!
        for i in $(seq 1 200); do grep -q ready "$log" 2>/dev/null && break; sleep 0.1; done
        tot=$($PIN_L timeout 60 $B/load ws://127.0.0.1:$port/ $CONNS $INFLIGHT 32 3 | awk '/RESULT/ {print $NF}')
        kill -TERM $(pgrep -P $vp) 2>/dev/null; wait $vp 2>/dev/null
        ir=$(callgrind_annotate $OUT/cg.$s 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
        echo "$s total_Ir $ir msgs $tot Ir_per_msg $(( ir / tot ))" | tee -a "$f"
    done
}

{ echo "date: $(date -u)"; echo "nproc: $(nproc)"; lscpu | head -15 | grep -E 'Model name|CPU\(s\)|Thread|MHz|Hypervisor'
  echo "kernel: $(uname -r)"; echo "cc: $(${CC:-cc} --version | head -1)"
  echo "ws.h: $(git log -1 --format='%h %cs' -- ../ws.h 2>/dev/null) sha1 $(sha1sum ../ws.h | cut -c1-12) $(git diff --quiet -- ../ws.h 2>/dev/null || echo '(+ uncommitted edits)')"
  dpkg-query -W libwebsockets-dev libwebsocketpp-dev libboost-system-dev libasio-dev libcivetweb-dev valgrind 2>/dev/null
  echo "pinning: server '${PIN_S:-none}', load '${PIN_L:-none}'"; } | tee "$OUT/machine.txt"
for w in $WHAT; do $w; done 2>&1 | tee "$OUT/summary_$(echo $WHAT | tr ' ' _).txt"
