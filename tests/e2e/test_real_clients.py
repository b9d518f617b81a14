#!/usr/bin/env python3
"""chatroom-server against the unmodified terminal clients people use.

Usage: test_real_clients.py SERVER [--trace] [--strict] [--only SUBSTRING]

Drives Debian's inetutils telnet, netkit telnet-ssl (plain and -z ssl on
the TLS listener), busybox telnet, nc (netcat-openbsd), socat and
openssl s_client in panes of a tmux server of its own (-L, killed at the
end), with a plain Python socket as the other member of the room. Every
case starts its own server (127.0.0.1, port 0) and stops it by PID.
Waits poll the pane or the socket against a deadline; nothing sleeps to
synchronize. Plain-TCP clients go through a recording relay
(byte_listener.Proxy), so a failure prints the bytes both ways; --trace
prints them for every case.

Prints PASS/FAIL per case and "N passed, M failed"; exit status 1 on any
failure. A client that is not installed fails its cases with the reason.
KNOWN lines are limits no server can lift without breaking another rule
(they are explained where they are checked); they are not counted unless
--strict is given.
"""
import argparse
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import chatroom_testkit as kit  # noqa: E402
from byte_listener import Proxy  # noqa: E402

ARGS = argparse.ArgumentParser(description="real clients against chatroom-server")
ARGS.add_argument("server")
ARGS.add_argument("--trace", action="store_true", help="print the relayed bytes of every case")
ARGS.add_argument("--strict", action="store_true", help="count known limitations as failures")
ARGS.add_argument("--only", default="", help="run only the cases whose name contains this")
OPTS = ARGS.parse_args()

SERVER = os.path.abspath(OPTS.server)
PATIENCE = 10.0   # seconds any one expected thing may take on a loaded machine
PROMPT = 5.0      # "within a few seconds": how long output may take after Ctrl-C
WORK = tempfile.mkdtemp(prefix="chatroom-real-clients-")
LOCALE = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
TMUX = kit.Tmux("chatroom-test-%d" % os.getpid(), PATIENCE, flags=("-u", "-f", "/dev/null"), env=LOCALE)
# The terminal echoes ^C, ^\ and ^Z where they were typed, so the next line
# shown may follow them on the same row.
ECHOED_KEYS = r"^(?:\^[C\\Z])*"

# What the issue asks to survive typing in telnet, and an emoji.
UTF8_ALL = "日本語 é у я σ Ě х ą ŝ 東 😀"
# Before BINARY is on, both BSD telnets compare each typed byte with bit 7
# cleared against their own keys: 0x85 (in х, ą) is taken as ^E, their
# local-echo toggle, and silently dropped; 0x9d (in ŝ and in 東, e6 9d b1)
# is taken as ^], their escape key, and throws the user to the telnet>
# prompt. These bytes never reach the network, so no server can restore
# them; only BINARY negotiated before they are typed helps, and the server
# may not offer it before the client has sent a telnet command. (Typed in a
# fresh inetutils session, the first 0x9c already sends IAC BRK, and the
# server's DO BINARY then sometimes arrives before the client has scanned the
# rest of the line: that KNOWN case passes now and then.) The rest of the
# issue's text does get through (inetutils turns 0x83, 0x8f, 0x9c, 0x9a into
# IP, AO, BRK, SUSP, which the server puts back), so a fresh session's first
# line is this:
UTF8_FIRST = "日本語 é у я σ Ě 😀"
# netkit telnet strips bit 7 before comparing with its escape and echo keys
# whatever is negotiated (telnet.cc: "#define strip(x) ((x)&0x7f)", then
# "sc == escapechar", "sc == echoc"; only its Ctrl-C, Ctrl-\ and Ctrl-Z check
# uses the whole byte), so even with BINARY on it never sends 0x85 or 0x9d
# (with -E, 0x9d passes and 0x85 is still eaten). What netkit can send:
UTF8_NETKIT = "日本語 é у я σ Ě 京都 😀"


def have(program):
    return shutil.which(program) is not None


@functools.lru_cache(maxsize=None)
def supports_tls_port():
    def help_text():
        try:
            return subprocess.run([SERVER, "--help"], capture_output=True, timeout=PATIENCE).stdout
        except OSError:  # being rebuilt
            return None
    return b"--tls-port" in kit.eventually(help_text, PATIENCE, "the server binary to be there (being rebuilt?)")


_cert = None


def certificate():
    global _cert
    if _cert is None:
        cert, key = os.path.join(WORK, "cert.pem"), os.path.join(WORK, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=PATIENCE)
        _cert = (cert, key)
    return _cert


# Everything a case starts, stopped when the case ends, whatever happened.
_cleanups = []
_traces = []  # (label, Proxy) of the running case, printed on failure
_servers = []  # the running case's servers, which must still run at its end


def on_cleanup(fn):
    _cleanups.append(fn)


class Server(kit.ServerProcess):
    """chatroom-server on 127.0.0.1 port 0 (and a TLS port), stopped and killed when the case ends."""

    def __init__(self, tls=False):
        args = ["--bind", "127.0.0.1", "--port", "0"]
        if tls:
            if not supports_tls_port():
                raise AssertionError("server has no --tls-port option (TLS listener next to the plain one)")
            cert, key = certificate()
            args += ["--tls-port", "0", "--tls-cert", cert, "--tls-key", key]
        super().__init__([SERVER], PATIENCE, log_dir=WORK, prefix="server-")
        on_cleanup(self.stop_and_close)
        _servers.append(self)
        # retry: the binary may be missing or busy for a moment while it is relinked.
        self.start(*args, want=("tcp", "tls") if tls else ("tcp",), retry=True)
        self.port, self.tls_port = self.ports["tcp"], self.ports.get("tls")

    def stop_and_close(self):
        self.stop(must_stop=False)
        self.close()


def relay(label, port):
    """A recording relay in front of port; its bytes are shown when the case fails."""
    p = Proxy(port)
    on_cleanup(p.close)
    _traces.append((label, p))
    return p


class Peer(kit.LineClient):
    """A raw-socket member of the room: sends lines, keeps every byte it got (raw)."""

    def __init__(self, port, nick="peer"):
        # surrogateescape: a line's text encodes back to exactly the bytes that came.
        super().__init__(port, PATIENCE, eol="\n", errors="surrogateescape", name="peer")
        on_cleanup(self.close)
        self.wait_line(rb"\* joined lobby")
        self.say("/nick " + nick)
        self.wait_line(rb"\* \S+ is now known as " + nick.encode())
        self.nick = nick

    say = kit.LineClient.send

    def wait_line(self, pattern, timeout=PATIENCE):
        """The next line that matches pattern (a bytes regex), as bytes."""
        rx = re.compile(pattern)
        try:
            line = self.wait_for(lambda l: rx.match(l.encode("utf-8", "surrogateescape")), timeout)
        except kit.ConnectionClosed:
            raise
        except AssertionError as e:
            raise AssertionError("peer: timed out waiting for a line matching %r; %s" % (pattern, e)) from None
        return line.encode("utf-8", "surrogateescape")

    def said_by(self, nick, timeout=PATIENCE):
        """The text of the next chat line from nick, as the raw bytes after "<nick> "."""
        line = self.wait_line(rb"<" + re.escape(nick.encode()) + rb"> ", timeout)
        return line[len(nick) + 3:]


class Pane(kit.TmuxPane):
    """One client running in a tmux window, in a UTF-8 locale."""

    def __init__(self, command):
        super().__init__(TMUX, TMUX("new-window", "-d", "-P", "-F", "#{pane_id}", "-e", "LANG=C.UTF-8",
                                    "-e", "LC_ALL=C.UTF-8", command).strip(), command)
        self.command = command
        on_cleanup(self.kill)

    def line(self, text):
        self.type(text)
        self.keys("Enter")

    def text(self):
        return super().text(history=2000)

    def rows(self):
        return self.text().rstrip("\n").split("\n")

    def wait(self, pattern, what=None, timeout=PATIENCE):
        rx = re.compile(pattern, re.M)
        return super().wait(rx.search, what or "pane to show %r" % pattern, timeout)

    def prompt(self):
        """Ctrl-] and wait for the telnet> prompt on the last row."""
        self.keys("C-]")
        kit.eventually(lambda: re.match(r"(inetutils-)?telnet(-ssl)?> *$",
                                        self.text().rstrip("\n ").split("\n")[-1]),
                       PATIENCE, "the telnet> prompt", detail=self.text)


class Client:
    """A real client: how it is started, and what it needs installed."""

    def __init__(self, name, argv, tls=False, typable=UTF8_ALL, needs=()):
        self.name, self.argv, self.tls = name, argv, tls
        self.typable = typable  # what a telnet can send once BINARY is on
        self.needs = list(needs) or argv[:1]

    def missing(self):
        absent = [p for p in self.needs if not have(p)]
        if absent:
            return "not installed: " + ", ".join(absent)
        if self.tls and not supports_tls_port():
            return "the server has no --tls-port option"
        return None


TELNETS = [
    Client("inetutils telnet", ["inetutils-telnet"]),
    Client("netkit telnet-ssl", ["telnet-ssl"], typable=UTF8_NETKIT),
    Client("netkit telnet-ssl -z ssl", ["telnet-ssl", "-z", "ssl"], tls=True, typable=UTF8_NETKIT),
]


class Session:
    """A server, a raw peer in the lobby, and one client in a pane, all joined."""

    def __init__(self, argv_or_template, tls=False):
        """argv_or_template: the client's argv (host and port are appended), or
        a shell command with {port}. Plain TCP goes through a recording relay."""
        self.server = Server(tls=tls)
        self.peer = Peer(self.server.port)
        self.relay = None
        if tls:
            port = self.server.tls_port
        else:
            self.relay = relay("client <-> server", self.server.port)
            port = self.relay.port
        if isinstance(argv_or_template, str):
            command = argv_or_template.format(port=port)
        else:
            command = " ".join(argv_or_template + ["127.0.0.1", str(port)])
        self.pane = Pane(command)
        self.nick = self.peer.wait_line(rb"\* guest-\d+ joined$").split()[1].decode()

    def client_sent(self):
        return self.relay.stream("c>s") if self.relay else None

    def server_sent(self):
        return self.relay.stream("s>c") if self.relay else None

    def peer_sees(self, text, timeout=PATIENCE):
        """The client typed text: the peer must get exactly those UTF-8 bytes."""
        got = self.peer.said_by(self.nick, timeout)
        want = text.encode()
        if got != want:
            raise AssertionError("peer got %s\n      want %s" % (got.hex(" "), want.hex(" ")))

    def pane_sees_after_interrupt(self, text):
        """After Ctrl-C, Ctrl-\\ or Ctrl-Z, lines said by the peer show again within PROMPT.

        The client rightly discards what the server sent before it answered
        the TIMING-MARK, and the peer cannot know when that was (over TLS
        nobody can watch), so the peer says numbered lines until one shows.
        """
        rx = re.compile(ECHOED_KEYS + r"<peer> " + re.escape(text) + r" #\d+$", re.M)
        deadline = time.monotonic() + PROMPT
        n = 0
        while time.monotonic() < deadline:
            n += 1
            self.peer.say("%s #%d" % (text, n))
            until = min(deadline, time.monotonic() + 0.5)
            while time.monotonic() < until:
                if rx.search(self.pane.text()):
                    return
                time.sleep(0.03)
        raise AssertionError("none of %d lines '<peer> %s #N' said over %.0f s showed in the pane "
                             "(telnet frozen?):\n%s" % (n, text, PROMPT, self.pane.text().rstrip()))

    def pane_sees(self, text, timeout=PATIENCE):
        """The peer says text; it must show in the pane as a line of its own."""
        self.peer.say(text)
        self.pane.wait(ECHOED_KEYS + r"<peer> " + re.escape(text) + r"$", "'<peer> %s' in the pane" % text, timeout)


def no_ff(what, data):
    if b"\xff" in data:
        i = data.index(b"\xff")
        raise AssertionError("%s received a 0xFF byte at offset %d: ...%s..."
                             % (what, i, data[max(0, i - 16):i + 16].hex(" ")))


def answered_every_timing_mark(s):
    """Each DO TIMING-MARK the client sent got a WILL TIMING-MARK (plain sessions only)."""
    if s.relay is None:
        return
    asked = s.client_sent().count(b"\xff\xfd\x06")

    def done():
        return s.server_sent().count(b"\xff\xfb\x06") >= asked
    kit.eventually(done, PATIENCE, "a WILL TIMING-MARK for each of the %d DO TIMING-MARK" % asked)
    got = s.server_sent().count(b"\xff\xfb\x06")
    if got != asked:
        raise AssertionError("%d DO TIMING-MARK answered with %d WILL TIMING-MARK" % (asked, got))


def binary_on(s):
    """Waits until BINARY is agreed both ways (plain sessions; TLS ones cannot be watched)."""
    if s.relay is None:
        return
    kit.eventually(lambda: b"\xff\xfb\x00" in s.client_sent() and b"\xff\xfd\x00" in s.client_sent(), PATIENCE,
               "the client to accept BINARY (IAC WILL BINARY, IAC DO BINARY)")


# --- the BSD telnets ------------------------------------------------------

def telnet_control_keys(t):
    s = Session(t.argv, tls=t.tls)
    s.pane.wait(r"^\* joined lobby")
    s.pane_sees("before any key")
    # Ctrl-C twice: IAC IP IAC DO TIMING-MARK each; the client shows nothing
    # until that TIMING-MARK is answered. A server that keeps TIMING-MARK
    # "on" answers only the first. (Two Ctrl-C sent at once can reach the
    # client as one SIGINT, so the second waits for the first to be seen.)
    for n in (1, 2):
        s.pane.keys("C-c")
        if s.relay:
            kit.eventually(lambda: s.client_sent().count(b"\xff\xfd\x06") >= n, PATIENCE,
                           "DO TIMING-MARK #%d from the client" % n)
        s.pane_sees_after_interrupt("after ctrl-c %d" % n)
    s.pane.line("typed after ctrl-c")
    s.peer_sees("typed after ctrl-c")
    # Ctrl-\ (BRK) and Ctrl-Z (SUSP): in line mode both BSD telnets send them
    # as telnet commands, with a TIMING-MARK, rather than signalling themselves.
    for key, name, command in (("C-\\", "ctrl-backslash", b"\xff\xf3\xff\xfd\x06"),
                               ("C-z", "ctrl-z", b"\xff\xed\xff\xfd\x06")):
        s.pane.keys(key)
        if s.relay:
            kit.eventually(lambda: command in s.client_sent(), PATIENCE,
                           "%s as %s from the client" % (name, command.hex(" ")))
        s.pane_sees_after_interrupt("after " + name)
    s.pane.keys("C-c")
    s.pane_sees_after_interrupt("after a third ctrl-c")
    if s.pane.dead():
        raise AssertionError("the telnet process exited")
    answered_every_timing_mark(s)
    no_ff("the raw peer", bytes(s.peer.raw))


def telnet_utf8(t):
    s = Session(t.argv, tls=t.tls)
    s.pane.wait(r"^\* joined lobby")
    # A fresh session, nothing negotiated: inetutils sends 0x9c, 0x83, 0x8f,
    # 0x9a as BRK, IP, AO, SUSP (each with DO TIMING-MARK), which the server
    # must put back.
    s.pane.line(UTF8_FIRST)
    s.peer_sees(UTF8_FIRST)
    s.pane_sees("the window still works")
    # Once the client has spoken telnet, BINARY is on and every byte passes.
    s.pane.keys("C-c")
    binary_on(s)
    s.pane_sees_after_interrupt("after ctrl-c")
    s.pane.line(t.typable)
    s.peer_sees(t.typable)
    s.pane.line("京都 and 😀 again")
    s.peer_sees("京都 and 😀 again")
    s.pane_sees("the window still works after UTF-8")
    if s.pane.dead() or re.search(r"telnet(-ssl)?> ", s.pane.text()):
        raise AssertionError("the client left the session:\n" + s.pane.text())
    no_ff("the raw peer", bytes(s.peer.raw))


def telnet_utf8_fresh(t):
    """The issue's whole text as the very first line (known limit: see UTF8_FIRST)."""
    s = Session(t.argv, tls=t.tls)
    s.pane.wait(r"^\* joined lobby")
    s.pane.line(UTF8_ALL)
    try:
        s.peer_sees(UTF8_ALL, PROMPT)
    except AssertionError as e:
        sent = s.client_sent()
        raise Known("typed before BINARY is on, %s\n  the client sent: %s\n  the pane ends with: %r"
                    % (str(e).split(";")[0], sent.hex(" ") if sent is not None else "(TLS: not visible)",
                       s.pane.rows()[-3:]))
    if re.search(r"telnet(-ssl)?> ", s.pane.text()):
        raise Known("the line arrived, but the client went to its telnet> prompt")


def netkit_utf8_after_binary(t):
    """The issue's whole text with BINARY on (known limit of netkit: see UTF8_NETKIT)."""
    s = Session(t.argv, tls=t.tls)
    s.pane.wait(r"^\* joined lobby")
    s.pane.keys("C-c")
    binary_on(s)
    s.pane_sees_after_interrupt("binary is on now")
    s.pane.line(UTF8_ALL)
    try:
        s.peer_sees(UTF8_ALL, PROMPT)
    except AssertionError as e:
        sent = s.client_sent()
        raise Known("with BINARY on, %s\n  the client sent: %s\n  the pane ends with: %r"
                    % (str(e).split(";")[0], sent.hex(" ") if sent is not None else "(TLS: not visible)",
                       s.pane.rows()[-3:]))


def telnet_erase(t):
    """EC and EL from the telnet> prompt edit the part of the line already sent.

    In line mode the escape key ends the terminal's line, so the client sends
    what was typed so far before its prompt; "send ec" then removes the last
    character (a whole UTF-8 one), "send el" the whole partial line.
    """
    s = Session(t.argv, tls=t.tls)
    s.pane.wait(r"^\* joined lobby")
    s.pane.type("abc日")
    s.pane.prompt()
    s.pane.line("send ec")
    s.pane.line("d")
    s.peer_sees("abcd")
    s.pane.type("to be erased")
    s.pane.prompt()
    s.pane.line("send el")
    s.pane.line("fresh line")
    s.peer_sees("fresh line")


def staircase_check(s, typed):
    """Each typed line, and each line from the peer, starts at column 0."""
    rows = s.pane.rows()
    for text in typed:
        row = next((r for r in rows if text in r), None)
        if row is None:
            raise AssertionError("%r is not in the pane:\n%s" % (text, "\n".join(rows)))
        # The first typed line may follow the "^C" the terminal echoed.
        if not (row.startswith(text) or row.startswith("^C" + text)):
            raise AssertionError("staircase: %r starts at column %d:\n%s" % (text, row.index(text), "\n".join(rows)))
    for row in rows:
        if "<peer>" in row and not row.startswith("<peer>") and not row.startswith("^C<peer>"):
            raise AssertionError("staircase: a peer line starts at column %d:\n%s"
                                 % (row.index("<peer>"), "\n".join(rows)))


def telnet_staircase(t):
    s = Session(t.argv, tls=t.tls)
    s.pane.wait(r"^\* joined lobby")
    s.pane.keys("C-c")  # any telnet command from the client starts the negotiation
    binary_on(s)
    s.pane_sees_after_interrupt("binary is on now")
    typed = ["stair one", "stair two", "stair three"]
    for text in typed:  # typed back to back, nothing in between
        s.pane.line(text)
        s.peer_sees(text)
        cursor_at_column_0(s, "the echo of %r" % text)
    staircase_check(s, typed)
    for i, text in enumerate(["mixed one", "mixed two", "mixed three"]):  # with lines arriving in between
        s.pane.line(text)
        s.peer_sees(text)
        cursor_at_column_0(s, "the echo of %r" % text)
        s.pane_sees("reply %d" % i)
        typed.append(text)
    staircase_check(s, typed)


def cursor_at_column_0(s, after):
    """The echo of Enter is a bare LF with BINARY on; only the server's CR,
    which comes after the peer got the line, puts the cursor back."""
    kit.eventually(lambda: s.pane.cursor_x() == 0, PATIENCE,
                   "staircase: the cursor back at column 0 after %s" % after, detail=s.pane.text)


def telnet_character_mode(t):
    s = Session(t.argv, tls=t.tls)
    s.pane.wait(r"^\* joined lobby")
    s.pane.prompt()
    s.pane.line("mode character")
    if s.relay:
        # The client asks for SGA and ECHO; the server must refuse both.
        kit.eventually(lambda: b"\xff\xfd\x03" in s.client_sent(), PATIENCE, "the client's DO SUPPRESS-GO-AHEAD")
        kit.eventually(lambda: b"\xff\xfc\x03" in s.server_sent() and b"\xff\xfc\x01" in s.server_sent(), PATIENCE,
                   "the server's WONT SUPPRESS-GO-AHEAD and WONT ECHO",
                   detail=lambda: s.relay.trace())
    s.pane.line("typed in character mode")
    s.peer_sees("typed in character mode")
    s.pane.line("/who")
    s.pane.wait(r"^\* in lobby: %s, peer$" % re.escape(s.nick), "the /who reply")
    s.pane_sees("still chatting in character mode")
    s.pane.line(t.typable)
    s.peer_sees(t.typable)


def negotiations(data):
    """The IAC WILL/WONT/DO/DONT commands in data, as (verb, option) pairs."""
    found, i = [], 0
    while True:
        i = data.find(b"\xff", i)
        if i < 0 or i + 1 >= len(data):
            return found
        if data[i + 1] == 0xFF:
            i += 2
        elif 251 <= data[i + 1] <= 254 and i + 2 < len(data):
            found.append((data[i + 1], data[i + 2]))
            i += 3
        else:
            i += 2


def telnet_negotiating(t):
    """A port written -PORT makes BSD telnet offer its options as on port 23."""
    s = Session(" ".join(t.argv) + " -- 127.0.0.1 -{port}", tls=t.tls)
    s.pane.wait(r"^\* joined lobby")
    if s.relay:
        will, wont, do, dont = 251, 252, 253, 254
        kit.eventually(lambda: negotiations(s.client_sent()), PATIENCE, "the client's offers")
        binary_on(s)
        offers = [n for n in negotiations(s.client_sent()) if n[1] != 0]
        want = [(dont if v == will else wont, o) for v, o in offers if v in (will, do)]
        kit.eventually(lambda: all(n in negotiations(s.server_sent()) for n in want), PATIENCE,
                   "a refusal of each offer", detail=s.relay.trace)
    s.pane.line(t.typable)  # BINARY came with the first answer: even the first line passes
    s.peer_sees(t.typable)
    s.pane_sees("negotiated and chatting")
    s.pane.keys("C-c")
    s.pane_sees_after_interrupt("after ctrl-c")
    s.pane.line("/who")
    s.pane.wait(ECHOED_KEYS + r"\* in lobby: %s, peer$" % re.escape(s.nick), "the /who reply")
    if s.relay:
        # RFC 1143: each refusal and each BINARY request once, nothing answered twice.
        got = negotiations(s.server_sent())
        twice = sorted({n for n in got if got.count(n) > 1 and n[1] != 6})
        if twice:
            raise AssertionError("the server sent these more than once: %s\n%s" % (twice, s.relay.trace()))


def telnet_are_you_there(t):
    s = Session(t.argv, tls=t.tls)
    s.pane.wait(r"^\* joined lobby")
    s.pane.prompt()
    s.pane.line("send ayt")
    s.pane.wait(r"^\* yes, still here", "a visible answer to AYT")
    s.pane.line("after ayt")
    s.peer_sees("after ayt")


# --- busybox --------------------------------------------------------------

BUSYBOX = "busybox telnet 127.0.0.1 {port}"
# What telnet bytes or broken UTF-8 would look like in a UTF-8 pane.
GARBAGE = re.compile("[\ufffd\u00ff]|\\^\\[|\x1b")


def busybox_chat(_):
    s = Session(BUSYBOX)
    s.pane.wait(r"^\* joined lobby")
    s.pane_sees("hello busybox")
    s.pane.line("hello from busybox")
    s.peer_sees("hello from busybox")
    s.pane.line(UTF8_ALL)  # busybox neither strips bit 7 nor has control keys in its line mode
    s.peer_sees(UTF8_ALL)
    s.pane_sees("über 日本語 😀")
    # Ctrl-Z: busybox ignores SIGTSTP and sends nothing; the session goes on.
    s.pane.keys("C-z")
    s.pane.line("after ctrl-z")
    s.peer_sees("after ctrl-z")
    s.pane_sees("busybox still here")
    text = s.pane.text()
    if GARBAGE.search(text):
        raise AssertionError("garbage in the busybox pane:\n" + text)
    no_ff("busybox", s.server_sent())


def busybox_character_mode(_):
    s = Session(BUSYBOX)
    s.pane.wait(r"^\* joined lobby")
    # In line mode busybox telnet turns SIGINT (Ctrl-C) into its console
    # menu; "c" asks the server for character mode (Ctrl-\ would kill it:
    # SIGQUIT; Ctrl-Z suspends it from the menu's "z"; neither is tested).
    s.pane.keys("C-c")
    s.pane.wait(r"Console escape", "busybox's console menu")
    s.pane.keys("c")
    kit.eventually(lambda: b"\xff" in s.client_sent(), PATIENCE, "busybox to send a telnet command",
                   detail=s.relay.trace)
    s.pane.line("typed after asking for character mode")
    s.peer_sees("typed after asking for character mode")
    s.pane.line("/who")
    s.pane.wait(r"^\* in lobby: %s, peer\s*$" % re.escape(s.nick), "the /who reply")
    s.pane_sees("both ways after character mode")
    text = s.pane.text()
    if GARBAGE.search(text):
        raise AssertionError("garbage in the busybox pane:\n" + text)


# --- nc, socat, openssl s_client ---------------------------------------------

def line_client_chat(template, label):
    s = Session(template)
    s.pane.wait(r"^\* joined lobby")
    s.pane_sees("hello " + label)
    s.pane.line("hello from " + label)
    s.peer_sees("hello from " + label)
    s.pane.line(UTF8_ALL)
    s.peer_sees(UTF8_ALL)
    s.pane.line("/who")
    s.pane.wait(r"^\* in lobby: %s, peer\s*$" % re.escape(s.nick), "the /who reply")
    no_ff(label, s.server_sent())
    if b"\xff" in s.client_sent():
        raise AssertionError("%s sent a telnet byte?" % label)


def last_line_without_lf(command_template):
    srv = Server()
    cmd = command_template.format(port=srv.port)
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, timeout=PATIENCE)
    out = r.stdout.decode("utf-8", "replace")
    if not re.search(r"^\* in lobby: guest-\d+\r?$", out, re.M):
        raise AssertionError("%s printed no '* in lobby: ...' (exit %d):\n%s" % (cmd, r.returncode, out))


def s_client_chat(_):
    srv = Server(tls=True)
    peer = Peer(srv.port)
    pane = Pane("openssl s_client -quiet -connect 127.0.0.1:%d" % srv.tls_port)
    nick = peer.wait_line(rb"\* guest-\d+ joined$").split()[1].decode()
    pane.wait(r"^\* joined lobby")
    peer.say("hello s_client")
    pane.wait(r"^<peer> hello s_client\s*$")
    # Without -quiet, s_client takes lines starting with R, Q, k or K as its commands.
    for text in ("Rome is nice", "Quite so", "kilometres", "Kyoto 京都", "hello from s_client"):
        pane.line(text)
        got = peer.said_by(nick)
        if got != text.encode():
            raise AssertionError("peer got %r for %r" % (got, text))
    pane.line("/who")
    pane.wait(r"^\* in lobby: %s, peer\s*$" % re.escape(nick), "the /who reply")
    if pane.dead():
        raise AssertionError("s_client exited")


# --- who must never see telnet -------------------------------------------------

def nobody_else_sees_telnet(_):
    srv = Server()
    raw = Peer(srv.port, nick="raw")
    nc_relay, socat_relay, telnet_relay = relay("nc", srv.port), relay("socat", srv.port), relay("telnet", srv.port)
    nc = Pane("nc 127.0.0.1 %d" % nc_relay.port)
    raw.wait_line(rb"\* guest-\d+ joined$")
    socat = Pane("socat - TCP:127.0.0.1:%d" % socat_relay.port)
    raw.wait_line(rb"\* guest-\d+ joined$")
    tel = Pane("inetutils-telnet 127.0.0.1 %d" % telnet_relay.port)
    tnick = raw.wait_line(rb"\* guest-\d+ joined$").split()[1].decode()
    tel.wait(r"^\* joined lobby")
    # The telnet user does everything that makes the server speak telnet to it.
    tel.line(UTF8_FIRST)
    tel.keys("C-c")
    tel.keys("C-c")
    tel.keys("C-\\")
    tel.line(UTF8_ALL)
    tel.prompt()
    tel.line("send ayt")
    tel.wait(r"^\* yes, still here")
    tel.prompt()
    tel.line("mode character")
    tel.line("after character mode")
    for text in (UTF8_FIRST, UTF8_ALL, "after character mode"):
        got = raw.said_by(tnick)
        if got != text.encode():
            raise AssertionError("raw peer got %s for %r" % (got.hex(" "), text))
    for pane in (nc, socat):
        pane.wait(r"^<%s> after character mode\s*$" % tnick, "the telnet user's last line")
    raw.say("raw says hi")
    tel.wait(r"^<raw> raw says hi$")
    nc.wait(r"^<raw> raw says hi\s*$")
    socat.wait(r"^<raw> raw says hi\s*$")
    if b"\xff" not in telnet_relay.stream("s>c"):
        raise AssertionError("the telnet client was never answered in telnet; the check proves nothing")
    no_ff("the raw socket", bytes(raw.raw))
    no_ff("nc", nc_relay.stream("s>c"))
    no_ff("socat", socat_relay.stream("s>c"))


def plain_clients_get_no_telnet(_):
    """Connect, chat, even send IAC IAC (a literal 0xFF): not one telnet byte back."""
    srv = Server()
    a = Peer(srv.port, nick="alice")
    b = Peer(srv.port, nick="bob")
    a.say("/who")
    a.wait_line(rb"\* in lobby: alice, bob$")
    # IAC IAC is data, not a telnet command: no negotiation starts, and the
    # byte is invalid UTF-8, so bob gets U+FFFD for it.
    a.send_raw(b"caf\xff\xff\xc3\xa9 ok\n")
    got = b.said_by("alice")
    if got != "caf\ufffd\u00e9 ok".encode():
        raise AssertionError("bob got %s for caf IAC IAC \u00e9 ok" % got.hex(" "))
    b.say("still plain?")
    a.wait_line(rb"<bob> still plain\?$")
    no_ff("the sender of IAC IAC", bytes(a.raw))
    no_ff("the raw peer", bytes(b.raw))


# --- the run --------------------------------------------------------------------

class Known(Exception):
    pass


CASES = []
for t in TELNETS:
    CASES += [
        ("%s: Ctrl-C twice, Ctrl-\\, Ctrl-Z, lines still arrive" % t.name, telnet_control_keys, t),
        ("%s: UTF-8 and emoji typed arrive byte-exact" % t.name, telnet_utf8, t),
        ("%s: no staircase" % t.name, telnet_staircase, t),
        ("%s: character mode still delivers lines and /who" % t.name, telnet_character_mode, t),
        ("%s: AYT gets a visible answer" % t.name, telnet_are_you_there, t),
        ("%s: options offered as on port 23 (-PORT) are refused once, chat works" % t.name, telnet_negotiating, t),
        ("%s: EC and EL edit the line being received" % t.name, telnet_erase, t),
        ("%s: the issue's whole UTF-8 text as the very first line" % t.name, telnet_utf8_fresh, t),
    ]
    if t.typable != UTF8_ALL:
        CASES.append(("%s: the issue's whole UTF-8 text with BINARY on" % t.name, netkit_utf8_after_binary, t))
BB = Client("busybox", ["busybox"])
CASES += [
    ("busybox telnet: chat both ways, UTF-8, Ctrl-Z, no garbage", busybox_chat, BB),
    ("busybox telnet: character mode asked for, lines still delivered", busybox_character_mode, BB),
    ("nc: chat both ways", lambda _: line_client_chat("nc 127.0.0.1 {port}", "nc"), Client("nc", ["nc"])),
    ("socat: chat both ways", lambda _: line_client_chat("socat - TCP:127.0.0.1:{port}", "socat"),
     Client("socat", ["socat"])),
    ("nc -N: '/who' without LF before EOF is answered",
     lambda _: last_line_without_lf("printf '/who' | nc -N 127.0.0.1 {port}"), Client("nc", ["nc"])),
    ("socat: '/who' without LF before EOF is answered",
     lambda _: last_line_without_lf("printf '/who' | socat -t 5 - TCP:127.0.0.1:{port}"),
     Client("socat", ["socat"])),
    ("openssl s_client -quiet on the TLS port: chat both ways, lines starting R Q k K",
     s_client_chat, Client("openssl", ["openssl"], tls=True)),
    ("raw socket, nc and socat never get 0xFF while a telnet user negotiates", nobody_else_sees_telnet,
     Client("nc, socat, inetutils telnet", ["nc"], needs=["nc", "socat", "inetutils-telnet"])),
    ("raw sockets: no telnet bytes on connect, in chat, after IAC IAC", plain_clients_get_no_telnet,
     Client("python", [sys.executable])),
]


def run_case(fn, client):
    fn(client)
    for srv in _servers:
        if srv.proc.poll() is not None:
            raise AssertionError("the server exited (status %s) during the case:\n%s"
                                 % (srv.proc.returncode, srv.text()[-2000:]))


def print_traces_and_logs(_name):
    for label, p in _traces:
        print("  bytes %s (c>s client to server, s>c server to client):\n    %s"
              % (label, p.trace().replace("\n", "\n    ")), flush=True)
    for srv in _servers:
        print("  server log (last lines):\n    %s"
              % "\n    ".join(srv.text().rstrip().split("\n")[-10:]), flush=True)


def run_cleanups(_name):
    for fn_ in reversed(_cleanups):
        try:
            fn_()
        except Exception:
            pass


def main():
    if not have("tmux"):
        print("FAIL all: tmux is not installed")
        print("0 passed, %d failed" % len(CASES))
        return 1
    TMUX("new-session", "-d", "-s", "main", "-x", "160", "-y", "60")
    TMUX("set-option", "-g", "remain-on-exit", "on")
    TMUX("set-option", "-g", "history-limit", "5000")
    TMUX("set-option", "-g", "default-size", "160x60")
    runner = kit.CheckRunner(tracebacks=False, timed=True, known=Known, strict=OPTS.strict,
                             on_failure=print_traces_and_logs, after=run_cleanups)
    try:
        for name, fn, client in CASES:
            if OPTS.only and OPTS.only not in name:
                continue
            missing = client.missing()
            if missing:
                runner.fail(name, "skipped, " + missing)
                continue
            del _cleanups[:]
            del _traces[:]
            del _servers[:]
            if runner.run(name, run_case, fn, client) and OPTS.trace:
                for label, p in _traces:
                    print("  bytes %s:\n    %s" % (label, p.trace().replace("\n", "\n    ")), flush=True)
    finally:
        TMUX.kill_server()
        shutil.rmtree(WORK, ignore_errors=True)
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
