#!/usr/bin/env python3
"""End to end: the built chatroom-server and chatroom-client as processes.

Usage: test_examples.py SERVER CLIENT
Each check starts its own server on 127.0.0.1 (port 0) or a Unix socket,
stops it by PID, and waits on conditions with deadlines. Prints
"N passed, M failed" last.
"""
import os
import re
import select
import signal
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import chatroom_testkit as kit  # noqa: E402

SERVER, CLIENT = sys.argv[1], sys.argv[2]
PATIENCE = 20.0


def Server(*args):
    """chatroom-server with args, started and listening; `with` kills it and removes its log."""
    return kit.ServerProcess([SERVER], PATIENCE, prefix="chatroom-e2e-").start(*args)


def Raw(port=None, path=None):
    """A telnet-like line client over a plain socket, greeted and in the lobby."""
    c = kit.LineClient(port, PATIENCE, path=path, require_cr=True)
    c.greet()
    return c


class Client(kit.LineReader):
    """chatroom-client (or any line program) as a process with pipes."""

    def __init__(self, *args, argv=None):
        super().__init__(PATIENCE, name="client")
        self.proc = subprocess.Popen(argv or [CLIENT, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)

    def type(self, text):
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def fill(self, timeout):
        fd = self.proc.stdout.fileno()
        r, _, _ = select.select([fd], [], [], timeout)
        return os.read(fd, 65536) if r else None

    def finish(self):
        try:
            out, err = self.proc.communicate(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("client did not exit in time")
        return self.proc.returncode, self.buf + out, err.decode()


def check_piped_client_and_telnet_style_client():
    with Server("--bind", "127.0.0.1", "--port", "0") as srv:
        watcher = Raw(srv.port)
        c = subprocess.run([CLIENT, "127.0.0.1", str(srv.port)], input=b"/nick bot\nhello from a script\n",
                           capture_output=True, timeout=PATIENCE)
        assert c.returncode == 0, (c.returncode, c.stderr)
        out = c.stdout.decode()
        assert "* welcome to chatroom, you are guest-" in out, out
        assert "* joined lobby (2 members)" in out, out
        watcher.wait_for(lambda l: l == "<bot> hello from a script")
        watcher.wait_for(lambda l: l == "* bot left")
        assert srv.stop() == 0
        log = srv.text()
        for word in ("connect guest-", "join guest-", "leave bot lobby", "stopped:"):
            assert word in log, (word, log)


def check_client_reads_crlf_files_and_never_sends_a_line_with_cr_inside():
    """A regular file as stdin (read with getline) and a pipe: CRLF endings are
    dropped; a CR inside a line would end it early at the server, so the
    client refuses that line whole (one send is one line) and says so."""
    d = tempfile.mkdtemp(prefix="chatroom-e2e-")
    path = os.path.join(d, "input.txt")
    with open(path, "wb") as f:
        f.write(b"/nick filer\r\nfirst\r\nsneaky\r/nick injected\nlast\r\n")
    with Server("--bind", "127.0.0.1", "--port", "0") as srv:
        watcher = Raw(srv.port)
        for how in ("file", "pipe"):
            with open(path, "rb") as f:
                if how == "file":
                    c = subprocess.run([CLIENT, "127.0.0.1", str(srv.port)], stdin=f, capture_output=True,
                                       timeout=PATIENCE)
                else:
                    c = subprocess.run([CLIENT, "127.0.0.1", str(srv.port)], input=f.read(), capture_output=True,
                                       timeout=PATIENCE)
            assert c.returncode == 0, (how, c.returncode, c.stderr)
            assert "not sent: a line to send contains CR or LF" in c.stderr.decode(), (how, c.stderr)
            _, between = watcher.read_until(lambda l: l == "<filer> last")
            assert "<filer> first" in between, (how, between)
            assert not any("injected" in l or "sneaky" in l for l in between), (how, between)
            watcher.wait_for(lambda l: l == "* filer left")
        assert srv.stop() == 0
    os.unlink(path)
    os.rmdir(d)


def check_interactive_client_types_while_lines_arrive():
    with Server("--bind", "127.0.0.1", "--port", "0", "--name", "e2e") as srv:
        other = Raw(srv.port)
        cl = Client("127.0.0.1", str(srv.port))
        assert cl.line().startswith("* welcome to e2e, you are ")
        cl.wait_for(lambda l: l.startswith("* joined lobby"))
        other.send("hi there client")
        cl.wait_for(lambda l: l == "<%s> hi there client" % other.nick)
        cl.type("and hello back")
        other.wait_for(lambda l: l.endswith("> and hello back"))
        cl.type("/quit see you")
        rc, _, err = cl.finish()
        assert rc == 0, (rc, err)
        other.wait_for(lambda l: l.endswith(" left (quit: see you)"))
        assert srv.stop() == 0


def check_client_reports_a_lost_connection():
    with Server("--bind", "127.0.0.1", "--port", "0") as srv:
        cl = Client("127.0.0.1", str(srv.port))
        cl.wait_for(lambda l: l.startswith("* joined lobby"))
        assert srv.stop(signal.SIGINT) == 0
        cl.wait_for(lambda l: l == "* server shutting down")
        rc, _, err = cl.finish()
        assert rc == 1, rc
        assert "server closed the connection" in err, err


def check_unix_socket_server_and_client():
    d = tempfile.mkdtemp(prefix="chatroom-e2e-")
    path = os.path.join(d, "chat.sock")
    with Server("--unix", path) as srv:
        other = Raw(path=path)
        c = subprocess.run([CLIENT, "--unix", path], input=b"over unix\n", capture_output=True, timeout=PATIENCE)
        assert c.returncode == 0, c.stderr
        other.wait_for(lambda l: l.endswith("> over unix"))
        assert srv.stop() == 0
    assert not os.path.exists(path), "socket file left behind"
    os.rmdir(d)


def make_certificate(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=PATIENCE)
    return cert, key


def check_tls_with_chatroom_client_and_openssl_s_client():
    d = tempfile.mkdtemp(prefix="chatroom-e2e-")
    cert, key = make_certificate(d)
    with Server("--bind", "127.0.0.1", "--port", "0", "--tls-cert", cert, "--tls-key", key) as srv:
        cl = Client("--tls", "--ca", cert, "localhost", str(srv.port))
        cl.wait_for(lambda l: l.startswith("* joined lobby"))
        # openssl s_client as a real chat client: lines in, lines out.
        sc = Client(argv=["openssl", "s_client", "-quiet", "-no_ign_eof", "-connect", "127.0.0.1:%d" % srv.port,
                          "-CAfile", cert, "-verify_return_error", "-servername", "localhost"])
        s = sc.proc
        sc.wait_for(lambda l: l.startswith("* joined lobby"))
        sc.type("from s_client")
        cl.wait_for(lambda l: re.match(r"<guest-\d+> from s_client$", l))
        cl.type("/nick secure")
        cl.type("private words")
        sc.wait_for(lambda l: l.strip() == "<secure> private words")
        bad = subprocess.run([CLIENT, "--tls", "localhost", str(srv.port)], input=b"x\n", capture_output=True,
                             timeout=PATIENCE)
        assert bad.returncode == 1 and "handshake failed" in bad.stderr.decode(), bad.stderr
        ok = subprocess.run([CLIENT, "--tls", "--insecure", "127.0.0.1", str(srv.port)], input=b"",
                            capture_output=True, timeout=PATIENCE)
        assert ok.returncode == 0, ok.stderr
        cl.type("/quit")
        rc, _, err = cl.finish()
        assert rc == 0, (rc, err)
        s.stdin.close()
        s.wait(PATIENCE)
        assert srv.stop() == 0
        assert "TLS handshake from 127.0.0.1 failed" in srv.text(), srv.text()
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    os.rmdir(d)


def check_help_version_and_bad_arguments():
    for prog in (SERVER, CLIENT):
        r = subprocess.run([prog, "--help"], capture_output=True, timeout=PATIENCE)
        assert r.returncode == 0 and b"--" in r.stdout, r
        r = subprocess.run([prog, "--version"], capture_output=True, timeout=PATIENCE)
        assert r.returncode == 0 and b"3.0.0" in r.stdout, r
    r = subprocess.run([SERVER, "--bind", "not-an-address"], capture_output=True, timeout=PATIENCE)
    assert r.returncode != 0 and b"bad --bind" in r.stderr, r


def main():
    runner = kit.CheckRunner()
    for name, check in sorted(globals().items()):
        if name.startswith("check_"):
            runner.run(name, check)
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
