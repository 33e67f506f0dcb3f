"""What the reference-server benchmarks share: starting the server, reading /proc.

``bench_server_idle.py`` and ``bench_server_append_memory.py`` run the
reference server as a subprocess on a throwaway config and look at its
memory from ``/proc/<pid>/status``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The one account of every benchmark config.
ACCOUNT = "bench@bench.example"


def config_text(ports: Mapping[str, int], **tables: Mapping[str, int | str]) -> str:
    """A one-server config for a benchmark: domain ``bench.example``, :data:`ACCOUNT`.

    *ports* are the listeners to open (``{"smtp": 2525}``); each keyword is
    a further table (``limits={"max_message_size": ...}``,
    ``store={"sync": "filesystem"}``).  Plaintext AUTH is allowed on loopback.
    """

    def table(name: str, values: Mapping[str, int | str]) -> str:
        # A JSON string is a TOML basic string (the values here are ASCII).
        return f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())

    return (
        'hostname = "mx.bench.example"\n'
        'domains = ["bench.example"]\n'
        'data_dir = "bench"\n'
        'allow_plaintext_auth = "loopback"\n'
        + table("ports", ports)
        + "".join(table(name, values) for name, values in tables.items())
        + f'[[accounts]]\naddress = "{ACCOUNT}"\npassword = "bench-password"\n'
    )


def start(
    config: Path, data_dir: Path, port: int, timeout: float = 30.0
) -> subprocess.Popen[bytes]:
    """Start ``examples/run_mailserver.py`` on *config*; return once *port* accepts."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "examples" / "run_mailserver.py"),
            "--config",
            str(config),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.1)


def cpu_times() -> list[int]:
    """The machine's CPU time counters (``/proc/stat``'s ``cpu`` line, in ticks)."""
    with open("/proc/stat") as f:
        return [int(v) for v in f.readline().split()[1:]]


def status_kib(pid: int, field: str = "VmRSS") -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM`` ...)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    """Read from *sock* until *marker* has arrived."""
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data
