"""SMTP intake into Maildir: the reference server vs aiosmtpd, driven by Postfix's smtp-source.

Both servers run as separate processes on loopback and store every message
durably in a Maildir (write to ``tmp/``, fsync the file, rename into ``new/``,
fsync the directory) before answering ``250``:

``mailserver``
    ``examples/mailserver`` (``python examples/run_mailserver.py --config``):
    mailproto's SMTP ServerConnection, its MDA (Received + Return-Path,
    dedup id, index update) — the real thing, MX port, one local account.
``aiosmtpd``
    aiosmtpd's ``Controller`` with a minimal ``handle_DATA`` that does the
    same tmp/fsync/rename/fsync dance with ``os`` calls (in a thread, like
    the reference server, so other sessions keep going).

Both are equally durable: every ``250`` follows an fsync of the message file
and an fsync of ``new/`` (the reference server batches the latter, and its
index record, across concurrent deliveries: group commit).

Postfix's ``smtp-source`` is the client: ``-m`` messages of ``-l`` octets
over ``-s`` parallel sessions (one connection per message, as smtp-source
does by default).  Reported: messages per second (wall clock of
smtp-source), the ratio, and each server's CPU time per message (user +
system, all threads, from ``/proc``: less sensitive than wall time to the
other jobs of a shared machine), the machine's 1-minute load average
after each cell, and ``steal``: the share of the machine's time that the
hypervisor gave other guests during the cell (``/proc/stat``; a quarter of
it on the VM these figures come from, which is why they move from one hour
to the next).  With ``--repeat N`` each cell runs N times,
alternating which server goes first, and the medians are reported.  Each
server first gets :data:`WARMUP` untimed messages (creating the mailbox is
not intake).  Every stored message is counted afterwards.

``--ceiling`` adds three columns after each cell: the best messages per
second that this cell's floors allow any asyncio server, measured right
after the two servers (see :func:`ceiling`), and that rate over aiosmtpd's
— the largest ratio reachable here and now; then ``lib-max``, the same
ratio for the best server built on mailproto: its bare SMTP
``ServerConnection`` answering on the loop's sockets, with no session
logic at all, plus the same durable Maildir steps.  With one session both
are generous: the sync floor is timed in a tight loop, where a flush costs
about half what it costs after the idle moment between two messages of
one session; ``--canned-store`` (below) measures that bound as a server.

``--lib-store`` runs a third server in every cell, alternating with the
other two: ``lib+store``, the best a server built on mailproto can do with
the reference store — the library's SMTP ``ServerConnection`` on the
loop's sockets saying yes to every command (no recipient check, no MDA,
no ``Received:``, no session logic), each message stored by the reference
server's store (``Folder.deliver``: the same durable Maildir steps, index
and group commit) before ``250``.  Unlike ``lib-max``, which adds up
floors measured apart, this is a real server measured like the others,
so it pays what the floors leave out (the threads' and the loop's share
of two CPUs, the GIL).

``--canned-store`` runs a fourth server, ``canned+st``: the canned-reply
server of ``--floor`` (no parsing, no mail logic) storing each message
before ``250`` with the cheapest commit that keeps the Maildir discipline
(:class:`CannedCommit`: the reference store's sequence and nothing else,
on the loop's own thread).  With one session (the only cells it runs in)
it is the bound, measured as a real server like the others rather than
added up from floors, for any asyncio server that stores durably before
``250``: what is left above it is the disk and the protocol's round
trips, not mail logic.

Both the reference server and ``lib+store`` run with ``[store] sync =
"filesystem"`` and ``[store] writer = "process"`` (``--sync``,
``--writer``): one ``syncfs`` per commit batch, the batches committed by
the store's writer process.  (Session 8's ``--lib-proc``, the bare Maildir
steps in a writer process of the benchmark's own, is gone: the store has
its own writer process since session 11.)

``--floor`` measures, instead, what any Python server pays on this machine
before any mail logic: the bare Maildir steps (write, fsync, rename, fsync
the directory) in a plain loop; the same steps in as many threads as there
are sessions, beside the reference store alone (``Folder.deliver`` in
process, with as many deliveries in flight: its CPU time per delivery, all
threads), so the store's own cost shows against the disk's; and an asyncio
server that answers smtp-source with canned replies (no parsing, no
storage) for the same cells.

Usage::

    python benchmarks/bench_server_smtp.py [--messages 1000] [--sizes 1024,102400]
                                           [--sessions 1,20] [--repeat 1] [--ceiling]
                                           [--lib-store] [--canned-store] [--floor]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

from _mailserver import config_text, cpu_times
from bench_smtp import use_event_loop

SMTP_SOURCE = "/usr/sbin/smtp-source"
#: Messages sent to each server before the timed run.
WARMUP = 5
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.recv(100)
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def store_durably(maildir: Path, name: str, data: bytes) -> None:
    """The Maildir steps both servers take before ``250``, bare.

    Write ``tmp/<name>``, fsync it, rename it into ``new/``, fsync ``new/``
    (maildir(5), and the directory fsync that makes the rename durable).
    The aiosmtpd handler stores with it, and ``--floor`` times it alone.
    """
    tmp = maildir / "tmp" / name
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, maildir / "new" / name)
    dfd = os.open(maildir / "new", os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


# -- the aiosmtpd side (run in a child process with --serve-aiosmtpd) ----------------------


def serve_aiosmtpd(port: int, maildir: Path) -> None:
    # The Controller creates its loop with asyncio.new_event_loop(): the
    # policy set from --event-loop (use_event_loop) decides which kind.
    from aiosmtpd.controller import Controller

    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    counter = iter(range(10**12))

    def store(data: bytes) -> None:
        store_durably(maildir, f"{time.time():.6f}.{os.getpid()}.{next(counter)}.bench", data)

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            data = getattr(envelope, "original_content", None) or getattr(envelope, "content", b"")
            assert isinstance(data, bytes)
            await asyncio.get_running_loop().run_in_executor(None, store, data)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port, data_size_limit=30_000_000)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


# -- floors (--floor): what any Python server pays here, before any mail logic ---------------


def serve_canned(port: int, store: Path | None = None) -> None:
    """An asyncio server that answers smtp-source with canned replies: no parsing, no storage.

    The protocol floor of this machine: asyncio's accept/read/write per
    connection and the round trips smtp-source waits for.

    With *store* (a Maildir), each message is also stored durably before
    its ``250`` by :class:`CannedCommit`: the bound, measured as a real
    server, for any asyncio server that keeps the Maildir discipline
    (``--canned-store``).
    """
    commit = CannedCommit(store) if store is not None else None

    class Canned(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            # (not isinstance-checked: uvloop's transports are not asyncio's classes)
            self.transport = cast(asyncio.Transport, transport)
            self.in_data = False
            self.tail = b""
            self.chunks: list[bytes] = []
            self.transport.write(b"220 floor ESMTP\r\n")

        def data_received(self, data: bytes) -> None:
            if self.in_data:
                self.tail = (self.tail + data)[-5:]
                if commit is not None:
                    self.chunks.append(data)
                if self.tail == b"\r\n.\r\n":
                    self.in_data = False
                    if commit is not None:
                        commit.add(b"".join(self.chunks), self.transport)
                        self.chunks = []
                    else:
                        self.transport.write(b"250 2.0.0 OK\r\n")
                return
            verb = data[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.transport.write(b"250-floor\r\n250 PIPELINING\r\n")
            elif verb == b"DATA":
                self.in_data, self.tail = True, b""
                self.transport.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"221 bye\r\n")
                self.transport.close()
            else:
                self.transport.write(b"250 OK\r\n")

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(Canned, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


class CannedCommit:
    """The cheapest durable commit that keeps the Maildir discipline, on the loop itself.

    The reference store's sequence with nothing else (no UIDs, no flags,
    no writer process, no Python around it): each message written to
    ``tmp/``, a record of it appended to a log, one ``syncfs(2)`` for
    everything waiting (the messages that arrived while the loop was busy:
    a group commit), then the renames into ``new/`` and the ``250`` replies.
    The record, durable with the file, is what lets a crash after the
    ``syncfs`` redo the rename (the store's ``Folder._place_logged``), so
    the rename needs no flush of its own.  Done on the loop's thread: with
    one session there is nothing else to do meanwhile, so no hand-over to
    another thread or process is cheaper.

    A bound with one session only: with several, each flush stops the loop,
    which then serves no other session, so the reference store's writer
    process (``lib+store``) does better.
    """

    def __init__(self, maildir: Path) -> None:
        # The store's own primitives, so that the steps are the store's.
        sys.path.insert(0, str(ROOT / "examples"))
        from mailserver.maildir import syncfs, write_unsynced

        for sub in ("tmp", "new"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        self.tmp = str(maildir / "tmp") + "/"
        self.new = str(maildir / "new") + "/"
        self.log = os.open(maildir / "log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.write, self.syncfs = write_unsynced, syncfs
        self.count = 0
        self.waiting: list[tuple[str, asyncio.Transport]] = []

    def add(self, data: bytes, transport: asyncio.Transport) -> None:
        # *data* is DATA as received (stuffed dots and the terminator kept):
        # the same octet count as the message, which is all a bound needs.
        self.count += 1
        name = f"{time.time():.6f}.{self.count}.canned"
        self.write(os.fsencode(self.tmp + name), data, len(data), None)
        if not self.waiting:
            asyncio.get_running_loop().call_soon(self.commit)
        self.waiting.append((name, transport))

    def commit(self) -> None:
        waiting, self.waiting = self.waiting, []
        os.write(self.log, "".join(name + "\n" for name, _ in waiting).encode())
        self.syncfs(self.log)
        for name, transport in waiting:
            os.rename(self.tmp + name, self.new + name)
            transport.write(b"250 2.0.0 OK\r\n")


def fsync_floor(directory: Path, size: int, count: int = 300) -> tuple[float, float]:
    """Wall and CPU ms per message of the bare Maildir steps, in a plain Python loop.

    ``tmp/`` write, fsync, rename into ``new/``, fsync ``new/``: what both
    servers must do per message before ``250`` (no index, no threads).
    """
    for sub in ("tmp", "new"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    data = b"x" * size
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        store_durably(directory, str(i), data)
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    return elapsed / count * 1000, used / count * 1000


def parallel_fsync_floor(
    directory: Path, size: int, sessions: int, count: int
) -> tuple[float, float]:
    """:func:`fsync_floor` with *sessions* threads storing at once: wall and CPU ms per message.

    What durable intake costs at best with that many deliveries in flight
    (the file system may share journal commits between concurrent syncs).
    """
    import concurrent.futures

    for sub in ("tmp", "new"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    data = b"x" * size
    per = max(1, count // sessions)

    def worker(k: int) -> None:
        for i in range(per):
            store_durably(directory, f"{k}.{i}", data)

    start, cpu = time.perf_counter(), time.process_time()
    with concurrent.futures.ThreadPoolExecutor(sessions) as pool:
        list(pool.map(worker, range(sessions)))
    done = per * sessions
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    return elapsed / done * 1000, used / done * 1000


def ceiling(tmp: Path, messages: int, size: int, sessions: int) -> dict[str, float]:
    """Upper bounds of the messages/s a server could reach in this cell, here and now.

    Measured right after the two servers, from two floors: a protocol
    floor and the bare durable Maildir steps (:func:`fsync_floor`, or
    :func:`parallel_fsync_floor` with several sessions, measured once and
    used for both bounds).  One bound per protocol floor
    (:data:`FLOOR_SERVERS`):

    ``"canned"``
        the canned-reply asyncio server (accept, replies and reads, nothing
        else): the bound for any asyncio server;
    ``"library"``
        mailproto's own SMTP ``ServerConnection`` on the loop's sockets,
        discarding the data (``bench_smtp.py --serve mailproto-loop``): the
        bound for any server built on this library, with no session logic.

    With one session nothing overlaps — smtp-source waits for each reply,
    and ``250`` waits for the syncs — so a message costs at least the sum of
    the two wall times (more, in fact: the syncs are timed back to back,
    and a flush after an idle moment costs more; ``canned+st`` measures
    that case as a server).  With several, the rate is bounded by each floor's
    own rate and by the machine's cores shared by the two floors' CPU time
    (smtp-source's own CPU is left out, so the bound is generous).
    """
    where = tmp / f"ceiling-{size}-{sessions}-{time.monotonic_ns()}"
    if sessions == 1:
        sync_wall, sync_cpu = fsync_floor(where, size, count=min(messages, 300))
    else:
        sync_wall, sync_cpu = parallel_fsync_floor(where, size, sessions, min(messages, 600))
    bounds = {}
    for server in FLOOR_SERVERS:
        elapsed, cpu, _ = run_floor_server(tmp, messages, size, sessions, server)
        proto_wall, proto_cpu = elapsed / messages * 1000, cpu / messages * 1000
        if sessions == 1:
            bounds[server] = 1000 / (proto_wall + sync_wall)
        else:
            cores = os.cpu_count() or 1
            bounds[server] = min(
                1000 / proto_wall, 1000 / sync_wall, cores * 1000 / (proto_cpu + sync_cpu)
            )
    return bounds


def store_cost(messages: int, size: int, in_flight: int) -> tuple[float, float]:
    """Wall and CPU ms (all threads) per ``Folder.deliver`` of the reference store, in process.

    *in_flight* deliveries run at once (as many SMTP sessions delivering).
    """
    sys.path.insert(0, str(ROOT / "examples"))
    from mailserver.maildir import Store

    data = b"Subject: x\r\n\r\n" + b"y" * max(0, size - 16)

    async def main(root: Path) -> tuple[float, float]:
        inbox = Store(root).mailbox("bench@bench.example").folder("INBOX")
        for i in range(WARMUP):
            await inbox.deliver(data, delivery_id=f"W{i}")

        async def worker(k: int) -> None:
            for i in range(messages // in_flight):
                await inbox.deliver(data, delivery_id=f"D{k}x{i}")

        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(k) for k in range(in_flight)))
        done = messages // in_flight * in_flight
        elapsed, used = time.perf_counter() - start, time.process_time() - cpu
        return elapsed / done * 1000, used / done * 1000

    with tempfile.TemporaryDirectory() as d:
        return asyncio.run(main(Path(d)))


#: The protocol floors :func:`ceiling` can measure: how to start each server
#: (the port and then ``--event-loop`` follow).
FLOOR_SERVERS = {
    "canned": [sys.executable, __file__, "--serve-canned"],
    "library": [
        sys.executable,
        str(ROOT / "benchmarks" / "bench_smtp.py"),
        "--serve",
        "mailproto-loop",
    ],
}
#: The event loop each server runs on (set from the command line): the
#: floors run on the reference server's, since they bound it.
LOOPS = {"mailserver": "asyncio", "aiosmtpd": "asyncio"}


def run_floor_server(
    tmp: Path, messages: int, size: int, sessions: int, server: str = "canned"
) -> tuple[float, float, int]:
    port = _free_port()
    elapsed, cpu = _run_server(
        [*FLOOR_SERVERS[server], str(port), "--event-loop", LOOPS["mailserver"]],
        port,
        (messages, size, sessions),
    )
    return elapsed, cpu, messages


def floors(messages: int, sizes: list[int], sessions: list[int]) -> None:
    print(
        "floors: the bare Maildir steps in a Python loop, then in threads beside the"
        " reference store alone, and a canned-reply asyncio server"
    )
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for size in sizes:
            wall, cpu = fsync_floor(tmp / f"fsync-{size}", size)
            print(f"fsync floor {size:>7} octets: {wall:.3f} ms wall, {cpu:.3f} ms CPU per message")
        for size in sizes:
            for n in sessions:
                # The bare steps with as many in flight (threads), beside
                # the reference store doing the same plus its index.
                wall, cpu = parallel_fsync_floor(tmp / f"bare-{size}-{n}", size, n, messages)
                print(
                    f"bare Maildir steps {size:>7} octets, {n:>2} in flight: {wall:.3f} ms wall,"
                    f" {cpu:.3f} ms CPU per message"
                )
                wall, cpu = store_cost(messages, size, n)
                print(
                    f"reference store    {size:>7} octets, {n:>2} in flight: {wall:.3f} ms wall,"
                    f" {cpu:.3f} ms CPU per delivery"
                )
        for size in sizes:
            for n in sessions:
                elapsed, cpu, _ = run_floor_server(tmp, messages, size, n)
                print(
                    f"canned server {size:>7} octets x{n:<3}: {messages / elapsed:8.1f} messages/s,"
                    f" {cpu / messages * 1000:.2f} ms CPU per message"
                )


# -- runs -----------------------------------------------------------------------------------


def _count(maildir: Path) -> int:
    return sum(1 for sub in ("new", "cur") for _ in (maildir / sub).glob("*"))


def _drive(port: int, messages: int, size: int, sessions: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            SMTP_SOURCE,
            "-s",
            str(sessions),
            "-m",
            str(messages),
            "-l",
            str(size),
            "-f",
            "sender@source.example",
            "-t",
            "bench@bench.example",
            f"127.0.0.1:{port}",
        ],
        check=True,
        timeout=3600,
    )
    return time.perf_counter() - start


def _ticks(pid: int) -> int:
    """User + system clock ticks of process *pid* (all its threads); OSError if it is gone."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process *pid* (all its threads) and its live children, or NaN.

    The children count: the reference server's store writer process does
    the work aiosmtpd's handler does in its threads.
    """
    try:
        ticks = _ticks(pid)
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return float("nan")
    for child in children:
        with contextlib.suppress(OSError):  # ended meanwhile
            ticks += _ticks(int(child))
    return ticks / os.sysconf("SC_CLK_TCK")


def _measure(
    proc: subprocess.Popen[bytes], port: int, args: tuple[int, int, int]
) -> tuple[float, float]:
    """Drive the server behind *port*; return (elapsed seconds, its CPU seconds)."""
    _wait_port(port)
    # Warm-up, untimed, for both servers: the first delivery creates the
    # mailbox (and the reference server its folders and thread pool).
    _drive(port, WARMUP, args[1], 1)
    before = _cpu_seconds(proc.pid)
    elapsed = _drive(port, *args)
    return elapsed, _cpu_seconds(proc.pid) - before


def _run_server(command: list[str], port: int, args: tuple[int, int, int]) -> tuple[float, float]:
    """Start *command* (a server listening on *port*), drive it with :func:`_measure`, stop it."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        return _measure(proc, port, args)
    finally:
        proc.terminate()
        proc.wait(30)


#: The ``[store] sync`` mode and ``[store] writer`` of the reference server
#: and of ``lib+store`` (``--sync``, ``--writer``).
SYNC = {"mode": "filesystem", "writer": "process"}


def _writer(sync: str) -> str:
    """The ``[store] writer`` that goes with *sync* (a writer process needs "filesystem")."""
    return SYNC["writer"] if sync == "filesystem" else "thread"


def run_mailserver(
    tmp: Path, messages: int, size: int, sessions: int, *, sync: str | None = None
) -> tuple[float, float, int]:
    port = _free_port()
    config = tmp / "bench.toml"
    config.write_text(
        config_text(
            {"smtp": port},
            limits={"max_message_size": 25 * 1024 * 1024},
            store={"sync": sync or SYNC["mode"], "writer": _writer(sync or SYNC["mode"])},
        )
    )
    data = tmp / f"ms-{size}-{sessions}-{time.monotonic_ns()}"
    elapsed, cpu = _run_server(
        [
            sys.executable,
            str(ROOT / "examples" / "run_mailserver.py"),
            "--config",
            str(config),
            "--data-dir",
            str(data),
            "--event-loop",
            LOOPS["mailserver"],
        ],
        port,
        (messages, size, sessions),
    )
    return elapsed, cpu, _count(data / "bench" / "mail" / "bench@bench.example")


def _run_here(
    flag: str, name: str, loop: str, tmp: Path, messages: int, size: int, sessions: int
) -> tuple[float, float, int]:
    """Run one of this script's own servers (``flag PORT MAILDIR``) on *loop*, and drive it."""
    port = _free_port()
    maildir = tmp / f"{name}-{size}-{sessions}-{time.monotonic_ns()}"
    elapsed, cpu = _run_server(
        [sys.executable, __file__, flag, str(port), str(maildir), "--event-loop", loop],
        port,
        (messages, size, sessions),
    )
    return elapsed, cpu, _count(maildir)


def run_aiosmtpd(tmp: Path, messages: int, size: int, sessions: int) -> tuple[float, float, int]:
    return _run_here("--serve-aiosmtpd", "aio", LOOPS["aiosmtpd"], tmp, messages, size, sessions)


def run_canned_store(
    tmp: Path, messages: int, size: int, sessions: int
) -> tuple[float, float, int]:
    """The canned-reply server storing with :class:`CannedCommit` (``--canned-store``)."""
    loop = LOOPS["mailserver"]
    return _run_here("--serve-canned-store", "canned", loop, tmp, messages, size, sessions)


def run_lib_store(tmp: Path, messages: int, size: int, sessions: int) -> tuple[float, float, int]:
    """The library's machine plus the reference store, no session logic (``--lib-store``).

    CPU time is the server process's and its store writer process's.
    """
    port = _free_port()
    maildir = tmp / f"lib-{size}-{sessions}-{time.monotonic_ns()}"
    elapsed, cpu = _run_server(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_smtp.py"),
            "--serve",
            "mailproto-loop",
            str(port),
            "--store",
            str(maildir),
            "--store-sync",
            SYNC["mode"],
            "--store-writer",
            _writer(SYNC["mode"]),
            "--event-loop",
            LOOPS["mailserver"],
        ],
        port,
        (messages, size, sessions),
    )
    return elapsed, cpu, _count(maildir / "bench@bench.example")


#: Who runs in each cell: the reference server, aiosmtpd, and with
#: ``--lib-store`` the library plus the store.
RUNNERS: dict[str, Callable[[Path, int, int, int], tuple[float, float, int]]] = {
    "ms": run_mailserver,
    "msfile": functools.partial(run_mailserver, sync="file"),
    "aio": run_aiosmtpd,
    "lib": run_lib_store,
    "canned": run_canned_store,
}


def steal_percent(before: list[int], after: list[int]) -> float:
    """The share of the machine's time the hypervisor gave other guests (steal)
    between two :func:`cpu_times` readings, in percent (NaN when unknown)."""
    deltas = [b - a for a, b in zip(before, after)]
    total = sum(deltas[:8])  # user nice system idle iowait irq softirq steal
    return 100.0 * deltas[7] / total if total and len(deltas) > 7 else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--sizes", default="1024,102400")
    p.add_argument("--sessions", default="1,20")
    p.add_argument("--repeat", type=int, default=1, help="runs per cell (medians reported)")
    p.add_argument(
        "--floor",
        action="store_true",
        help="measure the floors instead: the bare fsync steps, and a canned-reply server",
    )
    p.add_argument(
        "--ceiling",
        action="store_true",
        help="after each cell, measure the floors and print the best rate and ratio they allow",
    )
    for who in LOOPS:
        p.add_argument(
            f"--{who}-loop",
            choices=("asyncio", "uvloop"),
            default="asyncio",
            help=f"the event loop {who} runs on (default asyncio)",
        )
    p.add_argument(
        "--sync",
        choices=("file", "filesystem"),
        default="filesystem",
        help="the reference server's [store] sync (and lib+store's): fsync each message"
        " file, or one syncfs(2) per commit batch (default)",
    )
    p.add_argument(
        "--file-sync-too",
        action="store_true",
        help='also run the reference server with [store] sync = "file" (ms/file)',
    )
    p.add_argument(
        "--lib-store",
        action="store_true",
        help="also run the library's bare machine storing with the reference store (lib+store)",
    )
    p.add_argument(
        "--writer",
        choices=("thread", "process"),
        default="process",
        help="the reference server's [store] writer (and lib+store's) with --sync filesystem:"
        " the store's writer process (default), or a thread of the server's process",
    )
    p.add_argument("--serve-aiosmtpd", nargs=2, metavar=("PORT", "MAILDIR"), help=argparse.SUPPRESS)
    p.add_argument(
        "--canned-store",
        action="store_true",
        help="also run the canned-reply server storing each message with the cheapest"
        " Maildir-keeping commit before 250 (canned+st), with one session: the bound there"
        " for any asyncio server",
    )
    p.add_argument("--serve-canned", type=int, metavar="PORT", help=argparse.SUPPRESS)
    p.add_argument(
        "--serve-canned-store", nargs=2, metavar=("PORT", "MAILDIR"), help=argparse.SUPPRESS
    )
    p.add_argument("--event-loop", default="asyncio", help=argparse.SUPPRESS)
    args = p.parse_args()
    use_event_loop(args.event_loop)
    LOOPS.update(mailserver=args.mailserver_loop, aiosmtpd=args.aiosmtpd_loop)
    SYNC.update(mode=args.sync, writer=args.writer)
    if args.serve_aiosmtpd:
        serve_aiosmtpd(int(args.serve_aiosmtpd[0]), Path(args.serve_aiosmtpd[1]))
        return
    if args.serve_canned:
        serve_canned(args.serve_canned)
        return
    if args.serve_canned_store:
        serve_canned(int(args.serve_canned_store[0]), Path(args.serve_canned_store[1]))
        return
    if not os.path.exists(SMTP_SOURCE):
        sys.exit(f"{SMTP_SOURCE} is missing (apt-get install postfix)")
    if args.floor:
        floors(
            args.messages,
            [int(s) for s in args.sizes.split(",")],
            [int(s) for s in args.sessions.split(",")],
        )
        return
    n = args.messages
    print(f"{n} messages per run, {args.repeat} run(s) per cell; messages/s (median),")
    print("CPU ms per message of each server process (median); stored messages counted")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min)")
    print("steal: the share of the machine's time (all CPUs) that the hypervisor gave")
    print("other guests while the cell's runs went on (a virtual machine's noise)")
    print(f"event loops: mailserver on {LOOPS['mailserver']}, aiosmtpd on {LOOPS['aiosmtpd']}")
    print(f'mailserver: [store] sync = "{args.sync}", writer = "{_writer(args.sync)}"')
    if args.file_sync_too:
        print('ms/file: the reference server with [store] sync = "file" (and that / aiosmtpd)')
    if args.lib_store:
        print("lib+store: mailproto's SMTP machine on the loop's sockets with no session logic,")
        print("storing with the reference store before 250 (messages/s, and that / aiosmtpd)")
    if args.canned_store:
        print("canned+st: canned replies, each message stored before 250 by the cheapest")
        print("Maildir-keeping commit (see CannedCommit), and that / aiosmtpd; one session only")
    if args.ceiling:
        print("ceiling: the best messages/s the floors allow any asyncio server (see ceiling()),")
        print("and that / aiosmtpd; lib-max: the same bound for a server built on mailproto")
        print("(its bare SMTP ServerConnection, no session logic, instead of canned replies)")
    print(
        f"{'size':>8} {'sessions':>8} {'mailserver':>11} {'aiosmtpd':>9} {'ratio':>7}"
        f" {'cpu ms':>7} {'cpu ms':>7} {'load':>5} {'steal':>6}"
        + (f" {'ms/file':>9} {'ratio':>7}" if args.file_sync_too else "")
        + (f" {'lib+store':>9} {'ratio':>7}" if args.lib_store else "")
        + (f" {'canned+st':>9} {'ratio':>7}" if args.canned_store else "")
        + (f" {'ceiling':>8} {'max':>6} {'lib-max':>7}" if args.ceiling else "")
    )
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for size in (int(s) for s in args.sizes.split(",")):
            for sessions in (int(s) for s in args.sessions.split(",")):
                who_runs = ["ms", "aio"]
                who_runs += ["msfile"] if args.file_sync_too else []
                who_runs += ["lib"] if args.lib_store else []
                # (A bound with one session only: see CannedCommit.)
                who_runs += ["canned"] if args.canned_store and sessions == 1 else []
                rates: dict[str, list[float]] = {who: [] for who in who_runs}
                cpus: dict[str, list[float]] = {who: [] for who in who_runs}
                started = cpu_times()
                for i in range(args.repeat):
                    # Rotate who goes first, so a load change on the
                    # machine does not always favour the same server.
                    k = i % len(who_runs)
                    for who in who_runs[k:] + who_runs[:k]:
                        elapsed, cpu, stored = RUNNERS[who](tmp, n, size, sessions)
                        assert stored == n + WARMUP, f"{who} stored {stored} of {n + WARMUP}"
                        rates[who].append(n / elapsed)
                        cpus[who].append(cpu / n * 1000)
                steal = steal_percent(started, cpu_times())
                ms_rate = statistics.median(rates["ms"])
                aio_rate = statistics.median(rates["aio"])
                bound = ""
                for who in ("msfile", "lib", "canned"):
                    if who in who_runs:
                        lib_rate = statistics.median(rates[who])
                        bound += f" {lib_rate:>9.1f} {lib_rate / aio_rate:>6.2f}x"
                    elif who == "canned" and args.canned_store:
                        bound += f" {'-':>9} {'-':>7}"
                if args.ceiling:
                    bounds = ceiling(tmp, n, size, sessions)
                    best, lib = bounds["canned"], bounds["library"]
                    bound += f" {best:>8.1f} {best / aio_rate:>5.2f}x {lib / aio_rate:>6.2f}x"
                print(
                    f"{size:>8} {sessions:>8} {ms_rate:>11.1f} {aio_rate:>9.1f}"
                    f" {ms_rate / aio_rate:>6.2f}x {statistics.median(cpus['ms']):>7.2f}"
                    f" {statistics.median(cpus['aio']):>7.2f} {os.getloadavg()[0]:>5.2f}"
                    f" {steal:>5.1f}%{bound}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
