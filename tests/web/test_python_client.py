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
import signal
import socket
import subprocess
import sys
import tempfile
import time

import websockets
import websockets.exceptions

PATIENCE = 20.0  # seconds for any one condition; generous for a loaded 2-core machine

results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(("PASS " if ok else "FAIL ") + name + ("" if ok or not detail else ": " + detail), flush=True)
    return ok


def parse_ports(text):
    tcp = web = None
    for line in text.splitlines():
        m = re.search(r"listening on (https?://)?(?:\[[^\]\s]*\]|[^\s\[\]/:]+):(\d+)", line)
        if not m:
            continue
        if m.group(1) or re.search(r"\(web\b", line):
            web = int(m.group(2))
        else:
            tcp = int(m.group(2))
    return tcp, web


class Server:
    def __init__(self, binary):
        self.log = tempfile.NamedTemporaryFile(prefix="chatroom-pyws-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--web-port", "0", "--bind", "127.0.0.1", "--web-bind", "127.0.0.1"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + PATIENCE
        self.tcp_port = self.web_port = None
        while time.monotonic() < deadline and self.proc.poll() is None:
            with open(self.log.name, encoding="utf-8", errors="replace") as f:
                self.tcp_port, self.web_port = parse_ports(f.read())
            if self.tcp_port and self.web_port:
                return
            time.sleep(0.05)
        raise RuntimeError("server did not report both ports:\n" + open(self.log.name).read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(PATIENCE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.unlink(self.log.name)


class LineClient:
    """A telnet-style client: CRLF lines out, lines in, each wait bounded."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
        self.buf = b""

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def read_line(self):
        deadline = time.monotonic() + PATIENCE
        while b"\n" not in self.buf:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8")

    def expect(self, pattern):
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            line = self.read_line()
            if re.search(pattern, line):
                return line
        raise TimeoutError("no line matching " + pattern)

    def close(self):
        self.sock.close()


async def ws_expect(ws, pattern):
    async def loop():
        while True:
            line = await ws.recv()
            if re.search(pattern, line):
                return line
    return await asyncio.wait_for(loop(), PATIENCE)


async def chat(server):
    tcp = LineClient(server.tcp_port)
    hello = tcp.expect(r"^\* welcome to ")
    tcp_nick = hello.rsplit(" ", 1)[1]
    tcp.expect(r"^\* joined lobby")

    url = "ws://127.0.0.1:%d/ws" % server.web_port
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
    server = Server(args.server)
    try:
        asyncio.run(chat(server))
    except Exception as e:  # noqa: BLE001 - reported, then the run fails
        check("the conversation ran to its end", False, repr(e))
    finally:
        server.stop()
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
