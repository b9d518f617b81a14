#!/usr/bin/python3
"""The JSON dialect end to end (docs/web-protocol.md): Debian's python3-websockets
asking for the subprotocol chatroom.v1, and a telnet-style TCP client, in the
same rooms of chatroom-server.

Usage: test_json_client.py --server PATH/TO/chatroom-server

Starts `SERVER --port 0 --web-port 0 --bind 127.0.0.1 --web-bind 127.0.0.1
--history 5`, with `--history-db TMP/history.db` when given --with-store
(a server built with SQLite), and checks, as a bot author would
read them: the subprotocol is chosen, the hello comes first, then welcome and
joined_room; the kept history is replayed to a joiner as events with ids and
times; events from the TCP client arrive as typed objects (joined, chat,
action, renamed, private, left) with ids that grow and ISO 8601 UTC times
with milliseconds; the JSON client's commands (say with two lines, me, msg,
nick, who, rooms, join, history, quit); several rooms at once (join adds a
room, say and who name theirs, part leaves one, a command for a room left is
refused with not_in_room) reach the TCP client as the line
protocol has them; bad input (not JSON, unknown type, missing field, a field
of the wrong type, a taken nick) is answered with error objects carrying
their codes, and the connection stays usable. A client that asks for no
subprotocol still gets the line protocol.

Every wait has a deadline; prints PASS/FAIL per check and "N passed, M failed";
exits 1 on any failure.
"""
import argparse
import asyncio
import datetime
import json
import os
import re
import sys
import tempfile
import time

import websockets

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import chatroom_testkit as kit  # noqa: E402

PATIENCE = 20.0  # seconds for any one condition; generous for a loaded 2-core machine
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

runner = kit.CheckRunner()
check = runner.record


class LineClient(kit.LineClient):
    def __init__(self, port):
        super().__init__(port, PATIENCE, name="TCP client")

    def expect(self, pattern):
        return self.wait_for(lambda line: re.search(pattern, line), PATIENCE)


async def expect(ws, type_, pred=lambda o: True):
    """The next object of type type_ that pred accepts (others are skipped)."""
    async def loop():
        while True:
            raw = await ws.recv()
            obj = json.loads(raw)
            if obj.get("type") == type_ and pred(obj):
                return obj
    return await asyncio.wait_for(loop(), PATIENCE)


def recent(iso):
    """An ISO time within two minutes of now."""
    if not ISO_MS.match(iso or ""):
        return False
    t = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()) < 120


async def conversation(server):
    web = "ws://127.0.0.1:%d/ws" % server.ports["web"]

    # Someone spoke before the JSON client came: the history it is replayed.
    early = LineClient(server.ports["tcp"])
    early.greet()
    early.send("said before you came")
    early.send("/who")  # answered after the line before it is in the room's log
    early.expect(r"^\* in lobby:")

    async with websockets.connect(web, subprotocols=["chatroom.v1"], open_timeout=PATIENCE,
                                  close_timeout=PATIENCE) as ws:
        check("the server chooses chatroom.v1", ws.subprotocol == "chatroom.v1", repr(ws.subprotocol))
        first = json.loads(await asyncio.wait_for(ws.recv(), PATIENCE))
        check("the first message is the hello, protocol 1",
              first.get("type") == "hello" and first.get("protocol") == 1, repr(first))
        welcome = await expect(ws, "welcome")
        nick = welcome["nick"]
        check("welcome names a guest nick", re.match(r"^guest-\d+$", nick) is not None, repr(welcome))
        joined = await expect(ws, "joined_room")
        check("joined_room: the lobby and its members", joined.get("room") == "lobby" and joined.get("members") == 2,
              repr(joined))
        past = await expect(ws, "chat")
        check("the kept history is replayed as chat events with id and time",
              past.get("text") == "said before you came" and past.get("id", "").isdigit() and recent(past.get("time")),
              repr(past))

        tcp = LineClient(server.ports["tcp"])
        tcp_nick = tcp.expect(r"^\* welcome to ").rsplit(" ", 1)[1]
        tcp.expect(r"^\* joined lobby")
        came = await expect(ws, "joined")
        check("a TCP client's arrival is a joined event",
              came.get("nick") == tcp_nick and came.get("room") == "lobby" and recent(came.get("time")), repr(came))

        tcp.send("hello <b>json</b>, caf\u00e9")
        chat = await expect(ws, "chat", lambda o: o.get("nick") == tcp_nick)
        check("TCP -> JSON: a chat event with room, nick, text as typed",
              chat.get("room") == "lobby" and chat.get("text") == "hello <b>json</b>, caf\u00e9", repr(chat))
        check("the chat event has a time in ISO 8601 UTC with ms", recent(chat.get("time")), repr(chat))
        tcp.send("/me waves")
        action = await expect(ws, "action")
        check("/me is an action event, not a chat line", action.get("text") == "waves" and action.get("nick") == tcp_nick,
              repr(action))
        check("ids grow in the room's order", int(action["id"]) > int(chat["id"]) > int(past["id"]),
              "%s %s %s" % (past.get("id"), chat.get("id"), action.get("id")))

        await ws.send(json.dumps({"type": "echo"}))
        await ws.send(json.dumps({"type": "say", "room": "lobby", "text": "first line\nsecond <line>"}))
        check("JSON say -> TCP, line one", tcp.expect(r"^<%s>" % nick) == "<%s> first line" % nick)
        check("JSON say -> TCP, line two", tcp.expect(r"^<%s>" % nick) == "<%s> second <line>" % nick)
        mine = await expect(ws, "chat")
        check("own say -> the sender gets it back: one chat event, id after the others', time, own",
              mine.get("nick") == nick and mine.get("text") == "first line\nsecond <line>" and
              mine.get("own") is True and int(mine.get("id", "0")) > int(action["id"]) and recent(mine.get("time")),
              repr(mine))
        await ws.send(json.dumps({"type": "me", "text": "nods"}))
        check("JSON me -> TCP action", tcp.expect(r"^\* %s " % nick) == "* %s nods" % nick)
        mine_act = await expect(ws, "action")
        check("own me -> an action event back, own, next id",
              mine_act.get("nick") == nick and mine_act.get("text") == "nods" and mine_act.get("own") is True and
              int(mine_act["id"]) > int(mine["id"]), repr(mine_act))
        await ws.send(json.dumps({"type": "msg", "to": tcp_nick, "text": "just you"}))
        check("JSON msg -> TCP private", tcp.expect(r"^\*%s\*" % nick) == "*%s* just you" % nick)
        mine_priv = await expect(ws, "private")
        check("own msg -> a private event back, to the one it went to, own",
              mine_priv.get("nick") == nick and mine_priv.get("to") == tcp_nick and mine_priv.get("own") is True and
              mine_priv.get("text") == "just you", repr(mine_priv))
        tcp.send("/msg %s right back" % nick)
        priv = await expect(ws, "private")
        check("others' events carry no own mark", "own" not in priv and "own" not in chat, repr(priv))
        check("TCP /msg -> a private event", priv.get("nick") == tcp_nick and priv.get("to") == nick and
              priv.get("text") == "right back" and "room" not in priv, repr(priv))

        await ws.send(json.dumps({"type": "nick", "nick": "bot"}))
        check("JSON nick -> the TCP client sees the rename",
              tcp.expect(r"known as") == "* %s is now known as bot" % nick)
        tcp.send("/nick telly")
        renamed = await expect(ws, "renamed", lambda o: o.get("nick") == "telly")
        check("a rename is a renamed event with old_nick", renamed.get("old_nick") == tcp_nick, repr(renamed))

        await ws.send(json.dumps({"type": "who"}))
        who = await expect(ws, "who")
        check("who lists the room's names", who.get("room") == "lobby" and set(who.get("names", [])) >= {"bot", "telly"},
              repr(who))
        await ws.send(json.dumps({"type": "rooms"}))
        rooms = await expect(ws, "rooms")
        check("rooms lists the lobby with its members",
              any(r.get("name") == "lobby" and r.get("members") == 3 for r in rooms.get("rooms", [])), repr(rooms))
        # The history comes from the rooms' rings, or from the SQLite store with
        # --with-store, which commits in batches: ask until the last line is in.
        deadline = asyncio.get_running_loop().time() + PATIENCE
        while True:
            await ws.send(json.dumps({"type": "history", "limit": 2}))
            hist = await expect(ws, "history")
            lines = hist.get("lines", [])
            if (lines and lines[-1].get("text") == "nods") or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.1)  # polling a store's commit, with a deadline; not synchronization
        check("history: the last lines with times, the action marked",
              hist.get("room") == "lobby" and len(lines) == 2 and lines[-1].get("type") == "action" and
              lines[-1].get("text") == "nods" and all(recent(l.get("time")) for l in lines), repr(hist))
        check("history: more lie before a page of 2", hist.get("more") is True, repr(hist))
        await ws.send(json.dumps({"type": "history", "before": lines[0].get("id"), "limit": 100}))
        older = await expect(ws, "history")
        check("history before the first id: the rest, and nothing more beyond",
              older.get("lines") and older.get("more") is False and
              all(l.get("id") != lines[0].get("id") for l in older.get("lines")), repr(older))

        # Bad input: error objects with codes, and the connection goes on.
        await ws.send("{not json")
        err = await expect(ws, "error")
        check("not JSON -> error bad_json", err.get("code") == "bad_json" and "at byte" in err.get("text", ""), repr(err))
        await ws.send(json.dumps({"type": "dance"}))
        err = await expect(ws, "error")
        check("an unknown type -> error unknown_type", err.get("code") == "unknown_type", repr(err))
        await ws.send(json.dumps({"type": "msg", "to": "telly"}))
        err = await expect(ws, "error")
        check("a missing field -> error bad_request", err.get("code") == "bad_request" and "text" in err.get("text", ""),
              repr(err))
        await ws.send(json.dumps({"type": "history", "limit": "ten"}))
        err = await expect(ws, "error")
        check("a field of the wrong type -> error bad_request", err.get("code") == "bad_request", repr(err))
        await ws.send(json.dumps({"type": "nick", "nick": "telly"}))
        err = await expect(ws, "error")
        check("the core's refusal -> error nick_taken with its subject",
              err.get("code") == "nick_taken" and err.get("subject") == "telly" and err.get("text") == "nick taken: telly",
              repr(err))
        await ws.send(json.dumps({"type": "say", "text": "still here"}))
        check("after the errors the JSON client still speaks", tcp.expect(r"^<bot>") == "<bot> still here")

        await ws.send(json.dumps({"type": "join", "room": "dev"}))
        entered = await expect(ws, "joined_room")
        check("join -> joined_room dev", entered.get("room") == "dev" and entered.get("members") == 1, repr(entered))
        tcp.send("/join dev")
        tcp.expect(r"^\* joined dev")
        came = await expect(ws, "joined")
        check("the TCP client joining dev is a joined event in dev",
              came.get("room") == "dev" and came.get("nick") == "telly", repr(came))
        tcp.send("in dev now")
        chat = await expect(ws, "chat")
        check("chat in dev carries room dev", chat.get("room") == "dev" and chat.get("text") == "in dev now", repr(chat))

        # Several rooms at once: join added dev to the lobby.
        early.send("still in the lobby")
        chat = await expect(ws, "chat")
        check("in two rooms: the lobby's chat still arrives, with room lobby",
              chat.get("room") == "lobby" and chat.get("text") == "still in the lobby", repr(chat))
        await ws.send(json.dumps({"type": "say", "room": "lobby", "text": "to the lobby"}))
        check("say with room lobby reaches the lobby", early.expect(r"^<bot> to") == "<bot> to the lobby")
        await ws.send(json.dumps({"type": "say", "room": "dev", "text": "to dev"}))
        check("say with room dev reaches dev", tcp.expect(r"^<bot>") == "<bot> to dev")
        await ws.send(json.dumps({"type": "who", "room": "lobby"}))
        who = await expect(ws, "who")
        check("who with a room names that room's members",
              who.get("room") == "lobby" and "bot" in who.get("names", []) and "telly" not in who.get("names", []),
              repr(who))
        await ws.send(json.dumps({"type": "part", "room": "lobby", "reason": "busy"}))
        check("part: the lobby sees the JSON client leave with its reason",
              early.expect(r"^\* bot left") == "* bot left (busy)")
        left = await expect(ws, "left_room")
        check("part is answered left_room with the room", left.get("room") == "lobby", repr(left))
        await ws.send(json.dumps({"type": "say", "room": "lobby", "text": "after part"}))
        err = await expect(ws, "error")
        check("after part, say to the lobby -> error not_in_room",
              err.get("code") == "not_in_room" and err.get("subject") == "lobby", repr(err))
        early.send("unheard in the lobby")
        early.send("/who")  # answered after the line before it went to the lobby's members
        early.expect(r"^\* in lobby:")
        tcp.send("heard in dev")
        chat = await expect(ws, "chat")
        check("after part, the lobby's lines no longer arrive",
              chat.get("room") == "dev" and chat.get("text") == "heard in dev", repr(chat))

        await ws.send(json.dumps({"type": "quit", "reason": "done"}))
        try:
            await asyncio.wait_for(ws.wait_closed(), PATIENCE)
        except asyncio.TimeoutError:
            pass
        check("quit closes with 1000", ws.close_code == 1000, "code %r" % ws.close_code)
        check("the TCP client sees the JSON client leave", tcp.expect(r"left") == "* bot left (quit: done)")

    # No subprotocol asked for: the line protocol, as before.
    async with websockets.connect(web, open_timeout=PATIENCE, close_timeout=PATIENCE) as plain:
        check("no subprotocol offered: none chosen", plain.subprotocol is None, repr(plain.subprotocol))
        line = await asyncio.wait_for(plain.recv(), PATIENCE)
        check("no subprotocol offered: the line protocol", line.startswith("* welcome to "), line)
    tcp.close()
    early.close()


async def away_and_back(server):
    """A client that was away asks for what it missed after the last id it saw, and gets it once."""
    web = "ws://127.0.0.1:%d/ws" % server.ports["web"]
    tcp = LineClient(server.ports["tcp"])
    tcp.greet()
    tcp.send("/join news")
    tcp.expect(r"^\* joined news")
    async with websockets.connect(web, subprotocols=["chatroom.v1"], open_timeout=PATIENCE) as ws:
        await ws.send(json.dumps({"type": "join", "room": "news"}))
        await expect(ws, "joined_room", lambda o: o.get("room") == "news")
        tcp.send("seen before leaving")
        last_seen = await expect(ws, "chat", lambda o: o.get("room") == "news")
    # Away: the room goes on without it.
    missed = ["missed %d" % i for i in range(1, 5)]  # with the line seen: the 5 a ring keeps (--history 5)
    for text in missed:
        tcp.send(text)
    tcp.send("/who")  # answered once every line before it is ordered
    tcp.expect(r"^\* in news:")
    async with websockets.connect(web, subprotocols=["chatroom.v1"], open_timeout=PATIENCE) as ws:
        await ws.send(json.dumps({"type": "join", "room": "news"}))
        await expect(ws, "joined_room", lambda o: o.get("room") == "news")
        # A store commits in batches: ask until the last line said is in it.
        page = {}
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            await ws.send(json.dumps({"type": "history", "room": "news", "after": last_seen["id"]}))
            page = await expect(ws, "history")
            if [line.get("text") for line in page.get("lines", [])][-1:] == missed[-1:]:
                break
            await asyncio.sleep(0.05)
        texts = [line.get("text") for line in page.get("lines", [])]
        check("history after the last id seen: exactly what was missed, in order, once", texts == missed, repr(texts))
        ids = [int(line["id"]) for line in page.get("lines", [])]
        # Lines read together are one message, and share its id.
        check("the missed lines carry ids in order, past the last one seen",
              ids == sorted(ids) and ids and ids[0] > int(last_seen["id"]), repr(ids))
        await ws.send(json.dumps({"type": "history", "room": "news", "before": str(ids[0]), "limit": 1}))
        older = await expect(ws, "history")
        check("history before the first missed id, limit 1: the line seen before leaving",
              [line.get("text") for line in older.get("lines", [])] == ["seen before leaving"], repr(older))
        await ws.send(json.dumps({"type": "history", "room": "news", "before": "1", "after": "2"}))
        err = await expect(ws, "error")
        check("history with before and after -> error bad_request", err.get("code") == "bad_request", repr(err))
        await ws.send(json.dumps({"type": "history", "room": "news", "after": "not-an-id"}))
        err = await expect(ws, "error")
        check("history after an id that is not one -> an error, nothing asked", err.get("type") == "error", repr(err))
    tcp.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--with-store", action="store_true", help="the server was built with SQLite: --history-db")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="chatroom-json-")
    server = kit.ServerProcess([args.server], PATIENCE, prefix="chatroom-json-")
    store = ["--history-db", os.path.join(tmp.name, "history.db")] if args.with_store else []
    try:
        server.start("--port", "0", "--web-port", "0", "--bind", "127.0.0.1", "--web-bind", "127.0.0.1",
                     "--history", "5", *store, want=("tcp", "web"))
        asyncio.run(conversation(server))
        asyncio.run(away_and_back(server))
    except Exception as e:  # noqa: BLE001 - reported, then the run fails
        check("the conversation ran to its end", False, repr(e))
    finally:
        server.stop(must_stop=False)
        server.close()
        tmp.cleanup()
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
