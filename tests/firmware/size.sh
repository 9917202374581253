#!/bin/sh
# size.sh - ws.h's code size on a Cortex-M4 (make firmware): one line per configuration,
#   size cortex-m4 CONFIG: N bytes
# N = .text + .rodata of ws.h linked with --gc-sections (arm-none-eabi-gcc -mcpu=cortex-m4
# -mthumb -Os -ffunction-sections -fdata-sections -DNDEBUG), kept alive by the public calls a
# program of that configuration makes: every ws_ctx/ws_conn/ws_engine/loop function (codec
# functions only as far as those use them); for "codec", every codec function. libc (memcpy,
# strlen...) and lwIP are not counted. Configurations (all with the lwIP port, no TLS):
#   full    WS_LWIP                          client  WS_LWIP WS_NO_SERVER
#   server  WS_LWIP WS_NO_CLIENT             engine  WS_NO_NET (codec + sans-I/O engine)
#   codec   WS_NO_NET, codec calls only
# and, not budgeted, the same with the optional subsystems switched off (MIN below: proxy
# CONNECT, timers, watched fds, posts; README "Firmware" says what each leaves out):
#   minimal WS_LWIP + MIN                    client-minimal  WS_LWIP WS_NO_SERVER + MIN
#   engine-client  WS_NO_NET WS_NO_SERVER (a bare-metal client: README "Firmware")
# SIZE_FLAGS adds flags to every build (make firmware uses -DWS_NO_ERROR_TEXT; see README).
# Budgets (bytes; FW_STRICT=1: exceeding one fails): full 16384, client 11264, engine 7168.
# Usage: tests/firmware/size.sh OUTDIR
set -u
out=${1:-build/firmware}
CC=${ARM_CC:-arm-none-eabi-gcc}
SIZE=${ARM_SIZE:-arm-none-eabi-size}
NM=${ARM_NM:-arm-none-eabi-nm}
LWIP_INC=${LWIP_INC:-/usr/include/lwip}
here=$(dirname "$0")
mkdir -p "$out"
flags="-std=c99 -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections -DNDEBUG \
 -Wall -Wextra -Wpedantic -Wshadow -Wundef -Wconversion -Werror ${SIZE_FLAGS:-} \
 -I$here/lwip -I$LWIP_INC -I$here/../.."
codec='^ws_(sha1_|base64_|accept_key|client_key|utf8_|frame_|mask$|close_code|close_parse|result_|url_|http_|list_has|random$)'
over=0
measure() {   # name budget defines...
    name=$1 budget=$2; shift 2
    src=$out/size_$name.c
    {   printf 'static int fw_random(void *b, unsigned long n) { (void)b; (void)n; return 0; }\n'
        printf '#define WS_RANDOM(b, n) fw_random(b, n)\n#define WS_IMPLEMENTATION\n#include "ws.h"\n'
    } > "$src"
    $CC $flags "$@" -c "$src" -o "$out/size_$name.o" || { echo "size: $name does not compile"; exit 1; }
    syms=$($NM -g --defined-only "$out/size_$name.o" | awk '$2 == "T" {print $3}')
    if [ "$name" = codec ]; then syms=$(echo "$syms" | grep -E "$codec")
    else syms=$(echo "$syms" | grep -vE "$codec"); fi
    roots=$(for s in $syms; do printf ' -Wl,-u,%s' "$s"; done)
    # shellcheck disable=SC2086
    $CC -mcpu=cortex-m4 -mthumb -nostdlib -nostartfiles -Wl,--gc-sections -Wl,-e,0 \
        -Wl,--unresolved-symbols=ignore-all $roots "$out/size_$name.o" -o "$out/size_$name.elf" \
        || { echo "size: $name does not link"; exit 1; }
    n=$($SIZE -A "$out/size_$name.elf" | awk '$1 == ".text" || $1 == ".rodata" {s += $2} END {print s + 0}')
    mark=
    if [ "$budget" -gt 0 ] && [ "$n" -gt "$budget" ]; then mark="  OVER BUDGET ($budget)"; over=1; fi
    echo "size cortex-m4 $name: $n bytes$mark"
}
measure full   16384 -DWS_LWIP
measure client 11264 -DWS_LWIP -DWS_NO_SERVER
measure server 0     -DWS_LWIP -DWS_NO_CLIENT
measure engine 7168  -DWS_NO_NET
measure codec  0     -DWS_NO_NET
measure engine-client 0 -DWS_NO_NET -DWS_NO_SERVER
MIN="-DWS_NO_PROXY -DWS_NO_TIMERS -DWS_NO_WATCH -DWS_NO_POST"
# shellcheck disable=SC2086
measure minimal 0    -DWS_LWIP $MIN
# shellcheck disable=SC2086
measure client-minimal 0 -DWS_LWIP -DWS_NO_SERVER $MIN
if [ $over = 1 ]; then
    if [ "${FW_STRICT:-0}" = 1 ]; then echo "size: over budget"; exit 1; fi
    echo "size: OVER BUDGET (not enforced: FW_STRICT=1 makes this fail)"
fi
exit 0
