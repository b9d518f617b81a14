#!/usr/bin/python3
"""irssi, the terminal IRC client, against chatroom-server --irc-port, driven in tmux as a user would.

Usage: test_irssi.py PATH/TO/chatroom-server

Starts `SERVER --port 0 --irc-port 0 --bind 127.0.0.1 --users FILE` (one
operator account), reads both ports from its log, and runs irssi in a tmux
server of its own (-L, -f /dev/null, 200x50, C.UTF-8) with a throwaway
--home holding a minimal config (no servers, no autoconnect, no scripts):
`irssi --home=DIR -c 127.0.0.1 -p IRC_PORT -n alice`. Beside it in #dev /
dev: bob, a raw-socket IRC client, and carol, a telnet-style line client.
Checks, each by what the pane shows and what the others receive:
registration (the welcome), /join #dev (names list, the join synced after
WHO), chat both ways with UTF-8, /me both ways, /nick seen by the others,
/msg and private messages back in a query window, /whois, /topic (482
for a non-operator, set after /oper), /part, and /quit seen as QUIT.

Every wait polls against a deadline; nothing sleeps to synchronize. The
server, irssi (by PID) and the tmux server are ended in a finally; a
failure prints irssi's screen. A passing run prints the #dev window as
irssi showed it. Exits 77 (ctest's SKIP_RETURN_CODE) when irssi or tmux is
not installed; prints PASS/FAIL per check and "N passed, M failed"; exits 1
on any failure.
"""
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

# Seconds for any one condition. irssi's own flood control (cmd_queue_speed,
# 2.2 s a command after a burst of 5) makes its join take about 10 s to sync
# (MODE, WHO, MODE b one after another), so this is generous.
PATIENCE = 30.0
SKIP = 77

# No servers, networks or channels: irssi connects only where -c says, joins
# nothing by itself, and loads no scripts or themes from anywhere.
IRSSI_CONFIG = """\
servers = ( );
chatnets = { };
channels = ( );
settings = {
  core = { real_name = "Alice Irssi"; user_name = "alice"; nick = "alice"; };
  "fe-common/core" = { theme = "default"; autolog = "no"; };
};
"""


class IrcClient(kit.LineClient):
    """A raw IRC client: CR LF lines out, every line it reads kept; each wait bounded."""

    def __init__(self, port, name):
        super().__init__(port, PATIENCE, name=name, require_cr=True)

    def expect(self, pattern):
        return self.wait_for(lambda l: re.search(pattern, l), PATIENCE)


class Irssi:
    """irssi in the only pane of a private tmux server."""

    def __init__(self, home, port, nick):
        self.tmux = kit.Tmux("chatroom-irssi-%d" % os.getpid(), PATIENCE, flags=("-u", "-f", "/dev/null"))
        command = "exec irssi --home=%s -c 127.0.0.1 -p %d -n %s" % (home, port, nick)
        self.last = ""
        try:
            target = self.tmux("new-session", "-d", "-P", "-F", "#{pane_id}", "-x", "200", "-y", "50",
                               "-e", "LANG=C.UTF-8", "-e", "LC_ALL=C.UTF-8", "-e", "TERM=screen",
                               command).strip()
            self.pane = kit.TmuxPane(self.tmux, target, "irssi")
            self.pid = int(self.pane.display("#{pane_pid}"))
            self.socket = self.pane.display("#{socket_path}")  # removed at the end: tmux leaves it behind
        except Exception:
            self.tmux.kill_server()  # the caller never gets an Irssi to close
            raise

    def text(self):
        try:
            self.last = self.pane.text()
        except (AssertionError, subprocess.SubprocessError):
            pass  # the tmux server is gone (irssi quit): the last screen seen stands
        return self.last

    def command(self, line):
        self.pane.type(line)
        self.pane.keys("Enter")

    def wait(self, pattern, what=None):
        rx = re.compile(pattern, re.M)
        return kit.eventually(lambda: rx.search(self.text()), PATIENCE, what or "irssi to show %r" % pattern,
                              detail=lambda: "irssi shows:\n" + self.text().rstrip())

    def running(self):
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        try:  # a zombie is gone for our purposes
            with open("/proc/%d/stat" % self.pid) as f:
                return f.read().split(") ", 1)[1][0] != "Z"
        except OSError:
            return False

    def close(self):
        if self.running():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.tmux.kill_server()
        try:
            os.unlink(self.socket)
        except OSError:
            pass


def main():
    missing = [p for p in ("irssi", "tmux") if shutil.which(p) is None]
    if missing:
        print("SKIP irc-irssi: not installed: %s (Debian: apt-get install %s)" % (", ".join(missing), " ".join(missing)))
        return SKIP

    runner = kit.CheckRunner(tracebacks=False)
    tmp = tempfile.TemporaryDirectory(prefix="chatroom-irssi-")
    server = irssi = proxy = None
    clients = []
    snapshot = []  # the #dev window as irssi showed it, printed after a passing run
    try:
        secret = "irssi-oper-secret-%d" % os.getpid()
        r = subprocess.run([sys.argv[1], "--hash-password"], input=(secret + "\n").encode(), capture_output=True,
                           timeout=PATIENCE)
        assert r.returncode == 0, r
        users = os.path.join(tmp.name, "users")
        with open(users, "w") as f:
            f.write("root:%s:op\n" % r.stdout.decode().strip())
        home = os.path.join(tmp.name, "home")
        os.mkdir(home)
        with open(os.path.join(home, "config"), "w") as f:
            f.write(IRSSI_CONFIG)

        server = kit.ServerProcess([sys.argv[1], "--port", "0", "--irc-port", "0", "--bind", "127.0.0.1",
                                    "--users", users, "--history", "20"], PATIENCE)
        server.start(want=("tcp", "irc"))
        irc_port, tcp_port = server.ports["irc"], server.ports["tcp"]

        bob = IrcClient(irc_port, "bob (raw IRC)")
        clients.append(bob)
        bob.send("NICK bob")
        bob.send("USER bob 0 * :Bob Raw")
        bob.expect(r"^:\S+ 001 bob ")
        bob.send("JOIN #dev")
        bob.expect(r" 366 bob #dev ")
        carol = kit.LineClient(tcp_port, PATIENCE, name="carol (telnet)")
        clients.append(carol)
        carol.greet()
        carol.send("/nick carol")
        carol.wait_for(lambda l: "is now known as carol" in l)
        carol.send("/join dev")
        carol.wait_for(lambda l: l.startswith("* joined dev"))
        bob.expect(r":carol!\S+ JOIN #dev$")

        proxy = Proxy(irc_port)  # irssi's lines both ways, printed on failure
        irssi = Irssi(home, proxy.port, "alice")

        def registration():
            irssi.wait(r"Welcome to the chatroom IRC network, alice$")
            irssi.wait(r"CASEMAPPING=ascii .* PREFIX=\(ov\)@\+ .* are supported")  # irssi may wrap the rest
            irssi.wait(r"MOTD File is missing")
            # irssi asks for user mode +i at connect: confirmed, not refused.
            deadline = time.monotonic() + PATIENCE
            while b" MODE alice :+i\r\n" not in proxy.stream("s>c") and time.monotonic() < deadline:
                time.sleep(0.05)  # polling the relay's record, with a deadline
            seen = proxy.stream("s>c")
            assert b" MODE alice :+i\r\n" in seen and b" 501 " not in seen, seen[-400:]
            assert "Unknown MODE flag" not in irssi.text(), irssi.text()
        runner.run("irssi connects and registers: the welcome, ISUPPORT and the end of the MOTD in its status window; "
                   "its MODE +i is confirmed",
                   registration, fatal=True)

        def join():
            irssi.command("/join #dev")
            irssi.wait(r"-!- alice \[alice@\S+\] has joined #dev$")
            users = irssi.wait(r"\[Users #dev\]\n.*\n").group(0)
            # bob joined first: the channel's operator, shown @ by irssi.
            assert set(re.findall(r"\[([ @])(\w+)\]", users)) == {(" ", "alice"), ("@", "bob"), (" ", "carol")}, users
            irssi.wait(r"#dev: Total of 3 nicks \[1 ops")
            irssi.wait(r"Join to #dev was synced")  # irssi waited for MODE and WHO and got them
            bob.expect(r"^:alice!alice@\S+ JOIN #dev$")
            carol.wait_for(lambda l: l == "* alice joined")
        runner.run("/join #dev: irssi lists bob and carol, the join syncs (WHO answered); both see alice join",
                   join, fatal=True)

        def chat():
            irssi.command("hello from irssi é日本")
            irssi.wait(r"< alice> hello from irssi é日本$")
            bob.expect(r"^:alice!\S+ PRIVMSG #dev :hello from irssi é日本$")
            carol.wait_for(lambda l: l == "<alice> hello from irssi é日本")
            bob.send("PRIVMSG #dev :hi from raw IRC ü")
            irssi.wait(r"<@bob> hi from raw IRC ü$")
            carol.send("hi from telnet 語")
            irssi.wait(r"< carol> hi from telnet 語$")
        runner.run("chat: a line typed in irssi reaches bob and carol; theirs show in irssi (UTF-8 intact)", chat)

        def actions():
            irssi.command("/me waves")
            bob.expect(r"^:alice!\S+ PRIVMSG #dev :\x01ACTION waves\x01$")
            carol.wait_for(lambda l: l == "* alice waves")
            bob.send("PRIVMSG #dev :\x01ACTION nods\x01")
            irssi.wait(r" \* bob nods$")
            carol.send("/me smiles")
            irssi.wait(r" \* carol smiles$")
        runner.run("/me both ways: irssi's action reaches bob (CTCP ACTION) and carol; theirs show as actions", actions)

        def nick():
            irssi.command("/nick alicia")
            irssi.wait(r"You're now known as alicia$")
            bob.expect(r"^:alice!\S+ NICK :?alicia$")
            carol.wait_for(lambda l: l == "* alice is now known as alicia")
            bob.send("PRIVMSG #dev :still here, alicia?")
            irssi.wait(r"<@bob> still here, alicia\?$")
        runner.run("/nick alicia: irssi shows the new nick; bob and carol see the rename", nick)

        def private():
            irssi.command("/msg bob psst bob")
            bob.expect(r"^:alicia!\S+ PRIVMSG bob :psst bob$")
            irssi.command("/msg carol psst carol")
            carol.wait_for(lambda l: l == "*alicia* psst carol")
            bob.send("PRIVMSG alicia :back at you")
            carol.send("/msg alicia and from telnet")
            irssi.command("/query bob")
            irssi.wait(r"^\[bob\]", "the query with bob to be the active window")
            irssi.wait(r"<alicia> psst bob\n.*<bob> back at you$")
            irssi.command("/window close")  # or irssi would print bob's /whois here
            irssi.command("/query carol")
            irssi.wait(r"^\[carol\]", "the query with carol to be the active window")
            irssi.wait(r"<carol> and from telnet$")
            irssi.command("/window close")
            irssi.command("/window goto #dev")
            irssi.wait(r"^\[#dev\]", "#dev to be the active window again")
        runner.run("/msg: private messages reach bob and carol; theirs open query windows in irssi", private)

        def whois():
            irssi.command("/window 1")  # irssi prints a /whois without a query window in its status window
            irssi.wait(r"^\[\(status\)\]", "the status window to be the active window")
            irssi.command("/whois bob")
            irssi.wait(r"bob \[bob@\S+\]\n.*ircname\s+: Bob Raw")
            irssi.wait(r"channels\s+: #dev$")
            irssi.wait(r"End of WHOIS$")
            irssi.command("/window goto #dev")
            irssi.wait(r"^\[#dev\]", "#dev to be the active window again")
        runner.run("/whois bob: irssi shows bob's user, realname and channel", whois)

        def topic():
            irssi.command("/topic a topic from irssi")
            irssi.wait(r"You're not channel operator")
            irssi.command("/oper root " + secret)  # 381 goes to the status window; the nick stays
            irssi.command("/topic a topic from irssi ✓")
            # A topic change reaches IRC as TOPIC from its setter (irssi shows it as such), and
            # the telnet user as the line protocol always said it.
            bob.expect(r"^:alicia!alicia@\S+ TOPIC #dev :a topic from irssi ✓$")
            carol.wait_for(lambda l: l == "* alicia set the topic: a topic from irssi ✓")
            irssi.wait(r"alicia changed the topic of #dev to: a topic from irssi ✓$")
            snapshot.append(irssi.text())
            bob.send("TOPIC #dev")
            bob.expect(r" 332 bob #dev :a topic from irssi ✓$")
            irssi.command("/window 1")
            irssi.wait(r"You are now an IRC operator$")  # 381, in the status window
            irssi.command("/window goto #dev")
            irssi.wait(r"^\[#dev\]", "#dev to be the active window again")
        runner.run("/topic: 482 shown to a non-operator; after /oper (an operator account, 381) the topic is set "
                   "and bob and irssi get TOPIC (irssi: 'changed the topic'), carol the line protocol's notice", topic)

        def part_quit():
            irssi.command("/part #dev off for now")
            bob.expect(r"^:alicia!\S+ PART #dev :off for now$")
            carol.wait_for(lambda l: l.startswith("* alicia left") and "off for now" in l)
            # irssi closed the window: a /join typed before that would only go back to it
            kit.eventually(lambda: not re.search(r"^\[#dev\]", irssi.text(), re.M), PATIENCE,
                           "irssi to close #dev's window", detail=lambda: "irssi shows:\n" + irssi.last.rstrip())
            irssi.command("/join #dev")
            bob.expect(r"^:alicia!\S+ JOIN #dev$")
            irssi.wait(r"-!- alicia \[\S+\] has joined #dev$")
            # the topic set above, as 332, then the room's kept history replayed
            irssi.wait(r"-!- Topic for #dev: a topic from irssi ✓\n(.*\n)*.*< bob> still here, alicia\?$")  # the replay: irssi knows no prefix yet
            irssi.command("/quit see you later")
            bob.expect(r"^:alicia!\S+ QUIT :(Quit: )?see you later$")
            carol.wait_for(lambda l: l.startswith("* alicia left") and "see you later" in l)
            kit.eventually(lambda: not irssi.running(), PATIENCE, "irssi to exit after /quit",
                           detail=lambda: "irssi showed:\n" + irssi.last.rstrip())
        runner.run("/part seen by bob and carol; /join again (the topic shown); /quit: bob sees QUIT, carol the "
                   "leave, irssi exits",
                   part_quit)

        if runner.failed == 0:
            shown = [l for l in snapshot[-1].rstrip("\n").split("\n") if l.strip()]
            print("irssi's #dev window after /topic (capture-pane, last %d lines):" % min(len(shown), 30))
            print("\n".join("  " + l for l in shown[-30:]))
    except Exception as e:  # setup failed: counted, and the pane shown below
        runner.fail("setup", "%s: %s" % (type(e).__name__, e))
    finally:
        if irssi is not None and runner.failed:
            print("irssi's screen at the failure:\n" + irssi.text().rstrip())
        if irssi is not None:
            irssi.close()
        if proxy is not None:
            if runner.failed:
                for direction, who in (("c>s", "irssi sent"), ("s>c", "the server sent irssi")):
                    lines = proxy.stream(direction).decode(errors="replace").split("\r\n")
                    print("%s (last lines):\n  %s" % (who, "\n  ".join(lines[-25:])))
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
