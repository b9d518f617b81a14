#!/usr/bin/python3
"""chatroom-server --irc-tls-port, and logging in from IRC, driven by raw IRC clients.

Usage: test_irc_tls_sasl.py PATH/TO/chatroom-server

TLS: starts `SERVER --port 0 --tls-port 0 --irc-port 0 --irc-tls-port 0` with a
throwaway certificate (openssl req) and checks that an IRC client over TLS
(Python's ssl, verifying the certificate for "localhost") registers and
reads one conversation with a plain IRC client and a telnet user in the same
room, and that a client speaking plain IRC to the TLS port gets nothing and
is closed while the server goes on.

Every wait has a deadline; prints PASS/FAIL per check and "N passed, M
failed"; exits 1 on any failure.
"""
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


class IrcMixin:
    def expect(self, pattern):
        return self.wait_for(lambda l: re.search(pattern, l), PATIENCE)

    def register(self, nick, caps=None):
        self.send("CAP LS 302")
        ls = self.expect(r" CAP \* LS :")
        if caps:
            self.send("CAP REQ :" + caps)
            self.expect(r" CAP \* ACK :" + re.escape(caps) + "$")
        self.send("NICK " + nick)
        self.send("USER %s 0 * :The %s" % (nick, nick))
        self.send("CAP END")
        self.expect(r"^:\S+ 001 %s :" % re.escape(nick))
        return ls


class IrcClient(IrcMixin, kit.LineClient):
    """A raw IRC client over TCP: CR LF lines out, every line it reads kept."""

    def __init__(self, port, name):
        super().__init__(port, PATIENCE, name=name, require_cr=True)


class TlsIrcClient(IrcMixin, kit.LineReader):
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
            assert "server-time" in ls, ls
            alice.expect(r" 005 alice .*CASEMAPPING=ascii")
            alice.expect(r" (376|422) alice ")
            carol.register("carol")
            alice.send("JOIN #dev")
            alice.expect(r":alice!\S+ JOIN #dev$")
            alice.expect(r"PRIVMSG #dev :said before the TLS user came$")
            names = alice.expect(r" 353 alice = #dev :")
            assert set(names.split(":")[-1].split()) == {"alice", "bob"}, names
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


def main():
    if not shutil.which("openssl"):
        print("SKIP: openssl is not installed (needed to make a certificate)")
        return 77
    server_path = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="irc-tls-sasl-") as tmp:
        check_tls(server_path, tmp)
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
