"""POP3 RETR throughput: mailproto ClientConnection vs stdlib poplib, same server.

Workload: a maildrop of 1,000 messages of mixed sizes (mostly a few KB, some
tens of KB, a few up to 1 MB; fixed seed), every message retrieved with RETR
over a loopback TCP connection.  The server is a mailproto ServerConnection
pumped by a plain blocking socket loop in a *separate process*, so client and
server do not share the GIL; both clients talk to that same server in the
same run.

Clients measured:

``poplib``
    ``poplib.POP3.retr(n)`` for every message (the stdlib reads line by line).
``mailproto``
    ``ClientConnection`` over a blocking socket, one RETR at a time (the
    same request/response pattern as poplib).
``mailproto pipelined``
    the same, with every RETR sent at once (the server advertises
    PIPELINING, RFC 2449 §6.6).

Each client's bytes are checked against the maildrop.  Throughput is message
octets per second (MB = 10**6 bytes), best of ``--repeat`` rounds; the
rounds interleave the three clients.

Usage::

    python benchmarks/bench_pop3.py [--messages 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import poplib
import random
import socket
import sys
import time
from collections.abc import Callable

from mailproto import NEED_DATA, PAUSED
from mailproto.pop3 import (
    Capa,
    ClientConnection,
    ConnectionClosed,
    Greeting,
    Maildrop,
    MessageData,
    MessageEnd,
    MessageInfo,
    OkResponse,
    Pass,
    Quit,
    Retr,
    ServerConnection,
    Top,
    Update,
    User,
)

_LINE = b"The quick brown fox jumps over the lazy dog; 0123456789 ABCDEFGHIJKLMNOP.\r\n"


def make_maildrop(count: int, seed: int = 1939) -> list[bytes]:
    """Mixed sizes: 70% 1-10 KB, 25% 10-100 KB, 5% 100 KB-1 MB."""
    rng = random.Random(seed)
    messages = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.70:
            size = rng.randint(1_000, 10_000)
        elif roll < 0.95:
            size = rng.randint(10_000, 100_000)
        else:
            size = rng.randint(100_000, 1_000_000)
        head = b"From: sender%d@example.org\r\nSubject: message %d\r\n\r\n" % (i, i)
        body = _LINE * (size // len(_LINE) + 1)
        # A few lines that need dot-stuffing.
        body = body.replace(b"\r\nThe quick", b"\r\n.The quick", 3)
        messages.append(head + body)
    return messages


def serve(port_queue: multiprocessing.Queue[int], count: int) -> None:
    """The server process: accept connections forever, one at a time."""
    messages = make_maildrop(count)
    listing = [MessageInfo(size=len(m), uid=f"u{i}") for i, m in enumerate(messages)]
    listener = socket.create_server(("127.0.0.1", 0))
    port_queue.put(listener.getsockname()[1])
    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = ServerConnection()
        conn.send(Greeting())
        closed = False
        while not closed:
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
            event = conn.next_event()
            if event is NEED_DATA:
                data = sock.recv(65536)
                conn.receive_data(data)
                continue
            if event is PAUSED:
                continue
            if isinstance(event, Pass):
                conn.send(Maildrop(messages=listing))
            elif isinstance(event, (Retr, Top)):
                data = messages[event.msg - 1]
                view = memoryview(data)
                for i in range(0, len(data), 262144):
                    conn.send(MessageData(data=bytes(view[i : i + 262144])))
                    sock.sendall(conn.data_to_send())
                conn.send(MessageEnd())
            elif isinstance(event, Update):
                conn.send(OkResponse(text="bye"))
            elif isinstance(event, ConnectionClosed):
                closed = True
        sock.sendall(conn.data_to_send())
        sock.close()


def run_poplib(port: int, count: int) -> list[int]:
    pop = poplib.POP3("127.0.0.1", port)
    pop.user("u")
    pop.pass_("p")
    sizes = []
    for n in range(1, count + 1):
        _resp, lines, _octets = pop.retr(n)
        sizes.append(sum(len(line) + 2 for line in lines))
    pop.quit()
    return sizes


def _client_session(port: int, count: int, pipelined: bool) -> list[int]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = ClientConnection()
    sizes: list[int] = []
    current = 0

    def pump(until_idle: bool) -> None:
        nonlocal current
        while True:
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
            event = conn.next_event()
            if event is NEED_DATA:
                if until_idle and conn.pending_commands == 0 and conn.greeting is not None:
                    return
                data = sock.recv(1 << 20)
                conn.receive_data(data)
                continue
            if isinstance(event, MessageData):
                current += len(event.data)
            elif isinstance(event, MessageEnd):
                sizes.append(current)
                current = 0
                if not until_idle:
                    return
            elif isinstance(event, ConnectionClosed):
                return

    pump(True)  # greeting
    conn.send(Capa())
    conn.send(User(name="u"))
    conn.send(Pass(password="p"))
    pump(True)
    if pipelined:
        for n in range(1, count + 1):
            conn.send(Retr(msg=n))
        pump(True)
    else:
        for n in range(1, count + 1):
            conn.send(Retr(msg=n))
            pump(False)
    conn.send(Quit())
    pump(True)
    sock.close()
    return sizes


def run_ours(port: int, count: int) -> list[int]:
    return _client_session(port, count, pipelined=False)


def run_ours_pipelined(port: int, count: int) -> list[int]:
    return _client_session(port, count, pipelined=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    count = args.messages
    expected = [len(m) for m in make_maildrop(count)]
    total = sum(expected)
    queue: multiprocessing.Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(queue, count), daemon=True)
    server.start()
    port = queue.get(timeout=60)
    try:
        print(f"maildrop: {count} messages, {total / 1e6:.1f} MB; best of {args.repeat}")
        clients: dict[str, Callable[[int, int], list[int]]] = {
            "poplib": run_poplib,
            "mailproto": run_ours,
            "mailproto pipelined": run_ours_pipelined,
        }
        # Rounds interleave the clients, so a burst of load on the shared
        # machine hits all of them alike; each client's best round counts.
        results = dict.fromkeys(clients, float("inf"))
        for _ in range(args.repeat):
            for name, fn in clients.items():
                t0 = time.perf_counter()
                sizes = fn(port, count)
                results[name] = min(results[name], time.perf_counter() - t0)
                if sizes != expected:
                    sys.exit(f"{name}: retrieved sizes differ from the maildrop")
        base = results["poplib"]
        print(f"{'client':<22}{'seconds':>9}{'MB/s':>9}{'vs poplib':>11}")
        for name, seconds in results.items():
            print(f"{name:<22}{seconds:>9.3f}{total / seconds / 1e6:>9.1f}{base / seconds:>10.2f}x")
    finally:
        server.terminate()
        server.join(10)


if __name__ == "__main__":
    main()
