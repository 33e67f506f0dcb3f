"""Many simultaneous idle IMAP connections: memory per connection of the reference server.

The server runs as a subprocess; ``--connections`` clients (default 1,000)
connect, log in, SELECT INBOX and enter IDLE, and stay there.  Reported: the
server's resident memory (``VmRSS`` from ``/proc/<pid>/status``) before and
after, the difference per connection, and whether a delivery still reaches
an idling client promptly (the last connection is checked for its
``EXISTS``) with all of them open.

Usage::

    python benchmarks/bench_server_idle.py [--connections 1000]
"""

from __future__ import annotations

import argparse
import resource
import smtplib
import socket
import sys
import tempfile
import time
from pathlib import Path

from _mailserver import ROOT, config_text, read_until, start, status_kib

sys.path.insert(0, str(ROOT / "examples"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--connections", type=int, default=1000)
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.connections)), hard))
    from mailserver.cli import free_port

    smtp_port, imap_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        config = tmp / "bench.toml"
        config.write_text(config_text({"smtp": smtp_port, "imap": imap_port}))
        proc = start(config, tmp / "data", imap_port)
        socks: list[socket.socket] = []
        try:
            # One full session first, so imports and caches are in the baseline.
            warm = socket.create_connection(("127.0.0.1", imap_port))
            read_until(warm, b"\r\n")
            warm.sendall(b'a LOGIN "bench@bench.example" "bench-password"\r\nb SELECT INBOX\r\n')
            read_until(warm, b"b OK")
            warm.close()
            time.sleep(0.5)
            before = status_kib(proc.pid)
            t = time.perf_counter()
            for _ in range(args.connections):
                s = socket.create_connection(("127.0.0.1", imap_port))
                read_until(s, b"\r\n")
                s.sendall(
                    b'a LOGIN "bench@bench.example" "bench-password"\r\n'
                    b"b SELECT INBOX\r\nc IDLE\r\n"
                )
                read_until(s, b"+ ")
                socks.append(s)
            setup = time.perf_counter() - t
            time.sleep(1.0)
            after = status_kib(proc.pid)
            with smtplib.SMTP("127.0.0.1", smtp_port) as c:
                t = time.perf_counter()
                c.sendmail("x@example.org", ["bench@bench.example"], b"Subject: wake\r\n\r\nhi\r\n")
            socks[-1].settimeout(30)
            read_until(socks[-1], b"EXISTS")
            wake = time.perf_counter() - t
            print(f"{args.connections} connections logged in, SELECTed and IDLE in {setup:.1f} s")
            print(f"server RSS before {before / 1024:.1f} MiB, after {after / 1024:.1f} MiB")
            print(f"per connection: {(after - before) / args.connections:.1f} KiB")
            print(f"delivery to EXISTS on the last idling connection: {wake * 1000:.0f} ms")
        finally:
            for s in socks:
                s.close()
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
