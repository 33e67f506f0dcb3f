"""IMAP client throughput: mailproto's ClientConnection vs imaplib and imapclient.

One server for all clients, in the same run: the in-memory test server built
on mailproto's ServerConnection (``tests/imap_conn/memserver.py``, asyncio),
in its own process, holding N messages (default 10,000) made from the shared
corpus.  Each client logs in, selects INBOX and fetches, for every message,
the metadata and the body in one command::

    FETCH 1:N (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[])

and must hand the application *parsed* results: mailproto gives typed
``FetchResponse`` events (envelope, body structure, bytes), imapclient gives
its parsed dicts; imaplib only splits the response into raw lines and
literals (it parses nothing), so it is shown for reference.  The server is
warmed up first (its ENVELOPE/BODYSTRUCTURE caches filled), so every client
meets the same, constant server cost.

Run from the repository root::

    python benchmarks/bench_imap_conn.py                 # 10,000 messages, 3 rounds
    python benchmarks/bench_imap_conn.py --messages 2000 --rounds 1
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import multiprocessing
import os
import re
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from mailproto import NEED_DATA, PAUSED  # noqa: E402
from mailproto.imap._events import Completed, Greeting, Untagged  # noqa: E402
from mailproto.imap.client import ClientConnection  # noqa: E402
from mailproto.imap.types import SectionRequest, SequenceSet  # noqa: E402
from mailproto.imap.types import commands as C  # noqa: E402
from mailproto.imap.types import responses as R  # noqa: E402
from mailproto.limits import IMAPLimits  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
ATTRS = ("UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE")
WIRE_ATTRS = "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[])"


def corpus_messages(n: int, max_size: int = 20_000) -> list[bytes]:
    """*n* messages cycling through the corpus (those under *max_size* octets)."""
    files = sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file() and p.name not in ("COPYING", "SOURCES.md") and p.stat().st_size < max_size
    )
    pool = [p.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for p in files]
    return [pool[i % len(pool)] for i in range(n)]


# ----------------------------------------------------------------- server


def _serve(port_queue: multiprocessing.Queue[int], n: int) -> None:
    from tests.imap_conn.memserver import Store, start_server

    store = Store({"bench": "bench"})
    box = store.boxes["bench"]["INBOX"]
    for raw in corpus_messages(n):
        box.add(raw)

    async def main() -> None:
        server = await start_server(store, auth_mechanisms=("PLAIN",))
        port_queue.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


# ----------------------------------------------------------------- clients


def run_mailproto(port: int, n: int) -> int:
    sock = socket.create_connection(("127.0.0.1", port))
    client = ClientConnection(limits=IMAPLimits(line_length=10_000_000))
    fetched = 0

    def until_completed() -> None:
        nonlocal fetched
        while True:
            out = client.data_to_send()
            if out:
                sock.sendall(out)
            event = client.next_event()
            if event is NEED_DATA:
                client.receive_data(sock.recv(1 << 20))
                continue
            if event is PAUSED:
                raise RuntimeError("paused")
            if type(event) is Untagged:
                response = event.response
                if type(response) is R.FetchResponse:
                    assert response.envelope is not None and response.sections
                    fetched += 1
            elif isinstance(event, (Completed, Greeting)):
                return

    until_completed()  # the greeting
    client.send(C.Login(tag=client.new_tag(), username="bench", password="bench"))
    until_completed()
    client.send(C.Select(tag=client.new_tag(), mailbox="INBOX"))
    until_completed()
    client.send(
        C.Fetch(
            tag=client.new_tag(),
            sequence_set=SequenceSet.of((1, "*")),
            attributes=(*ATTRS, SectionRequest(peek=True)),
        )
    )
    until_completed()
    client.send(C.Logout(tag=client.new_tag()))
    until_completed()
    sock.close()
    return fetched


def run_imaplib(port: int, n: int) -> int:
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login("bench", "bench")
    imap.select("INBOX")
    typ, data = imap.fetch("1:*", WIRE_ATTRS)
    assert typ == "OK"
    imap.logout()
    # A response with several literals is several tuples; count the starts.
    starts = re.compile(rb"^\d+ \(UID ")
    return sum(1 for item in data if isinstance(item, tuple) and starts.match(item[0]))


def run_imapclient(port: int, n: int) -> int:
    import imapclient

    client = imapclient.IMAPClient("127.0.0.1", port=port, ssl=False, use_uid=False)
    client.login("bench", "bench")
    client.select_folder("INBOX")
    # imapclient takes message numbers as ints (it writes "1,2,...,n").
    result = client.fetch(list(range(1, n + 1)), [*ATTRS, "BODY.PEEK[]"])
    client.logout()
    assert all(b"ENVELOPE" in v for v in result.values())
    return len(result)


CLIENTS = {"mailproto": run_mailproto, "imaplib": run_imaplib, "imapclient": run_imapclient}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    queue: multiprocessing.Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(queue, args.messages), daemon=True)
    server.start()
    port = queue.get(timeout=300)
    try:
        total = sum(len(m) for m in corpus_messages(args.messages))
        run_mailproto(port, args.messages)  # warm the server's caches
        times: dict[str, list[float]] = {name: [] for name in CLIENTS}
        cpu: dict[str, list[float]] = {name: [] for name in CLIENTS}
        for _round in range(args.rounds):
            for name, func in CLIENTS.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                count = func(port, args.messages)
                times[name].append(time.perf_counter() - start)
                # The client's own CPU time (the server is another process):
                # what the client costs, whatever else the machine is doing.
                cpu[name].append(time.process_time() - start_cpu)
                assert count == args.messages, (name, count)
        print(
            f"{args.messages} messages, {total / 1e6:.1f} MB of bodies, "
            f"best of {args.rounds} rounds (Python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs)"
        )
        print(
            f"{'client':<12} {'seconds':>9} {'msgs/s':>9} {'vs imapclient':>14}"
            f" {'client CPU s':>13} {'CPU vs imapclient':>18}"
        )
        base = min(times["imapclient"])
        base_cpu = min(cpu["imapclient"])
        for name, values in times.items():
            best = min(values)
            best_cpu = min(cpu[name])
            print(
                f"{name:<12} {best:9.3f} {args.messages / best:9.0f} {base / best:13.2f}x"
                f" {best_cpu:13.3f} {base_cpu / best_cpu:17.2f}x"
                f"   (median {statistics.median(values):.3f}s)"
            )
    finally:
        server.terminate()
        server.join(10)


if __name__ == "__main__":
    main()
