#!/usr/bin/node
// peer.js - Node `ws` (npm, installed under tests/ by `npm --prefix tests ci`) as the real peer
// of ws.h.
//   peer.js server                        127.0.0.1, port chosen by the OS; prints "PORT <n>"
//   peer.js client BASE SCENARIO [NONCE]  one scenario against BASE = ws://127.0.0.1:PORT
// The same scenarios and server paths as ws_peer.c (see the comment at its top); with
// PEER_DEFLATE=1 the server accepts permessage-deflate, and the deflate scenarios offer it
// (deflate-nct: no context takeover either way, 9-bit windows). Every check
// prints "ok - ..." or "FAIL - ..."; every wait has a timeout; exit 1 on a FAIL.
'use strict';
const crypto = require('crypto');
const { WebSocket, WebSocketServer } = require('ws');

const BIG = 16 << 20;
const NCONC = 50;
const T = 10000; // ms: the longest any single wait may take
let failures = 0;
let scen = 'server';

function check(cond, text) {
  console.log(`${cond ? 'ok' : 'FAIL'} - node ${scen}: ${text}`);
  if (!cond) failures++;
}

// n random bytes; for text, printable ASCII with some 2-byte UTF-8 (n bytes exactly)
function payload(n, text) {
  const b = crypto.randomBytes(n);
  if (!text) return b;
  for (let i = 0; i < n; i++) b[i] = 32 + (b[i] % 95);
  for (let i = 0; i + 2 <= n && i < 64; i += 8) { b[i] = 0xc3; b[i + 1] = 0xa9; }
  return b;
}

// The header of a 16 MiB binary frame and half its payload: a message cut in the middle.
function rawFrameStart(masked) {
  const hdr = Buffer.alloc(masked ? 14 : 10);
  hdr[0] = 0x82;
  hdr[1] = (masked ? 0x80 : 0) | 127;
  hdr.writeBigUInt64BE(BigInt(BIG), 2);
  if (masked) crypto.randomBytes(4).copy(hdr, 10);
  return Buffer.concat([hdr, crypto.randomBytes(BIG / 2)]);
}

// ---- server ----
const records = new Map();

function serve() {
  const wss = new WebSocketServer({
    host: '127.0.0.1', port: 0, maxPayload: 64 << 20,
    perMessageDeflate: process.env.PEER_DEFLATE ? { threshold: 0 } : false,
    handleProtocols: (offered) => (offered.has('v1.chat') ? 'v1.chat' : false),
    verifyClient: (info, cb) => (info.req.url === '/refuse' ? cb(false, 403, 'Forbidden') : cb(true)),
  });
  wss.on('listening', () => console.log(`PORT ${wss.address().port}`));
  wss.on('connection', (ws, req) => {
    const [kind, nonce] = req.url.slice(1).split('/');
    if (nonce && kind !== 'report') {
      ws.on('close', (code, reason) => records.set(nonce, `code=${code} clean=${code !== 1006 ? 1 : 0} reason=${reason}`));
    }
    ws.on('error', () => {});
    switch (kind) {
      case 'echo':
        ws.on('message', (d, bin) => ws.send(d, { binary: bin }));
        break;
      case 'frag': // 3 fragments, cut anywhere (even inside UTF-8), a ping inside
        ws.on('message', (d, bin) => {
          const a = Math.floor(d.length / 3), b = 2 * a;
          ws.send(d.subarray(0, a), { binary: bin, fin: false });
          ws.ping('mid-frag');
          ws.send(d.subarray(a, b), { binary: bin, fin: false });
          ws.send(d.subarray(b), { binary: bin, fin: true });
        });
        break;
      case 'ping':
        ws.on('pong', (d) => ws.send(`got-pong:${d}`));
        ws.ping('srv-ping');
        break;
      case 'proto': ws.send(`proto:${ws.protocol}`); break;
      case 'stats': ws.send(`open:${wss.clients.size}`); break;
      case 'vanish-recv': ws._socket.write(rawFrameStart(false), () => ws._socket.destroy()); break;
      case 'vanish-send': // stall the sender: it must vanish with bytes unsent
        ws._socket.pause();
        setTimeout(() => ws._socket.resume(), 1000);
        break;
      case 'close-server': ws.close(4002, 'bye from server'); break;
      case 'report': ws.send(records.get(nonce) || 'none'); ws.close(1000); break;
      default: if (!nonce) ws.close(1008, 'unknown path');
    }
  });
  const stop = () => { wss.close(); for (const c of wss.clients) c.terminate(); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setTimeout(stop, 15 * 60 * 1000).unref();
}

// ---- client ----
function timeout(p, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timed out: ${what}`)), T); })])
    .finally(() => clearTimeout(t));
}

// A connection whose messages, pings, pongs and close are queued for next()/closed().
function open(base, path, protocols, deflate) {
  const ws = new WebSocket(base + path, protocols || [], { maxPayload: 64 << 20, perMessageDeflate: deflate || false });
  ws.q = []; ws.waiter = null; ws.pings = []; ws.pongs = [];
  ws.on('message', (d, bin) => { ws.q.push({ d, bin }); if (ws.waiter) ws.waiter(); });
  ws.on('ping', (d) => ws.pings.push(d.toString()));
  ws.on('pong', (d) => { ws.pongs.push(d.toString()); if (ws.waiter) ws.waiter(); });
  ws.closedP = new Promise((res) => ws.on('close', (code, reason) => {
    ws.isClosed = true;
    if (ws.waiter) ws.waiter();
    res({ code, reason: reason.toString() });
  }));
  return timeout(new Promise((res, rej) => { ws.on('open', () => res(ws)); ws.on('error', rej); }), `open ${path}`);
}
function next(ws) {
  return timeout(new Promise((res, rej) => {
    const f = () => {
      if (ws.q.length) { ws.waiter = null; res(ws.q.shift()); }
      else if (ws.isClosed) { ws.waiter = null; rej(new Error('closed while waiting for a message')); }
    };
    ws.waiter = f;
    f();
  }), 'message');
}
const closed = (ws) => timeout(ws.closedP, 'close');

async function report(base, nonce) {
  let m = 'none';
  for (let i = 0; i < 30 && m === 'none'; i++) {
    if (i) await new Promise((r) => setTimeout(r, 100));
    const ws = await open(base, `/report/${nonce}`);
    m = (await next(ws)).d.toString();
    await closed(ws);
  }
  return m;
}

const deflateOpts = (nct) => (nct ? {
  threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9,
} : { threshold: 0 });
async function deflate(base, nct) {
  let ws = await open(base, '/echo', [], deflateOpts(nct));
  const pmd = ws._extensions['permessage-deflate'];   // ws.extensions has the names only
  const params = pmd ? pmd.params : {};
  check(ws.extensions === 'permessage-deflate', `permessage-deflate agreed (${JSON.stringify(params)})`);
  if (nct) {
    check(params.server_no_context_takeover && params.client_no_context_takeover &&
      params.server_max_window_bits === 9 && params.client_max_window_bits === 9, 'no context takeover and 9-bit windows agreed');
  }
  for (const n of nct ? [0, 1, 100, 65536] : [0, 1, 100, 65536, BIG]) {   // 16 MiB: once is enough
    for (const text of [true, false]) {
      const d = payload(n, text);
      ws.send(d, { binary: !text });
      const m = await next(ws);
      check(m.bin === !text && m.d.equals(d), `compressed ${text ? 'text' : 'binary'} message of ${n} bytes echoed intact`);
    }
  }
  const j = Buffer.from('{"id":12345,"name":"sensor","v":[1,2,3]},'.repeat(25000));
  for (let i = 0; i < 3; i++) {
    ws.send(j, { binary: false });
    const m = await next(ws);
    check(!m.bin && m.d.equals(j), 'compressible 1 MiB JSON text echoed intact');
  }
  ws.close(1000);
  let c = await closed(ws);
  check(c.code === 1000, `closed with 1000 (got ${c.code})`);
  ws = await open(base, '/frag', [], deflateOpts(nct));
  const text = Buffer.from('fragmented h\u00e9llo \u20ac \u{1f600} done'.repeat(1000));
  ws.send(text.subarray(0, 13), { binary: false, fin: false });
  ws.send(text.subarray(13, 20000), { binary: false, fin: false });
  ws.send(text.subarray(20000), { binary: false, fin: true });
  let m = await next(ws);
  check(!m.bin && m.d.equals(text), 'compressed text sent in 3 fragments came back intact');
  const bin = payload(300000, false);
  ws.send(bin.subarray(0, 1), { binary: true, fin: false });
  ws.send(bin.subarray(1), { binary: true, fin: true });
  m = await next(ws);
  check(m.bin && m.d.equals(bin), 'compressed binary sent in 2 fragments came back intact');
  ws.close(1000);
  c = await closed(ws);
  check(c.code === 1000, `closed with 1000 (got ${c.code})`);
}

const scenarios = {
  async deflate(base) { await deflate(base, false); },
  async 'deflate-nct'(base) { await deflate(base, true); },
  async messages(base) {
    const ws = await open(base, '/echo');
    for (const n of [0, 1, 125, 126, 127, 65535, 65536, 1 << 20, BIG]) {
      for (const text of [true, false]) {
        const d = payload(n, text);
        ws.send(d, { binary: !text });
        const m = await next(ws);
        check(m.bin === !text && m.d.equals(d), `${text ? 'text' : 'binary'} message of ${n} bytes echoed intact (${m.d.length} back)`);
      }
    }
    const u = 'h\u00e9llo w\u00f6rld \u20ac \u{1f600} \u4e2d\u6587';
    ws.send(u);
    const m = await next(ws);
    check(!m.bin && m.d.toString() === u, 'UTF-8 text echoed intact');
    ws.close(1000);
    const c = await closed(ws);
    check(c.code === 1000, `closed with 1000 (got ${c.code})`);
  },
  async fragments(base) {
    const ws = await open(base, '/frag');
    // split inside the 2-byte e-acute, the 3-byte euro sign and the 4-byte emoji
    const text = Buffer.from('fragmented h\u00e9llo \u20ac \u{1f600} done');
    ws.send(text.subarray(0, 13), { binary: false, fin: false });
    ws.ping('mid-frag');
    ws.send(text.subarray(13, 20), { binary: false, fin: false });
    ws.send(text.subarray(20, 25), { binary: false, fin: false });
    ws.send(text.subarray(25), { binary: false, fin: true });
    let m = await next(ws);
    check(!m.bin && m.d.equals(text), 'text sent in 4 fragments (split inside UTF-8 characters) came back intact');
    check(ws.pongs.includes('mid-frag'), `pong for the ping sent between fragments (${ws.pongs})`);
    check(ws.pings.includes('mid-frag'), `the peer's reply came in fragments with a ping between them (${ws.pings})`);
    const bin = payload(300000, false);
    ws.send(bin.subarray(0, 1), { binary: true, fin: false });
    ws.send(bin.subarray(1, 150000), { binary: true, fin: false });
    ws.send(bin.subarray(150000), { binary: true, fin: true });
    m = await next(ws);
    check(m.bin && m.d.equals(bin), 'binary sent in 3 fragments came back intact');
    ws.close(1000);
    const c = await closed(ws);
    check(c.code === 1000, `closed with 1000 (got ${c.code})`);
  },
  async ping(base) {
    const ws = await open(base, '/ping');
    ws.ping('cli-ping');
    const m = await next(ws);
    // our pong may come after the peer's message (it answers our pong to its own ping, which
    // can cross our ping on the wire): wait for it, whatever the order
    await timeout(new Promise((res) => {
      const f = () => { if (ws.pongs.length || ws.isClosed) { ws.waiter = null; res(); } };
      ws.waiter = f; f();
    }), 'pong');
    check(ws.pongs.length === 1 && ws.pongs[0] === 'cli-ping', `pong with our payload (${ws.pongs})`);
    check(ws.pings.length === 1 && ws.pings[0] === 'srv-ping', `the peer's ping arrived (${ws.pings})`);
    check(m.d.toString() === 'got-pong:srv-ping', `the peer got our automatic pong (${m.d})`);
    ws.close(1000);
    const c = await closed(ws);
    check(c.code === 1000, `closed with 1000 (got ${c.code})`);
  },
  async 'close-client'(base, nonce) {
    const ws = await open(base, `/close-client/${nonce}`);
    ws.close(4001, 'bye from client');
    const c = await closed(ws);
    check(c.code === 4001, `the peer echoed 4001 (got ${c.code} "${c.reason}")`);
    const m = await report(base, nonce);
    check(m === 'code=4001 clean=1 reason=bye from client', `the peer saw code 4001 and our reason (${m})`);
  },
  async 'close-empty'(base, nonce) { // a close frame without a status code
    const ws = await open(base, `/close-empty/${nonce}`);
    ws.close();
    const c = await closed(ws);
    check(c.code === 1005, `the peer's echo has no status either: 1005 (got ${c.code})`);
    const m = await report(base, nonce);
    check(m === 'code=1005 clean=1 reason=', `the peer saw no status: 1005 (${m})`);
  },
  async 'close-server'(base, nonce) {
    const ws = await open(base, `/close-server/${nonce}`);
    const c = await closed(ws);
    check(c.code === 4002 && c.reason === 'bye from server', `the peer's close arrived: ${c.code} "${c.reason}"`);
    const m = await report(base, nonce);
    check(m.startsWith('code=4002 clean=1'), `the peer saw our echo of 4002 (${m})`);
  },
  async concurrent(base) {
    const res = await Promise.allSettled(Array.from({ length: NCONC }, () => open(base, '/echo')));
    const conns = res.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    check(conns.length === NCONC, `${conns.length} of ${NCONC} connections open at once`);
    const st = await open(base, '/stats');
    const m = (await next(st)).d.toString();
    check(m.startsWith('open:') && Number(m.slice(5)) >= NCONC + 1, `the peer counts them (${m})`);
    st.close(1000);
    const one = async (ws, i) => {
      ws.send(`hello from connection ${i}`);
      const e = (await next(ws)).d.toString();
      ws.close(1000);
      return e === `hello from connection ${i}` && (await closed(ws)).code === 1000;
    };
    const good = (await Promise.allSettled(conns.map(one))).filter((r) => r.value === true).length;
    check(good === NCONC, `${good} of ${NCONC} got their own echo and closed cleanly`);
  },
  async subprotocol(base) {
    const ws = await open(base, '/proto', ['v2.chat', 'v1.chat']);
    check(ws.protocol === 'v1.chat', `offered v2.chat, v1.chat; the peer chose "${ws.protocol}"`);
    const m = (await next(ws)).d.toString();
    check(m === 'proto:v1.chat', `the peer agrees (${m})`);
    ws.close(1000);
    await closed(ws);
  },
  async refused(base) {
    const ws = new WebSocket(`${base}/refuse`);
    const status = await timeout(new Promise((res) => {
      ws.on('open', () => res('opened'));
      ws.on('error', (e) => res(`error ${e.message}`));
      ws.on('unexpected-response', (req, r) => { res(r.statusCode); req.destroy(); });
    }), 'refusal');
    check(status === 403, `refused with HTTP ${status}`);
  },
  async 'vanish-recv'(base) {
    const ws = await open(base, '/vanish-recv');
    ws._socket.pause(); // stall the sender: it must vanish with bytes unsent
    setTimeout(() => ws._socket.resume(), 1000);
    const t0 = Date.now();
    const c = await closed(ws);
    check(c.code === 1006 && ws.q.length === 0, `peer vanished mid-message: close ${c.code}, ${ws.q.length} messages, after ${Date.now() - t0} ms`);
  },
  async 'vanish-send'(base, nonce) {
    const ws = await open(base, `/vanish-send/${nonce}`);
    const err = await new Promise((res) => ws._socket.write(rawFrameStart(true), res));
    const left = ws._socket.writableLength;
    check(!err && left === 0, `half of a 16 MiB message handed to the kernel (${left} bytes left${err ? ', ' + err.message : ''}); vanishing (SIGKILL)`);
    process.kill(process.pid, 'SIGKILL');
  },
  async 'vanish-check'(base, nonce) {
    const m = await report(base, nonce);
    check(m.startsWith('code=1006 clean=0'), `the peer saw the connection end uncleanly (${m})`);
  },
};

async function main(argv) {
  if (argv.length === 1 && argv[0] === 'server') return serve();
  if ((argv.length !== 3 && argv.length !== 4) || argv[0] !== 'client' || !scenarios[argv[2]]) {
    console.error('usage: peer.js server | client ws://127.0.0.1:PORT SCENARIO [NONCE]');
    process.exit(2);
  }
  scen = argv[2];
  setTimeout(() => { check(false, 'scenario timed out'); process.exit(1); }, 90000).unref();
  try {
    await scenarios[scen](argv[1].replace(/\/$/, ''), argv[3] || 'n');
  } catch (e) {
    check(false, `${e.name}: ${e.message}`);
  }
  process.exit(failures ? 1 : 0);
}
main(process.argv.slice(2));
