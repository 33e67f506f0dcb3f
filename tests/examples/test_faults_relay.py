"""Disk faults in the relay: the queue entry's update, and the bounce's delivery.

The demo pair (A relays to B) with :func:`tests.examples.fault_support.inject`
failing a step of the relay's own bookkeeping.  What must hold (RFC 5321
§6.1: a message accepted is neither lost nor, when it can be avoided, sent
twice): a delivery whose new state cannot be written is written once the
disk is back, so a restart does not send it again; a bounce (DSN, RFC 3464)
that can be neither delivered nor queued is not dropped but sent by a later
attempt, exactly once.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.examples.fault_support import inject
from tests.examples.test_e2e_support import (
    MANOLO,
    PASSWORDS,
    PEPE,
    A,
    B,
    ServerThread,
    demo_config,
    wait_for,
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    """The demo servers, retrying queued mail after 0.2 s (one pair per test:
    the tests restart it)."""
    text, _ = demo_config(retry_base=0.2)
    with ServerThread(text, tmp_path) as s:
        yield s


def root(server: ServerThread, host: str = A) -> Path:
    return server.data_dir / host.split(".", 1)[1]


def submit(server: ServerThread, rcpt: str, subject: str) -> None:
    """Pepe submits one message to *rcpt* (relayed by A)."""
    msg = f"From: {PEPE}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nbody\r\n"
    with smtplib.SMTP("127.0.0.1", server.port(A, "submission"), timeout=20) as client:
        client.login(PEPE, PASSWORDS[PEPE])
        client.sendmail(PEPE, [rcpt], msg)


def count(server: ServerThread, host: str, account: str, marker: bytes) -> int:
    return sum(marker in m for m in server.messages(host, account))


def queue_empty(server: ServerThread, host: str = A) -> bool:
    assert server.server is not None
    q = server.server.sites[host].mda.queue
    assert q is not None
    return len(q) == 0 and not list(q.path.glob("*.env"))


# How the finished entry is removed: its .env unlinked, then the directory
# synced (the enqueue before it syncs two files and the directory: skipped).
REMOVE_STEPS = [("unlink", 0), ("fsync", 3)]


@pytest.mark.parametrize(("call", "skip"), REMOVE_STEPS)
def test_failed_state_write_is_retried_and_not_resent_after_restart(
    server: ServerThread, call: str, skip: int
) -> None:
    # The relay hands the message to B, then cannot record it (the entry,
    # with nothing left pending, is removed).  Before the fix the entry was
    # never looked at again: its .env still said "pending", and a restart
    # sent the message to B a second time.
    subject = f"relay-save-{call}"
    marker = f"Subject: {subject}\r\n".encode()
    with inject(call, root(server) / "queue", times=None, skip=skip) as fault:
        submit(server, MANOLO, subject)
        assert wait_for(lambda: count(server, B, MANOLO, marker) == 1)
        assert wait_for(lambda: fault.fired >= 1)
    assert wait_for(lambda: queue_empty(server))
    server.stop()
    again = ServerThread(server.config_text, server.data_dir)
    with again:
        time.sleep(1.0)  # a stale entry would be sent at start-up
        assert queue_empty(again)
        assert count(again, B, MANOLO, marker) == 1


def test_bounce_that_cannot_be_stored_is_sent_later_once(server: ServerThread) -> None:
    # No route for nowhere.example: 5.4.4, a bounce to Pepe.  Pepe's mailbox
    # and the queue (for the bounce) are full: the bounce can be neither
    # delivered nor queued.  Before the fix it was logged and dropped.
    marker = b"nowhere-bounce"
    count(server, A, PEPE, marker)  # opens Pepe's mailbox before the fault
    with (
        inject("fsync", root(server) / "mail" / PEPE, times=None) as f1,
        inject("writev", root(server) / "queue", times=None, match="N1.") as f2,
    ):
        submit(server, "x@nowhere.example", "nowhere-bounce")
        assert wait_for(lambda: f1.fired >= 1 and f2.fired >= 1)
        assert count(server, A, PEPE, marker) == 0
    assert wait_for(lambda: count(server, A, PEPE, marker) == 1)
    assert wait_for(lambda: queue_empty(server))
    time.sleep(0.5)
    assert count(server, A, PEPE, marker) == 1
    (dsn,) = [m for m in server.messages(A, PEPE) if marker in m]
    assert b"multipart/report" in dsn and b"5.4.4" in dsn


def test_failed_env_rewrite_stays_due_until_written(tmp_path: Path) -> None:
    # A partial outcome (one recipient sent, one still pending) whose .env
    # rewrite (atomic_write: os.replace) fails: the entry stays due as
    # "unsaved", and once written the file says what memory says.
    from mailserver.queue import PENDING, SENT, Queue

    q = Queue(tmp_path / "queue")
    entry = q.enqueue("s@a.example", ["r1@b.example", "r2@b.example"], b"Subject: x\r\n\r\nx\r\n")
    entry.recipients[0].status = SENT
    with inject("replace", tmp_path / "queue") as fault, pytest.raises(OSError):
        q.save(entry)
    assert fault.fired == 1
    assert q.unsaved(entry)
    # The old .env is intact (never half written), no temporary file stays.
    (on_disk,) = Queue(tmp_path / "queue").entries()
    assert [r.status for r in on_disk.recipients] == [PENDING, PENDING]
    assert list((tmp_path / "queue" / "tmp").iterdir()) == []
    assert not [p for p in (tmp_path / "queue").glob(".*.tmp")]
    # Everything done, and the removal fails: still due although nothing is
    # pending (before the fix it was never due again).
    entry.recipients[1].status = SENT
    entry.next_attempt = 0.0
    with inject("unlink", tmp_path / "queue") as fault, pytest.raises(OSError):
        q.save(entry)
    assert fault.fired == 1
    assert entry in q.due()
    q.save(entry)
    assert not q.unsaved(entry)
    assert q.due() == [] and len(q) == 0
    assert Queue(tmp_path / "queue").entries() == []
