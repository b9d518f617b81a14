#!/usr/bin/env python3
"""See the bytes a client sends, and the bytes a server answers.

Two modes, both on 127.0.0.1:

  byte_listener.py listen [--port N] [--greet TEXT]
      Accepts connections and logs, in hex with a readable column, every
      byte each client sends. Answers nothing (except the optional greeting
      line, sent on connect), so it shows what a client sends on its own.

  byte_listener.py proxy --to PORT [--port N]
      Relays each connection to 127.0.0.1:PORT and logs both directions, so
      a real client against the real server can be watched byte by byte.

The chosen port is printed as "listening on 127.0.0.1:PORT"; the log goes
to stdout (or --log FILE). Stop it with SIGTERM or Ctrl-C. The test suite
imports Recorder and Proxy from here instead of running it.
"""
import argparse
import selectors
import signal
import socket
import sys
import threading
import time

TELNET_NAMES = {
    236: "EOF", 237: "SUSP", 238: "ABORT", 240: "SE", 241: "NOP", 242: "DM", 243: "BRK", 244: "IP", 245: "AO",
    246: "AYT", 247: "EC", 248: "EL", 249: "GA", 250: "SB", 251: "WILL", 252: "WONT", 253: "DO", 254: "DONT",
    255: "IAC",
}
OPTION_NAMES = {0: "BINARY", 1: "ECHO", 3: "SGA", 5: "STATUS", 6: "TIMING-MARK", 24: "TTYPE", 31: "NAWS",
                32: "TSPEED", 33: "LFLOW", 34: "LINEMODE", 35: "XDISPLOC", 36: "OLD-ENVIRON", 37: "AUTH",
                38: "ENCRYPT", 39: "NEW-ENVIRON"}


def hexdump(data):
    return " ".join("%02x" % b for b in data)


def telnet_decode(data):
    """A readable rendering: IAC sequences by name, text as text, other bytes in hex."""
    out, i = [], 0
    while i < len(data):
        b = data[i]
        if b == 255 and i + 1 < len(data):
            c = data[i + 1]
            if c in (251, 252, 253, 254) and i + 2 < len(data):
                o = data[i + 2]
                out.append("<IAC %s %s>" % (TELNET_NAMES[c], OPTION_NAMES.get(o, str(o))))
                i += 3
                continue
            if c == 250:
                end = data.find(b"\xff\xf0", i + 2)
                end = len(data) if end < 0 else end + 2
                out.append("<IAC SB %s>" % hexdump(data[i + 2:end]))
                i = end
                continue
            out.append("<IAC %s>" % TELNET_NAMES.get(c, str(c)))
            i += 2
            continue
        if 32 <= b < 127:
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
        i += 1
    return "".join(out)


class Recorder:
    """Accepts connections on 127.0.0.1 and keeps everything each one sends."""

    def __init__(self, greet=b"", log=None):
        self.greet = greet
        self.log = log
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.received = []  # one bytearray per accepted connection
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, None)
        while not self.stopping:
            for key, _ in sel.select(0.1):
                if key.data is None:
                    conn, _ = self.sock.accept()
                    with self.lock:
                        index = len(self.received)
                        self.received.append(bytearray())
                        self.conns.append(conn)
                    if self.greet:
                        conn.sendall(self.greet)
                    sel.register(conn, selectors.EVENT_READ, index)
                else:
                    try:
                        data = key.fileobj.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        sel.unregister(key.fileobj)
                        continue
                    with self.lock:
                        self.received[key.data] += data
                    if self.log:
                        self.log("client %d sent: %s   | %s" % (key.data, hexdump(data), telnet_decode(data)))
        sel.close()

    def data(self, index=-1):
        with self.lock:
            return bytes(self.received[index]) if self.received else b""

    def count(self):
        with self.lock:
            return len(self.received)

    def close(self):
        self.stopping = True
        self.thread.join(5)
        with self.lock:
            for c in self.conns:
                c.close()
        self.sock.close()


class Proxy:
    """Relays connections to a server port and records both directions in order."""

    def __init__(self, target_port, log=None):
        self.target = target_port
        self.log = log
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.events = []  # (connection index, "c>s" or "s>c", bytes)
        self.socks = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, None)
        conns = 0
        while not self.stopping:
            for key, _ in sel.select(0.1):
                if key.data is None:
                    client, _ = self.sock.accept()
                    server = socket.create_connection(("127.0.0.1", self.target))
                    with self.lock:
                        self.socks += [client, server]
                    sel.register(client, selectors.EVENT_READ, (conns, "c>s", server))
                    sel.register(server, selectors.EVENT_READ, (conns, "s>c", client))
                    conns += 1
                    continue
                index, direction, other = key.data
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(key.fileobj)
                    try:
                        other.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                with self.lock:
                    self.events.append((index, direction, data))
                if self.log:
                    self.log("%d %s %s   | %s" % (index, direction, hexdump(data), telnet_decode(data)))
                try:
                    other.sendall(data)
                except OSError:
                    pass
        sel.close()

    def stream(self, direction, index=0):
        with self.lock:
            return b"".join(d for i, dr, d in self.events if i == index and dr == direction)

    def trace(self, index=0):
        """Both directions, in arrival order, one line per chunk."""
        with self.lock:
            return "\n".join("%s %s   | %s" % (dr, hexdump(d), telnet_decode(d))
                             for i, dr, d in self.events if i == index)

    def close(self):
        self.stopping = True
        self.thread.join(5)
        with self.lock:
            for s in self.socks:
                s.close()
        self.sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["listen", "proxy"])
    ap.add_argument("--to", type=int, help="proxy: the server port on 127.0.0.1")
    ap.add_argument("--greet", default="", help="listen: a line sent to each client on connect")
    ap.add_argument("--log", help="write the log here instead of stdout")
    args = ap.parse_args()
    out = open(args.log, "a", buffering=1) if args.log else sys.stdout
    start = time.time()

    def log(text):
        out.write("%8.3f %s\n" % (time.time() - start, text))
        out.flush()

    if args.mode == "proxy":
        if args.to is None:
            ap.error("proxy needs --to PORT")
        node = Proxy(args.to, log)
    else:
        node = Recorder((args.greet + "\r\n").encode() if args.greet else b"", log)
    print("listening on 127.0.0.1:%d" % node.port, file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    node.close()


if __name__ == "__main__":
    main()
