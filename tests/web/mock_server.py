#!/usr/bin/python3
"""A stand-in chatroom-server for developing the chat page. Dev tool only.

It is NOT the server and tests nothing about it: it lets the page and
tests/web/test_browser.py (run with --mock) be exercised before, or without,
a built chatroom-server. It takes the same flags the browser test passes:

    mock_server.py [--port P] [--web-port W] [--bind ADDR] [--web-bind ADDR] [--name NAME] [--header FILE]

and logs the same startup lines on stderr ("listening on ADDR:PORT (tcp)",
"listening on http://ADDR:PORT (web)"). The web listener serves the page
extracted from include/chatroom/web/detail/page.hpp with its
Content-Security-Policy at GET /, "ok" at GET /healthz, 404 otherwise, and
upgrades GET /ws (same-origin only) to a WebSocket carrying one line per text
message. The TCP listener speaks CRLF lines. Both share rooms implementing a
subset of docs/protocol.md: welcome and lobby, chat, /nick, /join, /who,
/rooms, /me, /msg, /quit, /help, unknown commands. SIGTERM sends
"* server shutting down" to everyone, closes WebSockets with 1001, exits 0.
Needs Debian's python3-websockets (10.x, legacy server API).
"""
import argparse
import asyncio
import http
import os
import re
import signal
import sys
import time

import websockets
import websockets.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_web_page  # noqa: E402  (the same extraction the static test checks)

HEADER = os.path.join(HERE, "..", "..", "include", "chatroom", "detail", "web_page.hpp")
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
HELP = ["* commands:", "*   /nick NAME", "*   /join ROOM", "*   /who", "*   /rooms", "*   /me ACTION",
        "*   /msg NICK TEXT", "*   /quit [REASON]", "*   /help"]


def log(text):
    sys.stderr.write("%s mock %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), text))
    sys.stderr.flush()


class Member:
    def __init__(self, hub, address):
        self.hub, self.address = hub, address
        self.nick, self.room = None, None
        self.out = asyncio.Queue()
        self.closing = False

    def send(self, line):
        if not self.closing:
            self.out.put_nowait(line)

    def close(self, code=1000):
        if not self.closing:
            self.closing = True
            self.out.put_nowait((code,))


class Hub:
    def __init__(self, name):
        self.name = name
        self.nicks = {}   # folded nick -> member
        self.rooms = {}   # folded room -> (display name, [members])
        self.guests = 0
        self.stopping = False
        self.pumps = set()  # writer tasks, awaited at shutdown so the last lines go out

    def attach(self, m):
        while True:
            self.guests += 1
            nick = "guest-%d" % self.guests
            if nick.lower() not in self.nicks:
                break
        m.nick = nick
        self.nicks[nick.lower()] = m
        log("connect %s from %s" % (nick, m.address))
        m.send("* welcome to %s, you are %s" % (self.name, nick))
        self.enter(m, "lobby")

    def members(self, room):
        return self.rooms[room.lower()][1]

    def broadcast(self, room, line, except_=None):
        for x in list(self.members(room)):
            if x is not except_:
                x.send(line)

    def enter(self, m, room):
        key = room.lower()
        if key not in self.rooms:
            self.rooms[key] = (room, [])
        display, members = self.rooms[key]
        self.broadcast(display, "* %s joined" % m.nick)
        members.append(m)
        m.room = display
        m.send("* joined %s (%d member%s)" % (display, len(members), "" if len(members) == 1 else "s"))

    def leave_room(self, m, reason=None):
        if m.room is None:
            return
        display, members = self.rooms[m.room.lower()]
        members.remove(m)
        m.room = None
        if members and not self.stopping:
            self.broadcast(display, "* %s left%s" % (m.nick, " (%s)" % reason if reason else ""))
        if not members:
            del self.rooms[display.lower()]

    def detach(self, m, reason=None):
        if m.nick is None:
            return
        self.leave_room(m, reason)
        self.nicks.pop(m.nick.lower(), None)
        log("disconnect %s%s" % (m.nick, " (%s)" % reason if reason else ""))
        m.nick = None

    def line(self, m, raw):
        text = CONTROL_RE.sub("", raw)
        if not text or m.nick is None:
            return
        if not text.startswith("/") or text.startswith("//"):
            self.broadcast(m.room, "<%s> %s" % (m.nick, text[1:] if text.startswith("//") else text), m)
            return
        word, _, rest = text[1:].partition(" ")
        rest = rest.strip()
        cmd = word.lower()
        if cmd == "nick":
            if not NAME_RE.match(rest):
                m.send("! bad nick: use 1-32 of A-Z a-z 0-9 _ . -")
            elif rest.lower() in self.nicks and self.nicks[rest.lower()] is not m:
                m.send("! nick taken: %s" % rest)
            elif rest != m.nick:
                old = m.nick
                del self.nicks[old.lower()]
                m.nick = rest
                self.nicks[rest.lower()] = m
                self.broadcast(m.room, "* %s is now known as %s" % (old, rest))
        elif cmd == "join":
            room = rest[1:].strip() if rest.startswith("#") else rest
            if not NAME_RE.match(room):
                m.send("! bad room name: use 1-32 of A-Z a-z 0-9 _ . -")
            elif room.lower() == m.room.lower():
                m.send("* you are already in %s" % m.room)
            else:
                self.leave_room(m)
                self.enter(m, room)
        elif cmd == "who":
            names = sorted((x.nick for x in self.members(m.room)), key=str.lower)
            m.send("* in %s: %s" % (m.room, ", ".join(names)))
        elif cmd == "rooms":
            m.send("* rooms: " + ", ".join("%s (%d)" % (d, len(ms)) for d, ms in sorted(self.rooms.values(),
                                                                                         key=lambda r: r[0])))
        elif cmd == "me":
            if rest:
                self.broadcast(m.room, "* %s %s" % (m.nick, rest), m)
            else:
                m.send("! usage: /me ACTION")
        elif cmd == "msg":
            target, _, body = rest.partition(" ")
            if not target or not body.strip():
                m.send("! usage: /msg NICK TEXT")
            elif target.lower() not in self.nicks:
                m.send("! no such nick: %s" % target)
            else:
                self.nicks[target.lower()].send("*%s* %s" % (m.nick, body.strip()))
        elif cmd == "quit":
            self.detach(m, "quit: %s" % rest if rest else "quit")
            m.close(1000)
        elif cmd == "help":
            for h in HELP:
                m.send(h)
        else:
            m.send("! unknown command: /%s (try /help)" % word)

    def shutdown(self):
        self.stopping = True
        for m in list(self.nicks.values()):
            m.send("* server shutting down")
            self.detach(m, "server shutting down")
            m.close(1001)


async def pump(m, write, close):
    """Writes a member's queued lines in order until it is closed."""
    while True:
        item = await m.out.get()
        if isinstance(item, tuple):
            await close(item[0])
            return
        await write(item)


async def serve_tcp(hub, reader, writer):
    peer = writer.get_extra_info("peername")
    m = Member(hub, "%s:%s" % peer[:2])

    async def write(line):
        writer.write((line + "\r\n").encode())
        await writer.drain()

    async def close(_code):
        writer.close()

    hub.attach(m)
    writer_task = asyncio.ensure_future(pump(m, write, close))
    hub.pumps.add(writer_task)
    writer_task.add_done_callback(hub.pumps.discard)
    try:
        while not m.closing:
            raw = await reader.readline()
            if not raw:
                break
            hub.line(m, raw.decode("utf-8", "replace").rstrip("\n").rstrip("\r"))
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    hub.detach(m)
    m.close()
    await writer_task


def make_web(hub, page, csp, bound):
    async def process_request(path, headers):
        if path == "/ws":
            origin = headers.get("Origin")
            if origin != "http://%s" % headers.get("Host"):
                return http.HTTPStatus.FORBIDDEN, [("Content-Type", "text/plain")], b"forbidden origin\n"
            return None
        if path == "/":
            return http.HTTPStatus.OK, [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Security-Policy", csp),
                ("X-Content-Type-Options", "nosniff"),
                ("Cache-Control", "no-store"),
            ], page.encode("utf-8")
        if path == "/healthz":
            return http.HTTPStatus.OK, [("Content-Type", "text/plain")], b"ok\n"
        return http.HTTPStatus.NOT_FOUND, [("Content-Type", "text/plain")], b"not found\n"

    async def handler(ws, _path=None):
        m = Member(hub, "%s:%s" % ws.remote_address[:2])

        async def write(line):
            await ws.send(line)

        async def close(code):
            await ws.close(code)

        hub.attach(m)
        writer_task = asyncio.ensure_future(pump(m, write, close))
        hub.pumps.add(writer_task)
        writer_task.add_done_callback(hub.pumps.discard)
        try:
            async for message in ws:
                if isinstance(message, str):
                    hub.line(m, message)
        except websockets.exceptions.ConnectionClosed:
            pass
        hub.detach(m)
        m.close()
        try:
            await writer_task
        except websockets.exceptions.ConnectionClosed:
            pass

    return handler, process_request


async def main():
    parser = argparse.ArgumentParser(description="mock chatroom-server for developing the web page")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--web-port", type=int, default=8080)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--web-bind", default="127.0.0.1")
    parser.add_argument("--name", default="chatroom")
    parser.add_argument("--header", default=HEADER, help="the web_page.hpp to serve the page of")
    args = parser.parse_args()

    with open(args.header, encoding="utf-8") as f:
        page, csp = test_web_page.extract(f.read())
    hub = Hub(args.name)
    tcp = await asyncio.start_server(lambda r, w: serve_tcp(hub, r, w), args.bind, args.port)
    tcp_port = tcp.sockets[0].getsockname()[1]
    handler, process_request = make_web(hub, page, csp, args.web_bind)
    web = await websockets.serve(handler, args.web_bind, args.web_port, process_request=process_request,
                                 max_size=8192, compression=None)
    web_port = web.sockets[0].getsockname()[1]
    log("chatroom-server listening on %s:%d (tcp)" % (args.bind, tcp_port))
    log("chatroom-server listening on http://%s:%d (web)" % (args.web_bind, web_port))

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    await stop
    log("received signal, shutting down")
    hub.shutdown()
    if hub.pumps:
        await asyncio.wait(list(hub.pumps), timeout=5)
    tcp.close()
    web.close()
    # Browsers keep idle spare connections open; they are not waited for.
    try:
        await asyncio.wait_for(web.wait_closed(), 2)
    except asyncio.TimeoutError:
        pass


if __name__ == "__main__":
    asyncio.run(main())
