#!/bin/sh
# deflate.sh - permessage-deflate: ws.h and Node ws side by side, in the same run, for a
# JSON-like 1 KiB message: CPU per message and bytes on the wire, compression off and on.
#   bench/deflate.sh [N] [INFLIGHT]    (needs zlib1g-dev, node and npm --prefix tests ci)
set -u
cd "$(dirname "$0")"
N=${1:-50000}; K=${2:-16}
make -s build/deflate >/dev/null || exit 1
for mode in off deflate deflate-nct deflate-w10; do
    timeout 300 ./build/deflate "$N" "$K" $mode
    if [ -f ../tests/node_modules/ws/package.json ]; then timeout 300 node deflate_node.js "$N" "$K" $mode
    else echo "node ws: SKIPPED (npm --prefix tests ci)"; fi
done
