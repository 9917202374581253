#!/usr/bin/node
// browser.js - a real browser against ws.h: headless Chromium (the system's /usr/bin/chromium,
// driven by npm playwright-core) opens the page of examples/chat_server in two pages, which
// chat through the browser's own WebSocket; the server's log must show the messages too.
//   node tests/interop/browser.js http://127.0.0.1:PORT/ SERVER_LOG SCREENSHOT.png
// Prints "ok - ..." / "FAIL - ..." per check; exit 1 on a FAIL. run.sh runs it under timeout.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

let failures = 0;
function check(cond, text) {
  console.log(`${cond ? 'ok' : 'FAIL'} - chromium: ${text}`);
  if (!cond) failures++;
}

// Each wait below is for an event; WAIT only catches a hang (a loaded machine is slow, not wrong).
const WAIT = 20000;

// Polls fn (sync or async) until it returns something truthy, at most ms.
async function until(fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main([url, serverLog, shot]) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-h-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
  const log = () => fs.readFileSync(serverLog, 'utf8');
  try {
    const [a, b] = [await ctx.newPage(), await ctx.newPage()];
    for (const p of [a, b]) {
      p.setDefaultTimeout(WAIT);
      p.on('pageerror', (e) => check(false, `page error: ${e.message}`));
      await p.goto(url);
      await p.waitForFunction(() => document.querySelector('#status').textContent !== 'connecting');
    }
    check(await a.textContent('#status') === 'open' && await b.textContent('#status') === 'open',
      `both pages connected (${await a.textContent('#status')}, ${await b.textContent('#status')})`);
    await until(() => (log().match(/joined/g) || []).length >= 2, WAIT);
    check((log().match(/joined/g) || []).length >= 2, 'the server logged both joins');
    // chat_server built with WS_USE_ZLIB accepts permessage-deflate, which Chromium offers;
    // the page's ws.extensions is what the server agreed to
    const ext = await a.evaluate(() => ws.extensions);
    if (/-DWS_USE_ZLIB/.test(process.env.CHAT_SERVER_FLAGS || '')) {
      check(/^permessage-deflate/.test(ext), `permessage-deflate was negotiated with Chromium ("${ext}")`);
    } else {
      check(ext === '', `no extension without zlib ("${ext}")`);
    }

    const hello = `hello from page A, h\u00e9llo w\u00f6rld \u20ac ${Date.now()}`;
    await a.fill('#msg', hello);
    await a.click('#send');
    const gotB = await until(async () => (await b.textContent('#log')).includes(hello), WAIT);
    check(gotB, 'a message typed in page A appears in page B');
    const lineOf = async (p, text) => (await p.$$eval('#log div', (ds) => ds.map((d) => d.textContent)))
      .find((l) => l.includes(text)) || '';
    await until(async () => (await lineOf(a, hello)) !== '', WAIT);   // its own line comes back too
    const idA = ((await lineOf(a, 'you are #')).match(/you are (#\d+)/) || [])[1];
    check(idA && (await lineOf(b, hello)) === `${idA}: ${hello}` && (await lineOf(a, hello)) === `${idA}: ${hello}`,
      `both pages show who said it: "${await lineOf(b, hello)}" (page A is ${idA})`);
    check(await until(() => log().includes(`says: ${hello}`), WAIT), 'the server logged it (UTF-8 intact)');

    const reply = `reply from page B ${Date.now()}`;
    await b.fill('#msg', reply);
    await b.press('#msg', 'Enter');
    check(await until(async () => (await a.textContent('#log')).includes(reply), WAIT),
      'the reply typed in page B appears in page A');
    await b.fill('#msg', '/nick Bob \u00e9');
    await b.press('#msg', 'Enter');
    const named = `named line ${Date.now()}`;
    await b.fill('#msg', named);
    await b.press('#msg', 'Enter');
    check(await until(async () => (await lineOf(a, named)) === `Bob \u00e9: ${named}`, WAIT),
      `a chosen name (/nick) labels the lines: "${await lineOf(a, named)}"`);
    check(!(await b.textContent('#log')).includes('[binary]') && !(await a.textContent('#log')).includes('closed'),
      'no stray binary messages or closes');
    await b.screenshot({ path: shot });
    check(fs.statSync(shot).size > 1000, `screenshot saved to ${shot}`);

    await a.close(); // the browser closes the WebSocket of a page it unloads
    check(await until(() => /left: code 100[01]/.test(log()), WAIT),
      `closing page A closed its WebSocket (server: "${(log().match(/#\d+ left:.*/) || [''])[0]}")`);

    // over chat_server's max_message (64 KiB): ws.h closes with 1009 and the browser says so
    await b.evaluate(() => ws.send('x'.repeat(70000))); // the page's own socket
    const shown = await until(async () => /closed \(\d+\)/.test(await b.textContent('#log')) &&
      (await b.textContent('#log')).match(/closed \((\d+)\)/)[1], WAIT);
    check(shown === '1009', `a 70000-byte message closed page B's socket with 1009 (page shows ${shown})`);
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

setTimeout(() => { check(false, 'timed out'); process.exit(1); }, 90000).unref();
main(process.argv.slice(2))
  .catch((e) => check(false, `${e.name}: ${e.message.split('\n')[0]}`))
  .then(() => process.exit(failures ? 1 : 0));
