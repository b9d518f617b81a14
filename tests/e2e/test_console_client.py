#!/usr/bin/env python3
"""chatroom-client on a real terminal: the built binaries driven in tmux.

Usage: test_console_client.py SERVER CLIENT
Needs tmux. Every case starts its own server on 127.0.0.1 (port 0), runs
the client in a pane of a tmux server of its own (-L, killed at the end),
plays the other members with plain sockets, and waits on what the pane
shows with deadlines. Prints PASS/FAIL per case and "N passed, M failed".
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import chatroom_testkit as kit  # noqa: E402

SERVER, CLIENT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PATIENCE = 20.0
TMUX = kit.Tmux("chatroom-console-%d" % os.getpid(), PATIENCE)
WORK = tempfile.mkdtemp(prefix="chatroom-console-")


def Server(port=0, server=None):
    """chatroom-server on 127.0.0.1:port (a stopped server is started again when given)."""
    server = server or kit.ServerProcess([SERVER], PATIENCE, log_dir=WORK, prefix="server-")
    return server.start("--port", port, "--bind", "127.0.0.1", want=("tcp",))


class Peer(kit.LineClient):
    """Another member, over a plain socket."""

    def __init__(self, port, nick=None):
        super().__init__(port, PATIENCE, eol="\n", errors="replace", name="peer")
        self.wait_for(lambda l: l.startswith("* joined "))
        if nick:
            self.send("/nick " + nick)
            self.wait_for(lambda l: l.endswith(" is now known as " + nick))

    def wait_for(self, pred, timeout=PATIENCE):
        return super().wait_for(pred, timeout)


class Pane(kit.TmuxPane):
    """One tmux window running an interactive shell, 100x30."""

    count = 0
    runs = 0

    def __init__(self, env=None):
        Pane.count += 1
        self.state = tempfile.mkdtemp(prefix="state-", dir=WORK)
        environment = {"XDG_STATE_HOME": self.state, "PS1": "$ ", "LANG": "C.UTF-8"}
        environment.update(env or {})
        exports = " ".join("%s=%s" % (k, shquote(v)) for k, v in environment.items())
        # A shell without rc files, so that the prompt and settings are known.
        name = "case%d" % Pane.count
        TMUX("new-session", "-d", "-s", name, "-x", "100", "-y", "30",
             "env -u NO_COLOR %s bash --norc --noprofile -i" % exports)
        super().__init__(TMUX, name)
        self.wait(lambda t: t.rstrip().endswith("$"), "the shell prompt")

    def lines(self):
        return [l.rstrip() for l in self.text().splitlines()]

    def last_line(self):
        ls = [l for l in self.lines() if l]
        return ls[-1] if ls else ""

    def wait_line(self, pred, what):
        return self.wait(lambda t: any(pred(l.rstrip()) for l in t.splitlines()), what)

    def run_client(self, port, *args, env_prefix=""):
        """Starts the client from the shell as a job of its own, noting its PID and stty before."""
        Pane.runs += 1
        self.run = Pane.runs
        self.pidfile = os.path.join(self.state, "pid%d" % self.run)
        before = os.path.join(self.state, "stty-before%d" % self.run)
        after = os.path.join(self.state, "stty-after%d" % self.run)
        self.stty_files = (before, after)
        self.type("stty -g > %s" % before)
        self.keys("Enter")
        kit.eventually(lambda: os.path.exists(before) and os.path.getsize(before) > 0, PATIENCE,
                       "stty before the client")
        self.wait(lambda t: self.last_line() == "$", "the shell prompt")
        # Alone on its command line (sh execs it), so that the shell waits for
        # the client itself: Ctrl-Z then stops the client, not a subshell.
        self.type("%s sh -c 'echo $$ > %s; exec \"$0\" \"$@\"' %s %s 127.0.0.1 %d" %
                  (env_prefix, self.pidfile, shquote(CLIENT), " ".join(map(shquote, args)), port))
        self.keys("Enter")
        kit.eventually(lambda: os.path.exists(self.pidfile) and open(self.pidfile).read().strip(), PATIENCE,
                       "the client's PID")
        self.pid = int(open(self.pidfile).read())

    def exit_status(self):
        """Waits for the shell to be back, then asks it for the client's status and stty."""
        self.wait(lambda t: self.last_line() == "$", "the client to exit")
        self.type("echo \"exit%d=$?\"; stty -g > %s" % (self.run, self.stty_files[1]))
        self.keys("Enter")
        m = self.wait(lambda t: re.search(r'(?<!")exit%d=(\d+)' % self.run, t), "the exit status")
        kit.eventually(lambda: os.path.exists(self.stty_files[1]) and os.path.getsize(self.stty_files[1]) > 0,
                       PATIENCE, "stty after the client")
        return int(m.group(1))

    def terminal_restored(self):
        before, after = (open(f).read().strip() for f in self.stty_files)
        assert before == after, "terminal settings changed: %s -> %s" % (before, after)
        # And the shell echoes what is typed, as a cooked terminal does.
        self.type("echo echo-$((6*7))")
        self.keys("Enter")
        self.wait_line(lambda l: l == "echo-42", "the shell to answer")
        self.wait_line(lambda l: l == "$ echo echo-$((6*7))", "the typed command to be echoed")

    def close(self):
        TMUX("kill-session", "-t", self.target, check=False)


def shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def prompt_line(pane):
    """The last line of the pane: where the client's prompt and half-typed text are."""
    return pane.last_line()


def start_chat(server, pane, nick="ann", *args, env_prefix=""):
    pane.run_client(server.port, "--nick", nick, *args, env_prefix=env_prefix)
    pane.wait_line(lambda l: l.endswith(" is now known as " + nick), "the nick to be taken")
    pane.wait(lambda t: prompt_line(pane) == ">", "the prompt")


# ---- cases ---------------------------------------------------------------

def case_half_typed_line_survives_incoming_message():
    with Server() as server:
        pane = Pane()
        try:
            bob = Peer(server.port, "bob")
            start_chat(server, pane)
            bob.wait_for(lambda l: l.endswith(" is now known as ann"))
            pane.type("hello wor")
            pane.wait(lambda t: prompt_line(pane) == "> hello wor", "the half-typed line")
            bob.send("something arrives meanwhile")
            pane.wait_line(lambda l: l == "<bob> something arrives meanwhile", "the incoming line")
            lines = [l for l in pane.lines() if l]
            assert lines[-1] == "> hello wor", "prompt line is %r" % lines[-1]
            assert lines[-2] == "<bob> something arrives meanwhile", "above the prompt: %r" % lines[-2]
            assert not any("something" in l and "hello" in l for l in lines), "lines mixed:\n" + "\n".join(lines)
            pane.type("ld")
            pane.keys("Enter")
            got = bob.wait_for(lambda l: l.startswith("<ann>"))
            assert got == "<ann> hello world", got
            pane.keys("C-d")
            assert pane.exit_status() == 0
            pane.terminal_restored()
        finally:
            pane.close()


def case_history_recalls_lines_also_after_a_restart():
    with Server() as server:
        pane = Pane()
        try:
            bob = Peer(server.port, "bob")
            start_chat(server, pane)
            for text in ("first line", "second line"):
                pane.type(text)
                pane.keys("Enter")
                assert bob.wait_for(lambda l: l.startswith("<ann>")) == "<ann> " + text
            pane.keys("Up")
            pane.wait(lambda t: prompt_line(pane) == "> second line", "Up to recall the last line")
            pane.keys("Up")
            pane.wait(lambda t: prompt_line(pane) == "> first line", "Up again to recall the one before")
            pane.keys("Enter")
            assert bob.wait_for(lambda l: l.startswith("<ann>")) == "<ann> first line"
            pane.keys("C-d")
            assert pane.exit_status() == 0
            history = os.path.join(pane.state, "chatroom", "history")
            assert os.path.exists(history), "no history file at " + history

            # A new client in the same state directory remembers them.
            pane.keys("C-l")
            start_chat(server, pane, "ann2")
            pane.keys("Up")
            pane.wait(lambda t: prompt_line(pane) == "> first line", "the saved history")
            pane.keys("Up")
            pane.wait(lambda t: prompt_line(pane) == "> second line", "older saved history")
            pane.keys("C-u")
            pane.keys("C-d")
            assert pane.exit_status() == 0
        finally:
            pane.close()


def colourful_traffic(pane, bob, nick):
    bob.send("hello %s, a chat line" % nick)
    pane.wait_line(lambda l: l == "<bob> hello %s, a chat line" % nick, "a chat line")
    bob.send("/msg %s a private word" % nick)
    pane.wait_line(lambda l: l == "*bob* a private word", "a private message")
    pane.type("/nosuchcommand")
    pane.keys("Enter")
    pane.wait_line(lambda l: l.startswith("! unknown command"), "an error line")


def case_no_color_means_no_escape_sequences():
    with Server() as server:
        # With colour (the control): the same traffic does produce escapes.
        pane = Pane()
        try:
            bob = Peer(server.port, "bob")
            start_chat(server, pane)
            colourful_traffic(pane, bob, "ann")
            assert "\x1b[" in pane.text(escapes=True), "no colour at all on a terminal"
            pane.keys("C-d")
            assert pane.exit_status() == 0
        finally:
            pane.close()
        for n, how in enumerate(("NO_COLOR=1", "NO_COLOR=", "--no-color")):
            pane = Pane()
            nick = "plain%d" % n
            try:
                if how.startswith("NO_COLOR"):
                    start_chat(server, pane, nick, env_prefix="env " + how)
                else:
                    start_chat(server, pane, nick, how)
                colourful_traffic(pane, bob, nick)
                shown = pane.text(escapes=True)
                assert "\x1b" not in shown, "%s: escape sequences in %r" % (how, shown)
                pane.keys("C-d")
                assert pane.exit_status() == 0
            finally:
                pane.close()

        # Not a terminal: plain lines, no escapes, exit status 0 at the end of input.
        proc = subprocess.run([CLIENT, "--nick", "piped", "127.0.0.1", str(server.port)],
                              input=b"/msg bob from a pipe\n/who\n", stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=PATIENCE)
        assert proc.returncode == 0, proc
        assert b"\x1b" not in proc.stdout and b"\x1b" not in proc.stderr, proc.stdout
        assert b"* in lobby: " in proc.stdout, proc.stdout
        assert bob.wait_for(lambda l: l.startswith("*piped*")) == "*piped* from a pipe"


def case_ctrl_c_clears_the_line_ctrl_z_suspends_and_the_terminal_is_restored():
    with Server() as server:
        pane = Pane()
        try:
            bob = Peer(server.port, "bob")
            start_chat(server, pane)
            pane.type("this is abandoned")
            pane.wait(lambda t: prompt_line(pane) == "> this is abandoned", "the typed text")
            pane.keys("C-c")
            pane.wait(lambda t: prompt_line(pane) == ">", "Ctrl-C to clear the line")
            pane.type("kept")
            pane.keys("Enter")
            assert bob.wait_for(lambda l: l.startswith("<ann>")) == "<ann> kept"
            # Ctrl-Z gives the shell a cooked terminal; fg brings back the half-typed line.
            pane.type("half")
            pane.wait(lambda t: prompt_line(pane) == "> half", "the typed text")
            pane.keys("C-z")
            pane.wait_line(lambda l: "Stopped" in l, "the shell to report the client stopped")
            stopped = os.path.join(pane.state, "stty-stopped")
            pane.type("stty -g > %s; fg" % stopped)
            pane.keys("Enter")
            kit.eventually(lambda: os.path.exists(stopped) and os.path.getsize(stopped) > 0, PATIENCE,
                           "stty while stopped")
            assert open(stopped).read() == open(pane.stty_files[0]).read(), "terminal not cooked while stopped"
            pane.wait(lambda t: prompt_line(pane) == "> half", "the line back after fg")
            pane.type(" more")
            pane.keys("Enter")
            assert bob.wait_for(lambda l: l.startswith("<ann>")) == "<ann> half more"
            pane.keys("C-c")
            pane.keys("C-d")
            assert pane.exit_status() == 0
            pane.terminal_restored()
        finally:
            pane.close()


def case_sigterm_and_sighup_restore_the_terminal():
    with Server() as server:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            pane = Pane()
            try:
                start_chat(server, pane)
                pane.type("half typed")
                pane.wait(lambda t: prompt_line(pane) == "> half typed", "the typed text")
                os.kill(pane.pid, sig)
                assert pane.exit_status() == 128 + sig
                pane.terminal_restored()
            finally:
                pane.close()


def case_reconnect_comes_back_with_the_same_nick():
    server = Server()
    try:
        pane = Pane()
        try:
            start_chat(server, pane, "comeback", "--reconnect", "--room", "dev")
            pane.wait_line(lambda l: l.startswith("* joined dev"), "the room to be joined")
            port = server.port
            server.stop()
            pane.wait_line(lambda l: "reconnecting in " in l and re.search(r"in \d+\.\d s$", l),
                           "the client to say it reconnects")
            pane.type("typed while away")
            Server(port, server)
            pane.wait_line(lambda l: l == "* reconnected", "the client to reconnect")
            pane.wait(lambda t: t.count(" is now known as comeback") == 2, "the nick to be taken again")
            pane.wait(lambda t: len(re.findall(r"^\* joined dev", t, re.M)) == 2, "the room to be joined again")
            bob = Peer(server.port)
            bob.send("/join dev")
            bob.wait_for(lambda l: l.startswith("* joined dev"))
            bob.send("/who")
            who = bob.wait_for(lambda l: l.startswith("* in dev: "))
            assert "comeback" in who.split(": ", 1)[1].split(", "), who
            # The half-typed line survived the outage too.
            assert prompt_line(pane) == "> typed while away", prompt_line(pane)
            pane.keys("C-u")
            pane.keys("C-d")
            assert pane.exit_status() == 0
            pane.terminal_restored()
        finally:
            pane.close()

        # Without --reconnect, losing the server ends the client with status 1 and says why.
        pane = Pane()
        try:
            start_chat(server, pane, "once")
            server.stop()
            assert pane.exit_status() == 1
            pane.wait_line(lambda l: l == "chatroom-client: server closed the connection", "the reason")
            pane.terminal_restored()
        finally:
            pane.close()
    finally:
        server.close()


CASES = [
    case_half_typed_line_survives_incoming_message,
    case_history_recalls_lines_also_after_a_restart,
    case_no_color_means_no_escape_sequences,
    case_ctrl_c_clears_the_line_ctrl_z_suspends_and_the_terminal_is_restored,
    case_sigterm_and_sighup_restore_the_terminal,
    case_reconnect_comes_back_with_the_same_nick,
]


def main():
    if not shutil.which("tmux"):
        print("FAIL: tmux is not installed (apt-get install tmux)")
        return 1
    runner = kit.CheckRunner()
    only = sys.argv[3:]
    # A session that outlives the cases, so the tmux server stays up between them.
    TMUX("new-session", "-d", "-s", "keeper", "cat")
    try:
        for case in CASES:
            if only and not any(o in case.__name__ for o in only):
                continue
            runner.run(case.__name__[len("case_"):], case)
    finally:
        TMUX.kill_server()
        shutil.rmtree(WORK, ignore_errors=True)
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
