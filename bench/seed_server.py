#!/usr/bin/env python3
"""The classic select() chat relay, as a baseline for the benchmark.

Usage: seed_server.py PORT

Listens on 127.0.0.1:PORT. Every chunk of bytes read from one client is sent
to every other client as is: no framing, no nicknames, no rooms. A client whose
recv() returns nothing or whose send fails is closed and forgotten.
"""
import select
import socket
import sys


def main():
    port = int(sys.argv[1])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    clients = []

    def drop(sock):
        if sock in clients:
            clients.remove(sock)
        sock.close()

    while True:
        readable, _, _ = select.select([listener] + clients, [], [])
        for sock in readable:
            if sock is listener:
                conn, _ = listener.accept()
                clients.append(conn)
                continue
            if sock not in clients:
                continue  # dropped while relaying earlier in this round
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                drop(sock)
                continue
            for other in list(clients):
                if other is sock:
                    continue
                try:
                    other.sendall(data)
                except OSError:
                    drop(other)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
