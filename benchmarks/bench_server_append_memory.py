"""Memory of the reference server while many clients send large APPENDs at once.

An IMAP connection holds a command's literals until the command is complete,
so each client in the middle of an APPEND makes the server hold its message.
``[limits] literal_memory`` bounds that across all sessions
(``examples/mailserver/budget.py``).  This benchmark runs the server (as a
subprocess) twice on the same load — once with ``literal_memory`` large
enough for every client ("unbounded", what the server did before the
budget) and once with ``--bound`` — and reports the server's resident
memory.

Load: ``--clients`` clients log in, each announces a synchronising APPEND
literal of ``--size`` octets, and every client that gets its ``+`` within
two seconds sends all of it but the last line and holds.  Reported per run:
how many clients were invited, the server's ``VmRSS`` before and while they
hold, and its peak (``VmHWM``).

Usage::

    python benchmarks/bench_server_append_memory.py [--clients 40] [--size 20971520]
                                                    [--bound 67108864]
"""

from __future__ import annotations

import argparse
import select
import socket
import sys
import tempfile
import time
from pathlib import Path

from _mailserver import ROOT, config_text, read_until, start, status_kib

sys.path.insert(0, str(ROOT / "examples"))


def run(clients: int, size: int, memory: int) -> tuple[int, int, int, int]:
    """(clients invited, RSS KiB before, RSS KiB while holding, peak RSS KiB)."""
    from mailserver.cli import free_port

    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        config = tmp / "bench.toml"
        config.write_text(
            config_text({"imap": port}, limits={"max_message_size": size, "literal_memory": memory})
        )
        proc = start(config, tmp / "data", port)
        socks: list[socket.socket] = []
        try:
            for _ in range(clients):
                s = socket.create_connection(("127.0.0.1", port))
                read_until(s, b"\r\n")
                s.sendall(b'a LOGIN "bench@bench.example" "bench-password"\r\n')
                read_until(s, b"a OK")
                socks.append(s)
            time.sleep(0.5)
            before = status_kib(proc.pid, "VmRSS")
            for s in socks:
                s.sendall(b"b APPEND INBOX {%d}\r\n" % size)
            invited: list[socket.socket] = []
            waiting = list(socks)
            deadline = time.monotonic() + 2.0
            while waiting and time.monotonic() < deadline:
                ready, _, _ = select.select(waiting, [], [], 0.1)
                for s in ready:
                    answer = s.recv(65536)
                    waiting.remove(s)
                    if answer.startswith(b"+"):
                        invited.append(s)
            body = b"x" * (1 << 20)
            for s in invited:
                left = size - 2
                while left:
                    n = min(left, len(body))
                    s.sendall(body[:n])
                    left -= n
            time.sleep(2.0)
            holding = status_kib(proc.pid, "VmRSS")
            peak = status_kib(proc.pid, "VmHWM")
            return len(invited), before, holding, peak
        finally:
            for s in socks:
                s.close()
            proc.terminate()
            proc.wait(30)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, default=40)
    p.add_argument("--size", type=int, default=20 * 1024 * 1024)
    p.add_argument("--bound", type=int, default=64 * 1024 * 1024)
    args = p.parse_args()
    print(f"{args.clients} clients, each an APPEND of {args.size / 2**20:.0f} MiB held open")
    print(f"{'literal_memory':>16} {'invited':>8} {'RSS before':>11} {'holding':>9} {'peak':>9}")
    for label, memory in (
        ("unbounded", args.clients * args.size * 2),
        (f"{args.bound / 2**20:.0f} MiB", args.bound),
    ):
        invited, before, holding, peak = run(args.clients, args.size, memory)
        print(
            f"{label:>16} {invited:>8} {before / 1024:>8.0f} MiB {holding / 1024:>5.0f} MiB"
            f" {peak / 1024:>5.0f} MiB"
        )


if __name__ == "__main__":
    main()
