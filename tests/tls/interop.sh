#!/usr/bin/env bash
# interop.sh - ws.h's wss:// server (build/tls_echo_server) against real TLS peers: Python
# websockets over ssl, Node ws over TLS, and headless Chromium (ignoring certificate errors, the
# browser test only). Certificates from tests/tls/gen-certs.sh. Prints "ok - ..." / "FAIL - ..."
# per check and "N passed, N failed"; a missing peer is SKIPPED (a failure under CI=true).
# As strict as tests/interop/run.sh: each peer must print exactly its number of checks and exit
# 0 within its time limit; a refusal counts only with the reason expected (an untrusted
# certificate, a missing client certificate), never a timeout or any other error.
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
skipped() { echo "SKIPPED: $*"; if [ "${CI:-}" = true ]; then bad "skipped under CI=true: $*"; fi; }

# Runs one peer script under timeout, echoes and counts its ok/FAIL lines; a kill, a timeout, a
# non-zero exit or a number of checks other than `want` is a failure too.
peer() {   # label want seconds log cmd...
    local label=$1 want=$2 secs=$3 log=$4 rc n line
    shift 4
    { timeout -k 5 "$secs" "$@" > "$log" 2>&1; rc=$?; } 2>/dev/null
    n=0
    while IFS= read -r line; do
        case $line in
            "ok - "*) pass=$((pass + 1)); n=$((n + 1)); echo "$line" ;;
            "FAIL - "*) fail=$((fail + 1)); n=$((n + 1)); echo "$line" ;;
        esac
    done < "$log"
    if [ $rc = 124 ] || [ $rc = 137 ]; then bad "[$label] timed out or was killed after $secs s (status $rc); see $log"
    elif [ $rc != 0 ]; then bad "[$label] exited with status $rc; see $log"; tail -5 "$log"
    fi
    [ $n = "$want" ] || bad "[$label] ran $n of its $want checks; see $log"
}

[ -x "$SRV" ] || { echo "no $SRV (make examples, with libmbedtls-dev)"; exit 1; }
tests/tls/gen-certs.sh "$CERTS" > /dev/null || { echo "gen-certs.sh failed"; exit 1; }

start() {   # start NAME [CA]: a server on a free port; sets PORT
    local log=$LOGS/$1.log i
    "$SRV" 0 "$CERTS/server.crt" "$CERTS/server.key" ${2:+"$2"} > "$log" 2>&1 &
    local pid=$!
    PIDS="$PIDS $pid"
    for i in $(seq 600); do   # up to 60 s (a hang guard)
        PORT=$(sed -n 's|.*wss://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log")
        [ -n "$PORT" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
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
    peer python 5 120 "$LOGS/python.log" "$PY" - "$URL" "$MURL" "$CERTS" <<'PYEOF'
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
# refused for the expected reason only: a timeout or another error is a failure
def untrusted(e):
    return isinstance(e, ssl.SSLCertVerificationError)
def no_client_cert(e):   # the server's TLS alert, or its reset right after it
    return (isinstance(e, ssl.SSLError) and not isinstance(e, ssl.SSLCertVerificationError) and
            ("HANDSHAKE_FAILURE" in str(e) or "CERTIFICATE_REQUIRED" in str(e) or
             "BAD_CERTIFICATE" in str(e))) or isinstance(e, ConnectionResetError)
async def fails(u, c, what, why):
    try:
        async with websockets.connect(u, ssl=c, open_timeout=30) as ws:
            await ws.send("x"); await ws.recv()
        say(False, what + ": connected, should have failed")
    except Exception as e:
        say(why(e), what + ": refused (" + type(e).__name__ + ": " + str(e)[:100] + ")")
async def main():
    await echo(url, ctx(), "trusting the test CA")
    await fails(url, ssl.create_default_context(), "system CAs only (untrusted test CA)", untrusted)
    await echo(murl, ctx(True), "client certificate required, given")
    await fails(murl, ctx(False), "client certificate required, missing", no_client_cert)
    await echo(url, ctx(), "server still serving after the failures")
asyncio.run(main())
PYEOF
else
    skipped "Python websockets (apt-get install python3-websockets)"
fi

# ---- Node ws over TLS ----
if [ -x "$NODE" ] && [ -d tests/node_modules/ws ]; then
    peer node 4 120 "$LOGS/node.log" "$NODE" - "$URL" "$MURL" "$CERTS" <<'JSEOF'
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
    let done = false;
    const end = (ok, text) => { if (!done) { done = true; clearTimeout(t); say(ok, what + ': ' + text); resolve(); } };
    const t = setTimeout(() => { end(false, 'no echo and close in 60 s'); ws.terminate(); }, 60000);
    ws.on('open', () => { ws.send('hello over TLS'); ws.send(big); });
    ws.on('message', (m, isBinary) => { got.push([m, isBinary]); if (got.length === 2) ws.close(1000); });
    ws.on('close', (code) => {
      end(got.length === 2 && got[0][0].toString() === 'hello over TLS' && !got[0][1] &&
          got[1][1] && Buffer.compare(got[1][0], big) === 0 && code === 1000,
          'text and 1 MiB binary echoed, clean close (' + code + ')');
    });
    ws.on('error', (e) => end(false, e.code + ': ' + e.message));
  });
}
// refused for the expected reason only (an error event with that code); a close without one,
// an echo or no answer within 30 s is a failure
const UNTRUSTED = /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT)$/;
const NO_CLIENT_CERT = /^(ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE|ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE|ECONNRESET)$|(alert handshake failure|alert certificate required|alert bad certificate)/;
function fails(u, opts, what, why) {
  return new Promise((resolve) => {
    const ws = new WebSocket(u, opts);
    let done = false;
    const end = (ok, text) => { if (!done) { done = true; clearTimeout(t); say(ok, what + ': ' + text); ws.terminate(); resolve(); } };
    const t = setTimeout(() => end(false, 'no answer in 30 s'), 30000);
    ws.on('open', () => { ws.send('x'); });
    ws.on('message', () => end(false, 'echoed, should have failed'));
    ws.on('error', (e) => end(why.test(String(e.code)) || why.test(e.message),
                              'refused (' + e.code + ': ' + e.message.slice(0, 120) + ')'));
    ws.on('close', (code) => end(false, 'closed (' + code + ') without the expected TLS error'));
  });
}
(async () => {
  await echo(url, { ca, maxPayload: 0 }, 'trusting the test CA');
  await fails(url, {}, 'system CAs only (untrusted test CA)', UNTRUSTED);
  await echo(murl, { ca, cert: fs.readFileSync(d + '/client.crt'), key: fs.readFileSync(d + '/client.key') },
             'client certificate required, given');
  await fails(murl, { ca }, 'client certificate required, missing', NO_CLIENT_CERT);
})();
JSEOF
else
    skipped "Node ws (nodejs, npm --prefix tests ci)"
fi

# ---- headless Chromium (certificate errors ignored: this checks TLS + WebSocket, not trust) ----
if [ -x "$CHROMIUM" ] && [ -d tests/node_modules/playwright-core ]; then
    peer chromium 1 120 "$LOGS/chromium.log" "$NODE" - "$URL" "$CHROMIUM" <<'JSEOF'
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
      setTimeout(() => resolve({ timeout: true }), 60000);   /* only a hang guard */
    }), url);
    say(r.text === 'hello from chromium' && r.same && r.code === 1000,
        'text and 1 MiB binary echoed, clean close ' + JSON.stringify({ text: r.text, same: r.same, code: r.code, timeout: r.timeout }));
  } catch (e) { say(false, e.message); }
  await browser.close();
})();
JSEOF
else
    skipped "Chromium (apt-get install chromium; npm --prefix tests ci)"
fi

for p in $PIDS; do kill -0 "$p" 2>/dev/null && ok "[tls_echo_server pid $p] still up at the end" || bad "[tls_echo_server pid $p] died"; done
echo "$pass passed, $fail failed (logs in $LOGS)"
[ "$fail" = 0 ]
