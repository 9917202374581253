#!/usr/bin/env bash
# threads.sh - broadcast throughput of examples/threaded_server.c with 1..N loop threads on one
# port (SO_REUSEPORT), driven by bench/fanout.c (CONNS clients each sending MSGS messages; each
# message is delivered to every client, so CONNS*CONNS*MSGS deliveries per run).
#   make -C bench && bench/threads.sh            knobs: THREADS="1 2" CONNS=40 MSGS=200 REPS=3
set -euo pipefail
cd "$(dirname "$0")"
THREADS=${THREADS:-"1 2"}; CONNS=${CONNS:-40}; MSGS=${MSGS:-200}; REPS=${REPS:-3}
echo "# $(date -u +%F) $(uname -m) $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "# CONNS=$CONNS MSGS=$MSGS: $((CONNS * CONNS * MSGS)) deliveries per run; median of $REPS"
for t in $THREADS; do
    rates=()
    for r in $(seq 1 "$REPS"); do
        ./build/threaded_server 0 "$t" 600 > build/ts.log & pid=$!
        url=; for i in $(seq 1 100); do url=$(sed -n 's/^listening on \([^ ]*\).*/\1/p' build/ts.log); [ -n "$url" ] && break; sleep 0.1; done
        line=$(./build/fanout "$url" "$CONNS" "$MSGS" 8 | grep '^fanout:')
        kill $pid; wait $pid 2>/dev/null || true
        rates+=("$(echo "$line" | sed 's/.*= \([0-9]*\) deliveries.*/\1/')")
    done
    med=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n "$(( (REPS + 1) / 2 ))p")
    echo "threads=$t deliveries/s median=$med runs=${rates[*]}"
done
