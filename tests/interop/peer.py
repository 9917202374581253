#!/usr/bin/python3
"""peer.py - Python `websockets` (Debian python3-websockets) as the real peer of ws.h.

    peer.py server                        127.0.0.1, port chosen by the OS; prints "PORT <n>"
    peer.py client BASE SCENARIO [NONCE]  one scenario against BASE = ws://127.0.0.1:PORT

The same scenarios and server paths as ws_peer.c (see the comment at its top); the server
always accepts permessage-deflate (websockets' default), the client offers it in the deflate
scenarios (deflate-nct: no context takeover either way, 9-bit windows). Every check
prints "ok - ..." or "FAIL - ..."; every wait has a timeout; exit 1 on a FAIL.
"""
import asyncio
import http
import os
import signal
import struct
import sys

import websockets
import websockets.frames

BIG = 16 << 20
NCONC = 50
T = 10  # seconds: the longest any single wait may take
failures = 0
scen = "server"


def check(cond, text):
    global failures
    print(("ok" if cond else "FAIL") + " - python %s: %s" % (scen, text), flush=True)
    if not cond:
        failures += 1


def payload(n, text):
    """n random bytes; for text, printable ASCII with some 2-byte UTF-8 (n bytes exactly)."""
    b = bytearray(os.urandom(n))
    if not text:
        return bytes(b)
    b = bytearray(b.translate(bytes(32 + i % 95 for i in range(256))))
    for i in range(0, min(n - 1, 64), 8):
        b[i:i + 2] = "\u00e9".encode()
    return b.decode()


def raw_frame_start(masked):
    """The header of a 16 MiB binary frame, and half its payload: a message cut in the middle."""
    hdr = struct.pack("!BBQ", 0x82, (0x80 if masked else 0) | 127, BIG)
    if masked:
        hdr += os.urandom(4)
    return hdr + os.urandom(BIG // 2)


async def flush_then(ws, action):
    """Waits (bounded) until asyncio's write buffer is empty, then runs action."""
    for _ in range(T * 100):
        if ws.transport.get_write_buffer_size() == 0:
            break
        await asyncio.sleep(0.01)
    action()


# ---- server ----
records = {}
open_conns = set()


def process_request(path, headers):
    if path == "/refuse":
        return http.HTTPStatus.FORBIDDEN, [], b"refused by process_request\n"
    return None


async def fragments(msg, ws):
    a, b = len(msg) // 3, len(msg) // 3 * 2
    yield msg[:a]
    await ws.ping(b"mid-frag")
    yield msg[a:b]
    yield msg[b:]


async def handler(ws):
    kind, _, nonce = ws.path.lstrip("/").partition("/")
    open_conns.add(ws)
    try:
        if kind == "echo":
            async for m in ws:
                await ws.send(m)
        elif kind == "frag":
            async for m in ws:
                await ws.send(fragments(m, ws))
        elif kind == "ping":
            waiter = await ws.ping(b"srv-ping")
            await asyncio.wait_for(waiter, T)
            await ws.send("got-pong:srv-ping")
            async for _ in ws:
                pass
        elif kind == "proto":
            await ws.send("proto:%s" % (ws.subprotocol or ""))
            async for _ in ws:
                pass
        elif kind == "stats":
            await ws.send("open:%d" % len(open_conns))
            async for _ in ws:
                pass
        elif kind == "vanish-recv":
            ws.transport.write(raw_frame_start(False))
            await flush_then(ws, ws.transport.abort)
        elif kind == "close-server":
            await ws.close(4002, "bye from server")
        elif kind == "report":
            await ws.send(records.get(nonce, "none"))
            await ws.close(1000)
        elif kind == "vanish-send":  # stall the sender: it must vanish with bytes unsent
            ws.transport.pause_reading()
            asyncio.get_running_loop().call_later(1.0, ws.transport.resume_reading)
            await asyncio.wait_for(ws.wait_closed(), 60)
        elif nonce:
            await asyncio.wait_for(ws.wait_closed(), 60)
        else:
            await ws.close(1008, "unknown path")
    except websockets.ConnectionClosed:
        pass
    finally:
        open_conns.discard(ws)
        if nonce and kind != "report":
            await ws.wait_closed()
            code = ws.close_code
            records[nonce] = "code=%d clean=%d reason=%s" % (code, int(code != 1006), ws.close_reason)


async def serve():
    stop = asyncio.get_running_loop().create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(s, stop.set_result, None)
    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["v1.chat"], max_size=None,
                                process_request=process_request) as server:
        print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
        await asyncio.wait_for(stop, 15 * 60)


# ---- client ----
def connect(base, path, **kw):
    return websockets.connect(base + path, max_size=None, open_timeout=T, close_timeout=T, **kw)


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), T)


async def sc_messages(base, nonce):
    async with connect(base, "/echo") as ws:
        for n in (0, 1, 125, 126, 127, 65535, 65536, 1 << 20, BIG):
            for text in (True, False):
                d = payload(n, text)
                await ws.send(d)
                got = await recv(ws)
                back = len(got.encode()) if isinstance(got, str) else len(got)
                check(type(got) is type(d) and got == d, "%s message of %d bytes echoed intact (%d back)"
                      % ("text" if text else "binary", n, back))
        d = "h\u00e9llo w\u00f6rld \u20ac \U0001f600 \u4e2d\u6587"
        await ws.send(d)
        check(await recv(ws) == d, "UTF-8 text echoed intact")
    check(ws.close_code == 1000, "closed with 1000 (got %s)" % ws.close_code)


async def sc_fragments(base, nonce):
    async with connect(base, "/frag") as ws:
        text = ["fragmented h\u00e9", "llo \u20ac", " \U0001f600 done"]
        await ws.send(text)
        check(await recv(ws) == "".join(text), "text sent in fragments came back intact "
              "(the peer re-fragments it at arbitrary bytes)")
        chunks = [payload(100000, False) for _ in range(3)]
        await ws.send(chunks)
        check(await recv(ws) == b"".join(chunks), "binary sent in 3 fragments came back intact")
    check(ws.close_code == 1000, "closed with 1000 (got %s)" % ws.close_code)


def deflate_ext(nct):
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    if nct:
        return [ClientPerMessageDeflateFactory(server_no_context_takeover=True, client_no_context_takeover=True,
                                               server_max_window_bits=9, client_max_window_bits=9)]
    return [ClientPerMessageDeflateFactory(client_max_window_bits=True)]


async def deflate(base, nct):
    async with connect(base, "/echo", compression=None, extensions=deflate_ext(nct)) as ws:
        ext = ws.extensions[0] if len(ws.extensions) == 1 else None
        check(ext is not None and ext.name == "permessage-deflate", "permessage-deflate agreed (%r)" % (ext,))
        if nct and ext is not None:
            check(ext.remote_no_context_takeover and ext.local_no_context_takeover and
                  ext.remote_max_window_bits == 9 and ext.local_max_window_bits == 9,
                  "no context takeover and 9-bit windows agreed")
        for n in (0, 1, 100, 65536) + (() if nct else (BIG,)):   # 16 MiB: once is enough
            for text in (True, False):
                d = payload(n, text)
                await ws.send(d)
                got = await recv(ws)
                check(type(got) is type(d) and got == d, "compressed %s message of %d bytes echoed intact"
                      % ("text" if text else "binary", n))
        d = '{"id":12345,"name":"sensor","v":[1,2,3]},' * 25000
        for _ in range(3):
            await ws.send(d)
            check(await recv(ws) == d, "compressible 1 MiB JSON text echoed intact")
    check(ws.close_code == 1000, "closed with 1000 (got %s)" % ws.close_code)
    async with connect(base, "/frag", compression=None, extensions=deflate_ext(nct)) as ws:
        text = ["fragmented h\u00e9", "llo \u20ac", " \U0001f600 done" * 1000]
        await ws.send(text)
        check(await recv(ws) == "".join(text), "compressed text sent in fragments came back intact")
        chunks = [payload(100000, False) for _ in range(3)]
        await ws.send(chunks)
        check(await recv(ws) == b"".join(chunks), "compressed binary sent in 3 fragments came back intact")
    check(ws.close_code == 1000, "closed with 1000 (got %s)" % ws.close_code)


async def sc_deflate(base, nonce):
    await deflate(base, False)


async def sc_deflate_nct(base, nonce):
    await deflate(base, True)


async def sc_ping(base, nonce):
    async with connect(base, "/ping") as ws:
        waiter = await ws.ping(b"cli-ping")
        await asyncio.wait_for(waiter, T)
        check(waiter.done() and not waiter.cancelled(), "pong with our payload arrived")
        m = await recv(ws)
        check(m == "got-pong:srv-ping", "the peer got our pong for its ping (%r)" % m)
    check(ws.close_code == 1000, "closed with 1000 (got %s)" % ws.close_code)


async def report(base, nonce):
    for _ in range(30):
        async with connect(base, "/report/" + nonce) as ws:
            m = await recv(ws)
        if m != "none":
            return m
        await asyncio.sleep(0.1)
    return m


async def sc_close_client(base, nonce):
    async with connect(base, "/close-client/" + nonce) as ws:
        await ws.close(4001, "bye from client")
        check(ws.close_code == 4001, "the peer echoed 4001 (got %s %r)" % (ws.close_code, ws.close_reason))
    m = await report(base, nonce)
    check(m == "code=4001 clean=1 reason=bye from client", "the peer saw code 4001 and our reason (%r)" % m)


async def sc_close_empty(base, nonce):
    """A close frame without a status code: what the library sends when it echoes one."""
    async with connect(base, "/close-empty/" + nonce) as ws:
        await ws.write_close_frame(websockets.frames.Close(1005, ""), b"")
        await asyncio.wait_for(ws.wait_closed(), T)
        check(ws.close_code == 1005, "the peer's echo has no status either: 1005 (got %s)" % ws.close_code)
    m = await report(base, nonce)
    check(m == "code=1005 clean=1 reason=", "the peer saw no status: 1005 (%r)" % m)


async def sc_close_server(base, nonce):
    async with connect(base, "/close-server/" + nonce) as ws:
        await asyncio.wait_for(ws.wait_closed(), T)
        check(ws.close_code == 4002 and ws.close_reason == "bye from server",
              "the peer's close arrived: %s %r" % (ws.close_code, ws.close_reason))
    m = await report(base, nonce)
    check(m.startswith("code=4002 clean=1"), "the peer saw our echo of 4002 (%r)" % m)


async def sc_concurrent(base, nonce):
    conns = await asyncio.gather(*(connect(base, "/echo") for _ in range(NCONC)), return_exceptions=True)
    ok = [c for c in conns if not isinstance(c, Exception)]
    check(len(ok) == NCONC, "%d of %d connections open at once" % (len(ok), NCONC))
    async with connect(base, "/stats") as ws:
        m = await recv(ws)
        check(m.startswith("open:") and int(m[5:]) >= NCONC + 1, "the peer counts them (%r)" % m)

    async def one(i, ws):
        await ws.send("hello from connection %d" % i)
        m = await recv(ws)
        await ws.close()
        return m == "hello from connection %d" % i and ws.close_code == 1000

    res = await asyncio.gather(*(one(i, c) for i, c in enumerate(ok)), return_exceptions=True)
    check(res.count(True) == NCONC, "%d of %d got their own echo and closed cleanly" % (res.count(True), NCONC))


async def sc_subprotocol(base, nonce):
    async with connect(base, "/proto", subprotocols=["v2.chat", "v1.chat"]) as ws:
        check(ws.subprotocol == "v1.chat", "offered v2.chat, v1.chat; the peer chose %r" % ws.subprotocol)
        m = await recv(ws)
        check(m == "proto:v1.chat", "the peer agrees (%r)" % m)


async def sc_refused(base, nonce):
    try:
        async with connect(base, "/refuse"):
            check(False, "the upgrade was accepted")
    except websockets.InvalidStatusCode as e:
        check(e.status_code == 403, "refused with HTTP %d" % e.status_code)


async def sc_vanish_recv(base, nonce):
    async with connect(base, "/vanish-recv") as ws:
        ws.transport.pause_reading()  # stall the sender: it must vanish with bytes unsent
        asyncio.get_running_loop().call_later(1.0, ws.transport.resume_reading)
        try:
            m = await recv(ws)
            check(False, "a message of %d bytes arrived" % len(m))
        except websockets.ConnectionClosedError as e:
            check(e.code == 1006, "peer vanished mid-message: ConnectionClosedError, code %s" % e.code)
        except asyncio.TimeoutError:
            check(False, "nothing happened in %d s" % T)


async def sc_vanish_send(base, nonce):
    ws = await connect(base, "/vanish-send/" + nonce)
    ws.transport.write(raw_frame_start(True))

    def die():
        left = ws.transport.get_write_buffer_size()
        check(left == 0, "half of a 16 MiB message handed to the kernel (%d bytes left); vanishing (SIGKILL)" % left)
        os.kill(os.getpid(), signal.SIGKILL)
    await flush_then(ws, die)


async def sc_vanish_check(base, nonce):
    m = await report(base, nonce)
    check(m.startswith("code=1006 clean=0"), "the peer saw the connection end uncleanly (%r)" % m)


def main():
    global scen
    if sys.argv[1:] == ["server"]:
        asyncio.run(serve())
        return 0
    if len(sys.argv) not in (4, 5) or sys.argv[1] != "client":
        print(__doc__, file=sys.stderr)
        return 2
    base, scen = sys.argv[2].rstrip("/"), sys.argv[3]
    fn = globals().get("sc_" + scen.replace("-", "_"))
    if not fn:
        print("unknown scenario " + scen, file=sys.stderr)
        return 2
    try:
        asyncio.run(asyncio.wait_for(fn(base, sys.argv[4] if len(sys.argv) == 5 else "n"), 90))
    except Exception as e:  # anything unexpected is a failed check, with its reason
        check(False, "%s: %r" % (type(e).__name__, e))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
