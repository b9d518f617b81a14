#!/usr/bin/python3
"""An independent WebSocket client against chatroom-server: Debian's python3-websockets.

Usage: test_python_client.py --server PATH/TO/chatroom-server

Starts `SERVER --port 0 --web-port 0 --bind 127.0.0.1 --web-bind 127.0.0.1`,
reads both ports from its log ("listening on 127.0.0.1:PORT (tcp)" and
"listening on http://127.0.0.1:PORT (web)"), then a websockets client and a
raw TCP (telnet-style) client chat both ways in the lobby: nick changes,
/who, a line with HTML, a multi-byte line, a ping answered by the server,
and /quit ending in a close with code 1000. A second websockets client with a
foreign Origin must be refused with 403.

Run with Debian's /usr/bin/python3 (apt-get install -y python3-websockets).
Every wait has a deadline; the server is stopped by its PID. Prints PASS/FAIL
per check and "N passed, M failed"; exits 1 on any failure.
"""
import argparse
import asyncio
import os
import re
import sys

import websockets
import websockets.exceptions

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import chatroom_testkit as kit  # noqa: E402

PATIENCE = 20.0  # seconds for any one condition; generous for a loaded 2-core machine

runner = kit.CheckRunner()
check = runner.record


class LineClient(kit.LineClient):
    """A telnet-style client: CRLF lines out, lines in, each wait bounded."""

    def __init__(self, port):
        super().__init__(port, PATIENCE, name="TCP client")

    def expect(self, pattern):
        return self.wait_for(lambda line: re.search(pattern, line), PATIENCE)


async def ws_expect(ws, pattern):
    async def loop():
        while True:
            line = await ws.recv()
            if re.search(pattern, line):
                return line
    return await asyncio.wait_for(loop(), PATIENCE)


async def chat(server):
    tcp = LineClient(server.ports["tcp"])
    hello = tcp.expect(r"^\* welcome to ")
    tcp_nick = hello.rsplit(" ", 1)[1]
    tcp.expect(r"^\* joined lobby")

    url = "ws://127.0.0.1:%d/ws" % server.ports["web"]
    async with websockets.connect(url, open_timeout=PATIENCE, close_timeout=PATIENCE) as ws:
        line = await ws_expect(ws, r"^\* welcome to ")
        ws_nick = line.rsplit(" ", 1)[1]
        check("websockets client is welcomed with a guest nick", re.match(r"^guest-\d+$", ws_nick) is not None, line)
        await ws_expect(ws, r"^\* joined lobby")
        check("the TCP client sees the browser-side client join",
              tcp.expect(r"joined$") == "* %s joined" % ws_nick)

        await ws.send("/nick pyws")
        await ws_expect(ws, r"pyws")
        check("a nick change reaches the TCP client",
              tcp.expect(r"is now known as") == "* %s is now known as pyws" % ws_nick)

        await ws.send("hello from <b>python</b>")
        check("websockets -> TCP, HTML literal",
              tcp.expect(r"^<pyws>") == "<pyws> hello from <b>python</b>")

        tcp.send("hello from telnet, caf\u00e9 \u20ac")
        got = await ws_expect(ws, r"^<%s>" % re.escape(tcp_nick))
        check("TCP -> websockets, UTF-8 intact", got == "<%s> hello from telnet, caf\u00e9 \u20ac" % tcp_nick, got)

        await ws.send("/who")
        who = await ws_expect(ws, r"^\* in lobby:")
        check("/who lists both", "pyws" in who and tcp_nick in who, who)

        pong = await ws.ping(b"are you there")
        try:
            await asyncio.wait_for(pong, PATIENCE)
            check("the server answers a ping", True)
        except asyncio.TimeoutError:
            check("the server answers a ping", False)

        await ws.send("/quit see you")
        try:
            await asyncio.wait_for(ws.wait_closed(), PATIENCE)
        except asyncio.TimeoutError:
            pass
        check("/quit closes with 1000", ws.close_code == 1000, "code %r" % ws.close_code)
        check("the TCP client sees the quit", tcp.expect(r"left") == "* pyws left (quit: see you)")

    try:
        async with websockets.connect(url, origin="http://evil.example", open_timeout=PATIENCE):
            check("a foreign Origin is refused", False, "connected")
    except websockets.exceptions.InvalidStatusCode as e:
        check("a foreign Origin is refused with 403", e.status_code == 403, str(e))
    except Exception as e:  # noqa: BLE001 - any other failure is a failed check
        check("a foreign Origin is refused with 403", False, repr(e))
    tcp.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    args = ap.parse_args()
    server = kit.ServerProcess([args.server], PATIENCE, prefix="chatroom-pyws-")
    try:
        server.start("--port", "0", "--web-port", "0", "--bind", "127.0.0.1", "--web-bind", "127.0.0.1",
                     want=("tcp", "web"))
        asyncio.run(chat(server))
    except Exception as e:  # noqa: BLE001 - reported, then the run fails
        check("the conversation ran to its end", False, repr(e))
    finally:
        server.stop(must_stop=False)
        server.close()
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
