// deflate_node.js - bench/deflate.c's measurement with Node ws: one process holds an echo
// server and a client on 127.0.0.1; INFLIGHT messages in flight until N echoes came back.
// CPU = process.cpuUsage() / N (both ends); wire = bytes written by both sockets / (2 N).
//   node deflate_node.js N INFLIGHT MODE     MODE: off | deflate | deflate-nct | deflate-w10
'use strict';
const path = require('path');
const { WebSocket, WebSocketServer } = require(path.join(__dirname, '../tests/node_modules/ws'));
const [N, INFLIGHT, MODE] = [+(process.argv[2] || 100000), +(process.argv[3] || 16), process.argv[4] || 'deflate'];

function makeMsg(i) {   // the same generator as deflate.c
  let s = Math.imul(i, 2654435761) >>> 0;
  let m = `{"id":${i},"ts":${1700000000000 + i * 37},"user":"user-${s % 1000}","event":"position_update",` +
    '"status":"online","values":[';
  for (let k = 0; k < 60; k++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    m += (k ? ',' : '') + ((s >>> 8) % 100000);
  }
  m += '],"tags":["alpha","beta","gamma"],"note":"';
  while (m.length < 1022) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; m += String.fromCharCode(97 + ((s >>> 16) % 26)); }
  return m + '"}';
}
const pmd = MODE === 'off' ? false : Object.assign({ threshold: 0 },
  MODE === 'deflate-nct' ? { serverNoContextTakeover: true, clientNoContextTakeover: true } : {},
  MODE === 'deflate-w10' ? { serverMaxWindowBits: 10, clientMaxWindowBits: 10 } : {});
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: pmd });
let srvSock;
wss.on('connection', (ws) => { srvSock = ws._socket; ws.on('message', (d, bin) => ws.send(d, { binary: bin })); });
wss.on('listening', () => {
  const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}/`, { perMessageDeflate: pmd });
  let sent = 0, got = 0, c0, w0;
  const sendOne = () => ws.send(makeMsg(sent++));
  ws.on('open', () => {
    if (makeMsg(0).length !== 1024) throw new Error('message is not 1 KiB');
    c0 = process.cpuUsage();
    w0 = ws._socket.bytesWritten + srvSock.bytesWritten;
    for (let i = 0; i < INFLIGHT && sent < N; i++) sendOne();
  });
  ws.on('message', (d) => {
    if (d.length !== 1024) throw new Error('bad echo');
    if (++got < N) { if (sent < N) sendOne(); return; }
    const c = process.cpuUsage(c0), w = ws._socket.bytesWritten + srvSock.bytesWritten - w0;
    console.log(`node ws ${MODE.padEnd(12)} ${got} echoes: ${((c.user + c.system) / got).toFixed(2).padStart(6)} us CPU per message (both ends), ` +
      `${(w / (2 * got)).toFixed(1).padStart(6)} bytes on the wire per message (${ws.extensions || 'uncompressed'})`);
    ws.close(); wss.close(); process.exit(0);
  });
});
