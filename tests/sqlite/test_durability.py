#!/usr/bin/env python3
"""kill -9 loses no committed message: sqlite-writer keeps messages in a loop
and says after each flush how many are committed; it is killed with SIGKILL
once it has committed some thousands (and again after a restart), then the
file is read back: every message it said was committed is there, in order,
with its room, time and text; nothing after is out of order or has a gap,
and what is missing past the last "committed" line is at most what was in
flight (the chunk it was keeping).

Usage: test_durability.py SQLITE_WRITER
"""
import os
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

BASE_MS = 1_700_000_000_000
CHUNK = 500


def run_and_kill(writer, path, at_least):
    """Starts the writer, waits (30 s at most) until it reports at_least
    committed and then says it kept one more chunk (so it is committing as
    the signal lands), kills it with SIGKILL; returns (last committed, last
    kept)."""
    proc = subprocess.Popen([writer, "write", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    committed, kept, buf = 0, 0, b""
    kept_after = False
    deadline = time.monotonic() + 30
    try:
        while not kept_after:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"writer reported only {committed} committed in 30 s")
            ready, _, _ = select.select([proc.stdout], [], [], left)
            if not ready:
                continue
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                raise AssertionError(f"writer ended: {proc.stderr.read().decode()}")
            buf += data
            *lines, buf = buf.split(b"\n")
            for line in lines:
                word, n = line.decode().split()
                if word == "committed":
                    committed = int(n)
                elif word == "kept":
                    kept = int(n)
                    kept_after = committed >= at_least
                    if kept_after:
                        break
    finally:
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
    # Lines printed before the kill are promises too.
    for line in (buf + rest).split(b"\n"):
        parts = line.decode().split()
        if len(parts) == 2 and parts[0] == "committed":
            committed = max(committed, int(parts[1]))
        elif len(parts) == 2 and parts[0] == "kept":
            kept = max(kept, int(parts[1]))
    assert proc.returncode == -signal.SIGKILL, proc.returncode
    return committed, kept


def check_file(path, committed, kept):
    db = sqlite3.connect(path)
    rows = db.execute("SELECT seq, room_key, time_ms, kind, nick, text FROM messages ORDER BY seq").fetchall()
    db.close()
    seqs = [r[0] for r in rows]
    assert seqs == list(range(1, len(rows) + 1)), "a gap or a duplicate among the stored ids"
    assert len(rows) >= committed, f"{committed} reported committed, {len(rows)} stored"
    assert len(rows) <= kept + CHUNK, f"{len(rows)} stored, more than the {kept + CHUNK} ever kept"
    for seq, room_key, time_ms, kind, nick, text in rows:
        assert room_key == f"room{seq % 3}", (seq, room_key)
        assert time_ms == BASE_MS + seq, (seq, time_ms)
        assert (kind, nick, text) == ("chat", "writer", f"message {seq}\n"), (seq, kind, nick, text)
    return len(rows)


def main():
    writer = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="chatroom-durability-") as tmp:
        path = os.path.join(tmp, "chat.db")
        committed, kept = run_and_kill(writer, path, 5000)
        stored = check_file(path, committed, kept)
        print(f"first kill: {committed} reported committed, {stored} stored, {kept} kept")
        # The store reopens the killed file (WAL recovery) and numbers after it.
        out = subprocess.run([writer, "check", path], capture_output=True, text=True, timeout=60, check=True).stdout
        assert f"last_seq {stored}\n" in out, out
        assert "rooms with a latest message 3\n" in out, out
        committed, kept = run_and_kill(writer, path, stored + 5000)
        again = check_file(path, committed, kept)
        print(f"second kill: {committed} reported committed, {again} stored, {kept} kept")
        print("durability: every committed message survived SIGKILL, twice")


if __name__ == "__main__":
    main()
