#!/usr/bin/env bash
# interop.sh - ws.h's wss:// server (build/tls_echo_server) against real TLS peers: Python
# websockets over ssl, Node ws over TLS, and headless Chromium (ignoring certificate errors, the
# browser test only). Certificates from tests/tls/gen-certs.sh. Prints "ok - ..." / "FAIL - ..."
# per check and "N passed, N failed"; a missing peer is SKIPPED (a failure under CI=true).
#   make examples && tests/tls/interop.sh
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CERTS=$BUILD/tls
SRV=$BUILD/tls_echo_server
PY=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-$(command -v node || echo /usr/bin/node)}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
LOGS=$BUILD/tls-interop
pass=0 fail=0 PIDS=
mkdir -p "$LOGS"
# Two runs at once (two `make test`s in one tree) would share logs: the second one waits.
if command -v flock > /dev/null; then
    exec 8> "$BUILD/tls-interop.lock"
    flock -w 300 8 || echo "warning: another run holds $BUILD/tls-interop.lock; going ahead"
fi
rm -f "$LOGS"/*.log
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done' EXIT
ok()   { pass=$((pass + 1)); echo "ok - $*"; }
bad()  { fail=$((fail + 1)); echo "FAIL - $*"; }
skipped() { echo "SKIPPED: $*"; [ "${CI:-}" = true ] && bad "skipped under CI=true: $*"; }

[ -x "$SRV" ] || { echo "no $SRV (make examples, with libmbedtls-dev)"; exit 1; }
tests/tls/gen-certs.sh "$CERTS" > /dev/null || { echo "gen-certs.sh failed"; exit 1; }

start() {   # start NAME [CA]: a server on a free port; sets PORT
    local log=$LOGS/$1.log i
    "$SRV" 0 "$CERTS/server.crt" "$CERTS/server.key" ${2:+"$2"} > "$log" 2>&1 &
    PIDS="$PIDS $!"
    for i in $(seq 50); do
        PORT=$(sed -n 's|.*wss://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log")
        [ -n "$PORT" ] && return 0
        sleep 0.1
    done
    bad "$1: tls_echo_server did not start"; cat "$log"; return 1
}

start plain || exit 1
URL=wss://localhost:$PORT/
start mtls "$CERTS/ca.crt" || exit 1
MURL=wss://localhost:$PORT/

# ---- Python websockets over ssl ----
if "$PY" -c 'import websockets' 2>/dev/null; then
    timeout 60 "$PY" - "$URL" "$MURL" "$CERTS" > "$LOGS/python.log" 2>&1 <<'PYEOF'
import asyncio, ssl, sys, os
import websockets
url, murl, d = sys.argv[1], sys.argv[2], sys.argv[3]
def ctx(client_cert=False):
    c = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
    if client_cert: c.load_cert_chain(os.path.join(d, "client.crt"), os.path.join(d, "client.key"))
    return c
def say(ok, what): print(("ok - " if ok else "FAIL - ") + "[python -> ws.h wss server] " + what, flush=True)
async def echo(u, c, what):
    async with websockets.connect(u, ssl=c, max_size=None) as ws:
        await ws.send("hello over TLS")
        t = await ws.recv()
        big = bytes((i * 7) & 255 for i in range(1 << 20))
        await ws.send(big)
        b = await ws.recv()
        say(t == "hello over TLS" and b == big, what + ": text and 1 MiB binary echoed")
async def fails(u, c, what):
    try:
        async with websockets.connect(u, ssl=c, open_timeout=5) as ws:
            await ws.send("x"); await ws.recv()
        say(False, what + ": connected, should have failed")
    except Exception as e:
        say(True, what + ": refused (" + type(e).__name__ + ": " + str(e)[:80] + ")")
async def main():
    await echo(url, ctx(), "trusting the test CA")
    await fails(url, ssl.create_default_context(), "system CAs only (untrusted test CA)")
    await echo(murl, ctx(True), "client certificate required, given")
    await fails(murl, ctx(False), "client certificate required, missing")
    await echo(url, ctx(), "server still serving after the failures")
asyncio.run(main())
PYEOF
    cat "$LOGS/python.log" | grep -E '^(ok|FAIL) - ' || true
    pass=$((pass + $(grep -c '^ok - ' "$LOGS/python.log")))
    fail=$((fail + $(grep -c '^FAIL - ' "$LOGS/python.log")))
    grep -qE '^(ok|FAIL) - ' "$LOGS/python.log" || { bad "python ran no check"; tail -5 "$LOGS/python.log"; }
else
    skipped "Python websockets (apt-get install python3-websockets)"
fi

# ---- Node ws over TLS ----
if [ -x "$NODE" ] && [ -d tests/node_modules/ws ]; then
    timeout 60 "$NODE" - "$URL" "$MURL" "$CERTS" > "$LOGS/node.log" 2>&1 <<'JSEOF'
const WebSocket = require(process.cwd() + '/tests/node_modules/ws');
const fs = require('fs');
const [url, murl, d] = process.argv.slice(2);
const ca = fs.readFileSync(d + '/ca.crt');
const say = (ok, what) => console.log((ok ? 'ok - ' : 'FAIL - ') + '[node -> ws.h wss server] ' + what);
function echo(u, opts, what) {
  return new Promise((resolve) => {
    const ws = new WebSocket(u, opts);
    const big = Buffer.alloc(1 << 20, 0); for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
    const got = [];
    ws.on('open', () => { ws.send('hello over TLS'); ws.send(big); });
    ws.on('message', (m, isBinary) => { got.push([m, isBinary]); if (got.length === 2) ws.close(1000); });
    ws.on('close', (code) => {
      say(got.length === 2 && got[0][0].toString() === 'hello over TLS' && !got[0][1] &&
          got[1][1] && Buffer.compare(got[1][0], big) === 0 && code === 1000,
          what + ': text and 1 MiB binary echoed, clean close');
      resolve();
    });
    ws.on('error', (e) => { say(false, what + ': ' + e.message); resolve(); });
  });
}
function fails(u, opts, what) {
  return new Promise((resolve) => {
    const ws = new WebSocket(u, opts);
    let done = false;
    ws.on('open', () => { ws.send('x'); });
    ws.on('message', () => { if (!done) { done = true; say(false, what + ': echoed, should have failed'); ws.terminate(); resolve(); } });
    ws.on('error', (e) => { if (!done) { done = true; say(true, what + ': refused (' + e.message.slice(0, 80) + ')'); resolve(); } });
    ws.on('close', () => { if (!done) { done = true; say(true, what + ': closed by the server'); resolve(); } });
  });
}
(async () => {
  await echo(url, { ca, maxPayload: 0 }, 'trusting the test CA');
  await fails(url, {}, 'system CAs only (untrusted test CA)');
  await echo(murl, { ca, cert: fs.readFileSync(d + '/client.crt'), key: fs.readFileSync(d + '/client.key') },
             'client certificate required, given');
  await fails(murl, { ca }, 'client certificate required, missing');
})();
JSEOF
    grep -E '^(ok|FAIL) - ' "$LOGS/node.log" || true
    pass=$((pass + $(grep -c '^ok - ' "$LOGS/node.log")))
    fail=$((fail + $(grep -c '^FAIL - ' "$LOGS/node.log")))
    grep -qE '^(ok|FAIL) - ' "$LOGS/node.log" || { bad "node ran no check"; tail -5 "$LOGS/node.log"; }
else
    skipped "Node ws (nodejs, npm --prefix tests ci)"
fi

# ---- headless Chromium (certificate errors ignored: this checks TLS + WebSocket, not trust) ----
if [ -x "$CHROMIUM" ] && [ -d tests/node_modules/playwright-core ]; then
    timeout 90 "$NODE" - "$URL" "$CHROMIUM" > "$LOGS/chromium.log" 2>&1 <<'JSEOF'
const { chromium } = require(process.cwd() + '/tests/node_modules/playwright-core');
const [url, exe] = process.argv.slice(2);
const say = (ok, what) => console.log((ok ? 'ok - ' : 'FAIL - ') + '[chromium -> ws.h wss server] ' + what);
(async () => {
  const browser = await chromium.launch({ executablePath: exe, headless: true,
    args: ['--ignore-certificate-errors', '--no-sandbox'] });
  try {
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    const r = await page.evaluate((u) => new Promise((resolve) => {
      const ws = new WebSocket(u); ws.binaryType = 'arraybuffer';
      const out = []; const big = new Uint8Array(1 << 20); for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
      ws.onopen = () => { ws.send('hello from chromium'); ws.send(big); };
      ws.onmessage = (e) => { out.push(e.data); if (out.length === 2) ws.close(1000); };
      ws.onclose = (e) => {
        const b = out[1] ? new Uint8Array(out[1]) : new Uint8Array(0);
        let same = b.length === big.length; for (let i = 0; same && i < b.length; i++) same = b[i] === big[i];
        resolve({ text: out[0], same, code: e.code });
      };
      ws.onerror = () => {};
      setTimeout(() => resolve({ timeout: true }), 20000);
    }), url);
    say(r.text === 'hello from chromium' && r.same && r.code === 1000,
        'text and 1 MiB binary echoed, clean close ' + JSON.stringify({ text: r.text, same: r.same, code: r.code, timeout: r.timeout }));
  } catch (e) { say(false, e.message); }
  await browser.close();
})();
JSEOF
    grep -E '^(ok|FAIL) - ' "$LOGS/chromium.log" || true
    pass=$((pass + $(grep -c '^ok - ' "$LOGS/chromium.log")))
    fail=$((fail + $(grep -c '^FAIL - ' "$LOGS/chromium.log")))
    grep -qE '^(ok|FAIL) - ' "$LOGS/chromium.log" || { bad "chromium ran no check"; tail -5 "$LOGS/chromium.log"; }
else
    skipped "Chromium (apt-get install chromium; npm --prefix tests ci)"
fi

for p in $PIDS; do kill -0 "$p" 2>/dev/null && ok "[tls_echo_server pid $p] still up at the end" || bad "[tls_echo_server pid $p] died"; done
echo "$pass passed, $fail failed (logs in $LOGS)"
[ "$fail" = 0 ]
