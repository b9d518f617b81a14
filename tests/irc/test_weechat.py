#!/usr/bin/python3
"""WeeChat, the IRC client, against chatroom-server --irc-port: the twin of test_irssi.py.

Usage: test_weechat.py PATH/TO/chatroom-server

Starts `SERVER --port 0 --irc-port 0 --bind 127.0.0.1 --history 20`, reads
both ports from its log, and puts beside each other in #dev / dev: bob, a
raw-socket IRC client (also in #ops), and carol, a telnet-style line client.
Carol says a line before WeeChat comes, to be replayed to it as history.

WeeChat runs as weechat-headless (Debian's package of the same name: no
curses, no terminal) with a throwaway home (-d DIR), only its irc, logger
and fifo plugins (-P), and -r commands that add the server (through a
recording Proxy, to print its lines on failure), its nick, user, realname,
autojoin #dev,#ops, and /connect. It is driven as a user would type, through
its fifo plugin (DIR/weechat_fifo_PID, lines `irc.server.chatroom */cmd` for
the server buffer and `irc.chatroom.#dev *text` for a channel's), and observed
through its logger plugin: one file per buffer under DIR/logs, written as each
line is shown (logger.file.flush_delay 0), in UTC (TZ), each line
"DATE TIME<tab>PREFIX<tab>MESSAGE" with the line's own time (server-time's
when the server sent one).

Checks: registration (the welcome, ISUPPORT, the end of the MOTD, server-time
enabled), the autojoin of #dev and #ops with the names of #dev (bob, carol),
carol's earlier line replayed with its original time, chat both ways with
UTF-8, /me both ways, private messages both ways (query buffers), /part #ops
seen by bob, and /quit seen by bob (QUIT) and carol (a leave).

Every wait polls against a deadline; nothing sleeps to synchronize. The
server and WeeChat are ended by PID in a finally; a failure prints WeeChat's
buffers, both directions of its connection and the server's log. Exits 77
(ctest's SKIP_RETURN_CODE) when weechat-headless is not installed; prints
PASS/FAIL per check and "N passed, M failed"; exits 1 on any failure.
"""
import datetime
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import chatroom_testkit as kit  # noqa: E402
from byte_listener import Proxy  # noqa: E402

# Seconds for any one condition. WeeChat's own flood control sends a queued
# command every 2 s (irc.server.*.anti_flood_prio_high), and the machine may be
# loaded by a whole test run, so this is generous, as in test_irssi.py.
PATIENCE = 30.0
SKIP = 77
WEECHAT = "weechat-headless"


class IrcClient(kit.LineClient):
    """A raw IRC client: CR LF lines out, every line it reads kept; each wait bounded."""

    def __init__(self, port, name):
        super().__init__(port, PATIENCE, name=name, require_cr=True)

    def expect(self, pattern):
        return self.wait_for(lambda l: re.search(pattern, l), PATIENCE)


def logged(prefix, message):
    """A regex for one logger line with this prefix and message; group 1 is its time."""
    return r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\t%s\t%s$" % (prefix, message)


class WeeChat:
    """weechat-headless in a home of its own: commands in by its fifo, buffers out by its logs."""

    def __init__(self, home, port, nick):
        self.home = home
        os.mkdir(home)
        setup = [
            "/set logger.file.flush_delay 0",  # each line to its buffer's file as it is shown
            "/set irc.look.display_join_message \"329,332,333,353,366\"",  # 353: the names at a join
            "/server add chatroom 127.0.0.1/%d -notls" % port,
            "/set irc.server.chatroom.nicks \"%s\"" % nick,
            "/set irc.server.chatroom.username \"%s\"" % nick,
            "/set irc.server.chatroom.realname \"Alice WeeChat\"",
            "/set irc.server.chatroom.autojoin \"#dev,#ops\"",
            "/set irc.server.chatroom.autoreconnect off",
            "/connect chatroom",
        ]
        self.out_path = os.path.join(home, "stdout")
        with open(self.out_path, "wb") as out:
            # No terminal: headless reads no keys. TZ=UTC: the logger's times are UTC.
            self.proc = subprocess.Popen([WEECHAT, "-d", home, "-P", "irc,logger,fifo", "-r", ";".join(setup)],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         env=dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TZ="UTC",
                                                  TERM="dumb"))
        self.fifo = os.path.join(home, "weechat_fifo_%d" % self.proc.pid)

    def log_path(self, buffer):
        # logger.file.mask "$plugin.$name.weechatlog", names in lower case
        return os.path.join(self.home, "logs", "irc.%s.weechatlog" % buffer.lower())

    def log(self, buffer):
        try:
            with open(self.log_path(buffer), encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def logs(self):
        """Every buffer's log, for a failure report."""
        out = []
        folder = os.path.join(self.home, "logs")
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                out.append("== %s\n%s" % (name, f.read().rstrip()))
        return "\n".join(out)

    def wait(self, buffer, pattern, what=None):
        """The first match of pattern (multi-line) in the buffer's log, within the patience."""
        rx = re.compile(pattern, re.M)
        return kit.eventually(lambda: rx.search(self.log(buffer)), PATIENCE,
                              what or "WeeChat's %s to show %r" % (buffer, pattern),
                              detail=lambda: "its %s shows:\n%s" % (buffer, self.log(buffer).rstrip()))

    def ready(self):
        kit.eventually(lambda: os.path.exists(self.fifo) or not self.running(), PATIENCE,
                       "WeeChat's fifo %s" % self.fifo)
        assert self.running(), "WeeChat exited at start:\n" + self.output()

    def send(self, buffer, line):
        """line typed into buffer ("server.chatroom", "chatroom.#dev", ...), as through its fifo."""
        # Non-blocking: a WeeChat that is gone (no reader) fails at once instead of hanging.
        fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        try:
            data = ("irc.%s *%s\n" % (buffer, line)).encode()
            assert os.write(fd, data) == len(data)
        finally:
            os.close(fd)

    def output(self):
        """What it printed, then its own log (DIR/weechat.log)."""
        out = []
        for path in (self.out_path, os.path.join(self.home, "weechat.log")):
            try:
                with open(path, errors="replace") as f:
                    out.append(f.read())
            except OSError:
                pass
        return "\n".join(out)

    def running(self):
        return self.proc.poll() is None

    def close(self):
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def main():
    if shutil.which(WEECHAT) is None:
        print("SKIP irc-weechat: not installed: %s (Debian: apt-get install weechat-headless)" % WEECHAT)
        return SKIP

    runner = kit.CheckRunner(tracebacks=False)
    tmp = tempfile.TemporaryDirectory(prefix="chatroom-weechat-")
    server = weechat = proxy = None
    clients = []
    try:
        server = kit.ServerProcess([sys.argv[1], "--port", "0", "--irc-port", "0", "--bind", "127.0.0.1",
                                    "--history", "20"], PATIENCE)
        server.start(want=("tcp", "irc"))
        irc_port, tcp_port = server.ports["irc"], server.ports["tcp"]

        bob = IrcClient(irc_port, "bob (raw IRC)")
        clients.append(bob)
        bob.send("NICK bob")
        bob.send("USER bob 0 * :Bob Raw")
        bob.expect(r"^:\S+ 001 bob ")
        bob.send("JOIN #dev,#ops")
        bob.expect(r" 366 bob #dev ")
        bob.expect(r" 366 bob #ops ")
        carol = kit.LineClient(tcp_port, PATIENCE, name="carol (telnet)")
        clients.append(carol)
        carol.greet()
        carol.send("/nick carol")
        carol.wait_for(lambda l: "is now known as carol" in l)
        carol.send("/join dev")
        carol.wait_for(lambda l: l.startswith("* joined dev"))
        bob.expect(r":carol!\S+ JOIN #dev$")
        # A line for the room's history, before WeeChat comes: the server stamps it
        # between these two readings of the same clock.
        said_from = time.time()
        carol.send("an early line, 語")
        bob.expect(r"^:carol!\S+ PRIVMSG #dev :an early line, 語$")
        said_by = time.time()
        said = {datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
                for t in range(int(said_from), int(said_by) + 1)}
        # The logger keeps whole seconds: the join must come in a later second for the
        # replayed line's own time to be told from the join's. Waiting on the clock here,
        # not on an event.
        kit.eventually(lambda: time.time() >= said_by + 1.5, PATIENCE, "the clock")

        proxy = Proxy(irc_port)  # WeeChat's lines both ways, printed on failure
        weechat = WeeChat(os.path.join(tmp.name, "home"), proxy.port, "alice")
        weechat.ready()

        def registration():
            weechat.wait("server.chatroom", logged("--", r"Welcome to the chatroom IRC network, alice"))
            weechat.wait("server.chatroom", logged("--", r"CASEMAPPING=ascii .* are supported by this server"))
            weechat.wait("server.chatroom", logged("--", r"MOTD File is missing"))
            enabled = weechat.wait("server.chatroom", logged("--", r"irc: client capability, enabled: (.*)"))
            assert "server-time" in enabled.group(2).split(), enabled.group(0)
        runner.run("WeeChat connects and registers: the welcome, ISUPPORT and the end of the MOTD in its server "
                   "buffer; server-time enabled", registration, fatal=True)

        def autojoin():
            weechat.wait("chatroom.#dev", logged("-->", r"alice \(alice@\S+\) has joined #dev"))
            weechat.wait("chatroom.#ops", logged("-->", r"alice \(alice@\S+\) has joined #ops"))
            names = weechat.wait("chatroom.#dev", logged("--", r"Nicks #dev: \[(.*)\]")).group(2)
            assert set(names.split()) == {"alice", "@bob", "carol"}, names  # bob opened #dev: its operator
            weechat.wait("chatroom.#dev", logged("--", r"Channel #dev: 3 nicks \(1 op, 0 voices, 2 normals?\)"))
            bob.expect(r"^:alice!alice@\S+ JOIN #dev$")
            bob.expect(r"^:alice!alice@\S+ JOIN #ops$")
            carol.wait_for(lambda l: l == "* alice joined")
        runner.run("autojoin of #dev and #ops: WeeChat's names of #dev are alice, @bob (who opened it) and carol; bob sees both "
                   "joins, carol the join of dev", autojoin, fatal=True)

        def history():
            joined = weechat.wait("chatroom.#dev", logged("-->", r"alice \(alice@\S+\) has joined #dev")).group(1)
            early = weechat.wait("chatroom.#dev", logged("carol", r"an early line, 語")).group(1)
            assert early in said, "replayed at %s, said at %s" % (early, " or ".join(sorted(said)))
            assert early < joined, "replayed at %s, joined at %s" % (early, joined)
        runner.run("history replayed on join: carol's earlier line shows in #dev with the time it was said, "
                   "before WeeChat's join (server-time)", history)

        def chat():
            weechat.send("chatroom.#dev", "hello from weechat é日本")
            bob.expect(r"^:alice!\S+ PRIVMSG #dev :hello from weechat é日本$")
            carol.wait_for(lambda l: l == "<alice> hello from weechat é日本")
            weechat.wait("chatroom.#dev", logged("alice", r"hello from weechat é日本"))
            bob.send("PRIVMSG #dev :hi from raw IRC ü")
            weechat.wait("chatroom.#dev", logged("@bob", r"hi from raw IRC ü"))
            carol.send("hi from telnet 語")
            weechat.wait("chatroom.#dev", logged("carol", r"hi from telnet 語"))
        runner.run("chat: a line typed in WeeChat's #dev reaches bob and carol; theirs show in #dev "
                   "(UTF-8 intact)", chat)

        def actions():
            weechat.send("chatroom.#dev", "/me waves é")
            bob.expect(r"^:alice!\S+ PRIVMSG #dev :\x01ACTION waves é\x01$")
            carol.wait_for(lambda l: l == "* alice waves é")
            bob.send("PRIVMSG #dev :\x01ACTION nods\x01")
            weechat.wait("chatroom.#dev", logged(r" \*", r"bob nods"))
            carol.send("/me smiles 日本")
            weechat.wait("chatroom.#dev", logged(r" \*", r"carol smiles 日本"))
        runner.run("/me both ways: WeeChat's action reaches bob (CTCP ACTION) and carol; theirs show as actions",
                   actions)

        def private():
            weechat.send("server.chatroom", "/msg bob psst bob")
            bob.expect(r"^:alice!\S+ PRIVMSG bob :psst bob$")
            weechat.send("server.chatroom", "/msg carol psst carol")
            carol.wait_for(lambda l: l == "*alice* psst carol")
            bob.send("PRIVMSG alice :back at you")
            weechat.wait("chatroom.bob", logged("bob", r"back at you"))
            carol.send("/msg alice and from telnet")
            weechat.wait("chatroom.carol", logged("carol", r"and from telnet"))
            weechat.send("chatroom.bob", "again, in the query")  # typed in the query buffer bob opened
            bob.expect(r"^:alice!\S+ PRIVMSG bob :again, in the query$")
            weechat.wait("chatroom.bob", logged("alice", r"again, in the query"))
        runner.run("private messages both ways: /msg reaches bob and carol; theirs open query buffers in "
                   "WeeChat, and a line typed there reaches bob", private)

        def part():
            weechat.send("server.chatroom", "/part #ops off for now")
            bob.expect(r"^:alice!\S+ PART #ops :off for now$")
            weechat.wait("chatroom.#ops", logged("<--", r"alice \(alice@\S+\) has left #ops \(off for now\)"))
            bob.send("PRIVMSG #dev :still in #dev?")
            weechat.wait("chatroom.#dev", logged("@bob", r"still in #dev\?"))
        runner.run("/part #ops: bob sees the PART, WeeChat shows it left #ops and still reads #dev", part)

        def quit_():
            weechat.send("server.chatroom", "/quit see you later")
            bob.expect(r"^:alice!\S+ QUIT :(Quit: )?see you later$")
            carol.wait_for(lambda l: l.startswith("* alice left") and "see you later" in l)
            kit.eventually(lambda: not weechat.running(), PATIENCE, "WeeChat to exit after /quit")
        runner.run("/quit: bob sees QUIT, carol the leave, WeeChat exits", quit_)

        if runner.failed == 0:
            shown = weechat.log("chatroom.#dev").rstrip("\n").split("\n")
            print("WeeChat's #dev buffer as its logger wrote it (last %d lines):" % min(len(shown), 30))
            print("\n".join("  " + l.replace("\t", " | ") for l in shown[-30:]))
    except Exception as e:  # setup failed: counted, and the logs shown below
        runner.fail("setup", "%s: %s" % (type(e).__name__, e))
    finally:
        if weechat is not None:
            if runner.failed:
                print("WeeChat's buffers (its logger's files):\n" + weechat.logs())
                print("WeeChat's output and weechat.log (last lines):\n  "
                      + "\n  ".join(weechat.output().rstrip().split("\n")[-15:]))
            weechat.close()
        if proxy is not None:
            if runner.failed:
                for direction, who in (("c>s", "WeeChat sent"), ("s>c", "the server sent WeeChat")):
                    lines = proxy.stream(direction).decode(errors="replace").split("\r\n")
                    print("%s (last lines):\n  %s" % (who, "\n  ".join(lines[-40:])))
            proxy.close()
        for c in clients:
            c.close()
        if server is not None:
            if runner.failed:
                print("server log (last lines):\n  " + "\n  ".join(server.text().rstrip().split("\n")[-15:]))
            server.close()
        tmp.cleanup()
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
