"""Local delivery: one copy per account, idempotent retries, durable results."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from mailproto import imf, mime
from mailserver.directory import Directory, Resolution, make_account
from mailserver.maildir import Store
from mailserver.mda import MDA, new_queue_id, received_header
from mailserver.queue import Queue

MSG = b"From: s@remote.example\r\nSubject: hello\r\n\r\nbody\r\n"


def _setup(tmp_path: Path, *, queue: bool = True) -> tuple[MDA, Store, Queue | None]:
    directory = Directory(
        domains=["a.example"],
        accounts=[make_account("ann@a.example", "x"), make_account("bob@a.example", "y")],
        aliases={"anna@a.example": "ann@a.example"},
        lists={
            "team@a.example": [
                "ann@a.example",
                "anna@a.example",
                "bob@a.example",
                "team@a.example",
                "far@remote.example",
            ],
        },
    )
    store = Store(tmp_path / "mail")
    q = Queue(tmp_path / "queue") if queue else None
    return MDA(store, directory, queue=q), store, q


def _inbox(store: Store, account: str) -> list[bytes]:
    folder = store.mailbox(account).folder("INBOX")
    return [folder.read(uid) for uid in folder.uids()]


def test_one_copy_per_account_through_aliases_and_lists(tmp_path: Path) -> None:
    mda, store, q = _setup(tmp_path)
    results = asyncio.run(
        mda.deliver(
            "s@remote.example",
            ["ann@a.example", "anna@a.example", "team@a.example", "ghost@a.example"],
            MSG,
        )
    )
    assert [r.ok for r in results] == [True, True, True, False]
    assert results[3].code == 550
    assert results[3].enhanced == "5.1.1"
    assert results[2].accounts == ("ann@a.example", "bob@a.example")
    assert results[2].queued == ("far@remote.example",)
    stored = b"Return-Path: <s@remote.example>\r\n" + MSG
    assert _inbox(store, "ann@a.example") == [stored]
    assert _inbox(store, "bob@a.example") == [stored]
    assert q is not None
    (entry,) = q.entries()
    assert entry.sender == "s@remote.example"
    assert [r.address for r in entry.recipients] == ["far@remote.example"]
    assert q.read(entry.id) == MSG  # no Return-Path on relayed mail


def test_retry_with_same_delivery_id_is_idempotent(tmp_path: Path) -> None:
    mda, store, _ = _setup(tmp_path)
    qid = new_queue_id()
    for _ in range(3):
        asyncio.run(mda.deliver("s@remote.example", ["ann@a.example"], MSG, delivery_id=qid))
    assert len(_inbox(store, "ann@a.example")) == 1
    # Across a restart (a fresh Store reading the disk) too.
    mda2 = MDA(Store(tmp_path / "mail"), mda.directory, queue=None)
    asyncio.run(mda2.deliver("s@remote.example", ["ann@a.example"], MSG, delivery_id=qid))
    assert len(_inbox(Store(tmp_path / "mail"), "ann@a.example")) == 1
    # A different id is a different message.
    asyncio.run(mda.deliver("s@remote.example", ["ann@a.example"], MSG))
    assert len(_inbox(store, "ann@a.example")) == 2


def test_remote_without_queue_refused(tmp_path: Path) -> None:
    mda, _, _ = _setup(tmp_path, queue=False)
    (res,) = asyncio.run(mda.deliver("", ["far@remote.example"], MSG))
    assert not res.ok
    assert res.permanent
    assert res.code == 550


def test_disk_failure_is_temporary_and_not_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mda, store, _ = _setup(tmp_path, queue=False)
    mda.use_executor = False
    box = store.mailbox("ann@a.example")  # created before the failure starts

    def full(*args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    monkeypatch.setattr(os, "writev", full)
    (res,) = asyncio.run(mda.deliver("s@remote.example", ["ann@a.example"], MSG))
    monkeypatch.undo()
    assert not res.ok
    assert not res.permanent
    assert (res.code, res.enhanced) == (452, "4.3.1")  # RFC 3463 X.3.1: mail system full
    assert "No space" in res.text
    assert os.listdir(box.path / "tmp") == []
    assert os.listdir(box.path / "new") == []


def test_delivery_wakes_watchers(tmp_path: Path) -> None:
    mda, store, _ = _setup(tmp_path)
    box = store.mailbox("bob@a.example")
    added: list[tuple[int, ...]] = []
    box.watch(lambda change: added.append(change.added))
    asyncio.run(mda.deliver("", ["bob@a.example"], MSG))
    assert added == [(1,)]


def test_received_header_is_valid_rfc5322() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    raw = received_header(
        by="mx.a.example",
        protocol="ESMTPSA",
        queue_id="Q123",
        helo="client.example",
        peer_ip="192.0.2.1",
        recipient="ann@a.example",
        tls="TLSv1.3",
        when=when,
    )
    assert raw.endswith(b"\r\n")
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
    msg = mime.parse(raw + MSG)
    value = msg.headers.get("Received")
    assert value is not None
    parsed = imf.parse_received(value)
    assert parsed.from_ == "client.example"
    assert parsed.by == "mx.a.example"
    assert parsed.with_ == "ESMTPSA"
    assert parsed.id == "Q123"
    assert parsed.for_ == "<ann@a.example>"
    assert parsed.date == when
    assert msg.headers.get("Subject") == "hello"


def test_received_header_from_its_cached_start_is_the_whole_field() -> None:
    # The start of the field (from ... by ... with) is kept per client;
    # the id, the recipient and the date still change with every message,
    # and client text is sanitised whichever way the start was made.
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    fields = [
        received_header(
            by="mx.a.example",
            protocol="ESMTP",
            queue_id=qid,
            helo="evil)(\r\nX-Injected: yes",
            peer_ip="192.0.2.1",
            recipient=rcpt,
            when=when,
        )
        for qid, rcpt in (("Q1", "ann@a.example"), ("Q2", None), ("Q3", "bob@a.example"))
    ]
    first = fields[0].decode("ascii")
    assert first.startswith("Received: from evil????X-Injected:?yes ([192.0.2.1])\r\n")
    assert first.count("\r\n") == 3
    assert b" id Q1\r\n\tfor <ann@a.example>; " in fields[0]
    assert b" id Q2; " in fields[1] and b"for <" not in fields[1]
    assert b" id Q3\r\n\tfor <bob@a.example>; " in fields[2]
    for raw in fields:
        parsed = imf.parse_received(raw.decode("ascii").split(":", 1)[1])
        assert parsed.by == "mx.a.example" and parsed.date == when


def test_received_header_default_date_is_now() -> None:
    # The stamp is formatted once per second and reused: it must still be
    # the current time, in UTC, for consecutive messages.
    for _ in range(3):
        before = datetime.now(timezone.utc).replace(microsecond=0)
        raw = received_header(by="mx", protocol="ESMTP", queue_id="Q")
        after = datetime.now(timezone.utc)
        parsed = imf.parse_received(raw.decode("ascii").split(":", 1)[1])
        assert parsed.date is not None
        assert before <= parsed.date <= after
        assert raw.decode("ascii").rstrip().endswith("+0000")


def test_repeated_deliveries_to_one_recipient_resolve_once(tmp_path: Path) -> None:
    # Expansions are cached per Directory; a new Directory is consulted anew.
    mda, store, _ = _setup(tmp_path)
    calls: list[str] = []
    real = mda.directory.resolve

    def counting(address: str) -> Resolution | None:
        calls.append(address)
        return real(address)

    mda.directory.resolve = counting  # type: ignore[method-assign]
    for _ in range(3):
        (res,) = asyncio.run(mda.deliver("s@remote.example", ["ann@a.example"], MSG))
        assert res.ok
    assert calls == ["ann@a.example"]
    assert len(store.mailbox("ann@a.example").folder("INBOX")) == 3
    # A new config without ann: the cached expansion must not be used.
    mda.directory = Directory(domains=["a.example"], accounts=[make_account("bob@a.example", "y")])
    (res,) = asyncio.run(mda.deliver("s@remote.example", ["ann@a.example"], MSG))
    assert not res.ok and res.code == 550


def test_received_header_neutralises_hostile_helo() -> None:
    raw = received_header(
        by="mx", protocol="ESMTP", queue_id="Q", helo="evil)\r\nBcc: x@y", peer_ip="::1"
    )
    assert raw.count(b"\r\n") == 2  # folded once, no injected line
    assert b"Bcc:" not in raw.split(b"\r\n")[1]
    assert b"evil?" in raw


def test_unwritable_mailbox_is_queued_and_retried_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailserver.config import RelaySettings
    from mailserver.maildir import Folder
    from mailserver.relay import Relay

    mda, store, q = _setup(tmp_path)
    assert q is not None
    mda.use_executor = False
    real_stage = Folder.stage

    def stage(self: Folder, data: bytes, **kwargs: object) -> str:
        if self.path.parent.name == "bob@a.example" or self.path.name == "bob@a.example":
            raise OSError(28, "No space left on device")
        return real_stage(self, data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Folder, "stage", stage)
    res = asyncio.run(mda.deliver("s@remote.example", ["ann@a.example", "bob@a.example"], MSG))
    assert [r.ok for r in res] == [True, True]  # the sender may get its 250
    assert res[1].queued == ("bob@a.example",)
    assert res[1].accounts == ()
    assert len(_inbox(store, "ann@a.example")) == 1
    assert _inbox(store, "bob@a.example") == []
    (entry,) = q.entries()
    assert [r.address for r in entry.recipients] == ["bob@a.example"]

    relay = Relay(q, mda.directory, mda, hostname="mx.a.example", settings=RelaySettings())
    asyncio.run(relay.run_once())  # still failing: 452, stays queued, no new entry
    assert len(q.entries()) == 1
    assert q.entries()[0].pending[0].last_status == "4.3.1"  # ENOSPC: mail system full
    monkeypatch.undo()
    relay._clock = lambda: entry.next_attempt + 1
    asyncio.run(relay.run_once())
    asyncio.run(mda.deliver("s@remote.example", ["bob@a.example"], MSG, delivery_id=entry.id))
    assert _inbox(store, "bob@a.example") == [b"Return-Path: <s@remote.example>\r\n" + MSG]
    assert len(_inbox(store, "ann@a.example")) == 1
    assert len(q) == 0


def test_index_failure_after_the_file_is_written_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The message file is written (writev) but its index record cannot be:
    # the delivery fails, so the file must not stay for a rescan to find.
    mda, store, _ = _setup(tmp_path, queue=False)
    mda.use_executor = False
    box = store.mailbox("ann@a.example")

    def full(*args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    (res,) = asyncio.run(mda.deliver("s@remote.example", ["ann@a.example"], MSG))
    monkeypatch.undo()
    assert res.code == 452
    assert os.listdir(box.path / "new") == []
    assert box.folder("INBOX").rescan() is None
