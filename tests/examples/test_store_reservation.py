"""The index's UID/modseq reservation: delivery records synced only when they pass it.

A delivery is durable (file + directory entry) before ``deliver`` returns;
its index record is synced only when the batch passes the reservation
(``R`` line).  A crash may lose the unsynced records: loading must then give
the orphaned files UIDs above every UID a client may have seen (RFC 9051
§2.3.1.1: UIDs are never reused) and a modseq above every modseq handed out
(RFC 7162 §3.1.2).  Without lost records, loading changes nothing (UIDNEXT
must not move when no message was added).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from mailserver import maildir
from mailserver.maildir import Folder, Store

MSG = b"From: a@example.org\r\nSubject: test\r\n\r\nHello\r\n"


def _inbox(root: Path) -> Folder:
    return Store(root).mailbox("u").folder("INBOX")


def _deliver(folder: Folder, count: int, start: int = 0) -> list[int]:
    async def main() -> list[int]:
        return [
            await folder.deliver(MSG + b"%d" % i, delivery_id=f"R{i}")
            for i in range(start, start + count)
        ]

    return asyncio.run(main())


def _index_lines(folder: Folder) -> list[bytes]:
    return (folder.path / "mailproto-index").read_bytes().splitlines()


def _count_index_syncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    synced: list[int] = []
    real = os.fdatasync

    def counting(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", counting)
    return synced


def test_deliveries_inside_the_reservation_do_not_sync_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maildir, "RESERVE", 3)
    inbox = _inbox(tmp_path)
    synced = _count_index_syncs(monkeypatch)
    uids = _deliver(inbox, 9)
    assert uids == list(range(1, 10))
    # The first delivery reserves 3 ahead (UIDs < 5), and every delivery
    # that passes the reservation renews it: UIDs 1, 5 and 9 sync.
    reservations = [line for line in _index_lines(inbox) if line.startswith(b"R ")]
    assert len(synced) == len(reservations) == 3
    assert reservations[0].split()[1] == b"5"
    assert inbox._group.covered[0] == 13


def test_a_reservation_is_written_and_synced_with_the_records_that_need_it(
    tmp_path: Path,
) -> None:
    inbox = _inbox(tmp_path)
    _deliver(inbox, 1)
    lines = _index_lines(inbox)
    a_line = next(i for i, line in enumerate(lines) if line.startswith(b"A 1 "))
    # The reservation follows the record in the same append.
    assert lines[a_line + 1].startswith(b"R ")
    uid_floor, modseq_floor = map(int, lines[a_line + 1].split()[1:])
    assert uid_floor == 1 + 1 + maildir.RESERVE
    assert modseq_floor >= inbox.highestmodseq + maildir.RESERVE


def test_reload_without_lost_records_keeps_uidnext(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    _deliver(inbox, 5)
    hms = inbox.highestmodseq
    again = _inbox(tmp_path)
    assert again.uids() == [1, 2, 3, 4, 5]
    # No message was added, so UIDNEXT and HIGHESTMODSEQ stay put.
    assert again.uidnext == 6
    assert again.highestmodseq == hms
    assert _deliver(again, 1, start=5) == [6]


def test_lost_records_get_uids_and_modseq_above_the_reservation(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    _deliver(inbox, 5)
    seen_modseq = inbox.highestmodseq
    lines = _index_lines(inbox)
    # A crash loses the tail appended after the last sync: the records of
    # UIDs 2-5 (the reservation came with UID 1's record).
    keep = [line for line in lines if not line.startswith((b"A 2 ", b"A 3 ", b"A 4 ", b"A 5 "))]
    assert len(keep) == len(lines) - 4
    (inbox.path / "mailproto-index").write_bytes(b"".join(line + b"\n" for line in keep))
    again = _inbox(tmp_path)
    uids = again.uids()
    assert len(uids) == 5 and uids[0] == 1
    floor = 2 + maildir.RESERVE
    # The four orphans came back, each once, with UIDs no client has seen.
    assert all(uid >= floor for uid in uids[1:])
    assert sorted(again.read(uid) for uid in uids) == sorted(MSG + b"%d" % i for i in range(5))
    assert all(again.get(uid).modseq > seen_modseq for uid in uids[1:])  # type: ignore[union-attr]
    assert again.highestmodseq > seen_modseq
    # ... and that is now durable: a second load changes nothing.
    third = _inbox(tmp_path)
    assert third.uids() == uids
    assert third.uidnext == again.uidnext


def test_compaction_keeps_the_reservation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Folder, "COMPACT_SLACK", 0)
    inbox = _inbox(tmp_path)
    _deliver(inbox, 3)
    covered = inbox._group.covered
    for mode in ("add", "remove", "add", "remove"):  # appends, until one compacts
        inbox.store_flags([1], {"\\Seen"}, mode)
    lines = _index_lines(inbox)
    assert lines[1].startswith(b"N ")  # compacted
    assert b"R %d %d" % covered in lines
    # Records appended after compaction are inside the reservation, and a
    # crash that loses them still cannot reuse their UIDs.
    _deliver(inbox, 2, start=3)
    lines = [line for line in _index_lines(inbox) if not line.startswith((b"A 4 ", b"A 5 "))]
    (inbox.path / "mailproto-index").write_bytes(b"".join(line + b"\n" for line in lines))
    again = _inbox(tmp_path)
    assert sorted(again.uids())[:3] == [1, 2, 3]
    assert all(uid >= covered[0] for uid in sorted(again.uids())[3:])
    assert len(again.uids()) == 5


def test_loop_inbox_wakes_the_loop_once_per_burst(monkeypatch: pytest.MonkeyPatch) -> None:
    # A batch's reports arrive together: one self-pipe wake-up for all of
    # them, each callback run once and in order, a failing one logged
    # without stranding the rest.
    import threading

    calls: list[object] = []
    errors: list[dict[str, object]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: errors.append(context))
        wakeups = 0
        real = loop.call_soon_threadsafe

        def counting(*args: object) -> object:
            nonlocal wakeups
            wakeups += 1
            return real(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(loop, "call_soon_threadsafe", counting)
        inbox = maildir._loop_inbox(loop)
        assert maildir._loop_inbox(loop) is inbox

        def boom(arg: BaseException | None) -> None:
            raise ValueError("boom")

        def record(i: int) -> Callable[[BaseException | None], None]:
            return lambda arg: calls.append(i)

        def burst() -> None:
            for i in range(10):
                inbox.call(record(i), None)
            inbox.call(boom, None)
            inbox.call(calls.append, KeyError("k"))

        thread = threading.Thread(target=burst)
        thread.start()
        thread.join()
        for _ in range(3):
            await asyncio.sleep(0)
        assert wakeups == 1
        assert calls[:10] == list(range(10))
        assert isinstance(calls[10], KeyError)
        assert len(errors) == 1 and isinstance(errors[0]["exception"], ValueError)
        inbox.call(lambda arg: calls.append("again"), None)  # a new burst wakes again
        await asyncio.sleep(0)
        assert wakeups == 2 and calls[-1] == "again"

    asyncio.run(main())
