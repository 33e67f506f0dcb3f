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
seconds per pass, and the ratio (target: within 3x of Dovecot), and the
octets of a body pass from each (they must be the same size).

Dovecot is started with the throwaway config of ``tests/interop/dovecot.py``.

Usage::

    python benchmarks/bench_server_imap.py [--messages 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
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

CONFIG = """\
hostname = "mx.bench.example"
domains = ["bench.example"]
data_dir = "bench"
allow_plaintext_auth = "loopback"
[ports]
imap = {port}
[[accounts]]
address = "bench@bench.example"
password = "bench-password"
"""
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


def open_client(port: int) -> Client:
    """Log in, select INBOX and run each pass once untimed (warm-up)."""
    c = Client(port)
    c.command(f'LOGIN "{USER}" "{PASSWORD}"')
    c.command("SELECT INBOX")
    for _, command in PASSES:
        c.command(command)
    return c


def timed_passes(clients: dict[str, Client], repeat: int) -> dict[tuple[str, str], float]:
    """Best time of each (server, pass); the servers take turns pass by pass, so
    that a change of load on the machine hits both alike."""
    best: dict[tuple[str, str], float] = {}
    for _ in range(repeat):
        for name, command in PASSES:
            for server, c in clients.items():
                t = time.perf_counter()
                c.command(command)
                elapsed = time.perf_counter() - t
                key = (server, name)
                best[key] = min(best.get(key, elapsed), elapsed)
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
    config.write_text(CONFIG.format(port=port))
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "examples" / "run_mailserver.py"),
            "--config",
            str(config),
            "--data-dir",
            str(data),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if time.monotonic() > deadline:
                proc.terminate()
                raise
            time.sleep(0.1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
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
            clients = {"mailserver": open_client(port), "dovecot": open_client(dovecot.imap_port)}
            octets = {name: c.command(PASSES[1][1]) for name, c in clients.items()}
            best = timed_passes(clients, args.repeat)
            for c in clients.values():
                c.sock.close()
        finally:
            dovecot.stop()
            proc.terminate()
            proc.wait(30)
    print(f"{'pass':<10} {'mailserver':>11} {'dovecot':>9} {'ratio':>7}")
    for name, _ in PASSES:
        ms, dv = best[("mailserver", name)], best[("dovecot", name)]
        print(f"{name:<10} {ms:>11.3f} {dv:>9.3f} {ms / dv:>6.2f}x")
    ms_octets, dv_octets = octets["mailserver"], octets["dovecot"]
    print(f"octets of the body pass: mailserver {ms_octets}, dovecot {dv_octets}")


if __name__ == "__main__":
    main()
