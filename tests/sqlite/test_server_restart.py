#!/usr/bin/env python3
"""chatroom-server --history-db, killed with SIGKILL and started again on the
same file: a joiner is replayed the lines said before the kill, and
/history prints them with the times they were said (the same as before the
kill), then the lines said after, in order. /history answers from the file,
so lines it printed before the kill were committed: none may be missing.

Usage: test_server_restart.py CHATROOM_SERVER
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

PATIENCE = 20  # seconds any one expected thing may take on a loaded machine


def start(server, db):
    proc = subprocess.Popen([server, "--port", "0", "--bind", "127.0.0.1", "--history", "30",
                             "--history-db", db], stderr=subprocess.PIPE)
    # Read the pipe's bytes as they come (os.read): a buffered readline could
    # take two lines in one read and leave select() waiting for the second,
    # which has already arrived. Starting is given longer than other steps:
    # at the end of ./scripts/test this runs beside the cluster suites.
    deadline = time.monotonic() + 3 * PATIENCE
    got = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break  # it exited
        got += chunk
        m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", got)
        if m:
            return proc, int(m.group(1))
    proc.kill()
    raise AssertionError("chatroom-server did not say where it listens (exit status %r); it said: %r"
                         % (proc.wait(), got.decode(errors="replace")))


class member:
    def __init__(self, port, nick):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
        self.buf = b""
        self.send("/nick " + nick)
        self.early = self.until(lambda l: l.endswith(" is now known as " + nick))  # a replay may come first

    def send(self, line):
        self.sock.sendall((line + "\n").encode())

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("the server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode().rstrip("\r")

    def until(self, pred):
        seen = []
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            l = self.line()
            if pred(l):
                return seen
            seen.append(l)
        raise AssertionError(f"expected line never came; got {seen[-5:]}")

    def history(self, n):
        """/history n: the heading and the lines."""
        self.send(f"/history {n}")
        heading = []
        self.until(lambda l: (l.startswith("* history of lobby") or l.startswith("* no history")) and
                   not heading.append(l))
        m = re.match(r"\* history of lobby, last (\d+) lines? ", heading[0])
        return [self.line() for _ in range(int(m.group(1)))] if m else []


def main():
    server = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "chat.db")
        proc, port = start(server, db)
        try:
            alice = member(port, "alice")
            for i in range(20):
                alice.send(f"before the kill {i}")
            # Once /history prints the last one, all 20 are in the file.
            deadline = time.monotonic() + PATIENCE
            while True:
                assert time.monotonic() < deadline, "the lines never reached the file"
                shown = alice.history(1)
                if shown and shown[0].endswith("<alice> before the kill 19"):
                    break
            before = alice.history(20)
            assert [l.split("] ", 1)[1] for l in before] == [f"<alice> before the kill {i}" for i in range(20)], before
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert proc.returncode == -signal.SIGKILL

        proc, port = start(server, db)
        try:
            bob = member(port, "bob")
            # The room opened: its lines come from the file, oldest first.
            if "<alice> before the kill 19" in bob.early:
                replayed = bob.early
            else:
                replayed = bob.early + bob.until(lambda l: l == "<alice> before the kill 19") + [
                    "<alice> before the kill 19"]
            got = [l for l in replayed if l.startswith("<alice>")]
            assert got == [f"<alice> before the kill {i}" for i in range(20)], got
            assert bob.history(20) == before, "times or lines changed across the restart"
            bob.send("after the restart")
            deadline = time.monotonic() + PATIENCE
            while not bob.history(1)[0].endswith("<bob> after the restart"):
                assert time.monotonic() < deadline, "the new line never reached the file"
            after = bob.history(21)
            assert after[:20] == before and after[20].endswith("<bob> after the restart"), after
        finally:
            proc.terminate()
            proc.wait(PATIENCE)
    print("ok: 20 lines said, SIGKILL, restart: replayed and /history the same, with their times")


if __name__ == "__main__":
    main()
