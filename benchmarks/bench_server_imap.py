"""IMAP FETCH of a whole mailbox: the reference server vs Dovecot, same messages.

A mailbox of ``--messages`` messages (default 10,000; sizes 1-40 KB, fixed
seed, a few MIME multiparts) is put in Maildir form in both servers' stores
— identical files — and one client, a plain socket that sends a command and
reads until its tagged completion (so the client costs the same for both),
FETCHes all of it, in two passes:

1. headers: ``UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER])``
2. bodies:  ``UID FETCH 1:* (BODY.PEEK[])``

Both servers run at once.  Each first gets one untimed round of both passes
(Dovecot builds its index and cache then; the reference server loads its
index and fills its header cache, :mod:`mailserver.imap_cache`).  Then the
servers take turns, pass by pass, ``--repeat`` times, so that the load of a
shared machine changing during the run hits both alike.  Reported: best
seconds per pass (wall clock, and CPU time of the serving process, which a
busy machine does not inflate), the ratios (target: within 3x of Dovecot),
and the octets of a body pass from each (they must be the same size).

Dovecot is started with the throwaway config of ``tests/interop/dovecot.py``.

With ``--envelope`` a third pass fetches ``(UID FLAGS ENVELOPE)``, what many
clients ask to list a folder.

Usage::

    python benchmarks/bench_server_imap.py [--messages 10000] [--repeat 3] [--envelope]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))

from _mailserver import config_text, start  # noqa: E402 (after the path set-up)

USER, PASSWORD = "bench@bench.example", "bench-password"


def make_messages(count: int, seed: int = 9) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        size = rng.choice([1000, 2000, 3000, 5000, 8000, 15000, 40000])
        line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do.\r\n"
        body = line * (size // len(line) + 1)
        head = (
            f"From: Sender {n} <s{n}@example.org>\r\nTo: bench@bench.example\r\n"
            f"Subject: message {n}\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{n}.bench@example.org>\r\n"
        ).encode()
        if n % 10 == 0:
            msg = (
                head + b"MIME-Version: 1.0\r\n"
                b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
                b"--b1\r\nContent-Type: text/plain\r\n\r\n" + body + b"\r\n--b1\r\n"
                b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64"
                b"\r\n\r\nAAAA\r\n--b1--\r\n"
            )
        else:
            msg = head + b"\r\n" + body
        out.append(msg)
    return out


class Client:
    """A minimal IMAP client: send a command, read until its tagged line."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.n = 0
        self._read_until(b"\r\n")

    def _read_until(self, marker: bytes) -> int:
        total = 0
        tail = b"\r\n"  # so that a tagged line first in the stream matches too
        while True:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            total += len(chunk)
            tail = (tail + chunk)[-4096:]
            if marker in tail:
                return total

    def command(self, text: str) -> int:
        self.n += 1
        tag = f"t{self.n}"
        self.sock.sendall(f"{tag} {text}\r\n".encode())
        return self._read_until(f"\r\n{tag} OK".encode())


PASSES = (
    ("headers", "UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER])"),
    ("bodies", "UID FETCH 1:* (BODY.PEEK[])"),
)
#: With ``--envelope``: what many clients fetch to list a folder.
ENVELOPE_PASS = ("envelope", "UID FETCH 1:* (UID FLAGS ENVELOPE)")


def open_client(port: int, passes: tuple[tuple[str, str], ...]) -> Client:
    """Log in, select INBOX and run each pass once untimed (warm-up)."""
    c = Client(port)
    c.command(f'LOGIN "{USER}" "{PASSWORD}"')
    c.command("SELECT INBOX")
    for _, command in passes:
        c.command(command)
    return c


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process *pid* (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dovecot_imap_pid(master: int) -> int:
    """The ``imap`` process (the one serving our session) under Dovecot's *master*."""
    parent: dict[int, int] = {}
    comm: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                head, _, rest = f.read().rpartition(")")
        except OSError:
            continue
        pid = int(entry)
        comm[pid] = head.split("(", 1)[1]
        parent[pid] = int(rest.split()[1])
    for pid, name in comm.items():
        if name != "imap":
            continue
        ancestor = parent.get(pid, 0)
        while ancestor > 1 and ancestor != master:
            ancestor = parent.get(ancestor, 0)
        if ancestor == master:
            return pid
    raise RuntimeError("no Dovecot imap process found")


def timed_passes(
    clients: dict[str, tuple[Client, int]], repeat: int, passes: tuple[tuple[str, str], ...]
) -> dict[tuple[str, str], tuple[float, float]]:
    """Best (wall, server CPU) seconds of each (server, pass).

    The servers take turns pass by pass, so that a change of load on the
    machine hits both alike.  CPU time of the serving process (the
    reference server's process, Dovecot's ``imap`` process for the session)
    does not depend on how busy the machine is: on a loaded machine its
    ratio is the steadier one.
    """
    best: dict[tuple[str, str], tuple[float, float]] = {}
    for _ in range(repeat):
        for name, command in passes:
            for server, (c, pid) in clients.items():
                cpu = cpu_seconds(pid)
                t = time.perf_counter()
                c.command(command)
                elapsed = time.perf_counter() - t
                used = cpu_seconds(pid) - cpu
                key = (server, name)
                old = best.get(key, (elapsed, used))
                best[key] = (min(old[0], elapsed), min(old[1], used))
    return best


def start_mailserver(tmp: Path, messages: list[bytes]) -> tuple[subprocess.Popen[bytes], int]:
    from mailserver.cli import free_port
    from mailserver.maildir import Store

    port = free_port()
    data = tmp / "ms"
    folder = Store(data / "bench" / "mail").mailbox(USER).folder("INBOX")
    for i, raw in enumerate(messages):
        (folder.path / "new" / f"1795000000.M{i}P1Q{i}.bench,S={len(raw)}").write_bytes(raw)
    folder.rescan(notify=False)
    config = tmp / "bench.toml"
    config.write_text(config_text({"imap": port}))
    return start(config, data, port), port


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--envelope", action="store_true", help="add a pass fetching ENVELOPE")
    args = p.parse_args()
    passes = (*PASSES, ENVELOPE_PASS) if args.envelope else PASSES
    messages = make_messages(args.messages)
    total = sum(len(m) for m in messages)
    print(f"{args.messages} messages, {total / 1e6:.1f} MB; best of {args.repeat}, seconds")
    from tests.interop.dovecot import start_dovecot

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        proc, port = start_mailserver(tmp, messages)
        dovecot = start_dovecot(tmp / "dovecot", users={USER: PASSWORD})
        try:
            for raw in messages:
                dovecot.deliver(USER, raw)
            ms_client = open_client(port, passes)
            dv_client = open_client(dovecot.imap_port, passes)
            clients = {
                "mailserver": (ms_client, proc.pid),
                "dovecot": (dv_client, dovecot_imap_pid(dovecot._process.pid)),
            }
            octets = {name: c.command(PASSES[1][1]) for name, (c, _) in clients.items()}
            best = timed_passes(clients, args.repeat, passes)
            for c, _ in clients.values():
                c.sock.close()
        finally:
            dovecot.stop()
            proc.terminate()
            proc.wait(30)
    print(f"{'pass':<10} {'mailserver':>11} {'dovecot':>9} {'ratio':>7}   (wall / server CPU)")
    for name, _ in passes:
        (ms, ms_cpu), (dv, dv_cpu) = best[("mailserver", name)], best[("dovecot", name)]
        print(f"{name:<10} {ms:>11.3f} {dv:>9.3f} {ms / dv:>6.2f}x   wall")
        ratio = f"{ms_cpu / dv_cpu:>6.2f}x" if dv_cpu else "   inf"
        print(f"{'':<10} {ms_cpu:>11.2f} {dv_cpu:>9.2f} {ratio}   CPU")
    ms_octets, dv_octets = octets["mailserver"], octets["dovecot"]
    print(f"octets of the body pass: mailserver {ms_octets}, dovecot {dv_octets}")


if __name__ == "__main__":
    main()
