"""Receive-buffer throughput: line and dot-block extraction vs a bare bytes.find scan.

Run: ``python benchmarks/bench_buffer.py`` (add ``--quick`` for a smaller run).

Both sides see the same bytes.  The mailproto side is fed in 64 KiB pieces, as
a socket would deliver them, and goes through the public ReceiveBuffer /
DotBlockReader API; the baseline scans the whole stream, already in one bytes
object, with ``bytes.find`` and slices — the floor any pure-Python framing
can reach.  The ratio (baseline time / mailproto time) is what docs record.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from mailproto._buffer import DotBlockReader, ReceiveBuffer
from mailproto.codecs.dotstuff import dot_stuff

CHUNK = 65536


def best_of(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    best = float("inf")
    result = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def lines_stream(n_lines: int) -> bytes:
    cmds = [
        b"MAIL FROM:<someone.with.a.long.name@example.org> SIZE=12345 BODY=8BITMIME\r\n",
        b"RCPT TO:<rcpt@example.net> NOTIFY=SUCCESS,FAILURE\r\n",
        b"NOOP\r\n",
        b"a001 UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE)\r\n",
    ]
    return b"".join(cmds[i % len(cmds)] for i in range(n_lines))


def ours_lines(data: bytes) -> int:
    buf = ReceiveBuffer()
    view = memoryview(data)
    count = 0
    for i in range(0, len(data), CHUNK):
        buf.append(view[i : i + CHUNK])
        while (line := buf.next_line(2048)) is not None:
            count += len(line)
    return count


def floor_lines(data: bytes) -> int:
    pos = 0
    count = 0
    find = data.find
    while (end := find(b"\n", pos)) >= 0:
        count += len(data[pos : end + 1])
        pos = end + 1
    return count


def body_stream(size: int) -> bytes:
    unit = (
        b"Received: from mx.example.org (mx.example.org [192.0.2.1]) by mail.example\r\n"
        b"Some ordinary body text, the kind of line that fills real messages.\r\n"
        b".a line that starts with a dot and must be unstuffed\r\n"
        b"VGhpcyBpcyBiYXNlNjQgZGF0YSB0aGF0IG9mdGVuIGZpbGxzIGF0dGFjaG1lbnRzLg==\r\n" * 8
    )
    return (unit * (size // len(unit) + 1))[:size] + b"\r\n"


def ours_dot(wire: bytes) -> int:
    buf = ReceiveBuffer()
    reader = DotBlockReader()
    view = memoryview(wire)
    count = 0
    for i in range(0, len(wire), CHUNK):
        buf.append(view[i : i + CHUNK])
        while not reader.done and (piece := reader.read(buf)) is not None:
            count += len(piece)
    return count


def floor_dot(wire: bytes) -> int:
    # Find the terminator and unstuff with one replace: no streaming, no
    # bare-LF checks — the least work that gives the same content.
    end = wire.find(b"\r\n.\r\n")
    content = wire[: end + 2]
    if content.startswith(b"."):
        content = content[1:]
    return len(content.replace(b"\r\n..", b"\r\n."))


def main() -> None:
    quick = "--quick" in sys.argv
    repeat = 3 if quick else 5
    lines = lines_stream(100_000 if quick else 1_000_000)
    body = body_stream(10_000_000 if quick else 50_000_000)
    wire = dot_stuff(body)
    rows = []
    for name, data, ours, floor in (
        ("lines (SMTP/IMAP commands)", lines, ours_lines, floor_lines),
        ("dot-terminated block (DATA)", wire, ours_dot, floor_dot),
    ):
        t_ours, n_ours = best_of(lambda d=data, f=ours: f(d), repeat)  # type: ignore[misc]
        t_floor, n_floor = best_of(lambda d=data, f=floor: f(d), repeat)  # type: ignore[misc]
        assert n_ours == n_floor, (name, n_ours, n_floor)
        mb = len(data) / 1e6
        rows.append((name, mb, mb / t_ours, mb / t_floor, t_ours / t_floor))
    print(f"{'workload':30} {'MB':>7} {'mailproto MB/s':>15} {'bytes.find MB/s':>16} {'cost':>6}")
    for name, mb, ours_rate, floor_rate, ratio in rows:
        print(f"{name:30} {mb:7.1f} {ours_rate:15.1f} {floor_rate:16.1f} {ratio:5.2f}x")


if __name__ == "__main__":
    main()
