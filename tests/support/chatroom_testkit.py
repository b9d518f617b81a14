"""The end-to-end test kit: what every Python script under tests/ drives chatroom with.

A script run as `/usr/bin/python3 tests/<area>/X.py ARGS` finds it with

    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
    import chatroom_testkit as kit

and gets:

- eventually(pred, timeout, what): polls pred until it is truthy, against a
  deadline; the only way anything here waits for something to happen.
- listeners(log) / ports(log): the "listening on ..." lines of a
  chatroom-server log, as Listener(kind, address, port) and {kind: port}.
- ServerProcess: chatroom-server (or any command that logs the same lines) as
  a process with its log in a file; started on port 0 and told its ports by
  its log, stopped by PID (SIGTERM, then SIGKILL after the patience), and
  always killed: by close(), by `with`, or at the latest when Python exits.
- LineReader / LineClient: lines from a byte stream, each read against a
  deadline; LineClient is one connection (TCP or Unix) speaking the line
  protocol, keeping every byte it got (raw) and every line it read (seen).
- Tmux / TmuxPane: a tmux server of its own (-L) and one pane in it:
  send-keys, capture-pane, waits on what the pane shows.
- CheckRunner: runs named checks, prints PASS/FAIL per check and
  "N passed, M failed" last; its exit status is 1 on any failure.

Timeouts are always the caller's (each script keeps its own PATIENCE): the
kit has no clock of its own but the deadlines it is given.
"""
import atexit
import collections
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

POLL = 0.02  # seconds between two looks at a condition; never a way to synchronize


# ---- waiting -------------------------------------------------------------------

def eventually(pred, timeout, what="the condition", detail=None, interval=POLL):
    """pred's first truthy value, polled until timeout seconds have passed.

    Raises AssertionError naming what was awaited, with detail() appended
    when given (say, what a pane or a log shows). Exceptions from pred
    propagate at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > deadline:
            more = detail() if detail else ""
            raise AssertionError("timed out (%.0f s) waiting for %s%s" % (timeout, what, "\n" + more if more else ""))
        time.sleep(interval)


# ---- the server's log ----------------------------------------------------------

Listener = collections.namedtuple("Listener", "kind address port")

# "... listening on 127.0.0.1:5000 (tcp)", "[::]:5000 (tcp)", "127.0.0.1:5001 (tls)",
# "http://127.0.0.1:8080 (web)", "https://...", "/tmp/chat.sock (unix)".
_LISTENING = re.compile(r"listening on (?:(https?)://)?(\[[^\]\s]*\]|/[^\n]*?(?= \(\w+\)$|$)|[^\s\[\]/:]+)"
                        r"(?::(\d+))?(?: \((\w+)\))?$", re.M)


def listeners(log_text):
    """Every listener a chatroom-server log announces, in order.

    kind is the word in parentheses (tcp, tls, web, unix); without one, a
    URL scheme means web and anything else tcp. port is None for a Unix socket.
    """
    found = []
    complete = log_text[:log_text.rfind("\n") + 1]  # a line still being written may lack digits of its port
    for m in _LISTENING.finditer(complete):
        scheme, address, port, kind = m.groups()
        kind = kind or ("web" if scheme else "tcp")
        found.append(Listener(kind, address, int(port) if port else None))
    return found


def ports(log_text):
    """{kind: port} of the first listener of each kind in the log."""
    out = {}
    for listener in listeners(log_text):
        out.setdefault(listener.kind, listener.port)
    return out


# ---- the server process ----------------------------------------------------------

_running = set()  # ServerProcesses not yet closed: killed at exit whatever happened


@atexit.register
def _kill_leftovers():
    for server in list(_running):
        server.close()


class ServerProcess:
    """chatroom-server as a process, its stderr in a log file, its ports read from the log.

    ServerProcess(argv, patience) starts nothing; start(*args) runs
    argv + args and returns once the log of that run announces the listeners
    in want (kinds; by default any one listener). It may be started again
    after stop(): the log file is kept and each run is read from where it began.
    """

    def __init__(self, argv, patience, log_dir=None, prefix="chatroom-server-"):
        self.argv = list(argv)
        self.patience = patience
        fd, self.log_path = tempfile.mkstemp(prefix=prefix, suffix=".log", dir=log_dir)
        os.close(fd)
        self.proc = None
        self.listeners = []
        self.ports = {}
        self.port = None  # the first listener's port (None for a Unix socket)
        self.log_offset = 0  # where the latest run's lines begin
        _running.add(self)

    @property
    def pid(self):
        return self.proc.pid

    def text(self):
        """The whole log, every run."""
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def run_text(self):
        """The latest run's log."""
        return self.text()[self.log_offset:]

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, *args, want=None, retry=False):
        """Starts argv + args; waits for the listeners of the kinds in want.

        The process exiting first fails the start with its log, unless retry:
        then it is started again until the deadline (a port of the previous
        run still taken, a binary being relinked).
        """
        deadline = time.monotonic() + self.patience
        argv = self.argv + [str(a) for a in args]
        while True:
            self.log_offset = len(self.text())
            try:
                with open(self.log_path, "ab") as log:
                    self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                 stderr=log)
            except OSError as e:  # missing, or "text file busy" while the linker writes it
                if not retry or time.monotonic() > deadline:
                    raise AssertionError("cannot run %s: %s" % (argv[0], e))
                time.sleep(POLL)
                continue

            def listening():
                found = listeners(self.run_text())
                if found and all(k in {l.kind for l in found} for k in (want or ())):
                    return found
                if self.proc.poll() is not None:
                    return "exited"
                return None
            got = eventually(listening, max(0.0, deadline - time.monotonic()),
                             "%s to log its listening line(s)" % os.path.basename(argv[0]),
                             detail=self.run_text)
            if got != "exited":
                self.listeners = got
                self.ports = ports(self.run_text())
                self.port = got[0].port
                return self
            if not retry or time.monotonic() > deadline:
                raise AssertionError("server exited with %s before listening:\n%s"
                                     % (self.proc.returncode, self.run_text()[-3000:]))

    def send_signal(self, sig):
        """Sends sig by PID if the process still runs."""
        if self.running():
            self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, must_stop=True):
        """sig by PID, then waits up to the patience; SIGKILL after that.

        Returns the exit status. A process that had to be killed fails with
        AssertionError when must_stop (and returns None otherwise).
        """
        if self.proc is None:
            return None
        self.send_signal(sig)
        try:
            return self.proc.wait(self.patience)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            if must_stop:
                raise AssertionError("server did not stop within %.0f s of signal %d" % (self.patience, sig))
            return None

    def kill(self):
        """SIGKILL by PID if it still runs, and reaped."""
        if self.running():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()

    def close(self):
        """Kills the process if it still runs and removes the log."""
        self.kill()
        try:
            os.unlink(self.log_path)
        except OSError:
            pass
        _running.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- lines -------------------------------------------------------------------------

class ConnectionClosed(AssertionError, EOFError):
    """The stream ended while a line was awaited (an AssertionError and an EOFError)."""


class LineReader:
    """Lines from a byte source, each read against a deadline.

    A subclass gives fill(timeout): the bytes that arrived within timeout,
    None if none did, b"" at the end of the stream. Lines end at LF; one
    CR before it is dropped (require_cr: it must be there). Every byte
    received is kept in raw, every line read in seen.
    """

    def __init__(self, patience, errors="strict", require_cr=False, name="client"):
        self.patience = patience
        self.errors = errors
        self.require_cr = require_cr
        self.name = name
        self.buf = b""
        self.raw = bytearray()
        self.seen = []
        self.skipped = []

    def fill(self, timeout):
        raise NotImplementedError

    def _more(self, deadline):
        chunk = self.fill(max(0.0, deadline - time.monotonic()))
        if chunk is None:
            return False
        if not chunk:
            raise ConnectionClosed("%s: the stream ended; have %r after %r" % (self.name, self.buf, self.seen[-8:]))
        self.raw += chunk
        self.buf += chunk
        return True

    def line(self, timeout=None, deadline=None):
        """The next line, within timeout seconds (the patience by default) or by deadline."""
        if deadline is None:
            deadline = time.monotonic() + (self.patience if timeout is None else timeout)
        while b"\n" not in self.buf:
            if not self._more(deadline) and time.monotonic() >= deadline:
                raise AssertionError("%s: no line in time; have %r after %r" % (self.name, self.buf, self.seen[-8:]))
        raw, self.buf = self.buf.split(b"\n", 1)
        if self.require_cr:
            assert raw.endswith(b"\r"), raw
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        text = raw.decode("utf-8", self.errors)
        self.seen.append(text)
        return text

    def read_until(self, pred, timeout=None):
        """The first line pred accepts, and the lines read before it.

        With timeout, all of it within timeout seconds; without, each line
        within the patience (so a steady stream of other lines never ends it).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        skipped = []
        while True:
            try:
                l = self.line(deadline=deadline)
            except ConnectionClosed:
                raise
            except AssertionError as e:
                raise AssertionError("%s; the lines read while waiting: %r" % (e, skipped[-12:])) from None
            if pred(l):
                self.skipped = skipped
                return l, skipped
            skipped.append(l)

    def wait_for(self, pred, timeout=None):
        """The first line pred accepts (see read_until)."""
        return self.read_until(pred, timeout)[0]

    def until_closed(self, timeout=None):
        """Reads to the end of the stream within timeout; the lines it had left (a last one without LF too)."""
        deadline = time.monotonic() + (self.patience if timeout is None else timeout)
        while time.monotonic() < deadline:
            try:
                self._more(deadline)
            except ConnectionClosed:
                rest = [l.rstrip(b"\r").decode("utf-8", self.errors) for l in self.buf.split(b"\n") if l]
                self.buf = b""
                self.seen += rest
                return rest
        raise AssertionError("%s: connection not closed in time; have %r" % (self.name, self.buf))


class LineClient(LineReader):
    """One connection to the line protocol: TCP to host:port, or a Unix socket at path.

    source connects from that local address (another loopback address is
    another client address to the server). send() adds eol ("\\r\\n" as
    telnet sends, or "\\n" as nc does).
    """

    def __init__(self, port=None, patience=20.0, host="127.0.0.1", path=None, source=None, eol="\r\n", **kw):
        super().__init__(patience, **kw)
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.settimeout(patience)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection((host, port), timeout=patience,
                                                 source_address=(source, 0) if source else None)
        self.eol = eol.encode()
        self.nick = None

    def fill(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return None
        try:
            return self.sock.recv(65536)
        except ConnectionResetError:
            return b""

    def send(self, text):
        self.sock.sendall(text.encode() + self.eol)

    def send_raw(self, data):
        self.sock.sendall(data)

    def greet(self, until=lambda l: l.startswith("* joined lobby"), timeout=None):
        """Reads the welcome line (taking the nick it gives) up to the line until accepts; the lines between."""
        hello = self.line(timeout)
        assert hello.startswith("* welcome to "), hello
        self.nick = hello.rsplit(" ", 1)[1]
        return self.read_until(until, timeout)[1]

    def close(self):
        self.sock.close()



class IrcSpeaker:
    """What a raw IRC client does, over whatever connection the class it is
    mixed into has (send(), wait_for()): expect a line, register."""

    patience = 20.0

    def expect(self, pattern):
        """The first line read from now on that matches pattern (re.search)."""
        return self.wait_for(lambda l: re.search(pattern, l), self.patience)

    def register(self, nick, caps=None, to_motd_end=False):
        """CAP LS 302, CAP REQ caps (ACKed whole), NICK, USER, CAP END; waits
        for 001 (to_motd_end: for 376 or 422). Returns the CAP LS line."""
        self.send("CAP LS 302")
        ls = self.expect(r" CAP \* LS :")
        if caps:
            self.send("CAP REQ :" + caps)
            self.expect(r" CAP \* ACK :" + re.escape(caps) + "$")
        self.send("NICK " + nick)
        self.send("USER %s 0 * :The %s" % (nick, nick))
        self.send("CAP END")
        if to_motd_end:
            self.expect(r" 376 %s |422 %s " % (re.escape(nick), re.escape(nick)))
        else:
            self.expect(r"^:\S+ 001 %s :" % re.escape(nick))
        return ls


class IrcClient(IrcSpeaker, LineClient):
    """A raw IRC client over TCP: CR LF lines out, every line it reads kept; each wait bounded."""

    def __init__(self, port, name, patience=20.0):
        super().__init__(port, patience, name=name, require_cr=True)
        self.patience = patience

# ---- tmux --------------------------------------------------------------------------

class Tmux:
    """A tmux server of its own (-L NAME), so that no user's session is touched.

    flags go before the command (say "-u", "-f", "/dev/null"); env, when
    given, is added to the environment tmux runs in (the server takes it
    from the first command).
    """

    def __init__(self, name, patience, flags=(), env=None):
        self.base = ["tmux", *flags, "-L", name]
        self.patience = patience
        self.env = dict(os.environ, **env) if env else None

    def __call__(self, *args, check=True):
        r = subprocess.run(self.base + list(args), capture_output=True, timeout=self.patience, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError("tmux %s: %s" % (" ".join(args), r.stderr.decode(errors="replace").strip()))
        return r.stdout.decode("utf-8", errors="replace")

    def kill_server(self):
        self("kill-server", check=False)


class TmuxPane:
    """One pane of a Tmux: keys in, what it shows out."""

    def __init__(self, tmux, target, label=""):
        self.tmux, self.target, self.label = tmux, target, label

    def keys(self, *keys):
        """send-keys: key names (Enter, C-c, Up, ...)."""
        self.tmux("send-keys", "-t", self.target, *keys)

    def type(self, text):
        """send-keys -l: text typed literally."""
        self.tmux("send-keys", "-t", self.target, "-l", text)

    def text(self, escapes=False, history=0):
        """capture-pane: the screen, history lines of scrollback above it, with escape sequences if asked."""
        args = ["capture-pane", "-p", "-t", self.target]
        if history:
            args += ["-S", str(-history)]
        if escapes:
            args.append("-e")
        return self.tmux(*args)

    def display(self, fmt):
        return self.tmux("display-message", "-p", "-t", self.target, fmt).strip()

    def dead(self):
        return self.display("#{pane_dead}") == "1"

    def cursor_x(self):
        return int(self.display("#{cursor_x}"))

    def wait(self, pred, what, timeout=None, **text_args):
        """pred(text)'s first truthy value; on timeout the failure shows the pane."""
        return eventually(lambda: pred(self.text(**text_args)), self.tmux.patience if timeout is None else timeout,
                          what, detail=lambda: "the pane%s shows:\n%s"
                          % (" (%s)" % self.label if self.label else "", self.text(**text_args).rstrip()))

    def kill(self):
        self.tmux("kill-pane", "-t", self.target, check=False)


# ---- the check runner ----------------------------------------------------------------

class CheckRunner:
    """Runs named checks one after another and counts them.

    A check passes when it returns and fails when it raises; the failure is
    printed (the traceback with tracebacks, else an AssertionError's message
    and other exceptions' traceback) and the run goes on. A check run with
    fatal=True that fails makes the later ones SKIP (counted as failed)
    unless they are run with always=True. An exception of the class known
    prints KNOWN and counts as a failure only with strict. on_failure(name)
    runs after a failure is printed, after(name) after every check.
    """

    def __init__(self, tracebacks=True, timed=False, known=None, strict=False, on_failure=None, after=None):
        self.tracebacks, self.timed = tracebacks, timed
        self.known_class, self.strict = known, strict
        self.on_failure, self.after = on_failure, after
        self.passed = self.failed = 0
        self.known = []
        self.fatal = False

    def run(self, name, fn, *args, fatal=False, always=False):
        """Runs fn(*args) as the check name; True if it passed."""
        if self.fatal and not always:
            print("SKIP %s (an earlier step failed)" % name, flush=True)
            self.failed += 1
            return False
        started = time.monotonic()
        try:
            fn(*args)
        except Exception as e:  # a failed check is reported and the run goes on
            if self.known_class is not None and isinstance(e, self.known_class):
                self.known.append(name)
                if self.strict:
                    self.failed += 1
                print("KNOWN %s: %s" % (name, e), flush=True)
                return False
            self.failed += 1
            self.fatal = self.fatal or fatal
            print("FAIL %s" % name, flush=True)
            if self.tracebacks or not isinstance(e, AssertionError):
                traceback.print_exc()
            else:
                print("     " + str(e).replace("\n", "\n     "))
            if self.on_failure:
                self.on_failure(name)
            return False
        finally:
            if self.after:
                self.after(name)
            sys.stdout.flush()
            sys.stderr.flush()
        self.passed += 1
        print("PASS %s%s" % (name, " (%.1f s)" % (time.monotonic() - started) if self.timed else ""), flush=True)
        return True

    def record(self, name, ok, detail=""):
        """A check decided by the caller: counted, printed with detail when it failed; returns ok."""
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(("PASS " if ok else "FAIL ") + name + ("" if ok or not detail else ": " + detail), flush=True)
        return ok

    def fail(self, name, why):
        """A check that could not run, counted as failed."""
        return self.record(name, False, why)

    def summary(self):
        """Prints the known limitations, if any, and "N passed, M failed"; returns the exit status."""
        if self.known:
            print("%d known limitation(s)%s: %s" % (len(self.known), " (counted as failures: --strict)"
                                                    if self.strict else " (not counted; --strict counts them)",
                                                    "; ".join(self.known)))
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 1 if self.failed else 0
