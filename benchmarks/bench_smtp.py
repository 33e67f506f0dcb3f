"""SMTP server benchmarks: ServerConnection over asyncio vs aiosmtpd, driven by
Postfix's smtp-source; DATA intake against a bare ``bytes.find`` scan; memory
of a 200 MB message.

Run from the repository root::

    python benchmarks/bench_smtp.py                 # everything
    python benchmarks/bench_smtp.py --only intake   # no sockets
    python benchmarks/bench_smtp.py --only session  # no sockets: CPU per session
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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

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
#: Stores one message (its octets); ``250`` waits for it.
Deliver = Callable[[bytes], Awaitable[None]]
_HELLO = Reply(code=250, lines="hello")
_CONFIG = ServerConfig(hostname="bench.example")
_LIMITS = SMTPLimits(message_size=200 * 1024 * 1024)


def answer(conn: ServerConnection, kept: list[bytes] | None = None) -> bytes | None:
    """Answer every decision of *conn* with "yes"; None, or a whole message to store.

    Without *kept* the data goes nowhere and each message is accepted at
    once.  With it, the data is kept there and the message is returned at
    its end, unanswered: the machine then waits for its reply (the
    store's), and nothing after it is read until the caller has sent one.
    """
    send = conn.send
    while True:
        event = conn.next_event()
        if event is NEED_DATA or event is PAUSED:
            return None
        cls = type(event)
        if cls is DataChunk:
            if kept is not None:
                kept.append(cast(DataChunk, event).data)
            continue
        if cls is MailFrom:
            send(replies.SENDER_OK)
        elif cls is RcptTo:
            send(replies.RECIPIENT_OK)
        elif cls is EndOfData:
            if kept is not None:
                message = b"".join(kept)
                kept.clear()
                return message
            send(replies.MESSAGE_ACCEPTED)
        elif cls is Ehlo or cls is Helo:
            send(_HELLO)
        elif cls is ConnectionClosed:
            return None


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
        answer(conn)
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


def use_event_loop(name: str) -> None:
    """Make the loops this process creates from now on of the kind *name* (asyncio, uvloop)."""
    if name == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def serve_mailproto_loop(port: int, deliver: Deliver | None = None) -> None:
    """The same machine on asyncio's event loop without its transports.

    asyncio's Protocol/Transport layer costs more per short session (a task
    per accepted connection, several callbacks, a transport object) than
    ServerConnection does.  Sans-I/O leaves the I/O to the caller, so this
    variant reads and writes the sockets itself from ``loop.add_reader``
    callbacks (still one process, one thread, asyncio's loop).

    With *deliver*, each message is handed to it (a coroutine function
    taking the message's octets) and ``250`` is sent only once it has
    returned: the machine plus a store, with no session logic between them
    (``bench_server_smtp.py --lib-store`` runs it with the reference
    server's Maildir store).
    """

    storing: set[asyncio.Task[None]] = set()

    def on_accept(listener: socket.socket) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = ServerConnection(_CONFIG, limits=_LIMITS)
            conn.send(_GREETING)
            pending = bytearray(conn.data_to_send())
            chunks: list[bytes] = []
            loop.add_reader(sock.fileno(), on_read, sock, conn, pending, chunks)
            flush(sock, pending)

    def flush(sock: socket.socket, pending: bytearray) -> None:
        if sock.fileno() < 0:  # closed meanwhile (a delivery outlived its client)
            return
        try:
            sent = sock.send(pending)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            return
        del pending[:sent]
        if pending:  # rare with replies this small: finish when writable
            loop.add_writer(sock.fileno(), on_write, sock, pending)

    def on_write(sock: socket.socket, pending: bytearray) -> None:
        loop.remove_writer(sock.fileno())
        flush(sock, pending)

    def serve(
        sock: socket.socket, conn: ServerConnection, pending: bytearray, chunks: list[bytes]
    ) -> None:
        if deliver is None:
            answer(conn)
        else:
            message = answer(conn, chunks)
            if message is not None:
                task = loop.create_task(store(sock, conn, pending, chunks, message))
                storing.add(task)  # (the loop keeps only a weak reference)
                task.add_done_callback(storing.discard)
        out = conn.data_to_send()
        if out:
            pending += out
            flush(sock, pending)

    async def store(
        sock: socket.socket,
        conn: ServerConnection,
        pending: bytearray,
        chunks: list[bytes],
        message: bytes,
    ) -> None:
        assert deliver is not None
        await deliver(message)
        conn.send(replies.MESSAGE_ACCEPTED)
        serve(sock, conn, pending, chunks)  # what the client sent meanwhile (QUIT)
        if conn.state is State.CLOSED and sock.fileno() >= 0:
            close(sock)

    def close(sock: socket.socket) -> None:
        loop.remove_reader(sock.fileno())
        loop.remove_writer(sock.fileno())
        sock.close()

    def on_read(
        sock: socket.socket, conn: ServerConnection, pending: bytearray, chunks: list[bytes]
    ) -> None:
        try:
            data = sock.recv(262144)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        conn.receive_data(data)
        serve(sock, conn, pending, chunks)
        if not data or conn.state is State.CLOSED:
            close(sock)

    async def main() -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(512)
        listener.setblocking(False)
        loop.add_reader(listener.fileno(), on_accept, listener)
        await asyncio.Event().wait()

    loop = asyncio.new_event_loop()
    loop.run_until_complete(main())


def serve_mailproto_store(
    port: int, maildir: Path, sync: str = "file", writer: str = "thread"
) -> None:
    """``mailproto-loop`` storing each message with the reference server's store.

    Every message goes into one Maildir folder through
    ``mailserver.maildir.Folder.deliver`` (tmp/, fsync, rename into new/,
    the folder's index, group commit), exactly as the reference server's
    MDA stores it, and ``250`` follows its return.  *sync* and *writer* are
    the store's ``[store] sync`` and ``[store] writer``.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    from mailserver.maildir import Folder, Store

    inbox: list[Folder] = []

    async def deliver(message: bytes) -> None:
        if not inbox:
            store = Store(maildir, sync=sync, writer=writer)
            inbox.append(store.mailbox("bench@bench.example").folder("INBOX"))
        await inbox[0].deliver(message)

    serve_mailproto_loop(port, deliver)


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


SERVERS = {
    "mailproto": serve_mailproto,
    "mailproto-loop": serve_mailproto_loop,
    "aiosmtpd": serve_aiosmtpd,
}


def throughput(messages: int, big_messages: int, repeat: int) -> None:
    if not os.access(SMTP_SOURCE, os.X_OK):
        print("smtp-source not installed (apt-get install postfix): skipping throughput")
        return
    scenarios = [
        ("1 KB, 4 sessions", 4, messages, 1024),
        ("100 KB, 1 session", 1, big_messages, 100 * 1024),
    ]
    # All servers run side by side; the runs alternate between them, so a
    # change in the machine's load hits every server alike.  Best of each.
    procs: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    results: dict[tuple[str, str], tuple[float, float]] = {}
    try:
        for name in SERVERS:
            port = free_port()
            cmd = [sys.executable, __file__, "--serve", name, str(port)]
            procs[name] = (subprocess.Popen(cmd), port)
        for proc, port in procs.values():
            wait_port(port)
            run_source(port, proc.pid, 1, 20, 1024)  # warm up
        for label, sess, count, size in scenarios:
            for _ in range(repeat):
                for name, (proc, port) in procs.items():
                    wall, cpu = run_source(port, proc.pid, sess, count, size)
                    best = results.get((name, label), (0.0, 0.0))
                    results[(name, label)] = (max(best[0], wall), max(best[1], cpu))
    finally:
        for proc, _port in procs.values():
            proc.terminate()
            proc.wait(10)
    print("\nmessages/s by wall clock (shared machine: noisy) and per server CPU second;")
    print("ratios against aiosmtpd")
    print(f"{'scenario':<20}{'server':<16}{'wall':>8}{'ratio':>7}{'CPU':>9}{'ratio':>7}")
    for label, *_ in scenarios:
        tw, tc = results[("aiosmtpd", label)]
        for name in SERVERS:
            ow, oc = results[(name, label)]
            print(f"{label:<20}{name:<16}{ow:>8.0f}{ow / tw:>6.1f}x{oc:>9.0f}{oc / tc:>6.1f}x")


# ----------------------------------------------------------------- session


def smtp_source_session() -> list[bytes]:
    """What ``smtp-source -l 1024`` writes in one session, write by write.

    It sends HELO (not EHLO) and no pipelining: one write per command and one
    for the message (its headers, then numbered 78-character lines up to the
    requested size, then the terminator).
    """
    head = (
        b"From: <foo@vm>\r\nTo: <foo@vm>\r\nDate: Sat, 28 Nov 2026 15:24:58 +0000 (UTC)\r\n"
        b"Message-Id: <6c94.0003.0001@vm>\r\n\r\n"
    )
    lines = [b"%d" % (i % 10) + b"X" * 77 + b"\r\n" for i in range(1, 14)]
    body = b"".join(lines)[:1024]
    body = body[: body.rfind(b"\r\n") + 2] + b"X" * 64 + b"\r\n"
    return [
        b"HELO vm\r\n",
        b"MAIL FROM:<foo@vm>\r\n",
        b"RCPT TO:<foo@vm>\r\n",
        b"DATA\r\n",
        head + body + b".\r\n",
        b"QUIT\r\n",
    ]


class _NullTransport(asyncio.Transport):
    """Swallows what DiscardProtocol writes (no sockets, no event loop)."""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        pass

    def close(self) -> None:
        pass


def session(count: int, rounds: int = 7) -> None:
    """CPU per smtp-source session of the server code alone.

    ``DiscardProtocol`` (the benchmark's asyncio server) is driven with the
    exact writes of one smtp-source session and a transport that drops the
    replies: everything the server process does per message except asyncio
    and the kernel.  Best of *rounds*, CPU time of this process.
    """
    writes = smtp_source_session()
    transport = _NullTransport()
    names = ["connect+greeting", "HELO", "MAIL", "RCPT", "DATA", "message", "QUIT"]
    clock = time.perf_counter_ns

    def run() -> list[int]:
        spent = [0] * len(names)
        for _ in range(count):
            t0 = clock()
            proto = DiscardProtocol()
            proto.connection_made(transport)
            t1 = clock()
            spent[0] += t1 - t0
            for i, data in enumerate(writes, 1):
                t0 = clock()
                proto.data_received(data)
                spent[i] += clock() - t0
        return spent

    run()  # warm up
    best_total = float("inf")
    best = [float("inf")] * len(names)
    for _ in range(rounds):
        t = time.process_time()
        spent = run()
        best_total = min(best_total, time.process_time() - t)
        best = [min(a, b) for a, b in zip(best, spent, strict=True)]
    print(f"\nServer CPU per smtp-source session (no sockets), {count} sessions, best of {rounds}:")
    print(f"  whole session            {best_total / count * 1e6:7.1f} us (process CPU time)")
    for name, ns in zip(names, best, strict=True):
        print(f"  {name:<24} {ns / count / 1000:7.1f} us")


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
    parser.add_argument(
        "--event-loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="the event loop a --serve server runs on",
    )
    parser.add_argument(
        "--store",
        metavar="DIR",
        help="with --serve mailproto-loop: store each message in DIR with the reference"
        " server's Maildir store before 250",
    )
    parser.add_argument(
        "--store-sync",
        choices=("file", "filesystem"),
        default="file",
        help="with --store: the store's [store] sync mode",
    )
    parser.add_argument(
        "--store-writer",
        choices=("thread", "process"),
        default="thread",
        help="with --store: the store's [store] writer (process: needs --store-sync filesystem)",
    )
    parser.add_argument("--only", choices=["throughput", "intake", "memory", "session"])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--big-messages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if args.serve:
        name, port = args.serve
        use_event_loop(args.event_loop)
        if args.store is not None:
            if name != "mailproto-loop":
                parser.error("--store goes with --serve mailproto-loop")
            serve_mailproto_store(int(port), Path(args.store), args.store_sync, args.store_writer)
        else:
            SERVERS[name](int(port))
        return
    if args.only in (None, "session"):
        session(10000)
    if args.only in (None, "intake"):
        intake(100, 64 * 1024)
    if args.only in (None, "memory"):
        memory(200, 64 * 1024)
    if args.only in (None, "throughput"):
        throughput(args.messages, args.big_messages, args.repeat)


if __name__ == "__main__":
    main()
