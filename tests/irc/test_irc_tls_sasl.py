#!/usr/bin/python3
"""chatroom-server --irc-tls-port, and logging in from IRC, driven by raw IRC clients.

Usage: test_irc_tls_sasl.py PATH/TO/chatroom-server

TLS: starts `SERVER --port 0 --tls-port 0 --irc-port 0 --irc-tls-port 0` with a
throwaway certificate (openssl req) and checks that an IRC client over TLS
(Python's ssl, verifying the certificate for "localhost") registers and
reads one conversation with a plain IRC client and a telnet user in the same
room, and that a client speaking plain IRC to the TLS port gets nothing and
is closed while the server goes on.

Logging in from IRC, against a --users file of Argon2id hashes made by
`SERVER --hash-password`: CAP LS offers `sasl` (`sasl=PLAIN` under 302) only
when the server has accounts; SASL PLAIN over TLS during registration (900,
903, the account's name as the nick), a wrong password (904) and a retry,
a response in 400-byte chunks (and exactly 400 then `+`), 905 906 907 908,
CAP END during the exchange (906, then 001), SASL after registration;
PASS as the password of the account its NICK names (900 then 001, 464 and
closed when wrong, ignored without accounts); with --require-login a
client that does not log in gets 464 and is closed, one that logs in (SASL,
PASS, PASS after USER) is welcomed, and a telnet user sees it join.

Every wait has a deadline; prints PASS/FAIL per check and "N passed, M
failed"; exits 1 on any failure.
"""
import base64
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import chatroom_testkit as kit  # noqa: E402

PATIENCE = 20.0  # seconds for any one condition; generous for a loaded 2-core machine
runner = kit.CheckRunner(tracebacks=False)


def IrcClient(port, name):
    """A raw IRC client over TCP (the kit's)."""
    return kit.IrcClient(port, name, PATIENCE)


class TlsIrcClient(kit.IrcSpeaker, kit.LineReader):
    """A raw IRC client over TLS, verifying the server's certificate against cafile for "localhost"."""

    def __init__(self, port, name, cafile):
        super().__init__(PATIENCE, require_cr=True, name=name)
        ctx = ssl.create_default_context(cafile=cafile)
        raw = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")  # handshake within the patience
        self.sock.setblocking(False)  # reads below never wait past their deadline

    def fill(self, timeout):
        if not self.sock.pending():
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                return None
        try:
            return self.sock.recv(65536)
        except ssl.SSLWantReadError:  # a record not complete yet, or a session ticket
            return None
        except (ssl.SSLError, ConnectionResetError):
            return b""

    def send(self, text):
        data = text.encode() + b"\r\n"
        deadline = kit.time.monotonic() + PATIENCE
        while data:
            try:
                data = data[self.sock.send(data):]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                assert kit.time.monotonic() < deadline, "%s: could not send in time" % self.name
                select.select([], [self.sock], [], 0.1)

    def close(self):
        self.sock.close()


def make_certificate(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=PATIENCE)
    return cert, key


def telnet_user(port, nick, room=None):
    c = kit.LineClient(port, PATIENCE, name="%s (telnet)" % nick)
    c.greet()
    c.send("/nick " + nick)
    c.wait_for(lambda l: "is now known as " + nick in l)
    if room:
        c.send("/join " + room)
        c.wait_for(lambda l: l.startswith("* joined " + room))
    return c


def check_tls(server_path, tmp):
    cert, key = make_certificate(tmp)
    srv = kit.ServerProcess([server_path, "--bind", "127.0.0.1", "--port", "0", "--tls-port", "0",
                             "--irc-port", "0", "--irc-tls-port", "0", "--tls-cert", cert, "--tls-key", key,
                             "--history", "20"], PATIENCE)
    srv.start(want=("tcp", "tls", "irc", "ircs"))
    try:
        bob = telnet_user(srv.ports["tcp"], "bob", "dev")
        bob.send("said before the TLS user came")

        def conversation():
            alice = TlsIrcClient(srv.ports["ircs"], "alice (IRC over TLS)", cert)
            carol = IrcClient(srv.ports["irc"], "carol (plain IRC)")
            ls = alice.register("alice", "server-time")
            assert "server-time" in ls and "sasl" not in ls, ls  # no accounts: no SASL
            alice.expect(r" 005 alice .*CASEMAPPING=ascii")
            alice.expect(r" (376|422) alice ")
            alice.send("PASS anything")
            alice.expect(r" 462 alice :You may not reregister")
            alice.send("AUTHENTICATE PLAIN")  # no accounts: no such command
            alice.expect(r" 421 alice AUTHENTICATE :")
            carol.send("PASS anything")  # no accounts: accepted and ignored
            carol.register("carol")
            alice.send("JOIN #dev")
            alice.expect(r":alice!\S+ JOIN #dev$")
            alice.expect(r"PRIVMSG #dev :said before the TLS user came$")
            names = alice.expect(r" 353 alice = #dev :")
            assert set(names.split(":")[-1].split()) == {"alice", "@bob"}, names  # bob opened the room: its operator
            carol.send("JOIN #dev")
            alice.expect(r":carol!\S+ JOIN #dev$")
            bob.wait_for(lambda l: l == "* carol joined")
            alice.send("PRIVMSG #dev :over TLS é日本")
            bob.wait_for(lambda l: l == "<alice> over TLS é日本")
            carol.expect(r"^:alice!\S+ PRIVMSG #dev :over TLS é日本$")
            bob.send("hi TLS")
            got = alice.expect(r"PRIVMSG #dev :hi TLS$")
            assert re.match(r"^@time=\S+Z :bob!", got), got
            carol.send("PRIVMSG alice :psst")
            alice.expect(r"^(@\S+ )?:carol!\S+ PRIVMSG alice :psst$")
            alice.send("QUIT :bye")
            alice.expect(r"^ERROR :Closing link")
            alice.until_closed(PATIENCE)
            carol.expect(r"^:alice!\S+ QUIT :Quit: bye$")
            bob.wait_for(lambda l: l.startswith("* alice left"))
        runner.run("IRC over TLS (certificate verified for localhost): registration, JOIN with history, one "
                   "conversation with a plain IRC user and a telnet user, private message, QUIT", conversation)

        def plaintext_to_tls_port():
            plain = kit.LineClient(srv.ports["ircs"], PATIENCE, name="plain IRC to the TLS port")
            plain.send("NICK mallory")
            plain.send("USER mallory 0 * :M")
            rest = plain.until_closed(PATIENCE)
            assert not any(" 001 " in l for l in rest), rest
            kit.eventually(lambda: "TLS handshake from 127.0.0.1 failed" in srv.run_text(), PATIENCE,
                           "the failed handshake in the log", detail=srv.run_text)
            # The listener goes on: a TLS client after it is served.
            dave = TlsIrcClient(srv.ports["ircs"], "dave (IRC over TLS)", cert)
            dave.register("dave")
            dave.send("PING :still")
            dave.expect(r" PONG \S+ :still$")
        runner.run("plain IRC on the TLS port: no welcome, closed, the failed handshake logged; the next TLS "
                   "client is served", plaintext_to_tls_port)
    finally:
        srv.stop()


def plain_response(authcid, password, authzid=""):
    return base64.b64encode(b"\0".join([authzid.encode(), authcid.encode(), password.encode()])).decode()


def users_file(server_path, tmp, accounts):
    """A --users file: {name: (password, op)}."""
    lines = []
    for name, (password, op) in accounts.items():
        r = subprocess.run([server_path, "--hash-password"], input=(password + "\n").encode(), capture_output=True,
                           timeout=PATIENCE)
        assert r.returncode == 0, r
        lines.append("%s:%s%s" % (name, r.stdout.decode().strip(), ":op" if op else ""))
    path = os.path.join(tmp, "users")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def start_sasl(c, caps="sasl"):
    c.send("CAP LS 302")
    ls = c.expect(r" CAP \* LS :")
    c.send("CAP REQ :" + caps)
    c.expect(r" CAP \* ACK :" + re.escape(caps) + "$")
    return ls


LONG = "p" * 300        # its PLAIN response is more than 400 bytes of base64
EXACT = "q" * 293       # "\0exact\0" + 293 bytes: exactly 400 bytes of base64


def check_logins(server_path, tmp, cert, key):
    users = users_file(server_path, tmp, {"jilles": ("sesame", False), "kim": ("kimchi", False),
                                          "long": (LONG, False), "exact": (EXACT, False), "root": ("rootpw", True)})
    assert len(plain_response("exact", EXACT)) == 400
    srv = kit.ServerProcess([server_path, "--bind", "127.0.0.1", "--port", "0", "--irc-port", "0",
                             "--irc-tls-port", "0", "--tls-port", "0", "--tls-cert", cert, "--tls-key", key,
                             "--users", users], PATIENCE)
    srv.start(want=("tcp", "irc", "ircs"))
    try:
        bob = telnet_user(srv.ports["tcp"], "bob", "dev")

        def sasl_over_tls():
            c = TlsIrcClient(srv.ports["ircs"], "jilles (SASL over TLS)", cert)
            ls = start_sasl(c)
            assert re.search(r"(^| )sasl=PLAIN( |$)", ls.split(" :", 1)[1]), ls
            c.send("NICK foo")
            c.send("USER foo 0 * :Foo")
            c.send("AUTHENTICATE PLAIN")
            c.expect(r"^AUTHENTICATE \+$")
            c.send("AUTHENTICATE " + plain_response("jilles", "wrong"))
            c.expect(r" 904 \* :SASL authentication failed$")
            c.send("AUTHENTICATE PLAIN")
            c.expect(r"^AUTHENTICATE \+$")
            c.send("AUTHENTICATE " + plain_response("jilles", "sesame", "jilles"))
            c.expect(r" 900 \* jilles!jilles@\S+ jilles :You are now logged in as jilles$")
            c.expect(r" 903 \* :SASL authentication successful$")
            c.send("AUTHENTICATE PLAIN")
            c.expect(r" 907 \* :")
            c.send("CAP END")
            c.expect(r"^:\S+ 001 jilles :")  # the account's name is its nick
            c.send("JOIN #dev")
            c.expect(r" 366 jilles #dev ")
            bob.wait_for(lambda l: l == "* jilles joined")
        runner.run("SASL PLAIN over TLS during registration: sasl=PLAIN in CAP LS 302, 904 for a wrong password, "
                   "a retry: 900 903, 907 again; 001 with the account's name; the telnet user sees it join",
                   sasl_over_tls)

        def sasl_chunks_and_errors():
            c = IrcClient(srv.ports["irc"], "long (SASL in chunks)")
            c.send("CAP LS")
            ls = c.expect(r" CAP \* LS :")
            assert re.search(r"(^| )sasl( |$)", ls.split(" :", 1)[1]), ls  # no value before 302
            c.send("CAP REQ :sasl")
            c.expect(r" CAP \* ACK :sasl$")
            c.send("AUTHENTICATE EXTERNAL")
            c.expect(r" 908 \* PLAIN :are available SASL mechanisms$")
            c.expect(r" 904 \* :")
            c.send("AUTHENTICATE PLAIN")
            c.expect(r"^AUTHENTICATE \+$")
            c.send("AUTHENTICATE " + "A" * 401)
            c.expect(r" 905 \* :")
            c.send("AUTHENTICATE PLAIN")
            c.expect(r"^AUTHENTICATE \+$")
            c.send("AUTHENTICATE *")
            c.expect(r" 906 \* :SASL authentication aborted$")
            c.send("AUTHENTICATE PLAIN")
            c.expect(r"^AUTHENTICATE \+$")
            c.send("AUTHENTICATE !!!!")
            c.expect(r" 904 \* :")
            c.send("AUTHENTICATE PLAIN")
            c.expect(r"^AUTHENTICATE \+$")
            for _ in range(8):  # 3,200 bytes of base64, far past what a response may be
                c.send("AUTHENTICATE " + "QUFB" * 100)
            c.expect(r" 904 \* :")
            response = plain_response("long", LONG)
            assert len(response) > 400
            c.send("AUTHENTICATE PLAIN")
            c.expect(r"^AUTHENTICATE \+$")
            c.send("AUTHENTICATE " + response[:400])
            c.send("AUTHENTICATE " + response[400:])
            c.expect(r" 900 \* long!\S+ long :")
            c.expect(r" 903 \* :")
            e = IrcClient(srv.ports["irc"], "exact (a 400-byte response, then +)")
            start_sasl(e)
            e.send("AUTHENTICATE PLAIN")
            e.expect(r"^AUTHENTICATE \+$")
            e.send("AUTHENTICATE " + plain_response("exact", EXACT))
            e.send("AUTHENTICATE +")
            e.expect(r" 900 \* exact!\S+ exact :")
            e.expect(r" 903 \* :")
            e.send("NICK exact")
            e.send("USER exact 0 * :E")
            e.send("CAP END")
            e.expect(r" 001 exact :")
        runner.run("SASL: CAP LS without 302 names sasl bare; 908+904 for another mechanism, 905 for a chunk over 400, "
                   "906 for *, 904 for bad base64 and for a response past the bound; a response in a 400-byte chunk "
                   "and the rest, and one of exactly 400 then +", sasl_chunks_and_errors)

        def sasl_aborted_by_registration_and_after():
            c = IrcClient(srv.ports["irc"], "reg (CAP END during SASL)")
            start_sasl(c)
            c.send("AUTHENTICATE PLAIN")
            c.expect(r"^AUTHENTICATE \+$")
            c.send("NICK reg")
            c.send("USER reg 0 * :R")
            c.send("CAP END")
            c.expect(r" 422 reg :")  # the welcome, then the abort (the interpreter's own lines follow the core's)
            c.expect(r" 906 \* :SASL authentication aborted$")
            # After registration, in no room: 900 903, then its rename to the account.
            z = IrcClient(srv.ports["irc"], "zed (SASL after registration)")
            z.register("zed", "sasl")
            z.send("AUTHENTICATE PLAIN")
            z.expect(r"^AUTHENTICATE \+$")
            z.send("AUTHENTICATE " + plain_response("kim", "kimchi"))
            z.expect(r" 900 zed kim!\S+ kim :You are now logged in as kim$")
            z.expect(r" 903 zed :")
            z.expect(r"^:zed!\S+ NICK kim$")
            z.send("PING :after")
            z.expect(r" PONG \S+ :after$")
        runner.run("SASL: CAP END during the exchange aborts it (906) and registers; SASL after registration logs in "
                   "and renames to the account (NICK)", sasl_aborted_by_registration_and_after)

        def pass_without_require_login():
            p = IrcClient(srv.ports["irc"], "root (PASS)")
            p.send("PASS rootpw")
            p.send("NICK root")
            p.send("USER root 0 * :Root")
            p.expect(r" 900 \* root!\S+ root :You are now logged in as root$")
            p.expect(r" 001 root :")
            w = IrcClient(srv.ports["irc"], "wrong (PASS)")
            w.send("PASS not-the-secret")
            w.send("NICK guesser")
            w.send("USER guesser 0 * :G")
            w.expect(r" 464 \* :Password incorrect$")
            w.expect(r"^ERROR :Closing link")
            rest = w.until_closed(PATIENCE)
            assert not any(" 001 " in l for l in w.seen + rest), w.seen
            g = IrcClient(srv.ports["irc"], "guest (no PASS)")
            g.register("guest")
        runner.run("PASS without --require-login: the account its NICK names logs in (900, 001); a wrong one is 464 "
                   "and closed; none is a guest", pass_without_require_login)
    finally:
        srv.stop()


def check_require_login(server_path, tmp, cert, key):
    users = users_file(server_path, tmp, {"ann": ("annpw", False), "ben": ("benpw", False), "cat": ("catpw", False)})
    srv = kit.ServerProcess([server_path, "--bind", "127.0.0.1", "--port", "0", "--irc-port", "0",
                             "--users", users, "--require-login"], PATIENCE)
    srv.start(want=("tcp", "irc"))
    try:
        def require_login():
            n = IrcClient(srv.ports["irc"], "nobody (no login)")
            n.send("CAP LS 302")
            n.expect(r" CAP \* LS :")
            n.send("NICK nobody")
            n.send("USER nobody 0 * :N")
            n.send("CAP END")
            n.expect(r" 464 \* :Password required")
            n.expect(r"^ERROR :Closing link")
            n.until_closed(PATIENCE)
            assert not any(re.search(r" (001|451) ", l) for l in n.seen), n.seen
            a = IrcClient(srv.ports["irc"], "ann (SASL)")
            start_sasl(a)
            a.send("NICK ann")
            a.send("USER ann 0 * :A")
            a.send("AUTHENTICATE PLAIN")
            a.expect(r"^AUTHENTICATE \+$")
            a.send("AUTHENTICATE " + plain_response("ann", "annpw"))
            a.expect(r" 903 \* :")
            a.send("CAP END")
            a.expect(r" 001 ann :")
            b = IrcClient(srv.ports["irc"], "ben (PASS)")
            b.send("PASS benpw")
            b.send("NICK ben")
            b.send("USER ben 0 * :B")
            b.expect(r" 001 ben :")
            b.expect(r" 376 ben |422 ben ")
            c = IrcClient(srv.ports["irc"], "cat (USER, PASS, then NICK)")
            c.send("USER cat 0 * :C")
            c.send("PASS catpw")
            c.send("NICK cat")
            c.expect(r" 900 \* cat!\S+ cat :")
            ping = c.expect(r"^(:\S+ )?PING :")
            c.send("PONG :" + ping.split(":")[-1])
            c.expect(r" 001 cat :")
            for cl, nick in ((a, "ann"), (b, "ben"), (c, "cat")):
                cl.send("JOIN #dev")
                cl.expect(r" 366 %s #dev " % nick)
            a.send("PRIVMSG #dev :all logged in")
            c.expect(r":ann!\S+ PRIVMSG #dev :all logged in$")
        runner.run("--require-login: no login is 464 and closed (no 451); SASL, PASS, and PASS before a NICK sent "
                   "after USER (a PING, then 001 at its PONG) are welcomed and chat", require_login)
    finally:
        srv.stop()


def main():
    if not shutil.which("openssl"):
        print("SKIP: openssl is not installed (needed to make a certificate)")
        return 77
    server_path = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="irc-tls-sasl-") as tmp:
        check_tls(server_path, tmp)
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        check_logins(server_path, tmp, cert, key)
        check_require_login(server_path, tmp, cert, key)
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
