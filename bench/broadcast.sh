#!/bin/sh
# broadcast.sh - server CPU per ws_broadcast to N permessage-deflate clients: this ws.h against
# another (OLD, default main: saved as build/ws_old.h) in the same run, the two alternating, for
# 4 KiB and 64 KiB text messages, with and without context takeover. Prints every run, then
# the medians and new/old ratios.   bench/broadcast.sh [N] [REPS] [BROADCASTS]   (zlib1g-dev)
set -u
cd "$(dirname "$0")"
N=${1:-100}; REPS=${2:-5}; B=${3:-20}; OLD=${OLD:-main}; SIZES=${SIZES:-"4096 65536"}; MODES=${MODES:-"deflate nct"}
mkdir -p build
git show "$OLD:ws.h" > build/ws_old.h.new || exit 1
cmp -s build/ws_old.h.new build/ws_old.h || mv build/ws_old.h.new build/ws_old.h
rm -f build/ws_old.h.new
make -s build/broadcast build/broadcast_old >/dev/null || exit 1
out=build/broadcast_runs.txt
: > $out
for size in $SIZES; do for mode in $MODES; do r=0; while [ $r -lt "$REPS" ]; do
    if [ $((r % 2)) -eq 0 ]; then order="broadcast broadcast_old"; else order="broadcast_old broadcast"; fi
    for b in $order; do timeout 600 ./build/$b "$N" "$size" "$B" "$mode" | tee -a $out || exit 1; done
    r=$((r + 1))
done; done; done
echo "medians of $REPS runs (us per broadcast: CPU in ws_broadcast / whole server CPU):"
awk '{ key = $3 " " $7; who = $2; split($0, a, ":"); sub(/^ */, "", a[2]);
       n = split(a[2], f, " "); inb[key, who, ++cnt[key, who]] = f[1]; all[key, who, cnt[key, who]] = f[6];
       keys[key] = 1 }
     function med(arr, k, w, c,   i, j, t, v) { for (i = 1; i <= c; i++) v[i] = arr[k, w, i];
       for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
       return c % 2 ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2 }
     END { for (k in keys) { c = cnt[k, "new"]; d = cnt[k, "old"];
       ni = med(inb, k, "new", c); oi = med(inb, k, "old", d); na = med(all, k, "new", c); oa = med(all, k, "old", d);
       printf "%-16s new %9.1f / %9.1f   old %9.1f / %9.1f   new/old %.3f / %.3f\n", k, ni, na, oi, oa, ni / oi, na / oa } }' $out | sort
