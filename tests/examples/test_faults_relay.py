"""Disk faults in the relay: the queue entry's update, and the bounce's delivery.

The demo pair (A relays to B) with :func:`tests.examples.fault_support.inject`
failing a step of the relay's own bookkeeping.  What must hold (RFC 5321
§6.1: a message accepted is neither lost nor, when it can be avoided, sent
twice): a delivery whose new state cannot be written is written once the
disk is back, so a restart does not send it again; a bounce (DSN, RFC 3464)
that can be neither delivered nor queued is not dropped but sent by a later
attempt, exactly once; so is a success notice (``NOTIFY=SUCCESS``, RFC 3461),
which is held in the queue's memory until the disk takes it, and whose fate
never touches the ``250`` of the message it reports on.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.examples.fault_support import inject
from tests.examples.test_e2e_support import (
    ANA,
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


def submit(
    server: ServerThread,
    rcpt: str,
    subject: str,
    rcpt_options: tuple[str, ...] = (),
    mail_options: tuple[str, ...] = (),
) -> None:
    """Pepe submits one message to *rcpt* (relayed by A when remote); 250 for it."""
    msg = f"From: {PEPE}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nbody\r\n"
    with smtplib.SMTP("127.0.0.1", server.port(A, "submission"), timeout=20) as client:
        client.login(PEPE, PASSWORDS[PEPE])
        refused = client.sendmail(
            PEPE, [rcpt], msg, mail_options=list(mail_options), rcpt_options=list(rcpt_options)
        )
        assert refused == {}


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


def held(server: ServerThread, host: str = A) -> int:
    """How many of *host*'s queue entries exist in memory only (Queue.hold)."""
    assert server.server is not None and server._loop is not None
    q = server.server.sites[host].mda.queue
    assert q is not None

    async def read() -> int:
        return sum(q.held(e) for e in q.entries())

    return asyncio.run_coroutine_threadsafe(read(), server._loop).result(30)


def success_notices(server: ServerThread, marker: bytes) -> list[bytes]:
    """Pepe's "delivered" DSNs about the message whose header holds *marker*."""
    return [
        m
        for m in server.messages(A, PEPE)
        if marker in m and b"multipart/report" in m and b"Action: delivered" in m
    ]


def test_success_dsn_that_cannot_be_stored_is_sent_later_once(server: ServerThread) -> None:
    # Pepe asks NOTIFY=SUCCESS for a message to Ana: delivered, 250.  The
    # "delivered" notice to Pepe finds his mailbox and the queue full (the
    # queue files of a notice end in "S").  Before the fix it was dropped
    # with nothing but a log line; now it is held in memory and delivered
    # by a later attempt, once.
    subject = "success-held"
    marker = f"Subject: {subject}\r\n".encode()
    count(server, A, PEPE, marker)  # opens Pepe's mailbox before the fault
    with (
        inject("fsync", root(server) / "mail" / PEPE, times=None) as f1,
        inject(
            "writev", root(server) / "queue", times=None, match=lambda p: p.endswith(("S.msg",))
        ) as f2,
    ):
        # (The requests travel from the SMTP intake to the notice: before,
        # the intake dropped them all, and no notice was ever made.)
        submit(server, ANA, subject, ("NOTIFY=SUCCESS",), ("ENVID=held-1",))
        assert count(server, A, ANA, marker) == 1  # the message itself: delivered
        assert wait_for(lambda: f1.fired >= 1 and f2.fired >= 1)
        assert wait_for(lambda: held(server) == 1)
        assert success_notices(server, marker) == []
    assert wait_for(lambda: len(success_notices(server, marker)) == 1)
    assert wait_for(lambda: queue_empty(server))
    time.sleep(0.5)
    (notice,) = success_notices(server, marker)
    assert b"Final-Recipient: rfc822; " + ANA.encode() in notice
    assert b"Original-Envelope-Id: held-1" in notice
    assert count(server, A, ANA, marker) == 1


def test_success_notice_of_a_queued_delivery_is_sent_later_once(server: ServerThread) -> None:
    # Ana's mailbox is full when the message arrives: it is queued (250)
    # with its NOTIFY=SUCCESS, and the relay delivers it once her mailbox
    # is back — while Pepe's mailbox and the queue cannot take the notice
    # (the relay's notice files: "<id>N<attempt>.msg", then its own
    # "<id>N<attempt>S.msg").  A failure notice comes back from the
    # entry's state; a success notice cannot (the message went), and
    # before the fix it was dropped.
    subject = "success-queued"
    marker = f"Subject: {subject}\r\n".encode()
    count(server, A, PEPE, marker)
    count(server, A, ANA, marker)
    notice_file = re.compile(r"N[0-9]+S?\.msg$")
    with (
        inject("fsync", root(server) / "mail" / PEPE, times=None) as f1,
        inject(
            "writev",
            root(server) / "queue",
            times=None,
            match=lambda p: notice_file.search(p) is not None,
        ) as f2,
    ):
        with inject("fsync", root(server) / "mail" / ANA, times=None) as f3:
            submit(server, ANA, subject, ("NOTIFY=SUCCESS",))
            assert f3.fired >= 1
            assert count(server, A, ANA, marker) == 0
        assert wait_for(lambda: count(server, A, ANA, marker) == 1)
        assert wait_for(lambda: held(server) == 1)
        assert f1.fired >= 1 and f2.fired >= 2
        assert success_notices(server, marker) == []
    assert wait_for(lambda: len(success_notices(server, marker)) == 1)
    assert wait_for(lambda: queue_empty(server))
    time.sleep(0.5)
    assert len(success_notices(server, marker)) == 1
    assert count(server, A, ANA, marker) == 1


def test_held_entry_is_written_once_the_disk_takes_it(tmp_path: Path) -> None:
    from mailserver.queue import SENT, Queue

    q = Queue(tmp_path / "queue")
    entry = q.hold("", ["s@a.example"], b"Subject: notice\r\n\r\nx\r\n", queue_id="Q1S")
    assert q.held(entry) and q.unsaved(entry) and entry in q.due()
    assert q.read(entry.id) == b"Subject: notice\r\n\r\nx\r\n"
    assert list((tmp_path / "queue").glob("Q1S.*")) == []
    # A save on a disk that still refuses: held, nothing left behind.
    with inject("writev", tmp_path / "queue") as fault, pytest.raises(OSError):
        q.save(entry)
    assert fault.fired == 1
    assert q.held(entry) and q.unsaved(entry)
    assert list((tmp_path / "queue").rglob("Q1S*")) == []
    # Then written whole: an ordinary, durable entry.
    entry.attempts = 1
    q.save(entry)
    assert not q.held(entry) and not q.unsaved(entry)
    (again,) = Queue(tmp_path / "queue").entries()
    assert (again.id, again.attempts) == ("Q1S", 1)
    assert Queue(tmp_path / "queue").read("Q1S") == b"Subject: notice\r\n\r\nx\r\n"
    # A held entry delivered before it was ever written is just forgotten.
    other = q.hold("", ["t@a.example"], b"x\r\n", queue_id="Q2S")
    other.recipients[0].status = SENT
    with inject(("unlink", "fsync"), tmp_path / "queue", times=None) as fault:
        q.save(other)
    assert fault.fired == 0
    assert q.get("Q2S") is None and len(q) == 1


@pytest.mark.parametrize("disk_back", [True, False])
def test_a_held_notice_gets_one_more_write_when_the_relay_stops(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, disk_back: bool
) -> None:
    # A notice the disk refused waits in memory (Queue.hold) for the next
    # attempt.  If the server stops first, the relay tries the disk once
    # more: written, the next start sends it; still refused, it is logged
    # lost.  (It was logged lost without another try.)
    from mailserver.queue import Queue
    from tests.examples.relay_support import Clock, make_relay

    clock = Clock()
    relay, queue, _ = make_relay(tmp_path, 9, clock)
    notice = b"Subject: notice\r\n\r\nx\r\n"
    # Not due before the stop: no attempt writes it first.
    queue.hold("", ["s@a.example"], notice, queue_id="Q1S", now=clock.now + 3600)

    async def run_and_stop() -> None:
        task = asyncio.create_task(relay.run())
        await asyncio.sleep(0.05)
        relay.stop(grace=1)
        await asyncio.wait_for(task, 10)

    refusing: contextlib.AbstractContextManager[object] = (
        contextlib.nullcontext() if disk_back else inject("writev", tmp_path / "queue", times=None)
    )
    with refusing:
        asyncio.run(run_and_stop())
    lost = [r for r in caplog.records if "never written, lost" in r.getMessage()]
    again = Queue(tmp_path / "queue")
    if disk_back:
        assert lost == []
        (entry,) = again.entries()
        assert entry.id == "Q1S" and again.read("Q1S") == notice
    else:
        assert len(lost) == 1 and "Q1S" in lost[0].getMessage()
        assert again.entries() == []


def test_a_failing_success_notice_never_fails_the_delivery(tmp_path: Path) -> None:
    # The message is durable when the hook runs: whatever the hook does,
    # the recipients' results stay ok (the SMTP intake's 250).
    from mailproto import smtp
    from mailserver.directory import Directory, make_account
    from mailserver.maildir import Store
    from mailserver.mda import MDA, DsnRequest

    directory = Directory(domains=["a.example"], accounts=[make_account("ann@a.example", "pw")])
    store = Store(tmp_path / "mail")
    mda = MDA(store, directory, use_executor=False)
    calls: list[str] = []

    async def broken(*args: object) -> None:
        calls.append(str(args[4]))
        raise RuntimeError("notice hook broke")

    mda.on_success_dsn = broken
    dsn = DsnRequest(notify={"ann@a.example": frozenset({smtp.NotifyCondition.SUCCESS})})
    results = asyncio.run(
        mda.deliver("ann@a.example", ["ann@a.example"], b"Subject: x\r\n\r\nx\r\n", dsn=dsn)
    )
    assert calls and [r.ok for r in results] == [True]
    assert len(store.mailbox("ann@a.example").folder("INBOX").uids()) == 1
