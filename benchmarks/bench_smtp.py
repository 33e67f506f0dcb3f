"""SMTP server benchmarks: ServerConnection over asyncio vs aiosmtpd, driven by
Postfix's smtp-source; DATA intake against a bare ``bytes.find`` scan; memory
of a 200 MB message.

Run from the repository root::

    python benchmarks/bench_smtp.py                 # everything
    python benchmarks/bench_smtp.py --only intake   # no sockets
    python benchmarks/bench_smtp.py --only throughput --messages 4000

Each server runs in its own process (``--serve NAME PORT``) and accepts and
discards every message; smtp-source is the same client for both, in the same
run, so the ratio is what counts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from mailproto import NEED_DATA, PAUSED
from mailproto.limits import SMTPLimits
from mailproto.smtp import (
    BareLineEndings,
    ConnectionClosed,
    DataChunk,
    Ehlo,
    EndOfData,
    Helo,
    MailFrom,
    RcptTo,
    Reply,
    ServerConfig,
    ServerConnection,
    State,
    replies,
)

SMTP_SOURCE = "/usr/sbin/smtp-source"

# ----------------------------------------------------------------- servers

_GREETING = Reply(code=220, lines="ESMTP mailproto bench")
_HELLO = Reply(code=250, lines="hello")
_CONFIG = ServerConfig(hostname="bench.example")
_LIMITS = SMTPLimits(message_size=200 * 1024 * 1024)


class DiscardProtocol(asyncio.Protocol):
    """Accept every message and throw it away (what smtp-sink does)."""

    __slots__ = ("conn", "transport")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.conn = ServerConnection(_CONFIG, limits=_LIMITS)
        self.conn.send(_GREETING)
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        conn = self.conn
        conn.receive_data(data)
        send = conn.send
        while True:
            event = conn.next_event()
            if event is NEED_DATA or event is PAUSED:
                break
            cls = type(event)
            if cls is DataChunk:
                continue
            if cls is MailFrom:
                send(replies.SENDER_OK)
            elif cls is RcptTo:
                send(replies.RECIPIENT_OK)
            elif cls is EndOfData:
                send(replies.MESSAGE_ACCEPTED)
            elif cls is Ehlo or cls is Helo:
                send(_HELLO)
            elif cls is ConnectionClosed:
                break
        out = conn.data_to_send()
        if out:
            self.transport.write(out)
        if conn.state is State.CLOSED:
            self.transport.close()

    def eof_received(self) -> bool:
        return False


def serve_mailproto(port: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(DiscardProtocol, "127.0.0.1", port, backlog=512)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def serve_aiosmtpd(port: int) -> None:
    from aiosmtpd.smtp import SMTP

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            return "250 OK"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Handler(), data_size_limit=200 * 1024 * 1024, hostname="bench.example"),
            "127.0.0.1",
            port,
            backlog=512,
        )
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_source(port: int, pid: int, sessions: int, messages: int, size: int) -> tuple[float, float]:
    """(messages per wall second, messages per server CPU second)."""
    args = [SMTP_SOURCE, "-s", str(sessions), "-m", str(messages), "-l", str(size)]
    args.append(f"127.0.0.1:{port}")
    cpu = proc_cpu(pid)
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    used = max(proc_cpu(pid) - cpu, 1e-3)
    return messages / wall, messages / used


def throughput(messages: int, big_messages: int, repeat: int) -> None:
    if not os.access(SMTP_SOURCE, os.X_OK):
        print("smtp-source not installed (apt-get install postfix): skipping throughput")
        return
    scenarios = [
        ("1 KB, 4 sessions", 4, messages, 1024),
        ("100 KB, 1 session", 1, big_messages, 100 * 1024),
    ]
    results: dict[tuple[str, str], tuple[float, float]] = {}
    for name in ("mailproto", "aiosmtpd"):
        port = free_port()
        proc = subprocess.Popen([sys.executable, __file__, "--serve", name, str(port)])
        try:
            wait_port(port)
            run_source(port, proc.pid, 1, 20, 1024)  # warm up
            for label, sess, count, size in scenarios:
                runs = [run_source(port, proc.pid, sess, count, size) for _ in range(repeat)]
                results[(name, label)] = (max(r[0] for r in runs), max(r[1] for r in runs))
        finally:
            proc.terminate()
            proc.wait(10)
    print("\nmessages/s by wall clock (shared machine: noisy) and per server CPU second")
    print(
        f"{'scenario':<20}{'mailproto':>11}{'aiosmtpd':>10}{'ratio':>7}"
        f"{'mailproto':>12}{'aiosmtpd':>10}{'ratio':>7}"
    )
    print(f"{'':<20}{'wall':>11}{'wall':>10}{'':>7}{'CPU':>12}{'CPU':>10}")
    for label, *_ in scenarios:
        (ow, oc), (tw, tc) = results[("mailproto", label)], results[("aiosmtpd", label)]
        wall = f"{ow:>11.0f}{tw:>10.0f}{ow / tw:>6.1f}x"
        cpu = f"{oc:>12.0f}{tc:>10.0f}{oc / tc:>6.1f}x"
        print(f"{label:<20}{wall}{cpu}")


# ----------------------------------------------------------------- intake


def intake(size_mb: int, chunk: int, rounds: int = 7) -> None:
    line = b"The quick brown fox jumps over the lazy dog; .dots and 8-bit \xe2\x82\xac here.\r\n"
    body = line * (size_mb * 1024 * 1024 // len(line))
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    head = b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"

    def scan() -> None:
        # The floor: find every CRLF "." in the stream (what any correct
        # DATA reader must at least do), nothing else.
        for p in pieces:
            i = p.find(b"\r\n.")
            while i >= 0:
                i = p.find(b"\r\n.", i + 3)

    def rscan() -> None:
        # The same search run backwards, which is what the reader does first
        # (one rfind tells whether a piece has any dot line at all).
        for p in pieces:
            i = p.rfind(b"\r\n.")
            while i >= 0:
                i = p.rfind(b"\r\n.", 0, i)

    def machine(config: ServerConfig = _CONFIG) -> int:
        conn = ServerConnection(config, limits=SMTPLimits(message_size=None))
        conn.send(_GREETING)
        conn.receive_data(head)
        got = 0
        for p in [*pieces, b".\r\n"]:
            conn.receive_data(p)
            while True:
                ev = conn.next_event()
                if ev is NEED_DATA:
                    break
                if ev is PAUSED:
                    conn.send(replies.OK)  # a decision is owed: accept
                    continue
                if type(ev) is DataChunk:
                    got += len(ev.data)
        return got

    # Interleave the two so that load from other processes hits both alike;
    # keep the best of each.  CPU time of this process (time.process_time),
    # not wall-clock: on a shared machine the wall clock also counts the
    # time spent waiting for a core.
    accept = ServerConfig(bare_line_endings=BareLineEndings.ACCEPT)
    t_scan = t_rscan = t_conn = t_accept = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        scan()
        t_scan = min(t_scan, time.process_time() - t)
        t = time.process_time()
        rscan()
        t_rscan = min(t_rscan, time.process_time() - t)
        t = time.process_time()
        machine()
        t_conn = min(t_conn, time.process_time() - t)
        t = time.process_time()
        machine(accept)
        t_accept = min(t_accept, time.process_time() - t)
    mb = len(body) / 1e6
    print(f"\nDATA intake, {mb:.0f} MB in {chunk // 1024} KiB pieces:")
    print(f"  bytes.find scan      {mb / t_scan:8.0f} MB/s")
    print(f"  bytes.rfind scan     {mb / t_rscan:8.0f} MB/s   ({t_rscan / t_scan:.2f}x the scan)")
    print(f"  ServerConnection     {mb / t_conn:8.0f} MB/s   ({t_conn / t_scan:.2f}x the scan)")
    print(f"  ... bare LF accepted {mb / t_accept:8.0f} MB/s   ({t_accept / t_scan:.2f}x the scan)")


def memory(size_mb: int, chunk: int) -> None:
    piece = (b"x" * 78 + b"\r\n") * (chunk // 80)
    conn = ServerConnection(limits=SMTPLimits(message_size=None))
    conn.send(_GREETING)
    conn.receive_data(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
    while (ev := conn.next_event()) is not NEED_DATA:
        if ev is PAUSED:
            conn.send(replies.OK)
    conn.data_to_send()
    total = size_mb * 1024 * 1024
    sent = 0
    max_buf = 0
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    peak_extra = 0
    while sent < total:
        conn.receive_data(piece)
        sent += len(piece)
        max_buf = max(max_buf, len(conn._buf))
        while (ev := conn.next_event()) is not NEED_DATA:
            del ev  # the body leaves as events and is dropped here
        cur = tracemalloc.get_traced_memory()[0] - base
        peak_extra = max(peak_extra, cur)
    tracemalloc.stop()
    print(f"\nMemory, {size_mb} MB message in {chunk // 1024} KiB pieces:")
    print(f"  largest receive buffer     {max_buf / 1024:8.1f} KiB")
    print(f"  live memory after a piece  {peak_extra / 1024:8.1f} KiB (tracemalloc, above start)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--serve", nargs=2, metavar=("NAME", "PORT"))
    parser.add_argument("--only", choices=["throughput", "intake", "memory"])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--big-messages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if args.serve:
        name, port = args.serve
        (serve_mailproto if name == "mailproto" else serve_aiosmtpd)(int(port))
        return
    if args.only in (None, "intake"):
        intake(100, 64 * 1024)
    if args.only in (None, "memory"):
        memory(200, 64 * 1024)
    if args.only in (None, "throughput"):
        throughput(args.messages, args.big_messages, args.repeat)


if __name__ == "__main__":
    main()
