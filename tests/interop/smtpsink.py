"""Postfix's smtp-sink on loopback, for tests: start it, read what it dumped.

smtp-sink (Debian package postfix) accepts any mail and, with ``-d``, writes
each message it received to a file: a real peer for our SMTP and LMTP client.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import require_program

SINK = "/usr/sbin/smtp-sink"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_sink(tmp_path: Path, *options: str) -> Iterator[tuple[int, Path]]:
    """Run smtp-sink on a free loopback port; yield (port, dump directory)."""
    program = require_program(SINK, "apt-get install postfix")
    # smtp-sink drops privileges to nobody when run as root: pytest's tmp_path
    # (mode 0700) is out of its reach, so use a world-writable directory.
    dump = Path(tempfile.mkdtemp(prefix="mailproto-smtpsink-"))
    dump.chmod(0o777)
    port = free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen(
        [program, *user, *options, "-d", f"{dump}/%M.", f"127.0.0.1:{port}", "10"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("smtp-sink did not start") from None
                time.sleep(0.05)
        yield port, dump
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(dump, ignore_errors=True)


def dumps(dump: Path, count: int) -> list[bytes]:
    """The dumped messages, once ``count`` have arrived (or after 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        files = sorted(dump.iterdir())
        if len(files) >= count or time.monotonic() > deadline:
            return [f.read_bytes() for f in files]
        time.sleep(0.05)


#: ``with running_sink(tmp_path, *options) as (port, dump): ...``
running_sink = contextlib.contextmanager(start_sink)
