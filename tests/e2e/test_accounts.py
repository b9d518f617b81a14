#!/usr/bin/env python3
"""End to end: chatroom-server's accounts and operators over the line protocol.

Usage: test_accounts.py SERVER [WORD...]   (WORDs: run only the checks whose names contain one)

--hash-password, --users (name:hash[:op]), --require-login, --motd, SIGHUP
reloads, impersonation, logins, the failed-login limit, /login floods, and
an operator's /kick, /ban, /unban, /mute, /unmute and /topic, bans by
address and what operators on a banned address may still do. Each check
starts its own server on 127.0.0.1 (port 0, read from its log), stops it by
PID, and waits on conditions with deadlines. Clients connect from 127.0.0.1
unless a check gives them another loopback address (127.0.0.2, ...), which
is another address to the server. Prints "N passed, M failed" last.
"""
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import chatroom_testkit as kit  # noqa: E402

SERVER = sys.argv[1]
PATIENCE = 20.0

# Every secret a check types; none may ever reach a server's log.
SECRETS = {"alice": "alice's secret 1", "bob": "b0b-pw", "carol": "carol pass phrase"}
WRONG = "wrong-secret-%d"
USED_SECRETS = set(SECRETS.values())

LOGIN_FIRST = "! log in first: /login NAME SECRET"
NOT_PERMITTED = "! not permitted"
LOGIN_FAILED = "! wrong name or secret"
TOO_MANY = "! too many failed logins; try again in a minute"
UNDER_WAY = "! too many logins under way from your address; try again when they are answered"
ALREADY = "! a login is already under way"
BUSY = "! server busy, try again"


def only_operators(time_left):
    """What a connection from a banned address is told (and each line it sends but /login, /help, /quit)."""
    return "! you are banned %s; only an operator may log in here: /login NAME SECRET" % time_left


ARGON2ID = re.compile(r"^\$argon2id\$v=19\$m=65536,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


def wrong(n):
    s = WRONG % n
    USED_SECRETS.add(s)
    return s


def hash_password(secret):
    r = subprocess.run([SERVER, "--hash-password"], input=(secret + "\n").encode(), capture_output=True,
                       timeout=PATIENCE)
    assert r.returncode == 0, r
    out = r.stdout.decode()
    assert secret not in out and secret.encode() not in r.stderr, r
    assert out.endswith("\n") and out.count("\n") == 1, out
    return out.strip()


HASHES = {}


def hashed(name):
    if name not in HASHES:
        HASHES[name] = hash_password(SECRETS[name])
    return HASHES[name]


def write(path, text):
    # Written aside and renamed, so a reload never reads half a file.
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def users_text(*names, ops=("alice",)):
    lines = ["# name:hash[:op]"]
    for n in names:
        lines.append("%s:%s%s" % (n, hashed(n), ":op" if n in ops else ""))
    return "\n".join(lines) + "\n"


class Server(kit.ServerProcess):
    """A server with a directory for its users file and motd; args are set before start()."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="chatroom-accounts-")
        super().__init__([SERVER], PATIENCE, log_dir=self.dir)
        self.args = args
        self.conns = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, *more, bind="127.0.0.1"):
        super().start("--bind", bind, "--port", "0", *self.args, *more, want=("tcp",))
        shown = "[%s]" % bind if ":" in bind else bind
        tcp = [l for l in self.listeners if l.kind == "tcp"][0]
        assert tcp.address == shown, (tcp, shown)
        return self

    def wait_log(self, pattern, after=0):
        """Waits until the log (from offset after) matches pattern."""
        def matched():
            m = re.search(pattern, self.text()[after:], re.M)
            if not m and self.proc.poll() is not None:
                raise AssertionError("server exited; log never matched %r:\n%s" % (pattern, self.text()))
            return m
        return kit.eventually(matched, PATIENCE, "the log to match %r" % pattern, detail=self.text)

    def hup(self):
        self.send_signal(signal.SIGHUP)

    def stop(self):
        # Clients gone first, so the server's shutdown has nobody to flush to.
        for c in self.conns:
            c.close()
        rc = super().stop()
        self.check_no_secret_logged()
        return rc

    def check_no_secret_logged(self):
        log = self.text()
        for s in USED_SECRETS:
            assert s not in log, ("a secret reached the log", s, log)

    def connect(self, **kw):
        """A client; source="127.0.0.2" connects from another loopback address."""
        c = Conn(self.port, **kw)
        self.conns.append(c)
        return c

    def close(self):
        super().close()
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))
        os.rmdir(self.dir)


class Conn(kit.LineClient):
    """A telnet-like client: CRLF lines, each within PATIENCE seconds."""

    def __init__(self, port, login_first=False, greet=True, source=None):
        super().__init__(port, PATIENCE, source=source, require_cr=True)
        self.greeting = []
        if greet:
            self.greeting = self.greet((lambda l: l == LOGIN_FIRST) if login_first
                                       else (lambda l: l.startswith("* joined lobby")))

    def expect(self, text):
        l, skipped = self.read_until(lambda l: l == text)
        return skipped

    def answer(self, command, want):
        """Sends a command and waits for its answer, want; a refusal ("! ...")
        other than want fails at once. Room lines before it are returned."""
        self.send(command)
        l, skipped = self.read_until(lambda l: l == want or l.startswith("! "))
        assert l == want, (command, want, l)
        return skipped

    def login(self, name, secret):
        self.send("/login %s %s" % (name, secret))
        l = self.wait_for(lambda l: l.startswith("! ") or l.startswith("* logged in as "))
        if l == "* logged in as " + name:
            self.nick = name
        return l

    def closed(self):
        """Reads to the end of the stream; the lines it had left."""
        return self.until_closed()


def users_server(*args, names=("alice", "bob")):
    srv = Server(*args)
    write(srv.path("users"), users_text(*names))
    return srv


# ---- checks ----------------------------------------------------------------


def check_hash_password_round_trip():
    h1, h2 = hash_password("same secret here"), hash_password("same secret here")
    USED_SECRETS.add("same secret here")
    assert ARGON2ID.match(h1) and ARGON2ID.match(h2), (h1, h2)
    assert h1 != h2, "hashes are salted"
    # Never from the command line, and never an empty secret.
    r = subprocess.run([SERVER, "--hash-password", "a-secret-argument"], input=b"x\n", capture_output=True,
                       timeout=PATIENCE)
    assert r.returncode != 0 and b"$argon2id$" not in r.stdout, r
    for given in (b"", b"\n", b" padded\n"):
        r = subprocess.run([SERVER, "--hash-password"], input=given, capture_output=True, timeout=PATIENCE)
        assert r.returncode != 0 and r.stdout == b"" and r.stderr.startswith(b"chatroom-server: "), (given, r)
    srv = Server()
    with srv:
        write(srv.path("users"), "dave:%s\n" % h1)
        srv.args = ("--users", srv.path("users"))
        srv.start()
        c = srv.connect()
        assert c.login("dave", "same secret here") == "* logged in as dave"
        c.close()
        assert srv.stop() == 0


def check_hash_password_on_a_terminal_does_not_echo():
    secret = "typed on a tty"
    USED_SECRETS.add(secret)
    for second, ok in ((secret, True), ("something else", False)):
        master, slave = os.openpty()
        proc = subprocess.Popen([SERVER, "--hash-password"], stdin=slave, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        seen = b""

        def until(text):
            nonlocal seen
            deadline = time.time() + PATIENCE
            while text not in seen:
                r, _, _ = select.select([master], [], [], max(0, deadline - time.time()))
                if not r:
                    raise AssertionError("no %r on the terminal; have %r" % (text, seen))
                seen += os.read(master, 4096)

        try:
            until(b"secret: ")
            os.write(master, secret.encode() + b"\n")
            until(b"again: ")
            os.write(master, second.encode() + b"\n")
            out, _ = proc.communicate(timeout=PATIENCE)
            try:
                while select.select([master], [], [], 0)[0]:
                    seen += os.read(master, 4096)
            except OSError:
                pass  # the terminal closed with the process
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)
        assert secret.encode() not in seen and second.encode() not in seen, ("echoed", seen)
        if ok:
            assert proc.returncode == 0 and ARGON2ID.match(out.decode().strip()), (proc.returncode, out)
        else:
            assert proc.returncode == 1 and out == b"" and b"the two secrets differ" in seen, (out, seen)


def check_quiet_still_logs_logins_and_moderation():
    with users_server() as srv:
        srv.args = ("--users", srv.path("users"), "--quiet")
        srv.start()
        alice, guest = srv.connect(), srv.connect()
        was = alice.nick
        assert alice.login("alice", wrong(4)) == LOGIN_FAILED
        assert alice.login("alice", SECRETS["alice"]) == "* logged in as alice"
        alice.send("/kick %s out" % guest.nick)
        guest.closed()
        assert srv.stop() == 0
        log = srv.text()
        for entry in ("login failed: %s from 127.0.0.1 (wrong name or secret)" % was, "login alice from 127.0.0.1",
                      "kick %s lobby by alice (out)" % guest.nick):
            assert entry in log, (entry, log)
        assert "connect " not in log and "join " not in log, log


def check_users_file_problems_are_reported_by_line():
    srv = Server()
    with srv:
        text = ("# comment\n\nalice:%s:op\nnot a name:%s\neve:plaintext-by-mistake\nbob:%s:admin\nALICE:%s\n"
                % (hashed("alice"), hashed("bob"), hashed("bob"), hashed("bob")))
        USED_SECRETS.add("plaintext-by-mistake")
        write(srv.path("users"), text)
        srv.args = ("--users", srv.path("users"))
        srv.start()
        log = srv.text()
        assert re.search(r"line 4: bad name", log), log
        assert re.search(r"line 5: eve: the hash is not an Argon2id string", log), log
        assert re.search(r"line 6: bob: the third field may only be \"op\"", log), log
        assert re.search(r"line 7: ALICE is already on line 3", log), log
        assert "loaded 1 user from" in log, log
        assert "$argon2id$" not in log, log
        assert srv.stop() == 0
        # A file with no usable line does not start a server; nor does a missing one.
        write(srv.path("junk"), "junk\nmore junk\n")
        for path in (srv.path("junk"), srv.path("missing")):
            r = subprocess.run([SERVER, "--bind", "127.0.0.1", "--port", "0", "--users", path],
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=PATIENCE)
            assert r.returncode != 0 and b"listening" not in r.stderr, r
        r = subprocess.run([SERVER, "--require-login"], capture_output=True, timeout=PATIENCE)
        assert r.returncode != 0 and b"--users" in r.stderr, r


def check_impersonation_refused():
    with users_server() as srv:
        srv.args = ("--users", srv.path("users"))
        srv.start()
        guest, other = srv.connect(), srv.connect()
        for name in ("alice", "ALICE", "bob"):
            guest.answer("/nick " + name, "! nick registered: log in with /login %s SECRET" % name)
        # Refused, and the connection still works under its own nick.
        guest.send("/nick guesty")
        guest.expect("* %s is now known as guesty" % guest.nick)
        guest.send("still here")
        skipped = other.expect("<guesty> still here")
        assert not any("alice" in l or "bob" in l for l in skipped), skipped
        assert srv.stop() == 0


def check_login_with_right_and_wrong_secret():
    with users_server() as srv:
        srv.args = ("--users", srv.path("users"))
        srv.start()
        c, other = srv.connect(), srv.connect()
        guest_nick = c.nick
        assert c.login("alice", wrong(1)) == LOGIN_FAILED
        # An unknown name reads the same as a wrong secret.
        assert c.login("nobody", wrong(2)) == LOGIN_FAILED
        c.answer("/login alice", "! usage: /login NAME SECRET")
        assert c.login("alice", SECRETS["alice"]) == "* logged in as alice"
        other.expect("* %s is now known as alice" % guest_nick)
        c.send("hello as alice")
        other.expect("<alice> hello as alice")
        assert c.login("alice", SECRETS["alice"]) == "! you are logged in already"
        second = srv.connect()
        assert second.login("alice", SECRETS["alice"]) == "! alice is logged in elsewhere"
        # The account name may be taken back from nobody: bob logs in elsewhere as himself.
        assert second.login("bob", SECRETS["bob"]) == "* logged in as bob"
        second.send("and bob")
        other.expect("<bob> and bob")
        assert srv.stop() == 0
        log = srv.text()
        assert "login alice from 127.0.0.1" in log, log
        assert log.count("login failed: %s from 127.0.0.1 (wrong name or secret)" % guest_nick) == 2, log
        # Nothing typed after /login is logged, not even the name.
        assert "nobody" not in log, log
        assert re.search(r"stopped: .*, 2 failed logins", log), log


def check_login_required_before_anything_else():
    with users_server() as srv:
        srv.args = ("--users", srv.path("users"), "--require-login")
        srv.start()
        alice = srv.connect(login_first=True)
        assert alice.login("alice", SECRETS["alice"]) == "* logged in as alice"
        alice.wait_for(lambda l: l.startswith("* joined lobby (1 member"))
        c = srv.connect(login_first=True)
        for line in ("hello?", "/join elsewhere", "/nick sneaky", "/who", "/rooms", "/me waves", "/msg alice hi"):
            c.answer(line, LOGIN_FIRST)
        c.answer("/help", "* commands:")
        c.wait_for(lambda l: l.startswith("*   //text"))
        # Not yet in a room: nobody saw it arrive or speak.
        alice.send("/who")
        l, skipped = alice.read_until(lambda l: l.startswith("* in lobby:"))
        assert l == "* in lobby: alice", (l, skipped)
        assert c.login("bob", wrong(3)) == LOGIN_FAILED
        c.answer("still nothing", LOGIN_FIRST)
        assert c.login("bob", SECRETS["bob"]) == "* logged in as bob"
        c.wait_for(lambda l: l.startswith("* joined lobby (2 members"))
        c.send("now I can")
        skipped = alice.expect("<bob> now I can")
        assert not any("hello?" in l or "sneaky" in l or "waves" in l for l in skipped), skipped
        c.send("/quit bye")
        assert c.closed() == []
        assert srv.stop() == 0


def check_motd_from_file():
    srv = Server()
    with srv:
        write(srv.path("motd"), "Welcome to the lab.\nBe nice.\n")
        srv.args = ("--motd", srv.path("motd"))
        srv.start()
        c = srv.connect()
        assert c.greeting[:2] == ["* Welcome to the lab.", "* Be nice."], c.greeting
        assert srv.stop() == 0


def check_operator_moderation():
    with users_server() as srv:
        srv.args = ("--users", srv.path("users"))
        srv.start()
        # Three addresses: bob's ban bans his, not the others'.
        alice, bob, guest = srv.connect(source="127.0.0.2"), srv.connect(), srv.connect(source="127.0.0.3")
        assert alice.login("alice", SECRETS["alice"]) == "* logged in as alice"
        assert bob.login("bob", SECRETS["bob"]) == "* logged in as bob"
        bob.send("ready")
        guest.expect("<bob> ready")

        # Only operators moderate; an account is not enough.
        for who, cmd in ((guest, "/kick bob"), (guest, "/ban bob 1"), (guest, "/mute bob"), (guest, "/unban bob"),
                         (guest, "/topic mine now"), (bob, "/kick alice"), (bob, "/topic mine")):
            who.answer(cmd, NOT_PERMITTED)
        alice.answer("/kick nobody", "! no such nick: nobody")

        # A topic: announced, shown to joiners and in /rooms.
        alice.send("/topic Be kind here")
        guest.expect("* alice set the topic: Be kind here")
        joiner = srv.connect(source="127.0.0.3")
        assert "* topic: Be kind here" in joiner.line(), "topic after the join line"
        joiner.answer("/rooms", "* rooms: lobby (4, topic: Be kind here)")

        # Mute: the muted member's lines are refused to it alone, until unmuted.
        alice.send("/mute bob")
        guest.expect("* bob was muted by alice")
        bob.expect("* bob was muted by alice")
        bob.answer("muted words", "! you are muted")
        alice.send("/unmute bob")
        bob.expect("* bob was unmuted by alice")
        bob.send("free words")
        skipped = guest.expect("<bob> free words")
        assert not any("muted words" in l or l.startswith("! ") for l in skipped), skipped
        assert "* bob was unmuted by alice" in skipped, skipped

        # Kick: gone with a reason, and back at will.
        alice.send("/kick bob calm down")
        rest = bob.closed()
        assert rest and rest[-1] == "! kicked by alice: calm down", rest
        guest.expect("* bob left (kicked by alice: calm down)")
        bob = srv.connect()
        assert bob.login("bob", SECRETS["bob"]) == "* logged in as bob"

        # Ban: the account is refused at login with the time left, until
        # unbanned, and so is the address it was on (but to operators).
        alice.send("/ban bob 1")
        rest = bob.closed()
        assert rest and rest[-1] == "! banned by alice for 1 minute", rest
        guest.expect("* bob left (banned by alice (1 minute))")
        bob = srv.connect(greet=False)
        assert bob.line() == only_operators("for 1 more minute")
        assert bob.login("bob", SECRETS["bob"]) == "! you are banned for 1 more minute"
        alice.answer("/unban bob", "* unbanned bob")
        alice.answer("/unban bob", "! no ban on bob")
        bob.wait_for(lambda l: l.startswith("* joined lobby"))
        assert bob.login("bob", SECRETS["bob"]) == "* logged in as bob"
        bob.send("back again")
        guest.expect("<bob> back again")
        assert srv.stop() == 0
        log = srv.text()
        for entry in ("topic lobby by alice: Be kind here", "mute bob lobby by alice", "unmute bob lobby by alice",
                      "kick bob lobby by alice (calm down)",
                      "ban bob (account bob, address 127.0.0.1) by alice (1 minute)",
                      "unban bob by alice"):
            assert entry in log, (entry, log)


def check_guest_banned_by_address():
    with users_server() as srv:
        srv.args = ("--users", srv.path("users"))
        srv.start()
        alice, guest, other = srv.connect(source="127.0.0.2"), srv.connect(), srv.connect()
        assert alice.login("alice", SECRETS["alice"]) == "* logged in as alice"
        alice.send("/ban %s 2" % guest.nick)
        rest = guest.closed()
        assert rest and rest[-1] == "! banned by alice for 2 minutes", rest
        alice.expect("* %s left (banned by alice (2 minutes))" % guest.nick)
        # Whoever else was on that address went with it.
        rest = other.closed()
        assert rest and rest[-1] == "! banned by alice for 2 minutes", rest
        # Let in only to log in as an operator, with the time left.
        again = srv.connect(greet=False)
        assert again.line() == only_operators("for 2 more minutes")
        again.answer("hello?", only_operators("for 2 more minutes"))
        # Lifted in either form of the address.
        alice.answer("/unban ::ffff:127.0.0.1", "* unbanned 127.0.0.1")
        again.wait_for(lambda l: l.startswith("* joined lobby"))
        srv.connect().close()
        assert srv.stop() == 0
        log = srv.text()
        assert "ban %s (address 127.0.0.1) by alice (2 minutes)" % guest.nick in log, log
        assert "unban 127.0.0.1 by alice" in log, log


def check_ipv4_on_a_dual_stack_listener_is_one_address():
    with users_server() as srv:
        srv.args = ("--users", srv.path("users"), "--max-per-ip", "1")
        srv.start(bind="::")
        # 127.0.0.1 reaches the :: listener as ::ffff:127.0.0.1; the server
        # knows it as 127.0.0.1 everywhere.
        alice = srv.connect(source="127.0.0.2")
        assert alice.login("alice", SECRETS["alice"]) == "* logged in as alice"
        guest = srv.connect()
        refused = srv.connect(greet=False)
        assert refused.closed() == ["! too many connections from your address"]
        alice.send("/ban %s 2" % guest.nick)
        guest.closed()
        alice.answer("/unban 127.0.0.1", "* unbanned 127.0.0.1")
        assert srv.stop() == 0
        log = srv.text()
        assert "connect %s from 127.0.0.1" % guest.nick in log, log
        assert "ban %s (address 127.0.0.1) by alice" % guest.nick in log, log
        assert "::ffff:" not in log, log


def check_operator_on_a_banned_address_logs_in_to_unban():
    with users_server() as srv:
        srv.args = ("--users", srv.path("users"))
        srv.start()
        alice, guest, watcher = srv.connect(), srv.connect(), srv.connect(source="127.0.0.2")
        assert alice.login("alice", SECRETS["alice"]) == "* logged in as alice"
        # Her own address: not without a confirmation.
        alice.send("/ban %s 5" % guest.nick)
        l, _ = alice.read_until(lambda l: l.startswith("! "))
        assert l == ("! %s is on your own address 127.0.0.1: banning it refuses everyone there but operators; "
                     "to ban it anyway: /ban %s 5 confirm" % (guest.nick, guest.nick)), l
        guest.send("not banned yet")
        watcher.expect("<%s> not banned yet" % guest.nick)
        alice.send("/ban %s 5 confirm" % guest.nick)
        rest = guest.closed()
        assert rest and rest[-1] == "! banned by alice for 5 minutes", rest
        alice.send("/quit")
        alice.closed()
        # Back from the banned address: in, to log in only.
        alice = srv.connect(greet=False)
        assert alice.line() == only_operators("for 5 more minutes")
        for line in ("hello", "/who", "/nick sneaky", "/join elsewhere"):
            alice.answer(line, only_operators("for 5 more minutes"))
        alice.answer("/help", "* commands:")
        # A guest from there that logs in as anyone but an operator, or
        # fails to, is closed.
        for name, secret in (("bob", SECRETS["bob"]), ("alice", wrong(30))):
            g = srv.connect(greet=False)
            g.line()
            g.send("/login %s %s" % (name, secret))
            rest = g.closed()
            assert rest and rest[-1] == "! you are banned for 5 more minutes", (name, rest)
        assert alice.login("alice", SECRETS["alice"]) == "* logged in as alice"
        alice.wait_for(lambda l: l.startswith("* joined lobby"))
        alice.answer("/unban 127.0.0.1", "* unbanned 127.0.0.1")
        srv.connect().close()
        watcher.send("/who")
        l, skipped = watcher.read_until(lambda l: l.startswith("* in lobby: "))
        assert not any("sneaky" in x or "hello" in x for x in skipped), skipped
        assert srv.stop() == 0


def check_account_ban_bans_its_address_too():
    with users_server() as srv:
        srv.args = ("--users", srv.path("users"))
        srv.start()
        alice, bob = srv.connect(source="127.0.0.2"), srv.connect()
        assert alice.login("alice", SECRETS["alice"]) == "* logged in as alice"
        assert bob.login("bob", SECRETS["bob"]) == "* logged in as bob"
        alice.send("/ban bob 10")
        bob.closed()
        # Banned bob comes back as a guest: he can neither talk nor take a name.
        b0b = srv.connect(greet=False)
        assert b0b.line() == only_operators("for 10 more minutes")
        b0b.answer("it is me again", only_operators("for 10 more minutes"))
        b0b.answer("/nick b0b", only_operators("for 10 more minutes"))
        alice.send("/who")
        l, skipped = alice.read_until(lambda l: l.startswith("* in lobby: "))
        assert l == "* in lobby: alice" and not any("again" in x or "b0b" in x for x in skipped), (l, skipped)
        # Lifting the account's ban lifts its address's too.
        alice.answer("/unban bob", "* unbanned bob")
        b0b.wait_for(lambda l: l.startswith("* joined lobby"))
        assert srv.stop() == 0
        assert "ban bob (account bob, address 127.0.0.1) by alice (10 minutes)" in srv.text(), srv.text()


def check_swapped_login_arguments_never_reach_the_log():
    with users_server() as srv:
        srv.args = ("--users", srv.path("users"))
        srv.start()
        c = srv.connect()
        secret = "s3cret"
        USED_SECRETS.add(secret)
        assert c.login(secret, "alice") == LOGIN_FAILED
        assert srv.stop() == 0  # checks that no secret reached the log
        log = srv.text()
        assert "login failed: %s from 127.0.0.1 (wrong name or secret)" % c.nick in log, log


def check_failed_logins_are_limited_per_address():
    with users_server() as srv:
        srv.args = ("--users", srv.path("users"))
        srv.start()
        c = srv.connect()
        for i in range(5):
            assert c.login("alice", wrong(10 + i)) == LOGIN_FAILED, i
        # The sixth is refused unchecked: even the right secret does not get in.
        assert c.login("alice", SECRETS["alice"]) == TOO_MANY
        # Per address, not per connection.
        d = srv.connect()
        assert d.login("bob", SECRETS["bob"]) == TOO_MANY
        c.send("chat still works")
        d.expect("<%s> chat still works" % c.nick)
        assert srv.stop() == 0
        assert re.search(r"stopped: .*, 7 failed logins", srv.text()), srv.text()


def check_sighup_reloads_users_and_motd():
    with users_server() as srv:
        write(srv.path("motd"), "first motd\n")
        srv.args = ("--users", srv.path("users"), "--motd", srv.path("motd"))
        srv.start()
        c = srv.connect()
        assert c.greeting[0] == "* first motd", c.greeting
        assert c.login("carol", SECRETS["carol"]) == LOGIN_FAILED
        write(srv.path("users"), users_text("alice", "bob", "carol"))
        write(srv.path("motd"), "second motd\nwith two lines\n")
        mark = len(srv.text())
        srv.hup()
        srv.wait_log(r"reloaded 3 users", mark)
        srv.wait_log(r"reloaded the motd", mark)
        d = srv.connect()
        assert d.greeting[:2] == ["* second motd", "* with two lines"], d.greeting
        d.answer("/nick carol", "! nick registered: log in with /login carol SECRET")
        assert d.login("carol", SECRETS["carol"]) == "* logged in as carol"

        # A broken file keeps the accounts in force; a missing motd keeps the text.
        write(srv.path("users"), "this is not a users file\n")
        os.unlink(srv.path("motd"))
        mark = len(srv.text())
        srv.hup()
        srv.wait_log(r"users file not reloaded: .*no valid account line; keeping 3 users", mark)
        srv.wait_log(r"motd not reloaded: cannot open", mark)
        e = srv.connect()
        assert e.greeting[0] == "* second motd", e.greeting
        assert e.login("bob", SECRETS["bob"]) == "* logged in as bob"

        # Bad lines in a reload are skipped, the rest applies: carol is gone.
        write(srv.path("users"), users_text("alice") + "bad line\n")
        mark = len(srv.text())
        srv.hup()
        srv.wait_log(r"line 3: expected name:hash or name:hash:op", mark)
        srv.wait_log(r"reloaded 1 user\b", mark)
        f = srv.connect()
        assert f.login("carol", SECRETS["carol"]) == LOGIN_FAILED
        assert srv.stop() == 0


def check_login_flood_does_not_stall_chat():
    with users_server() as srv:
        # Two server threads: the verifier's answers arrive while both serve.
        srv.args = ("--users", srv.path("users"), "--threads", "2")
        srv.start()
        receiver, sender = srv.connect(), srv.connect()
        # One connection: 50 logins in one write. One is checked at a time.
        flood = srv.connect()
        flood.send_raw(b"".join(b"/login alice %s\r\n" % wrong(100 + i).encode() for i in range(50)))
        # Many connections, a login each, all at once: more than the verifier queues.
        attackers = [srv.connect() for _ in range(80)]
        for i, a in enumerate(attackers):
            a.send("/login %s %s" % ("alice" if i % 2 else "nobody%d" % i, wrong(200 + i)))
        start = time.time()
        sender.send("chat goes on")
        skipped = receiver.expect("<%s> chat goes on" % sender.nick)
        latency = time.time() - start
        assert latency < 3.0, ("chat stalled behind the logins", latency)
        # Every login gets one clear answer, and the connections stay usable.
        answers = {}
        for a in attackers:
            l, _ = a.read_until(lambda l: l.startswith("! "))
            answers[l] = answers.get(l, 0) + 1
        assert set(answers) <= {LOGIN_FAILED, BUSY, TOO_MANY, UNDER_WAY}, answers
        flood_answers = [flood.wait_for(lambda l: l.startswith("! ")) for _ in range(50)]
        assert set(flood_answers) <= {LOGIN_FAILED, BUSY, TOO_MANY, UNDER_WAY, ALREADY}, flood_answers
        # One address: at most five real checks a minute, however many at once.
        checked = answers.get(LOGIN_FAILED, 0) + flood_answers.count(LOGIN_FAILED)
        assert checked <= 5, (answers, flood_answers)
        attackers[0].send("/who")
        attackers[0].wait_for(lambda l: l.startswith("* in lobby: "))
        print("     chat latency during the flood %.3f s; answers %s" % (latency, answers))
        assert srv.stop() == 0


def check_login_flood_from_one_address_does_not_delay_another():
    with users_server() as srv:
        srv.args = ("--users", srv.path("users"))
        srv.start()

        def timed_login(c, name, secret, want):
            t0 = time.time()
            assert c.login(name, secret) == want
            return time.time() - t0

        # What one check costs here, now: the fastest of three, each from an address of its own.
        one = min(timed_login(srv.connect(source="127.0.0.%d" % (20 + i)), "bob", wrong(300 + i), LOGIN_FAILED)
                  for i in range(3))
        # 100 logins at once from 127.0.0.1, each on its own connection.
        flooders = [srv.connect() for _ in range(100)]
        for i, f in enumerate(flooders):
            f.send("/login alice %s" % wrong(400 + i))
        # Then the right secret from another address.
        alice = srv.connect(source="127.0.0.2")
        waited = timed_login(alice, "alice", SECRETS["alice"], "* logged in as alice")
        answers = {}
        for f in flooders:
            l, _ = f.read_until(lambda l: l.startswith("! "))
            answers[l] = answers.get(l, 0) + 1
        # Counted when they start: five real checks, the rest refused unchecked.
        assert set(answers) <= {LOGIN_FAILED, TOO_MANY, UNDER_WAY}, answers
        assert answers.get(LOGIN_FAILED, 0) <= 5, answers
        # Alice waited for a few checks at most, not for the flood's.
        print("     one check %.3f s; alice waited %.3f s; flood answers %s" % (one, waited, answers))
        assert waited < max(3.0, 15 * one), (waited, one, answers)
        assert srv.stop() == 0


def main():
    only = sys.argv[2:]
    runner = kit.CheckRunner()
    for name, check in sorted(globals().items()):
        if name.startswith("check_") and (not only or any(w in name for w in only)):
            runner.run(name, check)
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
