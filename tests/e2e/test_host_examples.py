#!/usr/bin/env python3
"""End to end: the host programs of examples/: game (a game server's chat
embedded in its own io_context) and embed (README's first example).

Usage: test_host_examples.py GAME EMBED
Two players enter match 1's private room through /match (the game moves
them; /join is refused), chat and /roll there; the mirror on the game's
stdout has every line in the order the players saw them, each with an id;
announcements from the game's thread reach the lobby; SIGTERM stops it
cleanly through async_stop. The embedding example prints who joined and
stops on SIGTERM. Prints "N passed, M failed" last.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import chatroom_testkit as kit  # noqa: E402

GAME, EMBED = sys.argv[1], sys.argv[2]
PATIENCE = 20.0


def check_players_chat_and_roll_in_a_match_room_and_the_mirror_keeps_their_order():
    out = tempfile.NamedTemporaryFile(prefix="chatroom-game-", suffix=".out", delete=False)
    game = kit.ServerProcess([GAME], PATIENCE, prefix="chatroom-game-")
    try:
        # stdout (the mirror) to a file of its own; the listening line is on stderr.
        game.argv = ["sh", "-c", 'exec "$0" 0 >"$1"', GAME, out.name]
        game.start()
        a = kit.LineClient(game.port, PATIENCE)
        a.greet()
        b = kit.LineClient(game.port, PATIENCE)
        b.greet()
        a.wait_for(lambda l: l.startswith("* round ") and l.endswith(" begins in the arena"))

        a.send("/join match-1")
        a.wait_for(lambda l: l == "! match-1 is private: ask for an invitation")
        for c in (a, b):
            c.send("/match 1")
            c.wait_for(lambda l: l.startswith("* joined match-1"))
        a.wait_for(lambda l: l == "* %s joined" % b.nick)

        said = ["gg %d" % i for i in range(20)]
        for text in said:
            a.send(text)
        b.send("/roll 20")
        got = [b.wait_for(lambda l, t=t: l == "<%s> %s" % (a.nick, t)) for t in said]
        assert len(got) == len(said)
        roll = a.wait_for(lambda l: l.startswith("<%s> rolls 1d20: " % b.nick))
        assert 1 <= int(roll.rsplit(" ", 1)[1]) <= 20, roll

        b.send("/match 9")
        b.wait_for(lambda l: l == "! no match 9 (matches 1 to 3)")

        mirror_line = re.compile(r"^mirror match-1 #(\d+) @(\d+) (\S+): (.*)$")

        def mirrored():
            with open(out.name) as f:
                rows = [mirror_line.match(l.rstrip("\n")) for l in f]
            rows = [r for r in rows if r]
            return rows if any(r.group(4).startswith("rolls 1d20") for r in rows) else None
        rows = kit.eventually(mirrored, PATIENCE, "the mirror to show the roll")
        from_a = [r.group(4) for r in rows if r.group(3) == a.nick]
        assert from_a == said, from_a
        ids = [int(r.group(1)) for r in rows]
        assert ids == sorted(ids), ids  # the room's order, ids rising (lines of one read share one)

        assert game.stop() == 0
        assert "game: chat stopped, no callback will run again" in game.run_text(), game.run_text()
    finally:
        game.close()
        os.unlink(out.name)


def check_the_embedding_example_reports_joins_and_stops_on_sigterm():
    out = tempfile.NamedTemporaryFile(prefix="chatroom-embed-", suffix=".out", delete=False)
    server = kit.ServerProcess(["sh", "-c", 'exec "$0" 0 >"$1"', EMBED, out.name], PATIENCE, prefix="chatroom-embed-")
    try:
        server.start()
        a = kit.LineClient(server.port, PATIENCE)
        a.greet()
        a.send("/nick ada")
        a.wait_for(lambda l: l.endswith(" is now known as ada"))
        a.send("/join lab-bench")
        a.wait_for(lambda l: l.startswith("* joined lab-bench"))

        assert server.stop() == 0  # its stdout is a file, so printf's buffer is written at exit
        a.until_closed()
        with open(out.name) as f:
            printed = f.read()
        assert re.search(r"^guest-\d+ joined lobby$", printed, re.M), printed
        assert "ada joined lab-bench\n" in printed, printed
    finally:
        server.close()
        os.unlink(out.name)


def main():
    runner = kit.CheckRunner()
    for name, check in sorted(globals().items()):
        if name.startswith("check_"):
            runner.run(name, check)
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
