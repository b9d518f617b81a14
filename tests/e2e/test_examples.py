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
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SERVER, CLIENT = sys.argv[1], sys.argv[2]
PATIENCE = 20.0


class Server:
    def __init__(self, *args):
        self.log = tempfile.NamedTemporaryFile(prefix="chatroom-e2e-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([SERVER, *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        self.port = None
        deadline = time.time() + PATIENCE
        while time.time() < deadline:
            m = re.search(r"listening on (\S+?)(?::(\d+))?(?: \(|$)", self.text(), re.M)
            if m:
                self.port = int(m.group(2)) if m.group(2) else None
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError("server did not start:\n" + self.text())

    def text(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(PATIENCE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not stop in time")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.unlink(self.log.name)


class LineReader:
    """Lines from a byte source, each within PATIENCE seconds."""

    buf = b""

    def fill(self, timeout):
        raise NotImplementedError

    def raw_line(self):
        deadline = time.time() + PATIENCE
        while b"\n" not in self.buf:
            chunk = self.fill(max(0, deadline - time.time()))
            if not chunk:
                raise AssertionError("no line in time or stream ended; have %r" % self.buf)
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\n", 1)
        return raw

    def wait_for(self, pred):
        while True:
            l = self.line()
            if pred(l):
                return l


def read_ready(fd, timeout, read):
    r, _, _ = select.select([fd], [], [], timeout)
    return read() if r else b""


class Raw(LineReader):
    """A telnet-like line client over a plain socket."""

    def __init__(self, port=None, path=None):
        if path:
            self.s = socket.socket(socket.AF_UNIX)
            self.s.connect(path)
        else:
            self.s = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
        self.buf = b""
        hello = self.line()
        assert hello.startswith("* welcome to "), hello
        self.nick = hello.rsplit(" ", 1)[1]
        self.wait_for(lambda l: l.startswith("* joined lobby"))

    def send(self, text):
        self.s.sendall(text.encode() + b"\r\n")

    def fill(self, timeout):
        return read_ready(self.s, timeout, lambda: self.s.recv(65536))

    def line(self):
        raw = self.raw_line()
        assert raw.endswith(b"\r"), raw
        return raw[:-1].decode()

    def close(self):
        self.s.close()


class Client(LineReader):
    """chatroom-client as a process with pipes."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([CLIENT, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.buf = b""

    def type(self, text):
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def fill(self, timeout):
        fd = self.proc.stdout.fileno()
        return read_ready(fd, timeout, lambda: os.read(fd, 65536))

    def line(self):
        return self.raw_line().decode()

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
        s = subprocess.Popen(["openssl", "s_client", "-quiet", "-no_ign_eof", "-connect", "127.0.0.1:%d" % srv.port,
                              "-CAfile", cert, "-verify_return_error", "-servername", "localhost"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        sc = Client.__new__(Client)
        sc.proc, sc.buf = s, b""
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
        assert r.returncode == 0 and b"2.0.0" in r.stdout, r
    r = subprocess.run([SERVER, "--bind", "not-an-address"], capture_output=True, timeout=PATIENCE)
    assert r.returncode != 0 and b"bad --bind" in r.stderr, r


def main():
    checks = [v for k, v in sorted(globals().items()) if k.startswith("check_")]
    passed = failed = 0
    for check in checks:
        try:
            check()
            passed += 1
            print("ok  ", check.__name__)
        except Exception:
            failed += 1
            print("FAIL", check.__name__)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
