#!/usr/bin/env python3
"""Chaos: a cluster under seeded random faults, every line checked at every receiver.

Usage: chaos.py SERVER [--seed N] [--seconds S] [--long]

Three chatroom-server nodes join two Redis instances through Redis Sentinel:
m1 (the home) is a primary and a replica with AOF and enough data that
loading takes seconds, m2 a primary and a replica without persistence; one
sentinel watches both. Thirty clients in four rooms (over both instances)
say numbered lines. Meanwhile faults come at random, from a seed printed
first (give it back with --seed to replay a run): Redis connections killed,
a Redis primary frozen (shortly; past the outage time), restarted with its
AOF (loading for seconds) or without data, a Sentinel failover, a node
killed and restarted at once under its id, a node frozen.

Then the faults stop, the cluster heals, and every receiver's lines are
checked: no line twice, each sender's lines in order, every line said
while both were there received, except where a fault could lose it (the
sender's node killed as it said it; data Redis lost: restarted without
AOF, or a failover) and then only if the receiver was told its room missed
events. For each killed node, every observer elsewhere heard each of its
members leave once, before that member was back, and not again unless the
node it came back on was killed too; each member got its nick back. Last,
every node answers /healthz 200. Prints the seed, what it did, "ok" or the
violations; exit status 1 on any. With CHATROOM_TEST_KEEP_LOGS set, the
directory is kept: the processes' logs and each client's transcript.

Every process it starts (on free loopback ports, in a temporary directory)
is stopped by its PID. A short run (--seconds, default 75 s of faults) is
in ./scripts/test; --long runs faults for 10 minutes.
"""
import argparse
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

REDIS = os.environ.get("CHATROOM_REDIS_SERVER") or shutil.which("redis-server")
PATIENCE = 30.0
ROOMS = ["alpha", "echo", "bravo", "india"]  # two rooms on each instance (FNV-1a of the name)
LEAVE_WINDOW = 25.0  # a killed node's members are announced within this (home faults may delay it)
MISSED = "* some events of this room were missed"
LINE = re.compile(r"^<(c\d+)> c\d+-(\d+)$")


def now():
    return time.monotonic()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return "(%s)" % e


def fnv_instance(room, instances):
    h = 1469598103934665603
    for c in room.lower().encode():
        h ^= c
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h % instances


def stop_process(proc, sig=signal.SIGTERM, grace=10.0):
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGCONT)
            proc.send_signal(sig)
            return proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def resp(port, *args, timeout=3.0):
    """One command over RESP; the reply (an error reply as an Exception)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        f = s.makefile("rb")
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        s.sendall(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))

        def reply():
            line = f.readline()
            if not line.endswith(b"\r\n"):
                raise ConnectionError("closed")
            kind, rest = line[:1], line[1:-2]
            if kind == b"+":
                return rest.decode()
            if kind == b"-":
                return Exception(rest.decode())
            if kind == b":":
                return int(rest)
            if kind == b"$":
                n = int(rest)
                return None if n < 0 else f.read(n + 2)[:-2].decode(errors="replace")
            if kind == b"*":
                n = int(rest)
                return None if n < 0 else [reply() for _ in range(n)]
            raise ConnectionError("bad reply %r" % line)

        return reply()


def leave_problems(kills, clients, t0):
    """Each member of a killed node heard leaving once by every observer that
    stayed elsewhere, before it was back (its '* NICK joined'); after it was
    back, never again, unless the node it came back on was killed too within
    the window (then that leave is the later kill's, checked with it).

    kills: (time, node id, {nick: room}); clients: objects with nick, room,
    got [(time, line)], present [[start, end or None, node id]] and visits
    [(time, node id)]."""
    problems = []
    by_nick = {c.nick: c for c in clients}
    for kt, node_id, members in kills:
        for nick, room in members.items():
            member = by_nick[nick]
            later = [kt2 for kt2, nid2, members2 in kills
                     if kt < kt2 <= kt + LEAVE_WINDOW and (nick in members2 or any(
                         kt < vt < kt2 and vn == nid2 for vt, vn in member.visits))]
            for o in clients:
                if o.room != room or o.nick == nick:
                    continue
                if not any(st <= kt - 1 and (en is None or en >= kt + LEAVE_WINDOW) and nid != node_id
                           for st, en, nid in o.present):
                    continue
                window = [(t, l) for t, l in o.got if kt <= t <= kt + LEAVE_WINDOW]
                leaves = [t for t, l in window if l == "* %s left (server lost)" % nick]
                back = [t for t, l in window if l == "* %s joined" % nick]
                before = [t for t in leaves if not back or t <= back[0]]
                after = [t for t in leaves if back and t > back[0]]
                if len(before) > 1 or (not before and not after):
                    problems.append("%s heard %s leave %d times after %s was killed at %.1f s" % (
                        o.nick, nick, len(before), node_id, kt - t0))
                elif not before:
                    problems.append("%s heard %s leave after it was back" % (o.nick, nick))
                for t in after:
                    if not any(kt2 <= t for kt2 in later):
                        problems.append("%s heard %s leave at %.1f s, after it was back at %.1f s" % (
                            o.nick, nick, t - t0, back[0] - t0))
    return problems


class World:
    """Everything the run starts, stopped by PID whatever happens."""

    def __init__(self, seed, log):
        self.dir = tempfile.mkdtemp(prefix="chatroom-chaos-")
        self.procs = []
        self.rng = random.Random(seed)
        self.log = log
        self.lock = threading.Lock()

    def spawn(self, args, logname):
        logf = open(os.path.join(self.dir, logname), "ab")
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        with self.lock:
            self.procs.append(p)
        return p

    def close(self):
        for p in reversed(self.procs):
            try:
                stop_process(p, grace=5.0)
            except Exception:
                pass
        if os.environ.get("CHATROOM_TEST_KEEP_LOGS"):
            print("chaos: logs kept in " + self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    def __init__(self, world, name, aof, replica_of=None, load_delay=False):
        self.world, self.name, self.aof = world, name, aof
        self.dir = os.path.join(world.dir, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.args = [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", "",
                     "--appendonly", "yes" if aof else "no", "--appendfsync", "everysec", "--daemonize", "no"]
        if load_delay:  # loading its data takes seconds, answering -LOADING meanwhile
            self.args += ["--key-load-delay", "50000", "--loading-process-events-interval-bytes", "1024"]
        if replica_of:
            self.args += ["--replicaof", "127.0.0.1", str(replica_of.port)]
        self.proc = None
        self.start()

    def start(self):
        self.proc = self.world.spawn(self.args, self.name + ".log")
        deadline = now() + PATIENCE
        while now() < deadline:
            try:
                if resp(self.port, "PING", timeout=1.0) == "PONG":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("redis %s did not start:\n%s" % (self.name, tail(os.path.join(self.dir, "../%s.log" % self.name))))

    def start_async(self):
        # Restarted as the primary it was (Sentinel reconfigures what is not).
        args = self.args
        if "--replicaof" in args:
            i = args.index("--replicaof")
            args = args[:i] + args[i + 3:]
        self.proc = self.world.spawn(args, self.name + ".log")


class Sentinel:
    def __init__(self, world, masters):
        self.port = free_port()
        d = os.path.join(world.dir, "sentinel")
        os.makedirs(d)
        conf = os.path.join(d, "sentinel.conf")
        with open(conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\ndir %s\n" % (self.port, d))
            for name, r in masters:
                f.write("sentinel monitor %s 127.0.0.1 %d 1\n" % (name, r.port))
                # No failover of its own within a freeze: only when asked.
                f.write("sentinel down-after-milliseconds %s 30000\n" % name)
                f.write("sentinel failover-timeout %s 10000\n" % name)
        self.proc = world.spawn([REDIS, conf, "--sentinel"], "sentinel.log")
        deadline = now() + PATIENCE
        while now() < deadline:
            try:
                if resp(self.port, "PING", timeout=1.0) == "PONG":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("sentinel did not start")

    def primary_port(self, name):
        r = resp(self.port, "SENTINEL", "get-master-addr-by-name", name)
        return int(r[1])


class Node:
    def __init__(self, world, node_id, sentinel, direct=None):
        self.world, self.id = world, node_id
        self.logname = "node-%s.log" % node_id
        self.args = [SERVER, "--bind", "127.0.0.1", "--port", "0", "--web-port", "0", "--node-id", node_id]
        if direct:  # the primaries' addresses, no failover (what chatroom 2.0 could do)
            for r in direct:
                self.args += ["--redis", "127.0.0.1:%d" % r.port]
        else:
            self.args += ["--redis-sentinel", "127.0.0.1:%d" % sentinel.port, "--redis-master", "m1",
                          "--redis-master", "m2"]
        self.proc = None
        self.port = self.web = None
        self.alive = False
        self.start()

    def text(self):
        with open(os.path.join(self.world.dir, self.logname), errors="replace") as f:
            return f.read()

    def start(self):
        path = os.path.join(self.world.dir, self.logname)
        mark = os.path.getsize(path) if os.path.exists(path) else 0
        self.proc = self.world.spawn(self.args, self.logname)
        deadline = now() + PATIENCE
        while now() < deadline:
            t = self.text()[mark:]
            m = re.search(r"listening on 127\.0\.0\.1:(\d+) \(tcp\)", t)
            w = re.search(r"listening on (?:http://)?127\.0\.0\.1:(\d+) \(web\)", t)
            if m and w:
                self.port, self.web = int(m.group(1)), int(w.group(1))
                self.alive = True
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("node %s did not start:\n%s" % (self.id, tail(os.path.join(self.world.dir, self.logname))))

    def healthz(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.web, timeout=3) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None


class Client(threading.Thread):
    """One member: its nick cN, its room; says numbered lines, reconnects."""

    def __init__(self, run, n, room):
        super().__init__(daemon=True)
        self.run_, self.n, self.nick, self.room = run, n, "c%d" % n, room
        self.rng = random.Random(run.seed * 1000 + n)
        self.sent = []        # (seq, time, node id)
        self.got = []         # (time, line)
        self.present = []     # [ready time, end time or None, node id]
        self.reconnects = []  # (time of the connection, time the nick was back or None, answers)
        self.visits = []      # (time, node id): each connection made
        self.sock = None
        self.buf = b""
        self.pos = 0
        self.seq = 0

    def lines(self, timeout):
        """Reads what arrives within timeout; False when the connection ended."""
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return True
        try:
            chunk = self.sock.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            return False
        self.buf += chunk
        *done, self.buf = self.buf.split(b"\n")
        t = now()
        for raw in done:
            self.got.append((t, raw.rstrip(b"\r").decode(errors="replace")))
        return True

    def wait(self, pred, patience):
        """The first line not yet waited past that pred accepts, or None (timeout or closed)."""
        deadline = now() + patience
        while now() < deadline:
            while self.pos < len(self.got):
                l = self.got[self.pos][1]
                self.pos += 1
                if pred(l):
                    return l
            if not self.lines(deadline - now()):
                return None
        return None

    def connect(self):
        nodes = [n for n in self.run_.nodes if n.alive]
        if not nodes:
            return False
        node = self.rng.choice(nodes)
        try:
            self.sock = socket.create_connection(("127.0.0.1", node.port), timeout=5)
        except OSError:
            return False
        self.visits.append((now(), node.id))
        self.buf = b""
        self.pos = len(self.got)
        hello = self.wait(lambda l: l.startswith("* welcome to "), 10)
        if not hello or not self.wait(lambda l: l.startswith("* joined lobby"), 10):
            self.sock.close()
            return False
        guest = hello.rsplit(" ", 1)[1]
        began, answers = now(), []
        while not self.run_.done.is_set() and now() - began < 60:
            try:
                self.sock.sendall(b"/nick %s\r\n" % self.nick.encode())
            except OSError:
                return False
            a = self.wait(lambda l: l.startswith("! ") or l.startswith("* %s is now known as " % guest), 15)
            if a is None:
                return False
            answers.append(a)
            if a == "* %s is now known as %s" % (guest, self.nick):
                break
            time.sleep(0.3)
        else:
            self.reconnects.append((began, None, answers))
            return False
        self.reconnects.append((began, now(), answers))
        try:
            self.sock.sendall(b"/join %s\r\n" % self.room.encode())
        except OSError:
            return False
        if not self.wait(lambda l: l.startswith("* joined %s (" % self.room), 15):
            return False
        self.present.append([now(), None, node.id])
        self.node = node
        return True

    def run(self):
        while not self.run_.done.is_set():
            if not self.connect():
                if self.sock:
                    self.sock.close()
                time.sleep(self.rng.uniform(0.2, 0.8))
                continue
            next_send = now() + self.rng.uniform(0.2, 1.5)
            ok = True
            while ok and not self.run_.done.is_set():
                if now() >= next_send and self.run_.talking.is_set():
                    self.seq += 1
                    try:
                        self.sock.sendall(b"c%d-%d\r\n" % (self.n, self.seq))
                        self.sent.append((self.seq, now(), self.node.id))
                    except OSError:
                        ok = False
                    next_send = now() + self.rng.uniform(0.8, 2.0)
                ok = ok and self.lines(min(0.2, max(0.0, next_send - now())))
            self.present[-1][1] = now()
            self.sock.close()
        if self.present and self.present[-1][1] is None:
            self.present[-1][1] = now()
        if self.sock:
            self.sock.close()


class Run:
    def __init__(self, seed, seconds, direct=False):
        self.seed, self.seconds, self.direct = seed, seconds, direct
        self.world = World(seed, None)
        self.rng = self.world.rng
        self.faults = []  # (start, end, kind, target, detail)
        self.kills = []   # (time, node id, {nick: room} of its members then)
        self.done = threading.Event()
        self.talking = threading.Event()

    def note(self, text):
        print("  %7.1f s  %s" % (now() - self.t0, text))
        sys.stdout.flush()

    def setup(self):
        w = self.world
        self.m1a = Redis(w, "m1a", True, load_delay=True)
        for i in range(40):  # realistic data: loading takes seconds
            resp(self.m1a.port, "SET", "filler:%d" % i, "f" * 2000)
        self.m1b = Redis(w, "m1b", True, replica_of=self.m1a, load_delay=True)
        self.m2a = Redis(w, "m2a", False)
        self.m2b = Redis(w, "m2b", False, replica_of=self.m2a)
        self.redis = {"m1": [self.m1a, self.m1b], "m2": [self.m2a, self.m2b]}
        self.sentinel = Sentinel(w, [("m1", self.m1a), ("m2", self.m2a)])
        deadline = now() + PATIENCE
        while now() < deadline:
            if all(len(resp(self.sentinel.port, "SENTINEL", "replicas", m) or []) == 1 for m in ("m1", "m2")):
                break
            time.sleep(0.2)
        direct = [self.m1a, self.m2a] if self.direct else None
        self.nodes = [Node(w, "n%d" % i, self.sentinel, direct) for i in range(3)]
        self.clients = [Client(self, i, ROOMS[i % len(ROOMS)]) for i in range(30)]

    def primary(self, master):
        port = self.sentinel.primary_port(master)
        return next(r for r in self.redis[master] if r.port == port)

    # ---- faults ------------------------------------------------------------------

    def fault(self):
        kinds = ["kill_connections", "freeze_redis", "freeze_redis_long", "restart_redis_aof", "restart_redis_empty",
                 "kill_node", "freeze_node"] + ([] if self.direct else ["failover"])
        kind = self.rng.choice(kinds)
        start = now()
        detail = ""
        master = self.rng.choice(["m1", "m2"])
        target = master
        if kind == "kill_connections":
            r = self.primary(master)
            detail = "%s clients" % resp(r.port, "CLIENT", "KILL", "TYPE", "normal")
        elif kind in ("freeze_redis", "freeze_redis_long"):
            r = self.primary(master)
            span = self.rng.uniform(0.5, 2.0) if kind == "freeze_redis" else self.rng.uniform(6.0, 8.0)
            os.kill(r.proc.pid, signal.SIGSTOP)
            time.sleep(span)
            os.kill(r.proc.pid, signal.SIGCONT)
            detail = "%.1f s" % span
        elif kind in ("restart_redis_aof", "restart_redis_empty"):
            master = "m1" if kind == "restart_redis_aof" else "m2"
            target = master
            r = self.primary(master)
            if r.aof:  # compacted first, so loading takes seconds (its data), not minutes (every command)
                resp(r.port, "BGREWRITEAOF")
                began = now()
                while now() - began < PATIENCE:
                    info = resp(r.port, "INFO", "persistence")
                    if "aof_rewrite_in_progress:0" in info and "aof_rewrite_scheduled:0" in info:
                        break
                    time.sleep(0.05)
            stop_process(r.proc)
            r.start_async()
            began = now()
            while now() - began < PATIENCE:
                try:
                    if resp(r.port, "PING", timeout=1.0) == "PONG":
                        break
                except OSError:
                    pass
                time.sleep(0.05)
            detail = "back after %.1f s" % (now() - began)
        elif kind == "failover":
            detail = str(resp(self.sentinel.port, "SENTINEL", "FAILOVER", master))
            began = now()
            old = self.primary(master).port
            while now() - began < PATIENCE and self.sentinel.primary_port(master) == old:
                time.sleep(0.1)
            detail += ", new primary after %.1f s" % (now() - began)
        elif kind == "kill_node":
            node = self.rng.choice(self.nodes)
            target = node.id
            members = {c.nick: c.room for c in self.clients
                       if c.present and c.present[-1][1] is None and c.present[-1][2] == node.id}
            node.alive = False
            node.proc.kill()
            node.proc.wait()
            self.kills.append((now(), node.id, members))
            time.sleep(1.0)
            node.start()
            detail = "%d members; restarted" % len(members)
        elif kind == "freeze_node":
            node = self.rng.choice(self.nodes)
            target = node.id
            span = self.rng.uniform(0.5, 2.0)
            os.kill(node.proc.pid, signal.SIGSTOP)
            time.sleep(span)
            os.kill(node.proc.pid, signal.SIGCONT)
            detail = "%.1f s" % span
        self.faults.append((start, now(), kind, target, detail))
        self.note("%s %s %s" % (kind, target, detail))

    def heal(self, patience=90.0):
        """Every node healthy (/healthz 200) and every client in its room."""
        deadline = now() + patience
        while now() < deadline:
            if all(n.healthz() == 200 for n in self.nodes) and all(
                    c.present and c.present[-1][1] is None for c in self.clients):
                return True
            time.sleep(0.5)
        self.note("not healed: /healthz %s; clients not in their rooms: %s" % (
            {n.id: n.healthz() for n in self.nodes},
            [c.nick for c in self.clients if not (c.present and c.present[-1][1] is None)]))
        for n in self.nodes:
            print("--- node %s (last lines) ---\n%s" % (n.id, tail(os.path.join(self.world.dir, n.logname), 15)))
        return False

    def go(self):
        self.t0 = now()
        print("chaos: seed %d, %d s of faults" % (self.seed, self.seconds))
        sys.stdout.flush()
        self.setup()
        self.note("setup: 3 nodes, m1 and m2 through Sentinel (primary + replica each), 30 clients")
        for c in self.clients:
            c.start()
        self.talking.set()
        if not self.heal(60):
            raise AssertionError("the cluster did not form")
        end = now() + self.seconds
        while now() < end:
            time.sleep(self.rng.uniform(3.0, 7.0))
            if now() < end:
                self.fault()
        self.calm = now()
        self.note("faults over")
        healed = self.heal()
        self.note("healed" if healed else "NOT healed within 90 s")
        time.sleep(3.0)  # lines said just before the end
        self.talking.clear()
        time.sleep(8.0)  # the last lines arrive
        self.done.set()
        for c in self.clients:
            c.join(10)
        return self.check(healed)

    # ---- checks ------------------------------------------------------------------

    def lossy(self, room, t):
        """Whether Redis may have lost a line of room said at t (its data lost, or a failover)."""
        shard = "m1" if fnv_instance(room, 2) == 0 else "m2"
        for start, end, kind, target, _ in self.faults:
            if kind in ("restart_redis_empty", "failover") and target == shard and start - 3 <= t <= end + 10:
                return True
        return False

    def sender_lost(self, node_id, t):
        """Whether a line said at t went down with its node (killed as it was said)."""
        return any(nid == node_id and kt - 3 <= t <= kt + 2 for kt, nid, _ in self.kills)

    def check(self, healed):
        problems = []
        deliveries = lines = 0
        for r in self.clients:
            got = {}  # sender -> [seq in order]
            missed_at = [t for t, l in r.got if l.startswith(MISSED)]
            for t, l in r.got:
                m = LINE.match(l)
                if m:
                    got.setdefault(m.group(1), []).append(int(m.group(2)))
                    deliveries += 1
            for s in self.clients:
                if s is r or s.room != r.room:
                    continue
                seqs = got.get(s.nick, [])
                if len(seqs) != len(set(seqs)):
                    problems.append("%s got some of %s's lines twice" % (r.nick, s.nick))
                if any(b <= a for a, b in zip(seqs, seqs[1:])):
                    problems.append("%s got %s's lines out of order: %s" % (
                        r.nick, s.nick, [(a, b) for a, b in zip(seqs, seqs[1:]) if b <= a][:5]))
                have = set(seqs)
                for seq, t, node_id in s.sent:
                    there = any(start + 1.5 <= t <= (end or 1e18) - 1.5 for start, end, _ in r.present)
                    if not there or seq in have:
                        continue
                    if self.sender_lost(node_id, t):
                        continue
                    if self.lossy(r.room, t) and any(mt >= t - 5 for mt in missed_at):
                        continue
                    problems.append("%s never got %s-%d (said at %.1f s on %s)%s" % (
                        r.nick, s.nick, seq, t - self.t0, node_id,
                        ", and was not told it missed events" if self.lossy(r.room, t) else ""))
        for c in self.clients:
            lines += len(c.sent)
        problems += leave_problems(self.kills, self.clients, self.t0)
        # Nicks: each reconnect got its nick back.
        for c in self.clients:
            for began, back, answers in c.reconnects:
                if back is None and began < self.calm:
                    problems.append("%s did not get its nick back (answers: %s)" % (c.nick, answers[-3:]))
        for n in self.nodes:
            if n.healthz() != 200:
                problems.append("node %s /healthz is %s at the end" % (n.id, n.healthz()))
        if not healed:
            problems.append("the cluster did not heal within 90 s of the last fault")
        if os.environ.get("CHATROOM_TEST_KEEP_LOGS"):  # what each member saw, with its connections
            for c in self.clients:
                with open(os.path.join(self.world.dir, "client-%s.log" % c.nick), "w") as f:
                    for t, nid in c.visits:
                        f.write("%8.2f connected to %s\n" % (t - self.t0, nid))
                    for t, l in c.got:
                        f.write("%8.2f %s\n" % (t - self.t0, l))
        kinds = {}
        for f in self.faults:
            kinds[f[2]] = kinds.get(f[2], 0) + 1
        print("chaos: seed %d: %d faults %s; %d lines said, %d deliveries; %d problems" % (
            self.seed, len(self.faults), kinds, lines, deliveries, len(problems)))
        for p in problems[:40]:
            print("  not ok: " + p)
        if problems:
            for n in self.nodes:
                print("--- node %s (last lines) ---\n%s" % (n.id, tail(os.path.join(self.world.dir, n.logname), 25)))
            print("chaos: replay with --seed %d" % self.seed)
        return not problems


def main():
    global SERVER
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("server")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--seconds", type=float, default=75.0, help="seconds of faults (default 75)")
    p.add_argument("--long", action="store_true", help="10 minutes of faults")
    p.add_argument("--direct", action="store_true",
                   help="the nodes are given the primaries' addresses (--redis), not Sentinel: no failovers")
    a = p.parse_args()
    SERVER = a.server
    if not REDIS:
        print("chaos: redis-server not found")
        return 2
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1, 2**31)
    run = Run(seed, 600.0 if a.long else a.seconds, a.direct)
    try:
        ok = run.go()
    except Exception as e:
        import traceback
        traceback.print_exc(file=sys.stdout)
        print("chaos: seed %d failed: %s" % (seed, e))
        ok = False
    finally:
        run.done.set()
        run.world.close()
    print("ok" if ok else "not ok")
    return 0 if ok else 1


SERVER = None

if __name__ == "__main__":
    sys.exit(main())
