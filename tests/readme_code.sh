#!/usr/bin/env bash
# readme_code.sh - every ```c block of README.md must compile warning-free, as C99 with gcc and
# clang and as C++ with g++ (-Wall -Wextra -Wpedantic -Werror). `make test-readme` runs it.
#   A block with main() is a whole program: compiled and linked as it stands (it includes
#   "ws.h" and defines WS_IMPLEMENTATION itself).
#   A block without main() that defines WS_IMPLEMENTATION is a whole file (the Firmware
#   section's app.c): compiled (-c) as it stands, and, with arm-none-eabi-gcc and lwIP's headers
#   installed, also with the README's two Cortex-M command lines (WS_LWIP; WS_NO_NET).
#   Any other block is a fragment, compiled inside a wrapper that includes ws.h, <stdio.h> and
#   <string.h>: at file scope when it defines something there (a line at column 0 that starts
#   with static, typedef, # or is a function head), else as the body of a function that has
#   these in scope: ws_ctx *ctx; ws_conn *c, *conn; const ws_event *ev; ws_listener *listener.
# README.md must name every WS_API function declared in ws.h (a list by task, or the codec's).
# Each ```cpp block (the Qt glue) is compiled (-c) as it stands with g++ against Qt 5 (-fPIC, as
# Qt requires); without Qt 5 it is SKIPPED (a failure under CI=true).
# #line directives point compiler messages at README.md's own lines. Each program (the last
# build) then runs for up to 3 s with no input: a failure exit must come with a message on
# stderr (the client without a server says why); one still running (a server) is stopped.
# Prints one line per check, then "N passed, N failed"; a missing clang is SKIPPED (a failure
# under CI=true).
set -u
cd "$(dirname "$0")/.."
OUT=${BUILD:-build}/readme
CC=${CC:-cc}
CXX=${CXX:-c++}
CLANG=${CLANG-$(command -v clang || true)}
ARM_CC=${ARM_CC-$(command -v arm-none-eabi-gcc || true)}
LWIP_INC=${LWIP_INC-$(pkg-config --variable=includedir lwip 2>/dev/null || true)}
FLAGS="-Wall -Wextra -Wpedantic -Werror"
pass=0 fail=0
mkdir -p "$OUT"
rm -f "$OUT"/block_* "$OUT"/cppblock_*

# Split README.md into $OUT/block_<first line>.txt, one per ```c block.
awk -v out="$OUT" '
    /^```c[ \t]*$/ { inb = 1; first = NR + 1; f = out "/block_" first ".txt"; printf "" > f; next }
    /^```cpp[ \t]*$/ { inb = 1; first = NR + 1; f = out "/cppblock_" first ".txt"; printf "" > f; next }
    inb && /^```/  { inb = 0; close(f); next }
    inb            { print >> f }
' README.md

compile() {   # label, then the command
    local label=$1 log
    shift
    if log=$("$@" 2>&1); then
        pass=$((pass + 1)); echo "ok - $label"
    else
        fail=$((fail + 1)); echo "FAIL - $label"; echo "$log" | head -30
    fi
}

n=0
for f in $(ls "$OUT"/block_*.txt 2>/dev/null | sort -t_ -k2 -n); do
    n=$((n + 1))
    line=${f##*block_}; line=${line%.txt}
    src=$OUT/block_$line.c
    if grep -q 'main *(' "$f"; then
        kind=program
        { echo "#line $line \"README.md\""; cat "$f"; } > "$src"
    elif grep -q '^#define WS_IMPLEMENTATION' "$f"; then
        kind=file
        { echo "#line $line \"README.md\""; cat "$f"; } > "$src"
    elif grep -Eq '^(static |typedef |#|[A-Za-z_][A-Za-z0-9_ *]*\(.*\) *\{? *$)' "$f"; then
        kind="fragment (file scope)"
        { echo '#include "ws.h"'; echo '#include <stdio.h>'; echo '#include <string.h>'
          echo "#line $line \"README.md\""; cat "$f"
          echo 'int main(void) { return 0; }'; } > "$src"
    else
        kind="fragment (function body)"
        { echo '#include "ws.h"'; echo '#include <stdio.h>'; echo '#include <string.h>'
          echo 'void readme_block(ws_ctx *ctx, ws_conn *c, const ws_event *ev);'
          echo 'void readme_block(ws_ctx *ctx, ws_conn *c, const ws_event *ev) {'
          echo '    ws_conn *conn = NULL; ws_listener *listener = NULL;'
          echo "#line $line \"README.md\""; cat "$f"
          echo '    (void)ctx; (void)c; (void)ev; (void)conn; (void)listener;'
          echo '}'
          echo 'int main(void) { readme_block(NULL, NULL, NULL); return 0; }'; } > "$src"
    fi
    # programs are linked (-lpthread: the resolver thread); fragments only compiled
    if [ "$kind" = program ]; then link=(-o "$OUT/block_$line" -lpthread); else link=(-c -o /dev/null); fi
    compile "README.md:$line $kind: $CC -std=c99" $CC -std=c99 $FLAGS -I. "$src" "${link[@]}"
    if [ -n "$CLANG" ]; then
        compile "README.md:$line $kind: clang -std=c99" "$CLANG" -std=c99 $FLAGS -I. "$src" "${link[@]}"
    fi
    compile "README.md:$line $kind: $CXX (C++)" $CXX -x c++ $FLAGS -I. "$src" "${link[@]}"
    if [ "$kind" = file ] && [ -n "$ARM_CC" ] && [ -n "$LWIP_INC" ]; then   # the Firmware lines
        compile "README.md:$line $kind: $ARM_CC cortex-m4 WS_LWIP" "$ARM_CC" -std=c99 -mcpu=cortex-m4 \
            -mthumb -Os -ffunction-sections -fdata-sections -DWS_LWIP -DWS_NO_ERROR_TEXT -DNDEBUG \
            $FLAGS -Itests/firmware/lwip -I"$LWIP_INC" -I. -c "$src" -o /dev/null
        compile "README.md:$line $kind: $ARM_CC cortex-m0plus WS_NO_NET" "$ARM_CC" -std=c99 \
            -mcpu=cortex-m0plus -mthumb -Os -ffunction-sections -fdata-sections -DWS_NO_NET \
            -DWS_NO_SERVER -DWS_NO_ERROR_TEXT -DNDEBUG $FLAGS -I. -c "$src" -o /dev/null
    fi
    if [ "$kind" = program ] && [ -x "$OUT/block_$line" ]; then   # the last build of it
        timeout 3 "$OUT/block_$line" < /dev/null > "$OUT/block_$line.out" 2> "$OUT/block_$line.err"
        rc=$?
        if [ $rc = 124 ] || [ $rc = 0 ] || [ -s "$OUT/block_$line.err" ]; then
            pass=$((pass + 1))
            echo "ok - README.md:$line program ran: status $rc $(head -c 100 "$OUT/block_$line.err")"
        else
            fail=$((fail + 1)); echo "FAIL - README.md:$line program exited $rc without saying why"
        fi
    fi
done
for f in $(ls "$OUT"/cppblock_*.txt 2>/dev/null | sort -t_ -k2 -n); do
    line=${f##*cppblock_}; line=${line%.txt}
    src=$OUT/cppblock_$line.cpp
    { echo "#line $line \"README.md\""; cat "$f"; } > "$src"
    if pkg-config --exists Qt5Widgets 2>/dev/null; then
        compile "README.md:$line C++ file: $CXX with Qt 5" $CXX -std=c++11 -fPIC $FLAGS -I. \
            $(pkg-config --cflags Qt5Widgets | sed 's/-I/-isystem /g') -c "$src" -o /dev/null
    else
        echo "SKIPPED: README.md:$line (Qt 5) (install: apt-get install qtbase5-dev)"
        if [ "${CI:-}" = true ]; then fail=$((fail + 1)); fi
    fi
done
# the README names every public function the header declares (the API by task)
missing=
for fn in $(sed -n '1,/^#endif \/\* WS_H_INCLUDED/p' ws.h | grep '^WS_API' |
            sed -E 's/^[^(]*[ *](ws_[a-z0-9_]+)\(.*/\1/' | sort -u); do
    grep -q "\b$fn\b" README.md || missing="$missing $fn"
done
if [ -z "$missing" ]; then pass=$((pass + 1)); echo "ok - README.md names every WS_API function of ws.h"
else fail=$((fail + 1)); echo "FAIL - README.md does not name:$missing"; fi
if [ "$n" = 0 ]; then fail=$((fail + 1)); echo "FAIL - no \`\`\`c blocks found in README.md"; fi
if [ -z "$CLANG" ]; then
    echo "SKIPPED: README blocks with clang (install: apt-get install clang)"
    if [ "${CI:-}" = true ]; then fail=$((fail + 1)); fi
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
