#!/usr/bin/env python3
"""End to end: several chatroom-server processes joined through real redis-server processes.

Usage: test_cluster.py SERVER [WORD...]   (WORDs: run only the checks whose names contain one)

redis-server is taken from $CHATROOM_REDIS_SERVER, else from PATH. Each check
starts its own redis-server instances (free loopback ports, a temporary
directory each, never a system service) and its own chatroom-server nodes
(port 0, read from their logs, `--node-id nN --redis 127.0.0.1:PORT`), talks
the line protocol over raw TCP like telnet, and stops every process it
started by its PID. Every wait is a condition polled against a deadline.
Redis commands (CLIENT KILL, KEYS, PING) go over a raw RESP socket, so no
redis-cli is needed. Prints "ok - NAME" or "not ok - NAME" per check and
"N passed, M failed" last; the exit status is 1 if any check failed.
"""
import collections
import os
import random
import re
import select
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

SERVER = sys.argv[1] if len(sys.argv) > 1 else None
REDIS = os.environ.get("CHATROOM_REDIS_SERVER") or shutil.which("redis-server")
PATIENCE = 20.0
# Long floods on a loaded 2-core machine: every line crosses Redis twice.
FLOOD_PATIENCE = 90.0

DEGRADED = "* the cluster is unreachable: until it is back you chat with this server's members only"
RESTORED = "* the cluster is back: rooms span every server again"


def taken_elsewhere(nick):
    return "! nick taken: %s (on another server)" % nick


def wait_until(pred, what, patience=PATIENCE, every=0.05):
    """Polls pred until it is true; fails with what() after patience seconds."""
    deadline = time.time() + patience
    while True:
        v = pred()
        if v:
            return v
        if time.time() >= deadline:
            raise AssertionError("not within %.0f s: %s" % (patience, what()))
        time.sleep(every)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, n=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return "(%s)" % e


# ---- Redis -----------------------------------------------------------------


class RedisError(Exception):
    pass


class Resp:
    """A minimal RESP2 client on one socket: enough for PING, CLIENT KILL, KEYS, XRANGE."""

    def __init__(self, port, timeout=5.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def command(self, *args):
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.s.sendall(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
        return self.reply()

    def reply(self):
        line = self.f.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2].decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RedisError("unexpected reply %r" % line)

    def close(self):
        self.f.close()
        self.s.close()


class Redis:
    """A redis-server of our own: loopback, a free port, its own directory."""

    def __init__(self, cluster, appendonly=False):
        self.cluster = cluster
        self.dir = tempfile.mkdtemp(prefix="redis-", dir=cluster.dir)
        self.log = os.path.join(self.dir, "redis.log")
        self.appendonly = appendonly
        self.proc = None
        self.port = None
        self.stopped = False
        self.start()

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def start(self, port=None):
        """Starts it (again: on the same port and directory when port is given)."""
        for _ in range(1 if port else 5):
            p = port or free_port()
            logf = open(self.log, "ab")
            proc = subprocess.Popen([REDIS, "--port", str(p), "--bind", "127.0.0.1", "--save", "",
                                     "--appendonly", "yes" if self.appendonly else "no", "--dir", self.dir,
                                     "--daemonize", "no"],
                                    stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
            logf.close()
            self.cluster.procs.append(proc)
            deadline = time.time() + PATIENCE
            while time.time() < deadline and proc.poll() is None:
                try:
                    r = Resp(p, timeout=1.0)
                    try:
                        if r.command("PING") == "PONG":
                            self.proc, self.port, self.stopped = proc, p, False
                            return
                    finally:
                        r.close()
                except (OSError, RedisError):
                    pass  # not listening yet, or still loading its AOF
                time.sleep(0.02)
            stop_process(proc)
        raise AssertionError("redis-server did not start:\n" + tail(self.log))

    def command(self, *args):
        r = Resp(self.port)
        try:
            return r.command(*args)
        finally:
            r.close()

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.stopped = True

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)
        self.stopped = False

    def stop(self):
        if self.stopped:
            self.resume()
        rc = stop_process(self.proc)
        self.proc = None
        return rc


# How long a node may take to stop on SIGTERM (closing its members, its Redis links).
STOP_GRACE = 10.0


def redis_dump(r):
    """The backplane's keys, for a failure's evidence: hashes whole, streams' last entries."""
    out = []
    try:
        for k in sorted(r.command("KEYS", "chatroom:*")):
            kind = r.command("TYPE", k)
            if kind == "hash":
                out.append("%s %r" % (k, r.command("HGETALL", k)))
            elif kind == "stream":
                last = r.command("XREVRANGE", k, "+", "-", "COUNT", "4")
                out.append("%s (%d entries) last: %r" % (k, r.command("XLEN", k), last[::-1]))
            else:
                out.append("%s %s pttl %s" % (k, kind, r.command("PTTL", k)))
    except (OSError, RedisError) as e:
        out.append("(%s)" % e)
    return "\n".join(out)


def stop_process(proc, sig=signal.SIGTERM, grace=PATIENCE):
    """Stops one process by its PID: sig, then SIGKILL if it lingers; always reaped."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            return proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def stop_all(procs, grace):
    """SIGTERM to all at once, one deadline for all, SIGKILL for the rest: the PIDs that needed it."""
    live = [p for p in procs if p.poll() is None]
    for p in live:
        p.send_signal(signal.SIGTERM)
    deadline = time.time() + grace
    stuck = []
    for p in live:
        try:
            p.wait(max(0.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            stuck.append(p)
            p.kill()
            p.wait()
    return stuck


# ---- chatroom-server nodes and their clients -------------------------------


class Node:
    def __init__(self, cluster, node_id, redis, *extra):
        self.cluster = cluster
        self.id = node_id
        self.log = os.path.join(cluster.dir, "node-%s.log" % node_id)
        args = [SERVER, "--bind", "127.0.0.1", "--port", "0", "--node-id", node_id]
        for r in redis:
            args += ["--redis", r.addr]
        self.args = args + list(extra)
        self.proc = None
        self.start()

    def start(self):
        logf = open(self.log, "ab")
        mark = os.path.getsize(self.log)
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=logf)
        logf.close()
        self.cluster.procs.append(self.proc)
        m = self.wait_log(r"listening on 127\.0\.0\.1:(\d+) \(tcp\)", mark)
        self.port = int(m.group(1))
        if "--web-port" in self.args:
            self.web = int(self.wait_log(r"listening on http://127\.0\.0\.1:(\d+) \(web\)", mark).group(1))
        self.wait_log(r"backplane connected", mark)

    def healthz(self):
        """The status of GET /healthz on the web listener."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.web, timeout=PATIENCE) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, after=0, patience=PATIENCE):
        found = []

        def seen():
            m = re.search(pattern, self.text()[after:], re.M)
            if m:
                found.append(m)
                return True
            return self.proc.poll() is not None

        wait_until(seen, lambda: "node %s log never matched %r:\n%s" % (self.id, pattern, tail(self.log)),
                   patience)
        if not found:
            raise AssertionError("node %s exited (%s) before %r:\n%s" % (self.id, self.proc.returncode, pattern,
                                                                       tail(self.log)))
        return found[0]

    def connect(self, nick=None, room=None):
        c = Conn(self)
        self.cluster.conns.append(c)
        if nick:
            c.rename(nick)
        if room:
            c.join(room)
        return c

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self, grace=STOP_GRACE):
        return stop_process(self.proc, grace=grace)


class Conn:
    """A telnet-like client: CRLF lines. Every line received is kept in seen;
    pos is how far wait_for has read."""

    def __init__(self, node):
        self.node = node
        self.s = socket.create_connection(("127.0.0.1", node.port), timeout=PATIENCE)
        self.buf = b""
        self.seen = []
        self.pos = 0
        self.eof = False
        hello = self.next_line()
        assert hello.startswith("* welcome to "), hello
        self.nick = hello.rsplit(" ", 1)[1]
        self.wait_for(lambda l: l.startswith("* joined lobby"))

    def __repr__(self):
        return "%s@%s" % (self.nick, self.node.id)

    def send(self, text):
        self.s.sendall(text.encode() + b"\r\n")

    def pump(self, timeout=0.0):
        """Reads what has arrived (waiting up to timeout) into seen."""
        if self.eof:
            return
        r, _, _ = select.select([self.s], [], [], max(0.0, timeout))
        if not r:
            return
        try:
            chunk = self.s.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            self.eof = True
            return
        self.buf += chunk
        *lines, self.buf = self.buf.split(b"\n")
        for raw in lines:
            assert raw.endswith(b"\r"), (self, raw)
            self.seen.append(raw[:-1].decode())

    def recent(self, n=15):
        return self.seen[-n:]

    def next_line(self, patience=PATIENCE):
        deadline = time.time() + patience
        while self.pos >= len(self.seen):
            left = deadline - time.time()
            if left <= 0 or self.eof:
                raise AssertionError("%r: no line in %.0f s (eof=%s); last lines %r; partial %r"
                                     % (self, patience, self.eof, self.recent(), self.buf))
            self.pump(left)
        self.pos += 1
        return self.seen[self.pos - 1]

    def wait_for(self, pred, patience=PATIENCE):
        """The first line pred accepts (lines before it are skipped)."""
        deadline = time.time() + patience
        while True:
            try:
                l = self.next_line(max(0.0, deadline - time.time()))
            except AssertionError as e:
                raise AssertionError("%r waited in vain: %s" % (self, e))
            if pred(l):
                return l

    def expect(self, text, patience=PATIENCE):
        return self.wait_for(lambda l: l == text, patience)

    def answer(self, command, want, patience=PATIENCE):
        """Sends command; its answer (the first "! " line or want) must be want."""
        self.send(command)
        l = self.wait_for(lambda l: l == want or l.startswith("! "), patience)
        assert l == want, (self, command, "wanted", want, "got", l)
        return l

    def reply(self, command, prefix, patience=PATIENCE):
        """Sends command; returns its answer, the first line starting with prefix or "! "."""
        self.send(command)
        return self.wait_for(lambda l: l.startswith(prefix) or l.startswith("! "), patience)

    def nick_reply(self, nick):
        """Sends /nick nick; its answer: a refusal or this member's rename (to whatever nick)."""
        self.send("/nick " + nick)
        l = self.wait_for(lambda l: l.startswith("! ") or l.startswith("* %s is now known as " % self.nick))
        if l == "* %s is now known as %s" % (self.nick, nick):
            self.nick = nick
        return l

    def rename(self, nick):
        old = self.nick
        l = self.nick_reply(nick)
        assert l == "* %s is now known as %s" % (old, nick), (self, "/nick " + nick, l)

    def join(self, room):
        self.send("/join " + room)
        l = self.wait_for(lambda l: l.startswith("* joined %s (" % room) or l.startswith("! "))
        assert l.startswith("* joined "), (self, room, l)
        self.room = room

    def skip_all(self):
        """Forgets what is unread (lines stay in seen)."""
        self.pump()
        self.pos = len(self.seen)

    def close(self):
        self.s.close()


class Cluster:
    """Owns everything a check starts; stops it all by PID, whatever happened."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="chatroom-cluster-")
        self.procs = []
        self.conns = []
        self.redises = []
        self.nodes = []

    def redis(self, appendonly=False):
        r = Redis(self, appendonly)
        self.redises.append(r)
        return r

    def node(self, node_id, redis, *extra):
        n = Node(self, node_id, redis if isinstance(redis, list) else [redis], *extra)
        self.nodes.append(n)
        return n

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        try:
            if kind is not None and not isinstance(exc, KeyboardInterrupt):
                for n in self.nodes:
                    print("     --- node %s log (last lines) ---\n%s" % (n.id, tail(n.log, 30)))
                for r in self.redises:
                    if r.proc is not None and not r.stopped:
                        print("     --- redis %s ---\n%s" % (r.addr, redis_dump(r)))
        finally:
            for c in self.conns:
                c.close()
            # A stopped Redis cannot hear SIGTERM, and nodes may wait on it while stopping.
            for r in self.redises:
                if r.stopped and r.proc is not None:
                    r.resume()
            stuck = stop_all([n.proc for n in self.nodes], STOP_GRACE)
            if stuck:
                print("     note: %s did not stop within %.0f s of SIGTERM (killed; see check 12)"
                      % (", ".join(n.id for n in self.nodes if n.proc in stuck), STOP_GRACE))
            for p in reversed(self.procs):
                stop_process(p)
            shutil.rmtree(self.dir, ignore_errors=True)


# ---- helpers over many connections -----------------------------------------


def collect(conns, until, what, patience=PATIENCE):
    """Reads every connection until until() holds; fails with what() at the deadline."""
    deadline = time.time() + patience
    while not until():
        left = deadline - time.time()
        live = [c for c in conns if not c.eof]
        if left <= 0 or not live:
            raise AssertionError("not within %.0f s: %s" % (patience, what()))
        r, _, _ = select.select([c.s for c in live], [], [], min(left, 0.2))
        for c in live:
            if c.s in r:
                c.pump()


def observe(conns, seconds):
    """Reads every connection for a fixed window: for checks that something does NOT happen."""
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([c.s for c in conns if not c.eof], [], [], max(0.0, min(0.2, end - time.time())))
        for c in conns:
            if c.s in r:
                c.pump()


def settle(conns, patience=PATIENCE):
    """Until every connection hears a line from every other one: all are in the room and reading it.
    Rounds of fresh tokens, because a node may take a moment to start reading a room."""
    deadline = time.time() + patience
    token = "".join(random.choice(string.ascii_lowercase) for _ in range(6))
    for rnd in range(1, 100):
        marks = {c: len(c.seen) for c in conns}
        tag = "settle-%s-%d" % (token, rnd)
        for c in conns:
            c.send("%s from %s" % (tag, c.nick))
        want = {c: {"<%s> %s from %s" % (o.nick, tag, o.nick) for o in conns if o is not c} for c in conns}

        def missing():
            return {c: want[c] - set(c.seen[marks[c]:]) for c in conns if want[c] - set(c.seen[marks[c]:])}

        try:
            collect(conns, lambda: not missing(), lambda: "", min(4.0, max(0.1, deadline - time.time())))
            for c in conns:
                c.skip_all()
            return
        except AssertionError:
            if time.time() >= deadline:
                raise AssertionError("connections never all heard each other: missing %r" % missing())


class Pacer(threading.Thread):
    """Sends numbered lines from one connection at a steady pace, recording when each left."""

    def __init__(self, conn, lines, interval, chunk=1):
        super().__init__(daemon=True)
        self.conn, self.lines, self.interval, self.chunk = conn, lines, interval, chunk
        self.sent_at = []
        self.error = None
        self.halt = threading.Event()

    def run(self):
        try:
            for i in range(0, len(self.lines), self.chunk):
                part = self.lines[i:i + self.chunk]
                self.conn.s.sendall(b"".join(l.encode() + b"\r\n" for l in part))
                self.sent_at += [time.time()] * len(part)
                if self.halt.wait(self.interval):
                    return
        except OSError as e:
            self.error = e

    def finish(self):
        self.halt.set()
        self.join(PATIENCE)
        assert not self.is_alive(), "a sender thread is stuck"
        assert self.error is None, (self.conn, self.error)


def numbered(conn, count, word="line"):
    return ["%s %s %04d" % (conn.nick, word, i) for i in range(1, count + 1)]


def verify_streams(conns, sent, what):
    """Every connection saw every line sent by the others exactly once, each sender's in its order,
    and all saw the same total order. sent: {sender conn: [texts]}. Returns the total order."""
    senders = {"<%s> " % s.nick: s for s in sent}
    expected_line = {"<%s> %s" % (s.nick, t) for s, ts in sent.items() for t in ts}
    views = {}
    for c in conns:
        chat = [l for l in c.seen if l in expected_line]
        views[c] = chat
        counts = collections.Counter(chat)
        dups = sorted(l for l, n in counts.items() if n > 1)
        assert not dups, ("%s: %r got lines twice" % (what, c), len(dups), dups[:10])
        for s, ts in sent.items():
            if s is c:
                assert not any(l.startswith("<%s> " % s.nick) for l in chat), ("%s: %r got its own line" % (what, c))
                continue
            got = [l for l in chat if l.startswith("<%s> " % s.nick)]
            want = ["<%s> %s" % (s.nick, t) for t in sent[s]]
            if got != want:
                missing = [l for l in want if l not in counts]
                raise AssertionError("%s: %r saw %d of %s's %d lines; missing %r; out of order: %s"
                                     % (what, c, len(got), s.nick, len(want), missing[:10],
                                        [(a, b) for a, b in zip(got, got[1:]) if a > b][:5]))
    # One total order: a sender's view is everyone's with its own lines left out.
    longest = max(views, key=lambda k: len(views[k]))
    full = views[longest]
    for c, v in views.items():
        mine = "<%s> " % c.nick
        ref = [l for l in full if not l.startswith(mine)] if mine in senders else full
        if v != ref:
            at = next(i for i, (x, y) in enumerate(zip(v + [None], ref + [None])) if x != y)
            raise AssertionError("%s: %r saw another order than %r from line %d: %r vs %r"
                                 % (what, c, longest, at, v[at:at + 5], ref[at:at + 5]))
    return full


def chat_seen(conns, sent):
    """A predicate: every connection has seen as many of the others' lines as were sent."""
    expected_line = {"<%s> %s" % (s.nick, t) for s, ts in sent.items() for t in ts}
    want = {c: sum(len(ts) for s, ts in sent.items() if s is not c) for c in conns}
    cursors = {c: 0 for c in conns}
    counts = {c: 0 for c in conns}

    def done():
        ok = True
        for c in conns:
            seen = c.seen
            for l in seen[cursors[c]:]:
                if l in expected_line:
                    counts[c] += 1
            cursors[c] = len(seen)
            ok = ok and counts[c] >= want[c]
        return ok

    done.counts = counts
    done.want = want
    return done


def poll_reply(conn, command, prefix, want):
    """Repeats command until its answer is want: views of other nodes refresh every heartbeat."""
    last = []

    def good():
        last.append(conn.reply(command, prefix))
        return last[-1] == want

    wait_until(good, lambda: "%r %s: wanted %r, last answers %r" % (conn, command, want, last[-3:]), every=0.2)


def finish_round(conns, senders, tag="end"):
    """Each sender sends a last line after its numbered ones; waiting for them all means anything
    duplicated or late from before has had its turn."""
    marks = {s: "%s of %s" % (tag, s.nick) for s in senders}
    for s, m in marks.items():
        s.send(m)
    want = {c: {"<%s> %s" % (s.nick, m) for s, m in marks.items() if s is not c} for c in conns}
    collect(conns, lambda: all(want[c] <= set(c.seen) for c in conns),
            lambda: "end lines missing: %r" % {c: want[c] - set(c.seen) for c in conns})


# ---- checks -----------------------------------------------------------------


def check_01_cross_node_chat_both_ways():
    with Cluster() as cl:
        r = cl.redis()
        a, b = cl.node("n1", r), cl.node("n2", r)
        alice = a.connect("alice")
        bob, bea = b.connect("bob"), b.connect("bea")
        settle([alice, bob, bea])
        alice.send("hello from node one")
        bob.expect("<alice> hello from node one")
        bea.expect("<alice> hello from node one")
        bob.send("and hello from node two")
        alice.expect("<bob> and hello from node two")
        bea.expect("<bob> and hello from node two")
        alice.send("/me waves across")
        bea.expect("* alice waves across")
        # Arrivals, renames and departures on one node are seen on the other.
        late = b.connect()
        guest = late.nick
        assert guest.startswith("guest-n2-"), guest
        alice.expect("* %s joined" % guest)
        late.rename("carl")
        alice.expect("* %s is now known as carl" % guest)
        late.send("/quit bye now")
        alice.expect("* carl left (quit: bye now)")
        bea.send("still here")
        alice.expect("<bea> still here")


def check_02_one_order_across_three_nodes():
    with Cluster() as cl:
        r = cl.redis()
        nodes = [cl.node("n%d" % i, r) for i in (1, 2, 3)]
        senders = [n.connect("s%d" % i) for i, n in enumerate(nodes, 1)]
        receivers = [n.connect("r%d" % i) for i, n in enumerate(nodes, 1)]
        everyone = senders + receivers
        settle(everyone)
        sent = {s: numbered(s, 200) for s in senders}
        pacers = [Pacer(s, sent[s], 0.002, chunk=5) for s in senders]
        started = time.time()
        for p in pacers:
            p.start()
        done = chat_seen(everyone, sent)
        try:
            collect(everyone, done, lambda: "lines seen %r of %r" % (done.counts, done.want), FLOOD_PATIENCE)
        finally:
            for p in pacers:
                p.finish()
        took = time.time() - started
        finish_round(everyone, senders)
        order = verify_streams(everyone, sent, "3 nodes x 200 lines")
        # How interleaved the one order is: a sender's run ends where another's line comes in between.
        switches = sum(x.split(">")[0] != y.split(">")[0] for x, y in zip(order, order[1:]))
        print("     600 lines to 6 members on 3 nodes in %.2f s; the order switches sender %d times" % (took, switches))


def check_03_nick_clash_across_nodes():
    with Cluster() as cl:
        r = cl.redis()
        a, b = cl.node("n1", r), cl.node("n2", r)
        alice = a.connect("alice")
        other = b.connect()
        # The claim is atomic in Redis: the very first attempt is refused.
        claims = r.command("HGETALL", "chatroom:nicks"), r.command("HGETALL", "chatroom:nodes")
        l = other.nick_reply("alice")
        assert l == taken_elsewhere("alice"), ("alice is on n1", l, "before: nicks, nodes", claims,
                                               "after:", r.command("HGETALL", "chatroom:nicks"))
        l = other.nick_reply("ALICE")
        assert l in (taken_elsewhere("ALICE"), taken_elsewhere("alice")), ("alice is on n1", l)
        # Two nodes racing for one nick: exactly one wins.
        x, y = a.connect(), b.connect()
        xo, yo = x.nick, y.nick
        x.send("/nick zed")
        y.send("/nick zed")
        lx = x.wait_for(lambda l: l == "* %s is now known as zed" % xo or l.startswith("! "))
        ly = y.wait_for(lambda l: l == "* %s is now known as zed" % yo or l.startswith("! "))
        wins = [l for l in (lx, ly) if l.endswith(" is now known as zed")]
        assert len(wins) == 1, ("both or neither got zed", lx, ly)
        loser = ly if wins[0] == lx else lx
        assert loser == taken_elsewhere("zed"), loser
        # A nick given up on one node can be taken on another (the release may lag the rename a moment).
        alice.rename("alicia")
        got = []

        def take():
            before = other.nick
            got.append(other.nick_reply("alice"))
            assert got[-1] in (taken_elsewhere("alice"), "* %s is now known as alice" % before), got
            return other.nick == "alice"

        wait_until(take, lambda: "alice never freed: %r" % got[-3:], every=0.2)
        if len(got) > 1:
            print("     note: /nick alice after the rename was refused %d time(s) first" % (len(got) - 1))


def check_04_private_messages_across_nodes():
    with Cluster() as cl:
        r = cl.redis()
        a, b = cl.node("n1", r), cl.node("n2", r)
        alice = a.connect("alice")
        carol = a.connect("carol", room="elsewhere")
        bob = b.connect("bob")
        settle([alice, bob])
        everyone = [alice, bob, carol]

        def msg(sender, to, text):
            # The other nodes' members are known from their rosters, refreshed every heartbeat.
            tries = []

            def sent():
                sender.send("/msg %s %s" % (to, text))
                # A refusal comes at once; an accepted /msg gets no answer, so a ping line bounds the wait.
                sender.send("/rooms")
                l = sender.wait_for(lambda l: l.startswith("! ") or l.startswith("* rooms: "))
                tries.append(l)
                if l.startswith("* rooms: "):
                    return True
                assert l == "! no such nick: %s" % to, l
                sender.wait_for(lambda l: l.startswith("* rooms: "))
                return False

            wait_until(sent, lambda: "/msg %s never accepted: %r" % (to, tries[-3:]), every=0.2)
            return "*%s* %s" % (sender.nick, text)

        delivered = []

        def round_of(name, sends):
            want = [(to_conn, msg(sender, to_conn.nick, text)) for sender, to_conn, text in sends]
            collect(everyone, lambda: all(w in c.seen for c, w in want),
                    lambda: "%s: not delivered %r (delivered: %r)"
                    % (name, [(c, w) for c, w in want if w not in c.seen], [(c, w) for c, w in want if w in c.seen]))
            delivered.extend(want)

        # The first private messages of a cluster that has been quiet for a few heartbeats since it formed.
        observe(everyone, 2.5)
        round_of("the first ones", [(alice, bob, "hello bob, privately"), (bob, alice, "hi alice, privately"),
                                    (bob, carol, "carol in another room")])
        round_of("at once again", [(alice, bob, "second to bob"), (bob, alice, "second to alice")])
        # After the cluster has been quiet for a few heartbeats: nothing but the message wakes a node.
        observe(everyone, 2.5)
        round_of("after a quiet while", [(alice, bob, "to bob after a quiet while"),
                                         (bob, alice, "to alice after a quiet while"),
                                         (alice, carol, "to carol after a quiet while")])
        alice.answer("/msg nobody-here hi", "! no such nick: nobody-here")
        # Exactly once, and only to the one it was for.
        finish_round([alice, bob], [alice, bob])
        observe([carol], 0.5)
        for c, w in delivered:
            assert c.seen.count(w) == 1, (c, w, c.seen)
        for c in everyone:
            stray = [l for l in c.seen if re.match(r"\*\w+\* ", l) and (c, l) not in delivered]
            assert not stray, (c, "got private lines for others", stray)


def check_05_cluster_who_and_rooms():
    with Cluster() as cl:
        r = cl.redis()
        a, b = cl.node("n1", r), cl.node("n2", r)
        alice, carol = a.connect("alice"), a.connect("carol")
        bob = b.connect("bob")
        dave = b.connect("dave", room="dev")
        want_who = "* in lobby: alice, bob, carol"
        want_rooms = "* rooms: dev (1), lobby (3)"

        poll = poll_reply
        poll(alice, "/who", "* in ", want_who)
        poll(bob, "/who", "* in ", want_who)
        poll(dave, "/who", "* in ", "* in dev: dave")
        for c in (alice, bob, dave):
            poll(c, "/rooms", "* rooms: ", want_rooms)
        # Leaving shows too.
        carol.send("/quit")
        poll(bob, "/who", "* in ", "* in lobby: alice, bob")
        poll(alice, "/rooms", "* rooms: ", "* rooms: dev (1), lobby (2)")


class JsonClient:
    """A browser's JSON dialect (chatroom.v1, docs/web-protocol.md) on a node's web port, driven from
    synchronous checks through an event loop of its own."""

    def __init__(self, node):
        import asyncio
        import websockets
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)  # websockets 10 looks for the current loop
        self.asyncio = asyncio
        self.ws = self.loop.run_until_complete(websockets.connect(
            "ws://127.0.0.1:%d/ws" % node.web, subprotocols=["chatroom.v1"], open_timeout=PATIENCE))
        self.seen = []

    def send(self, **obj):
        import json
        self.loop.run_until_complete(self.ws.send(json.dumps(obj)))

    def expect(self, pred, what, patience=PATIENCE):
        import json

        async def loop():
            while True:
                obj = json.loads(await self.ws.recv())
                self.seen.append(obj)
                if pred(obj):
                    return obj
        try:
            return self.loop.run_until_complete(self.asyncio.wait_for(loop(), patience))
        except self.asyncio.TimeoutError:
            raise AssertionError("JSON client never got %s; last: %r" % (what, self.seen[-10:]))

    def close(self):
        self.loop.run_until_complete(self.ws.close())
        self.loop.close()


def check_05b_a_member_in_several_rooms_is_seen_in_each_across_nodes():
    """The roster holds every room of a member: /who and /rooms on another node, parts, and its leaving."""
    with Cluster() as cl:
        r = cl.redis()
        a, b = cl.node("n1", r, "--web-port", "0", "--web-bind", "127.0.0.1"), cl.node("n2", r)
        bob = b.connect("bob")
        dave = b.connect("dave", room="dev")
        olga = b.connect("olga", room="ops")
        wendy = JsonClient(a)
        try:
            wendy.expect(lambda o: o.get("type") == "joined_room", "the lobby")
            wendy.send(type="nick", nick="wendy")
            wendy.expect(lambda o: o.get("type") == "renamed" and o.get("nick") == "wendy", "its rename")
            for room in ("dev", "ops"):
                wendy.send(type="join", room=room)
                wendy.expect(lambda o, room=room: o.get("type") == "joined_room" and o.get("room") == room, room)
            poll_reply(bob, "/who", "* in ", "* in lobby: bob, wendy")
            poll_reply(dave, "/who", "* in ", "* in dev: dave, wendy")
            poll_reply(olga, "/who", "* in ", "* in ops: olga, wendy")
            poll_reply(bob, "/rooms", "* rooms: ", "* rooms: dev (2), lobby (2), ops (2)")
            # Parting one room: gone from it alone, on the other node too.
            wendy.send(type="part", room="dev", reason="done here")
            dave.expect("* wendy left (done here)")
            poll_reply(dave, "/who", "* in ", "* in dev: dave")
            poll_reply(olga, "/who", "* in ", "* in ops: olga, wendy")
            # Its lines reach each room it names, across nodes.
            wendy.send(type="say", room="ops", text="hello ops")
            olga.expect("<wendy> hello ops")
            olga.send("hi wendy")
            got = wendy.expect(lambda o: o.get("type") == "chat" and o.get("nick") == "olga", "olga's line")
            assert got.get("room") == "ops", got
            # A nick is one across the cluster, whatever rooms hold it.
            assert bob.nick_reply("wendy") == taken_elsewhere("wendy")
        finally:
            wendy.close()
        # Leaving the server: each room it was in hears it, on the other node.
        olga.wait_for(lambda l: l.startswith("* wendy left"))
        bob.wait_for(lambda l: l.startswith("* wendy left"))
        poll_reply(bob, "/rooms", "* rooms: ", "* rooms: dev (1), lobby (1), ops (1)")


def check_06_history_from_the_stream():
    with Cluster() as cl:
        r = cl.redis()
        a, b = cl.node("n1", r, "--history", "20"), cl.node("n2", r, "--history", "20")
        alice = a.connect("alice", room="hist")
        watcher = b.connect("watcher", room="hist")
        settle([alice, watcher])
        said = ["<alice> said before %02d" % i for i in range(1, 26)]
        # One write: a node may put several lines in one stream entry; history counts lines.
        alice.s.sendall(b"".join(l[len("<alice> "):].encode() + b"\r\n" for l in said))
        watcher.expect(said[-1])

        def joiner_gets_history(node, nick):
            c = node.connect(nick)
            c.send("/join hist")
            c.wait_for(lambda l: l.startswith("* joined hist ("))
            got = [c.next_line() for _ in range(20)]
            assert got == said[-20:], ("%r history" % c, got)
            return c

        joiner_gets_history(b, "bob")
        # Every server that held the room gone: the stream still has it.
        for n in (a, b):
            for c in list(cl.conns):
                if c.node is n:
                    c.close()
            # A clean stop is check 12's business; here only the stream's survival matters.
            n.stop()
        n3 = cl.node("n3", r, "--history", "20")
        fresh = joiner_gets_history(n3, "carol")
        # Nothing more than the 20: the next line is live.
        later = n3.connect("dave", room="hist")
        settle([fresh, later])
        later.send("live now")
        fresh.expect("<dave> live now")
        tail_lines = [l for l in fresh.seen if l.startswith("<")]
        assert tail_lines[:20] == said[-20:] and "<alice> said before 05" not in tail_lines, tail_lines


def check_06b_history_command_reads_the_stream_on_every_node():
    """Without --history, /history in the Redis mode reads the room's stream:
    every node answers the same lines, said on any node; --no-redis-history
    turns it off."""
    with Cluster() as cl:
        r = cl.redis()
        a, b = cl.node("n1", r), cl.node("n2", r)
        alice, bob = a.connect("alice"), b.connect("bob")
        settle([alice, bob])
        for c, text in ((alice, "one from n1"), (bob, "two from n2"), (alice, "three from n1")):
            c.send(text)
            (bob if c is alice else alice).expect("<%s> %s" % (c.nick, text))
        bob.send("/me waves")
        alice.expect("* bob waves")
        answers = []
        for c in (alice, bob):
            c.send("/history 3")
            head = c.wait_for(lambda l: l.startswith("* history of ") or l.startswith("! "))
            assert head == "* history of lobby, last 3 lines (UTC):", (c, head)
            answers.append([c.next_line() for _ in range(3)])
        assert answers[0] == answers[1], answers
        assert [l.split("] ", 1)[1] for l in answers[0]] == ["<bob> two from n2", "<alice> three from n1",
                                                             "* bob waves"], answers[0]
        off = cl.node("n3", r, "--no-redis-history")
        carol = off.connect("carol")
        carol.answer("/history", "! this server keeps no history")


def two_nodes_with_traffic(cl, *extra, appendonly=False):
    r = cl.redis(appendonly=appendonly)
    a, b = cl.node("n1", r, *extra), cl.node("n2", r, *extra)
    sa, sb = a.connect("sa"), b.connect("sb")
    ra, rb = a.connect("ra"), b.connect("rb")
    everyone = [sa, sb, ra, rb]
    settle(everyone)
    return r, a, b, [sa, sb], everyone


def check_07_redis_connections_killed_mid_traffic():
    with Cluster() as cl:
        r, a, b, senders, everyone = two_nodes_with_traffic(cl, "--redis-outage", "30")
        sent = {s: numbered(s, 200) for s in senders}
        pacers = [Pacer(s, sent[s], 0.01) for s in senders]
        for p in pacers:
            p.start()
        done = chat_seen(everyone, sent)
        killed = []
        try:
            for at in (60, 150):
                collect(everyone, lambda: done() or min(done.counts.values()) >= at,
                        lambda: "lines seen %r" % done.counts)
                killed.append(r.command("CLIENT", "KILL", "TYPE", "normal"))
            collect(everyone, done, lambda: "lines seen %r of %r" % (done.counts, done.want), FLOOD_PATIENCE)
        finally:
            for p in pacers:
                p.finish()
        assert all(k >= 2 for k in killed), ("CLIENT KILL found too few connections", killed)
        finish_round(everyone, senders)
        verify_streams(everyone, sent, "CLIENT KILL mid-traffic")
        print("     CLIENT KILL TYPE normal closed %s connections" % killed)


def check_08_redis_restarted_mid_traffic():
    with Cluster() as cl:
        r, a, b, senders, everyone = two_nodes_with_traffic(cl, "--redis-outage", "30", appendonly=True)
        sent = {s: numbered(s, 200) for s in senders}
        pacers = [Pacer(s, sent[s], 0.01) for s in senders]
        for p in pacers:
            p.start()
        done = chat_seen(everyone, sent)
        try:
            collect(everyone, lambda: done() or min(done.counts.values()) >= 60,
                    lambda: "lines seen %r" % done.counts)
            down = time.time()
            assert r.stop() == 0, tail(r.log)
            r.start(r.port)
            up = time.time()
            collect(everyone, done, lambda: "lines seen %r of %r" % (done.counts, done.want), FLOOD_PATIENCE)
        finally:
            for p in pacers:
                p.finish()
        during = sum(down <= t <= up for p in pacers for t in p.sent_at)
        finish_round(everyone, senders)
        verify_streams(everyone, sent, "Redis restart mid-traffic")
        print("     Redis down %.2f s; %d lines sent meanwhile" % (up - down, during))


def check_09a_redis_stopped_past_the_command_timeout_holds():
    with Cluster() as cl:
        r, a, b, senders, everyone = two_nodes_with_traffic(cl, "--redis-outage", "30")
        sent = {s: numbered(s, 150) for s in senders}
        pacers = [Pacer(s, sent[s], 0.02) for s in senders]
        for p in pacers:
            p.start()
        done = chat_seen(everyone, sent)
        marks = {c: len(c.seen) for c in everyone}
        try:
            collect(everyone, lambda: done() or min(done.counts.values()) >= 20,
                    lambda: "lines seen %r" % done.counts)
            r.pause()
            stopped = time.time()
            # The fault under test is Redis frozen past the ~3 s command timeout: hold it that long.
            observe(everyone, 4.5)
            r.resume()
            resumed = time.time()
            collect(everyone, done, lambda: "lines seen %r of %r" % (done.counts, done.want), FLOOD_PATIENCE)
        finally:
            for p in pacers:
                p.finish()
        during = sum(stopped <= t <= resumed for p in pacers for t in p.sent_at)
        assert during > 0, "no line was sent while Redis was stopped"
        finish_round(everyone, senders)
        verify_streams(everyone, sent, "Redis SIGSTOP 4.5 s")
        # Held, not degraded, and nobody seen leaving.
        odd = {c: [l for l in c.seen[marks[c]:] if l in (DEGRADED, RESTORED) or re.match(r"\* \S+ left", l)]
               for c in everyone}
        assert not any(odd.values()), ("notices during a held outage", odd)
        print("     %d lines sent while Redis was stopped; delivered after SIGCONT, once each" % during)


def check_09b_redis_stopped_past_the_outage_degrades():
    with Cluster() as cl:
        r = cl.redis()
        a = cl.node("n1", r, "--redis-outage", "1", "--web-port", "0")
        b = cl.node("n2", r, "--redis-outage", "1")
        a1, a2, b1 = a.connect("a1"), a.connect("a2"), b.connect("b1")
        everyone = [a1, a2, b1]
        settle(everyone)
        assert a.healthz() == 200
        r.pause()
        paused = time.time()
        try:
            for c in everyone:
                c.expect(DEGRADED)
            degraded_after = time.time() - paused
            # Degraded is told, and seen from outside: /healthz is 503.
            assert a.healthz() == 503, a.healthz()
            # Degraded: this server's members still chat with each other.
            a1.send("local while degraded")
            a2.expect("<a1> local while degraded")
            b1.send("alone on n2")
        finally:
            r.resume()
        for c in everyone:
            c.expect(RESTORED)
        assert a.healthz() == 200
        # The cluster spans both servers again (the rooms may take a moment to be read again).
        settle(everyone)
        a1.send("after the outage")
        b1.expect("<a1> after the outage")
        a2.expect("<a1> after the outage")
        b1.send("reply from n2")
        a1.expect("<b1> reply from n2")
        finish_round(everyone, everyone)
        local = "<a1> local while degraded"
        assert a2.seen.count(local) == 1, ("a2 got the degraded-time line %d times" % a2.seen.count(local), a2.seen)
        assert b1.seen.count(local) <= 1, b1.seen
        assert not any(l.startswith("<a1> ") for l in a1.seen), a1.seen
        print("     n2's member got the line said on n1 while degraded, after the outage: %s; degraded %.1f s "
              "after SIGSTOP (2 s command timeout + 1 s outage); /healthz 503 then 200"
              % (local in b1.seen, degraded_after))


def node_killed(formed):
    """Three nodes; n3, with carol and dave, is SIGKILLed: once the cluster has formed as its members see
    it (formed), or at once after its members joined."""
    with Cluster() as cl:
        r = cl.redis()
        a, b, c = cl.node("n1", r), cl.node("n2", r), cl.node("n3", r)
        alice, bob = a.connect("alice"), b.connect("bob")
        carol, dave = c.connect("carol"), c.connect("dave")
        survivors = [alice, bob]
        settle(survivors + [carol, dave])
        if formed:
            for s in survivors:
                poll_reply(s, "/who", "* in ", "* in lobby: alice, bob, carol, dave")
        known = r.command("HGETALL", "chatroom:nodes")
        killed_at = time.time()
        c.kill()
        gone = ["* carol left (server lost)", "* dave left (server lost)"]
        collect(survivors, lambda: all(set(gone) <= set(s.seen) for s in survivors),
                lambda: "leaves: %r; chatroom:nodes when n3 was killed: %r" % ({s: s.recent() for s in survivors},
                                                                             known))
        took = time.time() - killed_at
        # Once each: watch a while longer (another survivor could announce them too), then a barrier.
        observe(survivors, 3.0)
        finish_round(survivors, survivors)
        for s in survivors:
            left = [l for l in s.seen if re.match(r"\* (carol|dave) left", l)]
            assert sorted(left) == gone, ("%r saw the leaves" % s, left)
        # Their nicks are free again, on any surviving node.
        tries = []

        def take(conn, nick):
            tries.append(conn.nick_reply(nick))
            if conn.nick == nick:
                return True
            assert tries[-1] == taken_elsewhere(nick), tries
            return False

        wait_until(lambda: take(alice, "carol"), lambda: "carol not freed: %r" % tries[-3:], every=0.2)
        wait_until(lambda: take(bob, "dave"), lambda: "dave not freed: %r" % tries[-3:], every=0.2)
        poll_reply(alice, "/who", "* in ", "* in lobby: carol, dave")
        print("     leaves seen %.2f s after SIGKILL; nick attempts %r" % (took, tries))


def check_10a_node_killed_members_leave_and_nicks_free():
    node_killed(formed=True)


def check_10b_node_killed_right_after_its_members_joined():
    node_killed(formed=False)


def check_11_rooms_over_two_redis_instances():
    with Cluster() as cl:
        r1, r2 = cl.redis(), cl.redis()
        a, b = cl.node("n1", [r1, r2]), cl.node("n2", [r1, r2])
        rooms = ["room%d" % i for i in range(10)]
        pairs = [(a.connect("a%d" % i, room=room), b.connect("b%d" % i, room=room)) for i, room in enumerate(rooms)]
        for pa, pb in pairs:
            settle([pa, pb])
        for (pa, pb), room in zip(pairs, rooms):
            pa.send("in %s from n1" % room)
            pb.send("in %s from n2" % room)
        for (pa, pb), room in zip(pairs, rooms):
            pb.expect("<%s> in %s from n1" % (pa.nick, room))
            pa.expect("<%s> in %s from n2" % (pb.nick, room))
        # Nothing leaked between rooms.
        for (pa, pb), room in zip(pairs, rooms):
            for conn in (pa, pb):
                foreign = [l for l in conn.seen if re.match(r"<\S+> in room\d+ from", l) and (" %s " % room) not in l]
                assert not foreign, (conn, foreign)
        held = {}
        for r in (r1, r2):
            keys = r.command("KEYS", "chatroom:room:*")
            held[r.port] = {re.sub(r"^chatroom:room:\{?(.*?)\}?$", r"\1", k) for k in keys}
        mine = [held[r.port] & set(rooms) for r in (r1, r2)]
        assert mine[0] and mine[1], ("room streams all on one instance", held)
        assert not (mine[0] & mine[1]), ("a room stream on both instances", held)
        assert mine[0] | mine[1] == set(rooms), ("room streams missing", held)
        print("     room streams: %s" % {"r%d" % i: sorted(m) for i, m in enumerate(mine, 1)})


def check_12_nodes_stop_cleanly_on_sigterm():
    with Cluster() as cl:
        r = cl.redis()
        a, b = cl.node("n1", r), cl.node("n2", r)
        alice, bob = a.connect("alice"), b.connect("bob")
        settle([alice, bob])
        first = True
        for n, member in ((a, alice), (b, bob)):
            started = time.time()
            n.proc.send_signal(signal.SIGTERM)
            try:
                rc = n.proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                raise AssertionError("node %s still running %.0f s after SIGTERM:\n%s"
                                     % (n.id, STOP_GRACE, tail(n.log)))
            assert rc == 0, (n.id, rc, tail(n.log))
            member.expect("* server shutting down")
            print("     %s stopped in %.2f s" % (n.id, time.time() - started))
            if first:
                # The cluster hears it from the stopping server itself, not
                # a heartbeat TTL later from a survivor.
                bob.expect("* alice left (server shutting down)")
                first = False


def check_13_irc_away_notify_and_account_tag_across_nodes():
    """IRC's away-notify and account-tag between two nodes: the away event and the speaker's account travel in
    the room's stream entry."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
    import chatroom_testkit as kit
    with Cluster() as cl:
        secret = "cluster-acct-%d" % os.getpid()
        h = subprocess.run([SERVER, "--hash-password"], input=(secret + "\n").encode(), capture_output=True,
                           timeout=PATIENCE)
        assert h.returncode == 0, h
        users = os.path.join(cl.dir, "users")
        # Three log in; gus is a guest, whose nick is claimed across the nodes while it registers, in no room.
        with open(users, "w") as f:
            f.write("".join("%s:%s\n" % (n, h.stdout.decode().strip()) for n in ("ann", "wes", "bo")))
        r = cl.redis()
        a = cl.node("n1", r, "--irc-port", "0", "--users", users)
        b = cl.node("n2", r, "--irc-port", "0", "--users", users)
        irc = lambda n: int(n.wait_log(r"listening on 127\.0\.0\.1:(\d+) \(irc\)").group(1))
        ann = kit.IrcClient(irc(a), "ann (IRC on n1, logged in)", PATIENCE)
        wes = kit.IrcClient(irc(b), "wes (IRC on n2, away-notify account-tag)", PATIENCE)
        bo = kit.IrcClient(irc(b), "bo (IRC on n2, no caps)", PATIENCE)
        cl.conns += [ann, wes, bo]
        for c, n, caps in ((ann, "ann", None), (bo, "bo", None), (wes, "wes", "away-notify account-tag")):
            c.send("PASS " + secret)
            c.register(n, caps)
        for c, n in ((wes, "wes"), (bo, "bo"), (ann, "ann")):
            c.send("JOIN #dev")
            c.expect(r" 366 %s #dev " % n)
        wes.expect(r":ann!\S+ JOIN #dev$")
        ann.send("PRIVMSG #dev :across nodes")
        wes.expect(r"^@account=ann :ann!ann@\S+ PRIVMSG #dev :across nodes$")
        bo.expect(r"^:ann!ann@\S+ PRIVMSG #dev :across nodes$")
        ann.send("AWAY :lunch")
        ann.expect(r" 306 ann :")
        wes.expect(r"^@account=ann :ann!ann@\S+ AWAY :lunch$")
        ann.send("AWAY")
        wes.expect(r"^@account=ann :ann!ann@\S+ AWAY$")
        bo.send("PING :sync")
        bo.expect(r" PONG \S+ :sync$")
        assert not any(re.search(r" AWAY( |$)", l) for l in bo.seen), bo.seen[-5:]
        # A guest: welcomed once its nick's claim is decided (the rename is told to it, in no room), and told of
        # a NICK it changes while in no channel; then in the room like the others.
        gus = kit.IrcClient(irc(a), "gus (IRC guest on n1)", PATIENCE)
        cl.conns.append(gus)
        gus.register("gus")
        gus.send("NICK gus2")
        gus.expect(r"^:gus!\S+ NICK :?gus2$")
        gus.send("JOIN #dev")
        gus.expect(r" 366 gus2 #dev ")
        wes.expect(r":gus2!\S+ JOIN #dev$")


def main():
    if not SERVER or not REDIS:
        print("usage: test_cluster.py SERVER [WORD...] (redis-server on PATH or $CHATROOM_REDIS_SERVER)")
        return 2
    only = sys.argv[2:]
    checks = [v for k, v in sorted(globals().items())
              if k.startswith("check_") and (not only or any(w in k for w in only))]
    passed = failed = 0
    began = time.time()
    for check in checks:
        name = check.__name__[len("check_"):]
        started = time.time()
        try:
            check()
            passed += 1
            print("ok - %s (%.1f s)" % (name, time.time() - started))
        except Exception:
            failed += 1
            print("not ok - %s (%.1f s)" % (name, time.time() - started))
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
    print("%d passed, %d failed (%.0f s)" % (passed, failed, time.time() - began))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
