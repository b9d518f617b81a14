#!/usr/bin/python3
"""IRCv3 batch and draft/chathistory on chatroom-server --irc-port, beside a telnet user.

Usage: test_irc_chathistory.py PATH/TO/chatroom-server

Starts `SERVER --port 0 --irc-port 0 --bind 127.0.0.1 --history 60 --history-page 50` and checks:
CAP LS offers batch and draft/chathistory, 005 says CHATHISTORY=50 and
MSGREFTYPES=msgid,timestamp; a telnet user's lines, seen live by an IRC
watcher with their msgid and time, come back to a joiner that negotiated
batch as a `chathistory` batch with those ids and times, and plainly to a
client without capabilities; CHATHISTORY LATEST, BEFORE, AFTER, BETWEEN (both
ways), AROUND by msgid and by timestamp answer the lines the spec says, as
PRIVMSG (CTCP ACTION for /me) in a batch; the errors are FAIL CHATHISTORY
(INVALID_TARGET, INVALID_PARAMS, NEED_MORE_PARAMS); the limit is capped at
--history-page. Then, when the server has SQLite (--history-db), the same
LATEST answered from the store after a restart. Every wait has a deadline;
exits 1 on any failure.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import chatroom_testkit as kit  # noqa: E402

PATIENCE = 20.0
runner = kit.CheckRunner(tracebacks=False)
CAPS = "batch server-time message-tags draft/chathistory"


class IrcClient(kit.IrcClient):
    """The kit's raw IRC client, registered up to the end of the MOTD."""

    def __init__(self, port, name):
        super().__init__(port, name, PATIENCE)

    def register(self, nick, caps=None):
        return super().register(nick, caps, to_motd_end=True)

    def batch(self):
        """The next chathistory batch: its target and its lines (tags parsed), in order."""
        start = self.expect(r"^:\S+ BATCH \+\S+ chathistory ")
        ref, target = re.match(r"^:\S+ BATCH \+(\S+) chathistory (\S+)$", start).groups()
        _, inner = self.read_until(lambda l: re.match(r"^:\S+ BATCH -%s$" % re.escape(ref), l))
        lines = [parse(l) for l in inner]
        for l in lines:
            assert l["tags"].get("batch") == ref, (l, ref)
        return target, lines


def parse(line):
    tags = {}
    if line.startswith("@"):
        head, line = line.split(" ", 1)
        tags = dict(t.split("=", 1) for t in head[1:].split(";"))
    m = re.match(r"^:(\S+?)!\S+ PRIVMSG (\S+) :(.*)$", line)
    return {"tags": tags, "nick": m.group(1) if m else None, "target": m.group(2) if m else None,
            "text": m.group(3) if m else line}


def texts(lines):
    return [l["text"] for l in lines]


def main():
    server = kit.ServerProcess([sys.argv[1], "--port", "0", "--irc-port", "0", "--bind", "127.0.0.1",
                                "--history", "60", "--history-page", "50"], PATIENCE)
    server.start(want=("tcp", "irc"))
    irc_port, tcp_port = server.ports["irc"], server.ports["tcp"]
    watcher = IrcClient(irc_port, "watcher (IRC, tags)")
    bob = kit.LineClient(tcp_port, PATIENCE, name="bob (telnet)")
    said = []  # what the watcher saw live: text, msgid, time

    def offered():
        ls = watcher.register("watcher", "server-time message-tags")
        for cap in ("batch", "draft/chathistory"):
            assert cap in ls.split(":", 2)[-1].split(), ls
        isupport = [l for l in watcher.seen if " 005 watcher " in l]
        assert any("CHATHISTORY=50" in l and "MSGREFTYPES=msgid,timestamp" in l for l in isupport), isupport
        watcher.send("JOIN #dev")
        watcher.expect(r" 366 watcher #dev ")
        bob.greet()
        bob.send("/nick bob")
        bob.wait_for(lambda l: "is now known as bob" in l)
        bob.send("/join dev")
        bob.wait_for(lambda l: l.startswith("* joined dev"))
        for i in range(8):  # one at a time: lines of one read would be one message
            bob.send("/me waves" if i == 5 else "line %d" % i)
            live = parse(watcher.expect(r"PRIVMSG #dev :"))
            said.append((live["text"], live["tags"]["msgid"], live["tags"]["time"]))
            time.sleep(0.003)  # distinct milliseconds, for the timestamp= references (as irctest does)
        assert said[5][0] == "\x01ACTION waves\x01", said
        assert len({s[1] for s in said}) == 8 and len({s[2] for s in said}) == 8, said
    runner.run("CAP LS offers batch and draft/chathistory; 005 CHATHISTORY=50 MSGREFTYPES=msgid,timestamp; "
               "the watcher sees the telnet user's 8 lines with msgid and time", offered, fatal=True)

    alice = IrcClient(irc_port, "alice (IRC, batch)")

    def join_replay():
        alice.register("alice", CAPS)
        alice.send("JOIN #dev")
        alice.expect(r" JOIN #dev$")
        target, lines = alice.batch()
        assert target == "#dev", target
        # The replay carries the ids and times the lines were said with.
        assert [(l["text"], l["tags"]["msgid"], l["tags"]["time"]) for l in lines] == said, (lines, said)
        alice.expect(r" 353 alice = #dev :")  # the batch ended before the names
        carol = IrcClient(irc_port, "carol (IRC, no caps)")
        carol.register("carol")
        carol.send("JOIN #dev")
        _, before = carol.read_until(lambda l: " 353 carol " in l)
        replay = [l for l in before if " PRIVMSG " in l]
        assert replay == [":bob!bob@chatroom.irc PRIVMSG #dev :" + s[0] for s in said], replay
        assert not any("BATCH" in l or l.startswith("@") for l in before), before
        carol.close()
    runner.run("JOIN replay: a client with batch gets the room's past in a chathistory batch with the original "
               "msgids and times, before NAMES; one without capabilities the plain lines", join_replay)

    def ask(line):
        alice.send(line)
        target, lines = alice.batch()
        assert target == "#dev", target
        for l in lines:
            assert l["nick"] == "bob" and l["target"] == "#dev", l
        return texts(lines)

    def subcommands():
        t = [s[0] for s in said]
        ids = ["msgid=" + s[1] for s in said]
        ts = ["timestamp=" + s[2] for s in said]
        assert ask("CHATHISTORY LATEST #dev * 100") == t
        assert ask("CHATHISTORY LATEST #dev * 3") == t[-3:]
        assert ask("CHATHISTORY LATEST #dev %s 10" % ids[4]) == t[5:]
        assert ask("CHATHISTORY LATEST #dev %s 10" % ts[4]) == t[5:]
        assert ask("CHATHISTORY BEFORE #dev %s 10" % ids[6]) == t[:6]
        assert ask("CHATHISTORY BEFORE #dev %s 2" % ts[6]) == t[4:6]
        assert ask("CHATHISTORY AFTER #dev %s 10" % ids[3]) == t[4:]
        assert ask("CHATHISTORY AFTER #dev %s 3" % ts[3]) == t[4:7]
        assert ask("CHATHISTORY BETWEEN #dev %s %s 10" % (ids[0], ids[7])) == t[1:7]
        assert ask("CHATHISTORY BETWEEN #dev %s %s 2" % (ids[7], ids[0])) == t[5:7]
        assert ask("CHATHISTORY BETWEEN #dev %s %s 2" % (ts[0], ts[7])) == t[1:3]
        assert ask("CHATHISTORY AROUND #dev %s 3" % ids[5]) == t[4:7]
        assert ask("chathistory latest #DEV * 1") == t[-1:]  # IRC words in any case, ASCII case folding
        alice.send("CHATHISTORY LATEST #dev * 1")
        line = alice.expect(r"PRIVMSG #dev :")
        assert re.match(r"^@batch=\S+;msgid=%s;time=%s :bob!" % (re.escape(said[7][1]), re.escape(said[7][2])),
                        line), line
    runner.run("CHATHISTORY LATEST/BEFORE/AFTER/BETWEEN/AROUND by msgid and timestamp answer the spec's lines, "
               "bounds excluded, in a batch with @batch, @msgid, @time", subcommands)

    def errors():
        cases = [("CHATHISTORY LATEST #nowhere * 10", r"FAIL CHATHISTORY INVALID_TARGET LATEST #nowhere :"),
                 ("CHATHISTORY LATEST bob * 10", r"FAIL CHATHISTORY INVALID_TARGET LATEST bob :"),
                 ("CHATHISTORY LATEST #dev msgid=x 10", r"FAIL CHATHISTORY INVALID_PARAMS LATEST msgid=x :"),
                 ("CHATHISTORY BEFORE #dev * 10", r"FAIL CHATHISTORY INVALID_PARAMS BEFORE \* :"),
                 ("CHATHISTORY LATEST #dev * ten", r"FAIL CHATHISTORY INVALID_PARAMS LATEST ten :"),
                 ("CHATHISTORY BETWEEN #dev msgid=1 timestamp=2026-01-01T00:00:00Z 5",
                  r"FAIL CHATHISTORY INVALID_PARAMS BETWEEN timestamp=\S+ :"),
                 ("CHATHISTORY SIDEWAYS #dev * 1", r"FAIL CHATHISTORY INVALID_PARAMS SIDEWAYS :"),
                 ("CHATHISTORY TARGETS timestamp=2026-01-01T00:00:00Z timestamp=2027-01-01T00:00:00Z 5",
                  r"FAIL CHATHISTORY INVALID_PARAMS TARGETS :"),
                 ("CHATHISTORY AFTER #dev", r"FAIL CHATHISTORY NEED_MORE_PARAMS AFTER :")]
        for line, pattern in cases:
            alice.send(line)
            alice.expect("^:chatroom.irc " + pattern)
        # A room it is not in: bob's, with lines in it.
        bob.send("/join ops")
        bob.wait_for(lambda l: l.startswith("* joined ops"))
        bob.send("secret")
        alice.send("CHATHISTORY LATEST #ops * 10")
        alice.expect(r"^:chatroom.irc FAIL CHATHISTORY INVALID_TARGET LATEST #ops :")
        bob.send("/join dev")
        bob.wait_for(lambda l: l.startswith("* joined dev"))
    runner.run("CHATHISTORY errors: FAIL INVALID_TARGET (no such channel, a nick, a channel not joined), "
               "INVALID_PARAMS (reference, limit, mixed kinds, subcommand, TARGETS), NEED_MORE_PARAMS", errors)

    def page_cap():
        for i in range(60):
            bob.send("more %d" % i)
            watcher.expect(r"PRIVMSG #dev :more %d$" % i)
        got = ask("CHATHISTORY LATEST #dev * 500")
        assert len(got) == 50 and got[-1] == "more 59", got  # --history-page 50 of the 60 kept
    runner.run("CHATHISTORY's limit is capped at --history-page (50 of the 60 lines kept)",
               page_cap)
    server.stop()

    def store():
        with tempfile.TemporaryDirectory() as d:
            db = os.path.join(d, "chat.db")
            # dan has an account: what he says is kept with it, and replayed with account= after a restart.
            secret = "dan-secret-%d" % os.getpid()
            hashed = subprocess.run([sys.argv[1], "--hash-password"], input=(secret + "\n").encode(),
                                    capture_output=True, timeout=PATIENCE)
            assert hashed.returncode == 0, hashed
            users = os.path.join(d, "users")
            with open(users, "w") as f:
                f.write("dan:%s\n" % hashed.stdout.decode().strip())
            argv = [sys.argv[1], "--port", "0", "--irc-port", "0", "--bind", "127.0.0.1", "--history", "5",
                    "--history-db", db, "--users", users]
            first = kit.ServerProcess(argv, PATIENCE)
            first.start(want=("tcp", "irc"))
            try:
                t = kit.LineClient(first.ports["tcp"], PATIENCE, name="dan (telnet)")
                t.greet()
                t.send("/login dan %s" % secret)
                t.wait_for(lambda l: l == "* logged in as dan")
                for i in range(12):
                    t.send("kept %d" % i)
                # The store commits in groups (10 ms): asked again until /history shows the last line.
                deadline = time.monotonic() + PATIENCE
                while True:
                    t.send("/history 12")
                    try:
                        t.wait_for(lambda l: l.endswith("kept 11") and l.startswith("["), 1.0)
                        break
                    except AssertionError:
                        if time.monotonic() > deadline:
                            raise
            finally:
                first.stop()
            second = kit.ServerProcess(argv, PATIENCE)
            second.start(want=("tcp", "irc"))
            try:
                erin = IrcClient(second.ports["irc"], "erin (IRC, after a restart)")
                erin.register("erin", CAPS + " account-tag")
                erin.send("JOIN #lobby")
                erin.expect(r" 366 erin #lobby ")
                erin.send("CHATHISTORY LATEST #lobby * 10")
                target, lines = erin.batch()
                assert texts(lines) == ["kept %d" % i for i in range(2, 12)], lines
                assert all(l["tags"].get("account") == "dan" for l in lines), lines  # kept with the line
                erin.send("CHATHISTORY BEFORE #lobby %s 3" % ("msgid=" + lines[0]["tags"]["msgid"]))
                _, older = erin.batch()
                assert texts(older) == ["kept 0", "kept 1"], older
            finally:
                second.stop()
    usage = subprocess.run([sys.argv[1], "--help"], capture_output=True, text=True, timeout=PATIENCE)
    if "--history-db" in usage.stdout + usage.stderr:
        runner.run("--history-db: after a restart, CHATHISTORY LATEST and BEFORE answer from the SQLite store, "
                   "past what the ring keeps, with the account each line was said under", store)
    else:
        print("SKIP --history-db: this chatroom-server has no SQLite")
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
