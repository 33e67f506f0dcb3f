"""A finished SMTP connection is freed at once, by reference counting.

The connection (:class:`~mailserver.rawpump.RawSession`) owns its session
(:class:`~mailserver.smtp_service.SMTPSession`); a reference back from the
session made every finished connection a cycle that only the cyclic garbage
collector freed, several times a second under load (see
``docs/performance/server.rst``, session 12).  With the collector off, no
session of a finished connection may be left.
"""

from __future__ import annotations

import gc
import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailserver.rawpump import RawSession
from mailserver.smtp_service import SMTPSession
from tests.examples.test_e2e_support import ServerThread, free_ports

CONFIG = """\
hostname = "mx.a.example"
domains = ["a.example"]
data_dir = "a"
[ports]
smtp = {port}
[[accounts]]
address = "ann@a.example"
password = "ann-password"
"""


def _alive() -> list[object]:
    """The connection and session objects alive now."""
    return [o for o in gc.get_objects() if type(o) in (SMTPSession, RawSession)]


def _made_since(before: list[object]) -> list[object]:
    """Those alive now that were not in *before* (which holds its objects,
    so that no new object can reuse the id of one of them)."""
    old = {id(o) for o in before}
    return [o for o in _alive() if id(o) not in old]


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_finished_connections_leave_no_cycle(tmp_path: Path, collector_off: None) -> None:
    (port,) = free_ports(1)
    with ServerThread(CONFIG.format(port=port), tmp_path) as running:
        smtp_port = running.port("mx.a.example", "smtp")
        # (Objects of other tests may be freed meanwhile: only new ones count.)
        before = _alive()
        for i in range(5):
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
                message = f"Subject: {i}\r\n\r\nhi\r\n"
                client.sendmail("x@remote.example", ["ann@a.example"], message)
        # The server closes its end after the 221; give its loop a moment.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _made_since(before):
            time.sleep(0.05)
        assert not _made_since(before)
        assert len(running.messages("mx.a.example", "ann@a.example")) == 5
